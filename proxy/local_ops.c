/*
 * local_ops.c - operations s3warden answers itself, or whose answer it
 * rewrites: DeleteObjects (each key authorized; the denied ones answered
 * here, the allowed ones sent upstream in a rebuilt body; the answers
 * merged), the bucket policy API (the configured policy, never the
 * upstream's), ListBuckets (filtered to the caller's account,
 * listbuckets.h), GetBucketLocation (s3warden's region) and the operations
 * whose condition keys are in their XML body (collected, verified, then
 * authorized). Each ends the exchange with respond_local or px_fail.
 */
#include "exchange.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "codec.h"
#include "listbuckets.h"
#include "log.h"
#include "s3err.h"
#include "xml.h"

/* ---- DeleteObjects -------------------------------------------------------------------------- */
/* A key or version id (or a condition) written back into the body sent
 * upstream: '&', '<', '>' escaped, and a CR kept as a reference
 * (S3W_XML_ESC_CR: the upstream must read the key that was authorized);
 * quotes need no escape there. Every byte of it at most 5 (&amp;, &#13;),
 * so the rebuilt body of a body of n bytes, whose decoded values together
 * are at most n, is at most 5n and the elements around them
 * (PX_DELETE_REBUILT_MAX). 0 or an error. */
static int xml_text_up(struct s3w_buf *b, const char *tag, struct s3w_slice v)
{
    return s3w_xml_elem(b, tag, v, S3W_XML_ESC_CR);
}
#define PX_DELETE_REBUILT_MAX (5 * (size_t)S3MAP_DELETE_MAX_BODY + S3MAP_DELETE_MAX_KEYS * 256)

/* The denied keys' <Error> entries: each byte of a key or version id at
 * most 6 in S3's escaping (&quot;), and the values together at most the
 * body's bytes, so at most 6 times the body and each entry's elements. */
#define PX_DELETE_DENIED_MAX (6 * (size_t)S3MAP_DELETE_MAX_BODY + S3MAP_DELETE_MAX_KEYS * 128)

/* 0, or an error when b's max was reached (the answer must not go out cut:
 * probe 35 got a 200 of broken XML, the keys deleted unknown) */
static int append_denied_errors(struct px *px, struct s3w_buf *b)
{
    int rc = 0;
    for (size_t i = 0; i < px->del.dl->n && rc == 0; i++) {
        if (!px->del.denied[i])
            continue;
        rc |= s3w_buf_append_cstr(b, "<Error>");
        /* S3's escaping in its answers (&quot;), a CR as a reference */
        rc |= s3w_xml_elem(b, "Key", px->del.dl->objects[i].key, S3W_XML_ESC_QUOTES | S3W_XML_ESC_CR);
        if (px->del.dl->objects[i].version_id.ptr)
            rc |= s3w_xml_elem(b, "VersionId", px->del.dl->objects[i].version_id,
                               S3W_XML_ESC_QUOTES | S3W_XML_ESC_CR);
        rc |= s3w_buf_append_cstr(b, "<Code>AccessDenied</Code><Message>Access Denied</Message></Error>");
    }
    return rc;
}

/* A complete answer made here (never from the upstream); ends the exchange. */
static void respond_local(struct px *px, int status, const char *content_type,
                          struct s3w_slice body)
{
    struct s3w_buf out;
    s3w_buf_init(&out, body.len + 1024);
    char date[30];
    s3err_http_date((long)time(NULL), date);
    s3w_buf_printf(&out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
                   "Content-Length: %zu\r\nx-amz-request-id: %s\r\nDate: %s\r\n"
                   "Server: s3warden\r\n\r\n",
                   status, s3err_reason(status), content_type, body.len, px->reqid, date);
    s3w_buf_append(&out, body.ptr, body.len);
    px->out.status = status;
    px_finish(px, PX_END_RESPOND, s3w_buf_slice(&out));
    s3w_buf_cleanup(&out);
}

static void respond_xml(struct px *px, int status, struct s3w_buf *body)
{
    respond_local(px, status, "application/xml", s3w_buf_slice(body));
}

