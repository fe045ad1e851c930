/* Propagation: what a command changed, as commands that replay to the same
 * data set whenever and however often they are replayed.
 *
 * Every execution is bracketed by propagate_call_begin/end (dispatch_call,
 * which EXEC and scripts use for their inner commands, and blocking.c's
 * retry). The keyspace's modified hook tells us which keys a call touched.
 * At the end of a call that touched something we pick a rule by command:
 *
 *  - most commands are deterministic: their argv is written as it came;
 *  - relative times become absolute (EXPIRE -> PEXPIREAT, SET EX -> SET
 *    PXAT, SETEX -> SET PXAT, GETEX -> PEXPIREAT/PERSIST, RESTORE ttl ->
 *    RESTORE ... ABSTTL), read back from the key's actual deadline;
 *  - results the server chose come from the reply (SPOP -> SREM members,
 *    XADD * -> the id, INCRBYFLOAT -> SET KEEPTTL, HINCRBYFLOAT -> HSET);
 *  - blocking pops become their non-blocking form on the key served;
 *  - native primitives, hash field TTL commands and stream group commands
 *    whose state holds clock readings become the key's new state: RESTORE
 *    key <deadline> <DUMP payload> REPLACE ABSTTL, or DEL when it is gone.
 *
 * A call whose changes came from nested calls (EXEC, EVAL) writes only the
 * nested ones; the outermost call's commands go out together, wrapped in
 * MULTI/EXEC when there are several. Expired and evicted keys are written
 * at once as DEL (UNLINK when that deletion is lazy), as Redis does. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rivet/aof.h"
#include "rivet/memory.h"
#include "rivet/number.h"
#include "rivet/rdb.h"
#include "rivet/server.h"
#include "rivet/stream.h"

#define MAX_DEPTH      32
#define MAX_STATE_KEYS 64

typedef enum {
    RULE_VERBATIM,
    RULE_STATE,
    RULE_EXPIRE,     /* EXPIRE family, GETEX: the key's deadline */
    RULE_SETEX,      /* SETEX / PSETEX */
    RULE_SET,        /* SET: EX/PX become PXAT */
    RULE_RESTORE,    /* relative ttl becomes ABSTTL */
    RULE_INCRFLOAT,  /* INCRBYFLOAT */
    RULE_HINCRFLOAT, /* HINCRBYFLOAT */
    RULE_SPOP,
    RULE_XADD,
    RULE_XTRIM,
    RULE_POP_LEFT, /* BLPOP -> LPOP key */
    RULE_POP_RIGHT,
    RULE_ZPOP_MIN,
    RULE_ZPOP_MAX,
    RULE_BLMOVE,
    RULE_BRPOPLPUSH,
    RULE_BLMPOP,
    RULE_BZMPOP,
    RULE_XREADGROUP,
    RULE_XCLAIM,
    RULE_XAUTOCLAIM,
    RULE_HEXPIRE,    /* HEXPIRE / HPEXPIRE -> HPEXPIREAT */
    RULE_HFIELD_TTL, /* HSETEX / HGETEX: EX/PX -> PXAT */
} rule;

typedef struct frame {
    client *c;
    int db;         /* the client's db when the call began */
    int touched;    /* anything changed (keys, flushes) */
    int nested;     /* nested calls produced commands */
    int rule_known; /* rule below computed (at the first touch) */
    rule rule;
    int key_count; /* touched keys recorded (for state-like rules) */
    int overflow;  /* more keys than recorded */
    buffer keys;   /* records: int db, size_t len, bytes */
} frame;

typedef struct batch_item {
    int db;
    size_t offset, len;
} batch_item;

static struct {
    frame frames[MAX_DEPTH];
    int depth;
    buffer batch; /* RESP of the outermost call's commands */
    batch_item *items;
    size_t item_count, item_cap;
    buffer hexpired; /* db + key of the last "hexpired" event */
} state;

static int propagating(void)
{
    return aof_get_status()->enabled;
}

/* ---------- building commands ---------- */

static void resp_command(buffer *out, int argc, const char *const *argv, const size_t *lens)
{
    buffer_appendf(out, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++) {
        buffer_appendf(out, "$%zu\r\n", lens[i]);
        buffer_append(out, argv[i], lens[i]);
        buffer_append(out, "\r\n", 2);
    }
}

/* Adds one command to the outermost call's batch (or writes it at once
 * outside any call: active expiry, timers). */
static void emit(int db, int argc, const char *const *argv, const size_t *lens)
{
    if (state.depth == 0) {
        aof_feed(db, argc, argv, lens);
        return;
    }
    if (state.item_count == state.item_cap) {
        state.item_cap = state.item_cap ? state.item_cap * 2 : 8;
        state.items = mem_realloc(state.items, state.item_cap * sizeof(*state.items));
    }
    batch_item *item = &state.items[state.item_count++];
    item->db = db;
    item->offset = state.batch.len;
    resp_command(&state.batch, argc, argv, lens);
    item->len = state.batch.len - item->offset;
}

