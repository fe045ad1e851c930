/* Tests for the rate-limit algorithms with an injected clock: CL.THROTTLE
 * against redis-cell's own test sequence and README example, the sliding
 * window against a sorted-set reference model under random traffic, fixed
 * window boundaries, GCRA, peeks, oversized costs and persistence. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "rivet/buffer.h"
#include "rivet/ratelimit.h"

#define US_PER_MS INT64_C(1000)
#define NS_PER_MS INT64_C(1000000)
/* A realistic wall clock with a sub-millisecond part, so nothing lines up
 * with a round number by accident. */
#define START_NS INT64_C(1765000000123456789)
#define START_US (INT64_C(1765000000123) * US_PER_MS + 456)

/* ---------- CL.THROTTLE: redis-cell ---------- */

typedef struct cell_case {
    int64_t offset_ms;
    int64_t quantity;
    int64_t remaining;
    int64_t reset_after_s;
    int64_t retry_after_s;
    int limited;
} cell_case;

static void run_cell_cases(ratelimit *rl, const ratelimit_cell_request *base,
                           const cell_case *cases, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        ratelimit_cell_request rq = *base;
        rq.quantity = cases[i].quantity;
        assert_null(ratelimit_cell_check(&rq));
        ratelimit_cell_result res;
        ratelimit_cell_throttle(rl, &rq, START_NS + cases[i].offset_ms * NS_PER_MS, &res);
        print_message("case %zu: limited %d remaining %lld retry %lld reset %lld\n", i, res.limited,
                      (long long)res.remaining, (long long)res.retry_after_s,
                      (long long)res.reset_after_s);
        assert_int_equal(res.limited, cases[i].limited);
        assert_int_equal(res.limit, base->max_burst + 1);
        assert_int_equal(res.remaining, cases[i].remaining);
        assert_int_equal(res.retry_after_s, cases[i].retry_after_s);
        assert_int_equal(res.reset_after_s, cases[i].reset_after_s);
    }
}

/* redis-cell's it_rate_limits: max_burst 4, one per second. Its expected
 * durations are turned into the seconds CL.THROTTLE replies (a partial
 * second rounds up: case 8's 3.9 s reset is 4). */
static void test_cell_matches_redis_cell_sequence(void **state)
{
    (void)state;
    static const cell_case cases[] = {
        {0, 6, 5, 0, -1, 1}, /* larger than the burst: never allowed */
        {0, 1, 4, 1, -1, 0},    {0, 1, 3, 2, -1, 0},
        {0, 1, 2, 3, -1, 0},    {0, 1, 1, 4, -1, 0},
        {0, 1, 0, 5, -1, 0},    {0, 1, 0, 5, 1, 1},
        {3000, 1, 2, 3, -1, 0}, {3100, 1, 1, 4, -1, 0},
        {4000, 1, 1, 4, -1, 0}, {8000, 1, 4, 1, -1, 0},
        {9500, 1, 4, 1, -1, 0}, {9500, 0, 4, 1, -1, 0}, /* quantity 0 peeks */
        {9500, 2, 2, 3, -1, 0}, {9500, 5, 2, 3, 3, 1},
    };
    ratelimit_cell_request base = {.max_burst = 4, .count_per_period = 1, .period_s = 1};
    ratelimit *rl = ratelimit_create(RATELIMIT_GCRA);
    run_cell_cases(rl, &base, cases, sizeof(cases) / sizeof(cases[0]));
    ratelimit_free(rl);
}

/* The README: CL.THROTTLE user123 15 30 60 1 -> 0 16 15 -1 2; then the
 * sub-second rounding of retry and reset (half a second rounds up to 1). */
