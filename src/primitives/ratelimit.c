/* Rate-limit algorithms over an explicit clock. See include/rivet/ratelimit.h
 * and docs/primitives/ratelimit.md for the semantics each one promises. */
#include "rivet/ratelimit.h"

#include <string.h>

#include "rivet/memory.h"

#define NS_PER_MS INT64_C(1000000)
#define NS_PER_US INT64_C(1000)
#define NS_PER_S  INT64_C(1000000000)

/* The sliding window's ring starts this small and doubles on demand: most
 * limiters see a handful of hits per window, and the ring never needs more
 * runs than the limit (every run holds at least one accepted hit). */
#define RING_INITIAL_CAPACITY 4

/* Ceiling division for a non-negative numerator. */
static int64_t ceil_div(int64_t value, int64_t divisor)
{
    if (value <= 0)
        return 0;
    return value / divisor + (value % divisor != 0);
}

/* ---------- life cycle ---------- */

ratelimit *ratelimit_create(ratelimit_algorithm algorithm)
{
    ratelimit *rl = mem_calloc(sizeof(*rl));
    rl->algorithm = algorithm;
    return rl;
}

static void release_state(ratelimit *rl)
{
    if (rl->algorithm == RATELIMIT_SLIDING)
        mem_free(rl->u.sliding.runs);
}

void ratelimit_free(ratelimit *rl)
{
    if (rl == NULL)
        return;
    release_state(rl);
    mem_free(rl);
}

void ratelimit_reset(ratelimit *rl, ratelimit_algorithm algorithm)
{
    release_state(rl);
    memset(rl, 0, sizeof(*rl));
    rl->algorithm = algorithm;
}

ratelimit *ratelimit_copy(const ratelimit *rl)
{
    ratelimit *copy = mem_dup(rl, sizeof(*rl));
    if (rl->algorithm == RATELIMIT_SLIDING && rl->u.sliding.runs)
        copy->u.sliding.runs =
            mem_dup(rl->u.sliding.runs, rl->u.sliding.capacity * sizeof(ratelimit_run));
    return copy;
}

size_t ratelimit_memory(const ratelimit *rl)
{
    size_t bytes = mem_block_size(rl);
    if (rl->algorithm == RATELIMIT_SLIDING && rl->u.sliding.runs)
        bytes += mem_block_size(rl->u.sliding.runs);
    return bytes;
}

/* ---------- sliding window: a ring of (millisecond, count) runs ---------- */

static ratelimit_run *ring_at(const ratelimit *rl, uint32_t i)
{
    return &rl->u.sliding.runs[(rl->u.sliding.head + i) % rl->u.sliding.capacity];
}

/* Moves the runs, oldest first, into a new array of capacity slots. */
static void ring_resize(ratelimit *rl, uint32_t capacity)
{
    ratelimit_run *runs = mem_alloc(capacity * sizeof(*runs));
    for (uint32_t i = 0; i < rl->u.sliding.length; i++)
        runs[i] = *ring_at(rl, i);
    mem_free(rl->u.sliding.runs);
    rl->u.sliding.runs = runs;
    rl->u.sliding.capacity = capacity;
    rl->u.sliding.head = 0;
}

/* Drops the runs that no longer count: a hit at t counts while now - t <
 * window, exactly the members ZREMRANGEBYSCORE key 0 now-window leaves. */
static void sliding_prune(ratelimit *rl, int64_t now_ms, int64_t window_ms)
{
    while (rl->u.sliding.length > 0) {
        ratelimit_run *oldest = ring_at(rl, 0);
        if (now_ms - oldest->at_ms < window_ms)
            break;
        rl->u.sliding.total -= oldest->count;
        rl->u.sliding.head = (rl->u.sliding.head + 1) % rl->u.sliding.capacity;
        rl->u.sliding.length--;
    }
    /* Give memory back once a burst has drained. */
    uint32_t capacity = rl->u.sliding.capacity;
    if (capacity > RING_INITIAL_CAPACITY && rl->u.sliding.length < capacity / 4)
        ring_resize(rl, capacity / 2);
}

