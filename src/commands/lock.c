/* LOCK.ACQUIRE / RELEASE / EXTEND / INFO: leased locks with fencing tokens.
 * The lock's value (owner, token) lives in src/primitives/lock.c; its lease
 * is the key's TTL, so expiry, PTTL and persistence treat it like any key.
 * Waiters are ordinary blocked clients queued on the key: a release, DEL or
 * expiry touches the key and the blocking module re-runs their LOCK.ACQUIRE
 * in arrival order, so the first waiter gets the lock and the rest stay. */
#include <string.h>

#include "handlers.h"
#include "rivet/blocking.h"
#include "rivet/lock.h"
#include "rivet/server.h"

#include "table.h"

/* Reads argv[i] as a TTL in milliseconds: a positive integer whose deadline
 * fits. Replies with Redis's errors and returns 0 otherwise. */
static int parse_ttl_ms(client *c, int i, const char *command_name, int64_t *ttl_ms)
{
    if (!argument_int64(c, i, ttl_ms))
        return 0;
    if (*ttl_ms <= 0 || *ttl_ms > INT64_MAX - keyspace_time(server.keyspace)) {
        reply_errorf(&c->reply, "ERR invalid expire time in '%s' command", command_name);
        return 0;
    }
    return 1;
}

/* The key's lock for writing; NULL if absent. Sets *wrong_type (after
 * replying WRONGTYPE) when the key holds something else. */
static kv_entry *lookup_lock_write(client *c, int *wrong_type)
{
    kv_entry *e = keyspace_lookup(c->db, c->argv[1], c->argv_len[1]);
    *wrong_type = e != NULL && entry_type(e) != OBJECT_LOCK;
    if (*wrong_type)
        reply_error(&c->reply, ERR_WRONGTYPE);
    return *wrong_type ? NULL : e;
}

static void signal_lock(client *c, const char *event)
{
    keyspace_signal_modified(c->db, c->argv[1], c->argv_len[1], event, EVENT_GENERIC);
}

static void reply_timeout_nil(client *c)
{
    reply_null(&c->reply);
}

static void waiter_released(client *c)
{
    (void)c;
    server.primitives.lock_waiting--;
}

/* Parses [WAIT timeout_ms] after the TTL: *wait_ms is -1 without it, 0 for
 * "wait as long as it takes" (Redis's blocking timeout convention). */
static int parse_wait(client *c, int64_t *wait_ms)
{
    *wait_ms = -1;
    if (c->argc == 4)
        return 1;
    if (c->argc != 6 || !argument_is(c, 4, "wait")) {
        reply_error(&c->reply, ERR_SYNTAX);
        return 0;
    }
    if (!argument_int64(c, 5, wait_ms))
        return 0;
    if (*wait_ms < 0) {
        reply_error(&c->reply, "ERR timeout is negative");
        return 0;
    }
    if (*wait_ms > INT64_MAX / 2) {
        reply_error(&c->reply, "ERR timeout is out of range");
        return 0;
    }
    return 1;
}

/* LOCK.ACQUIRE key owner ttl_ms [WAIT timeout_ms] */
static void command_lock_acquire(client *c)
{
    int64_t ttl_ms, wait_ms;
    if (!parse_ttl_ms(c, 3, "lock.acquire", &ttl_ms) || !parse_wait(c, &wait_ms))
        return;
    int wrong_type;
    kv_entry *e = lookup_lock_write(c, &wrong_type);
    if (wrong_type)
        return;
    int retrying = client_is_retrying(c);
    /* A newcomer may not take a lock that just came free while others are
     * queued for it: they are served right after this command. */
    int queued_ahead = !retrying && blocking_waiter_count(c->db, c->argv[1], c->argv_len[1]) > 0;
    lock_value *lock = e ? entry_object(e) : NULL;
    uint64_t token;
    lock_acquire_outcome outcome = lock_acquire(&lock, c->argv[2], c->argv_len[2], queued_ahead,
                                                &server.last_token, server.now_us, &token);
    if (outcome != LOCK_BUSY) {
        if (outcome == LOCK_GRANTED)
            e = keyspace_set_object(c->db, c->argv[1], c->argv_len[1], OBJECT_LOCK, ENCODING_NATIVE,
                                    lock, 0);
        keyspace_set_expire(c->db, e, keyspace_time(server.keyspace) + ttl_ms);
        signal_lock(c, "lock.acquire");
        server.primitives.lock_acquired++;
        reply_integer(&c->reply, (int64_t)token);
        return;
    }
    if (retrying)
        return; /* still held: stay queued, reply later */
    if (lock == NULL) {
        /* Free, yet others wait: whatever freed it did not reach them (a
         * path that frees keys without announcing each one). Serve them
         * after this command rather than leave the lock idle. */
        blocking_key_touched(c->db, c->argv[1], c->argv_len[1]);
    }
    server.primitives.lock_contended++;
    /* MULTI and scripts cannot wait: WAIT then means "try once". */
    if (wait_ms < 0 || (c->flags & CLIENT_IN_EXEC)) {
        reply_null(&c->reply);
        return;
    }
    int key_index = 1;
    int64_t deadline = wait_ms > 0 ? server.now_ms + wait_ms : 0;
    blocking_block(c, &key_index, 1, deadline, reply_timeout_nil);
    blocking_set_release_hook(c, waiter_released);
    server.primitives.lock_waiting++;
}

