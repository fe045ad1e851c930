/* The set commands: SADD, SREM, membership, SPOP/SRANDMEMBER, SMOVE, the
 * algebra (SINTER, SUNION, SDIFF, their STORE forms, SINTERCARD) and SSCAN.
 *
 * A set value has one of three encodings, chosen as Redis 7.2 chooses them
 * (the config names are Redis's):
 *   intset     every member is a canonical integer and there are at most
 *              set-max-intset-entries of them;
 *   listpack   at most set-max-listpack-entries members of at most
 *              set-max-listpack-value bytes;
 *   hashtable  anything else (a member_table).
 * A set only ever moves towards hashtable, never back, so a set that grew
 * once keeps O(1) operations even if it shrinks. Everything below the
 * handlers works on a `set_value` (encoding + pointer) so that the result of
 * SINTERSTORE and friends can be built with the same code before it becomes
 * a key.
 *
 * Replies, error texts and the order in which errors are detected follow
 * Redis 7: which error wins when a command is wrong in several ways is
 * observable, and clients depend on it. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "rivet/glob.h"
#include "rivet/intset.h"
#include "rivet/listpack.h"
#include "rivet/member_table.h"
#include "rivet/memory.h"
#include "rivet/number.h"
#include "rivet/server.h"

#include "table.h"

#define ERR_SPOP_COUNT "ERR value is out of range, must be positive"
#define ERR_RANDOM_RANGE                                                                           \
    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
#define ERR_NUMKEYS        "ERR numkeys should be greater than 0"
#define ERR_NUMKEYS_ARGS   "ERR Number of keys can't be greater than number of args"
#define ERR_LIMIT_NEGATIVE "ERR LIMIT can't be negative"
#define ERR_INVALID_CURSOR "ERR invalid cursor"

/* SPOP with a count rebuilds the set from the members it keeps when it
 * returns more than this many times as many members as it keeps. */
#define SPOP_MOVE_FACTOR 5
/* SRANDMEMBER picks members at random (rejecting repeats) only when the set
 * has at least this many times more members than asked for; otherwise it
 * shuffles a list of them all. */
#define SRANDMEMBER_SPARSE_FACTOR 3

/* ---------- the set value and its three encodings ---------- */

typedef struct set_value {
    object_encoding encoding; /* ENCODING_INTSET, _LISTPACK or _HASHTABLE */
    void *ptr;
} set_value;

/* One member as the encodings hand it out: integers stay integers (data is
 * NULL) so intset-to-intset work never goes through text. */
typedef struct set_member {
    const char *data;
    size_t len;
    int64_t integer;
} set_member;

static const char *member_text(const set_member *m, char scratch[24], size_t *len)
{
    if (m->data) {
        *len = m->len;
        return m->data;
    }
    *len = number_format_int64(scratch, m->integer);
    return scratch;
}

static set_value set_of(const kv_entry *e)
{
    set_value s = {entry_encoding(e), entry_object(e)};
    return s;
}

/* The set of a key about to change: see keyspace_object_for_update. */
static set_value set_for_update(client *c, kv_entry *e)
{
    set_value s = {entry_encoding(e), keyspace_object_for_update(c->db, e)};
    return s;
}

static set_value set_create_encoded(object_encoding encoding)
{
    set_value s = {encoding, NULL};
    if (encoding == ENCODING_INTSET)
        s.ptr = intset_create();
    else if (encoding == ENCODING_LISTPACK)
        s.ptr = listpack_create();
    else
        s.ptr = member_table_create();
    return s;
}

/* The encoding a new set starts in, judged from its first member and how
 * many members are about to be added (as Redis 7.2's setTypeCreate). */
static set_value set_create(const char *first, size_t len, size_t size_hint)
{
    int64_t value;
    if (size_hint <= (uint64_t)server.config.set_max_intset_entries &&
        number_parse_int64(first, len, &value))
        return set_create_encoded(ENCODING_INTSET);
    if (size_hint <= (uint64_t)server.config.set_max_listpack_entries)
        return set_create_encoded(ENCODING_LISTPACK);
    return set_create_encoded(ENCODING_HASHTABLE);
}

static void set_free(set_value *s)
{
    if (s->encoding == ENCODING_INTSET)
        intset_free(s->ptr);
    else if (s->encoding == ENCODING_LISTPACK)
        listpack_free(s->ptr);
    else
        member_table_free(s->ptr);
    s->ptr = NULL;
}

static size_t set_size(const set_value *s)
{
    if (s->encoding == ENCODING_INTSET)
        return intset_length(s->ptr);
    if (s->encoding == ENCODING_LISTPACK)
        return listpack_length(s->ptr);
    return member_table_size(s->ptr);
}

/* Iteration over any encoding. Only the hashtable needs releasing (its
 * iterator pauses rehashing); the current member may be removed from a
 * hashtable while iterating, but the others must not change. */
typedef struct set_iterator {
    set_value set;
    size_t index; /* intset */
    size_t pos;   /* listpack cursor */
    member_table_iterator table;
} set_iterator;

static void set_iterator_init(set_iterator *it, const set_value *s)
{
    it->set = *s;
    it->index = 0;
    if (s->encoding == ENCODING_LISTPACK)
        it->pos = listpack_first(s->ptr);
    else if (s->encoding == ENCODING_HASHTABLE)
        member_table_iterator_init(&it->table, s->ptr);
}

