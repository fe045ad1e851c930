/* Stream commands: XADD, XLEN, XRANGE, XREVRANGE, XDEL, XTRIM, XREAD (with
 * BLOCK), consumer groups (XGROUP, XREADGROUP, XACK, XPENDING, XCLAIM,
 * XAUTOCLAIM), XSETID and XINFO. The log and the group bookkeeping are
 * core/stream.c; this file parses Redis's id and option syntax and writes
 * Redis 7.0's replies. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "handlers.h"
#include "rivet/blocking.h"
#include "rivet/memory.h"
#include "rivet/number.h"
#include "rivet/server.h"
#include "rivet/stream.h"
#include "table.h"

#define ERR_INVALID_ID "ERR Invalid stream ID specified as stream command argument"
#define ERR_ID_TOO_SMALL                                                                           \
    "ERR The ID specified in XADD is equal or smaller than the target stream top item"
#define ERR_ID_ZERO "ERR The ID specified in XADD must be greater than 0-0"

/* Redis's defaults for stream-node-max-entries / -bytes. */
#define NODE_MAX_ENTRIES 100
#define NODE_MAX_BYTES   4096

static const stream_id ID_MAX = {UINT64_MAX, UINT64_MAX};

/* ---------- ids ---------- */

/* An unsigned number as Redis reads an id part: a strict integer, or
 * failing that what strtoull accepts in full (leading blanks, '+'). */
static int parse_id_part(const char *s, uint64_t *out)
{
    int64_t value;
    if (number_parse_int64(s, strlen(s), &value))
        return value < 0 ? 0 : (*out = (uint64_t)value, 1);
    if (*s == '\0' || strchr(s, '-') != NULL)
        return 0;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return 0;
    *out = v;
    return 1;
}

/* Parses "ms-seq", "ms" (seq = missing_seq), and unless strict "-" / "+".
 * With seq_given non-NULL "ms-*" is accepted and *seq_given tells. Replies
 * with the invalid-id error and returns 0 on failure. */
static int parse_id(client *c, const char *arg, size_t len, stream_id *id, uint64_t missing_seq,
                    int strict, int *seq_given)
{
    char buffer[128];
    if (len > 127)
        goto invalid;
    memcpy(buffer, arg, len);
    buffer[len] = '\0';
    if (seq_given)
        *seq_given = 1;
    if (len == 1 && (buffer[0] == '-' || buffer[0] == '+')) {
        if (strict)
            goto invalid;
        *id = buffer[0] == '-' ? (stream_id){0, 0} : ID_MAX;
        return 1;
    }
    char *dash = strchr(buffer, '-');
    if (dash)
        *dash = '\0';
    if (!parse_id_part(buffer, &id->ms))
        goto invalid;
    if (dash == NULL) {
        id->seq = missing_seq;
    } else if (seq_given && dash[1] == '*' && dash[2] == '\0') {
        id->seq = 0;
        *seq_given = 0;
    } else if (!parse_id_part(dash + 1, &id->seq)) {
        goto invalid;
    }
    return 1;
invalid:
    if (c != NULL)
        reply_error(&c->reply, ERR_INVALID_ID);
    return 0;
}

/* A range bound: an id, or "(" id for an exclusive one. */
static int parse_interval_id(client *c, int i, stream_id *id, int *exclusive, uint64_t missing_seq)
{
    const char *arg = c->argv[i];
    size_t len = c->argv_len[i];
    *exclusive = len > 1 && arg[0] == '(';
    if (*exclusive)
        return parse_id(c, arg + 1, len - 1, id, missing_seq, 1, NULL);
    return parse_id(c, arg, len, id, missing_seq, 0, NULL);
}

static int id_increment(stream_id *id)
{
    if (id->seq == UINT64_MAX) {
        if (id->ms == UINT64_MAX)
            return 0;
        id->ms++;
        id->seq = 0;
    } else {
        id->seq++;
    }
    return 1;
}

static int id_decrement(stream_id *id)
{
    if (id->seq == 0) {
        if (id->ms == 0)
            return 0;
        id->ms--;
        id->seq = UINT64_MAX;
    } else {
        id->seq--;
    }
    return 1;
}

static size_t id_format(stream_id id, char *out)
{
    return (size_t)sprintf(out, "%llu-%llu", (unsigned long long)id.ms, (unsigned long long)id.seq);
}

static void reply_id(client *c, stream_id id)
{
    char text[48];
    reply_bulk(&c->reply, text, id_format(id, text));
}

/* ---------- shared helpers ---------- */

static kv_entry *lookup_write_stream(client *c, int i, int *wrong_type)
{
    kv_entry *e = keyspace_lookup(c->db, c->argv[i], c->argv_len[i]);
    *wrong_type = 0;
    if (e && entry_type(e) != OBJECT_STREAM) {
        reply_error(&c->reply, ERR_WRONGTYPE);
        *wrong_type = 1;
        return NULL;
    }
    return e;
}

/* Writes the entry the iterator is on: [id, [field, value, ...]]. */
static void reply_entry(client *c, stream_iterator *it, stream_id id, size_t items)
{
    reply_array(&c->reply, 2);
    reply_id(c, id);
    reply_array(&c->reply, items);
    for (size_t i = 0; i < items; i++) {
        const char *data;
        size_t len;
        stream_iterator_item(it, &data, &len);
        reply_bulk(&c->reply, data, len);
    }
}

/* Writes the entry with this id; 0 (nothing written) if it is not there. */
static int reply_entry_by_id(client *c, stream *s, stream_id id)
{
    stream_iterator it;
    stream_id found;
    size_t items;
    stream_iterator_start(&it, s, id, id, 0);
    if (!stream_iterator_next(&it, &found, &items))
        return 0;
    reply_entry(c, &it, found, items);
    return 1;
}

/* Writes up to count (0 = all) entries of [start, end] as XRANGE does;
 * returns how many. */
static size_t reply_range(client *c, stream *s, stream_id start, stream_id end, uint64_t count,
                          int reverse)
{
    stream_iterator it;
    stream_id id;
    size_t items, written = 0;
    size_t handle = reply_defer(&c->reply);
    stream_iterator_start(&it, s, start, end, reverse);
    while ((count == 0 || written < count) && stream_iterator_next(&it, &id, &items)) {
        reply_entry(c, &it, id, items);
        written++;
    }
    reply_defer_array(&c->reply, handle, written);
    return written;
}

/* ---------- trimming options (XADD and XTRIM) ---------- */

enum trim_strategy { TRIM_NONE, TRIM_MAXLEN, TRIM_MINID };

typedef struct trim_options {
    enum trim_strategy strategy;
    int approx;
    int64_t maxlen;
    stream_id minid;
    int64_t limit;
    /* XADD only */
    int no_mkstream;
    int id_given, seq_given;
    stream_id id;
} trim_options;

/* Parses from argv[2]; for XADD stops at the id (returns its index), for
 * XTRIM at the end. Replies and returns -1 on error. */
static int parse_trim_options(client *c, trim_options *o, int xadd)
{
    memset(o, 0, sizeof(*o));
    int limit_given = 0;
    int i;
    for (i = 2; i < c->argc; i++) {
        int more = c->argc - 1 - i;
        const char *arg = c->argv[i];
        if (xadd && c->argv_len[i] == 1 && arg[0] == '*')
            break;
        if ((argument_is(c, i, "maxlen") || argument_is(c, i, "minid")) && more) {
            int maxlen = argument_is(c, i, "maxlen");
            if (o->strategy != TRIM_NONE) {
                reply_error(&c->reply, "ERR syntax error, MAXLEN and MINID options at the same "
                                       "time are not compatible");
                return -1;
            }
            o->approx = 0;
            if (more >= 2 && c->argv_len[i + 1] == 1 &&
                (c->argv[i + 1][0] == '~' || c->argv[i + 1][0] == '=')) {
                o->approx = c->argv[i + 1][0] == '~';
                i++;
            }
            if (maxlen) {
                if (!argument_int64(c, i + 1, &o->maxlen))
                    return -1;
                if (o->maxlen < 0) {
                    reply_error(&c->reply, "ERR The MAXLEN argument must be >= 0.");
                    return -1;
                }
                o->strategy = TRIM_MAXLEN;
            } else {
                if (!parse_id(c, c->argv[i + 1], c->argv_len[i + 1], &o->minid, 0, 1, NULL))
                    return -1;
                o->strategy = TRIM_MINID;
            }
            i++;
        } else if (argument_is(c, i, "limit") && more) {
            if (!argument_int64(c, i + 1, &o->limit))
                return -1;
            if (o->limit < 0) {
                reply_error(&c->reply, "ERR The LIMIT argument must be >= 0.");
                return -1;
            }
            limit_given = 1;
            i++;
        } else if (xadd && argument_is(c, i, "nomkstream")) {
            o->no_mkstream = 1;
        } else if (xadd) {
            if (!parse_id(c, arg, c->argv_len[i], &o->id, 0, 1, &o->seq_given))
                return -1;
            o->id_given = 1;
            break;
        } else {
            reply_error(&c->reply, ERR_SYNTAX);
            return -1;
        }
    }
    if (o->limit && o->strategy == TRIM_NONE) {
        reply_error(
            &c->reply,
            "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy");
        return -1;
    }
    if (!xadd && o->strategy == TRIM_NONE) {
        reply_error(&c->reply, "ERR syntax error, XTRIM must be called with a trimming strategy");
        return -1;
    }
    if (limit_given) {
        if (!o->approx) {
            reply_error(&c->reply,
                        "ERR syntax error, LIMIT cannot be used without the special ~ option");
            return -1;
        }
    } else {
        o->limit = o->approx ? 100 * NODE_MAX_ENTRIES : 0;
    }
    return i;
}

