/*
 * s3map.h - S3 request -> operation -> IAM authorizations + condition keys.
 *
 * Pure, no I/O, no allocation: everything is written into caller-provided,
 * fixed-capacity structs. The pipeline the proxy runs per request:
 *
 *   struct s3map_result *res = <per-connection storage, ~22 KiB>;
 *   int rc = s3map_map(&req, res);               // operation + authorizations
 *   if (rc < 0) -> S3 error s3map_error_code(rc) / s3map_error_status(rc)
 *   rc = s3map_fill_context(res, &req, &facts, &ctx);   // condition keys
 *   if (res->flags & S3MAP_F_BODY_KEYS)          // keys in the XML body: buffer it
 *       s3map_body_context(res, body, scratch, cap, now_ms, &ctx);  // (<= S3MAP_BODY_KEYS_MAX)
 *   for (i = 0; i < res->nauthz; i++)
 *       evaluate(res->authz[i].action, res->authz[i].resource, &ctx);
 *   if (res->flags & S3MAP_F_DELETE_BODY) {      // DeleteObjects
 *       buffer the body (<= S3MAP_DELETE_MAX_BODY), s3map_parse_delete(),
 *       then per object s3map_delete_authz() and evaluate each;
 *   }
 *
 * Every authorization must be allowed; any failure denies (fail closed).
 *
 * Operation identification follows the botocore S3 model (every one of its
 * operations is in the generated table, policy/s3ops_table.c, made by
 * policy/gen_s3ops.py from botocore's service-2.json and
 * tests/testdata/s3-operations/s3-operations.json): HTTP method, whether the
 * path names the service, a bucket or an object, the query "selector"
 * parameters (acl, uploads, uploadId, partNumber, list-type=2, ...), and the
 * x-amz-copy-source header. A request that matches no operation, carries an
 * unknown query parameter or a selector the matched operation does not take
 * gets S3MAP_E_NOT_IMPLEMENTED - never a guessed action.
 *
 * Query strings: s3map parses the raw query itself (percent-decoding names
 * and values, '+' as space as S3 does for query parameters) into storage
 * inside struct s3map_result. Query parameters named x-amz-* (other than the
 * SigV4 presign ones, X-Amz-Algorithm/Credential/Date/Expires/SignedHeaders/
 * Signature/Security-Token) are header equivalents on S3 (presigned URLs
 * hoist headers there), so every header lookup below also sees them. A
 * header the mapping reads (x-amz-acl, x-amz-copy-source, ...) given twice -
 * as two headers, or as a header and a query parameter - is refused with
 * S3MAP_E_INVALID_ARGUMENT rather than one of the two values authorized.
 *
 * Thread safety: all functions are reentrant; the tables are const.
 */
#ifndef S3W_POLICY_S3MAP_H
#define S3W_POLICY_S3MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bytes.h"
#include "context.h"
#include "s3ops.h"

/* ---- limits ---------------------------------------------------------------- */
#define S3MAP_MAX_KEY_BYTES 1024      /* S3's object key limit (KeyTooLongError) */
#define S3MAP_MAX_BUCKET_BYTES 255    /* legacy us-east-1 names went to 255 */
#define S3MAP_MAX_QUERY_BYTES 8192    /* raw query string */
#define S3MAP_MAX_QUERY_PARAMS 64
#define S3MAP_MAX_TAGS 10             /* S3: at most 10 tags per object */
#define S3MAP_MAX_BUCKET_TAGS 50      /* S3: at most 50 tags per bucket */
#define S3MAP_MAX_AUTHZ 12            /* authorizations per request (not per key) */
/* "arn:aws:s3:::" + bucket + "/" + key */
#define S3MAP_ARN_MAX (13 + S3MAP_MAX_BUCKET_BYTES + 1 + S3MAP_MAX_KEY_BYTES)
#define S3MAP_SCRATCH_BYTES 16384     /* decoded query, copy source, tags, numbers */
#define S3MAP_TRACKED_HEADERS 26      /* private: headers s3map reads */

/* DeleteObjects: S3 takes at most 1000 keys per request. The body cap allows
 * 1000 maximal (1024-byte) keys with versionIds, entity-escaped, with room
 * to spare; S3 documents no byte limit of its own. */
#define S3MAP_DELETE_MAX_KEYS 1000
#define S3MAP_DELETE_MAX_BODY (2u << 20)

/* ---- errors ----------------------------------------------------------------
 * Each maps to the S3 error the proxy sends (code, HTTP status, message). */
