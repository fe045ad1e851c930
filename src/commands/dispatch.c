/* Dispatch: from a parsed argv to a handler call, with the checks Redis makes
 * before running anything (unknown command, arity, authentication, protected
 * commands) and the bookkeeping after (stats, slow log, error counts, CLIENT
 * REPLY modes). Error texts here are the ones clients match on. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "handlers.h"
#include "rivet/aof.h"
#include "rivet/blocking.h"
#include "rivet/clock.h"
#include "rivet/errorstats.h"
#include "rivet/evict.h"
#include "rivet/net.h"
#include "rivet/pubsub.h"
#include "rivet/script.h"
#include "rivet/server.h"
#include "rivet/snapshot.h"
#include "rivet/slowlog.h"
#include "rivet/tracking.h"
#include "rivet/transaction.h"
#include "rivet/watch.h"

/* Reject replies count as errors in INFO errorstats and rejected_calls. */
static void reject_len(client *c, const command *cmd, const char *error, size_t len)
{
    /* A rejected command inside MULTI dooms the transaction (EXECABORT). */
    if (c->flags & CLIENT_MULTI)
        c->flags |= CLIENT_DIRTY_EXEC;
    reply_error_len(&c->reply, error, len);
    errorstats_count(server.errorstats, error);
    if (cmd)
        cmd->stats->rejected_calls++;
}

static void reject(client *c, const command *cmd, const char *error)
{
    reject_len(c, cmd, error, strlen(error));
}

/* Redis formats these names with "%.*s", which stops at a NUL byte; the
 * same cut keeps our error text identical for binary garbage. */
static size_t printable_length(const char *s, size_t len, size_t max)
{
    const char *nul = memchr(s, '\0', len);
    if (nul)
        len = (size_t)(nul - s);
    return len < max ? len : max;
}

static void reply_unknown_command(client *c)
{
    /* Redis quotes arguments while the quoted list is under 128 bytes,
     * each cut to what is left of that budget. */
    buffer args;
    buffer_init(&args);
    for (int i = 1; i < c->argc && args.len < 128; i++) {
        size_t room = 128 - args.len;
        buffer_append_char(&args, '\'');
        buffer_append(&args, c->argv[i], printable_length(c->argv[i], c->argv_len[i], room));
        buffer_append(&args, "' ", 2);
    }
    buffer text;
    buffer_init(&text);
    buffer_append_cstr(&text, "ERR unknown command '");
    buffer_append(&text, c->argv[0], printable_length(c->argv[0], c->argv_len[0], 128));
    buffer_append_cstr(&text, "', with args beginning with: ");
    if (args.len)
        buffer_append(&text, args.data, args.len);
    reject_len(c, NULL, text.data, text.len);
    buffer_release(&text);
    buffer_release(&args);
}

static void reply_unknown_subcommand(client *c, const command *parent)
{
    char upper[64];
    size_t n = 0;
    for (; parent->name[n] && n < sizeof(upper) - 1; n++)
        upper[n] =
            (char)(parent->name[n] >= 'a' && parent->name[n] <= 'z' ? parent->name[n] - 'a' + 'A'
                                                                    : parent->name[n]);
    upper[n] = '\0';
    buffer text;
    buffer_init(&text);
    buffer_append_cstr(&text, "ERR unknown subcommand '");
    buffer_append(&text, c->argv[1], printable_length(c->argv[1], c->argv_len[1], 128));
    buffer_appendf(&text, "'. Try %s HELP.", upper);
    reject_len(c, parent, text.data, text.len);
    buffer_release(&text);
}

static int arity_ok(const command *cmd, int argc)
{
    return cmd->arity > 0 ? argc == cmd->arity : argc >= -cmd->arity;
}

static int debug_allowed(const client *c)
{
    switch (server.config.enable_debug_command) {
    case DEBUG_COMMAND_YES:
        return 1;
    case DEBUG_COMMAND_LOCAL:
        return (c->flags & CLIENT_UNIX_SOCKET) || strncmp(c->address, "127.", 4) == 0 ||
               strncmp(c->address, "[::1]:", 6) == 0;
    default:
        return 0;
    }
}

/* Pipelines repeat the same command, so the client's previous top-level
 * command is tried first with a plain case-insensitive compare. */
