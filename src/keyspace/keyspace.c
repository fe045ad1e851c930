/* The keyspace: databases of kv_entry records in sharded hash tables, with
 * TTL timers in one timing wheel per database.
 *
 * Entry layout (one allocation):
 *   struct kv_entry            24 bytes: chain link, access clock, type,
 *                              encoding, flags, value (int64 / pointer /
 *                              embedded length)
 *   wheel_timer                24 bytes, only when the key has a TTL (or a
 *                              field timer follows); its deadline is the
 *                              key's expiry time
 *   wheel_timer                24 bytes, only for values with deadlines of
 *                              their own inside (hash field TTLs): due at the
 *                              earliest of them, in the database's second
 *                              wheel (field_timers)
 *   key length                 1 byte, or 4 when ENTRY_LONG_KEY
 *   key bytes
 *   embedded string bytes      only for ENCODING_EMBSTR
 *   padding to 8, compact value only with ENTRY_EMBEDDED_VALUE: a small
 *                              listpack or intset (hash, set, sorted set)
 *                              kept inside the entry; value.pointer points
 *                              at it
 * Keeping the timer inside the entry means a TTL costs no extra allocation and
 * no second index; the price is that adding or removing a TTL reallocates the
 * entry, which hashtable_replace and wheel_relocate make O(1).
 *
 * Embedded compact values. A small collection would otherwise cost two
 * allocations, each rounded up to an allocator size class; one allocation
 * saves a block and one rounding. The type code changes compact values with
 * functions that reallocate them, which cannot work on bytes inside the
 * entry, so a writer first calls keyspace_object_for_update: an embedded
 * value moves out to a block of its own, and the key is queued. The queue is
 * drained (values folded back into their entries) by keyspace_set_time, which
 * the server calls between batches of commands, never while a handler holds
 * an entry or value pointer. Values set through keyspace_set_object are
 * queued the same way, so the pointer a caller passed stays valid until the
 * batch ends. */
#include "rivet/keyspace.h"

#include <stdbool.h>
#include <string.h>

#include "rivet/hash.h"
#include "rivet/hashtable.h"
#include "rivet/intset.h"
#include "rivet/listpack.h"
#include "rivet/memory.h"
#include "rivet/number.h"
#include "rivet/wheel.h"

/* ENTRY_FIELD_TIMER entries always carry the key timer slot too (unused
 * without ENTRY_TTL), so both timers sit at fixed offsets and each wheel can
 * find its entry from the timer's address. */
enum { ENTRY_TTL = 1, ENTRY_LONG_KEY = 2, ENTRY_FIELD_TIMER = 4, ENTRY_EMBEDDED_VALUE = 8 };
#define ENTRY_TIMERS (ENTRY_TTL | ENTRY_FIELD_TIMER)

struct kv_entry {
    hashtable_node link;
    uint32_t access;
    uint8_t type;
    uint8_t encoding;
    uint8_t flags;
    uint8_t spare;
    union {
        int64_t integer;
        void *pointer;
        uint64_t embedded_len;
    } value;
};

struct database {
    keyspace *ks;
    int id;
    size_t expires;
    hashtable *shards[KEYSPACE_SHARDS];
    wheel *timers;
    wheel *field_timers; /* entries with ENTRY_FIELD_TIMER */
};

struct keyspace {
    database *databases;
    int database_count;
    int64_t now_ms;
    int64_t start_ms;
    int expire_next_db;
    keyspace_stats stats;
    object_methods methods[OBJECT_TYPE_COUNT];
    keyspace_modified_fn modified_hook;
    void *modified_ctx;
    /* How `access` is kept (keyspace_set_lfu): 0 = LRU clock, else LFU. */
    int lfu;
    int lfu_log_factor;
    int lfu_decay_minutes;
    uint64_t lfu_random;
    /* Lazy freeing (keyspace_set_lazy_free): who takes big values, and
     * which of the keyspace's own deletes go that way. */
    keyspace_lazy_free_fn lazy_free;
    void *lazy_ctx;
    int lazy_flags;
    /* Events that change nothing ("new" key, "keymiss"): notifications only. */
    keyspace_modified_fn event_hook;
    void *event_ctx;
    /* Entries whose compact value may be folded in at the next
     * keyspace_set_time (embed_record). */
    buffer embed_queue;
    size_t embed_max; /* largest compact value kept inside an entry */
    /* The entry the last lookup found and its key's hash (queue_embed's
     * shortcut; only ever compared, see entry_hash_of). */
    const kv_entry *recent_entry;
    uint64_t recent_hash;
};

static void embed_queued(keyspace *ks);

/* ---------- entry layout ---------- */

static size_t timer_size(uint8_t flags)
{
    if (flags & ENTRY_FIELD_TIMER)
        return 2 * sizeof(wheel_timer);
    return (flags & ENTRY_TTL) ? sizeof(wheel_timer) : 0;
}

static wheel_timer *entry_timer(kv_entry *e)
{
    return (wheel_timer *)(e + 1);
}

static kv_entry *entry_from_timer(wheel_timer *t)
{
    return (kv_entry *)t - 1;
}

static wheel_timer *field_timer(kv_entry *e)
{
    return (wheel_timer *)(e + 1) + 1;
}

static kv_entry *entry_from_field_timer(wheel_timer *t)
{
    return (kv_entry *)(t - 1) - 1;
}

static unsigned char *entry_tail(const kv_entry *e)
{
    return (unsigned char *)(e + 1) + timer_size(e->flags);
}

static size_t key_length(const kv_entry *e)
{
    const unsigned char *tail = entry_tail(e);
    if (e->flags & ENTRY_LONG_KEY) {
        uint32_t len;
        memcpy(&len, tail, 4);
        return len;
    }
    return tail[0];
}

static const char *key_bytes(const kv_entry *e)
{
    return (const char *)entry_tail(e) + ((e->flags & ENTRY_LONG_KEY) ? 4 : 1);
}

static char *embedded_bytes(const kv_entry *e)
{
    return (char *)key_bytes(e) + key_length(e);
}

static size_t entry_size(size_t key_len, uint8_t timers, size_t embedded_len)
{
    return sizeof(kv_entry) + timer_size(timers) + (key_len < 256 ? 1 : 4) + key_len + embedded_len;
}

/* Allocates an entry holding the key, with the timer slots `timers` asks
 * for (ENTRY_TTL, ENTRY_FIELD_TIMER); value fields are the caller's. */