static int set_iterator_next(set_iterator *it, set_member *m)
{
    if (it->set.encoding == ENCODING_INTSET) {
        if (it->index >= intset_length(it->set.ptr))
            return 0;
        m->data = NULL;
        m->len = 0;
        m->integer = intset_get(it->set.ptr, it->index++);
        return 1;
    }
    if (it->set.encoding == ENCODING_LISTPACK) {
        if (it->pos == LISTPACK_NONE)
            return 0;
        listpack_entry entry;
        listpack_get(it->set.ptr, it->pos, &entry);
        m->data = entry.data;
        m->len = entry.len;
        m->integer = entry.integer;
        it->pos = listpack_next(it->set.ptr, it->pos);
        return 1;
    }
    member *node = member_table_iterator_next(&it->table);
    if (node == NULL)
        return 0;
    m->data = member_bytes(node, &m->len);
    m->integer = 0;
    return 1;
}

static void set_iterator_release(set_iterator *it)
{
    if (it->set.encoding == ENCODING_HASHTABLE)
        member_table_iterator_release(&it->table);
}

/* Rebuilds the set in another encoding (always towards hashtable). */
static void set_convert(set_value *s, object_encoding to)
{
    set_value converted = set_create_encoded(to);
    set_iterator it;
    set_member m;
    char scratch[24];
    set_iterator_init(&it, s);
    while (set_iterator_next(&it, &m)) {
        if (to == ENCODING_LISTPACK) {
            converted.ptr = m.data ? listpack_append(converted.ptr, m.data, m.len)
                                   : listpack_append_integer(converted.ptr, m.integer);
        } else {
            size_t len;
            const char *text = member_text(&m, scratch, &len);
            member_table_add(converted.ptr, text, len);
        }
    }
    set_iterator_release(&it);
    set_free(s);
    *s = converted;
}

static int fits_listpack(size_t count, size_t len)
{
    return count < (uint64_t)server.config.set_max_listpack_entries &&
           len <= (uint64_t)server.config.set_max_listpack_value;
}

/* Adds a member given as text; 1 if it was new. Converts the encoding when a
 * threshold would be crossed, as Redis 7.2 does: an intset that gets a
 * non-integer becomes a listpack if the result still fits one, otherwise a
 * hashtable straight away. */
static int set_add(set_value *s, const char *data, size_t len)
{
    if (s->encoding == ENCODING_INTSET) {
        int64_t value;
        if (number_parse_int64(data, len, &value)) {
            int added;
            s->ptr = intset_add(s->ptr, value, &added);
            if (added && intset_length(s->ptr) > (uint64_t)server.config.set_max_intset_entries)
                set_convert(s, ENCODING_HASHTABLE);
            return added;
        }
        set_convert(s, fits_listpack(intset_length(s->ptr), len) ? ENCODING_LISTPACK
                                                                 : ENCODING_HASHTABLE);
    }
    if (s->encoding == ENCODING_LISTPACK) {
        listpack *lp = s->ptr;
        if (listpack_find(lp, listpack_first(lp), data, len, 0) != LISTPACK_NONE)
            return 0;
        if (fits_listpack(listpack_length(lp), len)) {
            s->ptr = listpack_append(lp, data, len);
            return 1;
        }
        set_convert(s, ENCODING_HASHTABLE);
    }
    return member_table_add(s->ptr, data, len);
}

static int set_add_member(set_value *s, const set_member *m)
{
    if (m->data == NULL && s->encoding == ENCODING_INTSET) {
        int added;
        s->ptr = intset_add(s->ptr, m->integer, &added);
        if (added && intset_length(s->ptr) > (uint64_t)server.config.set_max_intset_entries)
            set_convert(s, ENCODING_HASHTABLE);
        return added;
    }
    char scratch[24];
    size_t len;
    const char *text = member_text(m, scratch, &len);
    return set_add(s, text, len);
}

static int set_remove(set_value *s, const char *data, size_t len)
{
    if (s->encoding == ENCODING_INTSET) {
        int64_t value;
        int removed = 0;
        if (number_parse_int64(data, len, &value))
            s->ptr = intset_remove(s->ptr, value, &removed);
        return removed;
    }
    if (s->encoding == ENCODING_LISTPACK) {
        listpack *lp = s->ptr;
        size_t pos = listpack_find(lp, listpack_first(lp), data, len, 0);
        if (pos == LISTPACK_NONE)
            return 0;
        s->ptr = listpack_delete(lp, pos, 1, NULL);
        return 1;
    }
    return member_table_remove(s->ptr, data, len);
}

static int set_contains(const set_value *s, const char *data, size_t len)
{
    if (s->encoding == ENCODING_INTSET) {
        int64_t value;
        return number_parse_int64(data, len, &value) && intset_contains(s->ptr, value);
    }
    if (s->encoding == ENCODING_LISTPACK) {
        listpack *lp = s->ptr;
        return listpack_find(lp, listpack_first(lp), data, len, 0) != LISTPACK_NONE;
    }
    return member_table_contains(s->ptr, data, len);
}

static int set_contains_member(const set_value *s, const set_member *m)
{
    if (m->data == NULL && s->encoding == ENCODING_INTSET)
        return intset_contains(s->ptr, m->integer);
    char scratch[24];
    size_t len;
    const char *text = member_text(m, scratch, &len);
    return set_contains(s, text, len);
}

/* A member chosen at random; *position identifies it for set_remove_at. The
 * member's bytes stay valid until the set changes. */
typedef struct set_position {
    size_t index; /* intset */
    size_t pos;   /* listpack */
    member *node; /* hashtable */
} set_position;

