/* Error counts by prefix. A small array searched linearly: there are only a
 * handful of distinct prefixes in practice, and at most 128. */
#include "rivet/errorstats.h"

#include <string.h>

#include "rivet/memory.h"

#define ERRORSTATS_MAX 128
#define PREFIX_MAX     32

typedef struct errorstats {
    char prefix[ERRORSTATS_MAX][PREFIX_MAX];
    uint64_t count[ERRORSTATS_MAX];
    int used;
    uint64_t total;
} errorstats;

errorstats *errorstats_create(void)
{
    return mem_calloc(sizeof(errorstats));
}

void errorstats_destroy(errorstats *stats)
{
    mem_free(stats);
}

void errorstats_count(errorstats *stats, const char *error)
{
    if (stats == NULL)
        return;
    stats->total++;
    size_t len = strcspn(error, " \r\n");
    if (len >= PREFIX_MAX)
        len = PREFIX_MAX - 1;
    for (int i = 0; i < stats->used; i++) {
        if (strncmp(stats->prefix[i], error, len) == 0 && stats->prefix[i][len] == '\0') {
            stats->count[i]++;
            return;
        }
    }
    if (stats->used == ERRORSTATS_MAX)
        return;
    memcpy(stats->prefix[stats->used], error, len);
    stats->prefix[stats->used][len] = '\0';
    stats->count[stats->used++] = 1;
}

void errorstats_reset(errorstats *stats)
{
    stats->used = 0;
    stats->total = 0;
}

uint64_t errorstats_total(const errorstats *stats)
{
    return stats ? stats->total : 0;
}

void errorstats_render(const errorstats *stats, buffer *out)
{
    for (int i = 0; i < stats->used; i++)
        buffer_appendf(out, "errorstat_%s:count=%llu\r\n", stats->prefix[i],
                       (unsigned long long)stats->count[i]);
}
