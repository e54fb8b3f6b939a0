/* upstream_state.c - see upstream_state.h. */
#include "upstream_state.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "civil.h"
#include "creds_fetch.h"
#include "log.h"

struct upstream_state *ups_new(void)
{
    struct upstream_state *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    if (uv_mutex_init(&s->mu) != 0) {
        free(s);
        return NULL;
    }
    if (uv_mutex_init(&s->bell_mu) != 0) {
        uv_mutex_destroy(&s->mu);
        free(s);
        return NULL;
    }
    return s;
}

void ups_set_doorbell(struct upstream_state *s, void (*fn)(void *ud), void *ud)
{
    if (!s)
        return;
    uv_mutex_lock(&s->bell_mu);
    s->bell = fn;
    s->bell_ud = ud;
    uv_mutex_unlock(&s->bell_mu);
}

/* Every manager's publication hook. */
static void ring(void *ud)
{
    struct upstream_state *s = ud;
    uv_mutex_lock(&s->bell_mu);
    if (s->bell)
        s->bell(s->bell_ud);
    uv_mutex_unlock(&s->bell_mu);
}

void ups_free(struct upstream_state *s)
{
    if (!s)
        return;
    size_t nup = atomic_load(&s->nup), ncr = atomic_load(&s->ncr);
    for (size_t i = 0; i < nup; i++) {
        free(s->up[i].name);
        free(s->up[i].probed_endpoint);
    }
    for (size_t i = 0; i < ncr; i++) {
        creds_mgr_free(s->cr[i].mgr);
        free(s->cr[i].name);
    }
    uv_mutex_destroy(&s->bell_mu);
    uv_mutex_destroy(&s->mu);
    free(s);
}

struct ups_upstream *ups_find(struct upstream_state *s, const char *name)
{
    size_t n = s ? atomic_load_explicit(&s->nup, memory_order_acquire) : 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(s->up[i].name, name) == 0)
            return &s->up[i];
    return NULL;
}

size_t ups_slot(struct upstream_state *s, const char *name)
{
    const struct ups_upstream *u = ups_find(s, name);
    return u ? (size_t)(u - s->up) : UPS_MAX;
}

struct creds_mgr *ups_find_creds(struct upstream_state *s, const char *set_name)
{
    size_t n = s ? atomic_load_explicit(&s->ncr, memory_order_acquire) : 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(s->cr[i].name, set_name) == 0)
            return s->cr[i].mgr;
    return NULL;
}

struct creds_mgr *ups_creds_for(struct upstream_state *s, const struct config *cfg,
                                const struct config_upstream *up)
{
    if (!s || !up || up->credentials >= cfg->ncredential_sets)
        return NULL;
    return ups_find_creds(s, cfg->credential_sets[up->credentials].name);
}

/* Adds an upstream entry (adders hold s->mu). The entry is filled before
 * the count that publishes it. */
static struct ups_upstream *add_upstream(struct upstream_state *s, const char *name)
{
    struct ups_upstream *u = ups_find(s, name);
    if (u)
        return u;
    size_t n = atomic_load(&s->nup);
    if (n == UPS_MAX)
        return NULL;
    u = &s->up[n];
    u->name = strdup(name);
    if (!u->name)
        return NULL;
    atomic_store_explicit(&s->nup, n + 1, memory_order_release);
    return u;
}

/* Takes name (malloc'd) and m; the caller has checked the room. */
static void install_creds(struct upstream_state *s, char *name, struct creds_mgr *m)
{
    size_t n = atomic_load(&s->ncr);
    s->cr[n].name = name;
    s->cr[n].mgr = m;
    creds_mgr_on_publish(m, ring, s);
    atomic_store_explicit(&s->ncr, n + 1, memory_order_release);
}

static int add_creds(struct upstream_state *s, const char *name, struct creds_mgr *m)
{
    char *own = atomic_load(&s->ncr) < UPS_MAX ? strdup(name) : NULL;
    if (!own)
        return -1;
    install_creds(s, own, m);
    return 0;
}

int ups_adopt_creds(struct upstream_state *s, const char *set_name, struct creds_mgr *m)
{
    uv_mutex_lock(&s->mu);
    int rc = ups_find_creds(s, set_name) ? -1 : add_creds(s, set_name, m);
    uv_mutex_unlock(&s->mu);
    return rc;
}

static bool set_used(const struct config *cfg, size_t set)
{
    for (size_t i = 0; i < cfg->nupstreams; i++)
        if (cfg->upstreams[i].credentials == set)
            return true;
    return false;
}

/* The region a set's STS calls sign for: that of the first upstream
 * using it (an assume_role may name its own). */
static const char *set_region(const struct config *cfg, size_t set)
{
    for (size_t i = 0; i < cfg->nupstreams; i++)
        if (cfg->upstreams[i].credentials == set)
            return cfg->upstreams[i].region;
    return cfg->upstream->region;
}

/* Whether set k's manager is made or reconfigured by ups_apply. */
static bool set_applied(const struct config *cfg, size_t k)
{
    return set_used(cfg, k) && cfg->credential_sets[k].nchain > 0;
}

