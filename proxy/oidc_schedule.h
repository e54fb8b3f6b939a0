/*
 * oidc_schedule.h - when a provider's signing keys are fetched again: the
 * rule oidc_fetch.c keeps per provider, without the thread, the lock or
 * the clock, so that a unit test can walk it through time
 * (tests/unit/proxy/test_oidc_schedule.c). The caller holds the lock that
 * guards the struct and gives the monotonic time.
 *
 * A fetch is scheduled (due_ms: the key set's Cache-Control max-age, or a
 * backoff after a failure), or asked for by a token whose kid the set
 * lacks. At most one fetch for kids per OIDC_KID_REFETCH_MS per provider,
 * so that a forged kid cannot make s3warden hammer the issuer:
 *   - a fetch in flight or already asked for: the token's caller is told
 *     to retry (the fetch may bring the key);
 *   - OIDC_KID_REFETCH_MS or more since the last fetch ended: a fetch now;
 *   - sooner after a fetch that was itself for a kid: the kid is unknown;
 *   - sooner after the scheduled fetch: a fetch when the time is up, and
 *     retry meanwhile (a key rotated in just after the scheduled fetch is
 *     not refused until the next one, up to an hour later).
 */
#ifndef S3W_PROXY_OIDC_SCHEDULE_H
#define S3W_PROXY_OIDC_SCHEDULE_H

#include <stdbool.h>
#include <stdint.h>

#define OIDC_KID_REFETCH_MS 5000

struct oidc_schedule {
    int64_t due_ms;      /* the next fetch (scheduled, or for a kid when kid_due) */
    int64_t last_end_ms; /* when the last attempt ended; 0 = none */
    bool poke;           /* a fetch for a kid, as soon as the thread can */
    bool busy;           /* a fetch in flight */
    bool kid_due;        /* the fetch at due_ms is for a kid */
    bool by_kid;         /* the last fetch was for a kid */
};

enum oidc_kid_step {
    OIDC_KID_UNKNOWN,     /* no fetch for it: the token is refused */
    OIDC_KID_COMING,      /* a fetch is in flight or asked for: retry */
    OIDC_KID_FETCH_NOW,   /* poke set: wake the thread; retry */
    OIDC_KID_FETCH_LATER, /* due_ms moved to the window's end: wake the thread; retry */
};

/* A token names a kid the key set lacks, at now_ms. */
enum oidc_kid_step oidc_schedule_kid_unknown(struct oidc_schedule *s, int64_t now_ms);

/* Whether the thread should fetch now. */
bool oidc_schedule_due(const struct oidc_schedule *s, int64_t now_ms);

/* The thread starts a fetch / the fetch ended at now_ms; next_in_ms: when
 * the next scheduled one is (max-age on success, backoff on failure). */
void oidc_schedule_begin(struct oidc_schedule *s);
void oidc_schedule_end(struct oidc_schedule *s, int64_t now_ms, int64_t next_in_ms);

#endif
