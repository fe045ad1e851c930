/* reply: writes RESP2 or RESP3 replies into an output buffer. Nothing here
 * does I/O or allocates per reply beyond growing the buffer: the connection
 * layer sends the whole buffer after a read batch. Where RESP3 has a richer
 * type (map, set, double, null, boolean, verbatim, push) the writer emits it
 * for protocol 3 and the RESP2 equivalent otherwise, as Redis does. */
#ifndef RIVET_REPLY_H
#define RIVET_REPLY_H

#include <stddef.h>
#include <stdint.h>

#include "rivet/buffer.h"

typedef struct reply_writer {
    buffer out;
    int protocol; /* 2 or 3 */
} reply_writer;

void reply_ok(reply_writer *w);
void reply_status(reply_writer *w, const char *status); /* +status */
void reply_status_len(reply_writer *w, const char *status, size_t len);
/* err is the full error text without the leading '-', e.g. "ERR syntax error".
 * Newlines in it are turned into spaces so the protocol stays intact. */
void reply_error(reply_writer *w, const char *err);
void reply_error_len(reply_writer *w, const char *err, size_t len);
void reply_errorf(reply_writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void reply_integer(reply_writer *w, int64_t value);
void reply_bulk(reply_writer *w, const void *data, size_t len);
void reply_bulk_cstr(reply_writer *w, const char *s);
void reply_bulk_integer(reply_writer *w, int64_t value); /* integer rendered as a bulk string */
/* A double as Redis renders it: "%.17g" style shortest form, "inf"/"-inf";
 * RESP3 ",value", RESP2 a bulk string. */
void reply_double(reply_writer *w, double value);
/* A long double as INCRBYFLOAT renders it (bulk string in both protocols). */
void reply_long_double_bulk(reply_writer *w, long double value);
void reply_null(reply_writer *w);            /* RESP2 $-1, RESP3 _ */
void reply_null_array(reply_writer *w);      /* RESP2 *-1, RESP3 _ */
void reply_bool(reply_writer *w, int value); /* RESP3 #t/#f, RESP2 :1/:0 */
void reply_array(reply_writer *w, size_t count);
void reply_map(reply_writer *w, size_t pairs);  /* RESP2: array of 2*pairs */
void reply_set(reply_writer *w, size_t count);  /* RESP2: array */
void reply_push(reply_writer *w, size_t count); /* RESP2: array */
void reply_verbatim(reply_writer *w, const char *data, size_t len,
                    const char *ext); /* RESP2: bulk */
void reply_empty_array(reply_writer *w);
/* RESP3 big number "(digits"; RESP2: a bulk string. */
void reply_big_number(reply_writer *w, const char *digits, size_t len);
/* RESP3 attribute header "|pairs" (its pairs follow, then the real reply);
 * RESP2 has no attributes: the caller skips the pairs (returns 0 then). */
int reply_attribute(reply_writer *w, size_t pairs);

/* Replies whose element count is known only at the end: reserve, then fill. */
size_t reply_defer(reply_writer *w);
void reply_defer_array(reply_writer *w, size_t handle, size_t count);
void reply_defer_map(reply_writer *w, size_t handle, size_t pairs);
void reply_defer_set(reply_writer *w, size_t handle, size_t count);

/* Common error texts, exactly as Redis writes them. */
#define ERR_SYNTAX      "ERR syntax error"
#define ERR_WRONGTYPE   "WRONGTYPE Operation against a key holding the wrong kind of value"
#define ERR_NOT_INTEGER "ERR value is not an integer or out of range"
#define ERR_NOT_FLOAT   "ERR value is not a valid float"
#define ERR_OVERFLOW    "ERR increment or decrement would overflow"
#define ERR_NO_SUCH_KEY "ERR no such key"
#define ERR_DB_RANGE    "ERR DB index is out of range"
#define ERR_NOAUTH      "NOAUTH Authentication required."

#endif
