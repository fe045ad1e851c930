/* field_table: a map from byte-string fields to byte-string values, the full
 * encoding of hashes. Get, set and delete are O(1) on average; each pair is
 * one allocation; growth is incremental and SCAN keeps the hashtable's
 * guarantee (every pair present for the whole scan is returned). */
#ifndef RIVET_FIELD_TABLE_H
#define RIVET_FIELD_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "rivet/hashtable.h"

typedef struct field_table field_table;

/* One pair as seen from outside. The pointers stay valid until the pair is
 * changed or deleted (or the table freed). */
typedef struct field_pair {
    const char *field;
    size_t field_len;
    const char *value;
    size_t value_len;
} field_pair;

field_table *field_table_create(void);
void field_table_free(field_table *table);
field_table *field_table_duplicate(const field_table *table);
size_t field_table_size(const field_table *table);
/* Bytes held by the table: buckets and pairs. O(n). */
/* Bytes held, counting every pair (samples 0) or extrapolating from the
 * first `samples` pairs. */
size_t field_table_memory(const field_table *table, size_t samples);

/* 1 and *pair filled when field is present, else 0. */
int field_table_get(field_table *table, const char *field, size_t field_len, field_pair *pair);
/* Sets field to value: returns 1 when the field was added, 0 when an
 * existing value was replaced. */
int field_table_set(field_table *table, const char *field, size_t field_len, const char *value,
                    size_t value_len);
/* Adds a pair whose field the caller knows is absent (bulk loading). */
void field_table_add(field_table *table, const char *field, size_t field_len, const char *value,
                     size_t value_len);
/* 1 when field was present and is now gone, else 0. */
int field_table_delete(field_table *table, const char *field, size_t field_len);

/* A pair picked at random (a random bucket, then a random pair in its chain);
 * 0 when the table is empty. */
int field_table_random(field_table *table, uint64_t random, field_pair *pair);

/* SCAN: visits the pairs at one cursor position and returns the next cursor
 * (0 when done). visit may not change the table. */
typedef void (*field_visit_fn)(void *ctx, const field_pair *pair);
uint64_t field_table_scan(field_table *table, uint64_t cursor, field_visit_fn visit, void *ctx);

/* Iteration in table order; the table may not change while it is open. */
typedef struct field_table_iterator {
    hashtable_iterator inner;
} field_table_iterator;
void field_table_iterator_init(field_table_iterator *it, field_table *table);
/* 1 and *pair filled, or 0 at the end. */
int field_table_iterator_next(field_table_iterator *it, field_pair *pair);
void field_table_iterator_release(field_table_iterator *it);

#endif
