/*
 * s3map_context.c - the condition keys of a mapped request (contract in
 * s3map.h, s3map_fill_context and s3map_tagging_context): query and header
 * keys the operation takes, x-amz-tagging, retention dates, the
 * authentication facts and the global aws: keys. Values borrow from the
 * request or are written into the result's scratch; nothing is allocated.
 */
#include "s3map.h"
#include "s3map_int.h"
#include "policy.h" /* policy_context_set_fixed */
#include "civil.h"

/* ---- condition keys ----------------------------------------------------------- */

int s3map__ctx_set(struct policy_context *ctx, struct s3w_slice key, struct s3w_slice v)
{
    return policy_context_set(ctx, key, v) ? S3MAP_E_CONTEXT_FULL : S3MAP_OK;
}

/* header -> key when the op takes the key and the header is there */
/* a literal as a static slice initializer */
#define KEY(s) { s, sizeof(s) - 1 }

struct hdr_key {
    uint64_t bit;
    enum hdr_id header;
    struct s3w_slice key;
};

static const struct hdr_key hdr_keys[] = {
    { S3MAP_K_ACL, H_ACL, KEY("s3:x-amz-acl") },
    { S3MAP_K_GRANT_READ, H_GRANT_READ, KEY("s3:x-amz-grant-read") },
    { S3MAP_K_GRANT_WRITE, H_GRANT_WRITE, KEY("s3:x-amz-grant-write") },
    { S3MAP_K_GRANT_READ_ACP, H_GRANT_READ_ACP, KEY("s3:x-amz-grant-read-acp") },
    { S3MAP_K_GRANT_WRITE_ACP, H_GRANT_WRITE_ACP, KEY("s3:x-amz-grant-write-acp") },
    { S3MAP_K_GRANT_FULL_CONTROL, H_GRANT_FULL_CONTROL, KEY("s3:x-amz-grant-full-control") },
    { S3MAP_K_SSE, H_SSE, KEY("s3:x-amz-server-side-encryption") },
    { S3MAP_K_SSE_KMS_KEY_ID, H_SSE_KMS_KEY_ID, KEY("s3:x-amz-server-side-encryption-aws-kms-key-id") },
    { S3MAP_K_SSE_CUSTOMER_ALGORITHM, H_SSE_CUSTOMER_ALGORITHM,
      KEY("s3:x-amz-server-side-encryption-customer-algorithm") },
    { S3MAP_K_STORAGE_CLASS, H_STORAGE_CLASS, KEY("s3:x-amz-storage-class") },
    { S3MAP_K_METADATA_DIRECTIVE, H_METADATA_DIRECTIVE, KEY("s3:x-amz-metadata-directive") },
    { S3MAP_K_WEBSITE_REDIRECT, H_WEBSITE_REDIRECT, KEY("s3:x-amz-website-redirect-location") },
    { S3MAP_K_OBJECT_OWNERSHIP, H_OBJECT_OWNERSHIP, KEY("s3:x-amz-object-ownership") },
    { S3MAP_K_LOCK_MODE, H_LOCK_MODE, KEY("s3:object-lock-mode") },
    { S3MAP_K_LOCK_RETAIN_UNTIL, H_LOCK_RETAIN_UNTIL, KEY("s3:object-lock-retain-until-date") },
    { S3MAP_K_LOCK_LEGAL_HOLD, H_LOCK_LEGAL_HOLD, KEY("s3:object-lock-legal-hold") },
    { S3MAP_K_IF_MATCH, H_IF_MATCH, KEY("s3:if-match") },
    { S3MAP_K_IF_NONE_MATCH, H_IF_NONE_MATCH, KEY("s3:if-none-match") },
};

struct q_key {
    uint64_t bit;
    const char *param;
    struct s3w_slice key;
};

static const struct q_key q_keys[] = {
    { S3MAP_K_PREFIX, "prefix", KEY("s3:prefix") },
    { S3MAP_K_DELIMITER, "delimiter", KEY("s3:delimiter") },
    { S3MAP_K_MAX_KEYS, "max-keys", KEY("s3:max-keys") },
};

