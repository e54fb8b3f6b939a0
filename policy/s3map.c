/*
 * s3map.c - S3 request -> operation -> IAM authorizations (contract in
 * s3map.h): the query and header classification, x-amz-copy-source, the
 * operation lookup over the generated table and the authorizations each
 * operation needs (s3map_map, s3map_delete_authz). The condition keys are
 * s3map_context.c's, the XML bodies s3map_body.c's, the catalog queries
 * s3ops.c's. No allocation: all storage is in struct s3map_result or caller
 * buffers; every copy is bounded by a cap checked before it.
 */
#include "s3map.h"
#include "s3map_int.h"
#include "policy.h" /* policy_context_set_fixed */
#include "codec.h"

/* ---- errors ------------------------------------------------------------------ */

const char *s3map_strerror(int err)
{
    switch (err) {
    case S3MAP_OK: return "OK";
    /* S3's own NotImplemented message */
    case S3MAP_E_NOT_IMPLEMENTED:
        return "A header you provided implies functionality that is not implemented";
    case S3MAP_E_INVALID_ARGUMENT: return "Invalid Argument";
    case S3MAP_E_MALFORMED_XML:
        return "The XML you provided was not well-formed or did not validate against our published schema";
    case S3MAP_E_INVALID_TAG: return "The TagValue you have provided is invalid";
    case S3MAP_E_KEY_TOO_LONG: return "Your key is too long";
    case S3MAP_E_TOO_BIG: return "The request is larger than this proxy accepts";
    case S3MAP_E_CONTEXT_FULL: return "We encountered an internal error. Please try again.";
    case S3MAP_E_INVALID_BUCKET: return "The specified bucket is not valid.";
    /* S3's words for these two (quoted in versity/versitygw issues 1226
     * and 1236) */
    case S3MAP_E_PART_NO_UPLOAD: return "This operation does not accept partNumber without uploadId";
    case S3MAP_E_UPLOAD_NO_PART: return "The specified method is not allowed against this resource.";
    /* S3's message is empty; ArgumentName and ArgumentValue say it (the
     * answer versity/versitygw issue 1379 quotes) */
    case S3MAP_E_INVALID_ACL: return "";
    /* S3's answer, as basho/riak_cs issue 945 quotes it */
    case S3MAP_E_PART_NUMBER: return "Part number must be an integer between 1 and 10000, inclusive";
    case S3MAP_E_HEADER_NOT_TAKEN: return "This operation does not take this header.";
    case S3MAP_E_BODY_NOT_TAKEN: return "This operation does not take a request body.";
    case S3MAP_E_PARAM_NOT_TAKEN: return "This operation does not take this parameter.";
    default: return "unknown s3map error";
    }
}

const char *s3map_error_code(int err)
{
    switch (err) {
    case S3MAP_OK: return "OK";
    case S3MAP_E_NOT_IMPLEMENTED: return "NotImplemented";
    case S3MAP_E_MALFORMED_XML: return "MalformedXML";
    case S3MAP_E_INVALID_TAG: return "InvalidTag";
    case S3MAP_E_KEY_TOO_LONG: return "KeyTooLongError";
    case S3MAP_E_INVALID_BUCKET: return "InvalidBucketName";
    case S3MAP_E_UPLOAD_NO_PART: return "MethodNotAllowed";
    case S3MAP_E_INVALID_ARGUMENT:
    case S3MAP_E_PART_NO_UPLOAD:
    case S3MAP_E_INVALID_ACL:
    case S3MAP_E_PART_NUMBER:
    case S3MAP_E_HEADER_NOT_TAKEN:
    case S3MAP_E_PARAM_NOT_TAKEN:
    case S3MAP_E_TOO_BIG: return "InvalidArgument";
    case S3MAP_E_BODY_NOT_TAKEN: return "InvalidRequest";
    default: return "InternalError";
    }
}

int s3map_error_status(int err)
{
    switch (err) {
    case S3MAP_OK: return 200;
    case S3MAP_E_NOT_IMPLEMENTED: return 501;
    case S3MAP_E_INVALID_ARGUMENT:
    case S3MAP_E_MALFORMED_XML:
    case S3MAP_E_INVALID_TAG:
    case S3MAP_E_KEY_TOO_LONG:
    case S3MAP_E_TOO_BIG:
    case S3MAP_E_PART_NO_UPLOAD:
    case S3MAP_E_INVALID_ACL:
    case S3MAP_E_PART_NUMBER:
    case S3MAP_E_HEADER_NOT_TAKEN:
    case S3MAP_E_BODY_NOT_TAKEN:
    case S3MAP_E_PARAM_NOT_TAKEN:
    case S3MAP_E_INVALID_BUCKET: return 400;
    case S3MAP_E_UPLOAD_NO_PART: return 405;
    default: return 500;
    }
}

/* ---- small helpers ----------------------------------------------------------- */

static bool in_list(struct s3w_slice s, const char *const *list)
{
    for (; *list; list++)
        if (eqz(s, *list))
            return true;
    return false;
}

/* Percent-decodes in into out, which has room for in.len bytes (the
 * callers' check). */
static int pct_decode(struct s3w_slice in, char *out, unsigned flags, size_t *outlen)
{
    long n = s3w_pct_decode(in, out, in.len, flags);
    if (n < 0)
        return S3MAP_E_INVALID_ARGUMENT;
    *outlen = (size_t)n;
    return S3MAP_OK;
}

