/* aof: the append-only file. Propagation turns every write a command made
 * into deterministic RESP commands (relative times become absolute, random
 * choices become the chosen members, native primitives become RESTORE of
 * their new state); the AOF appends them to the incremental file of Redis
 * 7's multi-part layout, fsyncs per appendfsync, loads the files at start-up
 * and rewrites them in a forked child (BGREWRITEAOF). */
#ifndef RIVET_AOF_H
#define RIVET_AOF_H

#include <stddef.h>
#include <stdint.h>

#include "rivet/buffer.h"
#include "rivet/client.h"
#include "rivet/command.h"

#define AOF_MISCONF_PREFIX "MISCONF Errors writing to the AOF file: "

/* ---------- propagation (propagate.c) ---------- */

/* Brackets every command execution (dispatch, EXEC's queue, script calls,
 * blocked clients served later). Calls nest; the outermost call's effects
 * are written as one unit, wrapped in MULTI/EXEC when more than one command
 * results. A call whose effects came from nested calls (EXEC, EVAL) is not
 * itself written. reply_start is where the call's reply begins in
 * c->reply.out (SPOP, XADD, INCRBYFLOAT read their result from it). */
void propagate_call_begin(client *c);
void propagate_call_end(client *c, const command *cmd, size_t reply_start);
/* The keyspace's modified hook forwards every change here. */
void propagate_key_modified(database *db, const char *key, size_t key_len, const char *event);

/* ---------- manifest (aof_manifest.c, no server state) ---------- */

typedef enum { AOF_FILE_BASE = 'b', AOF_FILE_HISTORY = 'h', AOF_FILE_INCR = 'i' } aof_file_type;

typedef struct aof_file_info {
    char *name;
    int64_t seq;
    aof_file_type type;
} aof_file_info;

typedef struct aof_manifest {
    aof_file_info base; /* name NULL when there is none */
    aof_file_info *incr;
    size_t incr_count;
    aof_file_info *history;
    size_t history_count;
    int64_t next_base_seq; /* seq the next base file gets */
    int64_t next_incr_seq;
} aof_manifest;

void aof_manifest_init(aof_manifest *m);
void aof_manifest_release(aof_manifest *m);
/* Parses the manifest's text (Redis 7 syntax: "file <name> seq <n> type
 * <b|h|i>" lines, '#' comments). 0, or -1 with a message in err. */
int aof_manifest_parse(aof_manifest *m, const char *text, size_t len, char *err, size_t err_size);
/* Appends the manifest's text: base, history, then incremental files. */
void aof_manifest_format(const aof_manifest *m, buffer *out);
void aof_manifest_add_incr(aof_manifest *m, const char *name, int64_t seq);
/* File names as Redis builds them from appendfilename. */
void aof_name_base(buffer *out, const char *filename, int64_t seq, int rdb_preamble);
void aof_name_incr(buffer *out, const char *filename, int64_t seq);

/* ---------- the command stream parser (aof_load.c) ---------- */

typedef enum {
    AOF_PARSE_OK = 0,        /* one command parsed */
    AOF_PARSE_END = 1,       /* clean end of input */
    AOF_PARSE_TRUNCATED = 2, /* input ends inside a command */
    AOF_PARSE_BAD = 3,       /* not a command in AOF form */
} aof_parse_status;

/* Parses one "*<n>\r\n$<len>\r\n<bytes>\r\n..." command at data[*pos];
 * on OK fills argv (argv[i] points into data), moves *pos past it. argv
 * and lens have room for *argc_cap entries and are grown with mem_realloc. */
aof_parse_status aof_parse_command(const char *data, size_t len, size_t *pos, int *argc,
                                   const char ***argv, size_t **lens, int *argc_cap);

/* ---------- the server's AOF (aof.c) ---------- */

typedef struct aof_status {
    int enabled; /* aof_enabled: appendonly is on and files are open */
    int rewrite_in_progress;
    int rewrite_scheduled;
    int64_t rewrite_started_ms;
    int64_t last_rewrite_seconds; /* -1 before the first */
    int last_rewrite_ok;
    uint64_t rewrites;
    uint64_t rewrite_failures_in_a_row;
    int last_write_ok;
    int last_write_errno;
    uint64_t current_size; /* base + incr bytes */
    uint64_t base_size;    /* of the base at the last rewrite or load */
    uint64_t delayed_fsync;
    int loading;
} aof_status;

const aof_status *aof_get_status(void);
size_t aof_buffer_length(void);
/* Appends one command (SELECT first when db differs from the file's). */
void aof_feed(int db, int argc, const char *const *argv, const size_t *lens);
/* Appends RESP bytes already built for db. */
void aof_feed_raw(int db, const char *resp, size_t len);
/* Nonzero when commands wait in the buffer. */
int aof_needs_flush(void);
/* Writes the buffer and starts the fsync the policy asks for (always: in
 * the background, covering everything written so far). force_fsync
 * fdatasyncs before returning (shutdown, rewrite start). */
void aof_flush(int force_fsync);
/* Group commit. Bytes given to the AOF so far, and how many of them a
 * reply may depend on now (synced with always, written otherwise, all
 * when AOF is off): a client whose writes ended at fed offset X gets its
 * replies once aof_durable_offset() >= X. */
uint64_t aof_fed_offset(void);
uint64_t aof_durable_offset(void);
/* notify is called on the fsync thread when an fsync ends; it must only
 * wake the loop (uv_async_send), which then calls aof_sync_done. */
void aof_set_sync_notify(void (*notify)(void));
void aof_sync_done(void);
/* Start-up: with appendonly yes loads the manifest's files (1 when there
 * is no AOF yet, 0 loaded, -1 fatal) and opens the incremental file. */
int aof_load_at_startup(int (*between_chunks)(void));
int aof_open_at_startup(void);
/* CONFIG SET appendonly: 0, or -1 when turning it on failed. */
int aof_set_enabled(int on);
/* BGREWRITEAOF: 0 started (or scheduled, *scheduled=1), -1 failed. */
int aof_rewrite_background(int *scheduled);
/* Reaps the rewrite child, fsyncs everysec, starts scheduled/automatic
 * rewrites; called by the server cron. */
void aof_cron(void);
/* DEBUG LOADAOF: flush, empty the data set and load the files again. */
int aof_reload(char *err, size_t err_size);
/* Flushes and fsyncs before exit; kills a rewrite child. */
void aof_shutdown(void);
/* Nonzero while the last write failed: writes are refused. */
int aof_writes_refused(void);
const char *aof_write_error(void);
void aof_kill_child(void);
/* BGSAVE SCHEDULE during a rewrite: the cron starts it afterwards. */
void aof_schedule_bgsave(void);
int aof_child_running(void);

#endif
