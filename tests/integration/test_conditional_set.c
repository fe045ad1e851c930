/* The compare-and-set commands of Redis 8.4 and Valkey 9 end to end: SET's
 * IFEQ / IFNE / IFDEQ / IFDNE conditions (alone, with GET, with expire
 * options), DIGEST, DELEX, DELIFEQ and MSETEX. The installed Redis is 7.0,
 * which has none of these, so the expected replies are written out here from
 * the Redis 8.4 documentation and test suite, byte for byte: status, nil,
 * integer and the full error text. Digests were computed with `xxhsum -H3`
 * (XXH3 64-bit, seed 0). */
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

#define WRONGTYPE     "WRONGTYPE Operation against a key holding the wrong kind of value"
#define SYNTAX        "ERR syntax error"
#define DIGEST_LENGTH "ERR must be exactly 16 hexadecimal characters"
#define DELEX_TYPE    "ERR Key should be of string type if conditions are specified"
#define DELEX_INVALID "ERR Invalid condition. Use IFEQ, IFNE, IFDEQ, or IFDNE"

/* Digests of known values (xxhsum -H3). */
#define DIGEST_HELLO_WORLD "b6acb9d84a38ff74" /* "Hello world" (the DIGEST docs' example) */
#define DIGEST_EMPTY       "2d06800538d394c2" /* "" */
#define DIGEST_HELLO       "9555e8555c62dcfd" /* "hello" */
#define DIGEST_12345       "f34099ede96b5581" /* "12345", stored int-encoded */
#define DIGEST_A_NUL_B     "d5a06cd078125351" /* "a\0b" */
/* A value whose digest starts with zeros (from Redis's own test suite). */
#define LEADING_ZERO_VALUE                                                                         \
    "v8lf0c11xh8ymlqztfd3eeq16kfn4sspw7fqmnuuq3k3t75em5wdizgcdw7uc26nnf961u2jkfzkjytls2kwlj7626sd"
#define DIGEST_LEADING_ZERO "00006c38adf31777"

/* ---------- small tools ---------- */

static redisContext *client_of(void **state)
{
    return harness_connect(*state);
}

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

/* Fails unless lo <= PTTL key <= hi. */
static void expect_pttl_between(redisContext *c, const char *key, long long lo, long long hi)
{
    long long pttl = integer_of(c, "PTTL %s", key);
    if (pttl < lo || pttl > hi)
        fail_msg("PTTL %s is %lld, expected between %lld and %lld", key, pttl, lo, hi);
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

/* Reads one pmessage from a PSUBSCRIBEd connection and checks its channel
 * and payload. */
static void expect_event(redisContext *sub, const char *channel, const char *message)
{
    redisReply *r = NULL;
    if (redisGetReply(sub, (void **)&r) != REDIS_OK || r == NULL)
        fail_msg("no notification (expected %s %s): %s", channel, message, sub->errstr);
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 4 ||
        strcmp(r->element[0]->str, "pmessage") != 0 || strcmp(r->element[2]->str, channel) != 0 ||
        strcmp(r->element[3]->str, message) != 0)
        fail_msg("expected pmessage %s %s, got %s %s", channel, message,
                 r->elements == 4 ? r->element[2]->str : "?",
                 r->elements == 4 ? r->element[3]->str : "?");
    freeReplyObject(r);
}

/* ---------- DIGEST ---------- */

static void test_digest(void **state)
{
    redisContext *c = client_of(state);
    expect_status(c, "OK", "FLUSHALL");

    expect_status(c, "OK", "SET k %s", "Hello world");
    expect_bulk(c, DIGEST_HELLO_WORLD, "DIGEST k");
    expect_status(c, "OK", "SET k %s", "");
    expect_bulk(c, DIGEST_EMPTY, "DIGEST k");
    expect_status(c, "OK", "SET k hello");
    expect_bulk(c, DIGEST_HELLO, "DIGEST k");
    /* Leading zeros are kept: always 16 characters. */
    expect_status(c, "OK", "SET k %s", LEADING_ZERO_VALUE);
    expect_bulk(c, DIGEST_LEADING_ZERO, "DIGEST k");
    /* An int-encoded value hashes as its decimal text. */
    expect_status(c, "OK", "SET k 12345");
    expect_bulk(c, "int", "OBJECT ENCODING k");
    expect_bulk(c, DIGEST_12345, "DIGEST k");
    /* Binary-safe. */
    expect_status(c, "OK", "SET k %b", "a\0b", (size_t)3);
    expect_bulk(c, DIGEST_A_NUL_B, "DIGEST k");

    expect_nil(c, "DIGEST missing");
    expect_integer(c, 1, "RPUSH list a");
    expect_error(c, WRONGTYPE, "DIGEST list");
    expect_error(c, "ERR wrong number of arguments for 'digest' command", "DIGEST");
    expect_error(c, "ERR wrong number of arguments for 'digest' command", "DIGEST a b");
    redisFree(c);
}

