/* Per-field TTLs on hashes (Redis 7.4 / 8.0 commands), end to end: the
 * per-field replies of HEXPIRE/HPEXPIRE/HEXPIREAT/HPEXPIREAT (NX XX GT LT),
 * HTTL/HPTTL/HEXPIRETIME/HPEXPIRETIME, HPERSIST, HGETDEL, HGETEX and HSETEX,
 * their error texts, lazy expiry on every read command, active expiry of
 * hashes nobody touches (and of 10,000 of them at once), TTL interplay with
 * HSET/HINCRBY/KEEPTTL, RENAME/COPY/MOVE, the key's own TTL, MEMORY USAGE
 * and keyspace events. Redis 7.0 (the compat reference) lacks these commands,
 * so replies are asserted as Redis 8 gives them. */
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

/* ---------- small tools ---------- */

/* Renders a reply compactly: integers as digits, nil as "nil", strings as
 * their bytes, errors as "!text", arrays as "[a b c]". */
static void render(const redisReply *r, char *out, size_t size)
{
    size_t used = strlen(out);
    if (used >= size - 1)
        return;
    switch (r->type) {
    case REDIS_REPLY_INTEGER:
        snprintf(out + used, size - used, "%lld", r->integer);
        break;
    case REDIS_REPLY_NIL:
        snprintf(out + used, size - used, "nil");
        break;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
        snprintf(out + used, size - used, "%.*s", (int)r->len, r->str);
        break;
    case REDIS_REPLY_ERROR:
        snprintf(out + used, size - used, "!%.*s", (int)r->len, r->str);
        break;
    case REDIS_REPLY_ARRAY:
        snprintf(out + used, size - used, "[");
        for (size_t i = 0; i < r->elements; i++) {
            if (i)
                snprintf(out + strlen(out), size - strlen(out), " ");
            render(r->element[i], out, size);
        }
        snprintf(out + strlen(out), size - strlen(out), "]");
        break;
    default:
        snprintf(out + used, size - used, "?%d", r->type);
    }
}

static void expect_text_at(int line, redisContext *c, const char *want, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    redisReply *r = redisvCommand(c, format, ap);
    va_end(ap);
    if (!r)
        fail_msg("line %d: %s: connection error: %s", line, format, c->errstr);
    char got[4096] = "";
    render(r, got, sizeof(got));
    freeReplyObject(r);
    if (strcmp(got, want) != 0)
        fail_msg("line %d: %s: expected %s, got %s", line, format, want, got);
}
#define expect_text(c, want, ...) expect_text_at(__LINE__, (c), (want), __VA_ARGS__)

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

/* The server's clock in ms (TIME), for absolute deadlines. */
static long long server_time_ms(redisContext *c)
{
    redisReply *r = harness_command(c, "TIME");
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    long long ms =
        strtoll(r->element[0]->str, NULL, 10) * 1000 + strtoll(r->element[1]->str, NULL, 10) / 1000;
    freeReplyObject(r);
    return ms;
}

/* Polls DBSIZE (which reclaims nothing) until it is `size`. */
static bool wait_dbsize(redisContext *c, long long size, int timeout_ms)
{
    long long deadline = harness_now_ms() + timeout_ms;
    for (;;) {
        long long now = integer_of(c, "DBSIZE");
        if (now == size)
            return true;
        if (harness_now_ms() > deadline) {
            print_error("DBSIZE is still %lld, expected %lld\n", now, size);
            return false;
        }
        harness_sleep_ms(10);
    }
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
    expect_status(c, "OK", "DEBUG SET-ACTIVE-EXPIRE 1");
    expect_status(c, "OK", "FLUSHALL");
    return c;
}

/* ---------- HEXPIRE family ---------- */

