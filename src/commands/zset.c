/* The sorted-set commands: ZADD and friends, ranges by rank, score and lex,
 * range removals, pops, random members, ZSCAN and the multi-key operations
 * (ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD).
 *
 * A sorted set has two encodings, as in Redis. While it has at most
 * zset-max-listpack-entries members of at most zset-max-listpack-value bytes
 * it is a listpack of member, score pairs in (score, member) order: one
 * allocation, scanned linearly, which for so few members beats any index.
 * Past either bound it becomes a skiplist with a member index
 * (rivet/skiplist.h) once, and never goes back, so OBJECT ENCODING tells the
 * same story as Redis for the same history of commands.
 *
 * In the listpack a score that is an integer of magnitude up to 2^62 is
 * stored as an integer entry (two bytes for small values); any other score
 * is stored as the shortest text that reads back to the same double. Either
 * way the double read back is bit-for-bit the one stored, except that -0
 * becomes 0, which is what Redis shows for a listpack too.
 *
 * Replies, error texts and the order in which arguments are checked follow
 * Redis 7.0: clients observe which error wins when several apply. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "rivet/blocking.h"
#include "rivet/glob.h"
#include "rivet/hash.h"
#include "rivet/hashtable.h"
#include "rivet/intset.h"
#include "rivet/listpack.h"
#include "rivet/member_table.h"
#include "rivet/memory.h"
#include "rivet/number.h"
#include "rivet/server.h"
#include "rivet/skiplist.h"
#include "rivet/zset_access.h"
#include "table.h"

#define ERR_NAN_SCORE    "ERR resulting score is not a number (NaN)"
#define ERR_SCORE_RANGE  "ERR min or max is not a float"
#define ERR_LEX_RANGE    "ERR min or max not valid string range item"
#define ERR_NOT_POSITIVE "ERR value is out of range, must be positive"
#define ERR_LIMIT_WITH_RANK                                                                        \
    "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
#define ERR_SCORES_WITH_LEX "ERR syntax error, WITHSCORES not supported in combination with BYLEX"

/* ZSCAN prints integral scores below this magnitude in integer form. */
#define EXACT_INTEGER_LIMIT 4503599627370496.0 /* 2^52 */
/* Listpacks store integral scores up to this magnitude as integers. */
#define PACKED_INTEGER_LIMIT 4611686018427387904.0 /* 2^62 */

/* ---------- the value: listpack or skiplist ---------- */

typedef struct zset_value {
    object_encoding encoding; /* ENCODING_LISTPACK or ENCODING_SKIPLIST */
    void *ptr;
} zset_value;

static inline listpack *as_listpack(const zset_value *z)
{
    return (listpack *)z->ptr;
}

static inline skiplist *as_skiplist(const zset_value *z)
{
    return (skiplist *)z->ptr;
}

static zset_value zset_of(const kv_entry *e)
{
    zset_value z = {entry_encoding(e), entry_object(e)};
    return z;
}

/* The set of a key about to change: see keyspace_object_for_update. */
static zset_value zset_for_update(client *c, kv_entry *e)
{
    zset_value z = {entry_encoding(e), keyspace_object_for_update(c->db, e)};
    return z;
}

static void zset_free_value(void *ptr, object_encoding encoding)
{
    if (encoding == ENCODING_LISTPACK)
        listpack_free(ptr);
    else
        skiplist_destroy(ptr);
}

static size_t zset_free_effort(const void *ptr, object_encoding encoding)
{
    return encoding == ENCODING_LISTPACK ? 1 : skiplist_length(ptr);
}

static size_t zset_memory_usage(const void *ptr, object_encoding encoding, size_t samples)
{
    if (encoding == ENCODING_LISTPACK)
        return mem_block_size(ptr);
    return skiplist_memory(ptr, samples);
}

static void *zset_copy_value(const void *ptr, object_encoding encoding)
{
    if (encoding == ENCODING_LISTPACK)
        return listpack_duplicate(ptr);
    return skiplist_duplicate(ptr);
}

static size_t max_listpack_entries(void)
{
    int64_t n = server.config.zset_max_listpack_entries;
    return n < 0 ? 0 : (size_t)n;
}

static size_t max_listpack_value(void)
{
    int64_t n = server.config.zset_max_listpack_value;
    return n < 0 ? 0 : (size_t)n;
}

/* A new, empty sorted set about to receive its first member (Redis 7.0's
 * ZADD looks at that member's length only; later adds convert as needed). */
static zset_value zset_create_for(size_t first_member_len)
{
    zset_value z;
    if (max_listpack_entries() == 0 || first_member_len > max_listpack_value()) {
        z.encoding = ENCODING_SKIPLIST;
        z.ptr = skiplist_create();
    } else {
        z.encoding = ENCODING_LISTPACK;
        z.ptr = listpack_create();
    }
    return z;
}

/* ---------- listpack pairs ---------- */

static double packed_score(const listpack *lp, size_t pos)
{
    listpack_entry entry;
    listpack_get(lp, pos, &entry);
    if (!entry.data)
        return (double)entry.integer;
    char text[64];
    size_t n = entry.len < sizeof(text) - 1 ? entry.len : sizeof(text) - 1;
    memcpy(text, entry.data, n);
    text[n] = '\0';
    return strtod(text, NULL);
}

static const char *packed_member(const listpack *lp, size_t pos, char scratch[24], size_t *len)
{
    listpack_entry entry;
    listpack_get(lp, pos, &entry);
    return listpack_entry_bytes(&entry, scratch, len);
}

/* Whether a score is kept as an integer entry: integral values within
 * +-2^62, the range in which Redis's listpack does the same. */
static int packed_score_is_integer(double score)
{
    return score >= -PACKED_INTEGER_LIMIT && score <= PACKED_INTEGER_LIMIT &&
           score == (double)(int64_t)score;
}

/* The stored form of a score (see the top of the file). */
static size_t format_packed_score(char buf[40], double score)
{
    if (packed_score_is_integer(score))
        return number_format_int64(buf, (int64_t)score);
    if (isinf(score)) {
        strcpy(buf, score > 0 ? "inf" : "-inf");
        return strlen(buf);
    }
    int n = 0;
    for (int precision = 15; precision <= 17; precision++) {
        n = snprintf(buf, 40, "%.*g", precision, score);
        if (strtod(buf, NULL) == score)
            break;
    }
    return (size_t)n;
}

/* The member's cursor, or LISTPACK_NONE. */
static size_t packed_find(const listpack *lp, const char *member, size_t len)
{
    return listpack_find(lp, listpack_first(lp), member, len, 1);
}

/* Inserts a pair at its place in (score, member) order. */
static listpack *packed_insert(listpack *lp, double score, const char *member, size_t len)
{
    char text[40];
    size_t text_len = format_packed_score(text, score);
    size_t pos = listpack_first(lp);
    while (pos != LISTPACK_NONE) {
        size_t score_pos = listpack_next(lp, pos);
        double here = packed_score(lp, score_pos);
        if (here > score)
            break;
        if (here == score) {
            char scratch[24];
            size_t here_len;
            const char *here_member = packed_member(lp, pos, scratch, &here_len);
            if (member_compare(here_member, here_len, member, len) > 0)
                break;
        }
        pos = listpack_next(lp, score_pos);
    }
    if (pos == LISTPACK_NONE) {
        lp = listpack_append(lp, member, len);
        return listpack_append(lp, text, text_len);
    }
    size_t inserted;
    lp = listpack_insert(lp, pos, member, len, &inserted);
    return listpack_insert(lp, listpack_next(lp, inserted), text, text_len, NULL);
}

static skiplist *packed_to_skiplist(const listpack *lp)
{
    skiplist *list = skiplist_create();
    for (size_t pos = listpack_first(lp); pos != LISTPACK_NONE;) {
        size_t score_pos = listpack_next(lp, pos);
        char scratch[24];
        size_t len;
        const char *member = packed_member(lp, pos, scratch, &len);
        skiplist_insert(list, packed_score(lp, score_pos), member, len);
        pos = listpack_next(lp, score_pos);
    }
    return list;
}

static void zset_convert_to_skiplist(zset_value *z)
{
    skiplist *list = packed_to_skiplist(as_listpack(z));
    listpack_free(as_listpack(z));
    z->encoding = ENCODING_SKIPLIST;
    z->ptr = list;
}

/* ---------- operations on either encoding ---------- */

static size_t zset_length(const zset_value *z)
{
    if (z->encoding == ENCODING_LISTPACK)
        return listpack_length(as_listpack(z)) / 2;
    return skiplist_length(as_skiplist(z));
}

static int zset_score(const zset_value *z, const char *member, size_t len, double *score)
{
    if (z->encoding == ENCODING_LISTPACK) {
        const listpack *lp = as_listpack(z);
        size_t pos = packed_find(lp, member, len);
        if (pos == LISTPACK_NONE)
            return 0;
        *score = packed_score(lp, listpack_next(lp, pos));
        return 1;
    }
    skiplist_node *node = skiplist_find(as_skiplist(z), member, len);
    if (!node)
        return 0;
    *score = skiplist_node_score(node);
    return 1;
}

enum zadd_flags {
    ZADD_NX = 1 << 0,
    ZADD_XX = 1 << 1,
    ZADD_GT = 1 << 2,
    ZADD_LT = 1 << 3,
    ZADD_INCR = 1 << 4,
    ZADD_CH = 1 << 5,
};

/* What zset_add did with one member. */
enum zadd_outcome {
    ZADD_SKIPPED,   /* a flag (NX, XX, GT, LT) ruled it out */
    ZADD_ADDED,     /* new member */
    ZADD_UPDATED,   /* existing member, score changed */
    ZADD_UNCHANGED, /* existing member, same score */
    ZADD_NAN,       /* INCR would make the score NaN: nothing changed */
};

/* Adds or updates one member under ZADD's flags; *new_score receives the
 * member's score afterwards (what ZADD INCR replies). */
static int zset_add(zset_value *z, double score, const char *member, size_t len, unsigned flags,
                    double *new_score)
{
    double current = 0;
    int exists;
    size_t pos = LISTPACK_NONE;
    skiplist_node *node = NULL;
    if (z->encoding == ENCODING_LISTPACK) {
        pos = packed_find(as_listpack(z), member, len);
        exists = pos != LISTPACK_NONE;
        if (exists)
            current = packed_score(as_listpack(z), listpack_next(as_listpack(z), pos));
    } else {
        node = skiplist_find(as_skiplist(z), member, len);
        exists = node != NULL;
        if (exists)
            current = skiplist_node_score(node);
    }

    if (exists) {
        if (flags & ZADD_NX)
            return ZADD_SKIPPED;
        if (flags & ZADD_INCR) {
            score += current;
            if (isnan(score))
                return ZADD_NAN;
        }
        if (((flags & ZADD_LT) && score >= current) || ((flags & ZADD_GT) && score <= current))
            return ZADD_SKIPPED;
        *new_score = score;
        if (score == current)
            return ZADD_UNCHANGED;
        if (z->encoding == ENCODING_LISTPACK) {
            listpack *lp = listpack_delete(as_listpack(z), pos, 2, NULL);
            z->ptr = packed_insert(lp, score, member, len);
        } else {
            skiplist_update_score(as_skiplist(z), node, score);
        }
        return ZADD_UPDATED;
    }

    if (flags & ZADD_XX)
        return ZADD_SKIPPED;
    *new_score = score;
    if (z->encoding == ENCODING_LISTPACK) {
        /* Converting before the insert keeps a listpack within its bounds
         * at every moment. */
        if (zset_length(z) + 1 > max_listpack_entries() || len > max_listpack_value()) {
            zset_convert_to_skiplist(z);
        } else {
            z->ptr = packed_insert(as_listpack(z), score, member, len);
            return ZADD_ADDED;
        }
    }
    skiplist_insert(as_skiplist(z), score, member, len);
    return ZADD_ADDED;
}

