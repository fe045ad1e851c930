/* LOCK.* end to end with several hiredis connections: fencing tokens, FIFO
 * handover among waiters (on release, DEL and lease expiry), waiters leaving
 * on timeout, disconnect and CLIENT UNBLOCK, WAIT inside MULTI and scripts,
 * WATCH, the generic key commands on lock keys, INFO counters, eviction
 * never picking a lock, and tokens still growing across a restart. Whether a
 * waiter has been served is read from LOCK.INFO on another connection (owner
 * and waiters), never guessed from sleeps. */
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

/* Sends a command without waiting for its reply (a client about to block). */
static void send_command(redisContext *c, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    int rc = redisvAppendCommand(c, format, ap);
    va_end(ap);
    assert_int_equal(rc, REDIS_OK);
    int done = 0;
    while (!done)
        assert_int_equal(redisBufferWrite(c, &done), REDIS_OK);
}

/* Waits for the reply of a command sent with send_command. */
static redisReply *receive_reply(redisContext *c)
{
    void *reply = NULL;
    if (redisGetReply(c, &reply) != REDIS_OK || reply == NULL)
        fail_msg("no reply: %s", c->errstr);
    return reply;
}

static long long receive_integer(redisContext *c)
{
    redisReply *r = receive_reply(c);
    if (r->type != REDIS_REPLY_INTEGER)
        fail_msg("expected an integer reply, got type %d (%s)", r->type, r->str ? r->str : "");
    long long value = r->integer;
    freeReplyObject(r);
    return value;
}

static void receive_nil(redisContext *c)
{
    redisReply *r = receive_reply(c);
    if (r->type != REDIS_REPLY_NIL)
        fail_msg("expected nil, got type %d (%s)", r->type, r->str ? r->str : "");
    freeReplyObject(r);
}

typedef struct lock_info {
    char owner[64]; /* "" when the key holds no lock */
    long long token, ttl_ms, waiters;
} lock_info;

static lock_info info_of(redisContext *c, const char *key)
{
    lock_info info = {.owner = ""};
    redisReply *r = harness_command(c, "LOCK.INFO %s", key);
    if (r->type == REDIS_REPLY_NIL) {
        freeReplyObject(r);
        return info;
    }
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 4);
    assert_int_equal(r->element[0]->type, REDIS_REPLY_STRING);
    snprintf(info.owner, sizeof(info.owner), "%s", r->element[0]->str);
    info.token = r->element[1]->integer;
    info.ttl_ms = r->element[2]->integer;
    info.waiters = r->element[3]->integer;
    freeReplyObject(r);
    return info;
}

/* Polls LOCK.INFO until the lock has `waiters` waiters (blocking is
 * asynchronous: a sent command may not have arrived yet). */
static void wait_for_waiters(redisContext *c, const char *key, long long waiters)
{
    long long deadline = harness_now_ms() + 5000;
    while (info_of(c, key).waiters != waiters) {
        if (harness_now_ms() > deadline)
            fail_msg("%s never had %lld waiters", key, waiters);
        harness_sleep_ms(2);
    }
}