static void test_hexpire_per_field_replies(void **state)
{
    redisContext *c = fresh_client(state);
    /* Absolute times keep the conditions exact. */
    long long t = server_time_ms(c) + 1000000;
    char want[128];
    expect_integer(c, 3, "HSET h a 1 b 2 c 3");
    /* 1 set, -2 no such field. */
    expect_text(c, "[1 -2]", "HPEXPIREAT h %lld FIELDS 2 a nosuch", t);
    /* A missing key answers -2 for every field. */
    expect_text(c, "[-2 -2]", "HEXPIRE nokey 100 FIELDS 2 a b");
    /* NX: only fields without a TTL. */
    expect_text(c, "[0 1]", "HPEXPIREAT h %lld NX FIELDS 2 a b", t + 1000);
    /* XX: only fields with one. */
    expect_text(c, "[1 1 0]", "HPEXPIREAT h %lld XX FIELDS 3 a b c", t + 2000);
    /* GT: only later; a field without TTL counts as infinite, so never. */
    expect_text(c, "[0 0 0]", "HPEXPIREAT h %lld GT FIELDS 3 a b c", t + 1000);
    expect_text(c, "[1 0]", "HPEXPIREAT h %lld GT FIELDS 2 a c", t + 3000);
    snprintf(want, sizeof(want), "[%lld %lld -1]", t + 3000, t + 2000);
    expect_text(c, want, "HPEXPIRETIME h FIELDS 3 a b c");
    /* LT: only earlier, and always on a field without TTL. */
    expect_text(c, "[1 0 1]", "HPEXPIREAT h %lld LT FIELDS 3 a b c", t + 2500);
    snprintf(want, sizeof(want), "[%lld %lld %lld]", t + 2500, t + 2000, t + 2500);
    expect_text(c, want, "HPEXPIRETIME h FIELDS 3 a b c");
    /* Lower-case options work too. */
    expect_text(c, "[0]", "HEXPIRE h 100 nx FIELDS 1 a");
    /* A time of 0 (or an absolute time in the past) deletes: 2. */
    expect_text(c, "[2 -2]", "HEXPIRE h 0 FIELDS 2 a a");
    expect_text(c, "[2]", "HPEXPIREAT h 1000 FIELDS 1 b");
    expect_integer(c, 1, "HLEN h");
    /* Deleting the last field deletes the key; later fields answer -2. */
    expect_text(c, "[2 -2]", "HEXPIREAT h 1 FIELDS 2 c c");
    expect_integer(c, 0, "EXISTS h");
    /* A condition that is not met wins over a time in the past. */
    expect_integer(c, 1, "HSET h2 f v");
    expect_text(c, "[0]", "HEXPIRE h2 0 XX FIELDS 1 f");
    expect_text(c, "[-1]", "HTTL h2 FIELDS 1 f");
    redisFree(c);
}

static void test_ttl_family_values(void **state)
{
    redisContext *c = fresh_client(state);
    long long at = server_time_ms(c) + 100000;
    /* Round the deadline to 1500 ms past a whole second so both roundings
     * show. */
    at = at - at % 1000 + 1500;
    expect_integer(c, 2, "HSET h a 1 b 2");
    expect_text(c, "[1]", "HPEXPIREAT h %lld FIELDS 1 a", at);
    char want[128];
    snprintf(want, sizeof(want), "[%lld -1 -2]", at);
    expect_text(c, want, "HPEXPIRETIME h FIELDS 3 a b zz");
    /* Seconds are rounded up, as Redis does for fields. */
    snprintf(want, sizeof(want), "[%lld -1 -2]", (at + 999) / 1000);
    expect_text(c, want, "HEXPIRETIME h FIELDS 3 a b zz");
    long long pttl = 0;
    redisReply *r = harness_command(c, "HPTTL h FIELDS 1 a");
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    pttl = r->element[0]->integer;
    freeReplyObject(r);
    assert_true(pttl > 90000 && pttl <= 101500);
    r = harness_command(c, "HTTL h FIELDS 1 a");
    long long ttl = r->element[0]->integer;
    freeReplyObject(r);
    assert_true(ttl >= 90 && ttl <= 102);
    expect_text(c, "[-2 -2]", "HTTL nokey FIELDS 2 a b");
    expect_text(c, "[-2]", "HPEXPIRETIME nokey FIELDS 1 a");
    redisFree(c);
}

static void test_hpersist(void **state)
{
    redisContext *c = fresh_client(state);
    expect_integer(c, 3, "HSET h a 1 b 2 c 3");
    expect_text(c, "[1 1]", "HEXPIRE h 100 FIELDS 2 a b");
    expect_text(c, "[1 -1 -2]", "HPERSIST h FIELDS 3 a c zz");
    expect_text(c, "[-1 100 -1]", "HTTL h FIELDS 3 a b c");
    expect_text(c, "[1]", "HPERSIST h FIELDS 1 b");
    expect_text(c, "[-1]", "HPERSIST h FIELDS 1 b");
    expect_text(c, "[-2 -2]", "HPERSIST nokey FIELDS 2 a b");
    expect_integer(c, 3, "HLEN h");
    redisFree(c);
}

/* ---------- errors ---------- */

