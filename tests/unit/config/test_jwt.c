/* Unit tests for config/jwt.c: JWKS parsing and ID-token verification, with
 * keys and tokens made here with OpenSSL (RSA 2048, P-256, P-384). Every
 * refusal asserts its exact error and the STS code it becomes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "jwt.h"
#include "jwt_fixture.h"

#define NOW 1700000000LL
#define ISSUER "https://issuer.example.test/realms/partner"

static struct jwks g_keys;

static void load_jwks(const char *json)
{
    char err[256] = "";
    jwks_cleanup(&g_keys);
    int rc = jwks_parse(s3w_slice_cstr(json), JWKS_STRICT, &g_keys, err, sizeof err);
    if (rc)
        fail_msg("jwks_parse: %s", err);
}

static void standard_jwks(void)
{
    char a[1200], b[400], c[400], d[1200], doc[4000];
    rsa_jwk(rsa_priv, "rsa1", ",\"use\":\"sig\",\"alg\":\"RS256\"", a, sizeof a);
    ec_jwk(p256_priv, "ec256", "P-256", 32, b, sizeof b);
    ec_jwk(p384_priv, "ec384", "P-384", 48, c, sizeof c);
    rsa_jwk(rsa_other, "rsa-any", "", d, sizeof d);
    snprintf(doc, sizeof doc, "{\"keys\":[%s,%s,%s,%s]}", a, b, c, d);
    load_jwks(doc);
    assert_int_equal(g_keys.n, 4);
}


static const struct s3w_slice AUDS[] = { S3W_SLICE_LIT("sts.amazonaws.com"),
                                          S3W_SLICE_LIT("partner-app") };

static int verify(const char *token, struct jwt_claims *c)
{
    struct jwt_expect e = { S3W_SLICE_LIT(ISSUER), AUDS, 2, NOW, 60 };
    return jwt_verify(s3w_slice_cstr(token), &g_keys, &e, c);
}

#define GOOD_CLAIMS                                                                              \
    "{\"iss\":\"" ISSUER "\",\"sub\":\"system:serviceaccount:ns:app\","                            \
    "\"aud\":\"sts.amazonaws.com\",\"exp\":1700003600,\"iat\":1699999990}"

static struct jwt_claims claims;

static int setup(void **state)
{
    (void)state;
    jwt_fixture_keys_new();
    standard_jwks();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    jwks_cleanup(&g_keys);
    jwt_fixture_keys_free();
    return 0;
}

/* ---- accepted ------------------------------------------------------------------ */

static void test_each_alg_verifies(void **state)
{
    (void)state;
    struct { const char *hdr; EVP_PKEY **key; const char *md; enum jwt_alg alg; } t[] = {
        { "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"typ\":\"JWT\"}", &rsa_priv, "SHA256", JWT_ALG_RS256 },
        { "{\"alg\":\"RS384\",\"kid\":\"rsa-any\"}", &rsa_other, "SHA384", JWT_ALG_RS384 },
        { "{\"alg\":\"RS512\",\"kid\":\"rsa-any\"}", &rsa_other, "SHA512", JWT_ALG_RS512 },
        { "{\"alg\":\"ES256\",\"kid\":\"ec256\"}", &p256_priv, "SHA256", JWT_ALG_ES256 },
        { "{\"alg\":\"ES384\",\"kid\":\"ec384\"}", &p384_priv, "SHA384", JWT_ALG_ES384 },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        const char *tok = make_token(t[i].hdr, GOOD_CLAIMS, *t[i].key, t[i].md);
        assert_int_equal(verify(tok, &claims), JWT_OK);
        assert_int_equal(claims.alg, t[i].alg);
    }
    assert_true(s3w_slice_eq_cstr(claims.iss, ISSUER));
    assert_true(s3w_slice_eq_cstr(claims.sub, "system:serviceaccount:ns:app"));
    assert_true(s3w_slice_eq_cstr(claims.aud, "sts.amazonaws.com"));
    assert_true(s3w_slice_eq_cstr(claims.kid, "ec384"));
    assert_int_equal(claims.exp, 1700003600);
}

