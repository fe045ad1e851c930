/* stream: entries packed into nodes, nodes kept in a sorted array.
 *
 * An entry inside a node is
 *   flags (1 byte) | ms - node.first.ms (varint) | seq (varint) |
 *   stored item count (varint) | per item: length (varint), bytes |
 *   back length (the size of all before it, a varint written backwards)
 * The back length lets reverse iteration step back without an index. As in
 * Redis, an entry whose field names equal the node's first entry's (the
 * usual case: producers write the same fields every time) is flagged
 * ENTRY_SAME_FIELDS and stores only its values; the names are read from the
 * first entry. Ids within a node are increasing, so a node is found by
 * binary search on its first id and then scanned; nodes are small (Redis's
 * stream-node-max-entries, 100 by default), so the scan is bounded.
 *
 * The node array keeps a head offset: trimming from the front (the common
 * case: MAXLEN caps) just advances it, and appends compact the array only
 * when the dead prefix is at least as large as the live part. */
#include "rivet/stream.h"

#include <string.h>

#include "rivet/memory.h"

#define ENTRY_DELETED     1
#define ENTRY_SAME_FIELDS 2

struct stream_node {
    stream_id first; /* first stored entry (may be deleted) */
    stream_id last;  /* last stored entry (may be deleted) */
    uint32_t count;  /* stored entries, deleted ones included */
    uint32_t live;
    size_t used, cap;
    unsigned char data[];
};

struct stream {
    stream_node **nodes;
    size_t head, count, cap; /* live nodes are nodes[head .. head+count) */
    uint64_t length;
    stream_id last_id;
    stream_id max_deleted_id;
    uint64_t entries_added;
    size_t node_max_entries, node_max_bytes;
    stream_group **groups; /* by name */
    size_t group_count, group_cap;
};

static void group_free(stream_group *g);
static stream_group *group_copy(const stream_group *g);

int stream_id_compare(stream_id a, stream_id b)
{
    if (a.ms != b.ms)
        return a.ms < b.ms ? -1 : 1;
    if (a.seq != b.seq)
        return a.seq < b.seq ? -1 : 1;
    return 0;
}

/* ---------- varints (7 bits a byte, low groups first) ---------- */

static size_t varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static unsigned char *varint_write(unsigned char *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *p++ = (unsigned char)v;
    return p;
}

static const unsigned char *varint_read(const unsigned char *p, uint64_t *v)
{
    uint64_t result = 0;
    int shift = 0;
    while (*p & 0x80) {
        result |= (uint64_t)(*p++ & 0x7f) << shift;
        shift += 7;
    }
    result |= (uint64_t)*p++ << shift;
    *v = result;
    return p;
}

/* The back length: the same 7-bit groups, most significant first, with the
 * high bit set on all but the first byte written, so a reader walking
 * backwards from the end knows when to stop. */
static unsigned char *backlen_write(unsigned char *p, uint64_t v)
{
    size_t n = varint_size(v);
    for (size_t i = 0; i < n; i++) {
        unsigned char group = (unsigned char)((v >> (7 * (n - 1 - i))) & 0x7f);
        *p++ = i == 0 ? group : (unsigned char)(group | 0x80);
    }
    return p;
}

/* Reads the back length ending at end; *width gets its size in bytes. */
static uint64_t backlen_read(const unsigned char *end, size_t *width)
{
    uint64_t v = 0;
    size_t n = 0;
    for (;;) {
        unsigned char b = *--end;
        v |= (uint64_t)(b & 0x7f) << (7 * n);
        n++;
        if (!(b & 0x80))
            break;
    }
    *width = n;
    return v;
}

/* Reads an entry's header at p: its id and stored item count; returns the
 * first item's position. */
static const unsigned char *entry_header(const stream_node *node, const unsigned char *p,
                                         int *flags, stream_id *id, uint64_t *item_count)
{
    uint64_t ms_delta;
    *flags = *p++;
    p = varint_read(p, &ms_delta);
    p = varint_read(p, &id->seq);
    id->ms = node->first.ms + ms_delta;
    return varint_read(p, item_count);
}

