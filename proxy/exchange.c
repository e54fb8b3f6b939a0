/*
 * exchange.c - the life of one exchange (struct px, exchange.h): how it
 * fails (px_fail: an S3 error, or STS's form, then the end), how it ends
 * (px_finish: the audit record once, detach from the connection, free),
 * what the audit record and the metrics say of it (px_done_audit,
 * px_count), and the client going away in the middle (pl_on_abort).
 *
 * Ownership: px is freed only here (px_free, from px_finish). Inside a
 * relay callback that writes to the client (px->in_cb) px_finish only
 * audits and detaches: relay.c finishes once the write returned
 * (px_client_gone). Freeing px aborts its upstream request.
 */
#include "exchange.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "civil.h"
#include "conn.h"
#include "cors_answer.h"
#include "ident_limit.h"
#include "log.h"
#include "metrics.h"
#include "post_object.h"
#include "s3err.h"
#include "xml.h"

static void px_done_audit(struct px *px);
static void px_free(struct px *px);

/* ---- the decision ------------------------------------------------------------------ */
const char *px_decision_name(enum px_decision d)
{
    switch (d) {
    case PX_DEC_ALLOWED: return "Allowed";
    case PX_DEC_EXPLICIT_DENY: return "ExplicitlyDenied";
    case PX_DEC_IMPLICIT_DENY: return "ImplicitlyDenied";
    case PX_DEC_PARTIAL: return "PartiallyAllowed";
    case PX_DEC_DENIED: return "Denied";
    case PX_DEC_NONE: break;
    }
    return NULL;
}

enum px_decision px_decision_from_policy(enum policy_decision d)
{
    switch (d) {
    case POLICY_ALLOWED: return PX_DEC_ALLOWED;
    case POLICY_EXPLICIT_DENY: return PX_DEC_EXPLICIT_DENY;
    case POLICY_IMPLICIT_DENY: break;
    }
    return PX_DEC_IMPLICIT_DENY; /* fail closed */
}

static enum metrics_decision metrics_decision_of(enum px_decision d)
{
    switch (d) {
    case PX_DEC_ALLOWED: return METRICS_DEC_ALLOWED;
    case PX_DEC_EXPLICIT_DENY: return METRICS_DEC_EXPLICIT_DENY;
    case PX_DEC_IMPLICIT_DENY: return METRICS_DEC_IMPLICIT_DENY;
    case PX_DEC_PARTIAL: return METRICS_DEC_PARTIAL;
    case PX_DEC_DENIED: return METRICS_DEC_DENIED;
    case PX_DEC_NONE: break;
    }
    return METRICS_DEC_NONE;
}

/* ---- responses ------------------------------------------------------------------------ */
static void px_detach(struct px *px)
{
    if (px->c && px->c->ex == px)
        px->c->ex = NULL;
}

/* An STS Query API error (AWS STS API reference, "Common Errors"):
 * <ErrorResponse><Error><Type>Sender|Receiver</Type><Code/><Message/>
 * </Error><RequestId/></ErrorResponse>, so that the aws cli and the SDKs
 * show the code STS would send instead of "Unknown". The S3 codes of the
 * signature check map to STS's: an unknown key or a bad token is
 * InvalidClientTokenId, an expired one ExpiredToken. */
static int sts_error_response(struct px *px, struct s3w_buf *out)
{
    if (px->out.err_code && (strcmp(px->out.err_code, "InvalidAccessKeyId") == 0 ||
                         strcmp(px->out.err_code, "InvalidToken") == 0)) {
        px->out.status = 403;
        px->out.err_code = "InvalidClientTokenId";
        snprintf(px->out.err_msg, sizeof(px->out.err_msg),
                 "The security token included in the request is invalid.");
    } else if (px->out.err_code && strcmp(px->out.err_code, "ExpiredToken") == 0) {
        /* STS's status for it is 403 (S3's is 400): "Status Code: 403" in
         * aws/aws-sdk-java-v2 issue 1649, "Forbidden - ExpiredToken" in
         * the answers clients quote */
        px->out.status = 403;
        snprintf(px->out.err_msg, sizeof(px->out.err_msg),
                 "The security token included in the request is expired");
    }
    struct s3w_buf body;
    s3w_buf_init(&body, 8192);
    int rc = s3w_buf_printf(&body, "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                                   "<Error><Type>%s</Type><Code>%s</Code><Message>",
                            px->out.status >= 500 ? "Receiver" : "Sender",
                            px->out.err_code ? px->out.err_code : "InternalFailure");
    rc = rc ? rc : s3w_xml_escape(&body, s3w_slice_cstr(px->out.err_msg), S3W_XML_ESC_QUOTES);
    rc = rc ? rc : s3w_buf_printf(&body, "</Message></Error><RequestId>%s</RequestId></ErrorResponse>",
                         px->reqid);
    char date[30];
    s3err_http_date((long)time(NULL), date);
    rc = rc ? rc : s3w_buf_printf(out, "HTTP/1.1 %d %s\r\nContent-Type: text/xml\r\nContent-Length: %zu\r\n"
                         "x-amzn-RequestId: %s\r\nDate: %s\r\n\r\n",
                         px->out.status, s3err_reason(px->out.status), body.len, px->reqid, date);
    rc = rc ? rc : s3w_buf_append(out, body.ptr, body.len);
    s3w_buf_cleanup(&body);
    return rc ? -1 : 0;
}


