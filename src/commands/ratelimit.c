/* RL.HIT, RL.RESET and CL.THROTTLE: rate limiters held natively in one key
 * of type "ratelimit". The algorithms live in src/primitives/ratelimit.c;
 * this file parses arguments, finds or creates the key, keeps its TTL equal
 * to "when the limiter is full again", and announces changes. */
#include <string.h>

#include "handlers.h"
#include "rivet/ratelimit.h"
#include "rivet/server.h"

#include "table.h"

/* ---------- the keyspace type ---------- */

static void free_ratelimit(void *ptr, object_encoding encoding)
{
    (void)encoding;
    ratelimit_free(ptr);
}

static void *copy_ratelimit(const void *ptr, object_encoding encoding)
{
    (void)encoding;
    return ratelimit_copy(ptr);
}

static void save_ratelimit(const void *ptr, object_encoding encoding, buffer *out)
{
    (void)encoding;
    ratelimit_save(ptr, out);
}

static void *load_ratelimit(const char *bytes, size_t len, object_encoding *encoding)
{
    *encoding = ENCODING_NATIVE;
    return ratelimit_load(bytes, len);
}

static size_t ratelimit_memory_usage(const void *ptr, object_encoding encoding, size_t samples)
{
    (void)encoding;
    (void)samples;
    return ratelimit_memory(ptr);
}

void ratelimit_register_type(keyspace *ks)
{
    static const object_methods methods = {.free_value = free_ratelimit,
                                           .copy_value = copy_ratelimit,
                                           .save_value = save_ratelimit,
                                           .load_value = load_ratelimit,
                                           .memory_usage = ratelimit_memory_usage};
    keyspace_register_type(ks, OBJECT_RATELIMIT, &methods);
}

/* ---------- finding the state ---------- */

/* The limiter a command works on: the key's own state when it holds one
 * of the same algorithm, otherwise a fresh one (*owned set) that replaces
 * the key only if a hit changes it. So peeks and denied hits never create
 * keys, and a key written by another algorithm starts over only when a hit
 * under the new one is accepted. NULL after replying WRONGTYPE. */
static ratelimit *limiter_for(client *c, ratelimit_algorithm algorithm, kv_entry **entry,
                              int *owned)
{
    *entry = keyspace_lookup(c->db, c->argv[1], c->argv_len[1]);
    *owned = 0;
    if (*entry) {
        if (entry_type(*entry) != OBJECT_RATELIMIT) {
            reply_error(&c->reply, ERR_WRONGTYPE);
            return NULL;
        }
        ratelimit *rl = entry_object(*entry);
        if (rl->algorithm == algorithm)
            return rl;
    }
    *owned = 1;
    return ratelimit_create(algorithm);
}

/* Stores a changed limiter and gives the key its new deadline. */
static void limiter_commit(client *c, ratelimit *rl, kv_entry *entry, int owned, int changed,
                           int64_t deadline_ms, const char *event)
{
    if (!changed) {
        if (owned)
            ratelimit_free(rl);
        return;
    }
    if (owned)
        entry = keyspace_set_object(c->db, c->argv[1], c->argv_len[1], OBJECT_RATELIMIT,
                                    ENCODING_NATIVE, rl, 0);
    keyspace_set_expire(c->db, entry, deadline_ms);
    keyspace_signal_modified(c->db, c->argv[1], c->argv_len[1], event, EVENT_GENERIC);
}

/* ---------- RL.HIT ---------- */

/* Parses LIMIT n WINDOW ms [COST k] [SLIDING|FIXED|GCRA] in any order, each
 * at most once. Replies and returns 0 on bad input. */
static int parse_hit(client *c, ratelimit_request *rq)
{
    int have_limit = 0, have_window = 0, have_cost = 0, have_algorithm = 0;
    rq->cost = 1;
    rq->algorithm = RATELIMIT_SLIDING;
    for (int i = 2; i < c->argc; i++) {
        int has_value = i + 1 < c->argc;
        if (argument_is(c, i, "limit") && has_value && !have_limit) {
            if (!argument_int64(c, ++i, &rq->limit))
                return 0;
            have_limit = 1;
        } else if (argument_is(c, i, "window") && has_value && !have_window) {
            if (!argument_int64(c, ++i, &rq->window_ms))
                return 0;
            have_window = 1;
        } else if (argument_is(c, i, "cost") && has_value && !have_cost) {
            if (!argument_int64(c, ++i, &rq->cost))
                return 0;
            have_cost = 1;
        } else if (!have_algorithm && argument_is(c, i, "sliding")) {
            rq->algorithm = RATELIMIT_SLIDING;
            have_algorithm = 1;
        } else if (!have_algorithm && argument_is(c, i, "fixed")) {
            rq->algorithm = RATELIMIT_FIXED;
            have_algorithm = 1;
        } else if (!have_algorithm && argument_is(c, i, "gcra")) {
            rq->algorithm = RATELIMIT_GCRA;
            have_algorithm = 1;
        } else {
            reply_error(&c->reply, ERR_SYNTAX);
            return 0;
        }
    }
    const char *error = NULL;
    if (!have_limit || !have_window)
        error = ERR_SYNTAX;
    else if (rq->limit <= 0)
        error = "ERR LIMIT must be a positive integer";
    else if (rq->window_ms <= 0)
        error = "ERR WINDOW must be a positive number of milliseconds";
    else if (rq->window_ms > RATELIMIT_MAX_WINDOW_MS)
        error = "ERR WINDOW is too large (at most 1000000000000 ms)";
    else if (rq->cost < 0)
        error = "ERR COST must not be negative";
    else if (rq->algorithm == RATELIMIT_GCRA && rq->limit / 1000000 >= rq->window_ms)
        /* GCRA spaces hits in whole nanoseconds: it cannot go faster. */
        error = "ERR GCRA allows at most one hit per nanosecond (LIMIT < WINDOW * 1000000)";
    if (error) {
        reply_error(&c->reply, error);
        return 0;
    }
    return 1;
}

