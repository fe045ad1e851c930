/* EVAL EVALSHA EVAL_RO EVALSHA_RO and SCRIPT: argument checks and replies.
 * The interpreter, the cache and redis.call live in src/script/script.c;
 * scripts run their commands through dispatch_call, the path EXEC uses. */
#include <string.h>

#include "handlers.h"
#include "rivet/memory.h"
#include "rivet/number.h"
#include "rivet/script.h"
#include "table.h"

static void eval_generic(client *c, int by_sha, int read_only)
{
    int64_t numkeys;
    if (!number_parse_int64(c->argv[2], c->argv_len[2], &numkeys)) {
        reply_error(&c->reply, ERR_NOT_INTEGER);
        return;
    }
    if (numkeys > c->argc - 3) {
        reply_error(&c->reply, "ERR Number of keys can't be greater than number of args");
        return;
    }
    if (numkeys < 0) {
        reply_error(&c->reply, "ERR Number of keys can't be negative");
        return;
    }
    char sha[41];
    const char *name = c->argv[1];
    size_t name_len = c->argv_len[1];
    if (!by_sha) {
        /* EVAL caches what it runs, so a later EVALSHA finds it. */
        char *error = NULL;
        if (script_load(c->argv[1], c->argv_len[1], sha, &error) != 0) {
            reply_error(&c->reply, error);
            mem_free(error);
            return;
        }
        name = sha;
        name_len = 40;
    }
    if (script_run(c, name, name_len, 3, (int)numkeys, read_only, dispatch_call) != 0)
        reply_error(&c->reply, "NOSCRIPT No matching script. Please use EVAL.");
}

static void command_eval(client *c)
{
    eval_generic(c, 0, 0);
}

static void command_evalsha(client *c)
{
    eval_generic(c, 1, 0);
}

static void command_eval_ro(client *c)
{
    eval_generic(c, 0, 1);
}

static void command_evalsha_ro(client *c)
{
    eval_generic(c, 1, 1);
}

static void command_script_load(client *c)
{
    char sha[41], *error = NULL;
    if (script_load(c->argv[2], c->argv_len[2], sha, &error) != 0) {
        reply_error(&c->reply, error);
        mem_free(error);
        return;
    }
    reply_bulk(&c->reply, sha, 40);
}

static void command_script_exists(client *c)
{
    reply_array(&c->reply, (size_t)(c->argc - 2));
    for (int i = 2; i < c->argc; i++)
        reply_integer(&c->reply, script_exists(c->argv[i], c->argv_len[i]));
}

static void command_script_flush(client *c)
{
    /* ASYNC and SYNC end the same way here: the cache is small next to
     * the dataset, so it is dropped at once. */
    if (c->argc > 3 ||
        (c->argc == 3 && !argument_is(c, 2, "async") && !argument_is(c, 2, "sync"))) {
        reply_error(&c->reply, "ERR SCRIPT FLUSH only support SYNC|ASYNC option");
        return;
    }
    script_flush();
    reply_ok(&c->reply);
}

static void command_script_debug(client *c)
{
    if (argument_is(c, 2, "no")) {
        reply_ok(&c->reply);
    } else if (argument_is(c, 2, "yes") || argument_is(c, 2, "sync")) {
        /* The step debugger (LDB) needs a second protocol on the client's
         * connection; it is not built. */
        reply_error(&c->reply, "ERR SCRIPT DEBUG YES|SYNC is not supported: no Lua debugger");
    } else {
        reply_error(&c->reply, "ERR Use SCRIPT DEBUG YES/SYNC/NO");
    }
}

static void command_script_kill(client *c)
{
    script_kill(c, 0);
}

static void command_script_help(client *c)
{
    static const char *const lines[] = {
        "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DEBUG (YES|SYNC|NO)",
        "    Set the debug mode for subsequent scripts executed.",
        "EXISTS <sha1> [<sha1> ...]",
        "    Return information about the existence of the scripts in the script cache.",
        "FLUSH [ASYNC|SYNC]",
        "    Flush the Lua scripts cache. Very dangerous on replicas.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the scripts cache.",
        "    * SYNC: Synchronously flush the scripts cache.",
        "KILL",
        "    Kill the currently executing Lua script.",
        "LOAD <script>",
        "    Load a script into the scripts cache without executing it.",
        "HELP",
        "    Prints this help.",
        NULL,
    };
    reply_help(c, lines);
}

#define GROUP     "scripting"
#define SCRIPTING ACL_SCRIPTING

/* Keys follow the count at argv[2]: EVAL script numkeys key... arg... */
#define EVAL_ROW(name_, flags_, kflags_, handler_, since_, summary_)                               \
    {                                                                                              \
        .name = name_, .arity = -3,                                                                \
        .flags = (flags_) | NOSCRIPT | STALE | CMD_SKIP_MONITOR | CMD_NO_MANDATORY_KEYS,           \
        .categories = SCRIPTING | C_SLOW, .first_key = 0, .last_key = 0, .key_step = 1,            \
        .key_numkeys_index = 2, .key_flags = kflags_, .handler = handler_, .group = GROUP,         \
        .since = since_, .complexity = "Depends on the script that is executed.",                  \
        .summary = summary_                                                                        \
    }

/* Not const: start-up fills in each row's stats and parent. */
static command script_subcommands[] = {
    ROW("debug", 3, NOSCRIPT, C_SLOW | SCRIPTING, 0, 0, 0, 0, command_script_debug, GROUP, "3.2.0",
        "O(1)", "Set the debug mode for executed scripts."),
    ROW("exists", -3, NOSCRIPT, C_SLOW | SCRIPTING, 0, 0, 0, 0, command_script_exists, GROUP,
        "2.6.0",
        "O(N) with N being the number of scripts to check (so checking a single script "
        "is an O(1) operation).",
        "Check existence of scripts in the script cache."),
    ROW("flush", -2, NOSCRIPT, C_SLOW | SCRIPTING, 0, 0, 0, 0, command_script_flush, GROUP, "2.6.0",
        "O(N) with N being the number of scripts in cache",
        "Remove all the scripts from the script cache."),
    ROW("help", 2, LOADING | STALE, C_SLOW | SCRIPTING, 0, 0, 0, 0, command_script_help, GROUP,
        "5.0.0", "O(1)", "Show helpful text about the different subcommands"),
    ROW("kill", 2, NOSCRIPT | BUSY, C_SLOW | SCRIPTING, 0, 0, 0, 0, command_script_kill, GROUP,
        "2.6.0", "O(1)", "Kill the script currently in execution."),
    ROW("load", 3, NOSCRIPT | STALE, C_SLOW | SCRIPTING, 0, 0, 0, 0, command_script_load, GROUP,
        "2.6.0", "O(N) with N being the length in bytes of the script body.",
        "Load the specified Lua script into the script cache."),
    {0},
};

const command script_command_rows[] = {
    EVAL_ROW("eval", 0, KEY_WRITE_UPDATE, command_eval, "2.6.0",
             "Execute a Lua script server side"),
    EVAL_ROW("eval_ro", R, KEY_READ, command_eval_ro, "7.0.0",
             "Execute a read-only Lua script server side"),
    EVAL_ROW("evalsha", 0, KEY_WRITE_UPDATE, command_evalsha, "2.6.0",
             "Execute a Lua script server side"),
    EVAL_ROW("evalsha_ro", R, KEY_READ, command_evalsha_ro, "7.0.0",
             "Execute a read-only Lua script server side"),
    PARENT("script", -2, script_subcommands, GROUP, "2.6.0",
           "A container for Lua scripts management commands"),
    {0},
};
