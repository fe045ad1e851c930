/* Client-side caching. Three tables:
 *  - keys:     key name -> sorted ids of the clients that read it (default
 *              mode). An entry is dropped when its key changes: the clients
 *              are told once and must read the key again to hear of it again.
 *  - clients:  id -> tracking state, for every client with tracking on, so an
 *              id taken from the key table resolves in O(1). Ids of clients
 *              that turned tracking off or left are skipped when met.
 *  - prefixes: broadcast mode; each prefix lists its clients and collects
 *              the changed keys that start with it until the end of the
 *              event-loop iteration, when each client gets one message.
 * The wire shapes (push vs. redirected pub/sub message, null on flush, the
 * order of invalidations after the reply of the command that caused them)
 * follow Redis byte for byte; tests/compat/scripts/tracking.txt checks them. */
#include "rivet/tracking.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rivet/buffer.h"
#include "rivet/command.h"
#include "rivet/hash.h"
#include "rivet/hashtable.h"
#include "rivet/memory.h"
#include "rivet/net.h"
#include "rivet/pubsub.h"
#include "rivet/server.h"

typedef struct tracked_key {
    hashtable_node node;
    uint64_t hash;
    uint64_t *ids; /* ascending */
    uint32_t count, cap;
    size_t len;
    char name[];
} tracked_key;

typedef struct pending_key {
    char *name;
    size_t len;
    uint64_t modifier; /* client id that changed it; 0 when several did */
} pending_key;

typedef struct broadcast_prefix {
    char *name;
    size_t len;
    client **clients;
    size_t client_count, client_cap;
    pending_key *pending;
    size_t pending_count, pending_cap;
} broadcast_prefix;

typedef struct tracking_client {
    hashtable_node node; /* in tracking_state.clients, by id */
    client *owner;
    int options;
    int caching; /* CLIENT CACHING seen; lasts for the next command */
    int broken_redirect;
    uint64_t redirect;
    broadcast_prefix **prefixes; /* broadcast mode: the ones it joined */
    int prefix_count;
} tracking_client;

/* Invalidations of keys the running client changed itself wait until its
 * reply is written. A NULL name stands for "everything" (a flush). */
typedef struct deferred_key {
    char *name;
    size_t len;
} deferred_key;

static struct tracking_state {
    hashtable *keys;
    size_t items; /* sum of ids over all keys */
    hashtable *clients;
    broadcast_prefix **prefixes;
    size_t prefix_count, prefix_cap;
    deferred_key *deferred;
    size_t deferred_count, deferred_cap;
    client *deferred_for;
} state;

/* ---------- tables ---------- */

static uint64_t key_node_hash(const hashtable_node *node)
{
    return ((const tracked_key *)node)->hash;
}

static int key_node_has(const hashtable_node *node, const void *key, size_t len)
{
    const tracked_key *k = (const tracked_key *)node;
    return k->len == len && memcmp(k->name, key, len) == 0;
}

static const hashtable_type key_table_type = {key_node_hash, key_node_has};

static uint64_t client_node_hash(const hashtable_node *node)
{
    uint64_t id = ((const tracking_client *)node)->owner->id;
    return hash_bytes(&id, sizeof(id));
}

static int client_node_has(const hashtable_node *node, const void *key, size_t len)
{
    (void)len;
    return ((const tracking_client *)node)->owner->id == *(const uint64_t *)key;
}

static const hashtable_type client_table_type = {client_node_hash, client_node_has};

static tracking_client *client_by_id(uint64_t id)
{
    if (state.clients == NULL)
        return NULL;
    return (tracking_client *)hashtable_find(state.clients, hash_bytes(&id, sizeof(id)), &id,
                                             sizeof(id));
}

static void tracked_key_free(hashtable_node *node)
{
    tracked_key *k = (tracked_key *)node;
    state.items -= k->count;
    mem_free(k->ids);
    mem_free(k);
}

