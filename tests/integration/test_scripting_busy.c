/* Long-running scripts through a real server: past busy-reply-threshold the
 * other clients (already connected or connecting meanwhile) get -BUSY,
 * SCRIPT KILL ends a script that has not written, a script that wrote is
 * UNKILLABLE and only SHUTDOWN NOSAVE ends it (the server then exits
 * cleanly), and clients blocked on a key the script wrote are served only
 * after the script. The threshold is 100 ms so the tests run fast.
 * RIVET_SERVER=redis-server runs the same checks against Redis. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define BUSY_EVAL                                                                                  \
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
#define UNKILLABLE                                                                                 \
    "UNKILLABLE Sorry the script already executed write commands against the dataset. You can "    \
    "either wait the script termination or kill the server in a hard way using the SHUTDOWN "      \
    "NOSAVE command."
#define BUSY_FUNCTION                                                                              \
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
#define SPIN         "while true do end"
#define SPIN_SHA     "694a5fe1ddb97a4c6a1bf299d9537c7d3d0f84e7"
#define COUNT_LOOP   "local i = 0 while i < tonumber(ARGV[1]) do i = i + 1 end "
#define COUNT_SCRIPT COUNT_LOOP "return i"

static const char *const server_args[] = {"--busy-reply-threshold", "100", NULL};

/* The INFO fields checked here are Rivet's own. */
static int against_redis(void)
{
    const char *binary = getenv("RIVET_SERVER");
    return binary && strstr(binary, "redis-server") != NULL;
}

/* Sends a command without waiting for its reply. */
static void send_only(redisContext *c, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    int rc = redisvAppendCommand(c, format, ap);
    va_end(ap);
    assert_int_equal(rc, REDIS_OK);
    int done = 0;
    while (!done)
        assert_int_equal(redisBufferWrite(c, &done), REDIS_OK);
}

static redisReply *read_reply(redisContext *c)
{
    void *reply = NULL;
    if (redisGetReply(c, &reply) != REDIS_OK || reply == NULL)
        fail_msg("reading a reply: %s", c->errstr);
    return reply;
}

static void expect_reply_error(redisContext *c, const char *error)
{
    redisReply *r = read_reply(c);
    if (r->type != REDIS_REPLY_ERROR || strcmp(r->str, error) != 0)
        fail_msg("expected error '%s', got type %d '%s'", error, r->type, r->str ? r->str : "");
    freeReplyObject(r);
}

static void expect_reply_integer(redisContext *c, long long value)
{
    redisReply *r = read_reply(c);
    if (r->type != REDIS_REPLY_INTEGER || r->integer != value)
        fail_msg("expected :%lld, got type %d (%lld, '%s')", value, r->type, r->integer,
                 r->str ? r->str : "");
    freeReplyObject(r);
}

/* The connection was closed by the server: the next read fails. */
static void expect_closed(redisContext *c)
{
    void *reply = NULL;
    int rc = redisGetReply(c, &reply);
    if (rc == REDIS_OK && reply != NULL) {
        redisReply *r = reply;
        fail_msg("expected the connection to close, got type %d '%s'", r->type,
                 r->str ? r->str : "");
    }
}

/* PINGs through c until the script that was just sent turns busy: the
 * first PINGs may even arrive before the script does. */
static void wait_busy_with(redisContext *c, const char *busy_error)
{
    long long deadline = harness_now_ms() + 5000;
    for (;;) {
        redisReply *r = harness_command(c, "PING");
        int busy = r->type == REDIS_REPLY_ERROR && strcmp(r->str, busy_error) == 0;
        if (!busy && (r->type != REDIS_REPLY_STATUS || strcmp(r->str, "PONG") != 0))
            fail_msg("PING while waiting for the script: type %d '%s'", r->type,
                     r->str ? r->str : "");
        freeReplyObject(r);
        if (busy)
            return;
        if (harness_now_ms() > deadline)
            fail_msg("the script never turned busy");
        harness_sleep_ms(5);
    }
}

static void wait_busy(redisContext *c)
{
    wait_busy_with(c, BUSY_EVAL);
}

/* Loop iterations COUNT_SCRIPT does in about target_ms, measured with the
 * threshold out of the way, so timing holds in sanitizer builds too. */
static long long iterations_for(redisContext *c, long long target_ms)
{
    expect_status(c, "OK", "CONFIG SET busy-reply-threshold 1000000");
    long long n = 1000000;
    long long start = harness_now_ms();
    expect_integer(c, n, "EVAL %s 0 %lld", COUNT_SCRIPT, n);
    long long took = harness_now_ms() - start;
    expect_status(c, "OK", "CONFIG SET busy-reply-threshold 100");
    if (took < 1)
        took = 1;
    return n * target_ms / took;
}

