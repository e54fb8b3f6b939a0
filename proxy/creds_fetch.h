/*
 * creds_fetch.h - the I/O side of the proxy's own credentials toward S3:
 * a credential manager that walks the configured provider chain (static
 * keys, environment, shared credentials/config profile, EC2 IMDSv2,
 * ECS/EKS container endpoint, web identity token file), optionally assumes
 * a role on top, and keeps the result fresh on its own thread.
 *
 * The parsing and timing rules live in config/creds.h (pure); this module
 * only moves bytes (libcurl) and publishes results.
 *
 * Threading: one refresh thread per manager does every fetch. Request
 * workers only ever call creds_cache_get() (which calls creds_mgr_acquire()
 * when the manager has published since), and other threads
 * creds_mgr_acquire()/creds_snapshot_release(), which take a mutex for a
 * pointer read and a reference increment - never for network I/O - so a
 * slow or dead credentials endpoint can never stall a request: the request
 * gets the current credentials, or NULL (answer 503 ServiceUnavailable).
 *
 * Snapshots: the credentials are published as an immutable, reference
 * counted struct creds_snapshot; the secret stays valid until the last
 * release, which wipes it. A worker holds the current one in its
 * creds_cache and lets a replaced one go when the manager's publication
 * hook (creds_mgr_on_publish) wakes it, idle or not.
 *
 * Logging: the manager logs transitions only, once each, on stderr through
 * proxy_log (or opts->log): credentials obtained / lost (with the reason,
 * which never holds a secret or a token) / a refresh failing while the old
 * credentials are still valid / recovery. The access key id may appear.
 */
#ifndef S3W_PROXY_CREDS_FETCH_H
#define S3W_PROXY_CREDS_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "creds.h"
#include "sigv4.h"

/* An immutable set of credentials. All fields are read-only for holders and
 * valid until creds_snapshot_release(). */
struct creds_snapshot {
    struct sigv4_credentials sigv4; /* ready for sigv4_sign_headers(); the
                                       secret and token are SECRET */
    int64_t expiration;             /* unix seconds; 0 = does not expire */
    const char *provider;           /* "env", "imds", "assume_role(profile:x)", ...
                                       for logs and the audit trail */
};

struct creds_mgr;

typedef void (*creds_log_fn)(void *ud, const char *level, const char *msg);

/* Knobs; a zero field takes the default. Tests shorten the timings. */
struct creds_mgr_opts {
    const char *region;          /* upstream region: signing region for
                                    STS and the default regional STS endpoint
                                    (default "us-east-1") */
    uint32_t refresh_before_s;   /* override cc->refresh_before_seconds
                                    (config allows >= 60; tests use 1) */
    uint32_t retry_max_ms;       /* cap on the backoff between failed
                                    attempts (default: creds_retry_delay_ms's
                                    own 60 s cap) */
    uint32_t timeout_ms;         /* whole-transfer timeout of each HTTP fetch
                                    (default 5000) */
    uint32_t connect_timeout_ms; /* default 1000: IMDS and the container
                                    endpoint are link-local; the SDKs use 1 s */
    /* Environment lookup, read ONCE by creds_mgr_new() (the refresh thread
     * never calls getenv, so a setenv elsewhere cannot race it). NULL =
     * getenv(3). */
    creds_getenv_fn getenv;
    void *getenv_ud;
    /* Log sink; NULL = proxy_log(level, "%s", msg). */
    creds_log_fn log;
    void *log_ud;
};

enum {
    CREDS_MGR_OK = 0,
    CREDS_MGR_E_NOMEM = -1,
    CREDS_MGR_E_THREAD = -2,  /* pthread_create failed */
    CREDS_MGR_E_CONFIG = -3,  /* an empty chain */
};

/* Creates the manager from the config's chain and starts its refresh
 * thread, which fetches at once. Everything needed is copied: `cc` and
 * `opts` may be freed after the call. The first credentials arrive
 * asynchronously: creds_mgr_wait() to wait for them (startup only). */
int creds_mgr_new(const struct config_credentials *cc, const struct creds_mgr_opts *opts,
                  struct creds_mgr **out);

/* SIGHUP: installs the chain of a newly loaded config. If it is the same as
 * the running one (same providers, settings, assume_role, refresh margin and
 * region) nothing happens and 0 is returned. Otherwise the refresh thread
 * fetches from the new chain at once and returns 1; the current snapshot is
 * served until that first fetch ends: on success it is replaced, on failure
 * it is dropped (fail closed - the operator changed the credentials
 * configuration; the old keys are no longer configured). Snapshots that
 * workers hold stay valid until released. Negative on allocation failure
 * (the running chain stays). Any thread but a worker's (it allocates). */
