/*
 * sign.c - the proxy's upstream side: header signing (AWS SigV4 docs,
 * "Add the signature to the HTTP request": Authorization header) and
 * presigned URLs ("Authenticating Requests: Using Query Parameters").
 *
 * The signer reuses the verifier's stages (canonical.c, hmac.c), so what we
 * sign is, byte for byte, what we would accept.
 */
#include <stdio.h>
#include <stdlib.h>

#include "sigv4_core_int.h"

static int slice_cmp(const void *a, const void *b)
{
    const struct s3w_slice *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->ptr, y->ptr, n);
    if (c)
        return c;
    return x->len == y->len ? 0 : (x->len < y->len ? -1 : 1);
}

/* Lower-cases every header name into lbuf, sorts, de-duplicates and joins
 * with ';' into out[cap] (AWS: "SignedHeaders: ... lowercase, sorted by
 * character code, separated by semicolons"). */
static int signed_list(const struct s3w_header *h, size_t n, char *out,
                       size_t cap, size_t *out_len)
{
    char lbuf[4096];
    struct s3w_slice names[SIGV4_MAX_HEADERS + 4];
    size_t used = 0, nn = 0, ol = 0;

    if (n > sizeof names / sizeof names[0])
        return S3W_E_TOOBIG;
    for (size_t i = 0; i < n; i++) {
        if (h[i].name.len == 0 || h[i].name.len > sizeof lbuf - used)
            return h[i].name.len ? S3W_E_TOOBIG : S3W_E_INVAL;
        char *d = lbuf + used;
        for (size_t k = 0; k < h[i].name.len; k++) {
            char c = h[i].name.ptr[k];
            d[k] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
        }
        names[nn++] = s3w_slice(d, h[i].name.len);
        used += h[i].name.len;
    }
    qsort(names, nn, sizeof names[0], slice_cmp);
    for (size_t i = 0; i < nn; i++) {
        if (i && s3w_slice_eq(names[i], names[i - 1]))
            continue;
        if (ol + names[i].len + 1 > cap)
            return S3W_E_TOOBIG;
        if (ol)
            out[ol++] = ';';
        memcpy(out + ol, names[i].ptr, names[i].len);
        ol += names[i].len;
    }
    *out_len = ol;
    return 0;
}

static bool is_reserved_name(struct s3w_slice n)
{
    return s3w_slice_eq_nocase(n, S3W_SLICE_LIT("authorization")) ||
           s3w_slice_eq_nocase(n, S3W_SLICE_LIT("x-amz-date")) ||
           s3w_slice_eq_nocase(n, S3W_SLICE_LIT("x-amz-content-sha256")) ||
           s3w_slice_eq_nocase(n, S3W_SLICE_LIT("x-amz-security-token"));
}

/* Appends n bytes at out[*at] when they fit cap with a NUL after them
 * (which is written); false, out untouched past *at, when not. Every
 * request is signed: its pieces are copied, not printed. */
static bool put(char *out, size_t cap, size_t *at, const char *p, size_t n)
{
    if (n >= cap - *at)
        return false;
    if (n)
        memcpy(out + *at, p, n);
    *at += n;
    out[*at] = '\0';
    return true;
}

/* scope = DATE/REGION/SERVICE/aws4_request into out[cap]. */
static int make_scope(const char amz_date[17], struct s3w_slice region,
                      struct s3w_slice service, char *out, size_t cap,
                      size_t *len)
{
    size_t at = 0;
    if (region.len == 0 || service.len == 0 || cap == 0 || !put(out, cap, &at, amz_date, 8) ||
        !put(out, cap, &at, "/", 1) || !put(out, cap, &at, region.ptr, region.len) ||
        !put(out, cap, &at, "/", 1) || !put(out, cap, &at, service.ptr, service.len) ||
        !put(out, cap, &at, "/aws4_request", 13))
        return S3W_E_INVAL;
    *len = at;
    return 0;
}

