/*
 * test_verify.c - sigv4_verify() failure paths, each with its exact S3 code,
 * HTTP status and message; session tokens through the lookup callback; the
 * signing-key cache; wiping. Requests are produced by our signer (itself
 * checked byte for byte against the S3 documentation in test_s3_examples)
 * and then tampered with.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <cmocka.h>

#include "test_sigv4core_util.h"

#define SL(s) s3w_slice_cstr(s)
#define NOW 1700000000   /* 2023-11-14T22:13:20Z */

static const struct tkey keys[] = {
    { "AKIAGOOD", "secret-good/+=", NULL, SIGV4_LOOKUP_OK },
    { "AKIAWRONG", "not-the-secret-used", NULL, SIGV4_LOOKUP_OK },
    { "ASIATEMP", "temp-secret", "session-token-1", SIGV4_LOOKUP_OK },
    { "ASIAEXP", "x", NULL, SIGV4_LOOKUP_EXPIRED_TOKEN },
    { "AKIAERR", "x", NULL, SIGV4_LOOKUP_ERROR },
};
static const struct s3w_slice us_east_1[] = { S3W_SLICE_LIT("us-east-1") };
static const struct s3w_slice eu_west_1[] = { S3W_SLICE_LIT("eu-west-1") };

/* A signed request we can tamper with. */
struct sreq {
    struct sigv4_signed sg;
    char target[512];
    struct s3w_header h[24];
    size_t nh;
    struct sigv4_request req;
};

static struct sigv4_verify_opts opts(struct tlookup *lk)
{
    return tverify_opts(lk, "s3", SIGV4_URI_S3);
}

/* Signs PUT target with host, x-amz-meta-a, content-type (+ extra). */
static void make(struct sreq *r, const char *akid, const char *secret,
                 const char *token, const char *target, const char *payload,
                 int64_t when)
{
    memset(r, 0, sizeof *r);
    snprintf(r->target, sizeof r->target, "%s", target);
    r->h[0] = (struct s3w_header){ SL("Host"), SL("bucket.s3.amazonaws.com") };
    r->h[1] = (struct s3w_header){ SL("x-amz-meta-a"), SL("one") };
    r->h[2] = (struct s3w_header){ SL("Content-Type"), SL("text/plain") };
    struct sigv4_sign_params p = { 0 };
    p.method = SL("PUT");
    p.target = SL(r->target);
    p.headers = r->h;
    p.n_headers = 3;
    p.region = SL("us-east-1");
    p.service = SL("s3");
    p.uri_mode = SIGV4_URI_S3;
    p.now = when;
    p.payload = SL(payload);
    struct sigv4_credentials c = { SL(akid), SL(secret), token ? SL(token) : S3W_SLICE_NULL };
    struct sigv4_error err;
    assert_int_equal(sigv4_sign_headers(&p, &c, &r->sg, &err), 0);
    r->nh = 3;
    r->h[r->nh++] = (struct s3w_header){ SL("X-Amz-Date"), SL(r->sg.amz_date) };
    r->h[r->nh++] = (struct s3w_header){ SL("X-Amz-Content-SHA256"),
        s3w_slice(r->sg.content_sha256, r->sg.content_sha256_len) };
    if (r->sg.security_token.len)
        r->h[r->nh++] = (struct s3w_header){ SL("X-Amz-Security-Token"), r->sg.security_token };
    r->h[r->nh++] = (struct s3w_header){ SL("Authorization"),
        s3w_slice(r->sg.authorization, r->sg.authorization_len) };
    r->req = (struct sigv4_request){ SL("PUT"), SL(r->target), r->h, r->nh };
}

static struct sigv4_result *RES;
static struct sigv4_error E;

static void expect(const struct sigv4_request *rq, int64_t now,
                   const struct sigv4_verify_opts *o, enum sigv4_errcode code,
                   const char *s3, int status, const char *msg)
{
    int rc = sigv4_verify(rq, now, o, RES, &E);
    if (rc != -1 || E.code != code) {
        print_error("want %s, got rc %d %s: %s\n", s3, rc, rc ? E.s3_code : "OK",
                    rc ? E.message : "");
        fail();
    }
    assert_string_equal(E.s3_code, s3);
    assert_int_equal(E.http_status, status);
    if (msg)
        assert_string_equal(E.message, msg);
    /* on failure the result holds nothing, in particular no key */
    for (size_t i = 0; i < 32; i++)
        assert_int_equal(RES->signing_key[i], 0);
}

#define MISMATCH "The request signature we calculated does not match the signature you provided. Check your key and signing method."
#define HASH_A "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
#define HASH_B "486ea46224d1bb4fb680f34f7c9ad96a8f24ec88be73ea8e5a6c65260e9cb8a7"

static void test_ok_and_result(void **s)
{
    (void)s;
    struct sreq *r = calloc(1, sizeof *r);
    make(r, "AKIAGOOD", "secret-good/+=", NULL, "/bucket/key?acl", HASH_A, NOW);
    struct tlookup lk = { keys, 5, 0, "" };
    struct sigv4_verify_opts o = opts(&lk);
    assert_int_equal(sigv4_verify(&r->req, NOW + 10, &o, RES, &E), 0);
    assert_true(s3w_slice_eq_cstr(RES->access_key_id, "AKIAGOOD"));
    assert_true(s3w_slice_eq_cstr(RES->signed_headers,
        "content-type;host;x-amz-content-sha256;x-amz-date;x-amz-meta-a"));
    assert_true(sigv4_result_signed(RES, SL("x-amz-meta-a")));
    assert_false(sigv4_result_signed(RES, SL("x-amz-meta")));
    assert_int_equal(RES->payload_mode, SIGV4_PAYLOAD_SIGNED);
    assert_true(RES->has_payload_sha256);
    assert_int_equal(RES->request_time, NOW);
    assert_int_equal(RES->age_s, 10);
    assert_string_equal(RES->seed_signature_hex, r->sg.seed_signature_hex);
    assert_memory_equal(RES->signing_key, r->sg.signing_key, 32);
    assert_string_equal(RES->scope, "20231114/us-east-1/s3/aws4_request");
    assert_int_equal(RES->session_token.len, 0);
    /* the signing key is the one secret of a result: wiped; the rest is
     * what the caller sent in the clear */
    sigv4_result_cleanup(RES);
    for (size_t i = 0; i < sizeof RES->signing_key; i++)
        assert_int_equal(RES->signing_key[i], 0);
    /* "any region" accepts a scope for another region */
    o.n_regions = 0;
    assert_int_equal(sigv4_verify(&r->req, NOW, &o, RES, &E), 0);
    /* a per-worker scratch buffer: kept allocated, reset between calls, so
     * a failed call cannot leak into the next */
    struct s3w_buf scratch;
    s3w_buf_init(&scratch, SIGV4_MAX_CANONICAL);
    o.scratch = &scratch;
    assert_int_equal(sigv4_verify(&r->req, NOW, &o, RES, &E), 0);
    char *kept = scratch.ptr;
    assert_non_null(kept);
    assert_int_equal(scratch.len, 0);
    r->h[1].value = SL("tampered");
    assert_int_equal(sigv4_verify(&r->req, NOW, &o, RES, &E), -1);
    assert_int_equal(E.code, SIGV4_ERR_SIGNATURE_MISMATCH);
    r->h[1].value = SL("one");
    assert_int_equal(sigv4_verify(&r->req, NOW, &o, RES, &E), 0);
    assert_ptr_equal(scratch.ptr, kept);
    /* a scratch buffer with a small cap is a cap, not an overflow */
    struct s3w_buf tiny;
    s3w_buf_init(&tiny, 32);
    o.scratch = &tiny;
    assert_int_equal(sigv4_verify(&r->req, NOW, &o, RES, &E), -1);
    assert_int_equal(E.code, SIGV4_ERR_INVALID_REQUEST);
    assert_string_equal(E.message, "The request is too large to authenticate.");
    s3w_buf_cleanup(&tiny);
    s3w_buf_cleanup(&scratch);
    free(r);
}

