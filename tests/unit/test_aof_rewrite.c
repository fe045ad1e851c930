/* Tests of propagation (src/persist/propagate.c): commands run through the
 * real dispatch with AOF on, then the incremental file is read back and
 * compared, command by command, with what Redis 7.0 would have written —
 * relative times made absolute, random picks made explicit, blocking and
 * scripted effects as plain commands, natives as RESTORE of their state.
 * The clock is frozen at NOW_MS so deadlines are exact. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rivet/aof.h"
#include "rivet/blocking.h"
#include "rivet/errorstats.h"
#include "rivet/memory.h"
#include "rivet/script.h"
#include "rivet/server.h"
#include "rivet/slowlog.h"
#include "rivet/watch.h"

#define NOW_MS 1700000000000LL

static char dir[64];
static client *user;
static size_t read_offset; /* of the incremental file, already checked */

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/rivet-aofunit-XXXXXX");
    assert_non_null(mkdtemp(dir));
    assert_int_equal(chdir(dir), 0);
    config_init_defaults(&server.config);
    server.config.appendonly = 1;
    server.config.appendfsync = 0;
    server.now_ms = NOW_MS;
    server.now_us = NOW_MS * 1000;
    server.keyspace = keyspace_create(16, NOW_MS);
    keyspace_set_time(server.keyspace, NOW_MS);
    keyspace_set_modified_hook(server.keyspace, server_key_modified, NULL);
    blocking_init();
    watch_init();
    command_register_types(server.keyspace);
    command_table_init();
    script_init();
    server.slowlog = slowlog_create();
    server.errorstats = errorstats_create();
    read_offset = 0;
    assert_int_equal(aof_open_at_startup(), 0);
    user = client_create();
    user->flags |= CLIENT_AUTHENTICATED;
    user->db = keyspace_database(server.keyspace, 0);
    user->reply.protocol = 2;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    aof_shutdown();
    client_destroy(user);
    script_release();
    blocking_release();
    watch_release();
    slowlog_destroy(server.slowlog);
    errorstats_destroy(server.errorstats);
    command_table_release();
    keyspace_destroy(server.keyspace);
    config_release(&server.config);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

/* Runs one command (NULL-terminated words) as a client would. */
static void run(const char *first, ...)
{
    const char *argv[32];
    size_t lens[32];
    int argc = 0;
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a; a = va_arg(ap, const char *)) {
        argv[argc] = a;
        lens[argc++] = strlen(a);
    }
    va_end(ap);
    user->argc = argc;
    user->argv = argv;
    user->argv_len = lens;
    buffer_clear(&user->reply.out);
    server_execute(user);
    user->argv = NULL;
    user->argv_len = NULL;
}

/* The commands appended since the last call, one line each, arguments
 * joined by spaces; binary bytes as \xNN (DUMP payloads). */
static char *new_commands(void)
{
    aof_flush(1);
    char path[256];
    snprintf(path, sizeof(path), "appendonlydir/appendonly.aof.1.incr.aof");
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    buffer data, out;
    buffer_init(&data);
    buffer_init(&out);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buffer_append(&data, chunk, n);
    fclose(f);
    int cap = 0, argc;
    const char **argv = NULL;
    size_t *lens = NULL;
    size_t pos = read_offset;
    while (aof_parse_command(data.data, data.len, &pos, &argc, &argv, &lens, &cap) ==
           AOF_PARSE_OK) {
        for (int i = 0; i < argc; i++) {
            if (i)
                buffer_append_char(&out, ' ');
            /* RESTORE payloads are binary: show their size only. */
            if (i == 3 && lens[0] == 7 && memcmp(argv[0], "RESTORE", 7) == 0) {
                buffer_appendf(&out, "<%zu bytes>", lens[i]);
                continue;
            }
            buffer_append(&out, argv[i], lens[i]);
        }
        buffer_append_char(&out, '\n');
    }
    read_offset = pos;
    mem_free(argv);
    mem_free(lens);
    buffer_release(&data);
    buffer_append_char(&out, '\0');
    return out.data;
}

static void expect_commands(const char *expected)
{
    char *got = new_commands();
    if (strcmp(got, expected) != 0)
        fail_msg("AOF holds:\n%s\nexpected:\n%s", got, expected);
    mem_free(got);
}

