/* Tests for the timing wheel: ordering, cancellation, far deadlines, budgets,
 * clock jumps both ways, rescheduling from fire, relocation, and a randomized
 * comparison against a brute-force model. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rivet/memory.h"
#include "rivet/wheel.h"

#define MS_PER_SECOND INT64_C(1000)
#define MS_PER_HOUR   (3600 * MS_PER_SECOND)
#define MS_PER_DAY    (24 * MS_PER_HOUR)
#define MS_PER_YEAR   (365 * MS_PER_DAY)

/* A test timer: the wheel hands back the embedded timer, which is the first
 * member, so the item is found by a cast. */
typedef struct item {
    wheel_timer timer;
    int id;
    int fired; /* times fired */
    int cancelled;
} item;

static item *item_of(wheel_timer *timer)
{
    return (item *)timer;
}

static uint64_t rng_state;

static void rng_seed(uint64_t seed)
{
    rng_state = seed ? seed : 0x9e3779b97f4a7c15u;
}

static uint64_t rng_next(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1du;
}

static int64_t rng_below(int64_t bound)
{
    return (int64_t)(rng_next() % (uint64_t)bound);
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* What every fire callback in these tests checks: never early, and (unless a
 * test says otherwise) in non-decreasing deadline order. */
typedef struct recorder {
    int64_t now;
    int64_t last_deadline;
    int check_order;
    size_t fired;
    int errors;
} recorder;

static void recorder_init(recorder *r)
{
    memset(r, 0, sizeof(*r));
    r->last_deadline = INT64_MIN;
    r->check_order = 1;
}

static void record(recorder *r, wheel_timer *timer)
{
    if (wheel_timer_is_scheduled(timer))
        r->errors++; /* must be unlinked before fire */
    if (timer->deadline > r->now)
        r->errors++; /* fired early */
    if (r->check_order && timer->deadline < r->last_deadline)
        r->errors++;
    r->last_deadline = timer->deadline;
    r->fired++;
}

static void fire_record(void *ctx, wheel_timer *timer)
{
    recorder *r = ctx;
    record(r, timer);
    item_of(timer)->fired++;
}

static size_t advance(wheel *w, recorder *r, int64_t now, size_t budget)
{
    r->now = now;
    return wheel_advance(w, now, budget, fire_record, r);
}

static void test_basic(void **state)
{
    wheel *w = wheel_create(1000);
    recorder r;
    recorder_init(&r);
    item a = {0};
    wheel_timer_init(&a.timer);
    assert_false(wheel_timer_is_scheduled(&a.timer));
    wheel_cancel(w, &a.timer); /* cancelling an idle timer is harmless */
    assert_int_equal(wheel_count(w), 0);

    wheel_schedule(w, &a.timer, 1005);
    assert_true(wheel_timer_is_scheduled(&a.timer));
    assert_int_equal(wheel_count(w), 1);
    assert_int_equal(advance(w, &r, 1004, SIZE_MAX), 0);
    assert_int_equal(a.fired, 0);
    assert_int_equal(advance(w, &r, 1005, SIZE_MAX), 1);
    assert_int_equal(a.fired, 1);
    assert_false(wheel_timer_is_scheduled(&a.timer));
    assert_int_equal(wheel_count(w), 0);
    assert_int_equal(advance(w, &r, 5000, SIZE_MAX), 0);

    /* Rescheduling a scheduled timer moves it rather than adding it twice. */
    wheel_schedule(w, &a.timer, 6000);
    wheel_schedule(w, &a.timer, 7000);
    assert_int_equal(wheel_count(w), 1);
    assert_int_equal(advance(w, &r, 6999, SIZE_MAX), 0);
    assert_int_equal(advance(w, &r, 7000, SIZE_MAX), 1);
    assert_int_equal(a.fired, 2);

    /* A deadline already in the past fires on the next advance. */
    r.check_order = 0;
    wheel_schedule(w, &a.timer, 10);
    assert_int_equal(advance(w, &r, 7000, SIZE_MAX), 1);
    assert_int_equal(a.fired, 3);
    assert_int_equal(r.errors, 0);
    wheel_destroy(w);
}

static void test_random_order(void **state)
{
    enum { COUNT = 20000 };
    item *items = mem_calloc(COUNT * sizeof(item));
    wheel *w = wheel_create(0);
    recorder r;
    recorder_init(&r);
    rng_seed(1);

    for (int i = 0; i < COUNT; i++) {
        wheel_timer_init(&items[i].timer);
        /* Mix of near and far deadlines so every level is exercised. */
        int64_t span = (i % 4 == 0)   ? 300
                       : (i % 4 == 1) ? 20000
                       : (i % 4 == 2) ? 2000000
                                      : 200000000;
        wheel_schedule(w, &items[i].timer, 1 + rng_below(span));
    }
    assert_int_equal(wheel_count(w), COUNT);

    int64_t now = 0;
    size_t total = 0;
    while (total < COUNT) {
        now += 1 + rng_below(now < 2000000 ? 5000 : 5000000);
        total += advance(w, &r, now, SIZE_MAX);
        /* Nothing due may remain after an unbounded advance. */
        for (int i = 0; i < COUNT; i++)
            if (items[i].timer.deadline <= now && items[i].fired != 1)
                fail_msg("timer %d (deadline %lld) not fired by %lld", i,
                         (long long)items[i].timer.deadline, (long long)now);
        if (now > 300000000)
            break;
    }
    assert_int_equal(total, COUNT);
    assert_int_equal(wheel_count(w), 0);
    assert_int_equal(r.errors, 0);
    for (int i = 0; i < COUNT; i++)
        assert_int_equal(items[i].fired, 1);
    wheel_destroy(w);
    mem_free(items);
}

static void test_cancel(void **state)
{
    enum { COUNT = 5000 };
    item *items = mem_calloc(COUNT * sizeof(item));
    wheel *w = wheel_create(0);
    recorder r;
    recorder_init(&r);
    rng_seed(2);

    for (int i = 0; i < COUNT; i++) {
        wheel_timer_init(&items[i].timer);
        wheel_schedule(w, &items[i].timer, 1 + rng_below(100000));
    }
    size_t live = COUNT;
    for (int i = 0; i < COUNT; i += 3) {
        wheel_cancel(w, &items[i].timer);
        items[i].cancelled = 1;
        live--;
        assert_false(wheel_timer_is_scheduled(&items[i].timer));
    }
    /* A second cancel is a no-op. */
    wheel_cancel(w, &items[0].timer);
    assert_int_equal(wheel_count(w), live);

    assert_int_equal(advance(w, &r, 200000, SIZE_MAX), live);
    for (int i = 0; i < COUNT; i++)
        assert_int_equal(items[i].fired, items[i].cancelled ? 0 : 1);
    assert_int_equal(wheel_count(w), 0);
    assert_int_equal(r.errors, 0);
    wheel_destroy(w);
    mem_free(items);
}

static void test_far_deadlines(void **state)
{
    const int64_t start = 1700000000000; /* a wall clock in ms */
    const int64_t offsets[] = {
        1,
        255,
        256,
        16383,
        16384,
        MS_PER_HOUR,
        MS_PER_DAY,
        3 * MS_PER_DAY + 7,
        45 * MS_PER_DAY + 1,
        90 * MS_PER_DAY + 123,
        400 * MS_PER_DAY + 5,
        (INT64_C(1) << 38) - 1,
        (INT64_C(1) << 38),
        (INT64_C(1) << 38) + 1,
        10 * MS_PER_YEAR + 17,
        100 * MS_PER_YEAR + 99,
    };
    enum { COUNT = sizeof(offsets) / sizeof(offsets[0]) };
    item items[COUNT];
    wheel *w = wheel_create(start);
    recorder r;
    recorder_init(&r);

    for (int i = 0; i < COUNT; i++) {
        wheel_timer_init(&items[i].timer);
        items[i].fired = 0;
        wheel_schedule(w, &items[i].timer, start + offsets[i]);
    }
    /* Step to one ms before each deadline, then onto it: each fires exactly
     * when due, never a tick early. */
    for (int i = 0; i < COUNT; i++) {
        int64_t deadline = start + offsets[i];
        assert_int_equal(advance(w, &r, deadline - 1, SIZE_MAX), 0);
        assert_int_equal(items[i].fired, 0);
        assert_int_equal(advance(w, &r, deadline, SIZE_MAX), 1);
        assert_int_equal(items[i].fired, 1);
        assert_int_equal(wheel_count(w), (size_t)(COUNT - 1 - i));
    }

    /* The same deadlines reached by many small steps (an hour apart for the
     * first 100 days, then a day apart). */
    for (int i = 0; i < COUNT; i++) {
        items[i].fired = 0;
        wheel_schedule(w, &items[i].timer, start + 200 * MS_PER_YEAR + offsets[i]);
    }
    recorder_init(&r);
    int64_t now = start + 200 * MS_PER_YEAR;
    assert_int_equal(advance(w, &r, now, SIZE_MAX), 0);
    size_t total = 0;
    while (now < start + 200 * MS_PER_YEAR + 101 * MS_PER_YEAR) {
        now += (now < start + 200 * MS_PER_YEAR + 100 * MS_PER_DAY) ? MS_PER_HOUR : MS_PER_DAY;
        total += advance(w, &r, now, SIZE_MAX);
        for (int i = 0; i < COUNT; i++)
            assert_int_equal(items[i].fired, items[i].timer.deadline <= now ? 1 : 0);
    }
    assert_int_equal(total, COUNT);
    assert_int_equal(r.errors, 0);
    wheel_destroy(w);
}

static void test_budget(void **state)
{
    enum { COUNT = 1000, EXTRA = 5 };
    item *items = mem_calloc((COUNT + EXTRA) * sizeof(item));
    wheel *w = wheel_create(0);
    recorder r;
    recorder_init(&r);
    rng_seed(3);

    for (int i = 0; i < COUNT + EXTRA; i++)
        wheel_timer_init(&items[i].timer);
    for (int i = 0; i < COUNT; i++) {
        /* Many share a millisecond, so budgets stop mid-slot too. */
        wheel_schedule(w, &items[i].timer, 1 + rng_below(300));
    }
    for (int call = 0; call < COUNT / 10; call++) {
        assert_int_equal(advance(w, &r, 500, 10), 10);
        assert_int_equal(wheel_count(w),
                         (size_t)(COUNT - 10 * (call + 1) + (call > 40 ? EXTRA : 0)));
        if (call == 40) {
            /* Later timers added mid-way wait their turn... */
            for (int i = 0; i < EXTRA; i++)
                wheel_schedule(w, &items[COUNT + i].timer, 400 + i);
        }
    }
    for (int i = 0; i < COUNT; i++)
        assert_int_equal(items[i].fired, 1);
    /* ...and then fire, in order, after the backlog. */
    assert_int_equal(advance(w, &r, 500, 10), EXTRA);
    assert_int_equal(advance(w, &r, 500, 10), 0);
    assert_int_equal(wheel_count(w), 0);
    for (int i = 0; i < EXTRA; i++)
        assert_int_equal(items[COUNT + i].fired, 1);
    assert_int_equal(r.errors, 0);

    /* A budget of zero fires nothing and loses nothing. */
    wheel_schedule(w, &items[0].timer, 600);
    assert_int_equal(advance(w, &r, 700, 0), 0);
    assert_int_equal(wheel_count(w), 1);
    assert_int_equal(advance(w, &r, 700, 1), 1);
    assert_int_equal(items[0].fired, 2);

    /* A budget stop inside a slot, then a timer scheduled before that slot:
     * it is overdue longer, so it goes first (the recorder checks order). */
    for (int i = 0; i < 4; i++)
        wheel_schedule(w, &items[i].timer, 800);
    assert_int_equal(advance(w, &r, 900, 1), 1);
    r.last_deadline = INT64_MIN; /* order is checked from here on */
    wheel_schedule(w, &items[4].timer, 750);
    assert_int_equal(advance(w, &r, 900, 2), 2);
    assert_int_equal(items[4].fired, 2);
    assert_int_equal(advance(w, &r, 900, 5), 2);
    assert_int_equal(r.errors, 0);
    wheel_destroy(w);
    mem_free(items);
}

static void test_clock_jump_forward_is_fast(void **state)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    wheel *w = wheel_create(0);
    recorder r;
    recorder_init(&r);
    item items[4];
    const int64_t deadlines[] = {MS_PER_DAY, 200 * MS_PER_DAY, 364 * MS_PER_DAY, 2 * MS_PER_YEAR};
    for (int i = 0; i < 4; i++) {
        wheel_timer_init(&items[i].timer);
        items[i].fired = 0;
        wheel_schedule(w, &items[i].timer, deadlines[i]);
    }
    /* An empty stretch of wheel, then a year in one jump. */
    assert_int_equal(advance(w, &r, 10, SIZE_MAX), 0);
    assert_int_equal(advance(w, &r, MS_PER_YEAR, SIZE_MAX), 3);
    assert_int_equal(items[3].fired, 0);
    /* Year-long jumps, with timers scheduled a millisecond ahead each time. */
    int64_t now = MS_PER_YEAR;
    for (int year = 0; year < 50; year++) {
        wheel_schedule(w, &items[0].timer, now + 1);
        now += MS_PER_YEAR;
        assert_int_equal(advance(w, &r, now, SIZE_MAX), year == 0 ? 2 : 1);
    }
    assert_int_equal(items[3].fired, 1);
    assert_int_equal(r.errors, 0);
    wheel_destroy(w);
    double elapsed = seconds_since(&start);
    if (elapsed > 0.5)
        fail_msg("year-long clock jumps took %.3f s", elapsed);
}

