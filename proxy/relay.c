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

#include "creds_fetch.h"
#include "ident_limit.h"
#include "metrics.h"
#include "s3err.h"
#include "upstream_build.h"

static void start_response_head(struct px *px);

static void fbt_closed(uv_handle_t *h)
{
    free(h);
}

void px_fbt_stop(struct px *px)
{
    if (!px->up.fbt)
        return;
    uv_timer_stop(px->up.fbt);
    px->up.fbt->data = NULL;
    uv_close((uv_handle_t *)px->up.fbt, fbt_closed);
    px->up.fbt = NULL;
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
    while (value.len && (value.ptr[0] == ' ' || value.ptr[0] == '\t'))
        value.ptr++, value.len--;
    if (ub_name_is(name, "connection") || ub_name_is(name, "keep-alive") ||
        ub_name_is(name, "transfer-encoding") || ub_name_is(name, "te") ||
        ub_name_is(name, "trailer") || ub_name_is(name, "upgrade") ||
        ub_name_is(name, "proxy-connection"))
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
        if (px->resp.list_buckets)
            px_finish_list_buckets(px);
        else if (px->resp.bucket_location)
            px_finish_bucket_location(px);
        else
            px_finish_delete(px);
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

int px_start_upstream(struct px *px, struct s3w_slice payload_hash,
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
    bool vhost = cfg->upstream.addressing == CONFIG_ADDRESSING_VIRTUAL && ub_dns_bucket(ub);
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
        rc |= ub_filtered_query(c->req.query, (px->authz.map.flags & S3MAP_F_COPY) != 0, &q);
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
        if (ub_never_forward(n))
            continue;
        if ((px->authz.map.flags & S3MAP_F_COPY) && ub_name_is(n, "x-amz-copy-source"))
            continue; /* rebuilt below */
        if (decoded && (ub_name_is(n, "x-amz-decoded-content-length") || ub_name_is(n, "x-amz-trailer")))
            continue;
        if (px->kind == PX_DELETE && (ub_name_is(n, "content-md5") || ub_name_prefix(n, "x-amz-checksum-") ||
                                      ub_name_is(n, "x-amz-sdk-checksum-algorithm")))
            continue;
        if (decoded && ub_name_is(n, "content-encoding")) {
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
                if (tok.len && !ub_name_is(tok, "aws-chunked")) {
                    if (ce.len)
                        rc |= s3w_buf_append_char(&ce, ',');
                    rc |= s3w_buf_append_slice(&ce, tok);
                }
                j = e + 1;
            }
            continue;
        }
        bool sig = px_header_signed(px, n);
        /* an anonymous request has no signature to cover its x-amz-*
         * headers: S3 takes them as sent, and the policy has just been
         * evaluated on them (a Deny on a Null s3:x-amz-server-side-encryption
         * passed because of the header, so the upstream must get it) */
        if (px->auth.anonymous && ub_name_prefix(n, "x-amz-"))
            sig = true;
        /* pass-through framing headers were verified by the decoder */
        if (px->body.passthrough && (ub_name_is(n, "x-amz-decoded-content-length") ||
                                ub_name_is(n, "x-amz-trailer")))
            sig = true;
        if (!sig && !ub_safe_unsigned(n))
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

void pl_on_drain(struct proxy_conn *c)
{
    struct px *px = c->ex;
    if (px && px->resp.write_paused && px->up.xfer.active) {
        px->resp.write_paused = false;
        up_unpause(px->w, &px->up.xfer);
    }
}
