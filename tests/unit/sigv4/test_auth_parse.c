/*
 * test_auth_parse.c - the Authorization header and presigned query parsers:
 * accepted shapes, and each rejection with its exact S3 code and message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <cmocka.h>

#include "test_sigv4core_util.h"

#define SL(s) s3w_slice_cstr(s)
#define SLICE_STR(a, s) assert_true(s3w_slice_eq_cstr((a), (s)))

static struct sigv4_auth A;   /* 8 KiB: not on the stack */
static struct sigv4_error E;

static void expect_hdr_fail(const char *v, enum sigv4_errcode code,
                            const char *s3, int status, const char *msg)
{
    assert_int_equal(sigv4_parse_authorization(SL(v), &A, &E), -1);
    assert_int_equal(E.code, code);
    assert_string_equal(E.s3_code, s3);
    assert_int_equal(E.http_status, status);
    assert_string_equal(E.message, msg);
}

static void expect_q_fail(const char *q, const char *msg)
{
    assert_int_equal(sigv4_parse_presigned(SL(q), &A, &E), -1);
    assert_int_equal(E.code, SIGV4_ERR_QUERY_PARAMS);
    assert_string_equal(E.s3_code, "AuthorizationQueryParametersError");
    assert_int_equal(E.http_status, 400);
    assert_string_equal(E.message, msg);
}

static void test_header_ok_both_separators(void **s)
{
    (void)s;
    const char *forms[] = {
        "AWS4-HMAC-SHA256 Credential=AKIAX/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;x-amz-date,Signature=abc123",
        "AWS4-HMAC-SHA256 Credential=AKIAX/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc123",
        "  AWS4-HMAC-SHA256   Credential=AKIAX/20130524/us-east-1/s3/aws4_request ,  SignedHeaders=host;x-amz-date,Signature=abc123  ",
        /* components in another order */
        "AWS4-HMAC-SHA256 Signature=abc123, SignedHeaders=host;x-amz-date, Credential=AKIAX/20130524/us-east-1/s3/aws4_request",
    };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        assert_int_equal(sigv4_parse_authorization(SL(forms[i]), &A, &E), 0);
        assert_int_equal(A.algorithm, SIGV4_ALG_HMAC_SHA256);
        assert_false(A.presigned);
        SLICE_STR(A.access_key_id, "AKIAX");
        SLICE_STR(A.date, "20130524");
        SLICE_STR(A.region, "us-east-1");
        SLICE_STR(A.service, "s3");
        SLICE_STR(A.terminator, "aws4_request");
        SLICE_STR(A.scope, "20130524/us-east-1/s3/aws4_request");
        SLICE_STR(A.signed_headers, "host;x-amz-date");
        SLICE_STR(A.signature, "abc123");
    }
}

