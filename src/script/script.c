/* The Lua side of scripting: one Lua 5.1 state, a sandbox that matches what
 * Redis 7 scripts may see, the script cache, and the two conversions (a
 * command's RESP reply into Lua values, a script's return value into a
 * reply).
 *
 * redis.call does not reach into handlers directly: it builds an argv and
 * runs it on a private client through the caller-supplied dispatch function,
 * then reads the RESP that landed in that client's reply buffer back into Lua.
 * That keeps one code path for commands (stats, error counts, keyspace hooks)
 * whether they come from a socket, EXEC or a script.
 *
 * Lua allocates with the C library through luaL_newstate, as Redis does:
 * used_memory then counts the dataset and clients only, and the interpreter
 * is reported apart as used_memory_lua. */
#include "rivet/script.h"

#include "engine.h"

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rivet/clock.h"
#include "rivet/evict.h"
#include "rivet/memory.h"
#include "rivet/server.h"
#include "rivet/sha1.h"
#include "rivet/snapshot.h"

#ifdef RIVET_HAVE_LUA_CJSON
int luaopen_cjson(lua_State *L);
#endif
#ifdef RIVET_HAVE_LUA_BITOP
int luaopen_bit(lua_State *L);
#endif
/* src/script/cmsgpack.c */
int script_open_cmsgpack(lua_State *L);
/* src/script/struct.c */
int script_open_struct(lua_State *L);

#define SCRIPT_CHUNK_NAME "@user_script"
#define REGISTRY_SCRIPTS  "rivet.scripts" /* sha -> compiled function */
#define REGISTRY_GLOBALS  ENGINE_REGISTRY_GLOBALS
#define REGISTRY_READONLY "rivet.readonly"     /* set of tables rawset may not touch */
#define REGISTRY_FLAGS    "rivet.script_flags" /* sha -> shebang flags (none: legacy) */

static lua_State *lua;
static size_t cached_count;
static client *script_client; /* runs redis.call's commands */

/* The script being run: redis.call needs its caller and mode, the error
 * handler its name. Scripts never nest (EVAL is not callable from a script). */
static struct {
    client *caller;
    const char *name; /* the script's SHA-1 or the function's name (the
                       * caller keeps it alive for the run) */
    int read_only;
    int allow_oom;
    int is_function;
    script_call_fn call;
    uint64_t start_ticks;
    int wrote;  /* a write command ran: SCRIPT KILL would leave half a change */
    int busy;   /* past busy-reply-threshold: other clients get -BUSY */
    int killed; /* SCRIPT KILL / FUNCTION KILL / SHUTDOWN asked it to stop */
} run;

static uint64_t busy_total, killed_total;

/* How a busy script lets other clients in (net_serve_while_busy). */
static script_yield_fn yield_to_clients;

/* The count hook runs every this many Lua instructions: rare enough to cost
 * nothing, frequent enough (well under a millisecond) to answer quickly. */
#define HOOK_INSTRUCTIONS 100000
/* Once busy, the hook runs ten times as often: other clients then wait tens
 * of microseconds for their -BUSY, and the script (already late) pays an
 * epoll_wait(2) per 10,000 instructions, too little to measure. */
#define HOOK_BUSY_INSTRUCTIONS 10000

#define BUSY_EVAL_ERROR                                                                            \
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
#define BUSY_FUNCTION_ERROR                                                                        \
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
#define KILLED_ERROR "ERR Script killed by user with SCRIPT KILL..."

/* redis.call's argv; kept between calls because a Lua error may unwind
 * through the builder at any point, and static arrays cannot leak. */
static const char **call_argv;
static size_t *call_argv_len;
static int call_argv_cap;

/* ---- flags ----------------------------------------------------------- */

static const char *const flag_names[] = {
    "no-writes", "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys", NULL};

int engine_flag_from_name(const char *name, size_t len)
{
    for (int i = 0; flag_names[i]; i++)
        if (strlen(flag_names[i]) == len && memcmp(flag_names[i], name, len) == 0)
            return 1 << i;
    return 0;
}

const char *engine_flag_name(int bit)
{
    return bit >= 0 && bit < (int)(sizeof(flag_names) / sizeof(flag_names[0])) ? flag_names[bit]
                                                                               : NULL;
}

/* ---- errors ---------------------------------------------------------- */

/* Redis's rule for error texts that reach Lua: a leading '-' is dropped,
 * and a text without an error code (no space) is given "ERR". */
static void push_error_text(lua_State *L, const char *text, size_t len)
{
    if (len > 0 && text[0] == '-') {
        text++;
        len--;
    }
    if (memchr(text, ' ', len) == NULL) {
        lua_pushliteral(L, "ERR ");
        lua_pushlstring(L, text, len);
        lua_concat(L, 2);
    } else {
        lua_pushlstring(L, text, len);
    }
}

/* Pushes {err = text}: the shape both redis.pcall and error_reply give. */
static void push_error_table(lua_State *L, const char *text, size_t len)
{
    lua_newtable(L);
    push_error_text(L, text, len);
    lua_setfield(L, -2, "err");
}

/* redis.call raises the error table; redis.pcall returns it. */
static int call_failed(lua_State *L, int raise, const char *text)
{
    push_error_table(L, text, strlen(text));
    if (raise)
        return lua_error(L);
    return 1;
}

/* The message handler of the top-level pcall: it still sees the stack where
 * the error happened, so it can name the script line, and it turns any error
 * value into the reply text Redis 7 gives:
 *   "<error> script: <sha>, on @user_script:<line>." */
int engine_error_handler(lua_State *L)
{
    const char *source = "?";
    int line = 0;
    lua_Debug frame;
    for (int level = 1; lua_getstack(L, level, &frame); level++) {
        lua_getinfo(L, "Sl", &frame);
        if (frame.currentline >= 0) {
            source = frame.source;
            line = frame.currentline;
            break;
        }
    }
    int type = lua_type(L, 1);
    if (type == LUA_TTABLE) {
        lua_getfield(L, 1, "err");
        if (lua_type(L, -1) != LUA_TSTRING) {
            lua_pop(L, 1);
            lua_pushliteral(L, "ERR unknown error");
        }
    } else if (type == LUA_TSTRING || type == LUA_TNUMBER) {
        lua_pushliteral(L, "ERR ");
        lua_pushvalue(L, 1);
        lua_concat(L, 2);
    } else if (type == LUA_TBOOLEAN) {
        lua_pushstring(L, lua_toboolean(L, 1) ? "ERR true" : "ERR false");
    } else {
        lua_pushfstring(L, "ERR %s", lua_typename(L, type));
    }
    lua_pushfstring(L, " script: %s, on %s:%d.", run.name, source, line);
    lua_concat(L, 2);
    return 1;
}

