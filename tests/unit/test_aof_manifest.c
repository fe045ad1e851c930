/* Tests for the AOF manifest (Redis 7's text form) and the strict command
 * stream parser the loader uses (src/persist/aof_manifest.c, aof_parse.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "rivet/aof.h"
#include "rivet/memory.h"

static void test_manifest_round_trip(void **state)
{
    (void)state;
    const char *text = "file appendonly.aof.3.base.rdb seq 3 type b\n"
                       "file appendonly.aof.2.incr.aof seq 2 type h\n"
                       "file appendonly.aof.4.incr.aof seq 4 type i\n"
                       "file appendonly.aof.5.incr.aof seq 5 type i\n";
    aof_manifest m;
    char err[128];
    assert_int_equal(aof_manifest_parse(&m, text, strlen(text), err, sizeof(err)), 0);
    assert_string_equal(m.base.name, "appendonly.aof.3.base.rdb");
    assert_int_equal(m.base.seq, 3);
    assert_int_equal(m.incr_count, 2);
    assert_int_equal(m.history_count, 1);
    assert_string_equal(m.incr[1].name, "appendonly.aof.5.incr.aof");
    assert_int_equal(m.next_base_seq, 4);
    assert_int_equal(m.next_incr_seq, 6);
    buffer out;
    buffer_init(&out);
    aof_manifest_format(&m, &out);
    assert_string_equal(out.data, text);
    buffer_release(&out);
    aof_manifest_release(&m);
}

static void test_manifest_comments_order_and_quotes(void **state)
{
    (void)state;
    /* Keys in any order, comments and blank lines, a quoted name, CRLF. */
    const char *text = "# written by hand\r\n\r\n"
                       "seq 1 type b file \"my file.aof.1.base.aof\"\r\n"
                       "type i file my.aof.1.incr.aof seq 1\r\n";
    aof_manifest m;
    char err[128];
    assert_int_equal(aof_manifest_parse(&m, text, strlen(text), err, sizeof(err)), 0);
    assert_string_equal(m.base.name, "my file.aof.1.base.aof");
    assert_int_equal(m.incr_count, 1);
    assert_string_equal(m.incr[0].name, "my.aof.1.incr.aof");
    aof_manifest_release(&m);
}

static void expect_parse_error(const char *text, const char *message)
{
    aof_manifest m;
    char err[128] = "";
    assert_int_equal(aof_manifest_parse(&m, text, strlen(text), err, sizeof(err)), -1);
    assert_string_equal(err, message);
}

static void test_manifest_errors(void **state)
{
    (void)state;
    expect_parse_error("", "Found an empty AOF manifest");
    expect_parse_error("# only a comment\n", "Found an empty AOF manifest");
    expect_parse_error("file a seq 1\n", "Invalid AOF manifest file format");
    expect_parse_error("file a seq x type b\n", "Invalid AOF manifest file format");
    expect_parse_error("file a seq 1 type b extra\n", "Invalid AOF manifest file format");
    expect_parse_error("file ../a seq 1 type b\n", "Invalid AOF manifest file format");
    expect_parse_error("file a seq 1 type z\n", "Unknown AOF file type");
    expect_parse_error("file a seq 1 type b\nfile b seq 2 type b\n",
                       "Found duplicate base file information");
    expect_parse_error("file a seq 2 type i\nfile b seq 2 type i\n",
                       "Found a non-monotonic sequence number");
    expect_parse_error("file \"a seq 1 type b\n", "Invalid AOF manifest file format");
    char long_line[1200];
    memset(long_line, 'x', sizeof(long_line) - 1);
    long_line[sizeof(long_line) - 1] = '\0';
    expect_parse_error(long_line, "The AOF manifest file contains too long line");
}

static void test_file_names(void **state)
{
    (void)state;
    buffer out;
    buffer_init(&out);
    aof_name_base(&out, "appendonly.aof", 7, 1);
    assert_string_equal(out.data, "appendonly.aof.7.base.rdb");
    buffer_clear(&out);
    aof_name_base(&out, "appendonly.aof", 7, 0);
    assert_string_equal(out.data, "appendonly.aof.7.base.aof");
    buffer_clear(&out);
    aof_name_incr(&out, "x.aof", 12);
    assert_string_equal(out.data, "x.aof.12.incr.aof");
    buffer_release(&out);
}

