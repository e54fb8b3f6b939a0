/* s3warden - authorizing reverse proxy for Amazon S3. Entry point.
 *
 * Exit codes (documented in --help and README):
 *   0  success (serve: stopped cleanly on SIGTERM/SIGINT)
 *   1  invalid input found (validate: a policy or the config has errors)
 *   2  usage error, or an I/O / startup error (cannot read, cannot listen)
 */
#include "s3w_config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <uv.h>

#include "admin.h"
#include "audit.h"
#include "config.h"
#include "creds_fetch.h"
#include "identity.h"
#include "log.h"
#include "metrics.h"
#include "monoclock.h"
#include "oidc_fetch.h"
#include "pipeline.h"
#include "proxy.h"
#include "tls.h"
#include "upstream_state.h"

#include "cmd_config.h"
#include "cmd_explain.h"
#include "cmd_policy.h"
#include "cmd_presign_post.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: s3warden <command> [options]\n"
            "\n"
            "commands:\n"
            "  serve --config FILE      run the proxy (SIGHUP reloads FILE, SIGUSR1\n"
            "                           reopens the audit log, SIGTERM/SIGINT stop\n"
            "                           gracefully)\n"
            "  validate FILE...         check policy documents\n"
            "  validate --config FILE   check a config file without starting\n"
            "  simulate FILE            evaluate a request against policies (JSON)\n"
            "  explain --config FILE --as AKID|ARN|anonymous [--header 'N: v']...\n"
            "          [--source-ip IP] [--tls] [--context KEY=VALUE]... [--time T]\n"
            "          [--json] GET|PUT|DELETE|HEAD|POST|LIST|COPY s3://BUCKET/KEY [s3://DST]\n"
            "                           decide one request as serve would and say why\n"
            "                           (exit 0 allowed, 3 denied)\n"
            "  replay --config CANDIDATE [--json] AUDIT_FILE...\n"
            "                           decide recorded requests again under CANDIDATE\n"
            "                           (plain or gzip, - is stdin; exit 1 if any flips)\n"
            "  presign --config FILE --access-key-id AKID [--expires SECONDS]\n"
            "          [--method GET|PUT|HEAD|DELETE] [--endpoint URL] s3://BUCKET/KEY\n"
            "                           print a presigned URL for the s3warden listener,\n"
            "                           signed with that key's secret from FILE\n"
            "                           (default: GET, 3600 s, listeners[0])\n"
            "  presign --post --config FILE --access-key-id AKID [--expires SECONDS]\n"
            "          [--max-size BYTES] [--endpoint URL] s3://BUCKET/PREFIX\n"
            "                           print a POST policy and the form fields of a\n"
            "                           browser upload under PREFIX (JSON: url, fields)\n"
            "  --version                print the version and exit\n"
            "  --help                   print this help and exit\n"
            "\n"
            "exit codes: 0 success, 1 invalid input found, 2 usage or I/O error\n");
}

/* ---- serve ---------------------------------------------------------------- */
struct serve_state {
    const char *config_path;
    struct proxy_server srv;
    struct pl_shared shared;
    struct audit *audit;
    struct metrics *metrics;
    struct admin *admin;
    char admin_addr[64];
    int admin_port;
    uint32_t shutdown_ms; /* limits.shutdown_timeout_ms of the running config */
    uv_signal_t sig_hup, sig_term, sig_int, sig_usr1;
    bool stopping;
    /* what has been made, for serve_teardown */
    bool curl_made, shared_made, signals_made, srv_made;
};

static const int log_levels[] = {
    [CONFIG_LOG_DEBUG] = PROXY_LOG_DEBUG,
    [CONFIG_LOG_INFO] = PROXY_LOG_INFO,
    [CONFIG_LOG_WARN] = PROXY_LOG_WARN,
    [CONFIG_LOG_ERROR] = PROXY_LOG_ERROR,
};

/* A credential manager published: the workers let what it replaced go
 * (pl_worker_poke). */
static void wake_workers(void *srv)
{
    proxy_server_poke(srv);
}

/* The parts of a config that apply without rebuilding anything. */
static void apply_runtime_settings(struct serve_state *st, const struct config *cfg)
{
    proxy_log_set_level(log_levels[cfg->log_level]);
    st->shutdown_ms = cfg->limits.shutdown_timeout_ms;
    if (st->admin && cfg->admin.enabled)
        admin_set_window(st->admin, cfg->admin.upstream_ready_window_s);
}

