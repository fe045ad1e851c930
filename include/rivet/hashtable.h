/* hashtable: a chained hash table of intrusive nodes with incremental rehash.
 * The table never allocates or frees nodes: callers embed a hashtable_node as
 * the first member of their own struct and give the hash with every call.
 * Growth and shrink move a few buckets per operation, so no single call pays
 * for a whole-table rehash. hashtable_scan uses a reverse-binary cursor: every
 * node present for the whole of a scan is returned at least once, even when the
 * table is resized between calls. */
#ifndef RIVET_HASHTABLE_H
#define RIVET_HASHTABLE_H

#include <stddef.h>
#include <stdint.h>

typedef struct hashtable_node {
    struct hashtable_node *next;
} hashtable_node;

typedef struct hashtable_type {
    /* Hash of a stored node's key (needed when moving nodes during rehash). */
    uint64_t (*hash_node)(const hashtable_node *node);
    /* Nonzero when the node's key equals key[0..keylen). */
    int (*node_has_key)(const hashtable_node *node, const void *key, size_t keylen);
} hashtable_type;

typedef struct hashtable hashtable;

hashtable *hashtable_create(const hashtable_type *type);
/* Frees the table; calls free_node (if not NULL) on every node first. */
void hashtable_destroy(hashtable *table, void (*free_node)(hashtable_node *node));
/* Removes every node (free_node as above) and returns to the empty state. */
void hashtable_clear(hashtable *table, void (*free_node)(hashtable_node *node));

size_t hashtable_size(const hashtable *table);
/* Bytes held by the bucket arrays (not the nodes). */
size_t hashtable_memory(const hashtable *table);
/* Number of buckets in the main array (for INFO / DEBUG). */
size_t hashtable_buckets(const hashtable *table);
int hashtable_is_rehashing(const hashtable *table);

hashtable_node *hashtable_find(hashtable *table, uint64_t hash, const void *key, size_t keylen);
/* Caller guarantees no node with the same key is present. */
void hashtable_insert(hashtable *table, uint64_t hash, hashtable_node *node);
/* Unlinks and returns the node with that key, or NULL. */
hashtable_node *hashtable_remove(hashtable *table, uint64_t hash, const void *key, size_t keylen);
/* Whether node is linked in the table under hash. Compares addresses only,
 * so node may be a pointer to freed memory: it is never read. */
int hashtable_contains(const hashtable *table, uint64_t hash, const hashtable_node *node);
/* Puts new_node where old_node is (same key, e.g. after a realloc of the
 * caller's struct). old_node must be in the table; its memory is not read
 * except for its address, so it may already be freed. new_node->next must
 * already hold old_node's next (a byte copy of the node does this). */
void hashtable_replace(hashtable *table, uint64_t hash, hashtable_node *old_node,
                       hashtable_node *new_node);

/* Visits the nodes of one cursor position and returns the next cursor (0 when
 * the scan is complete). visit may not insert or remove nodes. */
typedef void (*hashtable_visit_fn)(void *ctx, hashtable_node *node);
uint64_t hashtable_scan(hashtable *table, uint64_t cursor, hashtable_visit_fn visit, void *ctx);

/* A node chosen at random (from a random nonempty bucket, then a random node in
 * its chain); NULL when empty. random is any 64-bit random number. */
hashtable_node *hashtable_random(hashtable *table, uint64_t random);

/* Does up to `steps` buckets of pending rehash work; returns nonzero if more
 * remains. Lets a timer finish a rehash on an idle table. */
int hashtable_rehash_step(hashtable *table, int steps);

/* Iteration that tolerates removal of the current node (and only that):
 * rehashing is paused while any iterator is open on the table. */
typedef struct hashtable_iterator {
    hashtable *table;
    int which;    /* 0 main array, 1 rehash target */
    size_t index; /* bucket */
    hashtable_node *next;
    int started;
} hashtable_iterator;
void hashtable_iterator_init(hashtable_iterator *it, hashtable *table);
hashtable_node *hashtable_iterator_next(hashtable_iterator *it);
void hashtable_iterator_release(hashtable_iterator *it);

#endif
