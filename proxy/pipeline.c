/* pipeline.c - one request: route, verify, identify, authorize, audit,
 * re-sign, stream (see pipeline.h and issue 5). */
#include "pipeline.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "audit.h"
#include "creds_fetch.h"
#include "exchange.h"
#include "s3err.h"
#include "sts.h"
#include "listbuckets.h"
#include "metrics.h"
#include "upstream.h"
#include "ident_limit.h"

static const char EMPTY_SHA256[] =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/* ---- per-worker state ------------------------------------------------------------ */
struct pl_worker {
    struct config *cfg;          /* this worker's reference to the snapshot */
    struct sigv4_keycache kc;    /* client signing keys */
    struct sigv4_keycache up_kc; /* the proxy's own signing keys */
    /* SigV4a P-256 keys of the callers (sigv4a.h: one cache per loop, no
     * locks); the ECDSA aws-chunked decoder takes its key from here */
    struct sigv4a_key_cache *v4a;
    bool warned_no_creds;
};

/* ---- body queue (bounded FIFO) --------------------------------------------------- */
static int bq_push(struct bodyq *q, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    if (q->len + n > PX_Q_MAX)
        return -1;
    if (q->off + q->len + n > q->cap) {
        if (q->off > 0) {
            memmove(q->buf, q->buf + q->off, q->len);
            q->off = 0;
        }
        if (q->len + n > q->cap) {
            size_t nc = q->cap ? q->cap : 64 * 1024;
            while (nc < q->len + n)
                nc *= 2;
            if (nc > PX_Q_MAX)
                nc = PX_Q_MAX;
            char *nb = realloc(q->buf, nc);
            if (!nb)
                return -1;
            q->buf = nb;
            q->cap = nc;
        }
    }
    memcpy(q->buf + q->off + q->len, p, n);
    q->len += n;
    return 0;
}

static size_t bq_pop(struct bodyq *q, char *dst, size_t n)
{
    if (n > q->len)
        n = q->len;
    memcpy(dst, q->buf + q->off, n);
    q->off += n;
    q->len -= n;
    if (q->len == 0)
        q->off = 0;
    return n;
}

static void px_done_audit(struct px *px);
static void px_free(struct px *px);
static void px_finish(struct px *px, enum px_end end, struct s3w_slice resp);
static void px_fail_internal(struct px *px);

static struct s3w_slice hdr_value(const struct s3w_header *h)
{
    return h ? h->value : S3W_SLICE_NULL;
}

static uint64_t now_ns(void)
{
    return uv_hrtime();
}

static struct pl_worker *plw(struct proxy_worker *w)
{
    return w->handler_state;
}

static struct pl_shared *shared(struct proxy_worker *w)
{
    return w->srv->handler_ud;
}

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

/* ---- routing ------------------------------------------------------------------------ */
long pl_pct_decode(struct s3w_slice in, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < in.len; i++) {
        char ch = in.ptr[i];
        if (ch == '%') {
            uint8_t b;
            if (i + 2 >= in.len || s3w_hex_decode(s3w_slice(in.ptr + i + 1, 2), &b, 1) != 0)
                return -1;
            ch = (char)b;
            i += 2;
        }
        if (o >= cap)
            return -1;
        out[o++] = ch;
    }
    return (long)o;
}