static kv_entry *entry_build(const char *key, size_t key_len, uint8_t timers, size_t embedded_len)
{
    kv_entry *e = mem_alloc(entry_size(key_len, timers, embedded_len));
    e->link.next = NULL;
    e->access = 0;
    e->type = OBJECT_STRING;
    e->encoding = ENCODING_INT;
    e->flags = (uint8_t)((timers & ENTRY_TIMERS) | (key_len < 256 ? 0 : ENTRY_LONG_KEY));
    e->spare = 0;
    e->value.integer = 0;
    if (timers & ENTRY_TIMERS)
        wheel_timer_init(entry_timer(e));
    if (timers & ENTRY_FIELD_TIMER)
        wheel_timer_init(field_timer(e));
    unsigned char *tail = entry_tail(e);
    if (key_len < 256) {
        tail[0] = (unsigned char)key_len;
        tail++;
    } else {
        uint32_t len = (uint32_t)key_len;
        memcpy(tail, &len, 4);
        tail += 4;
    }
    memcpy(tail, key, key_len);
    return e;
}

/* ---------- embedded compact values ---------- */

/* Where an embedded value starts: after the key (and embedded string, which
 * a collection never has), rounded up so the value's header is aligned. */
static size_t inline_offset(const kv_entry *e)
{
    size_t end =
        (size_t)((const unsigned char *)key_bytes(e) + key_length(e) - (const unsigned char *)e);
    return (end + 7) & ~(size_t)7;
}

static void *inline_value(const kv_entry *e)
{
    return (unsigned char *)e + inline_offset(e);
}

/* Bytes of a compact value that could live inside its entry, or 0 for values
 * that cannot (strings, node-based encodings, lists' quicklists). */
static size_t compact_size(const kv_entry *e)
{
    if (e->type != OBJECT_HASH && e->type != OBJECT_SET && e->type != OBJECT_ZSET)
        return 0;
    if (e->encoding == ENCODING_LISTPACK)
        return listpack_bytes(e->value.pointer);
    if (e->encoding == ENCODING_INTSET)
        return intset_bytes(e->value.pointer);
    return 0;
}

static bool is_embedded(const kv_entry *e)
{
    return (e->flags & ENTRY_EMBEDDED_VALUE) != 0;
}

/* Whether one block for entry and value costs no more than two. Rounding the
 * sum up can cost more than rounding the parts: under jemalloc a 62-byte
 * entry (a TTL and a 13-byte key) and a 72-byte listpack take 64 + 80 bytes;
 * together, 136 bytes take 160. */
static bool embedding_pays(size_t key_len, uint8_t timers, size_t value_size)
{
    size_t base = entry_size(key_len, timers, 0);
    size_t together = ((base + 7) & ~(size_t)7) + value_size;
    return mem_size_class(together) <= mem_size_class(base) + mem_size_class(value_size);
}

/* Builds a copy of e under (key, key_len) with the timer slots `timers` and
 * e's compact value (embedded or not) copied inside it. */
static kv_entry *entry_build_with_value(const kv_entry *e, const char *key, size_t key_len,
                                        uint8_t timers)
{
    size_t size = compact_size(e);
    size_t offset = (entry_size(key_len, timers, 0) + 7) & ~(size_t)7;
    kv_entry *n = entry_build(key, key_len, timers, offset - entry_size(key_len, timers, 0) + size);
    n->access = e->access;
    n->type = e->type;
    n->encoding = e->encoding;
    n->flags |= ENTRY_EMBEDDED_VALUE;
    n->value.pointer = inline_value(n);
    memcpy(n->value.pointer, e->value.pointer, size);
    return n;
}

static uint64_t entry_hash(const hashtable_node *node)
{
    const kv_entry *e = (const kv_entry *)node;
    return hash_bytes(key_bytes(e), key_length(e));
}

static int entry_has_key(const hashtable_node *node, const void *key, size_t key_len)
{
    const kv_entry *e = (const kv_entry *)node;
    return key_length(e) == key_len && memcmp(key_bytes(e), key, key_len) == 0;
}

static const hashtable_type entry_table_type = {entry_hash, entry_has_key};

/* ---------- values ---------- */

static void free_value(const keyspace *ks, kv_entry *e)
{
    if (e->type == OBJECT_STRING) {
        if (e->encoding == ENCODING_RAW) {
            buffer_release(e->value.pointer);
            mem_free(e->value.pointer);
        }
        return;
    }
    if (is_embedded(e))
        return; /* freed with the entry */
    const object_methods *m = &ks->methods[e->type];
    if (m->free_value)
        m->free_value(e->value.pointer, (object_encoding)e->encoding);
}

/* Frees e's value now, or hands it to the lazy-free hook when `lazy` and
 * one is set. Strings are always freed here: one block, one free(). */
static void release_value(keyspace *ks, kv_entry *e, bool lazy)
{
    if (lazy && ks->lazy_free && e->type != OBJECT_STRING && !is_embedded(e)) {
        ks->lazy_free(ks->lazy_ctx, (object_type)e->type, (object_encoding)e->encoding,
                      e->value.pointer);
        return;
    }
    free_value(ks, e);
}

void keyspace_value_free(const keyspace *ks, object_type type, object_encoding encoding,
                         void *value)
{
    kv_entry e = {.type = (uint8_t)type, .encoding = (uint8_t)encoding};
    e.value.pointer = value;
    free_value(ks, &e);
}

size_t keyspace_value_free_effort(const keyspace *ks, object_type type, object_encoding encoding,
                                  const void *value)
{
    const object_methods *m = &ks->methods[type];
    return m->free_effort ? m->free_effort(value, encoding) : 1;
}

size_t keyspace_value_memory(const keyspace *ks, object_type type, object_encoding encoding,
                             const void *value, size_t samples)
{
    const object_methods *m = &ks->methods[type];
    return m->memory_usage ? m->memory_usage(value, encoding, samples) : 0;
}

void keyspace_set_lazy_free(keyspace *ks, keyspace_lazy_free_fn fn, void *ctx, int flags)
{
    ks->lazy_free = fn;
    ks->lazy_ctx = ctx;
    ks->lazy_flags = flags;
}

static object_encoding string_encoding(const char *value, size_t len, int64_t *integer)
{
    if (len <= 20 && number_parse_int64(value, len, integer))
        return ENCODING_INT;
    return len <= OBJECT_EMBSTR_MAX ? ENCODING_EMBSTR : ENCODING_RAW;
}

static buffer *raw_string_create(const char *value, size_t len)
{
    buffer *b = mem_alloc(sizeof(*b));
    buffer_init(b);
    buffer_append(b, value, len);
    return b;
}

/* ---------- databases ---------- */

