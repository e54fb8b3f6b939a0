/*
 * sts_endpoint.c - the local STS (config/sts.h) behind s3warden's own
 * endpoint: a POST to / signed for service "sts" (px_stage_sts collects
 * its form, whose hash is the payload the signature covers), a GET to /
 * signed for it (header or presigned query: the form is the query), or an
 * unsigned AssumeRoleWithWebIdentity. The stage that tells an STS call
 * from an S3 request, STS's answers to signatures out of its time or
 * region (px_verify calls them), and the call itself live here; its
 * errors go out in STS's Query API form (px_fail, exchange.c).
 */
#include "exchange.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics.h"
#include "oidc_fetch.h"
#include "s3err.h"
#include "sts.h"

void px_sts(struct px *px)
{
    /* unsigned: only AssumeRoleWithWebIdentity goes on (sts_handle_ex) */
    bool unsigned_call = px->auth.anonymous;
    if (!unsigned_call && !px->auth.id_set) {
        px_fail(px, 403, "AccessDenied", "STS requests must be signed.");
        return;
    }
    /* a GET carries its parameters in the query (stage_sts) */
    struct s3w_slice form = s3w_slice_eq_cstr(px->c->req.method, "GET")
                                ? px->c->req.query
                                : s3w_buf_slice(&px->body.collect);
    struct sts_key_source keys;
    if (shared(px->w)->oidc)
        keys = oidc_keys_source(shared(px->w)->oidc);
    struct sts_response r;
    sts_response_init(&r);
    sts_handle_ex(px->cfg, unsigned_call ? NULL : &px->auth.id, form, px->now,
                  s3w_slice_cstr(px->reqid), shared(px->w)->oidc ? &keys : NULL, &r);
    if (r.wi_provider[0]) {
        size_t a = strlen(r.wi_provider) + 1, b = strlen(r.wi_sub) + 1, c = strlen(r.wi_aud) + 1;
        free(px->auth.web_identity);
        px->auth.web_identity = malloc(a + b + c);
        if (px->auth.web_identity) {
            memcpy(px->auth.web_identity, r.wi_provider, a);
            memcpy(px->auth.web_identity + a, r.wi_sub, b);
            memcpy(px->auth.web_identity + a + b, r.wi_aud, c);
        }
    }
    {
        char act[40] = "";
        if (r.action[0])
            snprintf(act, sizeof(act), "sts:%s", r.action);
        const char *key = r.status == 200 ? r.issued_key_id : "";
        size_t a = strlen(act) + 1, b = strlen(r.role_arn) + 1, c = strlen(r.session_name) + 1,
               d = strlen(key) + 1;
        free(px->auth.sts_audit);
        px->auth.sts_audit = malloc(a + b + c + d);
        if (px->auth.sts_audit) {
            memcpy(px->auth.sts_audit, act, a);
            memcpy(px->auth.sts_audit + a, r.role_arn, b);
            memcpy(px->auth.sts_audit + a + b, r.session_name, c);
            memcpy(px->auth.sts_audit + a + b + c, key, d);
        }
    }
    px->out.status = r.status;
    /* the audit record's errorCode (it was null for every STS error) */
    px->out.err_code = r.status == 200 ? NULL : r.code ? r.code : "InternalFailure";
    px->authz.decision = r.status == 200 ? PX_DEC_ALLOWED : PX_DEC_DENIED;
    if (r.session_issued && shared(px->w)->metrics)
        metrics_add(&shared(px->w)->metrics->sts_sessions, 1);
    struct s3w_buf out;
    s3w_buf_init(&out, r.body.len + 1024);
    char date[30];
    s3err_http_date((long)time(NULL), date);
    s3w_buf_printf(&out, "HTTP/1.1 %d %s\r\nContent-Type: text/xml\r\nContent-Length: %zu\r\n"
                   "x-amzn-RequestId: %s\r\nDate: %s\r\n\r\n",
                   r.status, s3err_reason(r.status), r.body.len, px->reqid, date);
    s3w_buf_append(&out, r.body.ptr, r.body.len);
    sts_response_cleanup(&r);
    px_finish(px, PX_END_RESPOND, s3w_buf_slice(&out));
    s3w_buf_cleanup(&out);
}

/* STS's answer to a request signed too far from its clock: not S3's
 * RequestTimeTooSkewed but SignatureDoesNotMatch, "Signature expired: X is
 * now earlier than Y (Z - 15 min.)" or "Signature not yet current: X is
 * still later than Y (Z + 15 min.)", X the request's time as sent, Z the
 * server's, Y the edge of the window (as aws/aws-cli issue 6676 and others
 * quote it). */
void px_sts_fail_skew(struct px *px, const char *request_time, int64_t now, int64_t window_s)
{
    struct tm rt = { 0 };
    const char *end = strptime(request_time, "%Y%m%dT%H%M%SZ", &rt);
    bool late = !(end && !*end && (int64_t)timegm(&rt) > now); /* a Date header: said late */
    char edge[20], server[20], msg[200];
    time_t e = (time_t)(late ? now - window_s : now + window_s), z = (time_t)now;
    struct tm tm;
    strftime(edge, sizeof(edge), "%Y%m%dT%H%M%SZ", gmtime_r(&e, &tm));
    strftime(server, sizeof(server), "%Y%m%dT%H%M%SZ", gmtime_r(&z, &tm));
    snprintf(msg, sizeof(msg), "Signature %s: %s is %s than %s (%s %c %lld min.)",
             late ? "expired" : "not yet current", request_time,
             late ? "now earlier" : "still later", edge, server, late ? '-' : '+',
             (long long)(window_s / 60));
    px_fail(px, 403, "SignatureDoesNotMatch", msg);
}

