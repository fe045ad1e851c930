/* CACHE.GET / CACHE.SET / CACHE.DEL / CACHE.INVALIDATE / CACHE.STATS: cache
 * entries with leases, soft TTLs and tags (docs/primitives/cache.md).
 *
 * Values are plain string keys, so GET, TTL, DEL and SET keep working on
 * them; what makes them cache entries lives in one side index per database
 * (src/primitives/cache.c). The index hears about every other write through
 * cache_key_modified, called from the server's single key-modified hook: a
 * write by anyone but CACHE.SET voids the key's lease and drops its metadata,
 * while expiry and eviction drop the metadata but keep a live lease (its
 * holder is still the one who should fill the key).
 *
 * A client that asks with WAIT while another holds the miss lease blocks on
 * the key like BLPOP does. The fill's write wakes it; so does an alarm at the
 * lease's deadline, which lets the first waiter take over a lease whose
 * holder went away. */
#include <stdint.h>
#include <string.h>

#include "handlers.h"
#include "rivet/blocking.h"
#include "rivet/cache.h"
#include "rivet/memory.h"
#include "rivet/server.h"

#include "table.h"

typedef struct cache_state {
    cache_index **indexes; /* by database id; NULL until a db caches something */
    int index_count;
    uint64_t last_token;
    int own_write;    /* CACHE.SET is announcing its own write: not a plain write */
    int swap_pending; /* first database SWAPDB announced, -1 when none */
} cache_state;

static cache_state state = {.swap_pending = -1};

static int64_t now_ms(void)
{
    return keyspace_time(server.keyspace);
}

/* The index of db, created on first use when create is set. */
static cache_index *index_for(database *db, int create)
{
    int id = database_id(db);
    if (state.indexes == NULL) {
        if (!create)
            return NULL;
        state.index_count = keyspace_database_count(server.keyspace);
        state.indexes = mem_calloc(sizeof(cache_index *) * (size_t)state.index_count);
    }
    if (state.indexes[id] == NULL && create)
        state.indexes[id] = cache_index_create(now_ms());
    return state.indexes[id];
}

/* Leases nobody filled are reclaimed a few at a time by the commands that use
 * the index, so their cost stays with the cache's own traffic. */
static void reap(cache_index *index)
{
    if (index)
        cache_expire_leases(index, now_ms(), CACHE_REAP_BUDGET);
}

/* Tokens only grow. They start from the clock in microseconds, so a client
 * holding a token from before a restart cannot match a new lease by chance. */
static uint64_t token_next(void)
{
    uint64_t seed = (uint64_t)(server.now_us > 0 ? server.now_us : 1);
    state.last_token = state.last_token < seed ? seed : state.last_token + 1;
    return state.last_token;
}

static uint64_t lease_grant(cache_index *index, const char *key, size_t len, int64_t lease_ms)
{
    uint64_t token = token_next();
    cache_grant_lease(index, key, len, token, now_ms() + lease_ms);
    server.primitives.cache_leases_granted++;
    return token;
}

/* ---------- server hooks ---------- */

static void wake_key(void *ctx, const char *key, size_t len)
{
    blocking_key_touched(ctx, key, len);
}

void cache_database_flushed(database *db)
{
    cache_index *index = index_for(db, 0);
    if (index == NULL)
        return;
    /* Waiters of a voided miss lease re-check now: the first takes a new one. */
    server.primitives.cache_leases_voided += cache_clear(index, now_ms(), wake_key, db);
}

/* SWAPDB announces both databases before exchanging them; the metadata
 * follows the data, so the two indexes trade places on the second call. */
static void database_swapped(database *db)
{
    int id = database_id(db);
    if (state.swap_pending < 0) {
        state.swap_pending = id;
        return;
    }
    cache_index *first = state.indexes[state.swap_pending];
    state.indexes[state.swap_pending] = state.indexes[id];
    state.indexes[id] = first;
    state.swap_pending = -1;
}

void cache_key_modified(database *db, const char *key, size_t key_len, const char *event)
{
    if (state.indexes == NULL)
        return;
    if (key == NULL) {
        if (strcmp(event, "swapdb") == 0)
            database_swapped(db);
        else
            cache_database_flushed(db);
        return;
    }
    cache_index *index = index_for(db, 0);
    if (state.own_write || index == NULL)
        return;
    if (strcmp(event, "expired") == 0 || strcmp(event, "evicted") == 0)
        cache_detach(index, key, key_len, now_ms());
    else if (cache_forget(index, key, key_len, now_ms()))
        server.primitives.cache_leases_voided++;
}

