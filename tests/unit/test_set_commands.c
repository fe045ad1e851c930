/* Unit tests for the set command handlers (src/commands/set.c), driven with
 * a hand-built client over a private keyspace. They cover what the compat
 * script cannot compare against Redis 7.0: the listpack encoding of small
 * sets (Redis 7.2's rules) and every conversion between the three encodings,
 * the keyspace events, and properties of the random commands (distinct
 * members, membership, the set left behind by SPOP's two strategies). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "../../src/commands/handlers.h"
#include "../../src/commands/table.h"
#include "rivet/memory.h"
#include "rivet/server.h"

#define NOW_MS 1700000000000LL

static client test_client;
static buffer events;

static void record_event(void *ctx, database *db, const char *key, size_t key_len,
                         const char *event, int type_class)
{
    (void)ctx;
    (void)db;
    (void)type_class;
    buffer_append_cstr(&events, event);
    buffer_append_char(&events, ':');
    buffer_append(&events, key, key_len);
    buffer_append_char(&events, ' ');
}

static int setup(void **state)
{
    (void)state;
    server.keyspace = keyspace_create(16, NOW_MS);
    keyspace_set_time(server.keyspace, NOW_MS);
    set_register_type(server.keyspace);
    keyspace_set_modified_hook(server.keyspace, record_event, NULL);
    server.config.set_max_intset_entries = 512;
    server.config.set_max_listpack_entries = 128;
    server.config.set_max_listpack_value = 64;
    server.random_state = 0x2545F4914F6CDD1DULL;
    memset(&test_client, 0, sizeof(test_client));
    test_client.db = keyspace_database(server.keyspace, 0);
    test_client.reply.protocol = 2;
    buffer_init(&test_client.reply.out);
    buffer_init(&events);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    keyspace_destroy(server.keyspace);
    server.keyspace = NULL;
    buffer_release(&test_client.reply.out);
    buffer_release(&events);
    return 0;
}

static command_handler handler_of(const char *name)
{
    for (const command *row = set_command_rows; row->name; row++)
        if (strcmp(row->name, name) == 0)
            return row->handler;
    fail_msg("no set command %s", name);
    return NULL;
}

/* Runs the command in argv (argv[0] names it) and returns the reply bytes,
 * valid until the next call. */
static const char *run(int argc, const char **argv)
{
    size_t argv_len[1024];
    assert_true(argc <= 1024);
    for (int i = 0; i < argc; i++)
        argv_len[i] = strlen(argv[i]);
    char name[32];
    size_t n = strlen(argv[0]);
    assert_true(n < sizeof(name));
    for (size_t i = 0; i <= n; i++)
        name[i] = (char)(argv[0][i] >= 'A' && argv[0][i] <= 'Z' ? argv[0][i] + 32 : argv[0][i]);
    test_client.argc = argc;
    test_client.argv = argv;
    test_client.argv_len = argv_len;
    buffer_clear(&test_client.reply.out);
    buffer_clear(&events);
    handler_of(name)(&test_client);
    buffer_append_char(&test_client.reply.out, '\0');
    test_client.reply.out.len--;
    test_client.argv = NULL;
    test_client.argv_len = NULL;
    return test_client.reply.out.data;
}

static const char *call(const char *first, ...)
{
    const char *argv[64];
    int argc = 0;
    va_list ap;
    va_start(ap, first);
    for (const char *arg = first; arg != NULL; arg = va_arg(ap, const char *))
        argv[argc++] = arg;
    va_end(ap);
    return run(argc, argv);
}

static const char *recorded_events(void)
{
    return events.data ? events.data : "";
}

static kv_entry *entry_of(const char *key)
{
    return keyspace_lookup_raw(test_client.db, key, strlen(key));
}

static object_encoding encoding_of(const char *key)
{
    kv_entry *e = entry_of(key);
    assert_non_null(e);
    assert_int_equal(entry_type(e), OBJECT_SET);
    return entry_encoding(e);
}

/* SADD key with members prefix0 .. prefix(count-1) (prefix NULL: integers
 * from start). Member texts live in a static pool. */
