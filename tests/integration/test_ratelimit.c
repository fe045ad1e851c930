/* RL.HIT, RL.RESET and CL.THROTTLE end to end: exact replies for every
 * algorithm, peeks and impossible costs, errors, the RESP3 map, INFO
 * counters, and the "ratelimit" type under the generic key commands
 * (TYPE, OBJECT ENCODING, TTL, DEL, UNLINK, EXISTS, RENAME, COPY, SCAN TYPE,
 * MULTI/EXEC, WATCH, keyspace notifications). Times that depend on the wall
 * clock are checked within the few milliseconds a test can take. */
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
/* Slack for wall-clock time passing between a hit and the next check. */
#define SLACK_MS 2000

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

/* Checks a 5-integer reply: the first three exactly, the two times within
 * [lo, hi] (equal bounds for an exact value). */
static void check_five(const char *file, int line, redisReply *r, const char *what, long long a,
                       long long b, long long d, long long retry_lo, long long retry_hi,
                       long long reset_lo, long long reset_hi)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 5)
        fail_msg("%s:%d: %s: expected a 5-element array, got type %d (%s)", file, line, what,
                 r->type, r->str ? r->str : "");
    long long v[5];
    for (int i = 0; i < 5; i++) {
        if (r->element[i]->type != REDIS_REPLY_INTEGER)
            fail_msg("%s:%d: %s: element %d is not an integer", file, line, what, i);
        v[i] = r->element[i]->integer;
    }
    if (v[0] != a || v[1] != b || v[2] != d || v[3] < retry_lo || v[3] > retry_hi ||
        v[4] < reset_lo || v[4] > reset_hi)
        fail_msg("%s:%d: %s: got [%lld %lld %lld %lld %lld], expected [%lld %lld %lld "
                 "%lld..%lld %lld..%lld]",
                 file, line, what, v[0], v[1], v[2], v[3], v[4], a, b, d, retry_lo, retry_hi,
                 reset_lo, reset_hi);
}

static void expect_five(const char *file, int line, redisContext *c, long long a, long long b,
                        long long d, long long retry_lo, long long retry_hi, long long reset_lo,
                        long long reset_hi, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    redisReply *r = redisvCommand(c, format, ap);
    va_end(ap);
    if (!r)
        fail_msg("%s:%d: %s: connection error", file, line, format);
    check_five(file, line, r, format, a, b, d, retry_lo, retry_hi, reset_lo, reset_hi);
    freeReplyObject(r);
}

#define expect_five(c, a, b, d, rlo, rhi, slo, shi, ...)                                           \
    expect_five(__FILE__, __LINE__, (c), (a), (b), (d), (rlo), (rhi), (slo), (shi), __VA_ARGS__)
/* An allowed RL.HIT whose reset is `reset` ms minus elapsed time. */
#define expect_allowed(c, limit, remaining, reset, ...)                                            \
    expect_five(c, 1, limit, remaining, -1, -1, (reset)-SLACK_MS, (reset), __VA_ARGS__)

static void expect_pttl_between(redisContext *c, const char *key, long long lo, long long hi)
{
    long long pttl = integer_of(c, "PTTL %s", key);
    if (pttl < lo || pttl > hi)
        fail_msg("PTTL %s is %lld, expected between %lld and %lld", key, pttl, lo, hi);
}

/* ---------- RL.HIT ---------- */

