/* Generic key commands: the ones that work on a key whatever its type (DEL,
 * EXISTS, TYPE, RENAME, COPY, MOVE, ...), the whole-database commands (KEYS,
 * SCAN, RANDOMKEY, DBSIZE, FLUSHDB, FLUSHALL, SWAPDB) and OBJECT.
 *
 * Replies, error texts and the order in which arguments are checked follow
 * Redis 7 exactly, because clients and test suites depend on which error wins
 * when a command is wrong in more than one way. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "handlers.h"
#include "rivet/number.h"
#include "rivet/glob.h"
#include "rivet/lazyfree.h"
#include "rivet/cache.h"
#include "rivet/server.h"
#include "rivet/snapshot.h"
#include "rivet/tracking.h"

/* Redis answers OBJECT REFCOUNT with INT_MAX for its shared integer objects
 * (the values 0..9999 when they are shared); clients have seen that number for
 * years, so an int-encoded value in that range reports it too. */
#define SHARED_INTEGER_LIMIT 10000
#define SHARED_REFCOUNT      2147483647

static const char ERR_SAME_OBJECT[] = "ERR source and destination objects are the same";
static const char ERR_INT_RANGE[] =
    "ERR value is out of range, value must between -2147483648 and 2147483647";

static void signal_generic(database *db, const char *key, size_t len, const char *event)
{
    keyspace_signal_modified(db, key, len, event, EVENT_GENERIC);
}

static int same_key(const client *c, int a, int b)
{
    return c->argv_len[a] == c->argv_len[b] && memcmp(c->argv[a], c->argv[b], c->argv_len[a]) == 0;
}

/* Reads argv[i] as a database index the way MOVE and COPY do: first as an int
 * (its own two errors), then against the number of databases. Returns the
 * database, or NULL after replying with the error. */
static database *argument_database(client *c, int i)
{
    int64_t index;
    if (!argument_int64(c, i, &index))
        return NULL;
    if (index < INT32_MIN || index > INT32_MAX) {
        reply_error(&c->reply, ERR_INT_RANGE);
        return NULL;
    }
    if (index < 0 || index >= keyspace_database_count(server.keyspace)) {
        reply_error(&c->reply, ERR_DB_RANGE);
        return NULL;
    }
    return keyspace_database(server.keyspace, (int)index);
}

/* An entry is expired once the clock has passed its deadline. Used where the
 * keyspace may not be changed (KEYS walks it), so the key is skipped rather
 * than deleted. */
static int entry_is_expired_now(const kv_entry *entry)
{
    int64_t deadline = entry_expire(entry);
    return deadline >= 0 && keyspace_time(server.keyspace) > deadline;
}

/* ---------- DEL, UNLINK, EXISTS, TYPE, TOUCH ---------- */

static void delete_keys(client *c, int lazy)
{
    int64_t deleted = 0;
    for (int i = 1; i < c->argc; i++) {
        database *db = c->db;
        int removed = lazy ? keyspace_delete_lazy(db, c->argv[i], c->argv_len[i])
                           : keyspace_delete(db, c->argv[i], c->argv_len[i]);
        if (removed) {
            signal_generic(c->db, c->argv[i], c->argv_len[i], "del");
            deleted++;
        }
    }
    reply_integer(&c->reply, deleted);
}

/* DEL frees at once unless lazyfree-lazy-user-del says otherwise; UNLINK
 * always hands big values to the background (src/server/lazyfree.c). */
void command_del(client *c)
{
    delete_keys(c, server.config.lazyfree_lazy_user_del);
}

void command_unlink(client *c)
{
    delete_keys(c, 1);
}

void command_exists(client *c)
{
    int64_t found = 0;
    for (int i = 1; i < c->argc; i++)
        if (keyspace_lookup_read(c->db, c->argv[i], c->argv_len[i], 1))
            found++;
    reply_integer(&c->reply, found);
}

void command_type(client *c)
{
    kv_entry *e = keyspace_lookup_read(c->db, c->argv[1], c->argv_len[1], 1);
    reply_status(&c->reply, e ? object_type_name(entry_type(e)) : "none");
}

/* TOUCH exists to refresh access times, so it touches even for a client that
 * asked for CLIENT NO-TOUCH (as Redis does). */
void command_touch(client *c)
{
    int64_t found = 0;
    for (int i = 1; i < c->argc; i++)
        if (keyspace_lookup_read(c->db, c->argv[i], c->argv_len[i], 0))
            found++;
    reply_integer(&c->reply, found);
}

/* ---------- RENAME, RENAMENX, COPY, MOVE ---------- */