/* argv given as C strings (lens computed) for the short fixed commands. */
static void emit_words(int db, int argc, const char *const *argv, const size_t *given_lens)
{
    size_t lens[8];
    for (int i = 0; i < argc; i++)
        lens[i] = given_lens && given_lens[i] != (size_t)-1 ? given_lens[i] : strlen(argv[i]);
    emit(db, argc, argv, lens);
}

static void emit_del(int db, const char *key, size_t len, int lazy)
{
    const char *argv[2] = {lazy ? "UNLINK" : "DEL", key};
    size_t lens[2] = {(size_t)-1, len};
    emit_words(db, 2, argv, lens);
}

static void flush_batch(void)
{
    if (state.item_count == 0)
        return;
    if (state.item_count == 1) {
        aof_feed_raw(state.items[0].db, state.batch.data, state.batch.len);
    } else {
        static const char multi[] = "*1\r\n$5\r\nMULTI\r\n", exec[] = "*1\r\n$4\r\nEXEC\r\n";
        aof_feed_raw(state.items[0].db, multi, sizeof(multi) - 1);
        for (size_t i = 0; i < state.item_count; i++)
            aof_feed_raw(state.items[i].db, state.batch.data + state.items[i].offset,
                         state.items[i].len);
        aof_feed_raw(-1, exec, sizeof(exec) - 1);
    }
    state.item_count = 0;
    buffer_clear(&state.batch);
    if (state.batch.cap > 1 << 20)
        buffer_shrink(&state.batch, 1 << 16);
}

/* RESTORE key <deadline> <payload> REPLACE ABSTTL, or DEL when the key is
 * gone: the key's whole state, independent of when it is replayed. */
static void emit_key_state(int db, const char *key, size_t len)
{
    database *d = keyspace_database(server.keyspace, db);
    kv_entry *e = keyspace_lookup_raw(d, key, len);
    if (e == NULL) {
        emit_del(db, key, len, 0);
        return;
    }
    if (!rdb_entry_serializable(server.keyspace, e)) {
        server_log(LOG_VERBOSE, "AOF: a key of type %s has no serialized form; not written",
                   object_type_name(entry_type(e)));
        return;
    }
    buffer payload;
    buffer_init(&payload);
    rdb_dump_payload(server.keyspace, e, &payload);
    int64_t deadline = entry_expire(e);
    char ttl[32];
    snprintf(ttl, sizeof(ttl), "%lld", (long long)(deadline > 0 ? deadline : 0));
    const char *argv[6] = {"RESTORE", key, ttl, payload.data, "REPLACE", "ABSTTL"};
    size_t lens[6] = {7, len, strlen(ttl), payload.len, 7, 6};
    emit(db, 6, argv, lens);
    buffer_release(&payload);
}

/* ---------- the rules ---------- */

static const struct {
    const char *name;
    rule rule;
} rules[] = {
    {"expire", RULE_EXPIRE},
    {"pexpire", RULE_EXPIRE},
    {"expireat", RULE_EXPIRE},
    {"getex", RULE_EXPIRE},
    {"setex", RULE_SETEX},
    {"psetex", RULE_SETEX},
    {"set", RULE_SET},
    {"restore", RULE_RESTORE},
    {"incrbyfloat", RULE_INCRFLOAT},
    {"hincrbyfloat", RULE_HINCRFLOAT},
    {"spop", RULE_SPOP},
    {"xadd", RULE_XADD},
    {"xtrim", RULE_XTRIM},
    {"blpop", RULE_POP_LEFT},
    {"brpop", RULE_POP_RIGHT},
    {"bzpopmin", RULE_ZPOP_MIN},
    {"bzpopmax", RULE_ZPOP_MAX},
    {"blmove", RULE_BLMOVE},
    {"brpoplpush", RULE_BRPOPLPUSH},
    {"blmpop", RULE_BLMPOP},
    {"bzmpop", RULE_BZMPOP},
    /* Relative field deadlines made absolute. */
    {"xreadgroup", RULE_XREADGROUP},
    {"xclaim", RULE_XCLAIM},
    {"xautoclaim", RULE_XAUTOCLAIM},
    {"hexpire", RULE_HEXPIRE},
    {"hpexpire", RULE_HEXPIRE},
    {"hsetex", RULE_HFIELD_TTL},
    {"hgetex", RULE_HFIELD_TTL},
    {NULL, RULE_VERBATIM},
};

/* Native primitives depend on the clock or on tokens the server picks. */
static const char *const state_prefixes[] = {"rl.",   "cl.",    "counter.", "lock.",
                                             "idem.", "cache.", NULL};

static rule rule_for(const command *cmd)
{
    const char *name = cmd->parent ? cmd->parent->name : cmd->name;
    for (int i = 0; rules[i].name; i++)
        if (strcmp(rules[i].name, name) == 0)
            return rules[i].rule;
    for (int i = 0; state_prefixes[i]; i++)
        if (strncmp(name, state_prefixes[i], strlen(state_prefixes[i])) == 0)
            return RULE_STATE;
    return RULE_VERBATIM;
}

static int is_word(const char *arg, size_t len, const char *word)
{
    return strlen(word) == len && strncasecmp(arg, word, len) == 0;
}

/* The bulk strings of a reply: a bulk, or an array/set of bulks. Returns
 * the count (up to max), -1 when the reply is something else. */
