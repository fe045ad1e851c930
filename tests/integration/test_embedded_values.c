/* Small hashes, sets and sorted sets live inside their key's entry between
 * command batches and move out for a change (see keyspace_object_for_update).
 * These tests drive that through the server: writes and reads of one key
 * pipelined in a single batch (the value is out of its entry during the
 * batch), then read back in later batches (folded in again), through the
 * commands that rebuild entries (EXPIRE, PERSIST, RENAME, MOVE, COPY,
 * RESTORE), conversions to the big encodings, MULTI and scripts; and
 * MEMORY USAGE giving the exact size of one block under jemalloc. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "harness.h"

static int server_setup(void **state)
{
    *state = harness_start(NULL);
    return *state ? 0 : -1;
}

static int server_teardown(void **state)
{
    return harness_stop(*state) == 0 ? 0 : -1;
}

/* Sends every command in one write, so the server reads them as one batch,
 * then checks each reply is the integer (or, for NULL-terminated strings,
 * the status/bulk text) expected. */
typedef struct expected {
    const char *command;
    long long integer;
    const char *text; /* when set, a status or bulk reply with this text */
} expected;

static void pipeline(redisContext *c, const expected *steps, size_t count)
{
    for (size_t i = 0; i < count; i++)
        assert_int_equal(redisAppendCommand(c, steps[i].command), REDIS_OK);
    for (size_t i = 0; i < count; i++) {
        redisReply *reply = NULL;
        assert_int_equal(redisGetReply(c, (void **)&reply), REDIS_OK);
        if (steps[i].text) {
            if (reply->type != REDIS_REPLY_STATUS && reply->type != REDIS_REPLY_STRING)
                fail_msg("%s: reply type %d", steps[i].command, reply->type);
            if (strcmp(reply->str, steps[i].text) != 0)
                fail_msg("%s: got '%s', expected '%s'", steps[i].command, reply->str,
                         steps[i].text);
        } else {
            if (reply->type != REDIS_REPLY_INTEGER)
                fail_msg("%s: reply type %d (%s)", steps[i].command, reply->type,
                         reply->type == REDIS_REPLY_ERROR ? reply->str : "");
            if (reply->integer != steps[i].integer)
                fail_msg("%s: got %lld, expected %lld", steps[i].command, reply->integer,
                         steps[i].integer);
        }
        freeReplyObject(reply);
    }
}

static int is_jemalloc(redisContext *c)
{
    redisReply *reply = harness_command(c, "INFO memory");
    int yes = strstr(reply->str, "mem_allocator:jemalloc") != NULL;
    freeReplyObject(reply);
    return yes;
}

static void test_hash_in_one_batch_and_after(void **state)
{
    redisContext *c = harness_connect(*state);
    const expected steps[] = {
        {"HSET session:12345 user user12345 email u12345@example.io role member age 45", 4, NULL},
        {"HSET session:12345 age 46", 0, NULL},
        {"HINCRBY session:12345 age 1", 47, NULL},
        {"HGET session:12345 age", 0, "47"},
        {"HDEL session:12345 role", 1, NULL},
        {"HLEN session:12345", 3, NULL},
        {"HSETNX session:12345 role admin", 1, NULL},
        {"HGET session:12345 role", 0, "admin"},
    };
    pipeline(c, steps, sizeof(steps) / sizeof(steps[0]));
    /* A later batch sees the same hash, now back inside its entry. */
    expect_bulk(c, "u12345@example.io", "HGET session:12345 email");
    expect_integer(c, 4, "HLEN session:12345");
    expect_bulk(c, "listpack", "OBJECT ENCODING session:12345");
    if (is_jemalloc(c)) {
        /* 24-byte entry header, key length byte, 13-byte key, padding to
         * 40, then the 72-byte listpack: 112, one jemalloc size class. */
        expect_integer(c, 112, "MEMORY USAGE session:12345");
    }
    redisFree(c);
}

