/* The string commands: GET/SET and their variants, counters, ranges.
 *
 * Replies, error texts and the order in which errors are detected follow
 * Redis 7.0, because clients and tests observe which error wins when an
 * argument is bad and the key has the wrong type at the same time; the
 * compare-and-set additions (SET IF*, DIGEST, DELEX, MSETEX) follow Redis 8.4
 * and DELIFEQ Valkey 9 (see docs/compare-and-set.md). The hot
 * paths (GET, SET, INCR) allocate nothing of their own: GET renders straight
 * from the entry into the reply, SET hands the argument to the keyspace, and
 * INCR on an int-encoded value changes the integer in place. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <strings.h>
#include <xxhash.h>

#include "handlers.h"
#include "rivet/memory.h"
#include "rivet/number.h"
#include "rivet/server.h"

#define ERR_INVALID_EXPIRE  "ERR invalid expire time in '%s' command"
#define ERR_STRING_TOO_LONG "ERR string exceeds maximum allowed size (proto-max-bulk-len)"

/* Redis reads INCRBYFLOAT operands of up to this many characters; longer
 * ones are "not a valid float". */
#define LONG_DOUBLE_TEXT_MAX 5120

/* ---------- small helpers ---------- */

static kv_entry *lookup_for_read(client *c, int i)
{
    return keyspace_lookup_read(c->db, c->argv[i], c->argv_len[i], c->flags & CLIENT_NO_TOUCH);
}

static void reply_entry_string(client *c, const kv_entry *entry)
{
    char scratch[32];
    size_t len;
    const char *bytes = entry_string(entry, scratch, &len);
    reply_bulk(&c->reply, bytes, len);
}

static size_t entry_string_length(const kv_entry *entry)
{
    char scratch[32];
    size_t len;
    entry_string(entry, scratch, &len);
    return len;
}

static void signal_key(client *c, int i, const char *event, int type_class)
{
    keyspace_signal_modified(c->db, c->argv[i], c->argv_len[i], event, type_class);
}

/* Whether a string of size + extra bytes stays within proto-max-bulk-len
 * (replies the error when it does not). Written to avoid overflow. */
static int check_string_length(client *c, uint64_t size, uint64_t extra)
{
    uint64_t limit = (uint64_t)server.config.proto_max_bulk_len;
    if (size > limit || extra > limit - size) {
        reply_error(&c->reply, ERR_STRING_TOO_LONG);
        return 0;
    }
    return 1;
}

/* The long double parse INCRBYFLOAT applies to both the stored value and the
 * increment. It differs from number_parse_long_double in two ways Redis
 * clients can observe: operands up to 5 KB are accepted, and an underflow to a
 * subnormal value is accepted (only overflow and underflow to zero fail). */
static int parse_increment_operand(const char *s, size_t len, long double *out)
{
    char text[LONG_DOUBLE_TEXT_MAX];
    if (len == 0 || len >= sizeof(text))
        return 0;
    memcpy(text, s, len);
    text[len] = '\0';
    if (isspace((unsigned char)text[0]))
        return 0;
    errno = 0;
    char *end;
    long double value = strtold(text, &end);
    if ((size_t)(end - text) != len || isnan(value))
        return 0;
    if (errno == ERANGE && (isinf(value) || value == 0))
        return 0;
    *out = value;
    return 1;
}

/* Gives entry a deadline. */
static void store_deadline(client *c, kv_entry *entry, int64_t deadline_ms)
{
    keyspace_set_expire(c->db, entry, deadline_ms);
}

/* ---------- SET's options (shared with GETEX) ---------- */

enum string_option {
    OPTION_NX = 1 << 0,
    OPTION_XX = 1 << 1,
    OPTION_GET = 1 << 2,
    OPTION_KEEPTTL = 1 << 3,
    OPTION_PERSIST = 1 << 4,
    OPTION_EX = 1 << 5,
    OPTION_PX = 1 << 6,
    OPTION_EXAT = 1 << 7,
    OPTION_PXAT = 1 << 8,
    /* The compare-and-set conditions of Redis 8.4, each with an argument. */
    OPTION_IFEQ = 1 << 9,
    OPTION_IFNE = 1 << 10,
    OPTION_IFDEQ = 1 << 11,
    OPTION_IFDNE = 1 << 12,
};

#define OPTION_ANY_EXPIRE (OPTION_EX | OPTION_PX | OPTION_EXAT | OPTION_PXAT)
#define OPTION_ANY_MATCH  (OPTION_IFEQ | OPTION_IFNE | OPTION_IFDEQ | OPTION_IFDNE)
/* NX, XX and the four IF* conditions exclude one another. */
#define OPTION_ANY_CONDITION (OPTION_NX | OPTION_XX | OPTION_ANY_MATCH)

typedef struct string_options {
    unsigned flags;
    int expire_index; /* argv position of the EX/PX/EXAT/PXAT value, 0 if none */
    int match_index;  /* argv position of the IF* argument, 0 if none */
} string_options;

/* Which command is parsing, and so which options it accepts besides the four
 * expire forms: SET takes NX XX GET KEEPTTL and the IF* conditions, GETEX
 * takes PERSIST, MSETEX takes NX XX KEEPTTL. */
