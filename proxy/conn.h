/*
 * conn.h - what a worker (server.c) asks of its connections (conn.c);
 * private to proxy/. The connection's contract with the request handler is
 * proxy.h.
 */
#ifndef S3W_PROXY_CONN_H
#define S3W_PROXY_CONN_H

#include <uv.h>

#include "proxy.h"

/* Accepts a connection from `server` that the worker has already counted
 * in srv->nconns, and starts reading its first request. On failure it is
 * un-counted and closed. */
void proxy_conn_accept(struct proxy_worker *w, uv_stream_t *server);

/* A stopping worker whose last connection is gone closes its own handles
 * (and runs srv->worker_cleanup once) so that its loop can end. Called by
 * the stop request and by each connection's last close callback. */
void proxy_worker_maybe_finish(struct proxy_worker *w);

/* Frees the worker's spare read buffers and head stores (its connections
 * are gone). */
void proxy_worker_free_spares(struct proxy_worker *w);

#endif
