/* The libuv side of the server: one loop, TCP and unix listeners, one
 * connection per client, the cron and expiry timers, and signal handling.
 *
 * Reading: libuv's alloc callback hands out the free tail of the client's
 * query buffer, so bytes land where the parser reads them (no copy). After a
 * read, every complete command in the buffer runs before anything is sent;
 * then the replies of the whole batch go out in one write.
 *
 * Writing: replies accumulate in client->reply.out. A flush first tries a
 * synchronous uv_try_write; whatever the socket does not take is handed to
 * uv_write by swapping buffers (the in-flight buffer is never appended to),
 * so new replies keep accumulating while the kernel drains the old ones. */
#define _GNU_SOURCE /* accept4 */
#include "rivet/net.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "rivet/aof.h"
#include "rivet/blocking.h"
#include "rivet/evict.h"
#include "rivet/memory.h"
#include "rivet/pubsub.h"
#include "rivet/resp_parse.h"
#include "rivet/server.h"
#include "rivet/snapshot.h"
#include "rivet/tracking.h"

#define QUERY_READ_CHUNK    (16 * 1024)
#define REPLY_KEEP_CAPACITY (64 * 1024)

typedef struct connection {
    union {
        uv_handle_t handle;
        uv_stream_t stream;
        uv_tcp_t tcp;
        uv_pipe_t pipe;
    } socket;
    client *client;
    buffer query;
    size_t query_parsed; /* bytes of query already run as commands */
    size_t read_hint;    /* bytes the parser says the pending bulk needs */
    resp_parser parser;
    buffer inflight; /* bytes handed to uv_write */
    uv_write_t write_request;
    int writing;
    int closing;
    int in_pending_list;
    int resume_input; /* was blocked: run what it pipelined meanwhile */
    int in_aof_wait;  /* replies held until the AOF covers aof_wait_offset */
    uint64_t aof_wait_offset;
    struct connection *aof_wait_next;
    int64_t soft_limit_since_ms;
    struct connection *prev, *next;  /* all connections */
    struct connection *pending_next; /* flush / close queue */
} connection;

typedef struct listener {
    union {
        uv_handle_t handle;
        uv_stream_t stream;
        uv_tcp_t tcp;
        uv_pipe_t pipe;
    } socket;
    int is_unix;
} listener;

typedef struct net_state {
    uv_loop_t loop;
    listener listeners[CONFIG_MAX_BIND + 1];
    int listener_count;
    uv_timer_t cron_timer;
    uv_timer_t expire_timer;
    uv_prepare_t before_poll;
    uv_signal_t sigterm, sigint;
    connection *connections;
    connection *pending;     /* connections with replies to flush or to close */
    connection *aof_waiting; /* replies held for the AOF (group commit) */
    uv_async_t aof_synced;   /* the fsync thread's wake-up */
    int stopping;
} net_state;

static net_state *net(void)
{
    return server.net;
}

/* ---------- closing ---------- */

static void on_closed(uv_handle_t *handle)
{
    connection *conn = handle->data;
    if (conn->in_aof_wait) {
        connection **link = &net()->aof_waiting;
        while (*link != conn)
            link = &(*link)->aof_wait_next;
        *link = conn->aof_wait_next;
    }
    resp_parser_release(&conn->parser);
    buffer_release(&conn->query);
    buffer_release(&conn->inflight);
    client_destroy(conn->client);
    mem_free(conn);
}

static void connection_close_now(connection *conn)
{
    if (conn->closing)
        return;
    conn->closing = 1;
    blocking_release_client(conn->client, BLOCKING_RELEASE_SILENT);
    if (conn->prev)
        conn->prev->next = conn->next;
    else
        net()->connections = conn->next;
    if (conn->next)
        conn->next->prev = conn->prev;
    server.connected_clients--;
    uv_close(&conn->socket.handle, on_closed);
}

static void mark_pending(connection *conn)
{
    if (conn->in_pending_list || conn->closing)
        return;
    conn->in_pending_list = 1;
    conn->pending_next = net()->pending;
    net()->pending = conn;
}

void net_close_client(client *c)
{
    c->flags |= CLIENT_CLOSE_ASAP;
    if (c->connection)
        mark_pending(c->connection);
}

/* ---------- writing ---------- */

static void flush_connection(connection *conn);

static void on_written(uv_write_t *request, int status)
{
    connection *conn = request->data;
    conn->writing = 0;
    buffer_clear(&conn->inflight);
    buffer_shrink(&conn->inflight, REPLY_KEEP_CAPACITY);
    if (conn->closing)
        return;
    if (status < 0) {
        connection_close_now(conn);
        return;
    }
    flush_connection(conn);
}

