#include "jwt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "codec.h"
#include "json_guard.h"

#define JWT_MAX_HEADER 4096 /* decoded header JSON */
#define RSA_MIN_BITS 2048

enum key_type { KEY_RSA = 1, KEY_EC_P256, KEY_EC_P384 };

struct jwt_key {
    char kid[JWT_MAX_KID + 1];
    size_t kid_len;
    bool has_kid;
    enum key_type type;
    enum jwt_alg alg; /* 0: the JWK names no alg */
    EVP_PKEY *pkey;
};

const char *jwt_strerror(int err)
{
    switch (err) {
    case JWT_OK: return "ok";
    case JWT_E_MALFORMED: return "the token is not a well-formed JWT";
    case JWT_E_TOOBIG: return "the token or one of its claims is too long";
    case JWT_E_ALG: return "the token's signing algorithm is not allowed";
    case JWT_E_DUPLICATE: return "the token repeats a header parameter or claim";
    case JWT_E_KID_UNKNOWN: return "no signing key of the provider matches the token's kid";
    case JWT_E_KEY_MISMATCH: return "the key named by the token's kid does not fit its algorithm";
    case JWT_E_SIGNATURE: return "the token's signature does not verify";
    case JWT_E_ISSUER: return "the token's issuer is not the provider's";
    case JWT_E_AUDIENCE: return "Incorrect token audience";
    case JWT_E_EXPIRED: return "Token expired";
    case JWT_E_NOT_YET_VALID: return "the token is not valid yet (nbf or iat in the future)";
    case JWT_E_CLAIM: return "the token lacks a required claim (exp, sub) or has one of the wrong type";
    case JWT_E_INTERNAL: return "internal error";
    }
    return "unknown error";
}

const char *jwt_sts_code(int err)
{
    return err == JWT_E_EXPIRED ? "ExpiredTokenException" : "InvalidIdentityToken";
}

/* ---- base64url ---------------------------------------------------------------- */

long jwt_b64url_decode(struct s3w_slice in, uint8_t *out, size_t cap)
{
    if (in.len % 4 == 1)
        return S3W_E_INVAL;
    size_t padded = (in.len + 3) / 4 * 4;
    char *tmp = malloc(padded ? padded : 1);
    if (!tmp)
        return S3W_E_NOMEM;
    for (size_t i = 0; i < in.len; i++) {
        char c = in.ptr[i];
        if (c == '-')
            c = '+';
        else if (c == '_')
            c = '/';
        else if (c == '+' || c == '/' || c == '=') {
            free(tmp);
            return S3W_E_INVAL; /* the standard alphabet and padding are not JWS */
        }
        tmp[i] = c;
    }
    memset(tmp + in.len, '=', padded - in.len);
    long n = s3w_b64_decode(s3w_slice(tmp, padded), out, cap, 0);
    free(tmp);
    return n;
}

/* Decodes a base64url part into a fresh NUL-terminated heap string. */
static int b64url_dup(struct s3w_slice in, size_t max, char **out, size_t *outlen)
{
    if (in.len / 4 * 3 + 3 > max)
        return JWT_E_TOOBIG;
    char *buf = malloc(in.len / 4 * 3 + 4);
    if (!buf)
        return JWT_E_INTERNAL;
    long n = jwt_b64url_decode(in, (uint8_t *)buf, in.len / 4 * 3 + 3);
    if (n < 0) {
        free(buf);
        return n == S3W_E_NOMEM ? JWT_E_INTERNAL : JWT_E_MALFORMED;
    }
    buf[n] = '\0';
    /* cJSON would end a string at an escaped NUL: "iss": "https://a\u0000x"
     * must not read as "https://a" (json_guard.h) */
    if (json_text_has_nul(buf, (size_t)n)) {
        free(buf);
        return JWT_E_MALFORMED;
    }
    *out = buf;
    *outlen = (size_t)n;
    return JWT_OK;
}

/* ---- JSON helpers ------------------------------------------------------------- */
/* A token's header or claims set: "a completely valid JSON object" (RFC
 * 7515 5.2 step 8, RFC 7519 7.2 step 10), so nothing after the object -
 * cJSON stops at its end, and {"alg":"RS256","kid":"k1"}{"alg":"none"}
 * read as the first (the eighth probe) - and no byte order mark before it,
 * which cJSON skips. NULL for anything else. */
