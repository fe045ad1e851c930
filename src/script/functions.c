/* Functions (Redis 7): libraries of named Lua functions loaded with
 * FUNCTION LOAD and called with FCALL / FCALL_RO.
 *
 * Libraries live in their own Lua state, apart from EVAL's script cache, so
 * SCRIPT FLUSH and FUNCTION FLUSH each drop only their own. Each library's
 * code runs once, at load, in an environment of its own: while it loads,
 * that environment offers only a reduced `redis` table (register_function,
 * log, the log levels and the version); afterwards the same environment
 * reads through to the full sandbox, so the registered callbacks see
 * `redis.call`, `string`, `cjson` ... but never KEYS or ARGV (they get keys
 * and args as parameters). Writes to the environment fail, as Redis's do.
 *
 * The C side keeps the libraries in a list; FCALL finds a function by a
 * case-insensitive scan (libraries hold a handful of functions each; the Lua
 * call dwarfs the scan). Callbacks are held by Lua registry references. */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "engine.h"
#include "rivet/buffer.h"
#include "rivet/clock.h"
#include "rivet/crc64.h"
#include "rivet/evict.h"
#include "rivet/glob.h"
#include "rivet/lzf.h"
#include "rivet/memory.h"
#include "rivet/server.h"

#define FUNCTION_CHUNK_NAME "@user_function"
#define REGISTRY_LOAD_ENV   "rivet.load_globals" /* what library code sees while it loads */
/* Library code that runs longer than this at load is stopped: it cannot be
 * killed (the loading client is the only one that could ask). */
#define LOAD_TIMEOUT_MS 500

typedef struct function_def {
    char *name;
    char *description; /* NULL when not given */
    int flags;
    int ref; /* the callback, in the registry */
} function_def;

typedef struct library {
    char *name;
    char *code;
    size_t code_len;
    function_def *functions;
    size_t count, cap;
    struct library *next;
} library;

static lua_State *flua;
/* A set of libraries: the live one, or one being restored. */
typedef struct library_set {
    library *head;
    size_t libraries, functions;
} library_set;

static library_set current;

/* The library being loaded: register_function appends to it. */
static library *loading;
static uint64_t load_start_ticks;

/* A NUL-terminated copy of len bytes. */
static char *copy_text(const char *s, size_t len)
{
    char *copy = mem_alloc(len + 1);
    memcpy(copy, s, len);
    copy[len] = '\0';
    return copy;
}

/* ---- names and flags ------------------------------------------------- */

static int valid_name(const char *s, size_t len)
{
    if (len == 0)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_'))
            return 0;
    }
    return 1;
}

#define ERR_BAD_NAME                                                                               \
    "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least " \
    "one character long"

/* ---- libraries ------------------------------------------------------- */

static void library_free(library *lib, int unref)
{
    for (size_t i = 0; i < lib->count; i++) {
        if (unref && flua)
            luaL_unref(flua, LUA_REGISTRYINDEX, lib->functions[i].ref);
        mem_free(lib->functions[i].name);
        mem_free(lib->functions[i].description);
    }
    mem_free(lib->functions);
    mem_free(lib->name);
    mem_free(lib->code);
    mem_free(lib);
}

static library *library_find(const library_set *set, const char *name, size_t len)
{
    for (library *lib = set->head; lib; lib = lib->next)
        if (strlen(lib->name) == len && memcmp(lib->name, name, len) == 0)
            return lib;
    return NULL;
}

/* Function names compare without case, as Redis's function dictionary does. */
static function_def *function_find(const library_set *set, const char *name, size_t len,
                                   library **owner)
{
    for (library *lib = set->head; lib; lib = lib->next)
        for (size_t i = 0; i < lib->count; i++)
            if (strlen(lib->functions[i].name) == len &&
                strncasecmp(lib->functions[i].name, name, len) == 0) {
                if (owner)
                    *owner = lib;
                return &lib->functions[i];
            }
    return NULL;
}

static void library_unlink(library_set *set, library *lib)
{
    for (library **p = &set->head; *p; p = &(*p)->next)
        if (*p == lib) {
            *p = lib->next;
            break;
        }
    set->libraries--;
    set->functions -= lib->count;
}

static void library_link(library_set *set, library *lib)
{
    lib->next = set->head;
    set->head = lib;
    set->libraries++;
    set->functions += lib->count;
}

