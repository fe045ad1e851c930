/* RDB snapshots and DUMP payloads through memory: every type in each of its
 * encodings is written, loaded into a fresh keyspace and read back with the
 * same commands; TTLs survive, expired keys are dropped; corrupt and
 * truncated input is refused without crashing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rivet/command.h"
#include "rivet/config.h"
#include "rivet/crc64.h"
#include "rivet/memory.h"
#include "rivet/rdb.h"
#include "rivet/server.h"

#define NOW_MS 1700000000000LL

static client test_client;

static void fresh_keyspace(void)
{
    if (server.keyspace)
        keyspace_destroy(server.keyspace);
    server.keyspace = keyspace_create(16, NOW_MS);
    keyspace_set_time(server.keyspace, NOW_MS);
    command_register_types(server.keyspace);
    test_client.db = keyspace_database(server.keyspace, 0);
}

static int setup(void **state)
{
    (void)state;
    config_init_defaults(&server.config);
    command_table_init();
    memset(&test_client, 0, sizeof(test_client));
    test_client.reply.protocol = 2;
    buffer_init(&test_client.reply.out);
    fresh_keyspace();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    keyspace_destroy(server.keyspace);
    server.keyspace = NULL;
    command_table_release();
    buffer_release(&test_client.reply.out);
    return 0;
}

/* Runs a command (argv split on spaces) and returns a copy of the reply. */
static char *run(const char *line)
{
    static char copy[1 << 16];
    const char *argv[2100];
    size_t argv_len[2100];
    int argc = 0;
    snprintf(copy, sizeof(copy), "%s", line);
    for (char *word = strtok(copy, " "); word; word = strtok(NULL, " ")) {
        argv[argc] = word;
        argv_len[argc] = strlen(word);
        argc++;
    }
    const command *cmd = command_lookup(argv[0], argv_len[0]);
    assert_non_null(cmd);
    if (cmd->subcommands && argc > 1)
        cmd = command_lookup_sub(cmd, argv[1], argv_len[1]);
    assert_non_null(cmd);
    assert_non_null(cmd->handler);
    test_client.argc = argc;
    test_client.argv = argv;
    test_client.argv_len = argv_len;
    test_client.command = cmd;
    buffer_clear(&test_client.reply.out);
    cmd->handler(&test_client);
    return strdup(test_client.reply.out.data ? test_client.reply.out.data : "");
}

static void exec(const char *line)
{
    free(run(line));
}

/* A command with many arguments: prefix followed by "<fmt % i>" words. */
static void exec_many(const char *prefix, const char *fmt, int count)
{
    buffer b;
    buffer_init(&b);
    buffer_append_cstr(&b, prefix);
    for (int i = 0; i < count; i++) {
        buffer_append_char(&b, ' ');
        buffer_appendf(&b, fmt, i, i);
    }
    exec(b.data);
    buffer_release(&b);
}

static const char *const reads[] = {
    "GET str",
    "GET int",
    "GET negint",
    "GET bigint",
    "GET long",
    "GET compressible",
    "LRANGE list 0 -1",
    "LRANGE biglist 0 -1",
    "SMEMBERS intset",
    "SMEMBERS smallset",
    "SCARD bigset",
    "SISMEMBER bigset m77",
    "ZRANGE zsmall 0 -1 WITHSCORES",
    "ZRANGE zbig 0 -1 WITHSCORES",
    "HGETALL hsmall",
    "HLEN hbig",
    "HGET hbig f99",
    "XRANGE stream - +",
    "XINFO STREAM stream",
    "XPENDING stream g1 - + 10",
    "OBJECT ENCODING intset",
    "OBJECT ENCODING smallset",
    "OBJECT ENCODING bigset",
    "OBJECT ENCODING zsmall",
    "OBJECT ENCODING zbig",
    "OBJECT ENCODING hsmall",
    "OBJECT ENCODING hbig",
    "OBJECT ENCODING int",
    "PTTL str",
    "PTTL list",
    "HPTTL httl FIELDS 2 a b",
    "HGET httl b",
    "SELECT 3",
    "GET other",
    "SELECT 0",
};

