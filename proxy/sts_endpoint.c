/*
 * sts_endpoint.c - the local STS (config/sts.h) behind s3warden's own
 * endpoint: a POST to / signed for service "sts" (stage_sts in
 * pipeline.c collects its form, whose hash is the payload the signature
 * covers), a GET to / signed for it (header or presigned query: the form
 * is the query), or an unsigned AssumeRoleWithWebIdentity. The call is
 * answered here, and its errors in STS's Query API form.
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
    px->out.status = r.status;
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