keyspace *keyspace_create(int database_count, int64_t now_ms)
{
    keyspace *ks = mem_calloc(sizeof(*ks));
    ks->database_count = database_count;
    ks->databases = mem_calloc(sizeof(database) * (size_t)database_count);
    ks->now_ms = now_ms;
    ks->start_ms = now_ms;
    ks->embed_max = KEYSPACE_EMBED_MAX_DEFAULT;
    buffer_init(&ks->embed_queue);
    for (int i = 0; i < database_count; i++) {
        ks->databases[i].ks = ks;
        ks->databases[i].id = i;
        ks->databases[i].timers = wheel_create(now_ms);
        ks->databases[i].field_timers = wheel_create(now_ms);
    }
    return ks;
}

/* Free callbacks have no context argument. Thread-local because detached
 * databases are freed on worker threads while the loop may flush too. */
static _Thread_local const keyspace *freeing_keyspace;

static void free_entry_node(hashtable_node *node)
{
    kv_entry *e = (kv_entry *)node;
    free_value(freeing_keyspace, e);
    mem_free(e);
}

static void database_clear(database *db)
{
    freeing_keyspace = db->ks;
    for (int s = 0; s < KEYSPACE_SHARDS; s++) {
        if (db->shards[s]) {
            hashtable_destroy(db->shards[s], free_entry_node);
            db->shards[s] = NULL;
        }
    }
    freeing_keyspace = NULL;
    /* Timers lived inside the entries just freed: start fresh wheels. */
    wheel_destroy(db->timers);
    db->timers = wheel_create(db->ks->now_ms);
    wheel_destroy(db->field_timers);
    db->field_timers = wheel_create(db->ks->now_ms);
    db->expires = 0;
}

void keyspace_destroy(keyspace *ks)
{
    if (ks == NULL)
        return;
    for (int i = 0; i < ks->database_count; i++) {
        database_clear(&ks->databases[i]);
        wheel_destroy(ks->databases[i].timers);
        wheel_destroy(ks->databases[i].field_timers);
    }
    mem_free(ks->databases);
    buffer_release(&ks->embed_queue);
    mem_free(ks);
}

void keyspace_register_type(keyspace *ks, object_type type, const object_methods *methods)
{
    ks->methods[type] = *methods;
}

const object_methods *keyspace_type_methods(const keyspace *ks, object_type type)
{
    return &ks->methods[type];
}

void keyspace_set_event_hook(keyspace *ks, keyspace_modified_fn hook, void *ctx)
{
    ks->event_hook = hook;
    ks->event_ctx = ctx;
}

static void announce(database *db, const char *key, size_t key_len, const char *event,
                     int type_class)
{
    if (db->ks->event_hook)
        db->ks->event_hook(db->ks->event_ctx, db, key, key_len, event, type_class);
}

static void announce_new(database *db, const kv_entry *e)
{
    announce(db, key_bytes(e), key_length(e), "new", EVENT_NEW);
}

void keyspace_set_modified_hook(keyspace *ks, keyspace_modified_fn hook, void *ctx)
{
    ks->modified_hook = hook;
    ks->modified_ctx = ctx;
}

void keyspace_set_time(keyspace *ks, int64_t now_ms)
{
    ks->now_ms = now_ms;
    /* Called between command batches: no handler holds an entry now. */
    embed_queued(ks);
}

int64_t keyspace_time(const keyspace *ks)
{
    return ks->now_ms;
}

keyspace_stats *keyspace_get_stats(keyspace *ks)
{
    return &ks->stats;
}

int keyspace_database_count(const keyspace *ks)
{
    return ks->database_count;
}

database *keyspace_database(keyspace *ks, int index)
{
    return &ks->databases[index];
}

int database_id(const database *db)
{
    return db->id;
}

void keyspace_swap_databases(keyspace *ks, int a, int b)
{
    /* Announced before the swap so watchers of keys that exist now hear. */
    keyspace_signal_modified(&ks->databases[a], NULL, 0, "swapdb", EVENT_GENERIC);
    keyspace_signal_modified(&ks->databases[b], NULL, 0, "swapdb", EVENT_GENERIC);
    database tmp = ks->databases[a];
    ks->databases[a] = ks->databases[b];
    ks->databases[b] = tmp;
    ks->databases[a].id = a;
    ks->databases[b].id = b;
}

uint32_t keyspace_access_clock_now(const keyspace *ks)
{
    return (uint32_t)(ks->now_ms / 1000);
}

/* ---------- access tracking: LRU clock or LFU counter ----------
 *
 * Under LRU policies `access` is the clock in seconds at the last access.
 * Under LFU it packs the minute of the last decay (high 24 bits, wrapping)
 * and a logarithmic access counter (low 8 bits), Morris-style: a hit raises
 * the counter with probability 1 / ((counter - initial) * log_factor + 1),
 * so 255 stands for about a million hits at the default factor; every
 * lfu-decay-time minutes without access halves nothing but takes one off.
 * New keys start at LFU_INITIAL so they are not evicted before they had a
 * chance to be read. */
#define LFU_INITIAL 5

void keyspace_set_lfu(keyspace *ks, int enabled, int log_factor, int decay_minutes)
{
    ks->lfu = enabled;
    ks->lfu_log_factor = log_factor;
    ks->lfu_decay_minutes = decay_minutes;
    if (ks->lfu_random == 0)
        ks->lfu_random = 0x2545F4914F6CDD1Dull;
}

static uint32_t lfu_minutes(const keyspace *ks)
{
    return (uint32_t)(ks->now_ms / 60000) & 0xFFFFFF;
}

/* The counter after decay for the minutes since `access` was stamped. */
static uint32_t lfu_decayed(const keyspace *ks, uint32_t access)
{
    uint32_t counter = access & 0xFF;
    if (ks->lfu_decay_minutes <= 0)
        return counter;
    uint32_t elapsed = (lfu_minutes(ks) - (access >> 8)) & 0xFFFFFF;
    uint32_t periods = elapsed / (uint32_t)ks->lfu_decay_minutes;
    return periods >= counter ? 0 : counter - periods;
}

static uint32_t lfu_increment(keyspace *ks, uint32_t counter)
{
    if (counter == 255)
        return counter;
    uint64_t x = ks->lfu_random;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    ks->lfu_random = x;
    double r = (double)((x * 2685821657736338717ull) >> 11) / 9007199254740992.0;
    double base = counter > LFU_INITIAL ? (double)(counter - LFU_INITIAL) : 0.0;
    return r < 1.0 / (base * ks->lfu_log_factor + 1.0) ? counter + 1 : counter;
}

static uint32_t access_initial(const keyspace *ks)
{
    if (!ks->lfu)
        return keyspace_access_clock_now(ks);
    return (lfu_minutes(ks) << 8) | LFU_INITIAL;
}

static uint32_t access_touch(keyspace *ks, uint32_t access)
{
    if (!ks->lfu)
        return keyspace_access_clock_now(ks);
    return (lfu_minutes(ks) << 8) | lfu_increment(ks, lfu_decayed(ks, access));
}

