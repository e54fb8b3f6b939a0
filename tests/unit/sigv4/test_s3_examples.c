/*
 * test_s3_examples.c - every example of tests/testdata/s3-examples (the
 * Amazon S3 API Reference's worked SigV4 examples) at each stage with the S3
 * rules: canonical request, string to sign, signing key, signature; our
 * signer reproduces the documented Authorization header / presigned URL;
 * sigv4_verify() accepts the documented request and rejects it tampered.
 * For the two aws-chunked uploads this checks the seed signature and the
 * material handed to the chunk decoder (key, date, scope); the chunk
 * signatures themselves are tested by the stream code's tests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <cmocka.h>

#include "test_sigv4core_util.h"

static const struct tkey ex_keys[] = {
    { S3EX_AKID, S3EX_SECRET, NULL, SIGV4_LOOKUP_OK },
};

struct example {
    char *json;
    char strs[32][512];     /* header names/values, request line */
    struct s3w_header h[16];
    size_t nh;
    char method[16], target[256];
    char creq[2048], sts[512], sig[80], key_hex[80], authz[512], sh[256];
    size_t creq_len, sts_len;
};

static void load(struct example *ex, const char *file)
{
    size_t l;
    memset(ex, 0, sizeof *ex);
    ex->json = td_read(&l, "s3-examples/%s", file);
    const char *j = ex->json;
    const char *exp = strstr(j, "\"expected\"");
    assert_non_null(exp);
    assert_non_null(json_get(exp, "canonical_request", ex->creq, sizeof ex->creq, &ex->creq_len));
    assert_non_null(json_get(exp, "string_to_sign", ex->sts, sizeof ex->sts, &ex->sts_len));
    assert_non_null(json_get(exp, "signed_headers", ex->sh, sizeof ex->sh, NULL));
    if (!json_get(exp, "seed_signature", ex->sig, sizeof ex->sig, NULL))
        assert_non_null(json_get(exp, "signature", ex->sig, sizeof ex->sig, NULL));
    json_get(exp, "authorization", ex->authz, sizeof ex->authz, NULL);
    assert_non_null(json_get(j, "signing_key_hex", ex->key_hex, sizeof ex->key_hex, NULL));

    char rl[512];
    if (json_get(j, "request_line", rl, sizeof rl, NULL)) {
        char *sp = strchr(rl, ' '), *sp2 = strrchr(rl, ' ');
        assert_true(sp && sp2 > sp);
        snprintf(ex->method, sizeof ex->method, "%.*s", (int)(sp - rl), rl);
        snprintf(ex->target, sizeof ex->target, "%.*s", (int)(sp2 - sp - 1), sp + 1);
    }
    const char *hp = strstr(j, "\"headers\"");
    if (hp) {
        hp = strchr(hp, '[') + 1;
        size_t ns = 0;
        for (;;) {
            hp = skip_ws(hp);
            if (*hp == ']')
                break;
            assert_true(*hp == '[');
            hp = skip_ws(hp + 1);
            size_t nl, vl;
            hp = json_str_at(hp, ex->strs[ns], sizeof ex->strs[0], &nl);
            assert_non_null(hp);
            hp = skip_ws(hp);
            assert_true(*hp == ',');
            hp = skip_ws(hp + 1);
            hp = json_str_at(hp, ex->strs[ns + 1], sizeof ex->strs[0], &vl);
            assert_non_null(hp);
            ex->h[ex->nh].name = s3w_slice(ex->strs[ns], nl);
            ex->h[ex->nh].value = s3w_slice(ex->strs[ns + 1], vl);
            if (s3w_slice_eq_nocase(ex->h[ex->nh].name, S3W_SLICE_LIT("authorization")))
                ex->h[ex->nh].value = s3w_slice_cstr(ex->authz);
            ex->nh++;
            ns += 2;
            hp = skip_ws(hp);
            assert_true(*hp == ']');
            hp = skip_ws(hp + 1);
            if (*hp == ',')
                hp++;
        }
    }
}

static struct s3w_slice header_value(const struct example *ex, const char *name)
{
    for (size_t i = 0; i < ex->nh; i++)
        if (s3w_slice_eq_nocase(ex->h[i].name, s3w_slice_cstr(name)))
            return ex->h[i].value;
    return S3W_SLICE_NULL;
}

