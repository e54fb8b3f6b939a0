/*
 * jwt.h - OpenID Connect ID tokens: JWKS parsing and JWT verification, as
 * AWS STS AssumeRoleWithWebIdentity checks them. Pure: no I/O, no clock
 * (the caller passes `now`); the JWKS document comes from the config
 * (pinned) or from the fetcher in proxy/.
 *
 * What is accepted (RFC 7515/7517/7518/7519, and what STS accepts):
 *  - compact JWS only (three base64url parts, no padding), at most
 *    JWT_MAX_TOKEN bytes (STS: WebIdentityToken is at most 20,000);
 *  - alg RS256, RS384, RS512 (RSA >= 2048 bits) and ES256, ES384 (P-256,
 *    P-384). "none", HMAC and every other alg are refused before any key is
 *    looked at, so a public key can never be used as an HMAC secret;
 *  - the key is the JWKS key with the token's `kid` (a JWKS with one usable
 *    key serves a token without kid); its kty and curve must fit alg, its
 *    `alg`, if given, must equal the token's, and a key whose `use` is not
 *    "sig" is not usable;
 *  - header and claims objects without duplicate names (RFC 7515 section 5.2
 *    lets a parser refuse them; two `sub` or `aud` claims could otherwise be
 *    read one way here and another way by an auditor);
 *  - iss equal to the provider's issuer; aud (a string or an array) or, when
 *    aud is absent, azp among the provider's client ids; exp required and
 *    nbf/iat honoured, each with `leeway` seconds; sub required.
 */
#ifndef S3W_CONFIG_JWT_H
#define S3W_CONFIG_JWT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bytes.h"

#define JWT_MAX_TOKEN 20000    /* STS: WebIdentityToken length limit */
#define JWT_MAX_KEYS 32        /* keys kept from one JWKS */
#define JWT_MAX_KID 256
#define JWT_MAX_CLAIM 1024     /* iss, sub, aud, azp, email each */
#define JWT_MAX_AMR 8

enum jwt_alg {
    JWT_ALG_RS256 = 1,
    JWT_ALG_RS384,
    JWT_ALG_RS512,
    JWT_ALG_ES256,
    JWT_ALG_ES384,
};

enum {
    JWT_OK = 0,
    JWT_E_MALFORMED = -1,      /* not a compact JWS, bad base64url or JSON */
    JWT_E_TOOBIG = -2,         /* token or a claim over its limit */
    JWT_E_ALG = -3,            /* alg missing, "none", HMAC or unsupported */
    JWT_E_DUPLICATE = -4,      /* a name twice in the header or claims */
    JWT_E_KID_UNKNOWN = -5,    /* no usable key with that kid (refresh JWKS) */
    JWT_E_KEY_MISMATCH = -6,   /* the kid's key does not fit alg */
    JWT_E_SIGNATURE = -7,      /* signature does not verify */
    JWT_E_ISSUER = -8,         /* iss is not the provider's */
    JWT_E_AUDIENCE = -9,       /* no aud/azp among the client ids */
    JWT_E_EXPIRED = -10,       /* exp + leeway <= now */
    JWT_E_NOT_YET_VALID = -11, /* nbf or iat after now + leeway */
    JWT_E_CLAIM = -12,         /* a required claim (exp, sub) missing or mistyped */
    JWT_E_INTERNAL = -13,      /* allocation or OpenSSL failure */
};

/* Human-readable reason, for the STS error message and the operator log.
 * Never contains token material. */
const char *jwt_strerror(int err);

/* The STS error Code AWS answers for err: "ExpiredTokenException" for
 * JWT_E_EXPIRED, "IDPCommunicationError" never (that is the fetcher's),
 * otherwise "InvalidIdentityToken". */
const char *jwt_sts_code(int err);

/* ---- JWKS ------------------------------------------------------------------- */
struct jwt_key;

struct jwks {
    struct jwt_key *keys; /* owned */
    size_t n;
};

/* Parses a JWKS document ({"keys": [...]}) into usable verification keys.
 * Keys of other types, curves or uses are skipped, not errors (a JWKS
 * often carries encryption keys too). A key that claims to be a usable
 * signing key but is malformed (an RSA key under 2048 bits, a kid too
 * long) is an error in a config file (JWKS_STRICT); in a set fetched from
 * the issuer (JWKS_SKIP_UNUSABLE) it is skipped too, and err names it with
 * JWT_OK: one key the issuer got wrong must not keep the rest from being
 * refreshed - a removed key would stay trusted, a new one unknown. Returns
 * 0 or JWT_E_MALFORMED with a precise message in err (no key material in
 * it). */
enum jwks_mode { JWKS_STRICT, JWKS_SKIP_UNUSABLE };
int jwks_parse(struct s3w_slice json, enum jwks_mode mode, struct jwks *out, char *err,
               size_t errcap);
void jwks_cleanup(struct jwks *k);

/* ---- verification ----------------------------------------------------------- */
struct jwt_expect {
    struct s3w_slice issuer;          /* exact iss */
    const struct s3w_slice *audiences; /* client ids; at least one */
    size_t naudiences;
    int64_t now;                      /* seconds since the epoch */
    int64_t leeway;                   /* seconds, applied to exp, nbf, iat */
};

/* The claims STS turns into condition keys and audit fields. Slices point
 * into `store`, which jwt_verify fills; they live as long as the struct. */
struct jwt_claims {
    enum jwt_alg alg;
    struct s3w_slice kid;
    struct s3w_slice iss, sub, aud, azp, email; /* aud: the one that matched */
    struct s3w_slice amr[JWT_MAX_AMR];
    size_t namr;
    int64_t exp, nbf, iat; /* 0 when absent (exp never is) */
    /* the raw "https://aws.amazon.com/tags" claim as JSON text, empty when
     * absent (session tags; STS parses it) */
    struct s3w_slice aws_tags;
    char store[6 * JWT_MAX_CLAIM + JWT_MAX_AMR * 64 + 4096];
    size_t store_used;
};

/* Verifies `token` against `keys` and `expect`. Checks run in this order,
 * so an attacker learns nothing about the key set from a forged token:
 * shape and size, header (alg allow-list, duplicates), key, signature, then
 * the claims. Returns 0 and fills *out, or a JWT_E_* code. */
int jwt_verify(struct s3w_slice token, const struct jwks *keys, const struct jwt_expect *expect,
               struct jwt_claims *out);

/* The unverified "iss" of a compact JWS, so the caller can pick the
 * provider (and its keys) to verify it with; nothing else may be trusted
 * before jwt_verify. Copies it NUL-terminated into out (cap bytes).
 * Returns 0, JWT_E_TOOBIG, JWT_E_MALFORMED or JWT_E_CLAIM (no iss). */
int jwt_peek_issuer(struct s3w_slice token, char *out, size_t cap);

/* base64url without padding (RFC 7515 section 2), as JWS uses it. Returns the
 * decoded length or S3W_E_INVAL / S3W_E_TOOBIG. */
long jwt_b64url_decode(struct s3w_slice in, uint8_t *out, size_t cap);

#endif