int pl_route(struct s3w_slice host, struct s3w_slice path,
             char *const *vhost_domains, size_t ndomains,
             struct s3w_slice *bucket, struct s3w_slice *key_raw)
{
    if (path.len == 0 || path.ptr[0] != '/')
        return -1;
    /* strip the port (and IPv6 brackets keep their colons) */
    struct s3w_slice h = host;
    if (h.len > 0 && h.ptr[0] != '[') {
        const char *colon = memchr(h.ptr, ':', h.len);
        if (colon)
            h.len = (size_t)(colon - h.ptr);
    }
    for (size_t i = 0; i < ndomains; i++) {
        struct s3w_slice d = s3w_slice_cstr(vhost_domains[i]);
        if (h.len > d.len + 1 && h.ptr[h.len - d.len - 1] == '.' &&
            s3w_slice_eq_nocase(s3w_slice(h.ptr + h.len - d.len, d.len), d)) {
            /* virtual-hosted style: bucket.DOMAIN/key (S3 User Guide,
             * "Virtual hosting of buckets") */
            *bucket = s3w_slice(h.ptr, h.len - d.len - 1);
            *key_raw = s3w_slice(path.ptr + 1, path.len - 1);
            return 0;
        }
    }
    /* path style: /bucket/key */
    const char *p = path.ptr + 1;
    size_t n = path.len - 1;
    const char *slash = memchr(p, '/', n);
    if (!slash) {
        *bucket = s3w_slice(p, n);
        *key_raw = s3w_slice(p + n, 0);
    } else {
        *bucket = s3w_slice(p, (size_t)(slash - p));
        *key_raw = s3w_slice(slash + 1, n - (size_t)(slash - p) - 1);
    }
    return 0;
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
    rc |= s3err_xml_escape(&body, s3w_slice_cstr(px->out.err_msg));
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

/* Sends an S3 error (STS's form for STS requests) and ends the exchange. */
static void px_fail(struct px *px, int status, const char *code, const char *msg)
{
    px->out.status = status;
    px->out.err_code = code;
    if (msg != px->out.err_msg)
        snprintf(px->out.err_msg, sizeof(px->out.err_msg), "%s", msg ? msg : "");
    if (px->up.xfer.active && !px->in_cb)
        up_abort(px->w, &px->up.xfer);
    struct proxy_conn *c = px->c;
    if (c && !px->resp.head_sent) {
        struct s3w_buf out;
        s3w_buf_init(&out, 32 * 1024);
        char resource[PX_KEY_MAX + 300];
        snprintf(resource, sizeof(resource), "%.*s", (int)c->req.path.len, c->req.path.ptr);
        int rc = px->kind == PX_STS
                     ? sts_error_response(px, &out)
                     : s3err_response(&out, status, code, s3w_slice_cstr(px->out.err_msg),
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
static void px_fail_internal(struct px *px)
{
    px_fail(px, 500, "InternalError", s3err_default_message("InternalError"));
}

/* ---- audit ------------------------------------------------------------------------------- */
static const char *identity_type_name(const struct px *px)
{
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
    r.time_ms = (int64_t)px->now * 1000;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    r.time_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    r.request_id = s3w_slice_cstr(px->reqid);
    r.upstream_request_id = s3w_slice_cstr(px->resp.up_reqid);
    if (c) {
        r.source_ip = s3w_slice_cstr(c->peer_ip);
        r.user_agent = hdr_value(px->hdr.user_agent);
        r.bytes_in = c->bytes_in - c->mark_in - c->in_len;
        r.bytes_out = c->bytes_out - c->mark_out + px->out.local_out;
        const char *tv = proxy_conn_tls_version(c);
        r.tls = tv ? s3w_slice_cstr(tv) : S3W_SLICE_NULL;
    } else if (px->out.gone) {
        r.source_ip = s3w_slice_cstr(px->out.gone_ip);
        r.user_agent = px->out.gone_ua ? s3w_slice(px->out.gone_ua, px->out.gone_ua_len) : S3W_SLICE_NULL;
        r.bytes_in = px->out.gone_in;
        r.bytes_out = px->out.gone_out;
        r.tls = px->out.gone_tls ? s3w_slice_cstr(px->out.gone_tls) : S3W_SLICE_NULL;
    }
    r.identity_type = s3w_slice_cstr(identity_type_name(px));
    if (px->auth.id_set) {
        r.principal_id = px->auth.id.userid;
        r.arn = px->auth.id.arn;
        r.account_id = px->auth.id.account;
        r.access_key_id = px->auth.id.access_key_id;
        if (px->auth.id.type == CONFIG_PRINCIPAL_ASSUMED_ROLE) {
            r.session_role_arn = px->auth.id.principal_arn;
            r.session_name = px->auth.id.session_name;
        }
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
        audit_log_refusal(shared(px->w)->audit, &r);
    else
        audit_log(shared(px->w)->audit, &r);
    px_count(px, end, r.bytes_in, r.bytes_out);
    proxy_log("INFO", "request_id=%s key_id=%.*s op=%s decision=%s status=%d%s%s%s%s",
              px->reqid, (int)r.access_key_id.len, r.access_key_id.ptr ? r.access_key_id.ptr : "",
              px->authz.map.op ? px->authz.map.op->name : (px->kind == PX_STS ? "sts" : "-"),
              decision ? decision : "-", px->out.status,
              px->out.err_code ? " error=" : "", px->out.err_code ? px->out.err_code : "",
              px->authz.map.detail ? " detail=" : "", px->authz.map.detail ? px->authz.map.detail : "");
    px->out.t0_ns = 0; /* audited once */
}

static void fbt_closed(uv_handle_t *h)
{
    free(h);
}

static void fbt_stop(struct px *px)
{
    if (!px->up.fbt)
        return;
    uv_timer_stop(px->up.fbt);
    px->up.fbt->data = NULL;
    uv_close((uv_handle_t *)px->up.fbt, fbt_closed);
    px->up.fbt = NULL;
}

static void px_free(struct px *px)
{
    fbt_stop(px);
    if (px->up.ident_held)
        ident_limit_release(shared(px->w)->ident, px->up.ident_slot);
    free(px->out.gone_ua);
    if (px->up.xfer.easy) {
        if (px->up.xfer.active)
            up_abort(px->w, &px->up.xfer);
        curl_easy_cleanup(px->up.xfer.easy);
    }
    curl_slist_free_all(px->up.hl);
    free(px->up.url);
    s3w_buf_cleanup(&px->up.copy_src);
    free(px->resp.errbody);
    free(px->body.q.buf);
    if (px->body.sha)
        EVP_MD_CTX_free(px->body.sha);
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
    s3w_buf_cleanup(&px->resp.head);
    s3w_buf_cleanup(&px->resp.body);
    s3w_buf_cleanup(&px->del.newbody);
    free(px->del.dl);
    free(px->del.dl_scratch);
    free(px->body.bk_scratch);
    free(px->del.denied);
    sigv4_result_cleanup(&px->auth.sv);
    if (px->auth.id_set)
        config_identity_cleanup(&px->auth.id);
    config_unref(px->cfg);
    s3w_wipe(px, sizeof(*px));
    free(px);
}

/* Ends the exchange, whichever way it ends: writes its audit record (once),
 * detaches px from its connection and frees it, then tells the connection
 * how the response ends - `resp` is a whole local response to send
 * (PX_END_RESPOND), the streamed response is complete (PX_END_FINISH), or
 * the connection is cut (PX_END_CLOSE). The connection may go on with the
 * next pipelined request at once, so px is gone before that. Inside a curl
 * callback (in_cb) px outlives the call: up_done frees it. */
static void px_finish(struct px *px, enum px_end end, struct s3w_slice resp)
{
    struct proxy_conn *c = px->c;
    if (c && end == PX_END_RESPOND)
        px->out.local_out = resp.len;
    px_done_audit(px);
    px_detach(px);
    px->c = NULL;
    if (!px->in_cb)
        px_free(px);
    if (!c)
        return;
    switch (end) {
    case PX_END_RESPOND: proxy_conn_respond(c, resp.ptr, resp.len, false); break;
    case PX_END_FINISH: proxy_conn_finish(c, false); break;
    case PX_END_CLOSE: proxy_conn_close(c); break;
    }
}

/* ---- identity -> policy principal ----------------------------------------------------- */
static void build_principal(struct px *px)
{
    config_identity_principal(&px->auth.id, &px->authz.principal);
}

/* Bucket named by an S3 ARN ("arn:aws:s3:::bucket/key" -> "bucket"). */
static struct s3w_slice arn_bucket(struct s3w_slice arn)
{
    static const char pre[] = "arn:aws:s3:::";
    if (arn.len <= sizeof(pre) - 1 || memcmp(arn.ptr, pre, sizeof(pre) - 1) != 0)
        return S3W_SLICE_NULL;
    const char *b = arn.ptr + sizeof(pre) - 1;
    size_t n = arn.len - (sizeof(pre) - 1);
    const char *slash = memchr(b, '/', n);
    return s3w_slice(b, slash ? (size_t)(slash - b) : n);
}

/* Evaluates one (action, resource). Returns true when allowed; otherwise
 * sets the AccessDenied message. */
static bool px_authorize(struct px *px, struct s3w_slice action, struct s3w_slice resource)
{
    struct s3w_slice b = arn_bucket(resource);
    const struct config_bucket *bc = b.len ? config_find_bucket(px->cfg, b) : NULL;
    /* A configured bucket's upstream_name is that bucket, not an unlisted
     * one: under "caller_account" it would be reachable with the caller's
     * identity policies alone, past the bucket's owner and policy. */
    bool alias = b.len && !bc && config_find_bucket_upstream(px->cfg, b) != NULL;
    if (b.len && !bc && (alias || px->cfg->unlisted_buckets == CONFIG_UNLISTED_DENY)) {
        /* a bucket the config does not list: the upstream credentials may
         * reach it, but nobody declared its owner or policy, so an identity
         * policy with Resource "*" must not open it (fail closed; config
         * "unlisted_buckets": "caller_account" restores the old rule) */
        struct s3w_slice who = px->authz.principal.arn.len ? px->authz.principal.arn : S3W_SLICE_LIT("anonymous");
        snprintf(px->out.err_msg, sizeof(px->out.err_msg),
                 "User: %.*s is not authorized to perform: %.*s on resource: \"%.*s\" "
                 "because the bucket is not configured in s3warden",
                 (int)who.len, who.ptr, (int)action.len, action.ptr,
                 (int)resource.len, resource.ptr);
        px->authz.decision = PX_DEC_IMPLICIT_DENY;
        px->authz.last = POLICY_IMPLICIT_DENY;
        size_t off = strlen(px->authz.deciding);
        snprintf(px->authz.deciding + off, sizeof(px->authz.deciding) - off, "%sunlisted_buckets:deny",
                 off ? ";" : "");
        return false;
    }
    struct s3w_slice racct;
    if (bc)
        racct = s3w_slice_cstr(bc->account);
    else
        /* "*" (ListBuckets), or an unlisted bucket under "caller_account":
         * the caller's own account with no bucket policy - only the
         * caller's identity policies can allow it, as on AWS */
        racct = px->authz.principal.account;
    struct policy_set set;
    memset(&set, 0, sizeof(set));
    set.guardrails = px->authz.guardrails;
    set.nguardrails = px->authz.nguardrails;
    set.resource = bc && !px->authz.skip_bucket_policy ? bc->policy : NULL;
    set.identity = px->authz.identity_pols;
    set.nidentity = px->authz.nidentity;
    set.boundary = px->authz.boundary ? &px->authz.boundary : NULL;
    set.nboundary = px->authz.boundary ? 1 : 0;
    set.session = px->auth.id_set ? px->auth.id.session_policy : NULL;
    struct policy_request preq = {
        .principal = &px->authz.principal,
        .action = action,
        .resource = resource,
        .resource_account = racct,
        .ctx = &px->authz.ctx,
    };
    if (px->authz.principal.account.len && !s3w_slice_eq(px->authz.principal.account, racct))
        px->authz.cross_account = true;
    struct policy_result res;
    int rc = policy_evaluate(&set, &preq, &res);
    size_t off = strlen(px->authz.deciding);
    for (size_t i = 0; i < res.ndeciding && off + 1 < sizeof(px->authz.deciding); i++) {
        int n = snprintf(px->authz.deciding + off, sizeof(px->authz.deciding) - off, "%s%s:%s%s",
                         off ? ";" : "", res.deciding[i].policy ? res.deciding[i].policy : "?",
                         res.deciding[i].sid ? "" : "#",
                         res.deciding[i].sid ? res.deciding[i].sid : "");
        if (n < 0)
            break;
        if (!res.deciding[i].sid) {
            size_t o2 = off + (size_t)n;
            if (o2 < sizeof(px->authz.deciding))
                snprintf(px->authz.deciding + o2, sizeof(px->authz.deciding) - o2, "%u", res.deciding[i].index);
        }
        off = strlen(px->authz.deciding);
    }
    px->authz.last = rc == POLICY_OK ? res.decision : POLICY_IMPLICIT_DENY;
    px->authz.decision = px_decision_from_policy(px->authz.last);
    if (rc == POLICY_OK && res.decision == POLICY_ALLOWED)
        return true;
    if (rc != POLICY_OK)
        res.decision = POLICY_IMPLICIT_DENY;
    policy_access_denied_message(&preq, &res, px->out.err_msg, sizeof(px->out.err_msg));
    if (!px->out.err_msg[0])
        snprintf(px->out.err_msg, sizeof(px->out.err_msg), "Access Denied");
    return false;
}

/* ---- upstream credentials ------------------------------------------------------------ */
/* Without a credential manager (pl_shared.creds NULL: an embedding that
 * runs none, the unit rigs and the fuzz target), the static keys of the
 * config's chain. main() always runs a manager when the chain has a
 * provider, and every other source (env, profile, IMDS, ...) is read by
 * the manager alone, never per request. */
static bool upstream_creds(const struct config *cfg, struct sigv4_credentials *cr)
{
    for (size_t i = 0; i < cfg->credentials.nchain; i++) {
        const struct config_cred_provider *p = &cfg->credentials.chain[i];
        if (p->source == CONFIG_CRED_STATIC && p->access_key_id && p->secret_access_key) {
            cr->access_key_id = s3w_slice_cstr(p->access_key_id);
            cr->secret = s3w_slice_cstr(p->secret_access_key);
            cr->session_token = s3w_slice_cstr(p->session_token);
            return true;
        }
    }
    return false;
}

/* ---- header policy ---------------------------------------------------------------------- */
static bool name_is(struct s3w_slice n, const char *s)
{
    return s3w_slice_eq_nocase(n, s3w_slice_cstr(s));
}

static bool name_prefix(struct s3w_slice n, const char *pre)
{
    size_t l = strlen(pre);
    return n.len >= l && s3w_slice_eq_nocase(s3w_slice(n.ptr, l), s3w_slice(pre, l));
}

/* Standard headers S3 takes unsigned (README.md, "Security invariants"). */
static bool safe_unsigned(struct s3w_slice n)
{
    static const char *const safe[] = {
        "content-type", "content-md5", "cache-control", "content-disposition",
        "content-encoding", "content-language", "expires", "range",
    };
    for (size_t i = 0; i < sizeof(safe) / sizeof(safe[0]); i++)
        if (name_is(n, safe[i]))
            return true;
    return name_prefix(n, "if-");
}

/* Never forwarded: hop-by-hop (RFC 9110 7.6.1), framing, and the caller's
 * own authentication (replaced by the proxy's). */
static bool never_forward(struct s3w_slice n)
{
    static const char *const drop[] = {
        "host", "authorization", "x-amz-date", "x-amz-content-sha256",
        "x-amz-security-token", "content-length", "transfer-encoding",
        "connection", "keep-alive", "te", "trailer", "upgrade", "expect",
        "proxy-authorization", "proxy-connection",
        "x-amz-region-set", /* SigV4a: the caller's signature's regions */
    };
    for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
        if (name_is(n, drop[i]))
            return true;
    return false;
}

static bool header_signed(const struct px *px, struct s3w_slice name)
{
    if (px->auth.anonymous)
        return false;
    char low[128];
    if (name.len >= sizeof(low))
        return false;
    for (size_t i = 0; i < name.len; i++)
        low[i] = (char)tolower((unsigned char)name.ptr[i]);
    return sigv4_result_signed(&px->auth.sv, s3w_slice(low, name.len));
}

/* ---- first-byte timeout ---------------------------------------------------------------- */
static void fbt_fire(uv_timer_t *t)
{
    struct px *px = t->data;
    if (!px)
        return;
    fbt_stop(px);
    proxy_log("WARN", "request_id=%s upstream sent no response within first_byte_timeout_ms=%u",
              px->reqid, px->cfg->upstream.first_byte_timeout_ms);
    /* not inside a curl callback: px_fail aborts the transfer and frees px */
    px_fail(px, 504, "GatewayTimeout", s3err_default_message("GatewayTimeout"));
}

/* The whole request is on its way upstream: from now on the first response
 * byte must come within upstream.first_byte_timeout_ms (504 otherwise). */
static void fbt_arm(struct px *px)
{
    uint32_t ms = px->cfg->upstream.first_byte_timeout_ms;
    if (!ms || px->up.fbt || px->resp.head_sent)
        return;
    px->up.fbt = malloc(sizeof(*px->up.fbt));
    if (!px->up.fbt)
        return; /* the idle timeout still bounds the wait */
    uv_timer_init(&px->w->loop, px->up.fbt);
    px->up.fbt->data = px;
    uv_timer_start(px->up.fbt, fbt_fire, ms, 0);
}

/* ---- curl callbacks ----------------------------------------------------------------------- */
static size_t up_read(char *buf, size_t size, size_t nitems, void *ud)
{
    struct px *px = ud;
    size_t max = size * nitems;
    if (!px->c || px->body.failed)
        return CURL_READFUNC_ABORT;
    uint64_t remaining = px->body.up_total - px->body.up_sent;
    if (remaining == 0)
        return 0;
    size_t give = px->body.q.len < max ? px->body.q.len : max;
    if (give > remaining)
        give = (size_t)remaining;
    /* Hold back the last byte until the body verified: without it the
     * upstream cannot complete the object (README.md, "Security invariants"). */
    if (!px->body.verified && px->body.up_sent + give >= px->body.up_total)
        give = px->body.up_total - px->body.up_sent > 0 ? (size_t)(px->body.up_total - px->body.up_sent - 1) : 0;
    if (give == 0) {
        px->up.read_paused = true;
        return CURL_READFUNC_PAUSE;
    }
    bq_pop(&px->body.q, buf, give);
    px->body.up_sent += give;
    if (px->body.up_sent == px->body.up_total)
        fbt_arm(px); /* curl has the last byte of the body */
    if (px->c->read_paused && px->body.q.len <= PX_Q_LOW) {
        /* resuming parses buffered client bytes right here, which may
         * close the connection: px must outlive this callback */
        px->in_cb = true;
        proxy_conn_resume_read(px->c);
        px->in_cb = false;
    }
    return give;
}

static void start_response_head(struct px *px);

static size_t up_header(char *buf, size_t size, size_t nitems, void *ud)
{
    struct px *px = ud;
    size_t n = size * nitems;
    fbt_stop(px); /* the first response byte arrived */
    struct s3w_slice line = s3w_slice(buf, n);
    while (line.len && (line.ptr[line.len - 1] == '\n' || line.ptr[line.len - 1] == '\r'))
        line.len--;
    if (line.len >= 5 && memcmp(line.ptr, "HTTP/", 5) == 0) {
        const char *sp = memchr(line.ptr, ' ', line.len);
        px->resp.status = sp ? atoi(sp + 1) : 0;
        /* RFC 9110 15: a status is three digits, 100..599; anything else
         * is no answer to pass on (502, found by the server fuzz target) */
        if (px->resp.status < 100 || px->resp.status > 599)
            return 0;
        /* only an answer with a body can name its error (not HEAD, not 304:
         * the frequent bodiless ones allocate nothing) */
        if (px->resp.status >= 300 && px->resp.status != 304 && !px->resp.errbody && px->c &&
            !px->c->req.is_head)
            px->resp.errbody = malloc(sizeof(*px->resp.errbody)); /* NULL: no errorCode */
        if (px->resp.errbody) {
            px->resp.errbody->len = 0;
            px->resp.errbody->over = false;
        }
        px->resp.cl = 0;
        metrics_upstream_answered(shared(px->w)->metrics); /* /readyz */
        s3w_buf_reset(&px->resp.head);
        px->resp.has_cl = false;
        return n;
    }
    if (line.len == 0) {
        /* A small 400/403 may be S3 refusing the proxy's own credentials,
         * and then its body names them: ExpiredToken and InvalidToken echo
         * the session token in <Token-0>, SignatureDoesNotMatch carries the
         * canonical request with the x-amz-security-token value. Hold it
         * whole (bounded by UP_ERRBODY_MAX); up_done answers it. */
        if ((px->resp.status == 400 || px->resp.status == 403) && px->resp.errbody && px->resp.has_cl &&
            px->resp.cl > 0 && px->resp.cl <= UP_ERRBODY_MAX && px->c && !px->c->req.is_head &&
            !px->resp.collect)
            px->resp.err_hold = true;
        if (px->resp.status >= 200 && !px->resp.head_sent && !px->resp.collect && !px->resp.err_hold) {
            px->in_cb = true;
            start_response_head(px);
            px->in_cb = false;
            if (!px->c)
                return 0;
        }
        return n;
    }
    if (px->resp.status < 200)
        return n;
    const char *colon = memchr(line.ptr, ':', line.len);
    if (!colon)
        return n;
    struct s3w_slice name = s3w_slice(line.ptr, (size_t)(colon - line.ptr));
    struct s3w_slice value = s3w_slice(colon + 1, line.len - name.len - 1);
    while (value.len && (value.ptr[0] == ' ' || value.ptr[0] == '\t'))
        value.ptr++, value.len--;
    if (name_is(name, "connection") || name_is(name, "keep-alive") ||
        name_is(name, "transfer-encoding") || name_is(name, "te") ||
        name_is(name, "trailer") || name_is(name, "upgrade") ||
        name_is(name, "proxy-connection"))
        return n;
    if (name_is(name, "content-length")) {
        px->resp.has_cl = true;
        px->resp.cl = 0;
        for (size_t i = 0; i < value.len && px->resp.cl <= UINT32_MAX; i++)
            px->resp.cl = value.ptr[i] >= '0' && value.ptr[i] <= '9'
                            ? px->resp.cl * 10 + (uint64_t)(value.ptr[i] - '0') : UINT64_MAX;
    }
    if (name_is(name, "x-amz-request-id"))
        snprintf(px->resp.up_reqid, sizeof(px->resp.up_reqid), "%.*s", (int)value.len, value.ptr);
    if (s3w_buf_append_slice(&px->resp.head, name) != 0 ||
        s3w_buf_append_cstr(&px->resp.head, ": ") != 0 ||
        s3w_buf_append_slice(&px->resp.head, value) != 0 ||
        s3w_buf_append_cstr(&px->resp.head, "\r\n") != 0)
        return 0; /* upstream header block over the cap: abort */
    return n;
}

static void start_response_head(struct px *px)
{
    struct proxy_conn *c = px->c;
    if (!c || px->resp.head_sent)
        return;
    struct s3w_buf h;
    s3w_buf_init(&h, PX_RESP_HEAD_MAX + 1024);
    bool nobody = c->req.is_head || px->resp.status == 204 || px->resp.status == 304;
    px->resp.chunked = !px->resp.has_cl && !nobody;
    s3w_buf_printf(&h, "HTTP/1.1 %d %s\r\n", px->resp.status, s3err_reason(px->resp.status));
    s3w_buf_append(&h, px->resp.head.ptr, px->resp.head.len);
    if (px->resp.chunked)
        s3w_buf_append_cstr(&h, "Transfer-Encoding: chunked\r\n");
    if (proxy_conn_announce_close(c))
        s3w_buf_append_cstr(&h, "Connection: close\r\n");
    s3w_buf_append_cstr(&h, "\r\n");
    px->resp.head_sent = true;
    px->out.status = px->resp.status;
    proxy_conn_write(c, h.ptr, h.len);
    s3w_buf_cleanup(&h);
}

static size_t up_write(char *buf, size_t size, size_t nitems, void *ud)
{
    struct px *px = ud;
    size_t n = size * nitems;
    if (!px->c)
        return 0;
    if (px->resp.collect) {
        if (s3w_buf_append(&px->resp.body, buf, n) != 0)
            return 0;
        if (px->resp.status >= 300 && px->resp.errbody)
            up_errbody_add(px->resp.errbody, buf, n);
        return n;
    }
    if (px->resp.err_hold) {
        up_errbody_add(px->resp.errbody, buf, n); /* at most up_cl <= the cap */
        return n;
    }
    if (!px->resp.head_sent) {
        px->in_cb = true;
        start_response_head(px);
        px->in_cb = false;
        if (!px->c)
            return 0;
    }
    if (px->c->out_pending > PROXY_OUT_HIGH) {
        /* the client is behind: curl keeps these bytes and we resume it
         * from on_drain */
        px->resp.write_paused = true;
        return CURL_WRITEFUNC_PAUSE;
    }
    if (px->resp.status >= 300 && px->resp.errbody)
        up_errbody_add(px->resp.errbody, buf, n); /* curl hands these bytes once */
    px->in_cb = true;
    if (px->resp.chunked) {
        char hdr[24];
        int hl = snprintf(hdr, sizeof(hdr), "%zx\r\n", n);
        proxy_conn_write(px->c, hdr, (size_t)hl);
        if (px->c)
            proxy_conn_write(px->c, buf, n);
        if (px->c)
            proxy_conn_write(px->c, "\r\n", 2);
    } else {
        proxy_conn_write(px->c, buf, n);
    }
    px->in_cb = false;
    return px->c ? n : 0;
}

static void finish_delete(struct px *px);
static void finish_list_buckets(struct px *px);
static void finish_bucket_location(struct px *px);

/* An upstream error answer, complete: its <Code> (small bodies only, see
 * up_errbody) is the audit record's errorCode. A 403 refusing the proxy's
 * own credentials asks the manager for fresh ones - they may have been
 * rotated or revoked since the last fetch (it runs at most one fetch a
 * second however many requests ask); this client gets the upstream's
 * answer as it came. */
static void px_upstream_error(struct px *px)
{
    if (!px->resp.errbody || !up_errbody_code(px->resp.errbody, px->resp.up_code, sizeof(px->resp.up_code)))
        return;
    px->out.err_code = px->resp.up_code;
    struct creds_mgr *mgr = shared(px->w)->creds;
    /* S3 answers ExpiredToken and InvalidToken with 400, the other two
     * with 403 (S3 API reference, "List of error codes") */
    if ((px->resp.status == 400 || px->resp.status == 403) && mgr &&
        up_code_is_credential_error(px->resp.up_code)) {
        proxy_log("WARN", "request_id=%s upstream refused the proxy's credentials (%s): refreshing them",
                  px->reqid, px->resp.up_code);
        creds_mgr_refresh_now(mgr);
    }
}

static void up_done(struct up_xfer *x, CURLcode rc)
{
    struct px *px = x->ud;
    px->up.t_done_ns = now_ns();
    fbt_stop(px);
    if (!px->c) {
        /* the client went away while curl ran */
        px_finish(px, PX_END_CLOSE, S3W_SLICE_NULL);
        return;
    }
    if (px->body.failed) {
        px_fail(px, px->out.status, px->out.err_code, px->out.err_msg);
        return;
    }
    if (rc != CURLE_OK) {
        int status = 502;
        const char *code = "BadGateway";
        if (rc == CURLE_OPERATION_TIMEDOUT) {
            status = 504;
            code = "GatewayTimeout";
        }
        proxy_log("WARN", "request_id=%s upstream error: %s", px->reqid, curl_easy_strerror(rc));
        px_fail(px, status, code, s3err_default_message(code));
        return;
    }
    if (px->resp.status >= 300)
        px_upstream_error(px);
    if ((px->resp.err_hold || px->resp.collect) && (px->resp.status == 400 || px->resp.status == 403) &&
        px->resp.up_code[0] && up_code_is_credential_error(px->resp.up_code)) {
        /* the upstream's status and code, none of its body (the proxy's
         * key id, token, canonical request): no secret in an error. The
         * collected answers (DeleteObjects, ListBuckets) too: they would
         * pass the error document on. */
        snprintf(px->out.err_msg, sizeof(px->out.err_msg),
                 "The upstream storage service refused s3warden's own credentials (%s); "
                 "s3warden is fetching new ones. Retry the request.", px->resp.up_code);
        px_fail(px, px->resp.status, px->resp.up_code, px->out.err_msg);
        return;
    }
    if (px->resp.collect) {
        if (px->resp.list_buckets)
            finish_list_buckets(px);
        else if (px->resp.bucket_location)
            finish_bucket_location(px);
        else
            finish_delete(px);
        return;
    }
    /* a write that fails closes c at once, and pl_on_abort would free px
     * under us: it only detaches while in_cb is set */
    px->in_cb = true;
    if (!px->resp.head_sent)
        start_response_head(px);
    if (px->resp.err_hold && px->c)
        proxy_conn_write(px->c, px->resp.errbody->buf, px->resp.errbody->len); /* held, not a credential error */
    if (px->resp.chunked && px->c)
        proxy_conn_write(px->c, "0\r\n\r\n", 5);
    px->in_cb = false;
    px_finish(px, PX_END_FINISH, S3W_SLICE_NULL);
}

/* ---- upstream request --------------------------------------------------------------------- */
/* One line onto the upstream header list. curl_slist_append answers NULL
 * when it cannot allocate, without freeing the list: assigned blindly, the
 * list leaked and the next line started a new one, and the request went
 * out without the lines before it. */
static int hl_append(struct px *px, const char *line)
{
    struct curl_slist *l = curl_slist_append(px->up.hl, line);
    if (!l)
        return -1;
    px->up.hl = l;
    return 0;
}

/* A header line of the proxy's own signature: -1 if it would not fit (the
 * caps of sigv4_signed and CREDS_MAX_TOKEN keep it under the line). */
static int hl_append_fmt(struct px *px, char *line, size_t cap, const char *name,
                         struct s3w_slice value)
{
    int n = snprintf(line, cap, "%s: %.*s", name, (int)value.len, value.ptr);
    return n < 0 || (size_t)n >= cap ? -1 : hl_append(px, line);
}

static int add_header(struct px *px, struct s3w_header *sh, size_t *nsh,
                      struct s3w_slice name, struct s3w_slice value, bool sign)
{
    char line[16384];
    if (name.len + value.len + 3 > sizeof(line))
        return -1;
    int n;
    if (value.len == 0)
        n = snprintf(line, sizeof(line), "%.*s;", (int)name.len, name.ptr);
    else
        n = snprintf(line, sizeof(line), "%.*s: %.*s", (int)name.len, name.ptr,
                     (int)value.len, value.ptr);
    if (n < 0 || hl_append(px, line) != 0)
        return -1;
    if (sign) {
        if (*nsh >= HTTP_MAX_HEADERS + 4)
            return -1;
        sh[(*nsh)++] = (struct s3w_header){ name, value };
    }
    return 0;
}

static bool is_presign_param(struct s3w_slice k)
{
    static const char *const names[] = {
        "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
        "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token",
        "X-Amz-Region-Set", /* SigV4a presigned URLs */
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (s3w_slice_eq_nocase(k, s3w_slice_cstr(names[i])))
            return true;
    return false;
}

/* A query parameter name that decodes to x-amz-copy-source (s3map reads it
 * as the header: presigners hoist x-amz-* headers into the query). */
static bool is_copy_source_param(struct s3w_slice k)
{
    char name[32];
    long n = k.len < 3 * sizeof(name) ? pl_pct_decode(k, name, sizeof(name)) : -1;
    return n > 0 && s3w_slice_eq_nocase(s3w_slice(name, (size_t)n), S3W_SLICE_LIT("x-amz-copy-source"));
}

/* The query without the presigned-URL parameters (they are the caller's
 * authentication, replaced by the proxy's header signature) and, with
 * drop_copy_source, without x-amz-copy-source (sent as a rebuilt header). */
static int filtered_query(struct s3w_slice q, bool drop_copy_source, struct s3w_buf *out)
{
    size_t i = 0;
    bool first = true;
    while (i < q.len) {
        const char *amp = memchr(q.ptr + i, '&', q.len - i);
        size_t end = amp ? (size_t)(amp - q.ptr) : q.len;
        struct s3w_slice part = s3w_slice(q.ptr + i, end - i);
        const char *eq = memchr(part.ptr, '=', part.len);
        struct s3w_slice k = s3w_slice(part.ptr, eq ? (size_t)(eq - part.ptr) : part.len);
        if (part.len && !is_presign_param(k) && !(drop_copy_source && is_copy_source_param(k))) {
            if (!first && s3w_buf_append_char(out, '&') != 0)
                return -1;
            if (s3w_buf_append_slice(out, part) != 0)
                return -1;
            first = false;
        }
        i = end + 1;
    }
    return 0;
}

/* Keys are forwarded so that no hop can reinterpret them (README,
 * "Security invariants"): a hop that removes dot-segments (RFC 3986 5.2.4: load
 * balancers, HTTP libraries) would turn the authorized key a/../b into b,
 * another object, so a segment that is exactly "." or ".." goes as %2E
 * per dot; S3 decodes it back to the same key. The signer's canonical URI
 * decodes each segment once and re-encodes it as S3 does (canonical.c),
 * so it holds ".." for the %2E%2E sent: what S3 computes too (RGW and moto
 * both refuse a signature over a literal %2E%2E). */
int pl_key_path_encode(struct s3w_slice key, struct s3w_buf *out)
{
    size_t i = 0;
    int rc = 0;
    while (rc == 0 && key.len) {
        const char *slash = memchr(key.ptr + i, '/', key.len - i);
        size_t e = slash ? (size_t)(slash - key.ptr) : key.len;
        struct s3w_slice seg = s3w_slice(key.ptr + i, e - i);
        if (s3w_slice_eq_cstr(seg, ".") || s3w_slice_eq_cstr(seg, "..")) {
            for (size_t k = 0; k < seg.len && rc == 0; k++)
                rc = s3w_buf_append_cstr(out, "%2E");
        } else {
            rc = sigv4_uri_encode(seg, false, out);
        }
        if (!slash)
            break;
        if (rc == 0)
            rc = s3w_buf_append_char(out, '/');
        i = e + 1;
    }
    return rc;
}

/* A bucket name usable as DNS labels: [a-z0-9-] labels joined by single
 * dots, 3..63 bytes, no leading/trailing dot or hyphen (S3 bucket naming
 * rules; names outside them stay path-style). */
static bool dns_bucket(struct s3w_slice b)
{
    if (b.len < 3 || b.len > 63)
        return false;
    for (size_t i = 0; i < b.len; i++) {
        char ch = b.ptr[i];
        bool edge = i == 0 || i + 1 == b.len;
        if (ch == '.' || ch == '-') {
            if (edge || (ch == '.' && (b.ptr[i - 1] == '.' || b.ptr[i - 1] == '-' ||
                                       b.ptr[i + 1] == '-')))
                return false;
        } else if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))) {
            return false;
        }
    }
    return true;
}

/* upstream.max_connections_per_identity: an identity that already has that
 * many requests in flight upstream (on any worker) gets 503 SlowDown, which
 * the SDKs retry with backoff, so that one caller holding transfers open
 * (GETs it never reads, PUTs that trickle) cannot starve the others. Role
 * sessions count against their role: new session names do not buy more. */
static bool px_take_upstream_slot(struct px *px)
{
    struct pl_shared *s = shared(px->w);
    if (!s->ident)
        return true;
    struct s3w_slice key = px->auth.id_set ? px->auth.id.principal_arn : s3w_slice_cstr("anonymous");
    uint32_t max = px->cfg->upstream.max_connections_per_identity;
    int slot = ident_limit_acquire(s->ident, key, max ? max : 1);
    if (slot == IDENT_LIMIT_FULL) {
        if (px->w->metrics)
            metrics_bump(&px->w->metrics->refused[METRICS_REFUSE_IDENTITY_UPSTREAM], 1);
        proxy_log("INFO", "request_id=%s identity %.*s has max_connections_per_identity=%u "
                  "requests upstream: 503 SlowDown", px->reqid, (int)key.len, key.ptr, max);
        px_fail(px, 503, "SlowDown", s3err_default_message("SlowDown"));
        return false;
    }
    px->up.ident_slot = slot;
    px->up.ident_held = slot >= 0;
    return true;
}

static int start_upstream(struct px *px, struct s3w_slice payload_hash,
                          bool has_body, const char *content_md5)
{
    struct proxy_conn *c = px->c;
    if (!px->up.ident_held && !px_take_upstream_slot(px))
        return -1;
    const struct config *cfg = px->cfg;
    struct sigv4_credentials cr;
    struct creds_mgr *mgr = shared(px->w)->creds;
    const struct creds_snapshot *snap = mgr ? creds_mgr_acquire(mgr) : NULL;
    bool have = false;
    if (snap) {
        cr = snap->sigv4;
        have = true;
    } else if (!mgr) {
        have = upstream_creds(cfg, &cr);
    }
    if (!have) {
        struct pl_worker *pw = plw(px->w);
        if (!pw->warned_no_creds) {
            proxy_log("ERROR", "no valid upstream credentials: answering 503 until there are");
            pw->warned_no_creds = true;
        }
        px_fail(px, 503, "ServiceUnavailable",
                "s3warden has no valid credentials for the upstream at the moment.");
        return -1;
    }
    /* target: path-style on the configured endpoint, with the bucket alias */
    struct s3w_buf target;
    s3w_buf_init(&target, 16384);
    int rc = 0;
    struct s3w_slice ub = px->route.bcfg && px->route.bcfg->upstream_name
                              ? s3w_slice_cstr(px->route.bcfg->upstream_name) : px->route.bucket;
    /* upstream.addressing "virtual": BUCKET.ENDPOINT-HOST/KEY (S3 User
     * Guide, "Virtual hosting of buckets"); a name that is not a DNS label
     * sequence goes path-style, as the SDKs do */
    bool vhost = cfg->upstream.addressing == CONFIG_ADDRESSING_VIRTUAL && dns_bucket(ub);
    if (vhost) {
        rc |= s3w_buf_append_char(&target, '/');
        if (px->route.key_len)
            rc |= pl_key_path_encode(s3w_slice(px->route.key, px->route.key_len), &target);
    } else if (px->route.bucket.len) {
        rc |= s3w_buf_append_char(&target, '/');
        rc |= sigv4_uri_encode(ub, false, &target);
        if (px->route.key_len || (c->req.path.len > px->route.bucket.len + 1 &&
                            c->req.path.ptr[c->req.path.len - 1] == '/' && px->route.key_len)) {
            rc |= s3w_buf_append_char(&target, '/');
            rc |= pl_key_path_encode(s3w_slice(px->route.key, px->route.key_len), &target);
        }
    } else {
        rc |= s3w_buf_append_char(&target, '/');
    }
    /* ListBuckets: the upstream gets no query - its prefix would match
     * upstream names and its pagination count buckets the caller does not
     * see; the prefix is applied to the caller's names (listbuckets.h) */
    if (c->req.has_query && !px->resp.list_buckets) {
        struct s3w_buf q;
        s3w_buf_init(&q, 16384);
        rc |= filtered_query(c->req.query, (px->authz.map.flags & S3MAP_F_COPY) != 0, &q);
        if (q.len) {
            rc |= s3w_buf_append_char(&target, '?');
            rc |= s3w_buf_append(&target, q.ptr, q.len);
        }
        s3w_buf_cleanup(&q);
    }
    /* endpoint authority for Host */
    const char *ep = cfg->upstream.endpoint;
    const char *auth = strstr(ep, "://");
    auth = auth ? auth + 3 : ep;
    size_t alen = strcspn(auth, "/");
    size_t slen = (size_t)(auth - ep); /* "http://" */
    char vauth[S3MAP_MAX_BUCKET_BYTES + 1 + 512];
    if (vhost) {
        int vn = snprintf(vauth, sizeof(vauth), "%.*s.%.*s", (int)ub.len, ub.ptr, (int)alen, auth);
        if (vn < 0 || (size_t)vn >= sizeof(vauth))
            rc = -1;
        else {
            auth = vauth;
            alen = (size_t)vn;
        }
    }
    px->up.url = malloc(slen + alen + target.len + 1);
    if (rc != 0 || !px->up.url) {
        creds_snapshot_release(snap);
        s3w_buf_cleanup(&target);
        px_fail_internal(px);
        return -1;
    }
    memcpy(px->up.url, ep, slen);
    memcpy(px->up.url + slen, auth, alen);
    memcpy(px->up.url + slen + alen, target.ptr, target.len);
    px->up.url[slen + alen + target.len] = 0;

    struct s3w_header sh[HTTP_MAX_HEADERS + 8];
    size_t nsh = 0;
    rc |= add_header(px, sh, &nsh, S3W_SLICE_LIT("Host"), s3w_slice(auth, alen), true);
    bool decoded = px->body.bm == BM_CHUNKED && !px->body.passthrough;
    /* decoded: the Content-Encoding codings other than aws-chunked, of
     * every such header in order, sent as one field after the loop. Its own
     * storage, complete before anything borrows it (a slice into a buffer
     * that a second header grew was read freed by the signer); the codings
     * are a part of the head, so its cap cannot be hit. */
    struct s3w_buf ce;
    s3w_buf_init(&ce, HTTP_MAX_HEAD);
    for (size_t i = 0; i < c->req.nheaders && rc == 0; i++) {
        struct s3w_slice n = c->req.headers[i].name, v = c->req.headers[i].value;
        if (never_forward(n))
            continue;
        if ((px->authz.map.flags & S3MAP_F_COPY) && name_is(n, "x-amz-copy-source"))
            continue; /* rebuilt below */
        if (decoded && (name_is(n, "x-amz-decoded-content-length") || name_is(n, "x-amz-trailer")))
            continue;
        if (px->kind == PX_DELETE && (name_is(n, "content-md5") || name_prefix(n, "x-amz-checksum-") ||
                                      name_is(n, "x-amz-sdk-checksum-algorithm")))
            continue;
        if (decoded && name_is(n, "content-encoding")) {
            /* the upstream gets the decoded body: drop the aws-chunked
             * coding, keep the others (RFC 9110 8.4: a list, in the order
             * they were applied) */
            size_t j = 0;
            while (j < v.len) {
                const char *comma = memchr(v.ptr + j, ',', v.len - j);
                size_t e = comma ? (size_t)(comma - v.ptr) : v.len;
                struct s3w_slice tok = s3w_slice(v.ptr + j, e - j);
                while (tok.len && (tok.ptr[0] == ' ' || tok.ptr[0] == '\t'))
                    tok.ptr++, tok.len--;
                while (tok.len && (tok.ptr[tok.len - 1] == ' ' || tok.ptr[tok.len - 1] == '\t'))
                    tok.len--;
                if (tok.len && !name_is(tok, "aws-chunked")) {
                    if (ce.len)
                        rc |= s3w_buf_append_char(&ce, ',');
                    rc |= s3w_buf_append_slice(&ce, tok);
                }
                j = e + 1;
            }
            continue;
        }
        bool sig = header_signed(px, n);
        /* an anonymous request has no signature to cover its x-amz-*
         * headers: S3 takes them as sent, and the policy has just been
         * evaluated on them (a Deny on a Null s3:x-amz-server-side-encryption
         * passed because of the header, so the upstream must get it) */
        if (px->auth.anonymous && name_prefix(n, "x-amz-"))
            sig = true;
        /* pass-through framing headers were verified by the decoder */
        if (px->body.passthrough && (name_is(n, "x-amz-decoded-content-length") ||
                                name_is(n, "x-amz-trailer")))
            sig = true;
        if (!sig && !safe_unsigned(n))
            continue;
        rc |= add_header(px, sh, &nsh, n, v, true);
    }
    if (ce.len)
        rc |= add_header(px, sh, &nsh, S3W_SLICE_LIT("Content-Encoding"), s3w_buf_slice(&ce), true);
    if (content_md5)
        rc |= add_header(px, sh, &nsh, S3W_SLICE_LIT("Content-MD5"), s3w_slice_cstr(content_md5), true);
    if (rc == 0 && (px->authz.map.flags & S3MAP_F_COPY)) {
        /* the source that was authorized, named as the upstream knows it:
         * a local bucket's upstream_name, as for the target (S3 API
         * reference, CopyObject: "/bucket/key?versionId=", URL-encoded) */
        const struct s3map_copy_source *cs = &px->authz.map.copy;
        const struct config_bucket *sb = config_find_bucket(cfg, cs->bucket);
        struct s3w_slice sbn = sb && sb->upstream_name ? s3w_slice_cstr(sb->upstream_name) : cs->bucket;
        s3w_buf_init(&px->up.copy_src, 4 * (S3MAP_ARN_MAX + S3MAP_MAX_QUERY_BYTES));
        rc |= s3w_buf_append_char(&px->up.copy_src, '/');
        rc |= sigv4_uri_encode(sbn, false, &px->up.copy_src);
        rc |= s3w_buf_append_char(&px->up.copy_src, '/');
        rc |= pl_key_path_encode(cs->key, &px->up.copy_src);
        if (cs->version_id.ptr) {
            rc |= s3w_buf_append_cstr(&px->up.copy_src, "?versionId=");
            rc |= sigv4_uri_encode(cs->version_id, false, &px->up.copy_src);
        }
        if (rc == 0)
            rc |= add_header(px, sh, &nsh, S3W_SLICE_LIT("x-amz-copy-source"),
                             s3w_buf_slice(&px->up.copy_src), true);
    }
    /* curl adds these unless told not to; none of them is wanted upstream */
    rc |= rc == 0 ? hl_append(px, "Accept:") : 0;
    rc |= rc == 0 ? hl_append(px, "Expect:") : 0;
    rc |= rc == 0 ? hl_append(px, "Transfer-Encoding:") : 0;

    struct sigv4_sign_params sp = {
        .method = c->req.method,
        .target = s3w_buf_slice(&target),
        .headers = sh,
        .n_headers = nsh,
        .region = s3w_slice_cstr(cfg->upstream.region),
        .service = S3W_SLICE_LIT("s3"),
        .uri_mode = SIGV4_URI_S3,
        .now = px->now,
        .payload = payload_hash,
        .cache = &plw(px->w)->up_kc,
    };
    struct sigv4_signed sd;
    struct sigv4_error serr;
    memset(&sd, 0, sizeof(sd));
    if (rc == 0)
        rc = sigv4_sign_headers(&sp, &cr, &sd, &serr);
    s3w_buf_cleanup(&ce); /* the signer was the last to borrow it */
    if (rc != 0) {
        creds_snapshot_release(snap);
        sigv4_signed_cleanup(&sd);
        s3w_buf_cleanup(&target);
        px_fail_internal(px);
        return -1;
    }
    if (px->body.passthrough) {
        struct sigv4_chunked_enc_params encp = {
            .mode = px->body.smode,
            .amz_date = s3w_slice_cstr(sd.amz_date),
            .scope = s3w_slice(sd.scope, sd.scope_len),
            .seed_signature = s3w_slice(sd.seed_signature_hex, 64),
            .ops = &sigv4_chain_hmac_ops,
            .ops_ctx = &px->body.up_chain,
        };
        int erc = 0;
        if (sigv4_stream_mode_signed(px->body.smode)) {
            erc = sigv4_chain_hmac_init(&px->body.up_chain, sd.signing_key);
            px->body.up_chain_init = erc == 0;
        }
        if (erc == 0)
            erc = sigv4_chunked_encoder_init(&px->body.enc, &encp);
        px->body.enc_init = erc == 0;
        /* fixed-size chunks, so the Content-Length is known up front; a
         * client chunk of exactly that size goes out with its verified
         * SHA-256 reused (chunked.h, buffered framing) */
        if (erc == 0)
            erc = sigv4_chunked_encoder_buffer(&px->body.enc, PX_RECHUNK);
        if (erc != 0) {
            creds_snapshot_release(snap);
            sigv4_signed_cleanup(&sd);
            s3w_buf_cleanup(&target);
            px_fail_internal(px);
            return -1;
        }
    }
    char line[4200];
    rc = hl_append_fmt(px, line, sizeof(line), "Authorization",
                       s3w_slice(sd.authorization, sd.authorization_len));
    rc |= hl_append_fmt(px, line, sizeof(line), "x-amz-date", s3w_slice_cstr(sd.amz_date));
    rc |= hl_append_fmt(px, line, sizeof(line), "x-amz-content-sha256",
                        s3w_slice(sd.content_sha256, sd.content_sha256_len));
    if (sd.security_token.len)
        rc |= hl_append_fmt(px, line, sizeof(line), "x-amz-security-token", sd.security_token);
    s3w_wipe(line, sizeof(line));
    sigv4_signed_cleanup(&sd);
    s3w_buf_cleanup(&target);
    creds_snapshot_release(snap); /* the token header line is copied in hl */
    snap = NULL;

    CURL *e = rc == 0 ? curl_easy_init() : NULL;
    if (!e) {
        px_fail_internal(px);
        return -1;
    }
    px->up.xfer.easy = e;
    px->up.xfer.done = up_done;
    px->up.xfer.ud = px;
    char method[16];
    snprintf(method, sizeof(method), "%.*s", (int)c->req.method.len, c->req.method.ptr);
    curl_easy_setopt(e, CURLOPT_URL, px->up.url);
    curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, px->up.hl);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, up_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, px);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, up_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, px);
    curl_easy_setopt(e, CURLOPT_HTTP_CONTENT_DECODING, 0L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->upstream.connect_timeout_ms);
    if (cfg->upstream.idle_timeout_ms) {
        /* stalled transfers: under 1 byte/s for the idle timeout */
        long secs = (long)(cfg->upstream.idle_timeout_ms + 999) / 1000;
        curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, secs);
    }
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, cfg->upstream.tls_verify ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, cfg->upstream.tls_verify ? 2L : 0L);
    if (cfg->upstream.ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, cfg->upstream.ca_file);
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 128L * 1024);
    curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, 128L * 1024);
    if (c->req.is_head) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (has_body) {
        curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)px->body.up_total);
        curl_easy_setopt(e, CURLOPT_READFUNCTION, up_read);
        curl_easy_setopt(e, CURLOPT_READDATA, px);
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    } else {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    }
    px->up.t_ns = now_ns();
    if (up_start(px->w, &px->up.xfer) != 0) {
        px_fail_internal(px);
        return -1;
    }
    if (c->req.is_head || !has_body || px->body.up_total == 0)
        fbt_arm(px); /* no body to send: the request is all out */
    return 0;
}

