/* Server start-up, shutdown and the small services every module uses: the
 * clock, random numbers, error statistics. */
#include "rivet/server.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "rivet/aof.h"
#include "rivet/blocking.h"
#include "rivet/cache.h"
#include "rivet/clock.h"
#include "rivet/errorstats.h"
#include "rivet/hash.h"
#include "rivet/lazyfree.h"
#include "rivet/memory.h"
#include "rivet/net.h"
#include "rivet/notify.h"
#include "rivet/script.h"
#include "rivet/slowlog.h"
#include "rivet/snapshot.h"
#include "rivet/tracking.h"
#include "rivet/watch.h"

server_state server;

void server_update_time(void)
{
    server.now_us = clock_wall_us();
    server.now_ms = server.now_us / 1000;
    if (server.keyspace)
        keyspace_set_time(server.keyspace, server.now_ms);
}

uint64_t server_random(void)
{
    /* xorshift64*: fast, good enough for RANDOMKEY and sampling. */
    uint64_t x = server.random_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    server.random_state = x;
    return x * 2685821657736338717ull;
}

void server_request_shutdown(int exit_code)
{
    server.shutdown_requested = 1;
    server.exit_code = exit_code;
}

static void fill_random(uint8_t *out, size_t len)
{
    int fd = open("/dev/urandom", O_RDONLY);
    size_t got = 0;
    if (fd >= 0) {
        while (got < len) {
            ssize_t n = read(fd, out + got, len - got);
            if (n <= 0)
                break;
            got += (size_t)n;
        }
        close(fd);
    }
    /* Without /dev/urandom, mix time and pid: weaker, still per-process. */
    for (size_t i = got; i < len; i++)
        out[i] = (uint8_t)((uint64_t)server.now_us >> (i % 8 * 8) ^ (uint64_t)getpid() * 31 * i);
}

/* The one place a write is announced: everything that reacts to a changed
 * key (blocked clients now; WATCH, notifications, tracking later) hangs off
 * this hook. */
void server_key_modified(void *ctx, database *db, const char *key, size_t key_len,
                         const char *event, int type_class)
{
    (void)ctx;
    (void)type_class;
    propagate_key_modified(db, key, key_len, event);
    cache_key_modified(db, key, key_len, event);
    if (key == NULL) { /* the whole database is about to be flushed or swapped */
        watch_database_touched(db);
        blocking_database_touched(db);
        return; /* FLUSHDB / FLUSHALL tell client caches themselves */
    }
    watch_key_touched(db, key, key_len);
    tracking_key_modified(server.current_client, key, key_len);
    blocking_key_touched(db, key, key_len);
    /* Notifications are off unless configured: one byte test then. */
    if (server.config.notify_keyspace_events && server.config.notify_keyspace_events[0])
        notify_keyspace_event(type_class, event, database_id(db), key, key_len);
}

/* "new" and "keymiss": notifications only (see keyspace_set_event_hook). */
static void server_key_event(void *ctx, database *db, const char *key, size_t key_len,
                             const char *event, int type_class)
{
    (void)ctx;
    if (server.config.notify_keyspace_events && server.config.notify_keyspace_events[0])
        notify_keyspace_event(type_class, event, database_id(db), key, key_len);
}

static void print_usage(void)
{
    fprintf(stderr, "Usage: ./rivet-server [/path/to/rivet.conf] [options] [-]\n"
                    "       ./rivet-server - (read config from stdin)\n"
                    "       ./rivet-server -v or --version\n"
                    "       ./rivet-server -h or --help\n\n"
                    "Examples:\n"
                    "       ./rivet-server (run the server with default config)\n"
                    "       ./rivet-server conf/rivet.conf\n"
                    "       ./rivet-server --port 7777\n"
                    "       ./rivet-server conf/rivet.conf --port 7000 --save \"\"\n"
                    "       ./rivet-server conf/rivet.conf --loglevel verbose\n");
}

/* daemonize yes: the classic double step (fork, setsid) so the server
 * detaches from the terminal; stdio goes to /dev/null (logs go to logfile). */
static void daemonize(void)
{
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "fork failed: %s\n", strerror(errno));
        exit(1);
    }
    if (pid > 0)
        exit(0);
    setsid();
    int fd = open("/dev/null", O_RDWR);
    if (fd >= 0) {
        dup2(fd, STDIN_FILENO);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        if (fd > STDERR_FILENO)
            close(fd);
    }
}

static void write_pidfile(void)
{
    if (server.config.pidfile == NULL || server.config.pidfile[0] == '\0')
        return;
    FILE *f = fopen(server.config.pidfile, "w");
    if (f) {
        fprintf(f, "%d\n", (int)getpid());
        fclose(f);
    }
}

/* Between chunks of the start-up load: answer clients now and then (at
 * most every 10 ms). Returns nonzero when a shutdown was asked for. */
static int serve_while_loading(void)
{
    static int64_t last_ms;
    server_update_time();
    if (server.now_ms - last_ms >= 10) {
        last_ms = server.now_ms;
        uv_run(net_loop(), UV_RUN_NOWAIT);
    }
    return server.shutdown_requested;
}

