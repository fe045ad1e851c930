/* Networking end to end: pipelines in one write and split at every byte,
 * a 10 MB value arriving in small pieces, inline commands, protocol errors
 * (reply, then close, other clients untouched), QUIT, many concurrent
 * connections, CLIENT KILL, CLIENT REPLY, the unix socket and IPv6.
 * Expected bytes were checked against Redis 7; run this program with
 * RIVET_SERVER=redis-server to compare again. */
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
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* ---------- small tools ---------- */

static void sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

/* A growable byte string for building requests and expected replies. */
typedef struct text {
    char *data;
    size_t len, cap;
} text;

static void text_add(text *t, const void *bytes, size_t len)
{
    if (t->len + len + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < t->len + len + 1)
            cap *= 2;
        t->data = realloc(t->data, cap);
        if (!t->data)
            fail_msg("out of memory");
        t->cap = cap;
    }
    memcpy(t->data + t->len, bytes, len);
    t->len += len;
    t->data[t->len] = '\0';
}

static void text_printf(text *t, const char *format, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, format);
    int n = vsnprintf(small, sizeof(small), format, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < sizeof(small));
    text_add(t, small, (size_t)n);
}

/* Appends one request in RESP multibulk form; lens may be NULL for C strings. */
static void text_command(text *t, int argc, const char *const *argv, const size_t *lens)
{
    text_printf(t, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++) {
        size_t len = lens ? lens[i] : strlen(argv[i]);
        text_printf(t, "$%zu\r\n", len);
        text_add(t, argv[i], len);
        text_add(t, "\r\n", 2);
    }
}

static void text_bulk_reply(text *t, const void *bytes, size_t len)
{
    text_printf(t, "$%zu\r\n", len);
    text_add(t, bytes, len);
    text_add(t, "\r\n", 2);
}

static void text_free(text *t)
{
    free(t->data);
    t->data = NULL;
    t->len = t->cap = 0;
}

/* Copies up to 80 bytes of bytes[from..len) into out, escaping anything
 * not printable so CR LF and binary show up readably. */
static const char *escaped(char *out, size_t cap, const char *bytes, size_t from, size_t len)
{
    size_t used = 0;
    for (size_t i = from; i < len && i < from + 80 && used + 5 < cap; i++) {
        unsigned char ch = (unsigned char)bytes[i];
        if (ch >= 32 && ch < 127 && ch != '\\')
            out[used++] = (char)ch;
        else
            used += (size_t)snprintf(out + used, cap - used, "\\x%02x", ch);
    }
    out[used] = '\0';
    return out;
}

/* Compares replies; on a difference prints the first differing offset with
 * a little context (a whole pipeline's replies are too long to print) and
 * returns false, so the caller can free its buffers before failing. */
static bool same_bytes(const char *what, const char *expected, size_t expected_len, const char *got,
                       size_t got_len)
{
    size_t common = expected_len < got_len ? expected_len : got_len;
    size_t at = 0;
    while (at < common && expected[at] == got[at])
        at++;
    if (at == expected_len && at == got_len)
        return true;
    size_t from = at > 40 ? at - 40 : 0;
    char shown_what[200], shown_expected[420], shown_got[420];
    print_error("%s: %zu bytes expected, %zu received, first difference at offset %zu\n"
                "  expected from %zu: %s\n  received from %zu: %s\n",
                escaped(shown_what, sizeof(shown_what), what, 0, strlen(what)), expected_len,
                got_len, at, from,
                escaped(shown_expected, sizeof(shown_expected), expected, from, expected_len), from,
                escaped(shown_got, sizeof(shown_got), got, from, got_len));
    return false;
}

/* ---------- raw sockets ---------- */

static int raw_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        fail_msg("socket: %s", strerror(errno));
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons((uint16_t)port);
    /* Every send() becomes its own segment: the server sees the splits. */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
        int saved = errno;
        close(fd);
        fail_msg("connect to port %d: %s", port, strerror(saved));
    }
    return fd;
}

static void raw_send(int fd, const void *bytes, size_t len)
{
    const char *p = bytes;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            fail_msg("send: %s", strerror(errno));
        p += n;
        len -= (size_t)n;
    }
}

static void raw_send_text(int fd, const char *request)
{
    raw_send(fd, request, strlen(request));
}