/* ---- RESP reply -> Lua ----------------------------------------------- */

static const char *push_reply(lua_State *L, const char *p, const char *end);

static int64_t parse_integer(const char *p, size_t len)
{
    char digits[32];
    if (len >= sizeof(digits))
        len = sizeof(digits) - 1;
    memcpy(digits, p, len);
    digits[len] = '\0';
    return strtoll(digits, NULL, 10);
}

/* Elements of an aggregate: each pushed and stored by store(). */
static const char *push_elements(lua_State *L, const char *p, const char *end, int64_t count)
{
    for (int64_t i = 0; i < count && p < end; i++) {
        p = push_reply(L, p, end);
        lua_rawseti(L, -2, (int)(i + 1));
    }
    return p;
}

/* Reads one reply at p and pushes it as Redis converts replies for Lua:
 * integer -> number, bulk -> string, status -> {ok=}, error -> {err=},
 * array -> table, nil -> false; RESP3 types (after redis.setresp(3)) map to
 * {map=}, {set=}, {double=}, {big_number=}, booleans and nil. */
static const char *push_reply(lua_State *L, const char *p, const char *end)
{
    if (!lua_checkstack(L, 8))
        luaL_error(L, "reached lua stack limit");
    char type = *p++;
    const char *eol = memchr(p, '\r', (size_t)(end - p));
    if (eol == NULL) {
        lua_pushnil(L);
        return end;
    }
    size_t len = (size_t)(eol - p);
    const char *next = eol + 2;
    int64_t n;
    switch (type) {
    case '+':
        lua_newtable(L);
        lua_pushlstring(L, p, len);
        lua_setfield(L, -2, "ok");
        return next;
    case '-':
        push_error_table(L, p, len);
        return next;
    case ':':
        lua_pushnumber(L, (lua_Number)parse_integer(p, len));
        return next;
    case '$':
    case '=':
        n = parse_integer(p, len);
        if (n < 0) {
            lua_pushboolean(L, 0);
            return next;
        }
        if (type == '=' && n >= 4) { /* verbatim: "txt:" then the text */
            lua_newtable(L);
            lua_newtable(L);
            lua_pushlstring(L, next + 4, (size_t)n - 4);
            lua_setfield(L, -2, "string");
            lua_pushlstring(L, next, 3);
            lua_setfield(L, -2, "format");
            lua_setfield(L, -2, "verbatim_string");
        } else {
            lua_pushlstring(L, next, (size_t)n);
        }
        return next + n + 2;
    case '*':
    case '>':
        n = parse_integer(p, len);
        if (n < 0) {
            lua_pushboolean(L, 0);
            return next;
        }
        lua_createtable(L, n < 1024 ? (int)n : 1024, 0);
        return push_elements(L, next, end, n);
    case '%':
    case '~':
        n = parse_integer(p, len);
        lua_newtable(L);
        lua_newtable(L);
        for (int64_t i = 0; i < n && next < end; i++) {
            next = push_reply(L, next, end);
            if (type == '%')
                next = push_reply(L, next, end);
            else
                lua_pushboolean(L, 1);
            lua_rawset(L, -3);
        }
        lua_setfield(L, -2, type == '%' ? "map" : "set");
        return next;
    case '_':
        lua_pushnil(L);
        return next;
    case '#':
        lua_pushboolean(L, len > 0 && p[0] == 't');
        return next;
    case ',': {
        char digits[64];
        size_t take = len < sizeof(digits) - 1 ? len : sizeof(digits) - 1;
        memcpy(digits, p, take);
        digits[take] = '\0';
        lua_newtable(L);
        lua_pushnumber(L, strtod(digits, NULL));
        lua_setfield(L, -2, "double");
        return next;
    }
    case '(':
        lua_newtable(L);
        lua_pushlstring(L, p, len);
        lua_setfield(L, -2, "big_number");
        return next;
    case '|': /* attributes carry nothing a script sees: skip them */
        n = parse_integer(p, len);
        for (int64_t i = 0; i < n * 2 && next < end; i++) {
            next = push_reply(L, next, end);
            lua_pop(L, 1);
        }
        return next < end ? push_reply(L, next, end) : next;
    default:
        lua_pushnil(L);
        return end;
    }
}

/* ---- Lua -> reply ---------------------------------------------------- */

/* Lua numbers become integers by truncation, as a C cast does; values a
 * cast cannot represent give INT64_MIN (what x86 yields for Redis) without
 * the undefined behaviour of casting them. */
static int64_t number_to_integer(lua_Number n)
{
    if (n != n || n >= 9223372036854775808.0 || n < -9223372036854775808.0)
        return INT64_MIN;
    return (int64_t)n;
}

static void write_value(lua_State *L, int index, reply_writer *w);

/* {big_number='digits'}: a RESP3 big number (a bulk string in RESP2). The
 * text is the script's own, so CR and LF become spaces, as Redis does, to
 * keep them from breaking the reply's framing. Returns 1 when it wrote. */
static int write_big_number(lua_State *L, int index, reply_writer *w)
{
    lua_getfield(L, index, "big_number");
    if (lua_type(L, -1) != LUA_TSTRING) {
        lua_pop(L, 1);
        return 0;
    }
    size_t len;
    const char *text = lua_tolstring(L, -1, &len);
    char *digits = mem_alloc(len + 1);
    for (size_t i = 0; i < len; i++)
        digits[i] = (text[i] == '\r' || text[i] == '\n') ? ' ' : text[i];
    reply_big_number(w, digits, len);
    mem_free(digits);
    lua_pop(L, 1);
    return 1;
}

/* {verbatim_string={format='txt', string='...'}}: a RESP3 verbatim string
 * (a bulk string in RESP2). The format is always three bytes on the wire:
 * a shorter one is padded with spaces, a longer one cut. Returns 1 when it
 * wrote; a table missing either string field is not a verbatim string. */
