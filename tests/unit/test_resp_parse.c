/* Tests for resp_parse: both request forms, a pipelined stream cut at every
 * point (and byte by byte) with the buffer moved on every call, every protocol
 * error with Redis 7's exact text (checked against redis-server 7.0), limits
 * at their boundaries, inline quoting, skipped empty requests and need_hint. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rivet/buffer.h"
#include "rivet/memory.h"
#include "rivet/resp_parse.h"

/* ---- A fake connection: bytes arrive, commands come out ---- */

/* Holds what a connection would: the unparsed input, and a log of every
 * command ("len:bytes" per argument, space separated, newline after each) or
 * the error that ended the stream. The buffer handed to the parser is a fresh
 * copy on every call, so any pointer kept across calls would be caught. */
typedef struct feeder {
    resp_parser parser;
    buffer input;
    buffer log;
    int failed;
    int drop_on_incomplete; /* honour *consumed after INCOMPLETE too */
    size_t total_consumed;
} feeder;

static void feeder_init(feeder *f, const resp_parse_limits *limits, int drop_on_incomplete)
{
    resp_parser_init(&f->parser, limits);
    buffer_init(&f->input);
    buffer_init(&f->log);
    f->failed = 0;
    f->drop_on_incomplete = drop_on_incomplete;
    f->total_consumed = 0;
}

static void feeder_release(feeder *f)
{
    resp_parser_release(&f->parser);
    buffer_release(&f->input);
    buffer_release(&f->log);
}

static void log_command(buffer *log, const resp_parser *parser, const char *buf)
{
    for (int i = 0; i < parser->argc; i++) {
        size_t len;
        const char *arg = resp_parse_arg(parser, buf, i, &len);
        if (i)
            buffer_append_char(log, ' ');
        buffer_appendf(log, "%zu:", len);
        buffer_append(log, arg, len);
    }
    buffer_append_char(log, '\n');
}

static void feeder_push(feeder *f, const char *data, size_t len)
{
    if (f->failed)
        return;
    buffer_append(&f->input, data, len);
    for (;;) {
        size_t n = f->input.len;
        char *moved = malloc(n ? n : 1);
        if (n)
            memcpy(moved, f->input.data, n);
        size_t consumed = 12345, hint = 12345;
        resp_parse_status status = resp_parse(&f->parser, moved, n, &consumed, &hint);
        assert_true(consumed <= n);
        if (status == RESP_PARSE_COMMAND) {
            assert_true(f->parser.argc > 0);
            assert_true(consumed > 0);
            log_command(&f->log, &f->parser, moved);
            free(moved);
            buffer_consume(&f->input, consumed);
            f->total_consumed += consumed;
            continue;
        }
        free(moved);
        if (status == RESP_PARSE_ERROR) {
            buffer_appendf(&f->log, "ERR:%s\n", f->parser.error);
            f->failed = 1;
            return;
        }
        assert_int_equal(status, RESP_PARSE_INCOMPLETE);
        if (f->drop_on_incomplete && consumed) {
            buffer_consume(&f->input, consumed);
            f->total_consumed += consumed;
        }
        return;
    }
}

#define assert_log(f, expected) assert_bytes(&(f)->log, expected, sizeof(expected) - 1)

static void assert_bytes(const buffer *got, const char *expected, size_t expected_len)
{
    if (got->len != expected_len ||
        (expected_len && memcmp(got->data, expected, expected_len) != 0)) {
        print_error("log mismatch\n got (%zu): %.*s\nwant (%zu): %.*s\n", got->len, (int)got->len,
                    got->data ? got->data : "", expected_len, (int)expected_len, expected);
        fail();
    }
}

/* Parses `input` in one piece with the given limits and returns the log. */
static void parse_whole(const resp_parse_limits *limits, const char *input, size_t len, buffer *out)
{
    feeder f;
    feeder_init(&f, limits, 1);
    feeder_push(&f, input, len);
    buffer_append(out, f.log.data, f.log.len);
    feeder_release(&f);
}

#define check_whole(limits, input, expected)                                                       \
    do {                                                                                           \
        buffer got_;                                                                               \
        buffer_init(&got_);                                                                        \
        parse_whole(limits, input, sizeof(input) - 1, &got_);                                      \
        assert_bytes(&got_, expected, sizeof(expected) - 1);                                       \
        buffer_release(&got_);                                                                     \
    } while (0)

static resp_parse_limits small_limits(void)
{
    resp_parse_limits limits;
    resp_parse_limits_default(&limits);
    limits.max_bulk_len = 10;
    limits.max_multibulk_count = 3;
    limits.max_inline_len = 16;
    return limits;
}