static void test_plain_writes_verbatim(void **state)
{
    (void)state;
    run("SET", "a", "1", NULL);
    run("RPUSH", "l", "x", "y", NULL);
    run("GET", "a", NULL);      /* reads are not written */
    run("DEL", "nosuch", NULL); /* nor writes that changed nothing */
    run("SELECT", "3", NULL);
    run("SET", "b", "2", NULL);
    run("SELECT", "0", NULL);
    expect_commands("SELECT 0\nSET a 1\nRPUSH l x y\nSELECT 3\nSET b 2\n");
}

static void test_relative_times_become_absolute(void **state)
{
    (void)state;
    run("SET", "k", "v", "EX", "100", NULL);
    run("SET", "k2", "v", "px", "1500", "NX", NULL);
    run("SETEX", "k3", "10", "v3", NULL);
    run("PSETEX", "k4", "250", "v4", NULL);
    run("EXPIRE", "k3", "20", NULL);
    run("PEXPIRE", "k3", "20", "GT", NULL); /* refused by GT: nothing */
    run("GETEX", "k4", "PERSIST", NULL);
    run("GETEX", "k4", "EX", "5", NULL);
    run("EXPIRE", "k", "-1", NULL); /* deletes */
    expect_commands("SELECT 0\n"
                    "SET k v PXAT 1700000100000\n"
                    "SET k2 v PXAT 1700000001500 NX\n"
                    "SET k3 v3 PXAT 1700000010000\n"
                    "SET k4 v4 PXAT 1700000000250\n"
                    "PEXPIREAT k3 1700000020000\n"
                    "PERSIST k4\n"
                    "PEXPIREAT k4 1700000005000\n"
                    "DEL k\n");
}

static void test_results_from_the_reply(void **state)
{
    (void)state;
    run("SET", "f", "10.5", "EX", "100", NULL);
    run("INCRBYFLOAT", "f", "0.1", NULL);
    run("HINCRBYFLOAT", "h", "x", "2.5", NULL);
    run("SADD", "s", "only", NULL);
    run("SPOP", "s", NULL);
    run("SADD", "s", "m1", NULL);
    run("SPOP", "s", "5", NULL);
    run("XADD", "st", "1-1", "a", "b", NULL);
    run("XADD", "st", "*", "c", "d", NULL);
    expect_commands("SELECT 0\n"
                    "SET f 10.5 PXAT 1700000100000\n"
                    "SET f 10.6 KEEPTTL\n"
                    "HSET h x 2.5\n"
                    "SADD s only\n"
                    "SREM s only\n"
                    "SADD s m1\n"
                    "SREM s m1\n"
                    "XADD st 1-1 a b\n"
                    "XADD st 1700000000000-0 c d\n");
}

static void test_approximate_trim_made_exact(void **state)
{
    (void)state;
    run("XADD", "st", "MAXLEN", "~", "1", "LIMIT", "10", "5-1", "a", "b", NULL);
    run("XADD", "st", "MAXLEN", "=", "5", "5-2", "a", "b", NULL);
    run("XTRIM", "st", "MINID", "~", "5-2", NULL);
    expect_commands("SELECT 0\n"
                    "XADD st MAXLEN = 1 5-1 a b\n"
                    "XADD st MAXLEN = 5 5-2 a b\n");
}

static void test_transactions_and_scripts(void **state)
{
    (void)state;
    run("MULTI", NULL);
    run("SET", "t1", "1", NULL);
    run("INCR", "t2", NULL);
    run("GET", "t1", NULL);
    run("EXEC", NULL);
    run("MULTI", NULL);
    run("SET", "t3", "1", NULL);
    run("EXEC", NULL); /* one command: no wrapping needed */
    run("EVAL",
        "redis.call('set', KEYS[1], 'x', 'ex', 10) redis.call('del', 'nosuch') "
        "redis.call('incr', 'c') return 1",
        "1", "sk", NULL);
    run("EVAL", "return redis.call('get', 'sk')", "0", NULL);
    expect_commands("SELECT 0\n"
                    "MULTI\nSET t1 1\nINCR t2\nEXEC\n"
                    "SET t3 1\n"
                    "MULTI\nset sk x PXAT 1700000010000\nincr c\nEXEC\n");
}

