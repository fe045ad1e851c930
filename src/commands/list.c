/* The list commands: pushes and pops at both ends, index and range access,
 * search (LPOS, LINSERT, LREM), trimming, and moves between lists.
 *
 * Every list is a quicklist (ENCODING_QUICKLIST), which is also what Redis
 * 7.0 reports for lists of any size. The hot paths allocate nothing of their
 * own: pushes hand the argument bytes to the node's listpack, pops reply
 * straight from the listpack before removing the entry, and LRANGE streams
 * entries from an iterator on the stack into the reply.
 *
 * The order in which arguments are parsed and keys looked up follows Redis,
 * because clients observe which error wins when several apply. */
#include <string.h>

#include "handlers.h"
#include "rivet/blocking.h"
#include "rivet/memory.h"
#include "rivet/number.h"
#include "rivet/quicklist.h"
#include "rivet/server.h"

#include "table.h"

#define ERR_COUNT_POSITIVE "ERR value is out of range, must be positive"
#define ERR_INDEX_RANGE    "ERR index out of range"
#define ERR_RANK_ZERO                                                                              \
    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use "   \
    "negative to start from the end of the list"
#define ERR_LPOS_COUNT  "ERR COUNT can't be negative"
#define ERR_LPOS_MAXLEN "ERR MAXLEN can't be negative"
#define ERR_NUMKEYS     "ERR numkeys should be greater than 0"
#define ERR_MPOP_COUNT  "ERR count should be greater than 0"

/* ---------- helpers ---------- */

static void signal_list(client *c, const char *key, size_t len, const char *event)
{
    keyspace_signal_modified(c->db, key, len, event, EVENT_LIST);
}

static const char *pop_event(enum quicklist_end where)
{
    return where == QUICKLIST_HEAD ? "lpop" : "rpop";
}

static const char *push_event(enum quicklist_end where)
{
    return where == QUICKLIST_HEAD ? "lpush" : "rpush";
}

/* Parses LEFT / RIGHT; 0 when argv[i] is neither. */
static int parse_end(const client *c, int i, enum quicklist_end *where)
{
    if (argument_is(c, i, "left"))
        *where = QUICKLIST_HEAD;
    else if (argument_is(c, i, "right"))
        *where = QUICKLIST_TAIL;
    else
        return 0;
    return 1;
}

/* Write-path lookup of argv[i] expecting a list. Returns NULL when the key is
 * missing or (after replying WRONGTYPE, *wrong_type set) of another type. */
static kv_entry *lookup_write_list(client *c, int i, int *wrong_type)
{
    kv_entry *e = keyspace_lookup(c->db, c->argv[i], c->argv_len[i]);
    *wrong_type = 0;
    if (e && entry_type(e) != OBJECT_LIST) {
        reply_error(&c->reply, ERR_WRONGTYPE);
        *wrong_type = 1;
        return NULL;
    }
    return e;
}

static quicklist *list_create_key(client *c, const char *key, size_t len)
{
    quicklist *ql = quicklist_create(server.config.list_max_listpack_size);
    keyspace_set_object(c->db, key, len, OBJECT_LIST, ENCODING_QUICKLIST, ql, 0);
    return ql;
}

static void reply_list_entry(client *c, const listpack_entry *entry)
{
    if (entry->data)
        reply_bulk(&c->reply, entry->data, entry->len);
    else
        reply_bulk_integer(&c->reply, entry->integer);
}

/* Deletes the key once its last element is gone, announcing "del". */
static void delete_if_empty(client *c, quicklist *ql, const char *key, size_t len)
{
    if (quicklist_count(ql) > 0)
        return;
    keyspace_delete(c->db, key, len);
    signal_list(c, key, len, "del");
}

/* A value searched for in a list. Listpacks store canonical integers as
 * integers, so an integer entry can only equal a needle whose bytes are the
 * canonical rendering of the same number. */
typedef struct needle {
    const char *data;
    size_t len;
    int is_integer;
    int64_t integer;
} needle;

static void needle_init(needle *n, const char *data, size_t len)
{
    char text[24];
    n->data = data;
    n->len = len;
    n->is_integer = number_parse_int64(data, len, &n->integer) &&
                    number_format_int64(text, n->integer) == len && memcmp(text, data, len) == 0;
}

