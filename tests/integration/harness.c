/* harness: starts and stops a real server process for the integration tests
 * and wraps hiredis calls in cmocka assertions. Test-only code: it links
 * hiredis and cmocka, not librivet, so it allocates with plain malloc. */
#define _GNU_SOURCE
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#ifndef RIVET_SERVER_BINARY
#define RIVET_SERVER_BINARY "rivet-server"
#endif

#define START_TIMEOUT_MS    10000
#define STOP_TIMEOUT_MS     5000
#define START_ATTEMPTS      5
#define COMMAND_TIMEOUT_SEC 10
#define RAW_TOTAL_LIMIT_MS  10000
#define LOG_TAIL_BYTES      (64 * 1024)

struct harness_server {
    pid_t pid;
    int port;
    bool reaped;     /* waitpid already collected the exit status */
    int wait_status; /* valid when reaped */
    char dir[PATH_MAX];
    char log_path[PATH_MAX + 16];
    harness_server *next_live; /* in live_servers until harness_stop */
};

/* Servers not yet stopped. A failed assertion longjmps out of a test before
 * its harness_stop runs; at exit these are killed and their dirs removed, so
 * a failing test leaves no stray process or temp dir behind. */
static harness_server *live_servers;
static bool cleanup_registered;

/* The kernel picks a port that is free right now; someone may take it before
 * the server binds it, which is why harness_start retries. */
static int find_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd == -1)
        return -1;
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t addr_len = sizeof(addr);
    int port = -1;
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0 &&
        getsockname(fd, (struct sockaddr *)&addr, &addr_len) == 0)
        port = ntohs(addr.sin_port);
    close(fd);
    return port;
}

static const char *server_binary(void)
{
    const char *env = getenv("RIVET_SERVER");
    return env && *env ? env : RIVET_SERVER_BINARY;
}

static pid_t spawn_server(harness_server *server, const char *const *extra_args)
{
    char port_text[16];
    snprintf(port_text, sizeof(port_text), "%d", server->port);
    const char *fixed[] = {server_binary(), "--port",      port_text,
                           "--bind",        "127.0.0.1",   "--dir",
                           server->dir,     "--save",      "",
                           "--appendonly",  "no",          "--enable-debug-command",
                           "yes",           "--daemonize", "no"};
    size_t fixed_count = sizeof(fixed) / sizeof(fixed[0]);
    size_t extra_count = 0;
    while (extra_args && extra_args[extra_count])
        extra_count++;
    char **argv = calloc(fixed_count + extra_count + 1, sizeof(char *));
    if (!argv)
        return -1;
    for (size_t i = 0; i < fixed_count; i++)
        argv[i] = (char *)fixed[i];
    for (size_t i = 0; i < extra_count; i++)
        argv[fixed_count + i] = (char *)extra_args[i];

    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        int log_fd = open(server->log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        int null_fd = open("/dev/null", O_RDONLY);
        if (log_fd == -1 || null_fd == -1)
            _exit(126);
        /* If the test process dies (crash, abort, timeout kill), so does the
         * server, instead of holding its port forever. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(125);
        dup2(null_fd, STDIN_FILENO);
        dup2(log_fd, STDOUT_FILENO);
        dup2(log_fd, STDERR_FILENO);
        execvp(argv[0], argv);
        dprintf(STDERR_FILENO, "harness: cannot exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    free(argv);
    return pid;
}

/* Non-blocking check for exit; remembers the status so it is read once. */
static bool server_reap(harness_server *server, bool block)
{
    if (server->reaped)
        return true;
    int status;
    pid_t got;
    do {
        got = waitpid(server->pid, &status, block ? 0 : WNOHANG);
    } while (got == -1 && errno == EINTR);
    if (got == server->pid) {
        server->reaped = true;
        server->wait_status = status;
    }
    return server->reaped;
}

bool harness_alive(harness_server *server)
{
    return !server_reap(server, false);
}

static bool server_answers_ping(int port)
{
    struct timeval timeout = {0, 200000};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, timeout);
    bool ok = false;
    if (c && !c->err) {
        redisSetTimeout(c, timeout);
        redisReply *reply = redisCommand(c, "PING");
        /* A server started with requirepass answers NOAUTH: it is up. */
        ok = reply && ((reply->type == REDIS_REPLY_STATUS && strcmp(reply->str, "PONG") == 0) ||
                       (reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "NOAUTH", 6) == 0));
        if (reply)
            freeReplyObject(reply);
    }
    if (c)
        redisFree(c);
    return ok;
}

/* Waits for PONG. Returns 1 when ready, 0 if the process exited first (most
 * likely the port was taken: worth another try), -1 on timeout. */
