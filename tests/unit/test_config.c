/* Unit tests for config: defaults, the file syntax, command-line overrides,
 * error texts (checked against Redis 7.0.15), CONFIG GET/SET/REWRITE. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rivet/config.h"
#include "rivet/memory.h"

#define MB (1024LL * 1024)
#define GB (1024LL * 1024 * 1024)

/* A scratch directory for the files the tests write; removed at the end. */
static char scratch[64];

static void path_in_scratch(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", scratch, name);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char data[16384];
    size_t n = fread(data, 1, sizeof(data) - 1, f);
    data[n] = '\0';
    fclose(f);
    return data;
}

static int setup_scratch(void **state)
{
    strcpy(scratch, "/tmp/rivet-config-test-XXXXXX");
    return mkdtemp(scratch) ? 0 : -1;
}

static int teardown_scratch(void **state)
{
    char command[128];
    snprintf(command, sizeof(command), "rm -rf '%s'", scratch);
    return system(command) == 0 ? 0 : -1;
}

/* Loads text into a defaulted config; returns the error (caller frees) or NULL. */
static char *load_text(config *cfg, const char *text)
{
    char *err = NULL;
    config_init_defaults(cfg);
    int rc = config_load_string(cfg, text, "t.conf", &err);
    if (rc == 0)
        assert_null(err);
    else
        assert_non_null(err);
    return err;
}

static void assert_load_error(const char *text, const char *expected)
{
    config cfg;
    char *err = load_text(&cfg, text);
    if (!err)
        fail_msg("loading '%s' should fail with '%s'", text, expected);
    assert_string_equal(err, expected);
    mem_free(err);
    config_release(&cfg);
}

static void assert_render(const config *cfg, const char *name, const char *expected)
{
    char *value = config_render(cfg, name);
    assert_non_null(value);
    assert_string_equal(value, expected);
    mem_free(value);
}

static void assert_set_ok(config *cfg, const char *name, const char *value)
{
    const char *err = NULL;
    if (config_set(cfg, name, value, &err) != 0)
        fail_msg("CONFIG SET %s '%s' failed: %s", name, value, err);
}

static void assert_set_error(config *cfg, const char *name, const char *value, const char *expected)
{
    const char *err = NULL;
    assert_int_equal(config_set(cfg, name, value, &err), -1);
    assert_non_null(err);
    assert_string_equal(err, expected);
}

/* ------------------------------------------------------------------------ */

static void test_defaults(void **state)
{
    config cfg;
    config_init_defaults(&cfg);
    assert_int_equal(cfg.bind_count, 2);
    assert_string_equal(cfg.bind[0], "127.0.0.1");
    assert_string_equal(cfg.bind[1], "-::1");
    assert_int_equal(cfg.port, 6379);
    assert_null(cfg.unixsocket);
    assert_int_equal(cfg.unixsocketperm, 0);
    assert_int_equal(cfg.tcp_backlog, 511);
    assert_int_equal(cfg.tcp_keepalive, 300);
    assert_int_equal(cfg.timeout, 0);
    assert_int_equal(cfg.maxclients, 10000);
    assert_int_equal(cfg.protected_mode, 1);
    assert_null(cfg.requirepass);
    assert_int_equal(cfg.databases, 16);
    assert_int_equal(cfg.loglevel, LOG_NOTICE);
    assert_string_equal(cfg.logfile, "");
    assert_null(cfg.pidfile);
    assert_int_equal(cfg.daemonize, 0);
    assert_int_equal(cfg.hz, 10);
    char *cwd = getcwd(NULL, 0);
    assert_string_equal(cfg.dir, cwd);
    free(cwd);
    assert_int_equal(cfg.enable_debug_command, DEBUG_COMMAND_LOCAL);
    assert_int_equal(cfg.proto_max_bulk_len, 512 * MB);
    assert_int_equal(cfg.client_query_buffer_limit, GB);
    assert_int_equal(cfg.output_limits[OUTPUT_CLASS_NORMAL].hard_bytes, 0);
    assert_int_equal(cfg.output_limits[OUTPUT_CLASS_REPLICA].hard_bytes, 256 * MB);
    assert_int_equal(cfg.output_limits[OUTPUT_CLASS_REPLICA].soft_bytes, 64 * MB);
    assert_int_equal(cfg.output_limits[OUTPUT_CLASS_REPLICA].soft_seconds, 60);
    assert_int_equal(cfg.output_limits[OUTPUT_CLASS_PUBSUB].hard_bytes, 32 * MB);
    assert_int_equal(cfg.output_limits[OUTPUT_CLASS_PUBSUB].soft_bytes, 8 * MB);
    assert_int_equal(cfg.output_limits[OUTPUT_CLASS_PUBSUB].soft_seconds, 60);
    assert_int_equal(cfg.maxmemory, 0);
    assert_string_equal(config_maxmemory_policy_names[cfg.maxmemory_policy], "noeviction");
    assert_int_equal(cfg.maxmemory_samples, 5);
    assert_int_equal(cfg.maxmemory_clients, 0);
    assert_int_equal(cfg.lazyfree_lazy_user_flush, 0);
    assert_int_equal(cfg.active_expire_effort, 1);
    assert_int_equal(cfg.save_count, 3);
    assert_int_equal(cfg.save[0].seconds, 3600);
    assert_int_equal(cfg.save[0].changes, 1);
    assert_int_equal(cfg.save[2].seconds, 60);
    assert_int_equal(cfg.save[2].changes, 10000);
    assert_string_equal(cfg.dbfilename, "dump.rdb");
    assert_int_equal(cfg.appendonly, 0);
    assert_string_equal(cfg.appendfilename, "appendonly.aof");
    assert_int_equal(cfg.appendfsync, 1);
    assert_int_equal(cfg.slowlog_log_slower_than, 10000);
    assert_int_equal(cfg.slowlog_max_len, 128);
    assert_int_equal(cfg.latency_monitor_threshold, 0);
    assert_string_equal(cfg.notify_keyspace_events, "");
    assert_int_equal(cfg.hash_max_listpack_entries, 512);
    assert_int_equal(cfg.hash_max_listpack_value, 64);
    assert_int_equal(cfg.set_max_intset_entries, 512);
    assert_int_equal(cfg.set_max_listpack_entries, 128);
    assert_int_equal(cfg.set_max_listpack_value, 64);
    assert_int_equal(cfg.zset_max_listpack_entries, 128);
    assert_int_equal(cfg.zset_max_listpack_value, 64);
    assert_int_equal(cfg.list_max_listpack_size, -2);
    assert_int_equal(cfg.list_compress_depth, 0);
    assert_int_equal(cfg.busy_reply_threshold, 5000);

    /* Directives accepted without effect still have Redis's defaults. */
    assert_render(&cfg, "rdbcompression", "yes");
    assert_render(&cfg, "auto-aof-rewrite-min-size", "67108864");
    assert_render(&cfg, "appenddirname", "appendonlydir");
    assert_render(&cfg, "supervised", "no");
    assert_render(&cfg, "oom-score-adj-values", "0 200 800");
    assert_render(&cfg, "masterauth", "");
    assert_render(&cfg, "tracking-table-max-keys", "1000000");
    config_release(&cfg);
}