/* 2^31 runs is 32 GB of ring; past that, new hits join the newest run. */
#define RING_MAX_CAPACITY (UINT32_C(1) << 31)

static void sliding_append(ratelimit *rl, int64_t now_ms, int64_t cost)
{
    if (rl->u.sliding.length > 0) {
        ratelimit_run *newest = ring_at(rl, rl->u.sliding.length - 1);
        /* At the ring's ceiling the newest run moves forward to now: its
         * older hits then count a little longer, which can only make the
         * limiter stricter, never let more than the limit through. */
        if (newest->at_ms == now_ms || rl->u.sliding.length == RING_MAX_CAPACITY) {
            newest->at_ms = now_ms;
            newest->count += cost;
            rl->u.sliding.total += cost;
            return;
        }
    }
    if (rl->u.sliding.length == rl->u.sliding.capacity)
        ring_resize(rl,
                    rl->u.sliding.capacity ? rl->u.sliding.capacity * 2 : RING_INITIAL_CAPACITY);
    ratelimit_run *slot = ring_at(rl, rl->u.sliding.length);
    slot->at_ms = now_ms;
    slot->count = cost;
    rl->u.sliding.length++;
    rl->u.sliding.total += cost;
}

static void sliding_hit(ratelimit *rl, const ratelimit_request *rq, int64_t now_ms,
                        ratelimit_result *res)
{
    /* A clock that stepped back must not put a run before a newer one: the
     * ring stays ordered by treating "now" as the newest time seen. */
    if (rl->u.sliding.length > 0) {
        int64_t newest = ring_at(rl, rl->u.sliding.length - 1)->at_ms;
        if (now_ms < newest)
            now_ms = newest;
    }
    sliding_prune(rl, now_ms, rq->window_ms);
    int64_t total = rl->u.sliding.total;
    res->allowed = rq->cost <= rq->limit && total <= rq->limit - rq->cost;
    if (res->allowed && rq->cost > 0) {
        sliding_append(rl, now_ms, rq->cost);
        res->changed = 1;
        total += rq->cost;
    }
    res->remaining = total < rq->limit ? rq->limit - total : 0;
    if (res->allowed) {
        res->retry_after_ms = RATELIMIT_RETRY_ALLOWED;
    } else if (rq->cost > rq->limit) {
        res->retry_after_ms = RATELIMIT_RETRY_NEVER;
    } else {
        /* Wait until enough of the oldest hits have left the window. */
        int64_t excess = total + rq->cost - rq->limit, freed = 0;
        res->retry_after_ms = 0;
        for (uint32_t i = 0; i < rl->u.sliding.length; i++) {
            ratelimit_run *run = ring_at(rl, i);
            freed += run->count;
            if (freed >= excess) {
                res->retry_after_ms = run->at_ms + rq->window_ms - now_ms;
                break;
            }
        }
    }
    if (rl->u.sliding.length > 0) {
        int64_t newest = ring_at(rl, rl->u.sliding.length - 1)->at_ms;
        res->deadline_ms = newest + rq->window_ms;
        res->reset_after_ms = res->deadline_ms - now_ms;
    }
}

/* ---------- fixed window: one counter per aligned window ---------- */

static void fixed_hit(ratelimit *rl, const ratelimit_request *rq, int64_t now_ms,
                      ratelimit_result *res)
{
    int64_t start = now_ms - now_ms % rq->window_ms;
    if (now_ms < 0)
        start = 0; /* a clock before 1970 is not worth a special case */
    int64_t count = 0;
    if (rl->u.fixed.window_ms == rq->window_ms && rl->u.fixed.window_start_ms == start)
        count = rl->u.fixed.count;
    res->allowed = rq->cost <= rq->limit && count <= rq->limit - rq->cost;
    if (res->allowed && rq->cost > 0) {
        count += rq->cost;
        rl->u.fixed.window_ms = rq->window_ms;
        rl->u.fixed.window_start_ms = start;
        rl->u.fixed.count = count;
        res->changed = 1;
    }
    int64_t end = start + rq->window_ms;
    res->remaining = count < rq->limit ? rq->limit - count : 0;
    if (res->allowed)
        res->retry_after_ms = RATELIMIT_RETRY_ALLOWED;
    else if (rq->cost > rq->limit)
        res->retry_after_ms = RATELIMIT_RETRY_NEVER;
    else
        res->retry_after_ms = end - now_ms;
    if (count > 0) {
        res->deadline_ms = end;
        res->reset_after_ms = end - now_ms;
    }
}

