/*
 * s3ops.h - the S3 operation catalog: the generated operation table
 * (s3ops_table.c, made by gen_s3ops.py from botocore's S3 model and
 * AWS's service authorization reference) and the queries over it.
 *
 * Read-only data and pure lookups; thread safe. The request mapping
 * (s3map.h) identifies requests with it, and the policy validator asks it
 * which condition keys are S3's.
 */
#ifndef S3W_POLICY_S3OPS_H
#define S3W_POLICY_S3OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bytes.h"

/* ---- operation table (generated, read-only) -------------------------------- */
enum s3map_target {
    S3MAP_T_SERVICE = 0, /* "/" : no bucket */
    S3MAP_T_BUCKET,      /* "/{Bucket}" */
    S3MAP_T_OBJECT,      /* "/{Bucket}/{Key+}" */
};

enum s3map_resource_type {
    S3MAP_R_NONE = 0, /* resource "*" (ListBuckets) */
    S3MAP_R_BUCKET,
    S3MAP_R_OBJECT,
};

/* One operation of the S3 model. Lists are NULL-terminated. */
struct s3map_op {
    const char *name;                  /* "GetObject" */
    const char *method;                /* "GET" */
    uint8_t target;                    /* enum s3map_target */
    uint8_t resource_type;             /* enum s3map_resource_type */
    bool deprecated;
    /* NULL when requests reach this operation. Otherwise why they never do,
     * and `routed_as` the operation the same wire request maps to (e.g. the
     * deprecated PutBucketLifecycle is byte-for-byte PutBucketLifecycleConfiguration;
     * ListDirectoryBuckets lives on the s3express-control endpoint). */
    const char *unrouted_reason;
    const char *routed_as;
    const char *const *selectors;      /* required query params: "uploads", "list-type=2" */
    const char *const *optional;       /* selector params it also accepts ("partNumber") */
    uint64_t selector_mask;            /* the two lists as bits over s3map_selector_names[] */
    uint64_t optional_mask;
    int8_t copy_source;                /* +1 header required, -1 must be absent, 0 either */
    const char *const *actions;        /* IAM actions on the request's resource */
    const char *const *version_actions;/* replace `actions` when ?versionId is given; NULL = same */
    uint32_t extras;                   /* S3MAP_X_* conditional authorizations */
    uint8_t wire;                      /* S3MAP_W_* what its requests carry */
    /* What a 2xx answer to it is (S3MAP_A_*), and for S3MAP_A_XML the names
     * its root element may have: S3's first (API reference, "Response
     * Syntax"), then other stores' spellings. The proxy passes on no answer
     * that is not one: a store that does not know a subresource answers
     * another operation (the object, the bucket's listing). */
    uint8_t answer;
    const char *const *answer_roots;
    /* Of the headers that change what a write does (gen_s3ops.py
     * EFFECT_HEADERS), the ones its input takes, lower case; NULL: none.
     * s3map refuses a request with another: a store that does not know the
     * operation could apply it as another's. */
    const char *const *effect_headers;
    uint64_t keys;                     /* condition keys its actions take (internal bits) */
};

