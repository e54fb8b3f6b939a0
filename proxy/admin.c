/* admin.c - see admin.h. The listener reuses the S3 server's connection
 * machinery (server.c: strict HTTP/1.1 parsing, timeouts, keep-alive) with
 * one worker and a handler of its own. */
#include "admin.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "audit.h"
#include "config.h"
#include "creds_fetch.h"
#include "log.h"
#include "metrics.h"
#include "pipeline.h"
#include "proxy.h"
#include "s3err.h"
#include "sigmask.h"
#include "upstream_state.h"

#define ADMIN_METRICS_MAX (16u * 1024 * 1024) /* bounded: series are capped */

struct admin {
    struct proxy_server srv;
    struct admin_opts o;
    char version[64];
    _Atomic uint32_t window_s;
    uv_thread_t prober;
    uv_mutex_t mu;
    uv_cond_t cv;
    atomic_bool stop;
    bool prober_started;
    bool poked;           /* guarded by mu: admin_set_window asked for a look */
};

/* ---- readiness ---------------------------------------------------------------- */
/* The running config, referenced (NULL before the first). */
static struct config *current_config(struct admin *a)
{
    struct pl_shared *sh = a->o.shared;
    uv_mutex_lock(&sh->mu);
    struct config *cfg = sh->current ? config_ref(sh->current) : NULL;
    uv_mutex_unlock(&sh->mu);
    return cfg;
}

/* What /readyz says of one upstream (its credentials, then its answers),
 * and its metrics row. A config with only the legacy "upstream" keeps the
 * lines it always had ("credentials: ...", "upstream: ..."); with named
 * upstreams each line names its upstream. True when the upstream does not
 * keep the replica from being ready: it answers with valid credentials,
 * or it is optional, or nothing uses it. */
static bool upstream_ready(struct admin *a, const struct config *cfg,
                           const struct config_upstream *up, struct s3w_buf *r,
                           struct metrics_upstream *row)
{
    struct upstream_state *us = a->o.shared->ups;
    bool legacy = cfg->nupstreams == 1 && strcmp(up->name, "default") == 0;
    char cl[96], ul[96];
    snprintf(cl, sizeof(cl), legacy ? "credentials" : "credentials %s", up->name);
    snprintf(ul, sizeof(ul), legacy ? "upstream" : "upstream %s", up->name);
    bool used = ups_in_use(cfg, up);
    bool optional = up->readiness == CONFIG_READINESS_OPTIONAL;
    const char *tag = optional ? " [optional]" : used ? "" : " [unused]";
    size_t slot = ups_slot(us, up->name); /* UPS_MAX: none */
    *row = (struct metrics_upstream){ .name = up->name, .has_slot = slot < UPS_MAX, .slot = slot };

    bool ok = true;
    struct creds_mgr *m = ups_creds_for(us, cfg, up);
    row->have_creds_mgr = m != NULL;
    if (m) {
        struct creds_mgr_status cs;
        creds_mgr_get_status(m, &cs);
        row->creds_valid = cs.valid;
        row->creds_attempts = cs.attempts;
        row->creds_successes = cs.successes;
        if (cs.valid) {
            s3w_buf_printf(r, "%s: ok (%s)\n", cl, cs.provider);
        } else {
            s3w_buf_printf(r, "%s: not valid (%s)%s\n", cl,
                           cs.reason[0] ? cs.reason : "none fetched yet", tag);
            ok = false;
        }
    } else {
        s3w_buf_printf(r, "%s: ok (static keys from the config)\n", cl);
    }

    const struct ups_upstream *u = ups_find(us, up->name);
    uint32_t win = atomic_load(&a->window_s);
    double age = ups_age_s(u);
    if (age < 0) {
        s3w_buf_printf(r, "%s: never answered%s\n", ul, tag);
        ok = false;
    } else if (age > win) {
        s3w_buf_printf(r, "%s: no answer for %.0fs (window %us)%s\n", ul, age, win, tag);
        ok = false;
    } else {
        s3w_buf_printf(r, "%s: ok (answered %.0fs ago)%s\n", ul, age, tag);
    }
    row->answer_wall_ms = age < 0 || !u ? 0 : atomic_load_explicit(&u->answer_wall_ms, memory_order_relaxed);
    row->ready = ok;
    return ok || optional || !used;
}

/* /readyz's report on cfg (NULL: none loaded) into r, and the upstreams'
 * metrics rows (up to cap; their names point into cfg). */
