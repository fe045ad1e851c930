/* wheel: a hierarchical timing wheel with millisecond resolution. Timers are
 * intrusive (embedded in the caller's struct), so scheduling allocates nothing
 * and cancelling is O(1). wheel_advance fires due timers in deadline order and
 * stops after a budget, so a burst of deadlines never stalls the caller; what
 * is left fires on the next call. A clock that jumps forward is handled without
 * walking every skipped slot; a clock that goes back fires nothing early. */
#ifndef RIVET_WHEEL_H
#define RIVET_WHEEL_H

#include <stddef.h>
#include <stdint.h>

typedef struct wheel_timer {
    struct wheel_timer *prev;
    struct wheel_timer *next; /* NULL prev and next: not scheduled */
    int64_t deadline;         /* absolute ms */
} wheel_timer;

typedef struct wheel wheel;

wheel *wheel_create(int64_t now_ms);
/* Timers still scheduled are simply forgotten (the wheel does not own them). */
void wheel_destroy(wheel *w);

void wheel_timer_init(wheel_timer *timer);
int wheel_timer_is_scheduled(const wheel_timer *timer);
/* Schedules (or reschedules) timer at an absolute deadline; a deadline at or
 * before the wheel's current time fires on the next advance. */
void wheel_schedule(wheel *w, wheel_timer *timer, int64_t deadline_ms);
void wheel_cancel(wheel *w, wheel_timer *timer);
/* The caller moved a scheduled timer's bytes to new_timer (realloc/memcpy):
 * fixes the neighbours so the wheel now holds new_timer. */
void wheel_relocate(wheel *w, wheel_timer *old_timer, wheel_timer *new_timer);

typedef void (*wheel_fire_fn)(void *ctx, wheel_timer *timer);
/* Fires (in deadline order) up to `budget` timers whose deadline <= now_ms and
 * returns how many fired. Each timer is unscheduled before fire is called; fire
 * may schedule or cancel any timer, including the one fired. */
size_t wheel_advance(wheel *w, int64_t now_ms, size_t budget, wheel_fire_fn fire, void *ctx);

size_t wheel_count(const wheel *w);

#endif
