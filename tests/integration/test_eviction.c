/* maxmemory end to end: for each policy, writes past a small limit and checks
 * which class of keys went (volatile policies never take a persistent key,
 * allkeys-lru keeps recently read keys, volatile-ttl takes the soonest to
 * expire), that noeviction refuses writes with Redis's exact error while reads
 * and DEL work, that evicted_keys and the "evicted" event report each key,
 * and that lowering maxmemory sharply under write load never stalls clients.
 * Limits are set relative to the empty server's used_memory, which differs
 * between the jemalloc and the sanitizer (libc) builds. */
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

#define OOM_ERROR   "OOM command not allowed when used memory > 'maxmemory'."
#define VALUE_BYTES 1000
#define MB          (1024LL * 1024)

static char value[VALUE_BYTES + 1];

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
    long long result = r->integer;
    freeReplyObject(r);
    return result;
}

static long long used_memory(redisContext *c)
{
    return harness_info_number(c, "memory", "used_memory");
}

static long long evicted_keys(redisContext *c)
{
    return harness_info_number(c, "stats", "evicted_keys");
}

/* SET <prefix>:<i> <value> [EX ttl] for i in [first, first+count), pipelined.
 * ttl_of returns the key's TTL in seconds, or 0 for none (NULL: no TTLs).
 * Every reply must be OK. */
static void set_many(redisContext *c, const char *prefix, int first, int count,
                     long long (*ttl_of)(int index))
{
    const int batch = 500;
    for (int start = first; start < first + count; start += batch) {
        int end = start + batch < first + count ? start + batch : first + count;
        for (int i = start; i < end; i++) {
            long long ttl = ttl_of ? ttl_of(i) : 0;
            int rc = ttl > 0 ? redisAppendCommand(c, "SET %s:%d %s EX %lld", prefix, i, value, ttl)
                             : redisAppendCommand(c, "SET %s:%d %s", prefix, i, value);
            if (rc != REDIS_OK)
                fail_msg("redisAppendCommand: %s", c->errstr);
        }
        for (int i = start; i < end; i++) {
            void *reply = NULL;
            if (redisGetReply(c, &reply) != REDIS_OK || !reply)
                fail_msg("pipelined SET %s:%d: %s", prefix, i, c->errstr);
            redisReply *r = reply;
            bool ok = r->type == REDIS_REPLY_STATUS && strcmp(r->str, "OK") == 0;
            if (!ok)
                fail_msg("pipelined SET %s:%d: unexpected reply %s", prefix, i,
                         r->str ? r->str : "");
            freeReplyObject(r);
        }
    }
}

/* How many of <prefix>:<first .. first+count-1> exist. */
static int count_existing(redisContext *c, const char *prefix, int first, int count)
{
    int found = 0;
    for (int i = first; i < first + count; i++)
        found += (int)integer_of(c, "EXISTS %s:%d", prefix, i);
    return found;
}

static long long long_ttl(int index)
{
    return 100000;
}

static int server_setup(void **state)
{
    memset(value, 'v', VALUE_BYTES);
    *state = harness_start(NULL);
    return *state ? 0 : -1;
}

static int server_teardown(void **state)
{
    return harness_stop(*state) == 0 ? 0 : -1;
}

/* A connection to an empty server with no limit and the given policy; returns
 * the used_memory baseline. */
static redisContext *fresh_client(void **state, const char *policy, long long *baseline)
{
    redisContext *c = harness_connect(*state);
    expect_status(c, "OK", "CONFIG SET maxmemory 0");
    expect_status(c, "OK", "FLUSHALL");
    expect_status(c, "OK", "CONFIG SET maxmemory-policy %s", policy);
    expect_status(c, "OK", "CONFIG SET maxmemory-samples 5");
    *baseline = used_memory(c);
    return c;
}

static void set_limit(redisContext *c, long long bytes)
{
    expect_status(c, "OK", "CONFIG SET maxmemory %lld", bytes);
}

/* ---------- noeviction ---------- */

