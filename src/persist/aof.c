/* The server's append-only file, in Redis 7's multi-part layout:
 *
 *   <dir>/<appenddirname>/<appendfilename>.<n>.base.rdb   (or .base.aof)
 *   <dir>/<appenddirname>/<appendfilename>.<n>.incr.aof   (one or more)
 *   <dir>/<appenddirname>/<appendfilename>.manifest       (which of them count)
 *
 * Commands from propagate.c accumulate in a buffer during the loop
 * iteration; aof_flush writes it once per iteration, before any reply of
 * that iteration leaves (net.c holds write replies back until then). With
 * appendfsync always a background thread fdatasyncs, and replies wait for
 * the fsync that covers them; writes that arrive while one runs are all
 * covered by the next (group commit), and the loop never waits on the
 * disk. everysec asks the same thread once a second; no leaves it to the
 * OS.
 *
 * BGREWRITEAOF forks. The parent first switches to a new incremental file
 * (and records it in the manifest), so the child only has to write a base
 * of the data as it was at the fork; when the child is done the manifest
 * names the new base plus the incremental files opened since, atomically
 * (temp file + rename), and the old files are deleted. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rivet/aof.h"
#include "rivet/memory.h"
#include "rivet/rdb.h"
#include "rivet/server.h"
#include "rivet/snapshot.h"

#define FSYNC_NO       0
#define FSYNC_EVERYSEC 1
#define FSYNC_ALWAYS   2

static aof_status status = {.last_rewrite_ok = 1, .last_rewrite_seconds = -1, .last_write_ok = 1};
static aof_manifest manifest = {.next_base_seq = 1, .next_incr_seq = 1};
static buffer pending;       /* commands not yet written */
static int incr_fd = -1;     /* the incremental file being appended to */
static int selected_db = -1; /* the db the incremental file is in */
static int64_t last_fsync_ms;
static pid_t child_pid = -1;
static int64_t child_incr_seq; /* first incr file the new base does not cover */
static int child_enables;      /* the rewrite turns AOF on (CONFIG SET) */
static int bgsave_scheduled;   /* BGSAVE SCHEDULE waiting for our child */

void aof_schedule_bgsave(void)
{
    bgsave_scheduled = 1;
}

/* ---------- background fsync ----------
 *
 * One thread does every fsync off the loop. Offsets count bytes handed to
 * the AOF since start (across files): `fed` includes the buffer, `written`
 * what write() took, `synced` what an fdatasync is known to cover. With
 * appendfsync always, net.c holds a client's replies until synced reaches
 * the offset its writes ended at; while one fsync runs, the loop keeps
 * executing and writing, and the next fsync covers all of that at once. */

static pthread_mutex_t fsync_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fsync_wake = PTHREAD_COND_INITIALIZER;
static int fsync_fd = -1;          /* a dup of the file to sync; -1: idle */
static uint64_t fsync_target;      /* `written` when the job was queued */
static uint64_t fsync_done_target; /* set by the thread when a job ends */
static int fsync_done_error;
static int fsync_in_flight; /* loop side: a job is queued or running */
static int fsync_started;
static void (*sync_notify)(void);
static uint64_t fed_offset, written_offset, synced_offset;

static void *fsync_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&fsync_lock);
    for (;;) {
        while (fsync_fd < 0)
            pthread_cond_wait(&fsync_wake, &fsync_lock);
        int fd = fsync_fd;
        uint64_t target = fsync_target;
        pthread_mutex_unlock(&fsync_lock);
        int error = fdatasync(fd) == 0 ? 0 : errno;
        close(fd);
        pthread_mutex_lock(&fsync_lock);
        fsync_fd = -1;
        fsync_done_target = target;
        fsync_done_error = error;
        /* Called under the lock, so once aof_set_sync_notify(NULL) returns
         * no call is in progress (the loop may then close its handle). */
        if (sync_notify)
            sync_notify(); /* only wakes the loop (uv_async_send) */
    }
    return NULL;
}

void aof_set_sync_notify(void (*notify)(void))
{
    pthread_mutex_lock(&fsync_lock);
    sync_notify = notify;
    pthread_mutex_unlock(&fsync_lock);
}

/* Queues an fsync of everything written so far; 0, or -1 when one is still
 * running (Redis counts a delayed fsync then; so do we, for everysec). */
