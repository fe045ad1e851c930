/* compat_runner: sends the same commands to real Redis and to Rivet and
 * compares the raw reply bytes, so every difference in framing, error text or
 * number formatting shows up. Plain POSIX sockets, no client library: a
 * library would hide exactly the differences this program exists to find.
 *
 * Usage:
 *   compat_runner --redis-server PATH --rivet-server PATH [options] script.txt...
 *   options: --redis-port N / --rivet-port N   use a server already listening
 *                                              on 127.0.0.1:N instead of starting one
 *            --timeout MS   how long to wait for one reply (default 3000)
 *            --verbose      print every command with the reference reply
 *
 * Both servers are started on free ports with --bind 127.0.0.1 --save ""
 * --appendonly no --enable-debug-command yes --daemonize no and a private
 * temp dir. Exit status: 0 all replies equal, 1 a mismatch or an abnormal
 * exit of a server, 2 a usage, script or startup error. The last line printed
 * is "compat: N passed, M failed" (N, M count commands).
 *
 * Script format, one item per line:
 *   SET k "two words"   a command; words split like redis-cli: "..." knows
 *                       \n \r \t \b \a \\ \" \xHH, '...' knows only \'
 *   # text              a comment (a line whose first non-blank is '#')
 *   @conn NAME          switch to the named connection, opening it on both
 *                       servers if needed; every script starts on "default"
 *   @sleep MS           pause
 *   @reconnect          close the current connection on both servers; the
 *                       next command opens a fresh one (after an incomplete
 *                       @raw request, so the next one starts clean)
 *   @flush              FLUSHALL on both (separate connection; not compared)
 *   @raw "b1" ["b2"..]  send raw bytes on the current connection, each word as
 *                       its own write 50 ms apart; compare everything received
 *                       until the server closes or 200 ms pass in silence
 *                       (500 ms if it has sent nothing at all)
 * Modifiers, applying to the next command (or @raw):
 *   @unordered          the reply's aggregates are compared as sorted
 *                       multisets, at every nesting level; a RESP3 map is
 *                       sorted by key-value pair
 *   @unordered-pairs    like @unordered, but the top-level array is a flat
 *                       list of pairs (RESP2 HGETALL, CONFIG GET patterns)
 *   @skip-compare       send to both, read the reply, do not compare
 *   @match-prefix N     compare only the first N bytes of the reply
 *   @replies N          the command answers with N frames (SUBSCRIBE a b)
 *   @scan-all           the command is SCAN/SSCAN/HSCAN/ZSCAN: follow the
 *                       cursor to 0 on each server separately and compare the
 *                       sorted, de-duplicated union of what was returned
 *   @send               send without reading; the reply is read (and
 *                       compared) by @await or by the next command on the
 *                       same connection, for blocking commands
 *   @await              read one reply left pending by @send on this connection
 * Each script starts with FLUSHALL on both servers and a fresh "default"
 * connection; configuration changed with CONFIG SET is not reset.
 * A RESP3 push frame ('>') counts as one reply. After QUIT's reply the runner
 * waits for the server to close the connection (and reports it if it does
 * not); a connection the server closed is reopened by the next command on it,
 * in the server's default state (db 0, RESP2, no name). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define START_TIMEOUT_MS 10000
#define STOP_TIMEOUT_MS  5000
#define START_ATTEMPTS   5
#define RAW_QUIET_MS     200
/* Silence before the first byte is given longer: a loaded machine (ASan, a
 * parallel ctest) may take a while to answer at all, and cutting that short
 * would make a script flaky. */
#define RAW_FIRST_BYTE_MS 500
#define RAW_CHUNK_GAP_MS  50
#define SCAN_MAX_CALLS    100000
#define REPORT_MAX_BYTES  2000
#define MAX_FRAME_DEPTH   64

/* ---------------------------------------------------------------------------
 * Small utilities: growable bytes, time, escaping. */

typedef struct bytes {
    char *data;
    size_t len;
    size_t cap;
} bytes;

static void *xrealloc(void *ptr, size_t size)
{
    void *grown = realloc(ptr, size ? size : 1);
    if (!grown) {
        fprintf(stderr, "compat: out of memory\n");
        exit(2);
    }
    return grown;
}

static void bytes_append(bytes *b, const void *data, size_t len)
{
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + len + 1)
            cap *= 2;
        b->data = xrealloc(b->data, cap);
        b->cap = cap;
    }
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

static void bytes_append_str(bytes *b, const char *s)
{
    bytes_append(b, s, strlen(s));
}

static void bytes_printf(bytes *b, const char *format, ...)
{
    char text[256];
    va_list ap;
    va_start(ap, format);
    int n = vsnprintf(text, sizeof(text), format, ap);
    va_end(ap);
    bytes_append(b, text, n < (int)sizeof(text) ? (size_t)n : sizeof(text) - 1);
}

