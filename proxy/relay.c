/*
 * relay.c - the upstream transfer through libcurl (upstream.h) and the
 * answer relayed to the client: curl's read callback feeds it the verified
 * body (body.c), its header and write callbacks pass the upstream's status,
 * headers and body on with backpressure both ways, up_done ends the
 * exchange. The upstream request itself is built by upstream_build.c; this
 * file only takes the proxy's credentials, hands the result to curl and
 * arms upstream.first_byte_timeout_ms. The data plane will replace this
 * file with its own HTTP/1.1 client; nothing else needs to change.
 *
 * Re-entrancy: a write to the client may close the connection and call
 * pl_on_abort; px->in_cb is set around such writes so that px outlives the
 * callback (exchange.h).
 */
#include "exchange.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cors_answer.h"
#include "creds_fetch.h"
#include "ident_limit.h"
#include "log.h"
#include "metrics.h"
#include "s3err.h"
#include "upstream_build.h"

static void start_response_head(struct px *px);

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

/* ---- first-byte timeout ---------------------------------------------------------------- */
static void fbt_fire(uv_timer_t *t)
{
    struct px *px = t->data;
    if (!px)
        return;
    px_fbt_stop(px);
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
    px_bq_pop(&px->body.q, buf, give);
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

static size_t up_header(char *buf, size_t size, size_t nitems, void *ud)
{
    struct px *px = ud;
    size_t n = size * nitems;
    px_fbt_stop(px); /* the first response byte arrived */
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
    value = s3w_slice_trim(value);
    if (ub_name_is(name, "connection") || ub_name_is(name, "keep-alive") ||
        ub_name_is(name, "transfer-encoding") || ub_name_is(name, "te") ||
        ub_name_is(name, "trailer") || ub_name_is(name, "upgrade") ||
        ub_name_is(name, "proxy-connection") || cors_upstream_header(name))
        return n;
    if (ub_name_is(name, "content-length")) {
        px->resp.has_cl = true;
        px->resp.cl = 0;
        for (size_t i = 0; i < value.len && px->resp.cl <= UINT32_MAX; i++)
            px->resp.cl = value.ptr[i] >= '0' && value.ptr[i] <= '9'
                            ? px->resp.cl * 10 + (uint64_t)(value.ptr[i] - '0') : UINT64_MAX;
    }
    if (ub_name_is(name, "x-amz-request-id"))
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
    px_cors_append(px, &h);
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
    px_fbt_stop(px);
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
        px->resp.collected(px);
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

/* The caller's headers as curl lines (curl's "name;" sends an empty one). */
static int hl_append_header(struct px *px, struct s3w_slice name, struct s3w_slice value)
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
    return n < 0 ? -1 : hl_append(px, line);
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

/* The proxy's credentials for this request: the manager's current ones (a
 * reference in *snap, released by the caller once the signed lines are
 * copied) or, without a manager, the config's static keys. false after
 * answering 503. */
static bool px_upstream_creds(struct px *px, struct sigv4_credentials *cr,
                              const struct creds_snapshot **snap)
{
    struct creds_mgr *mgr = shared(px->w)->creds;
    *snap = mgr ? creds_mgr_acquire(mgr) : NULL;
    if (*snap) {
        *cr = (*snap)->sigv4;
        return true;
    }
    if (!mgr && upstream_creds(px->cfg, cr))
        return true;
    struct pl_worker *pw = plw(px->w);
    if (!pw->warned_no_creds) {
        proxy_log("ERROR", "no valid upstream credentials: answering 503 until there are");
        pw->warned_no_creds = true;
    }
    px_fail(px, 503, "ServiceUnavailable",
            "s3warden has no valid credentials for the upstream at the moment.");
    return false;
}

static struct s3w_slice upstream_bucket(const struct config_bucket *b, struct s3w_slice name)
{
    return b && b->upstream_name ? s3w_slice_cstr(b->upstream_name) : name;
}

/* Builds the upstream request into px->up.req (upstream_build.h) and signs
 * it with cr. 0 or -1. */
static int px_build_upstream(struct px *px, const struct sigv4_credentials *cr,
                             struct s3w_slice payload, const char *content_md5,
                             struct sigv4_signed *sd)
{
    const struct http_request *r = px->post.upreq ? px->post.upreq : &px->c->req; /* POST Object */
    const struct config *cfg = px->cfg;
    struct ub_request *u = &px->up.req;
    bool copy = (px->authz.map.flags & S3MAP_F_COPY) != 0;
    struct ub_target_in t = {
        .endpoint = cfg->upstream.endpoint,
        .virtual_addressing = cfg->upstream.addressing == CONFIG_ADDRESSING_VIRTUAL,
        .bucket = px->route.bucket,
        .upstream_bucket = upstream_bucket(px->route.bcfg, px->route.bucket),
        .key = s3w_slice(px->route.key, px->route.key_len),
        /* ListBuckets: the upstream gets no query - its prefix would match
         * upstream names and its pagination count buckets the caller does
         * not see; the prefix is applied to the caller's names
         * (listbuckets.h) */
        .query = px->resp.list_buckets ? S3W_SLICE_NULL : r->query,
        .drop_copy_source = copy,
    };
    struct ub_header_rules hr = {
        .anonymous = px->auth.anonymous,
        .sv = &px->auth.sv,
        .decoded = px->body.bm == BM_CHUNKED && !px->body.passthrough,
        .passthrough = px->body.passthrough,
        .copy = copy,
        .own_body = px->kind == PX_DELETE,
    };
    if (ub_build_target(u, &t) != 0 ||
        ub_build_headers(u, &hr, r->headers, r->nheaders,
                         content_md5 ? s3w_slice_cstr(content_md5) : S3W_SLICE_NULL) != 0)
        return -1;
    if (copy) {
        /* the source that was authorized, named as the upstream knows it */
        const struct s3map_copy_source *cs = &px->authz.map.copy;
        const struct config_bucket *sb = config_find_bucket(cfg, cs->bucket);
        if (ub_build_copy_source(u, upstream_bucket(sb, cs->bucket), cs->key, cs->version_id) != 0)
            return -1;
    }
    return ub_sign(u, r->method, cr, s3w_slice_cstr(cfg->upstream.region), px->now, payload,
                   &plw(px->w)->up_kc, sd);
}

/* The built request's lines onto curl's list, then the proxy's signature. */
static int px_upstream_lines(struct px *px, const struct sigv4_signed *sd)
{
    const struct ub_request *u = &px->up.req;
    int rc = 0;
    for (size_t i = 0; i < u->nheaders && rc == 0; i++)
        rc = hl_append_header(px, u->headers[i].name, u->headers[i].value);
    /* curl adds these unless told not to; none of them is wanted upstream */
    rc |= rc == 0 ? hl_append(px, "Accept:") : 0;
    rc |= rc == 0 ? hl_append(px, "Expect:") : 0;
    rc |= rc == 0 ? hl_append(px, "Transfer-Encoding:") : 0;
    char line[4200];
    rc |= hl_append_fmt(px, line, sizeof(line), "Authorization",
                        s3w_slice(sd->authorization, sd->authorization_len));
    rc |= hl_append_fmt(px, line, sizeof(line), "x-amz-date", s3w_slice_cstr(sd->amz_date));
    rc |= hl_append_fmt(px, line, sizeof(line), "x-amz-content-sha256",
                        s3w_slice(sd->content_sha256, sd->content_sha256_len));
    if (sd->security_token.len)
        rc |= hl_append_fmt(px, line, sizeof(line), "x-amz-security-token", sd->security_token);
    s3w_wipe(line, sizeof(line));
    return rc ? -1 : 0;
}

/* The curl easy handle of the transfer, added to the worker's multi. */
static int px_curl_start(struct px *px, bool has_body)
{
    const struct http_request *r = px->post.upreq ? px->post.upreq : &px->c->req; /* POST Object */
    const struct config *cfg = px->cfg;
    CURL *e = curl_easy_init();
    if (!e)
        return -1;
    px->up.xfer.easy = e;
    px->up.xfer.done = up_done;
    px->up.xfer.ud = px;
    char method[16];
    snprintf(method, sizeof(method), "%.*s", (int)r->method.len, r->method.ptr);
    curl_easy_setopt(e, CURLOPT_URL, px->up.req.url.ptr);
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
    if (r->is_head) {
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
    return up_start(px->w, &px->up.xfer);
}

int px_start_upstream(struct px *px, struct s3w_slice payload_hash, bool has_body,
                      const char *content_md5)
{
    if (!px->up.ident_held && !px_take_upstream_slot(px))
        return -1;
    struct sigv4_credentials cr;
    const struct creds_snapshot *snap;
    if (!px_upstream_creds(px, &cr, &snap))
        return -1;
    struct sigv4_signed sd;
    int rc = px_build_upstream(px, &cr, payload_hash, content_md5, &sd);
    if (rc == 0 && px->body.passthrough)
        rc = px_body_reframe_init(px, &sd);
    if (rc == 0)
        rc = px_upstream_lines(px, &sd);
    sigv4_signed_cleanup(&sd);
    creds_snapshot_release(snap); /* the token header line is copied in hl */
    if (rc != 0 || px_curl_start(px, has_body) != 0) {
        px_fail_internal(px);
        return -1;
    }
    if (px->c->req.is_head || !has_body || px->body.up_total == 0)
        fbt_arm(px); /* no body to send: the request is all out */
    return 0;
}

void pl_on_drain(struct proxy_conn *c)
{
    struct px *px = c->ex;
    if (px && px->resp.write_paused && px->up.xfer.active) {
        px->resp.write_paused = false;
        up_unpause(px->w, &px->up.xfer);
    }
}
