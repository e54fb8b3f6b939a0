/*
 * verify.c - sigv4_verify(): the client-facing check of a SigV4 request,
 * with S3's error codes and wording, plus date helpers.
 *
 * Order of checks (fail closed at each): which auth form; parse; request
 * time; credential scope (date, region, service); time skew or presigned
 * expiry; signed-header rules (host signed, every x-amz-* signed); payload
 * mode; secret lookup (the callback may also reject the session token); the
 * signature, compared in constant time (it must be lower-case hex, over a
 * sorted SignedHeaders list: check_signature). Only after all of that does
 * the caller get an identity.
 *
 * Each step is a static function below, called in that order from
 * sigv4_verify(); the first that fails decides the error.
 *
 * Secrets: the secret copied from the callback lives on sigv4_verify()'s
 * stack frame, the signing key and the computed signature on
 * check_hmac_signature()'s; each is wiped on every exit of its frame;
 * the signing key handed out in the result is wiped by
 * sigv4_result_cleanup(). No message ever carries a secret or signature.
 */
#include <stddef.h>
#include <stdio.h>

#include "civil.h"
#include "sigv4_core_int.h"

/* ---- dates ------------------------------------------------------------------ */

static int digits(const char *p, size_t n, unsigned *out)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (unsigned)(p[i] - '0');
    }
    *out = v;
    return 0;
}

static int mkdate(unsigned y, unsigned mo, unsigned d, unsigned h, unsigned mi,
                  unsigned s, int64_t *out)
{
    if (y < 1970 || !s3w_civil_valid(y, mo, d) || h > 23 || mi > 59 || s > 60)
        return -1;
    *out = s3w_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
    return 0;
}

int sigv4_parse_amz_date(struct s3w_slice s, int64_t *out)
{
    unsigned y, mo, d, h, mi, sec;
    if (s.len != 16 || s.ptr[8] != 'T' || s.ptr[15] != 'Z' ||
        digits(s.ptr, 4, &y) || digits(s.ptr + 4, 2, &mo) ||
        digits(s.ptr + 6, 2, &d) || digits(s.ptr + 9, 2, &h) ||
        digits(s.ptr + 11, 2, &mi) || digits(s.ptr + 13, 2, &sec))
        return -1;
    return mkdate(y, mo, d, h, mi, sec, out);
}

void sigv4_format_amz_date(int64_t t, char out[17])
{
    int64_t days = t / 86400, rem = t % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    int64_t y;
    unsigned m, d;
    s3w_civil_from_days(days, &y, &m, &d);
    unsigned v[6] = { (unsigned)(y % 10000), m, d, (unsigned)(rem / 3600),
                      (unsigned)(rem / 60 % 60), (unsigned)(rem % 60) };
    char *p = out;
    p[0] = (char)('0' + v[0] / 1000);
    p[1] = (char)('0' + v[0] / 100 % 10);
    p += 2;
    for (int i = 0; i < 6; i++) {
        *p++ = (char)('0' + v[i] / 10 % 10);
        *p++ = (char)('0' + v[i] % 10);
        if (i == 2)
            *p++ = 'T';
    }
    *p++ = 'Z';
    *p = '\0';
}

/* IMF-fixdate (RFC 7231 7.1.1.1), "Fri, 24 May 2013 00:00:00 GMT": the only
 * Date form SigV4 signers send when they use Date instead of x-amz-date. */
static int parse_http_date(struct s3w_slice s, int64_t *out)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    unsigned d, y, h, mi, sec, mo = 0;
    if (s.len != 29 || s.ptr[3] != ',' || s.ptr[4] != ' ' || s.ptr[7] != ' ' ||
        s.ptr[11] != ' ' || s.ptr[16] != ' ' || s.ptr[19] != ':' ||
        s.ptr[22] != ':' || s.ptr[25] != ' ' || memcmp(s.ptr + 26, "GMT", 3))
        return -1;
    for (unsigned i = 0; i < 12; i++)
        if (memcmp(s.ptr + 8, months + 3 * i, 3) == 0)
            mo = i + 1;
    if (!mo || digits(s.ptr + 5, 2, &d) || digits(s.ptr + 12, 4, &y) ||
        digits(s.ptr + 17, 2, &h) || digits(s.ptr + 20, 2, &mi) ||
        digits(s.ptr + 23, 2, &sec))
        return -1;
    return mkdate(y, mo, d, h, mi, sec, out);
}

/* ---- payload modes ---------------------------------------------------------- */

