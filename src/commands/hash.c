/* The hash commands: field/value maps stored under one key.
 *
 * A hash starts as a listpack of alternating fields and values (Redis's
 * "listpack" encoding: one allocation, a few bytes of overhead a pair) and
 * becomes a field_table ("hashtable": O(1) field access) once it has more
 * than hash-max-listpack-entries pairs or is given a field or value longer
 * than hash-max-listpack-value bytes. As in Redis it never converts back, so
 * OBJECT ENCODING reports the same thing Redis does after the same history.
 *
 * A hash whose fields get TTLs (HEXPIRE ..., HSETEX, HGETEX) becomes a
 * field_table wrapped with a field_expiry (ENCODING_HASHTABLE_TTL, reported
 * as "hashtable"); its entry's field timer fires at the earliest field
 * deadline. Every lookup here reclaims due fields first, so handlers never
 * see an expired one. Plain hashes never carry any of it.
 *
 * The encoding-specific code sits in the hash_* helpers at the top; the
 * handlers below them see one interface. The order in which arguments are
 * parsed and keys looked up follows Redis 7.0, because clients observe which
 * error wins when several apply. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "rivet/buffer.h"
#include "rivet/field_expiry.h"
#include "rivet/field_table.h"
#include "rivet/glob.h"
#include "rivet/hash_access.h"
#include "rivet/listpack.h"
#include "rivet/memory.h"
#include "rivet/number.h"
#include "rivet/server.h"

#include "table.h"

#define ERR_HASH_NOT_INTEGER "ERR hash value is not an integer"
#define ERR_HASH_NOT_FLOAT   "ERR hash value is not a float"
#define ERR_NAN_OR_INFINITY  "ERR value is NaN or Infinity"
#define ERR_INCR_NAN_OR_INF  "ERR increment would produce NaN or Infinity"
#define ERR_INVALID_CURSOR   "ERR invalid cursor"
#define ERR_OUT_OF_RANGE     "ERR value is out of range"
#define ERR_COUNT_RANGE                                                                            \
    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"

/* Redis reads float operands of up to this many characters. */
#define LONG_DOUBLE_TEXT_MAX 5120
/* A listpack stays well below its 4 GB addressing limit: a pair that would
 * take it past this converts the hash instead (only reachable when
 * hash-max-listpack-value is raised far above its default). */
#define LISTPACK_SAFE_BYTES (1u << 30)

/* ---------- the value: a listpack or a field_table ---------- */

static int is_listpack(const kv_entry *e)
{
    return entry_encoding(e) == ENCODING_LISTPACK;
}

/* A hash with field TTLs (ENCODING_HASHTABLE_TTL) holds this pair instead
 * of a bare field_table; plain hashes never pay for it. */
typedef struct hash_with_ttl {
    field_table *table;
    field_expiry *expiry;
} hash_with_ttl;

static int has_field_ttls(const kv_entry *e)
{
    return entry_encoding(e) == ENCODING_HASHTABLE_TTL;
}

/* The field_table of a hash that is not a listpack. */
static field_table *hash_table(const kv_entry *e)
{
    if (has_field_ttls(e))
        return ((hash_with_ttl *)entry_object(e))->table;
    return entry_object(e);
}

/* The field deadlines, or NULL when no field has a TTL. */
static field_expiry *hash_expiry(const kv_entry *e)
{
    return has_field_ttls(e) ? ((hash_with_ttl *)entry_object(e))->expiry : NULL;
}

static size_t hash_length(const kv_entry *e)
{
    if (is_listpack(e))
        return listpack_length(entry_object(e)) / 2;
    return field_table_size(hash_table(e));
}

/* The bytes of the listpack entry at pos; integers rendered into scratch. */
static const char *listpack_bytes_at(const listpack *lp, size_t pos, char scratch[24], size_t *len)
{
    listpack_entry entry;
    listpack_get(lp, pos, &entry);
    return listpack_entry_bytes(&entry, scratch, len);
}

/* Cursor of field's entry in a listpack hash, or LISTPACK_NONE. */
static size_t listpack_find_field(const listpack *lp, const char *field, size_t len)
{
    return listpack_find(lp, listpack_first(lp), field, len, 1);
}

/* Looks field up. On success *value and *value_len describe its value (a
 * listpack integer rendered into scratch) and 1 is returned. */
static int hash_get(kv_entry *e, const char *field, size_t len, char scratch[24],
                    const char **value, size_t *value_len)
{
    if (is_listpack(e)) {
        const listpack *lp = entry_object(e);
        size_t pos = listpack_find_field(lp, field, len);
        if (pos == LISTPACK_NONE)
            return 0;
        *value = listpack_bytes_at(lp, listpack_next(lp, pos), scratch, value_len);
        return 1;
    }
    field_pair pair;
    if (!field_table_get(hash_table(e), field, len, &pair))
        return 0;
    *value = pair.value;
    *value_len = pair.value_len;
    return 1;
}

/* Listpack -> field_table, once and for good. */
static void hash_convert(kv_entry *e)
{
    listpack *lp = entry_object(e);
    field_table *table = field_table_create();
    char field_scratch[24], value_scratch[24];
    for (size_t pos = listpack_first(lp); pos != LISTPACK_NONE;) {
        size_t field_len, value_len;
        const char *field = listpack_bytes_at(lp, pos, field_scratch, &field_len);
        pos = listpack_next(lp, pos);
        const char *value = listpack_bytes_at(lp, pos, value_scratch, &value_len);
        pos = listpack_next(lp, pos);
        field_table_add(table, field, field_len, value, value_len);
    }
    entry_set_object(e, ENCODING_HASHTABLE, table);
    listpack_free(lp);
}

static int exceeds_listpack_value(size_t len)
{
    return (uint64_t)len > (uint64_t)server.config.hash_max_listpack_value;
}

/* Sets field to value, converting the hash first when the pair is too long
 * for a listpack and afterwards when the hash has too many pairs. Returns 1
 * when the field is new. */
static int hash_set(kv_entry *e, const char *field, size_t field_len, const char *value,
                    size_t value_len)
{
    if (is_listpack(e)) {
        listpack *lp = entry_object(e);
        if (exceeds_listpack_value(field_len) || exceeds_listpack_value(value_len) ||
            listpack_bytes(lp) + field_len + value_len > LISTPACK_SAFE_BYTES) {
            hash_convert(e);
        } else {
            size_t pos = listpack_find_field(lp, field, field_len);
            if (pos != LISTPACK_NONE) {
                lp = listpack_replace(lp, listpack_next(lp, pos), value, value_len);
                entry_set_object(e, ENCODING_LISTPACK, lp);
                return 0;
            }
            lp = listpack_append(lp, field, field_len);
            lp = listpack_append(lp, value, value_len);
            entry_set_object(e, ENCODING_LISTPACK, lp);
            if ((uint64_t)listpack_length(lp) / 2 >
                (uint64_t)server.config.hash_max_listpack_entries)
                hash_convert(e);
            return 1;
        }
    }
    return field_table_set(hash_table(e), field, field_len, value, value_len);
}

/* Removes field (and its TTL); 1 if it was there. A hash whose last TTL
 * goes this way keeps its side structure until hash_sync_timer. */
static int hash_delete(kv_entry *e, const char *field, size_t len)
{
    if (has_field_ttls(e))
        field_expiry_remove(hash_expiry(e), field, len);
    if (is_listpack(e)) {
        listpack *lp = entry_object(e);
        size_t pos = listpack_find_field(lp, field, len);
        if (pos == LISTPACK_NONE)
            return 0;
        entry_set_object(e, ENCODING_LISTPACK, listpack_delete(lp, pos, 2, NULL));
        return 1;
    }
    return field_table_delete(hash_table(e), field, len);
}

/* Walks every pair in the hash's own order (insertion order for a
 * listpack). The hash may not change while the iterator is open. */
typedef struct hash_iterator {
    const listpack *lp; /* NULL for a field_table */
    size_t pos;
    field_table_iterator table_iterator;
    char field_scratch[24], value_scratch[24];
} hash_iterator;