static struct s3w_slice fmt_i64(struct s3map_result *res, int64_t v)
{
    char tmp[24];
    size_t n = 0;
    /* magnitude as unsigned: INT64_MIN has no positive counterpart */
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        tmp[n++] = '-';
    char *p = s3map__scratch_take(res, n);
    if (!p)
        return S3W_SLICE_NULL;
    for (size_t i = 0; i < n; i++)
        p[i] = tmp[n - 1 - i];
    return s3w_slice(p, n);
}

/* aws:CurrentTime, "2023-11-14T22:13:20Z" (whole seconds, UTC), by
 * base/civil's arithmetic: gmtime_r + strftime cost more than the rest of
 * the mapping. */
static struct s3w_slice fmt_iso8601(struct s3map_result *res, int64_t ms)
{
    char t[S3W_ISO8601_LEN + 1];
    if (!s3w_iso8601_format(ms >= 0 ? ms / 1000 : -((999 - ms) / 1000), t))
        return S3W_SLICE_NULL;
    char *p = s3map__scratch_take(res, S3W_ISO8601_LEN);
    if (!p)
        return S3W_SLICE_NULL;
    memcpy(p, t, S3W_ISO8601_LEN);
    return s3w_slice(p, S3W_ISO8601_LEN);
}

/* Unicode characters in UTF-8 bytes (S3's tag limits count characters). */
size_t s3map__utf8_chars(struct s3w_slice s)
{
    size_t n = 0;
    for (size_t i = 0; i < s.len; i++)
        n += ((unsigned char)s.ptr[i] & 0xC0) != 0x80;
    return n;
}

/* S3 tag rules (User Guide, "Categorizing your storage using tags"): at most
 * `max` tags (10 on an object, 50 on a bucket), key 1..128 and value 0..256
 * Unicode characters, keys unique. */
int s3map__check_tags(struct s3map_result *res, const struct s3map_qparam *tags, size_t n,
                      size_t max, const char *too_many)
{
    if (n > max) {
        res->detail = too_many;
        return S3MAP_E_INVALID_TAG;
    }
    for (size_t i = 0; i < n; i++) {
        if (tags[i].name.len == 0 || s3map__utf8_chars(tags[i].name) > 128 ||
            s3map__utf8_chars(tags[i].value) > 256) {
            res->detail = "tag key or value length";
            return S3MAP_E_INVALID_TAG;
        }
        for (size_t j = 0; j < i; j++)
            /* Condition key names are case-insensitive, tag keys are not:
             * "Env" and "env" would collide in the context - refuse rather
             * than authorize one of them. */
            if (s3w_slice_eq_nocase(tags[j].name, tags[i].name)) {
                res->detail = "Cannot provide multiple Tags with the same key";
                return S3MAP_E_INVALID_TAG;
            }
    }
    return S3MAP_OK;
}

int s3map__set_tag_key(struct s3map_result *res, struct s3w_slice prefix, struct s3w_slice tag,
                       struct s3w_slice value, struct policy_context *ctx)
{
    size_t kl = prefix.len + tag.len;
    char *kp = s3map__scratch_take(res, kl);
    if (!kp)
        return S3MAP_E_TOO_BIG;
    memcpy(kp, prefix.ptr, prefix.len);
    memcpy(kp + prefix.len, tag.ptr, tag.len);
    if (policy_context_set(ctx, s3w_slice(kp, kl), value.ptr ? value : S3W_SLICE_LIT("")))
        return S3MAP_E_CONTEXT_FULL;
    return S3MAP_OK;
}