/* Bump allocation from the result's scratch. */
char *s3map__scratch_take(struct s3map_result *res, size_t n)
{
    if (n > sizeof res->scratch - res->scratch_used)
        return NULL;
    char *p = res->scratch + res->scratch_used;
    res->scratch_used += n;
    return p;
}

/* ---- query ------------------------------------------------------------------- */

int s3map_parse_query(struct s3w_slice raw, char *scratch, size_t scratch_cap,
                      struct s3map_qparam *out, size_t max, size_t *n)
{
    size_t used = 0, cnt = 0, i = 0;
    *n = 0;
    if (raw.len > scratch_cap)
        return S3MAP_E_TOO_BIG;
    while (i < raw.len) {
        size_t start = i;
        while (i < raw.len && raw.ptr[i] != '&')
            i++;
        struct s3w_slice part = s3w_slice(raw.ptr + start, i - start);
        i++; /* skip '&' */
        if (part.len == 0)
            continue; /* "a&&b", trailing '&': nothing there */
        if (cnt == max)
            return S3MAP_E_TOO_BIG;
        size_t eq = 0;
        while (eq < part.len && part.ptr[eq] != '=')
            eq++;
        size_t nl, vl;
        char *np = scratch + used;
        int rc = pct_decode(s3w_slice(part.ptr, eq), np, S3W_PCT_PLUS_SPACE, &nl);
        if (rc)
            return rc;
        used += nl;
        out[cnt].name = s3w_slice(np, nl);
        if (eq < part.len) {
            char *vp = scratch + used;
            rc = pct_decode(s3w_slice(part.ptr + eq + 1, part.len - eq - 1), vp, S3W_PCT_PLUS_SPACE,
                            &vl);
            if (rc)
                return rc;
            used += vl;
            /* a non-NULL pointer even for "name=" so that presence is visible */
            out[cnt].value = s3w_slice(vl ? vp : "", vl);
        } else {
            out[cnt].value = S3W_SLICE_NULL;
        }
        cnt++;
    }
    *n = cnt;
    return S3MAP_OK;
}

const struct s3map_qparam *s3map__q_get(const struct s3map_result *res, const char *name)
{
    for (size_t i = 0; i < res->nq; i++)
        if (eqz(res->q[i].name, name))
            return &res->q[i];
    return NULL;
}

/* SigV4 presigned-URL parameters: the signature module's business. */
static const char *const presign_names[] = {
    "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
    "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token", NULL,
};

static bool is_presign_name(struct s3w_slice name)
{
    for (const char *const *p = presign_names; *p; p++)
        if (s3w_slice_eq_nocase(name, s3w_slice_cstr(*p)))
            return true;
    return false;
}

/* x-amz-* query parameters other than the presign ones stand for headers. */
static bool is_header_param(struct s3w_slice name)
{
    return name.len > 6 && s3w_slice_eq_nocase(s3w_slice(name.ptr, 6), S3W_SLICE_LIT("x-amz-")) &&
           !is_presign_name(name);
}

/* ---- headers -----------------------------------------------------------------
 * The headers the mapping reads are classified once per request (one pass
 * over the headers and the x-amz-* query parameters) into res->hval; a name
 * seen twice is remembered and refused when it is read. */

#define HNAME(s) { s, sizeof(s) - 1 }
static const struct {
    const char *name;
    size_t len;
} hdr_names[H__COUNT] = {
    [H_COPY_SOURCE] = HNAME("x-amz-copy-source"),
    [H_TAGGING] = HNAME("x-amz-tagging"),
    [H_TAGGING_DIRECTIVE] = HNAME("x-amz-tagging-directive"),
    [H_LOCK_MODE] = HNAME("x-amz-object-lock-mode"),
    [H_LOCK_RETAIN_UNTIL] = HNAME("x-amz-object-lock-retain-until-date"),
    [H_LOCK_LEGAL_HOLD] = HNAME("x-amz-object-lock-legal-hold"),
    [H_BYPASS_GOVERNANCE] = HNAME("x-amz-bypass-governance-retention"),
    [H_BUCKET_LOCK] = HNAME("x-amz-bucket-object-lock-enabled"),
    [H_OBJECT_OWNERSHIP] = HNAME("x-amz-object-ownership"),
    [H_ACL] = HNAME("x-amz-acl"),
    [H_GRANT_READ] = HNAME("x-amz-grant-read"),
    [H_GRANT_WRITE] = HNAME("x-amz-grant-write"),
    [H_GRANT_READ_ACP] = HNAME("x-amz-grant-read-acp"),
    [H_GRANT_WRITE_ACP] = HNAME("x-amz-grant-write-acp"),
    [H_GRANT_FULL_CONTROL] = HNAME("x-amz-grant-full-control"),
    [H_SSE] = HNAME("x-amz-server-side-encryption"),
    [H_SSE_KMS_KEY_ID] = HNAME("x-amz-server-side-encryption-aws-kms-key-id"),
    [H_SSE_CUSTOMER_ALGORITHM] = HNAME("x-amz-server-side-encryption-customer-algorithm"),
    [H_STORAGE_CLASS] = HNAME("x-amz-storage-class"),
    [H_METADATA_DIRECTIVE] = HNAME("x-amz-metadata-directive"),
    [H_WEBSITE_REDIRECT] = HNAME("x-amz-website-redirect-location"),
    [H_IF_MATCH] = HNAME("if-match"),
    [H_IF_NONE_MATCH] = HNAME("if-none-match"),
    [H_EXPECTED_OWNER] = HNAME("x-amz-expected-bucket-owner"),
    [H_SOURCE_EXPECTED_OWNER] = HNAME("x-amz-source-expected-bucket-owner"),
};
_Static_assert(H__COUNT <= S3MAP_TRACKED_HEADERS, "res->hval too small");
_Static_assert(H__COUNT <= 32, "hseen/hdup are 32-bit masks");
/* The headers that change what a write does: the ones before if-match
 * but the copy directives (gen_s3ops.py EFFECT_HEADERS,
 * s3map_op.effect_headers). */
