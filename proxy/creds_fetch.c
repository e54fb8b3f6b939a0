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
 * This file is the manager: the published snapshot, the API workers call,
 * and the refresh thread that decides when to fetch and what to log. What
 * it fetches from (the chain) is creds_chain.c, the providers are
 * creds_providers.c, the HTTP request is creds_http.c (creds_internal.h).
 *
 * The refresh loop, each turn under the mutex: take_new_chain (a reload),
 * take_poke (refresh_now, rate-limited), drop_if_expired (stop serving and
 * log the outage once), then either fetch_once (the lock is released for
 * the network; publish or record_failure decide what is served, what is
 * logged and when the next fetch is) or sleep_until_due.
 */
#include "creds_fetch.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "civil.h"
#include "creds_internal.h"
#include "log.h"
#include "monoclock.h"
#include "sigmask.h"

#define REASON_CAP 512
#define POKE_MIN_INTERVAL_MS 1000 /* creds_mgr_refresh_now: at most one fetch a second */

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
    /* set with current: a number no other publication of any manager
     * has, so a cache never takes another manager's for this one's
     * (creds_cache_get; a freed manager's address may be reused) */
    _Atomic uint64_t published;
    uint64_t attempts, successes;
    char reason[REASON_CAP];
    creds_log_fn log;
    void *log_ud;
    /* creds_mgr_on_publish's hook; hook_mu is held while it runs */
    pthread_mutex_t hook_mu;
    void (*on_publish)(void *ud);
    void *publish_ud;
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

static int64_t wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

#define TIME_LEN (S3W_ISO8601_LEN + 1)