void keyspace_entry_set_access(const keyspace *ks, kv_entry *entry, int64_t idle_seconds, int freq)
{
    if (ks->lfu) {
        if (freq >= 0)
            entry->access = (lfu_minutes(ks) << 8) | (uint32_t)(freq & 0xFF);
    } else if (idle_seconds >= 0) {
        /* The clock wraps, so the subtraction does too. */
        entry->access = keyspace_access_clock_now(ks) - (uint32_t)idle_seconds;
    }
}

uint32_t entry_lfu_counter(const keyspace *ks, const kv_entry *entry)
{
    return lfu_decayed(ks, entry->access);
}

/* ---------- lookup ---------- */

static hashtable *shard_for(database *db, uint64_t hash, bool create)
{
    unsigned index = (unsigned)(hash >> (64 - KEYSPACE_SHARD_BITS));
    if (db->shards[index] == NULL && create)
        db->shards[index] = hashtable_create(&entry_table_type);
    return db->shards[index];
}

static kv_entry *find(database *db, uint64_t hash, const char *key, size_t key_len)
{
    hashtable *t = shard_for(db, hash, false);
    return t ? (kv_entry *)hashtable_find(t, hash, key, key_len) : NULL;
}

static void cancel_field_timer(database *db, kv_entry *e)
{
    if ((e->flags & ENTRY_FIELD_TIMER) && wheel_timer_is_scheduled(field_timer(e)))
        wheel_cancel(db->field_timers, field_timer(e));
}

/* Field timers are due one millisecond after the deadline, like key timers
 * (see schedule_expiry). */
static void schedule_field_timer(database *db, kv_entry *e, int64_t deadline_ms)
{
    wheel_schedule(db->field_timers, field_timer(e),
                   deadline_ms == INT64_MAX ? INT64_MAX : deadline_ms + 1);
}

/* n was rebuilt from old (same database) with a field timer slot: the wheel
 * now holds n's copy of the timer. */
static void relocate_field_timer(database *db, kv_entry *old, kv_entry *n)
{
    if (!(old->flags & ENTRY_FIELD_TIMER) || !(n->flags & ENTRY_FIELD_TIMER))
        return;
    memcpy(field_timer(n), field_timer(old), sizeof(wheel_timer));
    if (wheel_timer_is_scheduled(field_timer(old)))
        wheel_relocate(db->field_timers, field_timer(old), field_timer(n));
}

/* Unlinks e from its table and wheel and frees it with its value. */
static void delete_entry(database *db, kv_entry *e, uint64_t hash, bool lazy)
{
    hashtable_remove(shard_for(db, hash, false), hash, key_bytes(e), key_length(e));
    if (e->flags & ENTRY_TTL) {
        if (wheel_timer_is_scheduled(entry_timer(e)))
            wheel_cancel(db->timers, entry_timer(e));
        db->expires--;
    }
    cancel_field_timer(db, e);
    release_value(db->ks, e, lazy);
    mem_free(e);
}

static bool entry_is_expired(const kv_entry *e, int64_t now_ms)
{
    return (e->flags & ENTRY_TTL) && now_ms >= ((const wheel_timer *)(e + 1))->deadline;
}

/* Deletes e as an expiry: counts it and announces the "expired" event. The
 * key is copied first because the announcement happens after the free. */
static void expire_entry(database *db, kv_entry *e, uint64_t hash)
{
    char small[128];
    size_t len = key_length(e);
    char *key = len <= sizeof(small) ? small : mem_alloc(len);
    memcpy(key, key_bytes(e), len);
    const object_methods *m = &db->ks->methods[e->type];
    if (m->expiring_value)
        m->expiring_value(e->value.pointer, (object_encoding)e->encoding);
    delete_entry(db, e, hash, db->ks->lazy_flags & KEYSPACE_LAZY_EXPIRE);
    db->ks->stats.expired_keys++;
    keyspace_signal_modified(db, key, len, "expired", EVENT_EXPIRED);
    if (key != small)
        mem_free(key);
}

kv_entry *keyspace_lookup_raw(database *db, const char *key, size_t key_len)
{
    return find(db, hash_bytes(key, key_len), key, key_len);
}

static kv_entry *lookup_live(database *db, const char *key, size_t key_len)
{
    uint64_t hash = hash_bytes(key, key_len);
    kv_entry *e = find(db, hash, key, key_len);
    if (e && entry_is_expired(e, db->ks->now_ms)) {
        expire_entry(db, e, hash);
        return NULL;
    }
    db->ks->recent_entry = e;
    db->ks->recent_hash = hash;
    return e;
}

kv_entry *keyspace_lookup(database *db, const char *key, size_t key_len)
{
    kv_entry *e = lookup_live(db, key, key_len);
    if (e)
        e->access = access_touch(db->ks, e->access); /* writes count as access */
    return e;
}

kv_entry *keyspace_lookup_read(database *db, const char *key, size_t key_len, int no_touch)
{
    kv_entry *e = lookup_live(db, key, key_len);
    if (e == NULL) {
        db->ks->stats.misses++;
        announce(db, key, key_len, "keymiss", EVENT_KEY_MISS);
        return NULL;
    }
    db->ks->stats.hits++;
    if (!no_touch)
        e->access = access_touch(db->ks, e->access);
    return e;
}

/* ---------- folding compact values into their entries ---------- */

/* A queued entry. The pointer may be stale by the time the queue is drained
 * (the key deleted, its entry rebuilt): the drain uses it only after finding
 * that exact address linked in the table under `hash`, and whatever entry is
 * linked there is a live one, safe to fold. */
typedef struct embed_record {
    kv_entry *entry;
    uint64_t hash;
    int32_t db;
} embed_record;

static void queue_embed(database *db, const kv_entry *e, uint64_t hash)
{
    size_t size = compact_size(e);
    if (size == 0 || size > db->ks->embed_max)
        return;
    embed_record r = {(kv_entry *)e, hash, db->id};
    buffer_append(&db->ks->embed_queue, &r, sizeof(r));
}

/* The key's hash, without hashing again when e is what the last lookup
 * found (the usual write: lookup, then keyspace_object_for_update). */
static uint64_t entry_hash_of(const keyspace *ks, const kv_entry *e)
{
    if (e == ks->recent_entry)
        return ks->recent_hash;
    return hash_bytes(key_bytes(e), key_length(e));
}

/* Moves e's compact value inside e: in place when the entry's block already
 * has the size the value needs, else into a rebuilt entry. */