/* opts.parsed_auth: the caller's own parse of the Authorization header is
 * taken instead of a second parse - shown by a parse whose signature was
 * changed, which then fails although the header itself is right. */
static void test_parsed_auth_taken(void **s)
{
    (void)s;
    struct sreq *r = calloc(1, sizeof *r);
    make(r, "AKIAGOOD", "secret-good/+=", NULL, "/bucket/key?acl", HASH_A, NOW);
    struct tlookup lk = { keys, 5, 0, "" };
    struct sigv4_verify_opts o = opts(&lk);
    struct sigv4_auth *a = calloc(1, sizeof *a);
    struct sigv4_error pe;
    struct s3w_slice hv = s3w_slice(r->sg.authorization, r->sg.authorization_len);
    assert_int_equal(sigv4_parse_authorization(hv, a, &pe), 0);
    o.parsed_auth = a;
    assert_int_equal(sigv4_verify(&r->req, NOW + 10, &o, RES, &E), 0);
    assert_true(s3w_slice_eq_cstr(RES->access_key_id, "AKIAGOOD"));
    sigv4_result_cleanup(RES);

    char forged[2048];
    snprintf(forged, sizeof forged, "%.*s", (int)hv.len, hv.ptr);
    char *sig = strstr(forged, "Signature=") + 10;
    sig[0] = sig[0] == '0' ? '1' : '0';
    assert_int_equal(sigv4_parse_authorization(s3w_slice_cstr(forged), a, &pe), 0);
    expect(&r->req, NOW + 10, &o, SIGV4_ERR_SIGNATURE_MISMATCH, "SignatureDoesNotMatch", 403,
           MISMATCH);
    free(a);
    free(r);
}

/* opts.mismatch: a signature that does not match leaves what S3's
 * SignatureDoesNotMatch shows - the key id and signature given, and the
 * string to sign and canonical request of what arrived (here a signed
 * header changed on the way, which the canonical request shows) - and
 * nothing for any other outcome. */
static void test_mismatch_shows_what_was_checked(void **s)
{
    (void)s;
    struct tlookup lk = { keys, 5, 0, "" };
    struct sigv4_verify_opts o = opts(&lk);
    struct sreq *r = calloc(1, sizeof *r);
    struct s3w_buf mm, want;
    s3w_buf_init(&mm, 65536);
    s3w_buf_init(&want, 65536);
    o.mismatch = &mm;

    make(r, "AKIAGOOD", "secret-good/+=", NULL, "/bucket/key", HASH_A, NOW);
    assert_int_equal(sigv4_verify(&r->req, NOW, &o, RES, &E), 0);
    assert_int_equal(mm.len, 0);
    r->h[1].value = SL("two");
    expect(&r->req, NOW, &o, SIGV4_ERR_SIGNATURE_MISMATCH, "SignatureDoesNotMatch", 403, MISMATCH);
    const char *auth = r->sg.authorization;
    const char *sh = strstr(auth, "SignedHeaders=") + 14, *sig = strstr(auth, "Signature=") + 10;
    struct s3w_slice signed_headers = s3w_slice(sh, (size_t)(strchr(sh, ',') - sh));
    assert_int_equal(sigv4_canonical_request(&r->req, SIGV4_URI_S3, signed_headers, SL(HASH_A), false,
                                             &want), 0);
    assert_non_null(strstr(want.ptr, "\nx-amz-meta-a:two\n"));
    uint8_t h[32];
    char hx[65], sts[512];
    sigv4_sha256(want.ptr, want.len, h);
    s3w_hex_encode(h, 32, hx);
    snprintf(sts, sizeof sts, "AWS4-HMAC-SHA256\n%s\n%.8s/us-east-1/s3/aws4_request\n%s", r->sg.amz_date,
             r->sg.amz_date, hx);

    assert_int_equal(E.mismatch.access_key_id, 8);
    assert_int_equal(E.mismatch.signature, 64);
    assert_int_equal(E.mismatch.string_to_sign, strlen(sts));
    assert_int_equal(E.mismatch.canonical_request, want.len);
    assert_int_equal(mm.len, 8 + 64 + strlen(sts) + want.len);
    assert_memory_equal(mm.ptr, "AKIAGOOD", 8);
    assert_memory_equal(mm.ptr + 8, sig, 64);
    assert_memory_equal(mm.ptr + 72, sts, strlen(sts));
    assert_memory_equal(mm.ptr + 72 + strlen(sts), want.ptr, want.len);

    /* another error keeps nothing: an unknown key, an unsigned header */
    s3w_buf_reset(&mm);
    make(r, "AKIANOBODY", "s", NULL, "/bucket/key", HASH_A, NOW);
    expect(&r->req, NOW, &o, SIGV4_ERR_INVALID_ACCESS_KEY_ID, "InvalidAccessKeyId", 403, NULL);
    assert_int_equal(E.mismatch.string_to_sign, 0);
    assert_int_equal(mm.len, 0);
    /* nor does a mismatch where no buffer was given */
    o.mismatch = NULL;
    make(r, "AKIAWRONG", "secret-good/+=", NULL, "/bucket/key", HASH_A, NOW);
    expect(&r->req, NOW, &o, SIGV4_ERR_SIGNATURE_MISMATCH, "SignatureDoesNotMatch", 403, MISMATCH);
    assert_int_equal(E.mismatch.string_to_sign, 0);
    assert_int_equal(E.mismatch.canonical_request, 0);
    s3w_buf_cleanup(&mm);
    s3w_buf_cleanup(&want);
    free(r);
}

static void test_signature_failures(void **s)
{
    (void)s;
    struct tlookup lk = { keys, 5, 0, "" };
    struct sigv4_verify_opts o = opts(&lk);
    struct sreq *r = calloc(1, sizeof *r);

    /* wrong secret: AKIAWRONG's secret is not the one used to sign */
    make(r, "AKIAWRONG", "secret-good/+=", NULL, "/bucket/key", HASH_A, NOW);
    expect(&r->req, NOW, &o, SIGV4_ERR_SIGNATURE_MISMATCH, "SignatureDoesNotMatch", 403, MISMATCH);

    /* unknown access key: S3 names it (<AWSAccessKeyId>) */
    make(r, "AKIANOBODY", "s", NULL, "/bucket/key", HASH_A, NOW);
    expect(&r->req, NOW, &o, SIGV4_ERR_INVALID_ACCESS_KEY_ID, "InvalidAccessKeyId", 403,
           "The AWS Access Key Id you provided does not exist in our records.");
    assert_string_equal(E.access_key_id, "AKIANOBODY");

    /* tampered signed header */
    make(r, "AKIAGOOD", "secret-good/+=", NULL, "/bucket/key", HASH_A, NOW);
    r->h[1].value = SL("two");
    expect(&r->req, NOW, &o, SIGV4_ERR_SIGNATURE_MISMATCH, "SignatureDoesNotMatch", 403, MISMATCH);
    r->h[1].value = SL("one");
    assert_int_equal(sigv4_verify(&r->req, NOW, &o, RES, &E), 0);
    /* whitespace a proxy may legally change is not a tamper */
    r->h[1].value = SL("  one ");
    assert_int_equal(sigv4_verify(&r->req, NOW, &o, RES, &E), 0);
    r->h[1].value = SL("one");

    /* tampered path, query, method */
    r->req.target = SL("/bucket/kez");
    expect(&r->req, NOW, &o, SIGV4_ERR_SIGNATURE_MISMATCH, "SignatureDoesNotMatch", 403, MISMATCH);
    r->req.target = SL("/bucket/key?acl");
    expect(&r->req, NOW, &o, SIGV4_ERR_SIGNATURE_MISMATCH, "SignatureDoesNotMatch", 403, MISMATCH);
    r->req.target = SL("/bucket/key");
    r->req.method = SL("POST");
    expect(&r->req, NOW, &o, SIGV4_ERR_SIGNATURE_MISMATCH, "SignatureDoesNotMatch", 403, MISMATCH);
    r->req.method = SL("PUT");

    /* tampered body hash (another valid hash) */
    r->h[4].value = SL(HASH_B);
    expect(&r->req, NOW, &o, SIGV4_ERR_SIGNATURE_MISMATCH, "SignatureDoesNotMatch", 403, MISMATCH);
    r->h[4].value = SL(HASH_A);

    /* signature too short / not hex */
    char az[600];
    snprintf(az, sizeof az, "%.*s", (int)r->sg.authorization_len - 1, r->sg.authorization);
    r->h[r->nh - 1].value = SL(az);
    expect(&r->req, NOW, &o, SIGV4_ERR_SIGNATURE_MISMATCH, "SignatureDoesNotMatch", 403, MISMATCH);
    snprintf(az, sizeof az, "%.*sg", (int)r->sg.authorization_len - 1, r->sg.authorization);
    expect(&r->req, NOW, &o, SIGV4_ERR_SIGNATURE_MISMATCH, "SignatureDoesNotMatch", 403, MISMATCH);
    free(r);
}