/* Reads until `want` bytes arrived, the peer closed, or timeout_ms passed.
 * Returns the count read; *closed (optional) tells whether the peer closed. */
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
    return got;
}

/* Discards whatever arrives; true once the server closed the connection. */
static bool raw_wait_closed(int fd, int timeout_ms)
{
    char sink[4096];
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

/* True if no byte arrives within quiet_ms (and the connection is open). */
static bool raw_nothing_more(int fd, int quiet_ms)
{
    char byte;
    struct pollfd pfd = {fd, POLLIN, 0};
    if (poll(&pfd, 1, quiet_ms) <= 0)
        return true;
    return recv(fd, &byte, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN;
}

/* Sends request on a fresh connection, reads exactly the expected reply
 * bytes, checks them and that nothing else follows; returns the open fd. */
static int raw_expect(int port, const char *request, size_t request_len, const char *expected,
                      size_t expected_len)
{
    int fd = raw_connect(port);
    raw_send(fd, request, request_len);
    char *got = malloc(expected_len + 1);
    bool closed;
    size_t got_len = raw_read(fd, got, expected_len, 2000, &closed);
    bool same = same_bytes(request, expected, expected_len, got, got_len);
    free(got);
    if (!same)
        close(fd);
    assert_true(same);
    assert_false(closed);
    assert_true(raw_nothing_more(fd, 50));
    return fd;
}

static void raw_expect_and_close(int port, const char *request, const char *expected)
{
    close(raw_expect(port, request, strlen(request), expected, strlen(expected)));
}

/* Sends `len` bytes `piece` bytes per send(), sleeping pause_us after every
 * pause_every bytes (0: never), while reading replies as they come, so
 * neither side blocks on a full socket. Stops when expect_len bytes arrived,
 * the server closed, or timeout_ms passed. Returns the bytes received. */
static char *raw_exchange(int fd, const char *bytes, size_t len, size_t piece, size_t pause_every,
                          long pause_us, size_t expect_len, int timeout_ms, size_t *got_len)
{
    char *got = malloc(expect_len + 1);
    size_t sent = 0, received = 0;
    long long deadline = harness_now_ms() + timeout_ms;
    while (received < expect_len && harness_now_ms() < deadline) {
        bool progress = false;
        if (sent < len) {
            size_t want = len - sent < piece ? len - sent : piece;
            ssize_t n = send(fd, bytes + sent, want, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0) {
                size_t before = sent;
                sent += (size_t)n;
                progress = true;
                if (pause_every && before / pause_every != sent / pause_every)
                    sleep_us(pause_us);
            } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
                break;
            }
        }
        ssize_t n = recv(fd, got + received, expect_len - received, MSG_DONTWAIT);
        if (n == 0)
            break;
        if (n > 0) {
            received += (size_t)n;
            progress = true;
        }
        if (!progress) {
            struct pollfd pfd = {fd, (short)(POLLIN | (sent < len ? POLLOUT : 0)), 0};
            poll(&pfd, 1, 10);
        }
    }
    *got_len = received;
    return got;
}

/* ---------- hiredis helpers ---------- */

/* ---------- tests ---------- */

static int server_setup(void **state)
{
    *state = harness_start(NULL);
    return *state ? 0 : -1;
}

static int server_teardown(void **state)
{
    return harness_stop(*state) == 0 ? 0 : -1;
}

/* 10,000 commands of four kinds in one buffer; each reply is distinct, so a
 * reordered, lost or duplicated reply shows as a byte mismatch. */
static void build_big_pipeline(text *request, text *expected)
{
    char key[32], value[32];
    for (int i = 0; i < 10000; i++) {
        switch (i % 4) {
        case 0: {
            snprintf(key, sizeof(key), "pipe:%d", i);
            snprintf(value, sizeof(value), "v%d", i);
            const char *argv[] = {"SET", key, value};
            text_command(request, 3, argv, NULL);
            text_add(expected, "+OK\r\n", 5);
            break;
        }
        case 1: {
            snprintf(key, sizeof(key), "pipe:%d", i - 1);
            snprintf(value, sizeof(value), "v%d", i - 1);
            const char *argv[] = {"GET", key};
            text_command(request, 2, argv, NULL);
            text_bulk_reply(expected, value, strlen(value));
            break;
        }
        case 2: {
            const char *argv[] = {"INCR", "pipe:counter"};
            text_command(request, 2, argv, NULL);
            text_printf(expected, ":%d\r\n", i / 4 + 1);
            break;
        }
        default: {
            snprintf(value, sizeof(value), "m%d", i);
            const char *argv[] = {"ECHO", value};
            text_command(request, 2, argv, NULL);
            text_bulk_reply(expected, value, strlen(value));
        }
        }
    }
}

static void test_pipeline_of_10000_in_one_write(void **state)
{
    text request = {0}, expected = {0};
    build_big_pipeline(&request, &expected);
    int fd = raw_connect(harness_port(*state));
    /* One send() of everything; what the kernel does not take at once goes
     * out as soon as there is room, while replies are read. */
    size_t got_len;
    char *got = raw_exchange(fd, request.data, request.len, request.len, 0, 0, expected.len, 20000,
                             &got_len);
    bool same = same_bytes("10000-command pipeline", expected.data, expected.len, got, got_len);
    bool nothing_more = raw_nothing_more(fd, 50);
    free(got);
    close(fd);
    text_free(&request);
    text_free(&expected);
    assert_true(same);
    assert_true(nothing_more);
}

/* A few commands that cover every parser state: counts of one and two
 * digits, binary bulks holding CR LF and NUL, an empty bulk, an empty
 * request, inline commands with quotes and escapes, a bare LF line end. */
static void build_small_pipeline(text *request, text *expected)
{
    static const char binary[] = "ab\r\ncd\0ef\r\ngh";
    size_t binary_len = sizeof(binary) - 1;
    const char *set_argv[] = {"SET", "split:a", binary};
    const size_t set_lens[] = {3, 7, binary_len};
    text_command(request, 3, set_argv, set_lens);
    text_add(expected, "+OK\r\n", 5);

    const char *get_argv[] = {"GET", "split:a"};
    text_command(request, 2, get_argv, NULL);
    text_bulk_reply(expected, binary, binary_len);

    text_printf(request, "ECHO \"x\\ty z\"\r\n");
    text_bulk_reply(expected, "x\ty z", 5);

    text_printf(request, "\r\n"); /* an empty inline line: no reply */

    const char *mset_argv[] = {"MSET", "split:b", "1",    "split:c", "22",   "split:d",
                               "333",  "split:e", "4444", "split:f", "55555"};
    text_command(request, 11, mset_argv, NULL);
    text_add(expected, "+OK\r\n", 5);

    const char *mget_argv[] = {"MGET", "split:b", "split:f", "split:none"};
    text_command(request, 4, mget_argv, NULL);
    text_printf(expected, "*3\r\n$1\r\n1\r\n$5\r\n55555\r\n$-1\r\n");

    text_printf(request, "PING\n");
    text_add(expected, "+PONG\r\n", 7);

    text_printf(request, "*0\r\n"); /* an empty request: no reply */

    const char *echo_argv[] = {"ECHO", ""};
    text_command(request, 2, echo_argv, NULL);
    text_printf(expected, "$0\r\n\r\n");

    text_printf(request, "  ECHO   'q w'  \r\n");
    text_bulk_reply(expected, "q w", 3);
}

static void test_pipeline_sent_byte_by_byte(void **state)
{
    text request = {0}, expected = {0};
    build_small_pipeline(&request, &expected);
    int fd = raw_connect(harness_port(*state));
    size_t got_len;
    /* One byte per send(), with a pause every 3 bytes so reads split too. */
    char *got =
        raw_exchange(fd, request.data, request.len, 1, 3, 500, expected.len, 10000, &got_len);
    bool same = same_bytes("byte-by-byte pipeline", expected.data, expected.len, got, got_len);
    bool nothing_more = raw_nothing_more(fd, 50);
    free(got);
    close(fd);
    text_free(&request);
    text_free(&expected);
    assert_true(same);
    assert_true(nothing_more);
}

static void test_pipeline_split_at_every_boundary(void **state)
{
    text request = {0}, expected = {0};
    build_small_pipeline(&request, &expected);
    char *got = malloc(expected.len + 1);
    for (size_t split = 1; split < request.len; split++) {
        int fd = raw_connect(harness_port(*state));
        raw_send(fd, request.data, split);
        sleep_us(300); /* lets the server read (and parse) the first part alone */
        raw_send(fd, request.data + split, request.len - split);
        bool closed;
        size_t got_len = raw_read(fd, got, expected.len, 5000, &closed);
        char what[64];
        snprintf(what, sizeof(what), "pipeline split at byte %zu", split);
        bool same = same_bytes(what, expected.data, expected.len, got, got_len);
        close(fd);
        if (!same) {
            free(got);
            text_free(&request);
            text_free(&expected);
            fail();
        }
    }
    free(got);
    text_free(&request);
    text_free(&expected);
}

static void test_10mb_value_in_small_chunks(void **state)
{
    const size_t size = 10 * 1024 * 1024;
    char *value = malloc(size);
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < size; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        value[i] = (char)(x >> 24); /* every byte value, CR LF and NUL included */
    }
    int fd = raw_connect(harness_port(*state));
    char header[128];
    int header_len =
        snprintf(header, sizeof(header), "*3\r\n$3\r\nSET\r\n$9\r\nnet:large\r\n$%zu\r\n", size);
    raw_send(fd, header, (size_t)header_len);
    for (size_t at = 0; at < size; at += 4096)
        raw_send(fd, value + at, size - at < 4096 ? size - at : 4096);
    raw_send(fd, "\r\n", 2);
    char reply[8] = "";
    bool closed;
    size_t got = raw_read(fd, reply, 5, 30000, &closed);
    close(fd);
    if (got != 5 || memcmp(reply, "+OK\r\n", 5) != 0) {
        free(value);
        fail_msg("SET of 10 MB: expected +OK, got %zu bytes '%.*s'", got, (int)got, reply);
    }

    redisContext *c = harness_connect(*state);
    redisReply *r = harness_command(c, "GET net:large");
    bool same = r->type == REDIS_REPLY_STRING && r->len == size && memcmp(r->str, value, size) == 0;
    freeReplyObject(r);
    free(value);
    assert_true(same);
    expect_integer(c, (long long)size, "STRLEN net:large");
    expect_integer(c, 1, "DEL net:large");
    redisFree(c);
}