static size_t output_pending(const connection *conn)
{
    return conn->client->reply.out.len + conn->inflight.len;
}

static void flush_connection(connection *conn)
{
    client *c = conn->client;
    if (conn->closing || conn->writing || conn->in_aof_wait)
        return;
    buffer *out = &c->reply.out;
    if (out->len > 0) {
        uv_buf_t piece = uv_buf_init(out->data, (unsigned)out->len);
        int written = uv_try_write(&conn->socket.stream, &piece, 1);
        if (written < 0 && written != UV_EAGAIN) {
            connection_close_now(conn);
            return;
        }
        if (written < 0)
            written = 0;
        server.stats.net_output_bytes += (uint64_t)written;
        if ((size_t)written == out->len) {
            buffer_clear(out);
            buffer_shrink(out, REPLY_KEEP_CAPACITY);
        } else {
            /* Hand the rest to libuv and keep appending to a fresh buffer. */
            buffer spare = conn->inflight;
            conn->inflight = *out;
            *out = spare;
            buffer_clear(out);
            uv_buf_t rest = uv_buf_init(conn->inflight.data + written,
                                        (unsigned)(conn->inflight.len - (size_t)written));
            server.stats.net_output_bytes += rest.len;
            conn->write_request.data = conn;
            if (uv_write(&conn->write_request, &conn->socket.stream, &rest, 1, on_written) != 0) {
                connection_close_now(conn);
                return;
            }
            conn->writing = 1;
            return;
        }
    }
    if (c->flags & CLIENT_CLOSE_AFTER_REPLY)
        connection_close_now(conn);
}

/* ---------- group commit ----------
 *
 * A client whose commands fed the AOF keeps its replies until the AOF says
 * they are durable (written, or fsynced with appendfsync always). Its
 * later replies queue behind them, so order is kept. Clients that only
 * read are not held. */

static void hold_for_aof(connection *conn, uint64_t offset)
{
    if (offset > conn->aof_wait_offset)
        conn->aof_wait_offset = offset;
    if (conn->in_aof_wait)
        return;
    conn->in_aof_wait = 1;
    conn->aof_wait_next = net()->aof_waiting;
    net()->aof_waiting = conn;
}

static void release_aof_waiters(void)
{
    uint64_t durable = aof_durable_offset();
    connection **link = &net()->aof_waiting;
    while (*link) {
        connection *conn = *link;
        if (conn->aof_wait_offset <= durable) {
            *link = conn->aof_wait_next;
            conn->in_aof_wait = 0;
            flush_connection(conn);
        } else {
            link = &conn->aof_wait_next;
        }
    }
}

/* Called on the fsync thread: only wakes the loop. */
static void notify_aof_synced(void)
{
    uv_async_send(&net()->aof_synced);
}

static void on_aof_synced(uv_async_t *handle)
{
    (void)handle;
    aof_sync_done();
    release_aof_waiters();
}

/* After c's commands ran: send now, or hold until the AOF catches up. */
static void flush_or_hold(connection *conn, uint64_t fed_before)
{
    uint64_t fed = aof_fed_offset();
    if (conn->in_aof_wait || (fed != fed_before && aof_durable_offset() < fed))
        hold_for_aof(conn, fed);
    else
        flush_connection(conn);
}

void net_client_unblocked(client *c)
{
    if (c->connection) {
        c->connection->resume_input = 1;
        mark_pending(c->connection);
    }
}

void net_client_dirty(client *c)
{
    if (c->connection)
        mark_pending(c->connection);
}

/* True when the client's queued output passed its class limits; then it is
 * closed, as Redis does, so a reader that never reads cannot grow memory. */
static int output_limit_reached(connection *conn)
{
    int class = pubsub_client_subscribed(conn->client) ? OUTPUT_CLASS_PUBSUB : OUTPUT_CLASS_NORMAL;
    const output_buffer_limit *limit = &server.config.output_limits[class];
    size_t pending = output_pending(conn);
    if (limit->hard_bytes > 0 && pending >= (size_t)limit->hard_bytes)
        return 1;
    if (limit->soft_bytes > 0 && pending >= (size_t)limit->soft_bytes) {
        if (conn->soft_limit_since_ms == 0)
            conn->soft_limit_since_ms = server.now_ms;
        else if (server.now_ms - conn->soft_limit_since_ms >= limit->soft_seconds * 1000)
            return 1;
    } else {
        conn->soft_limit_since_ms = 0;
    }
    return 0;
}

