/* Pub/sub commands: SUBSCRIBE and friends, PUBLISH, SPUBLISH and the PUBSUB
 * introspection subcommands. The state and the delivery live in
 * server/pubsub.c; these handlers only read arguments and shape replies. */
#include <string.h>

#include "rivet/client.h"
#include "rivet/glob.h"
#include "rivet/pubsub.h"

#include "table.h"

#define C_PUBSUB     ACL_PUBSUB
#define PUBSUB_FLAGS (CMD_PUBSUB | NOSCRIPT | LOADING | STALE)

static void subscribe_names(client *c, int kind)
{
    pubsub_subscribe_reply(c, kind, c->argv + 1, c->argv_len + 1, c->argc - 1);
}

static void unsubscribe_names(client *c, int kind)
{
    pubsub_unsubscribe_reply(c, kind, c->argv + 1, c->argv_len + 1, c->argc - 1);
}

static void command_subscribe(client *c)
{
    subscribe_names(c, PUBSUB_CHANNEL);
}

static void command_psubscribe(client *c)
{
    subscribe_names(c, PUBSUB_PATTERN);
}

static void command_ssubscribe(client *c)
{
    subscribe_names(c, PUBSUB_SHARD);
}

static void command_unsubscribe(client *c)
{
    unsubscribe_names(c, PUBSUB_CHANNEL);
}

static void command_punsubscribe(client *c)
{
    unsubscribe_names(c, PUBSUB_PATTERN);
}

static void command_sunsubscribe(client *c)
{
    unsubscribe_names(c, PUBSUB_SHARD);
}

static void command_publish(client *c)
{
    size_t receivers =
        pubsub_publish(PUBSUB_CHANNEL, c->argv[1], c->argv_len[1], c->argv[2], c->argv_len[2]);
    reply_integer(&c->reply, (int64_t)receivers);
}

static void command_spublish(client *c)
{
    size_t receivers =
        pubsub_publish(PUBSUB_SHARD, c->argv[1], c->argv_len[1], c->argv[2], c->argv_len[2]);
    reply_integer(&c->reply, (int64_t)receivers);
}

/* ---------- PUBSUB ---------- */

/* Redis answers a CHANNELS with too many arguments with its generic
 * subcommand syntax error, naming the subcommand as it was sent. */
static int check_optional_pattern(client *c)
{
    if (c->argc <= 3)
        return 1;
    reply_errorf(&c->reply,
                 "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try PUBSUB "
                 "HELP.",
                 (int)(c->argv_len[1] > 128 ? 128 : c->argv_len[1]), c->argv[1]);
    return 0;
}

typedef struct channel_listing {
    client *client;
    const char *pattern; /* NULL: every name */
    size_t pattern_len;
    size_t count;
} channel_listing;

static void list_one(void *ctx, const char *name, size_t len)
{
    channel_listing *listing = ctx;
    if (listing->pattern && !glob_match(listing->pattern, listing->pattern_len, name, len, 0))
        return;
    reply_bulk(&listing->client->reply, name, len);
    listing->count++;
}

static void list_names(client *c, int kind)
{
    if (!check_optional_pattern(c))
        return;
    channel_listing listing = {c, NULL, 0, 0};
    if (c->argc == 3) {
        listing.pattern = c->argv[2];
        listing.pattern_len = c->argv_len[2];
    }
    size_t handle = reply_defer(&c->reply);
    pubsub_for_each_name(kind, list_one, &listing);
    reply_defer_array(&c->reply, handle, listing.count);
}

static void count_subscribers(client *c, int kind)
{
    reply_array(&c->reply, (size_t)(c->argc - 2) * 2);
    for (int i = 2; i < c->argc; i++) {
        reply_bulk(&c->reply, c->argv[i], c->argv_len[i]);
        reply_integer(&c->reply,
                      (int64_t)pubsub_subscriber_count(kind, c->argv[i], c->argv_len[i]));
    }
}

static void command_pubsub_channels(client *c)
{
    list_names(c, PUBSUB_CHANNEL);
}

static void command_pubsub_shardchannels(client *c)
{
    list_names(c, PUBSUB_SHARD);
}

static void command_pubsub_numsub(client *c)
{
    count_subscribers(c, PUBSUB_CHANNEL);
}

static void command_pubsub_shardnumsub(client *c)
{
    count_subscribers(c, PUBSUB_SHARD);
}

static void command_pubsub_numpat(client *c)
{
    reply_integer(&c->reply, (int64_t)pubsub_name_count(PUBSUB_PATTERN));
}

static void command_pubsub_help(client *c)
{
    static const char *const lines[] = {
        "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: "
        "'*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
        "HELP",
        "    Prints this help.",
    };
    size_t n = sizeof(lines) / sizeof(lines[0]);
    reply_array(&c->reply, n);
    for (size_t i = 0; i < n; i++)
        reply_status(&c->reply, lines[i]);
}

