/* Server commands: INFO TIME LASTSAVE SHUTDOWN WAIT CONFIG SLOWLOG DEBUG. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "handlers.h"
#include "rivet/script.h"
#include "rivet/aof.h"
#include "rivet/errorstats.h"
#include "rivet/glob.h"
#include "rivet/memory.h"
#include "rivet/net.h"
#include "rivet/number.h"
#include "rivet/server.h"
#include "rivet/snapshot.h"
#include "rivet/slowlog.h"

void command_info(client *c)
{
    buffer out;
    buffer_init(&out);
    server_info(&out, c->argc - 1, c->argv + 1, c->argv_len + 1);
    reply_verbatim(&c->reply, out.data ? out.data : "", out.len, "txt");
    buffer_release(&out);
}

void command_time(client *c)
{
    server_update_time();
    reply_array(&c->reply, 2);
    reply_bulk_integer(&c->reply, server.now_us / 1000000);
    reply_bulk_integer(&c->reply, server.now_us % 1000000);
}

void command_lastsave(client *c)
{
    reply_integer(&c->reply, server.last_save_s);
}

/* SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]: saves first when asked to or
 * when save points exist (unless NOSAVE); a failed save keeps the server
 * running unless FORCE. On success the connection closes without a reply,
 * as in Redis. */
void command_shutdown(client *c)
{
    int save = 0, nosave = 0, force = 0;
    for (int i = 1; i < c->argc; i++) {
        if (argument_is(c, i, "nosave")) {
            nosave = 1;
        } else if (argument_is(c, i, "save")) {
            save = 1;
        } else if (argument_is(c, i, "now")) {
            /* Nothing to wait for: Rivet has no replicas. */
        } else if (argument_is(c, i, "force")) {
            force = 1;
        } else if (argument_is(c, i, "abort")) {
            reply_error(&c->reply, "ERR No shutdown in progress.");
            return;
        } else {
            reply_error(&c->reply, ERR_SYNTAX);
            return;
        }
    }
    if (save && nosave) {
        reply_error(&c->reply, ERR_SYNTAX);
        return;
    }
    /* During a busy script only NOSAVE may stop the server: the script's
     * half-done writes must not be saved. */
    if (script_busy_error() && !nosave) {
        reply_error(&c->reply, script_busy_error());
        return;
    }
    server_log(LOG_WARNING, "User requested shutdown...");
    if (snapshot_before_shutdown(save, nosave) != 0 && !force) {
        reply_error(&c->reply, "ERR Errors trying to SHUTDOWN. Check logs.");
        return;
    }
    c->flags |= CLIENT_CLOSE_ASAP;
    server_request_shutdown(0);
}

void command_wait(client *c)
{
    int64_t replicas, timeout;
    if (!argument_int64(c, 1, &replicas))
        return;
    if (!argument_int64_or(c, 2, &timeout, "ERR timeout is not an integer or out of range"))
        return;
    if (timeout < 0) {
        reply_error(&c->reply, "ERR timeout is negative");
        return;
    }
    /* No replicas exist, so none acknowledged anything. */
    reply_integer(&c->reply, 0);
}

/* ---------- CONFIG ---------- */

void command_config_get(client *c)
{
    /* Several patterns may match one name: collect, then de-duplicate. */
    char **all = NULL;
    size_t all_count = 0;
    for (int i = 2; i < c->argc; i++) {
        char **pairs = NULL;
        /* Arguments point into the query buffer and are not NUL-terminated. */
        char *pattern = mem_alloc(c->argv_len[i] + 1);
        memcpy(pattern, c->argv[i], c->argv_len[i]);
        pattern[c->argv_len[i]] = '\0';
        size_t count = config_get(&server.config, pattern, &pairs);
        mem_free(pattern);
        all = mem_realloc(all, sizeof(char *) * (all_count + count) * 2);
        for (size_t j = 0; j < count; j++) {
            int seen = 0;
            for (size_t k = 0; k < all_count; k++)
                if (strcmp(all[k * 2], pairs[j * 2]) == 0)
                    seen = 1;
            if (seen) {
                mem_free(pairs[j * 2]);
                mem_free(pairs[j * 2 + 1]);
                continue;
            }
            all[all_count * 2] = pairs[j * 2];
            all[all_count * 2 + 1] = pairs[j * 2 + 1];
            all_count++;
        }
        mem_free(pairs);
    }
    reply_map(&c->reply, all_count);
    for (size_t i = 0; i < all_count * 2; i++)
        reply_bulk_cstr(&c->reply, all[i]);
    config_free_pairs(all, all_count);
}