static void print_config_errors(const struct config_errors *e)
{
    for (size_t i = 0; i < e->n; i++)
        proxy_log("ERROR", "config: %s", e->items[i].text);
    if (e->dropped)
        proxy_log("ERROR", "config: ... and %zu more errors", e->dropped);
}

static struct config *load_config(const char *path)
{
    struct config_errors errs;
    config_errors_init(&errs);
    struct config *cfg = NULL;
    int rc = config_load(path, &cfg, &errs);
    if (rc != CONFIG_OK) {
        print_config_errors(&errs);
        proxy_log("ERROR", "config: %s: %s", path, config_strerror(rc));
        cfg = NULL;
    }
    config_errors_cleanup(&errs);
    return cfg;
}

static void settings_from_config(const struct config *cfg, struct proxy_settings *s)
{
    proxy_settings_defaults(s);
    if (cfg->nlisteners > 0) {
        snprintf(s->listen_addr, sizeof(s->listen_addr), "%s", cfg->listeners[0].address);
        s->port = cfg->listeners[0].port;
        if (cfg->listeners[0].tls_cert_file) {
            snprintf(s->tls_cert, sizeof(s->tls_cert), "%s", cfg->listeners[0].tls_cert_file);
            snprintf(s->tls_key, sizeof(s->tls_key), "%s", cfg->listeners[0].tls_key_file);
        }
    }
    if (cfg->limits.max_connections)
        s->max_connections = cfg->limits.max_connections;
    s->max_connections_per_address = cfg->limits.max_connections_per_address;
    if (cfg->limits.header_timeout_ms)
        s->header_timeout_ms = cfg->limits.header_timeout_ms;
    if (cfg->limits.body_idle_timeout_ms)
        s->idle_timeout_ms = cfg->limits.body_idle_timeout_ms;
    if (cfg->limits.send_timeout_ms)
        s->send_timeout_ms = cfg->limits.send_timeout_ms;
    s->min_body_rate = cfg->limits.min_body_rate;
    /* the parser's buffer is HTTP_MAX_HEAD: larger settings mean that */
    if (cfg->limits.max_header_bytes)
        s->max_header_bytes = cfg->limits.max_header_bytes < HTTP_MAX_HEAD
                                  ? cfg->limits.max_header_bytes : HTTP_MAX_HEAD;
    const char *wk = getenv("S3WARDEN_WORKERS");
    if (wk)
        s->workers = atoi(wk);
}

/* A reload's settings that take a restart, compared with those the
 * listener runs with: each that differs is named in one WARN (probe 34: a
 * new port or max_connections was logged as "reload done" and nothing
 * else). */
static void warn_restart_only(const struct proxy_settings *run, const struct config *cfg)
{
    struct proxy_settings s;
    settings_from_config(cfg, &s);
    char names[256] = "";
    size_t n = 0;
#define DIFF(cond, name)                                                                  \
    if ((cond) && n < sizeof(names))                                                      \
        n += (size_t)snprintf(names + n, sizeof(names) - n, "%s%s", n ? ", " : "", name)
    DIFF(strcmp(s.listen_addr, run->listen_addr) != 0 || (s.port != run->port && s.port != 0),
         "the listener's address or port");
    DIFF(s.max_connections != run->max_connections, "limits.max_connections");
    DIFF(s.max_connections_per_address != run->max_connections_per_address,
         "limits.max_connections_per_address");
    DIFF(s.max_header_bytes != run->max_header_bytes, "limits.max_header_bytes");
    DIFF(s.header_timeout_ms != run->header_timeout_ms, "limits.header_timeout_ms");
    DIFF(s.idle_timeout_ms != run->idle_timeout_ms, "limits.body_idle_timeout_ms");
    DIFF(s.send_timeout_ms != run->send_timeout_ms, "limits.send_timeout_ms");
    DIFF(s.min_body_rate != run->min_body_rate, "limits.min_body_rate");
#undef DIFF
    if (n)
        proxy_log("WARN", "reload: %s changed; that takes a restart (the running values stay)", names);
}