int ups_apply(struct upstream_state *s, const struct config *cfg, bool creds)
{
    /* Everything that can fail comes before anything changes: a refused
     * reload must leave the running sets as they are (probe 34: the sets
     * renamed past UPS_MAX were refused after the existing ones had taken
     * the refused config's keys). */
    struct creds_mgr *made[CONFIG_MAX_CREDENTIAL_SETS] = { 0 };
    char *names[CONFIG_MAX_CREDENTIAL_SETS] = { 0 };
    size_t new_up = 0, new_cr = 0;
    int rc = 0;
    uv_mutex_lock(&s->mu);
    for (size_t i = 0; i < cfg->nupstreams; i++)
        new_up += !ups_find(s, cfg->upstreams[i].name);
    for (size_t k = 0; creds && k < cfg->ncredential_sets; k++)
        new_cr += set_applied(cfg, k) && !ups_find_creds(s, cfg->credential_sets[k].name);
    if (atomic_load(&s->nup) + new_up > UPS_MAX || atomic_load(&s->ncr) + new_cr > UPS_MAX) {
        proxy_log("ERROR", "out of room for upstream state: %zu new upstream names and %zu new "
                  "credential set names over the %zu and %zu this run has seen (%d of each a run; "
                  "a restart starts again)", new_up, new_cr, (size_t)atomic_load(&s->nup),
                  (size_t)atomic_load(&s->ncr), UPS_MAX);
        rc = -1;
    }
    for (size_t k = 0; creds && k < cfg->ncredential_sets && rc == 0; k++) {
        const struct config_credentials *cc = &cfg->credential_sets[k];
        if (!set_applied(cfg, k) || ups_find_creds(s, cc->name))
            continue;
        struct creds_mgr_opts co = { .region = set_region(cfg, k) };
        if (!(names[k] = strdup(cc->name)) || creds_mgr_new(cc, &co, &made[k]) != 0) {
            proxy_log("ERROR", "cannot start the credentials manager of credential set %s", cc->name);
            rc = -1;
        }
    }
    /* then the changes, none of which fails but for memory */
    for (size_t i = 0; i < cfg->nupstreams && rc == 0; i++)
        if (!add_upstream(s, cfg->upstreams[i].name)) {
            proxy_log("ERROR", "upstream %s: out of memory for upstream state", cfg->upstreams[i].name);
            rc = -1;
        }
    for (size_t k = 0; creds && k < cfg->ncredential_sets && rc == 0; k++) {
        const struct config_credentials *cc = &cfg->credential_sets[k];
        if (made[k]) {
            install_creds(s, names[k], made[k]); /* the state owns both */
            made[k] = NULL;
            names[k] = NULL;
            continue;
        }
        struct creds_mgr *m = set_applied(cfg, k) ? ups_find_creds(s, cc->name) : NULL;
        struct creds_mgr_opts co = { .region = set_region(cfg, k) };
        if (m && creds_mgr_reconfigure(m, cc, &co) < 0)
            proxy_log("ERROR", "reload: credential set %s: chain kept (out of memory)", cc->name);
    }
    uv_mutex_unlock(&s->mu);
    for (size_t k = 0; k < CONFIG_MAX_CREDENTIAL_SETS; k++) {
        creds_mgr_free(made[k]); /* those not adopted */
        free(names[k]);
    }
    return rc;
}

bool ups_wait_creds(struct upstream_state *s, const struct config *cfg, uint32_t timeout_ms)
{
    /* the managers fetch in parallel; one deadline for all */
    uint64_t deadline = uv_hrtime() + (uint64_t)timeout_ms * 1000000u;
    bool all = true;
    for (size_t i = 0; i < cfg->nupstreams; i++) {
        struct creds_mgr *m = ups_creds_for(s, cfg, &cfg->upstreams[i]);
        if (!m)
            continue;
        uint64_t now = uv_hrtime();
        uint32_t left = now < deadline ? (uint32_t)((deadline - now) / 1000000u) : 0;
        if (!creds_mgr_wait(m, left)) {
            proxy_log("WARN", "upstream %s: no credentials yet: its requests get 503 until there are",
                      cfg->upstreams[i].name);
            all = false;
        }
    }
    return all;
}

void ups_answered(struct ups_upstream *u)
{
    if (!u)
        return;
    uint64_t now = uv_hrtime();
    /* at most one clock read and store per millisecond under load */
    if (now - atomic_load_explicit(&u->answer_ns, memory_order_relaxed) < 1000000u)
        return;
    atomic_store_explicit(&u->answer_wall_ms, s3w_wall_ms(), memory_order_relaxed);
    atomic_store_explicit(&u->answer_ns, now, memory_order_relaxed);
}

double ups_age_s(const struct ups_upstream *u)
{
    uint64_t t = u ? atomic_load_explicit(&u->answer_ns, memory_order_relaxed) : 0;
    if (t == 0)
        return -1;
    uint64_t now = uv_hrtime();
    return now > t ? (double)(now - t) / 1e9 : 0;
}

bool ups_in_use(const struct config *cfg, const struct config_upstream *up)
{
    if (up == cfg->upstream)
        return true;
    for (size_t i = 0; i < cfg->nbuckets; i++)
        if (cfg->buckets[i].upstream == up)
            return true;
    for (size_t i = 0; i < cfg->audit.nsinks; i++)
        if (cfg->audit.sinks[i].type == CONFIG_AUDIT_SINK_S3 && cfg->audit.sinks[i].upstream == up)
            return true;
    return false;
}