static void test_noeviction_refuses_writes_but_serves_reads_and_del(void **state)
{
    long long baseline;
    redisContext *c = fresh_client(state, "noeviction", &baseline);
    long long evicted_before = evicted_keys(c);
    set_limit(c, baseline + 1 * MB);
    int written = 0;
    redisReply *r = NULL;
    for (; written < 20000; written++) {
        r = harness_command(c, "SET k:%d %s", written, value);
        if (r->type == REDIS_REPLY_ERROR)
            break;
        freeReplyObject(r);
        r = NULL;
    }
    assert_non_null(r);
    assert_string_equal(r->str, OOM_ERROR);
    freeReplyObject(r);
    assert_true(written > 500); /* about 1 MB of 1 KB values went in first */

    /* Every write that may grow memory is refused; reads and DEL run. */
    expect_error(c, OOM_ERROR, "SET another x");
    expect_error(c, OOM_ERROR, "RPUSH list x");
    expect_error(c, OOM_ERROR, "APPEND k:0 x");
    expect_bulk(c, value, "GET k:0");
    expect_integer(c, 1, "EXISTS k:1");
    expect_integer(c, written, "DBSIZE");
    expect_status(c, "PONG", "PING");
    /* Inside MULTI the refusal dooms the transaction. */
    expect_status(c, "OK", "MULTI");
    expect_error(c, OOM_ERROR, "SET another x");
    expect_error(c, "EXECABORT Transaction discarded because of previous errors.", "EXEC");
    /* Deleting makes room again. */
    for (int i = 0; i < 100; i++)
        expect_integer(c, 1, "DEL k:%d", i);
    expect_status(c, "OK", "SET another x");
    assert_int_equal(evicted_keys(c), evicted_before);
    expect_integer(c, written - 100 + 1, "DBSIZE");
    expect_status(c, "OK", "CONFIG SET maxmemory 0");
    redisFree(c);
}

/* ---------- allkeys ---------- */

static void fill_past_limit_keeps_under_it(void **state, const char *policy)
{
    long long baseline;
    redisContext *c = fresh_client(state, policy, &baseline);
    long long evicted_before = evicted_keys(c);
    long long limit = baseline + 2 * MB;
    set_limit(c, limit);
    const int total = 6000; /* about three times the limit */
    set_many(c, "fill", 0, total, NULL);
    long long size = integer_of(c, "DBSIZE");
    print_message("%s: %lld of %d keys kept, used_memory %lld, limit %lld\n", policy, size, total,
                  used_memory(c), limit);
    assert_true(size < total / 2);
    assert_true(size > 500);
    assert_true(used_memory(c) <= limit + 64 * 1024);
    /* Nothing else removes keys here, so each missing key was evicted. */
    assert_int_equal(evicted_keys(c) - evicted_before, total - size);
    /* The keys written last are still there: each write makes its own room. */
    expect_bulk(c, value, "GET fill:%d", total - 1);
    expect_status(c, "OK", "CONFIG SET maxmemory 0");
    redisFree(c);
}

static void test_allkeys_random_keeps_memory_under_the_limit(void **state)
{
    fill_past_limit_keeps_under_it(state, "allkeys-random");
}

static void test_allkeys_lru_keeps_memory_under_the_limit(void **state)
{
    fill_past_limit_keeps_under_it(state, "allkeys-lru");
}

/* LRU proper: keys read recently outlive keys nobody touched. The access
 * clock counts seconds, so the cold keys are left alone for two. */
static void test_allkeys_lru_keeps_recently_read_keys(void **state)
{
    long long baseline;
    redisContext *c = fresh_client(state, "allkeys-lru", &baseline);
    const int cold = 1500, hot = 100, filler = 1200;
    set_many(c, "cold", 0, cold, NULL);
    set_many(c, "hot", 0, hot, NULL);
    harness_sleep_ms(2100);
    /* Only reads refresh the hot keys. */
    for (int i = 0; i < hot; i++)
        expect_bulk(c, value, "GET hot:%d", i);
    set_limit(c, baseline + 2 * MB);
    for (int start = 0; start < filler; start += 100) {
        set_many(c, "filler", start, 100, NULL);
        for (int i = 0; i < hot; i += 10)
            expect_bulk(c, value, "GET hot:%d", i);
    }
    int hot_left = count_existing(c, "hot", 0, hot);
    int cold_left = count_existing(c, "cold", 0, cold);
    int filler_left = count_existing(c, "filler", 0, filler);
    print_message("allkeys-lru: hot %d/%d, cold %d/%d, filler %d/%d kept\n", hot_left, hot,
                  cold_left, cold, filler_left, filler);
    assert_true(cold_left < cold - 500); /* eviction happened, mostly here */
    /* Random eviction would keep about 60% of the hot keys. */
    assert_true(hot_left >= hot * 95 / 100);
    assert_true(filler_left >= filler * 90 / 100);
    expect_status(c, "OK", "CONFIG SET maxmemory 0");
    redisFree(c);
}

