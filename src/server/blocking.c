/* Blocked clients. Each waited-for key has a FIFO queue of waiters (one per
 * blocked client); a write to such a key puts its queue on the ready list,
 * and after the current command the queued clients' commands run again in
 * arrival order. Re-running the command (rather than handing it a value)
 * keeps every blocking command's semantics inside its own handler, as Redis
 * 7 does. Deadlines live in a timing wheel. */
#include "rivet/aof.h"
#include "rivet/blocking.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "rivet/hash.h"
#include "rivet/hashtable.h"
#include "rivet/memory.h"
#include "rivet/net.h"
#include "rivet/number.h"
#include "rivet/server.h"
#include "rivet/wheel.h"

typedef struct key_queue key_queue;

typedef struct waiter {
    struct waiter *prev, *next; /* in the key's queue */
    key_queue *queue;
    client *client;
} waiter;

/* Queue of the clients waiting for one key of one database; the table key is
 * the database id (4 bytes) followed by the key bytes. */
struct key_queue {
    hashtable_node link;
    waiter *head, *tail;
    size_t count;
    database *db;
    int ready;
    size_t name_len;
    char name[];
};

typedef struct blocked_state {
    wheel_timer timer; /* first: the wheel hands back this address */
    client *client;
    database *db;
    const command *command;
    int argc;
    char **argv;
    size_t *argv_len;
    waiter **waiters;
    int waiter_count;
    blocking_timeout_fn on_timeout;
    blocking_release_fn on_release;
    int retrying;
} blocked_state;

/* A scheduled re-check of one key's waiters (blocking_wake_at). */
typedef struct key_alarm {
    wheel_timer timer; /* first: the wheel hands back this address */
    database *db;
    size_t key_len;
    char key[];
} key_alarm;

typedef struct blocking_state {
    hashtable *queues;
    wheel *timers;
    wheel *alarms;
    key_queue **ready;
    size_t ready_count, ready_cap;
    size_t blocked_clients;
} blocking_state;

static blocking_state state;

static uint64_t queue_hash(const hashtable_node *node)
{
    const key_queue *q = (const key_queue *)node;
    return hash_bytes(q->name, q->name_len);
}

static int queue_has_key(const hashtable_node *node, const void *key, size_t len)
{
    const key_queue *q = (const key_queue *)node;
    return q->name_len == len && memcmp(q->name, key, len) == 0;
}

static const hashtable_type queue_table_type = {queue_hash, queue_has_key};

void blocking_init(void)
{
    state.queues = hashtable_create(&queue_table_type);
    state.timers = wheel_create(server.now_ms);
    state.alarms = wheel_create(server.now_ms);
}

static void free_alarm(void *ctx, wheel_timer *timer)
{
    (void)ctx;
    mem_free(timer);
}

static void free_queue(hashtable_node *node)
{
    mem_free(node);
}

void blocking_release(void)
{
    if (state.queues)
        hashtable_destroy(state.queues, free_queue);
    if (state.timers)
        wheel_destroy(state.timers);
    if (state.alarms) {
        /* Unfired alarms are owned here: fire them all into the bin. */
        wheel_advance(state.alarms, INT64_MAX, SIZE_MAX, free_alarm, NULL);
        wheel_destroy(state.alarms);
    }
    mem_free(state.ready);
    memset(&state, 0, sizeof(state));
}

/* Builds "db id + key" in buf (or a fresh allocation when large). */
static char *queue_name(database *db, const char *key, size_t len, char *small, size_t small_size,
                        size_t *name_len)
{
    *name_len = len + 4;
    char *name = *name_len <= small_size ? small : mem_alloc(*name_len);
    uint32_t id = (uint32_t)database_id(db);
    memcpy(name, &id, 4);
    memcpy(name + 4, key, len);
    return name;
}

static key_queue *find_queue(database *db, const char *key, size_t len, int create)
{
    char small[128];
    size_t name_len;
    char *name = queue_name(db, key, len, small, sizeof(small), &name_len);
    uint64_t hash = hash_bytes(name, name_len);
    key_queue *q = (key_queue *)hashtable_find(state.queues, hash, name, name_len);
    if (q == NULL && create) {
        q = mem_calloc(sizeof(*q) + name_len);
        q->db = db;
        q->name_len = name_len;
        memcpy(q->name, name, name_len);
        hashtable_insert(state.queues, hash, &q->link);
    }
    if (name != small)
        mem_free(name);
    return q;
}

static void drop_queue_if_empty(key_queue *q)
{
    if (q->head != NULL || q->ready)
        return;
    hashtable_remove(state.queues, hash_bytes(q->name, q->name_len), q->name, q->name_len);
    mem_free(q);
}

