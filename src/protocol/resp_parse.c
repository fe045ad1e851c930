/* Incremental parser for client requests. The rules follow what Redis 7 does
 * on the wire, including its quirks, because clients and proxies depend on
 * them: header lines end at the first '\r' and the byte after it is skipped
 * unchecked; the two bytes after a bulk payload are skipped unchecked; a NUL
 * byte before a line's terminator hides the terminator (Redis searches lines
 * with strchr), so such a request only ends when the too-big limit trips.
 *
 * Nothing is copied from the caller's buffer except inline arguments that had
 * to be unquoted. Every position is an offset from the start of the buffer,
 * so the caller may move the buffer between calls. */
#include "rivet/resp_parse.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "rivet/memory.h"

enum { KIND_NONE, KIND_MULTIBULK, KIND_INLINE };

/* What one step of parsing the current command ended with. */
typedef enum step { STEP_COMMAND, STEP_EMPTY, STEP_INCOMPLETE, STEP_ERROR } step;

/* An inline argument that lives in inline_copy has this bit set in its
 * offset; resp_parse_arg strips it and looks in the copy instead of buf. */
#define ARG_IN_COPY ((size_t)1 << (sizeof(size_t) * CHAR_BIT - 1))

/* Redis refuses bigger requests from clients that have not authenticated. */
#define UNAUTHENTICATED_MAX_COUNT    10
#define UNAUTHENTICATED_MAX_BULK_LEN 16384

/* Redis preallocates argv for at most this many arguments, whatever the
 * count line claims, so a lying count cannot reserve memory. */
#define ARGV_FIRST_RESERVE 1024

void resp_parse_limits_default(resp_parse_limits *limits)
{
    limits->max_bulk_len = 512LL * 1024 * 1024;
    limits->max_multibulk_count = INT_MAX;
    limits->max_inline_len = 64 * 1024;
    limits->unauthenticated = 0;
}

void resp_parser_init(resp_parser *parser, const resp_parse_limits *limits)
{
    memset(parser, 0, sizeof(*parser));
    if (limits)
        parser->limits = *limits;
    else
        resp_parse_limits_default(&parser->limits);
    resp_parser_reset(parser);
}

void resp_parser_release(resp_parser *parser)
{
    mem_free(parser->argv_offset);
    mem_free(parser->argv_len);
    mem_free(parser->inline_copy);
    parser->argv_offset = NULL;
    parser->argv_len = NULL;
    parser->argv_cap = 0;
    parser->inline_copy = NULL;
    parser->inline_copy_cap = 0;
    resp_parser_reset(parser);
}

/* Start over at the beginning of buf, with no command in progress. */
static void begin_fresh(resp_parser *parser)
{
    parser->kind = KIND_NONE;
    parser->multibulk_left = -1;
    parser->bulk_len = -1;
    parser->pos = 0;
    parser->command_start = 0;
    parser->scan = 0;
}

void resp_parser_reset(resp_parser *parser)
{
    begin_fresh(parser);
    parser->argc = 0;
    parser->error = NULL;
    parser->inline_uses_copy = 0;
}

const char *resp_parse_arg(const resp_parser *parser, const char *buf, int i, size_t *len)
{
    size_t offset = parser->argv_offset[i];
    *len = parser->argv_len[i];
    if (offset & ARG_IN_COPY)
        return parser->inline_copy + (offset & ~ARG_IN_COPY);
    return buf + offset;
}

static void push_arg(resp_parser *parser, size_t offset, size_t len)
{
    if (parser->argc == parser->argv_cap) {
        int64_t cap = parser->argv_cap ? (int64_t)parser->argv_cap * 2 : 8;
        if (parser->kind == KIND_MULTIBULK && parser->argc == 0) {
            /* First argument: size for the announced count, within reason. */
            int64_t want = parser->multibulk_left;
            if (want > ARGV_FIRST_RESERVE)
                want = ARGV_FIRST_RESERVE;
            if (want > cap)
                cap = want;
        }
        if (cap > INT_MAX)
            cap = INT_MAX; /* argc is an int; counts above INT_MAX are refused */
        parser->argv_offset = mem_realloc(parser->argv_offset, (size_t)cap * sizeof(size_t));
        parser->argv_len = mem_realloc(parser->argv_len, (size_t)cap * sizeof(size_t));
        parser->argv_cap = (int)cap;
    }
    parser->argv_offset[parser->argc] = offset;
    parser->argv_len[parser->argc] = len;
    parser->argc++;
}