static int zset_remove(zset_value *z, const char *member, size_t len)
{
    if (z->encoding == ENCODING_LISTPACK) {
        size_t pos = packed_find(as_listpack(z), member, len);
        if (pos == LISTPACK_NONE)
            return 0;
        z->ptr = listpack_delete(as_listpack(z), pos, 2, NULL);
        return 1;
    }
    return skiplist_delete(as_skiplist(z), member, len);
}

/* 0-based ascending rank and score of a member; 0 when absent. */
static int zset_rank(const zset_value *z, const char *member, size_t len, size_t *rank,
                     double *score)
{
    if (z->encoding == ENCODING_LISTPACK) {
        const listpack *lp = as_listpack(z);
        size_t index = 0;
        for (size_t pos = listpack_first(lp); pos != LISTPACK_NONE; index++) {
            size_t score_pos = listpack_next(lp, pos);
            if (listpack_equals(lp, pos, member, len)) {
                *rank = index;
                *score = packed_score(lp, score_pos);
                return 1;
            }
            pos = listpack_next(lp, score_pos);
        }
        return 0;
    }
    skiplist_node *node = skiplist_find(as_skiplist(z), member, len);
    if (!node)
        return 0;
    *rank = skiplist_rank(as_skiplist(z), node);
    *score = skiplist_node_score(node);
    return 1;
}

/* ---------- walking in order, forwards or backwards ---------- */

typedef struct zset_iterator {
    const zset_value *z;
    int reverse;
    size_t pos; /* listpack: the current member's cursor */
    skiplist_node *node;
    char scratch[24];
} zset_iterator;

static void iterator_init(zset_iterator *it, const zset_value *z, int reverse)
{
    it->z = z;
    it->reverse = reverse;
    it->pos = LISTPACK_NONE;
    it->node = NULL;
}

static int iterator_valid(const zset_iterator *it)
{
    return it->z->encoding == ENCODING_LISTPACK ? it->pos != LISTPACK_NONE : it->node != NULL;
}

static const char *iterator_member(zset_iterator *it, size_t *len)
{
    if (it->z->encoding == ENCODING_LISTPACK)
        return packed_member(as_listpack(it->z), it->pos, it->scratch, len);
    return skiplist_node_member(it->node, len);
}

static double iterator_score(const zset_iterator *it)
{
    if (it->z->encoding == ENCODING_LISTPACK) {
        const listpack *lp = as_listpack(it->z);
        return packed_score(lp, listpack_next(lp, it->pos));
    }
    return skiplist_node_score(it->node);
}

static void iterator_advance(zset_iterator *it)
{
    if (it->z->encoding == ENCODING_LISTPACK) {
        const listpack *lp = as_listpack(it->z);
        if (!it->reverse) {
            it->pos = listpack_next(lp, listpack_next(lp, it->pos));
        } else {
            size_t score_pos = listpack_prev(lp, it->pos);
            it->pos = score_pos == LISTPACK_NONE ? LISTPACK_NONE : listpack_prev(lp, score_pos);
        }
        return;
    }
    it->node = it->reverse ? skiplist_prev(it->node) : skiplist_next(it->node);
}

/* Positions at the first element of the walk. */
static void iterator_seek_start(zset_iterator *it)
{
    if (it->z->encoding == ENCODING_LISTPACK) {
        const listpack *lp = as_listpack(it->z);
        if (!it->reverse) {
            it->pos = listpack_first(lp);
        } else {
            size_t last = listpack_last(lp);
            it->pos = last == LISTPACK_NONE ? LISTPACK_NONE : listpack_prev(lp, last);
        }
        return;
    }
    const skiplist *list = as_skiplist(it->z);
    it->node = it->reverse ? skiplist_last(list) : skiplist_first(list);
}

/* Moves n elements on (past the end makes the iterator invalid). A
 * skiplist jumps there through ranks, so a large LIMIT offset costs
 * O(log n) instead of a walk. */
static void iterator_skip(zset_iterator *it, uint64_t n)
{
    if (n == 0 || !iterator_valid(it))
        return;
    if (it->z->encoding == ENCODING_SKIPLIST) {
        const skiplist *list = as_skiplist(it->z);
        size_t rank = skiplist_rank(list, it->node);
        if (it->reverse)
            it->node = n > rank ? NULL : skiplist_at_rank(list, rank - (size_t)n);
        else
            it->node =
                n >= skiplist_length(list) - rank ? NULL : skiplist_at_rank(list, rank + (size_t)n);
        return;
    }
    for (; n > 0 && iterator_valid(it); n--)
        iterator_advance(it);
}

/* Positions at the rank-th element in the walk's direction. */
static void iterator_seek_rank(zset_iterator *it, size_t rank)
{
    size_t length = zset_length(it->z);
    if (rank >= length) {
        it->pos = LISTPACK_NONE;
        it->node = NULL;
        return;
    }
    size_t index = it->reverse ? length - 1 - rank : rank;
    if (it->z->encoding == ENCODING_LISTPACK)
        it->pos = listpack_seek(as_listpack(it->z), (int64_t)(2 * index));
    else
        it->node = skiplist_at_rank(as_skiplist(it->z), index);
}

/* Positions at the first element inside the interval in the walk's
 * direction (the lowest going forwards, the highest going backwards), or
 * makes the iterator invalid when none is. */
static void iterator_seek_score(zset_iterator *it, const score_range *range)
{
    if (it->z->encoding == ENCODING_SKIPLIST) {
        const skiplist *list = as_skiplist(it->z);
        it->node = it->reverse ? skiplist_last_in_score_range(list, range)
                               : skiplist_first_in_score_range(list, range);
        return;
    }
    iterator_seek_start(it);
    if (score_range_is_empty(range)) {
        it->pos = LISTPACK_NONE;
        return;
    }
    for (; iterator_valid(it); iterator_advance(it)) {
        double score = iterator_score(it);
        int near_end_ok =
            it->reverse ? score_below_max(range, score) : score_above_min(range, score);
        if (near_end_ok) {
            int far_end_ok =
                it->reverse ? score_above_min(range, score) : score_below_max(range, score);
            if (!far_end_ok)
                it->pos = LISTPACK_NONE;
            return;
        }
    }
}

/* Redis first checks the two ends of a listpack (the last member must not
 * be below min, the first not above max). For members of one score that only
 * saves time; with mixed scores, where lex ranges are not meaningful, it
 * decides what the commands return, so it is kept for identical replies. */
static int packed_may_hold_lex_range(const listpack *lp, const lex_range *range)
{
    size_t last = listpack_last(lp);
    if (last == LISTPACK_NONE)
        return 0;
    char scratch[24];
    size_t len;
    const char *member = packed_member(lp, listpack_prev(lp, last), scratch, &len);
    if (!lex_above_min(range, member, len))
        return 0;
    member = packed_member(lp, listpack_first(lp), scratch, &len);
    return lex_below_max(range, member, len);
}

static void iterator_seek_lex(zset_iterator *it, const lex_range *range)
{
    if (it->z->encoding == ENCODING_SKIPLIST) {
        const skiplist *list = as_skiplist(it->z);
        it->node = it->reverse ? skiplist_last_in_lex_range(list, range)
                               : skiplist_first_in_lex_range(list, range);
        return;
    }
    iterator_seek_start(it);
    if (lex_range_is_empty(range) || !packed_may_hold_lex_range(as_listpack(it->z), range)) {
        it->pos = LISTPACK_NONE;
        return;
    }
    for (; iterator_valid(it); iterator_advance(it)) {
        size_t len;
        const char *member = iterator_member(it, &len);
        int near_end_ok =
            it->reverse ? lex_below_max(range, member, len) : lex_above_min(range, member, len);
        if (near_end_ok) {
            int far_end_ok =
                it->reverse ? lex_above_min(range, member, len) : lex_below_max(range, member, len);
            if (!far_end_ok)
                it->pos = LISTPACK_NONE;
            return;
        }
    }
}

/* Whether the current element is still inside the interval on the side the
 * walk is heading to. */
static int iterator_in_score_range(const zset_iterator *it, const score_range *range)
{
    double score = iterator_score(it);
    return it->reverse ? score_above_min(range, score) : score_below_max(range, score);
}

static int iterator_in_lex_range(zset_iterator *it, const lex_range *range)
{
    size_t len;
    const char *member = iterator_member(it, &len);
    return it->reverse ? lex_above_min(range, member, len) : lex_below_max(range, member, len);
}

/* ---------- range removals ---------- */

/* Ranks start..end, 0-based and within the set. */
static size_t zset_delete_rank_range(zset_value *z, size_t start, size_t end)
{
    if (z->encoding == ENCODING_LISTPACK) {
        z->ptr = listpack_delete_range(as_listpack(z), (int64_t)(2 * start), 2 * (end - start + 1));
        return end - start + 1;
    }
    return skiplist_delete_rank_range(as_skiplist(z), start, end);
}

static size_t zset_delete_score_range(zset_value *z, const score_range *range)
{
    if (z->encoding == ENCODING_SKIPLIST)
        return skiplist_delete_score_range(as_skiplist(z), range);
    zset_iterator it;
    iterator_init(&it, z, 0);
    iterator_seek_score(&it, range);
    size_t first = it.pos, count = 0;
    for (; iterator_valid(&it) && iterator_in_score_range(&it, range); iterator_advance(&it))
        count++;
    if (count)
        z->ptr = listpack_delete(as_listpack(z), first, 2 * count, NULL);
    return count;
}

static size_t zset_delete_lex_range(zset_value *z, const lex_range *range)
{
    if (z->encoding == ENCODING_SKIPLIST)
        return skiplist_delete_lex_range(as_skiplist(z), range);
    zset_iterator it;
    iterator_init(&it, z, 0);
    iterator_seek_lex(&it, range);
    size_t first = it.pos, count = 0;
    for (; iterator_valid(&it) && iterator_in_lex_range(&it, range); iterator_advance(&it))
        count++;
    if (count)
        z->ptr = listpack_delete(as_listpack(z), first, 2 * count, NULL);
    return count;
}

/* ---------- building a set from pairs (the STORE commands) ---------- */

typedef struct zset_pair {
    double score;
    const char *member;
    size_t len;
} zset_pair;

static int pair_compare(const void *a, const void *b)
{
    const zset_pair *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? -1 : 1;
    return member_compare(x->member, x->len, y->member, y->len);
}

/* Pairs in (score, member) order become a listpack when they fit its
 * bounds and a skiplist otherwise (Redis converts store results the same
 * way). count must be at least 1. */
static zset_value zset_from_sorted_pairs(const zset_pair *pairs, size_t count)
{
    size_t longest = 0;
    for (size_t i = 0; i < count; i++)
        if (pairs[i].len > longest)
            longest = pairs[i].len;
    zset_value z;
    if (count <= max_listpack_entries() && longest <= max_listpack_value()) {
        listpack *lp = listpack_create();
        for (size_t i = 0; i < count; i++) {
            char text[40];
            size_t text_len = format_packed_score(text, pairs[i].score);
            lp = listpack_append(lp, pairs[i].member, pairs[i].len);
            lp = listpack_append(lp, text, text_len);
        }
        z.encoding = ENCODING_LISTPACK;
        z.ptr = lp;
    } else {
        skiplist *list = skiplist_create();
        for (size_t i = 0; i < count; i++)
            skiplist_insert(list, pairs[i].score, pairs[i].member, pairs[i].len);
        z.encoding = ENCODING_SKIPLIST;
        z.ptr = list;
    }
    return z;
}

/* Replaces the key with the pairs (sorted here), or deletes it when there
 * are none, and announces the change as Redis does. */
static void store_pairs(client *c, const char *key, size_t key_len, zset_pair *pairs, size_t count,
                        const char *event)
{
    if (count == 0) {
        if (delete_replaced_key(c->db, key, key_len))
            keyspace_signal_modified(c->db, key, key_len, "del", EVENT_GENERIC);
        return;
    }
    qsort(pairs, count, sizeof(*pairs), pair_compare);
    zset_value z = zset_from_sorted_pairs(pairs, count);
    keyspace_set_object(c->db, key, key_len, OBJECT_ZSET, z.encoding, z.ptr, 0);
    keyspace_signal_modified(c->db, key, key_len, event, EVENT_ZSET);
}

