/* Number parsing and formatting with Redis's rules. The strict integer form
 * matters: "01", " 1" and "+1" are strings, not integers, to Redis, and
 * OBJECT ENCODING / INCR behave accordingly. */
#include "rivet/number.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int number_parse_int64(const char *s, size_t len, int64_t *out)
{
    if (len == 0 || len > 20)
        return 0;
    size_t i = 0;
    int negative = 0;
    if (s[0] == '-') {
        negative = 1;
        i = 1;
        if (len == 1)
            return 0;
    }
    if (s[i] == '0') {
        if (len == i + 1 && !negative) {
            *out = 0;
            return 1;
        }
        return 0; /* leading zero, or "-0" */
    }
    uint64_t value = 0;
    for (; i < len; i++) {
        unsigned digit = (unsigned char)s[i] - '0';
        if (digit > 9)
            return 0;
        if (value > (UINT64_MAX - digit) / 10)
            return 0;
        value = value * 10 + digit;
    }
    if (negative) {
        if (value > (uint64_t)INT64_MAX + 1)
            return 0;
        *out = (int64_t)(0 - value);
    } else {
        if (value > INT64_MAX)
            return 0;
        *out = (int64_t)value;
    }
    return 1;
}

int number_parse_double(const char *s, size_t len, double *out)
{
    char buf[256];
    if (len == 0 || len >= sizeof(buf))
        return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (buf[0] == ' ' || buf[0] == '\t' || buf[0] == '\n' || buf[0] == '\r')
        return 0;
    errno = 0;
    char *end;
    double value = strtod(buf, &end);
    if ((size_t)(end - buf) != len || isnan(value))
        return 0;
    if (errno == ERANGE && (value == HUGE_VAL || value == -HUGE_VAL || value == 0))
        return 0;
    *out = value;
    return 1;
}

int number_parse_long_double(const char *s, size_t len, long double *out)
{
    char buf[256];
    if (len == 0 || len >= sizeof(buf))
        return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (buf[0] == ' ' || buf[0] == '\t' || buf[0] == '\n' || buf[0] == '\r')
        return 0;
    errno = 0;
    char *end;
    long double value = strtold(buf, &end);
    if ((size_t)(end - buf) != len || isnan(value) || errno == ERANGE)
        return 0;
    *out = value;
    return 1;
}

size_t number_format_int64(char *buf, int64_t value)
{
    char tmp[24];
    size_t n = 0;
    uint64_t v = value < 0 ? (uint64_t)0 - (uint64_t)value : (uint64_t)value;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    size_t len = 0;
    if (value < 0)
        buf[len++] = '-';
    while (n)
        buf[len++] = tmp[--n];
    buf[len] = '\0';
    return len;
}

size_t number_format_double(char *buf, double value)
{
    if (isinf(value)) {
        strcpy(buf, value > 0 ? "inf" : "-inf");
        return strlen(buf);
    }
    /* Redis 7.0 (the version our compat tests compare against) prints
     * "%.17g", so 1.1 reads back as "1.1000000000000001". */
    return (size_t)snprintf(buf, 32, "%.17g", value);
}

size_t number_format_long_double(char *buf, size_t size, long double value)
{
    if (isinf(value)) {
        const char *s = value > 0 ? "inf" : "-inf";
        size_t n = strlen(s);
        if (n + 1 > size)
            return 0;
        memcpy(buf, s, n + 1);
        return n;
    }
    int n = snprintf(buf, size, "%.17Lf", value);
    if (n < 0 || (size_t)n >= size)
        return 0;
    size_t len = (size_t)n;
    if (memchr(buf, '.', len) != NULL) {
        while (len > 0 && buf[len - 1] == '0')
            len--;
        if (len > 0 && buf[len - 1] == '.')
            len--;
    }
    if (len == 2 && buf[0] == '-' && buf[1] == '0')
        len = 1, buf[0] = '0';
    buf[len] = '\0';
    return len;
}

/* SCAN cursors follow strtoul's grammar (Redis parses them with it), not
 * the strict integer rule: an optional sign ("-1" wraps to the largest
 * cursor), digits, nothing after them; a leading space is refused and an
 * empty string reads as 0. */
int number_parse_cursor(const char *s, size_t len, uint64_t *out)
{
    size_t i = 0;
    int negative = 0;
    if (len > 0 && isspace((unsigned char)s[0]))
        return 0;
    if (i < len && (s[i] == '+' || s[i] == '-')) {
        negative = s[i] == '-';
        i++;
    }
    if (i == len || s[i] < '0' || s[i] > '9') {
        /* No digits: strtoul stops at the very first byte, so only an empty
         * string (or one that starts with NUL) gets through. */
        *out = 0;
        return len == 0 || s[0] == '\0';
    }
    uint64_t value = 0;
    int overflow = 0;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        unsigned digit = (unsigned)(s[i] - '0');
        if (value > (UINT64_MAX - digit) / 10)
            overflow = 1;
        value = value * 10 + digit;
    }
    if (overflow || (i < len && s[i] != '\0'))
        return 0;
    *out = negative ? (uint64_t)0 - value : value;
    return 1;
}