static void check_output_limit(connection *conn)
{
    if (!output_limit_reached(conn))
        return;
    server_log(LOG_WARNING,
               "Client id=%llu addr=%s scheduled to be closed ASAP for overcoming of output "
               "buffer limits.",
               (unsigned long long)conn->client->id, conn->client->address);
    server.stats.client_output_limit_disconnections++;
    conn->client->flags |= CLIENT_CLOSE_ASAP;
}

/* ---------- reading and running commands ---------- */

static void set_client_argv(connection *conn, client *c)
{
    resp_parser *p = &conn->parser;
    if (p->argc > c->argv_cap) {
        c->argv_cap = p->argc;
        c->argv = mem_realloc(c->argv, sizeof(*c->argv) * (size_t)c->argv_cap);
        c->argv_len = mem_realloc(c->argv_len, sizeof(*c->argv_len) * (size_t)c->argv_cap);
    }
    c->argc = p->argc;
    const char *base = conn->query.data + conn->query_parsed;
    for (int i = 0; i < p->argc; i++)
        c->argv[i] = resp_parse_arg(p, base, i, &c->argv_len[i]);
}

static void protocol_error(connection *conn, const char *error)
{
    client *c = conn->client;
    buffer_append_cstr(&c->reply.out, "-ERR ");
    buffer_append_cstr(&c->reply.out, error);
    buffer_append(&c->reply.out, "\r\n", 2);
    server_log(LOG_VERBOSE, "Protocol error (%s) from client: id=%llu addr=%s", error,
               (unsigned long long)c->id, c->address);
    c->flags |= CLIENT_CLOSE_AFTER_REPLY;
}

static void process_input(connection *conn)
{
    client *c = conn->client;
    while (!(c->flags & (CLIENT_CLOSE_AFTER_REPLY | CLIENT_CLOSE_ASAP)) && !conn->closing &&
           c->blocked == NULL) {
        size_t available = conn->query.len - conn->query_parsed;
        if (available == 0)
            break;
        conn->parser.limits.unauthenticated = !(c->flags & CLIENT_AUTHENTICATED);
        conn->parser.limits.max_bulk_len = server.config.proto_max_bulk_len;
        size_t consumed = 0, hint = 0;
        resp_parse_status status = resp_parse(&conn->parser, conn->query.data + conn->query_parsed,
                                              available, &consumed, &hint);
        if (status == RESP_PARSE_INCOMPLETE) {
            conn->read_hint = hint;
            break;
        }
        if (status == RESP_PARSE_ERROR) {
            protocol_error(conn, conn->parser.error);
            break;
        }
        conn->read_hint = 0;
        if (conn->parser.argc > 0) {
            set_client_argv(conn, c);
            c->last_interaction_ms = server.now_ms;
            server_execute(c);
            check_output_limit(conn);
        }
        conn->query_parsed += consumed;
    }
    /* Drop what ran; a partial command moves to the front. */
    buffer_consume(&conn->query, conn->query_parsed);
    conn->query_parsed = 0;
    if (conn->query.len == 0)
        buffer_shrink(&conn->query, QUERY_READ_CHUNK * 2);
    c->query_buffer_bytes = conn->query.len;
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *out)
{
    connection *conn = handle->data;
    size_t want = QUERY_READ_CHUNK;
    /* A large bulk in progress: make room for all of it in one go, so it is
     * read straight into place instead of through many small reads. */
    if (conn->read_hint > want && conn->read_hint < ((size_t)1 << 30))
        want = conn->read_hint;
    buffer_reserve(&conn->query, want);
    out->base = conn->query.data + conn->query.len;
    out->len = conn->query.cap - conn->query.len - 1;
}

static void consume_input(connection *conn, size_t nread);

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    connection *conn = stream->data;
    if (nread < 0) {
        connection_close_now(conn);
        return;
    }
    if (nread == 0)
        return;
    server_update_time();
    consume_input(conn, (size_t)nread);
}

/* nread new bytes sit at the end of the query buffer: run them and send the
 * replies. */
static void consume_input(connection *conn, size_t nread)
{
    client *c = conn->client;
    conn->query.len += nread;
    conn->query.data[conn->query.len] = '\0';
    server.stats.net_input_bytes += (uint64_t)nread;
    if (server.config.client_query_buffer_limit > 0 &&
        conn->query.len > (size_t)server.config.client_query_buffer_limit) {
        server_log(LOG_WARNING, "Closing client that reached max query buffer length: id=%llu",
                   (unsigned long long)c->id);
        server.stats.client_query_limit_disconnections++;
        connection_close_now(conn);
        return;
    }
    uint64_t fed_before = aof_fed_offset();
    process_input(conn);
    if (c->flags & CLIENT_CLOSE_ASAP) {
        connection_close_now(conn);
        return;
    }
    flush_or_hold(conn, fed_before);
}

