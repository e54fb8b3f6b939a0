/*
 * post_object.c - POST Object through s3warden (post_object.h).
 *
 * S3 API Reference, "POST Object" and "Authenticating Requests:
 * Browser-Based Uploads Using POST (AWS Signature Version 4)": the form's
 * `policy` field (base64) is the string to sign; x-amz-signature is its
 * HMAC-SHA256 under the signing key of the secret x-amz-credential names
 * (and of x-amz-security-token's session), for that credential's date and
 * region and service s3. The policy then has to allow every field of the
 * form (postpolicy.h). Without a policy the upload is anonymous, and only
 * a bucket policy that lets anyone put objects allows it - as on S3.
 *
 * The order keeps the security invariants: nothing goes upstream before
 * the signature, the policy and the authorization allowed the upload; the
 * file streams through a bounded queue (it is never held whole); its last
 * byte is held back (relay.c) until the form ended exactly as its
 * Content-Length declared (multipart.h), so a body with another part after
 * the file, or cut short, never completes the object upstream.
 */
#include "post_object.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "civil.h"
#include "codec.h"
#include "exchange.h"
#include "multipart.h"
#include "postpolicy.h"
#include "s3err.h"
#include "s3ops.h"
#include "xml.h"

#define POST_MAX_POLICY (32 * 1024) /* decoded; S3's form fields before the file are 20 KB */
#define POST_RESP_MAX (64 * 1024)

struct px_post {
    struct px *px;
    struct mp_form form;
    struct pp_field fields[MP_MAX_FIELDS];
    struct s3w_header hdrs[MP_MAX_FIELDS + 1];
    size_t nhdrs;
    struct http_request upreq;
    struct s3map_op op;       /* PutObject's entry, named PostObject (audit) */
    /* set by the file part's head (on_file_start), acted on once the
     * reader returns: the exchange is never finished inside the reader */
    bool ready;               /* the form is allowed so far: authorize, start */
    bool started;             /* the upstream PutObject is under way */
    int err_status;
    const char *err_code;
    char err_msg[1024];
    int success_status;       /* 200, 201 or 204 */
    struct s3w_slice redirect;
    struct s3w_slice region;  /* the credential's (aws:RequestedRegion) */
    int64_t signed_at;        /* x-amz-date, unix seconds; -1: anonymous */
    char *subst;              /* field values with ${filename} put in (POST_SUBST_MAX) */
};

/* The most bytes of field values after ${filename} is put in. */
#define POST_SUBST_MAX (64 * 1024)

void px_post_free(struct px_post *po)
{
    if (!po)
        return;
    free(po->subst);
    free(po);
}

static int post_err(struct px_post *po, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int post_err(struct px_post *po, int status, const char *code, const char *fmt, ...)
{
    po->err_status = status;
    po->err_code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(po->err_msg, sizeof po->err_msg, fmt, ap);
    va_end(ap);
    return -1;
}

static const char MALFORMED[] = "The body of your POST request is not well-formed multipart/form-data.";

/* The reader's error as S3 answers it. */
static void mp_status_err(struct px_post *po, int st)
{
    switch (st) {
    case MP_E_TOO_LARGE:
        post_err(po, 400, "MaxPostPreDataLengthExceeded",
                 "Your POST request fields preceding the upload file were too large.");
        break;
    case MP_E_NO_FILE:
        post_err(po, 400, "InvalidArgument", "POST requires exactly one file upload per request.");
        break;
    case MP_E_TWO_FIELDS:
        post_err(po, 400, "InvalidArgument", "POST form fields may appear only once.");
        break;
    case MP_E_TOO_MANY:
        post_err(po, 400, "InvalidArgument", "Too many POST form fields.");
        break;
    case MP_E_AFTER_FILE:
        /* S3 wants the file last; s3warden needs it last to know its
         * length (multipart.h) */
        post_err(po, 400, "MalformedPOSTRequest",
                 "The body of your POST request is not well-formed multipart/form-data: the file "
                 "must be the last field of the form.");
        break;
    default:
        post_err(po, 400, "MalformedPOSTRequest", "%s", MALFORMED);
        break;
    }
}

static struct s3w_slice field(const struct mp_form *f, const char *name)
{
    const struct mp_field *x = mp_field(f, name);
    return x ? x->value : S3W_SLICE_NULL;
}

/* A header name: an RFC 9110 5.6.2 token (a field name with ':' or a blank
 * in it would split into another header upstream). */
static bool header_name_ok(struct s3w_slice n)
{
    static const char extra[] = "!#$%&'*+-.^_`|~";
    if (!n.len)
        return false;
    for (size_t i = 0; i < n.len; i++) {
        unsigned char c = (unsigned char)n.ptr[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c && strchr(extra, c))))
            return false;
    }
    return true;
}

