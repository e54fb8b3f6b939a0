/* test_sig_details.c - the elements a signature check's error carries after
 * its message (px_sig_details, pipeline.c), one error at a time, against
 * values written out here: which elements, in S3's order, with which values,
 * and none where S3 adds none. The integration tests (test_tamper,
 * test_clients, test_interop) check the same elements in whole answers
 * through real clients. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "exchange.h"
#include "s3err.h"

static struct sigv4_error err;
static struct s3w_buf mm, bytes;
static struct px_sig_room room;
static struct s3err_detail d[PX_SIG_DETAILS];

static int setup(void **state)
{
    (void)state;
    sigv4_error_reset(&err);
    s3w_buf_init(&mm, 4096);
    s3w_buf_init(&bytes, 3 * 4096);
    memset(d, 0, sizeof(d));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    s3w_buf_cleanup(&mm);
    s3w_buf_cleanup(&bytes);
    return 0;
}

static size_t details(void)
{
    return px_sig_details(&err, &mm, &room, &bytes, d);
}

static void expect_detail(size_t i, const char *name, const char *value, const char *header)
{
    assert_string_equal(d[i].name, name);
    assert_int_equal(d[i].value.len, strlen(value));
    assert_memory_equal(d[i].value.ptr, value, d[i].value.len);
    if (header)
        assert_string_equal(d[i].header, header);
    else
        assert_null(d[i].header);
}

static void test_headers_not_signed(void **state)
{
    (void)state;
    err.code = SIGV4_ERR_UNSIGNED_HEADERS;
    snprintf(err.headers_not_signed, sizeof(err.headers_not_signed), "x-amz-acl, x-amz-meta-a");
    assert_int_equal(details(), 1);
    expect_detail(0, "HeadersNotSigned", "x-amz-acl, x-amz-meta-a", NULL);
    /* none of them fitted: no empty element */
    err.headers_not_signed[0] = '\0';
    assert_int_equal(details(), 0);
}

static void test_unknown_key_id(void **state)
{
    (void)state;
    err.code = SIGV4_ERR_INVALID_ACCESS_KEY_ID;
    snprintf(err.access_key_id, sizeof(err.access_key_id), "AKIAUNKNOWN000000001");
    assert_int_equal(details(), 1);
    expect_detail(0, "AWSAccessKeyId", "AKIAUNKNOWN000000001", NULL);
}

/* The region goes in the body and in x-amz-bucket-region, which botocore
 * reads for a HEAD (no body) */
static void test_wrong_region(void **state)
{
    (void)state;
    err.code = SIGV4_ERR_HEADER_MALFORMED;
    snprintf(err.region, sizeof(err.region), "eu-central-1");
    assert_int_equal(details(), 1);
    expect_detail(0, "Region", "eu-central-1", "x-amz-bucket-region");
    /* the same code without a region (another malformation): nothing */
    err.region[0] = '\0';
    assert_int_equal(details(), 0);
}

static void test_time_skewed(void **state)
{
    (void)state;
    err.code = SIGV4_ERR_TIME_SKEWED;
    snprintf(err.skew.request_time, sizeof(err.skew.request_time), "20261206T080000Z");
    err.skew.server_time = 1796548800; /* 2026-12-06T09:20:00Z */
    err.skew.max_skew_s = 900;
    assert_int_equal(details(), 3);
    expect_detail(0, "RequestTime", "20261206T080000Z", NULL);
    expect_detail(1, "ServerTime", "2026-12-06T09:20:00Z", NULL);
    expect_detail(2, "MaxAllowedSkewMilliseconds", "900000", NULL);
    /* no request time to show (none was given): nothing */
    err.skew.request_time[0] = '\0';
    assert_int_equal(details(), 0);
}

/* S3's three for an expired presigned URL ("Request has expired"): what
 * X-Amz-Expires said, when the URL ran out, the server's clock, as
 * clients quote S3's answer (react-slack-clone issue 27, versitygw 2116) */