/* ---------- accepting ---------- */

static void describe_peer(connection *conn, client *c, int is_unix)
{
    if (is_unix) {
        snprintf(c->address, sizeof(c->address), "%s:0",
                 server.config.unixsocket ? server.config.unixsocket : "");
        snprintf(c->local_address, sizeof(c->local_address), "%s:0",
                 server.config.unixsocket ? server.config.unixsocket : "");
        c->flags |= CLIENT_UNIX_SOCKET;
        return;
    }
    struct sockaddr_storage addr;
    char ip[46]; /* INET6_ADDRSTRLEN: leaves room for ":port" in 64 bytes */
    int len = sizeof(addr);
    for (int local = 0; local < 2; local++) {
        int rc = local ? uv_tcp_getsockname(&conn->socket.tcp, (struct sockaddr *)&addr, &len)
                       : uv_tcp_getpeername(&conn->socket.tcp, (struct sockaddr *)&addr, &len);
        char *target = local ? c->local_address : c->address;
        size_t size = local ? sizeof(c->local_address) : sizeof(c->address);
        if (rc != 0) {
            snprintf(target, size, "?:0");
            continue;
        }
        if (addr.ss_family == AF_INET6) {
            struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&addr;
            uv_ip6_name(a6, ip, sizeof(ip));
            snprintf(target, size, "[%s]:%d", ip, ntohs(a6->sin6_port));
        } else {
            struct sockaddr_in *a4 = (struct sockaddr_in *)&addr;
            uv_ip4_name(a4, ip, sizeof(ip));
            snprintf(target, size, "%s:%d", ip, ntohs(a4->sin_port));
        }
        len = sizeof(addr);
    }
}

static int peer_is_local(const client *c)
{
    return (c->flags & CLIENT_UNIX_SOCKET) || strncmp(c->address, "127.", 4) == 0 ||
           strncmp(c->address, "[::1]:", 6) == 0;
}

static void reject(connection *conn, const char *message)
{
    /* The message goes out with a best-effort synchronous write, then the
     * socket closes; a rejected peer gets no further attention. */
    uv_buf_t piece = uv_buf_init((char *)message, (unsigned)strlen(message));
    uv_try_write(&conn->socket.stream, &piece, 1);
    connection_close_now(conn);
}

/* Links a new connection into the list: from then on every failure path
 * closes it the same way. */
static connection *connection_create(int is_unix)
{
    connection *conn = mem_calloc(sizeof(*conn));
    if (is_unix)
        uv_pipe_init(&net()->loop, &conn->socket.pipe, 0);
    else
        uv_tcp_init(&net()->loop, &conn->socket.tcp);
    conn->socket.handle.data = conn;
    client *c = client_create();
    c->connection = conn;
    conn->client = c;
    buffer_init(&conn->query);
    buffer_init(&conn->inflight);
    resp_parse_limits limits;
    resp_parse_limits_default(&limits);
    limits.max_bulk_len = server.config.proto_max_bulk_len;
    /* Redis 7 accepts counts up to INT_MAX; we keep the older 1M ceiling so
     * one request cannot ask for gigabytes of argument slots. */
    limits.max_multibulk_count = 1024 * 1024;
    resp_parser_init(&conn->parser, &limits);
    conn->next = net()->connections;
    if (conn->next)
        conn->next->prev = conn;
    net()->connections = conn;
    server.connected_clients++;
    server.stats.connections_received++;
    return conn;
}

/* The socket is open: apply the connection limits and start reading. */
static void connection_start(connection *conn, int is_unix)
{
    client *c = conn->client;
    describe_peer(conn, c, is_unix);
    if (!is_unix) {
        uv_tcp_nodelay(&conn->socket.tcp, 1);
        if (server.config.tcp_keepalive > 0)
            uv_tcp_keepalive(&conn->socket.tcp, 1, (unsigned)server.config.tcp_keepalive);
    }
    if ((int64_t)server.connected_clients > server.config.maxclients) {
        server.stats.rejected_connections++;
        reject(conn, "-ERR max number of clients reached\r\n");
        return;
    }
    if (server.config.protected_mode && server.config.requirepass == NULL && !peer_is_local(c)) {
        reject(conn, "-DENIED Rivet is running in protected mode because protected mode is "
                     "enabled and no password is set for the default user. Connections are "
                     "only accepted from the loopback interface. Set a password with "
                     "requirepass, or disable protected mode with 'protected-mode no'.\r\n");
        return;
    }
    if (server.config.requirepass == NULL)
        c->flags |= CLIENT_AUTHENTICATED;
    c->created_ms = server.now_ms;
    c->last_interaction_ms = server.now_ms;
    uv_read_start(&conn->socket.stream, on_alloc, on_read);
}

