/* The sorted set's full encoding: a skiplist ordered by (score, member) with
 * a span on every link, plus a hash index from member to node.
 *
 * Each link records how many nodes it jumps over (its span). Summing spans on
 * the way down gives a node's rank, and descending by spans finds the node at
 * a rank, both in O(log n) expected time, which ZRANK, ZRANGE by index and
 * ZREMRANGEBYRANK need.
 *
 * A member is a single allocation: the hash index's link comes first (the
 * hashtable is intrusive), then the score, the back link, the member's length
 * and level count, the level links, and finally the member bytes. Storing the
 * bytes after the variable-length level array keeps the node one block with
 * no pointer to chase for comparisons.
 *
 * Levels are drawn with probability 1/4 per extra level up to 32, which keeps
 * the expected links per node at 4/3 while giving O(log n) searches for any
 * size a server can hold. */
#include "rivet/skiplist.h"

#include <string.h>

#include "rivet/hash.h"
#include "rivet/hashtable.h"
#include "rivet/memory.h"

#define SKIPLIST_MAX_LEVEL 32

typedef struct skiplist_link {
    struct skiplist_node *forward;
    size_t span; /* nodes between this node and forward, counting forward */
} skiplist_link;

struct skiplist_node {
    hashtable_node hash_link; /* first: the index hands these back to us */
    double score;
    struct skiplist_node *backward;
    uint32_t member_len;
    uint8_t level;
    skiplist_link links[]; /* level entries, then member_len member bytes */
};

struct skiplist {
    hashtable *index;
    skiplist_node *header; /* sentinel with SKIPLIST_MAX_LEVEL links */
    skiplist_node *tail;
    size_t length;
    int level; /* links in use on the header */
};

/* ---------- ordering and intervals ---------- */

int member_compare(const char *a, size_t a_len, const char *b, size_t b_len)
{
    size_t n = a_len < b_len ? a_len : b_len;
    int cmp = n ? memcmp(a, b, n) : 0;
    if (cmp != 0)
        return cmp;
    return a_len < b_len ? -1 : (a_len > b_len ? 1 : 0);
}

int member_precedes(double score_a, const char *a, size_t a_len, double score_b, const char *b,
                    size_t b_len)
{
    if (score_a != score_b)
        return score_a < score_b;
    return member_compare(a, a_len, b, b_len) < 0;
}

int score_range_is_empty(const score_range *range)
{
    return range->min > range->max ||
           (range->min == range->max && (range->min_exclusive || range->max_exclusive));
}

int score_above_min(const score_range *range, double score)
{
    return range->min_exclusive ? score > range->min : score >= range->min;
}

int score_below_max(const score_range *range, double score)
{
    return range->max_exclusive ? score < range->max : score <= range->max;
}

int lex_range_is_empty(const lex_range *range)
{
    if (range->min.kind == LEX_PLUS_INFINITY || range->max.kind == LEX_MINUS_INFINITY)
        return 1;
    if (range->min.kind == LEX_MINUS_INFINITY || range->max.kind == LEX_PLUS_INFINITY)
        return 0;
    int cmp = member_compare(range->min.data, range->min.len, range->max.data, range->max.len);
    return cmp > 0 ||
           (cmp == 0 && (range->min.kind == LEX_EXCLUSIVE || range->max.kind == LEX_EXCLUSIVE));
}

int lex_above_min(const lex_range *range, const char *member, size_t len)
{
    switch (range->min.kind) {
    case LEX_MINUS_INFINITY:
        return 1;
    case LEX_PLUS_INFINITY:
        return 0;
    case LEX_INCLUSIVE:
        return member_compare(member, len, range->min.data, range->min.len) >= 0;
    default:
        return member_compare(member, len, range->min.data, range->min.len) > 0;
    }
}

int lex_below_max(const lex_range *range, const char *member, size_t len)
{
    switch (range->max.kind) {
    case LEX_PLUS_INFINITY:
        return 1;
    case LEX_MINUS_INFINITY:
        return 0;
    case LEX_INCLUSIVE:
        return member_compare(member, len, range->max.data, range->max.len) <= 0;
    default:
        return member_compare(member, len, range->max.data, range->max.len) < 0;
    }
}