/* ---------- sending ---------- */

static void append_bulk(buffer *out, const char *data, size_t len)
{
    buffer_appendf(out, "$%zu\r\n", len);
    buffer_append(out, data, len);
    buffer_append(out, "\r\n", 2);
}

/* Sends one invalidation whose body (array of keys, or null) is already
 * rendered, to c or to the client it redirects to. */
static void deliver(client *c, const char *body, size_t body_len)
{
    tracking_client *t = c->tracking;
    client *target = c;
    if (t->redirect != 0) {
        target = net_find_client(t->redirect);
        if (target == NULL) {
            /* The redirect target left: say so to a client that can hear it. */
            t->broken_redirect = 1;
            if (client_protocol(c) >= 3) {
                buffer_appendf(&c->reply.out, ">2\r\n$21\r\ntracking-redir-broken\r\n:%llu\r\n",
                               (unsigned long long)t->redirect);
                net_client_dirty(c);
            }
            return;
        }
    }
    static const char push_head[] = ">2\r\n$10\r\ninvalidate\r\n";
    static const char message_head[] = "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n";
    buffer *out = &target->reply.out;
    if (client_protocol(target) >= 3)
        buffer_append(out, push_head, sizeof(push_head) - 1);
    else if (t->redirect != 0 && pubsub_client_subscribed(target))
        buffer_append(out, message_head, sizeof(message_head) - 1);
    else
        return; /* RESP2 without a subscribed redirect: nowhere to say it */
    buffer_append(out, body, body_len);
    net_client_dirty(target);
}

static void deliver_key(client *c, const char *key, size_t len)
{
    char head[32];
    int n = snprintf(head, sizeof(head), "*1\r\n$%zu\r\n", len);
    buffer body;
    buffer_init(&body);
    buffer_append(&body, head, (size_t)n);
    buffer_append(&body, key, len);
    buffer_append(&body, "\r\n", 2);
    deliver(c, body.data, body.len);
    buffer_release(&body);
}

static void deliver_flush(client *c)
{
    /* The null is in the tracking client's protocol, as Redis writes it. */
    if (client_protocol(c) >= 3)
        deliver(c, "_\r\n", 3);
    else
        deliver(c, "$-1\r\n", 5);
}

static void defer(client *c, const char *key, size_t len)
{
    if (state.deferred_for != c) {
        for (size_t i = 0; i < state.deferred_count; i++)
            mem_free(state.deferred[i].name);
        state.deferred_count = 0;
        state.deferred_for = c;
    }
    if (state.deferred_count == state.deferred_cap) {
        state.deferred_cap = state.deferred_cap ? state.deferred_cap * 2 : 8;
        state.deferred = mem_realloc(state.deferred, state.deferred_cap * sizeof(*state.deferred));
    }
    deferred_key *d = &state.deferred[state.deferred_count++];
    d->name = NULL;
    d->len = 0;
    if (key != NULL) {
        d->name = mem_alloc(len ? len : 1);
        memcpy(d->name, key, len);
        d->len = len;
    }
}

/* ---------- enabling ---------- */

static int prefixes_overlap(const char *a, size_t a_len, const char *b, size_t b_len)
{
    size_t n = a_len < b_len ? a_len : b_len;
    return memcmp(a, b, n) == 0;
}

static char *overlap_error(const char *kind, const char *p, size_t p_len, const char *q,
                           size_t q_len)
{
    size_t size = p_len + q_len + 160;
    char *text = mem_alloc(size);
    snprintf(text, size,
             "ERR Prefix '%.*s' overlaps with %s prefix '%.*s'. Prefixes for a single client "
             "must not overlap.",
             (int)p_len, p, kind, (int)q_len, q);
    return text;
}

