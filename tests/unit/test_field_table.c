/* Tests for field_table: set/get/replace/delete through growth and shrink,
 * values that change size (in-place and moved blocks), empty and binary
 * strings, long lengths (multi-byte varints), duplicate, iteration, SCAN
 * completeness and random picks. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "rivet/field_table.h"
#include "rivet/hash.h"
#include "rivet/memory.h"

static int setup_seed(void **state)
{
    (void)state;
    uint8_t seed[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    hash_set_seed(seed);
    return 0;
}

static void assert_value(field_table *t, const char *field, const char *expected)
{
    field_pair pair;
    assert_int_equal(field_table_get(t, field, strlen(field), &pair), 1);
    assert_int_equal(pair.field_len, strlen(field));
    assert_memory_equal(pair.field, field, pair.field_len);
    assert_int_equal(pair.value_len, strlen(expected));
    assert_memory_equal(pair.value, expected, pair.value_len);
}

static int set_str(field_table *t, const char *field, const char *value)
{
    return field_table_set(t, field, strlen(field), value, strlen(value));
}

static void test_set_get_replace_delete(void **state)
{
    field_table *t = field_table_create();
    field_pair pair;
    assert_int_equal(field_table_size(t), 0);
    assert_int_equal(field_table_get(t, "a", 1, &pair), 0);
    assert_int_equal(set_str(t, "a", "1"), 1);
    assert_int_equal(set_str(t, "b", "two"), 1);
    assert_int_equal(field_table_size(t), 2);
    assert_value(t, "a", "1");
    assert_value(t, "b", "two");
    /* Replacing keeps the size and changes the value. */
    assert_int_equal(set_str(t, "a", "one hundred"), 0);
    assert_int_equal(field_table_size(t), 2);
    assert_value(t, "a", "one hundred");
    assert_int_equal(field_table_delete(t, "a", 1), 1);
    assert_int_equal(field_table_delete(t, "a", 1), 0);
    assert_int_equal(field_table_get(t, "a", 1, &pair), 0);
    assert_int_equal(field_table_size(t), 1);
    assert_value(t, "b", "two");
    field_table_free(t);
}

static void test_empty_and_binary(void **state)
{
    field_table *t = field_table_create();
    field_pair pair;
    assert_int_equal(field_table_set(t, "", 0, "", 0), 1);
    assert_int_equal(field_table_get(t, "", 0, &pair), 1);
    assert_int_equal(pair.field_len, 0);
    assert_int_equal(pair.value_len, 0);
    const char binary_field[] = {'x', '\0', 'y'};
    const char binary_value[] = {'\0', '\n', '\0', 'z'};
    assert_int_equal(field_table_set(t, binary_field, 3, binary_value, 4), 1);
    /* A prefix up to the NUL is a different field. */
    assert_int_equal(field_table_get(t, "x", 1, &pair), 0);
    assert_int_equal(field_table_get(t, binary_field, 3, &pair), 1);
    assert_int_equal(pair.value_len, 4);
    assert_memory_equal(pair.value, binary_value, 4);
    assert_int_equal(field_table_size(t), 2);
    field_table_free(t);
}

/* Lengths of 127, 128 and 20000 bytes cross the one- and two-byte varint
 * boundaries; values grow and shrink around them so the value's header
 * changes size in place. */
static void test_long_lengths(void **state)
{
    field_table *t = field_table_create();
    size_t sizes[] = {0, 1, 127, 128, 129, 16383, 16384, 20000, 5, 0, 300};
    char *field = mem_alloc(20000);
    char *value = mem_alloc(20000);
    memset(field, 'f', 20000);
    for (size_t i = 0; i < 20000; i++)
        value[i] = (char)('a' + i % 26);
    for (size_t f = 0; f < sizeof(sizes) / sizeof(sizes[0]); f++) {
        size_t field_len = sizes[f];
        for (size_t v = 0; v < sizeof(sizes) / sizeof(sizes[0]); v++) {
            field_table_set(t, field, field_len, value, sizes[v]);
            field_pair pair;
            assert_int_equal(field_table_get(t, field, field_len, &pair), 1);
            assert_int_equal(pair.field_len, field_len);
            assert_int_equal(pair.value_len, sizes[v]);
            assert_memory_equal(pair.value, value, sizes[v]);
        }
    }
    /* One pair per distinct field length (0, 1, 127, 128, ...; 5, 300). */
    assert_int_equal(field_table_size(t), 10);
    mem_free(field);
    mem_free(value);
    field_table_free(t);
}

#define MANY 5000

static void test_grow_and_shrink(void **state)
{
    field_table *t = field_table_create();
    char field[32], value[32];
    for (int i = 0; i < MANY; i++) {
        snprintf(field, sizeof(field), "field:%d", i);
        snprintf(value, sizeof(value), "%d", i * 3);
        assert_int_equal(set_str(t, field, value), 1);
    }
    assert_int_equal(field_table_size(t), MANY);
    /* Grow every other value so that many blocks move. */
    for (int i = 0; i < MANY; i += 2) {
        snprintf(field, sizeof(field), "field:%d", i);
        snprintf(value, sizeof(value), "a-much-longer-value-%d", i);
        assert_int_equal(set_str(t, field, value), 0);
    }
    for (int i = 0; i < MANY; i++) {
        snprintf(field, sizeof(field), "field:%d", i);
        if (i % 2 == 0)
            snprintf(value, sizeof(value), "a-much-longer-value-%d", i);
        else
            snprintf(value, sizeof(value), "%d", i * 3);
        assert_value(t, field, value);
    }
    for (int i = 0; i < MANY; i++) {
        snprintf(field, sizeof(field), "field:%d", i);
        if (i % 10 != 0)
            assert_int_equal(field_table_delete(t, field, strlen(field)), 1);
    }
    assert_int_equal(field_table_size(t), MANY / 10);
    for (int i = 0; i < MANY; i += 10) {
        snprintf(field, sizeof(field), "field:%d", i);
        snprintf(value, sizeof(value), "a-much-longer-value-%d", i);
        assert_value(t, field, value);
    }
    field_table_free(t);
}

