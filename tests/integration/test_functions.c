/* Functions through a real server, for what the compat script cannot say:
 * a DUMP payload taken from the server restores into it (after FLUSH, and
 * with REPLACE), a RESTORE that fails changes nothing, libraries survive
 * SCRIPT FLUSH, a function's writes and reads go through the same keyspace
 * as other clients', and libraries are saved in RDB snapshots (they come
 * back after DEBUG RELOAD and after a restart). RIVET_SERVER=redis-server runs the same checks
 * against Redis. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define LIB_COUNTER                                                                                \
    "#!lua name=counter\n"                                                                         \
    "redis.register_function('bump', function(keys, args)\n"                                       \
    "  return redis.call('INCRBY', keys[1], args[1]) end)\n"                                       \
    "redis.register_function{function_name='peek', flags={'no-writes'},\n"                         \
    "  description='reads the counter', callback=function(keys)\n"                                 \
    "  return redis.call('GET', keys[1]) end}"
#define LIB_OTHER "#!lua name=other\nredis.register_function('hello', function() return 'hi' end)"

static harness_server *server;

static int setup(void **state)
{
    (void)state;
    server = harness_start(NULL);
    return server ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return harness_stop(server);
}

/* FUNCTION DUMP's payload, copied out of its reply. */
static char *dump(redisContext *c, size_t *len)
{
    redisReply *r = harness_command(c, "FUNCTION DUMP");
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    char *payload = malloc(r->len);
    memcpy(payload, r->str, r->len);
    *len = r->len;
    freeReplyObject(r);
    return payload;
}

static void test_dump_restore_round_trip(void **state)
{
    (void)state;
    redisContext *c = harness_connect(server);
    expect_status(c, "OK", "FUNCTION FLUSH");
    expect_bulk(c, "counter", "FUNCTION LOAD %s", LIB_COUNTER);
    expect_bulk(c, "other", "FUNCTION LOAD %s", LIB_OTHER);
    size_t len;
    char *payload = dump(c, &len);

    expect_status(c, "OK", "FUNCTION FLUSH");
    expect_error(c, "ERR Function not found", "FCALL bump 1 n 1");
    expect_status(c, "OK", "FUNCTION RESTORE %b", payload, len);
    expect_integer(c, 5, "FCALL bump 1 n 5");
    expect_bulk(c, "5", "FCALL_RO peek 1 n");
    expect_bulk(c, "hi", "FCALL hello 0");
    /* Restoring the same payload again collides (APPEND) unless REPLACE. */
    redisReply *r = harness_command(c, "FUNCTION RESTORE %b", payload, len);
    assert_int_equal(r->type, REDIS_REPLY_ERROR);
    assert_non_null(strstr(r->str, "already exists"));
    freeReplyObject(r);
    expect_status(c, "OK", "FUNCTION RESTORE %b REPLACE", payload, len);
    expect_status(c, "OK", "FUNCTION RESTORE %b FLUSH", payload, len);
    r = harness_command(c, "FUNCTION LIST");
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 2);
    freeReplyObject(r);

    /* A payload whose last byte changed fails its checksum. */
    payload[len - 1] ^= 1;
    expect_error(c, "ERR DUMP payload version or checksum are wrong", "FUNCTION RESTORE %b",
                 payload, len);
    free(payload);
    redisFree(c);
}