static void test_clock_backward(void **state)
{
    wheel *w = wheel_create(0);
    recorder r;
    recorder_init(&r);
    r.check_order = 0;
    item items[6];
    for (int i = 0; i < 6; i++) {
        wheel_timer_init(&items[i].timer);
        items[i].fired = 0;
    }
    wheel_schedule(w, &items[0].timer, 1000);
    wheel_schedule(w, &items[1].timer, 2000);
    wheel_schedule(w, &items[2].timer, 1500);
    wheel_schedule(w, &items[3].timer, 1500);
    assert_int_equal(advance(w, &r, 1200, SIZE_MAX), 1);

    /* Backward: nothing fires; both past and future deadlines still can. */
    assert_int_equal(advance(w, &r, 100, SIZE_MAX), 0);
    wheel_schedule(w, &items[4].timer, 800);  /* before the sweep point */
    wheel_schedule(w, &items[5].timer, 1300); /* after it */
    assert_int_equal(advance(w, &r, 500, SIZE_MAX), 0);
    assert_int_equal(advance(w, &r, 800, SIZE_MAX), 1);
    assert_int_equal(items[4].fired, 1);
    assert_int_equal(advance(w, &r, 1300, SIZE_MAX), 1);
    assert_int_equal(items[5].fired, 1);

    /* A budget stop, then the clock goes back: the swept remainder waits. */
    assert_int_equal(advance(w, &r, 1600, 1), 1);
    assert_int_equal(advance(w, &r, 1400, SIZE_MAX), 0);
    assert_int_equal(advance(w, &r, 1500, SIZE_MAX), 1);
    assert_int_equal(items[2].fired + items[3].fired, 2);
    assert_int_equal(advance(w, &r, 1999, SIZE_MAX), 0);
    assert_int_equal(advance(w, &r, 2000, SIZE_MAX), 1);
    assert_int_equal(wheel_count(w), 0);
    assert_int_equal(r.errors, 0);
    for (int i = 0; i < 6; i++)
        assert_int_equal(items[i].fired, 1);
    wheel_destroy(w);
}