enum {
    S3MAP_OK = 0,
    S3MAP_E_NOT_IMPLEMENTED = -1,  /* 501 NotImplemented: no such operation */
    S3MAP_E_INVALID_ARGUMENT = -2, /* 400 InvalidArgument: bad query/header value */
    S3MAP_E_MALFORMED_XML = -3,    /* 400 MalformedXML (DeleteObjects and other bodies) */
    S3MAP_E_INVALID_TAG = -4,      /* 400 InvalidTag (x-amz-tagging, a TagSet body) */
    S3MAP_E_KEY_TOO_LONG = -5,     /* 400 KeyTooLongError */
    S3MAP_E_TOO_BIG = -6,          /* 400 InvalidArgument: over a cap above */
    S3MAP_E_CONTEXT_FULL = -7,     /* 500 InternalError: policy_context full */
    S3MAP_E_INVALID_BUCKET = -8,   /* 400 InvalidBucketName */
    S3MAP_E_PART_NO_UPLOAD = -9,   /* 400 InvalidArgument: a PUT with partNumber, no uploadId */
    S3MAP_E_UPLOAD_NO_PART = -10,  /* 405 MethodNotAllowed: a PUT with uploadId, no partNumber */
    S3MAP_E_INVALID_ACL = -11,     /* 400 InvalidArgument: x-amz-acl not a canned ACL
                                    * (res->invalid_value: the value) */
    S3MAP_E_PART_NUMBER = -12,     /* 400 InvalidArgument: partNumber not 1..10000
                                    * (res->invalid_value: the value) */
    S3MAP_E_HEADER_NOT_TAKEN = -13, /* 400 InvalidArgument: a header that changes what a
                                     * write does, which the operation's input does not
                                     * take (res->invalid_name, res->invalid_value) */
    S3MAP_E_BODY_NOT_TAKEN = -14,  /* 400 InvalidRequest: a body the operation does not take */
    S3MAP_E_PARAM_NOT_TAKEN = -15, /* 400 InvalidArgument: a response-* parameter on an
                                    * operation that takes none (res->invalid_name) */
};

/* Human message in S3's wording ("The XML you provided was not well-formed
 * or did not validate against our published schema"). Never holds request
 * data. */
const char *s3map_strerror(int err);
/* S3 error Code element ("NotImplemented", "MalformedXML", ...). */
const char *s3map_error_code(int err);
/* HTTP status (501, 400, 405, 500). */
int s3map_error_status(int err);

/* ---- input ----------------------------------------------------------------- */

struct s3map_request {
    struct s3w_slice method;  /* "GET", "PUT", "HEAD", "POST", "DELETE" (exact) */
    struct s3w_slice bucket;  /* empty for the service (GET /) */
    struct s3w_slice key;     /* URL-decoded object key; empty for bucket requests */
    struct s3w_slice query;   /* raw query string without '?', still %-encoded */
    const struct s3w_header *headers;
    size_t nheaders;
};

/* What the proxy knows about the connection and the verified signature, for
 * the global and S3 "auth" condition keys. A slice with ptr == NULL means
 * "absent" (the key is not set); a non-NULL empty slice is an empty value. */
enum s3map_auth_type {
    S3MAP_AUTH_NONE = 0,   /* anonymous: s3:authType absent */
    S3MAP_AUTH_HEADER,     /* "REST-HEADER" */
    S3MAP_AUTH_QUERY,      /* "REST-QUERY-STRING" (presigned) */
    S3MAP_AUTH_POST,       /* "POST" (browser form upload) */
};

enum s3map_sig_version {
    S3MAP_SIG_NONE = 0,         /* s3:signatureversion absent */
    S3MAP_SIG_V4,               /* "AWS4-HMAC-SHA256" */
    S3MAP_SIG_V4A,              /* "AWS4-ECDSA-P256-SHA256" */
};

struct s3map_conn_facts {
    struct s3w_slice source_ip;        /* aws:SourceIp, textual v4 or v6 */
    struct s3w_slice tls_version;      /* s3:TlsVersion "1.2"/"1.3"; NULL ptr = plain
                                        * HTTP (aws:SecureTransport "false") */
    int64_t now_ms;                    /* Unix epoch ms: aws:CurrentTime, aws:EpochTime */
    struct s3w_slice user_agent;       /* aws:UserAgent */
    struct s3w_slice referer;          /* aws:Referer */
    struct s3w_slice region;           /* aws:RequestedRegion (from the credential scope) */
    enum s3map_auth_type auth_type;    /* s3:authType */
    enum s3map_sig_version sig_version;/* s3:signatureversion */
    int64_t signature_age_ms;          /* s3:signatureAge (set for presigned/POST
                                        * auth only, as AWS documents); < 0 = absent */
    struct s3w_slice content_sha256;   /* s3:x-amz-content-sha256 (the header value) */
    struct s3w_slice resource_account; /* s3:ResourceAccount: the bucket owner's account */
};

