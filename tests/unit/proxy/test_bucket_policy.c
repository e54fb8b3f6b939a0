/* test_bucket_policy.c - GetBucketPolicy / PutBucketPolicy /
 * DeleteBucketPolicy are answered by s3warden and never reach the upstream
 * (review L8: forwarded, Get showed the upstream bucket's policy instead of
 * the enforced one, and Put/Delete changed the real bucket's policy), in
 * S3's order (API Reference, "Permissions" of each): 403 AccessDenied
 * without the permission, then 405 MethodNotAllowed for an identity outside
 * the bucket owner's account, then Get answers the configured document (404
 * NoSuchBucketPolicy without one) and Put/Delete are 501 NotImplemented.
 * The owner's root user is exempt from the bucket policy for these three
 * (lockout recovery), not from guardrails. A recording fake upstream (the
 * style of test_pipeline_review.c) proves nothing was sent; a forwarded
 * GetBucketAcl shows the recorder sees requests. GetBucketPolicyStatus is
 * answered here too, in the same order, from the configured policy (IsPublic
 * by policy_is_public; 404 NoSuchBucketPolicy without one): probe 22 -
 * forwarded, it described another policy, and a store that did not know it
 * answered the bucket's listing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "pipeline_rig.h"
#include "sockutil.h"


/* ---- s3warden under test -------------------------------------------------------- */
#define OWNER "111111111111"
#define PARTNER "222222222222"
#define ADMIN_AKID "AKIABPOLADMIN0000001"
#define ADMIN_SECRET "bpolAdminSecret/0123456789abcdefghijklmn"
#define READER_AKID "AKIABPOLREADER000001"
#define READER_SECRET "bpolReaderSecret/0123456789abcdefghijklm"
#define PARTNER_AKID "AKIABPOLPARTNER00001"
#define PARTNER_SECRET "bpolPartnerSecret/0123456789abcdefghijkl"
#define ROOT_AKID "AKIABPOLOWNERROOT001"
#define ROOT_SECRET "bpolOwnerRootSecret/0123456789abcdefghij"
#define PROOT_AKID "AKIABPOLPARTNERROOT1"
#define PROOT_SECRET "bpolPartnerRootSecret/0123456789abcdefgh"

/* The bucket policy of "pol" as written in the config (with blanks) and
 * as S3 would hand it back: compact, keys in the order written. It lets
 * the partner account manage the policy, and denies every account root
 * user (aws:PrincipalType "Account") - the lockout AWS's root rule undoes
 * for the owner's root only. */
#define POL_INLINE                                                                              \
    "{ \"Version\": \"2012-10-17\", \"Statement\": ["                                            \
    "{ \"Sid\": \"PartnerManages\", \"Effect\": \"Allow\", \"Principal\": {\"AWS\": \"" PARTNER \
    "\"}, \"Action\": [\"s3:GetBucketPolicy\", \"s3:PutBucketPolicy\", \"s3:DeleteBucketPolicy\"," \
    " \"s3:GetBucketPolicyStatus\"], \"Resource\": \"arn:aws:s3:::pol\" },"                       \
    "{ \"Sid\": \"NoRoot\", \"Effect\": \"Deny\", \"Principal\": \"*\", \"Action\": \"s3:*\","      \
    " \"Resource\": [\"arn:aws:s3:::pol\", \"arn:aws:s3:::pol/*\"], \"Condition\": {"             \
    "\"StringEquals\": {\"aws:PrincipalType\": \"Account\"} } } ] }"
#define POL_COMPACT                                                                             \
    "{\"Version\":\"2012-10-17\",\"Statement\":["                                               \
    "{\"Sid\":\"PartnerManages\",\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"222222222222\"},"  \
    "\"Action\":[\"s3:GetBucketPolicy\",\"s3:PutBucketPolicy\",\"s3:DeleteBucketPolicy\","        \
    "\"s3:GetBucketPolicyStatus\"],\"Resource\":\"arn:aws:s3:::pol\"},"                           \
    "{\"Sid\":\"NoRoot\",\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:*\","            \
    "\"Resource\":[\"arn:aws:s3:::pol\",\"arn:aws:s3:::pol/*\"],\"Condition\":{"                  \
    "\"StringEquals\":{\"aws:PrincipalType\":\"Account\"}}}]}"

#define S3_ALL "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"}]}"

