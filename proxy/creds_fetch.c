/*
 * creds_fetch.c - the proxy's own credential manager (contract in
 * creds_fetch.h).
 *
 * Why a plain thread with libcurl easy handles and condition-variable timed
 * waits, not a second libuv loop with curl multi: a refresh is a short
 * chain of DEPENDENT requests (IMDS token -> role name -> credentials; base
 * credentials -> AssumeRole) done every few minutes at most, one at a time.
 * Blocking calls on a thread of its own express that sequence directly;
 * every transfer has a timeout and a progress callback that aborts it when
 * the manager stops, so the thread is always bounded and workers never
 * wait on it (they only read the published snapshot under a short mutex).
 *
 * Protocols:
 *  - IMDSv2: EC2 user guide, "Use the Instance Metadata Service to access
 *    instance metadata" - PUT /latest/api/token with
 *    X-aws-ec2-metadata-token-ttl-seconds, then GETs with
 *    X-aws-ec2-metadata-token. IMDSv1 (token-less) is never tried: fail
 *    closed rather than downgrade.
 *  - container endpoint: ECS developer guide "Task IAM role" and EKS Pod
 *    Identity: GET the URL with Authorization = the token (file wins over
 *    AWS_CONTAINER_AUTHORIZATION_TOKEN, as in the SDKs); a FULL_URI over
 *    plain http must point to loopback or the ECS/EKS link-local agents
 *    (the SDKs refuse anything else so a token never leaves the host).
 *  - STS: Query API, POST form, Version 2011-06-15; AssumeRole signed with
 *    SigV4 (service "sts", generic URI rules), AssumeRoleWithWebIdentity
 *    unsigned.
 */
#include "creds_fetch.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define DEFAULT_TIMEOUT_MS 5000u
#define DEFAULT_CONNECT_TIMEOUT_MS 1000u
#define IMDS_TOKEN_TTL "21600" /* 6 h, the SDKs' value */
#define MAX_PROFILE_DEPTH 4    /* role_arn -> source_profile hops */
#define MAX_URL 2048
#define REASON_CAP 512
#define POKE_MIN_INTERVAL_MS 1000 /* creds_mgr_refresh_now: at most one fetch a second */

/* ---- environment snapshot ---------------------------------------------- */

enum env_idx {
    E_AKID, E_SECRET, E_TOKEN, E_SECURITY_TOKEN, E_PROFILE, E_CRED_FILE, E_CONFIG_FILE, E_HOME,
    E_ECS_FULL, E_ECS_REL, E_ECS_TOKEN, E_ECS_TOKEN_FILE, E_IMDS_ENDPOINT, E_IMDS_DISABLED,
    E_WEB_TOKEN_FILE, E_ROLE_ARN, E_ROLE_SESSION, E_STS_ENDPOINT, E_N
};
static const char *const env_names[E_N] = {
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
    "AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", "HOME",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_EC2_METADATA_DISABLED",
    "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME",
    "AWS_ENDPOINT_URL_STS",
};

/* ---- the chain, deep-copied from the config ---------------------------- */

struct prov {
    enum config_cred_source source;
    char *access_key_id, *secret, *session_token;
    char *profile, *credentials_file, *config_file;
    char *endpoint, *authorization_token_file;
    char *token_file, *role_arn, *session_name, *sts_endpoint;
};

struct chain {
    atomic_uint refs;
    struct prov *p;
    size_t n;
    bool ar_enabled;
    char *ar_role_arn, *ar_external_id, *ar_session_name, *ar_sts_endpoint, *ar_region;
    uint32_t ar_duration;
    uint32_t refresh_before;
    char *region;
    uint32_t retry_max_ms, timeout_ms, connect_timeout_ms;
    char *env[E_N]; /* values at creation; secrets among them wiped on free */
};

static void free_str(char **s)
{
    if (*s) {
        s3w_wipe(*s, strlen(*s)); /* cheap, and some of these are secrets */
        free(*s);
        *s = NULL;
    }
}

