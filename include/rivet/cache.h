/* cache: the side index behind the CACHE.* commands, one per database. It
 * maps a key to its cache metadata (soft deadline, lease, tags) and a tag to
 * the keys carrying it. It knows nothing of the keyspace or of clients: the
 * values themselves are ordinary string keys, and the caller tells the index
 * when a key is written, expires or is flushed. Every byte it holds is freed
 * as soon as no key, tag or live lease needs it. */
#ifndef RIVET_CACHE_H
#define RIVET_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "rivet/hashtable.h"
#include "rivet/wheel.h"

/* Sane bounds, checked by CACHE.SET (docs/primitives/cache.md). */
#define CACHE_MAX_TAGS         64
#define CACHE_MAX_TAG_LEN      1024
#define CACHE_DEFAULT_LEASE_MS 10000
#define CACHE_MAX_LEASE_MS     (INT64_C(24) * 3600 * 1000)
#define CACHE_MAX_WAIT_MS      (INT64_C(24) * 3600 * 1000)
#define CACHE_REAP_BUDGET      64

typedef struct cache_index cache_index;
typedef struct cache_tag cache_tag;

/* One key's tie to one tag (an entry holds one per tag). */
typedef struct cache_membership {
    struct cache_membership *prev, *next; /* in the tag's list of keys */
    cache_tag *tag;
    struct cache_entry *entry;
} cache_membership;

/* A key's metadata. Callers read the fields; only cache.c writes them.
 * `attached` is set while the key holds a value written by CACHE.SET; an
 * entry that is not attached exists only to carry a lease on a missing key
 * (a miss lease) and goes away when the lease does. */
typedef struct cache_entry {
    hashtable_node link;
    wheel_timer lease_timer; /* scheduled at lease_deadline while leased */
    int attached;
    int64_t soft_deadline; /* absolute ms after which reads are stale; -1 none */
    uint64_t lease_token;  /* 0: no lease */
    int64_t lease_deadline;
    int lease_alarm; /* the caller asked to be woken when this lease ends */
    size_t tag_count;
    cache_membership *tags;
    size_t key_len;
    char key[];
} cache_entry;

typedef struct cache_index_stats {
    size_t entries;     /* keys with metadata (attached or leased) */
    size_t attached;    /* of which hold a CACHE.SET value */
    size_t leases;      /* leases still recorded (live until reaped) */
    size_t tags;        /* distinct tags */
    size_t memberships; /* key-tag pairs */
} cache_index_stats;

cache_index *cache_index_create(int64_t now_ms);
void cache_index_destroy(cache_index *index);

cache_entry *cache_find(cache_index *index, const char *key, size_t key_len);
/* Nonzero while e holds a lease that has not run out. */
int cache_lease_live(const cache_entry *e, int64_t now_ms);

/* Returns 1 the first time it is asked for e's current lease, 0 after: the
 * caller schedules one wake-up per lease however many clients wait on it. */
int cache_lease_claim_alarm(cache_entry *e);

/* Records that key now holds a CACHE.SET value: soft deadline (-1 for none)
 * and tags (duplicates kept once) replace whatever was there, and any lease
 * ends (the fill consumed it). */
cache_entry *cache_attach(cache_index *index, const char *key, size_t key_len,
                          int64_t soft_deadline, const char *const *tags, const size_t *tag_lens,
                          size_t tag_count);
/* Gives key a lease until deadline_ms under token (creating a lease-only
 * entry for a missing key). Any previous lease on the key is replaced. */
cache_entry *cache_grant_lease(cache_index *index, const char *key, size_t key_len, uint64_t token,
                               int64_t deadline_ms);

/* The key was written by someone other than a lease holder's fill, or
 * deleted: all metadata goes. Returns 1 if a live lease was voided. */
int cache_forget(cache_index *index, const char *key, size_t key_len, int64_t now_ms);
/* The key's value left without anyone writing it (expiry, eviction): tags
 * and soft deadline go, but a live lease survives so its holder may still
 * fill the key. */
void cache_detach(cache_index *index, const char *key, size_t key_len, int64_t now_ms);

/* Empties the index (FLUSHDB). visit (may be NULL) sees each key whose live
 * lease is voided, before it is freed. Returns how many were voided. */
typedef void (*cache_key_fn)(void *ctx, const char *key, size_t key_len);
size_t cache_clear(cache_index *index, int64_t now_ms, cache_key_fn visit, void *ctx);

/* Calls visit for each key carrying tag; visit must not change the index
 * (collect the keys first, then delete them). Returns the count. */
size_t cache_tag_for_each(cache_index *index, const char *tag, size_t tag_len, cache_key_fn visit,
                          void *ctx);

/* Ends leases whose time ran out (up to budget of them) and frees entries
 * that existed only for such a lease. Returns how many leases ended. */
size_t cache_expire_leases(cache_index *index, int64_t now_ms, size_t budget);

void cache_index_get_stats(const cache_index *index, cache_index_stats *stats);

/* Server glue, in src/commands/cache.c: the server's key-modified hook passes
 * every write here (key NULL: the database is flushed or swapped), and
 * cache_release frees every index at shutdown. */
struct database;
void cache_key_modified(struct database *db, const char *key, size_t key_len, const char *event);
void cache_release(void);
/* Voids every lease and drops every tag of db (FLUSHDB). The hook calls it
 * for a flush of a non-empty database; the keyspace does not announce one of
 * an empty database, whose miss leases then run out on their own unless the
 * flush command calls this itself. Calling it twice is harmless. */
void cache_database_flushed(struct database *db);

#endif
