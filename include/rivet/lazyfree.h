/* lazyfree: frees big values off the event loop, on libuv's thread pool, so
 * that UNLINK of a million-element set or FLUSHALL ASYNC of a large database
 * never stalls other clients. Small values (free effort up to
 * LAZYFREE_THRESHOLD allocations) are freed at once: handing them over would
 * cost more than freeing them. used_memory stays exact: a worker's frees are
 * tallied apart and applied on the loop when it reports back. */
#ifndef RIVET_LAZYFREE_H
#define RIVET_LAZYFREE_H

#include <stddef.h>
#include <stdint.h>

#include "rivet/keyspace.h"

#define LAZYFREE_THRESHOLD 64

/* Installs the keyspace's lazy-free hook and picks which of its own deletes
 * go lazily from the lazyfree-lazy-* settings; call again after they change. */
void lazyfree_configure(keyspace *ks);
/* Frees one value now or in the background, by its free effort. */
void lazyfree_value(keyspace *ks, object_type type, object_encoding encoding, void *value);
/* FLUSHDB/FLUSHALL ASYNC: empties db now, frees its old contents later. */
void lazyfree_flush_database(database *db);

/* INFO: values waiting to be freed, and values freed in the background. */
size_t lazyfree_pending_objects(void);
/* Estimated bytes of the values handed to workers and not yet freed: still
 * in used_memory, but already on their way out (lazy eviction). */
size_t lazyfree_pending_bytes(void);
uint64_t lazyfree_freed_objects(void);

#endif