static void populate(void)
{
    exec("SET str hello");
    exec("PEXPIRE str 50000");
    exec("SET int 12345");
    exec("SET negint -7");
    exec("SET bigint 9223372036854775807");
    exec("SET long this-string-is-longer-than-forty-four-bytes-so-it-is-raw");
    exec("SET compressible "
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    exec("RPUSH list a b 1 -2 300000 c");
    exec("PEXPIRE list 90000");
    exec_many("RPUSH biglist", "element-%d-%d", 2000);
    exec("SADD intset 5 -3 100000 7000000000");
    exec("SADD smallset a b 3");
    exec_many("SADD bigset", "m%d", 600);
    exec("ZADD zsmall 1 a 2.5 b -inf c inf d 1e300 e");
    exec_many("ZADD zbig", "%d m%d", 200);
    exec("HSET hsmall f1 v1 f2 2 f3 -300");
    exec_many("HSET hbig", "f%d v%d", 600);
    exec("XADD stream 1-1 a 1 b 2");
    exec("XADD stream 1-2 a 3 b 4");
    exec("XADD stream 2-0 other x");
    exec("XADD stream 3-0 a 5 b 6");
    exec("XDEL stream 1-2");
    exec("XGROUP CREATE stream g1 0");
    exec("XREADGROUP GROUP g1 alice COUNT 2 STREAMS stream >");
    exec("XGROUP CREATECONSUMER stream g1 bob");
    exec("HSET httl a 1 b 2 c 3");
    exec("HPEXPIRE httl 100000 FIELDS 1 a");
    exec("HPEXPIRE httl 5 FIELDS 1 c");
    exec("SET gone x");
    exec("PEXPIRE gone 10");
    exec("SELECT 3");
    exec("SET other in-db-3");
    exec("SELECT 0");
}

static char **read_all(void)
{
    size_t n = sizeof(reads) / sizeof(reads[0]);
    char **out = calloc(n, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        out[i] = run(reads[i]);
    return out;
}

static void compare_and_free(char **before, char **after)
{
    for (size_t i = 0; i < sizeof(reads) / sizeof(reads[0]); i++) {
        if (strcmp(before[i], after[i]) != 0)
            fail_msg("%s: before %s after %s", reads[i], before[i], after[i]);
        free(before[i]);
        free(after[i]);
    }
    free(before);
    free(after);
}

static void round_trip(int compress, int checksum)
{
    fresh_keyspace();
    populate();
    char **before = read_all();
    rdb_save_options options = {compress, checksum};
    buffer file;
    buffer_init(&file);
    rdb_save_to_buffer(server.keyspace, &options, &file);
    assert_memory_equal(file.data, "REDIS0010", 9);

    /* Load 20 ms later: "gone" (10 ms TTL) must not come back. */
    fresh_keyspace();
    keyspace_set_time(server.keyspace, NOW_MS + 20);
    rdb_load_stats stats;
    char err[256] = "";
    assert_int_equal(
        rdb_load_buffer(server.keyspace, file.data, file.len, &stats, err, sizeof(err)), 0);
    assert_int_equal(stats.expired, 1);
    assert_int_equal(stats.keys, 18);
    keyspace_set_time(server.keyspace, NOW_MS);
    char **after = read_all();
    /* PTTLs were taken at the same clock, so they match exactly. */
    compare_and_free(before, after);
    char *gone = run("EXISTS gone");
    assert_string_equal(gone, ":0\r\n");
    free(gone);
    /* Field c (5 ms TTL) had expired by the time of the load. */
    char *fields = run("HLEN httl");
    assert_string_equal(fields, ":2\r\n");
    free(fields);
    char *size = run("DBSIZE");
    assert_string_equal(size, ":17\r\n");
    free(size);
    buffer_release(&file);
}

static void test_round_trip_every_type(void **state)
{
    (void)state;
    round_trip(1, 1);
    round_trip(0, 0);
}

static void test_corruption_refused(void **state)
{
    (void)state;
    fresh_keyspace();
    populate();
    rdb_save_options options = {1, 1};
    buffer file;
    buffer_init(&file);
    rdb_save_to_buffer(server.keyspace, &options, &file);
    rdb_load_stats stats;
    char err[256];

    /* Every truncation fails cleanly. */
    for (size_t cut = 0; cut < file.len; cut += 1 + cut / 8) {
        fresh_keyspace();
        assert_int_equal(rdb_load_buffer(server.keyspace, file.data, cut, &stats, err, sizeof(err)),
                         -1);
    }
    /* A flipped byte is caught by the checksum (or by the parser). */
    for (size_t at = 9; at < file.len - 8; at += 37) {
        fresh_keyspace();
        file.data[at] ^= 0x5a;
        assert_int_equal(
            rdb_load_buffer(server.keyspace, file.data, file.len, &stats, err, sizeof(err)), -1);
        file.data[at] ^= 0x5a;
    }
    fresh_keyspace();
    memcpy(file.data, "REDIS0012", 9);
    assert_int_equal(
        rdb_load_buffer(server.keyspace, file.data, file.len, &stats, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "Can't handle RDB format version 12"));
    buffer_release(&file);
}

/* With the checksum zeroed (loaders then skip it), random damage reaches
 * the parser itself: every outcome must be a clean success or a clean
 * error, never a crash or an overread (run under ASan to see those). */
static void test_random_damage_never_crashes(void **state)
{
    (void)state;
    fresh_keyspace();
    populate();
    rdb_save_options options = {1, 0};
    buffer file;
    buffer_init(&file);
    rdb_save_to_buffer(server.keyspace, &options, &file);
    char *copy = malloc(file.len);
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    int failures = 0;
    for (int round = 0; round < 3000; round++) {
        memcpy(copy, file.data, file.len);
        int flips = 1 + round % 4;
        for (int k = 0; k < flips; k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            size_t at = 9 + (size_t)(x % (file.len - 17));
            copy[at] = (char)(x >> 32);
        }
        fresh_keyspace();
        rdb_load_stats stats;
        char err[256];
        failures += rdb_load_buffer(server.keyspace, copy, file.len, &stats, err, sizeof(err)) != 0;
    }
    /* Most damage is noticed; some lands in bytes any value accepts. */
    assert_true(failures > 300);
    free(copy);
    buffer_release(&file);
}

static void test_dump_payload_matches_redis(void **state)
{
    (void)state;
    fresh_keyspace();
    exec("SET k hello");
    exec("SET n 100");
    buffer out;
    buffer_init(&out);
    /* Bytes of DUMP k / DUMP n from Redis 7.0. */
    rdb_dump_payload(server.keyspace, keyspace_lookup_raw(test_client.db, "k", 1), &out);
    const unsigned char hello[] = {0x00, 0x05, 'h',  'e', 'l', 'l', 'o', 0x0a, 0x00,
                                   'c',  'r',  0xdf, 'v', 'e', '4', ' ', 0x0a};
    assert_int_equal(out.len, sizeof(hello));
    assert_memory_equal(out.data, hello, sizeof(hello));
    assert_int_equal(rdb_payload_verify(out.data, out.len), 0);
    buffer_clear(&out);
    rdb_dump_payload(server.keyspace, keyspace_lookup_raw(test_client.db, "n", 1), &out);
    const unsigned char hundred[] = {0x00, 0xc0, 'd', 0x0a, 0x00, 0x87, ')',
                                     0x95, '1',  '`', 0x0e, 0x8d, 0xb3};
    assert_int_equal(out.len, sizeof(hundred));
    assert_memory_equal(out.data, hundred, sizeof(hundred));

    rdb_value v;
    assert_int_equal(rdb_payload_decode(server.keyspace, out.data, out.len, &v), 0);
    rdb_value_store(test_client.db, "copy", 4, &v);
    char *got = run("GET copy");
    assert_string_equal(got, "$3\r\n100\r\n");
    free(got);
    out.data[3] ^= 1;
    assert_int_equal(rdb_payload_verify(out.data, out.len), -1);
    buffer_release(&out);
}

/* ---------- native types: module records through save/load_value ---------- */

static void fake_free(void *ptr, object_encoding encoding)
{
    (void)encoding;
    buffer_release(ptr);
    mem_free(ptr);
}

static void *fake_copy(const void *ptr, object_encoding encoding)
{
    (void)encoding;
    const buffer *from = ptr;
    buffer *b = mem_alloc(sizeof(*b));
    buffer_init(b);
    buffer_append(b, from->data, from->len);
    return b;
}

static void fake_save(const void *ptr, object_encoding encoding, buffer *out)
{
    (void)encoding;
    const buffer *b = ptr;
    buffer_append(out, "v1:", 3);
    buffer_append(out, b->data, b->len);
}

static void *fake_load(const char *bytes, size_t len, object_encoding *encoding)
{
    if (len < 3 || memcmp(bytes, "v1:", 3) != 0)
        return NULL;
    buffer *b = mem_alloc(sizeof(*b));
    buffer_init(b);
    buffer_append(b, bytes + 3, len - 3);
    *encoding = ENCODING_NATIVE;
    return b;
}

static void register_fakes(int with_serializer)
{
    static const object_methods saved = {.free_value = fake_free,
                                         .copy_value = fake_copy,
                                         .save_value = fake_save,
                                         .load_value = fake_load};
    static const object_methods unsaved = {.free_value = fake_free, .copy_value = fake_copy};
    keyspace_register_type(server.keyspace, OBJECT_IDEMPOTENCY,
                           with_serializer ? &saved : &unsaved);
    keyspace_register_type(server.keyspace, OBJECT_WINDOW, &unsaved);
}

static void set_fake(const char *key, object_type type, const char *content)
{
    buffer *b = mem_alloc(sizeof(*b));
    buffer_init(b);
    buffer_append_cstr(b, content);
    keyspace_set_object(test_client.db, key, strlen(key), type, ENCODING_NATIVE, b, 0);
}

static void test_native_types(void **state)
{
    (void)state;
    fresh_keyspace();
    register_fakes(1);
    set_fake("idem", OBJECT_IDEMPOTENCY, "record-bytes");
    set_fake("window", OBJECT_WINDOW, "not saved");
    exec("SET plain x");
    rdb_save_options options = {1, 1};
    buffer file;
    buffer_init(&file);
    rdb_save_to_buffer(server.keyspace, &options, &file);

    fresh_keyspace();
    register_fakes(1);
    rdb_load_stats stats;
    char err[256] = "";
    assert_int_equal(
        rdb_load_buffer(server.keyspace, file.data, file.len, &stats, err, sizeof(err)), 0);
    assert_int_equal(stats.keys, 2);
    kv_entry *e = keyspace_lookup_raw(test_client.db, "idem", 4);
    assert_non_null(e);
    assert_int_equal(entry_type(e), OBJECT_IDEMPOTENCY);
    const buffer *b = entry_object(e);
    assert_int_equal(b->len, 12);
    assert_memory_equal(b->data, "record-bytes", 12);
    assert_null(keyspace_lookup_raw(test_client.db, "window", 6));

    /* DUMP/RESTORE of a native value, and DUMP refused without a serializer. */
    buffer payload;
    buffer_init(&payload);
    assert_true(rdb_entry_serializable(server.keyspace, e));
    rdb_dump_payload(server.keyspace, e, &payload);
    assert_int_equal(rdb_payload_verify(payload.data, payload.len), 0);
    rdb_value v;
    assert_int_equal(rdb_payload_decode(server.keyspace, payload.data, payload.len, &v), 0);
    assert_int_equal(v.type, OBJECT_IDEMPOTENCY);
    rdb_value_store(test_client.db, "idem2", 5, &v);
    assert_non_null(keyspace_lookup_raw(test_client.db, "idem2", 5));
    set_fake("window", OBJECT_WINDOW, "x");
    assert_false(
        rdb_entry_serializable(server.keyspace, keyspace_lookup_raw(test_client.db, "window", 6)));
    char *reply = run("DUMP window");
    assert_string_equal(reply, "-ERR DUMP is not supported for keys of type window\r\n");
    free(reply);
    buffer_release(&payload);

    /* A server whose type cannot load the record refuses the file. */
    fresh_keyspace();
    register_fakes(0);
    assert_int_equal(
        rdb_load_buffer(server.keyspace, file.data, file.len, &stats, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "is not known to this server"));
    buffer_release(&file);
}

/* ---------- RDB 11 forms (Redis 7.2 payloads) ---------- */

/* Wraps a value in a DUMP footer of the given version and restores it. */
static void restore_bytes(const char *key, const unsigned char *value, size_t len, int version)
{
    buffer p;
    buffer_init(&p);
    buffer_append(&p, value, len);
    buffer_append_char(&p, (char)version);
    buffer_append_char(&p, 0);
    uint64_t crc = crc64_update(0, p.data, p.len);
    for (int i = 0; i < 8; i++)
        buffer_append_char(&p, (char)(crc >> (8 * i)));
    assert_int_equal(rdb_payload_verify(p.data, p.len), 0);
    rdb_value v;
    assert_int_equal(rdb_payload_decode(server.keyspace, p.data, p.len, &v), 0);
    rdb_value_store(test_client.db, key, strlen(key), &v);
    buffer_release(&p);
}

static void expect_reply(const char *command, const char *expected)
{
    char *got = run(command);
    if (strcmp(got, expected) != 0)
        fail_msg("%s: got %s", command, got);
    free(got);
}

static void test_rdb11_forms(void **state)
{
    (void)state;
    fresh_keyspace();
    /* Type 20: a set as a listpack of "a", "b", 1. */
    const unsigned char set[] = {20,  15,   15,   0,   0,    0,    3,    0,   0x81,
                                 'a', 0x02, 0x81, 'b', 0x02, 0x01, 0x01, 0xFF};
    restore_bytes("s", set, sizeof(set), 11);
    expect_reply("SCARD s", ":3\r\n");
    expect_reply("SISMEMBER s 1", ":1\r\n");
    expect_reply("SISMEMBER s b", ":1\r\n");

    /* Type 21: stream 1-1 {f: v}, group g (entries read 1) whose consumer c
     * owns 1-1; consumers carry seen and active times. */
    buffer b;
    buffer_init(&b);
    const unsigned char head[] = {21, 1, 16, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1};
    buffer_append(&b, head, sizeof(head));
    const unsigned char lp[] = {29, 0x1d, 0, 0, 0, 0x0a, 0, 1, 1, 0,    1,   1, 1, 0x81, 'f',
                                2,  0,    1, 2, 1, 0,    1, 0, 1, 0x81, 'v', 2, 4, 1,    0xFF};
    buffer_append(&b, lp, sizeof(lp));
    const unsigned char meta[] = {1, 1, 1,   1, 1, 0, 0, 1, /* length, ids, added */
                                  1, 1, 'g', 1, 1, 1,       /* one group g, last 1-1, read 1 */
                                  1};                       /* PEL of one */
    buffer_append(&b, meta, sizeof(meta));
    const unsigned char id[16] = {0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1};
    buffer_append(&b, id, 16);
    const unsigned char time_and_count[] = {0x10, 0x27, 0, 0, 0, 0, 0, 0, 3};
    buffer_append(&b, time_and_count, sizeof(time_and_count));
    const unsigned char consumer[] = {1, 1,    'c',  0x10, 0x27, 0, 0, 0, 0, 0,
                                      0, 0x20, 0x27, 0,    0,    0, 0, 0, 0, 1};
    buffer_append(&b, consumer, sizeof(consumer));
    buffer_append(&b, id, 16);
    restore_bytes("x", (const unsigned char *)b.data, b.len, 11);
    buffer_release(&b);
    expect_reply("XRANGE x - +", "*1\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n");
    expect_reply("XPENDING x g",
                 "*4\r\n:1\r\n$3\r\n1-1\r\n$3\r\n1-1\r\n*1\r\n*2\r\n$1\r\nc\r\n$1\r\n1\r\n");
}

/* ---------- older forms Redis 7.0 still reads (upgraded files) ---------- */

/* A ziplist under construction: entries carry the previous entry's size. */
typedef struct ziplist_maker {
    buffer b;
    size_t prev;
    unsigned count;
} ziplist_maker;

static void zl_begin(ziplist_maker *z)
{
    buffer_init(&z->b);
    buffer_append(&z->b, "\0\0\0\0\0\0\0\0\0\0", 10);
    z->prev = 0;
    z->count = 0;
}

static void zl_entry(ziplist_maker *z, const unsigned char *body, size_t len)
{
    size_t start = z->b.len;
    buffer_append_char(&z->b, (char)z->prev); /* all test entries are < 254 bytes */
    buffer_append(&z->b, body, len);
    z->prev = z->b.len - start;
    z->count++;
}

static void zl_string(ziplist_maker *z, const char *text)
{
    unsigned char body[80];
    size_t len = strlen(text);
    body[0] = (unsigned char)len; /* 00LLLLLL */
    memcpy(body + 1, text, len);
    zl_entry(z, body, len + 1);
}

static void zl_finish(ziplist_maker *z)
{
    buffer_append_char(&z->b, (char)0xFF);
    unsigned char *h = (unsigned char *)z->b.data;
    size_t total = z->b.len;
    for (int i = 0; i < 4; i++)
        h[i] = (unsigned char)(total >> (8 * i));
    h[8] = (unsigned char)z->count;
    h[9] = 0;
}

static void put_rdb_string(buffer *out, const char *data, size_t len)
{
    buffer_append_char(out, (char)len); /* test strings are < 64 bytes */
    buffer_append(out, data, len);
}

static void put_rdb_blob(buffer *out, const buffer *blob)
{
    buffer_append_char(out, (char)(0x40 | (blob->len >> 8)));
    buffer_append_char(out, (char)(blob->len & 0xFF));
    buffer_append(out, blob->data, blob->len);
}

static void test_old_encodings_load(void **state)
{
    (void)state;
    buffer file;
    buffer_init(&file);
    buffer_append(&file, "REDIS0009", 9);
    buffer_append(&file, "\xFE\x00", 2);

    /* type 10: list as one ziplist, with every integer width. */
    ziplist_maker z;
    zl_begin(&z);
    zl_string(&z, "a");
    const unsigned char imm[] = {0xF6};                         /* 5 */
    const unsigned char i8[] = {0xFE, 0xFD};                    /* -3 */
    const unsigned char i16[] = {0xC0, 0x2C, 0x01};             /* 300 */
    const unsigned char i24[] = {0xF0, 0x00, 0x00, 0x80};       /* -8388608 */
    const unsigned char i32[] = {0xD0, 0x00, 0xCA, 0x9A, 0x3B}; /* 1000000000 */
    const unsigned char i64[] = {0xE0, 0x00, 0xE8, 0x76, 0x48, 0x17, 0x00, 0x00, 0x00}; /* 1e11 */
    zl_entry(&z, imm, sizeof(imm));
    zl_entry(&z, i8, sizeof(i8));
    zl_entry(&z, i16, sizeof(i16));
    zl_entry(&z, i24, sizeof(i24));
    zl_entry(&z, i32, sizeof(i32));
    zl_entry(&z, i64, sizeof(i64));
    zl_finish(&z);
    buffer_append_char(&file, 10);
    put_rdb_string(&file, "zl", 2);
    put_rdb_blob(&file, &z.b);
    buffer_release(&z.b);

    /* type 13: hash ziplist. */
    zl_begin(&z);
    zl_string(&z, "f1");
    zl_string(&z, "v1");
    zl_string(&z, "f2");
    zl_entry(&z, imm, sizeof(imm));
    zl_finish(&z);
    buffer_append_char(&file, 13);
    put_rdb_string(&file, "zh", 2);
    put_rdb_blob(&file, &z.b);
    buffer_release(&z.b);

    /* type 12: sorted set ziplist, scores as text and as integers. */
    zl_begin(&z);
    zl_string(&z, "b");
    zl_string(&z, "2.5");
    zl_string(&z, "a");
    zl_entry(&z, i8, sizeof(i8));
    zl_finish(&z);
    buffer_append_char(&file, 12);
    put_rdb_string(&file, "zz", 2);
    put_rdb_blob(&file, &z.b);
    buffer_release(&z.b);

    /* type 14: quicklist of two ziplists. */
    buffer_append_char(&file, 14);
    put_rdb_string(&file, "ql", 2);
    buffer_append_char(&file, 2);
    for (int node = 0; node < 2; node++) {
        zl_begin(&z);
        zl_string(&z, node ? "c" : "a");
        zl_string(&z, node ? "d" : "b");
        zl_finish(&z);
        put_rdb_blob(&file, &z.b);
        buffer_release(&z.b);
    }

    /* type 3: sorted set with text scores (253/254/255 = nan/+inf/-inf). */
    buffer_append_char(&file, 3);
    put_rdb_string(&file, "zt", 2);
    buffer_append_char(&file, 3);
    put_rdb_string(&file, "x", 1);
    put_rdb_string(&file, "1.5", 3);
    put_rdb_string(&file, "y", 1);
    buffer_append_char(&file, (char)254);
    put_rdb_string(&file, "w", 1);
    buffer_append_char(&file, (char)255);

    /* type 1 with an EXPIRETIME (seconds) far in the future. */
    buffer_append_char(&file, (char)0xFD);
    buffer_append(&file, "\x00\x00\x00\x7F", 4);
    buffer_append_char(&file, 1);
    put_rdb_string(&file, "pl", 2);
    buffer_append_char(&file, 2);
    put_rdb_string(&file, "p", 1);
    put_rdb_string(&file, "q", 1);

    buffer_append(&file, "\xFF\0\0\0\0\0\0\0\0", 9); /* CRC 0: not checked */

    fresh_keyspace();
    rdb_load_stats stats;
    char err[256] = "";
    int rc = rdb_load_buffer(server.keyspace, file.data, file.len, &stats, err, sizeof(err));
    if (rc != 0)
        fail_msg("load failed: %s", err);
    assert_int_equal(stats.keys, 6);
    const char *const checks[][2] = {
        {"LRANGE zl 0 -1", "*7\r\n$1\r\na\r\n$1\r\n5\r\n$2\r\n-3\r\n$3\r\n300\r\n"
                           "$8\r\n-8388608\r\n$10\r\n1000000000\r\n$12\r\n100000000000\r\n"},
        {"HGET zh f2", "$1\r\n5\r\n"},
        {"HGET zh f1", "$2\r\nv1\r\n"},
        {"ZRANGE zz 0 -1 WITHSCORES", "*4\r\n$1\r\na\r\n$2\r\n-3\r\n$1\r\nb\r\n$3\r\n2.5\r\n"},
        {"LRANGE ql 0 -1", "*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n"},
        {"ZRANGE zt 0 -1 WITHSCORES",
         "*6\r\n$1\r\nw\r\n$4\r\n-inf\r\n$1\r\nx\r\n$3\r\n1.5\r\n$1\r\ny\r\n$3\r\ninf\r\n"},
        {"LRANGE pl 0 -1", "*2\r\n$1\r\np\r\n$1\r\nq\r\n"},
        {"PEXPIRETIME pl", ":2130706432000\r\n"},
    };
    for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
        char *got = run(checks[i][0]);
        if (strcmp(got, checks[i][1]) != 0)
            fail_msg("%s: got %s", checks[i][0], got);
        free(got);
    }
    buffer_release(&file);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_every_type),
        cmocka_unit_test(test_corruption_refused),
        cmocka_unit_test(test_random_damage_never_crashes),
        cmocka_unit_test(test_dump_payload_matches_redis),
        cmocka_unit_test(test_old_encodings_load),
        cmocka_unit_test(test_native_types),
        cmocka_unit_test(test_rdb11_forms),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
