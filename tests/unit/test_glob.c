/* Tests for glob_match. The expected values in the tables were checked against
 * real Redis 7.0 (KEYS for case-sensitive cases, CONFIG GET for nocase ones),
 * except where a comment says otherwise. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rivet/glob.h"
#include "rivet/memory.h"

typedef struct glob_case {
    const char *pattern;
    const char *string;
    int expected;
} glob_case;

static void check_cases(const glob_case *cases, size_t count, int nocase)
{
    for (size_t i = 0; i < count; i++) {
        const glob_case *c = &cases[i];
        int got = glob_match(c->pattern, strlen(c->pattern), c->string, strlen(c->string), nocase);
        if (got != c->expected)
            fail_msg("pattern \"%s\" string \"%s\" nocase %d: expected %d, got %d", c->pattern,
                     c->string, nocase, c->expected, got);
    }
}

static void test_literals_and_wildcards(void **state)
{
    static const glob_case cases[] = {
        {"", "", 1},
        {"", "a", 0},
        {"a", "", 0},
        {"abc", "abc", 1},
        {"abc", "abd", 0},
        {"abc", "ab", 0},
        {"ab", "abc", 0},
        {"abc", "ABC", 0},
        {"*", "anything", 1},
        {"*", "", 1}, /* Redis 7.0's matcher says 0 (KEYS * bypasses it); see glob.c */
        {"**", "", 1},
        {"?*", "", 0},
        {"a*", "a", 1},
        {"a*", "abc", 1},
        {"a*", "ba", 0},
        {"*a", "bca", 1},
        {"*a", "ab", 0},
        {"a*c", "ac", 1},
        {"a*c", "abbbc", 1},
        {"a*c", "abbbcd", 0},
        {"a**c", "abc", 1},
        {"*b*", "abc", 1},
        {"*b*", "acd", 0},
        {"h*llo", "hello", 1},
        {"h*llo", "heeeeello", 1},
        {"h*llo", "hllo", 1},
        {"*llo*llo", "hellollo", 1},
        {"*llo*llo", "hello", 0},
        {"a*b*c", "aXbYbZc", 1},
        {"a*b*c", "aXcYb", 0},
        {"?", "a", 1},
        {"?", "", 0},
        {"?", "ab", 0},
        {"h?llo", "hallo", 1},
        {"h?llo", "hllo", 0},
        {"??*", "a", 0},
        {"??*", "ab", 1},
        {"user:*:name", "user:42:name", 1},
        {"user:*:name", "user:42:email", 0},
    };
    check_cases(cases, sizeof(cases) / sizeof(cases[0]), 0);
}

static void test_sets_and_ranges(void **state)
{
    static const glob_case cases[] = {
        {"h[ae]llo", "hello", 1},
        {"h[ae]llo", "hallo", 1},
        {"h[ae]llo", "hillo", 0},
        {"h[^e]llo", "hallo", 1},
        {"h[^e]llo", "hello", 0},
        {"h[a-b]llo", "hbllo", 1},
        {"h[a-b]llo", "hcllo", 0},
        {"[z-a]", "m", 1}, /* reversed ranges are swapped */
        {"[z-a]", "A", 0},
        {"[A-z]", "m", 1},
        {"[A-z]", "_", 1},
        {"[^a-c]", "d", 1},
        {"[^a-c]", "b", 0},
        {"[a-cx-z]", "y", 1},
        {"[a-cx-z]", "m", 0},
        {"[abc", "a", 1},  /* unclosed: the set runs to the end */
        {"[abc", "ab", 0}, /* ... and swallows the rest of the pattern */
        {"[", "a", 0},     /* an unclosed empty set matches nothing */
        {"a[", "a", 0},
        {"a[", "ab", 0},
        {"[^", "a", 1}, /* an unclosed empty negated set matches any byte */
        {"[^a", "b", 1},
        {"[]abc]", "a", 0}, /* "[]" is an empty set, not a literal ']' */
        {"[]abc]", "]", 0},
        {"[]abc]", "abc]", 0},
        {"[^]", "x", 1},
        {"[^]x", "yx", 1},
        {"[a-]", "]", 1}, /* the range a..']' eats the ']' (93..97) */
        {"[a-]", "_", 1},
        {"[a-]", "-", 0},
        {"[a-]x", "_", 1}, /* ... so the set is unclosed and 'x' joins it */
        {"[a-]x", "x", 1},
        {"[a-]x", "_x", 0},
        {"[-a]", "-", 1},
        {"[a-b-c]", "-", 1},
        {"[*]", "*", 1},
        {"[*]", "a", 0},
        {"[?]", "?", 1},
        {"[?]", "a", 0},
        {"*[0-9]", "key9", 1},
        {"*[0-9]", "key", 0},
    };
    check_cases(cases, sizeof(cases) / sizeof(cases[0]), 0);
}

