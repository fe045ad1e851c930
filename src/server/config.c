/* Server configuration: one table of directives drives everything.
 *
 * Each directive is declared once in `directives[]` with its type, the field
 * of `struct config` it fills, its default written as a config file would
 * write it, its bounds and its flags. Defaults are applied by running that
 * text through the same parser the loader uses, so a default can never
 * disagree with what the file syntax accepts. CONFIG GET renders from the
 * table, CONFIG SET parses through it, CONFIG REWRITE formats from it.
 *
 * Directives that Rivet accepts for compatibility but does not act on yet
 * (replication, AOF tuning, ...) have no field of their own; their values
 * live in `cfg->extra`, one slot per table entry, so a user's redis.conf
 * loads and CONFIG GET shows what was set.
 *
 * Error texts follow Redis 7.0 word for word where Redis has the same case,
 * because tools and tests match on them. This module touches no server
 * state; the one side effect is CONFIG SET dir, which must chdir to succeed
 * or fail as a unit. */
#include "rivet/config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rivet/glob.h"
#include "rivet/memory.h"

/* ------------------------------------------------------------------------ */
/* The table                                                                */
/* ------------------------------------------------------------------------ */

typedef enum directive_type {
    TYPE_BOOL,            /* int field, yes/no */
    TYPE_INT,             /* int64 field, decimal within min..max */
    TYPE_MEMORY,          /* int64 field, bytes with optional unit */
    TYPE_MEMORY_PERCENT,  /* int64 field, bytes or "N%" (stored as -N) */
    TYPE_OCTAL,           /* int64 field, octal digits */
    TYPE_ENUM,            /* int field, index into names */
    TYPE_STRING,          /* char * field */
    TYPE_WORDS,           /* char * field holding a fixed number of words */
    TYPE_DIR,             /* char * field, an existing directory */
    TYPE_BIND,            /* bind[] and bind_count */
    TYPE_SAVE,            /* save[] and save_count */
    TYPE_OUTPUT_LIMITS,   /* output_limits[] */
    TYPE_KEYSPACE_EVENTS, /* char * field, canonical flag letters */
} directive_type;

enum {
    F_IMMUTABLE = 1 << 0,      /* CONFIG SET refuses it */
    F_HIDDEN = 1 << 1,         /* CONFIG GET shows it only when asked by exact name */
    F_EMPTY_IS_NULL = 1 << 2,  /* strings: "" stores NULL ("none") */
    F_FILENAME = 1 << 3,       /* strings: a bare file name, no '/' */
    F_CLAMP = 1 << 4,          /* integers: silently clamp into clamp_min..clamp_max */
    F_ALWAYS_REWRITE = 1 << 5, /* CONFIG REWRITE writes it even when at default */
};

#define NO_FIELD (-1)
#define ACCEPTED NO_FIELD /* stored in cfg->extra; Rivet does not act on it yet */
#define FIELD(f) ((long)offsetof(config, f))

typedef struct directive {
    const char *name;
    directive_type type;
    long offset;               /* offsetof(config, field), or NO_FIELD */
    const char *default_value; /* config-file text; NULL: none (or cwd for dir) */
    int64_t min, max;
    int64_t clamp_min, clamp_max;
    const char *const *names;  /* TYPE_ENUM choices, NULL-terminated */
    const char *const *listed; /* the same names in the order Redis's error lists them */
    int words;                 /* TYPE_WORDS: number of words */
    unsigned flags;
} directive;

#define BOOL(n, field, def, fl)                                                                    \
    {                                                                                              \
        .name = n, .type = TYPE_BOOL, .offset = field, .default_value = def, .flags = fl           \
    }
#define INT(n, field, def, lo, hi, fl)                                                             \
    {                                                                                              \
        .name = n, .type = TYPE_INT, .offset = field, .default_value = def, .min = lo, .max = hi,  \
        .flags = fl                                                                                \
    }
#define MEMORY(n, field, def, lo, hi, fl)                                                          \
    {                                                                                              \
        .name = n, .type = TYPE_MEMORY, .offset = field, .default_value = def, .min = lo,          \
        .max = hi, .flags = fl                                                                     \
    }
#define ENUM(n, field, def, choices, fl)                                                           \
    {                                                                                              \
        .name = n, .type = TYPE_ENUM, .offset = field, .default_value = def, .names = choices,     \
        .flags = fl                                                                                \
    }
#define STRING(n, field, def, fl)                                                                  \
    {                                                                                              \
        .name = n, .type = TYPE_STRING, .offset = field, .default_value = def, .flags = fl         \
    }
#define SPECIAL(n, kind, field, def, fl)                                                           \
    {                                                                                              \
        .name = n, .type = kind, .offset = field, .default_value = def, .flags = fl                \
    }

#define INT_MAX64   ((int64_t)INT_MAX)
#define INT_MIN64   ((int64_t)INT_MIN)
#define LLONG_MAX64 ((int64_t)INT64_MAX)

const char *const config_maxmemory_policy_names[] = {
    "noeviction",      "allkeys-lru",  "allkeys-lfu",
    "allkeys-random",  "volatile-lru", "volatile-lfu",
    "volatile-random", "volatile-ttl", NULL,
};
/* Name arrays are indexed by the int fields they fill, so their order is part
 * of the contract (LOG_*, DEBUG_COMMAND_*, appendfsync 0 no/1 everysec/2 always). */
static const char *const loglevel_names[] = {"debug",   "verbose", "notice",
                                             "warning", "nothing", NULL};
/* Redis's error text lists these two in its own internal order. */
static const char *const maxmemory_policy_listed[] = {
    "volatile-lru",   "volatile-lfu", "volatile-random",
    "volatile-ttl",   "allkeys-lru",  "allkeys-lfu",
    "allkeys-random", "noeviction",   NULL};
