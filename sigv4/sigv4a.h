/*
 * sigv4a.h - AWS Signature Version 4a (AWS4-ECDSA-P256-SHA256): key
 * derivation, sign and verify of strings to sign, region sets, and the chunk /
 * trailer signatures of the STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD(-TRAILER)
 * payload modes.
 *
 * What differs from SigV4 (AWS docs, "Signing AWS API requests" / SigV4a;
 * aws-c-auth source/aws_signing.c and source/key_derivation.c):
 *  - the signing key is a NIST P-256 key pair derived once per credential
 *    (access key id + secret), not per (date, region, service);
 *  - the credential scope has no region: DATE/SERVICE/aws4_request;
 *  - the regions the signature is good for travel in `X-Amz-Region-Set`
 *    (a signed header, or a query parameter when presigned): a comma list of
 *    region names, each of which may use `*` as a wildcard (`us-*`, `*`);
 *  - the string to sign starts with `AWS4-ECDSA-P256-SHA256` and the
 *    signature is the hex of a DER ECDSA signature over SHA-256(string to
 *    sign). ECDSA is randomised, so two signatures of the same string differ:
 *    verification never compares signatures, it checks them against the
 *    public key.
 *
 * This module has no I/O and no globals. The canonical request is built by
 * sigv4core (sigv4.h); the functions here take the canonical request or the
 * finished string to sign, so each stage can be tested on its own.
 *
 * Ownership: every s3w_slice argument is borrowed for the duration of the
 * call only. Keys are reference counted (see sigv4a_key_ref/unref) so a chunk
 * verifier can keep one for the whole life of a stream while the cache that
 * produced it evicts it.
 *
 * Thread safety: a struct sigv4a_key is immutable once made and may be used
 * from any thread (its reference count is atomic). A struct sigv4a_key_cache
 * is NOT thread-safe: one per worker loop (no locks on the request path).
 */
#ifndef S3W_SIGV4A_H
#define S3W_SIGV4A_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bytes.h"
#include "chunked.h"
#include "sigv4.h"

#define SIGV4A_ALGORITHM "AWS4-ECDSA-P256-SHA256"
#define SIGV4A_CHUNK_ALGORITHM "AWS4-ECDSA-P256-SHA256-PAYLOAD"
#define SIGV4A_TRAILER_ALGORITHM "AWS4-ECDSA-P256-SHA256-TRAILER"
#define SIGV4A_STREAMING_PAYLOAD "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD"
#define SIGV4A_STREAMING_PAYLOAD_TRAILER "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER"

/* A DER ECDSA P-256 signature is at most 72 bytes (SEQUENCE of two INTEGERs
 * of up to 33 bytes each), so at most 144 hex digits. */
#define SIGV4A_SIG_DER_MAX 72
#define SIGV4A_SIG_HEX_MAX 144
/* Chunk and trailer signatures on the wire are padded with '*' to exactly
 * 144 characters so that a client can compute Content-Length before signing
 * (aws-c-auth: AWS_SIGV4A_SIGNATURE_PADDING_BYTE, and
 * aws_trim_padded_sigv4a_signature() removes it before chaining). Header and
 * query signatures are never padded. */
#define SIGV4A_SIG_PAD_CHAR '*'
#define SIGV4A_CHUNK_SIG_LEN 144
/* Caps on inputs that size stack buffers here. */
#define SIGV4A_SCOPE_MAX 128      /* "YYYYMMDD/<service>/aws4_request" */
#define SIGV4A_AKID_MAX 128       /* access key ids are 16..128 chars (IAM) */

/* ---- errors ---------------------------------------------------------------
 * Returned as negative ints; 0 is success. S3W_E_NOMEM / S3W_E_TOOBIG /
 * S3W_E_INVAL from bytes.h may also come back (S3W_E_INVAL: a malformed
 * argument such as a bad date or an over-long scope). */