static int needle_matches(const needle *n, const listpack_entry *entry)
{
    if (!entry->data)
        return n->is_integer && n->integer == entry->integer;
    return entry->len == n->len && memcmp(entry->data, n->data, n->len) == 0;
}

/* ---------- pushes ---------- */

static void push_generic(client *c, enum quicklist_end where, int only_existing)
{
    const char *key = c->argv[1];
    size_t key_len = c->argv_len[1];
    int wrong_type;
    kv_entry *e = lookup_write_list(c, 1, &wrong_type);
    if (wrong_type)
        return;
    quicklist *ql;
    if (e) {
        ql = entry_object(e);
    } else if (only_existing) {
        reply_integer(&c->reply, 0);
        return;
    } else {
        ql = list_create_key(c, key, key_len);
    }
    for (int i = 2; i < c->argc; i++)
        quicklist_push(ql, where, c->argv[i], c->argv_len[i]);
    reply_integer(&c->reply, (int64_t)quicklist_count(ql));
    signal_list(c, key, key_len, push_event(where));
}

static void command_lpush(client *c)
{
    push_generic(c, QUICKLIST_HEAD, 0);
}

static void command_rpush(client *c)
{
    push_generic(c, QUICKLIST_TAIL, 0);
}

static void command_lpushx(client *c)
{
    push_generic(c, QUICKLIST_HEAD, 1);
}

static void command_rpushx(client *c)
{
    push_generic(c, QUICKLIST_TAIL, 1);
}

/* ---------- pops ---------- */

/* Replies with up to count entries popped from one end, as an array. */
static void pop_into_reply(client *c, quicklist *ql, enum quicklist_end where, uint64_t count)
{
    uint64_t length = quicklist_count(ql);
    if (count > length)
        count = length;
    reply_array(&c->reply, (size_t)count);
    listpack_entry entry;
    for (uint64_t i = 0; i < count; i++) {
        quicklist_peek(ql, where, &entry);
        reply_list_entry(c, &entry);
        quicklist_pop(ql, where);
    }
}

static void pop_generic(client *c, enum quicklist_end where)
{
    const char *key = c->argv[1];
    size_t key_len = c->argv_len[1];
    int64_t count = 0;
    int has_count = c->argc == 3;
    if (c->argc > 3) {
        reply_errorf(&c->reply, "ERR wrong number of arguments for '%s' command",
                     c->command ? c->command->name : (where == QUICKLIST_HEAD ? "lpop" : "rpop"));
        return;
    }
    if (has_count && (!number_parse_int64(c->argv[2], c->argv_len[2], &count) || count < 0)) {
        reply_error(&c->reply, ERR_COUNT_POSITIVE);
        return;
    }
    int wrong_type;
    kv_entry *e = lookup_write_list(c, 1, &wrong_type);
    if (wrong_type)
        return;
    if (!e) {
        if (has_count)
            reply_null_array(&c->reply);
        else
            reply_null(&c->reply);
        return;
    }
    quicklist *ql = entry_object(e);
    if (has_count && count == 0) {
        reply_empty_array(&c->reply);
        return;
    }
    if (has_count) {
        pop_into_reply(c, ql, where, (uint64_t)count);
    } else {
        listpack_entry entry;
        quicklist_peek(ql, where, &entry);
        reply_list_entry(c, &entry);
        quicklist_pop(ql, where);
    }
    signal_list(c, key, key_len, pop_event(where));
    delete_if_empty(c, ql, key, key_len);
}

static void command_lpop(client *c)
{
    pop_generic(c, QUICKLIST_HEAD);
}

static void command_rpop(client *c)
{
    pop_generic(c, QUICKLIST_TAIL);
}

/* [B]LMPOP's arguments from argv[first] on: numkeys key [key ...]
 * LEFT|RIGHT [COUNT count]. Returns 0 after replying an error, 1 after
 * serving a pop, and -1 when every key is missing (nothing written). */
