/* Server commands as clients and operators use them: INFO's sections and the
 * fields client libraries parse, CONFIG GET/SET and their errors, the slow
 * log, COMMAND introspection, DEBUG SLEEP, SWAPDB, FLUSHALL/FLUSHDB, and a
 * clean exit (status 0) on SHUTDOWN, SIGTERM and SIGINT. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* ---------- small tools ---------- */

/* INFO's text; sections is "" for the default set, else space-separated
 * section names, each sent as its own argument. */
static char *info_text(redisContext *c, const char *sections)
{
    const char *argv[8] = {"INFO"};
    char words[128];
    snprintf(words, sizeof(words), "%s", sections);
    int argc = 1;
    for (char *word = strtok(words, " "); word && argc < 8; word = strtok(NULL, " "))
        argv[argc++] = word;
    redisReply *r = redisCommandArgv(c, argc, argv, NULL);
    if (!r)
        fail_msg("INFO %s: %s", sections, c->errstr);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    char *copy = strdup(r->str);
    freeReplyObject(r);
    return copy;
}

static bool has_line_starting(const char *info, const char *prefix)
{
    size_t n = strlen(prefix);
    for (const char *line = info; line && *line; line = strstr(line, "\r\n")) {
        if (line != info)
            line += 2;
        if (strncmp(line, prefix, n) == 0)
            return true;
    }
    return false;
}

static void expect_info_line(const char *info, const char *prefix)
{
    if (!has_line_starting(info, prefix))
        fail_msg("INFO has no line starting with '%s':\n%s", prefix, info);
}

static void expect_no_info_line(const char *info, const char *prefix)
{
    if (has_line_starting(info, prefix))
        fail_msg("INFO unexpectedly has a line starting with '%s':\n%s", prefix, info);
}

/* The two-element reply of CONFIG GET for one parameter. */
static void expect_config(redisContext *c, const char *name, const char *value)
{
    redisReply *r = harness_command(c, "CONFIG GET %s", name);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 2);
    assert_string_equal(r->element[0]->str, name);
    assert_string_equal(r->element[1]->str, value);
    freeReplyObject(r);
}

static int server_setup(void **state)
{
    *state = harness_start(NULL);
    return *state ? 0 : -1;
}

static int server_teardown(void **state)
{
    return harness_stop(*state) == 0 ? 0 : -1;
}

/* ---------- INFO ---------- */

static void test_info_has_the_fields_clients_parse(void **state)
{
    redisContext *c = harness_connect(*state);
    expect_status(c, "OK", "FLUSHALL");
    expect_status(c, "OK", "SET info:a 1");
    expect_status(c, "OK", "SET info:b 2");
    expect_status(c, "OK", "SET info:c 3 EX 100");

    char *info = info_text(c, "");
    static const char *const sections[] = {"# Server", "# Clients",     "# Memory", "# Persistence",
                                           "# Stats",  "# Replication", "# CPU",    "# Keyspace"};
    for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
        expect_info_line(info, sections[i]);
    expect_info_line(info, "redis_version:");
    expect_info_line(info, "redis_mode:standalone");
    expect_info_line(info, "connected_clients:");
    expect_info_line(info, "used_memory:");
    expect_info_line(info, "maxmemory:0");
    expect_info_line(info, "maxmemory_policy:noeviction");
    expect_info_line(info, "loading:0");
    expect_info_line(info, "role:master");
    expect_info_line(info, "connected_slaves:0");
    expect_info_line(info, "cluster_enabled:0");
    expect_info_line(info, "db0:keys=3,expires=1,avg_ttl=");
    char line[64];
    snprintf(line, sizeof(line), "tcp_port:%d\r\n", harness_port(*state));
    assert_non_null(strstr(info, line));
    snprintf(line, sizeof(line), "process_id:%d\r\n", (int)harness_pid(*state));
    assert_non_null(strstr(info, line));
    /* redis_version must parse as a version: digits and dots. */
    const char *version = strstr(info, "redis_version:") + strlen("redis_version:");
    assert_true(version[0] >= '6' && version[0] <= '9' && version[1] == '.');
    /* Every line is "# Section", "name:value" or empty, ended by CR LF. */
    for (const char *p = info; *p;) {
        const char *end = strstr(p, "\r\n");
        assert_non_null(end);
        assert_null(memchr(p, '\n', (size_t)(end - p)));
        if (end > p && p[0] != '#')
            assert_non_null(memchr(p, ':', (size_t)(end - p)));
        p = end + 2;
    }
    free(info);

    /* Sections can be asked for one by one, or several at once. */
    info = info_text(c, "keyspace");
    assert_true(strncmp(info, "# Keyspace\r\n", 12) == 0);
    expect_info_line(info, "db0:keys=3,expires=1,");
    expect_no_info_line(info, "redis_version:");
    free(info);
    info = info_text(c, "server");
    expect_info_line(info, "redis_version:");
    expect_no_info_line(info, "connected_clients:");
    free(info);
    info = info_text(c, "clients memory");
    expect_info_line(info, "connected_clients:");
    expect_info_line(info, "used_memory:");
    expect_no_info_line(info, "redis_version:");
    free(info);
    info = info_text(c, "everything");
    expect_info_line(info, "# Commandstats");
    expect_info_line(info, "cmdstat_set:calls=");
    free(info);
    redisFree(c);
}