/* ---- result ---------------------------------------------------------------- */
struct s3map_authz {
    struct s3w_slice action;   /* "s3:GetObject" - static storage */
    struct s3w_slice resource; /* ARN in the result's storage, or static "*" */
};

struct s3map_qparam {
    struct s3w_slice name, value; /* decoded; value.ptr NULL when no '=' was given */
};

struct s3map_copy_source {
    struct s3w_slice bucket;     /* decoded */
    struct s3w_slice key;        /* decoded */
    struct s3w_slice version_id; /* decoded; ptr NULL when absent */
};

enum {
    S3MAP_F_DELETE_BODY = 1u << 0, /* DeleteObjects: authorize each key of the body */
    S3MAP_F_COPY = 1u << 1,        /* res->copy holds the parsed x-amz-copy-source */
    S3MAP_F_VERSIONED = 1u << 2,   /* ?versionId given (res->version_id) */
    S3MAP_F_BYPASS_GOVERNANCE = 1u << 3, /* x-amz-bypass-governance-retention: true */
    S3MAP_F_BODY_KEYS = 1u << 4,    /* condition keys are in the body: call
                                     * s3map_body_context() before evaluating, or
                                     * they would be absent (a Deny on
                                     * s3:object-lock-remaining-retention-days or a
                                     * ForAllValues on s3:RequestObjectTagKeys
                                     * would not hold) */
    S3MAP_F_RESPONSE_OVERRIDES = 1u << 5, /* a response-* parameter (GetObject's
                                           * response header overrides) */
};

/* Filled by s3map_map(). Embed or allocate once (it is ~22 KiB) and reuse;
 * it must not move while a policy_context filled from it is in use.
 * Everything a result's slices point at lives in the result itself or in the
 * caller's request (header values, key, bucket) or conn facts - those must
 * stay alive and unchanged as long as the result and the context are used. */
struct s3map_result {
    const struct s3map_op *op;
    struct s3map_authz authz[S3MAP_MAX_AUTHZ];
    size_t nauthz;
    unsigned flags;                  /* S3MAP_F_* */
    const char *detail;              /* static: why an error was returned (for logs) */
    struct s3w_slice unknown_param;  /* S3MAP_E_NOT_IMPLEMENTED for a query parameter
                                      * no operation takes: its name, decoded */
    struct s3w_slice version_id;     /* ?versionId, decoded (S3MAP_F_VERSIONED) */
    struct s3map_copy_source copy;   /* S3MAP_F_COPY */
    struct s3w_slice invalid_value;  /* S3MAP_E_INVALID_ACL, _PART_NUMBER, _HEADER_NOT_TAKEN:
                                      * the value refused */
    struct s3w_slice invalid_name;   /* S3MAP_E_HEADER_NOT_TAKEN: the header;
                                      * _PARAM_NOT_TAKEN: the parameter, decoded */

    /* ---- private storage (do not touch) ---- */
    struct s3map_qparam q[S3MAP_MAX_QUERY_PARAMS];
    size_t nq;
    struct s3w_slice tag_keys[S3MAP_MAX_TAGS];
    struct s3w_slice bucket_tag_keys[S3MAP_MAX_BUCKET_TAGS]; /* aws:TagKeys, CreateBucket */
    struct s3w_slice hval[S3MAP_TRACKED_HEADERS]; /* headers the mapping reads */
    uint32_t hseen, hdup;
    size_t scratch_used;
    char arn[2][S3MAP_ARN_MAX];
    char scratch[S3MAP_SCRATCH_BYTES];
};

/* Identifies the operation and lists the authorizations it needs:
 * res->authz[0..nauthz) in evaluation order (the primary action(s) on the
 * request's resource first, then the conditional ones). For DeleteObjects
 * nauthz is 0 and S3MAP_F_DELETE_BODY is set: the per-key authorizations come
 * from the body (s3map_delete_authz).
 * Returns 0 or S3MAP_E_* (res->op is NULL on S3MAP_E_NOT_IMPLEMENTED). */
int s3map_map(const struct s3map_request *req, struct s3map_result *res);