static void test_policy_names(void **state)
{
    static const char *const expected[] = {"noeviction",      "allkeys-lru",  "allkeys-lfu",
                                           "allkeys-random",  "volatile-lru", "volatile-lfu",
                                           "volatile-random", "volatile-ttl"};
    for (int i = 0; i < 8; i++)
        assert_string_equal(config_maxmemory_policy_names[i], expected[i]);
    assert_null(config_maxmemory_policy_names[8]);
}

static void test_syntax(void **state)
{
    config cfg;
    char *err = load_text(&cfg, "# a comment\n"
                                "\n"
                                "   # indented comment\n"
                                "PORT 7000\r\n"
                                "  MaxMemory   2MB  \n"
                                "requirepass \"a b\\\"c\\x41\\n\"\n"
                                "logfile 'it\\'s here'\n"
                                "notify-keyspace-events \"\"\n"
                                "maxmemory-policy ALLKEYS-LRU\n"
                                "protected-mode NO\n"
                                "hz 20\n"
                                "hz 30\n");
    assert_null(err);
    assert_int_equal(cfg.port, 7000);
    assert_int_equal(cfg.maxmemory, 2 * MB);
    assert_string_equal(cfg.requirepass, "a b\"cA\n");
    assert_string_equal(cfg.logfile, "it's here");
    assert_string_equal(cfg.notify_keyspace_events, "");
    assert_int_equal(cfg.maxmemory_policy, 1);
    assert_int_equal(cfg.protected_mode, 0);
    assert_int_equal(cfg.hz, 30); /* last one wins */
    config_release(&cfg);

    /* An empty string means "none" for the optional strings. */
    err = load_text(&cfg, "requirepass secret\nrequirepass \"\"\nunixsocket ''\n");
    assert_null(err);
    assert_null(cfg.requirepass);
    assert_null(cfg.unixsocket);
    config_release(&cfg);
}

static void test_aliases_and_clamp(void **state)
{
    config cfg;
    char *err = load_text(&cfg, "hash-max-ziplist-entries 100\n"
                                "zset-max-ziplist-value 32\n"
                                "list-max-ziplist-size -3\n"
                                "lua-time-limit 700\n"
                                "slave-read-only no\n"
                                "hz 1000\n");
    assert_null(err);
    assert_int_equal(cfg.hash_max_listpack_entries, 100);
    assert_int_equal(cfg.zset_max_listpack_value, 32);
    assert_int_equal(cfg.list_max_listpack_size, -3);
    assert_int_equal(cfg.busy_reply_threshold, 700);
    assert_render(&cfg, "replica-read-only", "no");
    assert_render(&cfg, "slave-read-only", "no");
    assert_int_equal(cfg.hz, 500); /* Redis clamps rather than refuses */
    config_release(&cfg);

    err = load_text(&cfg, "hz 0\n");
    assert_null(err);
    assert_int_equal(cfg.hz, 1);
    config_release(&cfg);
}

static void test_bind_lists(void **state)
{
    config cfg;
    char *err = load_text(&cfg, "bind 10.0.0.1\nbind 127.0.0.1 ::1 -192.168.1.1\n");
    assert_null(err);
    assert_int_equal(cfg.bind_count, 3); /* a later line replaces the whole list */
    assert_string_equal(cfg.bind[0], "127.0.0.1");
    assert_string_equal(cfg.bind[1], "::1");
    assert_string_equal(cfg.bind[2], "-192.168.1.1");
    assert_render(&cfg, "bind", "127.0.0.1 ::1 -192.168.1.1");
    config_release(&cfg);

    err = load_text(&cfg, "bind\n");
    assert_null(err);
    assert_int_equal(cfg.bind_count, 0);
    assert_render(&cfg, "bind", "");
    config_release(&cfg);
}

static void test_save_points(void **state)
{
    config cfg;
    /* The first save line replaces the defaults; later lines add points. */
    char *err = load_text(&cfg, "save 10 1\nsave 20 2 30 3\n");
    assert_null(err);
    assert_int_equal(cfg.save_count, 3);
    assert_int_equal(cfg.save[1].seconds, 20);
    assert_int_equal(cfg.save[2].changes, 3);
    assert_render(&cfg, "save", "10 1 20 2 30 3");
    config_release(&cfg);

    err = load_text(&cfg, "save 10 1\nsave \"\"\nsave 50 5\n");
    assert_null(err);
    assert_render(&cfg, "save", "50 5");
    config_release(&cfg);

    err = load_text(&cfg, "save ''\n");
    assert_null(err);
    assert_int_equal(cfg.save_count, 0);
    assert_render(&cfg, "save", "");
    config_release(&cfg);

    /* A bare save also turns snapshots off, and Redis reads "05" as 5. */
    err = load_text(&cfg, "save\nsave 05 1\n");
    assert_null(err);
    assert_render(&cfg, "save", "5 1");
    config_release(&cfg);

    config_init_defaults(&cfg);
    assert_render(&cfg, "save", "3600 1 300 100 60 10000");
    config_release(&cfg);
}