/* Fire callbacks that change the wheel. */
typedef struct reschedule_ctx {
    wheel *w;
    recorder r;
    item *victim;      /* cancelled by the first fire */
    item *late_joiner; /* scheduled by the first fire */
    item *periodic;    /* the only timer that reschedules itself */
    int64_t period;    /* > 0: the fired timer reschedules itself this far on */
    int64_t back_to;   /* period == 0: reschedules itself at this deadline */
    int remaining;     /* reschedules left */
} reschedule_ctx;

static void fire_reschedule(void *ctx, wheel_timer *timer)
{
    reschedule_ctx *c = ctx;
    record(&c->r, timer);
    item_of(timer)->fired++;
    if (c->victim) {
        wheel_cancel(c->w, &c->victim->timer);
        c->victim = NULL;
    }
    if (c->late_joiner) {
        wheel_schedule(c->w, &c->late_joiner->timer, timer->deadline + 3);
        c->late_joiner = NULL;
    }
    if (item_of(timer) == c->periodic && c->remaining > 0) {
        c->remaining--;
        wheel_schedule(c->w, timer, c->period > 0 ? timer->deadline + c->period : c->back_to);
    }
}

static void test_reschedule_from_fire(void **state)
{
    reschedule_ctx c;
    memset(&c, 0, sizeof(c));
    recorder_init(&c.r);
    c.w = wheel_create(0);
    item ticker = {0}, victim = {0}, joiner = {0}, tail = {0};
    wheel_timer_init(&ticker.timer);
    wheel_timer_init(&victim.timer);
    wheel_timer_init(&joiner.timer);
    wheel_timer_init(&tail.timer);

    /* A periodic timer: later deadlines <= now fire within the same call, in
     * order with the others; a due timer cancelled by fire never fires. */
    wheel_schedule(c.w, &ticker.timer, 10);
    wheel_schedule(c.w, &victim.timer, 11);
    wheel_schedule(c.w, &tail.timer, 995);
    c.victim = &victim;
    c.late_joiner = &joiner;
    c.periodic = &ticker;
    c.period = 10;
    c.remaining = 1000;
    c.r.now = 1000;
    size_t fired = wheel_advance(c.w, 1000, SIZE_MAX, fire_reschedule, &c);
    assert_int_equal(ticker.fired, 100); /* at 10, 20, ..., 1000 */
    assert_int_equal(victim.fired, 0);
    assert_int_equal(joiner.fired, 1); /* scheduled at 13 from the fire at 10 */
    assert_int_equal(tail.fired, 1);
    assert_int_equal(fired, 102);
    assert_true(wheel_timer_is_scheduled(&ticker.timer)); /* next at 1010 */
    assert_int_equal(c.r.errors, 0);

    /* A timer that reschedules itself at a deadline already swept fires once
     * per call instead of spinning. */
    wheel_cancel(c.w, &ticker.timer);
    wheel_schedule(c.w, &ticker.timer, 1500);
    ticker.fired = 0;
    c.period = 0;
    c.back_to = 1500;
    c.remaining = 3;
    c.r.now = 2000;
    c.r.check_order = 0;
    assert_int_equal(wheel_advance(c.w, 2000, SIZE_MAX, fire_reschedule, &c), 1);
    assert_int_equal(wheel_advance(c.w, 2000, SIZE_MAX, fire_reschedule, &c), 1);
    assert_int_equal(wheel_advance(c.w, 2000, SIZE_MAX, fire_reschedule, &c), 1);
    assert_int_equal(wheel_advance(c.w, 2000, SIZE_MAX, fire_reschedule, &c), 1);
    assert_int_equal(wheel_advance(c.w, 2000, SIZE_MAX, fire_reschedule, &c), 0);
    assert_int_equal(ticker.fired, 4);
    assert_int_equal(wheel_count(c.w), 0);
    assert_int_equal(c.r.errors, 0);
    wheel_destroy(c.w);
}