/* ---------- SET with IF* ---------- */

static void test_set_ifeq_ifne(void **state)
{
    redisContext *c = client_of(state);
    expect_status(c, "OK", "FLUSHALL");

    /* IFEQ: set only when equal; a missing key is not created. */
    expect_status(c, "OK", "SET k hello");
    expect_status(c, "OK", "SET k world IFEQ hello");
    expect_bulk(c, "world", "GET k");
    expect_nil(c, "SET k other IFEQ hello");
    expect_bulk(c, "world", "GET k");
    expect_nil(c, "SET missing v IFEQ hello");
    expect_integer(c, 0, "EXISTS missing");

    /* IFNE: set only when different; a missing key is created. */
    expect_nil(c, "SET k other IFNE world");
    expect_bulk(c, "world", "GET k");
    expect_status(c, "OK", "SET k other IFNE hello");
    expect_bulk(c, "other", "GET k");
    expect_status(c, "OK", "SET created v IFNE hello");
    expect_bulk(c, "v", "GET created");

    /* Values compare as bytes: an int-encoded 123 is not "0123". */
    expect_status(c, "OK", "SET n 123");
    expect_nil(c, "SET n x IFEQ 0123");
    expect_status(c, "OK", "SET n x IFEQ 123");
    expect_bulk(c, "x", "GET n");
    expect_status(c, "OK", "SET n 12345");
    expect_status(c, "OK", "SET n y IFNE 54321");
    expect_bulk(c, "y", "GET n");

    /* Empty strings and embedded NULs. */
    expect_status(c, "OK", "SET e %s", "");
    expect_nil(c, "SET e x IFNE %s", "");
    expect_status(c, "OK", "SET e x IFEQ %s", "");
    expect_bulk(c, "x", "GET e");
    expect_status(c, "OK", "SET b %b", "a\0b", (size_t)3);
    expect_nil(c, "SET b x IFEQ %b", "a\0c", (size_t)3);
    expect_nil(c, "SET b x IFEQ a");
    expect_status(c, "OK", "SET b x IFEQ %b", "a\0b", (size_t)3);
    expect_bulk(c, "x", "GET b");

    /* Option names are case-insensitive. */
    expect_status(c, "OK", "SET k hello");
    expect_status(c, "OK", "SET k world IfEq hello");
    expect_status(c, "OK", "SET k again ifne hello");
    expect_bulk(c, "again", "GET k");
    redisFree(c);
}