static void test_include(void **state)
{
    char main_path[128], inner_path[128], broken_path[128];
    path_in_scratch(main_path, sizeof(main_path), "main.conf");
    path_in_scratch(inner_path, sizeof(inner_path), "inner.conf");
    path_in_scratch(broken_path, sizeof(broken_path), "broken.conf");
    write_text(inner_path, "# inner\nport 7100\nmaxmemory 1gb\n");
    write_text(broken_path, "\n\nhz abc\n");

    char text[512];
    snprintf(text, sizeof(text), "port 7000\ninclude %s\nmaxmemory 5mb\n", inner_path);
    write_text(main_path, text);

    config cfg;
    config_init_defaults(&cfg);
    char *err = NULL;
    char *argv[] = {main_path};
    assert_int_equal(config_load(&cfg, 1, argv, &err), 0);
    assert_null(err);
    assert_int_equal(cfg.port, 7100);        /* included after port 7000 */
    assert_int_equal(cfg.maxmemory, 5 * MB); /* set again after the include */
    config_release(&cfg);

    /* include paths are relative to the working directory, as in Redis. */
    char *saved_cwd = getcwd(NULL, 0);
    assert_int_equal(chdir(scratch), 0);
    err = load_text(&cfg, "include inner.conf\n");
    assert_int_equal(chdir(saved_cwd), 0);
    free(saved_cwd);
    assert_null(err);
    assert_int_equal(cfg.port, 7100);
    config_release(&cfg);

    /* An error inside an included file names that file and its line. */
    snprintf(text, sizeof(text), "port 7000\ninclude %s\n", broken_path);
    err = load_text(&cfg, text);
    assert_non_null(err);
    char expected[512];
    snprintf(expected, sizeof(expected),
             "Reading the configuration file %s, at line 3\n>>> 'hz abc'\n"
             "argument couldn't be parsed into an integer",
             broken_path);
    assert_string_equal(err, expected);
    mem_free(err);
    config_release(&cfg);

    assert_load_error("port 1\ninclude /nonexistent/x.conf\n",
                      "Reading the configuration file t.conf, at line 2\n"
                      ">>> 'include /nonexistent/x.conf'\n"
                      "can't open config file '/nonexistent/x.conf': No such file or directory");

    /* A file that includes itself stops instead of recursing forever. */
    char self_path[128];
    path_in_scratch(self_path, sizeof(self_path), "self.conf");
    snprintf(text, sizeof(text), "include %s\n", self_path);
    write_text(self_path, text);
    config_init_defaults(&cfg);
    char *self_argv[] = {self_path};
    assert_int_equal(config_load(&cfg, 1, self_argv, &err), -1);
    assert_non_null(strstr(err, "include nesting is too deep"));
    mem_free(err);
    config_release(&cfg);
}

static void test_load_errors(void **state)
{
    static const struct {
        const char *text;
        const char *message;
    } cases[] = {
        {"port 99999999", "argument must be between 0 and 65535 inclusive"},
        {"foo bar", "Bad directive or wrong number of arguments"},
        {"port", "wrong number of arguments"},
        {"port 1 2", "wrong number of arguments"},
        {"logfile", "wrong number of arguments"},
        {"include", "wrong number of arguments"},
        {"port +5", "argument couldn't be parsed into an integer"},
        {"port 05", "argument couldn't be parsed into an integer"},
        {"timeout -1", "argument must be between 0 and 2147483647 inclusive"},
        {"slowlog-log-slower-than -5",
         "argument must be between -1 and 9223372036854775807 inclusive"},
        {"active-expire-effort 11", "argument must be between 1 and 10 inclusive"},
        {"maxmemory abc", "argument must be a memory value"},
        {"maxmemory -1", "argument must be a memory value"},
        {"proto-max-bulk-len 100",
         "argument must be between 1048576 and 9223372036854775807 inclusive"},
        {"protected-mode maybe", "argument must be 'yes' or 'no'"},
        {"loglevel x",
         "argument(s) must be one of the following: debug, verbose, notice, warning, nothing"},
        {"appendfsync sometimes", "argument(s) must be one of the following: everysec, always, no"},
        {"save 10", "Invalid save parameters"},
        {"save abc 1", "Invalid save parameters"},
        {"save 0 0", "Invalid save parameters"},
        {"save -1 1", "Invalid save parameters"},
        {"notify-keyspace-events Q", "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."},
        {"client-output-buffer-limit foo 1 2 3",
         "Invalid client class specified in buffer limit configuration."},
        {"client-output-buffer-limit normal 1 2",
         "Wrong number of arguments in buffer limit configuration."},
        {"client-output-buffer-limit normal 1x 2 3",
         "Error in hard, soft or soft_seconds setting in buffer limit configuration."},
        {"port \"7000", "Unbalanced quotes in configuration line"},
        {"port '70'00", "Unbalanced quotes in configuration line"},
        {"dir /nonexistent-rivet-dir", "No such file or directory"},
        {"dir /etc/hostname", "Not a directory"},
        {"hz abc", "argument couldn't be parsed into an integer"},
        {"unixsocketperm 999", "argument couldn't be parsed as an octal number"},
        {"unixsocketperm 1777", "argument must be between 0 and 777 inclusive"},
        {"maxmemory-clients 101%", "percentage argument must be less or equal to 100"},
        {"maxmemory-clients lots", "argument must be a memory or percent value"},
        {"dbfilename a/b.rdb", "dbfilename can't be a path, just a filename"},
        {"oom-score-adj-values 0 200", "wrong number of arguments"},
        {"bind 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17", "Too many bind addresses specified."},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[256], expected[512];
        /* Put the bad line third so the line count is exercised. */
        snprintf(text, sizeof(text), "# comment\n\n%s\nport 1\n", cases[i].text);
        snprintf(expected, sizeof(expected),
                 "Reading the configuration file t.conf, at line 3\n>>> '%s'\n%s", cases[i].text,
                 cases[i].message);
        assert_load_error(text, expected);
    }

    /* Without a source name the text is exactly Redis's. */
    config cfg;
    config_init_defaults(&cfg);
    char *err = NULL;
    assert_int_equal(config_load_string(&cfg, "\nport 99999999\n", NULL, &err), -1);
    assert_string_equal(err, "Reading the configuration file, at line 2\n"
                             ">>> 'port 99999999'\n"
                             "argument must be between 0 and 65535 inclusive");
    mem_free(err);
    /* A failed line leaves the value as it was. */
    assert_int_equal(cfg.port, 6379);
    config_release(&cfg);
}

