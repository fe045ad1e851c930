/* number: conversions between byte strings and numbers with Redis's exact
 * rules, so replies and error decisions match Redis byte for byte: integers
 * are accepted only in canonical form, doubles print in the shortest form that
 * reads back to the same value. */
#ifndef RIVET_NUMBER_H
#define RIVET_NUMBER_H

#include <stddef.h>
#include <stdint.h>

/* Strict int64 parse: optional '-', digits, no leading zeros (except "0"), no
 * spaces, no '+'. Returns 1 on success. */
int number_parse_int64(const char *s, size_t len, int64_t *out);
/* Double parse as Redis's string-to-double: no spaces, no NaN; "inf", "+inf",
 * "-inf" accepted. Returns 1 on success. */
int number_parse_double(const char *s, size_t len, double *out);
int number_parse_long_double(const char *s, size_t len, long double *out);
/* A SCAN cursor as Redis reads it (strtoul's grammar). Returns 1 on success,
 * 0 for a malformed or overflowing cursor. */
int number_parse_cursor(const char *s, size_t len, uint64_t *out);
/* Writes the decimal form of value into buf (>= 21 bytes); returns length. */
size_t number_format_int64(char *buf, int64_t value);
/* Redis's double rendering (RESP3 double / RESP2 bulk): "inf", "-inf", and
 * otherwise "%.17g". buf >= 32 bytes; returns length. */
size_t number_format_double(char *buf, double value);
/* INCRBYFLOAT's rendering: "%.17Lf" with trailing zeros (and a bare '.')
 * removed. Returns the length, or 0 if it does not fit in size bytes. */
size_t number_format_long_double(char *buf, size_t size, long double value);

#endif
