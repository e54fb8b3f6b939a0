/*
 * sigv4.h - AWS Signature Version 4: parse, canonicalise, sign, verify.
 *
 * Pure library: no I/O, no globals, no logging. Every stage of the algorithm
 * is a separate public function so it can be tested against the AWS suites
 * (tests/testdata/sigv4) byte for byte:
 *
 *   sigv4_parse_authorization / sigv4_parse_presigned   (who signed, how)
 *   sigv4_canonical_uri / _query / _headers / _request  (AWS "Create a
 *                                                        canonical request")
 *   sigv4_string_to_sign                                 ("Create a string to
 *                                                        sign")
 *   sigv4_signing_key                                    ("Derive a signing
 *                                                        key": kDate..kSigning)
 *   sigv4_signature                                      (HMAC over the STS)
 *
 * and two drivers built from them: sigv4_verify() for the client side and
 * sigv4_sign_headers() / sigv4_presign() for the proxy's upstream side.
 *
 * aws-chunked streaming (chunk signatures, trailers, checksums) lives in its
 * own header; it consumes the seed signature, signing key, amz-date and scope
 * that sigv4_verify() / sigv4_sign_headers() hand out here. SigV4a (ECDSA
 * P-256) lives in sigv4a.h; sigv4_verify() reaches it only through the
 * struct sigv4a_hook below, so this module links without it.
 *
 * Ownership: a struct s3w_slice in any output points either into the caller's
 * request (lives as long as the request bytes) or into the output struct's
 * own storage (lives as long as that struct and MUST NOT be copied by value:
 * slices would still point into the original). Each such field says which.
 *
 * Secrets: secret keys and derived keys are wiped (s3w_wipe) when no longer
 * needed; MACs are compared with s3w_ct_equal. No function here ever puts a
 * secret, a signature or a token into an error message. What S3 shows of a
 * signature that does not match (sigv4_verify_opts.mismatch) holds the
 * signature given and, when signed, the caller's session token: it goes to
 * the caller only, and its buffer is the caller's to wipe.
 *
 * Threads: nothing here is global. A worker (one event loop) owns one
 * struct sigv4_keycache and one scratch s3w_buf and passes both in every
 * struct sigv4_verify_opts; then a request verified with a known key does
 * no allocation and one HMAC. Typical use:
 *
 *   struct sigv4_verify_opts o = { .regions = r, .n_regions = 1,
 *       .service = S3W_SLICE_LIT("s3"), .uri_mode = SIGV4_URI_S3,
 *       .lookup = my_lookup, .lookup_ud = snapshot,
 *       .cache = &worker->keycache, .scratch = &worker->creq };
 *   struct sigv4_error err;
 *   if (sigv4_verify(&req, time(NULL), &o, &conn->auth, &err) != 0)
 *       -> err.code == SIGV4_ERR_ANONYMOUS ? anonymous principal
 *                                          : answer err.http_status,
 *                                            err.s3_code, err.message
 *   ... conn->auth.payload_mode tells how to read the body;
 *   sigv4_result_cleanup(&conn->auth) when the request ends.
 */
#ifndef S3W_SIGV4_H
#define S3W_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bytes.h"

/* ==== limits (all fixed; exceeding one is an error, never a realloc) ===== */
#define SIGV4_MAX_HEADERS         128   /* signed header names per request   */
#define SIGV4_MAX_QUERY_PARAMS    256   /* params in one canonical query      */
#define SIGV4_MAX_CANONICAL     16384   /* canonical request bytes            */
#define SIGV4_MAX_SECRET          128   /* secret access key bytes            */
#define SIGV4_AUTH_STORE         8192   /* decoded presigned params (token)   */
#define SIGV4_MAX_SKEW_S          900   /* 15 min, S3 RequestTimeTooSkewed    */
#define SIGV4_MAX_EXPIRES      604800   /* 7 days, S3 presigned X-Amz-Expires */

#define SIGV4_ALGORITHM_HMAC   "AWS4-HMAC-SHA256"
#define SIGV4_ALGORITHM_ECDSA  "AWS4-ECDSA-P256-SHA256"

/* ==== errors ================================================================
 * Functions return 0 on success or a negative value; the detailed outcome is
 * in struct sigv4_error: the S3 error code string, its HTTP status and S3's
 * own message wording, ready to be put in the XML error body.
 */