static cJSON *parse_part(const char *txt, size_t len)
{
    if (len >= 3 && memcmp(txt, "\xEF\xBB\xBF", 3) == 0)
        return NULL;
    const char *end = NULL;
    cJSON *o = cJSON_ParseWithLengthOpts(txt, len, &end, false);
    if (o && json_text_has_trailer(txt, len, end)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}


/* RFC 7515 section 5.2 / RFC 7519 section 4: names must be unique; cJSON keeps
 * both, and cJSON_GetObjectItem would silently read the first. */
static bool has_duplicate_names(const cJSON *obj)
{
    for (const cJSON *a = obj->child; a; a = a->next)
        for (const cJSON *b = a->next; b; b = b->next)
            if (strcmp(a->string, b->string) == 0)
                return true;
    return false;
}

static const char *json_str(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---- JWKS --------------------------------------------------------------------- */

static enum jwt_alg alg_from_name(const char *s)
{
    static const struct { const char *name; enum jwt_alg alg; } algs[] = {
        { "RS256", JWT_ALG_RS256 }, { "RS384", JWT_ALG_RS384 }, { "RS512", JWT_ALG_RS512 },
        { "ES256", JWT_ALG_ES256 }, { "ES384", JWT_ALG_ES384 },
    };
    for (size_t i = 0; s && i < sizeof algs / sizeof algs[0]; i++)
        if (strcmp(s, algs[i].name) == 0)
            return algs[i].alg;
    return 0;
}

static BIGNUM *b64url_bn(const char *s, size_t maxbytes)
{
    if (!s)
        return NULL;
    size_t len = strlen(s);
    uint8_t *buf = malloc(len / 4 * 3 + 3);
    if (!buf)
        return NULL;
    long n = jwt_b64url_decode(s3w_slice(s, len), buf, len / 4 * 3 + 3);
    BIGNUM *bn = n > 0 && (size_t)n <= maxbytes ? BN_bin2bn(buf, (int)n, NULL) : NULL;
    free(buf);
    return bn;
}

static EVP_PKEY *pkey_from_params(const char *type, OSSL_PARAM_BLD *bld)
{
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    if (!pkey)
        return NULL;
    /* fromdata does not check that an EC point lies on the curve */
    EVP_PKEY_CTX *chk = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    bool ok = chk && EVP_PKEY_public_check(chk) == 1;
    EVP_PKEY_CTX_free(chk);
    if (!ok) {
        EVP_PKEY_free(pkey);
        return NULL;
    }
    return pkey;
}

static EVP_PKEY *rsa_key(const cJSON *jwk)
{
    BIGNUM *n = b64url_bn(json_str(jwk, "n"), 1024), *e = b64url_bn(json_str(jwk, "e"), 8);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    EVP_PKEY *pkey = NULL;
    if (n && e && bld && BN_num_bits(n) >= RSA_MIN_BITS &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
        pkey = pkey_from_params("RSA", bld);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    return pkey;
}

static EVP_PKEY *ec_key(const cJSON *jwk, enum key_type type)
{
    size_t clen = type == KEY_EC_P256 ? 32 : 48;
    uint8_t pub[1 + 2 * 48];
    const char *x = json_str(jwk, "x"), *y = json_str(jwk, "y");
    if (!x || !y || strlen(x) > 64 || strlen(y) > 64)
        return NULL;
    pub[0] = 0x04; /* uncompressed point */
    if (jwt_b64url_decode(s3w_slice_cstr(x), pub + 1, clen) != (long)clen ||
        jwt_b64url_decode(s3w_slice_cstr(y), pub + 1 + clen, clen) != (long)clen)
        return NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    EVP_PKEY *pkey = NULL;
    if (bld &&
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                        type == KEY_EC_P256 ? "P-256" : "P-384", 0) &&
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, 1 + 2 * clen))
        pkey = pkey_from_params("EC", bld);
    OSSL_PARAM_BLD_free(bld);
    return pkey;
}

/* 1: a usable key in *k; 0: a key of another kind (skipped); -1: error. */
static int jwk_load(const cJSON *jwk, struct jwt_key *k, char *err, size_t errcap, size_t idx)
{
    const char *kty = json_str(jwk, "kty"), *use = json_str(jwk, "use");
    const char *alg = json_str(jwk, "alg"), *crv = json_str(jwk, "crv");
    const cJSON *kid = cJSON_GetObjectItemCaseSensitive(jwk, "kid");
    if (!cJSON_IsObject(jwk) || !kty) {
        snprintf(err, errcap, "keys[%zu]: not an object with a \"kty\" string", idx);
        return -1;
    }
    if (use && strcmp(use, "sig") != 0)
        return 0; /* an encryption key: never verifies a signature */
    if (strcmp(kty, "RSA") == 0)
        k->type = KEY_RSA;
    else if (strcmp(kty, "EC") == 0 && crv && strcmp(crv, "P-256") == 0)
        k->type = KEY_EC_P256;
    else if (strcmp(kty, "EC") == 0 && crv && strcmp(crv, "P-384") == 0)
        k->type = KEY_EC_P384;
    else
        return 0; /* oct, OKP, other curves: no allowed alg uses them */
    k->alg = alg ? alg_from_name(alg) : 0;
    if (alg && !k->alg)
        return 0; /* e.g. PS256 or RSA-OAEP: not an alg we accept */
    k->has_kid = kid != NULL;
    if (kid && (!cJSON_IsString(kid) || strlen(kid->valuestring) > JWT_MAX_KID)) {
        snprintf(err, errcap, "keys[%zu]: \"kid\" must be a string of at most %d characters",
                 idx, JWT_MAX_KID);
        return -1;
    }
    if (kid) {
        k->kid_len = strlen(kid->valuestring);
        memcpy(k->kid, kid->valuestring, k->kid_len + 1);
    }
    k->pkey = k->type == KEY_RSA ? rsa_key(jwk) : ec_key(jwk, k->type);
    if (!k->pkey) {
        snprintf(err, errcap,
                 k->type == KEY_RSA
                     ? "keys[%zu]: RSA key without valid \"n\" and \"e\" (or under %d bits)"
                     : "keys[%zu]: EC key without a valid point \"x\", \"y\" on its curve",
                 idx, RSA_MIN_BITS);
        return -1;
    }
    return 1;
}

void jwks_cleanup(struct jwks *k)
{
    for (size_t i = 0; k->keys && i < k->n; i++)
        EVP_PKEY_free(k->keys[i].pkey);
    free(k->keys);
    k->keys = NULL;
    k->n = 0;
}

int jwks_parse(struct s3w_slice json, enum jwks_mode mode, struct jwks *out, char *err,
               size_t errcap)
{
    out->keys = NULL;
    out->n = 0;
    if (errcap)
        err[0] = '\0';
    cJSON *doc = cJSON_ParseWithLength(json.ptr, json.len);
    const cJSON *keys = doc ? cJSON_GetObjectItemCaseSensitive(doc, "keys") : NULL;
    int rc = JWT_OK;
    if (!cJSON_IsArray(keys)) {
        snprintf(err, errcap, "%s", doc ? "a JWKS needs a \"keys\" array"
                                        : "the JWKS is not valid JSON");
        rc = JWT_E_MALFORMED;
        goto out;
    }
    out->keys = calloc(JWT_MAX_KEYS, sizeof *out->keys);
    if (!out->keys) {
        rc = JWT_E_INTERNAL;
        goto out;
    }
    size_t idx = 0;
    for (const cJSON *jwk = keys->child; jwk; jwk = jwk->next, idx++) {
        if (out->n == JWT_MAX_KEYS) {
            snprintf(err, errcap, "more than %d signing keys", JWT_MAX_KEYS);
            rc = JWT_E_MALFORMED;
            goto out;
        }
        char why[200];
        int r = jwk_load(jwk, &out->keys[out->n], why, sizeof why, idx);
        if (r < 0 && mode == JWKS_SKIP_UNUSABLE) {
            memset(&out->keys[out->n], 0, sizeof out->keys[out->n]);
            if (!err[0])
                snprintf(err, errcap, "%s: skipped", why);
            continue;
        }
        if (r < 0) {
            snprintf(err, errcap, "%s", why);
            rc = JWT_E_MALFORMED;
            goto out;
        }
        out->n += (size_t)r;
    }
out:
    cJSON_Delete(doc);
    if (rc)
        jwks_cleanup(out);
    return rc;
}

/* ---- verification ------------------------------------------------------------- */

static const EVP_MD *alg_md(enum jwt_alg a)
{
    switch (a) {
    case JWT_ALG_RS256:
    case JWT_ALG_ES256: return EVP_sha256();
    case JWT_ALG_RS384:
    case JWT_ALG_ES384: return EVP_sha384();
    case JWT_ALG_RS512: return EVP_sha512();
    }
    return NULL;
}

static bool key_fits(const struct jwt_key *k, enum jwt_alg a)
{
    if (k->alg && k->alg != a)
        return false;
    switch (a) {
    case JWT_ALG_RS256:
    case JWT_ALG_RS384:
    case JWT_ALG_RS512: return k->type == KEY_RSA;
    case JWT_ALG_ES256: return k->type == KEY_EC_P256;
    case JWT_ALG_ES384: return k->type == KEY_EC_P384;
    }
    return false;
}

static const struct jwt_key *find_key(const struct jwks *keys, const char *kid)
{
    if (!kid)
        return keys->n == 1 ? &keys->keys[0] : NULL;
    for (size_t i = 0; i < keys->n; i++)
        if (keys->keys[i].has_kid && strcmp(keys->keys[i].kid, kid) == 0)
            return &keys->keys[i];
    return NULL;
}

/* JWS ECDSA signatures are r || s, each the curve's size (RFC 7518 section
 * 3.4); OpenSSL verifies DER. */
static int ecdsa_to_der(const uint8_t *sig, size_t len, size_t clen, uint8_t **der, int *derlen)
{
    if (len != 2 * clen)
        return JWT_E_SIGNATURE;
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, (int)clen, NULL), *s = BN_bin2bn(sig + clen, (int)clen, NULL);
    if (!es || !r || !s || !ECDSA_SIG_set0(es, r, s)) {
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(es);
        return JWT_E_INTERNAL;
    }
    *der = NULL;
    *derlen = i2d_ECDSA_SIG(es, der);
    ECDSA_SIG_free(es);
    return *derlen > 0 ? JWT_OK : JWT_E_INTERNAL;
}