static void hash_iterator_init(hash_iterator *it, kv_entry *e)
{
    if (is_listpack(e)) {
        it->lp = entry_object(e);
        it->pos = listpack_first(it->lp);
    } else {
        it->lp = NULL;
        field_table_iterator_init(&it->table_iterator, hash_table(e));
    }
}

static int hash_iterator_next(hash_iterator *it, field_pair *pair)
{
    if (it->lp == NULL)
        return field_table_iterator_next(&it->table_iterator, pair);
    if (it->pos == LISTPACK_NONE)
        return 0;
    pair->field = listpack_bytes_at(it->lp, it->pos, it->field_scratch, &pair->field_len);
    it->pos = listpack_next(it->lp, it->pos);
    pair->value = listpack_bytes_at(it->lp, it->pos, it->value_scratch, &pair->value_len);
    it->pos = listpack_next(it->lp, it->pos);
    return 1;
}

static void hash_iterator_release(hash_iterator *it)
{
    if (it->lp == NULL)
        field_table_iterator_release(&it->table_iterator);
}

/* ---------- field TTLs ----------
 *
 * A field's deadline is an absolute Unix time in ms; as with keys, the field
 * is gone once now > deadline. The earliest deadline of a hash is mirrored
 * in its entry's field timer, so active expiry visits only hashes that have
 * something due; every lookup below also reclaims due fields first, so no
 * command sees an expired field. */

static int64_t hash_now(void)
{
    return keyspace_time(server.keyspace);
}

/* Gives a hash the side structure for field TTLs. A listpack becomes a
 * field_table first: Redis keeps such small hashes packed ("listpackex");
 * Rivet keeps one representation for hashes with field TTLs. */
static void hash_attach_expiry(kv_entry *e)
{
    if (has_field_ttls(e))
        return;
    if (is_listpack(e))
        hash_convert(e);
    hash_with_ttl *h = mem_alloc(sizeof(*h));
    h->table = entry_object(e);
    h->expiry = field_expiry_create();
    entry_set_object(e, ENCODING_HASHTABLE_TTL, h);
}

/* Points the entry's field timer at the earliest field deadline. A hash
 * left without field TTLs goes back to a bare field_table and loses the
 * timer, so it costs nothing again. *e may move. */
static void hash_sync_timer(database *db, kv_entry **e)
{
    if (!has_field_ttls(*e))
        return;
    hash_with_ttl *h = entry_object(*e);
    int64_t next = field_expiry_next(h->expiry);
    if (next < 0) {
        entry_set_object(*e, ENCODING_HASHTABLE, h->table);
        field_expiry_free(h->expiry);
        mem_free(h);
        *e = keyspace_set_field_deadline(db, *e, -1);
    } else if (entry_field_deadline(*e) != next) {
        *e = keyspace_set_field_deadline(db, *e, next);
    }
}

/* The field's deadline, or -1. */
static int64_t hash_field_ttl(const kv_entry *e, const char *field, size_t len)
{
    field_expiry *fe = hash_expiry(e);
    return fe ? field_expiry_get(fe, field, len) : -1;
}

static void hash_set_field_ttl(database *db, kv_entry **e, const char *field, size_t len,
                               int64_t deadline)
{
    hash_attach_expiry(*e);
    field_expiry_set(hash_expiry(*e), field, len, deadline);
    hash_sync_timer(db, e);
}

/* Drops the field's TTL (1 if it had one); the caller syncs the timer. */
static int hash_clear_field_ttl(kv_entry *e, const char *field, size_t len)
{
    field_expiry *fe = hash_expiry(e);
    return fe ? field_expiry_remove(fe, field, len) : 0;
}

/* Deletes up to `budget` fields whose deadline has passed, announced as one
 * "hexpired"; when that empties the hash the key goes too ("del") and *e
 * becomes NULL. Returns how many fields went. */
static size_t hash_reclaim(database *db, kv_entry **e, int64_t now, size_t budget)
{
    field_expiry *fe = hash_expiry(*e);
    if (fe == NULL)
        return 0;
    size_t removed = 0;
    const char *field;
    size_t len;
    int64_t deadline;
    while (removed < budget && field_expiry_first(fe, &field, &len, &deadline) && deadline < now) {
        field_table_delete(hash_table(*e), field, len);
        field_expiry_remove(fe, field, len);
        removed++;
    }
    if (removed == 0) {
        hash_sync_timer(db, e);
        return 0;
    }
    /* The key lives in the entry, which the deletion below frees. */
    size_t key_len;
    const char *key = entry_key(*e, &key_len);
    char small[128];
    char *copy = key_len <= sizeof(small) ? small : mem_alloc(key_len);
    memcpy(copy, key, key_len);
    keyspace_signal_modified(db, copy, key_len, "hexpired", EVENT_HASH);
    if (hash_length(*e) == 0) {
        keyspace_delete(db, copy, key_len);
        keyspace_signal_modified(db, copy, key_len, "del", EVENT_GENERIC);
        *e = NULL;
    } else {
        hash_sync_timer(db, e);
    }
    if (copy != small)
        mem_free(copy);
    return removed;
}

/* Lazy expiry of fields: everything due goes before a command looks. */
static kv_entry *reclaim_on_access(client *c, kv_entry *e)
{
    if (e && has_field_ttls(e)) {
        int64_t now = hash_now();
        if (field_expiry_next(hash_expiry(e)) < now)
            hash_reclaim(c->db, &e, now, SIZE_MAX);
    }
    return e;
}

/* ---------- lookups shared by the handlers ---------- */

/* Write-path lookup of argv[1] expecting a hash: NULL when the key is
 * missing, or (after replying WRONGTYPE, *wrong_type set) of another type. */
static kv_entry *lookup_write_hash(client *c, int *wrong_type)
{
    kv_entry *e = keyspace_lookup(c->db, c->argv[1], c->argv_len[1]);
    *wrong_type = 0;
    if (e && entry_type(e) != OBJECT_HASH) {
        reply_error(&c->reply, ERR_WRONGTYPE);
        *wrong_type = 1;
        return NULL;
    }
    e = reclaim_on_access(c, e);
    /* Every caller may change the hash: see keyspace_object_for_update. */
    if (e)
        keyspace_object_for_update(c->db, e);
    return e;
}

/* An empty listpack hash under argv[1]; the caller adds a pair at once, so
 * no empty hash is ever visible. */
static kv_entry *create_hash(client *c)
{
    return keyspace_set_object(c->db, c->argv[1], c->argv_len[1], OBJECT_HASH, ENCODING_LISTPACK,
                               listpack_create(), 0);
}

static kv_entry *lookup_read_hash(client *c, int *wrong_type)
{
    return reclaim_on_access(
        c, lookup_read_typed(c, c->argv[1], c->argv_len[1], OBJECT_HASH, wrong_type));
}

static void signal_hash(client *c, const char *event)
{
    keyspace_signal_modified(c->db, c->argv[1], c->argv_len[1], event, EVENT_HASH);
}

/* ---------- HSET, HMSET, HSETNX ---------- */

static void set_pairs(client *c, int is_hmset)
{
    if (c->argc % 2 == 1) {
        reply_errorf(&c->reply, "ERR wrong number of arguments for '%s' command",
                     is_hmset ? "hmset" : "hset");
        return;
    }
    int wrong_type;
    kv_entry *e = lookup_write_hash(c, &wrong_type);
    if (wrong_type)
        return;
    if (e == NULL)
        e = create_hash(c);
    int64_t added = 0;
    for (int i = 2; i < c->argc; i += 2) {
        added += hash_set(e, c->argv[i], c->argv_len[i], c->argv[i + 1], c->argv_len[i + 1]);
        /* A field overwritten by HSET is a new value: its TTL goes. */
        hash_clear_field_ttl(e, c->argv[i], c->argv_len[i]);
    }
    hash_sync_timer(c->db, &e);
    signal_hash(c, "hset");
    if (is_hmset)
        reply_ok(&c->reply);
    else
        reply_integer(&c->reply, added);
}

static void command_hset(client *c)
{
    set_pairs(c, 0);
}

static void command_hmset(client *c)
{
    set_pairs(c, 1);
}

