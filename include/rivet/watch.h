/* watch: optimistic locking for MULTI/EXEC. A client watches keys; any
 * write to one of them (including expiry and flushes) marks every watcher
 * dirty, and its next EXEC fails with a null reply. */
#ifndef RIVET_WATCH_H
#define RIVET_WATCH_H

#include <stddef.h>

#include "rivet/client.h"

void watch_init(void);
void watch_release(void);
void watch_key(client *c, database *db, const char *key, size_t len);
void watch_unwatch_all(client *c);
/* A write to key: its watchers become dirty. */
void watch_key_touched(database *db, const char *key, size_t len);
/* A whole database is about to be flushed or swapped: watchers of keys that
 * exist in it become dirty. */
void watch_database_touched(database *db);

#endif
