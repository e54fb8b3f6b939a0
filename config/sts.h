/*
 * sts.h - local STS (Query API, POST form, SigV4 service "sts").
 *
 * Pure functions: the proxy verifies the caller's SigV4 signature (service
 * "sts"), resolves the caller to an identity (identity.h), reads the whole
 * form body (capped at STS_MAX_FORM_BYTES) and calls sts_handle() with the
 * current time; it sends back the status and XML body (Content-Type
 * text/xml). Supported actions: AssumeRole, GetCallerIdentity.
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

#define STS_MAX_FORM_BYTES (16u << 10)
#define STS_MAX_BODY_BYTES (16u << 10)

struct sts_response {
    int status;          /* HTTP status */
    struct s3w_buf body; /* AWS XML; caller frees with sts_response_cleanup */
    bool session_issued; /* an AssumeRole answered with new credentials (metrics) */
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

#endif