void cache_release(void)
{
    for (int i = 0; i < state.index_count; i++)
        cache_index_destroy(state.indexes[i]);
    mem_free(state.indexes);
    state.indexes = NULL;
    state.index_count = 0;
    state.swap_pending = -1;
}

/* ---------- CACHE.GET ---------- */

static void reply_hit(client *c, const kv_entry *e)
{
    char scratch[32];
    size_t len;
    const char *bytes = entry_string(e, scratch, &len);
    reply_array(&c->reply, 2);
    reply_bulk_cstr(&c->reply, "hit");
    reply_bulk(&c->reply, bytes, len);
    server.primitives.cache_hits++;
}

static void reply_stale(client *c, const kv_entry *e, uint64_t token)
{
    char scratch[32];
    size_t len;
    const char *bytes = entry_string(e, scratch, &len);
    reply_array(&c->reply, token ? 3 : 2);
    reply_bulk_cstr(&c->reply, "stale");
    reply_bulk(&c->reply, bytes, len);
    if (token)
        reply_integer(&c->reply, (int64_t)token);
    server.primitives.cache_stale++;
}

static void reply_miss(client *c, uint64_t token)
{
    reply_array(&c->reply, token ? 2 : 1);
    reply_bulk_cstr(&c->reply, "miss");
    if (token)
        reply_integer(&c->reply, (int64_t)token);
    server.primitives.cache_misses++;
}

static void reply_miss_plain(client *c)
{
    reply_miss(c, 0);
}

/* Reads argv[i] as milliseconds in [min, max]; error text names the option. */
static int argument_ms(client *c, int i, int64_t min, int64_t max, const char *name, int64_t *out)
{
    if (!argument_int64(c, i, out))
        return 0;
    if (*out < min || *out > max) {
        reply_errorf(&c->reply, "ERR %s must be between %lld and %lld milliseconds", name,
                     (long long)min, (long long)max);
        return 0;
    }
    return 1;
}

typedef struct get_options {
    int64_t lease_ms;
    int64_t wait_ms; /* -1: no WAIT */
} get_options;

static int parse_get_options(client *c, get_options *o)
{
    o->lease_ms = CACHE_DEFAULT_LEASE_MS;
    o->wait_ms = -1;
    int seen_lease = 0, seen_wait = 0;
    for (int i = 2; i < c->argc; i += 2) {
        int has_value = i + 1 < c->argc;
        if (argument_is(c, i, "lease") && has_value && !seen_lease) {
            seen_lease = 1;
            if (!argument_ms(c, i + 1, 1, CACHE_MAX_LEASE_MS, "LEASE", &o->lease_ms))
                return 0;
        } else if (argument_is(c, i, "wait") && has_value && !seen_wait) {
            seen_wait = 1;
            if (!argument_ms(c, i + 1, 0, CACHE_MAX_WAIT_MS, "WAIT", &o->wait_ms))
                return 0;
        } else {
            reply_error(&c->reply, ERR_SYNTAX);
            return 0;
        }
    }
    return 1;
}

/* Another client holds the miss lease: answer ["miss"], or wait for the fill
 * (never inside MULTI or a script, where nothing may block). */
static void get_wait_or_miss(client *c, const get_options *o, cache_entry *meta)
{
    if (o->wait_ms < 0 || (c->flags & CLIENT_IN_EXEC)) {
        reply_miss_plain(c);
        return;
    }
    if (!client_is_retrying(c)) {
        int key_index = 1;
        int64_t deadline = o->wait_ms > 0 ? server.now_ms + o->wait_ms : 0;
        blocking_block(c, &key_index, 1, deadline, reply_miss_plain);
    }
    /* One alarm per lease, whichever waiter arrives first asks for it. */
    if (cache_lease_claim_alarm(meta))
        blocking_wake_at(c->db, c->argv[1], c->argv_len[1], meta->lease_deadline);
}

