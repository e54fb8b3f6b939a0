/*
 * metrics.h - counters and histograms for the admin listener's /metrics,
 * in the Prometheus text exposition format (version 0.0.4).
 *
 * Hot path: each worker owns a shard and is its only writer, so a request
 * costs a handful of relaxed atomic loads and stores on cache lines no other
 * thread writes (no locked instructions, no allocation). The admin thread
 * reads the shards while they change; relaxed atomics make that well
 * defined, and a scrape sees each counter at some recent value, which is
 * all Prometheus asks of a counter.
 *
 * Label sets that depend on the traffic (signature failure reasons, the
 * policy that denied) live in small mutex-guarded families shared by the
 * workers; they are touched only on refusals and are capped, so a flood of
 * bad requests can neither grow memory nor the number of series.
 */
#ifndef S3W_PROXY_METRICS_H
#define S3W_PROXY_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "bytes.h"

/* Histogram upper bounds, seconds (plus +Inf). Spans a cached small GET
 * (about a millisecond) to a multi-gigabyte transfer. */
#define METRICS_NBUCKETS 16
extern const double metrics_bucket_bounds[METRICS_NBUCKETS];

/* Request decisions, as the audit record names them. */
enum metrics_decision {
    METRICS_DEC_NONE = 0,     /* not evaluated: refused before authorization */
    METRICS_DEC_ALLOWED,
    METRICS_DEC_EXPLICIT_DENY,
    METRICS_DEC_IMPLICIT_DENY,
    METRICS_DEC_DENIED,       /* STS: the local STS refused the call */
    METRICS_DEC_PARTIAL,      /* DeleteObjects: some keys allowed, some denied */
    METRICS_NDEC
};

/* HTTP statuses with a series of their own; anything else is counted under
 * its class ("2xx" .. "5xx"). */
#define METRICS_NSTATUS 32

struct metrics_hist {
    _Atomic uint64_t bucket[METRICS_NBUCKETS + 1]; /* not cumulative; last = +Inf */
    _Atomic uint64_t sum_us;
};

/* Requests refused with 503 SlowDown to protect the rest, by reason. */
enum metrics_refusal {
    METRICS_REFUSE_IDENTITY_UPSTREAM = 0, /* upstream.max_connections_per_identity */
    METRICS_REFUSE_AUDIT,                 /* the audit record cannot be written */
    METRICS_REFUSE_COLLECT_BUDGET,        /* the worker's PX_COLLECT_BUDGET is reserved */
    METRICS_NREFUSE
};
extern const char *const metrics_refusal_names[METRICS_NREFUSE];

/* Client connections the server ended because the client was too slow. */
enum metrics_timeout {
    METRICS_TIMEOUT_HEADER = 0, /* limits.header_timeout_ms */
    METRICS_TIMEOUT_BODY_IDLE,  /* limits.body_idle_timeout_ms, mid-body */
    METRICS_TIMEOUT_BODY_RATE,  /* limits.min_body_rate */
    METRICS_TIMEOUT_SEND,       /* limits.send_timeout_ms: answers not read */
    METRICS_NTIMEOUT
};
extern const char *const metrics_timeout_names[METRICS_NTIMEOUT];

/* What a worker allocated because none of its spares (spares.h) was free. */
enum metrics_alloc {
    METRICS_ALLOC_EXCHANGE = 0, /* a request's state (struct px) */
    METRICS_ALLOC_READ_BUFFER,  /* a connection's read buffer */
    METRICS_ALLOC_HEAD_STORE,   /* the store a connection's request head is parsed into */
    METRICS_NALLOC
};
extern const char *const metrics_alloc_names[METRICS_NALLOC];

/* Upstream connection events and gauges: h1client.h's enum h1c_event and
 * enum h1c_gauge, kept by the worker's upstream pools straight into its
 * shard, per upstream: the upstream's slot in upstream_state.h's table,
 * which never moves (H1C_NEVENTS, H1C_NGAUGES and UPS_MAX are checked
 * where both sides are seen; this header pulls in neither). */
#define METRICS_NUPCONN 6
#define METRICS_NUPGAUGE 2
#define METRICS_MAX_UPSTREAMS 128
extern const char *const metrics_upconn_names[METRICS_NUPCONN];
extern const char *const metrics_upgauge_names[METRICS_NUPGAUGE];