static int write_verbatim(lua_State *L, int index, reply_writer *w)
{
    lua_getfield(L, index, "verbatim_string");
    if (lua_type(L, -1) != LUA_TTABLE) {
        lua_pop(L, 1);
        return 0;
    }
    lua_getfield(L, -1, "format");
    lua_getfield(L, -2, "string");
    if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING) {
        lua_pop(L, 3);
        return 0;
    }
    size_t format_len, len;
    const char *format = lua_tolstring(L, -2, &format_len);
    const char *text = lua_tolstring(L, -1, &len);
    char ext[3] = {' ', ' ', ' '};
    memcpy(ext, format, format_len < 3 ? format_len : 3);
    reply_verbatim(w, text, len, ext);
    lua_pop(L, 3);
    return 1;
}

/* A table is an error ({err=}), a status ({ok=}), one of the RESP3 shapes,
 * or an array whose elements run from 1 up to the first nil. */
static void write_table(lua_State *L, int index, reply_writer *w)
{
    size_t len;
    lua_getfield(L, index, "err");
    if (lua_type(L, -1) == LUA_TSTRING) {
        const char *text = lua_tolstring(L, -1, &len);
        reply_error_len(w, text, len);
        lua_pop(L, 1);
        return;
    }
    lua_pop(L, 1);
    lua_getfield(L, index, "ok");
    if (lua_type(L, -1) == LUA_TSTRING) {
        const char *text = lua_tolstring(L, -1, &len);
        reply_status_len(w, text, len);
        lua_pop(L, 1);
        return;
    }
    lua_pop(L, 1);
    lua_getfield(L, index, "double");
    if (lua_type(L, -1) == LUA_TNUMBER) {
        reply_double(w, lua_tonumber(L, -1));
        lua_pop(L, 1);
        return;
    }
    lua_pop(L, 1);
    if (write_big_number(L, index, w) || write_verbatim(L, index, w))
        return;
    lua_getfield(L, index, "map");
    if (lua_type(L, -1) == LUA_TTABLE) {
        int map = lua_gettop(L);
        size_t pairs = 0;
        lua_pushnil(L);
        while (lua_next(L, map)) {
            pairs++;
            lua_pop(L, 1);
        }
        reply_map(w, pairs);
        lua_pushnil(L);
        while (lua_next(L, map)) {
            write_value(L, lua_gettop(L) - 1, w);
            write_value(L, lua_gettop(L), w);
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
        return;
    }
    lua_pop(L, 1);
    lua_getfield(L, index, "set");
    if (lua_type(L, -1) == LUA_TTABLE) {
        int set = lua_gettop(L);
        size_t count = 0;
        lua_pushnil(L);
        while (lua_next(L, set)) {
            count++;
            lua_pop(L, 1);
        }
        reply_set(w, count);
        lua_pushnil(L);
        while (lua_next(L, set)) {
            write_value(L, lua_gettop(L) - 1, w);
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
        return;
    }
    lua_pop(L, 1);
    size_t count = 0;
    for (;;) {
        lua_rawgeti(L, index, (int)count + 1);
        int nil = lua_isnil(L, -1);
        lua_pop(L, 1);
        if (nil)
            break;
        count++;
    }
    reply_array(w, count);
    for (size_t i = 1; i <= count; i++) {
        lua_rawgeti(L, index, (int)i);
        write_value(L, lua_gettop(L), w);
        lua_pop(L, 1);
    }
}

static void write_value(lua_State *L, int index, reply_writer *w)
{
    if (!lua_checkstack(L, 8)) {
        reply_error(w, "ERR reached lua stack limit");
        return;
    }
    size_t len;
    switch (lua_type(L, index)) {
    case LUA_TSTRING: {
        const char *s = lua_tolstring(L, index, &len);
        reply_bulk(w, s, len);
        break;
    }
    case LUA_TNUMBER:
        reply_integer(w, number_to_integer(lua_tonumber(L, index)));
        break;
    case LUA_TBOOLEAN:
        /* Booleans follow the script's protocol (redis.setresp), not the
         * caller's: under RESP2 true is 1 and false is nil. */
        if (script_client->reply.protocol == 2) {
            if (lua_toboolean(L, index))
                reply_integer(w, 1);
            else
                reply_null(w);
        } else {
            reply_bool(w, lua_toboolean(L, index));
        }
        break;
    case LUA_TTABLE:
        write_table(L, index, w);
        break;
    default:
        reply_null(w);
        break;
    }
}

/* ---- long-running scripts ------------------------------------------- */

/* Raises the kill error. It is an error table, so error_handler names the
 * script line; sandbox_pcall refuses to catch it, so the script ends. */
static int raise_killed(lua_State *L)
{
    push_error_table(L, KILLED_ERROR, strlen(KILLED_ERROR));
    return lua_error(L);
}

/* Every HOOK_INSTRUCTIONS instructions: past the threshold the script
 * becomes busy and, from then on, each call lets other clients in (they get
 * -BUSY, or may kill the script) before the script goes on. */
static void count_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    if (!run.busy) {
        int64_t elapsed_ms = clock_ticks_to_us(clock_ticks() - run.start_ticks) / 1000;
        if (elapsed_ms < server.config.busy_reply_threshold)
            return;
        run.busy = 1;
        busy_total++;
        lua_sethook(L, count_hook, LUA_MASKCOUNT, HOOK_BUSY_INSTRUCTIONS);
        server_log(LOG_WARNING,
                   "Script %s still running after %lld ms (busy-reply-threshold): other "
                   "clients get -BUSY until it ends or %s stops it.",
                   run.name, (long long)elapsed_ms,
                   run.is_function ? "FUNCTION KILL" : "SCRIPT KILL");
    }
    if (yield_to_clients && !run.killed)
        yield_to_clients(run.caller);
    if (server.shutdown_requested && !run.killed) {
        /* SHUTDOWN NOSAVE from another client: stop here; the caller's
         * connection goes with the server, as in Redis. */
        run.killed = 1;
        run.caller->flags |= CLIENT_CLOSE_ASAP;
    }
    if (run.killed)
        raise_killed(L);
}

void script_set_yield(script_yield_fn fn)
{
    yield_to_clients = fn;
}

const char *script_busy_error(void)
{
    if (run.caller == NULL || !run.busy)
        return NULL;
    return run.is_function ? BUSY_FUNCTION_ERROR : BUSY_EVAL_ERROR;
}

int script_running(script_running_info *out)
{
    if (run.caller == NULL)
        return 0;
    out->caller = run.caller;
    out->name = run.name;
    out->is_function = run.is_function;
    out->duration_ms = clock_ticks_to_us(clock_ticks() - run.start_ticks) / 1000;
    return 1;
}

void script_get_busy_stats(script_busy_stats *out)
{
    out->busy = script_busy_error() != NULL;
    out->busy_total = busy_total;
    out->killed_total = killed_total;
}

void script_kill(client *c, int function)
{
    if (run.caller == NULL || !run.busy) {
        reply_error(&c->reply, "NOTBUSY No scripts in execution right now.");
    } else if (run.wrote) {
        reply_error(&c->reply,
                    "UNKILLABLE Sorry the script already executed write commands against the "
                    "dataset. You can either wait the script termination or kill the server in a "
                    "hard way using the SHUTDOWN NOSAVE command.");
    } else if (function != run.is_function) {
        /* SCRIPT KILL stops only EVAL scripts, FUNCTION KILL only
         * functions: the reply names the right one. */
        reply_error(&c->reply, script_busy_error());
    } else {
        run.killed = 1;
        reply_ok(&c->reply);
    }
}

/* ---- the redis library ----------------------------------------------- */

static int arity_ok(const command *cmd, int argc)
{
    return cmd->arity > 0 ? argc == cmd->arity : argc >= -cmd->arity;
}

static void grow_call_argv(int argc)
{
    if (argc <= call_argv_cap)
        return;
    call_argv_cap = argc < 16 ? 16 : argc * 2;
    call_argv = mem_realloc(call_argv, sizeof(*call_argv) * (size_t)call_argv_cap);
    call_argv_len = mem_realloc(call_argv_len, sizeof(*call_argv_len) * (size_t)call_argv_cap);
}

/* Finds the command as dispatch would, with the errors scripts get. */
static const command *resolve_call(int argc)
{
    const command *cmd = command_lookup(call_argv[0], call_argv_len[0]);
    if (cmd && cmd->subcommands && argc >= 2)
        cmd = command_lookup_sub(cmd, call_argv[1], call_argv_len[1]);
    return cmd;
}

static int argument_equals(int i, const char *literal)
{
    size_t n = strlen(literal);
    return call_argv_len[i] == n && strncasecmp(call_argv[i], literal, n) == 0;
}

/* XREAD and XREADGROUP may not wait inside a script, and Redis refuses them
 * with BLOCK rather than returning at once: look for the option before
 * STREAMS. */
static int stream_read_blocks(const command *cmd, int argc)
{
    if (cmd->parent || (strcmp(cmd->name, "xread") != 0 && strcmp(cmd->name, "xreadgroup") != 0))
        return 0;
    int i = 1;
    if (argc > 3 && argument_equals(1, "group"))
        i = 4; /* GROUP name consumer: the names may be any word */
    for (; i < argc; i++) {
        if (argument_equals(i, "streams"))
            return 0;
        if (argument_equals(i, "block"))
            return 1;
        if (argument_equals(i, "count"))
            i++;
    }
    return 0;
}

static int call_common(lua_State *L, int raise)
{
    int argc = lua_gettop(L);
    if (argc == 0)
        return call_failed(L, raise,
                           "ERR Please specify at least one argument for this redis lib call");
    grow_call_argv(argc);
    for (int i = 1; i <= argc; i++) {
        int type = lua_type(L, i);
        if (type == LUA_TNUMBER) {
            /* Numbers are sent as "%.17g" renders them: 1.5 is "1.5", 0.1
             * keeps all its digits, integers stay integers. */
            char digits[64];
            snprintf(digits, sizeof(digits), "%.17g", lua_tonumber(L, i));
            lua_pushstring(L, digits);
            lua_replace(L, i);
        } else if (type != LUA_TSTRING) {
            return call_failed(L, raise,
                               "ERR Lua redis lib command arguments must be strings or integers");
        }
        /* The strings stay on the Lua stack for the whole call, so the
         * pointers remain valid. */
        call_argv[i - 1] = lua_tolstring(L, i, &call_argv_len[i - 1]);
    }
    const command *cmd = resolve_call(argc);
    if (cmd == NULL)
        return call_failed(L, raise, "ERR Unknown Redis command called from script");
    if (!arity_ok(cmd, argc))
        return call_failed(L, raise, "ERR Wrong number of args calling Redis command from script");
    if (cmd->flags & CMD_NOSCRIPT)
        return call_failed(L, raise, "ERR This Redis command is not allowed from script");
    if (run.read_only && (cmd->flags & CMD_WRITE))
        return call_failed(L, raise, "ERR Write commands are not allowed from read-only scripts.");
    if (stream_read_blocks(cmd, argc)) {
        lua_pushfstring(L, "ERR %s command is not allowed with BLOCK option from scripts",
                        call_argv[0]);
        size_t len;
        const char *text = lua_tolstring(L, -1, &len);
        push_error_table(L, text, len);
        if (raise)
            return lua_error(L);
        return 1;
    }
    /* A failed BGSAVE refuses writes from scripts too (Redis does). */
    if ((cmd->flags & CMD_WRITE) && snapshot_writes_refused())
        return call_failed(L, raise, SNAPSHOT_MISCONF_ERROR);
    client *sc = script_client;
    if ((cmd->flags & CMD_DENYOOM) && !run.allow_oom && evict_before_command(sc, cmd) != 0)
        return call_failed(L, raise, EVICT_OOM_ERROR);
    if (cmd->flags & CMD_WRITE)
        run.wrote = 1;

    buffer_clear(&sc->reply.out);
    sc->argc = argc;
    sc->argv = call_argv;
    sc->argv_len = call_argv_len;
    run.call(sc, cmd);
    /* client_destroy frees argv: the script client must not keep ours. */
    sc->argc = 0;
    sc->argv = NULL;
    sc->argv_len = NULL;

    const char *reply = sc->reply.out.data;
    size_t reply_len = sc->reply.out.len;
    if (reply_len == 0) { /* a handler that wrote nothing (cannot block here) */
        lua_pushboolean(L, 0);
        return 1;
    }
    int is_error = reply[0] == '-';
    push_reply(L, reply, reply + reply_len);
    buffer_clear(&sc->reply.out);
    if (raise && is_error)
        return lua_error(L);
    return 1;
}

static int redis_call(lua_State *L)
{
    return call_common(L, 1);
}

static int redis_pcall(lua_State *L)
{
    return call_common(L, 0);
}

static int redis_sha1hex(lua_State *L)
{
    if (lua_gettop(L) != 1)
        return luaL_error(L, "wrong number of arguments");
    size_t len;
    const char *s = lua_tolstring(L, 1, &len);
    char hex[41];
    sha1_hex(s ? s : "", s ? len : 0, hex);
    lua_pushstring(L, hex);
    return 1;
}

static int redis_error_reply(lua_State *L)
{
    if (lua_gettop(L) != 1 || lua_type(L, 1) != LUA_TSTRING)
        return luaL_error(L, "wrong number or type of arguments");
    size_t len;
    const char *text = lua_tolstring(L, 1, &len);
    push_error_table(L, text, len);
    return 1;
}

static int redis_status_reply(lua_State *L)
{
    if (lua_gettop(L) != 1 || lua_type(L, 1) != LUA_TSTRING)
        return luaL_error(L, "wrong number or type of arguments");
    lua_newtable(L);
    lua_pushvalue(L, 1);
    lua_setfield(L, -2, "ok");
    return 1;
}

int engine_redis_log(lua_State *L)
{
    int argc = lua_gettop(L);
    if (argc < 2)
        return call_failed(L, 1, "ERR redis.log() requires two arguments or more.");
    if (!lua_isnumber(L, 1))
        return call_failed(L, 1, "ERR First argument must be a number (log level).");
    int level = (int)lua_tonumber(L, 1);
    if (level < LOG_DEBUG || level > LOG_WARNING)
        return call_failed(L, 1, "ERR Invalid debug level.");
    /* The message is the remaining arguments joined by spaces. */
    luaL_Buffer message;
    luaL_buffinit(L, &message);
    for (int i = 2; i <= argc; i++) {
        size_t len;
        const char *s = lua_tolstring(L, i, &len);
        if (s) {
            if (i > 2)
                luaL_addchar(&message, ' ');
            luaL_addlstring(&message, s, len);
        }
    }
    luaL_pushresult(&message);
    server_log(level, "%s", lua_tostring(L, -1));
    return 0;
}

static int redis_setresp(lua_State *L)
{
    if (lua_gettop(L) != 1)
        return call_failed(L, 1, "ERR redis.setresp() requires one argument.");
    int protocol = (int)lua_tonumber(L, 1);
    if (protocol != 2 && protocol != 3)
        return call_failed(L, 1, "ERR RESP version must be 2 or 3.");
    script_client->reply.protocol = protocol;
    return 0;
}

/* Replication is always by effects here, as in Redis 7: these are kept so
 * older scripts run unchanged. */
static int redis_set_repl(lua_State *L)
{
    return 0;
}

static int redis_replicate_commands(lua_State *L)
{
    lua_pushboolean(L, 1);
    return 1;
}

static int redis_breakpoint(lua_State *L)
{
    lua_pushboolean(L, 0);
    return 1;
}

static void set_integer_field(lua_State *L, const char *name, int value)
{
    lua_pushinteger(L, value);
    lua_setfield(L, -2, name);
}

static void open_redis_library(lua_State *L)
{
    static const luaL_Reg functions[] = {
        {"call", redis_call},
        {"pcall", redis_pcall},
        {"sha1hex", redis_sha1hex},
        {"error_reply", redis_error_reply},
        {"status_reply", redis_status_reply},
        {"log", engine_redis_log},
        {"setresp", redis_setresp},
        {"set_repl", redis_set_repl},
        {"replicate_commands", redis_replicate_commands},
        {"breakpoint", redis_breakpoint},
        {"debug", redis_set_repl},
        {NULL, NULL},
    };
    lua_newtable(L);
    for (const luaL_Reg *f = functions; f->name; f++) {
        lua_pushcfunction(L, f->func);
        lua_setfield(L, -2, f->name);
    }
    set_integer_field(L, "LOG_DEBUG", LOG_DEBUG);
    set_integer_field(L, "LOG_VERBOSE", LOG_VERBOSE);
    set_integer_field(L, "LOG_NOTICE", LOG_NOTICE);
    set_integer_field(L, "LOG_WARNING", LOG_WARNING);
    set_integer_field(L, "REPL_NONE", 0);
    set_integer_field(L, "REPL_AOF", 1);
    set_integer_field(L, "REPL_SLAVE", 2);
    set_integer_field(L, "REPL_REPLICA", 2);
    set_integer_field(L, "REPL_ALL", 3);
    lua_pushstring(L, RIVET_REDIS_COMPAT_VERSION);
    lua_setfield(L, -2, "REDIS_VERSION");
    /* 7.2.4 is 0x070204: one byte per part, as Redis encodes it. */
    int major = 0, minor = 0, patch = 0;
    sscanf(RIVET_REDIS_COMPAT_VERSION, "%d.%d.%d", &major, &minor, &patch);
    lua_pushinteger(L, (major << 16) | (minor << 8) | patch);
    lua_setfield(L, -2, "REDIS_VERSION_NUM");
    lua_setglobal(L, "redis");
}

/* ---- sandbox --------------------------------------------------------- */

/* Precompiled chunks can break the interpreter's safety checks, so only
 * source text may be loaded from a script. */
static int is_binary_chunk(const char *s, size_t len)
{
    return len > 0 && s[0] == LUA_SIGNATURE[0];
}

static int sandbox_loadstring(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    const char *name = luaL_optstring(L, 2, s);
    if (is_binary_chunk(s, len)) {
        lua_pushnil(L);
        lua_pushliteral(L, "loading binary chunks is not allowed");
        return 2;
    }
    if (luaL_loadbuffer(L, s, len, name) != 0) {
        lua_pushnil(L);
        lua_insert(L, -2);
        return 2;
    }
    return 1;
}

/* load(reader [, name]): the pieces are gathered first so the binary check
 * sees the whole chunk. */
static int sandbox_load(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    const char *name = luaL_optstring(L, 2, "=(load)");
    luaL_Buffer chunk;
    lua_settop(L, 2);
    luaL_buffinit(L, &chunk);
    for (;;) {
        lua_pushvalue(L, 1);
        lua_call(L, 0, 1);
        if (lua_isnil(L, -1) || (lua_isstring(L, -1) && lua_objlen(L, -1) == 0)) {
            lua_pop(L, 1);
            break;
        }
        if (!lua_isstring(L, -1))
            return luaL_error(L, "reader function must return a string");
        luaL_addvalue(&chunk);
    }
    luaL_pushresult(&chunk);
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    if (is_binary_chunk(s, len)) {
        lua_pushnil(L);
        lua_pushliteral(L, "loading binary chunks is not allowed");
        return 2;
    }
    if (luaL_loadbuffer(L, s, len, name) != 0) {
        lua_pushnil(L);
        lua_insert(L, -2);
        return 2;
    }
    return 1;
}

/* Lua's pcall, except that an error table raised by redis.call reaches the
 * script as its text, as it does in Redis 7. */
static int sandbox_pcall(lua_State *L)
{
    luaL_checkany(L, 1);
    int status = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
    if (status == 0) {
        lua_pushboolean(L, 1);
        lua_insert(L, 1);
        return lua_gettop(L);
    }
    if (run.killed)
        return lua_error(L); /* a killed script may not catch its end */
    if (lua_istable(L, -1)) {
        lua_getfield(L, -1, "err");
        if (lua_type(L, -1) == LUA_TSTRING)
            lua_remove(L, -2);
        else
            lua_pop(L, 1);
    }
    lua_pushboolean(L, 0);
    lua_insert(L, -2);
    return 2;
}

int engine_readonly_newindex(lua_State *L)
{
    return luaL_error(L, "Attempt to modify a readonly table");
}

static int sandbox_rawset(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checkany(L, 2);
    luaL_checkany(L, 3);
    lua_getfield(L, LUA_REGISTRYINDEX, REGISTRY_READONLY);
    lua_pushvalue(L, 1);
    lua_rawget(L, -2);
    int protected = lua_toboolean(L, -1);
    lua_pop(L, 2);
    if (protected) {
        lua_pushliteral(L, "Attempt to modify a readonly table");
        return lua_error(L);
    }
    lua_settop(L, 3);
    lua_rawset(L, 1);
    return 1;
}

/* rawget(_G, name) reads the hidden globals, as it reads _G in Redis. */
static int sandbox_rawget(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checkany(L, 2);
    lua_settop(L, 2);
    if (lua_rawequal(L, 1, LUA_GLOBALSINDEX)) {
        lua_getfield(L, LUA_REGISTRYINDEX, REGISTRY_GLOBALS);
        lua_replace(L, 1);
    }
    lua_rawget(L, 1);
    return 1;
}

void engine_mark_readonly(lua_State *L, int index)
{
    index = index < 0 ? lua_gettop(L) + index + 1 : index;
    lua_getfield(L, LUA_REGISTRYINDEX, REGISTRY_READONLY);
    lua_pushvalue(L, index);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

/* Replaces the library table in global `name` by an empty proxy that reads
 * through to it and refuses writes. */
static void protect_library(lua_State *L, const char *name)
{
    lua_getglobal(L, name);
    if (!lua_istable(L, -1)) {
        lua_pop(L, 1);
        return;
    }
    lua_newtable(L); /* the proxy */
    lua_newtable(L); /* its metatable */
    lua_pushvalue(L, -3);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, engine_readonly_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    engine_mark_readonly(L, -1);
    lua_setglobal(L, name);
    lua_pop(L, 1);
}

/* Reading a global that does not exist is a mistake worth reporting. */
int engine_globals_index(lua_State *L)
{
    lua_pushvalue(L, 2);
    lua_rawget(L, lua_upvalueindex(1));
    if (!lua_isnil(L, -1))
        return 1;
    const char *name = lua_tostring(L, 2);
    return luaL_error(L, "Script attempted to access nonexistent global variable '%s'",
                      name ? name : "?");
}

/* Moves every global into a hidden table and leaves the real globals table
 * empty behind a guard: reads go through to the hidden table, writes fail.
 * Redis 7 makes globals read-only so one script cannot leave state behind
 * for the next; guarding the table itself (not just a script environment)
 * also covers chunks made with loadstring. */
static void protect_globals(lua_State *L)
{
    lua_newtable(L); /* the hidden globals */
    int hidden = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, LUA_GLOBALSINDEX)) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, hidden); /* hidden[k] = v, k stays for lua_next */
        lua_pushvalue(L, -1);
        lua_pushnil(L);
        lua_rawset(L, LUA_GLOBALSINDEX); /* clearing a visited field is allowed */
    }
    lua_pushvalue(L, LUA_GLOBALSINDEX);
    lua_setfield(L, hidden, "_G");
    lua_newtable(L); /* the guard */
    lua_pushvalue(L, hidden);
    lua_pushcclosure(L, engine_globals_index, 1);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, engine_readonly_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, LUA_GLOBALSINDEX);
    lua_pushvalue(L, LUA_GLOBALSINDEX);
    engine_mark_readonly(L, -1);
    lua_pop(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, REGISTRY_GLOBALS);
}

