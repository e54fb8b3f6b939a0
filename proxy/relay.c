/*
 * relay.c - the upstream exchange and the answer relayed to the client.
 * The upstream request is built and signed by upstream_build.c; this file
 * writes its head, feeds it the verified body (body.c) through the
 * worker's connection pool for the origin (upstream.h, h1client.h), and
 * passes the upstream's status, headers and body on, with backpressure
 * both ways: body bytes go only while the connection keeps up
 * (UP_SEND_WINDOW), and the upstream is not read while the client is
 * behind (PROXY_OUT_HIGH). The connect, first-byte and idle timeouts of
 * upstream.* are the pool's. Whether an answer may reach the client at all
 * (its operation's, naming none of the proxy's credentials) is
 * relay_check.c's; rewriting one on its way (an aliased bucket's name,
 * CompleteMultipartUpload's Location) is relay_rewrite.c's; building and
 * signing the request that goes is relay_request.c's.
 *
 * Re-entrancy: a write to the client may close the connection and call
 * pl_on_abort; px->in_cb is set around such writes so that pl_on_abort
 * only detaches px, and px_client_gone ends the exchange once the write
 * returned. Freeing px aborts its upstream request, which h1client allows
 * from inside its own callbacks.
 */
#include "exchange.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cors_answer.h"
#include "creds_fetch.h"
#include "log.h"
#include "metrics.h"
#include "s3err.h"
#include "upstream_build.h"
#include "upstream_state.h"

static void relay_done(struct px *px, int err);

const struct config_upstream *px_upstream(const struct px *px)
{
    if (px->up.to)
        return px->up.to;
    const struct config_bucket *b = px->route.bcfg;
    return b && b->upstream ? b->upstream : px->cfg->upstream;
}

/* Body bytes handed to the upstream connection and not yet written: more
 * wait in px->body.q (bounded, PX_Q_HIGH) and then in the client's socket. */
#define UP_SEND_WINDOW ((size_t)256 << 10)
#define UP_SEND_MAX ((size_t)64 << 10) /* one h1c_send */

/* After a relay callback wrote to the client: a write that failed closed
 * the connection, and pl_on_abort only detached px (in_cb). Ends the
 * exchange then; true when px is gone. */
static bool px_client_gone(struct px *px)
{
    px->in_cb = false;
    if (px->c)
        return false;
    px_finish(px, PX_END_CLOSE, S3W_SLICE_NULL);
    return true;
}

/* ---- the answer ------------------------------------------------------------------------ */
/* Fields of the upstream's answer that are not relayed: those of the hop
 * between s3warden and the store (RFC 9110 section 7.6.1; the framing is
 * s3warden's own), and those that would speak for the origin the client
 * talks to - s3warden's - rather than for the object: cookies, alternative
 * services (which would send browsers elsewhere), HSTS, a browser's
 * credential prompt or refresh, and the store's demands of its own proxy's
 * credentials; and request fields a store could echo (the proxy's
 * Authorization and session token, a caller's SSE-C key: probe 24). S3
 * sends none of the last two kinds. */
static bool not_relayed(struct s3w_slice name)
{
    switch (name.len) { /* every answer's every header comes here */
    case 2:
        return ub_name_is(name, "te");
    case 7:
        return ub_name_is(name, "trailer") || ub_name_is(name, "upgrade") ||
               ub_name_is(name, "alt-svc") || ub_name_is(name, "refresh");
    case 10:
        return ub_name_is(name, "connection") || ub_name_is(name, "keep-alive") ||
               ub_name_is(name, "set-cookie");
    case 11:
        return ub_name_is(name, "set-cookie2");
    case 13: /* the request's, echoed: the proxy's own signature */
        return ub_name_is(name, "authorization");
    case 16:
        return ub_name_is(name, "proxy-connection") || ub_name_is(name, "www-authenticate") ||
               cors_upstream_header(name);
    case 17:
        return ub_name_is(name, "transfer-encoding") || cors_upstream_header(name);
    case 18:
        return ub_name_is(name, "proxy-authenticate") || cors_upstream_header(name);
    case 20: /* the request's, echoed: the proxy's session token */
        return ub_name_is(name, "x-amz-security-token");
    case 25:
        return ub_name_is(name, "strict-transport-security") ||
               ub_name_is(name, "proxy-authentication-info") || cors_upstream_header(name);
    case 41: /* a caller's SSE-C key echoed: S3 answers only its MD5 */
        return ub_name_is(name, "x-amz-server-side-encryption-customer-key");
    case 53:
        return ub_name_is(name, "x-amz-copy-source-server-side-encryption-customer-key");
    }
    return cors_upstream_header(name); /* s3warden answers CORS (cors_answer.h) */
}

