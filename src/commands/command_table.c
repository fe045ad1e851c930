/* The command table: one row per command, read by dispatch, COMMAND, INFO
 * commandstats and the docs generator. Arity, flags, key positions and
 * categories follow Redis 7 so clients that read COMMAND see what they
 * expect. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "handlers.h"
#include "rivet/command.h"
#include "rivet/hash.h"
#include "rivet/memory.h"
#include "rivet/number.h"

#include "table.h"

static command object_subcommands[] = {
    ROW("encoding", 3, R, C_KS | C_R | C_SLOW, 2, 2, 1, KEY_RO, command_object_encoding, "generic",
        "2.2.3", "O(1)", "Inspects the internal encoding of a Redis object."),
    ROW("freq", 3, R, C_KS | C_R | C_SLOW, 2, 2, 1, KEY_RO, command_object_freq, "generic", "4.0.0",
        "O(1)", "Returns the logarithmic access frequency counter of a Redis object."),
    ROW("help", 2, LOADING | STALE, C_KS | C_SLOW, 0, 0, 0, 0, command_object_help, "generic",
        "6.2.0", "O(1)", "Returns helpful text about the different subcommands."),
    ROW("idletime", 3, R, C_KS | C_R | C_SLOW, 2, 2, 1, KEY_RO, command_object_idletime, "generic",
        "2.2.3", "O(1)", "Returns the time since the last access to a Redis object."),
    ROW("refcount", 3, R, C_KS | C_R | C_SLOW, 2, 2, 1, KEY_RO, command_object_refcount, "generic",
        "2.2.3", "O(1)", "Returns the reference count of a value of a key."),
    {0}};

static command client_subcommands[] = {
    ROW("caching", 3, NOSCRIPT | LOADING | STALE, C_SLOW | C_CONN, 0, 0, 0, 0,
        command_client_caching, "connection", "6.0.0", "O(1)",
        "Instructs the server whether to track the keys in the next request."),
    ROW("getredir", 2, NOSCRIPT | LOADING | STALE, C_SLOW | C_CONN, 0, 0, 0, 0,
        command_client_getredir, "connection", "6.0.0", "O(1)",
        "Returns the client ID to which the connection's tracking notifications are redirected."),
    ROW("getname", 2, NOSCRIPT | LOADING | STALE, C_SLOW | C_CONN, 0, 0, 0, 0,
        command_client_getname, "connection", "2.6.9", "O(1)",
        "Returns the name of the connection."),
    ROW("help", 2, LOADING | STALE, C_SLOW | C_CONN, 0, 0, 0, 0, command_client_help, "connection",
        "5.0.0", "O(1)", "Returns helpful text about the different subcommands."),
    ROW("id", 2, NOSCRIPT | LOADING | STALE, C_SLOW | C_CONN, 0, 0, 0, 0, command_client_id,
        "connection", "5.0.0", "O(1)", "Returns the unique client ID of the connection."),
    ROW("info", 2, NOSCRIPT | LOADING | STALE, C_SLOW | C_CONN, 0, 0, 0, 0, command_client_info,
        "connection", "6.2.0", "O(1)", "Returns information about the connection."),
    ROW("kill", -3, ADMIN | NOSCRIPT | LOADING | STALE, C_ADMIN | C_SLOW | C_DANGER | C_CONN, 0, 0,
        0, 0, command_client_kill, "connection", "2.4.0",
        "O(N) where N is the number of client connections", "Terminates open connections."),
    ROW("list", -2, ADMIN | NOSCRIPT | LOADING | STALE, C_ADMIN | C_SLOW | C_DANGER | C_CONN, 0, 0,
        0, 0, command_client_list, "connection", "2.4.0",
        "O(N) where N is the number of client connections", "Lists open connections."),
    ROW("no-evict", 3, ADMIN | NOSCRIPT | LOADING | STALE, C_ADMIN | C_SLOW | C_DANGER | C_CONN, 0,
        0, 0, 0, command_client_no_evict, "connection", "7.0.0", "O(1)",
        "Sets the client eviction mode of the connection."),
    ROW("no-touch", 3, NOSCRIPT | LOADING | STALE, C_SLOW | C_CONN, 0, 0, 0, 0,
        command_client_no_touch, "connection", "7.2.0", "O(1)",
        "Controls whether commands sent by the client affect the LRU/LFU of accessed keys."),
    ROW("reply", 3, NOSCRIPT | LOADING | STALE, C_SLOW | C_CONN, 0, 0, 0, 0, command_client_reply,
        "connection", "3.2.0", "O(1)", "Instructs the server whether to reply to commands."),
    ROW("setinfo", 4, NOSCRIPT | LOADING | STALE, C_SLOW | C_CONN, 0, 0, 0, 0,
        command_client_setinfo, "connection", "7.2.0", "O(1)",
        "Sets information specific to the client or connection."),
    ROW("setname", 3, NOSCRIPT | LOADING | STALE, C_SLOW | C_CONN, 0, 0, 0, 0,
        command_client_setname, "connection", "2.6.9", "O(1)", "Sets the connection name."),
    ROW("unblock", -3, ADMIN | NOSCRIPT | LOADING | STALE, C_ADMIN | C_SLOW | C_DANGER | C_CONN, 0,
        0, 0, 0, command_client_unblock, "connection", "5.0.0",
        "O(log N) where N is the number of client connections",
        "Unblocks a client blocked by a blocking command from a different connection."),
    ROW("tracking", -3, NOSCRIPT | LOADING | STALE, C_SLOW | C_CONN, 0, 0, 0, 0,
        command_client_tracking, "connection", "6.0.0",
        "O(1). Some options may introduce additional complexity.",
        "Controls server-assisted client-side caching for the connection."),
    ROW("trackinginfo", 2, NOSCRIPT | LOADING | STALE, C_SLOW | C_CONN, 0, 0, 0, 0,
        command_client_trackinginfo, "connection", "6.2.0", "O(1)",
        "Returns information about server-assisted client-side caching for the connection."),
    {0}};

static command config_subcommands[] = {
    ROW("get", -3, ADMIN | NOSCRIPT | LOADING | STALE, C_ADMIN | C_SLOW | C_DANGER, 0, 0, 0, 0,
        command_config_get, "server", "2.0.0",
        "O(N) when N is the number of configuration parameters provided",
        "Returns the effective values of configuration parameters."),
    ROW("help", 2, LOADING | STALE, C_SLOW, 0, 0, 0, 0, command_config_help, "server", "5.0.0",
        "O(1)", "Returns helpful text about the different subcommands."),
    ROW("resetstat", 2, ADMIN | NOSCRIPT | LOADING | STALE, C_ADMIN | C_SLOW | C_DANGER, 0, 0, 0, 0,
        command_config_resetstat, "server", "2.0.0", "O(1)", "Resets the server's statistics."),
    ROW("rewrite", 2, ADMIN | NOSCRIPT | LOADING | STALE, C_ADMIN | C_SLOW | C_DANGER, 0, 0, 0, 0,
        command_config_rewrite, "server", "2.8.0", "O(1)",
        "Persists the effective configuration to file."),
    ROW("set", -4, ADMIN | NOSCRIPT | LOADING | STALE, C_ADMIN | C_SLOW | C_DANGER, 0, 0, 0, 0,
        command_config_set, "server", "2.0.0",
        "O(N) when N is the number of configuration parameters provided",
        "Sets configuration parameters in-flight."),
    {0}};

static command slowlog_subcommands[] = {
    ROW("get", -2, ADMIN | LOADING | STALE, C_ADMIN | C_SLOW | C_DANGER, 0, 0, 0, 0,
        command_slowlog_get, "server", "2.2.12", "O(N) where N is the number of entries returned",
        "Returns the slow log's entries."),
    ROW("help", 2, LOADING | STALE, C_SLOW, 0, 0, 0, 0, command_slowlog_help, "server", "6.2.0",
        "O(1)", "Show helpful text about the different subcommands"),
    ROW("len", 2, ADMIN | LOADING | STALE, C_ADMIN | C_SLOW | C_DANGER, 0, 0, 0, 0,
        command_slowlog_len, "server", "2.2.12", "O(1)",
        "Returns the number of entries in the slow log."),
    ROW("reset", 2, ADMIN | LOADING | STALE, C_ADMIN | C_SLOW | C_DANGER, 0, 0, 0, 0,
        command_slowlog_reset, "server", "2.2.12",
        "O(N) where N is the number of entries in the slowlog",
        "Clears all entries from the slow log."),
    {0}};

static command command_subcommands[] = {
    ROW("count", 2, LOADING | STALE, C_SLOW | C_CONN, 0, 0, 0, 0, command_command_count, "server",
        "2.8.13", "O(1)", "Returns a count of commands."),
    ROW("docs", -2, LOADING | STALE, C_SLOW | C_CONN, 0, 0, 0, 0, command_command_docs, "server",
        "7.0.0", "O(N) where N is the number of commands to look up",
        "Returns documentary information about one, multiple or all commands."),
    ROW("getkeys", -3, LOADING | STALE, C_SLOW | C_CONN, 0, 0, 0, 0, command_command_getkeys,
        "server", "2.8.13", "O(N) where N is the number of arguments to the command",
        "Extracts the key names from an arbitrary command."),
    ROW("help", 2, LOADING | STALE, C_SLOW | C_CONN, 0, 0, 0, 0, command_command_help, "server",
        "5.0.0", "O(1)", "Returns helpful text about the different subcommands."),
    ROW("info", -2, LOADING | STALE, C_SLOW | C_CONN, 0, 0, 0, 0, command_command_info, "server",
        "2.8.13", "O(N) where N is the number of commands to look up",
        "Returns information about one, multiple or all commands."),
    ROW("list", -2, LOADING | STALE, C_SLOW | C_CONN, 0, 0, 0, 0, command_command_list, "server",
        "7.0.0", "O(N) where N is the total number of Redis commands",
        "Returns a list of command names."),
    {0}};

/* Top-level commands, alphabetical (COMMAND LIST order does not matter to
 * clients, but it keeps the table easy to scan). */