static bool name_is(struct s3w_slice n, const char *s)
{
    return s3w_slice_eq_nocase(n, s3w_slice_cstr(s));
}

static bool name_prefix(struct s3w_slice n, const char *p)
{
    size_t l = strlen(p);
    return n.len >= l && s3w_slice_eq_nocase(s3w_slice(n.ptr, l), s3w_slice(p, l));
}

/* The form fields that become headers of the PutObject (POST Object,
 * "Request Parameters"): the object's standard headers, acl as x-amz-acl,
 * and the x-amz-* fields but those of the signature. Fields S3 reads that
 * s3warden cannot carry into a PUT as they are refuse the upload rather
 * than drop what a policy may have demanded. */
static int build_headers(struct px_post *po)
{
    static const char *const standard[] = { "Content-Type", "Cache-Control", "Content-Disposition",
                                            "Content-Encoding", "Expires" };
    const struct mp_form *f = &po->form;
    for (size_t i = 0; i < f->nfields; i++) {
        struct s3w_slice n = f->fields[i].name, v = f->fields[i].value;
        struct s3w_slice hn = S3W_SLICE_NULL;
        for (size_t k = 0; k < sizeof standard / sizeof standard[0]; k++)
            if (name_is(n, standard[k]))
                hn = s3w_slice_cstr(standard[k]);
        if (name_is(n, "acl"))
            hn = S3W_SLICE_LIT("x-amz-acl");
        else if (name_is(n, "tagging") || name_prefix(n, "x-amz-checksum-") ||
                 name_prefix(n, "x-amz-copy-source") || name_is(n, "Content-MD5") ||
                 /* framing of an aws-chunked body: this PUT's body is plain */
                 name_is(n, "x-amz-decoded-content-length") || name_is(n, "x-amz-trailer") ||
                 name_is(n, "x-amz-sdk-checksum-algorithm") || name_is(n, "x-amz-content-sha256"))
            return post_err(po, 501, "NotImplemented",
                            "s3warden does not support the POST field %.*s.", (int)n.len, n.ptr);
        else if (name_prefix(n, "x-amz-") && !name_is(n, "x-amz-algorithm") &&
                 !name_is(n, "x-amz-credential") && !name_is(n, "x-amz-date") &&
                 !name_is(n, "x-amz-signature") && !name_is(n, "x-amz-security-token"))
            hn = n;
        if (!hn.ptr)
            continue;
        if (!s3w_header_value_ok(v) || !header_name_ok(n))
            return post_err(po, 400, "InvalidArgument", "The value of the POST field %.*s is not "
                            "a valid header value.", (int)(n.len > 100 ? 100 : n.len), n.ptr);
        po->hdrs[po->nhdrs++] = (struct s3w_header){ hn, v };
    }
    return 0;
}

static const char FILENAME_VAR[] = "${filename}";

/* The file's name as ${filename} stands for it: the text after the last
 * '/' or '\\' of what the client sent ("C:\\Program Files\\dir\\file.txt"
 * is file.txt), empty without one (S3 API Reference, HTML form fields,
 * "key"). A browser sends the bare name; a path was kept whole, and its
 * "../" went into the key. */
static struct s3w_slice file_name(const struct px_post *po)
{
    struct s3w_slice fn = po->form.filename.ptr ? po->form.filename : S3W_SLICE_LIT("");
    for (size_t i = fn.len; i > 0; i--)
        if (fn.ptr[i - 1] == '/' || fn.ptr[i - 1] == '\\')
            return s3w_slice(fn.ptr + i, fn.len - i);
    return fn;
}

static bool has_filename_var(struct s3w_slice v)
{
    return v.len >= sizeof(FILENAME_VAR) - 1 && memmem(v.ptr, v.len, FILENAME_VAR, sizeof(FILENAME_VAR) - 1);
}

