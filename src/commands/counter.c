/* COUNTER.INCR and COUNTER.WINDOW. COUNTER.INCR works on plain string
 * integers (so GET, INCRBY and TYPE keep working on its keys) and adds
 * bounds and a creation-time TTL; COUNTER.WINDOW keeps a rolling total in a
 * native "window" key (src/primitives/counter_window.c). */
#include <string.h>

#include "handlers.h"
#include "rivet/counter_window.h"
#include "rivet/ratelimit.h"
#include "rivet/server.h"

#include "table.h"

/* A saved window may hold up to this many buckets whatever
 * counter-window-max-buckets says now: lowering the setting must not make
 * existing data unloadable. It is also the setting's ceiling (128 MB). */
#define COUNTER_WINDOW_LOAD_MAX_BUCKETS 16777216

/* ---------- the keyspace type ---------- */

static void free_window(void *ptr, object_encoding encoding)
{
    (void)encoding;
    counter_window_free(ptr);
}

static void *copy_window(const void *ptr, object_encoding encoding)
{
    (void)encoding;
    return counter_window_copy(ptr);
}

static void save_window(const void *ptr, object_encoding encoding, buffer *out)
{
    (void)encoding;
    counter_window_save(ptr, out);
}

static void *load_window(const char *bytes, size_t len, object_encoding *encoding)
{
    *encoding = ENCODING_NATIVE;
    return counter_window_load(bytes, len, COUNTER_WINDOW_LOAD_MAX_BUCKETS);
}

static size_t window_memory_usage(const void *ptr, object_encoding encoding, size_t samples)
{
    (void)encoding;
    (void)samples;
    return counter_window_memory(ptr);
}

void counter_register_type(keyspace *ks)
{
    static const object_methods methods = {.free_value = free_window,
                                           .copy_value = copy_window,
                                           .save_value = save_window,
                                           .load_value = load_window,
                                           .memory_usage = window_memory_usage};
    keyspace_register_type(ks, OBJECT_WINDOW, &methods);
}

static void signal_key(client *c, const char *event, int type_class)
{
    keyspace_signal_modified(c->db, c->argv[1], c->argv_len[1], event, type_class);
}

/* ---------- COUNTER.INCR ---------- */

typedef struct incr_options {
    int64_t min, max, px;
    int have_min, have_max, have_px;
} incr_options;

static int parse_incr_options(client *c, incr_options *o)
{
    memset(o, 0, sizeof(*o));
    for (int i = 3; i < c->argc; i++) {
        int has_value = i + 1 < c->argc;
        if (argument_is(c, i, "min") && has_value && !o->have_min) {
            if (!argument_int64(c, ++i, &o->min))
                return 0;
            o->have_min = 1;
        } else if (argument_is(c, i, "max") && has_value && !o->have_max) {
            if (!argument_int64(c, ++i, &o->max))
                return 0;
            o->have_max = 1;
        } else if (argument_is(c, i, "px") && has_value && !o->have_px) {
            if (!argument_int64(c, ++i, &o->px))
                return 0;
            o->have_px = 1;
        } else {
            reply_error(&c->reply, ERR_SYNTAX);
            return 0;
        }
    }
    if (o->have_px && (o->px <= 0 || o->px > INT64_MAX - server.now_ms)) {
        reply_error(&c->reply, "ERR invalid expire time in 'counter.incr' command");
        return 0;
    }
    if (o->have_min && o->have_max && o->min > o->max) {
        reply_error(&c->reply, "ERR MIN is greater than MAX");
        return 0;
    }
    return 1;
}

/* COUNTER.INCR key delta [MIN m] [MAX n] [PX ms]: the new value, or nil and
 * no change when it would leave [MIN, MAX]. PX applies only to a key this
 * call creates, so a quota window is not extended by later increments. */
void command_counter_incr(client *c)
{
    int64_t delta;
    incr_options o;
    if (!argument_int64(c, 2, &delta) || !parse_incr_options(c, &o))
        return;
    kv_entry *entry = keyspace_lookup(c->db, c->argv[1], c->argv_len[1]);
    int64_t value = 0;
    if (entry) {
        if (entry_type(entry) != OBJECT_STRING) {
            reply_error(&c->reply, ERR_WRONGTYPE);
            return;
        }
        if (!entry_string_integer(entry, &value)) {
            reply_error(&c->reply, ERR_NOT_INTEGER);
            return;
        }
    }
    int64_t result;
    if (__builtin_add_overflow(value, delta, &result)) {
        reply_error(&c->reply, ERR_OVERFLOW);
        return;
    }
    if ((o.have_min && result < o.min) || (o.have_max && result > o.max)) {
        server.primitives.counter_bound_rejections++;
        reply_null(&c->reply);
        return;
    }
    int created = entry == NULL;
    if (entry && entry_encoding(entry) == ENCODING_INT)
        keyspace_update_integer(entry, result);
    else
        entry = keyspace_set_integer(c->db, c->argv[1], c->argv_len[1], result, 1);
    signal_key(c, "counter.incr", EVENT_STRING);
    if (created && o.have_px) {
        keyspace_set_expire(c->db, entry, server.now_ms + o.px);
        signal_key(c, "expire", EVENT_GENERIC);
    }
    reply_integer(&c->reply, result);
}