static void test_scope_and_time(void **s)
{
    (void)s;
    struct tlookup lk = { keys, 5, 0, "" };
    struct sigv4_verify_opts o = opts(&lk);
    struct sreq *r = calloc(1, sizeof *r);
    make(r, "AKIAGOOD", "secret-good/+=", NULL, "/bucket/key", HASH_A, NOW);

    /* skew: 15 minutes is fine, 15 minutes and a second is not */
    assert_int_equal(sigv4_verify(&r->req, NOW + 900, &o, RES, &E), 0);
    assert_int_equal(sigv4_verify(&r->req, NOW - 900, &o, RES, &E), 0);
    expect(&r->req, NOW + 901, &o, SIGV4_ERR_TIME_SKEWED, "RequestTimeTooSkewed", 403,
           "The difference between the request time and the current time is too large.");
    /* what S3 shows: the request's time as given, its clock, the window */
    assert_string_equal(E.skew.request_time, r->sg.amz_date);
    assert_int_equal(E.skew.server_time, NOW + 901);
    assert_int_equal(E.skew.max_skew_s, 900);
    expect(&r->req, NOW - 901, &o, SIGV4_ERR_TIME_SKEWED, "RequestTimeTooSkewed", 403, NULL);
    assert_int_equal(E.skew.server_time, NOW - 901);
    o.max_skew_s = 60;
    expect(&r->req, NOW + 61, &o, SIGV4_ERR_TIME_SKEWED, "RequestTimeTooSkewed", 403, NULL);
    assert_int_equal(E.skew.max_skew_s, 60);
    o.max_skew_s = 0;
    /* any other error shows no times */
    o.regions = eu_west_1;
    expect(&r->req, NOW, &o, SIGV4_ERR_HEADER_MALFORMED, "AuthorizationHeaderMalformed", 400, NULL);
    assert_string_equal(E.skew.request_time, "");
    o.regions = us_east_1;

    /* region / service */
    o.regions = eu_west_1;
    expect(&r->req, NOW, &o, SIGV4_ERR_HEADER_MALFORMED, "AuthorizationHeaderMalformed", 400,
           "The authorization header is malformed; the region 'us-east-1' is wrong; expecting 'eu-west-1'");
    assert_string_equal(E.region, "eu-west-1"); /* S3's <Region>, which SDKs sign again for */
    o.regions = us_east_1;
    o.service = SL("sts");
    expect(&r->req, NOW, &o, SIGV4_ERR_HEADER_MALFORMED, "AuthorizationHeaderMalformed", 400,
           "The authorization header is malformed; incorrect service \"s3\". This endpoint belongs to \"sts\".");
    assert_string_equal(E.region, "");
    o.service = SL("s3");

    /* credential date not the day of X-Amz-Date */
    char az[600];
    const char *a = r->sg.authorization;
    const char *d = strstr(a, "/20231114/");
    snprintf(az, sizeof az, "%.*s/20231115/%s", (int)(d - a), a, d + 10);
    r->h[r->nh - 1].value = SL(az);
    expect(&r->req, NOW, &o, SIGV4_ERR_HEADER_MALFORMED, "AuthorizationHeaderMalformed", 400,
           "The authorization header is malformed; Invalid credential date. Date is not the same as X-Amz-Date.");
    r->h[r->nh - 1].value = s3w_slice(r->sg.authorization, r->sg.authorization_len);

    /* bad / missing X-Amz-Date */
    r->h[3].value = SL("2023-11-14T22:13:20Z");
    expect(&r->req, NOW, &o, SIGV4_ERR_ACCESS_DENIED, "AccessDenied", 403,
           "AWS authentication requires a valid Date or x-amz-date header");
    r->h[3].name = SL("X-Amz-Datex");   /* and now no date at all */
    r->h[3].value = SL(r->sg.amz_date);
    expect(&r->req, NOW, &o, SIGV4_ERR_ACCESS_DENIED, "AccessDenied", 403,
           "AWS authentication requires a valid Date or x-amz-date header");
    free(r);
}

