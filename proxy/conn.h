/*
 * conn.h - what a worker (server.c) asks of its connections (conn.c);
 * private to proxy/. The connection's contract with the request handler is
 * proxy.h.
 */
#ifndef S3W_PROXY_CONN_H
#define S3W_PROXY_CONN_H

#include <uv.h>

#include "proxy.h"

/* Refused connections (max_connections, max_connections_per_address)
 * lingering at once per worker, answered and drained; past it they are
 * closed without an answer. */
#define PROXY_REFUSED_LINGER_MAX 256

/* server.c: counts a connection refused at max_connections_per_address
 * (its metric, and the WARN line once per interval). */
void proxy_server_refused_per_address(struct proxy_worker *w, const char *addr);

/* Accepts a connection from `server` that the worker has already counted
 * in srv->nconns, and starts reading its first request. On failure it is
 * un-counted and closed. make_room: the server is at max_connections, and
 * the worker's connection idle the longest is to be closed for it
 * (proxy_worker_evict_idle) once the new one is known not to be refused
 * itself (max_connections_per_address). */
void proxy_conn_accept(struct proxy_worker *w, uv_stream_t *server, bool make_room);

/* A stopping worker whose last connection is gone closes its own handles
 * (and runs srv->worker_cleanup once) so that its loop can end. Called by
 * the stop request and by each connection's last close callback. */
void proxy_worker_maybe_finish(struct proxy_worker *w);

/* For the request handler, once it knows that the request in progress
 * carried, or may have carried, a secret in its head (a session token:
 * X-Amz-Security-Token in the query, x-amz-security-token among the
 * headers; exchange.c wipes after any query): wipes the request's
 * bytes that are still in the connection's read buffer after the parser
 * consumed them. Only the consumed bytes: what is buffered beyond (the
 * body, pipelined requests) is left as it is. Callable at any time from
 * on_head on (the head is consumed before on_head runs); costs a memset of
 * at most PROXY_IN_CAP bytes. The parsed copy of the head (the parser's
 * head store, which c->req points into) is wiped when the parser starts
 * the next request or gives the store back (http_parser_wipe_at_next):
 * c->req stays valid until then. */
void proxy_conn_wipe_consumed(struct proxy_conn *c);

/* The spares timer's tick, every SPARES_TICK_MS while it runs: frees the
 * spare read buffers and head stores that lay unused since the last tick,
 * down to SPARES_MIN (spares.h), has the handler trim its own
 * (worker_trim), and stops the timer once neither holds more than
 * SPARES_MIN. On the worker's thread. */
void proxy_worker_trim_spares(struct proxy_worker *w);

/* At max_connections: the worker's connection idle the longest (waiting
 * for a head, nothing of it seen, its answers written), which is closed so
 * that a new one can be taken (proxy_worker_evict_idle); NULL when it has
 * none. The closed one counts in the server's nconns until its handles
 * have closed. */
struct proxy_conn *proxy_worker_idle_victim(struct proxy_worker *w);
/* Whether another worker has an idle connection not yet asked for (w has
 * none of its own), and the count of connections is not more than a few
 * over max_connections: then w takes the newcomer and
 * proxy_worker_evict_idle asks that worker to close one. */
bool proxy_worker_idle_elsewhere(const struct proxy_worker *w);
/* Closes w's connection idle the longest, or, with none, asks a worker
 * that has one to close it (its wake); when none can be asked any more,
 * w's newest connection but `newcomer` closes after its exchange. */
void proxy_worker_evict_idle(struct proxy_worker *w, const struct proxy_conn *newcomer);
/* On w's wake: closes as many of its idle connections as other workers
 * asked it to (as far as it still has them). */
void proxy_worker_answer_evictions(struct proxy_worker *w);

/* Frees the worker's spare read buffers and head stores (its connections
 * are gone). */
void proxy_worker_free_spares(struct proxy_worker *w);

#endif
