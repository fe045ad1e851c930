/* Unit tests for the sorted integer array (src/core/intset.c): ordering,
 * duplicates, widening at each boundary (including inserting at either end
 * during a widening), removal, and a randomized comparison with a simple
 * reference. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "rivet/intset.h"

static void assert_sorted_unique(const intset *set)
{
    for (size_t i = 1; i < intset_length(set); i++)
        assert_true(intset_get(set, i - 1) < intset_get(set, i));
}

static void test_empty(void **state)
{
    (void)state;
    intset *set = intset_create();
    assert_int_equal(intset_length(set), 0);
    assert_int_equal(intset_width(set), 2);
    assert_false(intset_contains(set, 0));
    size_t index = 99;
    assert_false(intset_find(set, 5, &index));
    assert_int_equal(index, 0);
    int removed = 1;
    set = intset_remove(set, 5, &removed);
    assert_int_equal(removed, 0);
    intset_free(set);
}

static void test_add_keeps_order_and_rejects_duplicates(void **state)
{
    (void)state;
    intset *set = intset_create();
    int64_t values[] = {5, -3, 100, 0, 7, 5, -3};
    int expected_added[] = {1, 1, 1, 1, 1, 0, 0};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        int added = -1;
        set = intset_add(set, values[i], &added);
        assert_int_equal(added, expected_added[i]);
    }
    assert_int_equal(intset_length(set), 5);
    int64_t sorted[] = {-3, 0, 5, 7, 100};
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(intset_get(set, i), sorted[i]);
    assert_int_equal(intset_width(set), 2);
    assert_int_equal(intset_bytes(set), 8 + 5 * 2);
    size_t index;
    assert_true(intset_find(set, 7, &index));
    assert_int_equal(index, 3);
    assert_false(intset_find(set, 6, &index));
    assert_int_equal(index, 3);
    assert_false(intset_find(set, 1000, &index));
    assert_int_equal(index, 5);
    assert_false(intset_find(set, -1000, &index));
    assert_int_equal(index, 0);
    intset_free(set);
}

static void test_widening_boundaries(void **state)
{
    (void)state;
    intset *set = intset_create();
    set = intset_add(set, INT16_MAX, NULL);
    set = intset_add(set, INT16_MIN, NULL);
    assert_int_equal(intset_width(set), 2);

    /* Larger than every element: goes at the end while widening. */
    set = intset_add(set, (int64_t)INT16_MAX + 1, NULL);
    assert_int_equal(intset_width(set), 4);
    assert_int_equal(intset_get(set, 0), INT16_MIN);
    assert_int_equal(intset_get(set, 1), INT16_MAX);
    assert_int_equal(intset_get(set, 2), (int64_t)INT16_MAX + 1);

    set = intset_add(set, INT32_MIN, NULL);
    assert_int_equal(intset_width(set), 4);
    /* Smaller than every element: goes at the front while widening. */
    set = intset_add(set, (int64_t)INT32_MIN - 1, NULL);
    assert_int_equal(intset_width(set), 8);
    assert_int_equal(intset_get(set, 0), (int64_t)INT32_MIN - 1);
    assert_int_equal(intset_get(set, 1), INT32_MIN);
    assert_int_equal(intset_get(set, 4), (int64_t)INT16_MAX + 1);

    set = intset_add(set, INT64_MAX, NULL);
    set = intset_add(set, INT64_MIN, NULL);
    assert_int_equal(intset_length(set), 7);
    assert_int_equal(intset_get(set, 0), INT64_MIN);
    assert_int_equal(intset_get(set, 6), INT64_MAX);
    assert_sorted_unique(set);
    assert_true(intset_contains(set, INT64_MIN));
    assert_true(intset_contains(set, INT16_MAX));
    assert_false(intset_contains(set, 0));
    intset_free(set);
}

static void test_contains_wider_than_set(void **state)
{
    (void)state;
    intset *set = intset_create();
    set = intset_add(set, 1, NULL);
    /* A value outside the width cannot be there, whatever its low bits. */
    assert_false(intset_contains(set, 65537));
    assert_false(intset_contains(set, ((int64_t)1 << 32) + 1));
    int removed = 1;
    set = intset_remove(set, 65537, &removed);
    assert_int_equal(removed, 0);
    assert_int_equal(intset_length(set), 1);
    intset_free(set);
}

static void test_remove(void **state)
{
    (void)state;
    intset *set = intset_create();
    for (int64_t v = 0; v < 10; v++)
        set = intset_add(set, v * 10, NULL);
    int removed = 0;
    set = intset_remove(set, 50, &removed);
    assert_int_equal(removed, 1);
    set = intset_remove(set, 50, &removed);
    assert_int_equal(removed, 0);
    set = intset_remove(set, 0, &removed);
    assert_int_equal(removed, 1);
    set = intset_remove(set, 90, &removed);
    assert_int_equal(removed, 1);
    assert_int_equal(intset_length(set), 7);
    int64_t left[] = {10, 20, 30, 40, 60, 70, 80};
    for (size_t i = 0; i < 7; i++)
        assert_int_equal(intset_get(set, i), left[i]);
    set = intset_remove_at(set, 0);
    set = intset_remove_at(set, 5);
    assert_int_equal(intset_length(set), 5);
    assert_int_equal(intset_get(set, 0), 20);
    assert_int_equal(intset_get(set, 4), 70);
    assert_int_equal(intset_bytes(set), 8 + 5 * 2);
    intset_free(set);
}

static void test_duplicate(void **state)
{
    (void)state;
    intset *set = intset_create();
    set = intset_add(set, 1, NULL);
    set = intset_add(set, 1LL << 40, NULL);
    intset *copy = intset_duplicate(set);
    assert_int_equal(intset_bytes(copy), intset_bytes(set));
    assert_memory_equal(copy, set, intset_bytes(set));
    copy = intset_add(copy, 2, NULL);
    assert_int_equal(intset_length(set), 2);
    assert_int_equal(intset_length(copy), 3);
    intset_free(set);
    intset_free(copy);
}

/* Random adds and removes across all widths against a presence array over a
 * small universe of values spread over the three widths. */
static void test_random_against_reference(void **state)
{
    (void)state;
    int64_t universe[300];
    for (int i = 0; i < 300; i++) {
        int64_t base = i % 3 == 0 ? 1 : i % 3 == 1 ? 100000 : 10000000000LL;
        universe[i] = (i % 2 ? -1 : 1) * base * (i + 1);
    }
    int present[300] = {0};
    size_t count = 0;
    intset *set = intset_create();
    srand(12345);
    for (int step = 0; step < 20000; step++) {
        int i = rand() % 300;
        int changed;
        if (rand() % 3) {
            set = intset_add(set, universe[i], &changed);
            assert_int_equal(changed, !present[i]);
            count += !present[i];
            present[i] = 1;
        } else {
            set = intset_remove(set, universe[i], &changed);
            assert_int_equal(changed, present[i]);
            count -= present[i];
            present[i] = 0;
        }
        assert_int_equal(intset_length(set), count);
    }
    assert_sorted_unique(set);
    for (int i = 0; i < 300; i++)
        assert_int_equal(intset_contains(set, universe[i]), present[i]);
    intset_free(set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_add_keeps_order_and_rejects_duplicates),
        cmocka_unit_test(test_widening_boundaries),
        cmocka_unit_test(test_contains_wider_than_set),
        cmocka_unit_test(test_remove),
        cmocka_unit_test(test_duplicate),
        cmocka_unit_test(test_random_against_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
