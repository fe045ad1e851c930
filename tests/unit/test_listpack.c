/* Tests for listpack: building at every position, walking both ways, seek,
 * replace, delete, find (with key/value skipping), integer encodings at their
 * boundaries, binary and long strings, a randomized comparison against a
 * plain array model, and that freeing returns every byte. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rivet/listpack.h"
#include "rivet/memory.h"

#define S(literal) literal, sizeof(literal) - 1

/* The entry at pos rendered as bytes, into buf; returns the length. */
static size_t entry_text(const listpack *lp, size_t pos, char *buf, size_t size)
{
    listpack_entry entry;
    char scratch[24];
    size_t len;
    listpack_get(lp, pos, &entry);
    const char *bytes = listpack_entry_bytes(&entry, scratch, &len);
    assert_true(len <= size);
    memcpy(buf, bytes, len);
    return len;
}

static void assert_entry(const listpack *lp, size_t pos, const char *data, size_t len)
{
    char buf[128];
    assert_int_not_equal(pos, LISTPACK_NONE);
    assert_true(len <= sizeof(buf));
    size_t got = entry_text(lp, pos, buf, sizeof(buf));
    assert_int_equal(got, len);
    assert_memory_equal(buf, data, len);
    assert_true(listpack_equals(lp, pos, data, len));
}

/* Checks the whole listpack against a NULL-terminated list of C strings,
 * walking forwards, backwards and by index. */
static void assert_contents(const listpack *lp, const char *const *expected)
{
    size_t n = 0;
    while (expected[n])
        n++;
    assert_int_equal(listpack_length(lp), n);
    size_t pos = listpack_first(lp);
    for (size_t i = 0; i < n; i++) {
        assert_entry(lp, pos, expected[i], strlen(expected[i]));
        assert_int_equal(listpack_seek(lp, (int64_t)i), pos);
        assert_int_equal(listpack_seek(lp, (int64_t)i - (int64_t)n), pos);
        pos = listpack_next(lp, pos);
    }
    assert_int_equal(pos, LISTPACK_NONE);
    pos = listpack_last(lp);
    for (size_t i = n; i-- > 0;) {
        assert_entry(lp, pos, expected[i], strlen(expected[i]));
        pos = listpack_prev(lp, pos);
    }
    assert_int_equal(pos, LISTPACK_NONE);
}

static void test_empty(void **state)
{
    size_t base = mem_used();
    listpack *lp = listpack_create();
    assert_int_equal(listpack_length(lp), 0);
    assert_true(listpack_bytes(lp) > 0);
    assert_int_equal(listpack_first(lp), LISTPACK_NONE);
    assert_int_equal(listpack_last(lp), LISTPACK_NONE);
    assert_int_equal(listpack_seek(lp, 0), LISTPACK_NONE);
    assert_int_equal(listpack_seek(lp, -1), LISTPACK_NONE);
    assert_int_equal(listpack_find(lp, listpack_first(lp), S("a"), 0), LISTPACK_NONE);
    lp = listpack_delete_range(lp, 0, 10);
    assert_int_equal(listpack_length(lp), 0);
    listpack_free(lp);
    assert_int_equal(mem_used(), base);
}

