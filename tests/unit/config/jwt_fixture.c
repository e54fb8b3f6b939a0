/*
 * jwt_fixture.c - OpenSSL keys, JWKs and signed ID tokens for the tests of
 * config/jwt.c and of AssumeRoleWithWebIdentity (test_jwt, test_sts_oidc):
 * what the identity provider does, done here so the verifier is tested
 * against tokens it did not make itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "jwt_fixture.h"

EVP_PKEY *rsa_priv, *p256_priv, *p384_priv, *rsa_other;

void jwt_fixture_keys_new(void)
{
    rsa_priv = EVP_RSA_gen(2048);
    rsa_other = EVP_RSA_gen(2048);
    p256_priv = EVP_EC_gen("P-256");
    p384_priv = EVP_EC_gen("P-384");
    assert_non_null(rsa_priv);
    assert_non_null(rsa_other);
    assert_non_null(p256_priv);
    assert_non_null(p384_priv);
}

void jwt_fixture_keys_free(void)
{
    EVP_PKEY_free(rsa_priv);
    EVP_PKEY_free(rsa_other);
    EVP_PKEY_free(p256_priv);
    EVP_PKEY_free(p384_priv);
    rsa_priv = rsa_other = p256_priv = p384_priv = NULL;
}

/* ---- encoding helpers ---------------------------------------------------------- */

void b64url(const uint8_t *in, size_t n, char *out)
{
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n) v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n) v |= in[i + 2];
        out[o++] = A[(v >> 18) & 63];
        out[o++] = A[(v >> 12) & 63];
        if (i + 1 < n) out[o++] = A[(v >> 6) & 63];
        if (i + 2 < n) out[o++] = A[v & 63];
    }
    out[o] = '\0';
}

void b64url_str(const char *s, char *out)
{
    b64url((const uint8_t *)s, strlen(s), out);
}

void bn_b64url(EVP_PKEY *k, const char *param, size_t pad, char *out)
{
    BIGNUM *bn = NULL;
    assert_int_equal(EVP_PKEY_get_bn_param(k, param, &bn), 1);
    uint8_t buf[600];
    int n = pad ? BN_bn2binpad(bn, buf, (int)pad) : BN_bn2bin(bn, buf);
    assert_true(n > 0);
    b64url(buf, (size_t)n, out);
    BN_free(bn);
}

void rsa_jwk(EVP_PKEY *k, const char *kid, const char *extra, char *out, size_t cap)
{
    char n[400], e[16];
    bn_b64url(k, OSSL_PKEY_PARAM_RSA_N, 0, n);
    bn_b64url(k, OSSL_PKEY_PARAM_RSA_E, 0, e);
    snprintf(out, cap, "{\"kty\":\"RSA\",\"kid\":\"%s\",\"n\":\"%s\",\"e\":\"%s\"%s}", kid, n, e,
             extra);
}

void ec_jwk(EVP_PKEY *k, const char *kid, const char *crv, size_t clen, char *out, size_t cap)
{
    char x[80], y[80];
    bn_b64url(k, OSSL_PKEY_PARAM_EC_PUB_X, clen, x);
    bn_b64url(k, OSSL_PKEY_PARAM_EC_PUB_Y, clen, y);
    snprintf(out, cap, "{\"kty\":\"EC\",\"kid\":\"%s\",\"crv\":\"%s\",\"x\":\"%s\",\"y\":\"%s\"}",
             kid, crv, x, y);
}

/* Signs header.payload with key and alg name; ES signatures as JWS r||s. */
char *make_token(const char *header, const char *claims, EVP_PKEY *key, const char *md_name)
{
    static char tok[24000];
    char h[4096], p[16000];
    b64url_str(header, h);
    b64url_str(claims, p);
    int n = snprintf(tok, sizeof tok, "%s.%s", h, p);
    uint8_t sig[600];
    size_t slen = sizeof sig;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestSignInit_ex(md, NULL, md_name, NULL, NULL, key, NULL), 1);
    assert_int_equal(EVP_DigestSign(md, sig, &slen, (uint8_t *)tok, (size_t)n), 1);
    EVP_MD_CTX_free(md);
    if (EVP_PKEY_is_a(key, "EC")) {
        const uint8_t *q = sig;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &q, (long)slen);
        size_t clen = EVP_PKEY_get_bits(key) / 8;
        uint8_t raw[96];
        BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, (int)clen);
        BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + clen, (int)clen);
        ECDSA_SIG_free(es);
        memcpy(sig, raw, 2 * clen);
        slen = 2 * clen;
    }
    tok[n++] = '.';
    b64url(sig, slen, tok + n);
    return tok;
}

char *alg_none_token(const char *kid, const char *claims, const char *sig)
{
    static char tok[24000];
    char hdr[256], h[400], p[16000];
    snprintf(hdr, sizeof hdr, "{\"alg\":\"none\",\"kid\":\"%s\"}", kid);
    b64url_str(hdr, h);
    b64url_str(claims, p);
    int n = snprintf(tok, sizeof tok, "%s.%s.%s", h, p, sig);
    assert_true(n > 0 && (size_t)n < sizeof tok);
    return tok;
}

char *hs256_confusion_token(const char *kid, const char *claims, EVP_PKEY *k)
{
    static char tok[24000];
    char hdr[256], h[400], p[16000], n[400];
    bn_b64url(k, OSSL_PKEY_PARAM_RSA_N, 0, n);
    snprintf(hdr, sizeof hdr, "{\"alg\":\"HS256\",\"kid\":\"%s\"}", kid);
    b64url_str(hdr, h);
    b64url_str(claims, p);
    int len = snprintf(tok, sizeof tok, "%s.%s", h, p);
    assert_true(len > 0 && (size_t)len + 1 + 43 < sizeof tok);
    uint8_t mac[32];
    unsigned mlen = 0;
    assert_non_null(HMAC(EVP_sha256(), n, (int)strlen(n), (uint8_t *)tok, (size_t)len, mac, &mlen));
    tok[len++] = '.';
    b64url(mac, mlen, tok + len);
    return tok;
}
