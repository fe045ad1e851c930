/* Unit tests for the sorted set's skiplist: ordering by (score, member),
 * ranks through spans, score/lex intervals, range deletions, score updates
 * that move or keep a node, the hash index, scan coverage and duplication.
 * A randomized run checks every operation against a plain sorted array. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rivet/memory.h"
#include "rivet/skiplist.h"

static const char *member_of(const skiplist_node *node, size_t *len)
{
    return skiplist_node_member(node, len);
}

static void assert_member(const skiplist_node *node, const char *expected)
{
    assert_non_null(node);
    size_t len;
    const char *m = member_of(node, &len);
    assert_int_equal(len, strlen(expected));
    assert_memory_equal(m, expected, len);
}

static skiplist *make_abc(void)
{
    skiplist *list = skiplist_create();
    skiplist_insert(list, 2, "b", 1);
    skiplist_insert(list, 1, "a", 1);
    skiplist_insert(list, 3, "c", 1);
    skiplist_insert(list, 2, "bb", 2);
    skiplist_insert(list, 2, "ba", 2);
    return list; /* a:1 b:2 ba:2 bb:2 c:3 */
}

static void test_order_and_walk(void **state)
{
    (void)state;
    skiplist *list = make_abc();
    assert_int_equal(skiplist_length(list), 5);
    const char *expected[] = {"a", "b", "ba", "bb", "c"};
    size_t i = 0;
    for (skiplist_node *n = skiplist_first(list); n; n = skiplist_next(n))
        assert_member(n, expected[i++]);
    assert_int_equal(i, 5);
    for (skiplist_node *n = skiplist_last(list); n; n = skiplist_prev(n))
        assert_member(n, expected[--i]);
    assert_int_equal(i, 0);
    skiplist_destroy(list);
}

static void test_find_rank_at_rank(void **state)
{
    (void)state;
    skiplist *list = make_abc();
    skiplist_node *ba = skiplist_find(list, "ba", 2);
    assert_non_null(ba);
    assert_true(skiplist_node_score(ba) == 2.0);
    assert_int_equal(skiplist_rank(list, ba), 2);
    assert_int_equal(skiplist_rank(list, skiplist_find(list, "a", 1)), 0);
    assert_int_equal(skiplist_rank(list, skiplist_find(list, "c", 1)), 4);
    assert_null(skiplist_find(list, "zz", 2));
    assert_null(skiplist_find(list, "b\0", 2));
    assert_member(skiplist_at_rank(list, 0), "a");
    assert_member(skiplist_at_rank(list, 3), "bb");
    assert_member(skiplist_at_rank(list, 4), "c");
    assert_null(skiplist_at_rank(list, 5));
    skiplist_destroy(list);
}

static void test_binary_members(void **state)
{
    (void)state;
    skiplist *list = skiplist_create();
    skiplist_insert(list, 0, "a\0b", 3);
    skiplist_insert(list, 0, "a", 1);
    skiplist_insert(list, 0, "", 0);
    skiplist_insert(list, 0, "a\0", 2);
    assert_member(skiplist_at_rank(list, 0), "");
    assert_int_equal(skiplist_rank(list, skiplist_find(list, "a\0b", 3)), 3);
    assert_int_equal(skiplist_rank(list, skiplist_find(list, "a\0", 2)), 2);
    assert_true(skiplist_delete(list, "", 0));
    assert_false(skiplist_delete(list, "", 0));
    assert_int_equal(skiplist_length(list), 3);
    skiplist_destroy(list);
}