/* Sends an S3 error (STS's form for STS requests) and ends the exchange. */
void px_fail(struct px *px, int status, const char *code, const char *msg)
{
    px_fail_details(px, status, code, msg, NULL, 0);
}

void px_fail_header(struct px *px, int status, const char *code, const char *header)
{
    struct s3err_detail d = { .name = "Header", .value = s3w_slice_cstr(header) };
    px_fail_details(px, status, code, s3err_default_message(code), &d, header ? 1 : 0);
}

void px_fail_details(struct px *px, int status, const char *code, const char *msg,
                     const struct s3err_detail *details, size_t n)
{
    /* the record's status is the one the client got: once the answer's
     * head left, that one, with the code of what cut it short (the
     * client sees the cut: no last chunk, or fewer bytes than its length) */
    if (!px->resp.head_sent)
        px->out.status = status;
    px->out.err_code = code;
    if (msg != px->out.err_msg)
        snprintf(px->out.err_msg, sizeof(px->out.err_msg), "%s", msg ? msg : "");
    px_relay_abort(px); /* the upstream never completes what it got */
    struct proxy_conn *c = px->c;
    if (c && !px->resp.head_sent) {
        struct s3w_buf out;
        s3w_buf_init(&out, 32 * 1024 + s3err_details_room(details, n));
        char resource[PX_KEY_MAX + 300];
        snprintf(resource, sizeof(resource), "%.*s", (int)c->req.path.len, c->req.path.ptr);
        int rc = px->kind == PX_STS
                     ? sts_error_response(px, &out)
                     : s3err_response(&out, status, code, s3w_slice_cstr(px->out.err_msg), details, n,
                                      s3w_slice_cstr(resource), s3w_slice_cstr(px->reqid),
                                      s3w_slice_cstr(px->w->srv->host_id), c->req.is_head,
                                      false);
        if (rc == 0)
            px_finish(px, PX_END_RESPOND, s3w_buf_slice(&out));
        else
            px_finish(px, PX_END_CLOSE, S3W_SLICE_NULL);
        s3w_buf_cleanup(&out);
    } else {
        /* the response already started (or the client is gone): all we
         * can do is cut it */
        px_finish(px, PX_END_CLOSE, S3W_SLICE_NULL);
    }
}

/* 500 InternalError: an allocation or a library call failed (fail closed). */
void px_fail_internal(struct px *px)
{
    px_fail(px, 500, "InternalError", s3err_default_message("InternalError"));
}

/* ---- audit ------------------------------------------------------------------------------- */
static const char *identity_type_name(const struct px *px)
{
    if (px->auth.sig_failed)
        return "Unknown"; /* claimed, never authenticated */
    if (!px->auth.id_set)
        return "Anonymous";
    switch (px->auth.id.type) {
    case CONFIG_PRINCIPAL_ACCOUNT: return "Root";
    case CONFIG_PRINCIPAL_USER: return "IAMUser";
    case CONFIG_PRINCIPAL_ASSUMED_ROLE: return "AssumedRole";
    case CONFIG_PRINCIPAL_FEDERATED_USER: return "FederatedUser";
    default: return "Anonymous";
    }
}

static bool audited_flag(struct px *px)
{
    return px->out.t0_ns == 0; /* px_done_audit clears it: one record per request */
}

/* The request's figures into the metrics (metrics.h); next to the audit
 * record so both always count the same requests. */