static void test_failed_restore_changes_nothing(void **state)
{
    (void)state;
    redisContext *c = harness_connect(server);
    expect_status(c, "OK", "FUNCTION FLUSH");
    expect_bulk(c, "other", "FUNCTION LOAD %s", LIB_OTHER);
    size_t len;
    char *only_other = dump(c, &len);
    /* counter + a library whose function name clashes with 'hello'. */
    expect_status(c, "OK", "FUNCTION FLUSH");
    expect_bulk(c, "counter", "FUNCTION LOAD %s", LIB_COUNTER);
    expect_bulk(c, "clash", "FUNCTION LOAD %s",
                "#!lua name=clash\nredis.register_function('hello', function() return 'no' end)");
    size_t clash_len;
    char *clash = dump(c, &clash_len);
    expect_status(c, "OK", "FUNCTION RESTORE %b FLUSH", only_other, len);
    /* APPEND of {counter, clash}: clash's 'hello' collides with other's, so
     * counter is not added either. */
    expect_error(c, "ERR Function hello already exists", "FUNCTION RESTORE %b", clash, clash_len);
    expect_error(c, "ERR Function not found", "FCALL bump 1 n 1");
    expect_bulk(c, "hi", "FCALL hello 0");
    free(only_other);
    free(clash);
    redisFree(c);
}

static void test_functions_share_the_keyspace(void **state)
{
    (void)state;
    redisContext *c = harness_connect(server);
    redisContext *other = harness_connect(server);
    expect_status(c, "OK", "FUNCTION FLUSH");
    expect_bulk(c, "counter", "FUNCTION LOAD %s", LIB_COUNTER);
    expect_status(other, "OK", "SET hits 10");
    expect_integer(c, 13, "FCALL bump 1 hits 3");
    expect_bulk(other, "13", "GET hits");
    expect_error(c, "ERR Can not execute a script with write flag using *_ro command.",
                 "FCALL_RO bump 1 hits 1");
    /* SCRIPT FLUSH leaves libraries alone. */
    expect_status(c, "OK", "SCRIPT FLUSH");
    expect_bulk(c, "13", "FCALL peek 1 hits");
    /* A function that fails midway keeps what it wrote before, like EVAL. */
    expect_bulk(c, "half", "FUNCTION LOAD %s",
                "#!lua name=half\nredis.register_function('half', function(keys)\n"
                "  redis.call('SET', keys[1], 'written')\n  error('stop') end)");
    expect_error(c, "ERR user_function:4: stop script: half, on @user_function:4.",
                 "FCALL half 1 partial");
    expect_bulk(other, "written", "GET partial");
    redisFree(other);
    redisFree(c);
}

static void test_libraries_survive_reload_and_restart(void **state)
{
    (void)state;
    char dir[] = "/tmp/rivet-functions-XXXXXX";
    assert_non_null(mkdtemp(dir));
    const char *const args[] = {"--dir", dir, NULL};
    harness_server *first = harness_start(args);
    redisContext *c = harness_connect(first);
    expect_bulk(c, "counter", "FUNCTION LOAD %s", LIB_COUNTER);
    expect_status(c, "OK", "SET n 41");
    expect_status(c, "OK", "DEBUG RELOAD");
    expect_integer(c, 42, "FCALL bump 1 n 1");
    expect_status(c, "OK", "SAVE");
    redisFree(c);
    assert_int_equal(harness_stop(first), 0);

    harness_server *second = harness_start(args);
    c = harness_connect(second);
    expect_integer(c, 43, "FCALL bump 1 n 1");
    redisReply *r = harness_command(c, "FUNCTION LIST WITHCODE");
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 1);
    assert_string_equal(r->element[0]->element[7]->str, LIB_COUNTER);
    freeReplyObject(r);
    /* FLUSHALL leaves libraries alone, as in Redis. */
    expect_status(c, "OK", "FLUSHALL");
    expect_bulk(c, "reads the counter", "EVAL %s 0",
                "return 'reads the counter'"); /* the server still works */
    expect_nil(c, "FCALL_RO peek 1 n");
    redisFree(c);
    assert_int_equal(harness_stop(second), 0);
    char path[128];
    snprintf(path, sizeof(path), "%s/dump.rdb", dir);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dump_restore_round_trip),
        cmocka_unit_test(test_failed_restore_changes_nothing),
        cmocka_unit_test(test_functions_share_the_keyspace),
        cmocka_unit_test(test_libraries_survive_reload_and_restart),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