static void rename_key(client *c, int only_if_new)
{
    const char *from = c->argv[1], *to = c->argv[2];
    size_t from_len = c->argv_len[1], to_len = c->argv_len[2];

    if (keyspace_lookup(c->db, from, from_len) == NULL) {
        reply_error(&c->reply, ERR_NO_SUCH_KEY);
        return;
    }
    /* Renaming a key onto itself changes nothing, but only after the key has
     * been found: a missing key is still an error. */
    if (same_key(c, 1, 2)) {
        if (only_if_new)
            reply_integer(&c->reply, 0);
        else
            reply_ok(&c->reply);
        return;
    }
    if (keyspace_lookup(c->db, to, to_len) != NULL) {
        if (only_if_new) {
            reply_integer(&c->reply, 0);
            return;
        }
        /* The old destination goes silently: Redis announces no "del" for
         * it, only the two rename events. */
        delete_replaced_key(c->db, to, to_len);
    }
    keyspace_move(c->db, from, from_len, c->db, to, to_len);
    signal_generic(c->db, from, from_len, "rename_from");
    signal_generic(c->db, to, to_len, "rename_to");
    if (only_if_new)
        reply_integer(&c->reply, 1);
    else
        reply_ok(&c->reply);
}

void command_rename(client *c)
{
    rename_key(c, 0);
}

void command_renamenx(client *c)
{
    rename_key(c, 1);
}

/* COPY source destination [DB index] [REPLACE] */
void command_copy(client *c)
{
    database *dst = c->db;
    int replace = 0;
    for (int i = 3; i < c->argc; i++) {
        if (argument_is(c, i, "replace")) {
            replace = 1;
        } else if (argument_is(c, i, "db") && i + 1 < c->argc) {
            dst = argument_database(c, i + 1);
            if (dst == NULL)
                return;
            i++;
        } else {
            reply_error(&c->reply, ERR_SYNTAX);
            return;
        }
    }
    if (dst == c->db && same_key(c, 1, 2)) {
        reply_error(&c->reply, ERR_SAME_OBJECT);
        return;
    }
    kv_entry *source =
        keyspace_lookup_read(c->db, c->argv[1], c->argv_len[1], c->flags & CLIENT_NO_TOUCH);
    if (source == NULL) {
        reply_integer(&c->reply, 0);
        return;
    }
    if (keyspace_lookup(dst, c->argv[2], c->argv_len[2]) != NULL) {
        if (!replace) {
            reply_integer(&c->reply, 0);
            return;
        }
        delete_replaced_key(dst, c->argv[2], c->argv_len[2]);
    }
    keyspace_copy(c->db, source, dst, c->argv[2], c->argv_len[2]);
    signal_generic(dst, c->argv[2], c->argv_len[2], "copy_to");
    reply_integer(&c->reply, 1);
}

/* MOVE key db */
void command_move(client *c)
{
    database *dst = argument_database(c, 2);
    if (dst == NULL)
        return;
    if (dst == c->db) {
        reply_error(&c->reply, ERR_SAME_OBJECT);
        return;
    }
    const char *key = c->argv[1];
    size_t len = c->argv_len[1];
    if (keyspace_lookup(c->db, key, len) == NULL || keyspace_lookup(dst, key, len) != NULL) {
        reply_integer(&c->reply, 0);
        return;
    }
    keyspace_move(c->db, key, len, dst, key, len);
    signal_generic(c->db, key, len, "move_from");
    signal_generic(dst, key, len, "move_to");
    reply_integer(&c->reply, 1);
}

/* ---------- KEYS ---------- */

typedef struct keys_walk {
    reply_writer *reply;
    const char *pattern;
    size_t pattern_len;
    int match_all;
    size_t count;
} keys_walk;

static void keys_visit(void *ctx, kv_entry *entry)
{
    keys_walk *walk = ctx;
    size_t len;
    const char *key = entry_key(entry, &len);
    if (entry_is_expired_now(entry))
        return;
    if (!walk->match_all && !glob_match(walk->pattern, walk->pattern_len, key, len, 0))
        return;
    reply_bulk(walk->reply, key, len);
    walk->count++;
}

void command_keys(client *c)
{
    keys_walk walk = {&c->reply, c->argv[1], c->argv_len[1], 0, 0};
    walk.match_all = walk.pattern_len == 1 && walk.pattern[0] == '*';
    size_t handle = reply_defer(&c->reply);
    keyspace_for_each(c->db, keys_visit, &walk);
    reply_defer_array(&c->reply, handle, walk.count);
}

/* ---------- SCAN ---------- */

/* Keys gathered from the table, copied out because filtering (which may
 * delete expired keys) happens only after the table walk: the visit callback
 * must not change the table. Each key is stored as its length then its bytes. */
typedef struct scan_batch {
    buffer keys;
    size_t count;
} scan_batch;

static void scan_visit(void *ctx, kv_entry *entry)
{
    scan_batch *batch = ctx;
    size_t len;
    const char *key = entry_key(entry, &len);
    buffer_append(&batch->keys, &len, sizeof(len));
    buffer_append(&batch->keys, key, len);
    batch->count++;
}