static size_t entry_size_before(const stream_node *node, size_t end)
{
    size_t width;
    uint64_t size = backlen_read(node->data + end, &width);
    return (size_t)size + width;
}

static size_t entry_size_at(const stream_node *node, size_t offset)
{
    int flags;
    stream_id id;
    uint64_t items;
    const unsigned char *p = entry_header(node, node->data + offset, &flags, &id, &items);
    for (uint64_t i = 0; i < items; i++) {
        uint64_t len;
        p = varint_read(p, &len);
        p += len;
    }
    size_t size = (size_t)(p - (node->data + offset));
    return size + varint_size(size);
}

/* ---------- the node array ---------- */

stream *stream_create(size_t node_max_entries, size_t node_max_bytes)
{
    stream *s = mem_calloc(sizeof(*s));
    s->node_max_entries = node_max_entries;
    s->node_max_bytes = node_max_bytes;
    return s;
}

void stream_free(stream *s)
{
    if (s == NULL)
        return;
    for (size_t i = s->head; i < s->head + s->count; i++)
        mem_free(s->nodes[i]);
    mem_free(s->nodes);
    for (size_t i = 0; i < s->group_count; i++)
        group_free(s->groups[i]);
    mem_free(s->groups);
    mem_free(s);
}

stream *stream_copy(const stream *s)
{
    stream *copy = mem_alloc(sizeof(*copy));
    *copy = *s;
    copy->head = 0;
    copy->cap = s->count;
    copy->nodes = s->count ? mem_alloc(sizeof(stream_node *) * s->count) : NULL;
    for (size_t i = 0; i < s->count; i++) {
        const stream_node *node = s->nodes[s->head + i];
        copy->nodes[i] = mem_dup(node, sizeof(*node) + node->cap);
    }
    copy->group_cap = s->group_count;
    copy->groups = s->group_count ? mem_alloc(sizeof(stream_group *) * s->group_count) : NULL;
    for (size_t i = 0; i < s->group_count; i++)
        copy->groups[i] = group_copy(s->groups[i]);
    return copy;
}

uint64_t stream_length(const stream *s)
{
    return s->length;
}

stream_id stream_last_id(const stream *s)
{
    return s->last_id;
}

void stream_set_last_id(stream *s, stream_id id)
{
    s->last_id = id;
}

uint64_t stream_entries_added(const stream *s)
{
    return s->entries_added;
}

stream_id stream_max_deleted_id(const stream *s)
{
    return s->max_deleted_id;
}

void stream_set_entries_added(stream *s, uint64_t entries_added)
{
    s->entries_added = entries_added;
}

void stream_set_max_deleted_id(stream *s, stream_id id)
{
    s->max_deleted_id = id;
}

size_t stream_node_count(const stream *s)
{
    return s->count;
}

stream_id stream_first_id(const stream *s)
{
    stream_iterator it;
    stream_id id = {0, 0}, max = {UINT64_MAX, UINT64_MAX};
    size_t items;
    stream_iterator_start(&it, s, id, max, 0);
    if (!stream_iterator_next(&it, &id, &items))
        id = (stream_id){0, 0};
    return id;
}

static void nodes_push(stream *s, stream_node *node)
{
    if (s->head + s->count == s->cap) {
        if (s->head > 0 && s->head >= s->count) {
            memmove(s->nodes, s->nodes + s->head, sizeof(stream_node *) * s->count);
            s->head = 0;
        } else {
            s->cap = s->cap ? s->cap * 2 : 4;
            s->nodes = mem_realloc(s->nodes, sizeof(stream_node *) * s->cap);
        }
    }
    s->nodes[s->head + s->count++] = node;
}