enum sigv4_errcode {
    SIGV4_OK = 0,
    SIGV4_ERR_ANONYMOUS,              /* no Authorization header and no
                                         X-Amz-Algorithm: not an error for the
                                         library; the caller decides whether
                                         anonymous access is allowed (403
                                         AccessDenied if not) */
    SIGV4_ERR_INVALID_ACCESS_KEY_ID,  /* 403 InvalidAccessKeyId */
    SIGV4_ERR_SIGNATURE_MISMATCH,     /* 403 SignatureDoesNotMatch */
    SIGV4_ERR_TIME_SKEWED,            /* 403 RequestTimeTooSkewed */
    SIGV4_ERR_EXPIRED,                /* 403 AccessDenied "Request has expired" */
    SIGV4_ERR_UNSIGNED_HEADERS,       /* 403 AccessDenied "There were headers
                                         present in the request which were not
                                         signed" */
    SIGV4_ERR_HEADER_MALFORMED,       /* 400 AuthorizationHeaderMalformed */
    SIGV4_ERR_QUERY_PARAMS,           /* 400 AuthorizationQueryParametersError */
    SIGV4_ERR_CONTENT_SHA256_MISMATCH,/* 400 XAmzContentSHA256Mismatch */
    SIGV4_ERR_INVALID_REQUEST,        /* 400 InvalidRequest (unknown payload
                                         mode, missing x-amz-content-sha256,
                                         unsupported algorithm, ...) */
    SIGV4_ERR_INVALID_ARGUMENT,       /* 400 InvalidArgument (e.g. both header
                                         and query auth present) */
    SIGV4_ERR_MISSING_SECURITY_HEADER,/* 400 MissingSecurityHeader (callback) */
    SIGV4_ERR_INVALID_TOKEN,          /* 400 InvalidToken (callback) */
    SIGV4_ERR_EXPIRED_TOKEN,          /* 400 ExpiredToken (callback) */
    SIGV4_ERR_ACCESS_DENIED,          /* 403 AccessDenied (other cases) */
    SIGV4_ERR_INTERNAL,               /* 500 InternalError (a cap was hit
                                         where it should not be, OOM, crypto
                                         failure) - fail closed */
};

struct sigv4_error {
    enum sigv4_errcode code;
    int http_status;                  /* 400, 403, 500 */
    const char *s3_code;              /* "SignatureDoesNotMatch", ...; static */
    char message[384];                /* S3's wording (its longest, an unknown
                                         x-amz-content-sha256's, 287 bytes);
                                         never holds a secret,
                                         a signature or a token. Values echoed
                                         from the request (a wrong region) are
                                         truncated and restricted to printable
                                         ASCII. NUL-terminated. */
    char headers_not_signed[256];     /* SIGV4_ERR_UNSIGNED_HEADERS: the
                                         header names S3 lists in the error's
                                         <HeadersNotSigned>, lower case, in
                                         request order, each once, ", "
                                         between them; those that do not fit
                                         are left out. Names only, never a
                                         value. Empty for every other code. */
    char access_key_id[132];          /* SIGV4_ERR_INVALID_ACCESS_KEY_ID: the
                                         key id as given (printable ASCII,
                                         cut to fit), S3's <AWSAccessKeyId>;
                                         empty for any other code */
    char region[48];                  /* a scope naming another region than
                                         the endpoint's (AuthorizationHeader
                                         Malformed, AuthorizationQueryParame
                                         tersError): the endpoint's, which S3
                                         adds as <Region> and SDKs read to
                                         sign again for it. Empty otherwise. */
    struct {                          /* SIGV4_ERR_TIME_SKEWED: what S3 shows
                                         (<RequestTime>, <ServerTime>,
                                         <MaxAllowedSkewMilliseconds>): the
                                         request's x-amz-date or Date as
                                         given (printable ASCII, cut to fit;
                                         empty for any other code), the
                                         verifier's clock, the window */
        char request_time[40];
        int64_t server_time, max_skew_s;
    } skew;
    struct {                          /* SIGV4_ERR_EXPIRED (S3's
                                         <X-Amz-Expires>, <Expires>,
                                         <ServerTime>): X-Amz-Expires as
                                         given, when the request ran out,
                                         the verifier's clock */
        int64_t expires_s, expires_at, server_time;
    } expired;
    struct {                          /* SIGV4_ERR_SIGNATURE_MISMATCH with
                                         opts->mismatch: the lengths of what
                                         was appended there, in this order */
        size_t access_key_id, signature, string_to_sign, canonical_request;
    } mismatch;
};

/* An error that says nothing yet (code SIGV4_OK, every string empty): what
 * a caller gives sigv4_verify, cheaper than clearing all of it. */
void sigv4_error_reset(struct sigv4_error *err);
/* Fills err with code, status, S3 code and S3's default message for code,
 * the rest reset. Returns -1 (so callers can `return sigv4_fail(err, ...)`),
 * or 0 for OK. */
