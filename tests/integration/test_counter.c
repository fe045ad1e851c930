/* COUNTER.INCR and COUNTER.WINDOW end to end: bounds and the rejection
 * counter, PX only on creation, plain-string interplay (GET, INCRBY, TYPE),
 * the rolling window sliding in real time, every error, and the "window"
 * type under the generic key commands. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define WRONGTYPE "WRONGTYPE Operation against a key holding the wrong kind of value"
#define SYNTAX    "ERR syntax error"
#define NOT_INT   "ERR value is not an integer or out of range"
#define OVERFLOW  "ERR increment or decrement would overflow"
#define SLACK_MS  2000

static redisContext *client_of(void **state)
{
    return harness_connect(*state);
}

static long long integer_of(redisContext *c, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    redisReply *r = redisvCommand(c, format, ap);
    va_end(ap);
    if (!r)
        fail_msg("%s: connection error: %s", format, c->errstr);
    if (r->type != REDIS_REPLY_INTEGER)
        fail_msg("%s: expected an integer reply, got type %d (%s)", format, r->type,
                 r->str ? r->str : "");
    long long value = r->integer;
    freeReplyObject(r);
    return value;
}

static void expect_pttl_between(redisContext *c, const char *key, long long lo, long long hi)
{
    long long pttl = integer_of(c, "PTTL %s", key);
    if (pttl < lo || pttl > hi)
        fail_msg("PTTL %s is %lld, expected between %lld and %lld", key, pttl, lo, hi);
}

/* ---------- COUNTER.INCR ---------- */

static void test_incr_plain_string(void **state)
{
    redisContext *c = client_of(state);
    expect_status(c, "OK", "FLUSHALL");
    expect_integer(c, 5, "COUNTER.INCR n 5");
    expect_integer(c, 2, "COUNTER.INCR n -3");
    expect_bulk(c, "2", "GET n");
    expect_status(c, "string", "TYPE n");
    expect_bulk(c, "int", "OBJECT ENCODING n");
    expect_integer(c, 12, "INCRBY n 10");
    expect_integer(c, 12, "COUNTER.INCR n 0");
    expect_integer(c, -1, "TTL n");
    /* A numeric string written by SET works too. */
    expect_status(c, "OK", "SET s 0040");
    expect_error(c, NOT_INT, "COUNTER.INCR s 1"); /* not canonical, as INCR says */
    expect_status(c, "OK", "SET s 40");
    expect_integer(c, 41, "COUNTER.INCR s 1");
    redisFree(c);
}

static void test_incr_bounds(void **state)
{
    redisContext *c = client_of(state);
    expect_status(c, "OK", "FLUSHALL");
    long long rejections = harness_info_number(c, "primitives", "counter_bound_rejections");
    /* Inventory: take 2 while stock stays >= 0. */
    expect_status(c, "OK", "SET stock 3");
    expect_integer(c, 1, "COUNTER.INCR stock -2 MIN 0");
    expect_nil(c, "COUNTER.INCR stock -2 MIN 0");
    expect_bulk(c, "1", "GET stock");
    expect_integer(c, 0, "COUNTER.INCR stock -1 MIN 0");
    /* Quota: at most 10. */
    expect_integer(c, 10, "COUNTER.INCR quota 10 MAX 10");
    expect_nil(c, "COUNTER.INCR quota 1 MAX 10");
    expect_integer(c, 10, "COUNTER.INCR quota 0 min 0 max 10");
    /* A rejected increment on a missing key does not create it. */
    expect_nil(c, "COUNTER.INCR fresh 5 MAX 4");
    expect_integer(c, 0, "EXISTS fresh");
    /* Both bounds, inclusive. */
    expect_integer(c, -5, "COUNTER.INCR b -5 MIN -5 MAX 5");
    expect_nil(c, "COUNTER.INCR b 11 MIN -5 MAX 5");
    expect_integer(c, 5, "COUNTER.INCR b 10 MIN -5 MAX 5");
    assert_int_equal(harness_info_number(c, "primitives", "counter_bound_rejections"),
                     rejections + 4);
    redisFree(c);
}

static void test_incr_px_only_on_create(void **state)
{
    redisContext *c = client_of(state);
    expect_status(c, "OK", "FLUSHALL");
    expect_integer(c, 1, "COUNTER.INCR q 1 PX 60000");
    expect_pttl_between(c, "q", 60000 - SLACK_MS, 60000);
    /* Later increments keep the window's original deadline. */
    expect_integer(c, 2, "COUNTER.INCR q 1 PX 1000");
    expect_pttl_between(c, "q", 60000 - SLACK_MS, 60000);
    expect_integer(c, 3, "COUNTER.INCR q 1");
    expect_pttl_between(c, "q", 60000 - SLACK_MS, 60000);
    /* An existing key without a TTL does not get one. */
    expect_status(c, "OK", "SET p 1");
    expect_integer(c, 2, "COUNTER.INCR p 1 PX 1000");
    expect_integer(c, -1, "PTTL p");
    /* A quota window really ends. */
    expect_integer(c, 1, "COUNTER.INCR short 1 PX 50");
    harness_sleep_ms(120);
    expect_integer(c, 0, "EXISTS short");
    expect_integer(c, 1, "COUNTER.INCR short 1 PX 50");
    redisFree(c);
}