static void test_inline_commands(void **state)
{
    int port = harness_port(*state);
    raw_expect_and_close(port, "PING\r\n", "+PONG\r\n");
    raw_expect_and_close(port, "SET net:inline \"a b\"\r\nGET net:inline\r\n",
                         "+OK\r\n$3\r\na b\r\n");
    raw_expect_and_close(port, "ECHO 'x y'\r\n", "$3\r\nx y\r\n");
    /* Double quotes take escapes; single quotes only \' */
    raw_expect_and_close(port, "ECHO \"a\\x41\\n\"\r\nECHO 'it\\'s'\r\n",
                         "$3\r\naA\n\r\n$4\r\nit's\r\n");
    /* Blank lines are skipped; LF alone ends a line; words split on runs of
     * blanks, and the command name is case-insensitive. */
    raw_expect_and_close(port, "\r\n\r\nPING\nEcHo  a   \r\n", "+PONG\r\n$1\r\na\r\n");
    raw_expect_and_close(port, "ECHO\r\n", "-ERR wrong number of arguments for 'echo' command\r\n");
    raw_expect_and_close(port, "GET net:inline\r\n*2\r\n$4\r\nECHO\r\n$1\r\nz\r\nPING\r\n",
                         "$3\r\na b\r\n$1\r\nz\r\n+PONG\r\n");
}

