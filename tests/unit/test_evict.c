/* evict_run against a bare keyspace: which keys each policy may take, the
 * per-slice key budget, LRU by the access clock and volatile-ttl by deadline.
 * Limits are set relative to mem_used() after filling, so they hold for any
 * allocator. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "rivet/clock.h"
#include "rivet/evict.h"
#include "rivet/keyspace.h"
#include "rivet/memory.h"

#define START_MS 1000000000LL

static char value[200];

static int setup(void **state)
{
    clock_calibrate();
    memset(value, 'v', sizeof(value));
    *state = keyspace_create(4, START_MS);
    return 0;
}

static int teardown(void **state)
{
    evict_release();
    keyspace_destroy(*state);
    return 0;
}

static void fill(database *db, const char *prefix, int count, int64_t deadline_base)
{
    char key[64];
    for (int i = 0; i < count; i++) {
        int len = snprintf(key, sizeof(key), "%s:%d", prefix, i);
        kv_entry *e = keyspace_set_string(db, key, (size_t)len, value, sizeof(value), 0);
        if (deadline_base > 0)
            keyspace_set_expire(db, e, deadline_base + i);
    }
}

static int exists(database *db, const char *prefix, int index)
{
    char key[64];
    int len = snprintf(key, sizeof(key), "%s:%d", prefix, index);
    return keyspace_lookup_raw(db, key, (size_t)len) != NULL;
}

static int count_existing(database *db, const char *prefix, int first, int count)
{
    int found = 0;
    for (int i = first; i < first + count; i++)
        found += exists(db, prefix, i);
    return found;
}

static evict_limits limits_for(int policy, size_t maxmemory, size_t max_keys)
{
    evict_limits limits = {.maxmemory = maxmemory,
                           .policy = policy,
                           .samples = 5,
                           .time_us = 1000000,
                           .max_keys = max_keys};
    return limits;
}

static void test_no_limit_or_under_it_is_ok(void **state)
{
    keyspace *ks = *state;
    database *db = keyspace_database(ks, 0);
    fill(db, "k", 10, 0);
    evict_limits none = limits_for(EVICT_ALLKEYS_RANDOM, 0, 100);
    assert_int_equal(evict_run(ks, &none), EVICT_OK);
    evict_limits roomy = limits_for(EVICT_ALLKEYS_RANDOM, mem_used() + 1, 100);
    assert_int_equal(evict_run(ks, &roomy), EVICT_OK);
    assert_int_equal(keyspace_size(db), 10);
}

static void test_noeviction_fails_and_deletes_nothing(void **state)
{
    keyspace *ks = *state;
    database *db = keyspace_database(ks, 0);
    fill(db, "k", 100, 0);
    evict_limits limits = limits_for(EVICT_NOEVICTION, mem_used() - 1000, 100);
    assert_int_equal(evict_run(ks, &limits), EVICT_FAIL);
    assert_int_equal(keyspace_size(db), 100);
    assert_int_equal(keyspace_get_stats(ks)->evicted_keys, 0);
}

static void test_allkeys_policies_get_under_the_limit(void **state)
{
    const int policies[] = {EVICT_ALLKEYS_RANDOM, EVICT_ALLKEYS_LRU, EVICT_ALLKEYS_LFU};
    keyspace *ks = *state;
    for (int p = 0; p < 3; p++) {
        database *a = keyspace_database(ks, 0), *b = keyspace_database(ks, 2);
        keyspace_flush(a);
        keyspace_flush(b);
        keyspace_get_stats(ks)->evicted_keys = 0;
        fill(a, "a", 1000, 0);
        fill(b, "b", 1000, 0);
        size_t limit = mem_used() - 100 * 1024;
        evict_limits limits = limits_for(policies[p], limit, 100000);
        assert_int_equal(evict_run(ks, &limits), EVICT_OK);
        assert_true(mem_used() <= limit);
        size_t left = keyspace_size(a) + keyspace_size(b);
        assert_true(left < 2000 && left > 1000);
        assert_int_equal(keyspace_get_stats(ks)->evicted_keys, 2000 - left);
        /* Both databases gave keys. */
        assert_true(keyspace_size(a) < 1000 && keyspace_size(b) < 1000);
    }
}