static command commands[] = {
    ROW("append", 3, W | DOOM | FAST, C_W | C_STR | C_FAST, 1, 1, 1, KEY_RW | KEY_INSERT,
        command_append, "string", "2.0.0", "O(1)",
        "Appends a string to the value of a key. Creates the key if it doesn't exist."),
    ROW("auth", -2, NOSCRIPT | LOADING | STALE | FAST | NOAUTH | SENT | BUSY, C_FAST | C_CONN, 0, 0,
        0, 0, command_auth, "connection", "1.0.0",
        "O(N) where N is the number of passwords defined for the user",
        "Authenticates the connection."),
    PARENT("client", -2, client_subcommands, "connection", "2.4.0",
           "A container for client connection commands."),
    {.name = "command",
     .arity = -1,
     .flags = LOADING | STALE | SENT,
     .categories = C_SLOW | C_CONN,
     .handler = command_command,
     .subcommands = command_subcommands,
     .group = "server",
     .since = "2.8.13",
     .complexity = "O(N) where N is the total number of Redis commands",
     .summary = "Returns detailed information about all commands."},
    PARENT("config", -2, config_subcommands, "server", "2.0.0",
           "A container for server configuration commands."),
    ROW("copy", -3, W | DOOM, C_KS | C_W | C_SLOW, 1, 2, 1, KEY_RW, command_copy, "generic",
        "6.2.0",
        "O(N) worst case for collections, where N is the number of nested items. O(1) for string "
        "values.",
        "Copies the value of a key to a new key."),
    ROW("dbsize", 1, R | FAST, C_KS | C_R | C_FAST, 0, 0, 0, 0, command_dbsize, "server", "1.0.0",
        "O(1)", "Returns the number of keys in the database."),
    ROW("debug", -2, ADMIN | NOSCRIPT | LOADING | STALE | CMD_PROTECTED,
        C_ADMIN | C_SLOW | C_DANGER, 0, 0, 0, 0, command_debug, "server", "1.0.0",
        "Depends on subcommand.", "A container for debugging commands."),
    ROW("decr", 2, W | DOOM | FAST, C_W | C_STR | C_FAST, 1, 1, 1, KEY_WRITE_UPDATE, command_decr,
        "string", "1.0.0", "O(1)",
        "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't "
        "exist."),
    ROW("decrby", 3, W | DOOM | FAST, C_W | C_STR | C_FAST, 1, 1, 1, KEY_WRITE_UPDATE,
        command_decrby, "string", "1.0.0", "O(1)",
        "Decrements a number from the integer value of a key. Uses 0 as initial value if the key "
        "doesn't exist."),
    ROW("del", -2, W, C_KS | C_W | C_SLOW, 1, -1, 1, KEY_DEL, command_del, "generic", "1.0.0",
        "O(N) where N is the number of keys that will be removed.", "Deletes one or more keys."),
    ROW("delex", -2, W | FAST, C_W | C_STR | C_FAST, 1, 1, 1,
        KEY_RW | KEY_DELETE | KEY_VARIABLE_FLAGS, command_delex, "string", "8.4.0",
        "O(1) for IFEQ/IFNE, O(N) for IFDEQ/IFDNE where N is the length of the string value.",
        "Conditionally removes the specified key based on value or digest comparison."),
    ROW("delifeq", 3, W | FAST, C_W | C_STR | C_FAST, 1, 1, 1, KEY_RW | KEY_DELETE, command_delifeq,
        "string", "9.0.0", "O(1)", "Delete key if value matches string."),
    ROW("digest", 2, R | FAST, C_R | C_STR | C_FAST, 1, 1, 1, KEY_READ, command_digest, "string",
        "8.4.0", "O(N) where N is the length of the string value.",
        "Returns the XXH3 hash of a string value."),
    ROW("discard", 1, NOSCRIPT | LOADING | STALE | FAST | BUSY, C_FAST | ACL_TRANSACTION, 0, 0, 0,
        0, command_discard, "transactions", "2.0.0",
        "O(N), when N is the number of queued commands", "Discards a transaction."),
    ROW("echo", 2, FAST, C_FAST | C_CONN, 0, 0, 0, 0, command_echo, "connection", "1.0.0", "O(1)",
        "Returns the given string."),
    ROW("exec", 1, NOSCRIPT | LOADING | STALE | CMD_SKIP_SLOWLOG, C_SLOW | ACL_TRANSACTION, 0, 0, 0,
        0, command_exec, "transactions", "1.2.0", "Depends on commands in the transaction",
        "Executes all commands in a transaction."),
    ROW("exists", -2, R | FAST, C_KS | C_R | C_FAST, 1, -1, 1, KEY_RO, command_exists, "generic",
        "1.0.0", "O(N) where N is the number of keys to check.",
        "Determines whether one or more keys exist."),
    ROW("expire", -3, W | FAST, C_KS | C_W | C_FAST, 1, 1, 1, KEY_RW | KEY_UPDATE, command_expire,
        "generic", "1.0.0", "O(1)", "Sets the expiration time of a key in seconds."),
    ROW("expireat", -3, W | FAST, C_KS | C_W | C_FAST, 1, 1, 1, KEY_RW | KEY_UPDATE,
        command_expireat, "generic", "1.2.0", "O(1)",
        "Sets the expiration time of a key to a Unix timestamp."),
    ROW("expiretime", 2, R | FAST, C_KS | C_R | C_FAST, 1, 1, 1, KEY_READ, command_expiretime,
        "generic", "7.0.0", "O(1)", "Returns the expiration time of a key as a Unix timestamp."),
    ROW("flushall", -1, W, C_KS | C_W | C_SLOW | C_DANGER, 0, 0, 0, 0, command_flushall, "server",
        "1.0.0", "O(N) where N is the total number of keys in all databases",
        "Removes all keys from all databases."),
    ROW("flushdb", -1, W, C_KS | C_W | C_SLOW | C_DANGER, 0, 0, 0, 0, command_flushdb, "server",
        "1.0.0", "O(N) where N is the number of keys in the selected database",
        "Remove all keys from the current database."),
    ROW("get", 2, R | FAST, C_R | C_STR | C_FAST, 1, 1, 1, KEY_READ, command_get, "string", "1.0.0",
        "O(1)", "Returns the string value of a key."),
    ROW("getdel", 2, W | FAST, C_W | C_STR | C_FAST, 1, 1, 1, KEY_RW | KEY_ACCESS | KEY_DELETE,
        command_getdel, "string", "6.2.0", "O(1)",
        "Returns the string value of a key after deleting the key."),
    ROW("getex", -2, W | FAST, C_W | C_STR | C_FAST, 1, 1, 1, KEY_WRITE_UPDATE, command_getex,
        "string", "6.2.0", "O(1)",
        "Returns the string value of a key after setting its expiration time."),
    ROW("getrange", 4, R, C_R | C_STR | C_SLOW, 1, 1, 1, KEY_READ, command_getrange, "string",
        "2.4.0", "O(N) where N is the length of the returned string.",
        "Returns a substring of the string stored at a key."),
    ROW("getset", 3, W | DOOM | FAST, C_W | C_STR | C_FAST, 1, 1, 1, KEY_WRITE_UPDATE,
        command_getset, "string", "1.0.0", "O(1)",
        "Returns the previous string value of a key after setting it to a new value."),
    ROW("hello", -1, NOSCRIPT | LOADING | STALE | FAST | NOAUTH | SENT | BUSY, C_FAST | C_CONN, 0,
        0, 0, 0, command_hello, "connection", "6.0.0", "O(1)", "Handshakes with the Redis server."),
    ROW("incr", 2, W | DOOM | FAST, C_W | C_STR | C_FAST, 1, 1, 1, KEY_WRITE_UPDATE, command_incr,
        "string", "1.0.0", "O(1)",
        "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't "
        "exist."),
    ROW("incrby", 3, W | DOOM | FAST, C_W | C_STR | C_FAST, 1, 1, 1, KEY_WRITE_UPDATE,
        command_incrby, "string", "1.0.0", "O(1)",
        "Increments the integer value of a key by a number. Uses 0 as initial value if the key "
        "doesn't exist."),
    ROW("incrbyfloat", 3, W | DOOM | FAST, C_W | C_STR | C_FAST, 1, 1, 1, KEY_WRITE_UPDATE,
        command_incrbyfloat, "string", "2.6.0", "O(1)",
        "Increment the floating point value of a key by a number. Uses 0 as initial value if the "
        "key doesn't exist."),
    ROW("info", -1, LOADING | STALE | SENT, C_SLOW | C_DANGER, 0, 0, 0, 0, command_info, "server",
        "1.0.0", "O(1)", "Returns information and statistics about the server."),
    ROW("keys", 2, R, C_KS | C_R | C_SLOW | C_DANGER, 0, 0, 0, 0, command_keys, "generic", "1.0.0",
        "O(N) with N being the number of keys in the database",
        "Returns all key names that match a pattern."),
    ROW("lastsave", 1, LOADING | STALE | FAST, C_ADMIN | C_FAST | C_DANGER, 0, 0, 0, 0,
        command_lastsave, "server", "1.0.0", "O(1)",
        "Returns the Unix timestamp of the last successful save to disk."),
    ROW("lcs", -3, R, C_R | C_STR | C_SLOW, 1, 2, 1, KEY_READ, command_lcs, "string", "7.0.0",
        "O(N*M) where N and M are the lengths of s1 and s2, respectively",
        "Finds the longest common substring."),
    ROW("mget", -2, R | FAST, C_R | C_STR | C_FAST, 1, -1, 1, KEY_READ, command_mget, "string",
        "1.0.0", "O(N) where N is the number of keys to retrieve.",
        "Atomically returns the string values of one or more keys."),
    ROW("move", 3, W | FAST, C_KS | C_W | C_FAST, 1, 1, 1, KEY_RW | KEY_ACCESS | KEY_DELETE,
        command_move, "generic", "1.0.0", "O(1)", "Moves a key to another database."),
    ROW("mset", -3, W | DOOM, C_W | C_STR | C_SLOW, 1, -1, 2, KEY_OW | KEY_UPDATE, command_mset,
        "string", "1.0.1", "O(N) where N is the number of keys to set.",
        "Atomically creates or modifies the string values of one or more keys."),
    /* Keys follow a count, two arguments apart (key value key value ...). */
    {.name = "msetex",
     .arity = -4,
     .flags = W | DOOM,
     .categories = C_W | C_STR | C_SLOW,
     .first_key = 0,
     .last_key = 0,
     .key_step = 2,
     .key_numkeys_index = 1,
     .key_flags = KEY_OW | KEY_UPDATE,
     .handler = command_msetex,
     .group = "string",
     .since = "8.4.0",
     .complexity = "O(N) where N is the number of keys to set.",
     .summary = "Atomically sets multiple string keys with a shared expiration in a single "
                "operation. Supports flexible argument parsing where condition and expiration "
                "flags can appear in any order."},
    ROW("msetnx", -3, W | DOOM, C_W | C_STR | C_SLOW, 1, -1, 2, KEY_OW | KEY_INSERT, command_msetnx,
        "string", "1.0.1", "O(N) where N is the number of keys to set.",
        "Atomically modifies the string values of one or more keys only when all keys don't "
        "exist."),
    ROW("multi", 1, NOSCRIPT | LOADING | STALE | FAST | BUSY, C_FAST | ACL_TRANSACTION, 0, 0, 0, 0,
        command_multi, "transactions", "1.2.0", "O(1)", "Starts a transaction."),
    PARENT("object", -2, object_subcommands, "generic", "2.2.3",
           "A container for object introspection commands."),
    ROW("persist", 2, W | FAST, C_KS | C_W | C_FAST, 1, 1, 1, KEY_RW | KEY_UPDATE, command_persist,
        "generic", "2.2.0", "O(1)", "Removes the expiration time of a key."),
    ROW("pexpire", -3, W | FAST, C_KS | C_W | C_FAST, 1, 1, 1, KEY_RW | KEY_UPDATE, command_pexpire,
        "generic", "2.6.0", "O(1)", "Sets the expiration time of a key in milliseconds."),
    ROW("pexpireat", -3, W | FAST, C_KS | C_W | C_FAST, 1, 1, 1, KEY_RW | KEY_UPDATE,
        command_pexpireat, "generic", "2.6.0", "O(1)",
        "Sets the expiration time of a key to a Unix milliseconds timestamp."),
    ROW("pexpiretime", 2, R | FAST, C_KS | C_R | C_FAST, 1, 1, 1, KEY_READ, command_pexpiretime,
        "generic", "7.0.0", "O(1)",
        "Returns the expiration time of a key as a Unix milliseconds timestamp."),
    ROW("ping", -1, FAST | SENT, C_FAST | C_CONN, 0, 0, 0, 0, command_ping, "connection", "1.0.0",
        "O(1)", "Returns the server's liveliness response."),
    ROW("psetex", 4, W | DOOM, C_W | C_STR | C_SLOW, 1, 1, 1, KEY_OW | KEY_UPDATE, command_psetex,
        "string", "2.6.0", "O(1)",
        "Sets both string value and expiration time in milliseconds of a key. The key is created "
        "if it doesn't exist."),
    ROW("pttl", 2, R | FAST, C_KS | C_R | C_FAST, 1, 1, 1, KEY_READ, command_pttl, "generic",
        "2.6.0", "O(1)", "Returns the expiration time in milliseconds of a key."),
    ROW("quit", -1, NOSCRIPT | LOADING | STALE | FAST | NOAUTH | BUSY, C_FAST | C_CONN, 0, 0, 0, 0,
        command_quit, "connection", "1.0.0", "O(1)", "Closes the connection."),
    ROW("randomkey", 1, R | CMD_TOUCHES_ARBITRARY_KEYS, C_KS | C_R | C_SLOW, 0, 0, 0, 0,
        command_randomkey, "generic", "1.0.0", "O(1)",
        "Returns a random key name from the database."),
    ROW("rename", 3, W, C_KS | C_W | C_SLOW, 1, 2, 1, KEY_RW, command_rename, "generic", "1.0.0",
        "O(1)", "Renames a key and overwrites the destination."),
    ROW("renamenx", 3, W | FAST, C_KS | C_W | C_FAST, 1, 2, 1, KEY_RW, command_renamenx, "generic",
        "1.0.0", "O(1)", "Renames a key only when the target key name doesn't exist."),
    ROW("reset", 1, NOSCRIPT | LOADING | STALE | FAST | NOAUTH | BUSY, C_FAST | C_CONN, 0, 0, 0, 0,
        command_reset, "connection", "6.2.0", "O(1)", "Resets the connection."),
    ROW("scan", -2, R, C_KS | C_R | C_SLOW, 0, 0, 0, 0, command_scan, "generic", "2.8.0",
        "O(1) for every call. O(N) for a complete iteration.",
        "Iterates over the key names in the database."),
    ROW("select", 2, LOADING | STALE | FAST, C_FAST | C_CONN, 0, 0, 0, 0, command_select,
        "connection", "1.0.0", "O(1)", "Changes the selected database."),
    ROW("set", -3, W | DOOM, C_W | C_STR | C_SLOW, 1, 1, 1, KEY_RW | KEY_ACCESS | KEY_UPDATE,
        command_set, "string", "1.0.0", "O(1)",
        "Sets the string value of a key, ignoring its type. The key is created if it doesn't "
        "exist."),
    ROW("setex", 4, W | DOOM, C_W | C_STR | C_SLOW, 1, 1, 1, KEY_OW | KEY_UPDATE, command_setex,
        "string", "2.0.0", "O(1)",
        "Sets the string value and expiration time of a key. Creates the key if it doesn't exist."),
    ROW("setnx", 3, W | DOOM | FAST, C_W | C_STR | C_FAST, 1, 1, 1, KEY_OW | KEY_INSERT,
        command_setnx, "string", "1.0.0", "O(1)",
        "Set the string value of a key only when the key doesn't exist."),
    ROW("setrange", 4, W | DOOM, C_W | C_STR | C_SLOW, 1, 1, 1, KEY_RW | KEY_UPDATE,
        command_setrange, "string", "2.2.0",
        "O(1), not counting the time taken to copy the new string in place.",
        "Overwrites a part of a string value with another by an offset. Creates the key if it "
        "doesn't exist."),
    ROW("shutdown", -1, ADMIN | NOSCRIPT | LOADING | STALE | CMD_NO_MULTI | SENT | BUSY,
        C_ADMIN | C_SLOW | C_DANGER, 0, 0, 0, 0, command_shutdown, "server", "1.0.0",
        "O(N) when saving, where N is the total number of keys in all databases when saving data, "
        "otherwise O(1)",
        "Synchronously saves the database(s) to disk and shuts down the Redis server."),
    PARENT("slowlog", -2, slowlog_subcommands, "server", "2.2.12",
           "A container for slow log commands."),
    ROW("strlen", 2, R | FAST, C_R | C_STR | C_FAST, 1, 1, 1, KEY_RO, command_strlen, "string",
        "2.2.0", "O(1)", "Returns the length of a string value."),
    ROW("substr", 4, R, C_R | C_STR | C_SLOW, 1, 1, 1, KEY_READ, command_getrange, "string",
        "1.0.0", "O(N) where N is the length of the returned string.",
        "Returns a substring from a string value."),
    ROW("swapdb", 3, W | FAST, C_KS | C_W | C_FAST | C_DANGER, 0, 0, 0, 0, command_swapdb, "server",
        "4.0.0",
        "O(N) where N is the count of clients watching or blocking on keys from both databases.",
        "Swaps two Redis databases."),
    ROW("time", 1, LOADING | STALE | FAST, C_FAST, 0, 0, 0, 0, command_time, "server", "2.6.0",
        "O(1)", "Returns the server time."),
    ROW("touch", -2, R | FAST, C_KS | C_R | C_FAST, 1, -1, 1, KEY_RO, command_touch, "generic",
        "3.2.1", "O(N) where N is the number of keys that will be touched.",
        "Returns the number of existing keys out of those specified after updating the time they "
        "were last accessed."),
    ROW("ttl", 2, R | FAST, C_KS | C_R | C_FAST, 1, 1, 1, KEY_READ, command_ttl, "generic", "1.0.0",
        "O(1)", "Returns the expiration time in seconds of a key."),
    ROW("type", 2, R | FAST, C_KS | C_R | C_FAST, 1, 1, 1, KEY_RO, command_type, "generic", "1.0.0",
        "O(1)", "Determines the type of value stored at a key."),
    ROW("unlink", -2, W | FAST, C_KS | C_W | C_FAST, 1, -1, 1, KEY_RM | KEY_DELETE, command_unlink,
        "generic", "4.0.0", "O(1) for each key removed regardless of its size.",
        "Asynchronously deletes one or more keys."),
    ROW("unwatch", 1, NOSCRIPT | LOADING | STALE | FAST | BUSY, C_FAST | ACL_TRANSACTION, 0, 0, 0,
        0, command_unwatch, "transactions", "2.2.0", "O(1)",
        "Forgets about watched keys of a transaction."),
    ROW("watch", -2, NOSCRIPT | LOADING | STALE | FAST | BUSY, C_FAST | ACL_TRANSACTION, 1, -1, 1,
        KEY_RO, command_watch, "transactions", "2.2.0", "O(1) for every key.",
        "Monitors changes to keys to determine the execution of a transaction."),
    ROW("wait", 3, NOSCRIPT, C_SLOW | C_CONN, 0, 0, 0, 0, command_wait, "generic", "3.0.0", "O(1)",
        "Blocks until the asynchronous replication of all preceding write commands sent by the "
        "connection is completed."),
};

