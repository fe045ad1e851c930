/* Tests for hashtable: find/insert/remove through growth and shrink,
 * incremental rehash, replace, iterators, random, the SCAN guarantee across
 * resizes, and clear/destroy. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "rivet/hash.h"
#include "rivet/hashtable.h"
#include "rivet/memory.h"

typedef struct test_node {
    hashtable_node link; /* first, so a node pointer is a test_node pointer */
    int in_table;
    int seen;
    size_t keylen;
    char key[24];
} test_node;

static uint64_t test_hash_node(const hashtable_node *node)
{
    const test_node *n = (const test_node *)node;
    return hash_bytes(n->key, n->keylen);
}

static int test_node_has_key(const hashtable_node *node, const void *key, size_t keylen)
{
    const test_node *n = (const test_node *)node;
    return n->keylen == keylen && memcmp(n->key, key, keylen) == 0;
}

static const hashtable_type test_type = {test_hash_node, test_node_has_key};

static test_node *nodes_create(size_t count, const char *prefix)
{
    test_node *nodes = mem_calloc(count * sizeof(test_node));
    for (size_t i = 0; i < count; i++)
        nodes[i].keylen = (size_t)snprintf(nodes[i].key, sizeof(nodes[i].key), "%s:%zu", prefix, i);
    return nodes;
}

static uint64_t key_hash(const test_node *n)
{
    return hash_bytes(n->key, n->keylen);
}

static void add(hashtable *table, test_node *n)
{
    hashtable_insert(table, key_hash(n), &n->link);
    n->in_table = 1;
}

static test_node *find(hashtable *table, const test_node *n)
{
    return (test_node *)hashtable_find(table, key_hash(n), n->key, n->keylen);
}

static test_node *take(hashtable *table, test_node *n)
{
    test_node *removed = (test_node *)hashtable_remove(table, key_hash(n), n->key, n->keylen);
    if (removed != NULL)
        removed->in_table = 0;
    return removed;
}

static void finish_rehash(hashtable *table)
{
    int guard = 0;
    while (hashtable_rehash_step(table, 100))
        assert_true(++guard < 1000000);
    assert_false(hashtable_is_rehashing(table));
}

static int is_power_of_two(size_t n)
{
    return n != 0 && (n & (n - 1)) == 0;
}

/* A deterministic generator for the tests' own choices. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int setup_seed(void **state)
{
    static const uint8_t seed[16] = "rivet-test-seed";
    hash_set_seed(seed);
    return 0;
}

static void count_visit(void *ctx, hashtable_node *node)
{
    (*(size_t *)ctx)++;
}

static void test_empty_table(void **state)
{
    hashtable *table = hashtable_create(&test_type);
    assert_int_equal(hashtable_size(table), 0);
    assert_int_equal(hashtable_buckets(table), 0);
    assert_int_equal(hashtable_memory(table), 0);
    assert_false(hashtable_is_rehashing(table));
    assert_null(hashtable_find(table, 1, "x", 1));
    assert_null(hashtable_remove(table, 1, "x", 1));
    assert_null(hashtable_random(table, 42));
    size_t visited = 0;
    assert_int_equal(hashtable_scan(table, 0, count_visit, &visited), 0);
    assert_int_equal(visited, 0);
    assert_int_equal(hashtable_rehash_step(table, 10), 0);

    hashtable_iterator it;
    hashtable_iterator_init(&it, table);
    assert_null(hashtable_iterator_next(&it));
    assert_null(hashtable_iterator_next(&it));
    hashtable_iterator_release(&it);

    /* The first insert allocates the smallest array. */
    test_node one = {.keylen = 3, .key = "one"};
    add(table, &one);
    assert_int_equal(hashtable_buckets(table), 4);
    assert_true(hashtable_memory(table) >= 4 * sizeof(void *));
    assert_ptr_equal(find(table, &one), &one);
    hashtable_destroy(table, NULL);
}