/* Removes the node at absolute index i. */
static void nodes_remove(stream *s, size_t i)
{
    mem_free(s->nodes[i]);
    if (i == s->head) {
        s->head++;
    } else {
        memmove(s->nodes + i, s->nodes + i + 1,
                sizeof(stream_node *) * (s->head + s->count - i - 1));
    }
    s->count--;
    if (s->count == 0)
        s->head = 0;
}

/* The absolute index of the last node whose first id <= id, or SIZE_MAX. */
static size_t nodes_find(const stream *s, stream_id id)
{
    size_t low = s->head, high = s->head + s->count; /* answer in [low-1, high) */
    while (low < high) {
        size_t mid = low + (high - low) / 2;
        if (stream_id_compare(s->nodes[mid]->first, id) <= 0)
            low = mid + 1;
        else
            high = mid;
    }
    return low == s->head ? SIZE_MAX : low - 1;
}

/* ---------- append ---------- */

/* Nonzero if the entry's field names are those of node's first entry. */
static int same_fields(const stream_node *node, const char *const *items, const size_t *lens,
                       size_t item_count)
{
    int flags;
    stream_id id;
    uint64_t stored;
    const unsigned char *p = entry_header(node, node->data, &flags, &id, &stored);
    if (stored != item_count)
        return 0;
    for (size_t i = 0; i < item_count; i++) {
        uint64_t len;
        p = varint_read(p, &len);
        if (i % 2 == 0 && (len != lens[i] || (len && memcmp(p, items[i], len) != 0)))
            return 0;
        p += len;
    }
    return 1;
}

/* A node's size once full: what it holds, not what it had room for. */
static void node_shrink(stream *s, size_t index)
{
    stream_node *node = s->nodes[index];
    if (node->cap > node->used) {
        node = mem_realloc(node, sizeof(*node) + node->used);
        node->cap = node->used;
        s->nodes[index] = node;
    }
}

void stream_append(stream *s, stream_id id, const char *const *items, const size_t *lens,
                   size_t item_count)
{
    stream_node *node = s->count ? s->nodes[s->head + s->count - 1] : NULL;
    int flags = 0;
    if (node != NULL && item_count % 2 == 0 && same_fields(node, items, lens, item_count))
        flags = ENTRY_SAME_FIELDS;
    size_t step = flags ? 2 : 1, stored = item_count / step;
    size_t payload = varint_size(stored);
    for (size_t i = step - 1; i < item_count; i += step)
        payload += varint_size(lens[i]) + lens[i];
    size_t head_size = node ? 1 + varint_size(id.ms - node->first.ms) + varint_size(id.seq) : 0;
    if (node != NULL) {
        size_t size = head_size + payload + varint_size(head_size + payload);
        if ((s->node_max_bytes && node->used + size >= s->node_max_bytes) ||
            (s->node_max_entries && node->count >= s->node_max_entries)) {
            node_shrink(s, s->head + s->count - 1);
            node = NULL;
        }
    }
    if (node == NULL) {
        /* A new node: its first entry always carries its field names. */
        flags = 0;
        stored = item_count;
        payload = varint_size(stored);
        for (size_t i = 0; i < item_count; i++)
            payload += varint_size(lens[i]) + lens[i];
        head_size = 1 + 1 + varint_size(id.seq);
        size_t size = head_size + payload + varint_size(head_size + payload);
        size_t cap = size < 128 ? 128 : size;
        node = mem_alloc(sizeof(*node) + cap);
        node->first = id;
        node->count = node->live = 0;
        node->used = 0;
        node->cap = cap;
        nodes_push(s, node);
        step = 1;
    }
    size_t size = head_size + payload + varint_size(head_size + payload);
    if (node->used + size > node->cap) {
        size_t cap = node->cap * 2;
        while (cap < node->used + size)
            cap *= 2;
        node = mem_realloc(node, sizeof(*node) + cap);
        node->cap = cap;
        s->nodes[s->head + s->count - 1] = node;
    }
    unsigned char *p = node->data + node->used;
    *p++ = (unsigned char)flags;
    p = varint_write(p, id.ms - node->first.ms);
    p = varint_write(p, id.seq);
    p = varint_write(p, stored);
    for (size_t i = step - 1; i < item_count; i += step) {
        p = varint_write(p, lens[i]);
        if (lens[i])
            memcpy(p, items[i], lens[i]);
        p += lens[i];
    }
    backlen_write(p, head_size + payload);
    node->used += size;
    node->last = id;
    node->count++;
    node->live++;
    s->length++;
    s->last_id = id;
    s->entries_added++;
}

