/* IDEM.* end to end: the begin / complete / abort protocol and its replies,
 * fingerprint mismatches, a crashed holder's lease taken over, exactly one
 * winner among many clients racing on one key, MULTI/EXEC and WATCH, the
 * generic key commands, INFO counters and eviction never dropping a record. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define WRONGTYPE "WRONGTYPE Operation against a key holding the wrong kind of value"
#define MISMATCH  "MISMATCH idempotency key reused with a different request fingerprint"

/* ---------- small tools ---------- */

static long long integer_of(redisContext *c, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    redisReply *r = redisvCommand(c, format, ap);
    va_end(ap);
    if (!r)
        fail_msg("%s: connection error: %s", format, c->errstr);
    if (r->type != REDIS_REPLY_INTEGER)
        fail_msg("%s: expected an integer reply, got type %d (%s)", format, r->type,
                 r->str ? r->str : "");
    long long value = r->integer;
    freeReplyObject(r);
    return value;
}

/* Checks a ["state", integer] reply and returns the integer. */
static long long check_begin_integer(redisReply *r, const char *state)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2)
        fail_msg("expected a 2-element array, got type %d (%s)", r->type, r->str ? r->str : "");
    assert_int_equal(r->element[0]->type, REDIS_REPLY_STRING);
    assert_string_equal(r->element[0]->str, state);
    assert_int_equal(r->element[1]->type, REDIS_REPLY_INTEGER);
    long long value = r->element[1]->integer;
    freeReplyObject(r);
    return value;
}

#define begin_integer(c, state, ...) check_begin_integer(harness_command((c), __VA_ARGS__), (state))

static void expect_begin_done(redisContext *c, const char *response, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    redisReply *r = redisvCommand(c, format, ap);
    va_end(ap);
    assert_non_null(r);
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2)
        fail_msg("%s: expected [done, response], got type %d (%s)", format, r->type,
                 r->str ? r->str : "");
    assert_string_equal(r->element[0]->str, "done");
    assert_int_equal(r->element[1]->type, REDIS_REPLY_STRING);
    assert_string_equal(r->element[1]->str, response);
    freeReplyObject(r);
}

/* IDEM.GET as [state, response or NULL, ttl_ms]. */
typedef struct record_view {
    char state[16];
    char response[64];
    bool has_response;
    long long ttl_ms;
} record_view;

static record_view get_record(redisContext *c, const char *key)
{
    redisReply *r = harness_command(c, "IDEM.GET %s", key);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 3);
    record_view view = {0};
    snprintf(view.state, sizeof(view.state), "%s", r->element[0]->str);
    view.has_response = r->element[1]->type == REDIS_REPLY_STRING;
    if (view.has_response)
        snprintf(view.response, sizeof(view.response), "%s", r->element[1]->str);
    else
        assert_int_equal(r->element[1]->type, REDIS_REPLY_NIL);
    view.ttl_ms = r->element[2]->integer;
    freeReplyObject(r);
    return view;
}

static long long primitive_stat(redisContext *c, const char *field)
{
    return harness_info_number(c, "primitives", field);
}

/* Reads the next keyspace notification and checks its channel and key. */
static void expect_event(redisContext *sub, const char *channel, const char *key)
{
    redisReply *r = NULL;
    if (redisGetReply(sub, (void **)&r) != REDIS_OK || r == NULL)
        fail_msg("no notification (expected %s %s): %s", channel, key, sub->errstr);
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 4 ||
        strcmp(r->element[0]->str, "pmessage") != 0 || strcmp(r->element[2]->str, channel) != 0 ||
        strcmp(r->element[3]->str, key) != 0)
        fail_msg("expected pmessage %s %s, got %s %s", channel, key,
                 r->elements == 4 ? r->element[2]->str : "?",
                 r->elements == 4 ? r->element[3]->str : "?");
    freeReplyObject(r);
}

static redisContext *subscribe_key_events(void **state, redisContext *c)
{
    redisContext *sub = harness_connect(*state);
    expect_status(c, "OK", "CONFIG SET notify-keyspace-events KEA");
    redisReply *r = harness_command(sub, "PSUBSCRIBE __keyevent@0__:*");
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    freeReplyObject(r);
    return sub;
}

static int server_setup(void **state)
{
    *state = harness_start(NULL);
    return *state ? 0 : -1;
}

static int server_teardown(void **state)
{
    return harness_stop(*state) == 0 ? 0 : -1;
}

static redisContext *fresh_client(void **state)
{
    redisContext *c = harness_connect(*state);
    expect_status(c, "OK", "FLUSHALL");
    return c;
}

/* ---------- the protocol ---------- */