static const struct {
    enum sigv4_payload_mode mode;
    struct s3w_slice name; /* every request's value is looked up: no strlen */
} payload_names[] = {
    { SIGV4_PAYLOAD_UNSIGNED, S3W_SLICE_LIT("UNSIGNED-PAYLOAD") },
    { SIGV4_PAYLOAD_STREAMING_HMAC, S3W_SLICE_LIT("STREAMING-AWS4-HMAC-SHA256-PAYLOAD") },
    { SIGV4_PAYLOAD_STREAMING_HMAC_TRAILER,
      S3W_SLICE_LIT("STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER") },
    { SIGV4_PAYLOAD_STREAMING_UNSIGNED_TRAILER,
      S3W_SLICE_LIT("STREAMING-UNSIGNED-PAYLOAD-TRAILER") },
    { SIGV4_PAYLOAD_STREAMING_ECDSA,
      S3W_SLICE_LIT("STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD") },
    { SIGV4_PAYLOAD_STREAMING_ECDSA_TRAILER,
      S3W_SLICE_LIT("STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER") },
};

enum sigv4_payload_mode sigv4_payload_mode_parse(struct s3w_slice v,
                                                 uint8_t *sha256_out)
{
    for (size_t i = 0; i < sizeof payload_names / sizeof payload_names[0]; i++)
        if (s3w_slice_eq(v, payload_names[i].name))
            return payload_names[i].mode;
    uint8_t h[32];
    /* lower case only: HashedPayload is Hex(SHA256Hash(payload)), and S3
     * compares what it computed with what was sent, so "AB" is not "ab"
     * to it (S3 API Reference, "Signature Calculations for the
     * Authorization Header": "Hex(): lowercase base 16 encoding") */
    if (v.len == 64 && s3w_hex_decode_lower(v, h, 32) == 0) {
        if (sha256_out)
            memcpy(sha256_out, h, 32);
        return SIGV4_PAYLOAD_SIGNED;
    }
    return 0;
}

const char *sigv4_payload_mode_name(enum sigv4_payload_mode m)
{
    for (size_t i = 0; i < sizeof payload_names / sizeof payload_names[0]; i++)
        if (payload_names[i].mode == m)
            return payload_names[i].name.ptr; /* a literal: NUL-terminated */
    return m == SIGV4_PAYLOAD_SIGNED ? "SIGNED" : "";
}

/* ---- helpers ---------------------------------------------------------------- */

#define HDR_PREFIX "The authorization header is malformed; "
#define QRY_PREFIX "Error parsing the X-Amz-Credential parameter; "
#define BAD_PAYLOAD_MSG SIGV4_BAD_PAYLOAD_MSG

/* Whether the raw query has a parameter whose raw name is `name`. */
static bool query_has(struct s3w_slice q, const char *name)
{
    size_t nl = strlen(name), i = 0;
    while (i < q.len) {
        size_t j = i;
        while (j < q.len && q.ptr[j] != '&')
            j++;
        if (j - i >= nl && memcmp(q.ptr + i, name, nl) == 0 &&
            (j - i == nl || q.ptr[i + nl] == '='))
            return true;
        i = j + 1;
    }
    return false;
}

bool sigv4_result_signed(const struct sigv4_result *res, struct s3w_slice name)
{
    struct s3w_slice l = res->signed_headers;
    size_t i = 0;
    while (i <= l.len) {
        size_t j = i;
        while (j < l.len && l.ptr[j] != ';')
            j++;
        if (j - i == name.len &&
            s3w_slice_eq_nocase(s3w_slice(l.ptr + i, j - i), name))
            return true;
        i = j + 1;
    }
    return false;
}

/* Whether a sorts before b, byte by byte, a prefix first. */
static bool name_before(struct s3w_slice a, struct s3w_slice b)
{
    size_t n = a.len < b.len ? a.len : b.len;
    int c = memcmp(a.ptr, b.ptr, n);
    return c < 0 || (c == 0 && a.len < b.len);
}

/* SignedHeaders must be ';'-separated non-empty lower-case token names, each
 * once. *sorted tells whether they come in byte order, as AWS defines the
 * list ("sorted, semicolon-separated list of lowercase request header
 * names"): S3 builds its canonical request from the sorted names, so a
 * list out of order cannot give the signature it computes. That is not
 * malformed but a signature that does not match, reported where the
 * signature is checked (S3's order: an unknown key still says so first). */
static int check_signed_list(struct s3w_slice l, bool presigned,
                             bool *sorted, struct sigv4_error *err)
{
    enum sigv4_errcode code = presigned ? SIGV4_ERR_QUERY_PARAMS
                                        : SIGV4_ERR_HEADER_MALFORMED;
    struct s3w_slice names[SIGV4_MAX_HEADERS];
    size_t n = 0, i = 0;
    *sorted = true;
    while (i <= l.len) {
        size_t j = i;
        while (j < l.len && l.ptr[j] != ';')
            j++;
        struct s3w_slice nm = s3w_slice(l.ptr + i, j - i);
        bool ok = nm.len > 0 && n < SIGV4_MAX_HEADERS;
        for (size_t k = 0; ok && k < nm.len; k++) {
            char c = nm.ptr[k];
            ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_' || c == '.' || c == '!' || c == '#' ||
                 c == '$' || c == '%' || c == '&' || c == '\'' || c == '*' ||
                 c == '+' || c == '^' || c == '`' || c == '|' || c == '~';
        }
        for (size_t k = 0; ok && k < n; k++)
            ok = !s3w_slice_eq(names[k], nm);
        if (!ok)
            return sigv4_failf(err, code, "%sthe SignedHeaders list is "
                               "malformed.", presigned
                               ? "Error parsing the X-Amz-SignedHeaders "
                                 "parameter; " : HDR_PREFIX);
        if (n > 0 && !name_before(names[n - 1], nm))
            *sorted = false;
        names[n++] = nm;
        i = j + 1;
    }
    return 0;
}

