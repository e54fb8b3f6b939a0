/* test_s3err.c - S3 XML error documents and responses, byte for byte
 * against hand-written expectations (S3 API Reference, "Error responses"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "s3err.h"

static void test_xml_document(void **state)
{
    (void)state;
    struct s3w_buf b;
    s3w_buf_init(&b, 4096);
    assert_int_equal(s3err_xml(&b, "NoSuchKey", S3W_SLICE_LIT("The specified key does not exist."),
                               NULL, 0, S3W_SLICE_LIT("/mybucket/myfoto.jpg"), S3W_SLICE_LIT("4442587FB7D0A2F9"),
                               S3W_SLICE_LIT("host1")), 0);
    assert_string_equal(b.ptr,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message>"
        "<Resource>/mybucket/myfoto.jpg</Resource><RequestId>4442587FB7D0A2F9</RequestId>"
        "<HostId>host1</HostId></Error>");
    s3w_buf_cleanup(&b);
}

static void test_xml_escaping(void **state)
{
    (void)state;
    struct s3w_buf b;
    s3w_buf_init(&b, 4096);
    /* a message and a resource carrying every XML special and a control byte */
    assert_int_equal(s3err_xml(&b, "AccessDenied", S3W_SLICE_LIT("on resource: \"a<b>&'c\""),
                               NULL, 0, S3W_SLICE_LIT("/b/k\x01"), S3W_SLICE_LIT("R"), S3W_SLICE_LIT("H")), 0);
    assert_non_null(strstr(b.ptr, "<Message>on resource: &quot;a&lt;b&gt;&amp;&apos;c&quot;</Message>"));
    assert_non_null(strstr(b.ptr, "<Resource>/b/k?</Resource>"));
    s3w_buf_cleanup(&b);
    /* an empty resource leaves the element out */
    s3w_buf_init(&b, 4096);
    s3err_xml(&b, "BadRequest", S3W_SLICE_LIT("m"), NULL, 0, S3W_SLICE_NULL, S3W_SLICE_LIT("R"), S3W_SLICE_LIT("H"));
    assert_null(strstr(b.ptr, "<Resource>"));
    s3w_buf_cleanup(&b);
}

/* The elements some errors carry go after the message, in the order given,
 * before the resource and ids (S3's AccessDenied for unsigned headers:
 * <Message>There were headers present in the request which were not
 * signed</Message><HeadersNotSigned>x-amz-meta-a, x-amz-meta-b
 * </HeadersNotSigned><RequestId>; its SignatureDoesNotMatch:
 * <AWSAccessKeyId>, <StringToSign>, <SignatureProvided>, ...) */
static void test_xml_details(void **state)
{
    (void)state;
    struct s3w_buf b;
    s3w_buf_init(&b, 4096);
    struct s3err_detail d[2] = {
        { .name = "HeadersNotSigned", .value = S3W_SLICE_LIT("x-amz-acl, x-amz-meta-<&>") },
        { .name = "StringToSign", .value = S3W_SLICE_LIT("AWS4-HMAC-SHA256\n20231114T221320Z") },
    };
    assert_int_equal(s3err_xml(&b, "AccessDenied",
                               S3W_SLICE_LIT("There were headers present in the request which were not signed"),
                               d, 2, S3W_SLICE_LIT("/b/k"), S3W_SLICE_LIT("R"), S3W_SLICE_LIT("H")), 0);
    assert_string_equal(b.ptr,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<Error><Code>AccessDenied</Code>"
        "<Message>There were headers present in the request which were not signed</Message>"
        "<HeadersNotSigned>x-amz-acl, x-amz-meta-&lt;&amp;&gt;</HeadersNotSigned>"
        "<StringToSign>AWS4-HMAC-SHA256\n20231114T221320Z</StringToSign>"
        "<Resource>/b/k</Resource><RequestId>R</RequestId><HostId>H</HostId></Error>");
    s3w_buf_cleanup(&b);

    /* a detail larger than an error's usual room still makes the response
     * (a SignatureDoesNotMatch shows a canonical request of up to 16 KiB,
     * and its bytes, three characters each), escaped at six bytes a quote */
    static char big[20000];
    memset(big, '"', sizeof big);
    struct s3err_detail large = { .name = "CanonicalRequest", .value = s3w_slice(big, sizeof big) };
    s3w_buf_init(&b, 32 * 1024 + s3err_details_room(&large, 1));
    assert_int_equal(s3err_response(&b, 403, "SignatureDoesNotMatch", S3W_SLICE_LIT("m"), &large, 1,
                                    S3W_SLICE_NULL, S3W_SLICE_LIT("R"), S3W_SLICE_LIT("H"), false, false), 0);
    const char *v = strstr(b.ptr, "<CanonicalRequest>");
    assert_non_null(v);
    v += strlen("<CanonicalRequest>");
    for (size_t i = 0; i < sizeof big; i++)
        assert_memory_equal(v + 6 * i, "&quot;", 6);
    assert_memory_equal(v + 6 * sizeof big, "</CanonicalRequest>", 19);
    s3w_buf_cleanup(&b);
}

/* An error response's head, with one detail (NUL-terminated at the blank
 * line: the head only); freed by the caller. */
static char *head_with(struct s3err_detail d)
{
    struct s3w_buf b;
    s3w_buf_init(&b, 8192);
    assert_int_equal(s3err_response(&b, 400, "AuthorizationHeaderMalformed", S3W_SLICE_LIT("m"), &d, 1,
                                    S3W_SLICE_NULL, S3W_SLICE_LIT("R"), S3W_SLICE_LIT("H"), true, false), 0);
    *strstr(b.ptr, "\r\n\r\n") = '\0';
    return b.ptr;
}