static uint64_t apply_trim(stream *s, const trim_options *o)
{
    if (o->strategy == TRIM_MAXLEN)
        return stream_trim_maxlen(s, (uint64_t)o->maxlen, o->approx, (uint64_t)o->limit);
    if (o->strategy == TRIM_MINID)
        return stream_trim_minid(s, o->minid, o->approx, (uint64_t)o->limit);
    return 0;
}

/* ---------- XADD / XTRIM / XDEL / XLEN ---------- */

/* XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] *|id field value ... */
static void command_xadd(client *c)
{
    trim_options o;
    int id_index = parse_trim_options(c, &o, 1);
    if (id_index < 0)
        return;
    if (o.id_given && o.seq_given && o.id.ms == 0 && o.id.seq == 0) {
        reply_error(&c->reply, ERR_ID_ZERO);
        return;
    }
    int fields = c->argc - id_index - 1;
    if (fields < 2 || fields % 2 == 1) {
        reply_error(&c->reply, "ERR wrong number of arguments for 'xadd' command");
        return;
    }
    int wrong_type;
    kv_entry *e = lookup_write_stream(c, 1, &wrong_type);
    if (wrong_type)
        return;
    if (e == NULL && o.no_mkstream) {
        reply_null(&c->reply);
        return;
    }
    stream *s = e ? entry_object(e) : NULL;
    stream_id last = s ? stream_last_id(s) : (stream_id){0, 0};
    if (last.ms == UINT64_MAX && last.seq == UINT64_MAX) {
        reply_error(&c->reply,
                    "ERR The stream has exhausted the last possible ID, unable to add more items");
        return;
    }
    stream_id id;
    if (!o.id_given) {
        /* Wall clock, but never behind the last id. */
        uint64_t now = (uint64_t)server.now_ms;
        if (now > last.ms) {
            id = (stream_id){now, 0};
        } else {
            id = last;
            id_increment(&id);
        }
    } else if (!o.seq_given) {
        if (o.id.ms == last.ms) {
            if (last.seq == UINT64_MAX) {
                reply_error(&c->reply, ERR_ID_TOO_SMALL);
                return;
            }
            id = (stream_id){last.ms, last.seq + 1};
        } else if (o.id.ms > last.ms) {
            id = (stream_id){o.id.ms, 0};
        } else {
            reply_error(&c->reply, ERR_ID_TOO_SMALL);
            return;
        }
    } else {
        id = o.id;
        if (stream_id_compare(id, last) <= 0) {
            reply_error(&c->reply, ERR_ID_TOO_SMALL);
            return;
        }
    }
    if (s == NULL) {
        s = stream_create(NODE_MAX_ENTRIES, NODE_MAX_BYTES);
        keyspace_set_object(c->db, c->argv[1], c->argv_len[1], OBJECT_STREAM, ENCODING_STREAM, s,
                            0);
    }
    stream_append(s, id, c->argv + id_index + 1, c->argv_len + id_index + 1, (size_t)fields);
    reply_id(c, id);
    keyspace_signal_modified(c->db, c->argv[1], c->argv_len[1], "xadd", EVENT_STREAM);
    if (apply_trim(s, &o) > 0)
        keyspace_signal_modified(c->db, c->argv[1], c->argv_len[1], "xtrim", EVENT_STREAM);
}

/* XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count] */
static void command_xtrim(client *c)
{
    int wrong_type;
    kv_entry *e = lookup_write_stream(c, 1, &wrong_type);
    if (wrong_type)
        return;
    if (e == NULL) {
        reply_integer(&c->reply, 0);
        return;
    }
    trim_options o;
    if (parse_trim_options(c, &o, 0) < 0)
        return;
    uint64_t removed = apply_trim(entry_object(e), &o);
    reply_integer(&c->reply, (int64_t)removed);
    if (removed > 0)
        keyspace_signal_modified(c->db, c->argv[1], c->argv_len[1], "xtrim", EVENT_STREAM);
}

/* XDEL key id [id ...] */
static void command_xdel(client *c)
{
    stream_id small[16];
    int count = c->argc - 2;
    stream_id *ids = count <= 16 ? small : mem_alloc(sizeof(stream_id) * (size_t)count);
    /* Every id is checked first so a bad one leaves the stream untouched. */
    for (int j = 0; j < count; j++) {
        if (!parse_id(c, c->argv[j + 2], c->argv_len[j + 2], &ids[j], 0, 1, NULL))
            goto done;
    }
    int wrong_type;
    kv_entry *e = lookup_write_stream(c, 1, &wrong_type);
    if (wrong_type)
        goto done;
    int64_t deleted = 0;
    if (e != NULL) {
        stream *s = entry_object(e);
        for (int j = 0; j < count; j++)
            deleted += stream_delete(s, ids[j]);
    }
    reply_integer(&c->reply, deleted);
    if (deleted > 0)
        keyspace_signal_modified(c->db, c->argv[1], c->argv_len[1], "xdel", EVENT_STREAM);
done:
    if (ids != small)
        mem_free(ids);
}

/* XLEN key */
static void command_xlen(client *c)
{
    int wrong_type;
    kv_entry *e = lookup_read_typed(c, c->argv[1], c->argv_len[1], OBJECT_STREAM, &wrong_type);
    if (wrong_type)
        return;
    reply_integer(&c->reply, e ? (int64_t)stream_length(entry_object(e)) : 0);
}

/* ---------- XRANGE / XREVRANGE ---------- */

static void range_generic(client *c, int reverse)
{
    int start_index = reverse ? 3 : 2, end_index = reverse ? 2 : 3;
    stream_id start, end;
    int exclusive;
    if (!parse_interval_id(c, start_index, &start, &exclusive, 0))
        return;
    if (exclusive && !id_increment(&start)) {
        reply_error(&c->reply, "ERR invalid start ID for the interval");
        return;
    }
    if (!parse_interval_id(c, end_index, &end, &exclusive, UINT64_MAX))
        return;
    if (exclusive && !id_decrement(&end)) {
        reply_error(&c->reply, "ERR invalid end ID for the interval");
        return;
    }
    int64_t count = -1;
    for (int j = 4; j < c->argc; j++) {
        if (argument_is(c, j, "count") && j + 1 < c->argc) {
            if (!argument_int64(c, j + 1, &count))
                return;
            if (count < 0)
                count = 0;
            j++;
        } else {
            reply_error(&c->reply, ERR_SYNTAX);
            return;
        }
    }
    int wrong_type;
    kv_entry *e = lookup_read_typed(c, c->argv[1], c->argv_len[1], OBJECT_STREAM, &wrong_type);
    if (wrong_type)
        return;
    if (e == NULL) {
        reply_empty_array(&c->reply);
        return;
    }
    if (count == 0) {
        reply_null_array(&c->reply);
        return;
    }
    reply_range(c, entry_object(e), start, end, count < 0 ? 0 : (uint64_t)count, reverse);
}

/* XRANGE key start end [COUNT count] */
static void command_xrange(client *c)
{
    range_generic(c, 0);
}

/* XREVRANGE key end start [COUNT count] */
static void command_xrevrange(client *c)
{
    range_generic(c, 1);
}

/* ---------- XREAD ---------- */

static void reply_timeout_null_array(client *c)
{
    reply_null_array(&c->reply);
}

/* The group-reading side of XREADGROUP for one stream: new entries
 * (after the group's last id; they become pending unless noack) or the
 * consumer's own history (pending entries after `after`). */
static void reply_group_new(client *c, stream *s, stream_group *g, stream_consumer *consumer,
                            uint64_t count, int noack)
{
    stream_iterator it;
    stream_id id, start = g->last_id;
    size_t items, written = 0;
    size_t handle = reply_defer(&c->reply);
    if (!id_increment(&start)) {
        reply_defer_array(&c->reply, handle, 0);
        return;
    }
    stream_iterator_start(&it, s, start, ID_MAX, 0);
    while ((count == 0 || written < count) && stream_iterator_next(&it, &id, &items)) {
        reply_entry(c, &it, id, items);
        stream_group_advance(s, g, id);
        if (!noack)
            stream_pending_deliver(g, consumer, id, server.now_ms);
        written++;
    }
    reply_defer_array(&c->reply, handle, written);
}