#define H_EFFECT_MASK \
    (((1u << H_IF_MATCH) - 1) & ~(1u << H_TAGGING_DIRECTIVE) & ~(1u << H_METADATA_DIRECTIVE))
_Static_assert(H_WEBSITE_REDIRECT + 1 == H_IF_MATCH && H_COPY_SOURCE == 0,
               "the effect headers come first in enum hdr_id");

static void hdr_note(struct s3map_result *res, struct s3w_slice name, struct s3w_slice value)
{
    if (name.len < 8)
        return;
    char c = (char)(name.ptr[0] | 0x20);
    if (c != 'x' && c != 'i')
        return; /* only x-amz-* and if-* are tracked */
    for (int i = 0; i < H__COUNT; i++) {
        if (hdr_names[i].len != name.len ||
            !s3w_slice_eq_nocase(name, s3w_slice(hdr_names[i].name, hdr_names[i].len)))
            continue;
        uint32_t bit = 1u << i;
        if (res->hseen & bit)
            res->hdup |= bit;
        res->hseen |= bit;
        res->hval[i] = value.ptr ? value : S3W_SLICE_LIT("");
        return;
    }
}

static void hdr_classify(const struct s3map_request *req, struct s3map_result *res)
{
    res->hseen = res->hdup = 0;
    for (size_t i = 0; i < req->nheaders; i++)
        /* the HTTP layer has trimmed SP/HTAB and refused obs-fold (bytes.h,
         * struct s3w_header); trimmed again for callers that did not */
        hdr_note(res, req->headers[i].name, s3w_slice_trim(req->headers[i].value));
}

/* 1 found (*v set, trimmed), 0 absent, S3MAP_E_INVALID_ARGUMENT when given
 * more than once (we will not pick one of two values to authorize). */
int s3map__hdr_get(const struct s3map_result *res, enum hdr_id h, struct s3w_slice *v)
{
    uint32_t bit = 1u << h;
    if (res->hdup & bit)
        return S3MAP_E_INVALID_ARGUMENT;
    if (!(res->hseen & bit))
        return 0;
    *v = res->hval[h];
    return 1;
}

int s3map_expected_owners(const struct s3map_result *res, struct s3w_slice *bucket_owner,
                          struct s3w_slice *source_owner)
{
    *bucket_owner = *source_owner = S3W_SLICE_NULL;
    int a = s3map__hdr_get(res, H_EXPECTED_OWNER, bucket_owner);
    int b = s3map__hdr_get(res, H_SOURCE_EXPECTED_OWNER, source_owner);
    return a < 0 ? a : b < 0 ? b : 0;
}

static int hdr_present(const struct s3map_result *res, enum hdr_id h)
{
    struct s3w_slice v;
    return s3map__hdr_get(res, h, &v);
}

/* 1 when the header is "true" (case-insensitive), 0 otherwise, or error. */
static int hdr_true(const struct s3map_result *res, enum hdr_id h)
{
    struct s3w_slice v;
    int rc = s3map__hdr_get(res, h, &v);
    if (rc <= 0)
        return rc;
    return s3w_slice_eq_nocase(v, S3W_SLICE_LIT("true"));
}

static int any_acl_header(const struct s3map_result *res)
{
    int any = 0;
    for (int h = H_ACL; h <= H_GRANT_FULL_CONTROL; h++) {
        int rc = hdr_present(res, (enum hdr_id)h);
        if (rc < 0)
            return rc;
        any |= rc;
    }
    return any;
}

/* ---- copy source ------------------------------------------------------------- */