/* Rows defined next to their family's handlers; joined at start-up. One
 * line per family. */
/* clang-format off */
static const command *const families[] = {
    commands,
    bitmap_command_rows,
    cache_command_rows,
    counter_command_rows,
    hll_command_rows,
    hash_command_rows,
    idempotency_command_rows,
    list_command_rows,
    lock_command_rows,
    memory_command_rows,
    persist_command_rows,
    pubsub_command_rows,
    ratelimit_command_rows,
    script_command_rows,
    function_command_rows,
    set_command_rows,
    stream_command_rows,
    zset_command_rows,
};
/* clang-format on */

void command_register_types(keyspace *ks)
{
    /* Each value type registers how its values are freed and copied. One
     * line per type family. */
    (void)ks;
    hash_register_type(ks);
    list_register_type(ks);
    set_register_type(ks);
    zset_register_type(ks);
    stream_register_type(ks);
    lock_register_type(ks);
    idempotency_register_type(ks);
    ratelimit_register_type(ks);
    counter_register_type(ks);
}

static command *table; /* every top-level row, joined */
static size_t table_count;

/* Name lookup: an open-addressing table of pointers built at start-up and
 * keyed by the case-insensitive hash of the name. */
static const command **index_slots;
static size_t index_mask;
static command_stats *stats_block;