static void test_command_line(void **state)
{
    char path[128];
    path_in_scratch(path, sizeof(path), "cmdline.conf");
    write_text(path, "port 7001\nsave 10 1\nmaxmemory 1mb\n");

    config cfg;
    config_init_defaults(&cfg);
    char *err = NULL;
    char *argv[] = {path,
                    "--port",
                    "7002",
                    "--save",
                    "20 2",
                    "--bind",
                    "10.0.0.1",
                    "-::1",
                    "--requirepass",
                    "with space",
                    "--client-output-buffer-limit",
                    "pubsub",
                    "1mb",
                    "2mb",
                    "3"};
    assert_int_equal(config_load(&cfg, sizeof(argv) / sizeof(argv[0]), argv, &err), 0);
    assert_null(err);
    assert_int_equal(cfg.port, 7002);
    assert_int_equal(cfg.maxmemory, MB);
    assert_render(&cfg, "save", "10 1 20 2"); /* options continue the file */
    assert_int_equal(cfg.bind_count, 2);
    assert_string_equal(cfg.bind[1], "-::1");
    assert_string_equal(cfg.requirepass, "with space");
    assert_int_equal(cfg.output_limits[OUTPUT_CLASS_PUBSUB].hard_bytes, MB);
    assert_int_equal(cfg.output_limits[OUTPUT_CLASS_PUBSUB].soft_seconds, 3);
    config_release(&cfg);

    /* `--save ""` and a bare `--save` both turn snapshots off. */
    char *empty_save[] = {"--save", "", "--hz", "15"};
    config_init_defaults(&cfg);
    assert_int_equal(config_load(&cfg, 4, empty_save, &err), 0);
    assert_int_equal(cfg.save_count, 0);
    assert_int_equal(cfg.hz, 15);
    config_release(&cfg);
    char *bare_save[] = {path, "--save", "--list-max-listpack-size", "-5"};
    config_init_defaults(&cfg);
    assert_int_equal(config_load(&cfg, 4, bare_save, &err), 0);
    assert_int_equal(cfg.save_count, 0);
    assert_int_equal(cfg.list_max_listpack_size, -5);
    config_release(&cfg);

    /* Errors point at the option, quoted as Redis shows it. */
    char *bad[] = {path, "--hz", "5", "--port", "abc"};
    config_init_defaults(&cfg);
    assert_int_equal(config_load(&cfg, 5, bad, &err), -1);
    assert_string_equal(err, "Reading the command-line options, at option 2\n"
                             ">>> 'port \"abc\"'\n"
                             "argument couldn't be parsed into an integer");
    mem_free(err);
    config_release(&cfg);

    char *missing_value[] = {"--hz", "5", "--port"};
    config_init_defaults(&cfg);
    assert_int_equal(config_load(&cfg, 3, missing_value, &err), -1);
    assert_string_equal(err, "Reading the command-line options, at option 2\n"
                             ">>> 'port'\n"
                             "wrong number of arguments");
    mem_free(err);
    config_release(&cfg);

    char *unknown[] = {"--bogus", "1"};
    config_init_defaults(&cfg);
    assert_int_equal(config_load(&cfg, 2, unknown, &err), -1);
    assert_string_equal(err, "Reading the command-line options, at option 1\n"
                             ">>> 'bogus \"1\"'\n"
                             "Bad directive or wrong number of arguments");
    mem_free(err);
    config_release(&cfg);

    char *stray[] = {path, "extra"};
    config_init_defaults(&cfg);
    assert_int_equal(config_load(&cfg, 2, stray, &err), -1);
    assert_non_null(strstr(err, "'extra'"));
    mem_free(err);
    config_release(&cfg);

    char *no_file[] = {"/nonexistent/rivet.conf"};
    config_init_defaults(&cfg);
    assert_int_equal(config_load(&cfg, 1, no_file, &err), -1);
    assert_string_equal(err, "Fatal error, can't open config file '/nonexistent/rivet.conf': No "
                             "such file or directory");
    mem_free(err);
    config_release(&cfg);

    /* No arguments at all: defaults stand. */
    config_init_defaults(&cfg);
    assert_int_equal(config_load(&cfg, 0, NULL, &err), 0);
    assert_int_equal(cfg.port, 6379);
    config_release(&cfg);
}

static void test_memory_units(void **state)
{
    static const struct {
        const char *text;
        int64_t bytes;
    } good[] = {
        {"0", 0},
        {"123", 123},
        {"007", 7},
        {"5b", 5},
        {"5B", 5},
        {"1k", 1000},
        {"1kb", 1024},
        {"10KB", 10240},
        {"2m", 2000000},
        {"2mb", 2 * MB},
        {"3g", 3000000000LL},
        {"3GB", 3 * GB},
        {"9223372036854775807", INT64_MAX},
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        int64_t value = -42;
        if (config_parse_memory(good[i].text, &value) != 0)
            fail_msg("'%s' should parse", good[i].text);
        assert_int_equal(value, good[i].bytes);
    }
    static const char *const bad[] = {"",
                                      "abc",
                                      "-1",
                                      "1.5gb",
                                      "5 ",
                                      " 5",
                                      "+5",
                                      "10kbb",
                                      "1tb",
                                      "mb",
                                      "1 mb",
                                      "99999999999999999999",
                                      "8589934592gb",
                                      "9223372036854775808"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t value = -42;
        if (config_parse_memory(bad[i], &value) == 0)
            fail_msg("'%s' should be rejected", bad[i]);
        assert_int_equal(value, -42);
    }
}

