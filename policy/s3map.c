/*
 * s3map.c - S3 request -> operation -> IAM authorizations + condition keys.
 * Contract in s3map.h. No allocation: all storage is in struct s3map_result
 * or caller buffers; every copy is bounded by a cap checked before it.
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
    case S3MAP_E_INVALID_ARGUMENT:
    case S3MAP_E_TOO_BIG: return "InvalidArgument";
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
    case S3MAP_E_INVALID_BUCKET: return 400;
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

/* ---- operation table --------------------------------------------------------- */

size_t s3map_op_count(void)
{
    return s3map_ops_count;
}

const struct s3map_op *s3map_op_at(size_t i)
{
    return i < s3map_ops_count ? &s3map_ops_table[i] : NULL;
}

const struct s3map_op *s3map_op_by_name(struct s3w_slice name)
{
    for (size_t i = 0; i < s3map_ops_count; i++)
        if (eqz(name, s3map_ops_table[i].name))
            return &s3map_ops_table[i];
    return NULL;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes in into out (room for in.len bytes is the caller's check).
 * plus_is_space: '+' means ' ' (query strings, as S3 reads them). */
static int pct_decode(struct s3w_slice in, char *out, bool plus_is_space, size_t *outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < in.len; i++) {
        char c = in.ptr[i];
        if (c == '%') {
            if (i + 2 >= in.len)
                return S3MAP_E_INVALID_ARGUMENT;
            int h = hexval(in.ptr[i + 1]), l = hexval(in.ptr[i + 2]);
            if (h < 0 || l < 0)
                return S3MAP_E_INVALID_ARGUMENT;
            out[o++] = (char)(h << 4 | l);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out[o++] = ' ';
        } else {
            out[o++] = c;
        }
    }
    *outlen = o;
    return S3MAP_OK;
}

static struct s3w_slice trim_ows(struct s3w_slice s)
{
    while (s.len && (s.ptr[0] == ' ' || s.ptr[0] == '\t')) {
        s.ptr++;
        s.len--;
    }
    while (s.len && (s.ptr[s.len - 1] == ' ' || s.ptr[s.len - 1] == '\t'))
        s.len--;
    return s;
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
        int rc = pct_decode(s3w_slice(part.ptr, eq), np, true, &nl);
        if (rc)
            return rc;
        used += nl;
        out[cnt].name = s3w_slice(np, nl);
        if (eq < part.len) {
            char *vp = scratch + used;
            rc = pct_decode(s3w_slice(part.ptr + eq + 1, part.len - eq - 1), vp, true, &vl);
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
};
_Static_assert(H__COUNT <= S3MAP_TRACKED_HEADERS, "res->hval too small");
_Static_assert(H__COUNT <= 32, "hseen/hdup are 32-bit masks");

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
        hdr_note(res, req->headers[i].name, trim_ows(req->headers[i].value));
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
    int rc = pct_decode(path, scratch, false, &dl);
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
        rc = pct_decode(ver, scratch + dl, false, &vl);
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
        if (in_list(n, s3map_known_query_names) || is_presign_name(n))
            continue;
        /* S3 may give meaning to a parameter we do not know (a new
         * subresource); authorizing it as something else would be a guess. */
        res->detail = "unknown query parameter";
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
        res->detail = "no S3 operation has this method, path and subresources";
        return S3MAP_E_NOT_IMPLEMENTED;
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

static int authorizations(const struct s3map_request *req, struct s3map_result *res)
{
    const struct s3map_op *op = res->op;
    struct s3w_slice arn;
    int rc;

    switch (op->resource_type) {
    case S3MAP_R_NONE:
        arn = S3W_SLICE_LIT("*");
        break;
    case S3MAP_R_BUCKET:
        arn = s3w_slice(res->arn[0], make_arn(res->arn[0], S3MAP_ARN_MAX, req->bucket,
                                              S3W_SLICE_NULL, false));
        break;
    default:
        arn = s3w_slice(res->arn[0], make_arn(res->arn[0], S3MAP_ARN_MAX, req->bucket,
                                              req->key, true));
        break;
    }
    if (arn.len == 0)
        return S3MAP_E_TOO_BIG; /* cannot happen within the caps; never authorize "" */

    const struct s3map_qparam *ver = s3map__q_get(res, "versionId");
    if (ver) {
        if (ver->value.len == 0) {
            /* S3 refuses it too; we will not guess between "no version"
             * and "the version named empty" */
            res->detail = "Version id cannot be the empty string";
            return S3MAP_E_INVALID_ARGUMENT;
        }
        res->flags |= S3MAP_F_VERSIONED;
        res->version_id = ver->value;
    }

    uint32_t x = op->extras;
    if (x & S3MAP_X_BODY_KEYS)
        res->flags |= S3MAP_F_BODY_KEYS;
    if (x & S3MAP_X_DELETE_BODY) {
        /* per key from the body: s3map_delete_authz() */
        res->flags |= S3MAP_F_DELETE_BODY;
    } else {
        /* ?versionId switches to the version actions (API reference, GetObject
         * "Permissions": with versionId you need s3:GetObjectVersion). */
        rc = add_actions(res, ver && op->version_actions ? op->version_actions : op->actions, arn);
        if (rc)
            return rc;
    }

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
    if (x & S3MAP_X_OBJECT_TAGGING) {
        if ((rc = hdr_present(res, H_TAGGING)) < 0)
            return rc;
        if (rc && op->copy_source > 0) {
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
    }
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
    if (x & S3MAP_X_OWNERSHIP) {
        if ((rc = hdr_present(res, H_OBJECT_OWNERSHIP)) < 0)
            return rc;
        if (rc && (rc = s3map__add_authz(res, "s3:PutBucketOwnershipControls", arn)))
            return rc;
    }
    if (x & S3MAP_X_COPY_SOURCE) {
        struct s3w_slice v;
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
        if ((rc = s3map__add_authz(res, res->copy.version_id.ptr ? "s3:GetObjectVersion"
                                                                 : "s3:GetObject",
                                   src)))
            return rc;
    }
    return S3MAP_OK;
}

int s3map_map(const struct s3map_request *req, struct s3map_result *res)
{
    res->op = NULL;
    res->nauthz = 0;
    res->flags = 0;
    res->detail = NULL;
    res->version_id = S3W_SLICE_NULL;
    res->copy = (struct s3map_copy_source){ S3W_SLICE_NULL, S3W_SLICE_NULL, S3W_SLICE_NULL };
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
    return rc;
}

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

/* Days from now until an ISO 8601 retain-until date ("2030-01-01T00:00:00Z",
 * optional fraction), rounded up; -1 when it does not parse. */
static bool parse_uint(const char *p, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return true;
}

static int64_t days_from_civil(int y, int m, int d)
{
    /* H. Hinnant's algorithm: days since 1970-01-01 of a proleptic
     * Gregorian date */
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static bool parse_iso8601_ms(struct s3w_slice s, int64_t *ms)
{
    int y, mo, d, h, mi, se;
    const char *p = s.ptr;
    if (s.len < 20 || p[4] != '-' || p[7] != '-' || p[10] != 'T' || p[13] != ':' ||
        p[16] != ':' || !parse_uint(p, 4, &y) || !parse_uint(p + 5, 2, &mo) ||
        !parse_uint(p + 8, 2, &d) || !parse_uint(p + 11, 2, &h) ||
        !parse_uint(p + 14, 2, &mi) || !parse_uint(p + 17, 2, &se))
        return false;
    size_t i = 19;
    if (p[i] == '.') {
        i++;
        while (i < s.len && p[i] >= '0' && p[i] <= '9')
            i++;
    }
    if (i + 1 != s.len || p[i] != 'Z')
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
        return false;
    *ms = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60000 + (int64_t)se * 1000;
    return true;
}

/* H. Hinnant's inverse: a day number since 1970-01-01 -> y, m, d */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static void put2(char *p, int v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
}

/* aws:CurrentTime, "2023-11-14T22:13:20Z" (whole seconds, UTC). Written by
 * hand: gmtime_r + strftime cost more than the rest of the mapping. */
static struct s3w_slice fmt_iso8601(struct s3map_result *res, int64_t ms)
{
    int64_t secs = ms >= 0 ? ms / 1000 : -((999 - ms) / 1000);
    int64_t days = secs >= 0 ? secs / 86400 : -((86399 - secs) / 86400);
    int64_t sod = secs - days * 86400, y;
    int mo, d;
    civil_from_days(days, &y, &mo, &d);
    if (y < 0 || y > 9999)
        return S3W_SLICE_NULL;
    char *p = s3map__scratch_take(res, 20);
    if (!p)
        return S3W_SLICE_NULL;
    put2(p, (int)(y / 100));
    put2(p + 2, (int)(y % 100));
    p[4] = '-';
    put2(p + 5, mo);
    p[7] = '-';
    put2(p + 8, d);
    p[10] = 'T';
    put2(p + 11, (int)(sod / 3600));
    p[13] = ':';
    put2(p + 14, (int)(sod / 60 % 60));
    p[16] = ':';
    put2(p + 17, (int)(sod % 60));
    p[19] = 'Z';
    return s3w_slice(p, 20);
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

/* s3:RequestObjectTag/<k> per tag and s3:RequestObjectTagKeys (the key set). */
int s3map__set_tag_keys(struct s3map_result *res, const struct s3map_qparam *tags, size_t n,
                        uint64_t bits, struct policy_context *ctx)
{
    static const char pfx[] = "s3:RequestObjectTag/";
    int rc = s3map__check_tags(res, tags, n, S3MAP_MAX_TAGS,
                               "Object tags cannot be greater than 10");
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        res->tag_keys[i] = tags[i].name;
        if (!(bits & S3MAP_K_REQUEST_OBJECT_TAG))
            continue;
        size_t kl = sizeof pfx - 1 + tags[i].name.len;
        char *kp = s3map__scratch_take(res, kl);
        if (!kp)
            return S3MAP_E_TOO_BIG;
        memcpy(kp, pfx, sizeof pfx - 1);
        memcpy(kp + sizeof pfx - 1, tags[i].name.ptr, tags[i].name.len);
        struct s3w_slice val = tags[i].value.ptr ? tags[i].value : S3W_SLICE_LIT("");
        if (policy_context_set(ctx, s3w_slice(kp, kl), val))
            return S3MAP_E_CONTEXT_FULL;
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
    if (!parse_iso8601_ms(date, &until))
        return S3MAP_E_INVALID_ARGUMENT;
    int64_t diff = until - now_ms, days = diff / 86400000;
    if (diff > 0 && diff % 86400000)
        days++;
    struct s3w_slice d = fmt_i64(res, days);
    if (!d.ptr)
        return S3MAP_E_TOO_BIG;
    return ctx_set(ctx, "s3:object-lock-remaining-retention-days", d);
}

int s3map_fill_context(struct s3map_result *res, const struct s3map_request *req,
                       const struct s3map_conn_facts *f, struct policy_context *ctx)
{
    int rc;
    uint64_t k = res->op ? res->op->keys : 0;
    struct s3w_slice v;
    /* the header values were classified by s3map_map(); they still point
     * into req, which is why the contract asks for the same request */
    (void)req;

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

    /* authentication facts (service authorization reference, S3 condition keys) */
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

    /* global keys (IAM user guide, "AWS global condition context keys") */
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
    {
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
    }
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

/* ---- DeleteObjects body -------------------------------------------------------- */

struct xp {
    const char *p, *end;
    char *out;      /* scratch write position */
    char *out_end;
};

static bool xp_lit(struct xp *x, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(x->end - x->p) < n || memcmp(x->p, lit, n) != 0)
        return false;
    x->p += n;
    return true;
}

static bool is_xml_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* whitespace and comments between elements */
static bool xp_skip(struct xp *x)
{
    for (;;) {
        while (x->p < x->end && is_xml_ws(*x->p))
            x->p++;
        if (!xp_lit(x, "<!--"))
            return true;
        for (;;) {
            if (x->end - x->p < 3)
                return false;
            if (x->p[0] == '-' && x->p[1] == '-') {
                if (x->p[2] != '>')
                    return false; /* "--" is not allowed inside a comment */
                x->p += 3;
                break;
            }
            x->p++;
        }
    }
}

static bool put_utf8(struct xp *x, uint32_t cp)
{
    char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | cp >> 6);
        b[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | cp >> 12);
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (char)(0xF0 | cp >> 18);
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    if ((size_t)(x->out_end - x->out) < n)
        return false;
    memcpy(x->out, b, n);
    x->out += n;
    return true;
}

/* XML 1.0 "Char": #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF] */
static bool xml_char_ok(uint32_t c)
{
    return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF) ||
           (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF);
}

static bool xp_entity(struct xp *x)
{
    static const struct { const char *name; char c; } named[] = {
        { "amp;", '&' }, { "lt;", '<' }, { "gt;", '>' }, { "quot;", '"' }, { "apos;", '\'' },
    };
    x->p++; /* '&' */
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
        if (xp_lit(x, named[i].name)) {
            if (x->out == x->out_end)
                return false;
            *x->out++ = named[i].c;
            return true;
        }
    if (!xp_lit(x, "#"))
        return false; /* undeclared entity */
    bool hex = xp_lit(x, "x");
    uint32_t cp = 0;
    size_t digits = 0;
    while (x->p < x->end && *x->p != ';') {
        int d = hex ? s3w_hex_digit((unsigned char)*x->p)
                    : (*x->p >= '0' && *x->p <= '9' ? *x->p - '0' : -1);
        if (d < 0 || ++digits > 8)
            return false;
        cp = cp * (hex ? 16u : 10u) + (uint32_t)d;
        x->p++;
    }
    if (x->p == x->end || digits == 0 || !xml_char_ok(cp))
        return false;
    x->p++; /* ';' */
    return put_utf8(x, cp);
}

/* Text content up to the next tag; entities and CDATA decoded into scratch. */
static bool xp_text(struct xp *x, struct s3w_slice *out)
{
    char *start = x->out;
    while (x->p < x->end) {
        char c = *x->p;
        if (c == '<') {
            if (!xp_lit(x, "<![CDATA["))
                break;
            for (;;) {
                if (x->end - x->p < 3)
                    return false;
                if (x->p[0] == ']' && x->p[1] == ']' && x->p[2] == '>') {
                    x->p += 3;
                    break;
                }
                if ((unsigned char)*x->p < 0x20 && !is_xml_ws(*x->p))
                    return false;
                if (x->out == x->out_end)
                    return false;
                *x->out++ = *x->p++;
            }
            continue;
        }
        if (c == '&') {
            if (!xp_entity(x))
                return false;
            continue;
        }
        if ((unsigned char)c < 0x20 && !is_xml_ws(c))
            return false;
        if (x->out == x->out_end)
            return false;
        *x->out++ = c;
        x->p++;
    }
    *out = s3w_slice(start, (size_t)(x->out - start));
    return true;
}

/* <Name>text</Name> or <Name/>, the opening "<Name" already matched. */
static bool xp_element_text(struct xp *x, const char *name, struct s3w_slice *out)
{
    if (xp_lit(x, "/>")) {
        *out = s3w_slice(x->out, 0);
        return true;
    }
    if (!xp_lit(x, ">") || !xp_text(x, out) || !xp_lit(x, "</") || !xp_lit(x, name))
        return false;
    while (x->p < x->end && is_xml_ws(*x->p))
        x->p++;
    return xp_lit(x, ">");
}

/* "<Name" followed by '>', '/' or whitespace (so <Keys> is not <Key>). */
static bool xp_open(struct xp *x, const char *name)
{
    const char *save = x->p;
    if (!xp_lit(x, "<") || !xp_lit(x, name) || x->p == x->end ||
        (*x->p != '>' && *x->p != '/')) {
        x->p = save;
        return false;
    }
    return true;
}

static bool xp_object(struct xp *x, struct s3map_delete_object *obj)
{
    bool have_key = false, have_ver = false, have_etag = false, have_mtime = false,
         have_size = false;
    struct s3w_slice ignored;
    *obj = (struct s3map_delete_object){ S3W_SLICE_NULL, S3W_SLICE_NULL };
    if (!xp_lit(x, ">"))
        return false;
    for (;;) {
        if (!xp_skip(x))
            return false;
        if (xp_lit(x, "</Object")) {
            while (x->p < x->end && is_xml_ws(*x->p))
                x->p++;
            if (!xp_lit(x, ">"))
                return false;
            break;
        }
        if (xp_open(x, "Key")) {
            if (have_key || !xp_element_text(x, "Key", &obj->key))
                return false;
            have_key = true;
        } else if (xp_open(x, "VersionId")) {
            if (have_ver || !xp_element_text(x, "VersionId", &obj->version_id))
                return false;
            have_ver = true;
        } else if (xp_open(x, "ETag")) {
            /* conditional delete fields: not authorization inputs */
            if (have_etag || !xp_element_text(x, "ETag", &ignored))
                return false;
            have_etag = true;
        } else if (xp_open(x, "LastModifiedTime")) {
            if (have_mtime || !xp_element_text(x, "LastModifiedTime", &ignored))
                return false;
            have_mtime = true;
        } else if (xp_open(x, "Size")) {
            if (have_size || !xp_element_text(x, "Size", &ignored))
                return false;
            have_size = true;
        } else {
            return false;
        }
    }
    if (!have_key || obj->key.len == 0 || obj->key.len > S3MAP_MAX_KEY_BYTES)
        return false;
    if (have_ver && obj->version_id.len == 0)
        return false;
    if (have_ver && !obj->version_id.ptr)
        obj->version_id = S3W_SLICE_LIT("");
    return true;
}

/* attributes of a root element: only namespace declarations */
static bool xp_ns_attrs(struct xp *x)
{
    for (;;) {
        bool ws = false;
        while (x->p < x->end && is_xml_ws(*x->p)) {
            x->p++;
            ws = true;
        }
        if (xp_lit(x, ">"))
            return true;
        if (!ws || !xp_lit(x, "xmlns"))
            return false;
        if (x->p < x->end && *x->p == ':') {
            x->p++;
            while (x->p < x->end && *x->p != '=' && !is_xml_ws(*x->p))
                x->p++;
        }
        while (x->p < x->end && is_xml_ws(*x->p))
            x->p++;
        if (!xp_lit(x, "="))
            return false;
        while (x->p < x->end && is_xml_ws(*x->p))
            x->p++;
        if (x->p == x->end || (*x->p != '"' && *x->p != '\''))
            return false;
        char q = *x->p++;
        while (x->p < x->end && *x->p != q && *x->p != '<')
            x->p++;
        if (x->p == x->end || *x->p != q)
            return false;
        x->p++;
    }
}

/* "</Name" ws* ">" */
static bool xp_close(struct xp *x, const char *name)
{
    const char *save = x->p;
    if (!xp_lit(x, "</") || !xp_lit(x, name)) {
        x->p = save;
        return false;
    }
    while (x->p < x->end && is_xml_ws(*x->p))
        x->p++;
    if (!xp_lit(x, ">")) {
        x->p = save;
        return false;
    }
    return true;
}

/* [BOM] [<?xml ...?>] ws/comments "<root" [namespace attributes] ">" */
static int xp_prolog_root(struct xp *x, const char *root)
{
    xp_lit(x, "\xEF\xBB\xBF"); /* UTF-8 byte order mark */
    if (xp_lit(x, "<?xml")) {
        while (x->end - x->p >= 2 && !(x->p[0] == '?' && x->p[1] == '>'))
            x->p++;
        if (!xp_lit(x, "?>"))
            return S3MAP_E_MALFORMED_XML;
    }
    if (!xp_skip(x) || !xp_lit(x, "<") || !xp_lit(x, root) || x->p == x->end ||
        !(is_xml_ws(*x->p) || *x->p == '>') || !xp_ns_attrs(x))
        return S3MAP_E_MALFORMED_XML;
    return S3MAP_OK;
}

static int parse_delete(struct xp *x, struct s3map_delete_list *out)
{
    bool have_quiet = false;
    if (xp_prolog_root(x, "Delete"))
        return S3MAP_E_MALFORMED_XML;
    for (;;) {
        if (!xp_skip(x))
            return S3MAP_E_MALFORMED_XML;
        if (xp_lit(x, "</Delete")) {
            while (x->p < x->end && is_xml_ws(*x->p))
                x->p++;
            if (!xp_lit(x, ">"))
                return S3MAP_E_MALFORMED_XML;
            break;
        }
        if (xp_open(x, "Object")) {
            if (out->n == S3MAP_DELETE_MAX_KEYS)
                return S3MAP_E_MALFORMED_XML; /* S3: at most 1000 keys */
            if (!xp_object(x, &out->objects[out->n]))
                return S3MAP_E_MALFORMED_XML;
            out->n++;
        } else if (xp_open(x, "Quiet")) {
            struct s3w_slice q;
            if (have_quiet || !xp_element_text(x, "Quiet", &q))
                return S3MAP_E_MALFORMED_XML;
            have_quiet = true;
            /* xsd:boolean */
            if (eqz(q, "true") || eqz(q, "1"))
                out->quiet = true;
            else if (!eqz(q, "false") && !eqz(q, "0"))
                return S3MAP_E_MALFORMED_XML;
        } else {
            return S3MAP_E_MALFORMED_XML;
        }
    }
    if (!xp_skip(x) || x->p != x->end || out->n == 0)
        return S3MAP_E_MALFORMED_XML;
    return S3MAP_OK;
}

int s3map_parse_delete(struct s3w_slice body, char *scratch, size_t scratch_cap,
                       struct s3map_delete_list *out)
{
    out->n = 0;
    out->quiet = false;
    if (body.len > S3MAP_DELETE_MAX_BODY || body.len == 0)
        return S3MAP_E_MALFORMED_XML;
    if (scratch_cap < body.len)
        return S3MAP_E_TOO_BIG;
    struct xp x = { body.ptr, body.ptr + body.len, scratch, scratch + body.len };
    int rc = parse_delete(&x, out);
    if (rc)
        out->n = 0; /* nothing half-parsed is ever authorized */
    return rc;
}

/* ---- PutObjectTagging body ------------------------------------------------------ */

/* <Tag><Key>k</Key><Value>v</Value></Tag>... up to and including </list>
 * (the list's opening tag already read, '>' included) into tags[0..cap). */
static int parse_tag_entries(struct xp *x, const char *list, struct s3map_qparam *tags,
                             size_t cap, size_t *n)
{
    *n = 0;
    for (;;) {
        if (!xp_skip(x))
            return S3MAP_E_MALFORMED_XML;
        if (xp_close(x, list))
            break;
        if (!xp_open(x, "Tag") || !xp_lit(x, ">"))
            return S3MAP_E_MALFORMED_XML;
        struct s3w_slice k = S3W_SLICE_NULL, v = S3W_SLICE_NULL;
        bool hk = false, hv = false;
        for (;;) {
            if (!xp_skip(x))
                return S3MAP_E_MALFORMED_XML;
            if (xp_close(x, "Tag"))
                break;
            if (xp_open(x, "Key")) {
                if (hk || !xp_element_text(x, "Key", &k))
                    return S3MAP_E_MALFORMED_XML;
                hk = true;
            } else if (xp_open(x, "Value")) {
                if (hv || !xp_element_text(x, "Value", &v))
                    return S3MAP_E_MALFORMED_XML;
                hv = true;
            } else {
                return S3MAP_E_MALFORMED_XML;
            }
        }
        if (!hk || !hv)
            return S3MAP_E_MALFORMED_XML;
        if (*n == cap)
            return S3MAP_E_INVALID_TAG; /* "Object tags cannot be greater than 10" */
        tags[*n].name = k;
        tags[*n].value = v.ptr ? v : S3W_SLICE_LIT("");
        (*n)++;
    }
    return S3MAP_OK;
}

static int parse_tagging(struct xp *x, struct s3map_tag_set *out)
{
    out->n = 0;
    if (xp_prolog_root(x, "Tagging") || !xp_skip(x) || !xp_open(x, "TagSet"))
        return S3MAP_E_MALFORMED_XML;
    bool empty = xp_lit(x, "/>"); /* an empty set removes every tag */
    if (!empty && !xp_lit(x, ">"))
        return S3MAP_E_MALFORMED_XML;
    int rc;
    if (!empty && (rc = parse_tag_entries(x, "TagSet", out->tags, S3MAP_MAX_TAGS, &out->n)))
        return rc;
    if (!xp_skip(x) || !xp_close(x, "Tagging") || !xp_skip(x) || x->p != x->end)
        return S3MAP_E_MALFORMED_XML;
    /* the tag rules proper (lengths, duplicates) */
    for (size_t i = 0; i < out->n; i++) {
        if (out->tags[i].name.len == 0 || s3map__utf8_chars(out->tags[i].name) > 128 ||
            s3map__utf8_chars(out->tags[i].value) > 256)
            return S3MAP_E_INVALID_TAG;
        for (size_t j = 0; j < i; j++)
            if (s3w_slice_eq(out->tags[j].name, out->tags[i].name))
                return S3MAP_E_INVALID_TAG;
    }
    return S3MAP_OK;
}

int s3map_parse_tagging(struct s3w_slice body, char *scratch, size_t scratch_cap,
                        struct s3map_tag_set *out)
{
    out->n = 0;
    if (body.len > S3MAP_TAGGING_MAX_BODY || body.len == 0)
        return S3MAP_E_MALFORMED_XML;
    if (scratch_cap < body.len)
        return S3MAP_E_TOO_BIG;
    struct xp x = { body.ptr, body.ptr + body.len, scratch, scratch + body.len };
    int rc = parse_tagging(&x, out);
    if (rc)
        out->n = 0;
    return rc;
}

/* ---- other bodies with condition keys --------------------------------------------- */

/* Skips one element whose "<" is at x->p: <name attrs/> or <name attrs>
 * content </name>, nested up to depth. Its text goes to scratch and is
 * dropped (scratch is sized for the whole body, so it always fits). */
static bool xp_skip_element(struct xp *x, int depth)
{
    if (depth == 0 || !xp_lit(x, "<"))
        return false;
    const char *name = x->p;
    while (x->p < x->end && !is_xml_ws(*x->p) && *x->p != '>' && *x->p != '/' && *x->p != '<')
        x->p++;
    size_t nlen = (size_t)(x->p - name);
    if (nlen == 0 || *name == '!' || *name == '?')
        return false;
    while (x->p < x->end && *x->p != '>' && *x->p != '<')
        x->p++; /* attributes: not needed (no '<' or '>' allowed unescaped in them) */
    if (x->p == x->end || *x->p == '<')
        return false;
    if (x->p[-1] == '/') { /* <name/> */
        x->p++;
        return true;
    }
    x->p++;
    for (;;) {
        struct s3w_slice t;
        char *mark = x->out;
        if (!xp_text(x, &t))
            return false;
        x->out = mark;
        if (x->end - x->p >= 2 && x->p[0] == '<' && x->p[1] == '/') {
            x->p += 2;
            if ((size_t)(x->end - x->p) < nlen || memcmp(x->p, name, nlen) != 0)
                return false;
            x->p += nlen;
            while (x->p < x->end && is_xml_ws(*x->p))
                x->p++;
            return xp_lit(x, ">");
        }
        if (xp_lit(x, "<!--")) { /* a comment inside content */
            x->p -= 4;
            if (!xp_skip(x))
                return false;
            continue;
        }
        if (x->p == x->end || !xp_skip_element(x, depth - 1))
            return false;
    }
}

/* <Root> children </Root>: each child named in names[] is read as text into
 * vals[] (once), unknown ones are skipped when skip_unknown, else refused. */
static int xp_flat_doc(struct xp *x, const char *root, const char *const *names,
                       struct s3w_slice *vals, size_t nnames, bool skip_unknown)
{
    if (xp_prolog_root(x, root))
        return S3MAP_E_MALFORMED_XML;
    for (size_t i = 0; i < nnames; i++)
        vals[i] = S3W_SLICE_NULL;
    for (;;) {
        if (!xp_skip(x))
            return S3MAP_E_MALFORMED_XML;
        if (xp_close(x, root))
            break;
        size_t i = 0;
        for (; i < nnames; i++)
            if (xp_open(x, names[i]))
                break;
        if (i < nnames) {
            if (vals[i].ptr || !xp_element_text(x, names[i], &vals[i]))
                return S3MAP_E_MALFORMED_XML;
            if (!vals[i].ptr)
                vals[i] = S3W_SLICE_LIT("");
            continue;
        }
        if (!skip_unknown || !xp_skip_element(x, 8))
            return S3MAP_E_MALFORMED_XML;
    }
    if (!xp_skip(x) || x->p != x->end)
        return S3MAP_E_MALFORMED_XML;
    return S3MAP_OK;
}

/*
 * CreateBucket: <CreateBucketConfiguration> with LocationConstraint and Tags
 * (Location and Bucket are for directory buckets: skipped). The service
 * authorization reference lists aws:RequestTag/${TagKey} and aws:TagKeys for
 * s3:CreateBucket; "included in the request context when tags are passed in
 * the request" [KEYS aws:RequestTag]. Left absent, a Deny on a forbidden tag
 * never fired and a ForAllValues allow-list of tag keys held vacuously.
 * Bucket tags: at most 50, key 1..128 and value 0..256 characters, keys
 * unique (S3 User Guide, bucket tagging); equal ignoring case is refused too,
 * as for object tags (condition key names are case-insensitive).
 */
static int create_bucket_keys(struct s3map_result *res, struct xp *x, uint64_t k,
                              struct policy_context *ctx)
{
    static const char pfx[] = "aws:RequestTag/";
    struct s3map_qparam tags[S3MAP_MAX_BUCKET_TAGS];
    size_t n = 0;
    struct s3w_slice loc = S3W_SLICE_NULL;
    bool have_tags = false;
    int rc;
    if (xp_prolog_root(x, "CreateBucketConfiguration"))
        return S3MAP_E_MALFORMED_XML;
    for (;;) {
        if (!xp_skip(x))
            return S3MAP_E_MALFORMED_XML;
        if (xp_close(x, "CreateBucketConfiguration"))
            break;
        if (xp_open(x, "LocationConstraint")) {
            if (loc.ptr || !xp_element_text(x, "LocationConstraint", &loc))
                return S3MAP_E_MALFORMED_XML;
            if (!loc.ptr)
                loc = S3W_SLICE_LIT("");
        } else if (xp_open(x, "Tags")) {
            if (have_tags)
                return S3MAP_E_MALFORMED_XML;
            have_tags = true;
            if (xp_lit(x, "/>"))
                continue;
            if (!xp_lit(x, ">"))
                return S3MAP_E_MALFORMED_XML;
            if ((rc = parse_tag_entries(x, "Tags", tags, S3MAP_MAX_BUCKET_TAGS, &n))) {
                if (rc == S3MAP_E_INVALID_TAG)
                    res->detail = "Bucket tags cannot be greater than 50";
                return rc;
            }
        } else if (!xp_skip_element(x, 8)) {
            return S3MAP_E_MALFORMED_XML;
        }
    }
    if (!xp_skip(x) || x->p != x->end)
        return S3MAP_E_MALFORMED_XML;
    if (loc.ptr && (k & S3MAP_K_LOCATION_CONSTRAINT) &&
        (rc = ctx_set(ctx, "s3:locationconstraint", loc)))
        return rc;
    if ((rc = s3map__check_tags(res, tags, n, S3MAP_MAX_BUCKET_TAGS,
                         "Bucket tags cannot be greater than 50")))
        return rc;
    for (size_t i = 0; i < n; i++) {
        res->bucket_tag_keys[i] = tags[i].name;
        size_t kl = sizeof pfx - 1 + tags[i].name.len;
        char *kp = s3map__scratch_take(res, kl);
        if (!kp)
            return S3MAP_E_TOO_BIG;
        memcpy(kp, pfx, sizeof pfx - 1);
        memcpy(kp + sizeof pfx - 1, tags[i].name.ptr, tags[i].name.len);
        if (policy_context_set(ctx, s3w_slice(kp, kl), tags[i].value))
            return S3MAP_E_CONTEXT_FULL;
    }
    /* aws:TagKeys only when tags were passed: "included ... when tags are
     * passed in the request"; <Tags/> passes an empty set */
    if (have_tags &&
        policy_context_set_multi(ctx, S3W_SLICE_LIT("aws:TagKeys"), res->bucket_tag_keys, n))
        return S3MAP_E_CONTEXT_FULL;
    /* "You must have the s3:TagResource permission to create a general
     * purpose bucket with tags" (API reference, CreateBucketConfiguration
     * Tags): a second authorization on the bucket, as x-amz-acl adds
     * s3:PutBucketAcl */
    if (n > 0) {
        if (res->nauthz == 0)
            return S3MAP_E_INVALID_ARGUMENT; /* not mapped: decide nothing */
        if ((rc = s3map__add_authz(res, "s3:TagResource", res->authz[0].resource)))
            return rc;
    }
    return S3MAP_OK;
}

static int body_keys(struct s3map_result *res, struct xp *x, int64_t now_ms,
                     struct policy_context *ctx)
{
    const char *a = res->op->actions[0];
    uint64_t k = res->op->keys;
    int rc;
    if (!strcmp(a, "s3:PutObjectTagging")) {
        struct s3map_tag_set tags;
        tags.n = 0;
        if ((rc = parse_tagging(x, &tags)))
            return rc;
        return s3map__set_tag_keys(res, tags.tags, tags.n, k, ctx);
    }
    if (!strcmp(a, "s3:PutObjectRetention")) {
        static const char *const names[] = { "Mode", "RetainUntilDate" };
        struct s3w_slice v[2];
        if ((rc = xp_flat_doc(x, "Retention", names, v, 2, false)))
            return rc;
        if (v[0].ptr && (k & S3MAP_K_LOCK_MODE) && (rc = ctx_set(ctx, "s3:object-lock-mode", v[0])))
            return rc;
        if (v[1].ptr && (k & S3MAP_K_LOCK_RETAIN_UNTIL) &&
            (rc = ctx_set(ctx, "s3:object-lock-retain-until-date", v[1])))
            return rc;
        if (v[1].ptr && (k & S3MAP_K_LOCK_REMAINING_DAYS) &&
            (rc = s3map__retention_days(res, v[1], now_ms, ctx)))
            return rc == S3MAP_E_INVALID_ARGUMENT ? S3MAP_E_MALFORMED_XML : rc;
        return S3MAP_OK;
    }
    if (!strcmp(a, "s3:PutObjectLegalHold")) {
        static const char *const names[] = { "Status" };
        struct s3w_slice v[1];
        if ((rc = xp_flat_doc(x, "LegalHold", names, v, 1, false)))
            return rc;
        if (v[0].ptr && (k & S3MAP_K_LOCK_LEGAL_HOLD) &&
            (rc = ctx_set(ctx, "s3:object-lock-legal-hold", v[0])))
            return rc;
        return S3MAP_OK;
    }
    if (!strcmp(a, "s3:CreateBucket"))
        return create_bucket_keys(res, x, k, ctx);
    return S3MAP_OK;
}

int s3map_body_context(struct s3map_result *res, struct s3w_slice body, char *scratch,
                       size_t scratch_cap, int64_t now_ms, struct policy_context *ctx)
{
    if (!res->op || !(res->flags & S3MAP_F_BODY_KEYS))
        return S3MAP_OK;
    if (body.len > S3MAP_BODY_KEYS_MAX || scratch_cap < body.len)
        return S3MAP_E_TOO_BIG;
    if (body.len == 0) {
        /* CreateBucket in us-east-1 has no body; the others need one */
        return strcmp(res->op->actions[0], "s3:CreateBucket") ? S3MAP_E_MALFORMED_XML
                                                               : S3MAP_OK;
    }
    struct xp x = { body.ptr, body.ptr + body.len, scratch, scratch + body.len };
    int rc = body_keys(res, &x, now_ms, ctx);
    if (rc == S3MAP_E_INVALID_TAG && !res->detail)
        res->detail = "invalid TagSet";
    return rc;
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

/* ---- validator support ----------------------------------------------------------- */

bool s3map_is_known_condition_key(struct s3w_slice key)
{
    for (const char *const *k = s3map_condition_keys; *k; k++)
        if (s3w_slice_eq_nocase(key, s3w_slice_cstr(*k)))
            return true;
    for (const char *const *f = s3map_condition_key_families; *f; f++) {
        struct s3w_slice pf = s3w_slice_cstr(*f);
        if (key.len > pf.len && s3w_slice_eq_nocase(s3w_slice(key.ptr, pf.len), pf))
            return true;
    }
    return false;
}

/* Keys of s3map_condition_keys[] that s3map fills (see fill_context and
 * body_keys); every other listed key is classified below. A test checks that
 * no generated key is left UNKNOWN. */
static const char *const filled_keys[] = {
    "s3:prefix", "s3:delimiter", "s3:max-keys", "s3:x-amz-acl", "s3:x-amz-grant-read",
    "s3:x-amz-grant-write", "s3:x-amz-grant-read-acp", "s3:x-amz-grant-write-acp",
    "s3:x-amz-grant-full-control", "s3:x-amz-copy-source", "s3:x-amz-server-side-encryption",
    "s3:x-amz-server-side-encryption-aws-kms-key-id",
    "s3:x-amz-server-side-encryption-customer-algorithm", "s3:x-amz-storage-class",
    "s3:x-amz-metadata-directive", "s3:x-amz-website-redirect-location",
    "s3:x-amz-object-ownership", "s3:versionid", "s3:RequestObjectTagKeys",
    "s3:x-amz-content-sha256", "s3:authType", "s3:signatureversion", "s3:signatureAge",
    "s3:TlsVersion", "s3:ResourceAccount", "s3:object-lock-mode",
    "s3:object-lock-retain-until-date", "s3:object-lock-legal-hold",
    "s3:object-lock-remaining-retention-days", "s3:if-match", "s3:if-none-match",
    "s3:locationconstraint", NULL,
};

static const char *const not_applicable_keys[] = {
    "s3:AccessGrantsInstanceArn", "s3:AccessPointNetworkOrigin", "s3:DataAccessPointAccount",
    "s3:DataAccessPointArn", NULL,
};

static bool in_list_nocase(struct s3w_slice key, const char *const *list)
{
    for (; *list; list++)
        if (s3w_slice_eq_nocase(key, s3w_slice_cstr(*list)))
            return true;
    return false;
}

enum s3map_key_support s3map_condition_key_support(struct s3w_slice key)
{
    if (!s3map_is_known_condition_key(key))
        return S3MAP_KEY_UNKNOWN;
    if (in_list_nocase(key, filled_keys))
        return S3MAP_KEY_FILLED;
    if (in_list_nocase(key, not_applicable_keys))
        return S3MAP_KEY_NOT_APPLICABLE;
    static const struct s3w_slice req_tag = S3W_SLICE_LIT("s3:RequestObjectTag/");
    static const struct s3w_slice ap_tag = S3W_SLICE_LIT("s3:AccessPointTag/");
    if (key.len > req_tag.len && s3w_slice_eq_nocase(s3w_slice(key.ptr, req_tag.len), req_tag))
        return S3MAP_KEY_FILLED;
    if (key.len > ap_tag.len && s3w_slice_eq_nocase(s3w_slice(key.ptr, ap_tag.len), ap_tag))
        return S3MAP_KEY_NOT_APPLICABLE;
    /* s3:ExistingObjectTag/<k> (needs the stored object's tags), event holds,
     * s3:ObjectCreationOperation, s3:InventoryAccessibleOptionalFields (a
     * body field), s3:isReplicationPauseRequest, s3:x-amz-bucket-namespace,
     * s3:x-amz-object-annotation-directive */
    return S3MAP_KEY_NOT_EVALUATED;
}