/* ---------- nodes ---------- */

static inline const char *node_bytes(const skiplist_node *node)
{
    return (const char *)&node->links[node->level];
}

static inline int node_precedes(const skiplist_node *node, double score, const char *member,
                                size_t len)
{
    return member_precedes(node->score, node_bytes(node), node->member_len, score, member, len);
}

static skiplist_node *node_create(int level, double score, const char *member, size_t len)
{
    skiplist_node *node =
        mem_alloc(sizeof(skiplist_node) + (size_t)level * sizeof(skiplist_link) + len);
    node->hash_link.next = NULL;
    node->score = score;
    node->backward = NULL;
    node->member_len = (uint32_t)len;
    node->level = (uint8_t)level;
    if (len)
        memcpy((char *)&node->links[level], member, len);
    return node;
}

/* Level for a new node: 1, plus one more with probability 1/4 each time. A
 * private xorshift keeps the module free of server state; the shape of a
 * skiplist needs no unpredictability. */
static int random_level(void)
{
    static uint64_t state = 0x9e3779b97f4a7c15ull;
    int level = 1;
    for (;;) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        /* 32 levels at 2 bits each use all 64 bits of one draw. */
        uint64_t bits = state;
        for (int i = 0; i < 32; i++, bits >>= 2) {
            if ((bits & 3) != 0 || level == SKIPLIST_MAX_LEVEL)
                return level;
            level++;
        }
    }
}

/* ---------- the hash index ---------- */

static uint64_t index_hash_node(const hashtable_node *link)
{
    const skiplist_node *node = (const skiplist_node *)link;
    return hash_bytes(node_bytes(node), node->member_len);
}

static int index_node_has_key(const hashtable_node *link, const void *key, size_t len)
{
    const skiplist_node *node = (const skiplist_node *)link;
    return node->member_len == len && memcmp(node_bytes(node), key, len) == 0;
}

static const hashtable_type index_type = {
    .hash_node = index_hash_node,
    .node_has_key = index_node_has_key,
};

/* ---------- the list ---------- */

skiplist *skiplist_create(void)
{
    skiplist *list = mem_alloc(sizeof(*list));
    list->index = hashtable_create(&index_type);
    list->header = node_create(SKIPLIST_MAX_LEVEL, 0, NULL, 0);
    for (int i = 0; i < SKIPLIST_MAX_LEVEL; i++) {
        list->header->links[i].forward = NULL;
        list->header->links[i].span = 0;
    }
    list->tail = NULL;
    list->length = 0;
    list->level = 1;
    return list;
}

void skiplist_destroy(skiplist *list)
{
    if (!list)
        return;
    skiplist_node *node = list->header->links[0].forward;
    while (node) {
        skiplist_node *next = node->links[0].forward;
        mem_free(node);
        node = next;
    }
    /* The nodes are gone: empty the index without visiting them. */
    hashtable_destroy(list->index, NULL);
    mem_free(list->header);
    mem_free(list);
}

size_t skiplist_memory(const skiplist *list, size_t samples)
{
    size_t bytes = mem_block_size(list) + mem_block_size(list->header) +
                   hashtable_memory(list->index) + mem_block_size(list->index);
    size_t seen = 0, node_bytes = 0;
    for (const skiplist_node *n = skiplist_first(list); n && (samples == 0 || seen < samples);
         n = skiplist_next(n)) {
        node_bytes += mem_block_size(n);
        seen++;
    }
    return bytes + (seen ? node_bytes * list->length / seen : 0);
}

size_t skiplist_length(const skiplist *list)
{
    return list->length;
}

double skiplist_node_score(const skiplist_node *node)
{
    return node->score;
}

const char *skiplist_node_member(const skiplist_node *node, size_t *len)
{
    *len = node->member_len;
    return node_bytes(node);
}

skiplist_node *skiplist_first(const skiplist *list)
{
    return list->header->links[0].forward;
}

