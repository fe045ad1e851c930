/* server: the one struct that holds all server-wide state (config, keyspace,
 * clients, statistics), and the entry points main() and net/ use. There is
 * exactly one instance, `server`; everything global lives in it. */
#ifndef RIVET_SERVER_H
#define RIVET_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "rivet/client.h"
#include "rivet/command.h"
#include "rivet/config.h"
#include "rivet/keyspace.h"

#define RIVET_REDIS_COMPAT_VERSION "7.2.4"
#define RIVET_SERVER_NAME          "rivet"
#ifndef RIVET_VERSION
#define RIVET_VERSION "0.1.0"
#endif

struct net_state;
struct slowlog;

typedef struct server_stats {
    uint64_t connections_received;
    uint64_t commands_processed;
    uint64_t rejected_connections;
    uint64_t net_input_bytes;
    uint64_t net_output_bytes;
    uint64_t client_output_limit_disconnections;
    uint64_t client_query_limit_disconnections;
    uint64_t total_error_replies;
    uint64_t unexpected_error_replies;
    uint64_t evicted_clients;
    uint64_t peak_memory;
} server_stats;

/* Counters of the native primitives, shown by INFO primitives. Each
 * primitive's commands bump their own fields; lock_waiting is a gauge. */
typedef struct primitive_stats {
    uint64_t ratelimit_allowed;
    uint64_t ratelimit_denied;
    uint64_t lock_acquired;
    uint64_t lock_contended; /* acquire attempts that found another owner */
    uint64_t lock_expired;   /* locks whose TTL ran out while held */
    uint64_t lock_waiting;   /* clients blocked in LOCK.ACQUIRE ... WAIT now */
    uint64_t idempotency_acquired;
    uint64_t idempotency_in_progress; /* IDEM.BEGIN answered "in_progress" */
    uint64_t idempotency_done_hits;   /* IDEM.BEGIN answered "done" */
    uint64_t idempotency_mismatches;
    uint64_t cache_hits;
    uint64_t cache_misses;
    uint64_t cache_stale;
    uint64_t cache_leases_granted;
    uint64_t cache_leases_voided;
    uint64_t counter_bound_rejections;
} primitive_stats;

typedef struct server_state {
    config config;
    char *config_file; /* absolute path, NULL when started without one */
    char *executable;
    keyspace *keyspace;
    struct net_state *net;
    struct slowlog *slowlog;
    server_stats stats;
    primitive_stats primitives;
    /* The last fencing token issued (locks and idempotency records share
     * it): the next is max(last + 1, now in microseconds), see lock.h. */
    uint64_t last_token;
    struct errorstats *errorstats;
    int64_t start_ms;
    int64_t now_ms; /* updated once per loop iteration and per command */
    int64_t now_us;
    int64_t last_save_s;
    char run_id[41];
    size_t connected_clients;
    uint64_t next_client_id;
    int shutdown_requested;
    int exit_code;
    int active_expire_enabled;
    uint64_t random_state;
    /* The client whose command is running (NULL in timers): invalidations
     * of keys it changes itself are sent after its reply. */
    client *current_client;
} server_state;

extern server_state server;

/* Start-up and the loop: returns the process exit code. */
int server_main(int argc, char **argv);

/* Runs one parsed command for c (argv already set). Returns nonzero when the
 * client must be closed after its replies are sent. */
void server_execute(client *c);
/* Refreshes server.now_ms / now_us (and the keyspace's clock) from the
 * wall clock; net/ calls it once per read batch and timer tick. */
void server_update_time(void);
/* A 64-bit pseudo-random number (xorshift; not for security). */
uint64_t server_random(void);
/* Builds the INFO text for a section list ("default", "all", names...). */
void server_info(buffer *out, int argc, const char **argv, const size_t *argv_len);
/* Asks the loop to stop (SHUTDOWN, signals). */
void server_request_shutdown(int exit_code);
/* Applies a CONFIG SET change that needs more than a field update: 0, or
 * -1 with Redis's reason in *err (the field is then restored by the caller
 * or here). */
int server_config_changed(const char *name, const char **err);
/* Tells the keyspace whether to keep LRU clocks or LFU counters (policy). */
void server_apply_access_mode(void);
/* The keyspace's modified hook (see keyspace_set_modified_hook). */
void server_key_modified(void *ctx, database *db, const char *key, size_t key_len,
                         const char *event, int type_class);
/* CONFIG RESETSTAT. */
void server_reset_stats(void);
/* Periodic work (called by net/ at hz): rehash, stats sampling. */
void server_cron(void);

/* Logging with Redis's line format; honours loglevel and logfile. */
void server_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