/* ---- request body -------------------------------------------------------------------------- */
static void body_fail(struct px *px, int status, const char *code, const char *msg)
{
    px->body.failed = true;
    px->out.status = status;
    px->out.err_code = code;
    snprintf(px->out.err_msg, sizeof(px->out.err_msg), "%s", msg);
    if (px->up.xfer.active) {
        /* let curl call us: up_read answers ABORT, up_done sends the error */
        if (px->up.read_paused) {
            px->up.read_paused = false;
            up_unpause(px->w, &px->up.xfer);
        }
        return;
    }
    px_fail(px, status, code, px->out.err_msg);
}

/* The body's SHA-256 against the one the caller signed, if it signed one
 * (x-amz-content-sha256 of 64 hex digits; anonymous and UNSIGNED-PAYLOAD
 * requests have none). The one check of a signed payload hash, before any
 * of the body completes upstream or is parsed. false after answering 400
 * XAmzContentSHA256Mismatch (through curl if a transfer runs). */
static bool px_payload_hash_ok(struct px *px, const uint8_t sha256[32])
{
    if (px->auth.anonymous || !px->auth.sv.has_payload_sha256)
        return true;
    struct sigv4_error err;
    if (sigv4_check_payload_sha256(&px->auth.sv, sha256, &err) == 0)
        return true;
    body_fail(px, 400, "XAmzContentSHA256Mismatch", err.message);
    return false;
}

