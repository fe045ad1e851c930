/* The server's snapshots: foreground and background saves, save points,
 * the start-up load, and what INFO and MISCONF need to know.
 *
 * BGSAVE forks: the child sees the data frozen at the fork (pages are
 * shared copy-on-write), writes temp-<childpid>.rdb, renames it over
 * dbfilename and exits 0 or 1. The parent never waits for it; the cron
 * reaps it with waitpid(WNOHANG) and settles the dirty counter: changes
 * made while the child ran are still unsaved. */
#include "rivet/snapshot.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rivet/aof.h"
#include "rivet/rdb.h"
#include "rivet/server.h"

/* After a failed BGSAVE, save points retry no sooner than this (Redis's
 * CONFIG_BGSAVE_RETRY_DELAY). */
#define BGSAVE_RETRY_DELAY_S 5

static snapshot_status status = {.last_bgsave_ok = 1, .last_bgsave_seconds = -1};
static pid_t child_pid = -1;
static uint64_t dirty_at_fork;
static int64_t last_bgsave_try_s;

const snapshot_status *snapshot_get_status(void)
{
    return &status;
}

static uint64_t *dirty_counter(void)
{
    return &keyspace_get_stats(server.keyspace)->dirty;
}

static rdb_save_options save_options(void)
{
    rdb_save_options o = {server.config.rdb_compression, server.config.rdb_checksum};
    return o;
}

int snapshot_save(void)
{
    char err[512];
    rdb_save_options options = save_options();
    if (rdb_save_file(server.keyspace, server.config.dbfilename, &options, err, sizeof(err)) != 0) {
        server_log(LOG_WARNING, "%s", err);
        return -1;
    }
    server_log(LOG_NOTICE, "DB saved on disk");
    *dirty_counter() = 0;
    server.last_save_s = server.now_ms / 1000;
    /* A good foreground save also ends MISCONF, as in Redis. */
    status.last_bgsave_ok = 1;
    status.saves++;
    return 0;
}

int snapshot_background_save(void)
{
    last_bgsave_try_s = server.now_ms / 1000;
    pid_t pid = fork();
    if (pid < 0) {
        server_log(LOG_WARNING, "Can't save in background: fork: %s", strerror(errno));
        status.last_bgsave_ok = 0;
        return -1;
    }
    if (pid == 0) {
        /* The child: default signal handling, write, leave without running
         * the parent's exit path (atexit handlers, libuv teardown). */
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        char err[512];
        rdb_save_options options = save_options();
        int rc =
            rdb_save_file(server.keyspace, server.config.dbfilename, &options, err, sizeof(err));
        if (rc != 0)
            server_log(LOG_WARNING, "%s", err);
        else
            server_log(LOG_NOTICE, "DB saved on disk");
        _exit(rc == 0 ? 0 : 1);
    }
    server_log(LOG_NOTICE, "Background saving started by pid %d", (int)pid);
    child_pid = pid;
    dirty_at_fork = *dirty_counter();
    status.bgsave_in_progress = 1;
    status.bgsave_started_ms = server.now_ms;
    return 0;
}

/* A child that died midway may leave its temp file behind. */
static void remove_temp_file(pid_t pid)
{
    char temp[64];
    snprintf(temp, sizeof(temp), "temp-%d.rdb", (int)pid);
    unlink(temp);
}

static void child_done(int ok, int by_signal)
{
    pid_t pid = child_pid;
    status.bgsave_in_progress = 0;
    status.last_bgsave_seconds = (server.now_ms - status.bgsave_started_ms) / 1000;
    child_pid = -1;
    if (ok) {
        server_log(LOG_NOTICE, "Background saving terminated with success");
        uint64_t *dirty = dirty_counter();
        *dirty = *dirty > dirty_at_fork ? *dirty - dirty_at_fork : 0;
        server.last_save_s = server.now_ms / 1000;
        status.last_bgsave_ok = 1;
        status.saves++;
    } else if (by_signal) {
        server_log(LOG_WARNING, "Background saving terminated by signal");
        status.last_bgsave_ok = 0;
        remove_temp_file(pid);
    } else {
        server_log(LOG_WARNING, "Background saving error");
        status.last_bgsave_ok = 0;
    }
}