static int fsync_in_background(void)
{
    if (fsync_in_flight)
        return -1;
    if (!fsync_started) {
        pthread_t thread;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int rc = pthread_create(&thread, &attr, fsync_main, NULL);
        pthread_attr_destroy(&attr);
        if (rc != 0) {
            fdatasync(incr_fd);
            synced_offset = written_offset;
            return 0;
        }
        fsync_started = 1;
    }
    pthread_mutex_lock(&fsync_lock);
    fsync_fd = dup(incr_fd);
    fsync_target = written_offset;
    pthread_cond_signal(&fsync_wake);
    pthread_mutex_unlock(&fsync_lock);
    fsync_in_flight = 1;
    last_fsync_ms = server.now_ms;
    return 0;
}

/* The loop side of a finished job (net.c calls it from its async handle,
 * and the cron polls it): advance synced, start the next if needed. */
void aof_sync_done(void)
{
    if (!fsync_in_flight)
        return;
    pthread_mutex_lock(&fsync_lock);
    int finished = fsync_fd < 0;
    uint64_t target = fsync_done_target;
    int error = fsync_done_error;
    pthread_mutex_unlock(&fsync_lock);
    if (!finished)
        return;
    fsync_in_flight = 0;
    if (error && server.config.appendfsync == FSYNC_ALWAYS) {
        server_log(LOG_WARNING,
                   "Can't persist AOF for fsync error when the AOF fsync policy is "
                   "'always': %s. Exiting...",
                   strerror(error));
        exit(1);
    }
    if (target > synced_offset)
        synced_offset = target;
    if (server.config.appendfsync == FSYNC_ALWAYS && written_offset > synced_offset && incr_fd >= 0)
        fsync_in_background();
}

uint64_t aof_fed_offset(void)
{
    return fed_offset;
}

uint64_t aof_durable_offset(void)
{
    /* A failed write is retried by the cron; as in Redis the replies of
     * the commands in it are not held (later writes get MISCONF). */
    if (!status.enabled || !status.last_write_ok)
        return fed_offset;
    return server.config.appendfsync == FSYNC_ALWAYS ? synced_offset : written_offset;
}

/* ---------- paths ---------- */

static void path_in_dir(buffer *out, const char *name)
{
    buffer_clear(out);
    buffer_appendf(out, "%s/%s", server.config.appenddirname, name);
}

static void manifest_path(buffer *out)
{
    buffer_clear(out);
    buffer_appendf(out, "%s/%s.manifest", server.config.appenddirname,
                   server.config.appendfilename);
}

static int ensure_dir(void)
{
    if (mkdir(server.config.appenddirname, 0755) != 0 && errno != EEXIST) {
        server_log(LOG_WARNING, "Can't open or create append-only dir %s: %s",
                   server.config.appenddirname, strerror(errno));
        return -1;
    }
    return 0;
}

static int fsync_dir(void)
{
    int fd = open(server.config.appenddirname, O_RDONLY);
    if (fd < 0)
        return -1;
    fsync(fd);
    close(fd);
    return 0;
}

/* Writes m as the manifest: temp file, fsync, rename, so a crash leaves
 * the old or the new manifest, never half of one. */
static int manifest_persist(const aof_manifest *m)
{
    buffer text, temp, final;
    buffer_init(&text);
    buffer_init(&temp);
    buffer_init(&final);
    aof_manifest_format(m, &text);
    buffer_appendf(&temp, "%s/temp-%s.manifest", server.config.appenddirname,
                   server.config.appendfilename);
    manifest_path(&final);
    int rc = -1;
    int fd = open(temp.data, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        ssize_t n = write(fd, text.data, text.len);
        if (n == (ssize_t)text.len && fsync(fd) == 0 && close(fd) == 0) {
            fd = -1;
            if (rename(temp.data, final.data) == 0) {
                fsync_dir();
                rc = 0;
            }
        }
        if (fd >= 0)
            close(fd);
    }
    if (rc != 0)
        server_log(LOG_WARNING, "Can't persist the AOF manifest file %s: %s", final.data,
                   strerror(errno));
    buffer_release(&text);
    buffer_release(&temp);
    buffer_release(&final);
    return rc;
}

static int manifest_load(aof_manifest *m, int *exists)
{
    buffer path;
    buffer_init(&path);
    manifest_path(&path);
    *exists = 0;
    aof_manifest_init(m);
    FILE *f = fopen(path.data, "rb");
    if (f == NULL) {
        int missing = errno == ENOENT;
        if (!missing)
            server_log(LOG_WARNING, "Can't open the AOF manifest %s: %s", path.data,
                       strerror(errno));
        buffer_release(&path);
        return missing ? 0 : -1;
    }
    buffer text;
    buffer_init(&text);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buffer_append(&text, chunk, n);
    fclose(f);
    char err[256];
    int rc = aof_manifest_parse(m, text.data ? text.data : "", text.len, err, sizeof(err));
    if (rc != 0)
        server_log(LOG_WARNING, "%s: %s", path.data, err);
    else
        *exists = 1;
    buffer_release(&text);
    buffer_release(&path);
    return rc;
}

