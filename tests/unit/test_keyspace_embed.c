/* Tests for compact values kept inside their key's entry: a small listpack
 * or intset set with keyspace_set_object (or changed after
 * keyspace_object_for_update) is folded into the entry at the next
 * keyspace_set_time, moves out again for a change, keeps its bytes through
 * every entry rebuild (TTL, RENAME, COPY), stays outside when too big, and is
 * freed with its entry: used memory returns to where it started. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "rivet/intset.h"
#include "rivet/keyspace.h"
#include "rivet/listpack.h"
#include "rivet/memory.h"

#define START_MS 1000000

static void value_free(void *ptr, object_encoding encoding)
{
    if (encoding == ENCODING_INTSET)
        intset_free(ptr);
    else
        listpack_free(ptr);
}

static void *value_copy(const void *ptr, object_encoding encoding)
{
    if (encoding == ENCODING_INTSET)
        return intset_duplicate(ptr);
    return listpack_duplicate(ptr);
}

static size_t value_memory(const void *ptr, object_encoding encoding, size_t samples)
{
    (void)encoding;
    (void)samples;
    return mem_block_size(ptr);
}

static const object_methods test_methods = {
    .free_value = value_free,
    .copy_value = value_copy,
    .memory_usage = value_memory,
};

typedef struct fixture {
    keyspace *ks;
    size_t used_before;
} fixture;

static int setup(void **state)
{
    fixture *f = test_malloc(sizeof(*f));
    f->used_before = mem_used();
    f->ks = keyspace_create(2, START_MS);
    keyspace_register_type(f->ks, OBJECT_HASH, &test_methods);
    keyspace_register_type(f->ks, OBJECT_SET, &test_methods);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    keyspace_destroy(f->ks);
    /* Every entry and every value (inside or outside) was freed. */
    assert_int_equal(mem_used(), f->used_before);
    test_free(f);
    return 0;
}

/* A listpack of `count` short strings "f0", "f1", ... */
static listpack *make_listpack(int count)
{
    listpack *lp = listpack_create();
    for (int i = 0; i < count; i++) {
        char text[16];
        int len = snprintf(text, sizeof(text), "f%d", i);
        lp = listpack_append(lp, text, (size_t)len);
    }
    return lp;
}

static int is_inside(const kv_entry *e)
{
    const unsigned char *value = entry_object(e);
    const unsigned char *start = (const unsigned char *)e;
    return value > start && value < start + entry_allocation_size(e);
}

/* The keyspace's rule, restated from the entry layout: 24-byte header, a
 * 24-byte timer with a TTL, one length byte, the key, then (aligned to 8)
 * the value; inside only when one block costs no more than two. */
static int pays(size_t key_len, int ttl, size_t value_bytes)
{
    size_t base = 24 + (ttl ? 24 : 0) + 1 + key_len;
    size_t together = ((base + 7) & ~(size_t)7) + value_bytes;
    return mem_size_class(together) <= mem_size_class(base) + mem_size_class(value_bytes);
}

static void next_batch(keyspace *ks)
{
    keyspace_set_time(ks, keyspace_time(ks) + 1);
}

static void assert_listpack_is(const listpack *lp, int count)
{
    assert_int_equal(listpack_length(lp), count);
    size_t pos = listpack_first(lp);
    for (int i = 0; i < count; i++) {
        char text[16];
        int len = snprintf(text, sizeof(text), "f%d", i);
        assert_true(listpack_equals(lp, pos, text, (size_t)len));
        pos = listpack_next(lp, pos);
    }
}

static void test_folded_in_at_next_batch(void **state)
{
    fixture *f = *state;
    database *db = keyspace_database(f->ks, 0);
    listpack *lp = make_listpack(4);
    kv_entry *e = keyspace_set_object(db, "session:1", 9, OBJECT_HASH, ENCODING_LISTPACK, lp, 0);
    /* Until the batch ends, the caller's pointer stays the value. */
    assert_ptr_equal(entry_object(e), lp);
    size_t apart = keyspace_entry_memory(f->ks, e, 0);
    assert_int_equal(apart, entry_allocation_size(e) + mem_block_size(lp));
    /* (Sanitizer allocators give exact sizes: compare in size classes.) */
    size_t apart_classes =
        mem_size_class(entry_allocation_size(e)) + mem_size_class(mem_block_size(lp));
    next_batch(f->ks);
    e = keyspace_lookup(db, "session:1", 9);
    assert_true(is_inside(e));
    assert_listpack_is(entry_object(e), 4);
    /* One block instead of two (jemalloc: 34 + 24 bytes in 48 + 32, together
     * 64), and MEMORY USAGE is that block. */
    assert_int_equal(keyspace_entry_memory(f->ks, e, 0), entry_allocation_size(e));
    assert_true(mem_size_class(entry_allocation_size(e)) < apart_classes);
}