enum {
    /* The signature is well-formed hex but does not verify, or is not
     * well-formed at all (not hex, odd length, too long, not DER). S3 answers
     * both with 403 SignatureDoesNotMatch. */
    SIGV4A_E_SIGNATURE = -40,
    /* The request's X-Amz-Region-Set does not include the proxy's region.
     * Suggested S3 mapping: 400 AuthorizationHeaderMalformed (header auth) /
     * AuthorizationQueryParametersError (presigned), as for a SigV4 scope
     * naming the wrong region. */
    SIGV4A_E_REGION = -41,
    /* The region set itself is malformed: empty, or holds an empty entry. */
    SIGV4A_E_REGION_SET = -42,
    /* The KDF found no valid scalar in 254 tries (probability ~2^-8000;
     * kept because aws-c-auth fails there too). */
    SIGV4A_E_KDF = -43,
    /* OpenSSL failed internally (out of memory, provider missing). */
    SIGV4A_E_CRYPTO = -44,
};

/* A fixed, secret-free message for any error above or from bytes.h. The
 * SignatureDoesNotMatch text is S3's own wording. */
const char *sigv4a_strerror(int err);

/* ---- keys ------------------------------------------------------------------ */
struct sigv4a_key; /* opaque: a P-256 key pair (or public key only) */

/* Derives the P-256 key pair for a credential as aws-c-auth does
 * (aws_ecc_key_pair_new_ecdsa_p256_key_from_aws_credentials; NIST SP 800-108
 * KDF in counter mode with HMAC-SHA256):
 *   K      = "AWS4A" || secret
 *   input  = be32(1) || "AWS4-ECDSA-P256-SHA256" || 0x00
 *            || access_key_id || counter (1 byte, from 1) || be32(256)
 *   c      = HMAC-SHA256(K, input) as a 256-bit big-endian integer
 *   if c <= n - 2: private key d = c + 1; else counter++ (at most 254)
 * Costs two HMACs and one scalar multiplication (tens of µs): callers on the
 * request path go through a sigv4a_key_cache. The caller gets one reference
 * (*out) and releases it with sigv4a_key_unref. Intermediate secrets are
 * wiped. akid must be 1..SIGV4A_AKID_MAX bytes; secret must be non-empty. */
int sigv4a_key_derive(struct s3w_slice access_key_id, struct s3w_slice secret,
                      struct sigv4a_key **out);

/* A public-only key from affine coordinates (32-byte big-endian X and Y),
 * e.g. from public-key.json of the aws-c-auth suite. Fails with S3W_E_INVAL
 * if the point is not on the curve. Such a key can verify but not sign. */
int sigv4a_key_from_public(const uint8_t x[32], const uint8_t y[32],
                           struct sigv4a_key **out);

/* Writes the public key's affine coordinates (32-byte big-endian each). */
int sigv4a_key_public_xy(const struct sigv4a_key *key, uint8_t x[32], uint8_t y[32]);

/* True if the key holds a private scalar (can sign). */
bool sigv4a_key_can_sign(const struct sigv4a_key *key);

/* Reference counting. unref of the last reference wipes and frees the
 * private key. Both accept NULL. */
struct sigv4a_key *sigv4a_key_ref(struct sigv4a_key *key);
void sigv4a_key_unref(struct sigv4a_key *key);

/* ---- key cache --------------------------------------------------------------
 * Derivation costs far more than a verification's HMACs do in SigV4, so keys
 * are cached per credential. The cache holds `slots` entries, each tagged
 * with SHA-256 of (access key id, secret) - the secret itself is not kept -
 * and evicts the least recently used. A rotated secret for the same access
 * key id simply misses. */
struct sigv4a_key_cache;

struct sigv4a_key_cache *sigv4a_key_cache_new(size_t slots); /* slots >= 1 */
void sigv4a_key_cache_free(struct sigv4a_key_cache *cache);  /* NULL ok */

/* Looks the credential up, deriving and inserting on a miss. On success *out
 * is a NEW reference (release it with sigv4a_key_unref) that stays valid even
 * if the cache evicts or is freed. */
int sigv4a_key_cache_get(struct sigv4a_key_cache *cache,
                         struct s3w_slice access_key_id, struct s3w_slice secret,
                         struct sigv4a_key **out);