/* The audit settings of cfg; sinks[] holds what aopt points to. */
static void audit_options_from(const struct config *cfg,
                               struct audit_sink_conf sinks[AUDIT_MAX_SINKS],
                               struct audit_options *aopt)
{
    size_t nsinks = 0;
    for (size_t i = 0; i < cfg->audit.nsinks && i < AUDIT_MAX_SINKS; i++) {
        const struct config_audit_sink *k = &cfg->audit.sinks[i];
        const struct config_upstream *up = k->upstream ? k->upstream : cfg->upstream;
        const char *region = k->region ? k->region
                             : cfg->audit.region ? cfg->audit.region : up->region;
        /* each type gets only its own fields: audit_reload_check compares
         * them, and a reload that changes the upstream a syslog sink never
         * uses must not say the sink changed */
        struct audit_sink_conf *c = &sinks[nsinks++];
        *c = (struct audit_sink_conf){
            .spool_dir = k->spool_dir, .max_spool_bytes = k->max_spool_bytes,
            .batch_ms = k->batch_seconds * 1000u, .batch_bytes = k->batch_bytes,
        };
        if (k->type == CONFIG_AUDIT_SINK_S3) {
            c->type = AUDIT_SINK_S3;
            c->ca_file = up->ca_file;
            c->endpoint = up->endpoint;
            c->virtual_host = up->addressing == CONFIG_ADDRESSING_VIRTUAL;
            c->tls_verify = up->tls_verify;
            c->bucket = k->bucket;
            c->prefix = k->prefix;
            c->account = k->account_id ? k->account_id : cfg->audit.account_id;
            c->expected_owner = k->expected_bucket_owner;
            c->region = region;
        } else {
            c->type = AUDIT_SINK_SYSLOG;
            c->host = k->address;
            c->port = (uint16_t)k->port;
            c->facility = (int)k->facility;
            c->max_message = k->max_message_bytes;
            c->tls = k->tls;
            c->server_name = k->server_name;
            c->ca_file = k->ca_file;
        }
    }
    *aopt = (struct audit_options){
        .sinks = sinks,
        .nsinks = nsinks,
        .path = cfg->audit.kind == CONFIG_AUDIT_FILE ? cfg->audit.path : NULL,
        .disabled = cfg->audit.kind == CONFIG_AUDIT_NONE,
        .on_backlog = cfg->audit.on_backlog == CONFIG_AUDIT_DROP ? AUDIT_ON_BACKLOG_DROP
                                                                  : AUDIT_ON_BACKLOG_REFUSE,
        .backlog = cfg->audit.backlog_records,
        .format = cfg->audit.format == CONFIG_AUDIT_FORMAT_CLOUDTRAIL ? AUDIT_FORMAT_CLOUDTRAIL
                                                                      : AUDIT_FORMAT_S3WARDEN,
    };
    /* only the CloudTrail format writes them (and the reload check compares them) */
    if (aopt->format == AUDIT_FORMAT_CLOUDTRAIL)
        aopt->cloudtrail = (struct audit_cloudtrail_opts){
            .region = cfg->audit.region ? cfg->audit.region : cfg->upstream->region,
            .account_id = cfg->audit.account_id,
        };
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct serve_state *st = h->data;
    if (st->stopping) {
        proxy_log("INFO", "signal %d ignored: stopping", signum);
        return;
    }
    if (signum == SIGHUP) {
        proxy_log("INFO", "SIGHUP: reloading %s", st->config_path);
        struct config *cfg = load_config(st->config_path);
        if (!cfg) {
            metrics_add(&st->metrics->reload_failures, 1);
            proxy_log("ERROR", "reload refused: the running config stays in service");
            return;
        }
        /* What can refuse the reload comes before anything of it is put
         * in service (probe 34: a reload refused by the credential sets
         * had already put its certificate in) */
        /* TLS: a new certificate and key for new connections (a plain
         * listener cannot become TLS without a restart, and vice versa) */
        struct tls_server *t = NULL;
        if (st->srv.tls && cfg->nlisteners > 0 && cfg->listeners[0].tls_cert_file) {
            t = tls_server_new(cfg->listeners[0].tls_cert_file, cfg->listeners[0].tls_key_file);
            if (!t) {
                proxy_log("ERROR", "reload refused: the new certificate or key cannot be used");
                metrics_add(&st->metrics->reload_failures, 1);
                config_unref(cfg);
                return;
            }
        } else if ((st->srv.tls != NULL) != (cfg->nlisteners > 0 && cfg->listeners[0].tls_cert_file)) {
            proxy_log("WARN", "reload: switching a listener between TLS and plain HTTP needs a restart");
        }
        /* new upstreams get their state and new credential sets their
         * managers before any request can name them; changed sets fetch
         * from their new chain at once (all or nothing: ups_apply) */
        if (ups_apply(st->shared.ups, cfg, true) != 0) {
            proxy_log("ERROR", "reload refused: the running config stays in service");
            metrics_add(&st->metrics->reload_failures, 1);
            tls_server_unref(t);
            config_unref(cfg);
            return;
        }
        if (t)
            proxy_server_set_tls(&st->srv, t);
        warn_restart_only(&st->srv.settings, cfg);
        if (cfg->admin.enabled != (st->admin != NULL) ||
            (st->admin && (strcmp(cfg->admin.address ? cfg->admin.address : "127.0.0.1",
                                  st->admin_addr) != 0 ||
                           (cfg->admin.port != 0 && cfg->admin.port != st->admin_port))))
            proxy_log("WARN", "reload: the admin listener's address or port changed; "
                      "that takes a restart (it keeps serving where it is)");
        /* the running audit stays (records in flight): a change to its
         * settings is logged as taking a restart */
        struct audit_sink_conf sinks[AUDIT_MAX_SINKS];
        struct audit_options aopt;
        audit_options_from(cfg, sinks, &aopt);
        audit_reload_check(st->audit, &aopt);
        apply_runtime_settings(st, cfg);
        if (st->shared.oidc)
            oidc_keys_configure(st->shared.oidc, cfg);
        pl_shared_set_config(&st->shared, cfg);
        proxy_server_poke(&st->srv);
        metrics_add(&st->metrics->reloads, 1);
        atomic_store(&st->metrics->last_reload_ok_s, (int64_t)time(NULL));
        proxy_log("INFO", "reload done: new requests use the new config");
        return;
    }
    if (signum == SIGUSR1) {
        proxy_log("INFO", "SIGUSR1: reopening the audit log");
        audit_reopen(st->audit);
        return;
    }
    st->stopping = true;
    /* records a failing audit output still holds at the end are tried
     * until the same deadline as the requests in flight */
    audit_stop_by(st->audit, s3w_mono_ms() + (int64_t)st->shutdown_ms);
    /* /readyz says 503 from now on, so load balancers stop sending */
    atomic_store(&st->metrics->draining, 1);
    proxy_log("INFO", "signal %d: stopping: no new connections, in-flight requests get %u ms",
              signum, st->shutdown_ms);
    proxy_server_stop(&st->srv, st->shutdown_ms);
    /* the handlers stay installed until the drain is over (closing the
     * last handler of a signal restores its default action, and a SIGHUP,
     * logrotate's SIGUSR1 or a second SIGTERM would then kill the process
     * and cut the requests in flight); unref lets uv_run return */
    uv_unref((uv_handle_t *)&st->sig_hup);
    uv_unref((uv_handle_t *)&st->sig_term);
    uv_unref((uv_handle_t *)&st->sig_int);
    uv_unref((uv_handle_t *)&st->sig_usr1);
}