static void test_header_rules(void **s)
{
    (void)s;
    struct tlookup lk = { keys, 5, 0, "" };
    struct sigv4_verify_opts o = opts(&lk);
    struct sreq *r = calloc(1, sizeof *r);
    const char *unsigned_msg = "There were headers present in the request which were not signed";

    /* an x-amz-* header that is not signed */
    make(r, "AKIAGOOD", "secret-good/+=", NULL, "/bucket/key", HASH_A, NOW);
    r->h[r->nh] = r->h[r->nh - 1];
    r->h[r->nh - 1] = (struct s3w_header){ SL("X-Amz-Meta-Unsigned"), SL("v") };
    r->req.n_headers = ++r->nh;
    expect(&r->req, NOW, &o, SIGV4_ERR_UNSIGNED_HEADERS, "AccessDenied", 403, unsigned_msg);
    assert_string_equal(E.headers_not_signed, "x-amz-meta-unsigned");
    /* S3 names each unsigned one (<HeadersNotSigned>): in request order,
     * once, in lower case; a signed x-amz-* one is not named */
    size_t nh = r->nh;
    r->h[r->nh++] = (struct s3w_header){ SL("x-amz-acl"), SL("public-read") };
    r->h[r->nh++] = (struct s3w_header){ SL("x-amz-meta-UNSIGNED"), SL("w") };
    r->h[r->nh++] = (struct s3w_header){ SL("x-amz-meta-a"), SL("two") };
    r->req.n_headers = r->nh;
    expect(&r->req, NOW, &o, SIGV4_ERR_UNSIGNED_HEADERS, "AccessDenied", 403, unsigned_msg);
    assert_string_equal(E.headers_not_signed, "x-amz-meta-unsigned, x-amz-acl");
    /* names that do not fit are left out whole, never cut: 51-byte names,
     * of which four fit after those two (30 + 4 * 53 of 255 bytes) */
    char longn[8][52], want[256];
    int wl = snprintf(want, sizeof want, "%s", "x-amz-meta-unsigned, x-amz-acl");
    for (int i = 0; i < 8; i++) {
        snprintf(longn[i], sizeof longn[i], "x-amz-meta-%c%039d", 'a' + i, 0);
        r->h[r->nh++] = (struct s3w_header){ SL(longn[i]), SL("v") };
        if (i < 4)
            wl += snprintf(want + wl, sizeof want - (size_t)wl, ", %s", longn[i]);
    }
    r->req.n_headers = r->nh;
    expect(&r->req, NOW, &o, SIGV4_ERR_UNSIGNED_HEADERS, "AccessDenied", 403, unsigned_msg);
    assert_int_equal(strlen(want), 242);
    assert_string_equal(E.headers_not_signed, want);
    r->req.n_headers = r->nh = nh;
    /* an unsigned standard header is fine (S3 takes e.g. Content-MD5) */
    r->h[r->nh - 2] = (struct s3w_header){ SL("Content-MD5"), SL("xx") };
    assert_int_equal(sigv4_verify(&r->req, NOW, &o, RES, &E), 0);

    /* host not signed */
    struct s3w_header h2[8];
    h2[0] = (struct s3w_header){ SL("x-amz-meta-a"), SL("one") };
    struct sigv4_sign_params p = { 0 };
    p.method = SL("GET");
    p.target = SL("/bucket/key");
    p.headers = h2;
    p.n_headers = 1;
    p.region = SL("us-east-1");
    p.service = SL("s3");
    p.now = NOW;
    struct sigv4_credentials c = { SL("AKIAGOOD"), SL("secret-good/+="), S3W_SLICE_NULL };
    struct sigv4_signed *sg = calloc(1, sizeof *sg);
    assert_int_equal(sigv4_sign_headers(&p, &c, sg, &E), 0);
    h2[1] = (struct s3w_header){ SL("Host"), SL("bucket.s3.amazonaws.com") };
    h2[2] = (struct s3w_header){ SL("x-amz-date"), SL(sg->amz_date) };
    h2[3] = (struct s3w_header){ SL("x-amz-content-sha256"), SL("UNSIGNED-PAYLOAD") };
    h2[4] = (struct s3w_header){ SL("Authorization"), SL(sg->authorization) };
    struct sigv4_request rq = { SL("GET"), SL("/bucket/key"), h2, 5 };
    expect(&rq, NOW, &o, SIGV4_ERR_UNSIGNED_HEADERS, "AccessDenied", 403, unsigned_msg);
    assert_string_equal(E.headers_not_signed, "host");
    free(sg);

    /* payload modes */
    make(r, "AKIAGOOD", "secret-good/+=", NULL, "/bucket/key", "UNSIGNED-PAYLOAD", NOW);
    assert_int_equal(sigv4_verify(&r->req, NOW, &o, RES, &E), 0);
    assert_int_equal(RES->payload_mode, SIGV4_PAYLOAD_UNSIGNED);
    assert_false(RES->has_payload_sha256);
    uint8_t any[32] = { 0 };
    assert_int_equal(sigv4_check_payload_sha256(RES, any, &E), 0);  /* nothing to check */
    make(r, "AKIAGOOD", "secret-good/+=", NULL, "/bucket/key", "STREAMING-UNSIGNED-PAYLOAD-TRAILER", NOW);
    assert_int_equal(sigv4_verify(&r->req, NOW, &o, RES, &E), 0);
    assert_int_equal(RES->payload_mode, SIGV4_PAYLOAD_STREAMING_UNSIGNED_TRAILER);
    make(r, "AKIAGOOD", "secret-good/+=", NULL, "/bucket/key", "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD", NOW);
    expect(&r->req, NOW, &o, SIGV4_ERR_INVALID_REQUEST, "InvalidRequest", 400,
           "The payload mode STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD cannot be used with this signature.");
    make(r, "AKIAGOOD", "secret-good/+=", NULL, "/bucket/key", HASH_A, NOW);
    r->h[4].value = SL("SOMETHING-ELSE");
    expect(&r->req, NOW, &o, SIGV4_ERR_INVALID_REQUEST, "InvalidRequest", 400, NULL);
    r->h[4].name = SL("x-amz-content-sha257");
    /* now it is both unsigned and missing: the unsigned x-amz-* rule fires */
    expect(&r->req, NOW, &o, SIGV4_ERR_UNSIGNED_HEADERS, "AccessDenied", 403, unsigned_msg);
    assert_string_equal(E.headers_not_signed, "x-amz-content-sha257");
    r->h[4].name = SL("Content-Language");
    expect(&r->req, NOW, &o, SIGV4_ERR_INVALID_REQUEST, "InvalidRequest", 400,
           "Missing required header for this request: x-amz-content-sha256");

    /* two auth mechanisms at once */
    make(r, "AKIAGOOD", "secret-good/+=", NULL, "/bucket/key?X-Amz-Algorithm=AWS4-HMAC-SHA256", HASH_A, NOW);
    expect(&r->req, NOW, &o, SIGV4_ERR_INVALID_ARGUMENT, "InvalidArgument", 400,
           "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified");
    /* no auth at all */
    struct sigv4_request anon = { SL("GET"), SL("/bucket/key"), r->h, 1 };
    assert_int_equal(sigv4_verify(&anon, NOW, &o, RES, &E), -1);
    assert_int_equal(E.code, SIGV4_ERR_ANONYMOUS);
    /* a SigV2 presigned URL is refused, not taken as anonymous */
    anon.target = SL("/bucket/key?AWSAccessKeyId=AKIAGOOD&Expires=1700000900&Signature=abc%3D");
    expect(&anon, NOW, &o, SIGV4_ERR_INVALID_REQUEST, "InvalidRequest", 400,
           "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.");
    free(r);
}

static void test_tokens(void **s)
{
    (void)s;
    struct tlookup lk = { keys, 5, 0, "" };
    struct sigv4_verify_opts o = opts(&lk);
    struct sreq *r = calloc(1, sizeof *r);
    make(r, "ASIATEMP", "temp-secret", "session-token-1", "/bucket/key", HASH_A, NOW);
    assert_int_equal(sigv4_verify(&r->req, NOW, &o, RES, &E), 0);
    assert_true(s3w_slice_eq_cstr(RES->session_token, "session-token-1"));
    assert_true(sigv4_result_signed(RES, SL("x-amz-security-token")));
    /* a reused scratch buffer does not keep the signed token afterwards */
    struct s3w_buf scratch;
    s3w_buf_init(&scratch, SIGV4_MAX_CANONICAL);
    o.scratch = &scratch;
    assert_int_equal(sigv4_verify(&r->req, NOW, &o, RES, &E), 0);
    assert_non_null(scratch.ptr);
    assert_null(memmem(scratch.ptr, scratch.cap, "session-token-1", 15));
    o.scratch = NULL;
    s3w_buf_cleanup(&scratch);
    make(r, "ASIATEMP", "temp-secret", "session-token-2", "/bucket/key", HASH_A, NOW);
    expect(&r->req, NOW, &o, SIGV4_ERR_INVALID_TOKEN, "InvalidToken", 400,
           "The provided token is malformed or otherwise invalid.");
    make(r, "ASIATEMP", "temp-secret", NULL, "/bucket/key", HASH_A, NOW);
    expect(&r->req, NOW, &o, SIGV4_ERR_MISSING_SECURITY_HEADER, "MissingSecurityHeader", 400,
           "Your request was missing a required header");
    make(r, "ASIAEXP", "x", "t", "/bucket/key", HASH_A, NOW);
    expect(&r->req, NOW, &o, SIGV4_ERR_EXPIRED_TOKEN, "ExpiredToken", 400,
           "The provided token has expired.");
    make(r, "AKIAERR", "x", NULL, "/bucket/key", HASH_A, NOW);
    expect(&r->req, NOW, &o, SIGV4_ERR_INTERNAL, "InternalError", 500, NULL);
    free(r);
}