static int reply_bulks(const char *p, size_t len, const char **items, size_t *lens, int max)
{
    const char *end = p + len;
    if (len < 4)
        return -1;
    long long count = 1;
    if (*p == '*' || *p == '~') {
        count = strtoll(p + 1, NULL, 10);
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL || count < 0 || count > max)
            return -1;
        p = nl + 1;
    }
    for (long long i = 0; i < count; i++) {
        if (p >= end || *p != '$')
            return -1;
        long long n = strtoll(p + 1, NULL, 10);
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL || n < 0 || nl + 1 + n + 2 > end)
            return -1;
        items[i] = nl + 1;
        lens[i] = (size_t)n;
        p = nl + 1 + n + 2;
    }
    return (int)count;
}

static kv_entry *frame_entry(const frame *f, const char *key, size_t len)
{
    return keyspace_lookup_raw(keyspace_database(server.keyspace, f->db), key, len);
}

static void emit_deadline(const frame *f, const char *key, size_t len)
{
    kv_entry *e = frame_entry(f, key, len);
    if (e == NULL) {
        emit_del(f->db, key, len, 0);
        return;
    }
    int64_t deadline = entry_expire(e);
    if (deadline < 0) {
        const char *argv[2] = {"PERSIST", key};
        size_t lens[2] = {7, len};
        emit(f->db, 2, argv, lens);
        return;
    }
    char at[32];
    snprintf(at, sizeof(at), "%lld", (long long)deadline);
    const char *argv[3] = {"PEXPIREAT", key, at};
    size_t lens[3] = {9, len, strlen(at)};
    emit(f->db, 3, argv, lens);
}

/* A copy of argv the rules may edit (pointers only). */
typedef struct args {
    int argc;
    const char **argv;
    size_t *lens;
} args;

static args args_copy(const client *c, int extra)
{
    args a = {c->argc, mem_alloc(sizeof(char *) * (size_t)(c->argc + extra)),
              mem_alloc(sizeof(size_t) * (size_t)(c->argc + extra))};
    memcpy(a.argv, c->argv, sizeof(char *) * (size_t)c->argc);
    memcpy(a.lens, c->argv_len, sizeof(size_t) * (size_t)c->argc);
    return a;
}

static void args_release(args *a)
{
    mem_free(a->argv);
    mem_free(a->lens);
}

static void emit_set(const frame *f, const client *c)
{
    kv_entry *e = frame_entry(f, c->argv[1], c->argv_len[1]);
    int64_t deadline = e ? entry_expire(e) : -1;
    char at[32];
    snprintf(at, sizeof(at), "%lld", (long long)deadline);
    args a = args_copy(c, 0);
    for (int i = 3; i + 1 < a.argc; i++) {
        if ((is_word(a.argv[i], a.lens[i], "ex") || is_word(a.argv[i], a.lens[i], "px")) &&
            deadline >= 0) {
            a.argv[i] = "PXAT";
            a.lens[i] = 4;
            a.argv[i + 1] = at;
            a.lens[i + 1] = strlen(at);
            break;
        }
    }
    emit(f->db, a.argc, a.argv, a.lens);
    args_release(&a);
}

static void emit_setex(const frame *f, const client *c)
{
    kv_entry *e = frame_entry(f, c->argv[1], c->argv_len[1]);
    if (e == NULL || entry_expire(e) < 0) {
        emit_key_state(f->db, c->argv[1], c->argv_len[1]);
        return;
    }
    char at[32];
    snprintf(at, sizeof(at), "%lld", (long long)entry_expire(e));
    const char *argv[5] = {"SET", c->argv[1], c->argv[3], "PXAT", at};
    size_t lens[5] = {3, c->argv_len[1], c->argv_len[3], 4, strlen(at)};
    emit(f->db, 5, argv, lens);
}

static void emit_restore(const frame *f, const client *c)
{
    int absolute = 0;
    for (int i = 4; i < c->argc; i++)
        if (is_word(c->argv[i], c->argv_len[i], "absttl"))
            absolute = 1;
    kv_entry *e = frame_entry(f, c->argv[1], c->argv_len[1]);
    if (absolute || e == NULL || entry_expire(e) < 0) {
        emit(f->db, c->argc, c->argv, c->argv_len);
        return;
    }
    char at[32];
    snprintf(at, sizeof(at), "%lld", (long long)entry_expire(e));
    args a = args_copy(c, 1);
    a.argv[2] = at;
    a.lens[2] = strlen(at);
    a.argv[a.argc] = "ABSTTL";
    a.lens[a.argc++] = 6;
    emit(f->db, a.argc, a.argv, a.lens);
    args_release(&a);
}

static void emit_from_reply(const frame *f, const client *c, size_t reply_start, rule r)
{
    const char *items[1];
    size_t lens[1];
    if (reply_bulks(c->reply.out.data + reply_start, c->reply.out.len - reply_start, items, lens,
                    1) != 1) {
        emit_key_state(f->db, c->argv[1], c->argv_len[1]);
        return;
    }
    if (r == RULE_INCRFLOAT) {
        const char *argv[4] = {"SET", c->argv[1], items[0], "KEEPTTL"};
        size_t l[4] = {3, c->argv_len[1], lens[0], 7};
        emit(f->db, 4, argv, l);
    } else {
        const char *argv[4] = {"HSET", c->argv[1], c->argv[2], items[0]};
        size_t l[4] = {4, c->argv_len[1], c->argv_len[2], lens[0]};
        emit(f->db, 4, argv, l);
    }
}

