/* net: the event loop, listeners and client connections. It owns every libuv
 * handle: it reads bytes into a client's query buffer, asks the parser for
 * commands, hands each to server_execute, and sends what the handlers wrote
 * to the client's reply buffer in one write per read batch. Timers call back
 * into the server (cron, active expiry); signals request shutdown. */
#ifndef RIVET_NET_H
#define RIVET_NET_H

#include <stddef.h>
#include <stdint.h>

#include "rivet/client.h"

/* Creates the loop, binds every configured address (and the unix socket),
 * installs signal handlers and timers. Returns 0, or -1 with *err set. */
int net_start(char **err);
/* Runs until shutdown is requested; then closes everything. */
void net_run(void);
/* Stops the loop soon (from a handler or a signal). */
void net_stop(void);
/* Frees what net_start made (after net_run returned); work still queued on
 * the loop's thread pool (lazy frees) finishes first. */
void net_release(void);
/* The libuv loop, for modules that queue work on its thread pool; NULL
 * before net_start (unit tests, the fuzzer). */
struct uv_loop_s *net_loop(void);

/* Closes a client after the current command (never under the caller's feet). */
void net_close_client(client *c);
/* Replies were appended to c from outside its own read (pub/sub, unblocking):
 * make sure they are sent. */
void net_client_dirty(client *c);

/* c left the blocked state (served, timed out, unblocked): send its reply
 * and go on with any commands it pipelined behind the blocking one. */
void net_client_unblocked(client *c);

/* Called from inside a long command (a script past busy-reply-threshold):
 * accepts, reads and answers other clients without running the loop, which
 * is not reentrant; never touches busy's connection and runs no timer.
 * Called with NULL when the long command is over. */
void net_serve_while_busy(const client *busy);

typedef void (*net_client_visit)(void *ctx, client *c);
void net_for_each_client(net_client_visit visit, void *ctx);
client *net_find_client(uint64_t id);

typedef struct net_client_info {
    int fd;
    size_t query_buffer;      /* bytes waiting in the query buffer */
    size_t query_buffer_free; /* spare capacity */
    size_t output_buffer;     /* bytes queued for sending */
    size_t output_memory;     /* bytes held by output buffers */
    int writing;
} net_client_info;
void net_get_client_info(const client *c, net_client_info *info);
/* Totals over all clients, for INFO. */
void net_totals(size_t *max_input_buffer, size_t *max_output_buffer, size_t *client_memory);

#endif