static void test_argument_errors(void **state)
{
    redisContext *c = fresh_client(state);
    expect_integer(c, 1, "HSET h f v");
    expect_status(c, "OK", "SET s v");
    const char *position = "ERR Mandatory argument FIELDS is missing or not at the right position";
    const char *count = "ERR Number of fields must be a positive integer";
    const char *mismatch = "ERR The `numfields` parameter must match the number of arguments";

    expect_error(c, "ERR Parameter `numFields` should be greater than 0",
                 "HEXPIRE h 10 FIELDS 0 f");
    expect_error(c, "ERR Parameter `numFields` should be greater than 0",
                 "HEXPIRE h 10 FIELDS abc f");
    expect_error(c, "ERR Parameter `numFields` should be greater than 0",
                 "HPEXPIRE h 10 FIELDS -1 f");
    expect_error(c, mismatch, "HEXPIRE h 10 FIELDS 2 f");
    expect_error(c, mismatch, "HEXPIRE h 10 FIELDS 1 f g");
    expect_error(c, position, "HEXPIRE h 10 NX XX FIELDS 1 f");
    expect_error(c, position, "HEXPIRE h 10 BOGUS FIELDS 1 f");
    expect_error(c, position, "HEXPIRE h 10 1 FIELDS f");
    expect_error(c, "ERR value is not an integer or out of range", "HEXPIRE h ten FIELDS 1 f");
    expect_error(c, "ERR invalid expire time, must be >= 0", "HEXPIRE h -1 FIELDS 1 f");
    expect_error(c, "ERR invalid expire time in 'hexpire' command",
                 "HEXPIRE h 9223372036854775 FIELDS 1 f");
    expect_error(c, "ERR invalid expire time in 'hpexpireat' command",
                 "HPEXPIREAT h 70368744177664 FIELDS 1 f");
    expect_text(c, "[1]", "HPEXPIREAT h 70368744177663 FIELDS 1 f");
    expect_error(c, "ERR wrong number of arguments for 'hexpire' command", "HEXPIRE h 10 FIELDS 1");
    /* The key's type is checked before anything else. */
    expect_error(c, "WRONGTYPE Operation against a key holding the wrong kind of value",
                 "HEXPIRE s -1 FIELDS 0 f");
    expect_error(c, "WRONGTYPE Operation against a key holding the wrong kind of value",
                 "HTTL s FIELDS 1 f");

    expect_error(c, count, "HTTL h FIELDS 0 f");
    expect_error(c, count, "HPERSIST h FIELDS x f");
    expect_error(c, mismatch, "HPTTL h FIELDS 3 f g");
    expect_error(c, position, "HEXPIRETIME h FIELD 1 f");
    expect_error(c, "ERR wrong number of arguments for 'httl' command", "HTTL h FIELDS 1");

    expect_error(c, position, "HGETDEL h FOO 1 f");
    expect_error(c, count, "HGETDEL h FIELDS 0 f");
    expect_error(c, mismatch, "HGETDEL h FIELDS 2 f");
    expect_error(c, "WRONGTYPE Operation against a key holding the wrong kind of value",
                 "HGETDEL s FIELDS 1 f");

    expect_error(c, position, "HGETEX h FOO FIELDS 1 f");
    expect_error(c, count, "HGETEX h EX 10 FIELDS 0 f");
    expect_error(c, mismatch, "HGETEX h PERSIST FIELDS 2 f");
    expect_error(c, "ERR invalid expire time, must be >= 0", "HGETEX h PX -5 FIELDS 1 f");
    expect_error(c, "ERR value is not an integer or out of range", "HGETEX h EX FIELDS 1 f");
    expect_error(c, position, "HGETEX h EX 10 PERSIST FIELDS 1 f");

    expect_error(c, "ERR unknown argument: BOGUS", "HSETEX h BOGUS FIELDS 1 f v");
    expect_error(c, "ERR Only one of FXX or FNX arguments can be specified",
                 "HSETEX h FNX FXX FIELDS 1 f v");
    expect_error(c, "ERR Only one of EX, PX, EXAT, PXAT or KEEPTTL arguments can be specified",
                 "HSETEX h EX 60 KEEPTTL FIELDS 1 f v");
    expect_error(c, "ERR Only one of EX, PX, EXAT, PXAT or KEEPTTL arguments can be specified",
                 "HSETEX h PX 60 EXAT 10 FIELDS 1 f v");
    expect_error(c, "ERR invalid number of fields", "HSETEX h FIELDS 0 f v");
    expect_error(c, "ERR invalid number of fields", "HSETEX h FIELDS abc f v");
    expect_error(c, "ERR wrong number of arguments for 'hsetex' command", "HSETEX h FIELDS 2 f v");
    expect_error(c, "ERR wrong number of arguments for 'hsetex' command",
                 "HSETEX h FIELDS 1 f v g");
    expect_error(c, "ERR wrong number of arguments for 'hsetex' command", "HSETEX h FNX FIELDS 1");
    expect_error(c, "ERR invalid expire time, must be >= 0", "HSETEX h EX -1 FIELDS 1 f v");
    /* HSETEX reads its arguments before it looks at the key. */
    expect_error(c, "ERR invalid number of fields", "HSETEX s FIELDS 0 f v");
    expect_error(c, "WRONGTYPE Operation against a key holding the wrong kind of value",
                 "HSETEX s FIELDS 1 f v");
    /* Nothing above changed the hash. */
    expect_text(c, "[f v]", "HGETALL h");
    redisFree(c);
}

