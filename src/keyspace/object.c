/* Type and encoding names exactly as TYPE and OBJECT ENCODING print them. */
#include "rivet/object.h"

#include <strings.h>

static const char *const type_names[OBJECT_TYPE_COUNT] = {
    "string", "list", "set", "zset", "hash", "stream", "ratelimit", "lock", "idempotency", "window",
};

static const char *const encoding_names[ENCODING_COUNT] = {
    "int",       "embstr",   "raw",    "listpack", "quicklist", "intset",
    "hashtable", "skiplist", "stream", "native",   "hashtable",
};

const char *object_type_name(object_type type)
{
    return (unsigned)type < OBJECT_TYPE_COUNT ? type_names[type] : "unknown";
}

const char *object_encoding_name(object_encoding encoding)
{
    return (unsigned)encoding < ENCODING_COUNT ? encoding_names[encoding] : "unknown";
}

int object_type_from_name(const char *name)
{
    for (int i = 0; i < OBJECT_TYPE_COUNT; i++)
        if (strcasecmp(name, type_names[i]) == 0)
            return i;
    return -1;
}