/* ---------- delete and trim ---------- */

/* Flags the entry at offset deleted; removes the node if it was the last
 * live one (returns 1 then). */
static int node_delete_at(stream *s, size_t index, size_t offset)
{
    stream_node *node = s->nodes[index];
    node->data[offset] |= ENTRY_DELETED;
    node->live--;
    s->length--;
    if (node->live == 0) {
        nodes_remove(s, index);
        return 1;
    }
    return 0;
}

int stream_delete(stream *s, stream_id id)
{
    size_t index = nodes_find(s, id);
    if (index == SIZE_MAX)
        return 0;
    stream_node *node = s->nodes[index];
    if (stream_id_compare(node->last, id) < 0)
        return 0;
    size_t offset = 0;
    while (offset < node->used) {
        int flags;
        stream_id current;
        uint64_t items;
        entry_header(node, node->data + offset, &flags, &current, &items);
        int cmp = stream_id_compare(current, id);
        if (cmp > 0)
            return 0;
        if (cmp == 0) {
            if (flags & ENTRY_DELETED)
                return 0;
            node_delete_at(s, index, offset);
            if (stream_id_compare(id, s->max_deleted_id) > 0)
                s->max_deleted_id = id;
            return 1;
        }
        offset += entry_size_at(node, offset);
    }
    return 0;
}

/* The head-trimming loop shared by MAXLEN and MINID: whole nodes go while
 * they may; with approx that is all, otherwise the first remaining node
 * loses entries one at a time. */
static uint64_t trim(stream *s, int by_maxlen, uint64_t maxlen, stream_id minid, int approx,
                     uint64_t limit)
{
    uint64_t removed = 0;
    while (s->count > 0) {
        if (by_maxlen && s->length <= maxlen)
            break;
        stream_node *node = s->nodes[s->head];
        uint64_t entries = node->live;
        if (limit && removed + entries > limit)
            break;
        int whole =
            by_maxlen ? s->length - entries >= maxlen : stream_id_compare(node->last, minid) < 0;
        if (whole) {
            nodes_remove(s, s->head);
            s->length -= entries;
            removed += entries;
            continue;
        }
        if (approx)
            break;
        size_t offset = 0;
        while (offset < node->used) {
            int flags;
            stream_id id;
            uint64_t items;
            entry_header(node, node->data + offset, &flags, &id, &items);
            if (by_maxlen ? s->length <= maxlen : stream_id_compare(id, minid) >= 0)
                break;
            size_t size = entry_size_at(node, offset);
            if (!(flags & ENTRY_DELETED)) {
                removed++;
                if (node_delete_at(s, s->head, offset))
                    break; /* only deleted entries were left after it */
            }
            offset += size;
        }
        break;
    }
    return removed;
}

uint64_t stream_trim_maxlen(stream *s, uint64_t maxlen, int approx, uint64_t limit)
{
    stream_id none = {0, 0};
    return trim(s, 1, maxlen, none, approx, limit);
}

uint64_t stream_trim_minid(stream *s, stream_id minid, int approx, uint64_t limit)
{
    return trim(s, 0, 0, minid, approx, limit);
}

/* ---------- iteration ---------- */

