/* The cache side index. Entries and tags live in two hash tables; each
 * key-tag pair is a membership node linked into its tag's list, so removing a
 * key unlinks it from every tag in O(tags) and a tag whose list empties is
 * freed at once: tag sets cannot accumulate dead members the way a Redis
 * SADD-based tag set does. Leases sit in a timing wheel so a lease on a key
 * nobody fills is reclaimed when it runs out, not kept forever. */
#include "rivet/cache.h"

#include <stddef.h>
#include <string.h>

#include "rivet/hash.h"
#include "rivet/memory.h"

struct cache_tag {
    hashtable_node link;
    cache_membership *head;
    size_t count;
    size_t name_len;
    char name[];
};

struct cache_index {
    hashtable *entries;
    hashtable *tags;
    wheel *leases;
    size_t attached;
    size_t memberships;
};

static uint64_t entry_hash(const hashtable_node *node)
{
    const cache_entry *e = (const cache_entry *)node;
    return hash_bytes(e->key, e->key_len);
}

static int entry_has_key(const hashtable_node *node, const void *key, size_t len)
{
    const cache_entry *e = (const cache_entry *)node;
    return e->key_len == len && memcmp(e->key, key, len) == 0;
}

static uint64_t tag_hash(const hashtable_node *node)
{
    const cache_tag *t = (const cache_tag *)node;
    return hash_bytes(t->name, t->name_len);
}

static int tag_has_key(const hashtable_node *node, const void *key, size_t len)
{
    const cache_tag *t = (const cache_tag *)node;
    return t->name_len == len && memcmp(t->name, key, len) == 0;
}

static const hashtable_type entry_table_type = {entry_hash, entry_has_key};
static const hashtable_type tag_table_type = {tag_hash, tag_has_key};

static cache_entry *entry_of_timer(wheel_timer *timer)
{
    return (cache_entry *)((char *)timer - offsetof(cache_entry, lease_timer));
}

cache_index *cache_index_create(int64_t now_ms)
{
    cache_index *index = mem_calloc(sizeof(*index));
    index->entries = hashtable_create(&entry_table_type);
    index->tags = hashtable_create(&tag_table_type);
    index->leases = wheel_create(now_ms);
    return index;
}

void cache_index_destroy(cache_index *index)
{
    if (index == NULL)
        return;
    cache_clear(index, 0, NULL, NULL);
    hashtable_destroy(index->entries, NULL);
    hashtable_destroy(index->tags, NULL);
    wheel_destroy(index->leases);
    mem_free(index);
}

cache_entry *cache_find(cache_index *index, const char *key, size_t key_len)
{
    return (cache_entry *)hashtable_find(index->entries, hash_bytes(key, key_len), key, key_len);
}

int cache_lease_live(const cache_entry *e, int64_t now_ms)
{
    return e != NULL && e->lease_token != 0 && now_ms < e->lease_deadline;
}

int cache_lease_claim_alarm(cache_entry *e)
{
    if (e->lease_alarm)
        return 0;
    e->lease_alarm = 1;
    return 1;
}

/* ---------- tags ---------- */

static cache_tag *tag_find(cache_index *index, const char *name, size_t len, int create)
{
    uint64_t hash = hash_bytes(name, len);
    cache_tag *t = (cache_tag *)hashtable_find(index->tags, hash, name, len);
    if (t == NULL && create) {
        t = mem_calloc(sizeof(*t) + len);
        t->name_len = len;
        memcpy(t->name, name, len);
        hashtable_insert(index->tags, hash, &t->link);
    }
    return t;
}

static void tag_unlink(cache_index *index, cache_membership *m)
{
    cache_tag *t = m->tag;
    if (m->prev)
        m->prev->next = m->next;
    else
        t->head = m->next;
    if (m->next)
        m->next->prev = m->prev;
    t->count--;
    index->memberships--;
    if (t->count == 0) {
        hashtable_remove(index->tags, hash_bytes(t->name, t->name_len), t->name, t->name_len);
        mem_free(t);
    }
}

static void entry_drop_tags(cache_index *index, cache_entry *e)
{
    for (size_t i = 0; i < e->tag_count; i++)
        tag_unlink(index, &e->tags[i]);
    mem_free(e->tags);
    e->tags = NULL;
    e->tag_count = 0;
}

/* Whether tags[i] already appeared earlier in the list (TAGS 2 a a). */
static int tag_repeated(const char *const *tags, const size_t *lens, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (lens[j] == lens[i] && memcmp(tags[j], tags[i], lens[i]) == 0)
            return 1;
    return 0;
}

static void entry_set_tags(cache_index *index, cache_entry *e, const char *const *tags,
                           const size_t *lens, size_t count)
{
    if (count == 0)
        return;
    e->tags = mem_alloc(sizeof(cache_membership) * count);
    for (size_t i = 0; i < count; i++) {
        if (tag_repeated(tags, lens, i))
            continue;
        cache_tag *t = tag_find(index, tags[i], lens[i], 1);
        cache_membership *m = &e->tags[e->tag_count++];
        m->tag = t;
        m->entry = e;
        m->prev = NULL;
        m->next = t->head;
        if (t->head)
            t->head->prev = m;
        t->head = m;
        t->count++;
        index->memberships++;
    }
}