void blocking_block(client *c, const int *key_indexes, int key_count, int64_t deadline_ms,
                    blocking_timeout_fn on_timeout)
{
    blocked_state *st = mem_calloc(sizeof(*st));
    st->client = c;
    st->db = c->db;
    st->command = c->command;
    st->on_timeout = on_timeout;
    /* argv points into the query buffer, which moves on: keep copies. */
    st->argc = c->argc;
    st->argv = mem_alloc(sizeof(char *) * (size_t)c->argc);
    st->argv_len = mem_alloc(sizeof(size_t) * (size_t)c->argc);
    for (int i = 0; i < c->argc; i++) {
        st->argv[i] = mem_dup(c->argv[i], c->argv_len[i] + 1);
        st->argv[i][c->argv_len[i]] = '\0';
        st->argv_len[i] = c->argv_len[i];
    }
    st->waiters = mem_alloc(sizeof(waiter *) * (size_t)key_count);
    for (int k = 0; k < key_count; k++) {
        key_queue *q = find_queue(c->db, c->argv[key_indexes[k]], c->argv_len[key_indexes[k]], 1);
        int duplicate = 0;
        for (int j = 0; j < st->waiter_count; j++)
            if (st->waiters[j]->queue == q)
                duplicate = 1;
        if (duplicate)
            continue;
        waiter *w = mem_calloc(sizeof(*w));
        w->client = c;
        w->queue = q;
        w->prev = q->tail;
        if (q->tail)
            q->tail->next = w;
        else
            q->head = w;
        q->tail = w;
        q->count++;
        st->waiters[st->waiter_count++] = w;
    }
    wheel_timer_init(&st->timer);
    if (deadline_ms > 0)
        wheel_schedule(state.timers, &st->timer, deadline_ms);
    c->blocked = st;
    state.blocked_clients++;
}

void blocking_block_on_range(client *c, int first, int last, int64_t deadline_ms,
                             blocking_timeout_fn on_timeout, blocking_timeout_fn in_exec)
{
    if (client_is_retrying(c))
        return;
    if (c->flags & CLIENT_IN_EXEC) {
        in_exec(c);
        return;
    }
    int count = last - first + 1;
    int *indexes = mem_alloc(sizeof(int) * (size_t)count);
    for (int i = 0; i < count; i++)
        indexes[i] = first + i;
    blocking_block(c, indexes, count, deadline_ms, on_timeout);
    mem_free(indexes);
}

void blocking_set_release_hook(client *c, blocking_release_fn on_release)
{
    if (c->blocked)
        c->blocked->on_release = on_release;
}

size_t blocking_waiter_count(database *db, const char *key, size_t len)
{
    if (state.queues == NULL || hashtable_size(state.queues) == 0)
        return 0;
    key_queue *q = find_queue(db, key, len, 0);
    return q ? q->count : 0;
}

int client_is_blocked(const client *c)
{
    return c->blocked != NULL;
}

int client_is_retrying(const client *c)
{
    return c->blocked != NULL && c->blocked->retrying;
}

size_t blocking_client_count(void)
{
    return state.blocked_clients;
}

/* Takes c out of every queue and frees its state; c is no longer blocked. */
static void unblock(client *c)
{
    blocked_state *st = c->blocked;
    for (int i = 0; i < st->waiter_count; i++) {
        waiter *w = st->waiters[i];
        key_queue *q = w->queue;
        if (w->prev)
            w->prev->next = w->next;
        else
            q->head = w->next;
        if (w->next)
            w->next->prev = w->prev;
        else
            q->tail = w->prev;
        q->count--;
        mem_free(w);
        drop_queue_if_empty(q);
    }
    if (wheel_timer_is_scheduled(&st->timer))
        wheel_cancel(state.timers, &st->timer);
    for (int i = 0; i < st->argc; i++)
        mem_free(st->argv[i]);
    mem_free(st->argv);
    mem_free(st->argv_len);
    mem_free(st->waiters);
    blocking_release_fn on_release = st->on_release;
    mem_free(st);
    c->blocked = NULL;
    state.blocked_clients--;
    if (on_release)
        on_release(c);
}

static void mark_ready(key_queue *q)
{
    if (q->ready)
        return;
    q->ready = 1;
    if (state.ready_count == state.ready_cap) {
        state.ready_cap = state.ready_cap ? state.ready_cap * 2 : 16;
        state.ready = mem_realloc(state.ready, sizeof(*state.ready) * state.ready_cap);
    }
    state.ready[state.ready_count++] = q;
}

void blocking_key_touched(database *db, const char *key, size_t len)
{
    if (state.queues == NULL || hashtable_size(state.queues) == 0)
        return;
    key_queue *q = find_queue(db, key, len, 0);
    if (q != NULL)
        mark_ready(q);
}

void blocking_database_touched(database *db)
{
    if (state.queues == NULL || hashtable_size(state.queues) == 0)
        return;
    hashtable_iterator it;
    hashtable_iterator_init(&it, state.queues);
    hashtable_node *node;
    while ((node = hashtable_iterator_next(&it)) != NULL) {
        key_queue *q = (key_queue *)node;
        if (q->db == db)
            mark_ready(q);
    }
    hashtable_iterator_release(&it);
}