void command_config_set(client *c)
{
    if ((c->argc - 2) % 2 != 0) {
        reply_error(&c->reply, "ERR wrong number of arguments for 'config|set' command");
        return;
    }
    int pairs = (c->argc - 2) / 2;
    char **names = mem_calloc(sizeof(char *) * (size_t)pairs);
    char **values = mem_calloc(sizeof(char *) * (size_t)pairs);
    char **old_values = mem_calloc(sizeof(char *) * (size_t)pairs);
    const char *err = NULL;
    int failed_at = -1, applied = 0;
    for (int i = 0; i < pairs; i++) {
        names[i] = mem_alloc(c->argv_len[2 + i * 2] + 1);
        memcpy(names[i], c->argv[2 + i * 2], c->argv_len[2 + i * 2]);
        names[i][c->argv_len[2 + i * 2]] = '\0';
        values[i] = mem_alloc(c->argv_len[3 + i * 2] + 1);
        memcpy(values[i], c->argv[3 + i * 2], c->argv_len[3 + i * 2]);
        values[i][c->argv_len[3 + i * 2]] = '\0';
        for (int j = 0; j < i && failed_at < 0; j++)
            if (strcasecmp(names[i], names[j]) == 0) {
                err = "duplicate parameter";
                failed_at = i;
            }
    }
    for (int i = 0; i < pairs && failed_at < 0; i++) {
        old_values[i] = config_render(&server.config, names[i]);
        if (config_set(&server.config, names[i], values[i], &err) != 0) {
            failed_at = i;
            break;
        }
        applied = i + 1;
    }
    if (failed_at >= 0) {
        /* All or nothing, as Redis 7: undo what was already applied. */
        const char *ignored;
        for (int i = applied - 1; i >= 0; i--)
            if (old_values[i])
                config_set(&server.config, names[i], old_values[i], &ignored);
        if (strcmp(err, "duplicate parameter") == 0)
            reply_errorf(&c->reply,
                         "ERR CONFIG SET failed (possibly related to argument '%s') - %s",
                         names[failed_at], err);
        else
            reply_errorf(&c->reply, "ERR %s", err); /* config_set's text is complete */
    } else {
        const char *apply_err = NULL;
        int apply_failed = -1;
        for (int i = 0; i < pairs; i++)
            if (server_config_changed(names[i], &apply_err) != 0 && apply_failed < 0)
                apply_failed = i;
        if (apply_failed >= 0)
            reply_errorf(&c->reply,
                         "ERR CONFIG SET failed (possibly related to argument '%s') - %s",
                         names[apply_failed], apply_err);
        else
            reply_ok(&c->reply);
    }
    for (int i = 0; i < pairs; i++) {
        mem_free(names[i]);
        mem_free(values[i]);
        mem_free(old_values[i]);
    }
    mem_free(names);
    mem_free(values);
    mem_free(old_values);
}

void command_config_resetstat(client *c)
{
    server_reset_stats();
    reply_ok(&c->reply);
}

void command_config_rewrite(client *c)
{
    if (server.config_file == NULL) {
        reply_error(&c->reply, "ERR The server is running without a config file");
        return;
    }
    const char *err = NULL;
    if (config_rewrite(&server.config, server.config_file, &err) != 0) {
        reply_errorf(&c->reply, "ERR %s", err ? err : "Rewriting config file: failed");
        return;
    }
    server_log(LOG_NOTICE, "CONFIG REWRITE executed with success.");
    reply_ok(&c->reply);
}

void command_config_help(client *c)
{
    static const char *const lines[] = {
        "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>",
        "    Set the configuration <directive> to <value>.",
        "RESETSTAT",
        "    Reset statistics reported by the INFO command.",
        "REWRITE",
        "    Rewrite the configuration file.",
        "HELP",
        "    Print this help.",
        NULL};
    reply_help(c, lines);
}

