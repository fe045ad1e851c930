/* Reply writer. Every function appends complete protocol elements to the
 * writer's buffer; the connection layer decides when bytes hit the socket.
 * Small headers are built on the stack and appended in one call so a reply
 * costs one buffer_reserve in the common case. */
#include "rivet/reply.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "rivet/number.h"

static void append_header(reply_writer *w, char prefix, int64_t value)
{
    char header[32];
    header[0] = prefix;
    size_t n = 1 + number_format_int64(header + 1, value);
    header[n++] = '\r';
    header[n++] = '\n';
    buffer_append(&w->out, header, n);
}

void reply_ok(reply_writer *w)
{
    buffer_append(&w->out, "+OK\r\n", 5);
}

void reply_status_len(reply_writer *w, const char *status, size_t len)
{
    buffer_reserve(&w->out, len + 3);
    buffer_append_char(&w->out, '+');
    buffer_append(&w->out, status, len);
    buffer_append(&w->out, "\r\n", 2);
}

void reply_status(reply_writer *w, const char *status)
{
    reply_status_len(w, status, strlen(status));
}

void reply_error_len(reply_writer *w, const char *err, size_t len)
{
    buffer_reserve(&w->out, len + 3);
    buffer_append_char(&w->out, '-');
    size_t start = w->out.len;
    buffer_append(&w->out, err, len);
    /* A newline inside an error would end the element early and desync the
     * client, so flatten it as Redis does. */
    for (size_t i = start; i < w->out.len; i++)
        if (w->out.data[i] == '\r' || w->out.data[i] == '\n')
            w->out.data[i] = ' ';
    buffer_append(&w->out, "\r\n", 2);
}

void reply_error(reply_writer *w, const char *err)
{
    reply_error_len(w, err, strlen(err));
}

void reply_errorf(reply_writer *w, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(small)) {
        reply_error(w, small);
        return;
    }
    buffer tmp;
    buffer_init(&tmp);
    buffer_reserve(&tmp, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(tmp.data, (size_t)n + 1, fmt, ap);
    va_end(ap);
    reply_error(w, tmp.data);
    buffer_release(&tmp);
}

void reply_integer(reply_writer *w, int64_t value)
{
    append_header(w, ':', value);
}

void reply_bulk(reply_writer *w, const void *data, size_t len)
{
    buffer_reserve(&w->out, len + 32);
    append_header(w, '$', (int64_t)len);
    buffer_append(&w->out, data, len);
    buffer_append(&w->out, "\r\n", 2);
}

void reply_bulk_cstr(reply_writer *w, const char *s)
{
    if (s == NULL)
        reply_null(w);
    else
        reply_bulk(w, s, strlen(s));
}

void reply_bulk_integer(reply_writer *w, int64_t value)
{
    char digits[24];
    size_t n = number_format_int64(digits, value);
    reply_bulk(w, digits, n);
}

void reply_double(reply_writer *w, double value)
{
    char digits[40];
    size_t n = number_format_double(digits, value);
    if (w->protocol >= 3) {
        buffer_reserve(&w->out, n + 3);
        buffer_append_char(&w->out, ',');
        buffer_append(&w->out, digits, n);
        buffer_append(&w->out, "\r\n", 2);
    } else {
        reply_bulk(w, digits, n);
    }
}

void reply_long_double_bulk(reply_writer *w, long double value)
{
    char digits[5120];
    size_t n = number_format_long_double(digits, sizeof(digits), value);
    reply_bulk(w, digits, n);
}

void reply_null(reply_writer *w)
{
    if (w->protocol >= 3)
        buffer_append(&w->out, "_\r\n", 3);
    else
        buffer_append(&w->out, "$-1\r\n", 5);
}

void reply_null_array(reply_writer *w)
{
    if (w->protocol >= 3)
        buffer_append(&w->out, "_\r\n", 3);
    else
        buffer_append(&w->out, "*-1\r\n", 5);
}

void reply_bool(reply_writer *w, int value)
{
    if (w->protocol >= 3)
        buffer_append(&w->out, value ? "#t\r\n" : "#f\r\n", 4);
    else
        buffer_append(&w->out, value ? ":1\r\n" : ":0\r\n", 4);
}

void reply_array(reply_writer *w, size_t count)
{
    append_header(w, '*', (int64_t)count);
}

void reply_map(reply_writer *w, size_t pairs)
{
    if (w->protocol >= 3)
        append_header(w, '%', (int64_t)pairs);
    else
        append_header(w, '*', (int64_t)(pairs * 2));
}

void reply_set(reply_writer *w, size_t count)
{
    append_header(w, w->protocol >= 3 ? '~' : '*', (int64_t)count);
}

void reply_push(reply_writer *w, size_t count)
{
    append_header(w, w->protocol >= 3 ? '>' : '*', (int64_t)count);
}

void reply_verbatim(reply_writer *w, const char *data, size_t len, const char *ext)
{
    if (w->protocol < 3) {
        reply_bulk(w, data, len);
        return;
    }
    buffer_reserve(&w->out, len + 40);
    append_header(w, '=', (int64_t)len + 4);
    buffer_append(&w->out, ext, 3);
    buffer_append_char(&w->out, ':');
    buffer_append(&w->out, data, len);
    buffer_append(&w->out, "\r\n", 2);
}

void reply_empty_array(reply_writer *w)
{
    buffer_append(&w->out, "*0\r\n", 4);
}

void reply_big_number(reply_writer *w, const char *digits, size_t len)
{
    if (w->protocol < 3) {
        reply_bulk(w, digits, len);
        return;
    }
    buffer_reserve(&w->out, len + 3);
    buffer_append_char(&w->out, '(');
    buffer_append(&w->out, digits, len);
    buffer_append(&w->out, "\r\n", 2);
}

int reply_attribute(reply_writer *w, size_t pairs)
{
    if (w->protocol < 3)
        return 0;
    append_header(w, '|', (int64_t)pairs);
    return 1;
}

/* A deferred header is inserted later at the reserved offset. Inserting means
 * moving the bytes written since, which is fine for the commands that use it
 * (KEYS, SCAN, COMMAND, ...): their replies are built once. */
size_t reply_defer(reply_writer *w)
{
    return w->out.len;
}

static void fill_deferred(reply_writer *w, size_t handle, char prefix, size_t count)
{
    char header[32];
    header[0] = prefix;
    size_t n = 1 + number_format_int64(header + 1, (int64_t)count);
    header[n++] = '\r';
    header[n++] = '\n';
    buffer_reserve(&w->out, n);
    memmove(w->out.data + handle + n, w->out.data + handle, w->out.len - handle);
    memcpy(w->out.data + handle, header, n);
    w->out.len += n;
    w->out.data[w->out.len] = '\0';
}

void reply_defer_array(reply_writer *w, size_t handle, size_t count)
{
    fill_deferred(w, handle, '*', count);
}

void reply_defer_map(reply_writer *w, size_t handle, size_t pairs)
{
    if (w->protocol >= 3)
        fill_deferred(w, handle, '%', pairs);
    else
        fill_deferred(w, handle, '*', pairs * 2);
}

void reply_defer_set(reply_writer *w, size_t handle, size_t count)
{
    fill_deferred(w, handle, w->protocol >= 3 ? '~' : '*', count);
}