static void set_random(const set_value *s, set_member *m, set_position *where)
{
    uint64_t random = server_random();
    if (s->encoding == ENCODING_INTSET) {
        where->index = random % intset_length(s->ptr);
        m->data = NULL;
        m->len = 0;
        m->integer = intset_get(s->ptr, where->index);
    } else if (s->encoding == ENCODING_LISTPACK) {
        listpack_entry entry;
        where->pos = listpack_seek(s->ptr, (int64_t)(random % listpack_length(s->ptr)));
        listpack_get(s->ptr, where->pos, &entry);
        m->data = entry.data;
        m->len = entry.len;
        m->integer = entry.integer;
    } else {
        where->node = member_table_random(s->ptr, random);
        m->data = member_bytes(where->node, &m->len);
        m->integer = 0;
    }
}

static void set_remove_at(set_value *s, const set_position *where)
{
    if (s->encoding == ENCODING_INTSET)
        s->ptr = intset_remove_at(s->ptr, where->index);
    else if (s->encoding == ENCODING_LISTPACK)
        s->ptr = listpack_delete(s->ptr, where->pos, 1, NULL);
    else
        member_table_delete(s->ptr, where->node);
}

/* ---------- the type's methods (registered with the keyspace) ---------- */

static void free_set(void *ptr, object_encoding encoding)
{
    set_value s = {encoding, ptr};
    set_free(&s);
}

static size_t set_free_effort(const void *ptr, object_encoding encoding)
{
    return encoding == ENCODING_HASHTABLE ? member_table_size(ptr) : 1;
}

static size_t set_memory_usage(const void *ptr, object_encoding encoding, size_t samples)
{
    if (encoding == ENCODING_INTSET)
        return mem_block_size(ptr);
    if (encoding == ENCODING_LISTPACK)
        return mem_block_size(ptr);
    return member_table_memory((member_table *)ptr, samples);
}

static void *copy_set(const void *ptr, object_encoding encoding)
{
    if (encoding == ENCODING_INTSET)
        return intset_duplicate(ptr);
    if (encoding == ENCODING_LISTPACK)
        return listpack_duplicate(ptr);
    /* Iterating pauses the table's rehash, which writes its counter. */
    return member_table_duplicate((member_table *)ptr);
}

void set_register_type(keyspace *ks)
{
    static const object_methods methods = {.free_value = free_set,
                                           .copy_value = copy_set,
                                           .free_effort = set_free_effort,
                                           .memory_usage = set_memory_usage};
    keyspace_register_type(ks, OBJECT_SET, &methods);
}

/* ---------- small helpers for handlers ---------- */

static void reply_member(client *c, const set_member *m)
{
    if (m->data)
        reply_bulk(&c->reply, m->data, m->len);
    else
        reply_bulk_integer(&c->reply, m->integer);
}

static void reply_all_members(client *c, const set_value *s)
{
    set_iterator it;
    set_member m;
    set_iterator_init(&it, s);
    while (set_iterator_next(&it, &m))
        reply_member(c, &m);
    set_iterator_release(&it);
}

static void signal_set(client *c, const char *key, size_t len, const char *event)
{
    keyspace_signal_modified(c->db, key, len, event, EVENT_SET);
}

/* The write-path lookup with the type check; replies WRONGTYPE. */
static kv_entry *lookup_write_set(client *c, int i, int *wrong_type)
{
    kv_entry *e = keyspace_lookup(c->db, c->argv[i], c->argv_len[i]);
    *wrong_type = e != NULL && entry_type(e) != OBJECT_SET;
    if (*wrong_type) {
        reply_error(&c->reply, ERR_WRONGTYPE);
        return NULL;
    }
    return e;
}

/* Puts a changed value back in its entry, or deletes the key (announcing
 * "del") when the last member went. */
static void store_or_delete(client *c, kv_entry *e, set_value *s, int key_index)
{
    entry_set_object(e, s->encoding, s->ptr);
    if (set_size(s) == 0) {
        keyspace_delete(c->db, c->argv[key_index], c->argv_len[key_index]);
        keyspace_signal_modified(c->db, c->argv[key_index], c->argv_len[key_index], "del",
                                 EVENT_GENERIC);
    }
}

/* ---------- SADD, SREM, SCARD, SISMEMBER, SMISMEMBER, SMEMBERS ---------- */

static void command_sadd(client *c)
{
    int wrong_type;
    kv_entry *e = lookup_write_set(c, 1, &wrong_type);
    if (wrong_type)
        return;
    set_value s =
        e ? set_for_update(c, e) : set_create(c->argv[2], c->argv_len[2], (size_t)c->argc - 2);
    int64_t added = 0;
    for (int i = 2; i < c->argc; i++)
        added += set_add(&s, c->argv[i], c->argv_len[i]);
    if (e)
        entry_set_object(e, s.encoding, s.ptr);
    else
        keyspace_set_object(c->db, c->argv[1], c->argv_len[1], OBJECT_SET, s.encoding, s.ptr, 0);
    if (added)
        signal_set(c, c->argv[1], c->argv_len[1], "sadd");
    reply_integer(&c->reply, added);
}

static void command_srem(client *c)
{
    int wrong_type;
    kv_entry *e = lookup_write_set(c, 1, &wrong_type);
    if (wrong_type)
        return;
    if (e == NULL) {
        reply_integer(&c->reply, 0);
        return;
    }
    set_value s = set_for_update(c, e);
    int64_t removed = 0;
    for (int i = 2; i < c->argc && set_size(&s) > 0; i++)
        removed += set_remove(&s, c->argv[i], c->argv_len[i]);
    if (removed) {
        entry_set_object(e, s.encoding, s.ptr);
        signal_set(c, c->argv[1], c->argv_len[1], "srem");
        store_or_delete(c, e, &s, 1);
    }
    reply_integer(&c->reply, removed);
}