static void index_insert(const command *cmd)
{
    size_t i = hash_bytes_nocase(cmd->name, strlen(cmd->name)) & index_mask;
    while (index_slots[i])
        i = (i + 1) & index_mask;
    index_slots[i] = cmd;
}

static size_t count_subcommands(const command *subs)
{
    size_t n = 0;
    while (subs && subs[n].name)
        n++;
    return n;
}

static size_t family_length(const command *rows, size_t fallback)
{
    if (rows == commands)
        return fallback;
    size_t n = 0;
    while (rows[n].name)
        n++;
    return n;
}

void command_table_init(void)
{
    size_t core = sizeof(commands) / sizeof(commands[0]);
    table_count = 0;
    for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++)
        table_count += family_length(families[f], core);
    table = mem_calloc(sizeof(command) * table_count);
    size_t next = 0;
    for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++) {
        size_t n = family_length(families[f], core);
        memcpy(&table[next], families[f], sizeof(command) * n);
        next += n;
    }
    size_t total = table_count;
    for (size_t i = 0; i < table_count; i++)
        total += count_subcommands(table[i].subcommands);
    stats_block = mem_calloc(sizeof(command_stats) * total);
    size_t next_stats = 0;
    size_t slots = 16;
    while (slots < table_count * 4)
        slots *= 2;
    index_slots = mem_calloc(sizeof(*index_slots) * slots);
    index_mask = slots - 1;
    for (size_t i = 0; i < table_count; i++) {
        table[i].stats = &stats_block[next_stats++];
        index_insert(&table[i]);
        command *subs = (command *)table[i].subcommands;
        for (size_t j = 0; subs && subs[j].name; j++) {
            subs[j].stats = &stats_block[next_stats++];
            subs[j].parent = &table[i];
        }
    }
}