/* The server answers a malformed request with one error, then closes; what
 * came before it in the same packet is still answered. */
static void expect_protocol_error(int port, const char *request, const char *reply_text)
{
    harness_raw_reply reply = harness_raw_roundtrip(port, request, strlen(request), 3000);
    if (strcmp(reply.data, reply_text) != 0 || !reply.closed)
        fail_msg("request '%s'\n  expected '%s' then close\n  got      '%s' (%s)", request,
                 reply_text, reply.data, reply.closed ? "closed" : "still open");
    harness_raw_free(&reply);
}

static void test_protocol_errors_close_only_that_client(void **state)
{
    int port = harness_port(*state);
    redisContext *other = harness_connect(*state);
    expect_status(other, "OK", "SET net:survivor alive");

    expect_protocol_error(port, "*abc\r\n", "-ERR Protocol error: invalid multibulk length\r\n");
    expect_bulk(other, "alive", "GET net:survivor");
    expect_protocol_error(port, "*1\r\n$-5\r\n", "-ERR Protocol error: invalid bulk length\r\n");
    expect_status(other, "PONG", "PING");
    expect_protocol_error(port, "SET net:k \"a b\r\n",
                          "-ERR Protocol error: unbalanced quotes in request\r\n");
    expect_protocol_error(port, "ECHO \"a\"b\r\n",
                          "-ERR Protocol error: unbalanced quotes in request\r\n");
    expect_protocol_error(port, "PING\r\n*1\r\nPING\r\n",
                          "+PONG\r\n-ERR Protocol error: expected '$', got 'P'\r\n");
    /* Nothing after the bad request runs. */
    expect_protocol_error(port, "*1\r\n$4\r\nPING\r\n*x\r\nSET net:after-error 1\r\n",
                          "+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n");
    expect_integer(other, 0, "EXISTS net:after-error");
    expect_bulk(other, "alive", "GET net:survivor");
    redisFree(other);
    assert_true(harness_alive(*state));
}