static step fail(resp_parser *parser, const char *text)
{
    parser->error = text;
    return STEP_ERROR;
}

/* Finds the terminator byte of the line being read, searching from
 * parser->scan so bytes already searched are not searched again. Like
 * Redis's strchr, a NUL byte ends the search unsuccessfully: the terminator
 * is then never found, whatever arrives later. Returns 1 and sets *at when
 * found. */
static int find_line_end(resp_parser *parser, const char *buf, size_t len, char terminator,
                         size_t *at)
{
    size_t from = parser->scan;
    if (from < len && buf[from] == '\0')
        return 0; /* stalled on a NUL by an earlier call */
    const char *hit = memchr(buf + from, terminator, len - from);
    size_t end = hit ? (size_t)(hit - buf) : len;
    const char *nul = memchr(buf + from, '\0', end - from);
    if (nul) {
        parser->scan = (size_t)(nul - buf);
        return 0;
    }
    parser->scan = end;
    if (!hit)
        return 0;
    *at = end;
    return 1;
}

/* Strict decimal, as Redis's string2ll: optional '-', no '+', no spaces, no
 * leading zeros ("0" itself is fine, "-0" is not), at most 20 characters, and
 * the value must fit in 64 bits. */
static int parse_integer(const char *s, size_t n, int64_t *value)
{
    if (n == 0 || n > 20)
        return 0;
    size_t i = 0;
    int negative = s[0] == '-';
    if (negative && ++i == n)
        return 0;
    if (s[i] == '0') {
        if (n != 1)
            return 0;
        *value = 0;
        return 1;
    }
    uint64_t v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        uint64_t digit = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - digit) / 10)
            return 0;
        v = v * 10 + digit;
    }
    if (negative) {
        if (v > (uint64_t)INT64_MAX + 1)
            return 0;
        *value = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    } else {
        if (v > (uint64_t)INT64_MAX)
            return 0;
        *value = (int64_t)v;
    }
    return 1;
}

/* Reads a "*N" or "$N" header line starting at parser->pos. Returns
 * STEP_COMMAND once the whole line (its '\r' and the one byte after it) is
 * there, with *line_end at the '\r' and *valid saying whether the digits after
 * the first byte form an integer, stored in *value. */
static step read_header(resp_parser *parser, const char *buf, size_t len, const char *too_big,
                        size_t *line_end, int *valid, int64_t *value)
{
    size_t cr;
    if (!find_line_end(parser, buf, len, '\r', &cr)) {
        /* Redis measures everything buffered, not just this line. */
        if (len - parser->pos > parser->limits.max_inline_len)
            return fail(parser, too_big);
        return STEP_INCOMPLETE;
    }
    if (cr + 1 >= len)
        return STEP_INCOMPLETE; /* the '\n' (never checked) is still missing */
    *line_end = cr;
    *valid = cr > parser->pos && parse_integer(buf + parser->pos + 1, cr - parser->pos - 1, value);
    return STEP_COMMAND;
}