static void assert_owner(redisContext *c, const char *key, const char *owner)
{
    lock_info info = info_of(c, key);
    if (strcmp(info.owner, owner) != 0)
        fail_msg("%s is held by '%s', expected '%s'", key, info.owner, owner);
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

/* ---------- single client ---------- */

static void test_acquire_reenter_release_extend(void **state)
{
    redisContext *c = fresh_client(state);
    long long before = integer_of(c, "LOCK.ACQUIRE other x 10000");
    long long token = integer_of(c, "LOCK.ACQUIRE wallet:7 alice 5000");
    assert_true(token > before);
    /* The same owner again: same token, lease refreshed. */
    expect_integer(c, 1, "PEXPIRE wallet:7 100");
    expect_integer(c, token, "LOCK.ACQUIRE wallet:7 alice 5000");
    lock_info info = info_of(c, "wallet:7");
    assert_string_equal(info.owner, "alice");
    assert_int_equal(info.token, token);
    assert_true(info.ttl_ms > 4000 && info.ttl_ms <= 5000);
    assert_int_equal(info.waiters, 0);
    /* Someone else: nil at once without WAIT. */
    expect_nil(c, "LOCK.ACQUIRE wallet:7 bob 5000");
    expect_integer(c, 0, "LOCK.EXTEND wallet:7 bob 60000");
    expect_integer(c, 1, "LOCK.EXTEND wallet:7 alice 60000");
    long long pttl = integer_of(c, "PTTL wallet:7");
    assert_true(pttl > 59000 && pttl <= 60000);
    expect_integer(c, 0, "LOCK.RELEASE wallet:7 bob");
    expect_integer(c, 1, "LOCK.RELEASE wallet:7 alice");
    expect_integer(c, 0, "LOCK.RELEASE wallet:7 alice");
    expect_integer(c, 0, "LOCK.EXTEND wallet:7 alice 1000");
    expect_nil(c, "LOCK.INFO wallet:7");
    expect_integer(c, 0, "EXISTS wallet:7");
    /* A new holder gets a greater token than every earlier one. */
    long long next = integer_of(c, "LOCK.ACQUIRE wallet:7 bob 5000");
    assert_true(next > token);
    /* PERSIST leaves a lock without a lease: LOCK.INFO reports -1. */
    expect_integer(c, 1, "PERSIST wallet:7");
    assert_int_equal(info_of(c, "wallet:7").ttl_ms, -1);
    redisFree(c);
}

static void test_argument_errors_and_wrong_type(void **state)
{
    redisContext *c = fresh_client(state);
    expect_error(c, "ERR wrong number of arguments for 'lock.acquire' command", "LOCK.ACQUIRE k o");
    expect_error(c, "ERR wrong number of arguments for 'lock.release' command", "LOCK.RELEASE k");
    expect_error(c, "ERR wrong number of arguments for 'lock.extend' command", "LOCK.EXTEND k o");
    expect_error(c, "ERR wrong number of arguments for 'lock.info' command", "LOCK.INFO");
    expect_error(c, "ERR value is not an integer or out of range", "LOCK.ACQUIRE k o ten");
    expect_error(c, "ERR invalid expire time in 'lock.acquire' command", "LOCK.ACQUIRE k o 0");
    expect_error(c, "ERR invalid expire time in 'lock.acquire' command", "LOCK.ACQUIRE k o -5");
    expect_error(c, "ERR invalid expire time in 'lock.acquire' command",
                 "LOCK.ACQUIRE k o 9223372036854775807");
    expect_error(c, "ERR invalid expire time in 'lock.extend' command", "LOCK.EXTEND k o 0");
    expect_error(c, "ERR syntax error", "LOCK.ACQUIRE k o 100 WAIT");
    expect_error(c, "ERR syntax error", "LOCK.ACQUIRE k o 100 LATER 5");
    expect_error(c, "ERR syntax error", "LOCK.ACQUIRE k o 100 WAIT 5 WAIT 5");
    expect_error(c, "ERR value is not an integer or out of range", "LOCK.ACQUIRE k o 100 WAIT x");
    expect_error(c, "ERR timeout is negative", "LOCK.ACQUIRE k o 100 WAIT -1");
    expect_integer(c, 0, "EXISTS k");

    expect_status(c, "OK", "SET str v");
    expect_error(c, WRONGTYPE, "LOCK.ACQUIRE str o 100");
    expect_error(c, WRONGTYPE, "LOCK.RELEASE str o");
    expect_error(c, WRONGTYPE, "LOCK.EXTEND str o 100");
    expect_error(c, WRONGTYPE, "LOCK.INFO str");
    integer_of(c, "LOCK.ACQUIRE lk o 10000");
    expect_error(c, WRONGTYPE, "GET lk");
    expect_error(c, WRONGTYPE, "LPUSH lk x");
    expect_error(c, WRONGTYPE, "IDEM.GET lk");
    redisFree(c);
}

static void test_generic_key_commands(void **state)
{
    redisContext *c = fresh_client(state);
    integer_of(c, "LOCK.ACQUIRE lk:a o 10000");
    integer_of(c, "LOCK.ACQUIRE lk:b o 10000");
    expect_status(c, "OK", "SET plain v");
    expect_status(c, "lock", "TYPE lk:a");
    expect_bulk(c, "native", "OBJECT ENCODING lk:a");
    expect_integer(c, 2, "EXISTS lk:a lk:b");
    long long ttl = integer_of(c, "TTL lk:a");
    assert_true(ttl == 10 || ttl == 9);
    assert_true(integer_of(c, "MEMORY USAGE lk:a") > 0);

    redisReply *r = harness_command(c, "SCAN 0 TYPE lock COUNT 100");
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_string_equal(r->element[0]->str, "0");
    assert_int_equal(r->element[1]->elements, 2);
    freeReplyObject(r);

    expect_integer(c, 1, "DEL lk:a");
    expect_integer(c, 1, "UNLINK lk:b");
    expect_integer(c, 0, "EXISTS lk:a lk:b");
    /* RENAME and COPY carry owner, token and lease along. */
    long long token = integer_of(c, "LOCK.ACQUIRE lk:c o 10000");
    expect_status(c, "OK", "RENAME lk:c lk:d");
    expect_integer(c, 1, "COPY lk:d lk:e");
    assert_int_equal(info_of(c, "lk:e").token, token);
    expect_integer(c, 1, "LOCK.RELEASE lk:d o");
    redisFree(c);
}

/* hiredis 0.14 reads RESP2 only: RESP3 shapes are checked on raw bytes. */
static void test_info_is_a_map_under_resp3(void **state)
{
    redisContext *c = fresh_client(state);
    long long token = integer_of(c, "LOCK.ACQUIRE r3 me 60000");
    expect_integer(c, 1, "PERSIST r3"); /* a fixed ttl_ms: -1 */
    const char *request = "HELLO 3\r\nLOCK.INFO r3\r\nLOCK.INFO none\r\n";
    harness_raw_reply reply =
        harness_raw_roundtrip(harness_port(*state), request, strlen(request), 200);
    char expected[256];
    snprintf(expected, sizeof(expected),
             "%%4\r\n$5\r\nowner\r\n$2\r\nme\r\n$5\r\ntoken\r\n:%lld\r\n"
             "$6\r\nttl_ms\r\n:-1\r\n$7\r\nwaiters\r\n:0\r\n_\r\n",
             token);
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
    integer_of(c, "LOCK.ACQUIRE ev a 200");
    expect_event(sub, "__keyevent@0__:lock.acquire", "ev");
    integer_of(c, "LOCK.ACQUIRE ev a 200");
    expect_event(sub, "__keyevent@0__:lock.acquire", "ev");
    /* Refusals change nothing and announce nothing: next comes the marker. */
    expect_nil(c, "LOCK.ACQUIRE ev b 200");
    expect_integer(c, 0, "LOCK.RELEASE ev b");
    expect_integer(c, 0, "LOCK.EXTEND ev b 100");
    expect_status(c, "OK", "SET marker 1");
    expect_event(sub, "__keyevent@0__:set", "marker");
    expect_integer(c, 1, "LOCK.EXTEND ev a 200");
    expect_event(sub, "__keyevent@0__:lock.extend", "ev");
    expect_integer(c, 1, "LOCK.RELEASE ev a");
    expect_event(sub, "__keyevent@0__:lock.release", "ev");
    integer_of(c, "LOCK.ACQUIRE ev a 50");
    expect_event(sub, "__keyevent@0__:lock.acquire", "ev");
    expect_event(sub, "__keyevent@0__:expired", "ev");
    expect_status(c, "OK", "CONFIG SET notify-keyspace-events %s", "");
    redisFree(sub);
    redisFree(c);
}

/* ---------- waiting ---------- */

static void test_fifo_handover_among_three_waiters(void **state)
{
    redisContext *holder = fresh_client(state);
    redisContext *w[3];
    const char *names[3] = {"w1", "w2", "w3"};
    long long first = integer_of(holder, "LOCK.ACQUIRE q holder 30000");
    for (int i = 0; i < 3; i++) {
        w[i] = harness_connect(*state);
        send_command(w[i], "LOCK.ACQUIRE q %s 30000 WAIT 20000", names[i]);
        wait_for_waiters(holder, "q", i + 1); /* arrival order is fixed */
    }
    assert_int_equal(primitive_stat(holder, "lock_waiting"), 3);
    expect_nil(holder, "LOCK.ACQUIRE q intruder 30000");

    long long previous = first;
    expect_integer(holder, 1, "LOCK.RELEASE q holder");
    for (int i = 0; i < 3; i++) {
        long long token = receive_integer(w[i]);
        assert_true(token > previous);
        previous = token;
        lock_info info = info_of(holder, "q");
        assert_string_equal(info.owner, names[i]);
        assert_int_equal(info.token, token);
        assert_int_equal(info.waiters, 2 - i);
        expect_integer(w[i], 1, "LOCK.RELEASE q %s", names[i]);
    }
    expect_nil(holder, "LOCK.INFO q");
    assert_int_equal(primitive_stat(holder, "lock_waiting"), 0);
    for (int i = 0; i < 3; i++)
        redisFree(w[i]);
    redisFree(holder);
}

static void test_waiter_times_out_with_nil(void **state)
{
    redisContext *holder = fresh_client(state);
    redisContext *waiter = harness_connect(*state);
    integer_of(holder, "LOCK.ACQUIRE t holder 30000");
    long long start = harness_now_ms();
    send_command(waiter, "LOCK.ACQUIRE t w 30000 WAIT 200");
    receive_nil(waiter);
    long long waited = harness_now_ms() - start;
    assert_true(waited >= 190 && waited < 2000);
    assert_int_equal(info_of(holder, "t").waiters, 0);
    assert_int_equal(primitive_stat(holder, "lock_waiting"), 0);
    assert_owner(holder, "t", "holder");
    /* The connection is usable again. */
    expect_status(waiter, "PONG", "PING");
    redisFree(waiter);
    redisFree(holder);
}

static void test_handover_when_the_lease_expires(void **state)
{
    redisContext *holder = fresh_client(state);
    redisContext *waiter = harness_connect(*state);
    long long expired_before = primitive_stat(holder, "lock_expired");
    long long start = harness_now_ms();
    long long crashed = integer_of(holder, "LOCK.ACQUIRE e crashed 300");
    send_command(waiter, "LOCK.ACQUIRE e next 10000 WAIT 5000");
    /* Nobody touches the key: only the active expiry cycle can hand it over. */
    long long token = receive_integer(waiter);
    long long waited = harness_now_ms() - start;
    print_message("handover %lld ms after a 300 ms lease was taken\n", waited);
    assert_true(waited >= 290 && waited < 1000);
    assert_true(token > crashed);
    assert_owner(holder, "e", "next");
    assert_int_equal(primitive_stat(holder, "lock_expired"), expired_before + 1);
    redisFree(waiter);
    redisFree(holder);
}

/* With active expiry off, the expired lease is only noticed when a newcomer
 * looks the key up; the lock must still go to the client already waiting. */
static void test_newcomer_does_not_overtake_waiters(void **state)
{
    redisContext *holder = fresh_client(state);
    redisContext *waiter = harness_connect(*state);
    expect_status(holder, "OK", "DEBUG SET-ACTIVE-EXPIRE 0");
    integer_of(holder, "LOCK.ACQUIRE n holder 100");
    send_command(waiter, "LOCK.ACQUIRE n waiter 30000 WAIT 5000");
    wait_for_waiters(holder, "n", 1);
    harness_sleep_ms(150);
    expect_nil(holder, "LOCK.ACQUIRE n newcomer 30000");
    assert_true(receive_integer(waiter) > 0);
    assert_owner(holder, "n", "waiter");
    expect_status(holder, "OK", "DEBUG SET-ACTIVE-EXPIRE 1");
    redisFree(waiter);
    redisFree(holder);
}

static void test_del_wakes_the_next_waiter(void **state)
{
    redisContext *holder = fresh_client(state);
    redisContext *waiter = harness_connect(*state);
    integer_of(holder, "LOCK.ACQUIRE d holder 30000");
    send_command(waiter, "LOCK.ACQUIRE d w 30000 WAIT 0"); /* 0: no time limit */
    wait_for_waiters(holder, "d", 1);
    expect_integer(holder, 1, "DEL d");
    assert_true(receive_integer(waiter) > 0);
    assert_owner(holder, "d", "w");
    redisFree(waiter);
    redisFree(holder);
}

/* FLUSHDB announces no key by key: the waiters still get the lock. */
static void test_flush_hands_the_lock_to_the_waiter(void **state)
{
    redisContext *holder = fresh_client(state);
    redisContext *waiter = harness_connect(*state);
    integer_of(holder, "LOCK.ACQUIRE f holder 30000");
    send_command(waiter, "LOCK.ACQUIRE f w 30000 WAIT 0");
    wait_for_waiters(holder, "f", 1);
    expect_status(holder, "OK", "FLUSHDB");
    assert_true(receive_integer(waiter) > 0);
    assert_owner(holder, "f", "w");
    redisFree(waiter);
    redisFree(holder);
}

static void test_waiter_leaves_queue_on_disconnect_and_unblock(void **state)
{
    redisContext *holder = fresh_client(state);
    redisContext *gone = harness_connect(*state);
    redisContext *unblocked = harness_connect(*state);
    redisContext *stays = harness_connect(*state);
    integer_of(holder, "LOCK.ACQUIRE x holder 30000");
    long long unblocked_id = integer_of(unblocked, "CLIENT ID");
    send_command(gone, "LOCK.ACQUIRE x gone 30000 WAIT 20000");
    wait_for_waiters(holder, "x", 1);
    send_command(unblocked, "LOCK.ACQUIRE x unblocked 30000 WAIT 20000");
    wait_for_waiters(holder, "x", 2);
    send_command(stays, "LOCK.ACQUIRE x stays 30000 WAIT 20000");
    wait_for_waiters(holder, "x", 3);
    assert_int_equal(primitive_stat(holder, "lock_waiting"), 3);

    redisFree(gone);
    wait_for_waiters(holder, "x", 2);
    expect_integer(holder, 1, "CLIENT UNBLOCK %lld", unblocked_id);
    receive_nil(unblocked); /* CLIENT UNBLOCK's default: as on timeout */
    assert_int_equal(info_of(holder, "x").waiters, 1);
    assert_int_equal(primitive_stat(holder, "lock_waiting"), 1);
    /* With ERROR it gets the -UNBLOCKED error instead. */
    send_command(unblocked, "LOCK.ACQUIRE x unblocked 30000 WAIT 20000");
    wait_for_waiters(holder, "x", 2);
    expect_integer(holder, 1, "CLIENT UNBLOCK %lld ERROR", unblocked_id);
    redisReply *r = receive_reply(unblocked);
    assert_int_equal(r->type, REDIS_REPLY_ERROR);
    assert_string_equal(r->str, "UNBLOCKED client unblocked via CLIENT UNBLOCK");
    freeReplyObject(r);
    assert_int_equal(info_of(holder, "x").waiters, 1);
    assert_int_equal(primitive_stat(holder, "lock_waiting"), 1);

    /* The lock goes to the one still waiting, not to a departed client. */
    expect_integer(holder, 1, "LOCK.RELEASE x holder");
    assert_true(receive_integer(stays) > 0);
    assert_owner(holder, "x", "stays");
    assert_int_equal(primitive_stat(holder, "lock_waiting"), 0);
    redisFree(unblocked);
    redisFree(stays);
    redisFree(holder);
}

static void test_wait_does_not_block_in_multi_or_scripts(void **state)
{
    redisContext *holder = fresh_client(state);
    redisContext *c = harness_connect(*state);
    integer_of(holder, "LOCK.ACQUIRE m holder 30000");
    expect_status(c, "OK", "MULTI");
    expect_status(c, "QUEUED", "LOCK.ACQUIRE m other 30000 WAIT 5000");
    expect_status(c, "QUEUED", "LOCK.ACQUIRE free other 30000 WAIT 5000");
    redisReply *r = harness_command(c, "EXEC");
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 2);
    assert_int_equal(r->element[0]->type, REDIS_REPLY_NIL);
    assert_int_equal(r->element[1]->type, REDIS_REPLY_INTEGER);
    freeReplyObject(r);
    assert_owner(holder, "free", "other");

    r = harness_command(
        c, "EVAL %s 1 m",
        "return {redis.call('LOCK.ACQUIRE', KEYS[1], 'lua', 1000, 'WAIT', 5000) == false, "
        "redis.call('LOCK.RELEASE', KEYS[1], 'holder')}");
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 2);
    assert_int_equal(r->element[0]->integer, 1); /* nil became false */
    assert_int_equal(r->element[1]->integer, 1);
    freeReplyObject(r);
    expect_nil(holder, "LOCK.INFO m");
    assert_int_equal(primitive_stat(holder, "lock_waiting"), 0);
    redisFree(c);
    redisFree(holder);
}