/* LOCK.RELEASE key owner */
static void command_lock_release(client *c)
{
    int wrong_type;
    kv_entry *e = lookup_lock_write(c, &wrong_type);
    if (wrong_type)
        return;
    if (e == NULL || !lock_value_owned_by(entry_object(e), c->argv[2], c->argv_len[2])) {
        reply_integer(&c->reply, 0);
        return;
    }
    keyspace_delete(c->db, c->argv[1], c->argv_len[1]);
    signal_lock(c, "lock.release"); /* wakes the first waiter */
    reply_integer(&c->reply, 1);
}

/* LOCK.EXTEND key owner ttl_ms */
static void command_lock_extend(client *c)
{
    int64_t ttl_ms;
    if (!parse_ttl_ms(c, 3, "lock.extend", &ttl_ms))
        return;
    int wrong_type;
    kv_entry *e = lookup_lock_write(c, &wrong_type);
    if (wrong_type)
        return;
    if (e == NULL || !lock_value_owned_by(entry_object(e), c->argv[2], c->argv_len[2])) {
        reply_integer(&c->reply, 0);
        return;
    }
    keyspace_set_expire(c->db, e, keyspace_time(server.keyspace) + ttl_ms);
    signal_lock(c, "lock.extend");
    reply_integer(&c->reply, 1);
}

/* LOCK.INFO key: [owner, token, ttl_ms, waiters], a map under RESP3. */
static void command_lock_info(client *c)
{
    int wrong_type;
    kv_entry *e = lookup_read_typed(c, c->argv[1], c->argv_len[1], OBJECT_LOCK, &wrong_type);
    if (wrong_type)
        return;
    if (e == NULL) {
        reply_null(&c->reply);
        return;
    }
    const lock_value *lock = entry_object(e);
    int64_t deadline = entry_expire(e);
    int64_t ttl_ms = deadline < 0 ? -1 : deadline - keyspace_time(server.keyspace);
    size_t waiters = blocking_waiter_count(c->db, c->argv[1], c->argv_len[1]);
    int as_map = client_protocol(c) == 3;
    if (as_map)
        reply_map(&c->reply, 4);
    else
        reply_array(&c->reply, 4);
    if (as_map)
        reply_bulk_cstr(&c->reply, "owner");
    reply_bulk(&c->reply, lock->owner, lock->owner_len);
    if (as_map)
        reply_bulk_cstr(&c->reply, "token");
    reply_integer(&c->reply, (int64_t)lock->token);
    if (as_map)
        reply_bulk_cstr(&c->reply, "ttl_ms");
    reply_integer(&c->reply, ttl_ms);
    if (as_map)
        reply_bulk_cstr(&c->reply, "waiters");
    reply_integer(&c->reply, (int64_t)waiters);
}

/* ---------- the native type ---------- */

static void free_lock(void *ptr, object_encoding encoding)
{
    (void)encoding;
    lock_value_free(ptr);
}

static void *copy_lock(const void *ptr, object_encoding encoding)
{
    (void)encoding;
    return lock_value_copy(ptr);
}

static void save_lock(const void *ptr, object_encoding encoding, buffer *out)
{
    (void)encoding;
    lock_value_save(ptr, out);
}

static void *load_lock(const char *bytes, size_t len, object_encoding *encoding)
{
    lock_value *lock = lock_value_load(bytes, len);
    if (lock == NULL)
        return NULL;
    *encoding = ENCODING_NATIVE;
    /* Tokens issued after a reload must beat the ones it brought back, even
     * if the clock is now behind the clock that issued them. */
    fencing_observe(&server.last_token, lock->token);
    return lock;
}

static size_t lock_memory(const void *ptr, object_encoding encoding, size_t samples)
{
    (void)encoding;
    (void)samples;
    return lock_value_memory(ptr);
}

static void lock_expiring(const void *ptr, object_encoding encoding)
{
    (void)ptr;
    (void)encoding;
    server.primitives.lock_expired++;
}

void lock_register_type(keyspace *ks)
{
    static const object_methods methods = {.free_value = free_lock,
                                           .copy_value = copy_lock,
                                           .save_value = save_lock,
                                           .load_value = load_lock,
                                           .memory_usage = lock_memory,
                                           .expiring_value = lock_expiring};
    keyspace_register_type(ks, OBJECT_LOCK, &methods);
}

#define C_LOCK_WAIT (C_W | C_SLOW | ACL_BLOCKING)

const command lock_command_rows[] = {
    ROW("lock.acquire", -4, W | DOOM | CMD_BLOCKING, C_LOCK_WAIT, 1, 1, 1,
        KEY_WRITE_UPDATE | KEY_INSERT, command_lock_acquire, "lock", "0.1.0", "O(1)",
        "Acquires a leased lock and returns its fencing token; optionally waits in line for it."),
    ROW("lock.extend", 4, W | FAST, C_W | C_FAST, 1, 1, 1, KEY_WRITE_UPDATE, command_lock_extend,
        "lock", "0.1.0", "O(1)", "Sets a held lock's lease to a new TTL, if the owner holds it."),
    ROW("lock.info", 2, R | FAST, C_R | C_FAST, 1, 1, 1, KEY_READ, command_lock_info, "lock",
        "0.1.0", "O(1)", "Returns a lock's owner, fencing token, remaining lease and waiters."),
    ROW("lock.release", 3, W | FAST, C_W | C_FAST, 1, 1, 1, KEY_DEL, command_lock_release, "lock",
        "0.1.0", "O(1)", "Releases a lock held by the owner and hands it to the next waiter."),
    {0}};