/* Filters in Redis's order: pattern, then type, then expiry, so a key that
 * fails the pattern is neither counted as a hit nor expired by the scan. */
static int scan_keeps(client *c, const char *key, size_t len, const char *pattern,
                      size_t pattern_len, const char *type, size_t type_len)
{
    if (pattern && !glob_match(pattern, pattern_len, key, len, 0))
        return 0;
    if (type) {
        kv_entry *e = keyspace_lookup_read(c->db, key, len, 1);
        const char *name = e ? object_type_name(entry_type(e)) : "none";
        if (strlen(name) != type_len || strncasecmp(name, type, type_len) != 0)
            return 0;
    }
    return keyspace_lookup(c->db, key, len) != NULL;
}

/* SCAN cursor [MATCH pattern] [COUNT count] [TYPE type] */
void command_scan(client *c)
{
    uint64_t cursor;
    if (!number_parse_cursor(c->argv[1], c->argv_len[1], &cursor)) {
        reply_error(&c->reply, "ERR invalid cursor");
        return;
    }
    scan_options options;
    if (!scan_parse_options(c, 2, 1, &options))
        return;
    int64_t count = options.count;
    const char *pattern = options.pattern, *type = options.type;
    size_t pattern_len = options.pattern_len, type_len = options.type_len;

    /* Walk cursor positions until about COUNT keys are in hand, giving up
     * after ten positions per requested key so that a sparse table cannot
     * make one call walk all of it. */
    scan_batch batch;
    buffer_init(&batch.keys);
    batch.count = 0;
    int64_t budget = count > INT64_MAX / 10 ? INT64_MAX : count * 10;
    do {
        cursor = keyspace_scan(c->db, cursor, scan_visit, &batch);
    } while (cursor != 0 && budget-- > 0 && batch.count < (uint64_t)count);

    char digits[24];
    int digits_len = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)cursor);
    reply_array(&c->reply, 2);
    reply_bulk(&c->reply, digits, (size_t)digits_len);
    size_t handle = reply_defer(&c->reply);
    size_t kept = 0;
    for (size_t offset = 0; offset < batch.keys.len;) {
        size_t len;
        memcpy(&len, batch.keys.data + offset, sizeof(len));
        const char *key = batch.keys.data + offset + sizeof(len);
        offset += sizeof(len) + len;
        if (scan_keeps(c, key, len, pattern, pattern_len, type, type_len)) {
            reply_bulk(&c->reply, key, len);
            kept++;
        }
    }
    reply_defer_array(&c->reply, handle, kept);
    buffer_release(&batch.keys);
}

/* ---------- RANDOMKEY, DBSIZE ---------- */

void command_randomkey(client *c)
{
    kv_entry *e = keyspace_random(c->db, server_random());
    if (e == NULL) {
        reply_null(&c->reply);
        return;
    }
    size_t len;
    const char *key = entry_key(e, &len);
    reply_bulk(&c->reply, key, len);
}

void command_dbsize(client *c)
{
    reply_integer(&c->reply, (int64_t)keyspace_size(c->db));
}

/* ---------- FLUSHDB, FLUSHALL, SWAPDB ---------- */

/* The optional ASYNC|SYNC argument: 1 to free in the background, 0 to free
 * now, -1 after replying with the syntax error. With neither, the choice is
 * lazyfree-lazy-user-flush's. */
static int flush_mode(client *c)
{
    if (c->argc == 1)
        return server.config.lazyfree_lazy_user_flush != 0;
    if (c->argc == 2 && argument_is(c, 1, "async"))
        return 1;
    if (c->argc == 2 && argument_is(c, 1, "sync"))
        return 0;
    reply_error(&c->reply, ERR_SYNTAX);
    return -1;
}

/* Empties db and counts the removed keys as changes, as Redis does. An
 * ASYNC flush empties the database just as fast for clients; only freeing
 * the old contents moves to the thread pool. */
static size_t flush_database(database *db, int async)
{
    size_t removed = keyspace_size(db);
    if (async)
        lazyfree_flush_database(db);
    else
        keyspace_flush(db);
    /* The keyspace announces only the flush of a non-empty database; miss
     * leases can be outstanding in an empty one. */
    cache_database_flushed(db);
    keyspace_get_stats(server.keyspace)->dirty += removed;
    return removed;
}

void command_flushdb(client *c)
{
    int async = flush_mode(c);
    if (async < 0)
        return;
    flush_database(c->db, async);
    tracking_flushed();
    reply_ok(&c->reply);
}