static int prefix_name_compare(const void *a, const void *b)
{
    const broadcast_prefix *x = *(broadcast_prefix *const *)a;
    const broadcast_prefix *y = *(broadcast_prefix *const *)b;
    size_t n = x->len < y->len ? x->len : y->len;
    int cmp = memcmp(x->name, y->name, n);
    if (cmp != 0)
        return cmp;
    return x->len < y->len ? -1 : x->len > y->len;
}

static broadcast_prefix *prefix_find(const char *name, size_t len)
{
    for (size_t i = 0; i < state.prefix_count; i++)
        if (state.prefixes[i]->len == len && memcmp(state.prefixes[i]->name, name, len) == 0)
            return state.prefixes[i];
    return NULL;
}

static void prefix_join(tracking_client *t, const char *name, size_t len)
{
    for (int i = 0; i < t->prefix_count; i++)
        if (t->prefixes[i]->len == len && memcmp(t->prefixes[i]->name, name, len) == 0)
            return;
    broadcast_prefix *p = prefix_find(name, len);
    if (p == NULL) {
        p = mem_calloc(sizeof(*p));
        p->name = mem_alloc(len ? len : 1);
        memcpy(p->name, name, len);
        p->len = len;
        if (state.prefix_count == state.prefix_cap) {
            state.prefix_cap = state.prefix_cap ? state.prefix_cap * 2 : 4;
            state.prefixes =
                mem_realloc(state.prefixes, state.prefix_cap * sizeof(*state.prefixes));
        }
        /* Kept in byte order: broadcasts go out prefix by prefix in that
         * order, as Redis's radix tree walks them. */
        size_t at = 0;
        while (at < state.prefix_count && prefix_name_compare(&state.prefixes[at], &p) < 0)
            at++;
        memmove(state.prefixes + at + 1, state.prefixes + at,
                (state.prefix_count - at) * sizeof(*state.prefixes));
        state.prefixes[at] = p;
        state.prefix_count++;
    }
    if (p->client_count == p->client_cap) {
        p->client_cap = p->client_cap ? p->client_cap * 2 : 4;
        p->clients = mem_realloc(p->clients, p->client_cap * sizeof(*p->clients));
    }
    p->clients[p->client_count++] = t->owner;
    t->prefixes = mem_realloc(t->prefixes, (size_t)(t->prefix_count + 1) * sizeof(*t->prefixes));
    t->prefixes[t->prefix_count++] = p;
}

static void prefix_free(broadcast_prefix *p)
{
    for (size_t i = 0; i < p->pending_count; i++)
        mem_free(p->pending[i].name);
    mem_free(p->pending);
    mem_free(p->clients);
    mem_free(p->name);
    mem_free(p);
}

static void prefix_leave(tracking_client *t, broadcast_prefix *p)
{
    for (size_t i = 0; i < p->client_count; i++) {
        if (p->clients[i] == t->owner) {
            p->clients[i] = p->clients[--p->client_count];
            break;
        }
    }
    if (p->client_count > 0)
        return;
    for (size_t i = 0; i < state.prefix_count; i++) {
        if (state.prefixes[i] == p) {
            memmove(state.prefixes + i, state.prefixes + i + 1,
                    (state.prefix_count - i - 1) * sizeof(*state.prefixes));
            state.prefix_count--;
            break;
        }
    }
    prefix_free(p);
}

/* Redis's checks, in its order: mode switches, then overlaps among the new
 * prefixes and with the ones the client already has. */