static void embed_value(database *db, kv_entry *e, uint64_t hash)
{
    size_t size = compact_size(e);
    if (is_embedded(e) || size == 0 || size > db->ks->embed_max)
        return;
    if (!embedding_pays(key_length(e), e->flags & ENTRY_TIMERS, size))
        return;
    void *value = e->value.pointer;
    size_t needed = inline_offset(e) + size;
    if (mem_size_class(needed) == mem_block_size(e)) {
        memcpy(inline_value(e), value, size);
        e->value.pointer = inline_value(e);
        e->flags |= ENTRY_EMBEDDED_VALUE;
        mem_free(value);
        return;
    }
    kv_entry *n = entry_build_with_value(e, key_bytes(e), key_length(e), e->flags & ENTRY_TIMERS);
    n->link.next = e->link.next;
    hashtable_replace(shard_for(db, hash, false), hash, &e->link, &n->link);
    if (e->flags & ENTRY_TTL) {
        memcpy(entry_timer(n), entry_timer(e), sizeof(wheel_timer));
        if (wheel_timer_is_scheduled(entry_timer(e)))
            wheel_relocate(db->timers, entry_timer(e), entry_timer(n));
    }
    relocate_field_timer(db, e, n);
    mem_free(e);
    mem_free(value);
}

static void embed_queued(keyspace *ks)
{
    buffer *q = &ks->embed_queue;
    for (size_t pos = 0; pos + sizeof(embed_record) <= q->len; pos += sizeof(embed_record)) {
        embed_record r;
        memcpy(&r, q->data + pos, sizeof(r));
        if (r.db < 0 || r.db >= ks->database_count)
            continue;
        database *db = &ks->databases[r.db];
        hashtable *t = shard_for(db, r.hash, false);
        if (t && hashtable_contains(t, r.hash, &r.entry->link))
            embed_value(db, r.entry, r.hash);
    }
    q->len = 0;
    /* A queue that grew large (a snapshot load) gives its memory back. */
    if (q->cap > 65536)
        buffer_release(q);
}

void *keyspace_object_for_update(database *db, kv_entry *entry)
{
    if (is_embedded(entry)) {
        entry->value.pointer = mem_dup(entry->value.pointer, compact_size(entry));
        entry->flags &= (uint8_t)~ENTRY_EMBEDDED_VALUE;
    }
    queue_embed(db, entry, entry_hash_of(db->ks, entry));
    return entry->value.pointer;
}

void keyspace_set_embed_max(keyspace *ks, size_t bytes)
{
    ks->embed_max = bytes;
}

/* ---------- writes ---------- */

/* Builds a copy of e under (key, key_len) with the timer slots `timers`;
 * the value (pointer or embedded bytes) is carried over, not duplicated, and
 * the timers start unscheduled. */
static kv_entry *entry_rebuild(const kv_entry *e, const char *key, size_t key_len, uint8_t timers)
{
    size_t embedded = e->encoding == ENCODING_EMBSTR ? e->value.embedded_len : 0;
    if (is_embedded(e) && embedding_pays(key_len, timers, compact_size(e)))
        return entry_build_with_value(e, key, key_len, timers);
    kv_entry *n = entry_build(key, key_len, timers, embedded);
    n->access = e->access;
    n->type = e->type;
    n->encoding = e->encoding;
    n->value = e->value;
    if (is_embedded(e)) /* the new layout is cheaper with the value apart */
        n->value.pointer = mem_dup(e->value.pointer, compact_size(e));
    if (embedded)
        memcpy(embedded_bytes(n), embedded_bytes(e), embedded);
    return n;
}

static void schedule_expiry(database *db, kv_entry *e, int64_t deadline_ms)
{
    /* Expired means now > deadline (as Redis judges it), so the timer is
     * due one millisecond after the deadline; the timer's deadline is the
     * key's plus one everywhere in this file. */
    wheel_schedule(db->timers, entry_timer(e),
                   deadline_ms == INT64_MAX ? INT64_MAX : deadline_ms + 1);
}

/* Stores a freshly built value entry `n` for its key, replacing `old` (if
 * any) and carrying old's TTL over when keep_ttl. */
static kv_entry *install(database *db, uint64_t hash, kv_entry *old, kv_entry *n)
{
    /* A key overwritten keeps its access history, as in Redis. */
    n->access = old ? access_touch(db->ks, old->access) : access_initial(db->ks);
    if (old == NULL) {
        hashtable_insert(shard_for(db, hash, true), hash, &n->link);
        if (n->flags & ENTRY_TTL)
            db->expires++;
        announce_new(db, n);
        return n;
    }
    n->link.next = old->link.next;
    hashtable_replace(shard_for(db, hash, false), hash, &old->link, &n->link);
    if (old->flags & ENTRY_TTL) {
        if (n->flags & ENTRY_TTL) {
            memcpy(entry_timer(n), entry_timer(old), sizeof(wheel_timer));
            wheel_relocate(db->timers, entry_timer(old), entry_timer(n));
        } else {
            wheel_cancel(db->timers, entry_timer(old));
            db->expires--;
        }
    }
    cancel_field_timer(db, old);
    release_value(db->ks, old, db->ks->lazy_flags & KEYSPACE_LAZY_OVERWRITE);
    mem_free(old);
    return n;
}

kv_entry *keyspace_set_string(database *db, const char *key, size_t key_len, const char *value,
                              size_t value_len, int keep_ttl)
{
    uint64_t hash = hash_bytes(key, key_len);
    kv_entry *old = find(db, hash, key, key_len);
    if (old && entry_is_expired(old, db->ks->now_ms)) {
        expire_entry(db, old, hash);
        old = NULL;
    }
    bool ttl = keep_ttl && old && (old->flags & ENTRY_TTL);
    int64_t integer = 0;
    object_encoding encoding = string_encoding(value, value_len, &integer);
    size_t embedded = encoding == ENCODING_EMBSTR ? value_len : 0;

    /* Overwriting a string with one that fits the same block (the common
     * SET-over-SET case) reuses the entry: no allocation, no relinking. */
    if (old && old->type == OBJECT_STRING && ttl == (bool)(old->flags & ENTRY_TTL) &&
        entry_size(key_len, ttl ? ENTRY_TTL : 0, embedded) <= mem_block_size(old)) {
        free_value(db->ks, old);
        old->encoding = (uint8_t)encoding;
        if (encoding == ENCODING_INT)
            old->value.integer = integer;
        else if (encoding == ENCODING_EMBSTR) {
            old->value.embedded_len = value_len;
            memcpy(embedded_bytes(old), value, value_len);
        } else
            old->value.pointer = raw_string_create(value, value_len);
        old->access = access_touch(db->ks, old->access);
        return old;
    }

    kv_entry *n = entry_build(key, key_len, ttl ? ENTRY_TTL : 0, embedded);
    n->encoding = (uint8_t)encoding;
    if (encoding == ENCODING_INT)
        n->value.integer = integer;
    else if (encoding == ENCODING_EMBSTR) {
        n->value.embedded_len = value_len;
        memcpy(embedded_bytes(n), value, value_len);
    } else
        n->value.pointer = raw_string_create(value, value_len);
    return install(db, hash, old, n);
}