static void reply_group_history(client *c, stream *s, stream_consumer *consumer, stream_id after,
                                uint64_t count)
{
    size_t written = 0;
    size_t handle = reply_defer(&c->reply);
    if (id_increment(&after)) {
        size_t i = stream_pending_seek(consumer->pending, consumer->pending_count, after);
        for (; i < consumer->pending_count && (count == 0 || written < count); i++) {
            stream_pending *p = consumer->pending[i];
            written++;
            /* A pending entry deleted from the stream reads as [id, nil]. */
            if (!reply_entry_by_id(c, s, p->id)) {
                reply_array(&c->reply, 2);
                reply_id(c, p->id);
                reply_null_array(&c->reply);
                continue;
            }
            p->delivery_time = server.now_ms;
            p->delivery_count++;
        }
    }
    reply_defer_array(&c->reply, handle, written);
}

static void reply_blocked_group_gone(client *c)
{
    reply_error(&c->reply,
                "NOGROUP the consumer group this client was blocked on no longer exists");
}

/* XREAD [COUNT count] [BLOCK milliseconds] STREAMS key [key ...] id [id ...]
 * XREADGROUP GROUP group consumer [COUNT count] [BLOCK milliseconds] [NOACK]
 *   STREAMS key [key ...] id [id ...] */
static void xread_generic(client *c, int group_mode)
{
    int64_t count = 0, block_ms = -1;
    int streams_index = 0, group_index = 0, noack = 0;
    for (int i = 1; i < c->argc; i++) {
        int more = c->argc - i - 1;
        if (argument_is(c, i, "block") && more) {
            i++;
            if (!argument_int64_or(c, i, &block_ms,
                                   "ERR timeout is not an integer or out of range"))
                return;
            if (block_ms < 0) {
                reply_error(&c->reply, "ERR timeout is negative");
                return;
            }
        } else if (argument_is(c, i, "count") && more) {
            i++;
            if (!argument_int64(c, i, &count))
                return;
            if (count < 0)
                count = 0;
        } else if (argument_is(c, i, "streams") && more) {
            streams_index = i + 1;
            if ((c->argc - streams_index) % 2 != 0) {
                /* Redis says XREAD here for XREADGROUP too. */
                reply_error(&c->reply, "ERR Unbalanced XREAD list of streams: for each stream "
                                       "key an ID or '$' must be specified.");
                return;
            }
            break;
        } else if (argument_is(c, i, "group") && more >= 2) {
            if (!group_mode) {
                reply_error(&c->reply, "ERR The GROUP option is only supported by XREADGROUP. "
                                       "You called XREAD instead.");
                return;
            }
            group_index = i + 1;
            i += 2;
        } else if (argument_is(c, i, "noack")) {
            if (!group_mode) {
                reply_error(&c->reply, "ERR The NOACK option is only supported by XREADGROUP. "
                                       "You called XREAD instead.");
                return;
            }
            noack = 1;
        } else {
            reply_error(&c->reply, ERR_SYNTAX);
            return;
        }
    }
    if (streams_index == 0) {
        reply_error(&c->reply, ERR_SYNTAX);
        return;
    }
    if (group_mode && group_index == 0) {
        reply_error(&c->reply, "ERR Missing GROUP option for XREADGROUP");
        return;
    }
    int retrying = client_is_retrying(c);
    int stream_count = (c->argc - streams_index) / 2;
    stream_id small[8];
    stream_id *ids = stream_count <= 8 ? small : mem_alloc(sizeof(stream_id) * stream_count);
    int has_dollar = 0;
    for (int k = 0; k < stream_count; k++) {
        int key_index = streams_index + k, id_index = streams_index + stream_count + k;
        kv_entry *e;
        if (retrying) {
            /* A key that changed type while we waited is not an error:
             * Redis keeps such a client blocked. */
            e = keyspace_lookup_read(c->db, c->argv[key_index], c->argv_len[key_index], 1);
            if (e && entry_type(e) != OBJECT_STREAM)
                e = NULL;
        } else {
            int wrong_type;
            e = lookup_read_typed(c, c->argv[key_index], c->argv_len[key_index], OBJECT_STREAM,
                                  &wrong_type);
            if (wrong_type)
                goto done;
        }
        if (group_mode) {
            stream_group *g = e ? stream_group_find(entry_object(e), c->argv[group_index],
                                                    c->argv_len[group_index])
                                : NULL;
            if (g == NULL && retrying) {
                if (e != NULL)
                    reply_blocked_group_gone(c);
                goto done; /* a deleted key: keep waiting */
            }
            if (g == NULL) {
                reply_errorf(&c->reply,
                             "NOGROUP No such key '%.*s' or consumer group '%.*s' in XREADGROUP "
                             "with GROUP option",
                             (int)c->argv_len[key_index], c->argv[key_index],
                             (int)c->argv_len[group_index], c->argv[group_index]);
                goto done;
            }
        }
        if (c->argv_len[id_index] == 1 && c->argv[id_index][0] == '$') {
            if (group_mode) {
                reply_error(&c->reply,
                            "ERR The $ ID is meaningless in the context of XREADGROUP: you want "
                            "to read the history of this consumer by specifying a proper ID, or "
                            "use the > ID to get new messages. The $ ID would just return an "
                            "empty result set.");
                goto done;
            }
            ids[k] = e ? stream_last_id(entry_object(e)) : (stream_id){0, 0};
            has_dollar = 1;
            continue;
        }
        if (c->argv_len[id_index] == 1 && c->argv[id_index][0] == '>') {
            if (!group_mode) {
                reply_error(&c->reply, "ERR The > ID can be specified only when calling "
                                       "XREADGROUP using the GROUP <group> <consumer> option.");
                goto done;
            }
            ids[k] = ID_MAX; /* "new entries" */
            continue;
        }
        if (!parse_id(c, c->argv[id_index], c->argv_len[id_index], &ids[k], 0, 1, NULL))
            goto done;
    }
    /* Serve what is there now. */
    size_t handle = 0;
    int served = 0;
    for (int k = 0; k < stream_count; k++) {
        int key_index = streams_index + k;
        kv_entry *e = keyspace_lookup_read(c->db, c->argv[key_index], c->argv_len[key_index], 1);
        if (e == NULL || entry_type(e) != OBJECT_STREAM)
            continue;
        stream *s = entry_object(e);
        stream_group *g = NULL;
        stream_consumer *consumer = NULL;
        int history = 0, serve = 0;
        if (group_mode) {
            g = stream_group_find(s, c->argv[group_index], c->argv_len[group_index]);
            const char *consumer_name = c->argv[group_index + 1];
            size_t consumer_len = c->argv_len[group_index + 1];
            consumer = stream_consumer_find(g, consumer_name, consumer_len);
            if (consumer == NULL) {
                consumer = stream_consumer_create(g, consumer_name, consumer_len, server.now_ms);
                keyspace_signal_modified(c->db, c->argv[key_index], c->argv_len[key_index],
                                         "xgroup-createconsumer", EVENT_STREAM);
            }
            consumer->seen_time = server.now_ms;
            if (stream_id_compare(ids[k], ID_MAX) != 0) {
                history = serve = 1;
            } else {
                stream_id after = g->last_id;
                serve = stream_length(s) > 0 && id_increment(&after);
                if (serve) {
                    stream_iterator it;
                    stream_id id;
                    size_t items;
                    stream_iterator_start(&it, s, after, ID_MAX, 0);
                    serve = stream_iterator_next(&it, &id, &items);
                }
            }
        } else {
            stream_id after = ids[k];
            serve = stream_length(s) > 0 && id_increment(&after);
            if (serve) {
                /* Is there a live entry past the id? */
                stream_iterator it;
                stream_id id;
                size_t items;
                stream_iterator_start(&it, s, after, ID_MAX, 0);
                serve = stream_iterator_next(&it, &id, &items);
            }
        }
        if (!serve)
            continue;
        if (served == 0)
            handle = reply_defer(&c->reply);
        served++;
        if (client_protocol(c) < 3)
            reply_array(&c->reply, 2);
        reply_bulk(&c->reply, c->argv[key_index], c->argv_len[key_index]);
        if (!group_mode) {
            stream_id after = ids[k];
            id_increment(&after);
            reply_range(c, s, after, ID_MAX, (uint64_t)count, 0);
        } else if (history) {
            reply_group_history(c, s, consumer, ids[k], (uint64_t)count);
        } else {
            reply_group_new(c, s, g, consumer, (uint64_t)count, noack);
        }
    }
    if (served) {
        if (client_protocol(c) < 3)
            reply_defer_array(&c->reply, handle, (size_t)served);
        else
            reply_defer_map(&c->reply, handle, (size_t)served);
        goto done;
    }
    if (block_ms < 0) {
        reply_null_array(&c->reply);
        goto done;
    }
    int64_t deadline = block_ms > 0 ? server.now_ms + block_ms : 0;
    if (retrying || !has_dollar || (c->flags & CLIENT_IN_EXEC)) {
        blocking_block_on_range(c, streams_index, streams_index + stream_count - 1, deadline,
                                reply_timeout_null_array, reply_timeout_null_array);
        goto done;
    }
    /* "$" means "after the last id when the command arrived": the retries
     * must see that id, not the one current when they run, so the copied
     * arguments get the resolved ids. */
    {
        char(*text)[48] = mem_alloc(sizeof(*text) * (size_t)stream_count);
        const char **saved = mem_alloc(sizeof(char *) * (size_t)stream_count);
        size_t *saved_len = mem_alloc(sizeof(size_t) * (size_t)stream_count);
        for (int k = 0; k < stream_count; k++) {
            int id_index = streams_index + stream_count + k;
            saved[k] = c->argv[id_index];
            saved_len[k] = c->argv_len[id_index];
            c->argv_len[id_index] = id_format(ids[k], text[k]);
            c->argv[id_index] = text[k];
        }
        blocking_block_on_range(c, streams_index, streams_index + stream_count - 1, deadline,
                                reply_timeout_null_array, reply_timeout_null_array);
        for (int k = 0; k < stream_count; k++) {
            int id_index = streams_index + stream_count + k;
            c->argv[id_index] = saved[k];
            c->argv_len[id_index] = saved_len[k];
        }
        mem_free(text);
        mem_free(saved);
        mem_free(saved_len);
    }
done:
    if (ids != small)
        mem_free(ids);
}