static int rechunk_out(void *arg, const void *p, size_t n)
{
    struct px *px = arg;
    return bq_push(&px->body.q, p, n);
}

static int chunk_sink(void *arg, const struct sigv4_chunk_piece *piece)
{
    struct px *px = arg;
    if (!px->body.passthrough) {
        if (bq_push(&px->body.q, piece->data, piece->len) != 0)
            return -1;
        if (piece->last)
            px->body.verified = true;
        return 0;
    }
    /* re-frame: verified bytes go out in fixed-size chunks signed with the
     * proxy's key, so the upstream Content-Length is known in advance */
    if (piece->len && sigv4_chunked_encode_write(&px->body.enc, piece->data, piece->len, piece->sha256,
                                                 rechunk_out, px) != 0)
        return -1;
    if (piece->last) {
        const struct sigv4_trailer *tr = NULL;
        size_t ntr = sigv4_chunked_trailers(px->body.dec, &tr);
        struct s3w_buf scratch;
        s3w_buf_init(&scratch, 8192);
        int rc = sigv4_chunked_encode_write_finish(&px->body.enc, tr, ntr, &scratch, rechunk_out, px);
        s3w_buf_cleanup(&scratch);
        if (rc != 0)
            return -1;
        /* the trailers, checksums and signatures verified: the final chunk
         * may now go out */
        px->body.verified = true;
    }
    return 0;
}