static void px_count(struct px *px, uint64_t end, uint64_t in, uint64_t out)
{
    struct metrics *m = shared(px->w)->metrics;
    if (!m)
        return;
    const struct s3map_op *op = px->authz.map.op;
    size_t opi = px->kind == PX_STS ? METRICS_OP_STS
                 : op && op >= s3map_ops_table && op < s3map_ops_table + s3map_ops_count
                     ? (size_t)(op - s3map_ops_table)
                 : op && strcmp(op->name, "PostObject") == 0 ? METRICS_OP_POST_OBJECT
                                                             : METRICS_OP_UNKNOWN;
    enum metrics_decision d = metrics_decision_of(px->authz.decision);
    uint64_t up_ns = px->up.t_ns ? (px->up.t_done_ns ? px->up.t_done_ns : end) - px->up.t_ns : 0;
    metrics_request(m, px->w->metrics, opi, d, px->out.status, end - px->out.t0_ns, px->up.t_ns != 0,
                    up_ns, in, out);
    if (px->auth.sig_failed)
        metrics_signature_failure(m, px->out.err_code);
    if (d == METRICS_DEC_EXPLICIT_DENY || d == METRICS_DEC_IMPLICIT_DENY) {
        /* the first deciding policy: decidingStatements up to its ':' */
        const char *colon = strchr(px->authz.deciding, ':');
        metrics_policy_denial(m, s3w_slice(px->authz.deciding, colon ? (size_t)(colon - px->authz.deciding)
                                                               : strlen(px->authz.deciding)), d);
    }
}