static void command_scard(client *c)
{
    int wrong_type;
    kv_entry *e = lookup_read_typed(c, c->argv[1], c->argv_len[1], OBJECT_SET, &wrong_type);
    if (wrong_type)
        return;
    if (e == NULL) {
        reply_integer(&c->reply, 0);
        return;
    }
    set_value s = set_of(e);
    reply_integer(&c->reply, (int64_t)set_size(&s));
}

static void command_sismember(client *c)
{
    int wrong_type;
    kv_entry *e = lookup_read_typed(c, c->argv[1], c->argv_len[1], OBJECT_SET, &wrong_type);
    if (wrong_type)
        return;
    set_value s = e ? set_of(e) : (set_value){ENCODING_INTSET, NULL};
    reply_integer(&c->reply, e && set_contains(&s, c->argv[2], c->argv_len[2]));
}

static void command_smismember(client *c)
{
    int wrong_type;
    kv_entry *e = lookup_read_typed(c, c->argv[1], c->argv_len[1], OBJECT_SET, &wrong_type);
    if (wrong_type)
        return;
    set_value s = e ? set_of(e) : (set_value){ENCODING_INTSET, NULL};
    reply_array(&c->reply, (size_t)c->argc - 2);
    for (int i = 2; i < c->argc; i++)
        reply_integer(&c->reply, e && set_contains(&s, c->argv[i], c->argv_len[i]));
}

static void command_smembers(client *c)
{
    int wrong_type;
    kv_entry *e = lookup_read_typed(c, c->argv[1], c->argv_len[1], OBJECT_SET, &wrong_type);
    if (wrong_type)
        return;
    if (e == NULL) {
        reply_set(&c->reply, 0);
        return;
    }
    set_value s = set_of(e);
    reply_set(&c->reply, set_size(&s));
    reply_all_members(c, &s);
}

/* ---------- SMOVE ---------- */

static void command_smove(client *c)
{
    kv_entry *source = keyspace_lookup(c->db, c->argv[1], c->argv_len[1]);
    kv_entry *target = keyspace_lookup(c->db, c->argv[2], c->argv_len[2]);
    const char *member_data = c->argv[3];
    size_t member_len = c->argv_len[3];

    if (source == NULL) {
        reply_integer(&c->reply, 0);
        return;
    }
    if (entry_type(source) != OBJECT_SET || (target && entry_type(target) != OBJECT_SET)) {
        reply_error(&c->reply, ERR_WRONGTYPE);
        return;
    }
    set_value from = set_for_update(c, source);
    if (source == target) {
        reply_integer(&c->reply, set_contains(&from, member_data, member_len));
        return;
    }
    if (!set_remove(&from, member_data, member_len)) {
        reply_integer(&c->reply, 0);
        return;
    }
    entry_set_object(source, from.encoding, from.ptr);
    signal_set(c, c->argv[1], c->argv_len[1], "srem");
    /* The target entry does not move: only changes to a key's own entry
     * reallocate it. */
    store_or_delete(c, source, &from, 1);

    int added;
    if (target) {
        set_value to = set_for_update(c, target);
        added = set_add(&to, member_data, member_len);
        entry_set_object(target, to.encoding, to.ptr);
    } else {
        set_value to = set_create(member_data, member_len, 1);
        added = set_add(&to, member_data, member_len);
        keyspace_set_object(c->db, c->argv[2], c->argv_len[2], OBJECT_SET, to.encoding, to.ptr, 0);
    }
    if (added)
        signal_set(c, c->argv[2], c->argv_len[2], "sadd");
    reply_integer(&c->reply, 1);
}

/* ---------- SPOP, SRANDMEMBER ---------- */

static void command_spop_count(client *c)
{
    int64_t count;
    if (!number_parse_int64(c->argv[2], c->argv_len[2], &count) || count < 0) {
        reply_error(&c->reply, ERR_SPOP_COUNT);
        return;
    }
    int wrong_type;
    kv_entry *e = lookup_write_set(c, 1, &wrong_type);
    if (wrong_type)
        return;
    if (e == NULL || count == 0) {
        reply_set(&c->reply, 0);
        return;
    }
    set_value s = set_for_update(c, e);
    size_t size = set_size(&s);

    /* Everything goes: reply with the whole set and drop the key. */
    if ((uint64_t)count >= size) {
        reply_set(&c->reply, size);
        reply_all_members(c, &s);
        keyspace_delete(c->db, c->argv[1], c->argv_len[1]);
        keyspace_signal_modified(c->db, c->argv[1], c->argv_len[1], "del", EVENT_GENERIC);
        return;
    }

    size_t remaining = size - (size_t)count;
    set_member m;
    set_position where;
    reply_set(&c->reply, (size_t)count);
    if (remaining * SPOP_MOVE_FACTOR > (uint64_t)count) {
        /* Few members asked for: pop them one at a time. */
        for (int64_t i = 0; i < count; i++) {
            set_random(&s, &m, &where);
            reply_member(c, &m);
            set_remove_at(&s, &where);
        }
    } else {
        /* Most of the set is asked for: move the few members that stay into
         * a fresh set of the same encoding and hand out the rest. */
        set_value kept = set_create_encoded(s.encoding);
        for (size_t i = 0; i < remaining; i++) {
            set_random(&s, &m, &where);
            set_add_member(&kept, &m);
            set_remove_at(&s, &where);
        }
        reply_all_members(c, &s);
        set_free(&s);
        s = kept;
    }
    entry_set_object(e, s.encoding, s.ptr);
    signal_set(c, c->argv[1], c->argv_len[1], "spop");
}

