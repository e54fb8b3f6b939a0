/*
 * pipeline.c - one request, stage by stage (pipeline.h; the exchange's
 * state and the error idiom are in exchange.h).
 *
 * Where each stage of a request lives:
 *
 *   stage                            file               function
 *   -------------------------------- ------------------ ---------------------------
 *   head complete, exchange made     pipeline.c         pl_on_head, px_new,
 *     (request headers read once)                         px_read_headers
 *   a spare exchange, or a new one   pipeline_worker.c  px_alloc, px_recycle
 *     (and the worker's state)                            pl_worker_*, pl_shared_*
 *   admit (audit up, method, Host)   pipeline.c         stage_admit
 *   route (bucket, key)              pipeline.c         stage_route, pl_route
 *   CORS: preflight answered,        cors.c             px_cors (OPTIONS), px_cors_wrap,
 *     headers of every answer                             px_cors_append, px_bucket_cors
 *   STS endpoint                     sts_endpoint.c     px_stage_sts, px_sts
 *   POST Object (browser form):      post_object.c      px_post_object, px_post_body,
 *     policy, authz, PutObject                            px_post_body_end
 *   authenticate (signature, who)    pipeline.c         stage_authenticate
 *                                    authenticate.c     px_verify, px_sig_details
 *   context (operation, keys)        pipeline.c         stage_context
 *   authorize                        authorize.c        px_authorize_all, px_authorize
 *   dispatch                         pipeline.c         stage_dispatch
 *   body collected, then resumed     pipeline.c         px_collect_body, px_after_collect
 *   answered locally                 local_ops.c        px_delete_objects, px_bucket_policy,
 *                                                         px_body_keys, px_finish_*
 *   body mode                        pipeline.c         stage_body_mode
 *                                    body.c             px_choose_body_mode, px_chunked_init
 *   upstream request (pure)          upstream_build.c   ub_* (target, headers, query,
 *                                                         copy source, signature)
 *   upstream exchange                relay.c            px_start_upstream
 *   request body streamed, verified  body.c             pl_on_body, pl_on_body_end,
 *                                                         px_payload_hash_ok
 *   response relayed                 relay.c            up_header, up_write, up_done,
 *                                                         pl_on_drain
 *   end: audit, metrics, free        exchange.c         px_finish, px_fail, px_done_audit
 *   client gone                      exchange.c         pl_on_abort
 */
#include "pipeline.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "civil.h"
#include "codec.h"
#include "cors_answer.h"
#include "exchange.h"
#include "listbuckets.h"
#include "log.h"
#include "metrics.h"
#include "post_object.h"
#include "s3err.h"
#include "sts.h"

static const char EMPTY_SHA256[] =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/* ---- routing ------------------------------------------------------------------------ */
/* The host of a Host header value, without its port: a DNS name or IPv4
 * address (letters, digits, '-', '.', '_', '~'; no empty label but the
 * root's one trailing dot), or an IPv6 literal in brackets, then ':' and
 * a port number (0 to 65535) or nothing (RFC 9110 7.2, RFC 3986 3.2.2,
 * without userinfo or percent-encoding, which no S3 client sends). false
 * for anything else: a Host that is not one - "a:1:2", "a:x", "u@a",
 * "a,b", "a..b", "a:99999" - is refused rather than cut at some character
 * or read as some other host, so no two readers of it can disagree on the
 * bucket. */
static const bool host_chars[256] = {
    ['a' ... 'z'] = true, ['A' ... 'Z'] = true, ['0' ... '9'] = true,
    ['-'] = true,         ['.'] = true,         ['_'] = true,         ['~'] = true,
};

static bool host_name(struct s3w_slice v, struct s3w_slice *name)
{
    size_t i = 0;
    if (v.len > 0 && v.ptr[0] == '[') {
        for (i = 1; i < v.len && v.ptr[i] != ']'; i++)
            if (!isxdigit((unsigned char)v.ptr[i]) && v.ptr[i] != ':' && v.ptr[i] != '.')
                return false;
        if (i == v.len || i == 1)
            return false;
        i++; /* the ']' */
    } else {
        while (i < v.len && host_chars[(unsigned char)v.ptr[i]]) {
            /* an empty label: ".a", "a..b", "a.." (one root dot is "a.") */
            if (v.ptr[i] == '.' && (i == 0 || v.ptr[i - 1] == '.'))
                return false;
            i++;
        }
        if (i == 0)
            return false;
    }
    *name = s3w_slice(v.ptr, i);
    if (i == v.len)
        return true;
    if (v.ptr[i] != ':' || v.len - i - 1 > 5)
        return false;
    uint32_t port = 0;
    for (i++; i < v.len; i++) {
        if (v.ptr[i] < '0' || v.ptr[i] > '9')
            return false;
        port = port * 10 + (uint32_t)(v.ptr[i] - '0');
    }
    return port <= 65535;
}