/* Moves an item to fresh memory the way a reallocating owner would, and
 * poisons the old copy so any stale pointer in the wheel shows up. */
static item *move_item(wheel *w, item *old)
{
    item *moved = mem_alloc(sizeof(item));
    memcpy(moved, old, sizeof(item));
    wheel_relocate(w, &old->timer, &moved->timer);
    memset(old, 0xA5, sizeof(item));
    mem_free(old);
    return moved;
}

static void test_relocate(void **state)
{
    enum { COUNT = 3000 };
    item **items = mem_calloc(COUNT * sizeof(item *));
    wheel *w = wheel_create(0);
    recorder r;
    recorder_init(&r);
    rng_seed(4);

    for (int i = 0; i < COUNT; i++) {
        items[i] = mem_calloc(sizeof(item));
        items[i]->id = i;
        wheel_timer_init(&items[i]->timer);
        int64_t deadline;
        if (i % 100 == 0)
            deadline = 20 * MS_PER_YEAR + i; /* overflow list */
        else if (i % 50 == 0)
            deadline = 7 + (i % 3); /* crowded early slots */
        else
            deadline = 1 + rng_below(100 * MS_PER_DAY);
        wheel_schedule(w, &items[i]->timer, deadline);
    }
    /* A lone timer in its slot: both neighbours are that slot's sentinel. */
    item *lone = mem_calloc(sizeof(item));
    wheel_timer_init(&lone->timer);
    wheel_schedule(w, &lone->timer, 5 * MS_PER_DAY + 12345);
    lone = move_item(w, lone);
    /* Never-scheduled timers relocate too (nothing to fix). */
    item *idle = mem_calloc(sizeof(item));
    wheel_timer_init(&idle->timer);
    idle = move_item(w, idle);
    assert_false(wheel_timer_is_scheduled(&idle->timer));

    for (int i = 0; i < COUNT; i += 2)
        items[i] = move_item(w, items[i]);

    /* Stop a crowded slot part way, so some sit on the swept-but-unfired list,
     * and schedule some into the past so they sit on the late list. */
    assert_int_equal(advance(w, &r, 10, 2), 2);
    r.check_order = 0;
    for (int i = 1; i < COUNT; i += 97) {
        if (wheel_timer_is_scheduled(&items[i]->timer))
            wheel_schedule(w, &items[i]->timer, 3);
    }
    for (int i = 0; i < COUNT; i++) {
        if (i % 3 == 0 && wheel_timer_is_scheduled(&items[i]->timer))
            items[i] = move_item(w, items[i]);
    }
    /* Cancel some moved timers: unlinking through relocated neighbours. */
    for (int i = 0; i < COUNT; i += 6) {
        if (wheel_timer_is_scheduled(&items[i]->timer)) {
            wheel_cancel(w, &items[i]->timer);
            items[i]->cancelled = 1;
        }
    }
    advance(w, &r, 30 * MS_PER_YEAR, SIZE_MAX);
    assert_int_equal(wheel_count(w), 0);
    for (int i = 0; i < COUNT; i++) {
        if (items[i]->cancelled)
            assert_int_equal(items[i]->fired, 0);
        else
            assert_int_equal(items[i]->fired, 1);
        assert_int_equal(items[i]->id, i);
        mem_free(items[i]);
    }
    assert_int_equal(lone->fired, 1);
    assert_int_equal(r.errors, 0);
    mem_free(lone);
    mem_free(idle);
    mem_free(items);
    wheel_destroy(w);
}