static void test_set_ifdeq_ifdne(void **state)
{
    redisContext *c = client_of(state);
    expect_status(c, "OK", "FLUSHALL");

    expect_status(c, "OK", "SET k hello");
    expect_nil(c, "SET k x IFDEQ %s", DIGEST_EMPTY);
    expect_bulk(c, "hello", "GET k");
    expect_status(c, "OK", "SET k world IFDEQ %s", DIGEST_HELLO);
    expect_bulk(c, "world", "GET k");

    /* Hex digits compare case-insensitively. */
    expect_status(c, "OK", "SET k hello");
    expect_nil(c, "SET k x IFDNE %s", "9555E8555C62DCFD");
    expect_status(c, "OK", "SET k world IFDEQ %s", "9555E8555C62DCFD");
    expect_bulk(c, "world", "GET k");
    expect_status(c, "OK", "SET k again IFDNE %s", DIGEST_HELLO);
    expect_bulk(c, "again", "GET k");

    /* Digest of an int-encoded value and of the empty string. */
    expect_status(c, "OK", "SET n 12345");
    expect_status(c, "OK", "SET n x IFDEQ %s", DIGEST_12345);
    expect_status(c, "OK", "SET e %s", "");
    expect_status(c, "OK", "SET e x IFDEQ %s", DIGEST_EMPTY);
    expect_bulk(c, "x", "GET e");
    expect_status(c, "OK", "SET z %s", LEADING_ZERO_VALUE);
    /* The digest without its leading zeros is not accepted. */
    expect_error(c, DIGEST_LENGTH, "SET z x IFDEQ %s", "6c38adf31777");
    expect_status(c, "OK", "SET z x IFDEQ %s", DIGEST_LEADING_ZERO);

    /* Only the length of a digest is validated, and only when there is a
     * value to compare with. */
    expect_status(c, "OK", "SET k hello");
    expect_error(c, DIGEST_LENGTH, "SET k x IFDEQ %s", "9555e8555c62dcf");
    expect_error(c, DIGEST_LENGTH, "SET k x IFDNE %s", "09555e8555c62dcfd");
    expect_error(c, DIGEST_LENGTH, "SET k x IFDEQ %s", "");
    expect_error(c, DIGEST_LENGTH, "SET k x IFDNE %s GET", "1234");
    expect_bulk(c, "hello", "GET k");
    expect_nil(c, "SET k x IFDEQ zzzzzzzzzzzzzzzz");
    expect_status(c, "OK", "SET k x IFDNE zzzzzzzzzzzzzzzz");
    expect_bulk(c, "x", "GET k");
    expect_nil(c, "SET missing v IFDEQ 1234567890");
    expect_integer(c, 0, "EXISTS missing");
    expect_status(c, "OK", "SET created v IFDNE 1234567890");
    expect_bulk(c, "v", "GET created");
    redisFree(c);
}

/* GET with a condition replies the old value (nil when missing) whether or
 * not the condition held. */
static void test_set_conditions_with_get(void **state)
{
    redisContext *c = client_of(state);
    expect_status(c, "OK", "FLUSHALL");

    expect_status(c, "OK", "SET k hello");
    expect_bulk(c, "hello", "SET k world IFEQ hello GET");
    expect_bulk(c, "world", "GET k");
    expect_bulk(c, "world", "SET k x IFEQ nope GET");
    expect_bulk(c, "world", "GET k");
    expect_nil(c, "SET missing v IFEQ a GET");
    expect_integer(c, 0, "EXISTS missing");

    expect_bulk(c, "world", "SET k x GET IFNE world");
    expect_bulk(c, "world", "GET k");
    expect_bulk(c, "world", "SET k x IFNE other GET");
    expect_bulk(c, "x", "GET k");
    expect_nil(c, "SET created v IFNE a GET");
    expect_bulk(c, "v", "GET created");

    expect_status(c, "OK", "SET k hello");
    expect_bulk(c, "hello", "SET k world IFDEQ %s GET", DIGEST_HELLO);
    expect_bulk(c, "world", "SET k x IFDEQ %s GET", DIGEST_HELLO);
    expect_bulk(c, "world", "GET k");
    expect_nil(c, "SET missing v IFDEQ %s GET", DIGEST_HELLO);
    expect_integer(c, 0, "EXISTS missing");

    expect_status(c, "OK", "SET k hello");
    expect_bulk(c, "hello", "SET k x IFDNE %s GET", DIGEST_HELLO);
    expect_bulk(c, "hello", "GET k");
    expect_bulk(c, "hello", "SET k x IFDNE %s GET", DIGEST_EMPTY);
    expect_bulk(c, "x", "GET k");
    expect_nil(c, "SET created2 v IFDNE %s GET", DIGEST_HELLO);
    expect_bulk(c, "v", "GET created2");
    redisFree(c);
}

/* Unlike a plain SET, a compare condition never overwrites another type. */
static void test_set_conditions_wrong_type(void **state)
{
    redisContext *c = client_of(state);
    expect_status(c, "OK", "FLUSHALL");
    expect_integer(c, 1, "RPUSH list a");

    expect_error(c, WRONGTYPE, "SET list v IFEQ a");
    expect_error(c, WRONGTYPE, "SET list v IFNE a");
    expect_error(c, WRONGTYPE, "SET list v IFDEQ 1234567890");
    expect_error(c, WRONGTYPE, "SET list v IFDNE 1234567890");
    expect_error(c, WRONGTYPE, "SET list v IFNE a GET");
    expect_error(c, WRONGTYPE, "SET list v IFEQ a EX 10");
    expect_status(c, "list", "TYPE list");
    expect_integer(c, 1, "LLEN list");
    /* A plain SET still overwrites whatever is there. */
    expect_status(c, "OK", "SET list v");
    expect_bulk(c, "v", "GET list");
    redisFree(c);
}

