/*
 * sts_endpoint.c - the local STS (config/sts.h) behind s3warden's own
 * endpoint: a POST to / signed for service "sts" (stage_sts in pipeline.c
 * collects its form). The form's hash is the payload the signature covers;
 * the call is answered here, and its errors in STS's Query API form.
 */
#include "exchange.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics.h"
#include "s3err.h"
#include "xml.h"
#include "sts.h"

/* An STS Query API error (AWS STS API reference, "Common Errors"):
 * <ErrorResponse><Error><Type>Sender|Receiver</Type><Code/><Message/>
 * </Error><RequestId/></ErrorResponse>, so that the aws cli and the SDKs
 * show the code STS would send instead of "Unknown". The S3 codes of the
 * signature check map to STS's: an unknown key or a bad token is
 * InvalidClientTokenId, an expired one ExpiredToken. */
int px_sts_error_response(struct px *px, struct s3w_buf *out)
{
    if (px->out.err_code && (strcmp(px->out.err_code, "InvalidAccessKeyId") == 0 ||
                         strcmp(px->out.err_code, "InvalidToken") == 0)) {
        px->out.status = 403;
        px->out.err_code = "InvalidClientTokenId";
        snprintf(px->out.err_msg, sizeof(px->out.err_msg),
                 "The security token included in the request is invalid.");
    } else if (px->out.err_code && strcmp(px->out.err_code, "ExpiredToken") == 0) {
        px->out.status = 400;
        snprintf(px->out.err_msg, sizeof(px->out.err_msg),
                 "The security token included in the request is expired");
    }
    struct s3w_buf body;
    s3w_buf_init(&body, 8192);
    int rc = s3w_buf_printf(&body, "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                                   "<Error><Type>%s</Type><Code>%s</Code><Message>",
                            px->out.status >= 500 ? "Receiver" : "Sender",
                            px->out.err_code ? px->out.err_code : "InternalFailure");
    rc |= s3w_xml_escape(&body, s3w_slice_cstr(px->out.err_msg), S3W_XML_ESC_QUOTES);
    rc |= s3w_buf_printf(&body, "</Message></Error><RequestId>%s</RequestId></ErrorResponse>",
                         px->reqid);
    char date[30];
    s3err_http_date((long)time(NULL), date);
    rc |= s3w_buf_printf(out, "HTTP/1.1 %d %s\r\nContent-Type: text/xml\r\nContent-Length: %zu\r\n"
                         "x-amzn-RequestId: %s\r\nDate: %s\r\n\r\n",
                         px->out.status, s3err_reason(px->out.status), body.len, px->reqid, date);
    rc |= s3w_buf_append(out, body.ptr, body.len);
    s3w_buf_cleanup(&body);
    return rc ? -1 : 0;
}

void px_sts(struct px *px)
{
    uint8_t h[32];
    sigv4_sha256(px->body.collect.ptr, px->body.collect.len, h);
    if (!px_verify(px, S3W_SLICE_LIT("sts"), h))
        return;
    if (px->auth.anonymous || !px->auth.id_set) {
        px_fail(px, 403, "AccessDenied", "STS requests must be signed.");
        return;
    }
    struct sts_response r;
    sts_response_init(&r);
    sts_handle(px->cfg, &px->auth.id, s3w_buf_slice(&px->body.collect), px->now,
               s3w_slice_cstr(px->reqid), &r);
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