/* ---- Single commands ---- */

static void test_multibulk_single(void **state)
{
    static const char input[] = "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";
    resp_parser parser;
    resp_parser_init(&parser, NULL);
    size_t consumed, hint;
    assert_int_equal(resp_parse(&parser, input, sizeof(input) - 1, &consumed, &hint),
                     RESP_PARSE_COMMAND);
    assert_int_equal(consumed, sizeof(input) - 1);
    assert_int_equal(hint, 0);
    assert_int_equal(parser.argc, 3);
    size_t len;
    const char *arg = resp_parse_arg(&parser, input, 0, &len);
    assert_ptr_equal(arg, input + 8); /* no copy: points into the caller's bytes */
    assert_int_equal(len, 3);
    arg = resp_parse_arg(&parser, input, 1, &len);
    assert_int_equal(len, 3);
    assert_memory_equal(arg, "key", 3);
    arg = resp_parse_arg(&parser, input, 2, &len);
    assert_int_equal(len, 5);
    assert_memory_equal(arg, "value", 5);
    resp_parser_release(&parser);
}

static void test_inline_single(void **state)
{
    static const char input[] = "SET key value\r\nGET key\n";
    resp_parser parser;
    resp_parser_init(&parser, NULL);
    size_t consumed, hint, len;
    assert_int_equal(resp_parse(&parser, input, sizeof(input) - 1, &consumed, &hint),
                     RESP_PARSE_COMMAND);
    assert_int_equal(consumed, 15);
    assert_int_equal(parser.argc, 3);
    assert_ptr_equal(resp_parse_arg(&parser, input, 0, &len), input);
    assert_int_equal(len, 3);
    assert_ptr_equal(resp_parse_arg(&parser, input, 2, &len), input + 8);
    assert_int_equal(len, 5);
    assert_int_equal(parser.inline_uses_copy, 0);

    /* The next command, with the first one dropped by the caller. */
    assert_int_equal(resp_parse(&parser, input + 15, sizeof(input) - 1 - 15, &consumed, &hint),
                     RESP_PARSE_COMMAND);
    assert_int_equal(consumed, 8);
    assert_int_equal(parser.argc, 2);
    assert_ptr_equal(resp_parse_arg(&parser, input + 15, 1, &len), input + 19);
    assert_int_equal(len, 3);
    resp_parser_release(&parser);
}

static void test_empty_buffer(void **state)
{
    resp_parser parser;
    resp_parser_init(&parser, NULL);
    size_t consumed = 7, hint = 7;
    assert_int_equal(resp_parse(&parser, NULL, 0, &consumed, &hint), RESP_PARSE_INCOMPLETE);
    assert_int_equal(consumed, 0);
    assert_int_equal(hint, 0);
    resp_parser_release(&parser);
}

/* ---- A pipelined stream, cut everywhere ---- */

static const char stream[] = "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n"
                             "PING\r\n"
                             "\r\n"
                             "*0\r\n"
                             "  \t \n"
                             "*2\r\n$4\r\nECHO\r\n$6\r\na\r\n\0bc\r\n"
                             "ECHO \"x\\x41y\" 'it\\'s' \"\"\n"
                             "*-1\r\n"
                             "*1\r\n$0\r\n\r\n"
                             "SET k v\n"
                             "*2\r\n$3\r\nGET\r\n$20\r\n01234567890123456789\r\n"
                             "*1\r\n$4\r\nPI\r\n\r\n";

static const char stream_log[] = "3:SET 3:key 5:value\n"
                                 "4:PING\n"
                                 "4:ECHO 6:a\r\n\0bc\n"
                                 "4:ECHO 3:xAy 4:it's 0:\n"
                                 "0:\n"
                                 "3:SET 1:k 1:v\n"
                                 "3:GET 20:01234567890123456789\n"
                                 "4:PI\r\n\n";

static void check_stream_split(int drop_on_incomplete)
{
    size_t n = sizeof(stream) - 1;
    for (size_t k = 0; k <= n; k++) {
        feeder f;
        feeder_init(&f, NULL, drop_on_incomplete);
        feeder_push(&f, stream, k);
        feeder_push(&f, stream + k, n - k);
        assert_log(&f, stream_log);
        assert_int_equal(f.total_consumed, n);
        assert_int_equal(f.input.len, 0);
        feeder_release(&f);
    }
}

static void test_stream_every_split(void **state)
{
    check_stream_split(1);
    check_stream_split(0);
}

