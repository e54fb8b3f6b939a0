/* conn_int.h - what conn.c and conn_write.c share about a client
 * connection; nothing outside those two files includes it. */
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

/* conn_write.c: raw bytes to the socket (after TLS, if any) */
int conn_write_rawv(struct proxy_conn *c, const uv_buf_t *in, size_t nv);
int conn_write_raw(struct proxy_conn *c, const void *p, size_t n);

#endif
