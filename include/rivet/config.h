/* config: every server setting, parsed from redis.conf syntax (files with
 * `include`, then command-line "--name value" overrides) and changed at run
 * time by CONFIG SET. One table lists each directive with its type, default,
 * bounds and whether it may change at run time; CONFIG GET/SET/REWRITE and the
 * loader all read that table, so a directive is declared once. */
#ifndef RIVET_CONFIG_H
#define RIVET_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "rivet/buffer.h"

#define CONFIG_MAX_BIND 16

enum { LOG_DEBUG = 0, LOG_VERBOSE, LOG_NOTICE, LOG_WARNING, LOG_NOTHING };
enum { DEBUG_COMMAND_NO = 0, DEBUG_COMMAND_YES, DEBUG_COMMAND_LOCAL };
enum { OUTPUT_CLASS_NORMAL = 0, OUTPUT_CLASS_REPLICA, OUTPUT_CLASS_PUBSUB, OUTPUT_CLASS_COUNT };

typedef struct output_buffer_limit {
    int64_t hard_bytes;
    int64_t soft_bytes;
    int64_t soft_seconds;
} output_buffer_limit;

typedef struct save_point {
    int64_t seconds;
    int64_t changes;
} save_point;

typedef struct config {
    /* network */
    char *bind[CONFIG_MAX_BIND]; /* addresses; a leading '-' means "skip if unavailable" */
    int bind_count;
    int64_t port;
    char *unixsocket; /* NULL: none */
    int64_t unixsocketperm;
    int64_t tcp_backlog;
    int64_t tcp_keepalive; /* seconds; 0 = off */
    int64_t timeout;       /* idle client seconds; 0 = never */
    int64_t maxclients;
    int protected_mode;
    char *requirepass; /* NULL: no password */
    /* general */
    int64_t databases;
    int loglevel;
    char *logfile; /* "" = stdout */
    char *pidfile; /* NULL: none */
    int daemonize;
    int64_t hz;
    char *dir; /* working directory */
    int enable_debug_command;
    /* protocol limits */
    int64_t proto_max_bulk_len;
    int64_t client_query_buffer_limit;
    output_buffer_limit output_limits[OUTPUT_CLASS_COUNT];
    /* memory (enforced by the memory issue; accepted now) */
    int64_t maxmemory;
    int maxmemory_policy; /* index into config_maxmemory_policy_names */
    int64_t maxmemory_samples;
    int64_t lfu_log_factor;
    int64_t lfu_decay_time;          /* minutes */
    int64_t maxmemory_clients;       /* bytes; a negative -N means N% of maxmemory */
    int64_t tracking_table_max_keys; /* CLIENT TRACKING key table bound; 0 = none */
    int lazyfree_lazy_eviction, lazyfree_lazy_expire, lazyfree_lazy_server_del,
        lazyfree_lazy_user_del, lazyfree_lazy_user_flush;
    /* expiry */
    int64_t active_expire_effort; /* 1..10 */
    /* persistence (accepted now) */
    save_point save[16];
    int save_count;
    char *dbfilename;
    int rdb_compression;             /* rdbcompression */
    int rdb_checksum;                /* rdbchecksum */
    int stop_writes_on_bgsave_error; /* stop-writes-on-bgsave-error */
    int appendonly;
    char *appendfilename;
    int appendfsync; /* 0 no, 1 everysec, 2 always */
    char *appenddirname;
    int aof_use_rdb_preamble;
    int aof_load_truncated;
    int64_t auto_aof_rewrite_percentage;
    int64_t auto_aof_rewrite_min_size;
    /* introspection */
    int64_t slowlog_log_slower_than; /* microseconds; <0 disables */
    int64_t slowlog_max_len;
    int64_t latency_monitor_threshold;
    char *notify_keyspace_events;
    /* encodings */
    int64_t hash_max_listpack_entries, hash_max_listpack_value;
    int64_t set_max_intset_entries, set_max_listpack_entries, set_max_listpack_value;
    int64_t zset_max_listpack_entries, zset_max_listpack_value;
    /* Compact values up to this many bytes live inside their key's entry. */
    int64_t embed_value_max_bytes;
    int64_t list_max_listpack_size, list_compress_depth;
    /* scripting */
    int64_t busy_reply_threshold; /* lua-time-limit, ms */
    /* native primitives */
    int64_t counter_window_max_buckets; /* COUNTER.WINDOW buckets per key */
    /* Values of directives accepted for compatibility but not acted on yet
     * (replication, AOF tuning, ...): private to config.c, read them with
     * config_render. */
    struct config_extra *extra;
} config;

extern const char *const config_maxmemory_policy_names[]; /* "noeviction", ... NULL-terminated */

/* Fills every field with its default. */
void config_init_defaults(config *cfg);
void config_release(config *cfg);

/* Loading applies on top of what cfg holds, so call config_init_defaults
 * first. `dir` is resolved to an absolute path but not entered: the server
 * does chdir(cfg->dir) once loading succeeds.
 * Loads a file, then command-line overrides. argv holds everything after the
 * program name; a first element not starting with "--" is the config file
 * ("-" reads standard input). On error returns -1 and sets *err to a message
 * naming the file and line (or the argument), e.g.
 *   ">>> 'port 99999999'\nargument must be between 0 and 65535 inclusive"
 * in Redis's shape ("*** FATAL CONFIG FILE ERROR (Redis 7.2.4) ***" is the
 * caller's). *err is allocated with mem_alloc. */
int config_load(config *cfg, int argc, char **argv, char **err);
/* Parses configuration text (directives separated by newlines). source names
 * where it came from for messages. */
int config_load_string(config *cfg, const char *text, const char *source, char **err);

/* CONFIG GET: appends to out name/value pairs (as C strings alternating) of
 * every directive matching the glob pattern (case-insensitive). Returns the
 * number of pairs. Caller frees with config_free_pairs. */
size_t config_get(const config *cfg, const char *pattern, char ***pairs);
void config_free_pairs(char **pairs, size_t count);

/* CONFIG SET of one directive. Returns 0, or -1 with *err set to Redis's
 * whole error text after "ERR ", ready to send as "ERR %s": e.g.
 * "Unknown option or number of arguments for CONFIG SET - 'foo'" or
 * "CONFIG SET failed (possibly related to argument 'hz') - argument couldn't
 * be parsed into an integer". *err is static, valid until the next call, not
 * freed. A failed SET changes nothing. CONFIG SET dir changes the process's
 * working directory itself, so a failed chdir fails the SET. */
int config_set(config *cfg, const char *name, const char *value, const char **err);
/* Nonzero when the directive exists but cannot change at run time. */
int config_is_immutable(const char *name);

/* CONFIG REWRITE: rewrites the file the server was started with, keeping
 * comments and unknown lines, updating changed directives. 0 or -1 with *err
 * the whole text after "ERR " (e.g. "Rewriting config file: Permission
 * denied"; static, not freed). */
int config_rewrite(const config *cfg, const char *path, const char **err);

/* Memory-size parsing as redis.conf does ("1gb", "100mb", "64k", plain bytes).
 * Returns 0 on success. */
int config_parse_memory(const char *s, int64_t *out);

/* Rendering of one directive's current value as CONFIG GET shows it; NULL if
 * unknown. Result allocated with mem_alloc. */
char *config_render(const config *cfg, const char *name);

#endif
