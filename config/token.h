/*
 * token.h - private to config/: self-contained local-STS session tokens.
 *
 * Wire format (then standard base64):
 *   "S3W1" | kid_len (1) | kid | nonce (12) | AES-256-GCM ciphertext | tag (16)
 * The header (magic, key id, nonce) is authenticated as AAD. The key id
 * travels in clear so a verifier picks the right key among the configured
 * ones (rotation); a token whose key is no longer listed is refused.
 *
 * From the configured 32-byte key K two keys are derived at load time with
 * HMAC-SHA256(K, label), so no key is used for two purposes:
 *   enc = HMAC(K, "s3warden sts v1 enc")   AES-256-GCM key
 *   ids = HMAC(K, "s3warden sts v1 ids")   M = HMAC-SHA512(ids, nonce):
 *         access key id = "ASIA" + base32(M[0..10))       (20 characters)
 *         secret        = base64(M[16..46))               (40 characters)
 * so the session's secret key and access key id are re-derived by any
 * replica from the token alone, and nothing is stored.
 *
 * Nonces are 96 random bits per token (RAND_bytes); with random nonces
 * AES-GCM stays within NIST SP 800-38D's bound for < 2^32 tokens per key,
 * which key rotation keeps far away.
 *
 * Plaintext (all integers big-endian, strings u16 length + bytes):
 *   version (1) | issued (8) | expires (8) | role_arn | role_unique_id |
 *   session_name | source_identity | session_policy | caller_arn |
 *   ntags (1) | ntags x (context_key "aws:PrincipalTag/<k>", value)
 * then, when the version byte has bit 0x80 (only a token with a transitive
 * tag: any other stays byte for byte as before):
 *   transitive (8): bit i set when tag i is transitive (it passes to the
 *   sessions this one assumes: IAM User Guide, "Chaining roles with
 *   session tags"); never 0, never a bit at or above ntags
 * then, in version 2 only (AssumeRoleWithWebIdentity sessions; every other
 * token stays version 1, byte for byte as before):
 *   federated_provider | sub_key | sub | aud_key | aud | amr_key |
 *   namr (1) | namr x amr
 * the web identity's condition keys, which AWS keeps in the request context
 * of the session's later requests (config/identity.c). The three key names
 * must be "<HOST/PATH>:sub", ":aud" and ":amr" for the HOST/PATH of the
 * provider ARN "arn:aws:iam::A:oidc-provider/HOST/PATH", or the token is
 * refused: a sealed token can only ever set these keys.
 */
#ifndef S3W_CONFIG_TOKEN_H
#define S3W_CONFIG_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "bytes.h"
#include "config.h"

#define TOKEN_MAX_PLAIN 7168
#define TOKEN_MAX_WIRE (4 + 1 + 16 + 12 + TOKEN_MAX_PLAIN + 16)
#define TOKEN_MAX_B64 (((TOKEN_MAX_WIRE + 2) / 3) * 4)
#define TOKEN_MAX_TAGS 50
#define TOKEN_AKID_LEN 20
#define TOKEN_SECRET_LEN 40
#define TOKEN_TAG_PREFIX "aws:PrincipalTag/"
#define TOKEN_TAG_PREFIX_LEN 17
#define TOKEN_MAX_AMR 8 /* config/jwt.h JWT_MAX_AMR */

struct token_claims {
    int64_t issued;
    int64_t expires;
    struct s3w_slice role_arn;
    struct s3w_slice role_unique_id;
    struct s3w_slice session_name;
    struct s3w_slice source_identity; /* may be empty */
    struct s3w_slice session_policy;  /* may be empty */
    struct s3w_slice caller_arn;      /* who called AssumeRole (audit) */
    size_t ntags;
    struct s3w_slice tag_ctx_keys[TOKEN_MAX_TAGS]; /* "aws:PrincipalTag/<k>" */
    struct s3w_slice tag_values[TOKEN_MAX_TAGS];
    uint64_t transitive; /* bit i: tag i is transitive */
    /* AssumeRoleWithWebIdentity sessions only, all empty otherwise:
     * aws:FederatedProvider (the provider ARN) and the provider's keys */
    struct s3w_slice federated_provider;
    struct s3w_slice wi_sub_key, wi_sub; /* "HOST/PATH:sub", the token's sub */
    struct s3w_slice wi_aud_key, wi_aud; /* "HOST/PATH:aud", the aud that matched */
    struct s3w_slice wi_amr_key;         /* "HOST/PATH:amr" */
    size_t wi_namr;
    struct s3w_slice wi_amr[TOKEN_MAX_AMR];
    size_t plain_len; /* bytes of `plain` the claims point into */
};

enum {
    TOKEN_OK = 0,
    TOKEN_E_INVALID = -1, /* malformed, unknown key id, bad tag, akid mismatch */
    TOKEN_E_EXPIRED = -2,
    TOKEN_E_TOOBIG = -3,
    TOKEN_E_INTERNAL = -4,
};

/* Derives k->enc_key and k->id_key from k->key (the loader calls it once
 * per key). 0 or TOKEN_E_INTERNAL. */
int token_derive_keys(struct config_sts_key *k);

/* Seals claims with the active key: writes the base64 token into `token`
 * (a capped buffer, cap >= TOKEN_MAX_B64), the access key id (20 chars +
 * NUL) and the secret (40 chars + NUL; caller wipes). */
int token_seal(const struct config_sts *sts, const struct token_claims *c,
               struct s3w_buf *token, char akid[TOKEN_AKID_LEN + 1],
               char secret[TOKEN_SECRET_LEN + 1]);

/* Opens a token presented with access key id `akid` at time `now`. The
 * plaintext is written to `plain` (cap bytes, >= TOKEN_MAX_PLAIN) and the
 * claims point into it. On success writes the derived secret (caller
 * wipes). Checks, in order: format, key id listed, GCM tag, akid matches
 * (constant time), plaintext well-formed, not expired. */
int token_open(const struct config_sts *sts, struct s3w_slice akid, struct s3w_slice token,
               int64_t now, uint8_t *plain, size_t cap, struct token_claims *c,
               char secret[TOKEN_SECRET_LEN + 1]);

#endif