static void command_xread(client *c)
{
    xread_generic(c, 0);
}

static void command_xreadgroup(client *c)
{
    xread_generic(c, 1);
}

/* ---------- XACK / XPENDING ---------- */

/* XACK key group id [id ...] */
static void command_xack(client *c)
{
    int wrong_type;
    kv_entry *e = lookup_read_typed(c, c->argv[1], c->argv_len[1], OBJECT_STREAM, &wrong_type);
    if (wrong_type)
        return;
    stream_group *g = e ? stream_group_find(entry_object(e), c->argv[2], c->argv_len[2]) : NULL;
    if (g == NULL) {
        reply_integer(&c->reply, 0);
        return;
    }
    int count = c->argc - 3;
    stream_id small[16];
    stream_id *ids = count <= 16 ? small : mem_alloc(sizeof(stream_id) * (size_t)count);
    for (int j = 0; j < count; j++) {
        if (!parse_id(c, c->argv[j + 3], c->argv_len[j + 3], &ids[j], 0, 1, NULL))
            goto done;
    }
    int64_t acknowledged = 0;
    for (int j = 0; j < count; j++) {
        stream_pending *p = stream_pending_find(g, ids[j]);
        if (p) {
            stream_pending_remove(g, p);
            acknowledged++;
        }
    }
    reply_integer(&c->reply, acknowledged);
done:
    if (ids != small)
        mem_free(ids);
}

/* XPENDING key group [[IDLE min-idle-time] start end count [consumer]] */
static void command_xpending(client *c)
{
    int summary = c->argc == 3;
    int64_t min_idle = 0, count = 0;
    stream_id start = {0, 0}, end = ID_MAX;
    int consumer_index = 0;
    if (c->argc != 3 && (c->argc < 6 || c->argc > 9)) {
        reply_error(&c->reply, ERR_SYNTAX);
        return;
    }
    if (c->argc >= 6) {
        int first = 3, exclusive;
        if (argument_is(c, 3, "idle")) {
            if (!argument_int64(c, 4, &min_idle))
                return;
            if (c->argc < 8) {
                reply_error(&c->reply, ERR_SYNTAX);
                return;
            }
            first += 2;
        }
        if (!argument_int64(c, first + 2, &count))
            return;
        if (count < 0)
            count = 0;
        if (!parse_interval_id(c, first, &start, &exclusive, 0))
            return;
        if (exclusive && !id_increment(&start)) {
            reply_error(&c->reply, "ERR invalid start ID for the interval");
            return;
        }
        if (!parse_interval_id(c, first + 1, &end, &exclusive, UINT64_MAX))
            return;
        if (exclusive && !id_decrement(&end)) {
            reply_error(&c->reply, "ERR invalid end ID for the interval");
            return;
        }
        if (first + 3 < c->argc)
            consumer_index = first + 3;
    }
    int wrong_type;
    kv_entry *e = lookup_read_typed(c, c->argv[1], c->argv_len[1], OBJECT_STREAM, &wrong_type);
    if (wrong_type)
        return;
    stream_group *g = e ? stream_group_find(entry_object(e), c->argv[2], c->argv_len[2]) : NULL;
    if (g == NULL) {
        reply_errorf(&c->reply, "NOGROUP No such key '%.*s' or consumer group '%.*s'",
                     (int)c->argv_len[1], c->argv[1], (int)c->argv_len[2], c->argv[2]);
        return;
    }
    if (summary) {
        reply_array(&c->reply, 4);
        reply_integer(&c->reply, (int64_t)g->pending_count);
        if (g->pending_count == 0) {
            reply_null(&c->reply);
            reply_null(&c->reply);
            reply_null_array(&c->reply);
            return;
        }
        reply_id(c, g->pending[0]->id);
        reply_id(c, g->pending[g->pending_count - 1]->id);
        size_t owners = 0;
        for (size_t i = 0; i < g->consumer_count; i++)
            owners += g->consumers[i]->pending_count > 0;
        reply_array(&c->reply, owners);
        for (size_t i = 0; i < g->consumer_count; i++) {
            stream_consumer *consumer = g->consumers[i];
            if (consumer->pending_count == 0)
                continue;
            reply_array(&c->reply, 2);
            reply_bulk(&c->reply, consumer->name, consumer->name_len);
            reply_bulk_integer(&c->reply, (int64_t)consumer->pending_count);
        }
        return;
    }
    stream_pending **pel = g->pending;
    size_t pel_count = g->pending_count;
    if (consumer_index) {
        stream_consumer *consumer =
            stream_consumer_find(g, c->argv[consumer_index], c->argv_len[consumer_index]);
        if (consumer == NULL) {
            reply_empty_array(&c->reply);
            return;
        }
        pel = consumer->pending;
        pel_count = consumer->pending_count;
    }
    size_t handle = reply_defer(&c->reply), written = 0;
    for (size_t i = stream_pending_seek(pel, pel_count, start);
         i < pel_count && count > 0 && stream_id_compare(pel[i]->id, end) <= 0; i++) {
        stream_pending *p = pel[i];
        int64_t idle = server.now_ms - p->delivery_time;
        if (min_idle && idle < min_idle)
            continue;
        count--;
        written++;
        reply_array(&c->reply, 4);
        reply_id(c, p->id);
        reply_bulk(&c->reply, p->consumer->name, p->consumer->name_len);
        reply_integer(&c->reply, idle < 0 ? 0 : idle);
        reply_integer(&c->reply, (int64_t)p->delivery_count);
    }
    reply_defer_array(&c->reply, handle, written);
}

/* ---------- XCLAIM / XAUTOCLAIM ---------- */

/* The group for XCLAIM/XAUTOCLAIM/XPENDING-style lookups: NOGROUP if the key
 * or group is missing. */
static stream_group *lookup_group_or_reply(client *c, kv_entry **entry)
{
    int wrong_type;
    kv_entry *e = lookup_read_typed(c, c->argv[1], c->argv_len[1], OBJECT_STREAM, &wrong_type);
    if (wrong_type)
        return NULL;
    stream_group *g = e ? stream_group_find(entry_object(e), c->argv[2], c->argv_len[2]) : NULL;
    if (g == NULL)
        reply_errorf(&c->reply, "NOGROUP No such key '%.*s' or consumer group '%.*s'",
                     (int)c->argv_len[1], c->argv[1], (int)c->argv_len[2], c->argv[2]);
    *entry = e;
    return g;
}

static stream_consumer *consumer_for_claim(client *c, stream_group *g)
{
    stream_consumer *consumer = stream_consumer_find(g, c->argv[3], c->argv_len[3]);
    if (consumer == NULL)
        consumer = stream_consumer_create(g, c->argv[3], c->argv_len[3], server.now_ms);
    consumer->seen_time = server.now_ms;
    return consumer;
}

/* XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms] [TIME ms]
 *   [RETRYCOUNT count] [FORCE] [JUSTID] [LASTID id] */