static void test_append_prepend_insert(void **state)
{
    size_t base = mem_used();
    listpack *lp = listpack_create();
    lp = listpack_append(lp, S("b"));
    lp = listpack_append_integer(lp, 42);
    lp = listpack_prepend(lp, S("a"));
    lp = listpack_append(lp, S("tail"));
    assert_contents(lp, (const char *[]){"a", "b", "42", "tail", NULL});

    /* Insert before each position, and with NONE (append). */
    size_t inserted = 0;
    lp = listpack_insert(lp, listpack_seek(lp, 0), S("x0"), &inserted);
    assert_int_equal(inserted, listpack_first(lp));
    assert_contents(lp, (const char *[]){"x0", "a", "b", "42", "tail", NULL});
    lp = listpack_insert(lp, listpack_seek(lp, 2), S("-7"), &inserted);
    assert_int_equal(inserted, listpack_seek(lp, 2));
    assert_entry(lp, inserted, S("-7"));
    lp = listpack_insert(lp, listpack_seek(lp, -1), S("x5"), NULL);
    assert_contents(lp, (const char *[]){"x0", "a", "-7", "b", "42", "x5", "tail", NULL});
    lp = listpack_insert(lp, LISTPACK_NONE, S("end"), &inserted);
    assert_int_equal(inserted, listpack_last(lp));
    assert_contents(lp, (const char *[]){"x0", "a", "-7", "b", "42", "x5", "tail", "end", NULL});

    /* Prepend into an empty listpack, insert with NONE into an empty one. */
    listpack *other = listpack_create();
    other = listpack_prepend(other, S("only"));
    assert_contents(other, (const char *[]){"only", NULL});
    listpack_free(other);
    other = listpack_create();
    other = listpack_insert(other, LISTPACK_NONE, S("7"), &inserted);
    assert_int_equal(inserted, listpack_first(other));
    assert_contents(other, (const char *[]){"7", NULL});
    listpack_free(other);

    listpack_free(lp);
    assert_int_equal(mem_used(), base);
}

static void test_get_entry_shapes(void **state)
{
    listpack *lp = listpack_create();
    lp = listpack_append(lp, S("hello"));
    lp = listpack_append(lp, S("12345"));
    listpack_entry entry;
    listpack_get(lp, listpack_first(lp), &entry);
    assert_non_null(entry.data);
    assert_int_equal(entry.len, 5);
    assert_memory_equal(entry.data, "hello", 5);
    listpack_get(lp, listpack_last(lp), &entry);
    assert_null(entry.data);
    assert_int_equal(entry.integer, 12345);
    char scratch[24];
    size_t len;
    const char *bytes = listpack_entry_bytes(&entry, scratch, &len);
    assert_ptr_equal(bytes, scratch);
    assert_int_equal(len, 5);
    assert_memory_equal(bytes, "12345", 5);
    listpack_free(lp);
}

static void test_seek(void **state)
{
    listpack *lp = listpack_create();
    char buf[16];
    for (int i = 0; i < 50; i++) {
        int n = snprintf(buf, sizeof(buf), "v%d", i);
        lp = listpack_append(lp, buf, (size_t)n);
    }
    for (int i = 0; i < 50; i++) {
        int n = snprintf(buf, sizeof(buf), "v%d", i);
        assert_entry(lp, listpack_seek(lp, i), buf, (size_t)n);
        assert_entry(lp, listpack_seek(lp, i - 50), buf, (size_t)n);
    }
    assert_int_equal(listpack_seek(lp, 50), LISTPACK_NONE);
    assert_int_equal(listpack_seek(lp, -51), LISTPACK_NONE);
    assert_int_equal(listpack_seek(lp, INT64_MAX), LISTPACK_NONE);
    assert_int_equal(listpack_seek(lp, INT64_MIN), LISTPACK_NONE);
    assert_int_equal(listpack_seek(lp, -1), listpack_last(lp));
    assert_int_equal(listpack_seek(lp, 0), listpack_first(lp));
    listpack_free(lp);
}