/* ---------- the command stream ---------- */

typedef struct parsed {
    aof_parse_status status;
    int argc;
    size_t pos;
    char joined[256];
} parsed;

static parsed parse_one(const char *data, size_t len, size_t start)
{
    parsed p = {0};
    int cap = 0;
    const char **argv = NULL;
    size_t *lens = NULL;
    p.pos = start;
    p.status = aof_parse_command(data, len, &p.pos, &p.argc, &argv, &lens, &cap);
    if (p.status == AOF_PARSE_OK) {
        size_t at = 0;
        for (int i = 0; i < p.argc; i++) {
            memcpy(p.joined + at, argv[i], lens[i]);
            at += lens[i];
            p.joined[at++] = i + 1 < p.argc ? ' ' : '\0';
        }
    }
    mem_free(argv);
    mem_free(lens);
    return p;
}

static void test_parse_commands(void **state)
{
    (void)state;
    const char *data = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\na\r\nbc\r\n*1\r\n$4\r\nPING\r\n";
    size_t len = strlen(data);
    parsed p = parse_one(data, len, 0);
    assert_int_equal(p.status, AOF_PARSE_OK);
    assert_int_equal(p.argc, 3);
    assert_string_equal(p.joined, "SET k a\r\nbc"); /* binary-safe */
    p = parse_one(data, len, p.pos);
    assert_int_equal(p.status, AOF_PARSE_OK);
    assert_string_equal(p.joined, "PING");
    p = parse_one(data, len, p.pos);
    assert_int_equal(p.status, AOF_PARSE_END);
}

static void test_parse_skips_annotations(void **state)
{
    (void)state;
    const char *data = "#TS:1700000000\r\n*1\r\n$4\r\nPING\r\n#TS:1700000001\r\n";
    size_t len = strlen(data);
    parsed p = parse_one(data, len, 0);
    assert_int_equal(p.status, AOF_PARSE_OK);
    assert_string_equal(p.joined, "PING");
    p = parse_one(data, len, p.pos);
    assert_int_equal(p.status, AOF_PARSE_END);
    assert_int_equal(parse_one("#TS:17", 6, 0).status, AOF_PARSE_TRUNCATED);
}

static void test_parse_truncated_everywhere(void **state)
{
    (void)state;
    /* Every proper prefix of a command is a truncation, never an error. */
    const char *data = "*2\r\n$4\r\nINCR\r\n$10\r\ncounter:01\r\n";
    size_t len = strlen(data);
    for (size_t cut = 1; cut < len; cut++) {
        parsed p = parse_one(data, cut, 0);
        if (p.status != AOF_PARSE_TRUNCATED)
            fail_msg("cut at %zu: status %d", cut, p.status);
    }
    assert_int_equal(parse_one(data, len, 0).status, AOF_PARSE_OK);
}

static void test_parse_bad(void **state)
{
    (void)state;
    const char *bad[] = {
        "SET k v\r\n",               /* inline: never written to an AOF */
        "*0\r\n",                    /* empty command */
        "*1\r\n+OK\r\n",             /* not a bulk */
        "*1\r\n$3\r\nabcX\r\n",      /* bulk without its CRLF */
        "*x\r\n",                    /* not a number */
        "*1\r\n$-1\r\n",             /* negative length */
        "*1\r\n$3\n",                /* LF alone */
        "*99999999999999999999\r\n", /* absurd count */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        parsed p = parse_one(bad[i], strlen(bad[i]), 0);
        if (p.status != AOF_PARSE_BAD)
            fail_msg("case %zu (%s): status %d", i, bad[i], p.status);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_manifest_round_trip),
        cmocka_unit_test(test_manifest_comments_order_and_quotes),
        cmocka_unit_test(test_manifest_errors),
        cmocka_unit_test(test_file_names),
        cmocka_unit_test(test_parse_commands),
        cmocka_unit_test(test_parse_skips_annotations),
        cmocka_unit_test(test_parse_truncated_everywhere),
        cmocka_unit_test(test_parse_bad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