static void test_cell_readme_and_rounding(void **state)
{
    (void)state;
    static const cell_case readme[] = {{0, 1, 15, 2, -1, 0}, {0, 1, 14, 4, -1, 0}};
    ratelimit_cell_request base = {.max_burst = 15, .count_per_period = 30, .period_s = 60};
    ratelimit *rl = ratelimit_create(RATELIMIT_GCRA);
    run_cell_cases(rl, &base, readme, 2);
    ratelimit_free(rl);

    /* burst 0, one per second: the second hit 500 ms later waits 0.5 s. */
    static const cell_case half[] = {
        {0, 1, 0, 1, -1, 0}, {500, 1, 0, 1, 1, 1}, {1000, 1, 0, 1, -1, 0}, {1999, 1, 0, 1, 1, 1}};
    ratelimit_cell_request one = {.max_burst = 0, .count_per_period = 1, .period_s = 1};
    rl = ratelimit_create(RATELIMIT_GCRA);
    run_cell_cases(rl, &one, half, 4);
    ratelimit_free(rl);
}

static void test_cell_rejects_bad_parameters(void **state)
{
    (void)state;
    ratelimit_cell_request rq = {.max_burst = -1, .count_per_period = 1, .period_s = 1};
    assert_string_equal(ratelimit_cell_check(&rq), "ERR max_burst must not be negative");
    rq.max_burst = 1;
    rq.count_per_period = 0;
    assert_string_equal(ratelimit_cell_check(&rq),
                        "ERR count_per_period and period must be positive");
    rq.count_per_period = 1;
    rq.period_s = 0;
    assert_string_equal(ratelimit_cell_check(&rq),
                        "ERR count_per_period and period must be positive");
    rq.period_s = 1;
    rq.quantity = -1;
    assert_string_equal(ratelimit_cell_check(&rq), "ERR quantity must not be negative");
    rq.quantity = 1;
    rq.count_per_period = INT64_C(2000000000); /* under a nanosecond apart */
    assert_string_equal(ratelimit_cell_check(&rq), "ERR Zero rates are not supported");
    rq.count_per_period = 1;
    rq.max_burst = INT64_MAX - 1;
    assert_string_equal(ratelimit_cell_check(&rq), "ERR max_burst is too large for this rate");
    rq.max_burst = 1;
    rq.period_s = INT64_MAX;
    assert_string_equal(ratelimit_cell_check(&rq), "ERR period is too large");
}

/* ---------- RL.HIT helpers ---------- */

static ratelimit_result hit(ratelimit *rl, ratelimit_algorithm algorithm, int64_t limit,
                            int64_t window_ms, int64_t cost, int64_t now_ms)
{
    ratelimit_request rq = {algorithm, limit, window_ms, cost};
    ratelimit_result res;
    ratelimit_hit(rl, &rq, now_ms * US_PER_MS, &res);
    return res;
}

static void expect_result(ratelimit_result res, int allowed, int64_t remaining, int64_t retry,
                          int64_t reset)
{
    assert_int_equal(res.allowed, allowed);
    assert_int_equal(res.remaining, remaining);
    assert_int_equal(res.retry_after_ms, retry);
    assert_int_equal(res.reset_after_ms, reset);
}

/* ---------- sliding window ---------- */

