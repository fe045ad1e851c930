/* hyperloglog: a cardinality estimator stored inside a string value, laid out
 * exactly as Redis lays it out ("HYLL" header, 16384 six-bit registers, sparse
 * or dense), so values are interchangeable with Redis byte for byte.
 * No server knowledge: callers pass the string's buffer and the sparse limit. */
#ifndef RIVET_HYPERLOGLOG_H
#define RIVET_HYPERLOGLOG_H

#include <stddef.h>
#include <stdint.h>

#include "rivet/buffer.h"

#define HLL_PRECISION       14
#define HLL_REGISTER_COUNT  (1 << HLL_PRECISION)
#define HLL_REGISTER_BITS   6
#define HLL_HEADER_SIZE     16
#define HLL_DENSE_SIZE      (HLL_HEADER_SIZE + (HLL_REGISTER_COUNT * HLL_REGISTER_BITS + 7) / 8)
#define HLL_ENCODING_DENSE  0
#define HLL_ENCODING_SPARSE 1
/* Redis's default hll-sparse-max-bytes. */
#define HLL_SPARSE_MAX_BYTES_DEFAULT 3000

/* MurmurHash64A, the hash HyperLogLog feeds elements through. */
uint64_t hll_murmur64a(const void *data, size_t len, uint64_t seed);

/* Replaces b's contents with an empty sparse HyperLogLog. */
void hll_init(buffer *b);
/* Whether bytes look like a HyperLogLog (magic, known encoding, dense size). */
int hll_is_valid(const char *bytes, size_t len);
/* Adds one element. Returns 1 if a register changed, 0 if not, -1 if the
 * sparse data is corrupt. A sparse value grows past sparse_max_bytes or
 * needs a register above 32 converts to dense. */
int hll_add(buffer *b, const void *element, size_t len, size_t sparse_max_bytes);
/* Raises register index to value if it is lower (same return as hll_add). */
int hll_raise_register(buffer *b, int index, int value, size_t sparse_max_bytes);
/* Converts a sparse value to dense in place; -1 if corrupt. */
int hll_to_dense(buffer *b);
/* Folds the value's registers into max[] (max[i] = MAX(max[i], reg[i])).
 * Returns -1 if corrupt. */
int hll_merge_into(uint8_t max[HLL_REGISTER_COUNT], const char *bytes, size_t len);
/* Estimates the cardinality of a register array. */
uint64_t hll_estimate(const uint8_t registers[HLL_REGISTER_COUNT]);
/* Estimate of a stored value, ignoring the cache; -1 if corrupt. */
int hll_count(const char *bytes, size_t len, uint64_t *out);
/* The cached estimate in the header: 1 and *out set if valid. */
int hll_cache_get(const char *bytes, uint64_t *out);
void hll_cache_set(char *bytes, uint64_t value);
void hll_cache_invalidate(char *bytes);

#endif
