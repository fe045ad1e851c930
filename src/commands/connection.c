/* Connection commands: PING ECHO QUIT RESET SELECT AUTH HELLO and CLIENT. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "handlers.h"
#include "rivet/blocking.h"
#include "rivet/transaction.h"
#include "rivet/watch.h"
#include "rivet/memory.h"
#include "rivet/net.h"
#include "rivet/pubsub.h"
#include "rivet/server.h"
#include "rivet/tracking.h"

void command_ping(client *c)
{
    if (c->argc > 2) {
        reply_error(&c->reply, "ERR wrong number of arguments for 'ping' command");
        return;
    }
    if (pubsub_reply_ping(c)) /* RESP2 subscribed mode: ["pong", message] */
        return;
    if (c->argc == 2)
        reply_bulk(&c->reply, c->argv[1], c->argv_len[1]);
    else
        reply_status(&c->reply, "PONG");
}

void command_echo(client *c)
{
    reply_bulk(&c->reply, c->argv[1], c->argv_len[1]);
}

void command_quit(client *c)
{
    reply_ok(&c->reply);
    c->flags |= CLIENT_CLOSE_AFTER_REPLY;
}

void command_reset(client *c)
{
    transaction_discard(c);
    watch_unwatch_all(c);
    pubsub_client_release(c);
    tracking_disable(c);
    c->db = keyspace_database(server.keyspace, 0);
    c->reply.protocol = 2;
    client_set_name(c, &c->name, NULL, 0);
    c->flags &= ~(CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP | CLIENT_REPLY_SKIP_NEXT | CLIENT_NO_EVICT |
                  CLIENT_NO_TOUCH);
    if (server.config.requirepass != NULL)
        c->flags &= ~CLIENT_AUTHENTICATED;
    reply_status(&c->reply, "RESET");
}

void command_select(client *c)
{
    int64_t index;
    if (!argument_int64(c, 1, &index))
        return;
    if (index < 0 || index >= keyspace_database_count(server.keyspace)) {
        reply_error(&c->reply, ERR_DB_RANGE);
        return;
    }
    c->db = keyspace_database(server.keyspace, (int)index);
    reply_ok(&c->reply);
}

/* Checks a username/password pair against the single "default" user. */
static int password_matches(const char *user, size_t user_len, const char *pass, size_t pass_len)
{
    if (user_len != 7 || memcmp(user, "default", 7) != 0)
        return 0;
    const char *expected = server.config.requirepass;
    if (expected == NULL)
        return 1; /* the default user has nopass */
    size_t n = strlen(expected);
    if (n != pass_len)
        return 0;
    /* Constant-time compare: a timing side channel should not leak it. */
    unsigned char diff = 0;
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(expected[i] ^ pass[i]);
    return diff == 0;
}

#define ERR_WRONGPASS "WRONGPASS invalid username-password pair or user is disabled."

void command_auth(client *c)
{
    if (c->argc > 3) {
        reply_error(&c->reply, ERR_SYNTAX);
        return;
    }
    if (c->argc == 2 && server.config.requirepass == NULL) {
        reply_error(&c->reply, "ERR AUTH <password> called without any password configured for "
                               "the default user. Are you sure your configuration is correct?");
        return;
    }
    const char *user = "default";
    size_t user_len = 7;
    int pass_index = 1;
    if (c->argc == 3) {
        user = c->argv[1];
        user_len = c->argv_len[1];
        pass_index = 2;
    }
    if (!password_matches(user, user_len, c->argv[pass_index], c->argv_len[pass_index])) {
        reply_error(&c->reply, ERR_WRONGPASS);
        return;
    }
    c->flags |= CLIENT_AUTHENTICATED;
    reply_ok(&c->reply);
}

