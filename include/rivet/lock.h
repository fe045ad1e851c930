/* lock: the value behind a LOCK.* key (owner and fencing token), the
 * decisions LOCK.ACQUIRE / RELEASE / EXTEND take on it, and the fencing-token
 * generator. Pure state: the caller passes the clock in, the key's TTL is the
 * lease, and waiting belongs to the blocking module. Tokens from one
 * generator strictly increase, even when the wall clock steps backwards. */
#ifndef RIVET_LOCK_H
#define RIVET_LOCK_H

#include <stddef.h>
#include <stdint.h>

#include "rivet/buffer.h"

/* Next token: max(*last + 1, now_us), stored back in *last. Tokens near the
 * wall clock in microseconds stay ahead of any token issued before a restart
 * that lost *last, as long as the clock did not go back across the restart. */
uint64_t fencing_next(uint64_t *last, int64_t now_us);
/* Makes sure later tokens exceed token (one read back from a snapshot). */
void fencing_observe(uint64_t *last, uint64_t token);

typedef struct lock_value {
    uint64_t token;
    size_t owner_len;
    char owner[]; /* not NUL-terminated: owners are binary-safe */
} lock_value;

lock_value *lock_value_create(const char *owner, size_t owner_len, uint64_t token);
void lock_value_free(lock_value *lock);
lock_value *lock_value_copy(const lock_value *lock);
int lock_value_owned_by(const lock_value *lock, const char *owner, size_t owner_len);
size_t lock_value_memory(const lock_value *lock);

/* Serialized form: "LK", a version byte, the token (8 bytes little-endian),
 * the owner length (4 bytes little-endian) and the owner. load returns NULL
 * on anything malformed (bad header, unknown version, truncated, trailing). */
void lock_value_save(const lock_value *lock, buffer *out);
lock_value *lock_value_load(const char *bytes, size_t len);

typedef enum lock_acquire_outcome {
    LOCK_GRANTED,   /* was free: *current is a new value with a new token */
    LOCK_REENTERED, /* the same owner holds it: same token, caller refreshes the TTL */
    LOCK_BUSY       /* another owner holds it, or others queued first */
} lock_acquire_outcome;

/* One LOCK.ACQUIRE. *current is NULL when the key holds no lock. queued_ahead
 * is nonzero when other clients wait for this lock and the caller is not one
 * of them being served: a free lock then goes to the queue, not to the caller
 * (no barging). On LOCK_GRANTED / LOCK_REENTERED *token is the lock's token. */
lock_acquire_outcome lock_acquire(lock_value **current, const char *owner, size_t owner_len,
                                  int queued_ahead, uint64_t *last_token, int64_t now_us,
                                  uint64_t *token);

#endif
