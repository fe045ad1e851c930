/* A listpack: a sequence of byte strings and integers packed into one block.
 *
 * Layout:  [total bytes: u32][entry count: u32] entry entry ... entry
 *
 * The block ends right after the last entry; the header's byte count says
 * where, so no end marker is needed. Each entry is
 *
 *      encoding byte(s) | payload | back length
 *
 * where the back length is the size of "encoding + payload" written so that
 * it can be read from its last byte towards the front. That is what makes
 * walking backwards (listpack_prev, listpack_last, negative seeks) O(1) per
 * step without a per-entry "previous size" that would have to be rewritten
 * when a neighbour changes size: every entry describes only itself, so an
 * insert or replace touches nothing but the bytes it moves.
 *
 * Encodings (first byte):
 *      0xxxxxxx                  integer 0..127, no payload
 *      10LLLLLL                  string of 0..63 bytes
 *      110vvvvv vvvvvvvv         13-bit signed integer (-4096..4095)
 *      1110LLLL LLLLLLLL         string of 0..4095 bytes
 *      0xF0 / 0xF1 / 0xF2 / 0xF3 16 / 24 / 32 / 64-bit signed integer follows
 *      0xF4 + 4-byte length      longer string
 * Multi-byte fields are little endian, written a byte at a time so the block
 * means the same on any host and needs no alignment.
 *
 * The back length stores 7 bits per byte. Its last byte holds the lowest
 * bits; a set high bit means "more bits in the byte before". A small entry
 * (body under 128 bytes) therefore spends one byte on it, so a short string
 * or a small integer costs two bytes of overhead in total.
 *
 * Strings that are canonical integers (number_parse_int64's strict rules, so
 * "01" and "-0" stay strings) are stored as integers, always in the smallest
 * class that fits. Every value thus has exactly one encoding, which lets
 * listpack_find compare encoded bytes instead of decoding entries. */
#include "rivet/listpack.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rivet/memory.h"
#include "rivet/number.h"

struct listpack {
    uint32_t total; /* bytes in the block, header included */
    uint32_t count; /* entries */
    unsigned char entries[];
};

#define HEADER_SIZE ((size_t)sizeof(struct listpack))

#define ENC_STRING6  0x80 /* 10LLLLLL */
#define ENC_INT13    0xC0 /* 110vvvvv + 1 byte */
#define ENC_STRING12 0xE0 /* 1110LLLL + 1 byte */
#define ENC_INT16    0xF0
#define ENC_INT24    0xF1
#define ENC_INT32    0xF2
#define ENC_INT64    0xF3
#define ENC_STRING32 0xF4

#define STRING6_MAX  63
#define STRING12_MAX 4095

static inline unsigned char *bytes_of(const listpack *lp)
{
    return (unsigned char *)lp;
}

static inline uint64_t read_le(const unsigned char *p, int width)
{
    uint64_t value = 0;
    for (int i = width - 1; i >= 0; i--)
        value = (value << 8) | p[i];
    return value;
}

static inline void write_le(unsigned char *p, uint64_t value, int width)
{
    for (int i = 0; i < width; i++) {
        p[i] = (unsigned char)(value & 0xFF);
        value >>= 8;
    }
}

/* Reinterprets the low `bits` bits of value as a two's complement number. */
static inline int64_t sign_extend(uint64_t value, int bits)
{
    if (bits == 64)
        return (int64_t)value;
    uint64_t sign = (uint64_t)1 << (bits - 1);
    value &= (sign << 1) - 1;
    return (int64_t)(value ^ sign) - (int64_t)sign;
}

static inline int encoding_is_string(unsigned char enc)
{
    return (enc & 0xC0) == 0x80 || (enc & 0xF0) == 0xE0 || enc == ENC_STRING32;
}

/* Size of the encoding bytes plus payload: the value the back length records. */
static inline size_t body_size(const unsigned char *p)
{
    unsigned char enc = p[0];
    if (enc < 0x80)
        return 1;
    if (enc < 0xC0)
        return 1 + (size_t)(enc & 0x3F);
    if (enc < 0xE0)
        return 2;
    if (enc < 0xF0)
        return 2 + (((size_t)(enc & 0x0F) << 8) | p[1]);
    switch (enc) {
    case ENC_INT16:
        return 3;
    case ENC_INT24:
        return 4;
    case ENC_INT32:
        return 5;
    case ENC_INT64:
        return 9;
    default:
        return 5 + (size_t)read_le(p + 1, 4);
    }
}

static inline size_t backlen_size(size_t body)
{
    if (body < ((size_t)1 << 7))
        return 1;
    if (body < ((size_t)1 << 14))
        return 2;
    if (body < ((size_t)1 << 21))
        return 3;
    if (body < ((size_t)1 << 28))
        return 4;
    return 5;
}

