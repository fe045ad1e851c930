/* Unit tests for the stream structure: append across nodes, seek and range
 * iteration both ways, delete, trimming (exact, approximate, LIMIT), copy. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "rivet/memory.h"
#include "rivet/stream.h"

static const stream_id MIN_ID = {0, 0};
static const stream_id MAX_ID = {UINT64_MAX, UINT64_MAX};

static void add(stream *s, uint64_t ms, uint64_t seq)
{
    char value[32];
    snprintf(value, sizeof(value), "v%llu-%llu", (unsigned long long)ms, (unsigned long long)seq);
    const char *items[2] = {"field", value};
    size_t lens[2] = {5, strlen(value)};
    stream_append(s, (stream_id){ms, seq}, items, lens, 2);
}

/* Collects the ms of every entry in [start, end]; returns how many. */
static size_t collect(stream *s, stream_id start, stream_id end, int reverse, uint64_t *out,
                      size_t max)
{
    stream_iterator it;
    stream_id id;
    size_t items, n = 0;
    stream_iterator_start(&it, s, start, end, reverse);
    while (stream_iterator_next(&it, &id, &items)) {
        assert_int_equal(items, 2);
        const char *data;
        size_t len;
        char expect[32];
        stream_iterator_item(&it, &data, &len);
        assert_int_equal(len, 5);
        assert_memory_equal(data, "field", 5);
        stream_iterator_item(&it, &data, &len);
        snprintf(expect, sizeof(expect), "v%llu-%llu", (unsigned long long)id.ms,
                 (unsigned long long)id.seq);
        assert_int_equal(len, strlen(expect));
        assert_memory_equal(data, expect, len);
        if (n < max)
            out[n] = id.ms;
        n++;
    }
    return n;
}

static void test_append_and_iterate(void **state)
{
    stream *s = stream_create(10, 4096);
    for (uint64_t i = 1; i <= 95; i++)
        add(s, i * 1000000, 0); /* large ms deltas exercise the varints */
    assert_int_equal(stream_length(s), 95);
    assert_int_equal(stream_node_count(s), 10);
    assert_int_equal(stream_last_id(s).ms, 95000000);
    assert_int_equal(stream_first_id(s).ms, 1000000);
    uint64_t got[100];
    assert_int_equal(collect(s, MIN_ID, MAX_ID, 0, got, 100), 95);
    for (int i = 0; i < 95; i++)
        assert_int_equal(got[i], (uint64_t)(i + 1) * 1000000);
    assert_int_equal(collect(s, MIN_ID, MAX_ID, 1, got, 100), 95);
    for (int i = 0; i < 95; i++)
        assert_int_equal(got[i], (uint64_t)(95 - i) * 1000000);
    /* A range that starts and ends inside nodes. */
    assert_int_equal(collect(s, (stream_id){15000000, 1}, (stream_id){42000000, 0}, 0, got, 100),
                     27);
    assert_int_equal(got[0], 16000000);
    assert_int_equal(got[26], 42000000);
    assert_int_equal(collect(s, (stream_id){15000000, 1}, (stream_id){42000000, 0}, 1, got, 100),
                     27);
    assert_int_equal(got[0], 42000000);
    assert_int_equal(got[26], 16000000);
    /* Empty and inverted ranges. */
    assert_int_equal(collect(s, (stream_id){96000000, 0}, MAX_ID, 0, got, 100), 0);
    assert_int_equal(collect(s, MIN_ID, (stream_id){999, 0}, 1, got, 100), 0);
    assert_int_equal(collect(s, (stream_id){5000000, 0}, (stream_id){4000000, 0}, 0, got, 100), 0);
    stream_free(s);
}

static void test_node_bytes_bound(void **state)
{
    stream *s = stream_create(0, 64);
    for (uint64_t i = 1; i <= 50; i++)
        add(s, i, 0);
    assert_true(stream_node_count(s) > 5);
    uint64_t got[64];
    assert_int_equal(collect(s, MIN_ID, MAX_ID, 1, got, 64), 50);
    stream_free(s);
}