static void on_connection(uv_stream_t *server_stream, int status)
{
    if (status < 0)
        return;
    listener *l = server_stream->data;
    connection *conn = connection_create(l->is_unix);
    if (uv_accept(server_stream, &conn->socket.stream) != 0) {
        connection_close_now(conn);
        return;
    }
    connection_start(conn, l->is_unix);
}

/* ---------- serving clients while a script runs ---------- */

/* A script past busy-reply-threshold calls this from inside its command, so
 * the loop is already running further up the stack: libuv's uv_run is not
 * reentrant (a nested run would reset the epoll bookkeeping of the outer
 * one, and fire timers that expire keys under the script). So this does not
 * run the loop at all. It watches the raw descriptors itself with a
 * private epoll set (built when the script turns busy), accepts with
 * accept4(2) and hands new sockets to libuv with uv_tcp_open, reads with
 * read(2), then runs what arrived through the usual parser and
 * server_execute (which answers -BUSY to all but the allowed commands) and
 * sends replies with uv_try_write / uv_write, which libuv allows outside its
 * callbacks. The busy client's own connection is never touched: its argv
 * points into its query buffer. No timer runs, so nothing expires or times
 * out until the script ends. */
#define BUSY_ACCEPT_BURST 64

static int handle_fd(uv_handle_t *handle)
{
    uv_os_fd_t fd = -1;
    if (uv_fileno(handle, &fd) != 0)
        return -1;
    return fd;
}

static void busy_accept(listener *l)
{
    int fd = handle_fd(&l->socket.handle);
    if (fd < 0)
        return;
    for (int i = 0; i < BUSY_ACCEPT_BURST; i++) {
        int socket_fd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (socket_fd < 0)
            return;
        connection *conn = connection_create(l->is_unix);
        int rc = l->is_unix ? uv_pipe_open(&conn->socket.pipe, socket_fd)
                            : uv_tcp_open(&conn->socket.tcp, socket_fd);
        if (rc != 0) {
            close(socket_fd);
            connection_close_now(conn);
            continue;
        }
        connection_start(conn, l->is_unix);
    }
}

static void busy_read(connection *conn)
{
    int fd = handle_fd(&conn->socket.handle);
    if (fd < 0)
        return;
    buffer_reserve(&conn->query, QUERY_READ_CHUNK);
    ssize_t n = read(fd, conn->query.data + conn->query.len, conn->query.cap - conn->query.len - 1);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) {
        connection_close_now(conn);
        return;
    }
    /* As on_read, except for the clock: the script sees one frozen "now"
     * for its whole run, as in Redis. */
    consume_input(conn, (size_t)n);
}

/* The busy period's own epoll set: every other connection and the
 * listeners are added once when a script turns busy, so each later call
 * costs one epoll_wait however many clients are connected. Level-triggered,
 * and pointing at listener / connection structs, which stay allocated until
 * the loop runs close callbacks (after the script). */
static int busy_epoll = -1;

/* Marks which events come from listeners: their pointers are kept apart. */
#define BUSY_LISTENER_TAG ((uintptr_t)1)

static void busy_watch(int fd, void *ptr)
{
    if (fd < 0)
        return;
    struct epoll_event event = {.events = EPOLLIN, .data.ptr = ptr};
    epoll_ctl(busy_epoll, EPOLL_CTL_ADD, fd, &event);
}

static void busy_begin(const client *busy)
{
    net_state *n = net();
    busy_epoll = epoll_create1(EPOLL_CLOEXEC);
    if (busy_epoll < 0)
        return;
    for (int i = 0; i < n->listener_count; i++)
        busy_watch(handle_fd(&n->listeners[i].socket.handle),
                   (void *)((uintptr_t)&n->listeners[i] | BUSY_LISTENER_TAG));
    for (connection *conn = n->connections; conn; conn = conn->next)
        if (conn->client != busy && !conn->closing && conn->client->blocked == NULL)
            busy_watch(handle_fd(&conn->socket.handle), conn);
}

