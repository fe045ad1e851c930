/* sha1: the SHA-1 digest (FIPS 180-4), for naming cached scripts the way
 * Redis does (EVALSHA, SCRIPT LOAD, redis.sha1hex). Not for security: SHA-1
 * is broken for collision resistance; here it is only a stable name. */
#ifndef RIVET_SHA1_H
#define RIVET_SHA1_H

#include <stddef.h>
#include <stdint.h>

typedef struct sha1_context {
    uint32_t state[5];
    uint64_t total_bytes;
    uint8_t block[64];
    size_t block_len;
} sha1_context;

void sha1_init(sha1_context *ctx);
void sha1_update(sha1_context *ctx, const void *data, size_t len);
void sha1_final(sha1_context *ctx, uint8_t digest[20]);

/* One-shot digest of data as 40 lowercase hex digits plus a NUL. */
void sha1_hex(const void *data, size_t len, char hex[41]);

#endif
