/* transaction: the MULTI queue of a client. Commands queued between MULTI
 * and EXEC keep copies of their arguments (the query buffer moves on) and
 * run back to back at EXEC, with nothing from other clients in between. */
#ifndef RIVET_TRANSACTION_H
#define RIVET_TRANSACTION_H

#include "rivet/client.h"
#include "rivet/command.h"

void transaction_begin(client *c);
/* Queues the current command (c->argv) for EXEC. */
void transaction_enqueue(client *c, const command *cmd);
/* Commands queued so far, or -1 outside MULTI (CLIENT LIST's multi=). */
int transaction_length(const client *c);
/* The flags of every queued command OR'ed together (0 outside MULTI): EXEC
 * is refused when out of memory if any queued command is denyoom. */
int transaction_command_flags(const client *c);
/* Drops the queue and leaves MULTI state (flags included). */
void transaction_discard(client *c);
/* Runs every queued command through call(), writing the EXEC array. */
void transaction_run(client *c, void (*call)(client *c, const command *cmd));

#endif