void command_table_release(void)
{
    mem_free(table);
    table = NULL;
    mem_free(index_slots);
    mem_free(stats_block);
    index_slots = NULL;
    stats_block = NULL;
}

static int name_equals(const char *name, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        if (name[i] != ch)
            return 0;
    }
    return name[len] == '\0';
}

const command *command_lookup(const char *name, size_t len)
{
    size_t i = hash_bytes_nocase(name, len) & index_mask;
    while (index_slots[i]) {
        if (name_equals(index_slots[i]->name, name, len))
            return index_slots[i];
        i = (i + 1) & index_mask;
    }
    return NULL;
}

const command *command_lookup_sub(const command *parent, const char *name, size_t len)
{
    for (const command *sub = parent->subcommands; sub && sub->name; sub++)
        if (name_equals(sub->name, name, len))
            return sub;
    return NULL;
}

size_t command_count(void)
{
    return table_count;
}

const command *command_at(size_t index)
{
    return index < table_count ? &table[index] : NULL;
}

const char *command_full_name(const command *cmd, char *buf, size_t size)
{
    if (cmd->parent)
        snprintf(buf, size, "%s|%s", cmd->parent->name, cmd->name);
    else
        snprintf(buf, size, "%s", cmd->name);
    return buf;
}

int command_has_movable_keys(const command *cmd)
{
    return cmd->key_numkeys_index > 0 || cmd->key_keyword != NULL;
}

