/* Pub/sub state. Every (client, name) pair is one `subscription` record that
 * sits in two places at once: in the client's set for that kind (a hash table
 * keyed by name, so SUBSCRIBE and UNSUBSCRIBE are O(1)) and in the channel's
 * dense array of subscribers (so PUBLISH walks a plain array). The record
 * knows its slot in that array, which makes removal a swap with the last
 * slot: O(1) however many subscribers a channel has. Delivery order among
 * different subscribers is therefore not the subscription order; what matters
 * to a subscriber, the order of its own messages, is the publish order.
 *
 * A channel (or pattern) exists only while someone listens to it. Patterns
 * are also kept in a dense array because PUBLISH must try every one. */
#include "rivet/pubsub.h"

#include <string.h>

#include "rivet/glob.h"
#include "rivet/hash.h"
#include "rivet/hashtable.h"
#include "rivet/memory.h"
#include "rivet/net.h"

typedef struct subscription subscription;

typedef struct channel {
    hashtable_node node; /* in the kind's global table */
    uint64_t hash;
    subscription **subscribers;
    size_t subscriber_count;
    size_t subscriber_cap;
    size_t pattern_slot; /* patterns only: index in the pattern array */
    size_t name_len;
    char name[];
} channel;

struct subscription {
    hashtable_node node; /* in the client's set of this kind */
    channel *channel;
    client *client;
    size_t slot; /* index in channel->subscribers */
};

struct pubsub_client {
    hashtable *sets[PUBSUB_KINDS];
};

static hashtable *tables[PUBSUB_KINDS];
static channel **patterns;
static size_t pattern_count, pattern_cap;

/* Message frames are rendered here once per publish and protocol, then
 * copied to each receiver: the buffers are reused, so steady-state
 * publishing allocates nothing of its own. */
static reply_writer frames[2];

static const char *const subscribe_verbs[PUBSUB_KINDS] = {"subscribe", "psubscribe", "ssubscribe"};
static const char *const unsubscribe_verbs[PUBSUB_KINDS] = {"unsubscribe", "punsubscribe",
                                                            "sunsubscribe"};
static const char *const message_verbs[PUBSUB_KINDS] = {"message", "pmessage", "smessage"};

/* ---------- hash table glue ---------- */

static int name_equals(const channel *ch, const void *key, size_t len)
{
    return ch->name_len == len && memcmp(ch->name, key, len) == 0;
}

static uint64_t channel_hash(const hashtable_node *node)
{
    return ((const channel *)node)->hash;
}

static int channel_has_key(const hashtable_node *node, const void *key, size_t len)
{
    return name_equals((const channel *)node, key, len);
}

static uint64_t subscription_hash(const hashtable_node *node)
{
    return ((const subscription *)node)->channel->hash;
}

static int subscription_has_key(const hashtable_node *node, const void *key, size_t len)
{
    return name_equals(((const subscription *)node)->channel, key, len);
}

static const hashtable_type channel_table_type = {channel_hash, channel_has_key};
static const hashtable_type subscription_set_type = {subscription_hash, subscription_has_key};

static hashtable *global_table(int kind)
{
    if (tables[kind] == NULL)
        tables[kind] = hashtable_create(&channel_table_type);
    return tables[kind];
}

static hashtable *client_set(const client *c, int kind)
{
    return c->pubsub ? c->pubsub->sets[kind] : NULL;
}

/* ---------- channels ---------- */

static channel *channel_create(int kind, uint64_t hash, const char *name, size_t len)
{
    channel *ch = mem_calloc(sizeof(*ch) + len + 1);
    ch->hash = hash;
    ch->name_len = len;
    memcpy(ch->name, name, len);
    hashtable_insert(global_table(kind), hash, &ch->node);
    if (kind == PUBSUB_PATTERN) {
        if (pattern_count == pattern_cap) {
            pattern_cap = pattern_cap ? pattern_cap * 2 : 16;
            patterns = mem_realloc(patterns, sizeof(*patterns) * pattern_cap);
        }
        ch->pattern_slot = pattern_count;
        patterns[pattern_count++] = ch;
    }
    return ch;
}

static void channel_destroy(int kind, channel *ch)
{
    hashtable_remove(tables[kind], ch->hash, ch->name, ch->name_len);
    if (kind == PUBSUB_PATTERN) {
        channel *last = patterns[--pattern_count];
        patterns[ch->pattern_slot] = last;
        last->pattern_slot = ch->pattern_slot;
        if (pattern_count == 0) {
            mem_free(patterns);
            patterns = NULL;
            pattern_cap = 0;
        }
    }
    mem_free(ch->subscribers);
    mem_free(ch);
}

static void channel_add_subscriber(channel *ch, subscription *s)
{
    if (ch->subscriber_count == ch->subscriber_cap) {
        ch->subscriber_cap = ch->subscriber_cap ? ch->subscriber_cap * 2 : 4;
        ch->subscribers =
            mem_realloc(ch->subscribers, sizeof(*ch->subscribers) * ch->subscriber_cap);
    }
    s->slot = ch->subscriber_count;
    ch->subscribers[ch->subscriber_count++] = s;
}

