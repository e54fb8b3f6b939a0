/*
 * upstream_state.h - what s3warden keeps about each upstream and each
 * credential set across config reloads, shared by all threads:
 *   - per upstream name: when it last answered (a request or the admin
 *     listener's probe), for /readyz and the metrics;
 *   - per credential set name: the credential manager that keeps the
 *     proxy's credentials of that set fresh (creds_fetch.h).
 *
 * Entries are found by name, because a reload makes new config snapshots
 * (and new struct config_upstream addresses) while an upstream's state
 * must carry over. Entries are only ever added, never removed or moved:
 * workers look them up without a lock while a reload (main thread) adds
 * more. A set or upstream that a reload removed keeps its entry (and its
 * credential manager keeps refreshing, unused) until exit: requests still
 * in flight on it may hold it, and reloads that remove stores are rare.
 */
#ifndef S3W_PROXY_UPSTREAM_STATE_H
#define S3W_PROXY_UPSTREAM_STATE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "config.h"

struct creds_mgr;

/* Upstreams and credential sets over the process's life (reloads that add
 * new names count); past it a reload that adds more is refused. */
#define UPS_MAX 128
_Static_assert(UPS_MAX >= CONFIG_MAX_UPSTREAMS && UPS_MAX >= CONFIG_MAX_CREDENTIAL_SETS,
               "a config the loader takes fits at start");

struct ups_upstream {
    char *name;
    /* the last answer: uv_hrtime ns (0 = never) and the same moment in
     * unix ms (the metrics gauge) */
    _Atomic uint64_t answer_ns;
    _Atomic int64_t answer_wall_ms;
    /* the admin prober's own (its thread only): the endpoint the last
     * answer came from, and whether "does not answer" was logged */
    char *probed_endpoint;
    bool warned;
};

struct ups_creds {
    char *name;
    struct creds_mgr *mgr;
};

struct upstream_state {
    uv_mutex_t mu; /* adders (reloads) only */
    uv_mutex_t bell_mu; /* held while the doorbell rings */
    void (*bell)(void *ud);
    void *bell_ud;
    struct ups_upstream up[UPS_MAX];
    _Atomic size_t nup;
    struct ups_creds cr[UPS_MAX];
    _Atomic size_t ncr;
};

struct upstream_state *ups_new(void);
/* Frees every entry and stops every credential manager. After the workers
 * and the admin listener are stopped. NULL is a no-op. */
void ups_free(struct upstream_state *s);

/* Makes an entry for each of cfg's upstreams and, with creds, starts (or,
 * on a reload, reconfigures) the credential manager of each credential set
 * an upstream uses (without: each set's static keys are used as the config
 * gives them - tests, embeddings). 0, or -1 with the reason logged (a
 * manager that cannot start; too many names): at startup that is fatal, on
 * a reload the new config must not be installed. Main thread. */
int ups_apply(struct upstream_state *s, const struct config *cfg, bool creds);

/* Waits up to timeout_ms for every manager cfg's upstreams use to hold
 * credentials (startup). True if all do. */
bool ups_wait_creds(struct upstream_state *s, const struct config *cfg, uint32_t timeout_ms);

/* Registers an existing manager under a set name (tests); s takes it. */
int ups_adopt_creds(struct upstream_state *s, const char *set_name, struct creds_mgr *m);

/* fn(ud) runs whenever any credential manager of s publishes (on its
 * refresh thread; it must not block): main() and the test rig wake the
 * workers with it, so that they let replaced credentials go at once
 * (creds_cache_sweep). NULL stops it; when this returns, no ring is
 * running (call it before what ud points to goes). */
void ups_set_doorbell(struct upstream_state *s, void (*fn)(void *ud), void *ud);

/* Lock-free lookups; NULL when there is no such entry. */
struct ups_upstream *ups_find(struct upstream_state *s, const char *name);
/* The slot of the upstream named so in s's table (it never moves: the
 * workers' metrics are kept by it), or UPS_MAX if there is none. */
size_t ups_slot(struct upstream_state *s, const char *name);
struct creds_mgr *ups_find_creds(struct upstream_state *s, const char *set_name);
/* The manager of the credential set upstream `up` of cfg uses. */
struct creds_mgr *ups_creds_for(struct upstream_state *s, const struct config *cfg,
                                const struct config_upstream *up);

/* An answer came from the upstream (any HTTP status). Any thread. */
void ups_answered(struct ups_upstream *u);
/* Seconds since it last answered; negative if it never did. */
double ups_age_s(const struct ups_upstream *u);

/* Whether `up` serves anything in cfg: a bucket names it, it is the
 * default, or an S3 audit sink writes through it. */
bool ups_in_use(const struct config *cfg, const struct config_upstream *up);

#endif