static struct sigv4_verify_opts ex_opts(struct tlookup *lk)
{
    return tverify_opts(lk, "s3", SIGV4_URI_S3);
}

/* Authorization as we write it (", ") vs the S3 docs (","): same value. */
static void authz_eq(const char *ours, const char *docs)
{
    char n[1024];
    size_t k = 0;
    for (const char *p = ours; *p && k + 1 < sizeof n; p++) {
        n[k++] = *p;
        if (*p == ',' && p[1] == ' ')
            p++;
    }
    n[k] = '\0';
    assert_string_equal(n, docs);
}

static void header_example(const char *file, bool chunked)
{
    struct example *ex = calloc(1, sizeof *ex);
    load(ex, file);
    struct s3w_slice payload = header_value(ex, "x-amz-content-sha256");
    assert_true(payload.len > 0);

    /* request without Authorization, as the signer saw it */
    struct s3w_header plain[16];
    size_t np = 0;
    for (size_t i = 0; i < ex->nh; i++)
        if (!s3w_slice_eq_nocase(ex->h[i].name, S3W_SLICE_LIT("authorization")))
            plain[np++] = ex->h[i];
    struct sigv4_request rq = { s3w_slice_cstr(ex->method), s3w_slice_cstr(ex->target), plain, np };

    struct s3w_buf creq, sts;
    s3w_buf_init(&creq, SIGV4_MAX_CANONICAL);
    s3w_buf_init(&sts, 1024);
    assert_int_equal(sigv4_canonical_request(&rq, SIGV4_URI_S3, s3w_slice_cstr(ex->sh), payload, false, &creq), 0);
    SLICE_EQ(buf_sl(&creq), s3w_slice(ex->creq, ex->creq_len));
    assert_int_equal(sigv4_string_to_sign(S3W_SLICE_LIT("AWS4-HMAC-SHA256"),
                                          S3W_SLICE_LIT("20130524T000000Z"),
                                          S3W_SLICE_LIT("20130524/us-east-1/s3/aws4_request"),
                                          buf_sl(&creq), &sts), 0);
    SLICE_EQ(buf_sl(&sts), s3w_slice(ex->sts, ex->sts_len));
    uint8_t key[32], sig[32];
    char hex[65];
    sigv4_signing_key(S3W_SLICE_LIT(S3EX_SECRET), S3W_SLICE_LIT("20130524"),
                      S3W_SLICE_LIT("us-east-1"), S3W_SLICE_LIT("s3"), key);
    s3w_hex_encode(key, 32, hex);
    assert_string_equal(hex, ex->key_hex);
    sigv4_signature(key, buf_sl(&sts), sig);
    s3w_hex_encode(sig, 32, hex);
    assert_string_equal(hex, ex->sig);

    /* our signer reproduces the documented Authorization */
    struct s3w_header to_sign[16];
    size_t ns = 0;
    for (size_t i = 0; i < np; i++)
        if (!s3w_slice_eq_nocase(plain[i].name, S3W_SLICE_LIT("x-amz-date")) &&
            !s3w_slice_eq_nocase(plain[i].name, S3W_SLICE_LIT("x-amz-content-sha256")))
            to_sign[ns++] = plain[i];
    /* the docs do not sign Content-Length in the trailer example */
    char delim[300];
    snprintf(delim, sizeof delim, ";%s;", ex->sh);
    if (strstr(delim, ";content-length;") == NULL) {
        size_t k = 0;
        for (size_t i = 0; i < ns; i++)
            if (!s3w_slice_eq_nocase(to_sign[i].name, S3W_SLICE_LIT("content-length")))
                to_sign[k++] = to_sign[i];
        ns = k;
    }
    struct sigv4_sign_params sp = { 0 };
    sp.method = rq.method;
    sp.target = rq.target;
    sp.headers = to_sign;
    sp.n_headers = ns;
    sp.region = S3W_SLICE_LIT("us-east-1");
    sp.service = S3W_SLICE_LIT("s3");
    sp.uri_mode = SIGV4_URI_S3;
    sp.now = S3EX_TIME;
    sp.payload = payload;
    struct sigv4_credentials cr = { S3W_SLICE_LIT(S3EX_AKID), S3W_SLICE_LIT(S3EX_SECRET), S3W_SLICE_NULL };
    struct sigv4_signed *so = calloc(1, sizeof *so);
    struct sigv4_error err;
    assert_int_equal(sigv4_sign_headers(&sp, &cr, so, &err), 0);
    authz_eq(so->authorization, ex->authz);
    assert_string_equal(so->amz_date, "20130524T000000Z");
    assert_string_equal(so->seed_signature_hex, ex->sig);
    assert_memory_equal(so->signing_key, key, 32);
    SLICE_EQ(s3w_slice(so->content_sha256, so->content_sha256_len), payload);
    sigv4_signed_cleanup(so);
    for (size_t i = 0; i < sizeof *so; i++)
        assert_int_equal(((unsigned char *)so)[i], 0);  /* key wiped */
    free(so);

    /* verify the documented request */
    struct tlookup lk = { ex_keys, 1, 0, "" };
    struct sigv4_verify_opts o = ex_opts(&lk);
    struct sigv4_request full = { rq.method, rq.target, ex->h, ex->nh };
    struct sigv4_result *res = calloc(1, sizeof *res);
    int rc = sigv4_verify(&full, S3EX_TIME + 5, &o, res, &err);
    if (rc)
        print_error("%s: %s %s\n", file, err.s3_code, err.message);
    assert_int_equal(rc, 0);
    SLICE_EQ(res->access_key_id, S3W_SLICE_LIT(S3EX_AKID));
    SLICE_EQ(res->region, S3W_SLICE_LIT("us-east-1"));
    SLICE_EQ(res->service, S3W_SLICE_LIT("s3"));
    assert_string_equal(res->seed_signature_hex, ex->sig);
    assert_memory_equal(res->signing_key, key, 32);
    assert_string_equal(res->amz_date, "20130524T000000Z");
    assert_string_equal(res->scope, "20130524/us-east-1/s3/aws4_request");
    assert_int_equal(res->age_s, 5);
    if (chunked) {
        bool trailer = strstr(ex->json, "PAYLOAD-TRAILER") != NULL;
        assert_int_equal(res->payload_mode, trailer ? SIGV4_PAYLOAD_STREAMING_HMAC_TRAILER
                                                    : SIGV4_PAYLOAD_STREAMING_HMAC);
        assert_false(res->has_payload_sha256);
    } else {
        assert_int_equal(res->payload_mode, SIGV4_PAYLOAD_SIGNED);
        uint8_t want[32];
        assert_int_equal(s3w_hex_decode(payload, want, 32), 0);
        assert_memory_equal(res->payload_sha256, want, 32);
        /* body hash helper: equal passes, one bit off fails exactly */
        assert_int_equal(sigv4_check_payload_sha256(res, want, &err), 0);
        want[31] ^= 1;
        assert_int_equal(sigv4_check_payload_sha256(res, want, &err), -1);
        assert_int_equal(err.code, SIGV4_ERR_CONTENT_SHA256_MISMATCH);
        assert_string_equal(err.s3_code, "XAmzContentSHA256Mismatch");
        assert_int_equal(err.http_status, 400);
    }
    sigv4_result_cleanup(res);

    /* tampered path -> SignatureDoesNotMatch */
    char t2[300];
    snprintf(t2, sizeof t2, "%sX", ex->target);
    struct sigv4_request bad = full;
    bad.target = s3w_slice_cstr(t2);
    assert_int_equal(sigv4_verify(&bad, S3EX_TIME, &o, res, &err), -1);
    assert_int_equal(err.code, SIGV4_ERR_SIGNATURE_MISMATCH);
    assert_int_equal(err.http_status, 403);
    assert_string_equal(err.message, "The request signature we calculated does "
                        "not match the signature you provided. Check your key "
                        "and signing method.");

    free(res);
    s3w_buf_cleanup(&creq);
    s3w_buf_cleanup(&sts);
    free(ex->json);
    free(ex);
}