static void test_incr_errors(void **state)
{
    redisContext *c = client_of(state);
    expect_status(c, "OK", "FLUSHALL");
    expect_error(c, "ERR wrong number of arguments for 'counter.incr' command", "COUNTER.INCR k");
    expect_error(c, NOT_INT, "COUNTER.INCR k x");
    expect_error(c, SYNTAX, "COUNTER.INCR k 1 MIN");
    expect_error(c, SYNTAX, "COUNTER.INCR k 1 BOGUS 2");
    expect_error(c, SYNTAX, "COUNTER.INCR k 1 MIN 0 MIN 1");
    expect_error(c, NOT_INT, "COUNTER.INCR k 1 MAX z");
    expect_error(c, "ERR MIN is greater than MAX", "COUNTER.INCR k 1 MIN 5 MAX 4");
    expect_error(c, "ERR invalid expire time in 'counter.incr' command", "COUNTER.INCR k 1 PX 0");
    expect_error(c, "ERR invalid expire time in 'counter.incr' command",
                 "COUNTER.INCR k 1 PX 9223372036854775807");
    expect_integer(c, 0, "EXISTS k");
    expect_status(c, "OK", "SET big 9223372036854775806");
    expect_integer(c, 9223372036854775807LL, "COUNTER.INCR big 1");
    expect_error(c, OVERFLOW, "COUNTER.INCR big 1");
    expect_error(c, OVERFLOW, "COUNTER.INCR big 1 MAX 0"); /* overflow wins over bounds */
    expect_status(c, "OK", "SET word hello");
    expect_error(c, NOT_INT, "COUNTER.INCR word 1");
    expect_integer(c, 1, "RPUSH list a");
    expect_error(c, WRONGTYPE, "COUNTER.INCR list 1");
    expect_integer(c, 1, "COUNTER.WINDOW w 1 WINDOW 1000");
    expect_error(c, WRONGTYPE, "COUNTER.INCR w 1");
    redisFree(c);
}

/* 20 clients each try to take 5 items from a stock of 37: exactly 37
 * succeed, and the stock ends at 0, never below. */
static void test_incr_concurrent_reservations(void **state)
{
    enum { CLIENTS = 20, TRIES = 5, STOCK = 37 };
    redisContext *c = client_of(state);
    expect_status(c, "OK", "FLUSHALL");
    expect_status(c, "OK", "SET stock %d", STOCK);
    redisContext *clients[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
        clients[i] = client_of(state);
        for (int j = 0; j < TRIES; j++)
            redisAppendCommand(clients[i], "COUNTER.INCR stock -1 MIN 0");
    }
    int taken = 0, refused = 0;
    for (int j = 0; j < TRIES; j++)
        for (int i = 0; i < CLIENTS; i++) {
            redisReply *r = NULL;
            if (redisGetReply(clients[i], (void **)&r) != REDIS_OK || r == NULL)
                fail_msg("client %d: %s", i, clients[i]->errstr);
            if (r->type == REDIS_REPLY_INTEGER) {
                assert_in_range(r->integer, 0, STOCK - 1);
                taken++;
            } else {
                assert_int_equal(r->type, REDIS_REPLY_NIL);
                refused++;
            }
            freeReplyObject(r);
        }
    assert_int_equal(taken, STOCK);
    assert_int_equal(refused, CLIENTS * TRIES - STOCK);
    expect_bulk(c, "0", "GET stock");
    for (int i = 0; i < CLIENTS; i++)
        redisFree(clients[i]);
    redisFree(c);
}

/* ---------- COUNTER.WINDOW ---------- */