static int mpop_generic(client *c, int first)
{
    int64_t numkeys;
    if (!number_parse_int64(c->argv[first], c->argv_len[first], &numkeys) || numkeys < 1) {
        reply_error(&c->reply, ERR_NUMKEYS);
        return 0;
    }
    if (numkeys > c->argc - first - 2) {
        reply_error(&c->reply, ERR_SYNTAX);
        return 0;
    }
    int where_index = first + 1 + (int)numkeys;
    enum quicklist_end where;
    if (!parse_end(c, where_index, &where)) {
        reply_error(&c->reply, ERR_SYNTAX);
        return 0;
    }
    int64_t count = -1;
    for (int i = where_index + 1; i < c->argc; i++) {
        if (count == -1 && argument_is(c, i, "count") && i + 1 < c->argc) {
            i++;
            if (!number_parse_int64(c->argv[i], c->argv_len[i], &count) || count < 1) {
                reply_error(&c->reply, ERR_MPOP_COUNT);
                return 0;
            }
            continue;
        }
        reply_error(&c->reply, ERR_SYNTAX);
        return 0;
    }
    if (count == -1)
        count = 1;

    for (int i = first + 1; i < where_index; i++) {
        int wrong_type;
        kv_entry *e = lookup_write_list(c, i, &wrong_type);
        if (wrong_type)
            return 0;
        if (!e)
            continue;
        quicklist *ql = entry_object(e);
        reply_array(&c->reply, 2);
        reply_bulk(&c->reply, c->argv[i], c->argv_len[i]);
        pop_into_reply(c, ql, where, (uint64_t)count);
        signal_list(c, c->argv[i], c->argv_len[i], pop_event(where));
        delete_if_empty(c, ql, c->argv[i], c->argv_len[i]);
        return 1;
    }
    return -1;
}

/* LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count] */
static void command_lmpop(client *c)
{
    if (mpop_generic(c, 1) < 0)
        reply_null_array(&c->reply);
}

/* ---------- reads ---------- */

static void command_llen(client *c)
{
    int wrong_type;
    kv_entry *e = lookup_read_typed(c, c->argv[1], c->argv_len[1], OBJECT_LIST, &wrong_type);
    if (wrong_type)
        return;
    reply_integer(&c->reply, e ? (int64_t)quicklist_count(entry_object(e)) : 0);
}

static void command_lrange(client *c)
{
    int64_t start, end;
    if (!argument_int64(c, 2, &start) || !argument_int64(c, 3, &end))
        return;
    int wrong_type;
    kv_entry *e = lookup_read_typed(c, c->argv[1], c->argv_len[1], OBJECT_LIST, &wrong_type);
    if (wrong_type)
        return;
    if (!e) {
        reply_empty_array(&c->reply);
        return;
    }
    quicklist *ql = entry_object(e);
    int64_t length = (int64_t)quicklist_count(ql);
    if (start < 0)
        start += length;
    if (end < 0)
        end += length;
    if (start < 0)
        start = 0;
    if (start > end || start >= length) {
        reply_empty_array(&c->reply);
        return;
    }
    if (end >= length)
        end = length - 1;
    int64_t range = end - start + 1;
    reply_array(&c->reply, (size_t)range);
    quicklist_iterator it;
    listpack_entry entry;
    quicklist_iterator_start(&it, ql, start, 1);
    while (range-- > 0 && quicklist_iterator_next(&it, &entry))
        reply_list_entry(c, &entry);
}

static void command_lindex(client *c)
{
    int wrong_type;
    kv_entry *e = lookup_read_typed(c, c->argv[1], c->argv_len[1], OBJECT_LIST, &wrong_type);
    if (wrong_type)
        return;
    if (!e) {
        reply_null(&c->reply);
        return;
    }
    int64_t index;
    if (!argument_int64(c, 2, &index))
        return;
    listpack_entry entry;
    if (quicklist_index(entry_object(e), index, &entry))
        reply_list_entry(c, &entry);
    else
        reply_null(&c->reply);
}

/* LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len] */
static void command_lpos(client *c)
{
    int64_t rank = 1, count = -1, maxlen = 0;
    for (int i = 3; i < c->argc; i++) {
        int has_value = i + 1 < c->argc;
        if (has_value && argument_is(c, i, "rank")) {
            if (!argument_int64(c, ++i, &rank))
                return;
            if (rank == 0) {
                reply_error(&c->reply, ERR_RANK_ZERO);
                return;
            }
        } else if (has_value && argument_is(c, i, "count")) {
            if (!argument_int64_or(c, ++i, &count, ERR_LPOS_COUNT))
                return;
            if (count < 0) {
                reply_error(&c->reply, ERR_LPOS_COUNT);
                return;
            }
        } else if (has_value && argument_is(c, i, "maxlen")) {
            if (!argument_int64_or(c, ++i, &maxlen, ERR_LPOS_MAXLEN))
                return;
            if (maxlen < 0) {
                reply_error(&c->reply, ERR_LPOS_MAXLEN);
                return;
            }
        } else {
            reply_error(&c->reply, ERR_SYNTAX);
            return;
        }
    }
    int has_count = count >= 0;
    int wrong_type;
    kv_entry *e = lookup_read_typed(c, c->argv[1], c->argv_len[1], OBJECT_LIST, &wrong_type);
    if (wrong_type)
        return;
    if (!e) {
        if (has_count)
            reply_empty_array(&c->reply);
        else
            reply_null(&c->reply);
        return;
    }

    quicklist *ql = entry_object(e);
    int forward = rank > 0;
    /* Redis 7.0 negates INT64_MIN into itself, which makes every match
     * qualify: the same as searching from the tail with rank 1. */
    uint64_t skip = rank == INT64_MIN ? 0 : (uint64_t)(forward ? rank : -rank) - 1;
    uint64_t wanted = has_count ? (uint64_t)count : 1; /* 0: all */
    uint64_t length = quicklist_count(ql);
    needle n;
    needle_init(&n, c->argv[2], c->argv_len[2]);

    size_t handle = has_count ? reply_defer(&c->reply) : 0;
    uint64_t found = 0, matches = 0, visited = 0;
    quicklist_iterator it;
    listpack_entry entry;
    quicklist_iterator_start(&it, ql, forward ? 0 : -1, forward);
    while ((maxlen == 0 || visited < (uint64_t)maxlen) && quicklist_iterator_next(&it, &entry)) {
        uint64_t index = forward ? visited : length - 1 - visited;
        visited++;
        if (!needle_matches(&n, &entry) || matches++ < skip)
            continue;
        if (has_count) {
            reply_integer(&c->reply, (int64_t)index);
        } else {
            reply_integer(&c->reply, (int64_t)index);
            return;
        }
        if (++found == wanted)
            break;
    }
    if (has_count)
        reply_defer_array(&c->reply, handle, (size_t)found);
    else
        reply_null(&c->reply);
}

/* ---------- in-place changes ---------- */

static void command_lset(client *c)
{
    kv_entry *e = keyspace_lookup(c->db, c->argv[1], c->argv_len[1]);
    if (!e) {
        reply_error(&c->reply, ERR_NO_SUCH_KEY);
        return;
    }
    if (entry_type(e) != OBJECT_LIST) {
        reply_error(&c->reply, ERR_WRONGTYPE);
        return;
    }
    int64_t index;
    if (!argument_int64(c, 2, &index))
        return;
    if (!quicklist_replace(entry_object(e), index, c->argv[3], c->argv_len[3])) {
        reply_error(&c->reply, ERR_INDEX_RANGE);
        return;
    }
    reply_ok(&c->reply);
    signal_list(c, c->argv[1], c->argv_len[1], "lset");
}

/* LINSERT key BEFORE|AFTER pivot element */
static void command_linsert(client *c)
{
    int after;
    if (argument_is(c, 2, "after")) {
        after = 1;
    } else if (argument_is(c, 2, "before")) {
        after = 0;
    } else {
        reply_error(&c->reply, ERR_SYNTAX);
        return;
    }
    int wrong_type;
    kv_entry *e = lookup_write_list(c, 1, &wrong_type);
    if (wrong_type)
        return;
    if (!e) {
        reply_integer(&c->reply, 0);
        return;
    }
    quicklist *ql = entry_object(e);
    needle pivot;
    needle_init(&pivot, c->argv[3], c->argv_len[3]);
    quicklist_iterator it;
    listpack_entry entry;
    quicklist_iterator_start(&it, ql, 0, 1);
    while (quicklist_iterator_next(&it, &entry)) {
        if (!needle_matches(&pivot, &entry))
            continue;
        quicklist_iterator_insert(&it, after, c->argv[4], c->argv_len[4]);
        reply_integer(&c->reply, (int64_t)quicklist_count(ql));
        signal_list(c, c->argv[1], c->argv_len[1], "linsert");
        return;
    }
    reply_integer(&c->reply, -1);
}

/* LREM key count element: count > 0 removes from the head, < 0 from the
 * tail, 0 every match. */