/* Calls fn(token, arg) for each comma-separated option of the answer's
 * Connection headers; stops and returns true when fn does. */
static bool connection_options(const struct s3w_header *h, size_t n,
                               bool (*fn)(struct s3w_slice tok, const void *arg), const void *arg)
{
    for (size_t i = 0; i < n; i++) {
        if (!ub_name_is(h[i].name, "connection"))
            continue;
        struct s3w_slice v = h[i].value;
        size_t at = 0;
        while (at < v.len) {
            size_t end = at;
            while (end < v.len && v.ptr[end] != ',')
                end++;
            if (fn(s3w_slice_trim(s3w_slice(v.ptr + at, end - at)), arg))
                return true;
            at = end + 1;
        }
    }
    return false;
}

static bool names_a_field(struct s3w_slice tok, const void *arg)
{
    (void)arg;
    return tok.len && !ub_name_is(tok, "close") && !ub_name_is(tok, "keep-alive");
}

static bool is_name(struct s3w_slice tok, const void *arg)
{
    return s3w_slice_eq_nocase(tok, *(const struct s3w_slice *)arg);
}

/* A field one of the answer's Connection headers names is for that hop
 * only: an intermediary removes it (RFC 9110 section 7.6.1). */
static bool named_by_connection(const struct s3w_header *h, size_t n, struct s3w_slice name)
{
    return connection_options(h, n, is_name, &name);
}

/* A region name as S3 writes one (letters, digits, '-'), kept for the log;
 * anything else leaves it empty, so that a store's bytes cannot forge a
 * log line. */
static void up_region_note(char *out, size_t cap, struct s3w_slice v)
{
    out[0] = '\0';
    if (v.len == 0 || v.len >= cap)
        return;
    for (size_t i = 0; i < v.len; i++)
        if (!(v.ptr[i] == '-' || (v.ptr[i] >= 'a' && v.ptr[i] <= 'z') ||
              (v.ptr[i] >= '0' && v.ptr[i] <= '9')))
            return;
    memcpy(out, v.ptr, v.len);
    out[v.len] = '\0';
}

/* A header line "name: value\r\n" into the head passed on. */
static bool head_add(struct px *px, struct s3w_slice name, struct s3w_slice value)
{
    return s3w_buf_append_slice(&px->resp.head, name) == 0 &&
           s3w_buf_append(&px->resp.head, ": ", 2) == 0 &&
           s3w_buf_append_slice(&px->resp.head, value) == 0 &&
           s3w_buf_append(&px->resp.head, "\r\n", 2) == 0;
}

