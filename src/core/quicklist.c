/* quicklist: a doubly linked chain of listpack nodes.
 *
 * A plain linked list costs two pointers and an allocation per element; one
 * big listpack makes every insertion copy the whole list. Bounding each
 * listpack (a "node") keeps both costs small: an end push or pop touches one
 * node of at most a few KB, and memory stays close to the packed size.
 *
 * Nodes never stay empty: removing a node's last entry unlinks it. Splitting
 * happens only when an insertion lands in the middle of a full node. */
#include <string.h>

#include "rivet/memory.h"
#include "rivet/quicklist.h"

/* A fill of -n caps a node's listpack at 4 KB << (n - 1). */
#define FILL_SMALLEST   -5
#define FILL_LARGEST    (1 << 15)
#define NODE_BYTES_BASE 4096
/* With a count-based fill, a node still stops growing past this many bytes,
 * so a list of big entries does not build huge listpacks. */
#define NODE_BYTES_SAFETY 8192
/* The most a listpack entry can add beyond its payload: an encoding header
 * and a back-length, up to 5 bytes each, plus slack for integer forms. */
#define ENTRY_OVERHEAD 11

quicklist *quicklist_create(int64_t fill)
{
    quicklist *ql = mem_calloc(sizeof(*ql));
    if (fill > FILL_LARGEST)
        fill = FILL_LARGEST;
    else if (fill < FILL_SMALLEST)
        fill = FILL_SMALLEST;
    ql->fill = (int32_t)fill;
    return ql;
}

/* ---------- nodes ---------- */

static quicklist_node *node_create(void)
{
    quicklist_node *node = mem_alloc(sizeof(*node));
    node->prev = node->next = NULL;
    node->entries = listpack_create();
    node->count = 0;
    return node;
}

static void node_free(quicklist_node *node)
{
    listpack_free(node->entries);
    mem_free(node);
}

/* Links node after `after`, or at the head when after is NULL. */
static void node_link_after(quicklist *ql, quicklist_node *after, quicklist_node *node)
{
    node->prev = after;
    node->next = after ? after->next : ql->head;
    if (node->next)
        node->next->prev = node;
    else
        ql->tail = node;
    if (after)
        after->next = node;
    else
        ql->head = node;
    ql->node_count++;
}

static void node_link_before(quicklist *ql, quicklist_node *before, quicklist_node *node)
{
    node_link_after(ql, before ? before->prev : ql->tail, node);
}

static void node_unlink_free(quicklist *ql, quicklist_node *node)
{
    if (node->prev)
        node->prev->next = node->next;
    else
        ql->head = node->next;
    if (node->next)
        node->next->prev = node->prev;
    else
        ql->tail = node->prev;
    ql->node_count--;
    node_free(node);
}

/* Whether node may take one more entry of len bytes under the list's fill. */
static int node_allows(const quicklist *ql, const quicklist_node *node, size_t len)
{
    if (!node)
        return 0;
    size_t bytes = listpack_bytes(node->entries) + len + ENTRY_OVERHEAD;
    if (ql->fill < 0)
        return bytes <= ((size_t)NODE_BYTES_BASE << (-ql->fill - 1));
    return bytes <= NODE_BYTES_SAFETY && node->count < (uint32_t)ql->fill;
}

/* Appends an entry read from another listpack (integers stay integers). */
static listpack *append_entry(listpack *lp, const listpack_entry *entry)
{
    if (!entry->data)
        return listpack_append_integer(lp, entry->integer);
    return listpack_append(lp, entry->data, entry->len);
}

/* Moves the entries of node from pos to its end into a new node linked right
 * after it. */
static void node_split(quicklist *ql, quicklist_node *node, size_t pos)
{
    quicklist_node *tail_part = node_create();
    listpack_entry entry;
    for (size_t p = pos; p != LISTPACK_NONE; p = listpack_next(node->entries, p)) {
        listpack_get(node->entries, p, &entry);
        tail_part->entries = append_entry(tail_part->entries, &entry);
        tail_part->count++;
    }
    node->entries = listpack_delete(node->entries, pos, tail_part->count, NULL);
    node->count -= tail_part->count;
    node_link_after(ql, node, tail_part);
}

/* ---------- whole list ---------- */

void quicklist_free(quicklist *ql)
{
    if (!ql)
        return;
    quicklist_node *node = ql->head;
    while (node) {
        quicklist_node *next = node->next;
        node_free(node);
        node = next;
    }
    mem_free(ql);
}