/* XREAD [COUNT n] [BLOCK ms] STREAMS k1 k2 id1 id2: the first argument from
 * key_keyword_start on that equals the keyword (any case) opens the keys,
 * which are the first half (rounded down) of what follows it. -1 when the
 * keyword is missing. */
static int keyword_keys(const command *cmd, int argc, const char **argv, const size_t *argv_len,
                        int *positions, int max)
{
    size_t keyword_len = strlen(cmd->key_keyword);
    for (int i = cmd->key_keyword_start; i < argc; i++) {
        if (argv_len[i] != keyword_len || strncasecmp(argv[i], cmd->key_keyword, keyword_len) != 0)
            continue;
        int count = (argc - i - 1) / 2;
        int n = 0;
        for (int k = 0; k < count && n < max; k++)
            positions[n++] = i + 1 + k;
        return n;
    }
    return -1;
}

int command_get_keys(const command *cmd, int argc, const char **argv, const size_t *argv_len,
                     int *positions, int max)
{
    if (cmd->key_keyword)
        return keyword_keys(cmd, argc, argv, argv_len, positions, max);
    if (cmd->key_numkeys_index > 0) {
        /* numkeys key [key ...]: the count says how many keys follow. */
        int at = cmd->key_numkeys_index;
        int step = cmd->key_step > 0 ? cmd->key_step : 1; /* MSETEX: key value pairs */
        int64_t numkeys;
        if (at >= argc || !number_parse_int64(argv[at], argv_len[at], &numkeys) || numkeys < 0 ||
            numkeys > (argc - at - 1) / step)
            return -1;
        int n = 0;
        /* A destination before the count (ZUNIONSTORE dst numkeys ...). */
        if (cmd->first_key > 0 && cmd->first_key < at && n < max)
            positions[n++] = cmd->first_key;
        for (int i = 0; i < numkeys && n < max; i++)
            positions[n++] = at + 1 + i * step;
        return n;
    }
    if (cmd->first_key <= 0)
        return 0;
    int last = cmd->last_key < 0 ? argc + cmd->last_key : cmd->last_key;
    if (cmd->last_key < 0 && cmd->key_step > 1) {
        /* MSET-style key/value pairs: the arguments must pair up. */
        if ((argc - cmd->first_key) % cmd->key_step != 0)
            return -1;
        last = argc - cmd->key_step;
    }
    if (last >= argc)
        return -1;
    int n = 0;
    for (int i = cmd->first_key; i <= last && n < max; i += cmd->key_step)
        positions[n++] = i;
    return n;
}

static const char *const flag_names[CMD_FLAG_COUNT] = {
    "write",
    "readonly",
    "denyoom",
    "admin",
    "pubsub",
    "noscript",
    "blocking",
    "loading",
    "stale",
    "skip_monitor",
    "skip_slowlog",
    "fast",
    "no_auth",
    "may_replicate",
    "no_multi",
    "allow_busy",
    "sentinel",
    "only_sentinel",
    "no_mandatory_keys",
    "no_async_loading",
    "touches_arbitrary_keys",
    "module",
    "protected",
};

static const char *const category_names[ACL_CATEGORY_COUNT] = {
    "keyspace", "read",   "write",       "set",       "sortedset",  "list",        "hash",
    "string",   "bitmap", "hyperloglog", "geo",       "stream",     "pubsub",      "admin",
    "fast",     "slow",   "blocking",    "dangerous", "connection", "transaction", "scripting",
};

const char *command_flag_name(int bit)
{
    return bit >= 0 && bit < CMD_FLAG_COUNT ? flag_names[bit] : NULL;
}

const char *command_category_name(int bit)
{
    return bit >= 0 && bit < ACL_CATEGORY_COUNT ? category_names[bit] : NULL;
}
