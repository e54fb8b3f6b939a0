/*
 * jwt_fixture.h - what an OpenSSL-backed identity provider does, for the
 * tests of config/jwt.c and AssumeRoleWithWebIdentity: keys, their JWKs,
 * and ID tokens signed with them (test_jwt, test_sts_oidc).
 *
 * Each helper fails the running cmocka test on an OpenSSL error. Outputs
 * are NUL-terminated and written into caller buffers the caller sizes
 * (a 2048-bit RSA modulus is 342 base64url characters).
 */
#ifndef S3W_TEST_JWT_FIXTURE_H
#define S3W_TEST_JWT_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

/* The test's signing keys: RSA 2048 (two), P-256, P-384; made fresh by
 * jwt_fixture_keys_new() in a group setup, freed by jwt_fixture_keys_free()
 * in its teardown. */
extern EVP_PKEY *rsa_priv, *p256_priv, *p384_priv, *rsa_other;
void jwt_fixture_keys_new(void);
void jwt_fixture_keys_free(void);

/* base64url without padding (RFC 7515 section 2) of in[0..n) into out. */
void b64url(const uint8_t *in, size_t n, char *out);
void b64url_str(const char *s, char *out);

/* The key's big-number parameter (OSSL_PKEY_PARAM_*) base64url-encoded,
 * left-padded with zeros to pad bytes when pad is not 0. */
void bn_b64url(EVP_PKEY *k, const char *param, size_t pad, char *out);

/* The public JWK of an RSA key; extra is appended inside the object
 * (",\"use\":\"sig\"" or ""). */
void rsa_jwk(EVP_PKEY *k, const char *kid, const char *extra, char *out, size_t cap);

/* The public JWK of an EC key on crv, coordinates clen bytes long. */
void ec_jwk(EVP_PKEY *k, const char *kid, const char *crv, size_t clen, char *out, size_t cap);

/* header.claims signed with key and digest md_name ("SHA256"); ES
 * signatures as JWS r||s. Returns a static buffer, valid until the next
 * call. */
char *make_token(const char *header, const char *claims, EVP_PKEY *key, const char *md_name);

/* Forgeries no key of the provider made, both naming kid; static buffers
 * like make_token's, each valid until its next call.
 * alg "none": header.claims.sig with sig as it stands ("" or junk). */
char *alg_none_token(const char *kid, const char *claims, const char *sig);
/* alg "HS256" MACed with the base64url modulus of RSA key k (its JWK "n")
 * as the HMAC secret: the classic key-confusion forgery. */
char *hs256_confusion_token(const char *kid, const char *claims, EVP_PKEY *k);

#endif