static void test_quit_replies_ok_then_closes(void **state)
{
    int port = harness_port(*state);
    const char *quit = "QUIT\r\nSET net:after-quit 1\r\n";
    harness_raw_reply reply = harness_raw_roundtrip(port, quit, strlen(quit), 3000);
    assert_string_equal(reply.data, "+OK\r\n");
    assert_true(reply.closed);
    harness_raw_free(&reply);

    redisContext *c = harness_connect(*state);
    expect_integer(c, 0, "EXISTS net:after-quit");
    expect_status(c, "OK", "QUIT");
    redisFree(c);
}

#define CONCURRENT_CLIENTS 200

static void test_200_concurrent_connections(void **state)
{
    int port = harness_port(*state);
    int fds[CONCURRENT_CLIENTS];
    for (int i = 0; i < CONCURRENT_CLIENTS; i++)
        fds[i] = raw_connect(port);
    /* All are open at once; each asks something only it can be told. */
    for (int i = 0; i < CONCURRENT_CLIENTS; i++) {
        char request[64];
        int len = snprintf(request, sizeof(request), "ECHO conn:%d\r\n", i);
        raw_send(fds[i], request, (size_t)len);
    }
    for (int i = CONCURRENT_CLIENTS - 1; i >= 0; i--) {
        char expected[64], got[64];
        char body[32];
        int body_len = snprintf(body, sizeof(body), "conn:%d", i);
        int len = snprintf(expected, sizeof(expected), "$%d\r\n%s\r\n", body_len, body);
        size_t n = raw_read(fds[i], got, (size_t)len, 5000, NULL);
        if (!same_bytes("concurrent client reply", expected, (size_t)len, got, n))
            fail(); /* the sockets close when the test program exits */
    }
    redisContext *c = harness_connect(*state);
    assert_true(harness_info_number(c, "clients", "connected_clients") >= CONCURRENT_CLIENTS + 1);
    for (int i = 0; i < CONCURRENT_CLIENTS; i++)
        close(fds[i]);
    /* The server notices every hang-up. */
    assert_true(harness_wait_info_number(c, "clients", "connected_clients", 1, 5000));
    redisFree(c);
}

/* Reads one ":<n>\r\n" reply from a raw connection. */
static long long raw_read_integer(int fd)
{
    char line[64] = "";
    size_t len = 0;
    long long deadline = harness_now_ms() + 5000;
    while (len < sizeof(line) - 1 && harness_now_ms() < deadline) {
        if (raw_read(fd, line + len, 1, 5000, NULL) != 1)
            break;
        len++;
        if (len >= 2 && line[len - 2] == '\r' && line[len - 1] == '\n')
            break;
    }
    line[len] = '\0';
    if (line[0] != ':')
        fail_msg("expected an integer reply, got '%s'", line);
    return strtoll(line + 1, NULL, 10);
}

