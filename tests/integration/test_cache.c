/* CACHE.* end to end: exactly one lease winner among many clients on a miss
 * and on a stale read, WAIT-ers served by the fill (or handed the lease when
 * its holder goes quiet), plain writes voiding leases, tag invalidation, and
 * the side index emptying when keys expire, are evicted or flushed (checked
 * with CACHE.STATS). Replies are asserted element by element. */
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

#define CLIENTS 50

/* ---------- reading CACHE.GET's replies ---------- */

typedef struct cache_reply {
    char kind[8];    /* "hit", "stale" or "miss" */
    char value[128]; /* the value, when one came */
    bool has_value;
    long long token; /* 0 when no token came */
    size_t elements;
} cache_reply;

/* Checks the shape of a CACHE.GET reply and copies it out. */
static cache_reply cache_reply_of(redisReply *r, const char *what)
{
    cache_reply out;
    memset(&out, 0, sizeof(out));
    if (r == NULL)
        fail_msg("%s: no reply", what);
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 || r->elements > 3)
        fail_msg("%s: expected an array of 1-3, got type %d (%s)", what, r->type,
                 r->str ? r->str : "");
    out.elements = r->elements;
    assert_int_equal(r->element[0]->type, REDIS_REPLY_STRING);
    snprintf(out.kind, sizeof(out.kind), "%s", r->element[0]->str);
    bool miss = strcmp(out.kind, "miss") == 0;
    for (size_t i = 1; i < r->elements; i++) {
        redisReply *e = r->element[i];
        if (e->type == REDIS_REPLY_INTEGER && (miss ? i == 1 : i == 2)) {
            out.token = e->integer;
            assert_true(out.token > 0);
        } else if (e->type == REDIS_REPLY_STRING && i == 1 && !miss) {
            snprintf(out.value, sizeof(out.value), "%.*s", (int)e->len, e->str);
            out.has_value = true;
        } else {
            fail_msg("%s: unexpected element %zu of type %d", what, i, e->type);
        }
    }
    freeReplyObject(r);
    return out;
}

static cache_reply cache_command(redisContext *c, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    redisReply *r = redisvCommand(c, format, ap);
    va_end(ap);
    return cache_reply_of(r, format);
}

static cache_reply cache_read(redisContext *c)
{
    void *r = NULL;
    if (redisGetReply(c, &r) != REDIS_OK)
        fail_msg("reading a reply: %s", c->errstr);
    return cache_reply_of(r, "(pipelined)");
}

/* Sends a command without reading its reply (so many clients can be in
 * flight at once). */
static void send_only(redisContext *c, const char *format, ...)
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

#define expect_cache(reply, kind_, value_, has_token_)                                             \
    do {                                                                                           \
        cache_reply r_ = (reply);                                                                  \
        assert_string_equal(r_.kind, (kind_));                                                     \
        if ((value_) != NULL) {                                                                    \
            assert_true(r_.has_value);                                                             \
            assert_string_equal(r_.value, (const char *)(value_));                                 \
        } else {                                                                                   \
            assert_false(r_.has_value);                                                            \
        }                                                                                          \
        assert_int_equal(r_.token != 0, (has_token_));                                             \
    } while (0)

/* A field of CACHE.STATS. */
static long long cache_stat(redisContext *c, const char *field)
{
    redisReply *r = harness_command(c, "CACHE.STATS");
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 10);
    long long value = -1;
    for (size_t i = 0; i + 1 < r->elements; i += 2)
        if (strcmp(r->element[i]->str, field) == 0)
            value = r->element[i + 1]->integer;
    freeReplyObject(r);
    if (value < 0)
        fail_msg("CACHE.STATS has no field %s", field);
    return value;
}

static void expect_index_empty(redisContext *c)
{
    assert_int_equal(cache_stat(c, "entries"), 0);
    assert_int_equal(cache_stat(c, "attached"), 0);
    assert_int_equal(cache_stat(c, "leases"), 0);
    assert_int_equal(cache_stat(c, "tags"), 0);
    assert_int_equal(cache_stat(c, "memberships"), 0);
}

static long long primitive_stat(redisContext *c, const char *field)
{
    return harness_info_number(c, "primitives", field);
}

