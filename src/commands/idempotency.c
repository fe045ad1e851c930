/* IDEM.BEGIN / COMPLETE / ABORT / GET: stored-response idempotency records
 * (Stripe's idempotency keys as one command each). The state machine lives
 * in src/primitives/idempotency.c; here the key's TTL follows the record: an
 * in-progress record lives as long as its lease (a crashed holder's record
 * goes away or is taken over), a done one for the TTL COMPLETE gave it. */
#include <string.h>

#include "handlers.h"
#include "rivet/idempotency.h"
#include "rivet/lock.h"
#include "rivet/server.h"

#include "table.h"

#define ERR_MISMATCH "MISMATCH idempotency key reused with a different request fingerprint"

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

static kv_entry *lookup_record_write(client *c, int *wrong_type)
{
    kv_entry *e = keyspace_lookup(c->db, c->argv[1], c->argv_len[1]);
    *wrong_type = e != NULL && entry_type(e) != OBJECT_IDEMPOTENCY;
    if (*wrong_type)
        reply_error(&c->reply, ERR_WRONGTYPE);
    return *wrong_type ? NULL : e;
}

static void signal_record(client *c, const char *event)
{
    keyspace_signal_modified(c->db, c->argv[1], c->argv_len[1], event, EVENT_GENERIC);
}

/* IDEM.BEGIN's reply: a two-element array in both protocols, so callers
 * can destructure [state, value] the same way whatever they negotiated. */
static void reply_begin_integer(client *c, const char *state, int64_t value)
{
    reply_array(&c->reply, 2);
    reply_bulk_cstr(&c->reply, state);
    reply_integer(&c->reply, value);
}

/* IDEM.BEGIN key lease_ms [FINGERPRINT fp] */
static void command_idem_begin(client *c)
{
    int64_t lease_ms;
    if (!parse_ttl_ms(c, 2, "idem.begin", &lease_ms))
        return;
    idem_begin_request request = {.now_us = server.now_us, .lease_ms = lease_ms};
    if (c->argc == 5 && argument_is(c, 3, "fingerprint")) {
        request.fingerprint = c->argv[4];
        request.fingerprint_len = c->argv_len[4];
    } else if (c->argc != 3) {
        reply_error(&c->reply, ERR_SYNTAX);
        return;
    }
    int wrong_type;
    kv_entry *e = lookup_record_write(c, &wrong_type);
    if (wrong_type)
        return;
    idem_record *record = e ? entry_object(e) : NULL;
    idem_begin_result result = idem_begin(&record, &request, &server.last_token);
    switch (result.outcome) {
    case IDEM_BEGIN_ACQUIRED:
        /* A taken-over record was replaced (and freed) by idem_begin. */
        if (e)
            entry_set_object(e, ENCODING_NATIVE, record);
        else
            e = keyspace_set_object(c->db, c->argv[1], c->argv_len[1], OBJECT_IDEMPOTENCY,
                                    ENCODING_NATIVE, record, 0);
        keyspace_set_expire(c->db, e, record->lease_deadline_ms);
        signal_record(c, "idem.begin");
        server.primitives.idempotency_acquired++;
        reply_begin_integer(c, "acquired", (int64_t)result.token);
        break;
    case IDEM_BEGIN_IN_PROGRESS:
        server.primitives.idempotency_in_progress++;
        reply_begin_integer(c, "in_progress", result.lease_left_ms);
        break;
    case IDEM_BEGIN_DONE:
        server.primitives.idempotency_done_hits++;
        reply_array(&c->reply, 2);
        reply_bulk_cstr(&c->reply, "done");
        reply_bulk(&c->reply, record->response, record->response_len);
        break;
    case IDEM_BEGIN_MISMATCH:
        server.primitives.idempotency_mismatches++;
        reply_error(&c->reply, ERR_MISMATCH);
        break;
    }
}

/* Reads argv[i] as a token: any integer parses, only issued ones match. */
static int parse_token(client *c, int i, uint64_t *token)
{
    int64_t value;
    if (!argument_int64(c, i, &value))
        return 0;
    *token = (uint64_t)value;
    return 1;
}

/* IDEM.COMPLETE key token response ttl_ms */
static void command_idem_complete(client *c)
{
    uint64_t token;
    int64_t ttl_ms;
    if (!parse_token(c, 2, &token) || !parse_ttl_ms(c, 4, "idem.complete", &ttl_ms))
        return;
    int wrong_type;
    kv_entry *e = lookup_record_write(c, &wrong_type);
    if (wrong_type)
        return;
    if (e == NULL ||
        !idem_complete(entry_object(e), token, c->argv[3], c->argv_len[3], server.now_us)) {
        reply_integer(&c->reply, 0);
        return;
    }
    keyspace_set_expire(c->db, e, keyspace_time(server.keyspace) + ttl_ms);
    signal_record(c, "idem.complete");
    reply_integer(&c->reply, 1);
}