static bool region_ok(const struct sigv4_verify_opts *o, struct s3w_slice r)
{
    if (o->n_regions == 0)
        return true;
    for (size_t i = 0; i < o->n_regions; i++)
        if (s3w_slice_eq(o->regions[i], r))
            return true;
    return false;
}

/* ---- verify ------------------------------------------------------------------ */

/* Only the signing key is secret: the rest is what the caller sent in the
 * clear (its signature included), and wiping the whole 9 KiB per request
 * was a measurable part of a small request's cost. */
void sigv4_result_cleanup(struct sigv4_result *res)
{
    if (res)
        s3w_wipe(res->signing_key, sizeof res->signing_key);
}

int sigv4_check_payload_sha256(const struct sigv4_result *res,
                               const uint8_t computed[32],
                               struct sigv4_error *err)
{
    if (res->payload_mode != SIGV4_PAYLOAD_SIGNED)
        return 0;
    if (s3w_ct_equal(res->payload_sha256, 32, computed, 32))
        return 0;
    return sigv4_fail(err, SIGV4_ERR_CONTENT_SHA256_MISMATCH);
}

/* Which auth form the request uses and what it says: the Authorization
 * header or the presigned query parameters, never both, never SigV2.
 * `parsed`: the header as the caller already parsed it, or NULL. */
static int parse_auth(const struct sigv4_request *req, const struct sigv4_auth *parsed,
                      struct sigv4_auth *a, struct sigv4_error *err)
{
    struct s3w_slice query = S3W_SLICE_NULL;
    for (size_t i = 0; i < req->target.len; i++) {
        if (req->target.ptr[i] == '?') {
            query = s3w_slice(req->target.ptr + i + 1, req->target.len - i - 1);
            break;
        }
    }
    size_t nauth = 0;
    const struct s3w_header *ah = sigv4_int_find_header(
        req->headers, req->n_headers, S3W_SLICE_LIT("authorization"), &nauth);
    if (ah) {
        if (nauth > 1 || query_has(query, "X-Amz-Algorithm") ||
            query_has(query, "X-Amz-Signature") ||
            query_has(query, "X-Amz-Credential"))
            return sigv4_failf(err, SIGV4_ERR_INVALID_ARGUMENT,
                               "Only one auth mechanism allowed; only the "
                               "X-Amz-Algorithm query parameter, Signature "
                               "query string parameter or the Authorization "
                               "header should be specified");
        if (parsed) {
            *a = *parsed; /* parsed by the caller from this very header */
            return 0;
        }
        return sigv4_parse_authorization(ah->value, a, err);
    }
    if (sigv4_parse_presigned(query, a, err) == 0)
        return 0;
    /* SIGV4_ERR_ANONYMOUS when there is no auth at all - but a SigV2
     * presigned URL is not anonymous: treating it so would let the
     * caller's URL through under the anonymous principal instead of
     * refusing it as S3 (SigV4-only) does. */
    if (err && err->code == SIGV4_ERR_ANONYMOUS &&
        (query_has(query, "AWSAccessKeyId") || query_has(query, "Signature")))
        sigv4_failf(err, SIGV4_ERR_INVALID_REQUEST,
                    "The authorization mechanism you have provided is not "
                    "supported. Please use AWS4-HMAC-SHA256.");
    return -1;
}

/* When the request was signed: X-Amz-Date (query or header) or else an
 * IMF-fixdate Date header; *amz_date is the form the string to sign
 * carries, copied to res->amz_date. */
