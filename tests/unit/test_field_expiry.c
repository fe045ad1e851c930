/* Tests for field_expiry: set/get/move/remove of deadlines, the earliest
 * deadline tracked through random updates (checked against a brute-force
 * minimum), draining in deadline order, duplicate and binary fields. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "rivet/field_expiry.h"
#include "rivet/hash.h"

static int setup_seed(void **state)
{
    (void)state;
    uint8_t seed[16] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6};
    hash_set_seed(seed);
    return 0;
}

static void set_str(field_expiry *fe, const char *field, int64_t deadline)
{
    field_expiry_set(fe, field, strlen(field), deadline);
}

static int64_t get_str(field_expiry *fe, const char *field)
{
    return field_expiry_get(fe, field, strlen(field));
}

static void test_set_get_remove(void **state)
{
    (void)state;
    field_expiry *fe = field_expiry_create();
    assert_int_equal(field_expiry_count(fe), 0);
    assert_int_equal(field_expiry_next(fe), -1);
    assert_int_equal(get_str(fe, "a"), -1);
    set_str(fe, "a", 300);
    set_str(fe, "b", 100);
    set_str(fe, "c", 200);
    assert_int_equal(field_expiry_count(fe), 3);
    assert_int_equal(get_str(fe, "a"), 300);
    assert_int_equal(get_str(fe, "b"), 100);
    assert_int_equal(field_expiry_next(fe), 100);
    const char *field;
    size_t len;
    int64_t deadline;
    assert_int_equal(field_expiry_first(fe, &field, &len, &deadline), 1);
    assert_int_equal(len, 1);
    assert_memory_equal(field, "b", 1);
    assert_int_equal(deadline, 100);
    /* Moving a deadline later and earlier reorders the heap. */
    set_str(fe, "b", 400);
    assert_int_equal(field_expiry_count(fe), 3);
    assert_int_equal(field_expiry_next(fe), 200);
    set_str(fe, "a", 50);
    assert_int_equal(field_expiry_next(fe), 50);
    assert_int_equal(field_expiry_remove(fe, "a", 1), 1);
    assert_int_equal(field_expiry_remove(fe, "a", 1), 0);
    assert_int_equal(get_str(fe, "a"), -1);
    assert_int_equal(field_expiry_next(fe), 200);
    assert_int_equal(field_expiry_count(fe), 2);
    size_t all = field_expiry_memory(fe, 0);
    assert_true(all > 0);
    /* One node sampled of two of the same size class extrapolates exactly. */
    assert_int_equal(field_expiry_memory(fe, 1), all);
    field_expiry_free(fe);
}

static void test_binary_and_empty_fields(void **state)
{
    (void)state;
    field_expiry *fe = field_expiry_create();
    field_expiry_set(fe, "", 0, 7);
    field_expiry_set(fe, "a\0b", 3, 5);
    assert_int_equal(field_expiry_get(fe, "", 0), 7);
    assert_int_equal(field_expiry_get(fe, "a\0b", 3), 5);
    assert_int_equal(field_expiry_get(fe, "a", 1), -1);
    assert_int_equal(field_expiry_remove(fe, "", 0), 1);
    assert_int_equal(field_expiry_count(fe), 1);
    field_expiry_free(fe);
}