static void command_hsetnx(client *c)
{
    int wrong_type;
    kv_entry *e = lookup_write_hash(c, &wrong_type);
    if (wrong_type)
        return;
    char scratch[24];
    const char *value;
    size_t value_len;
    if (e && hash_get(e, c->argv[2], c->argv_len[2], scratch, &value, &value_len)) {
        reply_integer(&c->reply, 0);
        return;
    }
    if (e == NULL)
        e = create_hash(c);
    hash_set(e, c->argv[2], c->argv_len[2], c->argv[3], c->argv_len[3]);
    signal_hash(c, "hset");
    reply_integer(&c->reply, 1);
}

/* ---------- reads of single fields ---------- */

static void command_hget(client *c)
{
    int wrong_type;
    kv_entry *e = lookup_read_hash(c, &wrong_type);
    if (wrong_type)
        return;
    char scratch[24];
    const char *value;
    size_t value_len;
    if (e && hash_get(e, c->argv[2], c->argv_len[2], scratch, &value, &value_len))
        reply_bulk(&c->reply, value, value_len);
    else
        reply_null(&c->reply);
}

static void command_hmget(client *c)
{
    int wrong_type;
    kv_entry *e = lookup_read_hash(c, &wrong_type);
    if (wrong_type)
        return;
    reply_array(&c->reply, (size_t)(c->argc - 2));
    for (int i = 2; i < c->argc; i++) {
        char scratch[24];
        const char *value;
        size_t value_len;
        if (e && hash_get(e, c->argv[i], c->argv_len[i], scratch, &value, &value_len))
            reply_bulk(&c->reply, value, value_len);
        else
            reply_null(&c->reply);
    }
}

static void command_hexists(client *c)
{
    int wrong_type;
    kv_entry *e = lookup_read_hash(c, &wrong_type);
    if (wrong_type)
        return;
    char scratch[24];
    const char *value;
    size_t value_len;
    reply_integer(&c->reply,
                  e && hash_get(e, c->argv[2], c->argv_len[2], scratch, &value, &value_len));
}

static void command_hstrlen(client *c)
{
    int wrong_type;
    kv_entry *e = lookup_read_hash(c, &wrong_type);
    if (wrong_type)
        return;
    char scratch[24];
    const char *value;
    size_t value_len = 0;
    if (e == NULL || !hash_get(e, c->argv[2], c->argv_len[2], scratch, &value, &value_len))
        value_len = 0;
    reply_integer(&c->reply, (int64_t)value_len);
}

static void command_hlen(client *c)
{
    int wrong_type;
    kv_entry *e = lookup_read_hash(c, &wrong_type);
    if (wrong_type)
        return;
    reply_integer(&c->reply, e ? (int64_t)hash_length(e) : 0);
}

/* ---------- HDEL ---------- */

static void command_hdel(client *c)
{
    int wrong_type;
    kv_entry *e = lookup_write_hash(c, &wrong_type);
    if (wrong_type)
        return;
    if (e == NULL) {
        reply_integer(&c->reply, 0);
        return;
    }
    int64_t deleted = 0;
    int key_removed = 0;
    for (int i = 2; i < c->argc; i++) {
        deleted += hash_delete(e, c->argv[i], c->argv_len[i]);
        if (hash_length(e) == 0) {
            keyspace_delete(c->db, c->argv[1], c->argv_len[1]);
            key_removed = 1;
            break;
        }
    }
    if (!key_removed)
        hash_sync_timer(c->db, &e);
    if (deleted) {
        signal_hash(c, "hdel");
        if (key_removed)
            keyspace_signal_modified(c->db, c->argv[1], c->argv_len[1], "del", EVENT_GENERIC);
    }
    reply_integer(&c->reply, deleted);
}

/* ---------- HKEYS, HVALS, HGETALL ---------- */

enum { WANT_FIELDS = 1, WANT_VALUES = 2 };

static void get_all(client *c, int want)
{
    int wrong_type;
    kv_entry *e = lookup_read_hash(c, &wrong_type);
    if (wrong_type)
        return;
    size_t length = e ? hash_length(e) : 0;
    if (want == (WANT_FIELDS | WANT_VALUES))
        reply_map(&c->reply, length);
    else
        reply_array(&c->reply, length);
    if (e == NULL)
        return;
    hash_iterator it;
    field_pair pair;
    hash_iterator_init(&it, e);
    while (hash_iterator_next(&it, &pair)) {
        if (want & WANT_FIELDS)
            reply_bulk(&c->reply, pair.field, pair.field_len);
        if (want & WANT_VALUES)
            reply_bulk(&c->reply, pair.value, pair.value_len);
    }
    hash_iterator_release(&it);
}

static void command_hkeys(client *c)
{
    get_all(c, WANT_FIELDS);
}

static void command_hvals(client *c)
{
    get_all(c, WANT_VALUES);
}

static void command_hgetall(client *c)
{
    get_all(c, WANT_FIELDS | WANT_VALUES);
}

/* ---------- HINCRBY, HINCRBYFLOAT ---------- */

static void command_hincrby(client *c)
{
    int64_t increment;
    if (!argument_int64(c, 3, &increment))
        return;
    int wrong_type;
    kv_entry *e = lookup_write_hash(c, &wrong_type);
    if (wrong_type)
        return;
    int64_t value = 0;
    char scratch[24];
    const char *text;
    size_t text_len;
    if (e && hash_get(e, c->argv[2], c->argv_len[2], scratch, &text, &text_len) &&
        !number_parse_int64(text, text_len, &value)) {
        reply_error(&c->reply, ERR_HASH_NOT_INTEGER);
        return;
    }
    if ((increment < 0 && value < 0 && increment < INT64_MIN - value) ||
        (increment > 0 && value > 0 && increment > INT64_MAX - value)) {
        reply_error(&c->reply, ERR_OVERFLOW);
        return;
    }
    value += increment;
    char digits[24];
    size_t digits_len = number_format_int64(digits, value);
    if (e == NULL)
        e = create_hash(c);
    hash_set(e, c->argv[2], c->argv_len[2], digits, digits_len);
    signal_hash(c, "hincrby");
    reply_integer(&c->reply, value);
}

/* Redis's string-to-long-double for HINCRBYFLOAT operands: up to 5 KB of
 * text, no leading space, no trailing bytes, no NaN; overflow and underflow
 * to zero fail while an underflow to a subnormal value is accepted. */
static int parse_float_operand(const char *s, size_t len, long double *out)
{
    char text[LONG_DOUBLE_TEXT_MAX];
    if (len == 0 || len >= sizeof(text))
        return 0;
    memcpy(text, s, len);
    text[len] = '\0';
    if (isspace((unsigned char)text[0]))
        return 0;
    errno = 0;
    char *end;
    long double value = strtold(text, &end);
    if ((size_t)(end - text) != len || isnan(value))
        return 0;
    if (errno == ERANGE && (isinf(value) || value == 0))
        return 0;
    *out = value;
    return 1;
}

static void command_hincrbyfloat(client *c)
{
    long double increment, value = 0;
    if (!parse_float_operand(c->argv[3], c->argv_len[3], &increment)) {
        reply_error(&c->reply, ERR_NOT_FLOAT);
        return;
    }
    if (isinf(increment)) {
        reply_error(&c->reply, ERR_NAN_OR_INFINITY);
        return;
    }
    int wrong_type;
    kv_entry *e = lookup_write_hash(c, &wrong_type);
    if (wrong_type)
        return;
    char scratch[24];
    const char *text;
    size_t text_len;
    if (e && hash_get(e, c->argv[2], c->argv_len[2], scratch, &text, &text_len) &&
        !parse_float_operand(text, text_len, &value)) {
        reply_error(&c->reply, ERR_HASH_NOT_FLOAT);
        return;
    }
    value += increment;
    if (isnan(value) || isinf(value)) {
        reply_error(&c->reply, ERR_INCR_NAN_OR_INF);
        return;
    }
    char result[LONG_DOUBLE_TEXT_MAX];
    size_t result_len = number_format_long_double(result, sizeof(result), value);
    if (e == NULL)
        e = create_hash(c);
    hash_set(e, c->argv[2], c->argv_len[2], result, result_len);
    signal_hash(c, "hincrbyfloat");
    reply_bulk(&c->reply, result, result_len);
}

/* ---------- HRANDFIELD ---------- */

