/* test_bucket_location.c - GetBucketLocation answers s3warden's region
 * (upstream.region), the one clients must sign for, never the upstream's
 * (issue 19: RGW answers its zonegroup "default", and minio-go/restic then
 * signed every request for it and got 400 AuthorizationHeaderMalformed).
 * S3's form (API Reference, GetBucketLocation): an empty LocationConstraint
 * for us-east-1, the region name otherwise. The upstream is still asked:
 * its errors (404 NoSuchBucket) pass as they came. As S3's global endpoint,
 * a GetBucketLocation signed for us-east-1 is taken whatever s3warden's
 * region - the rig signs for us-east-1, so with s3warden in eu-west-3 every
 * other request is refused. Authorization runs first, as for any request. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pipeline_rig.h"
#include "sockutil.h"

/* ---- fake upstream: RGW's answer, and NoSuchBucket for "ghost" ------------------ */
#define UP_LOCATION                                                                   \
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><LocationConstraint "                  \
    "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">default</LocationConstraint>"
#define UP_NOSUCHBUCKET                                                               \
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>NoSuchBucket</Code>"      \
    "<BucketName>ghost</BucketName><RequestId>tx1</RequestId></Error>"

static void up_answer(int fd, const char *head)
{
    char out[1024];
    bool ghost = strncmp(head, "GET /ghost", 10) == 0;
    const char *body = ghost ? UP_NOSUCHBUCKET : UP_LOCATION;
    snprintf(out, sizeof(out),
             "HTTP/1.1 %s\r\nContent-Type: application/xml\r\nContent-Length: %zu\r\n"
             "x-amz-request-id: UPSTREAM1\r\nConnection: close\r\n\r\n%s",
             ghost ? "404 Not Found" : "200 OK", strlen(body), body);
    su_send_str(fd, out);
}

/* ---- s3warden under test ------------------------------------------------------------ */
#define OWNER "111111111111"
#define ADMIN_AKID "AKIALOCADMIN00000001"
#define ADMIN_SECRET "locAdminSecret/0123456789abcdefghijklmnop"
#define READER_AKID "AKIALOCREADER0000001"
#define READER_SECRET "locReaderSecret/0123456789abcdefghijklmno"

static struct config *make_config(const char *region)
{
    return rig_config(&(struct rig_cfg){
        .up_region = region, .user = "admin", .akid = ADMIN_AKID, .secret = ADMIN_SECRET,
        /* may list, not s3:GetBucketLocation */
        .more_users = ",{\"account\":\"" OWNER "\",\"name\":\"reader\",\"unique_id\":\"AIDALOCREADER000001\","
            "\"access_keys\":[{\"id\":\"" READER_AKID "\",\"secret\":\"" READER_SECRET "\"}],"
            "\"policies\":[{\"name\":\"list\",\"document\":{\"Version\":\"2012-10-17\",\"Statement\":"
            "[{\"Effect\":\"Allow\",\"Action\":\"s3:ListBucket\",\"Resource\":\"*\"}]}}]}",
        .buckets = "{\"name\":\"bkt\",\"account\":\"" OWNER "\"},"
                   "{\"name\":\"ghost\",\"account\":\"" OWNER "\"}" });
}

static struct config *initial_config(void)
{
    return make_config("eu-west-3");
}

static const struct rig_opts opts = { .make_config = initial_config, .answer = up_answer };

static char req[16384], resp[64 * 1024];

/* Signed (by the rig, for us-east-1), sent, the whole answer read. */
static void get(const char *akid, const char *secret, const char *target)
{
    struct rig_req r = { .akid = akid, .secret = secret, .method = "GET", .target = target };
    rig_build(req, sizeof(req), &r);
    rig_exchange(req, strlen(req), NULL, resp, sizeof(resp));
}

#define XML_DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define LC_OPEN "<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\""