/* ---------- CONFIG ---------- */

static void test_config_get_set_round_trip_and_errors(void **state)
{
    redisContext *c = harness_connect(*state);
    expect_status(c, "OK", "CONFIG SET slowlog-log-slower-than 12345");
    expect_config(c, "slowlog-log-slower-than", "12345");
    expect_status(c, "OK", "CONFIG SET slowlog-max-len 64 slowlog-log-slower-than 500");
    expect_config(c, "slowlog-max-len", "64");
    expect_config(c, "slowlog-log-slower-than", "500");
    expect_array_len(c, 4, "CONFIG GET slowlog-*");
    expect_array_len(c, 0, "CONFIG GET no-such-parameter");
    expect_status(c, "OK", "CONFIG SET maxmemory-policy allkeys-lru");
    expect_config(c, "maxmemory-policy", "allkeys-lru");
    expect_status(c, "OK", "CONFIG SET maxmemory-policy noeviction");

    expect_error(c, "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'",
                 "CONFIG SET nosuch 1");
    expect_error(c,
                 "ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set "
                 "immutable config",
                 "CONFIG SET daemonize yes");
    expect_error(c,
                 "ERR CONFIG SET failed (possibly related to argument 'slowlog-log-slower-than') "
                 "- argument couldn't be parsed into an integer",
                 "CONFIG SET slowlog-log-slower-than abc");
    expect_error(c,
                 "ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - "
                 "argument(s) must be one of the following: volatile-lru, volatile-lfu, "
                 "volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, "
                 "noeviction",
                 "CONFIG SET maxmemory-policy bogus");
    expect_error(c, "ERR wrong number of arguments for 'config|set' command",
                 "CONFIG SET slowlog-max-len");
    /* All or nothing: a bad pair undoes the good one before it. */
    expect_error_prefix(c,
                        "ERR CONFIG SET failed (possibly related to argument "
                        "'maxmemory-policy')",
                        "CONFIG SET slowlog-max-len 99 maxmemory-policy bogus");
    expect_config(c, "slowlog-max-len", "64");

    expect_status(c, "OK", "CONFIG SET slowlog-max-len 128 slowlog-log-slower-than 10000");
    redisFree(c);
}

/* ---------- SLOWLOG ---------- */