static void reply_random_pair(client *c, const field_pair *pair, int with_values)
{
    if (with_values && client_protocol(c) >= 3)
        reply_array(&c->reply, 2);
    reply_bulk(&c->reply, pair->field, pair->field_len);
    if (with_values)
        reply_bulk(&c->reply, pair->value, pair->value_len);
}

/* A listpack hash's pair, by the cursor of its field. */
static void listpack_pair_at(const listpack *lp, size_t pos, char field_scratch[24],
                             char value_scratch[24], field_pair *pair)
{
    pair->field = listpack_bytes_at(lp, pos, field_scratch, &pair->field_len);
    pair->value = listpack_bytes_at(lp, listpack_next(lp, pos), value_scratch, &pair->value_len);
}

/* Cursors of every field of a listpack hash (length pairs). */
static size_t *listpack_field_cursors(const listpack *lp, size_t length)
{
    size_t *cursors = mem_alloc(length * sizeof(size_t));
    size_t pos = listpack_first(lp);
    for (size_t i = 0; i < length; i++) {
        cursors[i] = pos;
        pos = listpack_next(lp, listpack_next(lp, pos));
    }
    return cursors;
}

/* Every pair of a field_table, for sampling. The pointers stay valid while
 * the command runs: nothing changes the hash meanwhile. */
static field_pair *table_pairs(field_table *table, size_t length)
{
    field_pair *pairs = mem_alloc(length * sizeof(field_pair));
    field_table_iterator it;
    size_t n = 0;
    field_table_iterator_init(&it, table);
    while (n < length && field_table_iterator_next(&it, &pairs[n]))
        n++;
    field_table_iterator_release(&it);
    return pairs;
}

/* Swaps a uniformly chosen element of items[i..length) into items[i]: one
 * step of a partial Fisher-Yates shuffle. */
#define SHUFFLE_STEP(items, i, length)                                                             \
    do {                                                                                           \
        size_t pick_ = (i) + (size_t)(server_random() % ((length) - (i)));                         \
        __typeof__((items)[0]) held_ = (items)[i];                                                 \
        (items)[i] = (items)[pick_];                                                               \
        (items)[pick_] = held_;                                                                    \
    } while (0)

/* Distinct random pairs from a big table when few are wanted: draw until
 * count distinct fields are in hand, remembering the fields' addresses in a
 * small open-addressing set (a pair's field pointer identifies it). */
static void sample_sparse(client *c, field_table *table, size_t count, int with_values)
{
    size_t slots = 16;
    while (slots < count * 2)
        slots <<= 1;
    const char **seen = mem_calloc(slots * sizeof(const char *));
    size_t found = 0;
    while (found < count) {
        field_pair pair;
        field_table_random(table, server_random(), &pair);
        size_t slot = ((uintptr_t)pair.field >> 3) * 0x9e3779b97f4a7c15ull & (slots - 1);
        while (seen[slot] && seen[slot] != pair.field)
            slot = (slot + 1) & (slots - 1);
        if (seen[slot])
            continue;
        seen[slot] = pair.field;
        reply_random_pair(c, &pair, with_values);
        found++;
    }
    mem_free(seen);
}

static void random_fields_with_count(client *c, int64_t requested, int with_values)
{
    int wrong_type;
    kv_entry *e = lookup_read_hash(c, &wrong_type);
    if (wrong_type)
        return;
    if (e == NULL || requested == 0) {
        reply_empty_array(&c->reply);
        return;
    }
    int unique = requested > 0;
    uint64_t count = unique ? (uint64_t)requested : (uint64_t)0 - (uint64_t)requested;
    size_t length = hash_length(e);
    if (unique && count >= length) {
        /* Everything, in the hash's own order. */
        count = length;
    }
    int flat_pairs = with_values && client_protocol(c) < 3;
    reply_array(&c->reply, flat_pairs ? count * 2 : count);

    char field_scratch[24], value_scratch[24];
    field_pair pair;
    if (unique && count == length) {
        hash_iterator it;
        hash_iterator_init(&it, e);
        while (hash_iterator_next(&it, &pair))
            reply_random_pair(c, &pair, with_values);
        hash_iterator_release(&it);
        return;
    }
    if (is_listpack(e)) {
        /* At most hash-max-listpack-entries pairs: index them once. */
        const listpack *lp = entry_object(e);
        size_t *cursors = listpack_field_cursors(lp, length);
        for (size_t i = 0; i < count; i++) {
            size_t index;
            if (unique) {
                SHUFFLE_STEP(cursors, i, length);
                index = i;
            } else {
                index = (size_t)(server_random() % length);
            }
            listpack_pair_at(lp, cursors[index], field_scratch, value_scratch, &pair);
            reply_random_pair(c, &pair, with_values);
        }
        mem_free(cursors);
        return;
    }
    field_table *table = hash_table(e);
    if (!unique) {
        for (uint64_t i = 0; i < count; i++) {
            field_table_random(table, server_random(), &pair);
            reply_random_pair(c, &pair, with_values);
        }
    } else if (count * 3 > length) {
        /* A large share of the hash: shuffle the front of a list of all
         * pairs rather than draw and retry. */
        field_pair *pairs = table_pairs(table, length);
        for (size_t i = 0; i < count; i++) {
            SHUFFLE_STEP(pairs, i, length);
            reply_random_pair(c, &pairs[i], with_values);
        }
        mem_free(pairs);
    } else {
        sample_sparse(c, table, (size_t)count, with_values);
    }
}

static void command_hrandfield(client *c)
{
    if (c->argc >= 3) {
        int64_t count;
        if (!argument_int64(c, 2, &count))
            return;
        if (count == INT64_MIN) {
            reply_error(&c->reply, ERR_COUNT_RANGE);
            return;
        }
        int with_values = 0;
        if (c->argc > 4 || (c->argc == 4 && !argument_is(c, 3, "withvalues"))) {
            reply_error(&c->reply, ERR_SYNTAX);
            return;
        }
        if (c->argc == 4) {
            with_values = 1;
            if (count < -INT64_MAX / 2 || count > INT64_MAX / 2) {
                reply_error(&c->reply, ERR_OUT_OF_RANGE);
                return;
            }
        }
        random_fields_with_count(c, count, with_values);
        return;
    }
    int wrong_type;
    kv_entry *e = lookup_read_hash(c, &wrong_type);
    if (wrong_type)
        return;
    if (e == NULL) {
        reply_null(&c->reply);
        return;
    }
    field_pair pair;
    if (is_listpack(e)) {
        const listpack *lp = entry_object(e);
        char field_scratch[24], value_scratch[24];
        size_t index = (size_t)(server_random() % hash_length(e));
        listpack_pair_at(lp, listpack_seek(lp, (int64_t)index * 2), field_scratch, value_scratch,
                         &pair);
    } else {
        field_table_random(hash_table(e), server_random(), &pair);
    }
    reply_bulk(&c->reply, pair.field, pair.field_len);
}

/* ---------- HSCAN ---------- */

typedef struct scan_batch {
    buffer pairs; /* field_pair structs */
    size_t count;
} scan_batch;

static void scan_collect(void *ctx, const field_pair *pair)
{
    scan_batch *batch = ctx;
    buffer_append(&batch->pairs, pair, sizeof(*pair));
    batch->count++;
}

static int pattern_keeps(const char *pattern, size_t pattern_len, const field_pair *pair)
{
    return pattern == NULL || glob_match(pattern, pattern_len, pair->field, pair->field_len, 0);
}