static void test_busy_clients_and_script_kill(void **state)
{
    (void)state;
    harness_server *server = harness_start(server_args);
    redisContext *a = harness_connect(server);
    redisContext *b = harness_connect(server);
    expect_error(b, "NOTBUSY No scripts in execution right now.", "SCRIPT KILL");

    send_only(a, "EVAL %s 0", SPIN);
    /* b's commands wait until the script passes 100 ms, then get BUSY. */
    wait_busy(b);
    expect_error(b, BUSY_EVAL, "GET x");
    expect_error(b, BUSY_EVAL, "SHUTDOWN");
    /* Transactions may start and be discarded; queued commands get BUSY. */
    expect_status(b, "OK", "MULTI");
    expect_error(b, BUSY_EVAL, "SET x 1");
    expect_status(b, "OK", "DISCARD");
    /* A client that connects while the script runs is answered too. */
    redisContext *late = harness_connect(server);
    redisReply *r;
    expect_error(late, BUSY_EVAL, "PING");

    expect_error(late, BUSY_EVAL, "FUNCTION KILL");
    r = harness_command(late, "FUNCTION STATS");
    assert_int_equal(r->type, REDIS_REPLY_ERROR);
    assert_string_equal(r->str, BUSY_EVAL);
    freeReplyObject(r);
    expect_status(late, "OK", "SCRIPT KILL");
    expect_reply_error(a, "ERR Script killed by user with SCRIPT KILL... script: " SPIN_SHA
                          ", on @user_script:1.");
    /* Everyone is served normally again, the script's caller included, and
     * the connection accepted during the script now runs on the loop. */
    expect_status(b, "PONG", "PING");
    expect_status(a, "PONG", "PING");
    expect_status(late, "OK", "SET fromlate 1");
    expect_bulk(b, "1", "GET fromlate");
    expect_integer(late, 1, "DEL fromlate");
    expect_nil(b, "GET x");
    if (!against_redis()) {
        assert_int_equal(harness_info_number(b, "stats", "script_busy"), 0);
        assert_int_equal(harness_info_number(b, "stats", "total_busy_scripts"), 1);
        assert_int_equal(harness_info_number(b, "stats", "total_killed_scripts"), 1);
    }
    expect_error(b, "NOTBUSY No scripts in execution right now.", "SCRIPT KILL");
    /* pcall cannot catch the kill. */
    send_only(a, "EVAL %s 0", "while true do pcall(function() while true do end end) end");
    wait_busy(b);
    expect_status(b, "OK", "SCRIPT KILL");
    r = read_reply(a);
    assert_int_equal(r->type, REDIS_REPLY_ERROR);
    assert_non_null(strstr(r->str, "ERR Script killed by user with SCRIPT KILL..."));
    freeReplyObject(r);
    expect_status(a, "PONG", "PING");

    redisFree(late);
    redisFree(a);
    redisFree(b);
    assert_int_equal(harness_stop(server), 0);
}

static void test_unkillable_script_ends_with_shutdown_nosave(void **state)
{
    (void)state;
    harness_server *server = harness_start(server_args);
    redisContext *a = harness_connect(server);
    redisContext *b = harness_connect(server);
    send_only(a, "EVAL %s 1 k", "redis.call('SET', KEYS[1], 'v') while true do end");
    wait_busy(b);
    expect_error(b, BUSY_EVAL, "GET k");
    expect_error(b, UNKILLABLE, "SCRIPT KILL");
    expect_error(b, BUSY_EVAL, "SHUTDOWN");
    expect_error(b, BUSY_EVAL, "SHUTDOWN SAVE");
    assert_true(harness_alive(server));
    send_only(b, "SHUTDOWN NOSAVE");
    expect_closed(b);
    expect_closed(a);
    long long deadline = harness_now_ms() + 5000;
    while (harness_alive(server) && harness_now_ms() < deadline)
        harness_sleep_ms(10);
    assert_false(harness_alive(server));
    redisFree(a);
    redisFree(b);
    /* It exited by itself, with status 0. */
    assert_int_equal(harness_stop(server), 0);
}