static int check_enable(const client *c, int options, const char *const *prefixes,
                        const size_t *lens, int count, char **error)
{
    const tracking_client *t = c->tracking;
    if (t && (options & TRACKING_BCAST) != (t->options & TRACKING_BCAST)) {
        *error = "ERR You can't switch BCAST mode on/off before disabling tracking for this "
                 "client, and then re-enabling it with a different mode.";
        return -1;
    }
    if ((options & TRACKING_BCAST) && (options & (TRACKING_OPTIN | TRACKING_OPTOUT))) {
        *error = "ERR OPTIN and OPTOUT are not compatible with BCAST";
        return -1;
    }
    if ((options & TRACKING_OPTIN) && (options & TRACKING_OPTOUT)) {
        *error = "ERR You can't specify both OPTIN mode and OPTOUT mode";
        return -1;
    }
    if (t && (((options & TRACKING_OPTIN) && (t->options & TRACKING_OPTOUT)) ||
              ((options & TRACKING_OPTOUT) && (t->options & TRACKING_OPTIN)))) {
        *error = "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this "
                 "client, and then re-enabling it with a different mode.";
        return -1;
    }
    if (!(options & TRACKING_BCAST))
        return 0;
    for (int i = 0; i < count; i++) {
        if (t) {
            for (int j = 0; j < t->prefix_count; j++) {
                const broadcast_prefix *p = t->prefixes[j];
                if (prefixes_overlap(prefixes[i], lens[i], p->name, p->len)) {
                    *error = overlap_error("an existing", prefixes[i], lens[i], p->name, p->len);
                    return -2;
                }
            }
        }
        for (int j = i + 1; j < count; j++) {
            if (prefixes_overlap(prefixes[i], lens[i], prefixes[j], lens[j])) {
                *error =
                    overlap_error("another provided", prefixes[i], lens[i], prefixes[j], lens[j]);
                return -2;
            }
        }
    }
    return 0;
}

int tracking_enable(client *c, int options, uint64_t redirect, const char *const *prefixes,
                    const size_t *prefix_lens, int prefix_count, char **error)
{
    *error = NULL;
    int status = check_enable(c, options, prefixes, prefix_lens, prefix_count, error);
    if (status == -2) {
        return -1; /* *error was allocated */
    }
    if (status != 0) {
        /* A static text: copy so the caller frees every error the same way. */
        *error = mem_strdup(*error);
        return -1;
    }
    if (state.clients == NULL) {
        state.clients = hashtable_create(&client_table_type);
        state.keys = hashtable_create(&key_table_type);
    }
    tracking_client *t = c->tracking;
    if (t == NULL) {
        t = mem_calloc(sizeof(*t));
        t->owner = c;
        c->tracking = t;
        hashtable_insert(state.clients, hash_bytes(&c->id, sizeof(c->id)), &t->node);
    }
    t->options = options;
    t->redirect = redirect;
    t->broken_redirect = 0;
    if (options & TRACKING_BCAST) {
        if (prefix_count == 0) /* BCAST alone means every key */
            prefix_join(t, "", 0);
        for (int i = 0; i < prefix_count; i++)
            prefix_join(t, prefixes[i], prefix_lens[i]);
    }
    return 0;
}

void tracking_error_free(char *error)
{
    mem_free(error);
}

void tracking_disable(client *c)
{
    tracking_client *t = c->tracking;
    if (t == NULL)
        return;
    for (int i = 0; i < t->prefix_count; i++)
        prefix_leave(t, t->prefixes[i]);
    mem_free(t->prefixes);
    hashtable_remove(state.clients, hash_bytes(&c->id, sizeof(c->id)), &c->id, sizeof(c->id));
    if (state.deferred_for == c)
        state.deferred_for = NULL;
    mem_free(t);
    c->tracking = NULL;
}

int tracking_set_caching(client *c, int yes, const char **error)
{
    tracking_client *t = c->tracking;
    if (t == NULL) {
        *error = "ERR CLIENT CACHING can be called only when the client is in tracking mode "
                 "with OPTIN or OPTOUT mode enabled";
        return -1;
    }
    if (yes < 0) {
        *error = "ERR syntax error";
        return -1;
    }
    if (yes && !(t->options & TRACKING_OPTIN)) {
        *error = "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.";
        return -1;
    }
    if (!yes && !(t->options & TRACKING_OPTOUT)) {
        *error = "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.";
        return -1;
    }
    t->caching = 1;
    return 0;
}

/* ---------- remembering reads ---------- */

