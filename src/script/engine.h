/* engine: what script.c shares with functions.c, private to src/script.
 * Both run Lua the same way (one sandbox recipe, one redis.call, one kill
 * and busy machinery); EVAL scripts and function libraries live in two
 * separate Lua states so SCRIPT FLUSH and FUNCTION FLUSH stay independent. */
#ifndef RIVET_SCRIPT_ENGINE_H
#define RIVET_SCRIPT_ENGINE_H

#include <lua.h>

#include "rivet/script.h"

/* The registry field holding a state's real globals (behind the guard). */
#define ENGINE_REGISTRY_GLOBALS "rivet.globals"

/* Script flags: a function's (register_function flags) or an EVAL
 * script's (its "#!lua flags=..." line), in the order Redis lists them. */
enum script_flag {
    SCRIPT_FLAG_NO_WRITES = 1 << 0,
    SCRIPT_FLAG_ALLOW_OOM = 1 << 1,
    SCRIPT_FLAG_ALLOW_STALE = 1 << 2,
    SCRIPT_FLAG_NO_CLUSTER = 1 << 3,
    SCRIPT_FLAG_ALLOW_CROSS_SLOT = 1 << 4,
};
/* The flag bit for a name; 0 when unknown. */
int engine_flag_from_name(const char *name, size_t len);
/* The name of flag bit number bit; NULL past the last. */
const char *engine_flag_name(int bit);

/* How a run may touch the dataset. */
typedef struct engine_run_mode {
    int read_only;   /* write commands refused (EVAL_RO, no-writes) */
    int allow_oom;   /* deny-oom commands run even over maxmemory */
    int is_function; /* FCALL: errors and BUSY texts name functions */
} engine_run_mode;

/* A fresh sandboxed state: libraries, the redis table, guarded globals. */
lua_State *engine_create_state(void);
/* The script client and friends exist (unit tests start without a server). */
void engine_ensure_started(void);
/* The top-level message handler: turns any error into Redis's reply text. */
int engine_error_handler(lua_State *L);
/* __index of a guarded globals table: reads the table in upvalue 1 and
 * reports a missing name as Redis does. */
int engine_globals_index(lua_State *L);
/* __newindex of every read-only table. */
int engine_readonly_newindex(lua_State *L);
/* rawset refuses tables marked read-only. */
void engine_mark_readonly(lua_State *L, int index);
/* redis.log, also offered to library code while it loads. */
int engine_redis_log(lua_State *L);
/* Pushes {err = text} (text used as given). */
void engine_push_error(lua_State *L, const char *text);

/* Calls the function below nargs arguments on L's stack (with the error
 * handler at `handler` under it) for c, with the count hook that makes a long
 * run interruptible; writes the reply or error to c and pops everything from
 * handler up. name is the SHA-1 or function name errors quote. */
void engine_execute(lua_State *L, client *c, const char *name, int handler, int nargs,
                    const engine_run_mode *mode, script_call_fn call);

#endif