static void open_library(lua_State *L, const char *name, lua_CFunction open)
{
    lua_pushcfunction(L, open);
    lua_pushstring(L, name);
    lua_call(L, 1, 0);
}

lua_State *engine_create_state(void)
{
    lua_State *L = luaL_newstate();
    if (L == NULL) {
        server_log(LOG_WARNING, "Cannot create the Lua state: out of memory");
        abort();
    }
    open_library(L, "", luaopen_base);
    open_library(L, LUA_TABLIBNAME, luaopen_table);
    open_library(L, LUA_STRLIBNAME, luaopen_string);
    open_library(L, LUA_MATHLIBNAME, luaopen_math);
#ifdef RIVET_HAVE_LUA_CJSON
    lua_pushcfunction(L, luaopen_cjson);
    lua_call(L, 0, 1);
    lua_setglobal(L, "cjson");
#endif
#ifdef RIVET_HAVE_LUA_BITOP
    lua_pushcfunction(L, luaopen_bit);
    lua_call(L, 0, 1);
    lua_setglobal(L, "bit");
#endif
    lua_pushcfunction(L, script_open_cmsgpack);
    lua_call(L, 0, 1);
    lua_setglobal(L, "cmsgpack");
    lua_pushcfunction(L, script_open_struct);
    lua_call(L, 0, 1);
    lua_setglobal(L, "struct");
    /* What Redis scripts do not get: files, the environment, module
     * loading, and environment switching that would escape the guard. */
    static const char *const removed[] = {"dofile",   "loadfile", "print",  "getfenv", "setfenv",
                                          "newproxy", "require",  "module", NULL};
    for (int i = 0; removed[i]; i++) {
        lua_pushnil(L);
        lua_setglobal(L, removed[i]);
    }
    lua_pushcfunction(L, sandbox_loadstring);
    lua_setglobal(L, "loadstring");
    lua_pushcfunction(L, sandbox_load);
    lua_setglobal(L, "load");
    lua_pushcfunction(L, sandbox_rawset);
    lua_setglobal(L, "rawset");
    lua_pushcfunction(L, sandbox_rawget);
    lua_setglobal(L, "rawget");
    lua_pushcfunction(L, sandbox_pcall);
    lua_setglobal(L, "pcall");
    open_redis_library(L);

    lua_newtable(L);
    lua_newtable(L); /* weak keys: the set never keeps a table alive */
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_setfield(L, LUA_REGISTRYINDEX, REGISTRY_READONLY);
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, REGISTRY_SCRIPTS);
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, REGISTRY_FLAGS);

    static const char *const libraries[] = {"redis",     "string", "math",     "table",  "cjson",
                                            "coroutine", "bit",    "cmsgpack", "struct", NULL};
    for (int i = 0; libraries[i]; i++)
        protect_library(L, libraries[i]);
    protect_globals(L);
    return L;
}