/* What cmd_serve set up, taken down in the order below (what still works
 * while the rest drains goes last); a start that failed half-way has only
 * some of it, and each step is taken only for what was made
 * (LeakSanitizer reported a port in use as leaks before). cfg: the loaded
 * config, until st->shared holds it. */
static void serve_teardown(struct serve_state *st, struct config *cfg)
{
    if (st->shared_made)
        ups_set_doorbell(st->shared.ups, NULL, NULL); /* before st->srv goes */
    /* the admin listener goes last: /healthz answers while requests drain */
    admin_stop(st->admin);
    st->admin = NULL;
    tls_server_unref(st->srv.tls);
    st->srv.tls = NULL;
    if (st->srv_made)
        proxy_server_cleanup(&st->srv);
    /* the audit sinks deliver their last records with the proxy's
     * credentials: before those go. The signal handlers stay installed
     * until then (unreferenced, nobody runs them): closing a signal's last
     * handler restores its default action, and a SIGHUP or logrotate's
     * SIGUSR1 while a slow audit output takes the last records would kill
     * the process and lose them (the ninth probe: 185 records written
     * for 4,000 served requests). */
    audit_close(st->audit);
    st->audit = NULL;
    if (st->signals_made) {
        uv_close((uv_handle_t *)&st->sig_hup, NULL);
        uv_close((uv_handle_t *)&st->sig_term, NULL);
        uv_close((uv_handle_t *)&st->sig_int, NULL);
        uv_close((uv_handle_t *)&st->sig_usr1, NULL);
        uv_run(uv_default_loop(), UV_RUN_DEFAULT); /* the close callbacks */
        uv_loop_close(uv_default_loop());
    }
    oidc_keys_free(st->shared.oidc);
    st->shared.oidc = NULL;
    if (st->shared_made)
        pl_shared_cleanup(&st->shared); /* the config, the credential managers */
    else
        config_unref(cfg);
    metrics_free(st->metrics);
    st->metrics = NULL;
    if (st->curl_made)
        curl_global_cleanup();
}