int s3map_parse_copy_source(struct s3w_slice value, char *scratch, size_t scratch_cap,
                            struct s3map_copy_source *out)
{
    *out = (struct s3map_copy_source){ S3W_SLICE_NULL, S3W_SLICE_NULL, S3W_SLICE_NULL };
    if (value.len > scratch_cap)
        return S3MAP_E_TOO_BIG;
    struct s3w_slice path = value, ver = S3W_SLICE_NULL;
    /* The value is URL-encoded, so a raw '?' can only start the version part
     * (S3 API reference, CopyObject: "x-amz-copy-source ... The value must be
     * URL-encoded", "?versionId=<version-id>"). */
    for (size_t i = 0; i < value.len; i++) {
        if (value.ptr[i] == '?') {
            path = s3w_slice(value.ptr, i);
            struct s3w_slice rest = s3w_slice(value.ptr + i + 1, value.len - i - 1);
            if (!s3w_slice_starts_with(rest, S3W_SLICE_LIT("versionId=")))
                return S3MAP_E_INVALID_ARGUMENT;
            ver = s3w_slice(rest.ptr + 10, rest.len - 10);
            if (ver.len == 0)
                return S3MAP_E_INVALID_ARGUMENT;
            break;
        }
    }
    if (path.len && path.ptr[0] == '/') {
        path.ptr++;
        path.len--;
    }
    size_t dl, vl = 0;
    /* A path, not a form: '+' stays '+' (SDKs send %2B / %20). */
    int rc = pct_decode(path, scratch, 0, &dl);
    if (rc)
        return rc;
    struct s3w_slice dec = s3w_slice(scratch, dl);
    if (s3w_slice_starts_with(dec, S3W_SLICE_LIT("arn:")))
        return S3MAP_E_NOT_IMPLEMENTED; /* access point / Outposts ARN sources */
    size_t slash = 0;
    while (slash < dec.len && dec.ptr[slash] != '/')
        slash++;
    if (slash == 0 || slash + 1 >= dec.len)
        return S3MAP_E_INVALID_ARGUMENT; /* needs "bucket/key" */
    out->bucket = s3w_slice(dec.ptr, slash);
    out->key = s3w_slice(dec.ptr + slash + 1, dec.len - slash - 1);
    if (ver.ptr) {
        rc = pct_decode(ver, scratch + dl, 0, &vl);
        if (rc)
            return rc;
        if (vl == 0)
            return S3MAP_E_INVALID_ARGUMENT;
        out->version_id = s3w_slice(scratch + dl, vl);
    }
    if (out->bucket.len > S3MAP_MAX_BUCKET_BYTES)
        return S3MAP_E_INVALID_ARGUMENT;
    if (out->key.len > S3MAP_MAX_KEY_BYTES)
        return S3MAP_E_KEY_TOO_LONG;
    return S3MAP_OK;
}

/* ---- ARNs -------------------------------------------------------------------- */

/* arn:aws:s3:::bucket[/key] - the key exactly as stored (not encoded), the
 * form resource ARNs in policies match against. */
static size_t make_arn(char *buf, size_t cap, struct s3w_slice bucket, struct s3w_slice key,
                       bool object)
{
    static const char pfx[] = "arn:aws:s3:::";
    size_t need = sizeof pfx - 1 + bucket.len + (object ? 1 + key.len : 0);
    if (need > cap)
        return 0;
    size_t o = 0;
    memcpy(buf, pfx, sizeof pfx - 1);
    o += sizeof pfx - 1;
    if (bucket.len)
        memcpy(buf + o, bucket.ptr, bucket.len);
    o += bucket.len;
    if (object) {
        buf[o++] = '/';
        if (key.len)
            memcpy(buf + o, key.ptr, key.len);
        o += key.len;
    }
    return o;
}

int s3map__add_authz(struct s3map_result *res, const char *action, struct s3w_slice resource)
{
    if (res->nauthz == S3MAP_MAX_AUTHZ)
        return S3MAP_E_TOO_BIG; /* cannot happen with the table; fail closed */
    res->authz[res->nauthz].action = s3w_slice_cstr(action);
    res->authz[res->nauthz].resource = resource;
    res->nauthz++;
    return S3MAP_OK;
}

/* ---- operation identification ------------------------------------------------- */

static const char *const methods[] = { "GET", "PUT", "HEAD", "POST", "DELETE", NULL };

/* The selectors with a fixed value ("list-type=2", "select-type=2") must
 * carry exactly that value; the masks already said every name is there. */
static bool selector_values_match(const struct s3map_op *op, const struct s3map_result *res)
{
    for (const char *const *s = op->selectors; *s; s++) {
        const char *eq = strchr(*s, '=');
        if (!eq)
            continue;
        struct s3w_slice name = s3w_slice(*s, (size_t)(eq - *s));
        for (size_t i = 0; i < res->nq; i++)
            if (s3w_slice_eq(res->q[i].name, name) && !eqz(res->q[i].value, eq + 1))
                return false;
    }
    return true;
}

/* bit of a selector name in s3map_selector_names[], -1 if it is none */
static int selector_bit(struct s3w_slice n)
{
    for (int i = 0; s3map_selector_names[i]; i++)
        if (eqz(n, s3map_selector_names[i]))
            return i;
    return -1;
}

/* The value of header `name` (lower case) in req, or a NULL slice. */
static struct s3w_slice req_header(const struct s3map_request *req, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < req->nheaders; i++)
        if (req->headers[i].name.len == n &&
            s3w_slice_eq_nocase(req->headers[i].name, s3w_slice(name, n)))
            return req->headers[i].value.ptr ? req->headers[i].value : S3W_SLICE_LIT("");
    return S3W_SLICE_NULL;
}

/* What a store that does not know op could take a write (PUT, POST) for
 * another by (probe 24, moto): a header that changes what a write does,
 * which op's input does not take (PUT ?requestPayment with x-amz-acl ran
 * as CreateBucket's ACL, PUT ?encryption with x-amz-copy-source as a
 * copy); a body op does not take (PUT ?renameObject with one stored it).
 * S3 itself ignores or refuses them; here they are refused. (A form's
 * Content-Type on a POST, which moto ran as a browser upload, is not sent
 * upstream with an operation that takes no Content-Type: upstream_build.c,
 * like the other headers of an object.) */