static inline size_t entry_size(const unsigned char *p)
{
    size_t body = body_size(p);
    return body + backlen_size(body);
}

static void backlen_write(unsigned char *p, size_t body)
{
    size_t width = backlen_size(body);
    for (size_t i = width; i-- > 0;) {
        p[i] = (unsigned char)((body & 0x7F) | (i > 0 ? 0x80 : 0));
        body >>= 7;
    }
}

/* Reads the back length that ends just before `end`. */
static inline size_t backlen_read(const unsigned char *end)
{
    const unsigned char *p = end - 1;
    size_t value = 0;
    unsigned shift = 0;
    for (;;) {
        value |= (size_t)(*p & 0x7F) << shift;
        if (!(*p & 0x80))
            return value;
        shift += 7;
        p--;
    }
}

/* Offset of the entry that ends at `end` (an offset past the header). */
static inline size_t entry_before(const unsigned char *base, size_t end)
{
    size_t body = backlen_read(base + end);
    return end - backlen_size(body) - body;
}

/* The integer stored at p; only for integer encodings. */
static inline int64_t integer_read(const unsigned char *p)
{
    unsigned char enc = p[0];
    if (enc < 0x80)
        return enc;
    if (enc < 0xE0)
        return sign_extend(((uint64_t)(enc & 0x1F) << 8) | p[1], 13);
    switch (enc) {
    case ENC_INT16:
        return sign_extend(read_le(p + 1, 2), 16);
    case ENC_INT24:
        return sign_extend(read_le(p + 1, 3), 24);
    case ENC_INT32:
        return sign_extend(read_le(p + 1, 4), 32);
    default:
        return sign_extend(read_le(p + 1, 8), 64);
    }
}

/* The string stored at p; only for string encodings. */
static inline const char *string_read(const unsigned char *p, size_t *len)
{
    unsigned char enc = p[0];
    if (enc < 0xC0) {
        *len = enc & 0x3F;
        return (const char *)p + 1;
    }
    if (enc < 0xF0) {
        *len = ((size_t)(enc & 0x0F) << 8) | p[1];
        return (const char *)p + 2;
    }
    *len = (size_t)read_le(p + 1, 4);
    return (const char *)p + 5;
}

/* A new entry, encoded but not yet placed: the encoding bytes (for integers,
 * the whole body) plus, for strings, where the payload comes from. */
typedef struct encoded {
    unsigned char head[9];
    size_t head_len;
    const char *payload;
    size_t payload_len;
    size_t body; /* head + payload */
    size_t size; /* body + back length */
} encoded;

static void encode_integer(encoded *e, int64_t value)
{
    e->payload = NULL;
    e->payload_len = 0;
    if (value >= 0 && value <= 127) {
        e->head[0] = (unsigned char)value;
        e->head_len = 1;
    } else if (value >= -4096 && value <= 4095) {
        uint64_t bits = (uint64_t)value & 0x1FFF;
        e->head[0] = (unsigned char)(ENC_INT13 | (bits >> 8));
        e->head[1] = (unsigned char)(bits & 0xFF);
        e->head_len = 2;
    } else {
        int width;
        if (value >= INT16_MIN && value <= INT16_MAX) {
            e->head[0] = ENC_INT16;
            width = 2;
        } else if (value >= -(1 << 23) && value < (1 << 23)) {
            e->head[0] = ENC_INT24;
            width = 3;
        } else if (value >= INT32_MIN && value <= INT32_MAX) {
            e->head[0] = ENC_INT32;
            width = 4;
        } else {
            e->head[0] = ENC_INT64;
            width = 8;
        }
        write_le(e->head + 1, (uint64_t)value, width);
        e->head_len = 1 + (size_t)width;
    }
    e->body = e->head_len;
    e->size = e->body + backlen_size(e->body);
}

static void encode_string(encoded *e, const char *data, size_t len)
{
    int64_t value;
    if (len <= 20 && number_parse_int64(data, len, &value)) {
        encode_integer(e, value);
        return;
    }
    if (len <= STRING6_MAX) {
        e->head[0] = (unsigned char)(ENC_STRING6 | len);
        e->head_len = 1;
    } else if (len <= STRING12_MAX) {
        e->head[0] = (unsigned char)(ENC_STRING12 | (len >> 8));
        e->head[1] = (unsigned char)(len & 0xFF);
        e->head_len = 2;
    } else {
        if (len > UINT32_MAX) {
            fprintf(stderr, "rivet: listpack string of %zu bytes is too long\n", len);
            abort();
        }
        e->head[0] = ENC_STRING32;
        write_le(e->head + 1, len, 4);
        e->head_len = 5;
    }
    e->payload = data;
    e->payload_len = len;
    e->body = e->head_len + len;
    e->size = e->body + backlen_size(e->body);
}