static int up_on_head(struct h1c_req *hr, int status, const struct s3w_header *h, size_t n)
{
    struct px *px = hr->ud;
    px->resp.status = status;
    ups_answered(ups_find(shared(px->w)->ups, px_upstream(px)->name)); /* /readyz */
    /* only an answer with a body can name its error (not HEAD, not 304:
     * the frequent bodiless ones allocate nothing) */
    if (status >= 300 && status != 304 && !px->resp.errbody && !px->c->req.is_head &&
        !(px->resp.errbody = malloc(sizeof(*px->resp.errbody))))
        return -1; /* not passed on unread (it could name the proxy's credentials): 502 */
    if (px->resp.errbody) {
        px->resp.errbody->len = 0;
        px->resp.errbody->over = false;
    }
    px->resp.has_cl = false;
    px->resp.cl = 0;
    s3w_buf_reset(&px->resp.head);
    /* the bucket's name for its clients when the store knows it by
     * another (relay_rewrite.c) */
    struct s3w_slice alias_local = S3W_SLICE_NULL;
    bool aliased = px_rewrite_alias(px, &alias_local);
    /* a 2xx answer rewritten as it streams goes without the upstream's
     * Content-Length: its length changes */
    px_rewrite_begin(px, status, aliased);
    /* "Connection: keep-alive" (or close) names no field: the common case
     * costs one pass */
    bool has_connection = connection_options(h, n, names_a_field, NULL);
    for (size_t i = 0; i < n; i++) {
        struct s3w_slice name = h[i].name, value = h[i].value;
        if (status >= 300 && status < 400 && ub_name_is(name, "x-amz-bucket-region"))
            up_region_note(px->resp.redirect_region, sizeof(px->resp.redirect_region), value);
        if (not_relayed(name) || (has_connection && named_by_connection(h, n, name)))
            continue;
        if (ub_name_is(name, "content-length")) {
            /* a 204 has no body and no Content-Length (RFC 9110 section
             * 8.6): one that came is not passed on for a client to believe */
            if (status == 204)
                continue;
            /* h1resp accepted exactly one, of digits */
            px->resp.has_cl = true;
            px->resp.cl = 0;
            for (size_t k = 0; k < value.len && px->resp.cl <= UINT32_MAX; k++)
                px->resp.cl = value.ptr[k] >= '0' && value.ptr[k] <= '9'
                                  ? px->resp.cl * 10 + (uint64_t)(value.ptr[k] - '0') : UINT64_MAX;
            if (px->resp.rename)
                continue;
        } else if (aliased && ub_name_is(name, "location")) {
            /* CreateBucket's ("/up", or the bucket's URL at the store; a
             * 3xx's is not passed on): the bucket as its clients name it */
            char v[PL_VHOST_BUCKET_CAP + 1];
            int k = snprintf(v, sizeof(v), "/%.*s", (int)alias_local.len, alias_local.ptr);
            if (!head_add(px, name, s3w_slice(v, (size_t)k < sizeof(v) ? (size_t)k : sizeof(v) - 1)))
                return -1;
            continue;
        } else if (px->auth.anonymous && ub_name_is(name, "x-amz-server-side-encryption") &&
                   ub_is_sse_kms(value) &&
                   (s3w_slice_eq_cstr(px->c->req.method, "GET") || px->c->req.is_head)) {
            /* an SSE-KMS object read anonymously: S3 refuses it
             * (PX_MSG_KMS_ANONYMOUS); here the proxy's KMS rights would
             * have decrypted it. Nothing of it is passed on. */
            px->resp.kms_anonymous = true;
            return -1;
        } else if ((ub_name_is(name, "x-amz-request-id") ||
                    /* moto's and some gateways' spelling; S3's wins */
                    (ub_name_is(name, "x-amzn-requestid") && !px->resp.up_reqid[0])) &&
                   value.len < sizeof(px->resp.up_reqid)) {
            memcpy(px->resp.up_reqid, value.ptr, value.len);
            px->resp.up_reqid[value.len] = '\0';
        }
        if (!head_add(px, name, value))
            return -1; /* over PX_RESP_HEAD_MAX: 502 */
    }
    if (px->resp.rename)
        px->resp.has_cl = false;
    /* A 400/403 may be S3 refusing the proxy's own credentials, and then
     * its body names them: ExpiredToken and InvalidToken echo the session
     * token in <Token-0>, SignatureDoesNotMatch carries the canonical
     * request with the x-amz-security-token value; another store may echo
     * the request's head in any error. Held whole, whatever its framing
     * (bounded by UP_ERRBODY_MAX: one that does not fit is not passed on
     * at all); relay_done answers it. */
    if (px->resp.errbody && !(px->resp.has_cl && px->resp.cl == 0) && !px->resp.collect)
        px->resp.err_hold = true; /* any error: a store may echo the request in it (probe 24) */
    if (!px->resp.collect)
        px_cors_append(px, &px->resp.head); /* over PX_RESP_HEAD_MAX: none */
    if (status >= 200 && status < 300 && status != 204 && !px->c->req.is_head &&
        !px->resp.collect && px->authz.map.op && px->authz.map.op->answer != S3MAP_A_ANY) {
        px->resp.answer = px->authz.map.op->answer; /* up_on_body checks its body */
        if (px->authz.map.op->answer == S3MAP_A_TORRENT) {
            struct s3w_slice type = S3W_SLICE_NULL;
            for (size_t i = 0; i < n; i++)
                if (ub_name_is(h[i].name, "content-type"))
                    type = h[i].value;
            if (!up_answer_torrent_type(type))
                return px_answer_wrong(px, type.len ? type : S3W_SLICE_LIT("(none)"), "Content-Type");
        }
    }
    return 0; /* the head goes with the first body bytes (relay_out) */
}

