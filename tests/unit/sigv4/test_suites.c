/*
 * test_suites.c - every v4 case of both AWS SigV4 suites in
 * tests/testdata/sigv4, byte for byte at each stage: canonical request,
 * string to sign, signature; then the signed request through sigv4_verify()
 * (header form, and for aws-c-auth the presigned/query form too).
 *
 * These cases use service "service", so the non-S3 rules apply
 * (double-encoded, normalised paths unless aws-c-auth says normalize:false).
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <cmocka.h>

#include "test_sigv4core_util.h"

static const struct tkey suite_keys[] = {
    { SUITE_AKID, SUITE_SECRET, NULL, SIGV4_LOOKUP_OK },
};

static void sig_hex(struct s3w_slice sts, char hex[65])
{
    uint8_t key[32], sig[32];
    sigv4_signing_key(S3W_SLICE_LIT(SUITE_SECRET), S3W_SLICE_LIT("20150830"),
                      S3W_SLICE_LIT("us-east-1"), S3W_SLICE_LIT("service"), key);
    sigv4_signature(key, sts, sig);
    s3w_hex_encode(sig, 32, hex);
}

static struct sigv4_verify_opts suite_opts(struct tlookup *lk,
                                           enum sigv4_uri_mode mode,
                                           const uint8_t *body_sha)
{
    struct sigv4_verify_opts o = tverify_opts(lk, "service", mode);
    o.body_sha256 = body_sha;
    return o;
}

/* ---- the 2015 suite --------------------------------------------------------- */

static int n2015;