static void command_spop(client *c)
{
    if (c->argc == 3) {
        command_spop_count(c);
        return;
    }
    if (c->argc > 3) {
        reply_error(&c->reply, ERR_SYNTAX);
        return;
    }
    int wrong_type;
    kv_entry *e = lookup_write_set(c, 1, &wrong_type);
    if (wrong_type)
        return;
    if (e == NULL) {
        reply_null(&c->reply);
        return;
    }
    set_value s = set_for_update(c, e);
    set_member m;
    set_position where;
    set_random(&s, &m, &where);
    reply_member(c, &m);
    set_remove_at(&s, &where);
    entry_set_object(e, s.encoding, s.ptr);
    signal_set(c, c->argv[1], c->argv_len[1], "spop");
    store_or_delete(c, e, &s, 1);
}

/* Collects every member of a set (pointing into the set: valid while it
 * does not change). */
static set_member *set_members_array(const set_value *s, size_t size)
{
    set_member *all = mem_alloc(sizeof(set_member) * (size ? size : 1));
    set_iterator it;
    size_t n = 0;
    set_iterator_init(&it, s);
    while (n < size && set_iterator_next(&it, &all[n]))
        n++;
    set_iterator_release(&it);
    return all;
}

/* Distinct random members of a large hashtable set: random picks with the
 * repeats rejected through a small open-addressing set of member pointers
 * (no allocation per member). */
static void reply_sparse_random(client *c, const set_value *s, size_t count)
{
    size_t slots = 16;
    while (slots < count * 2)
        slots *= 2;
    const member **seen = mem_calloc(sizeof(*seen) * slots);
    size_t found = 0;
    while (found < count) {
        member *node = member_table_random(s->ptr, server_random());
        uint64_t mixed = (uint64_t)(uintptr_t)node * 0x9e3779b97f4a7c15ULL;
        size_t i = (size_t)(mixed >> 32) & (slots - 1);
        while (seen[i] && seen[i] != node)
            i = (i + 1) & (slots - 1);
        if (seen[i])
            continue;
        seen[i] = node;
        found++;
        size_t len;
        const char *data = member_bytes(node, &len);
        reply_bulk(&c->reply, data, len);
    }
    mem_free(seen);
}

static void command_srandmember_count(client *c)
{
    int64_t count;
    if (!argument_int64(c, 2, &count))
        return;
    if (count == INT64_MIN) {
        reply_error(&c->reply, ERR_RANDOM_RANGE);
        return;
    }
    int wrong_type;
    kv_entry *e = lookup_read_typed(c, c->argv[1], c->argv_len[1], OBJECT_SET, &wrong_type);
    if (wrong_type)
        return;
    if (e == NULL || count == 0) {
        reply_empty_array(&c->reply);
        return;
    }
    set_value s = set_of(e);
    size_t size = set_size(&s);
    set_member m;
    set_position where;

    /* A negative count allows repeats: independent picks. */
    if (count < 0) {
        uint64_t n = (uint64_t)-count;
        reply_array(&c->reply, n);
        if (s.encoding == ENCODING_LISTPACK) {
            /* Seeking in a listpack is linear: index the members once. */
            set_member *all = set_members_array(&s, size);
            for (uint64_t i = 0; i < n; i++)
                reply_member(c, &all[server_random() % size]);
            mem_free(all);
        } else {
            for (uint64_t i = 0; i < n; i++) {
                set_random(&s, &m, &where);
                reply_member(c, &m);
            }
        }
        return;
    }
    if ((uint64_t)count >= size) {
        reply_array(&c->reply, size);
        reply_all_members(c, &s);
        return;
    }
    reply_array(&c->reply, (size_t)count);
    if (s.encoding == ENCODING_HASHTABLE && (uint64_t)count * SRANDMEMBER_SPARSE_FACTOR <= size) {
        reply_sparse_random(c, &s, (size_t)count);
        return;
    }
    /* A partial Fisher-Yates shuffle of all members: the first count
     * positions end up a uniform random choice. */
    set_member *all = set_members_array(&s, size);
    for (size_t i = 0; i < (size_t)count; i++) {
        size_t j = i + (size_t)(server_random() % (size - i));
        set_member picked = all[j];
        all[j] = all[i];
        all[i] = picked;
        reply_member(c, &picked);
    }
    mem_free(all);
}

static void command_srandmember(client *c)
{
    if (c->argc == 3) {
        command_srandmember_count(c);
        return;
    }
    if (c->argc > 3) {
        reply_error(&c->reply, ERR_SYNTAX);
        return;
    }
    int wrong_type;
    kv_entry *e = lookup_read_typed(c, c->argv[1], c->argv_len[1], OBJECT_SET, &wrong_type);
    if (wrong_type)
        return;
    if (e == NULL) {
        reply_null(&c->reply);
        return;
    }
    set_value s = set_of(e);
    set_member m;
    set_position where;
    set_random(&s, &m, &where);
    reply_member(c, &m);
}

/* ---------- SINTER, SINTERCARD, SINTERSTORE ---------- */

