/*
 * h1resp.h - one upstream HTTP/1.1 answer parsed, with no socket: the
 * framing rules of the data plane's client (h1client.h) in a form a unit
 * test and a fuzzer can drive byte by byte.
 *
 * llhttp in response mode, strict (built with LLHTTP_STRICT_MODE), plus
 * what llhttp cannot know or lets through:
 *  - the answers to HEAD, and 204 and 304, have no body whatever their
 *    Content-Length says (RFC 9110 sections 8.6, 15.3.5, 15.4.5): llhttp is
 *    told so, and bytes that follow them are bytes after the end;
 *  - no 1xx is accepted (we never send Expect: 100-continue);
 *  - bytes after the end of the answer are an error, never a next answer;
 *    the last bytes of a Content-Length body are not passed on when more
 *    follow them in the same read;
 *  - Transfer-Encoding is one field, "chunked" (anything else llhttp would
 *    read until the end of the connection, codings and all); a field name
 *    is never empty; the version is HTTP/1.0 or 1.1;
 *  - a header value never holds CR or LF (an obs-fold is joined with the
 *    space that starts its continuation, as RFC 9112 section 5.2 allows);
 *  - the head is capped at H1R_MAX_HEAD bytes and H1R_MAX_HEADERS fields.
 * Both Content-Length and Transfer-Encoding, two Content-Lengths and bad
 * chunks are llhttp's strict refusals.
 */
#ifndef S3W_PROXY_H1RESP_H
#define S3W_PROXY_H1RESP_H

#include <stdbool.h>
#include <stddef.h>

#include <llhttp.h>

#include "bytes.h"

#define H1R_MAX_HEAD (64 * 1024)
#define H1R_MAX_HEADERS 128

enum {
    H1R_MORE = 0,          /* the answer goes on */
    H1R_DONE = 1,          /* the answer ended with the last byte fed */
    H1R_E_PROTOCOL = -1,   /* not a well-framed answer (see above) */
    H1R_E_TOOBIG = -2,     /* head over its caps */
    H1R_E_REFUSED = -3,    /* a callback returned < 0 */
};

struct h1resp_cb {
    /* the final answer's head; slices valid during the call. < 0 refuses */
    int (*on_head)(void *ud, int status, const struct s3w_header *h, size_t n);
    /* body bytes (chunked framing removed); < 0 refuses, > 0 asks to pause
     * (h1resp only records it: see `pause`) */
    int (*on_body)(void *ud, const char *p, size_t n);
};

struct h1resp {
    llhttp_t ll;
    const struct h1resp_cb *cb;
    void *ud;
    char *head; /* H1R_MAX_HEAD bytes of the caller's, until on_head returned */
    const char *feed_end; /* the end of the bytes being fed */
    size_t head_len, nhdrs;
    struct s3w_header hdrs[H1R_MAX_HEADERS];
    int status;
    bool is_head, in_value, toobig, done, head_seen, refused;
    bool pause; /* on_body asked to pause; the caller clears it */
};

void h1resp_init(struct h1resp *r, const struct h1resp_cb *cb, void *ud);
/* Ready for the answer to a new request (is_head: it was a HEAD).
 * head_storage: H1R_MAX_HEAD bytes the head is gathered in; the caller
 * may take them back once on_head has returned (the fields of a chunked
 * body's trailer are counted against the cap, not stored). */
void h1resp_start(struct h1resp *r, bool is_head, char *head_storage);
/* Feeds bytes; every byte is consumed or the answer failed. */
int h1resp_feed(struct h1resp *r, const char *p, size_t n);
/* The upstream closed: H1R_DONE when that ends an answer read until the
 * end, H1R_E_PROTOCOL otherwise (the answer was cut short). */
int h1resp_eof(struct h1resp *r);
/* After H1R_DONE: the upstream keeps the connection open. */
bool h1resp_keep_alive(const struct h1resp *r);

#endif