static void chain_unref(struct chain *c)
{
    if (!c || atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    for (size_t i = 0; i < c->n; i++) {
        struct prov *p = &c->p[i];
        char **f[] = { &p->access_key_id, &p->secret, &p->session_token, &p->profile,
                       &p->credentials_file, &p->config_file, &p->endpoint,
                       &p->authorization_token_file, &p->token_file, &p->role_arn,
                       &p->session_name, &p->sts_endpoint };
        for (size_t k = 0; k < sizeof f / sizeof f[0]; k++)
            free_str(f[k]);
    }
    free(c->p);
    free_str(&c->ar_role_arn);
    free_str(&c->ar_external_id);
    free_str(&c->ar_session_name);
    free_str(&c->ar_sts_endpoint);
    free_str(&c->ar_region);
    free_str(&c->region);
    for (int i = 0; i < E_N; i++)
        free_str(&c->env[i]);
    free(c);
}

static bool dup_to(char **dst, const char *src)
{
    *dst = NULL;
    if (!src)
        return true;
    *dst = strdup(src);
    return *dst != NULL;
}

static const char *sys_getenv(void *ud, const char *name)
{
    (void)ud;
    return getenv(name);
}

static struct chain *chain_new(const struct config_credentials *cc,
                               const struct creds_mgr_opts *o)
{
    struct chain *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    atomic_init(&c->refs, 1);
    bool ok = true;
    c->p = calloc(cc->nchain ? cc->nchain : 1, sizeof *c->p);
    ok = c->p != NULL;
    for (size_t i = 0; ok && i < cc->nchain; i++) {
        const struct config_cred_provider *s = &cc->chain[i];
        struct prov *d = &c->p[i];
        c->n = i + 1;
        d->source = s->source;
        ok = dup_to(&d->access_key_id, s->access_key_id) &&
             dup_to(&d->secret, s->secret_access_key) &&
             dup_to(&d->session_token, s->session_token) && dup_to(&d->profile, s->profile) &&
             dup_to(&d->credentials_file, s->credentials_file) &&
             dup_to(&d->config_file, s->config_file) && dup_to(&d->endpoint, s->endpoint) &&
             dup_to(&d->authorization_token_file, s->authorization_token_file) &&
             dup_to(&d->token_file, s->token_file) && dup_to(&d->role_arn, s->role_arn) &&
             dup_to(&d->session_name, s->session_name) &&
             dup_to(&d->sts_endpoint, s->sts_endpoint);
    }
    const struct config_assume_role *ar = &cc->assume_role;
    c->ar_enabled = ar->enabled;
    c->ar_duration = ar->duration_seconds;
    ok = ok && dup_to(&c->ar_role_arn, ar->role_arn) &&
         dup_to(&c->ar_external_id, ar->external_id) &&
         dup_to(&c->ar_session_name, ar->session_name) &&
         dup_to(&c->ar_sts_endpoint, ar->sts_endpoint) && dup_to(&c->ar_region, ar->region) &&
         dup_to(&c->region, o && o->region && *o->region ? o->region : "us-east-1");
    c->refresh_before = o && o->refresh_before_s ? o->refresh_before_s : cc->refresh_before_seconds;
    c->retry_max_ms = o ? o->retry_max_ms : 0;
    c->timeout_ms = o && o->timeout_ms ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
    c->connect_timeout_ms =
        o && o->connect_timeout_ms ? o->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
    creds_getenv_fn get = o && o->getenv ? o->getenv : sys_getenv;
    void *ud = o && o->getenv ? o->getenv_ud : NULL;
    for (int i = 0; ok && i < E_N; i++) {
        const char *v = get(ud, env_names[i]);
        ok = dup_to(&c->env[i], v && *v ? v : NULL);
    }
    if (!ok) {
        chain_unref(c);
        return NULL;
    }
    return c;
}

static bool str_same(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return s3w_ct_equal(a, strlen(a), b, strlen(b)); /* some are secrets */
}

/* Same configuration (the environment is the process's: not compared). */
static bool chain_same(const struct chain *a, const struct chain *b)
{
    if (a->n != b->n || a->ar_enabled != b->ar_enabled || a->ar_duration != b->ar_duration ||
        a->refresh_before != b->refresh_before || a->retry_max_ms != b->retry_max_ms ||
        a->timeout_ms != b->timeout_ms || a->connect_timeout_ms != b->connect_timeout_ms ||
        !str_same(a->ar_role_arn, b->ar_role_arn) ||
        !str_same(a->ar_external_id, b->ar_external_id) ||
        !str_same(a->ar_session_name, b->ar_session_name) ||
        !str_same(a->ar_sts_endpoint, b->ar_sts_endpoint) ||
        !str_same(a->ar_region, b->ar_region) || !str_same(a->region, b->region))
        return false;
    for (size_t i = 0; i < a->n; i++) {
        const struct prov *x = &a->p[i], *y = &b->p[i];
        if (x->source != y->source || !str_same(x->access_key_id, y->access_key_id) ||
            !str_same(x->secret, y->secret) || !str_same(x->session_token, y->session_token) ||
            !str_same(x->profile, y->profile) ||
            !str_same(x->credentials_file, y->credentials_file) ||
            !str_same(x->config_file, y->config_file) || !str_same(x->endpoint, y->endpoint) ||
            !str_same(x->authorization_token_file, y->authorization_token_file) ||
            !str_same(x->token_file, y->token_file) || !str_same(x->role_arn, y->role_arn) ||
            !str_same(x->session_name, y->session_name) ||
            !str_same(x->sts_endpoint, y->sts_endpoint))
            return false;
    }
    return true;
}

static const char *chain_env(void *ud, const char *name)
{
    const struct chain *c = ud;
    for (int i = 0; i < E_N; i++)
        if (strcmp(env_names[i], name) == 0)
            return c->env[i];
    return NULL;
}

/* ---- snapshots ------------------------------------------------------------ */

struct snap {
    struct creds_snapshot pub; /* first: release() casts back */
    atomic_uint refs;
    struct creds c;
    char provider[64];
};

static void snap_unref(struct snap *s)
{
    if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    creds_wipe(&s->c);
    free(s);
}

void creds_snapshot_release(const struct creds_snapshot *s)
{
    snap_unref((struct snap *)(uintptr_t)s);
}

/* ---- the manager ---------------------------------------------------------- */

struct creds_mgr {
    pthread_mutex_t mu;
    pthread_cond_t cv;     /* wakes the refresh thread: stop, poke, new chain */
    pthread_cond_t ready;  /* wakes creds_mgr_wait() after each attempt */
    pthread_t thread;
    atomic_bool stop;      /* also read by libcurl's progress callback */
    /* guarded by mu: */
    bool poke;
    uint64_t gen;          /* bumped by reconfigure */
    struct chain *latest;  /* one reference */
    struct snap *current;  /* one reference; NULL = no valid credentials */
    uint64_t attempts, successes;
    char reason[REASON_CAP];
    creds_log_fn log;
    void *log_ud;
};

static void mlog(struct creds_mgr *m, const char *level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void mlog(struct creds_mgr *m, const char *level, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (m->log)
        m->log(m->log_ud, level, msg);
    else
        proxy_log(level, "%s", msg);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void fmt_time(int64_t t, char out[32])
{
    if (t == 0) {
        snprintf(out, 32, "never");
        return;
    }
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

const struct creds_snapshot *creds_mgr_acquire(struct creds_mgr *m)
{
    int64_t now = wall_s();
    struct snap *s = NULL;
    pthread_mutex_lock(&m->mu);
    if (m->current && (m->current->pub.expiration == 0 || now < m->current->pub.expiration)) {
        s = m->current;
        atomic_fetch_add(&s->refs, 1);
    }
    pthread_mutex_unlock(&m->mu);
    return s ? &s->pub : NULL;
}

void creds_mgr_refresh_now(struct creds_mgr *m)
{
    pthread_mutex_lock(&m->mu);
    m->poke = true;
    pthread_cond_signal(&m->cv);
    pthread_mutex_unlock(&m->mu);
}

bool creds_mgr_wait(struct creds_mgr *m, uint32_t timeout_ms)
{
    int64_t deadline = mono_ms() + timeout_ms;
    for (;;) {
        const struct creds_snapshot *s = creds_mgr_acquire(m);
        if (s) {
            creds_snapshot_release(s);
            return true;
        }
        int64_t left = deadline - mono_ms();
        if (left <= 0)
            return false;
        if (left > 100)
            left = 100; /* re-check: an expiry does not signal */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += left / 1000;
        ts.tv_nsec += (left % 1000) * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_mutex_lock(&m->mu);
        pthread_cond_timedwait(&m->ready, &m->mu, &ts);
        pthread_mutex_unlock(&m->mu);
    }
}

void creds_mgr_get_status(struct creds_mgr *m, struct creds_mgr_status *st)
{
    memset(st, 0, sizeof *st);
    int64_t now = wall_s();
    pthread_mutex_lock(&m->mu);
    st->valid = m->current && (m->current->pub.expiration == 0 ||
                               now < m->current->pub.expiration);
    st->attempts = m->attempts;
    st->successes = m->successes;
    if (m->current)
        snprintf(st->provider, sizeof st->provider, "%s", m->current->provider);
    snprintf(st->reason, sizeof st->reason, "%s", m->reason);
    pthread_mutex_unlock(&m->mu);
}

/* ---- HTTP (libcurl easy, on the refresh thread only) --------------------- */

struct fetch {
    struct creds_mgr *m;
    const struct chain *ch;
};

struct sink {
    struct s3w_buf *b;
    bool overflow;
};

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    struct sink *s = ud;
    if (s3w_buf_append(s->b, p, size * n) != 0) {
        s->overflow = true;
        return 0; /* CURLE_WRITE_ERROR: bodies are capped (CREDS_MAX_INPUT) */
    }
    return size * n;
}

static int on_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)a;
    (void)b;
    (void)c;
    (void)d;
    struct creds_mgr *m = ud;
    return atomic_load(&m->stop) ? 1 : 0; /* abort: the manager is being freed */
}

static int ferr(struct creds_error *err, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int ferr(struct creds_error *err, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return rc;
}

/* The headers may hold a token or a signature: wipe before freeing. */
static void slist_free_wiped(struct curl_slist *h)
{
    for (struct curl_slist *it = h; it; it = it->next)
        if (it->data)
            s3w_wipe(it->data, strlen(it->data));
    curl_slist_free_all(h);
}

/* One request. `body` NULL = no body (GET); method "PUT"/"POST" send
 * `body` (may be ""). The response body (capped) goes to resp. The URL is
 * only used in messages with its query cut (never a credential there, but
 * keep messages short). */
static int http_do(struct fetch *f, const char *method, const char *url,
                   const struct curl_slist *hdrs, const char *body, size_t blen, long *status,
                   struct s3w_buf *resp, struct creds_error *err)
{
    CURL *e = curl_easy_init();
    if (!e)
        return ferr(err, CREDS_E_REMOTE, "out of memory (curl)");
    char ebuf[CURL_ERROR_SIZE] = "";
    struct sink sk = { resp, false };
    s3w_buf_reset(resp);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)f->ch->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)f->ch->connect_timeout_ms);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85 replaced the bitmask option */
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L); /* a redirect could carry a token away */
    curl_easy_setopt(e, CURLOPT_NOPROXY, "*");       /* link-local / configured endpoints */
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, ebuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &sk);
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(e, CURLOPT_XFERINFODATA, f->m);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
    if (body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)blen);
        if (strcmp(method, "POST") != 0)
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    }
    CURLcode rc = curl_easy_perform(e);
    int out = CREDS_OK;
    size_t ul = strcspn(url, "?");
    if (ul > 200)
        ul = 200;
    if (rc != CURLE_OK) {
        if (sk.overflow)
            out = ferr(err, CREDS_E_REMOTE, "%s %.*s: response larger than %u bytes", method,
                       (int)ul, url, CREDS_MAX_INPUT);
        else
            out = ferr(err, CREDS_E_REMOTE, "%s %.*s: %s", method, (int)ul, url,
                       ebuf[0] ? ebuf : curl_easy_strerror(rc));
    } else {
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
    }
    curl_easy_cleanup(e);
    return out;
}