static void test_config_get(void **state)
{
    config cfg;
    config_init_defaults(&cfg);
    char **pairs = NULL;

    size_t count = config_get(&cfg, "*max*", &pairs);
    static const char *const expected_max[] = {
        "maxclients",
        "proto-max-bulk-len",
        "maxmemory",
        "maxmemory-policy",
        "maxmemory-samples",
        "maxmemory-clients",
        "slowlog-max-len",
        "hash-max-listpack-entries",
        "hash-max-ziplist-entries",
        "hash-max-listpack-value",
        "hash-max-ziplist-value",
        "set-max-intset-entries",
        "set-max-listpack-entries",
        "set-max-listpack-value",
        "zset-max-listpack-entries",
        "zset-max-ziplist-entries",
        "zset-max-listpack-value",
        "zset-max-ziplist-value",
        "embed-value-max-bytes",
        "list-max-listpack-size",
        "list-max-ziplist-size",
        "counter-window-max-buckets",
        "min-replicas-max-lag",
        "min-slaves-max-lag",
        "repl-diskless-sync-max-replicas",
        "maxmemory-eviction-tenacity",
        "tracking-table-max-keys",
        "acllog-max-len",
        "hll-sparse-max-bytes",
        "stream-node-max-bytes",
        "stream-node-max-entries",
    };
    size_t expected_count = sizeof(expected_max) / sizeof(expected_max[0]);
    for (size_t i = 0; i < count && i < expected_count; i++)
        assert_string_equal(pairs[2 * i], expected_max[i]);
    assert_int_equal(count, expected_count);
    assert_string_equal(pairs[5], "0");          /* maxmemory */
    assert_string_equal(pairs[7], "noeviction"); /* maxmemory-policy */
    assert_string_equal(pairs[3], "536870912");  /* proto-max-bulk-len in bytes */
    config_free_pairs(pairs, count);

    /* Exact names, any case; aliases answer under the name asked for. */
    count = config_get(&cfg, "PORT", &pairs);
    assert_int_equal(count, 1);
    assert_string_equal(pairs[0], "port");
    assert_string_equal(pairs[1], "6379");
    config_free_pairs(pairs, count);

    count = config_get(&cfg, "lua-time-limit", &pairs);
    assert_int_equal(count, 1);
    assert_string_equal(pairs[0], "lua-time-limit");
    assert_string_equal(pairs[1], "5000");
    config_free_pairs(pairs, count);

    count = config_get(&cfg, "client-output-buffer-limit", &pairs);
    assert_int_equal(count, 1);
    assert_string_equal(pairs[1],
                        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60");
    config_free_pairs(pairs, count);

    count = config_get(&cfg, "b?nd", &pairs);
    assert_int_equal(count, 1);
    assert_string_equal(pairs[1], "127.0.0.1 -::1");
    config_free_pairs(pairs, count);

    count = config_get(&cfg, "[pq]ort", &pairs);
    assert_int_equal(count, 1);
    config_free_pairs(pairs, count);

    count = config_get(&cfg, "requirepass", &pairs);
    assert_int_equal(count, 1);
    assert_string_equal(pairs[1], "");
    config_free_pairs(pairs, count);

    count = config_get(&cfg, "no-such-thing*", &pairs);
    assert_int_equal(count, 0);
    assert_null(pairs);
    config_free_pairs(pairs, count);

    /* "*" lists every directive and alias once. */
    count = config_get(&cfg, "*", &pairs);
    assert_true(count > 100);
    for (size_t i = 0; i < count; i++)
        for (size_t j = i + 1; j < count; j++)
            assert_string_not_equal(pairs[2 * i], pairs[2 * j]);
    int saw_dir = 0, saw_save = 0;
    for (size_t i = 0; i < count; i++) {
        if (strcmp(pairs[2 * i], "dir") == 0)
            saw_dir = pairs[2 * i + 1][0] == '/';
        if (strcmp(pairs[2 * i], "save") == 0)
            saw_save = strcmp(pairs[2 * i + 1], "3600 1 300 100 60 10000") == 0;
    }
    assert_true(saw_dir);
    assert_true(saw_save);
    config_free_pairs(pairs, count);

    assert_null(config_render(&cfg, "nope"));
    config_release(&cfg);
}

static void test_config_set_types(void **state)
{
    config cfg;
    config_init_defaults(&cfg);

    assert_set_ok(&cfg, "protected-mode", "NO");
    assert_int_equal(cfg.protected_mode, 0);
    assert_set_ok(&cfg, "timeout", "30");
    assert_int_equal(cfg.timeout, 30);
    assert_set_ok(&cfg, "maxmemory", "10KB");
    assert_int_equal(cfg.maxmemory, 10240);
    assert_render(&cfg, "maxmemory", "10240");
    assert_set_ok(&cfg, "Maxmemory-Policy", "Volatile-TTL");
    assert_int_equal(cfg.maxmemory_policy, 7);
    assert_render(&cfg, "maxmemory-policy", "volatile-ttl");
    assert_set_ok(&cfg, "loglevel", "warning");
    assert_int_equal(cfg.loglevel, LOG_WARNING);
    assert_set_ok(&cfg, "appendfsync", "always");
    assert_int_equal(cfg.appendfsync, 2);
    assert_set_ok(&cfg, "requirepass", "s3cret");
    assert_string_equal(cfg.requirepass, "s3cret");
    assert_set_ok(&cfg, "requirepass", "");
    assert_null(cfg.requirepass);
    assert_set_ok(&cfg, "dbfilename", "other.rdb");
    assert_string_equal(cfg.dbfilename, "other.rdb");
    assert_set_ok(&cfg, "lua-time-limit", "100");
    assert_int_equal(cfg.busy_reply_threshold, 100);
    assert_set_ok(&cfg, "hz", "1000");
    assert_int_equal(cfg.hz, 500);
    assert_set_ok(&cfg, "list-max-listpack-size", "-7");
    assert_int_equal(cfg.list_max_listpack_size, -7);
    assert_set_ok(&cfg, "maxmemory-clients", "10%");
    assert_int_equal(cfg.maxmemory_clients, -10);
    assert_render(&cfg, "maxmemory-clients", "10%");
    assert_set_ok(&cfg, "maxmemory-clients", "1mb");
    assert_int_equal(cfg.maxmemory_clients, MB);
    assert_set_ok(&cfg, "rdbcompression", "no");
    assert_render(&cfg, "rdbcompression", "no");
    assert_set_ok(&cfg, "auto-aof-rewrite-min-size", "1gb");
    assert_render(&cfg, "auto-aof-rewrite-min-size", "1073741824");
    assert_set_ok(&cfg, "oom-score-adj-values", "0 100 900");
    assert_render(&cfg, "oom-score-adj-values", "0 100 900");

    assert_set_ok(&cfg, "save", "100 10 200 20");
    assert_render(&cfg, "save", "100 10 200 20");
    assert_set_ok(&cfg, "save", "300 30"); /* SET replaces, it never appends */
    assert_render(&cfg, "save", "300 30");
    assert_set_ok(&cfg, "save", "");
    assert_int_equal(cfg.save_count, 0);

    assert_set_ok(&cfg, "client-output-buffer-limit", "normal 1mb 2mb 3");
    assert_render(&cfg, "client-output-buffer-limit",
                  "normal 1048576 2097152 3 slave 268435456 67108864 60 pubsub 33554432 "
                  "8388608 60");
    assert_set_ok(&cfg, "client-output-buffer-limit", "replica 1k 2k 5 pubsub 0 0 0");
    assert_render(&cfg, "client-output-buffer-limit",
                  "normal 1048576 2097152 3 slave 1000 2000 5 pubsub 0 0 0");
    config_release(&cfg);
}

static void test_keyspace_events(void **state)
{
    static const struct {
        const char *given;
        const char *shown;
    } cases[] = {
        {"", ""},     {"KEA", "AKE"}, {"gx$", "g$x"},       {"An", "A"},         {"AKn", "AK"},
        {"Em", "Em"}, {"Kn", "nK"},   {"tdzhsl", "lshztd"}, {"g$lshzxetd", "A"}, {"KA", "AK"},
    };
    config cfg;
    config_init_defaults(&cfg);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_set_ok(&cfg, "notify-keyspace-events", cases[i].given);
        assert_render(&cfg, "notify-keyspace-events", cases[i].shown);
    }
    config_release(&cfg);
}