static void test_slowlog_records_commands_with_their_args(void **state)
{
    redisContext *c = harness_connect(*state);
    expect_status(c, "OK", "CONFIG SET slowlog-log-slower-than 0");
    expect_status(c, "OK", "CLIENT SETNAME slowpoke");
    expect_status(c, "OK", "SLOWLOG RESET");
    expect_status(c, "OK", "SET slow:key value");

    redisReply *r = harness_command(c, "SLOWLOG GET 1");
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 1);
    redisReply *entry = r->element[0];
    assert_int_equal(entry->type, REDIS_REPLY_ARRAY);
    assert_int_equal(entry->elements, 6);
    assert_int_equal(entry->element[0]->type, REDIS_REPLY_INTEGER); /* id */
    long long unix_now = (long long)time(NULL);
    assert_true(entry->element[1]->integer >= unix_now - 5 &&
                entry->element[1]->integer <= unix_now + 5);
    assert_true(entry->element[2]->integer >= 0); /* microseconds */
    redisReply *args = entry->element[3];
    assert_int_equal(args->elements, 3);
    assert_string_equal(args->element[0]->str, "SET");
    assert_string_equal(args->element[1]->str, "slow:key");
    assert_string_equal(args->element[2]->str, "value");
    struct sockaddr_in local;
    socklen_t local_len = sizeof(local);
    assert_int_equal(getsockname(c->fd, (struct sockaddr *)&local, &local_len), 0);
    char address[64];
    snprintf(address, sizeof(address), "127.0.0.1:%d", ntohs(local.sin_port));
    assert_string_equal(entry->element[4]->str, address);
    assert_string_equal(entry->element[5]->str, "slowpoke");
    long long set_id = entry->element[0]->integer;
    freeReplyObject(r);

    /* SLOWLOG RESET, SET and SLOWLOG GET itself: newest first. */
    expect_integer(c, 3, "SLOWLOG LEN");
    r = harness_command(c, "SLOWLOG GET -1");
    assert_int_equal(r->elements, 4);
    assert_string_equal(r->element[0]->element[3]->element[0]->str, "SLOWLOG");
    assert_string_equal(r->element[0]->element[3]->element[1]->str, "LEN");
    assert_int_equal(r->element[2]->element[0]->integer, set_id);
    assert_int_equal(r->element[1]->element[0]->integer, set_id + 1);
    assert_string_equal(r->element[3]->element[3]->element[1]->str, "RESET");
    freeReplyObject(r);
    expect_array_len(c, 0, "SLOWLOG GET 0");

    /* Long argument lists and long arguments are cut, saying how much. */
    expect_status(c, "OK", "SLOWLOG RESET");
    char long_arg[201];
    memset(long_arg, 'x', 200);
    long_arg[200] = '\0';
    const char *argv[41];
    argv[0] = "MSET";
    char keys[40][16];
    for (int i = 1; i < 41; i++) {
        snprintf(keys[i - 1], sizeof(keys[i - 1]), "%s%d", i % 2 ? "slow:k" : "", i);
        argv[i] = i == 2 ? long_arg : keys[i - 1];
    }
    r = redisCommandArgv(c, 41, argv, NULL);
    assert_non_null(r);
    assert_string_equal(r->str, "OK");
    freeReplyObject(r);
    r = harness_command(c, "SLOWLOG GET 1");
    args = r->element[0]->element[3];
    assert_int_equal(args->elements, 32);
    assert_string_equal(args->element[0]->str, "MSET");
    assert_int_equal(args->element[2]->len, 128 + strlen("... (72 more bytes)"));
    assert_string_equal(args->element[2]->str + 128, "... (72 more bytes)");
    assert_string_equal(args->element[31]->str, "... (10 more arguments)");
    freeReplyObject(r);

    /* The log keeps only the newest slowlog-max-len entries. */
    expect_status(c, "OK", "CONFIG SET slowlog-max-len 2");
    for (int i = 0; i < 5; i++)
        expect_status(c, "PONG", "PING");
    expect_integer(c, 2, "SLOWLOG LEN");
    /* -1 turns it off. */
    expect_status(c, "OK", "CONFIG SET slowlog-log-slower-than -1");
    expect_status(c, "OK", "SLOWLOG RESET");
    expect_status(c, "PONG", "PING");
    expect_integer(c, 0, "SLOWLOG LEN");
    expect_status(c, "OK", "CONFIG SET slowlog-max-len 128 slowlog-log-slower-than 10000");
    redisFree(c);
}

/* ---------- COMMAND ---------- */