/* ---------- lazy expiry: no read returns an expired field ---------- */

static void test_reads_never_return_expired_fields(void **state)
{
    redisContext *c = fresh_client(state);
    expect_status(c, "OK", "DEBUG SET-ACTIVE-EXPIRE 0");
    expect_integer(c, 3, "HSET h keep 1 gone 22 n 5");
    expect_text(c, "[1 1]", "HPEXPIRE h 50 FIELDS 2 gone n");
    harness_sleep_ms(120);
    expect_nil(c, "HGET h gone");
    expect_text(c, "[1 nil nil]", "HMGET h keep gone n");
    expect_text(c, "[keep 1]", "HGETALL h");
    expect_text(c, "[keep]", "HKEYS h");
    expect_text(c, "[1]", "HVALS h");
    expect_integer(c, 1, "HLEN h");
    expect_integer(c, 0, "HEXISTS h gone");
    expect_integer(c, 0, "HSTRLEN h gone");
    expect_text(c, "[0 [keep 1]]", "HSCAN h 0");
    expect_text(c, "[keep keep keep]", "HRANDFIELD h -3");
    expect_bulk(c, "keep", "HRANDFIELD h");
    expect_text(c, "[-2]", "HTTL h FIELDS 1 gone");

    /* HINCRBY on an expired field starts from 0. */
    expect_integer(c, 2, "HSET h2 n 100 m 1");
    expect_text(c, "[1]", "HPEXPIRE h2 50 FIELDS 1 n");
    harness_sleep_ms(120);
    expect_integer(c, 7, "HINCRBY h2 n 7");
    expect_text(c, "[-1]", "HTTL h2 FIELDS 1 n");
    expect_bulk(c, "1.5", "HINCRBYFLOAT h3 x 1.5");

    /* The key goes with its last field, even with active expiry off. */
    expect_integer(c, 2, "HSET h4 a 1 b 2");
    expect_text(c, "[1 1]", "HPEXPIRE h4 50 FIELDS 2 a b");
    harness_sleep_ms(120);
    expect_integer(c, 1, "EXISTS h4"); /* EXISTS does not look inside */
    expect_integer(c, 0, "HLEN h4");
    expect_integer(c, 0, "EXISTS h4");
    expect_status(c, "OK", "DEBUG SET-ACTIVE-EXPIRE 1");
    redisFree(c);
}

/* ---------- active expiry ---------- */

static void test_active_expiry_reclaims_untouched_hashes(void **state)
{
    redisContext *c = fresh_client(state);
    expect_integer(c, 2, "HSET gone a 1 b 2");
    expect_text(c, "[1 1]", "HPEXPIRE gone 50 FIELDS 2 a b");
    expect_integer(c, 0, "HSETNX gone a 1");
    for (int i = 0; i < 50; i++)
        expect_integer(c, 1, "HSET partial f%d %0100d", i, i);
    expect_text(c, "[1 1]", "HPEXPIRE partial 50 FIELDS 2 f1 f2");
    long long before = integer_of(c, "MEMORY USAGE partial");
    /* Only the background cycle can reclaim: DBSIZE and MEMORY USAGE do not
     * look inside hashes. */
    assert_true(wait_dbsize(c, 1, 2000));
    long long deadline = harness_now_ms() + 2000;
    while (integer_of(c, "MEMORY USAGE partial") >= before && harness_now_ms() < deadline)
        harness_sleep_ms(10);
    assert_true(integer_of(c, "MEMORY USAGE partial") < before);
    expect_integer(c, 48, "HLEN partial");

    /* With active expiry off nothing is reclaimed until accessed. */
    expect_status(c, "OK", "DEBUG SET-ACTIVE-EXPIRE 0");
    expect_text(c, "[1]", "HPEXPIRE partial 20 FIELDS 1 f3");
    long long held = integer_of(c, "MEMORY USAGE partial");
    harness_sleep_ms(150);
    assert_int_equal(integer_of(c, "MEMORY USAGE partial"), held);
    expect_status(c, "OK", "DEBUG SET-ACTIVE-EXPIRE 1");
    deadline = harness_now_ms() + 2000;
    while (integer_of(c, "MEMORY USAGE partial") >= held && harness_now_ms() < deadline)
        harness_sleep_ms(10);
    expect_integer(c, 47, "HLEN partial");
    redisFree(c);
}