static bool header_safe(const char *v)
{
    for (const char *p = v; *p; p++)
        if (*p == '\r' || *p == '\n')
            return false;
    return true;
}

/* Reads a small file whole (capped); NULL if it does not exist. */
static int read_capped(const char *path, size_t cap, struct s3w_buf *out, bool *missing,
                       struct creds_error *err)
{
    *missing = false;
    s3w_buf_reset(out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            *missing = true;
            return ferr(err, CREDS_E_ABSENT, "%.200s does not exist", path);
        }
        return ferr(err, CREDS_E_INVALID, "cannot open %.200s: %s", path, strerror(errno));
    }
    char tmp[4096];
    int rc = CREDS_OK;
    for (;;) {
        ssize_t n = read(fd, tmp, sizeof tmp);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = ferr(err, CREDS_E_INVALID, "cannot read %.200s: %s", path, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        if (out->len + (size_t)n > cap || s3w_buf_append(out, tmp, (size_t)n) != 0) {
            rc = ferr(err, CREDS_E_INVALID, "%.200s is larger than %zu bytes", path, cap);
            break;
        }
    }
    s3w_wipe(tmp, sizeof tmp);
    close(fd);
    return rc;
}

static struct s3w_slice rtrim(struct s3w_slice s)
{
    while (s.len && (s.ptr[s.len - 1] == '\n' || s.ptr[s.len - 1] == '\r' ||
                     s.ptr[s.len - 1] == ' ' || s.ptr[s.len - 1] == '\t'))
        s.len--;
    return s;
}

/* ---- STS ------------------------------------------------------------------ */

/* Splits http(s)://AUTHORITY/PATH into the Host value and the request
 * target ("/" when there is no path). */
static int url_parts(const char *url, char *host, size_t hcap, char *target, size_t tcap)
{
    const char *a = strstr(url, "://");
    if (!a)
        return -1;
    a += 3;
    size_t al = strcspn(a, "/?#");
    if (al == 0 || al >= hcap || memchr(a, '@', al))
        return -1;
    memcpy(host, a, al);
    host[al] = '\0';
    const char *p = a + al;
    size_t pl = strcspn(p, "#");
    int n = pl && p[0] == '/' ? snprintf(target, tcap, "%.*s", (int)pl, p) :
                                snprintf(target, tcap, "/%.*s", (int)pl, p);
    return n < 0 || (size_t)n >= tcap ? -1 : 0;
}

