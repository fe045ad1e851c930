/* glob: Redis-style glob patterns, as used by KEYS, SCAN MATCH, PSUBSCRIBE and
 * CONFIG GET. Binary safe (explicit lengths, NUL is an ordinary byte), allocates
 * nothing, and runs in O(pattern * string) time at worst: no pattern can make it
 * backtrack exponentially. */
#ifndef RIVET_GLOB_H
#define RIVET_GLOB_H

#include <stddef.h>

/* Returns 1 if string matches pattern, 0 if not. Pattern syntax:
 *   *        any run of bytes, including none
 *   ?        exactly one byte
 *   [abc]    one byte from the set; [^abc] one byte not in it; [a-z] a range
 *            ([z-a] is the same range); \x inside a set is a literal x
 *   \x       a literal x (a trailing lone \ is a literal backslash)
 * Quirks kept from Redis: "[]" is an empty set (matches nothing) and "[^]"
 * matches any byte; an unclosed "[" runs to the end of the pattern; range ends
 * compare as signed chars, as Redis does on x86-64. With nocase, ASCII letters
 * compare case-insensitively (except after \ inside a set, as in Redis). */
int glob_match(const char *pattern, size_t pattern_len, const char *string, size_t string_len,
               int nocase);

#endif