static void test_many_random_timers(void **state)
{
    enum { COUNT = 200000 };
    item *items = mem_calloc(COUNT * sizeof(item));
    wheel *w = wheel_create(0);
    recorder r;
    recorder_init(&r);
    rng_seed(5);

    size_t live = 0;
    for (int i = 0; i < COUNT; i++) {
        wheel_timer_init(&items[i].timer);
        int64_t range = (int64_t[]){1000, 100000, MS_PER_DAY, 100 * MS_PER_DAY}[i % 4];
        wheel_schedule(w, &items[i].timer, 1 + rng_below(range));
        live++;
        /* Cancel a random earlier timer now and then. */
        if (rng_below(4) == 0) {
            item *victim = &items[rng_below(i + 1)];
            if (!victim->cancelled) {
                wheel_cancel(w, &victim->timer);
                victim->cancelled = 1;
                live--;
            }
        }
    }
    assert_int_equal(wheel_count(w), live);

    int64_t now = 0;
    size_t total = 0;
    while (now < 100 * MS_PER_DAY) {
        now += 1 + rng_below(now < 100000 ? 2000 : MS_PER_HOUR);
        total += advance(w, &r, now, SIZE_MAX);
        /* Cancel a few still pending, in the middle of the run. */
        for (int k = 0; k < 20; k++) {
            item *victim = &items[rng_below(COUNT)];
            if (wheel_timer_is_scheduled(&victim->timer)) {
                wheel_cancel(w, &victim->timer);
                victim->cancelled = 1;
                live--;
            }
        }
    }
    total += advance(w, &r, 100 * MS_PER_DAY, SIZE_MAX);
    assert_int_equal(total, live);
    assert_int_equal(wheel_count(w), 0);
    for (int i = 0; i < COUNT; i++)
        assert_int_equal(items[i].fired, items[i].cancelled ? 0 : 1);
    assert_int_equal(r.errors, 0);
    wheel_destroy(w);
    mem_free(items);
}