static int check_signature(const struct jwt_key *k, enum jwt_alg alg, struct s3w_slice input,
                           struct s3w_slice sig_b64)
{
    uint8_t sig[1024];
    if (sig_b64.len > (sizeof sig / 3) * 4)
        return JWT_E_SIGNATURE;
    long n = jwt_b64url_decode(sig_b64, sig, sizeof sig);
    if (n <= 0)
        return JWT_E_MALFORMED;
    uint8_t *der = NULL;
    const uint8_t *s = sig;
    size_t slen = (size_t)n;
    int derlen = 0, rc = JWT_OK;
    if (k->type != KEY_RSA) {
        rc = ecdsa_to_der(sig, slen, k->type == KEY_EC_P256 ? 32 : 48, &der, &derlen);
        if (rc)
            return rc;
        s = der;
        slen = (size_t)derlen;
    }
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md || EVP_DigestVerifyInit(md, NULL, alg_md(alg), NULL, k->pkey) != 1)
        rc = JWT_E_INTERNAL;
    else if (EVP_DigestVerify(md, s, slen, (const uint8_t *)input.ptr, input.len) != 1)
        rc = JWT_E_SIGNATURE;
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    return rc;
}

static struct s3w_slice keep(struct jwt_claims *c, const char *s, int *rc)
{
    size_t n = strlen(s);
    if (n > JWT_MAX_CLAIM || n + 1 > sizeof c->store - c->store_used) {
        *rc = JWT_E_TOOBIG;
        return S3W_SLICE_NULL;
    }
    char *p = c->store + c->store_used;
    memcpy(p, s, n + 1);
    c->store_used += n + 1;
    return s3w_slice(p, n);
}

