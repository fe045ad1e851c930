/* A sorted array of integers sharing one width.
 *
 * Small integer sets are common (ids, flags, tags held as numbers), and
 * storing them as a plain sorted array costs 2-8 bytes a member with no
 * per-member allocation. The price is O(n) insertion and removal, which is
 * why sets leave this encoding past set-max-intset-entries.
 *
 * The width only ever grows: a value outside the current width's range is
 * either smaller or larger than every stored value, so widening can rewrite
 * the old elements from the back and put the new one at an end without a
 * search. Removing the one wide value does not narrow the array again; the
 * set would just widen on the next such value. */
#include "rivet/intset.h"

#include <string.h>

#include "rivet/memory.h"

struct intset {
    uint32_t width;  /* bytes per element: 2, 4 or 8 */
    uint32_t length; /* elements */
    unsigned char contents[];
};

static int width_for(int64_t value)
{
    if (value >= INT16_MIN && value <= INT16_MAX)
        return 2;
    if (value >= INT32_MIN && value <= INT32_MAX)
        return 4;
    return 8;
}

/* Elements are read and written through memcpy so the code neither depends
 * on alignment nor breaks strict aliasing; compilers turn it into one load. */
static int64_t read_at(const unsigned char *contents, int width, size_t index)
{
    if (width == 2) {
        int16_t v;
        memcpy(&v, contents + index * 2, 2);
        return v;
    }
    if (width == 4) {
        int32_t v;
        memcpy(&v, contents + index * 4, 4);
        return v;
    }
    int64_t v;
    memcpy(&v, contents + index * 8, 8);
    return v;
}

static void write_at(unsigned char *contents, int width, size_t index, int64_t value)
{
    if (width == 2) {
        int16_t v = (int16_t)value;
        memcpy(contents + index * 2, &v, 2);
    } else if (width == 4) {
        int32_t v = (int32_t)value;
        memcpy(contents + index * 4, &v, 4);
    } else {
        memcpy(contents + index * 8, &value, 8);
    }
}

static intset *resize(intset *set, int width, size_t length)
{
    return mem_realloc(set, sizeof(intset) + (size_t)width * length);
}

intset *intset_create(void)
{
    intset *set = mem_alloc(sizeof(intset));
    set->width = 2;
    set->length = 0;
    return set;
}

void intset_free(intset *set)
{
    mem_free(set);
}

intset *intset_duplicate(const intset *set)
{
    return mem_dup(set, intset_bytes(set));
}

size_t intset_length(const intset *set)
{
    return set->length;
}

size_t intset_bytes(const intset *set)
{
    return sizeof(intset) + (size_t)set->width * set->length;
}

int intset_width(const intset *set)
{
    return (int)set->width;
}

int64_t intset_get(const intset *set, size_t index)
{
    return read_at(set->contents, (int)set->width, index);
}

int intset_find(const intset *set, int64_t value, size_t *index)
{
    size_t low = 0, high = set->length;
    int found = 0;
    /* The ends first: values are often added in ascending order, and a value
     * past either end needs no search at all. */
    if (high > 0 && value > intset_get(set, high - 1)) {
        low = high;
    } else if (high > 0 && value < intset_get(set, 0)) {
        high = 0;
    } else {
        while (low < high) {
            size_t middle = low + (high - low) / 2;
            int64_t current = intset_get(set, middle);
            if (current < value) {
                low = middle + 1;
            } else if (current > value) {
                high = middle;
            } else {
                low = middle;
                found = 1;
                break;
            }
        }
    }
    if (index)
        *index = low;
    return found;
}

int intset_contains(const intset *set, int64_t value)
{
    if (width_for(value) > (int)set->width)
        return 0;
    return intset_find(set, value, NULL);
}

/* Rewrites every element at the new width, back to front so nothing is
 * overwritten before it is read, leaving a free slot at the end the value
 * belongs to. */
static intset *widen_and_add(intset *set, int64_t value)
{
    int old_width = (int)set->width, new_width = width_for(value);
    size_t length = set->length;
    int prepend = value < 0; /* out of the old range, so below every element */
    set = resize(set, new_width, length + 1);
    set->width = (uint32_t)new_width;
    for (size_t i = length; i-- > 0;)
        write_at(set->contents, new_width, i + (size_t)prepend,
                 read_at(set->contents, old_width, i));
    write_at(set->contents, new_width, prepend ? 0 : length, value);
    set->length = (uint32_t)(length + 1);
    return set;
}

intset *intset_add(intset *set, int64_t value, int *added)
{
    if (added)
        *added = 0;
    if (width_for(value) > (int)set->width) {
        if (added)
            *added = 1;
        return widen_and_add(set, value);
    }
    size_t index;
    if (intset_find(set, value, &index))
        return set;
    int width = (int)set->width;
    size_t length = set->length;
    set = resize(set, width, length + 1);
    memmove(set->contents + (index + 1) * (size_t)width, set->contents + index * (size_t)width,
            (length - index) * (size_t)width);
    write_at(set->contents, width, index, value);
    set->length = (uint32_t)(length + 1);
    if (added)
        *added = 1;
    return set;
}

intset *intset_remove_at(intset *set, size_t index)
{
    int width = (int)set->width;
    size_t length = set->length;
    memmove(set->contents + index * (size_t)width, set->contents + (index + 1) * (size_t)width,
            (length - index - 1) * (size_t)width);
    set->length = (uint32_t)(length - 1);
    return resize(set, width, length - 1);
}

intset *intset_remove(intset *set, int64_t value, int *removed)
{
    size_t index;
    if (removed)
        *removed = 0;
    if (width_for(value) > (int)set->width || !intset_find(set, value, &index))
        return set;
    if (removed)
        *removed = 1;
    return intset_remove_at(set, index);
}
