/* primitives: the state patterns services build on Redis, against Rivet's
 * native commands, driven the same way so the two can be compared in one run.
 *
 *   primitives PORT OPERATION native|pattern CLIENTS SECONDS
 *
 * CLIENTS connections each keep one operation in flight (a closed loop, as
 * request handlers do: no pipelining across operations); one thread
 * multiplexes them with poll. Prints "ops_per_second round_trips_per_op".
 *
 * Operations (keys spread over 1000 users / resources):
 *   ratelimit  pattern: MULTI ZREMRANGEBYSCORE ZADD ZCARD PEXPIRE EXEC
 *              native:  RL.HIT key LIMIT 100 WINDOW 60000
 *   lock       pattern: SET key token NX PX 30000, then EVALSHA of the
 *                       compare-and-delete release script
 *              native:  LOCK.ACQUIRE key owner 30000, then LOCK.RELEASE
 *   idempotency pattern: SET key in_progress NX PX 30000, then SET key
 *                       response PX 86400000 (the Kafka consumer's marker)
 *              native:  IDEM.BEGIN key 30000, then IDEM.COMPLETE key token
 *                       response 86400000
 *   counter    pattern: EVALSHA of an increment-unless-above-max script
 *              native:  COUNTER.INCR key 1 MAX 1000000000
 * Every operation's replies are checked, so a server that answers errors
 * cannot look fast. */
#define _GNU_SOURCE
#include <hiredis/hiredis.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#define RESOURCES 1000

static const char *release_script =
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) "
    "else return 0 end";
static const char *bounded_incr_script =
    "local v = redis.call('incrby', KEYS[1], ARGV[1]) "
    "if v > tonumber(ARGV[2]) then redis.call('decrby', KEYS[1], ARGV[1]) return false end "
    "return v";

typedef enum { OP_RATELIMIT, OP_LOCK, OP_IDEMPOTENCY, OP_COUNTER } operation;

typedef struct slot {
    redisContext *c;
    int index;       /* names this connection's keys and owner */
    long sequence;   /* operations started on this connection */
    int step;        /* round trip within the current operation */
    int expected;    /* replies the current round trip waits for */
    long long token; /* from the first round trip (native lock / idempotency) */
} slot;

static operation op;
static int native;
static char release_sha[64], incr_sha[64];
static long round_trips;

static double now_seconds(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static void die(const char *what)
{
    fprintf(stderr, "primitives: %s\n", what);
    exit(1);
}

static redisContext *connect_or_die(int port)
{
    redisContext *c = redisConnect("127.0.0.1", port);
    if (c == NULL || c->err)
        die("cannot connect");
    return c;
}

static void load_script(redisContext *c, const char *body, char *sha)
{
    redisReply *r = redisCommand(c, "SCRIPT LOAD %s", body);
    if (r == NULL || r->type != REDIS_REPLY_STRING)
        die("SCRIPT LOAD failed");
    snprintf(sha, 64, "%s", r->str);
    freeReplyObject(r);
}

/* Queues the commands of the slot's next round trip. Returns 0 when the
 * operation is complete. */
static int queue_step(slot *s, long long now_ms)
{
    long id = s->sequence % RESOURCES;
    long unique = s->sequence;
    switch (op) {
    case OP_RATELIMIT:
        if (s->step > 0)
            return 0;
        if (native) {
            redisAppendCommand(s->c, "RL.HIT rl:%ld LIMIT 100 WINDOW 60000", id);
            s->expected = 1;
        } else {
            redisAppendCommand(s->c, "MULTI");
            redisAppendCommand(s->c, "ZREMRANGEBYSCORE rl:%ld 0 %lld", id, now_ms - 60000);
            redisAppendCommand(s->c, "ZADD rl:%ld %lld %d-%ld", id, now_ms, s->index, unique);
            redisAppendCommand(s->c, "ZCARD rl:%ld", id);
            redisAppendCommand(s->c, "PEXPIRE rl:%ld 60000", id);
            redisAppendCommand(s->c, "EXEC");
            s->expected = 6;
        }
        return 1;
    case OP_LOCK:
        if (s->step == 0) {
            if (native)
                redisAppendCommand(s->c, "LOCK.ACQUIRE lock:%d:%ld owner-%d 30000", s->index, id,
                                   s->index);
            else
                redisAppendCommand(s->c, "SET lock:%d:%ld token-%ld NX PX 30000", s->index, id,
                                   unique);
        } else if (s->step == 1) {
            if (native)
                redisAppendCommand(s->c, "LOCK.RELEASE lock:%d:%ld owner-%d", s->index, id,
                                   s->index);
            else
                redisAppendCommand(s->c, "EVALSHA %s 1 lock:%d:%ld token-%ld", release_sha,
                                   s->index, id, unique);
        } else {
            return 0;
        }
        s->expected = 1;
        return 1;
    case OP_IDEMPOTENCY:
        if (s->step == 0) {
            if (native)
                redisAppendCommand(s->c, "IDEM.BEGIN event:%d:%ld 30000", s->index, unique);
            else
                redisAppendCommand(s->c, "SET event:%d:%ld in_progress NX PX 30000", s->index,
                                   unique);
        } else if (s->step == 1) {
            if (native)
                redisAppendCommand(s->c,
                                   "IDEM.COMPLETE event:%d:%ld %lld {\"status\":200} 86400000",
                                   s->index, unique, s->token);
            else
                redisAppendCommand(s->c, "SET event:%d:%ld {\"status\":200} PX 86400000", s->index,
                                   unique);
        } else {
            return 0;
        }
        s->expected = 1;
        return 1;
    case OP_COUNTER:
        if (s->step > 0)
            return 0;
        if (native)
            redisAppendCommand(s->c, "COUNTER.INCR stock:%ld 1 MAX 1000000000", id);
        else
            redisAppendCommand(s->c, "EVALSHA %s 1 stock:%ld 1 1000000000", incr_sha, id);
        s->expected = 1;
        return 1;
    }
    return 0;
}

/* Checks one reply of the slot's current round trip; keeps what later
 * steps need. */
static void check_reply(slot *s, const redisReply *r)
{
    if (r->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "primitives: error reply: %s\n", r->str);
        exit(1);
    }
    if (op == OP_IDEMPOTENCY && native && s->step == 0) {
        /* ["acquired", token] */
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
            r->element[1]->type != REDIS_REPLY_INTEGER)
            die("IDEM.BEGIN did not acquire");
        s->token = r->element[1]->integer;
    }
    if (op == OP_LOCK && s->step == 0 && r->type == REDIS_REPLY_NIL)
        die("lock not acquired");
}