static int request_time(const struct sigv4_request *req,
                        const struct sigv4_auth *a, struct sigv4_result *res,
                        struct s3w_slice *amz_date, int64_t *t,
                        struct sigv4_error *err)
{
    if (a->presigned) {
        *amz_date = a->amz_date;
        if (sigv4_parse_amz_date(*amz_date, t))
            return sigv4_failf(err, SIGV4_ERR_QUERY_PARAMS,
                               "X-Amz-Date must be in the ISO8601 Long Format "
                               "\"yyyyMMdd'T'HHmmss'Z'\"");
        memcpy(res->amz_date, amz_date->ptr, 16);
        res->amz_date[16] = '\0';
        return 0;
    }
    size_t nd = 0;
    const struct s3w_header *dh = sigv4_int_find_header(
        req->headers, req->n_headers, S3W_SLICE_LIT("x-amz-date"), &nd);
    if (dh) {
        *amz_date = s3w_slice_trim(dh->value);
        if (nd > 1 || sigv4_parse_amz_date(*amz_date, t))
            return sigv4_failf(err, SIGV4_ERR_ACCESS_DENIED,
                               "AWS authentication requires a valid Date or "
                               "x-amz-date header");
        memcpy(res->amz_date, amz_date->ptr, 16);
        res->amz_date[16] = '\0';
        return 0;
    }
    dh = sigv4_int_find_header(req->headers, req->n_headers,
                               S3W_SLICE_LIT("date"), &nd);
    if (!dh || nd > 1 || parse_http_date(s3w_slice_trim(dh->value), t))
        return sigv4_failf(err, SIGV4_ERR_ACCESS_DENIED,
                           "AWS authentication requires a valid Date or "
                           "x-amz-date header");
    /* The string to sign always carries the ISO 8601 basic form. */
    sigv4_format_amz_date(*t, res->amz_date);
    *amz_date = s3w_slice(res->amz_date, 16);
    return 0;
}

/* Whether the credential scope names the request's date, an accepted
 * region, this service, and fits the result. */
static int check_scope(const struct sigv4_auth *a, struct s3w_slice amz_date,
                       const struct sigv4_verify_opts *opts,
                       const struct sigv4_result *res, struct sigv4_error *err)
{
    const enum sigv4_errcode scope_err = a->presigned
        ? SIGV4_ERR_QUERY_PARAMS : SIGV4_ERR_HEADER_MALFORMED;
    const char *prefix = a->presigned ? QRY_PREFIX : HDR_PREFIX;

    if (memcmp(a->date.ptr, amz_date.ptr, 8) != 0)
        /* S3's wording (no values echoed) */
        return sigv4_failf(err, scope_err, "%sInvalid credential date. Date "
                           "is not the same as X-Amz-Date.", prefix);
    if (a->algorithm == SIGV4_ALG_HMAC_SHA256 && !region_ok(opts, a->region)) {
        char r1[48], r2[48];
        sigv4_int_sanitize(a->region, r1, sizeof r1);
        sigv4_int_sanitize(opts->regions[0], r2, sizeof r2);
        sigv4_failf(err, scope_err, "%sthe region '%s' is wrong; expecting '%s'",
                    prefix, r1, r2);
        if (err)
            snprintf(err->region, sizeof err->region, "%s", r2);
        return -1;
    }
    if (!s3w_slice_eq(a->service, opts->service)) {
        char s1[48], s2[48];
        sigv4_int_sanitize(a->service, s1, sizeof s1);
        sigv4_int_sanitize(opts->service, s2, sizeof s2);
        return sigv4_failf(err, scope_err, "%sincorrect service \"%s\". This "
                           "endpoint belongs to \"%s\".", prefix, s1, s2);
    }
    if (a->scope.len >= sizeof res->scope)
        return sigv4_failf(err, scope_err, "%sthe Credential is mal-formed; "
                           "expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/"
                           "aws4_request\".", prefix);
    return 0;
}

/* Whether the request time t is still good at `now`: within the skew for a
 * header signature, within X-Amz-Expires (capped at a week, and at
 * opts->max_presign_life_s when set) for a presigned URL. */
static int check_time(const struct sigv4_request *req, const struct sigv4_auth *a,
                      int64_t t, int64_t now, const struct sigv4_verify_opts *opts,
                      struct sigv4_result *res, struct sigv4_error *err)
{
    int64_t skew = opts->max_skew_s > 0 ? opts->max_skew_s : SIGV4_MAX_SKEW_S;
    if (a->presigned) {
        int64_t e = 0;
        for (size_t i = 0; i < a->expires.len; i++)
            e = e * 10 + (a->expires.ptr[i] - '0');
        if (e < 1)
            return sigv4_failf(err, SIGV4_ERR_QUERY_PARAMS,
                               "X-Amz-Expires must be greater than 0");
        if (e > SIGV4_MAX_EXPIRES)
            return sigv4_failf(err, SIGV4_ERR_QUERY_PARAMS,
                               "X-Amz-Expires must be less than a week (in "
                               "seconds); that is, the given X-Amz-Expires "
                               "must be less than 604800 seconds");
        if (t > now + skew)
            return sigv4_failf(err, SIGV4_ERR_ACCESS_DENIED,
                               "Request is not yet valid");
        int64_t given = e;
        if (opts->max_presign_life_s > 0 && e > opts->max_presign_life_s)
            e = opts->max_presign_life_s;
        if (now > t + e) {
            sigv4_fail(err, SIGV4_ERR_EXPIRED);
            if (err) {
                err->expired.expires_s = given;
                err->expired.expires_at = t + e;
                err->expired.server_time = now;
            }
            return -1;
        }
        res->expires_s = e;
    } else if (now - t > skew || t - now > skew) {
        sigv4_fail(err, SIGV4_ERR_TIME_SKEWED);
        /* S3 shows the time as the request gave it, and its own clock */
        const struct s3w_header *h = sigv4_int_find_header(
            req->headers, req->n_headers, S3W_SLICE_LIT("x-amz-date"), NULL);
        if (!h)
            h = sigv4_int_find_header(req->headers, req->n_headers,
                                      S3W_SLICE_LIT("date"), NULL);
        if (err && h) {
            sigv4_int_sanitize(s3w_slice_trim(h->value), err->skew.request_time,
                               sizeof err->skew.request_time);
            err->skew.server_time = now;
            err->skew.max_skew_s = skew;
        }
        return -1;
    }
    res->request_time = t;
    res->age_s = now - t;
    return 0;
}