/* Runs a blocked client's command again; nonzero if it was served. */
static int retry(client *c)
{
    blocked_state *st = c->blocked;
    int argc = c->argc;
    const char **argv = c->argv;
    size_t *argv_len = c->argv_len;
    database *db = c->db;
    const command *previous = c->command;
    c->argc = st->argc;
    c->argv = (const char **)st->argv;
    c->argv_len = st->argv_len;
    c->db = st->db;
    c->command = st->command;
    size_t before = c->reply.out.len;
    st->retrying = 1;
    /* Served later, the command is written to the AOF as the non-blocking
     * pop it turned into (see propagate.c). */
    propagate_call_begin(c);
    st->command->handler(c);
    propagate_call_end(c, st->command, before);
    st->retrying = 0;
    int served = c->reply.out.len != before;
    if (served)
        st->command->stats->calls++;
    c->argc = argc;
    c->argv = argv;
    c->argv_len = argv_len;
    c->db = served ? st->db : db;
    c->command = previous;
    return served;
}

void blocking_serve_ready(void)
{
    /* Serving can make more keys ready (BLMOVE pushes): keep going until
     * the list is drained. Queues stay allocated while flagged ready. */
    for (size_t i = 0; i < state.ready_count; i++) {
        key_queue *q = state.ready[i];
        waiter *w = q->head;
        while (w) {
            waiter *next = w->next;
            client *c = w->client;
            if (retry(c)) {
                unblock(c);
                net_client_unblocked(c);
            }
            w = next;
        }
    }
    for (size_t i = 0; i < state.ready_count; i++) {
        state.ready[i]->ready = 0;
        drop_queue_if_empty(state.ready[i]);
    }
    state.ready_count = 0;
}

typedef struct expired_batch {
    blocked_state *items[128];
    size_t count;
} expired_batch;

static void collect_expired(void *ctx, wheel_timer *timer)
{
    expired_batch *batch = ctx;
    batch->items[batch->count++] = (blocked_state *)timer;
}

void blocking_wake_at(database *db, const char *key, size_t len, int64_t at_ms)
{
    key_alarm *alarm = mem_calloc(sizeof(*alarm) + len);
    alarm->db = db;
    alarm->key_len = len;
    memcpy(alarm->key, key, len);
    wheel_timer_init(&alarm->timer);
    wheel_schedule(state.alarms, &alarm->timer, at_ms);
}

static void ring_alarm(void *ctx, wheel_timer *timer)
{
    key_alarm *alarm = (key_alarm *)timer;
    size_t *rung = ctx;
    blocking_key_touched(alarm->db, alarm->key, alarm->key_len);
    mem_free(alarm);
    (*rung)++;
}

/* Alarms run the waiters' commands again as a write to the key would. */
static void ring_alarms(int64_t now_ms)
{
    if (state.alarms == NULL || wheel_count(state.alarms) == 0)
        return;
    size_t rung = 0;
    wheel_advance(state.alarms, now_ms, SIZE_MAX, ring_alarm, &rung);
    if (rung > 0)
        blocking_serve_ready();
}

void blocking_expire(int64_t now_ms)
{
    ring_alarms(now_ms);
    if (state.blocked_clients == 0)
        return;
    expired_batch batch;
    do {
        batch.count = 0;
        wheel_advance(state.timers, now_ms, 128, collect_expired, &batch);
        for (size_t i = 0; i < batch.count; i++)
            blocking_release_client(batch.items[i]->client, BLOCKING_RELEASE_TIMEOUT);
    } while (batch.count == 128);
}

void blocking_release_client(client *c, int how)
{
    if (c->blocked == NULL)
        return;
    if (how == BLOCKING_RELEASE_TIMEOUT)
        c->blocked->on_timeout(c);
    else if (how == BLOCKING_RELEASE_ERROR)
        reply_error(&c->reply, "UNBLOCKED client unblocked via CLIENT UNBLOCK");
    unblock(c);
    if (how != BLOCKING_RELEASE_SILENT)
        net_client_unblocked(c);
}

int blocking_parse_timeout(client *c, int index, int64_t *deadline_ms)
{
    long double seconds;
    if (!number_parse_long_double(c->argv[index], c->argv_len[index], &seconds)) {
        reply_error(&c->reply, "ERR timeout is not a float or out of range");
        return 0;
    }
    long double ms = seconds * 1000.0L;
    if (ms > (long double)INT64_MAX / 2) {
        reply_error(&c->reply, "ERR timeout is out of range");
        return 0;
    }
    int64_t timeout = (int64_t)ceill(ms);
    if (timeout < 0) {
        reply_error(&c->reply, "ERR timeout is negative");
        return 0;
    }
    *deadline_ms = timeout > 0 ? server.now_ms + timeout : 0;
    return 1;
}
