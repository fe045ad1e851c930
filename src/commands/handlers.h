/* Private to commands/: every handler the table points at, by family. A
 * handler reads c->argv, touches the keyspace through keyspace.h, and writes
 * exactly one reply (or one error) through reply.h. */
#ifndef RIVET_COMMANDS_HANDLERS_H
#define RIVET_COMMANDS_HANDLERS_H

#include "rivet/client.h"

/* strings: src/commands/string.c */
void command_get(client *c);
void command_set(client *c);
void command_setnx(client *c);
void command_setex(client *c);
void command_psetex(client *c);
void command_getex(client *c);
void command_getdel(client *c);
void command_getset(client *c);
void command_mget(client *c);
void command_mset(client *c);
void command_msetnx(client *c);
void command_append(client *c);
void command_strlen(client *c);
void command_getrange(client *c);
void command_setrange(client *c);
void command_incr(client *c);
void command_decr(client *c);
void command_incrby(client *c);
void command_decrby(client *c);
void command_incrbyfloat(client *c);
void command_lcs(client *c);
void command_digest(client *c);
void command_delex(client *c);
void command_delifeq(client *c);
void command_msetex(client *c);

/* keys: src/commands/keys.c */
void command_del(client *c);
void command_unlink(client *c);
void command_exists(client *c);
void command_type(client *c);
void command_rename(client *c);
void command_renamenx(client *c);
void command_copy(client *c);
void command_move(client *c);
void command_touch(client *c);
void command_keys(client *c);
void command_scan(client *c);
void command_randomkey(client *c);
void command_dbsize(client *c);
void command_flushdb(client *c);
void command_flushall(client *c);
void command_swapdb(client *c);
void command_object_encoding(client *c);
void command_object_refcount(client *c);
void command_object_idletime(client *c);
void command_object_freq(client *c);
void command_object_help(client *c);

/* expiry: src/commands/expire.c */
void command_expire(client *c);
void command_pexpire(client *c);
void command_expireat(client *c);
void command_pexpireat(client *c);
void command_ttl(client *c);
void command_pttl(client *c);
void command_expiretime(client *c);
void command_pexpiretime(client *c);
void command_persist(client *c);

/* connection: src/commands/connection.c */
void command_ping(client *c);
void command_echo(client *c);
void command_quit(client *c);
void command_reset(client *c);
void command_select(client *c);
void command_auth(client *c);
void command_hello(client *c);
void command_client_id(client *c);
void command_client_setname(client *c);
void command_client_getname(client *c);
void command_client_list(client *c);
void command_client_info(client *c);
void command_client_kill(client *c);
void command_client_setinfo(client *c);
void command_client_no_evict(client *c);
void command_client_no_touch(client *c);
void command_client_reply(client *c);
void command_client_help(client *c);
void command_client_getredir(client *c);
void command_client_trackinginfo(client *c);
void command_client_caching(client *c);
void command_client_tracking(client *c);
void command_client_unblock(client *c);

/* server: src/commands/server.c */
void command_info(client *c);
void command_time(client *c);
void command_lastsave(client *c);
void command_shutdown(client *c);
void command_wait(client *c);
void command_config_get(client *c);
void command_config_set(client *c);
void command_config_resetstat(client *c);
void command_config_rewrite(client *c);
void command_config_help(client *c);
void command_slowlog_get(client *c);
void command_slowlog_len(client *c);
void command_slowlog_reset(client *c);
void command_slowlog_help(client *c);
void command_debug(client *c);

/* introspection of the table: src/commands/command_info.c */
void command_command(client *c);
void command_command_count(client *c);
void command_command_info(client *c);
void command_command_docs(client *c);
void command_command_list(client *c);
void command_command_getkeys(client *c);
void command_command_help(client *c);

/* transactions: src/commands/transaction.c */
void command_multi(client *c);
void command_exec(client *c);
void command_discard(client *c);
void command_watch(client *c);
void command_unwatch(client *c);

/* Runs a resolved command with its bookkeeping (dispatch.c; EXEC uses it). */
void dispatch_call(client *c, const struct command *cmd);

/* Shared helpers for handlers (src/commands/common.c). */
/* SCAN-family options: [MATCH pattern] [COUNT n] and, for SCAN, [TYPE t].
 * A "*" pattern is dropped (matches everything); type stays NULL if absent
 * (an unknown type name is not an error: nothing matches it). */
typedef struct scan_options {
    int64_t count;
    const char *pattern;
    size_t pattern_len;
    const char *type;
    size_t type_len;
} scan_options;
/* Parses options from argv[first] on; replies with Redis's error and
 * returns 0 if they are malformed. */
int scan_parse_options(client *c, int first, int allow_type, scan_options *options);
/* Reads argv[i] as an int64; on failure replies ERR_NOT_INTEGER, returns 0. */
int argument_int64(client *c, int i, int64_t *out);
/* Like argument_int64 but with a custom error text on failure. */
int argument_int64_or(client *c, int i, int64_t *out, const char *error);
/* Case-insensitive compare of argv[i] with a literal. */
int argument_is(const client *c, int i, const char *literal);
/* Deletes a key the server itself removes to make room (RENAME/COPY's
 * destination, a STORE command's destination when the result is empty):
 * lazily when lazyfree-lazy-server-del is set. Returns whether it existed. */
int delete_replaced_key(database *db, const char *key, size_t len);
/* Replies with a help array: "<NAME> <subcommand> [...]" lines. */
void reply_help(client *c, const char *const *lines);
/* Lookup for reading a key expected to be of `type`: on a type mismatch
 * replies WRONGTYPE and sets *wrong_type. */
kv_entry *lookup_read_typed(client *c, const char *key, size_t len, object_type type,
                            int *wrong_type);

#endif