static void test_audience_array_azp_amr_tags(void **state)
{
    (void)state;
    const char *tok = make_token(
        "{\"alg\":\"RS256\",\"kid\":\"rsa1\"}",
        "{\"iss\":\"" ISSUER "\",\"sub\":\"repo:org/repo:ref:refs/heads/main\","
        "\"aud\":[\"other\",\"partner-app\"],\"exp\":1700003600,\"amr\":[\"pwd\",\"mfa\"],"
        "\"email\":\"ci@example.test\",\"https://aws.amazon.com/tags\":"
        "{\"principal_tags\":{\"team\":[\"blue\"]}}}",
        rsa_priv, "SHA256");
    assert_int_equal(verify(tok, &claims), JWT_OK);
    assert_true(s3w_slice_eq_cstr(claims.aud, "partner-app"));
    assert_int_equal(claims.namr, 2);
    assert_true(s3w_slice_eq_cstr(claims.amr[1], "mfa"));
    assert_true(s3w_slice_eq_cstr(claims.email, "ci@example.test"));
    assert_true(s3w_slice_eq_cstr(claims.aws_tags, "{\"principal_tags\":{\"team\":[\"blue\"]}}"));

    /* an element that is not a string, after the match: not a JWT's aud */
    tok = make_token("{\"alg\":\"RS256\",\"kid\":\"rsa1\"}",
                     "{\"iss\":\"" ISSUER "\",\"sub\":\"1\",\"aud\":[\"partner-app\",5],"
                     "\"exp\":1700003600}",
                     rsa_priv, "SHA256");
    assert_int_equal(verify(tok, &claims), JWT_E_CLAIM);

    /* no aud: the client id in azp (Google) */
    tok = make_token("{\"alg\":\"RS256\",\"kid\":\"rsa1\"}",
                     "{\"iss\":\"" ISSUER "\",\"sub\":\"1\",\"azp\":\"partner-app\",\"exp\":1700003600}",
                     rsa_priv, "SHA256");
    assert_int_equal(verify(tok, &claims), JWT_OK);
    assert_true(s3w_slice_eq_cstr(claims.aud, "partner-app"));
}

static void test_single_key_serves_token_without_kid(void **state)
{
    (void)state;
    char jwk[1200], doc[1300];
    rsa_jwk(rsa_priv, "only", "", jwk, sizeof jwk);
    snprintf(doc, sizeof doc, "{\"keys\":[%s]}", jwk);
    load_jwks(doc);
    const char *tok = make_token("{\"alg\":\"RS256\"}", GOOD_CLAIMS, rsa_priv, "SHA256");
    assert_int_equal(verify(tok, &claims), JWT_OK);
    standard_jwks();
    /* with several keys a kid is required */
    assert_int_equal(verify(tok, &claims), JWT_E_KID_UNKNOWN);
}

/* ---- refused: header and key ------------------------------------------------- */

static void test_alg_none_and_hmac_refused(void **state)
{
    (void)state;
    /* empty signature */
    assert_int_equal(verify(alg_none_token("rsa1", GOOD_CLAIMS, ""), &claims), JWT_E_MALFORMED);
    assert_int_equal(verify(alg_none_token("rsa1", GOOD_CLAIMS, "AAAA"), &claims), JWT_E_ALG);
    assert_string_equal(jwt_sts_code(JWT_E_ALG), "InvalidIdentityToken");

    /* HS256 with the RSA public key (its JWK n) as the HMAC secret: the
     * classic key-confusion forgery */
    assert_int_equal(verify(hs256_confusion_token("rsa1", GOOD_CLAIMS, rsa_priv), &claims), JWT_E_ALG);
}