/* The key that verified the most recent request through sigv4a_hook_verify
 * on this cache, if that request's access key id is `access_key_id`: a NEW
 * reference in *out. For the ECDSA aws-chunked decoder right after
 * sigv4_verify() succeeded (the proxy no longer holds the secret then). Each
 * hook call forgets the previous key first, so a failed verification leaves
 * nothing behind. 0, or S3W_E_INVAL if there is no such key. */
int sigv4a_key_cache_last_verified(struct sigv4a_key_cache *cache,
                                   struct s3w_slice access_key_id, struct sigv4a_key **out);

/* Hit/miss counters (for tests and metrics). */
void sigv4a_key_cache_stats(const struct sigv4a_key_cache *cache,
                            uint64_t *hits, uint64_t *misses);

/* ---- region sets ------------------------------------------------------------ */
/* True if `region` is named by the region set, a comma-separated list such as
 * "us-east-1,eu-*" or "*". Each entry is compared byte for byte with `*`
 * matching any run of characters (including none); optional spaces around an
 * entry are ignored. An empty set, an empty entry or an empty region never
 * matches (fail closed). */
bool sigv4a_region_set_matches(struct s3w_slice region_set, struct s3w_slice region);

/* Checks a region set: SIGV4A_E_REGION_SET if malformed, SIGV4A_E_REGION if
 * it does not include `region`, else 0. */
int sigv4a_region_set_check(struct s3w_slice region_set, struct s3w_slice region);

/* ---- strings to sign ---------------------------------------------------------
 * All writers append to `out` (a capped buffer the caller owns) and fail with
 * S3W_E_TOOBIG past its cap. amz_date is the 16-byte ISO8601 basic form
 * (20150830T123600Z); scope is DATE/SERVICE/aws4_request. */

/* Writes "DATE/SERVICE/aws4_request" from the first 8 bytes of amz_date. */
int sigv4a_scope(struct s3w_buf *out, struct s3w_slice amz_date, struct s3w_slice service);

/* "AWS4-ECDSA-P256-SHA256\n" amz_date "\n" scope "\n" hex(SHA-256(creq)) */
int sigv4a_string_to_sign(struct s3w_buf *out, struct s3w_slice amz_date,
                          struct s3w_slice scope, struct s3w_slice canonical_request);

/* ---- sign / verify a string to sign ------------------------------------------ */
/* ECDSA-P256 over SHA-256(sts); writes the lower-case hex of the DER
 * signature and a NUL into sig_hex (SIGV4A_SIG_HEX_MAX + 1 bytes) and its
 * length (<= 144, no padding) into *sig_len. Needs a key that can sign. */
int sigv4a_sign_sts(const struct sigv4a_key *key, struct s3w_slice sts,
                    char sig_hex[SIGV4A_SIG_HEX_MAX + 1], size_t *sig_len);

/* Verifies a hex DER signature (either case, no padding: header and query
 * signatures are never padded) over SHA-256(sts). 0, SIGV4A_E_SIGNATURE, or
 * SIGV4A_E_CRYPTO. */
int sigv4a_verify_sts(const struct sigv4a_key *key, struct s3w_slice sts,
                      struct s3w_slice sig_hex);

/* Builds the string to sign from a canonical request and verifies. Scratch
 * space is on the stack (no allocation). */
int sigv4a_verify_canonical(const struct sigv4a_key *key, struct s3w_slice amz_date,
                            struct s3w_slice scope, struct s3w_slice canonical_request,
                            struct s3w_slice sig_hex);

/* ---- chunk and trailer signatures (aws-chunked, ECDSA variants) ---------------
 * Chunk string to sign (AWS S3 docs, "Signature calculations for the
 * Authorization header: Transferring payload in multiple chunks", with the
 * v4a algorithm and scope):
 *   "AWS4-ECDSA-P256-SHA256-PAYLOAD\n" date "\n" scope "\n"
 *   prev_sig "\n" hex(SHA-256("")) "\n" hex(SHA-256(chunk data))
 * Trailer string to sign:
 *   "AWS4-ECDSA-P256-SHA256-TRAILER\n" date "\n" scope "\n"
 *   prev_sig "\n" hex(SHA-256(trailer block))
 * prev_sig is the seed (request) signature for the first chunk, then each
 * chunk's; any '*' padding on it is stripped before it is chained. The final
 * empty chunk is signed like any other (its hash is SHA-256("")).
 * Hashes are passed in raw (32 bytes) because the stream decoder computes
 * them incrementally. */