static void test_delete(void **state)
{
    stream *s = stream_create(4, 0);
    for (uint64_t i = 1; i <= 12; i++)
        add(s, i, 0);
    assert_int_equal(stream_delete(s, (stream_id){5, 0}), 1);
    assert_int_equal(stream_delete(s, (stream_id){5, 0}), 0);
    assert_int_equal(stream_delete(s, (stream_id){5, 1}), 0);
    assert_int_equal(stream_delete(s, (stream_id){100, 0}), 0);
    assert_int_equal(stream_length(s), 11);
    assert_int_equal(stream_max_deleted_id(s).ms, 5);
    /* Emptying a middle node removes it. */
    stream_delete(s, (stream_id){6, 0});
    stream_delete(s, (stream_id){7, 0});
    assert_int_equal(stream_node_count(s), 3);
    stream_delete(s, (stream_id){8, 0});
    assert_int_equal(stream_node_count(s), 2);
    uint64_t got[16];
    assert_int_equal(collect(s, MIN_ID, MAX_ID, 0, got, 16), 8);
    assert_int_equal(got[3], 4);
    assert_int_equal(got[4], 9);
    assert_int_equal(collect(s, MIN_ID, MAX_ID, 1, got, 16), 8);
    assert_int_equal(got[3], 9);
    assert_int_equal(got[4], 4);
    stream_delete(s, (stream_id){1, 0});
    assert_int_equal(stream_first_id(s).ms, 2);
    assert_int_equal(stream_max_deleted_id(s).ms, 8);
    /* Deleting everything leaves an empty stream that keeps its last id. */
    for (uint64_t i = 1; i <= 12; i++)
        stream_delete(s, (stream_id){i, 0});
    assert_int_equal(stream_length(s), 0);
    assert_int_equal(stream_node_count(s), 0);
    assert_int_equal(stream_last_id(s).ms, 12);
    assert_int_equal(stream_first_id(s).ms, 0);
    add(s, 13, 0);
    assert_int_equal(collect(s, MIN_ID, MAX_ID, 0, got, 16), 1);
    assert_int_equal(stream_entries_added(s), 13);
    stream_free(s);
}

static void test_trim_maxlen(void **state)
{
    stream *s = stream_create(10, 0);
    for (uint64_t i = 1; i <= 35; i++)
        add(s, i, 0);
    /* Approximate: whole nodes only, while at least maxlen remain. */
    assert_int_equal(stream_trim_maxlen(s, 22, 1, 0), 10);
    assert_int_equal(stream_length(s), 25);
    assert_int_equal(stream_trim_maxlen(s, 22, 1, 0), 0);
    /* LIMIT stops before a node that would exceed it. */
    assert_int_equal(stream_trim_maxlen(s, 0, 1, 15), 10);
    assert_int_equal(stream_length(s), 15);
    /* Exact trims inside a node. */
    assert_int_equal(stream_trim_maxlen(s, 12, 0, 0), 3);
    assert_int_equal(stream_first_id(s).ms, 24);
    uint64_t got[40];
    assert_int_equal(collect(s, MIN_ID, MAX_ID, 0, got, 40), 12);
    assert_int_equal(got[0], 24);
    assert_int_equal(stream_trim_maxlen(s, 0, 0, 0), 12);
    assert_int_equal(stream_length(s), 0);
    assert_int_equal(stream_node_count(s), 0);
    stream_free(s);
}

static void test_trim_minid(void **state)
{
    stream *s = stream_create(10, 0);
    for (uint64_t i = 1; i <= 30; i++)
        add(s, i, 0);
    assert_int_equal(stream_trim_minid(s, (stream_id){15, 0}, 1, 0), 10);
    assert_int_equal(stream_trim_minid(s, (stream_id){15, 0}, 0, 0), 4);
    assert_int_equal(stream_first_id(s).ms, 15);
    /* A node whose live entries are all below minid but whose last stored
     * (deleted) id is not still empties cleanly. */
    stream_delete(s, (stream_id){20, 0});
    assert_int_equal(stream_trim_minid(s, (stream_id){20, 0}, 0, 0), 5);
    assert_int_equal(stream_length(s), 10);
    assert_int_equal(stream_first_id(s).ms, 21);
    assert_int_equal(stream_node_count(s), 1);
    stream_free(s);
}