/* A NumericDate (RFC 7519 section 2): seconds, possibly fractional. */
static int numeric_date(const cJSON *claims, const char *name, bool required, int64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(claims, name);
    *out = 0;
    if (!v)
        return required ? JWT_E_CLAIM : JWT_OK;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0 ||
        v->valuedouble > 253402300799.0 /* 9999-12-31T23:59:59Z */)
        return JWT_E_CLAIM;
    *out = (int64_t)floor(v->valuedouble);
    return JWT_OK;
}

static bool audience_ok(const struct jwt_expect *e, const char *aud)
{
    for (size_t i = 0; i < e->naudiences; i++)
        if (s3w_slice_eq_cstr(e->audiences[i], aud))
            return true;
    return false;
}

static int check_audience(const cJSON *claims, const struct jwt_expect *e, struct jwt_claims *c)
{
    const cJSON *aud = cJSON_GetObjectItemCaseSensitive(claims, "aud");
    const char *azp = json_str(claims, "azp");
    const char *match = NULL;
    int rc = JWT_OK;
    if (cJSON_IsString(aud)) {
        match = audience_ok(e, aud->valuestring) ? aud->valuestring : NULL;
    } else if (cJSON_IsArray(aud)) {
        /* every element read: an array of strings (RFC 7519 4.1.3), not
         * one that holds a match before what it should not (probe 21) */
        for (const cJSON *a = aud->child; a; a = a->next) {
            if (!cJSON_IsString(a))
                return JWT_E_CLAIM;
            if (!match && audience_ok(e, a->valuestring))
                match = a->valuestring;
        }
    } else if (aud) {
        return JWT_E_CLAIM;
    } else if (azp && audience_ok(e, azp)) {
        match = azp; /* Google and Cognito name the client in azp */
    }
    if (!match)
        return JWT_E_AUDIENCE;
    c->aud = keep(c, match, &rc);
    if (azp && !rc)
        c->azp = keep(c, azp, &rc);
    return rc;
}

