/* clock: wall-clock time and a cheap tick counter for measuring durations.
 * On x86-64 ticks come from the TSC (a few cycles to read, calibrated once
 * against the monotonic clock); elsewhere they are monotonic nanoseconds. The
 * per-command path reads ticks, never the system clock, because on virtual
 * machines clock_gettime can cost more than a whole GET. */
#ifndef RIVET_CLOCK_H
#define RIVET_CLOCK_H

#include <stdint.h>

/* Microseconds since the Unix epoch. */
int64_t clock_wall_us(void);
/* Monotonic microseconds. */
int64_t clock_monotonic_us(void);
/* Calibrates the tick counter (call once at start-up; ~10 ms). */
void clock_calibrate(void);
uint64_t clock_ticks(void);
/* Microseconds between two tick readings. */
int64_t clock_ticks_to_us(uint64_t ticks);

#endif