static void test_presigned(void **s)
{
    (void)s;
    struct tlookup lk = { keys, 5, 0, "" };
    struct sigv4_verify_opts o = opts(&lk);
    struct s3w_header hh[2] = { { SL("Host"), SL("bucket.s3.amazonaws.com") } };
    struct sigv4_sign_params p = { 0 };
    p.method = SL("GET");
    p.target = SL("/bucket/a%20b?versionId=3");
    p.headers = hh;
    p.n_headers = 1;
    p.region = SL("us-east-1");
    p.service = SL("s3");
    p.now = NOW;
    struct sigv4_credentials c = { SL("ASIATEMP"), SL("temp-secret"), SL("session-token-1") };
    struct s3w_buf url;
    s3w_buf_init(&url, 4096);
    assert_int_equal(sigv4_presign(&p, &c, 600, &url, &E), 0);
    assert_non_null(strstr(url.ptr, "versionId=3&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIATEMP%2F20231114%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20231114T221320Z&X-Amz-Expires=600&X-Amz-Security-Token=session-token-1&X-Amz-SignedHeaders=host&X-Amz-Signature="));
    struct sigv4_request rq = { SL("GET"), s3w_buf_slice(&url), hh, 1 };
    assert_int_equal(sigv4_verify(&rq, NOW + 600, &o, RES, &E), 0);
    assert_true(RES->presigned);
    assert_true(s3w_slice_eq_cstr(RES->session_token, "session-token-1"));
    expect(&rq, NOW + 601, &o, SIGV4_ERR_EXPIRED, "AccessDenied", 403, "Request has expired");
    /* what S3 shows of it: X-Amz-Expires as given, when it ran out, now */
    assert_int_equal(E.expired.expires_s, 600);
    assert_int_equal(E.expired.expires_at, NOW + 600);
    assert_int_equal(E.expired.server_time, NOW + 601);
    expect(&rq, NOW - 901, &o, SIGV4_ERR_ACCESS_DENIED, "AccessDenied", 403, "Request is not yet valid");
    /* a caller's cap on a presigned request's life (STS: 900 s) wins over a
     * longer X-Amz-Expires, and leaves a shorter one alone */
    o.max_presign_life_s = 300;
    assert_int_equal(sigv4_verify(&rq, NOW + 300, &o, RES, &E), 0);
    assert_int_equal(RES->expires_s, 300);
    expect(&rq, NOW + 301, &o, SIGV4_ERR_EXPIRED, "AccessDenied", 403, "Request has expired");
    assert_int_equal(E.expired.expires_s, 600); /* as given */
    assert_int_equal(E.expired.expires_at, NOW + 300);
    o.max_presign_life_s = 900;
    assert_int_equal(sigv4_verify(&rq, NOW + 600, &o, RES, &E), 0);
    expect(&rq, NOW + 601, &o, SIGV4_ERR_EXPIRED, "AccessDenied", 403, "Request has expired");
    o.max_presign_life_s = 0;
    /* an unsigned x-amz-* header on a presigned request */
    hh[1] = (struct s3w_header){ SL("x-amz-acl"), SL("public-read") };
    rq.n_headers = 2;
    expect(&rq, NOW, &o, SIGV4_ERR_UNSIGNED_HEADERS, "AccessDenied", 403, NULL);
    assert_string_equal(E.headers_not_signed, "x-amz-acl");
    rq.n_headers = 1;
    o.regions = eu_west_1;
    expect(&rq, NOW, &o, SIGV4_ERR_QUERY_PARAMS, "AuthorizationQueryParametersError", 400,
           "Error parsing the X-Amz-Credential parameter; the region 'us-east-1' is wrong; expecting 'eu-west-1'");
    assert_string_equal(E.region, "eu-west-1");
    o.regions = us_east_1;
    /* tampered query */
    char t[4096];
    snprintf(t, sizeof t, "%s", url.ptr);
    memcpy(strstr(t, "versionId=3"), "versionId=4", 11);
    rq.target = SL(t);
    expect(&rq, NOW, &o, SIGV4_ERR_SIGNATURE_MISMATCH, "SignatureDoesNotMatch", 403, MISMATCH);
    /* X-Amz-Expires out of range (checked before the signature) */
    snprintf(t, sizeof t, "%s", url.ptr);
    char *e = strstr(t, "X-Amz-Expires=600");
    memmove(e + 20, e + 17, strlen(e + 17) + 1);
    memcpy(e, "X-Amz-Expires=604801", 20);
    expect(&rq, NOW, &o, SIGV4_ERR_QUERY_PARAMS, "AuthorizationQueryParametersError", 400,
           "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds");
    snprintf(t, sizeof t, "%s", url.ptr);
    memcpy(strstr(t, "X-Amz-Expires=600"), "X-Amz-Expires=000", 17);
    expect(&rq, NOW, &o, SIGV4_ERR_QUERY_PARAMS, "AuthorizationQueryParametersError", 400,
           "X-Amz-Expires must be greater than 0");
    assert_int_equal(sigv4_presign(&p, &c, 604801, &url, &E), -1);
    assert_int_equal(E.code, SIGV4_ERR_QUERY_PARAMS);
    s3w_buf_cleanup(&url);
}

static enum sigv4_lookup_status count_lookup(void *ud, struct s3w_slice akid,
                                             struct s3w_slice token, char *out,
                                             size_t *len)
{
    return tlookup_fn(ud, akid, token, out, len);
}

static void test_keycache(void **s)
{
    (void)s;
    struct sigv4_keycache *kc = calloc(1, sizeof *kc);
    sigv4_keycache_init(kc);
    struct tlookup lk = { keys, 5, 0, "" };
    struct sigv4_verify_opts o = opts(&lk);
    o.lookup = count_lookup;
    o.cache = kc;
    struct sreq *r = calloc(1, sizeof *r);
    make(r, "AKIAGOOD", "secret-good/+=", NULL, "/bucket/key", HASH_A, NOW);
    assert_int_equal(sigv4_verify(&r->req, NOW, &o, RES, &E), 0);
    assert_int_equal(kc->misses, 1);
    assert_int_equal(kc->hits, 0);
    assert_int_equal(sigv4_verify(&r->req, NOW, &o, RES, &E), 0);
    assert_int_equal(kc->hits, 1);
    /* the cache keeps no copy of the secret it served, nor of any 4 bytes
     * of it (probe 18 F4: it used to keep the secret itself) */
    static const char good[] = "secret-good/+=";
    for (size_t i = 0; i + 4 <= sizeof good - 1; i++)
        assert_null(memmem(kc, sizeof *kc, good + i, 4));
    /* same key id, other secret (rotation): a miss, and the right answer */
    make(r, "AKIAWRONG", "secret-good/+=", NULL, "/bucket/key", HASH_A, NOW);
    expect(&r->req, NOW, &o, SIGV4_ERR_SIGNATURE_MISMATCH, "SignatureDoesNotMatch", 403, MISMATCH);
    assert_int_equal(kc->misses, 2);
    /* fill past capacity; every answer still right, the first one evicted */
    uint8_t k1[32], k2[32];
    char date[9];
    for (int i = 0; i < SIGV4_KEYCACHE_SLOTS + 8; i++) {
        snprintf(date, sizeof date, "2023%02d%02d", 1 + i / 28, 1 + i % 28);
        sigv4_keycache_get(kc, SL("sec"), SL(date), SL("us-east-1"), SL("s3"), k1);
        sigv4_signing_key(SL("sec"), SL(date), SL("us-east-1"), SL("s3"), k2);
        assert_memory_equal(k1, k2, 32);
    }
    uint64_t m = kc->misses;
    make(r, "AKIAGOOD", "secret-good/+=", NULL, "/bucket/key", HASH_A, NOW);
    assert_int_equal(sigv4_verify(&r->req, NOW, &o, RES, &E), 0);
    assert_int_equal(kc->misses, m + 1);
    /* two secrets for the same scope are two entries, each with its own key */
    uint8_t ka[32], kb[32];
    sigv4_keycache_get(kc, SL("secret-a"), SL("20240101"), SL("us-east-1"), SL("s3"), ka);
    sigv4_keycache_get(kc, SL("secret-b"), SL("20240101"), SL("us-east-1"), SL("s3"), kb);
    m = kc->misses;
    sigv4_keycache_get(kc, SL("secret-a"), SL("20240101"), SL("us-east-1"), SL("s3"), k1);
    sigv4_keycache_get(kc, SL("secret-b"), SL("20240101"), SL("us-east-1"), SL("s3"), k2);
    assert_int_equal(kc->misses, m);
    assert_memory_equal(k1, ka, 32);
    assert_memory_equal(k2, kb, 32);
    sigv4_signing_key(SL("secret-b"), SL("20240101"), SL("us-east-1"), SL("s3"), k1);
    assert_memory_equal(k1, kb, 32);
    assert_memory_not_equal(ka, kb, 32);
    /* the tag: one per secret, not the secret's bytes */
    uint8_t t1[32], t2[32];
    sigv4_secret_tag(SL("secret-a"), t1);
    sigv4_secret_tag(SL("secret-a"), t2);
    assert_memory_equal(t1, t2, 32);
    sigv4_secret_tag(SL("secret-b"), t2);
    assert_memory_not_equal(t1, t2, 32);
    /* after rotation, eviction and these: still no 4 bytes of any secret
     * it served anywhere in it */
    static const char *const served[] = { "secret-good/+=", "not-the-secret-used", "secret-a",
                                          "secret-b" };
    for (size_t k = 0; k < sizeof served / sizeof served[0]; k++)
        for (size_t i = 0; i + 4 <= strlen(served[k]); i++)
            assert_null(memmem(kc, sizeof *kc, served[k] + i, 4));
    sigv4_keycache_cleanup(kc);
    for (size_t i = 0; i < sizeof *kc; i++)
        assert_int_equal(((unsigned char *)kc)[i], 0);
    free(kc);
    free(r);
}

