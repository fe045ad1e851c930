/* command_driver: runs command handlers directly, without a socket or a
 * loop, for unit tests that need exact reply bytes at exact clock readings.
 * One fake client in database 0 (RESP2 unless the test changes
 * command_driver_client.reply.protocol); every keyspace change is recorded as
 * "event:key " so a test can check what was announced. */
#ifndef RIVET_TEST_COMMAND_DRIVER_H
#define RIVET_TEST_COMMAND_DRIVER_H

#include <stdint.h>

#include "rivet/client.h"

extern client command_driver_client;

/* A fresh keyspace with every type registered and the clock at clock_ms;
 * server.last_token and server.primitives start from zero. */
void command_driver_setup(int64_t clock_ms);
void command_driver_teardown(void);
/* Sets the one clock handlers read: server.now_us/now_ms and the keyspace's. */
void command_driver_set_clock_ms(int64_t ms);
/* Runs the command given as argv split on spaces (at most 16 words) and
 * returns the reply bytes, valid until the next call. Clears the events. */
const char *command_driver_run(const char *line);
/* The events the last command announced. */
const char *command_driver_events(void);

#endif