/* 10,000 hashes of 10 fields, every field due at the same absolute time
 * (far enough ahead for a sanitizer build to load them all): every key is
 * gone within 2 s of that deadline. */
static void test_10000_hashes_reclaimed_on_time(void **state)
{
    redisContext *c = fresh_client(state);
    enum { HASHES = 10000 };
    long long due = server_time_ms(c) + 4000;
    for (int i = 0; i < HASHES; i++)
        redisAppendCommand(
            c, "HSETEX big:%d PXAT %lld FIELDS 10 a 1 b 2 c 3 d 4 e 5 f 6 g 7 h 8 i 9 j 10", i,
            due);
    for (int i = 0; i < HASHES; i++) {
        redisReply *r;
        assert_int_equal(redisGetReply(c, (void **)&r), REDIS_OK);
        assert_int_equal(r->type, REDIS_REPLY_INTEGER);
        assert_int_equal(r->integer, 1);
        freeReplyObject(r);
    }
    assert_true(server_time_ms(c) < due);
    assert_int_equal(integer_of(c, "DBSIZE"), HASHES);
    long long wait = due - server_time_ms(c) + 2000;
    assert_true(wait_dbsize(c, 0, (int)wait));
    print_message("10,000 hashes x 10 fields: the last key went %lld ms after the fields' "
                  "deadline\n",
                  server_time_ms(c) - due);
    redisFree(c);
}

/* ---------- interplay with writes ---------- */

static void test_hset_clears_ttl_others_keep_it(void **state)
{
    redisContext *c = fresh_client(state);
    expect_integer(c, 4, "HSET h a 1 b 2 c 3 d 4");
    expect_text(c, "[1 1 1 1]", "HEXPIRE h 100 FIELDS 4 a b c d");
    /* HSET overwrites a value: its TTL goes. */
    expect_integer(c, 0, "HSET h a 10");
    expect_status(c, "OK", "HMSET h b 20");
    /* HINCRBY and HINCRBYFLOAT change the value in place: TTL stays. */
    expect_integer(c, 13, "HINCRBY h c 10");
    expect_bulk(c, "4.5", "HINCRBYFLOAT h d 0.5");
    expect_text(c, "[-1 -1 100 100]", "HTTL h FIELDS 4 a b c d");
    /* HSETNX on an existing field changes nothing. */
    expect_integer(c, 0, "HSETNX h c 0");
    expect_text(c, "[100]", "HTTL h FIELDS 1 c");
    /* HDEL of a field with a TTL forgets it; re-adding has none. */
    expect_integer(c, 1, "HDEL h c");
    expect_integer(c, 1, "HSET h c 1");
    expect_text(c, "[-1]", "HTTL h FIELDS 1 c");
    redisFree(c);
}

static void test_hsetex(void **state)
{
    redisContext *c = fresh_client(state);
    expect_integer(c, 1, "HSETEX h EX 100 FIELDS 2 a 1 b 2");
    expect_text(c, "[100 100]", "HTTL h FIELDS 2 a b");
    /* FNX: only when none of the fields exist. */
    expect_integer(c, 0, "HSETEX h FNX EX 50 FIELDS 2 a x c 3");
    expect_integer(c, 1, "HSETEX h FNX FIELDS 1 c 3");
    /* FXX: only when all exist (a missing key has none). */
    expect_integer(c, 0, "HSETEX h FXX FIELDS 2 a x zz y");
    expect_integer(c, 0, "HSETEX nokey FXX FIELDS 1 a x");
    expect_integer(c, 0, "EXISTS nokey");
    expect_integer(c, 1, "HSETEX h FXX KEEPTTL FIELDS 1 a x");
    expect_bulk(c, "x", "HGET h a");
    expect_text(c, "[100]", "HTTL h FIELDS 1 a");
    /* No TTL option: like HSET, the TTL goes. */
    expect_integer(c, 1, "HSETEX h FIELDS 1 a y");
    expect_text(c, "[-1 100 -1]", "HTTL h FIELDS 3 a b c");
    long long at = server_time_ms(c) + 50000;
    expect_integer(c, 1, "HSETEX h PXAT %lld FIELDS 1 c 4", at);
    char want[64];
    snprintf(want, sizeof(want), "[%lld]", at);
    expect_text(c, want, "HPEXPIRETIME h FIELDS 1 c");
    expect_integer(c, 1, "HSETEX h EXAT 4102444800 FIELDS 1 c 5");
    expect_text(c, "[4102444800]", "HEXPIRETIME h FIELDS 1 c");
    expect_integer(c, 1, "HSETEX h px 200000 fields 1 c 6");
    expect_text(c, "[200]", "HTTL h FIELDS 1 c");
    /* A time already passed sets and deletes: 1, and the fields are gone. */
    expect_integer(c, 1, "HSETEX h EX 0 FIELDS 1 a z");
    expect_integer(c, 0, "HEXISTS h a");
    expect_integer(c, 2, "HLEN h");
    expect_integer(c, 1, "HSETEX h2 PX 0 FIELDS 2 a 1 b 2");
    expect_integer(c, 0, "EXISTS h2");
    redisFree(c);
}