static void bytes_clear(bytes *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

static void bytes_free(bytes *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* Drops the first n bytes (a consumed reply) from the front. */
static void bytes_consume(bytes *b, size_t n)
{
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
    b->data[b->len] = '\0';
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

/* Makes bytes readable on one line: CR/LF/TAB as \r \n \t, other
 * non-printables as \xHH; long replies are cut with a note of the size. */
static void escape_into(bytes *out, const char *data, size_t len)
{
    size_t shown = len > REPORT_MAX_BYTES ? REPORT_MAX_BYTES : len;
    for (size_t i = 0; i < shown; i++) {
        unsigned char ch = (unsigned char)data[i];
        if (ch == '\r')
            bytes_append_str(out, "\\r");
        else if (ch == '\n')
            bytes_append_str(out, "\\n");
        else if (ch == '\t')
            bytes_append_str(out, "\\t");
        else if (ch == '\\')
            bytes_append_str(out, "\\\\");
        else if (ch >= 32 && ch < 127)
            bytes_append(out, &data[i], 1);
        else
            bytes_printf(out, "\\x%02x", ch);
    }
    if (shown < len)
        bytes_printf(out, "... (%zu bytes in all)", len);
}

/* ---------------------------------------------------------------------------
 * RESP framing: where does one reply end? Knows RESP2 and every RESP3 type. */

enum { FRAME_INCOMPLETE = 0, FRAME_MALFORMED = -1 };

/* Position just past the CRLF of the line starting at p, or NULL if the
 * buffer holds no complete line yet. */
static const char *line_end(const char *p, const char *end)
{
    for (const char *q = p; q + 1 < end; q++) {
        if (q[0] == '\r' && q[1] == '\n')
            return q + 2;
    }
    return NULL;
}

static bool parse_line_number(const char *start, const char *crlf, long long *out)
{
    char text[32];
    size_t len = (size_t)(crlf - start);
    if (len == 0 || len >= sizeof(text))
        return false;
    memcpy(text, start, len);
    text[len] = '\0';
    char *stop;
    errno = 0;
    *out = strtoll(text, &stop, 10);
    return errno == 0 && *stop == '\0';
}

/* Length of the complete frame at p, FRAME_INCOMPLETE if more bytes are
 * needed, or FRAME_MALFORMED if this is not RESP. */
static long long frame_length(const char *p, const char *end, int depth)
{
    if (depth > MAX_FRAME_DEPTH)
        return FRAME_MALFORMED;
    if (p >= end)
        return FRAME_INCOMPLETE;
    const char *after = line_end(p, end);
    if (!after)
        return FRAME_INCOMPLETE;
    long long n;
    switch (p[0]) {
    case '+':
    case '-':
    case ':':
    case '_':
    case '#':
    case ',':
    case '(':
        return after - p;
    case '$':
    case '!':
    case '=':
        if (!parse_line_number(p + 1, after - 2, &n) || n < -1)
            return FRAME_MALFORMED;
        if (n == -1)
            return after - p;
        if (end - after < n + 2)
            return FRAME_INCOMPLETE;
        if (after[n] != '\r' || after[n + 1] != '\n')
            return FRAME_MALFORMED;
        return (after - p) + n + 2;
    case '*':
    case '~':
    case '>':
    case '%':
    case '|': {
        if (!parse_line_number(p + 1, after - 2, &n) || n < -1)
            return FRAME_MALFORMED;
        if (n == -1)
            return after - p;
        long long children = (p[0] == '%' || p[0] == '|') ? n * 2 : n;
        const char *q = after;
        for (long long i = 0; i < children; i++) {
            long long child = frame_length(q, end, depth + 1);
            if (child <= 0)
                return child;
            q += child;
        }
        if (p[0] == '|') {
            /* An attribute decorates the reply that follows it: one unit. */
            long long decorated = frame_length(q, end, depth + 1);
            if (decorated <= 0)
                return decorated;
            q += decorated;
        }
        return q - p;
    }
    default:
        return FRAME_MALFORMED;
    }
}

/* For @unordered: rebuilds a frame with the children of every aggregate in
 * sorted order (maps and pair lists sorted by pair), so two replies holding
 * the same elements in different orders become byte-identical. */
typedef struct piece {
    bytes text;
} piece;

static int piece_compare(const void *a, const void *b)
{
    const bytes *x = &((const piece *)a)->text, *y = &((const piece *)b)->text;
    size_t common = x->len < y->len ? x->len : y->len;
    int order = memcmp(x->data, y->data, common);
    if (order != 0)
        return order;
    return x->len < y->len ? -1 : x->len > y->len;
}

static void canonical_frame(const char *p, size_t len, bool pairs, bytes *out)
{
    const char *end = p + len;
    char type = p[0];
    bool aggregate = type == '*' || type == '~' || type == '>' || type == '%';
    const char *after = line_end(p, end);
    long long n = 0;
    if (!aggregate || !after || !parse_line_number(p + 1, after - 2, &n) || n <= 0) {
        bytes_append(out, p, len);
        return;
    }
    size_t group = (type == '%' || pairs) ? 2 : 1;
    long long children = type == '%' ? n * 2 : n;
    if (children % (long long)group != 0)
        group = 1;
    size_t count = (size_t)children / group;
    piece *pieces = calloc(count, sizeof(piece));
    const char *q = after;
    for (size_t i = 0; i < count; i++) {
        for (size_t g = 0; g < group; g++) {
            long long child = frame_length(q, end, 0);
            if (child <= 0) { /* cannot happen on a frame we already measured */
                bytes_append(out, p, len);
                for (size_t j = 0; j <= i; j++)
                    bytes_free(&pieces[j].text);
                free(pieces);
                return;
            }
            canonical_frame(q, (size_t)child, false, &pieces[i].text);
            q += child;
        }
    }
    qsort(pieces, count, sizeof(piece), piece_compare);
    bytes_append(out, p, (size_t)(after - p));
    for (size_t i = 0; i < count; i++) {
        bytes_append(out, pieces[i].text.data, pieces[i].text.len);
        bytes_free(&pieces[i].text);
    }
    free(pieces);
}

/* ---------------------------------------------------------------------------
 * Servers: the reference (real Redis) and the one under test (Rivet). */

typedef struct server {
    const char *label;  /* "redis" or "rivet", used in reports */
    const char *binary; /* NULL when attaching to --*-port */
    int port;
    pid_t pid; /* 0 when not started by us */
    bool reaped;
    int wait_status;
    bool down_reported;
    int timeouts_in_a_row; /* a hung server must not cost --timeout per command */
    char dir[PATH_MAX];
    char log_path[PATH_MAX + 16];
} server;

static int find_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd == -1)
        return -1;
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t addr_len = sizeof(addr);
    int port = -1;
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0 &&
        getsockname(fd, (struct sockaddr *)&addr, &addr_len) == 0)
        port = ntohs(addr.sin_port);
    close(fd);
    return port;
}

static int connect_port(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd == -1)
        return -1;
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons((uint16_t)port);
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == -1) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static bool server_reap(server *s, bool block)
{
    if (s->pid <= 0 || s->reaped)
        return s->reaped;
    int status;
    pid_t got;
    do {
        got = waitpid(s->pid, &status, block ? 0 : WNOHANG);
    } while (got == -1 && errno == EINTR);
    if (got == s->pid) {
        s->reaped = true;
        s->wait_status = status;
    }
    return s->reaped;
}

static void server_print_log(const server *s)
{
    if (s->pid <= 0)
        return;
    FILE *log = fopen(s->log_path, "rb");
    if (!log)
        return;
    fseek(log, 0, SEEK_END);
    long size = ftell(log);
    long start = size > 16384 ? size - 16384 : 0;
    fseek(log, start, SEEK_SET);
    fprintf(stderr, "---- %s log %s%s ----\n", s->label, s->log_path,
            start ? " (last 16 KiB)" : "");
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof(chunk), log)) > 0)
        fwrite(chunk, 1, got, stderr);
    fprintf(stderr, "---- end of %s log ----\n", s->label);
    fclose(log);
}