static void test_natives_as_state(void **state)
{
    (void)state;
    run("LOCK.ACQUIRE", "lk", "owner", "5000", NULL);
    run("LOCK.RELEASE", "lk", "owner", NULL);
    run("RL.HIT", "r", "LIMIT", "5", "WINDOW", "60000", NULL);
    char *got = new_commands();
    /* RESTORE with the lock's absolute deadline, DEL once released, then
     * the limiter's state. */
    if (strncmp(got, "SELECT 0\nRESTORE lk 1700000005000 <", 35) != 0 ||
        strstr(got, "> REPLACE ABSTTL\nDEL lk\nRESTORE r ") == NULL)
        fail_msg("AOF holds:\n%s", got);
    mem_free(got);
}

static void test_expiry_written_as_del(void **state)
{
    (void)state;
    run("SET", "gone", "1", "PX", "10", NULL);
    server.now_ms = NOW_MS + 50;
    keyspace_set_time(server.keyspace, NOW_MS + 50);
    run("GET", "gone", NULL); /* lazy expiry */
    server.now_ms = NOW_MS;
    keyspace_set_time(server.keyspace, NOW_MS);
    expect_commands("SELECT 0\nSET gone 1 PXAT 1700000000010\nDEL gone\n");
}

static void test_restore_relative_ttl(void **state)
{
    (void)state;
    run("SET", "src", "value", NULL);
    run("DUMP", "src", NULL);
    /* The payload of "value": reuse the reply bytes. */
    const char *reply = user->reply.out.data;
    size_t len = (size_t)strtol(reply + 1, NULL, 10);
    const char *payload = strchr(reply, '\n') + 1;
    char copy[128];
    memcpy(copy, payload, len);
    const char *argv[] = {"RESTORE", "dst", "3000", copy};
    size_t lens[] = {7, 3, 4, len};
    user->argc = 4;
    user->argv = argv;
    user->argv_len = lens;
    server_execute(user);
    user->argv = NULL;
    user->argv_len = NULL;
    expect_commands("SELECT 0\nSET src value\nRESTORE dst 1700000003000 <17 bytes> ABSTTL\n");
}

/* Runs one command as another client. */
static void run_as(client *who, int argc, const char **argv)
{
    size_t lens[16];
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    who->argc = argc;
    who->argv = argv;
    who->argv_len = lens;
    buffer_clear(&who->reply.out);
    server_execute(who);
    who->argv = NULL;
    who->argv_len = NULL;
}

static void test_blocked_pops_served_later(void **state)
{
    (void)state;
    client *waiter = client_create();
    waiter->flags |= CLIENT_AUTHENTICATED;
    waiter->db = keyspace_database(server.keyspace, 0);
    waiter->reply.protocol = 2;
    const char *blpop[] = {"BLPOP", "nothing", "q", "0"};
    run_as(waiter, 4, blpop);
    assert_non_null(waiter->blocked);
    run("RPUSH", "q", "a", "b", NULL);
    assert_null(waiter->blocked);
    const char *blmove[] = {"BLMOVE", "src", "dst", "LEFT", "RIGHT", "0"};
    run_as(waiter, 6, blmove);
    run("RPUSH", "src", "x", NULL);
    const char *bzmpop[] = {"BZMPOP", "0", "2", "z1", "z2", "MAX", "COUNT", "5"};
    run_as(waiter, 8, bzmpop);
    run("ZADD", "z2", "1", "m", NULL);
    expect_commands("SELECT 0\n"
                    "RPUSH q a b\n"
                    "LPOP q\n"
                    "RPUSH src x\n"
                    "LMOVE src dst LEFT RIGHT\n"
                    "ZADD z2 1 m\n"
                    "ZPOPMAX z2 5\n");
    blocking_release_client(waiter, BLOCKING_RELEASE_SILENT);
    client_destroy(waiter);
}

