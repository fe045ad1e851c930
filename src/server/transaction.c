/* MULTI queues. */
#include "rivet/transaction.h"

#include <string.h>

#include "rivet/memory.h"

typedef struct queued_command {
    const command *cmd;
    int argc;
    char **argv;
    size_t *argv_len;
} queued_command;

struct transaction_queue {
    queued_command *commands;
    size_t count, cap;
    int command_flags; /* every queued command's flags, OR'ed */
};

void transaction_begin(client *c)
{
    c->flags |= CLIENT_MULTI;
    c->flags &= ~CLIENT_DIRTY_EXEC;
    if (c->transaction == NULL)
        c->transaction = mem_calloc(sizeof(struct transaction_queue));
}

void transaction_enqueue(client *c, const command *cmd)
{
    struct transaction_queue *q = c->transaction;
    if (q->count == q->cap) {
        q->cap = q->cap ? q->cap * 2 : 8;
        q->commands = mem_realloc(q->commands, sizeof(queued_command) * q->cap);
    }
    queued_command *qc = &q->commands[q->count++];
    q->command_flags |= cmd->flags;
    qc->cmd = cmd;
    qc->argc = c->argc;
    qc->argv = mem_alloc(sizeof(char *) * (size_t)c->argc);
    qc->argv_len = mem_alloc(sizeof(size_t) * (size_t)c->argc);
    for (int i = 0; i < c->argc; i++) {
        qc->argv[i] = mem_alloc(c->argv_len[i] + 1);
        memcpy(qc->argv[i], c->argv[i], c->argv_len[i]);
        qc->argv[i][c->argv_len[i]] = '\0';
        qc->argv_len[i] = c->argv_len[i];
    }
}

int transaction_length(const client *c)
{
    if (!(c->flags & CLIENT_MULTI))
        return -1;
    return c->transaction ? (int)c->transaction->count : 0;
}

int transaction_command_flags(const client *c)
{
    return (c->flags & CLIENT_MULTI) && c->transaction ? c->transaction->command_flags : 0;
}

void transaction_discard(client *c)
{
    struct transaction_queue *q = c->transaction;
    if (q) {
        for (size_t i = 0; i < q->count; i++) {
            for (int j = 0; j < q->commands[i].argc; j++)
                mem_free(q->commands[i].argv[j]);
            mem_free(q->commands[i].argv);
            mem_free(q->commands[i].argv_len);
        }
        mem_free(q->commands);
        mem_free(q);
        c->transaction = NULL;
    }
    c->flags &= ~(CLIENT_MULTI | CLIENT_DIRTY_EXEC | CLIENT_DIRTY_CAS);
}

void transaction_run(client *c, void (*call)(client *c, const command *cmd))
{
    struct transaction_queue *q = c->transaction;
    int argc = c->argc;
    const char **argv = c->argv;
    size_t *argv_len = c->argv_len;
    reply_array(&c->reply, q ? q->count : 0);
    c->flags |= CLIENT_IN_EXEC;
    c->flags &= ~CLIENT_MULTI;
    for (size_t i = 0; q && i < q->count; i++) {
        c->argc = q->commands[i].argc;
        c->argv = (const char **)q->commands[i].argv;
        c->argv_len = q->commands[i].argv_len;
        call(c, q->commands[i].cmd);
    }
    c->flags &= ~CLIENT_IN_EXEC;
    c->argc = argc;
    c->argv = argv;
    c->argv_len = argv_len;
    transaction_discard(c);
}
