/* Pub/sub through a real server: fan-out to many subscribers in order,
 * patterns and shard channels side by side, subscriptions dropped with the
 * connection, and the pubsub output-buffer class cutting off a subscriber
 * that never reads while the others carry on. RIVET_SERVER=redis-server runs
 * the same checks against Redis. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* ---------- small tools ---------- */

static redisReply *read_reply(redisContext *c)
{
    void *reply = NULL;
    if (redisGetReply(c, &reply) != REDIS_OK || reply == NULL)
        fail_msg("reading a reply: %s", c->errstr);
    return reply;
}

static void expect_bulk_element(const redisReply *r, size_t i, const char *value, size_t len)
{
    assert_true(i < r->elements);
    const redisReply *e = r->element[i];
    if (e->type != REDIS_REPLY_STRING || e->len != len || memcmp(e->str, value, len) != 0)
        fail_msg("element %zu: expected '%.*s', got type %d '%.*s'", i, (int)len, value, e->type,
                 e->type == REDIS_REPLY_STRING ? (int)e->len : 0,
                 e->type == REDIS_REPLY_STRING ? e->str : "");
}

/* Reads one pushed frame and checks it is [kind, (pattern,) channel, message]. */
static void expect_message(redisContext *c, const char *kind, const char *pattern,
                           const char *channel, const char *message, size_t message_len)
{
    redisReply *r = read_reply(c);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    size_t i = 0;
    assert_int_equal(r->elements, pattern ? 4 : 3);
    expect_bulk_element(r, i++, kind, strlen(kind));
    if (pattern)
        expect_bulk_element(r, i++, pattern, strlen(pattern));
    expect_bulk_element(r, i++, channel, strlen(channel));
    expect_bulk_element(r, i, message, message_len);
    freeReplyObject(r);
}

/* Reads a subscribe-style confirmation [verb, name, count]. */
static void expect_confirmation(redisContext *c, const char *verb, const char *name,
                                long long count)
{
    redisReply *r = read_reply(c);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 3);
    expect_bulk_element(r, 0, verb, strlen(verb));
    if (name)
        expect_bulk_element(r, 1, name, strlen(name));
    else
        assert_int_equal(r->element[1]->type, REDIS_REPLY_NIL);
    assert_int_equal(r->element[2]->type, REDIS_REPLY_INTEGER);
    assert_int_equal(r->element[2]->integer, count);
    freeReplyObject(r);
}

static bool info_has_field(redisContext *c, const char *section, const char *field)
{
    redisReply *reply = harness_command(c, "INFO %s", section);
    char pattern[128];
    snprintf(pattern, sizeof(pattern), "\r\n%s:", field);
    bool found = reply->type == REDIS_REPLY_STRING && strstr(reply->str, pattern) != NULL;
    freeReplyObject(reply);
    return found;
}

static long long numsub(redisContext *c, const char *channel)
{
    redisReply *r = harness_command(c, "PUBSUB NUMSUB %s", channel);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 2);
    long long n = r->element[1]->integer;
    freeReplyObject(r);
    return n;
}

static bool wait_numsub(redisContext *c, const char *channel, long long value, int timeout_ms)
{
    long long deadline = harness_now_ms() + timeout_ms;
    while (numsub(c, channel) != value) {
        if (harness_now_ms() > deadline)
            return false;
        harness_sleep_ms(10);
    }
    return true;
}

/* A raw socket with a small receive buffer: a subscriber that never reads
 * backs up into the server quickly. */
static int raw_connect_small(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        fail_msg("socket: %s", strerror(errno));
    int size = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons((uint16_t)port);
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0)
        fail_msg("connect: %s", strerror(errno));
    return fd;
}

/* Discards what arrives; true once the server closed the connection. */
static bool raw_wait_closed(int fd, int timeout_ms)
{
    char sink[16384];
    long long deadline = harness_now_ms() + timeout_ms;
    for (;;) {
        long long left = deadline - harness_now_ms();
        if (left <= 0)
            return false;
        struct pollfd pfd = {fd, POLLIN, 0};
        int ready = poll(&pfd, 1, (int)left);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready <= 0)
            return false;
        ssize_t n = recv(fd, sink, sizeof(sink), 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return true;
    }
}

/* ---------- fan-out ---------- */

#define FANOUT_SUBSCRIBERS 200
#define FANOUT_MESSAGES    300