static void test_client_kill_closes_the_other_connection(void **state)
{
    int port = harness_port(*state);
    redisContext *killer = harness_connect(*state);

    int victim = raw_connect(port);
    raw_send_text(victim, "CLIENT ID\r\n");
    long long victim_id = raw_read_integer(victim);
    assert_true(victim_id > 0);
    expect_integer(killer, 1, "CLIENT KILL ID %lld", victim_id);
    assert_true(raw_wait_closed(victim, 3000));
    close(victim);
    expect_integer(killer, 0, "CLIENT KILL ID %lld", victim_id);
    expect_error(killer, "ERR client-id should be greater than 0", "CLIENT KILL ID 0");

    /* The old form takes the peer address, as CLIENT INFO shows it. */
    victim = raw_connect(port);
    struct sockaddr_in local;
    socklen_t local_len = sizeof(local);
    assert_int_equal(getsockname(victim, (struct sockaddr *)&local, &local_len), 0);
    raw_send_text(victim, "PING\r\n");
    char pong[8];
    assert_int_equal(raw_read(victim, pong, 7, 5000, NULL), 7);
    char address[64];
    snprintf(address, sizeof(address), "127.0.0.1:%d", ntohs(local.sin_port));
    expect_status(killer, "OK", "CLIENT KILL %s", address);
    assert_true(raw_wait_closed(victim, 3000));
    close(victim);
    expect_error(killer, "ERR No such client", "CLIENT KILL %s", address);

    expect_status(killer, "PONG", "PING");
    redisFree(killer);
}

static void test_client_reply_off_skip_on(void **state)
{
    int port = harness_port(*state);
    raw_expect_and_close(port,
                         "CLIENT REPLY OFF\r\nPING\r\nCLIENT REPLY SKIP\r\nPING\r\n"
                         "CLIENT REPLY ON\r\nPING\r\n",
                         "+OK\r\n+PONG\r\n");
    raw_expect_and_close(port, "CLIENT REPLY SKIP\r\nPING a\r\nPING b\r\n", "$1\r\nb\r\n");
    /* SKIP twice still skips only the next command. */
    raw_expect_and_close(port, "CLIENT REPLY SKIP\r\nCLIENT REPLY SKIP\r\nPING x\r\nPING y\r\n",
                         "$1\r\ny\r\n");
    /* SKIP while OFF changes nothing; ON replies. */
    raw_expect_and_close(port,
                         "CLIENT REPLY OFF\r\nCLIENT REPLY SKIP\r\nPING x\r\nCLIENT REPLY ON\r\n"
                         "PING y\r\n",
                         "+OK\r\n$1\r\ny\r\n");
    /* Suppressed replies include errors; the commands still run. */
    raw_expect_and_close(
        port,
        "CLIENT REPLY OFF\r\nNOSUCHCOMMAND\r\nSET net:quiet 1\r\nINCR net:quiet\r\n"
        "CLIENT REPLY ON\r\nGET net:quiet\r\n",
        "+OK\r\n$1\r\n2\r\n");
    raw_expect_and_close(port, "CLIENT REPLY MAYBE\r\n", "-ERR syntax error\r\n");

    /* The mode belongs to the connection, across separate reads. */
    int fd = raw_connect(port);
    raw_send_text(fd, "CLIENT REPLY OFF\r\n");
    sleep_us(20000);
    raw_send_text(fd, "SET net:quiet 5\r\n");
    assert_true(raw_nothing_more(fd, 50));
    raw_send_text(fd, "CLIENT REPLY ON\r\nGET net:quiet\r\n");
    char got[16];
    size_t n = raw_read(fd, got, 12, 5000, NULL);
    close(fd);
    assert_true(same_bytes("reply mode across reads", "+OK\r\n$1\r\n5\r\n", 12, got, n));
}

/* Redis: CLIENT REPLY ON always answers +OK, even as the command right
 * after CLIENT REPLY SKIP (ON clears the skip before replying). */
static void test_client_reply_on_right_after_skip_replies_ok(void **state)
{
    raw_expect_and_close(harness_port(*state), "CLIENT REPLY SKIP\r\nCLIENT REPLY ON\r\nPING c\r\n",
                         "+OK\r\n$1\r\nc\r\n");
}

