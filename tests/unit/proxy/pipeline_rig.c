/* pipeline_rig.c - see pipeline_rig.h. */
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>
#include <cmocka.h>
#include <curl/curl.h>

#include "audit.h"
#include "metrics.h"
#include "upstream_state.h"
#include "pipeline_rig.h"
#include "sigv4.h"
#include "sockutil.h"
#include "testutil.h"

/* ---- fake upstream ----------------------------------------------------------- */
static struct {
    pthread_mutex_t mu;
    int listen_fd, port;
    volatile int stop;
    rig_answer_fn answer;
    bool keepalive;       /* rig_opts.up_keepalive */
    struct rig_seen seen; /* guarded by mu */
} up = { .mu = PTHREAD_MUTEX_INITIALIZER, .listen_fd = -1 };

/* The root element S3 answers the request in head with (S3 API reference,
 * "Response Syntax"), for the requests the rig's tests send whose answer is
 * an XML document; NULL for the others (an object, or no body). Written
 * out here rather than read from s3ops_table.c: the proxy checks answers
 * against that table (relay.c), and the rig is to answer as S3 would. */
static const char *s3_answer_root(const char *head)
{
    const char *sp = strchr(head, ' ');
    const char *eol = strstr(head, "\r\n");
    if (!sp || !eol)
        return NULL;
    char line[1024];
    snprintf(line, sizeof(line), "%.*s", (int)(eol - head), head);
    bool get = strncmp(head, "GET ", 4) == 0, post = strncmp(head, "POST ", 5) == 0;
    const char *q = strchr(line, '?');
    if (strcasestr(head, "\r\nx-amz-copy-source:"))
        return q && strstr(q, "uploadId=") ? "CopyPartResult" : "CopyObjectResult";
    if (post && q && strstr(q, "uploads"))
        return "InitiateMultipartUploadResult";
    if (post && q && strstr(q, "uploadId="))
        return "CompleteMultipartUploadResult";
    if (post && q && strstr(q, "delete"))
        return "DeleteResult";
    if (!get || !q) { /* GET /bucket without a query: ListObjects */
        const char *path = sp + 1, *end = strchr(path, ' ');
        return get && end && end > path + 1 && !memchr(path + 1, '/', (size_t)(end - path - 1))
                   ? "ListBucketResult" : NULL;
    }
    static const char *const sub[][2] = {
        { "acl", "AccessControlPolicy" }, { "tagging", "Tagging" },
        { "uploads", "ListMultipartUploadsResult" }, { "uploadId", "ListPartsResult" },
        { "versions", "ListVersionsResult" }, { "versioning", "VersioningConfiguration" },
        { "cors", "CORSConfiguration" }, { "location", "LocationConstraint" },
        { "list-type", "ListBucketResult" }, { "prefix", "ListBucketResult" },
        { "attributes", "GetObjectAttributesResponse" }, { "retention", "Retention" },
        { "legal-hold", "LegalHold" },
    };
    for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
        size_t n = strlen(sub[i][0]);
        for (const char *at = q; (at = strstr(at, sub[i][0])); at += n)
            if ((at[-1] == '?' || at[-1] == '&') && (at[n] == '=' || at[n] == '&' || at[n] == ' ' ||
                                                     at[n] == '\0'))
                return sub[i][1];
    }
    const char *path = sp + 1;
    return q > path + 1 && !memchr(path + 1, '/', (size_t)(q - path - 1)) ? "ListBucketResult"
                                                                          : NULL;
}

void rig_answer_ok(int fd, const char *head)
{
    const char *root = s3_answer_root(head);
    char a[512];
    if (root)
        snprintf(a, sizeof(a), "HTTP/1.1 200 OK\r\nx-amz-request-id: UPSTREAM1\r\n"
                 "Content-Type: application/xml\r\nContent-Length: %zu\r\nConnection: close\r\n"
                 "\r\n<%s/>", strlen(root) + 3, root);
    else
        snprintf(a, sizeof(a), "HTTP/1.1 200 OK\r\nx-amz-request-id: UPSTREAM1\r\n"
                 "Content-Length: 0\r\nConnection: close\r\n\r\n");
    su_send_str(fd, a);
}

/* Reads one request from fd into buf, where `*have` bytes of it (read with
 * the previous request) already are, records it and answers it. Returns
 * false when the connection is done: the peer closed, nothing complete
 * came in time, or the body was incomplete (not answered: the proxy held
 * it back). Bytes past the request are kept in buf for the next call. */