static void test_hgetex_and_hgetdel(void **state)
{
    redisContext *c = fresh_client(state);
    expect_integer(c, 3, "HSET h a 1 b 2 c 3");
    expect_text(c, "[1 nil]", "HGETEX h EX 100 FIELDS 2 a zz");
    expect_text(c, "[100 -1 -1]", "HTTL h FIELDS 3 a b c");
    expect_text(c, "[1 2]", "HGETEX h FIELDS 2 a b");
    expect_text(c, "[100 -1]", "HTTL h FIELDS 2 a b");
    expect_text(c, "[1]", "HGETEX h PERSIST FIELDS 1 a");
    expect_text(c, "[-1]", "HTTL h FIELDS 1 a");
    expect_text(c, "[2]", "HGETEX h PXAT 4102444800000 FIELDS 1 b");
    expect_text(c, "[4102444800]", "HEXPIRETIME h FIELDS 1 b");
    expect_text(c, "[3]", "HGETEX h pX 100000 FIELDS 1 c");
    expect_text(c, "[100]", "HTTL h FIELDS 1 c");
    /* A time already passed returns the value, then deletes the field. */
    expect_text(c, "[1]", "HGETEX h EX 0 FIELDS 1 a");
    expect_integer(c, 0, "HEXISTS h a");
    expect_text(c, "[nil nil]", "HGETEX nokey EX 10 FIELDS 2 a b");

    /* HGETDEL returns values (nil for missing) and deletes them. */
    expect_text(c, "[2 nil 3]", "HGETDEL h FIELDS 3 b zz c");
    expect_integer(c, 0, "EXISTS h");
    expect_text(c, "[nil]", "HGETDEL h FIELDS 1 b");
    expect_integer(c, 2, "HSET h2 a 1 b 2");
    expect_text(c, "[1 nil]", "HGETDEL h2 FIELDS 2 a a");
    expect_text(c, "[b 2]", "HGETALL h2");
    redisFree(c);
}

/* ---------- keys: RENAME/COPY/MOVE, the key's own TTL ---------- */

static void test_field_ttls_survive_rename_copy_move(void **state)
{
    redisContext *c = fresh_client(state);
    expect_integer(c, 2, "HSET h a 1 b 2");
    expect_text(c, "[1]", "HEXPIRE h 100 FIELDS 1 a");
    expect_status(c, "OK", "RENAME h r");
    expect_text(c, "[100 -1]", "HTTL r FIELDS 2 a b");
    expect_integer(c, 1, "COPY r c");
    expect_text(c, "[100 -1]", "HTTL c FIELDS 2 a b");
    /* The copy is independent. */
    expect_text(c, "[1]", "HPERSIST c FIELDS 1 a");
    expect_text(c, "[100]", "HTTL r FIELDS 1 a");
    expect_integer(c, 1, "MOVE r 1");
    expect_status(c, "OK", "SELECT 1");
    expect_text(c, "[100 -1]", "HTTL r FIELDS 2 a b");
    /* Active expiry follows the key to its new name and database. */
    expect_text(c, "[1 1]", "HPEXPIRE r 50 FIELDS 2 a b");
    assert_true(wait_dbsize(c, 0, 2000));
    expect_status(c, "OK", "SELECT 0");
    expect_text(c, "[1]", "HPEXPIRE c 50 FIELDS 1 b");
    expect_status(c, "OK", "RENAME c c2");
    /* MEMORY USAGE does not look inside: only active expiry shrinks it. */
    long long before = integer_of(c, "MEMORY USAGE c2");
    long long deadline = harness_now_ms() + 2000;
    while (integer_of(c, "MEMORY USAGE c2") >= before && harness_now_ms() < deadline)
        harness_sleep_ms(10);
    assert_true(integer_of(c, "MEMORY USAGE c2") < before);
    expect_text(c, "[a 1]", "HGETALL c2");
    redisFree(c);
}