static void set_clear(library_set *set, int unref)
{
    while (set->head) {
        library *lib = set->head;
        set->head = lib->next;
        library_free(lib, unref);
    }
    set->libraries = set->functions = 0;
}

/* ---- register_function ----------------------------------------------- */

static int register_failed(lua_State *L, const char *text)
{
    engine_push_error(L, text);
    return lua_error(L);
}

/* Reads redis.register_function's named form {function_name=, callback=,
 * flags=, description=} from the table at 1. The values are kept in stack
 * slots 2 (name), 3 (callback) and 4 (description) so converted strings
 * stay alive; the callback is pushed on top at the end. */
static int read_named_arguments(lua_State *L, const char **name, size_t *name_len,
                                const char **description, int *flags)
{
    lua_settop(L, 1);
    lua_pushnil(L);
    lua_pushnil(L);
    lua_pushnil(L);
    lua_pushnil(L);
    while (lua_next(L, 1)) {
        const char *key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
        int slot = 0;
        if (strcmp(key, "function_name") == 0) {
            if (!lua_isstring(L, -1))
                return register_failed(L, "ERR function_name argument given to "
                                          "redis.register_function must be a string");
            slot = 2;
        } else if (strcmp(key, "callback") == 0) {
            if (!lua_isfunction(L, -1))
                return register_failed(L, "ERR callback argument given to "
                                          "redis.register_function must be a function");
            slot = 3;
        } else if (strcmp(key, "description") == 0) {
            if (!lua_isstring(L, -1))
                return register_failed(L, "ERR description argument given to "
                                          "redis.register_function must be a string");
            slot = 4;
        } else if (strcmp(key, "flags") == 0) {
            if (!lua_istable(L, -1))
                return register_failed(L, "ERR flags argument to redis.register_function must "
                                          "be a table representing function flags");
            int table = lua_gettop(L);
            for (int i = 1;; i++) {
                lua_rawgeti(L, table, i);
                if (lua_isnil(L, -1)) {
                    lua_pop(L, 1);
                    break;
                }
                int flag = lua_type(L, -1) == LUA_TSTRING
                               ? engine_flag_from_name(lua_tostring(L, -1), lua_objlen(L, -1))
                               : 0;
                if (flag == 0)
                    return register_failed(L, "ERR unknown flag given");
                *flags |= flag;
                lua_pop(L, 1);
            }
        } else {
            return register_failed(L, "ERR unknown argument given to redis.register_function");
        }
        if (slot) {
            lua_pushvalue(L, -1);
            lua_replace(L, slot);
        }
        lua_pop(L, 1);
    }
    if (lua_isnil(L, 2))
        return register_failed(L, "ERR redis.register_function must get a function name argument");
    if (lua_isnil(L, 3))
        return register_failed(L, "ERR redis.register_function must get a callback argument");
    *name = lua_tolstring(L, 2, name_len);
    if (!lua_isnil(L, 4))
        *description = lua_tostring(L, 4);
    lua_pushvalue(L, 3);
    return 0;
}

static int redis_register_function(lua_State *L)
{
    if (loading == NULL)
        return register_failed(L, "ERR redis.register_function can only be called on FUNCTION "
                                  "LOAD command");
    int argc = lua_gettop(L);
    const char *name = NULL, *description = NULL;
    size_t name_len = 0;
    int flags = 0;
    if (argc == 1) {
        if (!lua_istable(L, 1))
            return register_failed(L, "ERR calling redis.register_function with a single argument "
                                      "is only applicable to Lua table (representing named "
                                      "arguments).");
        read_named_arguments(L, &name, &name_len, &description, &flags);
    } else if (argc == 2) {
        if (!lua_isstring(L, 1))
            return register_failed(
                L, "ERR first argument to redis.register_function must be a string");
        if (!lua_isfunction(L, 2))
            return register_failed(
                L, "ERR second argument to redis.register_function must be a function");
        name = lua_tolstring(L, 1, &name_len);
        lua_pushvalue(L, 2);
    } else {
        return register_failed(L, "ERR wrong number of arguments to redis.register_function");
    }
    if (!valid_name(name, name_len))
        return register_failed(L, ERR_BAD_NAME);
    for (size_t i = 0; i < loading->count; i++)
        if (strcmp(loading->functions[i].name, name) == 0)
            return register_failed(L, "ERR Function already exists in the library");
    if (loading->count == loading->cap) {
        loading->cap = loading->cap ? loading->cap * 2 : 4;
        loading->functions =
            mem_realloc(loading->functions, sizeof(*loading->functions) * loading->cap);
    }
    function_def *f = &loading->functions[loading->count++];
    f->name = mem_strdup(name);
    f->description = description ? mem_strdup(description) : NULL;
    f->flags = flags;
    f->ref = luaL_ref(L, LUA_REGISTRYINDEX); /* pops the callback */
    return 0;
}