/* The upstream's Content-Length line in the head passed on made `len`,
 * for a held answer rewritten (the head has not gone). */
void px_set_content_length(struct px *px, size_t len)
{
    struct s3w_buf *h = &px->resp.head;
    for (size_t at = 0; at < h->len;) {
        const char *nl = memchr(h->ptr + at, '\n', h->len - at);
        size_t end = nl ? (size_t)(nl - h->ptr) + 1 : h->len;
        if (end - at > 15 && s3w_slice_eq_nocase(s3w_slice(h->ptr + at, 15),
                                                 S3W_SLICE_LIT("content-length:"))) {
            memmove(h->ptr + at, h->ptr + end, h->len - end);
            h->len -= end - at;
            h->ptr[h->len] = '\0';
            break;
        }
        at = end;
    }
    char v[24];
    int k = snprintf(v, sizeof(v), "%zu", len);
    if (head_add(px, S3W_SLICE_LIT("Content-Length"), s3w_slice(v, (size_t)k))) {
        px->resp.has_cl = true;
        px->resp.cl = len;
    } else {
        px->resp.has_cl = false; /* no room: sent chunked */
    }
}

/* "HTTP/1.1 NNN Reason\r\n" into out (64 bytes): the status as
 * the upstream sent it (h1resp passes on 200-599 only), the reason S3
 * gives it. Its length. */
static size_t status_line(char *out, int status)
{
    const char *reason = s3err_reason(status);
    size_t rl = strlen(reason);
    if (rl > 64 - 15)
        rl = 64 - 15;
    memcpy(out, "HTTP/1.1 ", 9);
    out[9] = (char)('0' + status / 100 % 10);
    out[10] = (char)('0' + status / 10 % 10);
    out[11] = (char)('0' + status % 10);
    out[12] = ' ';
    memcpy(out + 13, reason, rl);
    out[13 + rl] = '\r';
    out[14 + rl] = '\n';
    return 15 + rl;
}

/* Writes to the client: the response head first when it has not gone
 * yet (the status line, the upstream's header lines, the framing), then
 * n body bytes in the response's framing, then (last) the end of a chunked
 * body - all in one write. The head waits for the first body bytes so that
 * a small answer leaves in one system call. */
