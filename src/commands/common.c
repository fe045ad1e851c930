/* Small helpers shared by command handlers. */
#include <string.h>
#include <strings.h>

#include "handlers.h"
#include "rivet/number.h"
#include "rivet/server.h"

int argument_int64_or(client *c, int i, int64_t *out, const char *error)
{
    if (number_parse_int64(c->argv[i], c->argv_len[i], out))
        return 1;
    reply_error(&c->reply, error);
    return 0;
}

int argument_int64(client *c, int i, int64_t *out)
{
    return argument_int64_or(c, i, out, ERR_NOT_INTEGER);
}

int delete_replaced_key(database *db, const char *key, size_t len)
{
    return server.config.lazyfree_lazy_server_del ? keyspace_delete_lazy(db, key, len)
                                                  : keyspace_delete(db, key, len);
}

int argument_is(const client *c, int i, const char *literal)
{
    size_t n = strlen(literal);
    return c->argv_len[i] == n && strncasecmp(c->argv[i], literal, n) == 0;
}

void reply_help(client *c, const char *const *lines)
{
    size_t n = 0;
    while (lines[n])
        n++;
    reply_array(&c->reply, n);
    for (size_t i = 0; i < n; i++)
        reply_status(&c->reply, lines[i]);
}

kv_entry *lookup_read_typed(client *c, const char *key, size_t len, object_type type,
                            int *wrong_type)
{
    kv_entry *e = keyspace_lookup_read(c->db, key, len, c->flags & CLIENT_NO_TOUCH);
    *wrong_type = 0;
    if (e && entry_type(e) != type) {
        reply_error(&c->reply, ERR_WRONGTYPE);
        *wrong_type = 1;
        return NULL;
    }
    return e;
}

int scan_parse_options(client *c, int first, int allow_type, scan_options *options)
{
    options->count = 10;
    options->pattern = NULL;
    options->pattern_len = 0;
    options->type = NULL;
    options->type_len = 0;
    for (int i = first; i < c->argc; i += 2) {
        int has_value = i + 1 < c->argc;
        if (argument_is(c, i, "count") && has_value) {
            if (!argument_int64(c, i + 1, &options->count))
                return 0;
            if (options->count < 1) {
                reply_error(&c->reply, ERR_SYNTAX);
                return 0;
            }
        } else if (argument_is(c, i, "match") && has_value) {
            options->pattern = c->argv[i + 1];
            options->pattern_len = c->argv_len[i + 1];
            if (options->pattern_len == 1 && options->pattern[0] == '*')
                options->pattern = NULL;
        } else if (allow_type && argument_is(c, i, "type") && has_value) {
            options->type = c->argv[i + 1];
            options->type_len = c->argv_len[i + 1];
        } else {
            reply_error(&c->reply, ERR_SYNTAX);
            return 0;
        }
    }
    return 1;
}