int sigv4_fail(struct sigv4_error *err, enum sigv4_errcode code);
/* Same, with a specific message (printf-style; arguments must not be
 * secrets). */
int sigv4_failf(struct sigv4_error *err, enum sigv4_errcode code,
                const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Static name of a code ("SignatureDoesNotMatch"); never NULL. */
const char *sigv4_errcode_s3(enum sigv4_errcode code);

/* ==== request model ========================================================= */

/* A request as it came off the wire. All slices are borrowed. */
struct sigv4_request {
    struct s3w_slice method;          /* "GET" */
    struct s3w_slice target;          /* raw request-target, `path?query`,
                                         exactly as on the wire (not decoded) */
    const struct s3w_header *headers;
    size_t n_headers;
};

/* How the canonical URI is built (AWS SigV4 docs, "Create a canonical
 * request", CanonicalURI):
 *  - SIGV4_URI_S3: S3 rules. Each path segment is percent-decoded once from
 *    the wire and re-encoded with the unreserved set (A-Z a-z 0-9 - . _ ~),
 *    `/` kept; never normalised (`//`, `.`, `..` kept as sent). S3 docs:
 *    "Do not normalize URI paths for requests to Amazon S3" and "each path
 *    segment must be URI-encoded twice (except for Amazon S3 which only gets
 *    URI-encoded once)".
 *  - SIGV4_URI_GENERIC: every other service (STS, IAM, ...): the wire path is
 *    normalised (RFC 3986 remove_dot_segments, `//` collapsed) and then
 *    URI-encoded again as it stands (so `%` becomes `%25`: double encoding).
 *  - SIGV4_URI_GENERIC_UNNORMALIZED: double encoding without normalisation
 *    (aws-c-auth's `normalize: false` cases). */
enum sigv4_uri_mode {
    SIGV4_URI_S3 = 0,
    SIGV4_URI_GENERIC,
    SIGV4_URI_GENERIC_UNNORMALIZED,
};

/* The rules AWS uses for a service name: "s3" (and s3-object-lambda,
 * s3express) -> SIGV4_URI_S3, anything else -> SIGV4_URI_GENERIC. */
enum sigv4_uri_mode sigv4_uri_mode_for_service(struct s3w_slice service);

/* ==== stage 0: parsing who signed and how ==================================== */

enum sigv4_algorithm {
    SIGV4_ALG_HMAC_SHA256 = 1,        /* AWS4-HMAC-SHA256 */
    SIGV4_ALG_ECDSA_P256_SHA256,      /* AWS4-ECDSA-P256-SHA256 (SigV4a) */
};

/* Parsed authentication parameters, from the Authorization header or from
 * the presigned query. Slices point into the request (header form) or into
 * `store` (query form: values are percent-decoded there). Do not copy by
 * value. */
struct sigv4_auth {
    enum sigv4_algorithm algorithm;
    bool presigned;
    struct s3w_slice credential;      /* whole Credential value */
    struct s3w_slice access_key_id;
    struct s3w_slice date;            /* yyyymmdd from the scope */
    struct s3w_slice region;          /* empty for SigV4a (no region in scope) */
    struct s3w_slice service;
    struct s3w_slice terminator;      /* must be "aws4_request" */
    struct s3w_slice scope;           /* "date/region/service/aws4_request"
                                         (date/service/aws4_request for v4a) */
    struct s3w_slice signed_headers;  /* "host;x-amz-date" as sent */
    struct s3w_slice signature;       /* hex as sent (64 chars for HMAC;
                                         DER-in-hex for ECDSA) */
    /* query form only (empty for header form): */
    struct s3w_slice amz_date;        /* X-Amz-Date */
    struct s3w_slice expires;         /* X-Amz-Expires, decimal as sent */
    struct s3w_slice security_token;  /* X-Amz-Security-Token (decoded) */
    struct s3w_slice region_set;      /* X-Amz-Region-Set (decoded, v4a) */
    size_t store_used;
    char store[SIGV4_AUTH_STORE];
};

/* Parses an Authorization header value:
 *   ALGORITHM Credential=AKID/DATE/REGION/SERVICE/aws4_request,
 *             SignedHeaders=a;b, Signature=hex
 * Parts may be separated by "," or ", " (AWS accepts both); each part exactly
 * once (duplicates, unknown or missing components ->
 * AuthorizationHeaderMalformed); the algorithm must be AWS4-HMAC-SHA256 or
 * AWS4-ECDSA-P256-SHA256: SigV2 ("AWS AKID:sig") -> InvalidRequest "The
 * authorization mechanism you have provided is not supported. Please use
 * AWS4-HMAC-SHA256.", anything else -> InvalidArgument "Unsupported
 * Authorization Type". Checks the scope's shape (5 parts, 4 for SigV4a;
 * 8-digit date; terminator aws4_request) but not its values against the
 * request: that is sigv4_verify()'s job. Returns 0 or -1 with err set. */
int sigv4_parse_authorization(struct s3w_slice value, struct sigv4_auth *out,
                              struct sigv4_error *err);

/* Parses the presigned parameters from a raw (still encoded) query string:
 * X-Amz-Algorithm, -Credential, -Date, -Expires, -SignedHeaders, -Signature,
 * -Security-Token, and X-Amz-Region-Set for SigV4a. A missing required
 * parameter, a duplicate, or a bad value -> AuthorizationQueryParametersError
 * with S3's wording. Returns 0, or -1 with err set. If the query has no
 * X-Amz-Algorithm, returns -1 with SIGV4_ERR_ANONYMOUS (not presigned). */
int sigv4_parse_presigned(struct s3w_slice raw_query, struct sigv4_auth *out,
                          struct sigv4_error *err);

/* ==== stage 1: canonical request ============================================= */

/* Appends the canonical URI for the raw wire path (the part of the target
 * before '?'). An empty path is "/". Returns 0, S3W_E_TOOBIG or
 * S3W_E_INVAL (bad percent escape in S3 mode). */
int sigv4_canonical_uri(struct s3w_slice raw_path, enum sigv4_uri_mode mode,
                        struct s3w_buf *out);

/* Appends the canonical query string for a raw query (the part after '?',
 * without the '?'). Each parameter's key and value are percent-decoded and
 * re-encoded with the unreserved set ("+" is a literal plus, encoded %2B);
 * a key without "=" gets an empty value ("k="); pairs sorted by encoded key,
 * then encoded value (byte order); joined with "&". When
 * exclude_signature is true, X-Amz-Signature is left out (presigned
 * verification). Returns 0, S3W_E_TOOBIG, or S3W_E_INVAL (bad escape or
 * more than SIGV4_MAX_QUERY_PARAMS). */
int sigv4_canonical_query(struct s3w_slice raw_query, bool exclude_signature,
                          struct s3w_buf *out);

/* Appends the canonical headers block: for each name in signed_headers (";"
 * separated, lower-case, in the order given) "name:value\n", where value is
 * every header of that name (case-insensitive) in request order, each
 * trimmed with inner runs of whitespace collapsed to one space, joined with
 * ",". A signed header absent from the request is S3W_E_INVAL. */
int sigv4_canonical_headers(const struct s3w_header *headers, size_t n,
                            struct s3w_slice signed_headers,
                            struct s3w_buf *out);

/* Appends the whole canonical request:
 *   METHOD \n URI \n QUERY \n HEADERS \n SIGNED_HEADERS \n PAYLOAD_HASH
 * payload_hash is the literal the signer used ("UNSIGNED-PAYLOAD", 64 hex,
 * "STREAMING-..."). For presigned requests pass exclude_signature=true. */
int sigv4_canonical_request(const struct sigv4_request *req,
                            enum sigv4_uri_mode mode,
                            struct s3w_slice signed_headers,
                            struct s3w_slice payload_hash,
                            bool exclude_signature, struct s3w_buf *out);

/* ==== stage 2: string to sign ================================================ */

/* Appends "ALGORITHM\nAMZDATE\nSCOPE\nhex(sha256(canonical_request))". */
int sigv4_string_to_sign(struct s3w_slice algorithm, struct s3w_slice amz_date,
                         struct s3w_slice scope,
                         struct s3w_slice canonical_request,
                         struct s3w_buf *out);

/* ==== stage 3: signing key and signature ===================================== */

/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service),
 * "aws4_request"). Intermediate keys are wiped. out[32]. */
