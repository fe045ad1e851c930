/* Key expiry end to end: lazy expiry on access, active expiry of keys nobody
 * touches (and its absence under DEBUG SET-ACTIVE-EXPIRE 0), mass expiry of
 * 100,000 keys on time, clients still served promptly while 200,000 keys
 * are reclaimed, and TTL bookkeeping across EXPIRE/PERSIST, SET/KEEPTTL,
 * RENAME, MOVE, COPY and SWAPDB. Active-expiry checks watch DBSIZE and INFO,
 * which never touch a key, so only the background cycle can reclaim. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

/* ---------- small tools ---------- */

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

static long long expired_keys(redisContext *c)
{
    return harness_info_number(c, "stats", "expired_keys");
}

/* The server's clock in ms (TIME), for absolute deadlines. */
static long long server_time_ms(redisContext *c)
{
    redisReply *r = harness_command(c, "TIME");
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    long long ms =
        strtoll(r->element[0]->str, NULL, 10) * 1000 + strtoll(r->element[1]->str, NULL, 10) / 1000;
    freeReplyObject(r);
    return ms;
}

/* Polls DBSIZE (which reclaims nothing) until it reaches `size`; false if
 * it had not by deadline_ms, a harness_now_ms() time. */
static bool wait_dbsize(redisContext *c, long long size, long long deadline_ms)
{
    for (;;) {
        long long now = integer_of(c, "DBSIZE");
        if (now == size)
            return true;
        if (harness_now_ms() > deadline_ms) {
            print_error("DBSIZE is still %lld, expected %lld\n", now, size);
            return false;
        }
        harness_sleep_ms(10);
    }
}