static void test_sliding_basic(void **state)
{
    (void)state;
    ratelimit *rl = ratelimit_create(RATELIMIT_SLIDING);
    int64_t t = 1000000;
    expect_result(hit(rl, RATELIMIT_SLIDING, 3, 1000, 1, t), 1, 2, -1, 1000);
    expect_result(hit(rl, RATELIMIT_SLIDING, 3, 1000, 1, t + 100), 1, 1, -1, 1000);
    expect_result(hit(rl, RATELIMIT_SLIDING, 3, 1000, 1, t + 200), 1, 0, -1, 1000);
    /* Full: the oldest hit (t) leaves the window at t + 1000. */
    ratelimit_result denied = hit(rl, RATELIMIT_SLIDING, 3, 1000, 1, t + 300);
    expect_result(denied, 0, 0, 700, 900);
    assert_false(denied.changed);
    /* COST 2 needs the two oldest gone: t + 100 + 1000. */
    expect_result(hit(rl, RATELIMIT_SLIDING, 3, 1000, 2, t + 300), 0, 0, 800, 900);
    /* Peek. */
    ratelimit_result peek = hit(rl, RATELIMIT_SLIDING, 3, 1000, 0, t + 300);
    expect_result(peek, 1, 0, -1, 900);
    assert_false(peek.changed);
    /* One ms before the oldest leaves: still full; at the edge: allowed. */
    expect_result(hit(rl, RATELIMIT_SLIDING, 3, 1000, 1, t + 999), 0, 0, 1, 201);
    ratelimit_result ok = hit(rl, RATELIMIT_SLIDING, 3, 1000, 1, t + 1000);
    expect_result(ok, 1, 0, -1, 1000);
    assert_true(ok.changed);
    assert_int_equal(ok.deadline_ms, t + 2000);
    /* A cost above the limit is never allowed. */
    expect_result(hit(rl, RATELIMIT_SLIDING, 3, 1000, 4, t + 5000), 0, 3, RATELIMIT_RETRY_NEVER, 0);
    ratelimit_free(rl);
}

static void test_sliding_peek_on_empty(void **state)
{
    (void)state;
    ratelimit *rl = ratelimit_create(RATELIMIT_SLIDING);
    ratelimit_result res = hit(rl, RATELIMIT_SLIDING, 10, 60000, 0, 5000);
    expect_result(res, 1, 10, -1, 0);
    assert_false(res.changed);
    assert_int_equal(res.deadline_ms, -1);
    ratelimit_free(rl);
}

/* The reference: the sorted-set pattern, one timestamp per unit of cost. */
typedef struct model {
    int64_t *times;
    size_t count;
    size_t capacity;
} model;

static void model_prune(model *m, int64_t now, int64_t window)
{
    /* ZREMRANGEBYSCORE key 0 now-window */
    size_t kept = 0;
    for (size_t i = 0; i < m->count; i++)
        if (m->times[i] > now - window)
            m->times[kept++] = m->times[i];
    m->count = kept;
}

static int64_t model_count_at(const model *m, int64_t at, int64_t window)
{
    int64_t n = 0;
    for (size_t i = 0; i < m->count; i++)
        if (m->times[i] > at - window)
            n++;
    return n;
}

static uint64_t rng_state = 0x243f6a8885a308d3u;

static uint64_t rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1du;
}

static int64_t rng_below(int64_t bound)
{
    return (int64_t)(rng_next() % (uint64_t)bound);
}

/* Random traffic against the model: the same decision every step, the same
 * remaining, a retry time after which (and not before) the hit fits, and
 * the reset time of the newest hit. Limits change now and then, as a
 * client reconfiguring a limiter would. */
