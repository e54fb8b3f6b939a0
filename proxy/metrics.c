/* metrics.c - see metrics.h. Exposition format: Prometheus "Exposition
 * formats", text format 0.0.4 (HELP and TYPE lines, then samples; label
 * values escape backslash, double quote and newline; histograms as
 * cumulative _bucket{le} series plus _sum and _count). */
#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "audit_sink.h"
#include "h1client.h"
#include "s3map.h"

const double metrics_bucket_bounds[METRICS_NBUCKETS] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
    0.5, 1, 2.5, 5, 10, 30, 60, 120,
};

static const char *const dec_names[METRICS_NDEC] = {
    "none", "Allowed", "ExplicitlyDenied", "ImplicitlyDenied", "Denied", "PartiallyAllowed",
};

/* Statuses S3 and s3warden answer with; the last five slots are the
 * classes for anything else. */
static const int status_codes[] = {
    200, 201, 204, 206, 301, 302, 304, 307, 400, 401, 403, 404, 405, 408,
    409, 411, 412, 413, 416, 429, 431, 500, 501, 502, 503, 504, 505,
};
#define NCODES (sizeof(status_codes) / sizeof(status_codes[0]))
_Static_assert(NCODES + 5 == METRICS_NSTATUS, "status table and METRICS_NSTATUS disagree");

static size_t status_index(int status)
{
    for (size_t i = 0; i < NCODES; i++)
        if (status_codes[i] == status)
            return i;
    /* a status outside 100..599 never reaches a client; count it as a
     * server-side failure rather than lose it */
    if (status < 100 || status > 599)
        return NCODES + 4;
    return NCODES + (size_t)(status / 100 - 1);
}

static void status_label(size_t i, char out[8])
{
    if (i < NCODES)
        snprintf(out, 8, "%d", status_codes[i]);
    else
        snprintf(out, 8, "%cxx", (char)('1' + (i - NCODES) % 5)); /* "1xx".."5xx" */
}

static size_t nslots(const struct metrics *m)
{
    return (m->nops + 3) * METRICS_NDEC * METRICS_NSTATUS;
}

struct metrics *metrics_new(size_t nshards)
{
    struct metrics *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->nops = s3map_op_count();
    m->nshards = nshards;
    m->shards = calloc(nshards ? nshards : 1, sizeof(*m->shards));
    m->sigfail.e = calloc(METRICS_FAMILY_CAP, sizeof(*m->sigfail.e));
    m->denials.e = calloc(METRICS_FAMILY_CAP, sizeof(*m->denials.e));
    bool ok = m->shards && m->sigfail.e && m->denials.e;
    for (size_t i = 0; ok && i < nshards; i++) {
        m->shards[i].requests = calloc(nslots(m), sizeof(_Atomic uint64_t));
        ok = m->shards[i].requests != NULL;
    }
    uv_mutex_init(&m->sigfail.mu);
    uv_mutex_init(&m->denials.mu);
    atomic_store(&m->last_reload_ok_s, (int64_t)time(NULL));
    if (!ok) {
        metrics_free(m);
        return NULL;
    }
    return m;
}

void metrics_free(struct metrics *m)
{
    if (!m)
        return;
    for (size_t i = 0; m->shards && i < m->nshards; i++)
        free(m->shards[i].requests);
    free(m->shards);
    free(m->sigfail.e);
    free(m->denials.e);
    uv_mutex_destroy(&m->sigfail.mu);
    uv_mutex_destroy(&m->denials.mu);
    free(m);
}

enum metrics_decision metrics_decision_from_name(const char *name)
{
    if (!name)
        return METRICS_DEC_NONE;
    for (int i = 1; i < METRICS_NDEC; i++)
        if (strcmp(name, dec_names[i]) == 0)
            return (enum metrics_decision)i;
    return METRICS_DEC_NONE;
}

