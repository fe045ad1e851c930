/* command: the one command table. Each row names a command with its arity,
 * flags, key positions, ACL categories, documentation and handler; dispatch,
 * COMMAND, INFO commandstats and docs all read it, so nothing about a command
 * is written in two places. Subcommands (CLIENT LIST, CONFIG GET, ...) are
 * rows of a per-command sub-table. */
#ifndef RIVET_COMMAND_H
#define RIVET_COMMAND_H

#include <stddef.h>
#include <stdint.h>

#include "rivet/client.h"

enum command_flags {
    CMD_WRITE = 1 << 0,
    CMD_READONLY = 1 << 1,
    CMD_DENYOOM = 1 << 2,
    CMD_ADMIN = 1 << 3,
    CMD_PUBSUB = 1 << 4,
    CMD_NOSCRIPT = 1 << 5,
    CMD_BLOCKING = 1 << 6,
    CMD_LOADING = 1 << 7,
    CMD_STALE = 1 << 8,
    CMD_SKIP_MONITOR = 1 << 9,
    CMD_SKIP_SLOWLOG = 1 << 10,
    CMD_FAST = 1 << 11,
    CMD_NO_AUTH = 1 << 12,
    CMD_MAY_REPLICATE = 1 << 13,
    CMD_NO_MULTI = 1 << 14,
    CMD_ALLOW_BUSY = 1 << 15,
    CMD_SENTINEL = 1 << 16,
    CMD_ONLY_SENTINEL = 1 << 17,
    CMD_NO_MANDATORY_KEYS = 1 << 18,
    CMD_NO_ASYNC_LOADING = 1 << 19,
    CMD_TOUCHES_ARBITRARY_KEYS = 1 << 20,
    CMD_MODULE = 1 << 21,
    CMD_PROTECTED = 1 << 22, /* DEBUG: gated by enable-debug-command */
    CMD_FLAG_COUNT = 23
};

/* ACL categories, in Redis's order and names. */
enum command_category {
    ACL_KEYSPACE = 1 << 0,
    ACL_READ = 1 << 1,
    ACL_WRITE = 1 << 2,
    ACL_SET = 1 << 3,
    ACL_SORTEDSET = 1 << 4,
    ACL_LIST = 1 << 5,
    ACL_HASH = 1 << 6,
    ACL_STRING = 1 << 7,
    ACL_BITMAP = 1 << 8,
    ACL_HYPERLOGLOG = 1 << 9,
    ACL_GEO = 1 << 10,
    ACL_STREAM = 1 << 11,
    ACL_PUBSUB = 1 << 12,
    ACL_ADMIN = 1 << 13,
    ACL_FAST = 1 << 14,
    ACL_SLOW = 1 << 15,
    ACL_BLOCKING = 1 << 16,
    ACL_DANGEROUS = 1 << 17,
    ACL_CONNECTION = 1 << 18,
    ACL_TRANSACTION = 1 << 19,
    ACL_SCRIPTING = 1 << 20,
    ACL_CATEGORY_COUNT = 21
};

/* Key-spec flags as COMMAND INFO reports them. */
enum key_spec_flags {
    KEY_RO = 1 << 0,
    KEY_RW = 1 << 1,
    KEY_OW = 1 << 2,
    KEY_RM = 1 << 3,
    KEY_ACCESS = 1 << 4,
    KEY_UPDATE = 1 << 5,
    KEY_INSERT = 1 << 6,
    KEY_DELETE = 1 << 7,
    KEY_NOT_KEY = 1 << 8,
    KEY_INCOMPLETE = 1 << 9,
    KEY_VARIABLE_FLAGS = 1 << 10,
};

typedef void (*command_handler)(client *c);

typedef struct command_stats {
    uint64_t calls;
    uint64_t microseconds;
    uint64_t rejected_calls;
    uint64_t failed_calls;
} command_stats;

typedef struct command {
    const char *name;    /* lowercase; subcommands: "list" under "client" */
    int arity;           /* n: exactly n args incl. name; -n: at least n */
    uint32_t flags;      /* command_flags */
    uint32_t categories; /* command_category */
    /* Legacy key positions (COMMAND INFO fields 4-6 and GETKEYS). For
     * commands whose keys follow a count (numkeys), key_step is 1 and
     * key_numkeys_index names the count's position. */
    int first_key;
    int last_key;
    int key_step;
    int key_numkeys_index; /* 0: none */
    /* Keys after a keyword (XREAD ... STREAMS k1 k2 id1 id2): the keyword is
     * searched for from argument key_keyword_start on, and the first half of
     * the arguments after it are the keys. NULL: no such keys. */
    const char *key_keyword;
    int key_keyword_start;
    uint32_t key_flags; /* key_spec_flags of the (single) key spec */
    command_handler handler;
    const struct command *subcommands; /* terminated by a row with name NULL */
    const char *group;                 /* "string", "generic", "connection", "server", ... */
    const char *since;                 /* Redis version that introduced it */
    const char *complexity;
    const char *summary;
    /* COMMAND DOCS "arguments": a compact description, e.g.
     * "key:key value:string [NX|XX] [GET] [EX seconds|PX milliseconds|...]"
     * kept as text for redis-cli hints. */
    const char *arguments;
    command_stats *stats;         /* filled in at start-up */
    const struct command *parent; /* filled in at start-up for subcommands */
} command;

/* Registers every value type's methods with the keyspace. */
void command_register_types(keyspace *ks);
/* Builds the lookup index; call once at start-up. */
void command_table_init(void);
void command_table_release(void);
/* Case-insensitive lookup of a top-level command; NULL if unknown. */
const command *command_lookup(const char *name, size_t len);
/* Lookup of a subcommand of parent (parent->subcommands != NULL). */
const command *command_lookup_sub(const command *parent, const char *name, size_t len);
/* Iteration over top-level commands (index 0..command_count()-1). */
size_t command_count(void);
const command *command_at(size_t index);
/* "client|list" style full name into buf. */
const char *command_full_name(const command *cmd, char *buf, size_t size);
/* Whether the keys' positions depend on the arguments (a count or a
 * keyword): COMMAND INFO's "movablekeys". */
int command_has_movable_keys(const command *cmd);
/* Keys of argv per the table (COMMAND GETKEYS); returns count, fills
 * positions (up to max). -1 if the arguments are malformed for key
 * extraction. */
int command_get_keys(const command *cmd, int argc, const char **argv, const size_t *argv_len,
                     int *positions, int max);

/* Writes the Markdown command reference (docs/commands.md). */
#include <stdio.h>
void command_print_markdown(FILE *out);

/* Names of flags and categories as COMMAND INFO / ACL print them. */
const char *command_flag_name(int bit);
const char *command_category_name(int bit);

#endif
