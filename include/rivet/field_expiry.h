/* field_expiry: the deadlines of the fields of one hash that have a TTL
 * (field -> absolute ms), found by field in O(1) and ordered by deadline in a
 * binary heap, so the earliest one is read in O(1) and set/remove are
 * O(log n). It exists only for hashes that have at least one field TTL. */
#ifndef RIVET_FIELD_EXPIRY_H
#define RIVET_FIELD_EXPIRY_H

#include <stddef.h>
#include <stdint.h>

typedef struct field_expiry field_expiry;

field_expiry *field_expiry_create(void);
void field_expiry_free(field_expiry *fe);
field_expiry *field_expiry_duplicate(const field_expiry *fe);
size_t field_expiry_count(const field_expiry *fe);
/* Bytes held: the index, the heap array and one block per field, counting
 * every field (samples 0) or extrapolating from `samples` of them. */
size_t field_expiry_memory(const field_expiry *fe, size_t samples);

/* The field's deadline, or -1 when it has none. */
int64_t field_expiry_get(field_expiry *fe, const char *field, size_t len);
/* Sets (adds or moves) the field's deadline. */
void field_expiry_set(field_expiry *fe, const char *field, size_t len, int64_t deadline);
/* Forgets the field's deadline: 1 if it had one. */
int field_expiry_remove(field_expiry *fe, const char *field, size_t len);
/* The earliest deadline, or -1 when there is none. */
int64_t field_expiry_next(const field_expiry *fe);
/* The field holding the earliest deadline (0 when empty). The pointer is
 * valid until the structure next changes. */
int field_expiry_first(const field_expiry *fe, const char **field, size_t *len, int64_t *deadline);

#endif
