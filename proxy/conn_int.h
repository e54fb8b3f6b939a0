/* conn_int.h - what conn.c, conn_write.c and conn_bufs.c share about a
 * client connection; nothing outside those files includes it. */
#ifndef S3W_CONN_INT_H
#define S3W_CONN_INT_H

#include "conn.h"
#include "metrics.h"

/* conn.c */
/* The parse loop: hands what is buffered to the handler, as far as the
 * connection's state allows (called again when a blocked state clears). */
void conn_process(struct proxy_conn *c);
/* Ends the handler's exchange for a reason of the server's (a timeout). */
void conn_abort_exchange(struct proxy_conn *c, const char *code, int status);
void conn_count_timeout(struct proxy_conn *c, enum metrics_timeout t);

/* conn_bufs.c: the read buffer and head store, lent while a request is in
 * progress */
struct conn_bufs {
    struct conn_bufs *next; /* the worker's spares */
    size_t in_used;         /* most of in[] written since lent: wiped on return */
    struct http_head_store head;
    char in[PROXY_IN_CAP];
};

/* Gives c a read buffer and head store (a spare of its worker's, or a new
 * one) if it has none. false: out of memory. */
bool conn_bufs_get(struct proxy_conn *c);
/* Wipes what held the client's bytes and hands the buffers to the worker's
 * spares (or frees them past SPARES_MAX). Between requests only, or when
 * the connection is gone. */
void conn_bufs_put(struct proxy_conn *c);
/* Notes that in[0..end) held client bytes (wiped when given back). */
static inline void conn_bufs_note_used(struct proxy_conn *c, size_t end)
{
    if (end > c->bufs->in_used)
        c->bufs->in_used = end;
}

/* conn_write.c: raw bytes to the socket (after TLS, if any) */
int conn_write_rawv(struct proxy_conn *c, const uv_buf_t *in, size_t nv);
int conn_write_raw(struct proxy_conn *c, const void *p, size_t n);

#endif