static void run_sliding_model(int64_t window, int steps)
{
    ratelimit *rl = ratelimit_create(RATELIMIT_SLIDING);
    model m = {0};
    int64_t now = 1700000000000 + rng_below(1000);
    int64_t limit = 1 + rng_below(20);
    int64_t accepted = 0;
    for (int step = 0; step < steps; step++) {
        switch (rng_below(4)) {
        case 0:
            break; /* same millisecond */
        case 1:
            now += rng_below(window / 10 + 1);
            break;
        case 2:
            now += rng_below(window);
            break;
        default:
            now += rng_below(3);
        }
        if (rng_below(200) == 0)
            limit = 1 + rng_below(20);
        int64_t cost = rng_below(10) == 0 ? rng_below(limit + 3) : (rng_below(6) == 0 ? 0 : 1);

        model_prune(&m, now, window);
        int64_t count = (int64_t)m.count;
        int allowed = count + cost <= limit;
        int64_t retry = -1;
        if (!allowed && cost > limit) {
            retry = RATELIMIT_RETRY_NEVER;
        } else if (!allowed) {
            /* Brute force: the first later millisecond at which it fits. */
            for (int64_t w = 1; w <= window; w++)
                if (model_count_at(&m, now + w, window) + cost <= limit) {
                    retry = w;
                    break;
                }
        }
        if (allowed && cost > 0) {
            if (m.count + (size_t)cost > m.capacity) {
                m.capacity = (m.count + (size_t)cost) * 2;
                m.times = realloc(m.times, m.capacity * sizeof(int64_t));
            }
            for (int64_t i = 0; i < cost; i++)
                m.times[m.count++] = now;
            accepted += cost;
        }
        int64_t newest = -1;
        for (size_t i = 0; i < m.count; i++)
            if (m.times[i] > newest)
                newest = m.times[i];
        int64_t reset = m.count ? newest + window - now : 0;
        int64_t remaining = limit - (int64_t)m.count;

        ratelimit_result res = hit(rl, RATELIMIT_SLIDING, limit, window, cost, now);
        if (res.allowed != allowed || res.remaining != (remaining > 0 ? remaining : 0) ||
            res.retry_after_ms != retry || res.reset_after_ms != reset)
            fail_msg("step %d now %lld limit %lld cost %lld: got allowed %d remaining %lld retry "
                     "%lld reset %lld, model %d %lld %lld %lld",
                     step, (long long)now, (long long)limit, (long long)cost, res.allowed,
                     (long long)res.remaining, (long long)res.retry_after_ms,
                     (long long)res.reset_after_ms, allowed, (long long)remaining, (long long)retry,
                     (long long)reset);
        assert_int_equal(res.changed, allowed && cost > 0);
        /* O(limit) memory: the ring never needs more runs than the limit. */
        assert_true(rl->u.sliding.length <= 20);
    }
    assert_true(accepted > steps / 10); /* the traffic did exercise both paths */
    free(m.times);
    ratelimit_free(rl);
}

static void test_sliding_matches_sorted_set_model(void **state)
{
    (void)state;
    run_sliding_model(1000, 5000);
    run_sliding_model(7, 3000);
    run_sliding_model(60000, 3000);
}

/* A burst fills the ring; once it drains, the ring gives memory back. */
static void test_sliding_ring_shrinks(void **state)
{
    (void)state;
    ratelimit *rl = ratelimit_create(RATELIMIT_SLIDING);
    for (int64_t i = 0; i < 1000; i++)
        assert_true(hit(rl, RATELIMIT_SLIDING, 1000, 10000, 1, 100000 + i).allowed);
    assert_int_equal(rl->u.sliding.length, 1000);
    assert_true(rl->u.sliding.capacity >= 1000);
    /* Hits sharing a millisecond share a run. */
    ratelimit *same = ratelimit_create(RATELIMIT_SLIDING);
    for (int i = 0; i < 50; i++)
        assert_true(hit(same, RATELIMIT_SLIDING, 100, 1000, 2, 5000).allowed);
    assert_int_equal(same->u.sliding.length, 1);
    assert_int_equal(same->u.sliding.total, 100);
    ratelimit_free(same);
    for (int i = 0; i < 10; i++)
        hit(rl, RATELIMIT_SLIDING, 1000, 10000, 0, 200000 + i);
    assert_int_equal(rl->u.sliding.length, 0);
    assert_true(rl->u.sliding.capacity <= 8);
    ratelimit_free(rl);
}

/* ---------- fixed window ---------- */