static step parse_multibulk(resp_parser *parser, const char *buf, size_t len)
{
    const resp_parse_limits *limits = &parser->limits;
    size_t cr;
    int valid;
    int64_t n;
    step s;

    if (parser->multibulk_left < 0) {
        s = read_header(parser, buf, len, "Protocol error: too big mbulk count string", &cr, &valid,
                        &n);
        if (s != STEP_COMMAND)
            return s;
        if (!valid || n > limits->max_multibulk_count || n > INT_MAX)
            return fail(parser, "Protocol error: invalid multibulk length");
        if (limits->unauthenticated && n > UNAUTHENTICATED_MAX_COUNT)
            return fail(parser, "Protocol error: unauthenticated multibulk length");
        parser->pos = parser->scan = cr + 2;
        if (n <= 0)
            return STEP_EMPTY;
        parser->multibulk_left = n;
    }

    while (parser->multibulk_left > 0) {
        if (parser->bulk_len < 0) {
            s = read_header(parser, buf, len, "Protocol error: too big bulk count string", &cr,
                            &valid, &n);
            if (s != STEP_COMMAND)
                return s;
            unsigned char first = (unsigned char)buf[parser->pos];
            if (first != '$') {
                /* Redis keeps error replies on one line. */
                if (first == '\r' || first == '\n')
                    first = ' ';
                snprintf(parser->error_text, sizeof(parser->error_text),
                         "Protocol error: expected '$', got '%c'", first);
                return fail(parser, parser->error_text);
            }
            if (!valid || n < 0 || n > limits->max_bulk_len)
                return fail(parser, "Protocol error: invalid bulk length");
            if (limits->unauthenticated && n > UNAUTHENTICATED_MAX_BULK_LEN)
                return fail(parser, "Protocol error: unauthenticated bulk length");
            parser->pos = parser->scan = cr + 2;
            parser->bulk_len = n;
        }
        /* The payload is never scanned, only counted, so a big one arriving
         * in many reads costs nothing per read. */
        if (len - parser->pos < (uint64_t)parser->bulk_len + 2)
            return STEP_INCOMPLETE;
        push_arg(parser, parser->pos, (size_t)parser->bulk_len);
        parser->pos += (size_t)parser->bulk_len + 2;
        parser->scan = parser->pos;
        parser->bulk_len = -1;
        parser->multibulk_left--;
    }
    return STEP_COMMAND;
}

/* One inline argument being built. Its bytes always go to inline_copy; if
 * they turn out to be a contiguous run of the line itself (no quote removed
 * in the middle, no escape), the argument points into buf instead and the
 * copy is taken back. */
typedef struct word {
    size_t copy_start; /* where the argument begins in inline_copy */
    size_t copy_len;
    size_t source; /* offset in buf of its first byte, if verbatim */
    int verbatim;
} word;

#define NOT_FROM_SOURCE ((size_t)-1)

static void word_add(resp_parser *parser, word *w, char c, size_t from)
{
    if (w->copy_len == 0 && from != NOT_FROM_SOURCE)
        w->source = from;
    if (from == NOT_FROM_SOURCE || from != w->source + w->copy_len)
        w->verbatim = 0;
    parser->inline_copy[w->copy_start + w->copy_len++] = c;
}

/* Blanks between inline arguments, and what may follow a closing quote: the
 * C locale's isspace. */
static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static char unescape(char c)
{
    switch (c) {
    case 'n':
        return '\n';
    case 'r':
        return '\r';
    case 't':
        return '\t';
    case 'b':
        return '\b';
    case 'a':
        return '\a';
    default:
        return c;
    }
}

/* Reads one argument starting at buf[*at] (not a blank). Quoting follows
 * redis-cli and Redis's inline rules: "..." takes \n \r \t \b \a \xHH and
 * backslash-anything; '...' takes only \'; a quote may open mid-word, but a
 * closing quote must be followed by a blank or the end of the line. Returns 0
 * on unbalanced quotes. */
static int split_word(resp_parser *parser, const char *buf, size_t *at, size_t end, word *w)
{
    size_t i = *at;
    char quote = 0;
    for (;;) {
        if (quote == '"') {
            if (i == end)
                return 0;
            int high, low;
            if (buf[i] == '\\' && i + 3 < end && buf[i + 1] == 'x' &&
                (high = hex_value(buf[i + 2])) >= 0 && (low = hex_value(buf[i + 3])) >= 0) {
                word_add(parser, w, (char)(high * 16 + low), NOT_FROM_SOURCE);
                i += 4;
            } else if (buf[i] == '\\' && i + 1 < end) {
                word_add(parser, w, unescape(buf[i + 1]), NOT_FROM_SOURCE);
                i += 2;
            } else if (buf[i] == '"') {
                i++;
                break;
            } else {
                word_add(parser, w, buf[i], i);
                i++;
            }
        } else if (quote == '\'') {
            if (i == end)
                return 0;
            if (buf[i] == '\\' && i + 1 < end && buf[i + 1] == '\'') {
                word_add(parser, w, '\'', NOT_FROM_SOURCE);
                i += 2;
            } else if (buf[i] == '\'') {
                i++;
                break;
            } else {
                word_add(parser, w, buf[i], i);
                i++;
            }
        } else {
            if (i == end)
                break;
            char c = buf[i];
            if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
                i++;
                break;
            }
            if (c == '"' || c == '\'')
                quote = c;
            else
                word_add(parser, w, c, i);
            i++;
        }
    }
    if (quote && i < end && !is_blank(buf[i]))
        return 0;
    *at = i;
    return 1;
}

