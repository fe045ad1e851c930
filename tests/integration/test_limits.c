/* Limits a server puts on its clients, each on a server started with that
 * limit: maxclients, proto-max-bulk-len, client-query-buffer-limit,
 * client-output-buffer-limit, the idle timeout, and requirepass with the
 * tighter request limits before AUTH. A client over a limit is cut off while
 * the server and its other clients carry on. Expected bytes were checked
 * against Redis 7; RIVET_SERVER=redis-server runs the same checks there. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* ---------- small tools ---------- */

/* receive_buffer > 0 shrinks the socket's receive buffer before connecting,
 * so a client that does not read stops the server's writes early. */
static int raw_connect_with(int port, int receive_buffer)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        fail_msg("socket: %s", strerror(errno));
    if (receive_buffer > 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof(receive_buffer));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons((uint16_t)port);
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
        int saved = errno;
        close(fd);
        fail_msg("connect to port %d: %s", port, strerror(saved));
    }
    return fd;
}

static int raw_connect(int port)
{
    return raw_connect_with(port, 0);
}

/* Sends everything; returns false if the server closed the connection
 * first (a client being cut off mid-request is what some tests expect). */
static bool raw_send(int fd, const void *bytes, size_t len)
{
    const char *p = bytes;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

static void raw_send_text(int fd, const char *request)
{
    if (!raw_send(fd, request, strlen(request)))
        fail_msg("send '%s': %s", request, strerror(errno));
}

/* Reads until `want` bytes, the peer's close, or timeout_ms; returns the
 * count, NUL-terminating out (which must hold want + 1 bytes). */
static size_t raw_read(int fd, char *out, size_t want, int timeout_ms, bool *closed)
{
    size_t got = 0;
    long long deadline = harness_now_ms() + timeout_ms;
    if (closed)
        *closed = false;
    while (got < want) {
        long long left = deadline - harness_now_ms();
        if (left <= 0)
            break;
        struct pollfd pfd = {fd, POLLIN, 0};
        int ready = poll(&pfd, 1, (int)left);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready <= 0)
            break;
        ssize_t n = recv(fd, out + got, want - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (closed)
                *closed = true;
            break;
        }
        got += (size_t)n;
    }
    out[got] = '\0';
    return got;
}

/* Discards what arrives; true once the server closed the connection. */
static bool raw_wait_closed(int fd, int timeout_ms)
{
    char sink[16384];
    long long deadline = harness_now_ms() + timeout_ms;
    for (;;) {
        long long left = deadline - harness_now_ms();
        if (left <= 0)
            return false;
        struct pollfd pfd = {fd, POLLIN, 0};
        int ready = poll(&pfd, 1, (int)left);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready <= 0)
            return false;
        ssize_t n = recv(fd, sink, sizeof(sink), 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return true;
    }
}

/* Sends request, expects exactly `expected` back and the connection to
 * stay open (checked with a short wait); returns the fd. */
static int raw_expect_open(int port, const char *request, size_t request_len, const char *expected)
{
    int fd = raw_connect(port);
    if (!raw_send(fd, request, request_len))
        fail_msg("send: %s", strerror(errno));
    char got[1024];
    size_t want = strlen(expected);
    assert_true(want < sizeof(got));
    bool closed;
    raw_read(fd, got, want, 3000, &closed);
    if (strcmp(got, expected) != 0 || closed)
        fail_msg("expected '%s' on an open connection\n  got '%s'%s", expected, got,
                 closed ? " and a close" : "");
    assert_false(raw_wait_closed(fd, 50));
    return fd;
}

/* Sends request and expects `expected`, then the server's close. */
static void raw_expect_closed(int port, const char *request, size_t request_len,
                              const char *expected)
{
    harness_raw_reply reply = harness_raw_roundtrip(port, request, request_len, 3000);
    char got[1024];
    snprintf(got, sizeof(got), "%s", reply.data);
    bool closed = reply.closed;
    harness_raw_free(&reply);
    if (strcmp(got, expected) != 0 || !closed)
        fail_msg("expected '%s' then close\n  got      '%s' (%s)", expected, got,
                 closed ? "closed" : "still open");
}

/* ---------- maxclients ---------- */