static int request_shape(const struct s3map_request *req, struct s3map_result *res,
                         const struct s3map_op *op)
{
    /* response-* overrides on an operation that takes none: a store that
     * does not know it (?torrent) could serve the object under the type
     * asked for, past the answer's check (probe 26) */
    if ((res->flags & S3MAP_F_RESPONSE_OVERRIDES) && !(op->wire & S3MAP_W_RESPONSE_OVERRIDES)) {
        for (size_t i = 0; i < res->nq; i++)
            if (s3w_slice_starts_with(res->q[i].name, S3W_SLICE_LIT("response-")))
                res->invalid_name = res->q[i].name;
        res->detail = "a response-* parameter the operation does not take";
        return S3MAP_E_PARAM_NOT_TAKEN;
    }
    /* ?versionId on an operation that takes none (PutObject, ListParts,
     * SelectObjectContent): its actions are the unversioned ones, while a
     * store could still apply the version (probe 29: ?torrent&versionId= was
     * authorized as s3:GetObjectTorrent) */
    const struct s3map_qparam *ver = s3map__q_get(res, "versionId");
    if (ver && !(op->wire & S3MAP_W_VERSION_ID)) {
        res->invalid_name = ver->name;
        res->detail = "versionId, which the operation does not take";
        return S3MAP_E_PARAM_NOT_TAKEN;
    }
    bool put = eqz(req->method, "PUT"), post = eqz(req->method, "POST");
    if (!put && !post) /* reads: nothing to apply a header or body to */
        return S3MAP_OK;
    uint32_t eff = res->hseen & H_EFFECT_MASK;
    for (int i = 0; eff; i++, eff >>= 1) {
        if (!(eff & 1))
            continue;
        struct s3w_slice name = s3w_slice(hdr_names[i].name, hdr_names[i].len);
        if (op->effect_headers && in_list(name, op->effect_headers))
            continue;
        res->detail = "a header the operation does not take";
        res->invalid_name = name;
        res->invalid_value = res->hval[i];
        return S3MAP_E_HEADER_NOT_TAKEN;
    }
    if (op->wire & S3MAP_W_NO_BODY) {
        struct s3w_slice cl = req_header(req, "content-length");
        bool body = req_header(req, "transfer-encoding").ptr ||
                    (cl.ptr && !(cl.len == 1 && cl.ptr[0] == '0'));
        if (body) {
            res->detail = "a body the operation does not take";
            return S3MAP_E_BODY_NOT_TAKEN;
        }
    }
    return S3MAP_OK;
}

static int identify(const struct s3map_request *req, struct s3map_result *res)
{
    if (!in_list(req->method, methods)) {
        res->detail = "HTTP method not used by any S3 operation";
        return S3MAP_E_NOT_IMPLEMENTED;
    }
    uint8_t target = req->bucket.len == 0 ? S3MAP_T_SERVICE
                     : req->key.len == 0  ? S3MAP_T_BUCKET
                                          : S3MAP_T_OBJECT;
    if (target == S3MAP_T_SERVICE && req->key.len) {
        res->detail = "object key without a bucket";
        return S3MAP_E_INVALID_ARGUMENT;
    }

    hdr_classify(req, res);
    uint64_t present = 0; /* the request's selectors, bits of s3map_selector_names */
    for (size_t i = 0; i < res->nq; i++) {
        struct s3w_slice n = res->q[i].name;
        for (size_t j = 0; j < i; j++)
            if (s3w_slice_eq(res->q[j].name, n)) {
                res->detail = "query parameter given more than once";
                return S3MAP_E_INVALID_ARGUMENT;
            }
        int bit = selector_bit(n);
        if (bit >= 0) {
            present |= 1ull << bit;
            continue;
        }
        if (is_header_param(n)) {
            hdr_note(res, n, res->q[i].value);
            continue;
        }
        if (in_list(n, s3map_known_query_names)) {
            if (s3w_slice_starts_with(n, S3W_SLICE_LIT("response-")))
                res->flags |= S3MAP_F_RESPONSE_OVERRIDES;
            continue;
        }
        if (is_presign_name(n))
            continue;
        /* S3 may give meaning to a parameter we do not know (a new
         * subresource); authorizing it as something else would be a guess. */
        res->detail = "unknown query parameter";
        res->unknown_param = n;
        return S3MAP_E_NOT_IMPLEMENTED;
    }

    int copy = hdr_present(res, H_COPY_SOURCE);
    if (copy < 0) {
        res->detail = "x-amz-copy-source given more than once";
        return copy;
    }

    const struct s3map_op *found = NULL;
    for (size_t i = 0; i < s3map_ops_count; i++) {
        const struct s3map_op *op = &s3map_ops_table[i];
        /* exactly the op's selectors, plus any of its optional ones */
        if (op->target != target || (present & op->selector_mask) != op->selector_mask ||
            (present & ~(op->selector_mask | op->optional_mask)) || op->unrouted_reason ||
            !eqz(req->method, op->method))
            continue;
        if ((op->copy_source > 0 && !copy) || (op->copy_source < 0 && copy))
            continue;
        if (!selector_values_match(op, res))
            continue;
        if (found) { /* the generator rules this out; fail closed anyway */
            res->detail = "ambiguous operation";
            return S3MAP_E_NOT_IMPLEMENTED;
        }
        found = op;
    }
    if (!found) {
        /* half of UploadPart's pair on a PUT: S3's own answers, not 501 */
        int pb = selector_bit(S3W_SLICE_LIT("partNumber"));
        int ub = selector_bit(S3W_SLICE_LIT("uploadId"));
        if (target == S3MAP_T_OBJECT && eqz(req->method, "PUT") && pb >= 0 && ub >= 0) {
            bool part = present & (1ull << pb), upload = present & (1ull << ub);
            if (part && !upload)
                return S3MAP_E_PART_NO_UPLOAD;
            if (upload && !part)
                return S3MAP_E_UPLOAD_NO_PART;
        }
        res->detail = "no S3 operation has this method, path and subresources";
        return S3MAP_E_NOT_IMPLEMENTED;
    }
    int rc = request_shape(req, res, found);
    if (rc) {
        res->op = found; /* named in the refusal */
        return rc;
    }
    /* partNumber (UploadPart, UploadPartCopy, GetObject, HeadObject): S3
     * refuses any but 1..10000 itself; a store that does not may take 0
     * or "abc" for something else (probe 22: moto answered 500) */
    const struct s3map_qparam *pn = s3map__q_get(res, "partNumber");
    if (pn) {
        unsigned long v = 0;
        bool ok = pn->value.len > 0 && pn->value.len <= 5;
        for (size_t i = 0; ok && i < pn->value.len; i++) {
            ok = pn->value.ptr[i] >= '0' && pn->value.ptr[i] <= '9';
            v = v * 10 + (unsigned long)(pn->value.ptr[i] - '0');
        }
        if (!ok || v < 1 || v > 10000) {
            res->invalid_value = pn->value.ptr ? pn->value : S3W_SLICE_LIT("");
            return S3MAP_E_PART_NUMBER;
        }
    }
    res->op = found;
    return S3MAP_OK;
}