static void start_operation(slot *s, long long now_ms)
{
    s->step = 0;
    queue_step(s, now_ms);
    round_trips++;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: primitives PORT ratelimit|lock|idempotency|counter "
                        "native|pattern CLIENTS SECONDS\n");
        return 2;
    }
    int port = atoi(argv[1]);
    const char *names[] = {"ratelimit", "lock", "idempotency", "counter"};
    op = (operation)-1;
    for (int i = 0; i < 4; i++)
        if (strcmp(argv[2], names[i]) == 0)
            op = (operation)i;
    if ((int)op < 0)
        die("unknown operation");
    native = strcmp(argv[3], "native") == 0;
    int clients = atoi(argv[4]);
    double seconds = atof(argv[5]);

    redisContext *admin = connect_or_die(port);
    load_script(admin, release_script, release_sha);
    load_script(admin, bounded_incr_script, incr_sha);

    slot *slots = calloc((size_t)clients, sizeof(*slots));
    struct pollfd *fds = calloc((size_t)clients, sizeof(*fds));
    double start = now_seconds(), end = start + seconds;
    long long now_ms = (long long)(start * 1000);
    for (int i = 0; i < clients; i++) {
        slots[i].c = connect_or_die(port);
        slots[i].index = i;
        fds[i].fd = slots[i].c->fd;
        start_operation(&slots[i], now_ms);
    }
    long completed = 0;
    int running = clients;
    while (running > 0) {
        for (int i = 0; i < clients; i++) {
            int done = 0;
            fds[i].events = POLLIN;
            if (slots[i].c && redisBufferWrite(slots[i].c, &done) == REDIS_OK && !done)
                fds[i].events |= POLLOUT;
        }
        if (poll(fds, (nfds_t)clients, 1000) <= 0)
            continue;
        double t = now_seconds();
        now_ms = (long long)(t * 1000);
        for (int i = 0; i < clients; i++) {
            slot *s = &slots[i];
            if (s->c == NULL || !(fds[i].revents & POLLIN))
                continue;
            if (redisBufferRead(s->c) != REDIS_OK)
                die("connection lost");
            void *reply;
            while (s->expected > 0 && redisGetReplyFromReader(s->c, &reply) == REDIS_OK && reply) {
                check_reply(s, reply);
                freeReplyObject(reply);
                s->expected--;
            }
            if (s->expected > 0)
                continue;
            s->step++;
            if (queue_step(s, now_ms)) {
                round_trips++;
                continue;
            }
            completed++;
            s->sequence++;
            if (t >= end) {
                redisFree(s->c);
                s->c = NULL;
                fds[i].fd = -1;
                running--;
            } else {
                start_operation(s, now_ms);
            }
        }
    }
    double took = now_seconds() - start;
    printf("%.0f %.2f\n", (double)completed / took, (double)round_trips / (double)completed);
    redisFree(admin);
    free(slots);
    free(fds);
    return 0;
}