static bool ready_report(struct admin *a, const struct config *cfg, struct s3w_buf *r,
                         struct metrics_upstream *rows, size_t cap, size_t *nrows)
{
    bool ready = true;
    s3w_buf_append_cstr(r, cfg ? "config: ok\n" : "config: not loaded\n");
    ready &= cfg != NULL;
    size_t n = 0;
    for (size_t i = 0; cfg && i < cfg->nupstreams; i++) {
        struct metrics_upstream scratch;
        ready &= upstream_ready(a, cfg, &cfg->upstreams[i], r, n < cap ? &rows[n] : &scratch);
        n += n < cap;
    }
    if (nrows)
        *nrows = n;

    /* no request is served without its record: while records cannot be
     * written the pipeline refuses requests, so the replica is not ready */
    char why[256];
    bool audit_ok = audit_status(a->o.audit, why, sizeof(why));
    s3w_buf_printf(r, "audit: %s\n", why);
    ready &= audit_ok;

    if (atomic_load(&a->o.metrics->draining)) {
        s3w_buf_append_cstr(r, "shutdown: draining\n");
        ready = false;
    }
    s3w_buf_append_cstr(r, ready ? "ready\n" : "not ready\n");
    return ready;
}

bool admin_ready(struct admin *a, struct s3w_buf *r)
{
    struct config *cfg = current_config(a);
    bool ready = ready_report(a, cfg, r, NULL, 0, NULL);
    config_unref(cfg);
    return ready;
}

/* ---- HTTP --------------------------------------------------------------------- */
static void respond(struct proxy_conn *c, int status, const char *ctype,
                    const char *extra_headers, const char *body, size_t blen)
{
    struct s3w_buf out;
    s3w_buf_init(&out, blen + 1024);
    char date[30];
    s3err_http_date((long)time(NULL), date);
    int e = s3w_buf_printf(&out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
                           "Content-Length: %zu\r\nCache-Control: no-store\r\nDate: %s\r\n%s\r\n",
                           status, s3err_reason(status), ctype, blen, date,
                           extra_headers ? extra_headers : "");
    if (e == 0 && !c->req.is_head)
        e = s3w_buf_append(&out, body, blen);
    if (e == 0)
        proxy_conn_respond(c, out.ptr, out.len, false);
    else
        proxy_conn_close(c);
    s3w_buf_cleanup(&out);
}

static void text(struct proxy_conn *c, int status, const char *extra, const char *body)
{
    respond(c, status, "text/plain; charset=utf-8", extra, body, strlen(body));
}

static void admin_on_head(struct proxy_conn *c)
{
    struct admin *a = c->w->srv->handler_ud;
    struct s3w_slice m = c->req.method, p = c->req.path;
    bool get = s3w_slice_eq_cstr(m, "GET") || s3w_slice_eq_cstr(m, "HEAD");
    const char *allow = "Allow: GET, HEAD\r\n";
    bool known = s3w_slice_eq_cstr(p, "/healthz") || s3w_slice_eq_cstr(p, "/readyz") ||
                 s3w_slice_eq_cstr(p, "/metrics");
    if (!known) {
        text(c, 404, NULL, "not found: the admin listener serves /healthz, /readyz and /metrics\n");
        return;
    }
    if (!get) {
        text(c, 405, allow, "method not allowed: use GET or HEAD\n");
        return;
    }
    if (c->req.has_content_length ? c->req.content_length > 0 : c->req.chunked) {
        /* a GET with a body is not something a probe or Prometheus sends */
        text(c, 400, NULL, "bad request: admin requests have no body\n");
        return;
    }
    if (s3w_slice_eq_cstr(p, "/healthz")) {
        text(c, 200, NULL, "ok\n");
        return;
    }
    struct s3w_buf body;
    if (s3w_slice_eq_cstr(p, "/readyz")) {
        s3w_buf_init(&body, 4096);
        bool ready = admin_ready(a, &body);
        respond(c, ready ? 200 : 503, "text/plain; charset=utf-8", NULL, body.ptr ? body.ptr : "",
                body.len);
        s3w_buf_cleanup(&body);
        return;
    }
    struct metrics_upstream rows[UPS_MAX];
    struct metrics_scrape x = {
        .version = a->version,
        .conns_active = atomic_load(&a->o.s3->nconns),
        .upstreams = rows,
        .audit_dropped = audit_dropped_total(a->o.audit),
        .audit = a->o.audit,
    };
    struct config *cfg = current_config(a); /* the rows' names point into it */
    struct s3w_buf scratch;
    s3w_buf_init(&scratch, 4096);
    x.ready = ready_report(a, cfg, &scratch, rows, UPS_MAX, &x.nupstreams);
    s3w_buf_cleanup(&scratch);
    s3w_buf_init(&body, ADMIN_METRICS_MAX);
    if (metrics_render(a->o.metrics, &x, &body) != 0) {
        proxy_log("ERROR", "admin: /metrics over %u bytes", ADMIN_METRICS_MAX);
        text(c, 500, NULL, "internal error: the metrics do not fit\n");
    } else {
        respond(c, 200, "text/plain; version=0.0.4; charset=utf-8", NULL,
                body.ptr ? body.ptr : "", body.len);
    }
    s3w_buf_cleanup(&body);
    config_unref(cfg);
}