static void one_2015(const char *dir, const char *name)
{
    size_t l;
    char *reqt = td_read(&l, "sigv4/aws-sig-v4-test-suite/%s/%s.req", dir, name);
    struct treq tr;
    assert_int_equal(treq_parse(&tr, reqt, l), 0);
    size_t cl, sl, al, srl;
    char *creqf = td_read(&cl, "sigv4/aws-sig-v4-test-suite/%s/%s.creq", dir, name);
    char *stsf = td_read(&sl, "sigv4/aws-sig-v4-test-suite/%s/%s.sts", dir, name);
    char *authz = td_read(&al, "sigv4/aws-sig-v4-test-suite/%s/%s.authz", dir, name);
    char *sreqt = td_read(&srl, "sigv4/aws-sig-v4-test-suite/%s/%s.sreq", dir, name);
    struct s3w_slice want_creq = chomp(creqf, cl), want_sts = chomp(stsf, sl);
    struct s3w_slice sh, payload;
    creq_tail(want_creq, &sh, &payload);
    bool multiline = strcmp(name, "get-header-value-multiline") == 0;

    /* stage 1: canonical request */
    struct s3w_buf creq;
    s3w_buf_init(&creq, SIGV4_MAX_CANONICAL);
    assert_int_equal(sigv4_canonical_request(&tr.req, SIGV4_URI_GENERIC, sh,
                                             payload, false, &creq), 0);
    if (multiline) {
        /* We follow aws-c-auth here (see canonical.c): obs-fold is
         * whitespace inside one value, so ',' becomes ' '. */
        char alt[1024];
        assert_true(want_creq.len < sizeof alt);
        memcpy(alt, want_creq.ptr, want_creq.len);
        char *m = strstr(alt, "value1,value2,value3");
        assert_non_null(m);
        m[6] = ' ';
        m[13] = ' ';
        SLICE_EQ(buf_sl(&creq), s3w_slice(alt, want_creq.len));
    } else {
        SLICE_EQ(buf_sl(&creq), want_creq);
    }

    /* stage 2: string to sign, from the suite's own canonical request */
    struct s3w_buf sts;
    s3w_buf_init(&sts, 1024);
    assert_int_equal(sigv4_string_to_sign(S3W_SLICE_LIT("AWS4-HMAC-SHA256"),
                                          S3W_SLICE_LIT("20150830T123600Z"),
                                          S3W_SLICE_LIT("20150830/us-east-1/service/aws4_request"),
                                          want_creq, &sts), 0);
    SLICE_EQ(buf_sl(&sts), want_sts);

    /* stage 3: signature, and the Authorization value parsed back */
    char hex[65];
    sig_hex(want_sts, hex);
    const char *sp = strstr(authz, "Signature=");
    assert_non_null(sp);
    assert_memory_equal(hex, sp + 10, 64);
    struct sigv4_auth a;
    struct sigv4_error err;
    assert_int_equal(sigv4_parse_authorization(chomp(authz, al), &a, &err), 0);
    SLICE_EQ(a.access_key_id, S3W_SLICE_LIT(SUITE_AKID));
    SLICE_EQ(a.scope, S3W_SLICE_LIT("20150830/us-east-1/service/aws4_request"));
    SLICE_EQ(a.signed_headers, sh);
    SLICE_EQ(a.signature, s3w_slice(hex, 64));

    /* verify the signed request */
    struct treq st;
    assert_int_equal(treq_parse(&st, sreqt, srl), 0);
    uint8_t body_sha[32];
    sigv4_sha256(st.body.ptr, st.body.len, body_sha);
    struct tlookup lk = { suite_keys, 1, 0, "" };
    struct sigv4_verify_opts o = suite_opts(&lk, SIGV4_URI_GENERIC, body_sha);
    struct sigv4_result *res = calloc(1, sizeof *res);
    int rc = sigv4_verify(&st.req, SUITE_TIME, &o, res, &err);
    if (multiline) {
        /* The 2015 suite signed the ',' reading: with ours it must fail, and
         * fail as a signature mismatch (not as a parse error). */
        assert_int_equal(rc, -1);
        assert_int_equal(err.code, SIGV4_ERR_SIGNATURE_MISMATCH);
        assert_string_equal(err.s3_code, "SignatureDoesNotMatch");
    } else {
        if (rc)
            print_error("%s: %s %s\n", name, err.s3_code, err.message);
        assert_int_equal(rc, 0);
        SLICE_EQ(res->access_key_id, S3W_SLICE_LIT(SUITE_AKID));
        SLICE_EQ(res->signed_headers, sh);
        assert_false(res->presigned);
        assert_int_equal(res->payload_mode, SIGV4_PAYLOAD_SIGNED);
        assert_memory_equal(res->payload_sha256, body_sha, 32);
        assert_memory_equal(res->seed_signature_hex, hex, 64);
        assert_int_equal(res->age_s, 0);
        assert_string_equal(res->scope, "20150830/us-east-1/service/aws4_request");
        if (strstr(name, "post-sts")) {
            const char *tok = strstr(sreqt, "X-Amz-Security-Token:");
            assert_non_null(tok);
            tok += strlen("X-Amz-Security-Token:");
            assert_int_equal(strncmp(lk.last_token, tok, strlen(lk.last_token)), 0);
            assert_true(strlen(lk.last_token) > 100);
        }
        /* one bit off in the signature -> SignatureDoesNotMatch */
        char *sg = strstr(sreqt, "Signature=") + 10;
        sg[63] = sg[63] == '0' ? '1' : '0';
        assert_int_equal(sigv4_verify(&st.req, SUITE_TIME, &o, res, &err), -1);
        assert_int_equal(err.code, SIGV4_ERR_SIGNATURE_MISMATCH);
    }
    sigv4_result_cleanup(res);
    free(res);
    s3w_buf_cleanup(&creq);
    s3w_buf_cleanup(&sts);
    free(reqt); free(creqf); free(stsf); free(authz); free(sreqt);
    n2015++;
}

static void walk_2015(const char *sub)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/sigv4/aws-sig-v4-test-suite%s%s",
             tu_testdata_dir(), *sub ? "/" : "", sub);
    DIR *d = opendir(path);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || strchr(e->d_name, '.') ||
            !strcmp(e->d_name, "LICENSE") || !strcmp(e->d_name, "NOTICE") ||
            !strcmp(e->d_name, "normalize-path") ||
            !strcmp(e->d_name, "post-sts-token"))
            continue;
        char dir[512];
        snprintf(dir, sizeof dir, "%s%s%s", sub, *sub ? "/" : "", e->d_name);
        one_2015(dir, e->d_name);
    }
    closedir(d);
}

static void test_suite_2015(void **state)
{
    (void)state;
    n2015 = 0;
    walk_2015("");
    walk_2015("normalize-path");
    walk_2015("post-sts-token");
    /* README: 31 cases (22 + 7 + 2); none may be skipped silently */
    assert_int_equal(n2015, 31);
}

/* ---- aws-c-auth v4 ------------------------------------------------------------ */

static int nauth, nquery, npresign;