static void evict_over_limit(void);

static void remember_key(client *c, const char *key, size_t len)
{
    uint64_t hash = hash_bytes(key, len);
    tracked_key *k = (tracked_key *)hashtable_find(state.keys, hash, key, len);
    if (k == NULL) {
        k = mem_alloc(sizeof(*k) + len);
        memset(k, 0, sizeof(*k));
        k->hash = hash;
        k->len = len;
        memcpy(k->name, key, len);
        hashtable_insert(state.keys, hash, &k->node);
    }
    /* Ids only grow, so a client reading again is usually the last one. */
    uint32_t lo = 0, hi = k->count;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (k->ids[mid] < c->id)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < k->count && k->ids[lo] == c->id)
        return;
    if (k->count == k->cap) {
        k->cap = k->cap ? k->cap * 2 : 2;
        k->ids = mem_realloc(k->ids, k->cap * sizeof(*k->ids));
    }
    memmove(k->ids + lo + 1, k->ids + lo, (k->count - lo) * sizeof(*k->ids));
    k->ids[lo] = c->id;
    k->count++;
    state.items++;
}

void tracking_remember_keys(client *c, const command *cmd)
{
    tracking_client *t = c->tracking;
    if (t->options & TRACKING_BCAST)
        return;
    if ((t->options & TRACKING_OPTIN) && !t->caching)
        return;
    if ((t->options & TRACKING_OPTOUT) && t->caching)
        return;
    int local[16];
    int *positions = local;
    int n = command_get_keys(cmd, c->argc, c->argv, c->argv_len, positions, 16);
    if (n >= 16 && c->argc > 16) {
        positions = mem_alloc(sizeof(int) * (size_t)c->argc);
        n = command_get_keys(cmd, c->argc, c->argv, c->argv_len, positions, c->argc);
    }
    for (int i = 0; i < n; i++)
        remember_key(c, c->argv[positions[i]], c->argv_len[positions[i]]);
    if (positions != local)
        mem_free(positions);
    evict_over_limit();
}

/* ---------- invalidating ---------- */

static void invalidate_tracked(client *current, tracked_key *k)
{
    for (uint32_t i = 0; i < k->count; i++) {
        tracking_client *t = client_by_id(k->ids[i]);
        if (t == NULL || (t->options & TRACKING_BCAST))
            continue;
        client *target = t->owner;
        if (target == current) {
            if (t->options & TRACKING_NOLOOP)
                continue;
            defer(target, k->name, k->len);
        } else {
            deliver_key(target, k->name, k->len);
        }
    }
}

/* tracking-table-max-keys: past the limit, random keys are invalidated (their
 * readers are told, so their caches stay correct) until the table fits. */
static void evict_over_limit(void)
{
    int64_t max = server.config.tracking_table_max_keys;
    if (max <= 0)
        return;
    while (hashtable_size(state.keys) > (size_t)max) {
        tracked_key *k = (tracked_key *)hashtable_random(state.keys, server_random());
        if (k == NULL)
            break;
        hashtable_remove(state.keys, k->hash, k->name, k->len);
        invalidate_tracked(NULL, k);
        tracked_key_free(&k->node);
    }
}

static void queue_broadcast(client *current, const char *key, size_t len)
{
    uint64_t modifier = current ? current->id : 0;
    for (size_t i = 0; i < state.prefix_count; i++) {
        broadcast_prefix *p = state.prefixes[i];
        if (len < p->len || memcmp(key, p->name, p->len) != 0)
            continue;
        if (p->pending_count == p->pending_cap) {
            p->pending_cap = p->pending_cap ? p->pending_cap * 2 : 8;
            p->pending = mem_realloc(p->pending, p->pending_cap * sizeof(*p->pending));
        }
        pending_key *pk = &p->pending[p->pending_count++];
        pk->name = mem_alloc(len ? len : 1);
        memcpy(pk->name, key, len);
        pk->len = len;
        pk->modifier = modifier;
    }
}

