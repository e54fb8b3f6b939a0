/*
 * auth_parse.c - who signed and how: the Authorization header
 * (AWS SigV4 docs, "Signature Calculations for the Authorization Header")
 * and the presigned query parameters ("Authenticating Requests: Using Query
 * Parameters"). Wording of errors follows what S3 answers.
 *
 * Parsing never allocates: header-form slices point into the header value,
 * query-form values are percent-decoded into auth->store (capped).
 */
#include <stddef.h>

#include "sigv4_core_int.h"

#define CRED_SHAPE \
    "the Credential is mal-formed; expecting " \
    "\"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\"."
#define HDR_PREFIX "The authorization header is malformed; "
#define QRY_PREFIX "Error parsing the X-Amz-Credential parameter; "

static void auth_reset(struct sigv4_auth *a)
{
    memset(a, 0, offsetof(struct sigv4_auth, store));
}

static bool all_digits(struct s3w_slice s)
{
    for (size_t i = 0; i < s.len; i++)
        if (s.ptr[i] < '0' || s.ptr[i] > '9')
            return false;
    return s.len > 0;
}

static int alg_from(struct s3w_slice s, enum sigv4_algorithm *alg)
{
    if (s3w_slice_eq_cstr(s, SIGV4_ALGORITHM_HMAC))
        *alg = SIGV4_ALG_HMAC_SHA256;
    else if (s3w_slice_eq_cstr(s, SIGV4_ALGORITHM_ECDSA))
        *alg = SIGV4_ALG_ECDSA_P256_SHA256;
    else
        return -1;
    return 0;
}

/* AKID/DATE/REGION/SERVICE/aws4_request (SigV4) or AKID/DATE/SERVICE/
 * aws4_request (SigV4a: the regions travel in X-Amz-Region-Set). */
static int parse_credential(struct sigv4_auth *a, bool query,
                            struct sigv4_error *err)
{
    enum sigv4_errcode code = query ? SIGV4_ERR_QUERY_PARAMS
                                    : SIGV4_ERR_HEADER_MALFORMED;
    const char *prefix = query ? QRY_PREFIX : HDR_PREFIX;
    struct s3w_slice part[6];
    size_t np = 0, i = 0, start = 0;
    struct s3w_slice c = a->credential;

    for (i = 0; i <= c.len; i++) {
        if (i == c.len || c.ptr[i] == '/') {
            if (np == 6)
                return sigv4_failf(err, code, "%s" CRED_SHAPE, prefix);
            part[np++] = s3w_slice(c.ptr + start, i - start);
            start = i + 1;
        }
    }
    size_t want = a->algorithm == SIGV4_ALG_ECDSA_P256_SHA256 ? 4 : 5;
    if (np != want)
        return sigv4_failf(err, code, "%s" CRED_SHAPE, prefix);
    for (size_t p = 0; p < np; p++)
        if (part[p].len == 0)
            return sigv4_failf(err, code, "%s" CRED_SHAPE, prefix);
    a->access_key_id = part[0];
    a->date = part[1];
    if (want == 5) {
        a->region = part[2];
        a->service = part[3];
        a->terminator = part[4];
    } else {
        a->region = S3W_SLICE_NULL;
        a->service = part[2];
        a->terminator = part[3];
    }
    a->scope = s3w_slice(part[1].ptr, (size_t)(c.ptr + c.len - part[1].ptr));
    if (a->date.len != 8 || !all_digits(a->date))
        return sigv4_failf(err, code, "%s" CRED_SHAPE, prefix);
    if (!s3w_slice_eq_cstr(a->terminator, "aws4_request")) {
        char t[48];
        sigv4_int_sanitize(a->terminator, t, sizeof t);
        return sigv4_failf(err, code,
                           "%sincorrect terminal \"%s\". This endpoint uses "
                           "\"aws4_request\".", prefix, t);
    }
    return 0;
}

int sigv4_parse_authorization(struct s3w_slice value, struct sigv4_auth *out,
                              struct sigv4_error *err)
{
    auth_reset(out);
    out->store_used = 0;
    value = s3w_slice_trim(value);