static int sts_endpoint(const struct chain *ch, const char *configured, const char *region,
                        char *out, size_t cap)
{
    int n;
    if (configured && *configured)
        n = snprintf(out, cap, "%s", configured);
    else if (ch->env[E_STS_ENDPOINT])
        n = snprintf(out, cap, "%s", ch->env[E_STS_ENDPOINT]); /* SDK service endpoint var */
    else
        n = snprintf(out, cap, "https://sts.%s.amazonaws.com/", region); /* regional STS */
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* POSTs a form to STS, signed with `base` when non-NULL; parses the XML. */
static int sts_call(struct fetch *f, const char *endpoint, const char *region,
                    struct s3w_buf *form, const struct creds *base, struct creds *out,
                    struct creds_error *err)
{
    char host[256], target[1024];
    if (url_parts(endpoint, host, sizeof host, target, sizeof target) != 0)
        return ferr(err, CREDS_E_INVALID, "bad STS endpoint %.200s", endpoint);
    static const char ctype[] = "application/x-www-form-urlencoded; charset=utf-8";
    struct curl_slist *h = NULL, *t;
    char line[4200];
    int rc = CREDS_OK;
    struct sigv4_signed sd;
    memset(&sd, 0, sizeof sd);
    bool signed_ = false;
#define ADDH(...)                                                                     \
    do {                                                                              \
        snprintf(line, sizeof line, __VA_ARGS__);                                     \
        if (!(t = curl_slist_append(h, line))) {                                      \
            rc = ferr(err, CREDS_E_REMOTE, "out of memory (headers)");                \
            goto cleanup;                                                             \
        }                                                                             \
        h = t;                                                                        \
    } while (0)
    ADDH("Host: %s", host);
    ADDH("Content-Type: %s", ctype);
    ADDH("Accept:");
    ADDH("Expect:");
    if (base) {
        uint8_t d[32];
        char hash[65];
        sigv4_sha256(form->ptr, form->len, d);
        s3w_hex_encode(d, 32, hash);
        struct s3w_header sh[2] = {
            { S3W_SLICE_LIT("content-type"), S3W_SLICE_LIT(ctype) },
            { S3W_SLICE_LIT("host"), s3w_slice_cstr(host) },
        };
        struct sigv4_sign_params sp = {
            .method = S3W_SLICE_LIT("POST"),
            .target = s3w_slice_cstr(target),
            .headers = sh,
            .n_headers = 2,
            .region = s3w_slice_cstr(region),
            .service = S3W_SLICE_LIT("sts"),
            .uri_mode = SIGV4_URI_GENERIC, /* STS: non-S3 canonical rules */
            .now = wall_s(),
            .payload = s3w_slice(hash, 64),
        };
        struct sigv4_credentials sc = {
            s3w_slice_cstr(base->access_key_id), s3w_slice_cstr(base->secret_access_key),
            s3w_slice_cstr(base->session_token),
        };
        struct sigv4_error se;
        if (sigv4_sign_headers(&sp, &sc, &sd, &se) != 0) {
            rc = ferr(err, CREDS_E_INVALID, "signing the STS request failed: %s", se.message);
            goto cleanup;
        }
        signed_ = true;
        ADDH("X-Amz-Date: %s", sd.amz_date);
        ADDH("X-Amz-Content-Sha256: %.*s", (int)sd.content_sha256_len, sd.content_sha256);
        if (sd.security_token.len)
            ADDH("X-Amz-Security-Token: %.*s", (int)sd.security_token.len,
                 sd.security_token.ptr);
        ADDH("Authorization: %.*s", (int)sd.authorization_len, sd.authorization);
    }
#undef ADDH
    struct s3w_buf resp;
    s3w_buf_init(&resp, CREDS_MAX_INPUT);
    long status = 0;
    rc = http_do(f, "POST", endpoint, h, form->ptr, form->len, &status, &resp, err);
    if (rc == CREDS_OK) {
        rc = creds_parse_sts_xml(resp.ptr ? resp.ptr : "", resp.len, out, err);
        if (rc == CREDS_OK && status != 200) {
            creds_wipe(out);
            rc = ferr(err, CREDS_E_REMOTE, "STS answered HTTP %ld", status);
        } else if (rc == CREDS_E_INVALID && status != 200) {
            rc = ferr(err, CREDS_E_REMOTE, "STS answered HTTP %ld", status);
        }
    }
    s3w_buf_cleanup(&resp);
cleanup:
    s3w_wipe(line, sizeof line);
    if (signed_)
        sigv4_signed_cleanup(&sd);
    slist_free_wiped(h);
    return rc;
}

static int assume_role(struct fetch *f, const struct creds *base, const char *role_arn,
                       const char *session, const char *external_id, uint32_t duration,
                       const char *endpoint_cfg, const char *region, struct creds *out,
                       struct creds_error *err)
{
    char ep[MAX_URL];
    if (sts_endpoint(f->ch, endpoint_cfg, region, ep, sizeof ep) != 0)
        return ferr(err, CREDS_E_INVALID, "STS endpoint too long");
    struct s3w_buf form;
    s3w_buf_init(&form, 8192);
    int rc = creds_form_assume_role(role_arn, session && *session ? session : "s3warden",
                                    external_id, duration, &form);
    if (rc != 0)
        rc = ferr(err, CREDS_E_INVALID, "AssumeRole parameters too long");
    else
        rc = sts_call(f, ep, region, &form, base, out, err);
    s3w_buf_cleanup(&form);
    if (rc != CREDS_OK) {
        char tmp[sizeof err->message];
        snprintf(tmp, sizeof tmp, "%s", err->message);
        ferr(err, rc, "AssumeRole %.120s: %s", role_arn, tmp);
    }
    return rc;
}

static int web_identity(struct fetch *f, const char *token_file, const char *role_arn,
                        const char *session, uint32_t duration, const char *endpoint_cfg,
                        struct creds *out, struct creds_error *err)
{
    if (!token_file || !role_arn)
        return ferr(err, CREDS_E_ABSENT, "no web identity token file / role ARN");
    struct s3w_buf tok, form;
    s3w_buf_init(&tok, CREDS_MAX_INPUT);
    s3w_buf_init(&form, 3 * CREDS_MAX_INPUT + 4096);
    bool missing;
    char ep[MAX_URL];
    /* the token file is re-read at every refresh: Kubernetes rotates it */
    int rc = read_capped(token_file, CREDS_MAX_INPUT, &tok, &missing, err);
    if (rc == CREDS_OK && rtrim(s3w_buf_slice(&tok)).len == 0)
        rc = ferr(err, CREDS_E_INVALID, "web identity token file %.200s is empty", token_file);
    if (rc == CREDS_OK && sts_endpoint(f->ch, endpoint_cfg, f->ch->region, ep, sizeof ep) != 0)
        rc = ferr(err, CREDS_E_INVALID, "STS endpoint too long");
    if (rc == CREDS_OK &&
        creds_form_web_identity(role_arn, session && *session ? session : "s3warden",
                                s3w_buf_slice(&tok), duration, &form) != 0)
        rc = ferr(err, CREDS_E_INVALID, "AssumeRoleWithWebIdentity parameters too long");
    if (rc == CREDS_OK) {
        rc = sts_call(f, ep, f->ch->region, &form, NULL, out, err);
        if (rc != CREDS_OK) {
            char tmp[sizeof err->message];
            snprintf(tmp, sizeof tmp, "%s", err->message);
            ferr(err, rc, "AssumeRoleWithWebIdentity %.120s: %s", role_arn, tmp);
        }
    }
    s3w_buf_cleanup(&tok);
    s3w_buf_cleanup(&form);
    return rc;
}

/* ---- IMDSv2 ------------------------------------------------------------------ */

static bool role_name_ok(struct s3w_slice s)
{
    if (s.len == 0 || s.len > 64)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.ptr[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              strchr("+=,.@_-", c)))
            return false;
    }
    return true;
}

