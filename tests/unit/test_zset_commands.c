/* Unit tests for the sorted-set commands (src/commands/zset.c) through the
 * command table: encodings and the one-way listpack -> skiplist conversion,
 * the keyspace events each write announces (which the compat scripts cannot
 * see), exact reply bytes in RESP2 and RESP3, COPY of both encodings, and a
 * randomized run that applies the same operations to a listpack-encoded and
 * a skiplist-encoded set and requires identical replies. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rivet/command.h"
#include "rivet/memory.h"
#include "rivet/server.h"

#define NOW_MS 1700000000000LL

static client test_client;
static buffer events;

static void record_event(void *ctx, database *db, const char *key, size_t key_len,
                         const char *event, int type_class)
{
    (void)ctx;
    (void)db;
    (void)type_class;
    buffer_append_cstr(&events, event);
    buffer_append_char(&events, ':');
    buffer_append(&events, key, key_len);
    buffer_append_char(&events, ' ');
}

static int setup(void **state)
{
    (void)state;
    command_table_init();
    server.keyspace = keyspace_create(16, NOW_MS);
    keyspace_set_time(server.keyspace, NOW_MS);
    command_register_types(server.keyspace);
    keyspace_set_modified_hook(server.keyspace, record_event, NULL);
    server.config.zset_max_listpack_entries = 128;
    server.config.zset_max_listpack_value = 64;
    server.config.proto_max_bulk_len = 512 * 1024 * 1024;
    memset(&test_client, 0, sizeof(test_client));
    test_client.db = keyspace_database(server.keyspace, 0);
    test_client.reply.protocol = 2;
    buffer_init(&test_client.reply.out);
    buffer_init(&events);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    keyspace_destroy(server.keyspace);
    server.keyspace = NULL;
    command_table_release();
    buffer_release(&test_client.reply.out);
    buffer_release(&events);
    return 0;
}

/* Runs the command given as argv (split on spaces) and returns the reply
 * bytes, valid until the next call. */
static const char *run(const char *line)
{
    static char copy[8192];
    const char *argv[1100];
    size_t argv_len[1100];
    int argc = 0;
    snprintf(copy, sizeof(copy), "%s", line);
    for (char *word = strtok(copy, " "); word; word = strtok(NULL, " ")) {
        argv[argc] = word;
        argv_len[argc] = strlen(word);
        argc++;
    }
    const command *cmd = command_lookup(argv[0], argv_len[0]);
    assert_non_null(cmd);
    test_client.argc = argc;
    test_client.argv = argv;
    test_client.argv_len = argv_len;
    test_client.command = cmd;
    buffer_clear(&test_client.reply.out);
    buffer_clear(&events);
    cmd->handler(&test_client);
    test_client.argv = NULL;
    test_client.argv_len = NULL;
    return test_client.reply.out.data ? test_client.reply.out.data : "";
}

static const char *recorded_events(void)
{
    return events.data ? events.data : "";
}

static int encoding_of(const char *key)
{
    kv_entry *e = keyspace_lookup_raw(test_client.db, key, strlen(key));
    return e ? (int)entry_encoding(e) : -1;
}

static void add_members(const char *key, int from, int to)
{
    char line[64];
    for (int i = from; i < to; i++) {
        snprintf(line, sizeof(line), "ZADD %s %d m%d", key, i, i);
        assert_string_equal(run(line), ":1\r\n");
    }
}

static void test_conversion_by_entries(void **state)
{
    (void)state;
    add_members("z", 0, 128);
    assert_int_equal(encoding_of("z"), ENCODING_LISTPACK);
    add_members("z", 128, 129);
    assert_int_equal(encoding_of("z"), ENCODING_SKIPLIST);
    assert_string_equal(run("ZCARD z"), ":129\r\n");
    assert_string_equal(run("ZRANK z m128"), ":128\r\n");
    assert_string_equal(run("ZREMRANGEBYRANK z 1 -1"), ":128\r\n");
    /* Never back to a listpack. */
    assert_int_equal(encoding_of("z"), ENCODING_SKIPLIST);
    assert_string_equal(run("ZRANGE z 0 -1 WITHSCORES"), "*2\r\n$2\r\nm0\r\n$1\r\n0\r\n");
}