skiplist_node *skiplist_last(const skiplist *list)
{
    return list->tail;
}

skiplist_node *skiplist_next(const skiplist_node *node)
{
    return node->links[0].forward;
}

skiplist_node *skiplist_prev(const skiplist_node *node)
{
    return node->backward;
}

skiplist_node *skiplist_find(const skiplist *list, const char *member, size_t len)
{
    return (skiplist_node *)hashtable_find(list->index, hash_bytes(member, len), member, len);
}

/* Links node (not yet in the list, level already set) at its place. */
static void link_node(skiplist *list, skiplist_node *node)
{
    skiplist_node *update[SKIPLIST_MAX_LEVEL];
    size_t rank[SKIPLIST_MAX_LEVEL];
    const char *member = node_bytes(node);
    skiplist_node *x = list->header;
    for (int i = list->level - 1; i >= 0; i--) {
        rank[i] = i == list->level - 1 ? 0 : rank[i + 1];
        while (x->links[i].forward &&
               node_precedes(x->links[i].forward, node->score, member, node->member_len)) {
            rank[i] += x->links[i].span;
            x = x->links[i].forward;
        }
        update[i] = x;
    }
    int level = node->level;
    if (level > list->level) {
        for (int i = list->level; i < level; i++) {
            rank[i] = 0;
            update[i] = list->header;
            update[i]->links[i].span = list->length;
        }
        list->level = level;
    }
    for (int i = 0; i < level; i++) {
        node->links[i].forward = update[i]->links[i].forward;
        update[i]->links[i].forward = node;
        /* rank[0] - rank[i] nodes lie between update[i] and the new node. */
        node->links[i].span = update[i]->links[i].span - (rank[0] - rank[i]);
        update[i]->links[i].span = (rank[0] - rank[i]) + 1;
    }
    for (int i = level; i < list->level; i++)
        update[i]->links[i].span++;
    node->backward = update[0] == list->header ? NULL : update[0];
    if (node->links[0].forward)
        node->links[0].forward->backward = node;
    else
        list->tail = node;
    list->length++;
}

/* Unlinks node given the last node before it on every level. */
static void unlink_node(skiplist *list, skiplist_node *node, skiplist_node **update)
{
    for (int i = 0; i < list->level; i++) {
        if (update[i]->links[i].forward == node) {
            update[i]->links[i].span += node->links[i].span - 1;
            update[i]->links[i].forward = node->links[i].forward;
        } else {
            update[i]->links[i].span--;
        }
    }
    if (node->links[0].forward)
        node->links[0].forward->backward = node->backward;
    else
        list->tail = node->backward;
    while (list->level > 1 && list->header->links[list->level - 1].forward == NULL)
        list->level--;
    list->length--;
}

/* Fills update[] with the last node before `node` on every level. */
static void find_predecessors(const skiplist *list, const skiplist_node *node,
                              skiplist_node **update)
{
    skiplist_node *x = list->header;
    for (int i = list->level - 1; i >= 0; i--) {
        while (x->links[i].forward &&
               node_precedes(x->links[i].forward, node->score, node_bytes(node), node->member_len))
            x = x->links[i].forward;
        update[i] = x;
    }
}

skiplist_node *skiplist_insert(skiplist *list, double score, const char *member, size_t len)
{
    skiplist_node *node = node_create(random_level(), score, member, len);
    link_node(list, node);
    hashtable_insert(list->index, hash_bytes(member, len), &node->hash_link);
    return node;
}

void skiplist_update_score(skiplist *list, skiplist_node *node, double score)
{
    /* Most updates (counters, timestamps pushed forward a little) leave the
     * node between the same neighbours: then only the score changes. */
    skiplist_node *prev = node->backward;
    skiplist_node *next = node->links[0].forward;
    size_t len = node->member_len;
    const char *member = node_bytes(node);
    if ((!prev ||
         member_precedes(prev->score, node_bytes(prev), prev->member_len, score, member, len)) &&
        (!next ||
         member_precedes(score, member, len, next->score, node_bytes(next), next->member_len))) {
        node->score = score;
        return;
    }
    skiplist_node *update[SKIPLIST_MAX_LEVEL];
    find_predecessors(list, node, update);
    unlink_node(list, node, update);
    node->score = score;
    /* Relink with the same level (the allocation is sized for it); if
     * unlinking lowered the list's level below the node's, link_node raises
     * it again. */
    link_node(list, node);
}