static void test_window_rolls(void **state)
{
    redisContext *c = client_of(state);
    expect_status(c, "OK", "FLUSHALL");
    expect_integer(c, 0, "COUNTER.WINDOW w 0 WINDOW 60000");
    expect_integer(c, 0, "EXISTS w"); /* reading does not create */
    expect_integer(c, 3, "COUNTER.WINDOW w 3 WINDOW 60000");
    expect_integer(c, 7, "COUNTER.WINDOW w 4 WINDOW 60000");
    expect_integer(c, 5, "COUNTER.WINDOW w -2 WINDOW 60000");
    expect_integer(c, 5, "COUNTER.WINDOW w 0 WINDOW 60000 RESOLUTION 1000");
    expect_status(c, "window", "TYPE w");
    expect_bulk(c, "native", "OBJECT ENCODING w");
    /* Expires when the newest delta's bucket leaves: within one bucket of
     * the window. */
    expect_pttl_between(c, "w", 59000 - SLACK_MS, 60000);
    if (integer_of(c, "MEMORY USAGE w") < 60 * 8)
        fail_msg("MEMORY USAGE of a 60-bucket window should count its buckets");

    /* 1000 ms window in 10 ms buckets: deltas drop out as time passes
     * (margins of several hundred ms for a loaded machine). */
    expect_integer(c, 5, "COUNTER.WINDOW r 5 WINDOW 1000 RESOLUTION 10");
    harness_sleep_ms(500);
    expect_integer(c, 7, "COUNTER.WINDOW r 2 WINDOW 1000 RESOLUTION 10");
    harness_sleep_ms(600);
    expect_integer(c, 2, "COUNTER.WINDOW r 0 WINDOW 1000 RESOLUTION 10");
    harness_sleep_ms(1000);
    expect_integer(c, 0, "EXISTS r"); /* idle counters vanish */
    redisFree(c);
}

static void test_window_errors(void **state)
{
    redisContext *c = client_of(state);
    expect_status(c, "OK", "FLUSHALL");
    expect_error(c, "ERR wrong number of arguments for 'counter.window' command",
                 "COUNTER.WINDOW k");
    expect_error(c, SYNTAX, "COUNTER.WINDOW k 1");
    expect_error(c, SYNTAX, "COUNTER.WINDOW k 1 WINDOW");
    expect_error(c, SYNTAX, "COUNTER.WINDOW k 1 RESOLUTION 10");
    expect_error(c, SYNTAX, "COUNTER.WINDOW k 1 WINDOW 10 WINDOW 10");
    expect_error(c, SYNTAX, "COUNTER.WINDOW k 1 WINDOW 10 EXTRA");
    expect_error(c, NOT_INT, "COUNTER.WINDOW k x WINDOW 10");
    expect_error(c, NOT_INT, "COUNTER.WINDOW k 1 WINDOW ten");
    expect_error(c, "ERR WINDOW must be between 1 and 1000000000000 milliseconds",
                 "COUNTER.WINDOW k 1 WINDOW 0");
    expect_error(c, "ERR RESOLUTION must be a positive number of milliseconds",
                 "COUNTER.WINDOW k 1 WINDOW 10 RESOLUTION 0");
    expect_error(c,
                 "ERR WINDOW / RESOLUTION needs 1000000 buckets, more than "
                 "counter-window-max-buckets (100000)",
                 "COUNTER.WINDOW k 1 WINDOW 1000000 RESOLUTION 1");
    expect_status(c, "OK", "CONFIG SET counter-window-max-buckets 10");
    expect_error(
        c, "ERR WINDOW / RESOLUTION needs 60 buckets, more than counter-window-max-buckets (10)",
        "COUNTER.WINDOW k 1 WINDOW 60000");
    expect_integer(c, 1, "COUNTER.WINDOW k 1 WINDOW 60000 RESOLUTION 6000");
    expect_integer(c, 1, "DEL k");
    expect_status(c, "OK", "CONFIG SET counter-window-max-buckets 100000");
    expect_integer(c, 0, "EXISTS k");
    /* A different shape for an existing key is refused, not re-bucketed. */
    expect_integer(c, 1, "COUNTER.WINDOW k 1 WINDOW 60000");
    expect_error(c, "ERR the key holds a window with a different WINDOW or RESOLUTION",
                 "COUNTER.WINDOW k 1 WINDOW 30000");
    expect_error(c, "ERR the key holds a window with a different WINDOW or RESOLUTION",
                 "COUNTER.WINDOW k 0 WINDOW 60000 RESOLUTION 500");
    expect_integer(c, 1, "COUNTER.WINDOW k 0 WINDOW 60000");
    expect_integer(c, 9223372036854775807LL, "COUNTER.WINDOW k 9223372036854775806 WINDOW 60000");
    expect_error(c, OVERFLOW, "COUNTER.WINDOW k 1 WINDOW 60000");
    expect_status(c, "OK", "SET str 1");
    expect_error(c, WRONGTYPE, "COUNTER.WINDOW str 1 WINDOW 1000");
    expect_error(c, WRONGTYPE, "COUNTER.WINDOW str 0 WINDOW 1000");
    redisFree(c);
}

/* ---------- the type under generic commands ---------- */

static void expect_event(redisContext *sub, const char *channel, const char *message)
{
    redisReply *r = NULL;
    if (redisGetReply(sub, (void **)&r) != REDIS_OK || r == NULL)
        fail_msg("no notification (expected %s %s): %s", channel, message, sub->errstr);
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 4 ||
        strcmp(r->element[2]->str, channel) != 0 || strcmp(r->element[3]->str, message) != 0)
        fail_msg("expected pmessage %s %s, got %s %s", channel, message,
                 r->elements == 4 ? r->element[2]->str : "?",
                 r->elements == 4 ? r->element[3]->str : "?");
    freeReplyObject(r);
}