/* ---- the bucket policy API, answered here ------------------------------------------------------
 * s3warden enforces the bucket policy of its config (buckets[].policy), not
 * the upstream bucket's. Forwarded, GetBucketPolicy showed another document
 * than the one enforced, and Put/DeleteBucketPolicy changed the real
 * bucket's policy: a local s3:* grant opened the bucket outside s3warden
 * (review L8). So these never reach the upstream.
 * Order as on S3 (API Reference, GetBucketPolicy / PutBucketPolicy /
 * DeleteBucketPolicy, "Permissions"): without the permission, 403
 * AccessDenied (px_authorize_all); with it but "not using an identity that
 * belongs to the bucket owner's account", 405 MethodNotAllowed; then the
 * operation - Get answers the configured document, Put and Delete are
 * refused (501: the policy lives in the config). GetBucketPolicyStatus is
 * answered here too, in the same order, from the configured policy
 * (policy_is_public, policy/public.c: S3's rule for "public", and PUBLIC
 * where AWS leaves a point open), and 404 NoSuchBucketPolicy without one,
 * as S3 answers: forwarded, the upstream's answer would describe another
 * policy than the one enforced, and a store that does not know the
 * request answered it as a listing of the bucket (probe 22: moto's
 * ListBucketResult to a caller allowed s3:GetBucketPolicyStatus only).
 * The owner's root exemption below is not GetBucketPolicyStatus's: AWS
 * names only the three policy operations (pipeline.c). */

enum bp_op px_bucket_policy_op(const struct px *px)
{
    const char *n = px->authz.map.op ? px->authz.map.op->name : NULL;
    if (!n || !px->route.bucket.len)
        return BP_NONE;
    if (strcmp(n, "GetBucketPolicy") == 0)
        return BP_GET;
    if (strcmp(n, "PutBucketPolicy") == 0)
        return BP_PUT;
    if (strcmp(n, "DeleteBucketPolicy") == 0)
        return BP_DELETE;
    if (strcmp(n, "GetBucketPolicyStatus") == 0)
        return BP_STATUS;
    return BP_NONE;
}

/* The account owning the requested bucket: the configured owner, or for
 * an unlisted bucket under "caller_account" the caller's (px_authorize's
 * rule). */
static struct s3w_slice owner_of(const struct px *px, const struct config_bucket *b)
{
    return b ? s3w_slice_cstr(b->account) : px->authz.principal.account;
}

static struct s3w_slice bucket_owner(const struct px *px)
{
    return owner_of(px, px->route.bcfg);
}

bool px_expected_owners_ok(struct px *px)
{
    struct s3w_slice exp, src;
    if (s3map_expected_owners(&px->authz.map, &exp, &src) != 0) {
        px_fail(px, s3map_error_status(S3MAP_E_INVALID_ARGUMENT),
                s3map_error_code(S3MAP_E_INVALID_ARGUMENT),
                "x-amz-expected-bucket-owner or x-amz-source-expected-bucket-owner given twice.");
        return false;
    }
    bool ok = true;
    if (exp.ptr && px->route.bucket.len)
        ok = s3w_slice_eq(exp, bucket_owner(px));
    if (ok && src.ptr && (px->authz.map.flags & S3MAP_F_COPY)) {
        const struct s3map_copy_source *cs = &px->authz.map.copy;
        ok = s3w_slice_eq(src, owner_of(px, config_find_bucket(px->cfg, cs->bucket)));
    }
    if (!ok)
        px_fail(px, 403, "AccessDenied", "Access Denied");
    return ok;
}

/* "To ensure that bucket owners don't inadvertently lock themselves out of
 * their own buckets, the root principal in a bucket owner's AWS account can
 * perform the GetBucketPolicy, PutBucketPolicy, and DeleteBucketPolicy API
 * actions, even if their bucket policy explicitly denies the root
 * principal's access. Bucket owner root principals can only be blocked from
 * performing these API actions by VPC endpoint policies and AWS
 * Organizations policies." (same pages). So for the owner's root the bucket
 * policy is left out; guardrails (s3warden's SCPs) still decide. Put and
 * Delete get the exemption too: they end in 501 either way, and the root
 * then learns where the policy really lives instead of a 403. */
