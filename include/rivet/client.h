/* client: the per-connection state every command handler sees. The socket and
 * its libuv handles belong to net/ and stay behind the opaque `connection`;
 * handlers read argv, write replies through `reply`, and never do I/O. */
#ifndef RIVET_CLIENT_H
#define RIVET_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "rivet/keyspace.h"
#include "rivet/reply.h"

struct connection;
struct command;
struct blocked_state;
struct transaction_queue;
struct watched_key;
struct pubsub_client;
struct tracking_client;

enum client_flags {
    CLIENT_AUTHENTICATED = 1 << 0,
    CLIENT_CLOSE_AFTER_REPLY = 1 << 1, /* QUIT, protocol error, limits */
    CLIENT_CLOSE_ASAP = 1 << 2,        /* killed: drop without sending more */
    CLIENT_NO_EVICT = 1 << 3,
    CLIENT_NO_TOUCH = 1 << 4,
    CLIENT_REPLY_OFF = 1 << 5,
    CLIENT_REPLY_SKIP_NEXT = 1 << 6, /* CLIENT REPLY SKIP: skip the next command's reply */
    CLIENT_REPLY_SKIP = 1 << 7,      /* skipping the current command's reply */
    CLIENT_UNIX_SOCKET = 1 << 8,
    CLIENT_PROTECTED_LOCAL = 1 << 9,
    CLIENT_MULTI = 1 << 10,      /* between MULTI and EXEC/DISCARD */
    CLIENT_DIRTY_EXEC = 1 << 11, /* a queued command was rejected: EXECABORT */
    CLIENT_DIRTY_CAS = 1 << 12,  /* a watched key changed: EXEC fails */
    CLIENT_IN_EXEC = 1 << 13,    /* running EXEC's queue: nothing may block */
    CLIENT_AOF_LOADER = 1 << 14, /* replays the AOF: exempt from LOADING */
};

typedef struct client {
    uint64_t id;
    struct connection *connection;
    uint32_t flags;
    database *db;
    reply_writer reply;

    /* The command being executed: argv[i] has argv_len[i] bytes. */
    int argc;
    const char **argv;
    size_t *argv_len;
    int argv_cap;
    const struct command *command;
    const struct command *last_command;

    char *name; /* CLIENT SETNAME; NULL when unset */
    char *lib_name;
    char *lib_version;
    char address[64]; /* "ip:port" or "/path:0" */
    char local_address[64];
    int64_t created_ms;
    int64_t last_interaction_ms;
    uint64_t commands_processed;
    struct blocked_state *blocked;         /* non-NULL while waiting in blocking.c */
    struct transaction_queue *transaction; /* MULTI queue (transaction.c) */
    struct watched_key *watching;          /* WATCHed keys (watch.c) */
    struct pubsub_client *pubsub;          /* subscriptions (pubsub.c); NULL: none */
    struct tracking_client *tracking;      /* CLIENT TRACKING state; NULL: off */
    size_t query_buffer_bytes;             /* maintained by net/ for CLIENT LIST / INFO */
    size_t output_pending_bytes;
} client;

/* Protocol version shorthand. */
static inline int client_protocol(const client *c)
{
    return c->reply.protocol;
}

/* Allocates / frees the command-independent parts (net/ owns the rest). */
client *client_create(void);
void client_destroy(client *c);
void client_set_name(client *c, char **field, const char *value, size_t len);

#endif