static void test_replace(void **state)
{
    size_t base = mem_used();
    listpack *lp = listpack_create();
    lp = listpack_append(lp, S("a"));
    lp = listpack_append(lp, S("b"));
    lp = listpack_append(lp, S("c"));

    char big[5000];
    memset(big, 'z', sizeof(big));
    size_t pos = listpack_seek(lp, 1);
    lp = listpack_replace(lp, pos, big, sizeof(big)); /* grow, string12 -> string32 */
    listpack_entry entry;
    listpack_get(lp, pos, &entry);
    assert_int_equal(entry.len, sizeof(big));
    assert_memory_equal(entry.data, big, sizeof(big));
    assert_int_equal(listpack_prev(lp, listpack_last(lp)), pos);
    assert_entry(lp, listpack_last(lp), S("c"));

    lp = listpack_replace(lp, pos, S("99")); /* shrink, string -> integer */
    assert_contents(lp, (const char *[]){"a", "99", "c", NULL});
    lp = listpack_replace(lp, pos, S("-100000")); /* integer grows */
    assert_contents(lp, (const char *[]){"a", "-100000", "c", NULL});
    lp = listpack_replace(lp, pos, S("099")); /* integer -> string */
    assert_contents(lp, (const char *[]){"a", "099", "c", NULL});
    lp = listpack_replace(lp, listpack_first(lp), S("first-longer")); /* first, grow */
    lp = listpack_replace(lp, listpack_last(lp), S(""));              /* last, empty string */
    assert_contents(lp, (const char *[]){"first-longer", "099", "", NULL});
    size_t same = listpack_bytes(lp);
    lp = listpack_replace(lp, listpack_first(lp), S("FIRST-LONGER")); /* same size */
    assert_int_equal(listpack_bytes(lp), same);
    assert_contents(lp, (const char *[]){"FIRST-LONGER", "099", "", NULL});

    /* Replacing with bytes that live inside the same listpack. */
    listpack_get(lp, listpack_first(lp), &entry);
    lp = listpack_replace(lp, listpack_last(lp), entry.data, entry.len);
    listpack_get(lp, listpack_first(lp), &entry);
    lp = listpack_replace(lp, listpack_first(lp), entry.data + 6, 6);
    listpack_get(lp, listpack_seek(lp, 1), &entry);
    lp = listpack_append(lp, entry.data, entry.len);
    assert_contents(lp, (const char *[]){"LONGER", "099", "FIRST-LONGER", "099", NULL});

    listpack_free(lp);
    assert_int_equal(mem_used(), base);
}

static void test_delete(void **state)
{
    size_t base = mem_used();
    listpack *lp = listpack_create();
    const char *items[] = {"0", "1", "two", "3", "four", "5", "six", "7"};
    for (int i = 0; i < 8; i++)
        lp = listpack_append(lp, items[i], strlen(items[i]));

    size_t next = 123;
    lp = listpack_delete(lp, listpack_seek(lp, 2), 1, &next);
    assert_entry(lp, next, S("3"));
    assert_contents(lp, (const char *[]){"0", "1", "3", "four", "5", "six", "7", NULL});

    lp = listpack_delete(lp, listpack_seek(lp, 1), 3, &next);
    assert_entry(lp, next, S("5"));
    assert_contents(lp, (const char *[]){"0", "5", "six", "7", NULL});

    /* Count past the end clamps; next is NONE. */
    lp = listpack_delete(lp, listpack_seek(lp, 2), 100, &next);
    assert_int_equal(next, LISTPACK_NONE);
    assert_contents(lp, (const char *[]){"0", "5", NULL});

    /* Zero count leaves it alone and next stays on pos. */
    size_t first = listpack_first(lp);
    lp = listpack_delete(lp, first, 0, &next);
    assert_int_equal(next, first);
    assert_int_equal(listpack_length(lp), 2);

    lp = listpack_delete(lp, listpack_first(lp), 1, &next);
    assert_int_equal(next, listpack_first(lp));
    lp = listpack_delete(lp, listpack_first(lp), 1, &next);
    assert_int_equal(next, LISTPACK_NONE);
    assert_int_equal(listpack_length(lp), 0);
    assert_int_equal(listpack_first(lp), LISTPACK_NONE);
    listpack_free(lp);

    /* delete_range with positive, negative and out-of-range indexes. */
    lp = listpack_create();
    for (int i = 0; i < 8; i++)
        lp = listpack_append(lp, items[i], strlen(items[i]));
    lp = listpack_delete_range(lp, 1, 2);
    assert_contents(lp, (const char *[]){"0", "3", "four", "5", "six", "7", NULL});
    lp = listpack_delete_range(lp, -2, 1);
    assert_contents(lp, (const char *[]){"0", "3", "four", "5", "7", NULL});
    lp = listpack_delete_range(lp, -2, 10);
    assert_contents(lp, (const char *[]){"0", "3", "four", NULL});
    lp = listpack_delete_range(lp, 3, 1);
    lp = listpack_delete_range(lp, -4, 1);
    assert_contents(lp, (const char *[]){"0", "3", "four", NULL});
    lp = listpack_delete_range(lp, 0, 3);
    assert_int_equal(listpack_length(lp), 0);
    listpack_free(lp);
    assert_int_equal(mem_used(), base);
}

