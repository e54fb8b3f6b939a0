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

#include "exchange.h"
#include "sigv4.h"

/* ---- header policy ---------------------------------------------------------------------- */
bool ub_name_is(struct s3w_slice n, const char *s)
{
    return s3w_slice_eq_nocase(n, s3w_slice_cstr(s));
}

bool ub_name_prefix(struct s3w_slice n, const char *pre)
{
    size_t l = strlen(pre);
    return n.len >= l && s3w_slice_eq_nocase(s3w_slice(n.ptr, l), s3w_slice(pre, l));
}

/* Standard headers S3 takes unsigned (README.md, "Security invariants"). */
bool ub_safe_unsigned(struct s3w_slice n)
{
    static const char *const safe[] = {
        "content-type", "content-md5", "cache-control", "content-disposition",
        "content-encoding", "content-language", "expires", "range",
    };
    for (size_t i = 0; i < sizeof(safe) / sizeof(safe[0]); i++)
        if (ub_name_is(n, safe[i]))
            return true;
    return ub_name_prefix(n, "if-");
}

/* Never forwarded: hop-by-hop (RFC 9110 7.6.1), framing, and the caller's
 * own authentication (replaced by the proxy's). */
bool ub_never_forward(struct s3w_slice n)
{
    static const char *const drop[] = {
        "host", "authorization", "x-amz-date", "x-amz-content-sha256",
        "x-amz-security-token", "content-length", "transfer-encoding",
        "connection", "keep-alive", "te", "trailer", "upgrade", "expect",
        "proxy-authorization", "proxy-connection",
        "x-amz-region-set", /* SigV4a: the caller's signature's regions */
    };
    for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
        if (ub_name_is(n, drop[i]))
            return true;
    return false;
}

bool px_header_signed(const struct px *px, struct s3w_slice name)
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