/* A growable array of pairs whose members are copied into one buffer. The
 * member pointers are set once collection ends, because the buffer moves
 * while it grows. */
typedef struct pair_collector {
    zset_pair *pairs;
    size_t count, capacity;
    buffer bytes;
} pair_collector;

static void collector_init(pair_collector *col)
{
    col->pairs = NULL;
    col->count = col->capacity = 0;
    buffer_init(&col->bytes);
}

static void collector_add(pair_collector *col, const char *member, size_t len, double score)
{
    if (col->count == col->capacity) {
        col->capacity = col->capacity ? col->capacity * 2 : 16;
        col->pairs = mem_realloc(col->pairs, col->capacity * sizeof(zset_pair));
    }
    /* Until collector_finish, member holds the offset into bytes. */
    col->pairs[col->count].member = (const char *)(uintptr_t)col->bytes.len;
    col->pairs[col->count].len = len;
    col->pairs[col->count].score = score;
    col->count++;
    buffer_append(&col->bytes, member, len);
}

static void collector_finish(pair_collector *col)
{
    /* Members may all be empty, leaving the buffer unallocated. */
    const char *base = col->bytes.data ? col->bytes.data : "";
    for (size_t i = 0; i < col->count; i++)
        col->pairs[i].member = base + (uintptr_t)col->pairs[i].member;
}

static void collector_release(pair_collector *col)
{
    mem_free(col->pairs);
    buffer_release(&col->bytes);
}

/* ---------- argument parsing ---------- */

/* A score bound as Redis reads one: an optional "(" then whatever strtod
 * accepts up to the first NUL, so leading blanks, hex and out-of-range
 * values (which become infinite) pass; only NaN and trailing bytes fail. */
static int parse_score_bound(const char *s, size_t len, double *value, int *exclusive)
{
    *exclusive = 0;
    if (len > 0 && s[0] == '(') {
        *exclusive = 1;
        s++;
        len--;
    }
    char stack[128];
    char *text = len < sizeof(stack) ? stack : mem_alloc(len + 1);
    memcpy(text, s, len);
    text[len] = '\0';
    char *end;
    *value = strtod(text, &end);
    int ok = *end == '\0' && !isnan(*value);
    if (text != stack)
        mem_free(text);
    return ok;
}

static int parse_score_range(const client *c, int min_index, int max_index, score_range *range)
{
    return parse_score_bound(c->argv[min_index], c->argv_len[min_index], &range->min,
                             &range->min_exclusive) &&
           parse_score_bound(c->argv[max_index], c->argv_len[max_index], &range->max,
                             &range->max_exclusive);
}

/* "[x", "(x", "-" or "+". Redis checks "-" and "+" as C strings, so a NUL
 * right after them ends the argument. */
static int parse_lex_bound(const char *s, size_t len, lex_bound *bound)
{
    if (len == 0)
        return 0;
    switch (s[0]) {
    case '+':
    case '-':
        if (len > 1 && s[1] != '\0')
            return 0;
        bound->kind = s[0] == '+' ? LEX_PLUS_INFINITY : LEX_MINUS_INFINITY;
        bound->data = NULL;
        bound->len = 0;
        return 1;
    case '(':
    case '[':
        bound->kind = s[0] == '(' ? LEX_EXCLUSIVE : LEX_INCLUSIVE;
        bound->data = s + 1;
        bound->len = len - 1;
        return 1;
    default:
        return 0;
    }
}

static int parse_lex_range(const client *c, int min_index, int max_index, lex_range *range)
{
    return parse_lex_bound(c->argv[min_index], c->argv_len[min_index], &range->min) &&
           parse_lex_bound(c->argv[max_index], c->argv_len[max_index], &range->max);
}

/* Clamps a rank interval given with possibly negative indexes to the set:
 * 0 when it is empty. */
static int clamp_rank_range(int64_t start, int64_t end, size_t length, size_t *first, size_t *last)
{
    int64_t n = (int64_t)length;
    if (start < 0)
        start += n;
    if (end < 0)
        end += n;
    if (start < 0)
        start = 0;
    if (start > end || start >= n)
        return 0;
    if (end >= n)
        end = n - 1;
    *first = (size_t)start;
    *last = (size_t)end;
    return 1;
}

/* ---------- lookups and reply helpers ---------- */

/* Write-path lookup: NULL with *wrong_type set (and WRONGTYPE replied) when
 * the key holds another type. */
static kv_entry *lookup_write(client *c, int i, int *wrong_type)
{
    kv_entry *e = keyspace_lookup(c->db, c->argv[i], c->argv_len[i]);
    *wrong_type = 0;
    if (e && entry_type(e) != OBJECT_ZSET) {
        reply_error(&c->reply, ERR_WRONGTYPE);
        *wrong_type = 1;
        return NULL;
    }
    return e;
}

static kv_entry *lookup_read(client *c, int i, int *wrong_type)
{
    return lookup_read_typed(c, c->argv[i], c->argv_len[i], OBJECT_ZSET, wrong_type);
}

static void signal_key(client *c, int i, const char *event, int type_class)
{
    keyspace_signal_modified(c->db, c->argv[i], c->argv_len[i], event, type_class);
}

/* After a change: stores the (possibly moved) value back in the entry, or
 * deletes the key when the set became empty. Returns 1 if it was deleted. */
static int store_back(client *c, int key_index, kv_entry *e, const zset_value *z)
{
    if (z->ptr != entry_object(e) || z->encoding != entry_encoding(e))
        entry_set_object(e, z->encoding, z->ptr);
    if (zset_length(z) > 0)
        return 0;
    keyspace_delete(c->db, c->argv[key_index], c->argv_len[key_index]);
    return 1;
}

/* Announces a removal, and the key's deletion if it went. */
static void signal_removal(client *c, int key_index, const char *event, int deleted)
{
    signal_key(c, key_index, event, EVENT_ZSET);
    if (deleted)
        signal_key(c, key_index, "del", EVENT_GENERIC);
}

/* Array header for n elements, with or without scores: RESP3 nests each
 * member with its score, RESP2 flattens the pairs. */
static void reply_elements_header(client *c, size_t n, int withscores)
{
    reply_array(&c->reply, withscores && client_protocol(c) == 2 ? 2 * n : n);
}

static void reply_element(client *c, const char *member, size_t len, double score, int withscores)
{
    if (withscores && client_protocol(c) == 3)
        reply_array(&c->reply, 2);
    reply_bulk(&c->reply, member, len);
    if (withscores)
        reply_double(&c->reply, score);
}

/* ---------- ZADD, ZINCRBY ---------- */

static void zadd_generic(client *c, unsigned flags, int first_option)
{
    int index = first_option;
    for (; index < c->argc; index++) {
        if (argument_is(c, index, "nx"))
            flags |= ZADD_NX;
        else if (argument_is(c, index, "xx"))
            flags |= ZADD_XX;
        else if (argument_is(c, index, "ch"))
            flags |= ZADD_CH;
        else if (argument_is(c, index, "incr"))
            flags |= ZADD_INCR;
        else if (argument_is(c, index, "gt"))
            flags |= ZADD_GT;
        else if (argument_is(c, index, "lt"))
            flags |= ZADD_LT;
        else
            break;
    }
    int remaining = c->argc - index;
    if (remaining == 0 || remaining % 2 != 0) {
        reply_error(&c->reply, ERR_SYNTAX);
        return;
    }
    size_t pairs = (size_t)remaining / 2;
    if ((flags & ZADD_NX) && (flags & ZADD_XX)) {
        reply_error(&c->reply, "ERR XX and NX options at the same time are not compatible");
        return;
    }
    if (((flags & (ZADD_GT | ZADD_LT)) && (flags & ZADD_NX)) ||
        ((flags & ZADD_GT) && (flags & ZADD_LT))) {
        reply_error(&c->reply, "ERR GT, LT, and/or NX options at the same time are not compatible");
        return;
    }
    if ((flags & ZADD_INCR) && pairs > 1) {
        reply_error(&c->reply, "ERR INCR option supports a single increment-element pair");
        return;
    }

    /* Every score is checked before anything changes: the command applies
     * fully or not at all. */
    double stack_scores[16];
    double *scores = pairs <= 16 ? stack_scores : mem_alloc(pairs * sizeof(double));
    for (size_t j = 0; j < pairs; j++) {
        int i = index + 2 * (int)j;
        if (!number_parse_double(c->argv[i], c->argv_len[i], &scores[j])) {
            reply_error(&c->reply, ERR_NOT_FLOAT);
            goto done;
        }
    }

    int wrong_type;
    kv_entry *e = lookup_write(c, 1, &wrong_type);
    if (wrong_type)
        goto done;
    size_t added = 0, updated = 0, processed = 0;
    double score = 0;
    if (e || !(flags & ZADD_XX)) {
        zset_value z = e ? zset_for_update(c, e) : zset_create_for(c->argv_len[index + 1]);
        for (size_t j = 0; j < pairs; j++) {
            int i = index + 2 * (int)j + 1;
            int outcome = zset_add(&z, scores[j], c->argv[i], c->argv_len[i], flags, &score);
            if (outcome == ZADD_NAN) {
                /* Only INCR gets here, with its single pair: nothing changed. */
                if (!e)
                    zset_free_value(z.ptr, z.encoding);
                reply_error(&c->reply, ERR_NAN_SCORE);
                goto done;
            }
            added += outcome == ZADD_ADDED;
            updated += outcome == ZADD_UPDATED;
            processed += outcome != ZADD_SKIPPED;
        }
        if (e) {
            if (z.ptr != entry_object(e) || z.encoding != entry_encoding(e))
                entry_set_object(e, z.encoding, z.ptr);
        } else if (zset_length(&z) > 0) {
            keyspace_set_object(c->db, c->argv[1], c->argv_len[1], OBJECT_ZSET, z.encoding, z.ptr,
                                0);
        } else {
            zset_free_value(z.ptr, z.encoding);
        }
        if (added || updated)
            signal_key(c, 1, (flags & ZADD_INCR) ? "zincr" : "zadd", EVENT_ZSET);
    }
    if (flags & ZADD_INCR) {
        if (processed)
            reply_double(&c->reply, score);
        else
            reply_null(&c->reply);
    } else {
        reply_integer(&c->reply, (int64_t)((flags & ZADD_CH) ? added + updated : added));
    }
done:
    if (scores != stack_scores)
        mem_free(scores);
}

/* ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...] */
static void command_zadd(client *c)
{
    zadd_generic(c, 0, 2);
}

/* ZINCRBY key increment member */
static void command_zincrby(client *c)
{
    zadd_generic(c, ZADD_INCR, 2);
}

/* ---------- ZREM, ZCARD, ZSCORE, ZMSCORE, ZRANK, ZCOUNT, ZLEXCOUNT ---------- */

static void command_zrem(client *c)
{
    int wrong_type;
    kv_entry *e = lookup_write(c, 1, &wrong_type);
    if (wrong_type)
        return;
    if (!e) {
        reply_integer(&c->reply, 0);
        return;
    }
    zset_value z = zset_for_update(c, e);
    int64_t removed = 0;
    for (int i = 2; i < c->argc; i++) {
        removed += zset_remove(&z, c->argv[i], c->argv_len[i]);
        if (zset_length(&z) == 0)
            break;
    }
    if (removed) {
        int deleted = store_back(c, 1, e, &z);
        signal_removal(c, 1, "zrem", deleted);
    }
    reply_integer(&c->reply, removed);
}

static void command_zcard(client *c)
{
    int wrong_type;
    kv_entry *e = lookup_read(c, 1, &wrong_type);
    if (wrong_type)
        return;
    if (!e) {
        reply_integer(&c->reply, 0);
        return;
    }
    zset_value z = zset_of(e);
    reply_integer(&c->reply, (int64_t)zset_length(&z));
}

