/* Eviction: frees keys per maxmemory-policy when used memory is over the
 * limit.
 *
 * Choosing the globally best key (least recently used, soonest to expire)
 * would need an index ordered by access time, paid for on every read. Instead,
 * as Redis does, each round samples a few keys per database and offers them to
 * a small pool that keeps the best candidates seen so far; the best of the pool
 * goes. The pool survives between rounds and commands, so its quality improves
 * with every sample while each round stays cheap. Pool slots hold copies of the
 * keys, never entry pointers: entries move or vanish between rounds, so a
 * candidate is looked up again before it is evicted.
 *
 * Keys with a TTL are not indexed apart from the others (the TTL lives in the
 * entry and the wheel cannot be sampled), so volatile policies walk each
 * database with a SCAN cursor kept between rounds, taking the TTL keys it
 * meets. The walk is bounded per round; a database whose few volatile keys
 * hide among many persistent ones may need several commands to find them. */
#include "rivet/evict.h"

#include <string.h>

#include "rivet/clock.h"
#include "rivet/lazyfree.h"
#include "rivet/memory.h"
#include "rivet/server.h"
#include "rivet/transaction.h"

#define POOL_SIZE         16
#define SCAN_STEPS_MAX    256 /* buckets a volatile round may walk per database */
#define SAMPLES_MAX       64
#define COMMAND_SLICE_US  500
#define COMMAND_SLICE_MAX 4096
#define CRON_SLICE_US     1000
#define CRON_SLICE_MAX    65536

typedef struct candidate {
    uint64_t score; /* higher is evicted first */
    int db;
    size_t key_len;
    size_t key_capacity;
    char *key; /* owned copy; NULL for an unused slot */
} candidate;

/* The pool is sorted by score, worst first and best last. */
static candidate pool[POOL_SIZE];
static int pool_count;
static int pool_policy = -1; /* the policy the pool's scores were made by */

static uint64_t *scan_cursors; /* one per database, for volatile walks */
static int scan_cursor_count;
static int next_random_db;
static uint64_t random_state = 0x9E3779B97F4A7C15ull;

static uint64_t evict_random(void)
{
    uint64_t x = random_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    random_state = x;
    return x * 2685821657736338717ull;
}

static int policy_is_volatile(int policy)
{
    return policy == EVICT_VOLATILE_LRU || policy == EVICT_VOLATILE_LFU ||
           policy == EVICT_VOLATILE_RANDOM || policy == EVICT_VOLATILE_TTL;
}

static int policy_is_random(int policy)
{
    return policy == EVICT_ALLKEYS_RANDOM || policy == EVICT_VOLATILE_RANDOM;
}

static int policy_is_lfu(int policy)
{
    return policy == EVICT_ALLKEYS_LFU || policy == EVICT_VOLATILE_LFU;
}

/* Higher scores go first: the soonest deadline, the least frequently used
 * (decayed LFU counter), or the longest idle. */
static uint64_t entry_score(keyspace *ks, const kv_entry *e, int policy)
{
    if (policy == EVICT_VOLATILE_TTL) {
        int64_t deadline = entry_expire(e);
        return UINT64_MAX - (uint64_t)(deadline < 0 ? 0 : deadline);
    }
    if (policy_is_lfu(policy))
        return 255 - entry_lfu_counter(ks, e);
    /* The clock wraps; unsigned subtraction still gives the idle seconds. */
    return (uint32_t)(keyspace_access_clock_now(ks) - entry_access_clock(e));
}

/* ---------- the pool ---------- */

static void slot_set_key(candidate *slot, const char *key, size_t len)
{
    if (slot->key_capacity < len || slot->key == NULL) {
        mem_free(slot->key);
        slot->key = mem_alloc(len ? len : 1);
        slot->key_capacity = len ? len : 1;
    }
    memcpy(slot->key, key, len);
    slot->key_len = len;
}

static void pool_offer(int db, const char *key, size_t len, uint64_t score)
{
    for (int i = 0; i < pool_count; i++) {
        if (pool[i].db == db && pool[i].key_len == len && memcmp(pool[i].key, key, len) == 0)
            return; /* already a candidate */
    }
    if (pool_count == POOL_SIZE && score <= pool[0].score)
        return;
    /* Find the insert position; when full, the worst slot makes room and
     * its key buffer is reused. */
    candidate spare = {0};
    if (pool_count == POOL_SIZE) {
        spare = pool[0];
        memmove(&pool[0], &pool[1], sizeof(candidate) * (POOL_SIZE - 1));
        pool_count--;
    }
    int at = pool_count;
    while (at > 0 && pool[at - 1].score > score)
        at--;
    memmove(&pool[at + 1], &pool[at], sizeof(candidate) * (size_t)(pool_count - at));
    pool[at] = spare;
    pool[at].score = score;
    pool[at].db = db;
    slot_set_key(&pool[at], key, len);
    pool_count++;
}

/* Moves the best candidate out of the pool into *out (which then owns the key
 * buffer). */