enum options_for { OPTIONS_FOR_SET, OPTIONS_FOR_GETEX, OPTIONS_FOR_MSETEX };

static const unsigned options_accepted[] = {
    [OPTIONS_FOR_SET] = OPTION_NX | OPTION_XX | OPTION_GET | OPTION_KEEPTTL | OPTION_ANY_MATCH,
    [OPTIONS_FOR_GETEX] = OPTION_PERSIST,
    [OPTIONS_FOR_MSETEX] = OPTION_NX | OPTION_XX | OPTION_KEEPTTL,
};

/* Parses the IF* condition at argv[i] (which must be followed by its
 * argument), returning its flag or 0. Checked last, so a SET without IF*
 * options never compares against these names. */
static unsigned parse_match_option(client *c, int i)
{
    static const struct {
        const char *name;
        unsigned flag;
    } conditions[] = {{"ifeq", OPTION_IFEQ},
                      {"ifne", OPTION_IFNE},
                      {"ifdeq", OPTION_IFDEQ},
                      {"ifdne", OPTION_IFDNE}};
    if (c->argv_len[i] < 4 || c->argv_len[i] > 5 || i + 1 >= c->argc)
        return 0;
    for (size_t k = 0; k < sizeof(conditions) / sizeof(conditions[0]); k++)
        if (argument_is(c, i, conditions[k].name))
            return conditions[k].flag;
    return 0;
}

/* Parses argv[first..] into *options. Options may come in any order; NX and
 * XX and the expire forms may repeat (the last expire value wins), but two
 * options that contradict each other, or a second IF* condition, are a
 * syntax error. */
static int parse_string_options(client *c, int first, enum options_for command,
                                string_options *options)
{
    static const struct {
        const char *name;
        unsigned flag;
    } expire_forms[] = {
        {"ex", OPTION_EX}, {"px", OPTION_PX}, {"exat", OPTION_EXAT}, {"pxat", OPTION_PXAT}};
    unsigned accepted = options_accepted[command];
    unsigned flags = 0;
    options->expire_index = 0;
    options->match_index = 0;

    for (int i = first; i < c->argc; i++) {
        int has_next = i + 1 < c->argc;
        if ((accepted & OPTION_NX) && argument_is(c, i, "nx") &&
            !(flags & OPTION_ANY_CONDITION & ~OPTION_NX)) {
            flags |= OPTION_NX;
            continue;
        }
        if ((accepted & OPTION_XX) && argument_is(c, i, "xx") &&
            !(flags & OPTION_ANY_CONDITION & ~OPTION_XX)) {
            flags |= OPTION_XX;
            continue;
        }
        if ((accepted & OPTION_GET) && argument_is(c, i, "get")) {
            flags |= OPTION_GET;
            continue;
        }
        if ((accepted & OPTION_KEEPTTL) && argument_is(c, i, "keepttl") &&
            !(flags & OPTION_ANY_EXPIRE)) {
            flags |= OPTION_KEEPTTL;
            continue;
        }
        if ((accepted & OPTION_PERSIST) && argument_is(c, i, "persist") &&
            !(flags & OPTION_ANY_EXPIRE)) {
            flags |= OPTION_PERSIST;
            continue;
        }
        unsigned form = 0;
        for (size_t k = 0; k < sizeof(expire_forms) / sizeof(expire_forms[0]); k++)
            if (argument_is(c, i, expire_forms[k].name))
                form = expire_forms[k].flag;
        if (form && has_next && !(flags & (OPTION_KEEPTTL | OPTION_PERSIST)) &&
            !(flags & OPTION_ANY_EXPIRE & ~form)) {
            flags |= form;
            options->expire_index = ++i;
            continue;
        }
        unsigned match = (accepted & OPTION_ANY_MATCH) ? parse_match_option(c, i) : 0;
        if (match && !(flags & OPTION_ANY_CONDITION)) {
            flags |= match;
            options->match_index = ++i;
            continue;
        }
        reply_error(&c->reply, ERR_SYNTAX);
        return 0;
    }
    options->flags = flags;
    return 1;
}

/* Turns the expire argument argv[i] into an absolute deadline in ms. Zero,
 * negative and overflowing values are "invalid expire time", naming the
 * command as the user knows it. */
static int parse_deadline(client *c, int i, int in_seconds, int relative, const char *command,
                          int64_t *deadline_ms)
{
    int64_t value;
    if (!argument_int64(c, i, &value))
        return 0;
    if (value <= 0 || (in_seconds && value > INT64_MAX / 1000))
        goto invalid;
    if (in_seconds)
        value *= 1000;
    if (relative) {
        int64_t now = keyspace_time(server.keyspace);
        if (value > INT64_MAX - now)
            goto invalid;
        value += now;
    }
    *deadline_ms = value;
    return 1;
invalid:
    reply_errorf(&c->reply, ERR_INVALID_EXPIRE, command);
    return 0;
}