static void test_key_ttl_is_independent(void **state)
{
    redisContext *c = fresh_client(state);
    expect_integer(c, 2, "HSET h a 1 b 2");
    expect_integer(c, 1, "EXPIRE h 1000");
    expect_text(c, "[1]", "HEXPIRE h 100 FIELDS 1 a");
    expect_integer(c, 1000, "TTL h");
    expect_integer(c, 1, "PERSIST h");
    expect_text(c, "[100]", "HTTL h FIELDS 1 a");
    expect_integer(c, 1, "EXPIRE h 500");
    expect_text(c, "[1]", "HPERSIST h FIELDS 1 a");
    expect_integer(c, 500, "TTL h");
    /* A key that expires as a whole takes its field TTLs along. */
    expect_text(c, "[1]", "HEXPIRE h 100 FIELDS 1 a");
    expect_integer(c, 1, "PEXPIRE h 30");
    assert_true(wait_dbsize(c, 0, 2000));
    expect_text(c, "[-2]", "HTTL h FIELDS 1 a");
    redisFree(c);
}

/* SWAPDB moves the field timers with the database; FLUSHALL ASYNC and
 * UNLINK free hashes with field TTLs on the lazy-free thread; overwriting
 * such a hash with SET drops its timer. None may leave a timer behind. */
static void test_swapdb_flush_unlink_overwrite(void **state)
{
    redisContext *c = fresh_client(state);
    expect_integer(c, 2, "HSET h a 1 b 2");
    expect_text(c, "[1 1]", "HPEXPIRE h 60 FIELDS 2 a b");
    expect_status(c, "OK", "SWAPDB 0 1");
    expect_integer(c, 0, "DBSIZE");
    expect_status(c, "OK", "SELECT 1");
    assert_true(wait_dbsize(c, 0, 2000));
    expect_status(c, "OK", "SELECT 0");

    for (int i = 0; i < 100; i++) {
        expect_integer(c, 1, "HSET big:%d f 1", i);
        expect_text(c, "[1]", "HPEXPIRE big:%d 100 FIELDS 1 f", i);
    }
    expect_status(c, "OK", "FLUSHALL ASYNC");
    expect_integer(c, 0, "DBSIZE");

    for (int i = 0; i < 2000; i++)
        expect_integer(c, 1, "HSET huge f%d %d", i, i);
    for (int i = 0; i < 2000; i += 2)
        expect_text(c, "[1]", "HEXPIRE huge 100 FIELDS 1 f%d", i);
    expect_integer(c, 1, "UNLINK huge");
    expect_integer(c, 0, "EXISTS huge");

    expect_integer(c, 1, "HSET s f 1");
    expect_text(c, "[1]", "HPEXPIRE s 50 FIELDS 1 f");
    expect_status(c, "OK", "SET s plain");
    harness_sleep_ms(150);
    expect_bulk(c, "plain", "GET s");
    expect_integer(c, 1, "HSET h2 a 1");
    expect_text(c, "[1]", "HPEXPIRE h2 50 FIELDS 1 a");
    expect_integer(c, 1, "DEL h2");
    expect_integer(c, 1, "HSET h2 a 1");
    harness_sleep_ms(150);
    expect_text(c, "[a 1]", "HGETALL h2");
    redisFree(c);
}