static void test_config_set_errors(void **state)
{
    config cfg;
    config_init_defaults(&cfg);
    assert_set_error(&cfg, "foo", "1",
                     "Unknown option or number of arguments for CONFIG SET - 'foo'");
    static const char *const immutable[] = {
        "port",    "bind",           "unixsocket",           "databases", "daemonize",
        "logfile", "unixsocketperm", "enable-debug-command", "supervised"};
    for (size_t i = 0; i < sizeof(immutable) / sizeof(immutable[0]); i++) {
        char expected[256];
        snprintf(expected, sizeof(expected),
                 "CONFIG SET failed (possibly related to argument '%s') - can't set immutable "
                 "config",
                 immutable[i]);
        assert_set_error(&cfg, immutable[i], "1", expected);
        assert_true(config_is_immutable(immutable[i]));
    }
    assert_false(config_is_immutable("maxmemory"));
    assert_false(config_is_immutable("no-such-thing"));

    static const struct {
        const char *name, *value, *why;
    } cases[] = {
        {"maxmemory", "abc", "argument must be a memory value"},
        {"maxmemory", "-1", "argument must be a memory value"},
        {"maxmemory", "1.5gb", "argument must be a memory value"},
        {"hz", "abc", "argument couldn't be parsed into an integer"},
        {"hz", " 5", "argument couldn't be parsed into an integer"},
        {"hz", "-0", "argument couldn't be parsed into an integer"},
        {"timeout", "-1", "argument must be between 0 and 2147483647 inclusive"},
        {"maxclients", "0", "argument must be between 1 and 4294967295 inclusive"},
        {"active-expire-effort", "11", "argument must be between 1 and 10 inclusive"},
        {"maxmemory-policy", "bogus",
         "argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, "
         "volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction"},
        {"protected-mode", "maybe", "argument must be 'yes' or 'no'"},
        {"notify-keyspace-events", "Q", "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."},
        {"save", "10", "Invalid save parameters"},
        {"save", "abc 1", "Invalid save parameters"},
        {"save", "  ", "Invalid save parameters"},
        {"client-output-buffer-limit", "foo 1 2 3",
         "Invalid client class specified in buffer limit configuration."},
        {"client-output-buffer-limit", "normal 1 2",
         "Wrong number of arguments in buffer limit configuration."},
        {"client-output-buffer-limit", "replica 1k 2 x",
         "Error in hard, soft or soft_seconds setting in buffer limit configuration."},
        {"client-output-buffer-limit", "pubsub 1k 2 -3",
         "Error in hard, soft or soft_seconds setting in buffer limit configuration."},
        {"dir", "/nonexistent-rivet-dir", "No such file or directory"},
        {"dir", "/etc/hostname", "Not a directory"},
        {"dbfilename", "../x.rdb", "dbfilename can't be a path, just a filename"},
        {"latency-tracking", "x", "argument must be 'yes' or 'no'"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char expected[512];
        snprintf(expected, sizeof(expected),
                 "CONFIG SET failed (possibly related to argument '%s') - %s", cases[i].name,
                 cases[i].why);
        assert_set_error(&cfg, cases[i].name, cases[i].value, expected);
    }

    /* A failed SET changes nothing, even when part of the value was valid. */
    config fresh;
    config_init_defaults(&fresh);
    assert_set_error(&cfg, "client-output-buffer-limit", "normal 1 1 1 foo 1 1 1",
                     "CONFIG SET failed (possibly related to argument "
                     "'client-output-buffer-limit') - Invalid client class specified in buffer "
                     "limit configuration.");
    assert_set_error(&cfg, "save", "100 10 abc",
                     "CONFIG SET failed (possibly related to argument "
                     "'save') - Invalid save parameters");
    char **now = NULL, **then = NULL;
    size_t now_count = config_get(&cfg, "*", &now);
    size_t then_count = config_get(&fresh, "*", &then);
    assert_int_equal(now_count, then_count);
    for (size_t i = 0; i < 2 * now_count; i++)
        assert_string_equal(now[i], then[i]);
    config_free_pairs(now, now_count);
    config_free_pairs(then, then_count);
    config_release(&fresh);
    config_release(&cfg);
}

/* CONFIG SET undoes a failed multi-setting SET by setting each rendered old
 * value back, so every rendering must be accepted as input and read back
 * identically, for every directive and for non-default values too. */
static void test_render_round_trip(void **state)
{
    config cfg;
    char *err = load_text(&cfg, "client-output-buffer-limit replica 1 2 3\n"
                                "maxmemory-clients 7%\n"
                                "notify-keyspace-events Egx\n"
                                "requirepass \"with \\\"quotes\\\" and spaces\"\n"
                                "save \"\"\n"
                                "oom-score-adj-values -10 20 30\n");
    assert_null(err);
    char **pairs = NULL;
    size_t count = config_get(&cfg, "*", &pairs);
    for (size_t i = 0; i < count; i++) {
        const char *name = pairs[2 * i], *value = pairs[2 * i + 1];
        if (config_is_immutable(name))
            continue;
        const char *set_err = NULL;
        if (config_set(&cfg, name, value, &set_err) != 0)
            fail_msg("CONFIG SET %s '%s' rejected its own rendering: %s", name, value, set_err);
        assert_render(&cfg, name, value);
    }
    config_free_pairs(pairs, count);
    assert_render(&cfg, "save", "");
    assert_render(&cfg, "maxmemory-clients", "7%");
    config_release(&cfg);
}

static void test_config_set_dir(void **state)
{
    config cfg;
    config_init_defaults(&cfg);
    char *saved_cwd = getcwd(NULL, 0);
    char *real_scratch = realpath(scratch, NULL);
    assert_set_ok(&cfg, "dir", scratch);
    char *now = getcwd(NULL, 0);
    assert_string_equal(now, real_scratch); /* SET dir moves the process */
    assert_string_equal(cfg.dir, real_scratch);
    free(now);
    assert_int_equal(chdir(saved_cwd), 0);

    /* Loading only resolves the path; the server changes directory later. */
    char text[160];
    snprintf(text, sizeof(text), "dir %s/.\n", scratch);
    config_release(&cfg);
    char *err = load_text(&cfg, text);
    assert_null(err);
    assert_string_equal(cfg.dir, real_scratch);
    now = getcwd(NULL, 0);
    assert_string_equal(now, saved_cwd);
    free(now);
    free(saved_cwd);
    free(real_scratch);
    config_release(&cfg);
}

static void test_rewrite(void **state)
{
    char path[128], inner[128];
    path_in_scratch(path, sizeof(path), "rewrite.conf");
    path_in_scratch(inner, sizeof(inner), "rewrite-inner.conf");
    write_text(inner, "timeout 5\n");
    char original[512];
    snprintf(original, sizeof(original),
             "# top comment\n"
             "port 7000\n"
             "\n"
             "# hz comment\n"
             "hz 20\n"
             "hz 30\n"
             "include %s\n"
             "maxmemory 1mb\n"
             "hash-max-ziplist-entries 100\n"
             "save 10 1\n"
             "save 20 2\n"
             "bind 127.0.0.1\n"
             "# end\n",
             inner);
    write_text(path, original);
    assert_int_equal(chmod(path, 0600), 0);

    config cfg;
    config_init_defaults(&cfg);
    char *err = NULL;
    char *argv[] = {path};
    assert_int_equal(config_load(&cfg, 1, argv, &err), 0);
    assert_set_ok(&cfg, "hz", "40");
    assert_set_ok(&cfg, "maxmemory", "0");
    assert_set_ok(&cfg, "maxmemory-policy", "allkeys-lru");
    assert_set_ok(&cfg, "client-output-buffer-limit", "normal 1mb 2mb 3");
    assert_set_ok(&cfg, "notify-keyspace-events", "KEA");
    assert_set_ok(&cfg, "save", "100 10");
    assert_set_ok(&cfg, "rdbcompression", "no");
    assert_set_ok(&cfg, "requirepass", "a \"quoted\" pass");

    const char *rewrite_err = NULL;
    assert_int_equal(config_rewrite(&cfg, path, &rewrite_err), 0);
    char expected[2048];
    snprintf(expected, sizeof(expected),
             "# top comment\n"
             "port 7000\n"
             "\n"
             "# hz comment\n"
             "hz 40\n"
             "\n"
             "include %s\n"
             "maxmemory 0\n"
             "hash-max-listpack-entries 100\n"
             "save 100 10\n"
             "\n"
             "bind 127.0.0.1\n"
             "# end\n"
             "\n"
             "# Generated by CONFIG REWRITE\n"
             "timeout 5\n"
             "requirepass \"a \\\"quoted\\\" pass\"\n"
             "dir \"%s\"\n"
             "client-output-buffer-limit normal 1mb 2mb 3\n"
             "maxmemory-policy allkeys-lru\n"
             "notify-keyspace-events \"AKE\"\n"
             "rdbcompression no\n",
             inner, cfg.dir);
    assert_string_equal(read_text(path), expected);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600); /* permissions survive */

    /* Reloading the rewritten file gives back every value. */
    config again;
    config_init_defaults(&again);
    assert_int_equal(config_load(&again, 1, argv, &err), 0);
    char **now = NULL, **then = NULL;
    size_t now_count = config_get(&cfg, "*", &now);
    size_t then_count = config_get(&again, "*", &then);
    assert_int_equal(now_count, then_count);
    for (size_t i = 0; i < 2 * now_count; i++)
        assert_string_equal(now[i], then[i]);
    config_free_pairs(now, now_count);
    config_free_pairs(then, then_count);

    /* A second rewrite with nothing changed leaves the file as it is. */
    assert_int_equal(config_rewrite(&again, path, &rewrite_err), 0);
    assert_string_equal(read_text(path), expected);
    config_release(&again);

    /* Values that go back to default keep their existing line. */
    assert_set_ok(&cfg, "maxmemory-policy", "noeviction");
    assert_set_ok(&cfg, "save", "3600 1 300 100 60 10000");
    assert_int_equal(config_rewrite(&cfg, path, &rewrite_err), 0);
    const char *text = read_text(path);
    assert_non_null(strstr(text, "\nmaxmemory-policy noeviction\n"));
    /* The old save line is reused; the other points are appended. */
    assert_non_null(strstr(text, "\nsave 3600 1\n\nbind"));
    assert_non_null(strstr(text, "\nsave 300 100\nsave 60 10000\n"));
    assert_null(strstr(text, "save 100 10"));
    config_init_defaults(&again);
    assert_int_equal(config_load(&again, 1, argv, &err), 0);
    assert_render(&again, "save", "3600 1 300 100 60 10000");
    assert_render(&again, "maxmemory-policy", "noeviction");
    config_release(&again);
    config_release(&cfg);
}

