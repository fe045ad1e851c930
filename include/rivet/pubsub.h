/* pubsub: channels, patterns and shard channels, and who listens to them.
 * Publishing renders each message frame once per protocol and appends those
 * bytes to every receiver's reply buffer, so a message to N subscribers costs
 * N buffer appends and nothing else. A client with no subscription carries no
 * pub/sub state at all (client->pubsub is NULL). */
#ifndef RIVET_PUBSUB_H
#define RIVET_PUBSUB_H

#include <stddef.h>

#include "rivet/client.h"

/* The three namespaces. A pattern is matched (glob) against the channels of
 * PUBLISH; shard channels are a separate namespace with exact names only. */
enum pubsub_kind { PUBSUB_CHANNEL = 0, PUBSUB_PATTERN, PUBSUB_SHARD, PUBSUB_KINDS };

/* Adds / removes one subscription of c. Return 1 if that changed anything,
 * 0 if c was already (or was not) subscribed. No reply is written. */
int pubsub_subscribe(client *c, int kind, const char *name, size_t len);
int pubsub_unsubscribe(client *c, int kind, const char *name, size_t len);

/* The command replies: for each name, subscribe (or unsubscribe) and write
 * the confirmation [verb, name, count] (a push in RESP3). With no names,
 * unsubscribe_reply drops every subscription of that kind, one confirmation
 * each, or writes [verb, nil, count] when there was none. */
void pubsub_subscribe_reply(client *c, int kind, const char *const *names, const size_t *lens,
                            int count);
void pubsub_unsubscribe_reply(client *c, int kind, const char *const *names, const size_t *lens,
                              int count);

/* Drops every subscription of c without writing anything (disconnect, RESET). */
void pubsub_client_release(client *c);

/* Delivers message to the subscribers of channel (kind PUBSUB_CHANNEL: also
 * to matching patterns; PUBSUB_SHARD: shard subscribers). Returns the number
 * of deliveries, as PUBLISH replies. */
size_t pubsub_publish(int kind, const char *channel, size_t channel_len, const char *message,
                      size_t message_len);

/* Subscriptions c holds of one kind. */
size_t pubsub_client_count(const client *c, int kind);
/* The count subscribe confirmations carry: channels + patterns, or shard
 * channels for PUBSUB_SHARD. */
size_t pubsub_client_reply_count(const client *c, int kind);
/* Nonzero while c holds any subscription (RESP2 subscribed mode, the pubsub
 * output-buffer class). */
static inline int pubsub_client_subscribed(const client *c)
{
    return c->pubsub != NULL;
}

/* Distinct names with at least one subscriber (INFO, PUBSUB NUMPAT). */
size_t pubsub_name_count(int kind);
/* Subscribers of one exact name (PUBSUB NUMSUB / SHARDNUMSUB). */
size_t pubsub_subscriber_count(int kind, const char *name, size_t len);
/* Visits every name of a kind that has subscribers, in no particular order. */
typedef void (*pubsub_name_visit)(void *ctx, const char *name, size_t len);
void pubsub_for_each_name(int kind, pubsub_name_visit visit, void *ctx);

/* RESP2 subscribed mode: PING answers ["pong", message-or-""]. Returns 1 when
 * it wrote that reply (the caller writes the normal one otherwise). */
int pubsub_reply_ping(client *c);

#endif