static void hist_observe(struct metrics_hist *h, uint64_t ns)
{
    double s = (double)ns / 1e9;
    size_t b = 0;
    while (b < METRICS_NBUCKETS && s > metrics_bucket_bounds[b])
        b++;
    metrics_bump(&h->bucket[b], 1);
    metrics_bump(&h->sum_us, ns / 1000);
}

void metrics_request(const struct metrics *m, struct metrics_shard *s, size_t op_index,
                     enum metrics_decision d, int status, uint64_t duration_ns,
                     bool went_upstream, uint64_t upstream_ns, uint64_t bytes_in,
                     uint64_t bytes_out)
{
    if (!m || !s)
        return;
    size_t op = op_index == METRICS_OP_STS           ? m->nops
                : op_index == METRICS_OP_POST_OBJECT ? m->nops + 2
                : op_index < m->nops                 ? op_index
                                                     : m->nops + 1;
    if ((unsigned)d >= METRICS_NDEC)
        d = METRICS_DEC_NONE;
    size_t slot = (op * METRICS_NDEC + (size_t)d) * METRICS_NSTATUS + status_index(status);
    metrics_bump(&s->requests[slot], 1);
    hist_observe(&s->request_duration, duration_ns);
    if (went_upstream)
        hist_observe(&s->upstream_duration, upstream_ns);
    metrics_bump(&s->bytes_in, bytes_in);
    metrics_bump(&s->bytes_out, bytes_out);
}

static size_t family_find(const struct metrics_family *f, struct s3w_slice a, const char *b)
{
    size_t i;
    for (i = 0; i < f->n; i++)
        if (strlen(f->e[i].a) == a.len && memcmp(f->e[i].a, a.ptr, a.len) == 0 &&
            strcmp(f->e[i].b, b) == 0)
            break;
    return i;
}

/* Slots kept at the end of a family for ("other", b): one per value b can
 * take - a denial's decision (two), a signature failure's "" (one) - with
 * room to spare. */
#define METRICS_FAMILY_OTHER 5

/* Adds one to the entry (a, b), creating it. The last METRICS_FAMILY_OTHER
 * slots are kept for ("other", b): past that many distinct labels, new ones
 * are counted there, so the number of series stays bounded. */
static void family_inc(struct metrics_family *f, struct s3w_slice a, const char *b)
{
    if (a.len >= METRICS_LABEL_MAX) {
        /* cut on a character boundary: the first byte left out must not
         * be a UTF-8 continuation byte (10xxxxxx) */
        a.len = METRICS_LABEL_MAX - 1;
        while (a.len > 0 && ((unsigned char)a.ptr[a.len] & 0xc0) == 0x80)
            a.len--;
    }
    uv_mutex_lock(&f->mu);
    size_t i = family_find(f, a, b);
    if (i == f->n && f->n >= METRICS_FAMILY_CAP - METRICS_FAMILY_OTHER) {
        a = S3W_SLICE_LIT("other");
        i = family_find(f, a, b);
    }
    if (i == f->n) {
        if (f->n == METRICS_FAMILY_CAP) {
            uv_mutex_unlock(&f->mu);
            return;
        }
        memcpy(f->e[i].a, a.ptr, a.len);
        f->e[i].a[a.len] = 0;
        snprintf(f->e[i].b, sizeof(f->e[i].b), "%s", b);
        f->n++;
    }
    f->e[i].n++;
    uv_mutex_unlock(&f->mu);
}

void metrics_signature_failure(struct metrics *m, const char *reason)
{
    if (m)
        family_inc(&m->sigfail, s3w_slice_cstr(reason ? reason : "unknown"), "");
}

void metrics_policy_denial(struct metrics *m, struct s3w_slice policy, enum metrics_decision d)
{
    if (!m)
        return;
    if (policy.len == 0)
        policy = S3W_SLICE_LIT("none");
    family_inc(&m->denials, policy, dec_names[(unsigned)d < METRICS_NDEC ? d : 0]);
}

