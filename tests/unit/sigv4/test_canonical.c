/*
 * test_canonical.c - canonical URI / query / headers by hand-written
 * expectations derived from the AWS rules (not from our output): S3's
 * single encoding without normalisation, the generic double encoding with
 * normalisation, query sorting and empty values, header trimming and joining.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <cmocka.h>

#include "test_sigv4core_util.h"

#define SL(s) s3w_slice_cstr(s)

static void uri(enum sigv4_uri_mode m, const char *in, const char *want)
{
    struct s3w_buf b;
    s3w_buf_init(&b, 4096);
    int rc = sigv4_canonical_uri(SL(in), m, &b);
    if (rc || strcmp(b.ptr ? b.ptr : "", want)) {
        print_error("uri(%d, \"%s\"): rc %d got \"%s\" want \"%s\"\n", m, in,
                    rc, b.ptr ? b.ptr : "", want);
        fail();
    }
    s3w_buf_cleanup(&b);
}

static void uri_fail(enum sigv4_uri_mode m, const char *in, int want_rc)
{
    struct s3w_buf b;
    s3w_buf_init(&b, 4096);
    assert_int_equal(sigv4_canonical_uri(SL(in), m, &b), want_rc);
    s3w_buf_cleanup(&b);
}

static void test_uri_s3(void **s)
{
    (void)s;
    uri(SIGV4_URI_S3, "", "/");
    uri(SIGV4_URI_S3, "/", "/");
    uri(SIGV4_URI_S3, "test$file.text", "/test%24file.text");  /* S3 doc example */
    uri(SIGV4_URI_S3, "/bucket/a%20b", "/bucket/a%20b");
    uri(SIGV4_URI_S3, "/bucket/a b", "/bucket/a%20b");
    uri(SIGV4_URI_S3, "/bucket/a+b", "/bucket/a%2Bb");         /* '+' is a plus in a path */
    uri(SIGV4_URI_S3, "/bucket/a%2Bb", "/bucket/a%2Bb");
    uri(SIGV4_URI_S3, "/bucket/100%25", "/bucket/100%25");     /* encoded once, not twice */
    uri(SIGV4_URI_S3, "/bucket/%E1%88%B4", "/bucket/%E1%88%B4");
    uri(SIGV4_URI_S3, "/bucket/%e1%88%b4", "/bucket/%E1%88%B4");  /* hex case normalised */
    uri(SIGV4_URI_S3, "/bucket/\xe1\x88\xb4", "/bucket/%E1%88%B4");
    uri(SIGV4_URI_S3, "/bucket/%7Euser/~x", "/bucket/~user/~x");  /* '~' unreserved */
    uri(SIGV4_URI_S3, "/bucket/a=b&c", "/bucket/a%3Db%26c");
    uri(SIGV4_URI_S3, "/bucket/a%2Fb", "/bucket/a%2Fb");       /* an encoded slash stays in the segment */
    /* never normalised: "//", ".", ".." and trailing slashes are key bytes */
    uri(SIGV4_URI_S3, "/bucket//a/./b/../c/", "/bucket//a/./b/../c/");
    uri(SIGV4_URI_S3, "/bucket/..", "/bucket/..");
    uri(SIGV4_URI_S3, "//", "//");
    uri_fail(SIGV4_URI_S3, "/bucket/%zz", S3W_E_INVAL);
    uri_fail(SIGV4_URI_S3, "/bucket/%4", S3W_E_INVAL);
    uri_fail(SIGV4_URI_S3, "/bucket/%", S3W_E_INVAL);
}

static void test_uri_generic(void **s)
{
    (void)s;
    uri(SIGV4_URI_GENERIC, "/%E1%88%B4", "/%25E1%2588%25B4");   /* double encoding */
    uri(SIGV4_URI_GENERIC, "/example space/", "/example%20space/");
    uri(SIGV4_URI_GENERIC, "//example//", "/example/");
    uri(SIGV4_URI_GENERIC, "/./", "/");
    uri(SIGV4_URI_GENERIC, "/example/..", "/");
    uri(SIGV4_URI_GENERIC, "/example1/example2/../..", "/");
    uri(SIGV4_URI_GENERIC, "/a/./b/../c//d/", "/a/c/d/");
    uri(SIGV4_URI_GENERIC, "/../..", "/");
    uri(SIGV4_URI_GENERIC_UNNORMALIZED, "//example//", "//example//");
    uri(SIGV4_URI_GENERIC_UNNORMALIZED, "/a/../b%20", "/a/../b%2520");
    assert_int_equal(sigv4_uri_mode_for_service(SL("s3")), SIGV4_URI_S3);
    assert_int_equal(sigv4_uri_mode_for_service(SL("sts")), SIGV4_URI_GENERIC);
}