static void test_update_score(void **state)
{
    (void)state;
    skiplist *list = make_abc();
    skiplist_node *b = skiplist_find(list, "b", 1);
    /* Stays in place: between a:1 and ba:2. */
    skiplist_update_score(list, b, 1.5);
    assert_ptr_equal(skiplist_find(list, "b", 1), b);
    assert_int_equal(skiplist_rank(list, b), 1);
    /* Moves to the end. */
    skiplist_update_score(list, b, 10);
    assert_ptr_equal(skiplist_last(list), b);
    assert_int_equal(skiplist_rank(list, b), 4);
    assert_member(skiplist_at_rank(list, 1), "ba");
    /* Moves to the front. */
    skiplist_update_score(list, b, -INFINITY);
    assert_ptr_equal(skiplist_first(list), b);
    assert_null(skiplist_prev(b));
    assert_int_equal(skiplist_rank(list, skiplist_find(list, "c", 1)), 4);
    assert_true(skiplist_node_score(b) == -INFINITY);
    skiplist_destroy(list);
}

static void test_score_ranges(void **state)
{
    (void)state;
    skiplist *list = make_abc();
    score_range r = {2, 2, 0, 0};
    assert_member(skiplist_first_in_score_range(list, &r), "b");
    assert_member(skiplist_last_in_score_range(list, &r), "bb");
    r = (score_range){1, 2, 1, 0};
    assert_member(skiplist_first_in_score_range(list, &r), "b");
    r = (score_range){2, 3, 0, 1};
    assert_member(skiplist_last_in_score_range(list, &r), "bb");
    r = (score_range){3, 100, 1, 0};
    assert_null(skiplist_first_in_score_range(list, &r));
    assert_null(skiplist_last_in_score_range(list, &r));
    r = (score_range){-INFINITY, 0.5, 0, 0};
    assert_null(skiplist_first_in_score_range(list, &r));
    r = (score_range){2, 2, 1, 0};
    assert_true(score_range_is_empty(&r));
    assert_null(skiplist_first_in_score_range(list, &r));
    r = (score_range){3, 1, 0, 0};
    assert_true(score_range_is_empty(&r));
    r = (score_range){-INFINITY, INFINITY, 0, 0};
    assert_member(skiplist_first_in_score_range(list, &r), "a");
    assert_member(skiplist_last_in_score_range(list, &r), "c");
    skiplist_destroy(list);
}

static lex_bound bound(int kind, const char *s)
{
    lex_bound b = {s, s ? strlen(s) : 0, kind};
    return b;
}

static void test_lex_ranges(void **state)
{
    (void)state;
    skiplist *list = skiplist_create();
    const char *names[] = {"a", "b", "c", "d", "e"};
    for (int i = 0; i < 5; i++)
        skiplist_insert(list, 0, names[i], 1);
    lex_range r = {bound(LEX_INCLUSIVE, "b"), bound(LEX_EXCLUSIVE, "d")};
    assert_member(skiplist_first_in_lex_range(list, &r), "b");
    assert_member(skiplist_last_in_lex_range(list, &r), "c");
    r = (lex_range){bound(LEX_EXCLUSIVE, "b"), bound(LEX_PLUS_INFINITY, NULL)};
    assert_member(skiplist_first_in_lex_range(list, &r), "c");
    assert_member(skiplist_last_in_lex_range(list, &r), "e");
    r = (lex_range){bound(LEX_MINUS_INFINITY, NULL), bound(LEX_INCLUSIVE, "bz")};
    assert_member(skiplist_last_in_lex_range(list, &r), "b");
    r = (lex_range){bound(LEX_PLUS_INFINITY, NULL), bound(LEX_PLUS_INFINITY, NULL)};
    assert_true(lex_range_is_empty(&r));
    assert_null(skiplist_first_in_lex_range(list, &r));
    r = (lex_range){bound(LEX_INCLUSIVE, "c"), bound(LEX_EXCLUSIVE, "c")};
    assert_true(lex_range_is_empty(&r));
    r = (lex_range){bound(LEX_INCLUSIVE, "x"), bound(LEX_PLUS_INFINITY, NULL)};
    assert_false(lex_range_is_empty(&r));
    assert_null(skiplist_first_in_lex_range(list, &r));
    r = (lex_range){bound(LEX_INCLUSIVE, "b"), bound(LEX_INCLUSIVE, "c")};
    assert_int_equal(skiplist_delete_lex_range(list, &r), 2);
    assert_int_equal(skiplist_length(list), 3);
    assert_member(skiplist_at_rank(list, 1), "d");
    assert_null(skiplist_find(list, "b", 1));
    skiplist_destroy(list);
}