static int cmd_serve(const char *config_path)
{
    struct serve_state st;
    memset(&st, 0, sizeof(st));
    st.config_path = config_path;
    /* before any thread starts: a write to a closed peer is an EPIPE to
     * handle, never a signal (base/sigmask.h leaves SIGPIPE unblocked) */
    signal(SIGPIPE, SIG_IGN);
    /* The handlers are in place before anything else: a SIGHUP, a
     * logrotate's SIGUSR1 or a SIGTERM while the start takes its time (up
     * to 5 s waiting for upstream credentials) or as soon as the port
     * answers would otherwise meet the default action and end the process
     * (a probe saw it die by SIGTERM). They run in uv_run below, once
     * everything has started. */
    uv_loop_t *loop = uv_default_loop();
    uv_signal_init(loop, &st.sig_hup);
    uv_signal_init(loop, &st.sig_term);
    uv_signal_init(loop, &st.sig_int);
    uv_signal_init(loop, &st.sig_usr1);
    st.signals_made = true;
    st.sig_hup.data = st.sig_term.data = st.sig_int.data = st.sig_usr1.data = &st;
    uv_signal_start(&st.sig_hup, on_signal, SIGHUP);
    uv_signal_start(&st.sig_term, on_signal, SIGTERM);
    uv_signal_start(&st.sig_int, on_signal, SIGINT);
    uv_signal_start(&st.sig_usr1, on_signal, SIGUSR1);
    proxy_log_init();
    struct config *cfg = load_config(config_path);
    if (!cfg)
        goto fail;
    apply_runtime_settings(&st, cfg);
    struct proxy_settings settings;
    settings_from_config(cfg, &settings);
    struct audit_sink_conf sinks[AUDIT_MAX_SINKS];
    struct audit_options aopt;
    audit_options_from(cfg, sinks, &aopt);
    st.audit = audit_open_opts(&aopt);
    if (!st.audit)
        goto fail;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        proxy_log("ERROR", "curl_global_init failed");
        goto fail;
    }
    st.curl_made = true;
    if (pl_shared_init(&st.shared, cfg, st.audit) != 0) {
        proxy_log("ERROR", "cannot set up the shared state");
        goto fail;
    }
    st.shared_made = true; /* it holds cfg from here on */
    /* OIDC discovery runs beside the workers from the start, so a reload
     * that adds a provider finds it running */
    st.shared.oidc = oidc_keys_new();
    if (!st.shared.oidc) {
        proxy_log("ERROR", "cannot start the OIDC key fetcher");
        goto fail;
    }
    oidc_keys_configure(st.shared.oidc, cfg);
    if (ups_apply(st.shared.ups, cfg, true) != 0)
        goto fail;
    /* serve at once either way: until an upstream's credentials exist, its
     * requests get 503 ServiceUnavailable; a short wait avoids that at
     * startup */
    ups_wait_creds(st.shared.ups, cfg, 5000);
    for (size_t i = 0, k = 0; i < cfg->audit.nsinks && i < AUDIT_MAX_SINKS; i++, k++) {
        const struct config_audit_sink *sk = &cfg->audit.sinks[i];
        if (sk->type == CONFIG_AUDIT_SINK_S3)
            audit_set_sink_creds(st.audit, k,
                                 ups_creds_for(st.shared.ups, cfg, sk->upstream ? sk->upstream : cfg->upstream));
    }
    if (settings.tls_cert[0]) {
        st.srv.tls = tls_server_new(settings.tls_cert, settings.tls_key);
        if (!st.srv.tls)
            goto fail;
    }
    st.srv.worker_init = pl_worker_init;
    st.srv.worker_cleanup = pl_worker_cleanup;
    st.srv.worker_poke = pl_worker_poke;
    st.srv_made = true; /* what proxy_server_init made is taken down even when it fails */
    if (proxy_server_init(&st.srv, &settings, &pl_handler, &st.shared) != 0)
        goto fail;
    st.metrics = metrics_new((size_t)st.srv.nworkers);
    if (!st.metrics) {
        proxy_log("ERROR", "out of memory");
        goto fail;
    }
    for (int i = 0; i < st.srv.nworkers; i++)
        st.srv.workers[i].metrics = &st.metrics->shards[i];
    st.shared.metrics = st.metrics;
    if (cfg->admin.enabled) {
        struct admin_opts ao = {
            .address = cfg->admin.address,
            .port = cfg->admin.port,
            .upstream_window_s = cfg->admin.upstream_ready_window_s,
            .version = S3W_VERSION,
            .metrics = st.metrics,
            .shared = &st.shared,
            .s3 = &st.srv,
            .audit = st.audit,
        };
        if (admin_start(&ao, &st.admin) != 0)
            goto fail;
        snprintf(st.admin_addr, sizeof(st.admin_addr), "%s",
                 cfg->admin.address ? cfg->admin.address : "127.0.0.1");
        st.admin_port = admin_port(st.admin);
    }
    if (proxy_server_start(&st.srv) != 0) {
        proxy_log("ERROR", "cannot start worker threads");
        goto fail;
    }
    ups_set_doorbell(st.shared.ups, wake_workers, &st.srv);
    proxy_log("INFO", "s3warden %s listening on %s:%d (%s) with %d workers, upstream %s",
              S3W_VERSION, settings.listen_addr, st.srv.bound_port,
              st.srv.tls ? "https" : "http", st.srv.nworkers, cfg->upstream->endpoint);
    for (size_t i = 0; cfg->nupstreams > 1 && i < cfg->nupstreams; i++)
        proxy_log("INFO", "upstream %s: %s (region %s)%s%s", cfg->upstreams[i].name,
                  cfg->upstreams[i].endpoint, cfg->upstreams[i].region,
                  &cfg->upstreams[i] == cfg->upstream ? ", the default" : "",
                  cfg->upstreams[i].readiness == CONFIG_READINESS_OPTIONAL ? ", optional" : "");
    uv_run(loop, UV_RUN_DEFAULT);
    proxy_server_wait(&st.srv);
    serve_teardown(&st, NULL); /* the config, maybe reloaded since, is st.shared's */
    proxy_log("INFO", "stopped");
    return 0;

