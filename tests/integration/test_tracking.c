/* Client-side caching through a real server, with RESP2 clients: invalidations
 * redirected to a subscribed connection, BCAST prefixes, the flush null, a
 * broken redirect, the key-table limit, INFO and CLIENT LIST, and tracking
 * state dropped with the connection. RESP3 push shapes are compared byte for
 * byte with Redis in tests/compat/scripts/tracking.txt. RIVET_SERVER=
 * redis-server runs the same checks against Redis. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static redisReply *read_reply(redisContext *c)
{
    void *reply = NULL;
    if (redisGetReply(c, &reply) != REDIS_OK || reply == NULL)
        fail_msg("reading a reply: %s", c->errstr);
    return reply;
}

static long long client_id(redisContext *c)
{
    redisReply *r = harness_command(c, "CLIENT ID");
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    long long id = r->integer;
    freeReplyObject(r);
    return id;
}

/* A connection subscribed to __redis__:invalidate, as RESP2 redirection needs. */
static redisContext *invalidation_listener(harness_server *server, long long *id)
{
    redisContext *c = harness_connect(server);
    *id = client_id(c);
    redisReply *r = harness_command(c, "SUBSCRIBE __redis__:invalidate");
    freeReplyObject(r);
    return c;
}

/* Reads one ["message", "__redis__:invalidate", keys] frame and checks the
 * keys (NULL: the flush null). */
static void expect_invalidation(redisContext *c, const char *const *keys, size_t count)
{
    redisReply *r = read_reply(c);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 3);
    assert_string_equal(r->element[0]->str, "message");
    assert_string_equal(r->element[1]->str, "__redis__:invalidate");
    const redisReply *body = r->element[2];
    if (keys == NULL) {
        assert_int_equal(body->type, REDIS_REPLY_NIL);
    } else {
        assert_int_equal(body->type, REDIS_REPLY_ARRAY);
        assert_int_equal(body->elements, count);
        for (size_t i = 0; i < count; i++)
            assert_string_equal(body->element[i]->str, keys[i]);
    }
    freeReplyObject(r);
}

/* The listener has nothing more to read: a PING answers with "pong" first. */
static void expect_nothing_pending(redisContext *listener)
{
    redisReply *r = harness_command(listener, "PING");
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_string_equal(r->element[0]->str, "pong");
    freeReplyObject(r);
}

static void test_redirected_invalidations(void **state)
{
    harness_server *server = *state;
    long long listener_id;
    redisContext *listener = invalidation_listener(server, &listener_id);
    redisContext *reader = harness_connect(server);
    redisContext *writer = harness_connect(server);

    expect_status(reader, "OK", "CLIENT TRACKING on REDIRECT %lld", listener_id);
    expect_integer(reader, listener_id, "CLIENT GETREDIR");
    expect_status(writer, "OK", "MSET a 1 b 2 c 3");
    expect_bulk(reader, "1", "GET a");
    expect_array_len(reader, 2, "MGET b nosuch");

    /* Only the keys the reader fetched are reported, once each. */
    expect_status(writer, "OK", "SET c 30");
    expect_status(writer, "OK", "SET a 10");
    expect_integer(writer, 3, "INCR b");
    expect_integer(writer, 11, "INCR a");
    static const char *const a[] = {"a"}, *const b[] = {"b"};
    expect_invalidation(listener, a, 1);
    expect_invalidation(listener, b, 1);
    expect_nothing_pending(listener);

    /* The reader's own writes are reported too (no NOLOOP). */
    expect_bulk(reader, "11", "GET a");
    expect_integer(reader, 1, "DEL a");
    expect_invalidation(listener, a, 1);

    /* A flush is one null, whatever it removed. */
    expect_bulk(reader, "3", "GET b");
    expect_status(writer, "OK", "FLUSHALL");
    expect_invalidation(listener, NULL, 0);
    expect_nothing_pending(listener);

    expect_status(reader, "OK", "CLIENT TRACKING off");
    expect_integer(reader, -1, "CLIENT GETREDIR");
    redisFree(writer);
    redisFree(reader);
    redisFree(listener);
}

static void test_broadcast_prefixes(void **state)
{
    harness_server *server = *state;
    long long listener_id;
    redisContext *listener = invalidation_listener(server, &listener_id);
    redisContext *watcher = harness_connect(server);
    redisContext *writer = harness_connect(server);

    expect_status(watcher, "OK",
                  "CLIENT TRACKING on BCAST REDIRECT %lld PREFIX session: PREFIX rl:", listener_id);
    /* Pipelined writes in one batch arrive as one message per prefix,
     * sorted and without duplicates. */
    redisAppendCommand(writer, "SET session:9 x");
    redisAppendCommand(writer, "SET session:1 y");
    redisAppendCommand(writer, "SET other:1 z");
    redisAppendCommand(writer, "DEL session:9");
    for (int i = 0; i < 4; i++)
        freeReplyObject(read_reply(writer));
    static const char *const sessions[] = {"session:1", "session:9"};
    expect_invalidation(listener, sessions, 2);
    expect_status(writer, "OK", "SET rl:login 1");
    static const char *const rl[] = {"rl:login"};
    expect_invalidation(listener, rl, 1);
    expect_nothing_pending(listener);

    redisReply *info = harness_command(watcher, "CLIENT TRACKINGINFO");
    assert_int_equal(info->type, REDIS_REPLY_ARRAY);
    assert_int_equal(info->elements, 6);
    assert_int_equal(info->element[5]->elements, 2);
    assert_string_equal(info->element[5]->element[0]->str, "rl:");
    assert_string_equal(info->element[5]->element[1]->str, "session:");
    freeReplyObject(info);
    assert_int_equal(harness_info_number(writer, "stats", "tracking_total_prefixes"), 2);

    redisFree(watcher); /* leaving drops its prefixes */
    assert_true(harness_wait_info_number(writer, "stats", "tracking_total_prefixes", 0, 2000));
    assert_true(harness_wait_info_number(writer, "clients", "tracking_clients", 0, 2000));
    redisFree(writer);
    redisFree(listener);
}