void px_relay_write(struct px *px, const char *p, size_t n, bool last)
{
    struct proxy_conn *c = px->c;
    uv_buf_t v[8];
    size_t k = 0;
    char status[64], chunk[24];
    if (!px->resp.head_sent) {
        bool nobody = c->req.is_head || px->resp.status == 204 || px->resp.status == 304;
        px->resp.chunked = !px->resp.has_cl && !nobody;
        if (px->resp.chunked && c->req.version_minor == 0) {
            /* an HTTP/1.0 client knows no chunked framing (RFC 9112
             * section 6.1): the answer ends where the connection does */
            px->resp.chunked = false;
            proxy_conn_close_after(c);
        }
        v[k++] = uv_buf_init(status, (unsigned)status_line(status, px->resp.status));
        v[k++] = uv_buf_init(px->resp.head.ptr, (unsigned)px->resp.head.len);
        /* the framing and the end of the head, one of four */
        static const char *const tails[2][2] = {
            { "\r\n", "Connection: close\r\n\r\n" },
            { "Transfer-Encoding: chunked\r\n\r\n",
              "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" },
        };
        const char *tail = tails[px->resp.chunked][proxy_conn_announce_close(c)];
        v[k++] = uv_buf_init((char *)tail, (unsigned)strlen(tail));
        px->resp.head_sent = true;
        px->out.status = px->resp.status;
    }
    if (n && px->resp.chunked) {
        /* the chunk size in hex, then CRLF */
        size_t at = sizeof(chunk) - 2;
        chunk[at] = '\r';
        chunk[at + 1] = '\n';
        for (size_t m = n; m; m >>= 4)
            chunk[--at] = "0123456789abcdef"[m & 15];
        v[k++] = uv_buf_init(chunk + at, (unsigned)(sizeof(chunk) - at));
    }
    if (n)
        v[k++] = uv_buf_init((char *)p, (unsigned)n);
    if (n && px->resp.chunked)
        v[k++] = uv_buf_init("\r\n", 2);
    if (last && px->resp.chunked)
        v[k++] = uv_buf_init("0\r\n\r\n", 5);
    if (k)
        proxy_conn_writev(c, v, k);
}

void px_relay_out(struct px *px, const char *p, size_t n, bool last)
{
    if (px->resp.rename)
        px_relay_rewritten(px, p, n, last);
    else
        px_relay_write(px, p, n, last);
}

static int up_on_body(struct h1c_req *hr, const char *p, size_t n)
{
    struct px *px = hr->ud;
    if (px->resp.status >= 300 && px->resp.errbody)
        up_errbody_add(px->resp.errbody, p, n);
    if (px->resp.collect)
        return s3w_buf_append(&px->resp.body, p, n) == 0 ? 0 : -1; /* over its cap: 502 */
    if (px->resp.err_hold) {
        if (!px->resp.errbody->over)
            return 0; /* in errbody */
        px->resp.err_too_big = true; /* relay_done answers; the connection closes */
        return -1;
    }
    px->in_cb = true;
    if (px->resp.answer) {
        int v = px_answer_check(px, &p, &n, false);
        if (v < 0) {
            px->in_cb = false;
            return v;
        }
        if (v == 0) /* held (white space may have gone) */
            return px_client_gone(px) ? -1 : 0;
    }
    if (n && px->c) /* c: the held bytes' write may have failed */
        px_relay_out(px, p, n, false);
    if (px_client_gone(px))
        return -1;
    if (px->c->out_pending > PROXY_OUT_HIGH) {
        /* the client is behind: the upstream is read again from on_drain */
        px->resp.write_paused = true;
        return H1C_PAUSE;
    }
    return 0;
}

void px_fail_upstream(struct px *px, int err)
{
    if (err == H1C_E_NOMEM) {
        px_fail_internal(px);
    } else if (err == H1C_E_BUSY) {
        /* every connection of the pool stayed busy for the connect timeout:
         * the SDKs retry SlowDown with backoff */
        px_fail(px, 503, "SlowDown", s3err_default_message("SlowDown"));
    } else if (err == H1C_E_CONNECT || err == H1C_E_RESOLVE) {
        /* the store is not there (stopped, its name gone): unavailable, and
         * the SDKs retry 503 with backoff; the other upstreams' buckets are
         * served as ever */
        px_fail(px, 503, "ServiceUnavailable",
                "s3warden cannot reach the store that holds this bucket at the moment. "
                "Please retry the request.");
    } else {
        const char *code = err == H1C_E_TIMEOUT ? "GatewayTimeout" : "BadGateway";
        px_fail(px, err == H1C_E_TIMEOUT ? 504 : 502, code, s3err_default_message(code));
    }
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
    struct creds_mgr *mgr = ups_creds_for(shared(px->w)->ups, px->cfg, px_upstream(px));
    /* S3 answers ExpiredToken and InvalidToken with 400, the other two
     * with 403 (S3 API reference, "List of error codes") */
    if ((px->resp.status == 400 || px->resp.status == 403) && mgr &&
        up_code_is_credential_error(px->resp.up_code)) {
        proxy_log("WARN", "request_id=%s upstream refused the proxy's credentials (%s): refreshing them",
                  px->reqid, px->resp.up_code);
        creds_mgr_refresh_now(mgr);
    }
}