/* ---------- GCRA, shared by RL.HIT GCRA and CL.THROTTLE ---------- */

typedef struct gcra_outcome {
    int allowed;
    int oversized;   /* the quantity can never fit in the tolerance */
    int64_t ttl_ns;  /* until the limiter is full again (may be <= 0) */
    int64_t wait_ns; /* denied: until this quantity would be allowed */
} gcra_outcome;

/* emission is the nominal spacing between single hits, tolerance how far
 * ahead of it the theoretical arrival time may run (the burst). A missing
 * or past arrival time means "now": both describe a full limiter. */
static void gcra_judge(ratelimit *rl, int64_t emission, int64_t tolerance, int64_t quantity,
                       int64_t now_ns, gcra_outcome *out)
{
    int64_t tat = rl->u.gcra.tat_ns > now_ns ? rl->u.gcra.tat_ns : now_ns;
    memset(out, 0, sizeof(*out));
    /* quantity * emission > tolerance, without the multiplication overflowing. */
    if (quantity > tolerance / emission) {
        out->oversized = 1;
        out->ttl_ns = tat - now_ns;
        return;
    }
    int64_t new_tat = tat + emission * quantity;
    int64_t diff = now_ns - (new_tat - tolerance);
    if (diff < 0) {
        out->ttl_ns = tat - now_ns;
        out->wait_ns = -diff;
        return;
    }
    out->allowed = 1;
    out->ttl_ns = new_tat - now_ns;
    if (quantity > 0)
        rl->u.gcra.tat_ns = new_tat;
}

/* A key lives through its deadline millisecond (it expires once now >
 * deadline), so the millisecond holding the arrival time is exact. */
static int64_t gcra_deadline_ms(const ratelimit *rl)
{
    return rl->u.gcra.tat_ns / NS_PER_MS;
}

static void gcra_hit(ratelimit *rl, const ratelimit_request *rq, int64_t now_ns,
                     ratelimit_result *res)
{
    /* limit hits per window, all of them allowed at once from full. */
    int64_t emission = rq->window_ms * NS_PER_MS / rq->limit;
    if (emission < 1)
        emission = 1;
    int64_t tolerance = emission * rq->limit;
    gcra_outcome out;
    gcra_judge(rl, emission, tolerance, rq->cost, now_ns, &out);
    res->allowed = out.allowed;
    res->changed = out.allowed && rq->cost > 0;
    int64_t used = (out.ttl_ns > 0 ? out.ttl_ns : 0);
    int64_t free_ns = tolerance - used;
    res->remaining = free_ns > 0 ? free_ns / emission : 0;
    if (res->remaining > rq->limit)
        res->remaining = rq->limit;
    if (out.allowed)
        res->retry_after_ms = RATELIMIT_RETRY_ALLOWED;
    else if (out.oversized)
        res->retry_after_ms = RATELIMIT_RETRY_NEVER;
    else
        res->retry_after_ms = ceil_div(out.wait_ns, NS_PER_MS);
    res->reset_after_ms = ceil_div(used, NS_PER_MS);
    if (rl->u.gcra.tat_ns > now_ns)
        res->deadline_ms = gcra_deadline_ms(rl);
}