static struct config *make_config(const char *top_extra)
{
    static char json[8192];
    snprintf(json, sizeof(json),
        "{%s\"listeners\":[{\"address\":\"127.0.0.1\",\"port\":1}],"
        "\"upstream\":{\"endpoint\":\"http://127.0.0.1:%d\",\"region\":\"us-east-1\"},"
        "\"credentials\":{\"chain\":[{\"type\":\"static\",\"access_key_id\":\"AKIAUPSTREAMBPOL0001\","
        "\"secret\":\"upstreamBpolSecret000000000000000000000000\"}]},"
        "\"accounts\":[{\"id\":\"" OWNER "\",\"access_keys\":[{\"id\":\"" ROOT_AKID "\",\"secret\":\"" ROOT_SECRET "\"}]},"
        "{\"id\":\"" PARTNER "\",\"access_keys\":[{\"id\":\"" PROOT_AKID "\",\"secret\":\"" PROOT_SECRET "\"}]}],"
        "\"users\":["
        "{\"account\":\"" OWNER "\",\"name\":\"admin\",\"unique_id\":\"AIDABPOLADMIN000001\","
        "\"access_keys\":[{\"id\":\"" ADMIN_AKID "\",\"secret\":\"" ADMIN_SECRET "\"}],"
        "\"policies\":[{\"name\":\"all\",\"document\":" S3_ALL "}]},"
        /* no policy at all: every request is implicitly denied */
        "{\"account\":\"" OWNER "\",\"name\":\"reader\",\"unique_id\":\"AIDABPOLREADER00001\","
        "\"access_keys\":[{\"id\":\"" READER_AKID "\",\"secret\":\"" READER_SECRET "\"}]},"
        "{\"account\":\"" PARTNER "\",\"name\":\"partner\",\"unique_id\":\"AIDABPOLPARTNER0001\","
        "\"access_keys\":[{\"id\":\"" PARTNER_AKID "\",\"secret\":\"" PARTNER_SECRET "\"}],"
        "\"policies\":[{\"name\":\"all\",\"document\":" S3_ALL "}]}],"
        "\"buckets\":["
        "{\"name\":\"pol\",\"account\":\"" OWNER "\",\"upstream_name\":\"real-pol\",\"policy\":" POL_INLINE "},"
        "{\"name\":\"nopol\",\"account\":\"" OWNER "\"},"
        /* anyone may read the policy - but only the owner's account gets it */
        "{\"name\":\"pub\",\"account\":\"" OWNER "\",\"policy\":{\"Version\":\"2012-10-17\","
        "\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:GetBucketPolicy\","
        "\"Resource\":\"arn:aws:s3:::pub\"}]}},"
        "{\"name\":\"guarded\",\"account\":\"" OWNER "\",\"policy\":{\"Version\":\"2012-10-17\","
        "\"Statement\":[{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:GetBucketPolicy\","
        "\"Resource\":\"arn:aws:s3:::guarded\"}]}}],"
        /* a guardrail (s3warden's SCP) binds the owner's root here as an
         * Organizations policy does on AWS */
        "\"guardrails\":[{\"name\":\"guard\",\"document\":{\"Version\":\"2012-10-17\",\"Statement\":["
        "{\"Sid\":\"NoPolicyReadOnGuarded\",\"Effect\":\"Deny\",\"Action\":\"s3:GetBucketPolicy\","
        "\"Resource\":\"arn:aws:s3:::guarded\"},"
        "{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}}]}",
        top_extra, rig_up_port());
    return rig_config_from_json(json);
}

static struct config *initial_config(void)
{
    return make_config("");
}

static const struct rig_opts opts = {
    .make_config = initial_config, .audit_file = true,
};

/* A header-signed request (akid NULL: anonymous); `extra` are signed
 * "name: value\r\n" lines beside Host. */
static char req[16384], resp[128 * 1024];

static void build(const char *akid, const char *secret, const char *method, const char *target,
                  const char *extra, const char *body)
{
    struct rig_req r = { .akid = akid, .secret = secret, .method = method, .target = target,
                         .signed_hdrs = extra, .body = body };
    rig_build(req, sizeof(req), &r);
}

/* Sends req, reads the whole answer (Content-Length bytes after the head). */
static void exchange(void)
{
    rig_exchange(req, strlen(req), NULL, resp, sizeof(resp));
}

/* An S3 error document with exactly this code and message. */
static void assert_error(int status, const char *reason, const char *code, const char *msg)
{
    char line[128], want[2048];
    snprintf(line, sizeof(line), "HTTP/1.1 %d %s\r\n", status, reason);
    if (strncmp(resp, line, strlen(line)) != 0)
        fprintf(stderr, "got: %s\n", resp);
    assert_true(strncmp(resp, line, strlen(line)) == 0);
    snprintf(want, sizeof(want), "<Code>%s</Code><Message>%s</Message>", code, msg);
    if (!strstr(rig_body_of(resp), want))
        fprintf(stderr, "want %s\ngot: %s\n", want, resp);
    assert_non_null(strstr(rig_body_of(resp), want));
}