/* s3:RequestObjectTag/<k> per tag and s3:RequestObjectTagKeys (the key set). */
int s3map__set_tag_keys(struct s3map_result *res, const struct s3map_qparam *tags, size_t n,
                        uint64_t bits, struct policy_context *ctx)
{
    int rc = s3map__check_tags(res, tags, n, S3MAP_MAX_TAGS,
                               "Object tags cannot be greater than 10");
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        res->tag_keys[i] = tags[i].name;
        if (!(bits & S3MAP_K_REQUEST_OBJECT_TAG))
            continue;
        if ((rc = s3map__set_tag_key(res, S3W_SLICE_LIT("s3:RequestObjectTag/"), tags[i].name,
                                     tags[i].value, ctx)))
            return rc;
    }
    if ((bits & S3MAP_K_REQUEST_OBJECT_TAG_KEYS) &&
        policy_context_set_multi(ctx, S3W_SLICE_LIT("s3:RequestObjectTagKeys"), res->tag_keys, n))
        return S3MAP_E_CONTEXT_FULL;
    return S3MAP_OK;
}

/* x-amz-tagging: "k1=v1&k2=v2", URL-encoded (API reference, PutObject). */
static int tagging_keys(struct s3map_result *res, struct s3w_slice v, uint64_t bits,
                        struct policy_context *ctx)
{
    struct s3map_qparam tags[S3MAP_MAX_TAGS + 1];
    size_t n;
    char *sp = s3map__scratch_take(res, v.len);
    if (!sp)
        return S3MAP_E_TOO_BIG;
    int rc = s3map_parse_query(v, sp, v.len, tags, S3MAP_MAX_TAGS + 1, &n);
    if (rc == S3MAP_E_TOO_BIG) {
        res->detail = "Object tags cannot be greater than 10";
        return S3MAP_E_INVALID_TAG;
    }
    if (rc) {
        res->detail = "malformed x-amz-tagging";
        return S3MAP_E_INVALID_TAG;
    }
    return s3map__set_tag_keys(res, tags, n, bits, ctx);
}

int s3map_tagging_context(struct s3map_result *res, const struct s3map_tag_set *tags,
                          struct policy_context *ctx)
{
    uint64_t k = res->op ? res->op->keys : 0;
    if (!(k & (S3MAP_K_REQUEST_OBJECT_TAG | S3MAP_K_REQUEST_OBJECT_TAG_KEYS)))
        return S3MAP_OK;
    return s3map__set_tag_keys(res, tags->tags, tags->n, k, ctx);
}

/* s3:object-lock-remaining-retention-days from a retain-until date: whole
 * days from now, a started day counting as a day. S3MAP_E_INVALID_ARGUMENT
 * when the date is not ISO 8601. */
int s3map__retention_days(struct s3map_result *res, struct s3w_slice date, int64_t now_ms,
                          struct policy_context *ctx)
{
    int64_t until;
    if (!s3w_iso8601_parse(date, &until))
        return S3MAP_E_INVALID_ARGUMENT;
    until *= 1000; /* a fraction of a second is dropped, as before */
    int64_t diff = until - now_ms, days = diff / 86400000;
    if (diff > 0 && diff % 86400000)
        days++;
    struct s3w_slice d = fmt_i64(res, days);
    if (!d.ptr)
        return S3MAP_E_TOO_BIG;
    return ctx_set(ctx, "s3:object-lock-remaining-retention-days", d);
}

/* The keys read straight from the query and the headers, as the table
 * lists them for the operation (bits k). */
static int request_keys(struct s3map_result *res, uint64_t k, struct policy_context *ctx)
{
    int rc;
    struct s3w_slice v;
    for (size_t i = 0; i < sizeof q_keys / sizeof q_keys[0]; i++) {
        if (!(k & q_keys[i].bit))
            continue;
        const struct s3map_qparam *qp = s3map__q_get(res, q_keys[i].param);
        /* absent parameter -> absent key (a Null condition can tell) */
        if (qp && (rc = s3map__ctx_set(ctx, q_keys[i].key, qp->value.ptr ? qp->value
                                                                    : S3W_SLICE_LIT(""))))
            return rc;
    }
    for (size_t i = 0; i < sizeof hdr_keys / sizeof hdr_keys[0]; i++) {
        if (!(k & hdr_keys[i].bit))
            continue;
        if ((rc = s3map__hdr_get(res, hdr_keys[i].header, &v)) < 0)
            return rc;
        if (rc && (rc = s3map__ctx_set(ctx, hdr_keys[i].key, v)))
            return rc;
    }
    return S3MAP_OK;
}