kv_entry *keyspace_set_integer(database *db, const char *key, size_t key_len, int64_t value,
                               int keep_ttl)
{
    char digits[24];
    size_t len = number_format_int64(digits, value);
    return keyspace_set_string(db, key, key_len, digits, len, keep_ttl);
}

kv_entry *keyspace_set_object(database *db, const char *key, size_t key_len, object_type type,
                              object_encoding encoding, void *value, int keep_ttl)
{
    uint64_t hash = hash_bytes(key, key_len);
    kv_entry *old = find(db, hash, key, key_len);
    if (old && entry_is_expired(old, db->ks->now_ms)) {
        expire_entry(db, old, hash);
        old = NULL;
    }
    bool ttl = keep_ttl && old && (old->flags & ENTRY_TTL);
    kv_entry *n = entry_build(key, key_len, ttl ? ENTRY_TTL : 0, 0);
    n->type = (uint8_t)type;
    n->encoding = (uint8_t)encoding;
    n->value.pointer = value;
    n = install(db, hash, old, n);
    queue_embed(db, n, hash);
    return n;
}

void keyspace_update_integer(kv_entry *entry, int64_t value)
{
    entry->value.integer = value;
}

buffer *keyspace_string_for_update(database *db, kv_entry **entry)
{
    kv_entry *e = *entry;
    if (e->encoding == ENCODING_RAW)
        return e->value.pointer;
    char scratch[32];
    size_t len;
    const char *bytes = entry_string(e, scratch, &len);
    buffer *b = raw_string_create(bytes, len);
    if (e->encoding == ENCODING_EMBSTR) {
        /* Shrink the entry: the bytes no longer live inside it. */
        size_t key_len = key_length(e);
        kv_entry *n = entry_rebuild(e, key_bytes(e), key_len, e->flags & ENTRY_TIMERS);
        n->encoding = ENCODING_RAW;
        n->value.pointer = b;
        uint64_t hash = hash_bytes(key_bytes(e), key_len);
        n->link.next = e->link.next;
        hashtable_replace(shard_for(db, hash, false), hash, &e->link, &n->link);
        if (e->flags & ENTRY_TTL) {
            memcpy(entry_timer(n), entry_timer(e), sizeof(wheel_timer));
            wheel_relocate(db->timers, entry_timer(e), entry_timer(n));
        }
        mem_free(e);
        *entry = n;
        return b;
    }
    e->encoding = ENCODING_RAW;
    e->value.pointer = b;
    return b;
}

static int delete_key(database *db, const char *key, size_t key_len, bool lazy)
{
    uint64_t hash = hash_bytes(key, key_len);
    kv_entry *e = find(db, hash, key, key_len);
    if (e == NULL)
        return 0;
    if (entry_is_expired(e, db->ks->now_ms)) {
        expire_entry(db, e, hash);
        return 0;
    }
    delete_entry(db, e, hash, lazy);
    return 1;
}

int keyspace_delete(database *db, const char *key, size_t key_len)
{
    return delete_key(db, key, key_len, false);
}

int keyspace_delete_lazy(database *db, const char *key, size_t key_len)
{
    return delete_key(db, key, key_len, true);
}

/* Takes e out of db without freeing its value; reports its TTL. */
static bool detach(database *db, kv_entry *e, uint64_t hash, int64_t *deadline)
{
    hashtable_remove(shard_for(db, hash, false), hash, key_bytes(e), key_length(e));
    cancel_field_timer(db, e);
    if (!(e->flags & ENTRY_TTL))
        return false;
    *deadline = entry_expire(e);
    if (wheel_timer_is_scheduled(entry_timer(e)))
        wheel_cancel(db->timers, entry_timer(e));
    db->expires--;
    return true;
}

kv_entry *keyspace_move(database *src, const char *key, size_t key_len, database *dst,
                        const char *new_key, size_t new_key_len)
{
    uint64_t hash = hash_bytes(key, key_len);
    kv_entry *e = find(src, hash, key, key_len);
    if (e == NULL)
        return NULL;
    int64_t deadline = 0;
    int64_t field_deadline = entry_field_deadline(e);
    bool ttl = detach(src, e, hash, &deadline);
    kv_entry *n = entry_rebuild(e, new_key, new_key_len,
                                (uint8_t)((ttl ? ENTRY_TTL : 0) | (e->flags & ENTRY_FIELD_TIMER)));
    mem_free(e);
    uint64_t new_hash = hash_bytes(new_key, new_key_len);
    hashtable_insert(shard_for(dst, new_hash, true), new_hash, &n->link);
    announce_new(dst, n);
    if (ttl) {
        schedule_expiry(dst, n, deadline);
        dst->expires++;
    }
    if (field_deadline >= 0)
        schedule_field_timer(dst, n, field_deadline);
    return n;
}

kv_entry *keyspace_copy(database *src, kv_entry *e, database *dst, const char *new_key,
                        size_t new_key_len)
{
    (void)src;
    bool ttl = (e->flags & ENTRY_TTL) != 0;
    kv_entry *n = entry_rebuild(e, new_key, new_key_len, e->flags & ENTRY_TIMERS);
    uint64_t hash = hash_bytes(new_key, new_key_len);
    if (e->type == OBJECT_STRING) {
        if (e->encoding == ENCODING_RAW) {
            buffer *b = e->value.pointer;
            n->value.pointer = raw_string_create(b->data, b->len);
        }
    } else if (!is_embedded(e)) {
        /* (An embedded value was copied with the entry.) */
        n->value.pointer =
            dst->ks->methods[e->type].copy_value(e->value.pointer, (object_encoding)e->encoding);
        queue_embed(dst, n, hash);
    }
    hashtable_insert(shard_for(dst, hash, true), hash, &n->link);
    announce_new(dst, n);
    if (ttl) {
        schedule_expiry(dst, n, entry_expire(e));
        dst->expires++;
    }
    /* The copied value carries the same inner deadlines. */
    if (entry_field_deadline(e) >= 0)
        schedule_field_timer(dst, n, entry_field_deadline(e));
    return n;
}

