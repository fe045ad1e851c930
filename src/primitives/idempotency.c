/* Idempotency records (see include/rivet/idempotency.h): the Stripe-style
 * "begin, then complete or abort" protocol as a small state machine. */
#include "rivet/idempotency.h"

#include <string.h>

#include "rivet/lock.h"
#include "rivet/memory.h"

#define IDEM_FORMAT_VERSION 1
#define IDEM_HEADER_BYTES   (2 + 1 + 1 + 8 + 8 + 1)

static char *copy_bytes(const char *bytes, size_t len)
{
    /* Always a real block (even for empty strings) so a record's fields are
     * either NULL (absent) or owned memory. */
    char *copy = mem_alloc(len ? len : 1);
    if (len)
        memcpy(copy, bytes, len);
    return copy;
}

void idem_record_free(idem_record *record)
{
    if (record == NULL)
        return;
    mem_free(record->fingerprint);
    mem_free(record->response);
    mem_free(record);
}

idem_record *idem_record_copy(const idem_record *record)
{
    idem_record *copy = mem_alloc(sizeof(*copy));
    *copy = *record;
    if (record->fingerprint)
        copy->fingerprint = copy_bytes(record->fingerprint, record->fingerprint_len);
    if (record->response)
        copy->response = copy_bytes(record->response, record->response_len);
    return copy;
}

size_t idem_record_memory(const idem_record *record)
{
    return mem_block_size(record) + mem_block_size(record->fingerprint) +
           mem_block_size(record->response);
}

static void put_field(buffer *out, const char *bytes, size_t len)
{
    buffer_append_le(out, len, 4);
    if (len > 0) /* an absent field has no bytes to copy (bytes may be NULL) */
        buffer_append(out, bytes, len);
}

void idem_record_save(const idem_record *record, buffer *out)
{
    buffer_append(out, "ID", 2);
    buffer_append_char(out, IDEM_FORMAT_VERSION);
    buffer_append_char(out, (char)record->state);
    buffer_append_le(out, record->token, 8);
    buffer_append_le(out, (uint64_t)record->lease_deadline_ms, 8);
    buffer_append_char(out, record->has_fingerprint ? 1 : 0);
    put_field(out, record->fingerprint, record->has_fingerprint ? record->fingerprint_len : 0);
    put_field(out, record->response, record->response ? record->response_len : 0);
}

/* Reads one length-prefixed field at *pos; 0 if it runs past the end. */
static int take_field(const char *bytes, size_t len, size_t *pos, const char **field,
                      size_t *field_len)
{
    if (len - *pos < 4)
        return 0;
    uint64_t n = buffer_read_le(bytes + *pos, 4);
    *pos += 4;
    if (n > len - *pos)
        return 0;
    *field = bytes + *pos;
    *field_len = (size_t)n;
    *pos += (size_t)n;
    return 1;
}

idem_record *idem_record_load(const char *bytes, size_t len)
{
    if (len < IDEM_HEADER_BYTES || memcmp(bytes, "ID", 2) != 0 || bytes[2] != IDEM_FORMAT_VERSION)
        return NULL;
    int state = (unsigned char)bytes[3];
    int has_fingerprint = (unsigned char)bytes[20];
    if ((state != IDEM_IN_PROGRESS && state != IDEM_DONE) || has_fingerprint > 1)
        return NULL;
    size_t pos = IDEM_HEADER_BYTES;
    const char *fingerprint, *response;
    size_t fingerprint_len, response_len;
    if (!take_field(bytes, len, &pos, &fingerprint, &fingerprint_len) ||
        !take_field(bytes, len, &pos, &response, &response_len) || pos != len)
        return NULL;
    if ((!has_fingerprint && fingerprint_len) || (state != IDEM_DONE && response_len))
        return NULL;
    idem_record *record = mem_calloc(sizeof(*record));
    record->state = (idem_state)state;
    record->token = buffer_read_le(bytes + 4, 8);
    record->lease_deadline_ms = (int64_t)buffer_read_le(bytes + 12, 8);
    record->has_fingerprint = has_fingerprint;
    if (has_fingerprint) {
        record->fingerprint = copy_bytes(fingerprint, fingerprint_len);
        record->fingerprint_len = fingerprint_len;
    }
    if (state == IDEM_DONE) {
        record->response = copy_bytes(response, response_len);
        record->response_len = response_len;
    }
    return record;
}

static int lease_running(const idem_record *record, int64_t now_us)
{
    return record->state == IDEM_IN_PROGRESS && now_us / 1000 < record->lease_deadline_ms;
}

static int fingerprint_differs(const idem_record *record, const idem_begin_request *request)
{
    if (request->fingerprint == NULL || !record->has_fingerprint)
        return 0;
    return record->fingerprint_len != request->fingerprint_len ||
           memcmp(record->fingerprint, request->fingerprint, request->fingerprint_len) != 0;
}

idem_begin_result idem_begin(idem_record **record, const idem_begin_request *request,
                             uint64_t *last_token)
{
    idem_begin_result result = {0};
    idem_record *current = *record;
    int lapsed =
        current && current->state == IDEM_IN_PROGRESS && !lease_running(current, request->now_us);
    if (current && !lapsed) {
        if (fingerprint_differs(current, request)) {
            result.outcome = IDEM_BEGIN_MISMATCH;
        } else if (current->state == IDEM_DONE) {
            result.outcome = IDEM_BEGIN_DONE;
        } else {
            result.outcome = IDEM_BEGIN_IN_PROGRESS;
            result.lease_left_ms = current->lease_deadline_ms - request->now_us / 1000;
        }
        return result;
    }
    /* New, or a holder that stopped renewing (crashed): the record starts
     * over with a fresh token, so the old holder's COMPLETE is refused. */
    idem_record_free(current);
    idem_record *fresh = mem_calloc(sizeof(*fresh));
    fresh->state = IDEM_IN_PROGRESS;
    fresh->token = fencing_next(last_token, request->now_us);
    fresh->lease_deadline_ms = request->now_us / 1000 + request->lease_ms;
    if (request->fingerprint) {
        fresh->has_fingerprint = 1;
        fresh->fingerprint = copy_bytes(request->fingerprint, request->fingerprint_len);
        fresh->fingerprint_len = request->fingerprint_len;
    }
    *record = fresh;
    result.outcome = IDEM_BEGIN_ACQUIRED;
    result.token = fresh->token;
    result.taken_over = lapsed;
    return result;
}

int idem_complete(idem_record *record, uint64_t token, const char *response, size_t response_len,
                  int64_t now_us)
{
    if (!lease_running(record, now_us) || record->token != token)
        return 0;
    record->state = IDEM_DONE;
    record->lease_deadline_ms = 0;
    record->response = copy_bytes(response, response_len);
    record->response_len = response_len;
    return 1;
}

int idem_may_abort(const idem_record *record, uint64_t token, int64_t now_us)
{
    return lease_running(record, now_us) && record->token == token;
}

const char *idem_state_name(idem_state state)
{
    return state == IDEM_DONE ? "done" : "in_progress";
}