static void test_volatile_policies_never_take_persistent_keys(void **state)
{
    const int policies[] = {EVICT_VOLATILE_RANDOM, EVICT_VOLATILE_LRU, EVICT_VOLATILE_LFU,
                            EVICT_VOLATILE_TTL};
    keyspace *ks = *state;
    database *db = keyspace_database(ks, 1);
    for (int p = 0; p < 4; p++) {
        keyspace_flush(db);
        fill(db, "keep", 500, 0);
        fill(db, "vol", 500, START_MS + 100000);
        /* Asks for more than all the volatile keys hold. */
        evict_limits limits = limits_for(policies[p], 1, 100000);
        assert_int_equal(evict_run(ks, &limits), EVICT_FAIL);
        assert_int_equal(keyspace_expires_count(db), 0);
        assert_int_equal(count_existing(db, "keep", 0, 500), 500);
        assert_int_equal(keyspace_size(db), 500);
    }
}

static void test_slice_stops_at_its_key_budget(void **state)
{
    keyspace *ks = *state;
    database *db = keyspace_database(ks, 0);
    fill(db, "k", 500, 0);
    uint64_t before = keyspace_get_stats(ks)->evicted_keys;
    evict_limits limits = limits_for(EVICT_ALLKEYS_LRU, 1, 10);
    assert_int_equal(evict_run(ks, &limits), EVICT_RUNNING);
    assert_int_equal(keyspace_size(db), 490);
    assert_int_equal(keyspace_get_stats(ks)->evicted_keys - before, 10);
}

static void test_lru_takes_keys_idle_longest(void **state)
{
    keyspace *ks = *state;
    database *db = keyspace_database(ks, 0);
    keyspace_set_time(ks, START_MS);
    fill(db, "cold", 1000, 0);
    keyspace_set_time(ks, START_MS + 60000);
    fill(db, "warm", 1000, 0);
    keyspace_set_time(ks, START_MS + 120000);
    /* The first half of the cold keys is read now: it becomes the hottest. */
    char key[64];
    for (int i = 0; i < 500; i++) {
        int len = snprintf(key, sizeof(key), "cold:%d", i);
        assert_non_null(keyspace_lookup_read(db, key, (size_t)len, 0));
    }
    /* Sampling finds the idlest keys only while they are common enough in
     * the samples: take 200 of the 500 with 10 samples per round. */
    evict_limits limits = limits_for(EVICT_ALLKEYS_LRU, 1, 200);
    limits.samples = 10;
    assert_int_equal(evict_run(ks, &limits), EVICT_RUNNING);
    int untouched_left = count_existing(db, "cold", 500, 500);
    int warm_left = count_existing(db, "warm", 0, 1000);
    assert_int_equal(count_existing(db, "cold", 0, 500), 500);
    assert_int_equal(untouched_left + warm_left, 1300);
    assert_true(warm_left >= 990);
    keyspace_set_time(ks, START_MS);
}

static void test_volatile_ttl_takes_nearest_deadlines(void **state)
{
    keyspace *ks = *state;
    database *db = keyspace_database(ks, 0);
    fill(db, "ttl", 2000, START_MS + 1000000); /* deadlines rise with the index */
    evict_limits limits = limits_for(EVICT_VOLATILE_TTL, 1, 500);
    assert_int_equal(evict_run(ks, &limits), EVICT_RUNNING);
    int soon_left = count_existing(db, "ttl", 0, 1000);
    int late_left = count_existing(db, "ttl", 1000, 1000);
    assert_int_equal(soon_left + late_left, 1500);
    assert_true(late_left >= 950); /* nearly all 500 came from the first half */
}

static int per_test_reset(void **state)
{
    keyspace *ks = *state;
    for (int i = 0; i < keyspace_database_count(ks); i++)
        keyspace_flush(keyspace_database(ks, i));
    keyspace_get_stats(ks)->evicted_keys = 0;
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_no_limit_or_under_it_is_ok, per_test_reset),
        cmocka_unit_test_setup(test_noeviction_fails_and_deletes_nothing, per_test_reset),
        cmocka_unit_test_setup(test_allkeys_policies_get_under_the_limit, per_test_reset),
        cmocka_unit_test_setup(test_volatile_policies_never_take_persistent_keys, per_test_reset),
        cmocka_unit_test_setup(test_slice_stops_at_its_key_budget, per_test_reset),
        cmocka_unit_test_setup(test_lru_takes_keys_idle_longest, per_test_reset),
        cmocka_unit_test_setup(test_volatile_ttl_takes_nearest_deadlines, per_test_reset),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