kv_entry *keyspace_set_expire(database *db, kv_entry *e, int64_t deadline_ms)
{
    bool has = (e->flags & ENTRY_TTL) != 0;
    if (has && deadline_ms >= 0) {
        schedule_expiry(db, e, deadline_ms);
        return e;
    }
    if (!has && deadline_ms < 0)
        return e;
    size_t key_len = key_length(e);
    uint64_t hash = hash_bytes(key_bytes(e), key_len);
    kv_entry *n = entry_rebuild(
        e, key_bytes(e), key_len,
        (uint8_t)((deadline_ms >= 0 ? ENTRY_TTL : 0) | (e->flags & ENTRY_FIELD_TIMER)));
    n->link.next = e->link.next;
    hashtable_replace(shard_for(db, hash, false), hash, &e->link, &n->link);
    relocate_field_timer(db, e, n);
    if (has) {
        if (wheel_timer_is_scheduled(entry_timer(e)))
            wheel_cancel(db->timers, entry_timer(e));
        db->expires--;
    } else {
        schedule_expiry(db, n, deadline_ms);
        db->expires++;
    }
    mem_free(e);
    return n;
}

kv_entry *keyspace_set_field_deadline(database *db, kv_entry *e, int64_t deadline_ms)
{
    bool has = (e->flags & ENTRY_FIELD_TIMER) != 0;
    if (has && deadline_ms >= 0) {
        schedule_field_timer(db, e, deadline_ms);
        return e;
    }
    if (!has && deadline_ms < 0)
        return e;
    size_t key_len = key_length(e);
    uint64_t hash = hash_bytes(key_bytes(e), key_len);
    uint8_t timers = (uint8_t)((e->flags & ENTRY_TTL) | (has ? 0 : ENTRY_FIELD_TIMER));
    kv_entry *n = entry_rebuild(e, key_bytes(e), key_len, timers);
    n->link.next = e->link.next;
    hashtable_replace(shard_for(db, hash, false), hash, &e->link, &n->link);
    if (e->flags & ENTRY_TTL) {
        memcpy(entry_timer(n), entry_timer(e), sizeof(wheel_timer));
        wheel_relocate(db->timers, entry_timer(e), entry_timer(n));
    }
    if (has)
        cancel_field_timer(db, e);
    else
        schedule_field_timer(db, n, deadline_ms);
    mem_free(e);
    return n;
}

void keyspace_signal_modified(database *db, const char *key, size_t key_len, const char *event,
                              int type_class)
{
    keyspace *ks = db->ks;
    ks->stats.dirty++;
    if (ks->modified_hook)
        ks->modified_hook(ks->modified_ctx, db, key, key_len, event, type_class);
}

/* ---------- whole database ---------- */

size_t keyspace_size(const database *db)
{
    size_t total = 0;
    for (int s = 0; s < KEYSPACE_SHARDS; s++)
        if (db->shards[s])
            total += hashtable_size(db->shards[s]);
    return total;
}

size_t keyspace_expires_count(const database *db)
{
    return db->expires;
}

size_t keyspace_table_memory(const database *db)
{
    size_t bytes = 0;
    for (int s = 0; s < KEYSPACE_SHARDS; s++)
        if (db->shards[s])
            bytes += mem_block_size(db->shards[s]) + hashtable_memory(db->shards[s]);
    return bytes;
}

void keyspace_flush(database *db)
{
    if (keyspace_size(db) > 0)
        keyspace_signal_modified(db, NULL, 0, "flushdb", EVENT_GENERIC);
    database_clear(db);
}

struct keyspace_detached {
    const keyspace *ks; /* for the types' free methods */
    hashtable *shards[KEYSPACE_SHARDS];
    wheel *timers;
    wheel *field_timers;
    size_t keys;
};

keyspace_detached *keyspace_flush_detach(database *db)
{
    if (keyspace_size(db) > 0)
        keyspace_signal_modified(db, NULL, 0, "flushdb", EVENT_GENERIC);
    keyspace_detached *d = mem_calloc(sizeof(*d));
    d->ks = db->ks;
    d->keys = keyspace_size(db);
    for (int s = 0; s < KEYSPACE_SHARDS; s++) {
        d->shards[s] = db->shards[s];
        db->shards[s] = NULL;
    }
    d->timers = db->timers;
    db->timers = wheel_create(db->ks->now_ms);
    d->field_timers = db->field_timers;
    db->field_timers = wheel_create(db->ks->now_ms);
    db->expires = 0;
    return d;
}

size_t keyspace_detached_keys(const keyspace_detached *d)
{
    return d->keys;
}

void keyspace_detached_free(keyspace_detached *d)
{
    freeing_keyspace = d->ks;
    for (int s = 0; s < KEYSPACE_SHARDS; s++)
        if (d->shards[s])
            hashtable_destroy(d->shards[s], free_entry_node);
    freeing_keyspace = NULL;
    /* The timers lived inside the entries just freed. */
    wheel_destroy(d->timers);
    wheel_destroy(d->field_timers);
    mem_free(d);
}

typedef struct visit_adapter {
    keyspace_visit_fn visit;
    void *ctx;
} visit_adapter;

static void adapt_visit(void *ctx, hashtable_node *node)
{
    visit_adapter *a = ctx;
    a->visit(a->ctx, (kv_entry *)node);
}

uint64_t keyspace_scan(database *db, uint64_t cursor, keyspace_visit_fn visit, void *ctx)
{
    /* Cursor = (cursor inside the shard << SHARD_BITS) | shard index. */
    unsigned shard = (unsigned)(cursor & (KEYSPACE_SHARDS - 1));
    uint64_t inner = cursor >> KEYSPACE_SHARD_BITS;
    visit_adapter a = {visit, ctx};
    while (shard < KEYSPACE_SHARDS) {
        hashtable *t = db->shards[shard];
        if (t != NULL && hashtable_size(t) > 0) {
            inner = hashtable_scan(t, inner, adapt_visit, &a);
            if (inner != 0)
                return (inner << KEYSPACE_SHARD_BITS) | shard;
            return shard + 1 < KEYSPACE_SHARDS ? (uint64_t)(shard + 1) : 0;
        }
        shard++;
        inner = 0;
    }
    return 0;
}

void keyspace_for_each(database *db, keyspace_visit_fn visit, void *ctx)
{
    for (int s = 0; s < KEYSPACE_SHARDS; s++) {
        if (db->shards[s] == NULL)
            continue;
        hashtable_iterator it;
        hashtable_iterator_init(&it, db->shards[s]);
        hashtable_node *node;
        while ((node = hashtable_iterator_next(&it)) != NULL)
            visit(ctx, (kv_entry *)node);
        hashtable_iterator_release(&it);
    }
}

kv_entry *keyspace_random(database *db, uint64_t random)
{
    for (int attempt = 0; attempt < 100; attempt++) {
        size_t total = keyspace_size(db);
        if (total == 0)
            return NULL;
        size_t pick = (size_t)(random % total);
        int s = 0;
        for (; s < KEYSPACE_SHARDS; s++) {
            size_t n = db->shards[s] ? hashtable_size(db->shards[s]) : 0;
            if (pick < n)
                break;
            pick -= n;
        }
        kv_entry *e = (kv_entry *)hashtable_random(db->shards[s], random * 0x9E3779B97F4A7C15ull);
        if (e && entry_is_expired(e, db->ks->now_ms)) {
            expire_entry(db, e, entry_hash(&e->link));
            random = random * 6364136223846793005ull + 1442695040888963407ull;
            continue;
        }
        return e;
    }
    return NULL;
}