static int option_deadline(client *c, const string_options *options, const char *command,
                           int64_t *deadline_ms)
{
    unsigned flags = options->flags;
    int in_seconds = (flags & (OPTION_EX | OPTION_EXAT)) != 0;
    int relative = (flags & (OPTION_EX | OPTION_PX)) != 0;
    return parse_deadline(c, options->expire_index, in_seconds, relative, command, deadline_ms);
}

/* ---------- value digests and compare conditions ---------- */

/* A digest is the XXH3 64-bit hash of the value's bytes (seed 0), written as
 * 16 lowercase hex digits with leading zeros, as Redis 8.4 prints it. */
#define DIGEST_HEX_LENGTH 16
#define ERR_DIGEST_LENGTH "ERR must be exactly 16 hexadecimal characters"

static void digest_format(const char *bytes, size_t len, char out[DIGEST_HEX_LENGTH + 1])
{
    static const char hex[] = "0123456789abcdef";
    uint64_t hash = XXH3_64bits(bytes, len);
    for (int i = DIGEST_HEX_LENGTH - 1; i >= 0; i--) {
        out[i] = hex[hash & 0xf];
        hash >>= 4;
    }
    out[DIGEST_HEX_LENGTH] = '\0';
}

/* Evaluates one IF* condition (an OPTION_IF* flag) against a string entry,
 * old NULL meaning the key is missing: a missing key satisfies only the "not
 * equal" conditions, which is why IFNE/IFDNE create keys and IFEQ/IFDEQ never
 * do. Returns 1 (holds), 0 (does not), or -1 after replying an error. Like
 * Redis, a digest argument is checked only when there is a value to compare
 * it with, and only its length: hex digits compare case-insensitively, and a
 * non-hex character simply never matches. */
static int match_condition(client *c, const kv_entry *old, unsigned condition, int match_index)
{
    if (old == NULL)
        return (condition & (OPTION_IFNE | OPTION_IFDNE)) != 0;
    const char *match = c->argv[match_index];
    size_t match_len = c->argv_len[match_index];
    char scratch[32];
    size_t len;
    const char *bytes = entry_string(old, scratch, &len);
    int equal;
    if (condition & (OPTION_IFEQ | OPTION_IFNE)) {
        equal = len == match_len && (len == 0 || memcmp(bytes, match, len) == 0);
    } else {
        if (match_len != DIGEST_HEX_LENGTH) {
            reply_error(&c->reply, ERR_DIGEST_LENGTH);
            return -1;
        }
        char digest[DIGEST_HEX_LENGTH + 1];
        digest_format(bytes, len, digest);
        equal = strncasecmp(digest, match, DIGEST_HEX_LENGTH) == 0;
    }
    return (condition & (OPTION_IFEQ | OPTION_IFDEQ)) ? equal : !equal;
}

/* ---------- GET / SET family ---------- */

enum set_reply { SET_REPLY_OK, SET_REPLY_ONE_ZERO };

/* The body of SET, SETNX, SETEX, PSETEX and GETSET: stores argv[value_index]
 * under argv[1] subject to NX/XX or an IF* condition (whose argument is
 * argv[match_index]), optionally replying the old value (GET) and applying a
 * deadline (-1: none). */
static void set_generic(client *c, int value_index, unsigned flags, int64_t deadline_ms,
                        enum set_reply reply, int match_index)
{
    const char *key = c->argv[1];
    size_t key_len = c->argv_len[1];
    kv_entry *old = NULL;

    /* A plain SET needs no lookup of its own: the keyspace finds the old
     * entry while storing. A compare condition needs the old value, so like
     * GET it refuses a key of another type rather than overwriting it. */
    if (flags & OPTION_GET) {
        old = lookup_for_read(c, 1);
        if (old && entry_type(old) != OBJECT_STRING) {
            reply_error(&c->reply, ERR_WRONGTYPE);
            return;
        }
    } else if (flags & (OPTION_NX | OPTION_XX | OPTION_ANY_MATCH) || deadline_ms >= 0) {
        old = keyspace_lookup(c->db, key, key_len);
        if ((flags & OPTION_ANY_MATCH) && old && entry_type(old) != OBJECT_STRING) {
            reply_error(&c->reply, ERR_WRONGTYPE);
            return;
        }
    }

    int blocked = ((flags & OPTION_NX) && old) || ((flags & OPTION_XX) && !old);
    if (flags & OPTION_ANY_MATCH) {
        int holds = match_condition(c, old, flags & OPTION_ANY_MATCH, match_index);
        if (holds < 0)
            return;
        blocked = !holds;
    }
    if (blocked) {
        if (flags & OPTION_GET) {
            if (old)
                reply_entry_string(c, old);
            else
                reply_null(&c->reply);
        } else if (reply == SET_REPLY_ONE_ZERO) {
            reply_integer(&c->reply, 0);
        } else {
            reply_null(&c->reply);
        }
        return;
    }

    /* The old value must reach the reply before the store reuses its bytes. */
    if (flags & OPTION_GET) {
        if (old)
            reply_entry_string(c, old);
        else
            reply_null(&c->reply);
    }