/* S3's GetBucketPolicyStatus answer, exactly (API Reference, "Response
 * Syntax") */
static void assert_policy_status(const char *is_public)
{
    char want[512];
    snprintf(want, sizeof(want),
             "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<PolicyStatus "
             "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><IsPublic>%s</IsPublic>"
             "</PolicyStatus>", is_public);
    if (strncmp(resp, "HTTP/1.1 200 OK\r\n", 17) != 0)
        fprintf(stderr, "got: %s\n", resp);
    assert_true(strncmp(resp, "HTTP/1.1 200 OK\r\n", 17) == 0);
    assert_non_null(strstr(resp, "\r\nContent-Type: application/xml\r\n"));
    char cl[64];
    snprintf(cl, sizeof(cl), "\r\nContent-Length: %zu\r\n", strlen(want));
    assert_non_null(strstr(resp, cl));
    assert_string_equal(rig_body_of(resp), want);
}

#define MSG_405 "The specified method is not allowed against this resource."
#define MSG_501 "s3warden enforces the bucket policy from its configuration (buckets[].policy); " \
                "change it there and reload with SIGHUP."

/* ---- the owner's account: Get answers the config, Put/Delete refused ---------- */
static void test_owner_get_put_delete(void **state)
{
    (void)state;
    int r0 = rig_upstream_requests();
    build(ADMIN_AKID, ADMIN_SECRET, "GET", "/pol?policy", NULL, "");
    exchange();
    assert_true(strncmp(resp, "HTTP/1.1 200 OK\r\n", 17) == 0);
    assert_non_null(strstr(resp, "\r\nContent-Type: application/json\r\n"));
    char cl[64];
    snprintf(cl, sizeof(cl), "\r\nContent-Length: %zu\r\n", strlen(POL_COMPACT));
    assert_non_null(strstr(resp, cl));
    assert_string_equal(rig_body_of(resp), POL_COMPACT);

    /* no bucket policy: S3's NoSuchBucketPolicy */
    build(ADMIN_AKID, ADMIN_SECRET, "GET", "/nopol?policy", NULL, "");
    exchange();
    assert_error(404, "Not Found", "NoSuchBucketPolicy", "The bucket policy does not exist");

    /* Put and Delete never change the upstream bucket's policy */
    build(ADMIN_AKID, ADMIN_SECRET, "PUT", "/pol?policy", NULL,
          "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\","
          "\"Action\":\"s3:*\",\"Resource\":\"arn:aws:s3:::real-pol/*\"}]}");
    exchange();
    assert_error(501, "Not Implemented", "NotImplemented", MSG_501);
    build(ADMIN_AKID, ADMIN_SECRET, "DELETE", "/pol?policy", NULL, "");
    exchange();
    assert_error(501, "Not Implemented", "NotImplemented", MSG_501);
    build(ADMIN_AKID, ADMIN_SECRET, "DELETE", "/nopol?policy", NULL, "");
    exchange();
    assert_error(501, "Not Implemented", "NotImplemented", MSG_501);
    rig_assert_upstream_requests(r0);

    /* GetBucketPolicyStatus: pol grants an account (a fixed principal) and
     * its Deny never counts; pub grants "*" with no condition */
    build(ADMIN_AKID, ADMIN_SECRET, "GET", "/pol?policyStatus", NULL, "");
    exchange();
    assert_policy_status("false");
    build(ADMIN_AKID, ADMIN_SECRET, "GET", "/pub?policyStatus", NULL, "");
    exchange();
    assert_policy_status("true");
    build(ADMIN_AKID, ADMIN_SECRET, "GET", "/nopol?policyStatus", NULL, "");
    exchange();
    assert_error(404, "Not Found", "NoSuchBucketPolicy", "The bucket policy does not exist");
    rig_assert_upstream_requests(r0);

    /* control: the recorder does see forwarded requests */
    build(ADMIN_AKID, ADMIN_SECRET, "GET", "/pol?acl", NULL, "");
    exchange();
    assert_true(strncmp(resp, "HTTP/1.1 200 OK\r\n", 17) == 0);
    rig_assert_upstream_requests(r0 + 1);
    static struct rig_seen seen;
    rig_seen(&seen);
    assert_true(strncmp(seen.last_head, "GET /real-pol?acl", 17) == 0);
}