static void test_begin_complete_then_done(void **state)
{
    redisContext *c = fresh_client(state);
    long long token = begin_integer(c, "acquired", "IDEM.BEGIN evt:1 5000");
    assert_true(token > 0);
    long long left = begin_integer(c, "in_progress", "IDEM.BEGIN evt:1 5000");
    assert_true(left > 4000 && left <= 5000);
    record_view view = get_record(c, "evt:1");
    assert_string_equal(view.state, "in_progress");
    assert_false(view.has_response);
    assert_true(view.ttl_ms > 4000 && view.ttl_ms <= 5000);

    expect_integer(c, 0, "IDEM.COMPLETE evt:1 %lld resp 60000", token + 1);
    expect_integer(c, 1, "IDEM.COMPLETE evt:1 %lld {\"charged\":5} 60000", token);
    expect_integer(c, 0, "IDEM.COMPLETE evt:1 %lld again 60000", token);
    expect_integer(c, 0, "IDEM.ABORT evt:1 %lld", token); /* done records stay */
    expect_begin_done(c, "{\"charged\":5}", "IDEM.BEGIN evt:1 5000");
    view = get_record(c, "evt:1");
    assert_string_equal(view.state, "done");
    assert_string_equal(view.response, "{\"charged\":5}");
    assert_true(view.ttl_ms > 59000 && view.ttl_ms <= 60000);
    long long pttl = integer_of(c, "PTTL evt:1");
    assert_true(pttl > 59000 && pttl <= 60000);

    /* Absent keys. */
    expect_nil(c, "IDEM.GET nothing");
    expect_integer(c, 0, "IDEM.COMPLETE nothing 1 r 1000");
    expect_integer(c, 0, "IDEM.ABORT nothing 1");
    expect_integer(c, 0, "EXISTS nothing");
    redisFree(c);
}

static void test_abort_lets_the_next_delivery_retry(void **state)
{
    redisContext *c = fresh_client(state);
    long long first = begin_integer(c, "acquired", "IDEM.BEGIN evt:2 5000");
    expect_integer(c, 0, "IDEM.ABORT evt:2 %lld", first - 1);
    expect_integer(c, 1, "IDEM.ABORT evt:2 %lld", first);
    expect_integer(c, 0, "EXISTS evt:2");
    long long second = begin_integer(c, "acquired", "IDEM.BEGIN evt:2 5000");
    assert_true(second > first);
    /* The aborted holder's token is dead. */
    expect_integer(c, 0, "IDEM.COMPLETE evt:2 %lld r 1000", first);
    expect_integer(c, 1, "IDEM.COMPLETE evt:2 %lld r 1000", second);
    redisFree(c);
}

static void test_fingerprint_mismatch(void **state)
{
    redisContext *c = fresh_client(state);
    long long before = primitive_stat(c, "idempotency_mismatches");
    long long token = begin_integer(c, "acquired", "IDEM.BEGIN pay:9 5000 FINGERPRINT amount=5");
    expect_error(c, MISMATCH, "IDEM.BEGIN pay:9 5000 FINGERPRINT amount=6");
    begin_integer(c, "in_progress", "IDEM.BEGIN pay:9 5000 fingerprint amount=5");
    begin_integer(c, "in_progress", "IDEM.BEGIN pay:9 5000"); /* none given: no check */
    expect_integer(c, 1, "IDEM.COMPLETE pay:9 %lld ok 60000", token);
    expect_error(c, MISMATCH, "IDEM.BEGIN pay:9 5000 FINGERPRINT amount=6");
    expect_begin_done(c, "ok", "IDEM.BEGIN pay:9 5000 FINGERPRINT amount=5");
    assert_int_equal(primitive_stat(c, "idempotency_mismatches"), before + 2);
    redisFree(c);
}

static void test_crashed_holder_lease_taken_over(void **state)
{
    redisContext *c = fresh_client(state);
    long long crashed = begin_integer(c, "acquired", "IDEM.BEGIN job:1 150");
    harness_sleep_ms(200);
    long long taker = begin_integer(c, "acquired", "IDEM.BEGIN job:1 5000");
    assert_true(taker > crashed);
    expect_integer(c, 0, "IDEM.COMPLETE job:1 %lld late 1000", crashed);
    expect_integer(c, 0, "IDEM.ABORT job:1 %lld", crashed);
    begin_integer(c, "in_progress", "IDEM.BEGIN job:1 5000");
    expect_integer(c, 1, "IDEM.COMPLETE job:1 %lld fine 1000", taker);
    expect_begin_done(c, "fine", "IDEM.BEGIN job:1 5000");
    redisFree(c);
}

