/* SipHash, written from the description in Aumasson and Bernstein's paper
 * "SipHash: a fast short-input PRF" (2012). The state is four 64-bit words
 * initialised from the key and four constants; each 8-byte little-endian word
 * of the message is mixed in with c rounds, and d rounds finish it off.
 *
 * The server uses SipHash-1-3: one compression round and three finalisation
 * rounds are enough to keep the output unpredictable to someone who does not
 * know the key (which is what stops hash flooding) and cost about half of the
 * 2-4 variant on short keys. The round counts are parameters of one inlined
 * function so that the test can check the 2-4 variant against the published
 * vectors; the compiler specialises each caller on its constant counts. */
#include "rivet/hash.h"

#include <string.h>

/* Until hash_set_seed runs (and in programs that never call it) the key is
 * fixed, so hashes are at least stable; the server replaces it with random
 * bytes at start. */
static uint64_t key_low = 0x5269766574206861ULL;
static uint64_t key_high = 0x7368206b65792121ULL;

static inline uint64_t rotate_left(uint64_t x, int bits)
{
    return (x << bits) | (x >> (64 - bits));
}

/* SipHash words are little-endian whatever the host. */
static inline uint64_t load_le64(const uint8_t *p)
{
    uint64_t x;
    memcpy(&x, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    x = __builtin_bswap64(x);
#endif
    return x;
}

/* Lowercases the eight ASCII letters of a word at once: a byte gets 0x20 added
 * exactly when it lies in 'A'..'Z'. Adding 0x80 - 'A' sets a byte's top bit
 * when the byte is >= 'A'; adding 0x80 - ('Z' + 1) sets it when the byte is >
 * 'Z'. Masking the high bits of the input off first keeps the per-byte sums
 * from carrying into the next byte, and the final "& ~x" excludes bytes that
 * were >= 0x80 to begin with. */
static inline uint64_t ascii_lower64(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ULL;
    uint64_t low7 = x & (0x7f * ones);
    uint64_t at_least_a = low7 + (0x80 - 'A') * ones;
    uint64_t above_z = low7 + (0x80 - 'Z' - 1) * ones;
    uint64_t is_upper = at_least_a & ~above_z & ~x & (0x80 * ones);
    return x | (is_upper >> 2);
}

struct sip_state {
    uint64_t v0, v1, v2, v3;
};

static inline void sip_round(struct sip_state *s)
{
    s->v0 += s->v1;
    s->v1 = rotate_left(s->v1, 13);
    s->v1 ^= s->v0;
    s->v0 = rotate_left(s->v0, 32);
    s->v2 += s->v3;
    s->v3 = rotate_left(s->v3, 16);
    s->v3 ^= s->v2;
    s->v0 += s->v3;
    s->v3 = rotate_left(s->v3, 21);
    s->v3 ^= s->v0;
    s->v2 += s->v1;
    s->v1 = rotate_left(s->v1, 17);
    s->v1 ^= s->v2;
    s->v2 = rotate_left(s->v2, 32);
}

static inline void sip_absorb(struct sip_state *s, uint64_t word, int compression_rounds)
{
    s->v3 ^= word;
    for (int i = 0; i < compression_rounds; i++)
        sip_round(s);
    s->v0 ^= word;
}

static inline __attribute__((always_inline)) uint64_t siphash(uint64_t k0, uint64_t k1,
                                                              const uint8_t *in, size_t len,
                                                              int compression_rounds,
                                                              int final_rounds, int lowercase)
{
    /* The four constants spell "somepseudorandomlygeneratedbytes". */
    struct sip_state s = {
        k0 ^ 0x736f6d6570736575ULL,
        k1 ^ 0x646f72616e646f6dULL,
        k0 ^ 0x6c7967656e657261ULL,
        k1 ^ 0x7465646279746573ULL,
    };

    const uint8_t *end = in + (len & ~(size_t)7);
    for (; in != end; in += 8) {
        uint64_t word = load_le64(in);
        sip_absorb(&s, lowercase ? ascii_lower64(word) : word, compression_rounds);
    }

    /* The last word holds the 0-7 leftover bytes and, in its top byte, the
     * message length mod 256. */
    uint64_t last = (uint64_t)len << 56;
    size_t left = len & 7;
    for (size_t i = 0; i < left; i++)
        last |= (uint64_t)in[i] << (8 * i);
    if (lowercase)
        last = (last & 0xff00000000000000ULL) | ascii_lower64(last & 0x00ffffffffffffffULL);
    sip_absorb(&s, last, compression_rounds);

    s.v2 ^= 0xff;
    for (int i = 0; i < final_rounds; i++)
        sip_round(&s);
    return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

void hash_set_seed(const uint8_t seed[16])
{
    key_low = load_le64(seed);
    key_high = load_le64(seed + 8);
}

uint64_t hash_bytes(const void *data, size_t len)
{
    return siphash(key_low, key_high, data, len, 1, 3, 0);
}

uint64_t hash_bytes_nocase(const void *data, size_t len)
{
    return siphash(key_low, key_high, data, len, 1, 3, 1);
}

uint64_t hash_siphash(const uint8_t key[16], int compression_rounds, int final_rounds,
                      const void *data, size_t len)
{
    return siphash(load_le64(key), load_le64(key + 8), data, len, compression_rounds, final_rounds,
                   0);
}