void command_hello(client *c)
{
    int64_t version = 0;
    int next = 1;
    if (c->argc >= 2) {
        if (!argument_int64_or(c, 1, &version,
                               "ERR Protocol version is not an integer or out of range"))
            return;
        if (version < 2 || version > 3) {
            reply_error(&c->reply, "NOPROTO unsupported protocol version");
            return;
        }
        next = 2;
    }
    const char *name = NULL;
    size_t name_len = 0;
    int authenticated_here = 0;
    for (int i = next; i < c->argc; i++) {
        int more = c->argc - i - 1;
        if (argument_is(c, i, "AUTH") && more >= 2) {
            if (!password_matches(c->argv[i + 1], c->argv_len[i + 1], c->argv[i + 2],
                                  c->argv_len[i + 2])) {
                reply_error(&c->reply, ERR_WRONGPASS);
                return;
            }
            authenticated_here = 1;
            i += 2;
        } else if (argument_is(c, i, "SETNAME") && more >= 1) {
            name = c->argv[i + 1];
            name_len = c->argv_len[i + 1];
            for (size_t j = 0; j < name_len; j++) {
                if (name[j] < '!' || name[j] > '~') {
                    reply_error(&c->reply, "ERR Client names cannot contain spaces, newlines or "
                                           "special characters.");
                    return;
                }
            }
            i += 1;
        } else {
            reply_errorf(&c->reply, "ERR Syntax error in HELLO option '%.*s'",
                         (int)(c->argv_len[i] < 128 ? c->argv_len[i] : 128), c->argv[i]);
            return;
        }
    }
    if (authenticated_here)
        c->flags |= CLIENT_AUTHENTICATED;
    if (!(c->flags & CLIENT_AUTHENTICATED)) {
        reply_error(&c->reply, "NOAUTH HELLO must be called with the client already "
                               "authenticated, otherwise the HELLO <proto> AUTH <user> <pass> "
                               "option can be used to authenticate the client and select the "
                               "RESP protocol version at the same time");
        return;
    }
    if (name != NULL)
        client_set_name(c, &c->name, name, name_len);
    if (version)
        c->reply.protocol = (int)version;
    reply_writer *w = &c->reply;
    reply_map(w, 7);
    reply_bulk_cstr(w, "server");
    reply_bulk_cstr(w, "redis");
    reply_bulk_cstr(w, "version");
    reply_bulk_cstr(w, RIVET_REDIS_COMPAT_VERSION);
    reply_bulk_cstr(w, "proto");
    reply_integer(w, c->reply.protocol);
    reply_bulk_cstr(w, "id");
    reply_integer(w, (int64_t)c->id);
    reply_bulk_cstr(w, "mode");
    reply_bulk_cstr(w, "standalone");
    reply_bulk_cstr(w, "role");
    reply_bulk_cstr(w, "master");
    reply_bulk_cstr(w, "modules");
    reply_array(w, 0);
}

/* ---------- CLIENT ---------- */

void command_client_id(client *c)
{
    reply_integer(&c->reply, (int64_t)c->id);
}

static int valid_client_text(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] < '!' || s[i] > '~')
            return 0;
    return 1;
}

void command_client_setname(client *c)
{
    if (!valid_client_text(c->argv[2], c->argv_len[2])) {
        reply_error(&c->reply,
                    "ERR Client names cannot contain spaces, newlines or special characters.");
        return;
    }
    client_set_name(c, &c->name, c->argv[2], c->argv_len[2]);
    reply_ok(&c->reply);
}

void command_client_getname(client *c)
{
    if (c->name)
        reply_bulk_cstr(&c->reply, c->name);
    else
        reply_null(&c->reply);
}

void command_client_setinfo(client *c)
{
    char **field;
    const char *label;
    if (argument_is(c, 2, "lib-name")) {
        field = &c->lib_name;
        label = "lib-name";
    } else if (argument_is(c, 2, "lib-ver")) {
        field = &c->lib_version;
        label = "lib-ver";
    } else {
        reply_errorf(&c->reply, "ERR Unrecognized option '%.*s'", (int)c->argv_len[2], c->argv[2]);
        return;
    }
    if (!valid_client_text(c->argv[3], c->argv_len[3])) {
        reply_errorf(&c->reply, "ERR %s cannot contain spaces, newlines or special characters.",
                     label);
        return;
    }
    client_set_name(c, field, c->argv[3], c->argv_len[3]);
    reply_ok(&c->reply);
}