/* A connection to an emptied server: FLUSHALL also voids leftover leases. */
static redisContext *fresh_client(void **state)
{
    redisContext *c = harness_connect(*state);
    expect_status(c, "OK", "FLUSHALL");
    return c;
}

static void wait_blocked(redisContext *c, long long count)
{
    assert_true(harness_wait_info_number(c, "clients", "blocked_clients", count, 5000));
}

/* ---------- the tests ---------- */

static void test_miss_one_lease_among_many(void **state)
{
    redisContext *c = fresh_client(state);
    redisContext *clients[CLIENTS];
    for (int i = 0; i < CLIENTS; i++)
        clients[i] = harness_connect(*state);
    long long granted_before = primitive_stat(c, "cache_leases_granted");
    long long misses_before = primitive_stat(c, "cache_misses");
    for (int i = 0; i < CLIENTS; i++)
        send_only(clients[i], "CACHE.GET user:42");
    int winners = 0, winner = -1;
    long long token = 0;
    for (int i = 0; i < CLIENTS; i++) {
        cache_reply r = cache_read(clients[i]);
        assert_string_equal(r.kind, "miss");
        assert_false(r.has_value);
        if (r.token) {
            winners++;
            winner = i;
            token = r.token;
            assert_int_equal(r.elements, 2);
        } else {
            assert_int_equal(r.elements, 1);
        }
    }
    assert_int_equal(winners, 1);
    assert_int_equal(primitive_stat(c, "cache_leases_granted"), granted_before + 1);
    assert_int_equal(primitive_stat(c, "cache_misses"), misses_before + CLIENTS);
    /* The winner fills; everyone then hits. */
    expect_status(clients[winner], "OK", "CACHE.SET user:42 alice TTL 10000 LEASE %lld", token);
    for (int i = 0; i < CLIENTS; i++)
        expect_cache(cache_command(clients[i], "CACHE.GET user:42"), "hit", "alice", false);
    /* A used lease cannot fill twice. */
    expect_nil(c, "CACHE.SET user:42 bob TTL 10000 LEASE %lld", token);
    expect_bulk(c, "alice", "GET user:42");
    for (int i = 0; i < CLIENTS; i++)
        redisFree(clients[i]);
    redisFree(c);
}

static void test_tokens_increase(void **state)
{
    redisContext *c = fresh_client(state);
    long long last = 0;
    for (int i = 0; i < 20; i++) {
        cache_reply r = cache_command(c, "CACHE.GET tok:%d", i);
        expect_cache(r, "miss", NULL, true);
        assert_true(r.token > last);
        last = r.token;
    }
    redisFree(c);
}

static void test_waiters_get_the_fill(void **state)
{
    redisContext *c = fresh_client(state);
    cache_reply lease = cache_command(c, "CACHE.GET hot");
    expect_cache(lease, "miss", NULL, true);
    redisContext *waiters[CLIENTS - 1];
    for (int i = 0; i < CLIENTS - 1; i++) {
        waiters[i] = harness_connect(*state);
        send_only(waiters[i], "CACHE.GET hot WAIT 10000");
    }
    wait_blocked(c, CLIENTS - 1);
    long long hits_before = primitive_stat(c, "cache_hits");
    expect_status(c, "OK", "CACHE.SET hot filled TTL 10000 LEASE %lld", lease.token);
    for (int i = 0; i < CLIENTS - 1; i++) {
        expect_cache(cache_read(waiters[i]), "hit", "filled", false);
        redisFree(waiters[i]);
    }
    assert_int_equal(primitive_stat(c, "cache_hits"), hits_before + CLIENTS - 1);
    wait_blocked(c, 0);
    redisFree(c);
}

static void test_wait_times_out(void **state)
{
    redisContext *c = fresh_client(state);
    expect_cache(cache_command(c, "CACHE.GET slow"), "miss", NULL, true);
    redisContext *w = harness_connect(*state);
    long long start = harness_now_ms();
    expect_cache(cache_command(w, "CACHE.GET slow WAIT 200"), "miss", NULL, false);
    long long took = harness_now_ms() - start;
    assert_true(took >= 190);
    assert_true(took < 2000);
    /* Without WAIT the answer is at once. */
    expect_cache(cache_command(w, "CACHE.GET slow"), "miss", NULL, false);
    redisFree(w);
    redisFree(c);
}

