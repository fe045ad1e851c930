/* Keyspace notifications. The configured flags are read from the config
 * string on each event instead of being cached: the string is a dozen bytes
 * at most, and re-reading it means CONFIG SET needs no hook here. */
#include "rivet/notify.h"

#include <stdio.h>
#include <string.h>

#include "rivet/buffer.h"
#include "rivet/keyspace.h"
#include "rivet/pubsub.h"
#include "rivet/server.h"

/* 'A' is every type class; like Redis it leaves out m (key miss) and n (new
 * key), which must be asked for by name. */
#define NOTIFY_ALL                                                                                 \
    (EVENT_GENERIC | EVENT_STRING | EVENT_LIST | EVENT_SET | EVENT_HASH | EVENT_ZSET |             \
     EVENT_EXPIRED | EVENT_EVICTED | EVENT_STREAM | NOTIFY_MODULE)

static int flag_of(char letter)
{
    switch (letter) {
    case 'A':
        return NOTIFY_ALL;
    case 'g':
        return EVENT_GENERIC;
    case '$':
        return EVENT_STRING;
    case 'l':
        return EVENT_LIST;
    case 's':
        return EVENT_SET;
    case 'h':
        return EVENT_HASH;
    case 'z':
        return EVENT_ZSET;
    case 'x':
        return EVENT_EXPIRED;
    case 'e':
        return EVENT_EVICTED;
    case 't':
        return EVENT_STREAM;
    case 'm':
        return EVENT_KEY_MISS;
    case 'n':
        return EVENT_NEW;
    case 'd':
        return NOTIFY_MODULE;
    case 'K':
        return NOTIFY_KEYSPACE;
    case 'E':
        return NOTIFY_KEYEVENT;
    default:
        return 0;
    }
}

int notify_parse_flags(const char *text, int *flags)
{
    int result = 0;
    for (; text && *text; text++) {
        int flag = flag_of(*text);
        if (flag == 0)
            return -1;
        result |= flag;
    }
    *flags = result;
    return 0;
}

/* The channel name is built in a buffer kept between events, so a busy
 * notification stream allocates nothing. */
static buffer channel_name;

static void publish_on(const char *prefix, int db_id, const char *suffix, size_t suffix_len,
                       const char *message, size_t message_len)
{
    buffer_clear(&channel_name);
    buffer_appendf(&channel_name, "__%s@%d__:", prefix, db_id);
    buffer_append(&channel_name, suffix, suffix_len);
    pubsub_publish(PUBSUB_CHANNEL, channel_name.data, channel_name.len, message, message_len);
}

void notify_keyspace_event(int type_class, const char *event, int db_id, const char *key,
                           size_t key_len)
{
    int flags;
    if (notify_parse_flags(server.config.notify_keyspace_events, &flags) != 0)
        return;
    /* Redis requires the event's class and at least one of K / E. */
    if (!(flags & type_class) || !(flags & (NOTIFY_KEYSPACE | NOTIFY_KEYEVENT)))
        return;
    size_t event_len = strlen(event);
    if (flags & NOTIFY_KEYSPACE)
        publish_on("keyspace", db_id, key, key_len, event, event_len);
    if (flags & NOTIFY_KEYEVENT)
        publish_on("keyevent", db_id, event, event_len, key, key_len);
}
