/* hash_access: what persistence needs from a hash value beyond the public
 * field_table / listpack structures: the parts of a hash with field TTLs,
 * and a way to give a stored hash's field a TTL (as HPEXPIREAT does, timer
 * included). The hash_with_ttl layout stays private to commands/hash.c. */
#ifndef RIVET_HASH_ACCESS_H
#define RIVET_HASH_ACCESS_H

#include <stddef.h>
#include <stdint.h>

#include "rivet/field_expiry.h"
#include "rivet/field_table.h"
#include "rivet/keyspace.h"

/* A non-listpack hash's field_table, and its field_expiry (NULL when the
 * hash has no field TTLs). */
void hash_value_parts(object_encoding encoding, void *ptr, field_table **table,
                      field_expiry **expiry);
/* Sets the deadline (absolute ms) of an existing field of the hash at
 * *entry; *entry may move. */
void hash_entry_set_field_ttl(database *db, kv_entry **entry, const char *field, size_t len,
                              int64_t deadline);

#endif