static void test_expired_lease_goes_to_first_waiter(void **state)
{
    redisContext *c = fresh_client(state);
    cache_reply first = cache_command(c, "CACHE.GET orphan LEASE 300");
    expect_cache(first, "miss", NULL, true);
    redisContext *w[3];
    for (int i = 0; i < 3; i++) {
        w[i] = harness_connect(*state);
        send_only(w[i], "CACHE.GET orphan WAIT 5000 LEASE 5000");
        wait_blocked(c, i + 1); /* keeps the arrival order known */
    }
    /* The holder never fills: once its lease runs out, the first waiter
     * (only it) is handed a new one. */
    cache_reply second = cache_read(w[0]);
    expect_cache(second, "miss", NULL, true);
    assert_true(second.token > first.token);
    wait_blocked(c, 2);
    /* The old holder's late fill is refused; the new holder's lands. */
    expect_nil(c, "CACHE.SET orphan late TTL 10000 LEASE %lld", first.token);
    expect_status(w[0], "OK", "CACHE.SET orphan fresh TTL 10000 LEASE %lld", second.token);
    expect_cache(cache_read(w[1]), "hit", "fresh", false);
    expect_cache(cache_read(w[2]), "hit", "fresh", false);
    for (int i = 0; i < 3; i++)
        redisFree(w[i]);
    redisFree(c);
}

static void test_waiter_disconnect(void **state)
{
    redisContext *c = fresh_client(state);
    cache_reply lease = cache_command(c, "CACHE.GET gone LEASE 200");
    redisContext *quitter = harness_connect(*state);
    send_only(quitter, "CACHE.GET gone WAIT 5000");
    wait_blocked(c, 1);
    redisContext *stayer = harness_connect(*state);
    send_only(stayer, "CACHE.GET gone WAIT 5000");
    wait_blocked(c, 2);
    redisFree(quitter);
    wait_blocked(c, 1);
    /* The lease runs out: the one still waiting takes it over. */
    cache_reply next = cache_read(stayer);
    expect_cache(next, "miss", NULL, true);
    assert_true(next.token > lease.token);
    redisFree(stayer);
    redisFree(c);
}

static void test_stale_while_revalidate(void **state)
{
    redisContext *c = fresh_client(state);
    expect_status(c, "OK", "CACHE.SET page v1 TTL 10000 SOFT 100");
    expect_cache(cache_command(c, "CACHE.GET page"), "hit", "v1", false);
    harness_sleep_ms(150);
    redisContext *clients[20];
    for (int i = 0; i < 20; i++) {
        clients[i] = harness_connect(*state);
        send_only(clients[i], "CACHE.GET page");
    }
    long long stale_before = primitive_stat(c, "cache_stale");
    int winners = 0;
    long long token = 0;
    for (int i = 0; i < 20; i++) {
        cache_reply r = cache_read(clients[i]);
        assert_string_equal(r.kind, "stale");
        assert_string_equal(r.value, "v1");
        if (r.token) {
            winners++;
            token = r.token;
            assert_int_equal(r.elements, 3);
        } else {
            assert_int_equal(r.elements, 2);
        }
        redisFree(clients[i]);
    }
    assert_int_equal(winners, 1);
    assert_true(primitive_stat(c, "cache_stale") >= stale_before);
    /* TTL reports the hard deadline, untouched by the soft one. */
    redisReply *ttl = harness_command(c, "PTTL page");
    assert_true(ttl->integer > 9000 && ttl->integer <= 10000);
    freeReplyObject(ttl);
    expect_status(c, "OK", "CACHE.SET page v2 TTL 10000 SOFT 5000 LEASE %lld", token);
    expect_cache(cache_command(c, "CACHE.GET page"), "hit", "v2", false);
    redisFree(c);
}

static void test_expiry_keeps_refresh_lease(void **state)
{
    redisContext *c = fresh_client(state);
    expect_status(c, "OK", "CACHE.SET e v TTL 200 SOFT 20 TAGS 1 t");
    harness_sleep_ms(40);
    cache_reply lease = cache_command(c, "CACHE.GET e LEASE 5000");
    expect_cache(lease, "stale", "v", true);
    harness_sleep_ms(250);
    /* The value expired while its refresh ran: others see a miss without a
     * token (the refresher still holds the lease), and its fill lands. */
    expect_cache(cache_command(c, "CACHE.GET e"), "miss", NULL, false);
    assert_int_equal(cache_stat(c, "tags"), 0);
    expect_status(c, "OK", "CACHE.SET e v2 TTL 10000 LEASE %lld", lease.token);
    expect_cache(cache_command(c, "CACHE.GET e"), "hit", "v2", false);
    redisFree(c);
}