static int imds(struct fetch *f, const char *endpoint_cfg, struct creds *out,
                struct creds_error *err)
{
    const struct chain *ch = f->ch;
    if (!endpoint_cfg && ch->env[E_IMDS_DISABLED] &&
        strcasecmp(ch->env[E_IMDS_DISABLED], "true") == 0)
        return ferr(err, CREDS_E_ABSENT, "AWS_EC2_METADATA_DISABLED is true");
    const char *ep = endpoint_cfg ? endpoint_cfg
                     : ch->env[E_IMDS_ENDPOINT] ? ch->env[E_IMDS_ENDPOINT]
                                                : CREDS_IMDS_DEFAULT_ENDPOINT;
    size_t el = strlen(ep);
    while (el && ep[el - 1] == '/')
        el--;
    char url[MAX_URL + 200], tokhdr[512], line[256];
    struct curl_slist *h = NULL, *t;
    struct s3w_buf resp;
    s3w_buf_init(&resp, CREDS_MAX_INPUT);
    long status = 0;
    int rc;
    if (el > MAX_URL) {
        rc = ferr(err, CREDS_E_INVALID, "IMDS endpoint too long");
        goto cleanup;
    }
    /* 1. session token */
    snprintf(url, sizeof url, "%.*s%s", (int)el, ep, CREDS_IMDS_TOKEN_PATH);
    snprintf(line, sizeof line, "%s: %s", CREDS_IMDS_TOKEN_TTL_HEADER, IMDS_TOKEN_TTL);
    if (!(h = curl_slist_append(NULL, line)) || !(t = curl_slist_append(h, "Content-Type:"))) {
        rc = ferr(err, CREDS_E_REMOTE, "out of memory (headers)");
        goto cleanup;
    }
    rc = http_do(f, "PUT", url, h, "", 0, &status, &resp, err);
    slist_free_wiped(h);
    h = NULL;
    if (rc != CREDS_OK)
        goto cleanup;
    struct s3w_slice tk = rtrim(s3w_buf_slice(&resp));
    if (status != 200 || tk.len == 0 || tk.len > 400 || memchr(tk.ptr, '\n', tk.len) ||
        memchr(tk.ptr, '\r', tk.len)) {
        rc = ferr(err, CREDS_E_REMOTE, "IMDS token PUT %.*s%s answered HTTP %ld", (int)el, ep,
                  CREDS_IMDS_TOKEN_PATH, status);
        goto cleanup;
    }
    snprintf(tokhdr, sizeof tokhdr, "%s: %.*s", CREDS_IMDS_TOKEN_HEADER, (int)tk.len, tk.ptr);
    if (!(h = curl_slist_append(NULL, tokhdr))) {
        rc = ferr(err, CREDS_E_REMOTE, "out of memory (headers)");
        goto cleanup;
    }
    /* 2. the role name */
    snprintf(url, sizeof url, "%.*s%s", (int)el, ep, CREDS_IMDS_ROLE_PATH);
    rc = http_do(f, "GET", url, h, NULL, 0, &status, &resp, err);
    if (rc != CREDS_OK)
        goto cleanup;
    if (status == 404) {
        rc = ferr(err, CREDS_E_ABSENT, "IMDS: no instance role attached (HTTP 404)");
        goto cleanup;
    }
    struct s3w_slice role = s3w_buf_slice(&resp);
    role.len = role.ptr ? strcspn(role.ptr, "\r\n") : 0; /* first line: the role */
    if (status != 200 || !role_name_ok(role)) {
        rc = ferr(err, CREDS_E_REMOTE, "IMDS role list answered HTTP %ld%s", status,
                  status == 200 ? " with no valid role name" : "");
        goto cleanup;
    }
    snprintf(url, sizeof url, "%.*s%s%.*s", (int)el, ep, CREDS_IMDS_ROLE_PATH, (int)role.len,
             role.ptr);
    /* 3. the credentials */
    rc = http_do(f, "GET", url, h, NULL, 0, &status, &resp, err);
    if (rc != CREDS_OK)
        goto cleanup;
    if (status != 200) {
        rc = ferr(err, CREDS_E_REMOTE, "IMDS credentials GET %.300s answered HTTP %ld", url,
                  status);
        goto cleanup;
    }
    rc = creds_parse_metadata_json(resp.ptr, resp.len, out, err);
    if (rc != CREDS_OK) {
        char tmp[sizeof err->message];
        snprintf(tmp, sizeof tmp, "%s", err->message);
        ferr(err, rc, "IMDS: %s", tmp);
    }
cleanup:
    s3w_wipe(tokhdr, sizeof tokhdr);
    slist_free_wiped(h);
    s3w_buf_cleanup(&resp);
    return rc;
}

/* ---- container endpoint -------------------------------------------------- */

/* http FULL_URI hosts the SDKs accept: loopback, the ECS agent and the EKS
 * Pod Identity agent. */
static bool ecs_host_ok(const char *url)
{
    if (strncasecmp(url, "https://", 8) == 0)
        return true;
    if (strncasecmp(url, "http://", 7) != 0)
        return false;
    const char *a = url + 7;
    size_t al = strcspn(a, "/?#");
    char host[128];
    if (al >= sizeof host)
        return false;
    memcpy(host, a, al);
    host[al] = '\0';
    if (host[0] == '[') {
        char *e = strchr(host, ']');
        if (!e)
            return false;
        *e = '\0';
        return strcmp(host + 1, "::1") == 0 || strcasecmp(host + 1, "fd00:ec2::23") == 0;
    }
    char *colon = strchr(host, ':');
    if (colon)
        *colon = '\0';
    return strncmp(host, "127.", 4) == 0 || strcasecmp(host, "localhost") == 0 ||
           strcmp(host, "169.254.170.2") == 0 || strcmp(host, "169.254.170.23") == 0;
}

static int ecs(struct fetch *f, const struct prov *p, struct creds *out,
               struct creds_error *err)
{
    const struct chain *ch = f->ch;
    char url[MAX_URL], auth[CREDS_MAX_TOKEN + 1];
    struct curl_slist *h = NULL;
    struct s3w_buf tok, resp;
    s3w_buf_init(&tok, CREDS_MAX_TOKEN);
    s3w_buf_init(&resp, CREDS_MAX_INPUT);
    int rc = creds_ecs_endpoint(chain_env, (void *)(uintptr_t)ch, p->endpoint, url, sizeof url,
                                auth, sizeof auth, err);
    if (rc != CREDS_OK)
        goto cleanup;
    if (!p->endpoint && ch->env[E_ECS_FULL] && !ecs_host_ok(url)) {
        rc = ferr(err, CREDS_E_INVALID,
                  "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https or a loopback / ECS / EKS "
                  "agent address");
        goto cleanup;
    }
    const char *tf = p->authorization_token_file ? p->authorization_token_file
                                                 : ch->env[E_ECS_TOKEN_FILE];
    if (tf) {
        /* re-read at every refresh: EKS Pod Identity rotates it */
        bool missing;
        rc = read_capped(tf, CREDS_MAX_TOKEN, &tok, &missing, err);
        if (rc != CREDS_OK) {
            rc = ferr(err, CREDS_E_INVALID, "container authorization token file %.200s: %s", tf,
                      missing ? "does not exist" : "unreadable or too large");
            goto cleanup;
        }
        struct s3w_slice s = rtrim(s3w_buf_slice(&tok));
        snprintf(auth, sizeof auth, "%.*s", (int)s.len, s.ptr ? s.ptr : "");
    }
    if (!header_safe(auth)) {
        rc = ferr(err, CREDS_E_INVALID, "the container authorization token holds a line break");
        goto cleanup;
    }
    if (auth[0]) {
        char line[CREDS_MAX_TOKEN + 32];
        snprintf(line, sizeof line, "Authorization: %s", auth);
        h = curl_slist_append(NULL, line);
        s3w_wipe(line, sizeof line);
        if (!h) {
            rc = ferr(err, CREDS_E_REMOTE, "out of memory (headers)");
            goto cleanup;
        }
    }
    long status = 0;
    rc = http_do(f, "GET", url, h, NULL, 0, &status, &resp, err);
    if (rc != CREDS_OK)
        goto cleanup;
    if (status != 200) {
        size_t ul = strcspn(url, "?");
        rc = ferr(err, CREDS_E_REMOTE, "container endpoint %.*s answered HTTP %ld",
                  (int)(ul > 300 ? 300 : ul), url, status);
        goto cleanup;
    }
    rc = creds_parse_metadata_json(resp.ptr, resp.len, out, err);
    if (rc != CREDS_OK) {
        char tmp[sizeof err->message];
        snprintf(tmp, sizeof tmp, "%s", err->message);
        ferr(err, rc, "container endpoint: %s", tmp);
    }
cleanup:
    s3w_wipe(auth, sizeof auth);
    slist_free_wiped(h);
    s3w_buf_cleanup(&tok);
    s3w_buf_cleanup(&resp);
    return rc;
}