    /* With a new deadline coming, keeping the old TTL slot lets the keyspace
     * overwrite in place and just reschedule the timer. */
    int keep_ttl = (flags & OPTION_KEEPTTL) || (deadline_ms >= 0 && old && entry_expire(old) >= 0);
    kv_entry *entry = keyspace_set_string(c->db, key, key_len, c->argv[value_index],
                                          c->argv_len[value_index], keep_ttl);
    if (deadline_ms >= 0)
        store_deadline(c, entry, deadline_ms);
    signal_key(c, 1, "set", EVENT_STRING);
    if (deadline_ms >= 0)
        signal_key(c, 1, "expire", EVENT_GENERIC);

    if (flags & OPTION_GET)
        return;
    if (reply == SET_REPLY_ONE_ZERO)
        reply_integer(&c->reply, 1);
    else
        reply_ok(&c->reply);
}

void command_get(client *c)
{
    kv_entry *entry = lookup_for_read(c, 1);
    if (entry == NULL) {
        reply_null(&c->reply);
        return;
    }
    if (entry_type(entry) != OBJECT_STRING) {
        reply_error(&c->reply, ERR_WRONGTYPE);
        return;
    }
    reply_entry_string(c, entry);
}

/* SET key value [NX|XX|IFEQ v|IFNE v|IFDEQ d|IFDNE d] [GET]
 * [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL]. A deadline already in the past is
 * stored as given: the key expires on its next access, as in Redis 7.0. */
void command_set(client *c)
{
    string_options options;
    if (!parse_string_options(c, 3, OPTIONS_FOR_SET, &options))
        return;
    int64_t deadline = -1;
    if ((options.flags & OPTION_ANY_EXPIRE) && !option_deadline(c, &options, "set", &deadline))
        return;
    set_generic(c, 2, options.flags, deadline, SET_REPLY_OK, options.match_index);
}

void command_setnx(client *c)
{
    set_generic(c, 2, OPTION_NX, -1, SET_REPLY_ONE_ZERO, 0);
}

void command_setex(client *c)
{
    int64_t deadline;
    if (parse_deadline(c, 2, 1, 1, "setex", &deadline))
        set_generic(c, 3, 0, deadline, SET_REPLY_OK, 0);
}

void command_psetex(client *c)
{
    int64_t deadline;
    if (parse_deadline(c, 2, 0, 1, "psetex", &deadline))
        set_generic(c, 3, 0, deadline, SET_REPLY_OK, 0);
}

void command_getset(client *c)
{
    set_generic(c, 2, OPTION_GET, -1, SET_REPLY_OK, 0);
}

/* GETEX key [EX s|PX ms|EXAT s|PXAT ms|PERSIST]. Redis 7.0 checks the key
 * (missing: nil, wrong type: WRONGTYPE) before it validates the expire
 * value, so the order here is syntax, key, expire value. */
void command_getex(client *c)
{
    string_options options;
    if (!parse_string_options(c, 2, OPTIONS_FOR_GETEX, &options))
        return;
    kv_entry *entry = lookup_for_read(c, 1);
    if (entry == NULL) {
        reply_null(&c->reply);
        return;
    }
    if (entry_type(entry) != OBJECT_STRING) {
        reply_error(&c->reply, ERR_WRONGTYPE);
        return;
    }
    unsigned flags = options.flags;
    int64_t deadline = -1;
    if ((flags & OPTION_ANY_EXPIRE) && !option_deadline(c, &options, "getex", &deadline))
        return;

    reply_entry_string(c, entry);

    /* An absolute deadline that has already passed deletes the key now
     * rather than leaving an expired key behind. */
    if ((flags & (OPTION_EXAT | OPTION_PXAT)) && deadline <= keyspace_time(server.keyspace)) {
        keyspace_delete(c->db, c->argv[1], c->argv_len[1]);
        signal_key(c, 1, "del", EVENT_GENERIC);
    } else if (flags & OPTION_ANY_EXPIRE) {
        store_deadline(c, entry, deadline);
        signal_key(c, 1, "expire", EVENT_GENERIC);
    } else if ((flags & OPTION_PERSIST) && entry_expire(entry) >= 0) {
        keyspace_set_expire(c->db, entry, -1);
        signal_key(c, 1, "persist", EVENT_GENERIC);
    }
}

void command_getdel(client *c)
{
    kv_entry *entry = lookup_for_read(c, 1);
    if (entry == NULL) {
        reply_null(&c->reply);
        return;
    }
    if (entry_type(entry) != OBJECT_STRING) {
        reply_error(&c->reply, ERR_WRONGTYPE);
        return;
    }
    reply_entry_string(c, entry);
    keyspace_delete(c->db, c->argv[1], c->argv_len[1]);
    signal_key(c, 1, "del", EVENT_GENERIC);
}

/* MGET answers nil for keys that are missing or hold another type. */
void command_mget(client *c)
{
    reply_array(&c->reply, (size_t)(c->argc - 1));
    for (int i = 1; i < c->argc; i++) {
        kv_entry *entry = lookup_for_read(c, i);
        if (entry && entry_type(entry) == OBJECT_STRING)
            reply_entry_string(c, entry);
        else
            reply_null(&c->reply);
    }
}