static void test_client_unblock_waiter(void **state)
{
    redisContext *c = fresh_client(state);
    expect_cache(cache_command(c, "CACHE.GET u"), "miss", NULL, true);
    redisContext *w = harness_connect(*state);
    redisReply *id = harness_command(w, "CLIENT ID");
    send_only(w, "CACHE.GET u WAIT 0");
    wait_blocked(c, 1);
    expect_integer(c, 1, "CLIENT UNBLOCK %lld", id->integer);
    freeReplyObject(id);
    expect_cache(cache_read(w), "miss", NULL, false);
    redisFree(w);
    redisFree(c);
}

static void test_plain_writes_void_leases(void **state)
{
    redisContext *c = fresh_client(state);
    const char *writes[] = {"SET k other",  "DEL k",       "APPEND k x",
                            "EXPIRE k 100", "RENAME k k2", "SETRANGE k 0 zz"};
    for (size_t i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
        expect_status(c, "OK", "FLUSHALL");
        /* A stale entry (so the key exists for EXPIRE and RENAME). */
        expect_status(c, "OK", "CACHE.SET k v TTL 10000 SOFT 1 TAGS 1 t");
        harness_sleep_ms(5);
        cache_reply lease = cache_command(c, "CACHE.GET k");
        expect_cache(lease, "stale", "v", true);
        long long voided = primitive_stat(c, "cache_leases_voided");
        redisReply *r = harness_command(c, writes[i]);
        freeReplyObject(r);
        assert_int_equal(primitive_stat(c, "cache_leases_voided"), voided + 1);
        expect_nil(c, "CACHE.SET k refreshed TTL 10000 LEASE %lld", lease.token);
        /* The tag no longer reaches the key. */
        assert_int_equal(cache_stat(c, "tags"), 0);
        expect_integer(c, 0, "CACHE.INVALIDATE TAGS t");
    }
    /* A miss lease too: a plain SET fills the key, the holder's SET is nil. */
    expect_status(c, "OK", "FLUSHALL");
    cache_reply lease = cache_command(c, "CACHE.GET m");
    expect_status(c, "OK", "SET m plain");
    expect_nil(c, "CACHE.SET m leased TTL 1000 LEASE %lld", lease.token);
    expect_bulk(c, "plain", "GET m");
    /* A CACHE.SET without the lease is a write as well. */
    lease = cache_command(c, "CACHE.GET n");
    expect_status(c, "OK", "CACHE.SET n direct TTL 1000");
    expect_nil(c, "CACHE.SET n leased TTL 1000 LEASE %lld", lease.token);
    expect_bulk(c, "direct", "GET n");
    /* No soft TTL and no tags: nothing to remember about n. */
    expect_index_empty(c);
    redisFree(c);
}

static void test_tag_invalidation(void **state)
{
    redisContext *c = fresh_client(state);
    expect_status(c, "OK", "CACHE.SET user:1 a TTL 10000 TAGS 2 users team:1");
    expect_status(c, "OK", "CACHE.SET user:2 b TTL 10000 TAGS 2 users team:2");
    expect_status(c, "OK", "CACHE.SET team:1 c TTL 10000 TAGS 1 team:1");
    expect_status(c, "OK", "CACHE.SET other d TTL 10000 TAGS 1 misc");
    expect_status(c, "OK", "CACHE.SET untagged e TTL 10000");
    assert_int_equal(cache_stat(c, "tags"), 4);
    assert_int_equal(cache_stat(c, "memberships"), 6);
    expect_integer(c, 2, "CACHE.INVALIDATE TAGS team:1");
    expect_integer(c, 0, "EXISTS user:1 team:1");
    expect_integer(c, 1, "EXISTS user:2");
    /* user:2 is under both tags: removed once. */
    expect_integer(c, 1, "CACHE.INVALIDATE TAGS users team:2 nosuchtag");
    expect_integer(c, 0, "CACHE.INVALIDATE TAGS users");
    expect_integer(c, 2, "DBSIZE");
    assert_int_equal(cache_stat(c, "tags"), 1);
    assert_int_equal(cache_stat(c, "memberships"), 1);
    /* Re-tagging replaces the old tags. */
    expect_status(c, "OK", "CACHE.SET other d2 TTL 10000 TAGS 1 fresh");
    expect_integer(c, 0, "CACHE.INVALIDATE TAGS misc");
    expect_integer(c, 1, "CACHE.INVALIDATE TAGS fresh");
    expect_error(c, "ERR syntax error", "CACHE.INVALIDATE KEYS x");
    expect_error(c, "ERR wrong number of arguments for 'cache.invalidate' command",
                 "CACHE.INVALIDATE TAGS");
    redisFree(c);
}