static void test_insert_find_remove_many(void **state)
{
    enum { COUNT = 100000 };
    test_node *nodes = nodes_create(COUNT, "key");
    test_node *absent = nodes_create(1000, "absent");
    hashtable *table = hashtable_create(&test_type);

    size_t largest = 0;
    size_t main_array_changes = 0;
    for (size_t i = 0; i < COUNT; i++) {
        add(table, &nodes[i]);
        assert_int_equal(hashtable_size(table), i + 1);
        size_t buckets = hashtable_buckets(table);
        assert_true(is_power_of_two(buckets));
        if (buckets > largest) {
            largest = buckets;
            main_array_changes++;
        }
        /* Growth starts as soon as the table is full, so the main array
         * never falls far behind the size. */
        assert_true(i + 1 <= 2 * buckets);
    }
    /* 4 -> 8 -> ... -> 65536 while inserting (131072 is still in progress). */
    assert_int_equal(main_array_changes, 15);
    for (size_t i = 0; i < COUNT; i++)
        assert_ptr_equal(find(table, &nodes[i]), &nodes[i]);
    for (size_t i = 0; i < 1000; i++)
        assert_null(find(table, &absent[i]));

    finish_rehash(table);
    largest = hashtable_buckets(table);
    /* Load factor at most 1 once grown: 100000 keys need 131072 buckets. */
    assert_int_equal(hashtable_buckets(table), 131072);
    assert_true(hashtable_memory(table) >= 131072 * sizeof(void *));
    assert_true(hashtable_memory(table) < 2 * 131072 * sizeof(void *));

    /* Remove in a different order from insertion. */
    for (size_t i = 0; i < COUNT; i++) {
        size_t index = (i * 7919) % COUNT;
        assert_ptr_equal(take(table, &nodes[index]), &nodes[index]);
        assert_null(take(table, &nodes[index]));
        assert_int_equal(hashtable_size(table), COUNT - i - 1);
        if (i % 97 == 0) {
            size_t peek = (index + 1) % COUNT;
            assert_ptr_equal(find(table, &nodes[peek]), nodes[peek].in_table ? &nodes[peek] : NULL);
        }
    }
    /* The last remove leaves the smallest array, with no rehash pending. */
    assert_int_equal(hashtable_size(table), 0);
    assert_false(hashtable_is_rehashing(table));
    assert_int_equal(hashtable_buckets(table), 4);
    assert_true(hashtable_memory(table) < 64 * sizeof(void *));

    hashtable_destroy(table, NULL);
    mem_free(nodes);
    mem_free(absent);
}

static void test_shrink_keeps_remaining_keys(void **state)
{
    enum { COUNT = 20000, KEEP = 100 };
    test_node *nodes = nodes_create(COUNT, "shrink");
    hashtable *table = hashtable_create(&test_type);
    for (size_t i = 0; i < COUNT; i++)
        add(table, &nodes[i]);
    finish_rehash(table);
    assert_int_equal(hashtable_buckets(table), 32768);

    for (size_t i = KEEP; i < COUNT; i++)
        assert_non_null(take(table, &nodes[i]));
    finish_rehash(table);
    /* How far it shrank depends on the size when each shrink began, but once
     * idle the table must be neither over-full nor due another shrink. */
    size_t buckets = hashtable_buckets(table);
    assert_true(is_power_of_two(buckets));
    assert_true(buckets > KEEP && buckets <= KEEP * 8);
    for (size_t i = 0; i < COUNT; i++)
        assert_ptr_equal(find(table, &nodes[i]), i < KEEP ? &nodes[i] : NULL);

    hashtable_destroy(table, NULL);
    mem_free(nodes);
}

/* Inserts nodes[start..] until an insert starts a rehash; returns the number
 * of nodes inserted from the array in all. */
static size_t fill_until_rehashing(hashtable *table, test_node *nodes, size_t start, size_t limit)
{
    for (size_t i = start; i < limit; i++) {
        add(table, &nodes[i]);
        if (hashtable_is_rehashing(table))
            return i + 1;
    }
    fail_msg("no rehash started within %zu inserts", limit);
    return 0;
}

/* Leaves the table growing from 2048 to 4096 buckets with 2048 nodes from
 * the array (which needs at least that many); returns the count. */
static size_t start_large_rehash(hashtable *table, test_node *nodes, size_t limit)
{
    for (size_t i = 0; i < 2000; i++)
        add(table, &nodes[i]);
    finish_rehash(table);
    assert_int_equal(hashtable_buckets(table), 2048);
    size_t present = fill_until_rehashing(table, nodes, 2000, limit);
    assert_int_equal(present, 2048);
    return present;
}