/* The sets named by argv[first .. first+count). A missing key is an empty
 * set (ptr NULL). Replies WRONGTYPE and returns NULL if any key holds
 * another type; that check covers every key before anything else, so a
 * wrong type wins over an empty input. */
static set_value *lookup_sets(client *c, int first, int count, int for_write)
{
    set_value *sets = mem_alloc(sizeof(set_value) * (size_t)count);
    for (int i = 0; i < count; i++) {
        const char *key = c->argv[first + i];
        size_t len = c->argv_len[first + i];
        kv_entry *e;
        int wrong_type;
        if (for_write)
            e = lookup_write_set(c, first + i, &wrong_type);
        else
            e = lookup_read_typed(c, key, len, OBJECT_SET, &wrong_type);
        if (wrong_type) {
            mem_free(sets);
            return NULL;
        }
        sets[i] = e ? set_of(e) : (set_value){ENCODING_INTSET, NULL};
    }
    return sets;
}

static int compare_set_size(const void *a, const void *b)
{
    size_t x = set_size(a), y = set_size(b);
    return x < y ? -1 : x > y;
}

/* Installs a computed result under the destination key (argv[1]) with the
 * STORE commands' reply and events; an empty result deletes the key. */
static void store_result(client *c, set_value *result, const char *event)
{
    const char *key = c->argv[1];
    size_t len = c->argv_len[1];
    size_t size = set_size(result);
    if (size > 0) {
        keyspace_set_object(c->db, key, len, OBJECT_SET, result->encoding, result->ptr, 0);
        signal_set(c, key, len, event);
    } else {
        set_free(result);
        if (delete_replaced_key(c->db, key, len))
            keyspace_signal_modified(c->db, key, len, "del", EVENT_GENERIC);
    }
    reply_integer(&c->reply, (int64_t)size);
}

enum intersect_mode { INTERSECT_REPLY, INTERSECT_CARD, INTERSECT_STORE };

/* The intersection of argv[first .. first+count): walks the smallest set and
 * keeps the members every other set has, so the work is O(N*M) for N the
 * smallest size and M the number of sets. */
static void intersect(client *c, int first, int count, enum intersect_mode mode, int64_t limit)
{
    set_value *sets = lookup_sets(c, first, count, mode == INTERSECT_STORE);
    if (sets == NULL)
        return;
    int empty = 0;
    for (int i = 0; i < count; i++)
        empty |= sets[i].ptr == NULL;

    set_value result = {ENCODING_INTSET, NULL};
    size_t found = 0, handle = 0;
    if (mode == INTERSECT_STORE)
        result = set_create_encoded(ENCODING_INTSET);
    else if (mode == INTERSECT_REPLY)
        handle = reply_defer(&c->reply);

    if (!empty) {
        qsort(sets, (size_t)count, sizeof(set_value), compare_set_size);
        set_iterator it;
        set_member m;
        set_iterator_init(&it, &sets[0]);
        while (set_iterator_next(&it, &m)) {
            int everywhere = 1;
            for (int j = 1; j < count && everywhere; j++)
                if (sets[j].ptr != sets[0].ptr)
                    everywhere = set_contains_member(&sets[j], &m);
            if (!everywhere)
                continue;
            found++;
            if (mode == INTERSECT_REPLY)
                reply_member(c, &m);
            else if (mode == INTERSECT_STORE)
                set_add_member(&result, &m);
            else if (limit > 0 && found >= (uint64_t)limit)
                break;
        }
        set_iterator_release(&it);
    }
    mem_free(sets);

    if (mode == INTERSECT_REPLY)
        reply_defer_set(&c->reply, handle, found);
    else if (mode == INTERSECT_CARD)
        reply_integer(&c->reply, (int64_t)found);
    else
        store_result(c, &result, "sinterstore");
}

static void command_sinter(client *c)
{
    intersect(c, 1, c->argc - 1, INTERSECT_REPLY, 0);
}

static void command_sinterstore(client *c)
{
    intersect(c, 2, c->argc - 2, INTERSECT_STORE, 0);
}

/* SINTERCARD numkeys key [key ...] [LIMIT limit]: every argument is checked
 * before any key is looked at, so a syntax error wins over WRONGTYPE. */
static void command_sintercard(client *c)
{
    int64_t numkeys, limit = 0;
    if (!number_parse_int64(c->argv[1], c->argv_len[1], &numkeys) || numkeys < 1) {
        reply_error(&c->reply, ERR_NUMKEYS);
        return;
    }
    if (numkeys > c->argc - 2) {
        reply_error(&c->reply, ERR_NUMKEYS_ARGS);
        return;
    }
    for (int i = 2 + (int)numkeys; i < c->argc; i++) {
        if (argument_is(c, i, "limit") && i + 1 < c->argc) {
            i++;
            if (!number_parse_int64(c->argv[i], c->argv_len[i], &limit) || limit < 0) {
                reply_error(&c->reply, ERR_LIMIT_NEGATIVE);
                return;
            }
        } else {
            reply_error(&c->reply, ERR_SYNTAX);
            return;
        }
    }
    intersect(c, 2, (int)numkeys, INTERSECT_CARD, limit);
}

/* ---------- SUNION, SDIFF and their STORE forms ---------- */

enum set_operation { OPERATION_UNION, OPERATION_DIFF };

/* Adds every member of src to result (or removes it, for remove != 0). */
static void merge_into(set_value *result, const set_value *src, int remove)
{
    set_iterator it;
    set_member m;
    char scratch[24];
    set_iterator_init(&it, src);
    while (set_iterator_next(&it, &m)) {
        if (!remove) {
            set_add_member(result, &m);
        } else {
            size_t len;
            const char *text = member_text(&m, scratch, &len);
            if (set_remove(result, text, len) && set_size(result) == 0)
                break;
        }
    }
    set_iterator_release(&it);
}