void tracking_key_modified(client *current, const char *key, size_t key_len)
{
    if (state.prefix_count > 0)
        queue_broadcast(current, key, key_len);
    if (state.keys == NULL || hashtable_size(state.keys) == 0)
        return;
    uint64_t hash = hash_bytes(key, key_len);
    tracked_key *k = (tracked_key *)hashtable_remove(state.keys, hash, key, key_len);
    if (k == NULL)
        return;
    invalidate_tracked(current, k);
    tracked_key_free(&k->node);
}

void tracking_flushed(void)
{
    if (state.clients == NULL)
        return;
    hashtable_iterator it;
    hashtable_iterator_init(&it, state.clients);
    hashtable_node *node;
    while ((node = hashtable_iterator_next(&it)) != NULL) {
        client *c = ((tracking_client *)node)->owner;
        if (c == server.current_client)
            defer(c, NULL, 0);
        else
            deliver_flush(c);
    }
    hashtable_iterator_release(&it);
    hashtable_clear(state.keys, tracked_key_free);
}

void tracking_after_command(client *c, const command *cmd)
{
    if (state.deferred_for == c) {
        /* Entries are taken one by one: delivering cannot add more. */
        for (size_t i = 0; i < state.deferred_count; i++) {
            deferred_key *d = &state.deferred[i];
            if (c->tracking) {
                if (d->name == NULL)
                    deliver_flush(c);
                else
                    deliver_key(c, d->name, d->len);
            }
            mem_free(d->name);
        }
        state.deferred_count = 0;
        state.deferred_for = NULL;
    }
    /* CLIENT CACHING applies to the command after it (a whole MULTI block
     * counts as one). */
    if (c->tracking && !(c->flags & CLIENT_MULTI) &&
        !(cmd && cmd->parent && strcmp(cmd->parent->name, "client") == 0 &&
          strcmp(cmd->name, "caching") == 0))
        c->tracking->caching = 0;
}

/* ---------- broadcast mode ---------- */

static int pending_compare(const void *a, const void *b)
{
    const pending_key *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int cmp = memcmp(x->name, y->name, n);
    if (cmp != 0)
        return cmp;
    return x->len < y->len ? -1 : x->len > y->len;
}

/* Sorted, with duplicates merged (a key changed by two clients counts as
 * changed by "someone", so NOLOOP does not hide it). */
static void pending_normalize(broadcast_prefix *p)
{
    qsort(p->pending, p->pending_count, sizeof(*p->pending), pending_compare);
    size_t out = 0;
    for (size_t i = 0; i < p->pending_count; i++) {
        if (out > 0 && pending_compare(&p->pending[out - 1], &p->pending[i]) == 0) {
            if (p->pending[out - 1].modifier != p->pending[i].modifier)
                p->pending[out - 1].modifier = 0;
            mem_free(p->pending[i].name);
            continue;
        }
        p->pending[out++] = p->pending[i];
    }
    p->pending_count = out;
}

static void render_keys(buffer *body, const broadcast_prefix *p, uint64_t skip_modifier)
{
    size_t count = 0;
    for (size_t i = 0; i < p->pending_count; i++)
        if (skip_modifier == 0 || p->pending[i].modifier != skip_modifier)
            count++;
    body->len = 0;
    if (count == 0)
        return;
    buffer_appendf(body, "*%zu\r\n", count);
    for (size_t i = 0; i < p->pending_count; i++)
        if (skip_modifier == 0 || p->pending[i].modifier != skip_modifier)
            append_bulk(body, p->pending[i].name, p->pending[i].len);
}