/* 304 answers a GET or HEAD with If-None-Match or If-Modified-Since only
 * (RFC 9110 section 15.4.5); to anything else it is not an answer (probe
 * 30: a store's 304 to a PUT passed on, with its Location). */
static bool not_modified_asked(const struct http_request *rq)
{
    return (rq->is_head || s3w_slice_eq_cstr(rq->method, "GET")) &&
           (http_request_header(rq, "if-none-match") || http_request_header(rq, "if-modified-since"));
}

static void up_on_done(struct h1c_req *hr, int err)
{
    struct px *px = hr->ud;
    px->up.active = false;
    if (px->up.sending) {
        /* inside h1c_send (send_body): ended once it returned */
        px->up.done_deferred = true;
        px->up.done_err = err;
        return;
    }
    relay_done(px, err);
}

static void relay_done(struct px *px, int err)
{
    px->up.t_done_ns = now_ns();
    if (!px->c) {
        px_finish(px, PX_END_CLOSE, S3W_SLICE_NULL);
        return;
    }
    if (px->body.failed) {
        px_fail(px, px->out.status, px->out.err_code, px->out.err_msg);
        return;
    }
    if (px->resp.kms_anonymous) {
        px_fail(px, 400, "InvalidArgument", PX_MSG_KMS_ANONYMOUS);
        return;
    }
    if (!err && px->resp.answer) { /* it ended before its first bytes said what it is */
        const char *p = "";
        size_t n = 0;
        px->in_cb = true;
        px_answer_check(px, &p, &n, true);
        if (px_client_gone(px))
            return;
    }
    if (px->resp.answer_wrong) {
        px_fail(px, 502, "BadGateway", px->out.err_msg);
        return;
    }
    if (px->resp.err_too_big) {
        /* it may name the proxy's credentials, and its code is unknown */
        proxy_log("WARN", "request_id=%s upstream %s answered %d with an error document over "
                  "%d bytes: not passed on", px->reqid, px_upstream(px)->name, px->resp.status,
                  UP_ERRBODY_MAX);
        snprintf(px->out.err_msg, sizeof(px->out.err_msg),
                 "The upstream storage service answered %d with an error document too large "
                 "to pass on.", px->resp.status);
        px_fail(px, 502, "BadGateway", px->out.err_msg);
        return;
    }
    if (err) {
        const char *detail = px->up.hreq.detail;
        proxy_log("WARN", "request_id=%s upstream %s (%.*s): %s%s%s", px->reqid,
                  px_upstream(px)->name, (int)px->up.req.authority_len, px->up.req.authority,
                  h1c_strerror(err), detail[0] ? ": " : "", detail);
        px_fail_upstream(px, err);
        return;
    }
    if (px->resp.status >= 300)
        px_upstream_error(px);
    if (px->resp.status == 304 && !not_modified_asked(&px->c->req)) {
        proxy_log("WARN", "request_id=%s upstream %s answered 304 to a request with no "
                  "If-None-Match or If-Modified-Since: not passed on", px->reqid,
                  px_upstream(px)->name);
        px_fail(px, 502, "BadGateway",
                "The upstream storage service answered 304 Not Modified to a request that asked "
                "for no condition.");
        return;
    }
    if (px->resp.status >= 300 && px->resp.status < 400 && px->resp.status != 304) {
        /* S3 redirects a request for a bucket of another region (301
         * PermanentRedirect, 307 TemporaryRedirect), its Location and body
         * naming the store's endpoint and the upstream bucket. s3warden
         * signs for upstreams[].region, so it is that setting to fix;
         * passed on, the client would be sent around s3warden. */
        proxy_log("WARN", "request_id=%s upstream %s answered %d%s%s%s%s%s: the bucket is not in "
                  "the upstream's region (%s) or not at its endpoint; set the upstream's region "
                  "or the bucket's upstream. Not passed on", px->reqid, px_upstream(px)->name,
                  px->resp.status, px->resp.up_code[0] ? " " : "", px->resp.up_code,
                  px->resp.redirect_region[0] ? " (x-amz-bucket-region: " : "",
                  px->resp.redirect_region, px->resp.redirect_region[0] ? ")" : "",
                  px_upstream(px)->region);
        snprintf(px->out.err_msg, sizeof(px->out.err_msg),
                 "The upstream storage service redirected the request (%d%s%s): the bucket is "
                 "not where s3warden's configuration says it is. s3warden does not pass "
                 "redirects on.", px->resp.status, px->resp.up_code[0] ? " " : "",
                 px->resp.up_code);
        px_fail(px, 502, "BadGateway", px->out.err_msg);
        return;
    }
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
    const struct s3w_buf *held = px->resp.collect ? &px->resp.body : NULL;
    struct s3w_slice doc = held ? s3w_slice(held->ptr, held->len)
                         : px->resp.err_hold ? s3w_slice(px->resp.errbody->buf, px->resp.errbody->len)
                                             : S3W_SLICE_NULL;
    if (doc.len && px_names_proxy_credentials(px, doc)) {
        proxy_log("WARN", "request_id=%s upstream %s answered %d with a document naming "
                  "s3warden's own credentials: not passed on", px->reqid, px_upstream(px)->name,
                  px->resp.status);
        snprintf(px->out.err_msg, sizeof(px->out.err_msg),
                 "The upstream storage service answered %d with a document that names "
                 "s3warden's own credentials; it is not passed on.", px->resp.status);
        bool coded = px->resp.status >= 400 && px->resp.up_code[0];
        px_fail(px, coded ? px->resp.status : 502, coded ? px->resp.up_code : "BadGateway",
                px->out.err_msg);
        return;
    }
    /* an error document held whole names the upstream bucket of an
     * aliased one (<BucketName>, <Resource>): rewritten */
    struct s3w_buf out;
    s3w_buf_init(&out, 0);
    int rw = 0;
    if (px->resp.status >= 300 && (px->resp.collect || px->resp.err_hold))
        rw = px->resp.collect ? px_rewrite_held(px, s3w_buf_slice(&px->resp.body), &out)
                              : px_rewrite_held(px, s3w_slice(px->resp.errbody->buf,
                                                              px->resp.errbody->len), &out);
    if (rw < 0) {
        s3w_buf_cleanup(&out);
        px_fail_internal(px);
        return;
    }
    if (px->resp.collect) {
        if (rw) { /* the error document GetBucketLocation or DeleteObjects passes on */
            s3w_buf_cleanup(&px->resp.body);
            px->resp.body = out;
        }
        px->resp.collected(px);
        return;
    }
    /* a write that fails closes c at once, and pl_on_abort would free px
     * under us: it only detaches while in_cb is set */
    px->in_cb = true;
    if (rw) { /* held whole, it goes with its new length */
        px_set_content_length(px, out.len);
        px_relay_out(px, out.ptr, out.len, true);
    } else if (px->resp.err_hold) { /* held, not a credential error */
        px_relay_out(px, px->resp.errbody->buf, px->resp.errbody->len, true);
    } else {
        px_relay_out(px, NULL, 0, true);
    }
    s3w_buf_cleanup(&out);
    px->in_cb = false;
    px_finish(px, PX_END_FINISH, S3W_SLICE_NULL);
}

