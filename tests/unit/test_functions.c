/* Unit tests for the function libraries (src/script/functions.c) through its
 * C API: loading and replacing, the DUMP payload's exact bytes, and RESTORE
 * against payloads Redis wrote (LZF-compressed codes), corrupted ones and
 * hostile ones with a valid checksum (truncated strings, LZF references
 * before the start), which must fail cleanly and change nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "rivet/memory.h"
#include "rivet/script.h"
#include "rivet/server.h"

#define LIB_A "#!lua name=a\nredis.register_function('fa', function() return 1 end)"

/* Redis 7.0's FUNCTION DUMP of two libraries, "big" (its code LZF-compressed)
 * and "n7". */
static const char redis_payload[] =
    "\xf5\xc3@M@\xb2\x12#!lua name=big\x0a-- x\xe0Z\x00\x19\x0aredis.register_function(' "
    "\x84\x02', \xe0\x00\x0f\x08) return `\x18\x04 end)\xf5@D#!lua name=n7\x0aredis.register_"
    "function('n7', function() return 7 end)\x0a\x00"
    "4\xda\xa3\xe2\xfel\x92\xf0";

/* The CRC-64 Redis's payloads end with (Jones polynomial, reflected). */
static uint64_t crc64_jones(const unsigned char *p, size_t len)
{
    uint64_t crc = 0;
    for (size_t i = 0; i < len; i++) {
        crc ^= p[i];
        for (int bit = 0; bit < 8; bit++)
            crc = (crc & 1) ? (crc >> 1) ^ 0x95ac9329ac4bc9b5ULL : crc >> 1;
    }
    return crc;
}

/* body + version 10 + checksum, in out (at least len + 10 bytes). */
static size_t make_payload(const char *body, size_t len, unsigned char *out)
{
    memcpy(out, body, len);
    out[len] = 10;
    out[len + 1] = 0;
    uint64_t crc = crc64_jones(out, len + 2);
    for (int i = 0; i < 8; i++)
        out[len + 2 + i] = (unsigned char)(crc >> (8 * i));
    return len + 10;
}

static void counts(size_t *libraries, size_t *functions)
{
    function_counts(libraries, functions);
}

static void expect_restore_error(const void *payload, size_t len, int policy, const char *error)
{
    char *text = NULL;
    assert_int_equal(function_restore(payload, len, policy, &text), -1);
    assert_string_equal(text, error);
    mem_free(text);
}

static int setup(void **state)
{
    (void)state;
    function_flush();
    return 0;
}

static void test_load_replace_delete(void **state)
{
    (void)state;
    char *result = NULL;
    assert_int_equal(function_load(LIB_A, strlen(LIB_A), 0, &result), 0);
    assert_string_equal(result, "a");
    mem_free(result);
    assert_int_equal(function_load(LIB_A, strlen(LIB_A), 0, &result), -1);
    assert_string_equal(result, "ERR Library 'a' already exists");
    mem_free(result);
    assert_int_equal(function_load(LIB_A, strlen(LIB_A), 1, &result), 0);
    mem_free(result);
    assert_true(function_exists("FA", 2)); /* names match without case */
    size_t libraries, functions;
    counts(&libraries, &functions);
    assert_int_equal(libraries, 1);
    assert_int_equal(functions, 1);
    assert_int_equal(function_delete("A", 1), -1); /* library names keep case */
    assert_int_equal(function_delete("a", 1), 0);
    assert_false(function_exists("fa", 2));
}

static void test_dump_bytes(void **state)
{
    (void)state;
    buffer out;
    buffer_init(&out);
    function_dump(&out);
    assert_int_equal(out.len, 10);
    assert_memory_equal(out.data, "\x0a\x00]\x9b\\@\x0f\x7f\xa2\xda", 10);
    buffer_clear(&out);
    char *result = NULL;
    assert_int_equal(function_load(LIB_A, strlen(LIB_A), 0, &result), 0);
    mem_free(result);
    function_dump(&out);
    /* opcode, 2-byte length (64 to 16383 bytes), the code, then version
     * and checksum */
    size_t code_len = strlen(LIB_A);
    assert_true(code_len >= 64 && code_len < 16384);
    assert_int_equal(out.len, 3 + code_len + 10);
    assert_int_equal((unsigned char)out.data[0], 245);
    assert_int_equal((unsigned char)out.data[1], 0x40);
    assert_int_equal((unsigned char)out.data[2], code_len);
    assert_memory_equal(out.data + 3, LIB_A, code_len);
    unsigned char expected[128];
    size_t n = make_payload(out.data, 3 + code_len, expected);
    assert_memory_equal(out.data, expected, n);
    buffer_release(&out);
}