/* CACHE.GET key [LEASE ms] [WAIT ms] */
static void command_cache_get(client *c)
{
    get_options o;
    if (!parse_get_options(c, &o))
        return;
    const char *key = c->argv[1];
    size_t len = c->argv_len[1];
    cache_index *index = index_for(c->db, 0);
    reap(index);
    int wrong_type;
    kv_entry *e = lookup_read_typed(c, key, len, OBJECT_STRING, &wrong_type);
    if (wrong_type)
        return;
    int64_t now = now_ms();
    cache_entry *meta = index ? cache_find(index, key, len) : NULL;
    if (e != NULL) {
        /* A key CACHE.SET did not write (or with no SOFT) is simply fresh. */
        if (meta == NULL || !meta->attached || meta->soft_deadline < 0 ||
            now < meta->soft_deadline) {
            reply_hit(c, e);
        } else if (cache_lease_live(meta, now)) {
            reply_stale(c, e, 0);
        } else {
            reply_stale(c, e, lease_grant(index, key, len, o.lease_ms));
        }
        return;
    }
    if (cache_lease_live(meta, now)) {
        get_wait_or_miss(c, &o, meta);
        return;
    }
    reply_miss(c, lease_grant(index_for(c->db, 1), key, len, o.lease_ms));
}

/* ---------- CACHE.SET ---------- */

typedef struct set_options {
    int64_t ttl_ms; /* 0: missing */
    int64_t soft_ms;
    int64_t jitter_ms;
    int tags_index; /* argv position of the first tag */
    int64_t tag_count;
    int has_lease;
    int64_t lease_token;
} set_options;

/* Parses TAGS n tag ... at argv[i]; returns the position after the tags. */
static int parse_tags(client *c, int i, set_options *o)
{
    if (!argument_int64(c, i + 1, &o->tag_count))
        return 0;
    if (o->tag_count < 0 || o->tag_count > c->argc - (i + 2)) {
        reply_error(&c->reply, ERR_SYNTAX);
        return 0;
    }
    if (o->tag_count > CACHE_MAX_TAGS) {
        reply_errorf(&c->reply, "ERR too many tags (at most %d per key)", CACHE_MAX_TAGS);
        return 0;
    }
    o->tags_index = i + 2;
    for (int t = 0; t < o->tag_count; t++) {
        if (c->argv_len[o->tags_index + t] > CACHE_MAX_TAG_LEN) {
            reply_errorf(&c->reply, "ERR tag is longer than %d bytes", CACHE_MAX_TAG_LEN);
            return 0;
        }
    }
    return o->tags_index + (int)o->tag_count;
}

enum set_option { SET_TTL = 1, SET_SOFT = 2, SET_JITTER = 4, SET_TAGS = 8, SET_LEASE = 16 };

static unsigned set_option_at(const client *c, int i)
{
    static const struct {
        const char *name;
        unsigned option;
    } names[] = {{"ttl", SET_TTL},
                 {"soft", SET_SOFT},
                 {"jitter", SET_JITTER},
                 {"tags", SET_TAGS},
                 {"lease", SET_LEASE}};
    for (size_t n = 0; n < sizeof(names) / sizeof(names[0]); n++)
        if (argument_is(c, i, names[n].name))
            return names[n].option;
    return 0;
}

/* Reads the argument(s) of the option at argv[i]; returns the position of
 * the next option, or 0 after replying with an error. */
static int parse_set_value(client *c, int i, unsigned option, set_options *o)
{
    int ok = 1;
    switch (option) {
    case SET_TTL:
        /* SET PX's own check and text. */
        ok = argument_int64(c, i + 1, &o->ttl_ms);
        if (ok && (o->ttl_ms <= 0 || o->ttl_ms > INT64_MAX / 4)) {
            reply_error(&c->reply, "ERR invalid expire time in 'cache.set' command");
            ok = 0;
        }
        break;
    case SET_SOFT:
        ok = argument_ms(c, i + 1, 1, INT64_MAX / 4, "SOFT", &o->soft_ms);
        break;
    case SET_JITTER:
        ok = argument_ms(c, i + 1, 0, INT64_MAX / 4, "JITTER", &o->jitter_ms);
        break;
    case SET_TAGS:
        return parse_tags(c, i, o);
    case SET_LEASE:
        ok = argument_int64(c, i + 1, &o->lease_token);
        o->has_lease = 1;
        break;
    }
    return ok ? i + 2 : 0;
}