static void query(const char *in, bool excl, const char *want)
{
    struct s3w_buf b;
    s3w_buf_init(&b, 65536);
    int rc = sigv4_canonical_query(SL(in), excl, &b);
    if (rc || strcmp(b.ptr ? b.ptr : "", want)) {
        print_error("query(\"%s\"): rc %d got \"%s\" want \"%s\"\n", in, rc,
                    b.ptr ? b.ptr : "", want);
        fail();
    }
    s3w_buf_cleanup(&b);
}

static void test_query(void **s)
{
    (void)s;
    query("", false, "");
    query("lifecycle", false, "lifecycle=");                 /* S3 doc example */
    query("max-keys=2&prefix=J", false, "max-keys=2&prefix=J");
    query("prefix=J&max-keys=2", false, "max-keys=2&prefix=J");
    query("b=2&a=1&a=0", false, "a=0&a=1&b=2");              /* repeated key: by value */
    query("a=&b", false, "a=&b=");                           /* empty values */
    query("=v&a=1", false, "=v&a=1");                        /* empty key sorts first */
    query("a=1&&b=2&", false, "a=1&b=2");                    /* empty pieces carry nothing */
    query("prefix=dir/&delimiter=/", false, "delimiter=%2F&prefix=dir%2F");
    query("k=a+b", false, "k=a%2Bb");                        /* '+' is a plus */
    query("k=a%20b&j=%7e", false, "j=~&k=a%20b");
    query("k=%3d%3D", false, "k=%3D%3D");
    query("Param=2&%E1%88%B4=1&Param-3=x", false, "%E1%88%B4=1&Param=2&Param-3=x");
    query("Param1=value2&Param1=Value1", false, "Param1=Value1&Param1=value2");
    query("a=1&X-Amz-Signature=abc&b=2", true, "a=1&b=2");
    query("a=1&X-Amz-Signature=abc&b=2", false, "X-Amz-Signature=abc&a=1&b=2");
    query("k=\xe2\x82\xac", false, "k=%E2%82%AC");
    struct s3w_buf b;
    s3w_buf_init(&b, 65536);
    assert_int_equal(sigv4_canonical_query(SL("a=%G1"), false, &b), S3W_E_INVAL);
    /* more than SIGV4_MAX_QUERY_PARAMS parameters */
    char big[SIGV4_MAX_QUERY_PARAMS * 4 + 16];
    size_t k = 0;
    for (int i = 0; i <= SIGV4_MAX_QUERY_PARAMS; i++) {
        big[k++] = 'a';
        big[k++] = '=';
        big[k++] = '1';
        big[k++] = '&';
    }
    big[k] = '\0';
    assert_int_equal(sigv4_canonical_query(SL(big), false, &b), S3W_E_INVAL);
    /* output cap honoured */
    struct s3w_buf small;
    s3w_buf_init(&small, 8);
    assert_int_equal(sigv4_canonical_query(SL("abcdef=ghijkl"), false, &small), S3W_E_TOOBIG);
    s3w_buf_cleanup(&small);
    s3w_buf_cleanup(&b);
}

static void test_headers(void **s)
{
    (void)s;
    struct s3w_header h[] = {
        { SL("Host"), SL("example.com") },
        { SL("My-Header1"), SL("  a   b   c  ") },
        { SL("X-Amz-Meta-Dup"), SL("value2") },
        { SL("my-header2"), SL("\"a   b   c\"") },
        { SL("x-amz-meta-dup"), SL(" value2") },
        { SL("X-AMZ-META-DUP"), SL("value1 ") },
        { SL("x-amz-empty"), SL("") },
        { SL("tabs"), SL("\ta\t\tb\t") },
    };
    struct s3w_buf b;
    s3w_buf_init(&b, 4096);
    assert_int_equal(sigv4_canonical_headers(h, 8, SL("host;my-header1;my-header2;tabs;x-amz-empty;x-amz-meta-dup"), &b), 0);
    assert_string_equal(b.ptr,
        "host:example.com\n"
        "my-header1:a b c\n"
        "my-header2:\"a b c\"\n"
        "tabs:a b\n"
        "x-amz-empty:\n"
        "x-amz-meta-dup:value2,value2,value1\n");
    s3w_buf_reset(&b);
    /* a signed header that is not in the request */
    assert_int_equal(sigv4_canonical_headers(h, 8, SL("host;x-amz-date"), &b), S3W_E_INVAL);
    s3w_buf_reset(&b);
    assert_int_equal(sigv4_canonical_headers(h, 8, SL("host;;tabs"), &b), S3W_E_INVAL);
    s3w_buf_cleanup(&b);
}