static const struct proxy_handler admin_handler = {
    .on_head = admin_on_head,
};

/* ---- the upstream prober --------------------------------------------------------- */
static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

/* Stops a probe in flight within about a second once admin_stop asks
 * (libcurl calls this at least once per second, CURLOPT_XFERINFOFUNCTION). */
static int probe_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt;
    (void)dn;
    (void)ut;
    (void)un;
    return atomic_load(&((struct admin *)ud)->stop) ? 1 : 0;
}

/* HEAD / on an upstream's endpoint: any HTTP answer (S3 says 403 or 307 to
 * an anonymous HEAD) proves it is reachable and speaking HTTP. -1 when the
 * prober is stopping (no verdict), else 1 (answered) or 0. */
static int probe(struct admin *a, const struct config_upstream *up, struct ups_upstream *u)
{
    CURL *e = curl_easy_init();
    if (!e)
        return 0;
    uint32_t win = atomic_load(&a->window_s);
    long timeout = win * 1000L / 2;
    if (timeout > 5000)
        timeout = 5000;
    if (timeout < 500)
        timeout = 500;
    long ct = (long)up->connect_timeout_ms;
    curl_easy_setopt(e, CURLOPT_URL, up->endpoint);
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, ct > 0 && ct < timeout ? ct : timeout);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, probe_progress);
    curl_easy_setopt(e, CURLOPT_XFERINFODATA, a);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, up->tls_verify ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, up->tls_verify ? 2L : 0L);
    if (up->ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, up->ca_file);
    CURLcode rc = curl_easy_perform(e);
    long code = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(e);
    if (rc == CURLE_ABORTED_BY_CALLBACK)
        return -1;
    bool ok = rc == CURLE_OK && code > 0;
    if (!ok && !u->warned)
        proxy_log("WARN", "admin: upstream %s (%s) does not answer: %s", up->name, up->endpoint,
                  curl_easy_strerror(rc));
    else if (ok && u->warned)
        proxy_log("INFO", "admin: upstream %s (%s) answers again", up->name, up->endpoint);
    u->warned = !ok;
    return ok;
}

/* A reload that points an upstream at another endpoint (SIGHUP) makes its
 * last answer, from the old endpoint, say nothing about the new one:
 * readiness starts over ("never answered") and the probe goes out at once.
 * main.c's reload calls admin_set_window, which wakes this thread, so the
 * change is seen within the reload. Prober thread only. */
static void check_endpoint_change(struct ups_upstream *u, const struct config_upstream *up)
{
    if (u->probed_endpoint && strcmp(u->probed_endpoint, up->endpoint) == 0)
        return;
    if (u->probed_endpoint) {
        atomic_store(&u->answer_ns, 0);
        u->warned = false;
        proxy_log("INFO", "admin: upstream %s: endpoint changed to %s; ready once it answers",
                  up->name, up->endpoint);
    }
    free(u->probed_endpoint);
    u->probed_endpoint = strdup(up->endpoint);
}

/* The endpoints readiness is measured on from the start: before the
 * prober runs, so that a reload that comes before its first round is seen
 * as a change. */
static void note_endpoints(struct admin *a)
{
    struct config *cfg = current_config(a);
    for (size_t i = 0; cfg && i < cfg->nupstreams; i++) {
        struct ups_upstream *u = ups_find(a->o.shared->ups, cfg->upstreams[i].name);
        if (u && !u->probed_endpoint)
            u->probed_endpoint = strdup(cfg->upstreams[i].endpoint);
    }
    config_unref(cfg);
}

/* The upstream still has the endpoint it was probed on in the running
 * config: an answer from an endpoint a reload has just replaced counts
 * for nothing. */
static bool endpoint_current(struct admin *a, const char *name, const char *endpoint)
{
    struct config *cfg = current_config(a);
    const struct config_upstream *up = cfg ? config_find_upstream(cfg, s3w_slice_cstr(name)) : NULL;
    bool same = up && strcmp(up->endpoint, endpoint) == 0;
    config_unref(cfg);
    return same;
}

/* One round: each upstream of the running config whose last answer is
 * older than half the window is probed, one after the other. false when
 * stopping. Called without a->mu. */
