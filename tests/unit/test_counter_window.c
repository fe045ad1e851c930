/* Tests for the bucketed rolling counter with an injected clock: exactly
 * when a delta stops counting, long idle gaps, a clock stepping back,
 * overflow, a random comparison against a list of (time, delta) events, and
 * persistence. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>

#include "rivet/buffer.h"
#include "rivet/counter_window.h"

static int64_t add(counter_window *w, int64_t delta, int64_t now)
{
    int64_t total = 0;
    assert_true(counter_window_add(w, delta, now, &total));
    return total;
}

static void test_geometry(void **state)
{
    (void)state;
    assert_int_equal(counter_window_default_resolution(60000), 1000);
    assert_int_equal(counter_window_default_resolution(59), 1);
    assert_int_equal(counter_window_default_resolution(1), 1);
    assert_int_equal(counter_window_bucket_count(60000, 1000), 60);
    assert_int_equal(counter_window_bucket_count(1000, 16), 63); /* rounds up */
    assert_int_equal(counter_window_bucket_count(10, 100), 1);
}

/* 10 buckets of 1000 ms: a delta added at 500 (bucket 0) counts until the
 * clock reaches bucket 10, i.e. through 9999 and not at 10000. */
static void test_delta_leaves_with_its_bucket(void **state)
{
    (void)state;
    counter_window *w = counter_window_create(10000, 1000, 500);
    assert_int_equal(add(w, 5, 500), 5);
    assert_int_equal(add(w, 2, 3200), 7);
    /* The key expires when the newest delta's bucket leaves the window. */
    assert_int_equal(counter_window_deadline(w), 13000);
    assert_int_equal(counter_window_total(w, 9999), 7);
    assert_int_equal(counter_window_total(w, 10000), 2);
    assert_int_equal(add(w, -1, 12999), 1);
    assert_int_equal(counter_window_total(w, 13000), -1);
    assert_int_equal(counter_window_total(w, 21999), -1);
    assert_int_equal(counter_window_total(w, 22000), 0);
    counter_window_free(w);
}

static void test_idle_gap_and_clock_back(void **state)
{
    (void)state;
    counter_window *w = counter_window_create(5000, 1000, 100000);
    for (int i = 0; i < 5; i++)
        add(w, 1, 100000 + i * 1000);
    assert_int_equal(counter_window_total(w, 104999), 5);
    /* A gap far longer than the window empties everything at once. */
    assert_int_equal(counter_window_total(w, 900000000), 0);
    assert_int_equal(add(w, 3, 900000000), 3);
    /* The clock steps back a minute: the delta joins the newest bucket. */
    assert_int_equal(add(w, 4, 899940000), 7);
    assert_int_equal(counter_window_total(w, 900004999), 7);
    assert_int_equal(counter_window_total(w, 900005000), 0);
    counter_window_free(w);
}

static void test_overflow_changes_nothing(void **state)
{
    (void)state;
    counter_window *w = counter_window_create(1000, 100, 0);
    assert_int_equal(add(w, INT64_MAX, 50), INT64_MAX);
    int64_t total = 42;
    assert_false(counter_window_add(w, 1, 60, &total));
    assert_int_equal(total, 42);
    assert_int_equal(counter_window_total(w, 60), INT64_MAX);
    /* In another bucket the bucket fits but the total would not. */
    assert_false(counter_window_add(w, 1, 250, &total));
    assert_int_equal(add(w, INT64_MIN, 250), -1);
    counter_window_free(w);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static int64_t rng_below(int64_t bound)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (int64_t)((rng_state * 0x2545f4914f6cdd1du) % (uint64_t)bound);
}

/* The model keeps every event; an event counts while its bucket is one of
 * the newest bucket_count buckets. */
static void test_matches_event_model(void **state)
{
    (void)state;
    const int64_t windows[][2] = {{1000, 16}, {60000, 1000}, {10, 100}, {7, 1}};
    for (size_t k = 0; k < sizeof(windows) / sizeof(windows[0]); k++) {
        int64_t window = windows[k][0], resolution = windows[k][1];
        int64_t buckets = counter_window_bucket_count(window, resolution);
        int64_t now = 1700000000000;
        counter_window *w = counter_window_create(window, resolution, now);
        int64_t *at = malloc(4000 * sizeof(int64_t)), *delta = malloc(4000 * sizeof(int64_t));
        size_t events = 0;
        for (int step = 0; step < 4000; step++) {
            now += rng_below(4) == 0 ? rng_below(window * 2) : rng_below(resolution + 1);
            int64_t d = rng_below(5) == 0 ? 0 : rng_below(21) - 5;
            int64_t got = d ? add(w, d, now) : counter_window_total(w, now);
            if (d) {
                at[events] = now / resolution;
                delta[events++] = d;
            }
            int64_t expected = 0;
            for (size_t i = 0; i < events; i++)
                if (now / resolution - at[i] < buckets)
                    expected += delta[i];
            if (got != expected)
                fail_msg("window %lld/%lld step %d: got %lld, model %lld", (long long)window,
                         (long long)resolution, step, (long long)got, (long long)expected);
        }
        free(at);
        free(delta);
        counter_window_free(w);
    }
}

static void test_save_load_copy(void **state)
{
    (void)state;
    counter_window *w = counter_window_create(10000, 1000, 1000000);
    for (int i = 0; i < 25; i++)
        add(w, i, 1000000 + i * 700);
    buffer out;
    buffer_init(&out);
    counter_window_save(w, &out);
    counter_window *loaded = counter_window_load(out.data, out.len, 100000);
    assert_non_null(loaded);
    for (size_t len = 0; len < out.len; len++)
        assert_null(counter_window_load(out.data, len, 100000));
    /* A bucket limit below the saved count refuses the value. */
    assert_null(counter_window_load(out.data, out.len, 5));
    out.data[0] = 2;
    assert_null(counter_window_load(out.data, out.len, 100000));
    buffer_release(&out);
    counter_window *copy = counter_window_copy(w);
    for (int64_t t = 1017000; t < 1040000; t += 333) {
        int64_t a = counter_window_total(w, t);
        assert_int_equal(counter_window_total(loaded, t), a);
        assert_int_equal(counter_window_total(copy, t), a);
    }
    assert_true(counter_window_memory(w) >= sizeof(counter_window) + 10 * sizeof(int64_t));
    counter_window_free(w);
    counter_window_free(loaded);
    counter_window_free(copy);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_geometry),
        cmocka_unit_test(test_delta_leaves_with_its_bucket),
        cmocka_unit_test(test_idle_gap_and_clock_back),
        cmocka_unit_test(test_overflow_changes_nothing),
        cmocka_unit_test(test_matches_event_model),
        cmocka_unit_test(test_save_load_copy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