static int add_actions(struct s3map_result *res, const char *const *acts, struct s3w_slice arn)
{
    for (; *acts; acts++) {
        int rc = s3map__add_authz(res, *acts, arn);
        if (rc)
            return rc;
    }
    return S3MAP_OK;
}

/* The ARN the operation acts on: "*", the bucket or the object; *arn is
 * built in res->arn[0]. */
static int target_arn(const struct s3map_request *req, struct s3map_result *res,
                      struct s3w_slice *arn)
{
    switch (res->op->resource_type) {
    case S3MAP_R_NONE:
        *arn = S3W_SLICE_LIT("*");
        break;
    case S3MAP_R_BUCKET:
        *arn = s3w_slice(res->arn[0], make_arn(res->arn[0], S3MAP_ARN_MAX, req->bucket,
                                               S3W_SLICE_NULL, false));
        break;
    default:
        *arn = s3w_slice(res->arn[0], make_arn(res->arn[0], S3MAP_ARN_MAX, req->bucket,
                                               req->key, true));
        break;
    }
    if (arn->len == 0)
        return S3MAP_E_TOO_BIG; /* cannot happen within the caps; never authorize "" */
    return S3MAP_OK;
}

/* Whether the request names a version (?versionId, never empty); *ver is
 * the parameter or NULL. */
static int version_id(struct s3map_result *res, const struct s3map_qparam **ver)
{
    *ver = s3map__q_get(res, "versionId");
    if (!*ver)
        return S3MAP_OK;
    if ((*ver)->value.len == 0) {
        /* S3 refuses it too; we will not guess between "no version"
         * and "the version named empty" */
        res->detail = "Version id cannot be the empty string";
        return S3MAP_E_INVALID_ARGUMENT;
    }
    res->flags |= S3MAP_F_VERSIONED;
    res->version_id = (*ver)->value;
    return S3MAP_OK;
}

/* The operation's own actions from the table (the version actions with
 * ?versionId), or none here when they come per key from the body. */
static int table_actions(struct s3map_result *res, const struct s3map_qparam *ver,
                         struct s3w_slice arn)
{
    const struct s3map_op *op = res->op;
    if (op->extras & S3MAP_X_BODY_KEYS)
        res->flags |= S3MAP_F_BODY_KEYS;
    if (op->extras & S3MAP_X_DELETE_BODY) {
        /* per key from the body: s3map_delete_authz() */
        res->flags |= S3MAP_F_DELETE_BODY;
        return S3MAP_OK;
    }
    /* ?versionId switches to the version actions (API reference, GetObject
     * "Permissions": with versionId you need s3:GetObjectVersion). */
    return add_actions(res, ver && op->version_actions ? op->version_actions : op->actions, arn);
}

/* The ACL writes that headers make: any ACL header on an object write, a
 * non-private ACL or any grant on CreateBucket. */
static int acl_actions(struct s3map_result *res, struct s3w_slice arn)
{
    uint32_t x = res->op->extras;
    int rc;
    if (x & S3MAP_X_OBJECT_ACL) {
        if ((rc = any_acl_header(res)) < 0)
            return rc;
        if (rc && (rc = s3map__add_authz(res, "s3:PutObjectAcl", arn)))
            return rc;
    }
    if (x & S3MAP_X_BUCKET_ACL) {
        /* CreateBucket "Permissions": a canned ACL other than private, or any
         * grant, needs s3:PutBucketAcl too; "private" or no ACL does not. */
        if ((rc = any_acl_header(res)) < 0)
            return rc;
        struct s3w_slice acl;
        int only_private = rc && s3map__hdr_get(res, H_ACL, &acl) == 1 && eqz(acl, "private");
        for (int h = H_GRANT_READ; only_private && h <= H_GRANT_FULL_CONTROL; h++)
            if (hdr_present(res, (enum hdr_id)h))
                only_private = 0;
        if (rc && !only_private && (rc = s3map__add_authz(res, "s3:PutBucketAcl", arn)))
            return rc;
    }
    return S3MAP_OK;
}

