/* MULTI EXEC DISCARD WATCH UNWATCH. */
#include "handlers.h"
#include "rivet/transaction.h"
#include "rivet/watch.h"

void command_multi(client *c)
{
    if (c->flags & CLIENT_MULTI) {
        reply_error(&c->reply, "ERR MULTI calls can not be nested");
        return;
    }
    transaction_begin(c);
    reply_ok(&c->reply);
}

void command_discard(client *c)
{
    if (!(c->flags & CLIENT_MULTI)) {
        reply_error(&c->reply, "ERR DISCARD without MULTI");
        return;
    }
    transaction_discard(c);
    watch_unwatch_all(c);
    reply_ok(&c->reply);
}

void command_exec(client *c)
{
    if (!(c->flags & CLIENT_MULTI)) {
        reply_error(&c->reply, "ERR EXEC without MULTI");
        return;
    }
    if (c->flags & CLIENT_DIRTY_EXEC) {
        transaction_discard(c);
        watch_unwatch_all(c);
        reply_error(&c->reply, "EXECABORT Transaction discarded because of previous errors.");
        return;
    }
    if (c->flags & CLIENT_DIRTY_CAS) {
        transaction_discard(c);
        watch_unwatch_all(c);
        reply_null_array(&c->reply);
        return;
    }
    /* Unwatch first: the transaction's own writes must not matter. */
    watch_unwatch_all(c);
    transaction_run(c, dispatch_call);
}

void command_watch(client *c)
{
    if (c->flags & CLIENT_MULTI) {
        reply_error(&c->reply, "ERR WATCH inside MULTI is not allowed");
        return;
    }
    /* A key already expired counts as absent from now on, so watching it
     * starts from its current (missing) state. */
    for (int i = 1; i < c->argc; i++) {
        keyspace_lookup_read(c->db, c->argv[i], c->argv_len[i], 1);
        watch_key(c, c->db, c->argv[i], c->argv_len[i]);
    }
    reply_ok(&c->reply);
}

void command_unwatch(client *c)
{
    watch_unwatch_all(c);
    c->flags &= ~CLIENT_DIRTY_CAS;
    reply_ok(&c->reply);
}