static void mset_all(client *c)
{
    for (int i = 1; i < c->argc; i += 2) {
        keyspace_set_string(c->db, c->argv[i], c->argv_len[i], c->argv[i + 1], c->argv_len[i + 1],
                            0);
        signal_key(c, i, "set", EVENT_STRING);
    }
}

void command_mset(client *c)
{
    if (c->argc % 2 == 0) {
        reply_errorf(&c->reply, "ERR wrong number of arguments for '%s' command", "mset");
        return;
    }
    mset_all(c);
    reply_ok(&c->reply);
}

/* All or nothing: if any key exists, nothing is set. */
void command_msetnx(client *c)
{
    if (c->argc % 2 == 0) {
        reply_errorf(&c->reply, "ERR wrong number of arguments for '%s' command", "msetnx");
        return;
    }
    for (int i = 1; i < c->argc; i += 2) {
        if (keyspace_lookup(c->db, c->argv[i], c->argv_len[i]) != NULL) {
            reply_integer(&c->reply, 0);
            return;
        }
    }
    mset_all(c);
    reply_integer(&c->reply, 1);
}

/* ---------- compare-and-set: DIGEST, DELEX, DELIFEQ, MSETEX ---------- */

void command_digest(client *c)
{
    kv_entry *entry = lookup_for_read(c, 1);
    if (entry == NULL) {
        reply_null(&c->reply);
        return;
    }
    if (entry_type(entry) != OBJECT_STRING) {
        reply_error(&c->reply, ERR_WRONGTYPE);
        return;
    }
    char scratch[32], digest[DIGEST_HEX_LENGTH + 1];
    size_t len;
    const char *bytes = entry_string(entry, scratch, &len);
    digest_format(bytes, len, digest);
    reply_bulk(&c->reply, digest, DIGEST_HEX_LENGTH);
}

/* Deletes argv[1], which the caller has found, and announces it as DEL does. */
static void delete_found_key(client *c)
{
    keyspace_delete(c->db, c->argv[1], c->argv_len[1]);
    signal_key(c, 1, "del", EVENT_GENERIC);
}

/* DELEX key [IFEQ v|IFNE v|IFDEQ d|IFDNE d]. The checks come in Redis 8.4's
 * order: argument count, then the key (missing: 0, whatever the condition
 * says), then the type, then the condition's name and argument. Without a
 * condition it deletes a key of any type, like DEL. */
void command_delex(client *c)
{
    if (c->argc != 2 && c->argc != 4) {
        reply_errorf(&c->reply, "ERR wrong number of arguments for '%s' command", "delex");
        return;
    }
    kv_entry *entry = keyspace_lookup(c->db, c->argv[1], c->argv_len[1]);
    if (entry == NULL) {
        reply_integer(&c->reply, 0);
        return;
    }
    if (c->argc == 2) {
        delete_found_key(c);
        reply_integer(&c->reply, 1);
        return;
    }
    if (entry_type(entry) != OBJECT_STRING) {
        reply_error(&c->reply, "ERR Key should be of string type if conditions are specified");
        return;
    }
    unsigned condition = parse_match_option(c, 2);
    if (condition == 0) {
        reply_error(&c->reply, "ERR Invalid condition. Use IFEQ, IFNE, IFDEQ, or IFDNE");
        return;
    }
    int holds = match_condition(c, entry, condition, 3);
    if (holds < 0)
        return;
    if (holds)
        delete_found_key(c);
    reply_integer(&c->reply, holds);
}

/* DELIFEQ key value (Valkey 9): DELEX key IFEQ value, except that a key of
 * another type is WRONGTYPE, as Valkey documents it. */
void command_delifeq(client *c)
{
    kv_entry *entry = keyspace_lookup(c->db, c->argv[1], c->argv_len[1]);
    if (entry == NULL) {
        reply_integer(&c->reply, 0);
        return;
    }
    if (entry_type(entry) != OBJECT_STRING) {
        reply_error(&c->reply, ERR_WRONGTYPE);
        return;
    }
    int holds = match_condition(c, entry, OPTION_IFEQ, 2);
    if (holds)
        delete_found_key(c);
    reply_integer(&c->reply, holds);
}

/* MSETEX numkeys key value [key value ...] [NX|XX] [EX s|PX ms|EXAT s|PXAT ms|
 * KEEPTTL]: all or nothing, like MSETNX. NX and XX judge every key before any
 * is written; like MSET (and SET XX), a key of another type counts as existing
 * and is overwritten. Without an expire option the keys lose any TTL. */