/* Where the rounded sum is bigger than the rounded parts, the value stays
 * (or goes) outside: under jemalloc, a 13-byte key with a TTL makes a 62-byte
 * entry (a 64-byte block) and 16 fields a 78-byte listpack (80); together,
 * 142 bytes would take a 160-byte block. */
static void test_left_apart_when_bigger(void **state)
{
    fixture *f = *state;
    database *db = keyspace_database(f->ks, 0);
    listpack *lp = make_listpack(16);
    size_t bytes = listpack_bytes(lp);
    keyspace_set_object(db, "session:12345", 13, OBJECT_HASH, ENCODING_LISTPACK, lp, 0);
    next_batch(f->ks);
    kv_entry *e = keyspace_lookup(db, "session:12345", 13);
    assert_int_equal(is_inside(e), pays(13, 0, bytes));
    /* The TTL rebuilds the entry, and the value leaves it if together they
     * would cost more; the next batch does not fold it back. */
    e = keyspace_set_expire(db, e, START_MS + 100000);
    assert_int_equal(is_inside(e), pays(13, 1, bytes));
    next_batch(f->ks);
    e = keyspace_lookup(db, "session:12345", 13);
    assert_int_equal(is_inside(e), pays(13, 1, bytes));
    size_t entry_class = mem_size_class(24 + 24 + 1 + 13);
    if (!pays(13, 1, bytes))
        assert_int_equal(keyspace_entry_memory(f->ks, e, 0),
                         entry_allocation_size(e) + mem_block_size(entry_object(e)));
    assert_true(mem_size_class(keyspace_entry_memory(f->ks, e, 0)) <=
                mem_size_class(entry_class + mem_size_class(bytes)));
    assert_listpack_is(entry_object(e), 16);
}

static void test_moves_out_for_update_and_back(void **state)
{
    fixture *f = *state;
    database *db = keyspace_database(f->ks, 0);
    keyspace_set_object(db, "session:1", 9, OBJECT_HASH, ENCODING_LISTPACK, make_listpack(2), 0);
    next_batch(f->ks);
    kv_entry *e = keyspace_lookup(db, "session:1", 9);
    assert_true(is_inside(e));

    listpack *lp = keyspace_object_for_update(db, e);
    assert_false(is_inside(e));
    assert_ptr_equal(entry_object(e), lp);
    lp = listpack_append(lp, "f2", 2);
    lp = listpack_append(lp, "f3", 2);
    entry_set_object(e, ENCODING_LISTPACK, lp);
    /* The entry did not move: the caller's pointer is still good. */
    assert_ptr_equal(keyspace_lookup(db, "session:1", 9), e);

    next_batch(f->ks);
    e = keyspace_lookup(db, "session:1", 9);
    assert_true(is_inside(e));
    assert_listpack_is(entry_object(e), 4);
}

static void test_too_big_stays_outside(void **state)
{
    fixture *f = *state;
    database *db = keyspace_database(f->ks, 0);
    keyspace_set_embed_max(f->ks, 32);
    listpack *lp = make_listpack(20);
    assert_true(listpack_bytes(lp) > 32);
    keyspace_set_object(db, "big", 3, OBJECT_HASH, ENCODING_LISTPACK, lp, 0);
    next_batch(f->ks);
    kv_entry *e = keyspace_lookup(db, "big", 3);
    assert_ptr_equal(entry_object(e), lp);
    assert_int_equal(keyspace_entry_memory(f->ks, e, 0),
                     entry_allocation_size(e) + mem_block_size(lp));

    /* Limit 0 turns embedding off. */
    keyspace_set_embed_max(f->ks, 0);
    keyspace_set_object(db, "small", 5, OBJECT_HASH, ENCODING_LISTPACK, make_listpack(1), 0);
    next_batch(f->ks);
    assert_false(is_inside(keyspace_lookup(db, "small", 5)));
}