void sigv4_signing_key(struct s3w_slice secret, struct s3w_slice date,
                       struct s3w_slice region, struct s3w_slice service,
                       uint8_t out[32]);

/* out[32] = HMAC-SHA256(key, string_to_sign). */
void sigv4_signature(const uint8_t key[32], struct s3w_slice string_to_sign,
                     uint8_t out[32]);

/* HMAC-SHA256 and SHA-256 helpers (used by the stages above, public because
 * the chunk signer needs the same primitives). */
void sigv4_hmac_sha256(const void *key, size_t key_len, const void *msg,
                       size_t msg_len, uint8_t out[32]);

/* An HMAC-SHA256 key made ready once for many MACs (RFC 2104 section 4,
 * "Implementation note"): the SHA-256 states after the key's ipad block and
 * after its opad block. A MAC from it hashes the message and the inner
 * digest only, two compression blocks fewer than sigv4_hmac_sha256. It is
 * key material, as good as the key: the holder wipes it (s3w_wipe) when it
 * forgets the key. */
struct sigv4_hmac_key {
    uint64_t inner[14], outer[14]; /* SHA256_CTX each (hmac.c checks that it fits) */
};
void sigv4_hmac_key_init(struct sigv4_hmac_key *hk, const void *key,
                         size_t key_len);