static void test_invalidate_voids_stale_lease(void **state)
{
    redisContext *c = fresh_client(state);
    expect_status(c, "OK", "CACHE.SET p v TTL 10000 SOFT 1 TAGS 1 pages");
    harness_sleep_ms(5);
    cache_reply lease = cache_command(c, "CACHE.GET p");
    expect_cache(lease, "stale", "v", true);
    expect_integer(c, 1, "CACHE.INVALIDATE TAGS pages");
    /* The refresh started before the invalidation must not land. */
    expect_nil(c, "CACHE.SET p old TTL 10000 LEASE %lld", lease.token);
    expect_integer(c, 0, "EXISTS p");
    expect_cache(cache_command(c, "CACHE.GET p"), "miss", NULL, true);
    redisFree(c);
}

static void test_cache_del(void **state)
{
    redisContext *c = fresh_client(state);
    expect_status(c, "OK", "CACHE.SET a 1 TTL 10000 TAGS 1 t");
    expect_status(c, "OK", "SET b 2");
    cache_reply lease = cache_command(c, "CACHE.GET missing");
    redisContext *w = harness_connect(*state);
    send_only(w, "CACHE.GET missing WAIT 5000");
    wait_blocked(c, 1);
    long long voided = primitive_stat(c, "cache_leases_voided");
    expect_integer(c, 2, "CACHE.DEL a b missing nothere");
    assert_int_equal(primitive_stat(c, "cache_leases_voided"), voided + 1);
    /* The missing key's lease is void, and the waiter takes over at once. */
    cache_reply next = cache_read(w);
    expect_cache(next, "miss", NULL, true);
    expect_nil(c, "CACHE.SET missing x TTL 1000 LEASE %lld", lease.token);
    expect_status(w, "OK", "CACHE.SET missing y TTL 1000 LEASE %lld", next.token);
    expect_integer(c, 1, "DBSIZE");
    assert_int_equal(cache_stat(c, "tags"), 0);
    redisFree(w);
    redisFree(c);
}

static void test_plain_keys_and_types(void **state)
{
    redisContext *c = fresh_client(state);
    expect_status(c, "OK", "SET plain 12345");
    expect_cache(cache_command(c, "CACHE.GET plain"), "hit", "12345", false);
    expect_integer(c, 1, "RPUSH list x");
    expect_error(c, "WRONGTYPE Operation against a key holding the wrong kind of value",
                 "CACHE.GET list");
    /* CACHE.SET replaces any value, as SET does. */
    expect_status(c, "OK", "CACHE.SET list now-a-string TTL 10000");
    expect_bulk(c, "now-a-string", "GET list");
    expect_status(c, "string", "TYPE list");
    /* Binary-safe values. */
    expect_status(c, "OK", "CACHE.SET bin %b TTL 10000", "a\0b", (size_t)3);
    redisReply *r = harness_command(c, "CACHE.GET bin");
    assert_int_equal(r->element[1]->len, 3);
    assert_memory_equal(r->element[1]->str, "a\0b", 3);
    freeReplyObject(r);
    redisFree(c);
}