/* ---- rendering ------------------------------------------------------------ */
static uint64_t ld(const _Atomic uint64_t *p)
{
    return atomic_load_explicit(p, memory_order_relaxed);
}

static int head(struct s3w_buf *o, const char *name, const char *type, const char *help)
{
    return s3w_buf_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The length of the well-formed UTF-8 character at p (RFC 3629, section
 * 4: no overlong forms, no surrogates, nothing past U+10FFFF), 0 if there
 * is none. p is NUL-terminated, so reading up to the NUL is safe. */
static size_t utf8_char_len(const unsigned char *p)
{
    unsigned char c = p[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        lo = c == 0xe0 ? 0xa0 : 0x80;
        hi = c == 0xed ? 0x9f : 0xbf;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        lo = c == 0xf0 ? 0x90 : 0x80;
        hi = c == 0xf4 ? 0x8f : 0xbf;
    } else {
        return 0;
    }
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    return n;
}

/* A label value: \ " and newline escaped (the format's only escapes).
 * The format requires UTF-8 and a scraper refuses the whole exposition
 * over one bad byte; names come from the config, which does not check
 * them, so a byte that is not UTF-8 is written as U+FFFD. */
static int label_value(struct s3w_buf *o, const char *v)
{
    int e = 0;
    while (*v && e == 0) {
        size_t n = utf8_char_len((const unsigned char *)v);
        if (n == 0) {
            e = s3w_buf_append_cstr(o, "\xef\xbf\xbd");
            v++;
        } else if (*v == '\\' || *v == '"') {
            e = s3w_buf_append_char(o, '\\') | s3w_buf_append_char(o, *v);
            v++;
        } else if (*v == '\n') {
            e = s3w_buf_append_cstr(o, "\\n");
            v++;
        } else {
            e = s3w_buf_append(o, v, n);
            v += n;
        }
    }
    return e;
}

static int scalar(struct s3w_buf *o, const char *name, const char *type, const char *help,
                  uint64_t v)
{
    return head(o, name, type, help) | s3w_buf_printf(o, "%s %llu\n", name, (unsigned long long)v);
}

/* The delivered audit sinks (audit.sinks), one series each by name. */
static int render_sinks(struct s3w_buf *o, struct audit *a)
{
    static const struct {
        const char *name, *type, *help;
    } fam[] = {
        { "s3warden_audit_sink_delivered_batches_total", "counter",
          "Batches of audit records a sink's receiver took." },
        { "s3warden_audit_sink_pending_bytes", "gauge",
          "Audit records spooled for a sink, not yet delivered (bytes)." },
        { "s3warden_audit_sink_oldest_pending_seconds", "gauge",
          "Age of the oldest audit record a sink has not delivered (0: none)." },
        { "s3warden_audit_sink_up", "gauge", "1 when a sink's last delivery succeeded." },
    };
    size_t n = audit_sink_count(a);
    int e = 0;
    for (size_t f = 0; f < sizeof(fam) / sizeof(fam[0]); f++) {
        e |= head(o, fam[f].name, fam[f].type, fam[f].help);
        for (size_t i = 0; i < n; i++) {
            struct audit_sink_stats st;
            const char *sink = audit_sink_stats_at(a, i, &st);
            e |= s3w_buf_printf(o, "%s{sink=\"", fam[f].name) | label_value(o, sink);
            if (f == 0)
                e |= s3w_buf_printf(o, "\"} %llu\n", (unsigned long long)st.delivered_batches);
            else if (f == 1)
                e |= s3w_buf_printf(o, "\"} %llu\n", (unsigned long long)st.pending_bytes);
            else if (f == 2)
                e |= s3w_buf_printf(o, "\"} %.3f\n", st.oldest_pending_s);
            else
                e |= s3w_buf_printf(o, "\"} %d\n", st.up ? 1 : 0);
        }
    }
    return e;
}

static int render_hist(struct s3w_buf *o, const struct metrics *m, const char *name,
                       const char *help, size_t offset)
{
    uint64_t b[METRICS_NBUCKETS + 1] = { 0 }, sum_us = 0;
    for (size_t i = 0; i < m->nshards; i++) {
        const struct metrics_hist *h =
            (const struct metrics_hist *)((const char *)&m->shards[i] + offset);
        for (size_t j = 0; j <= METRICS_NBUCKETS; j++)
            b[j] += ld(&h->bucket[j]);
        sum_us += ld(&h->sum_us);
    }
    int e = head(o, name, "histogram", help);
    uint64_t cum = 0;
    for (size_t j = 0; j < METRICS_NBUCKETS; j++) {
        cum += b[j];
        e |= s3w_buf_printf(o, "%s_bucket{le=\"%g\"} %llu\n", name, metrics_bucket_bounds[j],
                            (unsigned long long)cum);
    }
    cum += b[METRICS_NBUCKETS];
    e |= s3w_buf_printf(o, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
    e |= s3w_buf_printf(o, "%s_sum %llu.%06llu\n", name, (unsigned long long)(sum_us / 1000000),
                        (unsigned long long)(sum_us % 1000000));
    e |= s3w_buf_printf(o, "%s_count %llu\n", name, (unsigned long long)cum);
    return e;
}

static uint64_t shard_sum(const struct metrics *m, size_t offset)
{
    uint64_t t = 0;
    for (size_t i = 0; i < m->nshards; i++)
        t += ld((const _Atomic uint64_t *)((const char *)&m->shards[i] + offset));
    return t;
}

static int render_family(struct s3w_buf *o, struct metrics_family *f, const char *name,
                         const char *la, const char *lb)
{
    int e = 0;
    uv_mutex_lock(&f->mu);
    for (size_t i = 0; i < f->n && e == 0; i++) {
        e |= s3w_buf_printf(o, "%s{%s=\"", name, la);
        e |= label_value(o, f->e[i].a);
        if (lb) {
            e |= s3w_buf_printf(o, "\",%s=\"", lb);
            e |= label_value(o, f->e[i].b);
        }
        e |= s3w_buf_printf(o, "\"} %llu\n", (unsigned long long)f->e[i].n);
    }
    uv_mutex_unlock(&f->mu);
    return e;
}

const char *const metrics_refusal_names[METRICS_NREFUSE] = {
    [METRICS_REFUSE_IDENTITY_UPSTREAM] = "identity_upstream_limit",
    [METRICS_REFUSE_AUDIT] = "audit_unwritable",
    [METRICS_REFUSE_COLLECT_BUDGET] = "body_collect_budget",
};
const char *const metrics_timeout_names[METRICS_NTIMEOUT] = {
    [METRICS_TIMEOUT_HEADER] = "header",
    [METRICS_TIMEOUT_BODY_IDLE] = "body_idle",
    [METRICS_TIMEOUT_BODY_RATE] = "body_rate",
    [METRICS_TIMEOUT_SEND] = "send",
};

_Static_assert(METRICS_NUPCONN == H1C_NEVENTS, "a name for each upstream connection event");
const char *const metrics_upconn_names[METRICS_NUPCONN] = {
    [H1C_EV_OPENED] = "opened",
    [H1C_EV_REUSED] = "reused",
    [H1C_EV_RETRIED] = "retried",
    [H1C_EV_PROTOCOL_CLOSED] = "protocol_error",
    [H1C_EV_TLS_RESUMED] = "tls_resumed",
    [H1C_EV_COOLED] = "tls_buffers_freed",
};

_Static_assert(METRICS_NUPGAUGE == H1C_NGAUGES, "a name for each upstream connection gauge");
const char *const metrics_upgauge_names[METRICS_NUPGAUGE] = {
    [H1C_GAUGE_OPEN] = "open",
    [H1C_GAUGE_IDLE] = "idle",
};

const char *const metrics_alloc_names[METRICS_NALLOC] = {
    [METRICS_ALLOC_EXCHANGE] = "exchange",
    [METRICS_ALLOC_READ_BUFFER] = "read_buffer",
    [METRICS_ALLOC_HEAD_STORE] = "head_store",
};

/* A counter family with one fixed label: every value is written, zeros too,
 * so that a rate() over it exists before the first event. */
static int render_fixed(struct s3w_buf *o, const struct metrics *m, const char *name,
                        const char *help, const char *label, size_t off,
                        const char *const *names, size_t n)
{
    int e = head(o, name, "counter", help);
    for (size_t k = 0; k < n && e == 0; k++) {
        uint64_t v = shard_sum(m, off + k * sizeof(_Atomic uint64_t));
        e |= s3w_buf_printf(o, "%s{%s=\"%s\"} %llu\n", name, label, names[k],
                            (unsigned long long)v);
    }
    return e;
}

/* The per-upstream families, one sample per upstream (label upstream="NAME"). */
static int upstream_family(struct s3w_buf *o, const struct metrics_scrape *x, const char *name,
                           const char *type, const char *help, int which)
{
    int e = head(o, name, type, help);
    for (size_t i = 0; i < x->nupstreams; i++) {
        const struct metrics_upstream *u = &x->upstreams[i];
        uint64_t att = u->creds_attempts, ok = u->creds_successes;
        e |= s3w_buf_printf(o, "%s{upstream=\"", name);
        e |= label_value(o, u->name);
        switch (which) {
        case 0: /* the wall-clock moment of the answer, stored with it */
            e |= s3w_buf_printf(o, "\"} %lld.%03lld\n", (long long)(u->answer_wall_ms / 1000),
                                (long long)(u->answer_wall_ms % 1000));
            break;
        case 1:
            e |= s3w_buf_printf(o, "\"} %llu\n", (unsigned long long)ok);
            break;
        case 2:
            e |= s3w_buf_printf(o, "\"} %llu\n", (unsigned long long)(att > ok ? att - ok : 0));
            break;
        case 3:
            e |= s3w_buf_printf(o, "\"} %d\n", !u->have_creds_mgr || u->creds_valid);
            break;
        default:
            e |= s3w_buf_printf(o, "\"} %d\n", u->ready);
            break;
        }
    }
    return e;
}

/* A per-upstream array of the shards, by a second label: one sample per
 * upstream and name (an upstream no worker has sent to yet shows 0). */
static int upstream_pool_family(struct s3w_buf *o, const struct metrics *m,
                                const struct metrics_scrape *x, const char *name, const char *type,
                                const char *help, const char *label, size_t off, size_t stride,
                                const char *const *names, size_t n)
{
    int e = head(o, name, type, help);
    for (size_t i = 0; i < x->nupstreams && e == 0; i++) {
        const struct metrics_upstream *u = &x->upstreams[i];
        for (size_t k = 0; k < n; k++) {
            uint64_t v = u->has_slot && u->slot < METRICS_MAX_UPSTREAMS
                             ? shard_sum(m, off + (u->slot * stride + k) * sizeof(_Atomic uint64_t))
                             : 0;
            e |= s3w_buf_printf(o, "%s{upstream=\"", name);
            e |= label_value(o, u->name);
            e |= s3w_buf_printf(o, "\",%s=\"%s\"} %llu\n", label, names[k], (unsigned long long)v);
        }
    }
    return e;
}

static int render_upstreams(struct s3w_buf *o, const struct metrics *m,
                            const struct metrics_scrape *x)
{
    int e = upstream_pool_family(
        o, m, x, "s3warden_upstream_connection_events_total", "counter",
        "What the upstream connection pools did, per upstream: connections opened, requests "
        "sent on a kept-alive connection (reused), sent again on a fresh one after a reused "
        "one failed before any answer byte (retried), connections closed for an answer that "
        "broke HTTP/1.1 framing (protocol_error), TLS sessions resumed, and idle TLS "
        "connections that freed their record buffers.",
        "event", offsetof(struct metrics_shard, upstream_conns), METRICS_NUPCONN,
        metrics_upconn_names, METRICS_NUPCONN);
    e |= upstream_pool_family(
        o, m, x, "s3warden_upstream_connections", "gauge",
        "Upstream connections of every worker's pools, per upstream: open (busy, idle or "
        "being opened) and, of those, idle.",
        "state", offsetof(struct metrics_shard, upstream_gauges), METRICS_NUPGAUGE,
        metrics_upgauge_names, METRICS_NUPGAUGE);
    e |= upstream_family(o, x, "s3warden_credential_refreshes_total", "counter",
                            "Successful fetches of the proxy's own credentials toward an upstream.", 1);
    e |= upstream_family(o, x, "s3warden_credential_refresh_failures_total", "counter",
                         "Failed fetches of the proxy's own credentials toward an upstream.", 2);
    e |= upstream_family(o, x, "s3warden_credentials_valid", "gauge",
                         "1 when the proxy holds valid credentials toward the upstream.", 3);
    e |= upstream_family(o, x, "s3warden_upstream_last_answer_timestamp_seconds", "gauge",
                         "When the upstream last answered a request or a probe (unix time; 0 = never).", 0);
    e |= upstream_family(o, x, "s3warden_upstream_ready", "gauge",
                         "1 when /readyz counts the upstream as answering with valid credentials.", 4);
    return e;
}

int metrics_render(struct metrics *m, const struct metrics_scrape *x, struct s3w_buf *o)
{
    int e = head(o, "s3warden_build_info", "gauge", "The running s3warden's version; always 1.");
    e |= s3w_buf_append_cstr(o, "s3warden_build_info{version=\"");
    e |= label_value(o, x->version ? x->version : "");
    e |= s3w_buf_append_cstr(o, "\"} 1\n");

    e |= head(o, "s3warden_requests_total", "counter",
              "Requests answered, by S3 operation, authorization decision and HTTP status.");
    size_t per_op = METRICS_NDEC * METRICS_NSTATUS;
    for (size_t op = 0; op < m->nops + 3 && e == 0; op++) {
        const char *opname = op == m->nops       ? "sts"
                             : op == m->nops + 1 ? "unknown"
                             : op == m->nops + 2 ? "PostObject"
                                                 : s3map_op_at(op)->name;
        for (size_t k = 0; k < per_op; k++) {
            uint64_t v = 0;
            size_t slot = op * per_op + k;
            for (size_t i = 0; i < m->nshards; i++)
                v += ld(&m->shards[i].requests[slot]);
            if (v == 0)
                continue;
            char st[8];
            status_label(k % METRICS_NSTATUS, st);
            e |= s3w_buf_printf(o, "s3warden_requests_total{operation=\"%s\",decision=\"%s\","
                                "status=\"%s\"} %llu\n", opname, dec_names[k / METRICS_NSTATUS],
                                st, (unsigned long long)v);
        }
    }
    e |= render_hist(o, m, "s3warden_request_duration_seconds",
                     "Time from a request's head to the end of its response.",
                     offsetof(struct metrics_shard, request_duration));
    e |= render_hist(o, m, "s3warden_upstream_duration_seconds",
                     "Time from sending a request upstream to the end of the upstream's response.",
                     offsetof(struct metrics_shard, upstream_duration));
    e |= scalar(o, "s3warden_received_bytes_total", "counter",
                "Bytes received from clients (request heads and bodies).",
                shard_sum(m, offsetof(struct metrics_shard, bytes_in)));
    e |= scalar(o, "s3warden_sent_bytes_total", "counter", "Bytes sent to clients.",
                shard_sum(m, offsetof(struct metrics_shard, bytes_out)));
    e |= scalar(o, "s3warden_connections_active", "gauge",
                "Client connections open on the S3 listener.", x->conns_active);
    e |= scalar(o, "s3warden_connections_total", "counter",
                "Client connections accepted on the S3 listener.",
                shard_sum(m, offsetof(struct metrics_shard, conns_total)));
    e |= scalar(o, "s3warden_connections_refused_total", "counter",
                "Client connections refused (503 SlowDown, then closed) because "
                "limits.max_connections was reached.",
                shard_sum(m, offsetof(struct metrics_shard, conns_refused)));
    e |= scalar(o, "s3warden_connections_refused_per_address_total", "counter",
                "Client connections refused (503 SlowDown, then closed) because their source "
                "address held limits.max_connections_per_address.",
                shard_sum(m, offsetof(struct metrics_shard, conns_refused_per_address)));
    e |= scalar(o, "s3warden_connections_evicted_total", "counter",
                "Idle keep-alive connections closed, the longest idle first, to accept "
                "a new one at limits.max_connections.",
                shard_sum(m, offsetof(struct metrics_shard, conns_evicted)));
    e |= render_fixed(o, m, "s3warden_requests_refused_total",
                      "Requests refused with 503 SlowDown to protect the others, by reason.",
                      "reason", offsetof(struct metrics_shard, refused), metrics_refusal_names,
                      METRICS_NREFUSE);
    e |= render_fixed(o, m, "s3warden_client_timeouts_total",
                      "Client connections ended because the client was too slow, by what it was slow at.",
                      "reason", offsetof(struct metrics_shard, timeouts), metrics_timeout_names,
                      METRICS_NTIMEOUT);
    e |= render_fixed(o, m, "s3warden_worker_allocations_total",
                      "Request states and connection read buffers a worker allocated because none "
                      "of its spares was free: under a steady load, more requests in flight per "
                      "worker than the 256 spares it keeps; between bursts of more than 32 that "
                      "lie 2 s apart, the spares trimmed to 32.",
                      "kind", offsetof(struct metrics_shard, allocs), metrics_alloc_names,
                      METRICS_NALLOC);

    e |= head(o, "s3warden_signature_failures_total", "counter",
              "Requests refused by signature verification, by the S3 error code returned.");
    e |= render_family(o, &m->sigfail, "s3warden_signature_failures_total", "reason", NULL);
    e |= head(o, "s3warden_policy_denials_total", "counter",
              "Requests denied by policy evaluation, by the first deciding policy.");
    e |= render_family(o, &m->denials, "s3warden_policy_denials_total", "policy", "decision");

    e |= render_upstreams(o, m, x);
    e |= scalar(o, "s3warden_config_reloads_total", "counter",
                "Config reloads applied (SIGHUP).", ld(&m->reloads));
    e |= scalar(o, "s3warden_config_reload_failures_total", "counter",
                "Config reloads refused; the running config stayed.", ld(&m->reload_failures));
    e |= scalar(o, "s3warden_config_last_reload_success_timestamp_seconds", "gauge",
                "When the running config was loaded (unix time).",
                (uint64_t)atomic_load(&m->last_reload_ok_s));
    e |= scalar(o, "s3warden_sts_sessions_issued_total", "counter",
                "Sessions issued by the local STS (AssumeRole, AssumeRoleWithWebIdentity and "
                "GetSessionToken answered 200).",
                ld(&m->sts_sessions));
    e |= scalar(o, "s3warden_audit_dropped_total", "counter",
                "Audit records never written: refused requests' records past the backlog, and "
                "records unwritten at exit with the output failing.", x->audit_dropped);
    e |= render_sinks(o, x->audit);
    e |= scalar(o, "s3warden_ready", "gauge", "1 when /readyz answers 200.", x->ready);
    e |= scalar(o, "s3warden_draining", "gauge", "1 after SIGTERM/SIGINT, while in-flight requests finish.",
                (uint64_t)atomic_load(&m->draining));
    return e ? S3W_E_TOOBIG : 0;
}