static void test_payload_modes(void **s)
{
    (void)s;
    uint8_t h[32];
    assert_int_equal(sigv4_payload_mode_parse(SL("UNSIGNED-PAYLOAD"), NULL), SIGV4_PAYLOAD_UNSIGNED);
    assert_int_equal(sigv4_payload_mode_parse(SL("STREAMING-AWS4-HMAC-SHA256-PAYLOAD"), NULL), SIGV4_PAYLOAD_STREAMING_HMAC);
    assert_int_equal(sigv4_payload_mode_parse(SL("STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"), NULL), SIGV4_PAYLOAD_STREAMING_HMAC_TRAILER);
    assert_int_equal(sigv4_payload_mode_parse(SL("STREAMING-UNSIGNED-PAYLOAD-TRAILER"), NULL), SIGV4_PAYLOAD_STREAMING_UNSIGNED_TRAILER);
    assert_int_equal(sigv4_payload_mode_parse(SL("STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD"), NULL), SIGV4_PAYLOAD_STREAMING_ECDSA);
    assert_int_equal(sigv4_payload_mode_parse(SL("STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER"), NULL), SIGV4_PAYLOAD_STREAMING_ECDSA_TRAILER);
    assert_int_equal(sigv4_payload_mode_parse(SL("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"), h), SIGV4_PAYLOAD_SIGNED);
    assert_int_equal(h[0], 0xe3);
    assert_int_equal(h[31], 0x55);
    assert_int_equal(sigv4_payload_mode_parse(SL("unsigned-payload"), NULL), 0);
    assert_int_equal(sigv4_payload_mode_parse(SL("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85"), NULL), 0);
    assert_int_equal(sigv4_payload_mode_parse(SL("STREAMING-AWS4-HMAC-SHA256-PAYLOAD "), NULL), 0);
}

static void test_dates(void **s)
{
    (void)s;
    int64_t t;
    assert_int_equal(sigv4_parse_amz_date(SL("20150830T123600Z"), &t), 0);
    assert_int_equal(t, 1440938160);
    assert_int_equal(sigv4_parse_amz_date(SL("20000229T000000Z"), &t), 0);
    assert_int_equal(t, 951782400);
    assert_int_equal(sigv4_parse_amz_date(SL("20010229T000000Z"), &t), -1);
    assert_int_equal(sigv4_parse_amz_date(SL("20150830T123600"), &t), -1);
    assert_int_equal(sigv4_parse_amz_date(SL("20151330T123600Z"), &t), -1);
    assert_int_equal(sigv4_parse_amz_date(SL("2015083OT123600Z"), &t), -1);
    char out[17];
    sigv4_format_amz_date(1369353600, out);
    assert_string_equal(out, "20130524T000000Z");
    sigv4_format_amz_date(951868799, out);
    assert_string_equal(out, "20000229T235959Z");
}

static void test_signing_key_long_secret(void **s)
{
    (void)s;
    /* "AWS4"+secret longer than the HMAC block is hashed first (RFC 2104):
     * same as passing the hash as the key. */
    char secret[200];
    memset(secret, 'k', sizeof secret);
    uint8_t k1[32], k2[32], kd[32], h[32];
    sigv4_signing_key(s3w_slice(secret, sizeof secret), SL("20150830"),
                      SL("us-east-1"), SL("s3"), k1);
    char full[204];
    memcpy(full, "AWS4", 4);
    memcpy(full + 4, secret, sizeof secret);
    sigv4_sha256(full, sizeof full, h);
    sigv4_hmac_sha256(h, 32, "20150830", 8, kd);
    sigv4_hmac_sha256(kd, 32, "us-east-1", 9, k2);
    sigv4_hmac_sha256(k2, 32, "s3", 2, kd);
    sigv4_hmac_sha256(kd, 32, "aws4_request", 12, k2);
    assert_memory_equal(k1, k2, 32);
}

/* The constant empty hash is the hash of nothing, and the streaming hash
 * equals the one-shot one however the input is cut. */
static void test_sha256_empty_and_stream(void **s)
{
    (void)s;
    uint8_t h[32], g[32];
    sigv4_sha256("", 0, h);
    assert_memory_equal(sigv4_sha256_empty, h, 32);
    char msg[300];
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (char)(i * 7 + 1);
    sigv4_sha256(msg, sizeof msg, h);
    for (size_t cut = 0; cut <= sizeof msg; cut += 37) {
        struct sigv4_sha256_stream st;
        sigv4_sha256_begin(&st);
        sigv4_sha256_add(&st, msg, cut);
        sigv4_sha256_add(&st, msg + cut, sizeof msg - cut);
        sigv4_sha256_end(&st, g);
        assert_memory_equal(g, h, 32);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uri_s3),
        cmocka_unit_test(test_uri_generic),
        cmocka_unit_test(test_query),
        cmocka_unit_test(test_headers),
        cmocka_unit_test(test_payload_modes),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_signing_key_long_secret),
        cmocka_unit_test(test_sha256_empty_and_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