static void test_rehash_is_incremental(void **state)
{
    test_node *nodes = nodes_create(4096, "inc");
    hashtable *table = hashtable_create(&test_type);

    /* 1024 nodes fill 1024 buckets; that insert starts a grow to 2048. */
    for (size_t i = 0; i < 1023; i++)
        add(table, &nodes[i]);
    finish_rehash(table);
    assert_int_equal(hashtable_buckets(table), 1024);
    size_t inserted = fill_until_rehashing(table, nodes, 1023, 4096);
    assert_int_equal(inserted, 1024);
    assert_int_equal(hashtable_buckets(table), 1024);
    size_t memory_during = hashtable_memory(table);
    assert_true(memory_during >= (1024 + 2048) * sizeof(void *));

    /* Each lookup moves at least one bucket, so at most 1024 finish it; every
     * node stays findable meanwhile. */
    size_t operations = 0;
    while (hashtable_is_rehashing(table)) {
        assert_ptr_equal(find(table, &nodes[operations % inserted]), &nodes[operations % inserted]);
        operations++;
        assert_true(operations <= 1024);
    }
    assert_true(operations > 1);
    assert_int_equal(hashtable_buckets(table), 2048);
    assert_true(hashtable_memory(table) < memory_during);
    for (size_t i = 0; i < inserted; i++)
        assert_ptr_equal(find(table, &nodes[i]), &nodes[i]);

    /* A timer's rehash_step finishes a rehash without other traffic. */
    for (size_t i = inserted; !hashtable_is_rehashing(table); i++)
        add(table, &nodes[i]);
    assert_true(hashtable_rehash_step(table, 1));
    int calls = 1;
    while (hashtable_rehash_step(table, 64))
        calls++;
    assert_true(calls > 1 && calls <= 2048 / 64 + 1);
    assert_int_equal(hashtable_buckets(table), 4096);

    hashtable_destroy(table, NULL);
    mem_free(nodes);
}

static void test_replace(void **state)
{
    enum { COUNT = 3000 };
    test_node *nodes[COUNT];
    hashtable *table = hashtable_create(&test_type);
    for (size_t i = 0; i < COUNT; i++) {
        nodes[i] = mem_calloc(sizeof(test_node));
        nodes[i]->keylen = (size_t)snprintf(nodes[i]->key, sizeof(nodes[i]->key), "rep:%zu", i);
        add(table, nodes[i]);
    }
    assert_true(hashtable_is_rehashing(table) || hashtable_buckets(table) >= COUNT);

    /* Move every node to new memory and free the old block before telling the
     * table (the realloc pattern); ASan catches any read of the old one. Some
     * replacements happen mid-rehash: start one first. */
    finish_rehash(table);
    size_t next_extra = 0;
    test_node *extra = nodes_create(COUNT, "extra");
    while (!hashtable_is_rehashing(table))
        add(table, &extra[next_extra++]);
    int replaced_while_rehashing = 0;
    for (size_t i = 0; i < COUNT; i++) {
        test_node *old = nodes[i];
        test_node *moved = mem_alloc(sizeof(test_node));
        memcpy(moved, old, sizeof(test_node));
        mem_free(old);
        replaced_while_rehashing |= hashtable_is_rehashing(table);
        hashtable_replace(table, key_hash(moved), (hashtable_node *)old, &moved->link);
        nodes[i] = moved;
    }
    assert_true(replaced_while_rehashing);
    assert_int_equal(hashtable_size(table), COUNT + next_extra);
    for (size_t i = 0; i < COUNT; i++)
        assert_ptr_equal(find(table, nodes[i]), nodes[i]);
    for (size_t i = 0; i < next_extra; i++)
        assert_ptr_equal(find(table, &extra[i]), &extra[i]);

    /* Replacing a node by itself (realloc in place) is harmless. */
    hashtable_replace(table, key_hash(nodes[0]), &nodes[0]->link, &nodes[0]->link);
    assert_ptr_equal(find(table, nodes[0]), nodes[0]);

    for (size_t i = 0; i < COUNT; i++)
        assert_ptr_equal(take(table, nodes[i]), nodes[i]);
    assert_int_equal(hashtable_size(table), next_extra);
    hashtable_destroy(table, NULL);
    for (size_t i = 0; i < COUNT; i++)
        mem_free(nodes[i]);
    mem_free(extra);
}