static void test_set_conditions_syntax(void **state)
{
    redisContext *c = client_of(state);
    expect_status(c, "OK", "FLUSHALL");
    expect_status(c, "OK", "SET k v");

    /* The conditions exclude NX, XX and each other, in any order. */
    expect_error(c, SYNTAX, "SET k x NX IFEQ v");
    expect_error(c, SYNTAX, "SET k x IFEQ v NX");
    expect_error(c, SYNTAX, "SET k x XX IFNE v");
    expect_error(c, SYNTAX, "SET k x IFDEQ %s XX", DIGEST_HELLO);
    expect_error(c, SYNTAX, "SET k x IFEQ v IFNE w");
    expect_error(c, SYNTAX, "SET k x IFDEQ %s IFDNE %s", DIGEST_HELLO, DIGEST_HELLO);
    expect_error(c, SYNTAX, "SET k x IFEQ v IFEQ v");
    /* A condition needs its argument. */
    expect_error(c, SYNTAX, "SET k x IFEQ");
    expect_error(c, SYNTAX, "SET k x GET IFDNE");
    expect_error(c, SYNTAX, "SET k x IFEQX v");
    /* The expire options still exclude each other beside a condition. */
    expect_error(c, SYNTAX, "SET k x IFEQ v EX 10 PX 100");
    expect_error(c, SYNTAX, "SET k x IFEQ v KEEPTTL EX 10");
    expect_error(c, "ERR invalid expire time in 'set' command", "SET k x IFEQ v EX 0");
    /* Nothing was changed by any of these. */
    expect_bulk(c, "v", "GET k");
    /* GETEX does not take conditions. */
    expect_error(c, SYNTAX, "GETEX k IFEQ v");
    /* NX and XX alone behave as before. */
    expect_nil(c, "SET k x NX");
    expect_status(c, "OK", "SET k x XX");
    /* As in Redis 7.0: NX may repeat, so may an expire form (the last
     * value wins), and a blocked NX with GET replies the old value. */
    expect_bulk(c, "x", "SET k y NX NX GET EX 5 EX 10");
    expect_integer(c, -1, "TTL k");
    redisFree(c);
}

/* A successful conditional SET behaves like SET: without an expire option
 * the old TTL is dropped, KEEPTTL keeps it, EX/PX replace it. A condition
 * that fails leaves the TTL alone. */
static void test_set_conditions_and_ttl(void **state)
{
    redisContext *c = client_of(state);
    expect_status(c, "OK", "FLUSHALL");

    expect_status(c, "OK", "SET k a EX 100");
    expect_status(c, "OK", "SET k b IFEQ a");
    expect_integer(c, -1, "TTL k");

    expect_status(c, "OK", "SET k a EX 100");
    expect_status(c, "OK", "SET k b IFEQ a KEEPTTL");
    expect_pttl_between(c, "k", 95000, 100000);
    expect_bulk(c, "b", "GET k");

    expect_status(c, "OK", "SET k a EX 100");
    expect_status(c, "OK", "SET k b IFEQ a PX 5000");
    expect_pttl_between(c, "k", 1, 5000);

    expect_status(c, "OK", "SET k a EX 100");
    expect_nil(c, "SET k b IFEQ nope PX 5000");
    expect_pttl_between(c, "k", 95000, 100000);
    expect_bulk(c, "a", "GET k");

    expect_status(c, "OK", "SET k a");
    expect_bulk(c, "a", "SET k b IFDNE %s GET EX 50", DIGEST_HELLO);
    expect_pttl_between(c, "k", 45000, 50000);

    long long at = server_time_ms(c) + 30000;
    expect_status(c, "OK", "SET k c IFNE a PXAT %lld", at);
    expect_pttl_between(c, "k", 25000, 30000);
    expect_integer(c, at, "PEXPIRETIME k");

    /* IFNE creating a key with a TTL. */
    expect_status(c, "OK", "SET fresh v IFNE x EX 20");
    expect_pttl_between(c, "fresh", 15000, 20000);

    /* An expired key counts as missing. */
    expect_status(c, "OK", "SET gone a PX 1");
    harness_sleep_ms(5);
    expect_nil(c, "SET gone b IFEQ a");
    expect_integer(c, 0, "EXISTS gone");
    expect_status(c, "OK", "SET gone b IFNE a");
    expect_integer(c, -1, "TTL gone");
    redisFree(c);
}

