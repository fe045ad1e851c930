/* Unit tests for the set-of-byte-strings table (src/core/member_table.c):
 * add/remove/find with binary members, growth and shrink through many
 * members, deletion during iteration, random picks, SCAN coverage and
 * duplication. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "rivet/hash.h"
#include "rivet/member_table.h"
#include "rivet/memory.h"

#define MANY 5000

static int setup(void **state)
{
    (void)state;
    static const uint8_t seed[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    hash_set_seed(seed);
    return 0;
}

static size_t name(char *buf, int i)
{
    return (size_t)snprintf(buf, 32, "member:%d", i);
}

static void test_add_find_remove(void **state)
{
    (void)state;
    member_table *t = member_table_create();
    assert_int_equal(member_table_size(t), 0);
    assert_null(member_table_random(t, 42));
    assert_int_equal(member_table_add(t, "a", 1), 1);
    assert_int_equal(member_table_add(t, "a", 1), 0);
    assert_int_equal(member_table_add(t, "", 0), 1);
    /* Binary safe: embedded NUL, and a prefix is a different member. */
    assert_int_equal(member_table_add(t, "a\0b", 3), 1);
    assert_int_equal(member_table_add(t, "ab", 2), 1);
    assert_int_equal(member_table_size(t), 4);
    assert_true(member_table_contains(t, "a\0b", 3));
    assert_false(member_table_contains(t, "a\0c", 3));
    assert_true(member_table_contains(t, "", 0));

    member *m = member_table_find(t, "ab", 2);
    assert_non_null(m);
    size_t len;
    const char *bytes = member_bytes(m, &len);
    assert_int_equal(len, 2);
    assert_memory_equal(bytes, "ab", 2);

    assert_int_equal(member_table_remove(t, "ab", 2), 1);
    assert_int_equal(member_table_remove(t, "ab", 2), 0);
    member_table_delete(t, member_table_find(t, "a", 1));
    assert_false(member_table_contains(t, "a", 1));
    assert_int_equal(member_table_size(t), 2);
    assert_true(member_table_memory(t, 0) > 0);
    member_table_free(t);
}

static void test_many_members_grow_and_shrink(void **state)
{
    (void)state;
    member_table *t = member_table_create();
    char buf[32];
    for (int i = 0; i < MANY; i++)
        assert_int_equal(member_table_add(t, buf, name(buf, i)), 1);
    assert_int_equal(member_table_size(t), MANY);
    for (int i = 0; i < MANY; i++)
        assert_true(member_table_contains(t, buf, name(buf, i)));
    assert_false(member_table_contains(t, "member:-1", 9));
    for (int i = 0; i < MANY; i += 2)
        assert_int_equal(member_table_remove(t, buf, name(buf, i)), 1);
    assert_int_equal(member_table_size(t), MANY / 2);
    for (int i = 0; i < MANY; i++)
        assert_int_equal(member_table_contains(t, buf, name(buf, i)), i % 2);
    member_table_free(t);
}

static void test_iteration_with_deletion(void **state)
{
    (void)state;
    member_table *t = member_table_create();
    char buf[32];
    for (int i = 0; i < 1000; i++)
        member_table_add(t, buf, name(buf, i));
    member_table_iterator it;
    member_table_iterator_init(&it, t);
    member *m;
    size_t seen = 0;
    while ((m = member_table_iterator_next(&it)) != NULL) {
        seen++;
        member_table_delete(t, m);
    }
    member_table_iterator_release(&it);
    assert_int_equal(seen, 1000);
    assert_int_equal(member_table_size(t), 0);
    /* Still usable after being emptied (and shrunk). */
    assert_int_equal(member_table_add(t, "x", 1), 1);
    assert_true(member_table_contains(t, "x", 1));
    member_table_free(t);
}

static void test_random_reaches_every_member(void **state)
{
    (void)state;
    member_table *t = member_table_create();
    char buf[32];
    for (int i = 0; i < 20; i++)
        member_table_add(t, buf, name(buf, i));
    int hits[20] = {0};
    uint64_t random = 88172645463325252ULL;
    for (int draw = 0; draw < 4000; draw++) {
        random ^= random << 13;
        random ^= random >> 7;
        random ^= random << 17;
        member *m = member_table_random(t, random);
        assert_non_null(m);
        size_t len;
        const char *bytes = member_bytes(m, &len);
        char copy[32];
        assert_true(len < sizeof(copy));
        memcpy(copy, bytes, len);
        copy[len] = '\0'; /* members are not NUL-terminated */
        int index;
        assert_int_equal(sscanf(copy, "member:%d", &index), 1);
        assert_true(index >= 0 && index < 20);
        hits[index]++;
    }
    for (int i = 0; i < 20; i++)
        assert_true(hits[i] > 50); /* about 200 each if fair */
    member_table_free(t);
}

static void mark_seen(void *ctx, const member *m)
{
    int *seen = ctx;
    size_t len;
    const char *bytes = member_bytes(m, &len);
    int index;
    char copy[32];
    memcpy(copy, bytes, len);
    copy[len] = '\0';
    assert_int_equal(sscanf(copy, "member:%d", &index), 1);
    seen[index]++;
}

/* Every member present for the whole scan is returned, even though members
 * are added between calls (forcing growth and rehash mid-scan). */
static void test_scan_covers_members_across_growth(void **state)
{
    (void)state;
    member_table *t = member_table_create();
    static int seen[MANY * 2];
    memset(seen, 0, sizeof(seen));
    char buf[32];
    for (int i = 0; i < 100; i++)
        member_table_add(t, buf, name(buf, i));
    uint64_t cursor = 0;
    int next = 100, calls = 0;
    do {
        cursor = member_table_scan(t, cursor, mark_seen, seen);
        if (next < MANY) {
            member_table_add(t, buf, name(buf, next));
            next++;
        }
        calls++;
    } while (cursor != 0);
    assert_true(calls > 1);
    for (int i = 0; i < 100; i++)
        assert_true(seen[i] >= 1);
    member_table_free(t);
}

static void test_duplicate(void **state)
{
    (void)state;
    member_table *t = member_table_create();
    char buf[32];
    for (int i = 0; i < 300; i++)
        member_table_add(t, buf, name(buf, i));
    member_table *copy = member_table_duplicate(t);
    member_table_remove(t, "member:1", 8);
    assert_int_equal(member_table_size(copy), 300);
    assert_true(member_table_contains(copy, "member:1", 8));
    assert_false(member_table_contains(t, "member:1", 8));
    member_table_free(t);
    member_table_free(copy);
    member_table_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_find_remove),
        cmocka_unit_test(test_many_members_grow_and_shrink),
        cmocka_unit_test(test_iteration_with_deletion),
        cmocka_unit_test(test_random_reaches_every_member),
        cmocka_unit_test(test_scan_covers_members_across_growth),
        cmocka_unit_test(test_duplicate),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