static void command_hscan(client *c)
{
    uint64_t cursor;
    if (!number_parse_cursor(c->argv[2], c->argv_len[2], &cursor)) {
        reply_error(&c->reply, ERR_INVALID_CURSOR);
        return;
    }
    int wrong_type;
    kv_entry *e = lookup_read_hash(c, &wrong_type);
    if (wrong_type)
        return;
    if (e == NULL) {
        reply_array(&c->reply, 2);
        reply_bulk(&c->reply, "0", 1);
        reply_empty_array(&c->reply);
        return;
    }
    scan_options options;
    if (!scan_parse_options(c, 3, 0, &options))
        return;
    int64_t count = options.count;
    const char *pattern = options.pattern;
    size_t pattern_len = options.pattern_len;

    field_pair pair;
    if (is_listpack(e)) {
        /* A listpack hash is small: all of it in one reply, as Redis does,
         * whatever the cursor. */
        reply_array(&c->reply, 2);
        reply_bulk(&c->reply, "0", 1);
        size_t handle = reply_defer(&c->reply);
        size_t kept = 0;
        hash_iterator it;
        hash_iterator_init(&it, e);
        while (hash_iterator_next(&it, &pair)) {
            if (pattern_keeps(pattern, pattern_len, &pair)) {
                reply_bulk(&c->reply, pair.field, pair.field_len);
                reply_bulk(&c->reply, pair.value, pair.value_len);
                kept += 2;
            }
        }
        hash_iterator_release(&it);
        reply_defer_array(&c->reply, handle, kept);
        return;
    }

    /* Walk cursor positions until about COUNT elements (fields and values
     * both count, as in Redis) are in hand, giving up after ten positions
     * per requested element so a sparse table cannot make one call walk all
     * of it. */
    scan_batch batch;
    buffer_init(&batch.pairs);
    batch.count = 0;
    int64_t budget = count > INT64_MAX / 10 ? INT64_MAX : count * 10;
    do {
        cursor = field_table_scan(hash_table(e), cursor, scan_collect, &batch);
    } while (cursor != 0 && budget-- > 0 && batch.count * 2 < (uint64_t)count);

    char digits[24];
    int digits_len = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)cursor);
    reply_array(&c->reply, 2);
    reply_bulk(&c->reply, digits, (size_t)digits_len);
    size_t handle = reply_defer(&c->reply);
    size_t kept = 0;
    for (size_t i = 0; i < batch.count; i++) {
        memcpy(&pair, batch.pairs.data + i * sizeof(pair), sizeof(pair));
        if (pattern_keeps(pattern, pattern_len, &pair)) {
            reply_bulk(&c->reply, pair.field, pair.field_len);
            reply_bulk(&c->reply, pair.value, pair.value_len);
            kept += 2;
        }
    }
    reply_defer_array(&c->reply, handle, kept);
    buffer_release(&batch.pairs);
}

/* ---------- per-field TTL commands (Redis 7.4 / 8.0) ---------- */

#define ERR_FIELDS_POSITION "ERR Mandatory argument FIELDS is missing or not at the right position"
#define ERR_FIELDS_COUNT    "ERR Number of fields must be a positive integer"
#define ERR_FIELDS_MISMATCH "ERR The `numfields` parameter must match the number of arguments"
#define ERR_NEGATIVE_TIME   "ERR invalid expire time, must be >= 0"

/* Field deadlines stop at 2^46 - 1 ms (year 4199), as in Redis, which keeps
 * the top bits of its 48-bit field times for later use. */
#define FIELD_TIME_MAX ((int64_t)0x3FFFFFFFFFFF)

/* Per-field replies of the HEXPIRE family, HTTL family and HPERSIST. */
enum {
    FIELD_NONE = -2,   /* no such field (or key) */
    FIELD_NO_TTL = -1, /* HTTL/HPERSIST: the field has no TTL */
    FIELD_SKIPPED = 0, /* NX/XX/GT/LT not met */
    FIELD_SET = 1,     /* deadline set (HPERSIST: TTL removed) */
    FIELD_DELETED = 2, /* the deadline had passed: the field is gone */
};

/* Reads argv[i] as a field time, in seconds or ms, relative to base_ms (0 for
 * absolute times), into an absolute ms deadline. Replies and returns 0 when
 * it is not an integer, negative, or past FIELD_TIME_MAX. */
static int parse_field_time(client *c, int i, int64_t base_ms, int in_seconds, int64_t *deadline)
{
    int64_t value;
    if (!argument_int64(c, i, &value))
        return 0;
    if (value < 0) {
        reply_error(&c->reply, ERR_NEGATIVE_TIME);
        return 0;
    }
    if ((in_seconds && value > FIELD_TIME_MAX / 1000) ||
        (in_seconds ? value * 1000 : value) > FIELD_TIME_MAX - base_ms) {
        reply_errorf(&c->reply, "ERR invalid expire time in '%s' command",
                     c->command ? c->command->name : "hexpire");
        return 0;
    }
    *deadline = (in_seconds ? value * 1000 : value) + base_ms;
    return 1;
}

/* Checks "FIELDS numfields field ..." that starts at argv[at] and must run
 * to the end of argv. Returns the count, or 0 after replying. */
static int64_t parse_fields_block(client *c, int at, const char *count_error)
{
    if (at >= c->argc || !argument_is(c, at, "fields")) {
        reply_error(&c->reply, ERR_FIELDS_POSITION);
        return 0;
    }
    if (at + 1 >= c->argc) {
        reply_errorf(&c->reply, "ERR wrong number of arguments for '%s' command",
                     c->command ? c->command->name : "hexpire");
        return 0;
    }
    int64_t count;
    if (!number_parse_int64(c->argv[at + 1], c->argv_len[at + 1], &count) || count < 1) {
        reply_error(&c->reply, count_error);
        return 0;
    }
    if (count != (int64_t)(c->argc - at - 2)) {
        reply_error(&c->reply, ERR_FIELDS_MISMATCH);
        return 0;
    }
    return count;
}

static int hash_has_field(kv_entry *e, const char *field, size_t len)
{
    char scratch[24];
    const char *value;
    size_t value_len;
    return hash_get(e, field, len, scratch, &value, &value_len);
}

/* Deletes a field and, when it was the last, the key (*e = NULL). Returns
 * whether the key went. The caller announces. */
static int delete_field_maybe_key(client *c, kv_entry **e, const char *field, size_t len)
{
    hash_delete(*e, field, len);
    if (hash_length(*e) > 0)
        return 0;
    keyspace_delete(c->db, c->argv[1], c->argv_len[1]);
    *e = NULL;
    return 1;
}

enum { TTL_IF_NONE = 1, TTL_IF_EXISTS = 2, TTL_IF_GREATER = 4, TTL_IF_LESS = 8 };

/* Whether NX/XX/GT/LT let `deadline` replace `current` (-1: no TTL, which
 * GT and LT treat as infinite). */
static int ttl_condition_allows(int condition, int64_t current, int64_t deadline)
{
    switch (condition) {
    case TTL_IF_NONE:
        return current == -1;
    case TTL_IF_EXISTS:
        return current != -1;
    case TTL_IF_GREATER:
        return current != -1 && deadline > current;
    case TTL_IF_LESS:
        return current == -1 || deadline < current;
    default:
        return 1;
    }
}

static void reply_all_missing(client *c, int64_t count, int null_values)
{
    reply_array(&c->reply, (size_t)count);
    for (int64_t i = 0; i < count; i++) {
        if (null_values)
            reply_null(&c->reply);
        else
            reply_integer(&c->reply, FIELD_NONE);
    }
}

static void signal_key_deleted(client *c, int key_removed)
{
    if (key_removed)
        keyspace_signal_modified(c->db, c->argv[1], c->argv_len[1], "del", EVENT_GENERIC);
}

/* Announces what a TTL command did, in Redis's order. */
static void signal_ttl_changes(client *c, const char *event, int changed, int key_removed)
{
    if (changed)
        signal_hash(c, event);
    signal_key_deleted(c, key_removed);
}

