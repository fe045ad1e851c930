/* rdb: snapshots in Redis's RDB format, version 10 (what Redis 7.0 writes
 * and reads), and the one-value payloads of DUMP/RESTORE. Standard types are
 * written in forms Redis 7.0 loads; every form Redis 7.0 writes is read.
 * Native Rivet types travel as module records that only Rivet reads.
 * Loading never trusts a length: malformed input is an error, not a crash. */
#ifndef RIVET_RDB_H
#define RIVET_RDB_H

#include <stddef.h>
#include <stdint.h>

#include "rivet/buffer.h"
#include "rivet/keyspace.h"

#define RDB_VERSION 10
/* Files and payloads up to this version load (Redis 7.2's RDB 11 adds a
 * listpack set and consumers' active time, both read). */
#define RDB_LOAD_VERSION_MAX 11

typedef struct rdb_save_options {
    int compress; /* rdbcompression: LZF for strings over 20 bytes */
    int checksum; /* rdbchecksum: 0 writes a zero CRC, which loaders skip */
} rdb_save_options;

typedef struct rdb_load_stats {
    uint64_t keys;    /* keys loaded */
    uint64_t expired; /* keys skipped because their deadline had passed */
    uint64_t skipped; /* records Rivet cannot hold (e.g. foreign modules) */
} rdb_load_stats;

/* The whole snapshot of ks appended to out (tests, DEBUG). */
void rdb_save_to_buffer(keyspace *ks, const rdb_save_options *options, buffer *out);
/* Writes the snapshot to `temp-<pid>.rdb` next to path, fsyncs it and
 * renames it over path, so a crash never leaves a half-written path.
 * 0, or -1 with a message in err. */
int rdb_save_file(keyspace *ks, const char *path, const rdb_save_options *options, char *err,
                  size_t err_size);

/* Loads a snapshot into ks (keys already present are replaced). The whole
 * input is validated as it is read: on error ks may hold part of the data,
 * and err names the byte offset. 0 or -1. */
int rdb_load_buffer(keyspace *ks, const char *data, size_t len, rdb_load_stats *stats, char *err,
                    size_t err_size);
/* The same from a file: 1 when it does not exist, 0 loaded, -1 error.
 * between_chunks (may be NULL) is called every few thousand keys so the
 * server can answer clients meanwhile; a nonzero return aborts the load
 * (an error). */
int rdb_load_file(keyspace *ks, const char *path, rdb_load_stats *stats,
                  int (*between_chunks)(void), char *err, size_t err_size);

/* ---------- DUMP / RESTORE ---------- */

/* Nonzero when the entry's type can be serialized (natives need save_value). */
int rdb_entry_serializable(keyspace *ks, const kv_entry *entry);
/* DUMP's payload: type byte, value, RDB version (2 bytes LE), CRC64 (8 LE). */
void rdb_dump_payload(keyspace *ks, const kv_entry *entry, buffer *out);
/* Checks the footer: 0 when the version is readable and the CRC matches. */
int rdb_payload_verify(const char *payload, size_t len);

/* A value decoded from a payload, ready to become a key. */
typedef struct rdb_value {
    object_type type;
    object_encoding encoding;
    void *ptr;   /* non-string types */
    char *bytes; /* strings (mem_alloc) */
    size_t len;
    /* Hashes with field TTLs: (u32 length, field, i64 deadline) records,
     * applied once the hash is stored; NULL otherwise. */
    buffer *field_ttls;
} rdb_value;
/* Decodes a verified payload; 0, or -1 when it is malformed. */
int rdb_payload_decode(keyspace *ks, const char *payload, size_t len, rdb_value *value);
/* Makes the value key's content (replacing any old one, without TTL);
 * the value is consumed. Returns the entry. */
kv_entry *rdb_value_store(database *db, const char *key, size_t key_len, rdb_value *value);
void rdb_value_release(keyspace *ks, rdb_value *value);

#endif