/* ---- 403 comes before everything ------------------------------------------------ */
static void test_no_permission_is_403(void **state)
{
    (void)state;
    int r0 = rig_upstream_requests();
    static const char *const methods[] = { "GET", "PUT", "DELETE" };
    static const char *const actions[] = { "s3:GetBucketPolicy", "s3:PutBucketPolicy",
                                           "s3:DeleteBucketPolicy" };
    for (size_t i = 0; i < 3; i++) {
        build(READER_AKID, READER_SECRET, methods[i], "/pol?policy", NULL, i == 1 ? "{}" : "");
        exchange();
        char msg[512];
        snprintf(msg, sizeof(msg),
                 "User: arn:aws:iam::" OWNER ":user/reader is not authorized to perform: %s on "
                 "resource: &quot;arn:aws:s3:::pol&quot; because no identity-based policy allows "
                 "the %s action",
                 actions[i], actions[i]);
        assert_error(403, "Forbidden", "AccessDenied", msg);
    }
    /* a partner without a bucket policy grant: 403, not 405 */
    build(PARTNER_AKID, PARTNER_SECRET, "GET", "/nopol?policy", NULL, "");
    exchange();
    assert_error(403, "Forbidden", "AccessDenied",
                 "User: arn:aws:iam::" PARTNER ":user/partner is not authorized to perform: "
                 "s3:GetBucketPolicy on resource: &quot;arn:aws:s3:::nopol&quot; because no "
                 "resource-based policy allows the s3:GetBucketPolicy action");
    rig_assert_upstream_requests(r0);
}

/* ---- allowed, but not the owner's account: 405 -------------------------------- */
static void test_other_account_is_405(void **state)
{
    (void)state;
    int r0 = rig_upstream_requests();
    /* the bucket policy grants the partner account all three: AWS still
     * answers 405 to an identity outside the owner's account */
    build(PARTNER_AKID, PARTNER_SECRET, "GET", "/pol?policy", NULL, "");
    exchange();
    assert_error(405, "Method Not Allowed", "MethodNotAllowed", MSG_405);
    assert_null(strstr(resp, "PartnerManages")); /* no policy text leaks */
    build(PARTNER_AKID, PARTNER_SECRET, "PUT", "/pol?policy", NULL, "{}");
    exchange();
    assert_error(405, "Method Not Allowed", "MethodNotAllowed", MSG_405);
    build(PARTNER_AKID, PARTNER_SECRET, "DELETE", "/pol?policy", NULL, "");
    exchange();
    assert_error(405, "Method Not Allowed", "MethodNotAllowed", MSG_405);
    /* GetBucketPolicyStatus, granted to the partner too: the same 405 */
    build(PARTNER_AKID, PARTNER_SECRET, "GET", "/pol?policyStatus", NULL, "");
    exchange();
    assert_error(405, "Method Not Allowed", "MethodNotAllowed", MSG_405);
    /* anonymous, allowed by Principal "*": no account, 405 */
    build(NULL, NULL, "GET", "/pub?policy", NULL, "");
    exchange();
    assert_error(405, "Method Not Allowed", "MethodNotAllowed", MSG_405);
    rig_assert_upstream_requests(r0);
}

/* ---- the owner's root: exempt from the bucket policy, not from guardrails ------ */
static void test_owner_root_lockout_recovery(void **state)
{
    (void)state;
    int r0 = rig_upstream_requests();
    /* "NoRoot" denies every root user s3:* on pol; the owner's root still
     * reads the policy ... */
    build(ROOT_AKID, ROOT_SECRET, "GET", "/pol?policy", NULL, "");
    exchange();
    assert_true(strncmp(resp, "HTTP/1.1 200 OK\r\n", 17) == 0);
    assert_string_equal(rig_body_of(resp), POL_COMPACT);
    /* ... and is told where to change it rather than refused */
    build(ROOT_AKID, ROOT_SECRET, "PUT", "/pol?policy", NULL, "{}");
    exchange();
    assert_error(501, "Not Implemented", "NotImplemented", MSG_501);
    build(ROOT_AKID, ROOT_SECRET, "DELETE", "/pol?policy", NULL, "");
    exchange();
    assert_error(501, "Not Implemented", "NotImplemented", MSG_501);
    /* the exemption is for these three operations only */
    build(ROOT_AKID, ROOT_SECRET, "GET", "/pol/obj", NULL, "");
    exchange();
    assert_error(403, "Forbidden", "AccessDenied",
                 "User: arn:aws:iam::" OWNER ":root is not authorized to perform: s3:GetObject on "
                 "resource: &quot;arn:aws:s3:::pol/obj&quot; with an explicit deny in a "
                 "resource-based policy");
    /* and for the owner's root only: the partner's root stays denied */
    build(PROOT_AKID, PROOT_SECRET, "GET", "/pol?policy", NULL, "");
    exchange();
    assert_error(403, "Forbidden", "AccessDenied",
                 "User: arn:aws:iam::" PARTNER ":root is not authorized to perform: "
                 "s3:GetBucketPolicy on resource: &quot;arn:aws:s3:::pol&quot; with an explicit "
                 "deny in a resource-based policy");
    /* a guardrail binds the root as an Organizations policy does on AWS */
    build(ROOT_AKID, ROOT_SECRET, "GET", "/guarded?policy", NULL, "");
    exchange();
    assert_true(strncmp(resp, "HTTP/1.1 403 Forbidden\r\n", 24) == 0);
    assert_non_null(strstr(resp, "<Code>AccessDenied</Code>"));
    assert_non_null(strstr(resp, "with an explicit deny in a service control policy"));
    /* an IAM user of the owner's account gets no such exemption */
    build(ADMIN_AKID, ADMIN_SECRET, "GET", "/guarded?policy", NULL, "");
    exchange();
    assert_true(strncmp(resp, "HTTP/1.1 403 Forbidden\r\n", 24) == 0);
    rig_assert_upstream_requests(r0);
}

