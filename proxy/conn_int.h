/* conn_int.h - what conn.c, conn_write.c, conn_bufs.c and conn_room.c
 * share about a client connection; nothing outside those files (and their
 * tests) includes it. */
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

/* conn_room.c: the worker's idle list (its rule there) */
/* Lists c, or takes it out, as its state now says. */
void conn_idle_update(struct proxy_conn *c);
/* Takes c out (a head begun, or closing). */
void conn_idle_unlist(struct proxy_conn *c);

/* conn_bufs.c: a connection's read buffer, lent while bytes are to be read
 * or are buffered, and its head store, lent from a request's first byte to
 * the end of its exchange (a head that has partly come holds only the
 * store: its bytes are parsed into it as they arrive). Both begin with
 * their link in the worker's spares (struct conn_spares, proxy.h). */
struct conn_bufs {
    struct conn_bufs *next;
    size_t in_used;         /* most of in[] written since lent: wiped on return */
    char in[PROXY_IN_CAP];
};

struct conn_heads {
    struct conn_heads *next;
    struct http_head_store head;
};

/* Gives c a read buffer and a head store (its worker's spares, or new ones)
 * where it has none. false: out of memory. */
bool conn_bufs_get(struct proxy_conn *c);
/* Wipes what held the client's bytes and hands both to the worker's spares
 * (or frees them past SPARES_MAX). Between requests only, or when the
 * connection is gone. */
void conn_bufs_put(struct proxy_conn *c);
/* The same for the read buffer alone, when nothing is buffered in it: a
 * head that has partly come keeps its parsed bytes in the head store. */
void conn_bufs_put_in(struct proxy_conn *c);
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