/* STS's answer to a signature scoped to a region its endpoint is not:
 * "Credential should be scoped to a valid region, not 'R'." (quoted in
 * cloud-custodian issue 4874 and cognitect-labs/aws-api issue 27). R is
 * shown only when it is short printable ASCII. */
void px_sts_fail_region(struct px *px, struct s3w_slice region)
{
    bool shown = region.len <= 32;
    for (size_t i = 0; shown && i < region.len; i++)
        shown = region.ptr[i] > ' ' && region.ptr[i] < 0x7f && region.ptr[i] != '\'';
    char msg[128];
    if (shown)
        snprintf(msg, sizeof(msg), "Credential should be scoped to a valid region, not '%.*s'.",
                 (int)region.len, region.ptr);
    else
        snprintf(msg, sizeof(msg), "Credential should be scoped to a valid region.");
    px_fail(px, 403, "SignatureDoesNotMatch", msg);
}

/* Whether the query string holds the parameter Action=AssumeRoleWithWebIdentity. */
static bool query_is_web_identity(struct s3w_slice q)
{
    static const char want[] = "Action=AssumeRoleWithWebIdentity";
    for (size_t i = 0; i + sizeof want - 1 <= q.len; i++)
        if ((i == 0 || q.ptr[i - 1] == '&') && memcmp(q.ptr + i, want, sizeof want - 1) == 0 &&
            (i + sizeof want - 1 == q.len || q.ptr[i + sizeof want - 1] == '&'))
            return true;
    return false;
}

/* Whether the request is signed for service "sts": its Authorization
 * header, or for a GET its presigned query (X-Amz-Credential), names it in
 * the credential scope. A header's parse stays in px->auth.parsed for
 * px_verify, whichever its service; a query's only for STS (px_verify
 * reads a query again), and otherwise is wiped: it holds the decoded
 * session token. */
static bool signed_for_sts(struct px *px, bool get)
{
    const struct http_request *r = &px->c->req;
    bool header = px->hdr.authorization != NULL;
    if (!header && !(get && memmem(r->query.ptr, r->query.len, "X-Amz-Credential=", 17)))
        return false;
    struct sigv4_error e;
    struct sigv4_auth *a = malloc(sizeof(*a));
    if (!a)
        return false; /* verified the usual way: parsed there */
    int rc = header ? sigv4_parse_authorization(px->hdr.authorization->value, a, &e)
                    : sigv4_parse_presigned(r->query, a, &e);
    bool sts = rc == 0 && s3w_slice_eq_cstr(a->service, "sts");
    if (sts || (rc == 0 && header)) {
        px->auth.parsed = a;
        return sts;
    }
    s3w_wipe(a, sizeof(*a));
    free(a);
    return false;
}

/* An STS Query API call to / : signed for service "sts", a POST with its
 * form in the body, or a GET with it in the query (header-signed, or a
 * presigned URL such as the GetCallerIdentity one aws-iam-authenticator
 * sends); or the one call AWS takes unsigned, AssumeRoleWithWebIdentity
 * (its token is the proof): a POST to / without any signature, whose form
 * sts_handle_ex refuses unless that is its Action, or a
 * GET /?Action=AssumeRoleWithWebIdentity. Answers or starts collecting its
 * form and returns true; false for an S3 request. */
bool px_stage_sts(struct px *px)
{
    const struct http_request *r = &px->c->req;
    if (r->path.len != 1 || px->route.bucket.len)
        return false;
    bool get = s3w_slice_eq_cstr(r->method, "GET");
    bool post = s3w_slice_eq_cstr(r->method, "POST");
    if (!px->hdr.authorization && !memmem(r->query.ptr, r->query.len, "X-Amz-", 6) &&
        ((get && query_is_web_identity(r->query)) || (post && !r->query.len))) {
        px->kind = PX_STS;
        px->auth.anonymous = true;
        if (!px->cfg->sts.enabled)
            px_fail(px, 403, "AccessDenied", "The local STS is disabled.");
        else if (get)
            px_sts(px);
        else if (r->content_length > STS_MAX_FORM_BYTES)
            px_fail(px, 400, "InvalidRequest", "The STS request body is too large.");
        else
            px_collect_body(px, PX_STS, STS_MAX_FORM_BYTES);
        return true;
    }
    if (!(get || post) || !signed_for_sts(px, get))
        return false;
    px->kind = PX_STS;
    if (!px->cfg->sts.enabled) {
        px_fail(px, 403, "AccessDenied", "The local STS is disabled.");
    } else if (get) {
        /* the form is the query; the signed payload is the empty body's */
        uint8_t h[32];
        sigv4_sha256("", 0, h);
        if (px_verify(px, S3W_SLICE_LIT("sts"), h))
            px_sts(px);
    } else if (r->content_length > STS_MAX_FORM_BYTES) {
        px_fail(px, 400, "InvalidRequest", "The STS request body is too large.");
    } else {
        px_collect_body(px, PX_STS, STS_MAX_FORM_BYTES);
    }
    return true;
}