/* ---------- DELEX ---------- */

static void test_delex(void **state)
{
    redisContext *c = client_of(state);
    expect_status(c, "OK", "FLUSHALL");

    /* Without a condition: DEL of one key, of any type. */
    expect_integer(c, 0, "DELEX missing");
    expect_status(c, "OK", "SET k v");
    expect_integer(c, 1, "DELEX k");
    expect_integer(c, 0, "EXISTS k");
    expect_integer(c, 1, "RPUSH list a");
    expect_integer(c, 1, "DELEX list");
    expect_integer(c, 0, "EXISTS list");

    expect_status(c, "OK", "SET k hello");
    expect_integer(c, 0, "DELEX k IFEQ world");
    expect_integer(c, 1, "EXISTS k");
    expect_integer(c, 1, "DELEX k ifeq hello");
    expect_integer(c, 0, "EXISTS k");

    expect_status(c, "OK", "SET k hello");
    expect_integer(c, 0, "DELEX k IFNE hello");
    expect_integer(c, 1, "DELEX k IfNe world");
    expect_integer(c, 0, "EXISTS k");

    expect_status(c, "OK", "SET k hello");
    expect_integer(c, 0, "DELEX k IFDEQ %s", DIGEST_EMPTY);
    expect_integer(c, 1, "DELEX k IFDEQ %s", "9555E8555C62DCFD");
    expect_status(c, "OK", "SET k hello");
    expect_integer(c, 0, "DELEX k IFDNE %s", DIGEST_HELLO);
    expect_integer(c, 1, "DELEX k IFDNE %s", DIGEST_EMPTY);
    expect_integer(c, 0, "EXISTS k");

    /* Int-encoded and empty values. */
    expect_status(c, "OK", "SET n 123");
    expect_integer(c, 0, "DELEX n IFEQ 0123");
    expect_integer(c, 1, "DELEX n IFEQ 123");
    expect_status(c, "OK", "SET e %s", "");
    expect_integer(c, 0, "DELEX e IFEQ x");
    expect_integer(c, 1, "DELEX e IFEQ %s", "");

    /* A missing key is 0 whatever the condition, even an unknown one or a
     * malformed digest. */
    expect_integer(c, 0, "DELEX missing IFEQ a");
    expect_integer(c, 0, "DELEX missing IFNE a");
    expect_integer(c, 0, "DELEX missing IFDEQ 1234567890");
    expect_integer(c, 0, "DELEX missing IFDNE 1234567890");
    expect_integer(c, 0, "DELEX missing FOO a");

    /* Errors, which leave the key alone. */
    expect_status(c, "OK", "SET k hello");
    expect_error(c, DELEX_INVALID, "DELEX k FOO hello");
    expect_error(c, DELEX_INVALID, "DELEX k IF hello");
    expect_error(c, DIGEST_LENGTH, "DELEX k IFDEQ %s", "9555e8555c62dcf");
    expect_error(c, DIGEST_LENGTH, "DELEX k IFDNE %s", "09555e8555c62dcfd");
    expect_error(c, DIGEST_LENGTH, "DELEX k IFDEQ %s", "");
    expect_integer(c, 0, "DELEX k IFDEQ zzzzzzzzzzzzzzzz");
    expect_error(c, "ERR wrong number of arguments for 'delex' command", "DELEX k IFEQ");
    expect_error(c, "ERR wrong number of arguments for 'delex' command", "DELEX missing IFEQ");
    expect_error(c, "ERR wrong number of arguments for 'delex' command", "DELEX k IFEQ hello x");
    expect_error(c, "ERR wrong number of arguments for 'delex' command", "DELEX");
    expect_bulk(c, "hello", "GET k");

    expect_integer(c, 1, "SADD set m");
    expect_error(c, DELEX_TYPE, "DELEX set IFEQ m");
    expect_error(c, DELEX_TYPE, "DELEX set IFNE m");
    expect_error(c, DELEX_TYPE, "DELEX set IFDEQ 1234567890");
    expect_error(c, DELEX_TYPE, "DELEX set FOO m");
    expect_integer(c, 1, "EXISTS set");
    redisFree(c);
}

/* ---------- DELIFEQ ---------- */

