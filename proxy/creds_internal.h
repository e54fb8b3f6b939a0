/*
 * creds_internal.h - what the pieces of the credential manager share,
 * private to proxy/creds_*.c (the public contract is creds_fetch.h).
 *
 *   creds_fetch.c      the manager: snapshots, the refresh thread, the API
 *   creds_chain.c      the configured chain: deep copy, reload comparison,
 *                      the environment read once, walking it in order
 *   creds_providers.c  one provider each: static, env, profile, IMDSv2,
 *                      container endpoint, web identity, AssumeRole (STS)
 *   creds_http.c       one libcurl request, capped, abortable, no proxy,
 *                      no redirects
 *
 * Everything below runs on the manager's refresh thread only, except
 * cf_chain_new/cf_chain_same/cf_chain_unref (reconfigure, any thread; the
 * chain is immutable once built and reference counted).
 *
 * Errors: provider functions return CREDS_OK or a negative CREDS_E_*
 * (config/creds.h) and fill a creds_error whose message names what failed
 * and never holds a secret or a token. CREDS_E_ABSENT means "this provider
 * has nothing here" (the chain moves on quietly); the others are failures.
 */
#ifndef S3W_PROXY_CREDS_INTERNAL_H
#define S3W_PROXY_CREDS_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "creds_fetch.h"

/* ---- the chain (creds_chain.c) ---------------------------------------- */

/* The environment variables the providers read, snapshot at creation. */
enum env_idx {
    E_AKID, E_SECRET, E_TOKEN, E_SECURITY_TOKEN, E_PROFILE, E_CRED_FILE, E_CONFIG_FILE, E_HOME,
    E_ECS_FULL, E_ECS_REL, E_ECS_TOKEN, E_ECS_TOKEN_FILE, E_IMDS_ENDPOINT, E_IMDS_DISABLED,
    E_WEB_TOKEN_FILE, E_ROLE_ARN, E_ROLE_SESSION, E_STS_ENDPOINT, E_N
};

/* One provider of the chain, its config strings deep-copied (NULL = unset). */
struct prov {
    enum config_cred_source source;
    char *access_key_id, *secret, *session_token;
    char *profile, *credentials_file, *config_file;
    char *endpoint, *authorization_token_file;
    char *token_file, *role_arn, *session_name, *sts_endpoint;
};

/* The whole configuration a fetch needs; immutable once built. */
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

/* One fetch: the chain it walks and the manager's stop flag (set = abandon
 * it: every transfer aborts within about a second). */
struct fetch {
    const atomic_bool *stop;
    const struct chain *ch;
};

/* Copies what the manager needs from the config and the knobs, and reads
 * the environment (opts->getenv or getenv(3)) once. NULL: out of memory.
 * One reference; cf_chain_unref wipes and frees at the last. */
struct chain *cf_chain_new(const struct config_credentials *cc, const struct creds_mgr_opts *o);
void cf_chain_unref(struct chain *c);
/* Same configuration, compared in constant time (some strings are
 * secrets); the environment is the process's and is not compared. */
bool cf_chain_same(const struct chain *a, const struct chain *b);

/* Walks the chain (the first provider that yields wins, as the SDKs'
 * default chain), then the chain's assume_role on top. label: the provider
 * for logs ("imds", "assume_role(profile:x)"); reason: every provider's
 * failure when none yields ("imds: ...; ecs: ..."). */
int cf_fetch_chain(struct fetch *f, struct creds *out, char *label, size_t lcap,
                   char *reason, size_t rcap);

/* Formats err->message and returns rc, for "return cf_err(err, CREDS_E_..., ...)"
 * (creds_http.c, below the chain and the providers). */
int cf_err(struct creds_error *err, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Puts what was being done before err->message ("IMDS: <message>"); rc. */
int cf_err_prefix(struct creds_error *err, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- the providers (creds_providers.c) -------------------------------- */

/* The environment variables a chain snapshots at creation (env[i] holds
 * the value of cf_env_names[i]). */
extern const char *const cf_env_names[E_N];
/* A creds_getenv_fn over the chain's environment snapshot (ud: the chain). */
const char *cf_chain_env(void *ud, const char *name);

/* Fetches from one provider; label gets its name ("profile:dev"). */
int cf_provider_fetch(struct fetch *f, const struct prov *p, char *label, size_t lcap,
                      struct creds *out, struct creds_error *err);

/* STS AssumeRole signed with `base`; session NULL/"" = "s3warden";
 * endpoint_cfg NULL = AWS_ENDPOINT_URL_STS or the regional endpoint. */
int cf_assume_role(struct fetch *f, const struct creds *base, const char *role_arn,
                   const char *session, const char *external_id, uint32_t duration,
                   const char *endpoint_cfg, const char *region, struct creds *out,
                   struct creds_error *err);

/* ---- HTTP (creds_http.c) ---------------------------------------------- */

/* One request with the chain's timeouts, http/https only, no redirect, no
 * proxy, aborted when *f->stop is set. `body` NULL = no body (GET); method
 * "PUT"/"POST" send `body` (may be ""). The response body goes to resp
 * (reset first; over its cap = error). A transport failure returns
 * CREDS_E_REMOTE with the method and the URL (query cut) in err; any HTTP
 * status is success with *status set. */
int cf_http_do(struct fetch *f, const char *method, const char *url,
               const struct curl_slist *hdrs, const char *body, size_t blen, long *status,
               struct s3w_buf *resp, struct creds_error *err);

/* Appends one formatted header line to *h (the line buffer is wiped: it
 * may hold a token or a signature). A line over the token cap is refused,
 * never cut. */
int cf_header_add(struct curl_slist **h, struct creds_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The headers may hold a token or a signature: wiped before they are freed. */
void cf_slist_free_wiped(struct curl_slist *h);

#endif