static void test_sliding_window(void **state)
{
    redisContext *c = client_of(state);
    expect_status(c, "OK", "FLUSHALL");
    expect_allowed(c, 3, 2, 60000, "RL.HIT login:42 LIMIT 3 WINDOW 60000");
    expect_allowed(c, 3, 1, 60000, "RL.HIT login:42 LIMIT 3 WINDOW 60000 SLIDING");
    expect_allowed(c, 3, 0, 60000, "rl.hit login:42 window 60000 limit 3 cost 1");
    /* Full: retry when the first hit leaves the window. */
    expect_five(c, 0, 3, 0, 60000 - SLACK_MS, 60000, 60000 - SLACK_MS, 60000,
                "RL.HIT login:42 LIMIT 3 WINDOW 60000");
    /* A bigger limit on the same key lets more through (the hits stay). */
    expect_allowed(c, 5, 1, 60000, "RL.HIT login:42 LIMIT 5 WINDOW 60000");
    expect_status(c, "ratelimit", "TYPE login:42");
    expect_bulk(c, "native", "OBJECT ENCODING login:42");
    expect_pttl_between(c, "login:42", 60000 - SLACK_MS, 60000);
    expect_integer(c, 60, "TTL login:42");
    if (integer_of(c, "MEMORY USAGE login:42") <= 0)
        fail_msg("MEMORY USAGE of a limiter should be positive");

    /* A short window really slides. */
    expect_allowed(c, 1, 0, 100, "RL.HIT short LIMIT 1 WINDOW 100");
    expect_five(c, 0, 1, 0, 1, 100, 1, 100, "RL.HIT short LIMIT 1 WINDOW 100");
    harness_sleep_ms(150);
    expect_integer(c, 0, "EXISTS short"); /* idle limiters vanish */
    expect_allowed(c, 1, 0, 100, "RL.HIT short LIMIT 1 WINDOW 100");
    redisFree(c);
}

static void test_peek_and_impossible_cost(void **state)
{
    redisContext *c = client_of(state);
    expect_status(c, "OK", "FLUSHALL");
    /* Peeks and denied hits never create a key. */
    expect_five(c, 1, 5, 5, -1, -1, 0, 0, "RL.HIT p LIMIT 5 WINDOW 1000 COST 0");
    expect_five(c, 0, 5, 5, -2, -2, 0, 0, "RL.HIT p LIMIT 5 WINDOW 1000 COST 6");
    expect_five(c, 0, 5, 5, -2, -2, 0, 0, "RL.HIT p LIMIT 5 WINDOW 1000 COST 6 GCRA");
    expect_five(c, 0, 5, 5, -2, -2, 0, 0, "RL.HIT p LIMIT 5 WINDOW 1000 COST 6 FIXED");
    expect_integer(c, 0, "EXISTS p");
    expect_allowed(c, 5, 1, 60000, "RL.HIT p LIMIT 5 WINDOW 60000 COST 4");
    expect_allowed(c, 5, 1, 60000, "RL.HIT p LIMIT 5 WINDOW 60000 COST 0");
    expect_five(c, 0, 5, 1, 60000 - SLACK_MS, 60000, 60000 - SLACK_MS, 60000,
                "RL.HIT p LIMIT 5 WINDOW 60000 COST 2");
    redisFree(c);
}

static void test_fixed_and_gcra(void **state)
{
    redisContext *c = client_of(state);
    expect_status(c, "OK", "FLUSHALL");
    /* FIXED: windows aligned to multiples of WINDOW, so reset <= WINDOW. */
    expect_five(c, 1, 2, 1, -1, -1, 1, 3600000, "RL.HIT f LIMIT 2 WINDOW 3600000 FIXED");
    expect_five(c, 1, 2, 0, -1, -1, 1, 3600000, "RL.HIT f LIMIT 2 WINDOW 3600000 FIXED");
    redisReply *r = harness_command(c, "RL.HIT f LIMIT 2 WINDOW 3600000 FIXED");
    check_five(__FILE__, __LINE__, r, "denied FIXED", 0, 2, 0, 1, 3600000, 1, 3600000);
    assert_int_equal(r->element[3]->integer, r->element[4]->integer);
    freeReplyObject(r);

    /* GCRA: 4 per 4000 ms is one per second, burst 4. */
    for (int i = 0; i < 4; i++)
        expect_allowed(c, 4, 3 - i, 1000 * (i + 1), "RL.HIT g LIMIT 4 WINDOW 4000 GCRA");
    expect_five(c, 0, 4, 0, 1000 - SLACK_MS, 1000, 4000 - SLACK_MS, 4000,
                "RL.HIT g LIMIT 4 WINDOW 4000 GCRA");
    expect_pttl_between(c, "g", 4000 - SLACK_MS, 4000);
    redisFree(c);
}

