/* Private to commands/: the shorthands command rows are written with, and
 * the per-family row arrays that command_table.c joins into the one table.
 * A family (hash, list, ...) defines its rows next to its handlers as
 *   const command hash_command_rows[] = { ROW(...), ..., {0} };
 * and is listed once in command_table.c's `families`. */
#ifndef RIVET_COMMANDS_TABLE_H
#define RIVET_COMMANDS_TABLE_H

#include "rivet/command.h"

/* Shorthands keep each row on a line or two. */
#define W        CMD_WRITE
#define R        CMD_READONLY
#define DOOM     CMD_DENYOOM
#define FAST     CMD_FAST
#define ADMIN    CMD_ADMIN
#define NOSCRIPT CMD_NOSCRIPT
#define LOADING  CMD_LOADING
#define STALE    CMD_STALE
#define NOAUTH   CMD_NO_AUTH
#define BUSY     CMD_ALLOW_BUSY
#define SENT     CMD_SENTINEL

#define C_KS     ACL_KEYSPACE
#define C_R      ACL_READ
#define C_W      ACL_WRITE
#define C_STR    ACL_STRING
#define C_FAST   ACL_FAST
#define C_SLOW   ACL_SLOW
#define C_DANGER ACL_DANGEROUS
#define C_CONN   ACL_CONNECTION
#define C_ADMIN  ACL_ADMIN

#define ROW(name_, arity_, flags_, cats_, first_, last_, step_, kflags_, handler_, group_, since_, \
            complexity_, summary_)                                                                 \
    {                                                                                              \
        .name = name_, .arity = arity_, .flags = flags_, .categories = cats_, .first_key = first_, \
        .last_key = last_, .key_step = step_, .key_flags = kflags_, .handler = handler_,           \
        .group = group_, .since = since_, .complexity = complexity_, .summary = summary_           \
    }

/* A row whose keys follow a keyword (see command.key_keyword). */
#define KEYWORD_ROW(keyword_, start_, name_, arity_, flags_, cats_, kflags_, handler_, group_,     \
                    since_, complexity_, summary_)                                                 \
    {                                                                                              \
        .name = name_, .arity = arity_, .flags = flags_, .categories = cats_,                      \
        .key_keyword = keyword_, .key_keyword_start = start_, .key_flags = kflags_,                \
        .handler = handler_, .group = group_, .since = since_, .complexity = complexity_,          \
        .summary = summary_                                                                        \
    }

#define PARENT(name_, arity_, subs_, group_, since_, summary_)                                     \
    {                                                                                              \
        .name = name_, .arity = arity_, .categories = C_SLOW, .subcommands = subs_,                \
        .group = group_, .since = since_, .complexity = "Depends on subcommand.",                  \
        .summary = summary_                                                                        \
    }

#define KEY_READ         (KEY_RO | KEY_ACCESS)
#define KEY_WRITE_UPDATE (KEY_RW | KEY_ACCESS | KEY_UPDATE)
#define KEY_WRITE_INSERT (KEY_RW | KEY_INSERT)
#define KEY_DEL          (KEY_RW | KEY_DELETE)

extern const command string_command_rows[];
extern const command persist_command_rows[];
extern const command hash_command_rows[];
extern const command list_command_rows[];
extern const command set_command_rows[];
extern const command zset_command_rows[];
extern const command pubsub_command_rows[];
extern const command bitmap_command_rows[];
extern const command hll_command_rows[];
extern const command stream_command_rows[];
extern const command script_command_rows[];
extern const command function_command_rows[];
extern const command memory_command_rows[];
extern const command lock_command_rows[];
extern const command idempotency_command_rows[];
extern const command cache_command_rows[];
extern const command ratelimit_command_rows[];
extern const command counter_command_rows[];

/* Each value type's family registers its free/copy methods. */
void hash_register_type(keyspace *ks);
void list_register_type(keyspace *ks);
void set_register_type(keyspace *ks);
void zset_register_type(keyspace *ks);
void stream_register_type(keyspace *ks);
void lock_register_type(keyspace *ks);
void idempotency_register_type(keyspace *ks);
void ratelimit_register_type(keyspace *ks);
void counter_register_type(keyspace *ks);

#endif
