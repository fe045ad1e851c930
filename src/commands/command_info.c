/* COMMAND and its subcommands: everything here is read from the command
 * table, in the reply shapes of Redis 7 (clients such as redis-cli and
 * cluster-aware libraries parse them). */
#include <stdio.h>
#include <string.h>

#include "handlers.h"
#include "rivet/glob.h"
#include "rivet/server.h"

static void reply_flag_set(reply_writer *w, const command *cmd)
{
    uint32_t flags = cmd->flags;
    size_t n = 0;
    for (int bit = 0; bit < CMD_FLAG_COUNT; bit++)
        if ((flags & (1u << bit)) && (1u << bit) != CMD_PROTECTED)
            n++;
    /* Keys found through a count or a keyword are "movable": COMMAND
     * GETKEYS is needed to find them. */
    int movable = command_has_movable_keys(cmd);
    reply_set(w, n + (size_t)movable);
    for (int bit = 0; bit < CMD_FLAG_COUNT; bit++)
        if ((flags & (1u << bit)) && (1u << bit) != CMD_PROTECTED)
            reply_status(w, command_flag_name(bit));
    if (movable)
        reply_status(w, "movablekeys");
}

static void reply_category_set(reply_writer *w, uint32_t categories)
{
    size_t n = 0;
    for (int bit = 0; bit < ACL_CATEGORY_COUNT; bit++)
        if (categories & (1u << bit))
            n++;
    reply_set(w, n);
    char name[32];
    for (int bit = 0; bit < ACL_CATEGORY_COUNT; bit++) {
        if (categories & (1u << bit)) {
            snprintf(name, sizeof(name), "@%s", command_category_name(bit));
            reply_status(w, name);
        }
    }
}

static const char *const key_flag_names[] = {
    "RO",     "RW",     "OW",      "RM",         "access",        "update",
    "insert", "delete", "not_key", "incomplete", "variable_flags"};

static void reply_key_flags(reply_writer *w, const command *cmd)
{
    size_t n = 0;
    for (int bit = 0; bit < 11; bit++)
        if (cmd->key_flags & (1u << bit))
            n++;
    reply_set(w, n);
    for (int bit = 0; bit < 11; bit++)
        if (cmd->key_flags & (1u << bit))
            reply_status(w, key_flag_names[bit]);
}

/* begin_search by keyword, then half of the remaining arguments (limit 2):
 * the shape of XREAD's "STREAMS k1 k2 id1 id2". */
static void reply_keyword_spec(reply_writer *w, const command *cmd)
{
    reply_array(w, 1);
    reply_map(w, 3);
    reply_bulk_cstr(w, "flags");
    reply_key_flags(w, cmd);
    reply_bulk_cstr(w, "begin_search");
    reply_map(w, 2);
    reply_bulk_cstr(w, "type");
    reply_bulk_cstr(w, "keyword");
    reply_bulk_cstr(w, "spec");
    reply_map(w, 2);
    reply_bulk_cstr(w, "keyword");
    reply_bulk_cstr(w, cmd->key_keyword);
    reply_bulk_cstr(w, "startfrom");
    reply_integer(w, cmd->key_keyword_start);
    reply_bulk_cstr(w, "find_keys");
    reply_map(w, 2);
    reply_bulk_cstr(w, "type");
    reply_bulk_cstr(w, "range");
    reply_bulk_cstr(w, "spec");
    reply_map(w, 3);
    reply_bulk_cstr(w, "lastkey");
    reply_integer(w, -1);
    reply_bulk_cstr(w, "keystep");
    reply_integer(w, 1);
    reply_bulk_cstr(w, "limit");
    reply_integer(w, 2);
}

static void reply_keynum_spec(reply_writer *w, const command *cmd)
{
    reply_array(w, 1);
    reply_map(w, 3);
    reply_bulk_cstr(w, "flags");
    reply_key_flags(w, cmd);
    reply_bulk_cstr(w, "begin_search");
    reply_map(w, 2);
    reply_bulk_cstr(w, "type");
    reply_bulk_cstr(w, "index");
    reply_bulk_cstr(w, "spec");
    reply_map(w, 1);
    reply_bulk_cstr(w, "index");
    reply_integer(w, cmd->key_numkeys_index);
    reply_bulk_cstr(w, "find_keys");
    reply_map(w, 2);
    reply_bulk_cstr(w, "type");
    reply_bulk_cstr(w, "keynum");
    reply_bulk_cstr(w, "spec");
    reply_map(w, 3);
    reply_bulk_cstr(w, "keynumidx");
    reply_integer(w, 0);
    reply_bulk_cstr(w, "firstkey");
    reply_integer(w, 1);
    reply_bulk_cstr(w, "keystep");
    reply_integer(w, cmd->key_step > 0 ? cmd->key_step : 1);
}