/* ---- s3warden in eu-west-3 --------------------------------------------------------- */
static void test_answers_own_region(void **state)
{
    (void)state;
    int r0 = rig_upstream_requests();
    /* minio-go's lookup: "?location=", signed for us-east-1 */
    get(ADMIN_AKID, ADMIN_SECRET, "/bkt?location=");
    rig_assert_status(resp, "HTTP/1.1 200 OK\r\n");
    assert_string_equal(rig_body_of(resp), XML_DECL LC_OPEN ">eu-west-3</LocationConstraint>");
    assert_null(strstr(resp, "default"));
    /* the upstream was asked (the bucket exists there) */
    rig_assert_upstream_requests(r0 + 1);
    struct rig_seen seen;
    rig_seen(&seen);
    assert_true(strncmp(seen.last_head, "GET /bkt?location", 17) == 0);
    /* "?location" as the SDKs send it */
    get(ADMIN_AKID, ADMIN_SECRET, "/bkt?location");
    rig_assert_status(resp, "HTTP/1.1 200 OK\r\n");
    assert_string_equal(rig_body_of(resp), XML_DECL LC_OPEN ">eu-west-3</LocationConstraint>");
}

static void test_other_requests_need_own_region(void **state)
{
    (void)state;
    int r0 = rig_upstream_requests();
    get(ADMIN_AKID, ADMIN_SECRET, "/bkt?list-type=2");
    rig_assert_status(resp, "HTTP/1.1 400 Bad Request\r\n");
    assert_non_null(strstr(rig_body_of(resp), "<Code>AuthorizationHeaderMalformed</Code><Message>The "
                                          "authorization header is malformed; the region "
                                          "&apos;us-east-1&apos; is wrong; expecting "
                                          "&apos;eu-west-3&apos;</Message>"));
    /* not a location lookup once another parameter comes with it */
    get(ADMIN_AKID, ADMIN_SECRET, "/bkt?location&versionId=1");
    rig_assert_status(resp, "HTTP/1.1 400 Bad Request\r\n");
    get(ADMIN_AKID, ADMIN_SECRET, "/bkt/key?location");
    rig_assert_status(resp, "HTTP/1.1 400 Bad Request\r\n");
    rig_assert_upstream_requests(r0);
}

static void test_upstream_error_passes(void **state)
{
    (void)state;
    get(ADMIN_AKID, ADMIN_SECRET, "/ghost?location");
    rig_assert_status(resp, "HTTP/1.1 404 Not Found\r\n");
    assert_string_equal(rig_body_of(resp), UP_NOSUCHBUCKET);
}

static void test_denied_before_upstream(void **state)
{
    (void)state;
    int r0 = rig_upstream_requests();
    get(READER_AKID, READER_SECRET, "/bkt?location");
    rig_assert_status(resp, "HTTP/1.1 403 Forbidden\r\n");
    assert_non_null(strstr(rig_body_of(resp), "<Code>AccessDenied</Code><Message>User: "
                                          "arn:aws:iam::" OWNER ":user/reader is not authorized to "
                                          "perform: s3:GetBucketLocation on resource: "
                                          "&quot;arn:aws:s3:::bkt&quot; because no identity-based "
                                          "policy allows the s3:GetBucketLocation action</Message>"));
    /* a bucket the config does not list */
    get(ADMIN_AKID, ADMIN_SECRET, "/unlisted?location");
    rig_assert_status(resp, "HTTP/1.1 403 Forbidden\r\n");
    rig_assert_upstream_requests(r0);
}

/* ---- s3warden in us-east-1: S3's empty form ---------------------------------------- */
static void test_us_east_1_empty(void **state)
{
    (void)state;
    rig_install_config(make_config("us-east-1"));
    get(ADMIN_AKID, ADMIN_SECRET, "/bkt?location");
    rig_assert_status(resp, "HTTP/1.1 200 OK\r\n");
    assert_string_equal(rig_body_of(resp), XML_DECL LC_OPEN "/>");
    rig_install_config(make_config("eu-west-3"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answers_own_region),
        cmocka_unit_test(test_other_requests_need_own_region),
        cmocka_unit_test(test_upstream_error_passes),
        cmocka_unit_test(test_denied_before_upstream),
        cmocka_unit_test(test_us_east_1_empty),
    };
    return rig_run_group(tests, &opts);
}