void stream_iterator_start(stream_iterator *it, const stream *s, stream_id start, stream_id end,
                           int reverse)
{
    it->s = s;
    it->start = start;
    it->end = end;
    it->reverse = reverse;
    it->in_node = 0;
    it->item = NULL;
    if (s->count == 0 || stream_id_compare(start, end) > 0) {
        it->node_index = SIZE_MAX;
        return;
    }
    if (!reverse) {
        size_t index = nodes_find(s, start);
        if (index == SIZE_MAX)
            index = s->head;
        else if (stream_id_compare(s->nodes[index]->last, start) < 0)
            index++;
        it->node_index = index < s->head + s->count ? index : SIZE_MAX;
    } else {
        it->node_index = nodes_find(s, end);
    }
    if (it->node_index != SIZE_MAX) {
        it->in_node = 1;
        it->offset = reverse ? s->nodes[it->node_index]->used : 0;
    }
}

/* Moves to the next node in the iteration's direction; 0 at the end. */
static int iterator_next_node(stream_iterator *it)
{
    const stream *s = it->s;
    if (!it->reverse) {
        if (it->node_index + 1 >= s->head + s->count)
            return 0;
        it->node_index++;
        it->offset = 0;
    } else {
        if (it->node_index == s->head)
            return 0;
        it->node_index--;
        it->offset = s->nodes[it->node_index]->used;
    }
    return 1;
}

int stream_iterator_next(stream_iterator *it, stream_id *id, size_t *item_count)
{
    if (!it->in_node)
        return 0;
    for (;;) {
        const stream_node *node = it->s->nodes[it->node_index];
        size_t offset;
        if (!it->reverse) {
            if (it->offset >= node->used) {
                if (!iterator_next_node(it))
                    break;
                continue;
            }
            offset = it->offset;
            it->offset += entry_size_at(node, offset);
        } else {
            if (it->offset == 0) {
                if (!iterator_next_node(it))
                    break;
                continue;
            }
            it->offset -= entry_size_before(node, it->offset);
            offset = it->offset;
        }
        int flags;
        uint64_t items;
        const unsigned char *p = entry_header(node, node->data + offset, &flags, id, &items);
        if (!it->reverse && stream_id_compare(*id, it->end) > 0)
            break;
        if (it->reverse && stream_id_compare(*id, it->start) < 0)
            break;
        if (flags & ENTRY_DELETED)
            continue;
        if (!it->reverse && stream_id_compare(*id, it->start) < 0)
            continue;
        if (it->reverse && stream_id_compare(*id, it->end) > 0)
            continue;
        it->item = p;
        it->same_fields = (flags & ENTRY_SAME_FIELDS) != 0;
        it->item_index = 0;
        if (it->same_fields) {
            int first_flags;
            stream_id first_id;
            uint64_t first_items;
            it->master = entry_header(node, node->data, &first_flags, &first_id, &first_items);
            items *= 2;
        }
        *item_count = (size_t)items;
        return 1;
    }
    it->in_node = 0;
    return 0;
}

void stream_iterator_item(stream_iterator *it, const char **data, size_t *len)
{
    uint64_t length;
    const unsigned char *p;
    if (it->same_fields && it->item_index++ % 2 == 0) {
        /* The name comes from the node's first entry; skip its value. */
        p = varint_read(it->master, &length);
        *data = (const char *)p;
        *len = (size_t)length;
        p = varint_read(p + length, &length);
        it->master = p + length;
        return;
    }
    p = varint_read(it->item, &length);
    *data = (const char *)p;
    *len = (size_t)length;
    it->item = p + length;
}

/* ---------- consumer groups ---------- */

static int name_compare(const char *a, size_t a_len, const char *b, size_t b_len)
{
    size_t n = a_len < b_len ? a_len : b_len;
    int cmp = n ? memcmp(a, b, n) : 0;
    if (cmp != 0)
        return cmp;
    return a_len < b_len ? -1 : a_len > b_len;
}