static void test_fixed_window_boundaries(void **state)
{
    (void)state;
    ratelimit *rl = ratelimit_create(RATELIMIT_FIXED);
    /* Windows are aligned to multiples of WINDOW: [1000000, 1001000). */
    expect_result(hit(rl, RATELIMIT_FIXED, 3, 1000, 1, 1000000), 1, 2, -1, 1000);
    expect_result(hit(rl, RATELIMIT_FIXED, 3, 1000, 2, 1000400), 1, 0, -1, 600);
    ratelimit_result denied = hit(rl, RATELIMIT_FIXED, 3, 1000, 1, 1000999);
    expect_result(denied, 0, 0, 1, 1);
    assert_false(denied.changed);
    /* The next window starts empty: the classic double burst at the edge. */
    ratelimit_result next = hit(rl, RATELIMIT_FIXED, 3, 1000, 3, 1001000);
    expect_result(next, 1, 0, -1, 1000);
    assert_int_equal(next.deadline_ms, 1002000);
    /* A different WINDOW is a different window. */
    expect_result(hit(rl, RATELIMIT_FIXED, 3, 500, 1, 1001000), 1, 2, -1, 500);
    /* Peek, and an impossible cost. */
    expect_result(hit(rl, RATELIMIT_FIXED, 3, 500, 0, 1001100), 1, 2, -1, 400);
    expect_result(hit(rl, RATELIMIT_FIXED, 3, 500, 4, 1001100), 0, 2, RATELIMIT_RETRY_NEVER, 400);
    ratelimit_free(rl);
}

/* ---------- GCRA ---------- */

static void test_gcra_rl_hit(void **state)
{
    (void)state;
    ratelimit *rl = ratelimit_create(RATELIMIT_GCRA);
    int64_t t = 1700000000000;
    /* 5 per 5000 ms: one every second, all 5 at once from full. */
    for (int i = 0; i < 5; i++)
        expect_result(hit(rl, RATELIMIT_GCRA, 5, 5000, 1, t), 1, 4 - i, -1, 1000 * (i + 1));
    expect_result(hit(rl, RATELIMIT_GCRA, 5, 5000, 1, t), 0, 0, 1000, 5000);
    expect_result(hit(rl, RATELIMIT_GCRA, 5, 5000, 1, t + 250), 0, 0, 750, 4750);
    expect_result(hit(rl, RATELIMIT_GCRA, 5, 5000, 1, t + 1000), 1, 0, -1, 5000);
    /* 2500 ms later 2.5 cells have drained: 2 hits fit, a third does not. */
    expect_result(hit(rl, RATELIMIT_GCRA, 5, 5000, 0, t + 3500), 1, 2, -1, 2500);
    expect_result(hit(rl, RATELIMIT_GCRA, 5, 5000, 3, t + 3500), 0, 2, 500, 2500);
    expect_result(hit(rl, RATELIMIT_GCRA, 5, 5000, 6, t + 3500), 0, 2, RATELIMIT_RETRY_NEVER, 2500);
    ratelimit_result ok = hit(rl, RATELIMIT_GCRA, 5, 5000, 2, t + 3500);
    expect_result(ok, 1, 0, -1, 4500);
    assert_int_equal(ok.deadline_ms, t + 8000);
    /* Idle past the deadline: full again. */
    expect_result(hit(rl, RATELIMIT_GCRA, 5, 5000, 0, t + 9000), 1, 5, -1, 0);
    ratelimit_free(rl);
}

/* RL.HIT GCRA limit n window w is CL.THROTTLE max_burst n-1, n per w. */
static void test_gcra_shared_with_cell(void **state)
{
    (void)state;
    ratelimit *rl = ratelimit_create(RATELIMIT_GCRA);
    int64_t t_ms = 1700000000000;
    for (int i = 0; i < 3; i++)
        assert_true(hit(rl, RATELIMIT_GCRA, 4, 4000, 1, t_ms).allowed);
    ratelimit_cell_request rq = {
        .max_burst = 3, .count_per_period = 4, .period_s = 4, .quantity = 1};
    ratelimit_cell_result res;
    ratelimit_cell_throttle(rl, &rq, t_ms * NS_PER_MS, &res);
    assert_int_equal(res.limited, 0);
    assert_int_equal(res.remaining, 0);
    assert_int_equal(res.reset_after_s, 4);
    ratelimit_cell_throttle(rl, &rq, t_ms * NS_PER_MS, &res);
    assert_int_equal(res.limited, 1);
    assert_int_equal(res.retry_after_s, 1);
    ratelimit_free(rl);
}