static command pubsub_subcommands[] = {
    ROW("channels", -2, CMD_PUBSUB | LOADING | STALE, C_PUBSUB | C_SLOW, 0, 0, 0, 0,
        command_pubsub_channels, "pubsub", "2.8.0",
        "O(N) where N is the number of active channels, and assuming constant time pattern "
        "matching (relatively short channels and patterns)",
        "List active channels"),
    ROW("help", 2, LOADING | STALE, C_SLOW, 0, 0, 0, 0, command_pubsub_help, "pubsub", "6.2.0",
        "O(1)", "Show helpful text about the different subcommands"),
    ROW("numpat", 2, CMD_PUBSUB | LOADING | STALE, C_PUBSUB | C_SLOW, 0, 0, 0, 0,
        command_pubsub_numpat, "pubsub", "2.8.0", "O(1)",
        "Get the count of unique patterns pattern subscriptions"),
    ROW("numsub", -2, CMD_PUBSUB | LOADING | STALE, C_PUBSUB | C_SLOW, 0, 0, 0, 0,
        command_pubsub_numsub, "pubsub", "2.8.0",
        "O(N) for the NUMSUB subcommand, where N is the number of requested channels",
        "Get the count of subscribers for channels"),
    ROW("shardchannels", -2, CMD_PUBSUB | LOADING | STALE, C_PUBSUB | C_SLOW, 0, 0, 0, 0,
        command_pubsub_shardchannels, "pubsub", "7.0.0",
        "O(N) where N is the number of active shard channels, and assuming constant time pattern "
        "matching (relatively short shard channels).",
        "List active shard channels"),
    ROW("shardnumsub", -2, CMD_PUBSUB | LOADING | STALE, C_PUBSUB | C_SLOW, 0, 0, 0, 0,
        command_pubsub_shardnumsub, "pubsub", "7.0.0",
        "O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard channels",
        "Get the count of subscribers for shard channels"),
    {0}};

const command pubsub_command_rows[] = {
    PARENT("pubsub", -2, pubsub_subcommands, "pubsub", "2.8.0", "A container for Pub/Sub commands"),
    ROW("psubscribe", -2, PUBSUB_FLAGS, C_PUBSUB | C_SLOW, 0, 0, 0, 0, command_psubscribe, "pubsub",
        "2.0.0", "O(N) where N is the number of patterns the client is already subscribed to.",
        "Listen for messages published to channels matching the given patterns"),
    ROW("publish", 3, CMD_PUBSUB | LOADING | STALE | FAST, C_PUBSUB | C_FAST, 0, 0, 0, 0,
        command_publish, "pubsub", "2.0.0",
        "O(N+M) where N is the number of clients subscribed to the receiving channel and M is "
        "the total number of subscribed patterns (by any client).",
        "Post a message to a channel"),
    ROW("punsubscribe", -1, PUBSUB_FLAGS, C_PUBSUB | C_SLOW, 0, 0, 0, 0, command_punsubscribe,
        "pubsub", "2.0.0",
        "O(N+M) where N is the number of patterns the client is already subscribed and M is the "
        "number of total patterns subscribed in the system (by any client).",
        "Stop listening for messages posted to channels matching the given patterns"),
    ROW("spublish", 3, CMD_PUBSUB | LOADING | STALE | FAST, C_PUBSUB | C_FAST, 1, 1, 1, KEY_NOT_KEY,
        command_spublish, "pubsub", "7.0.0",
        "O(N) where N is the number of clients subscribed to the receiving shard channel.",
        "Post a message to a shard channel"),
    ROW("ssubscribe", -2, PUBSUB_FLAGS, C_PUBSUB | C_SLOW, 1, -1, 1, KEY_NOT_KEY,
        command_ssubscribe, "pubsub", "7.0.0",
        "O(N) where N is the number of shard channels to subscribe to.",
        "Listen for messages published to the given shard channels"),
    ROW("subscribe", -2, PUBSUB_FLAGS, C_PUBSUB | C_SLOW, 0, 0, 0, 0, command_subscribe, "pubsub",
        "2.0.0", "O(N) where N is the number of channels to subscribe to.",
        "Listen for messages published to the given channels"),
    ROW("sunsubscribe", -1, PUBSUB_FLAGS, C_PUBSUB | C_SLOW, 1, -1, 1, KEY_NOT_KEY,
        command_sunsubscribe, "pubsub", "7.0.0",
        "O(N) where N is the number of clients already subscribed to a shard channel.",
        "Stop listening for messages posted to the given shard channels"),
    ROW("unsubscribe", -1, PUBSUB_FLAGS, C_PUBSUB | C_SLOW, 0, 0, 0, 0, command_unsubscribe,
        "pubsub", "2.0.0", "O(N) where N is the number of clients already subscribed to a channel.",
        "Stop listening for messages posted to the given channels"),
    {0}};
