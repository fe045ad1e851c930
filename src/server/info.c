/* INFO: Redis's sections and field names, so tools and clients that parse
 * INFO (ioredis reads loading:, BullMQ reads redis_version and
 * maxmemory_policy) read ours unchanged. Rivet's own identity is reported in
 * extra fields (server_name, rivet_version). */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "rivet/aof.h"
#include "rivet/blocking.h"
#include "rivet/errorstats.h"
#include "rivet/evict.h"
#include "rivet/lazyfree.h"
#include "rivet/memory.h"
#include "rivet/net.h"
#include "rivet/pubsub.h"
#include "rivet/script.h"
#include "rivet/server.h"
#include "rivet/snapshot.h"
#include "rivet/tracking.h"
#include "rivet/slowlog.h"

/* Instantaneous metrics: a ring of samples taken by the cron. */
#define METRIC_SAMPLES 16
typedef struct metric {
    int64_t last_ms;
    uint64_t last_value;
    double samples[METRIC_SAMPLES];
    int next;
} metric;

static metric ops_metric, input_metric, output_metric;

static void metric_sample(metric *m, uint64_t value, int64_t now_ms)
{
    if (m->last_ms != 0 && now_ms > m->last_ms) {
        double per_second =
            (double)(value - m->last_value) * 1000.0 / (double)(now_ms - m->last_ms);
        m->samples[m->next] = per_second;
        m->next = (m->next + 1) % METRIC_SAMPLES;
    }
    m->last_ms = now_ms;
    m->last_value = value;
}

static double metric_average(const metric *m)
{
    double sum = 0;
    for (int i = 0; i < METRIC_SAMPLES; i++)
        sum += m->samples[i];
    return sum / METRIC_SAMPLES;
}

void server_cron(void)
{
    server_update_time();
    keyspace_set_time(server.keyspace, server.now_ms);
    keyspace_rehash_step(server.keyspace, 100);
    snapshot_cron();
    aof_cron();
    size_t used = mem_used();
    if (used > server.stats.peak_memory)
        server.stats.peak_memory = used;
    metric_sample(&ops_metric, server.stats.commands_processed, server.now_ms);
    metric_sample(&input_metric, server.stats.net_input_bytes, server.now_ms);
    metric_sample(&output_metric, server.stats.net_output_bytes, server.now_ms);
}

void server_reset_stats(void)
{
    uint64_t peak = server.stats.peak_memory;
    memset(&server.stats, 0, sizeof(server.stats));
    server.stats.peak_memory = peak;
    keyspace_stats *ks = keyspace_get_stats(server.keyspace);
    ks->expired_keys = 0;
    ks->evicted_keys = 0;
    ks->hits = 0;
    ks->misses = 0;
    errorstats_reset(server.errorstats);
    for (size_t i = 0; i < command_count(); i++) {
        const command *cmd = command_at(i);
        memset(cmd->stats, 0, sizeof(*cmd->stats));
        for (const command *sub = cmd->subcommands; sub && sub->name; sub++)
            memset(sub->stats, 0, sizeof(*sub->stats));
    }
}

int server_config_changed(const char *name, const char **err)
{
    if (strcasecmp(name, "slowlog-max-len") == 0)
        slowlog_trim(server.slowlog, (size_t)server.config.slowlog_max_len);
    if (strcasecmp(name, "maxmemory-policy") == 0 || strcasecmp(name, "lfu-log-factor") == 0 ||
        strcasecmp(name, "lfu-decay-time") == 0)
        server_apply_access_mode();
    if (strncasecmp(name, "lazyfree-", 9) == 0)
        lazyfree_configure(server.keyspace);
    if (strcasecmp(name, "embed-value-max-bytes") == 0)
        keyspace_set_embed_max(server.keyspace, (size_t)server.config.embed_value_max_bytes);
    if (strcasecmp(name, "appendonly") == 0 && aof_set_enabled(server.config.appendonly) != 0) {
        /* Turning the AOF on needs a fork and files: on failure it stays
         * off, and CONFIG SET says so with Redis's text. */
        server.config.appendonly = 0;
        *err = "Unable to turn on AOF. Check server logs.";
        return -1;
    }
    return 0;
}

void server_apply_access_mode(void)
{
    int policy = (int)server.config.maxmemory_policy;
    keyspace_set_lfu(server.keyspace, policy == EVICT_ALLKEYS_LFU || policy == EVICT_VOLATILE_LFU,
                     (int)server.config.lfu_log_factor, (int)server.config.lfu_decay_time);
}