static void command_xclaim(client *c)
{
    kv_entry *e;
    stream_group *g = lookup_group_or_reply(c, &e);
    if (g == NULL)
        return;
    stream *s = entry_object(e);
    int64_t min_idle, retry_count = -1, delivery_time = -1;
    int force = 0, justid = 0;
    if (!argument_int64_or(c, 4, &min_idle, "ERR Invalid min-idle-time argument for XCLAIM"))
        return;
    if (min_idle < 0)
        min_idle = 0;
    /* Ids run until the first argument that is not one: the options. */
    int j = 5;
    for (; j < c->argc; j++) {
        stream_id id;
        if (!parse_id(NULL, c->argv[j], c->argv_len[j], &id, 0, 1, NULL))
            break;
    }
    int last_id_index = j - 1;
    int64_t now = server.now_ms;
    stream_id last_id = {0, 0};
    for (; j < c->argc; j++) {
        int more = c->argc - 1 - j;
        if (argument_is(c, j, "force")) {
            force = 1;
        } else if (argument_is(c, j, "justid")) {
            justid = 1;
        } else if (argument_is(c, j, "idle") && more) {
            j++;
            if (!argument_int64_or(c, j, &delivery_time,
                                   "ERR Invalid IDLE option argument for XCLAIM"))
                return;
            delivery_time = now - delivery_time;
        } else if (argument_is(c, j, "time") && more) {
            j++;
            if (!argument_int64_or(c, j, &delivery_time,
                                   "ERR Invalid TIME option argument for XCLAIM"))
                return;
        } else if (argument_is(c, j, "retrycount") && more) {
            j++;
            if (!argument_int64_or(c, j, &retry_count,
                                   "ERR Invalid RETRYCOUNT option argument for XCLAIM"))
                return;
        } else if (argument_is(c, j, "lastid") && more) {
            j++;
            if (!parse_id(c, c->argv[j], c->argv_len[j], &last_id, 0, 1, NULL))
                return;
        } else {
            reply_errorf(&c->reply, "ERR Unrecognized XCLAIM option '%.*s'", (int)c->argv_len[j],
                         c->argv[j]);
            return;
        }
    }
    if (stream_id_compare(last_id, g->last_id) > 0)
        g->last_id = last_id;
    /* A bogus time (future, negative) is taken as now, as Redis does. */
    if (delivery_time < 0 || delivery_time > now)
        delivery_time = now;
    stream_consumer *consumer = NULL;
    size_t handle = reply_defer(&c->reply), written = 0;
    int dropped = 0;
    for (int k = 5; k <= last_id_index; k++) {
        stream_id id;
        parse_id(NULL, c->argv[k], c->argv_len[k], &id, 0, 1, NULL);
        stream_pending *p = stream_pending_find(g, id);
        if (!stream_entry_exists(s, id)) {
            /* The entry is gone: so goes its pending record. */
            if (p) {
                stream_pending_remove(g, p);
                dropped = 1;
            }
            continue;
        }
        if (p == NULL && !force)
            continue;
        if (p && min_idle && now - p->delivery_time < min_idle)
            continue;
        if (consumer == NULL)
            consumer = consumer_for_claim(c, g);
        if (p == NULL)
            p = stream_pending_deliver(g, consumer, id, now); /* FORCE */
        else
            stream_pending_set_owner(p, consumer);
        p->delivery_time = delivery_time;
        if (retry_count >= 0)
            p->delivery_count = (uint64_t)retry_count;
        else if (!justid)
            p->delivery_count++;
        if (justid)
            reply_id(c, id);
        else
            reply_entry_by_id(c, s, id);
        written++;
    }
    reply_defer_array(&c->reply, handle, written);
    /* The PEL changed: announce it (for the AOF, WATCH, tracking) without a
     * keyspace notification, which Redis does not send for XCLAIM. */
    if (written > 0 || dropped)
        keyspace_signal_modified(c->db, c->argv[1], c->argv_len[1], "xclaim", 0);
}

/* XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID] */
static void command_xautoclaim(client *c)
{
    int64_t min_idle, count = 100;
    int justid = 0, exclusive;
    stream_id start;
    if (!argument_int64_or(c, 4, &min_idle, "ERR Invalid min-idle-time argument for XAUTOCLAIM"))
        return;
    if (min_idle < 0)
        min_idle = 0;
    if (!parse_interval_id(c, 5, &start, &exclusive, 0))
        return;
    if (exclusive && !id_increment(&start)) {
        reply_error(&c->reply, "ERR invalid start ID for the interval");
        return;
    }
    for (int j = 6; j < c->argc; j++) {
        if (argument_is(c, j, "count") && j + 1 < c->argc) {
            if (!argument_int64_or(c, j + 1, &count, "ERR COUNT must be > 0"))
                return;
            if (count < 1 || count > INT64_MAX / 16) {
                reply_error(&c->reply, "ERR COUNT must be > 0");
                return;
            }
            j++;
        } else if (argument_is(c, j, "justid")) {
            justid = 1;
        } else {
            reply_error(&c->reply, ERR_SYNTAX);
            return;
        }
    }
    kv_entry *e;
    stream_group *g = lookup_group_or_reply(c, &e);
    if (g == NULL)
        return;
    stream *s = entry_object(e);
    int64_t now = server.now_ms, attempts = count * 10;
    stream_consumer *consumer = NULL;
    stream_id *deleted = mem_alloc(sizeof(stream_id) * (size_t)(count < 64 ? count : 64));
    size_t deleted_count = 0, deleted_cap = (size_t)(count < 64 ? count : 64);
    /* The cursor is written first but known last: collect the claims. */
    stream_pending **claimed = NULL;
    size_t written = 0, claimed_cap = 0;
    size_t i = stream_pending_seek(g->pending, g->pending_count, start);
    while (attempts-- > 0 && count > 0 && i < g->pending_count) {
        stream_pending *p = g->pending[i];
        if (!stream_entry_exists(s, p->id)) {
            if (deleted_count == deleted_cap) {
                deleted_cap *= 2;
                deleted = mem_realloc(deleted, sizeof(stream_id) * deleted_cap);
            }
            deleted[deleted_count++] = p->id;
            stream_pending_remove(g, p);
            count--;
            continue;
        }
        i++;
        if (min_idle && now - p->delivery_time < min_idle)
            continue;
        if (consumer == NULL)
            consumer = consumer_for_claim(c, g);
        stream_pending_set_owner(p, consumer);
        p->delivery_time = now;
        if (!justid)
            p->delivery_count++;
        if (written == claimed_cap) {
            claimed_cap = claimed_cap ? claimed_cap * 2 : 16;
            claimed = mem_realloc(claimed, sizeof(*claimed) * claimed_cap);
        }
        claimed[written++] = p;
        count--;
    }
    reply_array(&c->reply, 3);
    reply_id(c, i < g->pending_count ? g->pending[i]->id : (stream_id){0, 0});
    reply_array(&c->reply, written);
    for (size_t k = 0; k < written; k++) {
        if (justid)
            reply_id(c, claimed[k]->id);
        else
            reply_entry_by_id(c, s, claimed[k]->id);
    }
    mem_free(claimed);
    reply_array(&c->reply, deleted_count);
    for (size_t k = 0; k < deleted_count; k++)
        reply_id(c, deleted[k]);
    mem_free(deleted);
    /* As XCLAIM: announced, without a keyspace notification. */
    if (written > 0 || deleted_count > 0)
        keyspace_signal_modified(c->db, c->argv[1], c->argv_len[1], "xautoclaim", 0);
}

/* ---------- XSETID ---------- */

/* The id of the last live entry, or 0-0. */
static stream_id last_valid_id(const stream *s)
{
    stream_iterator it;
    stream_id id = {0, 0};
    size_t items;
    stream_iterator_start(&it, s, (stream_id){0, 0}, ID_MAX, 1);
    if (!stream_iterator_next(&it, &id, &items))
        id = (stream_id){0, 0};
    return id;
}

/* XSETID key last-id [ENTRIESADDED entries-added] [MAXDELETEDID max-deleted-id] */
static void command_xsetid(client *c)
{
    stream_id id, max_deleted = {0, 0};
    int64_t entries_added = -1;
    if (!parse_id(c, c->argv[2], c->argv_len[2], &id, 0, 1, NULL))
        return;
    for (int i = 3; i < c->argc; i += 2) {
        int more = c->argc - 1 - i;
        if (argument_is(c, i, "entriesadded") && more) {
            if (!argument_int64(c, i + 1, &entries_added))
                return;
            if (entries_added < 0) {
                reply_error(&c->reply, "ERR entries_added must be positive");
                return;
            }
        } else if (argument_is(c, i, "maxdeletedid") && more) {
            if (!parse_id(c, c->argv[i + 1], c->argv_len[i + 1], &max_deleted, 0, 1, NULL))
                return;
            if (stream_id_compare(id, max_deleted) < 0) {
                reply_error(&c->reply, "ERR The ID specified in XSETID is smaller than the "
                                       "provided max_deleted_entry_id");
                return;
            }
        } else {
            reply_error(&c->reply, ERR_SYNTAX);
            return;
        }
    }
    int wrong_type;
    kv_entry *e = lookup_write_stream(c, 1, &wrong_type);
    if (wrong_type)
        return;
    if (e == NULL) {
        reply_error(&c->reply, ERR_NO_SUCH_KEY);
        return;
    }
    stream *s = entry_object(e);
    if (stream_length(s) > 0) {
        if (stream_id_compare(id, last_valid_id(s)) < 0) {
            reply_error(
                &c->reply,
                "ERR The ID specified in XSETID is smaller than the target stream top item");
            return;
        }
        if (entries_added != -1 && stream_length(s) > (uint64_t)entries_added) {
            reply_error(&c->reply, "ERR The entries_added specified in XSETID is smaller than "
                                   "the target stream length");
            return;
        }
    }
    stream_set_last_id(s, id);
    if (entries_added != -1)
        stream_set_entries_added(s, (uint64_t)entries_added);
    if (max_deleted.ms != 0 || max_deleted.seq != 0)
        stream_set_max_deleted_id(s, max_deleted);
    reply_ok(&c->reply);
    keyspace_signal_modified(c->db, c->argv[1], c->argv_len[1], "xsetid", EVENT_STREAM);
}