/* ---- shared credentials / config profile --------------------------------- */

struct files {
    struct s3w_buf cred, conf;
    bool have_cred, have_conf;
};

static int profile_resolve(struct fetch *f, struct files *fl, const char *name, int depth,
                           struct creds *out, struct creds_error *err);

static int profile_role(struct fetch *f, struct files *fl, const char *name, int depth,
                        const struct creds_profile *pr, struct creds *out,
                        struct creds_error *err)
{
    const struct chain *ch = f->ch;
    const char *region = pr->region[0] ? pr->region : ch->region;
    const char *ep = ch->ar_sts_endpoint; /* profiles have no STS endpoint of their own */
    if (pr->web_identity_token_file[0])
        return web_identity(f, pr->web_identity_token_file, pr->role_arn,
                            pr->role_session_name, pr->duration_seconds, ep, out, err);
    struct creds base;
    memset(&base, 0, sizeof base);
    int rc;
    if (pr->source_profile[0]) {
        if (strcmp(pr->source_profile, name) == 0) {
            /* a profile may name itself as source: its own keys are the base */
            if (!pr->has_keys)
                return ferr(err, CREDS_E_INVALID, "profile %.64s is its own source_profile but "
                                                  "has no keys", name);
            base = pr->creds;
            rc = CREDS_OK;
        } else {
            rc = profile_resolve(f, fl, pr->source_profile, depth + 1, &base, err);
        }
    } else if (strcmp(pr->credential_source, "Environment") == 0) {
        rc = creds_from_env(chain_env, (void *)(uintptr_t)ch, &base, err);
    } else if (strcmp(pr->credential_source, "Ec2InstanceMetadata") == 0) {
        rc = imds(f, NULL, &base, err);
    } else if (strcmp(pr->credential_source, "EcsContainer") == 0) {
        struct prov none = { .source = CONFIG_CRED_ECS };
        rc = ecs(f, &none, &base, err);
    } else {
        return ferr(err, CREDS_E_INVALID,
                    "profile %.64s has role_arn but no source_profile, credential_source "
                    "(Environment | Ec2InstanceMetadata | EcsContainer) or "
                    "web_identity_token_file", name);
    }
    if (rc == CREDS_OK)
        rc = assume_role(f, &base, pr->role_arn, pr->role_session_name, pr->external_id,
                         pr->duration_seconds, ep, region, out, err);
    creds_wipe(&base);
    return rc;
}

static int profile_resolve(struct fetch *f, struct files *fl, const char *name, int depth,
                           struct creds *out, struct creds_error *err)
{
    if (depth > MAX_PROFILE_DEPTH)
        return ferr(err, CREDS_E_INVALID, "profile %.64s: source_profile chain longer than %d",
                    name, MAX_PROFILE_DEPTH);
    struct creds_profile *pr = malloc(sizeof *pr);
    if (!pr)
        return ferr(err, CREDS_E_REMOTE, "out of memory");
    int rc = creds_profile_parse(fl->have_cred ? fl->cred.ptr : NULL, fl->cred.len,
                                 fl->have_conf ? fl->conf.ptr : NULL, fl->conf.len, name, pr, err);
    if (rc == CREDS_OK) {
        if (pr->role_arn[0])
            rc = profile_role(f, fl, name, depth, pr, out, err);
        else if (pr->has_keys)
            *out = pr->creds;
        else
            rc = ferr(err, CREDS_E_INVALID, "profile %.64s has neither keys nor role_arn", name);
    }
    creds_wipe(&pr->creds);
    free(pr);
    return rc;
}

static int profile(struct fetch *f, const struct prov *p, char *label, size_t lcap,
                   struct creds *out, struct creds_error *err)
{
    const struct chain *ch = f->ch;
    const char *name = p->profile ? p->profile : ch->env[E_PROFILE] ? ch->env[E_PROFILE]
                                                                   : "default";
    snprintf(label, lcap, "profile:%s", name);
    char cpath[1024], fpath[1024];
    const char *home = ch->env[E_HOME] ? ch->env[E_HOME] : "";
    snprintf(cpath, sizeof cpath, "%s", p->credentials_file ? p->credentials_file
                                        : ch->env[E_CRED_FILE] ? ch->env[E_CRED_FILE] : "");
    if (!cpath[0])
        snprintf(cpath, sizeof cpath, "%s/.aws/credentials", home);
    snprintf(fpath, sizeof fpath, "%s", p->config_file ? p->config_file
                                        : ch->env[E_CONFIG_FILE] ? ch->env[E_CONFIG_FILE] : "");
    if (!fpath[0])
        snprintf(fpath, sizeof fpath, "%s/.aws/config", home);
    struct files fl;
    s3w_buf_init(&fl.cred, CREDS_MAX_INPUT);
    s3w_buf_init(&fl.conf, CREDS_MAX_INPUT);
    bool mc, mf;
    struct creds_error e2;
    int rc = read_capped(cpath, CREDS_MAX_INPUT, &fl.cred, &mc, err);
    int rc2 = read_capped(fpath, CREDS_MAX_INPUT, &fl.conf, &mf, &e2);
    fl.have_cred = rc == CREDS_OK;
    fl.have_conf = rc2 == CREDS_OK;
    if (mc && mf) {
        rc = ferr(err, CREDS_E_ABSENT, "neither %.200s nor %.200s exists", cpath, fpath);
    } else if (rc != CREDS_OK && !mc) {
        /* an unreadable file is an error, not "absent" (err says which) */
    } else if (rc2 != CREDS_OK && !mf) {
        *err = e2;
        rc = rc2;
    } else {
        rc = profile_resolve(f, &fl, name, 0, out, err);
    }
    s3w_buf_cleanup(&fl.cred);
    s3w_buf_cleanup(&fl.conf);
    return rc;
}

/* ---- the chain ------------------------------------------------------------ */

static const char *source_name(enum config_cred_source s)
{
    switch (s) {
    case CONFIG_CRED_STATIC: return "static";
    case CONFIG_CRED_ENV: return "env";
    case CONFIG_CRED_PROFILE: return "profile";
    case CONFIG_CRED_IMDS: return "imds";
    case CONFIG_CRED_ECS: return "ecs";
    case CONFIG_CRED_WEB_IDENTITY: return "web_identity";
    }
    return "?";
}