static void channel_remove_subscriber(channel *ch, subscription *s)
{
    subscription *last = ch->subscribers[--ch->subscriber_count];
    ch->subscribers[s->slot] = last;
    last->slot = s->slot;
}

/* ---------- subscribing ---------- */

int pubsub_subscribe(client *c, int kind, const char *name, size_t len)
{
    uint64_t hash = hash_bytes(name, len);
    hashtable *set = client_set(c, kind);
    if (set && hashtable_find(set, hash, name, len))
        return 0;
    if (c->pubsub == NULL)
        c->pubsub = mem_calloc(sizeof(*c->pubsub));
    if (set == NULL)
        set = c->pubsub->sets[kind] = hashtable_create(&subscription_set_type);
    channel *ch = (channel *)hashtable_find(global_table(kind), hash, name, len);
    if (ch == NULL)
        ch = channel_create(kind, hash, name, len);
    subscription *s = mem_alloc(sizeof(*s));
    s->channel = ch;
    s->client = c;
    channel_add_subscriber(ch, s);
    hashtable_insert(set, hash, &s->node);
    return 1;
}

/* Unlinks s from its channel and its client's set, and frees it (and the
 * channel, when s was its last subscriber). The client's state stays even if
 * now empty: the caller may hold an iterator on the set. */
static void drop_subscription(client *c, int kind, subscription *s)
{
    channel *ch = s->channel;
    hashtable_remove(c->pubsub->sets[kind], ch->hash, ch->name, ch->name_len);
    channel_remove_subscriber(ch, s);
    if (ch->subscriber_count == 0)
        channel_destroy(kind, ch);
    mem_free(s);
}

/* Frees c's state once it holds nothing, so "subscribed" is simply
 * c->pubsub != NULL. */
static void release_if_empty(client *c)
{
    if (c->pubsub == NULL)
        return;
    for (int kind = 0; kind < PUBSUB_KINDS; kind++)
        if (c->pubsub->sets[kind] && hashtable_size(c->pubsub->sets[kind]) > 0)
            return;
    for (int kind = 0; kind < PUBSUB_KINDS; kind++)
        if (c->pubsub->sets[kind])
            hashtable_destroy(c->pubsub->sets[kind], NULL);
    mem_free(c->pubsub);
    c->pubsub = NULL;
}

int pubsub_unsubscribe(client *c, int kind, const char *name, size_t len)
{
    hashtable *set = client_set(c, kind);
    if (set == NULL)
        return 0;
    subscription *s = (subscription *)hashtable_find(set, hash_bytes(name, len), name, len);
    if (s == NULL)
        return 0;
    drop_subscription(c, kind, s);
    release_if_empty(c);
    return 1;
}

size_t pubsub_client_count(const client *c, int kind)
{
    hashtable *set = client_set(c, kind);
    return set ? hashtable_size(set) : 0;
}

size_t pubsub_client_reply_count(const client *c, int kind)
{
    if (kind == PUBSUB_SHARD)
        return pubsub_client_count(c, PUBSUB_SHARD);
    return pubsub_client_count(c, PUBSUB_CHANNEL) + pubsub_client_count(c, PUBSUB_PATTERN);
}

/* ---------- replies ---------- */

static void reply_confirmation_head(client *c, const char *verb, const char *name, size_t len)
{
    reply_push(&c->reply, 3);
    reply_bulk_cstr(&c->reply, verb);
    reply_bulk(&c->reply, name, len);
}

void pubsub_subscribe_reply(client *c, int kind, const char *const *names, const size_t *lens,
                            int count)
{
    for (int i = 0; i < count; i++) {
        pubsub_subscribe(c, kind, names[i], lens[i]);
        reply_confirmation_head(c, subscribe_verbs[kind], names[i], lens[i]);
        reply_integer(&c->reply, (int64_t)pubsub_client_reply_count(c, kind));
    }
}

static void unsubscribe_all_reply(client *c, int kind)
{
    hashtable *set = client_set(c, kind);
    if (set == NULL || hashtable_size(set) == 0) {
        reply_push(&c->reply, 3);
        reply_bulk_cstr(&c->reply, unsubscribe_verbs[kind]);
        reply_null(&c->reply);
        reply_integer(&c->reply, (int64_t)pubsub_client_reply_count(c, kind));
        return;
    }
    /* The iterator tolerates removing the node it just returned; the state
     * itself is freed only after the iterator is closed. */
    hashtable_iterator it;
    hashtable_iterator_init(&it, set);
    hashtable_node *node;
    while ((node = hashtable_iterator_next(&it)) != NULL) {
        subscription *s = (subscription *)node;
        /* The name lives in the channel, which may go with the
         * subscription: write it first. */
        reply_confirmation_head(c, unsubscribe_verbs[kind], s->channel->name, s->channel->name_len);
        drop_subscription(c, kind, s);
        reply_integer(&c->reply, (int64_t)pubsub_client_reply_count(c, kind));
    }
    hashtable_iterator_release(&it);
    release_if_empty(c);
}

