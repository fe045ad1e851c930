/* Writing snapshots and DUMP payloads.
 *
 * Every byte goes through an rdb_writer: a buffer that is flushed to the
 * file descriptor once it holds 64 KB (or kept whole for DUMP and tests),
 * with the CRC64 folded in as bytes leave it. Each standard type is written
 * in a form Redis 7.0 loads, preferring the packed forms Redis itself writes
 * for small values (intset, listpack hash/zset, quicklist of listpacks) so a
 * snapshot stays compact and DUMP payloads look like Redis's. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rdb_format.h"
#include "rdb_packed.h"
#include "rivet/crc64.h"
#include "rivet/field_table.h"
#include "rivet/hash_access.h"
#include "rivet/intset.h"
#include "rivet/listpack.h"
#include "rivet/lzf.h"
#include "rivet/member_table.h"
#include "rivet/memory.h"
#include "rivet/number.h"
#include "rivet/quicklist.h"
#include "rivet/rdb.h"
#include "rivet/script.h"
#include "rivet/server.h"
#include "rivet/stream.h"
#include "rivet/zset_access.h"

#define WRITER_FLUSH_BYTES (64 * 1024)
/* Redis only tries LZF on strings longer than this. */
#define LZF_MIN_LENGTH 20

typedef struct rdb_writer {
    buffer buf;
    size_t checked; /* bytes of buf already folded into crc */
    int fd;         /* -1: everything stays in buf */
    uint64_t crc;
    int checksum;
    int compress;
    int error; /* errno of the first failed write */
    /* In a snapshot the key sits between the type byte and the value;
     * put_type writes it when set (DUMP payloads have none). */
    const char *key;
    size_t key_len;
} rdb_writer;

unsigned long long rdb_native_module_id(void)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned long long id = 0;
    for (const char *p = RDB_NATIVE_MODULE_NAME; *p; p++)
        id = id << 6 | (unsigned long long)(strchr(alphabet, *p) - alphabet);
    return id << 10 | RDB_NATIVE_ENCVER;
}

static void writer_init(rdb_writer *w, int fd, const rdb_save_options *options)
{
    buffer_init(&w->buf);
    w->checked = 0;
    w->fd = fd;
    w->crc = 0;
    w->checksum = options->checksum;
    w->compress = options->compress;
    w->error = 0;
    w->key = NULL;
    w->key_len = 0;
}

static void writer_fold_crc(rdb_writer *w)
{
    if (w->checksum && w->buf.len > w->checked)
        w->crc = crc64_update(w->crc, w->buf.data + w->checked, w->buf.len - w->checked);
    w->checked = w->buf.len;
}