int creds_mgr_reconfigure(struct creds_mgr *m, const struct config_credentials *cc,
                          const struct creds_mgr_opts *opts);

/* Stops the refresh thread (aborting a fetch in flight within ~1 s at most
 * via libcurl's progress callback), joins it and frees the manager. Snapshots
 * still held stay valid until released. NULL is a no-op. Call after the
 * workers are stopped (nobody may call acquire on a freed manager). */
void creds_mgr_free(struct creds_mgr *m);

/* The current credentials, or NULL when none are valid (none fetched yet,
 * every provider failing, or the last ones expired). Never blocks on I/O:
 * a mutex guards one pointer read and one reference increment. Any thread.
 * Each non-NULL result must be released exactly once. */
const struct creds_snapshot *creds_mgr_acquire(struct creds_mgr *m);
void creds_snapshot_release(const struct creds_snapshot *s);

/* A worker's hold on managers' current snapshots, so that a request takes
 * no lock and writes no memory another thread writes: creds_mgr_acquire's
 * mutex and reference count are two cache lines that bounced between the
 * workers on every request. creds_cache_get returns the snapshot it holds
 * for `m` while the manager still serves it (nothing was published since)
 * and it has not expired (now_ms: the caller's monotonic clock in ms, such
 * as the loop's); else it releases it and takes the current one as
 * creds_mgr_acquire does (NULL: none valid; the caller answers 503; held
 * as such, in m's way, until the manager publishes again). The
 * result is the cache's: the caller does not release it, and it stays
 * valid until the next creds_cache_get or creds_cache_clear on the same
 * cache. One thread per cache.
 *
 * A replaced snapshot stays referenced, and its secret in memory, until
 * creds_cache_sweep, the worker's next request through that manager or
 * creds_cache_clear (it is wiped then, as on every last release). */
#define CREDS_CACHE_WAYS 4 /* managers (credential sets) held at once */
struct creds_cache {
    struct {
        struct creds_mgr *mgr;
        const struct creds_snapshot *snap;
        uint64_t pub;     /* the manager's publication it was taken at */
        int64_t until_ms; /* now_ms past which it has expired */
    } way[CREDS_CACHE_WAYS];
    unsigned next; /* the way to replace next */
};
const struct creds_snapshot *creds_cache_get(struct creds_cache *c, struct creds_mgr *m,
                                             int64_t now_ms);
/* Releases every snapshot held (before the cache's memory goes). */
void creds_cache_clear(struct creds_cache *c);

/* Releases the snapshots of managers that published since they were
 * taken (replaced or dropped credentials), so that their secrets are
 * wiped now rather than at the worker's next request; keeps the current
 * ones. The cache's thread, between requests (a result of
 * creds_cache_get must not be in use). */
void creds_cache_sweep(struct creds_cache *c);

/* fn(ud) runs on the manager's refresh thread after each publication
 * (credentials obtained, replaced or dropped), without the manager's lock
 * held; it must not block (the workers' wake-up: uv_async_send). NULL
 * stops it; when this returns, no call is running. */
void creds_mgr_on_publish(struct creds_mgr *m, void (*fn)(void *ud), void *ud);

/* Asks for a fetch now (e.g. S3 answered ExpiredToken or
 * InvalidAccessKeyId): non-blocking; any thread. The refresh thread runs it
 * at once, but no sooner than 1 s after its previous attempt ended (many
 * requests may poke at the same moment; they cause one fetch, and never a
 * loop against STS/IMDS). */
void creds_mgr_refresh_now(struct creds_mgr *m);

/* Waits up to timeout_ms for valid credentials (startup, tests). True if
 * there are. Blocks: never call from a worker. */
bool creds_mgr_wait(struct creds_mgr *m, uint32_t timeout_ms);

/* Diagnostics (health endpoint, tests): whether valid credentials exist,
 * the number of completed fetch attempts (successful or not), and the last
 * failure reason ("" if the last attempt succeeded). Never a secret. */
struct creds_mgr_status {
    bool valid;
    uint64_t attempts;
    uint64_t successes;
    char provider[64];
    char reason[512];
};
void creds_mgr_get_status(struct creds_mgr *m, struct creds_mgr_status *st);

#endif