/* ---- public ---------------------------------------------------------- */

void script_init(void)
{
    if (lua != NULL)
        return;
    lua = engine_create_state();
    cached_count = 0;
    script_client = client_create();
    /* The script client must never block (inside a script there is no
     * later) and is always authenticated: the caller already was. */
    script_client->flags |= CLIENT_AUTHENTICATED | CLIENT_IN_EXEC;
}

void script_release(void)
{
    function_release();
    if (lua) {
        lua_close(lua);
        lua = NULL;
    }
    client_destroy(script_client);
    script_client = NULL;
    mem_free(call_argv);
    mem_free(call_argv_len);
    call_argv = NULL;
    call_argv_len = NULL;
    call_argv_cap = 0;
    cached_count = 0;
}

/* Programs that run commands without the server's start-up (the fuzzer,
 * unit tests) get the interpreter on first use. */
void engine_ensure_started(void)
{
    if (lua == NULL)
        script_init();
}

void engine_push_error(lua_State *L, const char *text)
{
    lua_newtable(L);
    lua_pushstring(L, text);
    lua_setfield(L, -2, "err");
}

/* Lowercase copy of a 40-digit name; 0 if it cannot be one. */
static int normalize_sha(const char *sha, size_t len, char out[41])
{
    if (len != 40)
        return 0;
    for (size_t i = 0; i < 40; i++)
        out[i] = (char)(sha[i] >= 'A' && sha[i] <= 'Z' ? sha[i] - 'A' + 'a' : sha[i]);
    out[40] = '\0';
    return 1;
}