static const char *const appendfsync_listed[] = {"everysec", "always", "no", NULL};
static const char *const debug_command_names[] = {"no", "yes", "local", NULL};
static const char *const appendfsync_names[] = {"no", "everysec", "always", NULL};
static const char *const supervised_names[] = {"upstart", "systemd", "auto", "no", NULL};
static const char *const diskless_load_names[] = {"disabled", "on-empty-db", "swapdb", NULL};
static const char *const oom_score_adj_names[] = {"no", "yes", "relative", "absolute", NULL};
static const char *const syslog_facility_names[] = {
    "user", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7", NULL};

static const directive directives[] = {
    /* network */
    SPECIAL("bind", TYPE_BIND, NO_FIELD, "127.0.0.1 -::1", F_IMMUTABLE),
    INT("port", FIELD(port), "6379", 0, 65535, F_IMMUTABLE),
    STRING("unixsocket", FIELD(unixsocket), NULL, F_IMMUTABLE | F_EMPTY_IS_NULL),
    {.name = "unixsocketperm",
     .type = TYPE_OCTAL,
     .offset = FIELD(unixsocketperm),
     .default_value = "0",
     .min = 0,
     .max = 0777,
     .flags = F_IMMUTABLE},
    INT("tcp-backlog", FIELD(tcp_backlog), "511", 0, INT_MAX64, F_IMMUTABLE),
    INT("tcp-keepalive", FIELD(tcp_keepalive), "300", 0, INT_MAX64, 0),
    INT("timeout", FIELD(timeout), "0", 0, INT_MAX64, 0),
    INT("maxclients", FIELD(maxclients), "10000", 1, (int64_t)UINT_MAX, 0),
    BOOL("protected-mode", FIELD(protected_mode), "yes", 0),
    STRING("requirepass", FIELD(requirepass), NULL, F_EMPTY_IS_NULL),

    /* general */
    INT("databases", FIELD(databases), "16", 1, INT_MAX64, F_IMMUTABLE),
    ENUM("loglevel", FIELD(loglevel), "notice", loglevel_names, 0),
    STRING("logfile", FIELD(logfile), "", F_IMMUTABLE),
    STRING("pidfile", FIELD(pidfile), NULL, F_IMMUTABLE | F_EMPTY_IS_NULL),
    BOOL("daemonize", FIELD(daemonize), "no", F_IMMUTABLE),
    /* Redis accepts any non-negative hz and quietly keeps it within 1..500. */
    {.name = "hz",
     .type = TYPE_INT,
     .offset = FIELD(hz),
     .default_value = "10",
     .min = 0,
     .max = INT_MAX64,
     .clamp_min = 1,
     .clamp_max = 500,
     .flags = F_CLAMP},
    SPECIAL("dir", TYPE_DIR, FIELD(dir), NULL, F_ALWAYS_REWRITE),
    ENUM("enable-debug-command", FIELD(enable_debug_command), "local", debug_command_names,
         F_IMMUTABLE),

    /* protocol limits */
    MEMORY("proto-max-bulk-len", FIELD(proto_max_bulk_len), "512mb", 1024 * 1024, LLONG_MAX64, 0),
    MEMORY("client-query-buffer-limit", FIELD(client_query_buffer_limit), "1gb", 1024 * 1024,
           LLONG_MAX64, 0),
    SPECIAL("client-output-buffer-limit", TYPE_OUTPUT_LIMITS, NO_FIELD,
            "normal 0 0 0 replica 256mb 64mb 60 pubsub 32mb 8mb 60", 0),

    /* memory */
    MEMORY("maxmemory", FIELD(maxmemory), "0", 0, LLONG_MAX64, 0),
    {.name = "maxmemory-policy",
     .type = TYPE_ENUM,
     .offset = FIELD(maxmemory_policy),
     .default_value = "noeviction",
     .names = config_maxmemory_policy_names,
     .listed = maxmemory_policy_listed},
    INT("maxmemory-samples", FIELD(maxmemory_samples), "5", 1, INT_MAX64, 0),
    SPECIAL("maxmemory-clients", TYPE_MEMORY_PERCENT, FIELD(maxmemory_clients), "0", 0),
    BOOL("lazyfree-lazy-eviction", FIELD(lazyfree_lazy_eviction), "no", 0),
    BOOL("lazyfree-lazy-expire", FIELD(lazyfree_lazy_expire), "no", 0),
    BOOL("lazyfree-lazy-server-del", FIELD(lazyfree_lazy_server_del), "no", 0),
    BOOL("lazyfree-lazy-user-del", FIELD(lazyfree_lazy_user_del), "no", 0),
    BOOL("lazyfree-lazy-user-flush", FIELD(lazyfree_lazy_user_flush), "no", 0),

    /* expiry */
    INT("active-expire-effort", FIELD(active_expire_effort), "1", 1, 10, 0),

    /* persistence (parsed and kept; snapshots and AOF are not implemented yet) */
    SPECIAL("save", TYPE_SAVE, NO_FIELD, "3600 1 300 100 60 10000", 0),
    STRING("dbfilename", FIELD(dbfilename), "dump.rdb", F_FILENAME),
    BOOL("appendonly", FIELD(appendonly), "no", 0),
    STRING("appendfilename", FIELD(appendfilename), "appendonly.aof", F_FILENAME | F_IMMUTABLE),
    {.name = "appendfsync",
     .type = TYPE_ENUM,
     .offset = FIELD(appendfsync),
     .default_value = "everysec",
     .names = appendfsync_names,
     .listed = appendfsync_listed},

    /* introspection */
    INT("slowlog-log-slower-than", FIELD(slowlog_log_slower_than), "10000", -1, LLONG_MAX64, 0),
    INT("slowlog-max-len", FIELD(slowlog_max_len), "128", 0, LLONG_MAX64, 0),
    INT("latency-monitor-threshold", FIELD(latency_monitor_threshold), "0", 0, LLONG_MAX64, 0),
    SPECIAL("notify-keyspace-events", TYPE_KEYSPACE_EVENTS, FIELD(notify_keyspace_events), "", 0),

    /* encodings */
    INT("hash-max-listpack-entries", FIELD(hash_max_listpack_entries), "512", 0, LLONG_MAX64, 0),
    MEMORY("hash-max-listpack-value", FIELD(hash_max_listpack_value), "64", 0, LLONG_MAX64, 0),
    INT("set-max-intset-entries", FIELD(set_max_intset_entries), "512", 0, LLONG_MAX64, 0),
    INT("set-max-listpack-entries", FIELD(set_max_listpack_entries), "128", 0, LLONG_MAX64, 0),
    MEMORY("set-max-listpack-value", FIELD(set_max_listpack_value), "64", 0, LLONG_MAX64, 0),
    INT("zset-max-listpack-entries", FIELD(zset_max_listpack_entries), "128", 0, LLONG_MAX64, 0),
    MEMORY("zset-max-listpack-value", FIELD(zset_max_listpack_value), "64", 0, LLONG_MAX64, 0),
    MEMORY("embed-value-max-bytes", FIELD(embed_value_max_bytes), "256", 0, 65536, 0),
    INT("list-max-listpack-size", FIELD(list_max_listpack_size), "-2", INT_MIN64, INT_MAX64, 0),
    INT("list-compress-depth", FIELD(list_compress_depth), "0", 0, INT_MAX64, 0),

    /* scripting */
    INT("busy-reply-threshold", FIELD(busy_reply_threshold), "5000", 0, LLONG_MAX64, 0),

    /* native primitives; the ceiling matches what a saved window may hold */
    INT("counter-window-max-buckets", FIELD(counter_window_max_buckets), "100000", 1, 16777216, 0),

    /* Accepted so that existing redis.conf files and tools work; no effect yet. */
    BOOL("stop-writes-on-bgsave-error", FIELD(stop_writes_on_bgsave_error), "yes", 0),
    BOOL("rdbcompression", FIELD(rdb_compression), "yes", 0),
    BOOL("rdbchecksum", FIELD(rdb_checksum), "yes", 0),
    BOOL("rdb-del-sync-files", ACCEPTED, "no", 0),
    BOOL("rdb-save-incremental-fsync", ACCEPTED, "yes", 0),
    STRING("appenddirname", FIELD(appenddirname), "appendonlydir", F_FILENAME | F_IMMUTABLE),
    BOOL("aof-use-rdb-preamble", FIELD(aof_use_rdb_preamble), "yes", 0),
    BOOL("aof-load-truncated", FIELD(aof_load_truncated), "yes", 0),
    BOOL("aof-timestamp-enabled", ACCEPTED, "no", 0),
    BOOL("aof-rewrite-incremental-fsync", ACCEPTED, "yes", 0),
    BOOL("no-appendfsync-on-rewrite", ACCEPTED, "no", 0),
    INT("auto-aof-rewrite-percentage", FIELD(auto_aof_rewrite_percentage), "100", 0, INT_MAX64, 0),
    MEMORY("auto-aof-rewrite-min-size", FIELD(auto_aof_rewrite_min_size), "64mb", 0, LLONG_MAX64,
           0),
    BOOL("replica-read-only", ACCEPTED, "yes", 0),
    BOOL("replica-serve-stale-data", ACCEPTED, "yes", 0),
    BOOL("replica-lazy-flush", ACCEPTED, "no", 0),
    BOOL("replica-announced", ACCEPTED, "yes", 0),
    INT("replica-priority", ACCEPTED, "100", 0, INT_MAX64, 0),
    INT("min-replicas-to-write", ACCEPTED, "0", 0, INT_MAX64, 0),
    INT("min-replicas-max-lag", ACCEPTED, "10", 0, INT_MAX64, 0),
    STRING("masterauth", ACCEPTED, NULL, F_EMPTY_IS_NULL),
    STRING("masteruser", ACCEPTED, NULL, F_EMPTY_IS_NULL),
    BOOL("repl-diskless-sync", ACCEPTED, "yes", 0),
    INT("repl-diskless-sync-delay", ACCEPTED, "5", 0, INT_MAX64, 0),
    INT("repl-diskless-sync-max-replicas", ACCEPTED, "0", 0, INT_MAX64, 0),
    ENUM("repl-diskless-load", ACCEPTED, "disabled", diskless_load_names, 0),
    BOOL("repl-disable-tcp-nodelay", ACCEPTED, "no", 0),
    MEMORY("repl-backlog-size", ACCEPTED, "1mb", 1, LLONG_MAX64, 0),
    INT("repl-backlog-ttl", ACCEPTED, "3600", 0, INT_MAX64, 0),
    INT("repl-timeout", ACCEPTED, "60", 1, INT_MAX64, 0),
    INT("repl-ping-replica-period", ACCEPTED, "10", 1, INT_MAX64, 0),
    ENUM("supervised", ACCEPTED, "no", supervised_names, F_IMMUTABLE),
    BOOL("always-show-logo", ACCEPTED, "no", F_IMMUTABLE),
    BOOL("set-proc-title", ACCEPTED, "yes", F_IMMUTABLE),
    STRING("proc-title-template", ACCEPTED, "{title} {listen-addr} {server-mode}", 0),
    BOOL("syslog-enabled", ACCEPTED, "no", F_IMMUTABLE),
    STRING("syslog-ident", ACCEPTED, "redis", F_IMMUTABLE),
    ENUM("syslog-facility", ACCEPTED, "local0", syslog_facility_names, F_IMMUTABLE),
    BOOL("crash-log-enabled", ACCEPTED, "yes", 0),
    BOOL("crash-memcheck-enabled", ACCEPTED, "yes", 0),
    ENUM("enable-protected-configs", ACCEPTED, "no", debug_command_names, F_IMMUTABLE),
    ENUM("enable-module-command", ACCEPTED, "no", debug_command_names, F_IMMUTABLE),
    INT("lfu-log-factor", FIELD(lfu_log_factor), "10", 0, INT_MAX64, 0),
    INT("lfu-decay-time", FIELD(lfu_decay_time), "1", 0, INT_MAX64, 0),
    INT("maxmemory-eviction-tenacity", ACCEPTED, "10", 0, 100, 0),
    BOOL("activerehashing", ACCEPTED, "yes", 0),
    BOOL("activedefrag", ACCEPTED, "no", 0),
    BOOL("dynamic-hz", ACCEPTED, "yes", 0),
    INT("io-threads", ACCEPTED, "1", 1, 128, F_IMMUTABLE),
    BOOL("io-threads-do-reads", ACCEPTED, "no", F_IMMUTABLE),
    BOOL("jemalloc-bg-thread", ACCEPTED, "yes", 0),
    BOOL("disable-thp", ACCEPTED, "yes", 0),
    ENUM("oom-score-adj", ACCEPTED, "no", oom_score_adj_names, 0),
    {.name = "oom-score-adj-values",
     .type = TYPE_WORDS,
     .offset = ACCEPTED,
     .default_value = "0 200 800",
     .words = 3},
    BOOL("latency-tracking", ACCEPTED, "yes", 0),
    BOOL("cluster-enabled", ACCEPTED, "no", F_IMMUTABLE),
    INT("tracking-table-max-keys", FIELD(tracking_table_max_keys), "1000000", 0, LLONG_MAX64, 0),
    INT("acllog-max-len", ACCEPTED, "128", 0, LLONG_MAX64, 0),
    MEMORY("hll-sparse-max-bytes", ACCEPTED, "3000", 0, LLONG_MAX64, 0),
    MEMORY("stream-node-max-bytes", ACCEPTED, "4096", 0, LLONG_MAX64, 0),
    INT("stream-node-max-entries", ACCEPTED, "100", 0, LLONG_MAX64, 0),
};

#define DIRECTIVE_COUNT (sizeof(directives) / sizeof(directives[0]))

/* Old names Redis still accepts. CONFIG GET lists them right after their
 * directive, as Redis 7 shows both. */
static const struct {
    const char *alias;
    const char *name;
} aliases[] = {
    {"hash-max-ziplist-entries", "hash-max-listpack-entries"},
    {"hash-max-ziplist-value", "hash-max-listpack-value"},
    {"zset-max-ziplist-entries", "zset-max-listpack-entries"},
    {"zset-max-ziplist-value", "zset-max-listpack-value"},
    {"list-max-ziplist-size", "list-max-listpack-size"},
    {"lua-time-limit", "busy-reply-threshold"},
    {"slave-read-only", "replica-read-only"},
    {"slave-serve-stale-data", "replica-serve-stale-data"},
    {"slave-lazy-flush", "replica-lazy-flush"},
    {"slave-priority", "replica-priority"},
    {"min-slaves-to-write", "min-replicas-to-write"},
    {"min-slaves-max-lag", "min-replicas-max-lag"},
    {"repl-ping-slave-period", "repl-ping-replica-period"},
};

#define ALIAS_COUNT (sizeof(aliases) / sizeof(aliases[0]))

/* Storage for ACCEPTED directives: one slot per table entry. */
struct config_extra {
    int flag;       /* bool, enum */
    int64_t number; /* integers, memory sizes */
    char *string;   /* strings, words */
};

static const directive *directive_by_exact_name(const char *name)
{
    for (size_t i = 0; i < DIRECTIVE_COUNT; i++)
        if (strcasecmp(directives[i].name, name) == 0)
            return &directives[i];
    return NULL;
}

static const directive *directive_find(const char *name)
{
    const directive *d = directive_by_exact_name(name);
    if (d)
        return d;
    for (size_t i = 0; i < ALIAS_COUNT; i++)
        if (strcasecmp(aliases[i].alias, name) == 0)
            return directive_by_exact_name(aliases[i].name);
    return NULL;
}

/* Field access: real fields by offset, accepted ones in their extra slot. */
static struct config_extra *extra_slot(const config *cfg, const directive *d)
{
    return &cfg->extra[d - directives];
}

static int *field_int(config *cfg, const directive *d)
{
    return d->offset == NO_FIELD ? &extra_slot(cfg, d)->flag : (int *)((char *)cfg + d->offset);
}

static int64_t *field_number(config *cfg, const directive *d)
{
    return d->offset == NO_FIELD ? &extra_slot(cfg, d)->number
                                 : (int64_t *)((char *)cfg + d->offset);
}

static char **field_string(config *cfg, const directive *d)
{
    return d->offset == NO_FIELD ? &extra_slot(cfg, d)->string : (char **)((char *)cfg + d->offset);
}

/* Read-only twins, so render functions can take a const config. */
static int get_int(const config *cfg, const directive *d)
{
    return *field_int((config *)cfg, d);
}

static int64_t get_number(const config *cfg, const directive *d)
{
    return *field_number((config *)cfg, d);
}

static const char *get_string(const config *cfg, const directive *d)
{
    return *field_string((config *)cfg, d);
}

/* ------------------------------------------------------------------------ */
/* Words: redis.conf quoting                                                */
/* ------------------------------------------------------------------------ */

typedef struct word_list {
    char **items;
    int count;
    int cap;
} word_list;

static void words_push(word_list *w, char *item)
{
    if (w->count == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 8;
        w->items = mem_realloc(w->items, sizeof(char *) * (size_t)w->cap);
    }
    w->items[w->count++] = item;
}

static void words_release(word_list *w)
{
    for (int i = 0; i < w->count; i++)
        mem_free(w->items[i]);
    mem_free(w->items);
    w->items = NULL;
    w->count = w->cap = 0;
}

static char *buffer_take(buffer *b)
{
    char *s = b->data ? b->data : mem_strdup("");
    buffer_init(b);
    return s;
}

static int hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    return tolower(c) - 'a' + 10;
}