/* ---------- XINFO ---------- */

static void reply_key_integer(client *c, const char *key, int64_t value)
{
    reply_bulk_cstr(&c->reply, key);
    reply_integer(&c->reply, value);
}

static void reply_key_id(client *c, const char *key, stream_id id)
{
    reply_bulk_cstr(&c->reply, key);
    reply_id(c, id);
}

/* Redis's consumer lag: entries added minus entries read, when known. */
static void reply_group_lag(client *c, const stream *s, const stream_group *g)
{
    int64_t entries_read;
    if (stream_entries_added(s) == 0) {
        reply_integer(&c->reply, 0);
        return;
    }
    if (g->entries_read != STREAM_ENTRIES_READ_UNKNOWN &&
        !stream_range_has_tombstones(s, g->last_id, ID_MAX))
        entries_read = g->entries_read;
    else
        entries_read = stream_estimate_entries_read(s, g->last_id);
    if (entries_read == STREAM_ENTRIES_READ_UNKNOWN)
        reply_null(&c->reply);
    else
        reply_integer(&c->reply, (int64_t)stream_entries_added(s) - entries_read);
}

static void reply_entries_read(client *c, const stream_group *g)
{
    reply_bulk_cstr(&c->reply, "entries-read");
    if (g->entries_read == STREAM_ENTRIES_READ_UNKNOWN)
        reply_null(&c->reply);
    else
        reply_integer(&c->reply, g->entries_read);
}

static kv_entry *xinfo_lookup(client *c)
{
    int wrong_type;
    kv_entry *e = lookup_read_typed(c, c->argv[2], c->argv_len[2], OBJECT_STREAM, &wrong_type);
    if (wrong_type)
        return NULL;
    if (e == NULL)
        reply_error(&c->reply, ERR_NO_SUCH_KEY);
    return e;
}

/* XINFO GROUPS key */
static void command_xinfo_groups(client *c)
{
    kv_entry *e = xinfo_lookup(c);
    if (e == NULL)
        return;
    stream *s = entry_object(e);
    reply_array(&c->reply, stream_group_count(s));
    for (size_t i = 0; i < stream_group_count(s); i++) {
        stream_group *g = stream_group_at(s, i);
        reply_map(&c->reply, 6);
        reply_bulk_cstr(&c->reply, "name");
        reply_bulk(&c->reply, g->name, g->name_len);
        reply_key_integer(c, "consumers", (int64_t)g->consumer_count);
        reply_key_integer(c, "pending", (int64_t)g->pending_count);
        reply_key_id(c, "last-delivered-id", g->last_id);
        reply_entries_read(c, g);
        reply_bulk_cstr(&c->reply, "lag");
        reply_group_lag(c, s, g);
    }
}

/* XINFO CONSUMERS key group */
static void command_xinfo_consumers(client *c)
{
    kv_entry *e = xinfo_lookup(c);
    if (e == NULL)
        return;
    stream_group *g = stream_group_find(entry_object(e), c->argv[3], c->argv_len[3]);
    if (g == NULL) {
        reply_errorf(&c->reply, "NOGROUP No such consumer group '%.*s' for key name '%.*s'",
                     (int)c->argv_len[3], c->argv[3], (int)c->argv_len[2], c->argv[2]);
        return;
    }
    reply_array(&c->reply, g->consumer_count);
    for (size_t i = 0; i < g->consumer_count; i++) {
        stream_consumer *consumer = g->consumers[i];
        int64_t idle = server.now_ms - consumer->seen_time;
        reply_map(&c->reply, 3);
        reply_bulk_cstr(&c->reply, "name");
        reply_bulk(&c->reply, consumer->name, consumer->name_len);
        reply_key_integer(c, "pending", (int64_t)consumer->pending_count);
        reply_key_integer(c, "idle", idle < 0 ? 0 : idle);
    }
}

/* Redis reports its radix tree's node count; the nearest thing here is one
 * per node plus a root. */
static int64_t tree_nodes(const stream *s)
{
    return (int64_t)stream_node_count(s) + 1;
}

static void xinfo_stream_full(client *c, stream *s, int64_t count)
{
    reply_map(&c->reply, 9);
    reply_key_integer(c, "length", (int64_t)stream_length(s));
    reply_key_integer(c, "radix-tree-keys", (int64_t)stream_node_count(s));
    reply_key_integer(c, "radix-tree-nodes", tree_nodes(s));
    reply_key_id(c, "last-generated-id", stream_last_id(s));
    reply_key_id(c, "max-deleted-entry-id", stream_max_deleted_id(s));
    reply_key_integer(c, "entries-added", (int64_t)stream_entries_added(s));
    reply_key_id(c, "recorded-first-entry-id", stream_first_id(s));
    reply_bulk_cstr(&c->reply, "entries");
    reply_range(c, s, (stream_id){0, 0}, ID_MAX, (uint64_t)count, 0);
    reply_bulk_cstr(&c->reply, "groups");
    reply_array(&c->reply, stream_group_count(s));
    for (size_t i = 0; i < stream_group_count(s); i++) {
        stream_group *g = stream_group_at(s, i);
        reply_map(&c->reply, 7);
        reply_bulk_cstr(&c->reply, "name");
        reply_bulk(&c->reply, g->name, g->name_len);
        reply_key_id(c, "last-delivered-id", g->last_id);
        reply_entries_read(c, g);
        reply_bulk_cstr(&c->reply, "lag");
        reply_group_lag(c, s, g);
        reply_key_integer(c, "pel-count", (int64_t)g->pending_count);
        reply_bulk_cstr(&c->reply, "pending");
        size_t shown =
            count == 0 || (uint64_t)count > g->pending_count ? g->pending_count : (size_t)count;
        reply_array(&c->reply, shown);
        for (size_t k = 0; k < shown; k++) {
            stream_pending *p = g->pending[k];
            reply_array(&c->reply, 4);
            reply_id(c, p->id);
            reply_bulk(&c->reply, p->consumer->name, p->consumer->name_len);
            reply_integer(&c->reply, p->delivery_time);
            reply_integer(&c->reply, (int64_t)p->delivery_count);
        }
        reply_bulk_cstr(&c->reply, "consumers");
        reply_array(&c->reply, g->consumer_count);
        for (size_t k = 0; k < g->consumer_count; k++) {
            stream_consumer *consumer = g->consumers[k];
            reply_map(&c->reply, 4);
            reply_bulk_cstr(&c->reply, "name");
            reply_bulk(&c->reply, consumer->name, consumer->name_len);
            reply_key_integer(c, "seen-time", consumer->seen_time);
            reply_key_integer(c, "pel-count", (int64_t)consumer->pending_count);
            reply_bulk_cstr(&c->reply, "pending");
            size_t own = count == 0 || (uint64_t)count > consumer->pending_count
                             ? consumer->pending_count
                             : (size_t)count;
            reply_array(&c->reply, own);
            for (size_t m = 0; m < own; m++) {
                stream_pending *p = consumer->pending[m];
                reply_array(&c->reply, 3);
                reply_id(c, p->id);
                reply_integer(&c->reply, p->delivery_time);
                reply_integer(&c->reply, (int64_t)p->delivery_count);
            }
        }
    }
}

static void reply_xinfo_syntax(client *c)
{
    reply_errorf(&c->reply,
                 "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try XINFO HELP.",
                 (int)(c->argv_len[1] < 128 ? c->argv_len[1] : 128), c->argv[1]);
}

/* XINFO STREAM key [FULL [COUNT count]] */
static void command_xinfo_stream(client *c)
{
    int full = 0;
    int64_t count = 10;
    if (c->argc > 3) {
        if (!argument_is(c, 3, "full") || (c->argc != 4 && c->argc != 6) ||
            (c->argc == 6 && !argument_is(c, 4, "count"))) {
            reply_xinfo_syntax(c);
            return;
        }
        full = 1;
        if (c->argc == 6) {
            if (!argument_int64(c, 5, &count))
                return;
            if (count < 0)
                count = 10;
        }
    }
    kv_entry *e = xinfo_lookup(c);
    if (e == NULL)
        return;
    stream *s = entry_object(e);
    if (full) {
        xinfo_stream_full(c, s, count);
        return;
    }
    reply_map(&c->reply, 10);
    reply_key_integer(c, "length", (int64_t)stream_length(s));
    reply_key_integer(c, "radix-tree-keys", (int64_t)stream_node_count(s));
    reply_key_integer(c, "radix-tree-nodes", tree_nodes(s));
    reply_key_id(c, "last-generated-id", stream_last_id(s));
    reply_key_id(c, "max-deleted-entry-id", stream_max_deleted_id(s));
    reply_key_integer(c, "entries-added", (int64_t)stream_entries_added(s));
    reply_key_id(c, "recorded-first-entry-id", stream_first_id(s));
    reply_key_integer(c, "groups", (int64_t)stream_group_count(s));
    reply_bulk_cstr(&c->reply, "first-entry");
    if (!reply_entry_by_id(c, s, stream_first_id(s)) || stream_length(s) == 0)
        reply_null(&c->reply);
    reply_bulk_cstr(&c->reply, "last-entry");
    if (stream_length(s) == 0 || !reply_entry_by_id(c, s, last_valid_id(s)))
        reply_null(&c->reply);
}