static int one_provider(struct fetch *f, const struct prov *p, char *label, size_t lcap,
                        struct creds *out, struct creds_error *err)
{
    snprintf(label, lcap, "%s", source_name(p->source));
    switch (p->source) {
    case CONFIG_CRED_STATIC: {
        memset(out, 0, sizeof *out);
        if (!p->access_key_id || !p->secret)
            return ferr(err, CREDS_E_ABSENT, "no static keys");
        int a = snprintf(out->access_key_id, sizeof out->access_key_id, "%s", p->access_key_id);
        int b = snprintf(out->secret_access_key, sizeof out->secret_access_key, "%s", p->secret);
        int c = snprintf(out->session_token, sizeof out->session_token, "%s",
                         p->session_token ? p->session_token : "");
        if (a < 0 || b < 0 || c < 0 || (size_t)a >= sizeof out->access_key_id ||
            (size_t)b >= sizeof out->secret_access_key ||
            (size_t)c >= sizeof out->session_token) {
            creds_wipe(out);
            return ferr(err, CREDS_E_INVALID, "static keys too long");
        }
        return CREDS_OK;
    }
    case CONFIG_CRED_ENV:
        return creds_from_env(chain_env, (void *)(uintptr_t)f->ch, out, err);
    case CONFIG_CRED_PROFILE:
        return profile(f, p, label, lcap, out, err);
    case CONFIG_CRED_IMDS:
        return imds(f, p->endpoint, out, err);
    case CONFIG_CRED_ECS:
        return ecs(f, p, out, err);
    case CONFIG_CRED_WEB_IDENTITY:
        return web_identity(f, p->token_file ? p->token_file : f->ch->env[E_WEB_TOKEN_FILE],
                            p->role_arn ? p->role_arn : f->ch->env[E_ROLE_ARN],
                            p->session_name ? p->session_name : f->ch->env[E_ROLE_SESSION], 0,
                            p->sts_endpoint, out, err);
    }
    return ferr(err, CREDS_E_INVALID, "unknown provider");
}

/* Walks the chain (first provider that yields wins, as the SDKs' default
 * chain: any failure moves on to the next one), then assume_role on top.
 * `reason` collects every provider's failure ("imds: ...; ecs: ..."). */
static int fetch_chain(struct fetch *f, struct creds *out, char *label, size_t lcap,
                       char *reason, size_t rcap)
{
    const struct chain *ch = f->ch;
    size_t rl = 0;
    reason[0] = '\0';
    int rc = CREDS_E_ABSENT;
    struct creds_error err;
    char lb[64] = "";
    for (size_t i = 0; i < ch->n && !atomic_load(&f->m->stop); i++) {
        err.message[0] = '\0';
        rc = one_provider(f, &ch->p[i], lb, sizeof lb, out, &err);
        if (rc == CREDS_OK)
            break;
        creds_wipe(out);
        int n = snprintf(reason + rl, rcap - rl, "%s%s: %s", rl ? "; " : "", lb, err.message);
        if (n > 0)
            rl = (size_t)n >= rcap - rl ? rcap - 1 : rl + (size_t)n;
    }
    if (rc != CREDS_OK) {
        if (!reason[0])
            snprintf(reason, rcap, "the credentials chain is empty");
        return rc;
    }
    snprintf(label, lcap, "%s", lb);
    if (ch->ar_enabled) {
        struct creds base = *out;
        creds_wipe(out);
        err.message[0] = '\0';
        rc = assume_role(f, &base, ch->ar_role_arn, ch->ar_session_name, ch->ar_external_id,
                         ch->ar_duration, ch->ar_sts_endpoint,
                         ch->ar_region ? ch->ar_region : ch->region, out, &err);
        creds_wipe(&base);
        if (rc != CREDS_OK) {
            snprintf(reason, rcap, "%s (base credentials from %s)", err.message, lb);
            return rc;
        }
        snprintf(label, lcap, "assume_role(%s)", lb);
    }
    return CREDS_OK;
}

/* ---- the refresh thread --------------------------------------------------- */

