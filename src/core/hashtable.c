/* A chained hash table of intrusive nodes with incremental resizing.
 *
 * Buckets are power-of-two arrays of chain heads, indexed by the low bits of
 * the hash. To resize, a second array of the new size is allocated and the
 * old one is emptied into it a bucket at a time: each find, insert, remove or
 * replace moves one bucket (and hashtable_rehash_step lets a timer move more),
 * so a table of millions of keys never stalls one command for a full rehash.
 * While both arrays exist, lookups look in both and inserts go to the new one,
 * which is where every node ends up anyway.
 *
 * The table grows to twice its size when it holds as many nodes as buckets
 * (load factor 1: chains stay about one node long) and shrinks once fewer than
 * one bucket in eight is used, so a table that is emptied gives its memory
 * back but one that hovers around a size does not flap between two.
 *
 * Open iterators pause the moving of nodes, and the start of new resizes,
 * because an iterator remembers a position (array, bucket) that a move would
 * invalidate. */
#include "rivet/hashtable.h"

#include <assert.h>

#include "rivet/memory.h"

#define MIN_BUCKETS 4
/* A rehash step that only finds empty buckets gives up after this many, so a
 * sparse old array cannot make one operation slow. */
#define EMPTY_VISITS_PER_STEP 10
/* Random probes for a nonempty bucket before hashtable_random falls back to
 * walking forward from the last probe; only very sparse tables (mid-shrink or
 * with an iterator holding a resize off) ever get there. */
#define RANDOM_PROBES 64

struct hashtable {
    const hashtable_type *type;
    /* [0] is the main array; [1] is the rehash target and is NULL unless a
     * rehash is in progress. An empty table has no arrays at all. */
    hashtable_node **buckets[2];
    size_t bucket_count[2];
    size_t used[2];
    /* Buckets of [0] below this index have been moved to [1]. */
    size_t rehash_index;
    /* Open iterators; nonzero pauses rehash and resize. */
    int pause;
};

static inline int is_rehashing(const hashtable *table)
{
    return table->buckets[1] != NULL;
}

static size_t bucket_count_for(size_t wanted)
{
    size_t count = MIN_BUCKETS;
    while (count < wanted)
        count <<= 1;
    return count;
}

static hashtable_node **allocate_buckets(size_t count)
{
    return mem_calloc(count * sizeof(hashtable_node *));
}

static void start_resize(hashtable *table, size_t count)
{
    if (count == table->bucket_count[0])
        return;
    hashtable_node **fresh = allocate_buckets(count);
    if (table->used[0] == 0) {
        /* Nothing to move: switch arrays at once. */
        mem_free(table->buckets[0]);
        table->buckets[0] = fresh;
        table->bucket_count[0] = count;
        return;
    }
    table->buckets[1] = fresh;
    table->bucket_count[1] = count;
    table->used[1] = 0;
    table->rehash_index = 0;
}

static void resize_if_needed(hashtable *table)
{
    if (is_rehashing(table) || table->pause > 0 || table->buckets[0] == NULL)
        return;
    size_t size = table->used[0];
    size_t count = table->bucket_count[0];
    if (size >= count)
        start_resize(table, bucket_count_for(size * 2));
    else if (count > MIN_BUCKETS && size * 8 < count)
        start_resize(table, bucket_count_for(size + 1));
}

static void finish_rehash(hashtable *table)
{
    mem_free(table->buckets[0]);
    table->buckets[0] = table->buckets[1];
    table->bucket_count[0] = table->bucket_count[1];
    table->used[0] = table->used[1];
    table->buckets[1] = NULL;
    table->bucket_count[1] = 0;
    table->used[1] = 0;
    table->rehash_index = 0;
    /* Inserts or removes during the rehash may already call for the next one. */
    resize_if_needed(table);
}

