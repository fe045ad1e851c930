/* The allocation wrapper. Counting usable sizes (not requested sizes) makes
 * used_memory match what the allocator really hands out, which is what
 * maxmemory has to bound. The counter is a plain size_t written only by the
 * loop thread: a worker thread that frees values (lazy freeing) marks itself
 * with mem_background_begin, its changes go to a thread-local tally, and the
 * loop applies that tally when the worker reports back (mem_account). A
 * plain counter keeps every allocation on the hot path free of atomics. */
#include "rivet/memory.h"

#include "rivet/buffer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef RIVET_USE_JEMALLOC
#include <jemalloc/jemalloc.h>
#define usable_size(p) malloc_usable_size(p)
#else
#include <malloc.h>
#define usable_size(p) malloc_usable_size(p)
#endif

/* Sizes up to 8 x (SMALL_CLASS_STEPS - 1) bytes have their class cached. */
#define SMALL_CLASS_STEPS 129

static size_t used_bytes;
static _Thread_local int in_background;
static _Thread_local int64_t background_delta;

static inline void count_change(int64_t delta)
{
    if (in_background)
        background_delta += delta;
    else
        used_bytes += (size_t)delta;
}

static void *check(void *p, size_t size)
{
    if (p == NULL && size != 0) {
        fprintf(stderr, "rivet: out of memory allocating %zu bytes\n", size);
        abort();
    }
    if (p != NULL)
        count_change((int64_t)usable_size(p));
    return p;
}

void *mem_alloc(size_t size)
{
    return check(malloc(size == 0 ? 1 : size), size == 0 ? 1 : size);
}

void *mem_calloc(size_t size)
{
    return check(calloc(1, size == 0 ? 1 : size), size == 0 ? 1 : size);
}

void *mem_realloc(void *ptr, size_t size)
{
    if (ptr == NULL)
        return mem_alloc(size);
    if (size == 0)
        size = 1;
    size_t old = usable_size(ptr);
    void *p = realloc(ptr, size);
    if (p == NULL) {
        fprintf(stderr, "rivet: out of memory reallocating %zu bytes\n", size);
        abort();
    }
    count_change((int64_t)usable_size(p) - (int64_t)old);
    return p;
}

void mem_free(void *ptr)
{
    if (ptr == NULL)
        return;
    count_change(-(int64_t)usable_size(ptr));
    free(ptr);
}

char *mem_strdup(const char *s)
{
    return mem_dup(s, strlen(s) + 1);
}

void *mem_dup(const void *data, size_t len)
{
    void *p = mem_alloc(len);
    memcpy(p, data, len);
    return p;
}

void mem_background_begin(void)
{
    in_background = 1;
    background_delta = 0;
}

int64_t mem_background_end(void)
{
    in_background = 0;
    return background_delta;
}

void mem_account(int64_t delta)
{
    used_bytes += (size_t)delta;
}

size_t mem_used(void)
{
    return used_bytes;
}

size_t mem_block_size(const void *ptr)
{
    return ptr ? usable_size((void *)ptr) : 0;
}

size_t mem_size_class(size_t size)
{
#ifdef RIVET_USE_JEMALLOC
    /* nallocx costs tens of instructions and the keyspace asks on every
     * write to a small collection: small sizes are remembered, per 8 bytes
     * (classes below 4 KB are multiples of 8, so a whole step shares one). */
    static uint16_t small[SMALL_CLASS_STEPS];
    if (size == 0)
        size = 1;
    size_t step = (size + 7) / 8;
    if (step < SMALL_CLASS_STEPS) {
        if (small[step] == 0)
            small[step] = (uint16_t)nallocx(step * 8, 0);
        return small[step];
    }
    return nallocx(size, 0);
#else
    /* libc mallocs hand out 16-byte granules (plus a header we cannot see);
     * sanitizer allocators report the exact request. 16 is a fair model of
     * either when deciding whether one block beats two. */
    return (size + 15) & ~(size_t)15;
#endif
}

const char *mem_allocator_name(void)
{
#ifdef RIVET_USE_JEMALLOC
    static char name[32];
    if (name[0] == '\0') {
        const char *version = "unknown";
        size_t size = sizeof(version);
        mallctl("version", &version, &size, NULL, 0);
        snprintf(name, sizeof(name), "jemalloc-%.*s", (int)strcspn(version, "-"), version);
    }
    return name;
#else
    return "libc";
#endif
}

size_t mem_rss(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL)
        return 0;
    unsigned long total = 0, resident = 0;
    int n = fscanf(f, "%lu %lu", &total, &resident);
    fclose(f);
    return n == 2 ? (size_t)resident * 4096 : 0;
}

#ifdef RIVET_USE_JEMALLOC
int mem_purge(void)
{
    char name[64];
    snprintf(name, sizeof(name), "arena.%u.purge", (unsigned)MALLCTL_ARENAS_ALL);
    return mallctl(name, NULL, NULL, NULL, 0) == 0 ? 0 : -1;
}

static void report_write(void *ctx, const char *text)
{
    buffer_append_cstr(ctx, text);
}

void mem_allocator_report(buffer *out)
{
    malloc_stats_print(report_write, out, NULL);
}
#else
int mem_purge(void)
{
    return 0;
}

void mem_allocator_report(buffer *out)
{
    buffer_append_cstr(out, "Stats not supported for the current allocator");
}
#endif