/* Canonical request -> string to sign -> signing key -> signature. */
static int sign_core(const struct sigv4_request *req, enum sigv4_uri_mode mode,
                     struct s3w_slice signed_headers, struct s3w_slice payload,
                     const char amz_date[17], struct s3w_slice scope,
                     const struct sigv4_sign_params *p,
                     const struct sigv4_credentials *creds, uint8_t key[32],
                     uint8_t sig[32])
{
    struct s3w_buf own;
    struct s3w_buf *creq = p->scratch ? p->scratch : &own;
    char sts[512];
    size_t sts_len = 0;
    int rc;

    s3w_buf_init(&own, SIGV4_MAX_CANONICAL);
    s3w_buf_reset(creq);
    rc = sigv4_canonical_request(req, mode, signed_headers, payload, false,
                                 creq);
    if (!rc && !(sts_len = sigv4_int_sts_build(sts, sizeof sts,
                                               S3W_SLICE_LIT(SIGV4_ALGORITHM_HMAC),
                                               s3w_slice(amz_date, 16), scope,
                                               s3w_buf_slice(creq))))
        rc = S3W_E_TOOBIG;
    if (!rc) {
        struct s3w_slice date = s3w_slice(amz_date, 8);
        if (p->cache) {
            sigv4_keycache_sign(p->cache, creds->secret, date, p->region,
                                p->service, s3w_slice(sts, sts_len), key, sig);
        } else {
            sigv4_signing_key(creds->secret, date, p->region, p->service, key);
            sigv4_signature(key, s3w_slice(sts, sts_len), sig);
        }
    }
    s3w_buf_cleanup(&own);
    /* the canonical request has the session token: wiped as far as used */
    if (creq->ptr)
        s3w_wipe(creq->ptr, creq->len);
    s3w_buf_reset(creq);
    return rc;
}

static int sign_fail(struct sigv4_error *err, int rc)
{
    if (rc == S3W_E_TOOBIG)
        return sigv4_failf(err, SIGV4_ERR_INTERNAL,
                           "The request is too large to sign.");
    if (rc == S3W_E_INVAL)
        return sigv4_failf(err, SIGV4_ERR_INVALID_ARGUMENT,
                           "The request cannot be signed: a header, the "
                           "path, the query or the scope is malformed.");
    return sigv4_fail(err, SIGV4_ERR_INTERNAL);
}

int sigv4_sign_headers(const struct sigv4_sign_params *p,
                       const struct sigv4_credentials *creds,
                       struct sigv4_signed *out, struct sigv4_error *err)
{
    struct s3w_header hs[SIGV4_MAX_HEADERS + 3];
    char sh[2048];
    size_t shl, n = 0;
    int rc;

    memset(out, 0, sizeof *out);
    struct s3w_slice payload = p->payload.len
        ? p->payload : S3W_SLICE_LIT("UNSIGNED-PAYLOAD");
    if (!sigv4_payload_mode_parse(payload, NULL))
        return sigv4_failf(err, SIGV4_ERR_INVALID_REQUEST,
                           "Unknown payload mode for x-amz-content-sha256.");
    if (payload.len >= sizeof out->content_sha256 ||
        p->n_headers > SIGV4_MAX_HEADERS)
        return sign_fail(err, S3W_E_TOOBIG);
    memcpy(out->content_sha256, payload.ptr, payload.len);
    out->content_sha256_len = payload.len;

    sigv4_format_amz_date(p->now, out->amz_date);
    if ((rc = make_scope(out->amz_date, p->region, p->service, out->scope,
                         sizeof out->scope, &out->scope_len)))
        return sign_fail(err, rc);