static uint64_t next_random(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Random sets, moves and removes over 500 fields; after every step the
 * earliest deadline must equal a brute-force minimum over a shadow array. */
static void test_random_against_shadow(void **state)
{
    (void)state;
    enum { FIELDS = 500 };
    int64_t shadow[FIELDS];
    for (int i = 0; i < FIELDS; i++)
        shadow[i] = -1;
    field_expiry *fe = field_expiry_create();
    uint64_t seed = 88172645463325252ull;
    for (int step = 0; step < 20000; step++) {
        int i = (int)(next_random(&seed) % FIELDS);
        char name[16];
        int len = snprintf(name, sizeof(name), "f%d", i);
        if (next_random(&seed) % 3 == 0) {
            assert_int_equal(field_expiry_remove(fe, name, (size_t)len), shadow[i] != -1);
            shadow[i] = -1;
        } else {
            int64_t deadline = (int64_t)(next_random(&seed) % 100000);
            field_expiry_set(fe, name, (size_t)len, deadline);
            shadow[i] = deadline;
        }
        int64_t expected = -1;
        size_t count = 0;
        for (int k = 0; k < FIELDS; k++) {
            if (shadow[k] == -1)
                continue;
            count++;
            if (expected == -1 || shadow[k] < expected)
                expected = shadow[k];
        }
        assert_int_equal(field_expiry_next(fe), expected);
        assert_int_equal(field_expiry_count(fe), count);
    }
    for (int k = 0; k < FIELDS; k++) {
        char name[16];
        int len = snprintf(name, sizeof(name), "f%d", k);
        assert_int_equal(field_expiry_get(fe, name, (size_t)len), shadow[k]);
    }
    field_expiry_free(fe);
}

/* Popping the first field repeatedly yields non-decreasing deadlines; the
 * copy drains the same way and is independent of the original. */
static void test_drain_in_order_and_duplicate(void **state)
{
    (void)state;
    field_expiry *fe = field_expiry_create();
    uint64_t seed = 12345;
    for (int i = 0; i < 1000; i++) {
        char name[16];
        int len = snprintf(name, sizeof(name), "k%d", i);
        field_expiry_set(fe, name, (size_t)len, (int64_t)(next_random(&seed) % 5000));
    }
    field_expiry *copy = field_expiry_duplicate(fe);
    assert_int_equal(field_expiry_count(copy), 1000);
    field_expiry *lists[2] = {fe, copy};
    for (int which = 0; which < 2; which++) {
        field_expiry *x = lists[which];
        int64_t last = -1;
        size_t drained = 0;
        const char *field;
        size_t len;
        int64_t deadline;
        while (field_expiry_first(x, &field, &len, &deadline)) {
            assert_true(deadline >= last);
            last = deadline;
            char name[16];
            memcpy(name, field, len);
            assert_int_equal(field_expiry_remove(x, name, len), 1);
            drained++;
        }
        assert_int_equal(drained, 1000);
        assert_int_equal(field_expiry_next(x), -1);
    }
    field_expiry_free(fe);
    field_expiry_free(copy);
}

/* Small structures find fields by scanning; the index appears past eight
 * fields and must agree with the scan on every field, before and after. */
static void test_growing_past_the_scan_limit(void **state)
{
    (void)state;
    field_expiry *fe = field_expiry_create();
    size_t small = 0;
    for (int i = 0; i < 20; i++) {
        char name[16];
        int len = snprintf(name, sizeof(name), "field-%d", i);
        field_expiry_set(fe, name, (size_t)len, 1000 - i);
        if (i == 7)
            small = field_expiry_memory(fe, 0);
        for (int k = 0; k <= i; k++) {
            len = snprintf(name, sizeof(name), "field-%d", k);
            assert_int_equal(field_expiry_get(fe, name, (size_t)len), 1000 - k);
        }
        assert_int_equal(field_expiry_next(fe), 1000 - i);
    }
    /* The index costs memory only once it exists. */
    assert_true(field_expiry_memory(fe, 0) > small);
    for (int i = 19; i >= 0; i--) {
        char name[16];
        int len = snprintf(name, sizeof(name), "field-%d", i);
        assert_int_equal(field_expiry_remove(fe, name, (size_t)len), 1);
        assert_int_equal(field_expiry_get(fe, name, (size_t)len), -1);
        assert_int_equal(field_expiry_count(fe), (size_t)i);
    }
    assert_int_equal(field_expiry_next(fe), -1);
    field_expiry_free(fe);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_get_remove),
        cmocka_unit_test(test_binary_and_empty_fields),
        cmocka_unit_test(test_growing_past_the_scan_limit),
        cmocka_unit_test(test_random_against_shadow),
        cmocka_unit_test(test_drain_in_order_and_duplicate),
    };
    return cmocka_run_group_tests(tests, setup_seed, NULL);
}