/* Whether SignedHeaders is well formed and covers host and, for S3, every
 * x-amz-* header the request carries; *sorted as check_signed_list. */
static int check_signed_headers(const struct sigv4_request *req,
                                const struct sigv4_auth *a, bool s3,
                                struct sigv4_result *res, bool *sorted,
                                struct sigv4_error *err)
{
    if (check_signed_list(a->signed_headers, a->presigned, sorted, err))
        return -1;
    res->signed_headers = a->signed_headers;
    if (!sigv4_result_signed(res, S3W_SLICE_LIT("host"))) {
        sigv4_fail(err, SIGV4_ERR_UNSIGNED_HEADERS);
        sigv4_int_not_signed(err, S3W_SLICE_LIT("host"));
        return -1;
    }
    /* S3 rejects any x-amz-* header the caller did not sign (S3 API
     * Reference, sigv4-query-string-auth / header auth); the proxy forwards
     * x-amz-* headers, so it must not vouch for unsigned ones. This is an
     * S3 rule: other services (STS) take e.g. an unsigned
     * x-amz-security-token (the 2015 suite's post-sts-header-after).
     * S3's error names every such header (<HeadersNotSigned>). */
    if (!s3)
        return 0;
    int rc = 0;
    for (size_t i = 0; i < req->n_headers; i++) {
        struct s3w_slice n = req->headers[i].name;
        if (n.len >= 6 &&
            s3w_slice_eq_nocase(s3w_slice(n.ptr, 6), S3W_SLICE_LIT("x-amz-")) &&
            !sigv4_result_signed(res, n)) {
            if (rc == 0)
                rc = sigv4_fail(err, SIGV4_ERR_UNSIGNED_HEADERS);
            sigv4_int_not_signed(err, n);
        }
    }
    return rc;
}

/* The payload hash the client signed (*payload, which may point into
 * body_hex) and the mode it names; refuses a mode this signature or
 * service cannot carry. */
static int payload_mode(const struct sigv4_request *req,
                        const struct sigv4_auth *a, bool s3,
                        const struct sigv4_verify_opts *opts,
                        struct sigv4_result *res, char body_hex[65],
                        struct s3w_slice *payload, struct sigv4_error *err)
{
    const bool pre = a->presigned;
    size_t ncs = 0;
    const struct s3w_header *cs = sigv4_int_find_header(
        req->headers, req->n_headers, S3W_SLICE_LIT("x-amz-content-sha256"),
        &ncs);
    if (ncs > 1)
        return sigv4_failf(err, SIGV4_ERR_INVALID_REQUEST, BAD_PAYLOAD_MSG);
    if (cs && (!pre || sigv4_result_signed(res, cs->name))) {
        *payload = s3w_slice_trim(cs->value);
    } else if (!s3 && opts->body_sha256) {
        /* Other services sign the body hash itself, presigned or not
         * (aws-c-auth query-signed cases). */
        s3w_hex_encode(opts->body_sha256, 32, body_hex);
        *payload = s3w_slice(body_hex, 64);
    } else if (pre) {
        /* S3 presigned URLs sign the literal UNSIGNED-PAYLOAD. */
        *payload = S3W_SLICE_LIT("UNSIGNED-PAYLOAD");
    } else {
        return sigv4_failf(err, SIGV4_ERR_INVALID_REQUEST, "Missing required "
                           "header for this request: x-amz-content-sha256");
    }
    res->payload_mode = sigv4_payload_mode_parse(*payload, res->payload_sha256);
    if (!res->payload_mode)
        return sigv4_failf(err, SIGV4_ERR_INVALID_REQUEST, BAD_PAYLOAD_MSG);
    if (!s3 && opts->body_sha256) {
        /* Other services (STS) authenticate the body itself: a declared
         * x-amz-content-sha256 must be the hash of the body we hold, never
         * UNSIGNED-PAYLOAD or a streaming mode - else the form (Action,
         * RoleArn, Policy, ...) could be changed in flight under a valid
         * signature. */
        if (res->payload_mode != SIGV4_PAYLOAD_SIGNED)
            return sigv4_failf(err, SIGV4_ERR_INVALID_REQUEST,
                               "x-amz-content-sha256 must be the SHA-256 of "
                               "the request body for this service.");
        if (!s3w_ct_equal(res->payload_sha256, 32, opts->body_sha256, 32))
            return sigv4_fail(err, SIGV4_ERR_CONTENT_SHA256_MISMATCH);
    }
    enum sigv4_payload_mode m = res->payload_mode;
    bool ecdsa_mode = m == SIGV4_PAYLOAD_STREAMING_ECDSA ||
                      m == SIGV4_PAYLOAD_STREAMING_ECDSA_TRAILER;
    bool hmac_mode = m == SIGV4_PAYLOAD_STREAMING_HMAC ||
                     m == SIGV4_PAYLOAD_STREAMING_HMAC_TRAILER;
    bool streaming = ecdsa_mode || hmac_mode ||
                     m == SIGV4_PAYLOAD_STREAMING_UNSIGNED_TRAILER;
    if ((ecdsa_mode && a->algorithm != SIGV4_ALG_ECDSA_P256_SHA256) ||
        (hmac_mode && a->algorithm != SIGV4_ALG_HMAC_SHA256) ||
        (streaming && pre))
        return sigv4_failf(err, SIGV4_ERR_INVALID_REQUEST, "The payload mode "
                           "%s cannot be used with this signature.",
                           sigv4_payload_mode_name(m));
    res->has_payload_sha256 = res->payload_mode == SIGV4_PAYLOAD_SIGNED;
    return 0;
}