bool px_bucket_policy_root_exempt(const struct px *px)
{
    return px->auth.id_set && px->auth.id.type == CONFIG_PRINCIPAL_ACCOUNT &&
           px->authz.principal.account.len && s3w_slice_eq(px->authz.principal.account, bucket_owner(px));
}

#define BP_READONLY_MSG                                                                       \
    "s3warden enforces the bucket policy from its configuration (buckets[].policy); change " \
    "it there and reload with SIGHUP."

/* After every authorization allowed the request. */
void px_bucket_policy(struct px *px, enum bp_op op)
{
    struct s3w_slice owner = bucket_owner(px);
    if (!px_expected_owners_ok(px))
        return;
    if (!px->authz.principal.account.len || !s3w_slice_eq(px->authz.principal.account, owner)) {
        px_fail(px, 405, "MethodNotAllowed", s3err_default_message("MethodNotAllowed"));
        return;
    }
    if (op != BP_GET && op != BP_STATUS) {
        px_fail(px, 501, "NotImplemented", BP_READONLY_MSG);
        return;
    }
    const char *doc = px->route.bcfg ? px->route.bcfg->policy_json : NULL;
    if (!doc) {
        px_fail(px, 404, "NoSuchBucketPolicy", "The bucket policy does not exist");
        return;
    }
    if (op == BP_STATUS) {
        /* S3's answer (API Reference, GetBucketPolicyStatus, "Response
         * Syntax"): PolicyStatus with IsPublic */
#define POLICY_STATUS_XML(v)                                                               \
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<PolicyStatus "                                \
    "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><IsPublic>" v "</IsPublic></PolicyStatus>"
        bool pub = policy_is_public(px->route.bcfg->policy, NULL, 0);
        respond_local(px, 200, "application/xml",
                      pub ? S3W_SLICE_LIT(POLICY_STATUS_XML("true"))
                          : S3W_SLICE_LIT(POLICY_STATUS_XML("false")));
#undef POLICY_STATUS_XML
        return;
    }
    /* S3 answers the document itself as the body (GetBucketPolicy,
     * "Response Syntax": the policy JSON, not wrapped in XML) */
    respond_local(px, 200, "application/json", s3w_slice_cstr(doc));
}

/* ListBuckets: the upstream lists the proxy's own buckets; the caller gets
 * those its account owns in the config (listbuckets.h). An answer that
 * cannot be filtered is not passed on. */
void px_finish_list_buckets(struct px *px)
{
    struct s3w_buf b;
    s3w_buf_init(&b, LISTBUCKETS_MAX_BODY);
    struct s3w_slice up = s3w_buf_slice(&px->resp.body);
    if (px->resp.status != 200) {
        s3w_buf_append(&b, up.ptr, up.len); /* an error document */
        respond_xml(px, px->resp.status ? px->resp.status : 502, &b);
    } else if (listbuckets_filter_upstream(px->cfg, px_upstream(px),
                                           px->auth.id_set ? px->auth.id.account : S3W_SLICE_NULL,
                                           px->c->req.query, up, &b) == 0) {
        respond_xml(px, 200, &b);
    } else {
        proxy_log("WARN", "request_id=%s ListBuckets: the upstream's answer is not a bucket "
                  "list s3warden can filter; refused", px->reqid);
        px_fail_internal(px);
    }
    s3w_buf_cleanup(&b);
}

/* ListBuckets answered by several upstreams (relay_fan.c), each 200:
 * every answer filtered as above, then merged into one list. */