static void reply_key_specs(reply_writer *w, const command *cmd)
{
    if (cmd->key_numkeys_index > 0) {
        reply_keynum_spec(w, cmd);
        return;
    }
    if (cmd->key_keyword) {
        reply_keyword_spec(w, cmd);
        return;
    }
    if (cmd->first_key <= 0) {
        reply_array(w, 0);
        return;
    }
    reply_array(w, 1);
    reply_map(w, 3);
    reply_bulk_cstr(w, "flags");
    size_t n = 0;
    for (int bit = 0; bit < 11; bit++)
        if (cmd->key_flags & (1u << bit))
            n++;
    reply_set(w, n);
    for (int bit = 0; bit < 11; bit++)
        if (cmd->key_flags & (1u << bit))
            reply_status(w, key_flag_names[bit]);
    reply_bulk_cstr(w, "begin_search");
    reply_map(w, 2);
    reply_bulk_cstr(w, "type");
    reply_bulk_cstr(w, "index");
    reply_bulk_cstr(w, "spec");
    reply_map(w, 1);
    reply_bulk_cstr(w, "index");
    reply_integer(w, cmd->first_key);
    reply_bulk_cstr(w, "find_keys");
    reply_map(w, 2);
    reply_bulk_cstr(w, "type");
    reply_bulk_cstr(w, "range");
    reply_bulk_cstr(w, "spec");
    reply_map(w, 3);
    reply_bulk_cstr(w, "lastkey");
    reply_integer(w, cmd->last_key < 0 ? cmd->last_key : cmd->last_key - cmd->first_key);
    reply_bulk_cstr(w, "keystep");
    reply_integer(w, cmd->key_step);
    reply_bulk_cstr(w, "limit");
    reply_integer(w, 0);
}

static size_t subcommand_count(const command *cmd)
{
    size_t n = 0;
    for (const command *sub = cmd->subcommands; sub && sub->name; sub++)
        n++;
    return n;
}

static void reply_command_info(reply_writer *w, const command *cmd)
{
    char name[96];
    reply_array(w, 10);
    reply_bulk_cstr(w, command_full_name(cmd, name, sizeof(name)));
    reply_integer(w, cmd->arity);
    reply_flag_set(w, cmd);
    reply_integer(w, cmd->first_key);
    reply_integer(w, cmd->last_key);
    /* A count-led command reports a step only when a fixed key comes first
     * (ZUNIONSTORE dst numkeys ...), as Redis does. */
    reply_integer(w, cmd->key_numkeys_index > 0 && cmd->first_key <= 0 ? 0 : cmd->key_step);
    reply_category_set(w, cmd->categories);
    reply_set(w, 0); /* tips */
    reply_key_specs(w, cmd);
    reply_array(w, subcommand_count(cmd));
    for (const command *sub = cmd->subcommands; sub && sub->name; sub++)
        reply_command_info(w, sub);
}

void command_command(client *c)
{
    if (c->argc > 1) {
        reply_errorf(&c->reply, "ERR unknown subcommand '%.*s'. Try COMMAND HELP.",
                     (int)c->argv_len[1], c->argv[1]);
        return;
    }
    reply_array(&c->reply, command_count());
    for (size_t i = 0; i < command_count(); i++)
        reply_command_info(&c->reply, command_at(i));
}

void command_command_count(client *c)
{
    reply_integer(&c->reply, (int64_t)command_count());
}

/* "client|list" or "get": resolves a full name to a table row. */
static const command *lookup_full_name(const char *name, size_t len)
{
    const char *bar = memchr(name, '|', len);
    if (bar == NULL)
        return command_lookup(name, len);
    const command *parent = command_lookup(name, (size_t)(bar - name));
    if (parent == NULL || parent->subcommands == NULL)
        return NULL;
    return command_lookup_sub(parent, bar + 1, len - (size_t)(bar - name) - 1);
}

void command_command_info(client *c)
{
    if (c->argc == 2) {
        reply_array(&c->reply, command_count());
        for (size_t i = 0; i < command_count(); i++)
            reply_command_info(&c->reply, command_at(i));
        return;
    }
    reply_array(&c->reply, (size_t)(c->argc - 2));
    for (int i = 2; i < c->argc; i++) {
        const command *cmd = lookup_full_name(c->argv[i], c->argv_len[i]);
        if (cmd)
            reply_command_info(&c->reply, cmd);
        else
            reply_null(&c->reply);
    }
}

static void reply_command_doc(reply_writer *w, const command *cmd)
{
    size_t subs = subcommand_count(cmd);
    reply_map(w, subs ? 5 : 4);
    reply_bulk_cstr(w, "summary");
    reply_bulk_cstr(w, cmd->summary ? cmd->summary : "");
    reply_bulk_cstr(w, "since");
    reply_bulk_cstr(w, cmd->since ? cmd->since : "");
    reply_bulk_cstr(w, "group");
    reply_bulk_cstr(w, cmd->group ? cmd->group : "");
    reply_bulk_cstr(w, "complexity");
    reply_bulk_cstr(w, cmd->complexity ? cmd->complexity : "");
    if (subs) {
        reply_bulk_cstr(w, "subcommands");
        reply_map(w, subs);
        char name[96];
        for (const command *sub = cmd->subcommands; sub->name; sub++) {
            reply_bulk_cstr(w, command_full_name(sub, name, sizeof(name)));
            reply_command_doc(w, sub);
        }
    }
}

