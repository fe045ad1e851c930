/* crc64: the CRC-64 that Redis's RDB files and DUMP payloads end with
 * (Jones polynomial, reflected input and output, initial value 0, no final
 * xor). crc64_update can be fed a stream in pieces: pass the previous result. */
#ifndef RIVET_CRC64_H
#define RIVET_CRC64_H

#include <stddef.h>
#include <stdint.h>

/* Checksum of data[0..len) continuing from crc (0 to start). */
uint64_t crc64_update(uint64_t crc, const void *data, size_t len);

#endif