static void test_v4a_without_hook(void **s)
{
    (void)s;
    struct tlookup lk = { keys, 5, 0, "" };
    struct sigv4_verify_opts o = opts(&lk);
    struct s3w_header h[] = {
        { SL("Host"), SL("bucket.s3.amazonaws.com") },
        { SL("X-Amz-Date"), SL("20231114T221320Z") },
        { SL("X-Amz-Region-Set"), SL("us-east-1") },
        { SL("X-Amz-Content-SHA256"), SL("UNSIGNED-PAYLOAD") },
        { SL("Authorization"), SL("AWS4-ECDSA-P256-SHA256 Credential=AKIAGOOD/20231114/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-region-set, Signature=3045") },
    };
    struct sigv4_request rq = { SL("GET"), SL("/bucket/key"), h, 5 };
    expect(&rq, NOW, &o, SIGV4_ERR_INVALID_REQUEST, "InvalidRequest", 400,
           "AWS4-ECDSA-P256-SHA256 (SigV4a) is not supported by this endpoint.");
}

/* Header auth timed by the Date header (no x-amz-date): the string to sign
 * carries the same instant in ISO 8601 basic form. Built with the stage
 * functions, which test_suites checks against the AWS suites. */
static void test_date_header(void **s)
{
    (void)s;
    struct tlookup lk = { keys, 5, 0, "" };
    struct sigv4_verify_opts o = opts(&lk);
    struct s3w_header h[4] = {
        { SL("Host"), SL("bucket.s3.amazonaws.com") },
        { SL("Date"), SL("Tue, 14 Nov 2023 22:13:20 GMT") },
        { SL("x-amz-content-sha256"), SL("UNSIGNED-PAYLOAD") },
    };
    struct sigv4_request rq = { SL("GET"), SL("/bucket/key"), h, 3 };
    struct s3w_buf creq, sts;
    s3w_buf_init(&creq, 4096);
    s3w_buf_init(&sts, 1024);
    assert_int_equal(sigv4_canonical_request(&rq, SIGV4_URI_S3, SL("date;host;x-amz-content-sha256"),
                                             SL("UNSIGNED-PAYLOAD"), false, &creq), 0);
    assert_int_equal(sigv4_string_to_sign(SL("AWS4-HMAC-SHA256"), SL("20231114T221320Z"),
                                          SL("20231114/us-east-1/s3/aws4_request"),
                                          s3w_buf_slice(&creq), &sts), 0);
    uint8_t key[32], sig[32];
    char hex[65], authz[512];
    sigv4_signing_key(SL("secret-good/+="), SL("20231114"), SL("us-east-1"), SL("s3"), key);
    sigv4_signature(key, s3w_buf_slice(&sts), sig);
    s3w_hex_encode(sig, 32, hex);
    snprintf(authz, sizeof authz, "AWS4-HMAC-SHA256 Credential=AKIAGOOD/20231114/us-east-1/s3/aws4_request,"
             "SignedHeaders=date;host;x-amz-content-sha256,Signature=%s", hex);
    h[3] = (struct s3w_header){ SL("Authorization"), SL(authz) };
    rq.n_headers = 4;
    assert_int_equal(sigv4_verify(&rq, NOW + 1, &o, RES, &E), 0);
    assert_string_equal(RES->amz_date, "20231114T221320Z");
    assert_int_equal(RES->request_time, NOW);
    /* too far off: the time shown is the Date header as given (S3's
     * <RequestTime>Tue, 31 Jul 2018 07:40:44 GMT</RequestTime>) */
    expect(&rq, NOW + 901, &o, SIGV4_ERR_TIME_SKEWED, "RequestTimeTooSkewed", 403, NULL);
    assert_string_equal(E.skew.request_time, "Tue, 14 Nov 2023 22:13:20 GMT");
    h[1].value = SL("Tue, 14 Nov 2023 22:13:21 GMT");   /* one second later */
    expect(&rq, NOW, &o, SIGV4_ERR_SIGNATURE_MISMATCH, "SignatureDoesNotMatch", 403, MISMATCH);
    h[1].value = SL("2023-11-14T22:13:20Z");
    expect(&rq, NOW, &o, SIGV4_ERR_ACCESS_DENIED, "AccessDenied", 403,
           "AWS authentication requires a valid Date or x-amz-date header");
    s3w_buf_cleanup(&creq);
    s3w_buf_cleanup(&sts);
}

/* Other services (STS) authenticate the body: a declared payload hash must be
 * the body's, and UNSIGNED-PAYLOAD is refused (else the form could be
 * changed in flight under a valid signature). */
static void sts_post(struct sreq *r, const char *payload)
{
    memset(r, 0, sizeof *r);
    snprintf(r->target, sizeof r->target, "/");
    r->h[0] = (struct s3w_header){ SL("Host"), SL("127.0.0.1:8443") };
    r->h[1] = (struct s3w_header){ SL("Content-Type"),
                                     SL("application/x-www-form-urlencoded; charset=utf-8") };
    struct sigv4_sign_params p = { 0 };
    p.method = SL("POST");
    p.target = SL(r->target);
    p.headers = r->h;
    p.n_headers = 2;
    p.region = SL("us-east-1");
    p.service = SL("sts");
    p.uri_mode = SIGV4_URI_GENERIC;
    p.now = NOW;
    p.payload = SL(payload);
    struct sigv4_credentials c = { SL("AKIAGOOD"), SL("secret-good/+="), S3W_SLICE_NULL };
    struct sigv4_error err;
    assert_int_equal(sigv4_sign_headers(&p, &c, &r->sg, &err), 0);
    r->nh = 2;
    r->h[r->nh++] = (struct s3w_header){ SL("X-Amz-Date"), SL(r->sg.amz_date) };
    r->h[r->nh++] = (struct s3w_header){ SL("X-Amz-Content-SHA256"),
        s3w_slice(r->sg.content_sha256, r->sg.content_sha256_len) };
    r->h[r->nh++] = (struct s3w_header){ SL("Authorization"),
        s3w_slice(r->sg.authorization, r->sg.authorization_len) };
    r->req = (struct sigv4_request){ SL("POST"), SL(r->target), r->h, r->nh };
}