void net_serve_while_busy(const client *busy)
{
    net_state *n = net();
    if (busy == NULL) { /* the script ended */
        if (busy_epoll >= 0)
            close(busy_epoll);
        busy_epoll = -1;
        return;
    }
    if (n == NULL || n->stopping)
        return;
    if (busy_epoll < 0)
        busy_begin(busy);
    if (busy_epoll < 0)
        return;
    struct epoll_event events[64];
    int ready = epoll_wait(busy_epoll, events, 64, 0);
    /* server_execute clears the current client: put the script's back. */
    client *current = server.current_client;
    for (int i = 0; i < ready; i++) {
        uintptr_t tagged = (uintptr_t)events[i].data.ptr;
        if (tagged & BUSY_LISTENER_TAG) {
            listener *l = (listener *)(tagged & ~BUSY_LISTENER_TAG);
            connection *newest = n->connections;
            busy_accept(l);
            /* New connections are linked at the head: watch them too. */
            for (connection *conn = n->connections; conn && conn != newest; conn = conn->next)
                if (!conn->closing)
                    busy_watch(handle_fd(&conn->socket.handle), conn);
        } else {
            connection *conn = events[i].data.ptr;
            /* Closed connections are freed by their close callback, which
             * only the loop runs: the pointer is still valid here. */
            if (!conn->closing)
                busy_read(conn);
        }
    }
    server.current_client = current;
}

/* ---------- timers, signals, loop ---------- */

static void on_before_poll(uv_prepare_t *handle)
{
    /* Broadcast-mode invalidations collected during this iteration's
     * commands go out as one message per client and prefix. */
    tracking_send_broadcasts();
    /* Clients that got replies from elsewhere (or must close) are handled
     * once per loop iteration, after all reads of that iteration. */
    while (net()->pending) {
        connection *conn = net()->pending;
        net()->pending = conn->pending_next;
        conn->in_pending_list = 0;
        if (conn->closing)
            continue;
        /* Replies that reached a client from elsewhere (a blocked pop
         * served by another client's push) may depend on any unsynced
         * write: such clients wait for everything fed so far. */
        uint64_t fed_before = 0;
        if (conn->resume_input && !(conn->client->flags & CLIENT_CLOSE_ASAP)) {
            conn->resume_input = 0;
            process_input(conn);
        }
        if (conn->client->flags & CLIENT_CLOSE_ASAP)
            connection_close_now(conn);
        else {
            check_output_limit(conn);
            if (conn->client->flags & CLIENT_CLOSE_ASAP)
                connection_close_now(conn);
            else
                flush_or_hold(conn, fed_before);
        }
    }
    /* This iteration's writes go to the file (and start their fsync); no
     * reply that depends on them has left yet. */
    aof_flush(0);
    release_aof_waiters();
    if (server.shutdown_requested && !net()->stopping)
        net_stop();
}

static void close_idle_clients(void)
{
    if (server.config.timeout <= 0)
        return;
    int64_t limit_ms = server.config.timeout * 1000;
    connection *conn = net()->connections;
    while (conn) {
        connection *next = conn->next;
        if (server.now_ms - conn->client->last_interaction_ms > limit_ms) {
            server_log(LOG_VERBOSE, "Closing idle client");
            connection_close_now(conn);
        }
        conn = next;
    }
}

static size_t connection_memory(const connection *conn)
{
    return conn->query.cap + conn->client->reply.out.cap + conn->inflight.cap;
}

/* maxmemory-clients: bytes, or -N for N% of maxmemory; 0 = no limit. */
static size_t client_memory_limit(void)
{
    int64_t limit = server.config.maxmemory_clients;
    if (limit < 0)
        return (size_t)(server.config.maxmemory * -limit / 100);
    return (size_t)limit;
}

/* Client eviction: while all client buffers together exceed the limit, the
 * client holding the most goes (never one that set CLIENT NO-EVICT), so one
 * runaway pipeline or slow reader cannot take the data's memory. */
static void evict_clients(void)
{
    size_t limit = client_memory_limit();
    if (limit == 0)
        return;
    for (;;) {
        size_t total = 0, biggest_memory = 0;
        connection *biggest = NULL;
        for (connection *conn = net()->connections; conn; conn = conn->next) {
            if (conn->closing) /* its buffers go with the close */
                continue;
            size_t memory = connection_memory(conn);
            total += memory;
            if (!(conn->client->flags & CLIENT_NO_EVICT) && memory > biggest_memory) {
                biggest = conn;
                biggest_memory = memory;
            }
        }
        if (total <= limit || biggest == NULL)
            return;
        server_log(LOG_VERBOSE, "Evicting client id=%llu addr=%s (%zu bytes of buffers)",
                   (unsigned long long)biggest->client->id, biggest->client->address,
                   biggest_memory);
        server.stats.evicted_clients++;
        connection_close_now(biggest);
    }
}

static void on_cron(uv_timer_t *timer)
{
    server_cron();
    close_idle_clients();
    evict_clients();
    uint64_t period = (uint64_t)(1000 / (server.config.hz > 0 ? server.config.hz : 10));
    uv_timer_set_repeat(timer, period ? period : 1);
}

