/* MEMORY: USAGE, STATS, DOCTOR, PURGE, MALLOC-STATS, HELP. Every figure
 * comes from the allocation wrapper (src/core/memory.c), which counts the
 * usable size of each block, so USAGE of a key and STATS add up to what
 * INFO memory reports. */
#include <stdio.h>
#include <string.h>

#include "handlers.h"
#include "rivet/lazyfree.h"
#include "rivet/memory.h"
#include "rivet/net.h"
#include "rivet/script.h"
#include "rivet/server.h"

#include "table.h"

#define USAGE_DEFAULT_SAMPLES 5

/* MEMORY USAGE key [SAMPLES count] */
static void command_memory_usage(client *c)
{
    int64_t samples = USAGE_DEFAULT_SAMPLES;
    for (int i = 3; i < c->argc; i += 2) {
        if (!argument_is(c, i, "samples") || i + 1 >= c->argc) {
            reply_error(&c->reply, ERR_SYNTAX);
            return;
        }
        if (!argument_int64(c, i + 1, &samples))
            return;
        if (samples < 0) {
            reply_error(&c->reply, ERR_SYNTAX);
            return;
        }
    }
    kv_entry *e = keyspace_lookup_read(c->db, c->argv[2], c->argv_len[2], 1);
    if (e == NULL) {
        reply_null(&c->reply);
        return;
    }
    reply_integer(&c->reply, (int64_t)keyspace_entry_memory(server.keyspace, e, (size_t)samples));
}

typedef struct memory_totals {
    size_t used, peak, rss, clients, tables, keys, lua;
} memory_totals;

static memory_totals memory_measure(void)
{
    memory_totals t = {0};
    t.used = mem_used();
    t.rss = mem_rss();
    if (t.used > server.stats.peak_memory)
        server.stats.peak_memory = t.used;
    t.peak = server.stats.peak_memory;
    size_t max_in, max_out;
    net_totals(&max_in, &max_out, &t.clients);
    for (int i = 0; i < keyspace_database_count(server.keyspace); i++) {
        database *db = keyspace_database(server.keyspace, i);
        t.tables += keyspace_table_memory(db);
        t.keys += keyspace_size(db);
    }
    t.lua = script_memory_used();
    return t;
}

static void pair_integer(client *c, const char *name, int64_t value)
{
    reply_bulk_cstr(&c->reply, name);
    reply_integer(&c->reply, value);
}

static void pair_double(client *c, const char *name, double value)
{
    reply_bulk_cstr(&c->reply, name);
    reply_double(&c->reply, value);
}

static double ratio(size_t a, size_t b)
{
    return b ? (double)a / (double)b : 0.0;
}

/* MEMORY STATS: Redis's field names and order; figures Rivet does not have
 * (replication, cluster, functions) are 0. */
static void command_memory_stats(client *c)
{
    memory_totals t = memory_measure();
    int databases = 0;
    for (int i = 0; i < keyspace_database_count(server.keyspace); i++)
        if (keyspace_size(keyspace_database(server.keyspace, i)) > 0)
            databases++;
    size_t overhead = t.clients + t.tables;
    size_t dataset = t.used > overhead ? t.used - overhead : 0;
    reply_map(&c->reply, 27 + (size_t)databases);
    pair_integer(c, "peak.allocated", (int64_t)t.peak);
    pair_integer(c, "total.allocated", (int64_t)t.used);
    pair_integer(c, "startup.allocated", 0);
    pair_integer(c, "replication.backlog", 0);
    pair_integer(c, "clients.slaves", 0);
    pair_integer(c, "clients.normal", (int64_t)t.clients);
    pair_integer(c, "cluster.links", 0);
    pair_integer(c, "aof.buffer", 0);
    pair_integer(c, "lua.caches", (int64_t)t.lua);
    pair_integer(c, "functions.caches", 0);
    for (int i = 0; i < keyspace_database_count(server.keyspace); i++) {
        database *db = keyspace_database(server.keyspace, i);
        if (keyspace_size(db) == 0)
            continue;
        char name[32];
        snprintf(name, sizeof(name), "db.%d", i);
        reply_bulk_cstr(&c->reply, name);
        reply_map(&c->reply, 3);
        pair_integer(c, "overhead.hashtable.main", (int64_t)keyspace_table_memory(db));
        /* TTLs live inside the entries and the timing wheel: no table. */
        pair_integer(c, "overhead.hashtable.expires", 0);
        pair_integer(c, "overhead.hashtable.slot-to-keys", 0);
    }
    pair_integer(c, "overhead.total", (int64_t)overhead);
    pair_integer(c, "keys.count", (int64_t)t.keys);
    pair_integer(c, "keys.bytes-per-key", t.keys ? (int64_t)(dataset / t.keys) : 0);
    pair_integer(c, "dataset.bytes", (int64_t)dataset);
    pair_double(c, "dataset.percentage", 100.0 * ratio(dataset, t.used));
    pair_double(c, "peak.percentage", 100.0 * ratio(t.used, t.peak));
    pair_integer(c, "allocator.allocated", (int64_t)t.used);
    pair_integer(c, "allocator.active", (int64_t)t.used);
    pair_integer(c, "allocator.resident", (int64_t)t.rss);
    pair_double(c, "allocator-fragmentation.ratio", 1.0);
    pair_integer(c, "allocator-fragmentation.bytes", 0);
    pair_double(c, "allocator-rss.ratio", ratio(t.rss, t.used));
    pair_integer(c, "allocator-rss.bytes", (int64_t)t.rss - (int64_t)t.used);
    pair_double(c, "rss-overhead.ratio", 1.0);
    pair_integer(c, "rss-overhead.bytes", 0);
    pair_double(c, "fragmentation", ratio(t.rss, t.used));
    pair_integer(c, "fragmentation.bytes", (int64_t)t.rss - (int64_t)t.used);
}

