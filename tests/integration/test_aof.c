/* The append-only file end to end: every type, TTLs, scripts, transactions,
 * blocking pops and native primitives survive a restart and DEBUG LOADAOF
 * key for key (DUMP payload and absolute expiry time); a SIGKILL during a
 * write load with appendfsync always loses no acknowledged write; truncated
 * and corrupt files follow aof-load-truncated; BGREWRITEAOF under writes and
 * CONFIG SET appendonly yes at runtime keep everything; and AOF directories
 * cross-load between Rivet and the real redis-server 7.0 in both
 * directions (skipped with a message when redis-server is not on PATH). */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#ifndef RIVET_SERVER_BINARY
#define RIVET_SERVER_BINARY "rivet-server"
#endif

/* ---------- helpers ---------- */

static harness_server *start_aof(const char *dir, const char *fsync)
{
    const char *args[] = {
        "--dir", dir, "--appendonly", "yes", "--appendfsync", fsync ? fsync : "always", NULL};
    return harness_start(args);
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* XINFO STREAM ... FULL as text, leaving out each consumer's seen-time and
 * active-time: a replayed XCLAIM stamps the consumer with the replay's time
 * (as in Redis); everything else — entries, ids, PEL delivery times and
 * counts — must be identical. */
static void render_stream_info(FILE *g, const redisReply *r)
{
    if (r->type == REDIS_REPLY_ARRAY) {
        fputc('[', g);
        for (size_t i = 0; i < r->elements; i++) {
            const redisReply *el = r->element[i];
            if (el->type == REDIS_REPLY_STRING &&
                (!strcmp(el->str, "seen-time") || !strcmp(el->str, "active-time"))) {
                i++; /* and its value */
                continue;
            }
            render_stream_info(g, el);
            fputc(',', g);
        }
        fputc(']', g);
    } else if (r->type == REDIS_REPLY_INTEGER) {
        fprintf(g, "%lld", r->integer);
    } else if (r->type == REDIS_REPLY_NIL) {
        fputs("nil", g);
    } else {
        fprintf(g, "'%.*s'", (int)r->len, r->str);
    }
}

/* Every key of every non-empty database: name, DUMP payload (hex) and
 * absolute expiry time, sorted — equal only for identical data sets. */
static char *snapshot_exact(redisContext *c)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    for (int db = 0; db < 16; db++) {
        harness_command_ok(c, "SELECT %d", db);
        redisReply *keys = harness_command(c, "KEYS *");
        char **lines = calloc(keys->elements + 1, sizeof(char *));
        for (size_t i = 0; i < keys->elements; i++) {
            redisReply *k = keys->element[i];
            redisReply *dump = harness_command(c, "DUMP %b", k->str, k->len);
            redisReply *at = harness_command(c, "PEXPIRETIME %b", k->str, k->len);
            char *line = NULL;
            size_t line_len = 0;
            FILE *g = open_memstream(&line, &line_len);
            fprintf(g, "%d %.*s at=%lld ", db, (int)k->len, k->str, at->integer);
            redisReply *type = harness_command(c, "TYPE %b", k->str, k->len);
            if (!strcmp(type->str, "hash")) {
                /* Field order inside a hash's payload is not canonical (a
                 * hash with field TTLs is rebuilt in another order): compare
                 * sorted field=value@deadline instead. */
                redisReply *all = harness_command(c, "HGETALL %b", k->str, k->len);
                char **pairs = calloc(all->elements / 2 + 1, sizeof(char *));
                for (size_t p = 0; p + 1 < all->elements; p += 2) {
                    redisReply *t =
                        harness_command(c, "HPEXPIRETIME %b FIELDS 1 %b", k->str, k->len,
                                        all->element[p]->str, all->element[p]->len);
                    long long deadline = t->type == REDIS_REPLY_ARRAY && t->elements == 1
                                             ? t->element[0]->integer
                                             : -99;
                    freeReplyObject(t);
                    if (asprintf(&pairs[p / 2], "%s=%s@%lld", all->element[p]->str,
                                 all->element[p + 1]->str, deadline) < 0)
                        pairs[p / 2] = strdup("");
                }
                qsort(pairs, all->elements / 2, sizeof(char *), compare_strings);
                for (size_t p = 0; p < all->elements / 2; p++) {
                    fprintf(g, "%s,", pairs[p]);
                    free(pairs[p]);
                }
                free(pairs);
                freeReplyObject(all);
            } else if (!strcmp(type->str, "stream")) {
                redisReply *info = harness_command(c, "XINFO STREAM %b FULL", k->str, k->len);
                render_stream_info(g, info);
                freeReplyObject(info);
            } else if (dump->type == REDIS_REPLY_STRING)
                for (size_t b = 0; b < dump->len; b++)
                    fprintf(g, "%02x", (unsigned char)dump->str[b]);
            else
                fprintf(g, "<%s>", dump->type == REDIS_REPLY_ERROR ? dump->str : "nil");
            fclose(g);
            lines[i] = line;
            freeReplyObject(type);
            freeReplyObject(dump);
            freeReplyObject(at);
        }
        qsort(lines, keys->elements, sizeof(char *), compare_strings);
        for (size_t i = 0; i < keys->elements; i++) {
            fprintf(f, "%s\n", lines[i]);
            free(lines[i]);
        }
        free(lines);
        freeReplyObject(keys);
    }
    harness_command_ok(c, "SELECT 0");
    fclose(f);
    return buf;
}

/* Prints the lines of a missing from b (one direction). */
static void print_missing(const char *label, const char *a, const char *b)
{
    const char *line = a;
    while (*line) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char *copy = strndup(line, len);
        if (strstr(b, copy) == NULL)
            fprintf(stderr, "%s %.300s\n", label, copy);
        free(copy);
        line += len + (end ? 1 : 0);
    }
}