static void test_delete_ranges(void **state)
{
    (void)state;
    skiplist *list = skiplist_create();
    char name[16];
    for (int i = 0; i < 100; i++) {
        int n = snprintf(name, sizeof(name), "m%03d", i);
        skiplist_insert(list, i, name, (size_t)n);
    }
    score_range r = {10, 20, 0, 1}; /* 10..19 */
    assert_int_equal(skiplist_delete_score_range(list, &r), 10);
    assert_int_equal(skiplist_length(list), 90);
    assert_null(skiplist_find(list, "m015", 4));
    assert_member(skiplist_at_rank(list, 10), "m020");
    assert_int_equal(skiplist_delete_rank_range(list, 0, 4), 5);
    assert_member(skiplist_first(list), "m005");
    assert_int_equal(skiplist_delete_rank_range(list, 80, 200), 5);
    assert_member(skiplist_last(list), "m094");
    assert_int_equal(skiplist_delete_rank_range(list, 100, 200), 0);
    assert_int_equal(skiplist_length(list), 80);
    for (size_t i = 0; i < 80; i++)
        assert_int_equal(skiplist_rank(list, skiplist_at_rank(list, i)), i);
    r = (score_range){-INFINITY, INFINITY, 0, 0};
    assert_int_equal(skiplist_delete_score_range(list, &r), 80);
    assert_int_equal(skiplist_length(list), 0);
    assert_null(skiplist_first(list));
    assert_null(skiplist_last(list));
    skiplist_insert(list, 1, "again", 5);
    assert_member(skiplist_first(list), "again");
    skiplist_destroy(list);
}

static void count_visit(void *ctx, const skiplist_node *node)
{
    unsigned char *seen = ctx;
    size_t len;
    const char *m = skiplist_node_member(node, &len);
    char digits[16] = {0};
    memcpy(digits, m + 1, len - 1);
    seen[atoi(digits)]++;
}

static void test_scan_random_duplicate(void **state)
{
    (void)state;
    skiplist *list = skiplist_create();
    char name[16];
    for (int i = 0; i < 500; i++) {
        int n = snprintf(name, sizeof(name), "m%d", i);
        skiplist_insert(list, -i, name, (size_t)n);
    }
    unsigned char seen[500] = {0};
    uint64_t cursor = 0;
    do {
        cursor = skiplist_scan(list, cursor, count_visit, seen);
    } while (cursor != 0);
    for (int i = 0; i < 500; i++)
        assert_int_equal(seen[i], 1);
    for (uint64_t r = 1; r < 50; r++)
        assert_non_null(skiplist_random(list, r * 0x9e3779b97f4a7c15ull));
    skiplist *copy = skiplist_duplicate(list);
    skiplist_delete(list, "m0", 2);
    assert_int_equal(skiplist_length(copy), 500);
    assert_member(skiplist_last(copy), "m0");
    assert_member(skiplist_first(copy), "m499");
    assert_non_null(skiplist_find(copy, "m0", 2));
    skiplist_destroy(copy);
    skiplist_destroy(list);
    skiplist *empty = skiplist_create();
    assert_null(skiplist_random(empty, 7));
    assert_int_equal(skiplist_scan(empty, 0, count_visit, seen), 0);
    skiplist_destroy(empty);
}

/* ---------- randomized comparison with a sorted array ---------- */

typedef struct model_item {
    double score;
    char member[8];
    size_t len;
} model_item;