/* An expiry for a log line: "2026-11-22T12:00:00Z", or "never" (0). */
static void fmt_time(int64_t t, char out[TIME_LEN])
{
    if (t == 0)
        snprintf(out, TIME_LEN, "never");
    else if (!s3w_iso8601_format(t, out))
        snprintf(out, TIME_LEN, "%lld", (long long)t); /* beyond year 9999 */
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

const struct creds_snapshot *creds_cache_get(struct creds_cache *c, struct creds_mgr *m,
                                             int64_t now_ms)
{
    /* read before the snapshot is taken: a publication in between makes
     * the next call take it again, never keeps an old one as new */
    uint64_t pub = atomic_load_explicit(&m->published, memory_order_acquire);
    unsigned i = 0;
    while (i < CREDS_CACHE_WAYS && c->way[i].mgr != m)
        i++;
    if (i < CREDS_CACHE_WAYS) {
        if (c->way[i].pub == pub && now_ms < c->way[i].until_ms)
            return c->way[i].snap;
    } else {
        i = c->next;
        c->next = (c->next + 1) % CREDS_CACHE_WAYS;
    }
    creds_snapshot_release(c->way[i].snap);
    const struct creds_snapshot *s = creds_mgr_acquire(m);
    /* the way stays m's with none valid too: during an outage each request
     * finds it here rather than taking another manager's way (their
     * recovery is a publication) */
    c->way[i].mgr = m;
    c->way[i].snap = s;
    c->way[i].pub = pub;
    /* as creds_mgr_acquire decides: unexpired while now < expiration (in
     * ms: whole seconds would let it live up to a second too long) */
    c->way[i].until_ms = !s || s->expiration == 0 ? INT64_MAX
                                                  : now_ms + s->expiration * 1000 - s3w_wall_ms();
    return s;
}

void creds_cache_sweep(struct creds_cache *c)
{
    for (unsigned i = 0; i < CREDS_CACHE_WAYS; i++) {
        struct creds_mgr *m = c->way[i].mgr;
        if (!m || atomic_load_explicit(&m->published, memory_order_acquire) == c->way[i].pub)
            continue;
        creds_snapshot_release(c->way[i].snap);
        c->way[i].mgr = NULL;
        c->way[i].snap = NULL;
    }
}

void creds_mgr_on_publish(struct creds_mgr *m, void (*fn)(void *ud), void *ud)
{
    pthread_mutex_lock(&m->hook_mu);
    m->on_publish = fn;
    m->publish_ud = ud;
    pthread_mutex_unlock(&m->hook_mu);
}

void creds_cache_clear(struct creds_cache *c)
{
    for (unsigned i = 0; i < CREDS_CACHE_WAYS; i++) {
        creds_snapshot_release(c->way[i].snap);
        c->way[i].mgr = NULL;
        c->way[i].snap = NULL;
    }
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
    int64_t deadline = s3w_mono_ms() + timeout_ms;
    for (;;) {
        const struct creds_snapshot *s = creds_mgr_acquire(m);
        if (s) {
            creds_snapshot_release(s);
            return true;
        }
        int64_t left = deadline - s3w_mono_ms();
        if (left <= 0)
            return false;
        if (left > 100)
            left = 100; /* re-check: an expiry does not signal */
        pthread_mutex_lock(&m->mu);
        s3w_cond_wait_ms(&m->ready, &m->mu, left);
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

/* ---- the refresh thread --------------------------------------------------- */

/* The refresh thread's own state: only that thread touches it, so it needs
 * no lock; m->mu guards what it shares with the API (current, reason,
 * counters, the latest chain). */
struct refresher {
    struct creds_mgr *m;
    struct chain *ch;        /* the chain fetched from; one reference */
    uint64_t gen_seen;       /* m->gen that ch came from; 0 = none yet */
    uint64_t rng;            /* backoff jitter */
    int64_t next_fetch;      /* monotonic ms; INT64_MAX = never */
    int64_t last_end;        /* monotonic ms when the last attempt finished */
    uint64_t told;           /* m->published the hook was last called for */
    unsigned attempt;        /* failures in a row, for the backoff */
    bool drop_on_fail;       /* first fetch after a reload with old creds live */
    bool outage_logged;      /* ERROR "no valid credentials" said for this outage */
    bool warn_logged;        /* WARN "refresh failing, old ones still used" said */
};

static uint64_t rng_next(uint64_t *s)
{
    /* xorshift64*: jitter only, not security */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

static _Atomic uint64_t publications;

static void set_current(struct creds_mgr *m, struct snap *s)
{
    struct snap *old = m->current;
    m->current = s;
    atomic_store_explicit(&m->published, atomic_fetch_add(&publications, 1) + 1,
                          memory_order_release);
    snap_unref(old); /* wipes unless a worker still holds it */
}

/* Step: a reload installed a new chain. It is fetched from at once; the
 * first attempt decides whether the old credentials survive (see
 * creds_mgr_reconfigure: on failure they are dropped, fail closed). */
static void take_new_chain(struct refresher *r)
{
    struct creds_mgr *m = r->m;
    if (m->gen == r->gen_seen)
        return;
    cf_chain_unref(r->ch);
    r->ch = m->latest;
    atomic_fetch_add(&r->ch->refs, 1);
    r->drop_on_fail = r->gen_seen != 0 && m->current != NULL;
    r->gen_seen = m->gen;
    r->next_fetch = 0;
    r->attempt = 0;
}

/* Step: creds_mgr_refresh_now asked for a fetch. Rate-limited: every
 * request that meets ExpiredToken may poke, and STS / IMDS must not be
 * hammered for it. */
static void take_poke(struct refresher *r)
{
    struct creds_mgr *m = r->m;
    if (!m->poke)
        return;
    m->poke = false;
    int64_t earliest = r->last_end ? r->last_end + POKE_MIN_INTERVAL_MS : 0;
    if (earliest < r->next_fetch)
        r->next_fetch = earliest;
}

/* Step: the current credentials expired without a successful refresh. They
 * stop being served (acquire already refuses them) and the outage is
 * logged once. */
static void drop_if_expired(struct refresher *r)
{
    struct creds_mgr *m = r->m;
    struct snap *cur = m->current;
    if (!cur || !cur->pub.expiration || wall_s() < cur->pub.expiration)
        return;
    char kid[CREDS_MAX_KEY_ID + 1], at[TIME_LEN], from[64];
    snprintf(kid, sizeof kid, "%s", cur->c.access_key_id);
    snprintf(from, sizeof from, "%s", cur->provider);
    fmt_time(cur->pub.expiration, at);
    set_current(m, NULL);
    if (r->outage_logged)
        return;
    mlog(m, "ERROR",
         "no valid upstream credentials: those from %s (access key %s) expired at "
         "%s and refreshing failed: %s; answering 503 ServiceUnavailable until a "
         "fetch succeeds",
         from, kid, at, m->reason[0] ? m->reason : "no attempt finished yet");
    r->outage_logged = true;
}

/* Walks the chain, without the lock (network I/O). NULL with `reason` set
 * when it yields nothing. */
static struct snap *walk_chain(struct refresher *r, char *reason, size_t rcap)
{
    struct snap *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(reason, rcap, "out of memory");
        return NULL;
    }
    atomic_init(&s->refs, 1);
    struct fetch f = { &r->m->stop, r->ch };
    if (cf_fetch_chain(&f, &s->c, s->provider, sizeof s->provider, reason, rcap) != CREDS_OK) {
        snap_unref(s);
        return NULL;
    }
    return s;
}

/* Fetched credentials that are already expired are a failure, not a
 * success (a clock skew or a stale cache on the endpoint's side). */
static struct snap *reject_expired(struct snap *s, int64_t now, char *reason, size_t rcap)
{
    if (!s || !s->c.expiration || s->c.expiration > now)
        return s;
    char at[TIME_LEN];
    fmt_time(s->c.expiration, at);
    snprintf(reason, rcap, "%s returned credentials that expired at %s", s->provider, at);
    snap_unref(s);
    return NULL;
}

/* Step: the fetch succeeded. Publish (logging only a transition: first
 * credentials, recovery, or the first after a reload) and schedule the
 * refresh before expiry. */
static void publish(struct refresher *r, struct snap *fresh, int64_t now)
{
    struct creds_mgr *m = r->m;
    fresh->pub.sigv4.access_key_id = s3w_slice_cstr(fresh->c.access_key_id);
    fresh->pub.sigv4.secret = s3w_slice_cstr(fresh->c.secret_access_key);
    fresh->pub.sigv4.session_token = s3w_slice_cstr(fresh->c.session_token);
    fresh->pub.expiration = fresh->c.expiration;
    fresh->pub.provider = fresh->provider;
    if (!m->current || r->outage_logged || r->warn_logged || r->drop_on_fail) {
        char at[TIME_LEN];
        fmt_time(fresh->c.expiration, at);
        mlog(m, "INFO", "upstream credentials from %s (access key %s, expire %s)",
             fresh->provider, fresh->c.access_key_id, at);
    }
    set_current(m, fresh);
    m->successes++;
    m->reason[0] = '\0';
    r->outage_logged = r->warn_logged = r->drop_on_fail = false;
    r->attempt = 0;
    int64_t exp = fresh->pub.expiration;
    if (exp == 0) {
        r->next_fetch = INT64_MAX; /* static keys: nothing to refresh */
    } else {
        int64_t at_s = creds_refresh_at(now, exp, r->ch->refresh_before);
        r->next_fetch = s3w_mono_ms() + (at_s - now) * 1000;
    }
}

/* Step: the fetch failed. Log the transition once (credentials dropped
 * after a reload / old ones still in use / none at all) and retry with
 * jittered exponential backoff. */
static void record_failure(struct refresher *r, const char *reason)
{
    struct creds_mgr *m = r->m;
    snprintf(m->reason, sizeof m->reason, "%s", reason);
    if (r->drop_on_fail && m->current) {
        set_current(m, NULL);
        mlog(m, "ERROR",
             "no valid upstream credentials: the reloaded credentials chain yields "
             "none (%s); the previous ones are dropped; answering 503 "
             "ServiceUnavailable until a fetch succeeds", reason);
        r->outage_logged = true;
    } else if (m->current) {
        if (!r->warn_logged) {
            char at[TIME_LEN];
            fmt_time(m->current->pub.expiration, at);
            mlog(m, "WARN",
                 "refreshing upstream credentials failed (%s); the current ones "
                 "(from %s, access key %s) stay in use until they expire at %s",
                 reason, m->current->provider, m->current->c.access_key_id, at);
            r->warn_logged = true;
        }
    } else if (!r->outage_logged) {
        mlog(m, "ERROR",
             "no valid upstream credentials: %s; answering 503 ServiceUnavailable "
             "until a fetch succeeds", reason);
        r->outage_logged = true;
    }
    r->drop_on_fail = false;
    uint64_t d = creds_retry_delay_ms(r->attempt, (double)(rng_next(&r->rng) >> 11) * 0x1.0p-53);
    if (r->ch->retry_max_ms && d > r->ch->retry_max_ms)
        d = r->ch->retry_max_ms;
    if (r->attempt < 16)
        r->attempt++;
    r->next_fetch = s3w_mono_ms() + (int64_t)d;
}

/* Step: one attempt. Called and returns with m->mu held; releases it for
 * the fetch. A result that a stop or a reload made stale is thrown away
 * (the loop then fetches from the new chain). */
static void fetch_once(struct refresher *r)
{
    struct creds_mgr *m = r->m;
    char reason[REASON_CAP];
    pthread_mutex_unlock(&m->mu);
    struct snap *fresh = walk_chain(r, reason, sizeof reason);
    pthread_mutex_lock(&m->mu);
    if (atomic_load(&m->stop) || m->gen != r->gen_seen) {
        snap_unref(fresh);
        return;
    }
    m->attempts++;
    int64_t now = wall_s();
    fresh = reject_expired(fresh, now, reason, sizeof reason);
    if (fresh)
        publish(r, fresh, now);
    else
        record_failure(r, reason);
    r->last_end = s3w_mono_ms();
    pthread_cond_broadcast(&m->ready);
}

/* Step: sleep until the next fetch, the current credentials' expiry (to
 * log the transition), a poke, a reload or stop. */
static void sleep_until_due(struct refresher *r)
{
    struct creds_mgr *m = r->m;
    int64_t until = r->next_fetch;
    if (m->current && m->current->pub.expiration) {
        /* in ms: wake at the second the credentials stop being served */
        int64_t ex = s3w_mono_ms() + m->current->pub.expiration * 1000 - s3w_wall_ms();
        if (ex < until)
            until = ex;
    }
    if (until == INT64_MAX) {
        pthread_cond_wait(&m->cv, &m->mu);
        return;
    }
    int64_t left = until - s3w_mono_ms();
    if (left > 0)
        s3w_cond_wait_ms(&m->cv, &m->mu, left);
}

/* Step: a publication since the last call of the hook: call it, without
 * m->mu (it wakes the workers, whose caches then let the old snapshot go).
 * True if it ran (the caller looks at the state again). */
static bool tell_publication(struct refresher *r)
{
    struct creds_mgr *m = r->m;
    uint64_t pub = atomic_load_explicit(&m->published, memory_order_relaxed);
    if (pub == r->told)
        return false;
    r->told = pub;
    pthread_mutex_unlock(&m->mu);
    pthread_mutex_lock(&m->hook_mu);
    if (m->on_publish)
        m->on_publish(m->publish_ud);
    pthread_mutex_unlock(&m->hook_mu);
    pthread_mutex_lock(&m->mu);
    return true;
}

static void *refresh_thread(void *arg)
{
    struct refresher r = { .m = arg };
    if (getrandom(&r.rng, sizeof r.rng, 0) != (ssize_t)sizeof r.rng || r.rng == 0)
        r.rng = (uint64_t)s3w_mono_ms() | 1;
    struct creds_mgr *m = r.m;
    pthread_mutex_lock(&m->mu);
    while (!atomic_load(&m->stop)) {
        take_new_chain(&r);
        take_poke(&r);
        drop_if_expired(&r);
        if (tell_publication(&r))
            continue;
        if (s3w_mono_ms() >= r.next_fetch)
            fetch_once(&r);
        else
            sleep_until_due(&r);
    }
    pthread_mutex_unlock(&m->mu);
    cf_chain_unref(r.ch);
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
    m->latest = cf_chain_new(cc, opts);
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
    pthread_mutex_init(&m->hook_mu, NULL);
    pthread_cond_init(&m->cv, &ca);
    pthread_cond_init(&m->ready, &ca);
    pthread_condattr_destroy(&ca);
    /* libcurl's global state: reference counted and thread-safe since
     * 7.84; main() also calls it before any thread starts. */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (s3w_thread_create(&m->thread, refresh_thread, m) != 0) {
        curl_global_cleanup();
        cf_chain_unref(m->latest);
        pthread_cond_destroy(&m->cv);
        pthread_cond_destroy(&m->ready);
        pthread_mutex_destroy(&m->hook_mu);
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
    struct chain *c = cf_chain_new(cc, opts);
    if (!c)
        return CREDS_MGR_E_NOMEM;
    pthread_mutex_lock(&m->mu);
    bool same = cf_chain_same(m->latest, c);
    struct chain *old = NULL;
    if (!same) {
        old = m->latest;
        m->latest = c;
        m->gen++;
        pthread_cond_signal(&m->cv);
    }
    pthread_mutex_unlock(&m->mu);
    cf_chain_unref(same ? c : old);
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
    cf_chain_unref(m->latest);
    pthread_cond_destroy(&m->cv);
    pthread_cond_destroy(&m->ready);
    pthread_mutex_destroy(&m->hook_mu);
    pthread_mutex_destroy(&m->mu);
    s3w_wipe(m->reason, sizeof m->reason);
    free(m);
    curl_global_cleanup();
}
