/* The timing wheel.
 *
 * Shape. Level 0 has 256 slots of 1 ms; levels 1..5 have 64 slots each, of
 * 256 ms, ~16 s, ~17 min, ~18.6 h and ~49.7 days. Together they span 2^38 ms
 * (~8.7 years); anything further out waits in an overflow list. Every slot is a
 * circular doubly linked list threaded through a sentinel timer, so a scheduled
 * timer always has two real neighbours: unlinking and relocating it are a few
 * pointer writes, with no "am I the head?" case.
 *
 * Placement is by aligned blocks, not by distance. The wheel keeps a sweep
 * point, `time`: every millisecond before it has been swept. A timer whose
 * deadline lies in the same 256 ms block as `time` sits in level 0 at slot
 * (deadline mod 256). Otherwise it sits at the lowest level L whose block (2^(8+6L)
 * ms, aligned) contains both `time` and the deadline, in the slot picked by the
 * deadline's bits for that level. So the highest bit in which deadline and
 * time differ picks the level, and a timer's slot is a pure function of its
 * deadline and `time`; cancel uses that to find which occupancy bit to clear.
 *
 * Moving `time` forward. If no timer is due before the new point, only one slot
 * per level can hold timers that now belong lower down: the one the new point
 * falls in. (Any other slot's timers are still in a block that the new point
 * shares, at the same level.) Those slots are cascaded top-down, so a timer may
 * drop several levels in one move. The overflow list is re-examined only when
 * the move crosses a 2^38 ms boundary.
 *
 * Skipping. Each slot has an occupancy bit. The earliest possible deadline is
 * found from the bitmaps: the first occupied level-0 slot, else the start of the
 * first occupied slot of the lowest non-empty level, else the earliest overflow
 * deadline. The sweep jumps straight there, so a clock jump of a year costs a
 * few steps per occupied slot, not one per millisecond.
 *
 * Firing. A level-0 slot that is reached is spliced whole onto the `due` list
 * and the sweep point moves past it; timers then fire from `due` one at a time
 * until the budget runs out. Whatever is left on `due` fires first on the next
 * call, so order survives a budget stop. Times are kept as uint64 ticks (the
 * int64 deadline with its sign bit flipped), which keeps the order and makes
 * the block arithmetic well defined for negative times too.
 *
 * Timers scheduled at or before the sweep point. A deadline before the sweep
 * point cannot go into a slot (that slot was already swept), so it joins the
 * `late` list, which is moved to the front of `due` when the next call starts.
 * Between calls the sweep point is at most one past the largest `now` so far
 * (a new wheel's is its creation time), so a deadline at or before the current
 * time fires on the next call, from `late` or from a slot, as wheel.h promises.
 * Inside fire, the sweep point is already past the fired timer's deadline: a
 * timer (re)scheduled from fire at or before that deadline waits for the next
 * call, which keeps a callback that reschedules itself into the past from
 * spinning forever; a deadline past the sweep point and <= now fires in this
 * same call, in deadline order. Late timers fire in the order they joined.
 *
 * A clock that goes back: nothing is swept and a timer on `due` fires only
 * once its deadline <= now, so nothing fires early and later calls with larger
 * times pick up where the sweep left off. A deadline of INT64_MAX never fires.
 * The owner must not write a scheduled timer's deadline (cancel uses it to find
 * the slot), and fire must not call wheel_advance on the same wheel. */
#include "rivet/wheel.h"

#include "rivet/memory.h"

#define LEVEL0_BITS   8
#define LEVEL0_SLOTS  (1 << LEVEL0_BITS)
#define UPPER_BITS    6
#define UPPER_SLOTS   (1 << UPPER_BITS)
#define UPPER_LEVELS  5
#define WHEEL_BITS    (LEVEL0_BITS + UPPER_BITS * UPPER_LEVELS) /* 38 */
#define SLOT_COUNT    (LEVEL0_SLOTS + UPPER_SLOTS * UPPER_LEVELS)
#define BITMAP_WORDS  (SLOT_COUNT / 64)
#define LEVEL0_WORDS  (LEVEL0_SLOTS / 64)
#define OVERFLOW_SLOT (-1)

struct wheel {
    uint64_t time; /* sweep point, in ticks: every earlier ms has been swept */
    size_t count;
    uint64_t occupied[BITMAP_WORDS]; /* one bit per slot: list not empty */
    wheel_timer slots[SLOT_COUNT];   /* sentinels: level 0, then levels 1..5 */
    wheel_timer overflow;            /* beyond the 2^38 ms block of `time` */
    wheel_timer due;                 /* swept, waiting for budget to fire */
    wheel_timer late;                /* scheduled before the sweep point */
    /* The earliest overflow tick, when known; forgotten when that timer
     * leaves, found again by a scan only when the sweep needs it. */
    uint64_t overflow_min;
    int overflow_min_known;
};

static uint64_t tick_from_ms(int64_t ms)
{
    return (uint64_t)ms ^ ((uint64_t)1 << 63);
}

static void list_init(wheel_timer *head)
{
    head->prev = head;
    head->next = head;
}

