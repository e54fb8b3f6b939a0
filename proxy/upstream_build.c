/*
 * upstream_build.c - the upstream request, built without I/O: its target
 * (path-style or virtual-hosted, keys that no hop can reinterpret, the
 * query without the caller's presigned parameters), the Host authority,
 * which of the caller's headers are forwarded, signed or dropped
 * (README, "Security invariants": it vouches only for what the caller
 * signed; hop-by-hop headers are dropped), the Content-Encoding without
 * aws-chunked, the x-amz-copy-source rebuilt from the authorized source,
 * and the proxy's SigV4 signature over all of it. Unit-tested without
 * sockets (tests/unit/proxy/test_upstream_build.c).
 */
#include "upstream_build.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "pipeline.h"
#include "s3map.h"

/* ---- header policy ---------------------------------------------------------------------- */
bool ub_name_prefix(struct s3w_slice n, const char *pre)
{
    size_t l = strlen(pre);
    return n.len >= l && s3w_slice_eq_nocase(s3w_slice(n.ptr, l), s3w_slice(pre, l));
}

/* Standard headers S3 takes unsigned (README.md, "Security invariants"). */
bool ub_safe_unsigned(struct s3w_slice n)
{
    static const struct s3w_slice safe[] = {
        S3W_SLICE_LIT("content-type"), S3W_SLICE_LIT("content-md5"),
        S3W_SLICE_LIT("cache-control"), S3W_SLICE_LIT("content-disposition"),
        S3W_SLICE_LIT("content-encoding"), S3W_SLICE_LIT("content-language"),
        S3W_SLICE_LIT("expires"), S3W_SLICE_LIT("range"),
    };
    for (size_t i = 0; i < sizeof(safe) / sizeof(safe[0]); i++)
        if (s3w_slice_eq_nocase(n, safe[i]))
            return true;
    return ub_name_prefix(n, "if-");
}

/* Never forwarded: hop-by-hop (RFC 9110 7.6.1), framing, and the caller's
 * own authentication (replaced by the proxy's). */
bool ub_never_forward(struct s3w_slice n)
{
    static const struct s3w_slice drop[] = {
        S3W_SLICE_LIT("host"), S3W_SLICE_LIT("authorization"), S3W_SLICE_LIT("x-amz-date"),
        S3W_SLICE_LIT("x-amz-content-sha256"), S3W_SLICE_LIT("x-amz-security-token"),
        S3W_SLICE_LIT("content-length"), S3W_SLICE_LIT("transfer-encoding"),
        S3W_SLICE_LIT("connection"), S3W_SLICE_LIT("keep-alive"), S3W_SLICE_LIT("te"),
        S3W_SLICE_LIT("trailer"), S3W_SLICE_LIT("upgrade"), S3W_SLICE_LIT("expect"),
        S3W_SLICE_LIT("proxy-authorization"), S3W_SLICE_LIT("proxy-connection"),
        S3W_SLICE_LIT("x-amz-region-set"), /* SigV4a: the caller's signature's regions */
        /* checked against the configured owners (px_expected_owners_ok) */
        S3W_SLICE_LIT("x-amz-expected-bucket-owner"), S3W_SLICE_LIT("x-amz-source-expected-bucket-owner"),
    };
    for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
        if (s3w_slice_eq_nocase(n, drop[i]))
            return true;
    return false;
}

static bool header_signed(const struct ub_header_rules *r, struct s3w_slice name)
{
    if (r->anonymous || !r->sv)
        return false;
    char low[128];
    if (name.len >= sizeof(low))
        return false;
    for (size_t i = 0; i < name.len; i++)
        low[i] = (char)tolower((unsigned char)name.ptr[i]);
    return sigv4_result_signed(r->sv, s3w_slice(low, name.len));
}

/* A presigned URL's own parameter, by its decoded name: the verifier
 * (auth_parse.c) decodes names, so "X%2DAmz-Signatur%65" is a signature
 * parameter there and must not go upstream here (a probe's did, with a
 * session token it could have carried into the store's logs). */
static bool is_presign_param(struct s3w_slice k)
{
    static const char *const names[] = {
        "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
        "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token",
        "X-Amz-Region-Set", /* SigV4a presigned URLs */
    };
    char name[40];
    long n = k.len < 3 * sizeof(name) ? s3w_pct_decode(k, name, sizeof(name), 0) : -1;
    if (n <= 0)
        return false;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (s3w_slice_eq_nocase(s3w_slice(name, (size_t)n), s3w_slice_cstr(names[i])))
            return true;
    return false;
}