static void emit_spop(const frame *f, const client *c, size_t reply_start)
{
    /* The reply holds each popped member: SREM exactly those. */
    const char *p = c->reply.out.data + reply_start;
    size_t len = c->reply.out.len - reply_start;
    long long count = len > 0 && (*p == '*' || *p == '~') ? strtoll(p + 1, NULL, 10) : 1;
    if (count <= 0 || count > (1 << 24)) {
        emit_key_state(f->db, c->argv[1], c->argv_len[1]);
        return;
    }
    const char **argv = mem_alloc(sizeof(char *) * (size_t)(count + 2));
    size_t *lens = mem_alloc(sizeof(size_t) * (size_t)(count + 2));
    int n = reply_bulks(p, len, argv + 2, lens + 2, (int)count);
    if (n <= 0) {
        emit_key_state(f->db, c->argv[1], c->argv_len[1]);
    } else {
        argv[0] = "SREM";
        lens[0] = 4;
        argv[1] = c->argv[1];
        lens[1] = c->argv_len[1];
        emit(f->db, n + 2, argv, lens);
    }
    mem_free(argv);
    mem_free(lens);
}

/* XADD/XTRIM trimming options from position i: an approximate trim ("~")
 * depends on how entries are packed in nodes, which a reload changes, so
 * it is written as an exact trim to what it left (the length for MAXLEN,
 * the first id for MINID); LIMIT goes with it. Returns the next position. */
static int rewrite_trim(args *a, int i, const stream *s, char *scratch, size_t scratch_size)
{
    int is_maxlen = is_word(a->argv[i], a->lens[i], "maxlen");
    i++;
    int approx = 0;
    if (i < a->argc && a->lens[i] == 1 && (a->argv[i][0] == '~' || a->argv[i][0] == '=')) {
        approx = a->argv[i][0] == '~';
        if (approx) {
            a->argv[i] = "=";
        }
        i++;
    }
    int threshold = i++;
    if (approx && s) {
        if (is_maxlen) {
            snprintf(scratch, scratch_size, "%llu", (unsigned long long)stream_length(s));
        } else if (stream_length(s) > 0) {
            stream_id first = stream_first_id(s);
            snprintf(scratch, scratch_size, "%llu-%llu", (unsigned long long)first.ms,
                     (unsigned long long)first.seq);
        } else {
            scratch[0] = '\0';
        }
        if (scratch[0]) {
            a->argv[threshold] = scratch;
            a->lens[threshold] = strlen(scratch);
        }
    }
    if (i + 1 < a->argc && is_word(a->argv[i], a->lens[i], "limit")) {
        if (approx) {
            /* "=" does not take LIMIT: drop the pair. */
            memmove(a->argv + i, a->argv + i + 2, sizeof(char *) * (size_t)(a->argc - i - 2));
            memmove(a->lens + i, a->lens + i + 2, sizeof(size_t) * (size_t)(a->argc - i - 2));
            a->argc -= 2;
        } else {
            i += 2;
        }
    }
    return i;
}

static const stream *frame_stream(const frame *f, const char *key, size_t len)
{
    kv_entry *e = frame_entry(f, key, len);
    return e && entry_type(e) == OBJECT_STREAM ? entry_object(e) : NULL;
}

static void emit_xadd(const frame *f, const client *c, size_t reply_start, int is_trim)
{
    args a = args_copy(c, 0);
    const stream *s = frame_stream(f, c->argv[1], c->argv_len[1]);
    char scratch[64];
    int i = 2;
    while (i < a.argc) {
        if (!is_trim && is_word(a.argv[i], a.lens[i], "nomkstream")) {
            i++;
        } else if (is_word(a.argv[i], a.lens[i], "maxlen") ||
                   is_word(a.argv[i], a.lens[i], "minid")) {
            i = rewrite_trim(&a, i, s, scratch, sizeof(scratch));
        } else {
            break;
        }
    }
    if (!is_trim && i < a.argc) {
        /* The id the server chose (for "*" or "<ms>-*") is the reply. */
        const char *items[1];
        size_t lens[1];
        if (reply_bulks(c->reply.out.data + reply_start, c->reply.out.len - reply_start, items,
                        lens, 1) == 1) {
            a.argv[i] = items[0];
            a.lens[i] = lens[0];
        }
    }
    emit(f->db, a.argc, a.argv, a.lens);
    args_release(&a);
}

/* ---------- hash field TTLs ----------
 *
 * The same "now" the command used plus its relative time gives the
 * absolute deadline it set; conditions (NX/XX/GT/LT, FNX/FXX) compare
 * against absolute deadlines, so they decide the same way on replay. */