/* The session token presented (query or one header) and the secret of the
 * access key id, from the caller's lookup, which may refuse either. */
static int lookup_secret(const struct sigv4_request *req,
                         const struct sigv4_auth *a,
                         const struct sigv4_verify_opts *opts,
                         struct sigv4_result *res,
                         char secret[SIGV4_MAX_SECRET], size_t *secret_len,
                         struct sigv4_error *err)
{
    if (a->presigned) {
        res->session_token = a->security_token;
    } else {
        size_t nt = 0;
        const struct s3w_header *th = sigv4_int_find_header(
            req->headers, req->n_headers, S3W_SLICE_LIT("x-amz-security-token"),
            &nt);
        if (nt > 1)
            return sigv4_fail(err, SIGV4_ERR_INVALID_TOKEN);
        if (th)
            res->session_token = s3w_slice_trim(th->value);
    }
    if (!opts->lookup)
        return sigv4_fail(err, SIGV4_ERR_INTERNAL);
    switch (opts->lookup(opts->lookup_ud, a->access_key_id, res->session_token,
                         secret, secret_len)) {
    case SIGV4_LOOKUP_OK:
        if (*secret_len > SIGV4_MAX_SECRET)
            return sigv4_fail(err, SIGV4_ERR_INTERNAL);
        return 0;
    case SIGV4_LOOKUP_UNKNOWN_KEY:
        sigv4_fail(err, SIGV4_ERR_INVALID_ACCESS_KEY_ID);
        if (err)
            sigv4_int_sanitize(a->access_key_id, err->access_key_id, sizeof err->access_key_id);
        return -1;
    case SIGV4_LOOKUP_MISSING_TOKEN:
        return sigv4_fail(err, SIGV4_ERR_MISSING_SECURITY_HEADER);
    case SIGV4_LOOKUP_INVALID_TOKEN:
        return sigv4_fail(err, SIGV4_ERR_INVALID_TOKEN);
    case SIGV4_LOOKUP_EXPIRED_TOKEN:
        return sigv4_fail(err, SIGV4_ERR_EXPIRED_TOKEN);
    default:
        return sigv4_fail(err, SIGV4_ERR_INTERNAL);
    }
}

/* The string to sign for what we received, built in sts[512] through the
 * canonical request in creq; a signed header that is absent or a bad
 * %-escape means what the client signed cannot be this request. */
static int string_to_sign(const struct sigv4_request *req,
                          const struct sigv4_auth *a,
                          const struct sigv4_verify_opts *opts,
                          struct s3w_slice payload, struct s3w_slice amz_date,
                          struct s3w_buf *creq, char sts[512], size_t *sts_len,
                          struct sigv4_error *err)
{
    int crc = sigv4_canonical_request(req, opts->uri_mode, a->signed_headers,
                                      payload, a->presigned, creq);
    if (crc == S3W_E_INVAL)
        return sigv4_fail(err, SIGV4_ERR_SIGNATURE_MISMATCH);
    if (crc) {
        sigv4_fail(err, crc == S3W_E_TOOBIG ? SIGV4_ERR_INVALID_REQUEST
                                            : SIGV4_ERR_INTERNAL);
        if (crc == S3W_E_TOOBIG)
            snprintf(err->message, sizeof err->message,
                     "The request is too large to authenticate.");
        return -1;
    }
    struct s3w_slice alg = a->algorithm == SIGV4_ALG_HMAC_SHA256
        ? S3W_SLICE_LIT(SIGV4_ALGORITHM_HMAC)
        : S3W_SLICE_LIT(SIGV4_ALGORITHM_ECDSA);
    *sts_len = sigv4_int_sts_build(sts, 512, alg, amz_date, a->scope,
                         s3w_buf_slice(creq));
    if (!*sts_len)
        return sigv4_fail(err, SIGV4_ERR_INTERNAL);
    return 0;
}

