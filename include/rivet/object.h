/* object: the value types a key can hold and their encodings, with the names
 * TYPE and OBJECT ENCODING report. Shared by keyspace/ and commands/. */
#ifndef RIVET_OBJECT_H
#define RIVET_OBJECT_H

typedef enum object_type {
    OBJECT_STRING = 0,
    OBJECT_LIST,
    OBJECT_SET,
    OBJECT_ZSET,
    OBJECT_HASH,
    OBJECT_STREAM,
    /* Rivet's native state primitives (docs/primitives.md). */
    OBJECT_RATELIMIT,   /* RL.HIT / CL.THROTTLE state */
    OBJECT_LOCK,        /* LOCK.* owner, fencing token, waiters */
    OBJECT_IDEMPOTENCY, /* IDEM.* record */
    OBJECT_WINDOW,      /* COUNTER.WINDOW rolling buckets */
    OBJECT_TYPE_COUNT
} object_type;

typedef enum object_encoding {
    ENCODING_INT = 0, /* string holding an int64 */
    ENCODING_EMBSTR,  /* short string stored inside the key's entry */
    ENCODING_RAW,     /* string in its own growable buffer */
    ENCODING_LISTPACK,
    ENCODING_QUICKLIST,
    ENCODING_INTSET,
    ENCODING_HASHTABLE,
    ENCODING_SKIPLIST,
    ENCODING_STREAM,
    ENCODING_NATIVE, /* a native primitive's own structure */
    /* A hash with field TTLs: a field_table plus its field_expiry. OBJECT
     * ENCODING reports it as "hashtable", as Redis does. */
    ENCODING_HASHTABLE_TTL,
    ENCODING_COUNT
} object_encoding;

const char *object_type_name(object_type type);
const char *object_encoding_name(object_encoding encoding);
/* Parses a TYPE name as SCAN ... TYPE takes it; -1 if unknown. */
int object_type_from_name(const char *name);

/* Strings up to this many bytes are embedded in the entry (Redis: 44). */
#define OBJECT_EMBSTR_MAX 44

#endif