void command_flushall(client *c)
{
    int async = flush_mode(c);
    if (async < 0)
        return;
    int databases = keyspace_database_count(server.keyspace);
    for (int i = 0; i < databases; i++)
        flush_database(keyspace_database(server.keyspace, i), async);
    /* A running BGSAVE is stopped and, with save points, the empty data set
     * is saved at once; FLUSHALL itself then counts as one change (Redis). */
    snapshot_after_flushall();
    /* Client caches are told once, even when nothing was there. */
    tracking_flushed();
    reply_ok(&c->reply);
}

/* SWAPDB index1 index2: each index has its own error text when it is not an
 * int; being out of range shares the generic one. */
static int swap_index(client *c, int i, const char *error, int64_t *out)
{
    if (!argument_int64_or(c, i, out, error))
        return 0;
    if (*out < INT32_MIN || *out > INT32_MAX) {
        reply_error(&c->reply, error);
        return 0;
    }
    return 1;
}

void command_swapdb(client *c)
{
    int64_t first, second;
    if (!swap_index(c, 1, "ERR invalid first DB index", &first) ||
        !swap_index(c, 2, "ERR invalid second DB index", &second))
        return;
    int databases = keyspace_database_count(server.keyspace);
    if (first < 0 || first >= databases || second < 0 || second >= databases) {
        reply_error(&c->reply, ERR_DB_RANGE);
        return;
    }
    if (first != second)
        keyspace_swap_databases(server.keyspace, (int)first, (int)second);
    keyspace_get_stats(server.keyspace)->dirty++;
    reply_ok(&c->reply);
}

/* ---------- OBJECT ---------- */

static const char *maxmemory_policy(void)
{
    return config_maxmemory_policy_names[server.config.maxmemory_policy];
}

static int policy_is_lfu(void)
{
    return strstr(maxmemory_policy(), "lfu") != NULL;
}

/* OBJECT subcommands look the key up without touching it; a missing key is a
 * null reply, not an error. */
static kv_entry *object_lookup(client *c)
{
    kv_entry *e = keyspace_lookup_read(c->db, c->argv[2], c->argv_len[2], 1);
    if (e == NULL)
        reply_null(&c->reply);
    return e;
}

void command_object_encoding(client *c)
{
    kv_entry *e = object_lookup(c);
    if (e)
        reply_bulk_cstr(&c->reply, object_encoding_name(entry_encoding(e)));
}

/* Every value has exactly one owner here. Redis shares small integers between
 * keys unless maxmemory is set with an LRU or LFU policy (which needs a
 * per-object clock); their count is reported as Redis reports it. */
void command_object_refcount(client *c)
{
    kv_entry *e = object_lookup(c);
    if (e == NULL)
        return;
    int64_t value;
    int sharing = server.config.maxmemory == 0 ||
                  (strstr(maxmemory_policy(), "lru") == NULL && !policy_is_lfu());
    if (sharing && entry_type(e) == OBJECT_STRING && entry_encoding(e) == ENCODING_INT &&
        entry_string_integer(e, &value) && value >= 0 && value < SHARED_INTEGER_LIMIT)
        reply_integer(&c->reply, SHARED_REFCOUNT);
    else
        reply_integer(&c->reply, 1);
}

void command_object_idletime(client *c)
{
    kv_entry *e = object_lookup(c);
    if (e == NULL)
        return;
    if (policy_is_lfu()) {
        reply_error(&c->reply, "ERR An LFU maxmemory policy is selected, idle time not tracked. "
                               "Please note that when switching between policies at runtime LRU "
                               "and LFU data will take some time to adjust.");
        return;
    }
    /* Unsigned subtraction: the clock wraps. */
    uint32_t idle = keyspace_access_clock_now(server.keyspace) - entry_access_clock(e);
    reply_integer(&c->reply, idle);
}

void command_object_freq(client *c)
{
    kv_entry *e = object_lookup(c);
    if (e == NULL)
        return;
    if (!policy_is_lfu()) {
        reply_error(&c->reply,
                    "ERR An LFU maxmemory policy is not selected, access frequency not tracked. "
                    "Please note that when switching between policies at runtime LRU and LFU "
                    "data will take some time to adjust.");
        return;
    }
    reply_integer(&c->reply, entry_lfu_counter(server.keyspace, e));
}

void command_object_help(client *c)
{
    static const char *const lines[] = {
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ENCODING <key>",
        "    Return the name of the internal encoding that stores the value of",
        "    <key> (for example int, embstr, listpack, hashtable).",
        "FREQ <key>",
        "    Return the logarithmic access frequency counter of <key>. Only",
        "    available when maxmemory-policy is an LFU policy.",
        "IDLETIME <key>",
        "    Return the approximate number of seconds since <key> was last read",
        "    or written.",
        "REFCOUNT <key>",
        "    Return the number of references held to the value stored at",
        "    <key>.",
        "HELP",
        "    Print this help.",
        NULL,
    };
    reply_help(c, lines);
}