/* ---- the functions' Lua state ------------------------------------------ */

/* A library environment's __index: the load-time globals while its code
 * loads, the full sandbox afterwards. */
static int library_env_index(lua_State *L)
{
    lua_pushvalue(L, 2);
    lua_rawget(L, lua_upvalueindex(loading ? 1 : 2));
    if (!lua_isnil(L, -1))
        return 1;
    const char *name = lua_tostring(L, 2);
    return luaL_error(L, "Script attempted to access nonexistent global variable '%s'",
                      name ? name : "?");
}

/* An empty table whose reads go to index (with its upvalues) and whose
 * writes fail; pushed. */
static void push_guard(lua_State *L, lua_CFunction index, int upvalues)
{
    lua_newtable(L); /* the guard, under its upvalues for now */
    lua_insert(L, -upvalues - 1);
    lua_newtable(L); /* its metatable */
    lua_insert(L, -upvalues - 1);
    lua_pushcclosure(L, index, upvalues);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, engine_readonly_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    engine_mark_readonly(L, -1);
}

static void set_number(lua_State *L, const char *name, lua_Number value)
{
    lua_pushnumber(L, value);
    lua_setfield(L, -2, name);
}

/* The globals library code sees while it loads: only a reduced redis. */
static void create_load_globals(lua_State *L)
{
    lua_newtable(L); /* the real reduced redis table */
    lua_pushcfunction(L, redis_register_function);
    lua_setfield(L, -2, "register_function");
    lua_pushcfunction(L, engine_redis_log);
    lua_setfield(L, -2, "log");
    set_number(L, "LOG_DEBUG", LOG_DEBUG);
    set_number(L, "LOG_VERBOSE", LOG_VERBOSE);
    set_number(L, "LOG_NOTICE", LOG_NOTICE);
    set_number(L, "LOG_WARNING", LOG_WARNING);
    lua_getfield(L, LUA_REGISTRYINDEX, ENGINE_REGISTRY_GLOBALS);
    lua_getfield(L, -1, "redis");
    lua_getfield(L, -1, "REDIS_VERSION");
    lua_setfield(L, -4, "REDIS_VERSION");
    lua_getfield(L, -1, "REDIS_VERSION_NUM");
    lua_setfield(L, -4, "REDIS_VERSION_NUM");
    lua_pop(L, 2);
    push_guard(L, engine_globals_index, 1);
    lua_newtable(L); /* the load-time globals */
    lua_insert(L, -2);
    lua_setfield(L, -2, "redis");
    lua_setfield(L, LUA_REGISTRYINDEX, REGISTRY_LOAD_ENV);
}

static void ensure_state(void)
{
    engine_ensure_started();
    if (flua)
        return;
    flua = engine_create_state();
    create_load_globals(flua);
}

/* ---- FUNCTION LOAD ------------------------------------------------------ */

/* The first line, "#!<engine> name=<library>": split on blanks. Returns 0
 * with the engine and name, or -1 with Redis's error text. */