/* A hit under another algorithm starts the limiter over; a denied or
 * peeking one leaves the stored state alone. */
static void test_algorithm_switch(void **state)
{
    redisContext *c = client_of(state);
    expect_status(c, "OK", "FLUSHALL");
    expect_allowed(c, 2, 0, 60000, "RL.HIT s LIMIT 2 WINDOW 60000 COST 2");
    expect_five(c, 1, 2, 2, -1, -1, 0, 0, "RL.HIT s LIMIT 2 WINDOW 60000 COST 0 GCRA");
    expect_five(c, 0, 2, 0, 1, 60000, 1, 60000, "RL.HIT s LIMIT 2 WINDOW 60000");
    expect_allowed(c, 2, 1, 30000, "RL.HIT s LIMIT 2 WINDOW 60000 GCRA");
    expect_allowed(c, 2, 1, 60000, "RL.HIT s LIMIT 2 WINDOW 60000");
    redisFree(c);
}

static void test_reset(void **state)
{
    redisContext *c = client_of(state);
    expect_status(c, "OK", "FLUSHALL");
    expect_allowed(c, 1, 0, 60000, "RL.HIT r LIMIT 1 WINDOW 60000");
    expect_integer(c, 1, "RL.RESET r");
    expect_integer(c, 0, "RL.RESET r");
    expect_integer(c, 0, "EXISTS r");
    expect_allowed(c, 1, 0, 60000, "RL.HIT r LIMIT 1 WINDOW 60000");
    expect_status(c, "OK", "SET str x");
    expect_error(c, WRONGTYPE, "RL.RESET str");
    expect_error(c, "ERR wrong number of arguments for 'rl.reset' command", "RL.RESET");
    expect_error(c, "ERR wrong number of arguments for 'rl.reset' command", "RL.RESET a b");
    redisFree(c);
}

static void test_errors(void **state)
{
    redisContext *c = client_of(state);
    expect_status(c, "OK", "FLUSHALL");
    expect_error(c, SYNTAX, "RL.HIT k");
    expect_error(c, SYNTAX, "RL.HIT k LIMIT 5");
    expect_error(c, SYNTAX, "RL.HIT k WINDOW 5");
    expect_error(c, SYNTAX, "RL.HIT k LIMIT 5 WINDOW");
    expect_error(c, SYNTAX, "RL.HIT k LIMIT 5 WINDOW 10 BOGUS");
    expect_error(c, SYNTAX, "RL.HIT k LIMIT 5 WINDOW 10 GCRA FIXED");
    expect_error(c, SYNTAX, "RL.HIT k LIMIT 5 WINDOW 10 LIMIT 6");
    expect_error(c, NOT_INT, "RL.HIT k LIMIT five WINDOW 10");
    expect_error(c, NOT_INT, "RL.HIT k LIMIT 5 WINDOW 1.5");
    expect_error(c, "ERR LIMIT must be a positive integer", "RL.HIT k LIMIT 0 WINDOW 10");
    expect_error(c, "ERR LIMIT must be a positive integer", "RL.HIT k LIMIT -3 WINDOW 10");
    expect_error(c, "ERR WINDOW must be a positive number of milliseconds",
                 "RL.HIT k LIMIT 5 WINDOW 0");
    expect_error(c, "ERR WINDOW is too large (at most 1000000000000 ms)",
                 "RL.HIT k LIMIT 5 WINDOW 1000000000001");
    expect_error(c, "ERR COST must not be negative", "RL.HIT k LIMIT 5 WINDOW 10 COST -1");
    expect_error(c, "ERR GCRA allows at most one hit per nanosecond (LIMIT < WINDOW * 1000000)",
                 "RL.HIT k LIMIT 1000000 WINDOW 1 GCRA");
    expect_five(c, 1, 999999, 999998, -1, -1, 0, 1, "RL.HIT k LIMIT 999999 WINDOW 1 GCRA");
    expect_integer(c, 1, "DEL k");
    expect_error(c, "ERR wrong number of arguments for 'rl.hit' command", "RL.HIT");
    expect_integer(c, 0, "EXISTS k");

    expect_integer(c, 1, "RPUSH list a");
    expect_error(c, WRONGTYPE, "RL.HIT list LIMIT 5 WINDOW 10");
    expect_error(c, WRONGTYPE, "CL.THROTTLE list 1 1 1");
    expect_integer(c, 1, "COUNTER.WINDOW w 1 WINDOW 1000");
    expect_error(c, WRONGTYPE, "RL.HIT w LIMIT 5 WINDOW 10");

    expect_error(c, "ERR wrong number of arguments for 'cl.throttle' command", "CL.THROTTLE k 1 1");
    expect_error(c, "ERR wrong number of arguments for 'cl.throttle' command",
                 "CL.THROTTLE k 1 1 1 1 1");
    expect_error(c, NOT_INT, "CL.THROTTLE k x 1 1");
    expect_error(c, NOT_INT, "CL.THROTTLE k 1 1 1 y");
    expect_error(c, "ERR max_burst must not be negative", "CL.THROTTLE k -1 1 1");
    expect_error(c, "ERR count_per_period and period must be positive", "CL.THROTTLE k 1 0 1");
    expect_error(c, "ERR count_per_period and period must be positive", "CL.THROTTLE k 1 1 -1");
    expect_error(c, "ERR quantity must not be negative", "CL.THROTTLE k 1 1 1 -1");
    expect_error(c, "ERR Zero rates are not supported", "CL.THROTTLE k 1 2000000000 1");
    expect_integer(c, 0, "EXISTS k");
    redisFree(c);
}

