/* evict: keeps used memory under maxmemory. Before a command that may grow
 * memory, keys are removed per maxmemory-policy in bounded slices (a time and
 * key budget per call), so lowering maxmemory sharply never stalls the loop;
 * a periodic slice finishes what commands leave. LRU and TTL choices are
 * approximate: sampled keys feed a small pool of the best candidates. */
#ifndef RIVET_EVICT_H
#define RIVET_EVICT_H

#include <stddef.h>

#include "rivet/client.h"
#include "rivet/command.h"
#include "rivet/keyspace.h"

#define EVICT_OOM_ERROR "OOM command not allowed when used memory > 'maxmemory'."

/* maxmemory-policy values: indexes into config_maxmemory_policy_names. */
enum evict_policy {
    EVICT_NOEVICTION = 0,
    EVICT_ALLKEYS_LRU,
    EVICT_ALLKEYS_LFU,
    EVICT_ALLKEYS_RANDOM,
    EVICT_VOLATILE_LRU,
    EVICT_VOLATILE_LFU,
    EVICT_VOLATILE_RANDOM,
    EVICT_VOLATILE_TTL,
};

typedef enum evict_result {
    EVICT_OK,      /* under the limit (or no limit) */
    EVICT_RUNNING, /* still over, but keys were freed: later slices continue */
    EVICT_FAIL,    /* over the limit and nothing the policy may evict */
} evict_result;

typedef struct evict_limits {
    size_t maxmemory; /* bytes; 0 = no limit */
    int policy;       /* enum evict_policy */
    int samples;      /* keys sampled per database per round */
    int64_t time_us;  /* slice budget in microseconds */
    size_t max_keys;  /* slice budget in keys */
    /* lazyfree-lazy-eviction: evicted values go through the lazy-free hook,
     * and memory still held by values being freed elsewhere (reported by
     * in_flight) does not count against the limit, so a slice neither waits
     * for the workers nor evicts more keys to make up for their lag. */
    int lazy;
    size_t (*in_flight)(void);
} evict_limits;

/* One eviction slice over ks, judged by mem_used() (less in_flight() when
 * lazy). Each evicted key is deleted, counted in keyspace_stats.evicted_keys
 * and announced with the "evicted" event. */
evict_result evict_run(keyspace *ks, const evict_limits *limits);

/* Dispatch's check before running or queueing cmd for c (server config):
 * frees memory if over maxmemory and returns nonzero when the command must be
 * rejected with EVICT_OOM_ERROR (a may-grow-memory command, or anything but
 * EXEC/DISCARD/QUIT/RESET inside MULTI, while nothing more can be evicted). */
int evict_before_command(client *c, const command *cmd);

/* The periodic slice (net/'s timer): continues eviction that commands left
 * unfinished, so memory falls under a lowered limit even with no writes. */
void evict_cron(void);

/* Drops the candidate pool (keys remembered between slices). */
void evict_release(void);

#endif