/* Due entries are collected first and deleted after wheel_advance returns, so
 * the wheel never sees a timer freed under it. */
typedef struct expiry_batch {
    kv_entry **entries;
    size_t count;
} expiry_batch;

static void collect_due(void *ctx, wheel_timer *timer)
{
    expiry_batch *batch = ctx;
    batch->entries[batch->count++] = entry_from_timer(timer);
}

static void collect_due_fields(void *ctx, wheel_timer *timer)
{
    expiry_batch *batch = ctx;
    batch->entries[batch->count++] = entry_from_field_timer(timer);
}

/* Values whose inner deadlines are due: their type removes what is due
 * (within the budget) and reschedules or deletes the key. Returns the work
 * done, at least one per entry so a stale timer still counts. */
static size_t expire_inner(database *db, size_t budget)
{
    keyspace *ks = db->ks;
    size_t done = 0;
    kv_entry *small[64];
    while (done < budget && wheel_count(db->field_timers) > 0) {
        size_t slice = budget - done < 64 ? budget - done : 64;
        expiry_batch batch = {small, 0};
        wheel_advance(db->field_timers, ks->now_ms, slice, collect_due_fields, &batch);
        for (size_t i = 0; i < batch.count; i++) {
            kv_entry *e = batch.entries[i];
            if (entry_is_expired(e, ks->now_ms)) {
                /* The whole key is due anyway. */
                expire_entry(db, e, entry_hash(&e->link));
                done++;
                continue;
            }
            const object_methods *m = &ks->methods[e->type];
            size_t left = budget > done ? budget - done : 1;
            size_t removed = m->expire_fields ? m->expire_fields(db, e, ks->now_ms, left) : 0;
            done += removed ? removed : 1;
        }
        if (batch.count < slice)
            break;
    }
    return done;
}

size_t keyspace_active_expire(keyspace *ks, size_t budget)
{
    size_t done = 0;
    kv_entry *small[256];
    for (int visited = 0; visited < ks->database_count && done < budget; visited++) {
        database *db = &ks->databases[ks->expire_next_db];
        ks->expire_next_db = (ks->expire_next_db + 1) % ks->database_count;
        if (wheel_count(db->field_timers) > 0)
            done += expire_inner(db, budget - done);
        if (db->expires == 0)
            continue;
        while (done < budget) {
            size_t slice = budget - done < 256 ? budget - done : 256;
            expiry_batch batch = {small, 0};
            wheel_advance(db->timers, ks->now_ms, slice, collect_due, &batch);
            for (size_t i = 0; i < batch.count; i++) {
                kv_entry *e = batch.entries[i];
                expire_entry(db, e, entry_hash(&e->link));
            }
            done += batch.count;
            if (batch.count < slice)
                break;
        }
    }
    return done;
}

void keyspace_rehash_step(keyspace *ks, int steps)
{
    for (int i = 0; i < ks->database_count; i++)
        for (int s = 0; s < KEYSPACE_SHARDS; s++)
            if (ks->databases[i].shards[s] && hashtable_is_rehashing(ks->databases[i].shards[s]))
                hashtable_rehash_step(ks->databases[i].shards[s], steps);
}

/* ---------- accessors ---------- */

object_type entry_type(const kv_entry *entry)
{
    return (object_type)entry->type;
}

object_encoding entry_encoding(const kv_entry *entry)
{
    return (object_encoding)entry->encoding;
}

const char *entry_key(const kv_entry *entry, size_t *len)
{
    *len = key_length(entry);
    return key_bytes(entry);
}

const char *entry_string(const kv_entry *entry, char scratch[32], size_t *len)
{
    switch (entry->encoding) {
    case ENCODING_INT:
        *len = number_format_int64(scratch, entry->value.integer);
        return scratch;
    case ENCODING_EMBSTR:
        *len = entry->value.embedded_len;
        return embedded_bytes(entry);
    default: {
        const buffer *b = entry->value.pointer;
        *len = b->len;
        return b->data ? b->data : "";
    }
    }
}

int entry_string_integer(const kv_entry *entry, int64_t *value)
{
    if (entry->encoding == ENCODING_INT) {
        *value = entry->value.integer;
        return 1;
    }
    char scratch[32];
    size_t len;
    const char *s = entry_string(entry, scratch, &len);
    return number_parse_int64(s, len, value);
}

void *entry_object(const kv_entry *entry)
{
    return entry->value.pointer;
}

void entry_set_object(kv_entry *entry, object_encoding encoding, void *value)
{
    entry->encoding = (uint8_t)encoding;
    if (is_embedded(entry) && value != entry->value.pointer)
        entry->flags &= (uint8_t)~ENTRY_EMBEDDED_VALUE; /* the inline copy is dead now */
    entry->value.pointer = value;
}

int64_t entry_expire(const kv_entry *entry)
{
    if (!(entry->flags & ENTRY_TTL))
        return -1;
    int64_t due = ((const wheel_timer *)(entry + 1))->deadline;
    return due == INT64_MAX ? INT64_MAX : due - 1; /* saturated: see schedule_expiry */
}

int64_t entry_field_deadline(const kv_entry *entry)
{
    if (!(entry->flags & ENTRY_FIELD_TIMER))
        return -1;
    const wheel_timer *t = (const wheel_timer *)(entry + 1) + 1;
    if (!wheel_timer_is_scheduled(t))
        return -1;
    return t->deadline == INT64_MAX ? INT64_MAX : t->deadline - 1;
}

uint32_t entry_access_clock(const kv_entry *entry)
{
    return entry->access;
}

size_t entry_allocation_size(const kv_entry *entry)
{
    return mem_block_size(entry);
}

size_t keyspace_entry_memory(const keyspace *ks, const kv_entry *entry, size_t samples)
{
    size_t bytes = mem_block_size(entry);
    if (is_embedded(entry))
        return bytes;
    if (entry->type == OBJECT_STRING) {
        if (entry->encoding == ENCODING_RAW) {
            const buffer *b = entry->value.pointer;
            bytes += mem_block_size(b) + mem_block_size(b->data);
        }
        return bytes;
    }
    const object_methods *m = &ks->methods[entry->type];
    if (m->memory_usage)
        bytes += m->memory_usage(entry->value.pointer, (object_encoding)entry->encoding, samples);
    return bytes;
}
