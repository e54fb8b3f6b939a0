/*
 * ident_limit.h - how many upstream exchanges each identity has in flight,
 * across every worker, so that one identity cannot hold every upstream
 * connection (README.md, "Security invariants": "no single identity can
 * hold every upstream connection"; upstream.max_connections_per_identity).
 *
 * A fixed open-addressing table of (64-bit key hash, count) slots, claimed
 * with compare-and-swap and never freed: the keys are the configured
 * identities (users, roles, account roots) and "anonymous", a set the
 * config bounds. No lock, no allocation per request: an acquire is a probe
 * and a CAS, a release one atomic decrement. Survives config reloads (an
 * identity keeps its count across a SIGHUP).
 */
#ifndef S3W_PROXY_IDENT_LIMIT_H
#define S3W_PROXY_IDENT_LIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "bytes.h"

struct ident_limit;

/* A table of `slots` identities (rounded up to a power of two). NULL on
 * allocation failure. */
struct ident_limit *ident_limit_new(size_t slots);
void ident_limit_free(struct ident_limit *l);

#define IDENT_LIMIT_FULL (-1)      /* the identity holds `max` already */
#define IDENT_LIMIT_UNTRACKED (-2) /* table full: not counted (let through) */

/* Takes one exchange for the identity `key` if it holds fewer than `max`.
 * Returns the slot to give back to ident_limit_release(), or one of the
 * negative values above (nothing to give back). Any thread. */
int ident_limit_acquire(struct ident_limit *l, struct s3w_slice key, uint32_t max);
void ident_limit_release(struct ident_limit *l, int slot);

/* The count held by `key` now (tests, metrics). */
uint32_t ident_limit_held(struct ident_limit *l, struct s3w_slice key);

#endif