static void test_broken_redirect_and_client_list(void **state)
{
    harness_server *server = *state;
    long long listener_id;
    redisContext *listener = invalidation_listener(server, &listener_id);
    redisContext *reader = harness_connect(server);
    redisContext *writer = harness_connect(server);
    expect_status(reader, "OK", "CLIENT TRACKING on REDIRECT %lld", listener_id);
    redisReply *r = harness_command(reader, "CLIENT INFO");
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_non_null(strstr(r->str, " flags=t "));
    char redir[64];
    snprintf(redir, sizeof(redir), " redir=%lld ", listener_id);
    assert_non_null(strstr(r->str, redir));
    freeReplyObject(r);

    redisFree(listener);
    expect_nil(reader, "GET k");
    expect_status(writer, "OK", "SET k 1");
    /* The target is gone: the reader is flagged (a RESP2 client cannot be
     * told in-band) and CLIENT TRACKINGINFO says so. */
    r = harness_command(reader, "CLIENT TRACKINGINFO");
    assert_int_equal(r->element[1]->elements, 2);
    assert_string_equal(r->element[1]->element[0]->str, "on");
    assert_string_equal(r->element[1]->element[1]->str, "broken_redirect");
    freeReplyObject(r);
    r = harness_command(reader, "CLIENT INFO");
    assert_non_null(strstr(r->str, " flags=tR "));
    freeReplyObject(r);
    redisFree(writer);
    redisFree(reader);
}

static void test_key_table_limit(void **state)
{
    harness_server *server = *state;
    long long listener_id;
    redisContext *listener = invalidation_listener(server, &listener_id);
    redisContext *reader = harness_connect(server);
    expect_status(reader, "OK", "CONFIG SET tracking-table-max-keys 10");
    expect_status(reader, "OK", "CLIENT TRACKING on REDIRECT %lld", listener_id);
    for (int i = 0; i < 10; i++)
        expect_nil(reader, "GET key:%d", i);
    assert_int_equal(harness_info_number(reader, "stats", "tracking_total_keys"), 10);
    assert_int_equal(harness_info_number(reader, "stats", "tracking_total_items"), 10);
    /* The eleventh key pushes one random key out, and its reader is told. */
    expect_nil(reader, "GET key:10");
    assert_int_equal(harness_info_number(reader, "stats", "tracking_total_keys"), 10);
    redisReply *r = read_reply(listener);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->element[2]->elements, 1);
    assert_memory_equal(r->element[2]->element[0]->str, "key:", 4);
    freeReplyObject(r);
    expect_status(reader, "OK", "CONFIG SET tracking-table-max-keys 1000000");
    expect_status(reader, "OK", "CLIENT TRACKING off");
    expect_status(reader, "OK", "FLUSHALL"); /* empties the key table */
    assert_int_equal(harness_info_number(reader, "stats", "tracking_total_keys"), 0);
    assert_int_equal(harness_info_number(reader, "stats", "tracking_total_items"), 0);
    redisFree(reader);
    redisFree(listener);
}

static void test_many_readers_one_key(void **state)
{
    harness_server *server = *state;
    enum { READERS = 50 };
    long long listener_id;
    redisContext *listener = invalidation_listener(server, &listener_id);
    redisContext *readers[READERS];
    for (int i = 0; i < READERS; i++) {
        readers[i] = harness_connect(server);
        expect_status(readers[i], "OK", "CLIENT TRACKING on REDIRECT %lld", listener_id);
        expect_nil(readers[i], "GET hot");
        expect_nil(readers[i], "GET hot"); /* a second read adds nothing */
    }
    assert_int_equal(harness_info_number(readers[0], "stats", "tracking_total_items"), READERS);
    assert_int_equal(harness_info_number(readers[0], "clients", "tracking_clients"), READERS);
    expect_status(readers[0], "OK", "SET hot 1");
    static const char *const hot[] = {"hot"};
    for (int i = 0; i < READERS; i++)
        expect_invalidation(listener, hot, 1);
    expect_nothing_pending(listener);
    assert_int_equal(harness_info_number(readers[0], "stats", "tracking_total_keys"), 0);
    for (int i = 0; i < READERS; i++)
        redisFree(readers[i]);
    redisFree(listener);
}

static int setup(void **state)
{
    *state = harness_start(NULL);
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    return harness_stop(*state) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redirected_invalidations),
        cmocka_unit_test(test_broadcast_prefixes),
        cmocka_unit_test(test_broken_redirect_and_client_list),
        cmocka_unit_test(test_key_table_limit),
        cmocka_unit_test(test_many_readers_one_key),
    };
    return cmocka_run_group_tests_name("tracking", tests, setup, teardown);
}