static void assert_same(const char *what, const char *a, const char *b)
{
    if (strcmp(a, b) != 0) {
        fprintf(stderr, "%s differ:\n", what);
        print_missing("- (first only)", a, b);
        print_missing("+ (second only)", b, a);
        fail_msg("%s differ", what);
    }
}

/* Standard types only (what Redis can load too). */
static void populate_standard(redisContext *c)
{
    harness_command_ok(c, "SET str hello");
    harness_command_ok(c, "SET int 12345");
    harness_command_ok(c, "SET bin %b", "a\0b\r\n", (size_t)5);
    harness_command_ok(c, "SET ttl v EX 5000");
    harness_command_ok(c, "SETEX ttl2 6000 v");
    harness_command_ok(c, "SET ttl3 v");
    harness_command_ok(c, "EXPIRE ttl3 7000");
    harness_command_ok(c, "INCRBYFLOAT float 3.25");
    harness_command_ok(c, "INCRBYFLOAT float 0.5");
    harness_command_ok(c, "APPEND str -more");
    harness_command_ok(c, "RPUSH list a b c d e");
    harness_command_ok(c, "LPOP list");
    harness_command_ok(c, "SADD set a b c d e f g");
    harness_command_ok(c, "SPOP set 2");
    harness_command_ok(c, "SPOP set");
    harness_command_ok(c, "ZADD zset 1 a 2 b 3 c");
    harness_command_ok(c, "ZINCRBY zset 2.5 a");
    harness_command_ok(c, "HSET hash f1 v1 f2 v2");
    harness_command_ok(c, "HINCRBYFLOAT hash f3 1.5");
    for (int i = 0; i < 300; i++) {
        harness_command_ok(c, "RPUSH biglist item-%d", i);
        harness_command_ok(c, "HSET bighash field-%d %d", i, i);
        harness_command_ok(c, "ZADD bigzset %d m%d", i, i);
    }
    harness_command_ok(c, "XADD stream * f 1");
    harness_command_ok(c, "XADD stream MAXLEN ~ 100 * f 2");
    harness_command_ok(c, "XADD stream 99999999999999-1 f 3");
    harness_command_ok(c, "XGROUP CREATE stream g 0");
    harness_command_ok(c, "XREADGROUP GROUP g alice COUNT 2 STREAMS stream >");
    harness_command_ok(c, "XAUTOCLAIM stream g bob 0 0 COUNT 1");
    harness_command_ok(c, "XCLAIM stream g carol 0 99999999999999-1 FORCE");
    harness_command_ok(c, "MULTI");
    harness_command_ok(c, "INCR counter");
    harness_command_ok(c, "INCR counter");
    harness_command_ok(c, "SELECT 2");
    harness_command_ok(c, "SET indb2 yes");
    harness_command_ok(c, "EXEC");
    harness_command_ok(c, "SELECT 0");
    harness_command_ok(
        c, "EVAL %s 1 scripted",
        "redis.call('set', KEYS[1], 'x', 'px', 900000) redis.call('incr', 'n') return 1");
    harness_command_ok(c, "SET gone 1 PX 1");
    harness_command_ok(c, "DEL str2");
    harness_command_ok(c, "RENAME int int2");
}

/* What only Rivet has: native primitives, hash field TTLs. */
static void populate_native(redisContext *c)
{
    harness_command_ok(c, "LOCK.ACQUIRE lock1 owner-a 600000");
    harness_command_ok(c, "LOCK.ACQUIRE lock2 owner-b 600000");
    harness_command_ok(c, "LOCK.RELEASE lock2 owner-b");
    harness_command_ok(c, "RL.HIT limiter LIMIT 5 WINDOW 60000");
    harness_command_ok(c, "RL.HIT limiter LIMIT 5 WINDOW 60000");
    harness_command_ok(c, "IDEM.BEGIN idem1 600000");
    harness_command_ok(c, "HSET fhash a 1 b 2 c 3");
    harness_command_ok(c, "HEXPIRE fhash 5000 FIELDS 1 a");
}

/* A pop served later: the waiting client gets the element pushed meanwhile. */
static void blocked_pop(harness_server *s, redisContext *c)
{
    redisContext *waiter = harness_connect(s);
    assert_int_equal(redisAppendCommand(waiter, "BLPOP queue other 0"), REDIS_OK);
    assert_int_equal(redisBufferWrite(waiter, &(int){0}), REDIS_OK);
    assert_true(harness_wait_info_number(c, "clients", "blocked_clients", 1, 5000));
    harness_command_ok(c, "RPUSH queue first second");
    redisReply *r = NULL;
    assert_int_equal(redisGetReply(waiter, (void **)&r), REDIS_OK);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_string_equal(r->element[1]->str, "first");
    freeReplyObject(r);
    redisFree(waiter);
}

/* ---------- Rivet alone ---------- */