static void test_find(void **state)
{
    listpack *lp = listpack_create();
    /* key/value pairs where values collide with keys */
    const char *pairs[] = {"name", "age", "age", "42", "42", "x", "bin", "long", "long", "name"};
    for (int i = 0; i < 10; i++)
        lp = listpack_append(lp, pairs[i], strlen(pairs[i]));
    size_t first = listpack_first(lp);

    assert_int_equal(listpack_find(lp, first, S("name"), 0), listpack_seek(lp, 0));
    assert_int_equal(listpack_find(lp, first, S("age"), 0), listpack_seek(lp, 1));
    assert_int_equal(listpack_find(lp, first, S("age"), 1), listpack_seek(lp, 2));
    assert_int_equal(listpack_find(lp, first, S("42"), 0), listpack_seek(lp, 3));
    assert_int_equal(listpack_find(lp, first, S("42"), 1), listpack_seek(lp, 4));
    assert_int_equal(listpack_find(lp, first, S("x"), 1), LISTPACK_NONE);
    assert_int_equal(listpack_find(lp, first, S("x"), 0), listpack_seek(lp, 5));
    assert_int_equal(listpack_find(lp, first, S("long"), 1), listpack_seek(lp, 8));
    assert_int_equal(listpack_find(lp, first, S("missing"), 0), LISTPACK_NONE);
    assert_int_equal(listpack_find(lp, first, S("042"), 0), LISTPACK_NONE);
    assert_int_equal(listpack_find(lp, first, S("4"), 0), LISTPACK_NONE);
    assert_int_equal(listpack_find(lp, first, S("nam"), 0), LISTPACK_NONE);
    /* Starting later, and starting at NONE. */
    assert_int_equal(listpack_find(lp, listpack_seek(lp, 1), S("name"), 0), listpack_seek(lp, 9));
    assert_int_equal(listpack_find(lp, listpack_seek(lp, 1), S("name"), 1), listpack_seek(lp, 9));
    assert_int_equal(listpack_find(lp, listpack_seek(lp, 2), S("name"), 1), LISTPACK_NONE);
    assert_int_equal(listpack_find(lp, LISTPACK_NONE, S("name"), 0), LISTPACK_NONE);
    /* Skip 2 (triples). */
    assert_int_equal(listpack_find(lp, first, S("42"), 2), listpack_seek(lp, 3));
    assert_int_equal(listpack_find(lp, first, S("age"), 2), LISTPACK_NONE);

    /* Integers of every width, and strings of every length class. */
    char big[300], huge[5000];
    memset(big, 'b', sizeof(big));
    memset(huge, 'h', sizeof(huge));
    lp = listpack_append(lp, S("-4000"));
    lp = listpack_append(lp, S("30000"));
    lp = listpack_append(lp, S("8000000"));
    lp = listpack_append(lp, S("2000000000"));
    lp = listpack_append(lp, S("-9223372036854775808"));
    lp = listpack_append(lp, big, sizeof(big));
    lp = listpack_append(lp, huge, sizeof(huge));
    lp = listpack_append(lp, S(""));
    assert_int_equal(listpack_find(lp, first, S("-4000"), 0), listpack_seek(lp, 10));
    assert_int_equal(listpack_find(lp, first, S("30000"), 0), listpack_seek(lp, 11));
    assert_int_equal(listpack_find(lp, first, S("8000000"), 0), listpack_seek(lp, 12));
    assert_int_equal(listpack_find(lp, first, S("2000000000"), 0), listpack_seek(lp, 13));
    assert_int_equal(listpack_find(lp, first, S("-9223372036854775808"), 0), listpack_seek(lp, 14));
    assert_int_equal(listpack_find(lp, first, big, sizeof(big), 0), listpack_seek(lp, 15));
    assert_int_equal(listpack_find(lp, first, huge, sizeof(huge), 0), listpack_seek(lp, 16));
    assert_int_equal(listpack_find(lp, first, huge, sizeof(huge) - 1, 0), LISTPACK_NONE);
    assert_int_equal(listpack_find(lp, first, S(""), 0), listpack_seek(lp, 17));
    listpack_free(lp);
}

