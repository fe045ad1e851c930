/* The AOF manifest: which files make up the append-only file, in Redis 7's
 * text form so Redis and Rivet read each other's directories:
 *
 *   file appendonly.aof.1.base.rdb seq 1 type b
 *   file appendonly.aof.1.incr.aof seq 1 type i
 *
 * Pure text in, struct out: the server (aof.c) does the file I/O. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rivet/aof.h"
#include "rivet/memory.h"

void aof_manifest_init(aof_manifest *m)
{
    memset(m, 0, sizeof(*m));
    m->next_base_seq = 1;
    m->next_incr_seq = 1;
}

static void info_release(aof_file_info *info)
{
    mem_free(info->name);
    info->name = NULL;
}

void aof_manifest_release(aof_manifest *m)
{
    info_release(&m->base);
    for (size_t i = 0; i < m->incr_count; i++)
        info_release(&m->incr[i]);
    for (size_t i = 0; i < m->history_count; i++)
        info_release(&m->history[i]);
    mem_free(m->incr);
    mem_free(m->history);
    aof_manifest_init(m);
}

static void list_add(aof_file_info **list, size_t *count, const char *name, int64_t seq,
                     aof_file_type type)
{
    *list = mem_realloc(*list, (*count + 1) * sizeof(**list));
    (*list)[*count].name = mem_strdup(name);
    (*list)[*count].seq = seq;
    (*list)[*count].type = type;
    (*count)++;
}

void aof_manifest_add_incr(aof_manifest *m, const char *name, int64_t seq)
{
    list_add(&m->incr, &m->incr_count, name, seq, AOF_FILE_INCR);
    if (seq >= m->next_incr_seq)
        m->next_incr_seq = seq + 1;
}

/* Splits a line into words; a word may be double-quoted (Redis quotes file
 * names holding spaces). Returns the word count, -1 on bad quoting. */
static int split_words(char *line, char **words, int max)
{
    int n = 0;
    char *p = line;
    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            break;
        if (n == max)
            return -1;
        if (*p == '"') {
            char *out = ++p;
            words[n++] = out;
            while (*p && *p != '"') {
                if (*p == '\\' && p[1])
                    p++;
                *out++ = *p++;
            }
            if (*p != '"')
                return -1;
            p++;
            *out = '\0';
            if (*p && *p != ' ' && *p != '\t')
                return -1;
            if (*p)
                p++;
        } else {
            words[n++] = p;
            while (*p && *p != ' ' && *p != '\t')
                p++;
            if (*p)
                *p++ = '\0';
        }
    }
    return n;
}

static int parse_seq(const char *s, int64_t *out)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < 0)
        return -1;
    *out = v;
    return 0;
}

/* One "file ... seq ... type ..." line; the keys may come in any order. */
static int parse_line(aof_manifest *m, char *line, char *err, size_t err_size)
{
    char *words[16];
    int n = split_words(line, words, 16);
    if (n < 0 || n % 2 != 0) {
        snprintf(err, err_size, "Invalid AOF manifest file format");
        return -1;
    }
    const char *name = NULL, *type = NULL;
    int64_t seq = -1;
    for (int i = 0; i < n; i += 2) {
        if (strcmp(words[i], "file") == 0)
            name = words[i + 1];
        else if (strcmp(words[i], "seq") == 0) {
            if (parse_seq(words[i + 1], &seq) != 0) {
                snprintf(err, err_size, "Invalid AOF manifest file format");
                return -1;
            }
        } else if (strcmp(words[i], "type") == 0)
            type = words[i + 1];
        /* Unknown keys are skipped: later Redis versions may add some. */
    }
    if (name == NULL || type == NULL || seq < 0 || strlen(type) != 1 || strchr(name, '/')) {
        snprintf(err, err_size, "Invalid AOF manifest file format");
        return -1;
    }
    switch (type[0]) {
    case AOF_FILE_BASE:
        if (m->base.name) {
            snprintf(err, err_size, "Found duplicate base file information");
            return -1;
        }
        m->base.name = mem_strdup(name);
        m->base.seq = seq;
        m->base.type = AOF_FILE_BASE;
        if (seq >= m->next_base_seq)
            m->next_base_seq = seq + 1;
        break;
    case AOF_FILE_HISTORY:
        list_add(&m->history, &m->history_count, name, seq, AOF_FILE_HISTORY);
        break;
    case AOF_FILE_INCR:
        if (m->incr_count > 0 && seq <= m->incr[m->incr_count - 1].seq) {
            snprintf(err, err_size, "Found a non-monotonic sequence number");
            return -1;
        }
        aof_manifest_add_incr(m, name, seq);
        break;
    default:
        snprintf(err, err_size, "Unknown AOF file type");
        return -1;
    }
    return 0;
}

int aof_manifest_parse(aof_manifest *m, const char *text, size_t len, char *err, size_t err_size)
{
    aof_manifest_init(m);
    size_t pos = 0;
    int lines = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t line_len = nl ? (size_t)(nl - (text + pos)) : len - pos;
        if (line_len > 1024) {
            snprintf(err, err_size, "The AOF manifest file contains too long line");
            aof_manifest_release(m);
            return -1;
        }
        char line[1025];
        memcpy(line, text + pos, line_len);
        line[line_len] = '\0';
        if (line_len > 0 && line[line_len - 1] == '\r')
            line[--line_len] = '\0';
        pos = nl ? (size_t)(nl - text) + 1 : len;
        if (line_len == 0 || line[0] == '#')
            continue;
        if (parse_line(m, line, err, err_size) != 0) {
            aof_manifest_release(m);
            return -1;
        }
        lines++;
    }
    if (lines == 0) {
        snprintf(err, err_size, "Found an empty AOF manifest");
        return -1;
    }
    return 0;
}

static void format_info(buffer *out, const aof_file_info *info)
{
    buffer_appendf(out, "file %s seq %lld type %c\n", info->name, (long long)info->seq,
                   (char)info->type);
}

void aof_manifest_format(const aof_manifest *m, buffer *out)
{
    if (m->base.name)
        format_info(out, &m->base);
    for (size_t i = 0; i < m->history_count; i++)
        format_info(out, &m->history[i]);
    for (size_t i = 0; i < m->incr_count; i++)
        format_info(out, &m->incr[i]);
}

void aof_name_base(buffer *out, const char *filename, int64_t seq, int rdb_preamble)
{
    buffer_appendf(out, "%s.%lld.base.%s", filename, (long long)seq, rdb_preamble ? "rdb" : "aof");
}

void aof_name_incr(buffer *out, const char *filename, int64_t seq)
{
    buffer_appendf(out, "%s.%lld.incr.aof", filename, (long long)seq);
}
