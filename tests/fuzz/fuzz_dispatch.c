/* Fuzzes the whole request path below the socket: bytes are parsed as client
 * requests and every command runs through dispatch and its handler against a
 * real keyspace, on a client with no connection. Crashes, sanitizer reports
 * and replies that are not well-formed RESP are failures. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rivet/blocking.h"
#include "rivet/errorstats.h"
#include "rivet/memory.h"
#include "rivet/resp_parse.h"
#include "rivet/server.h"
#include "rivet/slowlog.h"
#include "rivet/watch.h"

static client *fuzz_client;

static void fuzz_init(void)
{
    server_update_time();
    server.start_ms = server.now_ms;
    config_init_defaults(&server.config);
    /* Keep every allocation a request can cause small and fast. */
    server.config.proto_max_bulk_len = 1 << 20;
    server.config.databases = 4;
    server.random_state = 0x9E3779B97F4A7C15ull;
    server.active_expire_enabled = 1;
    server.keyspace = keyspace_create((int)server.config.databases, server.now_ms);
    keyspace_set_modified_hook(server.keyspace, server_key_modified, NULL);
    blocking_init();
    watch_init();
    command_register_types(server.keyspace);
    command_table_init();
    server.slowlog = slowlog_create();
    server.errorstats = errorstats_create();
    fuzz_client = client_create();
    fuzz_client->flags |= CLIENT_AUTHENTICATED;
    strcpy(fuzz_client->address, "127.0.0.1:1");
}

/* Commands that would block, sleep, touch the file system, fork or stop the
 * process are left out, and so are scripts and functions (fuzzed Lua can
 * loop forever, and the Lua engine is not fuzzed here); everything else
 * runs. */
static int skipped(const client *c)
{
    static const char *const names[] = {
        "debug", "shutdown", "config",   "eval", "evalsha", "eval_ro",      "evalsha_ro", "script",
        "fcall", "fcall_ro", "function", "save", "bgsave",  "bgrewriteaof", NULL};
    for (int i = 0; names[i]; i++)
        if (c->argv_len[0] == strlen(names[i]) &&
            strncasecmp(c->argv[0], names[i], c->argv_len[0]) == 0)
            return 1;
    return 0;
}

/* Length of one complete RESP reply at p, or 0 if malformed/truncated. */
static size_t reply_length(const char *p, size_t len, int depth)
{
    if (len < 3 || depth > 64)
        return 0;
    const char *end = memchr(p, '\n', len);
    if (end == NULL || end == p || end[-1] != '\r')
        return 0;
    size_t line = (size_t)(end - p) + 1;
    long long n = strtoll(p + 1, NULL, 10);
    switch (p[0]) {
    case '+':
    case '-':
    case ':':
    case '_':
    case '#':
    case ',':
    case '(':
        return line;
    case '$':
    case '=':
    case '!':
        if (n < 0)
            return line;
        return line + (size_t)n + 2 <= len ? line + (size_t)n + 2 : 0;
    case '*':
    case '~':
    case '>':
    case '%':
    case '|': {
        if (n < 0)
            return line;
        size_t total = line;
        long long items = (p[0] == '%' || p[0] == '|') ? n * 2 : n;
        for (long long i = 0; i < items; i++) {
            size_t one = reply_length(p + total, len - total, depth + 1);
            if (one == 0)
                return 0;
            total += one;
        }
        if (p[0] == '|') { /* an attribute is followed by the real reply */
            size_t one = reply_length(p + total, len - total, depth + 1);
            return one ? total + one : 0;
        }
        return total;
    }
    default:
        return 0;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fuzz_client == NULL)
        fuzz_init();
    client *c = fuzz_client;
    resp_parse_limits limits;
    resp_parse_limits_default(&limits);
    limits.max_bulk_len = 1 << 20;
    limits.max_multibulk_count = 4096;
    resp_parser parser;
    resp_parser_init(&parser, &limits);
    const char *buf = (const char *)data;
    size_t offset = 0;
    while (offset < size) {
        size_t consumed = 0, hint = 0;
        resp_parse_status status =
            resp_parse(&parser, buf + offset, size - offset, &consumed, &hint);
        if (status != RESP_PARSE_COMMAND)
            break;
        if (parser.argc > 0) {
            if (parser.argc > c->argv_cap) {
                c->argv_cap = parser.argc;
                c->argv = mem_realloc(c->argv, sizeof(*c->argv) * (size_t)c->argv_cap);
                c->argv_len = mem_realloc(c->argv_len, sizeof(*c->argv_len) * (size_t)c->argv_cap);
            }
            c->argc = parser.argc;
            for (int i = 0; i < parser.argc; i++)
                c->argv[i] = resp_parse_arg(&parser, buf + offset, i, &c->argv_len[i]);
            if (!skipped(c)) {
                server_execute(c);
                /* Whatever was written must be whole RESP replies. */
                size_t at = 0;
                while (at < c->reply.out.len) {
                    size_t one = reply_length(c->reply.out.data + at, c->reply.out.len - at, 0);
                    if (one == 0)
                        abort();
                    at += one;
                }
                /* Nothing else runs here to wake a blocked command. */
                if (client_is_blocked(c))
                    blocking_release_client(c, BLOCKING_RELEASE_TIMEOUT);
                buffer_clear(&c->reply.out);
                c->flags &= ~(CLIENT_CLOSE_AFTER_REPLY | CLIENT_CLOSE_ASAP);
            }
        }
        offset += consumed;
        if (consumed == 0)
            break;
    }
    resp_parser_release(&parser);
    /* Start every input from an empty server so runs stay independent. */
    for (int i = 0; i < keyspace_database_count(server.keyspace); i++)
        keyspace_flush(keyspace_database(server.keyspace, i));
    c->db = keyspace_database(server.keyspace, 0);
    c->reply.protocol = 2;
    c->flags &= ~(CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP | CLIENT_REPLY_SKIP_NEXT);
    return 0;
}