static pid_t server_spawn(server *s)
{
    char port_text[16];
    snprintf(port_text, sizeof(port_text), "%d", s->port);
    char *argv[] = {(char *)s->binary,
                    "--port",
                    port_text,
                    "--bind",
                    "127.0.0.1",
                    "--dir",
                    s->dir,
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--enable-debug-command",
                    "yes",
                    "--daemonize",
                    "no",
                    NULL};
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        int log_fd = open(s->log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        int null_fd = open("/dev/null", O_RDONLY);
        if (log_fd == -1 || null_fd == -1)
            _exit(126);
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the runner */
        if (getppid() != parent)
            _exit(125);
        dup2(null_fd, STDIN_FILENO);
        dup2(log_fd, STDOUT_FILENO);
        dup2(log_fd, STDERR_FILENO);
        execvp(argv[0], argv);
        dprintf(STDERR_FILENO, "compat: cannot exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

/* One PING over a fresh socket; true on +PONG. */
static bool server_answers_ping(int port)
{
    int fd = connect_port(port);
    if (fd == -1)
        return false;
    static const char ping[] = "*1\r\n$4\r\nPING\r\n";
    bool ok = false;
    if (send(fd, ping, sizeof(ping) - 1, MSG_NOSIGNAL) == (ssize_t)(sizeof(ping) - 1)) {
        char reply[16] = {0};
        size_t got = 0;
        long long deadline = now_ms() + 500;
        while (got < 7 && now_ms() < deadline) {
            struct pollfd pfd = {fd, POLLIN, 0};
            if (poll(&pfd, 1, 50) <= 0)
                continue;
            ssize_t n = recv(fd, reply + got, sizeof(reply) - 1 - got, 0);
            if (n <= 0)
                break;
            got += (size_t)n;
        }
        ok = got >= 7 && memcmp(reply, "+PONG\r\n", 7) == 0;
    }
    close(fd);
    return ok;
}

static bool server_start(server *s)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(s->dir, sizeof(s->dir), "%s/rivet-compat-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp",
             s->label);
    if (!mkdtemp(s->dir)) {
        fprintf(stderr, "compat: cannot create a temp dir: %s\n", strerror(errno));
        return false;
    }
    snprintf(s->log_path, sizeof(s->log_path), "%s/server.log", s->dir);

    for (int attempt = 0; attempt < START_ATTEMPTS; attempt++) {
        s->port = find_free_port();
        s->reaped = false;
        s->pid = s->port > 0 ? server_spawn(s) : -1;
        if (s->pid <= 0)
            continue;
        long long deadline = now_ms() + START_TIMEOUT_MS;
        while (now_ms() < deadline && !server_reap(s, false)) {
            if (server_answers_ping(s->port) && !server_reap(s, false))
                return true;
            sleep_ms(20);
        }
        if (!s->reaped) {
            fprintf(stderr, "compat: %s (%s) did not answer PING within 10 s\n", s->label,
                    s->binary);
            kill(s->pid, SIGKILL);
            server_reap(s, true);
            break;
        }
        /* Exited during startup: most likely someone took the port. */
    }
    fprintf(stderr, "compat: cannot start %s (%s)\n", s->label, s->binary);
    server_print_log(s);
    return false;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    remove(path);
    return 0;
}

/* SIGTERM, then SIGKILL after 5 s. Returns false if the server did not exit
 * cleanly (a crash, a sanitizer report, a hang) — that is a failure too. */
static bool server_stop(server *s)
{
    if (s->pid <= 0)
        return true;
    bool clean = true;
    if (!s->reaped) {
        kill(s->pid, SIGTERM);
        long long deadline = now_ms() + STOP_TIMEOUT_MS;
        while (!server_reap(s, false) && now_ms() < deadline)
            sleep_ms(10);
        if (!s->reaped) {
            fprintf(stderr, "compat: %s did not exit within 5 s of SIGTERM; killed\n", s->label);
            kill(s->pid, SIGKILL);
            server_reap(s, true);
            clean = false;
        }
    }
    if (clean && WIFSIGNALED(s->wait_status)) {
        fprintf(stderr, "compat: %s died by signal %d (%s)\n", s->label, WTERMSIG(s->wait_status),
                strsignal(WTERMSIG(s->wait_status)));
        clean = false;
    } else if (clean && WIFEXITED(s->wait_status) && WEXITSTATUS(s->wait_status) != 0) {
        fprintf(stderr, "compat: %s exited with status %d\n", s->label,
                WEXITSTATUS(s->wait_status));
        clean = false;
    }
    if (!clean && !s->down_reported)
        server_print_log(s);
    nftw(s->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return clean;
}

/* Called when a connection cannot be made: says once that the server died. */
static void server_check_alive(server *s)
{
    if (s->pid > 0 && !s->down_reported && server_reap(s, false)) {
        s->down_reported = true;
        fprintf(stderr, "compat: %s is no longer running\n", s->label);
        server_print_log(s);
    }
}

/* ---------------------------------------------------------------------------
 * Connections and replies. */

enum { SIDE_REDIS = 0, SIDE_RIVET = 1, SIDES = 2 };

typedef struct conn {
    int fd; /* -1 when not connected (never opened, or closed by the server) */
    bytes in;
    server *owner; /* set when connected */
} conn;

/* What one side answered: the bytes, and how the read ended. */
typedef enum {
    REPLY_OK,
    REPLY_CLOSED,    /* the server closed the connection (before a full frame) */
    REPLY_TIMEOUT,   /* nothing complete within --timeout */
    REPLY_MALFORMED, /* bytes that are not RESP */
    REPLY_NO_SERVER, /* could not connect or send */
} reply_status;

typedef struct reply {
    bytes data;
    reply_status status;
} reply;

static const char *reply_status_note(reply_status status)
{
    switch (status) {
    case REPLY_OK:
        return "";
    case REPLY_CLOSED:
        return " (connection closed)";
    case REPLY_TIMEOUT:
        return " (timeout: no complete reply)";
    case REPLY_MALFORMED:
        return " (not valid RESP)";
    case REPLY_NO_SERVER:
        return " (cannot reach the server)";
    }
    return "";
}

static int reply_timeout_ms = 3000;

/* After this many timeouts in a row a server is taken to be hung, and each
 * further read waits only STALLED_TIMEOUT_MS until it answers again. */
#define STALLED_AFTER      3
#define STALLED_TIMEOUT_MS 200

static void conn_close(conn *c)
{
    if (c->fd != -1)
        close(c->fd);
    c->fd = -1;
    bytes_clear(&c->in);
}

/* True if the server has closed this connection (after QUIT, a protocol
 * error, a kill) and nothing unread is left on it. */
static bool conn_peer_closed(conn *c)
{
    struct pollfd pfd = {c->fd, POLLRDHUP, 0};
    if (poll(&pfd, 1, 0) <= 0 || !(pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)))
        return false;
    char probe;
    return recv(c->fd, &probe, 1, MSG_PEEK | MSG_DONTWAIT) <= 0;
}

/* Connects if needed. A connection the server has closed is reopened: the
 * new one starts in the server's default state (db 0, RESP2, no name). */
static bool conn_ensure(conn *c, server *s)
{
    if (c->fd != -1 && c->in.len == 0 && conn_peer_closed(c))
        conn_close(c);
    if (c->fd != -1)
        return true;
    bytes_clear(&c->in);
    c->owner = s;
    c->fd = connect_port(s->port);
    if (c->fd == -1)
        server_check_alive(s);
    return c->fd != -1;
}

static bool conn_send(conn *c, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t sent = send(c->fd, data, len, MSG_NOSIGNAL);
        if (sent == -1 && errno == EINTR)
            continue;
        if (sent == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd pfd = {c->fd, POLLOUT, 0};
            poll(&pfd, 1, 100);
            continue;
        }
        if (sent <= 0)
            return false;
        data += sent;
        len -= (size_t)sent;
    }
    return true;
}

/* Reads more bytes into c->in, waiting until the deadline. Returns >0 on
 * data, 0 on EOF, -1 on timeout or error. */
static int conn_fill(conn *c, long long deadline)
{
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0)
            return -1;
        struct pollfd pfd = {c->fd, POLLIN, 0};
        int ready = poll(&pfd, 1, (int)left);
        if (ready == -1 && errno == EINTR)
            continue;
        if (ready <= 0)
            return -1;
        char chunk[16384];
        ssize_t got = recv(c->fd, chunk, sizeof(chunk), 0);
        if (got == -1 && errno == EINTR)
            continue;
        if (got == -1 && errno == ECONNRESET)
            return 0;
        if (got < 0)
            return -1;
        if (got > 0)
            bytes_append(&c->in, chunk, (size_t)got);
        return (int)(got > 0);
    }
}