static void encoded_write(unsigned char *p, const encoded *e)
{
    memcpy(p, e->head, e->head_len);
    if (e->payload_len)
        memcpy(p + e->head_len, e->payload, e->payload_len);
    backlen_write(p + e->body, e->body);
}

/* A caller may pass bytes that live inside this very listpack (an entry it
 * just read). Moving the block would leave them dangling, so such payloads
 * are copied out first; returns the copy to free, or NULL. */
static char *payload_detach(const listpack *lp, encoded *e)
{
    if (e->payload == NULL)
        return NULL;
    uintptr_t start = (uintptr_t)lp, end = start + lp->total;
    uintptr_t data = (uintptr_t)e->payload;
    if (data < start || data >= end)
        return NULL;
    char *copy = mem_dup(e->payload, e->payload_len);
    e->payload = copy;
    return copy;
}

/* The header's fields are 32-bit; a listpack this large should have been
 * converted to a full structure long before, so this is a caller's bug. */
static uint32_t total_checked(size_t total)
{
    if (total > UINT32_MAX) {
        fprintf(stderr, "rivet: listpack would grow to %zu bytes\n", total);
        abort();
    }
    return (uint32_t)total;
}

static listpack *insert_encoded(listpack *lp, size_t offset, encoded *e)
{
    char *copy = payload_detach(lp, e);
    size_t old_total = lp->total;
    uint32_t new_total = total_checked(old_total + e->size);
    lp = mem_realloc(lp, new_total);
    unsigned char *base = bytes_of(lp);
    memmove(base + offset + e->size, base + offset, old_total - offset);
    encoded_write(base + offset, e);
    lp->total = new_total;
    lp->count++;
    mem_free(copy);
    return lp;
}

listpack *listpack_create(void)
{
    listpack *lp = mem_alloc(HEADER_SIZE);
    lp->total = (uint32_t)HEADER_SIZE;
    lp->count = 0;
    return lp;
}

void listpack_free(listpack *lp)
{
    mem_free(lp);
}

listpack *listpack_duplicate(const listpack *lp)
{
    return mem_dup(lp, lp->total);
}

size_t listpack_length(const listpack *lp)
{
    return lp->count;
}

size_t listpack_bytes(const listpack *lp)
{
    return lp->total;
}

size_t listpack_first(const listpack *lp)
{
    return lp->total > HEADER_SIZE ? HEADER_SIZE : LISTPACK_NONE;
}

size_t listpack_last(const listpack *lp)
{
    if (lp->total == HEADER_SIZE)
        return LISTPACK_NONE;
    return entry_before(bytes_of(lp), lp->total);
}

size_t listpack_next(const listpack *lp, size_t pos)
{
    if (pos == LISTPACK_NONE)
        return LISTPACK_NONE;
    size_t next = pos + entry_size(bytes_of(lp) + pos);
    return next < lp->total ? next : LISTPACK_NONE;
}

size_t listpack_prev(const listpack *lp, size_t pos)
{
    if (pos <= HEADER_SIZE)
        return LISTPACK_NONE;
    return entry_before(bytes_of(lp), pos);
}

size_t listpack_seek(const listpack *lp, int64_t index)
{
    uint64_t count = lp->count, target;
    if (index >= 0) {
        target = (uint64_t)index;
    } else {
        uint64_t from_end = (uint64_t)(-(index + 1)) + 1; /* no overflow at INT64_MIN */
        if (from_end > count)
            return LISTPACK_NONE;
        target = count - from_end;
    }
    if (target >= count)
        return LISTPACK_NONE;

    /* Walk from whichever end is nearer. */
    const unsigned char *base = bytes_of(lp);
    size_t pos;
    if (target < count / 2) {
        pos = HEADER_SIZE;
        for (uint64_t i = 0; i < target; i++)
            pos += entry_size(base + pos);
    } else {
        pos = lp->total;
        for (uint64_t i = count; i > target; i--)
            pos = entry_before(base, pos);
    }
    return pos;
}

void listpack_get(const listpack *lp, size_t pos, listpack_entry *entry)
{
    const unsigned char *p = bytes_of(lp) + pos;
    if (encoding_is_string(p[0])) {
        entry->data = string_read(p, &entry->len);
        entry->integer = 0;
    } else {
        entry->data = NULL;
        entry->len = 0;
        entry->integer = integer_read(p);
    }
}

const char *listpack_entry_bytes(const listpack_entry *entry, char scratch[24], size_t *len)
{
    if (entry->data != NULL) {
        *len = entry->len;
        return entry->data;
    }
    *len = number_format_int64(scratch, entry->integer);
    return scratch;
}