static void px_done_audit(struct px *px)
{
    if (audited_flag(px))
        return;
    struct audit_record r;
    memset(&r, 0, sizeof(r));
    struct proxy_conn *c = px->c;
    r.time_ms = s3w_wall_ms(); /* eventTime: when the request ended */
    r.request_id = s3w_slice_cstr(px->reqid);
    r.upstream_request_id = s3w_slice_cstr(px->resp.up_reqid);
    if (c) {
        r.source_ip = s3w_slice_cstr(c->peer_ip);
        r.user_agent = hdr_value(px->hdr.user_agent);
        r.bytes_in = c->bytes_in - c->mark_in - c->in_len;
        r.bytes_out = c->bytes_out - c->mark_out + px->out.local_out;
        const char *tv = proxy_conn_tls_version(c);
        r.tls = tv ? s3w_slice_cstr(tv) : S3W_SLICE_NULL;
        /* what the policies read (header values borrow from c->req, so
         * only while the connection is alive) */
        r.context = px->authz.ctx.n ? &px->authz.ctx : NULL;
        r.host = hdr_value(px->hdr.host);
        const char *cs = proxy_conn_tls_cipher(c);
        r.cipher_suite = cs ? s3w_slice_cstr(cs) : S3W_SLICE_NULL;
    } else if (px->out.gone) {
        r.source_ip = s3w_slice_cstr(px->out.gone_ip);
        r.user_agent = px->out.gone_ua ? s3w_slice(px->out.gone_ua, px->out.gone_ua_len) : S3W_SLICE_NULL;
        r.bytes_in = px->out.gone_in;
        r.bytes_out = px->out.gone_out;
        r.tls = px->out.gone_tls ? s3w_slice_cstr(px->out.gone_tls) : S3W_SLICE_NULL;
    }
    /* CloudTrail's additionalEventData.AuthenticationMethod and the
     * bucket owner as recipientAccountId (audit_cloudtrail.c) */
    bool authenticated = px->auth.id_set && !px->auth.sig_failed;
    if (!px->auth.anonymous && authenticated)
        r.auth_method = px->auth.sv.presigned ? S3W_SLICE_LIT("QueryString") : S3W_SLICE_LIT("AuthHeader");
    if (px->route.bcfg && px->route.bcfg->account)
        r.bucket_account = s3w_slice_cstr(px->route.bcfg->account);
    r.identity_type = s3w_slice_cstr(identity_type_name(px));
    /* A signature that failed names an access key id anyone may know: the
     * record keeps it as a claim (type Unknown) and names no user (the
     * ninth probe planted records "by" admin with admin's key id and a
     * made-up secret) */
    if (px->auth.id_set && px->auth.sig_failed)
        r.access_key_id = px->auth.id.access_key_id;
    if (authenticated) {
        r.principal_id = px->auth.id.userid;
        r.arn = px->auth.id.arn;
        r.account_id = px->auth.id.account;
        r.access_key_id = px->auth.id.access_key_id;
        if (px->auth.id.type == CONFIG_PRINCIPAL_ASSUMED_ROLE) {
            r.session_role_arn = px->auth.id.principal_arn;
            r.session_name = px->auth.id.session_name;
            /* a session from a token (config_resolve: ASIA keys) and its session policy */
            r.token_session = s3w_slice_starts_with(r.access_key_id, S3W_SLICE_LIT("ASIA"));
            r.session_policy = px->auth.id.session_policy_json;
            r.session_tags = px->auth.id.tags;
            r.nsession_tags = px->auth.id.nsession_tags;
        }
    }
    if (px->auth.web_identity) {
        const char *w = px->auth.web_identity, *sub = w + strlen(w) + 1;
        r.wi_provider = s3w_slice_cstr(w);
        r.wi_sub = s3w_slice_cstr(sub);
        r.wi_aud = s3w_slice_cstr(sub + strlen(sub) + 1);
    }
    r.event_name = px->kind == PX_STS ? S3W_SLICE_LIT("sts")
                   : px->authz.map.op ? s3w_slice_cstr(px->authz.map.op->name) : S3W_SLICE_NULL;
    r.bucket = px->route.bucket;
    r.key = s3w_slice(px->route.key, px->route.key_len);
    for (size_t i = 0; i < px->authz.map.nauthz && i < AUDIT_MAX_AUTHZ; i++) {
        r.actions[i] = px->authz.map.authz[i].action;
        r.resources[i] = px->authz.map.authz[i].resource;
        r.nauthz = i + 1;
    }
    if (px->kind == PX_STS && px->auth.sts_audit) {
        /* the STS action and the role asked for; who took which session */
        const char *act = px->auth.sts_audit, *arn = act + strlen(act) + 1;
        const char *sn = arn + strlen(arn) + 1, *key = sn + strlen(sn) + 1;
        if (act[0]) {
            r.actions[0] = s3w_slice_cstr(act);
            r.resources[0] = arn[0] ? s3w_slice_cstr(arn) : S3W_SLICE_LIT("*");
            r.nauthz = 1;
        }
        r.sts_session_name = s3w_slice_cstr(sn);
        r.sts_issued_key_id = s3w_slice_cstr(key);
    }
    const char *decision = px_decision_name(px->authz.decision);
    r.decision = decision ? s3w_slice_cstr(decision) : S3W_SLICE_NULL;
    r.deciding = px->authz.deciding[0] ? s3w_slice_cstr(px->authz.deciding) : S3W_SLICE_NULL;
    r.cross_account = px->authz.cross_account;
    r.error_code = px->out.err_code ? s3w_slice_cstr(px->out.err_code) : S3W_SLICE_NULL;
    r.http_status = px->out.status;
    uint64_t end = now_ns();
    r.latency_ms = (int64_t)((end - px->out.t0_ns) / 1000000);
    r.upstream_latency_ms = px->up.t_ns
        ? (int64_t)(((px->up.t_done_ns ? px->up.t_done_ns : end) - px->up.t_ns) / 1000000)
        : -1;
    if (px->out.audit_refusal)
        audit_batch_log_refusal(plw(px->w)->audit, &r);
    else
        audit_batch_log(plw(px->w)->audit, &r);
    px_count(px, end, r.bytes_in, r.bytes_out);
    proxy_log("INFO", "request_id=%s key_id=%.*s op=%s decision=%s status=%d%s%s%s%s",
              px->reqid, (int)r.access_key_id.len, r.access_key_id.ptr ? r.access_key_id.ptr : "",
              px->authz.map.op ? px->authz.map.op->name : (px->kind == PX_STS ? "sts" : "-"),
              decision ? decision : "-", px->out.status,
              px->out.err_code ? " error=" : "", px->out.err_code ? px->out.err_code : "",
              px->authz.map.detail ? " detail=" : "", px->authz.map.detail ? px->authz.map.detail : "");
    px->out.t0_ns = 0; /* audited once */
}