void pubsub_unsubscribe_reply(client *c, int kind, const char *const *names, const size_t *lens,
                              int count)
{
    if (count == 0) {
        unsubscribe_all_reply(c, kind);
        return;
    }
    for (int i = 0; i < count; i++) {
        pubsub_unsubscribe(c, kind, names[i], lens[i]);
        reply_confirmation_head(c, unsubscribe_verbs[kind], names[i], lens[i]);
        reply_integer(&c->reply, (int64_t)pubsub_client_reply_count(c, kind));
    }
}

void pubsub_client_release(client *c)
{
    if (c->pubsub == NULL)
        return;
    for (int kind = 0; kind < PUBSUB_KINDS; kind++) {
        hashtable *set = c->pubsub->sets[kind];
        if (set == NULL)
            continue;
        hashtable_iterator it;
        hashtable_iterator_init(&it, set);
        hashtable_node *node;
        while ((node = hashtable_iterator_next(&it)) != NULL)
            drop_subscription(c, kind, (subscription *)node);
        hashtable_iterator_release(&it);
    }
    release_if_empty(c);
}

int pubsub_reply_ping(client *c)
{
    if (c->pubsub == NULL || client_protocol(c) != 2)
        return 0;
    reply_array(&c->reply, 2);
    reply_bulk(&c->reply, "pong", 4);
    if (c->argc > 1)
        reply_bulk(&c->reply, c->argv[1], c->argv_len[1]);
    else
        reply_bulk(&c->reply, "", 0);
    return 1;
}

/* ---------- publishing ---------- */

/* Renders [verb, (pattern,) channel, message] for both protocols. */
static void render_frames(int kind, const channel *pattern, const char *name, size_t len,
                          const char *message, size_t message_len)
{
    for (int p = 0; p < 2; p++) {
        reply_writer *w = &frames[p];
        w->protocol = p + 2;
        buffer_clear(&w->out);
        reply_push(w, pattern ? 4 : 3);
        reply_bulk_cstr(w, message_verbs[kind]);
        if (pattern)
            reply_bulk(w, pattern->name, pattern->name_len);
        reply_bulk(w, name, len);
        reply_bulk(w, message, message_len);
    }
}

static void deliver_all(const channel *ch)
{
    for (size_t i = 0; i < ch->subscriber_count; i++) {
        client *c = ch->subscribers[i]->client;
        /* A client already being closed (e.g. over its output limit) must
         * not grow further; it still counts as a receiver, as in Redis. */
        if (c->flags & CLIENT_CLOSE_ASAP)
            continue;
        const buffer *frame = &frames[client_protocol(c) == 3 ? 1 : 0].out;
        buffer_append(&c->reply.out, frame->data, frame->len);
        net_client_dirty(c);
    }
}

size_t pubsub_publish(int kind, const char *name, size_t len, const char *message,
                      size_t message_len)
{
    size_t receivers = 0;
    if (kind == PUBSUB_PATTERN)
        return 0;
    if (tables[kind] && hashtable_size(tables[kind]) > 0) {
        channel *ch = (channel *)hashtable_find(tables[kind], hash_bytes(name, len), name, len);
        if (ch) {
            render_frames(kind, NULL, name, len, message, message_len);
            deliver_all(ch);
            receivers += ch->subscriber_count;
        }
    }
    if (kind != PUBSUB_CHANNEL)
        return receivers;
    for (size_t i = 0; i < pattern_count; i++) {
        channel *pattern = patterns[i];
        if (!glob_match(pattern->name, pattern->name_len, name, len, 0))
            continue;
        render_frames(PUBSUB_PATTERN, pattern, name, len, message, message_len);
        deliver_all(pattern);
        receivers += pattern->subscriber_count;
    }
    return receivers;
}

/* ---------- introspection ---------- */

size_t pubsub_name_count(int kind)
{
    return tables[kind] ? hashtable_size(tables[kind]) : 0;
}

size_t pubsub_subscriber_count(int kind, const char *name, size_t len)
{
    if (tables[kind] == NULL)
        return 0;
    channel *ch = (channel *)hashtable_find(tables[kind], hash_bytes(name, len), name, len);
    return ch ? ch->subscriber_count : 0;
}

void pubsub_for_each_name(int kind, pubsub_name_visit visit, void *ctx)
{
    if (tables[kind] == NULL)
        return;
    hashtable_iterator it;
    hashtable_iterator_init(&it, tables[kind]);
    hashtable_node *node;
    while ((node = hashtable_iterator_next(&it)) != NULL) {
        const channel *ch = (const channel *)node;
        visit(ctx, ch->name, ch->name_len);
    }
    hashtable_iterator_release(&it);
}