/* MEMORY DOCTOR: a short report in plain words on what looks wrong. */
static void command_memory_doctor(client *c)
{
    memory_totals t = memory_measure();
    buffer text;
    buffer_init(&text);
    if (t.used < 5 * 1024 * 1024) {
        buffer_append_cstr(&text, "Rivet memory doctor: this instance holds less than 5 MB, too "
                                  "little for a meaningful diagnosis.");
    } else {
        int problems = 0;
        double frag = ratio(t.rss, t.used);
        if (frag > 1.4) {
            buffer_appendf(&text,
                           "* High fragmentation: the process holds %.2f times the memory its "
                           "data uses. MEMORY PURGE returns dirty pages to the system; a restart "
                           "compacts everything.\n",
                           frag);
            problems++;
        }
        if (t.peak > t.used + t.used / 2) {
            buffer_appendf(&text,
                           "* Peak memory (%zu bytes) was more than 1.5 times today's usage; the "
                           "allocator may keep some of that peak resident.\n",
                           t.peak);
            problems++;
        }
        if (t.clients > t.used / 4) {
            buffer_appendf(&text,
                           "* Client buffers take %zu bytes, over a quarter of used memory: look "
                           "for slow readers (CLIENT LIST omem) or big pipelines.\n",
                           t.clients);
            problems++;
        }
        if (server.config.maxmemory > 0 && t.used > (size_t)server.config.maxmemory) {
            buffer_append_cstr(&text, "* used_memory is over maxmemory: eviction is running.\n");
            problems++;
        }
        if (problems == 0)
            buffer_append_cstr(&text,
                               "Rivet memory doctor: no memory problems found in this instance.");
    }
    reply_verbatim(&c->reply, text.data, text.len, "txt");
    buffer_release(&text);
}

static void command_memory_purge(client *c)
{
    mem_purge();
    reply_ok(&c->reply);
}

static void command_memory_malloc_stats(client *c)
{
    buffer text;
    buffer_init(&text);
    mem_allocator_report(&text);
    reply_verbatim(&c->reply, text.data, text.len, "txt");
    buffer_release(&text);
}

static void command_memory_help(client *c)
{
    static const char *const lines[] = {
        "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DOCTOR",
        "    Return memory problems reports.",
        "MALLOC-STATS",
        "    Return internal statistics report from the memory allocator.",
        "PURGE",
        "    Attempt to purge dirty pages for reclamation by the allocator.",
        "STATS",
        "    Return information about the memory usage of the server.",
        "USAGE <key> [SAMPLES <count>]",
        "    Return memory in bytes used by <key> and its value. Nested values are",
        "    sampled up to <count> times (default: 5, 0 means sample all).",
        "HELP",
        "    Prints this help.",
        NULL,
    };
    reply_help(c, lines);
}

static command memory_subcommands[] = {
    ROW("doctor", 2, 0, C_SLOW, 0, 0, 0, 0, command_memory_doctor, "server", "4.0.0", "O(1)",
        "Outputs a memory problems report."),
    ROW("help", 2, LOADING | STALE, C_SLOW, 0, 0, 0, 0, command_memory_help, "server", "4.0.0",
        "O(1)", "Returns helpful text about the different subcommands."),
    ROW("malloc-stats", 2, 0, C_SLOW, 0, 0, 0, 0, command_memory_malloc_stats, "server", "4.0.0",
        "Depends on how much memory is allocated, could be slow",
        "Returns the allocator statistics."),
    ROW("purge", 2, 0, C_SLOW, 0, 0, 0, 0, command_memory_purge, "server", "4.0.0",
        "Depends on how much memory is allocated, could be slow",
        "Asks the allocator to release memory."),
    ROW("stats", 2, 0, C_SLOW, 0, 0, 0, 0, command_memory_stats, "server", "4.0.0", "O(1)",
        "Returns details about memory usage."),
    ROW("usage", -3, R, C_R | C_SLOW, 2, 2, 1, KEY_RO, command_memory_usage, "server", "4.0.0",
        "O(N) where N is the number of samples.", "Estimates the memory usage of a key."),
    {0}};

const command memory_command_rows[] = {PARENT("memory", -2, memory_subcommands, "server", "4.0.0",
                                              "A container for memory diagnostics commands."),
                                       {0}};
