/* member_table: a set of distinct byte strings on the intrusive hashtable,
 * the full encoding of sets. Each member is one allocation holding the chain
 * link, the length and the bytes, so a member costs its bytes plus 12; adds,
 * removes and lookups are O(1) on average and never pay for a whole rehash.
 * A member handle stays valid until that member is removed. */
#ifndef RIVET_MEMBER_TABLE_H
#define RIVET_MEMBER_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "rivet/hashtable.h"

typedef struct member_table member_table;
typedef struct member member;

member_table *member_table_create(void);
void member_table_free(member_table *table);
member_table *member_table_duplicate(member_table *table);

size_t member_table_size(const member_table *table);
/* Bytes held: the table, its bucket arrays and every member (walks them all). */
/* Bytes held, counting every member (samples 0) or extrapolating from the
 * first `samples` members. */
size_t member_table_memory(member_table *table, size_t samples);

/* 1 if added, 0 if already present. */
int member_table_add(member_table *table, const char *data, size_t len);
/* 1 if removed, 0 if absent. */
int member_table_remove(member_table *table, const char *data, size_t len);
member *member_table_find(member_table *table, const char *data, size_t len);
int member_table_contains(member_table *table, const char *data, size_t len);
/* Removes and frees a member found by find, random or an iterator. */
void member_table_delete(member_table *table, member *m);
/* A member chosen at random, or NULL when empty; random is any 64-bit number. */
member *member_table_random(member_table *table, uint64_t random);

const char *member_bytes(const member *m, size_t *len);

/* Iteration; the current member (only) may be deleted while iterating. */
typedef struct member_table_iterator {
    hashtable_iterator inner;
} member_table_iterator;
void member_table_iterator_init(member_table_iterator *it, member_table *table);
member *member_table_iterator_next(member_table_iterator *it);
void member_table_iterator_release(member_table_iterator *it);

/* SCAN-style walk (cursor semantics as hashtable_scan); visit may not change
 * the table. Returns the next cursor, 0 when done. */
typedef void (*member_visit_fn)(void *ctx, const member *m);
uint64_t member_table_scan(member_table *table, uint64_t cursor, member_visit_fn visit, void *ctx);

#endif
