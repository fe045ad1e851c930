/* Redis's packed blobs, read and written from their format descriptions.
 *
 * listpack: [total bytes u32][count u16] entries... 0xFF, little endian.
 * Each entry is an encoding byte (+ payload) followed by a "back length"
 * (the size of encoding+payload in 1..5 bytes of 7 bits), which a forward
 * walk only needs to skip.
 *      0xxxxxxx           7-bit unsigned integer
 *      10LLLLLL           string up to 63 bytes
 *      110vvvvv vvvvvvvv  13-bit signed integer
 *      1110LLLL LLLLLLLL  string up to 4095 bytes
 *      F0 + u32 length    longer string
 *      F1/F2/F3/F4        16/24/32/64-bit signed integer follows
 *
 * ziplist: [total u32][tail offset u32][count u16] entries... 0xFF. Each
 * entry opens with the previous entry's size (1 byte, or FE + u32), then
 *      00LLLLLL / 01LLLLLL LLLLLLLL (big endian) / 80 + u32 (big endian)
 *                         strings of 6, 14 and 32-bit length
 *      C0 D0 E0 F0 FE     int16, int32, int64, int24, int8
 *      F1..FD             immediate 0..12
 *
 * intset: [width u32][count u32] then count values of width bytes, sorted. */
#include "rdb_packed.h"

#include <string.h>

#include "rivet/number.h"