/* The tag write that x-amz-tagging makes (on a copy, only with directive
 * REPLACE or a value S3 rejects). */
static int tagging_action(struct s3map_result *res, struct s3w_slice arn)
{
    int rc;
    if (!(res->op->extras & S3MAP_X_OBJECT_TAGGING))
        return S3MAP_OK;
    if ((rc = hdr_present(res, H_TAGGING)) < 0)
        return rc;
    if (rc && res->op->copy_source > 0) {
        /* CopyObject applies x-amz-tagging only with directive REPLACE;
         * the default (COPY) ignores it (API reference, CopyObject). Any
         * other value S3 rejects - count it as a tag write anyway. */
        struct s3w_slice d;
        int drc = s3map__hdr_get(res, H_TAGGING_DIRECTIVE, &d);
        if (drc < 0)
            return drc;
        if (drc == 0 || eqz(d, "COPY"))
            rc = 0;
    }
    if (rc && (rc = s3map__add_authz(res, "s3:PutObjectTagging", arn)))
        return rc;
    return S3MAP_OK;
}

/* The Object Lock actions that headers ask for: retention, legal hold,
 * bypassing governance mode, and object lock on a new bucket. */
static int object_lock_actions(struct s3map_result *res, struct s3w_slice arn)
{
    uint32_t x = res->op->extras;
    int rc;
    if (x & S3MAP_X_RETENTION) {
        int a = hdr_present(res, H_LOCK_MODE);
        int b = hdr_present(res, H_LOCK_RETAIN_UNTIL);
        if (a < 0 || b < 0)
            return S3MAP_E_INVALID_ARGUMENT;
        if ((a || b) && (rc = s3map__add_authz(res, "s3:PutObjectRetention", arn)))
            return rc;
    }
    if (x & S3MAP_X_LEGAL_HOLD) {
        if ((rc = hdr_present(res, H_LOCK_LEGAL_HOLD)) < 0)
            return rc;
        if (rc && (rc = s3map__add_authz(res, "s3:PutObjectLegalHold", arn)))
            return rc;
    }
    if (x & S3MAP_X_BYPASS_GOVERNANCE) {
        if ((rc = hdr_true(res, H_BYPASS_GOVERNANCE)) < 0)
            return rc;
        if (rc) {
            res->flags |= S3MAP_F_BYPASS_GOVERNANCE;
            if (!(x & S3MAP_X_DELETE_BODY) &&
                (rc = s3map__add_authz(res, "s3:BypassGovernanceRetention", arn)))
                return rc;
        }
    }
    if (x & S3MAP_X_BUCKET_LOCK) {
        if ((rc = hdr_true(res, H_BUCKET_LOCK)) < 0)
            return rc;
        if (rc && ((rc = s3map__add_authz(res, "s3:PutBucketObjectLockConfiguration", arn)) ||
                   (rc = s3map__add_authz(res, "s3:PutBucketVersioning", arn))))
            return rc;
    }
    return S3MAP_OK;
}

/* The ownership controls that x-amz-object-ownership sets on a new
 * bucket. */
static int ownership_action(struct s3map_result *res, struct s3w_slice arn)
{
    int rc;
    if (!(res->op->extras & S3MAP_X_OWNERSHIP))
        return S3MAP_OK;
    if ((rc = hdr_present(res, H_OBJECT_OWNERSHIP)) < 0)
        return rc;
    if (rc && (rc = s3map__add_authz(res, "s3:PutBucketOwnershipControls", arn)))
        return rc;
    return S3MAP_OK;
}

/* The read of the copy source (a version of it with versionId), for the
 * operations that copy; the source's ARN is built in res->arn[1]. */
static int copy_source_action(struct s3map_result *res)
{
    struct s3w_slice v;
    int rc;
    if (!(res->op->extras & S3MAP_X_COPY_SOURCE))
        return S3MAP_OK;
    if ((rc = s3map__hdr_get(res, H_COPY_SOURCE, &v)) < 0)
        return rc;
    if (rc == 0)
        return S3MAP_E_NOT_IMPLEMENTED; /* table says copy ops need it */
    char *sp = s3map__scratch_take(res, v.len);
    if (!sp)
        return S3MAP_E_TOO_BIG;
    rc = s3map_parse_copy_source(v, sp, v.len, &res->copy);
    if (rc) {
        res->detail = rc == S3MAP_E_NOT_IMPLEMENTED ? "access point copy sources"
                                                    : "malformed x-amz-copy-source";
        return rc;
    }
    res->flags |= S3MAP_F_COPY;
    struct s3w_slice src = s3w_slice(res->arn[1], make_arn(res->arn[1], S3MAP_ARN_MAX,
                                                           res->copy.bucket, res->copy.key,
                                                           true));
    if (src.len == 0)
        return S3MAP_E_TOO_BIG;
    /* Reading a specific version of the source needs s3:GetObjectVersion
     * (service authorization reference, CopyObject / UploadPartCopy). */
    return s3map__add_authz(res, res->copy.version_id.ptr ? "s3:GetObjectVersion"
                                                          : "s3:GetObject",
                            src);
}

/* Every action the request needs, in a fixed order: the table's, then
 * those its headers add. */