static const char *sadd_range(const char *key, const char *prefix, int start, int count)
{
    static char pool[1000][80];
    const char *argv[1002];
    argv[0] = "SADD";
    argv[1] = key;
    assert_true(count <= 1000);
    for (int i = 0; i < count; i++) {
        if (prefix)
            snprintf(pool[i], sizeof(pool[i]), "%s%d", prefix, start + i);
        else
            snprintf(pool[i], sizeof(pool[i]), "%d", start + i);
        argv[2 + i] = pool[i];
    }
    return run(2 + count, argv);
}

static int64_t integer_reply(const char *reply)
{
    long long v;
    assert_int_equal(sscanf(reply, ":%lld", &v), 1);
    return v;
}

/* Splits an array reply of bulk strings into a count and checks each
 * element with check(ctx, bytes, len). Returns the element count. */
static size_t each_bulk(const char *reply, void (*check)(void *, const char *, size_t), void *ctx)
{
    long long count;
    assert_true(reply[0] == '*' || reply[0] == '~');
    assert_int_equal(sscanf(reply + 1, "%lld", &count), 1);
    const char *p = strstr(reply, "\r\n") + 2;
    for (long long i = 0; i < count; i++) {
        long long len;
        assert_int_equal(p[0], '$');
        assert_int_equal(sscanf(p + 1, "%lld", &len), 1);
        p = strstr(p, "\r\n") + 2;
        if (check)
            check(ctx, p, (size_t)len);
        p += len + 2;
    }
    assert_int_equal(*p, '\0');
    return (size_t)count;
}

/* ---------- encodings and conversions ---------- */

static void test_small_sets_are_listpack_or_intset(void **state)
{
    (void)state;
    assert_string_equal(call("SADD", "s", "a", "b", "c", NULL), ":3\r\n");
    assert_int_equal(encoding_of("s"), ENCODING_LISTPACK);
    assert_string_equal(recorded_events(), "sadd:s ");
    assert_string_equal(call("SADD", "i", "1", "-2", "3", NULL), ":3\r\n");
    assert_int_equal(encoding_of("i"), ENCODING_INTSET);
    /* A non-integer moves a small intset to listpack, keeping the members. */
    assert_string_equal(call("SADD", "i", "x", NULL), ":1\r\n");
    assert_int_equal(encoding_of("i"), ENCODING_LISTPACK);
    assert_string_equal(call("SCARD", "i", NULL), ":4\r\n");
    assert_string_equal(call("SISMEMBER", "i", "-2", NULL), ":1\r\n");
    assert_string_equal(call("SISMEMBER", "i", "x", NULL), ":1\r\n");
    /* Integers added later stay a listpack: sets never go back. */
    assert_string_equal(call("SREM", "i", "x", NULL), ":1\r\n");
    assert_int_equal(encoding_of("i"), ENCODING_LISTPACK);
    /* A non-canonical integer is a string. */
    assert_string_equal(call("SADD", "j", "007", NULL), ":1\r\n");
    assert_int_equal(encoding_of("j"), ENCODING_LISTPACK);
    assert_string_equal(call("SISMEMBER", "j", "7", NULL), ":0\r\n");
    assert_string_equal(call("SISMEMBER", "j", "007", NULL), ":1\r\n");
}

static void test_listpack_limits(void **state)
{
    (void)state;
    sadd_range("s", "m", 0, 128);
    assert_int_equal(encoding_of("s"), ENCODING_LISTPACK);
    assert_string_equal(call("SADD", "s", "m0", NULL), ":0\r\n");
    assert_int_equal(encoding_of("s"), ENCODING_LISTPACK);
    assert_string_equal(call("SADD", "s", "m128", NULL), ":1\r\n");
    assert_int_equal(encoding_of("s"), ENCODING_HASHTABLE);
    assert_string_equal(call("SCARD", "s", NULL), ":129\r\n");
    assert_string_equal(call("SISMEMBER", "s", "m77", NULL), ":1\r\n");

    /* A member longer than set-max-listpack-value. */
    char long_member[66];
    memset(long_member, 'x', 65);
    long_member[65] = '\0';
    assert_string_equal(call("SADD", "l", "a", NULL), ":1\r\n");
    assert_string_equal(call("SADD", "l", long_member, NULL), ":1\r\n");
    assert_int_equal(encoding_of("l"), ENCODING_HASHTABLE);
    long_member[64] = '\0';
    assert_string_equal(call("SADD", "l2", long_member, NULL), ":1\r\n");
    assert_int_equal(encoding_of("l2"), ENCODING_LISTPACK);
    /* ... and straight into a new key. */
    memset(long_member, 'y', 65);
    assert_string_equal(call("SADD", "l3", long_member, NULL), ":1\r\n");
    assert_int_equal(encoding_of("l3"), ENCODING_HASHTABLE);

    /* Many members in one SADD start out as a hashtable. */
    sadd_range("many", "m", 0, 129);
    assert_int_equal(encoding_of("many"), ENCODING_HASHTABLE);
}