static void test_rebuilds_keep_the_value(void **state)
{
    redisContext *c = harness_connect(*state);
    expect_integer(c, 3, "HSET rb:h a 1 b 2 c 3");
    expect_integer(c, 1, "EXPIRE rb:h 1000");
    expect_bulk(c, "2", "HGET rb:h b");
    expect_integer(c, 1, "HSET rb:h d 4");
    expect_integer(c, 1, "PERSIST rb:h");
    expect_bulk(c, "4", "HGET rb:h d");
    expect_status(c, "OK", "RENAME rb:h rb:a-much-longer-name-for-the-same-hash");
    expect_bulk(c, "3", "HGET rb:a-much-longer-name-for-the-same-hash c");
    expect_integer(c, 1, "COPY rb:a-much-longer-name-for-the-same-hash rb:copy");
    expect_integer(c, 1, "HSET rb:copy e 5");
    expect_integer(c, 5, "HLEN rb:copy");
    expect_integer(c, 4, "HLEN rb:a-much-longer-name-for-the-same-hash");
    expect_integer(c, 1, "MOVE rb:copy 1");
    expect_status(c, "OK", "SELECT 1");
    expect_bulk(c, "5", "HGET rb:copy e");
    expect_status(c, "OK", "SELECT 0");

    /* DUMP and RESTORE of an embedded value. */
    redisReply *dump = harness_command(c, "DUMP rb:a-much-longer-name-for-the-same-hash");
    assert_int_equal(dump->type, REDIS_REPLY_STRING);
    expect_status(c, "OK", "RESTORE rb:restored 0 %b", dump->str, dump->len);
    freeReplyObject(dump);
    expect_bulk(c, "1", "HGET rb:restored a");
    expect_integer(c, 1, "HDEL rb:restored a");
    expect_integer(c, 3, "HLEN rb:restored");
    redisFree(c);
}

static void test_sets_and_conversions(void **state)
{
    redisContext *c = harness_connect(*state);
    const expected steps[] = {
        {"SADD ids:1 12345 2 3 4", 4, NULL},
        {"SADD ids:2 3 4 5", 3, NULL},
        {"SMOVE ids:1 ids:2 2", 1, NULL},
        {"SCARD ids:1", 3, NULL},
        {"SCARD ids:2", 4, NULL},
        {"SISMEMBER ids:2 2", 1, NULL},
        {"SADD ids:1 not-a-number", 1, NULL}, /* intset -> listpack */
        {"SREM ids:1 3", 1, NULL},
        {"SCARD ids:1", 3, NULL},
    };
    pipeline(c, steps, sizeof(steps) / sizeof(steps[0]));
    expect_bulk(c, "listpack", "OBJECT ENCODING ids:1");
    expect_bulk(c, "intset", "OBJECT ENCODING ids:2");
    expect_integer(c, 1, "SISMEMBER ids:1 not-a-number");
    expect_integer(c, 1, "SISMEMBER ids:1 12345");
    if (is_jemalloc(c)) {
        /* 24 + 1 + 5-byte key -> 32 after padding; the intset's 8-byte
         * header and 4 x 2 bytes: 48 in one block. */
        expect_integer(c, 48, "MEMORY USAGE ids:2");
    }

    /* Grow a small set past set-max-listpack-entries: it leaves for a
     * hashtable and its entry loses the inline copy. */
    expect_status(c, "OK", "CONFIG SET set-max-listpack-entries 4");
    expect_integer(c, 2, "SADD ids:1 x y");
    expect_bulk(c, "hashtable", "OBJECT ENCODING ids:1");
    expect_integer(c, 5, "SCARD ids:1");
    expect_status(c, "OK", "CONFIG SET set-max-listpack-entries 128");
    /* SPOP until empty deletes the key. */
    expect_integer(c, 4, "SCARD ids:2");
    redisReply *popped = harness_command(c, "SPOP ids:2 10");
    assert_int_equal(popped->elements, 4);
    freeReplyObject(popped);
    expect_integer(c, 0, "EXISTS ids:2");
    redisFree(c);
}