static void test_delifeq(void **state)
{
    redisContext *c = client_of(state);
    expect_status(c, "OK", "FLUSHALL");

    expect_status(c, "OK", "SET lock abc123");
    expect_integer(c, 0, "DELIFEQ lock xyz789");
    expect_integer(c, 1, "EXISTS lock");
    expect_integer(c, 1, "DELIFEQ lock abc123");
    expect_integer(c, 0, "DELIFEQ lock abc123");
    expect_integer(c, 0, "EXISTS lock");

    expect_status(c, "OK", "SET n 42");
    expect_integer(c, 0, "DELIFEQ n 042");
    expect_integer(c, 1, "DELIFEQ n 42");
    expect_status(c, "OK", "SET e %s", "");
    expect_integer(c, 1, "DELIFEQ e %s", "");

    expect_integer(c, 1, "SADD set somevalue");
    expect_error(c, WRONGTYPE, "DELIFEQ set somevalue");
    expect_integer(c, 1, "EXISTS set");
    expect_error(c, "ERR wrong number of arguments for 'delifeq' command", "DELIFEQ lock");
    expect_error(c, "ERR wrong number of arguments for 'delifeq' command", "DELIFEQ lock a b");
    redisFree(c);
}

/* ---------- MSETEX ---------- */

static void test_msetex(void **state)
{
    redisContext *c = client_of(state);
    expect_status(c, "OK", "FLUSHALL");

    expect_integer(c, 1, "MSETEX 2 a 1 b 2 EX 100");
    expect_bulk(c, "1", "GET a");
    expect_bulk(c, "2", "GET b");
    expect_pttl_between(c, "a", 95000, 100000);
    expect_pttl_between(c, "b", 95000, 100000);

    expect_integer(c, 1, "MSETEX 1 a 3 PX 5000");
    expect_pttl_between(c, "a", 1, 5000);
    long long at = server_time_ms(c) + 40000;
    expect_integer(c, 1, "MSETEX 1 a 4 EXAT %lld", at / 1000);
    expect_integer(c, at / 1000, "EXPIRETIME a");
    expect_integer(c, 1, "MSETEX 1 a 5 PXAT %lld", at);
    expect_integer(c, at, "PEXPIRETIME a");

    /* KEEPTTL keeps each key's own TTL; no expire option drops it. */
    expect_integer(c, 1, "MSETEX 2 a 6 b 7 KEEPTTL");
    expect_integer(c, at, "PEXPIRETIME a");
    expect_pttl_between(c, "b", 90000, 100000);
    expect_integer(c, 1, "MSETEX 1 b 8");
    expect_integer(c, -1, "TTL b");
    expect_bulk(c, "8", "GET b");

    /* NX: all or nothing. One existing key blocks all the others. */
    expect_integer(c, 0, "MSETEX 3 new1 x a y new2 z NX EX 10");
    expect_integer(c, 0, "EXISTS new1 new2");
    expect_bulk(c, "6", "GET a");
    expect_integer(c, 1, "MSETEX 2 new1 x new2 z NX EX 10");
    expect_bulk(c, "x", "GET new1");
    expect_pttl_between(c, "new2", 5000, 10000);

    /* XX: every key must exist; another type counts as existing. */
    expect_integer(c, 0, "MSETEX 2 a 9 absent 9 XX");
    expect_integer(c, 0, "EXISTS absent");
    expect_bulk(c, "6", "GET a");
    expect_integer(c, 1, "RPUSH list e");
    expect_integer(c, 1, "MSETEX 2 a 9 list 9 XX PX 9000");
    expect_bulk(c, "9", "GET list");
    expect_pttl_between(c, "list", 1, 9000);

    /* Options in any order; a repeated key keeps its last value. */
    expect_integer(c, 1, "MSETEX 2 d 1 d 2 ex 30 nx");
    expect_bulk(c, "2", "GET d");
    expect_integer(c, 1, "MSETEX 1 d 3 xx keepttl");
    expect_pttl_between(c, "d", 25000, 30000);

    /* Errors, in Redis's order: count, pairs, options, expire value. */
    expect_error(c, "ERR wrong number of arguments for 'msetex' command", "MSETEX");
    expect_error(c, "ERR wrong number of arguments for 'msetex' command", "MSETEX 1 k");
    expect_error(c, "ERR invalid numkeys value", "MSETEX k v EX 10");
    expect_error(c, "ERR invalid numkeys value", "MSETEX 0 k v");
    expect_error(c, "ERR invalid numkeys value", "MSETEX -1 k v");
    expect_error(c, "ERR invalid numkeys value", "MSETEX 2147483648 k v EX 10");
    expect_error(c, "ERR wrong number of key-value pairs", "MSETEX 2 k v k2");
    expect_error(c, "ERR wrong number of key-value pairs", "MSETEX 2147483647 k v EX 10");
    expect_error(c, SYNTAX, "MSETEX 1 k v invalid_flag");
    expect_error(c, SYNTAX, "MSETEX 1 k v NX XX");
    expect_error(c, SYNTAX, "MSETEX 1 k v EX 10 PX 5000");
    expect_error(c, SYNTAX, "MSETEX 1 k v KEEPTTL EX 10");
    expect_error(c, SYNTAX, "MSETEX 1 k v GET");
    expect_error(c, SYNTAX, "MSETEX 1 k v IFEQ a");
    expect_error(c, SYNTAX, "MSETEX 1 k v EX");
    expect_error(c, "ERR invalid expire time in 'msetex' command", "MSETEX 1 k v EX 0");
    expect_error(c, "ERR invalid expire time in 'msetex' command", "MSETEX 1 k v PX -5");
    expect_error(c, "ERR value is not an integer or out of range", "MSETEX 1 k v EX ten");
    expect_integer(c, 0, "EXISTS k k2");
    redisFree(c);
}