static int pool_take_best(candidate *out)
{
    if (pool_count == 0)
        return 0;
    *out = pool[--pool_count];
    memset(&pool[pool_count], 0, sizeof(candidate));
    return 1;
}

static void pool_clear(void)
{
    for (int i = 0; i < POOL_SIZE; i++) {
        mem_free(pool[i].key);
        memset(&pool[i], 0, sizeof(candidate));
    }
    pool_count = 0;
}

void evict_release(void)
{
    pool_clear();
    mem_free(scan_cursors);
    scan_cursors = NULL;
    scan_cursor_count = 0;
}

/* ---------- sampling ---------- */

/* Locks and idempotency records are coordination state, not cache: evicting
 * one would hand a held lock to a second owner or run a payment twice, so
 * no policy ever picks them. */
static int entry_evictable(const kv_entry *e)
{
    object_type type = entry_type(e);
    return type != OBJECT_LOCK && type != OBJECT_IDEMPOTENCY;
}

typedef struct volatile_sample {
    kv_entry *entries[SAMPLES_MAX];
    int count;
    int wanted;
} volatile_sample;

static void collect_volatile(void *ctx, kv_entry *entry)
{
    volatile_sample *sample = ctx;
    if (sample->count < sample->wanted && entry_expire(entry) >= 0 && entry_evictable(entry))
        sample->entries[sample->count++] = entry;
}

/* Up to `wanted` keys with a TTL, walking db from where the last walk stopped. */
static int sample_volatile(keyspace *ks, database *db, volatile_sample *sample)
{
    int count = keyspace_database_count(ks);
    if (scan_cursor_count < count) {
        scan_cursors = mem_realloc(scan_cursors, sizeof(uint64_t) * (size_t)count);
        memset(scan_cursors + scan_cursor_count, 0,
               sizeof(uint64_t) * (size_t)(count - scan_cursor_count));
        scan_cursor_count = count;
    }
    uint64_t *cursor = &scan_cursors[database_id(db)];
    sample->count = 0;
    for (int step = 0; step < SCAN_STEPS_MAX && sample->count < sample->wanted; step++)
        *cursor = keyspace_scan(db, *cursor, collect_volatile, sample);
    return sample->count;
}

static int samples_wanted(const evict_limits *limits)
{
    int n = limits->samples;
    return n < 1 ? 1 : n > SAMPLES_MAX ? SAMPLES_MAX : n;
}

static int database_has_candidates(const database *db, int policy)
{
    return policy_is_volatile(policy) ? keyspace_expires_count(db) > 0 : keyspace_size(db) > 0;
}

/* One sampling round over every database with candidates; 0 when there are
 * none anywhere. */
static int pool_fill(keyspace *ks, const evict_limits *limits)
{
    int found = 0;
    int wanted = samples_wanted(limits);
    for (int i = 0; i < keyspace_database_count(ks); i++) {
        database *db = keyspace_database(ks, i);
        if (!database_has_candidates(db, limits->policy))
            continue;
        found = 1;
        if (policy_is_volatile(limits->policy)) {
            volatile_sample sample = {.wanted = wanted};
            sample_volatile(ks, db, &sample);
            /* Scoring happens after the walk: the scan's visitor must not
             * touch anything that allocates into the table. */
            for (int s = 0; s < sample.count; s++) {
                size_t len;
                const char *key = entry_key(sample.entries[s], &len);
                pool_offer(i, key, len, entry_score(ks, sample.entries[s], limits->policy));
            }
        } else {
            for (int s = 0; s < wanted; s++) {
                kv_entry *e = keyspace_random(db, evict_random());
                if (e == NULL)
                    break;
                if (!entry_evictable(e))
                    continue;
                size_t len;
                const char *key = entry_key(e, &len);
                pool_offer(i, key, len, entry_score(ks, e, limits->policy));
            }
        }
    }
    return found;
}

/* ---------- evicting ---------- */

/* Deletes the key as an eviction. Returns 1 if it was there to delete (an
 * already expired key is reclaimed as an expiry instead and returns 0). */
static int evict_key(keyspace *ks, int db_index, const char *key, size_t len, int policy, int lazy)
{
    database *db = keyspace_database(ks, db_index);
    kv_entry *e = keyspace_lookup_raw(db, key, len);
    if (e == NULL || !entry_evictable(e))
        return 0;
    if (policy_is_volatile(policy) && entry_expire(e) < 0)
        return 0; /* lost its TTL since it was sampled */
    if (!(lazy ? keyspace_delete_lazy(db, key, len) : keyspace_delete(db, key, len)))
        return 0;
    keyspace_get_stats(ks)->evicted_keys++;
    keyspace_signal_modified(db, key, len, "evicted", EVENT_EVICTED);
    return 1;
}