static void check_iteration_with_removal(int while_rehashing)
{
    enum { COUNT = 5000 };
    test_node *nodes = nodes_create(COUNT, "iter");
    hashtable *table = hashtable_create(&test_type);
    size_t present = 0;
    if (while_rehashing) {
        present = start_large_rehash(table, nodes, COUNT);
        /* Move part of it, so nodes sit in both arrays. */
        hashtable_rehash_step(table, 300);
        assert_true(hashtable_is_rehashing(table));
    } else {
        for (; present < COUNT; present++)
            add(table, &nodes[present]);
        finish_rehash(table);
    }
    size_t buckets = hashtable_buckets(table);
    size_t memory = hashtable_memory(table);

    hashtable_iterator it;
    hashtable_iterator_init(&it, table);
    size_t visited = 0, removed = 0;
    hashtable_node *node;
    while ((node = hashtable_iterator_next(&it)) != NULL) {
        test_node *n = (test_node *)node;
        n->seen++;
        visited++;
        /* Remove two of every three: enough to call for a shrink, which must
         * wait for the iterator. */
        if (visited % 3 != 0) {
            assert_ptr_equal(take(table, n), n);
            removed++;
        }
        assert_int_equal(hashtable_is_rehashing(table), while_rehashing);
        assert_int_equal(hashtable_buckets(table), buckets);
        assert_int_equal(hashtable_memory(table), memory);
    }
    assert_null(hashtable_iterator_next(&it));
    hashtable_iterator_release(&it);

    assert_int_equal(visited, present);
    for (size_t i = 0; i < present; i++)
        assert_int_equal(nodes[i].seen, 1);
    assert_int_equal(hashtable_size(table), present - removed);
    for (size_t i = 0; i < present; i++)
        assert_ptr_equal(find(table, &nodes[i]), nodes[i].in_table ? &nodes[i] : NULL);

    hashtable_destroy(table, NULL);
    mem_free(nodes);
}

static void test_iterator_removing_current(void **state)
{
    check_iteration_with_removal(0);
}

static void test_iterator_removing_current_while_rehashing(void **state)
{
    check_iteration_with_removal(1);
}

static void test_iterator_holds_off_shrink(void **state)
{
    test_node *nodes = nodes_create(4000, "hold");
    hashtable *table = hashtable_create(&test_type);
    for (size_t i = 0; i < 4000; i++)
        add(table, &nodes[i]);
    finish_rehash(table);
    size_t buckets = hashtable_buckets(table);

    hashtable_iterator it;
    hashtable_iterator_init(&it, table);
    for (size_t i = 0; i < 3990; i++)
        take(table, &nodes[i]);
    assert_int_equal(hashtable_buckets(table), buckets);
    assert_false(hashtable_is_rehashing(table));
    assert_int_equal(hashtable_rehash_step(table, 10), 0);
    hashtable_iterator_release(&it);

    /* Released: the overdue shrink starts, and finishes with the 10 left. */
    assert_true(hashtable_is_rehashing(table) || hashtable_buckets(table) < buckets);
    finish_rehash(table);
    assert_int_equal(hashtable_buckets(table), 16);
    for (size_t i = 3990; i < 4000; i++)
        assert_ptr_equal(find(table, &nodes[i]), &nodes[i]);
    hashtable_destroy(table, NULL);
    mem_free(nodes);
}

static void check_random_picks(hashtable *table, test_node *nodes, size_t count, int calls,
                               uint64_t *rng)
{
    for (size_t i = 0; i < count; i++)
        nodes[i].seen = 0;
    for (int i = 0; i < calls; i++) {
        test_node *n = (test_node *)hashtable_random(table, next_random(rng));
        assert_non_null(n);
        assert_true(n >= nodes && n < nodes + count);
        assert_true(n->in_table);
        n->seen++;
    }
}

static void test_random(void **state)
{
    enum { SMALL = 20 };
    uint64_t rng = 7;
    test_node *nodes = nodes_create(SMALL, "rand");
    hashtable *table = hashtable_create(&test_type);
    for (size_t i = 0; i < SMALL; i++)
        add(table, &nodes[i]);
    finish_rehash(table);

    check_random_picks(table, nodes, SMALL, 4000, &rng);
    for (size_t i = 0; i < SMALL; i++)
        assert_true(nodes[i].seen > 0);
    /* Roughly uniform: no node gets more than a few times its share. */
    for (size_t i = 0; i < SMALL; i++)
        assert_true(nodes[i].seen < 4 * 4000 / SMALL);

    /* Only present nodes come back after removals. */
    for (size_t i = 0; i < SMALL; i += 2)
        take(table, &nodes[i]);
    check_random_picks(table, nodes, SMALL, 1000, &rng);
    for (size_t i = 1; i < SMALL; i += 2)
        assert_true(nodes[i].seen > 0);
    hashtable_destroy(table, NULL);
    mem_free(nodes);

    /* During a rehash both arrays hold nodes; all of them can come back. */
    enum { MANY = 3000 };
    nodes = nodes_create(MANY, "rrh");
    table = hashtable_create(&test_type);
    size_t present = start_large_rehash(table, nodes, MANY);
    hashtable_rehash_step(table, (int)present / 4);
    assert_true(hashtable_is_rehashing(table));
    hashtable_iterator it; /* keeps the rehash from finishing under us */
    hashtable_iterator_init(&it, table);
    check_random_picks(table, nodes, present, 100 * (int)present, &rng);
    size_t covered = 0;
    for (size_t i = 0; i < present; i++)
        covered += nodes[i].seen > 0;
    assert_true(covered > present * 95 / 100);

    /* Very sparse (the iterator holds off the shrink): still finds the few. */
    for (size_t i = 3; i < present; i++)
        take(table, &nodes[i]);
    check_random_picks(table, nodes, present, 3000, &rng);
    assert_true(nodes[0].seen > 0 && nodes[1].seen > 0 && nodes[2].seen > 0);
    hashtable_iterator_release(&it);

    hashtable_destroy(table, NULL);
    mem_free(nodes);
}