/* ---------- persistence and copies ---------- */

static ratelimit *roundtrip(const ratelimit *rl)
{
    buffer out;
    buffer_init(&out);
    ratelimit_save(rl, &out);
    ratelimit *loaded = ratelimit_load(out.data, out.len);
    /* Every truncation and a wrong version are refused. */
    for (size_t len = 0; len < out.len; len++)
        assert_null(ratelimit_load(out.data, len));
    out.data[0] = 9;
    assert_null(ratelimit_load(out.data, out.len));
    buffer_release(&out);
    assert_non_null(loaded);
    return loaded;
}

static void test_save_load_and_copy(void **state)
{
    (void)state;
    ratelimit_algorithm algorithms[] = {RATELIMIT_SLIDING, RATELIMIT_FIXED, RATELIMIT_GCRA};
    for (int a = 0; a < 3; a++) {
        ratelimit *rl = ratelimit_create(algorithms[a]);
        for (int i = 0; i < 7; i++)
            hit(rl, algorithms[a], 10, 60000, 1 + i % 2, 1700000000000 + i * 10);
        ratelimit *loaded = roundtrip(rl);
        ratelimit *copy = ratelimit_copy(rl);
        /* All three must answer the next hits identically. */
        for (int i = 0; i < 5; i++) {
            ratelimit_result x = hit(rl, algorithms[a], 10, 60000, 1, 1700000001000 + i);
            ratelimit_result y = hit(loaded, algorithms[a], 10, 60000, 1, 1700000001000 + i);
            ratelimit_result z = hit(copy, algorithms[a], 10, 60000, 1, 1700000001000 + i);
            assert_memory_equal(&x, &y, sizeof(x));
            assert_memory_equal(&x, &z, sizeof(x));
        }
        assert_true(ratelimit_memory(rl) >= sizeof(ratelimit));
        ratelimit_free(rl);
        ratelimit_free(loaded);
        ratelimit_free(copy);
    }
    /* Unknown algorithm, trailing bytes. */
    static const char bad_algorithm[] = {1, 7, 0, 0, 0, 0, 0, 0, 0, 0};
    assert_null(ratelimit_load(bad_algorithm, sizeof(bad_algorithm)));
    static const char trailing[] = {1, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    assert_null(ratelimit_load(trailing, sizeof(trailing)));
    /* A sliding ring claiming more runs than bytes. */
    static const char huge[] = {1, 1, (char)0xff, (char)0xff, (char)0xff, (char)0xff};
    assert_null(ratelimit_load(huge, sizeof(huge)));
}

static void test_reset_switches_algorithm(void **state)
{
    (void)state;
    ratelimit *rl = ratelimit_create(RATELIMIT_SLIDING);
    hit(rl, RATELIMIT_SLIDING, 2, 1000, 2, 1000);
    ratelimit_reset(rl, RATELIMIT_FIXED);
    assert_int_equal(rl->algorithm, RATELIMIT_FIXED);
    expect_result(hit(rl, RATELIMIT_FIXED, 2, 1000, 1, 1000), 1, 1, -1, 1000);
    ratelimit_free(rl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cell_matches_redis_cell_sequence),
        cmocka_unit_test(test_cell_readme_and_rounding),
        cmocka_unit_test(test_cell_rejects_bad_parameters),
        cmocka_unit_test(test_sliding_basic),
        cmocka_unit_test(test_sliding_peek_on_empty),
        cmocka_unit_test(test_sliding_matches_sorted_set_model),
        cmocka_unit_test(test_sliding_ring_shrinks),
        cmocka_unit_test(test_fixed_window_boundaries),
        cmocka_unit_test(test_gcra_rl_hit),
        cmocka_unit_test(test_gcra_shared_with_cell),
        cmocka_unit_test(test_save_load_and_copy),
        cmocka_unit_test(test_reset_switches_algorithm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