/* out[32] = HMAC-SHA256(key, msg) for the key hk was made from. hk is not
 * changed: the states are copied, and the copies wiped. */
void sigv4_hmac_key_mac(const struct sigv4_hmac_key *hk, const void *msg,
                        size_t msg_len, uint8_t out[32]);
void sigv4_sha256(const void *msg, size_t len, uint8_t out[32]);
/* SHA-256 of nothing: the payload hash every body-less request signs. */
extern const uint8_t sigv4_sha256_empty[32];

/* SHA-256 of a stream (a request body) in the caller's storage: no
 * allocation, unlike an EVP_MD_CTX, whose every EVP_DigestInit_ex makes a
 * new provider context. For public data only (the state is not wiped). */
struct sigv4_sha256_stream {
    uint64_t state[14]; /* a SHA256_CTX (hmac.c checks that it fits) */
};
void sigv4_sha256_begin(struct sigv4_sha256_stream *s);
void sigv4_sha256_add(struct sigv4_sha256_stream *s, const void *p, size_t n);
void sigv4_sha256_end(struct sigv4_sha256_stream *s, uint8_t out[32]);

/* SHA-256 and MD5 for an EVP_MD_CTX that hashes a stream (a request body),
 * fetched once per process: EVP_sha256() and EVP_md5() make each
 * EVP_DigestInit_ex fetch the algorithm again, under the provider's locks.
 * NULL if the provider has none (EVP_DigestInit_ex then fails). */
struct evp_md_st;
const struct evp_md_st *sigv4_md_sha256(void);
const struct evp_md_st *sigv4_md_md5(void);

/* ==== signing-key cache ======================================================
 * Small, fixed-size, owned by the caller (one per worker thread; not
 * thread-safe by design: no locks on the request path). A hit costs a few
 * compares and no allocation; the cached verify then costs one HMAC over the
 * string to sign, from the key's ready HMAC states (sigv4_keycache_sign).
 * Entries hold the secret's tag (sigv4_secret_tag, compared in constant
 * time), never the secret, and the derived key and its HMAC states; all
 * are wiped on eviction and cleanup. LRU. */
#define SIGV4_KEYCACHE_SLOTS 32

/* out[32] = SHA-256 of this process's salt block and the secret: what the
 * cache keeps to tell one secret from another (a rotated secret for the
 * same key id, two callers' secrets for the same scope) without keeping
 * the secret. One-way: to someone who reads memory (salt included) it, as
 * the signing key kept beside it, can only confirm a guessed secret - at
 * one compression a guess where the key takes the derivation's four
 * HMACs; a secret that can be guessed is weak whatever is kept. */
void sigv4_secret_tag(struct s3w_slice secret, uint8_t out[32]);

struct sigv4_keycache_entry {
    bool used;
    uint8_t date_len, region_len, service_len;
    uint8_t secret_tag[32];
    char date[8];
    char region[32];
    char service[32];
    uint8_t key[32];
    struct sigv4_hmac_key hk; /* of key */
    uint64_t last_used;
};

struct sigv4_keycache {
    struct sigv4_keycache_entry e[SIGV4_KEYCACHE_SLOTS];
    uint64_t tick;
    uint64_t hits, misses;            /* for metrics */
};

void sigv4_keycache_init(struct sigv4_keycache *c);
void sigv4_keycache_cleanup(struct sigv4_keycache *c);   /* wipes all */
/* Writes the signing key for the tuple to out[32], deriving and caching it on
 * a miss. Tuples too long to cache are derived and not cached. */
void sigv4_keycache_get(struct sigv4_keycache *c, struct s3w_slice secret,
                        struct s3w_slice date, struct s3w_slice region,
                        struct s3w_slice service, uint8_t out[32]);
/* As sigv4_keycache_get, and sig[32] = sigv4_signature(key, string_to_sign),
 * computed from the cached entry's HMAC states (a tuple too long to cache:
 * the plain way). */
void sigv4_keycache_sign(struct sigv4_keycache *c, struct s3w_slice secret,
                         struct s3w_slice date, struct s3w_slice region,
                         struct s3w_slice service,
                         struct s3w_slice string_to_sign, uint8_t key[32],
                         uint8_t sig[32]);

/* ==== verification ========================================================== */