/* Randomized comparison with a brute-force model: random schedules, cancels,
 * reschedules, relocations, budgets and clock moves (some backward), with fire
 * callbacks that also change the wheel. */
enum { MODEL_TIMERS = 600 };

typedef struct model {
    wheel *w;
    item *items[MODEL_TIMERS];
    int scheduled[MODEL_TIMERS];
    int64_t deadline[MODEL_TIMERS];
    int touched_in_call[MODEL_TIMERS]; /* (re)scheduled by a fire this call */
    int64_t now;
    int64_t max_now;           /* largest now passed so far */
    int64_t last_ordered;      /* last deadline fired among ordered timers */
    int ordered[MODEL_TIMERS]; /* scheduled after every earlier now */
    size_t live;
    int errors;
} model;

static int64_t model_random_deadline(model *m)
{
    switch (rng_below(6)) {
    case 0:
        return m->now - rng_below(50); /* the past */
    case 1:
        return m->now + rng_below(5);
    case 2:
        return m->now + rng_below(1000);
    case 3:
        return m->now + rng_below(100000);
    case 4:
        return m->now + rng_below(MS_PER_DAY * 60);
    default:
        return m->now + rng_below(MS_PER_YEAR * 20);
    }
}

static void model_schedule(model *m, int i, int64_t deadline)
{
    wheel_schedule(m->w, &m->items[i]->timer, deadline);
    if (!m->scheduled[i])
        m->live++;
    m->scheduled[i] = 1;
    m->deadline[i] = deadline;
    m->ordered[i] = deadline > m->max_now;
}