    size_t sp = 0;
    while (sp < value.len && value.ptr[sp] != ' ')
        sp++;
    struct s3w_slice alg = s3w_slice(value.ptr, sp);
    if (alg_from(alg, &out->algorithm) != 0) {
        /* SigV2 ("AWS AKID:sig") and anything else: S3 in SigV4-only regions
         * answers this for V2; we never accept V2 (no HMAC-SHA1). */
        if (s3w_slice_eq_cstr(alg, "AWS"))
            return sigv4_failf(err, SIGV4_ERR_INVALID_REQUEST,
                               "The authorization mechanism you have provided "
                               "is not supported. Please use AWS4-HMAC-SHA256.");
        return sigv4_failf(err, SIGV4_ERR_INVALID_ARGUMENT,
                           "Unsupported Authorization Type");
    }

    struct s3w_slice rest = s3w_slice(value.ptr + sp, value.len - sp);
    bool have_c = false, have_h = false, have_s = false;
    size_t i = 0;
    /* Components are separated by "," and optional spaces: the AWS suites
     * write ", ", the S3 documentation ",". */
    while (i <= rest.len) {
        size_t j = i;
        while (j < rest.len && rest.ptr[j] != ',')
            j++;
        struct s3w_slice part = s3w_slice(rest.ptr + i, j - i);
        while (part.len && part.ptr[0] == ' ') {
            part.ptr++;
            part.len--;
        }
        while (part.len && part.ptr[part.len - 1] == ' ')
            part.len--;
        size_t eq = 0;
        while (eq < part.len && part.ptr[eq] != '=')
            eq++;
        if (part.len == 0 || eq == part.len)
            return sigv4_failf(err, SIGV4_ERR_HEADER_MALFORMED, HDR_PREFIX
                               "the authorization header requires three "
                               "components: Credential, SignedHeaders, and "
                               "Signature.");
        struct s3w_slice name = s3w_slice(part.ptr, eq);
        struct s3w_slice val = s3w_slice(part.ptr + eq + 1, part.len - eq - 1);
        bool *seen;
        struct s3w_slice *dst;
        if (s3w_slice_eq_cstr(name, "Credential")) {
            seen = &have_c;
            dst = &out->credential;
        } else if (s3w_slice_eq_cstr(name, "SignedHeaders")) {
            seen = &have_h;
            dst = &out->signed_headers;
        } else if (s3w_slice_eq_cstr(name, "Signature")) {
            seen = &have_s;
            dst = &out->signature;
        } else {
            char n[48];
            sigv4_int_sanitize(name, n, sizeof n);
            return sigv4_failf(err, SIGV4_ERR_HEADER_MALFORMED, HDR_PREFIX
                               "the authorization component \"%s\" is "
                               "malformed.", n);
        }
        if (*seen) {
            char n[48];
            sigv4_int_sanitize(name, n, sizeof n);
            return sigv4_failf(err, SIGV4_ERR_HEADER_MALFORMED, HDR_PREFIX
                               "the authorization component \"%s\" appears "
                               "more than once.", n);
        }
        if (val.len == 0) {
            char n[48];
            sigv4_int_sanitize(name, n, sizeof n);
            return sigv4_failf(err, SIGV4_ERR_HEADER_MALFORMED, HDR_PREFIX
                               "the authorization component \"%s\" is "
                               "malformed.", n);
        }
        *seen = true;
        *dst = val;
        i = j + 1;
    }
    if (!have_c || !have_h || !have_s)
        return sigv4_failf(err, SIGV4_ERR_HEADER_MALFORMED, HDR_PREFIX
                           "the authorization header requires three "
                           "components: Credential, SignedHeaders, and "
                           "Signature.");
    return parse_credential(out, false, err);
}

/* ---- presigned -------------------------------------------------------------- */

enum qp_id {
    QP_ALGORITHM, QP_CREDENTIAL, QP_DATE, QP_EXPIRES, QP_SIGNED_HEADERS,
    QP_SIGNATURE, QP_TOKEN, QP_REGION_SET, QP_COUNT
};

static const char *const qp_names[QP_COUNT] = {
    "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
    "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token",
    "X-Amz-Region-Set",
};

int sigv4_parse_presigned(struct s3w_slice raw_query, struct sigv4_auth *out,
                          struct sigv4_error *err)
{
    struct s3w_slice v[QP_COUNT] = { { 0 } };
    bool seen[QP_COUNT] = { false };
    size_t i = 0;