    for (size_t i = 0; i < p->n_headers; i++) {
        if (is_reserved_name(p->headers[i].name))
            return sign_fail(err, S3W_E_INVAL);
        hs[n++] = p->headers[i];
    }
    hs[n++] = (struct s3w_header){ S3W_SLICE_LIT("x-amz-date"),
                                     s3w_slice(out->amz_date, 16) };
    hs[n++] = (struct s3w_header){ S3W_SLICE_LIT("x-amz-content-sha256"),
                                     s3w_slice(out->content_sha256,
                                               out->content_sha256_len) };
    if (creds->session_token.len) {
        hs[n++] = (struct s3w_header){ S3W_SLICE_LIT("x-amz-security-token"),
                                         creds->session_token };
        out->security_token = creds->session_token;
    }
    if ((rc = signed_list(hs, n, sh, sizeof sh, &shl)))
        return sign_fail(err, rc);

    struct sigv4_request req = { p->method, p->target, hs, n };
    rc = sign_core(&req, p->uri_mode, s3w_slice(sh, shl), payload,
                   out->amz_date, s3w_slice(out->scope, out->scope_len), p,
                   creds, out->signing_key, out->seed_signature);
    if (rc) {
        sigv4_signed_cleanup(out);
        return sign_fail(err, rc);
    }
    s3w_hex_encode(out->seed_signature, 32, out->seed_signature_hex);
    static const char alg[] = "AWS4-HMAC-SHA256 Credential=", sh_[] = ", SignedHeaders=",
                      sig[] = ", Signature=";
    char *a = out->authorization;
    size_t cap = sizeof out->authorization, w = 0;
    if (!put(a, cap, &w, alg, sizeof(alg) - 1) ||
        !put(a, cap, &w, creds->access_key_id.ptr, creds->access_key_id.len) ||
        !put(a, cap, &w, "/", 1) || !put(a, cap, &w, out->scope, out->scope_len) ||
        !put(a, cap, &w, sh_, sizeof(sh_) - 1) || !put(a, cap, &w, sh, shl) ||
        !put(a, cap, &w, sig, sizeof(sig) - 1) || !put(a, cap, &w, out->seed_signature_hex, 64)) {
        out->authorization_len = w; /* what the cleanup wipes of it */
        sigv4_signed_cleanup(out);
        return sign_fail(err, S3W_E_TOOBIG);
    }
    out->authorization_len = w;
    return 0;
}

_Static_assert(offsetof(struct sigv4_signed, authorization) == 0 &&
                   offsetof(struct sigv4_signed, authorization_len) ==
                       sizeof(((struct sigv4_signed *)0)->authorization),
               "sigv4_signed_cleanup wipes the authorization, then the rest");

void sigv4_signed_cleanup(struct sigv4_signed *s)
{
    if (!s)
        return;
    /* all of it but the authorization header's unused room (4 KiB, which
     * sigv4_sign_headers zeroed and did not write): every request is
     * signed */
    size_t n = s->authorization_len < sizeof s->authorization ? s->authorization_len + 1
                                                                : sizeof s->authorization;
    s3w_wipe(s->authorization, n);
    /* from the struct's address, not the member's: GCC's object-size check
     * (seen with -flto) takes &s->authorization_len for an 8-byte object */
    s3w_wipe((char *)s + offsetof(struct sigv4_signed, authorization_len),
             sizeof *s - offsetof(struct sigv4_signed, authorization_len));
}

int sigv4_presign(const struct sigv4_sign_params *p,
                  const struct sigv4_credentials *creds, int64_t expires_s,
                  struct s3w_buf *out, struct sigv4_error *err)
{
    char sh[2048], amz_date[17], scope[160], exp[24], hex[65];
    size_t shl, scope_len;
    uint8_t key[32], sig[32];
    struct s3w_buf target;
    int rc;