static int server_wait_ready(harness_server *server)
{
    long long deadline = harness_now_ms() + START_TIMEOUT_MS;
    while (harness_now_ms() < deadline) {
        if (server_reap(server, false))
            return 0;
        if (server_answers_ping(server->port))
            return harness_alive(server) ? 1 : 0;
        harness_sleep_ms(20);
    }
    return -1;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    remove(path);
    return 0;
}

static void remove_dir(const char *dir)
{
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void live_remove(harness_server *server)
{
    for (harness_server **link = &live_servers; *link; link = &(*link)->next_live) {
        if (*link == server) {
            *link = server->next_live;
            return;
        }
    }
}

static void kill_leftover_servers(void)
{
    while (live_servers) {
        harness_server *server = live_servers;
        live_servers = server->next_live;
        if (!server->reaped) {
            kill(server->pid, SIGKILL);
            server_reap(server, true);
        }
        remove_dir(server->dir);
        free(server);
    }
}

void harness_print_log(const harness_server *server)
{
    FILE *log = fopen(server->log_path, "rb");
    if (!log) {
        fprintf(stderr, "harness: no log at %s\n", server->log_path);
        return;
    }
    fseek(log, 0, SEEK_END);
    long size = ftell(log);
    long start = size > LOG_TAIL_BYTES ? size - LOG_TAIL_BYTES : 0;
    fseek(log, start, SEEK_SET);
    fprintf(stderr, "---- server log %s%s ----\n", server->log_path,
            start > 0 ? " (last 64 KiB)" : "");
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof(chunk), log)) > 0)
        fwrite(chunk, 1, got, stderr);
    fprintf(stderr, "---- end of server log ----\n");
    fclose(log);
}

static bool make_temp_dir(harness_server *server)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    snprintf(server->dir, sizeof(server->dir), "%s/rivet-test-XXXXXX", tmp);
    if (!mkdtemp(server->dir))
        return false;
    snprintf(server->log_path, sizeof(server->log_path), "%s/server.log", server->dir);
    return true;
}