/* LFU: keys read often outlive keys read once, whatever their age. With
 * the default log factor, 30 reads lift a counter from 5 to about 7; new
 * and untouched keys stay at 5 and go first. */
static void test_allkeys_lfu_keeps_frequently_read_keys(void **state)
{
    long long baseline;
    redisContext *c = fresh_client(state, "allkeys-lfu", &baseline);
    const int cold = 1500, hot = 100, filler = 1200;
    set_many(c, "hot", 0, hot, NULL);
    set_many(c, "cold", 0, cold, NULL);
    for (int round = 0; round < 30; round++)
        for (int i = 0; i < hot; i++)
            expect_bulk(c, value, "GET hot:%d", i);
    redisReply *freq = harness_command(c, "OBJECT FREQ hot:0");
    assert_int_equal(freq->type, REDIS_REPLY_INTEGER);
    assert_true(freq->integer > 5);
    freeReplyObject(freq);
    expect_integer(c, 5, "OBJECT FREQ cold:0");
    set_limit(c, baseline + 2 * MB);
    for (int start = 0; start < filler; start += 100)
        set_many(c, "filler", start, 100, NULL);
    int hot_left = count_existing(c, "hot", 0, hot);
    int cold_left = count_existing(c, "cold", 0, cold);
    print_message("allkeys-lfu: hot %d/%d, cold %d/%d kept\n", hot_left, hot, cold_left, cold);
    assert_true(cold_left < cold - 500);
    assert_true(hot_left >= hot * 95 / 100);
    expect_status(c, "OK", "CONFIG SET maxmemory 0");
    redisFree(c);
}

/* ---------- volatile ---------- */

static void volatile_policy_spares_persistent_keys(void **state, const char *policy)
{
    long long baseline;
    redisContext *c = fresh_client(state, policy, &baseline);
    long long evicted_before = evicted_keys(c);
    const int persistent = 300, volatile_count = 5000;
    set_many(c, "keep", 0, persistent, NULL);
    set_limit(c, baseline + 2 * MB);
    set_many(c, "vol", 0, volatile_count, long_ttl);
    assert_int_equal(count_existing(c, "keep", 0, persistent), persistent);
    long long size = integer_of(c, "DBSIZE");
    assert_true(size < persistent + volatile_count / 2);
    assert_int_equal(evicted_keys(c) - evicted_before, persistent + volatile_count - size);

    /* With no volatile key left a volatile policy is noeviction. */
    set_limit(c, 1);
    /* Each command gives a bounded slice, so a few go by before every
     * volatile key is gone; a write meanwhile is let through. */
    for (int tries = 0; tries < 1000 && integer_of(c, "DBSIZE") > persistent; tries++)
        ;
    expect_integer(c, persistent, "DBSIZE");
    expect_error(c, OOM_ERROR, "SET vol:new x EX 100");
    expect_integer(c, 0, "EXISTS vol:%d", volatile_count - 1);
    expect_error(c, OOM_ERROR, "SET another x");
    expect_bulk(c, value, "GET keep:0");
    expect_integer(c, 1, "DEL keep:0");
    expect_status(c, "OK", "CONFIG SET maxmemory 0");
    redisFree(c);
}

static void test_volatile_lru_spares_persistent_keys(void **state)
{
    volatile_policy_spares_persistent_keys(state, "volatile-lru");
}

static void test_volatile_random_spares_persistent_keys(void **state)
{
    volatile_policy_spares_persistent_keys(state, "volatile-random");
}

static void test_volatile_ttl_spares_persistent_keys(void **state)
{
    volatile_policy_spares_persistent_keys(state, "volatile-ttl");
}

