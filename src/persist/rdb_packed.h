/* Private to persist/: the byte formats of Redis's packed encodings as they
 * appear inside RDB files (listpack, ziplist, intset). Rivet's own in-memory
 * listpack differs, so snapshots translate through these readers and the
 * listpack writer. Readers check every length against the blob and report
 * malformed input instead of reading past it. */
#ifndef RIVET_PERSIST_RDB_PACKED_H
#define RIVET_PERSIST_RDB_PACKED_H

#include <stddef.h>
#include <stdint.h>

#include "rivet/buffer.h"

/* One element: bytes (data != NULL) or an integer. */
typedef struct packed_item {
    const unsigned char *data;
    size_t len;
    int64_t integer;
} packed_item;

/* The element as text; integers are rendered into scratch. */
const char *packed_item_bytes(const packed_item *item, char scratch[24], size_t *len);

/* A forward walk over a listpack or ziplist blob. */
typedef struct packed_cursor {
    const unsigned char *pos;
    const unsigned char *end; /* the terminator byte */
    int ziplist;
} packed_cursor;

/* Checks the header and terminator and positions the cursor on the first
 * element; *count gets the header's element count (may be 65535 =
 * "unknown" for listpacks). 0 when the blob is malformed. */
int packed_listpack_open(packed_cursor *cur, const unsigned char *blob, size_t len, size_t *count);
int packed_ziplist_open(packed_cursor *cur, const unsigned char *blob, size_t len, size_t *count);
/* 1 and *item filled, 0 at the end, -1 when the blob is malformed. */
int packed_next(packed_cursor *cur, packed_item *item);
/* Counts the elements by walking them; -1 when malformed. */
int64_t packed_count(const packed_cursor *start);

/* An intset blob: 0 when malformed, else *width and *count filled. */
int packed_intset_open(const unsigned char *blob, size_t len, int *width, size_t *count);
int64_t packed_intset_get(const unsigned char *blob, int width, size_t index);

/* Writing a Redis listpack into out: begin, append elements, finish. */
typedef struct packed_writer {
    buffer *out;
    size_t start; /* offset of the header in out */
    size_t count;
} packed_writer;
void packed_writer_begin(packed_writer *w, buffer *out);
/* Canonical integers are stored as integers, as Redis does. */
void packed_writer_append(packed_writer *w, const char *data, size_t len);
void packed_writer_append_integer(packed_writer *w, int64_t value);
void packed_writer_finish(packed_writer *w);

#endif