static void test_head_trim_then_append_many(void **state)
{
    /* Exercises the node array's head offset and compaction. */
    stream *s = stream_create(2, 0);
    for (uint64_t i = 1; i <= 2000; i++) {
        add(s, i, 0);
        stream_trim_maxlen(s, 5, 1, 0);
    }
    assert_true(stream_length(s) >= 5 && stream_length(s) <= 7);
    uint64_t got[8];
    size_t n = collect(s, MIN_ID, MAX_ID, 1, got, 8);
    assert_int_equal(n, stream_length(s));
    assert_int_equal(got[0], 2000);
    stream_free(s);
}

static void test_copy(void **state)
{
    stream *s = stream_create(3, 0);
    for (uint64_t i = 1; i <= 10; i++)
        add(s, i, i);
    stream_trim_maxlen(s, 6, 1, 0);
    stream *copy = stream_copy(s);
    stream_delete(s, (stream_id){9, 9});
    assert_int_equal(stream_length(copy), stream_length(s) + 1);
    uint64_t got[16];
    assert_int_equal(collect(copy, MIN_ID, MAX_ID, 0, got, 16), 7);
    assert_int_equal(stream_last_id(copy).seq, 10);
    add(copy, 11, 0);
    assert_int_equal(stream_length(copy), 8);
    stream_free(s);
    stream_free(copy);
}

/* Entries sharing the first entry's field names store only values; others
 * (different names or counts, long items) store everything. Both must read
 * back the same, forwards and backwards, even after the first entry goes. */
static void append_pairs(stream *s, uint64_t ms, const char *f1, const char *v1, const char *f2,
                         const char *v2)
{
    const char *items[4] = {f1, v1, f2, v2};
    size_t lens[4] = {strlen(f1), strlen(v1), f2 ? strlen(f2) : 0, v2 ? strlen(v2) : 0};
    stream_append(s, (stream_id){ms, 0}, items, lens, f2 ? 4 : 2);
}

static void check_entry(stream_iterator *it, size_t items, const char *f1, const char *v1,
                        const char *f2, const char *v2)
{
    const char *expect[4] = {f1, v1, f2, v2};
    assert_int_equal(items, f2 ? 4 : 2);
    for (size_t i = 0; i < items; i++) {
        const char *data;
        size_t len;
        stream_iterator_item(it, &data, &len);
        assert_int_equal(len, strlen(expect[i]));
        assert_memory_equal(data, expect[i], len);
    }
}

static void test_shared_field_names(void **state)
{
    char long_value[400];
    memset(long_value, 'x', sizeof(long_value) - 1);
    long_value[sizeof(long_value) - 1] = '\0';
    stream *s = stream_create(100, 0);
    append_pairs(s, 1, "name", "a", "age", "1");
    append_pairs(s, 2, "name", "b", "age", "2");
    append_pairs(s, 3, "name", long_value, "age", "");
    append_pairs(s, 4, "other", "c", NULL, NULL);
    append_pairs(s, 5, "name", "d", "agex", "4");
    append_pairs(s, 6, "name", "e", "age", "5");
    for (int pass = 0; pass < 2; pass++) {
        for (int reverse = 0; reverse < 2; reverse++) {
            stream_iterator it;
            stream_id id;
            size_t items, seen = 0;
            stream_iterator_start(&it, s, MIN_ID, MAX_ID, reverse);
            while (stream_iterator_next(&it, &id, &items)) {
                seen++;
                switch (id.ms) {
                case 1:
                    check_entry(&it, items, "name", "a", "age", "1");
                    break;
                case 2:
                    check_entry(&it, items, "name", "b", "age", "2");
                    break;
                case 3:
                    check_entry(&it, items, "name", long_value, "age", "");
                    break;
                case 4:
                    check_entry(&it, items, "other", "c", NULL, NULL);
                    break;
                case 5:
                    check_entry(&it, items, "name", "d", "agex", "4");
                    break;
                case 6:
                    check_entry(&it, items, "name", "e", "age", "5");
                    break;
                default:
                    fail();
                }
            }
            assert_int_equal(seen, pass == 0 ? 6 : 5);
        }
        /* The entry holding the shared names goes; the names stay readable. */
        assert_int_equal(stream_delete(s, (stream_id){1, 0}), pass == 0);
    }
    stream_free(s);
}