/* ${filename} put in every field's value but the signature's own fields,
 * as S3 does ("recognized by all form fields"): the policy is checked
 * against, and the upload made of, the values with the name in (for key
 * as for x-amz-meta-* or success_action_redirect). Before this, only key
 * had it, so a form meant to record the name stored "${filename}". 0 or
 * post_err. */
static int put_filename(struct px_post *po)
{
    static const char *const verbatim[] = { "policy", "x-amz-signature", "x-amz-credential",
                                            "x-amz-algorithm", "x-amz-date",
                                            "x-amz-security-token" };
    struct mp_form *f = &po->form;
    struct s3w_slice fn = file_name(po);
    size_t used = 0;
    for (size_t i = 0; i < f->nfields; i++) {
        struct s3w_slice v = f->fields[i].value;
        if (!has_filename_var(v))
            continue;
        bool skip = false;
        for (size_t k = 0; k < sizeof(verbatim) / sizeof(*verbatim) && !skip; k++)
            skip = s3w_slice_eq_nocase(f->fields[i].name, s3w_slice_cstr(verbatim[k]));
        if (skip)
            continue;
        if (!po->subst && !(po->subst = malloc(POST_SUBST_MAX)))
            return post_err(po, 500, "InternalError", "%s", s3err_default_message("InternalError"));
        char *out = po->subst + used;
        size_t o = 0;
        for (size_t j = 0; j < v.len;) {
            bool is_var = v.len - j >= sizeof(FILENAME_VAR) - 1 &&
                          memcmp(v.ptr + j, FILENAME_VAR, sizeof(FILENAME_VAR) - 1) == 0;
            struct s3w_slice part = is_var ? fn : s3w_slice(v.ptr + j, 1);
            if (used + o + part.len > POST_SUBST_MAX)
                return post_err(po, 400, "MaxPostPreDataLengthExceeded",
                                "Your POST request fields preceding the upload file were too large.");
            memcpy(out + o, part.ptr, part.len);
            o += part.len;
            j += is_var ? sizeof(FILENAME_VAR) - 1 : 1;
        }
        f->fields[i].value = s3w_slice(out, o);
        used += o;
    }
    return 0;
}

/* The key (${filename} already put in: put_filename) into route.key. */
static int resolve_key(struct px_post *po, struct s3w_slice key)
{
    struct px *px = po->px;
    if (key.len > S3MAP_MAX_KEY_BYTES)
        return post_err(po, 400, "KeyTooLongError", "Your key is too long");
    if (key.len == 0)
        return post_err(po, 400, "InvalidArgument", "User key must have a length greater than 0.");
    memcpy(px->route.key, key.ptr, key.len);
    px->route.key_len = key.len;
    return 0;
}

/* "YYYYMMDDTHHMMSSZ" -> unix seconds, or -1. */
static int64_t amz_date(struct s3w_slice d)
{
    if (d.len != 16 || d.ptr[8] != 'T' || d.ptr[15] != 'Z')
        return -1;
    char iso[21];
    snprintf(iso, sizeof iso, "%.4s-%.2s-%.2sT%.2s:%.2s:%.2sZ", d.ptr, d.ptr + 4, d.ptr + 6,
             d.ptr + 9, d.ptr + 11, d.ptr + 13);
    int64_t t;
    return s3w_iso8601_parse(s3w_slice_cstr(iso), &t) ? t : -1;
}

