/* Client records: the parts of a connection's state that commands see. */
#include "rivet/client.h"

#include <string.h>

#include "rivet/memory.h"
#include "rivet/pubsub.h"
#include "rivet/server.h"
#include "rivet/tracking.h"
#include "rivet/transaction.h"
#include "rivet/watch.h"

client *client_create(void)
{
    client *c = mem_calloc(sizeof(*c));
    c->id = ++server.next_client_id;
    c->db = keyspace_database(server.keyspace, 0);
    buffer_init(&c->reply.out);
    c->reply.protocol = 2;
    return c;
}

void client_destroy(client *c)
{
    if (c == NULL)
        return;
    transaction_discard(c);
    watch_unwatch_all(c);
    pubsub_client_release(c);
    tracking_disable(c);
    buffer_release(&c->reply.out);
    mem_free(c->argv);
    mem_free(c->argv_len);
    mem_free(c->name);
    mem_free(c->lib_name);
    mem_free(c->lib_version);
    mem_free(c);
}

void client_set_name(client *c, char **field, const char *value, size_t len)
{
    (void)c;
    mem_free(*field);
    *field = NULL;
    if (value != NULL && len > 0) {
        *field = mem_alloc(len + 1);
        memcpy(*field, value, len);
        (*field)[len] = '\0';
    }
}