    auth_reset(out);
    out->store_used = 0;
    while (i < raw_query.len) {
        size_t j = i;
        while (j < raw_query.len && raw_query.ptr[j] != '&')
            j++;
        struct s3w_slice piece = s3w_slice(raw_query.ptr + i, j - i);
        i = j + 1;
        size_t eq = 0;
        while (eq < piece.len && piece.ptr[eq] != '=')
            eq++;
        /* Names are compared decoded, as the canonical query sees them, so
         * "X-Amz-Signatur%65" cannot hide from one and not the other. */
        char kbuf[32];
        long kl = 0;
        if (eq > 3 * sizeof kbuf ||
            (kl = s3w_pct_decode(s3w_slice(piece.ptr, eq), kbuf, sizeof kbuf, 0)) < 0)
            continue; /* too long or undecodable: not one of ours (the
                         canonical query rejects a bad escape later) */
        int id = -1;
        for (int q = 0; q < QP_COUNT; q++)
            if (s3w_slice_eq_cstr(s3w_slice(kbuf, (size_t)kl), qp_names[q]))
                id = q;
        if (id < 0)
            continue;
        if (seen[id])
            return sigv4_failf(err, SIGV4_ERR_QUERY_PARAMS,
                               "Error parsing the query string: the parameter "
                               "%s appears more than once.", qp_names[id]);
        struct s3w_slice raw = eq < piece.len
            ? s3w_slice(piece.ptr + eq + 1, piece.len - eq - 1)
            : S3W_SLICE_NULL;
        long dl = s3w_pct_decode(raw, out->store + out->store_used,
                                 sizeof out->store - out->store_used, 0);
        if (dl == S3W_E_TOOBIG)
            return sigv4_failf(err, SIGV4_ERR_QUERY_PARAMS,
                               "Error parsing the query string: the parameter "
                               "%s is too long.", qp_names[id]);
        if (dl < 0)
            return sigv4_failf(err, SIGV4_ERR_QUERY_PARAMS,
                               "Error parsing the query string: the parameter "
                               "%s is not properly encoded.", qp_names[id]);
        v[id] = s3w_slice(out->store + out->store_used, (size_t)dl);
        out->store_used += (size_t)dl;
        seen[id] = true;
    }

    if (!seen[QP_ALGORITHM] && !seen[QP_CREDENTIAL] && !seen[QP_SIGNATURE])
        return sigv4_fail(err, SIGV4_ERR_ANONYMOUS);
    if (!seen[QP_ALGORITHM] || !seen[QP_CREDENTIAL] || !seen[QP_DATE] ||
        !seen[QP_EXPIRES] || !seen[QP_SIGNED_HEADERS] || !seen[QP_SIGNATURE] ||
        v[QP_CREDENTIAL].len == 0 || v[QP_SIGNED_HEADERS].len == 0 ||
        v[QP_SIGNATURE].len == 0 || v[QP_DATE].len == 0)
        return sigv4_fail(err, SIGV4_ERR_QUERY_PARAMS);
    if (alg_from(v[QP_ALGORITHM], &out->algorithm) != 0)
        return sigv4_failf(err, SIGV4_ERR_QUERY_PARAMS,
                           "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\" "
                           "and \"AWS4-ECDSA-P256-SHA256\"");
    if (!all_digits(v[QP_EXPIRES]) || v[QP_EXPIRES].len > 10) {
        if (v[QP_EXPIRES].len && v[QP_EXPIRES].ptr[0] == '-')
            return sigv4_failf(err, SIGV4_ERR_QUERY_PARAMS,
                               "X-Amz-Expires must be non-negative");
        return sigv4_failf(err, SIGV4_ERR_QUERY_PARAMS,
                           "X-Amz-Expires should be a number");
    }
    out->presigned = true;
    out->credential = v[QP_CREDENTIAL];
    out->amz_date = v[QP_DATE];
    out->expires = v[QP_EXPIRES];
    out->signed_headers = v[QP_SIGNED_HEADERS];
    out->signature = v[QP_SIGNATURE];
    out->security_token = seen[QP_TOKEN] ? v[QP_TOKEN] : S3W_SLICE_NULL;
    out->region_set = seen[QP_REGION_SET] ? v[QP_REGION_SET] : S3W_SLICE_NULL;
    return parse_credential(out, true, err);
}
