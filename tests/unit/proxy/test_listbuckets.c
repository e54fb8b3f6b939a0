/* test_listbuckets.c - ListBuckets through s3warden lists only the caller's
 * account's buckets, under their client-side names (listbuckets.h). The
 * upstream documents are S3's (S3 API Reference, ListBuckets, "Response
 * Syntax"); expected outputs are written out by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "listbuckets.h"

#define HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" \
             "<ListAllMyBucketsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">" \
             "<Owner><ID>abc123</ID><DisplayName>proxy</DisplayName></Owner>"
#define B(n) "<Bucket><Name>" n "</Name><CreationDate>2026-01-02T03:04:05.000Z</CreationDate></Bucket>"
#define BR(n) "<Bucket><Name>" n "</Name><CreationDate>2026-01-02T03:04:05.000Z</CreationDate>" \
              "<BucketRegion>us-east-1</BucketRegion></Bucket>"

static const char *UPSTREAM =
    HEAD "<Buckets>" B("real-acme") BR("partner-data") B("secret-internal") B("acme-logs")
    "</Buckets><ContinuationToken>tok</ContinuationToken></ListAllMyBucketsResult>";

static struct config *load(const char *unlisted)
{
    char json[4096];
    snprintf(json, sizeof json,
             "{\"listeners\":[{\"address\":\"127.0.0.1\",\"port\":1}],"
             "\"upstream\":{\"endpoint\":\"http://127.0.0.1:2\",\"region\":\"us-east-1\"},"
             "\"accounts\":[{\"id\":\"111111111111\"},{\"id\":\"222222222222\"},"
             "{\"id\":\"333333333333\"}],"
             "\"buckets\":[{\"name\":\"acme-shared\",\"account\":\"111111111111\","
             "\"upstream_name\":\"real-acme\"},"
             "{\"name\":\"acme-logs\",\"account\":\"111111111111\"},"
             "{\"name\":\"partner-data\",\"account\":\"222222222222\"}]%s}",
             unlisted);
    struct config_errors errs;
    config_errors_init(&errs);
    struct config *cfg = NULL;
    int rc = config_load_buffer("test", json, strlen(json), NULL, &cfg, &errs);
    for (size_t i = 0; i < errs.n; i++)
        fprintf(stderr, "%s\n", errs.items[i].text);
    config_errors_cleanup(&errs);
    assert_int_equal(rc, CONFIG_OK);
    return cfg;
}

static void check(const struct config *cfg, const char *account, const char *in,
                  int want_rc, const char *want)
{
    struct s3w_buf out;
    s3w_buf_init(&out, LISTBUCKETS_MAX_BODY);
    assert_int_equal(listbuckets_filter(cfg, s3w_slice_cstr(account), s3w_slice_cstr(in), &out),
                     want_rc);
    if (want) {
        assert_int_equal(s3w_buf_append_char(&out, 0), 0);
        assert_string_equal(out.ptr, want);
    }
    s3w_buf_cleanup(&out);
}

static void test_owner_sees_own_buckets_renamed(void **state)
{
    (void)state;
    struct config *cfg = load("");
    check(cfg, "111111111111", UPSTREAM, 0,
          HEAD "<Buckets>" B("acme-shared") B("acme-logs")
          "</Buckets><ContinuationToken>tok</ContinuationToken></ListAllMyBucketsResult>");
    check(cfg, "222222222222", UPSTREAM, 0,
          HEAD "<Buckets>" BR("partner-data")
          "</Buckets><ContinuationToken>tok</ContinuationToken></ListAllMyBucketsResult>");
    /* an account owning nothing sees nothing, the unlisted bucket included */
    check(cfg, "333333333333", UPSTREAM, 0,
          HEAD "<Buckets></Buckets><ContinuationToken>tok</ContinuationToken>"
          "</ListAllMyBucketsResult>");
    config_unref(cfg);
}

static void test_caller_account_mode_keeps_unlisted(void **state)
{
    (void)state;
    struct config *cfg = load(",\"unlisted_buckets\":\"caller_account\"");
    check(cfg, "333333333333", UPSTREAM, 0,
          HEAD "<Buckets>" B("secret-internal")
          "</Buckets><ContinuationToken>tok</ContinuationToken></ListAllMyBucketsResult>");
    config_unref(cfg);
}

static void test_empty_and_malformed(void **state)
{
    (void)state;
    struct config *cfg = load("");
    const char *empty = HEAD "<Buckets/></ListAllMyBucketsResult>";
    check(cfg, "111111111111", empty, 0, empty);
    /* not a ListBuckets answer, or cut short: never forwarded as it is */
    check(cfg, "111111111111", "<Error><Code>X</Code></Error>", S3W_E_INVAL, NULL);
    check(cfg, "111111111111", HEAD "<Buckets>" B("real-acme"), S3W_E_INVAL, NULL);
    check(cfg, "111111111111", HEAD "<Buckets><Bucket><Name>real-acme</Name></Buckets>",
          S3W_E_INVAL, NULL);
    check(cfg, "111111111111", HEAD "<Buckets><Bucket><CreationDate/></Bucket></Buckets>"
          "</ListAllMyBucketsResult>", S3W_E_INVAL, NULL);
    check(cfg, "111111111111", HEAD B("real-acme") "</ListAllMyBucketsResult>", S3W_E_INVAL, NULL);
    config_unref(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_owner_sees_own_buckets_renamed),
        cmocka_unit_test(test_caller_account_mode_keeps_unlisted),
        cmocka_unit_test(test_empty_and_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