static int parse_shebang(const char *code, size_t len, char **engine, char **name,
                         size_t *body_offset, const char **error, buffer *message)
{
    if (len < 2 || code[0] != '#' || code[1] != '!') {
        *error = "ERR Missing library metadata";
        return -1;
    }
    const char *eol = memchr(code, '\n', len);
    if (eol == NULL) {
        *error = "ERR Invalid library metadata";
        return -1;
    }
    *body_offset = (size_t)(eol - code);
    *engine = NULL;
    *name = NULL;
    const char *p = code;
    int first = 1;
    while (p < eol) {
        while (p < eol && (*p == ' ' || *p == '\t' || *p == '\r'))
            p++;
        if (p == eol)
            break;
        const char *start = p;
        while (p < eol && *p != ' ' && *p != '\t' && *p != '\r')
            p++;
        size_t n = (size_t)(p - start);
        if (first) {
            *engine = copy_text(start + 2, n - 2);
            first = 0;
        } else if (n >= 5 && strncasecmp(start, "name=", 5) == 0) {
            if (*name) {
                *error = "ERR Invalid metadata value, name argument was given multiple times";
                return -1;
            }
            *name = copy_text(start + 5, n - 5);
        } else {
            buffer_appendf(message, "ERR Invalid metadata value given: %.*s", (int)n, start);
            *error = message->data;
            return -1;
        }
    }
    if (*name == NULL) {
        *error = "ERR Library name was not given";
        return -1;
    }
    if (strcasecmp(*engine, "lua") != 0) {
        buffer_appendf(message, "ERR Engine '%s' not found", *engine);
        *error = message->data;
        return -1;
    }
    if (!valid_name(*name, strlen(*name))) {
        *error = ERR_BAD_NAME;
        return -1;
    }
    return 0;
}

static void load_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    if (clock_ticks_to_us(clock_ticks() - load_start_ticks) / 1000 >= LOAD_TIMEOUT_MS) {
        engine_push_error(L, "ERR FUNCTION LOAD timeout");
        lua_error(L);
    }
}

/* Runs the library's code in its own environment; the functions it
 * registers land in lib. Returns 0, or -1 with the error in message. */
static int run_library_code(library *lib, const char *body, size_t len, buffer *message)
{
    lua_State *L = flua;
    if (luaL_loadbuffer(L, body, len, FUNCTION_CHUNK_NAME) != 0) {
        buffer_appendf(message, "ERR Error compiling function: %s", lua_tostring(L, -1));
        lua_pop(L, 1);
        return -1;
    }
    lua_getfield(L, LUA_REGISTRYINDEX, REGISTRY_LOAD_ENV);
    lua_getfield(L, LUA_REGISTRYINDEX, ENGINE_REGISTRY_GLOBALS);
    push_guard(L, library_env_index, 2);
    lua_setfenv(L, -2);
    loading = lib;
    load_start_ticks = clock_ticks();
    lua_sethook(L, load_hook, LUA_MASKCOUNT, 100000);
    int status = lua_pcall(L, 0, 0, 0);
    lua_sethook(L, NULL, 0, 0);
    loading = NULL;
    if (status == 0)
        return 0;
    /* Error tables carry their code; Lua's own errors get ERR. */
    const char *text = NULL;
    if (lua_istable(L, -1)) {
        lua_getfield(L, -1, "err");
        text = lua_tostring(L, -1);
        buffer_appendf(message, "ERR Error registering functions: %s", text ? text : "");
        lua_pop(L, 1);
    } else {
        text = lua_tostring(L, -1);
        buffer_appendf(message, "ERR Error registering functions: ERR %s", text ? text : "");
    }
    lua_pop(L, 1);
    return -1;
}

/* Loads one library into set. Returns it (linked), or NULL with Redis's
 * error text in message. With replace, a library of the same name is
 * swapped out only once the new one has loaded. */
static library *load_library(library_set *set, const char *code, size_t len, int replace,
                             buffer *message)
{
    char *engine = NULL, *name = NULL;
    size_t body = 0;
    const char *error = NULL;
    buffer text;
    buffer_init(&text);
    library *lib = NULL;
    if (parse_shebang(code, len, &engine, &name, &body, &error, &text) != 0)
        goto fail;
    library *old = library_find(set, name, strlen(name));
    if (old && !replace) {
        buffer_clear(&text);
        buffer_appendf(&text, "ERR Library '%s' already exists", name);
        error = text.data;
        goto fail;
    }
    lib = mem_calloc(sizeof(*lib));
    lib->name = name;
    name = NULL;
    /* Compiled from the newline on, so Lua's line numbers count the
     * shebang line, as Redis's do. */
    buffer_clear(&text);
    if (run_library_code(lib, code + body, len - body, &text) != 0) {
        error = text.data;
        goto fail;
    }
    if (lib->count == 0) {
        error = "ERR No functions registered";
        goto fail;
    }
    for (size_t i = 0; i < lib->count; i++) {
        library *owner = NULL;
        const char *fname = lib->functions[i].name;
        if (function_find(set, fname, strlen(fname), &owner) && owner != old) {
            buffer_clear(&text);
            buffer_appendf(&text, "ERR Function %s already exists", fname);
            error = text.data;
            goto fail;
        }
    }
    if (old) {
        library_unlink(set, old);
        library_free(old, 1);
    }
    lib->code = copy_text(code, len);
    lib->code_len = len;
    library_link(set, lib);
    mem_free(engine);
    buffer_release(&text);
    return lib;

fail:
    buffer_append_cstr(message, error);
    if (lib)
        library_free(lib, 1);
    mem_free(engine);
    mem_free(name);
    buffer_release(&text);
    return NULL;
}