/* The keys s3map_map() had to work out: the decoded copy source, the
 * version id, the request's tags, and the remaining retention days. */
static int derived_keys(struct s3map_result *res, uint64_t k, const struct s3map_conn_facts *f,
                        struct policy_context *ctx)
{
    int rc;
    struct s3w_slice v;
    if ((k & S3MAP_K_COPY_SOURCE) && (res->flags & S3MAP_F_COPY)) {
        /* decoded "bucket/key", the form AWS's examples match
         * ("amzn-s3-demo-source-bucket/public/" then a star) */
        size_t n = res->copy.bucket.len + 1 + res->copy.key.len;
        char *p = s3map__scratch_take(res, n);
        if (!p)
            return S3MAP_E_TOO_BIG;
        memcpy(p, res->copy.bucket.ptr, res->copy.bucket.len);
        p[res->copy.bucket.len] = '/';
        memcpy(p + res->copy.bucket.len + 1, res->copy.key.ptr, res->copy.key.len);
        if ((rc = ctx_set(ctx, "s3:x-amz-copy-source", s3w_slice(p, n))))
            return rc;
    }
    if ((k & S3MAP_K_VERSIONID) && (res->flags & S3MAP_F_VERSIONED) &&
        (rc = ctx_set(ctx, "s3:versionid", res->version_id)))
        return rc;
    if (k & (S3MAP_K_REQUEST_OBJECT_TAG | S3MAP_K_REQUEST_OBJECT_TAG_KEYS)) {
        if ((rc = s3map__hdr_get(res, H_TAGGING, &v)) < 0)
            return rc;
        if (rc && (rc = tagging_keys(res, v, k, ctx)))
            return rc;
    }
    if (k & S3MAP_K_LOCK_REMAINING_DAYS) {
        if ((rc = s3map__hdr_get(res, H_LOCK_RETAIN_UNTIL, &v)) < 0)
            return rc;
        if (rc && (rc = s3map__retention_days(res, v, f->now_ms, ctx))) {
            if (rc == S3MAP_E_INVALID_ARGUMENT)
                res->detail = "x-amz-object-lock-retain-until-date is not an ISO 8601 date";
            return rc;
        }
    }
    return S3MAP_OK;
}

/* The authentication facts (service authorization reference, S3 condition
 * keys); facts out of range are a caller bug and decide nothing. */
static int auth_keys(struct s3map_result *res, uint64_t k, const struct s3map_conn_facts *f,
                     struct policy_context *ctx)
{
    int rc;
    if ((k & S3MAP_K_CONTENT_SHA256) && f->content_sha256.ptr &&
        (rc = ctx_set(ctx, "s3:x-amz-content-sha256", f->content_sha256)))
        return rc;
    if ((unsigned)f->auth_type > S3MAP_AUTH_POST || (unsigned)f->sig_version > S3MAP_SIG_V4A) {
        res->detail = "connection facts out of range";
        return S3MAP_E_INVALID_ARGUMENT; /* a caller bug: decide nothing on it */
    }
    if ((k & S3MAP_K_AUTH_TYPE) && f->auth_type != S3MAP_AUTH_NONE) {
        static const char *const names[] = { "", "REST-HEADER", "REST-QUERY-STRING", "POST" };
        if ((rc = ctx_set(ctx, "s3:authType", s3w_slice_cstr(names[f->auth_type]))))
            return rc;
    }
    if ((k & S3MAP_K_SIGNATURE_VERSION) && f->sig_version != S3MAP_SIG_NONE &&
        (rc = ctx_set(ctx, "s3:signatureversion",
                      f->sig_version == S3MAP_SIG_V4A ? S3W_SLICE_LIT("AWS4-ECDSA-P256-SHA256")
                                                      : S3W_SLICE_LIT("AWS4-HMAC-SHA256"))))
        return rc;
    /* "s3:signatureAge ... This condition works for: presigned URLs, presigned
     * POST" (S3 API reference, "Signature Version 4 Authentication Specific
     * Policy Keys"): not set for Authorization-header requests. */
    if ((k & S3MAP_K_SIGNATURE_AGE) && f->signature_age_ms >= 0 &&
        (f->auth_type == S3MAP_AUTH_QUERY || f->auth_type == S3MAP_AUTH_POST)) {
        struct s3w_slice a = fmt_i64(res, f->signature_age_ms);
        if (!a.ptr)
            return S3MAP_E_TOO_BIG;
        if ((rc = ctx_set(ctx, "s3:signatureAge", a)))
            return rc;
    }
    if ((k & S3MAP_K_TLS_VERSION) && f->tls_version.ptr &&
        (rc = ctx_set(ctx, "s3:TlsVersion", f->tls_version)))
        return rc;
    if ((k & S3MAP_K_RESOURCE_ACCOUNT) && f->resource_account.ptr &&
        (rc = ctx_set(ctx, "s3:ResourceAccount", f->resource_account)))
        return rc;
    return S3MAP_OK;
}