static void wake_curl_reader(struct px *px)
{
    if (px->up.read_paused && px->up.xfer.active) {
        px->up.read_paused = false;
        up_unpause(px->w, &px->up.xfer);
    }
}

static int pl_on_body(struct proxy_conn *c, const char *p, size_t n)
{
    struct px *px = c->ex;
    if (!px || px->body.failed)
        return 0;
    switch (px->body.bm) {
    case BM_COLLECT:
        if (s3w_buf_append(&px->body.collect, p, n) != 0) {
            if (px->kind == PX_BODY_KEYS)
                body_fail(px, s3map_error_status(S3MAP_E_TOO_BIG), s3map_error_code(S3MAP_E_TOO_BIG),
                          s3map_strerror(S3MAP_E_TOO_BIG));
            else
                body_fail(px, 400, "MalformedXML", "The request body is larger than s3warden accepts for this operation.");
            return 0; /* the error response is ours, not the HTTP layer's */
        }
        return 0;
    case BM_SIGNED:
        EVP_DigestUpdate(px->body.sha, p, n);
        /* fall through */
    case BM_PLAIN:
        if (px->body.ck_want.ptr)
            sigv4_cksum_update(&px->body.ck, p, n);
        if (px->body.md5)
            EVP_DigestUpdate(px->body.md5, p, n);
        if (bq_push(&px->body.q, p, n) != 0) {
            body_fail(px, 500, "InternalError", s3err_default_message("InternalError"));
            return 0;
        }
        break;
    case BM_CHUNKED: {
        int rc = sigv4_chunked_decode(px->body.dec, p, n);
        if (rc != 0) {
            struct sigv4_chunk_error ce = sigv4_chunked_error(px->body.dec);
            body_fail(px, ce.http_status ? ce.http_status : 400,
                      ce.code ? ce.code : "InvalidRequest",
                      ce.message ? ce.message : "Invalid aws-chunked body.");
            return 0;
        }
        break;
    }
    case BM_NONE:
        return 0;
    }
    if (px->body.q.len > PX_Q_HIGH)
        proxy_conn_pause_read(c);
    wake_curl_reader(px);
    return 0;
}

static void px_after_collect(struct px *px);

/* Whole-body checksums of a plain body (BM_PLAIN, BM_SIGNED). S3 checks
 * x-amz-checksum-<algo> and Content-MD5 itself (User Guide, "Checking
 * object integrity"); many S3-compatible stores do not, so s3warden does
 * and holds the last byte back until they match (README.md, "Security invariants":
 * nothing the caller checksummed completes upstream altered). Returns
 * false after answering the error. */
static bool px_checksums_init(struct px *px)
{
    const struct http_request *r = &px->c->req;
    for (size_t i = 0; i < r->nheaders; i++) {
        enum sigv4_cksum_algo a = sigv4_cksum_algo_from_header(r->headers[i].name);
        if (a == SIGV4_CKSUM_NONE)
            continue;
        if (px->body.ck_want.ptr) {
            px_fail(px, 400, "InvalidRequest", "Expecting a single x-amz-checksum- header. "
                                               "Multiple checksum Types are not allowed.");
            return false;
        }
        if (sigv4_cksum_init(&px->body.ck, a) != 0) {
            px_fail_internal(px);
            return false;
        }
        px->body.ck_want = r->headers[i].value;
        if (!px->body.ck_want.ptr)
            px->body.ck_want = S3W_SLICE_LIT("");
    }
    const struct s3w_header *md5 = px->hdr.content_md5;
    if (md5) {
        if (px->hdr.ncontent_md5 > 1) {
            px_fail(px, 400, "InvalidDigest", "The Content-MD5 you specified was invalid.");
            return false;
        }
        px->body.md5 = EVP_MD_CTX_new();
        if (!px->body.md5 || EVP_DigestInit_ex(px->body.md5, EVP_md5(), NULL) != 1) {
            px_fail_internal(px);
            return false;
        }
        px->body.md5_want = md5->value;
    }
    if (px->body.ck_want.ptr || px->body.md5)
        px->body.verified = false;
    return true;
}

/* The whole body is in: false (and the error under way) on a mismatch. */
static bool px_checksums_match(struct px *px)
{
    if (px->body.ck_want.ptr) {
        const char *name = sigv4_cksum_algo_name(px->body.ck.algo);
        uint8_t d[SIGV4_CKSUM_MAX_DIGEST];
        int n = sigv4_cksum_final(&px->body.ck, d);
        if (n < 0 || !sigv4_cksum_b64_matches(px->body.ck_want, d, (size_t)n)) {
            char msg[128];
            snprintf(msg, sizeof(msg), "The %s you specified did not match the calculated checksum.",
                     name);
            body_fail(px, 400, "BadDigest", msg);
            return false;
        }
    }
    if (px->body.md5) {
        uint8_t d[EVP_MAX_MD_SIZE];
        unsigned int n = 0;
        if (EVP_DigestFinal_ex(px->body.md5, d, &n) != 1 || !sigv4_cksum_b64_matches(px->body.md5_want, d, n)) {
            body_fail(px, 400, "BadDigest", "The Content-MD5 you specified did not match what we received.");
            return false;
        }
    }
    return true;
}

static void pl_on_body_end(struct proxy_conn *c)
{
    struct px *px = c->ex;
    if (!px || px->body.failed)
        return;
    px->body.done = true;
    if (px->body.bm == BM_COLLECT) {
        px_after_collect(px);
        return;
    }
    if (px->body.bm == BM_SIGNED) {
        uint8_t got[32];
        unsigned int len = 0;
        EVP_DigestFinal_ex(px->body.sha, got, &len);
        if (!px_payload_hash_ok(px, got))
            return;
        px->body.verified = true;
    } else if (px->body.bm == BM_CHUNKED) {
        int rc = sigv4_chunked_finish(px->body.dec);
        if (rc != 0) {
            struct sigv4_chunk_error ce = sigv4_chunked_error(px->body.dec);
            body_fail(px, ce.http_status ? ce.http_status : 400,
                      ce.code ? ce.code : "IncompleteBody",
                      ce.message ? ce.message : "Invalid aws-chunked body.");
            return;
        }
        px->body.verified = true;
    } else {
        px->body.verified = true;
    }
    if ((px->body.bm == BM_SIGNED || px->body.bm == BM_PLAIN) && !px_checksums_match(px)) {
        px->body.verified = false;
        return;
    }
    wake_curl_reader(px);
}

static void pl_on_drain(struct proxy_conn *c)
{
    struct px *px = c->ex;
    if (px && px->resp.write_paused && px->up.xfer.active) {
        px->resp.write_paused = false;
        up_unpause(px->w, &px->up.xfer);
    }
}

static void pl_on_abort(struct proxy_conn *c)
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
        return; /* the curl callback returns an error; up_done finishes */
    px_finish(px, PX_END_CLOSE, S3W_SLICE_NULL);
}

/* ---- STS ----------------------------------------------------------------------------------- */
struct lookup_ctx {
    struct px *px;
};

static enum sigv4_lookup_status lookup_secret(void *ud, struct s3w_slice akid,
                                              struct s3w_slice token,
                                              char *secret_out, size_t *secret_len)
{
    struct px *px = ud;
    if (px->auth.id_set)
        config_identity_cleanup(&px->auth.id);
    int rc = config_resolve(px->cfg, akid, token, px->now, &px->auth.id,
                            (uint8_t *)secret_out, SIGV4_MAX_SECRET, secret_len);
    switch (rc) {
    case CONFIG_AUTH_OK:
        px->auth.id_set = true;
        return SIGV4_LOOKUP_OK;
    case CONFIG_AUTH_UNKNOWN_KEY: return SIGV4_LOOKUP_UNKNOWN_KEY;
    case CONFIG_AUTH_INVALID_TOKEN: return SIGV4_LOOKUP_INVALID_TOKEN;
    case CONFIG_AUTH_EXPIRED_TOKEN: return SIGV4_LOOKUP_EXPIRED_TOKEN;
    case CONFIG_AUTH_MISSING_TOKEN: return SIGV4_LOOKUP_UNKNOWN_KEY;
    default: return SIGV4_LOOKUP_ERROR;
    }
}

/* GET /bucket?location: GetBucketLocation, before s3map has mapped it. */
static bool location_request(const struct px *px)
{
    const struct http_request *r = &px->c->req;
    return s3w_slice_eq_cstr(r->method, "GET") && px->route.bucket.len && px->route.key_len == 0 &&
           (s3w_slice_eq_cstr(r->query, "location") || s3w_slice_eq_cstr(r->query, "location="));
}