static int parse_set_options(client *c, set_options *o)
{
    memset(o, 0, sizeof(*o));
    unsigned seen = 0;
    int i = 3;
    while (i < c->argc) {
        unsigned option = set_option_at(c, i);
        /* Each option once, each with its value. */
        if (option == 0 || i + 1 >= c->argc || (seen & option)) {
            reply_error(&c->reply, ERR_SYNTAX);
            return 0;
        }
        seen |= option;
        i = parse_set_value(c, i, option, o);
        if (i == 0)
            return 0;
    }
    if (o->ttl_ms == 0) {
        reply_error(&c->reply, "ERR CACHE.SET needs TTL ms");
        return 0;
    }
    if (o->soft_ms >= o->ttl_ms && o->soft_ms != 0) {
        reply_error(&c->reply, "ERR SOFT must be less than TTL");
        return 0;
    }
    return 1;
}

/* Whether token is the key's live lease: the only fill CACHE.SET LEASE takes. */
static int lease_matches(const cache_entry *meta, int64_t token, int64_t now)
{
    return meta != NULL && token > 0 && meta->lease_token == (uint64_t)token &&
           cache_lease_live(meta, now);
}

/* CACHE.SET key value TTL ms [SOFT ms] [JITTER ms] [TAGS n tag ...] [LEASE token] */
static void command_cache_set(client *c)
{
    set_options o;
    if (!parse_set_options(c, &o))
        return;
    const char *key = c->argv[1];
    size_t len = c->argv_len[1];
    int64_t now = now_ms();
    /* The same random offset moves both deadlines, so every copy keeps its
     * fresh window while their refreshes and expiries spread out. */
    int64_t offset = o.jitter_ms ? (int64_t)(server_random() % (uint64_t)(o.jitter_ms + 1)) : 0;
    if (o.ttl_ms + offset > INT64_MAX - now) {
        reply_error(&c->reply, "ERR invalid expire time in 'cache.set' command");
        return;
    }
    cache_index *index = index_for(c->db, 1);
    reap(index);
    cache_entry *meta = cache_find(index, key, len);
    if (o.has_lease) {
        if (!lease_matches(meta, o.lease_token, now)) {
            reply_null(&c->reply);
            return;
        }
    } else if (cache_lease_live(meta, now)) {
        /* A fill without the lease is a write like any other: the holder's
         * value may be older than this one, so its fill must not land. */
        server.primitives.cache_leases_voided++;
    }
    kv_entry *e = keyspace_set_string(c->db, key, len, c->argv[2], c->argv_len[2], 0);
    keyspace_set_expire(c->db, e, now + o.ttl_ms + offset);
    state.own_write = 1;
    keyspace_signal_modified(c->db, key, len, "set", EVENT_STRING);
    keyspace_signal_modified(c->db, key, len, "expire", EVENT_GENERIC);
    state.own_write = 0;
    if (o.soft_ms == 0 && o.tag_count == 0) {
        /* Without a soft TTL or tags the entry reads exactly like a plain
         * string: keeping no metadata saves ~120 bytes a key. The lease was
         * used or already counted as voided above. */
        cache_forget(index, key, len, now);
    } else {
        cache_attach(index, key, len, o.soft_ms ? now + o.soft_ms + offset : -1,
                     o.tag_count ? c->argv + o.tags_index : NULL,
                     o.tag_count ? c->argv_len + o.tags_index : NULL, (size_t)o.tag_count);
    }
    reply_ok(&c->reply);
}

/* ---------- CACHE.DEL, CACHE.INVALIDATE ---------- */

/* Deletes key as DEL does (lazily when lazyfree-lazy-user-del says so); the hook then drops its
 * metadata and lease. A missing key may still carry a miss lease: it is voided too, and its waiters
 * re-check so the first of them takes over. */
static int cache_delete_key(client *c, cache_index *index, const char *key, size_t len)
{
    int lazy = server.config.lazyfree_lazy_user_del != 0; /* as DEL */
    if (lazy ? keyspace_delete_lazy(c->db, key, len) : keyspace_delete(c->db, key, len)) {
        keyspace_signal_modified(c->db, key, len, "del", EVENT_GENERIC);
        return 1;
    }
    if (index && cache_forget(index, key, len, now_ms())) {
        server.primitives.cache_leases_voided++;
        blocking_key_touched(c->db, key, len);
    }
    return 0;
}

/* CACHE.DEL key [key ...] */
static void command_cache_del(client *c)
{
    cache_index *index = index_for(c->db, 0);
    reap(index);
    int64_t removed = 0;
    for (int i = 1; i < c->argc; i++)
        removed += cache_delete_key(c, index, c->argv[i], c->argv_len[i]);
    reply_integer(&c->reply, removed);
}

typedef struct key_list {
    char **keys;
    size_t *lens;
    size_t count, cap;
} key_list;