static int model_compare(const void *a, const void *b)
{
    const model_item *x = a, *y = b;
    if (member_precedes(x->score, x->member, x->len, y->score, y->member, y->len))
        return -1;
    if (member_precedes(y->score, y->member, y->len, x->score, x->member, x->len))
        return 1;
    return 0;
}

static int model_find(model_item *items, size_t n, const char *m, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (items[i].len == len && memcmp(items[i].member, m, len) == 0)
            return (int)i;
    return -1;
}

static void check_against_model(skiplist *list, model_item *items, size_t n)
{
    qsort(items, n, sizeof(*items), model_compare);
    assert_int_equal(skiplist_length(list), n);
    size_t i = 0;
    skiplist_node *prev = NULL;
    for (skiplist_node *node = skiplist_first(list); node; node = skiplist_next(node), i++) {
        size_t len;
        const char *m = skiplist_node_member(node, &len);
        assert_int_equal(len, items[i].len);
        assert_memory_equal(m, items[i].member, len);
        assert_true(skiplist_node_score(node) == items[i].score);
        assert_ptr_equal(skiplist_prev(node), prev);
        if (i % 7 == 0) {
            assert_int_equal(skiplist_rank(list, node), i);
            assert_ptr_equal(skiplist_at_rank(list, i), node);
            assert_ptr_equal(skiplist_find(list, m, len), node);
        }
        prev = node;
    }
    assert_int_equal(i, n);
    assert_ptr_equal(skiplist_last(list), prev);
}

static void test_randomized(void **state)
{
    (void)state;
    srand(12345);
    skiplist *list = skiplist_create();
    model_item items[400];
    size_t n = 0;
    for (int round = 0; round < 6000; round++) {
        model_item item;
        item.len = (size_t)snprintf(item.member, sizeof(item.member), "%d", rand() % 400);
        item.score = (double)(rand() % 50);
        int at = model_find(items, n, item.member, item.len);
        int op = rand() % 10;
        if (op < 5) {
            if (at < 0) {
                skiplist_insert(list, item.score, item.member, item.len);
                items[n++] = item;
            } else {
                skiplist_update_score(list, skiplist_find(list, item.member, item.len), item.score);
                items[at].score = item.score;
            }
        } else if (op < 8) {
            assert_int_equal(skiplist_delete(list, item.member, item.len), at >= 0);
            if (at >= 0)
                items[at] = items[--n];
        } else if (op == 8) {
            double lo = (double)(rand() % 50), hi = lo + (double)(rand() % 5);
            score_range r = {lo, hi, rand() % 2, rand() % 2};
            size_t expected = 0, kept = 0;
            for (size_t i = 0; i < n; i++) {
                if (score_above_min(&r, items[i].score) && score_below_max(&r, items[i].score))
                    expected++;
                else
                    items[kept++] = items[i];
            }
            assert_int_equal(skiplist_delete_score_range(list, &r), expected);
            n = kept;
        } else if (n > 0) {
            qsort(items, n, sizeof(*items), model_compare);
            size_t start = (size_t)rand() % n, end = start + (size_t)(rand() % 4);
            if (end >= n)
                end = n - 1;
            assert_int_equal(skiplist_delete_rank_range(list, start, end), end - start + 1);
            memmove(&items[start], &items[end + 1], (n - end - 1) * sizeof(*items));
            n -= end - start + 1;
        }
        if (round % 50 == 0)
            check_against_model(list, items, n);
    }
    check_against_model(list, items, n);
    skiplist_destroy(list);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_and_walk), cmocka_unit_test(test_find_rank_at_rank),
        cmocka_unit_test(test_binary_members), cmocka_unit_test(test_update_score),
        cmocka_unit_test(test_score_ranges),   cmocka_unit_test(test_lex_ranges),
        cmocka_unit_test(test_delete_ranges),  cmocka_unit_test(test_scan_random_duplicate),
        cmocka_unit_test(test_randomized),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