static void test_maxclients_rejects_the_sixth_client(void **state)
{
    const char *const args[] = {"--maxclients", "5", NULL};
    harness_server *server = harness_start(args);
    redisContext *clients[5];
    clients[0] = harness_connect(server);
    /* The harness's start-up probe may still be closing: wait until this
     * is the only client, so exactly five slots are in play. */
    assert_true(harness_wait_info_number(clients[0], "clients", "connected_clients", 1, 3000));
    for (int i = 1; i < 5; i++) {
        clients[i] = harness_connect(server);
        expect_status(clients[i], "PONG", "PING");
    }

    /* The sixth is told why, then closed, without sending anything. */
    int sixth = raw_connect(harness_port(server));
    char got[128];
    bool closed;
    raw_read(sixth, got, 36, 3000, &closed);
    assert_string_equal(got, "-ERR max number of clients reached\r\n");
    assert_true(raw_wait_closed(sixth, 3000));
    close(sixth);

    for (int i = 0; i < 5; i++)
        expect_status(clients[i], "PONG", "PING");
    assert_int_equal(harness_info_number(clients[0], "stats", "rejected_connections"), 1);
    assert_int_equal(harness_info_number(clients[0], "clients", "connected_clients"), 5);

    /* A freed slot can be taken again. */
    redisFree(clients[4]);
    assert_true(harness_wait_info_number(clients[0], "clients", "connected_clients", 4, 3000));
    clients[4] = harness_connect(server);
    expect_status(clients[4], "PONG", "PING");

    for (int i = 0; i < 5; i++)
        redisFree(clients[i]);
    assert_int_equal(harness_stop(server), 0);
}

/* ---------- proto-max-bulk-len ---------- */

/* Runs the server binary with args and returns its exit status, collecting
 * what it printed into output (NUL-terminated). */
static int run_server_to_exit(const char *const *args, char *output, size_t output_cap)
{
    const char *binary = getenv("RIVET_SERVER");
    if (!binary || !*binary)
        binary = RIVET_SERVER_BINARY;
    int out[2];
    assert_int_equal(pipe(out), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        dup2(out[1], STDERR_FILENO);
        close(out[0]);
        const char *argv[16] = {binary};
        size_t n = 1;
        for (; args[n - 1] && n < 15; n++)
            argv[n] = args[n - 1];
        argv[n] = NULL;
        execvp(binary, (char **)argv);
        _exit(127);
    }
    close(out[1]);
    size_t used = 0;
    long long deadline = harness_now_ms() + 5000;
    while (used + 1 < output_cap && harness_now_ms() < deadline) {
        struct pollfd pfd = {out[0], POLLIN, 0};
        if (poll(&pfd, 1, 100) <= 0)
            continue;
        ssize_t n = read(out[0], output + used, output_cap - used - 1);
        if (n <= 0)
            break;
        used += (size_t)n;
    }
    output[used] = '\0';
    close(out[0]);
    int status = 0;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (harness_now_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            fail_msg("the server kept running with an illegal setting:\n%s", output);
        }
        harness_sleep_ms(10);
    }
    return status;
}

static void test_proto_max_bulk_len_below_its_minimum_is_refused(void **state)
{
    /* Redis's floor for this setting is 1mb; 1000 must stop start-up. */
    const char *const args[] = {"--save", "", "--port", "0", "--proto-max-bulk-len", "1000", NULL};
    char output[4096];
    int status = run_server_to_exit(args, output, sizeof(output));
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);
    if (!strstr(output, "argument must be between 1048576 and 9223372036854775807 inclusive"))
        fail_msg("unexpected start-up output:\n%s", output);
}

static void test_proto_max_bulk_len_limits_one_bulk(void **state)
{
    const char *const args[] = {"--proto-max-bulk-len", "1mb", NULL};
    harness_server *server = harness_start(args);
    int port = harness_port(server);
    redisContext *c = harness_connect(server);
    redisReply *r = harness_command(c, "CONFIG GET proto-max-bulk-len");
    assert_int_equal(r->elements, 2);
    assert_string_equal(r->element[1]->str, "1048576");
    freeReplyObject(r);

    /* One byte over: refused as soon as the length is read. */
    const char over[] = "*3\r\n$3\r\nSET\r\n$8\r\nbulk:big\r\n$1048577\r\n";
    raw_expect_closed(port, over, strlen(over), "-ERR Protocol error: invalid bulk length\r\n");
    expect_integer(c, 0, "EXISTS bulk:big");

    /* Exactly the limit is fine. */
    size_t size = 1024 * 1024;
    char *value = malloc(size);
    memset(value, 'b', size);
    expect_status(c, "OK", "SET bulk:big %b", value, size);
    expect_integer(c, (long long)size, "STRLEN bulk:big");
    free(value);
    redisFree(c);
    assert_int_equal(harness_stop(server), 0);
}