/* The difference first - (every other set). Two ways, picked by estimated
 * work as Redis does: test each member of the first set against the others
 * (N*M for N = first size, M = sets), or copy the first set and remove every
 * member of the others (the total of all sizes). */
static void difference_into(set_value *result, set_value *sets, int count)
{
    if (sets[0].ptr == NULL)
        return;
    uint64_t test_work = 0, remove_work = 0;
    for (int i = 0; i < count; i++) {
        if (sets[i].ptr == NULL)
            continue;
        test_work += set_size(&sets[0]);
        remove_work += set_size(&sets[i]);
    }
    if (test_work / 2 <= remove_work) {
        set_iterator it;
        set_member m;
        set_iterator_init(&it, &sets[0]);
        while (set_iterator_next(&it, &m)) {
            int elsewhere = 0;
            for (int j = 1; j < count && !elsewhere; j++)
                elsewhere = sets[j].ptr != NULL && set_contains_member(&sets[j], &m);
            if (!elsewhere)
                set_add_member(result, &m);
        }
        set_iterator_release(&it);
        return;
    }
    merge_into(result, &sets[0], 0);
    for (int j = 1; j < count && set_size(result) > 0; j++)
        if (sets[j].ptr != NULL)
            merge_into(result, &sets[j], 1);
}

static void union_or_difference(client *c, int first, int count, int store,
                                enum set_operation operation)
{
    set_value *sets = lookup_sets(c, first, count, store);
    if (sets == NULL)
        return;
    /* The result starts as an empty intset and converts as members arrive,
     * exactly like a key built by SADD. */
    set_value result = set_create_encoded(ENCODING_INTSET);
    if (operation == OPERATION_UNION) {
        for (int i = 0; i < count; i++)
            if (sets[i].ptr != NULL)
                merge_into(&result, &sets[i], 0);
    } else {
        difference_into(&result, sets, count);
    }
    mem_free(sets);

    if (store) {
        store_result(c, &result, operation == OPERATION_UNION ? "sunionstore" : "sdiffstore");
        return;
    }
    reply_set(&c->reply, set_size(&result));
    reply_all_members(c, &result);
    set_free(&result);
}

static void command_sunion(client *c)
{
    union_or_difference(c, 1, c->argc - 1, 0, OPERATION_UNION);
}

static void command_sunionstore(client *c)
{
    union_or_difference(c, 2, c->argc - 2, 1, OPERATION_UNION);
}

static void command_sdiff(client *c)
{
    union_or_difference(c, 1, c->argc - 1, 0, OPERATION_DIFF);
}

static void command_sdiffstore(client *c)
{
    union_or_difference(c, 2, c->argc - 2, 1, OPERATION_DIFF);
}

/* ---------- SSCAN ---------- */

/* Members a table walk collected, kept until the walk ends (the visit
 * callback may not touch the reply's deferred length). */
typedef struct scan_batch {
    const member **members;
    size_t count, capacity;
} scan_batch;

static void scan_collect(void *ctx, const member *m)
{
    scan_batch *batch = ctx;
    if (batch->count == batch->capacity) {
        batch->capacity = batch->capacity ? batch->capacity * 2 : 16;
        batch->members = mem_realloc(batch->members, sizeof(*batch->members) * batch->capacity);
    }
    batch->members[batch->count++] = m;
}

/* SSCAN key cursor [MATCH pattern] [COUNT count]. A compact set is returned
 * whole in one call with cursor 0, as Redis does: it is small by definition. */
static void command_sscan(client *c)
{
    uint64_t cursor;
    if (!number_parse_cursor(c->argv[2], c->argv_len[2], &cursor)) {
        reply_error(&c->reply, ERR_INVALID_CURSOR);
        return;
    }
    int wrong_type;
    kv_entry *e = lookup_read_typed(c, c->argv[1], c->argv_len[1], OBJECT_SET, &wrong_type);
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

    set_value s = set_of(e);
    char digits[24];
    reply_array(&c->reply, 2);
    if (s.encoding != ENCODING_HASHTABLE) {
        reply_bulk(&c->reply, "0", 1);
        size_t handle = reply_defer(&c->reply), kept = 0;
        set_iterator it;
        set_member m;
        set_iterator_init(&it, &s);
        while (set_iterator_next(&it, &m)) {
            size_t len;
            const char *text = member_text(&m, digits, &len);
            if (pattern && !glob_match(pattern, pattern_len, text, len, 0))
                continue;
            reply_bulk(&c->reply, text, len);
            kept++;
        }
        set_iterator_release(&it);
        reply_defer_array(&c->reply, handle, kept);
        return;
    }

    /* Walk cursor positions until about COUNT members are in hand, at most
     * ten positions per member asked for, so a sparse table cannot make one
     * call walk all of it. */
    scan_batch batch = {NULL, 0, 0};
    int64_t budget = count > INT64_MAX / 10 ? INT64_MAX : count * 10;
    do {
        cursor = member_table_scan(s.ptr, cursor, scan_collect, &batch);
    } while (cursor != 0 && budget-- > 0 && batch.count < (uint64_t)count);

    int digits_len = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)cursor);
    reply_bulk(&c->reply, digits, (size_t)digits_len);
    size_t handle = reply_defer(&c->reply), kept = 0;
    for (size_t i = 0; i < batch.count; i++) {
        size_t len;
        const char *data = member_bytes(batch.members[i], &len);
        if (pattern && !glob_match(pattern, pattern_len, data, len, 0))
            continue;
        reply_bulk(&c->reply, data, len);
        kept++;
    }
    reply_defer_array(&c->reply, handle, kept);
    mem_free(batch.members);
}