/* Conditional authorizations (bits of s3map_op.extras). */
enum {
    S3MAP_X_OBJECT_ACL = 1u << 0,   /* x-amz-acl / x-amz-grant-*  -> s3:PutObjectAcl */
    S3MAP_X_OBJECT_TAGGING = 1u << 1, /* x-amz-tagging -> s3:PutObjectTagging
                                       * (CopyObject: only with tagging-directive REPLACE) */
    S3MAP_X_RETENTION = 1u << 2,    /* x-amz-object-lock-mode/-retain-until-date -> s3:PutObjectRetention */
    S3MAP_X_LEGAL_HOLD = 1u << 3,   /* x-amz-object-lock-legal-hold -> s3:PutObjectLegalHold */
    S3MAP_X_BYPASS_GOVERNANCE = 1u << 4, /* x-amz-bypass-governance-retention: true
                                          * -> s3:BypassGovernanceRetention */
    S3MAP_X_COPY_SOURCE = 1u << 5,  /* s3:GetObject (s3:GetObjectVersion) on the source */
    S3MAP_X_BUCKET_ACL = 1u << 6,   /* CreateBucket ACL headers -> s3:PutBucketAcl */
    S3MAP_X_BUCKET_LOCK = 1u << 7,  /* x-amz-bucket-object-lock-enabled: true ->
                                     * s3:PutBucketObjectLockConfiguration + s3:PutBucketVersioning */
    S3MAP_X_OWNERSHIP = 1u << 8,    /* x-amz-object-ownership -> s3:PutBucketOwnershipControls */
    S3MAP_X_DELETE_BODY = 1u << 9,  /* DeleteObjects: s3:DeleteObject(Version) per body key */
    S3MAP_X_BODY_KEYS = 1u << 10,   /* condition keys in the XML body (s3map_body_context) */
};

/* What an operation's requests carry, from the model's input shape (bits
 * of s3map_op.wire). */
enum {
    S3MAP_W_CANNED_ACL = 1u << 0,     /* an x-amz-acl header: a canned ACL */
    S3MAP_W_STREAMING_BODY = 1u << 1, /* a streaming payload: S3 takes it only
                                       * with its length given up front */
    S3MAP_W_NO_BODY = 1u << 2,        /* its input has no body: a PUT or POST of
                                       * it with one is refused (a store that does
                                       * not know it could store the body) */
    /* What of the request's headers its input takes; the others are not
     * sent upstream, where a store that does not know the operation could
     * apply them as another's (probe 26: moto ran a RenameObject as a
     * PutObject with the caller's x-amz-meta-* and Content-Type, and a
     * ?retention with Range as a ranged GET of the object): */
    S3MAP_W_OBJECT_HEADERS = 1u << 3, /* an object's: x-amz-meta-*, Content-Type,
                                       * -Disposition, -Language, Cache-Control,
                                       * Expires, the bucket key */
    S3MAP_W_RANGE = 1u << 4,          /* Range */
    S3MAP_W_CONDITIONS = 1u << 5,     /* If-Match, If-None-Match, If-(Un)Modified-Since */
    S3MAP_W_RESPONSE_OVERRIDES = 1u << 6, /* the response-* query parameters (GetObject,
                                           * HeadObject); on another operation they are
                                           * refused (s3map.c): a store that does not know
                                           * it could serve an object under the type asked */
    S3MAP_W_VERSION_ID = 1u << 7,     /* ?versionId: on another operation it is refused
                                       * (s3map.c), rather than authorized as the
                                       * unversioned action of an operation a store may
                                       * apply it to */
};

/* What an operation's 2xx answer is (s3map_op.answer). */
enum s3map_answer {
    S3MAP_A_ANY = 0, /* not checked: no body (HEAD, most writes), or the
                      * object's bytes (GetObject) */
    S3MAP_A_XML,     /* an XML document whose root is one of answer_roots */
    S3MAP_A_TORRENT, /* Content-Type application/x-bittorrent */
    S3MAP_A_EVENTS,  /* an event stream: its first message's prelude CRC holds */
};

/* Condition keys an operation's actions take (bits of s3map_op.keys); the
 * ones s3map can fill from a request. */