int listpack_equals(const listpack *lp, size_t pos, const char *data, size_t len)
{
    const unsigned char *p = bytes_of(lp) + pos;
    if (encoding_is_string(p[0])) {
        size_t stored_len;
        const char *stored = string_read(p, &stored_len);
        return stored_len == len && memcmp(stored, data, len) == 0;
    }
    int64_t value;
    return number_parse_int64(data, len, &value) && value == integer_read(p);
}

size_t listpack_find(const listpack *lp, size_t pos, const char *data, size_t len, int skip)
{
    if (pos == LISTPACK_NONE || len > UINT32_MAX)
        return LISTPACK_NONE;

    /* Every value has exactly one encoding (the smallest class, integers
     * whenever the text is a canonical integer), so two entries are equal
     * exactly when their bytes are. The query is encoded once and then
     * compared as bytes: the first byte is type and (for short strings)
     * length in one, so most entries are rejected by one comparison and
     * nothing is ever decoded. */
    encoded query;
    encode_string(&query, data, len);
    const unsigned char *head = query.head;
    size_t head_rest = query.head_len - 1;
    const unsigned char *payload = (const unsigned char *)query.payload;
    size_t payload_len = query.payload_len;
    unsigned char payload_last = payload_len ? payload[payload_len - 1] : 0;

    const unsigned char *base = bytes_of(lp);
    size_t total = lp->total;
    size_t stride = skip > 0 ? (size_t)skip : 0;
    size_t skipping = 0;
    while (pos < total) {
        const unsigned char *p = base + pos;
        if (skipping == 0) {
            /* The payload's last byte first: keys like "field:12" share
             * their length and prefix but rarely their last byte. */
            if (p[0] == head[0] && (head_rest == 0 || memcmp(p + 1, head + 1, head_rest) == 0) &&
                (payload_len == 0 || (p[query.body - 1] == payload_last &&
                                      memcmp(p + query.head_len, payload, payload_len) == 0)))
                return pos;
            skipping = stride;
        } else {
            skipping--;
        }
        pos += entry_size(p);
    }
    return LISTPACK_NONE;
}

listpack *listpack_append(listpack *lp, const char *data, size_t len)
{
    encoded e;
    encode_string(&e, data, len);
    return insert_encoded(lp, lp->total, &e);
}

listpack *listpack_append_integer(listpack *lp, int64_t value)
{
    encoded e;
    encode_integer(&e, value);
    return insert_encoded(lp, lp->total, &e);
}

listpack *listpack_prepend(listpack *lp, const char *data, size_t len)
{
    encoded e;
    encode_string(&e, data, len);
    return insert_encoded(lp, HEADER_SIZE, &e);
}

listpack *listpack_insert(listpack *lp, size_t pos, const char *data, size_t len, size_t *inserted)
{
    size_t offset = pos == LISTPACK_NONE ? lp->total : pos;
    encoded e;
    encode_string(&e, data, len);
    lp = insert_encoded(lp, offset, &e);
    if (inserted)
        *inserted = offset;
    return lp;
}

listpack *listpack_replace(listpack *lp, size_t pos, const char *data, size_t len)
{
    encoded e;
    encode_string(&e, data, len);
    char *copy = payload_detach(lp, &e);
    size_t total = lp->total;
    size_t old_size = entry_size(bytes_of(lp) + pos);
    size_t tail = pos + old_size;
    size_t new_total = total - old_size + e.size;

    /* Grow before moving the tail right; shrink after moving it left. */
    if (e.size > old_size)
        lp = mem_realloc(lp, total_checked(new_total));
    unsigned char *base = bytes_of(lp);
    if (e.size != old_size)
        memmove(base + pos + e.size, base + tail, total - tail);
    encoded_write(base + pos, &e);
    if (e.size < old_size)
        lp = mem_realloc(lp, new_total);
    lp->total = (uint32_t)new_total;
    mem_free(copy);
    return lp;
}

listpack *listpack_delete(listpack *lp, size_t pos, size_t count, size_t *next)
{
    if (pos == LISTPACK_NONE || count == 0) {
        if (next)
            *next = pos;
        return lp;
    }
    unsigned char *base = bytes_of(lp);
    size_t total = lp->total;
    size_t end = pos, removed = 0;
    while (removed < count && end < total) {
        end += entry_size(base + end);
        removed++;
    }
    memmove(base + pos, base + end, total - end);
    total -= end - pos;
    lp->total = (uint32_t)total;
    lp->count -= (uint32_t)removed;
    lp = mem_realloc(lp, total);
    if (next)
        *next = pos < total ? pos : LISTPACK_NONE;
    return lp;
}

listpack *listpack_delete_range(listpack *lp, int64_t index, size_t count)
{
    size_t pos = listpack_seek(lp, index);
    if (pos == LISTPACK_NONE)
        return lp;
    return listpack_delete(lp, pos, count, NULL);
}