/* ---------- client-query-buffer-limit ---------- */

static void test_query_buffer_limit_disconnects_a_client(void **state)
{
    const char *const args[] = {"--client-query-buffer-limit", "1mb", NULL};
    harness_server *server = harness_start(args);
    redisContext *c = harness_connect(server);
    assert_int_equal(harness_info_number(c, "stats", "client_query_buffer_limit_disconnections"),
                     0);

    /* A complete command under the limit runs. */
    size_t small = 900 * 1000;
    char *value = malloc(small);
    memset(value, 's', small);
    expect_status(c, "OK", "SET qbuf:ok %b", value, small);
    free(value);

    /* Half a command that is already past the limit: the server stops
     * buffering it and drops the client. */
    int fd = raw_connect(harness_port(server));
    raw_send_text(fd, "*3\r\n$3\r\nSET\r\n$9\r\nqbuf:half\r\n$2000000\r\n");
    static char chunk[64 * 1024];
    memset(chunk, 'h', sizeof(chunk));
    for (size_t sent = 0; sent < 1200 * 1000; sent += sizeof(chunk))
        if (!raw_send(fd, chunk, sizeof(chunk)))
            break; /* already cut off */
    char reply[64];
    bool closed;
    size_t got = raw_read(fd, reply, sizeof(reply) - 1, 5000, &closed);
    assert_int_equal(got, 0); /* no reply at all */
    assert_true(closed);
    close(fd);

    assert_true(
        harness_wait_info_number(c, "stats", "client_query_buffer_limit_disconnections", 1, 3000));
    expect_integer(c, 0, "EXISTS qbuf:half");
    expect_integer(c, (long long)small, "STRLEN qbuf:ok");
    redisFree(c);
    assert_int_equal(harness_stop(server), 0);
}

/* ---------- maxmemory-clients ---------- */

/* Sends half a SET whose value is `bytes` long, then that many bytes minus
 * one chunk, so the server holds them in the client's query buffer. */
static void send_half_set(int fd, size_t bytes)
{
    char header[96];
    snprintf(header, sizeof(header), "*3\r\n$3\r\nSET\r\n$4\r\nhalf\r\n$%zu\r\n", bytes);
    raw_send_text(fd, header);
    static char chunk[64 * 1024];
    memset(chunk, 'x', sizeof(chunk));
    for (size_t sent = 0; sent + sizeof(chunk) < bytes; sent += sizeof(chunk))
        if (!raw_send(fd, chunk, sizeof(chunk)))
            break;
}

static int raw_half_set(int port, size_t bytes)
{
    int fd = raw_connect(port);
    send_half_set(fd, bytes);
    return fd;
}

/* When all clients' buffers together pass maxmemory-clients, the biggest
 * client goes; clients with CLIENT NO-EVICT on are never chosen. */
static void test_maxmemory_clients_evicts_the_biggest_client(void **state)
{
    harness_server *server = harness_start(NULL);
    redisContext *c = harness_connect(server);
    expect_status(c, "OK", "CLIENT NO-EVICT on");
    expect_status(c, "OK", "CONFIG SET maxmemory-clients 2mb");

    int big = raw_half_set(harness_port(server), 4 * 1000 * 1000);
    assert_true(harness_wait_info_number(c, "stats", "evicted_clients", 1, 3000));
    assert_true(raw_wait_closed(big, 3000));
    close(big);

    /* A protected client may grow past the limit: it is not chosen, and
     * nobody else is either (the only other client is protected too). */
    redisContext *keeper = harness_connect(server);
    expect_status(keeper, "OK", "CLIENT NO-EVICT on");
    int protected_fd = raw_connect(harness_port(server));
    raw_send_text(protected_fd, "CLIENT NO-EVICT on\r\n");
    char reply[16];
    bool closed;
    assert_int_equal(raw_read(protected_fd, reply, 5, 2000, &closed), 5);
    send_half_set(protected_fd, 3000000);
    harness_sleep_ms(500);
    assert_int_equal(harness_info_number(c, "stats", "evicted_clients"), 1);
    expect_status(keeper, "PONG", "PING");
    close(protected_fd);

    /* As a percentage of maxmemory. */
    expect_status(c, "OK", "CONFIG SET maxmemory 100mb");
    expect_status(c, "OK", "CONFIG SET maxmemory-clients 2%%");
    int big2 = raw_half_set(harness_port(server), 4 * 1000 * 1000);
    assert_true(harness_wait_info_number(c, "stats", "evicted_clients", 2, 3000));
    assert_true(raw_wait_closed(big2, 3000));
    close(big2);
    expect_status(c, "OK", "CONFIG SET maxmemory 0");
    redisFree(keeper);
    redisFree(c);
    assert_int_equal(harness_stop(server), 0);
}

