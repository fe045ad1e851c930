/* zset_access: what code outside the sorted-set commands (persistence) needs
 * from a sorted-set value: walking its members in order, and giving a set
 * built as a skiplist the encoding ZADD would have chosen for it. The
 * listpack layout stays private to src/commands/zset.c. */
#ifndef RIVET_ZSET_ACCESS_H
#define RIVET_ZSET_ACCESS_H

#include <stddef.h>

#include "rivet/object.h"
#include "rivet/skiplist.h"

typedef void (*zset_visit_fn)(void *ctx, const char *member, size_t len, double score);

/* Visits every member in (score, member) order. */
void zset_value_walk(object_encoding encoding, const void *ptr, zset_visit_fn visit, void *ctx);
size_t zset_value_length(object_encoding encoding, const void *ptr);

/* Takes ownership of list: returns a listpack (and frees list) when the
 * members fit zset-max-listpack-entries/-value, otherwise list itself. */
void *zset_value_from_skiplist(skiplist *list, object_encoding *encoding);

#endif