static void test_unknown_kid_and_wrong_key_type(void **state)
{
    (void)state;
    const char *tok = make_token("{\"alg\":\"RS256\",\"kid\":\"gone\"}", GOOD_CLAIMS, rsa_priv, "SHA256");
    assert_int_equal(verify(tok, &claims), JWT_E_KID_UNKNOWN);
    /* ES256 naming an RSA key */
    tok = make_token("{\"alg\":\"ES256\",\"kid\":\"rsa-any\"}", GOOD_CLAIMS, p256_priv, "SHA256");
    assert_int_equal(verify(tok, &claims), JWT_E_KEY_MISMATCH);
    /* RS384 naming the key whose JWK says alg RS256 */
    tok = make_token("{\"alg\":\"RS384\",\"kid\":\"rsa1\"}", GOOD_CLAIMS, rsa_priv, "SHA384");
    assert_int_equal(verify(tok, &claims), JWT_E_KEY_MISMATCH);
    /* ES384 naming the P-256 key */
    tok = make_token("{\"alg\":\"ES384\",\"kid\":\"ec256\"}", GOOD_CLAIMS, p384_priv, "SHA384");
    assert_int_equal(verify(tok, &claims), JWT_E_KEY_MISMATCH);
}

static void test_enc_key_not_usable(void **state)
{
    (void)state;
    char jwk[1200], doc[1300];
    rsa_jwk(rsa_priv, "enc1", ",\"use\":\"enc\"", jwk, sizeof jwk);
    snprintf(doc, sizeof doc, "{\"keys\":[%s]}", jwk);
    load_jwks(doc);
    assert_int_equal(g_keys.n, 0);
    const char *tok = make_token("{\"alg\":\"RS256\",\"kid\":\"enc1\"}", GOOD_CLAIMS, rsa_priv, "SHA256");
    assert_int_equal(verify(tok, &claims), JWT_E_KID_UNKNOWN);
    standard_jwks();
}

static void test_bad_signature(void **state)
{
    (void)state;
    /* signed by another RSA key than the one the kid names */
    char *tok = make_token("{\"alg\":\"RS256\",\"kid\":\"rsa1\"}", GOOD_CLAIMS, rsa_other, "SHA256");
    assert_int_equal(verify(tok, &claims), JWT_E_SIGNATURE);
    /* a claim changed after signing */
    tok = make_token("{\"alg\":\"ES256\",\"kid\":\"ec256\"}", GOOD_CLAIMS, p256_priv, "SHA256");
    char forged[24000];
    char *d1 = strchr(tok, '.'), *d2 = strchr(d1 + 1, '.');
    char p[800];
    b64url_str("{\"iss\":\"" ISSUER "\",\"sub\":\"system:serviceaccount:ns:admin\","
               "\"aud\":\"sts.amazonaws.com\",\"exp\":1700003600}", p);
    snprintf(forged, sizeof forged, "%.*s.%s%s", (int)(d1 - tok), tok, p, d2);
    assert_int_equal(verify(forged, &claims), JWT_E_SIGNATURE);
    assert_string_equal(jwt_sts_code(JWT_E_SIGNATURE), "InvalidIdentityToken");
}