/* Each value is stored as an integer (it reads back with data == NULL) and
 * takes the expected number of bytes (encoding + payload + back length). */
static void test_integer_boundaries(void **state)
{
    struct {
        int64_t value;
        size_t entry_bytes;
    } cases[] = {
        {0, 2},
        {1, 2},
        {127, 2},
        {128, 3},
        {-1, 3},
        {-4096, 3},
        {4095, 3},
        {4096, 4},
        {-4097, 4},
        {INT16_MAX, 4},
        {INT16_MIN, 4},
        {INT16_MAX + 1, 5},
        {INT16_MIN - 1, 5},
        {8388607, 5},
        {-8388608, 5},
        {8388608, 6},
        {-8388609, 6},
        {INT32_MAX, 6},
        {INT32_MIN, 6},
        {(int64_t)INT32_MAX + 1, 10},
        {(int64_t)INT32_MIN - 1, 10},
        {INT64_MAX, 10},
        {INT64_MIN, 10},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[24];
        int n = snprintf(text, sizeof(text), "%lld", (long long)cases[i].value);
        for (int as_integer = 0; as_integer < 2; as_integer++) {
            listpack *lp = listpack_create();
            size_t empty = listpack_bytes(lp);
            lp = listpack_append(lp, S("pad"));
            if (as_integer)
                lp = listpack_append_integer(lp, cases[i].value);
            else
                lp = listpack_append(lp, text, (size_t)n);
            lp = listpack_append(lp, S("pad"));
            assert_int_equal(listpack_bytes(lp) - empty - 2 * 5, cases[i].entry_bytes);
            listpack_entry entry;
            size_t pos = listpack_seek(lp, 1);
            listpack_get(lp, pos, &entry);
            assert_null(entry.data);
            assert_int_equal(entry.integer, cases[i].value);
            assert_entry(lp, pos, text, (size_t)n);
            assert_int_equal(listpack_find(lp, listpack_first(lp), text, (size_t)n, 0), pos);
            assert_int_equal(listpack_prev(lp, listpack_last(lp)), pos);
            assert_int_equal(listpack_next(lp, listpack_first(lp)), pos);
            listpack_free(lp);
        }
    }

    /* Not canonical: stays a string. */
    const char *strings[] = {"01",
                             "-0",
                             "+1",
                             " 1",
                             "1 ",
                             "00",
                             "-",
                             "",
                             "9223372036854775808",
                             "-9223372036854775809",
                             "1.0",
                             "0x10"};
    for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
        listpack *lp = listpack_create();
        size_t len = strlen(strings[i]);
        lp = listpack_append(lp, strings[i], len);
        listpack_entry entry;
        listpack_get(lp, listpack_first(lp), &entry);
        assert_non_null(entry.data);
        assert_int_equal(entry.len, len);
        assert_memory_equal(entry.data, strings[i], len);
        assert_int_equal(listpack_find(lp, listpack_first(lp), strings[i], len, 0),
                         listpack_first(lp));
        listpack_free(lp);
    }

    /* Integer entry vs non-canonical query. */
    listpack *lp = listpack_create();
    lp = listpack_append(lp, S("1"));
    lp = listpack_append(lp, S("0"));
    assert_false(listpack_equals(lp, listpack_first(lp), S("01")));
    assert_false(listpack_equals(lp, listpack_first(lp), S("1.0")));
    assert_false(listpack_equals(lp, listpack_last(lp), S("-0")));
    assert_int_equal(listpack_find(lp, listpack_first(lp), S("01"), 0), LISTPACK_NONE);
    assert_int_equal(listpack_find(lp, listpack_first(lp), S("-0"), 0), LISTPACK_NONE);
    listpack_free(lp);
}