/* SET <prefix>:<i> v PX <ttl_ms> for count keys, pipelined in batches. */
static void set_many_with_ttl(redisContext *c, const char *prefix, int count, long long ttl_ms)
{
    const int batch = 10000;
    for (int start = 0; start < count; start += batch) {
        int end = start + batch < count ? start + batch : count;
        for (int i = start; i < end; i++)
            if (redisAppendCommand(c, "SET %s:%d v PX %lld", prefix, i, ttl_ms) != REDIS_OK)
                fail_msg("redisAppendCommand: %s", c->errstr);
        for (int i = start; i < end; i++) {
            void *reply = NULL;
            if (redisGetReply(c, &reply) != REDIS_OK || !reply)
                fail_msg("pipelined SET %d: %s", i, c->errstr);
            redisReply *r = reply;
            bool ok = r->type == REDIS_REPLY_STATUS && strcmp(r->str, "OK") == 0;
            freeReplyObject(r);
            if (!ok)
                fail_msg("pipelined SET %d: unexpected reply", i);
        }
    }
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

/* A connection to an empty server with active expiry on, whatever the test
 * before left behind. */
static redisContext *fresh_client(void **state)
{
    redisContext *c = harness_connect(*state);
    expect_status(c, "OK", "DEBUG SET-ACTIVE-EXPIRE 1");
    expect_status(c, "OK", "FLUSHALL");
    return c;
}

/* ---------- lazy and active expiry ---------- */

static void test_lazy_expiry_on_access(void **state)
{
    redisContext *c = fresh_client(state);
    expect_status(c, "OK", "DEBUG SET-ACTIVE-EXPIRE 0");
    long long base = expired_keys(c);
    expect_status(c, "OK", "SET lazy:k v PX 100");
    expect_bulk(c, "v", "GET lazy:k");
    harness_sleep_ms(200);
    /* Past its deadline but never looked at: still counted... */
    expect_integer(c, 1, "DBSIZE");
    assert_int_equal(expired_keys(c), base);
    /* ...until a read finds it dead and removes it. */
    expect_nil(c, "GET lazy:k");
    expect_integer(c, 0, "DBSIZE");
    assert_int_equal(expired_keys(c), base + 1);
    expect_integer(c, -2, "TTL lazy:k");
    expect_status(c, "OK", "DEBUG SET-ACTIVE-EXPIRE 1");
    redisFree(c);
}

static void test_active_expiry_reclaims_untouched_keys(void **state)
{
    redisContext *c = fresh_client(state);
    long long base = expired_keys(c);
    long long start = harness_now_ms();
    expect_status(c, "OK", "SET active:a v PX 100");
    expect_status(c, "OK", "SET active:b v PX 100");
    expect_status(c, "OK", "SET active:c v PX 150");
    expect_status(c, "OK", "SET active:stays v");
    expect_integer(c, 4, "DBSIZE");
    assert_true(wait_dbsize(c, 1, start + 1200));
    assert_int_equal(expired_keys(c), base + 3);
    expect_bulk(c, "v", "GET active:stays");
    redisFree(c);
}

static void test_100000_keys_reclaimed_within_2s_of_their_deadline(void **state)
{
    redisContext *c = fresh_client(state);
    long long base = expired_keys(c);
    set_many_with_ttl(c, "mass", 100000, 500);
    /* The last SET ran before this point, so every deadline is earlier than
     * loaded + 500 ms. */
    long long loaded = harness_now_ms();
    assert_true(wait_dbsize(c, 0, loaded + 500 + 2000));
    assert_int_equal(expired_keys(c), base + 100000);
    redisFree(c);
}

static void test_without_active_expiry_keys_stay_until_accessed(void **state)
{
    redisContext *c = fresh_client(state);
    expect_status(c, "OK", "DEBUG SET-ACTIVE-EXPIRE 0");
    long long base = expired_keys(c);
    set_many_with_ttl(c, "idle", 100, 50);
    /* Well past every deadline, repeatedly: nothing is reclaimed. */
    for (int i = 0; i < 6; i++) {
        harness_sleep_ms(50);
        expect_integer(c, 100, "DBSIZE");
    }
    redisReply *info = harness_command(c, "INFO keyspace");
    assert_non_null(strstr(info->str, "db0:keys=100,expires=100,"));
    freeReplyObject(info);
    assert_int_equal(expired_keys(c), base);

    /* Each access reclaims the key it touches. */
    expect_nil(c, "GET idle:0");
    expect_integer(c, 99, "DBSIZE");
    expect_integer(c, 0, "EXISTS idle:1");
    expect_integer(c, 98, "DBSIZE");
    assert_int_equal(expired_keys(c), base + 2);

    /* Turned back on, the cycle clears the rest. */
    expect_status(c, "OK", "DEBUG SET-ACTIVE-EXPIRE 1");
    assert_true(wait_dbsize(c, 0, harness_now_ms() + 1500));
    assert_int_equal(expired_keys(c), base + 100);
    redisFree(c);
}

/* ---------- TTL bookkeeping ---------- */

static void test_expire_persist_ttl_interplay(void **state)
{
    redisContext *c = fresh_client(state);
    expect_status(c, "OK", "SET ttl:k v");
    expect_integer(c, -1, "TTL ttl:k");
    expect_integer(c, -1, "PTTL ttl:k");
    expect_integer(c, -2, "TTL ttl:missing");
    expect_integer(c, -2, "PTTL ttl:missing");
    expect_integer(c, 0, "EXPIRE ttl:missing 5");
    expect_integer(c, 0, "PERSIST ttl:missing");

    expect_integer(c, 1, "EXPIRE ttl:k 100");
    expect_integer(c, 100, "TTL ttl:k");
    long long pttl = integer_of(c, "PTTL ttl:k");
    assert_true(pttl > 99000 && pttl <= 100000);
    expect_integer(c, 1, "PERSIST ttl:k");
    expect_integer(c, 0, "PERSIST ttl:k");
    expect_integer(c, -1, "TTL ttl:k");

    /* EXPIRE's conditions. */
    expect_integer(c, 1, "EXPIRE ttl:k 100 NX");
    expect_integer(c, 0, "EXPIRE ttl:k 100 NX");
    expect_integer(c, 1, "EXPIRE ttl:k 200 XX");
    expect_integer(c, 200, "TTL ttl:k");
    expect_integer(c, 0, "EXPIRE ttl:k 50 GT");
    expect_integer(c, 1, "EXPIRE ttl:k 50 LT");
    expect_integer(c, 50, "TTL ttl:k");
    expect_error(c, "ERR NX and XX, GT or LT options at the same time are not compatible",
                 "EXPIRE ttl:k 10 NX XX");
    expect_error(c, "ERR value is not an integer or out of range", "EXPIRE ttl:k abc");
    expect_error(c, "ERR invalid expire time in 'set' command", "SET ttl:x v EX 0");

    /* Absolute deadlines read back exactly. */
    long long deadline = (server_time_ms(c) / 1000 + 60) * 1000;
    expect_integer(c, 1, "PEXPIREAT ttl:k %lld", deadline);
    expect_integer(c, deadline, "PEXPIRETIME ttl:k");
    expect_integer(c, deadline / 1000, "EXPIRETIME ttl:k");
    expect_status(c, "OK", "SET ttl:plain v");
    expect_integer(c, -1, "EXPIRETIME ttl:plain");
    expect_integer(c, -1, "PEXPIRETIME ttl:plain");
    expect_integer(c, -2, "PEXPIRETIME ttl:missing");

    /* A deadline already past deletes at once. */
    expect_integer(c, 1, "EXPIRE ttl:k 0");
    expect_integer(c, 0, "EXISTS ttl:k");
    expect_integer(c, 1, "PEXPIREAT ttl:plain 1");
    expect_integer(c, 0, "EXISTS ttl:plain");

    /* Commands that modify a value in place keep its TTL. */
    expect_status(c, "OK", "SET ttl:n 1 EX 100");
    expect_integer(c, 2, "INCR ttl:n");
    expect_integer(c, 100, "TTL ttl:n");
    expect_status(c, "OK", "SET ttl:s v EX 100");
    expect_integer(c, 4, "APPEND ttl:s xyz");
    expect_integer(c, 100, "TTL ttl:s");
    /* GETEX drops or sets it. */
    expect_bulk(c, "vxyz", "GETEX ttl:s PERSIST");
    expect_integer(c, -1, "TTL ttl:s");
    expect_bulk(c, "vxyz", "GETEX ttl:s EX 77");
    expect_integer(c, 77, "TTL ttl:s");

    /* PERSIST really cancels: the old deadline passes harmlessly. */
    expect_status(c, "OK", "SET ttl:p v PX 100");
    expect_integer(c, 1, "PERSIST ttl:p");
    harness_sleep_ms(250);
    expect_integer(c, 3, "DBSIZE");
    expect_bulk(c, "v", "GET ttl:p");
    redisFree(c);
}

static void test_ttl_survives_rename_move_and_copy(void **state)
{
    redisContext *c = fresh_client(state);
    long long deadline = server_time_ms(c) + 100000;
    expect_status(c, "OK", "SET keep:k v");
    expect_integer(c, 1, "PEXPIREAT keep:k %lld", deadline);
    expect_integer(c, deadline, "PEXPIRETIME keep:k");

    expect_status(c, "OK", "RENAME keep:k keep:renamed");
    expect_integer(c, 0, "EXISTS keep:k");
    expect_integer(c, deadline, "PEXPIRETIME keep:renamed");

    expect_integer(c, 1, "COPY keep:renamed keep:copy");
    expect_integer(c, deadline, "PEXPIRETIME keep:copy");

    expect_integer(c, 1, "MOVE keep:renamed 1");
    expect_integer(c, 0, "EXISTS keep:renamed");
    expect_status(c, "OK", "SELECT 1");
    expect_integer(c, deadline, "PEXPIRETIME keep:renamed");
    redisReply *info = harness_command(c, "INFO keyspace");
    assert_non_null(strstr(info->str, "db0:keys=1,expires=1,"));
    assert_non_null(strstr(info->str, "db1:keys=1,expires=1,"));
    freeReplyObject(info);
    expect_status(c, "OK", "SELECT 0");

    /* RENAME gives the target the source's TTL state, even "none". */
    expect_status(c, "OK", "SET keep:a x EX 50");
    expect_status(c, "OK", "SET keep:b y");
    expect_status(c, "OK", "RENAME keep:b keep:a");
    expect_integer(c, -1, "TTL keep:a");
    expect_status(c, "OK", "SET keep:c z");
    expect_status(c, "OK", "SET keep:d w EX 60");
    expect_status(c, "OK", "RENAME keep:d keep:c");
    expect_integer(c, 60, "TTL keep:c");
    redisFree(c);
}

/* The moved timers must still fire, in their new place, with nobody asking. */
static void test_renamed_moved_and_swapped_keys_still_expire_actively(void **state)
{
    redisContext *c = fresh_client(state);
    long long base = expired_keys(c);
    long long start = harness_now_ms();
    expect_status(c, "OK", "SET short:r v PX 200");
    expect_status(c, "OK", "RENAME short:r short:renamed");
    expect_status(c, "OK", "SET short:m v PX 200");
    expect_integer(c, 1, "MOVE short:m 1");
    expect_status(c, "OK", "SET short:s v PX 200");
    expect_status(c, "OK", "SELECT 2");
    expect_status(c, "OK", "SET short:other v PX 200");
    expect_status(c, "OK", "SWAPDB 0 2"); /* short:renamed and short:s go to db 2 */
    expect_status(c, "OK", "SELECT 0");
    expect_integer(c, 1, "DBSIZE");
    expect_status(c, "OK", "SELECT 2");
    expect_integer(c, 2, "DBSIZE");
    for (int db = 0; db < 3; db++) {
        expect_status(c, "OK", "SELECT %d", db);
        assert_true(wait_dbsize(c, 0, start + 1500));
    }
    assert_int_equal(expired_keys(c), base + 4);
    expect_status(c, "OK", "SELECT 0");
    redisFree(c);
}

static void test_set_clears_ttl_and_keepttl_keeps_it(void **state)
{
    redisContext *c = fresh_client(state);
    expect_status(c, "OK", "SET over:k v EX 100");
    expect_status(c, "OK", "SET over:k w");
    expect_integer(c, -1, "TTL over:k");
    expect_status(c, "OK", "SET over:k v EX 100");
    expect_bulk(c, "v", "GETSET over:k z");
    expect_integer(c, -1, "TTL over:k");
    expect_status(c, "OK", "SETEX over:k 100 v");
    expect_nil(c, "SET over:k x NX");
    expect_integer(c, 100, "TTL over:k");

    /* KEEPTTL keeps the exact deadline whatever the new value's size and
     * encoding: same size, a long string, an integer. */
    expect_status(c, "OK", "SET over:k v EX 100");
    long long deadline = integer_of(c, "PEXPIRETIME over:k");
    expect_status(c, "OK", "SET over:k x KEEPTTL");
    expect_integer(c, deadline, "PEXPIRETIME over:k");
    const char *long_value = "a value long enough to live outside the key's own allocation.";
    expect_status(c, "OK", "SET over:k %s KEEPTTL", long_value);
    expect_integer(c, deadline, "PEXPIRETIME over:k");
    expect_bulk(c, long_value, "GET over:k");
    expect_status(c, "OK", "SET over:k 12345 KEEPTTL");
    expect_integer(c, deadline, "PEXPIRETIME over:k");
    expect_bulk(c, "12345", "GET over:k");
    expect_status(c, "OK", "SET over:new v KEEPTTL");
    expect_integer(c, -1, "TTL over:new");

    /* An overwrite cancels the old timer... */
    expect_status(c, "OK", "FLUSHALL");
    expect_status(c, "OK", "SET over:a v PX 100");
    expect_status(c, "OK", "SET over:a w");
    expect_status(c, "OK", "SET over:b v PX 100");
    expect_status(c, "OK", "SET over:b %s", long_value);
    harness_sleep_ms(250);
    expect_integer(c, 2, "DBSIZE");
    expect_bulk(c, "w", "GET over:a");
    expect_bulk(c, long_value, "GET over:b");

    /* ...and KEEPTTL keeps it running. */
    long long start = harness_now_ms();
    expect_status(c, "OK", "SET over:c v PX 200");
    expect_status(c, "OK", "SET over:c %s KEEPTTL", long_value);
    expect_status(c, "OK", "SET over:d v PX 200");
    expect_status(c, "OK", "SET over:d y KEEPTTL");
    assert_true(wait_dbsize(c, 2, start + 1500));
    redisFree(c);
}

/* ---------- latency ---------- */

typedef struct mass_expiry_result {
    long long took_ms;        /* from switching the cycle on to DBSIZE 0 */
    long long worst_gap_ms;   /* longest wait for one PONG meanwhile */
    int partial_observations; /* DBSIZE replies strictly between full and 0 */
} mass_expiry_result;

/* Loads `count` keys that are all due (with the cycle off), switches the
 * cycle on, then alternates a timed PING on one connection with DBSIZE on
 * another until the keys are gone. */
static mass_expiry_result run_mass_expiry(void **state, int count)
{
    redisContext *c = fresh_client(state);
    expect_status(c, "OK", "DEBUG SET-ACTIVE-EXPIRE 0");
    set_many_with_ttl(c, "lat", count, 1);
    harness_sleep_ms(5);
    expect_integer(c, count, "DBSIZE");
    long long base = expired_keys(c);

    redisContext *pinger = harness_connect(*state);
    expect_status(pinger, "PONG", "PING");
    expect_status(c, "OK", "DEBUG SET-ACTIVE-EXPIRE 1");
    mass_expiry_result result = {0, 0, 0};
    long long start = harness_now_ms(), last = start;
    long long left = -1;
    while (harness_now_ms() - start < 10000) {
        expect_status(pinger, "PONG", "PING");
        long long now = harness_now_ms();
        if (now - last > result.worst_gap_ms)
            result.worst_gap_ms = now - last;
        last = now;
        left = integer_of(c, "DBSIZE");
        if (left == 0)
            break;
        if (left < count)
            result.partial_observations++;
    }
    result.took_ms = harness_now_ms() - start;
    print_message("mass expiry of %d keys: %lld ms, longest gap between PONGs %lld ms, "
                  "%d partial DBSIZE readings\n",
                  count, result.took_ms, result.worst_gap_ms, result.partial_observations);
    assert_int_equal(left, 0);
    assert_int_equal(expired_keys(c), base + count);
    redisFree(pinger);
    redisFree(c);
    return result;
}

static void test_clients_served_promptly_during_mass_expiry(void **state)
{
    mass_expiry_result result = run_mass_expiry(state, 200000);
    assert_true(result.worst_gap_ms < 250);
}

/* The reclaim runs in budgeted slices with client I/O between them, so
 * another client watching DBSIZE sees it fall step by step. A server that
 * runs slice after slice without polling sockets jumps from all to none, and
 * its stall grows with the number of keys (about 0.4 s per million here). */
static void test_active_expiry_yields_to_clients_between_slices(void **state)
{
    mass_expiry_result result = run_mass_expiry(state, 200000);
    assert_true(result.partial_observations >= 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lazy_expiry_on_access),
        cmocka_unit_test(test_active_expiry_reclaims_untouched_keys),
        cmocka_unit_test(test_100000_keys_reclaimed_within_2s_of_their_deadline),
        cmocka_unit_test(test_without_active_expiry_keys_stay_until_accessed),
        cmocka_unit_test(test_expire_persist_ttl_interplay),
        cmocka_unit_test(test_ttl_survives_rename_move_and_copy),
        cmocka_unit_test(test_renamed_moved_and_swapped_keys_still_expire_actively),
        cmocka_unit_test(test_set_clears_ttl_and_keepttl_keeps_it),
        cmocka_unit_test(test_clients_served_promptly_during_mass_expiry),
        cmocka_unit_test(test_active_expiry_yields_to_clients_between_slices),
    };
    return cmocka_run_group_tests(tests, server_setup, server_teardown);
}
