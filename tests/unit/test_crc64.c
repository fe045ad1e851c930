/* CRC-64/Jones against its published check value and Redis's own vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rivet/crc64.h"

static void test_check_value(void **state)
{
    (void)state;
    assert_int_equal(crc64_update(0, "123456789", 9), 0xe9c6d914c4b8d9caULL);
}

static void test_empty_is_zero(void **state)
{
    (void)state;
    assert_int_equal(crc64_update(0, "", 0), 0);
}

static void test_long_text(void **state)
{
    (void)state;
    /* Expected value from an independent bit-at-a-time reference. */
    const char *text = "This is a test of the emergency broadcast system.";
    assert_int_equal(crc64_update(0, text, strlen(text)), 0x42153dc5db99540fULL);
}

/* Any split of the input gives the one-shot result (and exercises both the
 * eight-byte loop and the tail loop at every alignment). */
static void test_incremental_equals_one_shot(void **state)
{
    (void)state;
    unsigned char data[300];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (unsigned char)(i * 37 + 11);
    uint64_t whole = crc64_update(0, data, sizeof(data));
    for (size_t cut = 0; cut <= sizeof(data); cut += 7) {
        uint64_t crc = crc64_update(0, data, cut);
        crc = crc64_update(crc, data + cut, sizeof(data) - cut);
        assert_int_equal(crc, whole);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_value),
        cmocka_unit_test(test_empty_is_zero),
        cmocka_unit_test(test_long_text),
        cmocka_unit_test(test_incremental_equals_one_shot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
