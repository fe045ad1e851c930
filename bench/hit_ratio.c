/* hit_ratio: cache hit ratio of a server under maxmemory with a Zipfian key
 * popularity, the way a cache-aside client uses it: GET the key, and on a
 * miss SET it. Keys are drawn from a Zipf distribution (exponent s over n
 * keys) so a few keys are hot and most are cold; the server must keep the
 * hot ones. The first half of the requests warms the cache, the second half
 * is measured.
 *
 *   hit_ratio PORT KEYS REQUESTS VALUE_BYTES [S]
 * prints: hits=<h> requests=<r> ratio=<h/r> */
#include <hiredis/hiredis.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 100

static uint64_t random_state = 0x853C49E6748FEA9Bull;

static double random_unit(void)
{
    random_state ^= random_state >> 12;
    random_state ^= random_state << 25;
    random_state ^= random_state >> 27;
    return (double)((random_state * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

/* Cumulative Zipf probabilities; a draw is a binary search in them. */
static double *zipf_table(long n, double s)
{
    double *cdf = malloc(sizeof(double) * (size_t)n);
    double sum = 0;
    for (long i = 0; i < n; i++)
        sum += 1.0 / pow((double)(i + 1), s);
    double run = 0;
    for (long i = 0; i < n; i++) {
        run += 1.0 / pow((double)(i + 1), s) / sum;
        cdf[i] = run;
    }
    return cdf;
}

static long zipf_draw(const double *cdf, long n)
{
    double u = random_unit();
    long lo = 0, hi = n - 1;
    while (lo < hi) {
        long mid = (lo + hi) / 2;
        if (cdf[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: hit_ratio PORT KEYS REQUESTS VALUE_BYTES [S]\n");
        return 2;
    }
    int port = atoi(argv[1]);
    long keys = atol(argv[2]), requests = atol(argv[3]);
    size_t value_bytes = (size_t)atol(argv[4]);
    double s = argc > 5 ? atof(argv[5]) : 0.99;
    redisContext *c = redisConnect("127.0.0.1", port);
    if (c == NULL || c->err) {
        fprintf(stderr, "hit_ratio: cannot connect to port %d\n", port);
        return 1;
    }
    double *cdf = zipf_table(keys, s);
    char *value = malloc(value_bytes + 1);
    memset(value, 'v', value_bytes);
    value[value_bytes] = '\0';
    long hits = 0, measured = 0;
    long batch_keys[BATCH];
    for (long done = 0; done < requests; done += BATCH) {
        for (int i = 0; i < BATCH; i++) {
            batch_keys[i] = zipf_draw(cdf, keys);
            redisAppendCommand(c, "GET key:%ld", batch_keys[i]);
        }
        int misses = 0;
        for (int i = 0; i < BATCH; i++) {
            redisReply *r;
            if (redisGetReply(c, (void **)&r) != REDIS_OK) {
                fprintf(stderr, "hit_ratio: connection error\n");
                return 1;
            }
            int hit = r->type == REDIS_REPLY_STRING;
            freeReplyObject(r);
            if (done >= requests / 2) {
                measured++;
                hits += hit;
            }
            if (!hit) {
                redisAppendCommand(c, "SET key:%ld %s", batch_keys[i], value);
                misses++;
            }
        }
        for (int i = 0; i < misses; i++) {
            redisReply *r;
            if (redisGetReply(c, (void **)&r) != REDIS_OK)
                return 1;
            freeReplyObject(r);
        }
    }
    printf("hits=%ld requests=%ld ratio=%.4f\n", hits, measured,
           measured ? (double)hits / (double)measured : 0.0);
    redisFree(c);
    free(cdf);
    free(value);
    return 0;
}