/* ---------- keyspace notifications ---------- */

static void test_keyspace_events(void **state)
{
    redisContext *c = client_of(state);
    redisContext *sub = client_of(state);
    expect_status(c, "OK", "FLUSHALL");
    expect_status(c, "OK", "CONFIG SET notify-keyspace-events KEA");
    redisReply *r = harness_command(sub, "PSUBSCRIBE __keyevent@0__:*");
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    freeReplyObject(r);

    expect_status(c, "OK", "SET k a");
    expect_event(sub, "__keyevent@0__:set", "k");
    /* A condition that fails announces nothing: the next event is the
     * marker's. */
    expect_nil(c, "SET k b IFEQ nope");
    expect_integer(c, 0, "DELEX k IFNE a");
    expect_integer(c, 0, "DELIFEQ k nope");
    expect_integer(c, 0, "MSETEX 1 k x NX");
    expect_status(c, "OK", "SET marker 1");
    expect_event(sub, "__keyevent@0__:set", "marker");

    expect_status(c, "OK", "SET k b IFEQ a EX 10");
    expect_event(sub, "__keyevent@0__:set", "k");
    expect_event(sub, "__keyevent@0__:expire", "k");
    expect_integer(c, 1, "DELEX k IFEQ b");
    expect_event(sub, "__keyevent@0__:del", "k");
    expect_status(c, "OK", "SET lock token");
    expect_event(sub, "__keyevent@0__:set", "lock");
    expect_integer(c, 1, "DELIFEQ lock token");
    expect_event(sub, "__keyevent@0__:del", "lock");
    expect_integer(c, 1, "MSETEX 2 m1 1 m2 2 EX 10");
    expect_event(sub, "__keyevent@0__:set", "m1");
    expect_event(sub, "__keyevent@0__:expire", "m1");
    expect_event(sub, "__keyevent@0__:set", "m2");
    expect_event(sub, "__keyevent@0__:expire", "m2");
    expect_integer(c, 1, "MSETEX 1 m1 3");
    expect_event(sub, "__keyevent@0__:set", "m1");
    expect_integer(c, 1, "RPUSH list a");
    expect_event(sub, "__keyevent@0__:rpush", "list");
    expect_integer(c, 1, "DELEX list");
    expect_event(sub, "__keyevent@0__:del", "list");

    expect_status(c, "OK", "CONFIG SET notify-keyspace-events %s", "");
    redisFree(sub);
    redisFree(c);
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
        cmocka_unit_test(test_digest),
        cmocka_unit_test(test_set_ifeq_ifne),
        cmocka_unit_test(test_set_ifdeq_ifdne),
        cmocka_unit_test(test_set_conditions_with_get),
        cmocka_unit_test(test_set_conditions_wrong_type),
        cmocka_unit_test(test_set_conditions_syntax),
        cmocka_unit_test(test_set_conditions_and_ttl),
        cmocka_unit_test(test_delex),
        cmocka_unit_test(test_delifeq),
        cmocka_unit_test(test_msetex),
        cmocka_unit_test(test_keyspace_events),
    };
    return cmocka_run_group_tests_name("conditional set", tests, setup, teardown);
}
