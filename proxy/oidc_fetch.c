/*
 * oidc_fetch.c - OIDC discovery and JWKS cache (contract in oidc_fetch.h).
 *
 * The same shape as creds_fetch.c, for the same reasons: a fetch is two
 * dependent GETs (discovery document, then its jwks_uri) done rarely, so a
 * plain thread with libcurl easy handles and timed condition waits says it
 * directly; every transfer has timeouts and a progress callback that aborts
 * it when the manager stops; workers only read published key sets under a
 * short mutex.
 */
#include "oidc_fetch.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "jwt.h"
#include "log.h"
#include "monoclock.h"
#include "oidc_schedule.h"
#include "sigmask.h"

#define CONNECT_TIMEOUT_MS 5000
#define TRANSFER_TIMEOUT_MS 10000
#define BACKOFF_FIRST_MS 2000
#define BACKOFF_MAX_MS 300000

/* An immutable key set, reference counted; `keys` first: put() casts back. */
struct keyset {
    struct jwks keys;
    atomic_uint refs;
    int64_t fetched_s; /* wall clock of the fetch */
};

static void keyset_unref(struct keyset *s)
{
    if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    jwks_cleanup(&s->keys);
    free(s);
}

struct entry {
    char *url, *ca_file;        /* the key: one cache per issuer and trust store */
    struct keyset *current;     /* one reference; NULL = none yet */
    struct oidc_schedule sched; /* monotonic times */
    uint32_t failures;          /* in a row */
    bool active;                /* configured now (or asked for since): fetched */
    struct entry *next;
};

struct oidc_keys {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    atomic_bool stop;
    struct entry *entries; /* guarded by mu */
};

static bool same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Under mu. NULL when out of memory. */
static struct entry *find_or_add(struct oidc_keys *k, const struct config_oidc_provider *p)
{
    for (struct entry *e = k->entries; e; e = e->next)
        if (strcmp(e->url, p->url) == 0 && same(e->ca_file, p->ca_file)) {
            if (!e->active) {
                e->active = true;
                pthread_cond_signal(&k->cv);
            }
            return e;
        }
    struct entry *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->url = strdup(p->url);
    e->ca_file = p->ca_file ? strdup(p->ca_file) : NULL;
    if (!e->url || (p->ca_file && !e->ca_file)) {
        free(e->url);
        free(e->ca_file);
        free(e);
        return NULL;
    }
    e->active = true;
    e->next = k->entries;
    k->entries = e; /* sched.due_ms 0: fetched at once */
    pthread_cond_signal(&k->cv);
    return e;
}

/* ---- the worker side (sts_key_source) ----------------------------------------- */

static const struct jwks *src_get(void *arg, const struct config_oidc_provider *p)
{
    struct oidc_keys *k = arg;
    const struct jwks *out = NULL;
    pthread_mutex_lock(&k->mu);
    struct entry *e = find_or_add(k, p);
    /* kept on fetch failure, but not past the provider's maximum age */
    if (e && e->current && time(NULL) - e->current->fetched_s <= (int64_t)p->max_jwks_age_seconds) {
        atomic_fetch_add(&e->current->refs, 1);
        out = &e->current->keys;
    }
    pthread_mutex_unlock(&k->mu);
    return out;
}

static void src_put(void *arg, const struct jwks *keys)
{
    (void)arg;
    keyset_unref((struct keyset *)(uintptr_t)keys);
}

/* A token names a kid the key set lacks: true (the caller says retry) when
 * a fetch for it is coming (the rule: oidc_schedule.h). */
static bool src_kid_unknown(void *arg, const struct config_oidc_provider *p)
{
    struct oidc_keys *k = arg;
    bool retry = false;
    pthread_mutex_lock(&k->mu);
    struct entry *e = find_or_add(k, p);
    if (e) {
        enum oidc_kid_step step = oidc_schedule_kid_unknown(&e->sched, s3w_mono_ms());
        if (step == OIDC_KID_FETCH_NOW || step == OIDC_KID_FETCH_LATER)
            pthread_cond_signal(&k->cv);
        retry = step != OIDC_KID_UNKNOWN;
    }
    pthread_mutex_unlock(&k->mu);
    return retry;
}

struct sts_key_source oidc_keys_source(struct oidc_keys *k)
{
    return (struct sts_key_source){ src_get, src_put, src_kid_unknown, k };
}

void oidc_keys_configure(struct oidc_keys *k, const struct config *cfg)
{
    pthread_mutex_lock(&k->mu);
    for (struct entry *e = k->entries; e; e = e->next)
        e->active = false;
    for (size_t i = 0; i < cfg->noidc_providers; i++)
        if (!cfg->oidc_providers[i].pinned && !find_or_add(k, &cfg->oidc_providers[i]))
            proxy_log("ERROR", "oidc: out of memory registering %s", cfg->oidc_providers[i].url);
    pthread_mutex_unlock(&k->mu);
}