static void test_watch_sees_lock_changes(void **state)
{
    redisContext *c = fresh_client(state);
    redisContext *other = harness_connect(*state);
    expect_status(c, "OK", "WATCH wl");
    integer_of(other, "LOCK.ACQUIRE wl other 10000");
    expect_status(c, "OK", "MULTI");
    expect_status(c, "QUEUED", "SET after x");
    expect_nil(c, "EXEC"); /* hiredis shows the aborted EXEC as nil */
    expect_integer(c, 0, "EXISTS after");

    /* A failed attempt changes nothing: the transaction goes through. */
    expect_status(c, "OK", "WATCH wl");
    expect_nil(other, "LOCK.ACQUIRE wl intruder 10000");
    expect_integer(other, 0, "LOCK.RELEASE wl intruder");
    expect_status(c, "OK", "MULTI");
    expect_status(c, "QUEUED", "SET after x");
    expect_array_len(c, 1, "EXEC");

    expect_status(c, "OK", "WATCH wl");
    expect_integer(other, 1, "LOCK.EXTEND wl other 20000");
    expect_status(c, "OK", "MULTI");
    expect_status(c, "QUEUED", "SET after y");
    expect_nil(c, "EXEC");
    redisFree(other);
    redisFree(c);
}

static void test_info_counters(void **state)
{
    redisContext *c = fresh_client(state);
    long long acquired = primitive_stat(c, "lock_acquired");
    long long contended = primitive_stat(c, "lock_contended");
    integer_of(c, "LOCK.ACQUIRE ic a 10000");
    integer_of(c, "LOCK.ACQUIRE ic a 10000"); /* re-entry counts as an acquire */
    expect_nil(c, "LOCK.ACQUIRE ic b 10000");
    expect_nil(c, "LOCK.ACQUIRE ic b 10000");
    expect_integer(c, 0, "LOCK.RELEASE ic b");
    assert_int_equal(primitive_stat(c, "lock_acquired"), acquired + 2);
    assert_int_equal(primitive_stat(c, "lock_contended"), contended + 2);
    assert_int_equal(primitive_stat(c, "lock_waiting"), 0);
    redisFree(c);
}