static void test_ttl_soft_jitter(void **state)
{
    redisContext *c = fresh_client(state);
    for (int i = 0; i < 40; i++)
        expect_status(c, "OK", "CACHE.SET j:%d v TTL 10000 JITTER 5000", i);
    long long low = 1LL << 62, high = 0;
    for (int i = 0; i < 40; i++) {
        redisReply *r = harness_command(c, "PTTL j:%d", i);
        assert_true(r->integer > 9000 && r->integer <= 15000);
        low = r->integer < low ? r->integer : low;
        high = r->integer > high ? r->integer : high;
        freeReplyObject(r);
    }
    assert_true(high - low > 500); /* 40 draws from 0..5000 ms are spread */
    expect_status(c, "OK", "CACHE.SET short v TTL 150");
    expect_cache(cache_command(c, "CACHE.GET short"), "hit", "v", false);
    harness_sleep_ms(250);
    expect_cache(cache_command(c, "CACHE.GET short"), "miss", NULL, true);
    redisFree(c);
}

/* CACHE.SET with 65 tags, one argument each. */
static void expect_too_many_tags(redisContext *c)
{
    const char *argv[7 + 65];
    size_t lens[7 + 65];
    char names[65][8];
    const char *head[] = {"CACHE.SET", "k", "v", "TTL", "100", "TAGS", "65"};
    for (int i = 0; i < 7; i++)
        argv[i] = head[i];
    for (int i = 0; i < 65; i++) {
        snprintf(names[i], sizeof(names[i]), "t%d", i);
        argv[7 + i] = names[i];
    }
    for (int i = 0; i < 7 + 65; i++)
        lens[i] = strlen(argv[i]);
    redisReply *r = redisCommandArgv(c, 7 + 65, argv, lens);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ERROR);
    assert_string_equal(r->str, "ERR too many tags (at most 64 per key)");
    freeReplyObject(r);
}

static void test_errors(void **state)
{
    redisContext *c = fresh_client(state);
    expect_error(c, "ERR wrong number of arguments for 'cache.get' command", "CACHE.GET");
    expect_error(c, "ERR syntax error", "CACHE.GET k LEASE");
    expect_error(c, "ERR syntax error", "CACHE.GET k BOGUS 1");
    expect_error(c, "ERR syntax error", "CACHE.GET k WAIT 1 WAIT 2");
    expect_error(c, "ERR value is not an integer or out of range", "CACHE.GET k LEASE x");
    expect_error(c, "ERR LEASE must be between 1 and 86400000 milliseconds", "CACHE.GET k LEASE 0");
    expect_error(c, "ERR WAIT must be between 0 and 86400000 milliseconds", "CACHE.GET k WAIT -1");
    expect_error(c, "ERR wrong number of arguments for 'cache.set' command", "CACHE.SET k v TTL");
    expect_error(c, "ERR CACHE.SET needs TTL ms", "CACHE.SET k v SOFT 5");
    expect_error(c, "ERR invalid expire time in 'cache.set' command", "CACHE.SET k v TTL 0");
    expect_error(c, "ERR invalid expire time in 'cache.set' command", "CACHE.SET k v TTL -5");
    expect_error(c, "ERR value is not an integer or out of range", "CACHE.SET k v TTL 1.5");
    expect_error(c, "ERR SOFT must be less than TTL", "CACHE.SET k v TTL 100 SOFT 100");
    expect_error(c, "ERR SOFT must be between 1 and 2305843009213693951 milliseconds",
                 "CACHE.SET k v TTL 100 SOFT 0");
    expect_error(c, "ERR JITTER must be between 0 and 2305843009213693951 milliseconds",
                 "CACHE.SET k v TTL 100 JITTER -1");
    expect_error(c, "ERR syntax error", "CACHE.SET k v TTL 100 TTL 200");
    expect_error(c, "ERR syntax error", "CACHE.SET k v TTL 100 TAGS 3 a b");
    expect_error(c, "ERR syntax error", "CACHE.SET k v TTL 100 TAGS -1");
    expect_error(c, "ERR syntax error", "CACHE.SET k v TTL 100 EX 5");
    expect_error(c, "ERR value is not an integer or out of range",
                 "CACHE.SET k v TTL 100 LEASE abc");
    expect_too_many_tags(c);
    expect_error(c, "ERR wrong number of arguments for 'cache.del' command", "CACHE.DEL");
    /* Nothing was stored by any of these. */
    expect_integer(c, 0, "DBSIZE");
    expect_nil(c, "CACHE.SET k v TTL 100 LEASE 0");
    expect_nil(c, "CACHE.SET k v TTL 100 LEASE 12345");
    expect_integer(c, 0, "DBSIZE");
    redisFree(c);
}