/* What a backslash escape inside double quotes stands for. */
static char unescape(char c)
{
    switch (c) {
    case 'n':
        return '\n';
    case 'r':
        return '\r';
    case 't':
        return '\t';
    case 'b':
        return '\b';
    case 'a':
        return '\a';
    default:
        return c; /* \" \\ and anything else stand for themselves */
    }
}

/* Splits a line into words: blanks separate words; "double quotes" take the
 * escapes \n \r \t \b \a \xHH and a backslash before any other character;
 * 'single quotes' take only \'. A closing quote must end the word. Returns
 * -1 on unbalanced quotes. */
static int words_split(const char *line, word_list *out)
{
    const char *p = line;
    for (;;) {
        while (*p && isspace((unsigned char)*p))
            p++;
        if (*p == '\0')
            return 0;
        buffer word;
        buffer_init(&word);
        int in_double = 0, in_single = 0, done = 0;
        while (!done) {
            if (in_double) {
                if (p[0] == '\\' && p[1] == 'x' && isxdigit((unsigned char)p[2]) &&
                    isxdigit((unsigned char)p[3])) {
                    buffer_append_char(&word, (char)(hex_value(p[2]) * 16 + hex_value(p[3])));
                    p += 3;
                } else if (p[0] == '\\' && p[1] != '\0') {
                    p++;
                    buffer_append_char(&word, unescape(*p));
                } else if (*p == '"') {
                    if (p[1] != '\0' && !isspace((unsigned char)p[1]))
                        goto unbalanced;
                    done = 1;
                } else if (*p == '\0') {
                    goto unbalanced;
                } else {
                    buffer_append_char(&word, *p);
                }
            } else if (in_single) {
                if (p[0] == '\\' && p[1] == '\'') {
                    buffer_append_char(&word, '\'');
                    p++;
                } else if (*p == '\'') {
                    if (p[1] != '\0' && !isspace((unsigned char)p[1]))
                        goto unbalanced;
                    done = 1;
                } else if (*p == '\0') {
                    goto unbalanced;
                } else {
                    buffer_append_char(&word, *p);
                }
            } else if (*p == '\0' || isspace((unsigned char)*p)) {
                done = 1;
            } else if (*p == '"') {
                in_double = 1;
            } else if (*p == '\'') {
                in_single = 1;
            } else {
                buffer_append_char(&word, *p);
            }
            if (*p)
                p++;
        }
        words_push(out, buffer_take(&word));
        continue;
    unbalanced:
        buffer_release(&word);
        words_release(out);
        return -1;
    }
}