static void test_argument_errors_and_wrong_type(void **state)
{
    redisContext *c = fresh_client(state);
    expect_error(c, "ERR wrong number of arguments for 'idem.begin' command", "IDEM.BEGIN k");
    expect_error(c, "ERR wrong number of arguments for 'idem.complete' command",
                 "IDEM.COMPLETE k 1 r");
    expect_error(c, "ERR wrong number of arguments for 'idem.abort' command", "IDEM.ABORT k");
    expect_error(c, "ERR wrong number of arguments for 'idem.get' command", "IDEM.GET k x");
    expect_error(c, "ERR value is not an integer or out of range", "IDEM.BEGIN k soon");
    expect_error(c, "ERR invalid expire time in 'idem.begin' command", "IDEM.BEGIN k 0");
    expect_error(c, "ERR invalid expire time in 'idem.begin' command", "IDEM.BEGIN k -1");
    expect_error(c, "ERR syntax error", "IDEM.BEGIN k 100 FINGERPRINT");
    expect_error(c, "ERR syntax error", "IDEM.BEGIN k 100 PRINT x");
    expect_error(c, "ERR syntax error", "IDEM.BEGIN k 100 FINGERPRINT a b");
    expect_error(c, "ERR value is not an integer or out of range", "IDEM.COMPLETE k t r 100");
    expect_error(c, "ERR value is not an integer or out of range", "IDEM.COMPLETE k 1 r x");
    expect_error(c, "ERR invalid expire time in 'idem.complete' command", "IDEM.COMPLETE k 1 r 0");
    expect_error(c, "ERR value is not an integer or out of range", "IDEM.ABORT k t");
    expect_integer(c, 0, "EXISTS k");

    expect_status(c, "OK", "SET str v");
    expect_error(c, WRONGTYPE, "IDEM.BEGIN str 100");
    expect_error(c, WRONGTYPE, "IDEM.COMPLETE str 1 r 100");
    expect_error(c, WRONGTYPE, "IDEM.ABORT str 1");
    expect_error(c, WRONGTYPE, "IDEM.GET str");
    begin_integer(c, "acquired", "IDEM.BEGIN rec 10000");
    expect_error(c, WRONGTYPE, "GET rec");
    expect_error(c, WRONGTYPE, "LOCK.ACQUIRE rec o 100");
    redisFree(c);
}

static void test_generic_key_commands(void **state)
{
    redisContext *c = fresh_client(state);
    begin_integer(c, "acquired", "IDEM.BEGIN r:a 10000");
    long long token = begin_integer(c, "acquired", "IDEM.BEGIN r:b 10000");
    expect_integer(c, 1, "IDEM.COMPLETE r:b %lld body 20000", token);
    expect_status(c, "idempotency", "TYPE r:a");
    expect_bulk(c, "native", "OBJECT ENCODING r:b");
    expect_integer(c, 2, "EXISTS r:a r:b");
    long long ttl = integer_of(c, "TTL r:b");
    assert_true(ttl == 20 || ttl == 19);
    assert_true(integer_of(c, "MEMORY USAGE r:b") > 0);
    redisReply *r = harness_command(c, "SCAN 0 TYPE idempotency COUNT 100");
    assert_int_equal(r->element[1]->elements, 2);
    freeReplyObject(r);
    expect_status(c, "OK", "RENAME r:b r:c");
    expect_begin_done(c, "body", "IDEM.BEGIN r:c 100");
    expect_integer(c, 1, "COPY r:c r:d");
    expect_begin_done(c, "body", "IDEM.BEGIN r:d 100");
    expect_integer(c, 1, "DEL r:a");
    expect_integer(c, 2, "UNLINK r:c r:d");
    expect_integer(c, 0, "DBSIZE");
    redisFree(c);
}

static void test_multi_exec_and_watch(void **state)
{
    redisContext *c = fresh_client(state);
    redisContext *other = harness_connect(*state);
    expect_status(c, "OK", "MULTI");
    expect_status(c, "QUEUED", "IDEM.BEGIN tx 5000");
    expect_status(c, "QUEUED", "IDEM.BEGIN tx 5000");
    expect_status(c, "QUEUED", "IDEM.GET tx");
    redisReply *r = harness_command(c, "EXEC");
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 3);
    assert_string_equal(r->element[0]->element[0]->str, "acquired");
    assert_string_equal(r->element[1]->element[0]->str, "in_progress");
    assert_string_equal(r->element[2]->element[0]->str, "in_progress");
    long long token = r->element[0]->element[1]->integer;
    freeReplyObject(r);

    expect_status(c, "OK", "WATCH tx");
    expect_integer(other, 1, "IDEM.COMPLETE tx %lld r 5000", token);
    expect_status(c, "OK", "MULTI");
    expect_status(c, "QUEUED", "SET after x");
    expect_nil(c, "EXEC");
    /* A BEGIN that only reports changes nothing a watcher cares about. */
    expect_status(c, "OK", "WATCH tx");
    expect_begin_done(other, "r", "IDEM.BEGIN tx 5000");
    expect_status(c, "OK", "MULTI");
    expect_status(c, "QUEUED", "SET after x");
    expect_array_len(c, 1, "EXEC");
    redisFree(other);
    redisFree(c);
}