/* ---------- CL.THROTTLE ---------- */

static void test_cl_throttle(void **state)
{
    redisContext *c = client_of(state);
    expect_status(c, "OK", "FLUSHALL");
    /* redis-cell's README: 15 burst, 30 per 60 s. */
    expect_five(c, 0, 16, 15, -1, -1, 2, 2, "CL.THROTTLE user123 15 30 60 1");
    expect_five(c, 0, 16, 14, -1, -1, 4, 4, "CL.THROTTLE user123 15 30 60");
    expect_five(c, 0, 16, 14, -1, -1, 4, 4, "CL.THROTTLE user123 15 30 60 0");
    expect_status(c, "ratelimit", "TYPE user123");
    expect_pttl_between(c, "user123", 4000 - SLACK_MS, 4000);

    /* Burst 1 (limit 2), one per minute. */
    expect_five(c, 0, 2, 1, -1, -1, 60, 60, "CL.THROTTLE slow 1 1 60");
    expect_five(c, 0, 2, 0, -1, -1, 120, 120, "CL.THROTTLE slow 1 1 60");
    expect_five(c, 1, 2, 0, 60, 60, 120, 120, "CL.THROTTLE slow 1 1 60");
    /* Asking for more than the limit: limited, and no retry time. */
    expect_five(c, 1, 2, 0, -1, -1, 120, 120, "CL.THROTTLE slow 1 1 60 3");
    /* The same state seen through RL.HIT GCRA with matching parameters. */
    expect_five(c, 0, 2, 0, 60000 - SLACK_MS, 60000, 120000 - SLACK_MS, 120000,
                "RL.HIT slow LIMIT 2 WINDOW 120000 GCRA");
    redisFree(c);
}

/* ---------- RESP3 ---------- */

static void test_resp3_map(void **state)
{
    redisContext *c = client_of(state);
    expect_status(c, "OK", "FLUSHALL");
    redisFree(c);
    const char request[] = "HELLO 3\r\n"
                           "RL.HIT m LIMIT 5 WINDOW 60000 COST 5\r\n"
                           "RL.HIT m LIMIT 5 WINDOW 60000 COST 0 GCRA\r\n"
                           "CL.THROTTLE m 4 5 60 0\r\n";
    harness_raw_reply reply =
        harness_raw_roundtrip(harness_port(*state), request, strlen(request), 200);
    const char *expected = "%5\r\n$7\r\nallowed\r\n:1\r\n$5\r\nlimit\r\n:5\r\n"
                           "$9\r\nremaining\r\n:0\r\n$14\r\nretry_after_ms\r\n:-1\r\n"
                           "$14\r\nreset_after_ms\r\n:60000\r\n"
                           "%5\r\n$7\r\nallowed\r\n:1\r\n$5\r\nlimit\r\n:5\r\n"
                           "$9\r\nremaining\r\n:5\r\n$14\r\nretry_after_ms\r\n:-1\r\n"
                           "$14\r\nreset_after_ms\r\n:0\r\n"
                           "*5\r\n:0\r\n:5\r\n:5\r\n:-1\r\n:0\r\n";
    const char *found = strstr(reply.data, "%5\r\n$7\r\nallowed");
    if (found == NULL || strcmp(found, expected) != 0)
        fail_msg("RESP3 replies were:\n%s", reply.data);
    harness_raw_free(&reply);
}