/* Later keys get shorter TTLs, so volatile-ttl takes the newest keys and
 * keeps the oldest: the opposite of what LRU or FIFO would do. */
static long long shrinking_ttl(int index)
{
    return 1000000 - (long long)index * 100;
}

static void test_volatile_ttl_evicts_soonest_to_expire(void **state)
{
    long long baseline;
    redisContext *c = fresh_client(state, "volatile-ttl", &baseline);
    set_limit(c, baseline + 2 * MB);
    const int total = 5000, oldest = 500;
    set_many(c, "ttl", 0, total, shrinking_ttl);
    int oldest_left = count_existing(c, "ttl", 0, oldest);
    long long size = integer_of(c, "DBSIZE");
    print_message("volatile-ttl: %d of the %d longest-lived kept, %lld keys in all\n", oldest_left,
                  oldest, size);
    assert_true(size < total / 2);
    assert_true(oldest_left >= oldest * 90 / 100);
    expect_status(c, "OK", "CONFIG SET maxmemory 0");
    redisFree(c);
}

/* ---------- reporting ---------- */

static void test_each_eviction_is_announced_and_counted(void **state)
{
    long long baseline;
    redisContext *c = fresh_client(state, "allkeys-random", &baseline);
    expect_status(c, "OK", "CONFIG SET notify-keyspace-events Ee");
    redisContext *listener = harness_connect(*state);
    redisReply *r = harness_command(listener, "SUBSCRIBE __keyevent@0__:evicted");
    freeReplyObject(r);
    set_many(c, "n", 0, 50, NULL);
    long long before = evicted_keys(c);
    set_limit(c, 1);
    /* One read gives a slice: the whole database goes, then the write that
     * follows finds nothing left to free. */
    expect_nil(c, "GET missing");
    expect_integer(c, 0, "DBSIZE");
    expect_error(c, OOM_ERROR, "SET more x");
    assert_int_equal(evicted_keys(c) - before, 50);
    bool seen[50] = {false};
    for (int i = 0; i < 50; i++) {
        void *reply = NULL;
        assert_int_equal(redisGetReply(listener, &reply), REDIS_OK);
        redisReply *m = reply;
        assert_int_equal(m->type, REDIS_REPLY_ARRAY);
        assert_int_equal(m->elements, 3);
        assert_string_equal(m->element[1]->str, "__keyevent@0__:evicted");
        int index = -1;
        assert_int_equal(sscanf(m->element[2]->str, "n:%d", &index), 1);
        assert_true(index >= 0 && index < 50 && !seen[index]);
        seen[index] = true;
        freeReplyObject(m);
    }
    expect_status(c, "OK", "CONFIG SET maxmemory 0");
    expect_status(c, "OK", "CONFIG SET notify-keyspace-events %s", "");
    expect_status(c, "OK", "CONFIG RESETSTAT");
    assert_int_equal(evicted_keys(c), 0);
    redisFree(listener);
    redisFree(c);
}

/* ---------- latency ---------- */

/* One run of the scenario below; returns the longest gap between PONGs. */
static long long lower_maxmemory_once(void **state)
{
    long long baseline;
    redisContext *c = fresh_client(state, "allkeys-random", &baseline);
    const int count = 100000;
    const int batch = 5000;
    for (int start = 0; start < count; start += batch) {
        for (int i = start; i < start + batch; i++)
            if (redisAppendCommand(c, "SET big:%d %d", i, i) != REDIS_OK)
                fail_msg("redisAppendCommand: %s", c->errstr);
        for (int i = start; i < start + batch; i++) {
            void *reply = NULL;
            assert_int_equal(redisGetReply(c, &reply), REDIS_OK);
            freeReplyObject(reply);
        }
    }
    long long full = used_memory(c);
    long long limit = baseline + (full - baseline) / 10;
    redisContext *writer = harness_connect(*state);
    redisContext *pinger = harness_connect(*state);
    expect_status(pinger, "PONG", "PING");
    set_limit(c, limit);
    long long start = harness_now_ms(), last = start, worst_gap = 0;
    long long used = full;
    int i = 0;
    while (harness_now_ms() - start < 10000) {
        expect_status(writer, "OK", "SET load:%d %s", i++, value);
        expect_status(pinger, "PONG", "PING");
        long long now = harness_now_ms();
        if (now - last > worst_gap)
            worst_gap = now - last;
        last = now;
        if (i % 50 == 0) {
            used = used_memory(c);
            if (used <= limit)
                break;
        }
    }
    long long took = harness_now_ms() - start;
    print_message("limit lowered from %lld to %lld bytes: under it after %lld ms, longest gap "
                  "between PONGs %lld ms\n",
                  full, limit, took, worst_gap);
    assert_true(used <= limit);
    expect_status(c, "OK", "CONFIG SET maxmemory 0");
    redisFree(pinger);
    redisFree(writer);
    redisFree(c);
    return worst_gap;
}