/* After a successful s3map_map: x-amz-expected-bucket-owner and
 * x-amz-source-expected-bucket-owner as given, as headers or as query
 * parameters (presigners hoist x-amz-* headers into the query); NULL
 * slices when absent. 0, or S3MAP_E_INVALID_ARGUMENT when one is given
 * twice (header and query included). */
int s3map_expected_owners(const struct s3map_result *res, struct s3w_slice *bucket_owner,
                          struct s3w_slice *source_owner);

/* What s3map_map decoded into res's storage (the query's values, a
 * presigned URL's X-Amz-Security-Token among them) wiped, for a result
 * that is kept for another request. res must have been through s3map_map
 * or s3map_result_init. */
void s3map_result_wipe(struct s3map_result *res);
/* A result never mapped, ready for s3map_result_wipe, without touching
 * (faulting in) its ~22 KiB of storage. */
void s3map_result_init(struct s3map_result *res);

/* Sets the request's S3 and global condition keys in ctx (the identity keys
 * aws:userid, aws:PrincipalArn, ... are the config module's). Only keys that
 * the operation's actions take are set (AWS's service authorization
 * reference, via the json), plus the globals. Values borrow from req, facts
 * and res; computed ones (times, ages, decoded tags) are written into res.
 * Call once, after a successful s3map_map() with the same req.
 * Value forms: query keys (s3:prefix, ...) present iff the parameter is,
 * decoded ("prefix=" gives ""); s3:x-amz-copy-source is the decoded
 * "bucket/key" without a leading '/' or ?versionId (the form AWS's policy
 * examples match); s3:TlsVersion as given ("1.2"); aws:CurrentTime
 * "YYYY-MM-DDTHH:MM:SSZ"; aws:EpochTime and s3:signatureAge decimal.
 * Returns 0, S3MAP_E_INVALID_TAG (bad x-amz-tagging), S3MAP_E_INVALID_ARGUMENT
 * (a header read here given twice, a retain-until date that is not ISO 8601),
 * S3MAP_E_TOO_BIG or S3MAP_E_CONTEXT_FULL. */
int s3map_fill_context(struct s3map_result *res, const struct s3map_request *req,
                       const struct s3map_conn_facts *facts, struct policy_context *ctx);

/* ---- helpers, public for the proxy and tests ------------------------------- */

/* Parses a raw query string into decoded pairs written to out[0..*n), with
 * their bytes in scratch (needs at most raw.len bytes). Errors:
 * S3MAP_E_INVALID_ARGUMENT (bad %-escape), S3MAP_E_TOO_BIG (more than max
 * pairs or scratch too small). */
int s3map_parse_query(struct s3w_slice raw, char *scratch, size_t scratch_cap,
                      struct s3map_qparam *out, size_t max, size_t *n);

/* Parses an x-amz-copy-source value: URL-encoded "bucket/key", optional
 * leading '/', optional "?versionId=ID". Decoded bytes go to scratch (needs
 * at most value.len bytes). Access point ARNs -> S3MAP_E_NOT_IMPLEMENTED;
 * anything else malformed -> S3MAP_E_INVALID_ARGUMENT. */
int s3map_parse_copy_source(struct s3w_slice value, char *scratch, size_t scratch_cap,
                            struct s3map_copy_source *out);

/* ---- DeleteObjects ----------------------------------------------------------- */
struct s3map_delete_object {
    struct s3w_slice key;        /* entity-decoded */
    struct s3w_slice version_id; /* ptr NULL when the <Object> has no <VersionId> */
    /* the conditions of the object's delete, entity-decoded, ptr NULL when
     * absent: not authorization inputs, but they go upstream with it */
    struct s3w_slice etag, last_modified_time, size;
};

struct s3map_delete_list {
    struct s3map_delete_object objects[S3MAP_DELETE_MAX_KEYS];
    size_t n;
    bool quiet;
};

/* Parses a DeleteObjects body: optional <?xml ...?> prolog, then
 *   <Delete [xmlns="..."]><Object><Key>k</Key>[<VersionId>v</VersionId>]
 *   [<ETag>..</ETag>][<LastModifiedTime>..</LastModifiedTime>][<Size>..</Size>]
 *   </Object>...[<Quiet>true|false</Quiet>]</Delete>
 * Entities (&amp; &lt; &gt; &quot; &apos; &#N; &#xH;) are decoded into
 * scratch (needs at most body.len bytes). Empty, malformed, unknown
 * elements, more than S3MAP_DELETE_MAX_KEYS objects, a key over 1024 bytes
 * or a body over S3MAP_DELETE_MAX_BODY -> S3MAP_E_MALFORMED_XML (as S3). */