static void test_no_blocking_in_multi_or_script(void **state)
{
    redisContext *c = fresh_client(state);
    expect_cache(cache_command(c, "CACHE.GET tx"), "miss", NULL, true);
    expect_status(c, "OK", "MULTI");
    expect_status(c, "QUEUED", "CACHE.GET tx WAIT 0");
    redisReply *r = harness_command(c, "EXEC");
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 1);
    assert_int_equal(r->element[0]->elements, 1);
    assert_string_equal(r->element[0]->element[0]->str, "miss");
    freeReplyObject(r);
    r = harness_command(c, "EVAL %s 1 tx", "return redis.call('CACHE.GET', KEYS[1], 'WAIT', 1000)");
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 1);
    assert_string_equal(r->element[0]->str, "miss");
    freeReplyObject(r);
    redisFree(c);
}

static void test_expiry_cleans_index(void **state)
{
    redisContext *c = fresh_client(state);
    for (int i = 0; i < 200; i++)
        expect_status(c, "OK", "CACHE.SET exp:%d v TTL 100 SOFT 50 TAGS 3 all group:%d g:%d", i,
                      i % 10, i);
    assert_int_equal(cache_stat(c, "attached"), 200);
    assert_int_equal(cache_stat(c, "tags"), 1 + 10 + 200);
    assert_int_equal(cache_stat(c, "memberships"), 600);
    /* Active expiry alone (nobody reads the keys) must empty the index. */
    for (int tries = 0; tries < 100; tries++) {
        redisReply *r = harness_command(c, "DBSIZE");
        long long n = r->integer;
        freeReplyObject(r);
        if (n == 0)
            break;
        harness_sleep_ms(50);
    }
    expect_integer(c, 0, "DBSIZE");
    expect_index_empty(c);
    expect_integer(c, 0, "CACHE.INVALIDATE TAGS all");
    redisFree(c);
}

static void test_unfilled_leases_are_reclaimed(void **state)
{
    redisContext *c = fresh_client(state);
    for (int i = 0; i < 100; i++)
        expect_cache(cache_command(c, "CACHE.GET nobody:%d LEASE 50", i), "miss", NULL, true);
    assert_int_equal(cache_stat(c, "leases"), 100);
    harness_sleep_ms(120);
    expect_index_empty(c);
    redisFree(c);
}

static void test_flush_clears_metadata(void **state)
{
    redisContext *c = fresh_client(state);
    expect_status(c, "OK", "CACHE.SET f1 v TTL 10000 SOFT 5000 TAGS 2 a b");
    cache_reply lease = cache_command(c, "CACHE.GET f2");
    expect_status(c, "OK", "SELECT 3");
    expect_status(c, "OK", "CACHE.SET f3 v TTL 10000 TAGS 1 a");
    expect_status(c, "OK", "SELECT 0");
    long long voided = primitive_stat(c, "cache_leases_voided");
    expect_status(c, "OK", "FLUSHALL");
    assert_int_equal(primitive_stat(c, "cache_leases_voided"), voided + 1);
    expect_index_empty(c);
    expect_nil(c, "CACHE.SET f2 v TTL 1000 LEASE %lld", lease.token);
    /* FLUSHDB clears only its own database's metadata. */
    expect_status(c, "OK", "CACHE.SET f1 v TTL 10000 TAGS 1 a");
    expect_status(c, "OK", "SELECT 3");
    expect_status(c, "OK", "CACHE.SET f3 v TTL 10000 TAGS 1 a");
    expect_status(c, "OK", "FLUSHDB");
    assert_int_equal(cache_stat(c, "attached"), 1);
    expect_status(c, "OK", "SELECT 0");
    expect_integer(c, 1, "CACHE.INVALIDATE TAGS a");
    expect_index_empty(c);
    /* A database with no keys at all still loses its miss leases. */
    expect_status(c, "OK", "SELECT 5");
    cache_reply empty_lease = cache_command(c, "CACHE.GET nothing-here");
    expect_integer(c, 0, "DBSIZE");
    expect_status(c, "OK", "FLUSHDB");
    expect_nil(c, "CACHE.SET nothing-here v TTL 1000 LEASE %lld", empty_lease.token);
    expect_status(c, "OK", "SELECT 0");
    redisFree(c);
}