int function_load(const char *code, size_t len, int replace, char **result)
{
    ensure_state();
    buffer message;
    buffer_init(&message);
    library *lib = load_library(&current, code, len, replace, &message);
    *result = mem_strdup(lib ? lib->name : message.data);
    buffer_release(&message);
    return lib ? 0 : -1;
}

/* ---- FCALL ------------------------------------------------------------- */

static void push_strings(lua_State *L, client *c, int first, int count)
{
    lua_createtable(L, count, 0);
    for (int i = 0; i < count; i++) {
        lua_pushlstring(L, c->argv[first + i], c->argv_len[first + i]);
        lua_rawseti(L, -2, i + 1);
    }
}

/* Over maxmemory, a function that may write and did not say allow-oom does
 * not start (Redis's rule for scripts with flags). */
static int refused_for_memory(client *c, const function_def *f)
{
    if (f->flags & (SCRIPT_FLAG_ALLOW_OOM | SCRIPT_FLAG_NO_WRITES))
        return 0;
    static const command may_grow = {.name = "fcall", .flags = CMD_DENYOOM | CMD_WRITE};
    return evict_before_command(c, &may_grow) != 0;
}

int function_exists(const char *name, size_t len)
{
    return function_find(&current, name, len, NULL) != NULL;
}

void function_call(client *c, int first_key, int numkeys, int read_only, script_call_fn call)
{
    ensure_state();
    function_def *f = function_find(&current, c->argv[1], c->argv_len[1], NULL);
    if (f == NULL) {
        reply_error(&c->reply, "ERR Function not found");
        return;
    }
    if (read_only && !(f->flags & SCRIPT_FLAG_NO_WRITES)) {
        reply_error(&c->reply, "ERR Can not execute a script with write flag using *_ro command.");
        return;
    }
    if (refused_for_memory(c, f)) {
        reply_error(&c->reply, EVICT_OOM_ERROR);
        return;
    }
    lua_State *L = flua;
    lua_pushcfunction(L, engine_error_handler);
    int handler = lua_gettop(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, f->ref);
    push_strings(L, c, first_key, numkeys);
    push_strings(L, c, first_key + numkeys, c->argc - first_key - numkeys);
    engine_run_mode mode = {.read_only = (f->flags & SCRIPT_FLAG_NO_WRITES) != 0,
                            .allow_oom = (f->flags & SCRIPT_FLAG_ALLOW_OOM) != 0,
                            .is_function = 1};
    engine_execute(L, c, f->name, handler, 2, &mode, call);
}

/* ---- DELETE, FLUSH, LIST, STATS ---------------------------------------- */

int function_delete(const char *name, size_t len)
{
    library *lib = library_find(&current, name, len);
    if (lib == NULL)
        return -1;
    library_unlink(&current, lib);
    library_free(lib, 1);
    return 0;
}

void function_flush(void)
{
    set_clear(&current, 0);
    /* A fresh state drops every callback and whatever libraries kept in
     * upvalues. */
    if (flua) {
        lua_close(flua);
        flua = NULL;
    }
}