static void test_hrandfield_and_hscan_on_hash_with_ttls(void **state)
{
    redisContext *c = fresh_client(state);
    for (int i = 0; i < 300; i++)
        expect_integer(c, 1, "HSET h f%d v%d", i, i);
    for (int i = 0; i < 300; i += 3)
        expect_text(c, "[1]", "HEXPIRE h 100 FIELDS 1 f%d", i);
    expect_array_len(c, 300, "HRANDFIELD h 500");
    expect_array_len(c, 20, "HRANDFIELD h 10 WITHVALUES");
    expect_array_len(c, 50, "HRANDFIELD h -50");
    long long seen = 0;
    char cursor[32] = "0";
    do {
        redisReply *r = harness_command(c, "HSCAN h %s COUNT 50", cursor);
        assert_int_equal(r->type, REDIS_REPLY_ARRAY);
        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
        seen += (long long)r->element[1]->elements / 2;
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    assert_true(seen >= 300);
    redisFree(c);
}

/* ---------- memory, encoding, events ---------- */

static void test_memory_usage_and_encoding(void **state)
{
    redisContext *c = fresh_client(state);
    expect_integer(c, 3, "HSET small a 1 b 2 c 3");
    expect_bulk(c, "listpack", "OBJECT ENCODING small");
    expect_text(c, "[1]", "HEXPIRE small 100 FIELDS 1 a");
    /* Rivet keeps hashes with field TTLs in the table encoding. */
    expect_bulk(c, "hashtable", "OBJECT ENCODING small");
    expect_text(c, "[1]", "HPERSIST small FIELDS 1 a");
    expect_bulk(c, "hashtable", "OBJECT ENCODING small");
    expect_text(c, "[1 1 2 2 3 3]", "HMGET small a a b b c c");

    for (int i = 0; i < 200; i++)
        expect_integer(c, 1, "HSET big field:%d value:%d", i, i);
    for (int i = 0; i < 200; i++)
        expect_text(c, "[1]", "HEXPIRE big 1000 FIELDS 1 field:%d", i);
    long long with_ttls = integer_of(c, "MEMORY USAGE big SAMPLES 0");
    for (int i = 0; i < 200; i++)
        expect_text(c, "[1]", "HPERSIST big FIELDS 1 field:%d", i);
    long long plain = integer_of(c, "MEMORY USAGE big SAMPLES 0");
    print_message("MEMORY USAGE of 200 fields in a table: %lld bytes, %lld with a TTL on each\n",
                  plain, with_ttls);
    assert_true(with_ttls > plain + 200 * 16);
    /* The last TTL gone, the side structure goes too: back to the bytes of
     * the plain table. */
    expect_text(c, "[1]", "HEXPIRE big 1000 FIELDS 1 field:7");
    assert_true(integer_of(c, "MEMORY USAGE big SAMPLES 0") > plain);
    expect_text(c, "[1]", "HPERSIST big FIELDS 1 field:7");
    assert_int_equal(integer_of(c, "MEMORY USAGE big SAMPLES 0"), plain);
    redisFree(c);
}

/* Reads the next pmessage and checks its channel suffix and payload. */
static void expect_event(redisContext *sub, const char *event, const char *key)
{
    redisReply *r;
    assert_int_equal(redisGetReply(sub, (void **)&r), REDIS_OK);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 4);
    char channel[128];
    snprintf(channel, sizeof(channel), "__keyevent@0__:%s", event);
    if (strcmp(r->element[2]->str, channel) != 0 || strcmp(r->element[3]->str, key) != 0)
        fail_msg("expected event %s on %s, got %s on %s", event, key, r->element[2]->str,
                 r->element[3]->str);
    freeReplyObject(r);
}

static void test_keyspace_events(void **state)
{
    redisContext *c = fresh_client(state);
    expect_status(c, "OK", "CONFIG SET notify-keyspace-events Egh");
    redisContext *sub = harness_connect(*state);
    redisReply *r = harness_command(sub, "PSUBSCRIBE __keyevent@0__:*");
    freeReplyObject(r);
    expect_integer(c, 2, "HSET h a 1 b 2");
    expect_event(sub, "hset", "h");
    expect_text(c, "[1]", "HEXPIRE h 100 FIELDS 1 a");
    expect_event(sub, "hexpire", "h");
    expect_text(c, "[1]", "HPERSIST h FIELDS 1 a");
    expect_event(sub, "hpersist", "h");
    expect_text(c, "[0 -2]", "HEXPIRE h 100 XX FIELDS 2 a zz");
    expect_text(c, "[1 1]", "HPEXPIRE h 30 FIELDS 2 a b");
    expect_event(sub, "hexpire", "h");
    /* Active expiry: the fields, then the key. */
    expect_event(sub, "hexpired", "h");
    expect_event(sub, "del", "h");
    expect_integer(c, 2, "HSET h a 1 b 2");
    expect_event(sub, "hset", "h");
    expect_text(c, "[2 -2]", "HEXPIRE h 0 FIELDS 2 a a");
    expect_event(sub, "hdel", "h");
    expect_text(c, "[2]", "HGETDEL h FIELDS 1 b");
    expect_event(sub, "hdel", "h");
    expect_event(sub, "del", "h");
    expect_status(c, "OK", "CONFIG SET notify-keyspace-events %s", "");
    redisFree(sub);
    redisFree(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hexpire_per_field_replies),
        cmocka_unit_test(test_ttl_family_values),
        cmocka_unit_test(test_hpersist),
        cmocka_unit_test(test_argument_errors),
        cmocka_unit_test(test_reads_never_return_expired_fields),
        cmocka_unit_test(test_active_expiry_reclaims_untouched_hashes),
        cmocka_unit_test(test_10000_hashes_reclaimed_on_time),
        cmocka_unit_test(test_hset_clears_ttl_others_keep_it),
        cmocka_unit_test(test_hsetex),
        cmocka_unit_test(test_hgetex_and_hgetdel),
        cmocka_unit_test(test_field_ttls_survive_rename_copy_move),
        cmocka_unit_test(test_key_ttl_is_independent),
        cmocka_unit_test(test_swapdb_flush_unlink_overwrite),
        cmocka_unit_test(test_hrandfield_and_hscan_on_hash_with_ttls),
        cmocka_unit_test(test_memory_usage_and_encoding),
        cmocka_unit_test(test_keyspace_events),
    };
    return cmocka_run_group_tests(tests, server_setup, server_teardown);
}