static void test_window_generic_commands(void **state)
{
    redisContext *c = client_of(state);
    expect_status(c, "OK", "FLUSHALL");
    expect_integer(c, 4, "COUNTER.WINDOW a 4 WINDOW 60000");
    expect_integer(c, 1, "COPY a b");
    expect_integer(c, 5, "COUNTER.WINDOW b 1 WINDOW 60000");
    expect_integer(c, 4, "COUNTER.WINDOW a 0 WINDOW 60000");
    expect_status(c, "OK", "RENAME b c");
    expect_integer(c, 5, "COUNTER.WINDOW c 0 WINDOW 60000");
    expect_pttl_between(c, "c", 59000 - SLACK_MS, 60000);
    expect_status(c, "OK", "SET plain 1");
    redisReply *r = harness_command(c, "SCAN 0 COUNT 1000 TYPE window");
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->element[1]->elements, 2);
    freeReplyObject(r);

    expect_status(c, "OK", "MULTI");
    expect_status(c, "QUEUED", "COUNTER.WINDOW a 1 WINDOW 60000");
    expect_status(c, "QUEUED", "COUNTER.INCR n 2 MAX 3");
    expect_status(c, "QUEUED", "COUNTER.INCR n 2 MAX 3");
    r = harness_command(c, "EXEC");
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 3);
    assert_int_equal(r->element[0]->integer, 5);
    assert_int_equal(r->element[1]->integer, 2);
    assert_int_equal(r->element[2]->type, REDIS_REPLY_NIL);
    freeReplyObject(r);

    /* WATCH: a write aborts EXEC; a read and a rejected increment do not. */
    redisContext *other = client_of(state);
    expect_status(c, "OK", "WATCH a n");
    expect_integer(other, 5, "COUNTER.WINDOW a 0 WINDOW 60000");
    expect_nil(other, "COUNTER.INCR n 5 MAX 3");
    expect_status(c, "OK", "MULTI");
    expect_status(c, "QUEUED", "PING");
    expect_array_len(c, 1, "EXEC");
    expect_status(c, "OK", "WATCH a");
    expect_integer(other, 6, "COUNTER.WINDOW a 1 WINDOW 60000");
    expect_status(c, "OK", "MULTI");
    expect_status(c, "QUEUED", "PING");
    r = harness_command(c, "EXEC");
    assert_int_equal(r->type, REDIS_REPLY_NIL);
    freeReplyObject(r);
    redisFree(other);

    expect_integer(c, 1, "DEL a");
    expect_integer(c, 1, "UNLINK c");
    expect_integer(c, 0, "EXISTS a c");
    redisFree(c);
}

static void test_keyspace_events(void **state)
{
    redisContext *c = client_of(state);
    redisContext *sub = client_of(state);
    expect_status(c, "OK", "FLUSHALL");
    expect_status(c, "OK", "CONFIG SET notify-keyspace-events KEA");
    redisReply *r = harness_command(sub, "PSUBSCRIBE __keyevent@0__:*");
    freeReplyObject(r);
    expect_integer(c, 1, "COUNTER.INCR n 1 PX 60000");
    expect_nil(c, "COUNTER.INCR n 1 MAX 1"); /* silent */
    expect_integer(c, 2, "COUNTER.WINDOW w 2 WINDOW 1000");
    expect_integer(c, 2, "COUNTER.WINDOW w 0 WINDOW 1000"); /* silent */
    expect_integer(c, 2, "DEL n w");
    expect_event(sub, "__keyevent@0__:counter.incr", "n");
    expect_event(sub, "__keyevent@0__:expire", "n");
    expect_event(sub, "__keyevent@0__:counter.window", "w");
    expect_event(sub, "__keyevent@0__:del", "n");
    expect_status(c, "OK", "CONFIG SET notify-keyspace-events %s", "");
    redisFree(sub);
    redisFree(c);
}

static int setup(void **state)
{
    *state = harness_start(NULL);
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    return harness_stop(*state) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_incr_plain_string),
        cmocka_unit_test(test_incr_bounds),
        cmocka_unit_test(test_incr_px_only_on_create),
        cmocka_unit_test(test_incr_errors),
        cmocka_unit_test(test_incr_concurrent_reservations),
        cmocka_unit_test(test_window_rolls),
        cmocka_unit_test(test_window_errors),
        cmocka_unit_test(test_window_generic_commands),
        cmocka_unit_test(test_keyspace_events),
    };
    return cmocka_run_group_tests_name("counter", tests, setup, teardown);
}