/* Generic helpers for the sorted pointer arrays. */
static void array_insert(void ***array, size_t *count, size_t *cap, size_t index, void *item)
{
    if (*count == *cap) {
        *cap = *cap ? *cap * 2 : 4;
        *array = mem_realloc(*array, sizeof(void *) * *cap);
    }
    memmove(*array + index + 1, *array + index, sizeof(void *) * (*count - index));
    (*array)[index] = item;
    (*count)++;
}

static void array_remove(void **array, size_t *count, size_t index)
{
    memmove(array + index, array + index + 1, sizeof(void *) * (*count - index - 1));
    (*count)--;
}

size_t stream_pending_seek(stream_pending *const *pel, size_t count, stream_id id)
{
    size_t low = 0, high = count;
    while (low < high) {
        size_t mid = low + (high - low) / 2;
        if (stream_id_compare(pel[mid]->id, id) < 0)
            low = mid + 1;
        else
            high = mid;
    }
    return low;
}

/* Index of the first group (or consumer) whose name is >= name. */
static size_t group_seek(const stream *s, const char *name, size_t len)
{
    size_t low = 0, high = s->group_count;
    while (low < high) {
        size_t mid = low + (high - low) / 2;
        const stream_group *g = s->groups[mid];
        if (name_compare(g->name, g->name_len, name, len) < 0)
            low = mid + 1;
        else
            high = mid;
    }
    return low;
}

static size_t consumer_seek(const stream_group *g, const char *name, size_t len)
{
    size_t low = 0, high = g->consumer_count;
    while (low < high) {
        size_t mid = low + (high - low) / 2;
        const stream_consumer *c = g->consumers[mid];
        if (name_compare(c->name, c->name_len, name, len) < 0)
            low = mid + 1;
        else
            high = mid;
    }
    return low;
}

size_t stream_group_count(const stream *s)
{
    return s->group_count;
}

stream_group *stream_group_at(const stream *s, size_t index)
{
    return s->groups[index];
}

stream_group *stream_group_find(const stream *s, const char *name, size_t len)
{
    size_t i = group_seek(s, name, len);
    if (i < s->group_count &&
        name_compare(s->groups[i]->name, s->groups[i]->name_len, name, len) == 0)
        return s->groups[i];
    return NULL;
}

stream_group *stream_group_create(stream *s, const char *name, size_t len, stream_id last_id,
                                  int64_t entries_read)
{
    size_t i = group_seek(s, name, len);
    if (i < s->group_count &&
        name_compare(s->groups[i]->name, s->groups[i]->name_len, name, len) == 0)
        return NULL;
    stream_group *g = mem_calloc(sizeof(*g));
    g->name = mem_dup(name, len + 1);
    g->name[len] = '\0';
    g->name_len = len;
    g->last_id = last_id;
    g->entries_read = entries_read;
    array_insert((void ***)&s->groups, &s->group_count, &s->group_cap, i, g);
    return g;
}

static void consumer_free(stream_consumer *c)
{
    mem_free(c->pending);
    mem_free(c->name);
    mem_free(c);
}

static void group_free(stream_group *g)
{
    for (size_t i = 0; i < g->pending_count; i++)
        mem_free(g->pending[i]);
    for (size_t i = 0; i < g->consumer_count; i++)
        consumer_free(g->consumers[i]);
    mem_free(g->pending);
    mem_free(g->consumers);
    mem_free(g->name);
    mem_free(g);
}

static size_t group_memory(const stream_group *g)
{
    size_t bytes = mem_block_size(g) + mem_block_size(g->name) + mem_block_size(g->pending) +
                   mem_block_size(g->consumers);
    for (size_t i = 0; i < g->pending_count; i++)
        bytes += mem_block_size(g->pending[i]);
    for (size_t i = 0; i < g->consumer_count; i++) {
        const stream_consumer *c = g->consumers[i];
        bytes += mem_block_size(c) + mem_block_size(c->name) + mem_block_size(c->pending);
    }
    return bytes;
}

