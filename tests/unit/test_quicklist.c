/* Unit tests for the quicklist: end operations, node limits under both kinds
 * of fill, index access, replacement, range deletion, iteration with
 * deletion and insertion, duplication, and a randomized comparison against
 * a plain array model that checks the chain's invariants after every step. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rivet/quicklist.h"

/* ---------- helpers ---------- */

/* The entry's bytes as a NUL-terminated string in buf. */
static const char *entry_text(const listpack_entry *entry, char *buf, size_t size)
{
    char scratch[24];
    size_t len;
    const char *bytes = listpack_entry_bytes(entry, scratch, &len);
    assert_true(len < size);
    memcpy(buf, bytes, len);
    buf[len] = '\0';
    return buf;
}

static void push_text(quicklist *ql, enum quicklist_end where, const char *text)
{
    quicklist_push(ql, where, text, strlen(text));
}

static void assert_index(const quicklist *ql, int64_t index, const char *expected)
{
    listpack_entry entry;
    char buf[2048];
    assert_int_equal(quicklist_index(ql, index, &entry), 1);
    assert_string_equal(entry_text(&entry, buf, sizeof(buf)), expected);
}

/* Links, counts and sizes agree; no node is empty; every node respects the
 * fill unless it holds a single entry. */
static void check_invariants(const quicklist *ql)
{
    uint64_t total = 0;
    uint32_t nodes = 0;
    const quicklist_node *prev = NULL;
    for (const quicklist_node *node = ql->head; node; node = node->next) {
        assert_ptr_equal(node->prev, prev);
        assert_true(node->count > 0);
        assert_int_equal(node->count, listpack_length(node->entries));
        if (node->count > 1) {
            if (ql->fill < 0)
                assert_true(listpack_bytes(node->entries) <= ((size_t)4096 << (-ql->fill - 1)));
            else
                assert_true(node->count <= (uint32_t)ql->fill);
        }
        total += node->count;
        nodes++;
        prev = node;
    }
    assert_ptr_equal(ql->tail, prev);
    assert_int_equal(total, ql->count);
    assert_int_equal(nodes, ql->node_count);
}

/* Compares the whole list, forward and backward, with expected[]. */
static void assert_contents(quicklist *ql, char **expected, size_t n)
{
    check_invariants(ql);
    assert_int_equal(quicklist_count(ql), n);
    quicklist_iterator it;
    listpack_entry entry;
    char buf[2048];
    size_t i = 0;
    quicklist_iterator_start(&it, ql, 0, 1);
    while (quicklist_iterator_next(&it, &entry)) {
        assert_true(i < n);
        assert_string_equal(entry_text(&entry, buf, sizeof(buf)), expected[i]);
        i++;
    }
    assert_int_equal(i, n);
    quicklist_iterator_start(&it, ql, -1, 0);
    while (quicklist_iterator_next(&it, &entry)) {
        assert_true(i > 0);
        i--;
        assert_string_equal(entry_text(&entry, buf, sizeof(buf)), expected[i]);
    }
    assert_int_equal(i, 0);
}

/* ---------- ends ---------- */

static void test_push_pop_both_ends(void **state)
{
    (void)state;
    quicklist *ql = quicklist_create(-2);
    listpack_entry entry;
    assert_int_equal(quicklist_peek(ql, QUICKLIST_HEAD, &entry), 0);
    push_text(ql, QUICKLIST_TAIL, "b");
    push_text(ql, QUICKLIST_HEAD, "a");
    push_text(ql, QUICKLIST_TAIL, "123");
    assert_int_equal(quicklist_count(ql), 3);

    /* A canonical integer comes back as an integer entry. */
    assert_int_equal(quicklist_peek(ql, QUICKLIST_TAIL, &entry), 1);
    assert_null(entry.data);
    assert_int_equal(entry.integer, 123);
    quicklist_pop(ql, QUICKLIST_TAIL);

    assert_int_equal(quicklist_peek(ql, QUICKLIST_HEAD, &entry), 1);
    assert_int_equal(entry.len, 1);
    assert_memory_equal(entry.data, "a", 1);
    quicklist_pop(ql, QUICKLIST_HEAD);
    quicklist_pop(ql, QUICKLIST_HEAD);
    assert_int_equal(quicklist_count(ql), 0);
    assert_null(ql->head);
    assert_null(ql->tail);
    assert_int_equal(ql->node_count, 0);
    quicklist_pop(ql, QUICKLIST_TAIL); /* harmless on an empty list */
    quicklist_free(ql);
}