/* Pushes the cached function named sha, or nil. */
static void push_cached(const char *sha)
{
    lua_getfield(lua, LUA_REGISTRYINDEX, REGISTRY_SCRIPTS);
    lua_getfield(lua, -1, sha);
    lua_remove(lua, -2);
}

/* A body starting "#!lua [flags=a,b]\n" declares its flags, as functions
 * do; *flags stays -1 for a script without that line (Redis's legacy mode,
 * where only the commands it runs are checked). The code compiles from the
 * newline on (*offset), so line numbers still count the first line. */
static int parse_script_shebang(const char *body, size_t len, int *flags, size_t *offset,
                                buffer *error)
{
    *flags = -1;
    *offset = 0;
    if (len < 2 || body[0] != '#' || body[1] != '!')
        return 0;
    const char *eol = memchr(body, '\n', len);
    if (eol == NULL) {
        buffer_append_cstr(error, "ERR Invalid script shebang");
        return -1;
    }
    int collected = 0, first = 1;
    const char *p = body;
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
            first = 0;
            if (n != 5 || memcmp(start, "#!lua", 5) != 0) {
                buffer_appendf(error, "ERR Unexpected engine in script shebang: %.*s", (int)n,
                               start);
                return -1;
            }
        } else if (n >= 6 && memcmp(start, "flags=", 6) == 0) {
            const char *list = start + 6, *end = start + n;
            while (list < end) {
                const char *comma = memchr(list, ',', (size_t)(end - list));
                const char *stop = comma ? comma : end;
                int flag = engine_flag_from_name(list, (size_t)(stop - list));
                if (flag == 0) {
                    buffer_appendf(error, "ERR Unexpected flag in script shebang: %.*s",
                                   (int)(stop - list), list);
                    return -1;
                }
                collected |= flag;
                list = comma ? comma + 1 : end;
            }
        } else {
            buffer_appendf(error, "ERR Unknown lua shebang option: %.*s", (int)n, start);
            return -1;
        }
    }
    *flags = collected;
    *offset = (size_t)(eol - body);
    return 0;
}