static void command_zscore(client *c)
{
    int wrong_type;
    kv_entry *e = lookup_read(c, 1, &wrong_type);
    if (wrong_type)
        return;
    double score;
    if (e) {
        zset_value z = zset_of(e);
        if (zset_score(&z, c->argv[2], c->argv_len[2], &score)) {
            reply_double(&c->reply, score);
            return;
        }
    }
    reply_null(&c->reply);
}

static void command_zmscore(client *c)
{
    int wrong_type;
    kv_entry *e = lookup_read(c, 1, &wrong_type);
    if (wrong_type)
        return;
    reply_array(&c->reply, (size_t)(c->argc - 2));
    zset_value z = {0, NULL};
    if (e)
        z = zset_of(e);
    for (int i = 2; i < c->argc; i++) {
        double score;
        if (e && zset_score(&z, c->argv[i], c->argv_len[i], &score))
            reply_double(&c->reply, score);
        else
            reply_null(&c->reply);
    }
}

/* ZRANK / ZREVRANK key member [WITHSCORE] (WITHSCORE as in Redis 7.2) */
static void zrank_generic(client *c, int reverse)
{
    int withscore = 0;
    if (c->argc > 4) {
        reply_errorf(&c->reply, "ERR wrong number of arguments for '%s' command", c->command->name);
        return;
    }
    if (c->argc == 4) {
        if (!argument_is(c, 3, "withscore")) {
            reply_error(&c->reply, ERR_SYNTAX);
            return;
        }
        withscore = 1;
    }
    int wrong_type;
    kv_entry *e = lookup_read(c, 1, &wrong_type);
    if (wrong_type)
        return;
    size_t rank;
    double score;
    if (e) {
        zset_value z = zset_of(e);
        if (zset_rank(&z, c->argv[2], c->argv_len[2], &rank, &score)) {
            if (reverse)
                rank = zset_length(&z) - 1 - rank;
            if (withscore) {
                reply_array(&c->reply, 2);
                reply_integer(&c->reply, (int64_t)rank);
                reply_double(&c->reply, score);
            } else {
                reply_integer(&c->reply, (int64_t)rank);
            }
            return;
        }
    }
    if (withscore)
        reply_null_array(&c->reply);
    else
        reply_null(&c->reply);
}

static void command_zrank(client *c)
{
    zrank_generic(c, 0);
}

static void command_zrevrank(client *c)
{
    zrank_generic(c, 1);
}

static void command_zcount(client *c)
{
    score_range range;
    if (!parse_score_range(c, 2, 3, &range)) {
        reply_error(&c->reply, ERR_SCORE_RANGE);
        return;
    }
    int wrong_type;
    kv_entry *e = lookup_read(c, 1, &wrong_type);
    if (wrong_type)
        return;
    if (!e) {
        reply_integer(&c->reply, 0);
        return;
    }
    zset_value z = zset_of(e);
    int64_t count = 0;
    if (z.encoding == ENCODING_SKIPLIST) {
        /* Two O(log n) descents: the ranks of both ends. */
        const skiplist *list = as_skiplist(&z);
        skiplist_node *first = skiplist_first_in_score_range(list, &range);
        if (first) {
            skiplist_node *last = skiplist_last_in_score_range(list, &range);
            count = (int64_t)(skiplist_rank(list, last) - skiplist_rank(list, first) + 1);
        }
    } else {
        zset_iterator it;
        iterator_init(&it, &z, 0);
        for (iterator_seek_score(&it, &range);
             iterator_valid(&it) && iterator_in_score_range(&it, &range); iterator_advance(&it))
            count++;
    }
    reply_integer(&c->reply, count);
}

static void command_zlexcount(client *c)
{
    lex_range range;
    if (!parse_lex_range(c, 2, 3, &range)) {
        reply_error(&c->reply, ERR_LEX_RANGE);
        return;
    }
    int wrong_type;
    kv_entry *e = lookup_read(c, 1, &wrong_type);
    if (wrong_type)
        return;
    if (!e) {
        reply_integer(&c->reply, 0);
        return;
    }
    zset_value z = zset_of(e);
    int64_t count = 0;
    if (z.encoding == ENCODING_SKIPLIST) {
        const skiplist *list = as_skiplist(&z);
        skiplist_node *first = skiplist_first_in_lex_range(list, &range);
        if (first) {
            skiplist_node *last = skiplist_last_in_lex_range(list, &range);
            count = (int64_t)(skiplist_rank(list, last) - skiplist_rank(list, first) + 1);
        }
    } else {
        zset_iterator it;
        iterator_init(&it, &z, 0);
        for (iterator_seek_lex(&it, &range);
             iterator_valid(&it) && iterator_in_lex_range(&it, &range); iterator_advance(&it))
            count++;
    }
    reply_integer(&c->reply, count);
}

/* ---------- ZRANGE and its older forms, ZRANGESTORE ---------- */

enum range_kind { RANGE_AUTO, RANGE_RANK, RANGE_SCORE, RANGE_LEX };
enum range_direction { DIRECTION_AUTO, DIRECTION_FORWARD, DIRECTION_REVERSE };

/* Where a range's elements go: into the reply, or into a collector for
 * ZRANGESTORE. The reply's length is known only at the end for score and
 * lex ranges, so it is deferred. */
typedef struct range_output {
    client *c;
    int withscores;
    pair_collector *store;
    size_t handle;
    size_t count;
} range_output;

static void output_begin(range_output *out)
{
    out->count = 0;
    if (!out->store)
        out->handle = reply_defer(&out->c->reply);
}

static void output_element(range_output *out, zset_iterator *it)
{
    size_t len;
    const char *member = iterator_member(it, &len);
    double score = out->withscores || out->store ? iterator_score(it) : 0;
    if (out->store)
        collector_add(out->store, member, len, score);
    else
        reply_element(out->c, member, len, score, out->withscores);
    out->count++;
}

static void output_end(range_output *out)
{
    if (out->store)
        return;
    int flat = out->withscores && client_protocol(out->c) == 2;
    reply_defer_array(&out->c->reply, out->handle, flat ? 2 * out->count : out->count);
}

static void range_by_rank(const zset_value *z, int64_t start, int64_t end, int reverse,
                          range_output *out)
{
    size_t first, last;
    if (!clamp_rank_range(start, end, zset_length(z), &first, &last))
        return;
    zset_iterator it;
    iterator_init(&it, z, reverse);
    iterator_seek_rank(&it, first);
    for (size_t n = last - first + 1; n > 0 && iterator_valid(&it); n--, iterator_advance(&it))
        output_element(out, &it);
}

/* LIMIT as Redis applies it: a negative offset selects nothing, a negative
 * count means no limit; skipped elements are not checked against the range
 * (the first one emitted is). */
static void range_by_score(const zset_value *z, const score_range *range, int reverse,
                           int64_t offset, int64_t limit, range_output *out)
{
    if (offset < 0 || (offset > 0 && (uint64_t)offset >= zset_length(z)))
        return;
    zset_iterator it;
    iterator_init(&it, z, reverse);
    iterator_seek_score(&it, range);
    iterator_skip(&it, (uint64_t)offset);
    for (; limit != 0 && iterator_valid(&it) && iterator_in_score_range(&it, range);
         iterator_advance(&it), limit--)
        output_element(out, &it);
}

static void range_by_lex(const zset_value *z, const lex_range *range, int reverse, int64_t offset,
                         int64_t limit, range_output *out)
{
    if (offset < 0 || (offset > 0 && (uint64_t)offset >= zset_length(z)))
        return;
    zset_iterator it;
    iterator_init(&it, z, reverse);
    iterator_seek_lex(&it, range);
    iterator_skip(&it, (uint64_t)offset);
    for (; limit != 0 && iterator_valid(&it) && iterator_in_lex_range(&it, range);
         iterator_advance(&it), limit--)
        output_element(out, &it);
}

/* The one implementation behind ZRANGE, ZRANGESTORE, ZREVRANGE and the
 * BYSCORE / BYLEX commands. source is the argv index of the source key,
 * followed by its two bounds and then the options; kind and direction are
 * fixed by the older commands and AUTO for ZRANGE / ZRANGESTORE. */
static void range_generic(client *c, int source, int store, int kind, int direction)
{
    int withscores = 0;
    int64_t offset = 0, limit = -1;
    int has_limit = 0;
    for (int i = source + 3; i < c->argc; i++) {
        int left = c->argc - i - 1;
        if (!store && argument_is(c, i, "withscores")) {
            withscores = 1;
        } else if (argument_is(c, i, "limit") && left >= 2) {
            if (!argument_int64(c, i + 1, &offset) || !argument_int64(c, i + 2, &limit))
                return;
            has_limit = 1;
            i += 2;
        } else if (direction == DIRECTION_AUTO && argument_is(c, i, "rev")) {
            direction = DIRECTION_REVERSE;
        } else if (kind == RANGE_AUTO && argument_is(c, i, "bylex")) {
            kind = RANGE_LEX;
        } else if (kind == RANGE_AUTO && argument_is(c, i, "byscore")) {
            kind = RANGE_SCORE;
        } else {
            reply_error(&c->reply, ERR_SYNTAX);
            return;
        }
    }
    if (direction == DIRECTION_AUTO)
        direction = DIRECTION_FORWARD;
    if (kind == RANGE_AUTO)
        kind = RANGE_RANK;
    if (has_limit && kind == RANGE_RANK) {
        reply_error(&c->reply, ERR_LIMIT_WITH_RANK);
        return;
    }
    if (withscores && kind == RANGE_LEX) {
        reply_error(&c->reply, ERR_SCORES_WITH_LEX);
        return;
    }
    int reverse = direction == DIRECTION_REVERSE;
    /* Reversed score and lex ranges name the high end first. */
    int min_index = source + 1, max_index = source + 2;
    if (reverse && kind != RANGE_RANK) {
        min_index = source + 2;
        max_index = source + 1;
    }
    int64_t start = 0, end = 0;
    score_range scores;
    lex_range lex;
    if (kind == RANGE_RANK) {
        if (!argument_int64(c, min_index, &start) || !argument_int64(c, max_index, &end))
            return;
    } else if (kind == RANGE_SCORE) {
        if (!parse_score_range(c, min_index, max_index, &scores)) {
            reply_error(&c->reply, ERR_SCORE_RANGE);
            return;
        }
    } else if (!parse_lex_range(c, min_index, max_index, &lex)) {
        reply_error(&c->reply, ERR_LEX_RANGE);
        return;
    }

    int wrong_type;
    kv_entry *e = lookup_read(c, source, &wrong_type);
    if (wrong_type)
        return;
    pair_collector collected;
    collector_init(&collected);
    range_output out = {c, withscores, store ? &collected : NULL, 0, 0};
    output_begin(&out);
    if (e) {
        zset_value z = zset_of(e);
        if (kind == RANGE_RANK)
            range_by_rank(&z, start, end, reverse, &out);
        else if (kind == RANGE_SCORE)
            range_by_score(&z, &scores, reverse, offset, limit, &out);
        else
            range_by_lex(&z, &lex, reverse, offset, limit, &out);
    }
    output_end(&out);
    if (store) {
        /* The source's value is no longer needed: the destination may be
         * the same key. */
        collector_finish(&collected);
        store_pairs(c, c->argv[1], c->argv_len[1], collected.pairs, collected.count, "zrangestore");
        reply_integer(&c->reply, (int64_t)collected.count);
    }
    collector_release(&collected);
}

/* ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES] */
static void command_zrange(client *c)
{
    range_generic(c, 1, 0, RANGE_AUTO, DIRECTION_AUTO);
}

/* ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count] */
static void command_zrangestore(client *c)
{
    range_generic(c, 2, 1, RANGE_AUTO, DIRECTION_AUTO);
}

static void command_zrevrange(client *c)
{
    range_generic(c, 1, 0, RANGE_RANK, DIRECTION_REVERSE);
}