static void test_size_fill_splits_nodes(void **state)
{
    (void)state;
    quicklist *ql = quicklist_create(-2); /* 8 KB per node */
    char value[100];
    memset(value, 'x', sizeof(value));
    for (int i = 0; i < 1000; i++)
        quicklist_push(ql, i % 2 ? QUICKLIST_HEAD : QUICKLIST_TAIL, value, sizeof(value));
    check_invariants(ql);
    assert_int_equal(quicklist_count(ql), 1000);
    /* 100 KB of payload cannot fit in fewer than 13 nodes of 8 KB. */
    assert_true(ql->node_count >= 13);
    assert_true(ql->node_count <= 16);
    assert_true(quicklist_memory(ql) > 100000);
    quicklist_free(ql);
}

static void test_count_fill_and_clamping(void **state)
{
    (void)state;
    quicklist *ql = quicklist_create(4);
    for (int i = 0; i < 10; i++) {
        char text[8];
        snprintf(text, sizeof(text), "v%d", i);
        push_text(ql, QUICKLIST_TAIL, text);
    }
    check_invariants(ql);
    assert_int_equal(ql->node_count, 3);
    assert_int_equal(ql->head->count, 4);
    assert_int_equal(ql->tail->count, 2);
    quicklist_free(ql);

    ql = quicklist_create(-100);
    assert_int_equal(ql->fill, -5);
    quicklist_free(ql);
    ql = quicklist_create(1000000);
    assert_int_equal(ql->fill, 1 << 15);
    quicklist_free(ql);

    /* A fill of 0 keeps one entry per node. */
    ql = quicklist_create(0);
    push_text(ql, QUICKLIST_TAIL, "a");
    push_text(ql, QUICKLIST_TAIL, "b");
    assert_int_equal(ql->node_count, 2);
    quicklist_free(ql);
}

static void test_oversized_entry_gets_own_node(void **state)
{
    (void)state;
    quicklist *ql = quicklist_create(-1); /* 4 KB */
    char *big = malloc(10000);
    memset(big, 'B', 10000);
    push_text(ql, QUICKLIST_TAIL, "small");
    quicklist_push(ql, QUICKLIST_TAIL, big, 10000);
    push_text(ql, QUICKLIST_TAIL, "after");
    check_invariants(ql);
    assert_int_equal(ql->node_count, 3);
    listpack_entry entry;
    assert_int_equal(quicklist_index(ql, 1, &entry), 1);
    assert_int_equal(entry.len, 10000);
    assert_memory_equal(entry.data, big, 10000);
    free(big);
    quicklist_free(ql);
}

/* ---------- index, replace, delete ---------- */

static quicklist *numbered_list(int fill, int n)
{
    quicklist *ql = quicklist_create(fill);
    for (int i = 0; i < n; i++) {
        char text[16];
        snprintf(text, sizeof(text), "e%d", i);
        push_text(ql, QUICKLIST_TAIL, text);
    }
    return ql;
}

static void test_index(void **state)
{
    (void)state;
    quicklist *ql = numbered_list(3, 10);
    assert_index(ql, 0, "e0");
    assert_index(ql, 4, "e4");
    assert_index(ql, 9, "e9");
    assert_index(ql, -1, "e9");
    assert_index(ql, -10, "e0");
    assert_index(ql, -4, "e6");
    listpack_entry entry;
    assert_int_equal(quicklist_index(ql, 10, &entry), 0);
    assert_int_equal(quicklist_index(ql, -11, &entry), 0);
    assert_int_equal(quicklist_index(ql, INT64_MIN, &entry), 0);
    assert_int_equal(quicklist_index(ql, INT64_MAX, &entry), 0);
    quicklist_free(ql);
}