/* Strips trailing SIGV4A_SIG_PAD_CHAR from a signature as it appears on the
 * wire. */
struct s3w_slice sigv4a_sig_trim_padding(struct s3w_slice sig);

int sigv4a_chunk_string_to_sign(struct s3w_buf *out, struct s3w_slice amz_date,
                                struct s3w_slice scope, struct s3w_slice prev_sig,
                                const uint8_t chunk_sha256[32]);
int sigv4a_trailer_string_to_sign(struct s3w_buf *out, struct s3w_slice amz_date,
                                  struct s3w_slice scope, struct s3w_slice prev_sig,
                                  const uint8_t trailer_sha256[32]);

/* Signs a chunk. sig_out receives exactly SIGV4A_CHUNK_SIG_LEN characters
 * (hex padded with '*') and a NUL, ready for ";chunk-signature=" - so a
 * re-framed stream has the Content-Length the client computed. *hex_len gets
 * the unpadded length (what the next chunk chains on). No allocation. */
int sigv4a_chunk_sign(const struct sigv4a_key *key, struct s3w_slice amz_date,
                      struct s3w_slice scope, struct s3w_slice prev_sig,
                      const uint8_t chunk_sha256[32],
                      char sig_out[SIGV4A_CHUNK_SIG_LEN + 1], size_t *hex_len);

/* Verifies a chunk signature as it appeared after "chunk-signature=" (padded
 * or not). 0 or SIGV4A_E_SIGNATURE / SIGV4A_E_CRYPTO / S3W_E_INVAL. */
int sigv4a_chunk_verify(const struct sigv4a_key *key, struct s3w_slice amz_date,
                        struct s3w_slice scope, struct s3w_slice prev_sig,
                        const uint8_t chunk_sha256[32], struct s3w_slice sig);

/* Same for the trailer signature (x-amz-trailer-signature). */
int sigv4a_trailer_sign(const struct sigv4a_key *key, struct s3w_slice amz_date,
                        struct s3w_slice scope, struct s3w_slice prev_sig,
                        const uint8_t trailer_sha256[32],
                        char sig_out[SIGV4A_CHUNK_SIG_LEN + 1], size_t *hex_len);
int sigv4a_trailer_verify(const struct sigv4a_key *key, struct s3w_slice amz_date,
                          struct s3w_slice scope, struct s3w_slice prev_sig,
                          const uint8_t trailer_sha256[32], struct s3w_slice sig);

/* ---- glue for sigv4_verify() (sigv4.h) and the aws-chunked codec (chunked.h) -- */

/* The SigV4a hook for struct sigv4_verify_opts.v4a: ctx is the worker's
 * struct sigv4a_key_cache *. Derives (or finds) the key for
 * (access_key_id, secret) and verifies the hex DER signature over the string
 * to sign sigv4_verify() built. Returns 0 if it verifies, 1 if it does not
 * (including a signature that is not hex or not DER), negative on an
 * internal error (fail closed: the caller answers InternalError). */
int sigv4a_hook_verify(void *ctx, struct s3w_slice access_key_id, struct s3w_slice secret,
                       struct s3w_slice string_to_sign, struct s3w_slice signature_hex);

/* Chain step for SIGV4_STREAM_ECDSA_PAYLOAD(_TRAILER): set
 * sigv4_chunked_params.ops = &sigv4a_chain_ops and ops_ctx = a struct
 * sigv4a_key * on which the caller holds a reference for the life of the
 * decoder/encoder (sigv4a_key_cache_get gives one; a public-only key can
 * verify but not sign). verify accepts the wire form (hex, optionally '*'
 * padded to 144) and answers SIGV4_CHUNK_E_SIGNATURE on any mismatch; sign
 * writes exactly SIGV4A_CHUNK_SIG_LEN characters (hex + '*' padding), so
 * sigv4_chunked_encoded_length() takes sig_len = 144. The seed signature of
 * a v4a stream is the request's signature as sent (sigv4_result.auth.signature). */