static uint64_t file_size(const char *name)
{
    buffer path;
    buffer_init(&path);
    path_in_dir(&path, name);
    struct stat st;
    uint64_t size = stat(path.data, &st) == 0 ? (uint64_t)st.st_size : 0;
    buffer_release(&path);
    return size;
}

/* ---------- appending ---------- */

const aof_status *aof_get_status(void)
{
    return &status;
}

size_t aof_buffer_length(void)
{
    return pending.len;
}

static void select_db(int db)
{
    if (db < 0 || db == selected_db)
        return;
    char num[16];
    int n = snprintf(num, sizeof(num), "%d", db);
    buffer_appendf(&pending, "*2\r\n$6\r\nSELECT\r\n$%d\r\n%s\r\n", n, num);
    selected_db = db;
}

void aof_feed(int db, int argc, const char *const *argv, const size_t *lens)
{
    if (!status.enabled)
        return;
    size_t before = pending.len;
    select_db(db);
    buffer_appendf(&pending, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++) {
        buffer_appendf(&pending, "$%zu\r\n", lens[i]);
        buffer_append(&pending, argv[i], lens[i]);
        buffer_append(&pending, "\r\n", 2);
    }
    fed_offset += pending.len - before;
}

void aof_feed_raw(int db, const char *resp, size_t len)
{
    if (!status.enabled)
        return;
    size_t before = pending.len;
    select_db(db);
    buffer_append(&pending, resp, len);
    fed_offset += pending.len - before;
}

int aof_needs_flush(void)
{
    return pending.len > 0;
}

static int write_all(int fd, const char *data, size_t len, size_t *written)
{
    *written = 0;
    while (*written < len) {
        ssize_t n = write(fd, data + *written, len - *written);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        *written += (size_t)n;
    }
    return 0;
}

void aof_flush(int force_fsync)
{
    if (incr_fd < 0)
        return;
    if (pending.len > 0) {
        size_t written;
        if (write_all(incr_fd, pending.data, pending.len, &written) != 0) {
            int error = errno ? errno : ENOSPC;
            /* A partial write would leave half a command: cut it off so the
             * file stays loadable, and keep the buffer to retry. */
            if (written > 0) {
                off_t end = lseek(incr_fd, 0, SEEK_END);
                if (end < 0 || ftruncate(incr_fd, end - (off_t)written) != 0)
                    server_log(LOG_WARNING, "Could not remove a short write from the AOF: %s",
                               strerror(errno));
            }
            if (status.last_write_ok || status.last_write_errno != error)
                server_log(LOG_WARNING, "Error writing to the AOF file: %s", strerror(error));
            if (server.config.appendfsync == FSYNC_ALWAYS) {
                /* Replies promise the write is on disk: as Redis, stop
                 * rather than hold clients for a disk that may not return. */
                server_log(LOG_WARNING, "Can't recover from AOF write error when the AOF fsync "
                                        "policy is 'always'. Exiting...");
                exit(1);
            }
            status.last_write_ok = 0;
            status.last_write_errno = error;
            return;
        }
        if (!status.last_write_ok)
            server_log(LOG_WARNING, "AOF write error looks solved, Redis can write again.");
        status.last_write_ok = 1;
        status.current_size += written;
        written_offset += written;
        buffer_clear(&pending);
        if (pending.cap > (1 << 22))
            buffer_shrink(&pending, 1 << 16);
    }
    if (force_fsync) {
        if (written_offset > synced_offset || force_fsync)
            fdatasync(incr_fd);
        synced_offset = written_offset;
        last_fsync_ms = server.now_ms;
        return;
    }
    aof_sync_done();
    if (server.config.appendfsync == FSYNC_ALWAYS) {
        /* Group commit: one fsync for everything written meanwhile. */
        if (written_offset > synced_offset)
            fsync_in_background();
    } else if (server.config.appendfsync == FSYNC_EVERYSEC &&
               server.now_ms - last_fsync_ms >= 1000 && written_offset > synced_offset) {
        if (fsync_in_background() != 0)
            status.delayed_fsync++;
    } else if (server.config.appendfsync == FSYNC_NO) {
        synced_offset = written_offset; /* the OS decides */
    }
}

int aof_writes_refused(void)
{
    return status.enabled && !status.last_write_ok;
}

const char *aof_write_error(void)
{
    return strerror(status.last_write_errno);
}

