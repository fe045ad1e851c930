/* Bitmap commands: SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD BITFIELD_RO.
 * A bitmap is an ordinary string read as bits, most significant bit of byte 0
 * first. Writers grow the string with zero bytes; readers treat anything past
 * the end as zeros. */
#include <string.h>

#include "handlers.h"
#include "rivet/memory.h"
#include "rivet/number.h"
#include "rivet/server.h"
#include "table.h"

#define ERR_BIT_OFFSET "ERR bit offset is not an integer or out of range"
#define ERR_BIT_VALUE  "ERR bit is not an integer or out of range"
#define ERR_BITFIELD_TYPE                                                                          \
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but "    \
    "i64 is."

/* ---------- helpers ---------- */

/* Parses a bit offset. With bits > 0 a leading '#' means "field number":
 * the offset is multiplied by the field width. The byte it lands in must be
 * below proto-max-bulk-len. */
static int parse_bit_offset(client *c, int i, int bits, uint64_t *out)
{
    const char *s = c->argv[i];
    size_t len = c->argv_len[i];
    int field_number = bits > 0 && len > 0 && s[0] == '#';
    int64_t value;
    if (!number_parse_int64(s + field_number, len - (size_t)field_number, &value) || value < 0)
        goto invalid;
    if (field_number && __builtin_mul_overflow(value, (int64_t)bits, &value))
        goto invalid;
    if ((value >> 3) >= server.config.proto_max_bulk_len)
        goto invalid;
    *out = (uint64_t)value;
    return 1;
invalid:
    reply_error(&c->reply, ERR_BIT_OFFSET);
    return 0;
}

static kv_entry *lookup_for_read(client *c, int i)
{
    return keyspace_lookup_read(c->db, c->argv[i], c->argv_len[i], c->flags & CLIENT_NO_TOUCH);
}

/* Looks key argv[1] up for writing and makes it a raw string of at least
 * min_bytes bytes (creating it if absent). NULL after a WRONGTYPE reply. */
static buffer *string_for_bits(client *c, size_t min_bytes)
{
    kv_entry *entry = keyspace_lookup(c->db, c->argv[1], c->argv_len[1]);
    buffer *bytes;
    if (entry == NULL) {
        bytes = mem_alloc(sizeof(*bytes));
        buffer_init(bytes);
        keyspace_set_object(c->db, c->argv[1], c->argv_len[1], OBJECT_STRING, ENCODING_RAW, bytes,
                            0);
    } else {
        if (entry_type(entry) != OBJECT_STRING) {
            reply_error(&c->reply, ERR_WRONGTYPE);
            return NULL;
        }
        bytes = keyspace_string_for_update(c->db, &entry);
    }
    if (bytes->len < min_bytes) {
        buffer_reserve(bytes, min_bytes - bytes->len);
        memset(bytes->data + bytes->len, 0, min_bytes - bytes->len);
        bytes->len = min_bytes;
        bytes->data[min_bytes] = '\0';
    }
    return bytes;
}

static int bit_at(const uint8_t *p, size_t len, uint64_t offset)
{
    uint64_t byte = offset >> 3;
    if (byte >= len)
        return 0;
    return (p[byte] >> (7 - (offset & 7))) & 1;
}

static void bit_put(uint8_t *p, uint64_t offset, int value)
{
    uint8_t mask = (uint8_t)(1u << (7 - (offset & 7)));
    if (value)
        p[offset >> 3] |= mask;
    else
        p[offset >> 3] &= (uint8_t)~mask;
}

/* ---------- SETBIT / GETBIT ---------- */

static void command_setbit(client *c)
{
    uint64_t offset;
    int64_t value;
    if (!parse_bit_offset(c, 2, 0, &offset))
        return;
    if (!argument_int64_or(c, 3, &value, ERR_BIT_VALUE))
        return;
    if (value != 0 && value != 1) {
        reply_error(&c->reply, ERR_BIT_VALUE);
        return;
    }
    buffer *bytes = string_for_bits(c, (size_t)(offset >> 3) + 1);
    if (bytes == NULL)
        return;
    int old = bit_at((uint8_t *)bytes->data, bytes->len, offset);
    bit_put((uint8_t *)bytes->data, offset, (int)value);
    keyspace_signal_modified(c->db, c->argv[1], c->argv_len[1], "setbit", EVENT_STRING);
    reply_integer(&c->reply, old);
}