/* The inverse of words_split: a double-quoted word that reads back exactly. */
static void append_quoted(buffer *out, const char *s)
{
    buffer_append_char(out, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '\\':
            buffer_append_cstr(out, "\\\\");
            break;
        case '"':
            buffer_append_cstr(out, "\\\"");
            break;
        case '\n':
            buffer_append_cstr(out, "\\n");
            break;
        case '\r':
            buffer_append_cstr(out, "\\r");
            break;
        case '\t':
            buffer_append_cstr(out, "\\t");
            break;
        case '\a':
            buffer_append_cstr(out, "\\a");
            break;
        case '\b':
            buffer_append_cstr(out, "\\b");
            break;
        default:
            if (isprint(*p))
                buffer_append_char(out, (char)*p);
            else
                buffer_appendf(out, "\\x%02x", *p);
        }
    }
    buffer_append_char(out, '"');
}

/* ------------------------------------------------------------------------ */
/* Value parsing                                                            */
/* ------------------------------------------------------------------------ */

/* Integers as Redis reads them: canonical decimal only, so "+5", " 5", "05"
 * and "-0" are all rejected. */
static int parse_int64(const char *s, int64_t *out)
{
    int negative = 0;
    if (*s == '-') {
        negative = 1;
        s++;
    }
    if (*s < '0' || *s > '9' || (s[0] == '0' && (s[1] != '\0' || negative)))
        return -1;
    uint64_t value = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        unsigned digit = (unsigned)(*s - '0');
        if (value > (UINT64_MAX - digit) / 10)
            return -1;
        value = value * 10 + digit;
    }
    if (negative) {
        if (value > (uint64_t)INT64_MAX + 1)
            return -1;
        *out = value == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)value;
    } else {
        if (value > (uint64_t)INT64_MAX)
            return -1;
        *out = (int64_t)value;
    }
    return 0;
}

/* Digits (leading zeros allowed) and an optional unit, as redis.conf
 * documents: k/m/g are powers of 1000, kb/mb/gb powers of 1024. */
static int parse_memory(const char *s, int allow_negative, int64_t *out)
{
    int negative = 0;
    if (*s == '-' && allow_negative) {
        negative = 1;
        s++;
    }
    const char *unit = s;
    while (*unit >= '0' && *unit <= '9')
        unit++;
    if (unit == s)
        return -1;
    static const struct {
        const char *suffix;
        int64_t multiplier;
    } units[] = {
        {"", 1},
        {"b", 1},
        {"k", 1000},
        {"kb", 1024},
        {"m", 1000 * 1000},
        {"mb", 1024 * 1024},
        {"g", 1000LL * 1000 * 1000},
        {"gb", 1024LL * 1024 * 1024},
    };
    int64_t multiplier = 0;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (strcasecmp(unit, units[i].suffix) == 0)
            multiplier = units[i].multiplier;
    if (multiplier == 0)
        return -1;
    int64_t value = 0;
    for (const char *p = s; p < unit; p++) {
        int digit = *p - '0';
        if (value > (INT64_MAX - digit) / 10)
            return -1;
        value = value * 10 + digit;
    }
    if (value > INT64_MAX / multiplier)
        return -1;
    value *= multiplier;
    *out = negative ? -value : value;
    return 0;
}

/* Save points are plain digit runs; Redis reads "05" as 5, so leading zeros
 * are fine here, unlike in integer directives. */
static int parse_digits(const char *s, int64_t *out)
{
    if (*s == '\0' || strspn(s, "0123456789") != strlen(s))
        return -1;
    return parse_memory(s, 0, out);
}

int config_parse_memory(const char *s, int64_t *out)
{
    return s && parse_memory(s, 0, out) == 0 ? 0 : -1;
}

/* Keyspace event classes. 'A' is the alias for every type class (not K, E,
 * m or n, which Redis keeps outside "all"). */
enum {
    EVENT_KEYSPACE = 1 << 0,
    EVENT_KEYEVENT = 1 << 1,
    EVENT_GENERIC = 1 << 2,
    EVENT_STRING = 1 << 3,
    EVENT_LIST = 1 << 4,
    EVENT_SET = 1 << 5,
    EVENT_HASH = 1 << 6,
    EVENT_ZSET = 1 << 7,
    EVENT_EXPIRED = 1 << 8,
    EVENT_EVICTED = 1 << 9,
    EVENT_STREAM = 1 << 10,
    EVENT_MODULE = 1 << 11,
    EVENT_NEW = 1 << 12,
    EVENT_MISS = 1 << 13,
};

/* Letter order here is the canonical rendering order. */
static const struct {
    char letter;
    int flag;
} event_letters[] = {
    {'g', EVENT_GENERIC},  {'$', EVENT_STRING}, {'l', EVENT_LIST},    {'s', EVENT_SET},
    {'h', EVENT_HASH},     {'z', EVENT_ZSET},   {'x', EVENT_EXPIRED}, {'e', EVENT_EVICTED},
    {'t', EVENT_STREAM},   {'d', EVENT_MODULE}, {'n', EVENT_NEW},     {'K', EVENT_KEYSPACE},
    {'E', EVENT_KEYEVENT}, {'m', EVENT_MISS},
};

#define EVENT_ALL                                                                                  \
    (EVENT_GENERIC | EVENT_STRING | EVENT_LIST | EVENT_SET | EVENT_HASH | EVENT_ZSET |             \
     EVENT_EXPIRED | EVENT_EVICTED | EVENT_STREAM | EVENT_MODULE)

static int parse_events(const char *s, int *flags)
{
    int result = 0;
    for (; *s; s++) {
        if (*s == 'A') {
            result |= EVENT_ALL;
            continue;
        }
        int found = 0;
        for (size_t i = 0; i < sizeof(event_letters) / sizeof(event_letters[0]); i++) {
            if (event_letters[i].letter == *s) {
                result |= event_letters[i].flag;
                found = 1;
            }
        }
        if (!found)
            return -1;
    }
    *flags = result;
    return 0;
}

/* Canonical form as Redis shows it: "A" stands for every type class and then
 * hides 'n' (Redis prints 'n' only inside the per-class list). */
static char *render_events(int flags)
{
    buffer out;
    buffer_init(&out);
    if ((flags & EVENT_ALL) == EVENT_ALL)
        buffer_append_char(&out, 'A');
    for (size_t i = 0; i < sizeof(event_letters) / sizeof(event_letters[0]); i++) {
        int flag = event_letters[i].flag;
        int type_class = (flag & (EVENT_ALL | EVENT_NEW)) != 0;
        if ((flags & flag) && !(type_class && (flags & EVENT_ALL) == EVENT_ALL))
            buffer_append_char(&out, event_letters[i].letter);
    }
    return buffer_take(&out);
}

/* ------------------------------------------------------------------------ */
/* Applying a value                                                         */
/* ------------------------------------------------------------------------ */

typedef enum apply_mode {
    APPLY_DEFAULT, /* config_init_defaults */
    APPLY_FILE,    /* a config file or command-line option */
    APPLY_SET,     /* CONFIG SET */
} apply_mode;

/* State that lives for one whole load (file, includes, options): the first
 * `save` line replaces the default points and later ones add to it. */
typedef struct load_state {
    int save_seen;
    int include_depth;
} load_state;

#define MESSAGE_SIZE 512

static const char wrong_arguments[] = "wrong number of arguments";

static void set_owned_string(char **field, const char *value, unsigned flags)
{
    char *copy =
        (value && !(value[0] == '\0' && (flags & F_EMPTY_IS_NULL))) ? mem_strdup(value) : NULL;
    mem_free(*field);
    *field = copy;
}

static int apply_integer(config *cfg, const directive *d, const char *arg, char *msg)
{
    int64_t value;
    if (d->type == TYPE_OCTAL) {
        char *end;
        errno = 0;
        long long parsed = strtoll(arg, &end, 8);
        if (*arg == '\0' || *end != '\0' || errno || !isdigit((unsigned char)arg[0])) {
            strcpy(msg, "argument couldn't be parsed as an octal number");
            return -1;
        }
        if (parsed < d->min || parsed > d->max) {
            snprintf(msg, MESSAGE_SIZE, "argument must be between %llo and %llo inclusive",
                     (unsigned long long)d->min, (unsigned long long)d->max);
            return -1;
        }
        *field_number(cfg, d) = parsed;
        return 0;
    }
    if (d->type == TYPE_MEMORY_PERCENT) {
        size_t len = strlen(arg);
        if (len > 1 && arg[len - 1] == '%') {
            char digits[32];
            int64_t percent;
            if (len - 1 < sizeof(digits)) {
                memcpy(digits, arg, len - 1);
                digits[len - 1] = '\0';
                if (parse_int64(digits, &percent) == 0 && percent >= 0) {
                    if (percent > 100) {
                        strcpy(msg, "percentage argument must be less or equal to 100");
                        return -1;
                    }
                    *field_number(cfg, d) = -percent;
                    return 0;
                }
            }
            strcpy(msg, "argument must be a memory or percent value");
            return -1;
        }
        if (parse_memory(arg, 0, &value) != 0) {
            strcpy(msg, "argument must be a memory or percent value");
            return -1;
        }
        *field_number(cfg, d) = value;
        return 0;
    }
    if (d->type == TYPE_MEMORY) {
        if (parse_memory(arg, d->min < 0, &value) != 0) {
            strcpy(msg, "argument must be a memory value");
            return -1;
        }
    } else if (parse_int64(arg, &value) != 0) {
        strcpy(msg, "argument couldn't be parsed into an integer");
        return -1;
    }
    if (value < d->min || value > d->max) {
        snprintf(msg, MESSAGE_SIZE, "argument must be between %lld and %lld inclusive",
                 (long long)d->min, (long long)d->max);
        return -1;
    }
    if (d->flags & F_CLAMP) {
        if (value < d->clamp_min)
            value = d->clamp_min;
        if (value > d->clamp_max)
            value = d->clamp_max;
    }
    *field_number(cfg, d) = value;
    return 0;
}