/* Opens (creating) an incremental file for appending. */
static int open_incr(const char *name)
{
    buffer path;
    buffer_init(&path);
    path_in_dir(&path, name);
    int fd = open(path.data, O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (fd < 0)
        server_log(LOG_WARNING, "Can't open the append-only file %s: %s", path.data,
                   strerror(errno));
    buffer_release(&path);
    return fd;
}

static void switch_incr(int fd)
{
    if (incr_fd >= 0) {
        fdatasync(incr_fd);
        close(incr_fd);
        synced_offset = written_offset;
    }
    incr_fd = fd;
    selected_db = -1; /* a new file starts without a SELECT */
}

/* Adds a new incremental file to m and opens it: the fd, or -1. */
static int new_incr(aof_manifest *m)
{
    buffer name;
    buffer_init(&name);
    int64_t seq = m->next_incr_seq;
    aof_name_incr(&name, server.config.appendfilename, seq);
    int fd = open_incr(name.data);
    if (fd >= 0)
        aof_manifest_add_incr(m, name.data, seq);
    buffer_release(&name);
    return fd;
}

/* ---------- loading ---------- */

typedef struct command_file {
    const char *data;
    size_t len;
} command_file;

/* Runs the commands of one file through the normal dispatch on a client
 * of its own. last: the final file, whose cut-off tail may be dropped. */
/* Clients are answered (LOADING) every so many commands of a long load. */
static int (*load_between_chunks)(void);
#define LOAD_CHUNK 4096

static int load_commands(const char *name, const char *data, size_t len, int last, uint64_t *count)
{
    client *fake = client_create();
    fake->flags |= CLIENT_AUTHENTICATED | CLIENT_AOF_LOADER;
    fake->db = keyspace_database(server.keyspace, 0);
    fake->reply.protocol = 2;
    int cap = 0, argc = 0;
    const char **argv = NULL;
    size_t *lens = NULL;
    size_t pos = 0, multi_at = 0;
    int in_multi = 0, rc = 0;
    for (;;) {
        size_t start = pos;
        aof_parse_status st = aof_parse_command(data, len, &pos, &argc, &argv, &lens, &cap);
        if (st == AOF_PARSE_END) {
            if (in_multi) {
                /* A transaction the crash cut off: none of it counts. */
                st = AOF_PARSE_TRUNCATED;
                start = multi_at;
            } else {
                break;
            }
        }
        if (st == AOF_PARSE_TRUNCATED) {
            if (in_multi)
                start = multi_at;
            if (!last || !server.config.aof_load_truncated) {
                server_log(LOG_WARNING,
                           "Unexpected end of file reading the append only file %s. You can: "
                           "1) Make a backup of your AOF file, then use ./redis-check-aof --fix "
                           "<filename.manifest>. 2) Alternatively you can set the "
                           "'aof-load-truncated' configuration option to yes and restart the "
                           "server.",
                           name);
                rc = -1;
                break;
            }
            server_log(LOG_WARNING, "!!! Warning: short read while loading the AOF file %s!!!",
                       name);
            server_log(LOG_WARNING, "!!! Truncating the AOF %s at offset %zu !!!", name, start);
            buffer path;
            buffer_init(&path);
            path_in_dir(&path, name);
            if (truncate(path.data, (off_t)start) != 0) {
                server_log(LOG_WARNING, "Error truncating the AOF file %s: %s", name,
                           strerror(errno));
                rc = -1;
            } else {
                server_log(LOG_WARNING,
                           "AOF %s loaded anyway because aof-load-truncated is "
                           "enabled",
                           name);
            }
            buffer_release(&path);
            break;
        }
        if (st == AOF_PARSE_BAD) {
            server_log(LOG_WARNING,
                       "Bad file format reading the append only file %s (offset %zu): make a "
                       "backup of your AOF file, then use ./redis-check-aof --fix "
                       "<filename.manifest>",
                       name, start);
            rc = -1;
            break;
        }
        if (argc == 1 && lens[0] == 5 && strncasecmp(argv[0], "multi", 5) == 0) {
            in_multi = 1;
            multi_at = start;
        } else if (argc == 1 && lens[0] == 4 && strncasecmp(argv[0], "exec", 4) == 0) {
            in_multi = 0;
        }
        fake->argc = argc;
        fake->argv = argv;
        fake->argv_len = lens;
        server_execute(fake);
        buffer_clear(&fake->reply.out);
        (*count)++;
        if (load_between_chunks && *count % LOAD_CHUNK == 0 && !in_multi &&
            load_between_chunks() != 0) {
            server_log(LOG_WARNING, "Loading stopped by a shutdown request");
            rc = -1;
            break;
        }
    }
    fake->argv = NULL;
    fake->argv_len = NULL;
    fake->argc = 0;
    mem_free(argv);
    mem_free(lens);
    client_destroy(fake);
    return rc;
}

static int load_file(const char *name, int last, uint64_t *count)
{
    buffer path;
    buffer_init(&path);
    path_in_dir(&path, name);
    size_t name_len = strlen(name);
    int rc = 0;
    if (name_len > 4 && strcmp(name + name_len - 4, ".rdb") == 0) {
        rdb_load_stats stats;
        char err[512];
        int r = rdb_load_file(server.keyspace, path.data, &stats, load_between_chunks, err,
                              sizeof(err));
        if (r != 0) {
            server_log(LOG_WARNING, "%s", r == 1 ? "The AOF base file does not exist" : err);
            rc = -1;
        } else {
            *count += stats.keys;
        }
        buffer_release(&path);
        return rc;
    }
    int fd = open(path.data, O_RDONLY);
    if (fd < 0) {
        server_log(LOG_WARNING, "Fatal error: can't open the append log file %s for reading: %s",
                   name, strerror(errno));
        buffer_release(&path);
        return -1;
    }
    struct stat st;
    fstat(fd, &st);
    size_t len = (size_t)st.st_size;
    const char *data = "";
    void *map = NULL;
    if (len > 0) {
        map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            server_log(LOG_WARNING, "Can't read the AOF file %s: %s", name, strerror(errno));
            close(fd);
            buffer_release(&path);
            return -1;
        }
        data = map;
    }
    close(fd);
    /* A base written with the RDB preamble but named .aof (old layouts). */
    if (len >= 5 && memcmp(data, "REDIS", 5) == 0) {
        rdb_load_stats stats;
        char err[512];
        if (rdb_load_buffer(server.keyspace, data, len, &stats, err, sizeof(err)) != 0) {
            server_log(LOG_WARNING, "%s: %s", name, err);
            rc = -1;
        }
    } else {
        rc = load_commands(name, data, len, last, count);
    }
    if (map)
        munmap(map, len);
    buffer_release(&path);
    return rc;
}