static void command_xinfo_help(client *c)
{
    static const char *const lines[] = {
        "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CONSUMERS <key> <groupname>",
        "    Show consumers of <groupname>.",
        "GROUPS <key>",
        "    Show the stream consumer groups.",
        "STREAM <key> [FULL [COUNT <count>]",
        "    Show information about the stream.",
        "HELP",
        "    Prints this help.",
        NULL};
    reply_help(c, lines);
}

/* ---------- XGROUP ---------- */

static void reply_subcommand_syntax(client *c)
{
    reply_errorf(&c->reply,
                 "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try XGROUP "
                 "HELP.",
                 (int)(c->argv_len[1] < 128 ? c->argv_len[1] : 128), c->argv[1]);
}

static int parse_entries_read(client *c, int i, int64_t *entries_read)
{
    if (!argument_int64(c, i, entries_read))
        return 0;
    if (*entries_read < 0 && *entries_read != STREAM_ENTRIES_READ_UNKNOWN) {
        reply_error(&c->reply, "ERR value for ENTRIESREAD must be positive or -1");
        return 0;
    }
    return 1;
}

/* The part every XGROUP subcommand but HELP shares: the key (which must
 * exist unless CREATE ... MKSTREAM) and, for the subcommands that need it,
 * the group. Returns 0 after replying with an error. */
static int xgroup_lookup(client *c, int mkstream, int need_group, kv_entry **entry,
                         stream_group **group)
{
    int wrong_type;
    kv_entry *e = lookup_write_stream(c, 2, &wrong_type);
    if (wrong_type)
        return 0;
    *entry = e;
    *group = NULL;
    if (e == NULL && !mkstream) {
        reply_error(&c->reply,
                    "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE "
                    "you may want to use the MKSTREAM option to create an empty stream "
                    "automatically.");
        return 0;
    }
    if (e)
        *group = stream_group_find(entry_object(e), c->argv[3], c->argv_len[3]);
    if (need_group && *group == NULL) {
        reply_errorf(&c->reply, "NOGROUP No such consumer group '%.*s' for key name '%.*s'",
                     (int)c->argv_len[3], c->argv[3], (int)c->argv_len[2], c->argv[2]);
        return 0;
    }
    return 1;
}

/* XGROUP CREATE key group id|$ [MKSTREAM] [ENTRIESREAD n] */
static void command_xgroup_create(client *c)
{
    int mkstream = 0;
    int64_t entries_read = STREAM_ENTRIES_READ_UNKNOWN;
    for (int i = 5; i < c->argc;) {
        if (argument_is(c, i, "mkstream")) {
            mkstream = 1;
            i++;
        } else if (argument_is(c, i, "entriesread") && i + 1 < c->argc) {
            if (!parse_entries_read(c, i + 1, &entries_read))
                return;
            i += 2;
        } else {
            reply_subcommand_syntax(c);
            return;
        }
    }
    kv_entry *e;
    stream_group *g;
    if (!xgroup_lookup(c, mkstream, 0, &e, &g))
        return;
    if (c->argc > 8) {
        reply_subcommand_syntax(c);
        return;
    }
    stream_id id;
    if (c->argv_len[4] == 1 && c->argv[4][0] == '$')
        id = e ? stream_last_id(entry_object(e)) : (stream_id){0, 0};
    else if (!parse_id(c, c->argv[4], c->argv_len[4], &id, 0, 1, NULL))
        return;
    stream *s;
    if (e == NULL) {
        s = stream_create(NODE_MAX_ENTRIES, NODE_MAX_BYTES);
        keyspace_set_object(c->db, c->argv[2], c->argv_len[2], OBJECT_STREAM, ENCODING_STREAM, s,
                            0);
    } else {
        s = entry_object(e);
    }
    if (stream_group_create(s, c->argv[3], c->argv_len[3], id, entries_read) == NULL) {
        reply_error(&c->reply, "BUSYGROUP Consumer Group name already exists");
        return;
    }
    reply_ok(&c->reply);
    keyspace_signal_modified(c->db, c->argv[2], c->argv_len[2], "xgroup-create", EVENT_STREAM);
}

/* XGROUP SETID key group id|$ [ENTRIESREAD n] */
static void command_xgroup_setid(client *c)
{
    kv_entry *e;
    stream_group *g;
    if (!xgroup_lookup(c, 0, 1, &e, &g))
        return;
    if (c->argc != 5 && c->argc != 7) {
        reply_subcommand_syntax(c);
        return;
    }
    stream_id id;
    int64_t entries_read = STREAM_ENTRIES_READ_UNKNOWN;
    if (c->argv_len[4] == 1 && c->argv[4][0] == '$')
        id = stream_last_id(entry_object(e));
    else if (!parse_id(c, c->argv[4], c->argv_len[4], &id, 0, 0, NULL))
        return;
    if (c->argc == 7) {
        if (!argument_is(c, 5, "entriesread")) {
            reply_subcommand_syntax(c);
            return;
        }
        if (!parse_entries_read(c, 6, &entries_read))
            return;
    }
    g->last_id = id;
    g->entries_read = entries_read;
    reply_ok(&c->reply);
    keyspace_signal_modified(c->db, c->argv[2], c->argv_len[2], "xgroup-setid", EVENT_STREAM);
}

/* XGROUP DESTROY key group */
static void command_xgroup_destroy(client *c)
{
    kv_entry *e;
    stream_group *g;
    if (!xgroup_lookup(c, 0, 0, &e, &g))
        return;
    if (g == NULL) {
        reply_integer(&c->reply, 0);
        return;
    }
    stream_group_destroy(entry_object(e), c->argv[3], c->argv_len[3]);
    reply_integer(&c->reply, 1);
    /* Also wakes XREADGROUP clients blocked on the group: they get NOGROUP. */
    keyspace_signal_modified(c->db, c->argv[2], c->argv_len[2], "xgroup-destroy", EVENT_STREAM);
}

/* XGROUP CREATECONSUMER key group consumer */
static void command_xgroup_createconsumer(client *c)
{
    kv_entry *e;
    stream_group *g;
    if (!xgroup_lookup(c, 0, 1, &e, &g))
        return;
    stream_consumer *created = stream_consumer_create(g, c->argv[4], c->argv_len[4], server.now_ms);
    reply_integer(&c->reply, created != NULL);
    if (created)
        keyspace_signal_modified(c->db, c->argv[2], c->argv_len[2], "xgroup-createconsumer",
                                 EVENT_STREAM);
}

/* XGROUP DELCONSUMER key group consumer */
static void command_xgroup_delconsumer(client *c)
{
    kv_entry *e;
    stream_group *g;
    if (!xgroup_lookup(c, 0, 1, &e, &g))
        return;
    int64_t pending = stream_consumer_delete(g, c->argv[4], c->argv_len[4]);
    reply_integer(&c->reply, pending < 0 ? 0 : pending);
    if (pending >= 0)
        keyspace_signal_modified(c->db, c->argv[2], c->argv_len[2], "xgroup-delconsumer",
                                 EVENT_STREAM);
}

static void command_xgroup_help(client *c)
{
    static const char *const lines[] = {
        "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CREATE <key> <groupname> <id|$> [option]",
        "    Create a new consumer group. Options are:",
        "    * MKSTREAM",
        "      Create the empty stream if it does not exist.",
        "    * ENTRIESREAD entries_read",
        "      Set the group's entries_read counter (internal use).",
        "CREATECONSUMER <key> <groupname> <consumer>",
        "    Create a new consumer in the specified group.",
        "DELCONSUMER <key> <groupname> <consumer>",
        "    Remove the specified consumer.",
        "DESTROY <key> <groupname>",
        "    Remove the specified group.",
        "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
        "    Set the current group ID and entries_read counter.",
        "HELP",
        "    Prints this help.",
        NULL};
    reply_help(c, lines);
}

/* ---------- the table rows and the type ---------- */

#define C_STREAM ACL_STREAM
#define GROUP    "stream"