static int absolute_ms(const char *arg, size_t len, int64_t unit, char *out, size_t size)
{
    char text[32];
    if (len == 0 || len >= sizeof(text))
        return 0;
    memcpy(text, arg, len);
    text[len] = '\0';
    char *end;
    long long value = strtoll(text, &end, 10);
    if (*end != '\0' || value < 0 || value > INT64_MAX / 1000 / 4)
        return 0;
    snprintf(out, size, "%lld", (long long)(keyspace_time(server.keyspace) + value * unit));
    return 1;
}

static void emit_hexpire(const frame *f, const client *c)
{
    char at[32];
    int seconds = c->argv_len[0] == 7; /* "hexpire" vs "hpexpire" */
    if (!absolute_ms(c->argv[2], c->argv_len[2], seconds ? 1000 : 1, at, sizeof(at))) {
        emit_key_state(f->db, c->argv[1], c->argv_len[1]);
        return;
    }
    args a = args_copy(c, 0);
    a.argv[0] = "HPEXPIREAT";
    a.lens[0] = 10;
    a.argv[2] = at;
    a.lens[2] = strlen(at);
    emit(f->db, a.argc, a.argv, a.lens);
    args_release(&a);
}

static void emit_hfield_ttl(const frame *f, const client *c)
{
    args a = args_copy(c, 0);
    char at[32];
    for (int i = 2; i + 1 < a.argc && !is_word(a.argv[i], a.lens[i], "fields"); i++) {
        int ex = is_word(a.argv[i], a.lens[i], "ex");
        if (!ex && !is_word(a.argv[i], a.lens[i], "px"))
            continue;
        if (!absolute_ms(a.argv[i + 1], a.lens[i + 1], ex ? 1000 : 1, at, sizeof(at))) {
            args_release(&a);
            emit_key_state(f->db, c->argv[1], c->argv_len[1]);
            return;
        }
        a.argv[i] = "PXAT";
        a.lens[i] = 4;
        a.argv[i + 1] = at;
        a.lens[i + 1] = strlen(at);
        break;
    }
    emit(f->db, a.argc, a.argv, a.lens);
    args_release(&a);
}

/* ---------- stream consumer groups ----------
 *
 * As Redis writes them: each pending entry a command delivered or claimed
 * becomes XCLAIM key group consumer 0 <id> TIME <delivery ms> RETRYCOUNT
 * <n> FORCE JUSTID LASTID <group's last id>, which recreates it exactly;
 * XREADGROUP adds XGROUP SETID with the group's last id and entries read
 * (XGROUP CREATECONSUMER when it delivered nothing). The cost is the
 * entries concerned, not the stream. */

static stream_group *frame_group(int db, const char *key, size_t key_len, const char *group,
                                 size_t group_len)
{
    kv_entry *e = keyspace_lookup_raw(keyspace_database(server.keyspace, db), key, key_len);
    stream *s = e && entry_type(e) == OBJECT_STREAM ? entry_object(e) : NULL;
    return s ? stream_group_find(s, group, group_len) : NULL;
}

static void format_id(char *out, size_t size, stream_id id)
{
    snprintf(out, size, "%llu-%llu", (unsigned long long)id.ms, (unsigned long long)id.seq);
}

static void emit_claim(int db, const char *key, size_t key_len, const stream_group *g,
                       const stream_pending *p)
{
    char last[48], id[48], time[32], count[32];
    format_id(last, sizeof(last), g->last_id);
    format_id(id, sizeof(id), p->id);
    snprintf(time, sizeof(time), "%lld", (long long)p->delivery_time);
    snprintf(count, sizeof(count), "%llu", (unsigned long long)p->delivery_count);
    const char *argv[14] = {
        "XCLAIM", key,          g->name, p->consumer->name, "0",      id,       "TIME",
        time,     "RETRYCOUNT", count,   "FORCE",           "JUSTID", "LASTID", last};
    size_t lens[14] = {6, key_len,      g->name_len, p->consumer->name_len, 1, strlen(id),
                       4, strlen(time), 10,          strlen(count),         5, 6,
                       6, strlen(last)};
    emit(db, 14, argv, lens);
}

/* Pending entries of consumer delivered at `when`: what the command just
 * delivered or claimed (a same-millisecond repeat is written again, which
 * is harmless: the claim sets the same values). */
static int emit_claims_at(int db, const char *key, size_t key_len, const stream_group *g,
                          const char *consumer, size_t consumer_len, int64_t when)
{
    int claimed = 0;
    for (size_t i = 0; i < g->pending_count; i++) {
        const stream_pending *p = g->pending[i];
        if (p->delivery_time != when || p->consumer == NULL ||
            p->consumer->name_len != consumer_len ||
            memcmp(p->consumer->name, consumer, consumer_len) != 0)
            continue;
        emit_claim(db, key, key_len, g, p);
        claimed++;
    }
    return claimed;
}

static void emit_xack(int db, const char *key, size_t key_len, const char *group, size_t group_len,
                      const char *id, size_t id_len)
{
    const char *argv[4] = {"XACK", key, group, id};
    size_t lens[4] = {4, key_len, group_len, id_len};
    emit(db, 4, argv, lens);
}

typedef struct xread_ctx {
    const client *c;
} xread_ctx;