void function_list(client *c, const char *pattern, size_t pattern_len, int with_code)
{
    size_t count = 0;
    for (library *lib = current.head; lib; lib = lib->next)
        if (!pattern || glob_match(pattern, pattern_len, lib->name, strlen(lib->name), 1))
            count++;
    reply_array(&c->reply, count);
    for (library *lib = current.head; lib; lib = lib->next) {
        if (pattern && !glob_match(pattern, pattern_len, lib->name, strlen(lib->name), 1))
            continue;
        reply_map(&c->reply, with_code ? 4 : 3);
        reply_bulk_cstr(&c->reply, "library_name");
        reply_bulk_cstr(&c->reply, lib->name);
        reply_bulk_cstr(&c->reply, "engine");
        reply_bulk_cstr(&c->reply, "LUA");
        reply_bulk_cstr(&c->reply, "functions");
        reply_array(&c->reply, lib->count);
        for (size_t i = 0; i < lib->count; i++) {
            const function_def *f = &lib->functions[i];
            reply_map(&c->reply, 3);
            reply_bulk_cstr(&c->reply, "name");
            reply_bulk_cstr(&c->reply, f->name);
            reply_bulk_cstr(&c->reply, "description");
            if (f->description)
                reply_bulk_cstr(&c->reply, f->description);
            else
                reply_null(&c->reply);
            reply_bulk_cstr(&c->reply, "flags");
            size_t flags = 0;
            for (int b = 0; engine_flag_name(b); b++)
                flags += (f->flags >> b) & 1;
            reply_set(&c->reply, flags);
            for (int b = 0; engine_flag_name(b); b++)
                if (f->flags & (1 << b))
                    reply_status(&c->reply, engine_flag_name(b));
        }
        if (with_code) {
            reply_bulk_cstr(&c->reply, "library_code");
            reply_bulk(&c->reply, lib->code, lib->code_len);
        }
    }
}

void function_stats(client *c)
{
    script_running_info running;
    reply_map(&c->reply, 2);
    reply_bulk_cstr(&c->reply, "running_script");
    if (script_running(&running)) {
        reply_map(&c->reply, 3);
        reply_bulk_cstr(&c->reply, "name");
        reply_bulk_cstr(&c->reply, running.name);
        reply_bulk_cstr(&c->reply, "command");
        reply_array(&c->reply, (size_t)running.caller->argc);
        for (int i = 0; i < running.caller->argc; i++)
            reply_bulk(&c->reply, running.caller->argv[i], running.caller->argv_len[i]);
        reply_bulk_cstr(&c->reply, "duration_ms");
        reply_integer(&c->reply, running.duration_ms);
    } else {
        reply_null(&c->reply);
    }
    reply_bulk_cstr(&c->reply, "engines");
    reply_map(&c->reply, 1);
    reply_bulk_cstr(&c->reply, "LUA");
    reply_map(&c->reply, 2);
    reply_bulk_cstr(&c->reply, "libraries_count");
    reply_integer(&c->reply, (int64_t)current.libraries);
    reply_bulk_cstr(&c->reply, "functions_count");
    reply_integer(&c->reply, (int64_t)current.functions);
}

void function_for_each_library(void (*visit)(void *ctx, const char *code, size_t len), void *ctx)
{
    /* The list is newest first: walk it backwards through an array. */
    if (current.libraries == 0)
        return;
    const library **order = mem_alloc(sizeof(*order) * current.libraries);
    size_t n = 0;
    for (const library *lib = current.head; lib && n < current.libraries; lib = lib->next)
        order[n++] = lib;
    while (n > 0) {
        n--;
        visit(ctx, order[n]->code, order[n]->code_len);
    }
    mem_free(order);
}

void function_counts(size_t *libraries, size_t *functions)
{
    *libraries = current.libraries;
    *functions = current.functions;
}

size_t function_memory_used(void)
{
    if (flua == NULL)
        return 0;
    return (size_t)lua_gc(flua, LUA_GCCOUNT, 0) * 1024 + (size_t)lua_gc(flua, LUA_GCCOUNTB, 0);
}

void function_release(void)
{
    function_flush();
}

/* ---- DUMP and RESTORE -------------------------------------------------- */

/* The payload is Redis's: for each library the RDB function opcode and the
 * code as an RDB string (LZF-compressed under rdbcompression, as Redis
 * does), then the RDB version (2 bytes, little endian) and a CRC-64 (Jones
 * polynomial, reflected, little endian) of everything before it. Version
 * 10 is Redis 7.0's, so both 7.0 and 7.2 accept what DUMP writes. */
#define RDB_OPCODE_FUNCTION 245
#define DUMP_RDB_VERSION    10
#define DUMP_TRAILER        10

