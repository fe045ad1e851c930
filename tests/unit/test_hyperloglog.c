/* Unit tests for the HyperLogLog estimator: exact bytes and counts Redis 7
 * produces for the same inputs (taken from a real server), encoding
 * conversions, corrupt input, and the error bound on a million items. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "rivet/hyperloglog.h"

static void add_all(buffer *b, const char *prefix, int from, int to)
{
    char element[32];
    for (int i = from; i < to; i++) {
        int len = snprintf(element, sizeof(element), "%s%d", prefix, i);
        if (hll_add(b, element, (size_t)len, HLL_SPARSE_MAX_BYTES_DEFAULT) == 1)
            hll_cache_invalidate(b->data);
    }
}

static void test_empty_is_one_xzero(void **state)
{
    buffer b;
    buffer_init(&b);
    hll_init(&b);
    const uint8_t expected[] = {'H', 'Y', 'L', 'L', 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 0xff};
    assert_int_equal(b.len, sizeof(expected));
    assert_memory_equal(b.data, expected, sizeof(expected));
    assert_true(hll_is_valid(b.data, b.len));
    uint64_t count = 99;
    assert_int_equal(hll_count(b.data, b.len, &count), 0);
    assert_int_equal(count, 0);
    assert_true(hll_cache_get(b.data, &count));
    buffer_release(&b);
}

/* Bytes a Redis 7.0 server stores after PFADD t a; PFADD t b c; PFCOUNT t. */
static void test_sparse_bytes_match_redis(void **state)
{
    buffer b;
    buffer_init(&b);
    hll_init(&b);
    assert_int_equal(hll_add(&b, "a", 1, HLL_SPARSE_MAX_BYTES_DEFAULT), 1);
    hll_cache_invalidate(b.data);
    const uint8_t after_a[] = {0x48, 0x59, 0x4c, 0x4c, 0x01, 0,    0,    0,    0,    0,   0,
                               0,    0,    0,    0,    0x80, 0x71, 0xa6, 0x84, 0x4e, 0x57};
    assert_int_equal(b.len, sizeof(after_a));
    assert_memory_equal(b.data, after_a, sizeof(after_a));
    assert_int_equal(hll_add(&b, "a", 1, HLL_SPARSE_MAX_BYTES_DEFAULT), 0);
    assert_int_equal(hll_add(&b, "b", 1, HLL_SPARSE_MAX_BYTES_DEFAULT), 1);
    assert_int_equal(hll_add(&b, "c", 1, HLL_SPARSE_MAX_BYTES_DEFAULT), 1);
    uint64_t count;
    assert_false(hll_cache_get(b.data, &count));
    assert_int_equal(hll_count(b.data, b.len, &count), 0);
    assert_int_equal(count, 3);
    hll_cache_set(b.data, count);
    const uint8_t after_count[] = {0x48, 0x59, 0x4c, 0x4c, 0x01, 0,    0,    0,    0x03,
                                   0,    0,    0,    0,    0,    0,    0,    0x60, 0xf3,
                                   0x80, 0x50, 0xb1, 0x84, 0x4b, 0xfb, 0x80, 0x42, 0x5a};
    assert_int_equal(b.len, sizeof(after_count));
    assert_memory_equal(b.data, after_count, sizeof(after_count));
    assert_true(hll_cache_get(b.data, &count));
    assert_int_equal(count, 3);
    buffer_release(&b);
}

/* Counts Redis reports for PFADD of "el0".."el<n-1>". */
static void test_counts_match_redis(void **state)
{
    buffer b;
    buffer_init(&b);
    hll_init(&b);
    add_all(&b, "el", 0, 500);
    uint64_t count;
    assert_int_equal(b.data[4], HLL_ENCODING_SPARSE);
    assert_int_equal(hll_count(b.data, b.len, &count), 0);
    assert_int_equal(count, 501);
    add_all(&b, "el", 500, 2000);
    assert_int_equal(b.data[4], HLL_ENCODING_DENSE);
    assert_int_equal(b.len, HLL_DENSE_SIZE);
    assert_int_equal(hll_count(b.data, b.len, &count), 0);
    assert_int_equal(count, 2009);
    add_all(&b, "el", 2000, 100000);
    assert_int_equal(hll_count(b.data, b.len, &count), 0);
    assert_int_equal(count, 99142);
    buffer_release(&b);
}

/* Converting sparse to dense keeps every register: both count the same and
 * merging either into a register array gives the same array. */