static const command *lookup_top_level(client *c)
{
    const command *last = c->last_command;
    if (last) {
        if (last->parent)
            last = last->parent;
        size_t n = c->argv_len[0];
        if (strlen(last->name) == n && strncasecmp(last->name, c->argv[0], n) == 0)
            return last;
    }
    return command_lookup(c->argv[0], c->argv_len[0]);
}

static const command *resolve(client *c)
{
    const command *cmd = lookup_top_level(c);
    if (cmd == NULL) {
        reply_unknown_command(c);
        return NULL;
    }
    if (cmd->subcommands) {
        if (c->argc < 2 && cmd->handler)
            return cmd; /* COMMAND alone is a command of its own */
        if (c->argc < 2) {
            char text[160];
            snprintf(text, sizeof(text), "ERR wrong number of arguments for '%s' command",
                     cmd->name);
            reject(c, cmd, text);
            return NULL;
        }
        const command *sub = command_lookup_sub(cmd, c->argv[1], c->argv_len[1]);
        if (sub == NULL) {
            reply_unknown_subcommand(c, cmd);
            return NULL;
        }
        cmd = sub;
    }
    if (!arity_ok(cmd, c->argc)) {
        char name[96], text[192];
        snprintf(text, sizeof(text), "ERR wrong number of arguments for '%s' command",
                 command_full_name(cmd, name, sizeof(name)));
        reject(c, cmd, text);
        return NULL;
    }
    return cmd;
}

/* Runs one resolved command with its bookkeeping: stats, error counts, slow
 * log. EXEC calls it for each queued command. */
void dispatch_call(client *c, const command *cmd)
{
    /* The clock was read once for the whole read batch (net.c): a command
     * sees the time its batch arrived as one consistent "now", and the
     * per-command cost is two TSC reads. */
    size_t reply_start = c->reply.out.len;
    const command *previous = c->command;
    c->command = cmd;
    uint64_t start = clock_ticks();
    /* Propagation brackets the handler: the keys it touches become the
     * AOF's commands when it returns (rivet/aof.h). */
    propagate_call_begin(c);
    cmd->handler(c);
    propagate_call_end(c, cmd, reply_start);
    if (c->tracking && (cmd->flags & CMD_READONLY))
        tracking_remember_keys(c, cmd);
    int64_t duration = clock_ticks_to_us(clock_ticks() - start);
    cmd->stats->calls++;
    cmd->stats->microseconds += (uint64_t)duration;
    /* A reply that starts with '-' is an error: count it once here rather
     * than in every handler. */
    if (c->reply.out.len > reply_start && c->reply.out.data[reply_start] == '-') {
        cmd->stats->failed_calls++;
        errorstats_count(server.errorstats, c->reply.out.data + reply_start + 1);
    }
    if (!(cmd->flags & CMD_SKIP_SLOWLOG))
        slowlog_record(server.slowlog, server.config.slowlog_log_slower_than,
                       (size_t)server.config.slowlog_max_len, c->argc, c->argv, c->argv_len,
                       duration, server.now_ms / 1000, c->address, c->name);
    c->last_command = cmd;
    c->command = previous;
}

/* A RESP2 client with subscriptions can only run these: its connection
 * carries pushed messages, which RESP2 cannot tell from replies. */
static int runs_while_subscribed(const command *cmd)
{
    static const char *const names[] = {
        "subscribe",    "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe",
        "sunsubscribe", "ping",       "quit",       "reset",       NULL};
    if (cmd->parent)
        return 0;
    for (int i = 0; names[i]; i++)
        if (strcmp(cmd->name, names[i]) == 0)
            return 1;
    return 0;
}

/* Inside MULTI everything but these is queued, as in Redis. */
static int runs_inside_multi(const command *cmd)
{
    static const char *const names[] = {"exec", "discard", "multi", "watch", "quit", "reset", NULL};
    if (cmd->parent)
        return 0;
    for (int i = 0; names[i]; i++)
        if (strcmp(cmd->name, names[i]) == 0)
            return 1;
    return 0;
}