static void test_malformed_shapes(void **state)
{
    (void)state;
    const char *tok = make_token("{\"alg\":\"RS256\",\"kid\":\"rsa1\"}", GOOD_CLAIMS, rsa_priv, "SHA256");
    char t[24000];
    /* truncated: the signature cut short */
    snprintf(t, sizeof t, "%.*s", (int)strlen(tok) - 10, tok);
    assert_int_equal(verify(t, &claims), JWT_E_SIGNATURE);
    /* truncated before the second dot */
    snprintf(t, sizeof t, "%.*s", (int)(strchr(tok, '.') - tok + 5), tok);
    assert_int_equal(verify(t, &claims), JWT_E_MALFORMED);
    /* five parts (JWE) */
    snprintf(t, sizeof t, "%s.a.b", tok);
    assert_int_equal(verify(t, &claims), JWT_E_MALFORMED);
    /* standard base64 padding is not base64url */
    snprintf(t, sizeof t, "%s=", tok);
    assert_int_equal(verify(t, &claims), JWT_E_MALFORMED);
    assert_int_equal(verify("not a token", &claims), JWT_E_MALFORMED);
    /* oversized */
    static char big[JWT_MAX_TOKEN + 2];
    memset(big, 'A', sizeof big - 1);
    big[10] = '.';
    big[20] = '.';
    assert_int_equal(verify(big, &claims), JWT_E_TOOBIG);
    /* a header with "crit" */
    tok = make_token("{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"crit\":[\"exp\"]}", GOOD_CLAIMS, rsa_priv, "SHA256");
    assert_int_equal(verify(tok, &claims), JWT_E_MALFORMED);
    /* a header or claims set with more after the object, or a byte order
     * mark before it: not "a completely valid JSON object" (the eighth
     * probe: cJSON stopped at the first object and the token was taken) */
    static const char *const parts[][2] = {
        { "{\"alg\":\"RS256\",\"kid\":\"rsa1\"}{\"alg\":\"none\"}", GOOD_CLAIMS },
        { "{\"alg\":\"RS256\",\"kid\":\"rsa1\"} xx", GOOD_CLAIMS },
        { "{\"alg\":\"RS256\",\"kid\":\"rsa1\"}", GOOD_CLAIMS "{}" },
        { "{\"alg\":\"RS256\",\"kid\":\"rsa1\"}", "\xEF\xBB\xBF" GOOD_CLAIMS },
        { "\xEF\xBB\xBF{\"alg\":\"RS256\",\"kid\":\"rsa1\"}", GOOD_CLAIMS },
    };
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) {
        tok = make_token(parts[i][0], parts[i][1], rsa_priv, "SHA256");
        if (verify(tok, &claims) != JWT_E_MALFORMED)
            fail_msg("part %zu taken", i);
    }
    char iss[256];
    tok = make_token("{\"alg\":\"RS256\",\"kid\":\"rsa1\"}", GOOD_CLAIMS " x", rsa_priv, "SHA256");
    assert_int_equal(jwt_peek_issuer(s3w_slice_cstr(tok), iss, sizeof iss), JWT_E_MALFORMED);
    /* trailing white space is still JSON's */
    tok = make_token("{\"alg\":\"RS256\",\"kid\":\"rsa1\"}\r\n", GOOD_CLAIMS " \n", rsa_priv, "SHA256");
    assert_int_equal(verify(tok, &claims), JWT_OK);
    /* an escaped NUL inside the issuer */
    tok = make_token("{\"alg\":\"RS256\",\"kid\":\"rsa1\"}",
                     "{\"iss\":\"" ISSUER "\\u0000.evil\",\"sub\":\"x\",\"aud\":\"partner-app\","
                     "\"exp\":1700003600}", rsa_priv, "SHA256");
    assert_int_equal(verify(tok, &claims), JWT_E_MALFORMED);
}

static void test_duplicates_refused(void **state)
{
    (void)state;
    const char *tok = make_token("{\"alg\":\"RS256\",\"kid\":\"rsa1\"}",
                                 "{\"iss\":\"" ISSUER "\",\"sub\":\"system:serviceaccount:ns:app\","
                                 "\"sub\":\"system:serviceaccount:ns:admin\","
                                 "\"aud\":\"sts.amazonaws.com\",\"exp\":1700003600}",
                                 rsa_priv, "SHA256");
    assert_int_equal(verify(tok, &claims), JWT_E_DUPLICATE);
    tok = make_token("{\"alg\":\"RS256\",\"alg\":\"none\",\"kid\":\"rsa1\"}", GOOD_CLAIMS, rsa_priv, "SHA256");
    assert_int_equal(verify(tok, &claims), JWT_E_DUPLICATE);
}

/* ---- refused: claims ----------------------------------------------------------- */

static void check_claims_err(const char *claims_json, int want)
{
    const char *tok = make_token("{\"alg\":\"RS256\",\"kid\":\"rsa1\"}", claims_json, rsa_priv, "SHA256");
    assert_int_equal(verify(tok, &claims), want);
}