static int evict_one_random(keyspace *ks, const evict_limits *limits)
{
    int count = keyspace_database_count(ks);
    for (int tries = 0; tries < count; tries++) {
        int i = next_random_db;
        next_random_db = (next_random_db + 1) % count;
        database *db = keyspace_database(ks, i);
        if (!database_has_candidates(db, limits->policy))
            continue;
        kv_entry *e;
        if (policy_is_volatile(limits->policy)) {
            volatile_sample sample = {.wanted = 1};
            if (sample_volatile(ks, db, &sample) == 0)
                continue;
            e = sample.entries[0];
        } else {
            /* A few more draws when one lands on a key no policy may
             * take, so a database full of locks still yields its strings. */
            e = keyspace_random(db, evict_random());
            for (int draw = 0; draw < 16 && e != NULL && !entry_evictable(e); draw++)
                e = keyspace_random(db, evict_random());
            if (e == NULL || !entry_evictable(e))
                continue;
        }
        size_t len;
        const char *key = entry_key(e, &len);
        char small[128];
        char *copy = len <= sizeof(small) ? small : mem_alloc(len);
        memcpy(copy, key, len);
        int done = evict_key(ks, i, copy, len, limits->policy, limits->lazy);
        if (copy != small)
            mem_free(copy);
        if (done)
            return 1;
    }
    return 0;
}

/* Evicts one key; 0 when the policy finds nothing it may evict. A few rounds
 * are tried because pool slots may be stale and volatile walks may come back
 * empty-handed from a stretch of persistent keys. */
static int evict_one(keyspace *ks, const evict_limits *limits)
{
    for (int round = 0; round < 8; round++) {
        if (policy_is_random(limits->policy)) {
            if (evict_one_random(ks, limits))
                return 1;
            continue;
        }
        if (!pool_fill(ks, limits))
            return 0;
        candidate best;
        while (pool_take_best(&best)) {
            int done = evict_key(ks, best.db, best.key, best.key_len, limits->policy, limits->lazy);
            mem_free(best.key);
            if (done)
                return 1;
        }
    }
    return 0;
}

static size_t memory_counted(const evict_limits *limits)
{
    size_t used = mem_used();
    if (limits->lazy && limits->in_flight) {
        size_t leaving = limits->in_flight();
        used = leaving < used ? used - leaving : 0;
    }
    return used;
}

evict_result evict_run(keyspace *ks, const evict_limits *limits)
{
    if (limits->maxmemory == 0 || memory_counted(limits) <= limits->maxmemory)
        return EVICT_OK;
    if (limits->policy == EVICT_NOEVICTION)
        return EVICT_FAIL;
    /* Scores of different policies do not compare: a policy change starts
     * a fresh pool. */
    if (limits->policy != pool_policy) {
        pool_clear();
        pool_policy = limits->policy;
    }
    uint64_t start = clock_ticks();
    size_t evicted = 0;
    while (memory_counted(limits) > limits->maxmemory) {
        if (!evict_one(ks, limits))
            return EVICT_FAIL;
        evicted++;
        if (evicted >= limits->max_keys)
            return EVICT_RUNNING;
        if ((evicted & 15) == 0 && clock_ticks_to_us(clock_ticks() - start) >= limits->time_us)
            return EVICT_RUNNING;
    }
    return EVICT_OK;
}

/* ---------- the server's side ---------- */

static evict_limits server_limits(int64_t time_us, size_t max_keys)
{
    evict_limits limits = {
        .maxmemory = (size_t)server.config.maxmemory,
        .policy = server.config.maxmemory_policy,
        .samples = (int)server.config.maxmemory_samples,
        .time_us = time_us,
        .max_keys = max_keys,
        .lazy = server.config.lazyfree_lazy_eviction != 0,
        .in_flight = lazyfree_pending_bytes,
    };
    return limits;
}

/* Inside MULTI only these still run when memory is short, as in Redis. */
static int exempt_inside_multi(const command *cmd)
{
    static const char *const names[] = {"exec", "discard", "quit", "reset", NULL};
    if (cmd->parent)
        return 0;
    for (int i = 0; names[i]; i++)
        if (strcmp(cmd->name, names[i]) == 0)
            return 1;
    return 0;
}

int evict_before_command(client *c, const command *cmd)
{
    if (server.config.maxmemory <= 0 || mem_used() <= (size_t)server.config.maxmemory)
        return 0;
    /* Every command gives a slice, reads included, so memory falls back under
     * the limit whatever the traffic; only commands that may grow memory are
     * refused when nothing more can go. */
    evict_limits limits = server_limits(COMMAND_SLICE_US, COMMAND_SLICE_MAX);
    if (evict_run(server.keyspace, &limits) != EVICT_FAIL)
        return 0;
    if (cmd->flags & CMD_DENYOOM)
        return 1;
    /* EXEC grows memory if what it runs does. */
    if (strcmp(cmd->name, "exec") == 0 && !cmd->parent &&
        (transaction_command_flags(c) & CMD_DENYOOM))
        return 1;
    return (c->flags & CLIENT_MULTI) && !exempt_inside_multi(cmd);
}

void evict_cron(void)
{
    if (server.config.maxmemory <= 0 || mem_used() <= (size_t)server.config.maxmemory)
        return;
    evict_limits limits = server_limits(CRON_SLICE_US, CRON_SLICE_MAX);
    evict_run(server.keyspace, &limits);
}