static void test_threshold_is_configurable_and_scripts_finish(void **state)
{
    (void)state;
    harness_server *server = harness_start(server_args);
    redisContext *a = harness_connect(server);
    redisContext *b = harness_connect(server);
    redisContext *waiter = harness_connect(server);
    redisReply *r = harness_command(b, "CONFIG GET lua-time-limit");
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 2);
    assert_string_equal(r->element[1]->str, "100");
    freeReplyObject(r);
    long long n = iterations_for(a, 600);

    /* Under the threshold nobody notices: b's PING waits, then PONGs. */
    expect_status(b, "OK", "CONFIG SET lua-time-limit 100000");
    send_only(a, "EVAL %s 0 %lld", COUNT_SCRIPT, n);
    expect_status(b, "PONG", "PING");
    expect_reply_integer(a, n);
    if (!against_redis())
        assert_int_equal(harness_info_number(b, "stats", "total_busy_scripts"), 0);

    /* Past it, others get BUSY while the script goes on to its end; a
     * client blocked on the list the script pushed to is served only after
     * the script (the script still sees its element at the end). */
    expect_status(b, "OK", "CONFIG SET busy-reply-threshold 100");
    send_only(waiter, "BLPOP list 0");
    harness_sleep_ms(50);
    send_only(a, "EVAL %s 1 list %lld",
              "redis.call('RPUSH', KEYS[1], 'x') " COUNT_LOOP "return redis.call('LLEN', KEYS[1])",
              n);
    wait_busy(b);
    expect_status(b, "OK", "MULTI"); /* a command that runs during the script */
    expect_status(b, "OK", "DISCARD");
    expect_error(b, UNKILLABLE, "SCRIPT KILL");
    expect_reply_integer(a, 1);
    r = read_reply(waiter);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 2);
    assert_string_equal(r->element[1]->str, "x");
    freeReplyObject(r);
    expect_status(b, "PONG", "PING");
    expect_integer(b, 0, "EXISTS list");

    redisFree(waiter);
    redisFree(a);
    redisFree(b);
    assert_int_equal(harness_stop(server), 0);
}

static void test_function_kill_and_stats(void **state)
{
    (void)state;
    harness_server *server = harness_start(server_args);
    redisContext *a = harness_connect(server);
    redisContext *b = harness_connect(server);
    expect_bulk(a, "spinlib", "FUNCTION LOAD %s",
                "#!lua name=spinlib\n"
                "redis.register_function('spin', function(keys, args) while true do end end)\n"
                "redis.register_function('spinw', function(keys, args)\n"
                "  redis.call('SET', keys[1], args[1]) while true do end end)");
    expect_error(b, "NOTBUSY No scripts in execution right now.", "FUNCTION KILL");

    send_only(a, "FCALL spin 1 key arg");
    wait_busy_with(b, BUSY_FUNCTION);
    expect_error(b, BUSY_FUNCTION, "GET key");
    /* SCRIPT KILL is for EVAL scripts: the reply names the right command. */
    expect_error(b, BUSY_FUNCTION, "SCRIPT KILL");
    /* FUNCTION STATS shows what runs: name, the caller's command, time. */
    redisReply *r = harness_command(b, "FUNCTION STATS");
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 4);
    assert_string_equal(r->element[0]->str, "running_script");
    redisReply *running = r->element[1];
    assert_int_equal(running->type, REDIS_REPLY_ARRAY);
    assert_int_equal(running->elements, 6);
    assert_string_equal(running->element[0]->str, "name");
    assert_string_equal(running->element[1]->str, "spin");
    assert_string_equal(running->element[2]->str, "command");
    assert_int_equal(running->element[3]->elements, 5);
    assert_string_equal(running->element[3]->element[0]->str, "FCALL");
    assert_string_equal(running->element[3]->element[4]->str, "arg");
    assert_string_equal(running->element[4]->str, "duration_ms");
    assert_true(running->element[5]->integer >= 100);
    freeReplyObject(r);
    expect_status(b, "OK", "FUNCTION KILL");
    expect_reply_error(a, "ERR Script killed by user with SCRIPT KILL... script: spin, on "
                          "@user_function:2.");
    expect_status(a, "PONG", "PING");

    /* A function that wrote cannot be killed either. */
    send_only(a, "FCALL spinw 1 key value");
    wait_busy_with(b, BUSY_FUNCTION);
    expect_error(b, UNKILLABLE, "FUNCTION KILL");
    send_only(b, "SHUTDOWN NOSAVE");
    expect_closed(b);
    expect_closed(a);
    long long deadline = harness_now_ms() + 5000;
    while (harness_alive(server) && harness_now_ms() < deadline)
        harness_sleep_ms(10);
    assert_false(harness_alive(server));
    redisFree(a);
    redisFree(b);
    assert_int_equal(harness_stop(server), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_busy_clients_and_script_kill),
        cmocka_unit_test(test_unkillable_script_ends_with_shutdown_nosave),
        cmocka_unit_test(test_threshold_is_configurable_and_scripts_finish),
        cmocka_unit_test(test_function_kill_and_stats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