static void test_header_v4a(void **s)
{
    (void)s;
    assert_int_equal(sigv4_parse_authorization(SL(
        "AWS4-ECDSA-P256-SHA256 Credential=AKID/20150830/service/aws4_request, "
        "SignedHeaders=host;x-amz-date;x-amz-region-set, Signature=3045"), &A, &E), 0);
    assert_int_equal(A.algorithm, SIGV4_ALG_ECDSA_P256_SHA256);
    SLICE_STR(A.region, "");
    SLICE_STR(A.service, "service");
    SLICE_STR(A.scope, "20150830/service/aws4_request");
    /* a v4a credential with a region is the wrong shape */
    expect_hdr_fail("AWS4-ECDSA-P256-SHA256 Credential=AKID/20150830/us-east-1/service/aws4_request, SignedHeaders=host, Signature=30",
                    SIGV4_ERR_HEADER_MALFORMED, "AuthorizationHeaderMalformed", 400,
                    "The authorization header is malformed; the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".");
}

static void test_header_rejections(void **s)
{
    (void)s;
    expect_hdr_fail("AWS4-HMAC-SHA512 Credential=A/20130524/us-east-1/s3/aws4_request,SignedHeaders=host,Signature=ab",
                    SIGV4_ERR_INVALID_ARGUMENT, "InvalidArgument", 400, "Unsupported Authorization Type");
    expect_hdr_fail("Bearer abc", SIGV4_ERR_INVALID_ARGUMENT, "InvalidArgument", 400,
                    "Unsupported Authorization Type");
    expect_hdr_fail("AWS AKIAX:c2lnbmF0dXJl", SIGV4_ERR_INVALID_REQUEST, "InvalidRequest", 400,
                    "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.");
    expect_hdr_fail("AWS4-HMAC-SHA256 Credential=A/20130524/us-east-1/s3/aws4_request,Credential=B/20130524/us-east-1/s3/aws4_request,SignedHeaders=host,Signature=ab",
                    SIGV4_ERR_HEADER_MALFORMED, "AuthorizationHeaderMalformed", 400,
                    "The authorization header is malformed; the authorization component \"Credential\" appears more than once.");
    expect_hdr_fail("AWS4-HMAC-SHA256 Credential=A/20130524/us-east-1/s3/aws4_request,SignedHeaders=host,Signature=ab,Signature=cd",
                    SIGV4_ERR_HEADER_MALFORMED, "AuthorizationHeaderMalformed", 400,
                    "The authorization header is malformed; the authorization component \"Signature\" appears more than once.");
    expect_hdr_fail("AWS4-HMAC-SHA256 Credential=A/20130524/us-east-1/s3/aws4_request,SignedHeaders=host",
                    SIGV4_ERR_HEADER_MALFORMED, "AuthorizationHeaderMalformed", 400,
                    "The authorization header is malformed; the authorization header requires three components: Credential, SignedHeaders, and Signature.");
    expect_hdr_fail("AWS4-HMAC-SHA256 Credential=A/20130524/us-east-1/s3/aws4_request,SignedHeaders=host,Signature=ab,",
                    SIGV4_ERR_HEADER_MALFORMED, "AuthorizationHeaderMalformed", 400,
                    "The authorization header is malformed; the authorization header requires three components: Credential, SignedHeaders, and Signature.");
    expect_hdr_fail("AWS4-HMAC-SHA256 Credential=A/20130524/us-east-1/s3/aws4_request,SignedHeaders=host,Signature=ab,Foo=bar",
                    SIGV4_ERR_HEADER_MALFORMED, "AuthorizationHeaderMalformed", 400,
                    "The authorization header is malformed; the authorization component \"Foo\" is malformed.");
    expect_hdr_fail("AWS4-HMAC-SHA256 Credential=A/20130524/us-east-1/s3/aws4_request,SignedHeaders=,Signature=ab",
                    SIGV4_ERR_HEADER_MALFORMED, "AuthorizationHeaderMalformed", 400,
                    "The authorization header is malformed; the authorization component \"SignedHeaders\" is malformed.");
    const char *shape = "The authorization header is malformed; the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".";
    expect_hdr_fail("AWS4-HMAC-SHA256 Credential=A/20130524/us-east-1/aws4_request,SignedHeaders=host,Signature=ab",
                    SIGV4_ERR_HEADER_MALFORMED, "AuthorizationHeaderMalformed", 400, shape);
    expect_hdr_fail("AWS4-HMAC-SHA256 Credential=A/20130524/us-east-1/s3/aws4_request/x,SignedHeaders=host,Signature=ab",
                    SIGV4_ERR_HEADER_MALFORMED, "AuthorizationHeaderMalformed", 400, shape);
    expect_hdr_fail("AWS4-HMAC-SHA256 Credential=A/2013052/us-east-1/s3/aws4_request,SignedHeaders=host,Signature=ab",
                    SIGV4_ERR_HEADER_MALFORMED, "AuthorizationHeaderMalformed", 400, shape);
    expect_hdr_fail("AWS4-HMAC-SHA256 Credential=A/2013O524/us-east-1/s3/aws4_request,SignedHeaders=host,Signature=ab",
                    SIGV4_ERR_HEADER_MALFORMED, "AuthorizationHeaderMalformed", 400, shape);
    expect_hdr_fail("AWS4-HMAC-SHA256 Credential=/20130524/us-east-1/s3/aws4_request,SignedHeaders=host,Signature=ab",
                    SIGV4_ERR_HEADER_MALFORMED, "AuthorizationHeaderMalformed", 400, shape);
    expect_hdr_fail("AWS4-HMAC-SHA256 Credential=A/20130524/us-east-1/s3/aws4_reques,SignedHeaders=host,Signature=ab",
                    SIGV4_ERR_HEADER_MALFORMED, "AuthorizationHeaderMalformed", 400,
                    "The authorization header is malformed; incorrect terminal \"aws4_reques\". This endpoint uses \"aws4_request\".");
    /* echoed values are sanitised: no quotes or control bytes get through */
    expect_hdr_fail("AWS4-HMAC-SHA256 Credential=A/20130524/us-east-1/s3/a\"b\x01,SignedHeaders=host,Signature=ab",
                    SIGV4_ERR_HEADER_MALFORMED, "AuthorizationHeaderMalformed", 400,
                    "The authorization header is malformed; incorrect terminal \"a?b?\". This endpoint uses \"aws4_request\".");
}

#define Q_OK "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAX%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host%3Bx-amz-meta-a&X-Amz-Signature=aeee"

static void test_presigned_ok(void **s)
{
    (void)s;
    assert_int_equal(sigv4_parse_presigned(SL("prefix=a&" Q_OK "&X-Amz-Security-Token=tok%2Bx%3D%3D&z"), &A, &E), 0);
    assert_true(A.presigned);
    assert_int_equal(A.algorithm, SIGV4_ALG_HMAC_SHA256);
    SLICE_STR(A.credential, "AKIAX/20130524/us-east-1/s3/aws4_request");
    SLICE_STR(A.access_key_id, "AKIAX");
    SLICE_STR(A.region, "us-east-1");
    SLICE_STR(A.amz_date, "20130524T000000Z");
    SLICE_STR(A.expires, "86400");
    SLICE_STR(A.signed_headers, "host;x-amz-meta-a");
    SLICE_STR(A.signature, "aeee");
    SLICE_STR(A.security_token, "tok+x==");
    /* a parameter name written with an escape is the same parameter */
    assert_int_equal(sigv4_parse_presigned(SL(Q_OK "&X-Amz-Signatur%65=ff"), &A, &E), -1);
    assert_string_equal(E.message, "Error parsing the query string: the parameter X-Amz-Signature appears more than once.");
}

static void test_presigned_rejections(void **s)
{
    (void)s;
    assert_int_equal(sigv4_parse_presigned(SL("prefix=a&max-keys=2"), &A, &E), -1);
    assert_int_equal(E.code, SIGV4_ERR_ANONYMOUS);
    assert_int_equal(sigv4_parse_presigned(SL(""), &A, &E), -1);
    assert_int_equal(E.code, SIGV4_ERR_ANONYMOUS);
    const char *missing = "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.";
    expect_q_fail("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAX%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-SignedHeaders=host&X-Amz-Signature=aeee", missing);
    expect_q_fail("X-Amz-Signature=aeee", missing);
    expect_q_fail(Q_OK "&X-Amz-Signature=", "Error parsing the query string: the parameter X-Amz-Signature appears more than once.");
    expect_q_fail("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAX%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=10&X-Amz-SignedHeaders=host&X-Amz-Signature=", missing);
    expect_q_fail(Q_OK "&X-Amz-Date=20130524T000000Z", "Error parsing the query string: the parameter X-Amz-Date appears more than once.");
    expect_q_fail("X-Amz-Algorithm=AWS4-HMAC-SHA1&X-Amz-Credential=AKIAX%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeee",
                  "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\" and \"AWS4-ECDSA-P256-SHA256\"");
    expect_q_fail("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAX%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=-5&X-Amz-SignedHeaders=host&X-Amz-Signature=aeee",
                  "X-Amz-Expires must be non-negative");
    expect_q_fail("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAX%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=1e3&X-Amz-SignedHeaders=host&X-Amz-Signature=aeee",
                  "X-Amz-Expires should be a number");
    expect_q_fail("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAX%2F20130524%2Fus-east-1%2Fs3&X-Amz-Date=20130524T000000Z&X-Amz-Expires=10&X-Amz-SignedHeaders=host&X-Amz-Signature=aeee",
                  "Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".");
    expect_q_fail("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAX%2F20130524%2Fus-east-1%2Fs3%2Faws5_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=10&X-Amz-SignedHeaders=host&X-Amz-Signature=aeee",
                  "Error parsing the X-Amz-Credential parameter; incorrect terminal \"aws5_request\". This endpoint uses \"aws4_request\".");
    expect_q_fail("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAX%2G20130524&X-Amz-Date=20130524T000000Z&X-Amz-Expires=10&X-Amz-SignedHeaders=host&X-Amz-Signature=aeee",
                  "Error parsing the query string: the parameter X-Amz-Credential is not properly encoded.");
}

static void test_presigned_token_cap(void **s)
{
    (void)s;
    /* a token bigger than the decode store is an error, not an overflow */
    size_t n = SIGV4_AUTH_STORE + 100;
    char *q = malloc(strlen(Q_OK) + 32 + n);
    int k = sprintf(q, "%s&X-Amz-Security-Token=", Q_OK);
    memset(q + k, 'A', n);
    q[k + n] = '\0';
    expect_q_fail(q, "Error parsing the query string: the parameter X-Amz-Security-Token is too long.");
    free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_ok_both_separators),
        cmocka_unit_test(test_header_v4a),
        cmocka_unit_test(test_header_rejections),
        cmocka_unit_test(test_presigned_ok),
        cmocka_unit_test(test_presigned_rejections),
        cmocka_unit_test(test_presigned_token_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