static void test_stream_every_two_splits(void **state)
{
    size_t n = sizeof(stream) - 1;
    for (size_t i = 0; i <= n; i++) {
        for (size_t j = i; j <= n; j++) {
            feeder f;
            feeder_init(&f, NULL, (i + j) & 1);
            feeder_push(&f, stream, i);
            feeder_push(&f, stream + i, j - i);
            feeder_push(&f, stream + j, n - j);
            assert_log(&f, stream_log);
            feeder_release(&f);
        }
    }
}

static void test_stream_byte_by_byte(void **state)
{
    for (int drop = 0; drop <= 1; drop++) {
        feeder f;
        feeder_init(&f, NULL, drop);
        for (size_t i = 0; i < sizeof(stream) - 1; i++)
            feeder_push(&f, stream + i, 1);
        assert_log(&f, stream_log);
        assert_int_equal(f.total_consumed, sizeof(stream) - 1);
        feeder_release(&f);
    }
}

static void test_stream_repeated(void **state)
{
    /* Many commands in one buffer, fed in uneven pieces. */
    buffer input, want;
    buffer_init(&input);
    buffer_init(&want);
    for (int i = 0; i < 50; i++) {
        buffer_append(&input, stream, sizeof(stream) - 1);
        buffer_append(&want, stream_log, sizeof(stream_log) - 1);
    }
    feeder f;
    feeder_init(&f, NULL, 1);
    size_t at = 0, piece = 1;
    while (at < input.len) {
        size_t n = piece < input.len - at ? piece : input.len - at;
        feeder_push(&f, input.data + at, n);
        at += n;
        piece = piece * 7 % 61 + 1;
    }
    assert_bytes(&f.log, want.data, want.len);
    feeder_release(&f);
    buffer_release(&input);
    buffer_release(&want);
}

/* ---- Binary payloads ---- */

static void test_binary_payload(void **state)
{
    static const char input[] = "*3\r\n$3\r\nSET\r\n$4\r\n\0\0\0\0\r\n$8\r\n\r\n\r\n*1\r\n\r\n";
    check_whole(NULL, input, "3:SET 4:\0\0\0\0 8:\r\n\r\n*1\r\n\n");

    /* Every byte value in one payload. */
    char big[300];
    memcpy(big, "*1\r\n$256\r\n", 10);
    for (int i = 0; i < 256; i++)
        big[10 + i] = (char)i;
    memcpy(big + 266, "\r\n", 2);
    resp_parser parser;
    resp_parser_init(&parser, NULL);
    size_t consumed, hint, len;
    assert_int_equal(resp_parse(&parser, big, 268, &consumed, &hint), RESP_PARSE_COMMAND);
    assert_int_equal(consumed, 268);
    const char *arg = resp_parse_arg(&parser, big, 0, &len);
    assert_int_equal(len, 256);
    assert_ptr_equal(arg, big + 10);
    resp_parser_release(&parser);
}

/* Redis skips the byte after a header's '\r' and the two bytes after a
 * payload without looking at them. */
static void test_terminators_not_checked(void **state)
{
    check_whole(NULL, "*1\rX$4\rXPINGXY", "4:PING\n");
    check_whole(NULL, "*2\r\n$1\r\nab\n$1\r\ncde", "1:a 1:c\n");
}

/* A NUL before a line's terminator hides it (Redis finds lines with strchr):
 * the request waits until the too-big limit trips. NULs in payloads are fine. */
static void test_nul_hides_line_end(void **state)
{
    resp_parse_limits limits = small_limits();
    check_whole(NULL, "PING\0\r\nPING\r\n", "");
    check_whole(NULL, "*1\0\r\n$4\r\nPING\r\n", "");
    check_whole(NULL, "*1\r\n$4\0\r\n$4\r\nPING\r\n", "");
    check_whole(NULL, "*1\r\n$4\r\nPI\0G\r\n", "4:PI\0G\n");
    check_whole(&limits, "PING\0\n\n\n\n\n\n\n\n\n\n\n\n\n",
                "ERR:Protocol error: too big inline request\n");
    check_whole(&limits, "*1\0\r\n\r\n\r\n\r\n\r\n\r\n\r\n",
                "ERR:Protocol error: too big mbulk count string\n");
    check_whole(&limits, "*1\r\n$1\0\r\n\r\n\r\n\r\n\r\n\r\n\r\n",
                "ERR:Protocol error: too big bulk count string\n");

    /* The stall survives later calls, and the limit is still enforced then. */
    feeder f;
    feeder_init(&f, &limits, 1);
    feeder_push(&f, "PING\0\r\n", 7);
    feeder_push(&f, "\n\n\n\n", 4);
    assert_log(&f, "");
    feeder_push(&f, "\n\n\n\n\n\n", 6);
    assert_log(&f, "ERR:Protocol error: too big inline request\n");
    feeder_release(&f);
}