/* ---------- COUNTER.WINDOW ---------- */

/* COUNTER.WINDOW key delta WINDOW ms [RESOLUTION ms]: the rolling total over
 * the last WINDOW ms after adding delta (0 reads without creating). */
void command_counter_window(client *c)
{
    int64_t delta, window = 0, resolution = 0;
    int have_window = 0, have_resolution = 0;
    if (!argument_int64(c, 2, &delta))
        return;
    for (int i = 3; i < c->argc; i++) {
        int has_value = i + 1 < c->argc;
        if (argument_is(c, i, "window") && has_value && !have_window) {
            if (!argument_int64(c, ++i, &window))
                return;
            have_window = 1;
        } else if (argument_is(c, i, "resolution") && has_value && !have_resolution) {
            if (!argument_int64(c, ++i, &resolution))
                return;
            have_resolution = 1;
        } else {
            reply_error(&c->reply, ERR_SYNTAX);
            return;
        }
    }
    if (!have_window) {
        reply_error(&c->reply, ERR_SYNTAX);
        return;
    }
    if (window <= 0 || window > RATELIMIT_MAX_WINDOW_MS) {
        reply_error(&c->reply, "ERR WINDOW must be between 1 and 1000000000000 milliseconds");
        return;
    }
    if (!have_resolution)
        resolution = counter_window_default_resolution(window);
    if (resolution <= 0) {
        reply_error(&c->reply, "ERR RESOLUTION must be a positive number of milliseconds");
        return;
    }
    int64_t buckets = counter_window_bucket_count(window, resolution);
    if (buckets > server.config.counter_window_max_buckets) {
        reply_errorf(&c->reply,
                     "ERR WINDOW / RESOLUTION needs %lld buckets, more than "
                     "counter-window-max-buckets (%lld)",
                     (long long)buckets, (long long)server.config.counter_window_max_buckets);
        return;
    }

    kv_entry *entry = keyspace_lookup(c->db, c->argv[1], c->argv_len[1]);
    counter_window *w = NULL;
    if (entry) {
        if (entry_type(entry) != OBJECT_WINDOW) {
            reply_error(&c->reply, ERR_WRONGTYPE);
            return;
        }
        w = entry_object(entry);
        /* Re-bucketing would have to invent how old deltas spread in time:
         * a different shape is refused, and DEL starts the key over. */
        if (w->window_ms != window || w->resolution_ms != resolution) {
            reply_error(&c->reply, "ERR the key holds a window with a different WINDOW or "
                                   "RESOLUTION");
            return;
        }
    }
    if (delta == 0) {
        reply_integer(&c->reply, w ? counter_window_total(w, server.now_ms) : 0);
        return;
    }
    int created = w == NULL;
    if (created)
        w = counter_window_create(window, resolution, server.now_ms);
    int64_t total;
    if (!counter_window_add(w, delta, server.now_ms, &total)) {
        if (created)
            counter_window_free(w);
        reply_error(&c->reply, ERR_OVERFLOW);
        return;
    }
    if (created)
        entry = keyspace_set_object(c->db, c->argv[1], c->argv_len[1], OBJECT_WINDOW,
                                    ENCODING_NATIVE, w, 0);
    keyspace_set_expire(c->db, entry, counter_window_deadline(w));
    signal_key(c, "counter.window", EVENT_GENERIC);
    reply_integer(&c->reply, total);
}

const command counter_command_rows[] = {
    ROW("counter.incr", -3, W | DOOM | FAST, C_W | C_STR | C_FAST, 1, 1, 1, KEY_WRITE_UPDATE,
        command_counter_incr, "counter", "1.0.0", "O(1)",
        "Adds to an integer counter unless the result would leave [MIN, MAX]."),
    ROW("counter.window", -3, W | DOOM | FAST, C_W | C_FAST, 1, 1, 1, KEY_WRITE_UPDATE,
        command_counter_window, "counter", "1.0.0",
        "O(1) amortized; O(B) after B buckets of inactivity",
        "Adds to a rolling counter and returns its total over the last WINDOW ms."),
    {0}};
