/* Unit tests for the string command handlers (src/commands/string.c). Each
 * test drives a handler with a hand-built client over a private keyspace and
 * checks the exact reply bytes, the stored value and TTL, and the keyspace
 * events announced. A stand-in "list" type provides wrong-type keys, which the
 * compat scripts cannot create until the list commands exist. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "../../src/commands/handlers.h"
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

static void free_fake_list(void *ptr, object_encoding encoding)
{
    (void)encoding;
    mem_free(ptr);
}

static int setup(void **state)
{
    (void)state;
    server.keyspace = keyspace_create(16, NOW_MS);
    keyspace_set_time(server.keyspace, NOW_MS);
    static const object_methods list_methods = {.free_value = free_fake_list};
    keyspace_register_type(server.keyspace, OBJECT_LIST, &list_methods);
    keyspace_set_modified_hook(server.keyspace, record_event, NULL);
    server.config.proto_max_bulk_len = 512 * 1024 * 1024;
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

/* Runs handler with the NULL-terminated argument list and returns the reply
 * bytes (valid until the next call). Binary-free arguments only. */
static const char *call(command_handler handler, ...)
{
    const char *argv[32];
    size_t argv_len[32];
    int argc = 0;
    va_list ap;
    va_start(ap, handler);
    const char *arg;
    while ((arg = va_arg(ap, const char *)) != NULL) {
        argv[argc] = arg;
        argv_len[argc] = strlen(arg);
        argc++;
    }
    va_end(ap);
    test_client.argc = argc;
    test_client.argv = argv;
    test_client.argv_len = argv_len;
    buffer_clear(&test_client.reply.out);
    buffer_clear(&events);
    handler(&test_client);
    test_client.argv = NULL;
    test_client.argv_len = NULL;
    return test_client.reply.out.data ? test_client.reply.out.data : "";
}

static const char *recorded_events(void)
{
    return events.data ? events.data : "";
}

static kv_entry *entry_of(const char *key)
{
    return keyspace_lookup_raw(test_client.db, key, strlen(key));
}

static void make_list(const char *key)
{
    keyspace_set_object(test_client.db, key, strlen(key), OBJECT_LIST, ENCODING_QUICKLIST,
                        mem_alloc(16), 0);
}

static void advance_clock(int64_t ms)
{
    keyspace_set_time(server.keyspace, keyspace_time(server.keyspace) + ms);
}

/* ---------- GET / SET ---------- */

static void test_get_set_basics(void **state)
{
    (void)state;
    assert_string_equal(call(command_get, "GET", "k", NULL), "$-1\r\n");
    assert_string_equal(call(command_set, "SET", "k", "hello", NULL), "+OK\r\n");
    assert_string_equal(recorded_events(), "set:k ");
    assert_string_equal(call(command_get, "GET", "k", NULL), "$5\r\nhello\r\n");
    assert_string_equal(call(command_set, "SET", "k", "123", NULL), "+OK\r\n");
    assert_int_equal(entry_encoding(entry_of("k")), ENCODING_INT);
    assert_string_equal(call(command_get, "GET", "k", NULL), "$3\r\n123\r\n");

    make_list("l");
    assert_string_equal(call(command_get, "GET", "l", NULL), "-" ERR_WRONGTYPE "\r\n");
    /* Plain SET replaces a key of any type. */
    assert_string_equal(call(command_set, "SET", "l", "v", NULL), "+OK\r\n");
    assert_int_equal(entry_type(entry_of("l")), OBJECT_STRING);
}

