/* WATCH bookkeeping: a table from (database, key) to the clients watching
 * it, and per client a list of what it watches, so both "who watches this
 * key" and "unwatch everything of this client" are cheap. */
#include "rivet/watch.h"

#include <string.h>

#include "rivet/hash.h"
#include "rivet/hashtable.h"
#include "rivet/memory.h"

typedef struct watched_entry {
    hashtable_node link;
    database *db;
    client **watchers;
    size_t watcher_count, watcher_cap;
    size_t name_len; /* database id (4 bytes) + key */
    char name[];
} watched_entry;

/* One per (client, key): the client's list of what it watches. */
typedef struct watched_key {
    struct watched_key *next;
    watched_entry *entry;
} watched_key;

static hashtable *table;

static uint64_t entry_hash(const hashtable_node *node)
{
    const watched_entry *e = (const watched_entry *)node;
    return hash_bytes(e->name, e->name_len);
}

static int entry_has_key(const hashtable_node *node, const void *key, size_t len)
{
    const watched_entry *e = (const watched_entry *)node;
    return e->name_len == len && memcmp(e->name, key, len) == 0;
}

static const hashtable_type watched_table_type = {entry_hash, entry_has_key};

void watch_init(void)
{
    table = hashtable_create(&watched_table_type);
}

static void free_entry(hashtable_node *node)
{
    watched_entry *e = (watched_entry *)node;
    mem_free(e->watchers);
    mem_free(e);
}

void watch_release(void)
{
    if (table)
        hashtable_destroy(table, free_entry);
    table = NULL;
}

static watched_entry *find(database *db, const char *key, size_t len, int create)
{
    char small[128];
    size_t name_len = len + 4;
    char *name = name_len <= sizeof(small) ? small : mem_alloc(name_len);
    uint32_t id = (uint32_t)database_id(db);
    memcpy(name, &id, 4);
    memcpy(name + 4, key, len);
    uint64_t hash = hash_bytes(name, name_len);
    watched_entry *e = (watched_entry *)hashtable_find(table, hash, name, name_len);
    if (e == NULL && create) {
        e = mem_calloc(sizeof(*e) + name_len);
        e->db = db;
        e->name_len = name_len;
        memcpy(e->name, name, name_len);
        hashtable_insert(table, hash, &e->link);
    }
    if (name != small)
        mem_free(name);
    return e;
}

void watch_key(client *c, database *db, const char *key, size_t len)
{
    watched_entry *e = find(db, key, len, 1);
    for (watched_key *w = c->watching; w; w = w->next)
        if (w->entry == e)
            return;
    if (e->watcher_count == e->watcher_cap) {
        e->watcher_cap = e->watcher_cap ? e->watcher_cap * 2 : 2;
        e->watchers = mem_realloc(e->watchers, sizeof(client *) * e->watcher_cap);
    }
    e->watchers[e->watcher_count++] = c;
    watched_key *w = mem_alloc(sizeof(*w));
    w->entry = e;
    w->next = c->watching;
    c->watching = w;
}

void watch_unwatch_all(client *c)
{
    watched_key *w = c->watching;
    while (w) {
        watched_key *next = w->next;
        watched_entry *e = w->entry;
        for (size_t i = 0; i < e->watcher_count; i++) {
            if (e->watchers[i] == c) {
                e->watchers[i] = e->watchers[--e->watcher_count];
                break;
            }
        }
        if (e->watcher_count == 0) {
            hashtable_remove(table, hash_bytes(e->name, e->name_len), e->name, e->name_len);
            free_entry(&e->link);
        }
        mem_free(w);
        w = next;
    }
    c->watching = NULL;
}

void watch_key_touched(database *db, const char *key, size_t len)
{
    if (table == NULL || hashtable_size(table) == 0)
        return;
    watched_entry *e = find(db, key, len, 0);
    if (e == NULL)
        return;
    for (size_t i = 0; i < e->watcher_count; i++)
        e->watchers[i]->flags |= CLIENT_DIRTY_CAS;
}

void watch_database_touched(database *db)
{
    if (table == NULL || hashtable_size(table) == 0)
        return;
    hashtable_iterator it;
    hashtable_iterator_init(&it, table);
    hashtable_node *node;
    while ((node = hashtable_iterator_next(&it)) != NULL) {
        watched_entry *e = (watched_entry *)node;
        if (e->db != db || keyspace_lookup_raw(db, e->name + 4, e->name_len - 4) == NULL)
            continue;
        for (size_t i = 0; i < e->watcher_count; i++)
            e->watchers[i]->flags |= CLIENT_DIRTY_CAS;
    }
    hashtable_iterator_release(&it);
}