static void test_command_introspection(void **state)
{
    redisContext *c = harness_connect(*state);
    redisReply *r = harness_command(c, "COMMAND COUNT");
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    long long count = r->integer;
    assert_true(count > 50);
    freeReplyObject(r);
    expect_array_len(c, (size_t)count, "COMMAND");

    r = harness_command(c, "COMMAND INFO get");
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 1);
    redisReply *get = r->element[0];
    assert_int_equal(get->type, REDIS_REPLY_ARRAY);
    assert_true(get->elements >= 6);
    assert_string_equal(get->element[0]->str, "get");
    assert_int_equal(get->element[1]->integer, 2); /* arity */
    assert_int_equal(get->element[3]->integer, 1); /* first key */
    assert_int_equal(get->element[4]->integer, 1); /* last key */
    assert_int_equal(get->element[5]->integer, 1); /* key step */
    freeReplyObject(r);

    r = harness_command(c, "COMMAND INFO nosuchcommand set");
    assert_int_equal(r->elements, 2);
    assert_int_equal(r->element[0]->type, REDIS_REPLY_NIL);
    assert_string_equal(r->element[1]->element[0]->str, "set");
    assert_int_equal(r->element[1]->element[1]->integer, -3);
    freeReplyObject(r);

    r = harness_command(c, "COMMAND GETKEYS MSET a 1 b 2");
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 2);
    assert_string_equal(r->element[0]->str, "a");
    assert_string_equal(r->element[1]->str, "b");
    freeReplyObject(r);
    r = harness_command(c, "COMMAND GETKEYS SET k v");
    assert_int_equal(r->elements, 1);
    assert_string_equal(r->element[0]->str, "k");
    freeReplyObject(r);
    expect_error(c, "ERR Invalid command specified", "COMMAND GETKEYS NOPE a");
    expect_error(c, "ERR Invalid number of arguments specified for command",
                 "COMMAND GETKEYS MSET a");
    redisFree(c);
}

/* In RESP2 an unknown command's entry is a null bulk ($-1), as Redis sends:
 * strict clients reject a null array there. */
static void test_command_info_unknown_command_is_a_null_bulk(void **state)
{
    const char *request = "COMMAND INFO nosuchcommand\r\n";
    harness_raw_reply reply =
        harness_raw_roundtrip(harness_port(*state), request, strlen(request), 200);
    char got[64];
    snprintf(got, sizeof(got), "%s", reply.data);
    harness_raw_free(&reply);
    assert_string_equal(got, "*1\r\n$-1\r\n");
}

/* ---------- DEBUG SLEEP, SWAPDB, FLUSHALL ---------- */

static void test_debug_sleep(void **state)
{
    redisContext *c = harness_connect(*state);
    expect_status(c, "OK", "DEBUG SLEEP 0");
    long long start = harness_now_ms();
    expect_status(c, "OK", "DEBUG SLEEP 0.2");
    long long took = harness_now_ms() - start;
    assert_true(took >= 190);
    assert_true(took < 5000);
    redisFree(c);
}

static void test_swapdb(void **state)
{
    redisContext *c = harness_connect(*state);
    redisContext *in_db1 = harness_connect(*state);
    expect_status(c, "OK", "FLUSHALL");
    expect_status(in_db1, "OK", "SELECT 1");
    expect_status(c, "OK", "SET swap:k zero");
    expect_status(in_db1, "OK", "SET swap:k one");
    expect_status(in_db1, "OK", "SET swap:only-in-1 x");

    expect_status(c, "OK", "SWAPDB 0 1");
    /* Both clients see the swapped contents of the db they selected. */
    expect_bulk(c, "one", "GET swap:k");
    expect_integer(c, 2, "DBSIZE");
    expect_bulk(in_db1, "zero", "GET swap:k");
    expect_integer(in_db1, 1, "DBSIZE");
    expect_status(c, "OK", "SWAPDB 1 0");
    expect_bulk(c, "zero", "GET swap:k");
    expect_status(c, "OK", "SWAPDB 0 0");
    expect_bulk(c, "zero", "GET swap:k");

    expect_error(c, "ERR DB index is out of range", "SWAPDB 0 99");
    expect_error(c, "ERR invalid first DB index", "SWAPDB a 1");
    expect_error(c, "ERR invalid second DB index", "SWAPDB 0 b");
    expect_error(c, "ERR wrong number of arguments for 'swapdb' command", "SWAPDB 0");
    redisFree(in_db1);
    redisFree(c);
}