    if (expires_s < 1 || expires_s > SIGV4_MAX_EXPIRES)
        return sigv4_failf(err, SIGV4_ERR_QUERY_PARAMS,
                           "X-Amz-Expires must be between 1 and 604800 "
                           "seconds");
    if (p->n_headers > SIGV4_MAX_HEADERS)
        return sign_fail(err, S3W_E_TOOBIG);
    for (size_t i = 0; i < p->n_headers; i++)
        if (is_reserved_name(p->headers[i].name))
            return sign_fail(err, S3W_E_INVAL);
    /* S3 presigned URLs sign the literal UNSIGNED-PAYLOAD; other services
     * sign the body's hash (sha256 of nothing for a GET). */
    char empty_hex[65];
    struct s3w_slice payload = p->payload;
    if (!payload.len) {
        if (p->uri_mode == SIGV4_URI_S3) {
            payload = S3W_SLICE_LIT("UNSIGNED-PAYLOAD");
        } else {
            uint8_t e[32];
            sigv4_sha256("", 0, e);
            s3w_hex_encode(e, 32, empty_hex);
            payload = s3w_slice(empty_hex, 64);
        }
    }
    enum sigv4_payload_mode pm = sigv4_payload_mode_parse(payload, NULL);
    if (pm != SIGV4_PAYLOAD_UNSIGNED && pm != SIGV4_PAYLOAD_SIGNED)
        return sigv4_failf(err, SIGV4_ERR_INVALID_REQUEST,
                           "A presigned URL signs UNSIGNED-PAYLOAD or a body "
                           "hash, not a streaming mode.");
    sigv4_format_amz_date(p->now, amz_date);
    if ((rc = make_scope(amz_date, p->region, p->service, scope, sizeof scope,
                         &scope_len)) ||
        (rc = signed_list(p->headers, p->n_headers, sh, sizeof sh, &shl)))
        return sign_fail(err, rc);
    snprintf(exp, sizeof exp, "%lld", (long long)expires_s);

    /* The target with the X-Amz-* parameters added; the canonical query
     * sorts everything, so the order here is only cosmetic (botocore's). */
    s3w_buf_init(&target, SIGV4_MAX_CANONICAL);
    bool has_q = memchr(p->target.ptr, '?', p->target.len) != NULL;
    char last = p->target.len ? p->target.ptr[p->target.len - 1] : 0;
    rc = s3w_buf_append_slice(&target, p->target);
    if (!rc && !(has_q && (last == '?' || last == '&')))
        rc = s3w_buf_append_char(&target, has_q ? '&' : '?');
    if (!rc)
        rc = s3w_buf_append_cstr(&target, "X-Amz-Algorithm=AWS4-HMAC-SHA256"
                                          "&X-Amz-Credential=");
    if (!rc)
        rc = sigv4_uri_encode(creds->access_key_id, false, &target);
    if (!rc)
        rc = s3w_buf_printf(&target, "%%2F");
    if (!rc)
        rc = sigv4_uri_encode(s3w_slice(scope, scope_len), false, &target);
    if (!rc)
        rc = s3w_buf_printf(&target, "&X-Amz-Date=%s&X-Amz-Expires=%s", amz_date,
                            exp);
    if (!rc && creds->session_token.len) {
        rc = s3w_buf_append_cstr(&target, "&X-Amz-Security-Token=");
        if (!rc)
            rc = sigv4_uri_encode(creds->session_token, false, &target);
    }
    if (!rc)
        rc = s3w_buf_append_cstr(&target, "&X-Amz-SignedHeaders=");
    if (!rc)
        rc = sigv4_uri_encode(s3w_slice(sh, shl), false, &target);
    if (!rc) {
        struct sigv4_request req = { p->method, s3w_buf_slice(&target),
                                     p->headers, p->n_headers };
        rc = sign_core(&req, p->uri_mode, s3w_slice(sh, shl), payload, amz_date,
                       s3w_slice(scope, scope_len), p, creds, key, sig);
    }
    if (!rc) {
        s3w_hex_encode(sig, 32, hex);
        rc = s3w_buf_printf(&target, "&X-Amz-Signature=%s", hex);
    }
    if (!rc)
        rc = s3w_buf_append_slice(out, s3w_buf_slice(&target));
    s3w_wipe(key, sizeof key);
    s3w_buf_cleanup(&target);
    return rc ? sign_fail(err, rc) : 0;
}
