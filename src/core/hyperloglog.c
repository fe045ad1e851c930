/* HyperLogLog kept in a string. The layout and every update rule follow
 * Redis's so that the same PFADD sequence yields the same bytes:
 *
 *   header: "HYLL", encoding byte, 3 zero bytes, 8-byte little-endian cached
 *           cardinality whose top bit marks the cache stale.
 *   dense:  16384 registers of 6 bits, packed LSB first.
 *   sparse: run-length opcodes
 *           00xxxxxx           ZERO  run of xxxxxx+1 zero registers (1..64)
 *           01xxxxxx yyyyyyyy  XZERO run of 14-bit value + 1 (1..16384)
 *           1vvvvvll           VAL   ll+1 registers (1..4) holding vvvvv+1
 */
#include <math.h>
#include <string.h>

#include "rivet/hyperloglog.h"
#include "rivet/memory.h"

#define HLL_SEED        0xadc83b19ULL
#define HLL_Q           (64 - HLL_PRECISION)
#define HLL_ALPHA_INF   0.721347520444481703680
#define ZERO_MAX_LEN    64
#define XZERO_MAX_LEN   16384
#define VAL_MAX_VALUE   32
#define VAL_MAX_LEN     4
#define CACHE_STALE_BIT 0x80

#define IS_XZERO(p) ((*(p)&0xc0) == 0x40)
#define IS_ZERO(p)  ((*(p)&0xc0) == 0x00)
#define IS_VAL(p)   ((*(p)&0x80) != 0)

static int zero_length(const uint8_t *p)
{
    return (*p & 0x3f) + 1;
}
static int xzero_length(const uint8_t *p)
{
    return (((p[0] & 0x3f) << 8) | p[1]) + 1;
}
static int val_value(const uint8_t *p)
{
    return ((*p >> 2) & 0x1f) + 1;
}
static int val_length(const uint8_t *p)
{
    return (*p & 0x3) + 1;
}
static void put_zero(uint8_t *p, int len)
{
    *p = (uint8_t)(len - 1);
}
static void put_xzero(uint8_t *p, int len)
{
    len--;
    p[0] = (uint8_t)((len >> 8) | 0x40);
    p[1] = (uint8_t)(len & 0xff);
}
static void put_val(uint8_t *p, int value, int len)
{
    *p = (uint8_t)((((value - 1) << 2) | (len - 1)) | 0x80);
}
/* Writes a zero run of len with the shortest opcode; returns bytes used. */
static int put_zero_run(uint8_t *p, int len)
{
    if (len > ZERO_MAX_LEN) {
        put_xzero(p, len);
        return 2;
    }
    put_zero(p, len);
    return 1;
}

uint64_t hll_murmur64a(const void *data, size_t len, uint64_t seed)
{
    const uint64_t m = 0xc6a4a7935bd1e995ULL;
    const int r = 47;
    uint64_t h = seed ^ (len * m);
    const uint8_t *bytes = data;
    size_t blocks = len / 8;
    for (size_t i = 0; i < blocks; i++) {
        uint64_t k = 0;
        for (int b = 7; b >= 0; b--) /* little-endian read on any host */
            k = (k << 8) | bytes[i * 8 + (size_t)b];
        k *= m;
        k ^= k >> r;
        k *= m;
        h ^= k;
        h *= m;
    }
    const uint8_t *tail = bytes + blocks * 8;
    size_t rest = len & 7;
    if (rest) {
        for (size_t b = rest; b > 0; b--)
            h ^= (uint64_t)tail[b - 1] << (8 * (b - 1));
        h *= m;
    }
    h ^= h >> r;
    h *= m;
    h ^= h >> r;
    return h;
}

/* The register an element lands in and the run length of zeros (plus one)
 * in the rest of its hash, capped at HLL_Q + 1 by a sentinel bit. */
static int element_position(const void *element, size_t len, int *index)
{
    uint64_t hash = hll_murmur64a(element, len, HLL_SEED);
    *index = (int)(hash & (HLL_REGISTER_COUNT - 1));
    hash >>= HLL_PRECISION;
    hash |= 1ULL << HLL_Q;
    int count = 1;
    for (uint64_t bit = 1; (hash & bit) == 0; bit <<= 1)
        count++;
    return count;
}

