/* Lazy freeing on libuv's thread pool. A job carries either one value or a
 * detached database. The worker frees it inside mem_background_begin/end, so
 * used_memory has a single writer; the after-work callback, back on the
 * loop, applies the tally. Until then used_memory still counts the memory
 * being freed, which errs on the safe side for maxmemory. */
#include "rivet/lazyfree.h"

#include <uv.h>

#include "rivet/memory.h"
#include "rivet/net.h"
#include "rivet/server.h"

typedef struct lazyfree_job {
    uv_work_t work; /* first: the callbacks get this pointer */
    keyspace *ks;
    object_type type;
    object_encoding encoding;
    void *value;                 /* one value, or */
    keyspace_detached *detached; /* a whole database's former contents */
    size_t objects;
    size_t bytes; /* estimate of what the job frees (values only) */
    int64_t memory_delta;
} lazyfree_job;

static size_t pending_objects;
static size_t pending_bytes;
static uint64_t freed_objects;

static void job_run(uv_work_t *work)
{
    lazyfree_job *job = (lazyfree_job *)work;
    mem_background_begin();
    if (job->detached)
        keyspace_detached_free(job->detached);
    else
        keyspace_value_free(job->ks, job->type, job->encoding, job->value);
    job->memory_delta = mem_background_end();
}

static void job_done(uv_work_t *work, int status)
{
    (void)status; /* jobs are never cancelled */
    lazyfree_job *job = (lazyfree_job *)work;
    mem_account(job->memory_delta);
    pending_objects -= job->objects;
    pending_bytes -= job->bytes;
    freed_objects += job->objects;
    mem_free(job);
}

/* Queues job, or runs it here when there is no loop (tests, fuzzer). */
static void job_submit(lazyfree_job *job)
{
    uv_loop_t *loop = net_loop();
    if (loop == NULL) {
        if (job->detached)
            keyspace_detached_free(job->detached);
        else
            keyspace_value_free(job->ks, job->type, job->encoding, job->value);
        mem_free(job);
        return;
    }
    pending_objects += job->objects;
    pending_bytes += job->bytes;
    uv_queue_work(loop, &job->work, job_run, job_done);
}

void lazyfree_value(keyspace *ks, object_type type, object_encoding encoding, void *value)
{
    size_t effort = keyspace_value_free_effort(ks, type, encoding, value);
    if (effort <= LAZYFREE_THRESHOLD || net_loop() == NULL) {
        keyspace_value_free(ks, type, encoding, value);
        return;
    }
    lazyfree_job *job = mem_calloc(sizeof(*job));
    job->ks = ks;
    job->type = type;
    job->encoding = encoding;
    job->value = value;
    job->objects = 1;
    /* Sampled, so handing over a huge value stays cheap; eviction uses it
     * to see memory that is already on its way out. */
    job->bytes = keyspace_value_memory(ks, type, encoding, value, 16);
    job_submit(job);
}

static void keyspace_hook(void *ctx, object_type type, object_encoding encoding, void *value)
{
    lazyfree_value(ctx, type, encoding, value);
}

void lazyfree_configure(keyspace *ks)
{
    int flags = 0;
    if (server.config.lazyfree_lazy_expire)
        flags |= KEYSPACE_LAZY_EXPIRE;
    if (server.config.lazyfree_lazy_server_del)
        flags |= KEYSPACE_LAZY_OVERWRITE;
    keyspace_set_lazy_free(ks, keyspace_hook, ks, flags);
}

void lazyfree_flush_database(database *db)
{
    keyspace_detached *detached = keyspace_flush_detach(db);
    size_t keys = keyspace_detached_keys(detached);
    if (keys == 0 || net_loop() == NULL) {
        keyspace_detached_free(detached);
        return;
    }
    lazyfree_job *job = mem_calloc(sizeof(*job));
    job->detached = detached;
    job->objects = keys;
    job_submit(job);
}

size_t lazyfree_pending_bytes(void)
{
    return pending_bytes;
}

size_t lazyfree_pending_objects(void)
{
    return pending_objects;
}

uint64_t lazyfree_freed_objects(void)
{
    return freed_objects;
}