static void emit_xreadgroup_key(void *ctx_ptr, int db, const char *key, size_t key_len)
{
    const client *c = ((const xread_ctx *)ctx_ptr)->c;
    const char *group = c->argv[2], *consumer = c->argv[3];
    size_t group_len = c->argv_len[2], consumer_len = c->argv_len[3];
    stream_group *g = frame_group(db, key, key_len, group, group_len);
    if (g == NULL) {
        emit_key_state(db, key, key_len);
        return;
    }
    if (emit_claims_at(db, key, key_len, g, consumer, consumer_len,
                       keyspace_time(server.keyspace)) == 0) {
        const char *argv[5] = {"XGROUP", "CREATECONSUMER", key, group, consumer};
        size_t lens[5] = {6, 14, key_len, group_len, consumer_len};
        emit(db, 5, argv, lens);
    }
    char last[48], read[32];
    format_id(last, sizeof(last), g->last_id);
    snprintf(read, sizeof(read), "%lld", (long long)g->entries_read);
    const char *argv[7] = {"XGROUP", "SETID", key, group, last, "ENTRIESREAD", read};
    size_t lens[7] = {6, 5, key_len, group_len, strlen(last), 11, strlen(read)};
    emit(db, 7, argv, lens);
}

static int parse_stream_id(const char *s, size_t len, stream_id *id)
{
    char text[48];
    if (len == 0 || len >= sizeof(text))
        return 0;
    memcpy(text, s, len);
    text[len] = '\0';
    char *end;
    if (text[0] < '0' || text[0] > '9')
        return 0;
    id->ms = strtoull(text, &end, 10);
    id->seq = 0;
    if (*end == '-') {
        if (end[1] < '0' || end[1] > '9')
            return 0;
        id->seq = strtoull(end + 1, &end, 10);
    }
    return *end == '\0';
}

/* XCLAIM key group consumer min-idle id... [options]: each id named is
 * written as the claim it now is, or XACK when it left the PEL (its entry
 * was deleted). */
static void emit_xclaim(const frame *f, const client *c)
{
    const char *key = c->argv[1];
    size_t key_len = c->argv_len[1];
    stream_group *g = frame_group(f->db, key, key_len, c->argv[2], c->argv_len[2]);
    if (g == NULL) {
        emit_key_state(f->db, key, key_len);
        return;
    }
    for (int i = 5; i < c->argc; i++) {
        stream_id id;
        if (!parse_stream_id(c->argv[i], c->argv_len[i], &id))
            break; /* the options start */
        const stream_pending *p = stream_pending_find(g, id);
        if (p && p->consumer)
            emit_claim(f->db, key, key_len, g, p);
        else
            emit_xack(f->db, key, key_len, c->argv[2], c->argv_len[2], c->argv[i], c->argv_len[i]);
    }
}

/* One RESP value at p: where the next begins, or NULL if malformed. */
static const char *resp_skip(const char *p, const char *end)
{
    if (p >= end)
        return NULL;
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (nl == NULL)
        return NULL;
    long long n = strtoll(p + 1, NULL, 10);
    switch (*p) {
    case '$':
    case '=':
    case '!':
        return n < 0 ? nl + 1 : (nl + 1 + n + 2 <= end ? nl + 1 + n + 2 : NULL);
    case '*':
    case '~':
    case '>':
    case '%': {
        long long items = *p == '%' ? n * 2 : n;
        const char *q = nl + 1;
        for (long long i = 0; i < items && q; i++)
            q = resp_skip(q, end);
        return q;
    }
    default:
        return nl + 1;
    }
}

/* XAUTOCLAIM key group consumer min-idle start [COUNT n] [JUSTID]: the
 * entries it claimed are the consumer's with this command's delivery time;
 * the ids it dropped because their entries were deleted (the reply's third
 * element) become XACK. */
static void emit_xautoclaim(const frame *f, const client *c, size_t reply_start)
{
    const char *key = c->argv[1];
    size_t key_len = c->argv_len[1];
    stream_group *g = frame_group(f->db, key, key_len, c->argv[2], c->argv_len[2]);
    if (g == NULL) {
        emit_key_state(f->db, key, key_len);
        return;
    }
    emit_claims_at(f->db, key, key_len, g, c->argv[3], c->argv_len[3],
                   keyspace_time(server.keyspace));
    const char *p = c->reply.out.data + reply_start;
    const char *end = c->reply.out.data + c->reply.out.len;
    if (p >= end || *p != '*' || strtoll(p + 1, NULL, 10) != 3)
        return;
    p = memchr(p, '\n', (size_t)(end - p));
    p = p ? resp_skip(p + 1, end) : NULL; /* cursor */
    p = p ? resp_skip(p, end) : NULL;     /* claimed */
    if (p == NULL || (*p != '*' && *p != '~'))
        return;
    long long count = strtoll(p + 1, NULL, 10);
    if (count <= 0 || count > (1 << 20))
        return;
    const char **ids = mem_alloc(sizeof(char *) * (size_t)count);
    size_t *lens = mem_alloc(sizeof(size_t) * (size_t)count);
    int n = reply_bulks(p, (size_t)(end - p), ids, lens, (int)count);
    for (int i = 0; i < n; i++)
        emit_xack(f->db, key, key_len, c->argv[2], c->argv_len[2], ids[i], lens[i]);
    mem_free(ids);
    mem_free(lens);
}