static void append_rdb_length(buffer *out, uint64_t len)
{
    unsigned char bytes[9];
    size_t n;
    if (len < 64) {
        bytes[0] = (unsigned char)len;
        n = 1;
    } else if (len < 16384) {
        bytes[0] = (unsigned char)(0x40 | (len >> 8));
        bytes[1] = (unsigned char)(len & 0xff);
        n = 2;
    } else if (len <= UINT32_MAX) {
        bytes[0] = 0x80;
        for (int i = 0; i < 4; i++)
            bytes[1 + i] = (unsigned char)(len >> (24 - 8 * i));
        n = 5;
    } else {
        bytes[0] = 0x81;
        for (int i = 0; i < 8; i++)
            bytes[1 + i] = (unsigned char)(len >> (56 - 8 * i));
        n = 9;
    }
    buffer_append(out, (const char *)bytes, n);
}

/* An RDB string as Redis writes one: past 20 bytes, under rdbcompression,
 * LZF-compressed when that saves more than the two extra lengths cost. */
static void append_rdb_string(buffer *out, const char *data, size_t len)
{
    if (server.config.rdb_compression && len > 20) {
        char *packed = mem_alloc(len - 4);
        size_t n = lzf_compress(data, len, packed, len - 4);
        if (n > 0) {
            buffer_append_char(out, (char)(0xC0 | 3)); /* the LZF string encoding */
            append_rdb_length(out, n);
            append_rdb_length(out, len);
            buffer_append(out, packed, n);
            mem_free(packed);
            return;
        }
        mem_free(packed);
    }
    append_rdb_length(out, len);
    buffer_append(out, data, len);
}

void function_dump(buffer *out)
{
    for (library *lib = current.head; lib; lib = lib->next) {
        buffer_append_char(out, (char)RDB_OPCODE_FUNCTION);
        append_rdb_string(out, lib->code, lib->code_len);
    }
    buffer_append_char(out, (char)(DUMP_RDB_VERSION & 0xff));
    buffer_append_char(out, (char)(DUMP_RDB_VERSION >> 8));
    uint64_t crc = crc64_update(0, out->data, out->len);
    for (int i = 0; i < 8; i++)
        buffer_append_char(out, (char)(crc >> (8 * i)));
}

typedef struct payload_reader {
    const unsigned char *p, *end;
} payload_reader;

/* An RDB length; *special is set for the 11xxxxxx encodings (then the
 * length is the encoding number). Returns -1 past the end. */
static int read_rdb_length(payload_reader *r, uint64_t *len, int *special)
{
    *special = 0;
    if (r->p >= r->end)
        return -1;
    unsigned char first = *r->p++;
    switch (first >> 6) {
    case 0:
        *len = first & 0x3f;
        return 0;
    case 1:
        if (r->p >= r->end)
            return -1;
        *len = ((uint64_t)(first & 0x3f) << 8) | *r->p++;
        return 0;
    case 3:
        *special = 1;
        *len = first & 0x3f;
        return 0;
    default:
        break;
    }
    size_t n = first == 0x80 ? 4 : first == 0x81 ? 8 : 0;
    if (n == 0 || (size_t)(r->end - r->p) < n)
        return -1;
    *len = 0;
    for (size_t i = 0; i < n; i++)
        *len = (*len << 8) | *r->p++;
    return 0;
}

/* Reads an RDB string into a fresh allocation. Returns -1 if malformed. */
static int read_rdb_string(payload_reader *r, char **out, size_t *out_len)
{
    uint64_t len;
    int special;
    if (read_rdb_length(r, &len, &special) != 0)
        return -1;
    if (special && len <= 2) { /* integers stored as 1, 2 or 4 bytes */
        size_t n = (size_t)1 << len;
        if ((size_t)(r->end - r->p) < n)
            return -1;
        int64_t value = 0;
        for (size_t i = 0; i < n; i++)
            value |= (int64_t)r->p[i] << (8 * i);
        if (n < 8 && (value >> (8 * n - 1)) & 1) /* sign-extend */
            value -= (int64_t)1 << (8 * n);
        r->p += n;
        char digits[32];
        int written = snprintf(digits, sizeof(digits), "%lld", (long long)value);
        *out = copy_text(digits, (size_t)written);
        *out_len = (size_t)written;
        return 0;
    }
    if (special && len == 3) {
        uint64_t compressed, expanded;
        int ignored;
        if (read_rdb_length(r, &compressed, &ignored) != 0 ||
            read_rdb_length(r, &expanded, &ignored) != 0 ||
            (uint64_t)(r->end - r->p) < compressed || expanded > ((uint64_t)1 << 32))
            return -1;
        char *text = mem_alloc((size_t)expanded + 1);
        if (expanded == 0 ||
            lzf_decompress(r->p, (size_t)compressed, text, (size_t)expanded) != expanded) {
            mem_free(text);
            return -1;
        }
        text[expanded] = '\0';
        r->p += compressed;
        *out = text;
        *out_len = (size_t)expanded;
        return 0;
    }
    if (special || (uint64_t)(r->end - r->p) < len)
        return -1;
    *out = copy_text((const char *)r->p, (size_t)len);
    *out_len = (size_t)len;
    r->p += len;
    return 0;
}