/* Active expiry runs every 10 ms with a budget per slice; if a slice used
 * its whole budget, the next slice runs on the next loop iteration (after
 * pending I/O), so a mass expiry is reclaimed quickly without starving
 * clients. */
#define EXPIRE_PERIOD_MS 10
static void on_expire_tick(uv_timer_t *timer)
{
    server_update_time();
    blocking_expire(server.now_ms);
    evict_cron();
    if (!server.active_expire_enabled) {
        uv_timer_start(timer, on_expire_tick, EXPIRE_PERIOD_MS, 0);
        return;
    }
    keyspace_set_time(server.keyspace, server.now_ms);
    size_t budget = (size_t)(2000 * server.config.active_expire_effort);
    size_t done = keyspace_active_expire(server.keyspace, budget);
    /* An expired key may be what blocked clients wait for (a lock's lease
     * ran out): hand it over now rather than at the next command. */
    blocking_serve_ready();
    /* A slice that used its whole budget continues 1 ms later, not 0: with
     * libuv before 1.48 a timer re-armed at 0 from its own callback runs
     * again in the same pass without polling sockets, starving clients. */
    uv_timer_start(timer, on_expire_tick, done >= budget ? 1 : EXPIRE_PERIOD_MS, 0);
}

static void on_signal(uv_signal_t *handle, int signum)
{
    server_log(LOG_WARNING, "Received %s scheduling shutdown...",
               signum == SIGINT ? "SIGINT" : "SIGTERM");
    /* With save points configured, stop only once the data is on disk. */
    if (snapshot_before_shutdown(0, 0) != 0) {
        server_log(LOG_WARNING,
                   "%s received but errors trying to shut down the server, check "
                   "the logs for more information",
                   signum == SIGINT ? "SIGINT" : "SIGTERM");
        return;
    }
    server_request_shutdown(0);
    net_stop();
}

static int bind_tcp(const char *address, char **err)
{
    net_state *n = net();
    int optional = address[0] == '-';
    if (optional)
        address++;
    struct sockaddr_storage addr;
    int rc;
    if (strcmp(address, "*") == 0)
        rc = uv_ip4_addr("0.0.0.0", (int)server.config.port, (struct sockaddr_in *)&addr);
    else if (strcmp(address, "::*") == 0)
        rc = uv_ip6_addr("::", (int)server.config.port, (struct sockaddr_in6 *)&addr);
    else if (strchr(address, ':'))
        rc = uv_ip6_addr(address, (int)server.config.port, (struct sockaddr_in6 *)&addr);
    else
        rc = uv_ip4_addr(address, (int)server.config.port, (struct sockaddr_in *)&addr);
    listener *l = &n->listeners[n->listener_count];
    if (rc == 0) {
        uv_tcp_init(&n->loop, &l->socket.tcp);
        l->socket.handle.data = l;
        l->is_unix = 0;
        rc = uv_tcp_bind(&l->socket.tcp, (struct sockaddr *)&addr,
                         strchr(address, ':') ? UV_TCP_IPV6ONLY : 0);
        if (rc == 0)
            rc = uv_listen(&l->socket.stream, (int)server.config.tcp_backlog, on_connection);
        if (rc != 0)
            uv_close(&l->socket.handle, NULL);
    }
    if (rc != 0) {
        if (optional) {
            server_log(LOG_NOTICE, "Could not listen on %s:%lld (optional): %s", address,
                       (long long)server.config.port, uv_strerror(rc));
            return 0;
        }
        char message[256];
        snprintf(message, sizeof(message),
                 "Could not create server TCP listening socket %s:%lld: %s", address,
                 (long long)server.config.port, uv_strerror(rc));
        *err = mem_strdup(message);
        return -1;
    }
    n->listener_count++;
    return 0;
}

static int bind_unix(const char *path, char **err)
{
    net_state *n = net();
    listener *l = &n->listeners[n->listener_count];
    unlink(path);
    uv_pipe_init(&n->loop, &l->socket.pipe, 0);
    l->socket.handle.data = l;
    l->is_unix = 1;
    int rc = uv_pipe_bind(&l->socket.pipe, path);
    if (rc == 0)
        rc = uv_listen(&l->socket.stream, (int)server.config.tcp_backlog, on_connection);
    if (rc != 0) {
        uv_close(&l->socket.handle, NULL);
        char message[512];
        snprintf(message, sizeof(message), "Failed opening Unix socket %s: %s", path,
                 uv_strerror(rc));
        *err = mem_strdup(message);
        return -1;
    }
    if (server.config.unixsocketperm)
        chmod(path, (mode_t)server.config.unixsocketperm);
    n->listener_count++;
    return 0;
}