static void command_getbit(client *c)
{
    uint64_t offset;
    if (!parse_bit_offset(c, 2, 0, &offset))
        return;
    kv_entry *entry = lookup_for_read(c, 1);
    if (entry == NULL) {
        reply_integer(&c->reply, 0);
        return;
    }
    if (entry_type(entry) != OBJECT_STRING) {
        reply_error(&c->reply, ERR_WRONGTYPE);
        return;
    }
    char scratch[32];
    size_t len;
    const char *p = entry_string(entry, scratch, &len);
    reply_integer(&c->reply, bit_at((const uint8_t *)p, len, offset));
}

/* ---------- BITCOUNT / BITPOS ---------- */

/* Turns a start/end pair (bytes or bits, negative from the end) into an
 * inclusive bit range over a string of len bytes. Returns 0 if the range is
 * empty. The clamping follows Redis: both ends clamp to [0, total-1]. */
static int resolve_range(int64_t start, int64_t end, int in_bits, size_t len, uint64_t *first,
                         uint64_t *last)
{
    int64_t total = in_bits ? (int64_t)len * 8 : (int64_t)len;
    if (start < 0)
        start += total;
    if (end < 0)
        end += total;
    if (start < 0)
        start = 0;
    if (end < 0)
        end = 0;
    if (end >= total)
        end = total - 1;
    if (start > end)
        return 0;
    if (in_bits) {
        *first = (uint64_t)start;
        *last = (uint64_t)end;
    } else {
        *first = (uint64_t)start * 8;
        *last = (uint64_t)end * 8 + 7;
    }
    return 1;
}

static int parse_unit(client *c, int i, int *in_bits)
{
    if (argument_is(c, i, "bit"))
        *in_bits = 1;
    else if (argument_is(c, i, "byte"))
        *in_bits = 0;
    else {
        reply_error(&c->reply, ERR_SYNTAX);
        return 0;
    }
    return 1;
}

static uint64_t count_bits(const uint8_t *p, uint64_t first, uint64_t last)
{
    uint64_t count = 0;
    /* Partial bits up to a byte boundary, whole bytes, then the tail. */
    while (first <= last && (first & 7) != 0)
        count += (uint64_t)bit_at(p, SIZE_MAX, first++);
    while (first + 64 <= last + 1) {
        uint64_t word;
        memcpy(&word, p + (first >> 3), 8);
        count += (uint64_t)__builtin_popcountll(word);
        first += 64;
    }
    while (first + 8 <= last + 1) {
        count += (uint64_t)__builtin_popcount(p[first >> 3]);
        first += 8;
    }
    while (first <= last)
        count += (uint64_t)bit_at(p, SIZE_MAX, first++);
    return count;
}

static void command_bitcount(client *c)
{
    int wrong_type = 0;
    kv_entry *entry = lookup_read_typed(c, c->argv[1], c->argv_len[1], OBJECT_STRING, &wrong_type);
    if (wrong_type)
        return;
    if (entry == NULL) {
        reply_integer(&c->reply, 0);
        return;
    }
    char scratch[32];
    size_t len;
    const uint8_t *p = (const uint8_t *)entry_string(entry, scratch, &len);
    uint64_t first = 0, last = 0;
    int nonempty;
    if (c->argc == 2) {
        nonempty = len > 0;
        last = (uint64_t)len * 8 - 1;
    } else if (c->argc == 4 || c->argc == 5) {
        int64_t start, end;
        int in_bits = 0;
        if (!argument_int64(c, 2, &start) || !argument_int64(c, 3, &end))
            return;
        if (c->argc == 5 && !parse_unit(c, 4, &in_bits))
            return;
        if (start < 0 && end < 0 && start > end) {
            reply_integer(&c->reply, 0);
            return;
        }
        nonempty = resolve_range(start, end, in_bits, len, &first, &last);
    } else {
        reply_error(&c->reply, ERR_SYNTAX);
        return;
    }
    reply_integer(&c->reply, nonempty ? (int64_t)count_bits(p, first, last) : 0);
}

/* First position in [first, last] holding bit, or -1. */
static int64_t find_bit(const uint8_t *p, uint64_t first, uint64_t last, int bit)
{
    uint8_t skip = bit ? 0x00 : 0xff;
    while (first <= last) {
        if ((first & 7) == 0 && first + 7 <= last && p[first >> 3] == skip) {
            first += 8;
            continue;
        }
        if (bit_at(p, SIZE_MAX, first) == bit)
            return (int64_t)first;
        first++;
    }
    return -1;
}

