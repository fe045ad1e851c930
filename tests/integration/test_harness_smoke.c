/* Shows the integration harness works end to end: a real server on a free
 * port, hiredis commands with the expect_* assertions, raw protocol bytes, a
 * clean SIGTERM shutdown, and a crash being reported as a failure. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <string.h>

#include "harness.h"

static int server_setup(void **state)
{
    *state = harness_start(NULL);
    return *state ? 0 : -1;
}

static int server_teardown(void **state)
{
    return harness_stop(*state) == 0 ? 0 : -1;
}

static void test_ping(void **state)
{
    redisContext *c = harness_connect(*state);
    expect_status(c, "PONG", "PING");
    expect_bulk(c, "hello", "PING %s", "hello");
    redisFree(c);
}

static void test_set_get(void **state)
{
    redisContext *c = harness_connect(*state);
    expect_status(c, "OK", "SET %s %s", "smoke:k", "v");
    expect_bulk(c, "v", "GET %s", "smoke:k");
    expect_nil(c, "GET %s", "smoke:missing");
    expect_integer(c, 1, "DEL %s", "smoke:k");
    expect_integer(c, 0, "EXISTS %s", "smoke:k");

    /* Binary-safe values travel through %b and expect_bulk_len. */
    const char binary[] = {'a', '\0', 'b', '\r', '\n'};
    expect_status(c, "OK", "SET %s %b", "smoke:bin", binary, sizeof(binary));
    expect_bulk_len(c, binary, sizeof(binary), "GET %s", "smoke:bin");
    expect_integer(c, (long long)sizeof(binary), "STRLEN %s", "smoke:bin");

    expect_integer(c, 11, "INCRBY %s %d", "smoke:n", 11);
    expect_error(c, "ERR syntax error", "SET %s %s NX XX", "smoke:k", "v");
    expect_error(c, "ERR wrong number of arguments for 'get' command", "GET");
    expect_error_prefix(c, "ERR unknown command", "NOSUCHCOMMAND %s", "x");
    expect_array_len(c, 2, "MGET %s %s", "smoke:n", "smoke:missing");

    redisReply *reply = harness_command(c, "MGET %s %s", "smoke:n", "smoke:missing");
    assert_int_equal(reply->type, REDIS_REPLY_ARRAY);
    assert_string_equal(reply->element[0]->str, "11");
    assert_int_equal(reply->element[1]->type, REDIS_REPLY_NIL);
    freeReplyObject(reply);
    redisFree(c);
}

static void test_two_connections_share_the_keyspace(void **state)
{
    redisContext *a = harness_connect(*state);
    redisContext *b = harness_connect(*state);
    expect_status(a, "OK", "SET %s %s", "smoke:shared", "from-a");
    expect_bulk(b, "from-a", "GET %s", "smoke:shared");
    redisFree(a);
    redisFree(b);
}

static void test_raw_inline_and_protocol_error(void **state)
{
    int port = harness_port(*state);

    /* An inline command, then a split-free multibulk in the same packet. */
    const char ping_twice[] = "PING\r\n*1\r\n$4\r\nPING\r\n";
    harness_raw_reply reply = harness_raw_roundtrip(port, ping_twice, strlen(ping_twice), 100);
    assert_string_equal(reply.data, "+PONG\r\n+PONG\r\n");
    assert_false(reply.closed);
    harness_raw_free(&reply);

    /* A bad bulk length is a protocol error: one error reply, then close. */
    const char bad[] = "*1\r\n$x\r\n";
    reply = harness_raw_roundtrip(port, bad, strlen(bad), 1000);
    assert_string_equal(reply.data, "-ERR Protocol error: invalid bulk length\r\n");
    assert_true(reply.closed);
    harness_raw_free(&reply);
    assert_true(harness_alive(*state));
}

static void test_extra_args_reach_the_server(void **state)
{
    const char *const args[] = {"--databases", "2", NULL};
    harness_server *server = harness_start(args);
    redisContext *c = harness_connect(server);
    expect_status(c, "OK", "SELECT 1");
    expect_error(c, "ERR DB index is out of range", "SELECT 2");
    redisFree(c);
    assert_int_equal(harness_stop(server), 0);
}

static void test_stop_reports_a_killed_server(void **state)
{
    harness_server *server = harness_start(NULL);
    assert_true(harness_alive(server));
    kill(harness_pid(server), SIGKILL);
    /* harness_stop prints the log here; that output is expected. */
    assert_int_equal(harness_stop(server), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ping),
        cmocka_unit_test(test_set_get),
        cmocka_unit_test(test_two_connections_share_the_keyspace),
        cmocka_unit_test(test_raw_inline_and_protocol_error),
        cmocka_unit_test(test_extra_args_reach_the_server),
        cmocka_unit_test(test_stop_reports_a_killed_server),
    };
    return cmocka_run_group_tests(tests, server_setup, server_teardown);
}