static void command_lrem(client *c)
{
    int64_t count;
    if (!argument_int64(c, 2, &count))
        return;
    int wrong_type;
    kv_entry *e = lookup_write_list(c, 1, &wrong_type);
    if (wrong_type)
        return;
    if (!e) {
        reply_integer(&c->reply, 0);
        return;
    }
    quicklist *ql = entry_object(e);
    int forward = count >= 0;
    uint64_t limit =
        count == INT64_MIN ? (uint64_t)INT64_MAX + 1 : (uint64_t)(count < 0 ? -count : count);
    needle n;
    needle_init(&n, c->argv[3], c->argv_len[3]);
    uint64_t removed = 0;
    quicklist_iterator it;
    listpack_entry entry;
    quicklist_iterator_start(&it, ql, forward ? 0 : -1, forward);
    while (quicklist_iterator_next(&it, &entry)) {
        if (!needle_matches(&n, &entry))
            continue;
        quicklist_iterator_delete(&it);
        if (++removed == limit)
            break;
    }
    reply_integer(&c->reply, (int64_t)removed);
    if (removed) {
        signal_list(c, c->argv[1], c->argv_len[1], "lrem");
        delete_if_empty(c, ql, c->argv[1], c->argv_len[1]);
    }
}

static void command_ltrim(client *c)
{
    int64_t start, end;
    if (!argument_int64(c, 2, &start) || !argument_int64(c, 3, &end))
        return;
    int wrong_type;
    kv_entry *e = lookup_write_list(c, 1, &wrong_type);
    if (wrong_type)
        return;
    if (!e) {
        reply_ok(&c->reply);
        return;
    }
    quicklist *ql = entry_object(e);
    int64_t length = (int64_t)quicklist_count(ql);
    if (start < 0)
        start += length;
    if (end < 0)
        end += length;
    if (start < 0)
        start = 0;
    uint64_t trim_head, trim_tail;
    if (start > end || start >= length) {
        trim_head = (uint64_t)length;
        trim_tail = 0;
    } else {
        if (end >= length)
            end = length - 1;
        trim_head = (uint64_t)start;
        trim_tail = (uint64_t)(length - end - 1);
    }
    quicklist_delete_range(ql, (uint64_t)length - trim_tail, trim_tail);
    quicklist_delete_range(ql, 0, trim_head);
    reply_ok(&c->reply);
    signal_list(c, c->argv[1], c->argv_len[1], "ltrim");
    delete_if_empty(c, ql, c->argv[1], c->argv_len[1]);
}

/* ---------- moves ---------- */

/* Pops from one end of argv[1] and pushes to one end of argv[2], replying
 * the element (nil when the source is missing). */
static void move_generic(client *c, enum quicklist_end from, enum quicklist_end to)
{
    const char *source_key = c->argv[1], *target_key = c->argv[2];
    size_t source_len = c->argv_len[1], target_len = c->argv_len[2];
    int wrong_type;
    kv_entry *source = lookup_write_list(c, 1, &wrong_type);
    if (wrong_type)
        return;
    if (!source) {
        reply_null(&c->reply);
        return;
    }
    kv_entry *target = lookup_write_list(c, 2, &wrong_type);
    if (wrong_type)
        return;
    quicklist *source_list = entry_object(source);
    quicklist *target_list = target ? entry_object(target) : NULL;

    listpack_entry entry;
    quicklist_peek(source_list, from, &entry);
    reply_list_entry(c, &entry);
    char scratch[24];
    size_t len;
    const char *bytes = listpack_entry_bytes(&entry, scratch, &len);
    /* Pushing onto the same list may move the listpack the bytes live in. */
    char *copy = NULL;
    if (target_list == source_list && entry.data) {
        copy = mem_dup(bytes, len);
        bytes = copy;
    }
    if (!target_list)
        target_list = list_create_key(c, target_key, target_len);
    quicklist_push(target_list, to, bytes, len);
    mem_free(copy);
    /* With one list, the pushed copy sits at `to` and the original at
     * `from`; when they are the same end the copy is what gets popped, which
     * leaves the list as it was. */
    quicklist_pop(source_list, from);
    signal_list(c, target_key, target_len, push_event(to));
    signal_list(c, source_key, source_len, pop_event(from));
    delete_if_empty(c, source_list, source_key, source_len);
}