static void test_swapdb_moves_metadata(void **state)
{
    redisContext *c = fresh_client(state);
    expect_status(c, "OK", "CACHE.SET s v TTL 10000 SOFT 1 TAGS 1 swapped");
    harness_sleep_ms(5);
    expect_status(c, "OK", "SWAPDB 0 1");
    expect_integer(c, 0, "CACHE.INVALIDATE TAGS swapped");
    expect_status(c, "OK", "SELECT 1");
    expect_cache(cache_command(c, "CACHE.GET s"), "stale", "v", true);
    expect_integer(c, 1, "CACHE.INVALIDATE TAGS swapped");
    redisFree(c);
}

static void test_eviction_cleans_index(void **state)
{
    (void)state;
    const char *args[] = {"--maxmemory", "4mb", "--maxmemory-policy", "allkeys-lru", NULL};
    harness_server *server = harness_start(args);
    redisContext *c = harness_connect(server);
    char value[1024];
    memset(value, 'x', sizeof(value) - 1);
    value[sizeof(value) - 1] = '\0';
    for (int i = 0; i < 8000; i++) {
        redisReply *r =
            harness_command(c, "CACHE.SET ev:%d %s TTL 100000 TAGS 2 all t:%d", i, value, i % 7);
        freeReplyObject(r);
    }
    assert_true(harness_info_number(c, "stats", "evicted_keys") > 0);
    redisReply *r = harness_command(c, "DBSIZE");
    long long keys = r->integer;
    freeReplyObject(r);
    /* Exactly the keys still there are indexed, each under two tags. */
    assert_int_equal(cache_stat(c, "attached"), keys);
    assert_int_equal(cache_stat(c, "entries"), keys);
    assert_int_equal(cache_stat(c, "memberships"), 2 * keys);
    expect_integer(c, keys, "CACHE.INVALIDATE TAGS all");
    expect_index_empty(c);
    redisFree(c);
    assert_int_equal(harness_stop(server), 0);
}

static void test_resp3_shapes(void **state)
{
    redisContext *c = fresh_client(state);
    expect_status(c, "OK", "SET r3 val");
    redisFree(c);
    const char request[] = "HELLO 3\r\nCACHE.GET r3\r\nCACHE.STATS\r\n";
    harness_raw_reply raw =
        harness_raw_roundtrip(harness_port(*state), request, sizeof(request) - 1, 200);
    const char *hit = strstr(raw.data, "*2\r\n$3\r\nhit\r\n$3\r\nval\r\n");
    const char *stats = strstr(raw.data, "%5\r\n$7\r\nentries\r\n:");
    if (!hit || !stats)
        fail_msg("unexpected RESP3 bytes: %s", raw.data);
    harness_raw_free(&raw);
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
        cmocka_unit_test(test_miss_one_lease_among_many),
        cmocka_unit_test(test_tokens_increase),
        cmocka_unit_test(test_waiters_get_the_fill),
        cmocka_unit_test(test_wait_times_out),
        cmocka_unit_test(test_expired_lease_goes_to_first_waiter),
        cmocka_unit_test(test_waiter_disconnect),
        cmocka_unit_test(test_stale_while_revalidate),
        cmocka_unit_test(test_expiry_keeps_refresh_lease),
        cmocka_unit_test(test_client_unblock_waiter),
        cmocka_unit_test(test_plain_writes_void_leases),
        cmocka_unit_test(test_tag_invalidation),
        cmocka_unit_test(test_invalidate_voids_stale_lease),
        cmocka_unit_test(test_cache_del),
        cmocka_unit_test(test_plain_keys_and_types),
        cmocka_unit_test(test_ttl_soft_jitter),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_no_blocking_in_multi_or_script),
        cmocka_unit_test(test_expiry_cleans_index),
        cmocka_unit_test(test_unfilled_leases_are_reclaimed),
        cmocka_unit_test(test_flush_clears_metadata),
        cmocka_unit_test(test_swapdb_moves_metadata),
        cmocka_unit_test(test_eviction_cleans_index),
        cmocka_unit_test(test_resp3_shapes),
    };
    return cmocka_run_group_tests_name("cache", tests, setup, teardown);
}