static void test_conversion_by_value_length(void **state)
{
    (void)state;
    char line[200];
    char member[70];
    memset(member, 'x', 65);
    member[65] = '\0';
    snprintf(line, sizeof(line), "ZADD long 1 %s", member);
    run(line);
    assert_int_equal(encoding_of("long"), ENCODING_SKIPLIST);
    run("ZADD later 1 a");
    assert_int_equal(encoding_of("later"), ENCODING_LISTPACK);
    member[64] = '\0';
    snprintf(line, sizeof(line), "ZADD later 2 %s", member);
    run(line);
    assert_int_equal(encoding_of("later"), ENCODING_LISTPACK);
    member[64] = 'x';
    snprintf(line, sizeof(line), "ZADD later 3 %s", member);
    run(line);
    assert_int_equal(encoding_of("later"), ENCODING_SKIPLIST);
    assert_string_equal(run("ZCARD later"), ":3\r\n");
    /* A small store result is a listpack again. */
    assert_string_equal(run("ZRANGESTORE small later 0 1"), ":2\r\n");
    assert_int_equal(encoding_of("small"), ENCODING_LISTPACK);
    server.config.zset_max_listpack_entries = 0;
    run("ZADD zero 1 a");
    assert_int_equal(encoding_of("zero"), ENCODING_SKIPLIST);
    server.config.zset_max_listpack_entries = 128;
}

static void test_events(void **state)
{
    (void)state;
    run("ZADD k 1 a 2 b");
    assert_string_equal(recorded_events(), "zadd:k ");
    run("ZADD k 1 a");
    assert_string_equal(recorded_events(), "");
    run("ZADD k XX 5 nope");
    assert_string_equal(recorded_events(), "");
    run("ZINCRBY k 1 a");
    assert_string_equal(recorded_events(), "zincr:k ");
    run("ZADD k INCR 1 a");
    assert_string_equal(recorded_events(), "zincr:k ");
    run("ZREM k nope");
    assert_string_equal(recorded_events(), "");
    run("ZREM k a");
    assert_string_equal(recorded_events(), "zrem:k ");
    run("ZREM k b");
    assert_string_equal(recorded_events(), "zrem:k del:k ");
    assert_int_equal(encoding_of("k"), -1);

    run("ZADD k 1 a 2 b 3 c 4 d");
    run("ZPOPMIN k");
    assert_string_equal(recorded_events(), "zpopmin:k ");
    run("ZPOPMAX k 0");
    assert_string_equal(recorded_events(), "");
    run("ZREMRANGEBYSCORE k 100 200");
    assert_string_equal(recorded_events(), "");
    run("ZREMRANGEBYSCORE k 2 2");
    assert_string_equal(recorded_events(), "zremrangebyscore:k ");
    run("ZREMRANGEBYLEX k [c [c");
    assert_string_equal(recorded_events(), "zremrangebylex:k ");
    run("ZREMRANGEBYRANK k 0 -1");
    assert_string_equal(recorded_events(), "zremrangebyrank:k del:k ");
    run("ZADD k 1 a");
    run("ZPOPMAX k 5");
    assert_string_equal(recorded_events(), "zpopmax:k del:k ");

    run("ZADD s 1 a");
    run("ZUNIONSTORE d 1 s");
    assert_string_equal(recorded_events(), "zunionstore:d ");
    run("ZINTERSTORE d 2 s missing");
    assert_string_equal(recorded_events(), "del:d ");
    run("ZINTERSTORE d 2 s missing");
    assert_string_equal(recorded_events(), "");
    run("ZDIFFSTORE d 1 s");
    assert_string_equal(recorded_events(), "zdiffstore:d ");
    run("ZRANGESTORE d s 0 -1");
    assert_string_equal(recorded_events(), "zrangestore:d ");
    run("ZRANGESTORE d s 5 10");
    assert_string_equal(recorded_events(), "del:d ");
}

