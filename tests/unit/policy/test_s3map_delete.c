/*
 * test_s3map_delete.c - DeleteObjects bodies (API reference, DeleteObjects
 * request syntax) and their per-key authorizations: s3:DeleteObject, or
 * s3:DeleteObjectVersion for a <VersionId>; MalformedXML for anything S3
 * would not accept, including more than 1000 keys.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "s3map.h"

static struct s3map_delete_list list;
static char scratch[S3MAP_DELETE_MAX_BODY];

static int parse(const char *body)
{
    return s3map_parse_delete(s3w_slice_cstr(body), scratch, sizeof scratch, &list);
}

static void test_basic_body(void **state)
{
    (void)state;
    const char *body =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n"
        "  <Object><Key>photos/a.jpg</Key></Object>\n"
        "  <Object>\n    <Key> spaced key </Key>\n    <VersionId>3sL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY</VersionId>\n"
        "  </Object>\n"
        "  <!-- a comment -->\n"
        "  <Quiet>true</Quiet>\n"
        "</Delete>\n";
    assert_int_equal(parse(body), 0);
    assert_int_equal(list.n, 2);
    assert_true(list.quiet);
    assert_true(s3w_slice_eq_cstr(list.objects[0].key, "photos/a.jpg"));
    assert_null(list.objects[0].version_id.ptr);
    assert_true(s3w_slice_eq_cstr(list.objects[1].key, " spaced key "));
    assert_true(s3w_slice_eq_cstr(list.objects[1].version_id, "3sL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"));

    /* what boto3 sends: no prolog, no namespace, Quiet false */
    assert_int_equal(parse("<Delete><Object><Key>k</Key></Object><Quiet>false</Quiet></Delete>"), 0);
    assert_int_equal(list.n, 1);
    assert_false(list.quiet);
    /* conditional-delete fields are kept, decoded, for the body sent
     * upstream (probe 33: dropped, the delete was unconditional) */
    assert_int_equal(parse("<Delete><Object><Key>k</Key><ETag>&quot;e&quot;</ETag>"
                           "<LastModifiedTime>2025-01-01T00:00:00Z</LastModifiedTime>"
                           "<Size>3</Size></Object><Object><Key>j</Key><Size>0</Size></Object>"
                           "</Delete>"),
                     0);
    assert_int_equal(list.n, 2);
    assert_true(s3w_slice_eq_cstr(list.objects[0].etag, "\"e\""));
    assert_true(s3w_slice_eq_cstr(list.objects[0].last_modified_time, "2025-01-01T00:00:00Z"));
    assert_true(s3w_slice_eq_cstr(list.objects[0].size, "3"));
    assert_null(list.objects[1].etag.ptr);
    assert_null(list.objects[1].last_modified_time.ptr);
    assert_true(s3w_slice_eq_cstr(list.objects[1].size, "0"));
}

static void test_entities(void **state)
{
    (void)state;
    assert_int_equal(parse("<Delete><Object><Key>a&amp;b&lt;c&gt;&quot;&apos;&#65;&#x20AC;"
                           "&#x1F600;</Key></Object>"
                           "<Object><Key><![CDATA[x&y<z>]]>tail</Key></Object></Delete>"),
                     0);
    assert_int_equal(list.n, 2);
    assert_true(s3w_slice_eq_cstr(list.objects[0].key,
                                  "a&b<c>\"'A\xE2\x82\xAC\xF0\x9F\x98\x80"));
    assert_true(s3w_slice_eq_cstr(list.objects[1].key, "x&y<z>tail"));
}