static void test_restart_keeps_everything(void **state)
{
    (void)state;
    char *dir = harness_make_dir("rivet-aof-");
    harness_server *s = start_aof(dir, "always");
    redisContext *c = harness_connect(s);
    populate_standard(c);
    populate_native(c);
    blocked_pop(s, c);
    harness_sleep_ms(5); /* "gone" expires; its DEL is in the file */
    expect_nil(c, "GET gone");
    char *before = snapshot_exact(c);
    assert_non_null(strstr(before, "0 lock1 at="));
    assert_non_null(strstr(before, "0 queue at=-1 "));

    /* The files Redis 7 would have: a base, an incr file, the manifest. */
    char path[4200];
    snprintf(path, sizeof(path), "%s/appendonlydir/appendonly.aof.manifest", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char manifest[512] = "";
    size_t n = fread(manifest, 1, sizeof(manifest) - 1, f);
    manifest[n] = '\0';
    fclose(f);
    assert_string_equal(manifest, "file appendonly.aof.1.base.rdb seq 1 type b\n"
                                  "file appendonly.aof.1.incr.aof seq 1 type i\n");

    /* DEBUG LOADAOF: empty, replay, same data. */
    expect_status(c, "OK", "DEBUG LOADAOF");
    char *reloaded = snapshot_exact(c);
    assert_same("after DEBUG LOADAOF", before, reloaded);
    redisFree(c);
    assert_int_equal(harness_stop(s), 0);

    s = start_aof(dir, "always");
    c = harness_connect(s);
    char *after = snapshot_exact(c);
    assert_same("after restart", before, after);
    assert_int_equal(harness_info_number(c, "persistence", "aof_enabled"), 1);
    redisFree(c);
    assert_int_equal(harness_stop(s), 0);
    free(before);
    free(reloaded);
    free(after);
    harness_remove_dir(dir);
    free(dir);
}

static void test_rewrite_while_writing(void **state)
{
    (void)state;
    char *dir = harness_make_dir("rivet-aof-");
    harness_server *s = start_aof(dir, "everysec");
    redisContext *c = harness_connect(s);
    populate_standard(c);
    populate_native(c);
    for (int i = 0; i < 20000; i++)
        redisAppendCommand(c, "SET key:%d %d", i, i);
    for (int i = 0; i < 20000; i++) {
        redisReply *r;
        assert_int_equal(redisGetReply(c, (void **)&r), REDIS_OK);
        freeReplyObject(r);
    }
    expect_status(c, "Background append only file rewriting started", "BGREWRITEAOF");
    /* Writes while the child works land in the new incremental file. */
    for (int i = 0; i < 2000; i++)
        harness_command_ok(c, "INCR during");
    assert_true(harness_wait_info_number(c, "persistence", "aof_rewrite_in_progress", 0, 10000));
    assert_int_equal(harness_info_number(c, "persistence", "aof_rewrites"), 1);
    for (int i = 0; i < 100; i++)
        harness_command_ok(c, "RPUSH after %d", i);
    char *before = snapshot_exact(c);
    redisFree(c);
    assert_int_equal(harness_stop(s), 0);

    char path[4200];
    snprintf(path, sizeof(path), "%s/appendonlydir/appendonly.aof.1.base.rdb", dir);
    assert_int_not_equal(access(path, F_OK), 0); /* the old base is gone */
    snprintf(path, sizeof(path), "%s/appendonlydir/appendonly.aof.2.base.rdb", dir);
    assert_int_equal(access(path, F_OK), 0);

    s = start_aof(dir, "everysec");
    c = harness_connect(s);
    char *after = snapshot_exact(c);
    assert_same("after rewrite and restart", before, after);
    expect_bulk(c, "2000", "GET during");
    redisFree(c);
    assert_int_equal(harness_stop(s), 0);
    free(before);
    free(after);
    harness_remove_dir(dir);
    free(dir);
}

static void test_rewrite_without_preamble(void **state)
{
    (void)state;
    char *dir = harness_make_dir("rivet-aof-");
    const char *args[] = {"--dir", dir, "--appendonly", "yes", "--aof-use-rdb-preamble",
                          "no",    NULL};
    harness_server *s = harness_start(args);
    redisContext *c = harness_connect(s);
    populate_standard(c);
    populate_native(c);
    expect_status(c, "Background append only file rewriting started", "BGREWRITEAOF");
    expect_error(c, "ERR Background append only file rewriting already in progress",
                 "BGREWRITEAOF");
    assert_true(harness_wait_info_number(c, "persistence", "aof_rewrite_in_progress", 0, 10000));
    char *before = snapshot_exact(c);
    redisFree(c);
    assert_int_equal(harness_stop(s), 0);
    char path[4200];
    snprintf(path, sizeof(path), "%s/appendonlydir/appendonly.aof.2.base.aof", dir);
    assert_int_equal(access(path, F_OK), 0);
    s = harness_start(args);
    c = harness_connect(s);
    char *after = snapshot_exact(c);
    assert_same("commands base", before, after);
    redisFree(c);
    assert_int_equal(harness_stop(s), 0);
    free(before);
    free(after);
    harness_remove_dir(dir);
    free(dir);
}

static void test_config_set_appendonly(void **state)
{
    (void)state;
    char *dir = harness_make_dir("rivet-aof-");
    const char *args[] = {"--dir", dir, NULL};
    harness_server *s = harness_start(args);
    redisContext *c = harness_connect(s);
    populate_standard(c);
    assert_int_equal(harness_info_number(c, "persistence", "aof_enabled"), 0);
    expect_status(c, "OK", "CONFIG SET appendonly yes");
    assert_int_equal(harness_info_number(c, "persistence", "aof_enabled"), 1);
    harness_command_ok(c, "SET while-enabling 1");
    assert_true(harness_wait_info_number(c, "persistence", "aof_rewrite_in_progress", 0, 10000));
    harness_command_ok(c, "SET after-enabling 1");
    char *before = snapshot_exact(c);
    redisFree(c);
    assert_int_equal(harness_stop(s), 0);
    s = start_aof(dir, "everysec");
    c = harness_connect(s);
    char *after = snapshot_exact(c);
    assert_same("after CONFIG SET appendonly yes", before, after);
    /* And off again: nothing more is appended. */
    expect_status(c, "OK", "CONFIG SET appendonly no");
    assert_int_equal(harness_info_number(c, "persistence", "aof_enabled"), 0);
    harness_command_ok(c, "SET not-logged 1");
    redisFree(c);
    assert_int_equal(harness_stop(s), 0);
    s = start_aof(dir, "everysec");
    c = harness_connect(s);
    expect_nil(c, "GET not-logged");
    expect_bulk(c, "1", "GET after-enabling");
    redisFree(c);
    assert_int_equal(harness_stop(s), 0);
    free(before);
    free(after);
    harness_remove_dir(dir);
    free(dir);
}

/* Turning the AOF on can fail (here the directory is a file): CONFIG SET
 * says so with Redis's text and the server stays without AOF. */
static void test_config_set_appendonly_failure(void **state)
{
    (void)state;
    char *dir = harness_make_dir("rivet-aof-");
    char path[4200];
    snprintf(path, sizeof(path), "%s/appendonlydir", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    const char *args[] = {"--dir", dir, NULL};
    harness_server *s = harness_start(args);
    redisContext *c = harness_connect(s);
    harness_command_ok(c, "SET k v");
    expect_error(c,
                 "ERR CONFIG SET failed (possibly related to argument 'appendonly') - Unable to "
                 "turn on AOF. Check server logs.",
                 "CONFIG SET appendonly yes");
    redisReply *r = harness_command(c, "CONFIG GET appendonly");
    assert_int_equal(r->elements, 2);
    assert_string_equal(r->element[1]->str, "no");
    freeReplyObject(r);
    assert_int_equal(harness_info_number(c, "persistence", "aof_enabled"), 0);
    expect_status(c, "OK", "SET still-writable 1");
    redisFree(c);
    assert_int_equal(harness_stop(s), 0);
    harness_remove_dir(dir);
    free(dir);
}

/* Keys evicted under maxmemory and keys that expire are written as DEL:
 * after a restart exactly the surviving keys are there. */
static void test_evicted_and_expired_keys(void **state)
{
    (void)state;
    char *dir = harness_make_dir("rivet-aof-");
    const char *args[] = {"--dir",       dir,   "--appendonly",       "yes",
                          "--maxmemory", "3mb", "--maxmemory-policy", "allkeys-random",
                          NULL};
    harness_server *s = harness_start(args);
    redisContext *c = harness_connect(s);
    char value[1024];
    memset(value, 'e', sizeof(value) - 1);
    value[sizeof(value) - 1] = '\0';
    for (int i = 0; i < 6000; i++) {
        redisReply *r = harness_command(c, "SET big:%d %s", i, value);
        freeReplyObject(r);
    }
    for (int i = 0; i < 50; i++)
        harness_command_ok(c, "SET short:%d x PX 20", i);
    harness_sleep_ms(300); /* active expiry reclaims them */
    assert_true(harness_info_number(c, "stats", "evicted_keys") > 0);
    /* No more evictions while the keys are listed and dumped. */
    expect_status(c, "OK", "CONFIG SET maxmemory 0");
    char *before = snapshot_exact(c);
    assert_null(strstr(before, "short:"));
    redisFree(c);
    assert_int_equal(harness_stop(s), 0);
    const char *bigger[] = {"--dir", dir, "--appendonly", "yes", NULL};
    s = harness_start(bigger);
    c = harness_connect(s);
    char *after = snapshot_exact(c);
    assert_same("after eviction and expiry", before, after);
    redisFree(c);
    assert_int_equal(harness_stop(s), 0);
    free(before);
    free(after);
    harness_remove_dir(dir);
    free(dir);
}

/* One fork at a time, with Redis's replies: a rewrite asked for during a
 * BGSAVE is scheduled and runs after it; BGSAVE during a rewrite fails
 * unless SCHEDULE. Pipelined, so no cron tick reaps a child in between. */
static void test_rewrite_and_bgsave_interplay(void **state)
{
    (void)state;
    char *dir = harness_make_dir("rivet-aof-");
    harness_server *s = start_aof(dir, "everysec");
    redisContext *c = harness_connect(s);
    harness_command_ok(c, "SET k v");
    redisAppendCommand(c, "BGREWRITEAOF");
    redisAppendCommand(c, "BGSAVE");
    redisAppendCommand(c, "BGSAVE SCHEDULE");
    redisAppendCommand(c, "BGREWRITEAOF");
    const char *expected[] = {
        "Background append only file rewriting started",
        "ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE "
        "SCHEDULE in order to schedule a BGSAVE whenever possible.",
        "Background saving scheduled",
        "ERR Background append only file rewriting already in progress",
    };
    for (int i = 0; i < 4; i++) {
        redisReply *r;
        assert_int_equal(redisGetReply(c, (void **)&r), REDIS_OK);
        assert_string_equal(r->str, expected[i]);
        freeReplyObject(r);
    }
    /* The scheduled BGSAVE runs once the rewrite is done. */
    assert_true(harness_wait_info_number(c, "persistence", "rdb_saves", 1, 10000));
    assert_true(harness_wait_info_number(c, "persistence", "rdb_bgsave_in_progress", 0, 10000));
    redisAppendCommand(c, "BGSAVE");
    redisAppendCommand(c, "BGREWRITEAOF");
    redisReply *r;
    assert_int_equal(redisGetReply(c, (void **)&r), REDIS_OK);
    assert_string_equal(r->str, "Background saving started");
    freeReplyObject(r);
    assert_int_equal(redisGetReply(c, (void **)&r), REDIS_OK);
    assert_string_equal(r->str, "Background append only file rewriting scheduled");
    freeReplyObject(r);
    assert_int_equal(harness_info_number(c, "persistence", "aof_rewrite_scheduled"), 1);
    assert_true(harness_wait_info_number(c, "persistence", "aof_rewrites", 2, 10000));
    assert_true(harness_wait_info_number(c, "persistence", "aof_rewrite_scheduled", 0, 10000));
    redisFree(c);
    assert_int_equal(harness_stop(s), 0);
    harness_remove_dir(dir);
    free(dir);
}

/* auto-aof-rewrite-*: past the minimum size and the growth percentage,
 * the cron rewrites on its own; INFO shows the sizes. */
static void test_automatic_rewrite(void **state)
{
    (void)state;
    char *dir = harness_make_dir("rivet-aof-");
    const char *args[] = {"--dir",
                          dir,
                          "--appendonly",
                          "yes",
                          "--auto-aof-rewrite-min-size",
                          "64kb",
                          "--auto-aof-rewrite-percentage",
                          "100",
                          NULL};
    harness_server *s = harness_start(args);
    redisContext *c = harness_connect(s);
    long long base = harness_info_number(c, "persistence", "aof_base_size");
    assert_true(base > 0);
    assert_int_equal(harness_info_number(c, "persistence", "aof_rewrites"), 0);
    /* The same key over and over: the log grows, the data does not. */
    for (int i = 0; i < 3000; i++)
        redisAppendCommand(c, "SET same %0100d", i);
    for (int i = 0; i < 3000; i++) {
        redisReply *r;
        assert_int_equal(redisGetReply(c, (void **)&r), REDIS_OK);
        freeReplyObject(r);
    }
    /* On a slow (sanitizer) build the writes that arrive while the first
     * rewrite runs can pass the minimum again, and the cron rewrites once
     * more; what must hold is that it keeps doing so until the log is back
     * to the size of the data. */
    long long deadline = harness_now_ms() + 20000, current;
    for (;;) {
        current = harness_info_number(c, "persistence", "aof_current_size");
        if (current < 64 * 1024 &&
            harness_info_number(c, "persistence", "aof_rewrite_in_progress") == 0 &&
            harness_info_number(c, "persistence", "aof_rewrites") >= 1)
            break;
        if (harness_now_ms() > deadline)
            fail_msg("the AOF did not shrink by automatic rewrites: %lld bytes", current);
        harness_sleep_ms(50);
    }
    assert_int_equal(harness_info_number(c, "persistence", "aof_buffer_length"), 0);
    redisFree(c);
    assert_int_equal(harness_stop(s), 0);
    s = harness_start(args);
    c = harness_connect(s);
    char expected[128];
    snprintf(expected, sizeof(expected), "%0100d", 2999);
    expect_bulk(c, expected, "GET same");
    redisFree(c);
    assert_int_equal(harness_stop(s), 0);
    harness_remove_dir(dir);
    free(dir);
}

/* ---------- processes started by hand ---------- */

static int free_port(void)
{
    FILE *p = popen("python3 -c 'import socket;s=socket.socket();s.bind((\"127.0.0.1\",0));"
                    "print(s.getsockname()[1])'",
                    "r");
    int port = 0;
    if (p) {
        if (fscanf(p, "%d", &port) != 1)
            port = 0;
        pclose(p);
    }
    return port ? port : 20000 + getpid() % 20000;
}

/* binary --port p --bind 127.0.0.1 --dir dir --save "" --appendonly yes
 * [extra...]; output appended to dir/<log>. */
static void spawn_exec(const char *binary, const char *dir, int port, const char *log,
                       const char *const *extra)
{
    char port_text[16], log_path[4200];
    snprintf(port_text, sizeof(port_text), "%d", port);
    snprintf(log_path, sizeof(log_path), "%s/%s", dir, log);
    {
        int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        const char *argv[32] = {binary,  "--port",      port_text, "--bind", "127.0.0.1",
                                "--dir", dir,           "--save",  "",       "--appendonly",
                                "yes",   "--daemonize", "no"};
        int argc = 13;
        for (int i = 0; extra && extra[i] && argc < 30; i++)
            argv[argc++] = extra[i];
        argv[argc] = NULL;
        execv(binary, (char *const *)argv);
        _exit(127);
    }
}

static pid_t spawn(const char *binary, const char *dir, int port, const char *log,
                   const char *const *extra)
{
    pid_t pid = fork();
    if (pid == 0)
        spawn_exec(binary, dir, port, log, extra);
    return pid;
}

static const char *rivet_binary(void)
{
    const char *binary = getenv("RIVET_SERVER");
    return binary && *binary ? binary : RIVET_SERVER_BINARY;
}

/* Connects once the server answers PING; NULL if it exited first. */
static redisContext *connect_when_up(pid_t pid, int port)
{
    for (int i = 0; i < 1000; i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return NULL;
        redisContext *c = redisConnect("127.0.0.1", port);
        if (c && !c->err) {
            redisReply *r = redisCommand(c, "PING");
            if (r && r->type == REDIS_REPLY_STATUS) {
                freeReplyObject(r);
                struct timeval timeout = {10, 0};
                redisSetTimeout(c, timeout);
                return c;
            }
            if (r)
                freeReplyObject(r);
        }
        if (c)
            redisFree(c);
        harness_sleep_ms(10);
    }
    return NULL;
}

/* SIGTERM and the exit status (or -1 when killed by a signal). */
static int stop(pid_t pid)
{
    kill(pid, SIGTERM);
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void print_file(const char *dir, const char *name)
{
    char cmd[4300];
    snprintf(cmd, sizeof(cmd), "tail -20 '%s/%s' >&2", dir, name);
    if (system(cmd) != 0)
        fprintf(stderr, "(no %s)\n", name);
}

/* Kill -9 in the middle of a write load: every acknowledged INCR and SET
 * of several clients writing at once (so their fsyncs are grouped) is
 * there after the restart (appendfsync always), round after round. */
#define KILL_WRITERS 4
static void test_kill9_loses_no_acknowledged_write(void **state)
{
    (void)state;
    char *dir = harness_make_dir("rivet-aof-");
    int port = free_port();
    const char *extra[] = {"--appendfsync", "always", NULL};
    long long acknowledged[KILL_WRITERS] = {0};
    long long total_acknowledged = 0;
    srand((unsigned)getpid());
    const int rounds = 20;
    for (int round = 0; round < rounds; round++) {
        pid_t pid = spawn(rivet_binary(), dir, port, "server.log", extra);
        redisContext *w[KILL_WRITERS];
        for (int i = 0; i < KILL_WRITERS; i++) {
            w[i] = connect_when_up(pid, port);
            if (w[i] == NULL) {
                print_file(dir, "server.log");
                fail_msg("round %d: the server did not come up", round);
            }
        }
        for (int i = 0; i < KILL_WRITERS; i++) {
            redisReply *r = redisCommand(w[0], "GET counter:%d", i);
            assert_non_null(r);
            long long on_disk = r->type == REDIS_REPLY_STRING ? atoll(r->str) : 0;
            freeReplyObject(r);
            if (on_disk < acknowledged[i])
                fail_msg("round %d: counter:%d is %lld < acknowledged %lld", round, i, on_disk,
                         acknowledged[i]);
            r = redisCommand(w[0], "GET last-set:%d", i);
            long long last_set = r && r->type == REDIS_REPLY_STRING ? atoll(r->str) : 0;
            if (r)
                freeReplyObject(r);
            if (last_set < acknowledged[i])
                fail_msg("round %d: last-set:%d is %lld < acknowledged %lld", round, i, last_set,
                         acknowledged[i]);
            acknowledged[i] = on_disk;
        }
        /* A killer process fires at a random moment of the load. */
        pid_t killer = fork();
        if (killer == 0) {
            usleep((useconds_t)(20000 + rand() % 80000));
            kill(pid, SIGKILL);
            _exit(0);
        }
        int alive = 1;
        while (alive) {
            /* Every writer sends before any reads: their writes share fsyncs. */
            for (int i = 0; i < KILL_WRITERS; i++) {
                redisAppendCommand(w[i], "INCR counter:%d", i);
                redisAppendCommand(w[i], "SET last-set:%d %lld", i, acknowledged[i] + 1);
                int done = 0;
                while (!done)
                    if (redisBufferWrite(w[i], &done) != REDIS_OK)
                        break;
            }
            for (int i = 0; i < KILL_WRITERS && alive; i++) {
                redisReply *a = NULL, *b = NULL;
                if (redisGetReply(w[i], (void **)&a) != REDIS_OK) {
                    alive = 0;
                    break;
                }
                if (a->type != REDIS_REPLY_INTEGER)
                    fail_msg("INCR: %s", a->str);
                long long value = a->integer;
                freeReplyObject(a);
                if (redisGetReply(w[i], (void **)&b) != REDIS_OK) {
                    alive = 0;
                    break;
                }
                freeReplyObject(b);
                acknowledged[i] = value; /* both acknowledged */
                total_acknowledged++;
            }
        }
        for (int i = 0; i < KILL_WRITERS; i++)
            redisFree(w[i]);
        waitpid(killer, NULL, 0);
        waitpid(pid, NULL, 0);
    }
    /* The final check, on a clean start. */
    pid_t pid = spawn(rivet_binary(), dir, port, "server.log", extra);
    redisContext *c = connect_when_up(pid, port);
    assert_non_null(c);
    for (int i = 0; i < KILL_WRITERS; i++) {
        redisReply *r = redisCommand(c, "GET counter:%d", i);
        assert_true(r->type == REDIS_REPLY_STRING && atoll(r->str) >= acknowledged[i]);
        freeReplyObject(r);
    }
    assert_true(total_acknowledged > 0);
    redisFree(c);
    assert_int_equal(stop(pid), 0);
    harness_remove_dir(dir);
    free(dir);
}

/* A failing AOF write (here: the file-size limit, EFBIG) refuses writes and
 * PING with Redis's MISCONF text, reads keep working, INFO says err; once
 * the disk takes writes again the cron's retry ends it, and nothing
 * acknowledged or half-written is in the file. (appendfsync everysec: with
 * always the server exits on a write error, as Redis does.) */
static void test_write_error_misconf(void **state)
{
    (void)state;
    char *dir = harness_make_dir("rivet-aof-");
    int port = free_port();
    pid_t pid = fork();
    if (pid == 0) {
        /* Inherited across exec: writes past the limit fail with EFBIG
         * instead of killing the process with SIGXFSZ. */
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit limit = {256 * 1024, RLIM_INFINITY};
        setrlimit(RLIMIT_FSIZE, &limit);
        const char *extra[] = {NULL};
        spawn_exec(rivet_binary(), dir, port, "server.log", extra);
    }
    redisContext *c = connect_when_up(pid, port);
    assert_non_null(c);
    char value[1024];
    memset(value, 'v', sizeof(value) - 1);
    value[sizeof(value) - 1] = '\0';
    int refused = 0, accepted = 0;
    for (int i = 0; i < 1000 && !refused; i++) {
        redisReply *r = harness_command(c, "SET key:%d %s", i, value);
        if (r->type == REDIS_REPLY_ERROR) {
            assert_string_equal(r->str, "MISCONF Errors writing to the AOF file: File too large");
            refused = 1;
        } else {
            accepted = i + 1;
        }
        freeReplyObject(r);
    }
    assert_true(refused);
    expect_error(c, "MISCONF Errors writing to the AOF file: File too large", "SET other 1");
    expect_error(c, "MISCONF Errors writing to the AOF file: File too large", "PING");
    expect_bulk(c, value, "GET key:0");
    redisReply *info = harness_command(c, "INFO persistence");
    assert_non_null(strstr(info->str, "aof_last_write_status:err"));
    freeReplyObject(info);
    /* Room again: the cron retries the buffered write. */
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "prlimit --pid %d --fsize=unlimited", (int)pid);
    assert_int_equal(system(cmd), 0);
    bool ok = false;
    for (int i = 0; i < 300 && !ok; i++) {
        redisReply *r = harness_command(c, "PING");
        ok = r->type == REDIS_REPLY_STATUS;
        freeReplyObject(r);
        if (!ok)
            harness_sleep_ms(10);
    }
    assert_true(ok);
    expect_status(c, "OK", "SET after-recovery 1");
    redisFree(c);
    assert_int_equal(stop(pid), 0);
    pid = spawn(rivet_binary(), dir, port, "server.log", NULL);
    c = connect_when_up(pid, port);
    assert_non_null(c);
    for (int i = 0; i < accepted; i++) {
        redisReply *r = harness_command(c, "STRLEN key:%d", i);
        if (r->integer != (long long)strlen(value))
            fail_msg("key:%d acknowledged but missing after restart", i);
        freeReplyObject(r);
    }
    expect_bulk(c, "1", "GET after-recovery");
    redisFree(c);
    assert_int_equal(stop(pid), 0);
    harness_remove_dir(dir);
    free(dir);
}

static void append_to(const char *path, const char *bytes)
{
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    fputs(bytes, f);
    fclose(f);
}

static int log_contains(const char *dir, const char *text)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/server.log", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[2048];
    int found = 0;
    while (!found && fgets(line, sizeof(line), f))
        found = strstr(line, text) != NULL;
    fclose(f);
    return found;
}

static void test_truncated_and_corrupt_files(void **state)
{
    (void)state;
    char *dir = harness_make_dir("rivet-aof-");
    int port = free_port();
    pid_t pid = spawn(rivet_binary(), dir, port, "server.log", NULL);
    redisContext *c = connect_when_up(pid, port);
    assert_non_null(c);
    harness_command_ok(c, "SET a 1");
    harness_command_ok(c, "SET b 2");
    redisFree(c);
    assert_int_equal(stop(pid), 0);
    char incr[4200];
    snprintf(incr, sizeof(incr), "%s/appendonlydir/appendonly.aof.1.incr.aof", dir);
    struct stat st;
    assert_int_equal(stat(incr, &st), 0);
    off_t good_size = st.st_size;

    /* A cut-off last command: with aof-load-truncated no the server exits. */
    append_to(incr, "*3\r\n$3\r\nSET\r\n$1\r\nc\r\n$5\r\nab");
    const char *strict[] = {"--aof-load-truncated", "no", NULL};
    pid = spawn(rivet_binary(), dir, port, "server.log", strict);
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 0);
    assert_true(log_contains(dir, "Unexpected end of file reading the append only file"));

    /* With yes (the default) it starts, drops the tail and truncates it. */
    pid = spawn(rivet_binary(), dir, port, "server.log", NULL);
    c = connect_when_up(pid, port);
    if (c == NULL) {
        print_file(dir, "server.log");
        fail_msg("did not start with a truncated AOF");
    }
    expect_bulk(c, "2", "GET b");
    expect_nil(c, "GET c");
    assert_true(log_contains(dir, "aof-load-truncated is enabled"));
    harness_command_ok(c, "SET d 4"); /* appended after the cut, loads next time */
    redisFree(c);
    assert_int_equal(stop(pid), 0);
    assert_int_equal(stat(incr, &st), 0);
    assert_true(st.st_size > good_size);
    pid = spawn(rivet_binary(), dir, port, "server.log", strict);
    c = connect_when_up(pid, port);
    assert_non_null(c);
    expect_bulk(c, "4", "GET d");
    redisFree(c);
    assert_int_equal(stop(pid), 0);

    /* A MULTI whose EXEC never made it: none of it counts. */
    append_to(incr, "*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\ne\r\n$1\r\n5\r\n");
    pid = spawn(rivet_binary(), dir, port, "server.log", NULL);
    c = connect_when_up(pid, port);
    assert_non_null(c);
    expect_nil(c, "GET e");
    expect_bulk(c, "4", "GET d");
    redisFree(c);
    assert_int_equal(stop(pid), 0);

    /* Garbage followed by more commands: refuses to start, names the file. */
    append_to(incr, "*2\r\n$3\r\nGET\r\nXX\r\n*2\r\n$3\r\nDEL\r\n$1\r\nd\r\n");
    pid = spawn(rivet_binary(), dir, port, "server.log", NULL);
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 0);
    assert_true(log_contains(dir, "Bad file format reading the append only file "
                                  "appendonly.aof.1.incr.aof"));
    harness_remove_dir(dir);
    free(dir);
}

