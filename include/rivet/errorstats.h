/* errorstats: counts of error replies by their first word ("ERR",
 * "WRONGTYPE", ...), for INFO errorstats. Redis caps the number of distinct
 * prefixes at 128 so a client inventing errors cannot grow the table. */
#ifndef RIVET_ERRORSTATS_H
#define RIVET_ERRORSTATS_H

#include <stddef.h>
#include <stdint.h>

#include "rivet/buffer.h"

struct errorstats;
struct errorstats *errorstats_create(void);
void errorstats_destroy(struct errorstats *stats);
/* error: the reply text without '-' (up to the first space is the prefix). */
void errorstats_count(struct errorstats *stats, const char *error);
void errorstats_reset(struct errorstats *stats);
uint64_t errorstats_total(const struct errorstats *stats);
/* Appends "errorstat_ERR:count=N\r\n" lines. */
void errorstats_render(const struct errorstats *stats, buffer *out);

#endif