/* One CLIENT LIST line, fields in Redis 7.2's order. */
static void describe_client(const client *c, buffer *out)
{
    net_client_info info;
    net_get_client_info(c, &info);
    char flags[16];
    size_t n = 0;
    if (c->flags & CLIENT_CLOSE_AFTER_REPLY)
        flags[n++] = 'c';
    if (c->flags & CLIENT_NO_EVICT)
        flags[n++] = 'e';
    if (c->flags & CLIENT_NO_TOUCH)
        flags[n++] = 'T';
    if (pubsub_client_subscribed(c))
        flags[n++] = 'P';
    if (c->flags & CLIENT_MULTI)
        flags[n++] = 'x';
    if (client_is_blocked(c))
        flags[n++] = 'b';
    n += (size_t)tracking_client_flags(c, flags + n);
    if (c->flags & CLIENT_UNIX_SOCKET)
        flags[n++] = 'U';
    if (n == 0)
        flags[n++] = 'N';
    flags[n] = '\0';
    char cmd_name[96] = "NULL";
    const command *shown = c->command ? c->command : c->last_command;
    if (shown)
        command_full_name(shown, cmd_name, sizeof(cmd_name));
    int64_t age = (server.now_ms - c->created_ms) / 1000;
    int64_t idle = (server.now_ms - c->last_interaction_ms) / 1000;
    size_t total = info.query_buffer + info.query_buffer_free + info.output_memory;
    buffer_appendf(
        out,
        "id=%llu addr=%s laddr=%s fd=%d name=%s age=%lld idle=%lld flags=%s db=%d "
        "sub=%zu psub=%zu ssub=%zu multi=%d qbuf=%zu qbuf-free=%zu argv-mem=0 multi-mem=0 "
        "rbs=%zu rbp=%zu obl=%zu oll=0 omem=%zu tot-mem=%zu events=r%s cmd=%s "
        "user=default redir=%lld resp=%d lib-name=%s lib-ver=%s\n",
        (unsigned long long)c->id, c->address, c->local_address, info.fd, c->name ? c->name : "",
        (long long)age, (long long)idle, flags, database_id(c->db),
        pubsub_client_count(c, PUBSUB_CHANNEL), pubsub_client_count(c, PUBSUB_PATTERN),
        pubsub_client_count(c, PUBSUB_SHARD), transaction_length(c), info.query_buffer,
        info.query_buffer_free, info.query_buffer + info.query_buffer_free, info.query_buffer,
        info.output_buffer, info.output_memory, total, info.writing ? "w" : "", cmd_name,
        (long long)tracking_redirect(c), c->reply.protocol, c->lib_name ? c->lib_name : "",
        c->lib_version ? c->lib_version : "");
}

typedef struct list_filter {
    buffer *out;
    const client *self;
    int64_t *ids;
    int id_count;
} list_filter;

static void list_one(void *ctx, client *other)
{
    list_filter *filter = ctx;
    if (filter->ids) {
        int wanted = 0;
        for (int i = 0; i < filter->id_count; i++)
            if ((uint64_t)filter->ids[i] == other->id)
                wanted = 1;
        if (!wanted)
            return;
    }
    describe_client(other, filter->out);
}

