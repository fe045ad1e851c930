/* The slow log keeps entries newest first in a doubly linked list so trimming
 * the oldest after a CONFIG SET is cheap. */
#include "rivet/slowlog.h"

#include <stdio.h>
#include <string.h>

#include "rivet/buffer.h"
#include "rivet/memory.h"

#define SLOWLOG_MAX_ARGS      32
#define SLOWLOG_MAX_ARG_BYTES 128

typedef struct slowlog_entry {
    struct slowlog_entry *newer, *older;
    uint64_t id;
    int64_t when_s;
    int64_t duration_us;
    int argc;
    buffer *argv;
    char *client_address;
    char *client_name;
} slowlog_entry;

struct slowlog {
    slowlog_entry *newest, *oldest;
    size_t length;
    uint64_t next_id;
};

slowlog *slowlog_create(void)
{
    return mem_calloc(sizeof(slowlog));
}

static void entry_free(slowlog_entry *e)
{
    for (int i = 0; i < e->argc; i++)
        buffer_release(&e->argv[i]);
    mem_free(e->argv);
    mem_free(e->client_address);
    mem_free(e->client_name);
    mem_free(e);
}

void slowlog_trim(slowlog *log, size_t max_len)
{
    while (log->length > max_len) {
        slowlog_entry *e = log->oldest;
        log->oldest = e->newer;
        if (log->oldest)
            log->oldest->older = NULL;
        else
            log->newest = NULL;
        entry_free(e);
        log->length--;
    }
}

void slowlog_reset(slowlog *log)
{
    slowlog_trim(log, 0);
}

void slowlog_destroy(slowlog *log)
{
    if (log == NULL)
        return;
    slowlog_reset(log);
    mem_free(log);
}

size_t slowlog_length(const slowlog *log)
{
    return log->length;
}

void slowlog_record(slowlog *log, int64_t threshold_us, size_t max_len, int argc, const char **argv,
                    const size_t *argv_len, int64_t duration_us, int64_t when_s,
                    const char *client_address, const char *client_name)
{
    if (threshold_us < 0 || duration_us < threshold_us)
        return;
    slowlog_entry *e = mem_calloc(sizeof(*e));
    e->id = log->next_id++;
    e->when_s = when_s;
    e->duration_us = duration_us;
    e->argc = argc > SLOWLOG_MAX_ARGS ? SLOWLOG_MAX_ARGS : argc;
    e->argv = mem_calloc(sizeof(buffer) * (size_t)e->argc);
    for (int i = 0; i < e->argc; i++) {
        buffer_init(&e->argv[i]);
        if (i == SLOWLOG_MAX_ARGS - 1 && argc > SLOWLOG_MAX_ARGS) {
            buffer_appendf(&e->argv[i], "... (%d more arguments)", argc - SLOWLOG_MAX_ARGS + 1);
        } else if (argv_len[i] > SLOWLOG_MAX_ARG_BYTES) {
            buffer_append(&e->argv[i], argv[i], SLOWLOG_MAX_ARG_BYTES);
            buffer_appendf(&e->argv[i], "... (%zu more bytes)",
                           argv_len[i] - SLOWLOG_MAX_ARG_BYTES);
        } else {
            buffer_append(&e->argv[i], argv[i], argv_len[i]);
        }
    }
    e->client_address = mem_strdup(client_address ? client_address : "");
    e->client_name = mem_strdup(client_name ? client_name : "");
    e->older = log->newest;
    if (log->newest)
        log->newest->newer = e;
    else
        log->oldest = e;
    log->newest = e;
    log->length++;
    slowlog_trim(log, max_len);
}

void slowlog_reply(const slowlog *log, reply_writer *w, int64_t count)
{
    size_t n = count < 0 || (size_t)count > log->length ? log->length : (size_t)count;
    reply_array(w, n);
    const slowlog_entry *e = log->newest;
    for (size_t i = 0; i < n; i++, e = e->older) {
        reply_array(w, 6);
        reply_integer(w, (int64_t)e->id);
        reply_integer(w, e->when_s);
        reply_integer(w, e->duration_us);
        reply_array(w, (size_t)e->argc);
        for (int j = 0; j < e->argc; j++)
            reply_bulk(w, e->argv[j].data ? e->argv[j].data : "", e->argv[j].len);
        reply_bulk_cstr(w, e->client_address);
        reply_bulk_cstr(w, e->client_name);
    }
}