static void test_other_service_body_is_signed(void **s)
{
    (void)s;
    struct tlookup lk = { keys, 5, 0, "" };
    struct sigv4_verify_opts o = opts(&lk);
    o.service = SL("sts");
    o.uri_mode = SIGV4_URI_GENERIC;
    const char *body = "Action=GetCallerIdentity&Version=2011-06-15";
    uint8_t sha[32];
    char hex[65];
    sigv4_sha256(body, strlen(body), sha);
    s3w_hex_encode(sha, 32, hex);
    o.body_sha256 = sha;

    struct sreq r;
    sts_post(&r, hex); /* the body's own hash: accepted */
    assert_int_equal(sigv4_verify(&r.req, NOW, &o, RES, &E), 0);
    assert_int_equal(RES->payload_mode, SIGV4_PAYLOAD_SIGNED);
    sigv4_result_cleanup(RES);

    sts_post(&r, "UNSIGNED-PAYLOAD");
    expect(&r.req, NOW, &o, SIGV4_ERR_INVALID_REQUEST, "InvalidRequest", 400,
           "x-amz-content-sha256 must be the SHA-256 of the request body for this service.");

    sts_post(&r, HASH_A); /* validly signed, but not this body's hash */
    expect(&r.req, NOW, &o, SIGV4_ERR_CONTENT_SHA256_MISMATCH, "XAmzContentSHA256Mismatch",
           400, "The provided 'x-amz-content-sha256' header does not match what was computed.");
}

/* ---- forms S3 does not take ---------------------------------------------------
 * Requests a hand-rolled client could send, signed here stage by stage
 * (canonical request .. signature, as test_date_header does) so that the
 * SignedHeaders list and the payload hash go into the canonical request
 * exactly as written, and the signature's hex can be put in upper case.
 * Each verified before the verifier knew the form; each must now fail with
 * S3's code, and its canonical twin must still verify. Where S3's answer
 * is not on record we take the reading that denies (see each test). */

/* One GET /bucket/key at NOW for akid in us-east-1, signed with
 * AKIAGOOD's secret: header form (Host, x-amz-content-sha256, x-amz-date,
 * the extra headers, Authorization) or presigned (the same without
 * x-amz-date; the rest in the query). */
struct hreq {
    char target[1024], authz[512], sig[65];
    struct s3w_header h[8];
    struct sigv4_request req;
};

struct hsign {
    bool presigned, upper_sig;
    const char *akid;               /* NULL: AKIAGOOD */
    const char *signed_headers;     /* as written, in the order written */
    const char *payload;            /* x-amz-content-sha256, as written */
    const struct s3w_header *extra; /* up to 3 more headers */
    size_t n_extra;
};

static void upper_hex(char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] >= 'a' && p[i] <= 'f')
            p[i] = (char)(p[i] - 'a' + 'A');
}

static void hand_sign(struct hreq *r, const struct hsign *hs)
{
    const char *akid = hs->akid ? hs->akid : "AKIAGOOD";
    memset(r, 0, sizeof *r);
    r->h[0] = (struct s3w_header){ SL("Host"), SL("bucket.s3.amazonaws.com") };
    r->h[1] = (struct s3w_header){ SL("x-amz-content-sha256"), SL(hs->payload) };
    size_t nh = 2;
    if (hs->presigned) {
        int n = snprintf(r->target, sizeof r->target,
                         "/bucket/key?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
                         "%s%%2F20231114%%2Fus-east-1%%2Fs3%%2Faws4_request&X-Amz-Date="
                         "20231114T221320Z&X-Amz-Expires=600&X-Amz-SignedHeaders=", akid);
        for (const char *c = hs->signed_headers; *c; c++)
            n += snprintf(r->target + n, sizeof r->target - (size_t)n, *c == ';' ? "%%3B" : "%c", *c);
    } else {
        snprintf(r->target, sizeof r->target, "/bucket/key");
        r->h[nh++] = (struct s3w_header){ SL("x-amz-date"), SL("20231114T221320Z") };
    }
    assert_true(hs->n_extra <= 3);
    for (size_t i = 0; i < hs->n_extra; i++)
        r->h[nh++] = hs->extra[i];
    r->req = (struct sigv4_request){ SL("GET"), SL(r->target), r->h, nh };
    struct s3w_buf creq, sts;
    s3w_buf_init(&creq, 4096);
    s3w_buf_init(&sts, 1024);
    assert_int_equal(sigv4_canonical_request(&r->req, SIGV4_URI_S3, SL(hs->signed_headers),
                                             SL(hs->payload), hs->presigned, &creq), 0);
    assert_int_equal(sigv4_string_to_sign(SL("AWS4-HMAC-SHA256"), SL("20231114T221320Z"),
                                          SL("20231114/us-east-1/s3/aws4_request"),
                                          s3w_buf_slice(&creq), &sts), 0);
    uint8_t key[32], mac[32];
    sigv4_signing_key(SL("secret-good/+="), SL("20231114"), SL("us-east-1"), SL("s3"), key);
    sigv4_signature(key, s3w_buf_slice(&sts), mac);
    s3w_hex_encode(mac, 32, r->sig);
    if (hs->upper_sig)
        upper_hex(r->sig, 64);
    if (hs->presigned) {
        size_t tl = strlen(r->target);
        snprintf(r->target + tl, sizeof r->target - tl, "&X-Amz-Signature=%s", r->sig);
        r->req.target = SL(r->target);
    } else {
        snprintf(r->authz, sizeof r->authz, "AWS4-HMAC-SHA256 Credential=%s/20231114/us-east-1/"
                 "s3/aws4_request, SignedHeaders=%s, Signature=%s", akid, hs->signed_headers,
                 r->sig);
        r->h[nh++] = (struct s3w_header){ SL("Authorization"), SL(r->authz) };
        r->req.n_headers = nh;
    }
    s3w_buf_cleanup(&creq);
    s3w_buf_cleanup(&sts);
}

#define HASH_A_UPPER "2CF24DBA5FB0A30E26E83B2AC5B9E29E1B161E5C1FA7425E73043362938B9824"
#define SH_HEADER "host;x-amz-content-sha256;x-amz-date"
#define SH_QUERY "host;x-amz-content-sha256"

/* (a) The signature in upper-case hex. S3 writes its signature "Hex():
 * lowercase base 16 encoding" and compares; a client that sent one in
 * upper case got SignatureDoesNotMatch (aws/aws-sdk-js#3322). Header
 * (Signature=) and presigned (X-Amz-Signature). */
static void test_upper_case_signature_refused(void **s)
{
    (void)s;
    struct tlookup lk = { keys, 5, 0, "" };
    struct sigv4_verify_opts o = opts(&lk);
    struct hreq *r = calloc(1, sizeof *r);
    for (int pre = 0; pre < 2; pre++) {
        struct hsign hs = { .presigned = pre, .signed_headers = pre ? SH_QUERY : SH_HEADER,
                            .payload = HASH_A };
        hand_sign(r, &hs);
        assert_int_equal(sigv4_verify(&r->req, NOW, &o, RES, &E), 0);
        assert_int_equal(RES->presigned, pre);
        hs.upper_sig = true;
        hand_sign(r, &hs);
        assert_non_null(strpbrk(r->sig, "ABCDEF"));
        expect(&r->req, NOW, &o, SIGV4_ERR_SIGNATURE_MISMATCH, "SignatureDoesNotMatch", 403, MISMATCH);
        /* one upper-case digit is enough: S3's own has none */
        hs.upper_sig = false;
        hand_sign(r, &hs);
        char *af = strpbrk(strstr(pre ? r->target : r->authz, r->sig), "abcdef");
        assert_non_null(af);
        upper_hex(af, 1);
        expect(&r->req, NOW, &o, SIGV4_ERR_SIGNATURE_MISMATCH, "SignatureDoesNotMatch", 403, MISMATCH);
        /* presigned: %41 is an 'A' once decoded, and refused as one */
        if (pre) {
            hand_sign(r, &hs);
            char *sig = strstr(r->target, r->sig);
            af = strpbrk(sig, "abcdef");
            size_t at = (size_t)(af - r->target);
            char t[1024];
            snprintf(t, sizeof t, "%.*s%%%02X%s", (int)at, r->target, *af - 'a' + 'A', af + 1);
            r->req.target = SL(t);
            expect(&r->req, NOW, &o, SIGV4_ERR_SIGNATURE_MISMATCH, "SignatureDoesNotMatch", 403,
                   MISMATCH);
        }
    }
    free(r);
}

