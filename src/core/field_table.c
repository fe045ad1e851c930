/* field_table: the full encoding of hashes, a hashtable of field/value pairs.
 *
 * A field_table is a hashtable whose nodes are pair_node; no wrapper struct
 * is allocated, so a big hash costs the table plus one block per pair.
 *
 * Each pair is a single allocation: the chain link, then the field's length
 * as a varint, the field, the value's length as a varint, the value. Small
 * lengths take one byte, so a pair of two 8-byte strings fits a 32-byte
 * block (Redis spends a 24-byte dict entry and two string headers). The
 * value comes last so that replacing it never moves the field: the block is
 * resized in place (or moved, and the table told with hashtable_replace). */
#include "rivet/field_table.h"

#include <string.h>

#include "rivet/hash.h"
#include "rivet/memory.h"

typedef struct pair_node {
    hashtable_node link; /* first: a hashtable_node pointer is a pair_node pointer */
    unsigned char bytes[];
} pair_node;

/* ---------- varint lengths (7 bits a byte, low bits first) ---------- */

static size_t varint_size(size_t value)
{
    size_t size = 1;
    while (value >= 0x80) {
        value >>= 7;
        size++;
    }
    return size;
}

static size_t varint_write(unsigned char *out, size_t value)
{
    size_t i = 0;
    while (value >= 0x80) {
        out[i++] = (unsigned char)(value | 0x80);
        value >>= 7;
    }
    out[i++] = (unsigned char)value;
    return i;
}

static size_t varint_read(const unsigned char *in, size_t *value)
{
    size_t result = 0, i = 0;
    unsigned shift = 0;
    do {
        result |= (size_t)(in[i] & 0x7f) << shift;
        shift += 7;
    } while (in[i++] & 0x80);
    *value = result;
    return i;
}

/* ---------- pair nodes ---------- */

static const unsigned char *node_field(const pair_node *node, size_t *len)
{
    size_t header = varint_read(node->bytes, len);
    return node->bytes + header;
}

static void node_decode(const pair_node *node, field_pair *pair)
{
    const unsigned char *field = node_field(node, &pair->field_len);
    const unsigned char *value_header = field + pair->field_len;
    size_t header = varint_read(value_header, &pair->value_len);
    pair->field = (const char *)field;
    pair->value = (const char *)value_header + header;
}

/* Offset of the value's length varint inside bytes[]. */
static size_t node_value_offset(const pair_node *node)
{
    size_t field_len;
    size_t header = varint_read(node->bytes, &field_len);
    return header + field_len;
}

static size_t node_write_value(pair_node *node, size_t offset, const char *value, size_t value_len)
{
    offset += varint_write(node->bytes + offset, value_len);
    if (value_len)
        memcpy(node->bytes + offset, value, value_len);
    return offset + value_len;
}

static pair_node *node_create(const char *field, size_t field_len, const char *value,
                              size_t value_len)
{
    size_t size =
        sizeof(pair_node) + varint_size(field_len) + field_len + varint_size(value_len) + value_len;
    pair_node *node = mem_alloc(size);
    node->link.next = NULL;
    size_t offset = varint_write(node->bytes, field_len);
    if (field_len)
        memcpy(node->bytes + offset, field, field_len);
    node_write_value(node, offset + field_len, value, value_len);
    return node;
}

static uint64_t pair_hash_node(const hashtable_node *link)
{
    size_t len;
    const unsigned char *field = node_field((const pair_node *)link, &len);
    return hash_bytes(field, len);
}

static int pair_has_key(const hashtable_node *link, const void *key, size_t key_len)
{
    size_t len;
    const unsigned char *field = node_field((const pair_node *)link, &len);
    return len == key_len && memcmp(field, key, len) == 0;
}

static void pair_free(hashtable_node *link)
{
    mem_free(link);
}

static const hashtable_type pair_type = {pair_hash_node, pair_has_key};

static hashtable *table_of(const field_table *table)
{
    return (hashtable *)table;
}

/* ---------- the table ---------- */

field_table *field_table_create(void)
{
    return (field_table *)hashtable_create(&pair_type);
}

void field_table_free(field_table *table)
{
    if (table)
        hashtable_destroy(table_of(table), pair_free);
}

size_t field_table_size(const field_table *table)
{
    return hashtable_size(table_of(table));
}