static int dense_get(const uint8_t *registers, int index)
{
    size_t bit = (size_t)index * HLL_REGISTER_BITS;
    size_t byte = bit / 8;
    unsigned shift = bit & 7;
    unsigned low = registers[byte] >> shift;
    unsigned high = byte + 1 < (size_t)(HLL_DENSE_SIZE - HLL_HEADER_SIZE)
                        ? (unsigned)registers[byte + 1] << (8 - shift)
                        : 0;
    return (int)((low | high) & 0x3f);
}

static void dense_set(uint8_t *registers, int index, int value)
{
    size_t bit = (size_t)index * HLL_REGISTER_BITS;
    size_t byte = bit / 8;
    unsigned shift = bit & 7;
    unsigned v = (unsigned)value;
    registers[byte] &= (uint8_t) ~(0x3fu << shift);
    registers[byte] |= (uint8_t)(v << shift);
    if (shift > 2) { /* the register spills into the next byte */
        registers[byte + 1] &= (uint8_t) ~(0x3fu >> (8 - shift));
        registers[byte + 1] |= (uint8_t)(v >> (8 - shift));
    }
}

void hll_init(buffer *b)
{
    b->len = 0;
    buffer_reserve(b, HLL_HEADER_SIZE + 2);
    memset(b->data, 0, HLL_HEADER_SIZE);
    memcpy(b->data, "HYLL", 4);
    b->data[4] = HLL_ENCODING_SPARSE;
    put_xzero((uint8_t *)b->data + HLL_HEADER_SIZE, HLL_REGISTER_COUNT);
    b->len = HLL_HEADER_SIZE + 2;
    b->data[b->len] = '\0';
}

int hll_is_valid(const char *bytes, size_t len)
{
    if (len < HLL_HEADER_SIZE || memcmp(bytes, "HYLL", 4) != 0)
        return 0;
    if (bytes[4] != HLL_ENCODING_DENSE && bytes[4] != HLL_ENCODING_SPARSE)
        return 0;
    if (bytes[4] == HLL_ENCODING_DENSE && len != HLL_DENSE_SIZE)
        return 0;
    return 1;
}

int hll_cache_get(const char *bytes, uint64_t *out)
{
    const uint8_t *card = (const uint8_t *)bytes + 8;
    if (card[7] & CACHE_STALE_BIT)
        return 0;
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | card[i];
    *out = v;
    return 1;
}

void hll_cache_set(char *bytes, uint64_t value)
{
    for (int i = 0; i < 8; i++)
        bytes[8 + i] = (char)((value >> (8 * i)) & 0xff);
}

void hll_cache_invalidate(char *bytes)
{
    bytes[15] = (char)((uint8_t)bytes[15] | CACHE_STALE_BIT);
}

/* Calls visit(ctx, first_register, run_length, value) for every sparse run.
 * Returns -1 if the opcodes do not cover exactly 16384 registers. */
typedef void (*run_visit_fn)(void *ctx, int first, int len, int value);
static int sparse_for_each_run(const char *bytes, size_t len, run_visit_fn visit, void *ctx)
{
    const uint8_t *p = (const uint8_t *)bytes + HLL_HEADER_SIZE;
    const uint8_t *end = (const uint8_t *)bytes + len;
    int index = 0;
    while (p < end) {
        int run, value = 0;
        if (IS_ZERO(p)) {
            run = zero_length(p);
            p++;
        } else if (IS_XZERO(p)) {
            if (p + 1 >= end)
                return -1;
            run = xzero_length(p);
            p += 2;
        } else {
            run = val_length(p);
            value = val_value(p);
            p++;
        }
        if (index + run > HLL_REGISTER_COUNT)
            return -1;
        visit(ctx, index, run, value);
        index += run;
    }
    return index == HLL_REGISTER_COUNT ? 0 : -1;
}

static void visit_store(void *ctx, int first, int len, int value)
{
    uint8_t *registers = ctx;
    if (value)
        for (int i = 0; i < len; i++)
            dense_set(registers, first + i, value);
}