enum sigv4_payload_mode {
    SIGV4_PAYLOAD_NONE = 0,           /* none known (unparsed, or not S3) */
    SIGV4_PAYLOAD_SIGNED = 1,         /* 64 lower-case hex digits: sha256
                                         of the body (S3 writes hashes
                                         "Hex(): lowercase base 16") */
    SIGV4_PAYLOAD_UNSIGNED,           /* UNSIGNED-PAYLOAD */
    SIGV4_PAYLOAD_STREAMING_HMAC,     /* STREAMING-AWS4-HMAC-SHA256-PAYLOAD */
    SIGV4_PAYLOAD_STREAMING_HMAC_TRAILER,
                                      /* STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER */
    SIGV4_PAYLOAD_STREAMING_UNSIGNED_TRAILER,
                                      /* STREAMING-UNSIGNED-PAYLOAD-TRAILER */
    SIGV4_PAYLOAD_STREAMING_ECDSA,    /* STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD */
    SIGV4_PAYLOAD_STREAMING_ECDSA_TRAILER,
                                      /* ...-ECDSA-P256-SHA256-PAYLOAD-TRAILER */
};

/* Classifies an x-amz-content-sha256 value; 0 for unknown (upper-case hex
 * included: verify answers it InvalidRequest as any other value it does
 * not know, and the signers refuse it). For SIGNED, fills
 * sha256_out[32] if non-NULL. */
enum sigv4_payload_mode sigv4_payload_mode_parse(struct s3w_slice v,
                                                 uint8_t *sha256_out);
const char *sigv4_payload_mode_name(enum sigv4_payload_mode m);
/* S3's message for an x-amz-content-sha256 it does not take. */
#define SIGV4_BAD_PAYLOAD_MSG \
    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, " \
    "STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, " \
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, " \
    "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, " \
    "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER or a valid sha256 value."

/* What the secret lookup callback can answer. */
enum sigv4_lookup_status {
    SIGV4_LOOKUP_OK = 0,
    SIGV4_LOOKUP_UNKNOWN_KEY,         /* -> InvalidAccessKeyId */
    SIGV4_LOOKUP_MISSING_TOKEN,       /* temporary key without token ->
                                         MissingSecurityHeader */
    SIGV4_LOOKUP_INVALID_TOKEN,       /* -> InvalidToken */
    SIGV4_LOOKUP_EXPIRED_TOKEN,       /* -> ExpiredToken */
    SIGV4_LOOKUP_ERROR,               /* -> InternalError (fail closed) */
};

/* Looks up the secret for access_key_id. session_token is the
 * X-Amz-Security-Token (header or query) or empty. On OK the callback copies
 * the secret into secret_out (capacity SIGV4_MAX_SECRET) and sets
 * *secret_len; sigv4_verify() wipes it before returning. Must not block. */
typedef enum sigv4_lookup_status (*sigv4_lookup_fn)(
    void *ud, struct s3w_slice access_key_id, struct s3w_slice session_token,
    char *secret_out, size_t *secret_len);

/* SigV4a hook: sigv4_verify() builds the canonical request and the string to
 * sign for AWS4-ECDSA-P256-SHA256 itself and hands the ECDSA check to this
 * function (implemented in sigv4a.c; the proxy fills the hook). Return 0 if
 * the DER signature (hex, as sent; sigv4_verify() refuses any but lower-case
 * hex itself, before calling it) verifies with the P-256 key derived from
 * (access_key_id, secret), 1 if it does not, negative on internal error.
 * With verify == NULL, SigV4a requests fail with InvalidRequest
 * "SigV4a is not supported". */
struct sigv4a_hook {
    int (*verify)(void *ctx, struct s3w_slice access_key_id,
                  struct s3w_slice secret, struct s3w_slice string_to_sign,
                  struct s3w_slice signature_hex);
    void *ctx;
};