static void test_sorted_sets(void **state)
{
    redisContext *c = harness_connect(*state);
    const expected steps[] = {
        {"ZADD board:1 1 alice 2 bob 3 carol", 3, NULL},
        {"ZINCRBY board:1 5 alice", 0, "6"},
        {"ZREM board:1 bob", 1, NULL},
        {"ZCARD board:1", 2, NULL},
        {"ZRANK board:1 alice", 1, NULL},
        {"ZADD board:1 XX 10 carol", 0, NULL},
        {"ZREMRANGEBYSCORE board:1 0 6", 1, NULL},
    };
    pipeline(c, steps, sizeof(steps) / sizeof(steps[0]));
    expect_bulk(c, "10", "ZSCORE board:1 carol");
    expect_integer(c, 1, "ZCARD board:1");
    expect_bulk(c, "listpack", "OBJECT ENCODING board:1");
    /* Past zset-max-listpack-value: converted to a skiplist. */
    char member[80];
    memset(member, 'm', sizeof(member) - 1);
    member[sizeof(member) - 1] = '\0';
    expect_integer(c, 1, "ZADD board:1 7 %s", member);
    expect_bulk(c, "skiplist", "OBJECT ENCODING board:1");
    expect_integer(c, 2, "ZCARD board:1");
    redisReply *popped = harness_command(c, "ZPOPMIN board:1");
    assert_int_equal(popped->elements, 2);
    assert_string_equal(popped->element[0]->str, member);
    freeReplyObject(popped);
    redisFree(c);
}

static void test_transactions_and_scripts(void **state)
{
    redisContext *c = harness_connect(*state);
    expect_integer(c, 1, "HSET tx:h a 1");
    expect_status(c, "OK", "MULTI");
    expect_status(c, "QUEUED", "HSET tx:h b 2");
    expect_status(c, "QUEUED", "HDEL tx:h a");
    expect_status(c, "QUEUED", "SADD tx:s 1 2 3");
    expect_status(c, "QUEUED", "SREM tx:s 2");
    redisReply *exec = harness_command(c, "EXEC");
    assert_int_equal(exec->type, REDIS_REPLY_ARRAY);
    assert_int_equal(exec->elements, 4);
    assert_int_equal(exec->element[0]->integer, 1);
    assert_int_equal(exec->element[1]->integer, 1);
    assert_int_equal(exec->element[2]->integer, 3);
    assert_int_equal(exec->element[3]->integer, 1);
    freeReplyObject(exec);
    expect_integer(c, 1, "HLEN tx:h");
    expect_integer(c, 2, "SCARD tx:s");

    /* A script writes the same key several times and reads it back. */
    expect_integer(c, 5, "EVAL %s 1 tx:z",
                   "redis.call('ZADD', KEYS[1], 1, 'a', 2, 'b') "
                   "redis.call('ZADD', KEYS[1], 3, 'c') "
                   "redis.call('ZREM', KEYS[1], 'a') "
                   "redis.call('ZADD', KEYS[1], 4, 'd', 5, 'e', 6, 'f') "
                   "return redis.call('ZCARD', KEYS[1])");
    expect_bulk(c, "6", "ZSCORE tx:z f");
    redisFree(c);
}

static void test_embed_limit_is_configurable(void **state)
{
    redisContext *c = harness_connect(*state);
    redisReply *reply = harness_command(c, "CONFIG GET embed-value-max-bytes");
    assert_int_equal(reply->elements, 2);
    assert_string_equal(reply->element[1]->str, "256");
    freeReplyObject(reply);
    expect_error_prefix(c, "ERR CONFIG SET failed", "CONFIG SET embed-value-max-bytes 65537");
    expect_error_prefix(c, "ERR CONFIG SET failed", "CONFIG SET embed-value-max-bytes -1");

    expect_status(c, "OK", "CONFIG SET embed-value-max-bytes 0");
    expect_integer(c, 4,
                   "HSET cfg:12345678 user user12345 email u12345@example.io role member age 45");
    if (is_jemalloc(c)) /* apart: a 48-byte entry and an 80-byte listpack */
        expect_integer(c, 128, "MEMORY USAGE cfg:12345678");
    expect_status(c, "OK", "CONFIG SET embed-value-max-bytes 256");
    /* The next write folds it in: 40 + 72 bytes, one 112-byte block. */
    expect_integer(c, 0, "HSET cfg:12345678 age 46");
    if (is_jemalloc(c))
        expect_integer(c, 112, "MEMORY USAGE cfg:12345678");
    expect_bulk(c, "46", "HGET cfg:12345678 age");
    redisFree(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_in_one_batch_and_after),
        cmocka_unit_test(test_rebuilds_keep_the_value),
        cmocka_unit_test(test_sets_and_conversions),
        cmocka_unit_test(test_sorted_sets),
        cmocka_unit_test(test_transactions_and_scripts),
        cmocka_unit_test(test_embed_limit_is_configurable),
    };
    return cmocka_run_group_tests(tests, server_setup, server_teardown);
}