static void human_bytes(char *buf, size_t size, double bytes)
{
    const char *units = "BKMGTPE";
    int unit = 0;
    while (bytes >= 1024 && unit < 6) {
        bytes /= 1024;
        unit++;
    }
    if (unit == 0)
        snprintf(buf, size, "%.0fB", bytes);
    else
        snprintf(buf, size, "%.2f%c", bytes, units[unit]);
}

static size_t total_system_memory(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? (size_t)pages * (size_t)page : 0;
}

static void section_server(buffer *out)
{
    struct utsname name;
    uname(&name);
    int64_t uptime = (server.now_ms - server.start_ms) / 1000;
    buffer_appendf(
        out,
        "# Server\r\n"
        "redis_version:%s\r\n"
        "redis_git_sha1:00000000\r\n"
        "redis_git_dirty:0\r\n"
        "redis_build_id:0\r\n"
        "redis_mode:standalone\r\n"
        "server_name:%s\r\n"
        "rivet_version:%s\r\n"
        "os:%s %s %s\r\n"
        "arch_bits:%d\r\n"
        "monotonic_clock:POSIX clock_gettime\r\n"
        "multiplexing_api:libuv\r\n"
        "atomicvar_api:c11-builtin\r\n"
        "gcc_version:%d.%d.%d\r\n"
        "process_id:%d\r\n"
        "process_supervised:no\r\n"
        "run_id:%s\r\n"
        "tcp_port:%lld\r\n"
        "server_time_usec:%lld\r\n"
        "uptime_in_seconds:%lld\r\n"
        "uptime_in_days:%lld\r\n"
        "hz:%lld\r\n"
        "configured_hz:%lld\r\n"
        "lru_clock:%u\r\n"
        "executable:%s\r\n"
        "config_file:%s\r\n"
        "io_threads_active:0\r\n",
        RIVET_REDIS_COMPAT_VERSION, RIVET_SERVER_NAME, RIVET_VERSION, name.sysname, name.release,
        name.machine, (int)(sizeof(long) * 8),
#ifdef __GNUC__
        __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__,
#else
        0, 0, 0,
#endif
        (int)getpid(), server.run_id, (long long)server.config.port, (long long)server.now_us,
        (long long)uptime, (long long)(uptime / 86400), (long long)server.config.hz,
        (long long)server.config.hz, keyspace_access_clock_now(server.keyspace) & 0xFFFFFF,
        server.executable ? server.executable : "", server.config_file ? server.config_file : "");
}

static void section_clients(buffer *out)
{
    size_t max_in, max_out, memory;
    net_totals(&max_in, &max_out, &memory);
    buffer_appendf(out,
                   "# Clients\r\n"
                   "connected_clients:%zu\r\n"
                   "cluster_connections:0\r\n"
                   "maxclients:%lld\r\n"
                   "client_recent_max_input_buffer:%zu\r\n"
                   "client_recent_max_output_buffer:%zu\r\n"
                   "blocked_clients:%zu\r\n"
                   "tracking_clients:%zu\r\n"
                   "clients_in_timeout_table:0\r\n",
                   server.connected_clients, (long long)server.config.maxclients, max_in, max_out,
                   blocking_client_count(), tracking_client_count());
}

