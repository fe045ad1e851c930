/* Persistence commands: SAVE and BGSAVE (snapshots, rivet/snapshot.h), and
 * DUMP / RESTORE, which move one key's value in Redis's serialized format
 * (rivet/rdb.h) so that migration tools work between Redis and Rivet in both
 * directions. Argument checks run in Redis 7.0's order, because clients see
 * which error wins. */
#include <string.h>

#include "handlers.h"
#include "rivet/aof.h"
#include "rivet/rdb.h"
#include "rivet/server.h"
#include "rivet/snapshot.h"

#include "table.h"

#define ERR_BGSAVE_RUNNING "ERR Background save already in progress"

static void command_save(client *c)
{
    if (snapshot_get_status()->bgsave_in_progress) {
        reply_error(&c->reply, ERR_BGSAVE_RUNNING);
        return;
    }
    if (snapshot_save() == 0)
        reply_ok(&c->reply);
    else
        reply_error(&c->reply, "ERR");
}

/* BGSAVE [SCHEDULE]: while an AOF rewrite child runs, SCHEDULE starts the
 * save once it is done; without it the command fails, as in Redis. */
static void command_bgsave(client *c)
{
    if (c->argc > 2 || (c->argc == 2 && !argument_is(c, 1, "schedule"))) {
        reply_error(&c->reply, ERR_SYNTAX);
        return;
    }
    if (snapshot_get_status()->bgsave_in_progress) {
        reply_error(&c->reply, ERR_BGSAVE_RUNNING);
        return;
    }
    if (aof_child_running()) {
        /* One fork at a time, as in Redis. */
        if (c->argc == 2) {
            aof_schedule_bgsave();
            reply_status(&c->reply, "Background saving scheduled");
        } else {
            reply_error(&c->reply, "ERR Another child process is active (AOF?): can't BGSAVE "
                                   "right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE "
                                   "whenever possible.");
        }
        return;
    }
    if (snapshot_background_save() == 0)
        reply_status(&c->reply, "Background saving started");
    else
        reply_error(&c->reply, "ERR");
}

/* BGREWRITEAOF: a forked child writes a new base; while a BGSAVE child
 * runs the rewrite waits for it (scheduled), as in Redis. */
static void command_bgrewriteaof(client *c)
{
    int scheduled;
    int rc = aof_rewrite_background(&scheduled);
    if (rc == -2)
        reply_error(&c->reply, "ERR Background append only file rewriting already in progress");
    else if (rc != 0)
        reply_error(&c->reply, "ERR Can't execute an AOF background rewriting. Please check the "
                               "server logs for more information.");
    else if (scheduled)
        reply_status(&c->reply, "Background append only file rewriting scheduled");
    else
        reply_status(&c->reply, "Background append only file rewriting started");
}

static void command_dump(client *c)
{
    kv_entry *e = keyspace_lookup_read(c->db, c->argv[1], c->argv_len[1], 0);
    if (e == NULL) {
        reply_null(&c->reply);
        return;
    }
    if (!rdb_entry_serializable(server.keyspace, e)) {
        reply_errorf(&c->reply, "ERR DUMP is not supported for keys of type %s",
                     object_type_name(entry_type(e)));
        return;
    }
    buffer payload;
    buffer_init(&payload);
    rdb_dump_payload(server.keyspace, e, &payload);
    reply_bulk(&c->reply, payload.data, payload.len);
    buffer_release(&payload);
}

typedef struct restore_options {
    int replace;
    int absttl;
    int64_t idle; /* -1: not given */
    int64_t freq; /* -1: not given */
} restore_options;

static int parse_restore_options(client *c, restore_options *o)
{
    o->replace = o->absttl = 0;
    o->idle = o->freq = -1;
    for (int j = 4; j < c->argc; j++) {
        int more = c->argc - j - 1;
        if (argument_is(c, j, "replace")) {
            o->replace = 1;
        } else if (argument_is(c, j, "absttl")) {
            o->absttl = 1;
        } else if (argument_is(c, j, "idletime") && more >= 1 && o->freq == -1) {
            if (!argument_int64(c, j + 1, &o->idle))
                return 0;
            if (o->idle < 0) {
                reply_error(&c->reply, "ERR Invalid IDLETIME value, must be >= 0");
                return 0;
            }
            j++;
        } else if (argument_is(c, j, "freq") && more >= 1 && o->idle == -1) {
            if (!argument_int64(c, j + 1, &o->freq))
                return 0;
            if (o->freq < 0 || o->freq > 255) {
                reply_error(&c->reply, "ERR Invalid FREQ value, must be >= 0 and <= 255");
                return 0;
            }
            j++;
        } else {
            reply_error(&c->reply, ERR_SYNTAX);
            return 0;
        }
    }
    return 1;
}

/* RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f]. As in
 * Redis, IDLETIME counts under an LRU policy and FREQ under an LFU one. */
static void command_restore(client *c)
{
    restore_options o;
    if (!parse_restore_options(c, &o))
        return;
    const char *key = c->argv[1];
    size_t key_len = c->argv_len[1];
    if (!o.replace && keyspace_lookup(c->db, key, key_len) != NULL) {
        reply_error(&c->reply, "BUSYKEY Target key name already exists.");
        return;
    }
    int64_t ttl;
    if (!argument_int64(c, 2, &ttl))
        return;
    if (ttl < 0) {
        reply_error(&c->reply, "ERR Invalid TTL value, must be >= 0");
        return;
    }
    if (rdb_payload_verify(c->argv[3], c->argv_len[3]) != 0) {
        reply_error(&c->reply, "ERR DUMP payload version or checksum are wrong");
        return;
    }
    rdb_value value;
    if (rdb_payload_decode(server.keyspace, c->argv[3], c->argv_len[3], &value) != 0) {
        reply_error(&c->reply, "ERR Bad data format");
        return;
    }
    int deleted = o.replace && delete_replaced_key(c->db, key, key_len);
    if (ttl && !o.absttl)
        ttl += server.now_ms;
    if (ttl && ttl <= server.now_ms) {
        /* Already expired: the key simply goes (Redis replies OK too). */
        rdb_value_release(server.keyspace, &value);
        if (deleted)
            keyspace_signal_modified(c->db, key, key_len, "del", EVENT_GENERIC);
        reply_ok(&c->reply);
        return;
    }
    kv_entry *e = rdb_value_store(c->db, key, key_len, &value);
    if (ttl)
        e = keyspace_set_expire(c->db, e, ttl);
    keyspace_entry_set_access(server.keyspace, e, o.idle, (int)o.freq);
    keyspace_signal_modified(c->db, key, key_len, "restore", EVENT_GENERIC);
    reply_ok(&c->reply);
}

const command persist_command_rows[] = {
    ROW("save", 1, ADMIN | NOSCRIPT | CMD_NO_ASYNC_LOADING | CMD_NO_MULTI,
        C_ADMIN | C_SLOW | C_DANGER, 0, 0, 0, 0, command_save, "server", "1.0.0",
        "O(N) where N is the total number of keys in all databases",
        "Synchronously saves the database(s) to disk."),
    ROW("bgsave", -1, ADMIN | NOSCRIPT | CMD_NO_ASYNC_LOADING, C_ADMIN | C_SLOW | C_DANGER, 0, 0, 0,
        0, command_bgsave, "server", "1.0.0", "O(1)",
        "Asynchronously saves the database(s) to disk."),
    ROW("bgrewriteaof", 1, ADMIN | NOSCRIPT | CMD_NO_ASYNC_LOADING, C_ADMIN | C_SLOW | C_DANGER, 0,
        0, 0, 0, command_bgrewriteaof, "server", "1.0.0", "O(1)",
        "Asynchronously rewrites the append-only file to disk."),
    ROW("dump", 2, R, C_KS | C_R | C_SLOW, 1, 1, 1, KEY_RO | KEY_ACCESS, command_dump, "generic",
        "2.6.0",
        "O(1) to access the key and additional O(N*M) to serialize it, where N is the number of "
        "Redis objects composing the value and M their average size. For small string values the "
        "time complexity is thus O(1)+O(1*M) where M is small, so simply O(1).",
        "Returns a serialized representation of the value stored at a key."),
    ROW("restore", -4, W | DOOM, C_KS | C_W | C_SLOW | C_DANGER, 1, 1, 1, KEY_OW | KEY_UPDATE,
        command_restore, "generic", "2.6.0",
        "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, "
        "where N is the number of Redis objects composing the value and M their average size. "
        "For small string values the time complexity is thus O(1)+O(1*M) where M is small, so "
        "simply O(1). However for sorted set values the complexity is O(N*M*log(N)) because "
        "inserting values into sorted sets is O(log(N)).",
        "Creates a key from the serialized representation of a value."),
    {0}};