/* IDEM.ABORT key token */
static void command_idem_abort(client *c)
{
    uint64_t token;
    if (!parse_token(c, 2, &token))
        return;
    int wrong_type;
    kv_entry *e = lookup_record_write(c, &wrong_type);
    if (wrong_type)
        return;
    if (e == NULL || !idem_may_abort(entry_object(e), token, server.now_us)) {
        reply_integer(&c->reply, 0);
        return;
    }
    keyspace_delete(c->db, c->argv[1], c->argv_len[1]);
    signal_record(c, "idem.abort");
    reply_integer(&c->reply, 1);
}

/* IDEM.GET key: [state, response or nil, ttl_ms], a map under RESP3. */
static void command_idem_get(client *c)
{
    int wrong_type;
    kv_entry *e = lookup_read_typed(c, c->argv[1], c->argv_len[1], OBJECT_IDEMPOTENCY, &wrong_type);
    if (wrong_type)
        return;
    if (e == NULL) {
        reply_null(&c->reply);
        return;
    }
    const idem_record *record = entry_object(e);
    int64_t deadline = entry_expire(e);
    int64_t ttl_ms = deadline < 0 ? -1 : deadline - keyspace_time(server.keyspace);
    int as_map = client_protocol(c) == 3;
    if (as_map)
        reply_map(&c->reply, 3);
    else
        reply_array(&c->reply, 3);
    if (as_map)
        reply_bulk_cstr(&c->reply, "state");
    reply_bulk_cstr(&c->reply, idem_state_name(record->state));
    if (as_map)
        reply_bulk_cstr(&c->reply, "response");
    if (record->state == IDEM_DONE)
        reply_bulk(&c->reply, record->response, record->response_len);
    else
        reply_null(&c->reply);
    if (as_map)
        reply_bulk_cstr(&c->reply, "ttl_ms");
    reply_integer(&c->reply, ttl_ms);
}

/* ---------- the native type ---------- */

static void free_record(void *ptr, object_encoding encoding)
{
    (void)encoding;
    idem_record_free(ptr);
}

static void *copy_record(const void *ptr, object_encoding encoding)
{
    (void)encoding;
    return idem_record_copy(ptr);
}

static void save_record(const void *ptr, object_encoding encoding, buffer *out)
{
    (void)encoding;
    idem_record_save(ptr, out);
}

static void *load_record(const char *bytes, size_t len, object_encoding *encoding)
{
    idem_record *record = idem_record_load(bytes, len);
    if (record == NULL)
        return NULL;
    *encoding = ENCODING_NATIVE;
    fencing_observe(&server.last_token, record->token);
    return record;
}

static size_t record_memory(const void *ptr, object_encoding encoding, size_t samples)
{
    (void)encoding;
    (void)samples;
    return idem_record_memory(ptr);
}

void idempotency_register_type(keyspace *ks)
{
    static const object_methods methods = {.free_value = free_record,
                                           .copy_value = copy_record,
                                           .save_value = save_record,
                                           .load_value = load_record,
                                           .memory_usage = record_memory};
    keyspace_register_type(ks, OBJECT_IDEMPOTENCY, &methods);
}

const command idempotency_command_rows[] = {
    ROW("idem.abort", 3, W | FAST, C_W | C_FAST, 1, 1, 1, KEY_DEL, command_idem_abort,
        "idempotency", "0.1.0", "O(1)",
        "Drops an in-progress idempotency record held by the token so the next delivery retries."),
    ROW("idem.begin", -3, W | DOOM | FAST, C_W | C_FAST, 1, 1, 1, KEY_WRITE_UPDATE | KEY_INSERT,
        command_idem_begin, "idempotency", "0.1.0", "O(1)",
        "Starts work under an idempotency key, or reports it in progress or done."),
    ROW("idem.complete", 5, W | DOOM | FAST, C_W | C_FAST, 1, 1, 1, KEY_WRITE_UPDATE,
        command_idem_complete, "idempotency", "0.1.0", "O(1)",
        "Stores the response of the work begun under an idempotency key."),
    ROW("idem.get", 2, R | FAST, C_R | C_FAST, 1, 1, 1, KEY_READ, command_idem_get, "idempotency",
        "0.1.0", "O(1)", "Returns an idempotency record's state, response and TTL."),
    {0}};