/* ---------- SLOWLOG ---------- */

void command_slowlog_get(client *c)
{
    int64_t count = 10;
    if (c->argc == 3) {
        if (!argument_int64_or(c, 2, &count, "ERR count should be greater than or equal to -1") ||
            count < -1) {
            if (count < -1)
                reply_error(&c->reply, "ERR count should be greater than or equal to -1");
            return;
        }
    } else if (c->argc > 3) {
        reply_error(&c->reply, "ERR wrong number of arguments for 'slowlog|get' command");
        return;
    }
    slowlog_reply(server.slowlog, &c->reply, count);
}

void command_slowlog_len(client *c)
{
    reply_integer(&c->reply, (int64_t)slowlog_length(server.slowlog));
}

void command_slowlog_reset(client *c)
{
    slowlog_reset(server.slowlog);
    reply_ok(&c->reply);
}

void command_slowlog_help(client *c)
{
    static const char *const lines[] = {
        "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET [<count>]",
        "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
        "    Entries are made of:",
        "    id, timestamp, time in microseconds, arguments array, client IP and port,",
        "    client name",
        "LEN",
        "    Return the length of the slowlog.",
        "RESET",
        "    Reset the slowlog.",
        "HELP",
        "    Print this help.",
        NULL};
    reply_help(c, lines);
}

/* ---------- DEBUG ---------- */

static void debug_object(client *c)
{
    kv_entry *e = keyspace_lookup(c->db, c->argv[2], c->argv_len[2]);
    if (e == NULL) {
        reply_error(&c->reply, ERR_NO_SUCH_KEY);
        return;
    }
    size_t length = 0;
    if (entry_type(e) == OBJECT_STRING) {
        char scratch[32];
        entry_string(e, scratch, &length);
    }
    uint32_t idle = keyspace_access_clock_now(server.keyspace) - entry_access_clock(e);
    char text[256];
    snprintf(text, sizeof(text),
             "Value at:%p refcount:1 encoding:%s serializedlength:%zu lru:%u lru_seconds_idle:%u",
             (void *)e, object_encoding_name(entry_encoding(e)), length,
             entry_access_clock(e) & 0xFFFFFF, idle);
    reply_status(&c->reply, text);
}

/* DEBUG PROTOCOL <type>: one reply of each RESP type, for client tests. */
static void debug_protocol(client *c)
{
    reply_writer *w = &c->reply;
    if (argument_is(c, 2, "string")) {
        reply_bulk_cstr(w, "Hello World");
    } else if (argument_is(c, 2, "integer")) {
        reply_integer(w, 12345);
    } else if (argument_is(c, 2, "double")) {
        reply_double(w, 3.141);
    } else if (argument_is(c, 2, "bignum")) {
        reply_big_number(w, "1234567999999999999999999999999999999", 37);
    } else if (argument_is(c, 2, "null")) {
        reply_null(w);
    } else if (argument_is(c, 2, "array") || argument_is(c, 2, "set")) {
        if (argument_is(c, 2, "array"))
            reply_array(w, 3);
        else
            reply_set(w, 3);
        for (int i = 0; i < 3; i++)
            reply_integer(w, i);
    } else if (argument_is(c, 2, "map")) {
        reply_map(w, 3);
        for (int i = 0; i < 3; i++) {
            reply_integer(w, i);
            reply_bool(w, i == 1);
        }
    } else if (argument_is(c, 2, "attrib")) {
        if (reply_attribute(w, 1)) {
            reply_bulk_cstr(w, "key-popularity");
            reply_array(w, 2);
            reply_bulk_cstr(w, "key:123");
            reply_integer(w, 90);
        }
        reply_bulk_cstr(w, "Some real reply following the attribute");
    } else if (argument_is(c, 2, "push")) {
        if (w->protocol < 3) {
            reply_error(w, "ERR RESP2 is not supported by this command");
            return;
        }
        reply_push(w, 2);
        reply_bulk_cstr(w, "server-cpu-usage");
        reply_integer(w, 42);
        reply_bulk_cstr(w, "Some real reply following the push reply");
    } else if (argument_is(c, 2, "verbatim")) {
        reply_verbatim(w, "This is a verbatim\nstring", 25, "txt");
    } else if (argument_is(c, 2, "true")) {
        reply_bool(w, 1);
    } else if (argument_is(c, 2, "false")) {
        reply_bool(w, 0);
    } else {
        reply_error(w, "ERR Wrong protocol type name. Please use one of the following: "
                       "string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|"
                       "true|false");
    }
}