/* ---- HTTP ------------------------------------------------------------------------ */

struct resp {
    struct s3w_buf body;
    bool overflow;
    long max_age; /* Cache-Control max-age; -1 = none */
};

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    struct resp *r = ud;
    if (s3w_buf_append(&r->body, p, size * n) != 0) {
        r->overflow = true;
        return 0;
    }
    return size * n;
}

/* Cache-Control: max-age=N (RFC 9111 section 5.2.2.1); no-cache and
 * no-store ask for the shortest interval. */
static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct resp *r = ud;
    size_t len = size * n;
    static const char name[] = "cache-control:";
    if (len > sizeof name - 1 && strncasecmp(p, name, sizeof name - 1) == 0) {
        char v[256];
        size_t vl = len - (sizeof name - 1) < sizeof v - 1 ? len - (sizeof name - 1)
                                                            : sizeof v - 1;
        memcpy(v, p + sizeof name - 1, vl);
        v[vl] = '\0';
        for (char *c = v; *c; c++)
            if (*c >= 'A' && *c <= 'Z')
                *c = (char)(*c + 32);
        const char *m = strstr(v, "max-age=");
        if (strstr(v, "no-cache") || strstr(v, "no-store"))
            r->max_age = 0;
        else if (m)
            r->max_age = strtol(m + 8, NULL, 10);
    }
    return len;
}

static int on_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)a;
    (void)b;
    (void)c;
    (void)d;
    return atomic_load((atomic_bool *)ud) ? 1 : 0;
}

/* One GET over HTTPS only, no redirect (a redirect could swap the issuer's
 * keys for someone else's), no proxy, the provider's CA file if any. 0 and
 * a 200 body in r, or -1 with why in err. */
static int https_get(struct oidc_keys *k, const char *url, const char *ca_file, struct resp *r,
                     char *err, size_t errcap)
{
    CURL *e = curl_easy_init();
    if (!e) {
        snprintf(err, errcap, "out of memory (curl)");
        return -1;
    }
    char ebuf[CURL_ERROR_SIZE] = "";
    s3w_buf_reset(&r->body);
    r->overflow = false;
    r->max_age = -1;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)TRANSFER_TIMEOUT_MS);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
#else
    curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTPS);
#endif
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
    if (ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, ca_file);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, ebuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(e, CURLOPT_XFERINFODATA, (void *)&k->stop);
    CURLcode rc = curl_easy_perform(e);
    long status = 0;
    int out = 0;
    if (rc != CURLE_OK) {
        snprintf(err, errcap, "GET %.200s: %s", url,
                 r->overflow ? "response too large" : ebuf[0] ? ebuf : curl_easy_strerror(rc));
        out = -1;
    } else if (curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status), status != 200) {
        snprintf(err, errcap, "GET %.200s: HTTP %ld", url, status);
        out = -1;
    }
    curl_easy_cleanup(e);
    return out;
}

/* Discovery, then the JWKS (OpenID Connect Discovery 1.0 sections 4 and 4.3:
 * the document's issuer must be the URL it was fetched for). A new key set
 * with one reference, its refresh interval in *max_age_s; NULL with err. */
static struct keyset *fetch_keys(struct oidc_keys *k, const char *url, const char *ca_file,
                                 long *max_age_s, char *err, size_t errcap)
{
    struct resp r;
    s3w_buf_init(&r.body, OIDC_MAX_DOC_BYTES);
    struct keyset *ks = NULL;
    char *jwks_uri = NULL;
    char disc[600];
    size_t ul = strlen(url);
    snprintf(disc, sizeof disc, "%s%s.well-known/openid-configuration", url,
             ul && url[ul - 1] == '/' ? "" : "/");
    if (https_get(k, disc, ca_file, &r, err, errcap))
        goto out;
    cJSON *doc = cJSON_ParseWithLength(r.body.ptr, r.body.len);
    const cJSON *iss = cJSON_GetObjectItemCaseSensitive(doc, "issuer");
    const cJSON *ju = cJSON_GetObjectItemCaseSensitive(doc, "jwks_uri");
    if (!cJSON_IsString(iss) || strcmp(iss->valuestring, url) != 0)
        snprintf(err, errcap, "%.200s: \"issuer\" is not %.200s", disc, url);
    else if (!cJSON_IsString(ju) || strncmp(ju->valuestring, "https://", 8) != 0)
        snprintf(err, errcap, "%.200s: no https \"jwks_uri\"", disc);
    else
        jwks_uri = strdup(ju->valuestring);
    cJSON_Delete(doc);
    if (!jwks_uri || https_get(k, jwks_uri, ca_file, &r, err, errcap))
        goto out;
    ks = calloc(1, sizeof *ks);
    char perr[256] = "";
    int prc = ks ? jwks_parse(s3w_buf_slice(&r.body), JWKS_SKIP_UNUSABLE, &ks->keys, perr,
                              sizeof perr)
                 : JWT_E_INTERNAL;
    if (!prc && perr[0])
        proxy_log("WARN", "oidc: %.200s: %s (the other keys are used)", jwks_uri, perr);
    if (prc || ks->keys.n == 0) {
        snprintf(err, errcap, "%.200s: %s", jwks_uri,
                 prc ? (perr[0] ? perr : "out of memory") : "no usable signing key");
        if (ks && !prc)
            jwks_cleanup(&ks->keys);
        free(ks);
        ks = NULL;
        goto out;
    }
    atomic_init(&ks->refs, 1);
    ks->fetched_s = time(NULL);
    *max_age_s = r.max_age < 0 ? OIDC_REFRESH_DEFAULT_S
                 : r.max_age < OIDC_REFRESH_MIN_S ? OIDC_REFRESH_MIN_S
                 : r.max_age > OIDC_REFRESH_MAX_S ? OIDC_REFRESH_MAX_S
                                                  : r.max_age;
out:
    free(jwks_uri);
    s3w_buf_cleanup(&r.body);
    return ks;
}