static void move_chain(hashtable *table, hashtable_node *node)
{
    hashtable_node **target = table->buckets[1];
    size_t mask = table->bucket_count[1] - 1;
    size_t moved = 0;
    while (node != NULL) {
        hashtable_node *next = node->next;
        size_t index = table->type->hash_node(node) & mask;
        node->next = target[index];
        target[index] = node;
        node = next;
        moved++;
    }
    table->used[0] -= moved;
    table->used[1] += moved;
}

/* Moves up to `steps` nonempty buckets; returns nonzero if work remains. */
static int rehash_steps(hashtable *table, int steps)
{
    if (!is_rehashing(table))
        return 0;
    int empty_budget = steps * EMPTY_VISITS_PER_STEP;
    /* Counting nodes lets the rehash end as soon as the old array is empty,
     * without walking its (possibly many) empty tail buckets. */
    while (steps > 0 && table->used[0] > 0) {
        hashtable_node **slot = &table->buckets[0][table->rehash_index++];
        if (*slot == NULL) {
            if (--empty_budget == 0)
                return 1;
            continue;
        }
        move_chain(table, *slot);
        *slot = NULL;
        steps--;
    }
    if (table->used[0] == 0)
        finish_rehash(table);
    return is_rehashing(table);
}

static inline void rehash_on_access(hashtable *table)
{
    if (is_rehashing(table) && table->pause == 0)
        rehash_steps(table, 1);
}

hashtable *hashtable_create(const hashtable_type *type)
{
    hashtable *table = mem_calloc(sizeof(*table));
    table->type = type;
    return table;
}

void hashtable_clear(hashtable *table, void (*free_node)(hashtable_node *node))
{
    for (int which = 0; which < 2; which++) {
        hashtable_node **buckets = table->buckets[which];
        if (buckets == NULL)
            continue;
        for (size_t i = 0; free_node != NULL && i < table->bucket_count[which]; i++) {
            hashtable_node *node = buckets[i];
            while (node != NULL) {
                hashtable_node *next = node->next;
                free_node(node);
                node = next;
            }
        }
        mem_free(buckets);
        table->buckets[which] = NULL;
        table->bucket_count[which] = 0;
        table->used[which] = 0;
    }
    table->rehash_index = 0;
}

void hashtable_destroy(hashtable *table, void (*free_node)(hashtable_node *node))
{
    if (table == NULL)
        return;
    hashtable_clear(table, free_node);
    mem_free(table);
}

size_t hashtable_size(const hashtable *table)
{
    return table->used[0] + table->used[1];
}

size_t hashtable_memory(const hashtable *table)
{
    return mem_block_size(table->buckets[0]) + mem_block_size(table->buckets[1]);
}

size_t hashtable_buckets(const hashtable *table)
{
    return table->bucket_count[0];
}

int hashtable_is_rehashing(const hashtable *table)
{
    return is_rehashing(table);
}

/* The slot (bucket head or a node's next field) that points at the node with
 * this key, or NULL; *which says which array it is in. */
static hashtable_node **find_slot(hashtable *table, uint64_t hash, const void *key, size_t keylen,
                                  int *which)
{
    for (int w = 0; w < 2 && table->buckets[w] != NULL; w++) {
        size_t index = hash & (table->bucket_count[w] - 1);
        /* Already-moved buckets of the old array are empty. */
        if (w == 0 && index < table->rehash_index)
            continue;
        hashtable_node **slot = &table->buckets[w][index];
        for (; *slot != NULL; slot = &(*slot)->next) {
            if (table->type->node_has_key(*slot, key, keylen)) {
                *which = w;
                return slot;
            }
        }
    }
    return NULL;
}

hashtable_node *hashtable_find(hashtable *table, uint64_t hash, const void *key, size_t keylen)
{
    if (hashtable_size(table) == 0)
        return NULL;
    rehash_on_access(table);
    int which;
    hashtable_node **slot = find_slot(table, hash, key, keylen, &which);
    return slot != NULL ? *slot : NULL;
}