/* Splits buf[start..end) into arguments. The line holds no NUL (see
 * find_line_end), so its end plays the part of Redis's string terminator. */
static step split_inline(resp_parser *parser, const char *buf, size_t start, size_t end)
{
    /* Unquoting only ever shrinks, so the line's length is enough room. */
    size_t need = end - start;
    if (parser->inline_copy_cap < need) {
        parser->inline_copy = mem_realloc(parser->inline_copy, need);
        parser->inline_copy_cap = need;
    }
    size_t copy_used = 0;
    size_t i = start;
    for (;;) {
        while (i < end && is_blank(buf[i]))
            i++;
        if (i == end)
            return parser->argc ? STEP_COMMAND : STEP_EMPTY;
        word w = {copy_used, 0, i, 1};
        if (!split_word(parser, buf, &i, end, &w))
            return fail(parser, "Protocol error: unbalanced quotes in request");
        if (w.verbatim) {
            push_arg(parser, w.source, w.copy_len);
        } else {
            push_arg(parser, w.copy_start | ARG_IN_COPY, w.copy_len);
            copy_used += w.copy_len;
            parser->inline_uses_copy = 1;
        }
    }
}

static step parse_inline(resp_parser *parser, const char *buf, size_t len)
{
    size_t newline;
    if (!find_line_end(parser, buf, len, '\n', &newline)) {
        if (len - parser->command_start > parser->limits.max_inline_len)
            return fail(parser, "Protocol error: too big inline request");
        return STEP_INCOMPLETE;
    }
    size_t end = newline;
    if (end > parser->command_start && buf[end - 1] == '\r')
        end--;
    parser->pos = newline + 1;
    return split_inline(parser, buf, parser->command_start, end);
}

resp_parse_status resp_parse(resp_parser *parser, const char *buf, size_t len, size_t *consumed,
                             size_t *need_hint)
{
    *consumed = 0;
    *need_hint = 0;
    if (parser->error)
        return RESP_PARSE_ERROR;

    for (;;) {
        if (parser->kind == KIND_NONE) {
            if (parser->command_start >= len) {
                /* Only skipped empty requests so far: hand them back so the
                 * caller can drop them; the next call starts fresh either way. */
                *consumed = parser->command_start;
                begin_fresh(parser);
                return RESP_PARSE_INCOMPLETE;
            }
            parser->kind = buf[parser->command_start] == '*' ? KIND_MULTIBULK : KIND_INLINE;
            parser->pos = parser->scan = parser->command_start;
            parser->multibulk_left = -1;
            parser->bulk_len = -1;
            parser->argc = 0;
            parser->inline_uses_copy = 0;
        }

        step s = parser->kind == KIND_MULTIBULK ? parse_multibulk(parser, buf, len)
                                                : parse_inline(parser, buf, len);
        switch (s) {
        case STEP_COMMAND:
            *consumed = parser->pos;
            begin_fresh(parser);
            return RESP_PARSE_COMMAND;
        case STEP_EMPTY:
            parser->kind = KIND_NONE;
            parser->command_start = parser->pos;
            parser->argc = 0;
            continue;
        case STEP_INCOMPLETE:
            if (parser->bulk_len >= 0)
                *need_hint = parser->pos + (size_t)parser->bulk_len + 2 - len;
            return RESP_PARSE_INCOMPLETE;
        case STEP_ERROR:
            parser->argc = 0;
            return RESP_PARSE_ERROR;
        }
    }
}