/* ---- x-amz-expected-bucket-owner is the configured owner ----------------------- */
static void test_expected_bucket_owner(void **state)
{
    (void)state;
    int r0 = rig_upstream_requests();
    build(ADMIN_AKID, ADMIN_SECRET, "GET", "/pol?policy",
          "x-amz-expected-bucket-owner: " PARTNER "\r\n", "");
    exchange();
    assert_error(403, "Forbidden", "AccessDenied", "Access Denied");
    build(ADMIN_AKID, ADMIN_SECRET, "GET", "/pol?policy",
          "x-amz-expected-bucket-owner: " OWNER "\r\n", "");
    exchange();
    assert_true(strncmp(resp, "HTTP/1.1 200 OK\r\n", 17) == 0);
    assert_string_equal(rig_body_of(resp), POL_COMPACT);
    build(ADMIN_AKID, ADMIN_SECRET, "GET", "/pol?policyStatus",
          "x-amz-expected-bucket-owner: " PARTNER "\r\n", "");
    exchange();
    assert_error(403, "Forbidden", "AccessDenied", "Access Denied");
    build(ADMIN_AKID, ADMIN_SECRET, "GET", "/pol?policyStatus",
          "x-amz-expected-bucket-owner: " OWNER "\r\n", "");
    exchange();
    assert_policy_status("false");
    rig_assert_upstream_requests(r0);
}

/* ---- an unlisted bucket under "caller_account": the caller owns it --------------- */
static void test_unlisted_caller_account(void **state)
{
    (void)state;
    rig_install_config(make_config("\"unlisted_buckets\":\"caller_account\","));
    int r0 = rig_upstream_requests();
    /* s3warden enforces no bucket policy there: none to show, none to set
     * upstream (the real bucket's policy is out of reach either way) */
    build(ADMIN_AKID, ADMIN_SECRET, "GET", "/free-bkt?policy", NULL, "");
    exchange();
    assert_error(404, "Not Found", "NoSuchBucketPolicy", "The bucket policy does not exist");
    build(ADMIN_AKID, ADMIN_SECRET, "GET", "/free-bkt?policyStatus", NULL, "");
    exchange();
    assert_error(404, "Not Found", "NoSuchBucketPolicy", "The bucket policy does not exist");
    build(ADMIN_AKID, ADMIN_SECRET, "PUT", "/free-bkt?policy", NULL, "{}");
    exchange();
    assert_error(501, "Not Implemented", "NotImplemented", MSG_501);
    rig_assert_upstream_requests(r0);
    rig_install_config(make_config(""));
    /* under the default (deny) the unlisted bucket is refused first */
    build(ADMIN_AKID, ADMIN_SECRET, "GET", "/free-bkt?policy", NULL, "");
    exchange();
    assert_error(403, "Forbidden", "AccessDenied",
                 "User: arn:aws:iam::" OWNER ":user/admin is not authorized to perform: "
                 "s3:GetBucketPolicy on resource: &quot;arn:aws:s3:::free-bkt&quot; because the "
                 "bucket is not configured in s3warden");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_owner_get_put_delete),
        cmocka_unit_test(test_no_permission_is_403),
        cmocka_unit_test(test_other_account_is_405),
        cmocka_unit_test(test_owner_root_lockout_recovery),
        cmocka_unit_test(test_expected_bucket_owner),
        cmocka_unit_test(test_unlisted_caller_account),
    };
    return rig_run_group(tests, &opts);
}