int hll_to_dense(buffer *b)
{
    if (b->data[4] == HLL_ENCODING_DENSE)
        return 0;
    uint8_t *dense = mem_calloc(HLL_DENSE_SIZE - HLL_HEADER_SIZE);
    if (sparse_for_each_run(b->data, b->len, visit_store, dense) < 0) {
        mem_free(dense);
        return -1;
    }
    /* The header (cached count included) carries over; only the encoding
     * byte changes. */
    buffer_reserve(b, HLL_DENSE_SIZE - b->len);
    memcpy(b->data + HLL_HEADER_SIZE, dense, HLL_DENSE_SIZE - HLL_HEADER_SIZE);
    b->data[4] = HLL_ENCODING_DENSE;
    b->len = HLL_DENSE_SIZE;
    b->data[b->len] = '\0';
    mem_free(dense);
    return 0;
}

static int dense_raise(buffer *b, int index, int value)
{
    uint8_t *registers = (uint8_t *)b->data + HLL_HEADER_SIZE;
    if (dense_get(registers, index) >= value)
        return 0;
    dense_set(registers, index, value);
    return 1;
}

/* Two adjacent VAL opcodes with the same value merge while the combined
 * length fits; Redis looks at up to five opcodes from the one before the
 * change, and so must we for identical bytes. */
static void sparse_merge_neighbours(buffer *b, size_t from)
{
    uint8_t *p = (uint8_t *)b->data + from;
    uint8_t *end = (uint8_t *)b->data + b->len;
    int budget = 5;
    while (p < end && budget--) {
        if (IS_XZERO(p)) {
            p += 2;
            continue;
        }
        if (IS_ZERO(p)) {
            p++;
            continue;
        }
        if (p + 1 < end && IS_VAL(p + 1) && val_value(p) == val_value(p + 1)) {
            int len = val_length(p) + val_length(p + 1);
            if (len <= VAL_MAX_LEN) {
                put_val(p + 1, val_value(p), len);
                memmove(p, p + 1, (size_t)(end - p - 1));
                b->len--;
                end--;
                b->data[b->len] = '\0';
                continue;
            }
        }
        p++;
    }
}

int hll_raise_register(buffer *b, int index, int value, size_t sparse_max_bytes)
{
    if (b->data[4] == HLL_ENCODING_DENSE)
        return dense_raise(b, index, value);
    if (value > VAL_MAX_VALUE)
        goto promote;

    /* Find the opcode covering index, remembering the one before it. */
    uint8_t *start = (uint8_t *)b->data + HLL_HEADER_SIZE;
    uint8_t *end = (uint8_t *)b->data + b->len;
    uint8_t *p = start, *prev = NULL;
    int first = 0, span = 0;
    while (p < end) {
        int size = 1;
        if (IS_ZERO(p)) {
            span = zero_length(p);
        } else if (IS_VAL(p)) {
            span = val_length(p);
        } else {
            span = xzero_length(p);
            size = 2;
        }
        if (index <= first + span - 1)
            break;
        prev = p;
        p += size;
        first += span;
    }
    if (p >= end || (IS_XZERO(p) && p + 1 >= end))
        return -1;

    int is_val = IS_VAL(p), is_xzero = IS_XZERO(p), is_zero = IS_ZERO(p);
    if (is_val) {
        if (val_value(p) >= value)
            return 0;
        if (span == 1) {
            put_val(p, value, 1);
            goto updated;
        }
    }
    if (is_zero && span == 1) {
        put_val(p, value, 1);
        goto updated;
    }

    /* General case: split the run into at most three opcodes around index. */
    uint8_t seq[5];
    uint8_t *n = seq;
    int last = first + span - 1;
    if (is_val) {
        int old = val_value(p);
        if (index != first)
            put_val(n++, old, index - first);
        put_val(n++, value, 1);
        if (index != last)
            put_val(n++, old, last - index);
    } else {
        if (index != first)
            n += put_zero_run(n, index - first);
        put_val(n++, value, 1);
        if (index != last)
            n += put_zero_run(n, last - index);
    }
    size_t seq_len = (size_t)(n - seq);
    size_t old_len = is_xzero ? 2 : 1;
    if (seq_len > old_len && b->len + (seq_len - old_len) > sparse_max_bytes)
        goto promote;
    {
        size_t at = (size_t)(p - (uint8_t *)b->data);
        size_t prev_at = prev ? (size_t)(prev - (uint8_t *)b->data) : HLL_HEADER_SIZE;
        size_t tail = b->len - at - old_len;
        if (seq_len > old_len)
            buffer_reserve(b, seq_len - old_len);
        memmove(b->data + at + seq_len, b->data + at + old_len, tail);
        memcpy(b->data + at, seq, seq_len);
        b->len = b->len - old_len + seq_len;
        b->data[b->len] = '\0';
        sparse_merge_neighbours(b, prev_at);
        return 1;
    }

updated:
    sparse_merge_neighbours(b, prev ? (size_t)(prev - (uint8_t *)b->data) : HLL_HEADER_SIZE);
    return 1;

promote:
    if (hll_to_dense(b) < 0)
        return -1;
    return dense_raise(b, index, value);
}