/* ---------- memory ---------- */

static void test_eviction_never_picks_locks(void **state)
{
    redisContext *c = fresh_client(state);
    for (int i = 0; i < 200; i++)
        integer_of(c, "LOCK.ACQUIRE keep:%d owner 600000", i);
    long long used = harness_info_number(c, "memory", "used_memory");
    expect_status(c, "OK", "CONFIG SET maxmemory-policy allkeys-lru");
    expect_status(c, "OK", "CONFIG SET maxmemory %lld", used + 512 * 1024);
    char value[1024];
    memset(value, 'v', sizeof(value) - 1);
    value[sizeof(value) - 1] = '\0';
    for (int i = 0; i < 3000; i++)
        expect_status(c, "OK", "SET fill:%d %s", i, value);
    long long evicted = harness_info_number(c, "stats", "evicted_keys");
    assert_true(evicted > 1000);
    for (int i = 0; i < 200; i++) {
        char key[32];
        snprintf(key, sizeof(key), "keep:%d", i);
        assert_owner(c, key, "owner");
    }
    redisReply *r = harness_command(c, "SCAN 0 TYPE lock COUNT 100000");
    assert_int_equal(r->element[1]->elements, 200);
    freeReplyObject(r);
    /* volatile-lru where only locks carry TTLs: nothing may go, so writes
     * are refused rather than a lock dropped. */
    expect_status(c, "OK", "CONFIG SET maxmemory-policy volatile-lru");
    expect_status(c, "OK", "CONFIG SET maxmemory 1");
    expect_error_prefix(c, "OOM", "SET more %s", value);
    /* allkeys-random lets writes through while it still has strings to
     * evict (a slice at a time); once only locks are left, it refuses. */
    expect_status(c, "OK", "CONFIG SET maxmemory-policy allkeys-random");
    bool refused = false;
    for (int i = 0; i < 10000 && !refused; i++) {
        r = harness_command(c, "SET more:%d %s", i, value);
        refused = r->type == REDIS_REPLY_ERROR && strncmp(r->str, "OOM", 3) == 0;
        freeReplyObject(r);
    }
    assert_true(refused);
    r = harness_command(c, "SCAN 0 TYPE lock COUNT 100000");
    assert_int_equal(r->element[1]->elements, 200);
    freeReplyObject(r);
    expect_status(c, "OK", "CONFIG SET maxmemory 0");
    expect_status(c, "OK", "CONFIG SET maxmemory-policy noeviction");
    redisFree(c);
}

