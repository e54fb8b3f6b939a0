/*
 * admin.h - the admin listener: /healthz, /readyz and /metrics over plain
 * HTTP on its own address (loopback by default), served by one worker loop
 * of its own so a scrape never waits behind S3 traffic and S3 traffic never
 * waits behind a scrape.
 *
 *   GET /healthz  200 "ok" while the process runs (also while draining)
 *   GET /readyz   200 when the config is loaded, the proxy's upstream
 *                 credentials are valid, the upstream answered within the
 *                 window, the audit log is being written (audit.h) and
 *                 the server is not draining; 503 otherwise.
 *                 The body names each check.
 *   GET /metrics  Prometheus text format (metrics.h)
 *
 * A prober thread sends HEAD / to the upstream endpoint whenever nothing
 * has answered for half the window, so readiness does not depend on client
 * traffic (an idle replica that no client uses must still become ready).
 */
#ifndef S3W_PROXY_ADMIN_H
#define S3W_PROXY_ADMIN_H

#include <stdbool.h>
#include <stdint.h>

#include "bytes.h"

struct admin;
struct audit;
struct metrics;
struct pl_shared;
struct proxy_server;

struct admin_opts {
    const char *address;
    int port;                       /* 0 = ephemeral */
    uint32_t upstream_window_s;
    const char *version;
    struct metrics *metrics;
    struct pl_shared *shared;       /* current config, credentials */
    struct proxy_server *s3;        /* the S3 server: open connections */
    struct audit *audit;
};

/* Binds and starts the listener and the prober. 0 or a negative errno
 * (printed). */
int admin_start(const struct admin_opts *o, struct admin **out);

/* The bound port (after admin_start). */
int admin_port(const struct admin *a);

/* SIGHUP: a new readiness window. */
void admin_set_window(struct admin *a, uint32_t upstream_window_s);

/* Stops the listener and the prober, then frees. NULL is a no-op. */
void admin_stop(struct admin *a);

/* The /readyz verdict and its report (one line per check); exposed for
 * tests. */
bool admin_ready(struct admin *a, struct s3w_buf *report);

#endif