harness_server *harness_start(const char *const *extra_args)
{
    /* A server that closes a connection must not kill the test with SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);

    harness_server *server = calloc(1, sizeof(*server));
    if (!server)
        fail_msg("harness: out of memory");
    if (!make_temp_dir(server)) {
        free(server);
        fail_msg("harness: cannot create a temp dir: %s", strerror(errno));
        return NULL;
    }

    const char *why = "no attempt made";
    for (int attempt = 0; attempt < START_ATTEMPTS; attempt++) {
        server->port = find_free_port();
        server->reaped = false;
        if (server->port <= 0) {
            why = "no free port";
            continue;
        }
        server->pid = spawn_server(server, extra_args);
        if (server->pid <= 0) {
            why = "fork failed";
            continue;
        }
        int ready = server_wait_ready(server);
        if (ready == 1) {
            if (!cleanup_registered) {
                atexit(kill_leftover_servers);
                cleanup_registered = true;
            }
            server->next_live = live_servers;
            live_servers = server;
            return server;
        }
        if (ready == -1) {
            why = "did not answer PING within 10 s";
            kill(server->pid, SIGKILL);
            server_reap(server, true);
            break;
        }
        why = "exited during startup";
    }

    fprintf(stderr, "harness: cannot start %s: %s\n", server_binary(), why);
    harness_print_log(server);
    remove_dir(server->dir);
    free(server);
    fail_msg("harness: server did not start");
    return NULL;
}

int harness_stop(harness_server *server)
{
    if (!server)
        return -1;
    live_remove(server);
    bool timed_out = false;
    if (!server->reaped) {
        kill(server->pid, SIGTERM);
        long long deadline = harness_now_ms() + STOP_TIMEOUT_MS;
        while (!server_reap(server, false) && harness_now_ms() < deadline)
            harness_sleep_ms(10);
        if (!server->reaped) {
            timed_out = true;
            kill(server->pid, SIGKILL);
            server_reap(server, true);
        }
    }

    int result = 0;
    int status = server->wait_status;
    if (timed_out) {
        fprintf(stderr, "harness: server did not exit within 5 s of SIGTERM; killed\n");
        result = -1;
    } else if (WIFSIGNALED(status)) {
        fprintf(stderr, "harness: server died by signal %d (%s)\n", WTERMSIG(status),
                strsignal(WTERMSIG(status)));
        result = -1;
    } else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
        fprintf(stderr,
                "harness: server exited with status %d (a sanitizer report or a fatal "
                "error; see the log)\n",
                WEXITSTATUS(status));
        result = -1;
    }
    if (result != 0)
        harness_print_log(server);

    const char *keep = getenv("RIVET_KEEP_TEST_DIR");
    if (keep && *keep && strcmp(keep, "0") != 0)
        fprintf(stderr, "harness: kept %s\n", server->dir);
    else
        remove_dir(server->dir);
    free(server);
    return result;
}

int harness_port(const harness_server *server)
{
    return server->port;
}

pid_t harness_pid(const harness_server *server)
{
    return server->pid;
}

const char *harness_dir(const harness_server *server)
{
    return server->dir;
}

const char *harness_log_path(const harness_server *server)
{
    return server->log_path;
}

redisContext *harness_connect(harness_server *server)
{
    struct timeval connect_timeout = {5, 0};
    struct timeval command_timeout = {COMMAND_TIMEOUT_SEC, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", server->port, connect_timeout);
    if (!c || c->err) {
        print_error("harness: cannot connect to port %d: %s\n", server->port,
                    c ? c->errstr : "out of memory");
        if (c)
            redisFree(c);
        if (!harness_alive(server))
            harness_print_log(server);
        fail();
    }
    redisSetTimeout(c, command_timeout);
    return c;
}

/* ---- describing commands and replies in failure messages ---- */

/* Appends bytes to a fixed-size message buffer, escaping anything that is not
 * printable so binary replies stay readable; silently truncates. */
static void text_append(char *out, size_t cap, const char *bytes, size_t len)
{
    size_t used = strlen(out);
    for (size_t i = 0; i < len && used + 5 < cap; i++) {
        unsigned char ch = (unsigned char)bytes[i];
        if (ch >= 32 && ch < 127 && ch != '\\')
            out[used++] = (char)ch;
        else
            used += (size_t)snprintf(out + used, cap - used, "\\x%02x", ch);
    }
    out[used] = '\0';
}

static void text_append_str(char *out, size_t cap, const char *s)
{
    size_t used = strlen(out);
    snprintf(out + used, cap - used, "%s", s);
}

/* Turns the RESP multibulk that hiredis formatted back into "WORD WORD". */
static void describe_command(char *out, size_t cap, const char *resp, size_t resp_len)
{
    out[0] = '\0';
    const char *p = resp, *end = resp + resp_len;
    if (p >= end || *p != '*')
        return;
    long count = strtol(p + 1, NULL, 10);
    p = memchr(p, '\n', (size_t)(end - p));
    for (long i = 0; p && i < count; i++) {
        p++; /* past '\n' */
        if (p >= end || *p != '$')
            return;
        long len = strtol(p + 1, NULL, 10);
        p = memchr(p, '\n', (size_t)(end - p));
        if (!p || p + 1 + len > end)
            return;
        if (i > 0)
            text_append_str(out, cap, " ");
        text_append(out, cap, p + 1, (size_t)len);
        p = p + 1 + len + 1; /* at '\n' after the value's "\r" */
    }
}

static void describe_reply(char *out, size_t cap, const redisReply *r)
{
    char number[48];
    switch (r->type) {
    case REDIS_REPLY_STATUS:
        text_append_str(out, cap, "status '");
        text_append(out, cap, r->str, r->len);
        text_append_str(out, cap, "'");
        break;
    case REDIS_REPLY_ERROR:
        text_append_str(out, cap, "error '");
        text_append(out, cap, r->str, r->len);
        text_append_str(out, cap, "'");
        break;
    case REDIS_REPLY_STRING:
        text_append_str(out, cap, "bulk '");
        text_append(out, cap, r->str, r->len);
        text_append_str(out, cap, "'");
        break;
    case REDIS_REPLY_INTEGER:
        snprintf(number, sizeof(number), "integer %lld", r->integer);
        text_append_str(out, cap, number);
        break;
    case REDIS_REPLY_NIL:
        text_append_str(out, cap, "nil");
        break;
    case REDIS_REPLY_ARRAY:
        snprintf(number, sizeof(number), "array of %zu [", r->elements);
        text_append_str(out, cap, number);
        for (size_t i = 0; i < r->elements && i < 16; i++) {
            if (i > 0)
                text_append_str(out, cap, ", ");
            describe_reply(out, cap, r->element[i]);
        }
        text_append_str(out, cap, r->elements > 16 ? ", ...]" : "]");
        break;
    default:
        snprintf(number, sizeof(number), "reply of type %d", r->type);
        text_append_str(out, cap, number);
    }
}

/* Sends one formatted command and returns its reply; on a broken connection
 * fails the test at the caller's line. command_text receives the words. */
static redisReply *run_command(const char *file, int line, redisContext *c, char *command_text,
                               size_t text_cap, const char *format, va_list ap)
{
    char *resp = NULL;
    int resp_len = redisvFormatCommand(&resp, format, ap);
    if (resp_len < 0) {
        print_error("%s:%d: bad command format \"%s\"\n", file, line, format);
        _fail(file, line);
    }
    describe_command(command_text, text_cap, resp, (size_t)resp_len);
    void *reply = NULL;
    int ok = redisAppendFormattedCommand(c, resp, (size_t)resp_len);
    redisFreeCommand(resp);
    if (ok == REDIS_OK)
        ok = redisGetReply(c, &reply);
    if (ok != REDIS_OK || !reply) {
        print_error("%s:%d: %s: connection error: %s\n", file, line, command_text,
                    c->errstr[0] ? c->errstr : "no reply");
        _fail(file, line);
    }
    return reply;
}

redisReply *harness_command(redisContext *c, const char *format, ...)
{
    char command_text[512];
    va_list ap;
    va_start(ap, format);
    redisReply *reply =
        run_command(__FILE__, __LINE__, c, command_text, sizeof(command_text), format, ap);
    va_end(ap);
    return reply;
}

/* Reports "COMMAND: expected X, got Y", frees the reply and fails the test. */
static void expectation_failed(const char *file, int line, const char *command_text,
                               const char *expected, redisReply *reply)
{
    char got[1024] = "";
    describe_reply(got, sizeof(got), reply);
    freeReplyObject(reply);
    print_error("%s:%d: %s\n    expected %s\n    got      %s\n", file, line, command_text, expected,
                got);
    _fail(file, line);
}

static bool reply_text_is(const redisReply *r, int type, const void *text, size_t len)
{
    return r->type == type && r->len == len && memcmp(r->str, text, len) == 0;
}

/* The boilerplate every expect_* shares: run the command, check, report. */
#define EXPECT_BODY(condition, expected_description)                                               \
    char command_text[512];                                                                        \
    va_list ap;                                                                                    \
    va_start(ap, format);                                                                          \
    redisReply *reply =                                                                            \
        run_command(file, line, c, command_text, sizeof(command_text), format, ap);                \
    va_end(ap);                                                                                    \
    if (!(condition))                                                                              \
        expectation_failed(file, line, command_text, (expected_description), reply);               \
    else                                                                                           \
        freeReplyObject(reply)

void harness_expect_status(const char *file, int line, redisContext *c, const char *status,
                           const char *format, ...)
{
    char expected[512] = "status '";
    text_append(expected, sizeof(expected), status, strlen(status));
    text_append_str(expected, sizeof(expected), "'");
    EXPECT_BODY(reply_text_is(reply, REDIS_REPLY_STATUS, status, strlen(status)), expected);
}

void harness_expect_bulk(const char *file, int line, redisContext *c, const char *bulk,
                         const char *format, ...)
{
    char expected[512] = "bulk '";
    text_append(expected, sizeof(expected), bulk, strlen(bulk));
    text_append_str(expected, sizeof(expected), "'");
    EXPECT_BODY(reply_text_is(reply, REDIS_REPLY_STRING, bulk, strlen(bulk)), expected);
}

void harness_expect_bulk_len(const char *file, int line, redisContext *c, const void *bulk,
                             size_t bulk_len, const char *format, ...)
{
    char expected[512] = "bulk '";
    text_append(expected, sizeof(expected), bulk, bulk_len);
    text_append_str(expected, sizeof(expected), "'");
    EXPECT_BODY(reply_text_is(reply, REDIS_REPLY_STRING, bulk, bulk_len), expected);
}

void harness_expect_nil(const char *file, int line, redisContext *c, const char *format, ...)
{
    EXPECT_BODY(reply->type == REDIS_REPLY_NIL, "nil");
}

void harness_expect_integer(const char *file, int line, redisContext *c, long long value,
                            const char *format, ...)
{
    char expected[48];
    snprintf(expected, sizeof(expected), "integer %lld", value);
    EXPECT_BODY(reply->type == REDIS_REPLY_INTEGER && reply->integer == value, expected);
}

void harness_expect_error(const char *file, int line, redisContext *c, const char *error,
                          const char *format, ...)
{
    char expected[512] = "error '";
    text_append(expected, sizeof(expected), error, strlen(error));
    text_append_str(expected, sizeof(expected), "'");
    EXPECT_BODY(reply_text_is(reply, REDIS_REPLY_ERROR, error, strlen(error)), expected);
}

void harness_expect_error_prefix(const char *file, int line, redisContext *c, const char *prefix,
                                 const char *format, ...)
{
    char expected[512] = "error starting with '";
    text_append(expected, sizeof(expected), prefix, strlen(prefix));
    text_append_str(expected, sizeof(expected), "'");
    size_t prefix_len = strlen(prefix);
    EXPECT_BODY(reply->type == REDIS_REPLY_ERROR && reply->len >= prefix_len &&
                    memcmp(reply->str, prefix, prefix_len) == 0,
                expected);
}

void harness_expect_array_len(const char *file, int line, redisContext *c, size_t count,
                              const char *format, ...)
{
    char expected[64];
    snprintf(expected, sizeof(expected), "array of %zu", count);
    EXPECT_BODY(reply->type == REDIS_REPLY_ARRAY && reply->elements == count, expected);
}

/* ---- raw sockets ---- */

harness_raw_reply harness_raw_roundtrip(int port, const void *bytes, size_t len, int quiet_ms)
{
    harness_raw_reply result = {NULL, 0, false};
    signal(SIGPIPE, SIG_IGN);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons((uint16_t)port);
    if (fd == -1 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == -1) {
        int saved = errno;
        if (fd != -1)
            close(fd);
        fail_msg("harness: raw connect to port %d failed: %s", port, strerror(saved));
    }

    const char *p = bytes;
    size_t left = len;
    while (left > 0) {
        ssize_t sent = send(fd, p, left, MSG_NOSIGNAL);
        if (sent == -1 && errno == EINTR)
            continue;
        if (sent == -1) {
            /* The server may close early on a protocol error; what it said
             * before closing is still worth reading, so stop sending only. */
            break;
        }
        p += sent;
        left -= (size_t)sent;
    }

    size_t cap = 4096;
    result.data = malloc(cap);
    if (!result.data)
        fail_msg("harness: out of memory");
    long long hard_deadline = harness_now_ms() + RAW_TOTAL_LIMIT_MS;
    for (;;) {
        long long remaining = hard_deadline - harness_now_ms();
        if (remaining <= 0)
            break;
        struct pollfd pfd = {fd, POLLIN, 0};
        int ready = poll(&pfd, 1, quiet_ms < remaining ? quiet_ms : (int)remaining);
        if (ready == -1 && errno == EINTR)
            continue;
        if (ready <= 0)
            break; /* quiet period passed */
        if (result.len + 1024 >= cap) {
            cap *= 2;
            char *grown = realloc(result.data, cap);
            if (!grown)
                fail_msg("harness: out of memory");
            result.data = grown;
        }
        ssize_t got = recv(fd, result.data + result.len, cap - result.len - 1, 0);
        if (got == -1 && errno == EINTR)
            continue;
        if (got <= 0) {
            result.closed = true; /* EOF, or a reset after the server closed */
            break;
        }
        result.len += (size_t)got;
    }
    result.data[result.len] = '\0';
    close(fd);
    return result;
}

void harness_raw_free(harness_raw_reply *reply)
{
    free(reply->data);
    reply->data = NULL;
    reply->len = 0;
}

long long harness_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void harness_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

long long harness_info_number(redisContext *c, const char *section, const char *field)
{
    redisReply *reply = harness_command(c, "INFO %s", section);
    assert_int_equal(reply->type, REDIS_REPLY_STRING);
    char pattern[128];
    snprintf(pattern, sizeof(pattern), "\r\n%s:", field);
    const char *at = strstr(reply->str, pattern);
    if (!at)
        fail_msg("INFO %s has no %s field", section, field);
    long long value = strtoll(at + strlen(pattern), NULL, 10);
    freeReplyObject(reply);
    return value;
}

bool harness_wait_info_number(redisContext *c, const char *section, const char *field,
                              long long value, int timeout_ms)
{
    long long deadline = harness_now_ms() + timeout_ms;
    for (;;) {
        if (harness_info_number(c, section, field) == value)
            return true;
        if (harness_now_ms() > deadline)
            return false;
        harness_sleep_ms(10);
    }
}

char *harness_make_dir(const char *prefix)
{
    const char *tmp = getenv("TMPDIR");
    char *dir = malloc(4096);
    assert_non_null(dir);
    snprintf(dir, 4096, "%s/%sXXXXXX", tmp && *tmp ? tmp : "/tmp", prefix);
    assert_non_null(mkdtemp(dir));
    return dir;
}

void harness_remove_dir(const char *dir)
{
    remove_dir(dir);
}

void harness_command_ok(redisContext *c, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    redisReply *r = redisvCommand(c, format, ap);
    va_end(ap);
    assert_non_null(r);
    if (r->type == REDIS_REPLY_ERROR)
        fail_msg("%s: %s", format, r->str);
    freeReplyObject(r);
}