static uint64_t rng_next(uint64_t *s)
{
    /* xorshift64*: jitter only, not security */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

static void set_current(struct creds_mgr *m, struct snap *s)
{
    struct snap *old = m->current;
    m->current = s;
    snap_unref(old); /* wipes unless a worker still holds it */
}

static void timed_wait(struct creds_mgr *m, int64_t until_mono)
{
    struct timespec ts;
    int64_t left = until_mono - mono_ms();
    if (left <= 0)
        return;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += left / 1000;
    ts.tv_nsec += (left % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_cond_timedwait(&m->cv, &m->mu, &ts);
}

static void *refresh_thread(void *arg)
{
    struct creds_mgr *m = arg;
    struct chain *ch = NULL;
    uint64_t gen_seen = 0, rng = 0;
    if (getrandom(&rng, sizeof rng, 0) != (ssize_t)sizeof rng || rng == 0)
        rng = (uint64_t)mono_ms() | 1;
    int64_t next_fetch = 0; /* monotonic ms; INT64_MAX = never */
    int64_t last_end = 0;   /* monotonic ms when the last attempt finished */
    unsigned attempt = 0;
    bool drop_on_fail = false;   /* first fetch after a reload with old creds live */
    bool outage_logged = false;  /* ERROR "no valid credentials" said for this outage */
    bool warn_logged = false;    /* WARN "refresh failing, old ones still used" said */
    struct snap *fresh = NULL;

    pthread_mutex_lock(&m->mu);
    while (!atomic_load(&m->stop)) {
        if (m->gen != gen_seen) {
            chain_unref(ch);
            ch = m->latest;
            atomic_fetch_add(&ch->refs, 1);
            drop_on_fail = gen_seen != 0 && m->current != NULL;
            gen_seen = m->gen;
            next_fetch = 0;
            attempt = 0;
        }
        if (m->poke) {
            /* rate-limited: every request that meets ExpiredToken may poke,
             * and STS / IMDS must not be hammered for it */
            m->poke = false;
            int64_t earliest = last_end ? last_end + POKE_MIN_INTERVAL_MS : 0;
            if (earliest < next_fetch)
                next_fetch = earliest;
        }
        int64_t now = wall_s();
        if (m->current && m->current->pub.expiration && now >= m->current->pub.expiration) {
            char kid[CREDS_MAX_KEY_ID + 1], at[32], from[64];
            snprintf(kid, sizeof kid, "%s", m->current->c.access_key_id);
            snprintf(from, sizeof from, "%s", m->current->provider);
            fmt_time(m->current->pub.expiration, at);
            set_current(m, NULL);
            if (!outage_logged) {
                mlog(m, "ERROR",
                     "no valid upstream credentials: those from %s (access key %s) expired at "
                     "%s and refreshing failed: %s; answering 503 ServiceUnavailable until a "
                     "fetch succeeds",
                     from, kid, at,
                     m->reason[0] ? m->reason : "no attempt finished yet");
                outage_logged = true;
            }
        }
        if (mono_ms() >= next_fetch) {
            pthread_mutex_unlock(&m->mu);
            struct fetch f = { m, ch };
            fresh = calloc(1, sizeof *fresh);
            char reason[REASON_CAP];
            int rc;
            if (!fresh) {
                rc = CREDS_E_REMOTE;
                snprintf(reason, sizeof reason, "out of memory");
            } else {
                rc = fetch_chain(&f, &fresh->c, fresh->provider, sizeof fresh->provider, reason,
                                 sizeof reason);
            }
            pthread_mutex_lock(&m->mu);
            if (atomic_load(&m->stop) || m->gen != gen_seen) {
                /* stopping, or a reload replaced the chain mid-fetch: redo */
                if (fresh)
                    creds_wipe(&fresh->c);
                free(fresh);
                fresh = NULL;
                continue;
            }
            m->attempts++;
            now = wall_s();
            if (rc == CREDS_OK && fresh->c.expiration && fresh->c.expiration <= now) {
                rc = CREDS_E_INVALID;
                char at[32];
                fmt_time(fresh->c.expiration, at);
                snprintf(reason, sizeof reason, "%s returned credentials that expired at %s",
                         fresh->provider, at);
            }
            if (rc == CREDS_OK) {
                atomic_init(&fresh->refs, 1);
                fresh->pub.sigv4.access_key_id = s3w_slice_cstr(fresh->c.access_key_id);
                fresh->pub.sigv4.secret = s3w_slice_cstr(fresh->c.secret_access_key);
                fresh->pub.sigv4.session_token = s3w_slice_cstr(fresh->c.session_token);
                fresh->pub.expiration = fresh->c.expiration;
                fresh->pub.provider = fresh->provider;
                bool was_valid = m->current != NULL;
                char at[32];
                fmt_time(fresh->c.expiration, at);
                if (!was_valid || outage_logged || warn_logged || drop_on_fail)
                    mlog(m, "INFO", "upstream credentials from %s (access key %s, expire %s)",
                         fresh->provider, fresh->c.access_key_id, at);
                set_current(m, fresh);
                fresh = NULL;
                m->successes++;
                m->reason[0] = '\0';
                outage_logged = warn_logged = drop_on_fail = false;
                attempt = 0;
                int64_t exp = m->current->pub.expiration;
                if (exp == 0) {
                    next_fetch = INT64_MAX; /* static keys: nothing to refresh */
                } else {
                    int64_t at_s = creds_refresh_at(now, exp, ch->refresh_before);
                    next_fetch = mono_ms() + (at_s - now) * 1000;
                }
            } else {
                if (fresh) {
                    creds_wipe(&fresh->c);
                    free(fresh);
                    fresh = NULL;
                }
                snprintf(m->reason, sizeof m->reason, "%s", reason);
                if (drop_on_fail && m->current) {
                    set_current(m, NULL);
                    mlog(m, "ERROR",
                         "no valid upstream credentials: the reloaded credentials chain yields "
                         "none (%s); the previous ones are dropped; answering 503 "
                         "ServiceUnavailable until a fetch succeeds", reason);
                    outage_logged = true;
                } else if (m->current) {
                    if (!warn_logged) {
                        char at[32];
                        fmt_time(m->current->pub.expiration, at);
                        mlog(m, "WARN",
                             "refreshing upstream credentials failed (%s); the current ones "
                             "(from %s, access key %s) stay in use until they expire at %s",
                             reason, m->current->provider, m->current->c.access_key_id, at);
                        warn_logged = true;
                    }
                } else if (!outage_logged) {
                    mlog(m, "ERROR",
                         "no valid upstream credentials: %s; answering 503 ServiceUnavailable "
                         "until a fetch succeeds", reason);
                    outage_logged = true;
                }
                drop_on_fail = false;
                uint64_t d = creds_retry_delay_ms(attempt,
                                                  (double)(rng_next(&rng) >> 11) * 0x1.0p-53);
                if (ch->retry_max_ms && d > ch->retry_max_ms)
                    d = ch->retry_max_ms;
                if (attempt < 16)
                    attempt++;
                next_fetch = mono_ms() + (int64_t)d;
            }
            last_end = mono_ms();
            pthread_cond_broadcast(&m->ready);
            continue;
        }
        /* sleep until the next fetch, the current credentials' expiry (to
         * log the transition), a poke, a reload or stop */
        int64_t until = next_fetch;
        if (m->current && m->current->pub.expiration) {
            /* in ms: wake at the second the credentials stop being served */
            int64_t ex = mono_ms() + m->current->pub.expiration * 1000 - wall_ms();
            if (ex < until)
                until = ex;
        }
        if (until == INT64_MAX)
            pthread_cond_wait(&m->cv, &m->mu);
        else
            timed_wait(m, until);
    }
    pthread_mutex_unlock(&m->mu);
    chain_unref(ch);
    return NULL;
}

/* ---- lifecycle -------------------------------------------------------------- */

int creds_mgr_new(const struct config_credentials *cc, const struct creds_mgr_opts *opts,
                  struct creds_mgr **out)
{
    *out = NULL;
    if (!cc || cc->nchain == 0)
        return CREDS_MGR_E_CONFIG;
    struct creds_mgr *m = calloc(1, sizeof *m);
    if (!m)
        return CREDS_MGR_E_NOMEM;
    m->latest = chain_new(cc, opts);
    if (!m->latest) {
        free(m);
        return CREDS_MGR_E_NOMEM;
    }
    m->gen = 1;
    m->log = opts ? opts->log : NULL;
    m->log_ud = opts ? opts->log_ud : NULL;
    atomic_init(&m->stop, false);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->cv, &ca);
    pthread_cond_init(&m->ready, &ca);
    pthread_condattr_destroy(&ca);
    /* libcurl's global state: reference counted and thread-safe since
     * 7.84; main() also calls it before any thread starts. */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (pthread_create(&m->thread, NULL, refresh_thread, m) != 0) {
        curl_global_cleanup();
        chain_unref(m->latest);
        pthread_cond_destroy(&m->cv);
        pthread_cond_destroy(&m->ready);
        pthread_mutex_destroy(&m->mu);
        free(m);
        return CREDS_MGR_E_THREAD;
    }
    *out = m;
    return CREDS_MGR_OK;
}

int creds_mgr_reconfigure(struct creds_mgr *m, const struct config_credentials *cc,
                          const struct creds_mgr_opts *opts)
{
    if (!cc || cc->nchain == 0)
        return CREDS_MGR_E_CONFIG;
    struct chain *c = chain_new(cc, opts);
    if (!c)
        return CREDS_MGR_E_NOMEM;
    pthread_mutex_lock(&m->mu);
    bool same = chain_same(m->latest, c);
    struct chain *old = NULL;
    if (!same) {
        old = m->latest;
        m->latest = c;
        m->gen++;
        pthread_cond_signal(&m->cv);
    }
    pthread_mutex_unlock(&m->mu);
    chain_unref(same ? c : old);
    return same ? 0 : 1;
}

void creds_mgr_free(struct creds_mgr *m)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    atomic_store(&m->stop, true);
    pthread_cond_signal(&m->cv);
    pthread_mutex_unlock(&m->mu);
    pthread_join(m->thread, NULL);
    set_current(m, NULL);
    chain_unref(m->latest);
    pthread_cond_destroy(&m->cv);
    pthread_cond_destroy(&m->ready);
    pthread_mutex_destroy(&m->mu);
    s3w_wipe(m->reason, sizeof m->reason);
    free(m);
    curl_global_cleanup();
}
