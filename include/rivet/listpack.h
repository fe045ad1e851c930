/* listpack: a compact sequence of entries in one allocation, the small-size
 * encoding of hashes, sets, sorted sets and lists (as Redis's listpack).
 * Each entry is a byte string or an int64; strings that are canonical
 * integers are stored as integers. Entries are addressed by byte positions
 * (cursors) that stay valid until the next change. Every change may move the
 * block: functions that change it return the (possibly new) pointer. */
#ifndef RIVET_LISTPACK_H
#define RIVET_LISTPACK_H

#include <stddef.h>
#include <stdint.h>

typedef struct listpack listpack;

/* No entry: returned past the last/before the first entry, or on a miss. */
#define LISTPACK_NONE ((size_t)0)

typedef struct listpack_entry {
    const char *data; /* NULL when the entry is an integer */
    size_t len;
    int64_t integer;
} listpack_entry;

listpack *listpack_create(void);
void listpack_free(listpack *lp);
listpack *listpack_duplicate(const listpack *lp);
size_t listpack_length(const listpack *lp); /* entries */
size_t listpack_bytes(const listpack *lp);  /* allocation size */

/* Cursors. */
size_t listpack_first(const listpack *lp);
size_t listpack_last(const listpack *lp);
size_t listpack_next(const listpack *lp, size_t pos);
size_t listpack_prev(const listpack *lp, size_t pos);
/* Entry at index (negative counts from the end), or LISTPACK_NONE. */
size_t listpack_seek(const listpack *lp, int64_t index);
void listpack_get(const listpack *lp, size_t pos, listpack_entry *entry);
/* The entry's bytes; integers are rendered into scratch. */
const char *listpack_entry_bytes(const listpack_entry *entry, char scratch[24], size_t *len);
/* Nonzero when the entry at pos equals data[0..len). */
int listpack_equals(const listpack *lp, size_t pos, const char *data, size_t len);
/* First entry equal to data at or after pos, looking at every `skip`+1th
 * entry (skip 1 walks the keys of a key/value sequence); LISTPACK_NONE. */
size_t listpack_find(const listpack *lp, size_t pos, const char *data, size_t len, int skip);

/* Changes. */
listpack *listpack_append(listpack *lp, const char *data, size_t len);
listpack *listpack_append_integer(listpack *lp, int64_t value);
listpack *listpack_prepend(listpack *lp, const char *data, size_t len);
/* Inserts before pos (pos == LISTPACK_NONE appends). *inserted (may be
 * NULL) receives the new entry's cursor. */
listpack *listpack_insert(listpack *lp, size_t pos, const char *data, size_t len,
                          size_t *inserted);
listpack *listpack_replace(listpack *lp, size_t pos, const char *data, size_t len);
/* Deletes count entries starting at pos; *next (may be NULL) receives the
 * cursor of the entry that followed them (or LISTPACK_NONE). */
listpack *listpack_delete(listpack *lp, size_t pos, size_t count, size_t *next);
/* Deletes `count` entries starting at index (negative allowed). */
listpack *listpack_delete_range(listpack *lp, int64_t index, size_t count);

#endif