/* (b) The payload hash in upper-case hex. HashedPayload is
 * Hex(SHA256Hash(payload)), lower case; S3's answer to an upper-case one is
 * not on record, so the reading that denies: a value S3 does not define,
 * answered as any other such value already is (InvalidRequest, before the
 * key is looked up), not a hash that happens to decode. */
static void test_upper_case_payload_hash_refused(void **s)
{
    (void)s;
    struct tlookup lk = { keys, 5, 0, "" };
    struct sigv4_verify_opts o = opts(&lk);
    struct hreq *r = calloc(1, sizeof *r);
    uint8_t want[32];
    assert_int_equal(s3w_hex_decode(SL(HASH_A), want, 32), 0);
    for (int pre = 0; pre < 2; pre++) {
        struct hsign hs = { .presigned = pre, .signed_headers = pre ? SH_QUERY : SH_HEADER,
                            .payload = HASH_A };
        hand_sign(r, &hs);
        assert_int_equal(sigv4_verify(&r->req, NOW, &o, RES, &E), 0);
        assert_int_equal(RES->payload_mode, SIGV4_PAYLOAD_SIGNED);
        assert_memory_equal(RES->payload_sha256, want, 32);
        hs.payload = HASH_A_UPPER;
        hand_sign(r, &hs);
        lk.calls = 0;
        expect(&r->req, NOW, &o, SIGV4_ERR_INVALID_REQUEST, "InvalidRequest", 400, NULL);
        /* S3's wording for any x-amz-content-sha256 it does not know, whole
         * (err.message cut it after "...-PAYLOAD-TRAILER o" once) */
        assert_string_equal(E.message,
                            "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, "
                            "STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, "
                            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, "
                            "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, "
                            "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER or a valid sha256 value.");
        assert_int_equal(lk.calls, 0);
    }
    /* the classifier itself: one upper-case digit is enough */
    assert_int_equal(sigv4_payload_mode_parse(SL(HASH_A), NULL), SIGV4_PAYLOAD_SIGNED);
    assert_int_equal(sigv4_payload_mode_parse(SL(HASH_A_UPPER), NULL), 0);
    assert_int_equal(sigv4_payload_mode_parse(
        SL("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b982A"), NULL), 0);
    /* and the signer, which takes what the classifier takes */
    struct sigv4_sign_params p = { 0 };
    p.method = SL("GET");
    p.target = SL("/bucket/key");
    p.headers = r->h;
    p.n_headers = 1;
    p.region = SL("us-east-1");
    p.service = SL("s3");
    p.now = NOW;
    p.payload = SL(HASH_A_UPPER);
    struct sigv4_credentials c = { SL("AKIAGOOD"), SL("secret-good/+="), S3W_SLICE_NULL };
    struct sigv4_signed *sg = calloc(1, sizeof *sg);
    assert_int_equal(sigv4_sign_headers(&p, &c, sg, &E), -1);
    assert_int_equal(E.code, SIGV4_ERR_INVALID_REQUEST);
    free(sg);
    free(r);
}

/* (c) A SignedHeaders list out of order. AWS defines it sorted, and S3
 * builds its canonical request from the sorted names; clients that sent
 * one unsorted got SignatureDoesNotMatch (NetSPI/AWSSigner#22,
 * saltstack/salt#40536). We answer that, at the signature step, so an
 * unknown key still says InvalidAccessKeyId first. A name given twice
 * stays a malformed list, as before. Header and presigned. */
static void test_unsorted_signed_headers_refused(void **s)
{
    (void)s;
    struct tlookup lk = { keys, 5, 0, "" };
    struct sigv4_verify_opts o = opts(&lk);
    struct hreq *r = calloc(1, sizeof *r);
    static const char *const unsorted[] = {
        "x-amz-date;host;x-amz-content-sha256",  /* the probe's */
        "host;x-amz-date;x-amz-content-sha256",  /* one swap at the end */
    };
    struct hsign hs = { .signed_headers = SH_HEADER, .payload = HASH_A };
    hand_sign(r, &hs);
    assert_int_equal(sigv4_verify(&r->req, NOW, &o, RES, &E), 0);
    for (size_t i = 0; i < 2; i++) {
        hs.signed_headers = unsorted[i];
        hand_sign(r, &hs);
        expect(&r->req, NOW, &o, SIGV4_ERR_SIGNATURE_MISMATCH, "SignatureDoesNotMatch", 403, MISMATCH);
    }
    /* S3 looks the key up first */
    hs.akid = "AKIANOBODY";
    hand_sign(r, &hs);
    expect(&r->req, NOW, &o, SIGV4_ERR_INVALID_ACCESS_KEY_ID, "InvalidAccessKeyId", 403, NULL);
    hs.akid = NULL;
    /* a name twice, in order or not: malformed, as it was */
    hs.signed_headers = "host;x-amz-content-sha256;x-amz-date;x-amz-date";
    hand_sign(r, &hs);
    expect(&r->req, NOW, &o, SIGV4_ERR_HEADER_MALFORMED, "AuthorizationHeaderMalformed", 400,
           "The authorization header is malformed; the SignedHeaders list is malformed.");

    /* presigned */
    hs = (struct hsign){ .presigned = true, .signed_headers = SH_QUERY, .payload = "UNSIGNED-PAYLOAD" };
    hand_sign(r, &hs);
    assert_int_equal(sigv4_verify(&r->req, NOW, &o, RES, &E), 0);
    hs.signed_headers = "x-amz-content-sha256;host";
    hand_sign(r, &hs);
    expect(&r->req, NOW, &o, SIGV4_ERR_SIGNATURE_MISMATCH, "SignatureDoesNotMatch", 403, MISMATCH);

    /* byte order, a name before the longer names it begins */
    static const struct s3w_header meta[] = {
        { S3W_SLICE_LIT("x-amz-meta-ab"), S3W_SLICE_LIT("2") },
        { S3W_SLICE_LIT("x-amz-meta-a"), S3W_SLICE_LIT("1") },
        { S3W_SLICE_LIT("x-amz-meta-a-"), S3W_SLICE_LIT("3") },
    };
    hs = (struct hsign){ .signed_headers = SH_HEADER ";x-amz-meta-a;x-amz-meta-a-;x-amz-meta-ab",
                         .payload = HASH_A, .extra = meta, .n_extra = 3 };
    hand_sign(r, &hs);
    assert_int_equal(sigv4_verify(&r->req, NOW, &o, RES, &E), 0);
    hs.signed_headers = SH_HEADER ";x-amz-meta-a-;x-amz-meta-a;x-amz-meta-ab";
    hand_sign(r, &hs);
    expect(&r->req, NOW, &o, SIGV4_ERR_SIGNATURE_MISMATCH, "SignatureDoesNotMatch", 403, MISMATCH);
    hs.signed_headers = SH_HEADER ";x-amz-meta-a;x-amz-meta-ab;x-amz-meta-a-";
    hand_sign(r, &hs);
    expect(&r->req, NOW, &o, SIGV4_ERR_SIGNATURE_MISMATCH, "SignatureDoesNotMatch", 403, MISMATCH);
    free(r);
}

static int setup(void **s)
{
    (void)s;
    RES = calloc(1, sizeof *RES);
    return RES ? 0 : -1;
}

static int teardown(void **s)
{
    (void)s;
    free(RES);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ok_and_result),
        cmocka_unit_test(test_parsed_auth_taken),
        cmocka_unit_test(test_signature_failures),
        cmocka_unit_test(test_mismatch_shows_what_was_checked),
        cmocka_unit_test(test_scope_and_time),
        cmocka_unit_test(test_header_rules),
        cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_presigned),
        cmocka_unit_test(test_keycache),
        cmocka_unit_test(test_v4a_without_hook),
        cmocka_unit_test(test_date_header),
        cmocka_unit_test(test_other_service_body_is_signed),
        cmocka_unit_test(test_upper_case_signature_refused),
        cmocka_unit_test(test_upper_case_payload_hash_refused),
        cmocka_unit_test(test_unsorted_signed_headers_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