static int start(int argc, char **argv)
{
    clock_calibrate();
    server_update_time();
    server.start_ms = server.now_ms;
    server.last_save_s = server.now_ms / 1000;
    server.active_expire_enabled = 1;
    uint8_t seed[16];
    fill_random(seed, sizeof(seed));
    hash_set_seed(seed);
    uint8_t id[20];
    fill_random(id, sizeof(id));
    for (int i = 0; i < 20; i++)
        snprintf(server.run_id + i * 2, 3, "%02x", id[i]);
    memcpy(&server.random_state, seed, sizeof(server.random_state));
    server.random_state |= 1;

    config_init_defaults(&server.config);
    char *err = NULL;
    if (config_load(&server.config, argc, argv, &err) != 0) {
        fprintf(stderr, "\n*** FATAL CONFIG FILE ERROR (Rivet %s) ***\n%s\n", RIVET_VERSION,
                err ? err : "unknown error");
        mem_free(err);
        return 1;
    }
    if (argc > 0 && argv[0][0] != '-') {
        char resolved[PATH_MAX];
        server.config_file = mem_strdup(realpath(argv[0], resolved) ? resolved : argv[0]);
    }
    char exe[PATH_MAX];
    ssize_t exe_len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (exe_len > 0) {
        exe[exe_len] = '\0';
        server.executable = mem_strdup(exe);
    }
    /* Like Redis, the server works inside `dir` (snapshots, logs). */
    if (server.config.dir && chdir(server.config.dir) != 0) {
        fprintf(stderr, "Can't chdir to '%s': %s\n", server.config.dir, strerror(errno));
        return 1;
    }
    if (server.config.daemonize) {
        daemonize();
        if (server.config.pidfile == NULL)
            server.config.pidfile = mem_strdup("/var/run/rivet.pid");
    }
    server_log(LOG_NOTICE, "Rivet %s (Redis-compatible %s) starting, pid=%d", RIVET_VERSION,
               RIVET_REDIS_COMPAT_VERSION, (int)getpid());
    if (server.config_file == NULL)
        server_log(LOG_WARNING, "Warning: no config file specified, using the default config. "
                                "In order to specify a config file use rivet-server "
                                "/path/to/rivet.conf");

    server.keyspace = keyspace_create((int)server.config.databases, server.now_ms);
    keyspace_set_embed_max(server.keyspace, (size_t)server.config.embed_value_max_bytes);
    keyspace_set_modified_hook(server.keyspace, server_key_modified, NULL);
    keyspace_set_event_hook(server.keyspace, server_key_event, NULL);
    server_apply_access_mode();
    lazyfree_configure(server.keyspace);
    blocking_init();
    watch_init();
    command_register_types(server.keyspace);
    command_table_init();
    script_init();
    script_set_yield(net_serve_while_busy);
    server.slowlog = slowlog_create();
    server.errorstats = errorstats_create();
    signal(SIGPIPE, SIG_IGN);

    if (net_start(&err) != 0) {
        server_log(LOG_WARNING, "%s", err);
        mem_free(err);
        return 1;
    }
    /* Listening already: clients that connect during a long load get
     * LOADING (and INFO says loading:1), as with Redis. */
    /* As in Redis, the AOF (when on) is the data set; dump.rdb is not read. */
    int loaded = server.config.appendonly ? aof_load_at_startup(serve_while_loading) : 1;
    if (loaded < 0 || (loaded == 1 && !server.config.appendonly &&
                       snapshot_load_at_startup(serve_while_loading) != 0)) {
        if (loaded < 0)
            server_log(LOG_WARNING, "Fatal error loading the append only file. Exiting.");
        net_stop(); /* close listeners and clients so net_release can finish */
        return server.shutdown_requested ? server.exit_code : 1;
    }
    if (server.config.appendonly && aof_open_at_startup() != 0) {
        server_log(LOG_WARNING, "Can't open the append-only file. Exiting.");
        net_stop();
        return 1;
    }
    write_pidfile();
    server_log(LOG_NOTICE, "Server initialized");
    server_log(LOG_NOTICE, "Ready to accept connections tcp on port %lld",
               (long long)server.config.port);
    net_run();
    aof_shutdown(); /* the last buffered writes reach the disk */
    server_log(LOG_WARNING, "Rivet is now ready to exit, bye bye...");
    return server.exit_code;
}

int server_main(int argc, char **argv)
{
    if (argc >= 1 && (strcmp(argv[0], "-v") == 0 || strcmp(argv[0], "--version") == 0)) {
        printf("Rivet server v=%s (Redis-compatible %s) malloc=%s bits=%d\n", RIVET_VERSION,
               RIVET_REDIS_COMPAT_VERSION, mem_allocator_name(), (int)(sizeof(long) * 8));
        return 0;
    }
    if (argc >= 1 && strcmp(argv[0], "--commands-markdown") == 0) {
        command_table_init();
        command_print_markdown(stdout);
        command_table_release();
        return 0;
    }
    if (argc >= 1 && (strcmp(argv[0], "-h") == 0 || strcmp(argv[0], "--help") == 0)) {
        print_usage();
        return 0;
    }
    int code = start(argc, argv);
    net_release();
    script_release();
    blocking_release();
    cache_release();
    tracking_release();
    watch_release();
    slowlog_destroy(server.slowlog);
    errorstats_destroy(server.errorstats);
    command_table_release();
    keyspace_destroy(server.keyspace);
    if (server.config.pidfile && server.config.pidfile[0])
        unlink(server.config.pidfile);
    mem_free(server.config_file);
    mem_free(server.executable);
    config_release(&server.config);
    return code;
}