static int list_is_empty(const wheel_timer *head)
{
    return head->next == head;
}

static void list_append(wheel_timer *head, wheel_timer *timer)
{
    timer->prev = head->prev;
    timer->next = head;
    head->prev->next = timer;
    head->prev = timer;
}

/* Moves every timer of `from` to the end of `to`, leaving `from` empty. */
static void list_move_to_tail(wheel_timer *to, wheel_timer *from)
{
    if (list_is_empty(from))
        return;
    from->next->prev = to->prev;
    to->prev->next = from->next;
    from->prev->next = to;
    to->prev = from->prev;
    list_init(from);
}

/* Moves every timer of `from` to the front of `to`, leaving `from` empty. */
static void list_move_to_head(wheel_timer *to, wheel_timer *from)
{
    if (list_is_empty(from))
        return;
    from->prev->next = to->next;
    to->next->prev = from->prev;
    from->next->prev = to;
    to->next = from->next;
    list_init(from);
}

static void bit_set(wheel *w, int slot)
{
    w->occupied[slot / 64] |= (uint64_t)1 << (slot % 64);
}

static void bit_clear(wheel *w, int slot)
{
    w->occupied[slot / 64] &= ~((uint64_t)1 << (slot % 64));
}

static int bit_is_set(const wheel *w, int slot)
{
    return (w->occupied[slot / 64] >> (slot % 64)) & 1;
}

/* Lowest bit of `level` (1..5) in a tick, and that level's first slot. */
static int level_shift(int level)
{
    return LEVEL0_BITS + UPPER_BITS * (level - 1);
}

static int level_first_slot(int level)
{
    return LEVEL0_SLOTS + UPPER_SLOTS * (level - 1);
}

static int upper_slot_of(int level, uint64_t tick)
{
    return level_first_slot(level) + (int)((tick >> level_shift(level)) & (UPPER_SLOTS - 1));
}

/* The slot for a tick at or after the sweep point, or OVERFLOW_SLOT. */
static int slot_of(const wheel *w, uint64_t tick)
{
    uint64_t differing = tick ^ w->time;
    if (differing < LEVEL0_SLOTS)
        return (int)(tick & (LEVEL0_SLOTS - 1));
    int high_bit = 63 - __builtin_clzll(differing);
    if (high_bit >= WHEEL_BITS)
        return OVERFLOW_SLOT;
    return upper_slot_of((high_bit - LEVEL0_BITS) / UPPER_BITS + 1, tick);
}

static void place(wheel *w, wheel_timer *timer)
{
    uint64_t tick = tick_from_ms(timer->deadline);
    if (tick < w->time) {
        list_append(&w->late, timer);
        return;
    }
    int slot = slot_of(w, tick);
    if (slot == OVERFLOW_SLOT) {
        list_append(&w->overflow, timer);
        if (w->overflow_min_known && tick < w->overflow_min)
            w->overflow_min = tick;
        return;
    }
    list_append(&w->slots[slot], timer);
    bit_set(w, slot);
}

/* Takes a scheduled timer out of whatever list holds it; count unchanged. */
static void unlink_timer(wheel *w, wheel_timer *timer)
{
    wheel_timer *prev = timer->prev;
    wheel_timer *next = timer->next;
    prev->next = next;
    next->prev = prev;
    timer->prev = NULL;
    timer->next = NULL;

    /* Timers before the sweep point are on `due` or `late`, which have no
     * occupancy bit; the rest sit exactly where slot_of says. */
    uint64_t tick = tick_from_ms(timer->deadline);
    if (tick < w->time)
        return;
    int slot = slot_of(w, tick);
    if (slot == OVERFLOW_SLOT) {
        if (tick == w->overflow_min)
            w->overflow_min_known = 0;
    } else if (prev == next) {
        /* Only the sentinel is left: the slot is empty. */
        bit_clear(w, slot);
    }
}

/* Re-places every timer of a list (a slot or the overflow) relative to the
 * current sweep point. Saving `next` before placing keeps the walk valid even
 * if a timer lands back on the same list. */
static void replace_all(wheel *w, wheel_timer *head)
{
    wheel_timer *timer = head->next;
    list_init(head);
    while (timer != head) {
        wheel_timer *next = timer->next;
        place(w, timer);
        timer = next;
    }
}

static void cascade_slot(wheel *w, int slot)
{
    bit_clear(w, slot);
    replace_all(w, &w->slots[slot]);
}

static void rescan_overflow(wheel *w)
{
    w->overflow_min = UINT64_MAX;
    w->overflow_min_known = 1;
    replace_all(w, &w->overflow);
}

/* Moves the sweep point forward to `target`. The caller guarantees that no
 * timer in the slots or overflow has a tick before target. */
static void move_sweep(wheel *w, uint64_t target)
{
    uint64_t old = w->time;
    if (target == old)
        return;
    w->time = target;
    if ((target >> WHEEL_BITS) != (old >> WHEEL_BITS))
        rescan_overflow(w);
    for (int level = UPPER_LEVELS; level >= 1; level--) {
        int slot = upper_slot_of(level, target);
        if (bit_is_set(w, slot))
            cascade_slot(w, slot);
    }
}