/* A detail with a header goes in the head too (S3's <Region> and its
 * x-amz-bucket-region: a HEAD's answer has only the header), never a value
 * that could split the head; one without a header does not */
static void test_response_detail_header(void **state)
{
    (void)state;
    struct s3err_detail region = { .name = "Region", .value = S3W_SLICE_LIT("eu-west-1"),
                                   .header = "x-amz-bucket-region" };
    char *h = head_with(region);
    assert_non_null(strstr(h, "\r\nx-amz-bucket-region: eu-west-1\r\nDate: "));
    free(h);
    region.value = S3W_SLICE_LIT("eu-west-1\r\nSet-Cookie: x");
    h = head_with(region);
    assert_null(strstr(h, "x-amz-bucket-region"));
    assert_null(strstr(h, "Set-Cookie"));
    free(h);
    region.header = NULL;
    region.value = S3W_SLICE_LIT("eu-west-1");
    h = head_with(region);
    assert_null(strstr(h, "eu-west-1"));
    free(h);
}

/* A detail without a name is a header alone (S3's Allow on a 405): in the
 * head, not in the document, and no room counted for it */
static void test_response_header_only_detail(void **state)
{
    (void)state;
    struct s3err_detail d[] = {
        { "Method", S3W_SLICE_LIT("PUT"), NULL },
        { NULL, S3W_SLICE_LIT("DELETE, POST, GET"), "Allow" },
    };
    struct s3w_buf b;
    s3w_buf_init(&b, 8192);
    assert_int_equal(s3err_response(&b, 405, "MethodNotAllowed", S3W_SLICE_LIT("m"), d, 2,
                                    S3W_SLICE_NULL, S3W_SLICE_LIT("R"), S3W_SLICE_LIT("H"), false,
                                    false), 0);
    assert_non_null(s3w_buf_append(&b, "", 1) == 0 ? b.ptr : NULL);
    assert_non_null(strstr(b.ptr, "\r\nAllow: DELETE, POST, GET\r\nDate: "));
    assert_non_null(strstr(b.ptr, "<Message>m</Message><Method>PUT</Method><RequestId>R</RequestId>"));
    assert_null(strstr(b.ptr, "DELETE, POST, GET</"));
    assert_int_equal(s3err_details_room(d + 1, 1), 0);
    s3w_buf_cleanup(&b);
}

static void test_response_head_request(void **state)
{
    (void)state;
    struct s3w_buf b;
    s3w_buf_init(&b, 8192);
    assert_int_equal(s3err_response(&b, 403, "AccessDenied", S3W_SLICE_LIT("Access Denied"),
                                    NULL, 0, S3W_SLICE_LIT("/b/k"), S3W_SLICE_LIT("ABCDEF0123456789"),
                                    S3W_SLICE_LIT("hid"), true, false), 0);
    assert_true(strncmp(b.ptr, "HTTP/1.1 403 Forbidden\r\n", 24) == 0);
    assert_non_null(strstr(b.ptr, "\r\nx-amz-request-id: ABCDEF0123456789\r\n"));
    assert_non_null(strstr(b.ptr, "\r\nContent-Type: application/xml\r\n"));
    /* HEAD: the head announces the length of the body GET would get, and
     * no body follows */
    assert_null(strstr(b.ptr, "<Error>"));
    assert_true(b.len > 4 && memcmp(b.ptr + b.len - 4, "\r\n\r\n", 4) == 0);
    assert_null(strstr(b.ptr, "Connection: close"));
    s3w_buf_cleanup(&b);

    s3w_buf_init(&b, 8192);
    s3err_response(&b, 502, "BadGateway", S3W_SLICE_LIT("x"), NULL, 0, S3W_SLICE_NULL,
                   S3W_SLICE_LIT("R"), S3W_SLICE_LIT("H"), false, true);
    assert_true(strncmp(b.ptr, "HTTP/1.1 502 Bad Gateway\r\n", 26) == 0);
    assert_non_null(strstr(b.ptr, "Connection: close\r\n"));
    const char *body = strstr(b.ptr, "\r\n\r\n") + 4;
    char cl[64];
    snprintf(cl, sizeof(cl), "Content-Length: %zu\r\n", strlen(body));
    assert_non_null(strstr(b.ptr, cl));
    assert_non_null(strstr(body, "<Code>BadGateway</Code>"));
    s3w_buf_cleanup(&b);
}

static void test_reasons(void **state)
{
    (void)state;
    assert_string_equal(s3err_reason(431), "Request Header Fields Too Large");
    assert_string_equal(s3err_reason(504), "Gateway Timeout");
    assert_string_equal(s3err_reason(299), "Unknown");
    assert_string_equal(s3err_default_message("AccessDenied"), "Access Denied");
    assert_null(s3err_default_message("NoSuchThing"));
    char d[30];
    s3err_http_date(0, d);
    assert_string_equal(d, "Thu, 01 Jan 1970 00:00:00 GMT");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xml_document),
        cmocka_unit_test(test_xml_escaping),
        cmocka_unit_test(test_xml_details),
        cmocka_unit_test(test_response_head_request),
        cmocka_unit_test(test_response_detail_header),
        cmocka_unit_test(test_response_header_only_detail),
        cmocka_unit_test(test_reasons),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