static command xgroup_subcommands[] = {
    ROW("create", -5, W | DOOM, C_W | C_STREAM | C_SLOW, 2, 2, 1, KEY_RW | KEY_INSERT,
        command_xgroup_create, GROUP, "5.0.0", "O(1)", "Create a consumer group."),
    ROW("createconsumer", 5, W | DOOM, C_W | C_STREAM | C_SLOW, 2, 2, 1, KEY_RW | KEY_INSERT,
        command_xgroup_createconsumer, GROUP, "6.2.0", "O(1)",
        "Create a consumer in a consumer group."),
    ROW("delconsumer", 5, W, C_W | C_STREAM | C_SLOW, 2, 2, 1, KEY_RW | KEY_DELETE,
        command_xgroup_delconsumer, GROUP, "5.0.0", "O(1)",
        "Delete a consumer from a consumer group."),
    ROW("destroy", 4, W, C_W | C_STREAM | C_SLOW, 2, 2, 1, KEY_RW | KEY_DELETE,
        command_xgroup_destroy, GROUP, "5.0.0",
        "O(N) where N is the number of entries in the group's pending entries list (PEL).",
        "Destroy a consumer group."),
    ROW("help", 2, LOADING | STALE, C_STREAM | C_SLOW, 0, 0, 0, 0, command_xgroup_help, GROUP,
        "5.0.0", "O(1)", "Show helpful text about the different subcommands"),
    ROW("setid", -5, W, C_W | C_STREAM | C_SLOW, 2, 2, 1, KEY_RW | KEY_UPDATE, command_xgroup_setid,
        GROUP, "5.0.0", "O(1)",
        "Set a consumer group to an arbitrary last "
        "delivered ID value."),
    {0}};

static command xinfo_subcommands[] = {
    ROW("consumers", 4, R, C_R | C_STREAM | C_SLOW, 2, 2, 1, KEY_READ, command_xinfo_consumers,
        GROUP, "5.0.0", "O(1)", "List the consumers in a consumer group"),
    ROW("groups", 3, R, C_R | C_STREAM | C_SLOW, 2, 2, 1, KEY_READ, command_xinfo_groups, GROUP,
        "5.0.0", "O(1)", "List the consumer groups of a stream"),
    ROW("help", 2, LOADING | STALE, C_STREAM | C_SLOW, 0, 0, 0, 0, command_xinfo_help, GROUP,
        "5.0.0", "O(1)", "Show helpful text about the different subcommands"),
    ROW("stream", -3, R, C_R | C_STREAM | C_SLOW, 2, 2, 1, KEY_READ, command_xinfo_stream, GROUP,
        "5.0.0",
        "O(N) with N being the number of returned items for the subcommands CONSUMERS and "
        "GROUPS. The STREAM subcommand is O(log N) with N being the number of items in the "
        "stream.",
        "Get information about a stream"),
    {0}};

const command stream_command_rows[] = {
    ROW("xadd", -5, W | DOOM | FAST, C_W | C_STREAM | C_FAST, 1, 1, 1, KEY_RW | KEY_INSERT,
        command_xadd, GROUP, "5.0.0",
        "O(1) when adding a new entry, O(N) when trimming where N being the number of entries "
        "evicted.",
        "Appends a new entry to a stream"),
    ROW("xack", -4, W | FAST, C_W | C_STREAM | C_FAST, 1, 1, 1, KEY_RW | KEY_UPDATE, command_xack,
        GROUP, "5.0.0", "O(1) for each message ID processed.",
        "Marks a pending message as correctly processed, effectively removing it from the pending "
        "entries list of the consumer group. Return value of the command is the number of "
        "messages successfully acknowledged, that is, the IDs we were actually able to resolve "
        "in the PEL."),
    ROW("xautoclaim", -6, W | FAST, C_W | C_STREAM | C_FAST, 1, 1, 1, KEY_RW | KEY_UPDATE,
        command_xautoclaim, GROUP, "6.2.0", "O(1) if COUNT is small.",
        "Changes (or acquires) ownership of messages in a consumer group, as if the messages were "
        "delivered to the specified consumer."),
    ROW("xclaim", -6, W | FAST, C_W | C_STREAM | C_FAST, 1, 1, 1, KEY_RW | KEY_UPDATE,
        command_xclaim, GROUP, "5.0.0",
        "O(log N) with N being the number of messages in the PEL of the consumer group.",
        "Changes (or acquires) ownership of a message in a consumer group, as if the message was "
        "delivered to the specified consumer."),
    ROW("xdel", -3, W | FAST, C_W | C_STREAM | C_FAST, 1, 1, 1, KEY_RW | KEY_DELETE, command_xdel,
        GROUP, "5.0.0",
        "O(1) for each single item to delete in the stream, regardless of the "
        "stream size.",
        "Removes the specified entries from the stream. Returns the number of items actually "
        "deleted, that may be different from the number of IDs passed in case certain IDs do "
        "not exist."),
    PARENT("xgroup", -2, xgroup_subcommands, GROUP, "5.0.0",
           "A container for consumer groups commands"),
    PARENT("xinfo", -2, xinfo_subcommands, GROUP, "5.0.0",
           "A container for stream introspection commands"),
    ROW("xlen", 2, R | FAST, C_R | C_STREAM | C_FAST, 1, 1, 1, KEY_RO, command_xlen, GROUP, "5.0.0",
        "O(1)", "Return the number of entries in a stream"),
    ROW("xpending", -3, R, C_R | C_STREAM | C_SLOW, 1, 1, 1, KEY_RO, command_xpending, GROUP,
        "5.0.0",
        "O(N) with N being the number of elements returned, so asking for a small fixed number of "
        "entries per call is O(1). O(M), where M is the total number of entries scanned when "
        "used with the IDLE filter. When the command returns just the summary and the list of "
        "consumers is small, it runs in O(1) time; otherwise, an additional O(N) time for "
        "iterating every consumer.",
        "Return information and entries from a stream consumer group pending entries list, that "
        "are messages fetched but never acknowledged."),
    ROW("xrange", -4, R, C_R | C_STREAM | C_SLOW, 1, 1, 1, KEY_RO, command_xrange, GROUP, "5.0.0",
        "O(N) with N being the number of elements being returned. If N is constant (e.g. always "
        "asking for the first 10 elements with COUNT), you can consider it O(1).",
        "Return a range of elements in a stream, with IDs matching the specified IDs interval"),
    KEYWORD_ROW(
        "STREAMS", 1, "xread", -4, R | CMD_BLOCKING, C_R | C_STREAM | C_SLOW | ACL_BLOCKING,
        KEY_READ, command_xread, GROUP, "5.0.0",
        "For each stream mentioned: O(N) with N being the number of elements being returned, it "
        "means that XREAD-ing with a fixed COUNT is O(1). Note that when the BLOCK option is "
        "used, XADD will pay O(M) time in order to serve the M clients blocked on the stream "
        "getting new data.",
        "Return never seen elements in multiple streams, with IDs greater than the ones reported "
        "by the caller for each stream. Can block."),
    KEYWORD_ROW(
        "STREAMS", 4, "xreadgroup", -7, W | CMD_BLOCKING, C_W | C_STREAM | C_SLOW | ACL_BLOCKING,
        KEY_READ, command_xreadgroup, GROUP, "5.0.0",
        "For each stream mentioned: O(M) with M being the number of elements returned. If M is "
        "constant (e.g. always asking for the first 10 elements with COUNT), you can consider it "
        "O(1). On the other side when XREADGROUP blocks, XADD will pay the O(N) time in order to "
        "serve the N clients blocked on the stream getting new data.",
        "Return new entries from a stream using a consumer group, or access the history of the "
        "pending entries for a given consumer. Can block."),
    ROW("xrevrange", -4, R, C_R | C_STREAM | C_SLOW, 1, 1, 1, KEY_RO, command_xrevrange, GROUP,
        "5.0.0",
        "O(N) with N being the number of elements returned. If N is constant (e.g. always asking "
        "for the first 10 elements with COUNT), you can consider it O(1).",
        "Return a range of elements in a stream, with IDs matching the specified IDs interval, in "
        "reverse order (from greater to smaller IDs) compared to XRANGE"),
    ROW("xsetid", -3, W | DOOM | FAST, C_W | C_STREAM | C_FAST, 1, 1, 1, KEY_RW | KEY_UPDATE,
        command_xsetid, GROUP, "5.0.0", "O(1)",
        "An internal command for replicating stream values"),
    ROW("xtrim", -4, W, C_W | C_STREAM | C_SLOW, 1, 1, 1, KEY_RW | KEY_DELETE, command_xtrim, GROUP,
        "5.0.0",
        "O(N), with N being the number of evicted entries. Constant times are very small however, "
        "since entries are organized in macro nodes containing multiple entries that can be "
        "released with a single deallocation.",
        "Trims the stream to (approximately if '~' is passed) a certain size"),
    {0},
};

static void stream_free_value(void *ptr, object_encoding encoding)
{
    stream_free(ptr);
}

static size_t stream_free_effort(const void *ptr, object_encoding encoding)
{
    (void)encoding;
    return stream_node_count(ptr) + stream_group_count(ptr);
}

static size_t stream_memory_usage(const void *ptr, object_encoding encoding, size_t samples)
{
    (void)encoding;
    (void)samples;
    return stream_memory(ptr);
}

static void *stream_copy_value(const void *ptr, object_encoding encoding)
{
    return stream_copy(ptr);
}

void stream_register_type(keyspace *ks)
{
    static const object_methods methods = {.free_value = stream_free_value,
                                           .copy_value = stream_copy_value,
                                           .free_effort = stream_free_effort,
                                           .memory_usage = stream_memory_usage};
    keyspace_register_type(ks, OBJECT_STREAM, &methods);
}