static void section_memory(buffer *out)
{
    size_t used = mem_used(), rss = mem_rss(), peak = server.stats.peak_memory;
    if (used > peak)
        peak = server.stats.peak_memory = used;
    size_t max_in, max_out, client_memory;
    net_totals(&max_in, &max_out, &client_memory);
    size_t dataset = used > client_memory ? used - client_memory : 0;
    size_t system = total_system_memory();
    char used_h[32], rss_h[32], peak_h[32], system_h[32], max_h[32];
    human_bytes(used_h, sizeof(used_h), (double)used);
    human_bytes(rss_h, sizeof(rss_h), (double)rss);
    human_bytes(peak_h, sizeof(peak_h), (double)peak);
    human_bytes(system_h, sizeof(system_h), (double)system);
    human_bytes(max_h, sizeof(max_h), (double)server.config.maxmemory);
    size_t library_count, function_count;
    function_counts(&library_count, &function_count);
    double frag = used ? (double)rss / (double)used : 0;
    buffer_appendf(
        out,
        "# Memory\r\n"
        "used_memory:%zu\r\n"
        "used_memory_human:%s\r\n"
        "used_memory_rss:%zu\r\n"
        "used_memory_rss_human:%s\r\n"
        "used_memory_peak:%zu\r\n"
        "used_memory_peak_human:%s\r\n"
        "used_memory_peak_perc:%.2f%%\r\n"
        "used_memory_overhead:%zu\r\n"
        "used_memory_startup:0\r\n"
        "used_memory_dataset:%zu\r\n"
        "used_memory_dataset_perc:%.2f%%\r\n"
        "allocator_allocated:%zu\r\n"
        "allocator_active:%zu\r\n"
        "allocator_resident:%zu\r\n"
        "total_system_memory:%zu\r\n"
        "total_system_memory_human:%s\r\n"
        "used_memory_lua:%zu\r\n"
        "used_memory_scripts:0\r\n"
        "number_of_cached_scripts:%zu\r\n"
        "number_of_functions:%zu\r\n"
        "number_of_libraries:%zu\r\n"
        "used_memory_vm_functions:%zu\r\n"
        "used_memory_vm_total:%zu\r\n"
        "maxmemory:%lld\r\n"
        "maxmemory_human:%s\r\n"
        "maxmemory_policy:%s\r\n"
        "mem_fragmentation_ratio:%.2f\r\n"
        "mem_fragmentation_bytes:%lld\r\n"
        "mem_not_counted_for_evict:0\r\n"
        "mem_replication_backlog:0\r\n"
        "mem_clients_slaves:0\r\n"
        "mem_clients_normal:%zu\r\n"
        "mem_aof_buffer:0\r\n"
        "mem_allocator:%s\r\n"
        "active_defrag_running:0\r\n"
        "lazyfree_pending_objects:%zu\r\n"
        "lazyfreed_objects:%llu\r\n",
        used, used_h, rss, rss_h, peak, peak_h, peak ? (double)used * 100.0 / (double)peak : 0.0,
        client_memory, dataset, used ? (double)dataset * 100.0 / (double)used : 0.0, used, used,
        rss, system, system_h, script_memory_used(), script_cached_count(), function_count,
        library_count, function_memory_used(), script_memory_used() + function_memory_used(),
        (long long)server.config.maxmemory, max_h,
        config_maxmemory_policy_names[server.config.maxmemory_policy], frag,
        (long long)rss - (long long)used, client_memory, mem_allocator_name(),
        lazyfree_pending_objects(), (unsigned long long)lazyfree_freed_objects());
}

static void section_persistence(buffer *out)
{
    keyspace_stats *ks = keyspace_get_stats(server.keyspace);
    const snapshot_status *st = snapshot_get_status();
    const aof_status *aof = aof_get_status();
    long long aof_current = aof->rewrite_in_progress
                                ? (long long)((server.now_ms - aof->rewrite_started_ms) / 1000)
                                : -1;
    long long current =
        st->bgsave_in_progress ? (long long)((server.now_ms - st->bgsave_started_ms) / 1000) : -1;
    buffer_appendf(out,
                   "# Persistence\r\n"
                   "loading:%d\r\n"
                   "async_loading:0\r\n"
                   "current_cow_peak:0\r\n"
                   "current_cow_size:0\r\n"
                   "current_cow_size_age:0\r\n"
                   "current_fork_perc:0.00\r\n"
                   "current_save_keys_processed:0\r\n"
                   "current_save_keys_total:0\r\n"
                   "rdb_changes_since_last_save:%llu\r\n"
                   "rdb_bgsave_in_progress:%d\r\n"
                   "rdb_last_save_time:%lld\r\n"
                   "rdb_last_bgsave_status:%s\r\n"
                   "rdb_last_bgsave_time_sec:%lld\r\n"
                   "rdb_current_bgsave_time_sec:%lld\r\n"
                   "rdb_saves:%llu\r\n"
                   "rdb_last_cow_size:0\r\n"
                   "rdb_last_load_keys_expired:%llu\r\n"
                   "rdb_last_load_keys_loaded:%llu\r\n"
                   "aof_enabled:%d\r\n"
                   "aof_rewrite_in_progress:%d\r\n"
                   "aof_rewrite_scheduled:%d\r\n"
                   "aof_last_rewrite_time_sec:%lld\r\n"
                   "aof_current_rewrite_time_sec:%lld\r\n"
                   "aof_last_bgrewrite_status:%s\r\n"
                   "aof_rewrites:%llu\r\n"
                   "aof_rewrites_consecutive_failures:%llu\r\n"
                   "aof_last_write_status:%s\r\n"
                   "aof_last_cow_size:0\r\n"
                   "module_fork_in_progress:0\r\n"
                   "module_fork_last_cow_size:0\r\n",
                   st->loading || aof->loading, (unsigned long long)ks->dirty,
                   st->bgsave_in_progress, (long long)server.last_save_s,
                   st->last_bgsave_ok ? "ok" : "err", (long long)st->last_bgsave_seconds, current,
                   (unsigned long long)st->saves, (unsigned long long)st->last_load_expired,
                   (unsigned long long)st->last_load_keys, aof->enabled, aof->rewrite_in_progress,
                   aof->rewrite_scheduled, (long long)aof->last_rewrite_seconds, aof_current,
                   aof->last_rewrite_ok ? "ok" : "err", (unsigned long long)aof->rewrites,
                   (unsigned long long)aof->rewrite_failures_in_a_row,
                   aof->last_write_ok ? "ok" : "err");
    /* Redis prints these only while AOF is on. */
    if (aof->enabled)
        buffer_appendf(out,
                       "aof_current_size:%llu\r\n"
                       "aof_base_size:%llu\r\n"
                       "aof_pending_rewrite:%d\r\n"
                       "aof_buffer_length:%zu\r\n"
                       "aof_pending_bio_fsync:0\r\n"
                       "aof_delayed_fsync:%llu\r\n",
                       (unsigned long long)aof->current_size, (unsigned long long)aof->base_size,
                       aof->rewrite_scheduled, aof_buffer_length(),
                       (unsigned long long)aof->delayed_fsync);
}