static void free_unlinked(skiplist *list, skiplist_node *node)
{
    hashtable_remove(list->index, hash_bytes(node_bytes(node), node->member_len), node_bytes(node),
                     node->member_len);
    mem_free(node);
}

void skiplist_delete_node(skiplist *list, skiplist_node *node)
{
    skiplist_node *update[SKIPLIST_MAX_LEVEL];
    find_predecessors(list, node, update);
    unlink_node(list, node, update);
    free_unlinked(list, node);
}

int skiplist_delete(skiplist *list, const char *member, size_t len)
{
    skiplist_node *node = skiplist_find(list, member, len);
    if (!node)
        return 0;
    skiplist_delete_node(list, node);
    return 1;
}

skiplist *skiplist_duplicate(const skiplist *list)
{
    skiplist *copy = skiplist_create();
    for (skiplist_node *node = skiplist_first(list); node; node = node->links[0].forward)
        skiplist_insert(copy, node->score, node_bytes(node), node->member_len);
    return copy;
}

/* ---------- ranks ---------- */

size_t skiplist_rank(const skiplist *list, const skiplist_node *node)
{
    size_t rank = 0;
    const skiplist_node *x = list->header;
    const char *member = node_bytes(node);
    for (int i = list->level - 1; i >= 0; i--) {
        /* Advance while the next node sorts at or before the target. */
        while (x->links[i].forward &&
               (x->links[i].forward == node ||
                node_precedes(x->links[i].forward, node->score, member, node->member_len))) {
            rank += x->links[i].span;
            x = x->links[i].forward;
        }
        if (x == node)
            return rank - 1;
    }
    return rank - 1; /* not reached for a node of this list */
}

skiplist_node *skiplist_at_rank(const skiplist *list, size_t rank)
{
    if (rank >= list->length)
        return NULL;
    size_t wanted = rank + 1; /* spans count the header as rank 0 */
    size_t traversed = 0;
    skiplist_node *x = list->header;
    for (int i = list->level - 1; i >= 0; i--) {
        while (x->links[i].forward && traversed + x->links[i].span <= wanted) {
            traversed += x->links[i].span;
            x = x->links[i].forward;
        }
        if (traversed == wanted)
            return x;
    }
    return NULL;
}

/* ---------- intervals ---------- */

skiplist_node *skiplist_first_in_score_range(const skiplist *list, const score_range *range)
{
    if (score_range_is_empty(range))
        return NULL;
    skiplist_node *x = list->header;
    for (int i = list->level - 1; i >= 0; i--)
        while (x->links[i].forward && !score_above_min(range, x->links[i].forward->score))
            x = x->links[i].forward;
    x = x->links[0].forward;
    return x && score_below_max(range, x->score) ? x : NULL;
}

skiplist_node *skiplist_last_in_score_range(const skiplist *list, const score_range *range)
{
    if (score_range_is_empty(range))
        return NULL;
    skiplist_node *x = list->header;
    for (int i = list->level - 1; i >= 0; i--)
        while (x->links[i].forward && score_below_max(range, x->links[i].forward->score))
            x = x->links[i].forward;
    return x != list->header && score_above_min(range, x->score) ? x : NULL;
}

static int node_above_lex_min(const lex_range *range, const skiplist_node *node)
{
    return lex_above_min(range, node_bytes(node), node->member_len);
}

static int node_below_lex_max(const lex_range *range, const skiplist_node *node)
{
    return lex_below_max(range, node_bytes(node), node->member_len);
}

