/* libFuzzer target for resp_parse. The input's first byte picks small limits
 * and how the fake caller treats *consumed; the second seeds the sizes of the
 * pieces the rest is fed in, as if it arrived in many reads. The stream is
 * parsed twice, in pieces and whole, and the two must agree: splitting bytes
 * across reads may only change the outcome by tripping a too-big limit
 * earlier. Every call's results are checked against the header's contract,
 * and the buffer handed in is a fresh copy each time so a pointer kept across
 * calls shows up under ASan. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rivet/buffer.h"
#include "rivet/resp_parse.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_resp_parse: check failed at line %d: %s\n", __LINE__, #cond);    \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

typedef struct run {
    resp_parser parser;
    buffer input;      /* bytes received and not yet dropped */
    buffer log;        /* "len:bytes" per argument, a newline per command */
    const char *error; /* set once the parser failed */
    int drop_on_incomplete;
} run;

static int is_too_big_error(const char *error)
{
    return error && strstr(error, "too big") != NULL;
}

static int inside(const char *p, size_t len, const char *start, size_t size)
{
    return p >= start && len <= size && p - start <= (ptrdiff_t)(size - len);
}

static void check_command(const resp_parser *parser, const char *buf, size_t consumed)
{
    CHECK(parser->argc > 0);
    CHECK(parser->argc <= parser->argv_cap);
    for (int i = 0; i < parser->argc; i++) {
        size_t len;
        const char *arg = resp_parse_arg(parser, buf, i, &len);
        CHECK(inside(arg, len, buf, consumed) ||
              (parser->inline_copy &&
               inside(arg, len, parser->inline_copy, parser->inline_copy_cap)));
        CHECK(len <= consumed);
    }
}

static void log_command(run *r, const char *buf)
{
    for (int i = 0; i < r->parser.argc; i++) {
        size_t len;
        const char *arg = resp_parse_arg(&r->parser, buf, i, &len);
        buffer_appendf(&r->log, "%s%zu:", i ? " " : "", len);
        buffer_append(&r->log, arg, len);
    }
    buffer_append_char(&r->log, '\n');
}

/* Appends bytes as a read would and parses every command now complete. */
static void run_push(run *r, const uint8_t *data, size_t len)
{
    if (r->error)
        return;
    buffer_append(&r->input, data, len);
    for (;;) {
        size_t n = r->input.len;
        char *moved = malloc(n ? n : 1);
        CHECK(moved != NULL);
        if (n)
            memcpy(moved, r->input.data, n);
        size_t consumed = SIZE_MAX, hint = SIZE_MAX;
        resp_parse_status status = resp_parse(&r->parser, moved, n, &consumed, &hint);
        CHECK(consumed <= n);
        CHECK(r->parser.argc >= 0);
        if (status == RESP_PARSE_COMMAND) {
            CHECK(consumed > 0);
            CHECK(hint == 0);
            check_command(&r->parser, moved, consumed);
            log_command(r, moved);
            free(moved);
            buffer_consume(&r->input, consumed);
            continue;
        }
        free(moved);
        if (status == RESP_PARSE_ERROR) {
            CHECK(r->parser.error != NULL);
            CHECK(strncmp(r->parser.error, "Protocol error: ", 16) == 0);
            CHECK(strchr(r->parser.error, '\r') == NULL && strchr(r->parser.error, '\n') == NULL);
            CHECK(consumed == 0);
            r->error = r->parser.error;
            return;
        }
        CHECK(status == RESP_PARSE_INCOMPLETE);
        /* A hint is the rest of one bulk and its CRLF, never more. */
        CHECK(r->parser.limits.max_bulk_len < 0 ||
              hint <= (uint64_t)r->parser.limits.max_bulk_len + 2);
        if (r->drop_on_incomplete && consumed)
            buffer_consume(&r->input, consumed);
        return;
    }
}

static void run_init(run *r, const resp_parse_limits *limits, int drop_on_incomplete)
{
    resp_parser_init(&r->parser, limits);
    buffer_init(&r->input);
    buffer_init(&r->log);
    r->error = NULL;
    r->drop_on_incomplete = drop_on_incomplete;
}

static void run_release(run *r)
{
    resp_parser_release(&r->parser);
    buffer_release(&r->input);
    buffer_release(&r->log);
}

static uint32_t next_random(uint32_t *state)
{
    /* xorshift32: cheap, and the same input always gives the same pieces. */
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *state = x;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint8_t config = data[0];
    uint32_t seed = 0x9e3779b9u ^ data[1];
    const uint8_t *stream = data + 2;
    size_t n = size - 2;

    static const size_t inline_lens[] = {8, 16, 64, 1024};
    static const int64_t bulk_lens[] = {4, 16, 256, 512LL * 1024 * 1024};
    static const int64_t counts[] = {2, 8, 100, INT_MAX};
    resp_parse_limits limits;
    resp_parse_limits_default(&limits);
    limits.max_inline_len = inline_lens[config & 3];
    limits.max_bulk_len = bulk_lens[(config >> 2) & 3];
    limits.max_multibulk_count = counts[(config >> 4) & 3];
    limits.unauthenticated = (config >> 6) & 1;
    int drop = (config >> 7) & 1;

    run pieces, whole;
    run_init(&pieces, &limits, drop);
    run_init(&whole, &limits, drop);

    size_t max_piece = (data[1] & 1) ? 4 : 64;
    for (size_t at = 0; at < n;) {
        size_t piece = 1 + next_random(&seed) % max_piece;
        if (piece > n - at)
            piece = n - at;
        run_push(&pieces, stream + at, piece);
        at += piece;
    }
    run_push(&whole, stream, n);

    if (is_too_big_error(pieces.error)) {
        /* A too-big limit may trip before a line's terminator arrives, where
         * the whole stream had it: the commands before must still agree. */
        CHECK(pieces.log.len <= whole.log.len);
    } else {
        CHECK((pieces.error == NULL) == (whole.error == NULL));
        CHECK(!pieces.error || strcmp(pieces.error, whole.error) == 0);
        CHECK(pieces.log.len == whole.log.len);
    }
    CHECK(pieces.log.len == 0 || memcmp(pieces.log.data, whole.log.data, pieces.log.len) == 0);

    run_release(&pieces);
    run_release(&whole);
    return 0;
}
