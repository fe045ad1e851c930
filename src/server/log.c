/* Log lines in Redis's shape, "pid:M 22 Nov 2026 07:40:01.123 * message",
 * so log tooling written for Redis reads ours too. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "rivet/server.h"

void server_log(int level, const char *fmt, ...)
{
    if (level < server.config.loglevel || server.config.loglevel >= LOG_NOTHING)
        return;
    const char *path = server.config.logfile;
    FILE *out = (path == NULL || path[0] == '\0') ? stdout : fopen(path, "a");
    if (out == NULL)
        return;
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);

    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    char stamp[64];
    size_t n = strftime(stamp, sizeof(stamp), "%d %b %Y %H:%M:%S.", &tm);
    snprintf(stamp + n, sizeof(stamp) - n, "%03d", (int)(tv.tv_usec / 1000));
    static const char marks[] = ".-*#";
    fprintf(out, "%d:M %s %c %s\n", (int)getpid(), stamp, marks[level < 4 ? level : 3], message);
    fflush(out);
    if (out != stdout)
        fclose(out);
}