static void test_stream_groups_and_field_ttls(void **state)
{
    (void)state;
    run("XADD", "s", "1-1", "f", "v", NULL);
    run("XGROUP", "CREATE", "s", "g", "0", NULL);
    run("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">", NULL);
    run("XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", ">", NULL); /* nothing new */
    run("XADD", "s", "2-1", "f", "w", NULL);
    run("XREADGROUP", "GROUP", "g", "carol", "NOACK", "STREAMS", "s", ">", NULL);
    run("XCLAIM", "s", "g", "dave", "0", "1-1", "9-9", NULL); /* 9-9: never pending */
    run("XADD", "s", "3-1", "f", "x", NULL);
    run("XREADGROUP", "GROUP", "g", "erin", "STREAMS", "s", ">", NULL);
    run("XDEL", "s", "3-1", NULL);
    run("XAUTOCLAIM", "s", "g", "frank", "0", "0", NULL);
    run("HSET", "h", "a", "1", NULL);
    run("HEXPIRE", "h", "100", "FIELDS", "1", "a", NULL);
    run("HPEXPIREAT", "h", "1800000000000", "FIELDS", "1", "a", NULL);
    run("HPEXPIRE", "h", "2500", "GT", "FIELDS", "1", "a", NULL); /* refused by GT */
    run("HSETEX", "h2", "PX", "500", "FIELDS", "1", "x", "1", NULL);
    run("HGETEX", "h2", "EX", "7", "FIELDS", "1", "x", NULL);
    expect_commands("SELECT 0\n"
                    "XADD s 1-1 f v\n"
                    "XGROUP CREATE s g 0\n"
                    "XCLAIM s g alice 0 1-1 TIME 1700000000000 RETRYCOUNT 1 FORCE JUSTID "
                    "LASTID 1-1\n"
                    "XGROUP SETID s g 1-1 ENTRIESREAD 1\n"
                    "XGROUP CREATECONSUMER s g bob\n"
                    "XGROUP SETID s g 1-1 ENTRIESREAD 1\n"
                    "XADD s 2-1 f w\n"
                    "XGROUP CREATECONSUMER s g carol\n"
                    "XGROUP SETID s g 2-1 ENTRIESREAD 2\n"
                    "XCLAIM s g dave 0 1-1 TIME 1700000000000 RETRYCOUNT 2 FORCE JUSTID "
                    "LASTID 2-1\n"
                    "XACK s g 9-9\n"
                    "XADD s 3-1 f x\n"
                    "XCLAIM s g erin 0 3-1 TIME 1700000000000 RETRYCOUNT 1 FORCE JUSTID "
                    "LASTID 3-1\n"
                    "XGROUP SETID s g 3-1 ENTRIESREAD 3\n"
                    "XDEL s 3-1\n"
                    "XCLAIM s g frank 0 1-1 TIME 1700000000000 RETRYCOUNT 3 FORCE JUSTID "
                    "LASTID 3-1\n"
                    "XACK s g 3-1\n"
                    "HSET h a 1\n"
                    "HPEXPIREAT h 1700000100000 FIELDS 1 a\n"
                    "HPEXPIREAT h 1800000000000 FIELDS 1 a\n"
                    "HSETEX h2 PXAT 1700000000500 FIELDS 1 x 1\n"
                    "HGETEX h2 PXAT 1700000007000 FIELDS 1 x\n");
}

static void test_expired_hash_fields(void **state)
{
    (void)state;
    run("HSET", "hx", "a", "1", "b", "2", NULL);
    run("HPEXPIRE", "hx", "10", "FIELDS", "1", "a", NULL);
    run("HPEXPIRE", "hx", "20", "FIELDS", "1", "b", NULL);
    server.now_ms = NOW_MS + 15;
    keyspace_set_time(server.keyspace, NOW_MS + 15);
    run("HGET", "hx", "a", NULL); /* a goes: nothing written */
    server.now_ms = NOW_MS + 50;
    keyspace_set_time(server.keyspace, NOW_MS + 50);
    run("HGET", "hx", "b", NULL); /* b goes and the hash with it */
    server.now_ms = NOW_MS;
    keyspace_set_time(server.keyspace, NOW_MS);
    expect_commands("SELECT 0\n"
                    "HSET hx a 1 b 2\n"
                    "HPEXPIREAT hx 1700000000010 FIELDS 1 a\n"
                    "HPEXPIREAT hx 1700000000020 FIELDS 1 b\n"
                    "DEL hx\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_plain_writes_verbatim, setup, teardown),
        cmocka_unit_test_setup_teardown(test_relative_times_become_absolute, setup, teardown),
        cmocka_unit_test_setup_teardown(test_results_from_the_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_approximate_trim_made_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transactions_and_scripts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_natives_as_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expiry_written_as_del, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_relative_ttl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blocked_pops_served_later, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expired_hash_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_groups_and_field_ttls, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