fail:
    serve_teardown(&st, cfg);
    return 2;
}

/* ---- presign ------------------------------------------------------------- */
/* The listener's base URL: http(s)://ADDRESS:PORT, a wildcard address as
 * 127.0.0.1 (the URL must name a host a client can reach). */
int listener_url(const struct config *cfg, char *out, size_t cap)
{
    if (cfg->nlisteners == 0)
        return -1;
    const struct config_listener *l = &cfg->listeners[0];
    const char *a = l->address;
    bool v6 = strchr(a, ':') != NULL;
    if (strcmp(a, "0.0.0.0") == 0)
        a = "127.0.0.1";
    else if (strcmp(a, "::") == 0)
        a = "::1";
    int n = snprintf(out, cap, "%s://%s%s%s:%u", l->tls_cert_file ? "https" : "http",
                     v6 ? "[" : "", a, v6 ? "]" : "", (unsigned)l->port);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* s3warden presign: a SigV4 query-signed URL (AWS S3 API reference,
 * "Authenticating Requests: Using Query Parameters") for the proxy itself,
 * in the upstream region (the one serve verifies against). Exit 0 printed,
 * 1 the config or the key is refused, 2 usage. */
struct presign_args {
    const char *config_path, *akid, *method, *endpoint, *uri;
    long long expires;
    const char *bucket, *key, *slash; /* of uri; slash NULL: the bucket alone */
    size_t blen;
};

/* The command line of `presign`; 0, or 2 after a usage message. */
static int presign_parse_args(int argc, char **argv, struct presign_args *pa)
{
    const char *config_path = NULL, *akid = NULL, *method = "GET", *endpoint = NULL,
               *uri = NULL;
    long long expires = 3600;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        bool has_val = i + 1 < argc;
        if (strcmp(a, "--config") == 0 && has_val) {
            config_path = argv[++i];
        } else if (strcmp(a, "--access-key-id") == 0 && has_val) {
            akid = argv[++i];
        } else if (strcmp(a, "--method") == 0 && has_val) {
            method = argv[++i];
        } else if (strcmp(a, "--endpoint") == 0 && has_val) {
            endpoint = argv[++i];
        } else if (strcmp(a, "--expires") == 0 && has_val) {
            char *end = NULL;
            expires = strtoll(argv[++i], &end, 10);
            if (!end || *end || expires < 1 || expires > 604800) {
                fprintf(stderr, "s3warden: presign: --expires must be 1..604800 seconds "
                        "(SigV4 presigned URLs last at most 7 days)\n");
                return 2;
            }
        } else if (a[0] != '-' && !uri) {
            uri = a;
        } else {
            fprintf(stderr, "s3warden: presign: unexpected argument '%s'\n", a);
            return 2;
        }
    }
    if (!config_path || !akid || !uri) {
        fprintf(stderr, "s3warden: usage: s3warden presign --config FILE --access-key-id AKID "
                "[--expires SECONDS] [--method GET|PUT|HEAD|DELETE] [--endpoint URL] "
                "s3://BUCKET/KEY\n");
        return 2;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "PUT") != 0 &&
        strcmp(method, "HEAD") != 0 && strcmp(method, "DELETE") != 0) {
        fprintf(stderr, "s3warden: presign: --method must be GET, PUT, HEAD or DELETE\n");
        return 2;
    }
    if (strncmp(uri, "s3://", 5) != 0 || uri[5] == 0 || uri[5] == '/') {
        fprintf(stderr, "s3warden: presign: the object must be given as s3://BUCKET/KEY\n");
        return 2;
    }
    const char *bucket = uri + 5;
    const char *slash = strchr(bucket, '/');
    *pa = (struct presign_args){
        .config_path = config_path, .akid = akid, .method = method, .endpoint = endpoint,
        .uri = uri, .expires = expires, .bucket = bucket, .slash = slash,
        .key = slash ? slash + 1 : "", .blen = slash ? (size_t)(slash - bucket) : strlen(bucket),
    };
    return 0;
}