static void test_fanout_every_subscriber_gets_every_message_in_order(void **state)
{
    harness_server *server = *state;
    redisContext *subscribers[FANOUT_SUBSCRIBERS];
    for (int i = 0; i < FANOUT_SUBSCRIBERS; i++) {
        subscribers[i] = harness_connect(server);
        redisReply *r = harness_command(subscribers[i], "SUBSCRIBE fan");
        assert_int_equal(r->type, REDIS_REPLY_ARRAY);
        assert_int_equal(r->element[2]->integer, 1);
        freeReplyObject(r);
    }
    redisContext *publisher = harness_connect(server);
    assert_int_equal(numsub(publisher, "fan"), FANOUT_SUBSCRIBERS);
    assert_int_equal(harness_info_number(publisher, "stats", "pubsub_channels"), 1);

    /* One pipeline of publishes: each reaches every subscriber. */
    char message[64];
    for (int m = 0; m < FANOUT_MESSAGES; m++) {
        int len = snprintf(message, sizeof(message), "message-%d", m);
        redisAppendCommand(publisher, "PUBLISH fan %b", message, (size_t)len);
    }
    for (int m = 0; m < FANOUT_MESSAGES; m++) {
        redisReply *r = read_reply(publisher);
        assert_int_equal(r->type, REDIS_REPLY_INTEGER);
        assert_int_equal(r->integer, FANOUT_SUBSCRIBERS);
        freeReplyObject(r);
    }
    for (int i = 0; i < FANOUT_SUBSCRIBERS; i++) {
        for (int m = 0; m < FANOUT_MESSAGES; m++) {
            int len = snprintf(message, sizeof(message), "message-%d", m);
            expect_message(subscribers[i], "message", NULL, "fan", message, (size_t)len);
        }
    }

    /* Half leave; the rest still get everything. */
    for (int i = 0; i < FANOUT_SUBSCRIBERS; i += 2)
        redisFree(subscribers[i]);
    assert_true(wait_numsub(publisher, "fan", FANOUT_SUBSCRIBERS / 2, 5000));
    expect_integer(publisher, FANOUT_SUBSCRIBERS / 2, "PUBLISH fan last");
    for (int i = 1; i < FANOUT_SUBSCRIBERS; i += 2) {
        expect_message(subscribers[i], "message", NULL, "fan", "last", 4);
        redisAppendCommand(subscribers[i], "UNSUBSCRIBE");
        redisAppendCommand(subscribers[i], "UNSUBSCRIBE");
        expect_confirmation(subscribers[i], "unsubscribe", "fan", 0);
        expect_confirmation(subscribers[i], "unsubscribe", NULL, 0);
        /* Out of subscribed mode, the connection is an ordinary one again. */
        expect_nil(subscribers[i], "GET nothing");
        redisFree(subscribers[i]);
    }
    assert_true(wait_numsub(publisher, "fan", 0, 5000));
    assert_int_equal(harness_info_number(publisher, "stats", "pubsub_channels"), 0);
    redisFree(publisher);
}

/* ---------- patterns, shard channels, subscribed mode ---------- */

static void test_patterns_shards_and_subscribed_mode(void **state)
{
    harness_server *server = *state;
    redisContext *sub = harness_connect(server);
    redisContext *pub = harness_connect(server);

    redisAppendCommand(sub, "SUBSCRIBE news.sport");
    redisAppendCommand(sub, "PSUBSCRIBE news.* weather.?");
    redisAppendCommand(sub, "SSUBSCRIBE news.sport");
    expect_confirmation(sub, "subscribe", "news.sport", 1);
    expect_confirmation(sub, "psubscribe", "news.*", 2);
    expect_confirmation(sub, "psubscribe", "weather.?", 3);
    expect_confirmation(sub, "ssubscribe", "news.sport", 1);

    expect_error(sub,
                 "ERR Can't execute 'set': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT "
                 "/ RESET are allowed in this context",
                 "SET a b");

    expect_integer(pub, 2, "PUBLISH news.sport goal");
    expect_integer(pub, 1, "PUBLISH news.art paint");
    expect_integer(pub, 1, "PUBLISH weather.1 rain");
    expect_integer(pub, 0, "PUBLISH weather.12 none");
    expect_integer(pub, 1, "SPUBLISH news.sport shard");
    expect_integer(pub, 0, "SPUBLISH news.art none");
    expect_integer(pub, 2, "PUBSUB NUMPAT");
    assert_int_equal(harness_info_number(pub, "stats", "pubsub_patterns"), 2);
    assert_int_equal(harness_info_number(pub, "stats", "pubsubshard_channels"), 1);

    expect_message(sub, "message", NULL, "news.sport", "goal", 4);
    expect_message(sub, "pmessage", "news.*", "news.sport", "goal", 4);
    expect_message(sub, "pmessage", "news.*", "news.art", "paint", 5);
    expect_message(sub, "pmessage", "weather.?", "weather.1", "rain", 4);
    expect_message(sub, "smessage", NULL, "news.sport", "shard", 5);

    redisReply *r = harness_command(sub, "PING");
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    expect_bulk_element(r, 0, "pong", 4);
    expect_bulk_element(r, 1, "", 0);
    freeReplyObject(r);

    /* RESET leaves subscribed mode and drops everything, silently. */
    expect_status(sub, "RESET", "RESET");
    expect_nil(sub, "GET a");
    expect_integer(pub, 0, "PUBLISH news.sport after");
    expect_integer(pub, 0, "PUBSUB NUMPAT");
    assert_int_equal(harness_info_number(pub, "stats", "pubsubshard_channels"), 0);
    redisFree(sub);
    redisFree(pub);
}