/* ---------- the table rows ---------- */

#define C_SET   ACL_SET
#define KEY_POP (KEY_RW | KEY_ACCESS | KEY_DELETE)

const command set_command_rows[] = {
    ROW("sadd", -3, W | DOOM | FAST, C_W | C_SET | C_FAST, 1, 1, 1, KEY_WRITE_INSERT, command_sadd,
        "set", "1.0.0",
        "O(1) for each element added, so O(N) to add N elements when the command is called with "
        "multiple arguments.",
        "Add one or more members to a set"),
    ROW("scard", 2, R | FAST, C_R | C_SET | C_FAST, 1, 1, 1, KEY_RO, command_scard, "set", "1.0.0",
        "O(1)", "Get the number of members in a set"),
    ROW("sdiff", -2, R, C_R | C_SET | C_SLOW, 1, -1, 1, KEY_READ, command_sdiff, "set", "1.0.0",
        "O(N) where N is the total number of elements in all given sets.",
        "Subtract multiple sets"),
    ROW("sdiffstore", -3, W | DOOM, C_W | C_SET | C_SLOW, 1, -1, 1, KEY_OW | KEY_UPDATE,
        command_sdiffstore, "set", "1.0.0",
        "O(N) where N is the total number of elements in all given sets.",
        "Subtract multiple sets and store the resulting set in a key"),
    ROW("sinter", -2, R, C_R | C_SET | C_SLOW, 1, -1, 1, KEY_READ, command_sinter, "set", "1.0.0",
        "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of "
        "sets.",
        "Intersect multiple sets"),
    {.name = "sintercard",
     .arity = -3,
     .flags = R,
     .categories = C_R | C_SET | C_SLOW,
     .first_key = 0,
     .last_key = 0,
     .key_step = 1,
     .key_numkeys_index = 1,
     .key_flags = KEY_READ,
     .handler = command_sintercard,
     .group = "set",
     .since = "7.0.0",
     .complexity = "O(N*M) worst case where N is the cardinality of the smallest set and M is the "
                   "number of sets.",
     .summary = "Intersect multiple sets and return the cardinality of the result"},
    ROW("sinterstore", -3, W | DOOM, C_W | C_SET | C_SLOW, 1, -1, 1, KEY_RW | KEY_UPDATE,
        command_sinterstore, "set", "1.0.0",
        "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of "
        "sets.",
        "Intersect multiple sets and store the resulting set in a key"),
    ROW("sismember", 3, R | FAST, C_R | C_SET | C_FAST, 1, 1, 1, KEY_RO, command_sismember, "set",
        "1.0.0", "O(1)", "Determine if a given value is a member of a set"),
    ROW("smembers", 2, R, C_R | C_SET | C_SLOW, 1, 1, 1, KEY_READ, command_smembers, "set", "1.0.0",
        "O(N) where N is the set cardinality.", "Get all the members in a set"),
    ROW("smismember", -3, R | FAST, C_R | C_SET | C_FAST, 1, 1, 1, KEY_READ, command_smismember,
        "set", "6.2.0", "O(N) where N is the number of elements being checked for membership",
        "Returns the membership associated with the given elements for a set"),
    ROW("smove", 4, W | FAST, C_W | C_SET | C_FAST, 1, 2, 1, KEY_POP, command_smove, "set", "1.0.0",
        "O(1)", "Move a member from one set to another"),
    ROW("spop", -2, W | FAST, C_W | C_SET | C_FAST, 1, 1, 1, KEY_POP, command_spop, "set", "1.0.0",
        "Without the count argument O(1), otherwise O(N) where N is the value of the passed count.",
        "Remove and return one or multiple random members from a set"),
    ROW("srandmember", -2, R, C_R | C_SET | C_SLOW, 1, 1, 1, KEY_READ, command_srandmember, "set",
        "1.0.0",
        "Without the count argument O(1), otherwise O(N) where N is the absolute value of the "
        "passed count.",
        "Get one or multiple random members from a set"),
    ROW("srem", -3, W | FAST, C_W | C_SET | C_FAST, 1, 1, 1, KEY_RW | KEY_DELETE, command_srem,
        "set", "1.0.0", "O(N) where N is the number of members to be removed.",
        "Remove one or more members from a set"),
    ROW("sscan", -3, R, C_R | C_SET | C_SLOW, 1, 1, 1, KEY_READ, command_sscan, "set", "2.8.0",
        "O(1) for every call. O(N) for a complete iteration, including enough command calls for "
        "the cursor to return back to 0. N is the number of elements inside the collection..",
        "Incrementally iterate Set elements"),
    ROW("sunion", -2, R, C_R | C_SET | C_SLOW, 1, -1, 1, KEY_READ, command_sunion, "set", "1.0.0",
        "O(N) where N is the total number of elements in all given sets.", "Add multiple sets"),
    ROW("sunionstore", -3, W | DOOM, C_W | C_SET | C_SLOW, 1, -1, 1, KEY_OW | KEY_UPDATE,
        command_sunionstore, "set", "1.0.0",
        "O(N) where N is the total number of elements in all given sets.",
        "Add multiple sets and store the resulting set in a key"),
    {0}};