static void test_header_get_object_range(void **s) { (void)s; header_example("header-get-object-range.json", false); }
static void test_header_put_object(void **s) { (void)s; header_example("header-put-object.json", false); }
static void test_header_get_bucket_lifecycle(void **s) { (void)s; header_example("header-get-bucket-lifecycle.json", false); }
static void test_header_list_objects(void **s) { (void)s; header_example("header-get-bucket-list-objects.json", false); }
static void test_chunked_seed(void **s) { (void)s; header_example("chunked-put-object.json", true); }
static void test_chunked_trailer_seed(void **s) { (void)s; header_example("chunked-put-object-trailer.json", true); }

static void test_presigned_get_object(void **state)
{
    (void)state;
    struct example *ex = calloc(1, sizeof *ex);
    load(ex, "presigned-get-object.json");
    char url[1024], host[128], path[128];
    assert_non_null(json_get(ex->json, "presigned_url", url, sizeof url, NULL));
    assert_non_null(json_get(ex->json, "host", host, sizeof host, NULL));
    assert_non_null(json_get(ex->json, "path", path, sizeof path, NULL));
    const char *want_target = strstr(url, ".com") + 4;

    struct s3w_header hh[1] = { { S3W_SLICE_LIT("Host"), s3w_slice_cstr(host) } };
    struct sigv4_sign_params sp = { 0 };
    sp.method = S3W_SLICE_LIT("GET");
    sp.target = s3w_slice_cstr(path);
    sp.headers = hh;
    sp.n_headers = 1;
    sp.region = S3W_SLICE_LIT("us-east-1");
    sp.service = S3W_SLICE_LIT("s3");
    sp.uri_mode = SIGV4_URI_S3;
    sp.now = S3EX_TIME;
    struct sigv4_credentials cr = { S3W_SLICE_LIT(S3EX_AKID), S3W_SLICE_LIT(S3EX_SECRET), S3W_SLICE_NULL };
    struct s3w_buf out;
    s3w_buf_init(&out, 4096);
    struct sigv4_error err;
    assert_int_equal(sigv4_presign(&sp, &cr, 86400, &out, &err), 0);
    assert_string_equal(out.ptr, want_target);

    /* canonical request of the documented URL */
    struct sigv4_request rq = { S3W_SLICE_LIT("GET"), s3w_slice_cstr(want_target), hh, 1 };
    struct s3w_buf creq;
    s3w_buf_init(&creq, SIGV4_MAX_CANONICAL);
    assert_int_equal(sigv4_canonical_request(&rq, SIGV4_URI_S3, S3W_SLICE_LIT("host"),
                                             S3W_SLICE_LIT("UNSIGNED-PAYLOAD"), true, &creq), 0);
    SLICE_EQ(buf_sl(&creq), s3w_slice(ex->creq, ex->creq_len));

    struct tlookup lk = { ex_keys, 1, 0, "" };
    struct sigv4_verify_opts o = ex_opts(&lk);
    struct sigv4_result *res = calloc(1, sizeof *res);
    assert_int_equal(sigv4_verify(&rq, S3EX_TIME + 86400, &o, res, &err), 0);
    assert_true(res->presigned);
    assert_int_equal(res->payload_mode, SIGV4_PAYLOAD_UNSIGNED);
    assert_int_equal(res->expires_s, 86400);
    assert_string_equal(res->seed_signature_hex, ex->sig);
    sigv4_result_cleanup(res);
    assert_int_equal(sigv4_verify(&rq, S3EX_TIME + 86401, &o, res, &err), -1);
    assert_int_equal(err.code, SIGV4_ERR_EXPIRED);
    assert_string_equal(err.s3_code, "AccessDenied");
    assert_string_equal(err.message, "Request has expired");
    assert_int_equal(err.http_status, 403);
    free(res);
    s3w_buf_cleanup(&creq);
    s3w_buf_cleanup(&out);
    free(ex->json);
    free(ex);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_get_object_range),
        cmocka_unit_test(test_header_put_object),
        cmocka_unit_test(test_header_get_bucket_lifecycle),
        cmocka_unit_test(test_header_list_objects),
        cmocka_unit_test(test_chunked_seed),
        cmocka_unit_test(test_chunked_trailer_seed),
        cmocka_unit_test(test_presigned_get_object),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