/* hiredis 0.14 reads RESP2 only: RESP3 shapes are checked on raw bytes.
 * IDEM.GET becomes a map; IDEM.BEGIN stays a two-element array. */
static void test_resp3_shapes(void **state)
{
    redisContext *c = fresh_client(state);
    long long token = begin_integer(c, "acquired", "IDEM.BEGIN d3 60000");
    expect_integer(c, 1, "IDEM.COMPLETE d3 %lld ok 60000", token);
    expect_integer(c, 1, "PERSIST d3"); /* a fixed ttl_ms: -1 */
    begin_integer(c, "acquired", "IDEM.BEGIN p3 60000");
    expect_integer(c, 1, "PERSIST p3");
    const char *request =
        "HELLO 3\r\nIDEM.GET d3\r\nIDEM.BEGIN d3 100\r\nIDEM.GET p3\r\nIDEM.GET none\r\n";
    harness_raw_reply reply =
        harness_raw_roundtrip(harness_port(*state), request, strlen(request), 200);
    const char *expected = "%3\r\n$5\r\nstate\r\n$4\r\ndone\r\n$8\r\nresponse\r\n$2\r\nok\r\n"
                           "$6\r\nttl_ms\r\n:-1\r\n"
                           "*2\r\n$4\r\ndone\r\n$2\r\nok\r\n"
                           "%3\r\n$5\r\nstate\r\n$11\r\nin_progress\r\n$8\r\nresponse\r\n_\r\n"
                           "$6\r\nttl_ms\r\n:-1\r\n"
                           "_\r\n";
    size_t n = strlen(expected);
    if (reply.len < n || memcmp(reply.data + reply.len - n, expected, n) != 0)
        fail_msg("RESP3 replies end with:\n%s\nexpected:\n%s", reply.data, expected);
    harness_raw_free(&reply);
    redisFree(c);
}

static void test_keyspace_events(void **state)
{
    redisContext *c = fresh_client(state);
    redisContext *sub = subscribe_key_events(state, c);
    long long token = begin_integer(c, "acquired", "IDEM.BEGIN ev 5000");
    expect_event(sub, "__keyevent@0__:idem.begin", "ev");
    /* Answers that change nothing announce nothing: next comes the marker. */
    begin_integer(c, "in_progress", "IDEM.BEGIN ev 5000");
    expect_integer(c, 0, "IDEM.COMPLETE ev %lld r 1000", token + 1);
    expect_status(c, "OK", "SET marker 1");
    expect_event(sub, "__keyevent@0__:set", "marker");
    expect_integer(c, 1, "IDEM.COMPLETE ev %lld r 1000", token);
    expect_event(sub, "__keyevent@0__:idem.complete", "ev");
    token = begin_integer(c, "acquired", "IDEM.BEGIN ev2 5000");
    expect_event(sub, "__keyevent@0__:idem.begin", "ev2");
    expect_integer(c, 1, "IDEM.ABORT ev2 %lld", token);
    expect_event(sub, "__keyevent@0__:idem.abort", "ev2");
    expect_status(c, "OK", "CONFIG SET notify-keyspace-events %s", "");
    redisFree(sub);
    redisFree(c);
}

/* ---------- concurrency ---------- */

#define RACERS 40

