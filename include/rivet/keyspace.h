/* keyspace: the databases. Each key lives in one kv_entry allocation that
 * holds the key bytes, the value (an int64, a short embedded string, or a
 * pointer to a type's structure) and, when the key has a TTL, an intrusive
 * timing-wheel timer. Each database is split into KEYSPACE_SHARDS hash tables
 * (chosen by the top bits of the key's hash) that rehash incrementally.
 *
 * Every lookup applies lazy expiry; keyspace_active_expire reclaims due keys
 * from the wheel within a budget. Writers call keyspace_signal_modified after
 * a logical change so WATCH, notifications and persistence hear of it from one
 * place. The keyspace knows nothing of clients or sockets. */
#ifndef RIVET_KEYSPACE_H
#define RIVET_KEYSPACE_H

#include <stddef.h>
#include <stdint.h>

#include "rivet/buffer.h"
#include "rivet/object.h"

#define KEYSPACE_SHARD_BITS 4
#define KEYSPACE_SHARDS     (1 << KEYSPACE_SHARD_BITS)

/* Event classes for keyspace_signal_modified (notify-keyspace-events letters). */
enum keyspace_event_class {
    EVENT_GENERIC = 1 << 2,   /* g */
    EVENT_STRING = 1 << 3,    /* $ */
    EVENT_LIST = 1 << 4,      /* l */
    EVENT_SET = 1 << 5,       /* s */
    EVENT_HASH = 1 << 6,      /* h */
    EVENT_ZSET = 1 << 7,      /* z */
    EVENT_EXPIRED = 1 << 8,   /* x */
    EVENT_EVICTED = 1 << 9,   /* e */
    EVENT_STREAM = 1 << 10,   /* t */
    EVENT_KEY_MISS = 1 << 11, /* m */
    EVENT_NEW = 1 << 12,      /* n */
};

typedef struct kv_entry kv_entry;
typedef struct database database;
typedef struct keyspace keyspace;

/* What a key's type needs from the keyspace: how to free and copy its value.
 * Strings are built in; other types register at start-up. Native primitive
 * types also serialize themselves (snapshots, DUMP, AOF rewrite):
 * save_value appends a self-describing, versioned byte string to out and
 * load_value rebuilds the value from one (NULL if the bytes are malformed).
 * Standard Redis types leave both NULL; persistence writes them in Redis's
 * own formats. */
typedef struct object_methods {
    void (*free_value)(void *ptr, object_encoding encoding);
    void *(*copy_value)(const void *ptr, object_encoding encoding);
    void (*save_value)(const void *ptr, object_encoding encoding, buffer *out);
    void *(*load_value)(const char *bytes, size_t len, object_encoding *encoding);
    /* Optional: roughly how many allocations freeing the value takes (its
     * element count for node-based encodings, 1 for a compact blob). Lazy
     * freeing hands values above a threshold to a worker thread. NULL = 1. */
    size_t (*free_effort)(const void *ptr, object_encoding encoding);
    /* Optional: bytes held by the value (MEMORY USAGE); node-based
     * encodings may extrapolate from `samples` elements (0 = count all). */
    size_t (*memory_usage)(const void *ptr, object_encoding encoding, size_t samples);
    /* Optional: told, on the loop thread, that the value's key is being
     * deleted because its TTL ran out (not for DEL, overwrites or flushes),
     * just before the value is freed. Lets a type count its expiries. */
    void (*expiring_value)(const void *ptr, object_encoding encoding);
    /* Optional, for values with deadlines inside them (hash field TTLs, see
     * keyspace_set_field_deadline): called by active expiry when the entry's
     * field timer is due. Removes at most `budget` due items, announces them,
     * then reschedules (or drops) the field timer or deletes the key; the
     * entry may move or be freed. Returns how many items it removed. */
    size_t (*expire_fields)(database *db, kv_entry *entry, int64_t now_ms, size_t budget);
} object_methods;

typedef struct keyspace_stats {
    uint64_t expired_keys;
    uint64_t hits;
    uint64_t misses;
    uint64_t dirty; /* changes since the last save (for save points / INFO) */
    /* Keys removed by maxmemory eviction (evict.c counts them). */
    uint64_t evicted_keys;
} keyspace_stats;

/* Called after every logical write to a key (event names as keyspace
 * notifications use them: "set", "del", "expired", "expire", ...), and with
 * key NULL just before a whole database is flushed or swapped. */
typedef void (*keyspace_modified_fn)(void *ctx, database *db, const char *key, size_t key_len,
                                     const char *event, int type_class);

keyspace *keyspace_create(int database_count, int64_t now_ms);
void keyspace_destroy(keyspace *ks);
void keyspace_register_type(keyspace *ks, object_type type, const object_methods *methods);
/* Lazy freeing. With a hook set, deletes marked lazy pass the value to it
 * instead of freeing it (the hook may free it on another thread with
 * keyspace_value_free). Flags pick which of the keyspace's own deletes are
 * lazy: expiry, and the old value of a key overwritten by a new one. */