static void test_duplicate_and_iterate(void **state)
{
    field_table *t = field_table_create();
    char field[32], value[32];
    for (int i = 0; i < 100; i++) {
        snprintf(field, sizeof(field), "f%d", i);
        snprintf(value, sizeof(value), "v%d", i);
        set_str(t, field, value);
    }
    field_table *copy = field_table_duplicate(t);
    /* The copy is independent of the original. */
    set_str(t, "f0", "changed");
    field_table_delete(t, "f1", 2);
    assert_int_equal(field_table_size(copy), 100);
    assert_value(copy, "f0", "v0");
    assert_value(copy, "f1", "v1");

    int seen[100] = {0};
    size_t visited = 0;
    field_table_iterator it;
    field_pair pair;
    field_table_iterator_init(&it, copy);
    while (field_table_iterator_next(&it, &pair)) {
        char text[32];
        int index;
        memcpy(text, pair.field, pair.field_len);
        text[pair.field_len] = '\0';
        assert_int_equal(sscanf(text, "f%d", &index), 1);
        assert_true(index >= 0 && index < 100);
        snprintf(value, sizeof(value), "v%d", index);
        assert_int_equal(pair.value_len, strlen(value));
        assert_memory_equal(pair.value, value, pair.value_len);
        seen[index]++;
        visited++;
    }
    field_table_iterator_release(&it);
    assert_int_equal(visited, 100);
    for (int i = 0; i < 100; i++)
        assert_int_equal(seen[i], 1);
    assert_true(field_table_memory(copy, 0) > 100 * 8);
    field_table_free(copy);
    field_table_free(t);
}

typedef struct scan_seen {
    int counts[MANY];
} scan_seen;

static void count_visit(void *ctx, const field_pair *pair)
{
    scan_seen *seen = ctx;
    int index;
    char text[32];
    memcpy(text, pair->field, pair->field_len);
    text[pair->field_len] = '\0';
    assert_int_equal(sscanf(text, "field:%d", &index), 1);
    seen->counts[index]++;
}

/* Every pair present for the whole scan is returned, even when the table
 * grows in the middle of it. */
static void test_scan_across_growth(void **state)
{
    field_table *t = field_table_create();
    char field[32];
    for (int i = 0; i < 500; i++) {
        snprintf(field, sizeof(field), "field:%d", i);
        set_str(t, field, "v");
    }
    scan_seen *seen = mem_calloc(sizeof(scan_seen));
    uint64_t cursor = 0;
    int calls = 0, added = 500;
    do {
        cursor = field_table_scan(t, cursor, count_visit, seen);
        calls++;
        /* Add pairs between calls so that the table resizes mid-scan. */
        for (int k = 0; k < 20 && added < MANY; k++, added++) {
            snprintf(field, sizeof(field), "field:%d", added);
            set_str(t, field, "v");
        }
    } while (cursor != 0);
    assert_true(calls > 1);
    for (int i = 0; i < 500; i++)
        assert_true(seen->counts[i] >= 1);
    mem_free(seen);
    field_table_free(t);
}

static void test_random(void **state)
{
    field_table *t = field_table_create();
    field_pair pair;
    assert_int_equal(field_table_random(t, 12345, &pair), 0);
    set_str(t, "only", "one");
    assert_int_equal(field_table_random(t, 99, &pair), 1);
    assert_int_equal(pair.field_len, 4);
    assert_memory_equal(pair.field, "only", 4);
    set_str(t, "second", "two");
    set_str(t, "third", "three");
    /* Over many draws every pair turns up. */
    int hits[3] = {0};
    uint64_t state_value = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 300; i++) {
        state_value ^= state_value << 13;
        state_value ^= state_value >> 7;
        state_value ^= state_value << 17;
        assert_int_equal(field_table_random(t, state_value, &pair), 1);
        if (pair.field_len == 4)
            hits[0]++;
        else if (pair.field_len == 6)
            hits[1]++;
        else if (pair.field_len == 5)
            hits[2]++;
        else
            fail();
    }
    assert_true(hits[0] > 0 && hits[1] > 0 && hits[2] > 0);
    field_table_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_get_replace_delete),
        cmocka_unit_test(test_empty_and_binary),
        cmocka_unit_test(test_long_lengths),
        cmocka_unit_test(test_grow_and_shrink),
        cmocka_unit_test(test_duplicate_and_iterate),
        cmocka_unit_test(test_scan_across_growth),
        cmocka_unit_test(test_random),
    };
    return cmocka_run_group_tests(tests, setup_seed, NULL);
}