static void command_zrangebyscore(client *c)
{
    range_generic(c, 1, 0, RANGE_SCORE, DIRECTION_FORWARD);
}

static void command_zrevrangebyscore(client *c)
{
    range_generic(c, 1, 0, RANGE_SCORE, DIRECTION_REVERSE);
}

static void command_zrangebylex(client *c)
{
    range_generic(c, 1, 0, RANGE_LEX, DIRECTION_FORWARD);
}

static void command_zrevrangebylex(client *c)
{
    range_generic(c, 1, 0, RANGE_LEX, DIRECTION_REVERSE);
}

/* ---------- ZREMRANGEBYRANK, ZREMRANGEBYSCORE, ZREMRANGEBYLEX ---------- */

static void remove_range_generic(client *c, int kind)
{
    int64_t start = 0, end = 0;
    score_range scores;
    lex_range lex;
    if (kind == RANGE_RANK) {
        if (!argument_int64(c, 2, &start) || !argument_int64(c, 3, &end))
            return;
    } else if (kind == RANGE_SCORE) {
        if (!parse_score_range(c, 2, 3, &scores)) {
            reply_error(&c->reply, ERR_SCORE_RANGE);
            return;
        }
    } else if (!parse_lex_range(c, 2, 3, &lex)) {
        reply_error(&c->reply, ERR_LEX_RANGE);
        return;
    }
    int wrong_type;
    kv_entry *e = lookup_write(c, 1, &wrong_type);
    if (wrong_type)
        return;
    if (!e) {
        reply_integer(&c->reply, 0);
        return;
    }
    zset_value z = zset_for_update(c, e);
    size_t removed = 0;
    const char *event;
    if (kind == RANGE_RANK) {
        size_t first, last;
        if (clamp_rank_range(start, end, zset_length(&z), &first, &last))
            removed = zset_delete_rank_range(&z, first, last);
        event = "zremrangebyrank";
    } else if (kind == RANGE_SCORE) {
        removed = zset_delete_score_range(&z, &scores);
        event = "zremrangebyscore";
    } else {
        removed = zset_delete_lex_range(&z, &lex);
        event = "zremrangebylex";
    }
    if (removed) {
        int deleted = store_back(c, 1, e, &z);
        signal_removal(c, 1, event, deleted);
    }
    reply_integer(&c->reply, (int64_t)removed);
}

static void command_zremrangebyrank(client *c)
{
    remove_range_generic(c, RANGE_RANK);
}

static void command_zremrangebyscore(client *c)
{
    remove_range_generic(c, RANGE_SCORE);
}

static void command_zremrangebylex(client *c)
{
    remove_range_generic(c, RANGE_LEX);
}

/* ---------- ZPOPMIN, ZPOPMAX ---------- */

/* ZPOPMIN / ZPOPMAX key [count]. Without a count the reply is one flat
 * member, score pair even in RESP3; with one, RESP3 nests the pairs. */
static void pop_generic(client *c, int reverse)
{
    int64_t count = 1;
    int has_count = c->argc > 2;
    if (c->argc > 3) {
        reply_error(&c->reply, ERR_SYNTAX);
        return;
    }
    if (has_count && !argument_int64_or(c, 2, &count, ERR_NOT_POSITIVE))
        return;
    if (count < 0) {
        reply_error(&c->reply, ERR_NOT_POSITIVE);
        return;
    }
    int wrong_type;
    kv_entry *e = lookup_write(c, 1, &wrong_type);
    if (wrong_type)
        return;
    if (!e || count == 0) {
        reply_empty_array(&c->reply);
        return;
    }
    zset_value z = zset_for_update(c, e);
    size_t length = zset_length(&z);
    size_t n = (uint64_t)count < length ? (size_t)count : length;
    if (has_count)
        reply_elements_header(c, n, 1);
    else
        reply_array(&c->reply, 2);
    zset_iterator it;
    iterator_init(&it, &z, reverse);
    iterator_seek_start(&it);
    for (size_t i = 0; i < n; i++, iterator_advance(&it)) {
        size_t len;
        const char *member = iterator_member(&it, &len);
        if (has_count) {
            reply_element(c, member, len, iterator_score(&it), 1);
        } else {
            reply_bulk(&c->reply, member, len);
            reply_double(&c->reply, iterator_score(&it));
        }
    }
    if (reverse)
        zset_delete_rank_range(&z, length - n, length - 1);
    else
        zset_delete_rank_range(&z, 0, n - 1);
    int deleted = store_back(c, 1, e, &z);
    signal_removal(c, 1, reverse ? "zpopmax" : "zpopmin", deleted);
}

static void command_zpopmin(client *c)
{
    pop_generic(c, 0);
}

static void command_zpopmax(client *c)
{
    pop_generic(c, 1);
}

/* ---------- ZMPOP and the blocking pops ---------- */

/* Pops up to count members of argv[key_index] (zset entry e), replying
 * [key, member, score] (BZPOPMIN/MAX) or, nested, [key, [[member, score],
 * ...]] (ZMPOP, BZMPOP). */
static void pop_with_key(client *c, int key_index, kv_entry *e, int reverse, size_t count,
                         int nested)
{
    zset_value z = zset_for_update(c, e);
    size_t length = zset_length(&z);
    size_t n = count < length ? count : length;
    reply_array(&c->reply, nested ? 2 : 3);
    reply_bulk(&c->reply, c->argv[key_index], c->argv_len[key_index]);
    if (nested)
        reply_array(&c->reply, n);
    zset_iterator it;
    iterator_init(&it, &z, reverse);
    iterator_seek_start(&it);
    for (size_t i = 0; i < n; i++, iterator_advance(&it)) {
        size_t len;
        const char *member = iterator_member(&it, &len);
        if (nested)
            reply_array(&c->reply, 2);
        reply_bulk(&c->reply, member, len);
        reply_double(&c->reply, iterator_score(&it));
    }
    if (reverse)
        zset_delete_rank_range(&z, length - n, length - 1);
    else
        zset_delete_rank_range(&z, 0, n - 1);
    int deleted = store_back(c, key_index, e, &z);
    signal_removal(c, key_index, reverse ? "zpopmax" : "zpopmin", deleted);
}

/* [B]ZMPOP's arguments from argv[first]: numkeys key [key ...] MIN|MAX
 * [COUNT count]. Returns 0 after an error reply, 1 after a pop, -1 when
 * every key is missing (nothing written); *last_key gets the last key's
 * index for blocking. */
static int mpop_generic(client *c, int first, int *last_key)
{
    int64_t numkeys;
    if (!number_parse_int64(c->argv[first], c->argv_len[first], &numkeys) || numkeys < 1) {
        reply_error(&c->reply, "ERR numkeys should be greater than 0");
        return 0;
    }
    if (numkeys > c->argc - first - 2) {
        reply_error(&c->reply, ERR_SYNTAX);
        return 0;
    }
    int where = first + 1 + (int)numkeys;
    int reverse;
    if (argument_is(c, where, "min"))
        reverse = 0;
    else if (argument_is(c, where, "max"))
        reverse = 1;
    else {
        reply_error(&c->reply, ERR_SYNTAX);
        return 0;
    }
    int64_t count = -1;
    for (int i = where + 1; i < c->argc; i++) {
        if (count == -1 && argument_is(c, i, "count") && i + 1 < c->argc) {
            i++;
            if (!number_parse_int64(c->argv[i], c->argv_len[i], &count) || count < 1) {
                reply_error(&c->reply, "ERR count should be greater than 0");
                return 0;
            }
            continue;
        }
        reply_error(&c->reply, ERR_SYNTAX);
        return 0;
    }
    *last_key = where - 1;
    for (int i = first + 1; i < where; i++) {
        int wrong_type;
        kv_entry *e = lookup_write(c, i, &wrong_type);
        if (wrong_type)
            return 0;
        if (e) {
            pop_with_key(c, i, e, reverse, count == -1 ? 1 : (size_t)count, 1);
            return 1;
        }
    }
    return -1;
}

static void command_zmpop(client *c)
{
    int last_key;
    if (mpop_generic(c, 1, &last_key) < 0)
        reply_null_array(&c->reply);
}

static void reply_timeout_null_array(client *c)
{
    reply_null_array(&c->reply);
}

static void command_bzmpop(client *c)
{
    int64_t deadline;
    int last_key;
    if (!blocking_parse_timeout(c, 1, &deadline))
        return;
    if (mpop_generic(c, 2, &last_key) < 0)
        blocking_block_on_range(c, 3, last_key, deadline, reply_timeout_null_array,
                                reply_timeout_null_array);
}

/* BZPOPMIN / BZPOPMAX key [key ...] timeout */
static void blocking_pop(client *c, int reverse)
{
    int64_t deadline;
    if (!blocking_parse_timeout(c, c->argc - 1, &deadline))
        return;
    for (int i = 1; i < c->argc - 1; i++) {
        int wrong_type;
        kv_entry *e = lookup_write(c, i, &wrong_type);
        if (wrong_type)
            return;
        if (e) {
            pop_with_key(c, i, e, reverse, 1, 0);
            return;
        }
    }
    blocking_block_on_range(c, 1, c->argc - 2, deadline, reply_timeout_null_array,
                            reply_timeout_null_array);
}

static void command_bzpopmin(client *c)
{
    blocking_pop(c, 0);
}

static void command_bzpopmax(client *c)
{
    blocking_pop(c, 1);
}

/* ---------- ZRANDMEMBER ---------- */

/* The element at a 0-based rank (ascending). */
static void seek_index(zset_iterator *it, const zset_value *z, size_t index)
{
    iterator_init(it, z, 0);
    iterator_seek_rank(it, index);
}

/* Distinct random ranks, chosen with Floyd's algorithm: count draws, each
 * either a fresh rank or (on a repeat) the top of the growing interval, so
 * every subset is equally likely. A small open-addressing set of the ranks
 * taken so far detects repeats. */
typedef struct rank_set {
    uint64_t *slots; /* rank + 1; 0 is empty */
    size_t mask;
} rank_set;

static void rank_set_init(rank_set *set, size_t count)
{
    size_t size = 16;
    while (size < count * 2)
        size <<= 1;
    set->slots = mem_calloc(size * sizeof(uint64_t));
    set->mask = size - 1;
}

/* Adds rank; 0 if it was already there. */
static int rank_set_add(rank_set *set, size_t rank)
{
    size_t i = (size_t)((rank * 0x9e3779b97f4a7c15ull) >> 17) & set->mask;
    while (set->slots[i]) {
        if (set->slots[i] == rank + 1)
            return 0;
        i = (i + 1) & set->mask;
    }
    set->slots[i] = rank + 1;
    return 1;
}

static void reply_random_members(client *c, const zset_value *z, int64_t count, int withscores)
{
    size_t length = zset_length(z);
    zset_iterator it;
    if (count < 0) {
        /* Repeats allowed: independent uniform draws. */
        uint64_t n = (uint64_t)(-count);
        reply_elements_header(c, (size_t)n, withscores);
        for (uint64_t i = 0; i < n; i++) {
            seek_index(&it, z, (size_t)(server_random() % length));
            size_t len;
            const char *member = iterator_member(&it, &len);
            reply_element(c, member, len, withscores ? iterator_score(&it) : 0, withscores);
        }
        return;
    }
    if ((uint64_t)count >= length) {
        /* The whole set (Redis's order here is its hash order: any order
         * is as good). */
        reply_elements_header(c, length, withscores);
        iterator_init(&it, z, 0);
        for (iterator_seek_start(&it); iterator_valid(&it); iterator_advance(&it)) {
            size_t len;
            const char *member = iterator_member(&it, &len);
            reply_element(c, member, len, withscores ? iterator_score(&it) : 0, withscores);
        }
        return;
    }
    size_t n = (size_t)count;
    reply_elements_header(c, n, withscores);
    rank_set taken;
    rank_set_init(&taken, n);
    for (size_t top = length - n; top < length; top++) {
        size_t rank = (size_t)(server_random() % (top + 1));
        if (!rank_set_add(&taken, rank)) {
            rank = top;
            rank_set_add(&taken, rank);
        }
        seek_index(&it, z, rank);
        size_t len;
        const char *member = iterator_member(&it, &len);
        reply_element(c, member, len, withscores ? iterator_score(&it) : 0, withscores);
    }
    mem_free(taken.slots);
}

