/* HyperLogLog commands: PFADD PFCOUNT PFMERGE. The estimator lives in a plain
 * string (see rivet/hyperloglog.h); these handlers find and validate that
 * string, and keep its cached count honest. */
#include <string.h>

#include "handlers.h"
#include "rivet/hyperloglog.h"
#include "rivet/memory.h"
#include "table.h"

#define ERR_NOT_HLL     "WRONGTYPE Key is not a valid HyperLogLog string value."
#define ERR_CORRUPT_HLL "INVALIDOBJ Corrupted HLL object detected"

/* Checks that entry is a string holding a HyperLogLog, replying the error
 * Redis gives when it is not. */
static int check_hll(client *c, const kv_entry *entry)
{
    if (entry_type(entry) != OBJECT_STRING) {
        reply_error(&c->reply, ERR_WRONGTYPE);
        return 0;
    }
    char scratch[32];
    size_t len;
    const char *bytes = entry_string(entry, scratch, &len);
    if (entry_encoding(entry) == ENCODING_INT || !hll_is_valid(bytes, len)) {
        reply_error(&c->reply, ERR_NOT_HLL);
        return 0;
    }
    return 1;
}

/* The HLL under argv[i] as an editable buffer, created empty if absent.
 * *created tells which. NULL after an error reply. */
static buffer *hll_for_update(client *c, int i, int *created)
{
    kv_entry *entry = keyspace_lookup(c->db, c->argv[i], c->argv_len[i]);
    *created = 0;
    if (entry == NULL) {
        buffer *bytes = mem_alloc(sizeof(*bytes));
        buffer_init(bytes);
        hll_init(bytes);
        keyspace_set_object(c->db, c->argv[i], c->argv_len[i], OBJECT_STRING, ENCODING_RAW, bytes,
                            0);
        *created = 1;
        return bytes;
    }
    if (!check_hll(c, entry))
        return NULL;
    return keyspace_string_for_update(c->db, &entry);
}

static void command_pfadd(client *c)
{
    int created;
    buffer *bytes = hll_for_update(c, 1, &created);
    if (bytes == NULL)
        return;
    int updated = created;
    for (int i = 2; i < c->argc; i++) {
        int changed = hll_add(bytes, c->argv[i], c->argv_len[i], HLL_SPARSE_MAX_BYTES_DEFAULT);
        if (changed < 0) {
            reply_error(&c->reply, ERR_CORRUPT_HLL);
            return;
        }
        updated |= changed;
    }
    if (updated) {
        hll_cache_invalidate(bytes->data);
        keyspace_signal_modified(c->db, c->argv[1], c->argv_len[1], "pfadd", EVENT_STRING);
    }
    reply_integer(&c->reply, updated ? 1 : 0);
}

/* One key: answer from the cached count, refreshing it when stale (a write
 * Redis makes too, without a keyspace event). Several keys: count the union
 * of their registers, touching nothing. */
static void command_pfcount(client *c)
{
    if (c->argc == 2) {
        kv_entry *entry = keyspace_lookup(c->db, c->argv[1], c->argv_len[1]);
        if (entry == NULL) {
            reply_integer(&c->reply, 0);
            return;
        }
        if (!check_hll(c, entry))
            return;
        buffer *bytes = keyspace_string_for_update(c->db, &entry);
        uint64_t count;
        if (!hll_cache_get(bytes->data, &count)) {
            if (hll_count(bytes->data, bytes->len, &count) < 0) {
                reply_error(&c->reply, ERR_CORRUPT_HLL);
                return;
            }
            hll_cache_set(bytes->data, count);
            /* Watchers see the change; notifications do not (class 0). */
            keyspace_signal_modified(c->db, c->argv[1], c->argv_len[1], "pfcount", 0);
        }
        reply_integer(&c->reply, (int64_t)count);
        return;
    }
    uint8_t registers[HLL_REGISTER_COUNT];
    memset(registers, 0, sizeof(registers));
    for (int i = 1; i < c->argc; i++) {
        kv_entry *entry =
            keyspace_lookup_read(c->db, c->argv[i], c->argv_len[i], c->flags & CLIENT_NO_TOUCH);
        if (entry == NULL)
            continue;
        if (!check_hll(c, entry))
            return;
        char scratch[32];
        size_t len;
        const char *bytes = entry_string(entry, scratch, &len);
        if (hll_merge_into(registers, bytes, len) < 0) {
            reply_error(&c->reply, ERR_CORRUPT_HLL);
            return;
        }
    }
    reply_integer(&c->reply, (int64_t)hll_estimate(registers));
}

/* PFMERGE dest [source ...]: dest becomes the register-wise maximum of
 * itself and the sources. As in Redis, dest turns dense if any input was
 * dense, and registers are raised one by one so the bytes match. */
static void command_pfmerge(client *c)
{
    uint8_t registers[HLL_REGISTER_COUNT];
    memset(registers, 0, sizeof(registers));
    int any_dense = 0;
    for (int i = 1; i < c->argc; i++) {
        kv_entry *entry =
            keyspace_lookup_read(c->db, c->argv[i], c->argv_len[i], c->flags & CLIENT_NO_TOUCH);
        if (entry == NULL)
            continue;
        if (!check_hll(c, entry))
            return;
        char scratch[32];
        size_t len;
        const char *bytes = entry_string(entry, scratch, &len);
        if (bytes[4] == HLL_ENCODING_DENSE)
            any_dense = 1;
        if (hll_merge_into(registers, bytes, len) < 0) {
            reply_error(&c->reply, ERR_CORRUPT_HLL);
            return;
        }
    }
    int created;
    buffer *dest = hll_for_update(c, 1, &created);
    if (dest == NULL)
        return;
    if (any_dense && hll_to_dense(dest) < 0) {
        reply_error(&c->reply, ERR_CORRUPT_HLL);
        return;
    }
    for (int r = 0; r < HLL_REGISTER_COUNT; r++) {
        if (registers[r] == 0)
            continue;
        if (hll_raise_register(dest, r, registers[r], HLL_SPARSE_MAX_BYTES_DEFAULT) < 0) {
            reply_error(&c->reply, ERR_CORRUPT_HLL);
            return;
        }
    }
    hll_cache_invalidate(dest->data);
    keyspace_signal_modified(c->db, c->argv[1], c->argv_len[1], "pfadd", EVENT_STRING);
    reply_ok(&c->reply);
}

/* clang-format off */
const command hll_command_rows[] = {
    ROW("pfadd", -2, W | DOOM | FAST, C_W | ACL_HYPERLOGLOG | C_FAST, 1, 1, 1, KEY_WRITE_INSERT,
        command_pfadd, "hyperloglog", "2.8.9", "O(1) to add every element.",
        "Adds the specified elements to the specified HyperLogLog."),
    ROW("pfcount", -2, R, C_R | ACL_HYPERLOGLOG | C_SLOW, 1, -1, 1, KEY_RW | KEY_ACCESS,
        command_pfcount, "hyperloglog", "2.8.9",
        "O(1) with a very small average constant time when called with a single key. O(N) with N "
        "being the number of keys, and much bigger constant times, when called with multiple keys.",
        "Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s)."),
    ROW("pfmerge", -2, W | DOOM, C_W | ACL_HYPERLOGLOG | C_SLOW, 1, -1, 1,
        KEY_RW | KEY_ACCESS | KEY_INSERT, command_pfmerge, "hyperloglog", "2.8.9",
        "O(N) to merge N HyperLogLogs, but with high constant times.",
        "Merge N different HyperLogLogs into a single one."),
    {0},
};
/* clang-format on */