static void test_groups_and_pending(void **state)
{
    stream *s = stream_create(100, 0);
    for (uint64_t i = 1; i <= 5; i++)
        add(s, i, 0);
    assert_non_null(stream_group_create(s, "g2", 2, (stream_id){0, 0}, -1));
    stream_group *g = stream_group_create(s, "g1", 2, (stream_id){0, 0}, -1);
    assert_non_null(g);
    assert_null(stream_group_create(s, "g1", 2, (stream_id){0, 0}, -1));
    assert_int_equal(stream_group_count(s), 2);
    assert_ptr_equal(stream_group_at(s, 0), g); /* name order */
    stream_consumer *bob = stream_consumer_create(g, "bob", 3, 10);
    stream_consumer *al = stream_consumer_create(g, "al", 2, 10);
    assert_null(stream_consumer_create(g, "al", 2, 10));
    assert_ptr_equal(g->consumers[0], al);
    for (uint64_t i = 1; i <= 4; i++) {
        stream_pending_deliver(g, i % 2 ? bob : al, (stream_id){i, 0}, 100);
        stream_group_advance(s, g, (stream_id){i, 0});
    }
    assert_int_equal(g->entries_read, 4);
    assert_int_equal(g->last_id.ms, 4);
    assert_int_equal(g->pending_count, 4);
    assert_int_equal(bob->pending_count, 2);
    /* Redelivery moves ownership and resets the count. */
    stream_pending *p = stream_pending_find(g, (stream_id){1, 0});
    p->delivery_count = 7;
    stream_pending_deliver(g, al, (stream_id){1, 0}, 200);
    assert_int_equal(p->delivery_count, 1);
    assert_int_equal(bob->pending_count, 1);
    assert_int_equal(al->pending_count, 3);
    assert_int_equal(al->pending[0]->id.ms, 1);
    stream_pending_set_owner(p, bob);
    assert_int_equal(bob->pending[0]->id.ms, 1);
    /* A copy is independent. */
    stream *copy = stream_copy(s);
    stream_group *cg = stream_group_find(copy, "g1", 2);
    assert_non_null(cg);
    assert_int_equal(cg->pending_count, 4);
    assert_int_equal(stream_consumer_find(cg, "bob", 3)->pending_count, 2);
    stream_pending_remove(g, p);
    assert_null(stream_pending_find(g, (stream_id){1, 0}));
    assert_non_null(stream_pending_find(cg, (stream_id){1, 0}));
    assert_int_equal(stream_consumer_delete(g, "al", 2), 2);
    assert_int_equal(stream_consumer_delete(g, "al", 2), -1);
    assert_int_equal(g->pending_count, 1);
    /* Estimates: exact at the edges, unknown past a tombstone. */
    assert_int_equal(stream_estimate_entries_read(s, (stream_id){5, 0}), 5);
    assert_int_equal(stream_estimate_entries_read(s, (stream_id){1, 0}), 1);
    assert_int_equal(stream_estimate_entries_read(s, (stream_id){9, 0}), -1);
    stream_delete(s, (stream_id){3, 0});
    assert_int_equal(stream_range_has_tombstones(s, (stream_id){2, 0}, MAX_ID), 1);
    assert_int_equal(stream_range_has_tombstones(s, (stream_id){4, 0}, MAX_ID), 0);
    assert_int_equal(stream_estimate_entries_read(s, (stream_id){2, 0}), -1);
    assert_int_equal(stream_group_destroy(s, "g1", 2), 1);
    assert_int_equal(stream_group_destroy(s, "g1", 2), 0);
    assert_int_equal(stream_entry_exists(s, (stream_id){3, 0}), 0);
    assert_int_equal(stream_entry_exists(s, (stream_id){4, 0}), 1);
    stream_free(s);
    stream_free(copy);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_and_iterate),
        cmocka_unit_test(test_node_bytes_bound),
        cmocka_unit_test(test_delete),
        cmocka_unit_test(test_trim_maxlen),
        cmocka_unit_test(test_trim_minid),
        cmocka_unit_test(test_head_trim_then_append_many),
        cmocka_unit_test(test_copy),
        cmocka_unit_test(test_shared_field_names),
        cmocka_unit_test(test_groups_and_pending),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
