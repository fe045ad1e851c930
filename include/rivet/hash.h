/* hash: keyed hashing of byte strings. SipHash-1-3 with a per-process random
 * key, so a client cannot craft keys that collide in the server's tables. */
#ifndef RIVET_HASH_H
#define RIVET_HASH_H

#include <stddef.h>
#include <stdint.h>

/* Set the 16-byte key; call once at start (tests may fix it). */
void hash_set_seed(const uint8_t seed[16]);
uint64_t hash_bytes(const void *data, size_t len);
/* Same hash over the ASCII-lowercased bytes (command names, config names). */
uint64_t hash_bytes_nocase(const void *data, size_t len);
/* SipHash-c-d with an explicit key, independent of the seed above; exists so
 * the tests can check the implementation against the published 2-4 vectors. */
uint64_t hash_siphash(const uint8_t key[16], int compression_rounds, int final_rounds,
                      const void *data, size_t len);

#endif