static void reap_child(void)
{
    int wstatus;
    pid_t pid = waitpid(child_pid, &wstatus, WNOHANG);
    if (pid == 0)
        return;
    if (pid < 0) {
        child_done(0, 0);
        return;
    }
    if (WIFSIGNALED(wstatus))
        child_done(0, 1);
    else
        child_done(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0, 0);
}

void snapshot_kill_child(void)
{
    if (child_pid < 0)
        return;
    kill(child_pid, SIGUSR1);
    waitpid(child_pid, NULL, 0);
    remove_temp_file(child_pid);
    child_pid = -1;
    status.bgsave_in_progress = 0;
}

void snapshot_cron(void)
{
    if (child_pid >= 0) {
        reap_child();
        return;
    }
    int64_t now_s = server.now_ms / 1000;
    uint64_t dirty = *dirty_counter();
    for (int i = 0; i < server.config.save_count; i++) {
        const save_point *sp = &server.config.save[i];
        if (dirty < (uint64_t)sp->changes || now_s - server.last_save_s < sp->seconds)
            continue;
        /* After a failure, wait a little before trying again. */
        if (!status.last_bgsave_ok && now_s - last_bgsave_try_s <= BGSAVE_RETRY_DELAY_S)
            continue;
        server_log(LOG_NOTICE, "%d changes in %d seconds. Saving...", (int)sp->changes,
                   (int)sp->seconds);
        snapshot_background_save();
        return;
    }
}

static int load_file(int (*between_chunks)(void), char *err, size_t err_size)
{
    rdb_load_stats stats;
    int64_t start = server.now_ms;
    status.loading = 1;
    int rc = rdb_load_file(server.keyspace, server.config.dbfilename, &stats, between_chunks, err,
                           err_size);
    status.loading = 0;
    if (rc == 1)
        return 0;
    if (rc != 0)
        return -1;
    server_update_time();
    status.last_load_keys = stats.keys;
    status.last_load_expired = stats.expired;
    server_log(LOG_NOTICE, "Done loading RDB, keys loaded: %llu, keys expired: %llu.",
               (unsigned long long)stats.keys, (unsigned long long)stats.expired);
    if (stats.skipped)
        server_log(LOG_WARNING, "RDB records Rivet does not hold were skipped: %llu",
                   (unsigned long long)stats.skipped);
    server_log(LOG_NOTICE, "DB loaded from disk: %.3f seconds",
               (double)(server.now_ms - start) / 1000.0);
    return 0;
}

int snapshot_load_at_startup(int (*between_chunks)(void))
{
    char err[512];
    if (load_file(between_chunks, err, sizeof(err)) != 0) {
        if (server.shutdown_requested) {
            server_log(LOG_WARNING, "Loading stopped by a shutdown request");
            return -1;
        }
        server_log(LOG_WARNING, "%s", err);
        server_log(LOG_WARNING, "Fatal error loading the DB, check server logs. Exiting.");
        return -1;
    }
    return 0;
}

int snapshot_load_merge(char *err, size_t err_size)
{
    return load_file(NULL, err, err_size);
}

int snapshot_reload(char *err, size_t err_size)
{
    for (int i = 0; i < keyspace_database_count(server.keyspace); i++)
        keyspace_flush(keyspace_database(server.keyspace, i));
    return load_file(NULL, err, err_size);
}

int snapshot_before_shutdown(int force_save, int nosave)
{
    /* Saving a half-loaded data set would destroy the file being loaded
     * (or, during an AOF load, replace dump.rdb with part of the data). */
    if (status.loading || aof_get_status()->loading)
        return 0;
    if (child_pid >= 0) {
        server_log(LOG_WARNING, "There is a child saving an .rdb. Killing it!");
        snapshot_kill_child();
    }
    if (nosave || (!force_save && server.config.save_count == 0))
        return 0;
    server_log(LOG_NOTICE, "Saving the final RDB snapshot before exiting.");
    if (snapshot_save() != 0) {
        server_log(LOG_WARNING, "Error trying to save the DB, can't exit.");
        return -1;
    }
    return 0;
}

void snapshot_after_flushall(void)
{
    snapshot_kill_child();
    if (server.config.save_count > 0)
        snapshot_save();
    (*dirty_counter())++;
}

int snapshot_writes_refused(void)
{
    return server.config.stop_writes_on_bgsave_error && server.config.save_count > 0 &&
           !status.last_bgsave_ok;
}
