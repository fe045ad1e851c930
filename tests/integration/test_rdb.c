/* RDB snapshots end to end: SAVE then a restart brings every type and TTL
 * back; DEBUG RELOAD round-trips; BGSAVE while clients write saves the data
 * as of the fork; a corrupt dump.rdb stops the server at start-up; a failed
 * BGSAVE turns on MISCONF until a save succeeds; DUMP/RESTORE errors; and
 * cross-loading with the real redis-server in both directions (files and
 * DUMP payloads), skipped with a message when redis-server is not on PATH. */
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#ifndef RIVET_SERVER_BINARY
#define RIVET_SERVER_BINARY "rivet-server"
#endif

/* ---------- helpers ---------- */

static harness_server *start_in(const char *dir, const char *extra)
{
    const char *args[] = {"--dir", dir, extra ? "--save" : NULL, extra, NULL};
    return harness_start(args);
}

/* Appends a reply's rendering; unordered collections are sorted first. */
static void render(char **out, size_t *len, FILE *f, redisReply *r, int sort_pairs, int sort);

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void render(char **out, size_t *len, FILE *f, redisReply *r, int sort_pairs, int sort)
{
    (void)out;
    (void)len;
    switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
        fprintf(f, "'%.*s'", (int)r->len, r->str);
        break;
    case REDIS_REPLY_ERROR:
        /* Error texts name the key; only their code is compared. */
        fprintf(f, "E'%.*s'", (int)strcspn(r->str, " "), r->str);
        break;
    case REDIS_REPLY_INTEGER:
        fprintf(f, "%lld", r->integer);
        break;
    case REDIS_REPLY_NIL:
        fprintf(f, "nil");
        break;
    case REDIS_REPLY_ARRAY: {
        size_t step = sort_pairs ? 2 : 1;
        char **parts = calloc(r->elements + 1, sizeof(char *));
        size_t n = 0;
        for (size_t i = 0; i < r->elements; i += step) {
            char *buf = NULL;
            size_t buf_len = 0;
            FILE *g = open_memstream(&buf, &buf_len);
            for (size_t k = 0; k < step && i + k < r->elements; k++)
                render(NULL, NULL, g, r->element[i + k], 0, 0);
            fclose(g);
            parts[n++] = buf;
        }
        if (sort || sort_pairs)
            qsort(parts, n, sizeof(char *), compare_strings);
        fputc('[', f);
        for (size_t i = 0; i < n; i++) {
            fprintf(f, "%s,", parts[i]);
            free(parts[i]);
        }
        fputc(']', f);
        free(parts);
        break;
    }
    default:
        fprintf(f, "?%d", r->type);
    }
}

/* One key's content as text, the same for equal values on any server. */
static char *digest_key(redisContext *c, const char *key)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    redisReply *type = harness_command(c, "TYPE %s", key);
    fprintf(f, "%s %s ", key, type->str);
    const char *cmds[3] = {NULL, NULL, NULL};
    int sort_pairs = 0, sort = 0;
    if (!strcmp(type->str, "string")) {
        cmds[0] = "GET %s";
    } else if (!strcmp(type->str, "list")) {
        cmds[0] = "LRANGE %s 0 -1";
    } else if (!strcmp(type->str, "set")) {
        cmds[0] = "SMEMBERS %s";
        sort = 1;
    } else if (!strcmp(type->str, "zset")) {
        cmds[0] = "ZRANGE %s 0 -1 WITHSCORES";
    } else if (!strcmp(type->str, "hash")) {
        cmds[0] = "HGETALL %s";
        sort_pairs = 1;
    } else if (!strcmp(type->str, "stream")) {
        cmds[0] = "XRANGE %s - +";
        cmds[1] = "XPENDING %s g1";
        cmds[2] = "XLEN %s";
    }
    for (int i = 0; i < 3 && cmds[i]; i++) {
        redisReply *r = harness_command(c, cmds[i], key);
        render(NULL, NULL, f, r, i == 0 ? sort_pairs : 0, i == 0 ? sort : 0);
        freeReplyObject(r);
    }
    redisReply *ttl = harness_command(c, "PTTL %s", key);
    /* TTLs tick between the two reads: only "has one" is compared. */
    fprintf(f, " ttl:%s", ttl->integer > 0 ? "yes" : ttl->integer == -1 ? "none" : "gone");
    freeReplyObject(ttl);
    freeReplyObject(type);
    fclose(f);
    return buf;
}

/* Two keys hold the same value (names and TTLs aside). */
static void assert_same_value(const char *key, const char *a_key, const char *b_key,
                              redisContext *c)
{
    char *a = digest_key(c, a_key);
    char *b = digest_key(c, b_key);
    *strstr(a, " ttl:") = '\0';
    *strstr(b, " ttl:") = '\0';
    if (strcmp(strchr(a, ' '), strchr(b, ' ')) != 0)
        fail_msg("%s: %s vs %s", key, a, b);
    free(a);
    free(b);
}

/* Every key of db 0, sorted, one digest a line. */
static char *digest_all(redisContext *c)
{
    redisReply *keys = harness_command(c, "KEYS *");
    char **lines = calloc(keys->elements + 1, sizeof(char *));
    for (size_t i = 0; i < keys->elements; i++)
        lines[i] = digest_key(c, keys->element[i]->str);
    qsort(lines, keys->elements, sizeof(char *), compare_strings);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    for (size_t i = 0; i < keys->elements; i++) {
        fprintf(f, "%s\n", lines[i]);
        free(lines[i]);
    }
    fclose(f);
    free(lines);
    freeReplyObject(keys);
    return buf;
}