/* One per worker; only that worker writes it. */
struct metrics_shard {
    _Atomic uint64_t *requests; /* [op][decision][status] */
    struct metrics_hist request_duration;
    struct metrics_hist upstream_duration;
    _Atomic uint64_t bytes_in, bytes_out;
    _Atomic uint64_t conns_total, conns_refused, conns_evicted, conns_refused_per_address;
    _Atomic uint64_t refused[METRICS_NREFUSE];
    _Atomic uint64_t timeouts[METRICS_NTIMEOUT];
    _Atomic uint64_t allocs[METRICS_NALLOC];
    _Atomic uint64_t upstream_conns[METRICS_MAX_UPSTREAMS][METRICS_NUPCONN];
    _Atomic uint64_t upstream_gauges[METRICS_MAX_UPSTREAMS][METRICS_NUPGAUGE]; /* +1/-1, wrapping */
    char pad[64];               /* keep the next shard's counters off this line */
};

/* A counter family with up to two traffic-dependent labels. */
#define METRICS_FAMILY_CAP 256
#define METRICS_LABEL_MAX 128
struct metrics_family_entry {
    char a[METRICS_LABEL_MAX];
    char b[32];
    uint64_t n;
};
struct metrics_family {
    uv_mutex_t mu;
    struct metrics_family_entry *e;
    size_t n;
};

struct metrics {
    struct metrics_shard *shards;
    size_t nshards;
    size_t nops;               /* s3map operations; +1 "sts", +1 "unknown", +1 "PostObject" */
    struct metrics_family sigfail;  /* reason */
    struct metrics_family denials;  /* policy, decision */
    _Atomic uint64_t reloads, reload_failures;
    _Atomic int64_t last_reload_ok_s; /* unix seconds; start counts as a load */
    _Atomic uint64_t sts_sessions;
    _Atomic int draining;
};

/* Allocates the shards (one per worker). NULL on allocation failure. */
struct metrics *metrics_new(size_t nshards);
void metrics_free(struct metrics *m);

/* Per request, on the worker that served it. `op_index` is the index in
 * s3map's operation table, METRICS_OP_STS, METRICS_OP_POST_OBJECT (a
 * browser upload: PutObject's entry under S3's name) or
 * METRICS_OP_UNKNOWN. */
#define METRICS_OP_POST_OBJECT ((size_t)-3)
#define METRICS_OP_STS ((size_t)-2)
#define METRICS_OP_UNKNOWN ((size_t)-1)
void metrics_request(const struct metrics *m, struct metrics_shard *s, size_t op_index,
                     enum metrics_decision d, int status, uint64_t duration_ns,
                     bool went_upstream, uint64_t upstream_ns, uint64_t bytes_in,
                     uint64_t bytes_out);

/* The decision name of the audit record ("Allowed", ...) as an index;
 * NULL is METRICS_DEC_NONE. */
enum metrics_decision metrics_decision_from_name(const char *name);

/* Refusals (any worker). */
void metrics_signature_failure(struct metrics *m, const char *reason);
void metrics_policy_denial(struct metrics *m, struct s3w_slice policy,
                           enum metrics_decision d);

static inline void metrics_add(_Atomic uint64_t *c, uint64_t v)
{
    atomic_fetch_add_explicit(c, v, memory_order_relaxed);
}
/* For single-writer counters (a worker's shard): no locked instruction. */
static inline void metrics_bump(_Atomic uint64_t *c, uint64_t v)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v,
                          memory_order_relaxed);
}

/* Figures owned by other modules, gathered by the caller of
 * metrics_render (the admin listener) at scrape time. */
struct audit;

/* One upstream's figures, labelled upstream="NAME". */
struct metrics_upstream {
    const char *name;
    int64_t answer_wall_ms;       /* its last answer, unix ms; 0 = never */
    bool have_creds_mgr;          /* false: static keys from the config */
    bool creds_valid;
    uint64_t creds_attempts, creds_successes;
    bool ready;                   /* what /readyz says of it */
    bool has_slot;                /* false: its pools count nowhere yet */
    size_t slot;                  /* in the shards' upstream arrays */
};

struct metrics_scrape {
    const char *version;
    uint64_t conns_active;
    const struct metrics_upstream *upstreams;
    size_t nupstreams;
    uint64_t audit_dropped;
    struct audit *audit;          /* its delivered sinks' figures; may be NULL */
    bool ready;
};

/* Appends the whole exposition to `out`. 0 or S3W_E_TOOBIG. */
int metrics_render(struct metrics *m, const struct metrics_scrape *x, struct s3w_buf *out);

#endif