extern const struct sigv4_chain_ops sigv4a_chain_ops;

/* After sigv4_verify() accepted an AWS4-ECDSA-P256-SHA256 request: its region
 * set (header x-amz-region-set, or X-Amz-Region-Set when presigned) must be
 * present, signed (header form: in SignedHeaders, for every service - else
 * 403 AccessDenied "There were headers present in the request which were not
 * signed"), and include `region` (the proxy's). Returns 0, or -1 with err
 * set: AuthorizationHeaderMalformed (header form) /
 * AuthorizationQueryParametersError (presigned), naming only our region,
 * never the caller's values. For a SigV4 (HMAC) result it returns 0: the
 * scope's region is checked by sigv4_verify() itself. */
int sigv4a_check_region(const struct sigv4_result *res, struct s3w_slice region,
                        struct sigv4_error *err);

/* ---- signing requests (tests, the `presign` command, a v4a upstream) ----------
 * The same request model and rules as sigv4_sign_headers() / sigv4_presign()
 * (sigv4.h), with the SigV4a differences: the key is the P-256 key of the
 * credential (pass the one sigv4a_key_cache_get or sigv4a_key_derive gave
 * for creds->access_key_id; creds->secret is not used), p->region and
 * p->cache are ignored, and region_set (e.g. "us-east-1", "us-*", "*") is
 * signed as x-amz-region-set / X-Amz-Region-Set. */
struct sigv4a_signed {
    char authorization[4096];
    size_t authorization_len;
    char amz_date[17];                 /* x-amz-date value, NUL-terminated */
    char content_sha256[80];           /* x-amz-content-sha256 value */
    size_t content_sha256_len;
    /* Send these too: x-amz-region-set (borrowed from the caller's
     * region_set) and, if non-empty, x-amz-security-token (borrowed from
     * creds). */
    struct s3w_slice region_set;
    struct s3w_slice security_token;
    /* The request signature: the seed of an ECDSA aws-chunked stream. */
    char signature[SIGV4A_SIG_HEX_MAX + 1];
    size_t signature_len;
    char scope[SIGV4A_SCOPE_MAX + 1];  /* DATE/SERVICE/aws4_request */
    size_t scope_len;
};

/* Header-signs: SignedHeaders = the caller's headers (lower-cased, sorted,
 * repeated names once) + x-amz-content-sha256, x-amz-date,
 * x-amz-region-set and x-amz-security-token when a token is given; the
 * caller must not pass those (nor Authorization): InternalError if it does.
 * Authorization is "AWS4-ECDSA-P256-SHA256 Credential=AKID/SCOPE,
 * SignedHeaders=..., Signature=<hex DER>" (aws-c-auth's layout). Returns 0,
 * or -1 with err (InvalidRequest for an unknown payload value, InternalError
 * for a cap hit or a key that cannot sign). */
int sigv4a_sign_headers(const struct sigv4_sign_params *p, const struct sigv4_credentials *creds,
                        const struct sigv4a_key *key, struct s3w_slice region_set,
                        struct sigv4a_signed *out, struct sigv4_error *err);

/* Presigns: appends to out p->target with X-Amz-Algorithm, -Credential,
 * -Date, -SignedHeaders, -Expires, [-Security-Token,] -Region-Set (in
 * aws-c-auth's order, after the target's own query) and X-Amz-Signature.
 * Only the given headers (at least Host) are signed; the payload is
 * UNSIGNED-PAYLOAD. expires_s must be 1..604800. 0, or -1 with err. */
int sigv4a_presign(const struct sigv4_sign_params *p, const struct sigv4_credentials *creds,
                   const struct sigv4a_key *key, struct s3w_slice region_set, int64_t expires_s,
                   struct s3w_buf *out, struct sigv4_error *err);

#endif
