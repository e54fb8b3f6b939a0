/*
 * oidc_fetch.h - the signing keys of OIDC providers that pin none
 * (config.h, oidc_providers[]): OpenID Connect Discovery
 * (URL/.well-known/openid-configuration, its "issuer" equal to URL) then
 * the JWKS at its "jwks_uri", both over HTTPS with libcurl, on a thread of
 * their own - never on a request's path.
 *
 * Cache: each provider's last good key set is kept and refreshed when its
 * Cache-Control max-age runs out (clamped to OIDC_REFRESH_MIN_S ..
 * OIDC_REFRESH_MAX_S, OIDC_REFRESH_DEFAULT_S without one), and when a
 * token names a kid the set lacks, at most once per OIDC_KID_REFETCH_MS
 * (the rule: oidc_schedule.h). A failed fetch keeps the old set, retried
 * with backoff, for up to the provider's max_jwks_age_seconds after it was
 * fetched; after that, and before the first success, there are no keys
 * (IDPCommunicationError).
 *
 * Threading as creds_fetch.h: workers only take a mutex for a lookup and a
 * reference increment (sts_key_source get/put/kid_unknown); the key sets
 * are immutable and reference counted.
 */
#ifndef S3W_PROXY_OIDC_FETCH_H
#define S3W_PROXY_OIDC_FETCH_H

#include <stdint.h>

#include "config.h"
#include "oidc_schedule.h" /* OIDC_KID_REFETCH_MS */
#include "sts.h"

#define OIDC_REFRESH_MIN_S 60
#define OIDC_REFRESH_MAX_S 86400
#define OIDC_REFRESH_DEFAULT_S 3600
#define OIDC_MAX_DOC_BYTES (256u << 10)

struct oidc_keys;

/* Starts the fetch thread. NULL on failure (out of memory, no thread). */
struct oidc_keys *oidc_keys_new(void);

/* Registers every provider of cfg that pins no keys, so the thread fetches
 * them now rather than on the first token (start-up and each reload).
 * Providers no longer configured keep their entry (a few bytes) but are
 * not fetched again unless a token asks for them. Any thread. */
void oidc_keys_configure(struct oidc_keys *k, const struct config *cfg);

/* The sts_key_source for sts_handle_ex (arg: k). */
struct sts_key_source oidc_keys_source(struct oidc_keys *k);

/* Stops the thread (a fetch in flight is aborted within about a second),
 * joins it and frees everything. After the workers stopped. NULL: no-op. */
void oidc_keys_free(struct oidc_keys *k);

#endif