static int load_manifest_files(const aof_manifest *m)
{
    uint64_t count = 0;
    int64_t start = server.now_ms;
    status.loading = 1;
    int rc = 0;
    size_t total = (m->base.name ? 1 : 0) + m->incr_count;
    size_t index = 0;
    if (m->base.name) {
        rc = load_file(m->base.name, ++index == total, &count);
        if (rc == 0)
            server_log(LOG_NOTICE, "DB loaded from base file %s", m->base.name);
    }
    for (size_t i = 0; rc == 0 && i < m->incr_count; i++) {
        rc = load_file(m->incr[i].name, ++index == total, &count);
        if (rc == 0)
            server_log(LOG_NOTICE, "DB loaded from incr file %s", m->incr[i].name);
    }
    status.loading = 0;
    server_update_time();
    if (rc == 0) {
        status.base_size = m->base.name ? file_size(m->base.name) : 0;
        status.current_size = status.base_size;
        for (size_t i = 0; i < m->incr_count; i++)
            status.current_size += file_size(m->incr[i].name);
        server_log(LOG_NOTICE, "DB loaded from append only file: %.3f seconds",
                   (double)(server.now_ms - start) / 1000.0);
    }
    return rc;
}

int aof_load_at_startup(int (*between_chunks)(void))
{
    load_between_chunks = between_chunks;
    int exists;
    if (manifest_load(&manifest, &exists) != 0)
        return -1;
    if (!exists)
        return 1;
    int rc = load_manifest_files(&manifest);
    load_between_chunks = NULL;
    return rc;
}

/* ---------- base files ---------- */

typedef struct base_writer {
    keyspace *ks;
    FILE *f;
    buffer out, payload;
    int64_t now;
    int failed;
} base_writer;