static void test_replace(void **state)
{
    (void)state;
    quicklist *ql = numbered_list(3, 7);
    assert_int_equal(quicklist_replace(ql, 1, "one", 3), 1);
    assert_int_equal(quicklist_replace(ql, -1, "-42", 3), 1);
    assert_int_equal(quicklist_replace(ql, 7, "x", 1), 0);
    assert_int_equal(quicklist_replace(ql, -8, "x", 1), 0);
    char *expected[] = {"e0", "one", "e2", "e3", "e4", "e5", "-42"};
    assert_contents(ql, expected, 7);
    quicklist_free(ql);

    /* A replacement too big for its node moves out instead of overflowing. */
    ql = quicklist_create(-1);
    char value[1000];
    memset(value, 'v', sizeof(value));
    for (int i = 0; i < 4; i++)
        quicklist_push(ql, QUICKLIST_TAIL, value, sizeof(value));
    assert_int_equal(ql->node_count, 1);
    char big[3000];
    memset(big, 'G', sizeof(big));
    assert_int_equal(quicklist_replace(ql, 1, big, sizeof(big)), 1);
    check_invariants(ql);
    assert_int_equal(quicklist_count(ql), 4);
    listpack_entry entry;
    assert_int_equal(quicklist_index(ql, 1, &entry), 1);
    assert_int_equal(entry.len, sizeof(big));
    assert_memory_equal(entry.data, big, sizeof(big));
    assert_int_equal(quicklist_index(ql, 2, &entry), 1);
    assert_int_equal(entry.len, sizeof(value));
    quicklist_free(ql);
}

static void test_delete_range(void **state)
{
    (void)state;
    quicklist *ql = numbered_list(3, 10);
    quicklist_delete_range(ql, 2, 5); /* e2..e6, across three nodes */
    char *expected[] = {"e0", "e1", "e7", "e8", "e9"};
    assert_contents(ql, expected, 5);
    quicklist_delete_range(ql, 3, 100); /* clipped */
    char *expected2[] = {"e0", "e1", "e7"};
    assert_contents(ql, expected2, 3);
    quicklist_delete_range(ql, 3, 1); /* past the end: nothing */
    quicklist_delete_range(ql, 0, 0);
    assert_contents(ql, expected2, 3);
    quicklist_delete_range(ql, 0, 3);
    assert_contents(ql, NULL, 0);
    assert_null(ql->head);
    quicklist_free(ql);
}

/* ---------- iteration ---------- */

static void test_iterator_ranges(void **state)
{
    (void)state;
    quicklist *ql = numbered_list(4, 9);
    quicklist_iterator it;
    listpack_entry entry;
    char buf[32];
    quicklist_iterator_start(&it, ql, 5, 1);
    assert_true(quicklist_iterator_next(&it, &entry));
    assert_string_equal(entry_text(&entry, buf, sizeof(buf)), "e5");
    quicklist_iterator_start(&it, ql, -3, 0);
    const char *backward[] = {"e6", "e5", "e4", "e3", "e2", "e1", "e0"};
    for (int i = 0; i < 7; i++) {
        assert_true(quicklist_iterator_next(&it, &entry));
        assert_string_equal(entry_text(&entry, buf, sizeof(buf)), backward[i]);
    }
    assert_false(quicklist_iterator_next(&it, &entry));
    quicklist_iterator_start(&it, ql, 9, 1);
    assert_false(quicklist_iterator_next(&it, &entry));
    quicklist_iterator_start(&it, ql, -10, 0);
    assert_false(quicklist_iterator_next(&it, &entry));
    quicklist_free(ql);
}

/* Deletes every entry whose number is even (or all, with modulus 1). */
static void delete_matching(quicklist *ql, int forward, int modulus)
{
    quicklist_iterator it;
    listpack_entry entry;
    char buf[32];
    quicklist_iterator_start(&it, ql, forward ? 0 : -1, forward);
    while (quicklist_iterator_next(&it, &entry)) {
        int number = atoi(entry_text(&entry, buf, sizeof(buf)) + 1);
        if (number % modulus == 0)
            quicklist_iterator_delete(&it);
    }
}