int script_load(const char *body, size_t len, char sha[41], char **error)
{
    engine_ensure_started();
    sha1_hex(body, len, sha);
    push_cached(sha);
    int cached = !lua_isnil(lua, -1);
    lua_pop(lua, 1);
    if (cached)
        return 0;
    int flags;
    size_t offset;
    buffer shebang_error;
    buffer_init(&shebang_error);
    if (parse_script_shebang(body, len, &flags, &offset, &shebang_error) != 0) {
        *error = mem_strdup(shebang_error.data);
        buffer_release(&shebang_error);
        return -1;
    }
    buffer_release(&shebang_error);
    /* Scripts compile as a chunk named "@user_script", so Lua's own
     * messages read "user_script:<line>: ..." as they do in Redis. */
    if (luaL_loadbuffer(lua, body + offset, len - offset, SCRIPT_CHUNK_NAME) != 0) {
        size_t message_len;
        const char *message = lua_tolstring(lua, -1, &message_len);
        buffer text;
        buffer_init(&text);
        buffer_appendf(&text, "ERR Error compiling script (new function): %.*s", (int)message_len,
                       message ? message : "");
        *error = mem_strdup(text.data);
        buffer_release(&text);
        lua_pop(lua, 1);
        return -1;
    }
    lua_getfield(lua, LUA_REGISTRYINDEX, REGISTRY_SCRIPTS);
    lua_insert(lua, -2);
    lua_setfield(lua, -2, sha);
    lua_pop(lua, 1);
    if (flags >= 0) {
        lua_getfield(lua, LUA_REGISTRYINDEX, REGISTRY_FLAGS);
        lua_pushinteger(lua, flags);
        lua_setfield(lua, -2, sha);
        lua_pop(lua, 1);
    }
    cached_count++;
    return 0;
}

