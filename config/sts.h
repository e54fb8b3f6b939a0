/*
 * sts.h - local STS (Query API, POST form, SigV4 service "sts").
 *
 * Pure functions: the proxy verifies the caller's SigV4 signature (service
 * "sts"), resolves the caller to an identity (identity.h), reads the whole
 * form body (capped at STS_MAX_FORM_BYTES) and calls sts_handle() with the
 * current time; it sends back the status and XML body (Content-Type
 * text/xml). Supported actions: AssumeRole, GetCallerIdentity, GetSessionToken,
 * and, unsigned,
 * AssumeRoleWithWebIdentity (OIDC ID tokens of configured providers).
 *
 * Session tokens are self-contained (no shared state between replicas):
 *   token  = "S3W1" || key id || nonce(12) || AES-256-GCM(payload) || tag(16)
 *            (base64), the key id and nonce authenticated as AAD;
 *   secret = base64(HMAC-SHA256(key, "s3warden-sts-secret" || nonce))[..40]
 *   akid   = "ASIA" || base32(HMAC-SHA256(key, "s3warden-sts-akid" || nonce))[..16]
 * so a replica with the same STS keys verifies a token and re-derives the
 * session's secret without storing anything. Rotation: tokens made with any
 * key still listed in the config verify; removing a key refuses its tokens.
 */
#ifndef S3W_CONFIG_STS_H
#define S3W_CONFIG_STS_H

#include <stddef.h>
#include <stdint.h>

#include "bytes.h"
#include "config.h"
#include "identity.h"

/* a WebIdentityToken alone may be 20,000 characters (API reference) */
#define STS_MAX_FORM_BYTES (64u << 10)
#define STS_MAX_BODY_BYTES (16u << 10)

#define STS_WI_MAX 1024 /* web identity fields kept for the audit record */
#define STS_AUDIT_MAX 256 /* RoleArn, RoleSessionName kept for the audit record */

struct sts_response {
    int status;          /* HTTP status */
    const char *code;    /* an error's Code (a static string); NULL when none */
    struct s3w_buf body; /* AWS XML; caller frees with sts_response_cleanup */
    bool session_issued; /* an AssumeRole answered with new credentials (metrics) */
    /* AssumeRoleWithWebIdentity, once the token verified: who vouched and
     * for whom (CloudTrail's webIdFederationData), never the token;
     * NUL-terminated, empty otherwise */
    char wi_provider[STS_WI_MAX], wi_sub[STS_WI_MAX], wi_aud[STS_WI_MAX];
    /* For the audit record (CloudTrail's requestParameters and
     * responseElements of an STS event): the action asked for, when it is
     * one of STS's (an unknown one is not kept); the RoleArn and
     * RoleSessionName as given (printable ASCII, cut at STS_AUDIT_MAX - 1;
     * unchecked when the call failed); and the access key id of credentials
     * issued - never the secret or the token. NUL-terminated, empty when
     * none. */
    char action[32];
    char role_arn[STS_AUDIT_MAX], session_name[STS_AUDIT_MAX];
    char issued_key_id[32];
};

void sts_response_init(struct sts_response *r);
void sts_response_cleanup(struct sts_response *r); /* wipes: holds a secret */

/* Handles one STS request. `caller` is the verified identity of the signer
 * (never anonymous: unsigned STS calls are refused by the proxy before this
 * point). `form` is the raw application/x-www-form-urlencoded body,
 * `request_id` the proxy's request id for ResponseMetadata. Always fills
 * *out (also for errors: ErrorResponse XML with the right status). Returns
 * 0, or a negative S3W_E_* on internal failure (out then holds a 500). */
int sts_handle(const struct config *cfg, const struct config_identity *caller,
               struct s3w_slice form, int64_t now, struct s3w_slice request_id,
               struct sts_response *out);

/* Where AssumeRoleWithWebIdentity finds the signing keys of a provider
 * that pins none (proxy/oidc_fetch.c: discovery, cache, refresh). */
struct jwks;
struct sts_key_source {
    /* The provider's keys, held until put(); NULL when none was ever
     * fetched (or all are older than max_jwks_age_seconds). */
    const struct jwks *(*get)(void *arg, const struct config_oidc_provider *p);
    void (*put)(void *arg, const struct jwks *keys);
    /* A verified-shape token named a kid the keys lack. Returns true when
     * a refetch was started (the caller is told to retry:
     * IDPCommunicationError, which the SDKs retry), false when the keys
     * are fresh enough that the kid is simply unknown (rate limit). */
    bool (*kid_unknown)(void *arg, const struct config_oidc_provider *p);
    void *arg;
};

/* sts_handle for any caller: `caller` NULL (or anonymous) is an unsigned
 * call, which only AssumeRoleWithWebIdentity may be (others get
 * MissingAuthenticationToken, as on AWS). `keys` may be NULL: then only
 * providers with pinned keys verify (the others answer
 * IDPCommunicationError). */
int sts_handle_ex(const struct config *cfg, const struct config_identity *caller,
                  struct s3w_slice form, int64_t now, struct s3w_slice request_id,
                  const struct sts_key_source *keys, struct sts_response *out);

#endif