static void test_replies_resp2_resp3(void **state)
{
    (void)state;
    run("ZADD z 1 a 2.5 b 0.1 c");
    assert_string_equal(run("ZRANGE z 0 -1 WITHSCORES"),
                        "*6\r\n$1\r\nc\r\n$19\r\n0.10000000000000001\r\n$1\r\na\r\n$1\r\n1\r\n"
                        "$1\r\nb\r\n$3\r\n2.5\r\n");
    assert_string_equal(run("ZPOPMIN missing"), "*0\r\n");
    assert_string_equal(run("ZSCORE z nope"), "$-1\r\n");
    assert_string_equal(run("ZADD z NX INCR 1 a"), "$-1\r\n");
    assert_string_equal(run("ZINCRBY z -inf a"), "$4\r\n-inf\r\n");
    assert_string_equal(run("ZINCRBY z inf a"), "-ERR resulting score is not a number (NaN)\r\n");
    test_client.reply.protocol = 3;
    assert_string_equal(
        run("ZRANGE z 0 1 WITHSCORES"),
        "*2\r\n*2\r\n$1\r\na\r\n,-inf\r\n*2\r\n$1\r\nc\r\n,0.10000000000000001\r\n");
    assert_string_equal(run("ZSCORE z b"), ",2.5\r\n");
    assert_string_equal(run("ZSCORE z nope"), "_\r\n");
    assert_string_equal(run("ZPOPMAX z"), "*2\r\n$1\r\nb\r\n,2.5\r\n");
    assert_string_equal(run("ZPOPMAX z 1"), "*1\r\n*2\r\n$1\r\nc\r\n,0.10000000000000001\r\n");
    assert_string_equal(run("ZRANDMEMBER missing"), "_\r\n");
    assert_string_equal(run("ZMSCORE z a nope"), "*2\r\n,-inf\r\n_\r\n");
    test_client.reply.protocol = 2;
    assert_string_equal(run("ZRANK z a WITHSCORE"), "*2\r\n:0\r\n$4\r\n-inf\r\n");
    assert_string_equal(run("ZRANK z nope WITHSCORE"), "*-1\r\n");
}

static void test_copy_both_encodings(void **state)
{
    (void)state;
    run("ZADD small 1 a 2 b");
    add_members("big", 0, 200);
    database *db = test_client.db;
    kv_entry *e = keyspace_lookup(db, "small", 5);
    keyspace_copy(db, e, db, "small2", 6);
    e = keyspace_lookup(db, "big", 3);
    keyspace_copy(db, e, db, "big2", 4);
    run("ZADD small 5 c");
    run("ZREM big m5");
    assert_string_equal(run("ZCARD small2"), ":2\r\n");
    assert_string_equal(run("ZCARD big2"), ":200\r\n");
    assert_int_equal(encoding_of("big2"), ENCODING_SKIPLIST);
    assert_string_equal(run("ZSCORE big2 m5"), "$1\r\n5\r\n");
    assert_string_equal(run("ZRANK big2 m199"), ":199\r\n");
}

/* Copies the reply so two replies can be compared. */
static char *run_copy(const char *line)
{
    const char *reply = run(line);
    return mem_dup(reply, strlen(reply) + 1);
}

/* Creates key as a skiplist if it does not exist. */
static void ensure_skiplist(const char *key)
{
    if (encoding_of(key) != -1)
        return;
    char line[64];
    snprintf(line, sizeof(line), "ZADD %s 0 seed", key);
    server.config.zset_max_listpack_entries = 0;
    run(line);
    server.config.zset_max_listpack_entries = 128;
}

