/* tracking: server-assisted client-side caching (CLIENT TRACKING). The server
 * remembers which clients read which keys (or, in broadcast mode, which key
 * prefixes they care about) and tells them when those keys change, with an
 * "invalidate" push (RESP3) or a message on __redis__:invalidate to a client
 * they redirect to. Keys are tracked by name across databases, as Redis does.
 * A client with tracking off carries no tracking state (client->tracking is
 * NULL) and costs one pointer test per command. */
#ifndef RIVET_TRACKING_H
#define RIVET_TRACKING_H

#include <stddef.h>
#include <stdint.h>

#include "rivet/client.h"

struct command;

enum tracking_option {
    TRACKING_BCAST = 1 << 0,
    TRACKING_OPTIN = 1 << 1,
    TRACKING_OPTOUT = 1 << 2,
    TRACKING_NOLOOP = 1 << 3,
};

/* CLIENT TRACKING ON with parsed options. Checks the mode switches and
 * prefix overlaps as Redis does; on a refusal returns -1 with *error set to
 * the reply text (static or mem_alloc'ed: free it with tracking_error_free). */
int tracking_enable(client *c, int options, uint64_t redirect, const char *const *prefixes,
                    const size_t *prefix_lens, int prefix_count, char **error);
void tracking_error_free(char *error);
/* CLIENT TRACKING OFF, RESET, and disconnect. */
void tracking_disable(client *c);

/* CLIENT CACHING yes|no (yes: 1, no: 0, anything else: -1): 0, or -1 with
 * the Redis error text in *error. */
int tracking_set_caching(client *c, int yes, const char **error);
/* After each top-level command: the CACHING flag lasts for one command (or
 * one transaction), and invalidations of keys the client itself changed are
 * sent after its reply. */
void tracking_after_command(client *c, const struct command *cmd);

/* A read-only command ran: remember its keys for c (default mode). */
void tracking_remember_keys(client *c, const struct command *cmd);

/* The keyspace hook: a key changed (or, with key NULL, every key may have:
 * FLUSHDB / FLUSHALL). current is the client running the command, or NULL. */
void tracking_key_modified(client *current, const char *key, size_t key_len);
void tracking_flushed(void);

/* Broadcast mode batches keys per prefix; they go out once per event-loop
 * iteration. */
void tracking_send_broadcasts(void);

/* Introspection: CLIENT GETREDIR / TRACKINGINFO / LIST, INFO. */
int64_t tracking_redirect(const client *c); /* -1 off, 0 none, else the id */
void tracking_reply_info(client *c);
int tracking_client_flags(const client *c, char *out); /* CLIENT LIST letters; returns count */
size_t tracking_client_count(void);
size_t tracking_key_count(void);
size_t tracking_item_count(void);
size_t tracking_prefix_count(void);

void tracking_release(void);

#endif
