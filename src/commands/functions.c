/* FUNCTION and FCALL / FCALL_RO: argument checks and replies, in Redis 7.0's
 * order and words. Libraries, loading and calls live in
 * src/script/functions.c; calls run their commands through dispatch_call. */
#include <string.h>

#include "handlers.h"
#include "rivet/memory.h"
#include "rivet/number.h"
#include "rivet/script.h"
#include "table.h"

static void fcall_generic(client *c, int read_only)
{
    /* Redis looks the function up before it reads numkeys. */
    if (!function_exists(c->argv[1], c->argv_len[1])) {
        reply_error(&c->reply, "ERR Function not found");
        return;
    }
    int64_t numkeys;
    if (!number_parse_int64(c->argv[2], c->argv_len[2], &numkeys)) {
        reply_error(&c->reply, "ERR Bad number of keys provided");
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
    function_call(c, 3, (int)numkeys, read_only, dispatch_call);
}

static void command_fcall(client *c)
{
    fcall_generic(c, 0);
}

static void command_fcall_ro(client *c)
{
    fcall_generic(c, 1);
}

static void command_function_load(client *c)
{
    /* Every argument before the code is an option. */
    int replace = 0;
    for (int i = 2; i < c->argc - 1; i++) {
        if (argument_is(c, i, "replace")) {
            replace = 1;
        } else {
            char text[160];
            snprintf(text, sizeof(text), "ERR Unknown option given: %.*s",
                     (int)(c->argv_len[i] < 100 ? c->argv_len[i] : 100), c->argv[i]);
            reply_error(&c->reply, text);
            return;
        }
    }
    char *result = NULL;
    const char *code = c->argv[c->argc - 1];
    if (function_load(code, c->argv_len[c->argc - 1], replace, &result) == 0)
        reply_bulk_cstr(&c->reply, result);
    else
        reply_error(&c->reply, result);
    mem_free(result);
}

static void command_function_delete(client *c)
{
    if (function_delete(c->argv[2], c->argv_len[2]) != 0)
        reply_error(&c->reply, "ERR Library not found");
    else
        reply_ok(&c->reply);
}

static void command_function_flush(client *c)
{
    if (c->argc > 3) {
        reply_error(&c->reply, "ERR unknown subcommand or wrong number of arguments for 'FLUSH'. "
                               "Try FUNCTION HELP.");
        return;
    }
    if (c->argc == 3 && !argument_is(c, 2, "async") && !argument_is(c, 2, "sync")) {
        reply_error(&c->reply, "ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
        return;
    }
    /* ASYNC frees at once too: libraries are small next to the dataset. */
    function_flush();
    reply_ok(&c->reply);
}

static void command_function_list(client *c)
{
    const char *pattern = NULL;
    size_t pattern_len = 0;
    int with_code = 0;
    for (int i = 2; i < c->argc; i++) {
        if (!with_code && argument_is(c, i, "withcode")) {
            with_code = 1;
        } else if (!pattern && argument_is(c, i, "libraryname")) {
            if (i + 1 >= c->argc) {
                reply_error(&c->reply, "ERR library name argument was not given");
                return;
            }
            pattern = c->argv[++i];
            pattern_len = c->argv_len[i];
        } else {
            char text[160];
            snprintf(text, sizeof(text), "ERR Unknown argument %.*s",
                     (int)(c->argv_len[i] < 100 ? c->argv_len[i] : 100), c->argv[i]);
            reply_error(&c->reply, text);
            return;
        }
    }
    function_list(c, pattern, pattern_len, with_code);
}

static void command_function_dump(client *c)
{
    buffer payload;
    buffer_init(&payload);
    function_dump(&payload);
    reply_bulk(&c->reply, payload.data, payload.len);
    buffer_release(&payload);
}

static void command_function_restore(client *c)
{
    if (c->argc > 4) {
        reply_error(&c->reply, "ERR unknown subcommand or wrong number of arguments for "
                               "'RESTORE'. Try FUNCTION HELP.");
        return;
    }
    int policy = FUNCTION_RESTORE_APPEND;
    if (c->argc == 4) {
        if (argument_is(c, 3, "append")) {
            policy = FUNCTION_RESTORE_APPEND;
        } else if (argument_is(c, 3, "replace")) {
            policy = FUNCTION_RESTORE_REPLACE;
        } else if (argument_is(c, 3, "flush")) {
            policy = FUNCTION_RESTORE_FLUSH;
        } else {
            reply_error(&c->reply, "ERR Wrong restore policy given, value should be either "
                                   "FLUSH, APPEND or REPLACE.");
            return;
        }
    }
    char *error = NULL;
    if (function_restore(c->argv[2], c->argv_len[2], policy, &error) == 0) {
        reply_ok(&c->reply);
    } else {
        reply_error(&c->reply, error);
        mem_free(error);
    }
}

static void command_function_stats(client *c)
{
    /* While an EVAL script is busy, only SCRIPT KILL is on offer. */
    script_running_info running;
    if (script_busy_error() && script_running(&running) && !running.is_function) {
        reply_error(&c->reply, script_busy_error());
        return;
    }
    function_stats(c);
}

static void command_function_kill(client *c)
{
    script_kill(c, 1);
}

static void command_function_help(client *c)
{
    /* The text is Redis's, so clients and people see the same help. */
    static const char *const lines[] = {
        "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "LOAD [REPLACE] <FUNCTION CODE>",
        "    Create a new library with the given library name and code.",
        "DELETE <LIBRARY NAME>",
        "    Delete the given library.",
        "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
        "    Return general information on all the libraries:",
        "    * Library name",
        "    * The engine used to run the Library",
        "    * Library description",
        "    * Functions list",
        "    * Library code (if WITHCODE is given)",
        "    It also possible to get only function that matches a pattern using LIBRARYNAME "
        "argument.",
        "STATS",
        "    Return information about the current function running:",
        "    * Function name",
        "    * Command used to run the function",
        "    * Duration in MS that the function is running",
        "    If no function is running, return nil",
        "    In addition, returns a list of available engines.",
        "KILL",
        "    Kill the current running function.",
        "FLUSH [ASYNC|SYNC]",
        "    Delete all the libraries.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the libraries.",
        "    * SYNC: Synchronously flush the libraries.",
        "DUMP",
        "    Return a serialized payload representing the current libraries, can be restored "
        "using FUNCTION RESTORE command",
        "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
        "    Restore the libraries represented by the given payload, it is possible to give a "
        "restore policy to",
        "    control how to handle existing libraries (default APPEND):",
        "    * FLUSH: delete all existing libraries.",
        "    * APPEND: appends the restored libraries to the existing libraries. On collision, "
        "abort.",
        "    * REPLACE: appends the restored libraries to the existing libraries, On collision, "
        "replace the old",
        "      libraries with the new libraries (notice that even on this option there is a "
        "chance of failure",
        "      in case of functions name collision with another library).",
        "HELP",
        "    Prints this help.",
        NULL,
    };
    reply_help(c, lines);
}

#define GROUP     "scripting"
#define SCRIPTING ACL_SCRIPTING

/* Keys follow the count at argv[2]: FCALL function numkeys key... arg... */
#define FCALL_ROW(name_, flags_, kflags_, handler_, summary_)                                      \
    {                                                                                              \
        .name = name_, .arity = -3,                                                                \
        .flags = (flags_) | NOSCRIPT | STALE | CMD_SKIP_MONITOR | CMD_NO_MANDATORY_KEYS,           \
        .categories = SCRIPTING | C_SLOW, .first_key = 0, .last_key = 0, .key_step = 1,            \
        .key_numkeys_index = 2, .key_flags = kflags_, .handler = handler_, .group = GROUP,         \
        .since = "7.0.0", .complexity = "Depends on the function that is executed.",               \
        .summary = summary_                                                                        \
    }

/* Not const: start-up fills in each row's stats and parent. */
static command function_subcommands[] = {
    ROW("delete", 3, W | NOSCRIPT, C_W | C_SLOW | SCRIPTING, 0, 0, 0, 0, command_function_delete,
        GROUP, "7.0.0", "O(1)", "Delete a function by name"),
    ROW("dump", 2, NOSCRIPT, C_SLOW | SCRIPTING, 0, 0, 0, 0, command_function_dump, GROUP, "7.0.0",
        "O(N) where N is the number of functions",
        "Dump all functions into a serialized binary payload"),
    ROW("flush", -2, W | NOSCRIPT, C_W | C_SLOW | SCRIPTING, 0, 0, 0, 0, command_function_flush,
        GROUP, "7.0.0", "O(N) where N is the number of functions deleted",
        "Deleting all functions"),
    ROW("help", 2, LOADING | STALE, C_SLOW | SCRIPTING, 0, 0, 0, 0, command_function_help, GROUP,
        "7.0.0", "O(1)", "Show helpful text about the different subcommands"),
    ROW("kill", 2, NOSCRIPT | BUSY, C_SLOW | SCRIPTING, 0, 0, 0, 0, command_function_kill, GROUP,
        "7.0.0", "O(1)", "Kill the function currently in execution."),
    ROW("list", -2, NOSCRIPT, C_SLOW | SCRIPTING, 0, 0, 0, 0, command_function_list, GROUP, "7.0.0",
        "O(N) where N is the number of functions", "List information about all the functions"),
    ROW("load", -3, W | DOOM | NOSCRIPT, C_W | C_SLOW | SCRIPTING, 0, 0, 0, 0,
        command_function_load, GROUP, "7.0.0", "O(1) (considering compilation time is redundant)",
        "Create a function with the given arguments (name, code, description)"),
    ROW("restore", -3, W | DOOM | NOSCRIPT, C_W | C_SLOW | SCRIPTING, 0, 0, 0, 0,
        command_function_restore, GROUP, "7.0.0",
        "O(N) where N is the number of functions on the payload",
        "Restore all the functions on the given payload"),
    ROW("stats", 2, NOSCRIPT | BUSY, C_SLOW | SCRIPTING, 0, 0, 0, 0, command_function_stats, GROUP,
        "7.0.0", "O(1)",
        "Return information about the function currently running (name, description, duration)"),
    {0},
};

const command function_command_rows[] = {
    FCALL_ROW("fcall", 0, KEY_WRITE_UPDATE, command_fcall, "Invoke a function"),
    FCALL_ROW("fcall_ro", R, KEY_READ, command_fcall_ro, "Invoke a read-only function"),
    PARENT("function", -2, function_subcommands, GROUP, "7.0.0",
           "A container for function commands"),
    {0},
};