void command_client_list(client *c)
{
    list_filter filter = {0};
    buffer out;
    buffer_init(&out);
    filter.out = &out;
    filter.self = c;
    if (c->argc == 4 && argument_is(c, 2, "TYPE")) {
        if (!argument_is(c, 3, "normal") && !argument_is(c, 3, "master") &&
            !argument_is(c, 3, "replica") && !argument_is(c, 3, "slave") &&
            !argument_is(c, 3, "pubsub")) {
            reply_errorf(&c->reply, "ERR Unknown client type '%.*s'", (int)c->argv_len[3],
                         c->argv[3]);
            buffer_release(&out);
            return;
        }
        if (argument_is(c, 3, "normal"))
            net_for_each_client(list_one, &filter);
    } else if (c->argc >= 4 && argument_is(c, 2, "ID")) {
        filter.id_count = c->argc - 3;
        filter.ids = mem_alloc(sizeof(int64_t) * (size_t)filter.id_count);
        for (int i = 0; i < filter.id_count; i++) {
            if (!argument_int64_or(c, 3 + i, &filter.ids[i], "ERR Invalid client ID") ||
                filter.ids[i] <= 0) {
                if (filter.ids[i] <= 0 && c->reply.out.len == 0)
                    reply_error(&c->reply, "ERR Invalid client ID");
                mem_free(filter.ids);
                buffer_release(&out);
                return;
            }
        }
        net_for_each_client(list_one, &filter);
        mem_free(filter.ids);
    } else if (c->argc != 2) {
        reply_error(&c->reply, ERR_SYNTAX);
        buffer_release(&out);
        return;
    } else {
        net_for_each_client(list_one, &filter);
    }
    reply_verbatim(&c->reply, out.data ? out.data : "", out.len, "txt");
    buffer_release(&out);
}

void command_client_info(client *c)
{
    buffer out;
    buffer_init(&out);
    describe_client(c, &out);
    reply_verbatim(&c->reply, out.data, out.len, "txt");
    buffer_release(&out);
}

typedef struct kill_filter {
    client *self;
    int64_t id;
    const char *addr, *laddr;
    size_t addr_len, laddr_len;
    int type; /* -1 any, 0 normal, 1 other */
    int skip_me;
    int64_t max_age;
    int killed;
} kill_filter;

static void kill_one(void *ctx, client *other)
{
    kill_filter *f = ctx;
    if (f->skip_me && other == f->self)
        return;
    if (f->id && (uint64_t)f->id != other->id)
        return;
    if (f->addr && (strlen(other->address) != f->addr_len ||
                    memcmp(other->address, f->addr, f->addr_len) != 0))
        return;
    if (f->laddr && (strlen(other->local_address) != f->laddr_len ||
                     memcmp(other->local_address, f->laddr, f->laddr_len) != 0))
        return;
    if (f->type == 1)
        return;
    if (f->max_age && (server.now_ms - other->created_ms) / 1000 < f->max_age)
        return;
    f->killed++;
    if (other == f->self)
        other->flags |= CLIENT_CLOSE_AFTER_REPLY;
    else
        net_close_client(other);
}

void command_client_kill(client *c)
{
    kill_filter f = {.self = c, .type = -1, .skip_me = 1};
    if (c->argc == 3) {
        /* Old form: CLIENT KILL addr:port. */
        f.addr = c->argv[2];
        f.addr_len = c->argv_len[2];
        f.skip_me = 0;
        net_for_each_client(kill_one, &f);
        if (f.killed == 0)
            reply_error(&c->reply, "ERR No such client");
        else
            reply_ok(&c->reply);
        return;
    }
    if (c->argc % 2 != 0) {
        reply_error(&c->reply, ERR_SYNTAX);
        return;
    }
    for (int i = 2; i < c->argc; i += 2) {
        if (argument_is(c, i, "ID")) {
            if (!argument_int64_or(c, i + 1, &f.id, "ERR client-id should be greater than 0"))
                return;
            if (f.id <= 0) {
                reply_error(&c->reply, "ERR client-id should be greater than 0");
                return;
            }
        } else if (argument_is(c, i, "ADDR")) {
            f.addr = c->argv[i + 1];
            f.addr_len = c->argv_len[i + 1];
        } else if (argument_is(c, i, "LADDR")) {
            f.laddr = c->argv[i + 1];
            f.laddr_len = c->argv_len[i + 1];
        } else if (argument_is(c, i, "TYPE")) {
            if (argument_is(c, i + 1, "normal"))
                f.type = 0;
            else if (argument_is(c, i + 1, "master") || argument_is(c, i + 1, "replica") ||
                     argument_is(c, i + 1, "slave") || argument_is(c, i + 1, "pubsub"))
                f.type = 1;
            else {
                reply_errorf(&c->reply, "ERR Unknown client type '%.*s'", (int)c->argv_len[i + 1],
                             c->argv[i + 1]);
                return;
            }
        } else if (argument_is(c, i, "USER")) {
            if (!(c->argv_len[i + 1] == 7 && memcmp(c->argv[i + 1], "default", 7) == 0)) {
                reply_errorf(&c->reply, "ERR No such user '%.*s'", (int)c->argv_len[i + 1],
                             c->argv[i + 1]);
                return;
            }
        } else if (argument_is(c, i, "SKIPME")) {
            if (argument_is(c, i + 1, "yes"))
                f.skip_me = 1;
            else if (argument_is(c, i + 1, "no"))
                f.skip_me = 0;
            else {
                reply_error(&c->reply, ERR_SYNTAX);
                return;
            }
        } else if (argument_is(c, i, "MAXAGE")) {
            if (!argument_int64(c, i + 1, &f.max_age))
                return;
        } else {
            reply_error(&c->reply, ERR_SYNTAX);
            return;
        }
    }
    net_for_each_client(kill_one, &f);
    reply_integer(&c->reply, f.killed);
}