/* ---- the request body ------------------------------------------------------------------- */
/* Hands verified body bytes to the connection while it keeps up. The last
 * byte is held back until the body verified: without it the upstream
 * cannot complete the object (README.md, "Security invariants"). false
 * when px is gone or its exchange failed (then on_done follows). */
static bool send_body(struct px *px)
{
    struct h1c_req *hr = &px->up.hreq;
    while (px->body.q.len && h1c_pending(hr) < UP_SEND_WINDOW) {
        uint64_t remaining = px->body.up_total - px->body.up_sent;
        size_t give = px->body.q.len < UP_SEND_MAX ? px->body.q.len : UP_SEND_MAX;
        if (give > remaining)
            give = (size_t)remaining;
        if (!px->body.verified && px->body.up_sent + give >= px->body.up_total)
            give = remaining > 0 ? (size_t)(remaining - 1) : 0;
        if (give == 0)
            break;
        px->up.sending = true;
        int rc = h1c_send(hr, px->body.q.buf + px->body.q.off, give);
        px->up.sending = false;
        if (px->up.done_deferred) {
            px->up.done_deferred = false;
            relay_done(px, px->up.done_err);
            return false;
        }
        if (rc != 0)
            return false; /* on_done follows */
        px->body.q.off += give;
        px->body.q.len -= give;
        if (px->body.q.len == 0)
            px->body.q.off = 0;
        px->body.up_sent += give;
    }
    return true;
}

