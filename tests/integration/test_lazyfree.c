/* Lazy freeing end to end: UNLINK of a huge set and FLUSHALL ASYNC of many
 * keys return at once, other clients keep being served while the values are
 * freed on the thread pool, used_memory falls back to where it was once the
 * worker reports, and INFO counts the freed objects. DEL stays synchronous
 * unless lazyfree-lazy-user-del is set. The set is 5M members as the issue
 * asks (1M under the sanitizers, which are several times slower). */
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

#if defined(__SANITIZE_ADDRESS__)
#define SET_MEMBERS 1000000
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SET_MEMBERS 1000000
#endif
#endif
#ifndef SET_MEMBERS
#define SET_MEMBERS 5000000
#endif

#define BATCH 1000

static int setup(void **state)
{
    *state = harness_start(NULL);
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    return harness_stop(*state);
}

static void drain(redisContext *c, int replies)
{
    for (int i = 0; i < replies; i++) {
        redisReply *r = NULL;
        assert_int_equal(redisGetReply(c, (void **)&r), REDIS_OK);
        assert_int_not_equal(r->type, REDIS_REPLY_ERROR);
        freeReplyObject(r);
    }
}

/* SADD key with members [0, count) in pipelined batches of BATCH. */
static void fill_set(redisContext *c, const char *key, int count)
{
    const char *argv[BATCH + 2];
    size_t lens[BATCH + 2];
    static char numbers[BATCH][16];
    argv[0] = "SADD";
    lens[0] = 4;
    argv[1] = key;
    lens[1] = strlen(key);
    int pending = 0;
    for (int start = 0; start < count; start += BATCH) {
        int n = count - start < BATCH ? count - start : BATCH;
        for (int i = 0; i < n; i++) {
            lens[i + 2] = (size_t)snprintf(numbers[i], sizeof(numbers[i]), "%d", start + i);
            argv[i + 2] = numbers[i];
        }
        assert_int_equal(redisAppendCommandArgv(c, n + 2, argv, lens), REDIS_OK);
        if (++pending == 64) {
            drain(c, pending);
            pending = 0;
        }
    }
    drain(c, pending);
}

/* Sends `command` on c without reading its reply, then PINGs on pinger for
 * at least 300 ms and until the reply arrived; returns the longest PING
 * round trip. */
static long long worst_ping_during(redisContext *c, redisContext *pinger, const char *command,
                                   long long *reply_integer)
{
    assert_int_equal(redisAppendCommand(c, command), REDIS_OK);
    int done = 0;
    while (!done) {
        assert_int_equal(redisBufferWrite(c, &done), REDIS_OK);
    }
    long long start = harness_now_ms(), worst = 0;
    while (harness_now_ms() - start < 300) {
        long long before = harness_now_ms();
        expect_status(pinger, "PONG", "PING");
        long long took = harness_now_ms() - before;
        if (took > worst)
            worst = took;
    }
    redisReply *r = NULL;
    assert_int_equal(redisGetReply(c, (void **)&r), REDIS_OK);
    if (reply_integer)
        *reply_integer = r->integer;
    freeReplyObject(r);
    return worst;
}

static void test_unlink_of_a_huge_set_does_not_stall(void **state)
{
    redisContext *c = harness_connect(*state);
    redisContext *pinger = harness_connect(*state);
    long long baseline = harness_info_number(c, "memory", "used_memory");
    long long freed_before = harness_info_number(c, "memory", "lazyfreed_objects");
    fill_set(c, "big", SET_MEMBERS);
    expect_integer(c, SET_MEMBERS, "SCARD big");
    long long full = harness_info_number(c, "memory", "used_memory");
    long long removed = -1;
    long long worst = worst_ping_during(c, pinger, "UNLINK big", &removed);
    assert_int_equal(removed, 1);
    expect_integer(c, 0, "EXISTS big");
    assert_true(
        harness_wait_info_number(c, "memory", "lazyfreed_objects", freed_before + 1, 20000));
    expect_integer(c, 0, "DBSIZE");
    long long after = harness_info_number(c, "memory", "used_memory");
    print_message("set of %d members: used_memory %lld -> %lld -> %lld, longest PING during "
                  "UNLINK %lld ms\n",
                  SET_MEMBERS, baseline, full, after, worst);
    assert_true(worst < 250);
    /* The worker's frees were handed back: memory is where it started. */
    assert_true(after < baseline + 1024 * 1024);
    assert_true(harness_info_number(c, "memory", "lazyfree_pending_objects") == 0);
    redisFree(pinger);
    redisFree(c);
}