static void command_bitpos(client *c)
{
    int64_t bit;
    if (!argument_int64(c, 2, &bit))
        return;
    if (bit != 0 && bit != 1) {
        reply_error(&c->reply, "ERR The bit argument must be 1 or 0.");
        return;
    }
    int wrong_type = 0;
    kv_entry *entry = lookup_read_typed(c, c->argv[1], c->argv_len[1], OBJECT_STRING, &wrong_type);
    if (wrong_type)
        return;
    if (entry == NULL) {
        /* A missing key is an endless run of zeros. */
        reply_integer(&c->reply, bit ? -1 : 0);
        return;
    }
    char scratch[32];
    size_t len;
    const uint8_t *p = (const uint8_t *)entry_string(entry, scratch, &len);
    int64_t start = 0, end = -1;
    int in_bits = 0, end_given = 0;
    if (c->argc > 6) {
        reply_error(&c->reply, ERR_SYNTAX);
        return;
    }
    if (c->argc >= 4 && !argument_int64(c, 3, &start))
        return;
    if (c->argc == 6 && !parse_unit(c, 5, &in_bits))
        return;
    if (c->argc >= 5) {
        if (!argument_int64(c, 4, &end))
            return;
        end_given = 1;
    }
    uint64_t first, last;
    if (!resolve_range(start, end, in_bits, len, &first, &last)) {
        reply_integer(&c->reply, -1);
        return;
    }
    int64_t found = find_bit(p, first, last, (int)bit);
    /* Looking for a clear bit without an explicit end: the string counts as
     * padded with zeros, so the first bit past the range is the answer. */
    if (found < 0 && bit == 0 && !end_given)
        found = (int64_t)((last | 7) + 1);
    reply_integer(&c->reply, found);
}

/* ---------- BITOP ---------- */

enum bit_operation { BITOP_AND, BITOP_OR, BITOP_XOR, BITOP_NOT };

static void command_bitop(client *c)
{
    enum bit_operation op;
    if (argument_is(c, 1, "and"))
        op = BITOP_AND;
    else if (argument_is(c, 1, "or"))
        op = BITOP_OR;
    else if (argument_is(c, 1, "xor"))
        op = BITOP_XOR;
    else if (argument_is(c, 1, "not"))
        op = BITOP_NOT;
    else {
        reply_error(&c->reply, ERR_SYNTAX);
        return;
    }
    int sources = c->argc - 3;
    if (op == BITOP_NOT && sources != 1) {
        reply_error(&c->reply, "ERR BITOP NOT must be called with a single source key.");
        return;
    }
    /* First pass: type checks and the result length (the longest source). */
    kv_entry **entries = mem_alloc(sizeof(*entries) * (size_t)sources);
    size_t longest = 0;
    for (int i = 0; i < sources; i++) {
        int wrong_type = 0;
        entries[i] =
            lookup_read_typed(c, c->argv[3 + i], c->argv_len[3 + i], OBJECT_STRING, &wrong_type);
        if (wrong_type) {
            mem_free(entries);
            return;
        }
        if (entries[i]) {
            char scratch[32];
            size_t len;
            entry_string(entries[i], scratch, &len);
            if (len > longest)
                longest = len;
        }
    }
    buffer *result = NULL;
    if (longest > 0) {
        result = mem_alloc(sizeof(*result));
        buffer_init(result);
        buffer_reserve(result, longest);
        memset(result->data, 0, longest);
        result->len = longest;
        result->data[longest] = '\0';
        uint8_t *out = (uint8_t *)result->data;
        /* Missing keys and short strings read as zero bytes. */
        for (int i = 0; i < sources; i++) {
            char scratch[32];
            size_t len = 0;
            const uint8_t *p =
                entries[i] ? (const uint8_t *)entry_string(entries[i], scratch, &len) : NULL;
            for (size_t j = 0; j < longest; j++) {
                uint8_t byte = j < len ? p[j] : 0;
                if (i == 0)
                    out[j] = op == BITOP_NOT ? (uint8_t)~byte : byte;
                else if (op == BITOP_AND)
                    out[j] &= byte;
                else if (op == BITOP_OR)
                    out[j] |= byte;
                else
                    out[j] ^= byte;
            }
        }
    }
    mem_free(entries);
    const char *dest = c->argv[2];
    size_t dest_len = c->argv_len[2];
    if (result == NULL) {
        if (delete_replaced_key(c->db, dest, dest_len))
            keyspace_signal_modified(c->db, dest, dest_len, "del", EVENT_GENERIC);
    } else {
        keyspace_set_object(c->db, dest, dest_len, OBJECT_STRING, ENCODING_RAW, result, 0);
        keyspace_signal_modified(c->db, dest, dest_len, "set", EVENT_STRING);
    }
    reply_integer(&c->reply, (int64_t)longest);
}