static void model_cancel(model *m, int i)
{
    wheel_cancel(m->w, &m->items[i]->timer);
    if (m->scheduled[i])
        m->live--;
    m->scheduled[i] = 0;
}

static void model_fire(void *ctx, wheel_timer *timer)
{
    model *m = ctx;
    int i = item_of(timer)->id;
    if (!m->scheduled[i] || wheel_timer_is_scheduled(timer) || m->deadline[i] != timer->deadline ||
        timer->deadline > m->now)
        m->errors++;
    if (m->ordered[i]) {
        if (timer->deadline < m->last_ordered)
            m->errors++;
        m->last_ordered = timer->deadline;
    }
    m->scheduled[i] = 0;
    m->live--;
    /* Sometimes change the wheel from inside fire. */
    switch (rng_below(8)) {
    case 0:
        model_schedule(m, i, model_random_deadline(m));
        m->touched_in_call[i] = 1;
        break;
    case 1: {
        int other = (int)rng_below(MODEL_TIMERS);
        model_cancel(m, other);
        break;
    }
    case 2: {
        int other = (int)rng_below(MODEL_TIMERS);
        model_schedule(m, other, model_random_deadline(m));
        m->touched_in_call[other] = 1;
        break;
    }
    default:
        break;
    }
}

static void test_model(void **state)
{
    model *m = mem_calloc(sizeof(model));
    m->w = wheel_create(0);
    m->last_ordered = INT64_MIN;
    rng_seed(6);
    for (int i = 0; i < MODEL_TIMERS; i++) {
        m->items[i] = mem_calloc(sizeof(item));
        m->items[i]->id = i;
        wheel_timer_init(&m->items[i]->timer);
    }

    for (int step = 0; step < 6000; step++) {
        int i = (int)rng_below(MODEL_TIMERS);
        int64_t op = rng_below(100);
        if (op < 40) {
            model_schedule(m, i, model_random_deadline(m));
        } else if (op < 50) {
            model_cancel(m, i);
        } else if (op < 60) {
            item *old = m->items[i];
            m->items[i] = move_item(m->w, old);
        } else {
            int64_t move = rng_below(10);
            if (move == 0)
                m->now -= rng_below(2000); /* clock goes back */
            else if (move < 6)
                m->now += rng_below(300);
            else if (move < 9)
                m->now += rng_below(200000);
            else
                m->now += rng_below(MS_PER_YEAR);
            size_t budget = rng_below(3) == 0 ? (size_t)rng_below(5) : SIZE_MAX;
            int64_t previous_max = m->max_now;
            if (m->now > m->max_now)
                m->max_now = m->now;
            memset(m->touched_in_call, 0, sizeof(m->touched_in_call));
            size_t fired = wheel_advance(m->w, m->now, budget, model_fire, m);
            assert_true(fired <= budget);
            /* An advance that did not run out of budget, with a clock that did
             * not go back, leaves nothing due except what fire just added. */
            if (fired < budget && m->now >= previous_max) {
                for (int k = 0; k < MODEL_TIMERS; k++)
                    if (m->scheduled[k] && m->deadline[k] <= m->now && !m->touched_in_call[k])
                        fail_msg("step %d: timer %d due at %lld left at now %lld", step, k,
                                 (long long)m->deadline[k], (long long)m->now);
            }
        }
        assert_int_equal(wheel_count(m->w), m->live);
        for (int k = 0; k < MODEL_TIMERS; k += 37)
            assert_int_equal(wheel_timer_is_scheduled(&m->items[k]->timer), m->scheduled[k]);
        assert_int_equal(m->errors, 0);
    }
    /* Drain: everything left fires once time passes it. */
    m->now = m->max_now + 30 * MS_PER_YEAR;
    while (m->live > 0) {
        size_t before = m->live;
        m->max_now = m->now;
        wheel_advance(m->w, m->now, SIZE_MAX, model_fire, m);
        if (m->live >= before && m->live > 0)
            m->now += 30 * MS_PER_YEAR; /* fire may have added far timers */
    }
    assert_int_equal(wheel_count(m->w), 0);
    assert_int_equal(m->errors, 0);
    for (int i = 0; i < MODEL_TIMERS; i++)
        mem_free(m->items[i]);
    wheel_destroy(m->w);
    mem_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),          cmocka_unit_test(test_random_order),
        cmocka_unit_test(test_cancel),         cmocka_unit_test(test_far_deadlines),
        cmocka_unit_test(test_budget),         cmocka_unit_test(test_clock_jump_forward_is_fast),
        cmocka_unit_test(test_clock_backward), cmocka_unit_test(test_reschedule_from_fire),
        cmocka_unit_test(test_relocate),       cmocka_unit_test(test_many_random_timers),
        cmocka_unit_test(test_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