void hashtable_insert(hashtable *table, uint64_t hash, hashtable_node *node)
{
    if (table->buckets[0] == NULL) {
        table->buckets[0] = allocate_buckets(MIN_BUCKETS);
        table->bucket_count[0] = MIN_BUCKETS;
    }
    rehash_on_access(table);
    int which = is_rehashing(table) ? 1 : 0;
    hashtable_node **head = &table->buckets[which][hash & (table->bucket_count[which] - 1)];
    node->next = *head;
    *head = node;
    table->used[which]++;
    resize_if_needed(table);
}

hashtable_node *hashtable_remove(hashtable *table, uint64_t hash, const void *key, size_t keylen)
{
    if (hashtable_size(table) == 0)
        return NULL;
    rehash_on_access(table);
    int which;
    hashtable_node **slot = find_slot(table, hash, key, keylen, &which);
    if (slot == NULL)
        return NULL;
    hashtable_node *node = *slot;
    *slot = node->next;
    table->used[which]--;
    /* If that emptied the old array, the rehash is over: finishing it now
     * means a table emptied mid-rehash does not keep both arrays until its
     * next insert. */
    if (is_rehashing(table) && table->used[0] == 0 && table->pause == 0)
        finish_rehash(table);
    else
        resize_if_needed(table);
    return node;
}

int hashtable_contains(const hashtable *table, uint64_t hash, const hashtable_node *node)
{
    for (int w = 0; w < 2 && table->buckets[w] != NULL; w++) {
        for (const hashtable_node *n = table->buckets[w][hash & (table->bucket_count[w] - 1)]; n;
             n = n->next)
            if (n == node)
                return 1;
    }
    return 0;
}

void hashtable_replace(hashtable *table, uint64_t hash, hashtable_node *old_node,
                       hashtable_node *new_node)
{
    /* old_node may be freed memory, so it is only compared, never read. Its
     * successor in the chain comes from new_node->next, which the caller's
     * copy of the struct (memcpy or realloc) carried over. */
    int replaced = 0;
    for (int w = 0; w < 2 && table->buckets[w] != NULL && !replaced; w++) {
        hashtable_node **slot = &table->buckets[w][hash & (table->bucket_count[w] - 1)];
        while (*slot != NULL && *slot != old_node)
            slot = &(*slot)->next;
        if (*slot != NULL) {
            *slot = new_node;
            replaced = 1;
        }
    }
    assert(replaced && "hashtable_replace: old node not in the table");
    /* Only now: a rehash step reads every node of the bucket it moves, and
     * until the slot was updated that could have included the freed one. */
    rehash_on_access(table);
}

int hashtable_rehash_step(hashtable *table, int steps)
{
    if (table->pause > 0)
        return is_rehashing(table);
    return rehash_steps(table, steps);
}

/* Scan cursors count with their bits reversed, from the top bit of the mask
 * down. Read that way, the buckets already visited are those whose index,
 * reversed, is below the cursor's; a bucket's index keeps its low bits when
 * the array doubles (it splits into two buckets that are both visited or both
 * not) or halves (it merges with a neighbour, which is then at worst visited
 * again). So a resize between calls can repeat nodes but never skip one that
 * stayed in the table. */
static uint64_t reverse_bits(uint64_t x)
{
    x = ((x >> 1) & 0x5555555555555555ULL) | ((x & 0x5555555555555555ULL) << 1);
    x = ((x >> 2) & 0x3333333333333333ULL) | ((x & 0x3333333333333333ULL) << 2);
    x = ((x >> 4) & 0x0f0f0f0f0f0f0f0fULL) | ((x & 0x0f0f0f0f0f0f0f0fULL) << 4);
    return __builtin_bswap64(x);
}

/* Adds one to the cursor's bits under mask, counting from the top bit down. */
static uint64_t next_cursor(uint64_t cursor, uint64_t mask)
{
    cursor |= ~mask;
    return reverse_bits(reverse_bits(cursor) + 1);
}

static void visit_chain(hashtable_node *node, hashtable_visit_fn visit, void *ctx)
{
    while (node != NULL) {
        hashtable_node *next = node->next;
        visit(ctx, node);
        node = next;
    }
}