static void test_unix_socket(void **state)
{
    char dir[] = "/tmp/rivet-unix-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof(path), "%s/r.sock", dir);
    const char *const args[] = {"--unixsocket", path, "--unixsocketperm", "700", NULL};
    harness_server *server = harness_start(args);

    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0700);

    struct timeval timeout = {5, 0};
    redisContext *c = redisConnectUnixWithTimeout(path, timeout);
    assert_non_null(c);
    if (c->err)
        fail_msg("redisConnectUnix %s: %s", path, c->errstr);
    redisSetTimeout(c, timeout);
    expect_status(c, "PONG", "PING");
    expect_status(c, "OK", "SET unix:k %s", "over a unix socket");
    expect_bulk(c, "over a unix socket", "GET unix:k");
    redisReply *info = harness_command(c, "CLIENT INFO");
    assert_int_equal(info->type, REDIS_REPLY_STRING);
    char want[96];
    snprintf(want, sizeof(want), "addr=%s:0 ", path);
    assert_non_null(strstr(info->str, want));
    assert_non_null(strstr(info->str, " flags=U "));
    freeReplyObject(info);
    redisReply *perm = harness_command(c, "CONFIG GET unixsocketperm");
    assert_int_equal(perm->type, REDIS_REPLY_ARRAY);
    assert_int_equal(perm->elements, 2);
    assert_string_equal(perm->element[1]->str, "700");
    freeReplyObject(perm);

    /* TCP still works alongside. */
    redisContext *tcp = harness_connect(server);
    expect_bulk(tcp, "over a unix socket", "GET unix:k");
    redisFree(tcp);
    redisFree(c);

    assert_int_equal(harness_stop(server), 0);
    /* A clean exit removes the socket file. */
    assert_int_equal(access(path, F_OK), -1);
    rmdir(dir);
}

static bool ipv6_loopback_available(void)
{
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in6 addr = {0};
    addr.sin6_family = AF_INET6;
    addr.sin6_addr = in6addr_loopback;
    bool ok = bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0;
    close(fd);
    return ok;
}

static void test_ipv6_loopback(void **state)
{
    if (!ipv6_loopback_available()) {
        print_message("no IPv6 loopback on this machine: skipped\n");
        skip();
    }
    const char *const args[] = {"--bind", "127.0.0.1", "::1", NULL};
    harness_server *server = harness_start(args);
    struct timeval timeout = {5, 0};
    redisContext *c = redisConnectWithTimeout("::1", harness_port(server), timeout);
    assert_non_null(c);
    if (c->err)
        fail_msg("connect [::1]:%d: %s", harness_port(server), c->errstr);
    redisSetTimeout(c, timeout);
    expect_status(c, "PONG", "PING");
    expect_status(c, "OK", "SET v6:k yes");
    redisContext *v4 = harness_connect(server);
    expect_bulk(v4, "yes", "GET v6:k");
    redisFree(v4);
    redisFree(c);
    assert_int_equal(harness_stop(server), 0);
}

/* Redis writes an IPv6 peer as [ip]:port (CLIENT LIST/INFO, CLIENT KILL
 * ADDR, the slow log), so the port stays separable from the address. */
static void test_ipv6_client_address_is_bracketed(void **state)
{
    if (!ipv6_loopback_available())
        skip();
    const char *const args[] = {"--bind", "127.0.0.1", "::1", NULL};
    harness_server *server = harness_start(args);
    struct timeval timeout = {5, 0};
    redisContext *c = redisConnectWithTimeout("::1", harness_port(server), timeout);
    assert_non_null(c);
    assert_int_equal(c->err, 0);
    redisSetTimeout(c, timeout);
    redisReply *info = harness_command(c, "CLIENT INFO");
    assert_int_equal(info->type, REDIS_REPLY_STRING);
    char laddr[64];
    snprintf(laddr, sizeof(laddr), " laddr=[::1]:%d ", harness_port(server));
    bool ok = strstr(info->str, " addr=[::1]:") != NULL && strstr(info->str, laddr) != NULL;
    if (!ok)
        print_error("CLIENT INFO over IPv6: %s\n", info->str);
    freeReplyObject(info);
    redisFree(c);
    assert_int_equal(harness_stop(server), 0);
    assert_true(ok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pipeline_of_10000_in_one_write),
        cmocka_unit_test(test_pipeline_sent_byte_by_byte),
        cmocka_unit_test(test_pipeline_split_at_every_boundary),
        cmocka_unit_test(test_10mb_value_in_small_chunks),
        cmocka_unit_test(test_inline_commands),
        cmocka_unit_test(test_protocol_errors_close_only_that_client),
        cmocka_unit_test(test_quit_replies_ok_then_closes),
        cmocka_unit_test(test_200_concurrent_connections),
        cmocka_unit_test(test_client_kill_closes_the_other_connection),
        cmocka_unit_test(test_client_reply_off_skip_on),
        cmocka_unit_test(test_client_reply_on_right_after_skip_replies_ok),
        cmocka_unit_test(test_unix_socket),
        cmocka_unit_test(test_ipv6_loopback),
        cmocka_unit_test(test_ipv6_client_address_is_bracketed),
    };
    return cmocka_run_group_tests(tests, server_setup, server_teardown);
}