static void test_kept_through_rebuilds(void **state)
{
    fixture *f = *state;
    database *db0 = keyspace_database(f->ks, 0);
    database *db1 = keyspace_database(f->ks, 1);
    listpack *three = make_listpack(3);
    size_t bytes = listpack_bytes(three);
    keyspace_set_object(db0, "session:1", 9, OBJECT_HASH, ENCODING_LISTPACK, three, 0);
    next_batch(f->ks);
    kv_entry *e = keyspace_lookup(db0, "session:1", 9);
    assert_true(is_inside(e));

    /* A TTL rebuilds the entry; the value comes along, inside if that still
     * pays with the timer in the entry, else in a block of its own. */
    e = keyspace_set_expire(db0, e, START_MS + 100000);
    assert_int_equal(is_inside(e), pays(9, 1, bytes));
    assert_listpack_is(entry_object(e), 3);
    assert_int_equal(entry_expire(e), START_MS + 100000);

    /* RENAME into another database under a longer key. */
    e = keyspace_set_expire(db0, e, -1);
    assert_true(is_inside(e) || !pays(9, 1, bytes));
    next_batch(f->ks);
    e = keyspace_lookup(db0, "session:1", 9);
    assert_true(is_inside(e));
    e = keyspace_move(db0, "session:1", 9, db1, "a-much-longer-key-name", 22);
    assert_int_equal(is_inside(e), pays(22, 0, bytes));
    assert_listpack_is(entry_object(e), 3);
    assert_null(keyspace_lookup(db0, "session:1", 9));

    /* COPY: an independent value inside the new entry. */
    kv_entry *copy = keyspace_copy(db1, e, db0, "c", 1);
    next_batch(f->ks);
    copy = keyspace_lookup(db0, "c", 1);
    e = keyspace_lookup(db1, "a-much-longer-key-name", 22);
    assert_int_equal(is_inside(copy), pays(1, 0, bytes));
    assert_ptr_not_equal(entry_object(copy), entry_object(e));
    assert_listpack_is(entry_object(copy), 3);

    /* Changing the copy leaves the original alone. */
    listpack *lp = keyspace_object_for_update(db0, copy);
    entry_set_object(copy, ENCODING_LISTPACK, listpack_append(lp, "f3", 2));
    next_batch(f->ks);
    assert_listpack_is(entry_object(keyspace_lookup(db0, "c", 1)), 4);
    assert_listpack_is(entry_object(keyspace_lookup(db1, "a-much-longer-key-name", 22)), 3);
    /* Dropping the TTL rebuilds once more. */
    e = keyspace_lookup(db1, "a-much-longer-key-name", 22);
    e = keyspace_set_expire(db1, e, START_MS + 5000);
    assert_int_equal(is_inside(e), is_inside(e) && pays(22, 1, bytes));
    assert_int_equal(entry_expire(e), START_MS + 5000);
    assert_listpack_is(entry_object(e), 3);
}

static void test_intsets_too(void **state)
{
    fixture *f = *state;
    database *db = keyspace_database(f->ks, 0);
    intset *set = intset_create();
    int added;
    for (int64_t v = 1; v <= 4; v++)
        set = intset_add(set, v * 100000, &added);
    keyspace_set_object(db, "ids:1", 5, OBJECT_SET, ENCODING_INTSET, set, 0);
    next_batch(f->ks);
    kv_entry *e = keyspace_lookup(db, "ids:1", 5);
    assert_true(is_inside(e));
    assert_int_equal(intset_length(entry_object(e)), 4);
    assert_true(intset_contains(entry_object(e), 300000));
    /* A change that converts the value: the caller frees the old one. */
    intset *old = keyspace_object_for_update(db, e);
    entry_set_object(e, ENCODING_LISTPACK, listpack_append(listpack_create(), "x", 1));
    intset_free(old);
    next_batch(f->ks);
    e = keyspace_lookup(db, "ids:1", 5);
    assert_int_equal(is_inside(e), pays(5, 0, listpack_bytes(entry_object(e))));
    assert_int_equal(entry_encoding(e), ENCODING_LISTPACK);
}

static void test_overwrite_delete_and_flush(void **state)
{
    fixture *f = *state;
    database *db = keyspace_database(f->ks, 0);
    for (int i = 0; i < 50; i++) {
        char key[16];
        int len = snprintf(key, sizeof(key), "k%d", i);
        keyspace_set_object(db, key, (size_t)len, OBJECT_HASH, ENCODING_LISTPACK,
                            make_listpack(i % 7), 0);
    }
    next_batch(f->ks);
    /* Overwrite an embedded value, delete another, and queue a key that is
     * deleted before the batch ends. */
    keyspace_set_object(db, "k1", 2, OBJECT_HASH, ENCODING_LISTPACK, make_listpack(2), 0);
    assert_int_equal(keyspace_delete(db, "k2", 2), 1);
    keyspace_object_for_update(db, keyspace_lookup(db, "k3", 2));
    assert_int_equal(keyspace_delete(db, "k3", 2), 1);
    next_batch(f->ks);
    assert_listpack_is(entry_object(keyspace_lookup(db, "k1", 2)), 2);
    assert_true(is_inside(keyspace_lookup(db, "k1", 2)) ==
                pays(2, 0, listpack_bytes(entry_object(keyspace_lookup(db, "k1", 2)))));
    /* A queued key whose database is flushed before the batch ends. */
    keyspace_object_for_update(db, keyspace_lookup(db, "k4", 2));
    keyspace_flush(db);
    next_batch(f->ks);
    assert_int_equal(keyspace_size(db), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_folded_in_at_next_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_left_apart_when_bigger, setup, teardown),
        cmocka_unit_test_setup_teardown(test_moves_out_for_update_and_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_big_stays_outside, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kept_through_rebuilds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_intsets_too, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overwrite_delete_and_flush, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