/* ---------- cross-loading with redis-server ---------- */

static const char *find_redis_server(void)
{
    static char path[4096];
    const char *env = getenv("PATH");
    if (!env)
        return NULL;
    char *copy = strdup(env);
    const char *found = NULL;
    for (char *d = strtok(copy, ":"); d && !found; d = strtok(NULL, ":")) {
        snprintf(path, sizeof(path), "%s/redis-server", d);
        if (access(path, X_OK) == 0)
            found = path;
    }
    free(copy);
    return found;
}

/* Values as text (DUMP payloads of big values legitimately differ). */
static char *digest_all(redisContext *c)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    for (int db = 0; db < 16; db++) {
        harness_command_ok(c, "SELECT %d", db);
        redisReply *keys = harness_command(c, "KEYS *");
        char **lines = calloc(keys->elements + 1, sizeof(char *));
        for (size_t i = 0; i < keys->elements; i++) {
            const char *key = keys->element[i]->str;
            char *line = NULL;
            size_t line_len = 0;
            FILE *g = open_memstream(&line, &line_len);
            redisReply *type = harness_command(c, "TYPE %s", key);
            redisReply *at = harness_command(c, "PEXPIRETIME %s", key);
            fprintf(g, "%d %s %s at=%lld:", db, key, type->str, at->integer);
            const char *read = !strcmp(type->str, "string") ? "GET %s"
                               : !strcmp(type->str, "list") ? "LRANGE %s 0 -1"
                               : !strcmp(type->str, "set")  ? "SMEMBERS %s"
                               : !strcmp(type->str, "zset") ? "ZRANGE %s 0 -1 WITHSCORES"
                               : !strcmp(type->str, "hash") ? "HGETALL %s"
                                                            : "XRANGE %s - +";
            redisReply *v = harness_command(c, read, key);
            if (v->type == REDIS_REPLY_STRING) {
                fprintf(g, "%.*s", (int)v->len, v->str);
            } else if (v->type == REDIS_REPLY_ARRAY && !strcmp(type->str, "set")) {
                char **members = calloc(v->elements + 1, sizeof(char *));
                for (size_t m = 0; m < v->elements; m++)
                    members[m] = v->element[m]->str;
                qsort(members, v->elements, sizeof(char *), compare_strings);
                for (size_t m = 0; m < v->elements; m++)
                    fprintf(g, "%s,", members[m]);
                free(members);
            } else if (v->type == REDIS_REPLY_ARRAY && !strcmp(type->str, "hash")) {
                /* Field order may differ: sort field=value pairs. */
                char **pairs = calloc(v->elements / 2 + 1, sizeof(char *));
                for (size_t p = 0; p + 1 < v->elements; p += 2)
                    if (asprintf(&pairs[p / 2], "%s=%s", v->element[p]->str,
                                 v->element[p + 1]->str) < 0)
                        pairs[p / 2] = strdup("");
                qsort(pairs, v->elements / 2, sizeof(char *), compare_strings);
                for (size_t p = 0; p < v->elements / 2; p++) {
                    fprintf(g, "%s,", pairs[p]);
                    free(pairs[p]);
                }
                free(pairs);
            } else if (v->type == REDIS_REPLY_ARRAY) {
                for (size_t e = 0; e < v->elements; e++) {
                    redisReply *el = v->element[e];
                    if (el->type == REDIS_REPLY_ARRAY) /* stream entry */
                        fprintf(g, "%s/%zu,", el->element[0]->str, el->element[1]->elements);
                    else
                        fprintf(g, "%s,", el->str);
                }
            }
            fclose(g);
            lines[i] = line;
            freeReplyObject(v);
            freeReplyObject(type);
            freeReplyObject(at);
        }
        qsort(lines, keys->elements, sizeof(char *), compare_strings);
        for (size_t i = 0; i < keys->elements; i++) {
            fprintf(f, "%s\n", lines[i]);
            free(lines[i]);
        }
        free(lines);
        freeReplyObject(keys);
    }
    harness_command_ok(c, "SELECT 0");
    fclose(f);
    return buf;
}