void ratelimit_hit(ratelimit *rl, const ratelimit_request *request, int64_t now_us,
                   ratelimit_result *result)
{
    memset(result, 0, sizeof(*result));
    result->limit = request->limit;
    result->deadline_ms = -1;
    int64_t now_ms = now_us / 1000;
    switch (request->algorithm) {
    case RATELIMIT_SLIDING:
        sliding_hit(rl, request, now_ms, result);
        break;
    case RATELIMIT_FIXED:
        fixed_hit(rl, request, now_ms, result);
        break;
    case RATELIMIT_GCRA:
        gcra_hit(rl, request, now_us * NS_PER_US, result);
        break;
    }
}

/* ---------- CL.THROTTLE: redis-cell's numbers ---------- */

/* redis-cell derives the emission interval in floating point and truncates
 * to whole nanoseconds; reproducing that keeps every later figure equal. */
static int64_t cell_emission_ns(const ratelimit_cell_request *rq)
{
    double period_ns = (double)(rq->period_s * NS_PER_S);
    return (int64_t)(period_ns / (double)rq->count_per_period);
}

/* Periods up to ~31 years keep now + tolerance inside an int64 of ns. */
#define CELL_MAX_PERIOD_S     INT64_C(1000000000)
#define CELL_MAX_TOLERANCE_NS INT64_C(1000000000000000000)

const char *ratelimit_cell_check(const ratelimit_cell_request *rq)
{
    if (rq->max_burst < 0)
        return "ERR max_burst must not be negative";
    if (rq->count_per_period <= 0 || rq->period_s <= 0)
        return "ERR count_per_period and period must be positive";
    if (rq->quantity < 0)
        return "ERR quantity must not be negative";
    if (rq->period_s > CELL_MAX_PERIOD_S)
        return "ERR period is too large";
    int64_t emission = cell_emission_ns(rq);
    if (emission <= 0)
        return "ERR Zero rates are not supported";
    if (rq->max_burst >= CELL_MAX_TOLERANCE_NS / emission)
        return "ERR max_burst is too large for this rate";
    return NULL;
}

/* Rust's `as i64` on a float: truncation, saturating, NaN as 0. */
static int64_t saturating_truncate(double value)
{
    if (value != value)
        return 0;
    if (value >= 9223372036854775807.0)
        return INT64_MAX;
    if (value <= -9223372036854775808.0)
        return INT64_MIN;
    return (int64_t)value;
}

/* A duration in whole seconds, one more when it has a positive fraction of
 * at least a millisecond: redis-cell's rounding of retry and reset. */
static int64_t cell_seconds(int64_t ns)
{
    int64_t seconds = ns / NS_PER_S;
    int64_t subsec_ms = (ns % NS_PER_S) / NS_PER_MS;
    return seconds + (subsec_ms > 0);
}

void ratelimit_cell_throttle(ratelimit *rl, const ratelimit_cell_request *rq, int64_t now_ns,
                             ratelimit_cell_result *res)
{
    memset(res, 0, sizeof(*res));
    int64_t emission = cell_emission_ns(rq);
    int64_t tolerance = emission * (rq->max_burst + 1);
    res->limit = rq->max_burst + 1;
    res->deadline_ms = -1;
    gcra_outcome out;
    gcra_judge(rl, emission, tolerance, rq->quantity, now_ns, &out);
    res->limited = !out.allowed;
    res->changed = out.allowed && rq->quantity > 0;
    int64_t next = tolerance - out.ttl_ns;
    if (next > -emission)
        res->remaining =
            saturating_truncate((double)(next / NS_PER_US) / (double)(emission / NS_PER_US));
    /* An oversized quantity gets no retry time: waiting cannot help. */
    res->retry_after_s = out.allowed || out.oversized ? -1 : cell_seconds(out.wait_ns);
    res->reset_after_s = cell_seconds(out.ttl_ns);
    if (rl->u.gcra.tat_ns > now_ns)
        res->deadline_ms = gcra_deadline_ms(rl);
}

/* ---------- persistence ---------- */