/* LMOVE source destination LEFT|RIGHT LEFT|RIGHT */
static void command_lmove(client *c)
{
    enum quicklist_end from, to;
    if (!parse_end(c, 3, &from) || !parse_end(c, 4, &to)) {
        reply_error(&c->reply, ERR_SYNTAX);
        return;
    }
    move_generic(c, from, to);
}

static void command_rpoplpush(client *c)
{
    move_generic(c, QUICKLIST_TAIL, QUICKLIST_HEAD);
}

/* ---------- blocking variants ---------- */

/* Blocking pops and moves try once; if nothing can be served they block
 * (see blocking.h), unless they run inside EXEC, where they answer as if the
 * timeout had passed. On a retry they either serve or write nothing. */

static void reply_timeout_null_array(client *c)
{
    reply_null_array(&c->reply);
}

static void reply_timeout_null(client *c)
{
    reply_null(&c->reply);
}

/* BLPOP / BRPOP key [key ...] timeout */
static void blocking_pop(client *c, enum quicklist_end where)
{
    int64_t deadline;
    if (!blocking_parse_timeout(c, c->argc - 1, &deadline))
        return;
    for (int i = 1; i < c->argc - 1; i++) {
        int wrong_type;
        kv_entry *e = lookup_write_list(c, i, &wrong_type);
        if (wrong_type)
            return;
        if (!e)
            continue;
        quicklist *ql = entry_object(e);
        listpack_entry entry;
        reply_array(&c->reply, 2);
        reply_bulk(&c->reply, c->argv[i], c->argv_len[i]);
        quicklist_peek(ql, where, &entry);
        reply_list_entry(c, &entry);
        quicklist_pop(ql, where);
        signal_list(c, c->argv[i], c->argv_len[i], pop_event(where));
        delete_if_empty(c, ql, c->argv[i], c->argv_len[i]);
        return;
    }
    blocking_block_on_range(c, 1, c->argc - 2, deadline, reply_timeout_null_array,
                            reply_timeout_null_array);
}

static void command_blpop(client *c)
{
    blocking_pop(c, QUICKLIST_HEAD);
}

static void command_brpop(client *c)
{
    blocking_pop(c, QUICKLIST_TAIL);
}

static void blocking_move(client *c, enum quicklist_end from, enum quicklist_end to,
                          int timeout_index)
{
    int64_t deadline;
    if (!blocking_parse_timeout(c, timeout_index, &deadline))
        return;
    int wrong_type;
    kv_entry *source = lookup_write_list(c, 1, &wrong_type);
    if (wrong_type)
        return;
    if (source) {
        move_generic(c, from, to);
        return;
    }
    /* Redis answers a timeout with a null array but, inside EXEC, a null. */
    blocking_block_on_range(c, 1, 1, deadline, reply_timeout_null_array, reply_timeout_null);
}

/* BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout */
static void command_blmove(client *c)
{
    enum quicklist_end from, to;
    if (!parse_end(c, 3, &from) || !parse_end(c, 4, &to)) {
        reply_error(&c->reply, ERR_SYNTAX);
        return;
    }
    blocking_move(c, from, to, 5);
}

/* BRPOPLPUSH source destination timeout */
static void command_brpoplpush(client *c)
{
    blocking_move(c, QUICKLIST_TAIL, QUICKLIST_HEAD, 3);
}

/* BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count] */
static void command_blmpop(client *c)
{
    int64_t deadline;
    if (!blocking_parse_timeout(c, 1, &deadline))
        return;
    if (mpop_generic(c, 2) >= 0)
        return;
    int64_t numkeys = 0;
    number_parse_int64(c->argv[2], c->argv_len[2], &numkeys);
    blocking_block_on_range(c, 3, 2 + (int)numkeys, deadline, reply_timeout_null_array,
                            reply_timeout_null_array);
}

/* ---------- the table rows and the type ---------- */

#define C_LIST  ACL_LIST
#define KEY_POP (KEY_RW | KEY_ACCESS | KEY_DELETE)