/* DEBUG RELOAD [NOSAVE] [NOFLUSH]: save, empty the keyspace, load the file
 * back. Tests use it to prove a round trip through the snapshot. */
static void debug_reload(client *c)
{
    int save = 1, flush = 1;
    if (snapshot_get_status()->loading) {
        reply_error(&c->reply, "LOADING Redis is loading the dataset in memory");
        return;
    }
    for (int i = 2; i < c->argc; i++) {
        if (argument_is(c, i, "nosave")) {
            save = 0;
        } else if (argument_is(c, i, "noflush")) {
            flush = 0;
        } else {
            reply_error(&c->reply, "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and "
                                   "NOSAVE options.");
            return;
        }
    }
    if (save && snapshot_save() != 0) {
        reply_error(&c->reply, "ERR Error trying to save the DB");
        return;
    }
    char err[512];
    int rc = flush ? snapshot_reload(err, sizeof(err)) : snapshot_load_merge(err, sizeof(err));
    if (rc != 0) {
        server_log(LOG_WARNING, "%s", err);
        reply_error(&c->reply, "ERR Error trying to load the RDB dump, check server logs.");
        return;
    }
    server_log(LOG_NOTICE, "DB reloaded by DEBUG RELOAD");
    reply_ok(&c->reply);
}

void command_debug(client *c)
{
    if (argument_is(c, 1, "help")) {
        static const char *const lines[] = {
            "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "OBJECT <key>",
            "PROTOCOL <type>",
            "    Reply with a test value of the specified type. <type> can be: string,",
            "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
            "    true, false.",
            "    Show low level info about the key and associated value.",
            "LOADAOF",
            "    Flush the append only file to disk, empty the data set and load the AOF",
            "    back.",
            "RELOAD [NOSAVE] [NOFLUSH]",
            "    Save the RDB on disk and reload it back to memory. With NOSAVE the file",
            "    on disk is loaded as it is; with NOFLUSH the data set is not emptied first.",
            "SET-ACTIVE-EXPIRE <0|1>",
            "    Setting it to 0 disables expiring keys in the background when they are not",
            "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
            "    default.",
            "SLEEP <seconds>",
            "    Stop the server for <seconds>. Decimals allowed.",
            "HELP",
            "    Print this help.",
            NULL};
        reply_help(c, lines);
    } else if (argument_is(c, 1, "sleep") && c->argc == 3) {
        /* Like Redis (atof), anything unparsable sleeps for 0 seconds. */
        double seconds;
        if (!number_parse_double(c->argv[2], c->argv_len[2], &seconds) || seconds < 0)
            seconds = 0;
        usleep((useconds_t)(seconds * 1e6));
        reply_ok(&c->reply);
    } else if (argument_is(c, 1, "protocol") && c->argc == 3) {
        debug_protocol(c);
    } else if (argument_is(c, 1, "object") && c->argc == 3) {
        debug_object(c);
    } else if (argument_is(c, 1, "reload")) {
        debug_reload(c);
    } else if (argument_is(c, 1, "loadaof") && c->argc == 2) {
        char err[128];
        if (aof_reload(err, sizeof(err)) == 0)
            reply_ok(&c->reply);
        else
            reply_error(&c->reply, err);
    } else if (argument_is(c, 1, "set-active-expire") && c->argc == 3) {
        int64_t on;
        if (!argument_int64(c, 2, &on))
            return;
        server.active_expire_enabled = on != 0;
        reply_ok(&c->reply);
    } else {
        reply_errorf(&c->reply, "ERR unknown subcommand '%.*s'. Try DEBUG HELP.",
                     (int)(c->argv_len[1] < 128 ? c->argv_len[1] : 128), c->argv[1]);
    }
}