static void reply_field(client *c, const char *name, int64_t value)
{
    if (client_protocol(c) == 3)
        reply_bulk_cstr(&c->reply, name);
    reply_integer(&c->reply, value);
}

static void count_decision(int allowed, int64_t cost)
{
    /* Peeks are questions, not hits: they stay out of the counters. */
    if (cost == 0)
        return;
    if (allowed)
        server.primitives.ratelimit_allowed++;
    else
        server.primitives.ratelimit_denied++;
}

/* RL.HIT key LIMIT n WINDOW ms [COST k] [SLIDING|FIXED|GCRA] */
void command_rl_hit(client *c)
{
    ratelimit_request rq;
    if (!parse_hit(c, &rq))
        return;
    kv_entry *entry;
    int owned;
    ratelimit *rl = limiter_for(c, rq.algorithm, &entry, &owned);
    if (rl == NULL)
        return;
    ratelimit_result res;
    ratelimit_hit(rl, &rq, server.now_us, &res);
    limiter_commit(c, rl, entry, owned, res.changed, res.deadline_ms, "rl.hit");
    count_decision(res.allowed, rq.cost);

    if (client_protocol(c) == 3)
        reply_map(&c->reply, 5);
    else
        reply_array(&c->reply, 5);
    reply_field(c, "allowed", res.allowed);
    reply_field(c, "limit", res.limit);
    reply_field(c, "remaining", res.remaining);
    reply_field(c, "retry_after_ms", res.retry_after_ms);
    reply_field(c, "reset_after_ms", res.reset_after_ms);
}

/* RL.RESET key: 1 if a limiter was removed. */
void command_rl_reset(client *c)
{
    kv_entry *entry = keyspace_lookup(c->db, c->argv[1], c->argv_len[1]);
    if (entry == NULL) {
        reply_integer(&c->reply, 0);
        return;
    }
    if (entry_type(entry) != OBJECT_RATELIMIT) {
        reply_error(&c->reply, ERR_WRONGTYPE);
        return;
    }
    keyspace_delete(c->db, c->argv[1], c->argv_len[1]);
    keyspace_signal_modified(c->db, c->argv[1], c->argv_len[1], "del", EVENT_GENERIC);
    reply_integer(&c->reply, 1);
}

/* ---------- CL.THROTTLE ---------- */

/* CL.THROTTLE key max_burst count_per_period period [quantity]: redis-cell's
 * command and replies, on the same GCRA state RL.HIT ... GCRA uses. */
void command_cl_throttle(client *c)
{
    if (c->argc > 6) {
        reply_error(&c->reply, "ERR wrong number of arguments for 'cl.throttle' command");
        return;
    }
    ratelimit_cell_request rq = {.quantity = 1};
    if (!argument_int64(c, 2, &rq.max_burst) || !argument_int64(c, 3, &rq.count_per_period) ||
        !argument_int64(c, 4, &rq.period_s) ||
        (c->argc == 6 && !argument_int64(c, 5, &rq.quantity)))
        return;
    const char *error = ratelimit_cell_check(&rq);
    if (error) {
        reply_error(&c->reply, error);
        return;
    }
    kv_entry *entry;
    int owned;
    ratelimit *rl = limiter_for(c, RATELIMIT_GCRA, &entry, &owned);
    if (rl == NULL)
        return;
    ratelimit_cell_result res;
    ratelimit_cell_throttle(rl, &rq, server.now_us * 1000, &res);
    limiter_commit(c, rl, entry, owned, res.changed, res.deadline_ms, "cl.throttle");
    count_decision(!res.limited, rq.quantity);

    reply_array(&c->reply, 5);
    reply_integer(&c->reply, res.limited);
    reply_integer(&c->reply, res.limit);
    reply_integer(&c->reply, res.remaining);
    reply_integer(&c->reply, res.retry_after_s);
    reply_integer(&c->reply, res.reset_after_s);
}

#define C_RL (C_W | C_FAST)

const command ratelimit_command_rows[] = {
    ROW("rl.hit", -2, W | DOOM | FAST, C_RL, 1, 1, 1, KEY_WRITE_UPDATE, command_rl_hit, "ratelimit",
        "1.0.0",
        "O(1) for FIXED and GCRA; O(N) for SLIDING where N is the hits that left the window",
        "Counts a hit against a rate limit (sliding window, fixed window or GCRA)."),
    ROW("rl.reset", 2, W | FAST, C_RL, 1, 1, 1, KEY_DEL, command_rl_reset, "ratelimit", "1.0.0",
        "O(1)", "Removes a rate limiter."),
    ROW("cl.throttle", -5, W | DOOM | FAST, C_RL, 1, 1, 1, KEY_WRITE_UPDATE, command_cl_throttle,
        "ratelimit", "1.0.0", "O(1)",
        "Counts an action against a GCRA rate limit, as the redis-cell module does."),
    {0}};