/* HEXPIRE, HPEXPIRE, HEXPIREAT, HPEXPIREAT key time [NX|XX|GT|LT] FIELDS n f.. */
static void hash_expire_generic(client *c, int64_t base_ms, int in_seconds)
{
    int wrong_type;
    kv_entry *e = lookup_write_hash(c, &wrong_type);
    if (wrong_type)
        return;
    int64_t deadline;
    if (!parse_field_time(c, 2, base_ms, in_seconds, &deadline))
        return;
    int condition = 0, at = 3;
    if (argument_is(c, 3, "nx"))
        condition = TTL_IF_NONE;
    else if (argument_is(c, 3, "xx"))
        condition = TTL_IF_EXISTS;
    else if (argument_is(c, 3, "gt"))
        condition = TTL_IF_GREATER;
    else if (argument_is(c, 3, "lt"))
        condition = TTL_IF_LESS;
    if (condition)
        at = 4;
    int64_t count = parse_fields_block(c, at, "ERR Parameter `numFields` should be greater than 0");
    if (count == 0)
        return;
    if (e == NULL) {
        reply_all_missing(c, count, 0);
        return;
    }
    int64_t now = hash_now();
    int updated = 0, deleted = 0, key_removed = 0;
    reply_array(&c->reply, (size_t)count);
    for (int i = at + 2; i < c->argc; i++) {
        const char *field = c->argv[i];
        size_t len = c->argv_len[i];
        if (e == NULL || !hash_has_field(e, field, len)) {
            reply_integer(&c->reply, FIELD_NONE);
            continue;
        }
        if (!ttl_condition_allows(condition, hash_field_ttl(e, field, len), deadline)) {
            reply_integer(&c->reply, FIELD_SKIPPED);
            continue;
        }
        if (deadline <= now) {
            deleted++;
            key_removed = delete_field_maybe_key(c, &e, field, len);
            reply_integer(&c->reply, FIELD_DELETED);
            continue;
        }
        hash_set_field_ttl(c->db, &e, field, len, deadline);
        updated++;
        reply_integer(&c->reply, FIELD_SET);
    }
    if (e)
        hash_sync_timer(c->db, &e);
    signal_ttl_changes(c, deleted ? "hdel" : "hexpire", updated + deleted > 0, key_removed);
}

static void command_hexpire(client *c)
{
    hash_expire_generic(c, hash_now(), 1);
}

static void command_hpexpire(client *c)
{
    hash_expire_generic(c, hash_now(), 0);
}

static void command_hexpireat(client *c)
{
    hash_expire_generic(c, 0, 1);
}

static void command_hpexpireat(client *c)
{
    hash_expire_generic(c, 0, 0);
}

/* HTTL, HPTTL, HEXPIRETIME, HPEXPIRETIME key FIELDS n field ... */
static void hash_ttl_generic(client *c, int relative, int in_seconds)
{
    int wrong_type;
    kv_entry *e = lookup_read_hash(c, &wrong_type);
    if (wrong_type)
        return;
    int64_t count = parse_fields_block(c, 2, ERR_FIELDS_COUNT);
    if (count == 0)
        return;
    if (e == NULL) {
        reply_all_missing(c, count, 0);
        return;
    }
    int64_t base = relative ? hash_now() : 0;
    reply_array(&c->reply, (size_t)count);
    for (int i = 4; i < c->argc; i++) {
        if (!hash_has_field(e, c->argv[i], c->argv_len[i])) {
            reply_integer(&c->reply, FIELD_NONE);
            continue;
        }
        int64_t deadline = hash_field_ttl(e, c->argv[i], c->argv_len[i]);
        if (deadline < 0)
            reply_integer(&c->reply, FIELD_NO_TTL);
        else if (in_seconds) /* rounded up, as Redis does for fields */
            reply_integer(&c->reply, (deadline - base + 999) / 1000);
        else
            reply_integer(&c->reply, deadline - base);
    }
}

static void command_httl(client *c)
{
    hash_ttl_generic(c, 1, 1);
}

static void command_hpttl(client *c)
{
    hash_ttl_generic(c, 1, 0);
}

static void command_hexpiretime(client *c)
{
    hash_ttl_generic(c, 0, 1);
}

static void command_hpexpiretime(client *c)
{
    hash_ttl_generic(c, 0, 0);
}

/* HPERSIST key FIELDS n field ... */
static void command_hpersist(client *c)
{
    int wrong_type;
    kv_entry *e = lookup_write_hash(c, &wrong_type);
    if (wrong_type)
        return;
    int64_t count = parse_fields_block(c, 2, ERR_FIELDS_COUNT);
    if (count == 0)
        return;
    if (e == NULL) {
        reply_all_missing(c, count, 0);
        return;
    }
    int changed = 0;
    reply_array(&c->reply, (size_t)count);
    for (int i = 4; i < c->argc; i++) {
        if (!hash_has_field(e, c->argv[i], c->argv_len[i])) {
            reply_integer(&c->reply, FIELD_NONE);
        } else if (hash_clear_field_ttl(e, c->argv[i], c->argv_len[i])) {
            changed++;
            reply_integer(&c->reply, FIELD_SET);
        } else {
            reply_integer(&c->reply, FIELD_NO_TTL);
        }
    }
    hash_sync_timer(c->db, &e);
    signal_ttl_changes(c, "hpersist", changed, 0);
}

/* Replies with field's value (or null); 1 if it was there. */
static int reply_field_value(client *c, kv_entry *e, const char *field, size_t len)
{
    char scratch[24];
    const char *value;
    size_t value_len;
    if (e && hash_get(e, field, len, scratch, &value, &value_len)) {
        reply_bulk(&c->reply, value, value_len);
        return 1;
    }
    reply_null(&c->reply);
    return 0;
}

/* HGETDEL key FIELDS n field ... */
static void command_hgetdel(client *c)
{
    int wrong_type;
    kv_entry *e = lookup_write_hash(c, &wrong_type);
    if (wrong_type)
        return;
    int64_t count = parse_fields_block(c, 2, ERR_FIELDS_COUNT);
    if (count == 0)
        return;
    int deleted = 0, key_removed = 0;
    reply_array(&c->reply, (size_t)count);
    for (int i = 4; i < c->argc; i++) {
        if (reply_field_value(c, e, c->argv[i], c->argv_len[i])) {
            deleted++;
            key_removed = delete_field_maybe_key(c, &e, c->argv[i], c->argv_len[i]);
        }
    }
    if (e)
        hash_sync_timer(c->db, &e);
    signal_ttl_changes(c, "hdel", deleted, key_removed);
}

/* The expiry options of HGETEX and HSETEX. */
enum {
    OPTION_EX = 1,
    OPTION_PX = 2,
    OPTION_EXAT = 4,
    OPTION_PXAT = 8,
    OPTION_PERSIST = 16,
    OPTION_KEEPTTL = 32,
    OPTION_FNX = 64,
    OPTION_FXX = 128,
};
#define OPTION_TIMES (OPTION_EX | OPTION_PX | OPTION_EXAT | OPTION_PXAT)

/* Which time option argv[i] names (EX, PX, EXAT, PXAT), or 0. */
static int time_option(const client *c, int i)
{
    if (argument_is(c, i, "ex"))
        return OPTION_EX;
    if (argument_is(c, i, "px"))
        return OPTION_PX;
    if (argument_is(c, i, "exat"))
        return OPTION_EXAT;
    if (argument_is(c, i, "pxat"))
        return OPTION_PXAT;
    return 0;
}

/* Reads the time after a time option at argv[i] into an absolute deadline. */
static int parse_option_time(client *c, int option, int i, int64_t *deadline)
{
    int relative = option & (OPTION_EX | OPTION_PX);
    int in_seconds = option & (OPTION_EX | OPTION_EXAT);
    return parse_field_time(c, i, relative ? hash_now() : 0, in_seconds, deadline);
}

/* HGETEX key [EX s | PX ms | EXAT t | PXAT t | PERSIST] FIELDS n field ... */
static void command_hgetex(client *c)
{
    int wrong_type;
    kv_entry *e = lookup_write_hash(c, &wrong_type);
    if (wrong_type)
        return;
    int option = time_option(c, 2), at = 3;
    int64_t deadline = -1;
    if (option) {
        if (c->argc < 6) {
            reply_errorf(&c->reply, "ERR wrong number of arguments for 'hgetex' command");
            return;
        }
        if (!parse_option_time(c, option, 3, &deadline))
            return;
        at = 4;
    } else if (argument_is(c, 2, "persist")) {
        option = OPTION_PERSIST;
        at = 3;
    } else {
        at = 2;
    }
    int64_t count = parse_fields_block(c, at, ERR_FIELDS_COUNT);
    if (count == 0)
        return;
    if (e == NULL) {
        reply_all_missing(c, count, 1);
        return;
    }
    int64_t now = hash_now();
    int updated = 0, deleted = 0, key_removed = 0;
    reply_array(&c->reply, (size_t)count);
    for (int i = at + 2; i < c->argc; i++) {
        const char *field = c->argv[i];
        size_t len = c->argv_len[i];
        if (!reply_field_value(c, e, field, len) || option == 0)
            continue;
        if (option == OPTION_PERSIST) {
            updated += hash_clear_field_ttl(e, field, len);
        } else if (deadline <= now) {
            deleted++;
            key_removed = delete_field_maybe_key(c, &e, field, len);
        } else {
            hash_set_field_ttl(c->db, &e, field, len, deadline);
            updated++;
        }
    }
    if (e)
        hash_sync_timer(c->db, &e);
    if (updated)
        signal_hash(c, option == OPTION_PERSIST ? "hpersist" : "hexpire");
    else if (deleted)
        signal_hash(c, "hdel");
    signal_key_deleted(c, key_removed);
}