int pl_route(struct s3w_slice host, struct s3w_slice path,
             char *const *vhost_domains, size_t ndomains,
             char vhost_bucket[static PL_VHOST_BUCKET_CAP],
             struct s3w_slice *bucket, struct s3w_slice *key_raw)
{
    if (path.len == 0 || path.ptr[0] != '/')
        return -1;
    struct s3w_slice h;
    if (!host_name(host, &h))
        return -2;
    /* a fully qualified name's root dot: bkt.s3.example.com. is bkt's */
    if (h.len > 1 && h.ptr[h.len - 1] == '.' && h.ptr[0] != '[')
        h.len--;
    for (size_t i = 0; i < ndomains; i++) {
        struct s3w_slice d = s3w_slice_cstr(vhost_domains[i]);
        if (h.len > d.len + 1 && h.ptr[h.len - d.len - 1] == '.' &&
            s3w_slice_eq_nocase(s3w_slice(h.ptr + h.len - d.len, d.len), d)) {
            /* virtual-hosted style: bucket.DOMAIN/key (S3 User Guide,
             * "Virtual hosting of buckets"). A host name is case-blind
             * (RFC 9110 4.2.3; DNS): OPEN.DOMAIN is the bucket open, for
             * the policy as for the store. A label too long for any
             * bucket stays as sent, for s3map to refuse. */
            *bucket = s3w_slice(h.ptr, h.len - d.len - 1);
            if (bucket->len < PL_VHOST_BUCKET_CAP) {
                for (size_t j = 0; j < bucket->len; j++)
                    vhost_bucket[j] = (char)tolower((unsigned char)bucket->ptr[j]);
                *bucket = s3w_slice(vhost_bucket, bucket->len);
            }
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

/* The request body is complete: the exchange goes on by its kind. An STS
 * call is verified here, now that the form's hash (its payload) is known. */
static void px_after_collect(struct px *px)
{
    if (px->kind == PX_STS && px->auth.anonymous) {
        px_sts(px); /* unsigned: AssumeRoleWithWebIdentity or refused there */
    } else if (px->kind == PX_STS) {
        uint8_t h[32];
        sigv4_sha256(px->body.collect.ptr, px->body.collect.len, h);
        if (px_verify(px, S3W_SLICE_LIT("sts"), h))
            px_sts(px);
    } else if (px->kind == PX_BODY_KEYS)
        px_body_keys(px);
    else
        px_delete_objects(px);
}

/* ---- the request head: the stages ------------------------------------------------------------ */
/* The request headers the pipeline reads, found in one pass over the head
 * (the first of each name, as http_request_header; Content-MD5 counted). */
static void px_read_headers(struct px *px)
{
    static const struct {
        struct s3w_slice name; /* lengths known here: no strlen per header */
        size_t off;
    } want[] = {
        { S3W_SLICE_LIT("host"), offsetof(struct px_headers, host) },
        { S3W_SLICE_LIT("authorization"), offsetof(struct px_headers, authorization) },
        { S3W_SLICE_LIT("user-agent"), offsetof(struct px_headers, user_agent) },
        { S3W_SLICE_LIT("referer"), offsetof(struct px_headers, referer) },
        { S3W_SLICE_LIT("x-amz-content-sha256"), offsetof(struct px_headers, content_sha256) },
        { S3W_SLICE_LIT("x-amz-decoded-content-length"), offsetof(struct px_headers, decoded_length) },
        { S3W_SLICE_LIT("x-amz-trailer"), offsetof(struct px_headers, trailer) },
        { S3W_SLICE_LIT("content-md5"), offsetof(struct px_headers, content_md5) },
        { S3W_SLICE_LIT("x-amz-security-token"), offsetof(struct px_headers, security_token) },
    };
    const struct http_request *r = &px->c->req;
    for (size_t i = 0; i < r->nheaders; i++) {
        struct s3w_slice n = r->headers[i].name;
        for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
            if (!s3w_slice_eq_nocase(n, want[k].name))
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

/* A buffer every request fills to about `cap` bytes, allocated at that size
 * at once instead of grown from 64 bytes (five reallocations, each wiping
 * the old block), once per spare exchange, which keeps it (px_alloc). Left
 * empty when out of memory: it grows on first use. */
static void px_buf_presize(struct s3w_buf *b, size_t max, size_t cap)
{
    b->max = max;
    if (b->ptr)
        return;
    b->ptr = malloc(cap);
    if (b->ptr) {
        b->cap = cap;
        b->ptr[0] = '\0';
    }
}

static struct px *px_new(struct proxy_conn *c)
{
    struct px *px = px_alloc(c->w);
    if (!px)
        return NULL;
    px->c = c;
    px->w = c->w;
    px->out.t0_ns = now_ns();
    px->now = (int64_t)time(NULL);
    proxy_worker_request_id(c->w, px->reqid);
    pl_cfg_borrow(px);
    s3w_buf_init(&px->body.collect, 0);
    px_buf_presize(&px->resp.head, PX_RESP_HEAD_MAX, 1024);
    s3w_buf_init(&px->resp.body, 4096);
    s3w_buf_init(&px->del.newbody, 0);
    /* the caller's forwarded headers fit in the HTTP layer's input buffer */
    px_buf_presize(&px->up.head, PROXY_IN_CAP + 16384, 2048);
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
    /* and OPTIONS: CORS preflights, answered by s3warden (cors.c) */
    static const char *const methods[] = { "GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS" };
    bool known = false;
    for (size_t i = 0; i < 6; i++)
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
        /* Only an aws-chunked body may come with Transfer-Encoding: chunked
         * (the SDKs' unsigned-trailer uploads): x-amz-decoded-content-length
         * gives its length, and without it there is none (411, as before).
         * Any other body S3 refuses as px_choose_body_mode does. */
        struct s3w_slice mode = px->hdr.content_sha256 ? px->hdr.content_sha256->value
                                                       : S3W_SLICE_NULL;
        if (s3w_slice_starts_with(mode, S3W_SLICE_LIT("STREAMING-")))
            px_fail(px, 411, "MissingContentLength", s3err_default_message("MissingContentLength"));
        else
            px_fail_header(px, 501, "NotImplemented", "Transfer-Encoding");
        return false;
    }
    if (!px->hdr.host) {
        px_fail(px, 400, "InvalidRequest", "Missing Host header.");
        return false;
    }
    return true;
}

int px_object_url(const struct px *px, struct s3w_buf *out)
{
    /* virtual-hosted: the bucket came from the Host (pl_route) */
    struct s3w_slice b = px->route.bucket, h = px->route.host;
    bool vhost = b.ptr == px->route.vhost_bucket || (b.ptr >= h.ptr && b.ptr < h.ptr + h.len);
    int rc = s3w_buf_append_cstr(out, px->c && proxy_conn_tls_version(px->c) ? "https://" : "http://");
    rc |= s3w_buf_append_slice(out, h);
    rc |= s3w_buf_append_char(out, '/');
    if (!vhost) {
        rc |= s3w_buf_append_slice(out, b);
        rc |= s3w_buf_append_char(out, '/');
    }
    rc |= pl_key_path_encode(s3w_slice(px->route.key, px->route.key_len), out);
    return rc;
}

/* Stage 1: bucket and key from the Host header and the path. */
static bool stage_route(struct px *px)
{
    const struct http_request *r = &px->c->req;
    px->route.host = px->hdr.host->value;
    struct s3w_slice key_raw;
    int rc = pl_route(px->route.host, r->path, px->cfg->virtual_host_domains,
                      px->cfg->nvirtual_host_domains, px->route.vhost_bucket, &px->route.bucket,
                      &key_raw);
    if (rc == -2) {
        px_fail(px, 400, "InvalidArgument", "The Host header is not a valid host[:port].");
        return false;
    }
    if (rc != 0) {
        px_fail(px, 400, "InvalidURI", "Couldn't parse the specified URI.");
        return false;
    }
    /* room for S3's longest key, S3MAP_MAX_KEY_BYTES: a longer one is
     * KeyTooLongError, as S3 answers it (s3map's words), whatever its
     * encoding */
    long kl = s3w_pct_decode(key_raw, px->route.key, sizeof(px->route.key) - 1, 0);
    if (kl == S3W_E_TOOBIG) {
        px_fail(px, s3map_error_status(S3MAP_E_KEY_TOO_LONG), s3map_error_code(S3MAP_E_KEY_TOO_LONG),
                s3map_strerror(S3MAP_E_KEY_TOO_LONG));
        return false;
    }
    if (kl < 0) {
        px_fail(px, 400, "InvalidURI", "Couldn't parse the specified URI.");
        return false;
    }
    px->route.key_len = (size_t)kl;
    if (px->route.bucket.len)
        px->route.bcfg = config_find_bucket(px->cfg, px->route.bucket);
    return true;
}

bool px_collect_charge(struct px *px, size_t n)
{
    struct pl_worker *pw = plw(px->w);
    if (pw->collect_bytes >= PX_COLLECT_BUDGET || n > PX_COLLECT_BUDGET - pw->collect_bytes) {
        if (px->w->metrics)
            metrics_bump(&px->w->metrics->refused[METRICS_REFUSE_COLLECT_BUDGET], 1);
        proxy_log("INFO", "request_id=%s the worker holds %zu bytes of request bodies being "
                  "collected: 503 SlowDown", px->reqid, pw->collect_bytes);
        if (n)
            px->body.failed = true; /* as body.c's body_fail: mid-body */
        px_fail(px, 503, "SlowDown", s3err_default_message("SlowDown"));
        return false;
    }
    pw->collect_bytes += n;
    px->body.collect_charged += n;
    return true;
}

/* Reads the whole request body (capped by the operation) before the
 * exchange goes on in px_after_collect: the STS form, DeleteObjects' key
 * list, the XML of an operation with condition keys in its body. */
void px_collect_body(struct px *px, enum px_kind kind, size_t cap)
{
    px->kind = kind;
    const struct http_request *r = &px->c->req;
    /* the worker's budget for bodies held before they are decided on (a
     * probe's 500 unsigned DeleteObjects, each sent 2 MiB less 64 KiB at
     * once and then a trickle, held 1.1 GB) is charged as their bytes
     * arrive (px_collect_charge), not for what a head declares: 70 heads
     * declaring 2 MiB each and sending nothing took all of it, and every
     * caller's DeleteObjects, tagging and STS got 503 (probe 35) */
    if (!px_collect_charge(px, 0))
        return;
    s3w_buf_cleanup(&px->body.collect);
    s3w_buf_init(&px->body.collect, cap);
    px->body.bm = BM_COLLECT;
    px->body.collected = px_after_collect;
    if (r->content_length == 0 && !r->chunked) {
        px_after_collect(px);
        return;
    }
    proxy_conn_body_start(px->c);
}

/* Stage 2: the signature, and who signed (anonymous when nothing is). */
static bool stage_authenticate(struct px *px)
{
    if (!px_verify(px, S3W_SLICE_LIT("s3"), NULL))
        return false;
    if (px->auth.anonymous) {
        config_identity_anonymous(&px->auth.id);
        px->auth.id_set = true;
    }
    return true;
}

/* What an anonymous request may not have done on s3warden's own KMS
 * rights, once the policy allowed it (so that a denial comes first and the
 * record names the operation):
 *   - ask for SSE-KMS (PX_MSG_KMS_ANONYMOUS, as S3 answers it);
 *   - copy (CopyObject, UploadPartCopy) or select (SelectObjectContent):
 *     the object read may be SSE-KMS, which S3 does not decrypt for an
 *     anonymous caller, and s3warden cannot tell without reading it with
 *     its own credentials (probe 20: a public SSE-KMS object copied
 *     anonymously came out as plain text; the reviewer: a select streams
 *     its rows). Every anonymous copy and select is refused: the reading
 *     that denies. (A GET or HEAD is refused on its answer: relay.c.) */
static bool anonymous_allowed_here(struct px *px)
{
    if (ub_asks_for_sse_kms(px->c->req.headers, px->c->req.nheaders)) {
        px_fail(px, 400, "InvalidArgument", PX_MSG_KMS_ANONYMOUS);
        return false;
    }
    const struct s3map_op *op = px->authz.map.op;
    bool select = op && strcmp(op->name, "SelectObjectContent") == 0;
    if ((px->authz.map.flags & S3MAP_F_COPY) || select) {
        px_fail(px, 403, "AccessDenied",
                select ? "Anonymous selects are not served: s3warden cannot tell whether the "
                         "object is encrypted with SSE-KMS, which S3 does not decrypt for "
                         "anonymous callers."
                       : "Anonymous copies are not served: s3warden cannot tell whether the "
                         "source is encrypted with SSE-KMS, which S3 does not decrypt for "
                         "anonymous callers.");
        return false;
    }
    return true;
}

/* A refused value as an error's ArgumentValue: at most 64 bytes, cut
 * before a UTF-8 continuation byte (the XML must stay UTF-8). */
static struct s3w_slice shown_value(struct s3w_slice v)
{
    size_t k = v.len > 64 ? 64 : v.len;
    while (k > 0 && k < v.len && ((unsigned char)v.ptr[k] & 0xC0) == 0x80)
        k--;
    return s3w_slice(v.ptr, k);
}

/* s3map's refusal, with the parameter it does not know named when it can be
 * shown as it is (short, printable ASCII: it goes into XML and a log line) */
static void fail_map(struct px *px, int rc)
{
    struct s3w_slice p = px->authz.map.unknown_param;
    bool shown = rc == S3MAP_E_NOT_IMPLEMENTED && p.len && p.len <= 64;
    for (size_t i = 0; shown && i < p.len; i++)
        shown = p.ptr[i] > ' ' && p.ptr[i] < 0x7f;
    if (shown) {
        char msg[256];
        snprintf(msg, sizeof(msg),
                 "s3warden does not know the query parameter '%.*s', and refuses the request "
                 "rather than guess which operation it selects.",
                 (int)p.len, p.ptr);
        px_fail(px, s3map_error_status(rc), s3map_error_code(rc), msg);
        return;
    }
    /* half of UploadPart's pair: the elements (and header) S3 adds, as
     * versity/versitygw issues 1236 and 1237 quote its answers */
    if (rc == S3MAP_E_UPLOAD_NO_PART) {
        const struct s3err_detail d[] = {
            { "Method", S3W_SLICE_LIT("PUT"), NULL },
            { "ResourceType", S3W_SLICE_LIT("UPLOAD"), NULL },
            { NULL, S3W_SLICE_LIT("DELETE, POST, GET"), "Allow" },
        };
        px_fail_details(px, s3map_error_status(rc), s3map_error_code(rc), s3map_strerror(rc), d, 3);
        return;
    }
    if (rc == S3MAP_E_INVALID_ACL || rc == S3MAP_E_PART_NUMBER) {
        struct s3w_slice v = px->authz.map.invalid_value;
        const struct s3err_detail d[] = {
            { "ArgumentName", rc == S3MAP_E_INVALID_ACL ? S3W_SLICE_LIT("x-amz-acl")
                                                        : S3W_SLICE_LIT("partNumber"), NULL },
            { "ArgumentValue", shown_value(v), NULL },
        };
        px_fail_details(px, s3map_error_status(rc), s3map_error_code(rc), s3map_strerror(rc), d, 2);
        return;
    }
    if (rc == S3MAP_E_HEADER_NOT_TAKEN || rc == S3MAP_E_BODY_NOT_TAKEN ||
        rc == S3MAP_E_PARAM_NOT_TAKEN) {
        /* a store that does not know the operation could take the request
         * for another by it (s3map.c request_shape) */
        struct s3w_slice name = px->authz.map.invalid_name, v = px->authz.map.invalid_value;
        const char *op = px->authz.map.op ? px->authz.map.op->name : "This";
        char msg[256];
        if (rc == S3MAP_E_HEADER_NOT_TAKEN)
            snprintf(msg, sizeof(msg), "The %s operation does not take the %.*s header.", op,
                     (int)name.len, name.ptr);
        else if (rc == S3MAP_E_PARAM_NOT_TAKEN)
            snprintf(msg, sizeof(msg), "The %s operation does not take the %.*s parameter.", op,
                     (int)shown_value(name).len, name.ptr);
        else
            snprintf(msg, sizeof(msg), "The %s operation does not take a request body.", op);
        const struct s3err_detail d[] = {
            { "ArgumentName", name, NULL },
            { "ArgumentValue", shown_value(v), NULL },
        };
        px_fail_details(px, s3map_error_status(rc), s3map_error_code(rc), msg, d,
                        rc == S3MAP_E_HEADER_NOT_TAKEN ? 2 : rc == S3MAP_E_PARAM_NOT_TAKEN ? 1 : 0);
        return;
    }
    if (rc == S3MAP_E_PART_NO_UPLOAD) {
        const struct s3err_detail d[] = {
            { "ArgumentName", S3W_SLICE_LIT("partNumber"), NULL },
            { "ArgumentValue", S3W_SLICE_LIT("partNumber"), NULL },
        };
        px_fail_details(px, s3map_error_status(rc), s3map_error_code(rc), s3map_strerror(rc), d, 2);
        return;
    }
    px_fail(px, s3map_error_status(rc), s3map_error_code(rc), s3map_strerror(rc));
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
        fail_map(px, rc);
        return false;
    }
    /* a streaming body (PutObject, UploadPart) S3 takes only with its
     * length given up front: Content-Length, or aws-chunked's
     * x-amz-decoded-content-length */
    const struct s3map_op *op = px->authz.map.op;
    if (!r->has_content_length && !r->chunked && op && (op->wire & S3MAP_W_STREAMING_BODY)) {
        /* Without Content-Length (or aws-chunked's Transfer-Encoding,
         * stage_admit) HTTP/1.1 frames no body (RFC 9112 6.3): forwarded,
         * an empty object would be stored and answered 200 while the
         * client's bytes came in as its next request. S3 answers 411; the
         * connection closes, as nothing after the head can be framed. */
        proxy_conn_close_after(c);
        px_fail(px, 411, "MissingContentLength", s3err_default_message("MissingContentLength"));
        return false;
    }
    /* "You cannot use these response header values with an unsigned
     * (anonymous) request" (GetObject, API Reference): a public object is
     * not served as text/html, or under another name, on anyone's say */
    if (px->auth.anonymous && (px->authz.map.flags & S3MAP_F_RESPONSE_OVERRIDES)) {
        px_fail(px, 400, "InvalidRequest",
                "Request specific response headers cannot be used for anonymous GET requests.");
        return false;
    }
    px_build_principal(px);
    bool anon = px->auth.anonymous;
    const struct sigv4_result *sv = &px->auth.sv;
    bool v4a = sv->algorithm == SIGV4_ALG_ECDSA_P256_SHA256;
    struct s3map_conn_facts facts = {
        .source_ip = s3w_slice_cstr(c->peer_ip),
        .now_ms = px->now * 1000,
        .user_agent = hdr_value(px->hdr.user_agent),
        .referer = hdr_value(px->hdr.referer),
        /* aws:RequestedRegion: the scope's region; for SigV4a (no region in
         * the scope) ours, which the signed region set was checked to hold */
        .region = anon ? S3W_SLICE_NULL : v4a ? s3w_slice_cstr(px->cfg->upstream->region) : sv->region,
        .auth_type = anon ? S3MAP_AUTH_NONE : sv->presigned ? S3MAP_AUTH_QUERY : S3MAP_AUTH_HEADER,
        .sig_version = anon ? S3MAP_SIG_NONE : v4a ? S3MAP_SIG_V4A : S3MAP_SIG_V4,
        .signature_age_ms = anon ? -1 : sv->age_s * 1000,
        .content_sha256 = hdr_value(px->hdr.content_sha256),
    };
    return px_fill_context(px, &facts);
}

/* The end of the context stage, shared by POST Object (post_object.c):
 * what the connection adds to the caller's facts (TLS version, the
 * resource's account), the condition keys, the identity's keys, and the
 * policies to evaluate. false after answering. */
bool px_fill_context(struct px *px, struct s3map_conn_facts *facts)
{
    const char *tv = px->c ? proxy_conn_tls_version(px->c) : NULL;
    if (tv && strncmp(tv, "TLSv", 4) == 0) {
        snprintf(px->authz.tlsver, sizeof(px->authz.tlsver), "%s", tv + 4);
        facts->tls_version = s3w_slice_cstr(px->authz.tlsver);
    }
    facts->resource_account = px->route.bcfg ? s3w_slice_cstr(px->route.bcfg->account)
                                             : px->authz.principal.account;
    policy_context_init(&px->authz.ctx);
    int rc = s3map_fill_context(&px->authz.map, &px->authz.mreq, facts, &px->authz.ctx);
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
    return (px->auth.anonymous && px->auth.sv.payload_mode == SIGV4_PAYLOAD_NONE) ||
           px->auth.sv.payload_mode == SIGV4_PAYLOAD_SIGNED ||
           px->auth.sv.payload_mode == SIGV4_PAYLOAD_UNSIGNED;
}

/* Stage 4: how the body goes upstream, and the payload hash the proxy
 * signs it with (into payload, which may borrow hexhash). */
static bool stage_body_mode(struct px *px, struct s3w_slice *payload, char hexhash[65])
{
    const struct http_request *r = &px->c->req;
    struct px_body_choice ch = px_choose_body_mode(px->auth.anonymous, px->auth.sv.payload_mode,
                                                   r->chunked, r->content_length);
    if (ch.status) {
        px_fail_header(px, ch.status, ch.code, ch.header);
        return false;
    }
    px->body.bm = ch.bm;
    px->body.up_total = r->content_length;
    *payload = S3W_SLICE_LIT(EMPTY_SHA256);
    switch (ch.bm) {
    case BM_NONE:
        px->body.verified = true;
        if (!px_payload_hash_ok(px, sigv4_sha256_empty))
            return false;
        /* an empty object or part, or a POST of nothing: its checksums are
         * those of no bytes (a GET or DELETE carries none) */
        if ((s3w_slice_eq_cstr(r->method, "PUT") || s3w_slice_eq_cstr(r->method, "POST")) &&
            !px_checksums_empty_ok(px))
            return false;
        break;
    case BM_PLAIN:
        px->body.verified = true;
        *payload = S3W_SLICE_LIT("UNSIGNED-PAYLOAD");
        break;
    case BM_SIGNED:
        sigv4_sha256_begin(&px->body.sha);
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
/* ListBuckets: the upstreams that hold a bucket of the caller's account
 * (the default too under "unlisted_buckets": "caller_account", where
 * unlisted buckets live). One is asked as any request goes (px->up.to);
 * several at once (relay_fan.c). true when the request goes on to the
 * one-upstream path; false when the fan-out took it (or answered). */
static bool stage_list_buckets_where(struct px *px, struct s3w_slice payload)
{
    const struct config *cfg = px->cfg;
    struct s3w_slice account = px->auth.id_set ? px->auth.id.account : S3W_SLICE_NULL;
    const struct config_upstream *ups[PX_FAN_MAX + 1];
    size_t n = 0;
    bool more = false;
    if (cfg->unlisted_buckets == CONFIG_UNLISTED_CALLER_ACCOUNT && account.len)
        ups[n++] = cfg->upstream;
    for (size_t i = 0; i < cfg->nbuckets && account.len; i++) {
        const struct config_bucket *b = &cfg->buckets[i];
        if (!s3w_slice_eq_cstr(account, b->account))
            continue;
        size_t k = 0;
        while (k < n && ups[k] != b->upstream)
            k++;
        if (k < n)
            continue;
        if (n == PX_FAN_MAX + 1) {
            more = true;
            break;
        }
        ups[n++] = b->upstream;
    }
    if (n <= 1) {
        /* none: the default is asked, and the caller gets an empty list */
        px->up.to = n ? ups[0] : cfg->upstream;
        return true;
    }
    px_list_buckets_fan(px, ups, more ? PX_FAN_MAX + 1 : n, payload);
    return false;
}

static void stage_dispatch(struct px *px)
{
    const struct http_request *r = &px->c->req;
    /* Condition keys in the body (S3MAP_F_BODY_KEYS): without them a Deny
     * on s3:RequestObjectTagKeys never fires and a ForAllValues allow
     * holds vacuously (fail open). Collect the body like DeleteObjects',
     * then verify, fill the context and evaluate in px_body_keys.
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
    enum bp_op bp = px_bucket_policy_op(px);
    /* the owner's root exemption: GetBucketPolicy, PutBucketPolicy and
     * DeleteBucketPolicy only (local_ops.c) */
    px->authz.skip_bucket_policy = bp != BP_NONE && bp != BP_STATUS && px_bucket_policy_root_exempt(px);
    if (!px_authorize_all(px) || px_bucket_cors(px))
        return;
    if (px->auth.anonymous && !anonymous_allowed_here(px))
        return;
    if (bp != BP_NONE) {
        px_bucket_policy(px, bp);
        return;
    }
    /* an operation the store does not implement could run as another
     * there (probe 24: moto ran DELETE ?metrics as DeleteBucket) */
    const struct config_upstream *to = px_upstream(px);
    if (px->authz.map.op && !config_upstream_takes(to, px->authz.map.op)) {
        snprintf(px->out.err_msg, sizeof(px->out.err_msg),
                 to->ops_default
                     ? "s3warden does not send %s to this bucket's storage service: few stores "
                       "other than AWS S3 implement it, and one that does not may run the request "
                       "as another operation. Name it in the upstream's \"operations\" in "
                       "s3warden's configuration if the store implements it."
                     : "The storage service behind this bucket does not implement %s; s3warden "
                       "does not send it there (the upstream's \"operations\" in its "
                       "configuration).",
                 px->authz.map.op->name);
        px_fail(px, 501, "NotImplemented", px->out.err_msg);
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
    if (strcmp(op, "ListBuckets") == 0 && !stage_list_buckets_where(px, payload))
        return;
    if (strcmp(op, "ListBuckets") == 0 || strcmp(op, "GetBucketLocation") == 0) {
        /* answered from the upstream's whole answer (px_finish_list_buckets,
         * px_finish_bucket_location) */
        bool lb = op[0] == 'L';
        px->resp.list_buckets = lb;
        px->resp.bucket_location = !lb;
        px->resp.collect = true;
        px->resp.collected = lb ? px_finish_list_buckets : px_finish_bucket_location;
        s3w_buf_cleanup(&px->resp.body);
        s3w_buf_init(&px->resp.body, lb ? LISTBUCKETS_MAX_BODY : PX_LOCATION_MAX_BODY);
    }
    bool has_body = s3w_slice_eq_cstr(r->method, "PUT") || s3w_slice_eq_cstr(r->method, "POST");
    /* a body sent with a GET, HEAD or DELETE is read (and checked) but not
     * passed on: the upstream request is signed for the body it has, none
     * (probe 23: it carried the caller's hash of a body it did not get) */
    if (!has_body)
        payload = S3W_SLICE_LIT(EMPTY_SHA256);
    if (px_start_upstream(px, payload, has_body, NULL) != 0)
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
    if (!stage_admit(px) || !stage_route(px) || px_cors(px))
        return;
    px->auth.sreq = (struct sigv4_request){ c->req.method, c->req.target, c->req.headers,
                                            c->req.nheaders };
    if (px_stage_sts(px) || px_post_object(px))
        return;
    if (!stage_authenticate(px) || !stage_context(px))
        return;
    stage_dispatch(px);
}

/* A request the server refused before its head was whole (conn.c: a
 * malformed request, plain HTTP on a TLS listener) has a record too: who
 * sent it is unknown, what it asked for too (the ninth probe: smuggling
 * attempts left no trace in the trail). A refusal's: dropped, not
 * waited for, when the backlog is full. */
static void pl_on_refused(struct proxy_conn *c, const char *request_id, int status,
                          const char *code)
{
    struct audit_record r;
    memset(&r, 0, sizeof(r));
    r.time_ms = s3w_wall_ms();
    r.request_id = s3w_slice_cstr(request_id);
    r.source_ip = s3w_slice_cstr(c->peer_ip);
    const char *tv = proxy_conn_tls_version(c);
    r.tls = tv ? s3w_slice_cstr(tv) : S3W_SLICE_NULL;
    r.identity_type = S3W_SLICE_LIT("Unknown");
    r.decision = S3W_SLICE_LIT("Denied");
    r.error_code = s3w_slice_cstr(code);
    r.http_status = status;
    r.bytes_in = c->bytes_in;
    r.upstream_latency_ms = -1;
    audit_batch_log_refusal(plw(c->w)->audit, &r);
}

const struct proxy_handler pl_handler = {
    .on_head = pl_on_head,
    .on_body = pl_on_body,
    .on_body_end = pl_on_body_end,
    .on_drain = pl_on_drain,
    .on_abort = pl_on_abort,
    .on_refused = pl_on_refused,
};