/* ---- Protocol errors, with Redis's exact texts ---- */

static void test_invalid_multibulk_length(void **state)
{
    const char *bad[] = {"*03\r\n",
                         "*+1\r\n",
                         "*-0\r\n",
                         "* 1\r\n",
                         "*\r\n",
                         "*1 \r\n",
                         "*1x\r\n",
                         "*0x1\r\n",
                         "*2147483648\r\n",
                         "*99999999999999999999\r\n",
                         "*123456789012345678901\r\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        buffer got;
        buffer_init(&got);
        parse_whole(NULL, bad[i], strlen(bad[i]), &got);
        assert_bytes(&got, "ERR:Protocol error: invalid multibulk length\n",
                     strlen("ERR:Protocol error: invalid multibulk length\n"));
        buffer_release(&got);
    }
    /* The largest count Redis 7 accepts, and the most negative (skipped). */
    check_whole(NULL, "*2147483647\r\n", "");
    check_whole(NULL, "*-9223372036854775808\r\nPING\n", "4:PING\n");
    check_whole(NULL, "*-9223372036854775809\r\n",
                "ERR:Protocol error: invalid multibulk length\n");
}

static void test_expected_dollar(void **state)
{
    check_whole(NULL, "*1\r\nfoo\r\n", "ERR:Protocol error: expected '$', got 'f'\n");
    check_whole(NULL, "*2\r\n$1\r\na\r\n:1\r\n", "ERR:Protocol error: expected '$', got ':'\n");
    check_whole(NULL, "*1\r\n\xff\r\n", "ERR:Protocol error: expected '$', got '\xff'\n");
    /* A '\r' or '\n' would break the error line; Redis shows a space. */
    check_whole(NULL, "*1\r\n\rX", "ERR:Protocol error: expected '$', got ' '\n");
    check_whole(NULL, "*1\r\n\n\r\n", "ERR:Protocol error: expected '$', got ' '\n");
    /* Only a complete line is judged. */
    check_whole(NULL, "*1\r\nfoo", "");
    check_whole(NULL, "*1\r\nfoo\r", "");
}

static void test_invalid_bulk_length(void **state)
{
    const char *bad[] = {"*1\r\n$04\r\n",
                         "*1\r\n$+4\r\n",
                         "*1\r\n$-1\r\n",
                         "*1\r\n$-0\r\n",
                         "*1\r\n$ 4\r\n",
                         "*1\r\n$4 \r\n",
                         "*1\r\n$\r\n",
                         "*1\r\n$4a\r\n",
                         "*1\r\n$536870913\r\n",
                         "*1\r\n$9223372036854775807\r\n",
                         "*1\r\n$92233720368547758070\r\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        buffer got;
        buffer_init(&got);
        parse_whole(NULL, bad[i], strlen(bad[i]), &got);
        assert_bytes(&got, "ERR:Protocol error: invalid bulk length\n",
                     strlen("ERR:Protocol error: invalid bulk length\n"));
        buffer_release(&got);
    }
}

/* Parses prefix followed by `count` copies of `fill` (and an optional
 * suffix) in one piece, and checks the log. */
static void check_filled(const resp_parse_limits *limits, const char *prefix, char fill,
                         size_t count, const char *suffix, const char *expected)
{
    buffer input, got;
    buffer_init(&input);
    buffer_init(&got);
    buffer_append_cstr(&input, prefix);
    for (size_t i = 0; i < count; i++)
        buffer_append_char(&input, fill);
    buffer_append_cstr(&input, suffix);
    parse_whole(limits, input.data, input.len, &got);
    assert_bytes(&got, expected, strlen(expected));
    buffer_release(&input);
    buffer_release(&got);
}