void server_execute(client *c)
{
    /* CLIENT REPLY SKIP applies to the command after it. */
    if (c->flags & CLIENT_REPLY_SKIP_NEXT) {
        c->flags &= ~CLIENT_REPLY_SKIP_NEXT;
        c->flags |= CLIENT_REPLY_SKIP;
    }
    size_t reply_start = c->reply.out.len;
    server.current_client = c;
    /* Non-NULL only while a script past busy-reply-threshold runs, and then
     * for the whole of this call (it is made from the script's hook). */
    const char *busy = script_busy_error();
    const command *cmd = resolve(c);
    if (cmd != NULL) {
        if (!(c->flags & CLIENT_AUTHENTICATED) && !(cmd->flags & CMD_NO_AUTH)) {
            reject(c, cmd, ERR_NOAUTH);
        } else if ((cmd->flags & CMD_PROTECTED) && !debug_allowed(c)) {
            char text[320];
            snprintf(text, sizeof(text),
                     "ERR %s command not allowed. If the enable-debug-command option is set to "
                     "\"local\", you can run it from a local connection, otherwise you need to "
                     "set this option in the configuration file, and then restart the server.",
                     cmd->name[0] == 'd' ? "DEBUG" : cmd->name);
            reject(c, cmd, text);
        } else if (busy && !(cmd->flags & CMD_ALLOW_BUSY)) {
            /* A script past busy-reply-threshold lets clients in only to
             * stop it (see net_serve_while_busy). */
            reject(c, cmd, busy);
        } else if (pubsub_client_subscribed(c) && client_protocol(c) == 2 &&
                   !runs_while_subscribed(cmd)) {
            char name[96], text[256];
            snprintf(text, sizeof(text),
                     "ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / "
                     "QUIT / RESET are allowed in this context",
                     command_full_name(cmd, name, sizeof(name)));
            reject(c, cmd, text);
        } else if (!busy && evict_before_command(c, cmd) != 0) {
            /* (Never evict while a script is busy: keys would vanish under
             * it. Only allow_busy commands get this far then.) */
            if (cmd->handler == command_exec && (c->flags & CLIENT_MULTI)) {
                /* The queued writes would grow memory: the whole transaction
                 * goes, as in Redis. */
                transaction_discard(c);
                watch_unwatch_all(c);
                reject(c, cmd, "EXECABORT Transaction discarded because of: " EVICT_OOM_ERROR);
            } else {
                reject(c, cmd, EVICT_OOM_ERROR);
            }
        } else if (((cmd->flags & CMD_WRITE) || cmd->handler == command_ping) &&
                   snapshot_writes_refused()) {
            /* The last BGSAVE failed: as Redis, refuse writes (and PING, so
             * monitoring notices) until a save succeeds. */
            reject(c, cmd, SNAPSHOT_MISCONF_ERROR);
        } else if ((cmd->flags & CMD_WRITE || cmd->handler == command_ping) &&
                   aof_writes_refused()) {
            /* The last AOF write failed: nothing more is acknowledged until
             * the file takes writes again (the cron retries). */
            char text[256];
            snprintf(text, sizeof(text), "%s%s", AOF_MISCONF_PREFIX, aof_write_error());
            reject(c, cmd, text);
        } else if (!(cmd->flags & CMD_LOADING) &&
                   (snapshot_get_status()->loading ||
                    (aof_get_status()->loading && !(c->flags & CLIENT_AOF_LOADER)))) {
            reject(c, cmd, "LOADING Redis is loading the dataset in memory");
        } else if ((c->flags & CLIENT_MULTI) && !runs_inside_multi(cmd)) {
            if (cmd->flags & CMD_NO_MULTI) {
                reject(c, cmd, "ERR Command not allowed inside a transaction");
            } else {
                transaction_enqueue(c, cmd);
                reply_status(&c->reply, "QUEUED");
            }
        } else {
            dispatch_call(c, cmd);
            /* Writes may have readied keys that blocked clients wait for;
             * they are served only between top-level commands, so nothing
             * runs inside a transaction or a busy script. */
            if (!busy)
                blocking_serve_ready();
        }
    }
    server.stats.commands_processed++;
    c->commands_processed++;
    if (c->flags & (CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP)) {
        c->reply.out.len = reply_start;
        if (c->reply.out.data)
            c->reply.out.data[reply_start] = '\0';
        c->flags &= ~CLIENT_REPLY_SKIP;
    }
    /* After the reply: invalidations of keys c changed itself. */
    tracking_after_command(c, cmd);
    server.current_client = NULL;
}