/* Layout, integers little-endian:
 *   u8 version (1) | u8 algorithm | algorithm fields
 *   sliding: u32 runs, then per run i64 at_ms, i64 count
 *   fixed:   i64 window_ms, i64 window_start_ms, i64 count
 *   gcra:    i64 tat_ns */
#define SAVE_VERSION 1

typedef struct reader {
    const unsigned char *at;
    size_t left;
    int failed;
} reader;

static uint64_t get_bytes(reader *r, int n)
{
    if (r->failed || r->left < (size_t)n) {
        r->failed = 1;
        return 0;
    }
    uint64_t value = buffer_read_le(r->at, n);
    r->at += n;
    r->left -= (size_t)n;
    return value;
}

static int64_t get_i64(reader *r)
{
    return (int64_t)get_bytes(r, 8);
}

void ratelimit_save(const ratelimit *rl, buffer *out)
{
    buffer_append_char(out, SAVE_VERSION);
    buffer_append_char(out, (char)rl->algorithm);
    switch (rl->algorithm) {
    case RATELIMIT_SLIDING:
        buffer_append_le(out, rl->u.sliding.length, 4);
        for (uint32_t i = 0; i < rl->u.sliding.length; i++) {
            buffer_append_le(out, (uint64_t)ring_at(rl, i)->at_ms, 8);
            buffer_append_le(out, (uint64_t)ring_at(rl, i)->count, 8);
        }
        break;
    case RATELIMIT_FIXED:
        buffer_append_le(out, (uint64_t)rl->u.fixed.window_ms, 8);
        buffer_append_le(out, (uint64_t)rl->u.fixed.window_start_ms, 8);
        buffer_append_le(out, (uint64_t)rl->u.fixed.count, 8);
        break;
    case RATELIMIT_GCRA:
        buffer_append_le(out, (uint64_t)rl->u.gcra.tat_ns, 8);
        break;
    }
}

static int load_sliding(ratelimit *rl, reader *r)
{
    uint32_t length = (uint32_t)get_bytes(r, 4);
    /* Each run takes 16 bytes: refuse counts the input cannot hold before
     * allocating for them. */
    if (r->failed || length > r->left / 16 || length > RING_MAX_CAPACITY)
        return 0;
    if (length > 0)
        ring_resize(rl, length);
    int64_t previous = INT64_MIN;
    for (uint32_t i = 0; i < length; i++) {
        ratelimit_run run = {.at_ms = get_i64(r), .count = get_i64(r)};
        if (run.count <= 0 || run.at_ms < previous || run.count > INT64_MAX - rl->u.sliding.total)
            return 0;
        previous = run.at_ms;
        rl->u.sliding.runs[i] = run;
        rl->u.sliding.length++;
        rl->u.sliding.total += run.count;
    }
    return 1;
}

ratelimit *ratelimit_load(const char *bytes, size_t len)
{
    reader r = {(const unsigned char *)bytes, len, 0};
    if (get_bytes(&r, 1) != SAVE_VERSION)
        return NULL;
    uint64_t algorithm = get_bytes(&r, 1);
    if (r.failed || algorithm < RATELIMIT_SLIDING || algorithm > RATELIMIT_GCRA)
        return NULL;
    ratelimit *rl = ratelimit_create((ratelimit_algorithm)algorithm);
    int ok = 1;
    switch (rl->algorithm) {
    case RATELIMIT_SLIDING:
        ok = load_sliding(rl, &r);
        break;
    case RATELIMIT_FIXED:
        rl->u.fixed.window_ms = get_i64(&r);
        rl->u.fixed.window_start_ms = get_i64(&r);
        rl->u.fixed.count = get_i64(&r);
        ok = rl->u.fixed.count >= 0 && rl->u.fixed.window_ms >= 0;
        break;
    case RATELIMIT_GCRA:
        rl->u.gcra.tat_ns = get_i64(&r);
        break;
    }
    if (!ok || r.failed || r.left != 0) {
        ratelimit_free(rl);
        return NULL;
    }
    return rl;
}