static int apply_enum(config *cfg, const directive *d, const char *arg, char *msg)
{
    for (int i = 0; d->names[i]; i++) {
        if (strcasecmp(d->names[i], arg) == 0) {
            *field_int(cfg, d) = i;
            return 0;
        }
    }
    size_t used = (size_t)snprintf(msg, MESSAGE_SIZE, "argument(s) must be one of the following: ");
    const char *const *listed = d->listed ? d->listed : d->names;
    for (int i = 0; listed[i] && used < MESSAGE_SIZE; i++)
        used += (size_t)snprintf(msg + used, MESSAGE_SIZE - used, "%s%s", i ? ", " : "", listed[i]);
    return -1;
}

static int apply_dir(config *cfg, const directive *d, const char *arg, apply_mode mode, char *msg)
{
    char *resolved;
    if (mode == APPLY_SET) {
        /* CONFIG SET dir moves the process: later relative paths (snapshots,
         * AOF) depend on it, and failing here keeps the old directory. */
        if (chdir(arg) != 0) {
            snprintf(msg, MESSAGE_SIZE, "%s", strerror(errno));
            return -1;
        }
        resolved = getcwd(NULL, 0);
    } else {
        /* At load time only resolve; the server changes directory once the
         * whole configuration is known, so loading has no side effects. */
        struct stat st;
        if (stat(arg, &st) != 0) {
            snprintf(msg, MESSAGE_SIZE, "%s", strerror(errno));
            return -1;
        }
        if (!S_ISDIR(st.st_mode)) {
            snprintf(msg, MESSAGE_SIZE, "%s", strerror(ENOTDIR));
            return -1;
        }
        resolved = realpath(arg, NULL);
    }
    if (!resolved) {
        snprintf(msg, MESSAGE_SIZE, "%s", strerror(errno));
        return -1;
    }
    set_owned_string(field_string(cfg, d), resolved, 0);
    free(resolved); /* from libc (getcwd/realpath), not mem_alloc */
    return 0;
}

static int apply_bind(config *cfg, int argc, char **argv, char *msg)
{
    if (argc > CONFIG_MAX_BIND) {
        strcpy(msg, "Too many bind addresses specified.");
        return -1;
    }
    for (int i = 0; i < cfg->bind_count; i++)
        mem_free(cfg->bind[i]);
    for (int i = 0; i < argc; i++)
        cfg->bind[i] = mem_strdup(argv[i]);
    cfg->bind_count = argc;
    return 0;
}

static int apply_save(config *cfg, int argc, char **argv, apply_mode mode, load_state *state,
                      char *msg)
{
    /* `save ""` (or a bare `save` in a file) turns snapshots off. */
    if (argc == 0 || (argc == 1 && argv[0][0] == '\0')) {
        cfg->save_count = 0;
        if (state)
            state->save_seen = 1;
        return 0;
    }
    save_point points[16];
    int count = 0;
    if (argc % 2 != 0) {
        strcpy(msg, "Invalid save parameters");
        return -1;
    }
    for (int i = 0; i < argc; i += 2) {
        int64_t seconds, changes;
        if (parse_digits(argv[i], &seconds) != 0 || parse_digits(argv[i + 1], &changes) != 0 ||
            seconds < 1) {
            strcpy(msg, "Invalid save parameters");
            return -1;
        }
        if (count == 16) {
            strcpy(msg, "Too many save points (at most 16)");
            return -1;
        }
        points[count].seconds = seconds;
        points[count].changes = changes;
        count++;
    }
    int keep = 0;
    if (mode == APPLY_FILE && state && state->save_seen)
        keep = cfg->save_count;
    if (keep + count > 16) {
        strcpy(msg, "Too many save points (at most 16)");
        return -1;
    }
    memcpy(cfg->save + keep, points, sizeof(save_point) * (size_t)count);
    cfg->save_count = keep + count;
    if (state)
        state->save_seen = 1;
    return 0;
}

static int output_class_from_name(const char *name)
{
    if (strcasecmp(name, "normal") == 0)
        return OUTPUT_CLASS_NORMAL;
    if (strcasecmp(name, "replica") == 0 || strcasecmp(name, "slave") == 0)
        return OUTPUT_CLASS_REPLICA;
    if (strcasecmp(name, "pubsub") == 0)
        return OUTPUT_CLASS_PUBSUB;
    return -1;
}

static int apply_output_limits(config *cfg, int argc, char **argv, char *msg)
{
    if (argc == 0 || argc % 4 != 0) {
        strcpy(msg, "Wrong number of arguments in buffer limit configuration.");
        return -1;
    }
    output_buffer_limit limits[OUTPUT_CLASS_COUNT];
    memcpy(limits, cfg->output_limits, sizeof(limits));
    for (int i = 0; i < argc; i += 4) {
        int class_index = output_class_from_name(argv[i]);
        if (class_index < 0) {
            strcpy(msg, "Invalid client class specified in buffer limit configuration.");
            return -1;
        }
        output_buffer_limit limit;
        if (parse_memory(argv[i + 1], 0, &limit.hard_bytes) != 0 ||
            parse_memory(argv[i + 2], 0, &limit.soft_bytes) != 0 ||
            parse_int64(argv[i + 3], &limit.soft_seconds) != 0 || limit.soft_seconds < 0) {
            strcpy(msg, "Error in hard, soft or soft_seconds setting in buffer limit "
                        "configuration.");
            return -1;
        }
        limits[class_index] = limit;
    }
    memcpy(cfg->output_limits, limits, sizeof(limits));
    return 0;
}

static int takes_word_list(const directive *d)
{
    return d->type == TYPE_BIND || d->type == TYPE_SAVE || d->type == TYPE_OUTPUT_LIMITS ||
           d->type == TYPE_WORDS;
}

/* Parses and stores one directive's arguments. Nothing is stored unless the
 * whole value is valid. On failure msg (MESSAGE_SIZE bytes) says why. */
static int directive_apply(config *cfg, const directive *d, int argc, char **argv, apply_mode mode,
                           load_state *state, char *msg)
{
    if (!takes_word_list(d) && argc != 1) {
        strcpy(msg, wrong_arguments);
        return -1;
    }
    /* Like Redis, a list given as one argument (`--save "60 10"` or
     * `bind "a b"`) is split on blanks. */
    if (takes_word_list(d) && argc == 1 && strpbrk(argv[0], " \t")) {
        word_list words = {0};
        char *rest = argv[0];
        while (*rest) {
            size_t skip = strspn(rest, " \t");
            size_t len = strcspn(rest + skip, " \t");
            if (len) {
                char *word = mem_dup(rest + skip, len + 1);
                word[len] = '\0';
                words_push(&words, word);
            }
            rest += skip + len;
        }
        int result = -1;
        if (words.count > 0)
            result = directive_apply(cfg, d, words.count, words.items, mode, state, msg);
        else if (d->type == TYPE_SAVE)
            strcpy(msg, "Invalid save parameters");
        else
            strcpy(msg, wrong_arguments);
        words_release(&words);
        return result;
    }
    switch (d->type) {
    case TYPE_BOOL:
        if (strcasecmp(argv[0], "yes") == 0) {
            *field_int(cfg, d) = 1;
        } else if (strcasecmp(argv[0], "no") == 0) {
            *field_int(cfg, d) = 0;
        } else {
            strcpy(msg, "argument must be 'yes' or 'no'");
            return -1;
        }
        return 0;
    case TYPE_INT:
    case TYPE_MEMORY:
    case TYPE_MEMORY_PERCENT:
    case TYPE_OCTAL:
        return apply_integer(cfg, d, argv[0], msg);
    case TYPE_ENUM:
        return apply_enum(cfg, d, argv[0], msg);
    case TYPE_STRING:
        if ((d->flags & F_FILENAME) && strchr(argv[0], '/')) {
            snprintf(msg, MESSAGE_SIZE, "%s can't be a path, just a filename", d->name);
            return -1;
        }
        set_owned_string(field_string(cfg, d), argv[0], d->flags);
        return 0;
    case TYPE_WORDS: {
        if (argc != d->words) {
            strcpy(msg, wrong_arguments);
            return -1;
        }
        buffer joined;
        buffer_init(&joined);
        for (int i = 0; i < argc; i++) {
            if (i)
                buffer_append_char(&joined, ' ');
            buffer_append_cstr(&joined, argv[i]);
        }
        mem_free(*field_string(cfg, d));
        *field_string(cfg, d) = buffer_take(&joined);
        return 0;
    }
    case TYPE_DIR:
        return apply_dir(cfg, d, argv[0], mode, msg);
    case TYPE_BIND:
        return apply_bind(cfg, argc, argv, msg);
    case TYPE_SAVE:
        return apply_save(cfg, argc, argv, mode, state, msg);
    case TYPE_OUTPUT_LIMITS:
        return apply_output_limits(cfg, argc, argv, msg);
    case TYPE_KEYSPACE_EVENTS: {
        int flags;
        if (parse_events(argv[0], &flags) != 0) {
            strcpy(msg, "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.");
            return -1;
        }
        mem_free(*field_string(cfg, d));
        *field_string(cfg, d) = render_events(flags);
        return 0;
    }
    }
    strcpy(msg, "internal error: unknown directive type");
    return -1;
}