void command_msetex(client *c)
{
    int64_t numkeys;
    if (!number_parse_int64(c->argv[1], c->argv_len[1], &numkeys) || numkeys < 1 ||
        numkeys > INT32_MAX) {
        reply_error(&c->reply, "ERR invalid numkeys value");
        return;
    }
    if (numkeys > (c->argc - 2) / 2) {
        reply_error(&c->reply, "ERR wrong number of key-value pairs");
        return;
    }
    int end = 2 + 2 * (int)numkeys;
    string_options options;
    if (!parse_string_options(c, end, OPTIONS_FOR_MSETEX, &options))
        return;
    unsigned flags = options.flags;
    int64_t deadline = -1;
    if ((flags & OPTION_ANY_EXPIRE) && !option_deadline(c, &options, "msetex", &deadline))
        return;

    if (flags & (OPTION_NX | OPTION_XX)) {
        for (int i = 2; i < end; i += 2) {
            int exists = keyspace_lookup(c->db, c->argv[i], c->argv_len[i]) != NULL;
            if (exists != ((flags & OPTION_XX) != 0)) {
                reply_integer(&c->reply, 0);
                return;
            }
        }
    }
    /* With a new deadline coming, keeping the old TTL slot lets the keyspace
     * overwrite in place; the deadline then replaces it. */
    int keep_ttl = (flags & OPTION_KEEPTTL) || deadline >= 0;
    for (int i = 2; i < end; i += 2) {
        kv_entry *entry = keyspace_set_string(c->db, c->argv[i], c->argv_len[i], c->argv[i + 1],
                                              c->argv_len[i + 1], keep_ttl);
        if (deadline >= 0)
            store_deadline(c, entry, deadline);
        signal_key(c, i, "set", EVENT_STRING);
        if (deadline >= 0)
            signal_key(c, i, "expire", EVENT_GENERIC);
    }
    reply_integer(&c->reply, 1);
}

/* ---------- lengths and ranges ---------- */

void command_append(client *c)
{
    const char *value = c->argv[2];
    size_t value_len = c->argv_len[2];
    kv_entry *entry = keyspace_lookup(c->db, c->argv[1], c->argv_len[1]);
    size_t total;
    if (entry == NULL) {
        /* A new key gets the ordinary encoding choice ("123" is an int). */
        keyspace_set_string(c->db, c->argv[1], c->argv_len[1], value, value_len, 0);
        total = value_len;
    } else {
        if (entry_type(entry) != OBJECT_STRING) {
            reply_error(&c->reply, ERR_WRONGTYPE);
            return;
        }
        if (!check_string_length(c, entry_string_length(entry), value_len))
            return;
        buffer *bytes = keyspace_string_for_update(c->db, &entry);
        buffer_append(bytes, value, value_len);
        total = bytes->len;
    }
    signal_key(c, 1, "append", EVENT_STRING);
    reply_integer(&c->reply, (int64_t)total);
}

void command_strlen(client *c)
{
    kv_entry *entry = lookup_for_read(c, 1);
    if (entry == NULL) {
        reply_integer(&c->reply, 0);
        return;
    }
    if (entry_type(entry) != OBJECT_STRING) {
        reply_error(&c->reply, ERR_WRONGTYPE);
        return;
    }
    reply_integer(&c->reply, (int64_t)entry_string_length(entry));
}

/* GETRANGE key start end (and SUBSTR). Negative indexes count from the end;
 * the clamping reproduces Redis 7.0 exactly, including its quirk that an end
 * far before the start of the string clamps to 0 ("hello" 0 -100 -> "h"). */
void command_getrange(client *c)
{
    int64_t start, end;
    if (!argument_int64(c, 2, &start) || !argument_int64(c, 3, &end))
        return;
    kv_entry *entry = lookup_for_read(c, 1);
    if (entry == NULL) {
        reply_bulk(&c->reply, "", 0);
        return;
    }
    if (entry_type(entry) != OBJECT_STRING) {
        reply_error(&c->reply, ERR_WRONGTYPE);
        return;
    }
    char scratch[32];
    size_t len;
    const char *bytes = entry_string(entry, scratch, &len);
    int64_t length = (int64_t)len;

    if (start < 0 && end < 0 && start > end) {
        reply_bulk(&c->reply, "", 0);
        return;
    }
    if (start < 0)
        start += length;
    if (end < 0)
        end += length;
    if (start < 0)
        start = 0;
    if (end < 0)
        end = 0;
    if (end >= length)
        end = length - 1;
    if (length == 0 || start > end) {
        reply_bulk(&c->reply, "", 0);
        return;
    }
    reply_bulk(&c->reply, bytes + start, (size_t)(end - start + 1));
}

/* Grows b with zero bytes to at least size bytes. */
static void buffer_grow_zeroed(buffer *b, size_t size)
{
    if (b->len >= size)
        return;
    buffer_reserve(b, size - b->len);
    memset(b->data + b->len, 0, size - b->len);
    b->len = size;
    b->data[size] = '\0';
}

/* SETRANGE key offset value: overwrites from offset, zero-padding a shorter
 * string. Setting nothing creates nothing and changes nothing. */