const command list_command_rows[] = {
    ROW("blmove", 6, W | DOOM | NOSCRIPT | CMD_BLOCKING, C_W | C_LIST | C_SLOW | ACL_BLOCKING, 1, 2,
        1, KEY_POP, command_blmove, "list", "6.2.0", "O(1)",
        "Pops an element from a list, pushes it to another list and returns it. Blocks until an "
        "element is available otherwise. Deletes the list if the last element was moved."),
    {.name = "blmpop",
     .arity = -5,
     .flags = W | CMD_BLOCKING,
     .categories = C_W | C_LIST | C_SLOW | ACL_BLOCKING,
     .first_key = 0,
     .last_key = 0,
     .key_step = 1,
     .key_numkeys_index = 2,
     .key_flags = KEY_POP,
     .handler = command_blmpop,
     .group = "list",
     .since = "7.0.0",
     .complexity = "O(N+M) where N is the number of provided keys and M is the number of elements "
                   "returned.",
     .summary = "Pops the first element from one of multiple lists. Blocks until an element is "
                "available otherwise. Deletes the list if the last element was popped."},
    ROW("blpop", -3, W | NOSCRIPT | CMD_BLOCKING, C_W | C_LIST | C_SLOW | ACL_BLOCKING, 1, -2, 1,
        KEY_POP, command_blpop, "list", "2.0.0", "O(N) where N is the number of provided keys.",
        "Removes and returns the first element in a list. Blocks until an element is available "
        "otherwise. Deletes the list if the last element was popped."),
    ROW("brpop", -3, W | NOSCRIPT | CMD_BLOCKING, C_W | C_LIST | C_SLOW | ACL_BLOCKING, 1, -2, 1,
        KEY_POP, command_brpop, "list", "2.0.0", "O(N) where N is the number of provided keys.",
        "Removes and returns the last element in a list. Blocks until an element is available "
        "otherwise. Deletes the list if the last element was popped."),
    ROW("brpoplpush", 4, W | DOOM | NOSCRIPT | CMD_BLOCKING, C_W | C_LIST | C_SLOW | ACL_BLOCKING,
        1, 2, 1, KEY_POP, command_brpoplpush, "list", "2.2.0", "O(1)",
        "Pops an element from a list, pushes it to another list and returns it. Block until an "
        "element is available otherwise. Deletes the list if the last element was popped."),
    ROW("lindex", 3, R, C_R | C_LIST | C_SLOW, 1, 1, 1, KEY_READ, command_lindex, "list", "1.0.0",
        "O(N) where N is the number of elements to traverse to get to the element at index. This "
        "makes asking for the first or the last element of the list O(1).",
        "Get an element from a list by its index"),
    ROW("linsert", 5, W | DOOM, C_W | C_LIST | C_SLOW, 1, 1, 1, KEY_WRITE_INSERT, command_linsert,
        "list", "2.2.0",
        "O(N) where N is the number of elements to traverse before seeing the value pivot. This "
        "means that inserting somewhere on the left end on the list (head) can be considered O(1) "
        "and inserting somewhere on the right end (tail) is O(N).",
        "Insert an element before or after another element in a list"),
    ROW("llen", 2, R | FAST, C_R | C_LIST | C_FAST, 1, 1, 1, KEY_RO, command_llen, "list", "1.0.0",
        "O(1)", "Get the length of a list"),
    ROW("lmove", 5, W | DOOM, C_W | C_LIST | C_SLOW, 1, 2, 1, KEY_POP, command_lmove, "list",
        "6.2.0", "O(1)", "Pop an element from a list, push it to another list and return it"),
    {.name = "lmpop",
     .arity = -4,
     .flags = W,
     .categories = C_W | C_LIST | C_SLOW,
     .first_key = 0,
     .last_key = 0,
     .key_step = 1,
     .key_numkeys_index = 1,
     .key_flags = KEY_POP,
     .handler = command_lmpop,
     .group = "list",
     .since = "7.0.0",
     .complexity = "O(N+M) where N is the number of provided keys and M is the number of "
                   "elements returned.",
     .summary = "Pop elements from a list"},
    ROW("lpop", -2, W | FAST, C_W | C_LIST | C_FAST, 1, 1, 1, KEY_POP, command_lpop, "list",
        "1.0.0", "O(N) where N is the number of elements returned",
        "Remove and get the first elements in a list"),
    ROW("lpos", -3, R, C_R | C_LIST | C_SLOW, 1, 1, 1, KEY_READ, command_lpos, "list", "6.0.6",
        "O(N) where N is the number of elements in the list, for the average case. When searching "
        "for elements near the head or the tail of the list, or when the MAXLEN option is "
        "provided, the command may run in constant time.",
        "Return the index of matching elements on a list"),
    ROW("lpush", -3, W | DOOM | FAST, C_W | C_LIST | C_FAST, 1, 1, 1, KEY_WRITE_INSERT,
        command_lpush, "list", "1.0.0",
        "O(1) for each element added, so O(N) to add N elements when the command is called with "
        "multiple arguments.",
        "Prepend one or multiple elements to a list"),
    ROW("lpushx", -3, W | DOOM | FAST, C_W | C_LIST | C_FAST, 1, 1, 1, KEY_WRITE_INSERT,
        command_lpushx, "list", "2.2.0",
        "O(1) for each element added, so O(N) to add N elements when the command is called with "
        "multiple arguments.",
        "Prepend an element to a list, only if the list exists"),
    ROW("lrange", 4, R, C_R | C_LIST | C_SLOW, 1, 1, 1, KEY_READ, command_lrange, "list", "1.0.0",
        "O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest "
        "end (HEAD or TAIL) for large lists; and N is the number of elements in the specified "
        "range.",
        "Get a range of elements from a list"),
    ROW("lrem", 4, W, C_W | C_LIST | C_SLOW, 1, 1, 1, KEY_RW | KEY_DELETE, command_lrem, "list",
        "1.0.0",
        "O(N+M) where N is the length of the list and M is the number of elements removed.",
        "Remove elements from a list"),
    ROW("lset", 4, W | DOOM, C_W | C_LIST | C_SLOW, 1, 1, 1, KEY_RW | KEY_UPDATE, command_lset,
        "list", "1.0.0",
        "O(N) where N is the length of the list. Setting either the first or the last element of "
        "the list is O(1).",
        "Set the value of an element in a list by its index"),
    ROW("ltrim", 4, W, C_W | C_LIST | C_SLOW, 1, 1, 1, KEY_RW | KEY_DELETE, command_ltrim, "list",
        "1.0.0", "O(N) where N is the number of elements to be removed by the operation.",
        "Trim a list to the specified range"),
    ROW("rpop", -2, W | FAST, C_W | C_LIST | C_FAST, 1, 1, 1, KEY_POP, command_rpop, "list",
        "1.0.0", "O(N) where N is the number of elements returned",
        "Remove and get the last elements in a list"),
    ROW("rpoplpush", 3, W | DOOM, C_W | C_LIST | C_SLOW, 1, 2, 1, KEY_POP, command_rpoplpush,
        "list", "1.2.0", "O(1)",
        "Remove the last element in a list, prepend it to another list and return it"),
    ROW("rpush", -3, W | DOOM | FAST, C_W | C_LIST | C_FAST, 1, 1, 1, KEY_WRITE_INSERT,
        command_rpush, "list", "1.0.0",
        "O(1) for each element added, so O(N) to add N elements when the command is called with "
        "multiple arguments.",
        "Append one or multiple elements to a list"),
    ROW("rpushx", -3, W | DOOM | FAST, C_W | C_LIST | C_FAST, 1, 1, 1, KEY_WRITE_INSERT,
        command_rpushx, "list", "2.2.0",
        "O(1) for each element added, so O(N) to add N elements when the command is called with "
        "multiple arguments.",
        "Append an element to a list, only if the list exists"),
    {0}};

static void list_free_value(void *ptr, object_encoding encoding)
{
    (void)encoding;
    quicklist_free(ptr);
}

/* Each node is a header plus one listpack. */
static size_t list_free_effort(const void *ptr, object_encoding encoding)
{
    (void)encoding;
    return ((const quicklist *)ptr)->node_count;
}

static size_t list_memory_usage(const void *ptr, object_encoding encoding, size_t samples)
{
    (void)encoding;
    (void)samples; /* nodes hold up to 8 KB each: counting them all is cheap */
    return quicklist_memory(ptr);
}

static void *list_copy_value(const void *ptr, object_encoding encoding)
{
    (void)encoding;
    return quicklist_duplicate(ptr);
}

void list_register_type(keyspace *ks)
{
    static const object_methods methods = {.free_value = list_free_value,
                                           .copy_value = list_copy_value,
                                           .free_effort = list_free_effort,
                                           .memory_usage = list_memory_usage};
    keyspace_register_type(ks, OBJECT_LIST, &methods);
}