static void test_encodings_agree(void **state)
{
    (void)state;
    /* "p" is a listpack for the whole run (its entry bound is only checked
     * on adds, and it stays under 128 members); "s" starts as a skiplist. */
    ensure_skiplist("s");
    run("ZADD p 0 seed");
    assert_int_equal(encoding_of("s"), ENCODING_SKIPLIST);
    assert_int_equal(encoding_of("p"), ENCODING_LISTPACK);
    srand(7);
    static const char *const scores[] = {"0", "1", "-1", "2.5", "inf", "-inf", "0.1", "3", "7"};
    static const char *const bounds[] = {"-inf", "+inf", "0", "(0", "1", "(2.5", "3", "(7"};
    static const char *const lex[] = {"-", "+", "[m1", "(m1", "[m5", "(m9", "[a", "[z"};
    char line[256], p_line[256];
    for (int round = 0; round < 1500; round++) {
        int op = rand() % 12;
        int a = rand() % 20, b = rand() % 20;
        const char *score = scores[rand() % 9];
        switch (op) {
        case 0:
        case 1:
        case 2:
            snprintf(line, sizeof(line), "ZADD # %s m%d %s m%d", score, a, scores[rand() % 9], b);
            break;
        case 3:
            snprintf(line, sizeof(line), "ZREM # m%d m%d", a, b);
            break;
        case 4:
            snprintf(line, sizeof(line), "ZINCRBY # %s m%d", score, a);
            break;
        case 5:
            snprintf(line, sizeof(line), "ZRANGE # %s %s BYSCORE LIMIT %d %d WITHSCORES",
                     bounds[a % 8], bounds[b % 8], a % 3, b % 5 - 1);
            break;
        case 6:
            snprintf(line, sizeof(line), "ZRANGE # %s %s BYSCORE REV WITHSCORES", bounds[a % 8],
                     bounds[b % 8]);
            break;
        case 7:
            snprintf(line, sizeof(line), "ZRANGE # %d %d REV WITHSCORES", a - 10, b - 10);
            break;
        case 8:
            snprintf(line, sizeof(line), "ZCOUNT # %s %s", bounds[a % 8], bounds[b % 8]);
            break;
        case 9:
            snprintf(line, sizeof(line), "ZRANK # m%d", a);
            break;
        case 10:
            snprintf(line, sizeof(line), "ZREMRANGEBYSCORE # %s %s", bounds[a % 8], bounds[b % 8]);
            break;
        default:
            /* Lex ranges are defined only when all scores are equal: read
             * a side set that keeps them so. */
            snprintf(line, sizeof(line), "ZADD #lex 0 m%d", a);
            break;
        }
        if (op == 11 && rand() % 2) {
            snprintf(line, sizeof(line), "ZRANGE #lex %s %s BYLEX", lex[a % 8], lex[b % 8]);
            if (rand() % 3 == 0)
                snprintf(line, sizeof(line), "ZREMRANGEBYLEX #lex %s %s", lex[a % 8], lex[b % 8]);
        }
        snprintf(p_line, sizeof(p_line), "%s", line);
        *strchr(line, '#') = 's';
        *strchr(p_line, '#') = 'p';
        /* Keep the sets alive, the "s" ones as skiplists. */
        ensure_skiplist("s");
        ensure_skiplist("slex");
        run("ZADD s 0 seed");
        run("ZADD p 0 seed");
        run("ZADD slex 0 seed");
        run("ZADD plex 0 seed");
        char *from_skiplist = run_copy(line);
        char *from_listpack = run_copy(p_line);
        if (strcmp(from_skiplist, from_listpack) != 0)
            fail_msg("round %d: %s\n skiplist: %s\n listpack: %s", round, line, from_skiplist,
                     from_listpack);
        mem_free(from_skiplist);
        mem_free(from_listpack);
    }
    assert_int_equal(encoding_of("p"), ENCODING_LISTPACK);
    assert_int_equal(encoding_of("s"), ENCODING_SKIPLIST);
    assert_int_equal(encoding_of("slex"), ENCODING_SKIPLIST);
    char *all_s = run_copy("ZRANGE s 0 -1 WITHSCORES");
    assert_string_equal(run("ZRANGE p 0 -1 WITHSCORES"), all_s);
    mem_free(all_s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_conversion_by_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conversion_by_value_length, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replies_resp2_resp3, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_both_encodings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_encodings_agree, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