/* ---- the thread --------------------------------------------------------------------- */

/* Under mu: one fetch for e, the lock released for the network. */
static void refresh(struct oidc_keys *k, struct entry *e)
{
    oidc_schedule_begin(&e->sched);
    char *url = strdup(e->url), *ca = e->ca_file ? strdup(e->ca_file) : NULL;
    pthread_mutex_unlock(&k->mu);
    char err[512] = "out of memory";
    long max_age = 0;
    struct keyset *ks = url && (ca || !e->ca_file) ? fetch_keys(k, url, ca, &max_age, err,
                                                                sizeof err)
                                                   : NULL;
    pthread_mutex_lock(&k->mu);
    int64_t now = s3w_mono_ms(), next_in = 0; /* 0: stopping */
    if (ks) {
        if (e->failures || !e->current)
            proxy_log("INFO", "oidc: %s: %zu signing keys fetched; next refresh in %ld s", e->url,
                      ks->keys.n, max_age);
        keyset_unref(e->current);
        e->current = ks;
        e->failures = 0;
        next_in = (int64_t)max_age * 1000;
    } else if (!atomic_load(&k->stop)) {
        int64_t back = BACKOFF_FIRST_MS << (e->failures < 10 ? e->failures : 10);
        e->failures++;
        next_in = back < BACKOFF_MAX_MS ? back : BACKOFF_MAX_MS;
        proxy_log("WARN", "oidc: %s: cannot fetch the signing keys (%s)%s", e->url, err,
                  e->current ? "; the cached keys stay in use up to max_jwks_age_seconds" : "");
    }
    oidc_schedule_end(&e->sched, now, next_in);
    free(url);
    free(ca);
}

static void *run(void *arg)
{
    struct oidc_keys *k = arg;
    pthread_mutex_lock(&k->mu);
    while (!atomic_load(&k->stop)) {
        int64_t now = s3w_mono_ms(), wait = 60000;
        struct entry *due = NULL;
        for (struct entry *e = k->entries; e && !due; e = e->next) {
            if (!e->active)
                continue;
            if (oidc_schedule_due(&e->sched, now))
                due = e;
            else if (e->sched.due_ms - now < wait)
                wait = e->sched.due_ms - now;
        }
        if (due)
            refresh(k, due);
        else
            s3w_cond_wait_ms(&k->cv, &k->mu, wait);
    }
    pthread_mutex_unlock(&k->mu);
    return NULL;
}

struct oidc_keys *oidc_keys_new(void)
{
    struct oidc_keys *k = calloc(1, sizeof *k);
    if (!k)
        return NULL;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&k->mu, NULL);
    pthread_cond_init(&k->cv, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&k->stop, false);
    if (s3w_thread_create(&k->thread, run, k) != 0) {
        pthread_cond_destroy(&k->cv);
        pthread_mutex_destroy(&k->mu);
        free(k);
        return NULL;
    }
    return k;
}

void oidc_keys_free(struct oidc_keys *k)
{
    if (!k)
        return;
    pthread_mutex_lock(&k->mu);
    atomic_store(&k->stop, true);
    pthread_cond_signal(&k->cv);
    pthread_mutex_unlock(&k->mu);
    pthread_join(k->thread, NULL);
    for (struct entry *e = k->entries, *n; e; e = n) {
        n = e->next;
        keyset_unref(e->current);
        free(e->url);
        free(e->ca_file);
        free(e);
    }
    pthread_cond_destroy(&k->cv);
    pthread_mutex_destroy(&k->mu);
    free(k);
}
