/* notify: keyspace notifications. Turns "key K of db D changed by event E" into
 * PUBLISHes on __keyspace@D__:K (message E) and __keyevent@D__:E (message K),
 * filtered by notify-keyspace-events exactly as Redis filters them. Costs one
 * test of the config string when notifications are off (the usual case). */
#ifndef RIVET_NOTIFY_H
#define RIVET_NOTIFY_H

#include <stddef.h>

/* Flag bits: the event classes of keyspace.h (EVENT_GENERIC ...) plus these. */
enum notify_flags {
    NOTIFY_KEYSPACE = 1 << 0, /* K */
    NOTIFY_KEYEVENT = 1 << 1, /* E */
    NOTIFY_MODULE = 1 << 13,  /* d: accepted; Rivet has no module types */
};

/* Parses notify-keyspace-events letters (K E g $ l s h z x e t m d n A) into
 * flags. Returns 0, or -1 at the first unknown character. */
int notify_parse_flags(const char *text, int *flags);

/* Publishes the notifications for one event of class type_class on key in
 * database db_id, if the configured flags ask for them. */
void notify_keyspace_event(int type_class, const char *event, int db_id, const char *key,
                           size_t key_len);

#endif