static int payload_valid(const unsigned char *p, size_t len)
{
    if (len < DUMP_TRAILER)
        return 0;
    unsigned version = p[len - 10] | (unsigned)p[len - 9] << 8;
    if (version > DUMP_RDB_VERSION)
        return 0;
    uint64_t stored = 0;
    for (int i = 0; i < 8; i++)
        stored |= (uint64_t)p[len - 8 + i] << (8 * i);
    return crc64_update(0, p, len - 8) == stored;
}

/* Loads every library of the payload into set; -1 with the error text. */
static int restore_into(library_set *set, const unsigned char *p, size_t len, buffer *message)
{
    payload_reader r = {p, p + len - DUMP_TRAILER};
    while (r.p < r.end) {
        if (*r.p++ != RDB_OPCODE_FUNCTION) {
            buffer_append_cstr(message, "ERR given type is not a function");
            return -1;
        }
        char *code;
        size_t code_len;
        if (read_rdb_string(&r, &code, &code_len) != 0) {
            buffer_append_cstr(message, "ERR DUMP payload is malformed");
            return -1;
        }
        library *lib = load_library(set, code, code_len, 0, message);
        mem_free(code);
        if (lib == NULL)
            return -1;
    }
    /* Loading links each library first: turn the list back into payload
     * order, so collisions are reported for the first one, as Redis does. */
    library *reversed = NULL;
    while (set->head) {
        library *lib = set->head;
        set->head = lib->next;
        lib->next = reversed;
        reversed = lib;
    }
    set->head = reversed;
    return 0;
}

/* Moves the restored libraries into the live set under the policy; -1 (and
 * nothing changed) on a name collision. */
static int restore_join(library_set *restored, int policy, buffer *message)
{
    if (policy == FUNCTION_RESTORE_FLUSH) {
        set_clear(&current, 1);
    } else {
        for (library *lib = restored->head; lib; lib = lib->next) {
            if (policy == FUNCTION_RESTORE_APPEND &&
                library_find(&current, lib->name, strlen(lib->name))) {
                buffer_appendf(message, "ERR Library %s already exists", lib->name);
                return -1;
            }
        }
        for (library *lib = restored->head; lib; lib = lib->next)
            for (size_t i = 0; i < lib->count; i++) {
                library *owner = NULL;
                const char *name = lib->functions[i].name;
                if (function_find(&current, name, strlen(name), &owner) &&
                    !library_find(restored, owner->name, strlen(owner->name))) {
                    buffer_appendf(message, "ERR Function %s already exists", name);
                    return -1;
                }
            }
        for (library *lib = restored->head; lib; lib = lib->next) {
            library *old = library_find(&current, lib->name, strlen(lib->name));
            if (old) {
                library_unlink(&current, old);
                library_free(old, 1);
            }
        }
    }
    while (restored->head) {
        library *lib = restored->head;
        library_unlink(restored, lib);
        library_link(&current, lib);
    }
    return 0;
}

int function_restore(const char *payload, size_t len, int policy, char **error)
{
    ensure_state();
    const unsigned char *p = (const unsigned char *)payload;
    if (!payload_valid(p, len)) {
        *error = mem_strdup("ERR DUMP payload version or checksum are wrong");
        return -1;
    }
    library_set restored = {0};
    buffer message;
    buffer_init(&message);
    int rc = restore_into(&restored, p, len, &message);
    if (rc == 0)
        rc = restore_join(&restored, policy, &message);
    set_clear(&restored, 1);
    *error = rc == 0 ? NULL : mem_strdup(message.data);
    buffer_release(&message);
    return rc;
}