static void set_flag_on_off(client *c, uint32_t flag)
{
    if (argument_is(c, 2, "on"))
        c->flags |= flag;
    else if (argument_is(c, 2, "off"))
        c->flags &= ~flag;
    else {
        reply_error(&c->reply, ERR_SYNTAX);
        return;
    }
    reply_ok(&c->reply);
}

void command_client_no_evict(client *c)
{
    set_flag_on_off(c, CLIENT_NO_EVICT);
}

void command_client_no_touch(client *c)
{
    set_flag_on_off(c, CLIENT_NO_TOUCH);
}

void command_client_reply(client *c)
{
    if (argument_is(c, 2, "on")) {
        c->flags &= ~(CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP_NEXT | CLIENT_REPLY_SKIP);
        reply_ok(&c->reply);
    } else if (argument_is(c, 2, "off")) {
        c->flags |= CLIENT_REPLY_OFF;
    } else if (argument_is(c, 2, "skip")) {
        if (!(c->flags & CLIENT_REPLY_OFF))
            c->flags |= CLIENT_REPLY_SKIP_NEXT;
    } else {
        reply_error(&c->reply, ERR_SYNTAX);
    }
}

void command_client_unblock(client *c)
{
    int64_t id;
    if (!argument_int64(c, 2, &id))
        return;
    int how = BLOCKING_RELEASE_TIMEOUT;
    if (c->argc == 4) {
        if (argument_is(c, 3, "timeout"))
            how = BLOCKING_RELEASE_TIMEOUT;
        else if (argument_is(c, 3, "error"))
            how = BLOCKING_RELEASE_ERROR;
        else {
            reply_error(&c->reply, "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
            return;
        }
    } else if (c->argc > 4) {
        reply_error(&c->reply, ERR_SYNTAX);
        return;
    }
    client *target = net_find_client((uint64_t)id);
    if (target == NULL || !client_is_blocked(target)) {
        reply_integer(&c->reply, 0);
        return;
    }
    blocking_release_client(target, how);
    reply_integer(&c->reply, 1);
}

/* CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX p ...] [BCAST] [OPTIN] [OPTOUT]
 * [NOLOOP] */
void command_client_tracking(client *c)
{
    int on;
    if (argument_is(c, 2, "on"))
        on = 1;
    else if (argument_is(c, 2, "off"))
        on = 0;
    else {
        reply_error(&c->reply, ERR_SYNTAX);
        return;
    }
    int options = 0, prefix_count = 0;
    uint64_t redirect = 0;
    const char **prefixes = mem_alloc(sizeof(*prefixes) * (size_t)c->argc);
    size_t *prefix_lens = mem_alloc(sizeof(*prefix_lens) * (size_t)c->argc);
    for (int i = 3; i < c->argc; i++) {
        int more = c->argc - i - 1;
        if (argument_is(c, i, "redirect") && more >= 1) {
            int64_t id;
            if (!argument_int64(c, ++i, &id))
                goto done;
            if (net_find_client((uint64_t)id) == NULL) {
                reply_error(&c->reply, "ERR The client ID you want redirect to does not exist");
                goto done;
            }
            redirect = (uint64_t)id;
        } else if (argument_is(c, i, "bcast")) {
            options |= TRACKING_BCAST;
        } else if (argument_is(c, i, "optin")) {
            options |= TRACKING_OPTIN;
        } else if (argument_is(c, i, "optout")) {
            options |= TRACKING_OPTOUT;
        } else if (argument_is(c, i, "noloop")) {
            options |= TRACKING_NOLOOP;
        } else if (argument_is(c, i, "prefix") && more >= 1) {
            i++;
            prefixes[prefix_count] = c->argv[i];
            prefix_lens[prefix_count++] = c->argv_len[i];
        } else {
            reply_error(&c->reply, ERR_SYNTAX);
            goto done;
        }
    }
    if (on) {
        if (!(options & TRACKING_BCAST) && prefix_count > 0) {
            reply_error(&c->reply, "ERR PREFIX option requires BCAST mode to be enabled");
            goto done;
        }
        char *error;
        if (tracking_enable(c, options, redirect, prefixes, prefix_lens, prefix_count, &error) !=
            0) {
            reply_error(&c->reply, error);
            tracking_error_free(error);
            goto done;
        }
    } else {
        tracking_disable(c);
    }
    reply_ok(&c->reply);
done:
    mem_free(prefixes);
    mem_free(prefix_lens);
}

void command_client_getredir(client *c)
{
    reply_integer(&c->reply, tracking_redirect(c));
}

void command_client_trackinginfo(client *c)
{
    tracking_reply_info(c);
}

/* CLIENT CACHING yes|no */
void command_client_caching(client *c)
{
    int yes = -1;
    if (argument_is(c, 2, "yes"))
        yes = 1;
    else if (argument_is(c, 2, "no"))
        yes = 0;
    const char *error;
    if (tracking_set_caching(c, yes, &error) != 0)
        reply_error(&c->reply, error);
    else
        reply_ok(&c->reply);
}

void command_client_help(client *c)
{
    static const char *const lines[] = {
        "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CACHING (YES|NO)",
        "    In OPTIN / OPTOUT tracking: do (or do not) track the keys of the next command.",
        "GETREDIR",
        "    Return the id of the client invalidations are redirected to (0 none, -1 off).",
        "GETNAME",
        "    Return the name of the current connection.",
        "ID",
        "    Return the ID of the current connection.",
        "INFO",
        "    Return information about the current client connection.",
        "KILL <ip:port>",
        "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Kill connections. Options are: ID, ADDR, LADDR, TYPE, USER, SKIPME, MAXAGE.",
        "LIST [options ...]",
        "    Return information about client connections. Options: TYPE <type>, ID <id> [...].",
        "NO-EVICT (ON|OFF)",
        "    Protect the current client connection from eviction.",
        "NO-TOUCH (ON|OFF)",
        "    Do not change the last access time of keys read by this connection.",
        "REPLY (ON|OFF|SKIP)",
        "    Control the replies sent to the current connection.",
        "SETNAME <name>",
        "    Assign the name <name> to the current connection.",
        "UNBLOCK <clientid> [TIMEOUT|ERROR]",
        "    Unblock the specified blocked client.",
        "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]] [OPTIN] [OPTOUT]",
        "         [NOLOOP]",
        "    Turn server-assisted client-side caching on or off.",
        "TRACKINGINFO",
        "    Show the tracking mode, redirection and prefixes of this connection.",
        "SETINFO <option> <value>",
        "    Set client meta attributes: LIB-NAME or LIB-VER.",
        "HELP",
        "    Print this help.",
        NULL};
    reply_help(c, lines);
}