/* ZRANDMEMBER key [count [WITHSCORES]] */
static void command_zrandmember(client *c)
{
    int wrong_type;
    if (c->argc == 2) {
        kv_entry *e = lookup_read(c, 1, &wrong_type);
        if (wrong_type)
            return;
        if (!e) {
            reply_null(&c->reply);
            return;
        }
        zset_value z = zset_of(e);
        zset_iterator it;
        seek_index(&it, &z, (size_t)(server_random() % zset_length(&z)));
        size_t len;
        const char *member = iterator_member(&it, &len);
        reply_bulk(&c->reply, member, len);
        return;
    }
    int64_t count;
    if (!argument_int64(c, 2, &count))
        return;
    if (count == INT64_MIN) {
        reply_error(&c->reply, "ERR value is out of range, value must between "
                               "-9223372036854775807 and 9223372036854775807");
        return;
    }
    int withscores = 0;
    if (c->argc > 4 || (c->argc == 4 && !argument_is(c, 3, "withscores"))) {
        reply_error(&c->reply, ERR_SYNTAX);
        return;
    }
    if (c->argc == 4) {
        withscores = 1;
        /* The reply would hold twice count entries. */
        if (count < -INT64_MAX / 2 || count > INT64_MAX / 2) {
            reply_error(&c->reply, "ERR value is out of range");
            return;
        }
    }
    kv_entry *e = lookup_read(c, 1, &wrong_type);
    if (wrong_type)
        return;
    if (!e || count == 0) {
        reply_empty_array(&c->reply);
        return;
    }
    zset_value z = zset_of(e);
    reply_random_members(c, &z, count, withscores);
}

/* ---------- ZSCAN ---------- */

/* A score as ZSCAN shows it (Redis's d2string): integers below 2^52 in
 * integer form, other values with 17 significant digits. */
static size_t format_scan_score(char buf[40], double score)
{
    if (isnan(score))
        return (size_t)snprintf(buf, 40, "nan");
    if (isinf(score))
        return (size_t)snprintf(buf, 40, "%s", score > 0 ? "inf" : "-inf");
    if (score == 0)
        return (size_t)snprintf(buf, 40, "%s", signbit(score) ? "-0" : "0");
    if (score > -(EXACT_INTEGER_LIMIT - 1) && score < EXACT_INTEGER_LIMIT &&
        score == (double)(int64_t)score)
        return number_format_int64(buf, (int64_t)score);
    return (size_t)snprintf(buf, 40, "%.17g", score);
}

typedef struct scan_batch {
    const skiplist_node **nodes;
    size_t count, capacity;
} scan_batch;

static void scan_collect(void *ctx, const skiplist_node *node)
{
    scan_batch *batch = ctx;
    if (batch->count == batch->capacity) {
        batch->capacity = batch->capacity ? batch->capacity * 2 : 32;
        batch->nodes = mem_realloc(batch->nodes, batch->capacity * sizeof(*batch->nodes));
    }
    batch->nodes[batch->count++] = node;
}

/* Appends member and its score to the pending reply when it matches. A
 * listpack's scores print as Redis stores them there: integers up to 2^62
 * in integer form. */
static int scan_emit(client *c, const char *member, size_t len, double score, int packed,
                     const char *pattern, size_t pattern_len)
{
    if (pattern && !glob_match(pattern, pattern_len, member, len, 0))
        return 0;
    char text[40];
    size_t text_len = packed && packed_score_is_integer(score)
                          ? number_format_int64(text, (int64_t)score)
                          : format_scan_score(text, score);
    reply_bulk(&c->reply, member, len);
    reply_bulk(&c->reply, text, text_len);
    return 1;
}

/* ZSCAN key cursor [MATCH pattern] [COUNT count] */
static void command_zscan(client *c)
{
    uint64_t cursor;
    if (!number_parse_cursor(c->argv[2], c->argv_len[2], &cursor)) {
        reply_error(&c->reply, "ERR invalid cursor");
        return;
    }
    int wrong_type;
    kv_entry *e = lookup_read(c, 1, &wrong_type);
    if (wrong_type)
        return;
    if (!e) {
        reply_array(&c->reply, 2);
        reply_bulk(&c->reply, "0", 1);
        reply_empty_array(&c->reply);
        return;
    }
    scan_options options;
    if (!scan_parse_options(c, 3, 0, &options))
        return;
    int64_t count = options.count;
    const char *pattern = options.pattern;
    size_t pattern_len = options.pattern_len;

    zset_value z = zset_of(e);
    scan_batch batch = {NULL, 0, 0};
    if (z.encoding == ENCODING_SKIPLIST) {
        /* Redis counts member and score as two of COUNT's items, and gives
         * up after ten cursor steps per item so a sparse table cannot make
         * one call long. */
        int64_t budget = count > INT64_MAX / 10 ? INT64_MAX : count * 10;
        do {
            cursor = skiplist_scan(as_skiplist(&z), cursor, scan_collect, &batch);
        } while (cursor != 0 && budget-- > 0 && (int64_t)(2 * batch.count) < count);
    } else {
        /* A listpack is returned whole in one call. */
        cursor = 0;
    }
    char digits[24];
    int digits_len = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)cursor);
    reply_array(&c->reply, 2);
    reply_bulk(&c->reply, digits, (size_t)digits_len);
    size_t handle = reply_defer(&c->reply);
    size_t emitted = 0;
    if (z.encoding == ENCODING_SKIPLIST) {
        for (size_t i = 0; i < batch.count; i++) {
            size_t len;
            const char *member = skiplist_node_member(batch.nodes[i], &len);
            emitted += scan_emit(c, member, len, skiplist_node_score(batch.nodes[i]), 0, pattern,
                                 pattern_len);
        }
    } else {
        zset_iterator it;
        iterator_init(&it, &z, 0);
        for (iterator_seek_start(&it); iterator_valid(&it); iterator_advance(&it)) {
            size_t len;
            const char *member = iterator_member(&it, &len);
            emitted += scan_emit(c, member, len, iterator_score(&it), 1, pattern, pattern_len);
        }
    }
    reply_defer_array(&c->reply, handle, 2 * emitted);
    mem_free(batch.nodes);
}

/* ---------- ZUNION, ZINTER, ZDIFF, their STORE forms, ZINTERCARD ---------- */

/* An input of a multi-key operation: a sorted set, or a plain set whose
 * members all count with score 1 (as Redis allows), or a missing key. The
 * set's encodings are the set family's: intset, listpack of members, or
 * member_table. */
enum source_kind { SOURCE_MISSING, SOURCE_ZSET, SOURCE_SET };

typedef struct op_source {
    int kind;
    zset_value value; /* encoding and structure, for both kinds */
    double weight;
    size_t length;
} op_source;

static size_t source_length(const op_source *src)
{
    if (src->kind == SOURCE_ZSET)
        return zset_length(&src->value);
    if (src->kind == SOURCE_MISSING)
        return 0;
    switch (src->value.encoding) {
    case ENCODING_INTSET:
        return intset_length(src->value.ptr);
    case ENCODING_LISTPACK:
        return listpack_length(src->value.ptr);
    default:
        return member_table_size(src->value.ptr);
    }
}

/* Score of member in src (1 for a set member); 0 when absent. */
static int source_score(const op_source *src, const char *member, size_t len, double *score)
{
    if (src->kind == SOURCE_ZSET)
        return zset_score(&src->value, member, len, score);
    if (src->kind == SOURCE_MISSING)
        return 0;
    int found;
    switch (src->value.encoding) {
    case ENCODING_INTSET: {
        int64_t value;
        found = number_parse_int64(member, len, &value) && intset_contains(src->value.ptr, value);
        break;
    }
    case ENCODING_LISTPACK: {
        const listpack *lp = src->value.ptr;
        found = listpack_find(lp, listpack_first(lp), member, len, 0) != LISTPACK_NONE;
        break;
    }
    default:
        found = member_table_contains(src->value.ptr, member, len);
        break;
    }
    *score = 1.0;
    return found;
}

typedef struct source_iterator {
    const op_source *src;
    int started;
    zset_iterator elements; /* sorted set */
    size_t index;           /* intset */
    size_t pos;             /* listpack of members */
    member_table_iterator members;
    char scratch[24];
} source_iterator;

static void source_iterator_init(source_iterator *it, const op_source *src)
{
    it->src = src;
    it->started = 0;
    it->index = 0;
    it->pos = LISTPACK_NONE;
    if (src->kind == SOURCE_SET && src->value.encoding == ENCODING_HASHTABLE)
        member_table_iterator_init(&it->members, src->value.ptr);
}

static void source_iterator_release(source_iterator *it)
{
    if (it->src->kind == SOURCE_SET && it->src->value.encoding == ENCODING_HASHTABLE)
        member_table_iterator_release(&it->members);
}

/* The next member and its score; 0 at the end. */
static int source_next(source_iterator *it, const char **bytes, size_t *len, double *score)
{
    const op_source *src = it->src;
    int first = !it->started;
    it->started = 1;
    if (src->kind == SOURCE_MISSING)
        return 0;
    if (src->kind == SOURCE_ZSET) {
        if (first) {
            iterator_init(&it->elements, &src->value, 0);
            iterator_seek_start(&it->elements);
        } else {
            iterator_advance(&it->elements);
        }
        if (!iterator_valid(&it->elements))
            return 0;
        *bytes = iterator_member(&it->elements, len);
        *score = iterator_score(&it->elements);
        return 1;
    }
    *score = 1.0;
    switch (src->value.encoding) {
    case ENCODING_INTSET:
        if (it->index >= intset_length(src->value.ptr))
            return 0;
        *len = number_format_int64(it->scratch, intset_get(src->value.ptr, it->index++));
        *bytes = it->scratch;
        return 1;
    case ENCODING_LISTPACK: {
        const listpack *lp = src->value.ptr;
        it->pos = first ? listpack_first(lp) : listpack_next(lp, it->pos);
        if (it->pos == LISTPACK_NONE)
            return 0;
        listpack_entry entry;
        listpack_get(lp, it->pos, &entry);
        *bytes = listpack_entry_bytes(&entry, it->scratch, len);
        return 1;
    }
    default: {
        member *m = member_table_iterator_next(&it->members);
        if (!m)
            return 0;
        *bytes = member_bytes(m, len);
        return 1;
    }
    }
}

enum set_operation { OP_UNION, OP_INTER, OP_DIFF };
enum aggregate_kind { AGGREGATE_SUM, AGGREGATE_MIN, AGGREGATE_MAX };

static void aggregate_into(double *target, double value, int how)
{
    if (how == AGGREGATE_SUM) {
        *target += value;
        /* inf + -inf: Redis settles on 0. */
        if (isnan(*target))
            *target = 0;
    } else if (how == AGGREGATE_MIN) {
        if (value < *target)
            *target = value;
    } else if (value > *target) {
        *target = value;
    }
}

static double weighted(double score, double weight)
{
    double value = score * weight;
    return isnan(value) ? 0 : value; /* 0 * inf */
}

/* The union's accumulator: one node per distinct member. */
typedef struct union_node {
    hashtable_node link;
    double score;
    size_t len;
    char member[];
} union_node;

static uint64_t union_hash_node(const hashtable_node *link)
{
    const union_node *node = (const union_node *)link;
    return hash_bytes(node->member, node->len);
}

static int union_node_has_key(const hashtable_node *link, const void *key, size_t len)
{
    const union_node *node = (const union_node *)link;
    return node->len == len && memcmp(node->member, key, len) == 0;
}

static const hashtable_type union_type = {union_hash_node, union_node_has_key};

static void union_free_node(hashtable_node *link)
{
    mem_free(link);
}

