/*
 * http.h - strict HTTP/1.1 request parsing on top of llhttp, without I/O.
 *
 * The connection code feeds raw bytes; this layer copies the request head
 * into a capped arena (the input buffer moves, the head must not), refuses
 * the shapes that make request smuggling possible, and hands body bytes to a
 * callback. It stops (llhttp pause) at the end of each head and at the end of
 * each message so pipelined requests are handled strictly one at a time.
 *
 * Strictness (RFC 9112 and the smuggling write-ups it answers):
 *  - every line ends in CRLF: a bare LF or a bare CR in the head is refused
 *    (RFC 9112 2.2 allows a server to accept bare LF; we must not, because a
 *    peer proxy in front may not and the two would split requests
 *    differently);
 *  - obs-fold (a header line starting with SP/HTAB) is refused (RFC 9112 5.2);
 *  - Content-Length together with Transfer-Encoding, or Content-Length twice,
 *    is refused (RFC 9112 6.1, 6.3), as are malformed lengths and chunk sizes
 *    (llhttp with every lenient flag off);
 *  - a second Host header is refused (RFC 9112 3.2);
 *  - only origin-form request targets ("/...") are accepted;
 *  - start line over HTTP_MAX_START_LINE -> 400, head over HTTP_MAX_HEAD or
 *    more than HTTP_MAX_HEADERS fields -> 431.
 * After any error the connection must be closed: the byte stream can no
 * longer be trusted to be framed.
 */
#ifndef S3W_PROXY_HTTP_H
#define S3W_PROXY_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <llhttp.h>

#include "bytes.h"

#define HTTP_MAX_START_LINE 8192
#define HTTP_MAX_HEAD       (32 * 1024)
#define HTTP_MAX_HEADERS    128

/* Where a request head is parsed to: the header table and the arena every
 * slice of it points into (about 36 KiB). It is not part of struct
 * http_request so that a connection idle between requests holds none: the
 * connection lends the parser one only while a request is in progress
 * (http_parser_lend, http_parser_take_back). */
struct http_head_store {
    struct s3w_header headers[HTTP_MAX_HEADERS];
    char arena[HTTP_MAX_HEAD];
};

/* One parsed request head. Every slice points into `arena` and stays valid
 * until the parser starts the next request (http_parser_next) or its store
 * is taken back. */
struct http_request {
    struct s3w_slice method;
    struct s3w_slice target; /* raw request-target, e.g. "/b/k?acl" */
    struct s3w_slice path;   /* target before '?', still percent-encoded */
    struct s3w_slice query;  /* target after '?', without it (may be empty) */
    bool has_query;          /* a '?' was present */
    int version_minor;       /* HTTP/1.x */
    size_t nheaders;
    bool has_content_length;
    uint64_t content_length;
    bool chunked;          /* Transfer-Encoding: chunked */
    bool keep_alive;       /* llhttp_should_keep_alive at head end */
    bool expect_continue;  /* Expect: 100-continue */
    bool is_head;          /* HEAD: the response has no body */
    size_t arena_len;
    /* the store's (NULL while none is lent); kept last: a new request
     * clears every field before them */
    struct s3w_header *headers; /* HTTP_MAX_HEADERS of them */
    char *arena;                /* HTTP_MAX_HEAD bytes */
    /* the store http_parser_init allocated for a standalone parser, reused
     * by a later http_parser_init of the same request; NULL when lent */
    struct http_head_store *own_store;
};

enum http_event {
    HTTP_EV_NEED_MORE = 0,  /* all given bytes consumed, nothing finished */
    HTTP_EV_HEAD_DONE,      /* a request head is complete: act on it, then
                               call http_parser_body() to go on */
    HTTP_EV_MESSAGE_DONE,   /* the request (head and body) is complete; call
                               http_parser_next() before the next request */
    HTTP_EV_ERROR,          /* see err_status / err_code / err_message */
};

enum http_state {
    HTTP_ST_HEAD = 0,
    HTTP_ST_HEAD_DONE,
    HTTP_ST_BODY,
    HTTP_ST_DONE,
    HTTP_ST_ERROR,
};

/* Body bytes (de-chunked if Transfer-Encoding: chunked). Returning non-zero
 * stops parsing with an error (the caller then closes). */
typedef int (*http_body_fn)(void *ud, const char *p, size_t n);

struct http_parser {
    llhttp_t ll;
    struct http_request *req; /* borrowed, owned by the caller */
    enum http_state state;
    /* head scanner (bare LF / CR, obs-fold, sizes) */
    size_t head_bytes;
    size_t line_len;
    size_t lines;
    bool prev_cr;
    /* header being assembled in the arena */
    size_t cur_name_off, cur_name_len, cur_value_off, cur_value_len;
    bool in_value;
    size_t url_off, url_len;
    size_t method_off, method_len;
    bool have_host;
    bool body_less; /* head done and message done at once */
    /* the most of the arena any request used since the store was lent:
     * what http_parser_take_back wipes */
    size_t arena_used;
    bool wipe_next; /* http_parser_wipe_at_next: the head held a secret */
    struct http_head_store *lent;
    http_body_fn on_body;
    void *ud;
    /* error, set with HTTP_EV_ERROR; strings are static */
    int err_status;
    const char *err_code;
    const char *err_message;
};

/* A standalone parser: the head store is allocated here on the first init
 * of `req` (which must start zeroed, e.g. static) and kept in it for later
 * inits; http_request_free_store() frees it. */
void http_parser_init(struct http_parser *hp, struct http_request *req,
                      http_body_fn on_body, void *ud);

/* A parser whose head store its owner lends before feeding it a head and
 * takes back between requests (a connection, conn.c). Feeding a head with
 * no store lent is refused (500). */
void http_parser_init_lent(struct http_parser *hp, struct http_request *req,
                           http_body_fn on_body, void *ud);
/* Lends `st` for the heads to come: the request's headers and arena are
 * in it from now on. */
void http_parser_lend(struct http_parser *hp, struct http_head_store *st);
/* Takes the lent store back, between requests only (state HTTP_ST_HEAD,
 * nothing of a head fed): the part of its arena that held request bytes
 * (which may have carried a session token) is wiped first, and the
 * request no longer points into it. Returns the store, or NULL. */
struct http_head_store *http_parser_take_back(struct http_parser *hp);
/* Frees what http_parser_init allocated for `req`. */
void http_request_free_store(struct http_request *req);

/* Feeds bytes. *consumed is how many were used; the rest must be fed again
 * (after acting on the event). Never consumes past the end of a head or a
 * message. */
enum http_event http_parser_feed(struct http_parser *hp, const char *data,
                                 size_t len, size_t *consumed);

/* After HTTP_EV_HEAD_DONE: continue with the body. */
void http_parser_body(struct http_parser *hp);

/* After HTTP_EV_MESSAGE_DONE: reset for the next pipelined request. */
void http_parser_next(struct http_parser *hp);

/* The head in the store held a secret (a session token): its bytes are
 * wiped when the parser starts the next request - its slices are valid
 * until then - or when the store is taken back, whichever comes first. */
void http_parser_wipe_at_next(struct http_parser *hp);

/* Finds a header (case-insensitive name); the first one, or NULL. */
const struct s3w_header *http_request_header(const struct http_request *req,
                                              const char *name);

/* Number of headers named `name`. */
size_t http_request_header_count(const struct http_request *req,
                                 const char *name);

#endif
