/* Tests for the keyspace's field timer (keyspace_set_field_deadline): the
 * second, optional timer an entry carries for deadlines inside its value
 * (hash field TTLs). It must survive every way an entry is rebuilt (key TTL
 * added or removed, RENAME/MOVE, COPY), fire the type's expire_fields hook
 * through active expiry when due (and not before), and vanish with the key. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "rivet/keyspace.h"
#include "rivet/memory.h"

#define START_MS 1000000

/* What the test type's expire_fields hook saw, and what it does next. */
static struct {
    int calls;
    char key[32];
    int db;
    int64_t reschedule; /* >= 0: re-arm there; -1: drop the timer; -2: delete the key */
} hook;

static void value_free(void *ptr, object_encoding encoding)
{
    (void)encoding;
    mem_free(ptr);
}

static void *value_copy(const void *ptr, object_encoding encoding)
{
    (void)encoding;
    void *copy = mem_alloc(8);
    memcpy(copy, ptr, 8);
    return copy;
}

static size_t value_expire_fields(database *db, kv_entry *entry, int64_t now_ms, size_t budget)
{
    (void)now_ms;
    (void)budget;
    size_t len;
    const char *key = entry_key(entry, &len);
    hook.calls++;
    hook.db = database_id(db);
    memcpy(hook.key, key, len);
    hook.key[len] = '\0';
    if (hook.reschedule == -2)
        keyspace_delete(db, hook.key, len);
    else
        keyspace_set_field_deadline(db, entry, hook.reschedule);
    return 1;
}

static const object_methods test_methods = {
    .free_value = value_free,
    .copy_value = value_copy,
    .expire_fields = value_expire_fields,
};

static int setup(void **state)
{
    keyspace *ks = keyspace_create(2, START_MS);
    keyspace_register_type(ks, OBJECT_HASH, &test_methods);
    memset(&hook, 0, sizeof(hook));
    hook.reschedule = -1;
    *state = ks;
    return 0;
}

static int teardown(void **state)
{
    keyspace_destroy(*state);
    return 0;
}

static kv_entry *add_value(database *db, const char *key)
{
    void *value = mem_calloc(8);
    return keyspace_set_object(db, key, strlen(key), OBJECT_HASH, ENCODING_HASHTABLE_TTL, value, 0);
}

static size_t run_expiry(keyspace *ks, int64_t now)
{
    keyspace_set_time(ks, now);
    return keyspace_active_expire(ks, 1000);
}

static void test_fires_when_due_and_not_before(void **state)
{
    keyspace *ks = *state;
    database *db = keyspace_database(ks, 0);
    kv_entry *e = add_value(db, "k");
    assert_int_equal(entry_field_deadline(e), -1);
    e = keyspace_set_field_deadline(db, e, START_MS + 500);
    assert_int_equal(entry_field_deadline(e), START_MS + 500);
    assert_int_equal(entry_expire(e), -1);
    /* Due only once now > deadline, as keys. */
    run_expiry(ks, START_MS + 500);
    assert_int_equal(hook.calls, 0);
    hook.reschedule = START_MS + 900;
    run_expiry(ks, START_MS + 501);
    assert_int_equal(hook.calls, 1);
    assert_string_equal(hook.key, "k");
    e = keyspace_lookup_raw(db, "k", 1);
    assert_int_equal(entry_field_deadline(e), START_MS + 900);
    /* Dropping the timer: nothing fires any more, the key stays. */
    hook.reschedule = -1;
    run_expiry(ks, START_MS + 1000);
    assert_int_equal(hook.calls, 2);
    e = keyspace_lookup_raw(db, "k", 1);
    assert_int_equal(entry_field_deadline(e), -1);
    run_expiry(ks, START_MS + 5000);
    assert_int_equal(hook.calls, 2);
    assert_int_equal(keyspace_size(db), 1);
}

static void test_survives_key_ttl_changes(void **state)
{
    keyspace *ks = *state;
    database *db = keyspace_database(ks, 0);
    kv_entry *e = add_value(db, "k");
    e = keyspace_set_field_deadline(db, e, START_MS + 300);
    e = keyspace_set_expire(db, e, START_MS + 10000);
    assert_int_equal(entry_field_deadline(e), START_MS + 300);
    assert_int_equal(entry_expire(e), START_MS + 10000);
    e = keyspace_set_expire(db, e, -1);
    assert_int_equal(entry_field_deadline(e), START_MS + 300);
    assert_int_equal(entry_expire(e), -1);
    /* The key timer added after the field timer works as usual. */
    e = keyspace_set_expire(db, e, START_MS + 200);
    hook.reschedule = START_MS + 600;
    run_expiry(ks, START_MS + 250);
    assert_int_equal(keyspace_size(db), 0);
    /* The key expired first: its field timer went with it. */
    run_expiry(ks, START_MS + 1000);
    assert_int_equal(hook.calls, 0);
    /* And removing the field timer keeps the key's TTL. */
    e = add_value(db, "j");
    e = keyspace_set_field_deadline(db, e, START_MS + 2000);
    e = keyspace_set_expire(db, e, START_MS + 3000);
    e = keyspace_set_field_deadline(db, e, -1);
    assert_int_equal(entry_expire(e), START_MS + 3000);
    assert_int_equal(entry_field_deadline(e), -1);
    run_expiry(ks, START_MS + 2500);
    assert_int_equal(hook.calls, 0);
    assert_int_equal(keyspace_size(db), 1);
}

static void test_follows_move_and_copy(void **state)
{
    keyspace *ks = *state;
    database *db0 = keyspace_database(ks, 0);
    database *db1 = keyspace_database(ks, 1);
    kv_entry *e = add_value(db0, "src");
    e = keyspace_set_field_deadline(db0, e, START_MS + 100);
    kv_entry *copy = keyspace_copy(db0, e, db0, "copy", 4);
    assert_int_equal(entry_field_deadline(copy), START_MS + 100);
    kv_entry *moved = keyspace_move(db0, "src", 3, db1, "dst", 3);
    assert_non_null(moved);
    assert_int_equal(entry_field_deadline(moved), START_MS + 100);
    /* Both fire, each in its own database under its own name. */
    hook.reschedule = -2;
    run_expiry(ks, START_MS + 200);
    assert_int_equal(hook.calls, 2);
    assert_int_equal(keyspace_size(db0), 0);
    assert_int_equal(keyspace_size(db1), 0);
}

static void test_gone_with_the_key(void **state)
{
    keyspace *ks = *state;
    database *db = keyspace_database(ks, 0);
    kv_entry *e = add_value(db, "a");
    keyspace_set_field_deadline(db, e, START_MS + 100);
    assert_int_equal(keyspace_delete(db, "a", 1), 1);
    e = add_value(db, "b");
    keyspace_set_field_deadline(db, e, START_MS + 100);
    /* Overwriting the value drops the old value's timer. */
    add_value(db, "b");
    e = add_value(db, "c");
    keyspace_set_field_deadline(db, e, START_MS + 100);
    keyspace_flush(db);
    run_expiry(ks, START_MS + 1000);
    assert_int_equal(hook.calls, 0);
    assert_int_equal(keyspace_size(db), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fires_when_due_and_not_before, setup, teardown),
        cmocka_unit_test_setup_teardown(test_survives_key_ttl_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_follows_move_and_copy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gone_with_the_key, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
