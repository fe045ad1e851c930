/* Growable byte buffer. Growth doubles up to 1 MB and then adds 1 MB at a
 * time, so a huge reply does not reserve twice its size. */
#include "rivet/buffer.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "rivet/memory.h"

void buffer_init(buffer *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void buffer_release(buffer *b)
{
    mem_free(b->data);
    buffer_init(b);
}

void buffer_reserve(buffer *b, size_t extra)
{
    size_t need = b->len + extra + 1; /* +1 keeps room for the trailing NUL */
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap < (1u << 20) ? cap * 2 : cap + (1u << 20);
    b->data = mem_realloc(b->data, cap);
    b->cap = mem_block_size(b->data);
}

void buffer_append(buffer *b, const void *data, size_t len)
{
    buffer_reserve(b, len);
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void buffer_append_char(buffer *b, char c)
{
    buffer_reserve(b, 1);
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
}

void buffer_append_cstr(buffer *b, const char *s)
{
    buffer_append(b, s, strlen(s));
}

void buffer_appendf(buffer *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(small)) {
        buffer_append(b, small, (size_t)n);
        return;
    }
    buffer_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void buffer_consume(buffer *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
    } else {
        memmove(b->data, b->data + n, b->len - n);
        b->len -= n;
    }
    if (b->data)
        b->data[b->len] = '\0';
}

void buffer_clear(buffer *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void buffer_shrink(buffer *b, size_t keep_cap)
{
    if (b->cap <= keep_cap || b->len + 1 > keep_cap)
        return;
    b->data = mem_realloc(b->data, keep_cap);
    b->cap = mem_block_size(b->data);
}

void buffer_append_le(buffer *b, uint64_t value, int bytes)
{
    unsigned char out[8];
    for (int i = 0; i < bytes; i++)
        out[i] = (unsigned char)(value >> (8 * i));
    buffer_append(b, out, (size_t)bytes);
}

uint64_t buffer_read_le(const void *p, int bytes)
{
    const unsigned char *in = p;
    uint64_t value = 0;
    for (int i = bytes - 1; i >= 0; i--)
        value = (value << 8) | in[i];
    return value;
}