uint64_t hashtable_scan(hashtable *table, uint64_t cursor, hashtable_visit_fn visit, void *ctx)
{
    if (hashtable_size(table) == 0)
        return 0;
    if (!is_rehashing(table)) {
        uint64_t mask = table->bucket_count[0] - 1;
        visit_chain(table->buckets[0][cursor & mask], visit, ctx);
        return next_cursor(cursor, mask);
    }

    /* Mid-rehash a node may be in either array. Visit the cursor's bucket in
     * the smaller array, then every bucket of the larger array whose index
     * has the same low bits (the buckets it splits into), and step the cursor
     * past all of them, so both arrays are covered for that cursor. */
    int small = table->bucket_count[0] <= table->bucket_count[1] ? 0 : 1;
    int large = 1 - small;
    uint64_t small_mask = table->bucket_count[small] - 1;
    uint64_t large_mask = table->bucket_count[large] - 1;
    visit_chain(table->buckets[small][cursor & small_mask], visit, ctx);
    do {
        visit_chain(table->buckets[large][cursor & large_mask], visit, ctx);
        cursor = next_cursor(cursor, large_mask);
    } while (cursor & (large_mask ^ small_mask));
    return cursor;
}

/* One output of the splitmix64 generator: a cheap way to derive fresh,
 * well-spread bits from the caller's random number for each retry. */
static uint64_t mix_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Buckets that can hold nodes, numbered 0..live_bucket_count()-1: the
 * unmoved part of the old array followed by the whole new array. */
static size_t live_bucket_count(const hashtable *table)
{
    return table->bucket_count[0] - table->rehash_index + table->bucket_count[1];
}

static hashtable_node *live_bucket(const hashtable *table, size_t position)
{
    size_t old_live = table->bucket_count[0] - table->rehash_index;
    if (position < old_live)
        return table->buckets[0][table->rehash_index + position];
    return table->buckets[1][position - old_live];
}

hashtable_node *hashtable_random(hashtable *table, uint64_t random)
{
    if (hashtable_size(table) == 0)
        return NULL;
    uint64_t state = random;
    size_t live = live_bucket_count(table);
    size_t position = 0;
    hashtable_node *head = NULL;
    for (int probe = 0; probe < RANDOM_PROBES && head == NULL; probe++) {
        uint64_t bits = mix_next(&state);
        /* Without a rehash the count is a power of two and a mask is exact. */
        position = is_rehashing(table) ? bits % live : bits & (live - 1);
        head = live_bucket(table, position);
    }
    /* The table is not empty, so this walk ends. */
    while (head == NULL) {
        position = position + 1 == live ? 0 : position + 1;
        head = live_bucket(table, position);
    }

    size_t length = 0;
    for (hashtable_node *node = head; node != NULL; node = node->next)
        length++;
    size_t pick = length == 1 ? 0 : mix_next(&state) % length;
    while (pick-- > 0)
        head = head->next;
    return head;
}

void hashtable_iterator_init(hashtable_iterator *it, hashtable *table)
{
    it->table = table;
    it->which = 0;
    it->index = 0;
    it->next = NULL;
    it->started = 0;
    table->pause++;
}

hashtable_node *hashtable_iterator_next(hashtable_iterator *it)
{
    hashtable *table = it->table;
    /* it->next is read ahead so that the caller may remove the node it was
     * just given. */
    while (it->next == NULL) {
        if (it->started)
            it->index++;
        it->started = 1;
        if (it->index >= table->bucket_count[it->which]) {
            if (it->which == 1 || !is_rehashing(table))
                return NULL;
            it->which = 1;
            it->index = 0;
        }
        it->next = table->buckets[it->which][it->index];
    }
    hashtable_node *node = it->next;
    it->next = node->next;
    return node;
}

void hashtable_iterator_release(hashtable_iterator *it)
{
    hashtable *table = it->table;
    assert(table->pause > 0);
    table->pause--;
    /* Removals while paused may have left the table due for a shrink. */
    if (table->pause == 0)
        resize_if_needed(table);
    it->table = NULL;
}