/* ---------- INFO ---------- */

static void test_info_counters(void **state)
{
    redisContext *c = client_of(state);
    expect_status(c, "OK", "FLUSHALL");
    long long allowed = harness_info_number(c, "primitives", "ratelimit_allowed");
    long long denied = harness_info_number(c, "primitives", "ratelimit_denied");
    expect_allowed(c, 1, 0, 60000, "RL.HIT i LIMIT 1 WINDOW 60000");
    expect_five(c, 0, 1, 0, 1, 60000, 1, 60000, "RL.HIT i LIMIT 1 WINDOW 60000");
    expect_five(c, 1, 1, 0, -1, -1, 1, 60000, "RL.HIT i LIMIT 1 WINDOW 60000 COST 0");
    expect_five(c, 0, 2, 1, -1, -1, 60, 60, "CL.THROTTLE ci 1 1 60");
    assert_int_equal(harness_info_number(c, "primitives", "ratelimit_allowed"), allowed + 2);
    assert_int_equal(harness_info_number(c, "primitives", "ratelimit_denied"), denied + 1);
    redisFree(c);
}

/* ---------- many clients at once ---------- */

/* 20 clients pipeline 10 hits each at one limiter of 50: exactly 50 are
 * accepted, and each accepted hit saw a different "remaining". */