/* ---------- restart ---------- */

static void test_fencing_token_grows_across_restart(void **state)
{
    (void)state;
    harness_server *first = harness_start(NULL);
    redisContext *c = harness_connect(first);
    long long before = 0;
    for (int i = 0; i < 100; i++) {
        long long token = integer_of(c, "LOCK.ACQUIRE r:%d o 60000", i);
        assert_true(token > before);
        before = token;
    }
    redisFree(c);
    assert_int_equal(harness_stop(first), 0);

    harness_server *second = harness_start(NULL);
    c = harness_connect(second);
    expect_integer(c, 0, "EXISTS r:0"); /* nothing persisted: only the clock */
    long long after = integer_of(c, "LOCK.ACQUIRE r:0 o 60000");
    print_message("last token before restart %lld, first after %lld\n", before, after);
    assert_true(after > before);
    redisFree(c);
    assert_int_equal(harness_stop(second), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_acquire_reenter_release_extend),
        cmocka_unit_test(test_argument_errors_and_wrong_type),
        cmocka_unit_test(test_generic_key_commands),
        cmocka_unit_test(test_info_is_a_map_under_resp3),
        cmocka_unit_test(test_fifo_handover_among_three_waiters),
        cmocka_unit_test(test_waiter_times_out_with_nil),
        cmocka_unit_test(test_handover_when_the_lease_expires),
        cmocka_unit_test(test_newcomer_does_not_overtake_waiters),
        cmocka_unit_test(test_del_wakes_the_next_waiter),
        cmocka_unit_test(test_flush_hands_the_lock_to_the_waiter),
        cmocka_unit_test(test_waiter_leaves_queue_on_disconnect_and_unblock),
        cmocka_unit_test(test_wait_does_not_block_in_multi_or_scripts),
        cmocka_unit_test(test_watch_sees_lock_changes),
        cmocka_unit_test(test_info_counters),
        cmocka_unit_test(test_keyspace_events),
        cmocka_unit_test(test_eviction_never_picks_locks),
        cmocka_unit_test(test_fencing_token_grows_across_restart),
    };
    return cmocka_run_group_tests(tests, server_setup, server_teardown);
}
