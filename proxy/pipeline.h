/*
 * pipeline.h - what happens to one request (issue 5, "Pipeline per
 * request"): route -> verify the signature -> resolve the identity -> build
 * the request context -> evaluate every authorization -> audit -> re-sign
 * -> stream to the upstream and back.
 */
#ifndef S3W_PROXY_PIPELINE_H
#define S3W_PROXY_PIPELINE_H

#include "proxy.h"
#include "s3map.h"

struct config;
struct audit;
struct upstream_state;
struct metrics;
struct oidc_keys;

extern const struct proxy_handler pl_handler;

/* State shared by the workers; the server's handler_ud. */
struct pl_shared {
    uv_mutex_t mu;
    struct config *current; /* guarded by mu; one reference held */
    struct audit *audit;
    /* each upstream's last answer and each credential set's manager
     * (upstream_state.h); a set without a manager takes its static keys
     * straight from the config */
    struct upstream_state *ups;
    /* counters for the admin listener's /metrics (metrics.h); NULL = none */
    struct metrics *metrics;
    /* upstream exchanges in flight per identity, across workers
     * (upstream.max_connections_per_identity) */
    struct ident_limit *ident;
    /* signing keys of OIDC providers that pin none (oidc_fetch.h); NULL =
     * only pinned keys verify */
    struct oidc_keys *oidc;
};

int pl_shared_init(struct pl_shared *s, struct config *cfg, struct audit *audit);
/* Installs a new snapshot (takes over the caller's reference); workers pick
 * it up on their next poke. */
void pl_shared_set_config(struct pl_shared *s, struct config *cfg);
void pl_shared_cleanup(struct pl_shared *s);

/* proxy_server hooks */
int pl_worker_init(struct proxy_worker *w);
void pl_worker_cleanup(struct proxy_worker *w);
void pl_worker_poke(struct proxy_worker *w);
/* worker_trim, which pl_worker_init installs: the spare exchanges that lay
 * unused since the last tick go, down to SPARES_MIN (spares.h); returns
 * how many are left */
size_t pl_worker_trim_spares(struct proxy_worker *w);

/* Routing, public for tests: splits a request into bucket and (still
 * percent-encoded) key path, using the Host header and the virtual-host
 * base domains. A bucket from the Host is folded to lower case into
 * vhost_bucket (*bucket then points there); a path-style one is the
 * path's, as sent. Returns 0, -1 for a malformed path, -2 for a Host value
 * that is not host[:port] (pipeline.c, host_name). */
#define PL_VHOST_BUCKET_CAP (S3MAP_MAX_BUCKET_BYTES + 1)
int pl_route(struct s3w_slice host, struct s3w_slice path,
             char *const *vhost_domains, size_t ndomains,
             char vhost_bucket[static PL_VHOST_BUCKET_CAP],
             struct s3w_slice *bucket, struct s3w_slice *key_raw);

/* Appends the (decoded) object key as the path it is sent upstream with:
 * sigv4_uri_encode per '/'-separated segment, and a segment that is exactly
 * "." or ".." with each dot as %2E, so that no hop that removes
 * dot-segments can make it another key. 0, or the s3w_buf error of a cap
 * hit (out then holds a partial path). Public for tests. */
int pl_key_path_encode(struct s3w_slice key, struct s3w_buf *out);

#endif