static void test_restore_redis_payload(void **state)
{
    (void)state;
    size_t len = sizeof(redis_payload) - 1;
    char *error = NULL;
    assert_int_equal(function_restore(redis_payload, len, FUNCTION_RESTORE_APPEND, &error), 0);
    assert_null(error);
    assert_true(function_exists("big", 3));
    assert_true(function_exists("n7", 2));
    expect_restore_error(redis_payload, len, FUNCTION_RESTORE_APPEND,
                         "ERR Library big already exists");
    assert_int_equal(function_restore(redis_payload, len, FUNCTION_RESTORE_REPLACE, &error), 0);
    size_t libraries, functions;
    counts(&libraries, &functions);
    assert_int_equal(libraries, 2);
    assert_int_equal(functions, 2);
}

static void test_restore_rejects_bad_payloads(void **state)
{
    (void)state;
    char *result = NULL;
    assert_int_equal(function_load(LIB_A, strlen(LIB_A), 0, &result), 0);
    mem_free(result);
    const char *checksum = "ERR DUMP payload version or checksum are wrong";
    expect_restore_error("", 0, FUNCTION_RESTORE_FLUSH, checksum);
    expect_restore_error("short", 5, FUNCTION_RESTORE_FLUSH, checksum);
    unsigned char copy[sizeof(redis_payload)];
    memcpy(copy, redis_payload, sizeof(copy));
    copy[20] ^= 0x40; /* a flipped bit inside the code */
    expect_restore_error(copy, sizeof(copy) - 1, FUNCTION_RESTORE_FLUSH, checksum);
    memcpy(copy, redis_payload, sizeof(copy));
    copy[sizeof(copy) - 11] = 11; /* a newer RDB version */
    expect_restore_error(copy, sizeof(copy) - 1, FUNCTION_RESTORE_FLUSH, checksum);

    /* Valid checksums around hostile bodies. */
    unsigned char payload[256];
    size_t n = make_payload("\x01", 1, payload);
    expect_restore_error(payload, n, FUNCTION_RESTORE_FLUSH, "ERR given type is not a function");
    n = make_payload("\xf5\x30short", 7, payload); /* says 48 bytes, has 5 */
    expect_restore_error(payload, n, FUNCTION_RESTORE_FLUSH, "ERR DUMP payload is malformed");
    n = make_payload("\xf5\x80\xff\xff\xff\xff", 6, payload); /* 4 GiB string */
    expect_restore_error(payload, n, FUNCTION_RESTORE_FLUSH, "ERR DUMP payload is malformed");
    /* LZF: 3 compressed bytes expanding to 10, a back reference at the
     * very start (nothing to copy from). */
    n = make_payload("\xf5\xc3\x03\x0a\xe0\x00\x05", 7, payload);
    expect_restore_error(payload, n, FUNCTION_RESTORE_FLUSH, "ERR DUMP payload is malformed");
    /* LZF expanding to less than it announced. */
    n = make_payload("\xf5\xc3\x03\x0a\x01"
                     "ab",
                     7, payload);
    expect_restore_error(payload, n, FUNCTION_RESTORE_FLUSH, "ERR DUMP payload is malformed");
    /* An integer-encoded string: code "7" has no metadata. */
    n = make_payload("\xf5\xc0\x07", 3, payload);
    expect_restore_error(payload, n, FUNCTION_RESTORE_FLUSH, "ERR Missing library metadata");
    /* The second library fails: the first is not kept, FLUSH did not run. */
    char body[200];
    size_t code_len = strlen(LIB_A);
    body[0] = (char)245; /* library "a" again, under FLUSH */
    body[1] = 0x40;
    body[2] = (char)code_len;
    memcpy(body + 3, LIB_A, code_len);
    memcpy(body + 3 + code_len, "\xf5\x08return 1", 10);
    n = make_payload(body, 3 + code_len + 10, payload);
    expect_restore_error(payload, n, FUNCTION_RESTORE_FLUSH, "ERR Missing library metadata");
    size_t libraries, functions;
    counts(&libraries, &functions);
    assert_int_equal(libraries, 1);
    assert_int_equal(functions, 1);
    assert_true(function_exists("fa", 2));
}

static int group_setup(void **state)
{
    (void)state;
    /* The script client the engine creates needs a database to point at. */
    server.keyspace = keyspace_create(16, 0);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    script_release();
    keyspace_destroy(server.keyspace);
    server.keyspace = NULL;
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_load_replace_delete, setup),
        cmocka_unit_test_setup(test_dump_bytes, setup),
        cmocka_unit_test_setup(test_restore_redis_payload, setup),
        cmocka_unit_test_setup(test_restore_rejects_bad_payloads, setup),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
