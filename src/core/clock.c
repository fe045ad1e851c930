/* Time sources. The TSC is trusted only when the CPU says it is invariant
 * (constant rate across power states); otherwise ticks fall back to the
 * monotonic clock, which is always correct, just slower. */
#include "rivet/clock.h"

#include <time.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <x86intrin.h>
#endif

static double microseconds_per_tick = 0.001; /* fallback ticks are ns */
static int use_tsc;

int64_t clock_wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t clock_monotonic_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static uint64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void clock_calibrate(void)
{
#if defined(__x86_64__)
    unsigned eax, ebx, ecx, edx;
    /* CPUID 0x80000007 EDX bit 8: invariant TSC. */
    if (__get_cpuid(0x80000007, &eax, &ebx, &ecx, &edx) && (edx & (1u << 8))) {
        uint64_t ns_start = monotonic_ns(), tsc_start = __rdtsc();
        while (monotonic_ns() - ns_start < 10000000u)
            ;
        uint64_t ns = monotonic_ns() - ns_start, tsc = __rdtsc() - tsc_start;
        if (tsc > 0) {
            microseconds_per_tick = (double)ns / 1000.0 / (double)tsc;
            use_tsc = 1;
        }
    }
#endif
}

uint64_t clock_ticks(void)
{
#if defined(__x86_64__)
    if (use_tsc)
        return __rdtsc();
#endif
    return monotonic_ns();
}

int64_t clock_ticks_to_us(uint64_t ticks)
{
    return (int64_t)((double)ticks * microseconds_per_tick);
}