static void record_visit(void *ctx, hashtable_node *node)
{
    test_node *n = (test_node *)node;
    /* Only nodes actually in the table may be returned. */
    assert_true(n->in_table);
    n->seen++;
}

static void test_scan_static_table_returns_each_once(void **state)
{
    enum { COUNT = 5000 };
    test_node *nodes = nodes_create(COUNT, "scan");
    hashtable *table = hashtable_create(&test_type);
    for (size_t i = 0; i < COUNT; i++)
        add(table, &nodes[i]);
    finish_rehash(table);

    uint64_t cursor = 0;
    size_t calls = 0;
    do {
        cursor = hashtable_scan(table, cursor, record_visit, NULL);
        calls++;
    } while (cursor != 0);
    assert_int_equal(calls, hashtable_buckets(table));
    for (size_t i = 0; i < COUNT; i++)
        assert_int_equal(nodes[i].seen, 1);

    /* Also mid-rehash, when nothing changes between calls. */
    test_node *more = nodes_create(COUNT * 2, "scan2");
    size_t added = fill_until_rehashing(table, more, 0, COUNT * 2);
    hashtable_rehash_step(table, 1000);
    assert_true(hashtable_is_rehashing(table));
    for (size_t i = 0; i < COUNT; i++)
        nodes[i].seen = 0;
    cursor = 0;
    do {
        cursor = hashtable_scan(table, cursor, record_visit, NULL);
    } while (cursor != 0);
    for (size_t i = 0; i < COUNT; i++)
        assert_int_equal(nodes[i].seen, 1);
    for (size_t i = 0; i < added; i++)
        assert_int_equal(more[i].seen, 1);

    hashtable_destroy(table, NULL);
    mem_free(nodes);
    mem_free(more);
}

/* One whole scan while the table is resized between calls. `stable` nodes
 * are in the table throughout and must each be returned; `churn` nodes come
 * and go in large batches so that the table grows past and shrinks below the
 * size the scan started at, often stopping mid-rehash. */
static void scan_under_churn(test_node *stable, size_t stable_count, test_node *churn,
                             size_t churn_count, uint64_t *rng, size_t *max_buckets,
                             size_t *min_buckets)
{
    hashtable *table = hashtable_create(&test_type);
    for (size_t i = 0; i < stable_count; i++) {
        stable[i].seen = 0;
        add(table, &stable[i]);
    }
    for (size_t i = 0; i < churn_count; i++)
        churn[i].in_table = 0;
    /* Start at a random size. */
    size_t churn_present = 0;
    size_t initial = next_random(rng) % churn_count;
    while (churn_present < initial)
        add(table, &churn[churn_present++]);
    if (next_random(rng) & 1)
        finish_rehash(table);

    uint64_t cursor = 0;
    size_t calls = 0;
    do {
        cursor = hashtable_scan(table, cursor, record_visit, NULL);
        calls++;
        /* Churn nodes fill from the front and leave from the back. Big
         * batches make the table double or halve several times over; small
         * ones leave it stopped at many points of a rehash. */
        uint64_t action = next_random(rng) % 64;
        size_t target = churn_present;
        if (action == 0)
            target = churn_present + next_random(rng) % (churn_count - churn_present + 1);
        else if (action == 1)
            target = next_random(rng) % 3 == 0 ? 0 : next_random(rng) % (churn_present + 1);
        else if (action < 24)
            target = churn_present + next_random(rng) % 33;
        else if (action < 48)
            target =
                churn_present - next_random(rng) % (churn_present < 32 ? churn_present + 1 : 33);
        else
            hashtable_rehash_step(table, (int)(next_random(rng) % 8));
        if (target > churn_count)
            target = churn_count;
        while (churn_present < target)
            add(table, &churn[churn_present++]);
        while (churn_present > target)
            assert_non_null(take(table, &churn[--churn_present]));
        size_t buckets = hashtable_buckets(table);
        if (buckets > *max_buckets)
            *max_buckets = buckets;
        if (buckets < *min_buckets)
            *min_buckets = buckets;
        assert_true(calls < 1000000);
    } while (cursor != 0);

    for (size_t i = 0; i < stable_count; i++) {
        if (stable[i].seen == 0)
            fail_msg("stable key %s never returned by the scan", stable[i].key);
    }
    hashtable_destroy(table, NULL);
}