static void section_stats(buffer *out)
{
    keyspace_stats *ks = keyspace_get_stats(server.keyspace);
    buffer_appendf(out,
                   "# Stats\r\n"
                   "total_connections_received:%llu\r\n"
                   "total_commands_processed:%llu\r\n"
                   "instantaneous_ops_per_sec:%.0f\r\n"
                   "total_net_input_bytes:%llu\r\n"
                   "total_net_output_bytes:%llu\r\n"
                   "instantaneous_input_kbps:%.2f\r\n"
                   "instantaneous_output_kbps:%.2f\r\n"
                   "rejected_connections:%llu\r\n"
                   "sync_full:0\r\n"
                   "sync_partial_ok:0\r\n"
                   "sync_partial_err:0\r\n"
                   "expired_keys:%llu\r\n"
                   "expired_stale_perc:0.00\r\n"
                   "expired_time_cap_reached_count:0\r\n"
                   "expire_cycle_cpu_milliseconds:0\r\n"
                   "evicted_keys:%llu\r\n"
                   "evicted_clients:%llu\r\n"
                   "total_eviction_exceeded_time:0\r\n"
                   "current_eviction_exceeded_time:0\r\n"
                   "keyspace_hits:%llu\r\n"
                   "keyspace_misses:%llu\r\n"
                   "pubsub_channels:%zu\r\n"
                   "pubsub_patterns:%zu\r\n"
                   "pubsubshard_channels:%zu\r\n"
                   "latest_fork_usec:0\r\n"
                   "total_forks:0\r\n"
                   "migrate_cached_sockets:0\r\n"
                   "slave_expires_tracked_keys:0\r\n"
                   "active_defrag_hits:0\r\n"
                   "active_defrag_misses:0\r\n"
                   "active_defrag_key_hits:0\r\n"
                   "active_defrag_key_misses:0\r\n"
                   "total_active_defrag_time:0\r\n"
                   "current_active_defrag_time:0\r\n"
                   "tracking_total_keys:%zu\r\n"
                   "tracking_total_items:%zu\r\n"
                   "tracking_total_prefixes:%zu\r\n"
                   "unexpected_error_replies:0\r\n"
                   "total_error_replies:%llu\r\n"
                   "dump_payload_sanitizations:0\r\n"
                   "total_reads_processed:%llu\r\n"
                   "total_writes_processed:%llu\r\n"
                   "io_threaded_reads_processed:0\r\n"
                   "io_threaded_writes_processed:0\r\n"
                   "client_query_buffer_limit_disconnections:%llu\r\n"
                   "client_output_buffer_limit_disconnections:%llu\r\n"
                   "reply_buffer_shrinks:0\r\n"
                   "reply_buffer_expands:0\r\n",
                   (unsigned long long)server.stats.connections_received,
                   (unsigned long long)server.stats.commands_processed, metric_average(&ops_metric),
                   (unsigned long long)server.stats.net_input_bytes,
                   (unsigned long long)server.stats.net_output_bytes,
                   metric_average(&input_metric) / 1024, metric_average(&output_metric) / 1024,
                   (unsigned long long)server.stats.rejected_connections,
                   (unsigned long long)ks->expired_keys, (unsigned long long)ks->evicted_keys,
                   (unsigned long long)server.stats.evicted_clients, (unsigned long long)ks->hits,
                   (unsigned long long)ks->misses, pubsub_name_count(PUBSUB_CHANNEL),
                   pubsub_name_count(PUBSUB_PATTERN), pubsub_name_count(PUBSUB_SHARD),
                   tracking_key_count(), tracking_item_count(), tracking_prefix_count(),
                   (unsigned long long)errorstats_total(server.errorstats),
                   (unsigned long long)server.stats.commands_processed,
                   (unsigned long long)server.stats.commands_processed,
                   (unsigned long long)server.stats.client_query_limit_disconnections,
                   (unsigned long long)server.stats.client_output_limit_disconnections);
    /* Rivet's own: a script running past busy-reply-threshold, and how many
     * did so or were killed since start-up. */
    script_busy_stats busy;
    script_get_busy_stats(&busy);
    buffer_appendf(out,
                   "script_busy:%d\r\n"
                   "total_busy_scripts:%llu\r\n"
                   "total_killed_scripts:%llu\r\n",
                   busy.busy, (unsigned long long)busy.busy_total,
                   (unsigned long long)busy.killed_total);
}