static void test_intset_conversions(void **state)
{
    (void)state;
    sadd_range("i", NULL, 0, 512);
    assert_int_equal(encoding_of("i"), ENCODING_INTSET);
    assert_string_equal(call("SADD", "i", "512", NULL), ":1\r\n");
    assert_int_equal(encoding_of("i"), ENCODING_HASHTABLE);
    assert_string_equal(call("SISMEMBER", "i", "511", NULL), ":1\r\n");

    /* A string into an intset too large for a listpack: straight to hashtable. */
    sadd_range("j", NULL, 0, 200);
    assert_string_equal(call("SADD", "j", "abc", NULL), ":1\r\n");
    assert_int_equal(encoding_of("j"), ENCODING_HASHTABLE);
    assert_string_equal(call("SCARD", "j", NULL), ":201\r\n");
    assert_string_equal(call("SISMEMBER", "j", "199", NULL), ":1\r\n");

    /* Below the listpack size: intset -> listpack. */
    sadd_range("k", NULL, 0, 127);
    assert_string_equal(call("SADD", "k", "abc", NULL), ":1\r\n");
    assert_int_equal(encoding_of("k"), ENCODING_LISTPACK);
    sadd_range("k2", NULL, 0, 128);
    assert_string_equal(call("SADD", "k2", "abc", NULL), ":1\r\n");
    assert_int_equal(encoding_of("k2"), ENCODING_HASHTABLE);

    /* More than set-max-intset-entries integers at once. */
    sadd_range("big", NULL, 0, 513);
    assert_int_equal(encoding_of("big"), ENCODING_HASHTABLE);

    /* Configured thresholds are read at each change. */
    server.config.set_max_intset_entries = 3;
    assert_string_equal(call("SADD", "t", "1", "2", "3", NULL), ":3\r\n");
    assert_int_equal(encoding_of("t"), ENCODING_INTSET);
    assert_string_equal(call("SADD", "t", "4", NULL), ":1\r\n");
    assert_int_equal(encoding_of("t"), ENCODING_HASHTABLE);
    server.config.set_max_intset_entries = 512;
}

static void test_store_results_convert_like_sadd(void **state)
{
    (void)state;
    assert_string_equal(call("SADD", "a", "1", "2", "3", NULL), ":3\r\n");
    assert_string_equal(call("SADD", "b", "x", "y", NULL), ":2\r\n");
    assert_string_equal(call("SUNIONSTORE", "u", "a", NULL), ":3\r\n");
    assert_int_equal(encoding_of("u"), ENCODING_INTSET);
    assert_string_equal(recorded_events(), "sunionstore:u ");
    assert_string_equal(call("SUNIONSTORE", "u", "a", "b", NULL), ":5\r\n");
    assert_int_equal(encoding_of("u"), ENCODING_LISTPACK);
    sadd_range("h", "m", 0, 200);
    assert_string_equal(call("SUNIONSTORE", "u", "h", "a", NULL), ":203\r\n");
    assert_int_equal(encoding_of("u"), ENCODING_HASHTABLE);
    /* The intersection of a hashtable and a small set is small again. */
    assert_string_equal(call("SADD", "small", "m1", "m2", "zz", NULL), ":3\r\n");
    assert_string_equal(call("SINTERSTORE", "d", "h", "small", NULL), ":2\r\n");
    assert_int_equal(encoding_of("d"), ENCODING_LISTPACK);
    assert_string_equal(recorded_events(), "sinterstore:d ");
    assert_string_equal(call("SDIFFSTORE", "d", "a", "b", NULL), ":3\r\n");
    assert_int_equal(encoding_of("d"), ENCODING_INTSET);
    assert_string_equal(recorded_events(), "sdiffstore:d ");
    /* An empty result deletes the destination. */
    assert_string_equal(call("SDIFFSTORE", "d", "a", "a", NULL), ":0\r\n");
    assert_null(entry_of("d"));
    assert_string_equal(recorded_events(), "del:d ");
    assert_string_equal(call("SDIFFSTORE", "d", "a", "a", NULL), ":0\r\n");
    assert_string_equal(recorded_events(), "");
}