static void test_set_nx_xx_get(void **state)
{
    (void)state;
    assert_string_equal(call(command_set, "SET", "k", "v", "XX", NULL), "$-1\r\n");
    assert_null(entry_of("k"));
    assert_string_equal(call(command_set, "SET", "k", "v", "nx", NULL), "+OK\r\n");
    assert_string_equal(call(command_set, "SET", "k", "w", "NX", NULL), "$-1\r\n");
    assert_string_equal(recorded_events(), "");
    assert_string_equal(call(command_set, "SET", "k", "w", "NX", "GET", NULL), "$1\r\nv\r\n");
    assert_string_equal(call(command_set, "SET", "k", "x", "XX", "GET", NULL), "$1\r\nv\r\n");
    assert_string_equal(call(command_get, "GET", "k", NULL), "$1\r\nx\r\n");
    assert_string_equal(call(command_set, "SET", "new", "1", "GET", NULL), "$-1\r\n");
    assert_string_equal(call(command_get, "GET", "new", NULL), "$1\r\n1\r\n");

    make_list("l");
    assert_string_equal(call(command_set, "SET", "l", "v", "GET", NULL), "-" ERR_WRONGTYPE "\r\n");
    assert_string_equal(call(command_set, "SET", "l", "v", "NX", "GET", NULL),
                        "-" ERR_WRONGTYPE "\r\n");
    assert_int_equal(entry_type(entry_of("l")), OBJECT_LIST);
    assert_string_equal(recorded_events(), "");
    assert_string_equal(call(command_setnx, "SETNX", "l", "v", NULL), ":0\r\n");
    assert_string_equal(call(command_setnx, "SETNX", "n", "v", NULL), ":1\r\n");
}

static void test_set_option_errors(void **state)
{
    (void)state;
    const char *syntax = "-ERR syntax error\r\n";
    assert_string_equal(call(command_set, "SET", "k", "v", "NX", "XX", NULL), syntax);
    assert_string_equal(call(command_set, "SET", "k", "v", "EX", "1", "PX", "1", NULL), syntax);
    assert_string_equal(call(command_set, "SET", "k", "v", "EX", NULL), syntax);
    assert_string_equal(call(command_set, "SET", "k", "v", "KEEPTTL", "EX", "5", NULL), syntax);
    assert_string_equal(call(command_set, "SET", "k", "v", "EX", "5", "KEEPTTL", NULL), syntax);
    assert_string_equal(call(command_set, "SET", "k", "v", "PERSIST", NULL), syntax);
    assert_string_equal(call(command_set, "SET", "k", "v", "FOO", NULL), syntax);
    /* Syntax is judged before the expire value. */
    assert_string_equal(call(command_set, "SET", "k", "v", "EX", "0", "NX", "XX", NULL), syntax);
    assert_null(entry_of("k"));

    const char *invalid = "-ERR invalid expire time in 'set' command\r\n";
    assert_string_equal(call(command_set, "SET", "k", "v", "EX", "0", NULL), invalid);
    assert_string_equal(call(command_set, "SET", "k", "v", "PX", "-1", NULL), invalid);
    assert_string_equal(call(command_set, "SET", "k", "v", "EX", "9223372036854776", NULL),
                        invalid);
    assert_string_equal(call(command_set, "SET", "k", "v", "EX", "9223372036854775", NULL),
                        invalid); /* fits as ms, overflows when now is added */
    assert_string_equal(call(command_set, "SET", "k", "v", "EX", "abc", NULL),
                        "-" ERR_NOT_INTEGER "\r\n");
    assert_null(entry_of("k"));
    /* The same option twice is allowed; the last value wins. */
    assert_string_equal(call(command_set, "SET", "k", "v", "EX", "10", "EX", "20", NULL),
                        "+OK\r\n");
    assert_int_equal(entry_expire(entry_of("k")), NOW_MS + 20000);
    assert_string_equal(call(command_set, "SET", "k", "v", "EXAT", "9223372036854775", NULL),
                        "+OK\r\n");
    assert_int_equal(entry_expire(entry_of("k")), 9223372036854775000LL);
}