static void test_rewrite_new_file(void **state)
{
    char path[128];
    path_in_scratch(path, sizeof(path), "fresh.conf");
    config cfg;
    config_init_defaults(&cfg);
    assert_set_ok(&cfg, "save", "");
    assert_set_ok(&cfg, "client-output-buffer-limit", "replica 1gb 512mb 10");
    assert_set_ok(&cfg, "maxmemory-clients", "5%");
    assert_set_ok(&cfg, "maxmemory", "1025");
    const char *err = NULL;
    assert_int_equal(config_rewrite(&cfg, path, &err), 0);
    char expected[1024];
    snprintf(expected, sizeof(expected),
             "# Generated by CONFIG REWRITE\n"
             "dir \"%s\"\n"
             "client-output-buffer-limit replica 1gb 512mb 10\n"
             "maxmemory 1025\n"
             "maxmemory-clients 5%%\n"
             "save \"\"\n",
             cfg.dir);
    assert_string_equal(read_text(path), expected);

    /* The marker is written once: a later rewrite appends below it. */
    assert_set_ok(&cfg, "timeout", "9");
    assert_int_equal(config_rewrite(&cfg, path, &err), 0);
    const char *text = read_text(path);
    assert_non_null(strstr(text, "save \"\"\ntimeout 9\n"));
    assert_ptr_equal(strstr(text, "# Generated"), strstr(text, "# Generated by CONFIG REWRITE"));
    assert_null(strstr(strstr(text, "# Generated") + 1, "# Generated"));

    assert_int_equal(config_rewrite(&cfg, NULL, &err), -1);
    assert_string_equal(err, "The server is running without a config file");
    assert_int_equal(config_rewrite(&cfg, "/nonexistent-dir/x.conf", &err), -1);
    assert_string_equal(err, "Rewriting config file: No such file or directory");
    config_release(&cfg);
}