static void test_escapes(void **state)
{
    static const glob_case cases[] = {
        {"\\*", "*", 1},     {"\\*", "a", 0},    {"\\?", "?", 1},       {"\\?", "a", 0},
        {"\\[a]", "[a]", 1}, {"\\[a]", "a", 0},  {"a\\\\b", "a\\b", 1}, {"\\a", "a", 1},
        {"\\", "\\", 1}, /* a lone trailing backslash is literal */
        {"a\\", "a\\", 1},   {"a\\", "a", 0},    {"[\\]]", "]", 1}, /* escape inside a set */
        {"[\\]]", "\\", 0},  {"[\\^a]", "^", 1}, {"[\\-]", "-", 1},     {"[a\\-z]", "-", 1},
        {"[a\\-z]", "m", 0}, {"[a\\", "a", 1}, /* a set ending in a lone backslash includes it */
        {"[a\\", "\\", 1},   {"[\\", "\\", 1},   {"[\\", "a", 0},       {"*\\*", "abc*", 1},
        {"*\\*", "abc", 0},
    };
    check_cases(cases, sizeof(cases) / sizeof(cases[0]), 0);
}

static void test_nocase(void **state)
{
    static const glob_case insensitive[] = {
        {"MAXMEM*", "maxmemory", 1},
        {"maxmem*", "MAXMEMORY", 1},
        {"\\Maxmemor?", "maxmemory", 1},
        {"[L-N]AXMEMOR?", "maxmemory", 1},
        {"[l-n]axmemory", "MAXMEMORY", 1},
        {"[^M]axmemory", "maxmemory", 0},
        {"[M]axmemory", "maxmemory", 1},
        {"[\\M]axmemor?", "maxmemory", 0}, /* escaped set members stay exact */
        {"maxmemory-polic[\\y]", "maxmemory-policy", 1},
        {"maxmemory-polic[\\Y]", "maxmemory-policy", 0},
        {"[a-Z]axmemory", "maxmemory", 0}, /* swapped to Z-a, folded to z-a: empty */
        {"[^A-Z]axmemory", "maxmemory", 0},
        {"h?LLO", "HeLlo", 1},
        {"hello", "hellO", 1},
        {"hello", "hellp", 0},
    };
    static const glob_case sensitive[] = {
        {"MAXMEM*", "maxmemory", 0},
        {"[L-N]AXMEMOR?", "maxmemory", 0},
        {"[^M]axmemory", "maxmemory", 1},
    };
    check_cases(insensitive, sizeof(insensitive) / sizeof(insensitive[0]), 1);
    check_cases(sensitive, sizeof(sensitive) / sizeof(sensitive[0]), 0);
}

static void test_binary_safe(void **state)
{
    /* NUL is an ordinary byte on both sides. */
    assert_int_equal(glob_match("a\0b", 3, "a\0b", 3, 0), 1);
    assert_int_equal(glob_match("a\0b", 3, "a\0c", 3, 0), 0);
    assert_int_equal(glob_match("a?b", 3, "a\0b", 3, 0), 1);
    assert_int_equal(glob_match("*\0", 2, "xyz\0", 4, 0), 1);
    assert_int_equal(glob_match("*\0", 2, "xyz", 3, 0), 0);
    assert_int_equal(glob_match("[\0-\x02]", 5, "\x01", 1, 0), 1);
    /* Only the given lengths count, not what follows in memory. */
    assert_int_equal(glob_match("abc", 2, "ab", 2, 0), 1);
    assert_int_equal(glob_match("ab*", 2, "abc", 3, 0), 0);
    /* High bytes: range ends compare as signed chars, as in Redis on x86-64. */
    assert_int_equal(glob_match("\xff", 1, "\xff", 1, 0), 1);
    assert_int_equal(glob_match("[\x80-\xff]", 5, "\xa0", 1, 0), 1);
    assert_int_equal(glob_match("[\x80-\xff]", 5, "a", 1, 0), 0);
    assert_int_equal(glob_match("[a-\xff]", 5, "\xff", 1, 0), 1);
    assert_int_equal(glob_match("[a-\xff]", 5, "\xfe", 1, 0), 0);
    assert_int_equal(glob_match("[a-\xff]", 5, "0", 1, 0), 1);
    assert_int_equal(glob_match("[a-\xff]", 5, "b", 1, 0), 0);
    /* Case folding is ASCII only. */
    assert_int_equal(glob_match("\xc9", 1, "\xe9", 1, 1), 0);
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* Naive backtracking needs about C(n, stars) steps here; at these sizes it
 * would not finish in a lifetime. */
static void test_pathological_patterns_are_fast(void **state)
{
    size_t len = 20000;
    char *string = mem_alloc(len);
    memset(string, 'a', len);
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);

    const char *stars = "a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b";
    assert_int_equal(glob_match(stars, strlen(stars), string, len, 0), 0);
    string[len - 1] = 'b';
    assert_int_equal(glob_match(stars, strlen(stars), string, len, 0), 1);
    string[len - 1] = 'a';

    const char *leading = "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*?b";
    assert_int_equal(glob_match(leading, strlen(leading), string, len, 1), 0);

    const char *sets = "*[a]*[a]*[^b]*[a-a]*\\a*?*c";
    assert_int_equal(glob_match(sets, strlen(sets), string, len, 0), 0);

    double elapsed = seconds_since(&start);
    if (elapsed > 2.0)
        fail_msg("pathological patterns took %.3f s", elapsed);
    mem_free(string);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literals_and_wildcards),
        cmocka_unit_test(test_sets_and_ranges),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_nocase),
        cmocka_unit_test(test_binary_safe),
        cmocka_unit_test(test_pathological_patterns_are_fast),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
