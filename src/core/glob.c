/* Glob matching with Redis's pattern rules.
 *
 * Every pattern element other than '*' consumes exactly one byte of the string,
 * and where an element ends depends only on the pattern. That makes the classic
 * "remember the last star" scheme exact: when the text after a star fails to
 * match, only the most recent star needs to swallow one more byte. An earlier
 * star swallowing more could only shift the later star's starting point right,
 * and the later star can already start anywhere. So we never recurse and never
 * revisit more than one star, which bounds the work by pattern_len * string_len
 * even for patterns like "a*a*a*a*a*b" that make naive backtracking explode.
 *
 * Where Redis's behaviour is odd but observable (empty "[]", a range that eats
 * the closing ']', signed range ends), we follow Redis, because clients see the
 * results through KEYS, SCAN and PSUBSCRIBE. One deliberate difference: Redis
 * 7.0 never matches an empty string against a non-empty pattern, so "**" fails
 * to match ""; that is a known Redis bug and here any all-star pattern matches
 * the empty string. */
#include "rivet/glob.h"

/* ASCII only, like the C locale Redis runs its matcher in; other bytes (and
 * negative values from signed chars) pass through unchanged. */
static int ascii_lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

static int bytes_equal(char a, char b, int nocase)
{
    if (nocase)
        return ascii_lower((signed char)a) == ascii_lower((signed char)b);
    return a == b;
}

/* Ends are compared as signed chars because Redis reads them through plain
 * char on x86-64: "[a-\xff]" there means -1..97, not 97..255. Ends given in the
 * wrong order are swapped; only then does nocase fold them, as in Redis. */
static int range_contains(char first, char last, char c, int nocase)
{
    int low = (signed char)first;
    int high = (signed char)last;
    int value = (signed char)c;

    if (low > high) {
        int swap = low;
        low = high;
        high = swap;
    }
    if (nocase) {
        low = ascii_lower(low);
        high = ascii_lower(high);
        value = ascii_lower(value);
    }
    return value >= low && value <= high;
}

/* Matches c against the bracket set whose body starts just after '[' and stores
 * in *used how many pattern bytes the body takes (its ']' included). A set
 * missing its ']' runs to the end of the pattern. */
static int set_matches(const char *body, size_t len, char c, int nocase, size_t *used)
{
    size_t i = 0;
    int negate = 0;
    int found = 0;

    if (i < len && body[i] == '^') {
        negate = 1;
        i++;
    }
    while (i < len) {
        if (body[i] == '\\' && len - i >= 2) {
            /* An escaped byte in a set is always compared exactly. */
            if (body[i + 1] == c)
                found = 1;
            i += 2;
        } else if (body[i] == ']') {
            i++;
            break;
        } else if (len - i >= 3 && body[i + 1] == '-') {
            /* The end of a range may be the ']' that looked like the close. */
            if (range_contains(body[i], body[i + 2], c, nocase))
                found = 1;
            i += 3;
        } else {
            if (bytes_equal(body[i], c, nocase))
                found = 1;
            i++;
        }
    }
    *used = i;
    return found != negate;
}

/* Matches one byte against the (non-star) element at the start of pattern and
 * stores the element's length in *used. */
static int element_matches(const char *pattern, size_t len, char c, int nocase, size_t *used)
{
    switch (pattern[0]) {
    case '?':
        *used = 1;
        return 1;
    case '[': {
        size_t body_len;
        int found = set_matches(pattern + 1, len - 1, c, nocase, &body_len);
        *used = 1 + body_len;
        return found;
    }
    case '\\':
        if (len >= 2) {
            *used = 2;
            return bytes_equal(pattern[1], c, nocase);
        }
        /* A lone trailing backslash is itself. */
        *used = 1;
        return c == '\\';
    default:
        *used = 1;
        return bytes_equal(pattern[0], c, nocase);
    }
}

int glob_match(const char *pattern, size_t pattern_len, const char *string, size_t string_len,
               int nocase)
{
    size_t p = 0;
    size_t s = 0;
    int have_star = 0;
    size_t star_p = 0; /* pattern position just after the last star run */
    size_t star_s = 0; /* string position that star's match ends at, so far */

    while (s < string_len) {
        size_t used;

        if (p < pattern_len && pattern[p] == '*') {
            while (p < pattern_len && pattern[p] == '*')
                p++;
            if (p == pattern_len)
                return 1; /* a trailing star takes the rest, whatever it is */
            have_star = 1;
            star_p = p;
            star_s = s;
            continue;
        }
        if (p < pattern_len &&
            element_matches(pattern + p, pattern_len - p, string[s], nocase, &used)) {
            p += used;
            s++;
            continue;
        }
        if (!have_star)
            return 0;
        /* Let the last star swallow one more byte and retry what follows it. */
        star_s++;
        s = star_s;
        p = star_p;
    }
    while (p < pattern_len && pattern[p] == '*')
        p++;
    return p == pattern_len;
}
