/* Reading snapshots and DUMP payloads.
 *
 * The input is one byte range in memory (a file is mapped whole), read
 * through an rdb_reader that checks every length against what is left, so a
 * truncated or corrupted file ends in an error naming the offset, never in a
 * read past the end. Values are rebuilt in the encoding Rivet's own commands
 * would have given them under the current *-max-listpack-* settings, whatever
 * form the file used. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
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
#include "rivet/skiplist.h"
#include "rivet/stream.h"
#include "rivet/zset_access.h"

/* An LZF reference turns 3 bytes into at most 264: a claimed length beyond
 * this ratio cannot be genuine, and refusing it early avoids a huge
 * allocation for a few corrupt bytes. */
#define LZF_MAX_RATIO 90

typedef struct rdb_reader {
    const unsigned char *data;
    size_t len, pos;
    keyspace *ks;
    char *err;
    size_t err_size;
    int failed;
    size_t next_progress; /* offset at which to log progress next */
    int (*between_chunks)(void);
} rdb_reader;

/* Keys loaded between two calls of the between_chunks hook. */
#define CHUNK_KEYS 1024

/* Big files report their progress in the log every tenth of the way. */
#define PROGRESS_MIN_BYTES (64u << 20)

static void report_progress(rdb_reader *r, const rdb_load_stats *stats)
{
    if (r->len < PROGRESS_MIN_BYTES || r->pos < r->next_progress)
        return;
    r->next_progress = r->pos + r->len / 10;
    server_log(LOG_NOTICE, "Loading RDB: %zu%% read, %llu keys loaded", r->pos * 100 / r->len,
               (unsigned long long)stats->keys);
}