static void test_too_big_lines(void **state)
{
    resp_parse_limits limits = small_limits(); /* max_inline_len 16 */

    /* Everything buffered counts, and only more than the limit fails. */
    check_filled(&limits, "*", '1', 15, "", "");
    check_filled(&limits, "*", '1', 16, "", "ERR:Protocol error: too big mbulk count string\n");
    check_filled(&limits, "*1\r\n$", '1', 15, "", "");
    check_filled(&limits, "*1\r\n$", '1', 16, "",
                 "ERR:Protocol error: too big bulk count string\n");
    check_filled(&limits, "*1\r\nX", '1', 16, "",
                 "ERR:Protocol error: too big bulk count string\n");
    /* The bytes of earlier arguments do not count for the bulk header... */
    check_filled(&limits, "*2\r\n$10\r\n0123456789\r\n$", '1', 15, "", "");
    /* ...nor do earlier requests. */
    check_filled(&limits, "PING\n*", '1', 15, "", "4:PING\n");
    check_filled(&limits, "PING\n*", '1', 16, "",
                 "4:PING\nERR:Protocol error: too big mbulk count string\n");
    check_filled(&limits, "GET ", 'a', 12, "", "");
    check_filled(&limits, "GET ", 'a', 13, "", "ERR:Protocol error: too big inline request\n");
    /* A line whose newline is already there is taken whatever its length. */
    check_filled(&limits, "GET ", 'a', 40, "\n",
                 "3:GET 40:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n");

    /* Default limit: 64 KB. */
    size_t n = 64 * 1024 + 1;
    char *line = malloc(n);
    memset(line, 'x', n);
    resp_parser parser;
    resp_parser_init(&parser, NULL);
    size_t consumed, hint;
    assert_int_equal(resp_parse(&parser, line, n - 1, &consumed, &hint), RESP_PARSE_INCOMPLETE);
    assert_int_equal(resp_parse(&parser, line, n, &consumed, &hint), RESP_PARSE_ERROR);
    assert_string_equal(parser.error, "Protocol error: too big inline request");
    resp_parser_release(&parser);
    free(line);
}

static void test_unbalanced_quotes(void **state)
{
    const char *bad[] = {"ECHO \"abc\r\n",    "ECHO \"abc\"x\r\n", "ECHO 'abc'x\r\n",
                         "ECHO \"a\\\"\r\n",  "P\"IN\"G\n",        "PING \"\"\"\"\n",
                         "ECHO \"a\"\"b\"\n", "ECHO 'a\n",         "ECHO \"\\\n",
                         "ECHO 'a\\'\n",      "ECHO \"\\x41\"y\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        buffer got;
        buffer_init(&got);
        parse_whole(NULL, bad[i], strlen(bad[i]), &got);
        assert_bytes(&got, "ERR:Protocol error: unbalanced quotes in request\n",
                     strlen("ERR:Protocol error: unbalanced quotes in request\n"));
        buffer_release(&got);
    }
}

static void test_error_is_sticky(void **state)
{
    resp_parser parser;
    resp_parser_init(&parser, NULL);
    size_t consumed, hint;
    assert_int_equal(resp_parse(&parser, "*x\r\n", 4, &consumed, &hint), RESP_PARSE_ERROR);
    assert_int_equal(consumed, 0);
    assert_string_equal(parser.error, "Protocol error: invalid multibulk length");
    assert_int_equal(resp_parse(&parser, "PING\n", 5, &consumed, &hint), RESP_PARSE_ERROR);
    resp_parser_reset(&parser);
    assert_null(parser.error);
    assert_int_equal(resp_parse(&parser, "PING\n", 5, &consumed, &hint), RESP_PARSE_COMMAND);
    assert_int_equal(parser.argc, 1);
    resp_parser_release(&parser);
}

/* ---- Limits ---- */

static void test_custom_limits_boundaries(void **state)
{
    resp_parse_limits limits = small_limits(); /* bulk 10, count 3 */
    check_whole(&limits, "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n", "1:a 1:b 1:c\n");
    check_whole(&limits, "*4\r\n", "ERR:Protocol error: invalid multibulk length\n");
    check_whole(&limits, "*1\r\n$10\r\n0123456789\r\n", "10:0123456789\n");
    check_whole(&limits, "*1\r\n$11\r\n", "ERR:Protocol error: invalid bulk length\n");
}

static void test_default_limits(void **state)
{
    resp_parse_limits limits;
    resp_parse_limits_default(&limits);
    assert_int_equal(limits.max_bulk_len, 512LL * 1024 * 1024);
    assert_int_equal(limits.max_multibulk_count, 2147483647);
    assert_int_equal(limits.max_inline_len, 65536);
    assert_int_equal(limits.unauthenticated, 0);

    /* The largest bulk is accepted and waited for, without buffering it. */
    static const char header[] = "*1\r\n$536870912\r\nabc";
    resp_parser parser;
    resp_parser_init(&parser, &limits);
    size_t consumed, hint;
    assert_int_equal(resp_parse(&parser, header, sizeof(header) - 1, &consumed, &hint),
                     RESP_PARSE_INCOMPLETE);
    assert_int_equal(hint, 536870912 + 2 - 3);
    resp_parser_release(&parser);
}