static void test_exactly_one_winner_among_many_clients(void **state)
{
    redisContext *setup = fresh_client(state);
    long long acquired_before = primitive_stat(setup, "idempotency_acquired");
    redisContext *racers[RACERS];
    for (int i = 0; i < RACERS; i++)
        racers[i] = harness_connect(*state);
    /* Ten rounds of all connections sending BEGIN on one key at once; each
     * round every racer completes if it won, so each key sees one winner. */
    for (int round = 0; round < 10; round++) {
        for (int i = 0; i < RACERS; i++)
            assert_int_equal(redisAppendCommand(racers[i], "IDEM.BEGIN race:%d 10000", round),
                             REDIS_OK);
        for (int i = 0; i < RACERS; i++) {
            int done = 0;
            while (!done)
                assert_int_equal(redisBufferWrite(racers[i], &done), REDIS_OK);
        }
        int winners = 0, in_progress = 0;
        long long winning_token = 0;
        int winner = -1;
        for (int i = 0; i < RACERS; i++) {
            void *reply = NULL;
            assert_int_equal(redisGetReply(racers[i], &reply), REDIS_OK);
            redisReply *r = reply;
            assert_int_equal(r->type, REDIS_REPLY_ARRAY);
            if (strcmp(r->element[0]->str, "acquired") == 0) {
                winners++;
                winning_token = r->element[1]->integer;
                winner = i;
            } else {
                assert_string_equal(r->element[0]->str, "in_progress");
                in_progress++;
            }
            freeReplyObject(r);
        }
        assert_int_equal(winners, 1);
        assert_int_equal(in_progress, RACERS - 1);
        expect_integer(racers[winner], 1, "IDEM.COMPLETE race:%d %lld won-by-%d 10000", round,
                       winning_token, winner);
    }
    assert_int_equal(primitive_stat(setup, "idempotency_acquired"), acquired_before + 10);
    for (int i = 0; i < RACERS; i++)
        redisFree(racers[i]);
    redisFree(setup);
}

static void test_info_counters(void **state)
{
    redisContext *c = fresh_client(state);
    long long acquired = primitive_stat(c, "idempotency_acquired");
    long long in_progress = primitive_stat(c, "idempotency_in_progress");
    long long done = primitive_stat(c, "idempotency_done_hits");
    long long token = begin_integer(c, "acquired", "IDEM.BEGIN cnt 5000");
    begin_integer(c, "in_progress", "IDEM.BEGIN cnt 5000");
    begin_integer(c, "in_progress", "IDEM.BEGIN cnt 5000");
    expect_integer(c, 1, "IDEM.COMPLETE cnt %lld r 5000", token);
    expect_begin_done(c, "r", "IDEM.BEGIN cnt 5000");
    assert_int_equal(primitive_stat(c, "idempotency_acquired"), acquired + 1);
    assert_int_equal(primitive_stat(c, "idempotency_in_progress"), in_progress + 2);
    assert_int_equal(primitive_stat(c, "idempotency_done_hits"), done + 1);
    redisFree(c);
}

static void test_eviction_never_drops_records(void **state)
{
    redisContext *c = fresh_client(state);
    for (int i = 0; i < 200; i++) {
        long long token = begin_integer(c, "acquired", "IDEM.BEGIN keep:%d 600000", i);
        if (i % 2)
            expect_integer(c, 1, "IDEM.COMPLETE keep:%d %lld stored 600000", i, token);
    }
    long long used = harness_info_number(c, "memory", "used_memory");
    expect_status(c, "OK", "CONFIG SET maxmemory-policy allkeys-lru");
    expect_status(c, "OK", "CONFIG SET maxmemory %lld", used + 512 * 1024);
    char value[1024];
    memset(value, 'v', sizeof(value) - 1);
    value[sizeof(value) - 1] = '\0';
    for (int i = 0; i < 3000; i++)
        expect_status(c, "OK", "SET fill:%d %s", i, value);
    assert_true(harness_info_number(c, "stats", "evicted_keys") > 1000);
    redisReply *r = harness_command(c, "SCAN 0 TYPE idempotency COUNT 100000");
    assert_int_equal(r->element[1]->elements, 200);
    freeReplyObject(r);
    expect_begin_done(c, "stored", "IDEM.BEGIN keep:1 1000");
    begin_integer(c, "in_progress", "IDEM.BEGIN keep:0 1000");
    expect_status(c, "OK", "CONFIG SET maxmemory 0");
    expect_status(c, "OK", "CONFIG SET maxmemory-policy noeviction");
    redisFree(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_begin_complete_then_done),
        cmocka_unit_test(test_abort_lets_the_next_delivery_retry),
        cmocka_unit_test(test_fingerprint_mismatch),
        cmocka_unit_test(test_crashed_holder_lease_taken_over),
        cmocka_unit_test(test_argument_errors_and_wrong_type),
        cmocka_unit_test(test_generic_key_commands),
        cmocka_unit_test(test_multi_exec_and_watch),
        cmocka_unit_test(test_resp3_shapes),
        cmocka_unit_test(test_exactly_one_winner_among_many_clients),
        cmocka_unit_test(test_info_counters),
        cmocka_unit_test(test_keyspace_events),
        cmocka_unit_test(test_eviction_never_drops_records),
    };
    return cmocka_run_group_tests(tests, server_setup, server_teardown);
}
