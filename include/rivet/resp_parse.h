/* resp_parse: an incremental parser for client requests, in both forms Redis
 * accepts: multibulk (*N\r\n$len\r\n...) and inline (space-separated words with
 * Redis's quoting rules). It copies nothing: arguments are reported as offsets
 * and lengths into the caller's buffer, so the caller may grow (move) the
 * buffer between calls. Parsing resumes where it stopped, so a large request
 * arriving in many reads is scanned once, not once per read. */
#ifndef RIVET_RESP_PARSE_H
#define RIVET_RESP_PARSE_H

#include <stddef.h>
#include <stdint.h>

typedef enum resp_parse_status {
    RESP_PARSE_INCOMPLETE, /* need more bytes; call again with the same start */
    RESP_PARSE_COMMAND,    /* one command is ready in argc/argv_* */
    RESP_PARSE_ERROR       /* protocol error: text in parser->error; close after replying */
} resp_parse_status;

typedef struct resp_parse_limits {
    int64_t max_bulk_len;        /* proto-max-bulk-len, default 512 MB */
    int64_t max_multibulk_count; /* default INT_MAX, as Redis 7 (6.x used 1024*1024) */
    size_t max_inline_len;       /* default 64 KB */
    /* Set while the client has not authenticated (requirepass): as Redis does,
     * a multibulk count above 10 or a bulk above 16384 bytes is then refused,
     * so an anonymous peer cannot make the server buffer much. */
    int unauthenticated;
} resp_parse_limits;

typedef struct resp_parser {
    resp_parse_limits limits;
    /* The command, valid after RESP_PARSE_COMMAND until the next call. */
    int argc;
    size_t *argv_offset; /* offsets from the start of buf; read through resp_parse_arg */
    size_t *argv_len;
    int argv_cap;
    /* Protocol error text without the "-ERR " prefix, e.g.
     * "Protocol error: invalid multibulk length". */
    const char *error;
    /* Private resume state. Offsets count from the start of buf. */
    int kind;               /* 0 none yet, 1 multibulk, 2 inline */
    int64_t multibulk_left; /* arguments still to read; -1 before the *N line */
    int64_t bulk_len;       /* -1 when the next $len header is not read yet */
    size_t pos;             /* next unread byte of the current command */
    size_t command_start;   /* first byte of the current command */
    size_t scan;            /* where the search for a line terminator resumes */
    char *inline_copy;      /* unquoted inline arguments live here */
    size_t inline_copy_cap;
    int inline_uses_copy; /* some argument of the last command is in inline_copy */
    char error_text[48];  /* the one error that quotes a byte is built here */
} resp_parser;

void resp_parser_init(resp_parser *parser, const resp_parse_limits *limits);
void resp_parser_release(resp_parser *parser);
void resp_parse_limits_default(resp_parse_limits *limits);

/* Parses one command from buf[0..len). buf must start at the first byte of the
 * current command (the caller drops *consumed bytes after each COMMAND). On
 * RESP_PARSE_COMMAND, *consumed is the size of the command, and argument i is
 * resp_parse_arg(parser, buf, i, &arglen). Empty inline lines and "*0" / "*-1"
 * requests are skipped silently (consumed, no command). On INCOMPLETE, the
 * caller calls again once more bytes are appended. *consumed is then 0, unless
 * only skipped empty requests precede the end of buf: the caller may drop those
 * *consumed bytes (and pass the new start) or keep them (and pass the same
 * start); both work. If the first byte of a pending bulk payload is known,
 * *need_hint says how many more bytes the buffer must hold to complete it
 * (lets the caller size one big read). After RESP_PARSE_ERROR the parser keeps
 * returning the error until resp_parser_reset. */
resp_parse_status resp_parse(resp_parser *parser, const char *buf, size_t len, size_t *consumed,
                             size_t *need_hint);

/* Pointer to argument i of the last parsed command. Inline arguments that
 * needed unquoting point into the parser's own copy. */
const char *resp_parse_arg(const resp_parser *parser, const char *buf, int i, size_t *len);

/* Forget any partial command (e.g. after the caller discarded its buffer). */
void resp_parser_reset(resp_parser *parser);

#endif