/* The same operations on each encoding give the same answers. */
static void test_operations_on_every_encoding(void **state)
{
    (void)state;
    const char *keys[] = {"i", "l", "h"};
    sadd_range("i", NULL, 0, 10);
    sadd_range("l", NULL, 0, 10);
    call("SADD", "l", "str", NULL);
    call("SREM", "l", "str", NULL);
    sadd_range("h", NULL, 0, 10);
    server.config.set_max_intset_entries = 0;
    server.config.set_max_listpack_entries = 0;
    call("SADD", "h", "str", NULL);
    call("SREM", "h", "str", NULL);
    server.config.set_max_intset_entries = 512;
    server.config.set_max_listpack_entries = 128;
    assert_int_equal(encoding_of("i"), ENCODING_INTSET);
    assert_int_equal(encoding_of("l"), ENCODING_LISTPACK);
    assert_int_equal(encoding_of("h"), ENCODING_HASHTABLE);
    for (int k = 0; k < 3; k++) {
        const char *key = keys[k];
        assert_string_equal(call("SCARD", key, NULL), ":10\r\n");
        assert_string_equal(call("SISMEMBER", key, "9", NULL), ":1\r\n");
        assert_string_equal(call("SISMEMBER", key, "10", NULL), ":0\r\n");
        assert_string_equal(call("SISMEMBER", key, "09", NULL), ":0\r\n");
        assert_string_equal(call("SMISMEMBER", key, "0", "x", NULL), "*2\r\n:1\r\n:0\r\n");
        assert_string_equal(call("SINTERCARD", "2", key, "i", NULL), ":10\r\n");
        assert_string_equal(call("SINTERCARD", "2", key, "h", "LIMIT", "4", NULL), ":4\r\n");
        assert_string_equal(call("SDIFF", key, "i", "l", NULL), "*0\r\n");
        assert_int_equal(each_bulk(call("SUNION", key, "i", "l", "h", NULL), NULL, NULL), 10);
        assert_int_equal(each_bulk(call("SMEMBERS", key, NULL), NULL, NULL), 10);
    }
    assert_string_equal(call("SREM", "l", "3", "4", "zz", NULL), ":2\r\n");
    assert_string_equal(call("SREM", "h", "3", NULL), ":1\r\n");
    assert_string_equal(call("SDIFF", "i", "l", "h", NULL), "*1\r\n$1\r\n3\r\n");
    assert_string_equal(call("SINTERCARD", "3", "i", "l", "h", NULL), ":8\r\n");
}

/* ---------- events ---------- */