static bool up_serve_one(int fd, char *buf, size_t cap, size_t *have)
{
    static char head[RIG_HEAD_MAX];
    size_t n = *have;
    bool closed = false;
    char *end = NULL;
    while (!(end = memmem(buf, n, "\r\n\r\n", 4)) && !closed && !up.stop && n + 1 < cap) {
        /* a kept-alive connection waits here between requests */
        struct pollfd q = { fd, POLLIN, 0 };
        int pr = poll(&q, 1, up.keepalive ? 100 : 3000);
        if (pr < 0)
            return false;
        if (pr == 0) {
            if (!up.keepalive)
                return false;
            continue;
        }
        ssize_t r = recv(fd, buf + n, cap - 1 - n, 0);
        if (r <= 0)
            closed = true;
        else
            n += (size_t)r;
    }
    buf[n] = 0;
    if (!end)
        return false;
    size_t hl = (size_t)(end + 4 - buf);
    size_t cl = 0;
    const char *p = strcasestr(buf, "\r\nContent-Length:");
    if (p && p < end)
        cl = strtoul(p + 17, NULL, 10);
    while (n < hl + cl && n < cap && !closed) {
        struct pollfd q = { fd, POLLIN, 0 };
        if (poll(&q, 1, 3000) <= 0)
            break;
        ssize_t r = recv(fd, buf + n, cap - n, 0);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    size_t got = n - hl < cl ? n - hl : cl;
    bool full = got == cl;
    snprintf(head, sizeof(head), "%.*s", (int)hl, buf);
    if (!strstr(head, "\r\nAuthorization: AWS4-")) {
        /* Not s3warden's (it signs everything it sends): another test
         * process that took this port for its own server once (a port
         * picked by binding 0 and closing, then probed: moto.sh's readiness
         * curl, a restarted metadata fake). Not counted, so that it cannot
         * change a test's count; said, so that a failure shows it. */
        fprintf(stderr, "rig upstream: a request not from s3warden, not counted:\n%s\n", head);
        su_send_str(fd, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return false;
    }
    pthread_mutex_lock(&up.mu);
    up.seen.requests++;
    memcpy(up.seen.last_head, head, sizeof(head));
    up.seen.last_body_len = got;
    up.seen.last_body_kept = got < RIG_BODY_MAX ? got : RIG_BODY_MAX;
    memcpy(up.seen.last_body, buf + hl, got < RIG_BODY_MAX ? got : RIG_BODY_MAX);
    if (full)
        up.seen.complete_bodies++;
    pthread_mutex_unlock(&up.mu);
    /* an incomplete body gets no answer: the proxy held it back */
    if (!full)
        return false;
    up.answer(fd, head);
    *have = n - (hl + cl);
    memmove(buf, buf + hl + cl, *have);
    return true;
}

static void *up_main(void *arg)
{
    (void)arg;
    /* 1 MiB: the largest body a test sends through; more is simply not
     * received in full (and so never answered) */
    static char buf[1 << 20];
    while (!up.stop) {
        struct pollfd pf = { up.listen_fd, POLLIN, 0 };
        if (poll(&pf, 1, 100) <= 0)
            continue;
        int fd = accept(up.listen_fd, NULL, NULL);
        if (fd < 0)
            continue;
        size_t have = 0;
        /* one request per connection, or with up_keepalive as many as the
         * proxy sends until it closes */
        while (up_serve_one(fd, buf, sizeof(buf), &have) && up.keepalive && !up.stop)
            ;
        close(fd);
    }
    return NULL;
}

void rig_counts(int settle_ms, int *requests, int *complete_bodies)
{
    if (settle_ms > 0)
        usleep((useconds_t)settle_ms * 1000);
    pthread_mutex_lock(&up.mu);
    if (requests)
        *requests = up.seen.requests;
    if (complete_bodies)
        *complete_bodies = up.seen.complete_bodies;
    pthread_mutex_unlock(&up.mu);
}

void rig_seen(struct rig_seen *out)
{
    pthread_mutex_lock(&up.mu);
    memcpy(out, &up.seen, sizeof(*out));
    pthread_mutex_unlock(&up.mu);
}

int rig_up_port(void)
{
    return up.port;
}

/* ---- s3warden under test ------------------------------------------------------- */
static struct proxy_server srv;
static struct pl_shared sh;
static struct audit *aud;
static struct creds_mgr *mgr;
static struct metrics *met;
static pthread_t up_thread;
static bool up_running;
static int port;
static char host[64];
static char audit_path[64];

int rig_port(void)
{
    return port;
}

const char *rig_host(void)
{
    return host;
}

const char *rig_audit_path(void)
{
    return audit_path;
}

struct audit *rig_audit(void)
{
    return aud;
}

struct creds_mgr *rig_creds_mgr(void)
{
    return mgr;
}

uint64_t rig_scrape(const char *series)
{
    struct s3w_buf out;
    s3w_buf_init(&out, 1u << 22);
    struct metrics_scrape x = { .version = "test" };
    assert_non_null(rig_metrics());
    assert_int_equal(metrics_render(rig_metrics(), &x, &out), 0);
    assert_int_equal(s3w_buf_append_char(&out, 0), 0);
    const char *at = out.ptr; /* a sample's line, not its # HELP or # TYPE */
    while ((at = strstr(at, series)) && at != out.ptr && at[-1] != '\n')
        at++;
    assert_non_null(at);
    uint64_t v = strtoull(at + strlen(series), NULL, 10);
    s3w_buf_cleanup(&out);
    return v;
}

struct metrics *rig_metrics(void)
{
    return met;
}

struct config *rig_config_from_json(const char *json)
{
    struct config_errors errs;
    config_errors_init(&errs);
    struct config *cfg = NULL;
    int rc = config_load_buffer("test", json, strlen(json), NULL, &cfg, &errs);
    for (size_t i = 0; i < errs.n; i++)
        fprintf(stderr, "%s\n", errs.items[i].text);
    config_errors_cleanup(&errs);
    return rc == 0 ? cfg : NULL;
}

#define OR(v, dflt) ((v) ? (v) : (dflt))

struct config *rig_config(const struct rig_cfg *c)
{
    assert_non_null(c->akid);
    assert_non_null(c->secret);
    char json[16384];
    int n = snprintf(json, sizeof(json),
        "{%s\"listeners\":[{\"address\":\"127.0.0.1\",\"port\":1}],"
        "\"upstream\":{%s\"endpoint\":\"http://%s:%d\",\"region\":\"%s\"},"
        "\"credentials\":{\"chain\":[{\"type\":\"static\",\"access_key_id\":\"%s\","
        "\"secret\":\"%s\"}]},"
        "\"accounts\":[%s],"
        "\"users\":[{\"account\":\"111111111111\",\"name\":\"%s\",\"unique_id\":\"%s\","
        "\"access_keys\":[{\"id\":\"%s\",\"secret\":\"%s\"}],"
        "\"policies\":[{\"name\":\"p\",\"document\":%s}]}%s],"
        "\"buckets\":[%s]}",
        OR(c->top, ""), OR(c->up_extra, ""), OR(c->up_host, "127.0.0.1"), rig_up_port(),
        OR(c->up_region, "us-east-1"), OR(c->up_akid, "AKIAUPSTREAMRIG00001"),
        OR(c->up_secret, "upstreamRigSecret00000000000000000000000000"),
        OR(c->accounts, "{\"id\":\"111111111111\"}"), OR(c->user, "w"),
        OR(c->unique_id, "AIDARIGUSER0000001"), c->akid, c->secret,
        OR(c->policy, "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
                      "\"Action\":\"s3:*\",\"Resource\":\"*\"}]}"),
        OR(c->more_users, ""),
        OR(c->buckets, "{\"name\":\"bkt\",\"account\":\"111111111111\","
                       "\"upstream_name\":\"real-bkt\"}"));
    assert_true(n > 0 && (size_t)n < sizeof(json));
    return rig_config_from_json(json);
}

#undef OR

/* ---- running code on the worker's loop --------------------------------------------- */
/* What rig_on_worker asks of the worker, handed over under on_w.mu. */
static struct {
    pthread_mutex_t mu;
    pthread_cond_t done_cv;
    void (*fn)(struct proxy_worker *w, void *arg); /* NULL: nothing asked */
    void *arg;
    bool done;
} on_w = { .mu = PTHREAD_MUTEX_INITIALIZER, .done_cv = PTHREAD_COND_INITIALIZER };

static _Atomic unsigned pokes;

unsigned rig_pokes(void)
{
    return atomic_load(&pokes);
}

/* The worker's poke hook: the pipeline's own (a config swap, a credentials
 * sweep), then what the test asked for, on the loop's thread between its
 * callbacks. */
static void rig_worker_poke(struct proxy_worker *w)
{
    atomic_fetch_add(&pokes, 1);
    pl_worker_poke(w);
    pthread_mutex_lock(&on_w.mu);
    if (on_w.fn && !on_w.done) {
        on_w.fn(w, on_w.arg);
        on_w.done = true;
        pthread_cond_broadcast(&on_w.done_cv);
    }
    pthread_mutex_unlock(&on_w.mu);
}

/* A credential manager published (ups_set_doorbell). */
static void rig_wake_workers(void *server)
{
    proxy_server_poke(server);
}

void rig_on_worker(void (*fn)(struct proxy_worker *w, void *arg), void *arg)
{
    pthread_mutex_lock(&on_w.mu);
    on_w.fn = fn;
    on_w.arg = arg;
    on_w.done = false;
    pthread_mutex_unlock(&on_w.mu);
    proxy_server_poke(&srv);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 3;
    pthread_mutex_lock(&on_w.mu);
    int rc = 0;
    while (!on_w.done && rc == 0)
        rc = pthread_cond_timedwait(&on_w.done_cv, &on_w.mu, &until);
    bool done = on_w.done;
    on_w.fn = NULL;
    pthread_mutex_unlock(&on_w.mu);
    assert_true(done); /* the worker ran it within 3 s */
}

void rig_install_config(struct config *cfg)
{
    assert_non_null(cfg);
    pl_shared_set_config(&sh, cfg);
    proxy_server_poke(&srv);
    usleep(100 * 1000);
}

int rig_start(const struct rig_opts *o)
{
    up.answer = o->answer ? o->answer : rig_answer_ok;
    up.keepalive = o->up_keepalive;
    up.listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (up.listen_fd < 0 || bind(up.listen_fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        listen(up.listen_fd, 16) != 0)
        return -1;
    socklen_t al = sizeof(a);
    if (getsockname(up.listen_fd, (struct sockaddr *)&a, &al) != 0)
        return -1;
    up.port = ntohs(a.sin_port);
    if (pthread_create(&up_thread, NULL, up_main, NULL) != 0)
        return -1;
    up_running = true;

    struct config *cfg = o->make_config();
    if (!cfg)
        return -1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (o->audit_file) {
        snprintf(audit_path, sizeof(audit_path), "/tmp/s3w-rig-audit-XXXXXX");
        int afd = mkstemp(audit_path);
        if (afd < 0)
            return -1;
        close(afd);
        aud = audit_open(audit_path, false);
    } else {
        aud = audit_open(NULL, true);
    }
    if (!aud)
        return -1;
    pl_shared_init(&sh, cfg, aud);
    if (o->creds_manager) {
        /* as main() runs them, so a refresh can be observed */
        struct creds_mgr_opts co = { .region = "us-east-1" };
        if (creds_mgr_new(&cfg->credential_sets[0], &co, &mgr) != 0 || !creds_mgr_wait(mgr, 3000))
            return -1;
        if (ups_adopt_creds(sh.ups, cfg->credential_sets[0].name, mgr) != 0)
            return -1; /* sh.ups frees it */
    }
    struct proxy_settings s;
    proxy_settings_defaults(&s);
    s.port = 0;
    s.workers = 1;
    if (o->max_header_bytes)
        s.max_header_bytes = o->max_header_bytes; /* limits.max_header_bytes */
    if (o->tune)
        o->tune(&s);
    srv.worker_init = pl_worker_init;
    srv.worker_cleanup = pl_worker_cleanup;
    srv.worker_poke = rig_worker_poke;
    if (proxy_server_init(&srv, &s, &pl_handler, &sh) != 0)
        return -1;
    if (o->metrics) {
        /* as main() wires them: one shard per worker */
        met = metrics_new((size_t)srv.nworkers);
        if (!met)
            return -1;
        for (int i = 0; i < srv.nworkers; i++)
            srv.workers[i].metrics = &met->shards[i];
        sh.metrics = met;
    }
    if (proxy_server_start(&srv) != 0)
        return -1;
    ups_set_doorbell(sh.ups, rig_wake_workers, &srv); /* as main() rings it */
    port = srv.bound_port;
    snprintf(host, sizeof(host), "127.0.0.1:%d", port);
    return 0;
}

int rig_stop(void)
{
    proxy_server_stop(&srv, 1000);
    proxy_server_wait(&srv);
    ups_set_doorbell(sh.ups, NULL, NULL);
    proxy_server_cleanup(&srv);
    pl_shared_cleanup(&sh); /* and mgr */
    mgr = NULL;
    metrics_free(met);
    met = NULL;
    audit_close(aud);
    aud = NULL;
    if (audit_path[0])
        unlink(audit_path);
    curl_global_cleanup();
    if (up_running) {
        up.stop = 1;
        pthread_join(up_thread, NULL);
        up_running = false;
    }
    if (up.listen_fd >= 0)
        close(up.listen_fd);
    up.listen_fd = -1;
    return 0;
}

static const struct rig_opts *group_opts;

static int group_setup(void **state)
{
    (void)state;
    return rig_start(group_opts);
}

static int group_teardown(void **state)
{
    (void)state;
    return rig_stop();
}

int rig_run_tests(const char *name, const struct CMUnitTest *tests, size_t n,
                  const struct rig_opts *o)
{
    group_opts = o;
    return _cmocka_run_group_tests(name, tests, n, group_setup, group_teardown);
}

/* ---- requests ------------------------------------------------------------------ */
size_t rig_build(char *out, size_t cap, const struct rig_req *r)
{
    const char *method = r->method ? r->method : "PUT";
    const char *body = r->body ? r->body : "";
    const char *wire = r->wire_body ? r->wire_body : body;
    const char *sh_lines = r->signed_hdrs ? r->signed_hdrs : "";
    const char *uh_lines = r->unsigned_hdrs ? r->unsigned_hdrs : "";
    char cl[64];
    snprintf(cl, sizeof(cl), "Content-Length: %zu\r\n", strlen(wire));
    const char *framing = r->framing ? r->framing : cl;
    int n;
    if (!r->akid) {
        n = snprintf(out, cap, "%s %s HTTP/1.1\r\nHost: %s\r\n%s%s%s\r\n%s", method, r->target,
                     host, sh_lines, uh_lines, framing, wire);
        assert_true(n > 0 && (size_t)n < cap);
        return (size_t)n;
    }
    uint8_t h[32];
    char hex[65];
    sigv4_sha256(body, strlen(body), h);
    s3w_hex_encode(h, 32, hex);
    const char *payload = r->payload ? r->payload : hex;
    struct s3w_header hh[8] = { { S3W_SLICE_LIT("Host"), s3w_slice_cstr(host) } };
    size_t nh = 1;
    for (const char *p = sh_lines; *p;) {
        const char *colon = strchr(p, ':');
        const char *eol = strstr(p, "\r\n");
        assert_non_null(colon);
        assert_non_null(eol);
        assert_true(colon < eol);
        assert_true(nh < sizeof(hh) / sizeof(hh[0]));
        const char *v = colon + 1;
        while (*v == ' ')
            v++;
        hh[nh++] = (struct s3w_header){ s3w_slice(p, (size_t)(colon - p)),
                                          s3w_slice(v, (size_t)(eol - v)) };
        p = eol + 2;
    }
    bool s3 = !r->service || strcmp(r->service, "s3") == 0;
    struct sigv4_credentials cr = { s3w_slice_cstr(r->akid), s3w_slice_cstr(r->secret),
                                    r->token ? s3w_slice_cstr(r->token) : S3W_SLICE_NULL };
    struct sigv4_sign_params sp = {
        .method = s3w_slice_cstr(method), .target = s3w_slice_cstr(r->target),
        .headers = hh, .n_headers = nh,
        .region = r->region ? s3w_slice_cstr(r->region) : S3W_SLICE_LIT("us-east-1"),
        .service = s3 ? S3W_SLICE_LIT("s3") : s3w_slice_cstr(r->service),
        .uri_mode = s3 ? SIGV4_URI_S3 : SIGV4_URI_GENERIC, .now = r->at ? r->at : time(NULL),
        .payload = s3w_slice_cstr(payload),
    };
    struct sigv4_signed sd;
    struct sigv4_error err;
    assert_int_equal(sigv4_sign_headers(&sp, &cr, &sd, &err), 0);
    n = snprintf(out, cap,
                 "%s %s HTTP/1.1\r\nHost: %s\r\nAuthorization: %.*s\r\nx-amz-date: %s\r\n"
                 "x-amz-content-sha256: %s\r\n%s%.*s%s%s%s%s\r\n%s",
                 method, r->target, host, (int)sd.authorization_len, sd.authorization,
                 sd.amz_date, payload, sd.security_token.len ? "x-amz-security-token: " : "",
                 (int)sd.security_token.len, sd.security_token.ptr,
                 sd.security_token.len ? "\r\n" : "", sh_lines, uh_lines, framing, wire);
    sigv4_signed_cleanup(&sd);
    assert_true(n > 0 && (size_t)n < cap);
    return (size_t)n;
}

static size_t last_sent;

size_t rig_last_sent(void)
{
    return last_sent;
}

size_t rig_exchange(const char *req, size_t len, const char *until, char *resp, size_t cap)
{
    int fd = su_connect(port);
    assert_true(fd >= 0);
    /* a send error is not one: s3warden may answer and close before it
     * has read the whole request (431, 403 before the body); the caller
     * can check rig_last_sent() */
    last_sent = 0;
    while (last_sent < len) {
        ssize_t w = send(fd, req + last_sent, len - last_sent, MSG_NOSIGNAL);
        if (w <= 0)
            break;
        last_sent += (size_t)w;
    }
    bool closed;
    size_t n = su_read(fd, resp, cap, until ? until : "\r\n\r\n", 1, 5000, &closed);
    if (!until) {
        /* the whole answer: Content-Length bytes after the head */
        const char *end = strstr(resp, "\r\n\r\n");
        const char *clh = strcasestr(resp, "\r\nContent-Length: ");
        if (!end || !clh)
            close(fd);
        assert_non_null(end);
        assert_non_null(clh);
        size_t want = (size_t)(end + 4 - resp) + strtoul(clh + 18, NULL, 10);
        while (n < want && n + 1 < cap && !closed) {
            struct pollfd q = { fd, POLLIN, 0 };
            if (poll(&q, 1, 5000) <= 0)
                break;
            ssize_t r = recv(fd, resp + n, cap - 1 - n, 0);
            if (r <= 0)
                break;
            n += (size_t)r;
            resp[n] = 0;
        }
    }
    close(fd);
    return n;
}

int rig_upstream_requests(void)
{
    int n;
    rig_counts(100, &n, NULL);
    return n;
}

void rig_assert_upstream_requests(int want)
{
    int n = rig_upstream_requests();
    if (n != want) {
        static struct rig_seen seen;
        rig_seen(&seen);
        fprintf(stderr, "the upstream saw %d requests, not %d; the last:\n%s\n", n, want,
                seen.last_head);
    }
    assert_int_equal(n, want);
}

const char *rig_body_of(const char *r)
{
    const char *e = strstr(r, "\r\n\r\n");
    return e ? e + 4 : "";
}

void rig_assert_status(const char *resp, const char *line)
{
    if (strncmp(resp, line, strlen(line)) != 0)
        fprintf(stderr, "want %sgot: %s\n", line, resp);
    assert_true(strncmp(resp, line, strlen(line)) == 0);
}

cJSON *rig_audit_find(const char *key, bool by_error)
{
    for (int t = 0; t < 60; t++) {
        size_t len;
        char *s = tu_read_file(rig_audit_path(), &len);
        cJSON *found = NULL;
        for (char *p = s; s && p < s + len && !found;) {
            char *nl = memchr(p, '\n', (size_t)(s + len - p));
            /* a last line without its newline is still being copied in
             * (the writer's batch, read half done): read again */
            if (!nl)
                break;
            cJSON *j = cJSON_ParseWithLength(p, (size_t)(nl - p));
            if (!j)
                fail_msg("an audit line is not JSON: %.100s", p);
            const cJSON *rp = cJSON_GetObjectItemCaseSensitive(j, "requestParameters");
            const cJSON *k = by_error ? cJSON_GetObjectItemCaseSensitive(j, "errorCode")
                                      : cJSON_GetObjectItemCaseSensitive(rp, "key");
            if (cJSON_IsString(k) && strcmp(k->valuestring, key) == 0)
                found = j;
            else
                cJSON_Delete(j);
            p = nl + 1;
        }
        free(s);
        if (found)
            return found;
        usleep(50 * 1000);
    }
    return NULL;
}