void tracking_send_broadcasts(void)
{
    buffer all, own;
    int rendered = 0;
    for (size_t i = 0; i < state.prefix_count; i++) {
        broadcast_prefix *p = state.prefixes[i];
        if (p->pending_count == 0)
            continue;
        if (!rendered) {
            buffer_init(&all);
            buffer_init(&own);
            rendered = 1;
        }
        pending_normalize(p);
        render_keys(&all, p, 0);
        for (size_t j = 0; j < p->client_count; j++) {
            client *c = p->clients[j];
            if (c->tracking->options & TRACKING_NOLOOP) {
                render_keys(&own, p, c->id);
                if (own.len > 0)
                    deliver(c, own.data, own.len);
            } else {
                deliver(c, all.data, all.len);
            }
        }
        for (size_t j = 0; j < p->pending_count; j++)
            mem_free(p->pending[j].name);
        p->pending_count = 0;
    }
    if (rendered) {
        buffer_release(&all);
        buffer_release(&own);
    }
}

/* ---------- introspection ---------- */

int64_t tracking_redirect(const client *c)
{
    return c->tracking ? (int64_t)c->tracking->redirect : -1;
}

void tracking_reply_info(client *c)
{
    const tracking_client *t = c->tracking;
    const char *flags[8];
    int n = 0;
    if (t == NULL) {
        flags[n++] = "off";
    } else {
        flags[n++] = "on";
        if (t->options & TRACKING_BCAST)
            flags[n++] = "bcast";
        if (t->options & TRACKING_OPTIN)
            flags[n++] = "optin";
        if (t->options & TRACKING_OPTOUT)
            flags[n++] = "optout";
        if (t->caching)
            flags[n++] = (t->options & TRACKING_OPTIN) ? "caching-yes" : "caching-no";
        if (t->options & TRACKING_NOLOOP)
            flags[n++] = "noloop";
        if (t->broken_redirect)
            flags[n++] = "broken_redirect";
    }
    reply_map(&c->reply, 3);
    reply_bulk_cstr(&c->reply, "flags");
    reply_set(&c->reply, (size_t)n);
    for (int i = 0; i < n; i++)
        reply_bulk_cstr(&c->reply, flags[i]);
    reply_bulk_cstr(&c->reply, "redirect");
    reply_integer(&c->reply, tracking_redirect(c));
    reply_bulk_cstr(&c->reply, "prefixes");
    int count = t ? t->prefix_count : 0;
    reply_array(&c->reply, (size_t)count);
    if (count == 0)
        return;
    broadcast_prefix **sorted = mem_alloc((size_t)count * sizeof(*sorted));
    memcpy(sorted, t->prefixes, (size_t)count * sizeof(*sorted));
    qsort(sorted, (size_t)count, sizeof(*sorted), prefix_name_compare);
    for (int i = 0; i < count; i++)
        reply_bulk(&c->reply, sorted[i]->name, sorted[i]->len);
    mem_free(sorted);
}

int tracking_client_flags(const client *c, char *out)
{
    int n = 0;
    if (c->tracking == NULL)
        return 0;
    out[n++] = 't';
    if (c->tracking->broken_redirect)
        out[n++] = 'R';
    if (c->tracking->options & TRACKING_BCAST)
        out[n++] = 'B';
    return n;
}

size_t tracking_client_count(void)
{
    return state.clients ? hashtable_size(state.clients) : 0;
}

size_t tracking_key_count(void)
{
    return state.keys ? hashtable_size(state.keys) : 0;
}

size_t tracking_item_count(void)
{
    return state.items;
}

size_t tracking_prefix_count(void)
{
    return state.prefix_count;
}

void tracking_release(void)
{
    if (state.keys)
        hashtable_destroy(state.keys, tracked_key_free);
    if (state.clients)
        hashtable_destroy(state.clients, NULL);
    for (size_t i = 0; i < state.prefix_count; i++)
        prefix_free(state.prefixes[i]);
    mem_free(state.prefixes);
    for (size_t i = 0; i < state.deferred_count; i++)
        mem_free(state.deferred[i].name);
    mem_free(state.deferred);
    memset(&state, 0, sizeof(state));
}