/* ------------------------------------------------------------------------ */
/* Defaults and release                                                     */
/* ------------------------------------------------------------------------ */

void config_init_defaults(config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->extra = mem_calloc(sizeof(struct config_extra) * DIRECTIVE_COUNT);
    char msg[MESSAGE_SIZE];
    for (size_t i = 0; i < DIRECTIVE_COUNT; i++) {
        const directive *d = &directives[i];
        if (d->type == TYPE_DIR) {
            char *cwd = getcwd(NULL, 0);
            set_owned_string(field_string(cfg, d), cwd ? cwd : "", 0);
            free(cwd);
            continue;
        }
        if (!d->default_value)
            continue; /* strings that default to "none" stay NULL */
        word_list words = {0};
        int failed;
        if (takes_word_list(d)) {
            failed = words_split(d->default_value, &words) != 0 ||
                     directive_apply(cfg, d, words.count, words.items, APPLY_DEFAULT, NULL, msg);
        } else {
            char *value = (char *)d->default_value;
            failed = directive_apply(cfg, d, 1, &value, APPLY_DEFAULT, NULL, msg);
        }
        words_release(&words);
        if (failed) {
            /* A table typo: fail loudly in every build, it can only be ours. */
            fprintf(stderr, "config: bad default for '%s': %s\n", d->name, msg);
            abort();
        }
    }
}

void config_release(config *cfg)
{
    for (size_t i = 0; i < DIRECTIVE_COUNT; i++) {
        const directive *d = &directives[i];
        int holds_string = d->type == TYPE_STRING || d->type == TYPE_WORDS || d->type == TYPE_DIR ||
                           d->type == TYPE_KEYSPACE_EVENTS;
        if (holds_string && (d->offset != NO_FIELD || cfg->extra)) {
            char **field = field_string(cfg, d);
            mem_free(*field);
            *field = NULL;
        }
    }
    for (int i = 0; i < cfg->bind_count; i++)
        mem_free(cfg->bind[i]);
    mem_free(cfg->extra);
    memset(cfg, 0, sizeof(*cfg));
}

/* ------------------------------------------------------------------------ */
/* Loading                                                                  */
/* ------------------------------------------------------------------------ */

#define MAX_INCLUDE_DEPTH 16

static int load_file(config *cfg, const char *path, load_state *state, buffer *err);

/* Reads a whole file ("-" is standard input). */
static int read_file(const char *path, buffer *out)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!f)
        return -1;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buffer_append(out, chunk, n);
    int failed = ferror(f);
    if (f != stdin)
        fclose(f);
    return failed ? -1 : 0;
}

/* Processes text line by line. `where` names the source for messages
 * ("the configuration file x.conf") and `unit` what a line is called there. */
static int load_lines(config *cfg, const char *text, const char *where, const char *unit,
                      load_state *state, buffer *err)
{
    const char *line = text;
    int number = 0;
    while (*line) {
        number++;
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        const char *next = end ? end + 1 : line + len;

        /* Trim blanks and a Windows line end, as Redis does before parsing. */
        while (len && isspace((unsigned char)*line)) {
            line++;
            len--;
        }
        while (len && isspace((unsigned char)line[len - 1]))
            len--;
        if (len == 0 || line[0] == '#') {
            line = next;
            continue;
        }
        char *trimmed = mem_dup(line, len + 1);
        trimmed[len] = '\0';

        char msg[MESSAGE_SIZE];
        msg[0] = '\0';
        word_list words = {0};
        int failed = 0;
        if (words_split(trimmed, &words) != 0) {
            strcpy(msg, "Unbalanced quotes in configuration line");
            failed = 1;
        } else if (words.count > 0) {
            for (char *p = words.items[0]; *p; p++)
                *p = (char)tolower((unsigned char)*p);
            const char *name = words.items[0];
            if (strcmp(name, "include") == 0) {
                if (words.count != 2) {
                    strcpy(msg, wrong_arguments);
                    failed = 1;
                } else if (state->include_depth >= MAX_INCLUDE_DEPTH) {
                    strcpy(msg, "include nesting is too deep (a file including itself?)");
                    failed = 1;
                } else {
                    /* Errors inside the included file name that file. */
                    state->include_depth++;
                    int included = load_file(cfg, words.items[1], state, err);
                    state->include_depth--;
                    if (included == -2) {
                        snprintf(msg, MESSAGE_SIZE, "can't open config file '%s': %s",
                                 words.items[1], strerror(errno));
                        buffer_clear(err);
                        failed = 1;
                    } else if (included != 0) {
                        words_release(&words);
                        mem_free(trimmed);
                        return -1;
                    }
                }
            } else {
                const directive *d = directive_find(name);
                if (!d) {
                    strcpy(msg, "Bad directive or wrong number of arguments");
                    failed = 1;
                } else {
                    failed = directive_apply(cfg, d, words.count - 1, words.items + 1, APPLY_FILE,
                                             state, msg) != 0;
                }
            }
        }
        if (failed) {
            buffer_clear(err);
            buffer_appendf(err, "Reading %s, at %s %d\n>>> '%s'\n%s", where, unit, number, trimmed,
                           msg);
        }
        words_release(&words);
        mem_free(trimmed);
        if (failed)
            return -1;
        line = next;
    }
    return 0;
}

/* Returns 0, -1 with err filled, or -2 when the file cannot be read (errno
 * set) so the caller can word the message for its context. */
static int load_file(config *cfg, const char *path, load_state *state, buffer *err)
{
    buffer text;
    buffer_init(&text);
    if (read_file(path, &text) != 0) {
        int saved = errno;
        buffer_release(&text);
        errno = saved;
        return -2;
    }
    buffer where;
    buffer_init(&where);
    buffer_appendf(&where, "the configuration file %s", strcmp(path, "-") == 0 ? "(stdin)" : path);
    int result = load_lines(cfg, text.data ? text.data : "", where.data, "line", state, err);
    buffer_release(&where);
    buffer_release(&text);
    return result;
}

static char *error_take(buffer *err)
{
    return buffer_take(err);
}

int config_load_string(config *cfg, const char *text, const char *source, char **err)
{
    load_state state = {0};
    buffer message, where;
    buffer_init(&message);
    buffer_init(&where);
    if (source)
        buffer_appendf(&where, "the configuration file %s", source);
    else
        buffer_append_cstr(&where, "the configuration file");
    int result = load_lines(cfg, text, where.data, "line", &state, &message);
    buffer_release(&where);
    if (result != 0) {
        *err = error_take(&message);
        return -1;
    }
    buffer_release(&message);
    return 0;
}

