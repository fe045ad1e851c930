/* snapshot: how the server uses RDB files. SAVE writes in the foreground,
 * BGSAVE in a forked child (copy-on-write keeps the loop serving) that the
 * cron reaps; save points trigger BGSAVE from the dirty counter; the
 * snapshot is loaded at start-up. Holds the state INFO persistence shows
 * and decides when writes are refused with MISCONF. */
#ifndef RIVET_SNAPSHOT_H
#define RIVET_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#define SNAPSHOT_MISCONF_ERROR                                                                     \
    "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to "  \
    "disk. Commands that may modify the data set are disabled, because this instance is "          \
    "configured to report errors during writes if RDB snapshotting fails "                         \
    "(stop-writes-on-bgsave-error option). Please check the Redis logs for details about the "     \
    "RDB error."

typedef struct snapshot_status {
    int loading;
    int bgsave_in_progress;
    int64_t bgsave_started_ms;
    int last_bgsave_ok;
    int64_t last_bgsave_seconds; /* -1 before the first */
    uint64_t saves;              /* successful saves since start */
    uint64_t last_load_keys;     /* keys the last load brought in */
    uint64_t last_load_expired;  /* keys it dropped as already expired */
} snapshot_status;

/* Foreground save of every database to dbfilename: 0, or -1 (logged). */
int snapshot_save(void);
/* Forks a child that saves: 0 started, -1 fork failed (logged). The caller
 * checks snapshot_status()->bgsave_in_progress first. */
int snapshot_background_save(void);
/* Reaps a finished child and starts a BGSAVE when a save point is due. */
void snapshot_cron(void);
/* Loads dbfilename at start-up: 0 loaded or absent, -1 on a bad file or
 * when a shutdown was requested meanwhile. between_chunks (may be NULL)
 * runs every few thousand keys, so clients can be answered (LOADING) while
 * the load runs; a nonzero return stops it. */
int snapshot_load_at_startup(int (*between_chunks)(void));
/* Empties the keyspace and loads dbfilename again (DEBUG RELOAD); 0 or -1
 * with a message in err. */
int snapshot_reload(char *err, size_t err_size);
/* Loads dbfilename over the current data (keys in the file replace theirs). */
int snapshot_load_merge(char *err, size_t err_size);
/* Stops a running child without keeping its output. */
void snapshot_kill_child(void);
/* The save shutdown needs: with force_save, or when save points exist and
 * not nosave (never while loading). 0 when the server may stop. */
int snapshot_before_shutdown(int force_save, int nosave);
/* FLUSHALL's bookkeeping: a running child is stopped and, with save
 * points, the empty data set saved at once, as Redis does. */
void snapshot_after_flushall(void);
/* Nonzero when writes must get SNAPSHOT_MISCONF_ERROR. */
int snapshot_writes_refused(void);
const snapshot_status *snapshot_get_status(void);

#endif