static void test_sparse_to_dense_keeps_registers(void **state)
{
    buffer b;
    buffer_init(&b);
    hll_init(&b);
    add_all(&b, "k", 0, 300);
    uint64_t sparse_count, dense_count;
    assert_int_equal(hll_count(b.data, b.len, &sparse_count), 0);
    static uint8_t from_sparse[HLL_REGISTER_COUNT], from_dense[HLL_REGISTER_COUNT];
    memset(from_sparse, 0, sizeof(from_sparse));
    memset(from_dense, 0, sizeof(from_dense));
    assert_int_equal(hll_merge_into(from_sparse, b.data, b.len), 0);
    assert_int_equal(hll_to_dense(&b), 0);
    assert_int_equal(b.data[4], HLL_ENCODING_DENSE);
    assert_int_equal(hll_count(b.data, b.len, &dense_count), 0);
    assert_int_equal(sparse_count, dense_count);
    assert_int_equal(hll_merge_into(from_dense, b.data, b.len), 0);
    assert_memory_equal(from_sparse, from_dense, sizeof(from_sparse));
    assert_int_equal(hll_estimate(from_dense), dense_count);
    buffer_release(&b);
}

/* A register above 32 cannot be written in sparse form: the value turns
 * dense. A tiny sparse limit also forces the conversion. */
static void test_promotion_rules(void **state)
{
    buffer b;
    buffer_init(&b);
    hll_init(&b);
    assert_int_equal(hll_raise_register(&b, 5, 32, HLL_SPARSE_MAX_BYTES_DEFAULT), 1);
    assert_int_equal(b.data[4], HLL_ENCODING_SPARSE);
    assert_int_equal(hll_raise_register(&b, 5, 20, HLL_SPARSE_MAX_BYTES_DEFAULT), 0);
    assert_int_equal(hll_raise_register(&b, 6, 33, HLL_SPARSE_MAX_BYTES_DEFAULT), 1);
    assert_int_equal(b.data[4], HLL_ENCODING_DENSE);
    static uint8_t registers[HLL_REGISTER_COUNT];
    memset(registers, 0, sizeof(registers));
    assert_int_equal(hll_merge_into(registers, b.data, b.len), 0);
    assert_int_equal(registers[5], 32);
    assert_int_equal(registers[6], 33);
    assert_int_equal(registers[7], 0);

    buffer_release(&b);
    buffer_init(&b);
    hll_init(&b);
    /* 18 bytes grow to 21 (XZERO VAL XZERO): allowed at a limit of 21; the
     * next split would need 24. */
    assert_int_equal(hll_raise_register(&b, 100, 3, 21), 1);
    assert_int_equal(b.data[4], HLL_ENCODING_SPARSE);
    assert_int_equal(hll_raise_register(&b, 9000, 3, 21), 1);
    assert_int_equal(b.data[4], HLL_ENCODING_DENSE);
    buffer_release(&b);
}

static void test_validation_and_corruption(void **state)
{
    assert_false(hll_is_valid("HYLL", 4));
    assert_false(hll_is_valid("HYLX\x01\0\0\0\0\0\0\0\0\0\0\0\x7f\xff", 18));
    assert_false(hll_is_valid("HYLL\x02\0\0\0\0\0\0\0\0\0\0\0\x7f\xff", 18));
    assert_false(hll_is_valid("HYLL\x00\0\0\0\0\0\0\0\0\0\0\0\x7f\xff", 18));
    assert_true(hll_is_valid("HYLL\x01\0\0\0\0\0\0\0\0\0\0\0\x7f\xff", 18));
    /* Opcodes covering 16383 registers instead of 16384. */
    const char short_run[] = "HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80\x7f\xfe";
    uint64_t count;
    assert_int_equal(hll_count(short_run, 18, &count), -1);
    buffer b;
    buffer_init(&b);
    buffer_append(&b, short_run, 18);
    assert_int_equal(hll_to_dense(&b), -1);
    buffer_release(&b);
}

static void test_murmur_reference(void **state)
{
    /* Different lengths take the block and the tail paths. */
    assert_int_not_equal(hll_murmur64a("a", 1, 0xadc83b19), hll_murmur64a("b", 1, 0xadc83b19));
    assert_int_not_equal(hll_murmur64a("abcdefgh", 8, 0), hll_murmur64a("abcdefgh", 8, 1));
    assert_int_equal(hll_murmur64a("", 0, 0), 0);
}

static void test_error_bound_million(void **state)
{
    buffer b;
    buffer_init(&b);
    hll_init(&b);
    add_all(&b, "item:", 0, 1000000);
    uint64_t count;
    assert_int_equal(hll_count(b.data, b.len, &count), 0);
    double error = ((double)count - 1000000.0) / 1000000.0;
    if (error < 0)
        error = -error;
    assert_true(error < 0.02);
    buffer_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_is_one_xzero),
        cmocka_unit_test(test_sparse_bytes_match_redis),
        cmocka_unit_test(test_counts_match_redis),
        cmocka_unit_test(test_sparse_to_dense_keeps_registers),
        cmocka_unit_test(test_promotion_rules),
        cmocka_unit_test(test_validation_and_corruption),
        cmocka_unit_test(test_murmur_reference),
        cmocka_unit_test(test_error_bound_million),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
