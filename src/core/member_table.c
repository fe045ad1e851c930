/* A set of byte strings: the hashtable with one allocation per member.
 *
 * The member's chain link, length and bytes share a block, so a member costs
 * one allocation of its length plus 12 bytes, about half of what a separate
 * entry and string would. The hash is not stored: it is recomputed only when
 * the table moves a member during a resize, which touches each member once
 * per doubling, and the eight bytes matter more on a large set. */
#include "rivet/member_table.h"

#include <string.h>

#include "rivet/hash.h"
#include "rivet/memory.h"

struct member {
    hashtable_node node; /* first: the table links members through it */
    uint32_t len;
    char data[];
};

struct member_table {
    hashtable *table;
};

static uint64_t hash_member(const hashtable_node *node)
{
    const member *m = (const member *)node;
    return hash_bytes(m->data, m->len);
}

static int member_has_key(const hashtable_node *node, const void *key, size_t keylen)
{
    const member *m = (const member *)node;
    return m->len == keylen && memcmp(m->data, key, keylen) == 0;
}

static const hashtable_type member_type = {hash_member, member_has_key};

static void free_member(hashtable_node *node)
{
    mem_free(node);
}

member_table *member_table_create(void)
{
    member_table *table = mem_alloc(sizeof(*table));
    table->table = hashtable_create(&member_type);
    return table;
}

void member_table_free(member_table *table)
{
    if (table == NULL)
        return;
    hashtable_destroy(table->table, free_member);
    mem_free(table);
}

member_table *member_table_duplicate(member_table *table)
{
    member_table *copy = member_table_create();
    member_table_iterator it;
    member_table_iterator_init(&it, table);
    member *m;
    while ((m = member_table_iterator_next(&it)) != NULL)
        member_table_add(copy, m->data, m->len);
    member_table_iterator_release(&it);
    return copy;
}

size_t member_table_size(const member_table *table)
{
    return hashtable_size(table->table);
}

/* Walks every member: meant for MEMORY USAGE-style reports, not hot paths. */
size_t member_table_memory(member_table *table, size_t samples)
{
    size_t bytes =
        mem_block_size(table) + mem_block_size(table->table) + hashtable_memory(table->table);
    size_t seen = 0, member_bytes = 0, size = hashtable_size(table->table);
    member_table_iterator it;
    member_table_iterator_init(&it, table);
    member *m;
    while ((samples == 0 || seen < samples) && (m = member_table_iterator_next(&it)) != NULL) {
        member_bytes += mem_block_size(m);
        seen++;
    }
    member_table_iterator_release(&it);
    return bytes + (seen ? member_bytes * size / seen : 0);
}

int member_table_add(member_table *table, const char *data, size_t len)
{
    uint64_t hash = hash_bytes(data, len);
    if (hashtable_find(table->table, hash, data, len) != NULL)
        return 0;
    member *m = mem_alloc(sizeof(member) + len);
    m->node.next = NULL;
    m->len = (uint32_t)len;
    memcpy(m->data, data, len);
    hashtable_insert(table->table, hash, &m->node);
    return 1;
}

member *member_table_find(member_table *table, const char *data, size_t len)
{
    return (member *)hashtable_find(table->table, hash_bytes(data, len), data, len);
}

int member_table_contains(member_table *table, const char *data, size_t len)
{
    return member_table_find(table, data, len) != NULL;
}

int member_table_remove(member_table *table, const char *data, size_t len)
{
    hashtable_node *node = hashtable_remove(table->table, hash_bytes(data, len), data, len);
    if (node == NULL)
        return 0;
    mem_free(node);
    return 1;
}

void member_table_delete(member_table *table, member *m)
{
    member_table_remove(table, m->data, m->len);
}

member *member_table_random(member_table *table, uint64_t random)
{
    return (member *)hashtable_random(table->table, random);
}

const char *member_bytes(const member *m, size_t *len)
{
    *len = m->len;
    return m->data;
}

void member_table_iterator_init(member_table_iterator *it, member_table *table)
{
    hashtable_iterator_init(&it->inner, table->table);
}

member *member_table_iterator_next(member_table_iterator *it)
{
    return (member *)hashtable_iterator_next(&it->inner);
}

void member_table_iterator_release(member_table_iterator *it)
{
    hashtable_iterator_release(&it->inner);
}

typedef struct scan_context {
    member_visit_fn visit;
    void *ctx;
} scan_context;

static void scan_visit(void *ctx, hashtable_node *node)
{
    scan_context *scan = ctx;
    scan->visit(scan->ctx, (const member *)node);
}

uint64_t member_table_scan(member_table *table, uint64_t cursor, member_visit_fn visit, void *ctx)
{
    scan_context scan = {visit, ctx};
    return hashtable_scan(table->table, cursor, scan_visit, &scan);
}