#define S3MAP_K_PREFIX                  (1ull << 0)
#define S3MAP_K_DELIMITER               (1ull << 1)
#define S3MAP_K_MAX_KEYS                (1ull << 2)
#define S3MAP_K_ACL                     (1ull << 3)
#define S3MAP_K_GRANT_READ              (1ull << 4)
#define S3MAP_K_GRANT_WRITE             (1ull << 5)
#define S3MAP_K_GRANT_READ_ACP          (1ull << 6)
#define S3MAP_K_GRANT_WRITE_ACP         (1ull << 7)
#define S3MAP_K_GRANT_FULL_CONTROL      (1ull << 8)
#define S3MAP_K_COPY_SOURCE             (1ull << 9)
#define S3MAP_K_SSE                     (1ull << 10)
#define S3MAP_K_SSE_KMS_KEY_ID          (1ull << 11)
#define S3MAP_K_SSE_CUSTOMER_ALGORITHM  (1ull << 12)
#define S3MAP_K_STORAGE_CLASS           (1ull << 13)
#define S3MAP_K_METADATA_DIRECTIVE      (1ull << 14)
#define S3MAP_K_WEBSITE_REDIRECT        (1ull << 15)
#define S3MAP_K_OBJECT_OWNERSHIP        (1ull << 16)
#define S3MAP_K_VERSIONID               (1ull << 17)
#define S3MAP_K_REQUEST_OBJECT_TAG      (1ull << 18)
#define S3MAP_K_REQUEST_OBJECT_TAG_KEYS (1ull << 19)
#define S3MAP_K_CONTENT_SHA256          (1ull << 20)
#define S3MAP_K_AUTH_TYPE               (1ull << 21)
#define S3MAP_K_SIGNATURE_VERSION       (1ull << 22)
#define S3MAP_K_SIGNATURE_AGE           (1ull << 23)
#define S3MAP_K_TLS_VERSION             (1ull << 24)
#define S3MAP_K_RESOURCE_ACCOUNT        (1ull << 25)
#define S3MAP_K_LOCK_MODE               (1ull << 26)
#define S3MAP_K_LOCK_RETAIN_UNTIL       (1ull << 27)
#define S3MAP_K_LOCK_LEGAL_HOLD         (1ull << 28)
#define S3MAP_K_LOCK_REMAINING_DAYS     (1ull << 29)
#define S3MAP_K_IF_MATCH                (1ull << 30)
#define S3MAP_K_IF_NONE_MATCH           (1ull << 31)
#define S3MAP_K_LOCATION_CONSTRAINT     (1ull << 32)

/* Generated tables (policy/s3ops_table.c); NULL-terminated name lists. */
extern const struct s3map_op *const s3map_ops_table;
extern const size_t s3map_ops_count;
extern const char *const s3map_known_query_names[];
extern const char *const s3map_selector_names[];
extern const char *const s3map_condition_keys[];
extern const char *const s3map_condition_key_families[];

size_t s3map_op_count(void);
const struct s3map_op *s3map_op_at(size_t i);          /* NULL past the end */
const struct s3map_op *s3map_op_by_name(struct s3w_slice name); /* exact; NULL if unknown */

/* ---- validator support ------------------------------------------------------- */
/* True when key is an S3 condition key of AWS's service authorization
 * reference (s3:prefix, s3:x-amz-acl, ...; case-insensitive), including the
 * tag families s3:RequestObjectTag/<k>, s3:ExistingObjectTag/<k>,
 * s3:AccessPointTag/<k> (non-empty <k>). Global aws: keys are not S3 keys. */
bool s3map_is_known_condition_key(struct s3w_slice key);

/* What s3warden does with an S3 condition key (for the policy validator: a
 * policy that relies on a NOT_EVALUATED key cannot be decided as AWS would -
 * e.g. a Deny on s3:ExistingObjectTag/<k> would never fire - so it should be
 * refused at load time rather than silently weakened). */
enum s3map_key_support {
    S3MAP_KEY_UNKNOWN = 0,    /* not an S3 condition key */
    S3MAP_KEY_FILLED,         /* set from the request (when the request carries it) */
    S3MAP_KEY_NOT_APPLICABLE, /* access points, Access Grants: features s3warden does not
                               * front; absent, as on AWS for plain bucket requests */
    S3MAP_KEY_NOT_EVALUATED,  /* AWS sets it, s3warden cannot (stored object tags,
                               * object-lock event holds, ...) */
};

enum s3map_key_support s3map_condition_key_support(struct s3w_slice key);

#endif