static void test_string_sizes(void **state)
{
    /* Short strings cost 2 bytes of overhead; boundary lengths switch class. */
    struct {
        size_t len;
        size_t overhead;
    } cases[] = {{0, 2},    {1, 2},    {63, 2},    {64, 3},    {125, 3},  {126, 4},
                 {4095, 4}, {4096, 7}, {16378, 7}, {16379, 8}, {70000, 8}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *data = malloc(cases[i].len + 1);
        for (size_t j = 0; j < cases[i].len; j++)
            data[j] = (char)('a' + j % 26);
        listpack *lp = listpack_create();
        size_t empty = listpack_bytes(lp);
        lp = listpack_append(lp, S("x"));
        lp = listpack_append(lp, data, cases[i].len);
        lp = listpack_append(lp, S("y"));
        assert_int_equal(listpack_bytes(lp) - empty - 2 * 3, cases[i].len + cases[i].overhead);
        size_t pos = listpack_prev(lp, listpack_last(lp));
        assert_int_equal(pos, listpack_seek(lp, 1));
        listpack_entry entry;
        listpack_get(lp, pos, &entry);
        assert_non_null(entry.data);
        assert_int_equal(entry.len, cases[i].len);
        assert_memory_equal(entry.data, data, cases[i].len);
        assert_true(listpack_equals(lp, pos, data, cases[i].len));
        free(data);
        listpack_free(lp);
    }
}

static void test_binary_and_long(void **state)
{
    size_t base = mem_used();
    listpack *lp = listpack_create();
    const char binary[] = {'a', 0, 'b', 0, 0, (char)0xFF, (char)0x80};
    lp = listpack_append(lp, binary, sizeof(binary));
    lp = listpack_append(lp, "\0", 1);

    size_t long_len = 100000; /* > 64KB */
    char *long_data = malloc(long_len);
    for (size_t i = 0; i < long_len; i++)
        long_data[i] = (char)(i * 7 + 3);
    lp = listpack_append(lp, long_data, long_len);
    lp = listpack_append(lp, S("after"));
    lp = listpack_prepend(lp, long_data, long_len - 1);

    assert_int_equal(listpack_length(lp), 5);
    listpack_entry entry;
    listpack_get(lp, listpack_seek(lp, 1), &entry);
    assert_int_equal(entry.len, sizeof(binary));
    assert_memory_equal(entry.data, binary, sizeof(binary));
    listpack_get(lp, listpack_seek(lp, 2), &entry);
    assert_int_equal(entry.len, 1);
    assert_int_equal(entry.data[0], 0);
    listpack_get(lp, listpack_seek(lp, -2), &entry);
    assert_int_equal(entry.len, long_len);
    assert_memory_equal(entry.data, long_data, long_len);
    listpack_get(lp, listpack_seek(lp, 0), &entry);
    assert_int_equal(entry.len, long_len - 1);

    /* Walk backwards across the long entries. */
    size_t pos = listpack_last(lp);
    assert_entry(lp, pos, S("after"));
    pos = listpack_prev(lp, listpack_prev(lp, pos));
    assert_true(listpack_equals(lp, pos, "\0", 1));
    assert_false(listpack_equals(lp, pos, "", 0));
    pos = listpack_prev(lp, pos);
    assert_true(listpack_equals(lp, pos, binary, sizeof(binary)));
    pos = listpack_prev(lp, pos);
    assert_int_equal(pos, listpack_first(lp));
    assert_int_equal(listpack_prev(lp, pos), LISTPACK_NONE);

    assert_int_equal(listpack_find(lp, listpack_first(lp), binary, sizeof(binary), 0),
                     listpack_seek(lp, 1));
    assert_int_equal(listpack_find(lp, listpack_first(lp), long_data, long_len, 0),
                     listpack_seek(lp, 3));

    listpack *copy = listpack_duplicate(lp);
    assert_int_equal(listpack_bytes(copy), listpack_bytes(lp));
    assert_int_equal(listpack_length(copy), 5);
    listpack_free(lp);
    listpack_get(copy, listpack_seek(copy, 3), &entry);
    assert_memory_equal(entry.data, long_data, long_len);
    lp = listpack_delete(copy, listpack_seek(copy, 3), 1, NULL);
    assert_int_equal(listpack_length(lp), 4);
    assert_entry(lp, listpack_last(lp), S("after"));
    listpack_free(lp);
    free(long_data);
    assert_int_equal(mem_used(), base);
}

