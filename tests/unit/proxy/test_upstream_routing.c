/* test_upstream_routing.c - several upstreams behind one s3warden (issue
 * 14), through the whole pipeline against the rig's recording upstream.
 * Two upstreams, "east" (the default, us-east-1) and "west" (eu-west-1),
 * both point at the rig's one fake store but with their own keys, so what
 * the store saw - the key id and region in the signature, the bucket in
 * the path - tells which upstream a request was sent as:
 *   - a request goes to its bucket's upstream, signed with that upstream's
 *     credentials for that upstream's region, under its upstream name;
 *   - CopyObject / UploadPartCopy from a bucket on the other upstream get
 *     501 NotImplemented naming both, and nothing is sent;
 *   - ListBuckets asks both upstreams and answers one list, each bucket
 *     once, under its client-side name, sorted; the same upstream answer
 *     lists bucket names of the other upstream, which are dropped.
 * The integration module test_multi_upstream.py runs the same against Ceph
 * RGW and moto. */
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

#define OWNER "111111111111"
#define ADMIN_AKID "AKIAROUTEADMIN000001"
#define ADMIN_SECRET "routeAdminSecret/0123456789abcdefghijklm"
#define EAST_AKID "AKIAUPSTREAMEAST0001"
#define WEST_AKID "AKIAUPSTREAMWEST0001"

/* Every bucket the fake store has, whichever key asks: each upstream's
 * answer names buckets that are the other upstream's in the config. */
#define UP_LIST                                                                           \
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"                                        \
    "<ListAllMyBucketsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"          \
    "<Owner><ID>store</ID></Owner><Buckets>"                                              \
    "<Bucket><Name>west-real</Name><CreationDate>2026-01-02T03:04:05.000Z</CreationDate></Bucket>" \
    "<Bucket><Name>east-bkt</Name><CreationDate>2026-01-02T03:04:05.000Z</CreationDate></Bucket>"  \
    "</Buckets></ListAllMyBucketsResult>"

static void up_answer(int fd, const char *head)
{
    char out[2048];
    if (strncmp(head, "GET / ", 6) != 0) {
        rig_answer_ok(fd, head);
        return;
    }
    const char *body = UP_LIST;
    snprintf(out, sizeof(out),
             "HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: %zu\r\n"
             "x-amz-request-id: UPSTREAM1\r\nConnection: close\r\n\r\n%s",
             strlen(body), body);
    su_send_str(fd, out);
}

static struct config *make_config(void)
{
    static char json[4096];
    snprintf(json, sizeof(json),
        "{\"listeners\":[{\"address\":\"127.0.0.1\",\"port\":1}],"
        "\"upstreams\":["
        "{\"name\":\"east\",\"endpoint\":\"http://127.0.0.1:%d\",\"region\":\"us-east-1\","
        "\"credentials\":{\"chain\":[{\"type\":\"static\",\"access_key_id\":\"" EAST_AKID "\","
        "\"secret\":\"upstreamEastSecret00000000000000000000000\"}]}},"
        "{\"name\":\"west\",\"endpoint\":\"http://127.0.0.1:%d\",\"region\":\"eu-west-1\","
        "\"credentials\":\"west-keys\"}],"
        "\"credential_sets\":[{\"name\":\"west-keys\",\"chain\":[{\"type\":\"static\","
        "\"access_key_id\":\"" WEST_AKID "\",\"secret\":\"upstreamWestSecret00000000000000000000000\"}]}],"
        "\"default_upstream\":\"east\","
        "\"accounts\":[{\"id\":\"" OWNER "\"}],"
        "\"users\":["
        "{\"account\":\"" OWNER "\",\"name\":\"admin\",\"unique_id\":\"AIDAROUTEADMIN00001\","
        "\"access_keys\":[{\"id\":\"" ADMIN_AKID "\",\"secret\":\"" ADMIN_SECRET "\"}],"
        "\"policies\":[{\"name\":\"all\",\"document\":{\"Version\":\"2012-10-17\",\"Statement\":"
        "[{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"}]}}]}],"
        "\"buckets\":[{\"name\":\"east-bkt\",\"account\":\"" OWNER "\"},"
        "{\"name\":\"west-bkt\",\"account\":\"" OWNER "\",\"upstream\":\"west\","
        "\"upstream_name\":\"west-real\"}]}",
        rig_up_port(), rig_up_port());
    return rig_config_from_json(json);
}