static void test_iterator_delete(void **state)
{
    (void)state;
    char *odd[] = {"e1", "e3", "e5", "e7", "e9"};
    for (int forward = 0; forward <= 1; forward++) {
        quicklist *ql = numbered_list(2, 10);
        delete_matching(ql, forward, 2);
        assert_contents(ql, odd, 5);
        delete_matching(ql, forward, 1);
        assert_contents(ql, NULL, 0);
        quicklist_free(ql);
    }
}

static void insert_near(quicklist *ql, const char *pivot, int after, const char *value)
{
    quicklist_iterator it;
    listpack_entry entry;
    char buf[64];
    quicklist_iterator_start(&it, ql, 0, 1);
    while (quicklist_iterator_next(&it, &entry)) {
        if (strcmp(entry_text(&entry, buf, sizeof(buf)), pivot) == 0) {
            quicklist_iterator_insert(&it, after, value, strlen(value));
            return;
        }
    }
    fail_msg("pivot %s not found", pivot);
}

static void test_iterator_insert(void **state)
{
    (void)state;
    /* Nodes of 3: [e0 e1 e2] [e3 e4 e5]; every insertion meets a full node. */
    quicklist *ql = numbered_list(3, 6);
    insert_near(ql, "e1", 1, "m1"); /* middle: split */
    insert_near(ql, "e2", 1, "t2"); /* tail of a node */
    insert_near(ql, "e3", 0, "h3"); /* head of a node */
    insert_near(ql, "e0", 0, "first");
    insert_near(ql, "e5", 1, "last");
    char *expected[] = {"first", "e0", "e1", "m1", "e2", "t2", "h3", "e3", "e4", "e5", "last"};
    assert_contents(ql, expected, 11);
    quicklist_free(ql);

    /* With room in the node, an insertion stays inside it. */
    ql = numbered_list(-2, 3);
    insert_near(ql, "e1", 0, "x");
    char *expected2[] = {"e0", "x", "e1", "e2"};
    assert_contents(ql, expected2, 4);
    assert_int_equal(ql->node_count, 1);
    quicklist_free(ql);
}

static void test_duplicate(void **state)
{
    (void)state;
    quicklist *ql = numbered_list(2, 5);
    quicklist *copy = quicklist_duplicate(ql);
    quicklist_pop(ql, QUICKLIST_HEAD);
    char *expected[] = {"e0", "e1", "e2", "e3", "e4"};
    assert_contents(copy, expected, 5);
    assert_int_equal(copy->fill, 2);
    assert_int_equal(quicklist_count(ql), 4);
    quicklist_free(copy);
    quicklist_free(ql);
    quicklist_free(NULL);
}

/* ---------- randomized model ---------- */

#define MODEL_MAX 600

typedef struct model {
    char *items[MODEL_MAX];
    size_t n;
} model;

static char *random_value(unsigned *seed)
{
    int kind = rand_r(seed) % 4;
    char *s;
    if (kind == 0) {
        s = malloc(24);
        snprintf(s, 24, "%d", rand_r(seed) % 2000 - 1000); /* integers */
    } else {
        size_t len = (size_t)(kind == 3 ? 200 + rand_r(seed) % 900 : rand_r(seed) % 20);
        s = malloc(len + 1);
        for (size_t i = 0; i < len; i++)
            s[i] = (char)('a' + rand_r(seed) % 3);
        s[len] = '\0';
    }
    return s;
}

static void model_insert(model *m, size_t at, char *value)
{
    memmove(&m->items[at + 1], &m->items[at], (m->n - at) * sizeof(char *));
    m->items[at] = value;
    m->n++;
}

static void model_remove(model *m, size_t at, size_t count)
{
    for (size_t i = at; i < at + count; i++)
        free(m->items[i]);
    memmove(&m->items[at], &m->items[at + count], (m->n - at - count) * sizeof(char *));
    m->n -= count;
}