/* ---------- client-output-buffer-limit ---------- */

static void test_output_buffer_limit_disconnects_a_client_that_does_not_read(void **state)
{
    const char *const args[] = {"--client-output-buffer-limit", "normal 1mb 0 0", NULL};
    harness_server *server = harness_start(args);
    redisContext *c = harness_connect(server);
    redisReply *r = harness_command(c, "CONFIG GET client-output-buffer-limit");
    assert_int_equal(r->elements, 2);
    assert_non_null(strstr(r->element[1]->str, "normal 1048576 0 0"));
    freeReplyObject(r);

    size_t size = 100 * 1024;
    char *value = malloc(size);
    memset(value, 'o', size);
    expect_status(c, "OK", "SET olimit:big %b", value, size);

    /* A reader that keeps up may fetch it any number of times. */
    for (int i = 0; i < 20; i++)
        expect_bulk_len(c, value, size, "GET olimit:big");

    /* 200 GETs (20 MB of replies) in one write, and never a read: far past
     * the 1 MB hard limit, whatever the kernel buffers absorb. */
    int fd = raw_connect_with(harness_port(server), 4096);
    char request[200 * 16 + 1];
    size_t len = 0;
    for (int i = 0; i < 200; i++)
        len += (size_t)snprintf(request + len, sizeof(request) - len, "GET olimit:big\r\n");
    assert_true(raw_send(fd, request, len));
    assert_true(
        harness_wait_info_number(c, "stats", "client_output_buffer_limit_disconnections", 1, 5000));
    assert_true(raw_wait_closed(fd, 5000));
    close(fd);

    /* The server and the other client carry on. */
    assert_true(harness_alive(server));
    expect_bulk_len(c, value, size, "GET olimit:big");
    expect_status(c, "PONG", "PING");
    assert_int_equal(harness_info_number(c, "stats", "client_output_buffer_limit_disconnections"),
                     1);
    free(value);
    redisFree(c);
    assert_int_equal(harness_stop(server), 0);
}

/* ---------- timeout ---------- */

static void test_idle_timeout_closes_only_the_idle_client(void **state)
{
    const char *const args[] = {"--timeout", "1", NULL};
    harness_server *server = harness_start(args);
    redisContext *active = harness_connect(server);
    int idle = raw_connect(harness_port(server));
    raw_send_text(idle, "PING\r\n");
    char pong[8];
    assert_int_equal(raw_read(idle, pong, 7, 3000, NULL), 7);
    long long idle_since = harness_now_ms();

    /* The active client talks every 200 ms; the waits double as the check
     * on the idle one. */
    long long closed_after = -1;
    while (harness_now_ms() - idle_since < 5000) {
        expect_status(active, "PONG", "PING");
        if (raw_wait_closed(idle, 200)) {
            closed_after = harness_now_ms() - idle_since;
            break;
        }
    }
    close(idle);
    if (closed_after < 0)
        fail_msg("an idle client was still open 5 s into a 1 s timeout");
    /* Redis closes once idle time passes the timeout, checked in seconds. */
    assert_true(closed_after >= 900);
    assert_true(closed_after <= 3500);

    /* Another 1.5 s of activity: never closed. */
    long long until = harness_now_ms() + 1500;
    while (harness_now_ms() < until) {
        expect_status(active, "PONG", "PING");
        harness_sleep_ms(200);
    }
    expect_status(active, "PONG", "PING");
    redisFree(active);
    assert_int_equal(harness_stop(server), 0);
}

/* ---------- requirepass ---------- */

/* The harness waits for PONG before it returns, which a server started
 * with --requirepass never gives; so the password is set right after start.
 * Connections made from then on start unauthenticated, as with the option. */
static harness_server *start_with_password(void)
{
    harness_server *server = harness_start(NULL);
    redisContext *c = harness_connect(server);
    expect_status(c, "OK", "CONFIG SET requirepass secret");
    redisReply *r = harness_command(c, "CONFIG GET requirepass");
    assert_int_equal(r->elements, 2);
    assert_string_equal(r->element[1]->str, "secret");
    freeReplyObject(r);
    redisFree(c);
    return server;
}