/* One server writes an AOF directory with the standard data set; the
 * other loads it and must hold the same data. */
static void cross_load(const char *writer, const char *reader, const char *preamble)
{
    char *dir = harness_make_dir("rivet-aof-");
    int port = free_port();
    const char *extra[] = {"--aof-use-rdb-preamble", preamble, "--appendfsync", "always", NULL};
    pid_t pid = spawn(writer, dir, port, "writer.log", extra);
    redisContext *c = connect_when_up(pid, port);
    if (c == NULL) {
        print_file(dir, "writer.log");
        fail_msg("%s did not start", writer);
    }
    populate_standard(c);
    harness_sleep_ms(5);
    /* Also a rewrite halfway, so a base with data is part of the files. */
    harness_command_ok(c, "BGREWRITEAOF");
    for (int i = 0; i < 300; i++) {
        redisReply *r = redisCommand(c, "INFO persistence");
        int done = strstr(r->str, "aof_rewrite_in_progress:0") != NULL &&
                   strstr(r->str, "aof_rewrite_scheduled:0") != NULL;
        freeReplyObject(r);
        if (done)
            break;
        harness_sleep_ms(20);
    }
    harness_command_ok(c, "RPUSH list after-rewrite");
    harness_command_ok(c, "SET ttl-after v EX 8000");
    char *before = digest_all(c);
    redisFree(c);
    kill(pid, SIGKILL); /* no shutdown save: the AOF alone carries the data */
    waitpid(pid, NULL, 0);

    pid = spawn(reader, dir, port, "reader.log", NULL);
    c = connect_when_up(pid, port);
    if (c == NULL) {
        print_file(dir, "reader.log");
        fail_msg("%s did not load the AOF of %s", reader, writer);
    }
    char *after = digest_all(c);
    assert_same("cross-loaded data", before, after);
    redisFree(c);
    stop(pid);
    free(before);
    free(after);
    harness_remove_dir(dir);
    free(dir);
}