typedef void (*keyspace_lazy_free_fn)(void *ctx, object_type type, object_encoding encoding,
                                      void *value);
enum { KEYSPACE_LAZY_EXPIRE = 1, KEYSPACE_LAZY_OVERWRITE = 2 };
void keyspace_set_lazy_free(keyspace *ks, keyspace_lazy_free_fn fn, void *ctx, int flags);
/* Frees a value through its type's methods; safe on a worker thread. */
void keyspace_value_free(const keyspace *ks, object_type type, object_encoding encoding,
                         void *value);
size_t keyspace_value_free_effort(const keyspace *ks, object_type type, object_encoding encoding,
                                  const void *value);
/* Bytes a non-string value holds (its type's memory_usage; 0 without one),
 * extrapolated from `samples` elements (0 = count all). */
size_t keyspace_value_memory(const keyspace *ks, object_type type, object_encoding encoding,
                             const void *value, size_t samples);

/* The methods registered for a type (all NULL for strings). */
const object_methods *keyspace_type_methods(const keyspace *ks, object_type type);
void keyspace_set_modified_hook(keyspace *ks, keyspace_modified_fn hook, void *ctx);
/* Called for events that change no data and must not count as writes: "new"
 * (a key was added, EVENT_NEW) and "keymiss" (a read found no key,
 * EVENT_KEY_MISS). Keyspace notifications are their only listener. */
void keyspace_set_event_hook(keyspace *ks, keyspace_modified_fn hook, void *ctx);
/* The time lookups judge expiry by; the server sets it once per command so a
 * command (or a script) sees one consistent clock. It is also the point
 * where compact values queued by keyspace_object_for_update or
 * keyspace_set_object are folded into their entries, so it must not be
 * called while a caller holds entry or value pointers it will use again. */
void keyspace_set_time(keyspace *ks, int64_t now_ms);
int64_t keyspace_time(const keyspace *ks);
keyspace_stats *keyspace_get_stats(keyspace *ks);
int keyspace_database_count(const keyspace *ks);
database *keyspace_database(keyspace *ks, int index);
int database_id(const database *db);
/* Exchange the contents of two databases (SWAPDB); ids stay. */
void keyspace_swap_databases(keyspace *ks, int a, int b);

/* Lookups. keyspace_lookup is the write path: it refreshes the access
 * clock. _read counts hits/misses and refreshes the clock unless no_touch.
 * Both delete the key first if it has expired. */
kv_entry *keyspace_lookup(database *db, const char *key, size_t key_len);
kv_entry *keyspace_lookup_read(database *db, const char *key, size_t key_len, int no_touch);
/* Lookup that ignores expiry (for DEBUG / tests). */
kv_entry *keyspace_lookup_raw(database *db, const char *key, size_t key_len);

/* Writes. Each replaces any existing value; keep_ttl keeps an existing TTL,
 * otherwise the key ends up without one. They return the key's entry (which
 * may be at a new address: entries are reallocated when their size changes). */
kv_entry *keyspace_set_string(database *db, const char *key, size_t key_len, const char *value,
                              size_t value_len, int keep_ttl);
kv_entry *keyspace_set_integer(database *db, const char *key, size_t key_len, int64_t value,
                               int keep_ttl);
kv_entry *keyspace_set_object(database *db, const char *key, size_t key_len, object_type type,
                              object_encoding encoding, void *value, int keep_ttl);
/* Changes an int-encoded string's value in place (INCR's fast path). */
void keyspace_update_integer(kv_entry *entry, int64_t value);
/* Makes a string entry RAW and returns its buffer for in-place edits
 * (APPEND, SETRANGE). *entry may move. */
buffer *keyspace_string_for_update(database *db, kv_entry **entry);
/* Deletes a key (1) or reports it absent (0). Does not signal. */
int keyspace_delete(database *db, const char *key, size_t key_len);
/* The same, passing the value to the lazy-free hook (UNLINK). */
int keyspace_delete_lazy(database *db, const char *key, size_t key_len);
/* Moves key to dst under new_key (RENAME, MOVE); dst must not hold new_key.
 * Keeps value and TTL. Returns the entry at its new address. */
kv_entry *keyspace_move(database *src, const char *key, size_t key_len, database *dst,
                        const char *new_key, size_t new_key_len);
/* Copies key's value and TTL to dst under new_key (COPY). */
kv_entry *keyspace_copy(database *src, kv_entry *entry, database *dst, const char *new_key,
                        size_t new_key_len);
/* Sets an absolute deadline (ms) or removes it (-1). Returns the entry at its
 * (possibly new) address. A deadline in the past is allowed: the key expires
 * on next access or active cycle. */
kv_entry *keyspace_set_expire(database *db, kv_entry *entry, int64_t deadline_ms);

/* The earliest deadline inside a value (a hash's earliest field TTL): sets
 * the entry's field timer to fire at it (active expiry then calls the type's
 * expire_fields), or removes the timer (-1). Costs nothing to entries that
 * never get one. Returns the entry at its (possibly new) address. */