int script_exists(const char *sha, size_t len)
{
    engine_ensure_started();
    char name[41];
    if (!normalize_sha(sha, len, name))
        return 0;
    push_cached(name);
    int found = !lua_isnil(lua, -1);
    lua_pop(lua, 1);
    return found;
}

void script_flush(void)
{
    engine_ensure_started();
    /* A fresh state also drops whatever the old scripts left in the Lua
     * heap. */
    lua_close(lua);
    lua = engine_create_state();
    cached_count = 0;
}

size_t script_cached_count(void)
{
    return cached_count;
}

size_t script_memory_used(void)
{
    if (lua == NULL)
        return 0;
    return (size_t)lua_gc(lua, LUA_GCCOUNT, 0) * 1024 + (size_t)lua_gc(lua, LUA_GCCOUNTB, 0);
}

/* KEYS or ARGV: a fresh table each run, so a script may change its own. */
static void set_argument_table(const char *name, client *c, int first, int count)
{
    lua_getfield(lua, LUA_REGISTRYINDEX, REGISTRY_GLOBALS);
    lua_createtable(lua, count, 0);
    for (int i = 0; i < count; i++) {
        lua_pushlstring(lua, c->argv[first + i], c->argv_len[first + i]);
        lua_rawseti(lua, -2, i + 1);
    }
    lua_setfield(lua, -2, name);
    lua_pop(lua, 1);
}

void engine_execute(lua_State *L, client *c, const char *name, int handler, int nargs,
                    const engine_run_mode *mode, script_call_fn call)
{
    run.name = name;
    run.caller = c;
    run.read_only = mode->read_only;
    run.allow_oom = mode->allow_oom;
    run.is_function = mode->is_function;
    run.call = call;
    run.start_ticks = clock_ticks();
    run.wrote = run.busy = run.killed = 0;
    script_client->db = c->db;
    script_client->reply.protocol = 2;
    buffer_clear(&script_client->reply.out);

    lua_sethook(L, count_hook, LUA_MASKCOUNT, HOOK_INSTRUCTIONS);
    int status = lua_pcall(L, nargs, 1, handler);
    lua_sethook(L, NULL, 0, 0);
    if (status != 0) {
        size_t len;
        const char *text = lua_tolstring(L, -1, &len);
        if (text)
            reply_error_len(&c->reply, text, len);
        else
            reply_error(&c->reply, "ERR Error running script");
    } else {
        write_value(L, lua_gettop(L), &c->reply);
    }
    if (run.busy && yield_to_clients)
        yield_to_clients(NULL); /* the busy period is over */
    if (run.killed)
        killed_total++;
    if (run.busy)
        server_log(LOG_WARNING, "Script %s ended after %lld ms%s.", run.name,
                   (long long)(clock_ticks_to_us(clock_ticks() - run.start_ticks) / 1000),
                   run.killed ? " (killed)" : "");
    lua_settop(L, handler - 1);
    run.caller = NULL;
    run.busy = 0;
    buffer_clear(&script_client->reply.out);
}

int script_run(client *c, const char *sha, size_t sha_len, int first_key, int numkeys,
               int read_only, script_call_fn call)
{
    char name[41];
    if (!normalize_sha(sha, sha_len, name))
        return -1;
    engine_ensure_started();
    lua_pushcfunction(lua, engine_error_handler);
    int handler = lua_gettop(lua);
    push_cached(name);
    if (lua_isnil(lua, -1)) {
        lua_pop(lua, 2);
        return -1;
    }
    /* A script with a shebang line is held to its flags, as a function is. */
    lua_getfield(lua, LUA_REGISTRYINDEX, REGISTRY_FLAGS);
    lua_getfield(lua, -1, name);
    int flags = lua_isnumber(lua, -1) ? (int)lua_tointeger(lua, -1) : -1;
    lua_pop(lua, 2);
    engine_run_mode mode = {.read_only = read_only};
    if (flags >= 0) {
        if (read_only && !(flags & SCRIPT_FLAG_NO_WRITES)) {
            lua_settop(lua, handler - 1);
            reply_error(&c->reply,
                        "ERR Can not execute a script with write flag using *_ro command.");
            return 0;
        }
        static const command may_grow = {.name = "eval", .flags = CMD_DENYOOM | CMD_WRITE};
        if (!(flags & (SCRIPT_FLAG_ALLOW_OOM | SCRIPT_FLAG_NO_WRITES)) &&
            evict_before_command(c, &may_grow) != 0) {
            lua_settop(lua, handler - 1);
            reply_error(&c->reply, EVICT_OOM_ERROR);
            return 0;
        }
        mode.read_only = read_only || (flags & SCRIPT_FLAG_NO_WRITES);
        mode.allow_oom = (flags & SCRIPT_FLAG_ALLOW_OOM) != 0;
    }
    set_argument_table("KEYS", c, first_key, numkeys);
    set_argument_table("ARGV", c, first_key + numkeys, c->argc - first_key - numkeys);

    engine_execute(lua, c, name, handler, 0, &mode, call);
    return 0;
}