static void test_scan_guarantee_across_resizes(void **state)
{
    enum { STABLE = 300, CHURN = 8000, SCANS = 16 };
    test_node *stable = nodes_create(STABLE, "stable");
    test_node *churn = nodes_create(CHURN, "churn");
    uint64_t rng = 12345;
    size_t max_buckets = 0, min_buckets = SIZE_MAX;
    for (int i = 0; i < SCANS; i++) {
        /* Vary the stable population too, down to a handful. */
        size_t stable_count = i % 4 == 0 ? 5 + (size_t)i : STABLE;
        scan_under_churn(stable, stable_count, churn, CHURN, &rng, &max_buckets, &min_buckets);
    }
    /* The resizes really spanned a wide range of sizes. */
    assert_true(max_buckets >= 8192);
    assert_true(min_buckets <= 64);
    mem_free(stable);
    mem_free(churn);
}

static size_t freed_count;

static void count_free(hashtable_node *node)
{
    freed_count++;
    mem_free(node);
}

static test_node *heap_node(size_t i)
{
    test_node *n = mem_calloc(sizeof(test_node));
    n->keylen = (size_t)snprintf(n->key, sizeof(n->key), "heap:%zu", i);
    return n;
}

static void test_clear_and_destroy_free_nodes(void **state)
{
    hashtable *table = hashtable_create(&test_type);
    size_t inserted = 0;
    /* Stop mid-rehash so nodes are in both arrays. */
    do {
        add(table, heap_node(inserted++));
    } while (inserted < 1000 || !hashtable_is_rehashing(table));
    hashtable_rehash_step(table, 10);
    assert_true(hashtable_is_rehashing(table));

    freed_count = 0;
    hashtable_clear(table, count_free);
    assert_int_equal(freed_count, inserted);
    assert_int_equal(hashtable_size(table), 0);
    assert_int_equal(hashtable_buckets(table), 0);
    assert_int_equal(hashtable_memory(table), 0);
    assert_false(hashtable_is_rehashing(table));

    /* Still usable after a clear. */
    test_node *keep[500];
    for (size_t i = 0; i < 500; i++) {
        keep[i] = heap_node(i);
        add(table, keep[i]);
    }
    for (size_t i = 0; i < 500; i++)
        assert_ptr_equal(find(table, keep[i]), keep[i]);
    assert_int_equal(hashtable_size(table), 500);

    /* Clear without a callback leaves the nodes to the caller. */
    hashtable_clear(table, NULL);
    assert_int_equal(hashtable_size(table), 0);
    assert_null(find(table, keep[0]));
    for (size_t i = 0; i < 500; i++)
        add(table, keep[i]);

    freed_count = 0;
    hashtable_destroy(table, count_free);
    assert_int_equal(freed_count, 500);
    hashtable_destroy(NULL, count_free);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_table),
        cmocka_unit_test(test_insert_find_remove_many),
        cmocka_unit_test(test_shrink_keeps_remaining_keys),
        cmocka_unit_test(test_rehash_is_incremental),
        cmocka_unit_test(test_replace),
        cmocka_unit_test(test_iterator_removing_current),
        cmocka_unit_test(test_iterator_removing_current_while_rehashing),
        cmocka_unit_test(test_iterator_holds_off_shrink),
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_scan_static_table_returns_each_once),
        cmocka_unit_test(test_scan_guarantee_across_resizes),
        cmocka_unit_test(test_clear_and_destroy_free_nodes),
    };
    return cmocka_run_group_tests(tests, setup_seed, NULL);
}