static void test_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "not xml",
        "<Delete>",
        "<Delete></Delete>",                                          /* no objects */
        "<Delete><Object></Object></Delete>",                         /* no key */
        "<Delete><Object><Key></Key></Object></Delete>",              /* empty key */
        "<Delete><Object><Key/></Object></Delete>",
        "<Delete><Object><Key>a</Key><Key>b</Key></Object></Delete>", /* two keys */
        "<Delete><Object><Key>a</Key><Foo>1</Foo></Object></Delete>", /* unknown element */
        "<Delete><Object><Keys>a</Keys></Object></Delete>",
        "<Delete><Object><Key>a&nbsp;b</Key></Object></Delete>",       /* undeclared entity */
        "<Delete><Object><Key>a & b</Key></Object></Delete>",          /* raw '&' */
        "<Delete><Object><Key>a&#0;</Key></Object></Delete>",          /* not an XML Char */
        "<Delete><Object><Key>a&#xD800;</Key></Object></Delete>",      /* surrogate */
        "<Delete><Object><Key>a&#;</Key></Object></Delete>",
        "<Delete><Object><Key>a\x01</Key></Object></Delete>",          /* control byte */
        "<Delete><Object><Key>a<b>c</b></Key></Object></Delete>",      /* nested element */
        "<Delete><Object><Key>a</Key></Object><Quiet>yes</Quiet></Delete>",
        "<Delete><Object><Key>a</Key></Object><Quiet>true</Quiet><Quiet>true</Quiet></Delete>",
        "<Delete><Object><Key>a</Key></Object></Delete>trailing",
        "<Delete><Object><Key>a</Key></Object></Delete><Delete/>",
        "<Delete><Object><Key>a</Key><VersionId></VersionId></Object></Delete>",
        "<Delete foo=\"1\"><Object><Key>a</Key></Object></Delete>",     /* non-namespace attr */
        "<Deleted><Object><Key>a</Key></Object></Deleted>",
        "<Delete><Object><Key>a</Key></Object><!-- x -- y --></Delete>",
        "<Delete><Object><Key>a</Key></Object><!-- unterminated",
        "<Delete><Object><Key><![CDATA[a</Key></Object></Delete>",      /* unterminated CDATA */
        "<Delete><Object><Key>a</Key></Object></Delete",
        "<?xml version=\"1.0\"<Delete><Object><Key>a</Key></Object></Delete>",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = parse(bad[i]);
        if (rc != S3MAP_E_MALFORMED_XML)
            fail_msg("body %zu \"%s\": %d", i, bad[i], rc);
        assert_int_equal(list.n, 0); /* nothing half-parsed survives */
    }
    assert_string_equal(s3map_error_code(S3MAP_E_MALFORMED_XML), "MalformedXML");
    assert_int_equal(s3map_error_status(S3MAP_E_MALFORMED_XML), 400);
    assert_string_equal(s3map_strerror(S3MAP_E_MALFORMED_XML),
                        "The XML you provided was not well-formed or did not validate against "
                        "our published schema");
}

static char *body_with_keys(size_t n, size_t keylen)
{
    size_t cap = 64 + n * (keylen + 40);
    char *b = malloc(cap);
    assert_non_null(b);
    size_t o = (size_t)snprintf(b, cap, "<Delete>");
    for (size_t i = 0; i < n; i++) {
        o += (size_t)snprintf(b + o, cap - o, "<Object><Key>%06zu", i);
        for (size_t j = 6; j < keylen; j++)
            b[o++] = 'k';
        o += (size_t)snprintf(b + o, cap - o, "</Key></Object>");
    }
    snprintf(b + o, cap - o, "</Delete>");
    return b;
}

static void test_limits(void **state)
{
    (void)state;
    char *b = body_with_keys(1000, 16);
    assert_int_equal(parse(b), 0);
    assert_int_equal(list.n, 1000);
    assert_true(s3w_slice_eq_cstr(list.objects[999].key, "000999kkkkkkkkkk"));
    free(b);
    b = body_with_keys(1001, 16);
    assert_int_equal(parse(b), S3MAP_E_MALFORMED_XML);
    assert_int_equal(list.n, 0);
    free(b);
    /* keys of S3's maximum length pass, one byte more does not */
    b = body_with_keys(1, S3MAP_MAX_KEY_BYTES);
    assert_int_equal(parse(b), 0);
    free(b);
    b = body_with_keys(1, S3MAP_MAX_KEY_BYTES + 1);
    assert_int_equal(parse(b), S3MAP_E_MALFORMED_XML);
    free(b);
    /* over the body cap: refused before parsing */
    static char big[S3MAP_DELETE_MAX_BODY + 1];
    memset(big, ' ', sizeof big);
    assert_int_equal(s3map_parse_delete(s3w_slice(big, sizeof big), scratch, sizeof scratch, &list),
                     S3MAP_E_MALFORMED_XML);
    /* scratch smaller than the body is the caller's bug: said so */
    assert_int_equal(s3map_parse_delete(S3W_SLICE_LIT("<Delete><Object><Key>a</Key></Object></Delete>"),
                                        scratch, 4, &list),
                     S3MAP_E_TOO_BIG);
}