static void test_events(void **state)
{
    (void)state;
    call("SADD", "s", "a", "b", NULL);
    assert_string_equal(recorded_events(), "sadd:s ");
    call("SADD", "s", "a", NULL);
    assert_string_equal(recorded_events(), "");
    call("SREM", "s", "zz", NULL);
    assert_string_equal(recorded_events(), "");
    call("SREM", "s", "a", NULL);
    assert_string_equal(recorded_events(), "srem:s ");
    call("SREM", "s", "b", NULL);
    assert_string_equal(recorded_events(), "srem:s del:s ");
    assert_null(entry_of("s"));

    call("SADD", "src", "a", NULL);
    assert_string_equal(call("SMOVE", "src", "dst", "a", NULL), ":1\r\n");
    assert_string_equal(recorded_events(), "srem:src del:src sadd:dst ");
    call("SADD", "src", "a", NULL);
    assert_string_equal(call("SMOVE", "src", "dst", "a", NULL), ":1\r\n");
    assert_string_equal(recorded_events(), "srem:src del:src ");

    call("SADD", "p", "a", "b", NULL);
    assert_int_equal(call("SPOP", "p", NULL)[0], '$');
    assert_string_equal(recorded_events(), "spop:p ");
    call("SPOP", "p", NULL);
    assert_string_equal(recorded_events(), "spop:p del:p ");
    call("SADD", "p", "a", "b", "c", NULL);
    call("SPOP", "p", "2", NULL);
    assert_string_equal(recorded_events(), "spop:p ");
    call("SPOP", "p", "5", NULL);
    assert_string_equal(recorded_events(), "del:p ");
    assert_null(entry_of("p"));
}

/* ---------- random commands ---------- */

typedef struct member_check {
    int seen[1000];
    int repeats;
} member_check;

static void note_member(void *ctx, const char *data, size_t len)
{
    member_check *check = ctx;
    char text[16];
    assert_true(len < sizeof(text));
    memcpy(text, data, len);
    text[len] = '\0';
    int value;
    assert_int_equal(sscanf(text, "%d", &value), 1);
    assert_true(value >= 0 && value < 1000);
    if (check->seen[value]++)
        check->repeats++;
}

static void check_srandmember(const char *key, int size)
{
    static const char *counts[] = {"1", "5", "30", "99", "100", "150", "1000"};
    for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
        member_check check;
        memset(&check, 0, sizeof(check));
        int asked;
        sscanf(counts[i], "%d", &asked);
        size_t got = each_bulk(call("SRANDMEMBER", key, counts[i], NULL), note_member, &check);
        assert_int_equal(got, asked < size ? asked : size);
        assert_int_equal(check.repeats, 0);
        for (int v = size; v < 1000; v++)
            assert_int_equal(check.seen[v], 0);
    }
    member_check check;
    memset(&check, 0, sizeof(check));
    assert_int_equal(each_bulk(call("SRANDMEMBER", key, "-500", NULL), note_member, &check), 500);
    for (int v = size; v < 1000; v++)
        assert_int_equal(check.seen[v], 0);
    assert_true(check.repeats > 0);
}

static void test_srandmember_distinct_on_every_encoding(void **state)
{
    (void)state;
    sadd_range("i", NULL, 0, 100);
    assert_int_equal(encoding_of("i"), ENCODING_INTSET);
    check_srandmember("i", 100);
    sadd_range("l", NULL, 0, 100);
    call("SADD", "l", "x", NULL);
    call("SREM", "l", "x", NULL);
    assert_int_equal(encoding_of("l"), ENCODING_LISTPACK);
    check_srandmember("l", 100);
    sadd_range("h", NULL, 0, 600);
    assert_int_equal(encoding_of("h"), ENCODING_HASHTABLE);
    check_srandmember("h", 600);
    assert_string_equal(call("SCARD", "h", NULL), ":600\r\n");
}

/* Pops every member in steps that take each of SPOP's paths (a few members
 * one at a time, nothing, most of the set by moving the few that stay, the
 * whole rest) and checks that each member comes out exactly once and that
 * the encoding never changes on the way. */
static void drain_with_spop(const char *key, int size, object_encoding encoding)
{
    member_check check;
    memset(&check, 0, sizeof(check));
    int left = size;
    for (int step = 0; left > 0; step++) {
        int asked = step % 4 == 0 ? 3 : step % 4 == 1 ? 0 : step % 4 == 2 ? left - left / 8 : 1;
        char count[16];
        snprintf(count, sizeof(count), "%d", asked);
        size_t got = each_bulk(call("SPOP", key, count, NULL), note_member, &check);
        assert_int_equal(got, asked < left ? asked : left);
        left -= (int)got;
        if (left > 0) {
            assert_int_equal(integer_reply(call("SCARD", key, NULL)), left);
            assert_int_equal(encoding_of(key), encoding);
        }
    }
    assert_null(entry_of(key));
    assert_int_equal(check.repeats, 0);
    for (int v = 0; v < size; v++)
        assert_int_equal(check.seen[v], 1);
}