/* The policy's signature, its signer, and its document; 0 or post_err. */
static int verify_policy(struct px_post *po, struct s3w_slice policy)
{
    struct px *px = po->px;
    const struct mp_form *f = &po->form;
    struct s3w_slice alg = field(f, "x-amz-algorithm"), cred = field(f, "x-amz-credential");
    struct s3w_slice date = field(f, "x-amz-date"), sig = field(f, "x-amz-signature");
    struct s3w_slice token = field(f, "x-amz-security-token");
    if (!alg.ptr && (mp_field(f, "AWSAccessKeyId") || mp_field(f, "signature")))
        return post_err(po, 400, "InvalidArgument", "s3warden takes POST policies signed with "
                        "AWS Signature Version 4 (x-amz-algorithm AWS4-HMAC-SHA256) only.");
    if (!alg.ptr || !cred.ptr || !date.ptr || !sig.ptr)
        return post_err(po, 400, "InvalidArgument", "Bucket POST must contain the fields "
                        "x-amz-algorithm, x-amz-credential, x-amz-date and x-amz-signature.");
    if (!s3w_slice_eq_cstr(alg, "AWS4-HMAC-SHA256"))
        return post_err(po, 400, "InvalidArgument", "Unsupported x-amz-algorithm: only "
                        "AWS4-HMAC-SHA256 is supported.");
    /* AKID/YYYYMMDD/region/s3/aws4_request */
    struct s3w_slice part[5];
    size_t np = 0, s = 0;
    for (size_t i = 0; i <= cred.len && np < 5; i++)
        if (i == cred.len || cred.ptr[i] == '/') {
            part[np++] = s3w_slice(cred.ptr + s, i - s);
            s = i + 1;
        }
    if (np != 5 || s != cred.len + 1 || !part[0].len || part[1].len != 8 ||
        !s3w_slice_eq_cstr(part[3], "s3") || !s3w_slice_eq_cstr(part[4], "aws4_request"))
        return post_err(po, 400, "AuthorizationQueryParametersError",
                        "Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; "
                        "expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".");
    if (!s3w_slice_eq_cstr(part[2], px->cfg->upstream->region))
        return post_err(po, 400, "AuthorizationQueryParametersError",
                        "Error parsing the X-Amz-Credential parameter; the region '%.*s' is wrong; "
                        "expecting '%s'", (int)(part[2].len > 64 ? 64 : part[2].len), part[2].ptr,
                        px->cfg->upstream->region);
    po->signed_at = amz_date(date);
    if (po->signed_at < 0 || memcmp(date.ptr, part[1].ptr, 8) != 0)
        return post_err(po, 400, "AuthorizationQueryParametersError",
                        "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\" "
                        "and on the credential's date.");
    po->region = part[2];
    uint8_t secret[SIGV4_MAX_SECRET];
    size_t slen = 0;
    if (px->auth.id_set)
        config_identity_cleanup(&px->auth.id);
    px->auth.id_set = false;
    int rc = config_resolve(px->cfg, part[0], token, px->now, &px->auth.id, secret, sizeof secret,
                            &slen);
    if (rc != CONFIG_AUTH_OK) {
        s3w_wipe(secret, sizeof secret);
        px->auth.sig_failed = true;
        if (rc == CONFIG_AUTH_INVALID_TOKEN)
            return post_err(po, 400, "InvalidToken", "The provided token is malformed or otherwise invalid.");
        if (rc == CONFIG_AUTH_EXPIRED_TOKEN)
            return post_err(po, 400, "ExpiredToken", "The provided token has expired.");
        if (rc == CONFIG_AUTH_UNKNOWN_KEY || rc == CONFIG_AUTH_MISSING_TOKEN)
            return post_err(po, 403, "InvalidAccessKeyId",
                            "The AWS Access Key Id you provided does not exist in our records.");
        return post_err(po, 500, "InternalError", "%s", s3err_default_message("InternalError"));
    }
    px->auth.id_set = true;
    uint8_t key[32], mac[32];
    sigv4_signing_key(s3w_slice((const char *)secret, slen), part[1], part[2], S3W_SLICE_LIT("s3"), key);
    s3w_wipe(secret, sizeof secret);
    sigv4_signature(key, policy, mac);
    s3w_wipe(key, sizeof key);
    char hex[65];
    s3w_hex_encode(mac, 32, hex);
    if (!s3w_ct_equal(hex, 64, sig.ptr, sig.len)) {
        px->auth.sig_failed = true;
        return post_err(po, 403, "SignatureDoesNotMatch",
                        "The request signature we calculated does not match the signature you "
                        "provided. Check your key and signing method.");
    }
    /* a date ahead of the clock, as for a presigned URL (sigv4/verify.c):
     * taken, s3:signatureAge would be negative and left out of the
     * context, and a policy's limit on it never applied (probe 31: a form
     * dated two years ahead, valid until any expiration its signer chose) */
    if (po->signed_at > px->now + SIGV4_MAX_SKEW_S)
        return post_err(po, 403, "AccessDenied", "Request is not yet valid");
    return 0;
}

static int check_policy(struct px_post *po, struct s3w_slice policy)
{
    struct px *px = po->px;
    uint8_t *doc = malloc(POST_MAX_POLICY);
    if (!doc)
        return post_err(po, 500, "InternalError", "%s", s3err_default_message("InternalError"));
    long n = policy.len > (POST_MAX_POLICY / 3) * 4 ? -1 : s3w_b64_decode(policy, doc, POST_MAX_POLICY, 0);
    if (n < 0) {
        free(doc);
        return post_err(po, 400, "InvalidPolicyDocument", "Invalid Policy: Invalid JSON.");
    }
    const struct mp_form *f = &po->form;
    for (size_t i = 0; i < f->nfields; i++)
        po->fields[i] = (struct pp_field){ f->fields[i].name, f->fields[i].value };
    struct pp_input in = {
        .fields = po->fields,
        .nfields = f->nfields,
        .bucket = px->route.bucket,
        .key = s3w_slice(px->route.key, px->route.key_len),
        .file_len = f->file_len,
        .now = px->now,
    };
    struct pp_error e;
    int rc = postpolicy_check(s3w_slice((const char *)doc, (size_t)n), &in, &e);
    free(doc);
    if (rc != 0)
        return post_err(po, e.status, e.code, "%s", e.message);
    return 0;
}

/* The file part's head: every field is in. Checks everything that needs
 * no I/O; the reader stops (nonzero) on the first error. */
static int on_file_start(void *ud, struct mp_form *f)
{
    struct px_post *po = ud;
    struct px *px = po->px;
    if (f->file_len > PX_MAX_BODY)
        return post_err(po, 400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size");
    if (put_filename(po) != 0)
        return -1;
    struct s3w_slice key = field(f, "key");
    if (!key.ptr)
        return post_err(po, 400, "InvalidArgument", "Bucket POST must contain a field named "
                        "'key'.  If it is specified, please check the order of the fields.");
    if (resolve_key(po, key) != 0)
        return -1;
    struct s3w_slice st = field(f, "success_action_status");
    po->success_status = s3w_slice_eq_cstr(st, "200") ? 200 : s3w_slice_eq_cstr(st, "201") ? 201 : 204;
    po->redirect = field(f, "success_action_redirect");
    if (!po->redirect.ptr)
        po->redirect = field(f, "redirect");
    if (po->redirect.ptr && (!po->redirect.len || !s3w_header_value_ok(po->redirect)))
        po->redirect = S3W_SLICE_NULL;
    struct s3w_slice policy = field(f, "policy");
    if (policy.ptr) {
        if (verify_policy(po, policy) != 0 || check_policy(po, policy) != 0)
            return -1;
    } else {
        /* no policy: anonymous, as S3 takes it (POST Object: "If the
         * policy is not included, the request is anonymous") */
        po->signed_at = -1;
        if (mp_field(f, "x-amz-credential") || mp_field(f, "x-amz-signature"))
            return post_err(po, 400, "InvalidArgument", "Bucket POST must contain a field named "
                            "'policy' when it is signed.");
        px->auth.anonymous = true;
        config_identity_anonymous(&px->auth.id);
        px->auth.id_set = true;
    }
    if (build_headers(po) != 0)
        return -1;
    po->ready = true;
    return 0;
}

static int on_file_data(void *ud, const char *p, size_t n)
{
    struct px_post *po = ud;
    if (px_bq_push(&po->px->body.q, p, n) != 0)
        return post_err(po, 500, "InternalError", "%s", s3err_default_message("InternalError"));
    return 0;
}

/* ---- authorization and the upstream PutObject ------------------------------------------- */
/* The request context of the PutObject the form becomes (as stage_context
 * builds it for a signed request; s3:authType "POST"). false after
 * answering. */
static bool post_context(struct px_post *po)
{
    struct px *px = po->px;
    struct proxy_conn *c = px->c;
    px->authz.mreq = (struct s3map_request){
        .method = S3W_SLICE_LIT("PUT"),
        .bucket = px->route.bucket,
        .key = s3w_slice(px->route.key, px->route.key_len),
        .query = S3W_SLICE_LIT(""),
        .headers = po->hdrs,
        .nheaders = po->nhdrs,
    };
    int rc = s3map_map(&px->authz.mreq, &px->authz.map);
    bool put = px->authz.map.op && strcmp(px->authz.map.op->name, "PutObject") == 0;
    /* audited as S3 names it, refused or not (probe 31: a form the
     * mapping refused was recorded and counted as PutObject) */
    const struct s3map_op *op = px->authz.map.op ? px->authz.map.op
                                                 : s3map_op_by_name(S3W_SLICE_LIT("PutObject"));
    if (op) {
        po->op = *op;
        po->op.name = "PostObject";
        px->authz.map.op = &po->op;
    }
    if (rc != 0) {
        px_fail(px, s3map_error_status(rc), s3map_error_code(rc), s3map_strerror(rc));
        return false;
    }
    if (!put) {
        px_fail(px, 400, "InvalidArgument", "The POST form does not make a PutObject.");
        return false;
    }
    px_build_principal(px);
    bool anon = po->signed_at < 0;
    struct s3map_conn_facts facts = {
        .source_ip = s3w_slice_cstr(c->peer_ip),
        .now_ms = px->now * 1000,
        .user_agent = hdr_value(px->hdr.user_agent),
        .referer = hdr_value(px->hdr.referer),
        .region = anon ? S3W_SLICE_NULL : po->region,
        .auth_type = anon ? S3MAP_AUTH_NONE : S3MAP_AUTH_POST,
        .sig_version = anon ? S3MAP_SIG_NONE : S3MAP_SIG_V4,
        .signature_age_ms = anon ? -1 : (px->now - po->signed_at) * 1000,
    };
    return px_fill_context(px, &facts);
}

static void post_collected(struct px *px);

/* Authorized: the PutObject goes upstream. false after answering. */
static bool post_start(struct px_post *po)
{
    struct px *px = po->px;
    if (!post_context(po) || !px_authorize_all(px))
        return false;
    if (po->signed_at < 0 && ub_asks_for_sse_kms(po->hdrs, po->nhdrs)) {
        /* an anonymous form, as an anonymous PUT (pipeline.c,
         * anonymous_allowed_here; probe 20) */
        px_fail(px, 400, "InvalidArgument", PX_MSG_KMS_ANONYMOUS);
        return false;
    }
    struct http_request *u = &po->upreq;
    u->method = S3W_SLICE_LIT("PUT");
    u->query = S3W_SLICE_LIT("");
    u->target = u->path = px->c->req.path;
    u->headers = po->hdrs; /* po outlives the upstream request */
    u->nheaders = po->nhdrs;
    u->has_content_length = true;
    u->content_length = po->form.file_len;
    px->post.upreq = &po->upreq;
    /* The headers are the proxy's own, built from fields the verified
     * policy covered (or an anonymous form's): no caller signature covers
     * them, so they go as built, as an anonymous request's x-amz-* headers
     * do (upstream_build.h, ub_header_rules.anonymous). */
    px->auth.anonymous = true;
    px->body.bm = BM_PLAIN;
    px->body.up_total = po->form.file_len;
    px->body.verified = false; /* until mp_finish: the form ended as declared */
    px->resp.collect = true;
    px->resp.collected = post_collected;
    s3w_buf_cleanup(&px->resp.body);
    s3w_buf_init(&px->resp.body, POST_RESP_MAX);
    if (px_start_upstream(px, S3W_SLICE_LIT("UNSIGNED-PAYLOAD"), true, NULL) != 0)
        return false;
    po->started = true;
    return true;
}

/* ---- the pipeline's hooks ------------------------------------------------------------- */
bool px_post_object(struct px *px)
{
    const struct http_request *r = &px->c->req;
    if (!s3w_slice_eq_cstr(r->method, "POST") || !px->route.bucket.len || px->route.key_len ||
        r->query.len)
        return false;
    struct px_post *po = calloc(1, sizeof(*po));
    if (!po) {
        px_fail_internal(px);
        return true;
    }
    po->px = px;
    px->post.po = po;
    /* audited as S3 names it, refusals before the authorization included */
    const struct s3map_op *put = s3map_op_by_name(S3W_SLICE_LIT("PutObject"));
    if (put) {
        po->op = *put;
        po->op.name = "PostObject";
        px->authz.map.op = &po->op;
    }
    const struct s3w_header *ct = http_request_header(r, "content-type");
    int st = mp_init(&po->form, hdr_value(ct), r->content_length, on_file_start, on_file_data, po);
    if (st != MP_OK) {
        struct s3w_slice v = hdr_value(ct);
        bool multipart = v.len >= 19 && s3w_slice_eq_nocase(s3w_slice(v.ptr, 19),
                                                             S3W_SLICE_LIT("multipart/form-data"));
        if (multipart)
            px_fail(px, 400, "MalformedPOSTRequest", MALFORMED);
        else
            px_fail(px, 412, "PreconditionFailed",
                    "At least one of the pre-conditions you specified did not hold: Bucket POST "
                    "must be of the enclosure-type multipart/form-data");
        return true;
    }
    if (r->chunked) {
        px_fail(px, 411, "MissingContentLength", s3err_default_message("MissingContentLength"));
        return true;
    }
    px->body.bm = BM_PLAIN;
    proxy_conn_body_start(px->c);
    return true;
}

/* After the reader returned: the error it met, or the upload to start. */
static bool post_after_feed(struct px_post *po, int st)
{
    struct px *px = po->px;
    if (st != MP_OK && !po->err_status)
        mp_status_err(po, st);
    if (po->err_status) {
        px_fail(px, po->err_status, po->err_code, po->err_msg);
        return false;
    }
    /* an empty file would complete upstream at once: it starts only once
     * the form's ending has been checked (px_post_body_end) */
    if (po->ready && !po->started && po->form.file_len > 0 && !post_start(po))
        return false;
    return true;
}

int px_post_body(struct px *px, const char *p, size_t n)
{
    struct px_post *po = px->post.po;
    if (px->body.failed)
        return 0;
    if (!post_after_feed(po, mp_feed(&po->form, p, n)))
        return 0;
    if (px->body.q.len > PX_Q_HIGH)
        proxy_conn_pause_read(px->c);
    px_relay_body(px); /* px may be gone */
    return 0;
}

void px_post_body_end(struct px *px)
{
    struct px_post *po = px->post.po;
    if (px->body.failed)
        return;
    int st = mp_finish(&po->form);
    if (!post_after_feed(po, st))
        return;
    if (!po->started && !post_start(po))
        return;
    px->body.done = true;
    px->body.verified = true;
    px_relay_body(px);
}

/* ---- the answer ------------------------------------------------------------------------------- */
/* The value of the upstream answer's header `name` (its head lines, as
 * relay.c keeps them), or ptr NULL. */
static struct s3w_slice resp_header(const struct px *px, const char *name)
{
    struct s3w_slice h = s3w_buf_slice(&px->resp.head);
    size_t i = 0;
    while (i < h.len) {
        const char *nl = memchr(h.ptr + i, '\n', h.len - i);
        size_t e = nl ? (size_t)(nl - h.ptr) : h.len;
        struct s3w_slice line = s3w_slice(h.ptr + i, e - i);
        const char *colon = memchr(line.ptr, ':', line.len);
        if (colon && s3w_slice_eq_nocase(s3w_slice(line.ptr, (size_t)(colon - line.ptr)),
                                         s3w_slice_cstr(name)))
            return s3w_slice_trim(s3w_slice(colon + 1, line.len - (size_t)(colon + 1 - line.ptr)));
        i = e + 1;
    }
    return S3W_SLICE_NULL;
}

static int append_query_value(struct s3w_buf *b, struct s3w_slice v)
{
    return sigv4_uri_encode(v, false, b);
}

static void respond(struct px *px, int status, struct s3w_buf *extra_headers, struct s3w_slice type,
                    struct s3w_slice body)
{
    struct s3w_buf out;
    s3w_buf_init(&out, body.len + extra_headers->len + 1024);
    char date[30];
    s3err_http_date((long)time(NULL), date);
    int rc = s3w_buf_printf(&out, "HTTP/1.1 %d %s\r\nx-amz-request-id: %s\r\nDate: %s\r\n"
                                  "Server: s3warden\r\n",
                            status, s3err_reason(status), px->reqid, date);
    rc |= s3w_buf_append(&out, extra_headers->ptr, extra_headers->len);
    if (type.len)
        rc |= s3w_buf_printf(&out, "Content-Type: %.*s\r\n", (int)type.len, type.ptr);
    rc |= s3w_buf_printf(&out, "Content-Length: %zu\r\n\r\n", body.len);
    rc |= s3w_buf_append(&out, body.ptr, body.len);
    px->out.status = status;
    if (rc)
        px_fail_internal(px);
    else
        px_finish(px, PX_END_RESPOND, s3w_buf_slice(&out));
    s3w_buf_cleanup(&out);
}

/* The upstream PutObject answered (collected whole): the browser gets
 * POST Object's answer (API Reference, "POST Object", success_action_*). */
static void post_collected(struct px *px)
{
    struct px_post *po = px->post.po;
    struct s3w_buf hdr, body, loc;
    s3w_buf_init(&hdr, 16 * 1024);
    s3w_buf_init(&body, 16 * 1024);
    s3w_buf_init(&loc, 8 * 1024);
    if (px->resp.status != 200) {
        /* an error document of the upstream's, as it came */
        s3w_buf_append(&body, px->resp.body.ptr, px->resp.body.len);
        respond(px, px->resp.status ? px->resp.status : 502, &hdr, S3W_SLICE_LIT("application/xml"),
                s3w_buf_slice(&body));
        goto out;
    }
    struct s3w_slice etag = resp_header(px, "etag");
    struct s3w_slice key = s3w_slice(px->route.key, px->route.key_len);
    /* Location: the object as the browser reaches it through s3warden */
    int rc = px_object_url(px, &loc);
    if (etag.ptr)
        rc |= s3w_buf_printf(&hdr, "ETag: %.*s\r\n", (int)etag.len, etag.ptr);
    struct s3w_slice vid = resp_header(px, "x-amz-version-id");
    if (vid.ptr)
        rc |= s3w_buf_printf(&hdr, "x-amz-version-id: %.*s\r\n", (int)vid.len, vid.ptr);
    if (po->redirect.ptr) {
        /* 303 to the redirect with bucket, key and etag in its query */
        struct s3w_buf to;
        s3w_buf_init(&to, 16 * 1024);
        rc |= s3w_buf_append_slice(&to, po->redirect);
        rc |= s3w_buf_append_cstr(&to, memchr(po->redirect.ptr, '?', po->redirect.len) ? "&" : "?");
        rc |= s3w_buf_append_cstr(&to, "bucket=");
        rc |= append_query_value(&to, px->route.bucket);
        rc |= s3w_buf_append_cstr(&to, "&key=");
        rc |= append_query_value(&to, key);
        rc |= s3w_buf_append_cstr(&to, "&etag=");
        rc |= append_query_value(&to, etag.ptr ? etag : S3W_SLICE_LIT(""));
        rc |= s3w_buf_printf(&hdr, "Location: %.*s\r\n", (int)to.len, to.ptr);
        s3w_buf_cleanup(&to);
        if (rc)
            px_fail_internal(px);
        else
            respond(px, 303, &hdr, S3W_SLICE_NULL, S3W_SLICE_LIT(""));
        goto out;
    }
    rc |= s3w_buf_printf(&hdr, "Location: %.*s\r\n", (int)loc.len, loc.ptr);
    if (po->success_status == 201) {
        rc |= s3w_buf_append_cstr(&body, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<PostResponse>");
        rc |= s3w_xml_elem(&body, "Location", s3w_buf_slice(&loc), 0);
        rc |= s3w_xml_elem(&body, "Bucket", px->route.bucket, 0);
        rc |= s3w_xml_elem(&body, "Key", key, 0);
        rc |= s3w_xml_elem(&body, "ETag", etag.ptr ? etag : S3W_SLICE_LIT(""), 0);
        rc |= s3w_buf_append_cstr(&body, "</PostResponse>");
    }
    if (rc)
        px_fail_internal(px);
    else
        respond(px, po->success_status, &hdr,
                po->success_status == 201 ? S3W_SLICE_LIT("application/xml") : S3W_SLICE_NULL,
                s3w_buf_slice(&body));
out:
    s3w_buf_cleanup(&hdr);
    s3w_buf_cleanup(&body);
    s3w_buf_cleanup(&loc);
}