/* Randomized: every change is mirrored in an array of strings, and the two
 * are compared after each step (fully every few steps). */
typedef struct model_item {
    char *data;
    size_t len;
} model_item;

typedef struct model {
    model_item *items;
    size_t count;
    size_t capacity;
} model;

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static size_t random_value(char *buf)
{
    static const char *specials[] = {"0",
                                     "-1",
                                     "127",
                                     "128",
                                     "-4096",
                                     "4095",
                                     "01",
                                     "-0",
                                     "",
                                     "32767",
                                     "-32769",
                                     "2147483648",
                                     "-9223372036854775808",
                                     "9223372036854775807",
                                     "9223372036854775808"};
    switch (rng() % 6) {
    case 0:
        strcpy(buf, specials[rng() % (sizeof(specials) / sizeof(specials[0]))]);
        return strlen(buf);
    case 1:
        return (size_t)snprintf(buf, 32, "%lld", (long long)(int64_t)rng() >> (rng() % 64));
    case 2: {
        size_t len = rng() % 200 == 0 ? 4096 + rng() % 3000 : rng() % 300;
        for (size_t i = 0; i < len; i++)
            buf[i] = (char)(rng() & 0xFF);
        return len;
    }
    default: {
        /* A small alphabet so finds hit often. */
        size_t len = rng() % 4;
        for (size_t i = 0; i < len; i++)
            buf[i] = (char)('a' + rng() % 3);
        return len;
    }
    }
}

static void model_insert(model *m, size_t index, const char *data, size_t len)
{
    if (m->count == m->capacity) {
        m->capacity = m->capacity ? m->capacity * 2 : 16;
        m->items = realloc(m->items, m->capacity * sizeof(model_item));
    }
    memmove(m->items + index + 1, m->items + index, (m->count - index) * sizeof(model_item));
    m->items[index].data = malloc(len ? len : 1);
    memcpy(m->items[index].data, data, len);
    m->items[index].len = len;
    m->count++;
}

static void model_delete(model *m, size_t index, size_t count)
{
    if (index + count > m->count)
        count = m->count - index;
    for (size_t i = index; i < index + count; i++)
        free(m->items[i].data);
    memmove(m->items + index, m->items + index + count,
            (m->count - index - count) * sizeof(model_item));
    m->count -= count;
}

static void assert_matches_model(const listpack *lp, const model *m, int full)
{
    assert_int_equal(listpack_length(lp), m->count);
    if (!full)
        return;
    char scratch[24];
    size_t pos = listpack_first(lp);
    for (size_t i = 0; i < m->count; i++) {
        listpack_entry entry;
        size_t len;
        listpack_get(lp, pos, &entry);
        const char *bytes = listpack_entry_bytes(&entry, scratch, &len);
        assert_int_equal(len, m->items[i].len);
        assert_memory_equal(bytes, m->items[i].data, len);
        pos = listpack_next(lp, pos);
    }
    assert_int_equal(pos, LISTPACK_NONE);
    pos = listpack_last(lp);
    for (size_t i = m->count; i-- > 0;) {
        assert_true(listpack_equals(lp, pos, m->items[i].data, m->items[i].len));
        pos = listpack_prev(lp, pos);
    }
    assert_int_equal(pos, LISTPACK_NONE);
}

