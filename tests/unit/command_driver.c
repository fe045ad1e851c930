#include "command_driver.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "rivet/command.h"
#include "rivet/server.h"

client command_driver_client;
static buffer events;

static void record_event(void *ctx, database *db, const char *key, size_t key_len,
                         const char *event, int type_class)
{
    (void)ctx;
    (void)db;
    (void)type_class;
    buffer_append_cstr(&events, event);
    buffer_append_char(&events, ':');
    buffer_append(&events, key, key_len);
    buffer_append_char(&events, ' ');
}

void command_driver_set_clock_ms(int64_t ms)
{
    server.now_us = ms * 1000;
    server.now_ms = ms;
    keyspace_set_time(server.keyspace, ms);
}

void command_driver_setup(int64_t clock_ms)
{
    command_table_init();
    server.keyspace = keyspace_create(16, clock_ms);
    command_register_types(server.keyspace);
    keyspace_set_modified_hook(server.keyspace, record_event, NULL);
    command_driver_set_clock_ms(clock_ms);
    server.last_token = 0;
    memset(&server.primitives, 0, sizeof(server.primitives));
    memset(&command_driver_client, 0, sizeof(command_driver_client));
    command_driver_client.db = keyspace_database(server.keyspace, 0);
    command_driver_client.reply.protocol = 2;
    buffer_init(&command_driver_client.reply.out);
    buffer_init(&events);
}

void command_driver_teardown(void)
{
    keyspace_destroy(server.keyspace);
    server.keyspace = NULL;
    command_table_release();
    buffer_release(&command_driver_client.reply.out);
    buffer_release(&events);
}

const char *command_driver_run(const char *line)
{
    static char copy[1024];
    const char *argv[16];
    size_t argv_len[16];
    int argc = 0;
    client *c = &command_driver_client;
    snprintf(copy, sizeof(copy), "%s", line);
    for (char *word = strtok(copy, " "); word && argc < 16; word = strtok(NULL, " ")) {
        argv[argc] = word;
        argv_len[argc] = strlen(word);
        argc++;
    }
    const command *cmd = command_lookup(argv[0], argv_len[0]);
    assert_non_null(cmd);
    c->argc = argc;
    c->argv = argv;
    c->argv_len = argv_len;
    c->command = cmd;
    buffer_clear(&c->reply.out);
    buffer_clear(&events);
    cmd->handler(c);
    c->argv = NULL;
    c->argv_len = NULL;
    return c->reply.out.data ? c->reply.out.data : "";
}

const char *command_driver_events(void)
{
    return events.data ? events.data : "";
}