static void test_expired(void **state)
{
    (void)state;
    err.code = SIGV4_ERR_EXPIRED;
    err.expired.expires_s = 60;
    err.expired.expires_at = 1796548200; /* 2026-12-06T09:10:00Z */
    err.expired.server_time = 1796548800;
    assert_int_equal(details(), 3);
    expect_detail(0, "X-Amz-Expires", "60", NULL);
    expect_detail(1, "Expires", "2026-12-06T09:10:00Z", NULL);
    expect_detail(2, "ServerTime", "2026-12-06T09:20:00Z", NULL);
    /* nothing filled in (no X-Amz-Expires known): nothing */
    err.expired.expires_s = 0;
    assert_int_equal(details(), 0);
}

/* mm as sigv4_verify fills it: key id, signature, string to sign and
 * canonical request, back to back, their lengths in err.mismatch */
static void fill_mismatch(void)
{
    static const char *const parts[] = {
        "AKIACALLER0000000001",
        "0123abcd",
        "AWS4-HMAC-SHA256\n20261206T092000Z\n20261206/us-east-1/s3/aws4_request\nfe",
        "GET\n/b/k\n\nhost:h\n\nhost\nUNSIGNED-PAYLOAD",
    };
    size_t *lens[] = { &err.mismatch.access_key_id, &err.mismatch.signature,
                       &err.mismatch.string_to_sign, &err.mismatch.canonical_request };
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(s3w_buf_append_cstr(&mm, parts[i]), 0);
        *lens[i] = strlen(parts[i]);
    }
}

static void test_signature_mismatch(void **state)
{
    (void)state;
    err.code = SIGV4_ERR_SIGNATURE_MISMATCH;
    fill_mismatch();
    assert_int_equal(details(), 6);
    expect_detail(0, "AWSAccessKeyId", "AKIACALLER0000000001", NULL);
    expect_detail(1, "StringToSign",
                  "AWS4-HMAC-SHA256\n20261206T092000Z\n20261206/us-east-1/s3/aws4_request\nfe", NULL);
    expect_detail(2, "SignatureProvided", "0123abcd", NULL);
    expect_detail(3, "StringToSignBytes",
                  "41 57 53 34 2d 48 4d 41 43 2d 53 48 41 32 35 36 0a 32 30 32 36 31 32 30 36 54 30 "
                  "39 32 30 30 30 5a 0a 32 30 32 36 31 32 30 36 2f 75 73 2d 65 61 73 74 2d 31 2f 73 "
                  "33 2f 61 77 73 34 5f 72 65 71 75 65 73 74 0a 66 65",
                  NULL);
    expect_detail(4, "CanonicalRequest", "GET\n/b/k\n\nhost:h\n\nhost\nUNSIGNED-PAYLOAD", NULL);
    expect_detail(5, "CanonicalRequestBytes",
                  "47 45 54 0a 2f 62 2f 6b 0a 0a 68 6f 73 74 3a 68 0a 0a 68 6f 73 74 0a 55 4e 53 49 "
                  "47 4e 45 44 2d 50 41 59 4c 4f 41 44",
                  NULL);
}

/* A mismatch with nothing kept: no buffer, or appends that failed (the
 * buffer may be allocated, but keep_mismatch leaves err's lengths at 0):
 * no element rather than empty ones */
static void test_signature_mismatch_nothing_kept(void **state)
{
    (void)state;
    err.code = SIGV4_ERR_SIGNATURE_MISMATCH;
    assert_int_equal(details(), 0);
    struct s3w_buf none;
    s3w_buf_init(&none, 16); /* ptr NULL until the first append */
    fill_mismatch();
    assert_int_equal(px_sig_details(&err, &none, &room, &bytes, d), 0);
    memset(&err.mismatch, 0, sizeof(err.mismatch));
    assert_int_equal(details(), 0);
}

/* Errors S3 adds nothing to */
static void test_others_add_nothing(void **state)
{
    (void)state;
    static const enum sigv4_errcode codes[] = { SIGV4_ERR_EXPIRED, SIGV4_ERR_QUERY_PARAMS,
                                                SIGV4_ERR_CONTENT_SHA256_MISMATCH, SIGV4_ERR_INVALID_TOKEN,
                                                SIGV4_ERR_MISSING_SECURITY_HEADER };
    fill_mismatch(); /* kept, but not asked for */
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        err.code = codes[i];
        assert_int_equal(details(), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_headers_not_signed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_key_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_region, setup, teardown),
        cmocka_unit_test_setup_teardown(test_time_skewed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expired, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signature_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signature_mismatch_nothing_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_others_add_nothing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