/* Whether a SigV4a (ECDSA) signature verifies, through the endpoint's
 * verifier, over the regions in X-Amz-Region-Set. */
static int check_v4a_signature(const struct sigv4_request *req,
                               struct sigv4_auth *a,
                               const struct sigv4_verify_opts *opts,
                               struct s3w_slice secret, struct s3w_slice sts,
                               bool sorted, struct sigv4_error *err)
{
    if (!opts->v4a.verify)
        return sigv4_failf(err, SIGV4_ERR_INVALID_REQUEST,
                           "AWS4-ECDSA-P256-SHA256 (SigV4a) is not supported "
                           "by this endpoint.");
    /* v4a: the regions travel in X-Amz-Region-Set (signed header or
     * query parameter); the caller checks them against its region. */
    if (!a->presigned) {
        const struct s3w_header *rs = sigv4_int_find_header(
            req->headers, req->n_headers, S3W_SLICE_LIT("x-amz-region-set"),
            NULL);
        if (rs)
            a->region_set = s3w_slice_trim(rs->value);
    }
    if (a->region_set.len == 0)
        return sigv4_failf(err, a->presigned ? SIGV4_ERR_QUERY_PARAMS
                                             : SIGV4_ERR_HEADER_MALFORMED,
                           "%sthe X-Amz-Region-Set is missing.",
                           a->presigned ? "Error parsing the query string; "
                                        : HDR_PREFIX);
    /* The same rules as SigV4's (check_signature), before the ECDSA check,
     * which would take either case of the DER's hex. */
    uint8_t der[80]; /* a P-256 ECDSA signature's DER is at most 72 bytes */
    if (!sorted || a->signature.len > 2 * sizeof(der) ||
        s3w_hex_decode_lower(a->signature, der, a->signature.len / 2) != 0)
        return sigv4_fail(err, SIGV4_ERR_SIGNATURE_MISMATCH);
    int vr = opts->v4a.verify(opts->v4a.ctx, a->access_key_id, secret, sts,
                              a->signature);
    if (vr != 0)
        return sigv4_fail(err, vr > 0 ? SIGV4_ERR_SIGNATURE_MISMATCH
                                      : SIGV4_ERR_INTERNAL);
    return 0;
}

/* Whether a SigV4 (HMAC) signature is the one the secret makes, compared in
 * constant time; on a match the seed signature and signing key go to res
 * for the chunk signatures that follow. */
static int check_hmac_signature(const struct sigv4_auth *a,
                                const struct sigv4_verify_opts *opts,
                                struct s3w_slice secret, struct s3w_slice sts,
                                bool sorted, struct sigv4_result *res,
                                struct sigv4_error *err)
{
    uint8_t key[32], sig[32], given[32];
    int rc = 0;

    if (opts->cache) {
        sigv4_keycache_sign(opts->cache, secret, a->date, a->region,
                            a->service, sts, key, sig);
    } else {
        sigv4_signing_key(secret, a->date, a->region, a->service, key);
        sigv4_signature(key, sts, sig);
    }
    /* Hex is decoded first so the compare is over 32 raw bytes in
     * constant time; a signature that is not 64 lower-case hex digits
     * cannot match (check_signature). */
    bool ok = sorted && s3w_hex_decode_lower(a->signature, given, 32) == 0;
    ok = s3w_ct_equal(sig, 32, ok ? given : sig, 32) && ok;
    if (!ok) {
        rc = sigv4_fail(err, SIGV4_ERR_SIGNATURE_MISMATCH);
        goto cleanup;
    }
    memcpy(res->seed_signature, sig, 32);
    s3w_hex_encode(sig, 32, res->seed_signature_hex);
    memcpy(res->signing_key, key, 32);

cleanup:
    s3w_wipe(key, sizeof key);
    s3w_wipe(sig, sizeof sig);
    s3w_wipe(given, sizeof given);
    return rc;
}

/* Whether the signature verifies under the algorithm it names. S3
 * compares the signature it computes, in lower-case hex, from a canonical
 * request built with the signed header names sorted: a signature in upper
 * case, or one over a SignedHeaders list out of order (`sorted`, from
 * check_signed_list), cannot be that one, whatever the digits decode to
 * and however the client ordered its canonical request. Both are
 * SignatureDoesNotMatch, decided here so every check S3 makes first keeps
 * its turn. The forms are public: deciding on them early leaks nothing. */