kv_entry *keyspace_set_field_deadline(database *db, kv_entry *entry, int64_t deadline_ms);

void keyspace_signal_modified(database *db, const char *key, size_t key_len, const char *event,
                              int type_class);

/* Whole-database operations. */
size_t keyspace_size(const database *db);
/* Bytes of db's hash tables (bucket arrays), not counting the entries. */
size_t keyspace_table_memory(const database *db);
size_t keyspace_expires_count(const database *db);
void keyspace_flush(database *db);
/* Empties db at once (signalling as keyspace_flush) and returns its former
 * contents, to be freed later by keyspace_detached_free on any thread
 * (FLUSHALL ASYNC). The keyspace must outlive the detached set. */
typedef struct keyspace_detached keyspace_detached;
keyspace_detached *keyspace_flush_detach(database *db);
size_t keyspace_detached_keys(const keyspace_detached *detached);
void keyspace_detached_free(keyspace_detached *detached);
/* SCAN over all shards; cursor semantics as hashtable_scan. */
typedef void (*keyspace_visit_fn)(void *ctx, kv_entry *entry);
uint64_t keyspace_scan(database *db, uint64_t cursor, keyspace_visit_fn visit, void *ctx);
/* Visits every entry (KEYS); visit may not change the database. */
void keyspace_for_each(database *db, keyspace_visit_fn visit, void *ctx);
/* A random live key, or NULL. */
kv_entry *keyspace_random(database *db, uint64_t random);

/* Active expiry: deletes up to budget due keys across all databases; returns
 * how many were deleted. */
size_t keyspace_active_expire(keyspace *ks, size_t budget);
/* Gives idle tables a few buckets of rehash work. */
void keyspace_rehash_step(keyspace *ks, int steps);

/* Entry accessors. */
object_type entry_type(const kv_entry *entry);
object_encoding entry_encoding(const kv_entry *entry);
const char *entry_key(const kv_entry *entry, size_t *len);
/* A string entry's bytes; int-encoded values are rendered into scratch. */
const char *entry_string(const kv_entry *entry, char scratch[32], size_t *len);
/* Nonzero and *value set when a string entry holds a canonical int64. */
int entry_string_integer(const kv_entry *entry, int64_t *value);
void *entry_object(const kv_entry *entry);
/* The value of a hash, set or sorted set entry for a change (or to be freed
 * by the caller after entry_set_object replaced it). A small compact value
 * (listpack, intset) lives inside its entry between command batches, where
 * the type's functions could not reallocate it: this moves it out to a block
 * of its own first. Either way the key is queued, and keyspace_set_time folds
 * the value (if still compact and small) back into its entry. The entry does
 * not move. Read-only access keeps using entry_object. */
void *keyspace_object_for_update(database *db, kv_entry *entry);
/* Compact values up to this many bytes are kept inside their entry (0: never). */
#define KEYSPACE_EMBED_MAX_DEFAULT 256
void keyspace_set_embed_max(keyspace *ks, size_t bytes);
/* Replaces the pointer held by a non-string entry (e.g. after an encoding
 * conversion); the caller frees the old structure. */
void entry_set_object(kv_entry *entry, object_encoding encoding, void *value);
/* Absolute deadline in ms, or -1. */
int64_t entry_expire(const kv_entry *entry);
/* The deadline the entry's field timer is set to, or -1. */
int64_t entry_field_deadline(const kv_entry *entry);
/* Seconds since the entry was last read or written. */
uint32_t entry_access_clock(const kv_entry *entry);
/* Bytes of the entry allocation itself (the value's own structure excluded). */
size_t entry_allocation_size(const kv_entry *entry);
/* Bytes a key costs: its entry plus its value (MEMORY USAGE). */
size_t keyspace_entry_memory(const keyspace *ks, const kv_entry *entry, size_t samples);

/* The access clock (seconds, wrapping) used for OBJECT IDLETIME. */
uint32_t keyspace_access_clock_now(const keyspace *ks);
/* Switches what entries record on access: the LRU clock (enabled = 0), or
 * a logarithmic LFU counter with Redis's lfu-log-factor / lfu-decay-time
 * meaning. Entries written under the other mode adjust as they are used. */
void keyspace_set_lfu(keyspace *ks, int enabled, int log_factor, int decay_minutes);
/* Sets what an entry's access field records (RESTORE's IDLETIME/FREQ, the
 * IDLE/FREQ records of a snapshot): under LRU, idle_seconds ago (freq is
 * ignored); under LFU, a counter of freq (idle is ignored). A negative value
 * leaves the field as it is. */
void keyspace_entry_set_access(const keyspace *ks, kv_entry *entry, int64_t idle_seconds, int freq);
/* An entry's LFU counter (0..255) after decay, without touching it. */
uint32_t entry_lfu_counter(const keyspace *ks, const kv_entry *entry);

#endif
