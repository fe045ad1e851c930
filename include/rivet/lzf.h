/* lzf: compression in the LZF format (Marc Lehmann's liblzf), which Redis
 * uses for strings in RDB files. Streams of literal runs and back
 * references within an 8 KB window; compressing never reads or writes past
 * the lengths given, and decompressing rejects malformed input. */
#ifndef RIVET_LZF_H
#define RIVET_LZF_H

#include <stddef.h>

/* Compresses in[0..in_len) into out (capacity out_cap). Returns the
 * compressed size, or 0 when the result would not fit in out_cap (callers
 * then store the data uncompressed). */
size_t lzf_compress(const void *in, size_t in_len, void *out, size_t out_cap);

/* Decompresses in[0..in_len) into out (capacity out_cap). Returns the
 * decompressed size, or 0 when the input is malformed or does not fit. */
size_t lzf_decompress(const void *in, size_t in_len, void *out, size_t out_cap);

#endif
