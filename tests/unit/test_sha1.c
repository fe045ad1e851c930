/* SHA-1 against the FIPS 180 / RFC 3174 test vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rivet/sha1.h"

static void test_empty(void **state)
{
    (void)state;
    char hex[41];
    sha1_hex("", 0, hex);
    assert_string_equal(hex, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}

static void test_abc(void **state)
{
    (void)state;
    char hex[41];
    sha1_hex("abc", 3, hex);
    assert_string_equal(hex, "a9993e364706816aba3e25717850c26c9cd0d89d");
}

static void test_two_blocks(void **state)
{
    (void)state;
    /* 56 bytes: the padding no longer fits, so a second block follows. */
    const char *msg = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    char hex[41];
    sha1_hex(msg, strlen(msg), hex);
    assert_string_equal(hex, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
}

static void test_million_a_incremental(void **state)
{
    (void)state;
    /* Fed in uneven pieces to exercise the block buffering. */
    char chunk[997];
    memset(chunk, 'a', sizeof(chunk));
    sha1_context ctx;
    sha1_init(&ctx);
    size_t left = 1000000;
    while (left > 0) {
        size_t n = left < sizeof(chunk) ? left : sizeof(chunk);
        sha1_update(&ctx, chunk, n);
        left -= n;
    }
    uint8_t digest[20];
    sha1_final(&ctx, digest);
    static const uint8_t expected[20] = {0x34, 0xaa, 0x97, 0x3c, 0xd4, 0xc4, 0xda,
                                         0xa4, 0xf6, 0x1e, 0xeb, 0x2b, 0xdb, 0xad,
                                         0x27, 0x31, 0x65, 0x34, 0x01, 0x6f};
    assert_memory_equal(digest, expected, 20);
}

static void test_script_name(void **state)
{
    (void)state;
    /* The name Redis gives "return 1" (SCRIPT LOAD). */
    char hex[41];
    sha1_hex("return 1", 8, hex);
    assert_string_equal(hex, "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),       cmocka_unit_test(test_abc),
        cmocka_unit_test(test_two_blocks),  cmocka_unit_test(test_million_a_incremental),
        cmocka_unit_test(test_script_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