static void test_set_ttl_handling(void **state)
{
    (void)state;
    assert_string_equal(call(command_set, "SET", "k", "v", "EX", "100", NULL), "+OK\r\n");
    assert_string_equal(recorded_events(), "set:k expire:k ");
    assert_int_equal(entry_expire(entry_of("k")), NOW_MS + 100000);
    call(command_set, "SET", "k", "w", "PX", "500", NULL);
    assert_int_equal(entry_expire(entry_of("k")), NOW_MS + 500);
    call(command_set, "SET", "k", "x", "KEEPTTL", NULL);
    assert_int_equal(entry_expire(entry_of("k")), NOW_MS + 500);
    call(command_set, "SET", "k", "y", NULL);
    assert_int_equal(entry_expire(entry_of("k")), -1);
    call(command_set, "SET", "k", "z", "PXAT", "1700000001234", NULL);
    assert_int_equal(entry_expire(entry_of("k")), 1700000001234LL);
    call(command_set, "SET", "k", "z", "EXAT", "1700000005", NULL);
    assert_int_equal(entry_expire(entry_of("k")), 1700000005000LL);

    /* A past absolute deadline is stored; the key is gone on next access. */
    assert_string_equal(call(command_set, "SET", "p", "v", "PXAT", "1", NULL), "+OK\r\n");
    assert_non_null(entry_of("p"));
    assert_string_equal(call(command_get, "GET", "p", NULL), "$-1\r\n");
    assert_null(entry_of("p"));

    /* SETEX / PSETEX name themselves in their errors. */
    assert_string_equal(call(command_setex, "SETEX", "k", "0", "v", NULL),
                        "-ERR invalid expire time in 'setex' command\r\n");
    assert_string_equal(call(command_psetex, "PSETEX", "k", "-5", "v", NULL),
                        "-ERR invalid expire time in 'psetex' command\r\n");
    assert_string_equal(call(command_setex, "SETEX", "k", "x", "v", NULL),
                        "-" ERR_NOT_INTEGER "\r\n");
    assert_string_equal(call(command_setex, "SETEX", "s", "10", "v", NULL), "+OK\r\n");
    assert_int_equal(entry_expire(entry_of("s")), NOW_MS + 10000);
    assert_string_equal(call(command_psetex, "PSETEX", "s", "10", "v", NULL), "+OK\r\n");
    assert_int_equal(entry_expire(entry_of("s")), NOW_MS + 10);
    advance_clock(11);
    assert_string_equal(call(command_get, "GET", "s", NULL), "$-1\r\n");
}

static void test_getset_getdel_mget(void **state)
{
    (void)state;
    call(command_set, "SET", "k", "v", "EX", "100", NULL);
    assert_string_equal(call(command_getset, "GETSET", "k", "w", NULL), "$1\r\nv\r\n");
    assert_int_equal(entry_expire(entry_of("k")), -1);
    assert_string_equal(call(command_getset, "GETSET", "n", "1", NULL), "$-1\r\n");
    make_list("l");
    assert_string_equal(call(command_getset, "GETSET", "l", "1", NULL), "-" ERR_WRONGTYPE "\r\n");

    assert_string_equal(call(command_mget, "MGET", "k", "l", "missing", "n", NULL),
                        "*4\r\n$1\r\nw\r\n$-1\r\n$-1\r\n$1\r\n1\r\n");

    assert_string_equal(call(command_getdel, "GETDEL", "l", NULL), "-" ERR_WRONGTYPE "\r\n");
    assert_string_equal(call(command_getdel, "GETDEL", "k", NULL), "$1\r\nw\r\n");
    assert_string_equal(recorded_events(), "del:k ");
    assert_null(entry_of("k"));
    assert_string_equal(call(command_getdel, "GETDEL", "k", NULL), "$-1\r\n");
}

static void test_mset_msetnx(void **state)
{
    (void)state;
    assert_string_equal(call(command_mset, "MSET", "a", "1", "b", NULL),
                        "-ERR wrong number of arguments for 'mset' command\r\n");
    assert_string_equal(call(command_msetnx, "MSETNX", "a", "1", "b", NULL),
                        "-ERR wrong number of arguments for 'msetnx' command\r\n");
    call(command_set, "SET", "a", "0", "EX", "10", NULL);
    assert_string_equal(call(command_mset, "MSET", "a", "1", "b", "2", NULL), "+OK\r\n");
    assert_string_equal(recorded_events(), "set:a set:b ");
    assert_int_equal(entry_expire(entry_of("a")), -1);
    assert_string_equal(call(command_msetnx, "MSETNX", "c", "3", "a", "9", NULL), ":0\r\n");
    assert_null(entry_of("c"));
    assert_string_equal(call(command_msetnx, "MSETNX", "c", "3", "d", "4", NULL), ":1\r\n");
    assert_string_equal(call(command_mget, "MGET", "a", "c", "d", NULL),
                        "*3\r\n$1\r\n1\r\n$1\r\n3\r\n$1\r\n4\r\n");
}