static void base_write_key(void *ctx, kv_entry *e)
{
    base_writer *w = ctx;
    int64_t deadline = entry_expire(e);
    if ((deadline >= 0 && deadline <= w->now) || !rdb_entry_serializable(w->ks, e))
        return;
    size_t key_len;
    const char *key = entry_key(e, &key_len);
    buffer_clear(&w->payload);
    rdb_dump_payload(w->ks, e, &w->payload);
    char ttl[32];
    int ttl_len = snprintf(ttl, sizeof(ttl), "%lld", (long long)(deadline > 0 ? deadline : 0));
    buffer_appendf(&w->out, "*6\r\n$7\r\nRESTORE\r\n$%zu\r\n", key_len);
    buffer_append(&w->out, key, key_len);
    buffer_appendf(&w->out, "\r\n$%d\r\n%s\r\n$%zu\r\n", ttl_len, ttl, w->payload.len);
    buffer_append(&w->out, w->payload.data, w->payload.len);
    buffer_append_cstr(&w->out, "\r\n$7\r\nREPLACE\r\n$6\r\nABSTTL\r\n");
    if (w->out.len > (1 << 20)) {
        if (fwrite(w->out.data, 1, w->out.len, w->f) != w->out.len)
            w->failed = 1;
        buffer_clear(&w->out);
    }
}

/* Without the RDB preamble the base is commands: per database a SELECT,
 * per key a RESTORE of its DUMP payload with its absolute deadline (one
 * command per key whatever its type; Redis loads these too). */
static int write_base_commands(keyspace *ks, const char *path)
{
    base_writer w = {.ks = ks, .now = keyspace_time(ks)};
    buffer temp;
    buffer_init(&temp);
    buffer_appendf(&temp, "%s.tmp-%d", path, (int)getpid());
    w.f = fopen(temp.data, "wb");
    if (w.f == NULL) {
        buffer_release(&temp);
        return -1;
    }
    buffer_init(&w.out);
    buffer_init(&w.payload);
    for (int d = 0; d < keyspace_database_count(ks); d++) {
        database *db = keyspace_database(ks, d);
        if (keyspace_size(db) == 0)
            continue;
        char num[16];
        int n = snprintf(num, sizeof(num), "%d", d);
        buffer_appendf(&w.out, "*2\r\n$6\r\nSELECT\r\n$%d\r\n%s\r\n", n, num);
        keyspace_for_each(db, base_write_key, &w);
    }
    if (w.out.len && fwrite(w.out.data, 1, w.out.len, w.f) != w.out.len)
        w.failed = 1;
    if (fflush(w.f) != 0 || fsync(fileno(w.f)) != 0)
        w.failed = 1;
    if (fclose(w.f) != 0)
        w.failed = 1;
    if (!w.failed && rename(temp.data, path) != 0)
        w.failed = 1;
    if (w.failed) {
        server_log(LOG_WARNING, "Write error writing the AOF base %s: %s", path, strerror(errno));
        unlink(temp.data);
    }
    buffer_release(&w.out);
    buffer_release(&w.payload);
    buffer_release(&temp);
    return w.failed ? -1 : 0;
}

static int write_base(const char *path)
{
    if (server.config.aof_use_rdb_preamble) {
        rdb_save_options options = {server.config.rdb_compression, server.config.rdb_checksum};
        char err[512];
        if (rdb_save_file(server.keyspace, path, &options, err, sizeof(err)) != 0) {
            server_log(LOG_WARNING, "%s", err);
            return -1;
        }
        return 0;
    }
    return write_base_commands(server.keyspace, path);
}

/* ---------- start-up ---------- */

int aof_open_at_startup(void)
{
    if (ensure_dir() != 0)
        return -1;
    if (manifest.base.name == NULL && manifest.incr_count == 0) {
        /* A fresh AOF: a base of what is in memory (nothing, normally)
         * and a first incremental file. */
        buffer name, path;
        buffer_init(&name);
        buffer_init(&path);
        int64_t seq = manifest.next_base_seq++;
        aof_name_base(&name, server.config.appendfilename, seq, server.config.aof_use_rdb_preamble);
        path_in_dir(&path, name.data);
        int rc = write_base(path.data);
        if (rc == 0) {
            manifest.base.name = mem_strdup(name.data);
            manifest.base.seq = seq;
            manifest.base.type = AOF_FILE_BASE;
            status.base_size = file_size(name.data);
            status.current_size = status.base_size;
        }
        buffer_release(&name);
        buffer_release(&path);
        if (rc != 0)
            return -1;
    }
    int fd;
    if (manifest.incr_count == 0) {
        fd = new_incr(&manifest);
        if (fd < 0 || manifest_persist(&manifest) != 0)
            return -1;
    } else {
        fd = open_incr(manifest.incr[manifest.incr_count - 1].name);
        if (fd < 0)
            return -1;
    }
    manifest_persist(&manifest);
    switch_incr(fd);
    status.enabled = 1;
    last_fsync_ms = server.now_ms;
    return 0;
}

/* ---------- rewriting ---------- */

int aof_child_running(void)
{
    return child_pid >= 0;
}