static void test_per_key_authz(void **state)
{
    (void)state;
    static struct s3map_result res;
    static const struct s3w_header bypass[] = {
        { S3W_SLICE_LIT("x-amz-bypass-governance-retention"), S3W_SLICE_LIT("true") },
    };
    struct s3map_request req = { S3W_SLICE_LIT("POST"), S3W_SLICE_LIT("bkt"), S3W_SLICE_NULL,
                                 S3W_SLICE_LIT("delete"), NULL, 0 };
    assert_int_equal(s3map_map(&req, &res), 0);
    assert_true(res.flags & S3MAP_F_DELETE_BODY);
    assert_int_equal(parse("<Delete><Object><Key>a&amp;b/c</Key></Object>"
                           "<Object><Key>v</Key><VersionId>V1</VersionId></Object></Delete>"),
                     0);
    char arn[S3MAP_ARN_MAX];
    struct s3map_authz az[2];
    size_t n;
    struct policy_context ctx;
    policy_context_init(&ctx);
    assert_int_equal(s3map_delete_authz(&res, req.bucket, &list.objects[0], arn, sizeof arn, az,
                                        &n, &ctx),
                     0);
    assert_int_equal(n, 1);
    assert_true(s3w_slice_eq_cstr(az[0].action, "s3:DeleteObject"));
    assert_true(s3w_slice_eq_cstr(az[0].resource, "arn:aws:s3:::bkt/a&b/c"));
    assert_null(policy_context_get(&ctx, S3W_SLICE_LIT("s3:versionid")));
    assert_int_equal(s3map_delete_authz(&res, req.bucket, &list.objects[1], arn, sizeof arn, az,
                                        &n, &ctx),
                     0);
    assert_int_equal(n, 1);
    assert_true(s3w_slice_eq_cstr(az[0].action, "s3:DeleteObjectVersion"));
    assert_true(s3w_slice_eq_cstr(az[0].resource, "arn:aws:s3:::bkt/v"));
    const struct policy_ctx_entry *e = policy_context_get(&ctx, S3W_SLICE_LIT("s3:versionid"));
    assert_non_null(e);
    assert_true(s3w_slice_eq_cstr(e->values[0], "V1"));
    /* the next key without a version must not inherit V1 */
    assert_int_equal(s3map_delete_authz(&res, req.bucket, &list.objects[0], arn, sizeof arn, az,
                                        &n, &ctx),
                     0);
    assert_null(policy_context_get(&ctx, S3W_SLICE_LIT("s3:versionid")));

    req.headers = bypass;
    req.nheaders = 1;
    assert_int_equal(s3map_map(&req, &res), 0);
    assert_int_equal(res.nauthz, 0);
    assert_int_equal(s3map_delete_authz(&res, req.bucket, &list.objects[1], arn, sizeof arn, az,
                                        &n, NULL),
                     0);
    assert_int_equal(n, 2);
    assert_true(s3w_slice_eq_cstr(az[1].action, "s3:BypassGovernanceRetention"));
    assert_true(s3w_slice_eq_cstr(az[1].resource, "arn:aws:s3:::bkt/v"));
    /* ARN buffer too small: refused, not truncated */
    assert_int_equal(s3map_delete_authz(&res, req.bucket, &list.objects[0], arn, 10, az, &n, NULL),
                     S3MAP_E_TOO_BIG);
    assert_int_equal(n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_body),
        cmocka_unit_test(test_entities),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_per_key_authz),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