static void test_randomized(void **state)
{
    size_t base = mem_used();
    listpack *lp = listpack_create();
    model m = {0};
    char *buf = malloc(8192);

    for (int step = 0; step < 20000; step++) {
        size_t len = random_value(buf);
        size_t index = m.count ? rng() % (m.count + 1) : 0;
        int op = (int)(rng() % 10);
        if (m.count > 300 && op < 5)
            op += 5; /* keep the size bounded */
        switch (op) {
        case 0:
            lp = listpack_append(lp, buf, len);
            model_insert(&m, m.count, buf, len);
            break;
        case 1:
            lp = listpack_prepend(lp, buf, len);
            model_insert(&m, 0, buf, len);
            break;
        case 2:
        case 3: {
            size_t pos = listpack_seek(lp, (int64_t)index), inserted;
            lp = listpack_insert(lp, pos, buf, len, &inserted);
            model_insert(&m, index, buf, len);
            assert_true(listpack_equals(lp, inserted, buf, len));
            assert_int_equal(inserted, listpack_seek(lp, (int64_t)index));
            break;
        }
        case 4: {
            int64_t value = (int64_t)rng() >> (rng() % 64);
            char text[24];
            int n = snprintf(text, sizeof(text), "%lld", (long long)value);
            lp = listpack_append_integer(lp, value);
            model_insert(&m, m.count, text, (size_t)n);
            break;
        }
        case 5:
        case 6:
            if (m.count) {
                index %= m.count;
                lp = listpack_replace(lp, listpack_seek(lp, (int64_t)index), buf, len);
                free(m.items[index].data);
                m.items[index].data = malloc(len ? len : 1);
                memcpy(m.items[index].data, buf, len);
                m.items[index].len = len;
            }
            break;
        case 7:
            if (m.count) {
                index %= m.count;
                size_t count = rng() % 4, next;
                lp = listpack_delete(lp, listpack_seek(lp, (int64_t)index), count, &next);
                model_delete(&m, index, count);
                assert_int_equal(next, listpack_seek(lp, (int64_t)index));
            }
            break;
        case 8: {
            int64_t start = (int64_t)(rng() % (m.count + 3)) - (int64_t)(m.count + 1);
            if (rng() % 2)
                start = (int64_t)(rng() % (m.count + 2));
            size_t count = rng() % 5;
            lp = listpack_delete_range(lp, start, count);
            int64_t resolved = start < 0 ? start + (int64_t)m.count : start;
            if (resolved >= 0 && (size_t)resolved < m.count)
                model_delete(&m, (size_t)resolved, count);
            break;
        }
        case 9: {
            /* find with skip 0 and 1 from a random start */
            int skip = (int)(rng() % 2);
            size_t from = m.count ? rng() % m.count : 0;
            size_t expected = SIZE_MAX;
            for (size_t i = from; i < m.count; i += (size_t)skip + 1) {
                if (m.items[i].len == len && memcmp(m.items[i].data, buf, len) == 0) {
                    expected = i;
                    break;
                }
            }
            size_t got = listpack_find(lp, listpack_seek(lp, (int64_t)from), buf, len, skip);
            if (expected == SIZE_MAX)
                assert_int_equal(got, LISTPACK_NONE);
            else
                assert_int_equal(got, listpack_seek(lp, (int64_t)expected));
            break;
        }
        }
        assert_matches_model(lp, &m, step % 16 == 0);
        if (m.count) {
            size_t i = rng() % m.count;
            size_t pos = listpack_seek(lp, (int64_t)i - (int64_t)m.count);
            assert_true(listpack_equals(lp, pos, m.items[i].data, m.items[i].len));
        }
    }
    assert_matches_model(lp, &m, 1);

    listpack *copy = listpack_duplicate(lp);
    listpack_free(lp);
    assert_matches_model(copy, &m, 1);
    listpack_free(copy);
    model_delete(&m, 0, m.count);
    free(m.items);
    free(buf);
    assert_int_equal(mem_used(), base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_append_prepend_insert),
        cmocka_unit_test(test_get_entry_shapes),
        cmocka_unit_test(test_seek),
        cmocka_unit_test(test_replace),
        cmocka_unit_test(test_delete),
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_integer_boundaries),
        cmocka_unit_test(test_string_sizes),
        cmocka_unit_test(test_binary_and_long),
        cmocka_unit_test(test_randomized),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