struct sigv4_verify_opts {
    /* Accepted regions; n_regions == 0 means any region. A scope with
     * another region -> AuthorizationHeaderMalformed "the region 'x' is
     * wrong; expecting 'regions[0]'". Borrowed. */
    const struct s3w_slice *regions;
    size_t n_regions;
    struct s3w_slice service;         /* expected scope service: "s3", "sts" */
    enum sigv4_uri_mode uri_mode;     /* usually sigv4_uri_mode_for_service() */
    int64_t max_skew_s;               /* 0 -> SIGV4_MAX_SKEW_S */
    /* The most a presigned request lives after its X-Amz-Date, whatever
     * its X-Amz-Expires says; 0: X-Amz-Expires alone (S3). STS's is 900:
     * its presigned URLs "expire after 15 minutes, and are not
     * configurable" (an AWS maintainer, kubernetes-sigs/aws-iam-authenticator
     * PR 160). */
    int64_t max_presign_life_s;
    /* For non-S3 services (STS) whose signers put no x-amz-content-sha256
     * header: sha256 of the body the caller already read; NULL if unknown
     * (then x-amz-content-sha256 is required). */
    const uint8_t *body_sha256;
    sigv4_lookup_fn lookup;
    void *lookup_ud;
    struct sigv4a_hook v4a;
    /* Optional; if NULL sigv4_verify derives the key (4 HMACs) each time. */
    struct sigv4_keycache *cache;
    /* Optional per-worker scratch buffer for the canonical request (init it
     * with s3w_buf_init(b, SIGV4_MAX_CANONICAL) once, clean it up at worker
     * exit). sigv4_verify() resets it and leaves its storage allocated, so
     * the steady state does no allocation at all; the bytes a call used are
     * wiped before it returns (a signed session token is part of the
     * canonical request). NULL: a buffer is allocated and freed per call. */
    struct s3w_buf *scratch;
    /* Optional: the request's own Authorization header, already parsed by
     * sigv4_parse_authorization (a caller that had to read its scope first,
     * as the proxy does to route an STS call). Taken instead of parsing the
     * header again; every other check is unchanged (one Authorization
     * header, no query signature beside it). NULL: parsed here. */
    const struct sigv4_auth *parsed_auth;
    /* Optional, given empty: where a signature that does not match leaves
     * what S3's SignatureDoesNotMatch shows the client, one after another
     * from its start: the access key id and the signature as the request
     * gave them, the string to sign and the canonical request computed for
     * it; their lengths in err->mismatch (all 0 when not filled: another
     * error, or no memory). The canonical request can hold a signed session
     * token: the caller wipes what it got. NULL: nothing kept. */
    struct s3w_buf *mismatch;
};

/* Outcome of a successful verification. Slices point into the request
 * (header form) or into auth.store (query form). Do not copy by value. Call
 * sigv4_result_cleanup() when done (wipes the signing key). */
struct sigv4_result {
    struct sigv4_auth auth;           /* access key id, scope parts, signed
                                         header names, signature hex, token */
    struct s3w_slice access_key_id;   /* == auth.access_key_id */
    struct s3w_slice session_token;   /* header or query token, or empty */
    struct s3w_slice region, service, date;  /* scope parts */
    struct s3w_slice signed_headers;  /* "a;b;c" */
    struct s3w_slice region_set;      /* v4a X-Amz-Region-Set, else empty */
    enum sigv4_algorithm algorithm;
    enum sigv4_payload_mode payload_mode;
    bool has_payload_sha256;          /* payload_mode == SIGNED */
    uint8_t payload_sha256[32];       /* the declared hash, when signed */
    bool presigned;
    int64_t request_time;             /* unix seconds from X-Amz-Date/Date */
    int64_t age_s;                    /* now - request_time (may be < 0) */
    int64_t expires_s;                /* presigned X-Amz-Expires, else 0 */
    /* For the aws-chunked decoder (HMAC only; zero for v4a, whose chain
     * starts from the DER signature hex as sent: auth.signature): */
    uint8_t seed_signature[32];
    char seed_signature_hex[65];
    uint8_t signing_key[32];          /* SECRET: wiped by cleanup */
    char amz_date[17];                /* "20130524T000000Z", NUL-terminated */
    char scope[160];                  /* NUL-terminated */
    size_t scope_len;
};

/* Verifies a request's SigV4 (header or presigned) at time `now` (unix
 * seconds). Returns 0 and fills *res, or -1 and fills *err (res's key is then
 * wiped). Checks, in S3's order: auth form and parse; algorithm; scope
 * (date == X-Amz-Date's day, region accepted, service, terminator); time
 * skew (header form) or expiry (query form, X-Amz-Expires 1..604800);
 * `host` signed and, with SIGV4_URI_S3 (S3's rule), every x-amz-* header
 * present signed; payload mode; the secret lookup; the signature
 * (constant-time). A signature that is not lower-case hex, or a
 * SignedHeaders list not sorted (byte order), is SignatureDoesNotMatch at
 * that last step, as S3's own lower-case signature over the sorted names
 * cannot equal it; a duplicated name stays a malformed list. A SigV2
 * presigned URL (AWSAccessKeyId/Signature) is refused with InvalidRequest,
 * not reported anonymous. Does not read the
 * body: a
 * signed payload hash must be checked later with
 * sigv4_check_payload_sha256(). Uses one canonical-request buffer capped at
 * SIGV4_MAX_CANONICAL (opts->scratch if given); no other allocation, but
 * opts->mismatch's growth for a signature that does not match. */