/* The shipped default config must load and agree with the built-in defaults
 * on everything except what it deliberately sets. */
static void test_shipped_config(void **state)
{
    /* Found from this file's own path, so it works from any build directory. */
    char path[1024];
    snprintf(path, sizeof(path), "%s", __FILE__);
    char *tail = strstr(path, "tests/unit/test_config.c");
    if (!tail)
        skip();
    strcpy(tail, "conf/rivet.conf");
    const char *found = path;
    config shipped, builtin;
    config_init_defaults(&shipped);
    config_init_defaults(&builtin);
    char *err = NULL;
    char *argv[] = {(char *)found};
    if (config_load(&shipped, 1, argv, &err) != 0)
        fail_msg("%s", err);
    char **a = NULL, **b = NULL;
    size_t a_count = config_get(&shipped, "*", &a);
    size_t b_count = config_get(&builtin, "*", &b);
    assert_int_equal(a_count, b_count);
    for (size_t i = 0; i < a_count; i++) {
        if (strcmp(a[2 * i], "dir") == 0)
            continue; /* the shipped file says "./", resolved at load */
        if (strcmp(a[2 * i + 1], b[2 * i + 1]) != 0)
            fail_msg("%s: shipped '%s' vs built-in '%s'", a[2 * i], a[2 * i + 1], b[2 * i + 1]);
    }
    config_free_pairs(a, a_count);
    config_free_pairs(b, b_count);
    config_release(&shipped);
    config_release(&builtin);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_policy_names),
        cmocka_unit_test(test_syntax),
        cmocka_unit_test(test_aliases_and_clamp),
        cmocka_unit_test(test_bind_lists),
        cmocka_unit_test(test_save_points),
        cmocka_unit_test(test_include),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_command_line),
        cmocka_unit_test(test_memory_units),
        cmocka_unit_test(test_config_get),
        cmocka_unit_test(test_config_set_types),
        cmocka_unit_test(test_keyspace_events),
        cmocka_unit_test(test_config_set_errors),
        cmocka_unit_test(test_render_round_trip),
        cmocka_unit_test(test_config_set_dir),
        cmocka_unit_test(test_rewrite),
        cmocka_unit_test(test_rewrite_new_file),
        cmocka_unit_test(test_shipped_config),
    };
    return cmocka_run_group_tests(tests, setup_scratch, teardown_scratch);
}