skiplist_node *skiplist_first_in_lex_range(const skiplist *list, const lex_range *range)
{
    if (lex_range_is_empty(range))
        return NULL;
    skiplist_node *x = list->header;
    for (int i = list->level - 1; i >= 0; i--)
        while (x->links[i].forward && !node_above_lex_min(range, x->links[i].forward))
            x = x->links[i].forward;
    x = x->links[0].forward;
    return x && node_below_lex_max(range, x) ? x : NULL;
}

skiplist_node *skiplist_last_in_lex_range(const skiplist *list, const lex_range *range)
{
    if (lex_range_is_empty(range))
        return NULL;
    skiplist_node *x = list->header;
    for (int i = list->level - 1; i >= 0; i--)
        while (x->links[i].forward && node_below_lex_max(range, x->links[i].forward))
            x = x->links[i].forward;
    return x != list->header && node_above_lex_min(range, x) ? x : NULL;
}

/* Removal of a run of consecutive nodes: one descent finds the nodes before
 * the run on every level, and since each removed node is the one right after
 * them, update[] stays correct for the whole run. */
size_t skiplist_delete_score_range(skiplist *list, const score_range *range)
{
    if (score_range_is_empty(range))
        return 0;
    skiplist_node *update[SKIPLIST_MAX_LEVEL];
    skiplist_node *x = list->header;
    for (int i = list->level - 1; i >= 0; i--) {
        while (x->links[i].forward && !score_above_min(range, x->links[i].forward->score))
            x = x->links[i].forward;
        update[i] = x;
    }
    size_t removed = 0;
    x = x->links[0].forward;
    while (x && score_below_max(range, x->score)) {
        skiplist_node *next = x->links[0].forward;
        unlink_node(list, x, update);
        free_unlinked(list, x);
        removed++;
        x = next;
    }
    return removed;
}

size_t skiplist_delete_lex_range(skiplist *list, const lex_range *range)
{
    if (lex_range_is_empty(range))
        return 0;
    skiplist_node *update[SKIPLIST_MAX_LEVEL];
    skiplist_node *x = list->header;
    for (int i = list->level - 1; i >= 0; i--) {
        while (x->links[i].forward && !node_above_lex_min(range, x->links[i].forward))
            x = x->links[i].forward;
        update[i] = x;
    }
    size_t removed = 0;
    x = x->links[0].forward;
    while (x && node_below_lex_max(range, x)) {
        skiplist_node *next = x->links[0].forward;
        unlink_node(list, x, update);
        free_unlinked(list, x);
        removed++;
        x = next;
    }
    return removed;
}

size_t skiplist_delete_rank_range(skiplist *list, size_t start, size_t end)
{
    if (start > end || start >= list->length)
        return 0;
    skiplist_node *update[SKIPLIST_MAX_LEVEL];
    size_t traversed = 0;
    size_t first = start + 1; /* 1-based, as spans count */
    skiplist_node *x = list->header;
    for (int i = list->level - 1; i >= 0; i--) {
        while (x->links[i].forward && traversed + x->links[i].span < first) {
            traversed += x->links[i].span;
            x = x->links[i].forward;
        }
        update[i] = x;
    }
    size_t removed = 0;
    size_t count = end - start + 1;
    x = x->links[0].forward;
    while (x && removed < count) {
        skiplist_node *next = x->links[0].forward;
        unlink_node(list, x, update);
        free_unlinked(list, x);
        removed++;
        x = next;
    }
    return removed;
}

/* ---------- scan and random ---------- */

typedef struct scan_context {
    skiplist_visit_fn visit;
    void *ctx;
} scan_context;

static void scan_visit(void *ctx, hashtable_node *link)
{
    scan_context *scan = ctx;
    scan->visit(scan->ctx, (const skiplist_node *)link);
}

uint64_t skiplist_scan(const skiplist *list, uint64_t cursor, skiplist_visit_fn visit, void *ctx)
{
    scan_context scan = {visit, ctx};
    return hashtable_scan(list->index, cursor, scan_visit, &scan);
}

skiplist_node *skiplist_random(const skiplist *list, uint64_t random)
{
    return (skiplist_node *)hashtable_random(list->index, random);
}
