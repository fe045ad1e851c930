/* buffer: a growable byte array with explicit length, the one container for
 * query input, reply output and temporary strings. Binary safe; always keeps a
 * NUL after the last byte so the contents can be read as a C string. */
#ifndef RIVET_BUFFER_H
#define RIVET_BUFFER_H

#include <stddef.h>
#include <stdint.h>

typedef struct buffer {
    char *data;
    size_t len;
    size_t cap;
} buffer;

void buffer_init(buffer *b);
void buffer_release(buffer *b);
/* Make room for at least `extra` more bytes after len. */
void buffer_reserve(buffer *b, size_t extra);
void buffer_append(buffer *b, const void *data, size_t len);
void buffer_append_char(buffer *b, char c);
void buffer_append_cstr(buffer *b, const char *s);
void buffer_appendf(buffer *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends the low `bytes` (1..8) bytes of value, least significant first:
 * the byte order of the native types' saved formats. */
void buffer_append_le(buffer *b, uint64_t value, int bytes);
/* Reads `bytes` (1..8) bytes at p, least significant first. */
uint64_t buffer_read_le(const void *p, int bytes);
/* Drop the first n bytes, moving the rest to the front. */
void buffer_consume(buffer *b, size_t n);
void buffer_clear(buffer *b);
/* Give back memory when capacity is far above what is in use. */
void buffer_shrink(buffer *b, size_t keep_cap);

#endif