/* A raw "+" in the query is a space to S3 and to the operation mapping
 * (only an anonymous request may hold one: px_verify refuses it in a
 * signed one); the proxy's signer would take it for a plus (%2B, as SigV4
 * signers do), and S3 would refuse the proxy's signature. Sent as %20:
 * the same meaning, one reading. */
static int append_plus_as_space(struct s3w_buf *out, struct s3w_slice part)
{
    const char *p = part.ptr, *end = part.ptr + part.len, *plus;
    while ((plus = memchr(p, '+', (size_t)(end - p))) != NULL) {
        if (s3w_buf_append(out, p, (size_t)(plus - p)) != 0 || s3w_buf_append(out, "%20", 3) != 0)
            return -1;
        p = plus + 1;
    }
    return s3w_buf_append(out, p, (size_t)(end - p));
}

/* Whether a query parameter name decodes to `want` (s3map reads x-amz-*
 * parameters as the headers: presigners hoist x-amz-* headers into the
 * query). */
static bool param_is(struct s3w_slice k, const char *want)
{
    char name[40];
    long n = k.len < 3 * sizeof(name) ? s3w_pct_decode(k, name, sizeof(name), 0) : -1;
    return n > 0 && s3w_slice_eq_nocase(s3w_slice(name, (size_t)n), s3w_slice_cstr(want));
}

/* The query without the presigned-URL parameters (they are the caller's
 * authentication, replaced by the proxy's header signature), the expected
 * owners (checked against the configured ones: px_expected_owners_ok) and,
 * with drop_copy_source, x-amz-copy-source (sent as a rebuilt header). */