static int authorizations(const struct s3map_request *req, struct s3map_result *res)
{
    const struct s3map_qparam *ver = NULL;
    struct s3w_slice arn = S3W_SLICE_NULL;

    int rc = target_arn(req, res, &arn);
    rc = rc ? rc : version_id(res, &ver);
    rc = rc ? rc : table_actions(res, ver, arn);
    rc = rc ? rc : acl_actions(res, arn);
    rc = rc ? rc : tagging_action(res, arn);
    rc = rc ? rc : object_lock_actions(res, arn);
    rc = rc ? rc : ownership_action(res, arn);
    rc = rc ? rc : copy_source_action(res);
    return rc;
}

void s3map_result_wipe(struct s3map_result *res)
{
    size_t used = res->scratch_used;
    s3w_wipe(res->scratch, used < sizeof(res->scratch) ? used : sizeof(res->scratch));
    res->scratch_used = 0;
}

void s3map_result_init(struct s3map_result *res)
{
    res->scratch_used = 0;
}

/* An operation that takes x-amz-acl takes one of S3's canned ACLs, spelled
 * exactly (User Guide, "Canned ACL"); S3 refuses any other value. Checked
 * here because a policy condition on s3:x-amz-acl compares the value as
 * sent: "PUBLIC-READ" or "private, public-read" passed a Deny on
 * "public-read" (the sixth probe), and a store that took such a value
 * loosely would apply what the policy denied. */
static int check_canned_acl(struct s3map_result *res)
{
    static const char *const canned[] = { "private",           "public-read",
                                          "public-read-write", "authenticated-read",
                                          "aws-exec-read",     "bucket-owner-read",
                                          "bucket-owner-full-control", "log-delivery-write" };
    struct s3w_slice v;
    if (!res->op || !(res->op->wire & S3MAP_W_CANNED_ACL) || s3map__hdr_get(res, H_ACL, &v) != 1)
        return S3MAP_OK;
    for (size_t i = 0; i < sizeof canned / sizeof *canned; i++)
        if (s3w_slice_eq_cstr(v, canned[i]))
            return S3MAP_OK;
    res->detail = "x-amz-acl is not a canned ACL";
    res->invalid_value = v;
    return S3MAP_E_INVALID_ACL;
}

int s3map_map(const struct s3map_request *req, struct s3map_result *res)
{
    res->op = NULL;
    res->nauthz = 0;
    res->flags = 0;
    res->detail = NULL;
    res->unknown_param = S3W_SLICE_NULL;
    res->version_id = S3W_SLICE_NULL;
    res->copy = (struct s3map_copy_source){ S3W_SLICE_NULL, S3W_SLICE_NULL, S3W_SLICE_NULL };
    res->invalid_value = S3W_SLICE_NULL;
    res->invalid_name = S3W_SLICE_NULL;
    res->nq = 0;
    res->scratch_used = 0;
    res->hseen = res->hdup = 0;

    if (req->bucket.len > S3MAP_MAX_BUCKET_BYTES ||
        memchr(req->bucket.ptr ? req->bucket.ptr : "", '/', req->bucket.len)) {
        res->detail = "bucket name";
        return S3MAP_E_INVALID_BUCKET;
    }
    if (req->key.len > S3MAP_MAX_KEY_BYTES) {
        res->detail = "object key over 1024 bytes";
        return S3MAP_E_KEY_TOO_LONG;
    }
    if (req->query.len > S3MAP_MAX_QUERY_BYTES) {
        res->detail = "query string over the cap";
        return S3MAP_E_TOO_BIG;
    }
    char *qs = s3map__scratch_take(res, req->query.len);
    int rc = s3map_parse_query(req->query, qs, req->query.len, res->q, S3MAP_MAX_QUERY_PARAMS,
                               &res->nq);
    if (rc) {
        res->detail = rc == S3MAP_E_TOO_BIG ? "too many query parameters"
                                            : "malformed %-escape in the query";
        return rc;
    }
    if ((rc = identify(req, res)))
        return rc;
    rc = authorizations(req, res);
    if (rc && !res->detail)
        res->detail = rc == S3MAP_E_INVALID_ARGUMENT ? "header given more than once"
                                                     : "authorization list";
    return rc ? rc : check_canned_acl(res);
}

int s3map_delete_authz(const struct s3map_result *res, struct s3w_slice bucket,
                       const struct s3map_delete_object *obj, char *arn, size_t arn_cap,
                       struct s3map_authz out[2], size_t *n, struct policy_context *ctx)
{
    *n = 0;
    size_t len = make_arn(arn, arn_cap, bucket, obj->key, true);
    if (!len || obj->key.len == 0)
        return S3MAP_E_TOO_BIG;
    struct s3w_slice r = s3w_slice(arn, len);
    /* per key s3:DeleteObject, or s3:DeleteObjectVersion for a VersionId
     * (API reference, DeleteObjects "Permissions") */
    out[0].action = obj->version_id.ptr ? S3W_SLICE_LIT("s3:DeleteObjectVersion")
                                        : S3W_SLICE_LIT("s3:DeleteObject");
    out[0].resource = r;
    *n = 1;
    if (res->flags & S3MAP_F_BYPASS_GOVERNANCE) {
        out[1].action = S3W_SLICE_LIT("s3:BypassGovernanceRetention");
        out[1].resource = r;
        *n = 2;
    }
    if (ctx) {
        if (obj->version_id.ptr) {
            if (policy_context_set(ctx, S3W_SLICE_LIT("s3:versionid"), obj->version_id))
                return S3MAP_E_CONTEXT_FULL;
        } else {
            policy_context_unset(ctx, S3W_SLICE_LIT("s3:versionid"));
        }
    }
    return S3MAP_OK;
}