static bool verify_request(struct px *px, struct s3w_slice service, const uint8_t *body_sha)
{
    /* GetBucketLocation signed for us-east-1 is taken too, as S3's global
     * endpoint takes it for a bucket in any region: a client asks before it
     * knows the region to sign for (minio-go, and so restic, signs this one
     * request for us-east-1 and then signs for the answer, which is ours:
     * finish_bucket_location). Any other request must name our region. */
    struct s3w_slice regions[2] = { s3w_slice_cstr(px->cfg->upstream.region),
                                    S3W_SLICE_LIT("us-east-1") };
    struct s3w_slice region = regions[0];
    struct sigv4_verify_opts o = {
        .regions = regions,
        .n_regions = 1,
        .service = service,
        .uri_mode = sigv4_uri_mode_for_service(service),
        .body_sha256 = body_sha,
        .lookup = lookup_secret,
        .lookup_ud = px,
        .cache = &plw(px->w)->kc,
        .v4a = { sigv4a_hook_verify, plw(px->w)->v4a },
    };
    if (!s3w_slice_eq_cstr(service, "s3"))
        o.n_regions = 0;
    else if (location_request(px))
        o.n_regions = 2;
    struct sigv4_error err;
    memset(&err, 0, sizeof(err));
    if (sigv4_verify(&px->auth.sreq, px->now, &o, &px->auth.sv, &err) != 0) {
        if (err.code == SIGV4_ERR_ANONYMOUS) {
            px->auth.anonymous = true;
            return true;
        }
        px->auth.sig_failed = true;
        px_fail(px, err.http_status ? err.http_status : 403,
                err.s3_code ? err.s3_code : "AccessDenied", err.message);
        return false;
    }
    /* SigV4a: the scope names no region; the signed region set must
     * include ours (sigv4a.h). A no-op for SigV4, whose scope region
     * sigv4_verify checked. STS is not region-bound here, as for SigV4. */
    if (o.n_regions && sigv4a_check_region(&px->auth.sv, region, &err) != 0) {
        px->auth.sig_failed = true;
        px_fail(px, err.http_status ? err.http_status : 400,
                err.s3_code ? err.s3_code : "AuthorizationHeaderMalformed", err.message);
        return false;
    }
    return true;
}

