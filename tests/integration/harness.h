/* harness: runs a real rivet-server for integration tests. Each server gets a
 * free port on 127.0.0.1 and a private temp dir holding its log; stopping it
 * checks that it exited cleanly, so a crash or sanitizer report fails the test.
 * The expect_* macros send one command through hiredis and assert its reply. */
#ifndef RIVET_TEST_HARNESS_H
#define RIVET_TEST_HARNESS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <hiredis/hiredis.h>

/* hiredis 0.14 (Debian's libhiredis-dev) parses RESP2 only: a connection that
 * sends HELLO 3 cannot read the replies that follow. RESP3 shapes are checked
 * by the compat runner (tests/compat), which compares raw bytes instead. */

typedef struct harness_server harness_server;

/* Starts the server: RIVET_SERVER_BINARY, or $RIVET_SERVER when set. Always
 * passes --port, --bind 127.0.0.1, --dir <temp dir>, --save "", --appendonly
 * no, --enable-debug-command yes and --daemonize no, then extra_args (a NULL-
 * terminated list of separate argv words, e.g. {"--maxmemory", "1mb", NULL};
 * NULL for none). Returns once the server answers PING (10 s at most), trying
 * a new port if the process exits during startup. On failure prints the
 * server's log and fails the current cmocka test or group setup. */
harness_server *harness_start(const char *const *extra_args);

/* Sends SIGTERM, waits up to 5 s (then SIGKILL), removes the temp dir.
 * Returns 0 if the server exited with status 0; otherwise prints why (signal,
 * exit code, timeout) and the log, and returns -1. Always frees the handle.
 * Set RIVET_KEEP_TEST_DIR=1 to keep the dir for inspection. */
int harness_stop(harness_server *server);

int harness_port(const harness_server *server);
/* The server's process id, e.g. to send it a signal. */
pid_t harness_pid(const harness_server *server);
const char *harness_dir(const harness_server *server);
const char *harness_log_path(const harness_server *server);
/* Prints the server's stdout/stderr log (its last 64 KiB) to stderr. */
void harness_print_log(const harness_server *server);
/* True while the server process is still running. */
bool harness_alive(harness_server *server);

/* A new hiredis connection with a 10 s command timeout. Fails the current test
 * if it cannot connect. Free it with redisFree(). */
redisContext *harness_connect(harness_server *server);

/* Runs a command (hiredis format: %s for a C string, %b for pointer+length)
 * and returns its reply; fails the test if the connection broke. Free the
 * reply with freeReplyObject(). */
redisReply *harness_command(redisContext *c, const char *format, ...);

/* Assertions on one command's reply. Each fails the test (at the caller's
 * line) with the command and the reply actually received. */
void harness_expect_status(const char *file, int line, redisContext *c, const char *status,
                           const char *format, ...);
void harness_expect_bulk(const char *file, int line, redisContext *c, const char *bulk,
                         const char *format, ...);
void harness_expect_bulk_len(const char *file, int line, redisContext *c, const void *bulk,
                             size_t bulk_len, const char *format, ...);
void harness_expect_nil(const char *file, int line, redisContext *c, const char *format, ...);
void harness_expect_integer(const char *file, int line, redisContext *c, long long value,
                            const char *format, ...);
/* The whole error text, e.g. "ERR syntax error" or "WRONGTYPE Operation...". */
void harness_expect_error(const char *file, int line, redisContext *c, const char *error,
                          const char *format, ...);
/* Only the start of the error text, e.g. "ERR unknown command". */
void harness_expect_error_prefix(const char *file, int line, redisContext *c, const char *prefix,
                                 const char *format, ...);
/* An array with exactly count elements (contents not checked). */
void harness_expect_array_len(const char *file, int line, redisContext *c, size_t count,
                              const char *format, ...);

#define expect_status(c, status, ...)                                                              \
    harness_expect_status(__FILE__, __LINE__, (c), (status), __VA_ARGS__)
#define expect_bulk(c, bulk, ...) harness_expect_bulk(__FILE__, __LINE__, (c), (bulk), __VA_ARGS__)
#define expect_bulk_len(c, bulk, bulk_len, ...)                                                    \
    harness_expect_bulk_len(__FILE__, __LINE__, (c), (bulk), (bulk_len), __VA_ARGS__)
#define expect_nil(c, ...) harness_expect_nil(__FILE__, __LINE__, (c), __VA_ARGS__)
#define expect_integer(c, value, ...)                                                              \
    harness_expect_integer(__FILE__, __LINE__, (c), (value), __VA_ARGS__)
#define expect_error(c, error, ...)                                                                \
    harness_expect_error(__FILE__, __LINE__, (c), (error), __VA_ARGS__)
#define expect_error_prefix(c, prefix, ...)                                                        \
    harness_expect_error_prefix(__FILE__, __LINE__, (c), (prefix), __VA_ARGS__)
#define expect_array_len(c, count, ...)                                                            \
    harness_expect_array_len(__FILE__, __LINE__, (c), (count), __VA_ARGS__)

/* Raw bytes, for protocol-level tests that hiredis would refuse to send. */
typedef struct harness_raw_reply {
    char *data;  /* everything received, NUL-terminated for convenience */
    size_t len;  /* bytes received (not counting the NUL) */
    bool closed; /* the server closed the connection */
} harness_raw_reply;

/* Connects to 127.0.0.1:port, sends len bytes, then reads until the server
 * closes the connection or nothing arrives for quiet_ms (at most 10 s in all).
 * Fails the test if it cannot connect or send. Free with harness_raw_free(). */
/* A fresh empty directory under $TMPDIR (or /tmp) named <prefix>XXXXXX, for
 * servers that must find their files again after a restart (--dir); free()
 * the returned path. harness_remove_dir removes it and all it holds. */
char *harness_make_dir(const char *prefix);
void harness_remove_dir(const char *dir);
/* Runs a command (hiredis format) and fails the test on an error reply. */
void harness_command_ok(redisContext *c, const char *format, ...);

/* Small tools every integration test needs. */
long long harness_now_ms(void);
void harness_sleep_ms(int ms);
/* A numeric field of INFO <section>; fails the test if it is missing. */
long long harness_info_number(redisContext *c, const char *section, const char *field);
/* Polls INFO until field equals value; returns whether it did in time. */
bool harness_wait_info_number(redisContext *c, const char *section, const char *field,
                              long long value, int timeout_ms);

harness_raw_reply harness_raw_roundtrip(int port, const void *bytes, size_t len, int quiet_ms);
void harness_raw_free(harness_raw_reply *reply);

#endif