static void test_flushall_and_flushdb(void **state)
{
    redisContext *c = harness_connect(*state);
    expect_status(c, "OK", "FLUSHALL");
    for (int db = 0; db < 3; db++) {
        expect_status(c, "OK", "SELECT %d", db);
        expect_status(c, "OK", "MSET flush:a 1 flush:b 2");
    }
    expect_status(c, "OK", "SELECT 1");
    expect_status(c, "OK", "FLUSHDB");
    expect_integer(c, 0, "DBSIZE");
    expect_status(c, "OK", "SELECT 0");
    expect_integer(c, 2, "DBSIZE");

    expect_status(c, "OK", "FLUSHALL");
    for (int db = 0; db < 3; db++) {
        expect_status(c, "OK", "SELECT %d", db);
        expect_integer(c, 0, "DBSIZE");
    }
    expect_status(c, "OK", "SELECT 0");
    char *info = info_text(c, "keyspace");
    assert_string_equal(info, "# Keyspace\r\n");
    free(info);
    expect_status(c, "OK", "SET flush:a 1");
    expect_status(c, "OK", "FLUSHALL ASYNC");
    expect_status(c, "OK", "FLUSHALL SYNC");
    expect_status(c, "OK", "FLUSHDB ASYNC");
    expect_integer(c, 0, "DBSIZE");
    expect_error(c, "ERR syntax error", "FLUSHALL x");
    redisFree(c);
}

/* ---------- stopping ---------- */

static bool wait_exit(harness_server *server, int timeout_ms)
{
    long long deadline = harness_now_ms() + timeout_ms;
    while (harness_alive(server)) {
        if (harness_now_ms() > deadline)
            return false;
        harness_sleep_ms(10);
    }
    return true;
}

static void test_shutdown_exits_with_status_0(void **state)
{
    harness_server *server = harness_start(NULL);
    redisContext *c = harness_connect(server);
    redisContext *bystander = harness_connect(server);
    expect_status(c, "OK", "SET shut:k v");
    expect_error(c, "ERR No shutdown in progress.", "SHUTDOWN ABORT");
    expect_error(c, "ERR syntax error", "SHUTDOWN sideways");
    assert_true(harness_alive(server));

    /* On success SHUTDOWN never replies: the connection just closes. */
    redisReply *r = redisCommand(c, "SHUTDOWN NOSAVE");
    assert_null(r);
    assert_int_not_equal(c->err, 0);
    assert_true(wait_exit(server, 5000));
    r = redisCommand(bystander, "PING");
    assert_null(r);
    redisFree(bystander);
    redisFree(c);
    /* harness_stop reads the status the process already exited with. */
    assert_int_equal(harness_stop(server), 0);
}

static void stop_by_signal(int signal_number)
{
    harness_server *server = harness_start(NULL);
    redisContext *c = harness_connect(server);
    expect_status(c, "OK", "SET sig:k v");
    /* A client in the middle of a request does not hold the exit up. */
    int port = harness_port(server);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons((uint16_t)port);
    assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    assert_int_equal(send(fd, "*2\r\n$3\r\nGET\r\n", 13, MSG_NOSIGNAL), 13);
    expect_status(c, "PONG", "PING"); /* the half request has been read by now */

    assert_int_equal(kill(harness_pid(server), signal_number), 0);
    assert_true(wait_exit(server, 5000));
    struct pollfd pfd = {fd, POLLIN, 0};
    assert_int_equal(poll(&pfd, 1, 2000), 1);
    char byte;
    assert_true(recv(fd, &byte, 1, 0) <= 0);
    close(fd);
    redisFree(c);
    assert_int_equal(harness_stop(server), 0);
}

static void test_sigterm_exits_with_status_0(void **state)
{
    stop_by_signal(SIGTERM);
}

static void test_sigint_exits_with_status_0(void **state)
{
    stop_by_signal(SIGINT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_info_has_the_fields_clients_parse),
        cmocka_unit_test(test_config_get_set_round_trip_and_errors),
        cmocka_unit_test(test_slowlog_records_commands_with_their_args),
        cmocka_unit_test(test_command_introspection),
        cmocka_unit_test(test_command_info_unknown_command_is_a_null_bulk),
        cmocka_unit_test(test_debug_sleep),
        cmocka_unit_test(test_swapdb),
        cmocka_unit_test(test_flushall_and_flushdb),
        cmocka_unit_test(test_shutdown_exits_with_status_0),
        cmocka_unit_test(test_sigterm_exits_with_status_0),
        cmocka_unit_test(test_sigint_exits_with_status_0),
    };
    return cmocka_run_group_tests(tests, server_setup, server_teardown);
}
