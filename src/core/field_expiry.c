/* field_expiry: a hashtable of deadline nodes plus a binary min-heap of the
 * same nodes. Each node remembers its heap slot, so moving or removing a
 * deadline finds it by field and repairs the heap from that slot. Most hashes
 * with field TTLs have only a few of them: up to INDEX_MIN fields are found
 * by scanning the heap array, and the hashtable is built only past that
 * (and kept), which saves its header and buckets for small ones. The field
 * bytes are copied into the node: the hash's own pairs can move (values are
 * reallocated in place), and a copy keeps this structure independent of how
 * the hash is encoded. */
#include "rivet/field_expiry.h"

#include <string.h>

#include "rivet/hash.h"
#include "rivet/hashtable.h"
#include "rivet/memory.h"

typedef struct deadline_node {
    hashtable_node link; /* first: a hashtable_node pointer is a node pointer */
    int64_t deadline;
    size_t slot; /* index in the heap */
    size_t len;
    char field[];
} deadline_node;

#define INDEX_MIN 8

struct field_expiry {
    hashtable *index; /* NULL until the structure first holds > INDEX_MIN */
    deadline_node **heap;
    size_t count;
    size_t capacity;
};

static uint64_t node_hash(const hashtable_node *link)
{
    const deadline_node *node = (const deadline_node *)link;
    return hash_bytes(node->field, node->len);
}

static int node_has_key(const hashtable_node *link, const void *key, size_t len)
{
    const deadline_node *node = (const deadline_node *)link;
    return node->len == len && memcmp(node->field, key, len) == 0;
}

static const hashtable_type node_type = {node_hash, node_has_key};

field_expiry *field_expiry_create(void)
{
    return mem_calloc(sizeof(field_expiry));
}

static void node_free(hashtable_node *link)
{
    mem_free(link);
}

void field_expiry_free(field_expiry *fe)
{
    if (fe == NULL)
        return;
    if (fe->index)
        hashtable_destroy(fe->index, node_free);
    else
        for (size_t i = 0; i < fe->count; i++)
            mem_free(fe->heap[i]);
    mem_free(fe->heap);
    mem_free(fe);
}

size_t field_expiry_count(const field_expiry *fe)
{
    return fe->count;
}

size_t field_expiry_memory(const field_expiry *fe, size_t samples)
{
    size_t bytes = mem_block_size(fe);
    if (fe->index)
        bytes += mem_block_size(fe->index) + hashtable_memory(fe->index);
    if (fe->heap)
        bytes += mem_block_size(fe->heap);
    size_t seen = samples == 0 || samples > fe->count ? fe->count : samples;
    size_t node_bytes = 0;
    for (size_t i = 0; i < seen; i++)
        node_bytes += mem_block_size(fe->heap[i]);
    /* Extrapolate from the nodes seen, as MEMORY USAGE ... SAMPLES does. */
    return bytes + (seen ? node_bytes * fe->count / seen : 0);
}

/* ---------- the heap ---------- */

static void heap_place(field_expiry *fe, size_t slot, deadline_node *node)
{
    fe->heap[slot] = node;
    node->slot = slot;
}

static void sift_up(field_expiry *fe, size_t slot)
{
    deadline_node *node = fe->heap[slot];
    while (slot > 0) {
        size_t parent = (slot - 1) / 2;
        if (fe->heap[parent]->deadline <= node->deadline)
            break;
        heap_place(fe, slot, fe->heap[parent]);
        slot = parent;
    }
    heap_place(fe, slot, node);
}

static void sift_down(field_expiry *fe, size_t slot)
{
    deadline_node *node = fe->heap[slot];
    for (;;) {
        size_t child = slot * 2 + 1;
        if (child >= fe->count)
            break;
        if (child + 1 < fe->count && fe->heap[child + 1]->deadline < fe->heap[child]->deadline)
            child++;
        if (node->deadline <= fe->heap[child]->deadline)
            break;
        heap_place(fe, slot, fe->heap[child]);
        slot = child;
    }
    heap_place(fe, slot, node);
}