static int fail(rdb_reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(rdb_reader *r, const char *fmt, ...)
{
    if (r->failed)
        return 0;
    r->failed = 1;
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (r->err)
        snprintf(r->err, r->err_size, "%s (at offset %zu)", what, r->pos);
    return 0;
}

/* 0 when the hook asked to stop loading. */
static int between_chunks(rdb_reader *r, const rdb_load_stats *stats)
{
    uint64_t records = stats->keys + stats->expired + stats->skipped;
    if (!r->between_chunks || records % CHUNK_KEYS != 0 || !r->between_chunks())
        return 1;
    return fail(r, "Loading aborted: the server is shutting down");
}

static int get_bytes(rdb_reader *r, size_t n, const unsigned char **out)
{
    static const unsigned char none[16];
    *out = none; /* defined even on failure (keeps the compiler's flow analysis quiet) */
    if (n > r->len - r->pos)
        return fail(r, "Unexpected end of data reading %zu bytes", n);
    *out = r->data + r->pos;
    r->pos += n;
    return 1;
}

static int get_byte(rdb_reader *r, unsigned *out)
{
    const unsigned char *p;
    if (!get_bytes(r, 1, &p))
        return 0;
    *out = p[0];
    return 1;
}

static uint64_t le_value(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint64_t be_value(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = v << 8 | p[i];
    return v;
}

static int get_le(rdb_reader *r, int bytes, uint64_t *out)
{
    const unsigned char *p;
    *out = 0;
    if (!get_bytes(r, (size_t)bytes, &p))
        return 0;
    *out = le_value(p, bytes);
    return 1;
}

/* A length, or (with *encoded set) a special string encoding number. */
static int get_len_or_encoding(rdb_reader *r, uint64_t *len, int *encoded)
{
    unsigned b;
    const unsigned char *p;
    *encoded = 0;
    if (!get_byte(r, &b))
        return 0;
    switch (b >> 6) {
    case 0:
        *len = b & 0x3F;
        return 1;
    case 1:
        if (!get_bytes(r, 1, &p))
            return 0;
        *len = (uint64_t)(b & 0x3F) << 8 | p[0];
        return 1;
    case 3:
        *encoded = 1;
        *len = b & 0x3F;
        return 1;
    }
    if (b == RDB_LEN_32BIT && get_bytes(r, 4, &p)) {
        *len = be_value(p, 4);
        return 1;
    }
    if (b == RDB_LEN_64BIT && get_bytes(r, 8, &p)) {
        *len = be_value(p, 8);
        return 1;
    }
    return fail(r, "Unknown length encoding %u", b);
}

static int get_len(rdb_reader *r, uint64_t *len)
{
    int encoded;
    if (!get_len_or_encoding(r, len, &encoded))
        return 0;
    return encoded ? fail(r, "Unexpected string encoding where a length belongs") : 1;
}

/* A string as read: data points into the input, into owned, or into scratch. */
typedef struct rdb_string {
    const char *data;
    size_t len;
    char *owned;
    /* Integer renderings, and LZF strings short enough to skip the heap
     * (most values in a typical snapshot). */
    char scratch[256];
} rdb_string;

static void string_release(rdb_string *s)
{
    if (s->owned != s->scratch)
        mem_free(s->owned);
    s->owned = NULL;
}

static int get_string(rdb_reader *r, rdb_string *s)
{
    uint64_t len;
    int encoded;
    const unsigned char *p;
    s->owned = NULL;
    if (!get_len_or_encoding(r, &len, &encoded))
        return 0;
    if (!encoded) {
        if (!get_bytes(r, len, &p))
            return 0;
        s->data = (const char *)p;
        s->len = len;
        return 1;
    }
    if (len <= RDB_ENC_INT32) {
        int width = 1 << len;
        uint64_t raw;
        if (!get_le(r, width, &raw))
            return 0;
        int64_t v = width == 1 ? (int8_t)raw : width == 2 ? (int16_t)raw : (int32_t)raw;
        s->len = number_format_int64(s->scratch, v);
        s->data = s->scratch;
        return 1;
    }
    if (len != RDB_ENC_LZF)
        return fail(r, "Unknown string encoding %u", (unsigned)len);
    uint64_t compressed, plain;
    if (!get_len(r, &compressed) || !get_len(r, &plain) || !get_bytes(r, compressed, &p))
        return 0;
    if (plain == 0 || plain / LZF_MAX_RATIO > compressed)
        return fail(r, "Invalid LZF lengths %llu/%llu", (unsigned long long)compressed,
                    (unsigned long long)plain);
    s->owned = plain <= sizeof(s->scratch) ? s->scratch : mem_alloc(plain);
    if (lzf_decompress(p, compressed, s->owned, plain) != plain) {
        string_release(s);
        return fail(r, "Invalid LZF compressed string");
    }
    s->data = s->owned;
    s->len = plain;
    return 1;
}

static int parse_score(const char *text, size_t len, double *out)
{
    char buf[128];
    if (len == 0 || len >= sizeof(buf))
        return 0;
    memcpy(buf, text, len);
    buf[len] = '\0';
    char *end;
    *out = strtod(buf, &end);
    return end == buf + len && !isnan(*out);
}

/* ---------- value builders (the encodings Rivet's commands choose) ---------- */

typedef struct set_builder {
    object_encoding encoding;
    void *ptr;
} set_builder;

static void set_builder_init(set_builder *b, uint64_t expected)
{
    if (expected <= (uint64_t)server.config.set_max_intset_entries) {
        b->encoding = ENCODING_INTSET;
        b->ptr = intset_create();
    } else if (expected <= (uint64_t)server.config.set_max_listpack_entries) {
        b->encoding = ENCODING_LISTPACK;
        b->ptr = listpack_create();
    } else {
        b->encoding = ENCODING_HASHTABLE;
        b->ptr = member_table_create();
    }
}

static void set_builder_free(set_builder *b)
{
    if (b->encoding == ENCODING_INTSET)
        intset_free(b->ptr);
    else if (b->encoding == ENCODING_LISTPACK)
        listpack_free(b->ptr);
    else
        member_table_free(b->ptr);
}

static void set_builder_to_table(set_builder *b)
{
    member_table *table = member_table_create();
    if (b->encoding == ENCODING_INTSET) {
        for (size_t i = 0; i < intset_length(b->ptr); i++) {
            char text[24];
            member_table_add(table, text, number_format_int64(text, intset_get(b->ptr, i)));
        }
    } else {
        listpack *lp = b->ptr;
        for (size_t pos = listpack_first(lp); pos != LISTPACK_NONE; pos = listpack_next(lp, pos)) {
            listpack_entry e;
            char scratch[24];
            size_t len;
            listpack_get(lp, pos, &e);
            const char *data = listpack_entry_bytes(&e, scratch, &len);
            member_table_add(table, data, len);
        }
    }
    set_builder_free(b);
    b->encoding = ENCODING_HASHTABLE;
    b->ptr = table;
}

static int fits_set_listpack(size_t count, size_t len)
{
    return count <= (uint64_t)server.config.set_max_listpack_entries &&
           len <= (uint64_t)server.config.set_max_listpack_value;
}

/* 1 when added, 0 for a duplicate (a corrupt set). */
static int set_builder_add(set_builder *b, const char *data, size_t len)
{
    int64_t v;
    if (b->encoding == ENCODING_INTSET) {
        if (number_parse_int64(data, len, &v)) {
            int added;
            b->ptr = intset_add(b->ptr, v, &added);
            return added;
        }
        if (fits_set_listpack(intset_length(b->ptr) + 1, len)) {
            listpack *lp = listpack_create();
            for (size_t i = 0; i < intset_length(b->ptr); i++)
                lp = listpack_append_integer(lp, intset_get(b->ptr, i));
            intset_free(b->ptr);
            b->encoding = ENCODING_LISTPACK;
            b->ptr = lp;
        } else {
            set_builder_to_table(b);
        }
    }
    if (b->encoding == ENCODING_LISTPACK) {
        listpack *lp = b->ptr;
        if (listpack_find(lp, listpack_first(lp), data, len, 0) != LISTPACK_NONE)
            return 0;
        if (fits_set_listpack(listpack_length(lp) + 1, len)) {
            b->ptr = listpack_append(lp, data, len);
            return 1;
        }
        set_builder_to_table(b);
    }
    return member_table_add(b->ptr, data, len);
}

typedef struct hash_builder {
    object_encoding encoding;
    void *ptr;
} hash_builder;

static void hash_builder_init(hash_builder *b, uint64_t expected)
{
    if (expected <= (uint64_t)server.config.hash_max_listpack_entries) {
        b->encoding = ENCODING_LISTPACK;
        b->ptr = listpack_create();
    } else {
        b->encoding = ENCODING_HASHTABLE;
        b->ptr = field_table_create();
    }
}

static int hash_builder_add(hash_builder *b, const char *field, size_t field_len, const char *value,
                            size_t value_len)
{
    if (b->encoding == ENCODING_LISTPACK) {
        listpack *lp = b->ptr;
        if (listpack_find(lp, listpack_first(lp), field, field_len, 1) != LISTPACK_NONE)
            return 0;
        uint64_t max_value = (uint64_t)server.config.hash_max_listpack_value;
        if (listpack_length(lp) / 2 + 1 <= (uint64_t)server.config.hash_max_listpack_entries &&
            field_len <= max_value && value_len <= max_value) {
            lp = listpack_append(lp, field, field_len);
            b->ptr = listpack_append(lp, value, value_len);
            return 1;
        }
        field_table *table = field_table_create();
        for (size_t pos = listpack_first(lp); pos != LISTPACK_NONE;) {
            listpack_entry fe, ve;
            char fs[24], vs[24];
            size_t fl, vl;
            size_t vpos = listpack_next(lp, pos);
            listpack_get(lp, pos, &fe);
            listpack_get(lp, vpos, &ve);
            const char *f = listpack_entry_bytes(&fe, fs, &fl);
            const char *v = listpack_entry_bytes(&ve, vs, &vl);
            field_table_add(table, f, fl, v, vl);
            pos = listpack_next(lp, vpos);
        }
        listpack_free(lp);
        b->encoding = ENCODING_HASHTABLE;
        b->ptr = table;
    }
    return field_table_set(b->ptr, field, field_len, value, value_len);
}

/* ---------- values ---------- */

static void value_init(rdb_value *v, object_type type)
{
    memset(v, 0, sizeof(*v));
    v->type = type;
}

static int load_list_blob_into(rdb_reader *r, const rdb_string *blob, int ziplist, quicklist *ql)
{
    packed_cursor cur;
    size_t count;
    const unsigned char *p = (const unsigned char *)blob->data;
    int ok = ziplist ? packed_ziplist_open(&cur, p, blob->len, &count)
                     : packed_listpack_open(&cur, p, blob->len, &count);
    if (!ok)
        return fail(r, "Malformed %s", ziplist ? "ziplist" : "listpack");
    packed_item item;
    int rc;
    while ((rc = packed_next(&cur, &item)) == 1) {
        char scratch[24];
        size_t len;
        const char *data = packed_item_bytes(&item, scratch, &len);
        quicklist_push(ql, QUICKLIST_TAIL, data, len);
    }
    return rc == 0 ? 1 : fail(r, "Malformed %s entry", ziplist ? "ziplist" : "listpack");
}

static int load_list(rdb_reader *r, int rdb_type, rdb_value *v)
{
    quicklist *ql = quicklist_create(server.config.list_max_listpack_size);
    value_init(v, OBJECT_LIST);
    v->encoding = ENCODING_QUICKLIST;
    v->ptr = ql;
    rdb_string s;
    if (rdb_type == RDB_TYPE_LIST_ZIPLIST) {
        if (!get_string(r, &s))
            return 0;
        int ok = load_list_blob_into(r, &s, 1, ql);
        string_release(&s);
        return ok;
    }
    uint64_t n;
    if (!get_len(r, &n))
        return 0;
    for (uint64_t i = 0; i < n; i++) {
        if (rdb_type == RDB_TYPE_LIST) {
            if (!get_string(r, &s))
                return 0;
            quicklist_push(ql, QUICKLIST_TAIL, s.data, s.len);
            string_release(&s);
            continue;
        }
        uint64_t container = RDB_QUICKLIST_PACKED;
        if (rdb_type == RDB_TYPE_LIST_QUICKLIST_2 && !get_len(r, &container))
            return 0;
        if (!get_string(r, &s))
            return 0;
        int ok;
        if (container == RDB_QUICKLIST_PLAIN) {
            quicklist_push(ql, QUICKLIST_TAIL, s.data, s.len);
            ok = 1;
        } else if (container == RDB_QUICKLIST_PACKED) {
            ok = load_list_blob_into(r, &s, rdb_type == RDB_TYPE_LIST_QUICKLIST, ql);
        } else {
            ok = fail(r, "Unknown quicklist node container %llu", (unsigned long long)container);
        }
        string_release(&s);
        if (!ok)
            return 0;
    }
    return 1;
}

static int load_set(rdb_reader *r, int rdb_type, rdb_value *v)
{
    value_init(v, OBJECT_SET);
    set_builder b;
    rdb_string s;
    if (rdb_type == RDB_TYPE_SET_LISTPACK) {
        if (!get_string(r, &s))
            return 0;
        packed_cursor cur;
        size_t count;
        if (!packed_listpack_open(&cur, (const unsigned char *)s.data, s.len, &count)) {
            string_release(&s);
            return fail(r, "Malformed set listpack");
        }
        set_builder_init(&b, count);
        packed_item item;
        int rc, ok = 1;
        while (ok && (rc = packed_next(&cur, &item)) == 1) {
            char scratch[24];
            size_t len;
            const char *data = packed_item_bytes(&item, scratch, &len);
            if (!set_builder_add(&b, data, len))
                ok = fail(r, "Duplicate set member");
        }
        if (ok && rc < 0)
            ok = fail(r, "Malformed set listpack entry");
        string_release(&s);
        v->encoding = b.encoding;
        v->ptr = b.ptr;
        return ok;
    }
    if (rdb_type == RDB_TYPE_SET_INTSET) {
        if (!get_string(r, &s))
            return 0;
        int width;
        size_t count;
        const unsigned char *blob = (const unsigned char *)s.data;
        if (!packed_intset_open(blob, s.len, &width, &count)) {
            string_release(&s);
            return fail(r, "Malformed intset");
        }
        set_builder_init(&b, count);
        int ok = 1;
        for (size_t i = 0; i < count && ok; i++) {
            char text[24];
            ok = set_builder_add(&b, text,
                                 number_format_int64(text, packed_intset_get(blob, width, i)));
        }
        string_release(&s);
        v->encoding = b.encoding;
        v->ptr = b.ptr;
        return ok ? 1 : fail(r, "Duplicate set member");
    }
    uint64_t n;
    if (!get_len(r, &n))
        return 0;
    set_builder_init(&b, n);
    v->encoding = b.encoding;
    v->ptr = b.ptr;
    for (uint64_t i = 0; i < n; i++) {
        if (!get_string(r, &s))
            return 0;
        int added = set_builder_add(&b, s.data, s.len);
        string_release(&s);
        v->encoding = b.encoding;
        v->ptr = b.ptr;
        if (!added)
            return fail(r, "Duplicate set member");
    }
    return 1;
}

static int zset_add_checked(rdb_reader *r, skiplist *list, const char *member, size_t len,
                            double score)
{
    if (isnan(score))
        return fail(r, "Zset score is NaN");
    if (skiplist_find(list, member, len))
        return fail(r, "Duplicate zset member");
    skiplist_insert(list, score, member, len);
    return 1;
}

static int load_zset(rdb_reader *r, int rdb_type, rdb_value *v)
{
    value_init(v, OBJECT_ZSET);
    skiplist *list = skiplist_create();
    v->encoding = ENCODING_SKIPLIST;
    v->ptr = list;
    rdb_string s;
    if (rdb_type == RDB_TYPE_ZSET_ZIPLIST || rdb_type == RDB_TYPE_ZSET_LISTPACK) {
        if (!get_string(r, &s))
            return 0;
        packed_cursor cur;
        size_t count;
        int zl = rdb_type == RDB_TYPE_ZSET_ZIPLIST;
        const unsigned char *blob = (const unsigned char *)s.data;
        int ok = zl ? packed_ziplist_open(&cur, blob, s.len, &count)
                    : packed_listpack_open(&cur, blob, s.len, &count);
        if (!ok)
            ok = fail(r, "Malformed zset blob");
        packed_item member, score;
        int rc = 0;
        while (ok && (rc = packed_next(&cur, &member)) == 1) {
            if (packed_next(&cur, &score) != 1) {
                ok = fail(r, "Zset blob with an odd number of elements");
                break;
            }
            double d = (double)score.integer;
            if (score.data && !parse_score((const char *)score.data, score.len, &d))
                ok = fail(r, "Invalid zset score");
            char scratch[24];
            size_t len;
            const char *m = packed_item_bytes(&member, scratch, &len);
            ok = ok && zset_add_checked(r, list, m, len, d);
        }
        if (ok && rc < 0)
            ok = fail(r, "Malformed zset blob entry");
        string_release(&s);
        if (!ok)
            return 0;
    } else {
        uint64_t n;
        if (!get_len(r, &n))
            return 0;
        for (uint64_t i = 0; i < n; i++) {
            if (!get_string(r, &s))
                return 0;
            double score;
            int ok;
            if (rdb_type == RDB_TYPE_ZSET_2) {
                uint64_t bits;
                ok = get_le(r, 8, &bits);
                memcpy(&score, &bits, sizeof(score));
            } else {
                /* Text form: a length byte, with 253/254/255 for nan/+inf/-inf. */
                unsigned len;
                const unsigned char *p;
                ok = get_byte(r, &len);
                if (ok && len == 253)
                    score = NAN;
                else if (ok && len == 254)
                    score = INFINITY;
                else if (ok && len == 255)
                    score = -INFINITY;
                else if (ok && (ok = get_bytes(r, len, &p)) &&
                         !parse_score((const char *)p, len, &score))
                    ok = fail(r, "Invalid zset score");
            }
            ok = ok && zset_add_checked(r, list, s.data, s.len, score);
            string_release(&s);
            if (!ok)
                return 0;
        }
    }
    if (skiplist_length(list) > 0)
        v->ptr = zset_value_from_skiplist(list, &v->encoding);
    return 1;
}

static int load_hash(rdb_reader *r, int rdb_type, rdb_value *v)
{
    value_init(v, OBJECT_HASH);
    hash_builder b;
    rdb_string s, t;
    if (rdb_type == RDB_TYPE_HASH_ZIPLIST || rdb_type == RDB_TYPE_HASH_LISTPACK) {
        if (!get_string(r, &s))
            return 0;
        packed_cursor cur;
        size_t count;
        int zl = rdb_type == RDB_TYPE_HASH_ZIPLIST;
        const unsigned char *blob = (const unsigned char *)s.data;
        int ok = zl ? packed_ziplist_open(&cur, blob, s.len, &count)
                    : packed_listpack_open(&cur, blob, s.len, &count);
        hash_builder_init(&b, ok ? count / 2 : 0);
        if (!ok)
            ok = fail(r, "Malformed hash blob");
        packed_item field, value;
        int rc = 0;
        while (ok && (rc = packed_next(&cur, &field)) == 1) {
            if (packed_next(&cur, &value) != 1) {
                ok = fail(r, "Hash blob with an odd number of elements");
                break;
            }
            char fs[24], vs[24];
            size_t fl, vl;
            const char *f = packed_item_bytes(&field, fs, &fl);
            const char *val = packed_item_bytes(&value, vs, &vl);
            if (!hash_builder_add(&b, f, fl, val, vl))
                ok = fail(r, "Duplicate hash field");
        }
        if (ok && rc < 0)
            ok = fail(r, "Malformed hash blob entry");
        string_release(&s);
        v->encoding = b.encoding;
        v->ptr = b.ptr;
        return ok;
    }
    uint64_t n;
    if (!get_len(r, &n))
        return 0;
    hash_builder_init(&b, n);
    v->encoding = b.encoding;
    v->ptr = b.ptr;
    for (uint64_t i = 0; i < n; i++) {
        if (!get_string(r, &s))
            return 0;
        if (!get_string(r, &t)) {
            string_release(&s);
            return 0;
        }
        int added = hash_builder_add(&b, s.data, s.len, t.data, t.len);
        string_release(&s);
        string_release(&t);
        v->encoding = b.encoding;
        v->ptr = b.ptr;
        if (!added)
            return fail(r, "Duplicate hash field");
    }
    return 1;
}

/* ---------- streams ---------- */

static int get_stream_id_raw(rdb_reader *r, stream_id *id)
{
    const unsigned char *p;
    if (!get_bytes(r, 16, &p))
        return 0;
    id->ms = be_value(p, 8);
    id->seq = be_value(p + 8, 8);
    return 1;
}

static int get_stream_id_lens(rdb_reader *r, stream_id *id)
{
    return get_len(r, &id->ms) && get_len(r, &id->seq);
}

static int next_integer(packed_cursor *cur, int64_t *out)
{
    packed_item item;
    if (packed_next(cur, &item) != 1 || item.data)
        return 0;
    *out = item.integer;
    return 1;
}

/* One listpack node: the master entry, then entries relative to key. */
static int load_stream_node(rdb_reader *r, stream *s, stream_id key, const rdb_string *blob)
{
    packed_cursor cur;
    size_t header_count;
    if (!packed_listpack_open(&cur, (const unsigned char *)blob->data, blob->len, &header_count))
        return fail(r, "Malformed stream listpack");
    int64_t live, deleted, master_count, zero;
    if (!next_integer(&cur, &live) || !next_integer(&cur, &deleted) ||
        !next_integer(&cur, &master_count) || master_count < 0 || master_count > 65536)
        return fail(r, "Malformed stream master entry");
    packed_item *master = mem_alloc(((size_t)master_count + 1) * sizeof(*master));
    const char **items = NULL;
    size_t *lens = NULL;
    char(*scratch)[24] = NULL;
    size_t cap = 0;
    int ok = 1;
    for (int64_t i = 0; i < master_count && ok; i++)
        ok = packed_next(&cur, &master[i]) == 1;
    ok = ok && next_integer(&cur, &zero) && zero == 0;
    if (!ok)
        fail(r, "Malformed stream master entry");
    while (ok && cur.pos != cur.end) {
        int64_t flags, ms_diff, seq_diff, fields, lp_count;
        ok = next_integer(&cur, &flags) && next_integer(&cur, &ms_diff) &&
             next_integer(&cur, &seq_diff);
        if (!ok)
            break;
        int same = (flags & RDB_STREAM_SAME_FIELDS) != 0;
        fields = master_count;
        if (!same && (!next_integer(&cur, &fields) || fields < 0 || fields > 65536)) {
            ok = 0;
            break;
        }
        size_t count = 2 * (size_t)fields;
        if (count > cap) {
            cap = count * 2 + 2;
            items = mem_realloc(items, cap * sizeof(*items));
            lens = mem_realloc(lens, cap * sizeof(*lens));
            scratch = mem_realloc(scratch, cap * sizeof(*scratch));
        }
        for (size_t i = 0; i < count && ok; i++) {
            packed_item item;
            if (same && i % 2 == 0)
                item = master[i / 2];
            else
                ok = packed_next(&cur, &item) == 1;
            if (ok)
                items[i] = packed_item_bytes(&item, scratch[i], &lens[i]);
        }
        ok = ok && next_integer(&cur, &lp_count);
        if (!ok)
            break;
        stream_id id = {key.ms + (uint64_t)ms_diff, key.seq + (uint64_t)seq_diff};
        if (flags & RDB_STREAM_DELETED)
            continue;
        if (stream_length(s) > 0 && stream_id_compare(id, stream_last_id(s)) <= 0) {
            ok = 0;
            break;
        }
        stream_append(s, id, items, lens, count);
    }
    if (!ok)
        fail(r, "Malformed stream entry");
    mem_free(master);
    mem_free(items);
    mem_free(lens);
    mem_free(scratch);
    return ok;
}

typedef struct loaded_pending {
    stream_id id;
    int64_t delivery_time;
    uint64_t delivery_count;
    int claimed;
} loaded_pending;

static int pending_compare(const void *a, const void *b)
{
    return stream_id_compare(((const loaded_pending *)a)->id, ((const loaded_pending *)b)->id);
}

/* v2: entries_read and the stream's first/max-deleted ids are stored (type
 * 19 and later); v3: consumers also store their active time (type 21). */
static int load_stream_group(rdb_reader *r, stream *s, int v2, int v3)
{
    rdb_string name;
    stream_id last_id;
    uint64_t entries_read = (uint64_t)STREAM_ENTRIES_READ_UNKNOWN, pel_size;
    if (!get_string(r, &name))
        return 0;
    int ok = get_stream_id_lens(r, &last_id) && (!v2 || get_len(r, &entries_read));
    stream_group *g = NULL;
    if (ok) {
        if (!v2)
            entries_read = (uint64_t)stream_estimate_entries_read(s, last_id);
        g = stream_group_create(s, name.data, name.len, last_id, (int64_t)entries_read);
        if (!g)
            ok = fail(r, "Duplicated consumer group name");
    }
    string_release(&name);
    if (!ok || !get_len(r, &pel_size))
        return 0;
    loaded_pending *pel = NULL;
    size_t pel_count = 0, pel_cap = 0;
    for (uint64_t i = 0; i < pel_size && ok; i++) {
        if (pel_count == pel_cap) {
            pel_cap = pel_cap ? pel_cap * 2 : 16;
            pel = mem_realloc(pel, pel_cap * sizeof(*pel));
        }
        loaded_pending *p = &pel[pel_count];
        uint64_t time = 0;
        ok = get_stream_id_raw(r, &p->id) && get_le(r, 8, &time) && get_len(r, &p->delivery_count);
        p->delivery_time = (int64_t)time;
        p->claimed = 0;
        pel_count += ok;
    }
    if (ok)
        qsort(pel, pel_count, sizeof(*pel), pending_compare);
    uint64_t consumers = 0;
    ok = ok && get_len(r, &consumers);
    for (uint64_t c = 0; c < consumers && ok; c++) {
        rdb_string cname;
        uint64_t seen, owned;
        if (!get_string(r, &cname)) {
            ok = 0;
            break;
        }
        stream_consumer *consumer = stream_consumer_create(g, cname.data, cname.len, 0);
        string_release(&cname);
        /* Rivet keeps no separate active time: it is read and dropped. */
        uint64_t active;
        if (!consumer || !get_le(r, 8, &seen) || (v3 && !get_le(r, 8, &active)) ||
            !get_len(r, &owned)) {
            ok = consumer ? 0 : fail(r, "Duplicated consumer name");
            break;
        }
        consumer->seen_time = (int64_t)seen;
        for (uint64_t i = 0; i < owned && ok; i++) {
            loaded_pending key;
            if (!get_stream_id_raw(r, &key.id)) {
                ok = 0;
                break;
            }
            loaded_pending *p = bsearch(&key, pel, pel_count, sizeof(*pel), pending_compare);
            if (!p || p->claimed) {
                ok = fail(r, "Consumer pending entry not in the group's PEL");
                break;
            }
            p->claimed = 1;
            stream_pending *rec = stream_pending_deliver(g, consumer, p->id, p->delivery_time);
            rec->delivery_count = p->delivery_count;
        }
    }
    for (size_t i = 0; i < pel_count && ok; i++)
        if (!pel[i].claimed)
            ok = fail(r, "Group pending entry without a consumer");
    mem_free(pel);
    return ok;
}

static int load_stream(rdb_reader *r, int rdb_type, rdb_value *v)
{
    value_init(v, OBJECT_STREAM);
    stream *s = stream_create(100, 4096);
    v->encoding = ENCODING_STREAM;
    v->ptr = s;
    int v2 = rdb_type >= RDB_TYPE_STREAM_LISTPACKS_2;
    int v3 = rdb_type >= RDB_TYPE_STREAM_LISTPACKS_3;
    uint64_t nodes;
    if (!get_len(r, &nodes))
        return 0;
    for (uint64_t i = 0; i < nodes; i++) {
        rdb_string key, blob;
        if (!get_string(r, &key))
            return 0;
        if (key.len != 16) {
            string_release(&key);
            return fail(r, "Stream node key is not 16 bytes");
        }
        stream_id node_key = {be_value((const unsigned char *)key.data, 8),
                              be_value((const unsigned char *)key.data + 8, 8)};
        string_release(&key);
        if (!get_string(r, &blob))
            return 0;
        int ok = load_stream_node(r, s, node_key, &blob);
        string_release(&blob);
        if (!ok)
            return 0;
    }
    uint64_t length, entries_added = 0;
    stream_id last_id, first_id, max_deleted = {0, 0};
    if (!get_len(r, &length) || !get_stream_id_lens(r, &last_id))
        return 0;
    if (v2 && (!get_stream_id_lens(r, &first_id) || !get_stream_id_lens(r, &max_deleted) ||
               !get_len(r, &entries_added)))
        return 0;
    if (length != stream_length(s))
        return fail(r, "Stream length does not match its entries");
    if (stream_length(s) > 0 && stream_id_compare(last_id, stream_last_id(s)) < 0)
        return fail(r, "Stream last id below its last entry");
    stream_set_last_id(s, last_id);
    stream_set_entries_added(s, v2 ? entries_added : length);
    stream_set_max_deleted_id(s, max_deleted);
    uint64_t groups;
    if (!get_len(r, &groups))
        return 0;
    for (uint64_t g = 0; g < groups; g++)
        if (!load_stream_group(r, s, v2, v3))
            return 0;
    return 1;
}

/* ---------- module records ---------- */

/* Skips opcode-tagged module items up to their EOF opcode. */
static int skip_module_items(rdb_reader *r)
{
    for (;;) {
        uint64_t opcode, ignored;
        rdb_string s;
        const unsigned char *p;
        if (!get_len(r, &opcode))
            return 0;
        switch (opcode) {
        case RDB_MODULE_OPCODE_EOF:
            return 1;
        case RDB_MODULE_OPCODE_SINT:
        case RDB_MODULE_OPCODE_UINT:
            if (!get_len(r, &ignored))
                return 0;
            break;
        case RDB_MODULE_OPCODE_FLOAT:
            if (!get_bytes(r, 4, &p))
                return 0;
            break;
        case RDB_MODULE_OPCODE_DOUBLE:
            if (!get_bytes(r, 8, &p))
                return 0;
            break;
        case RDB_MODULE_OPCODE_STRING:
            if (!get_string(r, &s))
                return 0;
            string_release(&s);
            break;
        default:
            return fail(r, "Unknown module item opcode %llu", (unsigned long long)opcode);
        }
    }
}

static uint64_t blob_le(const unsigned char *p, int bytes)
{
    return le_value(p, bytes);
}

/* A hash with field TTLs from its Rivet record (see rdb_save.c): fields
 * whose deadline has passed are dropped, the others' deadlines are kept in
 * v->field_ttls for rdb_value_store. */
static int load_hash_with_ttls(rdb_reader *r, const rdb_string *s, rdb_value *v)
{
    const unsigned char *p = (const unsigned char *)s->data, *end = p + s->len;
    int64_t now = keyspace_time(r->ks);
    hash_builder b;
    hash_builder_init(&b, (uint64_t)-1); /* always a field_table */
    value_init(v, OBJECT_HASH);
    v->encoding = b.encoding;
    v->ptr = b.ptr;
    while (p < end) {
        if (end - p < 4 || (uint64_t)(end - p - 4) < blob_le(p, 4))
            return fail(r, "Malformed hash-with-TTLs record");
        size_t flen = (size_t)blob_le(p, 4);
        const char *field = (const char *)p + 4;
        p += 4 + flen;
        if (end - p < 4 || (uint64_t)(end - p - 4) < blob_le(p, 4) + 8)
            return fail(r, "Malformed hash-with-TTLs record");
        size_t vlen = (size_t)blob_le(p, 4);
        const char *value = (const char *)p + 4;
        p += 4 + vlen;
        int64_t deadline = (int64_t)blob_le(p, 8);
        p += 8;
        if (deadline >= 0 && deadline < now)
            continue;
        if (!hash_builder_add(&b, field, flen, value, vlen))
            return fail(r, "Duplicate hash field");
        if (deadline >= 0) {
            if (!v->field_ttls) {
                v->field_ttls = mem_alloc(sizeof(buffer));
                buffer_init(v->field_ttls);
            }
            unsigned char n[12];
            for (int i = 0; i < 4; i++)
                n[i] = (unsigned char)(flen >> (8 * i));
            for (int i = 0; i < 8; i++)
                n[4 + i] = (unsigned char)((uint64_t)deadline >> (8 * i));
            buffer_append(v->field_ttls, n, 4);
            buffer_append(v->field_ttls, field, flen);
            buffer_append(v->field_ttls, n + 4, 8);
        }
    }
    return 1;
}

static int load_native(rdb_reader *r, rdb_value *v)
{
    uint64_t id, opcode, type, end;
    if (!get_len(r, &id))
        return 0;
    if (id != rdb_native_module_id())
        return fail(r, "The RDB file contains module data I can't load: no matching module");
    if (!get_len(r, &opcode) || opcode != RDB_MODULE_OPCODE_UINT || !get_len(r, &type) ||
        !get_len(r, &opcode) || opcode != RDB_MODULE_OPCODE_STRING)
        return fail(r, "Malformed native value");
    rdb_string s;
    if (!get_string(r, &s))
        return 0;
    if (type == OBJECT_HASH) {
        int ok = load_hash_with_ttls(r, &s, v);
        string_release(&s);
        if (!ok)
            return 0;
        if (!get_len(r, &end) || end != RDB_MODULE_OPCODE_EOF)
            return fail(r, "Malformed native value end");
        return 1;
    }
    const object_methods *methods = type > OBJECT_STREAM && type < OBJECT_TYPE_COUNT
                                        ? keyspace_type_methods(r->ks, (object_type)type)
                                        : NULL;
    int ok = 1;
    value_init(v, (object_type)type);
    if (!methods || !methods->load_value) {
        ok = fail(r, "Native type %llu is not known to this server", (unsigned long long)type);
    } else {
        v->ptr = methods->load_value(s.data, s.len, &v->encoding);
        if (!v->ptr)
            ok = fail(r, "Malformed native value of type %s", object_type_name((object_type)type));
    }
    string_release(&s);
    if (!ok)
        return 0;
    if (!get_len(r, &end) || end != RDB_MODULE_OPCODE_EOF)
        return fail(r, "Malformed native value end");
    return 1;
}

/* One value of the given RDB type. On failure v holds whatever was built
 * (rdb_value_release frees it). */
static int load_value(rdb_reader *r, int rdb_type, rdb_value *v)
{
    value_init(v, OBJECT_STRING);
    switch (rdb_type) {
    case RDB_TYPE_STRING: {
        rdb_string s;
        if (!get_string(r, &s))
            return 0;
        v->bytes = mem_alloc(s.len + 1);
        memcpy(v->bytes, s.data, s.len);
        v->len = s.len;
        string_release(&s);
        return 1;
    }
    case RDB_TYPE_LIST:
    case RDB_TYPE_LIST_ZIPLIST:
    case RDB_TYPE_LIST_QUICKLIST:
    case RDB_TYPE_LIST_QUICKLIST_2:
        return load_list(r, rdb_type, v);
    case RDB_TYPE_SET:
    case RDB_TYPE_SET_INTSET:
    case RDB_TYPE_SET_LISTPACK:
        return load_set(r, rdb_type, v);
    case RDB_TYPE_ZSET:
    case RDB_TYPE_ZSET_2:
    case RDB_TYPE_ZSET_ZIPLIST:
    case RDB_TYPE_ZSET_LISTPACK:
        return load_zset(r, rdb_type, v);
    case RDB_TYPE_HASH:
    case RDB_TYPE_HASH_ZIPLIST:
    case RDB_TYPE_HASH_LISTPACK:
        return load_hash(r, rdb_type, v);
    case RDB_TYPE_STREAM_LISTPACKS:
    case RDB_TYPE_STREAM_LISTPACKS_2:
    case RDB_TYPE_STREAM_LISTPACKS_3:
        return load_stream(r, rdb_type, v);
    case RDB_TYPE_MODULE_2:
        return load_native(r, v);
    default:
        return fail(r, "Unknown RDB value type %d", rdb_type);
    }
}

static void field_ttls_free(rdb_value *v)
{
    if (v->field_ttls) {
        buffer_release(v->field_ttls);
        mem_free(v->field_ttls);
        v->field_ttls = NULL;
    }
}

void rdb_value_release(keyspace *ks, rdb_value *v)
{
    field_ttls_free(v);
    if (v->type == OBJECT_STRING)
        mem_free(v->bytes);
    else if (v->ptr)
        keyspace_value_free(ks, v->type, v->encoding, v->ptr);
    memset(v, 0, sizeof(*v));
}

/* Collections read with no elements (Redis drops such keys as well). */
static int value_is_empty(const rdb_value *v)
{
    switch (v->type) {
    case OBJECT_LIST:
        return quicklist_count(v->ptr) == 0;
    case OBJECT_SET:
        if (v->encoding == ENCODING_INTSET)
            return intset_length(v->ptr) == 0;
        if (v->encoding == ENCODING_LISTPACK)
            return listpack_length(v->ptr) == 0;
        return member_table_size(v->ptr) == 0;
    case OBJECT_ZSET:
        return zset_value_length(v->encoding, v->ptr) == 0;
    case OBJECT_HASH:
        if (v->encoding == ENCODING_LISTPACK)
            return listpack_length(v->ptr) == 0;
        return field_table_size(v->ptr) == 0;
    default:
        return 0;
    }
}

kv_entry *rdb_value_store(database *db, const char *key, size_t key_len, rdb_value *v)
{
    kv_entry *e;
    if (v->type == OBJECT_STRING) {
        e = keyspace_set_string(db, key, key_len, v->bytes, v->len, 0);
        mem_free(v->bytes);
    } else {
        e = keyspace_set_object(db, key, key_len, v->type, v->encoding, v->ptr, 0);
    }
    if (v->field_ttls) {
        const unsigned char *p = (const unsigned char *)v->field_ttls->data;
        const unsigned char *end = p + v->field_ttls->len;
        while (p < end) {
            size_t flen = (size_t)le_value(p, 4);
            int64_t deadline = (int64_t)le_value(p + 4 + flen, 8);
            hash_entry_set_field_ttl(db, &e, (const char *)p + 4, flen, deadline);
            p += 4 + flen + 8;
        }
        field_ttls_free(v);
    }
    memset(v, 0, sizeof(*v));
    return e;
}

/* ---------- whole files ---------- */

static int load_all(rdb_reader *r, rdb_load_stats *stats)
{
    const unsigned char *p;
    if (!get_bytes(r, 9, &p) || memcmp(p, "REDIS", 5) != 0)
        return fail(r, "Wrong signature trying to load DB from file");
    int version = 0;
    for (int i = 5; i < 9; i++) {
        if (p[i] < '0' || p[i] > '9')
            return fail(r, "Wrong signature trying to load DB from file");
        version = version * 10 + (p[i] - '0');
    }
    if (version < 1 || version > RDB_LOAD_VERSION_MAX)
        return fail(r, "Can't handle RDB format version %d", version);
    database *db = keyspace_database(r->ks, 0);
    int64_t expire = -1, idle = -1;
    int freq = -1;
    int64_t now = keyspace_time(r->ks);
    for (;;) {
        unsigned type;
        uint64_t a, b;
        rdb_string s, t;
        if (!get_byte(r, &type))
            return 0;
        switch (type) {
        case RDB_OPCODE_EOF: {
            if (version < 5)
                return 1;
            size_t covered = r->pos;
            uint64_t stored;
            if (!get_le(r, 8, &stored))
                return 0;
            if (stored != 0 && server.config.rdb_checksum &&
                crc64_update(0, r->data, covered) != stored)
                return fail(r, "Wrong RDB checksum expected: (%016llx) got: (%016llx)",
                            (unsigned long long)stored,
                            (unsigned long long)crc64_update(0, r->data, covered));
            return 1;
        }
        case RDB_OPCODE_SELECTDB:
            if (!get_len(r, &a))
                return 0;
            if (a >= (uint64_t)keyspace_database_count(r->ks))
                return fail(r,
                            "Data file was created with a server configured to handle more "
                            "than %d databases",
                            keyspace_database_count(r->ks));
            db = keyspace_database(r->ks, (int)a);
            continue;
        case RDB_OPCODE_RESIZEDB:
            if (!get_len(r, &a) || !get_len(r, &b))
                return 0;
            continue;
        case RDB_OPCODE_EXPIRETIME_MS:
            if (!get_le(r, 8, &a))
                return 0;
            expire = (int64_t)a;
            continue;
        case RDB_OPCODE_EXPIRETIME:
            if (!get_le(r, 4, &a))
                return 0;
            expire = (int64_t)(int32_t)a * 1000;
            continue;
        case RDB_OPCODE_IDLE:
            if (!get_len(r, &a))
                return 0;
            idle = (int64_t)(a > INT32_MAX ? INT32_MAX : a);
            continue;
        case RDB_OPCODE_FREQ:
            if (!get_byte(r, &type))
                return 0;
            freq = (int)type;
            continue;
        case RDB_OPCODE_AUX:
            if (!get_string(r, &s))
                return 0;
            if (!get_string(r, &t)) {
                string_release(&s);
                return 0;
            }
            string_release(&s);
            string_release(&t);
            continue;
        case RDB_OPCODE_MODULE_AUX:
            if (!get_len(r, &a) || !get_len(r, &b) || !get_len(r, &b) || !skip_module_items(r))
                return 0;
            stats->skipped++;
            continue;
        case RDB_OPCODE_FUNCTION2: {
            /* A function library (src/script/functions.c): loaded, replacing
             * one of the same name, so libraries survive restarts. */
            if (!get_string(r, &s))
                return 0;
            char *result = NULL;
            int loaded = function_load(s.data, s.len, 1, &result) == 0;
            string_release(&s);
            if (!loaded) {
                fail(r, "Failed loading library: %s", result);
                mem_free(result);
                return 0;
            }
            mem_free(result);
            continue;
        }
        case RDB_OPCODE_FUNCTION:
            return fail(r, "Pre-release function format not supported");
        default:
            break;
        }
        rdb_string key;
        if (!get_string(r, &key))
            return 0;
        if (type == RDB_TYPE_STRING) {
            /* The common case, stored without an intermediate copy. */
            rdb_string value;
            int ok = get_string(r, &value);
            if (ok && expire >= 0 && expire < now) {
                stats->expired++;
            } else if (ok) {
                kv_entry *e = keyspace_set_string(db, key.data, key.len, value.data, value.len, 0);
                if (expire >= 0)
                    e = keyspace_set_expire(db, e, expire);
                keyspace_entry_set_access(r->ks, e, idle, freq);
                stats->keys++;
            }
            if (ok)
                string_release(&value);
            string_release(&key);
            if (!ok)
                return 0;
            expire = idle = freq = -1;
            report_progress(r, stats);
            if (!between_chunks(r, stats))
                return 0;
            continue;
        }
        rdb_value v;
        if (!load_value(r, (int)type, &v)) {
            rdb_value_release(r->ks, &v);
            string_release(&key);
            return 0;
        }
        if (expire >= 0 && expire < now) {
            rdb_value_release(r->ks, &v);
            stats->expired++;
        } else if (value_is_empty(&v)) {
            rdb_value_release(r->ks, &v);
            stats->skipped++;
        } else {
            kv_entry *e = rdb_value_store(db, key.data, key.len, &v);
            if (expire >= 0)
                e = keyspace_set_expire(db, e, expire);
            keyspace_entry_set_access(r->ks, e, idle, freq);
            stats->keys++;
        }
        string_release(&key);
        expire = idle = freq = -1;
        report_progress(r, stats);
        if (!between_chunks(r, stats))
            return 0;
    }
}

static int load_range(keyspace *ks, const char *data, size_t len, rdb_load_stats *stats,
                      int (*hook)(void), char *err, size_t err_size)
{
    rdb_reader r = {(const unsigned char *)data, len, 0, ks, err, err_size, 0, len / 10, hook};
    memset(stats, 0, sizeof(*stats));
    return load_all(&r, stats) ? 0 : -1;
}

int rdb_load_buffer(keyspace *ks, const char *data, size_t len, rdb_load_stats *stats, char *err,
                    size_t err_size)
{
    return load_range(ks, data, len, stats, NULL, err, err_size);
}

int rdb_load_file(keyspace *ks, const char *path, rdb_load_stats *stats,
                  int (*between_chunks_hook)(void), char *err, size_t err_size)
{
    memset(stats, 0, sizeof(*stats));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 1;
        snprintf(err, err_size, "Fatal error loading the DB %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        snprintf(err, err_size, "Fatal error loading the DB %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    size_t size = (size_t)st.st_size;
    void *map = size ? mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
    close(fd);
    if (size && map == MAP_FAILED) {
        snprintf(err, err_size, "Fatal error loading the DB %s: %s", path, strerror(errno));
        return -1;
    }
    char what[300];
    int rc = load_range(ks, map, size, stats, between_chunks_hook, what, sizeof(what));
    if (size)
        munmap(map, size);
    if (rc != 0)
        snprintf(err, err_size, "Failed loading the DB %s: %s", path, what);
    return rc;
}

/* ---------- RESTORE ---------- */

int rdb_payload_decode(keyspace *ks, const char *payload, size_t len, rdb_value *v)
{
    value_init(v, OBJECT_STRING);
    if (len < 10)
        return -1;
    /* Redis reads the value from the whole payload, footer included, so a
     * value whose last bytes run into the footer still loads there; reading
     * the same range gives the same answer. The CRC covers it all anyway. */
    rdb_reader r = {(const unsigned char *)payload, len, 0, ks, NULL, 0, 0, 0, NULL};
    unsigned type;
    if (!get_byte(&r, &type))
        return -1;
    if (!load_value(&r, (int)type, v) || value_is_empty(v)) {
        rdb_value_release(ks, v);
        return -1;
    }
    return 0;
}
