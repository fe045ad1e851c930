/* blocking: clients waiting for keys (BLPOP, BZPOPMIN, XREAD BLOCK, ...).
 * A blocked client is queued, first come first served, on each key it waits
 * for. When any write touches one of those keys, the waiters' commands run
 * again in arrival order: a handler that can now serve writes its reply and
 * the client is released; one that cannot writes nothing and stays queued.
 * A deadline releases the client with its command's timeout reply.
 *
 * A handler that wants to block calls blocking_block and writes no reply;
 * when it runs again on a retry, client_is_retrying(c) is true and it must
 * not block again (it simply writes nothing if it still cannot serve). */
#ifndef RIVET_BLOCKING_H
#define RIVET_BLOCKING_H

#include <stddef.h>
#include <stdint.h>

#include "rivet/client.h"

/* Writes the reply a blocked command gives when its deadline passes. */
typedef void (*blocking_timeout_fn)(client *c);

void blocking_init(void);
void blocking_release(void);

/* Blocks c on the keys at argv positions key_indexes[0..key_count) of the
 * current command, in c's current database, until deadline_ms (absolute;
 * 0 = forever). The command's arguments are copied for the retries. */
void blocking_block(client *c, const int *key_indexes, int key_count, int64_t deadline_ms,
                    blocking_timeout_fn on_timeout);
/* The usual way a blocking command gives up for now: on a retry it does
 * nothing (still blocked); inside EXEC it writes in_exec's reply (it may not
 * block there); otherwise it blocks on argv[first..last]. */
void blocking_block_on_range(client *c, int first, int last, int64_t deadline_ms,
                             blocking_timeout_fn on_timeout, blocking_timeout_fn in_exec);
/* Called whenever c stops being blocked, whatever the reason (served,
 * timeout, CLIENT UNBLOCK, disconnect): lets a command keep a gauge of its
 * waiters. Set right after blocking_block. */
typedef void (*blocking_release_fn)(client *c);
void blocking_set_release_hook(client *c, blocking_release_fn on_release);
/* How many clients wait for key in db (LOCK.INFO). */
size_t blocking_waiter_count(database *db, const char *key, size_t len);
int client_is_blocked(const client *c);
int client_is_retrying(const client *c);

/* Called for every write to a key (from the keyspace's modified hook). */
void blocking_key_touched(database *db, const char *key, size_t len);
/* The same for every key of db (FLUSHDB, FLUSHALL, SWAPDB): a flushed
 * lock must reach its waiters; a list waiter simply finds nothing. */
void blocking_database_touched(database *db);
/* Runs the commands of key's waiters again at at_ms (absolute), as if the
 * key had been written then: for blocked commands whose condition changes
 * with time alone (a cache lease running out hands the fill to a waiter). */
void blocking_wake_at(database *db, const char *key, size_t len, int64_t at_ms);
/* Serves waiters of keys touched since the last call (after each command). */
void blocking_serve_ready(void);
/* Releases clients whose deadline passed (from a timer). */
void blocking_expire(int64_t now_ms);

enum blocking_release_how {
    BLOCKING_RELEASE_TIMEOUT, /* reply as on timeout */
    BLOCKING_RELEASE_ERROR,   /* -UNBLOCKED error */
    BLOCKING_RELEASE_SILENT   /* client is going away: no reply */
};
/* Releases c now (CLIENT UNBLOCK, disconnect). */
void blocking_release_client(client *c, int how);
/* Parses a blocking timeout in seconds (double; 0 = forever) into an
 * absolute deadline. Replies with Redis's error and returns 0 if invalid. */
int blocking_parse_timeout(client *c, int index, int64_t *deadline_ms);
size_t blocking_client_count(void);

#endif