/* Lowering the limit far below what is stored must not stall the loop: the
 * excess goes in bounded slices (per command and periodic), with client I/O
 * between them. The gap is wall time seen by the test, so on a loaded CI
 * machine (sanitizers, parallel tests) a descheduled test process can show a
 * long gap the server did not cause; a server that evicts in one go stalls
 * on every run, so one run within the bound out of three is required. */
static void test_lowering_maxmemory_under_load_does_not_stall(void **state)
{
    long long gaps[3];
    for (int attempt = 0; attempt < 3; attempt++) {
        gaps[attempt] = lower_maxmemory_once(state);
        if (gaps[attempt] < 250)
            return;
    }
    fail_msg("the longest gap between PONGs was %lld, %lld and %lld ms in three runs", gaps[0],
             gaps[1], gaps[2]);
}

/* With no command arriving at all, the periodic slice brings memory down.
 * Every command gives a slice of its own, so the test sends none after the
 * limit drops and watches the "evicted" events arrive instead. */
static void test_periodic_slice_evicts_without_traffic(void **state)
{
    long long baseline;
    redisContext *c = fresh_client(state, "allkeys-lru", &baseline);
    set_many(c, "idle", 0, 4000, NULL);
    expect_status(c, "OK", "CONFIG SET notify-keyspace-events Ee");
    redisContext *listener = harness_connect(*state);
    redisReply *r = harness_command(listener, "SUBSCRIBE __keyevent@0__:evicted");
    freeReplyObject(r);
    long long limit = baseline + 1 * MB;
    /* CONFIG SET's own slice runs before the new limit applies. */
    set_limit(c, limit);
    for (int i = 0; i < 1000; i++) {
        void *reply = NULL;
        assert_int_equal(redisGetReply(listener, &reply), REDIS_OK);
        freeReplyObject(reply);
    }
    /* The periodic slice runs 1 ms in every 10, so under a sanitizer the
     * rest can take a second or two; polling now adds slices of its own. */
    bool under = false;
    for (int tries = 0; tries < 50 && !under; tries++) {
        under = used_memory(c) <= limit;
        if (!under)
            harness_sleep_ms(100);
    }
    assert_true(under);
    assert_true(integer_of(c, "DBSIZE") < 4000 - 1000);
    expect_status(c, "OK", "CONFIG SET maxmemory 0");
    expect_status(c, "OK", "CONFIG SET notify-keyspace-events %s", "");
    redisFree(listener);
    redisFree(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_noeviction_refuses_writes_but_serves_reads_and_del),
        cmocka_unit_test(test_allkeys_random_keeps_memory_under_the_limit),
        cmocka_unit_test(test_allkeys_lru_keeps_memory_under_the_limit),
        cmocka_unit_test(test_allkeys_lru_keeps_recently_read_keys),
        cmocka_unit_test(test_allkeys_lfu_keeps_frequently_read_keys),
        cmocka_unit_test(test_volatile_lru_spares_persistent_keys),
        cmocka_unit_test(test_volatile_random_spares_persistent_keys),
        cmocka_unit_test(test_volatile_ttl_spares_persistent_keys),
        cmocka_unit_test(test_volatile_ttl_evicts_soonest_to_expire),
        cmocka_unit_test(test_each_eviction_is_announced_and_counted),
        cmocka_unit_test(test_lowering_maxmemory_under_load_does_not_stall),
        cmocka_unit_test(test_periodic_slice_evicts_without_traffic),
    };
    return cmocka_run_group_tests(tests, server_setup, server_teardown);
}