/* ---------- GETEX ---------- */

static void test_getex(void **state)
{
    (void)state;
    assert_string_equal(call(command_getex, "GETEX", "missing", "EX", "0", NULL), "$-1\r\n");
    assert_string_equal(call(command_getex, "GETEX", "missing", "FOO", NULL),
                        "-ERR syntax error\r\n");
    make_list("l");
    assert_string_equal(call(command_getex, "GETEX", "l", "EX", "-1", NULL),
                        "-" ERR_WRONGTYPE "\r\n");

    call(command_set, "SET", "k", "v", NULL);
    assert_string_equal(call(command_getex, "GETEX", "k", "EX", "0", NULL),
                        "-ERR invalid expire time in 'getex' command\r\n");
    assert_string_equal(call(command_getex, "GETEX", "k", "PERSIST", "EX", "3", NULL),
                        "-ERR syntax error\r\n");
    assert_string_equal(call(command_getex, "GETEX", "k", "KEEPTTL", NULL),
                        "-ERR syntax error\r\n");
    assert_string_equal(call(command_getex, "GETEX", "k", NULL), "$1\r\nv\r\n");
    assert_string_equal(recorded_events(), "");

    assert_string_equal(call(command_getex, "GETEX", "k", "EX", "100", NULL), "$1\r\nv\r\n");
    assert_string_equal(recorded_events(), "expire:k ");
    assert_int_equal(entry_expire(entry_of("k")), NOW_MS + 100000);
    assert_string_equal(call(command_getex, "GETEX", "k", "PERSIST", NULL), "$1\r\nv\r\n");
    assert_string_equal(recorded_events(), "persist:k ");
    assert_int_equal(entry_expire(entry_of("k")), -1);
    /* PERSIST on a key without a TTL changes nothing and announces nothing. */
    assert_string_equal(call(command_getex, "GETEX", "k", "PERSIST", NULL), "$1\r\nv\r\n");
    assert_string_equal(recorded_events(), "");

    /* An absolute deadline already reached deletes the key at once. */
    assert_string_equal(call(command_getex, "GETEX", "k", "PXAT", "1700000000000", NULL),
                        "$1\r\nv\r\n");
    assert_string_equal(recorded_events(), "del:k ");
    assert_null(entry_of("k"));
}

/* ---------- APPEND / STRLEN / GETRANGE / SETRANGE ---------- */

static void test_append_strlen(void **state)
{
    (void)state;
    assert_string_equal(call(command_append, "APPEND", "k", "12", NULL), ":2\r\n");
    assert_int_equal(entry_encoding(entry_of("k")), ENCODING_INT);
    assert_string_equal(recorded_events(), "append:k ");
    call(command_set, "SET", "t", "x", "EX", "50", NULL);
    assert_string_equal(call(command_append, "APPEND", "t", "yz", NULL), ":3\r\n");
    assert_int_equal(entry_encoding(entry_of("t")), ENCODING_RAW);
    assert_int_equal(entry_expire(entry_of("t")), NOW_MS + 50000);
    assert_string_equal(call(command_get, "GET", "t", NULL), "$3\r\nxyz\r\n");
    assert_string_equal(call(command_append, "APPEND", "e", "", NULL), ":0\r\n");
    assert_non_null(entry_of("e"));
    assert_string_equal(call(command_strlen, "STRLEN", "t", NULL), ":3\r\n");
    assert_string_equal(call(command_strlen, "STRLEN", "missing", NULL), ":0\r\n");
    call(command_set, "SET", "i", "-12345", NULL);
    assert_string_equal(call(command_strlen, "STRLEN", "i", NULL), ":6\r\n");

    make_list("l");
    assert_string_equal(call(command_append, "APPEND", "l", "x", NULL), "-" ERR_WRONGTYPE "\r\n");
    assert_string_equal(call(command_strlen, "STRLEN", "l", NULL), "-" ERR_WRONGTYPE "\r\n");

    server.config.proto_max_bulk_len = 4;
    assert_string_equal(call(command_append, "APPEND", "t", "ab", NULL),
                        "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n");
    assert_string_equal(call(command_append, "APPEND", "t", "a", NULL), ":4\r\n");
}