/* Sends what may go, then reads the client again once the queue drained
 * below PX_Q_LOW, and sends what that read queued. */
static void relay_body(struct px *px)
{
    for (;;) {
        if (!px->up.active || !px->up.writable || !send_body(px))
            return;
        struct proxy_conn *c = px->c;
        if (!c || !c->read_paused || px->body.q.len > PX_Q_LOW)
            return;
        /* resuming parses buffered client bytes right here (pl_on_body,
         * which queues more or fails), and may close the connection */
        px->in_cb = true;
        proxy_conn_resume_read(c);
        if (px_client_gone(px))
            return;
    }
}

void px_relay_body(struct px *px)
{
    if (!px->in_cb) /* inside relay_body's resume, which sends next */
        relay_body(px);
}

static void up_on_drain(struct h1c_req *hr)
{
    struct px *px = hr->ud;
    px->up.writable = true;
    relay_body(px);
}

void px_relay_abort(struct px *px)
{
    px_fan_abort(px);
    if (px->up.active) {
        h1c_abort(&px->up.hreq);
        px->up.active = false;
    }
}

static const struct h1c_callbacks UP_CB = { up_on_head, up_on_body, up_on_drain, up_on_done };

/* ---- the request handed over --------------------------------------------------------- */
bool px_send_request(struct px *px, bool has_body)
{
    const char *why = NULL;
    struct h1c_pool *pool = up_pool(px->w, px_upstream(px), s3w_buf_slice(&px->up.req.url), &why);
    if (!pool) {
        proxy_log("ERROR", "request_id=%s upstream %.*s: %s", px->reqid,
                  (int)px->up.req.authority_len, px->up.req.authority, why);
        px_fail(px, 502, "BadGateway", s3err_default_message("BadGateway"));
        return false;
    }
    struct h1c_req *hr = &px->up.hreq;
    hr->cb = &UP_CB;
    hr->ud = px;
    hr->head = s3w_buf_slice(&px->up.head);
    hr->body_len = has_body ? px->body.up_total : 0;
    hr->is_head = px->c->req.is_head;
    px->up.t_ns = now_ns();
    int rc = h1c_start(pool, hr);
    if (rc != 0) {
        proxy_log("WARN", "request_id=%s upstream %s (%.*s): %s", px->reqid, px_upstream(px)->name,
                  (int)px->up.req.authority_len, px->up.req.authority, h1c_strerror(rc));
        px_fail_upstream(px, rc);
        return false;
    }
    px->up.active = true;
    /* an idle connection took it: the body bytes this read brings leave with
     * the head (h1client.h) */
    px->up.writable = h1c_takes_body(hr);
    return true;
}

void pl_on_drain(struct proxy_conn *c)
{
    struct px *px = c->ex;
    if (px && px->resp.write_paused && px->up.active) {
        px->resp.write_paused = false;
        h1c_resume(&px->up.hreq); /* may deliver held bytes, and end px */
    }
}
