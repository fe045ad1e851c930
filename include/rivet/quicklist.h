/* quicklist: a list of byte strings kept as a doubly linked chain of
 * listpack nodes, each bounded by a fill limit (Redis's list-max-listpack-size:
 * -1..-5 cap a node at 4/8/16/32/64 KB, a positive value caps its entries).
 * Pushing and popping at either end is O(1); reaching index i walks nodes from
 * the nearer end. Entries handed out point into a node and stay valid until
 * the list next changes. */
#ifndef RIVET_QUICKLIST_H
#define RIVET_QUICKLIST_H

#include <stddef.h>
#include <stdint.h>

#include "rivet/listpack.h"

typedef struct quicklist_node {
    struct quicklist_node *prev;
    struct quicklist_node *next;
    listpack *entries;
    uint32_t count; /* entries in this node (kept here: listpacks may not count past 65535) */
} quicklist_node;

typedef struct quicklist {
    quicklist_node *head;
    quicklist_node *tail;
    uint64_t count; /* entries in all nodes */
    uint32_t node_count;
    int32_t fill; /* list-max-listpack-size when the list was created */
} quicklist;

enum quicklist_end { QUICKLIST_HEAD = 0, QUICKLIST_TAIL = 1 };

quicklist *quicklist_create(int64_t fill);
void quicklist_free(quicklist *ql);
quicklist *quicklist_duplicate(const quicklist *ql);
static inline uint64_t quicklist_count(const quicklist *ql)
{
    return ql->count;
}
/* Bytes held by the list: its header, nodes and listpacks. */
size_t quicklist_memory(const quicklist *ql);

void quicklist_push(quicklist *ql, enum quicklist_end where, const char *data, size_t len);
/* The entry at one end, left in place; 0 when the list is empty. */
int quicklist_peek(const quicklist *ql, enum quicklist_end where, listpack_entry *entry);
/* Removes the entry at one end (no-op on an empty list). */
void quicklist_pop(quicklist *ql, enum quicklist_end where);

/* The entry at index (negative counts from the tail); 0 when out of range. */
int quicklist_index(const quicklist *ql, int64_t index, listpack_entry *entry);
/* Replaces the entry at index; 0 when out of range. */
int quicklist_replace(quicklist *ql, int64_t index, const char *data, size_t len);
/* Deletes count entries from index start (0-based, from the head); the
 * range is clipped to the list. */
void quicklist_delete_range(quicklist *ql, uint64_t start, uint64_t count);

/* Walks entries from a starting index toward the tail (forward) or the head.
 * The iterator lives on the caller's stack and allocates nothing. */
typedef struct quicklist_iterator {
    quicklist *list;
    quicklist_node *node;         /* where the next entry is; NULL when done */
    size_t position;              /* its cursor in node->entries */
    quicklist_node *current_node; /* the entry last returned */
    size_t current_position;
    int forward;
} quicklist_iterator;

/* Starts at index (negative counts from the tail); out of range gives an
 * iterator that returns nothing. */
void quicklist_iterator_start(quicklist_iterator *it, quicklist *ql, int64_t index, int forward);
/* Fills entry with the next one; 0 when there are no more. */
int quicklist_iterator_next(quicklist_iterator *it, listpack_entry *entry);
/* Deletes the entry last returned; iteration continues with the one after
 * it (in the iterator's direction). */
void quicklist_iterator_delete(quicklist_iterator *it);
/* Inserts data before or after the entry last returned. The iterator must
 * not be used afterwards. */
void quicklist_iterator_insert(quicklist_iterator *it, int after, const char *data, size_t len);

#endif
