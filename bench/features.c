/* features: throughput of the patterns issue #4 names, driven the same way
 * against any server so Redis and Rivet can be compared in one run.
 *
 *   features PORT publish SUBSCRIBERS MESSAGES
 *       SUBSCRIBERS connections SUBSCRIBE one channel; one publisher sends
 *       MESSAGES PUBLISHes pipelined 64 deep; the clock stops when every
 *       subscriber has read every message. Prints deliveries per second.
 *   features PORT evalsha REQUESTS
 *       the compare-and-delete lock release (EVALSHA, key and token), each
 *       preceded by the SET that takes the lock, 64 pairs per round trip.
 *       Prints releases per second.
 *   features PORT fcall REQUESTS
 *       the same release as a function (FUNCTION LOAD once, then FCALL).
 *   features PORT multi REQUESTS
 *       MULTI, SET, INCR, GET, EXPIRE, EXEC, 16 transactions per round trip.
 *       Prints transactions per second.
 */
#include <hiredis/hiredis.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static double now_seconds(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static redisContext *connect_or_die(int port)
{
    redisContext *c = redisConnect("127.0.0.1", port);
    if (c == NULL || c->err) {
        fprintf(stderr, "features: cannot connect to %d\n", port);
        exit(1);
    }
    return c;
}

static void read_replies(redisContext *c, int n)
{
    for (int i = 0; i < n; i++) {
        redisReply *r;
        if (redisGetReply(c, (void **)&r) != REDIS_OK) {
            fprintf(stderr, "features: connection error\n");
            exit(1);
        }
        freeReplyObject(r);
    }
}

static int bench_publish(int port, int subscribers, long messages)
{
    redisContext **subs = calloc((size_t)subscribers, sizeof(*subs));
    long *seen = calloc((size_t)subscribers, sizeof(*seen));
    struct pollfd *fds = calloc((size_t)subscribers, sizeof(*fds));
    for (int i = 0; i < subscribers; i++) {
        subs[i] = connect_or_die(port);
        redisReply *r = redisCommand(subs[i], "SUBSCRIBE bench-channel");
        freeReplyObject(r);
        fds[i].fd = subs[i]->fd;
        fds[i].events = POLLIN;
    }
    redisContext *pub = connect_or_die(port);
    double start = now_seconds();
    long sent = 0, done_subscribers = 0;
    while (done_subscribers < subscribers) {
        if (sent < messages) {
            int batch = messages - sent < 64 ? (int)(messages - sent) : 64;
            for (int i = 0; i < batch; i++)
                redisAppendCommand(pub, "PUBLISH bench-channel %ld", sent + i);
            read_replies(pub, batch);
            sent += batch;
        }
        if (poll(fds, (nfds_t)subscribers, sent < messages ? 0 : 100) <= 0)
            continue;
        for (int i = 0; i < subscribers; i++) {
            if (!(fds[i].revents & POLLIN) || seen[i] == messages)
                continue;
            if (redisBufferRead(subs[i]) != REDIS_OK)
                exit(1);
            void *reply;
            while (redisGetReplyFromReader(subs[i], &reply) == REDIS_OK && reply) {
                freeReplyObject(reply);
                if (++seen[i] == messages)
                    done_subscribers++;
            }
        }
    }
    double took = now_seconds() - start;
    printf("%.0f\n", (double)messages * subscribers / took);
    for (int i = 0; i < subscribers; i++)
        redisFree(subs[i]);
    redisFree(pub);
    free(subs);
    free(seen);
    free(fds);
    return 0;
}

static const char *release_script =
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) "
    "else return 0 end";

static int bench_evalsha(int port, long requests)
{
    redisContext *c = connect_or_die(port);
    redisReply *r = redisCommand(c, "SCRIPT LOAD %s", release_script);
    char sha[64];
    snprintf(sha, sizeof(sha), "%s", r->str);
    freeReplyObject(r);
    double start = now_seconds();
    for (long done = 0; done < requests; done += 64) {
        for (int i = 0; i < 64; i++) {
            redisAppendCommand(c, "SET lock:%d token-%ld NX PX 30000", i, done + i);
            redisAppendCommand(c, "EVALSHA %s 1 lock:%d token-%ld", sha, i, done + i);
        }
        read_replies(c, 128);
    }
    printf("%.0f\n", (double)requests / (now_seconds() - start));
    redisFree(c);
    return 0;
}

static const char *release_library =
    "#!lua name=benchlock\n"
    "redis.register_function('release', function(keys, args)\n"
    "  if redis.call('get', keys[1]) == args[1] then return redis.call('del', keys[1]) end\n"
    "  return 0 end)";

/* The same release as a Redis 7 function: FCALL instead of EVALSHA. */
static int bench_fcall(int port, long requests)
{
    redisContext *c = connect_or_die(port);
    redisReply *r = redisCommand(c, "FUNCTION LOAD REPLACE %s", release_library);
    freeReplyObject(r);
    double start = now_seconds();
    for (long done = 0; done < requests; done += 64) {
        for (int i = 0; i < 64; i++) {
            redisAppendCommand(c, "SET lock:%d token-%ld NX PX 30000", i, done + i);
            redisAppendCommand(c, "FCALL release 1 lock:%d token-%ld", i, done + i);
        }
        read_replies(c, 128);
    }
    printf("%.0f\n", (double)requests / (now_seconds() - start));
    redisFree(c);
    return 0;
}

static int bench_multi(int port, long requests)
{
    redisContext *c = connect_or_die(port);
    double start = now_seconds();
    for (long done = 0; done < requests; done += 16) {
        for (int i = 0; i < 16; i++) {
            redisAppendCommand(c, "MULTI");
            redisAppendCommand(c, "SET saga:%d:state running", i);
            redisAppendCommand(c, "INCR saga:%d:retries", i);
            redisAppendCommand(c, "GET saga:%d:state", i);
            redisAppendCommand(c, "EXPIRE saga:%d:retries 3600", i);
            redisAppendCommand(c, "EXEC");
        }
        read_replies(c, 16 * 6);
    }
    printf("%.0f\n", (double)requests / (now_seconds() - start));
    redisFree(c);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 5 && strcmp(argv[2], "publish") == 0)
        return bench_publish(atoi(argv[1]), atoi(argv[3]), atol(argv[4]));
    if (argc >= 4 && strcmp(argv[2], "evalsha") == 0)
        return bench_evalsha(atoi(argv[1]), atol(argv[3]));
    if (argc >= 4 && strcmp(argv[2], "fcall") == 0)
        return bench_fcall(atoi(argv[1]), atol(argv[3]));
    if (argc >= 4 && strcmp(argv[2], "multi") == 0)
        return bench_multi(atoi(argv[1]), atol(argv[3]));
    fprintf(stderr, "usage: features PORT publish SUBSCRIBERS MESSAGES | evalsha N | fcall N | multi N\n");
    return 2;
}