/* Every type in its small and its big encoding, TTLs, odd strings. */
static void populate(redisContext *c)
{
    harness_command_ok(c, "SET str hello");
    harness_command_ok(c, "SET int 12345");
    harness_command_ok(c, "SET big 98765432109876");
    harness_command_ok(c, "SET neg -5");
    harness_command_ok(c, "SET bin %b", "a\0b\r\n", (size_t)5);
    harness_command_ok(c, "SET ttl v PX 500000");
    char big[3000];
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    harness_command_ok(c, "SET lzf %s", big);
    harness_command_ok(c, "RPUSH lsmall a b 1 2 -3");
    harness_command_ok(c, "SADD sint 1 2 3 -40000 5000000000");
    harness_command_ok(c, "SADD ssmall a b c 1");
    harness_command_ok(c, "ZADD zsmall 1 a 2.5 b -3 c");
    harness_command_ok(c, "HSET hsmall f1 v1 f2 22 f3 v3");
    harness_command_ok(c, "EXPIRE hsmall 100000");
    for (int i = 0; i < 1000; i++) {
        harness_command_ok(c, "RPUSH lbig element-%d", i);
        harness_command_ok(c, "SADD sbig member-%d", i);
        harness_command_ok(c, "SADD sbigint %d", i * 7);
        harness_command_ok(c, "ZADD zbig %d.5 member-%d", i, i);
        harness_command_ok(c, "HSET hbig field-%d value-%d", i, i);
    }
    harness_command_ok(c, "HSET hbig long %s", big);
    for (int i = 1; i <= 300; i++)
        harness_command_ok(c, "XADD stream %d-1 field %d other x%d", i, i, i);
    harness_command_ok(c, "XADD stream 400-1 different fields");
    harness_command_ok(c, "XDEL stream 5-1");
    harness_command_ok(c, "XGROUP CREATE stream g1 0");
    harness_command_ok(c, "XREADGROUP GROUP g1 alice COUNT 3 STREAMS stream >");
    harness_command_ok(c, "XREADGROUP GROUP g1 bob COUNT 2 STREAMS stream >");
    harness_command_ok(c, "XADD empty_stream MAXLEN 0 1-1 a b");
}

static void assert_same(const char *what, const char *a, const char *b)
{
    if (strcmp(a, b) != 0) {
        fprintf(stderr, "%s differ:\n--- first\n%s\n--- second\n%s\n", what, a, b);
        fail_msg("%s differ", what);
    }
}

/* ---------- Rivet alone ---------- */

static void test_save_and_restart(void **state)
{
    (void)state;
    char *dir = harness_make_dir("rivet-rdb-");
    harness_server *s = start_in(dir, NULL);
    redisContext *c = harness_connect(s);
    populate(c);
    harness_command_ok(c, "SELECT 5");
    harness_command_ok(c, "SET in5 five");
    harness_command_ok(c, "SELECT 0");
    char *before = digest_all(c);
    expect_status(c, "OK", "SAVE");
    long long saved_at = harness_info_number(c, "persistence", "rdb_last_save_time");
    expect_integer(c, saved_at, "LASTSAVE");
    assert_int_equal(harness_info_number(c, "persistence", "rdb_changes_since_last_save"), 0);
    redisFree(c);
    assert_int_equal(harness_stop(s), 0);

    s = start_in(dir, NULL);
    c = harness_connect(s);
    char *after = digest_all(c);
    assert_same("after restart", before, after);
    redisReply *pttl = harness_command(c, "PTTL ttl");
    assert_true(pttl->integer > 400000 && pttl->integer <= 500000);
    freeReplyObject(pttl);
    expect_status(c, "OK", "SELECT 5");
    expect_bulk(c, "five", "GET in5");
    redisFree(c);
    assert_int_equal(harness_stop(s), 0);
    free(before);
    free(after);
    harness_remove_dir(dir);
    free(dir);
}

static void test_debug_reload(void **state)
{
    (void)state;
    harness_server *s = harness_start(NULL);
    redisContext *c = harness_connect(s);
    populate(c);
    char *before = digest_all(c);
    expect_status(c, "OK", "DEBUG RELOAD");
    char *after = digest_all(c);
    assert_same("after DEBUG RELOAD", before, after);
    expect_integer(c, 1, "EXISTS empty_stream");
    free(before);
    free(after);
    redisFree(c);
    assert_int_equal(harness_stop(s), 0);
}

/* The child saves the data as of the fork while the parent keeps taking
 * writes; those writes stay counted as unsaved. */
static void test_bgsave_while_writing(void **state)
{
    (void)state;
    char *dir = harness_make_dir("rivet-rdb-");
    harness_server *s = start_in(dir, NULL);
    redisContext *c = harness_connect(s);
    for (int i = 0; i < 200000; i += 1000) {
        for (int k = i; k < i + 1000; k++)
            redisAppendCommand(c, "SET key:%d %d", k, k);
        for (int k = i; k < i + 1000; k++) {
            redisReply *r;
            assert_int_equal(redisGetReply(c, (void **)&r), REDIS_OK);
            freeReplyObject(r);
        }
    }
    expect_status(c, "Background saving started", "BGSAVE");
    expect_error(c, "ERR Background save already in progress", "BGSAVE");
    expect_error(c, "ERR Background save already in progress", "SAVE");
    /* Writes during the save: overwrite some saved keys, add new ones. */
    for (int k = 0; k < 500; k++)
        harness_command_ok(c, "SET key:%d changed", k);
    for (int k = 0; k < 500; k++)
        harness_command_ok(c, "SET late:%d x", k);
    assert_true(harness_wait_info_number(c, "persistence", "rdb_bgsave_in_progress", 0, 20000));
    redisReply *st = harness_command(c, "INFO persistence");
    assert_non_null(strstr(st->str, "rdb_last_bgsave_status:ok"));
    freeReplyObject(st);
    /* 1000 writes happened after the fork (if the save took longer than
     * they did; it may have finished first, then fewer remain counted). */
    long long dirty = harness_info_number(c, "persistence", "rdb_changes_since_last_save");
    assert_true(dirty <= 1000);
    expect_status(c, "OK", "DEBUG RELOAD NOSAVE");
    expect_integer(c, 200000, "DBSIZE");
    expect_bulk(c, "0", "GET key:0");
    expect_bulk(c, "199999", "GET key:199999");
    expect_nil(c, "GET late:0");
    redisFree(c);
    assert_int_equal(harness_stop(s), 0);
    harness_remove_dir(dir);
    free(dir);
}

