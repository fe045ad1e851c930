/* ratelimit: the state of one rate limiter and the pure algorithms that judge
 * a hit against it (exact sliding window, aligned fixed window, GCRA, and
 * redis-cell's CL.THROTTLE flavour of GCRA). Nothing here reads a clock: the
 * caller passes the time in, so tests replay any schedule exactly. */
#ifndef RIVET_RATELIMIT_H
#define RIVET_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "rivet/buffer.h"

typedef enum ratelimit_algorithm {
    RATELIMIT_SLIDING = 1,
    RATELIMIT_FIXED = 2,
    RATELIMIT_GCRA = 3, /* RL.HIT GCRA and CL.THROTTLE share this state */
} ratelimit_algorithm;

/* retry_after_ms / retry_after_s when the hit is allowed, and when it is
 * denied because it can never be allowed (its cost exceeds the limit). */
#define RATELIMIT_RETRY_ALLOWED -1
#define RATELIMIT_RETRY_NEVER   -2

/* Upper bound on WINDOW so nanosecond arithmetic cannot overflow (~31 years). */
#define RATELIMIT_MAX_WINDOW_MS INT64_C(1000000000000)

/* One run of accepted hits that share a millisecond (the sliding window
 * stores runs, so a hit of COST k costs one slot, not k). */
typedef struct ratelimit_run {
    int64_t at_ms;
    int64_t count;
} ratelimit_run;

typedef struct ratelimit {
    ratelimit_algorithm algorithm;
    union {
        struct {
            ratelimit_run *runs; /* circular, oldest at head */
            uint32_t capacity;
            uint32_t head;
            uint32_t length;
            int64_t total; /* sum of the runs' counts */
        } sliding;
        struct {
            int64_t window_ms;
            int64_t window_start_ms;
            int64_t count;
        } fixed;
        struct {
            int64_t tat_ns; /* theoretical arrival time; 0 = none */
        } gcra;
    } u;
} ratelimit;

/* RL.HIT's question. */
typedef struct ratelimit_request {
    ratelimit_algorithm algorithm;
    int64_t limit;     /* > 0 */
    int64_t window_ms; /* 1 .. RATELIMIT_MAX_WINDOW_MS */
    int64_t cost;      /* >= 0; 0 peeks */
} ratelimit_request;

/* RL.HIT's answer. changed says the state was modified (an allowed hit with
 * a cost): the key then needs deadline_ms as its expiry, the moment the
 * limiter is full again and its state no longer matters. */
typedef struct ratelimit_result {
    int allowed;
    int64_t limit;
    int64_t remaining;
    int64_t retry_after_ms;
    int64_t reset_after_ms;
    int changed;
    int64_t deadline_ms;
} ratelimit_result;

/* A fresh, empty limiter of one algorithm. */
ratelimit *ratelimit_create(ratelimit_algorithm algorithm);
void ratelimit_free(ratelimit *rl);
ratelimit *ratelimit_copy(const ratelimit *rl);
/* Empties rl and switches it to another algorithm (RL.HIT with a different
 * algorithm than the stored one starts over). */
void ratelimit_reset(ratelimit *rl, ratelimit_algorithm algorithm);
/* Bytes held by the limiter's own allocations. */
size_t ratelimit_memory(const ratelimit *rl);

/* Judges one hit at now_us (wall clock, microseconds). A denied hit and a
 * zero-cost peek leave the state as it was. */
void ratelimit_hit(ratelimit *rl, const ratelimit_request *request, int64_t now_us,
                   ratelimit_result *result);

/* CL.THROTTLE key max_burst count_per_period period [quantity], with
 * redis-cell's arithmetic and rounding. Parameters are validated by
 * ratelimit_cell_check first. */
typedef struct ratelimit_cell_request {
    int64_t max_burst;
    int64_t count_per_period;
    int64_t period_s;
    int64_t quantity;
} ratelimit_cell_request;

typedef struct ratelimit_cell_result {
    int limited;
    int64_t limit;
    int64_t remaining;
    int64_t retry_after_s;
    int64_t reset_after_s;
    int changed;
    int64_t deadline_ms;
} ratelimit_cell_result;

/* NULL when the parameters are usable, else the error text to reply. */
const char *ratelimit_cell_check(const ratelimit_cell_request *request);
void ratelimit_cell_throttle(ratelimit *rl, const ratelimit_cell_request *request, int64_t now_ns,
                             ratelimit_cell_result *result);

/* Persistence: a versioned byte string, and back (NULL if malformed). */
void ratelimit_save(const ratelimit *rl, buffer *out);
ratelimit *ratelimit_load(const char *bytes, size_t len);

#endif