static void compute_union(op_source *sources, size_t count, int how, pair_collector *out,
                          hashtable *acc)
{
    for (size_t i = 0; i < count; i++) {
        source_iterator it;
        source_iterator_init(&it, &sources[i]);
        const char *member;
        size_t len;
        double score;
        while (source_next(&it, &member, &len, &score)) {
            double value = weighted(score, sources[i].weight);
            uint64_t hash = hash_bytes(member, len);
            union_node *node = (union_node *)hashtable_find(acc, hash, member, len);
            if (node) {
                aggregate_into(&node->score, value, how);
                continue;
            }
            node = mem_alloc(sizeof(union_node) + len);
            node->score = value;
            node->len = len;
            memcpy(node->member, member, len);
            hashtable_insert(acc, hash, &node->link);
        }
        source_iterator_release(&it);
    }
    /* The pairs point into the nodes, which live until the caller is done. */
    out->capacity = hashtable_size(acc) ? hashtable_size(acc) : 1;
    out->pairs = mem_alloc(out->capacity * sizeof(zset_pair));
    hashtable_iterator iter;
    hashtable_iterator_init(&iter, acc);
    for (hashtable_node *link; (link = hashtable_iterator_next(&iter));) {
        union_node *node = (union_node *)link;
        out->pairs[out->count++] = (zset_pair){node->score, node->member, node->len};
    }
    hashtable_iterator_release(&iter);
}

/* Intersection; with limit > 0 it stops at that many (ZINTERCARD). With
 * out NULL only counts. */
static size_t compute_inter(op_source *sources, size_t count, int how, size_t limit,
                            pair_collector *out)
{
    size_t found = 0;
    if (sources[0].length == 0)
        return 0;
    source_iterator it;
    source_iterator_init(&it, &sources[0]);
    const char *member;
    size_t len;
    double score;
    while (source_next(&it, &member, &len, &score)) {
        double value = weighted(score, sources[0].weight);
        size_t j = 1;
        for (; j < count; j++) {
            double other;
            if (!source_score(&sources[j], member, len, &other))
                break;
            aggregate_into(&value, weighted(other, sources[j].weight), how);
        }
        if (j < count)
            continue;
        if (out)
            collector_add(out, member, len, value);
        found++;
        if (limit && found >= limit)
            break;
    }
    source_iterator_release(&it);
    return found;
}

static void compute_diff(op_source *sources, size_t count, pair_collector *out)
{
    source_iterator it;
    source_iterator_init(&it, &sources[0]);
    const char *member;
    size_t len;
    double score;
    while (source_next(&it, &member, &len, &score)) {
        size_t j = 1;
        double other;
        while (j < count && !source_score(&sources[j], member, len, &other))
            j++;
        if (j == count)
            collector_add(out, member, len, score);
    }
    source_iterator_release(&it);
}

/* Smallest first, keeping the given order among equals (the order of the
 * additions decides the last bits of a SUM, so it must be Redis's). */
static void sort_sources_by_length(op_source *sources, size_t count)
{
    for (size_t i = 1; i < count; i++) {
        op_source moving = sources[i];
        size_t j = i;
        for (; j > 0 && sources[j - 1].length > moving.length; j--)
            sources[j] = sources[j - 1];
        sources[j] = moving;
    }
}

/* ZUNION / ZINTER / ZDIFF numkeys key... [WEIGHTS w...] [AGGREGATE how]
 * [WITHSCORES]; the STORE forms take a destination first and no
 * WITHSCORES; ZINTERCARD numkeys key... [LIMIT n]. */
static void set_operation_generic(client *c, int numkeys_index, int has_destination, int op,
                                  int cardinality_only)
{
    int64_t numkeys;
    if (!argument_int64(c, numkeys_index, &numkeys))
        return;
    if (numkeys < 1) {
        reply_errorf(&c->reply, "ERR at least 1 input key is needed for '%s' command",
                     c->command->name);
        return;
    }
    if (numkeys > c->argc - (numkeys_index + 1)) {
        reply_error(&c->reply, ERR_SYNTAX);
        return;
    }
    size_t count = (size_t)numkeys;
    op_source *sources = mem_alloc(count * sizeof(op_source));
    int i = numkeys_index + 1;
    for (size_t k = 0; k < count; k++, i++) {
        kv_entry *e = has_destination ? keyspace_lookup(c->db, c->argv[i], c->argv_len[i])
                                      : keyspace_lookup_read(c->db, c->argv[i], c->argv_len[i],
                                                             c->flags & CLIENT_NO_TOUCH);
        sources[k].weight = 1.0;
        sources[k].kind = SOURCE_MISSING;
        sources[k].value.encoding = ENCODING_LISTPACK;
        sources[k].value.ptr = NULL;
        if (e) {
            if (entry_type(e) != OBJECT_ZSET && entry_type(e) != OBJECT_SET) {
                reply_error(&c->reply, ERR_WRONGTYPE);
                goto done;
            }
            sources[k].kind = entry_type(e) == OBJECT_ZSET ? SOURCE_ZSET : SOURCE_SET;
            sources[k].value = zset_of(e);
        }
        sources[k].length = source_length(&sources[k]);
    }

    int how = AGGREGATE_SUM, withscores = 0;
    int64_t limit = 0;
    while (i < c->argc) {
        int remaining = c->argc - i;
        if (op != OP_DIFF && !cardinality_only && remaining >= numkeys + 1 &&
            argument_is(c, i, "weights")) {
            i++;
            for (size_t k = 0; k < count; k++, i++) {
                if (!number_parse_double(c->argv[i], c->argv_len[i], &sources[k].weight)) {
                    reply_error(&c->reply, "ERR weight value is not a float");
                    goto done;
                }
            }
        } else if (op != OP_DIFF && !cardinality_only && remaining >= 2 &&
                   argument_is(c, i, "aggregate")) {
            if (argument_is(c, i + 1, "sum")) {
                how = AGGREGATE_SUM;
            } else if (argument_is(c, i + 1, "min")) {
                how = AGGREGATE_MIN;
            } else if (argument_is(c, i + 1, "max")) {
                how = AGGREGATE_MAX;
            } else {
                reply_error(&c->reply, ERR_SYNTAX);
                goto done;
            }
            i += 2;
        } else if (!has_destination && !cardinality_only && argument_is(c, i, "withscores")) {
            withscores = 1;
            i++;
        } else if (cardinality_only && remaining >= 2 && argument_is(c, i, "limit")) {
            if (!argument_int64_or(c, i + 1, &limit, "ERR LIMIT can't be negative"))
                goto done;
            if (limit < 0) {
                reply_error(&c->reply, "ERR LIMIT can't be negative");
                goto done;
            }
            i += 2;
        } else {
            reply_error(&c->reply, ERR_SYNTAX);
            goto done;
        }
    }

    if (cardinality_only) {
        sort_sources_by_length(sources, count);
        reply_integer(&c->reply, (int64_t)compute_inter(sources, count, how, (size_t)limit, NULL));
        goto done;
    }

    pair_collector result;
    collector_init(&result);
    hashtable *acc = NULL;
    if (op == OP_UNION) {
        sort_sources_by_length(sources, count);
        acc = hashtable_create(&union_type);
        compute_union(sources, count, how, &result, acc);
    } else {
        if (op == OP_INTER) {
            sort_sources_by_length(sources, count);
            compute_inter(sources, count, how, 0, &result);
        } else {
            compute_diff(sources, count, &result);
        }
        collector_finish(&result);
    }

    if (has_destination) {
        const char *event = op == OP_UNION   ? "zunionstore"
                            : op == OP_INTER ? "zinterstore"
                                             : "zdiffstore";
        store_pairs(c, c->argv[1], c->argv_len[1], result.pairs, result.count, event);
        reply_integer(&c->reply, (int64_t)result.count);
    } else {
        if (result.count > 1)
            qsort(result.pairs, result.count, sizeof(zset_pair), pair_compare);
        reply_elements_header(c, result.count, withscores);
        for (size_t k = 0; k < result.count; k++)
            reply_element(c, result.pairs[k].member, result.pairs[k].len, result.pairs[k].score,
                          withscores);
    }
    collector_release(&result);
    if (acc)
        hashtable_destroy(acc, union_free_node);
done:
    mem_free(sources);
}

static void command_zunion(client *c)
{
    set_operation_generic(c, 1, 0, OP_UNION, 0);
}

static void command_zinter(client *c)
{
    set_operation_generic(c, 1, 0, OP_INTER, 0);
}

static void command_zdiff(client *c)
{
    set_operation_generic(c, 1, 0, OP_DIFF, 0);
}

static void command_zunionstore(client *c)
{
    set_operation_generic(c, 2, 1, OP_UNION, 0);
}

static void command_zinterstore(client *c)
{
    set_operation_generic(c, 2, 1, OP_INTER, 0);
}

static void command_zdiffstore(client *c)
{
    set_operation_generic(c, 2, 1, OP_DIFF, 0);
}

static void command_zintercard(client *c)
{
    set_operation_generic(c, 1, 0, OP_INTER, 1);
}

/* ---------- the family's rows ---------- */

#define C_ZSET ACL_SORTEDSET
#define GROUP  "sorted-set"

/* Rows of commands whose keys follow a count (numkeys at numkeys_). */
#define NUMKEYS_ROW(name_, arity_, flags_, cats_, first_, last_, step_, numkeys_, kflags_,         \
                    handler_, since_, complexity_, summary_)                                       \
    {                                                                                              \
        .name = name_, .arity = arity_, .flags = flags_, .categories = cats_, .first_key = first_, \
        .last_key = last_, .key_step = step_, .key_numkeys_index = numkeys_, .key_flags = kflags_, \
        .handler = handler_, .group = GROUP, .since = since_, .complexity = complexity_,           \
        .summary = summary_                                                                        \
    }

#define RANGE_COMPLEXITY                                                                           \
    "O(log(N)+M) with N being the number of elements in the sorted set and M the number of "       \
    "elements being returned. If M is constant (e.g. always asking for the first 10 elements "     \
    "with LIMIT), you can consider it O(log(N))."
#define REMOVE_RANGE_COMPLEXITY                                                                    \
    "O(log(N)+M) with N being the number of elements in the sorted set and M the number of "       \
    "elements removed by the operation."
#define POP_COMPLEXITY                                                                             \
    "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number "   \
    "of elements popped."
#define UNION_COMPLEXITY                                                                           \
    "O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being "    \
    "the number of elements in the resulting sorted set."
#define INTER_COMPLEXITY                                                                           \
    "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the "       \
    "number of input sorted sets and M being the number of elements in the resulting sorted "      \
    "set."
#define DIFF_COMPLEXITY                                                                            \
    "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N "    \
    "is the size of the first set, and K is the size of the result set."