static int check_signature(const struct sigv4_request *req,
                           struct sigv4_auth *a,
                           const struct sigv4_verify_opts *opts,
                           struct s3w_slice secret, struct s3w_slice sts,
                           bool sorted, struct sigv4_result *res,
                           struct sigv4_error *err)
{
    if (a->algorithm == SIGV4_ALG_ECDSA_P256_SHA256)
        return check_v4a_signature(req, a, opts, secret, sts, sorted, err);
    return check_hmac_signature(a, opts, secret, sts, sorted, res, err);
}

/* What S3 shows of a signature that does not match (its SignatureDoesNotMatch
 * carries the access key id, the signature given, the string to sign and the
 * canonical request), into opts->mismatch; nothing on no memory. */
static void keep_mismatch(const struct sigv4_auth *a, struct s3w_slice sts,
                          struct s3w_slice creq, struct s3w_buf *out,
                          struct sigv4_error *err)
{
    size_t at = out->len;
    if (s3w_buf_append(out, a->access_key_id.ptr, a->access_key_id.len) ||
        s3w_buf_append(out, a->signature.ptr, a->signature.len) ||
        s3w_buf_append(out, sts.ptr, sts.len) ||
        s3w_buf_append(out, creq.ptr, creq.len)) {
        if (out->ptr) /* NULL when the first append could not allocate */
            s3w_wipe(out->ptr + at, out->len - at);
        out->len = at;
        return;
    }
    err->mismatch.access_key_id = a->access_key_id.len;
    err->mismatch.signature = a->signature.len;
    err->mismatch.string_to_sign = sts.len;
    err->mismatch.canonical_request = creq.len;
}

/* Hands the verified identity from the parsed auth to the caller. */
static void fill_result(struct sigv4_result *res, const struct sigv4_auth *a)
{
    res->algorithm = a->algorithm;
    res->presigned = a->presigned;
    res->access_key_id = a->access_key_id;
    res->region = a->region;
    res->service = a->service;
    res->date = a->date;
    res->region_set = a->region_set;
    memcpy(res->scope, a->scope.ptr, a->scope.len);
    res->scope[a->scope.len] = '\0';
    res->scope_len = a->scope.len;
}

/* The steps run in the order the file header gives; each fails closed and
 * the first failure is the error the client sees (tests pin which one). */
int sigv4_verify(const struct sigv4_request *req, int64_t now,
                 const struct sigv4_verify_opts *opts,
                 struct sigv4_result *res, struct sigv4_error *err)
{
    char secret[SIGV4_MAX_SECRET];
    size_t secret_len = 0;
    char sts[512], body_hex[65];
    size_t sts_len = 0;
    struct s3w_slice amz_date = S3W_SLICE_NULL, payload = S3W_SLICE_NULL;
    int64_t t = 0;
    struct s3w_buf own;
    struct s3w_buf *creqp = opts->scratch ? opts->scratch : &own;
    struct sigv4_auth *a = &res->auth;
    const bool s3 = opts->uri_mode == SIGV4_URI_S3;
    bool sorted = false;
    int rc;

    s3w_buf_init(&own, SIGV4_MAX_CANONICAL);
    s3w_buf_reset(creqp);
    memset(&res->access_key_id, 0,
           sizeof *res - offsetof(struct sigv4_result, access_key_id));

    rc = parse_auth(req, opts->parsed_auth, a, err);
    rc = rc ? rc : request_time(req, a, res, &amz_date, &t, err);
    rc = rc ? rc : check_scope(a, amz_date, opts, res, err);
    rc = rc ? rc : check_time(req, a, t, now, opts, res, err);
    rc = rc ? rc : check_signed_headers(req, a, s3, res, &sorted, err);
    rc = rc ? rc : payload_mode(req, a, s3, opts, res, body_hex, &payload, err);
    rc = rc ? rc : lookup_secret(req, a, opts, res, secret, &secret_len, err);
    rc = rc ? rc : string_to_sign(req, a, opts, payload, amz_date, creqp, sts,
                                  &sts_len, err);
    rc = rc ? rc : check_signature(req, a, opts, s3w_slice(secret, secret_len),
                                   s3w_slice(sts, sts_len), sorted, res, err);
    if (rc == 0)
        fill_result(res, a);
    else if (sts_len && opts->mismatch && err && err->code == SIGV4_ERR_SIGNATURE_MISMATCH)
        keep_mismatch(a, s3w_slice(sts, sts_len), s3w_buf_slice(creqp), opts->mismatch, err);

    s3w_wipe(secret, sizeof secret);
    s3w_buf_cleanup(&own);
    /* the canonical request carries a signed X-Amz-Security-Token (header
     * or query): the caller's session token must not stay in a reused
     * buffer; only the bytes used are wiped, not the whole capacity */
    if (creqp->ptr)
        s3w_wipe(creqp->ptr, creqp->len);
    s3w_buf_reset(creqp);
    if (rc)
        sigv4_result_cleanup(res);
    return rc;
}