/* ---------- BITFIELD ---------- */

enum field_opcode { FIELD_GET, FIELD_SET, FIELD_INCRBY };
enum field_overflow { OVERFLOW_WRAP, OVERFLOW_SAT, OVERFLOW_FAIL };

typedef struct field_op {
    enum field_opcode opcode;
    enum field_overflow overflow;
    int is_signed;
    int bits;
    uint64_t offset;
    int64_t value;
} field_op;

static int parse_field_type(client *c, int i, int *is_signed, int *bits)
{
    const char *s = c->argv[i];
    size_t len = c->argv_len[i];
    int64_t width;
    if (len < 2 || (s[0] != 'i' && s[0] != 'u') || !number_parse_int64(s + 1, len - 1, &width))
        goto invalid;
    *is_signed = s[0] == 'i';
    if (width < 1 || width > (*is_signed ? 64 : 63))
        goto invalid;
    *bits = (int)width;
    return 1;
invalid:
    reply_error(&c->reply, ERR_BITFIELD_TYPE);
    return 0;
}

static uint64_t field_read(const uint8_t *p, size_t len, uint64_t offset, int bits)
{
    uint64_t value = 0;
    for (int j = 0; j < bits; j++)
        value = (value << 1) | (uint64_t)bit_at(p, len, offset + (uint64_t)j);
    return value;
}

static void field_write(uint8_t *p, uint64_t offset, int bits, uint64_t value)
{
    for (int j = 0; j < bits; j++)
        bit_put(p, offset + (uint64_t)j, (int)((value >> (bits - 1 - j)) & 1));
}

static int64_t sign_extend(uint64_t value, int bits)
{
    if (bits < 64 && (value & (1ULL << (bits - 1))))
        value |= ~0ULL << bits;
    return (int64_t)value;
}

/* value + increment stored in a field of op's type, following its overflow
 * policy. Returns 0 (and leaves *out alone) when FAIL refuses. The sum is
 * computed wide so that the range test itself cannot overflow. */
static int field_fit(const field_op *op, __int128 sum, uint64_t *out)
{
    __int128 max, min;
    if (op->is_signed) {
        max = op->bits == 64 ? (__int128)INT64_MAX : ((__int128)1 << (op->bits - 1)) - 1;
        min = -max - 1;
    } else {
        max = ((__int128)1 << op->bits) - 1;
        min = 0;
    }
    uint64_t mask = op->bits == 64 ? ~0ULL : (1ULL << op->bits) - 1;
    if (sum >= min && sum <= max) {
        *out = (uint64_t)sum & mask;
        return 1;
    }
    if (op->overflow == OVERFLOW_FAIL)
        return 0;
    if (op->overflow == OVERFLOW_WRAP)
        *out = (uint64_t)sum & mask;
    else
        *out = (uint64_t)(sum > max ? max : min) & mask;
    return 1;
}

static void reply_field_value(client *c, const field_op *op, uint64_t raw)
{
    if (op->is_signed)
        reply_integer(&c->reply, sign_extend(raw, op->bits));
    else
        reply_integer(&c->reply, (int64_t)raw);
}