static int check_claims(const cJSON *claims, const struct jwt_expect *e, struct jwt_claims *c)
{
    int rc = JWT_OK;
    const char *iss = json_str(claims, "iss"), *sub = json_str(claims, "sub");
    if (!iss || !s3w_slice_eq_cstr(e->issuer, iss))
        return JWT_E_ISSUER;
    if ((rc = check_audience(claims, e, c)))
        return rc;
    if ((rc = numeric_date(claims, "exp", true, &c->exp)) ||
        (rc = numeric_date(claims, "nbf", false, &c->nbf)) ||
        (rc = numeric_date(claims, "iat", false, &c->iat)))
        return rc;
    if (c->exp + e->leeway <= e->now)
        return JWT_E_EXPIRED;
    if ((c->nbf && c->nbf > e->now + e->leeway) || (c->iat && c->iat > e->now + e->leeway))
        return JWT_E_NOT_YET_VALID;
    if (!sub || !*sub)
        return JWT_E_CLAIM;
    c->iss = keep(c, iss, &rc);
    c->sub = rc ? c->sub : keep(c, sub, &rc);
    const char *email = json_str(claims, "email");
    if (email && !rc)
        c->email = keep(c, email, &rc);
    const cJSON *amr = cJSON_GetObjectItemCaseSensitive(claims, "amr");
    for (const cJSON *a = cJSON_IsArray(amr) ? amr->child : NULL; a && !rc; a = a->next) {
        if (!cJSON_IsString(a))
            return JWT_E_CLAIM;
        if (c->namr == JWT_MAX_AMR)
            return JWT_E_TOOBIG;
        c->amr[c->namr++] = keep(c, a->valuestring, &rc);
    }
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(claims, "https://aws.amazon.com/tags");
    if (tags && !rc) {
        char *txt = cJSON_PrintUnformatted(tags);
        if (!txt)
            return JWT_E_INTERNAL;
        size_t n = strlen(txt);
        if (n + 1 > sizeof c->store - c->store_used) {
            rc = JWT_E_TOOBIG;
        } else {
            memcpy(c->store + c->store_used, txt, n + 1);
            c->aws_tags = s3w_slice(c->store + c->store_used, n);
            c->store_used += n + 1;
        }
        free(txt);
    }
    return rc;
}

static int parse_header(struct s3w_slice part, cJSON **hdr, enum jwt_alg *alg, const char **kid)
{
    char *txt;
    size_t len;
    int rc = b64url_dup(part, JWT_MAX_HEADER, &txt, &len);
    if (rc)
        return rc;
    *hdr = parse_part(txt, len);
    free(txt);
    if (!cJSON_IsObject(*hdr))
        return JWT_E_MALFORMED;
    if (has_duplicate_names(*hdr))
        return JWT_E_DUPLICATE;
    /* "crit" names extensions the verifier must understand; we know none */
    if (cJSON_GetObjectItemCaseSensitive(*hdr, "crit"))
        return JWT_E_MALFORMED;
    *alg = alg_from_name(json_str(*hdr, "alg"));
    if (!*alg)
        return JWT_E_ALG;
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(*hdr, "kid");
    if (k && (!cJSON_IsString(k) || strlen(k->valuestring) > JWT_MAX_KID))
        return JWT_E_MALFORMED;
    *kid = k ? k->valuestring : NULL;
    return JWT_OK;
}