/* A BGSAVE child killed midway: the status says err, its temp file is
 * removed, and the previous dump.rdb is untouched (temp file + rename). */
static void test_killed_bgsave_keeps_old_snapshot(void **state)
{
    (void)state;
    char *dir = harness_make_dir("rivet-rdb-");
    harness_server *s = start_in(dir, NULL);
    redisContext *c = harness_connect(s);
    harness_command_ok(c, "SET before yes");
    expect_status(c, "OK", "SAVE");
    char path[4200], cmd[8600];
    snprintf(path, sizeof(path), "%s/dump.rdb", dir);
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s.orig'", path, path);
    assert_int_equal(system(cmd), 0);
    for (int i = 0; i < 400000; i += 1000) {
        for (int k = i; k < i + 1000; k++)
            redisAppendCommand(c, "SET key:%d value-%d", k, k);
        for (int k = i; k < i + 1000; k++) {
            redisReply *r;
            assert_int_equal(redisGetReply(c, (void **)&r), REDIS_OK);
            freeReplyObject(r);
        }
    }
    expect_status(c, "Background saving started", "BGSAVE");
    /* The child's pid is in the log line the parent wrote. */
    snprintf(cmd, sizeof(cmd),
             "pid=$(sed -n 's/.*Background saving started by pid \\([0-9]*\\).*/\\1/p' '%s' "
             "| tail -1); kill -9 $pid && echo $pid",
             harness_log_path(s));
    FILE *p = popen(cmd, "r");
    int child = 0;
    assert_int_equal(fscanf(p, "%d", &child), 1);
    pclose(p);
    assert_true(harness_wait_info_number(c, "persistence", "rdb_bgsave_in_progress", 0, 10000));
    redisReply *st = harness_command(c, "INFO persistence");
    assert_non_null(strstr(st->str, "rdb_last_bgsave_status:err"));
    freeReplyObject(st);
    char temp[4200];
    snprintf(temp, sizeof(temp), "%s/temp-%d.rdb", dir, child);
    assert_int_not_equal(access(temp, F_OK), 0);
    snprintf(cmd, sizeof(cmd), "cmp -s '%s' '%s.orig'", path, path);
    assert_int_equal(system(cmd), 0);
    /* No save points: writes still go through. */
    expect_status(c, "OK", "SET after yes");
    expect_status(c, "OK", "DEBUG RELOAD NOSAVE");
    expect_integer(c, 1, "DBSIZE");
    expect_bulk(c, "yes", "GET before");
    redisFree(c);
    assert_int_equal(harness_stop(s), 0);
    harness_remove_dir(dir);
    free(dir);
}

/* Starts the server by hand (harness_start would wait for the load to end);
 * returns its pid. */