void px_finish_list_buckets_of(struct px *px, const struct config_upstream *const *ups,
                               const struct s3w_slice *bodies, size_t n)
{
    struct s3w_slice account = px->auth.id_set ? px->auth.id.account : S3W_SLICE_NULL;
    struct s3w_buf filtered[PX_FAN_MAX];
    struct s3w_slice docs[PX_FAN_MAX];
    struct s3w_buf b;
    s3w_buf_init(&b, LISTBUCKETS_MAX_BODY);
    int rc = 0;
    size_t i = 0;
    for (; i < n && rc == 0; i++) {
        s3w_buf_init(&filtered[i], LISTBUCKETS_MAX_BODY);
        rc = listbuckets_filter_upstream(px->cfg, ups[i], account, px->c->req.query, bodies[i],
                                         &filtered[i]);
        if (rc != 0)
            proxy_log("WARN", "request_id=%s ListBuckets: the answer of upstream %s is not a "
                      "bucket list s3warden can filter; refused", px->reqid, ups[i]->name);
        docs[i] = s3w_buf_slice(&filtered[i]);
    }
    if (rc == 0)
        rc = listbuckets_merge(docs, n, &b);
    while (i > 0)
        s3w_buf_cleanup(&filtered[--i]);
    if (rc == 0)
        respond_xml(px, 200, &b);
    else
        px_fail_internal(px);
    s3w_buf_cleanup(&b);
}

/* GetBucketLocation: a client signs its next requests for the region this
 * names (minio-go, and so restic, looks it up and caches it per bucket).
 * Through s3warden that is s3warden's own region, upstream.region - the
 * only one px_verify accepts - never the upstream's: RGW answers its
 * zonegroup ("default"), and every request signed for that got 400
 * AuthorizationHeaderMalformed. The upstream is still asked, so a bucket it
 * does not have is 404 NoSuchBucket as on S3 and its errors pass as they
 * came; a 200 answer is replaced whole (nothing of the upstream's location
 * leaks). The form is S3's (API Reference, GetBucketLocation, "Response
 * Syntax"): an empty LocationConstraint for us-east-1, else the region. */