static void section_replication(buffer *out)
{
    buffer_appendf(out,
                   "# Replication\r\n"
                   "role:master\r\n"
                   "connected_slaves:0\r\n"
                   "master_failover_state:no-failover\r\n"
                   "master_replid:%s\r\n"
                   "master_replid2:0000000000000000000000000000000000000000\r\n"
                   "master_repl_offset:0\r\n"
                   "second_repl_offset:-1\r\n"
                   "repl_backlog_active:0\r\n"
                   "repl_backlog_size:1048576\r\n"
                   "repl_backlog_first_byte_offset:0\r\n"
                   "repl_backlog_histlen:0\r\n",
                   server.run_id);
}

static void section_cpu(buffer *out)
{
    struct rusage self, children;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &children);
    buffer_appendf(out,
                   "# CPU\r\n"
                   "used_cpu_sys:%ld.%06ld\r\n"
                   "used_cpu_user:%ld.%06ld\r\n"
                   "used_cpu_sys_children:%ld.%06ld\r\n"
                   "used_cpu_user_children:%ld.%06ld\r\n"
                   "used_cpu_sys_main_thread:%ld.%06ld\r\n"
                   "used_cpu_user_main_thread:%ld.%06ld\r\n",
                   (long)self.ru_stime.tv_sec, (long)self.ru_stime.tv_usec,
                   (long)self.ru_utime.tv_sec, (long)self.ru_utime.tv_usec,
                   (long)children.ru_stime.tv_sec, (long)children.ru_stime.tv_usec,
                   (long)children.ru_utime.tv_sec, (long)children.ru_utime.tv_usec,
                   (long)self.ru_stime.tv_sec, (long)self.ru_stime.tv_usec,
                   (long)self.ru_utime.tv_sec, (long)self.ru_utime.tv_usec);
}

static void commandstat_line(buffer *out, const command *cmd)
{
    const command_stats *s = cmd->stats;
    if (s->calls == 0 && s->rejected_calls == 0 && s->failed_calls == 0)
        return;
    char name[96];
    buffer_appendf(out,
                   "cmdstat_%s:calls=%llu,usec=%llu,usec_per_call=%.2f,rejected_calls=%llu,"
                   "failed_calls=%llu\r\n",
                   command_full_name(cmd, name, sizeof(name)), (unsigned long long)s->calls,
                   (unsigned long long)s->microseconds,
                   s->calls ? (double)s->microseconds / (double)s->calls : 0.0,
                   (unsigned long long)s->rejected_calls, (unsigned long long)s->failed_calls);
}

