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
    bool upstream_warned; /* logged "not answering" once per outage */
    /* prober thread only: the endpoint readiness was last measured on */
    char endpoint[1024];
};

/* ---- readiness ---------------------------------------------------------------- */
bool admin_ready(struct admin *a, struct s3w_buf *r)
{
    bool ready = true;
    struct pl_shared *sh = a->o.shared;
    uv_mutex_lock(&sh->mu);
    bool have_cfg = sh->current != NULL;
    uv_mutex_unlock(&sh->mu);
    s3w_buf_append_cstr(r, have_cfg ? "config: ok\n" : "config: not loaded\n");
    ready &= have_cfg;

    if (sh->creds) {
        struct creds_mgr_status cs;
        creds_mgr_get_status(sh->creds, &cs);
        if (cs.valid) {
            s3w_buf_printf(r, "credentials: ok (%s)\n", cs.provider);
        } else {
            s3w_buf_printf(r, "credentials: not valid (%s)\n",
                           cs.reason[0] ? cs.reason : "none fetched yet");
            ready = false;
        }
    } else {
        s3w_buf_append_cstr(r, "credentials: ok (static keys from the config)\n");
    }

    uint32_t win = atomic_load(&a->window_s);
    double age = metrics_upstream_age_s(a->o.metrics);
    if (age < 0) {
        s3w_buf_append_cstr(r, "upstream: never answered\n");
        ready = false;
    } else if (age > win) {
        s3w_buf_printf(r, "upstream: no answer for %.0fs (window %us)\n", age, win);
        ready = false;
    } else {
        s3w_buf_printf(r, "upstream: ok (answered %.0fs ago)\n", age);
    }

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
    struct metrics_scrape x = {
        .version = a->version,
        .conns_active = atomic_load(&a->o.s3->nconns),
        .have_creds_mgr = a->o.shared->creds != NULL,
        .audit_dropped = audit_dropped_total(a->o.audit),
        .audit = a->o.audit,
    };
    if (x.have_creds_mgr) {
        struct creds_mgr_status cs;
        creds_mgr_get_status(a->o.shared->creds, &cs);
        x.creds_valid = cs.valid;
        x.creds_attempts = cs.attempts;
        x.creds_successes = cs.successes;
    }
    struct s3w_buf scratch;
    s3w_buf_init(&scratch, 4096);
    x.ready = admin_ready(a, &scratch);
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

/* HEAD / on the upstream endpoint: any HTTP answer (S3 says 403 or 307 to
 * an anonymous HEAD) proves it is reachable and speaking HTTP. */
static bool probe(struct admin *a)
{
    struct pl_shared *sh = a->o.shared;
    uv_mutex_lock(&sh->mu);
    struct config *cfg = sh->current ? config_ref(sh->current) : NULL;
    uv_mutex_unlock(&sh->mu);
    if (!cfg)
        return false;
    CURL *e = curl_easy_init();
    bool ok = false;
    if (e) {
        uint32_t win = atomic_load(&a->window_s);
        long timeout = win * 1000L / 2;
        if (timeout > 5000)
            timeout = 5000;
        if (timeout < 500)
            timeout = 500;
        long ct = (long)cfg->upstream->connect_timeout_ms;
        curl_easy_setopt(e, CURLOPT_URL, cfg->upstream->endpoint);
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout);
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, ct > 0 && ct < timeout ? ct : timeout);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, probe_progress);
        curl_easy_setopt(e, CURLOPT_XFERINFODATA, a);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, cfg->upstream->tls_verify ? 1L : 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, cfg->upstream->tls_verify ? 2L : 0L);
        if (cfg->upstream->ca_file)
            curl_easy_setopt(e, CURLOPT_CAINFO, cfg->upstream->ca_file);
        CURLcode rc = curl_easy_perform(e);
        long code = 0;
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
        ok = rc == CURLE_OK && code > 0;
        if (rc == CURLE_ABORTED_BY_CALLBACK) {
            curl_easy_cleanup(e);
            config_unref(cfg);
            return false; /* stopping: no verdict */
        }
        if (!ok && !a->upstream_warned)
            proxy_log("WARN", "admin: upstream %s does not answer: %s", cfg->upstream->endpoint,
                      curl_easy_strerror(rc));
        else if (ok && a->upstream_warned)
            proxy_log("INFO", "admin: upstream %s answers again", cfg->upstream->endpoint);
        a->upstream_warned = !ok;
        curl_easy_cleanup(e);
    }
    config_unref(cfg);
    return ok;
}

/* The running config's upstream endpoint (cut at 1023 bytes). */
static void current_endpoint(struct admin *a, char out[1024])
{
    struct pl_shared *sh = a->o.shared;
    out[0] = 0;
    uv_mutex_lock(&sh->mu);
    if (sh->current && sh->current->upstream->endpoint)
        snprintf(out, 1024, "%s", sh->current->upstream->endpoint);
    uv_mutex_unlock(&sh->mu);
}

static bool current_endpoint_is(struct admin *a, const char *ep)
{
    char now[1024];
    current_endpoint(a, now);
    return strcmp(now, ep) == 0;
}

/* A reload that points the proxy at another upstream (SIGHUP) makes the
 * last answer, from the old endpoint, say nothing about the new one:
 * readiness starts over ("never answered") and the probe goes out at once.
 * main.c's reload calls admin_set_window, which wakes this thread, so the
 * change is seen within the reload. Prober thread only. */
static void check_endpoint_change(struct admin *a)
{
    char now[sizeof(a->endpoint)];
    current_endpoint(a, now);
    if (strcmp(now, a->endpoint) == 0)
        return;
    if (a->endpoint[0]) {
        atomic_store(&a->o.metrics->upstream_answer_ns, 0);
        a->upstream_warned = false;
        proxy_log("INFO", "admin: upstream endpoint changed to %s; ready once it answers", now);
    }
    memcpy(a->endpoint, now, sizeof(now));
}

static void prober_main(void *arg)
{
    struct admin *a = arg;
    uv_mutex_lock(&a->mu);
    while (!atomic_load(&a->stop)) {
        check_endpoint_change(a);
        uint32_t win = atomic_load(&a->window_s);
        double age = metrics_upstream_age_s(a->o.metrics);
        if (age < 0 || age >= win / 2.0) {
            uv_mutex_unlock(&a->mu);
            /* an answer from the endpoint a reload has just replaced
             * counts for nothing */
            if (probe(a) && current_endpoint_is(a, a->endpoint))
                metrics_upstream_answered(a->o.metrics);
            uv_mutex_lock(&a->mu);
            if (atomic_load(&a->stop))
                break;
        }
        /* look again a few times per window (traffic may keep it fresh) */
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
    current_endpoint(a, a->endpoint); /* before the prober: see check_endpoint_change */
    if (uv_thread_create(&a->prober, prober_main, a) == 0)
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