void command_setrange(client *c)
{
    int64_t offset;
    if (!argument_int64(c, 2, &offset))
        return;
    if (offset < 0) {
        reply_error(&c->reply, "ERR offset is out of range");
        return;
    }
    const char *value = c->argv[3];
    size_t value_len = c->argv_len[3];
    kv_entry *entry = keyspace_lookup(c->db, c->argv[1], c->argv_len[1]);
    buffer *bytes;
    if (entry == NULL) {
        if (value_len == 0) {
            reply_integer(&c->reply, 0);
            return;
        }
        if (!check_string_length(c, (uint64_t)offset, value_len))
            return;
        /* Built as a raw string directly (Redis reports "raw" here too), so
         * the padding is written once, in its final place. */
        bytes = mem_alloc(sizeof(*bytes));
        buffer_init(bytes);
        buffer_grow_zeroed(bytes, (size_t)offset + value_len);
        keyspace_set_object(c->db, c->argv[1], c->argv_len[1], OBJECT_STRING, ENCODING_RAW, bytes,
                            0);
    } else {
        if (entry_type(entry) != OBJECT_STRING) {
            reply_error(&c->reply, ERR_WRONGTYPE);
            return;
        }
        if (value_len == 0) {
            reply_integer(&c->reply, (int64_t)entry_string_length(entry));
            return;
        }
        if (!check_string_length(c, (uint64_t)offset, value_len))
            return;
        bytes = keyspace_string_for_update(c->db, &entry);
        buffer_grow_zeroed(bytes, (size_t)offset + value_len);
    }
    memcpy(bytes->data + offset, value, value_len);
    signal_key(c, 1, "setrange", EVENT_STRING);
    reply_integer(&c->reply, (int64_t)bytes->len);
}

/* ---------- counters ---------- */

static void increment_generic(client *c, int64_t increment)
{
    kv_entry *entry = keyspace_lookup(c->db, c->argv[1], c->argv_len[1]);
    int64_t value = 0;
    if (entry) {
        if (entry_type(entry) != OBJECT_STRING) {
            reply_error(&c->reply, ERR_WRONGTYPE);
            return;
        }
        if (!entry_string_integer(entry, &value)) {
            reply_error(&c->reply, ERR_NOT_INTEGER);
            return;
        }
    }
    if ((increment < 0 && value < 0 && increment < INT64_MIN - value) ||
        (increment > 0 && value > 0 && increment > INT64_MAX - value)) {
        reply_error(&c->reply, ERR_OVERFLOW);
        return;
    }
    value += increment;
    /* An int-encoded value stays int-encoded: change it where it lies. Other
     * encodings (a numeric string built by APPEND) are replaced, keeping
     * the TTL. */
    if (entry && entry_encoding(entry) == ENCODING_INT)
        keyspace_update_integer(entry, value);
    else
        keyspace_set_integer(c->db, c->argv[1], c->argv_len[1], value, 1);
    signal_key(c, 1, "incrby", EVENT_STRING);
    reply_integer(&c->reply, value);
}

void command_incr(client *c)
{
    increment_generic(c, 1);
}

void command_decr(client *c)
{
    increment_generic(c, -1);
}

void command_incrby(client *c)
{
    int64_t increment;
    if (argument_int64(c, 2, &increment))
        increment_generic(c, increment);
}

void command_decrby(client *c)
{
    int64_t decrement;
    if (!argument_int64(c, 2, &decrement))
        return;
    if (decrement == INT64_MIN) {
        reply_error(&c->reply, "ERR decrement would overflow");
        return;
    }
    increment_generic(c, -decrement);
}

/* INCRBYFLOAT key increment: long double arithmetic, the result stored and
 * replied in INCRBYFLOAT's rendering ("%.17Lf" without trailing zeros). */
void command_incrbyfloat(client *c)
{
    kv_entry *entry = keyspace_lookup(c->db, c->argv[1], c->argv_len[1]);
    long double value = 0, increment;
    if (entry) {
        if (entry_type(entry) != OBJECT_STRING) {
            reply_error(&c->reply, ERR_WRONGTYPE);
            return;
        }
        int64_t integer;
        if (entry_encoding(entry) == ENCODING_INT && entry_string_integer(entry, &integer)) {
            value = (long double)integer;
        } else {
            char scratch[32];
            size_t len;
            const char *bytes = entry_string(entry, scratch, &len);
            if (!parse_increment_operand(bytes, len, &value)) {
                reply_error(&c->reply, ERR_NOT_FLOAT);
                return;
            }
        }
    }
    if (!parse_increment_operand(c->argv[2], c->argv_len[2], &increment)) {
        reply_error(&c->reply, ERR_NOT_FLOAT);
        return;
    }
    value += increment;
    if (isnan(value) || isinf(value)) {
        reply_error(&c->reply, "ERR increment would produce NaN or Infinity");
        return;
    }
    char text[LONG_DOUBLE_TEXT_MAX];
    size_t len = number_format_long_double(text, sizeof(text), value);
    keyspace_set_string(c->db, c->argv[1], c->argv_len[1], text, len, 1);
    signal_key(c, 1, "incrbyfloat", EVENT_STRING);
    reply_bulk(&c->reply, text, len);
}

/* ---------- LCS ---------- */

/* Reads a key for LCS: a missing key is the empty string. */
static int lcs_operand(client *c, int i, char scratch[32], const char **bytes, size_t *len)
{
    kv_entry *e =
        keyspace_lookup_read(c->db, c->argv[i], c->argv_len[i], c->flags & CLIENT_NO_TOUCH);
    if (e == NULL) {
        *bytes = "";
        *len = 0;
        return 1;
    }
    if (entry_type(e) != OBJECT_STRING)
        return 0;
    *bytes = entry_string(e, scratch, len);
    return 1;
}

