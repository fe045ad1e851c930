/* counter_window: a rolling sum kept in fixed time buckets (COUNTER.WINDOW).
 * A delta added at time t counts in the total until its bucket leaves the
 * window: for at most buckets * resolution ms. The clock is an argument. */
#ifndef RIVET_COUNTER_WINDOW_H
#define RIVET_COUNTER_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#include "rivet/buffer.h"

typedef struct counter_window {
    int64_t window_ms;
    int64_t resolution_ms;
    int64_t newest_index; /* time / resolution of the newest bucket */
    int64_t total;        /* sum of the buckets (saturating, see .c) */
    uint32_t bucket_count;
    uint32_t newest_slot;
    int64_t buckets[]; /* circular, bucket_count long */
} counter_window;

/* The default resolution for a window: window / 60, at least 1 ms. */
int64_t counter_window_default_resolution(int64_t window_ms);
/* How many buckets a window and resolution need: ceil(window / resolution). */
int64_t counter_window_bucket_count(int64_t window_ms, int64_t resolution_ms);

counter_window *counter_window_create(int64_t window_ms, int64_t resolution_ms, int64_t now_ms);
void counter_window_free(counter_window *w);
counter_window *counter_window_copy(const counter_window *w);
size_t counter_window_memory(const counter_window *w);

/* Adds delta at now_ms and sets *total to the rolling total. Returns 0 (and
 * changes nothing) if the bucket or the total would overflow an int64. */
int counter_window_add(counter_window *w, int64_t delta, int64_t now_ms, int64_t *total);
/* The rolling total at now_ms (drops buckets that left the window). */
int64_t counter_window_total(counter_window *w, int64_t now_ms);
/* When the last non-empty bucket leaves the window: the key's expiry. */
int64_t counter_window_deadline(const counter_window *w);

/* Persistence: a versioned byte string, and back (NULL if malformed). */
void counter_window_save(const counter_window *w, buffer *out);
counter_window *counter_window_load(const char *bytes, size_t len, int64_t max_buckets);

#endif