int sigv4_verify(const struct sigv4_request *req, int64_t now,
                 const struct sigv4_verify_opts *opts,
                 struct sigv4_result *res, struct sigv4_error *err);

/* Wipes the signing key and the rest of res. Safe on a zeroed struct. */
void sigv4_result_cleanup(struct sigv4_result *res);

/* Whether `name` (lower-case) is in res->signed_headers. */
bool sigv4_result_signed(const struct sigv4_result *res, struct s3w_slice name);

/* Compares the body hash the caller computed with the declared one
 * (constant time). 0, or -1 with XAmzContentSHA256Mismatch "The provided
 * 'x-amz-content-sha256' header does not match what was computed." No-op
 * (0) when the payload mode is not SIGNED. */
int sigv4_check_payload_sha256(const struct sigv4_result *res,
                               const uint8_t computed[32],
                               struct sigv4_error *err);

/* Parses "yyyymmddThhmmssZ" to unix seconds. 0 or -1. */
int sigv4_parse_amz_date(struct s3w_slice s, int64_t *out);
/* Formats unix seconds as "yyyymmddThhmmssZ" + NUL into out[17]. */
void sigv4_format_amz_date(int64_t t, char out[17]);

/* ==== signing (upstream side) ================================================ */

struct sigv4_credentials {
    struct s3w_slice access_key_id;
    struct s3w_slice secret;          /* SECRET: borrowed, never copied out */
    struct s3w_slice session_token;   /* empty if none */
};

struct sigv4_sign_params {
    struct s3w_slice method;
    struct s3w_slice target;          /* `path?query` as it will be sent
                                         (already encoded for the wire) */
    /* Headers that will be sent and must be signed, INCLUDING Host. Do not
     * pass x-amz-date, x-amz-content-sha256, x-amz-security-token or
     * Authorization: the signer adds those. Borrowed. */
    const struct s3w_header *headers;
    size_t n_headers;
    struct s3w_slice region;
    struct s3w_slice service;         /* "s3" */
    enum sigv4_uri_mode uri_mode;
    int64_t now;                      /* unix seconds */
    /* x-amz-content-sha256 value: "UNSIGNED-PAYLOAD", 64 lower-case hex, or
     * a STREAMING-* mode. Empty -> UNSIGNED-PAYLOAD. */
    struct s3w_slice payload;
    struct sigv4_keycache *cache;     /* optional */
    /* Optional scratch buffer for the canonical request, as in
     * sigv4_verify_opts: left empty with its storage kept, the bytes used
     * wiped (they include the session token). */
    struct s3w_buf *scratch;
};

/* Headers to add to the upstream request, and chunk-signing material. */
struct sigv4_signed {
    char authorization[4096]; size_t authorization_len;
    char amz_date[17];                /* x-amz-date value */
    char content_sha256[80]; size_t content_sha256_len;
    struct s3w_slice security_token;  /* x-amz-security-token value (borrowed
                                         from creds) or empty: send it if
                                         non-empty */
    uint8_t seed_signature[32];
    char seed_signature_hex[65];
    uint8_t signing_key[32];          /* SECRET: wiped by cleanup */
    char scope[160]; size_t scope_len;
};

/* Header-signs a request. The signed header set is the caller's headers plus
 * x-amz-date, x-amz-content-sha256 and (if a token) x-amz-security-token,
 * sorted. 0, or -1 with err (InternalError for a cap hit, InvalidRequest for
 * an unknown payload). */
int sigv4_sign_headers(const struct sigv4_sign_params *p,
                       const struct sigv4_credentials *creds,
                       struct sigv4_signed *out, struct sigv4_error *err);
/* Wipes *s (the signing key is a secret). `s` was given to
 * sigv4_sign_headers (which zeroes it first), or its authorization_len is
 * 0. */
void sigv4_signed_cleanup(struct sigv4_signed *s);

/* Presigns: appends to out the target with the X-Amz-* query parameters and
 * X-Amz-Signature added (p->target's own query is kept). Only the given
 * headers (at least Host) are signed. Payload: p->payload if set
 * (UNSIGNED-PAYLOAD or a hex hash), else UNSIGNED-PAYLOAD for S3 and
 * sha256("") for other services (what each verifies). expires_s must be
 * 1..604800. 0, or -1 with err. */
int sigv4_presign(const struct sigv4_sign_params *p,
                  const struct sigv4_credentials *creds, int64_t expires_s,
                  struct s3w_buf *out, struct sigv4_error *err);

/* Percent-encodes with the SigV4 unreserved set (A-Za-z0-9-._~); '/' is kept
 * when keep_slash. Appends to out. */
int sigv4_uri_encode(struct s3w_slice in, bool keep_slash, struct s3w_buf *out);

#endif