static void test_flushall_async_empties_at_once_and_frees_later(void **state)
{
    redisContext *c = harness_connect(*state);
    long long baseline = harness_info_number(c, "memory", "used_memory");
    long long freed_before = harness_info_number(c, "memory", "lazyfreed_objects");
    const int keys = 200000;
    for (int start = 0; start < keys; start += BATCH) {
        for (int i = start; i < start + BATCH; i++)
            assert_int_equal(redisAppendCommand(c, "SET key:%d value:%d", i, i), REDIS_OK);
        drain(c, BATCH);
    }
    fill_set(c, "set", 10000);
    expect_status(c, "OK", "FLUSHALL ASYNC");
    expect_integer(c, 0, "DBSIZE");
    /* Writes right after the flush land in the new, empty tables. */
    expect_status(c, "OK", "SET fresh 1");
    expect_integer(c, 1, "DBSIZE");
    assert_true(
        harness_wait_info_number(c, "memory", "lazyfreed_objects", freed_before + keys + 1, 20000));
    long long after = harness_info_number(c, "memory", "used_memory");
    assert_true(after < baseline + 1024 * 1024);
    expect_status(c, "OK", "FLUSHDB SYNC");
    expect_error(c, "ERR syntax error", "FLUSHALL LATER");
    redisFree(c);
}

static void test_del_is_synchronous_unless_configured(void **state)
{
    redisContext *c = harness_connect(*state);
    long long freed_before = harness_info_number(c, "memory", "lazyfreed_objects");
    fill_set(c, "s1", 1000);
    expect_integer(c, 1, "DEL s1");
    assert_int_equal(harness_info_number(c, "memory", "lazyfreed_objects"), freed_before);
    expect_status(c, "OK", "CONFIG SET lazyfree-lazy-user-del yes");
    fill_set(c, "s2", 1000);
    expect_integer(c, 1, "DEL s2");
    assert_true(
        harness_wait_info_number(c, "memory", "lazyfreed_objects", freed_before + 1, 10000));
    /* Small values are freed at once even by UNLINK: a listpack set of 10. */
    fill_set(c, "small", 10);
    expect_integer(c, 1, "UNLINK small");
    assert_int_equal(harness_info_number(c, "memory", "lazyfreed_objects"), freed_before + 1);
    expect_status(c, "OK", "CONFIG SET lazyfree-lazy-user-del no");
    redisFree(c);
}

/* Fills 8 sets of 20000 members, then halves the room above the empty
 * server's memory and sends one write; returns how many keys were evicted
 * once memory is back under the limit. */
static long long evict_half(redisContext *c, long long *lazyfreed)
{
    expect_status(c, "OK", "FLUSHALL");
    expect_status(c, "OK", "CONFIG SET maxmemory-policy allkeys-random");
    long long empty = harness_info_number(c, "memory", "used_memory");
    char key[32];
    for (int i = 0; i < 8; i++) {
        snprintf(key, sizeof(key), "set:%d", i);
        fill_set(c, key, 20000);
    }
    long long full = harness_info_number(c, "memory", "used_memory");
    long long evicted_before = harness_info_number(c, "stats", "evicted_keys");
    long long freed_before = harness_info_number(c, "memory", "lazyfreed_objects");
    long long limit = empty + (full - empty) / 2;
    expect_status(c, "OK", "CONFIG SET maxmemory %lld", limit);
    expect_status(c, "OK", "SET trigger 1");
    long long deadline = harness_now_ms() + 10000;
    while (harness_info_number(c, "memory", "used_memory") > limit && harness_now_ms() < deadline)
        harness_sleep_ms(10);
    assert_true(harness_info_number(c, "memory", "used_memory") <= limit);
    *lazyfreed = harness_info_number(c, "memory", "lazyfreed_objects") - freed_before;
    long long evicted = harness_info_number(c, "stats", "evicted_keys") - evicted_before;
    expect_status(c, "OK", "CONFIG SET maxmemory 0");
    return evicted;
}

/* lazyfree-lazy-eviction: evicted big values are freed by the workers, and
 * memory already handed to them counts as gone, so eviction stops where the
 * synchronous path stops (give or take one key) instead of evicting
 * everything while the workers catch up. */
static void test_lazy_eviction_frees_in_the_background(void **state)
{
    redisContext *c = harness_connect(*state);
    long long lazyfreed;
    long long evicted_sync = evict_half(c, &lazyfreed);
    assert_int_equal(lazyfreed, 0);
    assert_true(evicted_sync >= 4 && evicted_sync <= 5);
    expect_status(c, "OK", "CONFIG SET lazyfree-lazy-eviction yes");
    long long evicted_lazy = evict_half(c, &lazyfreed);
    print_message("evicted %lld sets synchronously, %lld lazily\n", evicted_sync, evicted_lazy);
    /* The memory on its way out is a sampled estimate, so when the limit
     * falls just past a key the lazy path may take one more; without the
     * estimate it takes all eight and then refuses the write. */
    assert_true(evicted_lazy >= evicted_sync && evicted_lazy <= evicted_sync + 1);
    assert_int_equal(lazyfreed, evicted_lazy);
    expect_status(c, "OK", "CONFIG SET lazyfree-lazy-eviction no");
    expect_status(c, "OK", "CONFIG SET maxmemory-policy noeviction");
    expect_status(c, "OK", "FLUSHALL");
    redisFree(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unlink_of_a_huge_set_does_not_stall),
        cmocka_unit_test(test_flushall_async_empties_at_once_and_frees_later),
        cmocka_unit_test(test_del_is_synchronous_unless_configured),
        cmocka_unit_test(test_lazy_eviction_frees_in_the_background),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