static void temp_base_path(buffer *out, pid_t pid)
{
    buffer_clear(out);
    buffer_appendf(out, "%s/temp-rewriteaof-bg-%d.aof", server.config.appenddirname, (int)pid);
}

static int start_rewrite(int enabling)
{
    if (ensure_dir() != 0)
        return -1;
    if (!enabling)
        aof_flush(1); /* the old incremental file is complete and on disk */
    int fd = new_incr(&manifest);
    if (fd < 0)
        return -1;
    child_incr_seq = manifest.incr[manifest.incr_count - 1].seq;
    /* The manifest names the new file at once (unless AOF is only being
     * turned on: then nothing counts until the first base exists). */
    if (!enabling && manifest_persist(&manifest) != 0) {
        close(fd);
        return -1;
    }
    switch_incr(fd);
    if (enabling) {
        status.enabled = 1;
        last_fsync_ms = server.now_ms;
    }
    pid_t pid = fork();
    if (pid < 0) {
        server_log(LOG_WARNING, "Can't rewrite append only file in background: fork: %s",
                   strerror(errno));
        status.last_rewrite_ok = 0;
        status.rewrite_failures_in_a_row++;
        return -1;
    }
    if (pid == 0) {
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        buffer temp;
        buffer_init(&temp);
        temp_base_path(&temp, getpid());
        int rc = write_base(temp.data);
        _exit(rc == 0 ? 0 : 1);
    }
    server_log(LOG_NOTICE, "Background append only file rewriting started by pid %d", (int)pid);
    child_pid = pid;
    child_enables = enabling;
    status.rewrite_in_progress = 1;
    status.rewrite_scheduled = 0;
    status.rewrite_started_ms = server.now_ms;
    return 0;
}

int aof_rewrite_background(int *scheduled)
{
    *scheduled = 0;
    if (child_pid >= 0)
        return -2;
    if (snapshot_get_status()->bgsave_in_progress) {
        status.rewrite_scheduled = 1;
        *scheduled = 1;
        return 0;
    }
    /* With appendonly no the files are written all the same (as Redis
     * does); nothing is appended to them afterwards. */
    return start_rewrite(0);
}

static void drop_file(const char *name)
{
    buffer path;
    buffer_init(&path);
    path_in_dir(&path, name);
    unlink(path.data);
    buffer_release(&path);
}

/* The child wrote a base: it becomes the manifest's base, with the
 * incremental files opened since the fork; everything older goes. */
static int install_rewrite(void)
{
    buffer temp, name, path;
    buffer_init(&temp);
    buffer_init(&name);
    buffer_init(&path);
    temp_base_path(&temp, child_pid);
    int64_t seq = manifest.next_base_seq;
    aof_name_base(&name, server.config.appendfilename, seq, server.config.aof_use_rdb_preamble);
    path_in_dir(&path, name.data);
    int rc = rename(temp.data, path.data);
    if (rc != 0) {
        server_log(LOG_WARNING, "Error trying to rename the temporary AOF base file %s into %s: %s",
                   temp.data, path.data, strerror(errno));
        unlink(temp.data);
    }
    aof_manifest next;
    aof_manifest_init(&next);
    if (rc == 0) {
        next.base.name = mem_strdup(name.data);
        next.base.seq = seq;
        next.base.type = AOF_FILE_BASE;
        next.next_base_seq = seq + 1;
        for (size_t i = 0; i < manifest.incr_count; i++)
            if (manifest.incr[i].seq >= child_incr_seq)
                aof_manifest_add_incr(&next, manifest.incr[i].name, manifest.incr[i].seq);
        next.next_incr_seq = manifest.next_incr_seq;
        rc = manifest_persist(&next);
        if (rc != 0)
            drop_file(name.data);
    }
    if (rc == 0) {
        if (manifest.base.name)
            drop_file(manifest.base.name);
        for (size_t i = 0; i < manifest.history_count; i++)
            drop_file(manifest.history[i].name);
        for (size_t i = 0; i < manifest.incr_count; i++)
            if (manifest.incr[i].seq < child_incr_seq)
                drop_file(manifest.incr[i].name);
        aof_manifest_release(&manifest);
        manifest = next;
        status.base_size = file_size(name.data);
        status.current_size = status.base_size;
        for (size_t i = 0; i < manifest.incr_count; i++)
            status.current_size += file_size(manifest.incr[i].name);
    } else {
        aof_manifest_release(&next);
    }
    buffer_release(&temp);
    buffer_release(&name);
    buffer_release(&path);
    return rc;
}

