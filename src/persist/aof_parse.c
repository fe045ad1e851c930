/* The AOF's command stream: "*<argc>\r\n" then "$<len>\r\n<bytes>\r\n" per
 * argument, nothing else. Strict on purpose: an AOF is written by a
 * server, so anything else is damage, and where the damage is matters
 * (a cut-off tail may be dropped, garbage in the middle may not). */
#include <string.h>

#include "rivet/aof.h"
#include "rivet/memory.h"

#define AOF_MAX_ARGS (1 << 20)

/* Reads "<prefix><digits>\r\n" at *pos. 0 ok, TRUNCATED, or BAD. */
static aof_parse_status read_number(const char *data, size_t len, size_t *pos, char prefix,
                                    long long *out)
{
    size_t p = *pos;
    if (p >= len)
        return AOF_PARSE_TRUNCATED;
    if (data[p] != prefix)
        return AOF_PARSE_BAD;
    p++;
    long long value = 0;
    size_t digits = 0;
    while (p < len && data[p] >= '0' && data[p] <= '9') {
        if (value > (1LL << 50))
            return AOF_PARSE_BAD;
        value = value * 10 + (data[p] - '0');
        p++;
        digits++;
    }
    if (p >= len || (p + 1 >= len && data[p] == '\r'))
        return AOF_PARSE_TRUNCATED;
    if (digits == 0 || data[p] != '\r' || data[p + 1] != '\n')
        return AOF_PARSE_BAD;
    *pos = p + 2;
    *out = value;
    return AOF_PARSE_OK;
}

aof_parse_status aof_parse_command(const char *data, size_t len, size_t *pos, int *argc,
                                   const char ***argv, size_t **lens, int *argc_cap)
{
    size_t p = *pos;
    /* "#..." lines are annotations (Redis's aof-timestamp-enabled): skip. */
    while (p < len && data[p] == '#') {
        const char *nl = memchr(data + p, '\n', len - p);
        if (nl == NULL)
            return AOF_PARSE_TRUNCATED;
        p = (size_t)(nl - data) + 1;
    }
    if (p >= len) {
        *pos = p;
        return AOF_PARSE_END;
    }
    long long count;
    aof_parse_status st = read_number(data, len, &p, '*', &count);
    if (st != AOF_PARSE_OK)
        return st;
    if (count < 1 || count > AOF_MAX_ARGS)
        return AOF_PARSE_BAD;
    if (count > *argc_cap) {
        *argc_cap = (int)count;
        *argv = mem_realloc(*argv, sizeof(char *) * (size_t)count);
        *lens = mem_realloc(*lens, sizeof(size_t) * (size_t)count);
    }
    for (long long i = 0; i < count; i++) {
        long long n;
        st = read_number(data, len, &p, '$', &n);
        if (st != AOF_PARSE_OK)
            return st;
        if ((size_t)n > len - p || len - p - (size_t)n < 2)
            return AOF_PARSE_TRUNCATED;
        if (data[p + (size_t)n] != '\r' || data[p + (size_t)n + 1] != '\n')
            return AOF_PARSE_BAD;
        (*argv)[i] = data + p;
        (*lens)[i] = (size_t)n;
        p += (size_t)n + 2;
    }
    *argc = (int)count;
    *pos = p;
    return AOF_PARSE_OK;
}
