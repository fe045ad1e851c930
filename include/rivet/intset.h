/* intset: a sorted array of distinct int64 values in one allocation, the
 * compact encoding of sets whose members are all integers. Every element is
 * stored with the same width (2, 4 or 8 bytes), the smallest that fits them
 * all; adding a value that does not fit widens the whole array once. Lookups
 * are binary searches. Changes may move the block: functions that change it
 * return the (possibly new) pointer. */
#ifndef RIVET_INTSET_H
#define RIVET_INTSET_H

#include <stddef.h>
#include <stdint.h>

typedef struct intset intset;

intset *intset_create(void);
void intset_free(intset *set);
intset *intset_duplicate(const intset *set);

size_t intset_length(const intset *set);
/* Allocation size in bytes (header included). */
size_t intset_bytes(const intset *set);
/* Width of each element in bytes: 2, 4 or 8. */
int intset_width(const intset *set);

/* Value at index (0 <= index < length); values are in ascending order. */
int64_t intset_get(const intset *set, size_t index);
int intset_contains(const intset *set, int64_t value);
/* Position of value: 1 and *index = its index when present, otherwise 0 and
 * *index = where it would be inserted. index may be NULL. */
int intset_find(const intset *set, int64_t value, size_t *index);

/* Adds value; *added (may be NULL) is set to 1 if it was not there yet. */
intset *intset_add(intset *set, int64_t value, int *added);
/* Removes value; *removed (may be NULL) is set to 1 if it was there. */
intset *intset_remove(intset *set, int64_t value, int *removed);
/* Removes the value at index (0 <= index < length). */
intset *intset_remove_at(intset *set, size_t index);

#endif