static void bitfield_generic(client *c, int read_only)
{
    field_op *ops = mem_alloc(sizeof(*ops) * (size_t)(c->argc / 2 + 1));
    int count = 0, writes = 0;
    uint64_t highest_bit = 0;
    enum field_overflow overflow = OVERFLOW_WRAP;
    for (int j = 2; j < c->argc; j++) {
        int remaining = c->argc - j - 1;
        field_op *op = &ops[count];
        if (argument_is(c, j, "get") && remaining >= 2)
            op->opcode = FIELD_GET;
        else if (argument_is(c, j, "set") && remaining >= 3)
            op->opcode = FIELD_SET;
        else if (argument_is(c, j, "incrby") && remaining >= 3)
            op->opcode = FIELD_INCRBY;
        else if (argument_is(c, j, "overflow") && remaining >= 1) {
            j++;
            if (argument_is(c, j, "wrap"))
                overflow = OVERFLOW_WRAP;
            else if (argument_is(c, j, "sat"))
                overflow = OVERFLOW_SAT;
            else if (argument_is(c, j, "fail"))
                overflow = OVERFLOW_FAIL;
            else {
                reply_error(&c->reply, "ERR Invalid OVERFLOW type specified");
                goto done;
            }
            continue;
        } else {
            reply_error(&c->reply, ERR_SYNTAX);
            goto done;
        }
        if (!parse_field_type(c, j + 1, &op->is_signed, &op->bits) ||
            !parse_bit_offset(c, j + 2, op->bits, &op->offset))
            goto done;
        op->overflow = overflow;
        if (op->opcode != FIELD_GET) {
            if (read_only) {
                reply_error(&c->reply, "ERR BITFIELD_RO only supports the GET subcommand");
                goto done;
            }
            if (!argument_int64(c, j + 3, &op->value))
                goto done;
            uint64_t top = op->offset + (uint64_t)op->bits - 1;
            if (writes == 0 || top > highest_bit)
                highest_bit = top;
            writes++;
            j += 3;
        } else {
            j += 2;
        }
        count++;
    }

    buffer *bytes = NULL;
    const uint8_t *p = NULL;
    size_t len = 0;
    char scratch[32];
    if (writes) {
        bytes = string_for_bits(c, (size_t)(highest_bit >> 3) + 1);
        if (bytes == NULL)
            goto done;
    } else {
        int wrong_type = 0;
        kv_entry *entry =
            lookup_read_typed(c, c->argv[1], c->argv_len[1], OBJECT_STRING, &wrong_type);
        if (wrong_type)
            goto done;
        if (entry)
            p = (const uint8_t *)entry_string(entry, scratch, &len);
    }

    int changes = 0;
    reply_array(&c->reply, (size_t)count);
    for (int i = 0; i < count; i++) {
        field_op *op = &ops[i];
        if (bytes) {
            p = (const uint8_t *)bytes->data;
            len = bytes->len;
        }
        uint64_t old = field_read(p, len, op->offset, op->bits);
        if (op->opcode == FIELD_GET) {
            reply_field_value(c, op, old);
            continue;
        }
        __int128 sum;
        if (op->opcode == FIELD_SET)
            sum = op->is_signed ? (__int128)op->value : (__int128)(uint64_t)op->value;
        else if (op->is_signed)
            sum = (__int128)sign_extend(old, op->bits) + op->value;
        else
            sum = (__int128)old + op->value;
        uint64_t stored;
        if (!field_fit(op, sum, &stored)) {
            reply_null(&c->reply);
            continue;
        }
        field_write((uint8_t *)bytes->data, op->offset, op->bits, stored);
        changes++;
        reply_field_value(c, op, op->opcode == FIELD_SET ? old : stored);
    }
    if (changes)
        keyspace_signal_modified(c->db, c->argv[1], c->argv_len[1], "setbit", EVENT_STRING);
done:
    mem_free(ops);
}

static void command_bitfield(client *c)
{
    bitfield_generic(c, 0);
}

static void command_bitfield_ro(client *c)
{
    bitfield_generic(c, 1);
}

/* clang-format off */
const command bitmap_command_rows[] = {
    ROW("setbit", 4, W | DOOM, C_W | ACL_BITMAP | C_SLOW, 1, 1, 1, KEY_WRITE_UPDATE,
        command_setbit, "bitmap", "2.2.0", "O(1)",
        "Sets or clears the bit at offset in the string value stored at key"),
    ROW("getbit", 3, R | FAST, C_R | ACL_BITMAP | C_FAST, 1, 1, 1, KEY_READ, command_getbit,
        "bitmap", "2.2.0", "O(1)", "Returns the bit value at offset in the string value stored at key"),
    ROW("bitcount", -2, R, C_R | ACL_BITMAP | C_SLOW, 1, 1, 1, KEY_READ, command_bitcount,
        "bitmap", "2.6.0", "O(N)", "Count set bits in a string"),
    ROW("bitpos", -3, R, C_R | ACL_BITMAP | C_SLOW, 1, 1, 1, KEY_READ, command_bitpos, "bitmap",
        "2.8.7", "O(N)", "Find first bit set or clear in a string"),
    ROW("bitop", -4, W | DOOM, C_W | ACL_BITMAP | C_SLOW, 2, -1, 1, KEY_OW | KEY_UPDATE,
        command_bitop, "bitmap", "2.6.0", "O(N)",
        "Perform bitwise operations between strings"),
    ROW("bitfield", -2, W | DOOM, C_W | ACL_BITMAP | C_SLOW, 1, 1, 1, KEY_WRITE_UPDATE,
        command_bitfield, "bitmap", "3.2.0",
        "O(1) for each subcommand specified",
        "Perform arbitrary bitfield integer operations on strings"),
    ROW("bitfield_ro", -2, R | FAST, C_R | ACL_BITMAP | C_FAST, 1, 1, 1, KEY_READ,
        command_bitfield_ro, "bitmap", "6.0.0", "O(1) for each subcommand specified",
        "Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD"),
    {0},
};
/* clang-format on */