/* ---------- entries ---------- */

static cache_entry *entry_get(cache_index *index, const char *key, size_t key_len)
{
    uint64_t hash = hash_bytes(key, key_len);
    cache_entry *e = (cache_entry *)hashtable_find(index->entries, hash, key, key_len);
    if (e == NULL) {
        e = mem_calloc(sizeof(*e) + key_len);
        e->key_len = key_len;
        memcpy(e->key, key, key_len);
        e->soft_deadline = -1;
        wheel_timer_init(&e->lease_timer);
        hashtable_insert(index->entries, hash, &e->link);
    }
    return e;
}

static void entry_end_lease(cache_index *index, cache_entry *e)
{
    if (wheel_timer_is_scheduled(&e->lease_timer))
        wheel_cancel(index->leases, &e->lease_timer);
    e->lease_token = 0;
    e->lease_deadline = 0;
    e->lease_alarm = 0;
}

static void entry_set_attached(cache_index *index, cache_entry *e, int attached)
{
    if (e->attached && !attached)
        index->attached--;
    else if (!e->attached && attached)
        index->attached++;
    e->attached = attached;
}

static void entry_free(cache_index *index, cache_entry *e)
{
    entry_drop_tags(index, e);
    entry_end_lease(index, e);
    entry_set_attached(index, e, 0);
    hashtable_remove(index->entries, hash_bytes(e->key, e->key_len), e->key, e->key_len);
    mem_free(e);
}

cache_entry *cache_attach(cache_index *index, const char *key, size_t key_len,
                          int64_t soft_deadline, const char *const *tags, const size_t *tag_lens,
                          size_t tag_count)
{
    cache_entry *e = entry_get(index, key, key_len);
    entry_drop_tags(index, e);
    entry_end_lease(index, e);
    entry_set_attached(index, e, 1);
    e->soft_deadline = soft_deadline;
    entry_set_tags(index, e, tags, tag_lens, tag_count);
    return e;
}

cache_entry *cache_grant_lease(cache_index *index, const char *key, size_t key_len, uint64_t token,
                               int64_t deadline_ms)
{
    cache_entry *e = entry_get(index, key, key_len);
    e->lease_token = token;
    e->lease_deadline = deadline_ms;
    e->lease_alarm = 0;
    wheel_schedule(index->leases, &e->lease_timer, deadline_ms);
    return e;
}

int cache_forget(cache_index *index, const char *key, size_t key_len, int64_t now_ms)
{
    cache_entry *e = cache_find(index, key, key_len);
    if (e == NULL)
        return 0;
    int voided = cache_lease_live(e, now_ms);
    entry_free(index, e);
    return voided;
}

void cache_detach(cache_index *index, const char *key, size_t key_len, int64_t now_ms)
{
    cache_entry *e = cache_find(index, key, key_len);
    if (e == NULL)
        return;
    if (!cache_lease_live(e, now_ms)) {
        entry_free(index, e);
        return;
    }
    entry_drop_tags(index, e);
    entry_set_attached(index, e, 0);
    e->soft_deadline = -1;
}

size_t cache_clear(cache_index *index, int64_t now_ms, cache_key_fn visit, void *ctx)
{
    size_t voided = 0;
    hashtable_iterator it;
    hashtable_iterator_init(&it, index->entries);
    hashtable_node *node;
    while ((node = hashtable_iterator_next(&it)) != NULL) {
        cache_entry *e = (cache_entry *)node;
        if (cache_lease_live(e, now_ms)) {
            voided++;
            if (visit)
                visit(ctx, e->key, e->key_len);
        }
        entry_free(index, e);
    }
    hashtable_iterator_release(&it);
    return voided;
}

size_t cache_tag_for_each(cache_index *index, const char *tag, size_t tag_len, cache_key_fn visit,
                          void *ctx)
{
    cache_tag *t = tag_find(index, tag, tag_len, 0);
    if (t == NULL)
        return 0;
    size_t count = 0;
    for (cache_membership *m = t->head; m; m = m->next, count++)
        visit(ctx, m->entry->key, m->entry->key_len);
    return count;
}

typedef struct lease_batch {
    cache_index *index;
    size_t ended;
} lease_batch;

static void lease_ran_out(void *ctx, wheel_timer *timer)
{
    lease_batch *batch = ctx;
    cache_entry *e = entry_of_timer(timer);
    batch->ended++;
    if (!e->attached) {
        entry_free(batch->index, e);
        return;
    }
    entry_end_lease(batch->index, e);
}

size_t cache_expire_leases(cache_index *index, int64_t now_ms, size_t budget)
{
    lease_batch batch = {index, 0};
    /* The wheel fires a timer once its deadline is <= now; a lease is live
     * while now < deadline, so both agree on the boundary. */
    wheel_advance(index->leases, now_ms, budget, lease_ran_out, &batch);
    return batch.ended;
}

void cache_index_get_stats(const cache_index *index, cache_index_stats *stats)
{
    stats->entries = hashtable_size(index->entries);
    stats->attached = index->attached;
    stats->leases = wheel_count(index->leases);
    stats->tags = hashtable_size(index->tags);
    stats->memberships = index->memberships;
}
