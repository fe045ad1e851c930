/* LZF: round trips of compressible, incompressible and edge-sized inputs,
 * known encodings, and malformed input rejected without overruns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dlfcn.h>

#include "rivet/lzf.h"

static void round_trip(const unsigned char *data, size_t len)
{
    size_t cap = len + len / 16 + 64;
    unsigned char *packed = malloc(cap);
    unsigned char *back = malloc(len + 1);
    size_t n = lzf_compress(data, len, packed, cap);
    assert_true(n > 0);
    assert_int_equal(lzf_decompress(packed, n, back, len), len);
    assert_memory_equal(back, data, len);
    free(packed);
    free(back);
}

static void test_repetitive_shrinks(void **state)
{
    (void)state;
    unsigned char data[10000];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (unsigned char)"abcabcabd"[i % 9];
    unsigned char packed[10000];
    size_t n = lzf_compress(data, sizeof(data), packed, sizeof(packed));
    assert_true(n > 0 && n < 400);
    round_trip(data, sizeof(data));
}

static void test_incompressible(void **state)
{
    (void)state;
    unsigned char data[4096];
    uint64_t x = 88172645463325252ULL;
    for (size_t i = 0; i < sizeof(data); i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        data[i] = (unsigned char)x;
    }
    round_trip(data, sizeof(data));
    /* Random bytes do not shrink: with an output no bigger than the input
     * the compressor reports "does not fit". */
    unsigned char packed[4096];
    assert_int_equal(lzf_compress(data, sizeof(data), packed, sizeof(packed) - 1), 0);
}

static void test_edge_sizes(void **state)
{
    (void)state;
    unsigned char data[70000];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (unsigned char)((i / 5) % 251);
    size_t sizes[] = {1, 2, 3, 4, 31, 32, 33, 64, 263, 264, 265, 8191, 8192, 8193, 70000};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        round_trip(data, sizes[i]);
    /* A long run of one byte: references that overlap their own output. */
    memset(data, 'x', sizeof(data));
    round_trip(data, sizeof(data));
}

static void test_known_encoding(void **state)
{
    (void)state;
    /* "aaaaaaaaaa": literal 'a', then a reference of 9 bytes at offset 0. */
    unsigned char packed[16];
    size_t n = lzf_compress("aaaaaaaaaa", 10, packed, sizeof(packed));
    assert_int_equal(n, 5);
    const unsigned char expected[] = {0x00, 'a', 0xe0, 0x00, 0x00};
    assert_memory_equal(packed, expected, 5);
    /* A hand-made stream: literal "ab", reference of 4 at distance 2. */
    const unsigned char stream[] = {0x01, 'a', 'b', 0x40, 0x01};
    char out[16];
    assert_int_equal(lzf_decompress(stream, sizeof(stream), out, sizeof(out)), 6);
    assert_memory_equal(out, "ababab", 6);
}

static void test_malformed_rejected(void **state)
{
    (void)state;
    char out[64];
    /* Literal run longer than the input that remains. */
    const unsigned char short_literal[] = {0x05, 'a', 'b'};
    assert_int_equal(lzf_decompress(short_literal, sizeof(short_literal), out, sizeof(out)), 0);
    /* Reference before the start of the output. */
    const unsigned char bad_back[] = {0x00, 'a', 0x20, 0x05};
    assert_int_equal(lzf_decompress(bad_back, sizeof(bad_back), out, sizeof(out)), 0);
    /* Truncated reference. */
    const unsigned char truncated[] = {0x00, 'a', 0xe0};
    assert_int_equal(lzf_decompress(truncated, sizeof(truncated), out, sizeof(out)), 0);
    /* Output would not fit. */
    const unsigned char fine[] = {0x00, 'a', 0xe0, 0x00, 0x00};
    assert_int_equal(lzf_decompress(fine, sizeof(fine), out, 5), 0);
    assert_int_equal(lzf_decompress(fine, sizeof(fine), out, 10), 10);
}

/* Against the reference implementation when its shared library is installed
 * (Debian's liblzf1): each side decompresses what the other compressed. */
typedef unsigned int (*lzf_fn)(const void *, unsigned int, void *, unsigned int);

static void test_interoperates_with_liblzf(void **state)
{
    (void)state;
    void *lib = dlopen("liblzf.so.1", RTLD_NOW);
    if (!lib) {
        fprintf(stderr, "liblzf.so.1 not installed: skipping the interoperability check\n");
        skip();
    }
    lzf_fn their_compress = (lzf_fn)dlsym(lib, "lzf_compress");
    lzf_fn their_decompress = (lzf_fn)dlsym(lib, "lzf_decompress");
    assert_non_null(their_compress);
    assert_non_null(their_decompress);
    static unsigned char data[50000], packed[60000], back[50000];
    uint64_t x = 1;
    for (int kind = 0; kind < 3; kind++) {
        for (size_t i = 0; i < sizeof(data); i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            /* random, text-like with repeats, long runs */
            data[i] = kind == 0   ? (unsigned char)x
                      : kind == 1 ? (unsigned char)("the quick brown fox "[(i * 7 + x % 3) % 20])
                                  : (unsigned char)(i / 1000);
        }
        size_t sizes[] = {1, 3, 21, 100, 4096, 50000};
        for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
            size_t len = sizes[k];
            size_t n = lzf_compress(data, len, packed, sizeof(packed));
            assert_true(n > 0);
            assert_int_equal(their_decompress(packed, (unsigned)n, back, (unsigned)len), len);
            assert_memory_equal(back, data, len);
            unsigned m = their_compress(data, (unsigned)len, packed, sizeof(packed));
            assert_true(m > 0);
            memset(back, 0, len);
            assert_int_equal(lzf_decompress(packed, m, back, len), len);
            assert_memory_equal(back, data, len);
        }
    }
    dlclose(lib);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_repetitive_shrinks), cmocka_unit_test(test_incompressible),
        cmocka_unit_test(test_edge_sizes),         cmocka_unit_test(test_known_encoding),
        cmocka_unit_test(test_malformed_rejected), cmocka_unit_test(test_interoperates_with_liblzf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