void command_command_docs(client *c)
{
    if (c->argc == 2) {
        reply_map(&c->reply, command_count());
        for (size_t i = 0; i < command_count(); i++) {
            reply_bulk_cstr(&c->reply, command_at(i)->name);
            reply_command_doc(&c->reply, command_at(i));
        }
        return;
    }
    size_t handle = reply_defer(&c->reply);
    size_t found = 0;
    for (int i = 2; i < c->argc; i++) {
        const command *cmd = lookup_full_name(c->argv[i], c->argv_len[i]);
        if (cmd == NULL)
            continue;
        char name[96];
        reply_bulk_cstr(&c->reply, command_full_name(cmd, name, sizeof(name)));
        reply_command_doc(&c->reply, cmd);
        found++;
    }
    reply_defer_map(&c->reply, handle, found);
}

void command_command_list(client *c)
{
    const char *pattern = NULL;
    size_t pattern_len = 0;
    uint32_t category = 0;
    int match_none = 0;
    if (c->argc == 5 && argument_is(c, 2, "FILTERBY")) {
        if (argument_is(c, 3, "PATTERN")) {
            pattern = c->argv[4];
            pattern_len = c->argv_len[4];
        } else if (argument_is(c, 3, "ACLCAT")) {
            for (int bit = 0; bit < ACL_CATEGORY_COUNT; bit++) {
                const char *name = command_category_name(bit);
                if (strlen(name) == c->argv_len[4] &&
                    strncasecmp(name, c->argv[4], c->argv_len[4]) == 0)
                    category = 1u << bit;
            }
            if (category == 0)
                match_none = 1;
        } else if (argument_is(c, 3, "MODULE")) {
            match_none = 1;
        } else {
            reply_error(&c->reply, ERR_SYNTAX);
            return;
        }
    } else if (c->argc != 2) {
        reply_error(&c->reply, ERR_SYNTAX);
        return;
    }
    size_t handle = reply_defer(&c->reply);
    size_t n = 0;
    char name[96];
    for (size_t i = 0; i < command_count() && !match_none; i++) {
        const command *cmd = command_at(i);
        const command *rows[2] = {cmd, NULL};
        (void)rows;
        for (int pass = 0; pass < 1 + (int)subcommand_count(cmd); pass++) {
            const command *row = pass == 0 ? cmd : &cmd->subcommands[pass - 1];
            command_full_name(row, name, sizeof(name));
            if (category && !(row->categories & category))
                continue;
            if (pattern && !glob_match(pattern, pattern_len, name, strlen(name), 1))
                continue;
            reply_bulk_cstr(&c->reply, name);
            n++;
        }
    }
    reply_defer_array(&c->reply, handle, n);
}

void command_command_getkeys(client *c)
{
    const command *cmd = command_lookup(c->argv[2], c->argv_len[2]);
    int argc = c->argc - 2;
    const char **argv = c->argv + 2;
    const size_t *argv_len = c->argv_len + 2;
    if (cmd && cmd->subcommands && argc >= 2) {
        const command *sub = command_lookup_sub(cmd, argv[1], argv_len[1]);
        if (sub)
            cmd = sub;
    }
    if (cmd == NULL) {
        reply_error(&c->reply, "ERR Invalid command specified");
        return;
    }
    if ((cmd->arity > 0 && cmd->arity != argc) || argc < -cmd->arity) {
        reply_error(&c->reply, "ERR Invalid number of arguments specified for command");
        return;
    }
    int positions[256];
    int n = command_get_keys(cmd, argc, argv, argv_len, positions, 256);
    if (n <= 0 && (cmd->flags & CMD_NO_MANDATORY_KEYS)) {
        /* EVAL s 0, FCALL f 0: a command that may take no keys answers an
         * empty list, even for a count it cannot use, as Redis does. */
        reply_array(&c->reply, 0);
        return;
    }
    if (n <= 0) {
        reply_error(&c->reply, n == 0 ? "ERR The command has no key arguments"
                                      : "ERR Invalid arguments specified for command");
        return;
    }
    reply_array(&c->reply, (size_t)n);
    for (int i = 0; i < n; i++)
        reply_bulk(&c->reply, argv[positions[i]], argv_len[positions[i]]);
}

void command_command_help(client *c)
{
    static const char *const lines[] = {
        "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "(no subcommand)",
        "    Return details about all Redis commands.",
        "COUNT",
        "    Return the total number of commands in this Redis server.",
        "LIST",
        "    Return a list of all commands in this Redis server.",
        "INFO [<command-name> ...]",
        "    Return details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "DOCS [<command-name> ...]",
        "    Return documentation details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "GETKEYS <full-command>",
        "    Return the keys from a full Redis command.",
        "HELP",
        "    Print this help.",
        NULL};
    reply_help(c, lines);
}
