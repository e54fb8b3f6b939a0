/*
 * error.c - the S3 error vocabulary of the SigV4 core: code -> S3 code
 * string, HTTP status and S3's default message (Amazon S3 API Reference,
 * "Error responses", list of error codes).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sigv4_core_int.h"

struct errdef {
    const char *s3;
    int status;
    const char *msg;
};

static const struct errdef errdefs[] = {
    [SIGV4_OK] = { "OK", 200, "" },
    [SIGV4_ERR_ANONYMOUS] = { "AccessDenied", 403, "Access Denied" },
    [SIGV4_ERR_INVALID_ACCESS_KEY_ID] = { "InvalidAccessKeyId", 403,
        "The AWS Access Key Id you provided does not exist in our records." },
    [SIGV4_ERR_SIGNATURE_MISMATCH] = { "SignatureDoesNotMatch", 403,
        "The request signature we calculated does not match the signature "
        "you provided. Check your key and signing method." },
    [SIGV4_ERR_TIME_SKEWED] = { "RequestTimeTooSkewed", 403,
        "The difference between the request time and the current time is "
        "too large." },
    [SIGV4_ERR_EXPIRED] = { "AccessDenied", 403, "Request has expired" },
    [SIGV4_ERR_UNSIGNED_HEADERS] = { "AccessDenied", 403,
        "There were headers present in the request which were not signed" },
    [SIGV4_ERR_HEADER_MALFORMED] = { "AuthorizationHeaderMalformed", 400,
        "The authorization header is malformed." },
    [SIGV4_ERR_QUERY_PARAMS] = { "AuthorizationQueryParametersError", 400,
        "Query-string authentication version 4 requires the X-Amz-Algorithm, "
        "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, "
        "and X-Amz-Expires parameters." },
    [SIGV4_ERR_CONTENT_SHA256_MISMATCH] = { "XAmzContentSHA256Mismatch", 400,
        "The provided 'x-amz-content-sha256' header does not match what was "
        "computed." },
    [SIGV4_ERR_INVALID_REQUEST] = { "InvalidRequest", 400,
        "Invalid Request" },
    [SIGV4_ERR_INVALID_ARGUMENT] = { "InvalidArgument", 400,
        "Invalid Argument" },
    [SIGV4_ERR_MISSING_SECURITY_HEADER] = { "MissingSecurityHeader", 400,
        "Your request was missing a required header" },
    [SIGV4_ERR_INVALID_TOKEN] = { "InvalidToken", 400,
        "The provided token is malformed or otherwise invalid." },
    [SIGV4_ERR_EXPIRED_TOKEN] = { "ExpiredToken", 400,
        "The provided token has expired." },
    [SIGV4_ERR_ACCESS_DENIED] = { "AccessDenied", 403, "Access Denied" },
    [SIGV4_ERR_INTERNAL] = { "InternalError", 500,
        "We encountered an internal error. Please try again." },
};

static const struct errdef *def(enum sigv4_errcode code)
{
    if ((size_t)code >= sizeof errdefs / sizeof errdefs[0] || !errdefs[code].s3)
        return &errdefs[SIGV4_ERR_INTERNAL];
    return &errdefs[code];
}

const char *sigv4_errcode_s3(enum sigv4_errcode code)
{
    return def(code)->s3;
}

void sigv4_error_reset(struct sigv4_error *err)
{
    err->code = SIGV4_OK;
    err->http_status = 0;
    err->s3_code = NULL;
    err->message[0] = '\0';
    err->headers_not_signed[0] = '\0';
    err->access_key_id[0] = '\0';
    err->region[0] = '\0';
    err->skew.request_time[0] = '\0';
    memset(&err->mismatch, 0, sizeof err->mismatch);
}

int sigv4_fail(struct sigv4_error *err, enum sigv4_errcode code)
{
    const struct errdef *d = def(code);
    if (err) {
        sigv4_error_reset(err);
        err->code = code;
        err->http_status = d->status;
        err->s3_code = d->s3;
        snprintf(err->message, sizeof err->message, "%s", d->msg);
    }
    return code == SIGV4_OK ? 0 : -1;
}

void sigv4_int_not_signed(struct sigv4_error *err, struct s3w_slice name)
{
    if (!err || name.len == 0)
        return;
    char *l = err->headers_not_signed;
    size_t cap = sizeof err->headers_not_signed, len = strlen(l);
    /* once each: a name repeated in the request is listed where it first
     * stood (the list is short; this runs only on the way to a 403) */
    for (const char *p = l; *p;) {
        size_t n = strcspn(p, ",");
        if (n == name.len && s3w_bytes_eq_nocase(p, name.ptr, n))
            return;
        p += n;
        if (*p)
            p += 2; /* ", " */
    }
    size_t sep = len ? 2 : 0;
    if (len + sep + name.len + 1 > cap)
        return; /* left out whole, never cut */
    if (sep) {
        l[len++] = ',';
        l[len++] = ' ';
    }
    /* a header name is a token (RFC 9110 5.1), which llhttp enforces; a
     * caller's other bytes still never reach the list as they are */
    for (size_t i = 0; i < name.len; i++) {
        unsigned char c = (unsigned char)name.ptr[i];
        l[len++] = c > 0x20 && c < 0x7f && c != ',' ? (char)(c >= 'A' && c <= 'Z' ? c + 32 : c) : '?';
    }
    l[len] = '\0';
}

int sigv4_failf(struct sigv4_error *err, enum sigv4_errcode code,
                const char *fmt, ...)
{
    sigv4_fail(err, code);
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code == SIGV4_OK ? 0 : -1;
}

void sigv4_int_sanitize(struct s3w_slice s, char *out, size_t cap)
{
    size_t n = 0;
    if (cap == 0)
        return;
    for (size_t i = 0; i < s.len && n + 1 < cap; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        out[n++] = (c >= 0x20 && c < 0x7f && c != '"' && c != '\'' &&
                    c != '\\') ? (char)c : '?';
    }
    out[n] = '\0';
}

const struct s3w_header *sigv4_int_find_header(const struct s3w_header *h,
                                                 size_t n,
                                                 struct s3w_slice name,
                                                 size_t *count)
{
    const struct s3w_header *first = NULL;
    size_t c = 0;
    for (size_t i = 0; i < n; i++) {
        if (h[i].name.len == name.len && s3w_slice_eq_nocase(h[i].name, name)) {
            if (!first)
                first = &h[i];
            c++;
        }
    }
    if (count)
        *count = c;
    return first;
}