/* ---------- touched keys ---------- */

typedef void (*key_visit)(void *ctx, int db, const char *key, size_t len);

static void frame_each_key(const frame *f, key_visit visit, void *ctx)
{
    size_t pos = 0;
    while (pos < f->keys.len) {
        int db;
        size_t len;
        memcpy(&db, f->keys.data + pos, sizeof(db));
        memcpy(&len, f->keys.data + pos + sizeof(db), sizeof(len));
        pos += sizeof(db) + sizeof(len);
        visit(ctx, db, f->keys.data + pos, len);
        pos += len;
    }
}

static int frame_has_key(const frame *f, int db, const char *key, size_t len)
{
    size_t pos = 0;
    while (pos < f->keys.len) {
        int kdb;
        size_t klen;
        memcpy(&kdb, f->keys.data + pos, sizeof(kdb));
        memcpy(&klen, f->keys.data + pos + sizeof(kdb), sizeof(klen));
        pos += sizeof(kdb) + sizeof(klen);
        if (kdb == db && klen == len && memcmp(f->keys.data + pos, key, len) == 0)
            return 1;
        pos += klen;
    }
    return 0;
}

static void frame_add_key(frame *f, int db, const char *key, size_t len)
{
    if (frame_has_key(f, db, key, len))
        return;
    if (f->key_count == MAX_STATE_KEYS) {
        f->overflow = 1;
        return;
    }
    buffer_append(&f->keys, (const char *)&db, sizeof(db));
    buffer_append(&f->keys, (const char *)&len, sizeof(len));
    buffer_append(&f->keys, key, len);
    f->key_count++;
}

static void visit_state(void *ctx, int db, const char *key, size_t len)
{
    (void)ctx;
    emit_key_state(db, key, len);
}

typedef struct first_key {
    int db;
    const char *key;
    size_t len;
} first_key;

static void visit_first(void *ctx, int db, const char *key, size_t len)
{
    first_key *k = ctx;
    if (k->key == NULL) {
        k->db = db;
        k->key = key;
        k->len = len;
    }
}

/* BLPOP and friends become the pop they performed, on the key served. */
static void emit_pop(const frame *f, const client *c, rule r)
{
    first_key k = {0, NULL, 0};
    frame_each_key(f, visit_first, &k);
    if (k.key == NULL)
        return;
    const char *name = r == RULE_POP_LEFT    ? "LPOP"
                       : r == RULE_POP_RIGHT ? "RPOP"
                       : r == RULE_ZPOP_MIN  ? "ZPOPMIN"
                                             : "ZPOPMAX";
    const char *argv[3] = {name, k.key, NULL};
    size_t lens[3] = {strlen(name), k.len, 0};
    int argc = 2;
    char count[32];
    if (r == RULE_BLMPOP || r == RULE_BZMPOP) {
        /* BLMPOP timeout numkeys key... LEFT|RIGHT [COUNT n] */
        long long numkeys = strtoll(c->argv[2], NULL, 10);
        int where = 3 + (int)numkeys;
        int left = where < c->argc && (is_word(c->argv[where], c->argv_len[where], "left") ||
                                       is_word(c->argv[where], c->argv_len[where], "min"));
        argv[0] = r == RULE_BLMPOP ? (left ? "LPOP" : "RPOP") : (left ? "ZPOPMIN" : "ZPOPMAX");
        lens[0] = strlen(argv[0]);
        long long n = 1;
        if (where + 2 < c->argc && is_word(c->argv[where + 1], c->argv_len[where + 1], "count"))
            n = strtoll(c->argv[where + 2], NULL, 10);
        snprintf(count, sizeof(count), "%lld", n);
        argv[2] = count;
        lens[2] = strlen(count);
        argc = 3;
    }
    emit(k.db, argc, argv, lens);
}

static void emit_move(const frame *f, const client *c, rule r)
{
    if (r == RULE_BLMOVE) {
        const char *argv[5] = {"LMOVE", c->argv[1], c->argv[2], c->argv[3], c->argv[4]};
        size_t lens[5] = {5, c->argv_len[1], c->argv_len[2], c->argv_len[3], c->argv_len[4]};
        emit(f->db, 5, argv, lens);
    } else {
        const char *argv[3] = {"RPOPLPUSH", c->argv[1], c->argv[2]};
        size_t lens[3] = {9, c->argv_len[1], c->argv_len[2]};
        emit(f->db, 3, argv, lens);
    }
}

