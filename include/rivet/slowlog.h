/* slowlog: the last N commands that ran longer than slowlog-log-slower-than,
 * with their arguments trimmed as Redis trims them (32 args, 128 bytes). */
#ifndef RIVET_SLOWLOG_H
#define RIVET_SLOWLOG_H

#include <stddef.h>
#include <stdint.h>

#include "rivet/reply.h"

typedef struct slowlog slowlog;

slowlog *slowlog_create(void);
void slowlog_destroy(slowlog *log);
/* Records a command if duration_us passes the threshold. */
void slowlog_record(slowlog *log, int64_t threshold_us, size_t max_len, int argc, const char **argv,
                    const size_t *argv_len, int64_t duration_us, int64_t when_s,
                    const char *client_address, const char *client_name);
size_t slowlog_length(const slowlog *log);
void slowlog_reset(slowlog *log);
/* SLOWLOG GET count (-1 = all) reply. */
void slowlog_reply(const slowlog *log, reply_writer *w, int64_t count);
/* Drops the oldest entries beyond max_len (after CONFIG SET). */
void slowlog_trim(slowlog *log, size_t max_len);

#endif