static uint64_t read_le(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Sign-extends the low `bits` bits of v. */
static int64_t sign_extend(uint64_t v, int bits)
{
    uint64_t sign = (uint64_t)1 << (bits - 1);
    if (bits == 64)
        return (int64_t)v;
    v &= (sign << 1) - 1;
    return (int64_t)((v ^ sign) - sign);
}

const char *packed_item_bytes(const packed_item *item, char scratch[24], size_t *len)
{
    if (item->data) {
        *len = item->len;
        return (const char *)item->data;
    }
    *len = number_format_int64(scratch, item->integer);
    return scratch;
}

int packed_listpack_open(packed_cursor *cur, const unsigned char *blob, size_t len, size_t *count)
{
    if (len < 7 || read_le(blob, 4) != len || blob[len - 1] != 0xFF)
        return 0;
    *count = (size_t)read_le(blob + 4, 2);
    cur->pos = blob + 6;
    cur->end = blob + len - 1;
    cur->ziplist = 0;
    return 1;
}

int packed_ziplist_open(packed_cursor *cur, const unsigned char *blob, size_t len, size_t *count)
{
    if (len < 11 || read_le(blob, 4) != len || blob[len - 1] != 0xFF)
        return 0;
    *count = (size_t)read_le(blob + 8, 2);
    cur->pos = blob + 10;
    cur->end = blob + len - 1;
    cur->ziplist = 1;
    return 1;
}

static size_t backlen_size(size_t entry_len)
{
    if (entry_len < 128)
        return 1;
    if (entry_len < 16384)
        return 2;
    if (entry_len < 2097152)
        return 3;
    if (entry_len < 268435456)
        return 4;
    return 5;
}

/* Header and payload sizes of the listpack entry at p (avail bytes left). */
static int listpack_entry(const unsigned char *p, size_t avail, packed_item *item, size_t *size)
{
    unsigned b = p[0];
    size_t header, payload = 0;
    item->data = NULL;
    if (b < 0x80) {
        header = 1;
        item->integer = b;
    } else if ((b & 0xC0) == 0x80) {
        header = 1;
        payload = b & 0x3F;
    } else if ((b & 0xE0) == 0xC0) {
        if (avail < 2)
            return 0;
        header = 2;
        item->integer = sign_extend((uint64_t)(b & 0x1F) << 8 | p[1], 13);
    } else if ((b & 0xF0) == 0xE0) {
        if (avail < 2)
            return 0;
        header = 2;
        payload = (size_t)(b & 0x0F) << 8 | p[1];
    } else if (b == 0xF0) {
        if (avail < 5)
            return 0;
        header = 5;
        payload = (size_t)read_le(p + 1, 4);
    } else if (b >= 0xF1 && b <= 0xF4) {
        static const int widths[] = {2, 3, 4, 8};
        int width = widths[b - 0xF1];
        if (avail < (size_t)width + 1)
            return 0;
        header = 1 + (size_t)width;
        item->integer = sign_extend(read_le(p + 1, width), width * 8);
    } else {
        return 0;
    }
    int is_string = (b & 0xC0) == 0x80 || (b & 0xF0) == 0xE0 || b == 0xF0;
    if (payload > avail - header)
        return 0;
    if (is_string) {
        item->data = p + header;
        item->len = payload;
    }
    size_t body = header + payload;
    *size = body + backlen_size(body);
    return *size <= avail;
}

static int ziplist_entry(const unsigned char *p, size_t avail, packed_item *item, size_t *size)
{
    size_t prev = p[0] == 0xFE ? 5 : 1;
    if (avail < prev + 1)
        return 0;
    const unsigned char *e = p + prev;
    unsigned b = e[0];
    size_t header, payload = 0;
    item->data = NULL;
    switch (b >> 6) {
    case 0:
        header = 1;
        payload = b & 0x3F;
        break;
    case 1:
        if (avail < prev + 2)
            return 0;
        header = 2;
        payload = (size_t)(b & 0x3F) << 8 | e[1];
        break;
    case 2:
        if (b != 0x80 || avail < prev + 5)
            return 0;
        header = 5;
        payload = (size_t)e[1] << 24 | (size_t)e[2] << 16 | (size_t)e[3] << 8 | e[4];
        break;
    default: {
        int width;
        switch (b) {
        case 0xC0:
            width = 2;
            break;
        case 0xD0:
            width = 4;
            break;
        case 0xE0:
            width = 8;
            break;
        case 0xF0:
            width = 3;
            break;
        case 0xFE:
            width = 1;
            break;
        default:
            if (b < 0xF1 || b > 0xFD)
                return 0;
            width = 0;
        }
        header = 1 + (size_t)width;
        if (avail < prev + header)
            return 0;
        item->integer =
            width ? sign_extend(read_le(e + 1, width), width * 8) : (int64_t)(b & 0x0F) - 1;
        *size = prev + header;
        return 1;
    }
    }
    if (payload > avail - prev - header)
        return 0;
    item->data = e + header;
    item->len = payload;
    *size = prev + header + payload;
    return 1;
}

int packed_next(packed_cursor *cur, packed_item *item)
{
    if (cur->pos == cur->end)
        return 0;
    if (cur->pos > cur->end)
        return -1;
    size_t avail = (size_t)(cur->end - cur->pos);
    size_t size;
    int ok = cur->ziplist ? ziplist_entry(cur->pos, avail, item, &size)
                          : listpack_entry(cur->pos, avail, item, &size);
    if (!ok)
        return -1;
    cur->pos += size;
    return 1;
}

int64_t packed_count(const packed_cursor *start)
{
    packed_cursor cur = *start;
    packed_item item;
    int64_t n = 0;
    int rc;
    while ((rc = packed_next(&cur, &item)) == 1)
        n++;
    return rc < 0 ? -1 : n;
}

int packed_intset_open(const unsigned char *blob, size_t len, int *width, size_t *count)
{
    if (len < 8)
        return 0;
    uint64_t w = read_le(blob, 4), n = read_le(blob + 4, 4);
    if ((w != 2 && w != 4 && w != 8) || len != 8 + w * n)
        return 0;
    *width = (int)w;
    *count = (size_t)n;
    return 1;
}

int64_t packed_intset_get(const unsigned char *blob, int width, size_t index)
{
    return sign_extend(read_le(blob + 8 + (size_t)width * index, width), width * 8);
}

/* ---------- writing listpacks ---------- */

static void put_le(buffer *out, uint64_t v, int bytes)
{
    unsigned char b[8];
    for (int i = 0; i < bytes; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    buffer_append(out, b, (size_t)bytes);
}

/* The back length: high-order groups first, every byte but the first
 * flagged, so that it reads from its last byte backwards. */
static void put_backlen(buffer *out, size_t len)
{
    size_t n = backlen_size(len);
    unsigned char b[5];
    for (size_t i = 0; i < n; i++) {
        size_t shift = 7 * (n - 1 - i);
        b[i] = (unsigned char)((len >> shift) & 0x7F);
        if (i > 0)
            b[i] |= 0x80;
    }
    buffer_append(out, b, n);
}

void packed_writer_begin(packed_writer *w, buffer *out)
{
    w->out = out;
    w->start = out->len;
    w->count = 0;
    put_le(out, 0, 4);
    put_le(out, 0, 2);
}

void packed_writer_append_integer(packed_writer *w, int64_t v)
{
    buffer *out = w->out;
    size_t before = out->len;
    uint64_t u = (uint64_t)v;
    if (v >= 0 && v <= 127) {
        buffer_append_char(out, (char)v);
    } else if (v >= -4096 && v <= 4095) {
        buffer_append_char(out, (char)(0xC0 | ((u >> 8) & 0x1F)));
        buffer_append_char(out, (char)(u & 0xFF));
    } else if (v >= -32768 && v <= 32767) {
        buffer_append_char(out, (char)0xF1);
        put_le(out, u, 2);
    } else if (v >= -8388608 && v <= 8388607) {
        buffer_append_char(out, (char)0xF2);
        put_le(out, u, 3);
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
        buffer_append_char(out, (char)0xF3);
        put_le(out, u, 4);
    } else {
        buffer_append_char(out, (char)0xF4);
        put_le(out, u, 8);
    }
    put_backlen(out, out->len - before);
    w->count++;
}

void packed_writer_append(packed_writer *w, const char *data, size_t len)
{
    int64_t v;
    if (len <= 20 && number_parse_int64(data, len, &v)) {
        packed_writer_append_integer(w, v);
        return;
    }
    buffer *out = w->out;
    size_t before = out->len;
    if (len < 64) {
        buffer_append_char(out, (char)(0x80 | len));
    } else if (len < 4096) {
        buffer_append_char(out, (char)(0xE0 | (len >> 8)));
        buffer_append_char(out, (char)(len & 0xFF));
    } else {
        buffer_append_char(out, (char)0xF0);
        put_le(out, len, 4);
    }
    buffer_append(out, data, len);
    put_backlen(out, out->len - before);
    w->count++;
}

void packed_writer_finish(packed_writer *w)
{
    buffer *out = w->out;
    buffer_append_char(out, (char)0xFF);
    size_t total = out->len - w->start;
    unsigned char *h = (unsigned char *)out->data + w->start;
    for (int i = 0; i < 4; i++)
        h[i] = (unsigned char)(total >> (8 * i));
    size_t count = w->count < 65535 ? w->count : 65535;
    h[4] = (unsigned char)(count & 0xFF);
    h[5] = (unsigned char)(count >> 8);
}
