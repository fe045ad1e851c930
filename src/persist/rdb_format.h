/* Private to persist/: the numbers of the RDB format (record types, opcodes,
 * string encodings) as Redis 7.0 defines them, and the module id under which
 * native Rivet types are stored. */
#ifndef RIVET_PERSIST_RDB_FORMAT_H
#define RIVET_PERSIST_RDB_FORMAT_H

/* Value types. */
enum {
    RDB_TYPE_STRING = 0,
    RDB_TYPE_LIST = 1,
    RDB_TYPE_SET = 2,
    RDB_TYPE_ZSET = 3,
    RDB_TYPE_HASH = 4,
    RDB_TYPE_ZSET_2 = 5,
    RDB_TYPE_MODULE = 6,
    RDB_TYPE_MODULE_2 = 7,
    RDB_TYPE_HASH_ZIPMAP = 9,
    RDB_TYPE_LIST_ZIPLIST = 10,
    RDB_TYPE_SET_INTSET = 11,
    RDB_TYPE_ZSET_ZIPLIST = 12,
    RDB_TYPE_HASH_ZIPLIST = 13,
    RDB_TYPE_LIST_QUICKLIST = 14,
    RDB_TYPE_STREAM_LISTPACKS = 15,
    RDB_TYPE_HASH_LISTPACK = 16,
    RDB_TYPE_ZSET_LISTPACK = 17,
    RDB_TYPE_LIST_QUICKLIST_2 = 18,
    RDB_TYPE_STREAM_LISTPACKS_2 = 19,
    /* RDB 11 (Redis 7.2): read, never written. */
    RDB_TYPE_SET_LISTPACK = 20,
    RDB_TYPE_STREAM_LISTPACKS_3 = 21,
};

/* Opcodes between records. */
enum {
    RDB_OPCODE_FUNCTION2 = 245,
    RDB_OPCODE_FUNCTION = 246,
    RDB_OPCODE_MODULE_AUX = 247,
    RDB_OPCODE_IDLE = 248,
    RDB_OPCODE_FREQ = 249,
    RDB_OPCODE_AUX = 250,
    RDB_OPCODE_RESIZEDB = 251,
    RDB_OPCODE_EXPIRETIME_MS = 252,
    RDB_OPCODE_EXPIRETIME = 253,
    RDB_OPCODE_SELECTDB = 254,
    RDB_OPCODE_EOF = 255,
};

/* Length prefixes: top two bits of the first byte. */
#define RDB_LEN_6BIT   0
#define RDB_LEN_14BIT  1
#define RDB_LEN_32BIT  0x80
#define RDB_LEN_64BIT  0x81
#define RDB_LEN_ENCVAL 3
/* Special string encodings (low six bits after RDB_LEN_ENCVAL). */
#define RDB_ENC_INT8  0
#define RDB_ENC_INT16 1
#define RDB_ENC_INT32 2
#define RDB_ENC_LZF   3

/* Inside module values each item is preceded by one of these. */
enum {
    RDB_MODULE_OPCODE_EOF = 0,
    RDB_MODULE_OPCODE_SINT = 1,
    RDB_MODULE_OPCODE_UINT = 2,
    RDB_MODULE_OPCODE_FLOAT = 3,
    RDB_MODULE_OPCODE_DOUBLE = 4,
    RDB_MODULE_OPCODE_STRING = 5,
};

/* Quicklist node containers. */
#define RDB_QUICKLIST_PLAIN  1
#define RDB_QUICKLIST_PACKED 2

/* Stream entry flags in listpack nodes. */
#define RDB_STREAM_DELETED     1
#define RDB_STREAM_SAME_FIELDS 2

/* Native values: module name "rivetnatv" (Redis packs nine characters of
 * a 64-symbol alphabet into 54 bits) and encoding version 1 in the low 10
 * bits. Computed by rdb_native_module_id(). */
#define RDB_NATIVE_MODULE_NAME "rivetnatv"
#define RDB_NATIVE_ENCVER      1
unsigned long long rdb_native_module_id(void);

#endif