static void emit_call(frame *f, const command *cmd, size_t reply_start)
{
    client *c = f->c;
    switch (f->rule) {
    case RULE_VERBATIM:
        emit(f->db, c->argc, c->argv, c->argv_len);
        break;
    case RULE_STATE:
        if (f->overflow)
            server_log(LOG_WARNING, "AOF: %s changed more than %d keys; only those are written",
                       cmd->name, MAX_STATE_KEYS);
        frame_each_key(f, visit_state, NULL);
        break;
    case RULE_EXPIRE:
        emit_deadline(f, c->argv[1], c->argv_len[1]);
        break;
    case RULE_SETEX:
        emit_setex(f, c);
        break;
    case RULE_SET:
        emit_set(f, c);
        break;
    case RULE_RESTORE:
        emit_restore(f, c);
        break;
    case RULE_INCRFLOAT:
    case RULE_HINCRFLOAT:
        emit_from_reply(f, c, reply_start, f->rule);
        break;
    case RULE_SPOP:
        emit_spop(f, c, reply_start);
        break;
    case RULE_XADD:
    case RULE_XTRIM:
        emit_xadd(f, c, reply_start, f->rule == RULE_XTRIM);
        break;
    case RULE_POP_LEFT:
    case RULE_POP_RIGHT:
    case RULE_ZPOP_MIN:
    case RULE_ZPOP_MAX:
    case RULE_BLMPOP:
    case RULE_BZMPOP:
        emit_pop(f, c, f->rule);
        break;
    case RULE_BLMOVE:
    case RULE_BRPOPLPUSH:
        emit_move(f, c, f->rule);
        break;
    case RULE_XREADGROUP: {
        xread_ctx ctx = {c};
        frame_each_key(f, emit_xreadgroup_key, &ctx);
        break;
    }
    case RULE_XCLAIM:
        emit_xclaim(f, c);
        break;
    case RULE_XAUTOCLAIM:
        emit_xautoclaim(f, c, reply_start);
        break;
    case RULE_HEXPIRE:
        emit_hexpire(f, c);
        break;
    case RULE_HFIELD_TTL:
        emit_hfield_ttl(f, c);
        break;
    }
}

/* ---------- the hooks ---------- */

void propagate_call_begin(client *c)
{
    if (state.depth == MAX_DEPTH) {
        state.depth++; /* deeper calls are not tracked; scripts cannot nest this far */
        return;
    }
    frame *f = &state.frames[state.depth++];
    f->c = c;
    f->db = c->db ? database_id(c->db) : 0;
    f->touched = 0;
    f->nested = 0;
    f->rule_known = 0;
    f->key_count = 0;
    f->overflow = 0;
    buffer_clear(&f->keys);
}

void propagate_call_end(client *c, const command *cmd, size_t reply_start)
{
    (void)c;
    if (state.depth > MAX_DEPTH) {
        state.depth--;
        return;
    }
    frame *f = &state.frames[--state.depth];
    /* Only write commands are written: DEBUG RELOAD and the like change
     * the data set without being changes to replay. */
    if (f->touched && !f->nested && propagating() && (cmd->flags & CMD_WRITE)) {
        if (!f->rule_known)
            f->rule = rule_for(cmd);
        emit_call(f, cmd, reply_start);
    }
    if (f->touched && state.depth > 0)
        state.frames[state.depth - 1].nested = 1;
    if (f->keys.cap > 4096)
        buffer_shrink(&f->keys, 256);
    if (state.depth == 0)
        flush_batch();
}

void propagate_key_modified(database *db, const char *key, size_t key_len, const char *event)
{
    if (!propagating())
        return;
    int dbid = database_id(db);
    if (key && (strcmp(event, "expired") == 0 || strcmp(event, "evicted") == 0)) {
        int lazy = event[1] == 'x' ? server.config.lazyfree_lazy_expire
                                   : server.config.lazyfree_lazy_eviction;
        const char *argv[2] = {lazy ? "UNLINK" : "DEL", key};
        size_t lens[2] = {lazy ? 6u : 3u, key_len};
        aof_feed(dbid, 2, argv, lens); /* at once, before the call's own effects */
        return;
    }
    if (key && strcmp(event, "hexpired") == 0) {
        /* Hash fields ran out. Nothing to write: the file holds their
         * absolute deadlines, so a replay drops them at the same point
         * (every hash access reclaims due fields first), and writing the
         * hash's state here would cost its whole size per expiry. */
        buffer_clear(&state.hexpired);
        buffer_append(&state.hexpired, (const char *)&dbid, sizeof(dbid));
        buffer_append(&state.hexpired, key, key_len);
        return;
    }
    if (key && state.hexpired.len == sizeof(dbid) + key_len && strcmp(event, "del") == 0 &&
        memcmp(state.hexpired.data, &dbid, sizeof(dbid)) == 0 &&
        memcmp(state.hexpired.data + sizeof(dbid), key, key_len) == 0) {
        /* ...and emptied the hash, which went with them: like an expired
         * key, a DEL at once (even during a read such as HGET). */
        buffer_clear(&state.hexpired);
        const char *argv[2] = {"DEL", key};
        size_t lens[2] = {3, key_len};
        aof_feed(dbid, 2, argv, lens);
        return;
    }
    buffer_clear(&state.hexpired);
    if (state.depth == 0 || state.depth > MAX_DEPTH) {
        /* A change outside any command (timers): its state, at once. */
        if (key)
            emit_key_state(dbid, key, key_len);
        return;
    }
    frame *f = &state.frames[state.depth - 1];
    f->touched = 1;
    if (key == NULL)
        return;
    if (!f->rule_known && f->c->command) {
        f->rule = rule_for(f->c->command);
        f->rule_known = 1;
    }
    if (f->rule_known && f->rule == RULE_VERBATIM)
        return;
    frame_add_key(f, dbid, key, key_len);
}
