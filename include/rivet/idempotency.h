/* idempotency: the record behind an IDEM.* key and its state machine. A
 * record is either in progress (a holder with a token and a lease) or done
 * (a stored response). The caller passes the clock in; tokens come from the
 * fencing generator in lock.h, so they never repeat. Nothing here knows keys,
 * TTLs or clients. */
#ifndef RIVET_IDEMPOTENCY_H
#define RIVET_IDEMPOTENCY_H

#include <stddef.h>
#include <stdint.h>

#include "rivet/buffer.h"

typedef enum idem_state { IDEM_IN_PROGRESS = 1, IDEM_DONE = 2 } idem_state;

typedef struct idem_record {
    idem_state state;
    uint64_t token;            /* the current holder's (also kept once done) */
    int64_t lease_deadline_ms; /* IN_PROGRESS: the lease has run out from then on */
    int has_fingerprint;
    char *fingerprint;
    size_t fingerprint_len;
    char *response; /* DONE only */
    size_t response_len;
} idem_record;

void idem_record_free(idem_record *record);
idem_record *idem_record_copy(const idem_record *record);
size_t idem_record_memory(const idem_record *record);

/* Serialized form: "ID", a version byte, state (1 byte), token (8 bytes
 * little-endian), lease deadline (8), a fingerprint flag (1), then the
 * fingerprint and the response, each as a 4-byte little-endian length and
 * the bytes. load returns NULL on anything malformed. */
void idem_record_save(const idem_record *record, buffer *out);
idem_record *idem_record_load(const char *bytes, size_t len);

typedef enum idem_begin_outcome {
    IDEM_BEGIN_ACQUIRED,    /* new record (or a lapsed lease taken over) */
    IDEM_BEGIN_IN_PROGRESS, /* another holder's lease is running */
    IDEM_BEGIN_DONE,        /* completed: the stored response applies */
    IDEM_BEGIN_MISMATCH     /* the key was used with a different fingerprint */
} idem_begin_outcome;

typedef struct idem_begin_request {
    int64_t now_us;
    int64_t lease_ms;        /* > 0 */
    const char *fingerprint; /* NULL: none given, nothing to compare */
    size_t fingerprint_len;
} idem_begin_request;

typedef struct idem_begin_result {
    idem_begin_outcome outcome;
    uint64_t token;        /* ACQUIRED */
    int64_t lease_left_ms; /* IN_PROGRESS */
    int taken_over;        /* ACQUIRED from a lapsed holder */
} idem_begin_result;

/* One IDEM.BEGIN on *record (NULL when the key is absent). A record whose
 * lease has lapsed counts as absent: it is replaced, fingerprint included.
 * Otherwise a given fingerprint that differs from a stored one is a
 * mismatch; when either side has none there is nothing to compare. On
 * ACQUIRED *record holds the new (or reset) in-progress record. */
idem_begin_result idem_begin(idem_record **record, const idem_begin_request *request,
                             uint64_t *last_token);

/* IDEM.COMPLETE: 1 and the record becomes DONE with response if token is
 * the holder's and its lease is running; 0 and no change otherwise. */
int idem_complete(idem_record *record, uint64_t token, const char *response, size_t response_len,
                  int64_t now_us);
/* IDEM.ABORT: 1 if token is the running holder's (the caller then deletes
 * the record so the next delivery starts afresh), 0 otherwise. */
int idem_may_abort(const idem_record *record, uint64_t token, int64_t now_us);

const char *idem_state_name(idem_state state);

#endif
