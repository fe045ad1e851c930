/* Rolling counters in time buckets. See include/rivet/counter_window.h. */
#include "rivet/counter_window.h"

#include <string.h>

#include "rivet/memory.h"

int64_t counter_window_default_resolution(int64_t window_ms)
{
    int64_t resolution = window_ms / 60;
    return resolution > 0 ? resolution : 1;
}

int64_t counter_window_bucket_count(int64_t window_ms, int64_t resolution_ms)
{
    return window_ms / resolution_ms + (window_ms % resolution_ms != 0);
}

static int64_t bucket_index(const counter_window *w, int64_t now_ms)
{
    /* Times before the epoch all fall in bucket 0; nobody runs there. */
    return now_ms > 0 ? now_ms / w->resolution_ms : 0;
}

static size_t window_size(uint32_t buckets)
{
    return sizeof(counter_window) + (size_t)buckets * sizeof(int64_t);
}

counter_window *counter_window_create(int64_t window_ms, int64_t resolution_ms, int64_t now_ms)
{
    uint32_t buckets = (uint32_t)counter_window_bucket_count(window_ms, resolution_ms);
    counter_window *w = mem_calloc(window_size(buckets));
    w->window_ms = window_ms;
    w->resolution_ms = resolution_ms;
    w->bucket_count = buckets;
    w->newest_index = bucket_index(w, now_ms);
    return w;
}

void counter_window_free(counter_window *w)
{
    mem_free(w);
}

counter_window *counter_window_copy(const counter_window *w)
{
    return mem_dup(w, window_size(w->bucket_count));
}

size_t counter_window_memory(const counter_window *w)
{
    return mem_block_size(w);
}

/* The total can only leave the int64 range through adversarial sums (a
 * huge positive and a huge negative delta, then one of them expiring); it
 * then sticks at the nearest bound instead of wrapping. */
static int64_t saturating_sub(int64_t a, int64_t b)
{
    int64_t result;
    if (__builtin_sub_overflow(a, b, &result))
        return b < 0 ? INT64_MAX : INT64_MIN;
    return result;
}

/* Moves the newest bucket up to now, emptying the buckets that left the
 * window on the way. A clock that stepped back keeps adding to the newest
 * bucket rather than reopening old ones. */
static void advance(counter_window *w, int64_t now_ms)
{
    int64_t index = bucket_index(w, now_ms);
    if (index <= w->newest_index)
        return;
    int64_t steps = index - w->newest_index;
    if (steps >= w->bucket_count) {
        memset(w->buckets, 0, (size_t)w->bucket_count * sizeof(int64_t));
        w->total = 0;
        w->newest_slot = 0;
    } else {
        for (int64_t i = 0; i < steps; i++) {
            w->newest_slot = (w->newest_slot + 1) % w->bucket_count;
            w->total = saturating_sub(w->total, w->buckets[w->newest_slot]);
            w->buckets[w->newest_slot] = 0;
        }
    }
    w->newest_index = index;
}

int counter_window_add(counter_window *w, int64_t delta, int64_t now_ms, int64_t *total)
{
    advance(w, now_ms);
    int64_t bucket, sum;
    if (__builtin_add_overflow(w->buckets[w->newest_slot], delta, &bucket) ||
        __builtin_add_overflow(w->total, delta, &sum))
        return 0;
    w->buckets[w->newest_slot] = bucket;
    w->total = sum;
    *total = sum;
    return 1;
}

int64_t counter_window_total(counter_window *w, int64_t now_ms)
{
    advance(w, now_ms);
    return w->total;
}

int64_t counter_window_deadline(const counter_window *w)
{
    return (w->newest_index + w->bucket_count) * w->resolution_ms;
}

/* Layout, integers little-endian:
 *   u8 version (1) | i64 window_ms | i64 resolution_ms | i64 newest_index
 *   | u32 bucket_count | i64 buckets..., oldest first (newest last) */
#define SAVE_VERSION 1

static int get_u64(const unsigned char **at, size_t *left, size_t n, uint64_t *value)
{
    if (*left < n)
        return 0;
    *value = buffer_read_le(*at, (int)n);
    *at += n;
    *left -= n;
    return 1;
}

void counter_window_save(const counter_window *w, buffer *out)
{
    buffer_append_char(out, SAVE_VERSION);
    buffer_append_le(out, (uint64_t)w->window_ms, 8);
    buffer_append_le(out, (uint64_t)w->resolution_ms, 8);
    buffer_append_le(out, (uint64_t)w->newest_index, 8);
    buffer_append_le(out, w->bucket_count, 4);
    for (uint32_t i = 1; i <= w->bucket_count; i++)
        buffer_append_le(out, (uint64_t)w->buckets[(w->newest_slot + i) % w->bucket_count], 8);
}

counter_window *counter_window_load(const char *bytes, size_t len, int64_t max_buckets)
{
    const unsigned char *at = (const unsigned char *)bytes;
    size_t left = len;
    uint64_t version, window, resolution, newest, count;
    if (!get_u64(&at, &left, 1, &version) || version != SAVE_VERSION ||
        !get_u64(&at, &left, 8, &window) || !get_u64(&at, &left, 8, &resolution) ||
        !get_u64(&at, &left, 8, &newest) || !get_u64(&at, &left, 4, &count))
        return NULL;
    if ((int64_t)window <= 0 || (int64_t)resolution <= 0 || (int64_t)newest < 0 ||
        (int64_t)count != counter_window_bucket_count((int64_t)window, (int64_t)resolution) ||
        (int64_t)count > max_buckets || left != count * 8)
        return NULL;
    counter_window *w = counter_window_create((int64_t)window, (int64_t)resolution, 0);
    w->newest_index = (int64_t)newest;
    w->newest_slot = w->bucket_count - 1;
    for (uint32_t i = 0; i < w->bucket_count; i++) {
        uint64_t value = 0;
        get_u64(&at, &left, 8, &value);
        w->buckets[i] = (int64_t)value;
        int64_t sum;
        if (__builtin_add_overflow(w->total, (int64_t)value, &sum))
            sum = (int64_t)value > 0 ? INT64_MAX : INT64_MIN;
        w->total = sum;
    }
    return w;
}
