/* Lock values and fencing tokens (see include/rivet/lock.h). The value is one
 * allocation: the token and the owner bytes behind it. Expiry is the key's
 * TTL, so nothing here looks at deadlines. */
#include "rivet/lock.h"

#include <string.h>

#include "rivet/memory.h"

#define LOCK_FORMAT_VERSION 1
#define LOCK_HEADER_BYTES   (2 + 1 + 8 + 4)

uint64_t fencing_next(uint64_t *last, int64_t now_us)
{
    uint64_t token = *last + 1;
    /* The clock only ever raises the floor: a clock stepping back cannot
     * make a token repeat or shrink. */
    if (now_us > 0 && (uint64_t)now_us > token)
        token = (uint64_t)now_us;
    *last = token;
    return token;
}

void fencing_observe(uint64_t *last, uint64_t token)
{
    if (token > *last)
        *last = token;
}

lock_value *lock_value_create(const char *owner, size_t owner_len, uint64_t token)
{
    lock_value *lock = mem_alloc(sizeof(*lock) + owner_len);
    lock->token = token;
    lock->owner_len = owner_len;
    memcpy(lock->owner, owner, owner_len);
    return lock;
}

void lock_value_free(lock_value *lock)
{
    mem_free(lock);
}

lock_value *lock_value_copy(const lock_value *lock)
{
    return lock_value_create(lock->owner, lock->owner_len, lock->token);
}

int lock_value_owned_by(const lock_value *lock, const char *owner, size_t owner_len)
{
    return lock->owner_len == owner_len && memcmp(lock->owner, owner, owner_len) == 0;
}

size_t lock_value_memory(const lock_value *lock)
{
    return mem_block_size(lock);
}

void lock_value_save(const lock_value *lock, buffer *out)
{
    buffer_append(out, "LK", 2);
    buffer_append_char(out, LOCK_FORMAT_VERSION);
    buffer_append_le(out, lock->token, 8);
    buffer_append_le(out, lock->owner_len, 4);
    buffer_append(out, lock->owner, lock->owner_len);
}

lock_value *lock_value_load(const char *bytes, size_t len)
{
    if (len < LOCK_HEADER_BYTES || memcmp(bytes, "LK", 2) != 0 || bytes[2] != LOCK_FORMAT_VERSION)
        return NULL;
    uint64_t token = buffer_read_le(bytes + 3, 8);
    uint64_t owner_len = buffer_read_le(bytes + 11, 4);
    if (owner_len != len - LOCK_HEADER_BYTES)
        return NULL;
    return lock_value_create(bytes + LOCK_HEADER_BYTES, (size_t)owner_len, token);
}

lock_acquire_outcome lock_acquire(lock_value **current, const char *owner, size_t owner_len,
                                  int queued_ahead, uint64_t *last_token, int64_t now_us,
                                  uint64_t *token)
{
    if (*current != NULL) {
        if (!lock_value_owned_by(*current, owner, owner_len))
            return LOCK_BUSY;
        *token = (*current)->token;
        return LOCK_REENTERED;
    }
    if (queued_ahead)
        return LOCK_BUSY;
    *token = fencing_next(last_token, now_us);
    *current = lock_value_create(owner, owner_len, *token);
    return LOCK_GRANTED;
}