static void key_list_add(void *ctx, const char *key, size_t len)
{
    key_list *list = ctx;
    if (list->count == list->cap) {
        list->cap = list->cap ? list->cap * 2 : 16;
        list->keys = mem_realloc(list->keys, sizeof(char *) * list->cap);
        list->lens = mem_realloc(list->lens, sizeof(size_t) * list->cap);
    }
    list->keys[list->count] = mem_dup(key, len);
    list->lens[list->count] = len;
    list->count++;
}

static void key_list_free(key_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        mem_free(list->keys[i]);
    mem_free(list->keys);
    mem_free(list->lens);
}

/* CACHE.INVALIDATE TAGS tag [tag ...] */
static void command_cache_invalidate(client *c)
{
    if (!argument_is(c, 1, "tags")) {
        reply_error(&c->reply, ERR_SYNTAX);
        return;
    }
    cache_index *index = index_for(c->db, 0);
    reap(index);
    int64_t removed = 0;
    if (index) {
        /* Deleting changes the tag lists being read: collect first. A key
         * under two of the tags is listed twice and deleted once. */
        key_list list = {0};
        for (int i = 2; i < c->argc; i++)
            cache_tag_for_each(index, c->argv[i], c->argv_len[i], key_list_add, &list);
        for (size_t k = 0; k < list.count; k++)
            removed += cache_delete_key(c, index, list.keys[k], list.lens[k]);
        key_list_free(&list);
    }
    reply_integer(&c->reply, removed);
}

/* ---------- CACHE.STATS ---------- */

/* CACHE.STATS: what the side indexes hold across all databases, so tests and
 * operators can see that tags and leases do not accumulate. */
static void command_cache_stats(client *c)
{
    cache_index_stats total = {0};
    for (int i = 0; i < state.index_count; i++) {
        cache_index *index = state.indexes[i];
        if (index == NULL)
            continue;
        cache_expire_leases(index, now_ms(), SIZE_MAX);
        cache_index_stats s;
        cache_index_get_stats(index, &s);
        total.entries += s.entries;
        total.attached += s.attached;
        total.leases += s.leases;
        total.tags += s.tags;
        total.memberships += s.memberships;
    }
    reply_map(&c->reply, 5);
    reply_bulk_cstr(&c->reply, "entries");
    reply_integer(&c->reply, (int64_t)total.entries);
    reply_bulk_cstr(&c->reply, "attached");
    reply_integer(&c->reply, (int64_t)total.attached);
    reply_bulk_cstr(&c->reply, "leases");
    reply_integer(&c->reply, (int64_t)total.leases);
    reply_bulk_cstr(&c->reply, "tags");
    reply_integer(&c->reply, (int64_t)total.tags);
    reply_bulk_cstr(&c->reply, "memberships");
    reply_integer(&c->reply, (int64_t)total.memberships);
}

/* ---------- table rows ---------- */

const command cache_command_rows[] = {
    ROW("cache.get", -2, W | FAST | CMD_BLOCKING, C_W | C_STR | C_FAST | ACL_BLOCKING, 1, 1, 1,
        KEY_RW | KEY_ACCESS, command_cache_get, "cache", "0.1.0", "O(1)",
        "Reads a cache entry; hands one caller a lease to refill it when missing or stale."),
    ROW("cache.set", -5, W | DOOM, C_W | C_STR | C_SLOW, 1, 1, 1, KEY_RW | KEY_UPDATE,
        command_cache_set, "cache", "0.1.0", "O(T) where T is the number of tags",
        "Stores a cache entry with TTL, soft TTL and tags; with LEASE only if the lease holds."),
    ROW("cache.del", -2, W, C_KS | C_W | C_SLOW, 1, -1, 1, KEY_DEL, command_cache_del, "cache",
        "0.1.0", "O(N) where N is the number of keys",
        "Deletes cache entries and voids their leases."),
    ROW("cache.invalidate", -3, W, C_KS | C_W | C_SLOW, 0, 0, 0, 0, command_cache_invalidate,
        "cache", "0.1.0", "O(N) where N is the number of keys carrying the tags",
        "Deletes every cache entry carrying any of the tags."),
    ROW("cache.stats", 1, R | LOADING | STALE, C_SLOW, 0, 0, 0, 0, command_cache_stats, "cache",
        "0.1.0", "O(D) where D is the number of databases",
        "Counts what the cache's side indexes hold (entries, leases, tags)."),
    {0}};