quicklist *quicklist_duplicate(const quicklist *ql)
{
    quicklist *copy = quicklist_create(ql->fill);
    for (const quicklist_node *node = ql->head; node; node = node->next) {
        quicklist_node *twin = mem_alloc(sizeof(*twin));
        twin->entries = listpack_duplicate(node->entries);
        twin->count = node->count;
        node_link_after(copy, copy->tail, twin);
    }
    copy->count = ql->count;
    return copy;
}

size_t quicklist_memory(const quicklist *ql)
{
    /* Block sizes, not struct sizes: what the allocator really holds. */
    size_t bytes = mem_block_size(ql);
    for (const quicklist_node *node = ql->head; node; node = node->next)
        bytes += mem_block_size(node) + mem_block_size(node->entries);
    return bytes;
}

/* ---------- ends ---------- */

void quicklist_push(quicklist *ql, enum quicklist_end where, const char *data, size_t len)
{
    quicklist_node *node = where == QUICKLIST_HEAD ? ql->head : ql->tail;
    if (!node_allows(ql, node, len)) {
        node = node_create();
        if (where == QUICKLIST_HEAD)
            node_link_after(ql, NULL, node);
        else
            node_link_after(ql, ql->tail, node);
    }
    if (where == QUICKLIST_HEAD)
        node->entries = listpack_prepend(node->entries, data, len);
    else
        node->entries = listpack_append(node->entries, data, len);
    node->count++;
    ql->count++;
}

int quicklist_peek(const quicklist *ql, enum quicklist_end where, listpack_entry *entry)
{
    const quicklist_node *node = where == QUICKLIST_HEAD ? ql->head : ql->tail;
    if (!node)
        return 0;
    size_t pos =
        where == QUICKLIST_HEAD ? listpack_first(node->entries) : listpack_last(node->entries);
    listpack_get(node->entries, pos, entry);
    return 1;
}

void quicklist_pop(quicklist *ql, enum quicklist_end where)
{
    quicklist_node *node = where == QUICKLIST_HEAD ? ql->head : ql->tail;
    if (!node)
        return;
    if (node->count == 1) {
        node_unlink_free(ql, node);
    } else {
        size_t pos =
            where == QUICKLIST_HEAD ? listpack_first(node->entries) : listpack_last(node->entries);
        node->entries = listpack_delete(node->entries, pos, 1, NULL);
        node->count--;
    }
    ql->count--;
}

/* ---------- positions ---------- */

/* The node holding entry `index` (0 <= index < count) and the index within
 * it, walking from whichever end is nearer. */
static quicklist_node *find_node(const quicklist *ql, uint64_t index, uint64_t *local)
{
    quicklist_node *node;
    if (index < ql->count / 2) {
        node = ql->head;
        while (index >= node->count) {
            index -= node->count;
            node = node->next;
        }
        *local = index;
    } else {
        uint64_t from_tail = ql->count - 1 - index;
        node = ql->tail;
        while (from_tail >= node->count) {
            from_tail -= node->count;
            node = node->prev;
        }
        *local = node->count - 1 - from_tail;
    }
    return node;
}

/* Turns a possibly negative index into a cursor; 0 when out of range. */
static int locate(const quicklist *ql, int64_t index, quicklist_node **node_out, size_t *pos_out)
{
    if (index < 0)
        index += (int64_t)ql->count;
    if (index < 0 || (uint64_t)index >= ql->count)
        return 0;
    uint64_t local;
    quicklist_node *node = find_node(ql, (uint64_t)index, &local);
    *node_out = node;
    *pos_out = listpack_seek(node->entries, (int64_t)local);
    return 1;
}

int quicklist_index(const quicklist *ql, int64_t index, listpack_entry *entry)
{
    quicklist_node *node;
    size_t pos;
    if (!locate(ql, index, &node, &pos))
        return 0;
    listpack_get(node->entries, pos, entry);
    return 1;
}

/* Inserts data before or after the entry at pos in node, keeping every node
 * within the fill: a full node passes the entry to a neighbour with room, or
 * gets a new neighbour, or is split at the insertion point. */