const command zset_command_rows[] = {
    NUMKEYS_ROW("bzmpop", -5, W | CMD_BLOCKING, C_W | C_ZSET | C_SLOW | ACL_BLOCKING, 0, 0, 1, 2,
                KEY_RW | KEY_ACCESS | KEY_DELETE, command_bzmpop, "7.0.0", POP_COMPLEXITY,
                "Removes and returns a member by score from one or more sorted sets. Blocks until "
                "a member is available otherwise. Deletes the sorted set if the last element was "
                "popped."),
    ROW("bzpopmax", -3, W | FAST | NOSCRIPT | CMD_BLOCKING, C_W | C_ZSET | C_FAST | ACL_BLOCKING, 1,
        -2, 1, KEY_RW | KEY_ACCESS | KEY_DELETE, command_bzpopmax, GROUP, "5.0.0",
        "O(log(N)) with N being the number of elements in the sorted set.",
        "Removes and returns the member with the highest score from one or more sorted sets. "
        "Blocks until a member available otherwise. Deletes the sorted set if the last element "
        "was popped."),
    ROW("bzpopmin", -3, W | FAST | NOSCRIPT | CMD_BLOCKING, C_W | C_ZSET | C_FAST | ACL_BLOCKING, 1,
        -2, 1, KEY_RW | KEY_ACCESS | KEY_DELETE, command_bzpopmin, GROUP, "5.0.0",
        "O(log(N)) with N being the number of elements in the sorted set.",
        "Removes and returns the member with the lowest score from one or more sorted sets. "
        "Blocks until a member is available otherwise. Deletes the sorted set if the last element "
        "was popped."),
    ROW("zadd", -4, W | DOOM | FAST, C_W | C_ZSET | C_FAST, 1, 1, 1, KEY_RW | KEY_UPDATE,
        command_zadd, GROUP, "1.2.0",
        "O(log(N)) for each item added, where N is the number of elements in the sorted set.",
        "Add one or more members to a sorted set, or update its score if it already exists"),
    ROW("zcard", 2, R | FAST, C_R | C_ZSET | C_FAST, 1, 1, 1, KEY_RO, command_zcard, GROUP, "1.2.0",
        "O(1)", "Get the number of members in a sorted set"),
    ROW("zcount", 4, R | FAST, C_R | C_ZSET | C_FAST, 1, 1, 1, KEY_READ, command_zcount, GROUP,
        "2.0.0", "O(log(N)) with N being the number of elements in the sorted set.",
        "Count the members in a sorted set with scores within the given values"),
    NUMKEYS_ROW("zdiff", -3, R, C_R | C_ZSET | C_SLOW, 0, 0, 0, 1, KEY_READ, command_zdiff, "6.2.0",
                DIFF_COMPLEXITY, "Subtract multiple sorted sets"),
    NUMKEYS_ROW("zdiffstore", -4, W | DOOM, C_W | C_ZSET | C_SLOW, 1, 1, 1, 2, KEY_OW | KEY_UPDATE,
                command_zdiffstore, "6.2.0", DIFF_COMPLEXITY,
                "Subtract multiple sorted sets and store the resulting sorted set in a new key"),
    ROW("zincrby", 4, W | DOOM | FAST, C_W | C_ZSET | C_FAST, 1, 1, 1, KEY_WRITE_UPDATE,
        command_zincrby, GROUP, "1.2.0",
        "O(log(N)) where N is the number of elements in the sorted set.",
        "Increment the score of a member in a sorted set"),
    NUMKEYS_ROW("zinter", -3, R, C_R | C_ZSET | C_SLOW, 0, 0, 0, 1, KEY_READ, command_zinter,
                "6.2.0", INTER_COMPLEXITY, "Intersect multiple sorted sets"),
    NUMKEYS_ROW("zintercard", -3, R, C_R | C_ZSET | C_SLOW, 0, 0, 0, 1, KEY_READ,
                command_zintercard, "7.0.0",
                "O(N*K) worst case with N being the smallest input sorted set, K being the number "
                "of input sorted sets.",
                "Intersect multiple sorted sets and return the cardinality of the result"),
    NUMKEYS_ROW("zinterstore", -4, W | DOOM, C_W | C_ZSET | C_SLOW, 1, 1, 1, 2, KEY_OW | KEY_UPDATE,
                command_zinterstore, "2.0.0", INTER_COMPLEXITY,
                "Intersect multiple sorted sets and store the resulting sorted set in a new key"),
    ROW("zlexcount", 4, R | FAST, C_R | C_ZSET | C_FAST, 1, 1, 1, KEY_READ, command_zlexcount,
        GROUP, "2.8.9", "O(log(N)) with N being the number of elements in the sorted set.",
        "Count the number of members in a sorted set between a given lexicographical range"),
    ROW("zmscore", -3, R | FAST, C_R | C_ZSET | C_FAST, 1, 1, 1, KEY_READ, command_zmscore, GROUP,
        "6.2.0", "O(N) where N is the number of members being requested.",
        "Get the score associated with the given members in a sorted set"),
    NUMKEYS_ROW("zmpop", -4, W, C_W | C_ZSET | C_SLOW, 0, 0, 1, 1, KEY_RW | KEY_ACCESS | KEY_DELETE,
                command_zmpop, "7.0.0", POP_COMPLEXITY,
                "Returns the highest- or lowest-scoring members from one or more sorted sets after "
                "removing them. Deletes the sorted set if the last member was popped."),
    ROW("zpopmax", -2, W | FAST, C_W | C_ZSET | C_FAST, 1, 1, 1, KEY_RW | KEY_ACCESS | KEY_DELETE,
        command_zpopmax, GROUP, "5.0.0", POP_COMPLEXITY,
        "Remove and return members with the highest scores in a sorted set"),
    ROW("zpopmin", -2, W | FAST, C_W | C_ZSET | C_FAST, 1, 1, 1, KEY_RW | KEY_ACCESS | KEY_DELETE,
        command_zpopmin, GROUP, "5.0.0", POP_COMPLEXITY,
        "Remove and return members with the lowest scores in a sorted set"),
    ROW("zrandmember", -2, R, C_R | C_ZSET | C_SLOW, 1, 1, 1, KEY_READ, command_zrandmember, GROUP,
        "6.2.0", "O(N) where N is the number of elements returned",
        "Get one or multiple random elements from a sorted set"),
    ROW("zrange", -4, R, C_R | C_ZSET | C_SLOW, 1, 1, 1, KEY_READ, command_zrange, GROUP, "1.2.0",
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of "
        "elements returned.",
        "Return a range of members in a sorted set"),
    ROW("zrangebylex", -4, R, C_R | C_ZSET | C_SLOW, 1, 1, 1, KEY_READ, command_zrangebylex, GROUP,
        "2.8.9", RANGE_COMPLEXITY,
        "Return a range of members in a sorted set, by lexicographical range"),
    ROW("zrangebyscore", -4, R, C_R | C_ZSET | C_SLOW, 1, 1, 1, KEY_READ, command_zrangebyscore,
        GROUP, "1.0.5", RANGE_COMPLEXITY, "Return a range of members in a sorted set, by score"),
    ROW("zrangestore", -5, W | DOOM, C_W | C_ZSET | C_SLOW, 1, 2, 1, KEY_OW | KEY_UPDATE,
        command_zrangestore, GROUP, "6.2.0",
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of "
        "elements stored into the destination key.",
        "Store a range of members from sorted set into another key"),
    ROW("zrank", -3, R | FAST, C_R | C_ZSET | C_FAST, 1, 1, 1, KEY_READ, command_zrank, GROUP,
        "2.0.0", "O(log(N))", "Determine the index of a member in a sorted set"),
    ROW("zrem", -3, W | FAST, C_W | C_ZSET | C_FAST, 1, 1, 1, KEY_DEL, command_zrem, GROUP, "1.2.0",
        "O(M*log(N)) with N being the number of elements in the sorted set and M the number of "
        "elements to be removed.",
        "Remove one or more members from a sorted set"),
    ROW("zremrangebylex", 4, W, C_W | C_ZSET | C_SLOW, 1, 1, 1, KEY_DEL, command_zremrangebylex,
        GROUP, "2.8.9", REMOVE_RANGE_COMPLEXITY,
        "Remove all members in a sorted set between the given lexicographical range"),
    ROW("zremrangebyrank", 4, W, C_W | C_ZSET | C_SLOW, 1, 1, 1, KEY_DEL, command_zremrangebyrank,
        GROUP, "2.0.0", REMOVE_RANGE_COMPLEXITY,
        "Remove all members in a sorted set within the given indexes"),
    ROW("zremrangebyscore", 4, W, C_W | C_ZSET | C_SLOW, 1, 1, 1, KEY_DEL, command_zremrangebyscore,
        GROUP, "1.2.0", REMOVE_RANGE_COMPLEXITY,
        "Remove all members in a sorted set within the given scores"),
    ROW("zrevrange", -4, R, C_R | C_ZSET | C_SLOW, 1, 1, 1, KEY_READ, command_zrevrange, GROUP,
        "1.2.0",
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of "
        "elements returned.",
        "Return a range of members in a sorted set, by index, with scores ordered from high to "
        "low"),
    ROW("zrevrangebylex", -4, R, C_R | C_ZSET | C_SLOW, 1, 1, 1, KEY_READ, command_zrevrangebylex,
        GROUP, "2.8.9", RANGE_COMPLEXITY,
        "Return a range of members in a sorted set, by lexicographical range, ordered from "
        "higher to lower strings."),
    ROW("zrevrangebyscore", -4, R, C_R | C_ZSET | C_SLOW, 1, 1, 1, KEY_READ,
        command_zrevrangebyscore, GROUP, "2.2.0", RANGE_COMPLEXITY,
        "Return a range of members in a sorted set, by score, with scores ordered from high to "
        "low"),
    ROW("zrevrank", -3, R | FAST, C_R | C_ZSET | C_FAST, 1, 1, 1, KEY_READ, command_zrevrank, GROUP,
        "2.0.0", "O(log(N))",
        "Determine the index of a member in a sorted set, with scores ordered from high to low"),
    ROW("zscan", -3, R, C_R | C_ZSET | C_SLOW, 1, 1, 1, KEY_READ, command_zscan, GROUP, "2.8.0",
        "O(1) for every call. O(N) for a complete iteration, including enough command calls for "
        "the cursor to return back to 0. N is the number of elements inside the collection..",
        "Incrementally iterate sorted sets elements and associated scores"),
    ROW("zscore", 3, R | FAST, C_R | C_ZSET | C_FAST, 1, 1, 1, KEY_READ, command_zscore, GROUP,
        "1.2.0", "O(1)", "Get the score associated with the given member in a sorted set"),
    NUMKEYS_ROW("zunion", -3, R, C_R | C_ZSET | C_SLOW, 0, 0, 0, 1, KEY_READ, command_zunion,
                "6.2.0", UNION_COMPLEXITY, "Add multiple sorted sets"),
    NUMKEYS_ROW("zunionstore", -4, W | DOOM, C_W | C_ZSET | C_SLOW, 1, 1, 1, 2, KEY_OW | KEY_UPDATE,
                command_zunionstore, "2.0.0", UNION_COMPLEXITY,
                "Add multiple sorted sets and store the resulting sorted set in a new key"),
    {0},
};

void zset_register_type(keyspace *ks)
{
    static const object_methods methods = {.free_value = zset_free_value,
                                           .copy_value = zset_copy_value,
                                           .free_effort = zset_free_effort,
                                           .memory_usage = zset_memory_usage};
    keyspace_register_type(ks, OBJECT_ZSET, &methods);
}

/* ---------- access for persistence (rivet/zset_access.h) ---------- */

void zset_value_walk(object_encoding encoding, const void *ptr, zset_visit_fn visit, void *ctx)
{
    zset_value z = {encoding, (void *)ptr};
    zset_iterator it;
    iterator_init(&it, &z, 0);
    iterator_seek_start(&it);
    for (; iterator_valid(&it); iterator_advance(&it)) {
        size_t len;
        const char *member = iterator_member(&it, &len);
        visit(ctx, member, len, iterator_score(&it));
    }
}

size_t zset_value_length(object_encoding encoding, const void *ptr)
{
    zset_value z = {encoding, (void *)ptr};
    return zset_length(&z);
}

void *zset_value_from_skiplist(skiplist *list, object_encoding *encoding)
{
    size_t count = skiplist_length(list);
    int fits = count > 0 && count <= max_listpack_entries();
    for (skiplist_node *n = skiplist_first(list); fits && n; n = skiplist_next(n)) {
        size_t len;
        skiplist_node_member(n, &len);
        fits = len <= max_listpack_value();
    }
    if (!fits) {
        *encoding = ENCODING_SKIPLIST;
        return list;
    }
    listpack *lp = listpack_create();
    for (skiplist_node *n = skiplist_first(list); n; n = skiplist_next(n)) {
        size_t len;
        const char *member = skiplist_node_member(n, &len);
        char text[40];
        size_t text_len = format_packed_score(text, skiplist_node_score(n));
        lp = listpack_append(lp, member, len);
        lp = listpack_append(lp, text, text_len);
    }
    skiplist_destroy(list);
    *encoding = ENCODING_LISTPACK;
    return lp;
}
