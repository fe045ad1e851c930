/* skiplist: the full encoding of a sorted set. Members are kept ordered by
 * (score, member bytes) in a skiplist whose links carry spans, so lookups by
 * rank and rank of a member cost O(log n); a hash index on the member bytes
 * gives O(1) score lookups. One allocation per member serves as both its
 * skiplist node and its hash node. Knows nothing of clients or commands. */
#ifndef RIVET_SKIPLIST_H
#define RIVET_SKIPLIST_H

#include <stddef.h>
#include <stdint.h>

typedef struct skiplist skiplist;
typedef struct skiplist_node skiplist_node;

/* A score interval as ZRANGEBYSCORE takes it: "(" makes a bound exclusive. */
typedef struct score_range {
    double min, max;
    int min_exclusive, max_exclusive;
} score_range;

/* One end of a lexicographic interval: "[x" inclusive, "(x" exclusive, "-"
 * below everything, "+" above everything. */
enum lex_bound_kind { LEX_INCLUSIVE, LEX_EXCLUSIVE, LEX_MINUS_INFINITY, LEX_PLUS_INFINITY };

typedef struct lex_bound {
    const char *data;
    size_t len;
    int kind; /* lex_bound_kind */
} lex_bound;

typedef struct lex_range {
    lex_bound min, max;
} lex_range;

/* Interval predicates, shared with the compact encoding. */
int score_range_is_empty(const score_range *range);
int score_above_min(const score_range *range, double score);
int score_below_max(const score_range *range, double score);
int lex_range_is_empty(const lex_range *range);
int lex_above_min(const lex_range *range, const char *member, size_t len);
int lex_below_max(const lex_range *range, const char *member, size_t len);
/* Byte-wise comparison, a shorter prefix sorting first (memcmp order). */
int member_compare(const char *a, size_t a_len, const char *b, size_t b_len);
/* Nonzero when (score_a, a) sorts before (score_b, b). */
int member_precedes(double score_a, const char *a, size_t a_len, double score_b, const char *b,
                    size_t b_len);

skiplist *skiplist_create(void);
void skiplist_destroy(skiplist *list);
skiplist *skiplist_duplicate(const skiplist *list);
size_t skiplist_length(const skiplist *list);
/* Bytes held, counting every node (samples 0) or extrapolating from the
 * first `samples` nodes. */
size_t skiplist_memory(const skiplist *list, size_t samples);

/* O(1) lookup of a member; NULL when absent. */
skiplist_node *skiplist_find(const skiplist *list, const char *member, size_t len);
/* Adds a member that must not be present; returns its node. */
skiplist_node *skiplist_insert(skiplist *list, double score, const char *member, size_t len);
/* Changes a node's score, moving it if its position changes. The node stays
 * valid (same address). */
void skiplist_update_score(skiplist *list, skiplist_node *node, double score);
/* Removes a member (1) or reports it absent (0). */
int skiplist_delete(skiplist *list, const char *member, size_t len);
void skiplist_delete_node(skiplist *list, skiplist_node *node);

double skiplist_node_score(const skiplist_node *node);
const char *skiplist_node_member(const skiplist_node *node, size_t *len);

/* Walking in order; NULL past either end. */
skiplist_node *skiplist_first(const skiplist *list);
skiplist_node *skiplist_last(const skiplist *list);
skiplist_node *skiplist_next(const skiplist_node *node);
skiplist_node *skiplist_prev(const skiplist_node *node);

/* 0-based rank of a node in ascending order, O(log n). */
size_t skiplist_rank(const skiplist *list, const skiplist_node *node);
/* Node at a 0-based rank, or NULL when rank >= length. O(log n). */
skiplist_node *skiplist_at_rank(const skiplist *list, size_t rank);

/* First / last node inside an interval, or NULL when none is. O(log n). */
skiplist_node *skiplist_first_in_score_range(const skiplist *list, const score_range *range);
skiplist_node *skiplist_last_in_score_range(const skiplist *list, const score_range *range);
skiplist_node *skiplist_first_in_lex_range(const skiplist *list, const lex_range *range);
skiplist_node *skiplist_last_in_lex_range(const skiplist *list, const lex_range *range);

/* Range deletions in O(log n + removed); each returns how many went. */
size_t skiplist_delete_score_range(skiplist *list, const score_range *range);
size_t skiplist_delete_lex_range(skiplist *list, const lex_range *range);
/* Ranks start..end inclusive, 0-based, both within the list. */
size_t skiplist_delete_rank_range(skiplist *list, size_t start, size_t end);

/* ZSCAN over the hash index; cursor semantics as hashtable_scan (every member
 * present for the whole scan is visited at least once). visit may not change
 * the list. */
typedef void (*skiplist_visit_fn)(void *ctx, const skiplist_node *node);
uint64_t skiplist_scan(const skiplist *list, uint64_t cursor, skiplist_visit_fn visit, void *ctx);
/* A member chosen at random (random is any 64-bit random number). */
skiplist_node *skiplist_random(const skiplist *list, uint64_t random);

#endif