/* Reads exactly one RESP frame. On anything but REPLY_OK the connection is
 * closed: its stream can no longer be trusted to line up with commands. */
static void conn_read_frame(conn *c, reply *out)
{
    bytes_clear(&out->data);
    if (c->fd == -1) {
        out->status = REPLY_CLOSED;
        return;
    }
    server *s = c->owner;
    bool stalled = s && s->timeouts_in_a_row >= STALLED_AFTER;
    long long deadline = now_ms() + (stalled ? STALLED_TIMEOUT_MS : reply_timeout_ms);
    for (;;) {
        long long len = frame_length(c->in.data, c->in.data + c->in.len, 0);
        if (len > 0) {
            bytes_append(&out->data, c->in.data, (size_t)len);
            bytes_consume(&c->in, (size_t)len);
            out->status = REPLY_OK;
            if (s)
                s->timeouts_in_a_row = 0;
            return;
        }
        if (len == FRAME_MALFORMED) {
            out->status = REPLY_MALFORMED;
            break;
        }
        int got = conn_fill(c, deadline);
        if (got <= 0) {
            out->status = got == 0 ? REPLY_CLOSED : REPLY_TIMEOUT;
            break;
        }
    }
    if (out->status == REPLY_TIMEOUT && s && ++s->timeouts_in_a_row == STALLED_AFTER)
        fprintf(stderr,
                "compat: %s timed out %d times in a row; waiting %d ms per reply until it "
                "answers again\n",
                s->label, STALLED_AFTER, STALLED_TIMEOUT_MS);
    bytes_append(&out->data, c->in.data, c->in.len); /* what did arrive */
    conn_close(c);
}

/* After QUIT's reply: waits for the server to close the connection, so the
 * next command cannot race the close, and records whether it did. */
static void conn_await_close(conn *c, reply *out)
{
    long long deadline = now_ms() + reply_timeout_ms;
    while (c->fd != -1) {
        int got = conn_fill(c, deadline);
        if (got == 0) {
            out->status = REPLY_CLOSED;
            conn_close(c);
            return;
        }
        if (got < 0)
            return; /* still open: reported as a difference from Redis */
        /* Bytes after the reply are kept in c->in; they also differ. */
        bytes_append(&out->data, c->in.data, c->in.len);
        bytes_clear(&c->in);
    }
}

/* For @raw: everything both servers send until each closes its connection or
 * stays silent for RAW_QUIET_MS (RAW_FIRST_BYTE_MS while it has sent nothing
 * yet). Both are watched together so the quiet
 * periods overlap instead of adding up. */