static void test_requirepass_auth_flow(void **state)
{
    harness_server *server = start_with_password();
    int port = harness_port(server);
    const char *request = "PING\r\nGET k\r\nAUTH wrong\r\nAUTH default wrong\r\n"
                          "AUTH nouser secret\r\nAUTH secret\r\nPING\r\n";
    close(raw_expect_open(port, request, strlen(request),
                          "-NOAUTH Authentication required.\r\n"
                          "-NOAUTH Authentication required.\r\n"
                          "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
                          "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
                          "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
                          "+OK\r\n+PONG\r\n"));
    request = "AUTH default secret\r\nSET auth:k 1\r\nRESET\r\nGET auth:k\r\n";
    close(raw_expect_open(port, request, strlen(request),
                          "+OK\r\n+OK\r\n+RESET\r\n-NOAUTH Authentication required.\r\n"));
    request = "AUTH a b c\r\n";
    close(raw_expect_open(port, request, strlen(request), "-ERR syntax error\r\n"));

    /* HELLO can authenticate and pick the protocol in one go. */
    redisContext *c = harness_connect(server);
    expect_error_prefix(c, "NOAUTH HELLO must be called with the client already authenticated",
                        "HELLO 2");
    expect_error(c, "WRONGPASS invalid username-password pair or user is disabled.",
                 "HELLO 2 AUTH default nope");
    expect_error(c, "NOAUTH Authentication required.", "PING");
    redisReply *hello = harness_command(c, "HELLO 2 AUTH default secret");
    assert_int_equal(hello->type, REDIS_REPLY_ARRAY);
    assert_int_equal(hello->elements, 14);
    assert_string_equal(hello->element[0]->str, "server");
    assert_string_equal(hello->element[4]->str, "proto");
    assert_int_equal(hello->element[5]->integer, 2);
    freeReplyObject(hello);
    expect_status(c, "PONG", "PING");
    expect_bulk(c, "1", "GET auth:k");
    redisFree(c);
    assert_int_equal(harness_stop(server), 0);
}

static void test_requests_before_auth_are_size_limited(void **state)
{
    harness_server *server = start_with_password();
    int port = harness_port(server);

    /* At most 10 arguments and 16 KiB per argument until AUTH succeeds. */
    raw_expect_closed(port, "*11\r\n", 5,
                      "-ERR Protocol error: unauthenticated multibulk length\r\n");
    raw_expect_closed(port, "*1\r\n$16385\r\n", 12,
                      "-ERR Protocol error: unauthenticated bulk length\r\n");
    char request[17000];
    size_t len = (size_t)snprintf(request, sizeof(request), "*10\r\n$4\r\nPING\r\n");
    for (int i = 0; i < 9; i++)
        len += (size_t)snprintf(request + len, sizeof(request) - len, "$1\r\nx\r\n");
    close(raw_expect_open(port, request, len, "-NOAUTH Authentication required.\r\n"));
    len = (size_t)snprintf(request, sizeof(request), "*2\r\n$4\r\nAUTH\r\n$16384\r\n");
    memset(request + len, 'p', 16384);
    len += 16384;
    memcpy(request + len, "\r\n", 2);
    len += 2;
    close(raw_expect_open(port, request, len,
                          "-WRONGPASS invalid username-password pair or user is disabled.\r\n"));

    /* Once authenticated, the ordinary limits apply. */
    const char *after = "AUTH secret\r\n*11\r\n$4\r\nMSET\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n"
                        "$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nd\r\n$1\r\n4\r\n$1\r\ne\r\n"
                        "$1\r\n5\r\n";
    close(raw_expect_open(port, after, strlen(after), "+OK\r\n+OK\r\n"));
    assert_int_equal(harness_stop(server), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_maxclients_rejects_the_sixth_client),
        cmocka_unit_test(test_proto_max_bulk_len_below_its_minimum_is_refused),
        cmocka_unit_test(test_proto_max_bulk_len_limits_one_bulk),
        cmocka_unit_test(test_query_buffer_limit_disconnects_a_client),
        cmocka_unit_test(test_maxmemory_clients_evicts_the_biggest_client),
        cmocka_unit_test(test_output_buffer_limit_disconnects_a_client_that_does_not_read),
        cmocka_unit_test(test_idle_timeout_closes_only_the_idle_client),
        cmocka_unit_test(test_requirepass_auth_flow),
        cmocka_unit_test(test_requests_before_auth_are_size_limited),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