static void insert_at(quicklist *ql, quicklist_node *node, size_t pos, int after, const char *data,
                      size_t len)
{
    size_t following = listpack_next(node->entries, pos);
    int at_tail = after && following == LISTPACK_NONE;
    int at_head = !after && pos == listpack_first(node->entries);
    ql->count++;

    if (node_allows(ql, node, len)) {
        node->entries = listpack_insert(node->entries, after ? following : pos, data, len, NULL);
        node->count++;
        return;
    }
    if (at_head) {
        quicklist_node *prev = node->prev;
        if (!node_allows(ql, prev, len)) {
            prev = node_create();
            node_link_before(ql, node, prev);
        }
        prev->entries = listpack_append(prev->entries, data, len);
        prev->count++;
        return;
    }
    if (!at_tail)
        node_split(ql, node, after ? following : pos);
    /* The insertion point is now the tail of node. */
    if (node_allows(ql, node, len)) {
        node->entries = listpack_append(node->entries, data, len);
        node->count++;
        return;
    }
    quicklist_node *next = node->next;
    if (!node_allows(ql, next, len)) {
        next = node_create();
        node_link_after(ql, node, next);
    }
    next->entries = listpack_prepend(next->entries, data, len);
    next->count++;
}

int quicklist_replace(quicklist *ql, int64_t index, const char *data, size_t len)
{
    quicklist_node *node;
    size_t pos;
    if (!locate(ql, index, &node, &pos))
        return 0;
    /* A node of one entry may hold anything; otherwise a replacement that
     * could overflow the node goes through deletion and insertion, which
     * know how to spill into neighbours. */
    if (node->count == 1 || node_allows(ql, node, len)) {
        node->entries = listpack_replace(node->entries, pos, data, len);
        return 1;
    }
    size_t next;
    node->entries = listpack_delete(node->entries, pos, 1, &next);
    node->count--;
    ql->count--;
    if (next != LISTPACK_NONE)
        insert_at(ql, node, next, 0, data, len);
    else
        insert_at(ql, node, listpack_last(node->entries), 1, data, len);
    return 1;
}

void quicklist_delete_range(quicklist *ql, uint64_t start, uint64_t count)
{
    if (start >= ql->count || count == 0)
        return;
    if (count > ql->count - start)
        count = ql->count - start;
    uint64_t local;
    quicklist_node *node = find_node(ql, start, &local);
    while (count > 0) {
        quicklist_node *next = node->next;
        uint64_t n = node->count - local;
        if (n > count)
            n = count;
        if (n == node->count) {
            node_unlink_free(ql, node);
        } else {
            node->entries = listpack_delete_range(node->entries, (int64_t)local, (size_t)n);
            node->count -= (uint32_t)n;
        }
        ql->count -= n;
        count -= n;
        local = 0;
        node = next;
    }
}

/* ---------- iteration ---------- */

void quicklist_iterator_start(quicklist_iterator *it, quicklist *ql, int64_t index, int forward)
{
    it->list = ql;
    it->forward = forward;
    it->current_node = NULL;
    it->current_position = LISTPACK_NONE;
    if (!locate(ql, index, &it->node, &it->position)) {
        it->node = NULL;
        it->position = LISTPACK_NONE;
    }
}

int quicklist_iterator_next(quicklist_iterator *it, listpack_entry *entry)
{
    quicklist_node *node = it->node;
    if (!node)
        return 0;
    listpack_get(node->entries, it->position, entry);
    it->current_node = node;
    it->current_position = it->position;
    size_t pos = it->forward ? listpack_next(node->entries, it->position)
                             : listpack_prev(node->entries, it->position);
    if (pos == LISTPACK_NONE) {
        node = it->forward ? node->next : node->prev;
        if (node)
            pos = it->forward ? listpack_first(node->entries) : listpack_last(node->entries);
    }
    it->node = node;
    it->position = pos;
    return 1;
}

void quicklist_iterator_delete(quicklist_iterator *it)
{
    quicklist *ql = it->list;
    quicklist_node *node = it->current_node;
    if (!node)
        return;
    size_t next;
    node->entries = listpack_delete(node->entries, it->current_position, 1, &next);
    node->count--;
    ql->count--;
    /* Going forward within the same node, the upcoming entry slid back
     * into the deleted one's place; going backward it sits before it and
     * kept its position. */
    if (it->node == node && it->forward)
        it->position = next;
    if (node->count == 0)
        node_unlink_free(ql, node);
    it->current_node = NULL;
    it->current_position = LISTPACK_NONE;
}

void quicklist_iterator_insert(quicklist_iterator *it, int after, const char *data, size_t len)
{
    if (!it->current_node)
        return;
    insert_at(it->list, it->current_node, it->current_position, after, data, len);
    it->node = NULL;
    it->current_node = NULL;
}