static pid_t spawn_server(const char *dir, int port, const char *save)
{
    const char *binary = getenv("RIVET_SERVER");
    if (!binary || !*binary)
        binary = RIVET_SERVER_BINARY;
    char port_text[16], log[4200];
    snprintf(port_text, sizeof(port_text), "%d", port);
    snprintf(log, sizeof(log), "%s/server.log", dir);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        execl(binary, binary, "--port", port_text, "--bind", "127.0.0.1", "--dir", dir, "--save",
              save, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* The first connection that succeeds, or NULL after ~5 s. */
static redisContext *connect_soon(int port)
{
    for (int i = 0; i < 2500; i++) {
        redisContext *c = redisConnect("127.0.0.1", port);
        if (c && !c->err)
            return c;
        if (c)
            redisFree(c);
        harness_sleep_ms(2);
    }
    return NULL;
}

/* While a big file loads, clients get LOADING and INFO says loading:1; a
 * SIGTERM then stops the server at once without saving over the file. */
static void test_loading_state(void **state)
{
    (void)state;
    char *dir = harness_make_dir("rivet-rdb-");
    harness_server *s = start_in(dir, NULL);
    redisContext *c = harness_connect(s);
    const int keys = 1500000;
    for (int i = 0; i < keys; i += 1000) {
        for (int k = i; k < i + 1000; k++)
            redisAppendCommand(c, "SET key:%d %d", k, k);
        for (int k = i; k < i + 1000; k++) {
            redisReply *r;
            assert_int_equal(redisGetReply(c, (void **)&r), REDIS_OK);
            freeReplyObject(r);
        }
    }
    expect_status(c, "OK", "SAVE");
    int port = harness_port(s);
    redisFree(c);
    assert_int_equal(harness_stop(s), 0);
    char path[4200], cmd[8600];
    snprintf(path, sizeof(path), "%s/dump.rdb", dir);
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s.orig'", path, path);
    assert_int_equal(system(cmd), 0);

    for (int round = 0; round < 2; round++) {
        pid_t pid = spawn_server(dir, port, round == 0 ? "" : "1 1");
        c = connect_soon(port);
        assert_non_null(c);
        redisReply *r = redisCommand(c, "PING");
        assert_non_null(r);
        if (r->type == REDIS_REPLY_STATUS) {
            /* The load beat the connection (a very fast machine): nothing
             * to observe; the rest still checks a clean stop. */
            fprintf(stderr, "load finished before the first PING\n");
        } else {
            assert_int_equal(r->type, REDIS_REPLY_ERROR);
            assert_string_equal(r->str, "LOADING Redis is loading the dataset in memory");
            redisReply *info = redisCommand(c, "INFO persistence");
            assert_non_null(strstr(info->str, "loading:1"));
            freeReplyObject(info);
            redisReply *get = redisCommand(c, "GET key:1");
            assert_string_equal(get->str, "LOADING Redis is loading the dataset in memory");
            freeReplyObject(get);
        }
        freeReplyObject(r);
        if (round == 0) {
            /* Wait for the end of the load, then everything is there. */
            for (int i = 0; i < 3000; i++) {
                r = redisCommand(c, "PING");
                int done = r && r->type == REDIS_REPLY_STATUS;
                freeReplyObject(r);
                if (done)
                    break;
                harness_sleep_ms(10);
            }
            expect_integer(c, keys, "DBSIZE");
            redisReply *info = redisCommand(c, "INFO persistence");
            assert_non_null(strstr(info->str, "loading:0"));
            freeReplyObject(info);
        }
        redisFree(c);
        /* SIGTERM: with save points (round 1) still no save of a partial set. */
        kill(pid, SIGTERM);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        snprintf(cmd, sizeof(cmd), "cmp -s '%s' '%s.orig'", path, path);
        assert_int_equal(system(cmd), 0);
    }
    harness_remove_dir(dir);
    free(dir);
}

/* Starts the server by hand on a corrupt file; it must exit non-zero. */
static int run_server_until_exit(const char *dir, int port)
{
    const char *binary = getenv("RIVET_SERVER");
    if (!binary || !*binary)
        binary = RIVET_SERVER_BINARY;
    char port_text[16], log[4200];
    snprintf(port_text, sizeof(port_text), "%d", port);
    snprintf(log, sizeof(log), "%s/server.log", dir);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        execl(binary, binary, "--port", port_text, "--bind", "127.0.0.1", "--dir", dir, "--save",
              "", (char *)NULL);
        _exit(127);
    }
    for (int waited = 0; waited < 5000; waited += 20) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        harness_sleep_ms(20);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return 0; /* still running: the corrupt file was accepted */
}

static void test_corrupt_file_refused(void **state)
{
    (void)state;
    char *dir = harness_make_dir("rivet-rdb-");
    harness_server *s = start_in(dir, NULL);
    redisContext *c = harness_connect(s);
    populate(c);
    expect_status(c, "OK", "SAVE");
    int port = harness_port(s);
    redisFree(c);
    assert_int_equal(harness_stop(s), 0);

    char path[4200];
    snprintf(path, sizeof(path), "%s/dump.rdb", dir);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    /* A flipped byte in the middle: the checksum no longer matches. */
    fseek(f, size / 2, SEEK_SET);
    int byte = fgetc(f);
    fseek(f, size / 2, SEEK_SET);
    fputc(byte ^ 0x40, f);
    fclose(f);
    assert_int_not_equal(run_server_until_exit(dir, port), 0);
    char log[4200];
    snprintf(log, sizeof(log), "grep -q 'Failed loading the DB' '%s/server.log'", dir);
    assert_int_equal(system(log), 0);

    /* Truncated. */
    assert_int_equal(truncate(path, size - 20), 0);
    assert_int_not_equal(run_server_until_exit(dir, port), 0);
    harness_remove_dir(dir);
    free(dir);
}

/* A BGSAVE that cannot write (its directory deleted under it, which stops
 * even root) turns on MISCONF while save points exist; a good save ends it. */
static void test_misconf_after_failed_bgsave(void **state)
{
    (void)state;
    char *dir = harness_make_dir("rivet-rdb-");
    char *good = harness_make_dir("rivet-rdb-");
    harness_server *s = start_in(dir, NULL);
    redisContext *c = harness_connect(s);
    harness_command_ok(c, "SET k v");
    harness_command_ok(c, "CONFIG SET save %s", "3600 1");
    harness_remove_dir(dir);
    expect_status(c, "Background saving started", "BGSAVE");
    assert_true(harness_wait_info_number(c, "persistence", "rdb_bgsave_in_progress", 0, 10000));
    redisReply *st = harness_command(c, "INFO persistence");
    assert_non_null(strstr(st->str, "rdb_last_bgsave_status:err"));
    freeReplyObject(st);
    const char *misconf =
        "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist "
        "to disk. Commands that may modify the data set are disabled, because this instance is "
        "configured to report errors during writes if RDB snapshotting fails "
        "(stop-writes-on-bgsave-error option). Please check the Redis logs for details about the "
        "RDB error.";
    expect_error(c, misconf, "SET k other");
    expect_error(c, misconf, "PING");
    expect_bulk(c, "v", "GET k");
    /* From a script the error carries the script's location, as in Redis. */
    expect_error_prefix(c, misconf, "EVAL %s 0", "return redis.call('set', 'k', 'lua')");
    expect_bulk(c, "v", "EVAL %s 0", "return redis.call('get', 'k')");
    /* Without save points writes go through even after the failure. */
    harness_command_ok(c, "CONFIG SET save %s", "");
    expect_status(c, "OK", "SET k w");
    harness_command_ok(c, "CONFIG SET save %s", "3600 1");
    expect_error(c, misconf, "SET k other");
    harness_command_ok(c, "CONFIG SET stop-writes-on-bgsave-error no");
    expect_status(c, "OK", "SET k x");
    harness_command_ok(c, "CONFIG SET stop-writes-on-bgsave-error yes");
    /* A successful BGSAVE into a working dir clears it. */
    harness_command_ok(c, "CONFIG SET dir %s", good);
    expect_status(c, "Background saving started", "BGSAVE");
    assert_true(harness_wait_info_number(c, "persistence", "rdb_bgsave_in_progress", 0, 10000));
    expect_status(c, "OK", "SET k y");
    expect_status(c, "PONG", "PING");
    /* So does a successful SAVE, after another failure. */
    char *gone = harness_make_dir("rivet-rdb-");
    harness_command_ok(c, "CONFIG SET dir %s", gone);
    harness_remove_dir(gone);
    free(gone);
    expect_status(c, "Background saving started", "BGSAVE");
    assert_true(harness_wait_info_number(c, "persistence", "rdb_bgsave_in_progress", 0, 10000));
    expect_error(c, misconf, "SET k z");
    expect_error(c, "ERR", "SAVE");
    harness_command_ok(c, "CONFIG SET dir %s", good);
    expect_status(c, "OK", "SAVE");
    expect_status(c, "OK", "SET k z");
    redisFree(c);
    /* SIGTERM with save points: the final save must succeed for a clean exit. */
    assert_int_equal(harness_stop(s), 0);
    char path[4200];
    snprintf(path, sizeof(path), "%s/dump.rdb", good);
    assert_int_equal(access(path, F_OK), 0);
    harness_remove_dir(good);
    free(dir);
    free(good);
}

static void test_shutdown_saves_with_save_points(void **state)
{
    (void)state;
    char *dir = harness_make_dir("rivet-rdb-");
    harness_server *s = start_in(dir, "3600 1");
    redisContext *c = harness_connect(s);
    harness_command_ok(c, "SET survived yes");
    expect_error(c, "ERR syntax error", "SHUTDOWN SAVE NOSAVE");
    expect_error(c, "ERR syntax error", "BGSAVE NOW");
    redisReply *r = redisCommand(c, "SHUTDOWN");
    assert_null(r); /* the connection closes without a reply */
    redisFree(c);
    for (int i = 0; i < 250 && harness_alive(s); i++)
        harness_sleep_ms(20);
    assert_int_equal(harness_stop(s), 0);
    s = start_in(dir, NULL);
    c = harness_connect(s);
    expect_bulk(c, "yes", "GET survived");
    /* NOSAVE leaves the file as it was. */
    harness_command_ok(c, "SET later x");
    r = redisCommand(c, "SHUTDOWN NOSAVE");
    assert_null(r);
    redisFree(c);
    for (int i = 0; i < 250 && harness_alive(s); i++)
        harness_sleep_ms(20);
    assert_int_equal(harness_stop(s), 0);
    s = start_in(dir, NULL);
    c = harness_connect(s);
    expect_nil(c, "GET later");
    expect_bulk(c, "yes", "GET survived");
    redisFree(c);
    assert_int_equal(harness_stop(s), 0);
    harness_remove_dir(dir);
    free(dir);
}

static void test_dump_restore(void **state)
{
    (void)state;
    harness_server *s = harness_start(NULL);
    redisContext *c = harness_connect(s);
    populate(c);
    const char *keys[] = {"str",  "int",    "lzf",  "lsmall", "lbig", "sint",
                          "sbig", "zsmall", "zbig", "hsmall", "hbig", "stream"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        redisReply *d = harness_command(c, "DUMP %s", keys[i]);
        assert_int_equal(d->type, REDIS_REPLY_STRING);
        expect_error(c, "BUSYKEY Target key name already exists.", "RESTORE %s 0 %b", keys[i],
                     d->str, d->len);
        expect_status(c, "OK", "RESTORE copy 0 %b", d->str, d->len);
        assert_same_value(keys[i], keys[i], "copy", c);
        expect_status(c, "OK", "RESTORE copy 5000 %b REPLACE", d->str, d->len);
        redisReply *pttl = harness_command(c, "PTTL copy");
        assert_true(pttl->integer > 4000 && pttl->integer <= 5000);
        freeReplyObject(pttl);
        expect_integer(c, 1, "DEL copy");
        /* A bit flipped in the value: the checksum catches it. */
        d->str[1] ^= 1;
        expect_error(c, "ERR DUMP payload version or checksum are wrong", "RESTORE copy 0 %b",
                     d->str, d->len);
        freeReplyObject(d);
    }
    expect_nil(c, "DUMP missing");
    redisReply *d = harness_command(c, "DUMP str");
    expect_error(c, "ERR Invalid TTL value, must be >= 0", "RESTORE n -1 %b", d->str, d->len);
    expect_error(c, "ERR value is not an integer or out of range", "RESTORE n x %b", d->str,
                 d->len);
    expect_error(c, "ERR syntax error", "RESTORE n 0 %b BOGUS", d->str, d->len);
    expect_error(c, "ERR Invalid IDLETIME value, must be >= 0", "RESTORE n 0 %b IDLETIME -1",
                 d->str, d->len);
    expect_error(c, "ERR Invalid FREQ value, must be >= 0 and <= 255", "RESTORE n 0 %b FREQ 256",
                 d->str, d->len);
    expect_error(c, "ERR syntax error", "RESTORE n 0 %b IDLETIME 1 FREQ 1", d->str, d->len);
    expect_status(c, "OK", "RESTORE n 0 %b IDLETIME 100", d->str, d->len);
    redisReply *idle = harness_command(c, "OBJECT IDLETIME n");
    assert_true(idle->integer >= 100 && idle->integer <= 101);
    freeReplyObject(idle);
    harness_command_ok(c, "CONFIG SET maxmemory-policy allkeys-lfu");
    expect_status(c, "OK", "RESTORE f 0 %b FREQ 77", d->str, d->len);
    expect_integer(c, 77, "OBJECT FREQ f");
    harness_command_ok(c, "CONFIG SET maxmemory-policy noeviction");
    /* An absolute deadline in the past: OK, and no key. */
    expect_status(c, "OK", "RESTORE old 1000 %b ABSTTL", d->str, d->len);
    expect_integer(c, 0, "EXISTS old");
    redisReply *now = harness_command(c, "TIME");
    long long future = atoll(now->element[0]->str) * 1000 + 100000;
    freeReplyObject(now);
    expect_status(c, "OK", "RESTORE abs %lld %b ABSTTL", future, d->str, d->len);
    expect_integer(c, future, "PEXPIRETIME abs");
    freeReplyObject(d);
    expect_error(c, "ERR DUMP payload version or checksum are wrong", "RESTORE n2 0 short");
    redisFree(c);
    assert_int_equal(harness_stop(s), 0);
}

/* Save points fire from the cron; FLUSHALL saves the empty set at once and
 * counts as one change; a failing final save keeps SHUTDOWN from stopping. */
static void test_save_points_and_flushall(void **state)
{
    (void)state;
    char *dir = harness_make_dir("rivet-rdb-");
    harness_server *s = start_in(dir, NULL);
    redisContext *c = harness_connect(s);
    long long saves = harness_info_number(c, "persistence", "rdb_saves");
    harness_command_ok(c, "SET a 1");
    harness_command_ok(c, "SET b 2");
    assert_int_equal(harness_info_number(c, "persistence", "rdb_changes_since_last_save"), 2);
    harness_command_ok(c, "CONFIG SET save %s", "1 2");
    assert_true(harness_wait_info_number(c, "persistence", "rdb_saves", saves + 1, 5000));
    assert_true(harness_wait_info_number(c, "persistence", "rdb_changes_since_last_save", 0, 2000));
    char path[4200];
    snprintf(path, sizeof(path), "%s/dump.rdb", dir);
    assert_int_equal(access(path, F_OK), 0);

    expect_status(c, "OK", "FLUSHALL");
    assert_int_equal(harness_info_number(c, "persistence", "rdb_changes_since_last_save"), 1);
    expect_status(c, "OK", "DEBUG RELOAD NOSAVE");
    expect_integer(c, 0, "DBSIZE");

    /* The final save cannot be written: SHUTDOWN refuses, the server lives. */
    harness_command_ok(c, "SET c 3");
    harness_remove_dir(dir);
    expect_error(c, "ERR Errors trying to SHUTDOWN. Check logs.", "SHUTDOWN");
    expect_bulk(c, "3", "GET c");
    char *good = harness_make_dir("rivet-rdb-");
    harness_command_ok(c, "CONFIG SET dir %s", good);
    redisFree(c);
    assert_int_equal(harness_stop(s), 0);
    snprintf(path, sizeof(path), "%s/dump.rdb", good);
    assert_int_equal(access(path, F_OK), 0);
    harness_remove_dir(good);
    free(good);
    free(dir);
}

/* rdbcompression no stores the long string as it is; rdbchecksum no writes
 * a zero trailer, and such a file still loads. */
static void test_compression_and_checksum_settings(void **state)
{
    (void)state;
    char *dir = harness_make_dir("rivet-rdb-");
    harness_server *s = start_in(dir, NULL);
    redisContext *c = harness_connect(s);
    char big[3001];
    memset(big, 'q', 3000);
    big[3000] = '\0';
    harness_command_ok(c, "SET big %s", big);
    harness_command_ok(c, "CONFIG SET rdbcompression no");
    harness_command_ok(c, "CONFIG SET rdbchecksum no");
    expect_status(c, "OK", "SAVE");
    char path[4200];
    snprintf(path, sizeof(path), "%s/dump.rdb", dir);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char file[65536];
    size_t n = fread(file, 1, sizeof(file), f);
    fclose(f);
    assert_non_null(memmem(file, n, big, 3000));
    const char zeros[8] = {0};
    assert_memory_equal(file + n - 8, zeros, 8);
    expect_status(c, "OK", "DEBUG RELOAD NOSAVE");
    expect_bulk(c, big, "GET big");

    harness_command_ok(c, "CONFIG SET rdbcompression yes");
    harness_command_ok(c, "CONFIG SET rdbchecksum yes");
    expect_status(c, "OK", "SAVE");
    f = fopen(path, "rb");
    n = fread(file, 1, sizeof(file), f);
    fclose(f);
    assert_true(n < 500);
    assert_memory_not_equal(file + n - 8, zeros, 8);
    expect_status(c, "OK", "DEBUG RELOAD NOSAVE");
    expect_bulk(c, big, "GET big");
    redisFree(c);
    assert_int_equal(harness_stop(s), 0);
    harness_remove_dir(dir);
    free(dir);
}

/* Native primitives (locks, idempotency records) survive a restart through
 * their module records, and DUMP/RESTORE moves them between keys. */
static void test_native_primitives_survive_restart(void **state)
{
    (void)state;
    char *dir = harness_make_dir("rivet-rdb-");
    harness_server *s = start_in(dir, NULL);
    redisContext *c = harness_connect(s);
    redisReply *lock = harness_command(c, "LOCK.ACQUIRE lk alice 600000");
    assert_int_equal(lock->type, REDIS_REPLY_INTEGER); /* the fencing token */
    long long fence = lock->integer;
    freeReplyObject(lock);
    redisReply *begin = harness_command(c, "IDEM.BEGIN ik 600000");
    assert_int_equal(begin->type, REDIS_REPLY_ARRAY);
    char token[64];
    if (begin->element[1]->type == REDIS_REPLY_INTEGER)
        snprintf(token, sizeof(token), "%lld", begin->element[1]->integer);
    else
        snprintf(token, sizeof(token), "%s", begin->element[1]->str);
    freeReplyObject(begin);
    expect_integer(c, 1, "IDEM.COMPLETE ik %s stored-response 600000", token);
    expect_status(c, "OK", "SAVE");
    redisFree(c);
    assert_int_equal(harness_stop(s), 0);

    s = start_in(dir, NULL);
    c = harness_connect(s);
    expect_status(c, "lock", "TYPE lk");
    redisReply *info = harness_command(c, "LOCK.INFO lk");
    assert_int_equal(info->type, REDIS_REPLY_ARRAY);
    assert_string_equal(info->element[0]->str, "alice");
    assert_int_equal(info->element[1]->integer, fence);
    freeReplyObject(info);
    redisReply *got = harness_command(c, "IDEM.GET ik");
    assert_int_equal(got->type, REDIS_REPLY_ARRAY);
    assert_string_equal(got->element[0]->str, "done");
    assert_string_equal(got->element[1]->str, "stored-response");
    freeReplyObject(got);
    /* The lock still belongs to alice: bob cannot take it. */
    expect_nil(c, "LOCK.ACQUIRE lk bob 1000");

    redisReply *d = harness_command(c, "DUMP lk");
    assert_int_equal(d->type, REDIS_REPLY_STRING);
    expect_status(c, "OK", "RESTORE lk2 0 %b", d->str, d->len);
    freeReplyObject(d);
    info = harness_command(c, "LOCK.INFO lk2");
    assert_string_equal(info->element[0]->str, "alice");
    freeReplyObject(info);
    redisFree(c);
    assert_int_equal(harness_stop(s), 0);
    harness_remove_dir(dir);
    free(dir);
}

/* Hashes with field TTLs keep them through a snapshot and DUMP/RESTORE;
 * fields already expired are not brought back. */
static void test_hash_field_ttls_survive(void **state)
{
    (void)state;
    harness_server *s = harness_start(NULL);
    redisContext *c = harness_connect(s);
    expect_integer(c, 3, "HSET h a 1 b 2 c 3");
    expect_array_len(c, 1, "HPEXPIRE h 500000 FIELDS 1 a");
    expect_array_len(c, 1, "HPEXPIRE h 50 FIELDS 1 c");
    harness_command_ok(c, "EXPIRE h 900");
    harness_sleep_ms(100);
    expect_status(c, "OK", "DEBUG RELOAD");
    redisReply *ttl = harness_command(c, "HPTTL h FIELDS 3 a b c");
    assert_int_equal(ttl->elements, 3);
    assert_true(ttl->element[0]->integer > 400000 && ttl->element[0]->integer <= 500000);
    assert_int_equal(ttl->element[1]->integer, -1);
    assert_int_equal(ttl->element[2]->integer, -2);
    freeReplyObject(ttl);
    expect_integer(c, 2, "HLEN h");
    redisReply *kttl = harness_command(c, "TTL h");
    assert_true(kttl->integer > 800 && kttl->integer <= 900);
    freeReplyObject(kttl);

    redisReply *d = harness_command(c, "DUMP h");
    assert_int_equal(d->type, REDIS_REPLY_STRING);
    expect_status(c, "OK", "RESTORE h2 0 %b", d->str, d->len);
    freeReplyObject(d);
    ttl = harness_command(c, "HPTTL h2 FIELDS 2 a b");
    assert_true(ttl->element[0]->integer > 400000);
    assert_int_equal(ttl->element[1]->integer, -1);
    freeReplyObject(ttl);
    expect_bulk(c, "2", "HGET h2 b");
    /* The field timer works after a load: a short TTL set now still fires. */
    expect_array_len(c, 1, "HPEXPIRE h2 20 FIELDS 1 b");
    harness_sleep_ms(300);
    expect_integer(c, 1, "HLEN h2");
    redisFree(c);
    assert_int_equal(harness_stop(s), 0);
}

/* ---------- cross-loading with the real redis-server ---------- */

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

typedef struct redis_process {
    pid_t pid;
    int port;
} redis_process;

static int free_port(void)
{
    /* Ask the kernel for one through a throwaway Rivet-free socket. */
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

static redis_process redis_start(const char *binary, const char *dir)
{
    redis_process r = {0, free_port()};
    char port[16], log[4200];
    snprintf(port, sizeof(port), "%d", r.port);
    snprintf(log, sizeof(log), "%s/redis.log", dir);
    r.pid = fork();
    if (r.pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        execl(binary, binary, "--port", port, "--bind", "127.0.0.1", "--dir", dir, "--save", "",
              "--appendonly", "no", "--daemonize", "no", (char *)NULL);
        _exit(127);
    }
    return r;
}

static redisContext *redis_connect(redis_process *r)
{
    for (int i = 0; i < 500; i++) {
        redisContext *c = redisConnect("127.0.0.1", r->port);
        if (c && !c->err) {
            redisReply *pong = redisCommand(c, "PING");
            if (pong && pong->type == REDIS_REPLY_STATUS) {
                freeReplyObject(pong);
                return c;
            }
            if (pong)
                freeReplyObject(pong);
        }
        if (c)
            redisFree(c);
        harness_sleep_ms(20);
    }
    fail_msg("redis-server did not come up on port %d", r->port);
    return NULL;
}

static void redis_stop(redis_process *r)
{
    kill(r->pid, SIGKILL);
    waitpid(r->pid, NULL, 0);
}

static const char *const dump_keys[] = {"str",    "int",    "big",    "neg",         "bin",
                                        "ttl",    "lzf",    "lsmall", "sint",        "ssmall",
                                        "zsmall", "hsmall", "lbig",   "sbig",        "sbigint",
                                        "zbig",   "hbig",   "stream", "empty_stream"};
#define DUMP_KEYS (sizeof(dump_keys) / sizeof(dump_keys[0]))

static void collect_dumps(redisContext *c, redisReply **dumps)
{
    for (size_t i = 0; i < DUMP_KEYS; i++) {
        dumps[i] = harness_command(c, "DUMP %s", dump_keys[i]);
        assert_int_equal(dumps[i]->type, REDIS_REPLY_STRING);
    }
}

/* RESTOREs the payloads as restored:<key> on c and checks each matches. */
static void restore_and_compare(redisContext *c, redisReply **dumps)
{
    for (size_t i = 0; i < DUMP_KEYS; i++) {
        char target[64];
        snprintf(target, sizeof(target), "restored:%s", dump_keys[i]);
        expect_status(c, "OK", "RESTORE %s 0 %b", target, dumps[i]->str, dumps[i]->len);
        assert_same_value(dump_keys[i], dump_keys[i], target, c);
        expect_integer(c, 1, "DEL %s", target);
        freeReplyObject(dumps[i]);
    }
}

static void test_redis_dump_loads_in_rivet(void **state)
{
    (void)state;
    const char *binary = find_redis_server();
    if (!binary) {
        fprintf(stderr, "redis-server not on PATH: skipping the cross-load test\n");
        skip();
    }
    char *dir = harness_make_dir("rivet-rdb-");
    redis_process r = redis_start(binary, dir);
    redisContext *rc = redis_connect(&r);
    populate(rc);
    char *expected = digest_all(rc);
    redisReply *dumps[DUMP_KEYS];
    collect_dumps(rc, dumps);
    expect_status(rc, "OK", "SAVE");
    redisFree(rc);
    redis_stop(&r);

    harness_server *s = start_in(dir, NULL);
    redisContext *c = harness_connect(s);
    char *got = digest_all(c);
    assert_same("Redis's dump.rdb loaded in Rivet", expected, got);
    restore_and_compare(c, dumps);
    redisFree(c);
    assert_int_equal(harness_stop(s), 0);
    free(expected);
    free(got);
    harness_remove_dir(dir);
    free(dir);
}

static void test_rivet_dump_loads_in_redis(void **state)
{
    (void)state;
    const char *binary = find_redis_server();
    if (!binary) {
        fprintf(stderr, "redis-server not on PATH: skipping the cross-load test\n");
        skip();
    }
    char *dir = harness_make_dir("rivet-rdb-");
    harness_server *s = start_in(dir, NULL);
    redisContext *c = harness_connect(s);
    populate(c);
    char *expected = digest_all(c);
    redisReply *dumps[DUMP_KEYS];
    collect_dumps(c, dumps);
    expect_status(c, "OK", "SAVE");
    redisFree(c);
    assert_int_equal(harness_stop(s), 0);

    /* redis-check-rdb, when installed next to redis-server, must approve. */
    char check[8400];
    snprintf(check, sizeof(check), "%.*s/redis-check-rdb", (int)(strrchr(binary, '/') - binary),
             binary);
    if (access(check, X_OK) == 0) {
        snprintf(check + strlen(check), sizeof(check) - strlen(check), " '%s/dump.rdb' >/dev/null",
                 dir);
        assert_int_equal(system(check), 0);
    }
    redis_process r = redis_start(binary, dir);
    redisContext *rc = redis_connect(&r);
    char *got = digest_all(rc);
    assert_same("Rivet's dump.rdb loaded in Redis", expected, got);
    restore_and_compare(rc, dumps);
    redisFree(rc);
    redis_stop(&r);
    free(expected);
    free(got);
    harness_remove_dir(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_save_and_restart),
        cmocka_unit_test(test_debug_reload),
        cmocka_unit_test(test_bgsave_while_writing),
        cmocka_unit_test(test_killed_bgsave_keeps_old_snapshot),
        cmocka_unit_test(test_corrupt_file_refused),
        cmocka_unit_test(test_loading_state),
        cmocka_unit_test(test_misconf_after_failed_bgsave),
        cmocka_unit_test(test_shutdown_saves_with_save_points),
        cmocka_unit_test(test_dump_restore),
        cmocka_unit_test(test_save_points_and_flushall),
        cmocka_unit_test(test_compression_and_checksum_settings),
        cmocka_unit_test(test_native_primitives_survive_restart),
        cmocka_unit_test(test_hash_field_ttls_survive),
        cmocka_unit_test(test_redis_dump_loads_in_rivet),
        cmocka_unit_test(test_rivet_dump_loads_in_redis),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