void px_finish_bucket_location(struct px *px)
{
    struct s3w_buf b;
    s3w_buf_init(&b, PX_LOCATION_MAX_BODY + 1024);
    if (px->resp.status != 200) {
        struct s3w_slice up = s3w_buf_slice(&px->resp.body);
        s3w_buf_append(&b, up.ptr, up.len); /* an error document */
        respond_xml(px, px->resp.status ? px->resp.status : 502, &b);
    } else {
        struct s3w_slice region = s3w_slice_cstr(px->cfg->upstream->region);
        s3w_buf_append_cstr(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                "<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"");
        if (s3w_slice_eq_cstr(region, "us-east-1")) {
            s3w_buf_append_cstr(&b, "/>");
        } else {
            s3w_buf_append_char(&b, '>');
            s3w_xml_escape(&b, region, S3W_XML_ESC_QUOTES);
            s3w_buf_append_cstr(&b, "</LocationConstraint>");
        }
        respond_xml(px, 200, &b);
    }
    s3w_buf_cleanup(&b);
}

void px_finish_delete(struct px *px)
{
    /* merge: upstream's DeleteResult plus our AccessDenied entries */
    struct s3w_buf b;
    s3w_buf_init(&b, PX_DELETE_RESP_MAX + PX_DELETE_DENIED_MAX);
    struct s3w_slice up = s3w_buf_slice(&px->resp.body);
    const char *end = NULL;
    for (size_t i = up.len; i >= 17 && !end; i--)
        if (memcmp(up.ptr + i - 15, "</DeleteResult>", 15) == 0)
            end = up.ptr + i - 15;
    /* <DeleteResult .../>: a Quiet request's answer when every key went
     * (XML allows it; moto and S3 write the end tag) */
    const char *root = end || !up.len ? NULL : memmem(up.ptr, up.len, "<DeleteResult", 13);
    const char *gt = root ? memchr(root, '>', up.len - (size_t)(root - up.ptr)) : NULL;
    bool empty_root = gt && gt[-1] == '/';
    if (px->resp.status != 200) {
        /* upstream refused the whole request: pass its answer through */
        s3w_buf_append(&b, up.ptr, up.len);
        respond_xml(px, px->resp.status ? px->resp.status : 502, &b);
        s3w_buf_cleanup(&b);
        return;
    }
    if (!end && !empty_root) {
        /* a 200 whose result cannot take the denied keys' entries: passed
         * on, a client would take them for deleted */
        s3w_buf_cleanup(&b);
        px_fail(px, 502, "BadGateway",
                "The DeleteObjects answer of the upstream storage service was not a DeleteResult.");
        return;
    }
    int rc;
    if (empty_root) {
        rc = s3w_buf_append(&b, up.ptr, (size_t)(gt - 1 - up.ptr));
        rc |= s3w_buf_append_cstr(&b, ">");
        rc |= append_denied_errors(px, &b);
        rc |= s3w_buf_append_cstr(&b, "</DeleteResult>");
        rc |= s3w_buf_append(&b, gt + 1, up.len - (size_t)(gt + 1 - up.ptr));
    } else {
        rc = s3w_buf_append(&b, up.ptr, (size_t)(end - up.ptr));
        rc |= append_denied_errors(px, &b);
        rc |= s3w_buf_append(&b, end, up.len - (size_t)(end - up.ptr));
    }
    if (rc != 0) {
        s3w_buf_cleanup(&b);
        px_fail_internal(px);
        return;
    }
    respond_xml(px, 200, &b);
    s3w_buf_cleanup(&b);
}

void px_delete_objects(struct px *px)
{
    uint8_t h[32];
    if (!px_collected_ok(px, s3w_buf_slice(&px->body.collect), h))
        return;
    px->del.dl = calloc(1, sizeof(*px->del.dl));
    px->del.dl_scratch = malloc(px->body.collect.len + 1);
    if (!px->del.dl || !px->del.dl_scratch) {
        px_fail_internal(px);
        return;
    }
    int rc = s3map_parse_delete(s3w_buf_slice(&px->body.collect), px->del.dl_scratch,
                                px->body.collect.len + 1, px->del.dl);
    if (rc != 0) {
        px_fail(px, s3map_error_status(rc), s3map_error_code(rc), s3map_strerror(rc));
        return;
    }
    px->del.denied = calloc(px->del.dl->n ? px->del.dl->n : 1, sizeof(bool));
    if (!px->del.denied) {
        px_fail_internal(px);
        return;
    }
    char arn[S3MAP_ARN_MAX];
    size_t allowed = 0;
    for (size_t i = 0; i < px->del.dl->n; i++) {
        struct s3map_authz az[2];
        size_t naz = 0;
        rc = s3map_delete_authz(&px->authz.map, px->route.bucket, &px->del.dl->objects[i], arn, sizeof(arn),
                                az, &naz, &px->authz.ctx);
        bool ok = rc == 0;
        for (size_t k = 0; ok && k < naz; k++)
            ok = px_authorize(px, az[k].action, az[k].resource);
        px->del.denied[i] = !ok;
        if (!ok && px->authz.last == POLICY_EXPLICIT_DENY)
            px->del.any_explicit = true;
        if (ok)
            allowed++;
        else
            px->del.ndenied++;
    }
    px->out.err_msg[0] = 0;
    bool explicit_deny = px->del.any_explicit;
    px->authz.decision = px->del.ndenied == 0 ? PX_DEC_ALLOWED
                         : allowed ? PX_DEC_PARTIAL
                         : explicit_deny ? PX_DEC_EXPLICIT_DENY
                                         : PX_DEC_IMPLICIT_DENY;
    if (allowed == 0) {
        struct s3w_buf b;
        s3w_buf_init(&b, PX_DELETE_DENIED_MAX + 1024);
        rc = s3w_buf_append_cstr(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                 "<DeleteResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
        rc |= append_denied_errors(px, &b);
        rc |= s3w_buf_append_cstr(&b, "</DeleteResult>");
        if (rc != 0)
            px_fail_internal(px);
        else
            respond_xml(px, 200, &b);
        s3w_buf_cleanup(&b);
        return;
    }
    /* the rewritten body: only the allowed keys */
    struct s3w_buf *nb = &px->del.newbody;
    s3w_buf_init(nb, PX_DELETE_REBUILT_MAX);
    rc = s3w_buf_append_cstr(nb, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                             "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    if (px->del.dl->quiet)
        rc |= s3w_buf_append_cstr(nb, "<Quiet>true</Quiet>");
    for (size_t i = 0; i < px->del.dl->n && rc == 0; i++) {
        if (px->del.denied[i])
            continue;
        const struct s3map_delete_object *o = &px->del.dl->objects[i];
        rc |= s3w_buf_append_cstr(nb, "<Object>");
        rc |= xml_text_up(nb, "Key", o->key);
        if (o->version_id.ptr)
            rc |= xml_text_up(nb, "VersionId", o->version_id);
        /* the object's conditions go with it (probe 33: dropped, a delete
         * on the condition of an ETag deleted whatever was there) */
        if (o->etag.ptr)
            rc |= xml_text_up(nb, "ETag", o->etag);
        if (o->last_modified_time.ptr)
            rc |= xml_text_up(nb, "LastModifiedTime", o->last_modified_time);
        if (o->size.ptr)
            rc |= xml_text_up(nb, "Size", o->size);
        rc |= s3w_buf_append_cstr(nb, "</Object>");
    }
    if (rc != 0 || s3w_buf_append_cstr(nb, "</Delete>") != 0) {
        px_fail_internal(px);
        return;
    }
    /* DeleteObjects requires Content-MD5 (or a checksum): ours, of our body */
    uint8_t md5[16];
    unsigned int ml = 0;
    EVP_Digest(px->del.newbody.ptr, px->del.newbody.len, md5, &ml, EVP_md5(), NULL);
    char md5b64[32];
    s3w_b64_encode(md5, 16, md5b64);
    char hhex[65];
    sigv4_sha256(px->del.newbody.ptr, px->del.newbody.len, h); /* h: ours now */
    s3w_hex_encode(h, 32, hhex);
    px->body.q.len = 0;
    px_bq_push(&px->body.q, px->del.newbody.ptr, px->del.newbody.len);
    px->body.up_total = px->del.newbody.len;
    px->body.verified = true;
    px->body.done = true;
    px->body.bm = BM_PLAIN;
    px->resp.collect = true;
    px->resp.collected = px_finish_delete;
    s3w_buf_init(&px->resp.body, PX_DELETE_RESP_MAX);
    px_start_upstream(px, s3w_slice_cstr(hhex), true, md5b64);
}

/* S3MAP_F_BODY_KEYS: the whole body is here. Its signed hash and the
 * caller's checksums of it are checked first (nothing unverified is parsed
 * into the context, evaluated or forwarded), then its condition keys join
 * the context, then the policy decides, then exactly these bytes go
 * upstream. */
void px_body_keys(struct px *px)
{
    struct s3w_slice body = s3w_buf_slice(&px->body.collect);
    uint8_t h[32];
    if (!px_collected_ok(px, body, h))
        return;
    px->body.bk_scratch = malloc(body.len + 1);
    if (!px->body.bk_scratch) {
        px_fail_internal(px);
        return;
    }
    int rc = s3map_body_context(&px->authz.map, body, px->body.bk_scratch, body.len + 1, px->now * 1000,
                                &px->authz.ctx);
    if (rc != 0) {
        px_fail(px, s3map_error_status(rc), s3map_error_code(rc), s3map_strerror(rc));
        return;
    }
    if (!px_authorize_all(px))
        return;
    /* forward the verified bytes under their own hash (also for an
     * UNSIGNED-PAYLOAD caller: what the policy saw is what is signed) */
    char hhex[65];
    s3w_hex_encode(h, 32, hhex);
    px->body.q.len = 0;
    px->body.q.off = 0;
    if (px_bq_push(&px->body.q, body.ptr, body.len) != 0) {
        px_fail_internal(px);
        return;
    }
    px->body.up_total = body.len;
    px->body.verified = true;
    px->body.done = true;
    px->body.bm = BM_PLAIN;
    s3w_wipe(px->auth.sv.signing_key, sizeof(px->auth.sv.signing_key));
    /* PUT/POST always carry a length (0 for an empty CreateBucket), as on
     * the streaming path */
    px_start_upstream(px, s3w_slice_cstr(hhex), true, NULL);
}