field_table *field_table_duplicate(const field_table *table)
{
    field_table *copy = field_table_create();
    field_table_iterator it;
    field_pair pair;
    /* Iterating pauses rehash inside the source, which is bookkeeping, not a
     * change of its contents: hence the cast. */
    field_table_iterator_init(&it, (field_table *)table);
    while (field_table_iterator_next(&it, &pair))
        field_table_add(copy, pair.field, pair.field_len, pair.value, pair.value_len);
    field_table_iterator_release(&it);
    return copy;
}

size_t field_table_memory(const field_table *table, size_t samples)
{
    size_t total = hashtable_memory(table_of(table)), seen = 0, node_bytes = 0;
    size_t size = hashtable_size(table_of(table));
    hashtable_iterator it;
    hashtable_node *node;
    hashtable_iterator_init(&it, table_of(table));
    while ((samples == 0 || seen < samples) && (node = hashtable_iterator_next(&it)) != NULL) {
        node_bytes += mem_block_size(node);
        seen++;
    }
    hashtable_iterator_release(&it);
    /* Extrapolate from the pairs seen, as MEMORY USAGE ... SAMPLES does. */
    return total + (seen ? node_bytes * size / seen : 0);
}

int field_table_get(field_table *table, const char *field, size_t field_len, field_pair *pair)
{
    hashtable_node *node =
        hashtable_find(table_of(table), hash_bytes(field, field_len), field, field_len);
    if (node == NULL)
        return 0;
    node_decode((pair_node *)node, pair);
    return 1;
}

void field_table_add(field_table *table, const char *field, size_t field_len, const char *value,
                     size_t value_len)
{
    pair_node *node = node_create(field, field_len, value, value_len);
    hashtable_insert(table_of(table), hash_bytes(field, field_len), &node->link);
}

int field_table_set(field_table *table, const char *field, size_t field_len, const char *value,
                    size_t value_len)
{
    uint64_t hash = hash_bytes(field, field_len);
    pair_node *node = (pair_node *)hashtable_find(table_of(table), hash, field, field_len);
    if (node == NULL) {
        node = node_create(field, field_len, value, value_len);
        hashtable_insert(table_of(table), hash, &node->link);
        return 1;
    }
    /* The value is last, so only the block's tail changes. A realloc within
     * the same size class stays in place; otherwise the table learns the
     * new address (the link was copied along with the rest). */
    size_t offset = node_value_offset(node);
    size_t size = sizeof(pair_node) + offset + varint_size(value_len) + value_len;
    pair_node *resized = mem_realloc(node, size);
    if (resized != node)
        hashtable_replace(table_of(table), hash, &node->link, &resized->link);
    node_write_value(resized, offset, value, value_len);
    return 0;
}

int field_table_delete(field_table *table, const char *field, size_t field_len)
{
    hashtable_node *node =
        hashtable_remove(table_of(table), hash_bytes(field, field_len), field, field_len);
    if (node == NULL)
        return 0;
    mem_free(node);
    return 1;
}

int field_table_random(field_table *table, uint64_t random, field_pair *pair)
{
    hashtable_node *node = hashtable_random(table_of(table), random);
    if (node == NULL)
        return 0;
    node_decode((pair_node *)node, pair);
    return 1;
}

/* ---------- SCAN and iteration ---------- */

typedef struct scan_context {
    field_visit_fn visit;
    void *ctx;
} scan_context;

static void scan_visit_node(void *ctx, hashtable_node *node)
{
    scan_context *scan = ctx;
    field_pair pair;
    node_decode((pair_node *)node, &pair);
    scan->visit(scan->ctx, &pair);
}

uint64_t field_table_scan(field_table *table, uint64_t cursor, field_visit_fn visit, void *ctx)
{
    scan_context scan = {visit, ctx};
    return hashtable_scan(table_of(table), cursor, scan_visit_node, &scan);
}

void field_table_iterator_init(field_table_iterator *it, field_table *table)
{
    hashtable_iterator_init(&it->inner, table_of(table));
}

int field_table_iterator_next(field_table_iterator *it, field_pair *pair)
{
    hashtable_node *node = hashtable_iterator_next(&it->inner);
    if (node == NULL)
        return 0;
    node_decode((pair_node *)node, pair);
    return 1;
}

void field_table_iterator_release(field_table_iterator *it)
{
    hashtable_iterator_release(&it->inner);
}