int config_load(config *cfg, int argc, char **argv, char **err)
{
    load_state state = {0};
    buffer message;
    buffer_init(&message);
    int first_option = 0;

    if (argc > 0 && strncmp(argv[0], "--", 2) != 0) {
        int result = load_file(cfg, argv[0], &state, &message);
        if (result == -2) {
            buffer_appendf(&message, "Fatal error, can't open config file '%s': %s", argv[0],
                           strerror(errno));
            result = -1;
        }
        if (result != 0) {
            *err = error_take(&message);
            return -1;
        }
        first_option = 1;
    }

    /* Options become config lines, one per "--name", each argument quoted so
     * it reads back verbatim: `--save ""` works, and so does a value with
     * spaces. A bare `--save` means `save ""`, as in Redis. */
    buffer lines;
    buffer_init(&lines);
    int pending_args = -1; /* -1: no option started yet */
    const char *pending_name = NULL;
    for (int i = first_option; i < argc; i++) {
        const char *arg = argv[i];
        if (arg[0] == '-' && arg[1] == '-' && arg[2] != '\0') {
            if (pending_args == 0 && strcasecmp(pending_name, "save") == 0)
                buffer_append_cstr(&lines, " \"\"");
            if (pending_args >= 0)
                buffer_append_char(&lines, '\n');
            buffer_append_cstr(&lines, arg + 2);
            pending_name = arg + 2;
            pending_args = 0;
        } else if (pending_args < 0) {
            buffer_appendf(&message,
                           "Reading the command-line options\n>>> '%s'\n"
                           "options must start with \"--\" (only the first argument may be the "
                           "config file)",
                           arg);
            buffer_release(&lines);
            *err = error_take(&message);
            return -1;
        } else {
            buffer_append_char(&lines, ' ');
            append_quoted(&lines, arg);
            pending_args++;
        }
    }
    if (pending_args == 0 && strcasecmp(pending_name, "save") == 0)
        buffer_append_cstr(&lines, " \"\"");

    int result = 0;
    if (lines.len > 0)
        result =
            load_lines(cfg, lines.data, "the command-line options", "option", &state, &message);
    buffer_release(&lines);
    if (result != 0) {
        *err = error_take(&message);
        return -1;
    }
    buffer_release(&message);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Rendering                                                                */
/* ------------------------------------------------------------------------ */

/* CONFIG GET's view of one directive. */
static void directive_render(const config *cfg, const directive *d, buffer *out)
{
    switch (d->type) {
    case TYPE_BOOL:
        buffer_append_cstr(out, get_int(cfg, d) ? "yes" : "no");
        return;
    case TYPE_INT:
    case TYPE_MEMORY:
        buffer_appendf(out, "%lld", (long long)get_number(cfg, d));
        return;
    case TYPE_MEMORY_PERCENT: {
        int64_t value = get_number(cfg, d);
        if (value < 0)
            buffer_appendf(out, "%lld%%", (long long)-value);
        else
            buffer_appendf(out, "%lld", (long long)value);
        return;
    }
    case TYPE_OCTAL:
        buffer_appendf(out, "%llo", (unsigned long long)get_number(cfg, d));
        return;
    case TYPE_ENUM:
        buffer_append_cstr(out, d->names[get_int(cfg, d)]);
        return;
    case TYPE_STRING:
    case TYPE_WORDS:
    case TYPE_DIR:
    case TYPE_KEYSPACE_EVENTS: {
        const char *s = get_string(cfg, d);
        buffer_append_cstr(out, s ? s : "");
        return;
    }
    case TYPE_BIND:
        for (int i = 0; i < cfg->bind_count; i++)
            buffer_appendf(out, "%s%s", i ? " " : "", cfg->bind[i]);
        return;
    case TYPE_SAVE:
        for (int i = 0; i < cfg->save_count; i++)
            buffer_appendf(out, "%s%lld %lld", i ? " " : "", (long long)cfg->save[i].seconds,
                           (long long)cfg->save[i].changes);
        return;
    case TYPE_OUTPUT_LIMITS: {
        static const char *const class_names[] = {"normal", "slave", "pubsub"};
        for (int i = 0; i < OUTPUT_CLASS_COUNT; i++) {
            const output_buffer_limit *l = &cfg->output_limits[i];
            buffer_appendf(out, "%s%s %lld %lld %lld", i ? " " : "", class_names[i],
                           (long long)l->hard_bytes, (long long)l->soft_bytes,
                           (long long)l->soft_seconds);
        }
        return;
    }
    }
}

char *config_render(const config *cfg, const char *name)
{
    const directive *d = directive_find(name);
    if (!d)
        return NULL;
    buffer out;
    buffer_init(&out);
    directive_render(cfg, d, &out);
    return buffer_take(&out);
}

int config_is_immutable(const char *name)
{
    const directive *d = directive_find(name);
    return d && (d->flags & F_IMMUTABLE);
}

static int pattern_is_plain(const char *pattern)
{
    return strpbrk(pattern, "*?[\\") == NULL;
}

static int name_matches(const char *pattern, int plain, const char *name, const directive *d)
{
    if (plain)
        return strcasecmp(pattern, name) == 0;
    if (d->flags & F_HIDDEN)
        return 0;
    return glob_match(pattern, strlen(pattern), name, strlen(name), 1);
}

static void pairs_push(char ***pairs, size_t *count, size_t *cap, const config *cfg,
                       const char *name, const directive *d)
{
    if (*count == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        *pairs = mem_realloc(*pairs, sizeof(char *) * 2 * *cap);
    }
    buffer value;
    buffer_init(&value);
    directive_render(cfg, d, &value);
    (*pairs)[2 * *count] = mem_strdup(name);
    (*pairs)[2 * *count + 1] = buffer_take(&value);
    (*count)++;
}

size_t config_get(const config *cfg, const char *pattern, char ***pairs)
{
    size_t count = 0, cap = 0;
    int plain = pattern_is_plain(pattern);
    *pairs = NULL;
    for (size_t i = 0; i < DIRECTIVE_COUNT; i++) {
        const directive *d = &directives[i];
        if (name_matches(pattern, plain, d->name, d))
            pairs_push(pairs, &count, &cap, cfg, d->name, d);
        for (size_t a = 0; a < ALIAS_COUNT; a++)
            if (strcmp(aliases[a].name, d->name) == 0 &&
                name_matches(pattern, plain, aliases[a].alias, d))
                pairs_push(pairs, &count, &cap, cfg, aliases[a].alias, d);
    }
    return count;
}

void config_free_pairs(char **pairs, size_t count)
{
    if (!pairs)
        return;
    for (size_t i = 0; i < 2 * count; i++)
        mem_free(pairs[i]);
    mem_free(pairs);
}

/* ------------------------------------------------------------------------ */
/* CONFIG SET                                                               */
/* ------------------------------------------------------------------------ */

/* config_set's message; the header promises a static string, so it lives
 * here until the next call (the server is single-threaded). */
static char set_error[MESSAGE_SIZE + 200];

int config_set(config *cfg, const char *name, const char *value, const char **err)
{
    const directive *d = directive_find(name);
    if (!d) {
        snprintf(set_error, sizeof(set_error),
                 "Unknown option or number of arguments for CONFIG SET - '%s'", name);
        *err = set_error;
        return -1;
    }
    char msg[MESSAGE_SIZE];
    int failed;
    if (d->flags & F_IMMUTABLE) {
        strcpy(msg, "can't set immutable config");
        failed = 1;
    } else if (takes_word_list(d)) {
        word_list words = {0};
        if (words_split(value, &words) != 0) {
            strcpy(msg, "Unbalanced quotes in argument");
            failed = 1;
        } else if (d->type == TYPE_SAVE && words.count == 0 && value[0] != '\0') {
            strcpy(msg, "Invalid save parameters"); /* blanks only, as Redis */
            failed = 1;
        } else {
            failed = directive_apply(cfg, d, words.count, words.items, APPLY_SET, NULL, msg);
        }
        words_release(&words);
    } else {
        char *arg = (char *)value;
        failed = directive_apply(cfg, d, 1, &arg, APPLY_SET, NULL, msg);
    }
    if (failed) {
        snprintf(set_error, sizeof(set_error),
                 "CONFIG SET failed (possibly related to argument '%s') - %s", name, msg);
        *err = set_error;
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* CONFIG REWRITE                                                           */
/* ------------------------------------------------------------------------ */

#define REWRITE_MARKER "# Generated by CONFIG REWRITE"

static void format_memory(buffer *out, int64_t bytes)
{
    const int64_t kb = 1024, mb = kb * 1024, gb = mb * 1024;
    if (bytes != 0 && bytes % gb == 0)
        buffer_appendf(out, "%lldgb", (long long)(bytes / gb));
    else if (bytes != 0 && bytes % mb == 0)
        buffer_appendf(out, "%lldmb", (long long)(bytes / mb));
    else if (bytes != 0 && bytes % kb == 0)
        buffer_appendf(out, "%lldkb", (long long)(bytes / kb));
    else
        buffer_appendf(out, "%lld", (long long)bytes);
}

/* One line CONFIG REWRITE wants in the file; `force` when it must appear
 * even if the file had no line for it (the value differs from default). */
typedef struct rewrite_line {
    char *text;
    int force;
} rewrite_line;

typedef struct rewrite_lines {
    rewrite_line items[16]; /* save points are the most: at most 16 */
    int count;
} rewrite_lines;

static void lines_add(rewrite_lines *lines, buffer *text, int force)
{
    lines->items[lines->count].text = buffer_take(text);
    lines->items[lines->count].force = force;
    lines->count++;
}

/* Writes the file form of a single-line directive's value. */
static void directive_format(const config *cfg, const directive *d, buffer *out)
{
    buffer_appendf(out, "%s ", d->name);
    switch (d->type) {
    case TYPE_MEMORY:
        format_memory(out, get_number(cfg, d));
        return;
    case TYPE_MEMORY_PERCENT: {
        int64_t value = get_number(cfg, d);
        if (value < 0)
            buffer_appendf(out, "%lld%%", (long long)-value);
        else
            format_memory(out, value);
        return;
    }
    case TYPE_STRING:
    case TYPE_DIR:
    case TYPE_KEYSPACE_EVENTS: {
        const char *s = get_string(cfg, d);
        append_quoted(out, s ? s : "");
        return;
    }
    default:
        directive_render(cfg, d, out);
        return;
    }
}

static void directive_rewrite_lines(const config *cfg, const config *defaults, const directive *d,
                                    rewrite_lines *lines)
{
    buffer text;
    buffer_init(&text);
    if (d->type == TYPE_SAVE) {
        buffer now, then;
        buffer_init(&now);
        buffer_init(&then);
        directive_render(cfg, d, &now);
        directive_render(defaults, d, &then);
        int force = strcmp(now.data ? now.data : "", then.data ? then.data : "") != 0;
        buffer_release(&now);
        buffer_release(&then);
        if (cfg->save_count == 0) {
            buffer_append_cstr(&text, "save \"\"");
            lines_add(lines, &text, force);
        }
        for (int i = 0; i < cfg->save_count; i++) {
            buffer_appendf(&text, "save %lld %lld", (long long)cfg->save[i].seconds,
                           (long long)cfg->save[i].changes);
            lines_add(lines, &text, force);
        }
        return;
    }
    if (d->type == TYPE_OUTPUT_LIMITS) {
        static const char *const class_names[] = {"normal", "replica", "pubsub"};
        for (int i = 0; i < OUTPUT_CLASS_COUNT; i++) {
            const output_buffer_limit *now = &cfg->output_limits[i];
            const output_buffer_limit *then = &defaults->output_limits[i];
            int force = now->hard_bytes != then->hard_bytes ||
                        now->soft_bytes != then->soft_bytes ||
                        now->soft_seconds != then->soft_seconds;
            buffer_appendf(&text, "client-output-buffer-limit %s ", class_names[i]);
            format_memory(&text, now->hard_bytes);
            buffer_append_char(&text, ' ');
            format_memory(&text, now->soft_bytes);
            buffer_appendf(&text, " %lld", (long long)now->soft_seconds);
            lines_add(lines, &text, force);
        }
        return;
    }
    buffer then;
    buffer_init(&then);
    directive_format(cfg, d, &text);
    directive_format(defaults, d, &then);
    int force = (d->flags & F_ALWAYS_REWRITE) || strcmp(text.data, then.data) != 0;
    buffer_release(&then);
    lines_add(lines, &text, force);
}

/* The old file as lines, each tagged with the directive it sets (or -1 for
 * comments, blank lines, include and anything we do not understand, which
 * are all kept as they are). */
typedef struct file_lines {
    char **text;
    int *owner;
    int count;
    int cap;
} file_lines;

static void file_lines_push(file_lines *f, char *text, int owner)
{
    if (f->count == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 64;
        f->text = mem_realloc(f->text, sizeof(char *) * (size_t)f->cap);
        f->owner = mem_realloc(f->owner, sizeof(int) * (size_t)f->cap);
    }
    f->text[f->count] = text;
    f->owner[f->count] = owner;
    f->count++;
}

static void file_lines_release(file_lines *f)
{
    for (int i = 0; i < f->count; i++)
        mem_free(f->text[i]);
    mem_free(f->text);
    mem_free(f->owner);
}

static int line_owner(const char *line)
{
    word_list words = {0};
    int owner = -1;
    if (words_split(line, &words) == 0 && words.count > 0) {
        const directive *d = directive_find(words.items[0]);
        if (d)
            owner = (int)(d - directives);
    }
    words_release(&words);
    return owner;
}

static void replace_line(file_lines *f, int index, char *text)
{
    mem_free(f->text[index]);
    f->text[index] = text;
    f->owner[index] = -1; /* consumed */
}

/* Writes content to a temporary file beside path, then renames it over path,
 * so a crash leaves either the old file or the new one, never half of one. */
static int write_atomically(const char *path, const buffer *content)
{
    size_t len = strlen(path);
    char *temp = mem_alloc(len + 16);
    memcpy(temp, path, len);
    memcpy(temp + len, ".tmp-XXXXXX", 12);
    int fd = mkstemp(temp);
    if (fd < 0) {
        mem_free(temp);
        return -1;
    }
    struct stat st;
    mode_t mode = stat(path, &st) == 0 ? (st.st_mode & 07777) : 0644;
    size_t done = 0;
    int failed = 0;
    while (done < content->len && !failed) {
        ssize_t n = write(fd, content->data + done, content->len - done);
        if (n < 0 && errno != EINTR)
            failed = 1;
        else if (n > 0)
            done += (size_t)n;
    }
    if (!failed && (fchmod(fd, mode) != 0 || fsync(fd) != 0))
        failed = 1;
    int saved = errno;
    close(fd);
    if (!failed && rename(temp, path) != 0) {
        saved = errno;
        failed = 1;
    }
    if (failed)
        unlink(temp);
    mem_free(temp);
    errno = saved;
    return failed ? -1 : 0;
}

static char rewrite_error[300];

int config_rewrite(const config *cfg, const char *path, const char **err)
{
    if (!path) {
        *err = "The server is running without a config file";
        return -1;
    }
    buffer old;
    buffer_init(&old);
    if (read_file(path, &old) != 0 && errno != ENOENT) {
        snprintf(rewrite_error, sizeof(rewrite_error), "Rewriting config file: %s",
                 strerror(errno));
        buffer_release(&old);
        *err = rewrite_error;
        return -1;
    }

    file_lines file = {0};
    int has_marker = 0;
    const char *p = old.data ? old.data : "";
    while (*p) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char *line = mem_dup(p, len + 1);
        line[len] = '\0';
        if (len && line[len - 1] == '\r')
            line[len - 1] = '\0';
        const char *start = line + strspn(line, " \t");
        if (strcmp(start, REWRITE_MARKER) == 0)
            has_marker = 1;
        int owner = (*start == '#' || *start == '\0') ? -1 : line_owner(start);
        file_lines_push(&file, line, owner);
        p = end ? end + 1 : p + len;
    }
    buffer_release(&old);

    config defaults;
    config_init_defaults(&defaults);
    buffer appended;
    buffer_init(&appended);
    for (size_t i = 0; i < DIRECTIVE_COUNT; i++) {
        rewrite_lines wanted = {.count = 0};
        directive_rewrite_lines(cfg, &defaults, &directives[i], &wanted);
        /* Reuse the directive's existing lines in order, then append what is
         * left if it must appear; leftover old lines become blank. */
        /* Save lines only make sense together (the first one read replaces
         * all default points), so once save is in the file every point is
         * written, even when the set equals the default. Other multi-line
         * directives (output limits) have independent lines. */
        int present = 0;
        for (int j = 0; j < file.count && !present && directives[i].type == TYPE_SAVE; j++)
            present = file.owner[j] == (int)i;
        int next = 0;
        for (int w = 0; w < wanted.count; w++) {
            while (next < file.count && file.owner[next] != (int)i)
                next++;
            if (next < file.count) {
                replace_line(&file, next, wanted.items[w].text);
            } else {
                if (wanted.items[w].force || present)
                    buffer_appendf(&appended, "%s\n", wanted.items[w].text);
                mem_free(wanted.items[w].text);
            }
        }
        for (int j = 0; j < file.count; j++)
            if (file.owner[j] == (int)i)
                replace_line(&file, j, mem_strdup(""));
    }
    config_release(&defaults);

    buffer content;
    buffer_init(&content);
    for (int i = 0; i < file.count; i++)
        buffer_appendf(&content, "%s\n", file.text[i]);
    if (appended.len > 0) {
        if (!has_marker) {
            if (content.len > 0 && !(content.len >= 2 && content.data[content.len - 2] == '\n'))
                buffer_append_char(&content, '\n');
            buffer_append_cstr(&content, REWRITE_MARKER "\n");
        }
        buffer_append(&content, appended.data, appended.len);
    }
    buffer_release(&appended);
    file_lines_release(&file);

    int result = write_atomically(path, &content);
    buffer_release(&content);
    if (result != 0) {
        snprintf(rewrite_error, sizeof(rewrite_error), "Rewriting config file: %s",
                 strerror(errno));
        *err = rewrite_error;
        return -1;
    }
    return 0;
}