static void px_free(struct px *px)
{
    px_relay_abort(px);
    if (px->up.ident_held)
        ident_limit_release(shared(px->w)->ident, px->up.ident_slot);
    free(px->out.gone_ua);
    free(px->auth.web_identity);
    free(px->auth.sts_audit);
    free(px->resp.errbody);
    free(px->resp.held);
    sigv4_cksum_cleanup(&px->body.ck);
    if (px->body.md5)
        EVP_MD_CTX_free(px->body.md5);
    if (px->body.dec)
        sigv4_chunked_decoder_free(px->body.dec);
    if (px->body.chain_init)
        sigv4_chain_hmac_cleanup(&px->body.chain);
    sigv4a_key_unref(px->body.v4a_key);
    if (px->body.enc_init)
        sigv4_chunked_encoder_cleanup(&px->body.enc);
    if (px->body.up_chain_init)
        sigv4_chain_hmac_cleanup(&px->body.up_chain);
    s3w_buf_cleanup(&px->body.collect);
    plw(px->w)->collect_bytes -= px->body.collect_charged;
    px->body.collect_charged = 0;
    s3w_buf_cleanup(&px->resp.body);
    s3w_buf_cleanup(&px->del.newbody);
    free(px->del.dl);
    free(px->del.dl_scratch);
    free(px->body.bk_scratch);
    px_post_free(px->post.po);
    free(px->del.denied);
    sigv4_result_cleanup(&px->auth.sv);
    if (px->auth.parsed) {
        s3w_wipe(px->auth.parsed, sizeof(*px->auth.parsed));
        free(px->auth.parsed);
    }
    if (px->auth.id_set)
        config_identity_cleanup(&px->auth.id);
    pl_cfg_return(px);
    /* not the whole struct (60 KiB): what held key material was wiped by
     * its own cleanup above - the signing key (sigv4_result_cleanup), the
     * chunk chains - and the upstream request head with the proxy's token
     * is wiped as far as used by px_recycle, which keeps its storage */
    px_recycle(px);
}

/* Ends the exchange, whichever way it ends: writes its audit record (once),
 * detaches px from its connection and frees it, then tells the connection
 * how the response ends - `resp` is a whole local response to send
 * (PX_END_RESPOND), the streamed response is complete (PX_END_FINISH), or
 * the connection is cut (PX_END_CLOSE). The connection may go on with the
 * next pipelined request at once, so px is gone before that. Inside a
 * relay callback (in_cb) px outlives the call: relay.c frees it. */
void px_finish(struct px *px, enum px_end end, struct s3w_slice resp)
{
    struct proxy_conn *c = px->c;
    struct s3w_buf cors; /* resp with the request's CORS headers (cors.c) */
    if (c && end == PX_END_RESPOND && px_cors_wrap(px, resp, &cors))
        resp = s3w_buf_slice(&cors);
    else
        s3w_buf_init(&cors, 0);
    if (c && end == PX_END_RESPOND)
        px->out.local_out = resp.len;
    /* A session token came in the head, or may have: an
     * x-amz-security-token header, or any query - a presigned URL's
     * X-Amz-Security-Token, one its parse failed before, one beside an
     * Authorization header or in an unsigned request, which sigv4 never
     * reads. The head's bytes leave the connection's buffers now, not when
     * it next goes idle (conn.h). Requests without a query or the header
     * (the common GET and PUT) pay nothing. */
    bool token = px->hdr.security_token || (c && c->req.has_query);
    px_done_audit(px);
    px_detach(px);
    px->c = NULL;
    if (!px->in_cb)
        px_free(px);
    if (c && token)
        proxy_conn_wipe_consumed(c);
    if (c) {
        switch (end) {
        case PX_END_RESPOND: proxy_conn_respond(c, resp.ptr, resp.len, false); break;
        case PX_END_FINISH: proxy_conn_finish(c, false); break;
        case PX_END_CLOSE: proxy_conn_close(c); break;
        }
    }
    s3w_buf_cleanup(&cors);
}

void pl_on_abort(struct proxy_conn *c)
{
    struct px *px = c->ex;
    c->ex = NULL;
    if (!px)
        return;
    /* the record is written once the upstream side is done, without c */
    px->out.gone = true;
    snprintf(px->out.gone_ip, sizeof(px->out.gone_ip), "%s", c->peer_ip);
    const struct s3w_header *ua = px->hdr.user_agent;
    if (ua && (px->out.gone_ua = malloc(ua->value.len ? ua->value.len : 1)) != NULL) {
        memcpy(px->out.gone_ua, ua->value.ptr, ua->value.len);
        px->out.gone_ua_len = ua->value.len;
    }
    px->out.gone_in = c->bytes_in - c->mark_in - c->in_len;
    px->out.gone_out = c->bytes_out - c->mark_out + px->out.local_out;
    px->out.gone_tls = proxy_conn_tls_version(c);
    px->c = NULL;
    /* the server ended it (a timeout: abort_code, abort_status), or the
     * client went away (499, nginx's "client closed request") */
    if (!px->out.status)
        px->out.status = c->abort_status ? c->abort_status : 499;
    if (!px->out.err_code)
        px->out.err_code = c->abort_code ? c->abort_code : "ClientClosed";
    if (px->in_cb)
        return; /* relay.c finishes once its write returned */
    px_finish(px, PX_END_CLOSE, S3W_SLICE_NULL);
}