/* The global keys (IAM user guide, "AWS global condition context keys"),
 * set whatever the operation, then the fixed ones. */
static int global_keys(struct s3map_result *res, const struct s3map_conn_facts *f,
                       struct policy_context *ctx)
{
    int rc;
    /* aws:ResourceAccount: the account that owns the resource, the bucket
     * owner for S3 [KEYS]; left absent, a Deny with StringEquals on it never
     * fires. Not for ListBuckets, which names no resource. */
    if (res->op && res->op->resource_type != S3MAP_R_NONE && f->resource_account.ptr &&
        (rc = ctx_set(ctx, "aws:ResourceAccount", f->resource_account)))
        return rc;
    if ((rc = ctx_set(ctx, "aws:SecureTransport", f->tls_version.ptr ? S3W_SLICE_LIT("true")
                                                                      : S3W_SLICE_LIT("false"))))
        return rc;
    if (f->source_ip.ptr && (rc = ctx_set(ctx, "aws:SourceIp", f->source_ip)))
        return rc;
    struct s3w_slice t = fmt_iso8601(res, f->now_ms);
    if (!t.ptr)
        return S3MAP_E_TOO_BIG;
    if ((rc = ctx_set(ctx, "aws:CurrentTime", t)))
        return rc;
    struct s3w_slice e = fmt_i64(res, f->now_ms / 1000);
    if (!e.ptr)
        return S3MAP_E_TOO_BIG;
    if ((rc = ctx_set(ctx, "aws:EpochTime", e)))
        return rc;
    if (f->user_agent.ptr && (rc = ctx_set(ctx, "aws:UserAgent", f->user_agent)))
        return rc;
    if (f->referer.ptr && (rc = ctx_set(ctx, "aws:Referer", f->referer)))
        return rc;
    if (f->region.ptr && (rc = ctx_set(ctx, "aws:RequestedRegion", f->region)))
        return rc;
    /* aws:ViaAWSService / aws:PrincipalIsAWSService: false for every caller
     * of s3warden (policy/keys.c); left absent, the common data-perimeter
     * Deny `"Bool": {"aws:PrincipalIsAWSService": "false"}` never fired */
    if (policy_context_set_fixed(ctx, f->auth_type != S3MAP_AUTH_NONE))
        return S3MAP_E_CONTEXT_FULL;
    return S3MAP_OK;
}

int s3map_fill_context(struct s3map_result *res, const struct s3map_request *req,
                       const struct s3map_conn_facts *f, struct policy_context *ctx)
{
    uint64_t k = res->op ? res->op->keys : 0;
    /* the header values were classified by s3map_map(); they still point
     * into req, which is why the contract asks for the same request */
    (void)req;

    int rc = request_keys(res, k, ctx);
    rc = rc ? rc : derived_keys(res, k, f, ctx);
    rc = rc ? rc : auth_keys(res, k, f, ctx);
    rc = rc ? rc : global_keys(res, f, ctx);
    return rc;
}