/* Emits one matched range pair of LCS ... IDX. */
static void lcs_reply_range(client *c, size_t a_start, size_t a_end, size_t b_start, size_t b_end,
                            int with_length)
{
    reply_array(&c->reply, 2 + (size_t)with_length);
    reply_array(&c->reply, 2);
    reply_integer(&c->reply, (int64_t)a_start);
    reply_integer(&c->reply, (int64_t)a_end);
    reply_array(&c->reply, 2);
    reply_integer(&c->reply, (int64_t)b_start);
    reply_integer(&c->reply, (int64_t)b_end);
    if (with_length)
        reply_integer(&c->reply, (int64_t)(a_end - a_start + 1));
}

void command_lcs(client *c)
{
    int want_len = 0, want_idx = 0, with_length = 0;
    int64_t min_match = 0;
    for (int i = 3; i < c->argc; i++) {
        if (argument_is(c, i, "IDX")) {
            want_idx = 1;
        } else if (argument_is(c, i, "LEN")) {
            want_len = 1;
        } else if (argument_is(c, i, "WITHMATCHLEN")) {
            with_length = 1;
        } else if (argument_is(c, i, "MINMATCHLEN") && i + 1 < c->argc) {
            if (!argument_int64(c, i + 1, &min_match))
                return;
            if (min_match < 0)
                min_match = 0;
            i++;
        } else {
            reply_error(&c->reply, ERR_SYNTAX);
            return;
        }
    }
    char scratch_a[32], scratch_b[32];
    const char *a, *b;
    size_t a_len, b_len;
    if (!lcs_operand(c, 1, scratch_a, &a, &a_len) || !lcs_operand(c, 2, scratch_b, &b, &b_len)) {
        reply_error(&c->reply, "ERR The specified keys must contain string values");
        return;
    }
    if (want_idx && want_len) {
        reply_error(&c->reply, "ERR If you want both the length and indexes, please just use IDX.");
        return;
    }
    /* The dynamic-programming table is (a_len+1) x (b_len+1) cells; bound
     * it like any other transient allocation a client can ask for. */
    unsigned long long cells = (unsigned long long)(a_len + 1) * (b_len + 1);
    if (cells > (unsigned long long)server.config.proto_max_bulk_len / sizeof(uint32_t)) {
        reply_error(&c->reply,
                    "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
        return;
    }
    uint32_t *table = mem_alloc((size_t)cells * sizeof(uint32_t));
#define LCS_CELL(i, j) table[(size_t)(j) * (a_len + 1) + (i)]
    for (size_t j = 0; j <= b_len; j++) {
        for (size_t i = 0; i <= a_len; i++) {
            if (i == 0 || j == 0)
                LCS_CELL(i, j) = 0;
            else if (a[i - 1] == b[j - 1])
                LCS_CELL(i, j) = LCS_CELL(i - 1, j - 1) + 1;
            else
                LCS_CELL(i, j) = LCS_CELL(i - 1, j) > LCS_CELL(i, j - 1) ? LCS_CELL(i - 1, j)
                                                                         : LCS_CELL(i, j - 1);
        }
    }
    uint32_t length = LCS_CELL(a_len, b_len);
    if (want_len) {
        mem_free(table);
        reply_integer(&c->reply, length);
        return;
    }
    char *result = want_idx ? NULL : mem_alloc(length + 1);
    size_t handle = 0, ranges = 0;
    if (want_idx) {
        reply_map(&c->reply, 2);
        reply_bulk_cstr(&c->reply, "matches");
        handle = reply_defer(&c->reply);
    }
    /* Walk back from the end, collecting the common bytes and, for IDX, the
     * contiguous ranges they form (reported last match first, as Redis). */
    size_t i = a_len, j = b_len, index = length;
    size_t a_start = a_len, a_end = 0, b_start = 0, b_end = 0; /* a_start == a_len: no range */
    while (i > 0 && j > 0) {
        int emit = 0;
        if (a[i - 1] == b[j - 1]) {
            if (result)
                result[index - 1] = a[i - 1];
            if (a_start == a_len) {
                a_start = a_end = i - 1;
                b_start = b_end = j - 1;
            } else if (a_start == i && b_start == j) {
                a_start--;
                b_start--;
            } else {
                emit = 1;
            }
            if (a_start == 0 || b_start == 0)
                emit = 1;
            index--;
            i--;
            j--;
        } else {
            if (LCS_CELL(i - 1, j) > LCS_CELL(i, j - 1))
                i--;
            else
                j--;
            if (a_start != a_len)
                emit = 1;
        }
        if (emit) {
            if (want_idx && (min_match == 0 || (int64_t)(a_end - a_start + 1) >= min_match)) {
                lcs_reply_range(c, a_start, a_end, b_start, b_end, with_length);
                ranges++;
            }
            a_start = a_len;
        }
    }
#undef LCS_CELL
    mem_free(table);
    if (want_idx) {
        reply_defer_array(&c->reply, handle, ranges);
        reply_bulk_cstr(&c->reply, "len");
        reply_integer(&c->reply, length);
    } else {
        reply_bulk(&c->reply, result, length);
        mem_free(result);
    }
}
