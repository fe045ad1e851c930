/* Expiry commands: setting, reading and removing a key's TTL.
 *
 * Deadlines are absolute Unix times in milliseconds. The clock is the
 * keyspace's, which the dispatcher sets once per command, so a TTL read right
 * after it was set is exact and a script sees one consistent time. */
#include <stdint.h>

#include "handlers.h"
#include "rivet/server.h"

enum expire_condition {
    EXPIRE_IF_NONE = 1 << 0,    /* NX: only when the key has no TTL */
    EXPIRE_IF_EXISTS = 1 << 1,  /* XX: only when it has one */
    EXPIRE_IF_GREATER = 1 << 2, /* GT: only to lengthen it */
    EXPIRE_IF_LESS = 1 << 3,    /* LT: only to shorten it */
};

/* Reads the NX|XX|GT|LT options after the time. An unknown word is reported
 * before any conflict between known ones, as Redis does. */
static int parse_conditions(client *c, int *conditions)
{
    *conditions = 0;
    for (int i = 3; i < c->argc; i++) {
        if (argument_is(c, i, "nx"))
            *conditions |= EXPIRE_IF_NONE;
        else if (argument_is(c, i, "xx"))
            *conditions |= EXPIRE_IF_EXISTS;
        else if (argument_is(c, i, "gt"))
            *conditions |= EXPIRE_IF_GREATER;
        else if (argument_is(c, i, "lt"))
            *conditions |= EXPIRE_IF_LESS;
        else {
            reply_errorf(&c->reply, "ERR Unsupported option %.*s", (int)c->argv_len[i], c->argv[i]);
            return 0;
        }
    }
    if ((*conditions & EXPIRE_IF_NONE) && (*conditions & ~EXPIRE_IF_NONE)) {
        reply_error(&c->reply,
                    "ERR NX and XX, GT or LT options at the same time are not compatible");
        return 0;
    }
    if ((*conditions & EXPIRE_IF_GREATER) && (*conditions & EXPIRE_IF_LESS)) {
        reply_error(&c->reply, "ERR GT and LT options at the same time are not compatible");
        return 0;
    }
    return 1;
}

/* Whether the conditions allow replacing current (-1: no TTL, which GT and LT
 * treat as an infinite one) with deadline. */
static int conditions_allow(int conditions, int64_t current, int64_t deadline)
{
    if ((conditions & EXPIRE_IF_NONE) && current != -1)
        return 0;
    if ((conditions & EXPIRE_IF_EXISTS) && current == -1)
        return 0;
    if ((conditions & EXPIRE_IF_GREATER) && (current == -1 || deadline <= current))
        return 0;
    if ((conditions & EXPIRE_IF_LESS) && current != -1 && deadline >= current)
        return 0;
    return 1;
}

/* The four setters differ only in the unit of the time argument and whether
 * it is relative to now (base_ms) or absolute (base_ms = 0). */
static void expire_generic(client *c, int64_t base_ms, int in_seconds)
{
    int conditions;
    int64_t when;
    if (!parse_conditions(c, &conditions) || !argument_int64(c, 2, &when))
        return;
    /* Negative times are allowed (they delete the key), but a time that
     * overflows when turned into an absolute millisecond deadline is not. */
    if (in_seconds) {
        if (when > INT64_MAX / 1000 || when < INT64_MIN / 1000) {
            reply_errorf(&c->reply, "ERR invalid expire time in '%s' command",
                         c->command ? c->command->name : "expire");
            return;
        }
        when *= 1000;
    }
    if (when > INT64_MAX - base_ms) {
        reply_errorf(&c->reply, "ERR invalid expire time in '%s' command",
                     c->command ? c->command->name : "expire");
        return;
    }
    when += base_ms;

    const char *key = c->argv[1];
    size_t len = c->argv_len[1];
    kv_entry *e = keyspace_lookup(c->db, key, len);
    if (e == NULL || !conditions_allow(conditions, entry_expire(e), when)) {
        reply_integer(&c->reply, 0);
        return;
    }
    /* A deadline already reached deletes the key now, announced as a
     * deletion rather than an expiry, as Redis does. */
    if (when <= keyspace_time(server.keyspace)) {
        keyspace_delete(c->db, key, len);
        keyspace_signal_modified(c->db, key, len, "del", EVENT_GENERIC);
    } else {
        keyspace_set_expire(c->db, e, when);
        keyspace_signal_modified(c->db, key, len, "expire", EVENT_GENERIC);
    }
    reply_integer(&c->reply, 1);
}

void command_expire(client *c)
{
    expire_generic(c, keyspace_time(server.keyspace), 1);
}

void command_pexpire(client *c)
{
    expire_generic(c, keyspace_time(server.keyspace), 0);
}

void command_expireat(client *c)
{
    expire_generic(c, 0, 1);
}

void command_pexpireat(client *c)
{
    expire_generic(c, 0, 0);
}

/* TTL and friends: -2 for a missing key, -1 for a key without a TTL. Seconds
 * are rounded to the nearest, so a fresh EXPIRE k 10 reads back as 10. */
static void ttl_generic(client *c, int absolute, int in_seconds)
{
    kv_entry *e = keyspace_lookup_read(c->db, c->argv[1], c->argv_len[1], 1);
    if (e == NULL) {
        reply_integer(&c->reply, -2);
        return;
    }
    int64_t deadline = entry_expire(e);
    if (deadline == -1) {
        reply_integer(&c->reply, -1);
        return;
    }
    int64_t value = absolute ? deadline : deadline - keyspace_time(server.keyspace);
    if (value < 0)
        value = 0;
    /* Rounded without forming value + 500, which could overflow. */
    if (in_seconds)
        value = value / 1000 + (value % 1000 + 500) / 1000;
    reply_integer(&c->reply, value);
}

void command_ttl(client *c)
{
    ttl_generic(c, 0, 1);
}

void command_pttl(client *c)
{
    ttl_generic(c, 0, 0);
}

void command_expiretime(client *c)
{
    ttl_generic(c, 1, 1);
}

void command_pexpiretime(client *c)
{
    ttl_generic(c, 1, 0);
}

void command_persist(client *c)
{
    kv_entry *e = keyspace_lookup(c->db, c->argv[1], c->argv_len[1]);
    if (e == NULL || entry_expire(e) == -1) {
        reply_integer(&c->reply, 0);
        return;
    }
    keyspace_set_expire(c->db, e, -1);
    keyspace_signal_modified(c->db, c->argv[1], c->argv_len[1], "persist", EVENT_GENERIC);
    reply_integer(&c->reply, 1);
}