static void run_model(int fill, unsigned seed)
{
    quicklist *ql = quicklist_create(fill);
    model m = {.n = 0};
    for (int step = 0; step < 1500; step++) {
        int op = rand_r(&seed) % 8;
        if (m.n + 1 >= MODEL_MAX)
            op = 2;
        if (op <= 1) { /* push */
            char *v = random_value(&seed);
            enum quicklist_end where = op ? QUICKLIST_TAIL : QUICKLIST_HEAD;
            push_text(ql, where, v);
            model_insert(&m, where == QUICKLIST_HEAD ? 0 : m.n, v);
        } else if (op == 2 && m.n) { /* pop */
            enum quicklist_end where = rand_r(&seed) % 2 ? QUICKLIST_TAIL : QUICKLIST_HEAD;
            quicklist_pop(ql, where);
            model_remove(&m, where == QUICKLIST_HEAD ? 0 : m.n - 1, 1);
        } else if (op == 3 && m.n) { /* insert via iterator */
            size_t at = (size_t)rand_r(&seed) % m.n;
            int after = rand_r(&seed) % 2;
            char *v = random_value(&seed);
            quicklist_iterator it;
            listpack_entry entry;
            quicklist_iterator_start(&it, ql, (int64_t)at, 1);
            assert_true(quicklist_iterator_next(&it, &entry));
            quicklist_iterator_insert(&it, after, v, strlen(v));
            model_insert(&m, at + (size_t)after, v);
        } else if (op == 4 && m.n) { /* replace */
            size_t at = (size_t)rand_r(&seed) % m.n;
            char *v = random_value(&seed);
            assert_int_equal(quicklist_replace(ql, (int64_t)at, v, strlen(v)), 1);
            free(m.items[at]);
            m.items[at] = v;
        } else if (op == 5 && m.n) { /* delete a range */
            size_t at = (size_t)rand_r(&seed) % m.n;
            size_t count = (size_t)rand_r(&seed) % 30;
            quicklist_delete_range(ql, at, count);
            model_remove(&m, at, count < m.n - at ? count : m.n - at);
        } else if (op == 6 && m.n) { /* delete short strings while iterating */
            int forward = rand_r(&seed) % 2;
            size_t limit = (size_t)rand_r(&seed) % 4 + 1, removed = 0;
            quicklist_iterator it;
            listpack_entry entry;
            quicklist_iterator_start(&it, ql, forward ? 0 : -1, forward);
            for (size_t k = 0; removed < limit && quicklist_iterator_next(&it, &entry); k++) {
                /* Removals so far sit before this entry going forward and
                 * after it going backward. */
                size_t at = forward ? k - removed : m.n + removed - 1 - k;
                char buf[2048];
                assert_string_equal(entry_text(&entry, buf, sizeof(buf)), m.items[at]);
                if (entry.data && entry.len < 3) {
                    quicklist_iterator_delete(&it);
                    model_remove(&m, at, 1);
                    removed++;
                }
            }
        } else if (op == 7 && m.n) { /* index */
            int64_t at = (int64_t)(rand_r(&seed) % m.n);
            assert_index(ql, at - (rand_r(&seed) % 2 ? (int64_t)m.n : 0), m.items[at]);
        }
        if (step % 50 == 0)
            assert_contents(ql, m.items, m.n);
        else
            check_invariants(ql);
    }
    assert_contents(ql, m.items, m.n);
    model_remove(&m, 0, m.n);
    quicklist_free(ql);
}

static void test_random_against_model(void **state)
{
    (void)state;
    run_model(-1, 1);
    run_model(-2, 2);
    run_model(3, 3);
    run_model(1, 4);
    run_model(50, 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_push_pop_both_ends),
        cmocka_unit_test(test_size_fill_splits_nodes),
        cmocka_unit_test(test_count_fill_and_clamping),
        cmocka_unit_test(test_oversized_entry_gets_own_node),
        cmocka_unit_test(test_index),
        cmocka_unit_test(test_replace),
        cmocka_unit_test(test_delete_range),
        cmocka_unit_test(test_iterator_ranges),
        cmocka_unit_test(test_iterator_delete),
        cmocka_unit_test(test_iterator_insert),
        cmocka_unit_test(test_duplicate),
        cmocka_unit_test(test_random_against_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