static void conn_collect_both(conn *conns[SIDES], reply out[SIDES])
{
    bool done[SIDES];
    long long last_data[SIDES];
    long long hard_deadline = now_ms() + reply_timeout_ms + RAW_FIRST_BYTE_MS;
    for (int i = 0; i < SIDES; i++) {
        bytes_clear(&out[i].data);
        bytes_append(&out[i].data, conns[i]->in.data, conns[i]->in.len);
        bytes_clear(&conns[i]->in);
        out[i].status = conns[i]->fd == -1 ? REPLY_CLOSED : REPLY_OK;
        done[i] = conns[i]->fd == -1;
        last_data[i] = now_ms();
    }
    while (!(done[0] && done[1]) && now_ms() < hard_deadline) {
        struct pollfd pfds[SIDES];
        int map[SIDES], watched = 0;
        long long wait = RAW_FIRST_BYTE_MS;
        for (int i = 0; i < SIDES; i++) {
            if (done[i])
                continue;
            long long quiet = out[i].data.len ? RAW_QUIET_MS : RAW_FIRST_BYTE_MS;
            long long left = last_data[i] + quiet - now_ms();
            if (left <= 0) {
                done[i] = true; /* quiet long enough: the answer is complete */
                continue;
            }
            if (left < wait)
                wait = left;
            pfds[watched] = (struct pollfd){conns[i]->fd, POLLIN, 0};
            map[watched++] = i;
        }
        if (watched == 0)
            break;
        int ready = poll(pfds, (nfds_t)watched, (int)wait);
        if (ready == -1 && errno == EINTR)
            continue;
        for (int w = 0; ready > 0 && w < watched; w++) {
            if (!(pfds[w].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            int i = map[w];
            char chunk[16384];
            ssize_t got = recv(conns[i]->fd, chunk, sizeof(chunk), 0);
            if (got > 0) {
                bytes_append(&out[i].data, chunk, (size_t)got);
                last_data[i] = now_ms();
            } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
                out[i].status = REPLY_CLOSED;
                done[i] = true;
                conn_close(conns[i]);
            }
        }
    }
}

/* ---------------------------------------------------------------------------
 * Script parsing. */

typedef struct word {
    char *data;
    size_t len;
} word;

typedef struct words {
    word *items;
    size_t count;
} words;

static void words_free(words *w)
{
    for (size_t i = 0; i < w->count; i++)
        free(w->items[i].data);
    free(w->items);
    w->items = NULL;
    w->count = 0;
}

static int hex_value(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch = (char)tolower((unsigned char)ch);
    return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* Splits a line the way redis-cli does. Returns NULL on success, or what is
 * wrong with the line. */
static const char *split_words_into(const char *line, words *out)
{
    const char *p = line;
    out->items = NULL;
    out->count = 0;
    for (;;) {
        while (*p && isspace((unsigned char)*p))
            p++;
        if (!*p)
            return NULL;
        bytes current = {0};
        bytes_append(&current, "", 0);
        char quote = 0;
        for (;;) {
            char ch = *p;
            if (quote == '"') {
                if (!ch) {
                    bytes_free(&current);
                    return "unbalanced double quote";
                }
                if (ch == '\\' && p[1] == 'x' && hex_value(p[2]) >= 0 && hex_value(p[3]) >= 0) {
                    char byte = (char)(hex_value(p[2]) * 16 + hex_value(p[3]));
                    bytes_append(&current, &byte, 1);
                    p += 4;
                    continue;
                }
                if (ch == '\\' && p[1]) {
                    char escaped = p[1];
                    switch (escaped) {
                    case 'n':
                        escaped = '\n';
                        break;
                    case 'r':
                        escaped = '\r';
                        break;
                    case 't':
                        escaped = '\t';
                        break;
                    case 'b':
                        escaped = '\b';
                        break;
                    case 'a':
                        escaped = '\a';
                        break;
                    default:
                        break;
                    }
                    bytes_append(&current, &escaped, 1);
                    p += 2;
                    continue;
                }
                if (ch == '"') {
                    p++;
                    if (*p && !isspace((unsigned char)*p)) {
                        bytes_free(&current);
                        return "closing quote must be followed by a space";
                    }
                    break;
                }
                bytes_append(&current, p++, 1);
            } else if (quote == '\'') {
                if (!ch) {
                    bytes_free(&current);
                    return "unbalanced single quote";
                }
                if (ch == '\\' && p[1] == '\'') {
                    bytes_append(&current, "'", 1);
                    p += 2;
                    continue;
                }
                if (ch == '\'') {
                    p++;
                    if (*p && !isspace((unsigned char)*p)) {
                        bytes_free(&current);
                        return "closing quote must be followed by a space";
                    }
                    break;
                }
                bytes_append(&current, p++, 1);
            } else {
                if (!ch || isspace((unsigned char)ch))
                    break;
                if (ch == '"' || ch == '\'') {
                    quote = ch;
                    p++;
                    continue;
                }
                bytes_append(&current, p++, 1);
            }
        }
        out->items = xrealloc(out->items, (out->count + 1) * sizeof(word));
        out->items[out->count].data = current.data;
        out->items[out->count].len = current.len;
        out->count++;
    }
}

/* On error nothing is left allocated in out. */
static const char *split_words(const char *line, words *out)
{
    const char *problem = split_words_into(line, out);
    if (problem)
        words_free(out);
    return problem;
}

static void words_to_resp(const words *w, bytes *out)
{
    bytes_clear(out);
    bytes_printf(out, "*%zu\r\n", w->count);
    for (size_t i = 0; i < w->count; i++) {
        bytes_printf(out, "$%zu\r\n", w->items[i].len);
        bytes_append(out, w->items[i].data, w->items[i].len);
        bytes_append_str(out, "\r\n");
    }
}

/* ---------------------------------------------------------------------------
 * Comparing and reporting. */

typedef enum {
    COMPARE_EXACT,
    COMPARE_SKIP,
    COMPARE_UNORDERED,
    COMPARE_UNORDERED_PAIRS,
    COMPARE_PREFIX,
} compare_mode;

/* Modifiers collected from @-lines for the next command. */
typedef struct expectation {
    compare_mode mode;
    size_t prefix_len;
    int reply_count;
    bool scan_all;
    bool send_only;
    bool closes; /* QUIT: after the reply the server must close the connection */
} expectation;

static const expectation plain_expectation = {COMPARE_EXACT, 0, 1, false, false, false};

/* A command sent with @send whose reply has not been read yet. */
typedef struct pending {
    char *text; /* "file:line: COMMAND" for reports */
    expectation expect;
    struct pending *next;
} pending;

typedef struct named_conn {
    char *name;
    conn sides[SIDES];
    pending *queue_head, *queue_tail;
    struct named_conn *next;
} named_conn;

typedef struct run_state {
    server *servers[SIDES];
    conn control[SIDES]; /* for FLUSHALL between scripts and @flush */
    named_conn *conns;
    named_conn *current;
    long passed;
    long failed;
    long skipped;
    bool verbose;
} run_state;

static void reply_view(const reply *r, const expectation *e, bytes *out)
{
    bytes_clear(out);
    if (e->mode == COMPARE_UNORDERED || e->mode == COMPARE_UNORDERED_PAIRS) {
        if (r->status == REPLY_OK && r->data.len > 0)
            canonical_frame(r->data.data, r->data.len, e->mode == COMPARE_UNORDERED_PAIRS, out);
        else
            bytes_append(out, r->data.data ? r->data.data : "", r->data.len);
    } else if (e->mode == COMPARE_PREFIX) {
        size_t len = r->data.len < e->prefix_len ? r->data.len : e->prefix_len;
        bytes_append(out, r->data.data ? r->data.data : "", len);
    } else {
        bytes_append(out, r->data.data ? r->data.data : "", r->data.len);
    }
}

static void print_reply_line(const char *label, const reply *r)
{
    bytes text = {0};
    escape_into(&text, r->data.data ? r->data.data : "", r->data.len);
    printf("  %s: %s%s\n", label, text.data ? text.data : "", reply_status_note(r->status));
    bytes_free(&text);
}

/* Compares one reply pair under the expectation and records the verdict. */
static void judge(run_state *run, const char *what, const expectation *e, reply replies[SIDES])
{
    if (run->verbose) {
        printf("%s\n", what);
        print_reply_line(run->servers[SIDE_REDIS]->label, &replies[SIDE_REDIS]);
    }
    if (e->mode == COMPARE_SKIP) {
        run->passed++;
        run->skipped++;
        return;
    }
    bytes views[SIDES] = {{0}, {0}};
    for (int i = 0; i < SIDES; i++)
        reply_view(&replies[i], e, &views[i]);
    bool equal = replies[0].status == replies[1].status && views[0].len == views[1].len &&
                 memcmp(views[0].data ? views[0].data : "", views[1].data ? views[1].data : "",
                        views[0].len) == 0;
    bytes_free(&views[0]);
    bytes_free(&views[1]);
    if (equal) {
        run->passed++;
        return;
    }
    run->failed++;
    if (!run->verbose)
        printf("%s\n", what);
    const char *how = e->mode == COMPARE_UNORDERED         ? " (compared unordered)"
                      : e->mode == COMPARE_UNORDERED_PAIRS ? " (compared as unordered pairs)"
                      : e->mode == COMPARE_PREFIX          ? " (compared by prefix)"
                                                           : "";
    printf("  MISMATCH%s\n", how);
    print_reply_line(run->servers[SIDE_REDIS]->label, &replies[SIDE_REDIS]);
    print_reply_line(run->servers[SIDE_RIVET]->label, &replies[SIDE_RIVET]);
}

/* ---------------------------------------------------------------------------
 * Executing a script. */

static named_conn *conn_find_or_add(run_state *run, const char *name)
{
    for (named_conn *nc = run->conns; nc; nc = nc->next) {
        if (strcmp(nc->name, name) == 0)
            return nc;
    }
    named_conn *nc = calloc(1, sizeof(*nc));
    nc->name = strdup(name);
    for (int i = 0; i < SIDES; i++)
        nc->sides[i].fd = -1;
    nc->next = run->conns;
    run->conns = nc;
    return nc;
}

static void reply_free(reply replies[SIDES])
{
    for (int i = 0; i < SIDES; i++)
        bytes_free(&replies[i].data);
}

/* Reads and judges the frames of one command on both sides. */
static void read_and_judge(run_state *run, named_conn *nc, const char *what, const expectation *e)
{
    for (int n = 0; n < e->reply_count; n++) {
        reply replies[SIDES] = {{{0}, REPLY_OK}, {{0}, REPLY_OK}};
        for (int i = 0; i < SIDES; i++) {
            conn_read_frame(&nc->sides[i], &replies[i]);
            if (e->closes && replies[i].status == REPLY_OK)
                conn_await_close(&nc->sides[i], &replies[i]);
        }
        if (e->reply_count > 1) {
            char numbered[1200];
            snprintf(numbered, sizeof(numbered), "%s [reply %d of %d]", what, n + 1,
                     e->reply_count);
            judge(run, numbered, e, replies);
        } else {
            judge(run, what, e, replies);
        }
        reply_free(replies);
    }
}

static void drain_one_pending(run_state *run, named_conn *nc)
{
    pending *p = nc->queue_head;
    nc->queue_head = p->next;
    if (!nc->queue_head)
        nc->queue_tail = NULL;
    read_and_judge(run, nc, p->text, &p->expect);
    free(p->text);
    free(p);
}

static void drain_all_pending(run_state *run, named_conn *nc)
{
    while (nc->queue_head)
        drain_one_pending(run, nc);
}

/* Opens the connection on both sides if needed. A side that cannot connect
 * is answered with REPLY_NO_SERVER instead of sending. */
static void connect_both(run_state *run, named_conn *nc, bool ok[SIDES])
{
    for (int i = 0; i < SIDES; i++)
        ok[i] = conn_ensure(&nc->sides[i], run->servers[i]);
}

static void describe_words(const char *file, int line_no, const words *w, char *out, size_t cap)
{
    bytes text = {0};
    bytes_printf(&text, "%s:%d: ", file, line_no);
    for (size_t i = 0; i < w->count; i++) {
        if (i)
            bytes_append_str(&text, " ");
        escape_into(&text, w->items[i].data, w->items[i].len);
    }
    snprintf(out, cap, "%s", text.data);
    bytes_free(&text);
}

static void run_command(run_state *run, const char *what, const words *w, const expectation *given)
{
    named_conn *nc = run->current;
    expectation adjusted = *given;
    adjusted.closes = w->items[0].len == 4 && strncasecmp(w->items[0].data, "QUIT", 4) == 0;
    const expectation *e = &adjusted;
    bool ok[SIDES];
    connect_both(run, nc, ok);
    bytes resp = {0};
    words_to_resp(w, &resp);
    for (int i = 0; i < SIDES; i++) {
        if (ok[i] && !conn_send(&nc->sides[i], resp.data, resp.len)) {
            conn_close(&nc->sides[i]);
            ok[i] = false;
        }
    }
    bytes_free(&resp);

    if (!ok[0] || !ok[1]) {
        /* One side is unreachable: the command cannot be judged normally. */
        drain_all_pending(run, nc);
        reply replies[SIDES] = {{{0}, REPLY_NO_SERVER}, {{0}, REPLY_NO_SERVER}};
        for (int i = 0; i < SIDES; i++) {
            if (ok[i])
                conn_read_frame(&nc->sides[i], &replies[i]);
        }
        expectation strict = *e;
        if (strict.mode == COMPARE_SKIP)
            strict.mode = COMPARE_EXACT;
        judge(run, what, &strict, replies);
        reply_free(replies);
        return;
    }

    if (e->send_only) {
        pending *p = calloc(1, sizeof(*p));
        p->text = strdup(what);
        p->expect = *e;
        p->expect.send_only = false;
        if (nc->queue_tail)
            nc->queue_tail->next = p;
        else
            nc->queue_head = p;
        nc->queue_tail = p;
        return;
    }
    drain_all_pending(run, nc);
    read_and_judge(run, nc, what, e);
}

/* The cursor's position in SCAN-family commands. */
static size_t scan_cursor_index(const words *w)
{
    if (w->count >= 2 && w->items[0].len == 4 && strncasecmp(w->items[0].data, "SCAN", 4) == 0)
        return 1;
    return 2; /* SSCAN / HSCAN / ZSCAN key cursor ... */
}

static bool scan_returns_pairs(const words *w)
{
    return w->items[0].len == 5 && (strncasecmp(w->items[0].data, "HSCAN", 5) == 0 ||
                                    strncasecmp(w->items[0].data, "ZSCAN", 5) == 0);
}

/* One SCAN page: *2, the cursor as a bulk string, then an array (or a RESP3
 * set) of elements. */
typedef struct scan_page {
    const char *cursor;
    size_t cursor_len;
    const char *elements; /* the first element frame */
    long long count;      /* how many element frames */
    const char *end;
} scan_page;

static bool scan_page_parse(const bytes *page, scan_page *out)
{
    const char *p = page->data, *end = p + page->len;
    if (page->len < 4 || memcmp(p, "*2\r\n", 4) != 0)
        return false;
    const char *cursor_frame = p + 4;
    if (cursor_frame >= end || cursor_frame[0] != '$')
        return false;
    long long cursor_frame_len = frame_length(cursor_frame, end, 0);
    if (cursor_frame_len <= 0)
        return false;
    out->cursor = line_end(cursor_frame, end);
    out->cursor_len = (size_t)(cursor_frame + cursor_frame_len - 2 - out->cursor);
    const char *list = cursor_frame + cursor_frame_len;
    if (list >= end || (list[0] != '*' && list[0] != '~'))
        return false;
    out->elements = line_end(list, end);
    out->end = end;
    return out->elements && parse_line_number(list + 1, out->elements - 2, &out->count) &&
           out->count >= 0 && out->cursor_len < 64;
}

/* Follows the cursor on one side and leaves in out the sorted, de-duplicated
 * union as one array frame; or the first reply that was not a scan page
 * (an error, say), so errors are still compared byte for byte. */
static void scan_collect(run_state *run, named_conn *nc, int side, const words *original,
                         bool pairs, reply *out)
{
    words w = {xrealloc(NULL, original->count * sizeof(word)), original->count};
    for (size_t i = 0; i < w.count; i++)
        w.items[i] = original->items[i];
    size_t cursor_at = scan_cursor_index(original);
    char cursor[64];
    snprintf(cursor, sizeof(cursor), "%.*s", (int)original->items[cursor_at].len,
             original->items[cursor_at].data);

    piece *elements = NULL;
    size_t element_count = 0;
    bytes resp = {0};
    bytes_clear(&out->data);
    out->status = REPLY_OK;
    conn *c = &nc->sides[side];
    for (int call = 0; call < SCAN_MAX_CALLS; call++) {
        w.items[cursor_at].data = cursor;
        w.items[cursor_at].len = strlen(cursor);
        words_to_resp(&w, &resp);
        if (!conn_ensure(c, run->servers[side]) || !conn_send(c, resp.data, resp.len)) {
            out->status = REPLY_NO_SERVER;
            break;
        }
        reply page = {{0}, REPLY_OK};
        conn_read_frame(c, &page);
        scan_page parsed;
        if (page.status != REPLY_OK || !scan_page_parse(&page.data, &parsed)) {
            *out = page; /* an error or an unexpected shape: compare it as is */
            break;
        }
        snprintf(cursor, sizeof(cursor), "%.*s", (int)parsed.cursor_len, parsed.cursor);
        const char *q = parsed.elements;
        size_t group = pairs ? 2 : 1;
        for (long long i = 0; i + (long long)group <= parsed.count; i += (long long)group) {
            elements = xrealloc(elements, (element_count + 1) * sizeof(piece));
            bytes *text = &elements[element_count++].text;
            *text = (bytes){0};
            for (size_t g = 0; g < group; g++) {
                long long len = frame_length(q, parsed.end, 0);
                bytes_append(text, q, (size_t)len);
                q += len;
            }
        }
        bytes_free(&page.data);
        if (strcmp(cursor, "0") == 0) {
            /* SCAN may legitimately return an element twice; compare sets. */
            if (element_count > 1)
                qsort(elements, element_count, sizeof(piece), piece_compare);
            size_t unique = 0;
            for (size_t i = 0; i < element_count; i++) {
                if (i > 0 && piece_compare(&elements[i - 1], &elements[i]) == 0)
                    continue;
                unique++;
            }
            bytes_printf(&out->data, "*%zu\r\n", unique * group);
            for (size_t i = 0; i < element_count; i++) {
                if (i > 0 && piece_compare(&elements[i - 1], &elements[i]) == 0)
                    continue;
                bytes_append(&out->data, elements[i].text.data, elements[i].text.len);
            }
            break;
        }
        if (call == SCAN_MAX_CALLS - 1) {
            bytes_append_str(&out->data, "(scan did not finish)");
            out->status = REPLY_TIMEOUT;
        }
    }
    for (size_t i = 0; i < element_count; i++)
        bytes_free(&elements[i].text);
    free(elements);
    bytes_free(&resp);
    free(w.items);
}

static void run_scan_all(run_state *run, const char *what, const words *w, const expectation *e)
{
    named_conn *nc = run->current;
    drain_all_pending(run, nc);
    reply replies[SIDES] = {{{0}, REPLY_OK}, {{0}, REPLY_OK}};
    for (int i = 0; i < SIDES; i++)
        scan_collect(run, nc, i, w, scan_returns_pairs(w), &replies[i]);
    expectation exact = *e;
    if (exact.mode != COMPARE_SKIP)
        exact.mode = COMPARE_EXACT; /* the union is already sorted */
    judge(run, what, &exact, replies);
    reply_free(replies);
}

static void run_raw(run_state *run, const char *what, const words *chunks, const expectation *e)
{
    named_conn *nc = run->current;
    drain_all_pending(run, nc);
    bool ok[SIDES];
    connect_both(run, nc, ok);
    conn *both[SIDES] = {&nc->sides[0], &nc->sides[1]};
    for (size_t k = 0; k < chunks->count; k++) {
        if (k > 0)
            sleep_ms(RAW_CHUNK_GAP_MS);
        for (int i = 0; i < SIDES; i++) {
            /* A failed send is fine here: the server may close on an error
             * mid-stream, and what it said before closing is the answer. */
            if (both[i]->fd != -1)
                conn_send(both[i], chunks->items[k].data, chunks->items[k].len);
        }
    }
    reply replies[SIDES] = {{{0}, REPLY_OK}, {{0}, REPLY_OK}};
    conn_collect_both(both, replies);
    for (int i = 0; i < SIDES; i++) {
        if (!ok[i])
            replies[i].status = REPLY_NO_SERVER;
    }
    judge(run, what, e, replies);
    reply_free(replies);
}

/* FLUSHALL over the control connection of each server; not compared, but a
 * failure is reported because it would make the rest of the script lie. */
static void flush_both(run_state *run)
{
    static const char flushall[] = "*1\r\n$8\r\nFLUSHALL\r\n";
    for (int i = 0; i < SIDES; i++) {
        conn *c = &run->control[i];
        reply r = {{0}, REPLY_OK};
        if (!conn_ensure(c, run->servers[i]) || !conn_send(c, flushall, sizeof(flushall) - 1)) {
            fprintf(stderr, "compat: FLUSHALL on %s: cannot reach the server\n",
                    run->servers[i]->label);
            conn_close(c);
            continue;
        }
        conn_read_frame(c, &r);
        if (r.status != REPLY_OK || strcmp(r.data.data ? r.data.data : "", "+OK\r\n") != 0)
            fprintf(stderr, "compat: FLUSHALL on %s did not answer +OK\n", run->servers[i]->label);
        bytes_free(&r.data);
    }
}

static void close_all_conns(run_state *run)
{
    while (run->conns) {
        named_conn *nc = run->conns;
        run->conns = nc->next;
        while (nc->queue_head) {
            pending *p = nc->queue_head;
            nc->queue_head = p->next;
            free(p->text);
            free(p);
        }
        for (int i = 0; i < SIDES; i++) {
            conn_close(&nc->sides[i]);
            bytes_free(&nc->sides[i].in);
        }
        free(nc->name);
        free(nc);
    }
    run->current = NULL;
}

static bool parse_count(const char *text, long *out)
{
    char *stop;
    errno = 0;
    long value = strtol(text, &stop, 10);
    if (errno || stop == text || *stop != '\0' || value < 0)
        return false;
    *out = value;
    return true;
}

/* Runs one script file. Returns false on a script error (bad syntax). */
static bool run_script(run_state *run, const char *path)
{
    FILE *script = fopen(path, "r");
    if (!script) {
        fprintf(stderr, "compat: cannot open %s: %s\n", path, strerror(errno));
        return false;
    }
    const char *file = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    long passed_before = run->passed, failed_before = run->failed;

    close_all_conns(run);
    flush_both(run);
    run->current = conn_find_or_add(run, "default");

    expectation next = plain_expectation;
    bool modifiers_pending = false;
    bool script_ok = true;
    char *line = NULL;
    size_t line_cap = 0;
    ssize_t line_len;
    int line_no = 0;
    while (script_ok && (line_len = getline(&line, &line_cap, script)) != -1) {
        line_no++;
        while (line_len > 0 && (line[line_len - 1] == '\n' || line[line_len - 1] == '\r'))
            line[--line_len] = '\0';
        const char *start = line;
        while (*start && isspace((unsigned char)*start))
            start++;
        if (!*start || *start == '#')
            continue;

        words w;
        const char *problem = split_words(start, &w);
        if (problem) {
            fprintf(stderr, "%s:%d: %s\n", path, line_no, problem);
            script_ok = false;
            break;
        }
        char what[1200];
        describe_words(file, line_no, &w, what, sizeof(what));

        if (*start != '@') {
            if (next.scan_all)
                run_scan_all(run, what, &w, &next);
            else
                run_command(run, what, &w, &next);
            next = plain_expectation;
            modifiers_pending = false;
            words_free(&w);
            continue;
        }

        /* A directive. */
        const char *name = w.items[0].data;
        long number = 0;
        bool has_number = w.count == 2 && parse_count(w.items[1].data, &number);
        if (strcmp(name, "@conn") == 0 && w.count == 2) {
            run->current = conn_find_or_add(run, w.items[1].data);
        } else if (strcmp(name, "@sleep") == 0 && has_number) {
            sleep_ms(number);
        } else if (strcmp(name, "@reconnect") == 0 && w.count == 1) {
            /* Replies still owed are read first, then both sides hang up. */
            drain_all_pending(run, run->current);
            for (int i = 0; i < SIDES; i++)
                conn_close(&run->current->sides[i]);
        } else if (strcmp(name, "@flush") == 0 && w.count == 1) {
            flush_both(run);
        } else if (strcmp(name, "@unordered") == 0 && w.count == 1) {
            next.mode = COMPARE_UNORDERED;
            modifiers_pending = true;
        } else if (strcmp(name, "@unordered-pairs") == 0 && w.count == 1) {
            next.mode = COMPARE_UNORDERED_PAIRS;
            modifiers_pending = true;
        } else if (strcmp(name, "@skip-compare") == 0 && w.count == 1) {
            next.mode = COMPARE_SKIP;
            modifiers_pending = true;
        } else if (strcmp(name, "@match-prefix") == 0 && has_number && number > 0) {
            next.mode = COMPARE_PREFIX;
            next.prefix_len = (size_t)number;
            modifiers_pending = true;
        } else if (strcmp(name, "@replies") == 0 && has_number && number > 0) {
            next.reply_count = (int)number;
            modifiers_pending = true;
        } else if (strcmp(name, "@scan-all") == 0 && w.count == 1) {
            next.scan_all = true;
            modifiers_pending = true;
        } else if (strcmp(name, "@send") == 0 && w.count == 1) {
            next.send_only = true;
            modifiers_pending = true;
        } else if (strcmp(name, "@await") == 0 && w.count == 1) {
            if (!run->current->queue_head) {
                fprintf(stderr, "%s:%d: @await with nothing pending on connection '%s'\n", path,
                        line_no, run->current->name);
                script_ok = false;
            } else {
                drain_one_pending(run, run->current);
            }
        } else if (strcmp(name, "@raw") == 0 && w.count >= 2) {
            words chunks = {w.items + 1, w.count - 1};
            run_raw(run, what, &chunks, &next);
            next = plain_expectation;
            modifiers_pending = false;
        } else {
            fprintf(stderr, "%s:%d: unknown or malformed directive\n", path, line_no);
            script_ok = false;
        }
        words_free(&w);
    }
    if (script_ok && modifiers_pending) {
        fprintf(stderr, "%s: modifiers at the end with no command after them\n", path);
        script_ok = false;
    }
    /* Replies still owed to @send commands are read and judged now. */
    for (named_conn *nc = run->conns; nc; nc = nc->next)
        drain_all_pending(run, nc);
    free(line);
    fclose(script);
    close_all_conns(run);
    printf("%s: %ld passed, %ld failed\n", file, run->passed - passed_before,
           run->failed - failed_before);
    return script_ok;
}

/* ---------------------------------------------------------------------------
 * main */

static void usage(void)
{
    fprintf(stderr,
            "usage: compat_runner --redis-server PATH --rivet-server PATH [--redis-port N]\n"
            "                     [--rivet-port N] [--timeout MS] [--verbose] "
            "script.txt...\n");
}

/* The scripts were written against Redis 7.0; say which reference ran. */
static void report_reference_version(run_state *run)
{
    static const char info[] = "*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n";
    conn *c = &run->control[SIDE_REDIS];
    if (!conn_ensure(c, run->servers[SIDE_REDIS]) || !conn_send(c, info, sizeof(info) - 1))
        return;
    reply r = {{0}, REPLY_OK};
    conn_read_frame(c, &r);
    const char *version = r.data.data ? strstr(r.data.data, "redis_version:") : NULL;
    if (version) {
        version += strlen("redis_version:");
        int len = (int)strcspn(version, "\r\n");
        printf("compat: reference is redis %.*s\n", len, version);
        if (strncmp(version, "7.", 2) != 0)
            printf("compat: warning: the scripts were written against Redis 7\n");
    }
    bytes_free(&r.data);
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);

    server redis = {.label = "redis"}, rivet = {.label = "rivet"};
    run_state run = {.servers = {&redis, &rivet}};
    run.control[0].fd = run.control[1].fd = -1;
    int first_script = argc;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        bool has_value = i + 1 < argc;
        long number;
        if (strcmp(arg, "--redis-server") == 0 && has_value) {
            redis.binary = argv[++i];
        } else if (strcmp(arg, "--rivet-server") == 0 && has_value) {
            rivet.binary = argv[++i];
        } else if (strcmp(arg, "--redis-port") == 0 && has_value &&
                   parse_count(argv[i + 1], &number)) {
            redis.port = (int)number;
            i++;
        } else if (strcmp(arg, "--rivet-port") == 0 && has_value &&
                   parse_count(argv[i + 1], &number)) {
            rivet.port = (int)number;
            i++;
        } else if (strcmp(arg, "--timeout") == 0 && has_value &&
                   parse_count(argv[i + 1], &number)) {
            reply_timeout_ms = (int)number;
            i++;
        } else if (strcmp(arg, "--verbose") == 0) {
            run.verbose = true;
        } else if (arg[0] == '-' && arg[1] == '-') {
            usage();
            return 2;
        } else {
            first_script = i;
            break;
        }
    }
    if (first_script >= argc) {
        usage();
        return 2;
    }
    server *both[SIDES] = {&redis, &rivet};
    for (int i = 0; i < SIDES; i++) {
        server *s = both[i];
        if (s->port > 0)
            continue; /* attach to a running server */
        if (!s->binary) {
            fprintf(stderr, "compat: give --%s-server PATH or --%s-port N\n", s->label, s->label);
            return 2;
        }
        if (strchr(s->binary, '/') && access(s->binary, X_OK) != 0) {
            fprintf(stderr, "compat: %s binary '%s' is missing or not executable%s\n", s->label,
                    s->binary,
                    i == SIDE_REDIS ? ": install Redis 7 (e.g. apt-get install redis-server) and "
                                      "re-run cmake, or pass -DREDIS_SERVER_EXECUTABLE=PATH"
                                    : "");
            return 2;
        }
    }
    for (int i = 0; i < SIDES; i++) {
        if (both[i]->port == 0 && !server_start(both[i])) {
            server_stop(&redis);
            server_stop(&rivet);
            return 2;
        }
    }
    report_reference_version(&run);

    bool scripts_ok = true;
    for (int i = first_script; i < argc && scripts_ok; i++)
        scripts_ok = run_script(&run, argv[i]);

    close_all_conns(&run);
    for (int i = 0; i < SIDES; i++) {
        conn_close(&run.control[i]);
        bytes_free(&run.control[i].in);
    }
    bool redis_clean = server_stop(&redis);
    bool rivet_clean = server_stop(&rivet);
    if (run.skipped)
        printf("compat: %ld of the passed replies were not compared (@skip-compare)\n",
               run.skipped);
    printf("compat: %ld passed, %ld failed\n", run.passed, run.failed);
    if (!scripts_ok)
        return 2;
    return run.failed == 0 && redis_clean && rivet_clean ? 0 : 1;
}