static void section_commandstats(buffer *out)
{
    buffer_append_cstr(out, "# Commandstats\r\n");
    for (size_t i = 0; i < command_count(); i++) {
        const command *cmd = command_at(i);
        if (cmd->subcommands) {
            for (const command *sub = cmd->subcommands; sub->name; sub++)
                commandstat_line(out, sub);
        } else {
            commandstat_line(out, cmd);
        }
    }
}

static void section_keyspace(buffer *out)
{
    buffer_append_cstr(out, "# Keyspace\r\n");
    for (int i = 0; i < keyspace_database_count(server.keyspace); i++) {
        database *db = keyspace_database(server.keyspace, i);
        size_t keys = keyspace_size(db);
        if (keys == 0)
            continue;
        buffer_appendf(out, "db%d:keys=%zu,expires=%zu,avg_ttl=0\r\n", i, keys,
                       keyspace_expires_count(db));
    }
}

static void section_errorstats(buffer *out)
{
    buffer_append_cstr(out, "# Errorstats\r\n");
    errorstats_render(server.errorstats, out);
}

static void section_primitives(buffer *out)
{
    const primitive_stats *p = &server.primitives;
    buffer_appendf(
        out,
        "# Primitives\r\n"
        "ratelimit_allowed:%llu\r\n"
        "ratelimit_denied:%llu\r\n"
        "lock_acquired:%llu\r\n"
        "lock_contended:%llu\r\n"
        "lock_expired:%llu\r\n"
        "lock_waiting:%llu\r\n"
        "idempotency_acquired:%llu\r\n"
        "idempotency_in_progress:%llu\r\n"
        "idempotency_done_hits:%llu\r\n"
        "idempotency_mismatches:%llu\r\n"
        "cache_hits:%llu\r\n"
        "cache_misses:%llu\r\n"
        "cache_stale:%llu\r\n"
        "cache_leases_granted:%llu\r\n"
        "cache_leases_voided:%llu\r\n"
        "counter_bound_rejections:%llu\r\n",
        (unsigned long long)p->ratelimit_allowed, (unsigned long long)p->ratelimit_denied,
        (unsigned long long)p->lock_acquired, (unsigned long long)p->lock_contended,
        (unsigned long long)p->lock_expired, (unsigned long long)p->lock_waiting,
        (unsigned long long)p->idempotency_acquired, (unsigned long long)p->idempotency_in_progress,
        (unsigned long long)p->idempotency_done_hits, (unsigned long long)p->idempotency_mismatches,
        (unsigned long long)p->cache_hits, (unsigned long long)p->cache_misses,
        (unsigned long long)p->cache_stale, (unsigned long long)p->cache_leases_granted,
        (unsigned long long)p->cache_leases_voided,
        (unsigned long long)p->counter_bound_rejections);
}

typedef struct info_section {
    const char *name;
    void (*render)(buffer *out);
    int in_default;
} info_section;

static void section_modules(buffer *out)
{
    buffer_append_cstr(out, "# Modules\r\n");
}

static void section_cluster(buffer *out)
{
    buffer_append_cstr(out, "# Cluster\r\ncluster_enabled:0\r\n");
}

static const info_section sections[] = {
    {"server", section_server, 1},
    {"clients", section_clients, 1},
    {"memory", section_memory, 1},
    {"persistence", section_persistence, 1},
    {"stats", section_stats, 1},
    {"replication", section_replication, 1},
    {"cpu", section_cpu, 1},
    {"modules", section_modules, 1},
    {"commandstats", section_commandstats, 0},
    {"errorstats", section_errorstats, 1},
    {"cluster", section_cluster, 1},
    {"primitives", section_primitives, 1},
    {"keyspace", section_keyspace, 1},
};

static int argument_names(const char *name, int argc, const char **argv, const size_t *argv_len)
{
    size_t n = strlen(name);
    for (int i = 0; i < argc; i++)
        if (argv_len[i] == n && strncasecmp(argv[i], name, n) == 0)
            return 1;
    return 0;
}

void server_info(buffer *out, int argc, const char **argv, const size_t *argv_len)
{
    int all = argument_names("all", argc, argv, argv_len) ||
              argument_names("everything", argc, argv, argv_len);
    int defaults = argc == 0 || argument_names("default", argc, argv, argv_len);
    int first = 1;
    server_update_time();
    for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
        const info_section *s = &sections[i];
        if (!(all || (defaults && s->in_default) || argument_names(s->name, argc, argv, argv_len)))
            continue;
        if (!first)
            buffer_append(out, "\r\n", 2);
        first = 0;
        s->render(out);
    }
}