int ub_filtered_query(struct s3w_slice q, bool drop_copy_source, struct s3w_buf *out)
{
    size_t i = 0;
    bool first = true;
    while (i < q.len) {
        const char *amp = memchr(q.ptr + i, '&', q.len - i);
        size_t end = amp ? (size_t)(amp - q.ptr) : q.len;
        struct s3w_slice part = s3w_slice(q.ptr + i, end - i);
        const char *eq = memchr(part.ptr, '=', part.len);
        struct s3w_slice k = s3w_slice(part.ptr, eq ? (size_t)(eq - part.ptr) : part.len);
        bool drop = is_presign_param(k) || (drop_copy_source && param_is(k, "x-amz-copy-source")) ||
                    (k.len > 6 && (k.ptr[0] | 0x20) == 'x' &&
                     (param_is(k, "x-amz-expected-bucket-owner") ||
                      param_is(k, "x-amz-source-expected-bucket-owner")));
        if (part.len && !drop) {
            if (!first && s3w_buf_append_char(out, '&') != 0)
                return -1;
            if (append_plus_as_space(out, part) != 0)
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
bool ub_dns_bucket(struct s3w_slice b)
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

/* ---- the request ----------------------------------------------------------------- */
void ub_request_init(struct ub_request *u)
{
    memset(u, 0, sizeof(*u));
    s3w_buf_init(&u->target, 16384);
    s3w_buf_init(&u->url, 16384 + UB_AUTHORITY_MAX + 16);
    /* the codings are a part of the head, so this cap cannot be hit */
    s3w_buf_init(&u->content_encoding, HTTP_MAX_HEAD);
    s3w_buf_init(&u->copy_source, 4 * (S3MAP_ARN_MAX + S3MAP_MAX_QUERY_BYTES));
}

static void wipe_reset(struct s3w_buf *b)
{
    if (b->ptr)
        s3w_wipe(b->ptr, b->len);
    s3w_buf_reset(b);
}

void ub_request_reset(struct ub_request *u)
{
    wipe_reset(&u->target);
    wipe_reset(&u->url);
    wipe_reset(&u->content_encoding);
    wipe_reset(&u->copy_source);
    u->authority_len = 0;
    u->authority[0] = '\0';
    u->nheaders = 0;
}

void ub_request_cleanup(struct ub_request *u)
{
    s3w_buf_cleanup(&u->target);
    s3w_buf_cleanup(&u->url);
    s3w_buf_cleanup(&u->content_encoding);
    s3w_buf_cleanup(&u->copy_source);
}

int ub_build_target(struct ub_request *u, const struct ub_target_in *in)
{
    struct s3w_buf *t = &u->target;
    int rc = 0;
    /* upstream.addressing "virtual": BUCKET.ENDPOINT-HOST/KEY (S3 User
     * Guide, "Virtual hosting of buckets") */
    bool vhost = in->virtual_addressing && ub_dns_bucket(in->upstream_bucket);
    rc |= s3w_buf_append_char(t, '/');
    if (vhost) {
        if (in->key.len)
            rc |= pl_key_path_encode(in->key, t);
    } else if (in->bucket.len) {
        rc |= sigv4_uri_encode(in->upstream_bucket, false, t);
        if (in->key.len) {
            rc |= s3w_buf_append_char(t, '/');
            rc |= pl_key_path_encode(in->key, t);
        }
    }
    if (in->query.len) {
        struct s3w_buf q;
        s3w_buf_init(&q, 16384);
        rc |= ub_filtered_query(in->query, in->drop_copy_source, &q);
        if (q.len) {
            rc |= s3w_buf_append_char(t, '?');
            rc |= s3w_buf_append(t, q.ptr, q.len);
        }
        s3w_buf_cleanup(&q);
    }
    /* the endpoint's authority is the Host */
    const char *ep = in->endpoint;
    const char *auth = strstr(ep, "://");
    auth = auth ? auth + 3 : ep;
    size_t alen = strcspn(auth, "/");
    size_t slen = (size_t)(auth - ep); /* "http://" */
    int n = vhost ? snprintf(u->authority, sizeof(u->authority), "%.*s.%.*s",
                             (int)in->upstream_bucket.len, in->upstream_bucket.ptr, (int)alen, auth)
                  : snprintf(u->authority, sizeof(u->authority), "%.*s", (int)alen, auth);
    if (n < 0 || (size_t)n >= sizeof(u->authority))
        return -1;
    u->authority_len = (size_t)n;
    rc |= s3w_buf_append(&u->url, ep, slen);
    rc |= s3w_buf_append(&u->url, u->authority, u->authority_len);
    rc |= s3w_buf_append(&u->url, t->ptr, t->len);
    rc |= s3w_buf_append_char(&u->url, 0);
    return rc ? -1 : 0;
}

bool ub_is_sse_kms(struct s3w_slice v)
{
    v = s3w_slice_trim(v);
    return v.len >= 7 && s3w_bytes_eq_nocase(v.ptr, "aws:kms", 7);
}

bool ub_asks_for_sse_kms(const struct s3w_header *h, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct s3w_slice name = h[i].name;
        if ((ub_name_is(name, "x-amz-server-side-encryption") && ub_is_sse_kms(h[i].value)) ||
            ub_name_is(name, "x-amz-server-side-encryption-aws-kms-key-id") ||
            ub_name_is(name, "x-amz-server-side-encryption-context"))
            return true;
    }
    return false;
}

/* Whether the operation (its s3map_op.wire bits) does not take header n:
 * an object's headers, Range, the If-* conditions (probe 26). */
static bool op_does_not_take(uint8_t wire, struct s3w_slice n)
{
    if (n.len < 5)
        return false;
    switch (n.ptr[0] | 0x20) {
    case 'c':
        return !(wire & S3MAP_W_OBJECT_HEADERS) &&
               (ub_name_is(n, "content-type") || ub_name_is(n, "content-disposition") ||
                ub_name_is(n, "content-language") || ub_name_is(n, "cache-control"));
    case 'e':
        return !(wire & S3MAP_W_OBJECT_HEADERS) && ub_name_is(n, "expires");
    case 'x':
        return !(wire & S3MAP_W_OBJECT_HEADERS) &&
               (ub_name_prefix(n, "x-amz-meta-") ||
                ub_name_is(n, "x-amz-server-side-encryption-bucket-key-enabled"));
    case 'r':
        return !(wire & S3MAP_W_RANGE) && ub_name_is(n, "range");
    case 'i':
        return !(wire & S3MAP_W_CONDITIONS) && ub_name_prefix(n, "if-");
    }
    return false;
}

enum ub_verdict ub_header_verdict(const struct ub_header_rules *r, struct s3w_slice n)
{
    if (ub_never_forward(n) || (r->op_known && op_does_not_take(r->op_wire, n)))
        return UB_DROP;
    if (r->copy && ub_name_is(n, "x-amz-copy-source"))
        return UB_DROP; /* rebuilt */
    bool framing = ub_name_is(n, "x-amz-decoded-content-length") || ub_name_is(n, "x-amz-trailer");
    if (r->decoded && framing)
        return UB_DROP;
    if (r->own_body && (ub_name_is(n, "content-md5") || ub_name_prefix(n, "x-amz-checksum-") ||
                        ub_name_is(n, "x-amz-sdk-checksum-algorithm")))
        return UB_DROP;
    if (r->decoded && ub_name_is(n, "content-encoding"))
        return UB_CONTENT_ENCODING;
    /* an anonymous request has no signature to cover its x-amz-* headers:
     * S3 takes them as sent, and the policy has just been evaluated on
     * them (a Deny on a Null s3:x-amz-server-side-encryption passed
     * because of the header, so the upstream must get it) - but for the
     * aws-chunked framing ones, which only a decoded body's pass-through
     * carries (probe 19 F2: a false decoded length went up under the
     * proxy's signature); pass-through framing headers were verified by
     * the decoder */
    if (header_signed(r, n) || (r->anonymous && ub_name_prefix(n, "x-amz-") && !framing) ||
        (r->passthrough && framing) || ub_safe_unsigned(n))
        return UB_FORWARD;
    return UB_DROP;
}

int ub_strip_aws_chunked(struct s3w_slice v, struct s3w_buf *out)
{
    int rc = 0;
    size_t j = 0;
    while (j < v.len) {
        const char *comma = memchr(v.ptr + j, ',', v.len - j);
        size_t e = comma ? (size_t)(comma - v.ptr) : v.len;
        struct s3w_slice tok = s3w_slice_trim(s3w_slice(v.ptr + j, e - j));
        if (tok.len && !ub_name_is(tok, "aws-chunked")) {
            if (out->len)
                rc |= s3w_buf_append_char(out, ',');
            rc |= s3w_buf_append_slice(out, tok);
        }
        j = e + 1;
    }
    return rc;
}

static int add(struct ub_request *u, struct s3w_slice name, struct s3w_slice value)
{
    if (u->nheaders >= UB_MAX_HEADERS)
        return -1;
    u->headers[u->nheaders++] = (struct s3w_header){ name, value };
    return 0;
}

int ub_build_headers(struct ub_request *u, const struct ub_header_rules *r,
                     const struct s3w_header *in, size_t n, struct s3w_slice content_md5)
{
    int rc = add(u, S3W_SLICE_LIT("Host"), s3w_slice(u->authority, u->authority_len));
    for (size_t i = 0; i < n && rc == 0; i++) {
        switch (ub_header_verdict(r, in[i].name)) {
        case UB_FORWARD: rc = add(u, in[i].name, in[i].value); break;
        case UB_CONTENT_ENCODING: rc = ub_strip_aws_chunked(in[i].value, &u->content_encoding); break;
        case UB_DROP: break;
        }
    }
    /* after the loop: the buffer is complete before the header borrows it
     * (a slice into a buffer that a second Content-Encoding grew was read
     * freed by the signer) */
    if (rc == 0 && u->content_encoding.len)
        rc = add(u, S3W_SLICE_LIT("Content-Encoding"), s3w_buf_slice(&u->content_encoding));
    if (rc == 0 && content_md5.ptr)
        rc = add(u, S3W_SLICE_LIT("Content-MD5"), content_md5);
    return rc ? -1 : 0;
}

int ub_build_copy_source(struct ub_request *u, struct s3w_slice upstream_bucket,
                         struct s3w_slice key, struct s3w_slice version_id)
{
    struct s3w_buf *b = &u->copy_source;
    s3w_buf_reset(b);
    int rc = s3w_buf_append_char(b, '/');
    rc |= sigv4_uri_encode(upstream_bucket, false, b);
    rc |= s3w_buf_append_char(b, '/');
    rc |= pl_key_path_encode(key, b);
    if (version_id.ptr) {
        rc |= s3w_buf_append_cstr(b, "?versionId=");
        rc |= sigv4_uri_encode(version_id, false, b);
    }
    if (rc == 0)
        rc = add(u, S3W_SLICE_LIT("x-amz-copy-source"), s3w_buf_slice(b));
    return rc ? -1 : 0;
}

int ub_sign(const struct ub_request *u, struct s3w_slice method, const struct sigv4_credentials *cr,
            struct s3w_slice region, int64_t now, struct s3w_slice payload,
            struct sigv4_keycache *cache, struct s3w_buf *scratch, struct sigv4_signed *sd)
{
    struct sigv4_sign_params sp = {
        .method = method,
        .target = s3w_buf_slice(&u->target),
        .headers = u->headers,
        .n_headers = u->nheaders,
        .region = region,
        .service = S3W_SLICE_LIT("s3"),
        .uri_mode = SIGV4_URI_S3,
        .now = now,
        .payload = payload,
        .cache = cache,
        .scratch = scratch,
    };
    struct sigv4_error err;
    return sigv4_sign_headers(&sp, cr, sd, &err) == 0 ? 0 : -1;
}