static void one_cauth(const char *name)
{
    size_t l;
    char *ctx = td_read(&l, "sigv4/aws-c-auth-signing-test-suite/v4/%s/context.json", name);
    bool normalize = strstr(ctx, "\"normalize\": true") != NULL;
    bool omit_token = strstr(ctx, "\"omit_session_token\": true") != NULL;
    char token[2048] = "";
    json_get(ctx, "token", token, sizeof token, NULL);
    enum sigv4_uri_mode mode = normalize ? SIGV4_URI_GENERIC
                                         : SIGV4_URI_GENERIC_UNNORMALIZED;
    struct sigv4_error err;

    for (int form = 0; form < 2; form++) {
        const char *f = form ? "query" : "header";
        size_t cl, sl, gl, rl;
        char *creqf = td_read(&cl, "sigv4/aws-c-auth-signing-test-suite/v4/%s/%s-canonical-request.txt", name, f);
        char *stsf = td_read(&sl, "sigv4/aws-c-auth-signing-test-suite/v4/%s/%s-string-to-sign.txt", name, f);
        char *sigf = td_read(&gl, "sigv4/aws-c-auth-signing-test-suite/v4/%s/%s-signature.txt", name, f);
        char *reqt = td_read(&rl, "sigv4/aws-c-auth-signing-test-suite/v4/%s/%s-signed-request.txt", name, f);
        struct s3w_slice want_creq = chomp(creqf, cl), want_sts = chomp(stsf, sl);
        struct s3w_slice sh, payload;
        creq_tail(want_creq, &sh, &payload);
        struct treq tr;
        assert_int_equal(treq_parse(&tr, reqt, rl), 0);
        bool stripped = false;
        if (omit_token && form == 1) {
            /* post-sts-header-after: aws-c-auth adds X-Amz-Security-Token to
             * the query AFTER signing. We (like S3) always sign it, so that
             * URL as a whole must fail below; the canonical request the
             * suite gives is that of the URL without the token. */
            const char *t0 = memmem(tr.req.target.ptr, tr.req.target.len,
                                    "&X-Amz-Security-Token=", 22);
            assert_non_null(t0);
            const char *t1 = memchr(t0 + 1, '&', (size_t)(tr.req.target.ptr +
                                    tr.req.target.len - t0 - 1));
            assert_non_null(t1);
            memmove((char *)t0, t1, (size_t)(tr.req.target.ptr +
                    tr.req.target.len - t1));
            tr.req.target.len -= (size_t)(t1 - t0);
            stripped = true;
        }

        struct s3w_buf creq, sts;
        s3w_buf_init(&creq, SIGV4_MAX_CANONICAL);
        s3w_buf_init(&sts, 1024);
        assert_int_equal(sigv4_canonical_request(&tr.req, mode, sh, payload,
                                                 form == 1, &creq), 0);
        SLICE_EQ(buf_sl(&creq), want_creq);
        assert_int_equal(sigv4_string_to_sign(S3W_SLICE_LIT("AWS4-HMAC-SHA256"),
                                              S3W_SLICE_LIT("20150830T123600Z"),
                                              S3W_SLICE_LIT("20150830/us-east-1/service/aws4_request"),
                                              buf_sl(&creq), &sts), 0);
        SLICE_EQ(buf_sl(&sts), want_sts);
        char hex[65];
        sig_hex(want_sts, hex);
        SLICE_EQ(s3w_slice(hex, 64), chomp(sigf, gl));

        if (form == 1 && !omit_token) {
            /* our presigner reproduces aws-c-auth's X-Amz-Signature from the
             * unsigned request.txt (signing all its headers) */
            size_t ql;
            char *rq = td_read(&ql, "sigv4/aws-c-auth-signing-test-suite/v4/%s/request.txt", name);
            struct treq u;
            assert_int_equal(treq_parse(&u, rq, ql), 0);
            struct sigv4_sign_params sp = { 0 };
            sp.method = u.req.method;
            sp.target = u.req.target;
            sp.headers = u.h;
            sp.n_headers = u.nh;
            sp.region = S3W_SLICE_LIT("us-east-1");
            sp.service = S3W_SLICE_LIT("service");
            sp.uri_mode = mode;
            sp.now = SUITE_TIME;
            sp.payload = payload;
            struct sigv4_credentials cr = { S3W_SLICE_LIT(SUITE_AKID), S3W_SLICE_LIT(SUITE_SECRET),
                                            token[0] ? s3w_slice_cstr(token) : S3W_SLICE_NULL };
            struct s3w_buf url;
            s3w_buf_init(&url, 8192);
            assert_int_equal(sigv4_presign(&sp, &cr, 3600, &url, &err), 0);
            const char *sg = strstr(url.ptr, "X-Amz-Signature=");
            assert_non_null(sg);
            SLICE_EQ(s3w_slice(sg + 16, 64), s3w_slice(hex, 64));
            s3w_buf_cleanup(&url);
            free(rq);
            npresign++;
        }

        /* verify */
        uint8_t body_sha[32];
        sigv4_sha256(tr.body.ptr, tr.body.len, body_sha);
        struct tlookup lk = { suite_keys, 1, 0, "" };
        struct sigv4_verify_opts o = suite_opts(&lk, mode, body_sha);
        struct sigv4_result *res = calloc(1, sizeof *res);
        int rc = sigv4_verify(&tr.req, SUITE_TIME + 60, &o, res, &err);
        if (rc)
            print_error("%s/%s: %s %s\n", name, f, err.s3_code, err.message);
        assert_int_equal(rc, 0);
        assert_int_equal(res->presigned, form == 1);
        SLICE_EQ(res->signed_headers, sh);
        assert_int_equal(res->age_s, 60);
        assert_memory_equal(res->seed_signature_hex, hex, 64);
        if (token[0] && !omit_token)
            assert_string_equal(lk.last_token, token);
        if (stripped) {
            /* the URL as aws-c-auth emitted it, token included unsigned */
            size_t ol;
            char *orig = td_read(&ol, "sigv4/aws-c-auth-signing-test-suite/v4/%s/%s-signed-request.txt", name, f);
            struct treq to;
            assert_int_equal(treq_parse(&to, orig, ol), 0);
            assert_int_equal(sigv4_verify(&to.req, SUITE_TIME + 60, &o, res,
                                          &err), -1);
            assert_int_equal(err.code, SIGV4_ERR_SIGNATURE_MISMATCH);
            free(orig);
            rc = sigv4_verify(&tr.req, SUITE_TIME + 60, &o, res, &err);
            assert_int_equal(rc, 0);
        }
        if (form == 1) {
            assert_int_equal(res->expires_s, 3600);
            /* one second past X-Amz-Date + X-Amz-Expires */
            assert_int_equal(sigv4_verify(&tr.req, SUITE_TIME + 3601, &o, res,
                                          &err), -1);
            assert_int_equal(err.code, SIGV4_ERR_EXPIRED);
            assert_string_equal(err.s3_code, "AccessDenied");
            assert_string_equal(err.message, "Request has expired");
            nquery++;
        } else {
            /* 15 min + 1 s of skew either way */
            assert_int_equal(sigv4_verify(&tr.req, SUITE_TIME + 901, &o, res,
                                          &err), -1);
            assert_int_equal(err.code, SIGV4_ERR_TIME_SKEWED);
            assert_int_equal(sigv4_verify(&tr.req, SUITE_TIME - 901, &o, res,
                                          &err), -1);
            assert_int_equal(err.code, SIGV4_ERR_TIME_SKEWED);
            assert_string_equal(err.message, "The difference between the "
                                "request time and the current time is too large.");
            nauth++;
        }
        sigv4_result_cleanup(res);
        free(res);
        s3w_buf_cleanup(&creq);
        s3w_buf_cleanup(&sts);
        free(creqf); free(stsf); free(sigf); free(reqt);
    }
    free(ctx);
}

static void test_suite_cauth(void **state)
{
    (void)state;
    char path[1024];
    snprintf(path, sizeof path, "%s/sigv4/aws-c-auth-signing-test-suite/v4",
             tu_testdata_dir());
    DIR *d = opendir(path);
    assert_non_null(d);
    struct dirent *e;
    nauth = nquery = npresign = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        one_cauth(e->d_name);
    }
    closedir(d);
    /* README: 38 cases, each in header and query form */
    assert_int_equal(nauth, 38);
    assert_int_equal(nquery, 38);
    /* all but post-sts-header-after (token added after signing) */
    assert_int_equal(npresign, 37);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_suite_2015),
        cmocka_unit_test(test_suite_cauth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