static void test_unauthenticated_limits(void **state)
{
    resp_parse_limits limits;
    resp_parse_limits_default(&limits);
    limits.unauthenticated = 1;
    check_whole(&limits, "*10\r\n", "");
    check_whole(&limits, "*11\r\n", "ERR:Protocol error: unauthenticated multibulk length\n");
    check_whole(&limits, "*1\r\n$16384\r\n", "");
    check_whole(&limits, "*1\r\n$16385\r\n", "ERR:Protocol error: unauthenticated bulk length\n");
    /* The ordinary checks come first, as in Redis. */
    check_whole(&limits, "*99999999999999999999\r\n",
                "ERR:Protocol error: invalid multibulk length\n");
    check_whole(&limits, "*1\r\n$-1\r\n", "ERR:Protocol error: invalid bulk length\n");
    /* Inline requests have no extra limit. */
    check_whole(&limits, "A B C D E F G H I J K L\n",
                "1:A 1:B 1:C 1:D 1:E 1:F 1:G 1:H 1:I 1:J 1:K 1:L\n");

    /* The flag is read on every call: after AUTH the same parser accepts. */
    resp_parser parser;
    resp_parser_init(&parser, &limits);
    size_t consumed, hint;
    assert_int_equal(resp_parse(&parser, "*1\r\n$16385\r\n", 12, &consumed, &hint),
                     RESP_PARSE_ERROR);
    resp_parser_reset(&parser);
    parser.limits.unauthenticated = 0;
    assert_int_equal(resp_parse(&parser, "*1\r\n$16385\r\n", 12, &consumed, &hint),
                     RESP_PARSE_INCOMPLETE);
    assert_int_equal(hint, 16387);
    resp_parser_release(&parser);
}

/* ---- Inline quoting ---- */

static void test_inline_quoting(void **state)
{
    check_whole(NULL, "ECHO \"a\\x41b\"\r\n", "4:ECHO 3:aAb\n");
    check_whole(NULL, "ECHO \"\\xfF\\x00\"\r\n", "4:ECHO 2:\xff\0\n");
    check_whole(NULL, "ECHO \"a\\x4\"\r\n", "4:ECHO 3:ax4\n");
    check_whole(NULL, "ECHO \"a\\xZZ\"\r\n", "4:ECHO 4:axZZ\n");
    check_whole(NULL, "ECHO \"\\n\\r\\t\\b\\a\\\\\\\"\\q\"\r\n", "4:ECHO 8:\n\r\t\b\a\\\"q\n");
    check_whole(NULL, "ECHO 'it\\'s' \r\n", "4:ECHO 4:it's\n");
    check_whole(NULL, "ECHO 'a\\nb'\r\n", "4:ECHO 4:a\\nb\n");
    check_whole(NULL, "ECHO 'a\"b'  \"c'd\"\n", "4:ECHO 3:a\"b 3:c'd\n");
    check_whole(NULL, "ECHO a\"b c\"\r\n", "4:ECHO 4:ab c\n");
    check_whole(NULL, "ECHO a'b c'\r\n", "4:ECHO 4:ab c\n");
    check_whole(NULL, "ECHO \"\"\r\n", "4:ECHO 0:\n");
    check_whole(NULL, "ECHO ''\r\n", "4:ECHO 0:\n");
    check_whole(NULL, "ECHO \"a\"\r\r\n", "4:ECHO 1:a\n");
    check_whole(NULL, "ECHO \"a\"\f\n", "4:ECHO 1:a\n");
    /* \v and \f separate only where blanks are skipped, not inside a word. */
    check_whole(NULL, "ECHO \"a\"\vb\r\n", "4:ECHO 1:a 1:b\n");
    check_whole(NULL, "ECHO a\vb\r\n", "4:ECHO 3:a\vb\n");
    check_whole(NULL, "\v\fECHO x\r\n", "4:ECHO 1:x\n");
    check_whole(NULL, "ECHO a\rb\r\n", "4:ECHO 1:a 1:b\n");
    check_whole(NULL, "\"PING\"\n'PING'\n", "4:PING\n4:PING\n");
    /* A leading blank makes a '*' line inline. */
    check_whole(NULL, " *1\r\n", "2:*1\n");
    /* Only one '\r' before the '\n' belongs to the terminator. */
    check_whole(NULL, "PING\r\r\n", "4:PING\n");
}