size_t stream_memory(const stream *s)
{
    size_t bytes = mem_block_size(s) + mem_block_size(s->nodes) + mem_block_size(s->groups);
    for (size_t i = 0; i < s->count; i++)
        bytes += mem_block_size(s->nodes[s->head + i]);
    for (size_t i = 0; i < s->group_count; i++)
        bytes += group_memory(s->groups[i]);
    return bytes;
}

static stream_group *group_copy(const stream_group *g)
{
    stream_group *copy = mem_calloc(sizeof(*copy));
    copy->name = mem_dup(g->name, g->name_len + 1);
    copy->name_len = g->name_len;
    copy->last_id = g->last_id;
    copy->entries_read = g->entries_read;
    for (size_t i = 0; i < g->consumer_count; i++) {
        const stream_consumer *c = g->consumers[i];
        stream_consumer *cc = stream_consumer_create(copy, c->name, c->name_len, c->seen_time);
        (void)cc;
    }
    for (size_t i = 0; i < g->pending_count; i++) {
        const stream_pending *p = g->pending[i];
        stream_pending *pc = mem_dup(p, sizeof(*p));
        pc->consumer = stream_consumer_find(copy, p->consumer->name, p->consumer->name_len);
        array_insert((void ***)&copy->pending, &copy->pending_count, &copy->pending_cap,
                     copy->pending_count, pc);
        stream_consumer *owner = pc->consumer;
        array_insert((void ***)&owner->pending, &owner->pending_count, &owner->pending_cap,
                     owner->pending_count, pc);
    }
    return copy;
}

int stream_group_destroy(stream *s, const char *name, size_t len)
{
    size_t i = group_seek(s, name, len);
    if (i >= s->group_count ||
        name_compare(s->groups[i]->name, s->groups[i]->name_len, name, len) != 0)
        return 0;
    group_free(s->groups[i]);
    array_remove((void **)s->groups, &s->group_count, i);
    return 1;
}

stream_consumer *stream_consumer_find(stream_group *g, const char *name, size_t len)
{
    size_t i = consumer_seek(g, name, len);
    if (i < g->consumer_count &&
        name_compare(g->consumers[i]->name, g->consumers[i]->name_len, name, len) == 0)
        return g->consumers[i];
    return NULL;
}

stream_consumer *stream_consumer_create(stream_group *g, const char *name, size_t len,
                                        int64_t now_ms)
{
    size_t i = consumer_seek(g, name, len);
    if (i < g->consumer_count &&
        name_compare(g->consumers[i]->name, g->consumers[i]->name_len, name, len) == 0)
        return NULL;
    stream_consumer *c = mem_calloc(sizeof(*c));
    c->name = mem_dup(name, len + 1);
    c->name[len] = '\0';
    c->name_len = len;
    c->seen_time = now_ms;
    array_insert((void ***)&g->consumers, &g->consumer_count, &g->consumer_cap, i, c);
    return c;
}

/* Takes p out of its consumer's PEL. */
static void consumer_unlink(stream_pending *p)
{
    stream_consumer *c = p->consumer;
    size_t i = stream_pending_seek(c->pending, c->pending_count, p->id);
    array_remove((void **)c->pending, &c->pending_count, i);
}

static void consumer_link(stream_pending *p, stream_consumer *c)
{
    size_t i = stream_pending_seek(c->pending, c->pending_count, p->id);
    array_insert((void ***)&c->pending, &c->pending_count, &c->pending_cap, i, p);
    p->consumer = c;
}

int64_t stream_consumer_delete(stream_group *g, const char *name, size_t len)
{
    size_t i = consumer_seek(g, name, len);
    if (i >= g->consumer_count ||
        name_compare(g->consumers[i]->name, g->consumers[i]->name_len, name, len) != 0)
        return -1;
    stream_consumer *c = g->consumers[i];
    int64_t pending = (int64_t)c->pending_count;
    while (c->pending_count > 0)
        stream_pending_remove(g, c->pending[c->pending_count - 1]);
    consumer_free(c);
    array_remove((void **)g->consumers, &g->consumer_count, i);
    return pending;
}