int jwt_peek_issuer(struct s3w_slice token, char *out, size_t cap)
{
    if (token.len > JWT_MAX_TOKEN)
        return JWT_E_TOOBIG;
    const char *d1 = memchr(token.ptr, '.', token.len);
    const char *d2 = d1 ? memchr(d1 + 1, '.', token.len - (size_t)(d1 + 1 - token.ptr)) : NULL;
    if (!d1 || !d2)
        return JWT_E_MALFORMED;
    char *payload = NULL;
    size_t plen;
    int rc = b64url_dup(s3w_slice(d1 + 1, (size_t)(d2 - d1 - 1)), JWT_MAX_TOKEN, &payload, &plen);
    if (rc)
        return rc;
    cJSON *claims = parse_part(payload, plen);
    const char *iss = cJSON_IsObject(claims) ? json_str(claims, "iss") : NULL;
    if (!cJSON_IsObject(claims))
        rc = JWT_E_MALFORMED;
    else if (!iss)
        rc = JWT_E_CLAIM;
    else if (strlen(iss) >= cap || strlen(iss) > JWT_MAX_CLAIM)
        rc = JWT_E_TOOBIG;
    else
        memcpy(out, iss, strlen(iss) + 1);
    cJSON_Delete(claims);
    free(payload);
    return rc;
}

int jwt_verify(struct s3w_slice token, const struct jwks *keys, const struct jwt_expect *expect,
               struct jwt_claims *out)
{
    memset(out, 0, offsetof(struct jwt_claims, store));
    out->store_used = 0;
    if (token.len > JWT_MAX_TOKEN)
        return JWT_E_TOOBIG;
    const char *d1 = memchr(token.ptr, '.', token.len);
    const char *d2 = d1 ? memchr(d1 + 1, '.', token.len - (size_t)(d1 + 1 - token.ptr)) : NULL;
    if (!d1 || !d2 || memchr(d2 + 1, '.', token.len - (size_t)(d2 + 1 - token.ptr)))
        return JWT_E_MALFORMED; /* a JWE has five parts; we take JWS only */
    struct s3w_slice h = s3w_slice(token.ptr, (size_t)(d1 - token.ptr));
    struct s3w_slice p = s3w_slice(d1 + 1, (size_t)(d2 - d1 - 1));
    struct s3w_slice s = s3w_slice(d2 + 1, token.len - (size_t)(d2 + 1 - token.ptr));
    if (!h.len || !p.len || !s.len)
        return JWT_E_MALFORMED; /* an empty signature is alg "none" in disguise */

    cJSON *hdr = NULL, *claims = NULL;
    const char *kid = NULL;
    char *payload = NULL;
    size_t plen;
    int rc = parse_header(h, &hdr, &out->alg, &kid);
    if (rc)
        goto out;
    const struct jwt_key *k = find_key(keys, kid);
    if (!k) {
        rc = JWT_E_KID_UNKNOWN;
        goto out;
    }
    if (!key_fits(k, out->alg)) {
        rc = JWT_E_KEY_MISMATCH;
        goto out;
    }
    if ((rc = check_signature(k, out->alg, s3w_slice(token.ptr, (size_t)(d2 - token.ptr)), s)))
        goto out;
    if ((rc = b64url_dup(p, JWT_MAX_TOKEN, &payload, &plen)))
        goto out;
    claims = parse_part(payload, plen);
    if (!cJSON_IsObject(claims)) {
        rc = JWT_E_MALFORMED;
        goto out;
    }
    if (has_duplicate_names(claims)) {
        rc = JWT_E_DUPLICATE;
        goto out;
    }
    if ((rc = check_claims(claims, expect, out)))
        goto out;
    if (kid)
        out->kid = keep(out, kid, &rc);
out:
    cJSON_Delete(hdr);
    cJSON_Delete(claims);
    free(payload);
    return rc;
}