static const struct rig_opts opts = { .make_config = make_config, .answer = up_answer };

static char req[16384], resp[64 * 1024];

static void send_req(const char *method, const char *target, const char *signed_hdrs)
{
    struct rig_req r = { .akid = ADMIN_AKID, .secret = ADMIN_SECRET, .method = method,
                         .target = target, .signed_hdrs = signed_hdrs };
    rig_build(req, sizeof(req), &r);
    rig_exchange(req, strlen(req), NULL, resp, sizeof(resp));
}

static void test_request_goes_to_its_buckets_upstream(void **state)
{
    (void)state;
    struct rig_seen seen;
    send_req("GET", "/west-bkt/k", NULL);
    rig_assert_status(resp, "HTTP/1.1 200 OK\r\n");
    rig_seen(&seen);
    assert_true(strncmp(seen.last_head, "GET /west-real/k HTTP/1.1\r\n", 27) == 0);
    assert_non_null(strstr(seen.last_head, "Credential=" WEST_AKID "/"));
    assert_non_null(strstr(seen.last_head, "/eu-west-1/s3/aws4_request"));

    send_req("GET", "/east-bkt/k", NULL);
    rig_assert_status(resp, "HTTP/1.1 200 OK\r\n");
    rig_seen(&seen);
    assert_true(strncmp(seen.last_head, "GET /east-bkt/k HTTP/1.1\r\n", 26) == 0);
    assert_non_null(strstr(seen.last_head, "Credential=" EAST_AKID "/"));
    assert_non_null(strstr(seen.last_head, "/us-east-1/s3/aws4_request"));
    assert_null(strstr(seen.last_head, WEST_AKID));
}

static void test_copy_across_upstreams_refused(void **state)
{
    (void)state;
    int r0 = rig_upstream_requests();
    send_req("PUT", "/west-bkt/copy", "x-amz-copy-source: /east-bkt/k\r\n");
    rig_assert_status(resp, "HTTP/1.1 501 Not Implemented\r\n");
    assert_non_null(strstr(rig_body_of(resp), "<Code>NotImplemented</Code><Message>CopyObject from "
                                          "bucket east-bkt (upstream east) to bucket west-bkt "
                                          "(upstream west): s3warden does not copy between "
                                          "upstreams</Message>"));
    send_req("PUT", "/east-bkt/part?partNumber=1&uploadId=u1",
             "x-amz-copy-source: /west-bkt/k\r\n");
    rig_assert_status(resp, "HTTP/1.1 501 Not Implemented\r\n");
    assert_non_null(strstr(rig_body_of(resp), "<Message>UploadPartCopy from bucket west-bkt "
                                          "(upstream west) to bucket east-bkt (upstream east)"));
    rig_assert_upstream_requests(r0);

    /* within one upstream: sent, the source named as that upstream knows it */
    send_req("PUT", "/west-bkt/copy", "x-amz-copy-source: /west-bkt/k\r\n");
    rig_assert_status(resp, "HTTP/1.1 200 OK\r\n");
    struct rig_seen seen;
    rig_seen(&seen);
    assert_non_null(strstr(seen.last_head, "x-amz-copy-source: /west-real/k"));
    rig_assert_upstream_requests(r0 + 1);
}

static void test_list_buckets_merged(void **state)
{
    (void)state;
    int r0 = rig_upstream_requests();
    send_req("GET", "/", NULL);
    rig_assert_status(resp, "HTTP/1.1 200 OK\r\n");
    assert_string_equal(rig_body_of(resp),
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<ListAllMyBucketsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<Owner><ID>" OWNER "</ID></Owner><Buckets>"
        "<Bucket><Name>east-bkt</Name><CreationDate>2026-01-02T03:04:05.000Z</CreationDate></Bucket>"
        "<Bucket><Name>west-bkt</Name><CreationDate>2026-01-02T03:04:05.000Z</CreationDate></Bucket>"
        "</Buckets></ListAllMyBucketsResult>");
    /* one request per upstream */
    assert_int_equal(rig_upstream_requests(), r0 + 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_goes_to_its_buckets_upstream),
        cmocka_unit_test(test_copy_across_upstreams_refused),
        cmocka_unit_test(test_list_buckets_merged),
    };
    return rig_run_group(tests, &opts);
}