static int cmd_presign(int argc, char **argv)
{
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "--post") == 0)
            return cmd_presign_post(argc, argv);
    struct presign_args pa;
    if (presign_parse_args(argc, argv, &pa) != 0)
        return 2;
    const char *config_path = pa.config_path, *akid = pa.akid, *method = pa.method;
    const char *endpoint = pa.endpoint, *bucket = pa.bucket, *key = pa.key, *slash = pa.slash;
    size_t blen = pa.blen;
    long long expires = pa.expires;

    struct config_errors errs;
    config_errors_init(&errs);
    struct config *cfg = NULL;
    int rc = config_load(config_path, &cfg, &errs);
    if (rc != CONFIG_OK) {
        for (size_t i = 0; i < errs.n; i++)
            fprintf(stderr, "s3warden: %s\n", errs.items[i].text);
        fprintf(stderr, "s3warden: presign: %s: %s\n", config_path, config_strerror(rc));
        config_errors_cleanup(&errs);
        return rc == CONFIG_E_INVALID ? 1 : 2;
    }
    config_errors_cleanup(&errs);

    int ret = 1;
    char base[600];
    struct s3w_buf target, url;
    s3w_buf_init(&target, 16384);
    s3w_buf_init(&url, 32768);
    struct config_identity id;
    memset(&id, 0, sizeof(id));
    uint8_t secret[SIGV4_MAX_SECRET];
    size_t slen = 0;
    int64_t now = (int64_t)time(NULL);
    int ar = config_resolve(cfg, s3w_slice_cstr(akid), S3W_SLICE_NULL, now, &id, secret,
                            sizeof(secret), &slen);
    if (ar != CONFIG_AUTH_OK) {
        /* session (ASIA...) keys need their token: presign long-term keys */
        fprintf(stderr, "s3warden: presign: access key id %s: %s\n", akid,
                ar == CONFIG_AUTH_MISSING_TOKEN
                    ? "a session key; presign takes the long-term keys of the config"
                    : "not an active access key of this config");
        goto cleanup;
    }
    if (endpoint) {
        snprintf(base, sizeof(base), "%s", endpoint);
        size_t bl = strlen(base);
        while (bl && base[bl - 1] == '/')
            base[--bl] = 0;
    } else if (listener_url(cfg, base, sizeof(base)) != 0) {
        fprintf(stderr, "s3warden: presign: the config has no usable listener; give --endpoint\n");
        goto cleanup;
    }
    const char *host = strstr(base, "://");
    host = host ? host + 3 : base;
    int e = s3w_buf_append_char(&target, '/');
    e |= sigv4_uri_encode(s3w_slice(bucket, blen), false, &target);
    if (slash) {
        e |= s3w_buf_append_char(&target, '/');
        e |= sigv4_uri_encode(s3w_slice_cstr(key), true, &target);
    }
    struct s3w_header hh[] = { { S3W_SLICE_LIT("host"), s3w_slice_cstr(host) } };
    struct sigv4_sign_params sp = {
        .method = s3w_slice_cstr(method),
        .target = s3w_buf_slice(&target),
        .headers = hh,
        .n_headers = 1,
        .region = s3w_slice_cstr(cfg->upstream->region),
        .service = S3W_SLICE_LIT("s3"),
        .uri_mode = SIGV4_URI_S3,
        .now = now,
        .payload = S3W_SLICE_LIT("UNSIGNED-PAYLOAD"),
    };
    struct sigv4_credentials cr = { s3w_slice_cstr(akid), s3w_slice((const char *)secret, slen),
                                    S3W_SLICE_NULL };
    struct sigv4_error serr;
    if (e != 0 || s3w_buf_append_cstr(&url, base) != 0 ||
        sigv4_presign(&sp, &cr, expires, &url, &serr) != 0) {
        fprintf(stderr, "s3warden: presign: cannot sign this request (object key too long?)\n");
        ret = 2;
        goto cleanup;
    }
    printf("%.*s\n", (int)url.len, url.ptr);
    ret = 0;