static int inside(const char *p, size_t len, const char *start, size_t size)
{
    return p >= start && p + len <= start + size;
}

/* Arguments that need no unquoting point into the caller's buffer; the others
 * live in the parser's copy. */
static void test_inline_argument_storage(void **state)
{
    static const char input[] = "SET \"k\" 'v w' plain \"a\\x41\" x\"y\" '' z\n";
    resp_parser parser;
    resp_parser_init(&parser, NULL);
    size_t consumed, hint, len;
    assert_int_equal(resp_parse(&parser, input, sizeof(input) - 1, &consumed, &hint),
                     RESP_PARSE_COMMAND);
    assert_int_equal(consumed, sizeof(input) - 1);
    assert_int_equal(parser.argc, 8);
    const char *arg;

    arg = resp_parse_arg(&parser, input, 1, &len);
    assert_ptr_equal(arg, input + 5);
    assert_int_equal(len, 1);
    arg = resp_parse_arg(&parser, input, 2, &len);
    assert_ptr_equal(arg, input + 9);
    assert_int_equal(len, 3);
    arg = resp_parse_arg(&parser, input, 3, &len);
    assert_ptr_equal(arg, input + 14);
    assert_int_equal(len, 5);

    arg = resp_parse_arg(&parser, input, 4, &len);
    assert_int_equal(len, 2);
    assert_memory_equal(arg, "aA", 2);
    assert_false(inside(arg, len, input, sizeof(input)));
    assert_true(inside(arg, len, parser.inline_copy, parser.inline_copy_cap));

    arg = resp_parse_arg(&parser, input, 5, &len); /* x"y": the quote splits it */
    assert_int_equal(len, 2);
    assert_memory_equal(arg, "xy", 2);
    assert_true(inside(arg, len, parser.inline_copy, parser.inline_copy_cap));

    arg = resp_parse_arg(&parser, input, 6, &len);
    assert_int_equal(len, 0);
    arg = resp_parse_arg(&parser, input, 7, &len);
    assert_ptr_equal(arg, input + sizeof(input) - 3);
    assert_int_equal(parser.inline_uses_copy, 1);
    resp_parser_release(&parser);
}

/* ---- Skipped requests ---- */

static void test_empty_requests_skipped(void **state)
{
    static const char input[] = "\r\n\n  \t \r\n*0\r\n*-1\r\n*-5\r\nPING\r\n";
    resp_parser parser;
    resp_parser_init(&parser, NULL);
    size_t consumed, hint, len;
    assert_int_equal(resp_parse(&parser, input, sizeof(input) - 1, &consumed, &hint),
                     RESP_PARSE_COMMAND);
    assert_int_equal(consumed, sizeof(input) - 1);
    assert_int_equal(parser.argc, 1);
    assert_ptr_equal(resp_parse_arg(&parser, input, 0, &len), input + sizeof(input) - 7);

    /* Nothing but skipped requests: INCOMPLETE, and they may be dropped. */
    assert_int_equal(resp_parse(&parser, "\n\n*0\r\n", 6, &consumed, &hint), RESP_PARSE_INCOMPLETE);
    assert_int_equal(consumed, 6);

    /* Skipped requests before a partial one stay until it completes. */
    static const char partial[] = "\n\n*1\r\n$4\r\nPING\r\n";
    assert_int_equal(resp_parse(&parser, partial, 12, &consumed, &hint), RESP_PARSE_INCOMPLETE);
    assert_int_equal(consumed, 0);
    assert_int_equal(hint, 4);
    assert_int_equal(resp_parse(&parser, partial, sizeof(partial) - 1, &consumed, &hint),
                     RESP_PARSE_COMMAND);
    assert_int_equal(consumed, sizeof(partial) - 1);
    assert_ptr_equal(resp_parse_arg(&parser, partial, 0, &len), partial + 10);
    resp_parser_release(&parser);
}

/* ---- Resuming and need_hint ---- */