int s3map_parse_delete(struct s3w_slice body, char *scratch, size_t scratch_cap,
                       struct s3map_delete_list *out);

/* The authorizations for one object of a DeleteObjects body:
 * s3:DeleteObject (s3:DeleteObjectVersion with a VersionId) on
 * arn:aws:s3:::bucket/key, plus s3:BypassGovernanceRetention when the request
 * had x-amz-bypass-governance-retention: true. The ARN is written to arn
 * (>= S3MAP_ARN_MAX bytes). out needs 2 entries; *n is set. When ctx is not
 * NULL, s3:versionid is set to the object's VersionId (or unset) - it then
 * borrows from list. */
int s3map_delete_authz(const struct s3map_result *res, struct s3w_slice bucket,
                       const struct s3map_delete_object *obj, char *arn, size_t arn_cap,
                       struct s3map_authz out[2], size_t *n, struct policy_context *ctx);

/* ---- PutObjectTagging ---------------------------------------------------------- */
/* S3 caps object tags at 10 (key <= 128, value <= 256 Unicode characters);
 * the body cap leaves room for entity-escaped maximal tags. */
#define S3MAP_TAGGING_MAX_BODY (64u << 10)

struct s3map_tag_set {
    struct s3map_qparam tags[S3MAP_MAX_TAGS]; /* name = tag key, value = tag value */
    size_t n;
};

/* Parses a PutObjectTagging body: optional prolog, then
 *   <Tagging [xmlns="..."]><TagSet><Tag><Key>k</Key><Value>v</Value></Tag>...
 *   </TagSet></Tagging>
 * decoding entities into scratch (>= body.len bytes). Errors:
 * S3MAP_E_MALFORMED_XML (syntax, missing Key/Value, body over the cap),
 * S3MAP_E_INVALID_TAG (more than 10 tags, empty or duplicate keys, key over
 * 128 / value over 256 characters). */
int s3map_parse_tagging(struct s3w_slice body, char *scratch, size_t scratch_cap,
                        struct s3map_tag_set *out);

/* Sets s3:RequestObjectTag/<key> per tag and s3:RequestObjectTagKeys from a
 * parsed tag set, when the operation takes them. Borrows from tags (and its
 * scratch) and res. 0, S3MAP_E_INVALID_TAG (tag keys equal ignoring case),
 * S3MAP_E_TOO_BIG, S3MAP_E_CONTEXT_FULL. */
int s3map_tagging_context(struct s3map_result *res, const struct s3map_tag_set *tags,
                          struct policy_context *ctx);

/* ---- condition keys from the body ------------------------------------------------
 * For S3MAP_F_BODY_KEYS requests (S3 API reference request bodies):
 *   PutObjectTagging   <Tagging><TagSet><Tag><Key/><Value/></Tag>..    -> s3:RequestObjectTag/<k>,
 *                                                                        s3:RequestObjectTagKeys
 *   PutObjectRetention <Retention><Mode/><RetainUntilDate/></Retention> -> s3:object-lock-mode,
 *                      s3:object-lock-retain-until-date, s3:object-lock-remaining-retention-days
 *   PutObjectLegalHold <LegalHold><Status/></LegalHold>                 -> s3:object-lock-legal-hold
 *   CreateBucket       <CreateBucketConfiguration><LocationConstraint/> -> s3:locationconstraint
 *                      <Tags><Tag><Key/><Value/></Tag>..</Tags>          -> aws:RequestTag/<k>,
 *                                                                        aws:TagKeys, and one
 *                      more authorization, s3:TagResource on the bucket (res->authz)
 *                      (an empty body is fine: us-east-1, keys absent)
 * Values are decoded into scratch (>= body.len bytes), which the context then
 * borrows, like res. now_ms as in s3map_conn_facts. Errors:
 * S3MAP_E_MALFORMED_XML, S3MAP_E_INVALID_TAG, S3MAP_E_TOO_BIG (body over
 * S3MAP_BODY_KEYS_MAX or scratch too small), S3MAP_E_CONTEXT_FULL.
 * A no-op returning 0 for operations without S3MAP_F_BODY_KEYS. */
#define S3MAP_BODY_KEYS_MAX (64u << 10)

int s3map_body_context(struct s3map_result *res, struct s3w_slice body, char *scratch,
                       size_t scratch_cap, int64_t now_ms, struct policy_context *ctx);

#endif