cleanup:
    s3w_wipe(secret, sizeof(secret));
    config_identity_cleanup(&id);
    s3w_buf_cleanup(&target);
    s3w_buf_cleanup(&url);
    config_unref(cfg);
    return ret;
}

int main(int argc, char **argv)
{
    /* before anything can make OpenSSL allocate (tls.h) */
    bool wiping = tls_wipe_freed_memory();
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--version") == 0) {
        printf("s3warden %s\n", S3W_VERSION);
        return 0;
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "serve") == 0) {
        if (argc != 4 || strcmp(argv[2], "--config") != 0) {
            fprintf(stderr, "s3warden: usage: s3warden serve --config FILE\n");
            return 2;
        }
        if (!wiping)
            fprintf(stderr, "s3warden: OpenSSL allocated before its memory functions were set: "
                            "what it frees is not wiped\n");
        return cmd_serve(argv[3]);
    }
    if (strcmp(cmd, "validate") == 0) {
        if (argc >= 3 && strcmp(argv[2], "--config") == 0) {
            if (argc != 4) {
                fprintf(stderr, "s3warden: usage: s3warden validate --config FILE\n");
                return 2;
            }
            return s3w_cmd_validate_config(argv[3]);
        }
        if (argc < 3) {
            fprintf(stderr, "s3warden: usage: s3warden validate FILE... | validate --config FILE\n");
            return 2;
        }
        return s3w_cmd_validate_policies(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "presign") == 0)
        return cmd_presign(argc, argv);
    if (strcmp(cmd, "explain") == 0)
        return s3w_cmd_explain(argc - 1, argv + 1);
    if (strcmp(cmd, "replay") == 0)
        return s3w_cmd_replay(argc - 1, argv + 1);
    if (strcmp(cmd, "simulate") == 0)
        return s3w_cmd_simulate(argc - 1, argv + 1);
    fprintf(stderr, "s3warden: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
