/* script: the Lua 5.1 interpreter behind EVAL, EVALSHA and SCRIPT. One Lua
 * state serves the whole server; scripts are cached under the SHA-1 of their
 * body; redis.call runs commands through the same dispatch path clients use,
 * on a private client, and nothing else runs while a script does. */
#ifndef RIVET_SCRIPT_H
#define RIVET_SCRIPT_H

#include <stddef.h>
#include <stdint.h>

#include "rivet/client.h"
#include "rivet/command.h"

/* Runs one resolved command with its bookkeeping (dispatch_call). */
typedef void (*script_call_fn)(client *c, const command *cmd);

void script_init(void);
void script_release(void);

/* Compiles body and caches it under its SHA-1, written to sha (40 hex digits
 * and a NUL). Returns 0, or -1 with the error reply text (no leading '-') in
 * *error, which the caller frees with mem_free. A cached body is not
 * compiled again. */
int script_load(const char *body, size_t len, char sha[41], char **error);
/* Whether a script with this SHA-1 (either case) is cached. */
int script_exists(const char *sha, size_t len);
/* Drops every cached script and starts a fresh Lua state. */
void script_flush(void);
size_t script_cached_count(void);
/* Bytes the Lua state holds (INFO used_memory_lua). */
size_t script_memory_used(void);

/* Runs the cached script sha for c: KEYS are c->argv[first_key ..
 * first_key + numkeys), ARGV the arguments after them. The script's reply or
 * error goes to c's reply. With read_only set (EVAL_RO), write commands are
 * refused. Returns -1 without replying when sha is not cached. */
int script_run(client *c, const char *sha, size_t sha_len, int first_key, int numkeys,
               int read_only, script_call_fn call);

/* Long-running scripts. A script running past busy-reply-threshold turns
 * busy: every HOOK_INSTRUCTIONS Lua instructions it calls the yield function
 * (net_serve_while_busy), so other clients are answered -BUSY and may stop
 * it with SCRIPT KILL / FUNCTION KILL / SHUTDOWN NOSAVE. */
typedef void (*script_yield_fn)(const client *busy); /* NULL: the script ended */
void script_set_yield(script_yield_fn fn);
/* The -BUSY text (no leading '-') while a script is busy; NULL otherwise. */
const char *script_busy_error(void);
/* SCRIPT KILL (function = 0) or FUNCTION KILL (1): replies OK and stops the
 * busy script at its next hook, or replies NOTBUSY / UNKILLABLE / -BUSY. */
void script_kill(client *c, int function);

/* For INFO stats. */
typedef struct script_busy_stats {
    int busy;              /* a script is past the threshold now */
    uint64_t busy_total;   /* scripts that passed it since start-up */
    uint64_t killed_total; /* scripts ended by a kill or SHUTDOWN */
} script_busy_stats;
void script_get_busy_stats(script_busy_stats *out);

/* The script or function running now, for FUNCTION STATS. */
typedef struct script_running_info {
    const client *caller;
    const char *name; /* SHA-1 or function name */
    int is_function;
    int64_t duration_ms;
} script_running_info;
/* Returns 1 and fills out while a script runs, 0 otherwise. */
int script_running(script_running_info *out);

/* ---- functions (src/script/functions.c) ----
 * Libraries registered by FUNCTION LOAD, in their own Lua state. Error
 * texts are Redis 7's, without the leading '-'. */

/* Loads a library ("#!lua name=<lib>" first line). Returns 0 with the
 * library name in *result, or -1 with the error text in *result; the caller
 * frees *result with mem_free. With replace, a library of the same name is
 * swapped for the new one only if the new one loads. */
int function_load(const char *code, size_t len, int replace, char **result);
int function_exists(const char *name, size_t len);
/* FCALL / FCALL_RO of the function named c->argv[1]: keys are argv[first_key
 * .. +numkeys), args the rest. Replies (errors included) to c. */
void function_call(client *c, int first_key, int numkeys, int read_only, script_call_fn call);
/* Returns -1 when no library has that name (case matters). */
int function_delete(const char *name, size_t len);
void function_flush(void);
/* FUNCTION LIST: pattern (NULL for all) matches library names, any case. */
void function_list(client *c, const char *pattern, size_t pattern_len, int with_code);
/* FUNCTION STATS. */
void function_stats(client *c);
/* FUNCTION DUMP: Redis's payload format (RDB function records, RDB
 * version, CRC-64), appended to out. */
void function_dump(buffer *out);
enum function_restore_policy {
    FUNCTION_RESTORE_APPEND,
    FUNCTION_RESTORE_FLUSH,
    FUNCTION_RESTORE_REPLACE,
};
/* FUNCTION RESTORE: all or nothing. Returns 0, or -1 with the error text in
 * *error (mem_free it). */
int function_restore(const char *payload, size_t len, int policy, char **error);
void function_counts(size_t *libraries, size_t *functions);
/* Each library's code, oldest first (RDB snapshots save them). */
void function_for_each_library(void (*visit)(void *ctx, const char *code, size_t len), void *ctx);
/* Bytes the functions' Lua state holds. */
size_t function_memory_used(void);
void function_release(void);

#endif