stream_pending *stream_pending_find(const stream_group *g, stream_id id)
{
    size_t i = stream_pending_seek(g->pending, g->pending_count, id);
    if (i < g->pending_count && stream_id_compare(g->pending[i]->id, id) == 0)
        return g->pending[i];
    return NULL;
}

stream_pending *stream_pending_deliver(stream_group *g, stream_consumer *consumer, stream_id id,
                                       int64_t now_ms)
{
    size_t i = stream_pending_seek(g->pending, g->pending_count, id);
    stream_pending *p;
    if (i < g->pending_count && stream_id_compare(g->pending[i]->id, id) == 0) {
        p = g->pending[i];
        consumer_unlink(p);
    } else {
        p = mem_alloc(sizeof(*p));
        p->id = id;
        array_insert((void ***)&g->pending, &g->pending_count, &g->pending_cap, i, p);
    }
    consumer_link(p, consumer);
    p->delivery_time = now_ms;
    p->delivery_count = 1;
    return p;
}

void stream_pending_set_owner(stream_pending *p, stream_consumer *consumer)
{
    if (p->consumer == consumer)
        return;
    consumer_unlink(p);
    consumer_link(p, consumer);
}

void stream_pending_remove(stream_group *g, stream_pending *p)
{
    consumer_unlink(p);
    size_t i = stream_pending_seek(g->pending, g->pending_count, p->id);
    array_remove((void **)g->pending, &g->pending_count, i);
    mem_free(p);
}

int stream_entry_exists(const stream *s, stream_id id)
{
    stream_iterator it;
    stream_id found;
    size_t items;
    stream_iterator_start(&it, s, id, id, 0);
    return stream_iterator_next(&it, &found, &items);
}

static int id_is_zero(stream_id id)
{
    return id.ms == 0 && id.seq == 0;
}

int stream_range_has_tombstones(const stream *s, stream_id start, stream_id end)
{
    if (s->length == 0 || id_is_zero(s->max_deleted_id))
        return 0;
    if (stream_id_compare(stream_first_id(s), s->max_deleted_id) > 0)
        return 0;
    return stream_id_compare(start, s->max_deleted_id) <= 0 &&
           stream_id_compare(s->max_deleted_id, end) <= 0;
}

int64_t stream_estimate_entries_read(const stream *s, stream_id id)
{
    if (s->entries_added == 0)
        return 0;
    int cmp_last = stream_id_compare(id, s->last_id);
    if (s->length == 0 && cmp_last <= 0)
        return (int64_t)s->entries_added;
    if (cmp_last == 0)
        return (int64_t)s->entries_added;
    if (cmp_last > 0)
        return STREAM_ENTRIES_READ_UNKNOWN;
    stream_id first = stream_first_id(s);
    int cmp_first = stream_id_compare(id, first);
    if (id_is_zero(s->max_deleted_id) || stream_id_compare(s->max_deleted_id, first) < 0) {
        if (cmp_first < 0)
            return (int64_t)(s->entries_added - s->length);
        if (cmp_first == 0)
            return (int64_t)(s->entries_added - s->length + 1);
    }
    return STREAM_ENTRIES_READ_UNKNOWN;
}

void stream_group_advance(const stream *s, stream_group *g, stream_id id)
{
    if (stream_id_compare(id, g->last_id) <= 0)
        return;
    stream_id max = {UINT64_MAX, UINT64_MAX};
    if (g->entries_read != STREAM_ENTRIES_READ_UNKNOWN && !stream_range_has_tombstones(s, id, max))
        g->entries_read++;
    else if (s->entries_added)
        g->entries_read = stream_estimate_entries_read(s, id);
    g->last_id = id;
}