/* After a node's deadline changed in place. */
static void heap_fix(field_expiry *fe, size_t slot)
{
    deadline_node *node = fe->heap[slot];
    sift_up(fe, slot);
    if (node->slot == slot)
        sift_down(fe, slot);
}

static void heap_push(field_expiry *fe, deadline_node *node)
{
    if (fe->count == fe->capacity) {
        fe->capacity = fe->capacity ? fe->capacity * 2 : 4;
        fe->heap = mem_realloc(fe->heap, fe->capacity * sizeof(*fe->heap));
    }
    heap_place(fe, fe->count++, node);
    sift_up(fe, node->slot);
}

static void heap_remove(field_expiry *fe, deadline_node *node)
{
    size_t slot = node->slot;
    deadline_node *last = fe->heap[--fe->count];
    if (last != node) {
        heap_place(fe, slot, last);
        heap_fix(fe, slot);
    }
    /* Give memory back when a big burst of deadlines has drained. */
    if (fe->capacity > 16 && fe->count < fe->capacity / 4) {
        fe->capacity /= 2;
        fe->heap = mem_realloc(fe->heap, fe->capacity * sizeof(*fe->heap));
    }
}

/* ---------- by field ---------- */

static deadline_node *find(field_expiry *fe, const char *field, size_t len)
{
    if (fe->index)
        return (deadline_node *)hashtable_find(fe->index, hash_bytes(field, len), field, len);
    for (size_t i = 0; i < fe->count; i++)
        if (fe->heap[i]->len == len && memcmp(fe->heap[i]->field, field, len) == 0)
            return fe->heap[i];
    return NULL;
}

int64_t field_expiry_get(field_expiry *fe, const char *field, size_t len)
{
    deadline_node *node = find(fe, field, len);
    return node ? node->deadline : -1;
}

static deadline_node *node_create(const char *field, size_t len, int64_t deadline)
{
    deadline_node *node = mem_alloc(sizeof(*node) + len);
    node->link.next = NULL;
    node->deadline = deadline;
    node->slot = 0;
    node->len = len;
    if (len)
        memcpy(node->field, field, len);
    return node;
}

/* Builds the hashtable over every node once the structure outgrows a scan. */
static void index_build(field_expiry *fe)
{
    fe->index = hashtable_create(&node_type);
    for (size_t i = 0; i < fe->count; i++)
        hashtable_insert(fe->index, hash_bytes(fe->heap[i]->field, fe->heap[i]->len),
                         &fe->heap[i]->link);
}

void field_expiry_set(field_expiry *fe, const char *field, size_t len, int64_t deadline)
{
    deadline_node *node = find(fe, field, len);
    if (node) {
        node->deadline = deadline;
        heap_fix(fe, node->slot);
        return;
    }
    node = node_create(field, len, deadline);
    if (fe->index)
        hashtable_insert(fe->index, hash_bytes(field, len), &node->link);
    heap_push(fe, node);
    if (fe->index == NULL && fe->count > INDEX_MIN)
        index_build(fe);
}

int field_expiry_remove(field_expiry *fe, const char *field, size_t len)
{
    deadline_node *node = find(fe, field, len);
    if (node == NULL)
        return 0;
    if (fe->index)
        hashtable_remove(fe->index, hash_bytes(field, len), field, len);
    heap_remove(fe, node);
    mem_free(node);
    return 1;
}

int64_t field_expiry_next(const field_expiry *fe)
{
    return fe->count ? fe->heap[0]->deadline : -1;
}

int field_expiry_first(const field_expiry *fe, const char **field, size_t *len, int64_t *deadline)
{
    if (fe->count == 0)
        return 0;
    *field = fe->heap[0]->field;
    *len = fe->heap[0]->len;
    *deadline = fe->heap[0]->deadline;
    return 1;
}

field_expiry *field_expiry_duplicate(const field_expiry *fe)
{
    field_expiry *copy = field_expiry_create();
    /* Walking the heap array visits every node once; pushing them in heap
     * order keeps each push O(1) on average. */
    for (size_t i = 0; i < fe->count; i++)
        field_expiry_set(copy, fe->heap[i]->field, fe->heap[i]->len, fe->heap[i]->deadline);
    return copy;
}