static void test_claims_refused(void **state)
{
    (void)state;
    check_claims_err("{\"iss\":\"https://issuer.example.test/realms/other\",\"sub\":\"x\","
                     "\"aud\":\"sts.amazonaws.com\",\"exp\":1700003600}", JWT_E_ISSUER);
    check_claims_err("{\"iss\":\"" ISSUER "/\",\"sub\":\"x\",\"aud\":\"sts.amazonaws.com\","
                     "\"exp\":1700003600}", JWT_E_ISSUER);
    check_claims_err("{\"iss\":\"" ISSUER "\",\"sub\":\"x\",\"aud\":\"someone-else\","
                     "\"exp\":1700003600}", JWT_E_AUDIENCE);
    check_claims_err("{\"iss\":\"" ISSUER "\",\"sub\":\"x\",\"aud\":[\"a\",\"b\"],"
                     "\"azp\":\"partner-app\",\"exp\":1700003600}", JWT_E_AUDIENCE);
    assert_string_equal(jwt_strerror(JWT_E_AUDIENCE), "Incorrect token audience");
    /* expired: exp + leeway (60 s) <= now */
    check_claims_err("{\"iss\":\"" ISSUER "\",\"sub\":\"x\",\"aud\":\"partner-app\","
                     "\"exp\":1699999940}", JWT_E_EXPIRED);
    check_claims_err("{\"iss\":\"" ISSUER "\",\"sub\":\"x\",\"aud\":\"partner-app\","
                     "\"exp\":1699999941}", JWT_OK);
    assert_string_equal(jwt_sts_code(JWT_E_EXPIRED), "ExpiredTokenException");
    /* not yet valid */
    check_claims_err("{\"iss\":\"" ISSUER "\",\"sub\":\"x\",\"aud\":\"partner-app\","
                     "\"exp\":1700003600,\"nbf\":1700000061}", JWT_E_NOT_YET_VALID);
    check_claims_err("{\"iss\":\"" ISSUER "\",\"sub\":\"x\",\"aud\":\"partner-app\","
                     "\"exp\":1700003600,\"iat\":1700000100}", JWT_E_NOT_YET_VALID);
    check_claims_err("{\"iss\":\"" ISSUER "\",\"sub\":\"x\",\"aud\":\"partner-app\","
                     "\"exp\":1700003600,\"nbf\":1700000060}", JWT_OK);
    /* required claims and types */
    check_claims_err("{\"iss\":\"" ISSUER "\",\"sub\":\"x\",\"aud\":\"partner-app\"}", JWT_E_CLAIM);
    check_claims_err("{\"iss\":\"" ISSUER "\",\"sub\":\"x\",\"aud\":\"partner-app\","
                     "\"exp\":\"1700003600\"}", JWT_E_CLAIM);
    check_claims_err("{\"iss\":\"" ISSUER "\",\"aud\":\"partner-app\",\"exp\":1700003600}",
                     JWT_E_CLAIM);
    check_claims_err("{\"iss\":\"" ISSUER "\",\"sub\":\"x\",\"aud\":7,\"exp\":1700003600}",
                     JWT_E_CLAIM);
}

static void test_claim_too_long(void **state)
{
    (void)state;
    static char c[4000];
    char sub[JWT_MAX_CLAIM + 2];
    memset(sub, 's', sizeof sub - 1);
    sub[sizeof sub - 1] = '\0';
    snprintf(c, sizeof c, "{\"iss\":\"" ISSUER "\",\"sub\":\"%s\",\"aud\":\"partner-app\","
             "\"exp\":1700003600}", sub);
    check_claims_err(c, JWT_E_TOOBIG);
}

/* ---- JWKS errors ----------------------------------------------------------------- */

static int parse(const char *json, enum jwks_mode mode, struct jwks *k, char *err)
{
    return jwks_parse(s3w_slice_cstr(json), mode, k, err, 256);
}