int hll_add(buffer *b, const void *element, size_t len, size_t sparse_max_bytes)
{
    int index;
    int count = element_position(element, len, &index);
    return hll_raise_register(b, index, count, sparse_max_bytes);
}

static void visit_max(void *ctx, int first, int len, int value)
{
    uint8_t *max = ctx;
    for (int i = 0; i < len; i++)
        if (max[first + i] < value)
            max[first + i] = (uint8_t)value;
}

int hll_merge_into(uint8_t max[HLL_REGISTER_COUNT], const char *bytes, size_t len)
{
    if (bytes[4] == HLL_ENCODING_SPARSE)
        return sparse_for_each_run(bytes, len, visit_max, max);
    const uint8_t *registers = (const uint8_t *)bytes + HLL_HEADER_SIZE;
    for (int i = 0; i < HLL_REGISTER_COUNT; i++) {
        int v = dense_get(registers, i);
        if (max[i] < v)
            max[i] = (uint8_t)v;
    }
    return 0;
}

/* Ertl's improved raw estimator ("New cardinality estimation algorithms for
 * HyperLogLog sketches", 2017): sigma and tau correct for empty and
 * saturated registers without the old bias tables. */
static double estimator_sigma(double x)
{
    if (x == 1.0)
        return INFINITY;
    double y = 1, z = x, previous;
    do {
        x *= x;
        previous = z;
        z += x * y;
        y += y;
    } while (previous != z);
    return z;
}

static double estimator_tau(double x)
{
    if (x == 0.0 || x == 1.0)
        return 0.0;
    double y = 1.0, z = 1 - x, previous;
    do {
        x = sqrt(x);
        previous = z;
        y *= 0.5;
        z -= pow(1 - x, 2) * y;
    } while (previous != z);
    return z / 3;
}

static uint64_t estimate_histogram(const int histogram[64])
{
    double m = HLL_REGISTER_COUNT;
    double z = m * estimator_tau((m - histogram[HLL_Q + 1]) / m);
    for (int j = HLL_Q; j >= 1; j--) {
        z += histogram[j];
        z *= 0.5;
    }
    z += m * estimator_sigma(histogram[0] / m);
    return (uint64_t)llroundl(HLL_ALPHA_INF * m * m / z);
}

uint64_t hll_estimate(const uint8_t registers[HLL_REGISTER_COUNT])
{
    int histogram[64] = {0};
    for (int i = 0; i < HLL_REGISTER_COUNT; i++)
        histogram[registers[i] & 63]++;
    return estimate_histogram(histogram);
}

static void visit_histogram(void *ctx, int first, int len, int value)
{
    int *histogram = ctx;
    histogram[value] += len;
}

int hll_count(const char *bytes, size_t len, uint64_t *out)
{
    int histogram[64] = {0};
    if (bytes[4] == HLL_ENCODING_SPARSE) {
        if (sparse_for_each_run(bytes, len, visit_histogram, histogram) < 0)
            return -1;
    } else {
        const uint8_t *registers = (const uint8_t *)bytes + HLL_HEADER_SIZE;
        for (int i = 0; i < HLL_REGISTER_COUNT; i++)
            histogram[dense_get(registers, i)]++;
    }
    *out = estimate_histogram(histogram);
    return 0;
}