/* HSETEX's options up to FIELDS; returns the index of FIELDS (after
 * checking the pairs that follow it), or 0 after replying. Errors come in
 * argument order, as Redis reports them. */
static int parse_hsetex_options(client *c, int *options, int64_t *deadline)
{
    *options = 0;
    for (int i = 2; i < c->argc; i++) {
        if (argument_is(c, i, "fields")) {
            if (i >= c->argc - 3) {
                reply_errorf(&c->reply, "ERR wrong number of arguments for 'hsetex' command");
                return 0;
            }
            int64_t count;
            if (!number_parse_int64(c->argv[i + 1], c->argv_len[i + 1], &count) || count < 1 ||
                count > INT32_MAX) {
                reply_error(&c->reply, "ERR invalid number of fields");
                return 0;
            }
            int remaining = c->argc - i - 2;
            if (remaining % 2 != 0 || count != remaining / 2) {
                reply_errorf(&c->reply, "ERR wrong number of arguments for 'hsetex' command");
                return 0;
            }
            return i;
        }
        int option = time_option(c, i);
        if (option || argument_is(c, i, "keepttl")) {
            if (*options & (OPTION_TIMES | OPTION_KEEPTTL)) {
                reply_error(&c->reply, "ERR Only one of EX, PX, EXAT, PXAT or KEEPTTL arguments "
                                       "can be specified");
                return 0;
            }
            if (option == 0) {
                *options |= OPTION_KEEPTTL;
                continue;
            }
            if (i >= c->argc - 1) {
                reply_error(&c->reply, "ERR missing expire time");
                return 0;
            }
            if (!parse_option_time(c, option, ++i, deadline))
                return 0;
            *options |= option;
        } else if (argument_is(c, i, "fnx") || argument_is(c, i, "fxx")) {
            if (*options & (OPTION_FNX | OPTION_FXX)) {
                reply_error(&c->reply, "ERR Only one of FXX or FNX arguments can be specified");
                return 0;
            }
            *options |= argument_is(c, i, "fnx") ? OPTION_FNX : OPTION_FXX;
        } else {
            reply_errorf(&c->reply, "ERR unknown argument: %.*s", (int)c->argv_len[i], c->argv[i]);
            return 0;
        }
    }
    reply_error(&c->reply, ERR_SYNTAX);
    return 0;
}

/* HSETEX key [FNX|FXX] [EX|PX|EXAT|PXAT time | KEEPTTL] FIELDS n field value ... */
static void command_hsetex(client *c)
{
    int options;
    int64_t deadline = -1;
    int at = parse_hsetex_options(c, &options, &deadline);
    if (at == 0)
        return;
    int wrong_type;
    kv_entry *e = lookup_write_hash(c, &wrong_type);
    if (wrong_type)
        return;
    if (options & (OPTION_FNX | OPTION_FXX)) {
        int found = 0, wanted = (c->argc - at - 2) / 2;
        for (int i = at + 2; e && i < c->argc; i += 2)
            found += hash_has_field(e, c->argv[i], c->argv_len[i]);
        if (((options & OPTION_FNX) && found > 0) || ((options & OPTION_FXX) && found < wanted)) {
            reply_integer(&c->reply, 0);
            return;
        }
    }
    if (e == NULL)
        e = create_hash(c);
    /* A deadline already passed sets each field and deletes it at once:
     * the net effect is the field's deletion. */
    int expired_now = (options & OPTION_TIMES) && deadline <= hash_now();
    for (int i = at + 2; i < c->argc; i += 2) {
        const char *field = c->argv[i];
        size_t len = c->argv_len[i];
        if (expired_now) {
            hash_delete(e, field, len);
            continue;
        }
        hash_set(e, field, len, c->argv[i + 1], c->argv_len[i + 1]);
        if (options & OPTION_TIMES)
            hash_set_field_ttl(c->db, &e, field, len, deadline);
        else if (!(options & OPTION_KEEPTTL))
            hash_clear_field_ttl(e, field, len);
    }
    int key_removed = hash_length(e) == 0;
    if (key_removed)
        keyspace_delete(c->db, c->argv[1], c->argv_len[1]);
    else
        hash_sync_timer(c->db, &e);
    signal_hash(c, "hset");
    if (expired_now)
        signal_hash(c, "hdel");
    else if (options & OPTION_TIMES)
        signal_hash(c, "hexpire");
    signal_key_deleted(c, key_removed);
    reply_integer(&c->reply, 1);
}

/* ---------- the type and the table ---------- */

static void hash_free_value(void *ptr, object_encoding encoding)
{
    if (encoding == ENCODING_LISTPACK) {
        listpack_free(ptr);
    } else if (encoding == ENCODING_HASHTABLE_TTL) {
        hash_with_ttl *h = ptr;
        field_table_free(h->table);
        field_expiry_free(h->expiry);
        mem_free(h);
    } else {
        field_table_free(ptr);
    }
}

static size_t hash_free_effort(const void *ptr, object_encoding encoding)
{
    if (encoding == ENCODING_LISTPACK)
        return 1;
    if (encoding == ENCODING_HASHTABLE_TTL) {
        const hash_with_ttl *h = ptr;
        return field_table_size(h->table) + field_expiry_count(h->expiry);
    }
    return field_table_size(ptr);
}

static size_t hash_memory_usage(const void *ptr, object_encoding encoding, size_t samples)
{
    if (encoding == ENCODING_LISTPACK)
        return mem_block_size(ptr);
    if (encoding == ENCODING_HASHTABLE_TTL) {
        const hash_with_ttl *h = ptr;
        return mem_block_size(h) + field_table_memory(h->table, samples) +
               field_expiry_memory(h->expiry, samples);
    }
    return field_table_memory(ptr, samples);
}

static void *hash_copy_value(const void *ptr, object_encoding encoding)
{
    if (encoding == ENCODING_LISTPACK)
        return listpack_duplicate(ptr);
    if (encoding == ENCODING_HASHTABLE_TTL) {
        const hash_with_ttl *h = ptr;
        hash_with_ttl *copy = mem_alloc(sizeof(*copy));
        copy->table = field_table_duplicate(h->table);
        copy->expiry = field_expiry_duplicate(h->expiry);
        return copy;
    }
    return field_table_duplicate(ptr);
}

/* Active expiry of fields (object_methods.expire_fields). */
static size_t hash_expire_fields(database *db, kv_entry *entry, int64_t now_ms, size_t budget)
{
    return hash_reclaim(db, &entry, now_ms, budget);
}

void hash_register_type(keyspace *ks)
{
    static const object_methods methods = {.free_value = hash_free_value,
                                           .copy_value = hash_copy_value,
                                           .free_effort = hash_free_effort,
                                           .memory_usage = hash_memory_usage,
                                           .expire_fields = hash_expire_fields};
    keyspace_register_type(ks, OBJECT_HASH, &methods);
}

#define C_HASH ACL_HASH