static void rewrite_done(int ok)
{
    status.rewrite_in_progress = 0;
    status.last_rewrite_seconds = (server.now_ms - status.rewrite_started_ms) / 1000;
    if (ok) {
        /* What the parent still buffers goes to the new incremental file
         * (the one the manifest now names). */
        aof_flush(0);
        ok = install_rewrite() == 0;
    } else {
        buffer temp;
        buffer_init(&temp);
        temp_base_path(&temp, child_pid);
        unlink(temp.data);
        buffer_release(&temp);
    }
    child_pid = -1;
    if (ok) {
        server_log(LOG_NOTICE, "Background AOF rewrite finished successfully");
        status.last_rewrite_ok = 1;
        status.rewrites++;
        status.rewrite_failures_in_a_row = 0;
    } else {
        server_log(LOG_WARNING, "Background AOF rewrite failed");
        status.last_rewrite_ok = 0;
        status.rewrite_failures_in_a_row++;
        if (child_enables) {
            /* Turning AOF on needs a base: without one it stays off. */
            status.enabled = 0;
            server.config.appendonly = 0;
            switch_incr(-1);
            buffer_clear(&pending);
            fed_offset = written_offset;
        }
    }
    child_enables = 0;
}

void aof_kill_child(void)
{
    if (child_pid < 0)
        return;
    kill(child_pid, SIGUSR1);
    waitpid(child_pid, NULL, 0);
    buffer temp;
    buffer_init(&temp);
    temp_base_path(&temp, child_pid);
    unlink(temp.data);
    buffer_release(&temp);
    child_pid = -1;
    status.rewrite_in_progress = 0;
}

void aof_cron(void)
{
    if (child_pid >= 0) {
        int wstatus;
        pid_t pid = waitpid(child_pid, &wstatus, WNOHANG);
        if (pid == child_pid)
            rewrite_done(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);
        else if (pid < 0)
            rewrite_done(0);
    } else if (bgsave_scheduled) {
        bgsave_scheduled = 0;
        if (!snapshot_get_status()->bgsave_in_progress)
            snapshot_background_save();
    } else if (status.rewrite_scheduled && !snapshot_get_status()->bgsave_in_progress) {
        start_rewrite(0);
    } else if (status.enabled && !snapshot_get_status()->bgsave_in_progress &&
               server.config.auto_aof_rewrite_percentage > 0 &&
               status.current_size > (uint64_t)server.config.auto_aof_rewrite_min_size) {
        uint64_t base = status.base_size ? status.base_size : 1;
        uint64_t growth = status.current_size * 100 / base - 100;
        if (growth >= (uint64_t)server.config.auto_aof_rewrite_percentage) {
            server_log(LOG_NOTICE, "Starting automatic rewriting of AOF on %llu%% growth",
                       (unsigned long long)growth);
            start_rewrite(0);
        }
    }
    /* Retries a failed write, collects finished fsyncs, starts everysec's. */
    if (status.enabled)
        aof_flush(0);
}

/* ---------- turning it on and off ---------- */

int aof_set_enabled(int on)
{
    if (on && !status.enabled) {
        int exists;
        aof_manifest_release(&manifest);
        if (manifest_load(&manifest, &exists) != 0)
            aof_manifest_init(&manifest);
        aof_kill_child();
        if (start_rewrite(1) != 0) {
            status.enabled = 0;
            switch_incr(-1);
            return -1;
        }
        return 0;
    }
    if (!on && status.enabled) {
        aof_kill_child();
        aof_flush(1);
        status.enabled = 0;
        switch_incr(-1);
        buffer_clear(&pending);
        fed_offset = written_offset;
    }
    return 0;
}

int aof_reload(char *err, size_t err_size)
{
    aof_flush(1);
    for (int i = 0; i < keyspace_database_count(server.keyspace); i++)
        keyspace_flush(keyspace_database(server.keyspace, i));
    int was_enabled = status.enabled;
    status.enabled = 0; /* replayed commands are not appended again */
    int exists = 1;
    int rc = 0;
    if (!was_enabled) {
        aof_manifest_release(&manifest);
        rc = manifest_load(&manifest, &exists);
    }
    if (rc == 0 && exists)
        rc = load_manifest_files(&manifest);
    status.enabled = was_enabled;
    selected_db = -1;
    if (rc != 0)
        snprintf(err, err_size, "ERR Error loading the AOF file, check the server log");
    return rc;
}

void aof_shutdown(void)
{
    aof_kill_child();
    if (incr_fd >= 0) {
        aof_flush(1);
        close(incr_fd);
        incr_fd = -1;
    }
    status.enabled = 0;
    buffer_release(&pending);
    aof_manifest_release(&manifest);
}