static bool probe_round(struct admin *a)
{
    struct config *cfg = current_config(a);
    bool go_on = true;
    uint32_t win = atomic_load(&a->window_s);
    for (size_t i = 0; cfg && i < cfg->nupstreams && go_on; i++) {
        const struct config_upstream *up = &cfg->upstreams[i];
        struct ups_upstream *u = ups_find(a->o.shared->ups, up->name);
        if (!u)
            continue;
        check_endpoint_change(u, up);
        double age = ups_age_s(u);
        if (age >= 0 && age < win / 2.0)
            continue;
        int ok = probe(a, up, u);
        if (ok < 0 || atomic_load(&a->stop))
            go_on = false;
        else if (ok && endpoint_current(a, up->name, up->endpoint))
            ups_answered(u);
    }
    config_unref(cfg);
    return go_on;
}

static void *prober_main(void *arg)
{
    struct admin *a = arg;
    uv_mutex_lock(&a->mu);
    while (!atomic_load(&a->stop)) {
        uv_mutex_unlock(&a->mu);
        bool go_on = probe_round(a);
        uv_mutex_lock(&a->mu);
        if (!go_on || atomic_load(&a->stop))
            break;
        /* look again a few times per window (traffic may keep it fresh) */
        uint32_t win = atomic_load(&a->window_s);
        uint64_t period_ms = win * 1000ull / 4;
        if (period_ms < 250)
            period_ms = 250;
        if (period_ms > 10000)
            period_ms = 10000;
        /* a poke that came while the probe ran (mutex released) is not
         * lost: the loop goes round again at once */
        if (!a->poked)
            uv_cond_timedwait(&a->cv, &a->mu, period_ms * 1000000ull);
        a->poked = false;
    }
    uv_mutex_unlock(&a->mu);
    return NULL;
}

/* ---- lifecycle ------------------------------------------------------------------- */
int admin_start(const struct admin_opts *o, struct admin **out)
{
    struct admin *a = calloc(1, sizeof(*a));
    if (!a)
        return -ENOMEM;
    a->o = *o;
    snprintf(a->version, sizeof(a->version), "%s", o->version ? o->version : "");
    a->o.version = a->version;
    atomic_store(&a->window_s, o->upstream_window_s ? o->upstream_window_s : 60);
    uv_mutex_init(&a->mu);
    uv_cond_init(&a->cv);
    struct proxy_settings s;
    proxy_settings_defaults(&s);
    snprintf(s.listen_addr, sizeof(s.listen_addr), "%s", o->address ? o->address : "127.0.0.1");
    s.port = o->port;
    s.workers = 1;
    s.exclusive = true;
    s.header_timeout_ms = 5000;
    s.idle_timeout_ms = 30000;
    s.max_connections = 64; /* probes and scrapers, not clients */
    /* probe 21: 64 connections that each sent half a head kept /healthz
     * at 503 for a client that reconnected as they timed out. A probe's
     * whole head comes at once: the longest-waiting unfinished one makes
     * room for it. */
    s.evict_unfinished_heads = true;
    int rc = proxy_server_init(&a->srv, &s, &admin_handler, a);
    if (rc == 0)
        rc = proxy_server_start(&a->srv);
    if (rc != 0) {
        proxy_log("ERROR", "admin: cannot listen on %s:%d", s.listen_addr, o->port);
        proxy_server_cleanup(&a->srv);
        uv_cond_destroy(&a->cv);
        uv_mutex_destroy(&a->mu);
        free(a);
        return rc < 0 ? rc : -rc;
    }
    note_endpoints(a); /* before the prober: see check_endpoint_change */
    if (s3w_thread_create(&a->prober, prober_main, a) == 0)
        a->prober_started = true;
    else
        proxy_log("WARN", "admin: cannot start the upstream prober; readiness follows traffic only");
    proxy_log("INFO", "admin listener on %s:%d (/healthz /readyz /metrics)", s.listen_addr,
              a->srv.bound_port);
    *out = a;
    return 0;
}

int admin_port(const struct admin *a)
{
    return a->srv.bound_port;
}

void admin_set_window(struct admin *a, uint32_t upstream_window_s)
{
    if (!a || upstream_window_s == 0)
        return;
    atomic_store(&a->window_s, upstream_window_s);
    uv_mutex_lock(&a->mu);
    a->poked = true;
    uv_cond_signal(&a->cv);
    uv_mutex_unlock(&a->mu);
}

void admin_stop(struct admin *a)
{
    if (!a)
        return;
    uv_mutex_lock(&a->mu);
    atomic_store(&a->stop, true);
    uv_cond_signal(&a->cv);
    uv_mutex_unlock(&a->mu);
    if (a->prober_started)
        uv_thread_join(&a->prober);
    proxy_server_stop(&a->srv, 1000);
    proxy_server_wait(&a->srv);
    proxy_server_cleanup(&a->srv);
    uv_cond_destroy(&a->cv);
    uv_mutex_destroy(&a->mu);
    free(a);
}