static void test_getrange(void **state)
{
    (void)state;
    call(command_set, "SET", "s", "hello", NULL);
    static const struct {
        const char *start, *end, *reply;
    } cases[] = {
        {"0", "-1", "$5\r\nhello\r\n"},
        {"0", "-100", "$1\r\nh\r\n"}, /* Redis 7.0 clamps end to 0 */
        {"1", "-100", "$0\r\n\r\n"},
        {"-100", "-200", "$0\r\n\r\n"},
        {"-1", "-2", "$0\r\n\r\n"},
        {"-3", "-1", "$3\r\nllo\r\n"},
        {"2", "100", "$3\r\nllo\r\n"},
        {"5", "10", "$0\r\n\r\n"},
        {"3", "1", "$0\r\n\r\n"},
        {"-9223372036854775808", "9223372036854775807", "$5\r\nhello\r\n"},
        {"9223372036854775807", "-9223372036854775808", "$0\r\n\r\n"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_string_equal(
            call(command_getrange, "GETRANGE", "s", cases[i].start, cases[i].end, NULL),
            cases[i].reply);
    call(command_set, "SET", "i", "12345", NULL);
    assert_string_equal(call(command_getrange, "GETRANGE", "i", "1", "-2", NULL), "$3\r\n234\r\n");
    call(command_set, "SET", "e", "", NULL);
    assert_string_equal(call(command_getrange, "GETRANGE", "e", "0", "-1", NULL), "$0\r\n\r\n");
    assert_string_equal(call(command_getrange, "GETRANGE", "missing", "0", "1", NULL),
                        "$0\r\n\r\n");
    make_list("l");
    assert_string_equal(call(command_getrange, "GETRANGE", "l", "0", "1", NULL),
                        "-" ERR_WRONGTYPE "\r\n");
    /* Bad indexes are reported before the key is looked at. */
    assert_string_equal(call(command_getrange, "GETRANGE", "l", "a", "1", NULL),
                        "-" ERR_NOT_INTEGER "\r\n");
}

static void test_setrange(void **state)
{
    (void)state;
    assert_string_equal(call(command_setrange, "SETRANGE", "n", "-1", "x", NULL),
                        "-ERR offset is out of range\r\n");
    assert_string_equal(call(command_setrange, "SETRANGE", "n", "a", "x", NULL),
                        "-" ERR_NOT_INTEGER "\r\n");
    assert_string_equal(call(command_setrange, "SETRANGE", "n", "5", "", NULL), ":0\r\n");
    assert_null(entry_of("n"));
    assert_string_equal(recorded_events(), "");

    assert_string_equal(call(command_setrange, "SETRANGE", "n", "3", "ab", NULL), ":5\r\n");
    assert_string_equal(recorded_events(), "setrange:n ");
    assert_int_equal(entry_encoding(entry_of("n")), ENCODING_RAW);
    const char *reply = call(command_get, "GET", "n", NULL);
    assert_memory_equal(reply, "$5\r\n\0\0\0ab\r\n", 11);

    call(command_set, "SET", "s", "hello", "EX", "100", NULL);
    assert_string_equal(call(command_setrange, "SETRANGE", "s", "0", "", NULL), ":5\r\n");
    assert_int_equal(entry_encoding(entry_of("s")), ENCODING_EMBSTR);
    assert_string_equal(call(command_setrange, "SETRANGE", "s", "1", "EY", NULL), ":5\r\n");
    assert_string_equal(call(command_setrange, "SETRANGE", "s", "7", "Z", NULL), ":8\r\n");
    reply = call(command_get, "GET", "s", NULL);
    assert_memory_equal(reply, "$8\r\nhEYlo\0\0Z\r\n", 14);
    assert_int_equal(entry_expire(entry_of("s")), NOW_MS + 100000);

    call(command_set, "SET", "i", "123", NULL);
    assert_string_equal(call(command_setrange, "SETRANGE", "i", "1", "9", NULL), ":3\r\n");
    assert_string_equal(call(command_get, "GET", "i", NULL), "$3\r\n193\r\n");

    make_list("l");
    assert_string_equal(call(command_setrange, "SETRANGE", "l", "0", "", NULL),
                        "-" ERR_WRONGTYPE "\r\n");
    assert_string_equal(call(command_setrange, "SETRANGE", "l", "-1", "x", NULL),
                        "-ERR offset is out of range\r\n");

    const char *too_long = "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n";
    server.config.proto_max_bulk_len = 10;
    assert_string_equal(call(command_setrange, "SETRANGE", "s", "10", "x", NULL), too_long);
    assert_string_equal(call(command_setrange, "SETRANGE", "s", "9", "x", NULL), ":10\r\n");
    assert_string_equal(call(command_setrange, "SETRANGE", "t", "9223372036854775807", "x", NULL),
                        too_long);
    assert_string_equal(call(command_setrange, "SETRANGE", "t", "100", "", NULL), ":0\r\n");
}

/* ---------- counters ---------- */

static void test_incr_family(void **state)
{
    (void)state;
    assert_string_equal(call(command_incr, "INCR", "c", NULL), ":1\r\n");
    assert_string_equal(recorded_events(), "incrby:c ");
    call(command_set, "SET", "c", "10", "EX", "100", NULL);
    kv_entry *before = entry_of("c");
    assert_string_equal(call(command_incrby, "INCRBY", "c", "5", NULL), ":15\r\n");
    assert_string_equal(call(command_decr, "DECR", "c", NULL), ":14\r\n");
    assert_string_equal(call(command_decrby, "DECRBY", "c", "20", NULL), ":-6\r\n");
    /* The int-encoded value changed in place, TTL intact. */
    assert_ptr_equal(entry_of("c"), before);
    assert_int_equal(entry_expire(before), NOW_MS + 100000);
    assert_string_equal(call(command_get, "GET", "c", NULL), "$2\r\n-6\r\n");

    call(command_set, "SET", "m", "9223372036854775807", NULL);
    assert_string_equal(call(command_incr, "INCR", "m", NULL), "-" ERR_OVERFLOW "\r\n");
    call(command_set, "SET", "m", "-9223372036854775808", NULL);
    assert_string_equal(call(command_decr, "DECR", "m", NULL), "-" ERR_OVERFLOW "\r\n");
    assert_string_equal(call(command_incrby, "INCRBY", "m", "-1", NULL), "-" ERR_OVERFLOW "\r\n");
    assert_string_equal(call(command_incrby, "INCRBY", "m", "9223372036854775807", NULL),
                        ":-1\r\n");
    assert_string_equal(call(command_decrby, "DECRBY", "m", "-9223372036854775808", NULL),
                        "-ERR decrement would overflow\r\n");

    static const char *const not_integers[] = {" 1", "01", "1.5", "+1", "-0", "", "abc"};
    for (size_t i = 0; i < sizeof(not_integers) / sizeof(not_integers[0]); i++) {
        call(command_set, "SET", "s", not_integers[i], NULL);
        assert_string_equal(call(command_incr, "INCR", "s", NULL), "-" ERR_NOT_INTEGER "\r\n");
    }
    assert_string_equal(call(command_incrby, "INCRBY", "c", "01", NULL),
                        "-" ERR_NOT_INTEGER "\r\n");

    /* A numeric raw string (from APPEND) becomes an int again. */
    call(command_set, "SET", "r", "10", "EX", "100", NULL);
    call(command_append, "APPEND", "r", "0", NULL);
    assert_int_equal(entry_encoding(entry_of("r")), ENCODING_RAW);
    assert_string_equal(call(command_incr, "INCR", "r", NULL), ":101\r\n");
    assert_int_equal(entry_encoding(entry_of("r")), ENCODING_INT);
    assert_int_equal(entry_expire(entry_of("r")), NOW_MS + 100000);

    make_list("l");
    assert_string_equal(call(command_incr, "INCR", "l", NULL), "-" ERR_WRONGTYPE "\r\n");
    /* The argument is checked before the key. */
    assert_string_equal(call(command_incrby, "INCRBY", "l", "x", NULL), "-" ERR_NOT_INTEGER "\r\n");
    assert_string_equal(call(command_decrby, "DECRBY", "l", "-9223372036854775808", NULL),
                        "-ERR decrement would overflow\r\n");
}

static void test_incrbyfloat(void **state)
{
    (void)state;
    static const struct {
        const char *start, *increment, *reply;
    } cases[] = {
        {"10.5", "0.1", "$4\r\n10.6\r\n"},
        {"5.0e3", "0", "$4\r\n5000\r\n"},
        {"5000", "3.0e3", "$4\r\n8000\r\n"},
        {"3", "1.25", "$4\r\n4.25\r\n"},
        {"0", "-1.5e2", "$4\r\n-150\r\n"},
        {"0.1", "-0.1", "$1\r\n0\r\n"},
        {"0", "-0", "$1\r\n0\r\n"},
        {"1", "0x10", "$2\r\n17\r\n"},
        {"12345678901234567890", "1", "$20\r\n12345678901234567891\r\n"},
        {"9223372036854775807", "1", "$19\r\n9223372036854775808\r\n"},
        {"1.1", "2.2", "$3\r\n3.3\r\n"},
        {"1", "1e-4940", "$1\r\n1\r\n"}, /* subnormal increments are accepted */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        call(command_set, "SET", "f", cases[i].start, NULL);
        assert_string_equal(call(command_incrbyfloat, "INCRBYFLOAT", "f", cases[i].increment, NULL),
                            cases[i].reply);
    }
    assert_string_equal(recorded_events(), "incrbyfloat:f ");

    assert_string_equal(call(command_incrbyfloat, "INCRBYFLOAT", "new", "2.5", NULL),
                        "$3\r\n2.5\r\n");
    call(command_set, "SET", "t", "1", "EX", "100", NULL);
    assert_string_equal(call(command_incrbyfloat, "INCRBYFLOAT", "t", "0.5", NULL),
                        "$3\r\n1.5\r\n");
    assert_int_equal(entry_expire(entry_of("t")), NOW_MS + 100000);

    const char *not_float = "-" ERR_NOT_FLOAT "\r\n";
    static const char *const bad[] = {"abc", " 1", "1 ", "nan", "1e5000", "1e-5000", "1e", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_string_equal(call(command_incrbyfloat, "INCRBYFLOAT", "t", bad[i], NULL), not_float);
    call(command_set, "SET", "s", "abc", NULL);
    assert_string_equal(call(command_incrbyfloat, "INCRBYFLOAT", "s", "1", NULL), not_float);
    assert_string_equal(call(command_incrbyfloat, "INCRBYFLOAT", "missing", "x", NULL), not_float);
    assert_null(entry_of("missing"));

    const char *nan_or_inf = "-ERR increment would produce NaN or Infinity\r\n";
    assert_string_equal(call(command_incrbyfloat, "INCRBYFLOAT", "t", "inf", NULL), nan_or_inf);
    assert_string_equal(call(command_incrbyfloat, "INCRBYFLOAT", "t", "-inf", NULL), nan_or_inf);
    call(command_set, "SET", "g", "1.1e4932", NULL);
    assert_string_equal(call(command_incrbyfloat, "INCRBYFLOAT", "g", "1.1e4932", NULL),
                        nan_or_inf);
    assert_string_equal(call(command_get, "GET", "g", NULL), "$8\r\n1.1e4932\r\n");

    /* The type check comes before either operand is parsed. */
    make_list("l");
    assert_string_equal(call(command_incrbyfloat, "INCRBYFLOAT", "l", "abc", NULL),
                        "-" ERR_WRONGTYPE "\r\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_get_set_basics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_nx_xx_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_option_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_ttl_handling, setup, teardown),
        cmocka_unit_test_setup_teardown(test_getset_getdel_mget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mset_msetnx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_getex, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_strlen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_getrange, setup, teardown),
        cmocka_unit_test_setup_teardown(test_setrange, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incr_family, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incrbyfloat, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