static void test_spop_counts_on_every_encoding(void **state)
{
    (void)state;
    sadd_range("i", NULL, 0, 300);
    drain_with_spop("i", 300, ENCODING_INTSET);
    sadd_range("l", NULL, 0, 100);
    call("SADD", "l", "x", NULL);
    call("SREM", "l", "x", NULL);
    drain_with_spop("l", 100, ENCODING_LISTPACK);
    sadd_range("h", NULL, 0, 900);
    drain_with_spop("h", 900, ENCODING_HASHTABLE);
}

static void test_spop_single_until_empty(void **state)
{
    (void)state;
    sadd_range("h", NULL, 0, 200);
    call("SADD", "h", "x", NULL);
    member_check check;
    memset(&check, 0, sizeof(check));
    for (int i = 0; i < 200; i++) {
        const char *reply = call("SPOP", "h", NULL);
        if (strcmp(reply, "$1\r\nx\r\n") == 0)
            continue;
        long long len;
        assert_int_equal(sscanf(reply, "$%lld", &len), 1);
        note_member(&check, strstr(reply, "\r\n") + 2, (size_t)len);
    }
    assert_string_equal(call("SCARD", "h", NULL), ":1\r\n");
    call("SPOP", "h", NULL);
    assert_null(entry_of("h"));
    assert_string_equal(call("SPOP", "h", NULL), "$-1\r\n");
    assert_int_equal(check.repeats, 0);
}

/* ---------- SSCAN over a hashtable ---------- */

static void test_sscan_hashtable_walk(void **state)
{
    (void)state;
    sadd_range("h", NULL, 0, 700);
    member_check check;
    memset(&check, 0, sizeof(check));
    char cursor[32] = "0";
    int calls = 0;
    do {
        const char *reply = call("SSCAN", "h", cursor, "COUNT", "20", NULL);
        long long cursor_len;
        assert_int_equal(strncmp(reply, "*2\r\n$", 5), 0);
        assert_int_equal(sscanf(reply + 5, "%lld", &cursor_len), 1);
        const char *p = strstr(reply + 4, "\r\n") + 2;
        memcpy(cursor, p, (size_t)cursor_len);
        cursor[cursor_len] = '\0';
        each_bulk(p + cursor_len + 2, note_member, &check);
        calls++;
    } while (strcmp(cursor, "0") != 0);
    assert_true(calls > 10);
    for (int v = 0; v < 700; v++)
        assert_int_equal(check.seen[v], 1); /* no resize during the walk: once each */
}

static void test_copy_value(void **state)
{
    (void)state;
    sadd_range("h", "m", 0, 200);
    call("SADD", "l", "a", "b", NULL);
    call("SADD", "i", "1", "2", NULL);
    const char *keys[] = {"h", "l", "i"};
    for (int k = 0; k < 3; k++) {
        char copy_name[8];
        snprintf(copy_name, sizeof(copy_name), "%s2", keys[k]);
        kv_entry *e = entry_of(keys[k]);
        keyspace_copy(test_client.db, e, test_client.db, copy_name, strlen(copy_name));
        assert_int_equal(encoding_of(copy_name), encoding_of(keys[k]));
        assert_string_equal(call("SDIFF", keys[k], copy_name, NULL), "*0\r\n");
        assert_string_equal(call("SDIFF", copy_name, keys[k], NULL), "*0\r\n");
    }
    call("SREM", "h2", "m5", NULL);
    assert_string_equal(call("SISMEMBER", "h", "m5", NULL), ":1\r\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_small_sets_are_listpack_or_intset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listpack_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_intset_conversions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_results_convert_like_sadd, setup, teardown),
        cmocka_unit_test_setup_teardown(test_operations_on_every_encoding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_srandmember_distinct_on_every_encoding, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_spop_counts_on_every_encoding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spop_single_until_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sscan_hashtable_walk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_value, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
