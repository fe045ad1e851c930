/* LZF, written from the format description.
 *
 * The compressed stream is a sequence of items, each opened by a control
 * byte:
 *      000LLLLL                 L+1 literal bytes follow (1..32)
 *      LLLooooo oooooooo        back reference of L+2 bytes (L = 1..6)
 *      111ooooo LLLLLLLL oooooooo  back reference of L+9 bytes
 * The 13-bit offset o means "start o+1 bytes before the current output
 * position", so a reference may overlap the bytes it produces (runs).
 *
 * The compressor keeps a table from a hash of the next three input bytes to
 * the last position they were seen at; a candidate inside the window whose
 * bytes really match becomes a reference, anything else is a literal. */
#include "rivet/lzf.h"

#include <stdint.h>
#include <string.h>

#define MAX_LITERAL 32
#define MAX_OFFSET  (1 << 13)
#define MAX_REF     (2 + 7 + 255) /* longest back reference */
/* The table of seen positions is sized to the input (between 2^8 and 2^14
 * slots): snapshots compress millions of short strings, and clearing a
 * 64 KB table for a 30-byte string would cost more than compressing it. */
#define HASH_BITS_MIN 8
#define HASH_BITS_MAX 14
#define HASH_SIZE_MAX (1 << HASH_BITS_MAX)

static inline uint32_t hash3(const unsigned char *p, int bits)
{
    uint32_t v = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
    return (v * 2654435761u) >> (32 - bits);
}

/* The pending literal run: where its control byte sits and its length. */
typedef struct literal_run {
    size_t control;
    size_t length;
} literal_run;

size_t lzf_compress(const void *in_ptr, size_t in_len, void *out_ptr, size_t out_cap)
{
    const unsigned char *in = in_ptr;
    unsigned char *out = out_ptr;
    /* Positions are stored +1 so that 0 means "never seen". */
    uint32_t seen[HASH_SIZE_MAX];
    int bits = HASH_BITS_MIN;
    while (bits < HASH_BITS_MAX && ((size_t)1 << bits) < in_len)
        bits++;
    memset(seen, 0, sizeof(uint32_t) << bits);
    size_t ip = 0, op = 0;
    literal_run run = {0, 0};

    if (in_len == 0)
        return 0;
    while (ip < in_len) {
        size_t match = 0, offset = 0;
        if (ip + 2 < in_len) {
            uint32_t h = hash3(in + ip, bits);
            size_t candidate = seen[h];
            seen[h] = (uint32_t)(ip + 1);
            if (candidate && ip - (candidate - 1) <= MAX_OFFSET) {
                size_t from = candidate - 1;
                size_t limit = in_len - ip < MAX_REF ? in_len - ip : MAX_REF;
                while (match < limit && in[from + match] == in[ip + match])
                    match++;
                offset = ip - from - 1;
            }
        }
        if (match >= 3) {
            size_t len = match - 2;
            size_t need = len < 7 ? 2 : 3;
            if (op + need > out_cap)
                return 0;
            if (len < 7) {
                out[op++] = (unsigned char)(len << 5 | offset >> 8);
            } else {
                out[op++] = (unsigned char)(7 << 5 | offset >> 8);
                out[op++] = (unsigned char)(len - 7);
            }
            out[op++] = (unsigned char)(offset & 0xff);
            run.length = 0;
            /* Index the positions the reference covered so later data can
             * match them too (the first was indexed above). */
            for (size_t k = 1; k < match && ip + k + 2 < in_len; k++)
                seen[hash3(in + ip + k, bits)] = (uint32_t)(ip + k + 1);
            ip += match;
            continue;
        }
        if (run.length == 0) {
            if (op + 2 > out_cap)
                return 0;
            run.control = op++;
        } else if (op + 1 > out_cap) {
            return 0;
        }
        out[op++] = in[ip++];
        out[run.control] = (unsigned char)run.length;
        if (++run.length == MAX_LITERAL)
            run.length = 0;
    }
    return op;
}

size_t lzf_decompress(const void *in_ptr, size_t in_len, void *out_ptr, size_t out_cap)
{
    const unsigned char *in = in_ptr;
    unsigned char *out = out_ptr;
    size_t ip = 0, op = 0;

    while (ip < in_len) {
        unsigned control = in[ip++];
        if (control < 32) {
            size_t len = control + 1;
            if (ip + len > in_len || op + len > out_cap)
                return 0;
            memcpy(out + op, in + ip, len);
            ip += len;
            op += len;
            continue;
        }
        size_t len = control >> 5;
        if (len == 7) {
            if (ip >= in_len)
                return 0;
            len += in[ip++];
        }
        len += 2;
        if (ip >= in_len)
            return 0;
        size_t back = ((size_t)(control & 0x1f) << 8 | in[ip++]) + 1;
        if (back > op || op + len > out_cap)
            return 0;
        /* Byte by byte: the source may overlap what is being written. */
        for (size_t k = 0; k < len; k++, op++)
            out[op] = out[op - back];
    }
    return op;
}