static void test_rivet_aof_loads_into_redis(void **state)
{
    (void)state;
    const char *redis = find_redis_server();
    if (redis == NULL) {
        fprintf(stderr, "redis-server not found: skipped\n");
        skip();
    }
    cross_load(rivet_binary(), redis, "yes");
    cross_load(rivet_binary(), redis, "no");
}

static void test_redis_aof_loads_into_rivet(void **state)
{
    (void)state;
    const char *redis = find_redis_server();
    if (redis == NULL) {
        fprintf(stderr, "redis-server not found: skipped\n");
        skip();
    }
    cross_load(redis, rivet_binary(), "yes");
    cross_load(redis, rivet_binary(), "no");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_restart_keeps_everything),
        cmocka_unit_test(test_rewrite_while_writing),
        cmocka_unit_test(test_rewrite_without_preamble),
        cmocka_unit_test(test_config_set_appendonly),
        cmocka_unit_test(test_config_set_appendonly_failure),
        cmocka_unit_test(test_rewrite_and_bgsave_interplay),
        cmocka_unit_test(test_automatic_rewrite),
        cmocka_unit_test(test_evicted_and_expired_keys),
        cmocka_unit_test(test_kill9_loses_no_acknowledged_write),
        cmocka_unit_test(test_truncated_and_corrupt_files),
        cmocka_unit_test(test_write_error_misconf),
        cmocka_unit_test(test_rivet_aof_loads_into_redis),
        cmocka_unit_test(test_redis_aof_loads_into_rivet),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