static void test_jwks_errors(void **state)
{
    (void)state;
    struct jwks k;
    char err[256];
    assert_int_equal(parse("{\"keys\":", JWKS_STRICT, &k, err), JWT_E_MALFORMED);
    assert_string_equal(err, "the JWKS is not valid JSON");
    assert_int_equal(parse("{\"key\":[]}", JWKS_STRICT, &k, err), JWT_E_MALFORMED);
    assert_string_equal(err, "a JWKS needs a \"keys\" array");
    assert_int_equal(parse("{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}", JWKS_STRICT, &k,
                           err), JWT_E_MALFORMED);
    assert_string_equal(err, "keys[0]: RSA key without valid \"n\" and \"e\" (or under 2048 bits)");
    /* a point not on the curve */
    assert_int_equal(parse("{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\","
                           "\"x\":\"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
                           "\"y\":\"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}]}", JWKS_STRICT, &k, err),
                     JWT_E_MALFORMED);
    assert_string_equal(err, "keys[0]: EC key without a valid point \"x\", \"y\" on its curve");
    /* keys of other kinds are skipped, not errors */
    assert_int_equal(parse("{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"},"
                           "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AA\"},"
                           "{\"kty\":\"RSA\",\"alg\":\"RSA-OAEP\",\"n\":\"AA\",\"e\":\"AQAB\"}]}",
                           JWKS_STRICT, &k, err), JWT_OK);
    assert_int_equal(k.n, 0);
    jwks_cleanup(&k);
}

/* A fetched set skips a signing key it cannot use and keeps the others,
 * naming the first it skipped (the eighth probe: one RSA key under 2048
 * bits failed every refresh, so a key the issuer had removed stayed
 * trusted for a day and a new one stayed unknown). A config file's set is
 * still refused whole, with the precise reason (test_jwks_errors). */
static void test_jwks_fetched_skips_unusable_keys(void **state)
{
    (void)state;
    char good[1200], doc[4000], err[256];
    rsa_jwk(rsa_priv, "rsa1", "", good, sizeof good);
    snprintf(doc, sizeof doc,
             "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"weak\",\"n\":\"AQAB\",\"e\":\"AQAB\"},%s,"
             "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"%0*d\",\"x\":\"AA\",\"y\":\"AA\"}]}",
             good, JWT_MAX_KID + 1, 0);
    struct jwks k;
    assert_int_equal(parse(doc, JWKS_STRICT, &k, err), JWT_E_MALFORMED);
    assert_int_equal(parse(doc, JWKS_SKIP_UNUSABLE, &k, err), JWT_OK);
    assert_string_equal(err, "keys[0]: RSA key without valid \"n\" and \"e\" (or under 2048 bits): skipped");
    assert_int_equal(k.n, 1);
    /* the kept key verifies its tokens; the skipped ones are unknown */
    struct jwks saved = g_keys;
    g_keys = k;
    const char *tok = make_token("{\"alg\":\"RS256\",\"kid\":\"rsa1\"}", GOOD_CLAIMS, rsa_priv, "SHA256");
    assert_int_equal(verify(tok, &claims), JWT_OK);
    tok = make_token("{\"alg\":\"RS256\",\"kid\":\"weak\"}", GOOD_CLAIMS, rsa_priv, "SHA256");
    assert_int_equal(verify(tok, &claims), JWT_E_KID_UNKNOWN);
    g_keys = saved;
    jwks_cleanup(&k);
    /* nothing usable at all: an empty set, and the reason */
    assert_int_equal(parse("{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}",
                           JWKS_SKIP_UNUSABLE, &k, err), JWT_OK);
    assert_int_equal(k.n, 0);
    assert_true(strstr(err, ": skipped") != NULL);
    jwks_cleanup(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_alg_verifies),
        cmocka_unit_test(test_audience_array_azp_amr_tags),
        cmocka_unit_test(test_single_key_serves_token_without_kid),
        cmocka_unit_test(test_alg_none_and_hmac_refused),
        cmocka_unit_test(test_unknown_kid_and_wrong_key_type),
        cmocka_unit_test(test_enc_key_not_usable),
        cmocka_unit_test(test_bad_signature),
        cmocka_unit_test(test_malformed_shapes),
        cmocka_unit_test(test_duplicates_refused),
        cmocka_unit_test(test_claims_refused),
        cmocka_unit_test(test_claim_too_long),
        cmocka_unit_test(test_jwks_errors),
        cmocka_unit_test(test_jwks_fetched_skips_unusable_keys),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