static void writer_flush(rdb_writer *w)
{
    if (w->fd < 0)
        return;
    writer_fold_crc(w);
    size_t done = 0;
    while (done < w->buf.len && !w->error) {
        ssize_t n = write(w->fd, w->buf.data + done, w->buf.len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            w->error = n < 0 ? errno : EIO;
        else
            done += (size_t)n;
    }
    buffer_clear(&w->buf);
    w->checked = 0;
}

static void put_raw(rdb_writer *w, const void *data, size_t len)
{
    buffer_append(&w->buf, data, len);
    if (w->buf.len >= WRITER_FLUSH_BYTES)
        writer_flush(w);
}

static void put_byte(rdb_writer *w, unsigned value)
{
    unsigned char b = (unsigned char)value;
    put_raw(w, &b, 1);
}

static void put_le(rdb_writer *w, uint64_t v, int bytes)
{
    unsigned char b[8];
    for (int i = 0; i < bytes; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    put_raw(w, b, (size_t)bytes);
}

static void put_be(rdb_writer *w, uint64_t v, int bytes)
{
    unsigned char b[8];
    for (int i = 0; i < bytes; i++)
        b[i] = (unsigned char)(v >> (8 * (bytes - 1 - i)));
    put_raw(w, b, (size_t)bytes);
}

static void put_len(rdb_writer *w, uint64_t len)
{
    if (len < 64) {
        put_byte(w, (unsigned)len);
    } else if (len < 16384) {
        put_byte(w, (unsigned)(0x40 | (len >> 8)));
        put_byte(w, (unsigned)(len & 0xFF));
    } else if (len <= UINT32_MAX) {
        put_byte(w, RDB_LEN_32BIT);
        put_be(w, len, 4);
    } else {
        put_byte(w, RDB_LEN_64BIT);
        put_be(w, len, 8);
    }
}

/* Integers in int8/16/32 range get Redis's compact string encodings. */
static int put_encoded_integer(rdb_writer *w, int64_t v)
{
    if (v >= INT8_MIN && v <= INT8_MAX) {
        put_byte(w, 0xC0 | RDB_ENC_INT8);
        put_le(w, (uint64_t)v, 1);
    } else if (v >= INT16_MIN && v <= INT16_MAX) {
        put_byte(w, 0xC0 | RDB_ENC_INT16);
        put_le(w, (uint64_t)v, 2);
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
        put_byte(w, 0xC0 | RDB_ENC_INT32);
        put_le(w, (uint64_t)v, 4);
    } else {
        return 0;
    }
    return 1;
}

static int put_compressed(rdb_writer *w, const char *data, size_t len)
{
    /* Worth it only if it saves more than the two lengths cost. Short
     * strings (the common case) compress into a stack buffer. */
    size_t cap = len - 4;
    char stack[1024];
    char *out = cap <= sizeof(stack) ? stack : mem_alloc(cap);
    size_t n = lzf_compress(data, len, out, cap);
    if (n > 0) {
        put_byte(w, 0xC0 | RDB_ENC_LZF);
        put_len(w, n);
        put_len(w, len);
        put_raw(w, out, n);
    }
    if (out != stack)
        mem_free(out);
    return n > 0;
}

static void put_string(rdb_writer *w, const char *data, size_t len)
{
    int64_t v;
    if (len <= 11 && number_parse_int64(data, len, &v) && put_encoded_integer(w, v))
        return;
    if (w->compress && len > LZF_MIN_LENGTH && put_compressed(w, data, len))
        return;
    put_len(w, len);
    put_raw(w, data, len);
}

static void put_integer_string(rdb_writer *w, int64_t v)
{
    if (put_encoded_integer(w, v))
        return;
    char text[24];
    size_t n = number_format_int64(text, v);
    put_len(w, n);
    put_raw(w, text, n);
}

static void put_double(rdb_writer *w, double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof(bits));
    put_le(w, bits, 8);
}

static void put_type(rdb_writer *w, unsigned type)
{
    put_byte(w, type);
    if (w->key) {
        put_string(w, w->key, w->key_len);
        w->key = NULL;
    }
}

static void put_blob(rdb_writer *w, const buffer *blob)
{
    put_string(w, blob->data, blob->len);
}

/* ---------- values ---------- */

static void save_list(rdb_writer *w, const quicklist *ql)
{
    put_type(w, RDB_TYPE_LIST_QUICKLIST_2);
    size_t nodes = 0;
    for (const quicklist_node *n = ql->head; n; n = n->next)
        nodes += n->count > 0;
    put_len(w, nodes);
    buffer blob;
    buffer_init(&blob);
    for (const quicklist_node *n = ql->head; n; n = n->next) {
        if (n->count == 0)
            continue;
        packed_writer pw;
        buffer_clear(&blob);
        packed_writer_begin(&pw, &blob);
        for (size_t pos = listpack_first(n->entries); pos != LISTPACK_NONE;
             pos = listpack_next(n->entries, pos)) {
            listpack_entry e;
            listpack_get(n->entries, pos, &e);
            if (e.data)
                packed_writer_append(&pw, e.data, e.len);
            else
                packed_writer_append_integer(&pw, e.integer);
        }
        packed_writer_finish(&pw);
        put_len(w, RDB_QUICKLIST_PACKED);
        put_blob(w, &blob);
    }
    buffer_release(&blob);
}

static void save_set(rdb_writer *w, object_encoding encoding, void *ptr)
{
    if (encoding == ENCODING_INTSET) {
        const intset *set = ptr;
        size_t count = intset_length(set);
        int width = intset_width(set);
        buffer blob;
        buffer_init(&blob);
        unsigned char b[8];
        for (int i = 0; i < 4; i++)
            b[i] = (unsigned char)((unsigned)width >> (8 * i));
        for (int i = 0; i < 4; i++)
            b[4 + i] = (unsigned char)(count >> (8 * i));
        buffer_append(&blob, b, 8);
        for (size_t i = 0; i < count; i++) {
            uint64_t v = (uint64_t)intset_get(set, i);
            for (int k = 0; k < width; k++)
                b[k] = (unsigned char)(v >> (8 * k));
            buffer_append(&blob, b, (size_t)width);
        }
        put_type(w, RDB_TYPE_SET_INTSET);
        put_blob(w, &blob);
        buffer_release(&blob);
        return;
    }
    put_type(w, RDB_TYPE_SET);
    if (encoding == ENCODING_LISTPACK) {
        const listpack *lp = ptr;
        put_len(w, listpack_length(lp));
        for (size_t pos = listpack_first(lp); pos != LISTPACK_NONE; pos = listpack_next(lp, pos)) {
            listpack_entry e;
            listpack_get(lp, pos, &e);
            if (e.data)
                put_string(w, e.data, e.len);
            else
                put_integer_string(w, e.integer);
        }
        return;
    }
    member_table *table = ptr;
    put_len(w, member_table_size(table));
    member_table_iterator it;
    member_table_iterator_init(&it, table);
    member *m;
    while ((m = member_table_iterator_next(&it)) != NULL) {
        size_t len;
        const char *data = member_bytes(m, &len);
        put_string(w, data, len);
    }
    member_table_iterator_release(&it);
}

typedef struct zset_save_ctx {
    rdb_writer *w;
    packed_writer *pw;
} zset_save_ctx;

static void zset_save_pair(void *ctx, const char *member, size_t len, double score)
{
    zset_save_ctx *z = ctx;
    put_string(z->w, member, len);
    put_double(z->w, score);
}

static void zset_pack_pair(void *ctx, const char *member, size_t len, double score)
{
    zset_save_ctx *z = ctx;
    packed_writer_append(z->pw, member, len);
    char text[64];
    packed_writer_append(z->pw, text, number_format_double(text, score));
}

static void save_zset(rdb_writer *w, object_encoding encoding, void *ptr)
{
    zset_save_ctx ctx = {w, NULL};
    if (encoding == ENCODING_LISTPACK) {
        buffer blob;
        buffer_init(&blob);
        packed_writer pw;
        packed_writer_begin(&pw, &blob);
        ctx.pw = &pw;
        zset_value_walk(encoding, ptr, zset_pack_pair, &ctx);
        packed_writer_finish(&pw);
        put_type(w, RDB_TYPE_ZSET_LISTPACK);
        put_blob(w, &blob);
        buffer_release(&blob);
        return;
    }
    put_type(w, RDB_TYPE_ZSET_2);
    put_len(w, zset_value_length(encoding, ptr));
    zset_value_walk(encoding, ptr, zset_save_pair, &ctx);
}

static void append_le(buffer *b, uint64_t v, int bytes)
{
    unsigned char x[8];
    for (int i = 0; i < bytes; i++)
        x[i] = (unsigned char)(v >> (8 * i));
    buffer_append(b, x, (size_t)bytes);
}

static void put_native_record(rdb_writer *w, object_type type, const buffer *bytes);

/* Redis 7.0 has no field TTLs, so a hash that has them is written as a
 * Rivet module record: per live field, u32 length + field, u32 length +
 * value, i64 deadline (-1 = none), all little endian. */
static void save_hash_with_ttls(rdb_writer *w, void *ptr, int64_t now_ms)
{
    field_table *table;
    field_expiry *expiry;
    hash_value_parts(ENCODING_HASHTABLE_TTL, ptr, &table, &expiry);
    buffer bytes;
    buffer_init(&bytes);
    field_table_iterator it;
    field_table_iterator_init(&it, table);
    field_pair pair;
    while (field_table_iterator_next(&it, &pair)) {
        int64_t deadline = field_expiry_get(expiry, pair.field, pair.field_len);
        if (deadline >= 0 && deadline < now_ms)
            continue;
        append_le(&bytes, pair.field_len, 4);
        buffer_append(&bytes, pair.field, pair.field_len);
        append_le(&bytes, pair.value_len, 4);
        buffer_append(&bytes, pair.value, pair.value_len);
        append_le(&bytes, (uint64_t)deadline, 8);
    }
    field_table_iterator_release(&it);
    put_native_record(w, OBJECT_HASH, &bytes);
    buffer_release(&bytes);
}

static void save_hash(rdb_writer *w, object_encoding encoding, void *ptr)
{
    if (encoding == ENCODING_LISTPACK) {
        const listpack *lp = ptr;
        buffer blob;
        buffer_init(&blob);
        packed_writer pw;
        packed_writer_begin(&pw, &blob);
        for (size_t pos = listpack_first(lp); pos != LISTPACK_NONE; pos = listpack_next(lp, pos)) {
            listpack_entry e;
            listpack_get(lp, pos, &e);
            if (e.data)
                packed_writer_append(&pw, e.data, e.len);
            else
                packed_writer_append_integer(&pw, e.integer);
        }
        packed_writer_finish(&pw);
        put_type(w, RDB_TYPE_HASH_LISTPACK);
        put_blob(w, &blob);
        buffer_release(&blob);
        return;
    }
    field_table *table = ptr;
    put_type(w, RDB_TYPE_HASH);
    put_len(w, field_table_size(table));
    field_table_iterator it;
    field_table_iterator_init(&it, table);
    field_pair pair;
    while (field_table_iterator_next(&it, &pair)) {
        put_string(w, pair.field, pair.field_len);
        put_string(w, pair.value, pair.value_len);
    }
    field_table_iterator_release(&it);
}

/* ---------- streams: RDB_TYPE_STREAM_LISTPACKS_2 ---------- */

static void put_stream_id_raw(rdb_writer *w, stream_id id)
{
    put_be(w, id.ms, 8);
    put_be(w, id.seq, 8);
}

/* One listpack node in Redis's stream layout: a master entry (live count,
 * deleted count, the first entry's field names, a 0 terminator), then each
 * entry as flags, ms and seq relative to the node key, its fields (or only
 * its values when they match the master's), and its element count. */
typedef struct stream_node_builder {
    buffer blob;
    packed_writer pw;
    stream_id key;
    size_t count;
    buffer master; /* the master field names, back to back */
    size_t *master_lens;
    size_t master_count;
} stream_node_builder;

/* An entry's items, copied out of the iterator. */
typedef struct stream_items {
    const char **data;
    size_t *lens;
    size_t count, cap;
} stream_items;

static void items_read(stream_items *e, stream_iterator *it, size_t count)
{
    if (count > e->cap) {
        e->cap = count * 2;
        e->data = mem_realloc(e->data, e->cap * sizeof(*e->data));
        e->lens = mem_realloc(e->lens, e->cap * sizeof(*e->lens));
    }
    e->count = count;
    for (size_t i = 0; i < count; i++)
        stream_iterator_item(it, &e->data[i], &e->lens[i]);
}

static void node_begin(stream_node_builder *b, stream_id key, const stream_items *first)
{
    buffer_clear(&b->blob);
    buffer_clear(&b->master);
    b->key = key;
    b->count = 0;
    b->master_count = first->count / 2;
    b->master_lens = mem_realloc(b->master_lens, (b->master_count + 1) * sizeof(size_t));
    packed_writer_begin(&b->pw, &b->blob);
    /* The live count is patched in node_finish (a one-byte integer: the
     * writer keeps nodes under 128 entries). */
    packed_writer_append_integer(&b->pw, 0);
    packed_writer_append_integer(&b->pw, 0); /* deleted */
    packed_writer_append_integer(&b->pw, (int64_t)b->master_count);
    for (size_t i = 0; i < b->master_count; i++) {
        buffer_append(&b->master, first->data[2 * i], first->lens[2 * i]);
        b->master_lens[i] = first->lens[2 * i];
        packed_writer_append(&b->pw, first->data[2 * i], first->lens[2 * i]);
    }
    packed_writer_append_integer(&b->pw, 0);
}

static int fields_match_master(const stream_node_builder *b, const stream_items *e)
{
    if (e->count / 2 != b->master_count)
        return 0;
    const char *p = b->master.data;
    for (size_t i = 0; i < b->master_count; i++) {
        if (e->lens[2 * i] != b->master_lens[i] || memcmp(e->data[2 * i], p, e->lens[2 * i]) != 0)
            return 0;
        p += b->master_lens[i];
    }
    return 1;
}

static void node_add(stream_node_builder *b, stream_id id, const stream_items *e)
{
    int same = fields_match_master(b, e);
    size_t fields = e->count / 2;
    packed_writer_append_integer(&b->pw, same ? RDB_STREAM_SAME_FIELDS : 0);
    packed_writer_append_integer(&b->pw, (int64_t)(id.ms - b->key.ms));
    packed_writer_append_integer(&b->pw, (int64_t)(id.seq - b->key.seq));
    if (!same)
        packed_writer_append_integer(&b->pw, (int64_t)fields);
    for (size_t i = 0; i < fields; i++) {
        if (!same)
            packed_writer_append(&b->pw, e->data[2 * i], e->lens[2 * i]);
        packed_writer_append(&b->pw, e->data[2 * i + 1], e->lens[2 * i + 1]);
    }
    packed_writer_append_integer(&b->pw, (int64_t)(same ? fields + 3 : 2 * fields + 4));
    b->count++;
}

static void node_finish(rdb_writer *w, stream_node_builder *b)
{
    packed_writer_finish(&b->pw);
    b->blob.data[6] = (char)b->count; /* the placeholder, right after the header */
    unsigned char key[16];
    for (int i = 0; i < 8; i++) {
        key[i] = (unsigned char)(b->key.ms >> (56 - 8 * i));
        key[8 + i] = (unsigned char)(b->key.seq >> (56 - 8 * i));
    }
    put_string(w, (const char *)key, sizeof(key));
    put_blob(w, &b->blob);
}

/* Live entries only, per_node (< 128) to a node. */
static void save_stream_nodes(rdb_writer *w, const stream *s, size_t per_node)
{
    /* The record states the node count before the nodes. */
    put_len(w, (stream_length(s) + per_node - 1) / per_node);
    stream_iterator it;
    stream_id all_start = {0, 0}, all_end = {UINT64_MAX, UINT64_MAX};
    stream_iterator_start(&it, s, all_start, all_end, 0);
    stream_node_builder b = {.master_lens = NULL};
    buffer_init(&b.blob);
    buffer_init(&b.master);
    stream_items e = {NULL, NULL, 0, 0};
    stream_id id;
    size_t item_count;
    while (stream_iterator_next(&it, &id, &item_count)) {
        items_read(&e, &it, item_count);
        if (b.count == per_node) {
            node_finish(w, &b);
            b.count = 0;
        }
        if (b.count == 0)
            node_begin(&b, id, &e);
        node_add(&b, id, &e);
    }
    if (b.count > 0)
        node_finish(w, &b);
    mem_free(e.data);
    mem_free(e.lens);
    mem_free(b.master_lens);
    buffer_release(&b.blob);
    buffer_release(&b.master);
}

static void save_stream(rdb_writer *w, const stream *s)
{
    put_type(w, RDB_TYPE_STREAM_LISTPACKS_2);
    /* At most 100 entries a node (Redis's default stream-node-max-entries)
     * keeps each node's live count a one-byte listpack integer. */
    save_stream_nodes(w, s, 100);
    put_len(w, stream_length(s));
    stream_id last = stream_last_id(s), first = stream_first_id(s);
    stream_id max_deleted = stream_max_deleted_id(s);
    put_len(w, last.ms);
    put_len(w, last.seq);
    put_len(w, first.ms);
    put_len(w, first.seq);
    put_len(w, max_deleted.ms);
    put_len(w, max_deleted.seq);
    put_len(w, stream_entries_added(s));
    size_t groups = stream_group_count(s);
    put_len(w, groups);
    for (size_t g = 0; g < groups; g++) {
        const stream_group *group = stream_group_at(s, g);
        put_string(w, group->name, group->name_len);
        put_len(w, group->last_id.ms);
        put_len(w, group->last_id.seq);
        put_len(w, (uint64_t)group->entries_read);
        put_len(w, group->pending_count);
        for (size_t i = 0; i < group->pending_count; i++) {
            const stream_pending *p = group->pending[i];
            put_stream_id_raw(w, p->id);
            put_le(w, (uint64_t)p->delivery_time, 8);
            put_len(w, p->delivery_count);
        }
        put_len(w, group->consumer_count);
        for (size_t c = 0; c < group->consumer_count; c++) {
            const stream_consumer *consumer = group->consumers[c];
            put_string(w, consumer->name, consumer->name_len);
            put_le(w, (uint64_t)consumer->seen_time, 8);
            put_len(w, consumer->pending_count);
            for (size_t i = 0; i < consumer->pending_count; i++)
                put_stream_id_raw(w, consumer->pending[i]->id);
        }
    }
}

/* ---------- native types: one module record ---------- */

static void put_native_record(rdb_writer *w, object_type type, const buffer *bytes)
{
    put_type(w, RDB_TYPE_MODULE_2);
    put_len(w, rdb_native_module_id());
    put_len(w, RDB_MODULE_OPCODE_UINT);
    put_len(w, (uint64_t)type);
    put_len(w, RDB_MODULE_OPCODE_STRING);
    put_len(w, bytes->len);
    put_raw(w, bytes->data, bytes->len);
    put_len(w, RDB_MODULE_OPCODE_EOF);
}

static void save_native(rdb_writer *w, const object_methods *methods, object_type type,
                        const kv_entry *entry)
{
    buffer bytes;
    buffer_init(&bytes);
    methods->save_value(entry_object(entry), entry_encoding(entry), &bytes);
    put_native_record(w, type, &bytes);
    buffer_release(&bytes);
}

int rdb_entry_serializable(keyspace *ks, const kv_entry *entry)
{
    object_type type = entry_type(entry);
    if (type <= OBJECT_STREAM)
        return 1;
    const object_methods *methods = keyspace_type_methods(ks, type);
    return methods && methods->save_value;
}

/* Type byte and value. The caller checked rdb_entry_serializable. */
static void save_value(rdb_writer *w, keyspace *ks, const kv_entry *entry)
{
    object_type type = entry_type(entry);
    object_encoding encoding = entry_encoding(entry);
    void *ptr = entry_object(entry);
    switch (type) {
    case OBJECT_STRING: {
        put_type(w, RDB_TYPE_STRING);
        int64_t v;
        if (entry_string_integer(entry, &v)) {
            put_integer_string(w, v);
        } else {
            char scratch[32];
            size_t len;
            const char *data = entry_string(entry, scratch, &len);
            put_string(w, data, len);
        }
        break;
    }
    case OBJECT_LIST:
        save_list(w, ptr);
        break;
    case OBJECT_SET:
        save_set(w, encoding, ptr);
        break;
    case OBJECT_ZSET:
        save_zset(w, encoding, ptr);
        break;
    case OBJECT_HASH:
        if (encoding == ENCODING_HASHTABLE_TTL)
            save_hash_with_ttls(w, ptr, keyspace_time(ks));
        else
            save_hash(w, encoding, ptr);
        break;
    case OBJECT_STREAM:
        save_stream(w, ptr);
        break;
    default:
        save_native(w, keyspace_type_methods(ks, type), type, entry);
        break;
    }
}

/* ---------- whole snapshots ---------- */

static void put_aux(rdb_writer *w, const char *name, const char *value)
{
    put_byte(w, RDB_OPCODE_AUX);
    put_string(w, name, strlen(name));
    put_string(w, value, strlen(value));
}

static void put_aux_integer(rdb_writer *w, const char *name, int64_t value)
{
    put_byte(w, RDB_OPCODE_AUX);
    put_string(w, name, strlen(name));
    put_integer_string(w, value);
}

typedef struct db_save_ctx {
    rdb_writer *w;
    keyspace *ks;
} db_save_ctx;

static void save_entry(void *ctx, kv_entry *entry)
{
    db_save_ctx *d = ctx;
    if (!rdb_entry_serializable(d->ks, entry))
        return;
    int64_t expire = entry_expire(entry);
    if (expire >= 0) {
        put_byte(d->w, RDB_OPCODE_EXPIRETIME_MS);
        put_le(d->w, (uint64_t)expire, 8);
    }
    d->w->key = entry_key(entry, &d->w->key_len);
    save_value(d->w, d->ks, entry);
}

static void save_library(void *ctx, const char *code, size_t len)
{
    rdb_writer *w = ctx;
    put_byte(w, RDB_OPCODE_FUNCTION2);
    put_string(w, code, len);
}

static void write_snapshot(rdb_writer *w, keyspace *ks)
{
    char magic[16];
    snprintf(magic, sizeof(magic), "REDIS%04d", RDB_VERSION);
    put_raw(w, magic, 9);
    put_aux(w, "redis-ver", RIVET_REDIS_COMPAT_VERSION);
    put_aux_integer(w, "redis-bits", (int64_t)(sizeof(void *) * 8));
    put_aux_integer(w, "ctime", (int64_t)time(NULL));
    put_aux_integer(w, "used-mem", (int64_t)mem_used());
    put_aux_integer(w, "aof-base", 0);
    /* Function libraries go before the data, where Redis puts them. */
    function_for_each_library(save_library, w);
    db_save_ctx ctx = {w, ks};
    for (int i = 0; i < keyspace_database_count(ks); i++) {
        database *db = keyspace_database(ks, i);
        size_t size = keyspace_size(db);
        if (size == 0)
            continue;
        put_byte(w, RDB_OPCODE_SELECTDB);
        put_len(w, (uint64_t)i);
        put_byte(w, RDB_OPCODE_RESIZEDB);
        put_len(w, size);
        put_len(w, keyspace_expires_count(db));
        keyspace_for_each(db, save_entry, &ctx);
    }
    put_byte(w, RDB_OPCODE_EOF);
    writer_fold_crc(w);
    put_le(w, w->checksum ? w->crc : 0, 8);
}

void rdb_save_to_buffer(keyspace *ks, const rdb_save_options *options, buffer *out)
{
    rdb_writer w;
    writer_init(&w, -1, options);
    write_snapshot(&w, ks);
    buffer_append(out, w.buf.data, w.buf.len);
    buffer_release(&w.buf);
}

/* The temp file sits in the target's directory so the rename stays within
 * one file system and is atomic. */
static void temp_path_for(const char *path, char *out, size_t size)
{
    const char *slash = strrchr(path, '/');
    int dir_len = slash ? (int)(slash - path + 1) : 0;
    snprintf(out, size, "%.*stemp-%d.rdb", dir_len, path, (int)getpid());
}

int rdb_save_file(keyspace *ks, const char *path, const rdb_save_options *options, char *err,
                  size_t err_size)
{
    char temp[4096];
    temp_path_for(path, temp, sizeof(temp));
    int fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, err_size,
                 "Failed opening the temp RDB file %s (in server root dir %s) for "
                 "saving: %s",
                 temp, server.config.dir ? server.config.dir : ".", strerror(errno));
        return -1;
    }
    rdb_writer w;
    writer_init(&w, fd, options);
    write_snapshot(&w, ks);
    writer_flush(&w);
    buffer_release(&w.buf);
    if (!w.error && fsync(fd) != 0)
        w.error = errno;
    if (close(fd) != 0 && !w.error)
        w.error = errno;
    if (w.error) {
        snprintf(err, err_size, "Write error saving DB on disk: %s", strerror(w.error));
        unlink(temp);
        return -1;
    }
    if (rename(temp, path) != 0) {
        snprintf(err, err_size, "Error moving temp DB file %s on the final destination %s: %s",
                 temp, path, strerror(errno));
        unlink(temp);
        return -1;
    }
    return 0;
}

/* ---------- DUMP payloads ---------- */

void rdb_dump_payload(keyspace *ks, const kv_entry *entry, buffer *out)
{
    /* Redis compresses DUMP payloads under rdbcompression too, but always
     * checksums them. */
    rdb_save_options options = {.compress = server.config.rdb_compression, .checksum = 1};
    rdb_writer w;
    writer_init(&w, -1, &options);
    save_value(&w, ks, entry);
    put_le(&w, RDB_VERSION, 2);
    uint64_t crc = crc64_update(0, w.buf.data, w.buf.len);
    put_le(&w, crc, 8);
    buffer_append(out, w.buf.data, w.buf.len);
    buffer_release(&w.buf);
}

int rdb_payload_verify(const char *payload, size_t len)
{
    if (len < 10)
        return -1;
    const unsigned char *footer = (const unsigned char *)payload + len - 10;
    unsigned version = footer[0] | (unsigned)footer[1] << 8;
    if (version > RDB_LOAD_VERSION_MAX)
        return -1;
    uint64_t stored = 0;
    for (int i = 7; i >= 0; i--)
        stored = stored << 8 | footer[2 + i];
    return crc64_update(0, payload, len - 8) == stored ? 0 : -1;
}