static void handle_sts(struct px *px)
{
    uint8_t h[32];
    sigv4_sha256(px->body.collect.ptr, px->body.collect.len, h);
    if (!verify_request(px, S3W_SLICE_LIT("sts"), h))
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

/* ---- DeleteObjects -------------------------------------------------------------------------- */
static void xml_text(struct s3w_buf *b, const char *tag, struct s3w_slice v)
{
    s3w_buf_printf(b, "<%s>", tag);
    /* a raw CR would reach the upstream's XML parser as LF (XML 1.0 2.11,
     * end-of-line handling): another key than the one authorized. As a
     * character reference it stays a CR. */
    size_t start = 0;
    for (size_t i = 0; i <= v.len; i++) {
        if (i < v.len && v.ptr[i] != '\r')
            continue;
        s3err_xml_escape(b, s3w_slice(v.ptr + start, i - start));
        if (i < v.len)
            s3w_buf_append_cstr(b, "&#13;");
        start = i + 1;
    }
    s3w_buf_printf(b, "</%s>", tag);
}

static void append_denied_errors(struct px *px, struct s3w_buf *b)
{
    for (size_t i = 0; i < px->del.dl->n; i++) {
        if (!px->del.denied[i])
            continue;
        s3w_buf_append_cstr(b, "<Error>");
        xml_text(b, "Key", px->del.dl->objects[i].key);
        if (px->del.dl->objects[i].version_id.ptr)
            xml_text(b, "VersionId", px->del.dl->objects[i].version_id);
        s3w_buf_append_cstr(b, "<Code>AccessDenied</Code><Message>Access Denied</Message></Error>");
    }
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
 * still forwarded (see README "Limitations"). */
enum bp_op { BP_NONE = 0, BP_GET, BP_PUT, BP_DELETE };

static enum bp_op bucket_policy_op(const struct px *px)
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
    return BP_NONE;
}

/* The account owning the requested bucket: the configured owner, or for
 * an unlisted bucket under "caller_account" the caller's (px_authorize's
 * rule). */
static struct s3w_slice bucket_owner(const struct px *px)
{
    return px->route.bcfg ? s3w_slice_cstr(px->route.bcfg->account) : px->authz.principal.account;
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
static bool bucket_policy_root_exempt(const struct px *px)
{
    return px->auth.id_set && px->auth.id.type == CONFIG_PRINCIPAL_ACCOUNT &&
           px->authz.principal.account.len && s3w_slice_eq(px->authz.principal.account, bucket_owner(px));
}

#define BP_READONLY_MSG                                                                       \
    "s3warden enforces the bucket policy from its configuration (buckets[].policy); change " \
    "it there and reload with SIGHUP."

/* After every authorization allowed the request. */
static void handle_bucket_policy(struct px *px, enum bp_op op)
{
    struct s3w_slice owner = bucket_owner(px);
    /* x-amz-expected-bucket-owner: "If the account ID that you provide does
     * not match the actual owner of the bucket, the request fails with the
     * HTTP status code 403 Forbidden (access denied)" (API Reference). The
     * upstream would compare it with its own bucket's owner (the proxy's
     * account); the owner that counts here is the configured one. */
    const struct s3w_header *exp = px->hdr.expected_owner;
    if (exp && !s3w_slice_eq(exp->value, owner)) {
        px_fail(px, 403, "AccessDenied", "Access Denied");
        return;
    }
    if (!px->authz.principal.account.len || !s3w_slice_eq(px->authz.principal.account, owner)) {
        px_fail(px, 405, "MethodNotAllowed", s3err_default_message("MethodNotAllowed"));
        return;
    }
    if (op != BP_GET) {
        px_fail(px, 501, "NotImplemented", BP_READONLY_MSG);
        return;
    }
    const char *doc = px->route.bcfg ? px->route.bcfg->policy_json : NULL;
    if (!doc) {
        px_fail(px, 404, "NoSuchBucketPolicy", "The bucket policy does not exist");
        return;
    }
    /* S3 answers the document itself as the body (GetBucketPolicy,
     * "Response Syntax": the policy JSON, not wrapped in XML) */
    respond_local(px, 200, "application/json", s3w_slice_cstr(doc));
}

/* ListBuckets: the upstream lists the proxy's own buckets; the caller gets
 * those its account owns in the config (listbuckets.h). An answer that
 * cannot be filtered is not passed on. */
static void finish_list_buckets(struct px *px)
{
    struct s3w_buf b;
    s3w_buf_init(&b, LISTBUCKETS_MAX_BODY);
    struct s3w_slice up = s3w_buf_slice(&px->resp.body);
    if (px->resp.status != 200) {
        s3w_buf_append(&b, up.ptr, up.len); /* an error document */
        respond_xml(px, px->resp.status ? px->resp.status : 502, &b);
    } else if (listbuckets_filter_query(px->cfg, px->auth.id_set ? px->auth.id.account : S3W_SLICE_NULL,
                                        px->c->req.query, up, &b) == 0) {
        respond_xml(px, 200, &b);
    } else {
        proxy_log("WARN", "request_id=%s ListBuckets: the upstream's answer is not a bucket "
                  "list s3warden can filter; refused", px->reqid);
        px_fail_internal(px);
    }
    s3w_buf_cleanup(&b);
}

/* GetBucketLocation: a client signs its next requests for the region this
 * names (minio-go, and so restic, looks it up and caches it per bucket).
 * Through s3warden that is s3warden's own region, upstream.region - the
 * only one verify_request accepts - never the upstream's: RGW answers its
 * zonegroup ("default"), and every request signed for that got 400
 * AuthorizationHeaderMalformed. The upstream is still asked, so a bucket it
 * does not have is 404 NoSuchBucket as on S3 and its errors pass as they
 * came; a 200 answer is replaced whole (nothing of the upstream's location
 * leaks). The form is S3's (API Reference, GetBucketLocation, "Response
 * Syntax"): an empty LocationConstraint for us-east-1, else the region. */
#define PX_LOCATION_MAX_BODY (64u * 1024)

static void finish_bucket_location(struct px *px)
{
    struct s3w_buf b;
    s3w_buf_init(&b, PX_LOCATION_MAX_BODY + 1024);
    if (px->resp.status != 200) {
        struct s3w_slice up = s3w_buf_slice(&px->resp.body);
        s3w_buf_append(&b, up.ptr, up.len); /* an error document */
        respond_xml(px, px->resp.status ? px->resp.status : 502, &b);
    } else {
        struct s3w_slice region = s3w_slice_cstr(px->cfg->upstream.region);
        s3w_buf_append_cstr(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                "<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"");
        if (s3w_slice_eq_cstr(region, "us-east-1")) {
            s3w_buf_append_cstr(&b, "/>");
        } else {
            s3w_buf_append_char(&b, '>');
            s3err_xml_escape(&b, region);
            s3w_buf_append_cstr(&b, "</LocationConstraint>");
        }
        respond_xml(px, 200, &b);
    }
    s3w_buf_cleanup(&b);
}

static void finish_delete(struct px *px)
{
    /* merge: upstream's DeleteResult plus our AccessDenied entries */
    struct s3w_buf b;
    s3w_buf_init(&b, PX_DELETE_RESP_MAX + 1024 * 1024);
    struct s3w_slice up = s3w_buf_slice(&px->resp.body);
    const char *end = NULL;
    for (size_t i = up.len; i >= 17 && !end; i--)
        if (memcmp(up.ptr + i - 15, "</DeleteResult>", 15) == 0)
            end = up.ptr + i - 15;
    if (px->resp.status != 200 || !end) {
        /* upstream refused the whole request: pass its answer through */
        s3w_buf_append(&b, up.ptr, up.len);
        respond_xml(px, px->resp.status ? px->resp.status : 502, &b);
        s3w_buf_cleanup(&b);
        return;
    }
    s3w_buf_append(&b, up.ptr, (size_t)(end - up.ptr));
    append_denied_errors(px, &b);
    s3w_buf_append(&b, end, up.len - (size_t)(end - up.ptr));
    respond_xml(px, 200, &b);
    s3w_buf_cleanup(&b);
}

static void handle_delete(struct px *px)
{
    uint8_t h[32];
    sigv4_sha256(px->body.collect.ptr, px->body.collect.len, h);
    if (!px_payload_hash_ok(px, h))
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
        s3w_buf_init(&b, PX_DELETE_RESP_MAX);
        s3w_buf_append_cstr(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                            "<DeleteResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
        append_denied_errors(px, &b);
        s3w_buf_append_cstr(&b, "</DeleteResult>");
        respond_xml(px, 200, &b);
        s3w_buf_cleanup(&b);
        return;
    }
    /* the rewritten body: only the allowed keys */
    s3w_buf_init(&px->del.newbody, S3MAP_DELETE_MAX_BODY * 2);
    s3w_buf_append_cstr(&px->del.newbody, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                        "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    if (px->del.dl->quiet)
        s3w_buf_append_cstr(&px->del.newbody, "<Quiet>true</Quiet>");
    for (size_t i = 0; i < px->del.dl->n; i++) {
        if (px->del.denied[i])
            continue;
        s3w_buf_append_cstr(&px->del.newbody, "<Object>");
        xml_text(&px->del.newbody, "Key", px->del.dl->objects[i].key);
        if (px->del.dl->objects[i].version_id.ptr)
            xml_text(&px->del.newbody, "VersionId", px->del.dl->objects[i].version_id);
        s3w_buf_append_cstr(&px->del.newbody, "</Object>");
    }
    if (s3w_buf_append_cstr(&px->del.newbody, "</Delete>") != 0) {
        px_fail_internal(px);
        return;
    }
    /* DeleteObjects requires Content-MD5 (or a checksum): ours, of our body */
    uint8_t md5[16];
    unsigned int ml = 0;
    EVP_Digest(px->del.newbody.ptr, px->del.newbody.len, md5, &ml, EVP_md5(), NULL);
    char md5b64[32];
    sigv4_b64_encode(md5, 16, md5b64);
    char hhex[65];
    sigv4_sha256(px->del.newbody.ptr, px->del.newbody.len, h); /* h: ours now */
    s3w_hex_encode(h, 32, hhex);
    px->body.q.len = 0;
    bq_push(&px->body.q, px->del.newbody.ptr, px->del.newbody.len);
    px->body.up_total = px->del.newbody.len;
    px->body.verified = true;
    px->body.done = true;
    px->body.bm = BM_PLAIN;
    px->resp.collect = true;
    s3w_buf_init(&px->resp.body, PX_DELETE_RESP_MAX);
    start_upstream(px, s3w_slice_cstr(hhex), true, md5b64);
}

/* Every authorization of the mapped request must be allowed (fail closed).
 * Answers the denial itself and returns false. */
static bool px_authorize_all(struct px *px)
{
    for (size_t i = 0; i < px->authz.map.nauthz; i++) {
        if (!px_authorize(px, px->authz.map.authz[i].action, px->authz.map.authz[i].resource)) {
            px_fail(px, 403, "AccessDenied", px->out.err_msg);
            return false;
        }
    }
    if (px->authz.map.nauthz == 0 && !(px->authz.map.flags & S3MAP_F_DELETE_BODY)) {
        px->authz.decision = PX_DEC_IMPLICIT_DENY;
        px_fail(px, 403, "AccessDenied", "Access Denied");
        return false;
    }
    return true;
}

/* S3MAP_F_BODY_KEYS: the whole body is here. Its signed hash is checked
 * first (nothing unverified is parsed into the context, evaluated or
 * forwarded), then its condition keys join the context, then the policy
 * decides, then exactly these bytes go upstream. */
static void handle_body_keys(struct px *px)
{
    struct s3w_slice body = s3w_buf_slice(&px->body.collect);
    uint8_t h[32];
    sigv4_sha256(body.ptr, body.len, h);
    if (!px_payload_hash_ok(px, h))
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
    if (bq_push(&px->body.q, body.ptr, body.len) != 0) {
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
    start_upstream(px, s3w_slice_cstr(hhex), true, NULL);
}

static void px_after_collect(struct px *px)
{
    if (px->kind == PX_STS)
        handle_sts(px);
    else if (px->kind == PX_BODY_KEYS)
        handle_body_keys(px);
    else
        handle_delete(px);
}

/* ---- the request head: the stages ------------------------------------------------------------ */
/* The request headers the pipeline reads, found in one pass over the head
 * (the first of each name, as http_request_header; Content-MD5 counted). */
static void px_read_headers(struct px *px)
{
    static const struct {
        const char *name;
        size_t off;
    } want[] = {
        { "host", offsetof(struct px_headers, host) },
        { "authorization", offsetof(struct px_headers, authorization) },
        { "user-agent", offsetof(struct px_headers, user_agent) },
        { "referer", offsetof(struct px_headers, referer) },
        { "x-amz-content-sha256", offsetof(struct px_headers, content_sha256) },
        { "x-amz-decoded-content-length", offsetof(struct px_headers, decoded_length) },
        { "x-amz-trailer", offsetof(struct px_headers, trailer) },
        { "content-md5", offsetof(struct px_headers, content_md5) },
        { "x-amz-expected-bucket-owner", offsetof(struct px_headers, expected_owner) },
    };
    const struct http_request *r = &px->c->req;
    for (size_t i = 0; i < r->nheaders; i++) {
        struct s3w_slice n = r->headers[i].name;
        for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
            if (!s3w_slice_eq_nocase(n, s3w_slice_cstr(want[k].name)))
                continue;
            const struct s3w_header **slot =
                (const struct s3w_header **)((char *)&px->hdr + want[k].off);
            if (!*slot)
                *slot = &r->headers[i];
            if (slot == &px->hdr.content_md5)
                px->hdr.ncontent_md5++;
            break;
        }
    }
}

static struct px *px_new(struct proxy_conn *c)
{
    struct px *px = calloc(1, sizeof(*px));
    if (!px)
        return NULL;
    px->c = c;
    px->w = c->w;
    px->out.t0_ns = now_ns();
    px->now = (int64_t)time(NULL);
    proxy_worker_request_id(c->w, px->reqid);
    px->cfg = config_ref(plw(c->w)->cfg);
    s3w_buf_init(&px->body.collect, 0);
    s3w_buf_init(&px->resp.head, PX_RESP_HEAD_MAX);
    s3w_buf_init(&px->resp.body, 4096);
    s3w_buf_init(&px->del.newbody, 0);
    c->ex = px;
    px_read_headers(px);
    return px;
}

/* Stage 0: what is refused before anything is read of the request. */
static bool stage_admit(struct px *px)
{
    const struct http_request *r = &px->c->req;
    /* No request is served without its audit record (audit.h): while
     * records cannot be written, refuse as S3 does when it needs the
     * client to back off. */
    if (!audit_accepting(shared(px->w)->audit)) {
        px->out.audit_refusal = true;
        if (px->w->metrics)
            metrics_bump(&px->w->metrics->refused[METRICS_REFUSE_AUDIT], 1);
        px_fail(px, 503, "SlowDown", s3err_default_message("SlowDown"));
        return false;
    }
    /* methods S3 has (405 MethodNotAllowed otherwise) */
    static const char *const methods[] = { "GET", "HEAD", "PUT", "POST", "DELETE" };
    bool known = false;
    for (size_t i = 0; i < 5; i++)
        known |= s3w_slice_eq_cstr(r->method, methods[i]);
    if (!known) {
        px_fail(px, 405, "MethodNotAllowed", s3err_default_message("MethodNotAllowed"));
        return false;
    }
    /* A raw '#' starts a fragment for curl, which sends the URL cut there:
     * the upstream would run another operation than the whole query mapped
     * to (?versionId=null#&acl authorizes GetObjectAcl, performs GetObject).
     * No S3 client sends one; a key byte '#' comes as %23 (RFC 3986 3.5). */
    if (memchr(r->target.ptr, '#', r->target.len)) {
        px_fail(px, 400, "InvalidURI", "Couldn't parse the specified URI.");
        return false;
    }
    if (r->chunked && !px->hdr.decoded_length) {
        /* S3 wants a length; an aws-chunked body may come with
         * Transfer-Encoding: chunked (the SDKs' unsigned-trailer uploads)
         * because x-amz-decoded-content-length gives the length */
        px_fail(px, 411, "MissingContentLength", s3err_default_message("MissingContentLength"));
        return false;
    }
    if (!px->hdr.host) {
        px_fail(px, 400, "InvalidRequest", "Missing Host header.");
        return false;
    }
    return true;
}

/* Stage 1: bucket and key from the Host header and the path. */
static bool stage_route(struct px *px)
{
    const struct http_request *r = &px->c->req;
    px->route.host = px->hdr.host->value;
    struct s3w_slice key_raw;
    if (pl_route(px->route.host, r->path, px->cfg->virtual_host_domains,
                 px->cfg->nvirtual_host_domains, &px->route.bucket, &key_raw) != 0) {
        px_fail(px, 400, "InvalidURI", "Couldn't parse the specified URI.");
        return false;
    }
    long kl = pl_pct_decode(key_raw, px->route.key, sizeof(px->route.key) - 1);
    if (kl < 0) {
        px_fail(px, 400, key_raw.len > 3 * S3MAP_MAX_KEY_BYTES ? "KeyTooLongError" : "InvalidURI",
                "Couldn't parse the specified URI.");
        return false;
    }
    px->route.key_len = (size_t)kl;
    if (px->route.bucket.len)
        px->route.bcfg = config_find_bucket(px->cfg, px->route.bucket);
    return true;
}

/* Reads the whole request body (capped by the operation) before the
 * exchange goes on in px_after_collect: the STS form, DeleteObjects' key
 * list, the XML of an operation with condition keys in its body. */
static void px_collect_body(struct px *px, enum px_kind kind, size_t cap)
{
    px->kind = kind;
    s3w_buf_cleanup(&px->body.collect);
    s3w_buf_init(&px->body.collect, cap);
    px->body.bm = BM_COLLECT;
    const struct http_request *r = &px->c->req;
    if (r->content_length == 0 && !r->chunked) {
        px_after_collect(px);
        return;
    }
    proxy_conn_body_start(px->c);
}

/* An STS Query API call: a POST to / signed for service "sts". Answers or
 * starts collecting its form and returns true; false for an S3 request. */
static bool stage_sts(struct px *px)
{
    const struct http_request *r = &px->c->req;
    if (!px->hdr.authorization || !s3w_slice_eq_cstr(r->method, "POST") || r->path.len != 1 ||
        px->route.bucket.len)
        return false;
    struct sigv4_auth a;
    struct sigv4_error e;
    bool sts = sigv4_parse_authorization(px->hdr.authorization->value, &a, &e) == 0 &&
               s3w_slice_eq_cstr(a.service, "sts");
    s3w_wipe(&a, sizeof(a));
    if (!sts)
        return false;
    px->kind = PX_STS;
    if (!px->cfg->sts.enabled)
        px_fail(px, 403, "AccessDenied", "The local STS is disabled.");
    else if (r->content_length > STS_MAX_FORM_BYTES)
        px_fail(px, 400, "InvalidRequest", "The STS request body is too large.");
    else
        px_collect_body(px, PX_STS, STS_MAX_FORM_BYTES);
    return true;
}

/* Stage 2: the signature, and who signed (anonymous when nothing is). */
static bool stage_authenticate(struct px *px)
{
    if (!verify_request(px, S3W_SLICE_LIT("s3"), NULL))
        return false;
    if (px->auth.anonymous) {
        config_identity_anonymous(&px->auth.id);
        px->auth.id_set = true;
    }
    return true;
}

/* Stage 3: the S3 operation, its authorizations, and the request context
 * the policies are evaluated on. */
static bool stage_context(struct px *px)
{
    struct proxy_conn *c = px->c;
    const struct http_request *r = &c->req;
    px->authz.mreq = (struct s3map_request){
        .method = r->method,
        .bucket = px->route.bucket,
        .key = s3w_slice(px->route.key, px->route.key_len),
        .query = r->query,
        .headers = r->headers,
        .nheaders = r->nheaders,
    };
    int rc = s3map_map(&px->authz.mreq, &px->authz.map);
    if (rc != 0) {
        px_fail(px, s3map_error_status(rc), s3map_error_code(rc), s3map_strerror(rc));
        return false;
    }
    build_principal(px);
    const char *tv = proxy_conn_tls_version(c);
    struct s3w_slice tls = S3W_SLICE_NULL;
    if (tv && strncmp(tv, "TLSv", 4) == 0) {
        snprintf(px->authz.tlsver, sizeof(px->authz.tlsver), "%s", tv + 4);
        tls = s3w_slice_cstr(px->authz.tlsver);
    }
    bool anon = px->auth.anonymous;
    const struct sigv4_result *sv = &px->auth.sv;
    bool v4a = sv->algorithm == SIGV4_ALG_ECDSA_P256_SHA256;
    struct s3map_conn_facts facts = {
        .source_ip = s3w_slice_cstr(c->peer_ip),
        .tls_version = tls,
        .now_ms = px->now * 1000,
        .user_agent = hdr_value(px->hdr.user_agent),
        .referer = hdr_value(px->hdr.referer),
        /* aws:RequestedRegion: the scope's region; for SigV4a (no region in
         * the scope) ours, which the signed region set was checked to hold */
        .region = anon ? S3W_SLICE_NULL : v4a ? s3w_slice_cstr(px->cfg->upstream.region) : sv->region,
        .auth_type = anon ? S3MAP_AUTH_NONE : sv->presigned ? S3MAP_AUTH_QUERY : S3MAP_AUTH_HEADER,
        .sig_version = anon ? S3MAP_SIG_NONE : v4a ? S3MAP_SIG_V4A : S3MAP_SIG_V4,
        .signature_age_ms = anon ? -1 : sv->age_s * 1000,
        .content_sha256 = hdr_value(px->hdr.content_sha256),
        .resource_account = px->route.bcfg ? s3w_slice_cstr(px->route.bcfg->account)
                                           : px->authz.principal.account,
    };
    policy_context_init(&px->authz.ctx);
    rc = s3map_fill_context(&px->authz.map, &px->authz.mreq, &facts, &px->authz.ctx);
    if (rc != 0) {
        px_fail(px, s3map_error_status(rc), s3map_error_code(rc), s3map_strerror(rc));
        return false;
    }
    if (config_identity_fill_context(&px->auth.id, &px->authz.ctx) != 0) {
        px_fail_internal(px);
        return false;
    }
    for (size_t i = 0; i < px->cfg->nguardrails && px->authz.nguardrails < PX_MAX_POLICIES; i++)
        px->authz.guardrails[px->authz.nguardrails++] = px->cfg->guardrails[i].compiled;
    for (size_t i = 0; i < px->auth.id.npolicies && px->authz.nidentity < PX_MAX_POLICIES; i++)
        px->authz.identity_pols[px->authz.nidentity++] = px->auth.id.policies[i];
    px->authz.boundary = px->auth.id.boundary;
    return true;
}

/* An operation answered from a collected body takes a body whose hash is
 * signed (or UNSIGNED-PAYLOAD): an aws-chunked one is not collected. */
static bool collectable_payload(const struct px *px)
{
    return px->auth.anonymous || px->auth.sv.payload_mode == SIGV4_PAYLOAD_SIGNED ||
           px->auth.sv.payload_mode == SIGV4_PAYLOAD_UNSIGNED;
}

/* aws-chunked (BM_CHUNKED): the decoder that verifies the body chunk by
 * chunk before any of it goes on, and - unless upstream.decode_aws_chunked
 * - the re-framing under the proxy's own chunk signatures, in the same
 * streaming mode (px_upstream_encoder). Sets the signed payload value. */
static bool px_chunked_init(struct px *px, struct s3w_slice *payload)
{
    const struct sigv4_result *sv = &px->auth.sv;
    enum sigv4_stream_mode sm = sigv4_stream_mode_from_value(hdr_value(px->hdr.content_sha256));
    if (sm == SIGV4_STREAM_NONE) {
        px_fail(px, 501, "NotImplemented", "This streaming payload mode is not supported by s3warden.");
        return false;
    }
    bool ecdsa = sigv4_stream_mode_ecdsa(sm);
    /* the P-256 key that just verified the request: the chunk chain is
     * verified with it, seeded by the request's signature as sent
     * (sigv4a.h, sigv4a_chain_ops) */
    if (ecdsa && sigv4a_key_cache_last_verified(plw(px->w)->v4a, sv->auth.access_key_id,
                                                &px->body.v4a_key) != 0) {
        px_fail_internal(px);
        return false;
    }
    struct sigv4_chunked_framing fr;
    int frc = sigv4_chunked_framing_parse(hdr_value(px->hdr.decoded_length),
                                          hdr_value(px->hdr.trailer), &fr);
    if (frc == SIGV4_FRAMING_E_NO_LENGTH) {
        px_fail(px, 411, "MissingContentLength",
                "You must provide the x-amz-decoded-content-length header with aws-chunked uploads.");
        return false;
    }
    if (frc != 0) {
        px_fail(px, 400, "InvalidArgument", "Invalid x-amz-decoded-content-length.");
        return false;
    }
    if (fr.decoded_length > PX_MAX_BODY) {
        px_fail(px, 400, "EntityTooLarge", s3err_default_message("EntityTooLarge"));
        return false;
    }
    struct sigv4_chunked_params cp = {
        .mode = sm,
        .amz_date = s3w_slice_cstr(sv->amz_date),
        .scope = s3w_slice(sv->scope, sv->scope_len),
        .seed_signature = ecdsa ? sv->auth.signature : s3w_slice(sv->seed_signature_hex, 64),
        .ops = ecdsa ? &sigv4a_chain_ops : &sigv4_chain_hmac_ops,
        .ops_ctx = ecdsa ? (void *)px->body.v4a_key : (void *)&px->body.chain,
        .decoded_length = fr.decoded_length,
        .declared_trailers = fr.trailer_names,
        .max_chunk = PX_CHUNK_MAX,
        .sink = chunk_sink,
        .sink_arg = px,
    };
    if (sigv4_stream_mode_signed(sm) && !ecdsa) {
        if (sigv4_chain_hmac_init(&px->body.chain, sv->signing_key) != 0) {
            px_fail_internal(px);
            return false;
        }
        px->body.chain_init = true;
    }
    if (sigv4_chunked_decoder_new(&px->body.dec, &cp) != 0) {
        px_fail(px, 400, "InvalidRequest", "Invalid aws-chunked request headers.");
        return false;
    }
    px->body.up_total = fr.decoded_length;
    *payload = S3W_SLICE_LIT("UNSIGNED-PAYLOAD");
    if (!px->cfg->upstream.decode_aws_chunked && fr.sized) {
        /* pass-through: same streaming mode upstream, re-framed and
         * re-signed; the encoded length needs the trailers' sizes, which
         * the declared names fix (base64 of the digest). The upstream
         * request is SigV4 (HMAC) signed by the proxy: an ECDSA stream goes
         * up in the HMAC mode of the same shape. */
        enum sigv4_stream_mode um = sm == SIGV4_STREAM_ECDSA_PAYLOAD ? SIGV4_STREAM_HMAC_PAYLOAD
                                    : sm == SIGV4_STREAM_ECDSA_PAYLOAD_TRAILER
                                        ? SIGV4_STREAM_HMAC_PAYLOAD_TRAILER : sm;
        px->body.passthrough = true;
        px->body.smode = um;
        px->body.up_total = sigv4_chunked_encoded_length(um, fr.decoded_length, PX_RECHUNK, 64,
                                                         fr.trailers, fr.ntrailers);
        *payload = s3w_slice_cstr(sigv4_stream_mode_value(um));
    }
    return true;
}

/* The body-mode choice (pure; exchange.h). */
struct px_body_choice px_choose_body_mode(bool anonymous, enum sigv4_payload_mode pm,
                                          bool chunked, uint64_t content_length)
{
    struct px_body_choice ch = { .bm = BM_NONE };
    bool plain = anonymous || pm == SIGV4_PAYLOAD_UNSIGNED;
    if (chunked && (plain || pm == SIGV4_PAYLOAD_SIGNED)) {
        /* HTTP chunked framing carries a length only for aws-chunked bodies
         * (x-amz-decoded-content-length, checked by the decoder); any other
         * body would go upstream with Content-Length 0 at once - an empty
         * object written before its hash was checked. S3 wants a length. */
        ch.status = 411;
        ch.code = "MissingContentLength";
    } else if (content_length > PX_MAX_BODY) {
        ch.status = 400;
        ch.code = "EntityTooLarge";
    } else if (content_length == 0 && !chunked) {
        ch.bm = BM_NONE;
    } else if (plain) {
        ch.bm = BM_PLAIN;
    } else if (pm == SIGV4_PAYLOAD_SIGNED) {
        ch.bm = BM_SIGNED;
    } else {
        ch.bm = BM_CHUNKED; /* aws-chunked: verified chunk by chunk */
    }
    return ch;
}

/* Stage 4: how the body goes upstream, and the payload hash the proxy
 * signs it with (into payload, which may borrow hexhash). */
static bool stage_body_mode(struct px *px, struct s3w_slice *payload, char hexhash[65])
{
    const struct http_request *r = &px->c->req;
    struct px_body_choice ch = px_choose_body_mode(px->auth.anonymous, px->auth.sv.payload_mode,
                                                   r->chunked, r->content_length);
    if (ch.status) {
        px_fail(px, ch.status, ch.code, s3err_default_message(ch.code));
        return false;
    }
    px->body.bm = ch.bm;
    px->body.up_total = r->content_length;
    *payload = S3W_SLICE_LIT(EMPTY_SHA256);
    switch (ch.bm) {
    case BM_NONE:
        px->body.verified = true;
        uint8_t h[32];
        sigv4_sha256("", 0, h);
        if (!px_payload_hash_ok(px, h))
            return false;
        break;
    case BM_PLAIN:
        px->body.verified = true;
        *payload = S3W_SLICE_LIT("UNSIGNED-PAYLOAD");
        break;
    case BM_SIGNED:
        px->body.sha = EVP_MD_CTX_new();
        if (!px->body.sha || EVP_DigestInit_ex(px->body.sha, EVP_sha256(), NULL) != 1) {
            px_fail_internal(px);
            return false;
        }
        s3w_hex_encode(px->auth.sv.payload_sha256, 32, hexhash);
        *payload = s3w_slice(hexhash, 64);
        break;
    case BM_CHUNKED:
        if (!px_chunked_init(px, payload))
            return false;
        break;
    case BM_COLLECT:
        break;
    }
    if ((px->body.bm == BM_PLAIN || px->body.bm == BM_SIGNED) && !px_checksums_init(px))
        return false;
    /* the caller's signing key is no longer needed once the decoder has its
     * own copy in the chain state */
    s3w_wipe(px->auth.sv.signing_key, sizeof(px->auth.sv.signing_key));
    return true;
}

/* Stage 5: authorize and send the request on its way - answered here,
 * collected first, or streamed upstream. */
static void stage_dispatch(struct px *px)
{
    const struct http_request *r = &px->c->req;
    /* Condition keys in the body (S3MAP_F_BODY_KEYS): without them a Deny
     * on s3:RequestObjectTagKeys never fires and a ForAllValues allow
     * holds vacuously (fail open). Collect the body like DeleteObjects',
     * then verify, fill the context and evaluate in handle_body_keys.
     * Expect: 100-continue: proxy_conn_body_start sends "100 Continue" now,
     * after the signature but before the policy - unavoidable when the
     * decision depends on the body; the body is still never forwarded
     * unless the policy allows it. */
    if (px->authz.map.flags & S3MAP_F_BODY_KEYS) {
        px->kind = PX_BODY_KEYS;
        if (r->content_length > S3MAP_BODY_KEYS_MAX)
            px_fail(px, s3map_error_status(S3MAP_E_TOO_BIG), s3map_error_code(S3MAP_E_TOO_BIG),
                    s3map_strerror(S3MAP_E_TOO_BIG));
        else if (!collectable_payload(px))
            px_fail(px, 501, "NotImplemented",
                    "aws-chunked bodies are not supported for this operation.");
        else
            px_collect_body(px, PX_BODY_KEYS, S3MAP_BODY_KEYS_MAX);
        return;
    }

    /* every authorization must be allowed (fail closed) */
    enum bp_op bp = bucket_policy_op(px);
    px->authz.skip_bucket_policy = bp != BP_NONE && bucket_policy_root_exempt(px);
    if (!px_authorize_all(px))
        return;
    if (bp != BP_NONE) {
        handle_bucket_policy(px, bp);
        return;
    }
    if (px->authz.map.flags & S3MAP_F_DELETE_BODY) {
        px->kind = PX_DELETE;
        if (r->content_length > S3MAP_DELETE_MAX_BODY)
            px_fail(px, 400, "MalformedXML", s3map_strerror(S3MAP_E_MALFORMED_XML));
        else if (!collectable_payload(px))
            px_fail(px, 501, "NotImplemented", "aws-chunked DeleteObjects bodies are not supported.");
        else
            px_collect_body(px, PX_DELETE, S3MAP_DELETE_MAX_BODY);
        return;
    }

    struct s3w_slice payload;
    char hexhash[65];
    if (!stage_body_mode(px, &payload, hexhash))
        return;
    const char *op = px->authz.map.op ? px->authz.map.op->name : "";
    if (strcmp(op, "ListBuckets") == 0 || strcmp(op, "GetBucketLocation") == 0) {
        /* answered from the upstream's whole answer (finish_list_buckets,
         * finish_bucket_location) */
        bool lb = op[0] == 'L';
        px->resp.list_buckets = lb;
        px->resp.bucket_location = !lb;
        px->resp.collect = true;
        s3w_buf_cleanup(&px->resp.body);
        s3w_buf_init(&px->resp.body, lb ? LISTBUCKETS_MAX_BODY : PX_LOCATION_MAX_BODY);
    }
    bool has_body = s3w_slice_eq_cstr(r->method, "PUT") || s3w_slice_eq_cstr(r->method, "POST");
    if (start_upstream(px, payload, has_body, NULL) != 0)
        return;
    /* Expect: 100-continue is answered here, after signature and policy */
    proxy_conn_body_start(px->c);
}

static void pl_on_head(struct proxy_conn *c)
{
    struct px *px = px_new(c);
    if (!px) {
        proxy_conn_close(c);
        return;
    }
    if (!stage_admit(px) || !stage_route(px))
        return;
    px->auth.sreq = (struct sigv4_request){ c->req.method, c->req.target, c->req.headers,
                                            c->req.nheaders };
    if (stage_sts(px))
        return;
    if (!stage_authenticate(px) || !stage_context(px))
        return;
    stage_dispatch(px);
}

const struct proxy_handler pl_handler = {
    .on_head = pl_on_head,
    .on_body = pl_on_body,
    .on_body_end = pl_on_body_end,
    .on_drain = pl_on_drain,
    .on_abort = pl_on_abort,
};

/* ---- shared state and worker hooks ------------------------------------------------------------ */
int pl_shared_init(struct pl_shared *s, struct config *cfg, struct audit *audit)
{
    if (uv_mutex_init(&s->mu) != 0)
        return -1;
    s->current = cfg;
    s->audit = audit;
    s->creds = NULL;
    s->metrics = NULL;
    /* the configured identities plus anonymous: far below this */
    s->ident = ident_limit_new(8192);
    if (!s->ident) {
        uv_mutex_destroy(&s->mu);
        return -1;
    }
    return 0;
}

void pl_shared_set_config(struct pl_shared *s, struct config *cfg)
{
    uv_mutex_lock(&s->mu);
    struct config *old = s->current;
    s->current = cfg;
    uv_mutex_unlock(&s->mu);
    config_unref(old);
}

void pl_shared_cleanup(struct pl_shared *s)
{
    config_unref(s->current);
    s->current = NULL;
    ident_limit_free(s->ident);
    s->ident = NULL;
    uv_mutex_destroy(&s->mu);
}

int pl_worker_init(struct proxy_worker *w)
{
    struct pl_worker *pw = calloc(1, sizeof(*pw));
    if (!pw)
        return -1;
    struct pl_shared *s = shared(w);
    uv_mutex_lock(&s->mu);
    pw->cfg = config_ref(s->current);
    uv_mutex_unlock(&s->mu);
    pw->v4a = sigv4a_key_cache_new(64);
    if (!pw->v4a) {
        config_unref(pw->cfg);
        free(pw);
        return -1;
    }
    sigv4_keycache_init(&pw->kc);
    sigv4_keycache_init(&pw->up_kc);
    w->handler_state = pw;
    const struct config_upstream *u = &pw->cfg->upstream;
    int n = w->srv->nworkers > 0 ? w->srv->nworkers : 1;
    long total = u->max_connections ? (long)u->max_connections / n : 0;
    if (u->max_connections && total < 1)
        total = 1;
    return up_worker_init(w, total, (long)u->max_connections_per_host);
}

void pl_worker_cleanup(struct proxy_worker *w)
{
    up_worker_cleanup(w);
    struct pl_worker *pw = w->handler_state;
    if (!pw)
        return;
    sigv4_keycache_cleanup(&pw->kc);
    sigv4_keycache_cleanup(&pw->up_kc);
    sigv4a_key_cache_free(pw->v4a);
    config_unref(pw->cfg);
    free(pw);
    w->handler_state = NULL;
}

void pl_worker_poke(struct proxy_worker *w)
{
    struct pl_worker *pw = w->handler_state;
    if (!pw)
        return;
    struct pl_shared *s = shared(w);
    uv_mutex_lock(&s->mu);
    struct config *cur = s->current;
    if (cur != pw->cfg) {
        config_ref(cur);
        uv_mutex_unlock(&s->mu);
        /* requests in flight keep their own reference: they finish on the
         * snapshot they started with */
        config_unref(pw->cfg);
        pw->cfg = cur;
        /* a new snapshot may hold new secrets: forget cached keys */
        sigv4_keycache_cleanup(&pw->kc);
        sigv4_keycache_init(&pw->kc);
        pw->warned_no_creds = false;
        return;
    }
    uv_mutex_unlock(&s->mu);
}