static void test_need_hint(void **state)
{
    static const char input[] = "*2\r\n$3\r\nGET\r\n$10\r\n0123456789\r\n";
    size_t n = sizeof(input) - 1;
    size_t payload = n - 12; /* where "0123456789" starts */
    resp_parser parser;
    resp_parser_init(&parser, NULL);
    for (size_t k = 0; k < n; k++) {
        size_t consumed, hint;
        assert_int_equal(resp_parse(&parser, input, k, &consumed, &hint), RESP_PARSE_INCOMPLETE);
        assert_int_equal(consumed, 0);
        if (k >= 8 && k < 13)
            assert_int_equal(hint, 13 - k); /* GET's payload and CRLF */
        else if (k >= payload)
            assert_int_equal(hint, n - k);
        else
            assert_int_equal(hint, 0); /* a header is pending: size unknown */
    }
    size_t consumed, hint;
    assert_int_equal(resp_parse(&parser, input, n, &consumed, &hint), RESP_PARSE_COMMAND);
    assert_int_equal(hint, 0);
    assert_int_equal(consumed, n);
    resp_parser_release(&parser);
}

static void test_reset_forgets_partial(void **state)
{
    resp_parser parser;
    resp_parser_init(&parser, NULL);
    size_t consumed, hint;
    assert_int_equal(resp_parse(&parser, "*2\r\n$3\r\nGET\r\n$5\r\nab", 20, &consumed, &hint),
                     RESP_PARSE_INCOMPLETE);
    resp_parser_reset(&parser);
    assert_int_equal(resp_parse(&parser, "PING\n", 5, &consumed, &hint), RESP_PARSE_COMMAND);
    assert_int_equal(parser.argc, 1);
    assert_int_equal(consumed, 5);
    resp_parser_release(&parser);
}

static void test_many_arguments(void **state)
{
    /* More arguments than the first argv reservation, arriving in pieces. */
    buffer input;
    buffer_init(&input);
    int count = 3000;
    buffer_appendf(&input, "*%d\r\n", count);
    for (int i = 0; i < count; i++) {
        char word[16];
        int n = snprintf(word, sizeof(word), "%d", i);
        buffer_appendf(&input, "$%d\r\n%s\r\n", n, word);
    }
    feeder f;
    feeder_init(&f, NULL, 1);
    for (size_t at = 0; at < input.len; at += 1000)
        feeder_push(&f, input.data + at, input.len - at < 1000 ? input.len - at : 1000);
    assert_int_equal(f.total_consumed, input.len);
    /* The log holds the command once; spot-check its start and its end. */
    assert_memory_equal(f.log.data, "1:0 1:1 1:2 ", 12);
    assert_memory_equal(f.log.data + f.log.len - 8, " 4:2999\n", 8);
    feeder_release(&f);
    buffer_release(&input);
}

static void test_release_frees_everything(void **state)
{
    size_t before = mem_used();
    resp_parser parser;
    resp_parser_init(&parser, NULL);
    size_t consumed, hint;
    static const char input[] = "SET \"a\\x41\" b c d e f g h i j k\n";
    assert_int_equal(resp_parse(&parser, input, sizeof(input) - 1, &consumed, &hint),
                     RESP_PARSE_COMMAND);
    assert_true(mem_used() > before);
    resp_parser_release(&parser);
    assert_int_equal(mem_used(), before);
    /* Released parsers can be used again. */
    assert_int_equal(resp_parse(&parser, input, sizeof(input) - 1, &consumed, &hint),
                     RESP_PARSE_COMMAND);
    assert_int_equal(parser.argc, 12);
    resp_parser_release(&parser);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_multibulk_single),
        cmocka_unit_test(test_inline_single),
        cmocka_unit_test(test_empty_buffer),
        cmocka_unit_test(test_stream_every_split),
        cmocka_unit_test(test_stream_every_two_splits),
        cmocka_unit_test(test_stream_byte_by_byte),
        cmocka_unit_test(test_stream_repeated),
        cmocka_unit_test(test_binary_payload),
        cmocka_unit_test(test_terminators_not_checked),
        cmocka_unit_test(test_nul_hides_line_end),
        cmocka_unit_test(test_invalid_multibulk_length),
        cmocka_unit_test(test_expected_dollar),
        cmocka_unit_test(test_invalid_bulk_length),
        cmocka_unit_test(test_too_big_lines),
        cmocka_unit_test(test_unbalanced_quotes),
        cmocka_unit_test(test_error_is_sticky),
        cmocka_unit_test(test_custom_limits_boundaries),
        cmocka_unit_test(test_default_limits),
        cmocka_unit_test(test_unauthenticated_limits),
        cmocka_unit_test(test_inline_quoting),
        cmocka_unit_test(test_inline_argument_storage),
        cmocka_unit_test(test_empty_requests_skipped),
        cmocka_unit_test(test_need_hint),
        cmocka_unit_test(test_reset_forgets_partial),
        cmocka_unit_test(test_many_arguments),
        cmocka_unit_test(test_release_frees_everything),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