int net_start(char **err)
{
    net_state *n = mem_calloc(sizeof(*n));
    server.net = n;
    uv_loop_init(&n->loop);
    if (server.config.port != 0)
        for (int i = 0; i < server.config.bind_count; i++)
            if (bind_tcp(server.config.bind[i], err) != 0)
                return -1;
    if (server.config.unixsocket && bind_unix(server.config.unixsocket, err) != 0)
        return -1;
    if (n->listener_count == 0) {
        *err = mem_strdup("Configured to not listen anywhere, exiting.");
        return -1;
    }
    uv_async_init(&n->loop, &n->aof_synced, on_aof_synced);
    aof_set_sync_notify(notify_aof_synced);
    uv_prepare_init(&n->loop, &n->before_poll);
    uv_prepare_start(&n->before_poll, on_before_poll);
    uv_timer_init(&n->loop, &n->cron_timer);
    uv_timer_start(&n->cron_timer, on_cron, 100, 100);
    uv_timer_init(&n->loop, &n->expire_timer);
    uv_timer_start(&n->expire_timer, on_expire_tick, EXPIRE_PERIOD_MS, 0);
    uv_signal_init(&n->loop, &n->sigterm);
    uv_signal_start(&n->sigterm, on_signal, SIGTERM);
    uv_signal_init(&n->loop, &n->sigint);
    uv_signal_start(&n->sigint, on_signal, SIGINT);
    return 0;
}

void net_run(void)
{
    uv_run(&net()->loop, UV_RUN_DEFAULT);
}

static void close_walk(uv_handle_t *handle, void *arg)
{
    if (!uv_is_closing(handle))
        uv_close(handle, NULL);
}

void net_stop(void)
{
    net_state *n = net();
    if (n->stopping)
        return;
    n->stopping = 1;
    aof_set_sync_notify(NULL); /* the async handle is about to close */
    /* Flush what can be flushed; then close every handle so uv_run returns. */
    while (n->connections)
        connection_close_now(n->connections);
    for (int i = 0; i < n->listener_count; i++)
        if (!uv_is_closing(&n->listeners[i].socket.handle))
            uv_close(&n->listeners[i].socket.handle, NULL);
    uv_walk(&n->loop, close_walk, NULL);
}

void net_release(void)
{
    net_state *n = net();
    if (n == NULL)
        return;
    uv_run(&n->loop, UV_RUN_DEFAULT); /* let close callbacks finish */
    uv_loop_close(&n->loop);
    if (server.config.unixsocket)
        unlink(server.config.unixsocket);
    mem_free(n);
    server.net = NULL;
}

struct uv_loop_s *net_loop(void)
{
    return net() ? &net()->loop : NULL;
}

/* ---------- introspection ---------- */

/* The introspection functions below also work with no loop at all (unit
 * tests and the dispatch fuzzer run commands on connection-less clients). */
void net_for_each_client(net_client_visit visit, void *ctx)
{
    if (net() == NULL)
        return;
    for (connection *conn = net()->connections; conn; conn = conn->next)
        visit(ctx, conn->client);
}

client *net_find_client(uint64_t id)
{
    if (net() == NULL)
        return NULL;
    for (connection *conn = net()->connections; conn; conn = conn->next)
        if (conn->client->id == id)
            return conn->client;
    return NULL;
}

void net_get_client_info(const client *c, net_client_info *info)
{
    const connection *conn = c->connection;
    memset(info, 0, sizeof(*info));
    info->fd = -1;
    if (conn == NULL)
        return;
    uv_os_fd_t fd = -1;
    uv_fileno(&conn->socket.handle, &fd);
    info->fd = fd;
    info->query_buffer = conn->query.len;
    info->query_buffer_free =
        conn->query.cap > conn->query.len ? conn->query.cap - conn->query.len : 0;
    info->output_buffer = output_pending(conn);
    info->output_memory = c->reply.out.cap + conn->inflight.cap;
    info->writing = conn->writing;
}

void net_totals(size_t *max_input_buffer, size_t *max_output_buffer, size_t *client_memory)
{
    size_t max_in = 0, max_out = 0, memory = 0;
    for (connection *conn = net() ? net()->connections : NULL; conn; conn = conn->next) {
        if (conn->query.len > max_in)
            max_in = conn->query.len;
        size_t out = output_pending(conn);
        if (out > max_out)
            max_out = out;
        memory += connection_memory(conn);
    }
    *max_input_buffer = max_in;
    *max_output_buffer = max_out;
    *client_memory = memory;
}