static uint64_t overflow_earliest(wheel *w)
{
    if (!w->overflow_min_known) {
        uint64_t earliest = UINT64_MAX;
        for (wheel_timer *t = w->overflow.next; t != &w->overflow; t = t->next) {
            uint64_t tick = tick_from_ms(t->deadline);
            if (tick < earliest)
                earliest = tick;
        }
        w->overflow_min = earliest;
        w->overflow_min_known = 1;
    }
    return w->overflow_min;
}

/* Finds the earliest tick at which the sweep could find a due timer: exact for
 * level 0, the start of the earliest occupied slot for higher levels (every
 * timer in the wheel is at or after it). Returns 0 if the wheel holds nothing
 * outside `due` and `late`. */
static int next_stop(wheel *w, uint64_t *tick)
{
    for (int word = 0; word < LEVEL0_WORDS; word++) {
        if (w->occupied[word]) {
            int slot = word * 64 + __builtin_ctzll(w->occupied[word]);
            *tick = (w->time & ~(uint64_t)(LEVEL0_SLOTS - 1)) | (uint64_t)slot;
            return 1;
        }
    }
    for (int level = 1; level <= UPPER_LEVELS; level++) {
        uint64_t bits = w->occupied[LEVEL0_WORDS + level - 1];
        if (bits) {
            int shift = level_shift(level);
            int block_bits = shift + UPPER_BITS;
            uint64_t block_start = (w->time >> block_bits) << block_bits;
            *tick = block_start | ((uint64_t)__builtin_ctzll(bits) << shift);
            return 1;
        }
    }
    if (!list_is_empty(&w->overflow)) {
        *tick = overflow_earliest(w);
        return 1;
    }
    return 0;
}

wheel *wheel_create(int64_t now_ms)
{
    wheel *w = mem_alloc(sizeof(*w));
    w->time = tick_from_ms(now_ms);
    w->count = 0;
    for (int i = 0; i < BITMAP_WORDS; i++)
        w->occupied[i] = 0;
    for (int i = 0; i < SLOT_COUNT; i++)
        list_init(&w->slots[i]);
    list_init(&w->overflow);
    list_init(&w->due);
    list_init(&w->late);
    w->overflow_min = UINT64_MAX;
    w->overflow_min_known = 1;
    return w;
}

void wheel_destroy(wheel *w)
{
    mem_free(w);
}

void wheel_timer_init(wheel_timer *timer)
{
    timer->prev = NULL;
    timer->next = NULL;
    timer->deadline = 0;
}

int wheel_timer_is_scheduled(const wheel_timer *timer)
{
    return timer->next != NULL;
}

void wheel_schedule(wheel *w, wheel_timer *timer, int64_t deadline_ms)
{
    if (wheel_timer_is_scheduled(timer))
        unlink_timer(w, timer);
    else
        w->count++;
    timer->deadline = deadline_ms;
    place(w, timer);
}

void wheel_cancel(wheel *w, wheel_timer *timer)
{
    if (!wheel_timer_is_scheduled(timer))
        return;
    unlink_timer(w, timer);
    w->count--;
}

void wheel_relocate(wheel *w, wheel_timer *old_timer, wheel_timer *new_timer)
{
    (void)old_timer;
    if (!wheel_timer_is_scheduled(new_timer))
        return;
    /* Sentinels guarantee both neighbours exist, even for a lone timer. */
    new_timer->prev->next = new_timer;
    new_timer->next->prev = new_timer;
}

size_t wheel_advance(wheel *w, int64_t now_ms, size_t budget, wheel_fire_fn fire, void *ctx)
{
    size_t fired = 0;

    /* Keeps now + 1 representable; a deadline of INT64_MAX never fires. */
    if (now_ms == INT64_MAX)
        now_ms--;
    uint64_t now = tick_from_ms(now_ms);

    /* Late timers are older than anything swept, so they go first. */
    list_move_to_head(&w->due, &w->late);
    for (;;) {
        while (fired < budget && !list_is_empty(&w->due)) {
            wheel_timer *timer = w->due.next;
            if (timer->deadline > now_ms)
                return fired; /* the clock went back */
            unlink_timer(w, timer);
            w->count--;
            fire(ctx, timer);
            fired++;
        }
        if (fired >= budget || w->time > now)
            return fired;

        uint64_t stop;
        if (!next_stop(w, &stop) || stop > now) {
            move_sweep(w, now + 1);
            return fired;
        }
        move_sweep(w, stop);
        /* After the move, every timer due exactly at `stop` is in its level-0
         * slot (a stop that only cascaded a slot may find it empty). */
        int slot = (int)(stop & (LEVEL0_SLOTS - 1));
        if (bit_is_set(w, slot)) {
            bit_clear(w, slot);
            list_move_to_tail(&w->due, &w->slots[slot]);
        }
        move_sweep(w, stop + 1);
    }
}

size_t wheel_count(const wheel *w)
{
    return w->count;
}