const command hash_command_rows[] = {
    ROW("hdel", -3, W | FAST, C_W | C_HASH | C_FAST, 1, 1, 1, KEY_RW | KEY_DELETE, command_hdel,
        "hash", "2.0.0", "O(N) where N is the number of fields to be removed.",
        "Delete one or more hash fields"),
    ROW("hexists", 3, R | FAST, C_R | C_HASH | C_FAST, 1, 1, 1, KEY_RO, command_hexists, "hash",
        "2.0.0", "O(1)", "Determine if a hash field exists"),
    ROW("hexpire", -6, W | FAST, C_W | C_HASH | C_FAST, 1, 1, 1, KEY_RW | KEY_UPDATE,
        command_hexpire, "hash", "7.4.0", "O(N) where N is the number of specified fields",
        "Set expiry for hash field using relative time to expire (seconds)"),
    ROW("hexpireat", -6, W | FAST, C_W | C_HASH | C_FAST, 1, 1, 1, KEY_RW | KEY_UPDATE,
        command_hexpireat, "hash", "7.4.0", "O(N) where N is the number of specified fields",
        "Set expiry for hash field using an absolute Unix timestamp (seconds)"),
    ROW("hexpiretime", -5, R | FAST, C_R | C_HASH | C_FAST, 1, 1, 1, KEY_RO, command_hexpiretime,
        "hash", "7.4.0", "O(N) where N is the number of specified fields",
        "Returns the expiration time of a hash field as a Unix timestamp, in seconds."),
    ROW("hget", 3, R | FAST, C_R | C_HASH | C_FAST, 1, 1, 1, KEY_READ, command_hget, "hash",
        "2.0.0", "O(1)", "Get the value of a hash field"),
    ROW("hgetall", 2, R, C_R | C_HASH | C_SLOW, 1, 1, 1, KEY_READ, command_hgetall, "hash", "2.0.0",
        "O(N) where N is the size of the hash.", "Get all the fields and values in a hash"),
    ROW("hgetdel", -5, W | FAST, C_W | C_HASH | C_FAST, 1, 1, 1, KEY_RW | KEY_ACCESS | KEY_DELETE,
        command_hgetdel, "hash", "8.0.0", "O(N) where N is the number of specified fields",
        "Returns the value of a field and deletes it from the hash."),
    ROW("hgetex", -5, W | FAST, C_W | C_HASH | C_FAST, 1, 1, 1, KEY_RW | KEY_ACCESS | KEY_UPDATE,
        command_hgetex, "hash", "8.0.0", "O(N) where N is the number of specified fields",
        "Get the value of one or more fields of a given hash key, and optionally set their "
        "expiration."),
    ROW("hincrby", 4, W | DOOM | FAST, C_W | C_HASH | C_FAST, 1, 1, 1, KEY_WRITE_UPDATE,
        command_hincrby, "hash", "2.0.0", "O(1)",
        "Increment the integer value of a hash field by the given number"),
    ROW("hincrbyfloat", 4, W | DOOM | FAST, C_W | C_HASH | C_FAST, 1, 1, 1, KEY_WRITE_UPDATE,
        command_hincrbyfloat, "hash", "2.6.0", "O(1)",
        "Increment the float value of a hash field by the given amount"),
    ROW("hkeys", 2, R, C_R | C_HASH | C_SLOW, 1, 1, 1, KEY_READ, command_hkeys, "hash", "2.0.0",
        "O(N) where N is the size of the hash.", "Get all the fields in a hash"),
    ROW("hlen", 2, R | FAST, C_R | C_HASH | C_FAST, 1, 1, 1, KEY_RO, command_hlen, "hash", "2.0.0",
        "O(1)", "Get the number of fields in a hash"),
    ROW("hmget", -3, R | FAST, C_R | C_HASH | C_FAST, 1, 1, 1, KEY_READ, command_hmget, "hash",
        "2.0.0", "O(N) where N is the number of fields being requested.",
        "Get the values of all the given hash fields"),
    ROW("hmset", -4, W | DOOM | FAST, C_W | C_HASH | C_FAST, 1, 1, 1, KEY_RW | KEY_UPDATE,
        command_hmset, "hash", "2.0.0", "O(N) where N is the number of fields being set.",
        "Set multiple hash fields to multiple values"),
    ROW("hpersist", -5, W | FAST, C_W | C_HASH | C_FAST, 1, 1, 1, KEY_RW | KEY_UPDATE,
        command_hpersist, "hash", "7.4.0", "O(N) where N is the number of specified fields",
        "Removes the expiration time for each specified field"),
    ROW("hpexpire", -6, W | FAST, C_W | C_HASH | C_FAST, 1, 1, 1, KEY_RW | KEY_UPDATE,
        command_hpexpire, "hash", "7.4.0", "O(N) where N is the number of specified fields",
        "Set expiry for hash field using relative time to expire (milliseconds)"),
    ROW("hpexpireat", -6, W | FAST, C_W | C_HASH | C_FAST, 1, 1, 1, KEY_RW | KEY_UPDATE,
        command_hpexpireat, "hash", "7.4.0", "O(N) where N is the number of specified fields",
        "Set expiry for hash field using an absolute Unix timestamp (milliseconds)"),
    ROW("hpexpiretime", -5, R | FAST, C_R | C_HASH | C_FAST, 1, 1, 1, KEY_RO, command_hpexpiretime,
        "hash", "7.4.0", "O(N) where N is the number of specified fields",
        "Returns the expiration time of a hash field as a Unix timestamp, in msec."),
    ROW("hpttl", -5, R | FAST, C_R | C_HASH | C_FAST, 1, 1, 1, KEY_RO, command_hpttl, "hash",
        "7.4.0", "O(N) where N is the number of specified fields",
        "Returns the TTL in milliseconds of a hash field."),
    ROW("hrandfield", -2, R, C_R | C_HASH | C_SLOW, 1, 1, 1, KEY_READ, command_hrandfield, "hash",
        "6.2.0", "O(N) where N is the number of fields returned",
        "Get one or multiple random fields from a hash"),
    ROW("hscan", -3, R, C_R | C_HASH | C_SLOW, 1, 1, 1, KEY_READ, command_hscan, "hash", "2.8.0",
        "O(1) for every call. O(N) for a complete iteration, including enough command calls for "
        "the cursor to return back to 0. N is the number of elements inside the collection..",
        "Incrementally iterate hash fields and associated values"),
    ROW("hset", -4, W | DOOM | FAST, C_W | C_HASH | C_FAST, 1, 1, 1, KEY_RW | KEY_UPDATE,
        command_hset, "hash", "2.0.0",
        "O(1) for each field/value pair added, so O(N) to add N field/value pairs when the "
        "command is called with multiple field/value pairs.",
        "Set the string value of a hash field"),
    ROW("hsetex", -6, W | DOOM | FAST, C_W | C_HASH | C_FAST, 1, 1, 1, KEY_RW | KEY_UPDATE,
        command_hsetex, "hash", "8.0.0", "O(N) where N is the number of fields being set.",
        "Set the value of one or more fields of a given hash key, and optionally set their "
        "expiration."),
    ROW("hsetnx", 4, W | DOOM | FAST, C_W | C_HASH | C_FAST, 1, 1, 1, KEY_WRITE_INSERT,
        command_hsetnx, "hash", "2.0.0", "O(1)",
        "Set the value of a hash field, only if the field does not exist"),
    ROW("hstrlen", 3, R | FAST, C_R | C_HASH | C_FAST, 1, 1, 1, KEY_RO, command_hstrlen, "hash",
        "3.2.0", "O(1)", "Get the length of the value of a hash field"),
    ROW("httl", -5, R | FAST, C_R | C_HASH | C_FAST, 1, 1, 1, KEY_RO, command_httl, "hash", "7.4.0",
        "O(N) where N is the number of specified fields",
        "Returns the TTL in seconds of a hash field."),
    ROW("hvals", 2, R, C_R | C_HASH | C_SLOW, 1, 1, 1, KEY_READ, command_hvals, "hash", "2.0.0",
        "O(N) where N is the size of the hash.", "Get all the values in a hash"),
    {0}};

/* ---------- access for persistence (rivet/hash_access.h) ---------- */

void hash_value_parts(object_encoding encoding, void *ptr, field_table **table,
                      field_expiry **expiry)
{
    if (encoding == ENCODING_HASHTABLE_TTL) {
        hash_with_ttl *h = ptr;
        *table = h->table;
        *expiry = h->expiry;
    } else {
        *table = encoding == ENCODING_LISTPACK ? NULL : ptr;
        *expiry = NULL;
    }
}

void hash_entry_set_field_ttl(database *db, kv_entry **entry, const char *field, size_t len,
                              int64_t deadline)
{
    keyspace_object_for_update(db, *entry);
    hash_set_field_ttl(db, entry, field, len, deadline);
}