static void test_concurrent_clients(void **state)
{
    enum { CLIENTS = 20, HITS = 10, LIMIT = 50 };
    redisContext *c = client_of(state);
    expect_status(c, "OK", "FLUSHALL");
    redisContext *clients[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
        clients[i] = client_of(state);
        for (int j = 0; j < HITS; j++)
            redisAppendCommand(clients[i], "RL.HIT crowd LIMIT %d WINDOW 60000", LIMIT);
    }
    int allowed = 0, seen[LIMIT] = {0};
    for (int j = 0; j < HITS; j++)
        for (int i = 0; i < CLIENTS; i++) {
            redisReply *r = NULL;
            if (redisGetReply(clients[i], (void **)&r) != REDIS_OK || r == NULL)
                fail_msg("client %d: %s", i, clients[i]->errstr);
            assert_int_equal(r->type, REDIS_REPLY_ARRAY);
            if (r->element[0]->integer == 1) {
                long long remaining = r->element[2]->integer;
                assert_in_range(remaining, 0, LIMIT - 1);
                assert_int_equal(seen[remaining], 0);
                seen[remaining] = 1;
                allowed++;
            } else {
                assert_int_equal(r->element[2]->integer, 0);
            }
            freeReplyObject(r);
        }
    assert_int_equal(allowed, LIMIT);
    for (int i = 0; i < CLIENTS; i++)
        redisFree(clients[i]);
    expect_five(c, 1, LIMIT, 0, -1, -1, 1, 60000, "RL.HIT crowd LIMIT 50 WINDOW 60000 COST 0");
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

static void test_generic_commands(void **state)
{
    redisContext *c = client_of(state);
    expect_status(c, "OK", "FLUSHALL");
    expect_allowed(c, 2, 1, 60000, "RL.HIT a LIMIT 2 WINDOW 60000");
    expect_integer(c, 1, "EXISTS a");

    /* COPY is deep: hits on the copy leave the original alone. */
    expect_integer(c, 1, "COPY a b");
    expect_status(c, "ratelimit", "TYPE b");
    expect_allowed(c, 2, 0, 60000, "RL.HIT b LIMIT 2 WINDOW 60000");
    expect_five(c, 1, 2, 1, -1, -1, 1, 60000, "RL.HIT a LIMIT 2 WINDOW 60000 COST 0");
    expect_pttl_between(c, "b", 60000 - SLACK_MS, 60000);

    /* RENAME keeps state and TTL. */
    expect_status(c, "OK", "RENAME b c");
    expect_integer(c, 0, "EXISTS b");
    expect_five(c, 0, 2, 0, 1, 60000, 1, 60000, "RL.HIT c LIMIT 2 WINDOW 60000");
    expect_pttl_between(c, "c", 60000 - SLACK_MS, 60000);

    /* SCAN TYPE finds limiters only. */
    expect_status(c, "OK", "SET plain 1");
    redisReply *r = harness_command(c, "SCAN 0 COUNT 1000 TYPE ratelimit");
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->element[1]->elements, 2);
    freeReplyObject(r);

    /* MULTI/EXEC. */
    expect_status(c, "OK", "MULTI");
    expect_status(c, "QUEUED", "RL.HIT t LIMIT 1 WINDOW 60000");
    expect_status(c, "QUEUED", "RL.HIT t LIMIT 1 WINDOW 60000");
    r = harness_command(c, "EXEC");
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 2);
    check_five(__FILE__, __LINE__, r->element[0], "EXEC[0]", 1, 1, 0, -1, -1, 59000, 60000);
    check_five(__FILE__, __LINE__, r->element[1], "EXEC[1]", 0, 1, 0, 1, 60000, 1, 60000);
    freeReplyObject(r);

    /* WATCH: an accepted hit by someone else aborts EXEC; a denied one and
     * a peek change nothing. */
    redisContext *other = client_of(state);
    expect_status(c, "OK", "WATCH t");
    expect_five(other, 0, 1, 0, 1, 60000, 1, 60000, "RL.HIT t LIMIT 1 WINDOW 60000");
    expect_five(other, 1, 1, 0, -1, -1, 1, 60000, "RL.HIT t LIMIT 1 WINDOW 60000 COST 0");
    expect_status(c, "OK", "MULTI");
    expect_status(c, "QUEUED", "PING");
    expect_array_len(c, 1, "EXEC");
    expect_status(c, "OK", "WATCH a");
    expect_allowed(other, 2, 0, 60000, "RL.HIT a LIMIT 2 WINDOW 60000");
    expect_status(c, "OK", "MULTI");
    expect_status(c, "QUEUED", "PING");
    r = harness_command(c, "EXEC");
    assert_int_equal(r->type, REDIS_REPLY_NIL);
    freeReplyObject(r);
    redisFree(other);

    /* DEL and UNLINK. */
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
    expect_allowed(c, 1, 0, 60000, "RL.HIT e LIMIT 1 WINDOW 60000");
    expect_five(c, 0, 1, 0, 1, 60000, 1, 60000, "RL.HIT e LIMIT 1 WINDOW 60000"); /* silent */
    expect_five(c, 0, 2, 1, -1, -1, 60, 60, "CL.THROTTLE ce 1 1 60");
    expect_integer(c, 1, "RL.RESET e");
    expect_event(sub, "__keyevent@0__:rl.hit", "e");
    expect_event(sub, "__keyevent@0__:cl.throttle", "ce");
    expect_event(sub, "__keyevent@0__:del", "e");
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
        cmocka_unit_test(test_sliding_window),
        cmocka_unit_test(test_peek_and_impossible_cost),
        cmocka_unit_test(test_fixed_and_gcra),
        cmocka_unit_test(test_algorithm_switch),
        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_cl_throttle),
        cmocka_unit_test(test_resp3_map),
        cmocka_unit_test(test_info_counters),
        cmocka_unit_test(test_concurrent_clients),
        cmocka_unit_test(test_generic_commands),
        cmocka_unit_test(test_keyspace_events),
    };
    return cmocka_run_group_tests_name("ratelimit", tests, setup, teardown);
}