static void test_disconnect_drops_subscriptions(void **state)
{
    harness_server *server = *state;
    redisContext *pub = harness_connect(server);
    for (int round = 0; round < 3; round++) {
        redisContext *sub = harness_connect(server);
        redisAppendCommand(sub, "SUBSCRIBE a b c");
        redisAppendCommand(sub, "PSUBSCRIBE p*");
        redisAppendCommand(sub, "SSUBSCRIBE s");
        for (int i = 0; i < 5; i++)
            freeReplyObject(read_reply(sub));
        expect_integer(pub, 1, "PUBLISH a x"); /* p* does not match "a" */
        expect_integer(pub, 1, "PUBLISH pa x");
        redisFree(sub);
        assert_true(harness_wait_info_number(pub, "stats", "pubsub_channels", 0, 5000));
        assert_int_equal(harness_info_number(pub, "stats", "pubsub_patterns"), 0);
        assert_int_equal(harness_info_number(pub, "stats", "pubsubshard_channels"), 0);
    }
    redisFree(pub);
}

/* ---------- the pubsub output-buffer class ---------- */

#define SLOW_MESSAGE_SIZE (64 * 1024)
#define SLOW_BATCHES      40
#define SLOW_BATCH        4

static void test_subscriber_that_never_reads_is_cut_off(void **state)
{
    (void)state;
    /* Only the pubsub class is limited: a cut-off proves the subscriber was
     * judged by it. */
    const char *const args[] = {"--client-output-buffer-limit", "pubsub 1mb 0 0", NULL};
    harness_server *server = harness_start(args);
    redisContext *pub = harness_connect(server);
    redisContext *good = harness_connect(server);
    redisAppendCommand(good, "SUBSCRIBE feed");
    expect_confirmation(good, "subscribe", "feed", 1);
    redisReply *r;

    int slow = raw_connect_small(harness_port(server));
    const char request[] = "SUBSCRIBE feed\r\n";
    assert_int_equal(send(slow, request, sizeof(request) - 1, MSG_NOSIGNAL),
                     (ssize_t)(sizeof(request) - 1));
    assert_true(wait_numsub(pub, "feed", 2, 5000));

    /* 10 MB of messages in batches the good subscriber keeps up with. */
    char *message = malloc(SLOW_MESSAGE_SIZE);
    for (int batch = 0; batch < SLOW_BATCHES; batch++) {
        for (int i = 0; i < SLOW_BATCH; i++) {
            memset(message, 'a' + (batch * SLOW_BATCH + i) % 26, SLOW_MESSAGE_SIZE);
            redisAppendCommand(pub, "PUBLISH feed %b", message, (size_t)SLOW_MESSAGE_SIZE);
        }
        for (int i = 0; i < SLOW_BATCH; i++) {
            r = read_reply(pub);
            assert_int_equal(r->type, REDIS_REPLY_INTEGER);
            assert_true(r->integer == 1 || r->integer == 2);
            freeReplyObject(r);
        }
        for (int i = 0; i < SLOW_BATCH; i++) {
            memset(message, 'a' + (batch * SLOW_BATCH + i) % 26, SLOW_MESSAGE_SIZE);
            expect_message(good, "message", NULL, "feed", message, SLOW_MESSAGE_SIZE);
        }
    }
    free(message);

    assert_true(raw_wait_closed(slow, 5000));
    close(slow);
    /* Redis 7.0 has no such counter; Rivet (like Redis 7.2) counts the cut. */
    if (info_has_field(pub, "stats", "client_output_buffer_limit_disconnections"))
        assert_true(harness_wait_info_number(pub, "stats",
                                             "client_output_buffer_limit_disconnections", 1, 5000));
    assert_true(wait_numsub(pub, "feed", 1, 5000));
    expect_integer(pub, 1, "PUBLISH feed end");
    expect_message(good, "message", NULL, "feed", "end", 3);
    assert_true(harness_alive(server));
    redisFree(good);
    redisFree(pub);
    assert_int_equal(harness_stop(server), 0);
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
    const struct CMUnitTest shared[] = {
        cmocka_unit_test(test_fanout_every_subscriber_gets_every_message_in_order),
        cmocka_unit_test(test_patterns_shards_and_subscribed_mode),
        cmocka_unit_test(test_disconnect_drops_subscriptions),
    };
    const struct CMUnitTest own_server[] = {
        cmocka_unit_test(test_subscriber_that_never_reads_is_cut_off),
    };
    int failed = cmocka_run_group_tests_name("pubsub", shared, setup, teardown);
    failed += cmocka_run_group_tests_name("pubsub output limit", own_server, NULL, NULL);
    return failed;
}
