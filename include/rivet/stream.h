/* stream: an append-only log of entries (field/value lists) ordered by
 * 128-bit ids "ms-seq". Entries are packed into nodes of bounded size; a
 * sorted array of nodes gives O(log n) seek by id and amortised O(1) append
 * and head trimming. Deleted entries are flagged in place; a node goes when
 * its last live entry does. Knows nothing about clients or commands. */
#ifndef RIVET_STREAM_H
#define RIVET_STREAM_H

#include <stddef.h>
#include <stdint.h>

typedef struct stream_id {
    uint64_t ms;
    uint64_t seq;
} stream_id;

typedef struct stream stream;
typedef struct stream_node stream_node;

/* -1, 0, 1 as a is before, equal to, after b. */
int stream_id_compare(stream_id a, stream_id b);

/* node_max_entries / node_max_bytes bound a node as Redis's
 * stream-node-max-entries / stream-node-max-bytes do (0 = no bound). */
stream *stream_create(size_t node_max_entries, size_t node_max_bytes);
void stream_free(stream *s);
stream *stream_copy(const stream *s);

uint64_t stream_length(const stream *s);
/* The last id ever added (or set), 0-0 for a new stream. */
stream_id stream_last_id(const stream *s);
void stream_set_last_id(stream *s, stream_id id);
/* The first live entry's id; 0-0 when empty. */
stream_id stream_first_id(const stream *s);
uint64_t stream_entries_added(const stream *s);
stream_id stream_max_deleted_id(const stream *s);
/* XSETID's overrides. */
void stream_set_entries_added(stream *s, uint64_t entries_added);
void stream_set_max_deleted_id(stream *s, stream_id id);
size_t stream_node_count(const stream *s);
/* Bytes held by the stream: nodes, groups, consumers, pending records. */
size_t stream_memory(const stream *s);

/* Appends an entry of item_count items (field, value, field, value, ...).
 * The caller guarantees id > stream_last_id(s). */
void stream_append(stream *s, stream_id id, const char *const *items, const size_t *lens,
                   size_t item_count);
/* Deletes the entry with this id: 1 if it was there, else 0. */
int stream_delete(stream *s, stream_id id);

/* Trimming from the head, as XTRIM/XADD do. With approx, only whole nodes go
 * and at most limit entries (0 = no limit); otherwise trimming is exact.
 * Both return how many entries were removed. */
uint64_t stream_trim_maxlen(stream *s, uint64_t maxlen, int approx, uint64_t limit);
uint64_t stream_trim_minid(stream *s, stream_id minid, int approx, uint64_t limit);

/* Iterates live entries with start <= id <= end, forward or in reverse.
 * After stream_iterator_next returns 1, call stream_iterator_item
 * item_count times to read the entry's items in order. The stream must not
 * change while an iterator is in use. */
typedef struct stream_iterator {
    const stream *s;
    stream_id start, end;
    int reverse;
    size_t node_index;           /* absolute index into the node array */
    int in_node;                 /* a node is selected */
    size_t offset;               /* next entry's offset (forward) or end offset (reverse) */
    const unsigned char *item;   /* next stored item of the current entry */
    const unsigned char *master; /* next field name in the node's first entry */
    int same_fields;             /* the entry stores only values */
    size_t item_index;
} stream_iterator;

void stream_iterator_start(stream_iterator *it, const stream *s, stream_id start, stream_id end,
                           int reverse);
int stream_iterator_next(stream_iterator *it, stream_id *id, size_t *item_count);
void stream_iterator_item(stream_iterator *it, const char **data, size_t *len);

/* ---------- consumer groups ----------
 * A group remembers the last id it delivered and the entries delivered but
 * not yet acknowledged (its pending entries list, PEL), each owned by one
 * consumer. PELs and the group/consumer lists are sorted arrays (by id, by
 * name): deliveries append at the end and XINFO lists names in order. */
typedef struct stream_consumer stream_consumer;

typedef struct stream_pending {
    stream_id id;
    stream_consumer *consumer;
    int64_t delivery_time; /* ms */
    uint64_t delivery_count;
} stream_pending;

struct stream_consumer {
    char *name;
    size_t name_len;
    int64_t seen_time;
    stream_pending **pending; /* by id; the group's PEL owns the records */
    size_t pending_count, pending_cap;
};

#define STREAM_ENTRIES_READ_UNKNOWN (-1)

typedef struct stream_group {
    char *name;
    size_t name_len;
    stream_id last_id;
    int64_t entries_read;     /* or STREAM_ENTRIES_READ_UNKNOWN */
    stream_pending **pending; /* by id */
    size_t pending_count, pending_cap;
    stream_consumer **consumers; /* by name */
    size_t consumer_count, consumer_cap;
} stream_group;

size_t stream_group_count(const stream *s);
stream_group *stream_group_at(const stream *s, size_t index); /* in name order */
stream_group *stream_group_find(const stream *s, const char *name, size_t len);
/* NULL if a group of that name exists. */
stream_group *stream_group_create(stream *s, const char *name, size_t len, stream_id last_id,
                                  int64_t entries_read);
int stream_group_destroy(stream *s, const char *name, size_t len);

stream_consumer *stream_consumer_find(stream_group *g, const char *name, size_t len);
/* NULL if a consumer of that name exists. */
stream_consumer *stream_consumer_create(stream_group *g, const char *name, size_t len,
                                        int64_t now_ms);
/* Deletes the consumer and its pending entries; returns how many it had,
 * or -1 if there is no such consumer. */
int64_t stream_consumer_delete(stream_group *g, const char *name, size_t len);

/* Index of the first record with id >= the given one in a sorted PEL. */
size_t stream_pending_seek(stream_pending *const *pel, size_t count, stream_id id);
stream_pending *stream_pending_find(const stream_group *g, stream_id id);
/* Records a delivery of id to consumer (a new record, or an existing one
 * moved to consumer with its count reset to 1). */
stream_pending *stream_pending_deliver(stream_group *g, stream_consumer *consumer, stream_id id,
                                       int64_t now_ms);
/* Moves a record to another consumer (XCLAIM). */
void stream_pending_set_owner(stream_pending *p, stream_consumer *consumer);
void stream_pending_remove(stream_group *g, stream_pending *p);

/* Nonzero if id is a live entry. */
int stream_entry_exists(const stream *s, stream_id id);
/* Redis's estimate of how many entries precede and include id since the
 * stream's first ever entry, or STREAM_ENTRIES_READ_UNKNOWN. */
int64_t stream_estimate_entries_read(const stream *s, stream_id id);
/* Nonzero if a deleted entry may lie within [start, end]. */
int stream_range_has_tombstones(const stream *s, stream_id start, stream_id end);
/* Advances g past id after delivering it, keeping entries_read as Redis. */
void stream_group_advance(const stream *s, stream_group *g, stream_id id);

#endif
