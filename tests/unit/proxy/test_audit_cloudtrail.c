/* test_audit_cloudtrail.c - the CloudTrail format (audit_cloudtrail.c),
 * field by field against the example records of AWS's documentation
 * (docs/audit-cloudtrail.md lists them):
 *  [UI] CloudTrail userIdentity element, examples "userIdentity with IAM
 *       user credentials" (Alice) and "... with temporary security
 *       credentials" (RoleToBeAssumed/MySessionName);
 *  [RC] CloudTrail record contents (tlsDetails, eventCategory, ...);
 *  [S3] Amazon S3 user guide, CloudTrail log file entries / data event
 *       examples (GetObject: userAgent "[aws-cli/2.18.5]", additionalEventData
 *       SignatureVersion SigV4, CipherSuite ECDHE-RSA-AES128-GCM-SHA256,
 *       AuthenticationMethod AuthHeader, bytesTransferredOut 28441,
 *       requestID 07D681123BD12AED, eventTime 2024-11-22T17:12:25Z).
 * Each request kind the issue names: an allowed GET by a role session, a
 * denied PUT by a user, an anonymous request, STS AssumeRole and
 * DeleteObjects; and the most hostile record still fits the line cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <cmocka.h>

#include "audit.h"
#include "audit_fixture.h"

static const struct audit_cloudtrail_opts opts = { .region = "us-east-1" };

static cJSON *fmt(const struct audit_record *r)
{
    return format_parse_cloudtrail(r, &opts, NULL);
}

/* The value at a dotted path ("userIdentity.sessionContext.sessionIssuer.arn"). */
static const cJSON *at(const cJSON *j, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", path);
    const cJSON *v = j;
    for (char *save = NULL, *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save)) {
        v = cJSON_GetObjectItemCaseSensitive(v, k);
        if (!v)
            return NULL;
    }
    return v;
}

static void expect_str(const cJSON *j, const char *path, const char *want)
{
    const cJSON *v = at(j, path);
    if (!cJSON_IsString(v))
        fail_msg("%s: not a string", path);
    if (strcmp(v->valuestring, want) != 0)
        fail_msg("%s: \"%s\", want \"%s\"", path, v->valuestring, want);
}

static void expect_num(const cJSON *j, const char *path, double want)
{
    const cJSON *v = at(j, path);
    if (!cJSON_IsNumber(v) || v->valuedouble != want)
        fail_msg("%s: want %g", path, want);
}

static void expect_bool(const cJSON *j, const char *path, bool want)
{
    const cJSON *v = at(j, path);
    if (!cJSON_IsBool(v) || cJSON_IsTrue(v) != want)
        fail_msg("%s: want %s", path, want ? "true" : "false");
}

static void expect_absent(const cJSON *j, const char *path)
{
    if (at(j, path))
        fail_msg("%s: present, want absent", path);
}

static void expect_null(const cJSON *j, const char *path)
{
    const cJSON *v = at(j, path);
    if (!cJSON_IsNull(v))
        fail_msg("%s: want null", path);
}

/* What every event has whatever its kind ([RC]). */
static void expect_common(const cJSON *j)
{
    expect_str(j, "eventVersion", "1.09");
    expect_str(j, "eventType", "AwsApiCall");
    expect_str(j, "awsRegion", "us-east-1");
    expect_null(j, "responseElements");
    /* eventID: a GUID */
    const char *id = at(j, "eventID")->valuestring;
    assert_int_equal(strlen(id), 36);
    assert_true(id[8] == '-' && id[13] == '-' && id[18] == '-' && id[23] == '-');
}

static void resource(const cJSON *j, int i, const char *type, const char *arn, const char *account)
{
    const cJSON *r = cJSON_GetArrayItem(at(j, "resources"), i);
    assert_non_null(r);
    expect_str(r, "type", type);
    expect_str(r, "ARN", arn);
    if (account)
        expect_str(r, "accountId", account);
    else
        expect_absent(r, "accountId");
}

/* [UI] temporary credentials + [S3] GetObject + [RC] tlsDetails. */
static void test_allowed_get_by_role_session(void **state)
{
    (void)state;
    struct audit_record r;
    memset(&r, 0, sizeof(r));
    r.time_ms = 1732295545123; /* 2024-11-22T17:12:25.123Z */
    r.request_id = S3W_SLICE_LIT("07D681123BD12AED");
    r.source_ip = S3W_SLICE_LIT("192.0.2.0");
    r.user_agent = S3W_SLICE_LIT("aws-cli/2.18.5");
    r.identity_type = S3W_SLICE_LIT("AssumedRole");
    r.principal_id = S3W_SLICE_LIT("AROAIDPPEZS35WEXAMPLE:AssumedRoleSessionName");
    r.arn = S3W_SLICE_LIT("arn:aws:sts::123456789012:assumed-role/RoleToBeAssumed/MySessionName");
    r.account_id = S3W_SLICE_LIT("123456789012");
    r.access_key_id = S3W_SLICE_LIT("ASIAIOSFODNN7EXAMPLE");
    r.session_role_arn = S3W_SLICE_LIT("arn:aws:iam::123456789012:role/RoleToBeAssumed");
    r.session_name = S3W_SLICE_LIT("MySessionName");
    r.session_created_ms = 1719879676000; /* 2024-07-02T00:21:16Z */
    r.event_name = S3W_SLICE_LIT("GetObject");
    r.bucket = S3W_SLICE_LIT("amzn-s3-demo-bucket");
    r.key = S3W_SLICE_LIT("product-info.json");
    r.host = S3W_SLICE_LIT("amzn-s3-demo-bucket.s3.us-east-1.amazonaws.com");
    r.actions[0] = S3W_SLICE_LIT("s3:GetObject");
    r.resources[0] = S3W_SLICE_LIT("arn:aws:s3:::amzn-s3-demo-bucket/product-info.json");
    r.nauthz = 1;
    r.bucket_account = S3W_SLICE_LIT("111122223333");
    r.auth_method = S3W_SLICE_LIT("AuthHeader");
    r.cipher_suite = S3W_SLICE_LIT("ECDHE-RSA-AES128-GCM-SHA256");
    r.tls = S3W_SLICE_LIT("TLSv1.2");
    r.decision = S3W_SLICE_LIT("Allowed");
    r.deciding = S3W_SLICE_LIT("bucket-policy:AllowPartner");
    r.cross_account = true;
    r.http_status = 200;
    r.bytes_out = 28441;
    r.upstream_latency_ms = 4;
    cJSON *j = fmt(&r);
    expect_common(j);
    expect_str(j, "userIdentity.type", "AssumedRole");
    expect_str(j, "userIdentity.principalId", "AROAIDPPEZS35WEXAMPLE:AssumedRoleSessionName");
    expect_str(j, "userIdentity.arn",
               "arn:aws:sts::123456789012:assumed-role/RoleToBeAssumed/MySessionName");
    expect_str(j, "userIdentity.accountId", "123456789012");
    expect_str(j, "userIdentity.accessKeyId", "ASIAIOSFODNN7EXAMPLE");
    expect_str(j, "userIdentity.sessionContext.sessionIssuer.type", "Role");
    expect_str(j, "userIdentity.sessionContext.sessionIssuer.principalId", "AROAIDPPEZS35WEXAMPLE");
    expect_str(j, "userIdentity.sessionContext.sessionIssuer.arn",
               "arn:aws:iam::123456789012:role/RoleToBeAssumed");
    expect_str(j, "userIdentity.sessionContext.sessionIssuer.accountId", "123456789012");
    expect_str(j, "userIdentity.sessionContext.sessionIssuer.userName", "RoleToBeAssumed");
    expect_str(j, "userIdentity.sessionContext.attributes.creationDate", "2024-07-02T00:21:16Z");
    expect_str(j, "userIdentity.sessionContext.attributes.mfaAuthenticated", "false");
    expect_str(j, "eventTime", "2024-11-22T17:12:25Z");
    expect_str(j, "eventSource", "s3.amazonaws.com");
    expect_str(j, "eventName", "GetObject");
    expect_str(j, "sourceIPAddress", "192.0.2.0");
    expect_str(j, "userAgent", "[aws-cli/2.18.5]");
    expect_str(j, "requestParameters.bucketName", "amzn-s3-demo-bucket");
    expect_str(j, "requestParameters.Host", "amzn-s3-demo-bucket.s3.us-east-1.amazonaws.com");
    expect_str(j, "requestParameters.key", "product-info.json");
    expect_str(j, "additionalEventData.SignatureVersion", "SigV4");
    expect_str(j, "additionalEventData.CipherSuite", "ECDHE-RSA-AES128-GCM-SHA256");
    expect_num(j, "additionalEventData.bytesTransferredIn", 0);
    expect_str(j, "additionalEventData.AuthenticationMethod", "AuthHeader");
    expect_num(j, "additionalEventData.bytesTransferredOut", 28441);
    expect_str(j, "additionalEventData.decision", "Allowed");
    expect_str(j, "additionalEventData.decidingStatements", "bucket-policy:AllowPartner");
    expect_bool(j, "additionalEventData.crossAccount", true);
    expect_num(j, "additionalEventData.httpStatus", 200);
    expect_num(j, "additionalEventData.upstreamLatencyMs", 4);
    expect_str(j, "requestID", "07D681123BD12AED");
    expect_bool(j, "readOnly", true);
    assert_int_equal(cJSON_GetArraySize(at(j, "resources")), 2);
    resource(j, 0, "AWS::S3::Object", "arn:aws:s3:::amzn-s3-demo-bucket/product-info.json", NULL);
    resource(j, 1, "AWS::S3::Bucket", "arn:aws:s3:::amzn-s3-demo-bucket", "111122223333");
    expect_bool(j, "managementEvent", false);
    expect_str(j, "recipientAccountId", "111122223333");
    expect_str(j, "eventCategory", "Data");
    expect_str(j, "tlsDetails.tlsVersion", "TLSv1.2");
    expect_str(j, "tlsDetails.cipherSuite", "ECDHE-RSA-AES128-GCM-SHA256");
    expect_str(j, "tlsDetails.clientProvidedHostHeader",
               "amzn-s3-demo-bucket.s3.us-east-1.amazonaws.com");
    expect_absent(j, "errorCode");
    expect_absent(j, "errorMessage");
    expect_absent(j, "additionalEventData.truncated");
    cJSON_Delete(j);
}

/* [UI] IAM user Alice, a PutObject that the policy denies: S3 logs
 * errorCode AccessDenied with errorMessage "Access Denied". */
static void test_denied_put_by_user(void **state)
{
    (void)state;
    struct audit_record r;
    memset(&r, 0, sizeof(r));
    r.time_ms = 1548991099000; /* 2019-02-01T03:18:19Z */
    r.request_id = S3W_SLICE_LIT("CF9748DFDC5FB0A4");
    r.source_ip = S3W_SLICE_LIT("127.0.0.1");
    r.user_agent = S3W_SLICE_LIT("aws-cli/1.16.96");
    r.identity_type = S3W_SLICE_LIT("IAMUser");
    r.principal_id = S3W_SLICE_LIT("AIDAJ45Q7YFFAREXAMPLE");
    r.arn = S3W_SLICE_LIT("arn:aws:iam::123456789012:user/Alice");
    r.account_id = S3W_SLICE_LIT("123456789012");
    r.access_key_id = S3W_SLICE_LIT("AKIAIOSFODNN7EXAMPLE");
    r.event_name = S3W_SLICE_LIT("PutObject");
    r.bucket = S3W_SLICE_LIT("amzn-s3-demo-bucket");
    r.key = S3W_SLICE_LIT("reports/q3.csv");
    r.host = S3W_SLICE_LIT("s3.us-east-1.amazonaws.com");
    r.actions[0] = S3W_SLICE_LIT("s3:PutObject");
    r.resources[0] = S3W_SLICE_LIT("arn:aws:s3:::amzn-s3-demo-bucket/reports/q3.csv");
    r.nauthz = 1;
    r.bucket_account = S3W_SLICE_LIT("123456789012");
    r.auth_method = S3W_SLICE_LIT("AuthHeader");
    r.decision = S3W_SLICE_LIT("ImplicitlyDenied");
    r.error_code = S3W_SLICE_LIT("AccessDenied");
    r.http_status = 403;
    r.bytes_in = 197;
    r.upstream_latency_ms = -1;
    cJSON *j = fmt(&r);
    expect_common(j);
    expect_str(j, "userIdentity.type", "IAMUser");
    expect_str(j, "userIdentity.principalId", "AIDAJ45Q7YFFAREXAMPLE");
    expect_str(j, "userIdentity.arn", "arn:aws:iam::123456789012:user/Alice");
    expect_str(j, "userIdentity.accountId", "123456789012");
    expect_str(j, "userIdentity.accessKeyId", "AKIAIOSFODNN7EXAMPLE");
    expect_str(j, "userIdentity.userName", "Alice");
    expect_absent(j, "userIdentity.sessionContext");
    expect_str(j, "eventTime", "2019-02-01T03:18:19Z");
    expect_str(j, "eventName", "PutObject");
    expect_str(j, "userAgent", "[aws-cli/1.16.96]");
    expect_str(j, "requestParameters.key", "reports/q3.csv");
    expect_num(j, "additionalEventData.bytesTransferredIn", 197);
    expect_num(j, "additionalEventData.bytesTransferredOut", 0);
    expect_str(j, "additionalEventData.decision", "ImplicitlyDenied");
    expect_absent(j, "additionalEventData.decidingStatements");
    expect_absent(j, "additionalEventData.upstreamLatencyMs");
    expect_absent(j, "additionalEventData.CipherSuite");
    expect_bool(j, "readOnly", false);
    resource(j, 0, "AWS::S3::Object", "arn:aws:s3:::amzn-s3-demo-bucket/reports/q3.csv", NULL);
    resource(j, 1, "AWS::S3::Bucket", "arn:aws:s3:::amzn-s3-demo-bucket", "123456789012");
    expect_str(j, "eventCategory", "Data");
    expect_bool(j, "managementEvent", false);
    expect_str(j, "recipientAccountId", "123456789012");
    expect_absent(j, "tlsDetails"); /* plain HTTP */
    expect_str(j, "errorCode", "AccessDenied");
    expect_str(j, "errorMessage", "Access Denied");
    cJSON_Delete(j);
}

/* An unsigned request: S3 logs the caller as AWSAccount "anonymous", with
 * no accessKeyId, SignatureVersion or AuthenticationMethod. */
static void test_anonymous(void **state)
{
    (void)state;
    struct audit_record r;
    memset(&r, 0, sizeof(r));
    r.time_ms = 1732295545000;
    r.request_id = S3W_SLICE_LIT("A1B2C3D400000001");
    r.source_ip = S3W_SLICE_LIT("203.0.113.7");
    r.user_agent = S3W_SLICE_LIT("curl/8.5.0");
    r.identity_type = S3W_SLICE_LIT("Anonymous");
    r.event_name = S3W_SLICE_LIT("GetObject");
    r.bucket = S3W_SLICE_LIT("public-site");
    r.key = S3W_SLICE_LIT("index.html");
    r.actions[0] = S3W_SLICE_LIT("s3:GetObject");
    r.resources[0] = S3W_SLICE_LIT("arn:aws:s3:::public-site/index.html");
    r.nauthz = 1;
    r.bucket_account = S3W_SLICE_LIT("444455556666");
    r.decision = S3W_SLICE_LIT("Allowed");
    r.http_status = 200;
    r.bytes_out = 512;
    r.upstream_latency_ms = 2;
    cJSON *j = fmt(&r);
    expect_common(j);
    expect_str(j, "userIdentity.type", "AWSAccount");
    expect_str(j, "userIdentity.principalId", "");
    expect_str(j, "userIdentity.accountId", "anonymous");
    expect_absent(j, "userIdentity.arn");
    expect_absent(j, "userIdentity.accessKeyId");
    expect_absent(j, "additionalEventData.SignatureVersion");
    expect_absent(j, "additionalEventData.AuthenticationMethod");
    expect_num(j, "additionalEventData.bytesTransferredOut", 512);
    expect_str(j, "recipientAccountId", "444455556666");
    expect_str(j, "eventCategory", "Data");
    cJSON_Delete(j);
}

/* s3warden's STS endpoint: an AssumeRole management event from
 * sts.amazonaws.com, the role as an AWS::IAM::Role resource, the session
 * name and the issued key id when a session was issued, and never
 * their secret or token. */
static void test_sts_assume_role(void **state)
{
    (void)state;
    struct audit_record r;
    memset(&r, 0, sizeof(r));
    r.time_ms = 1719879676000;
    r.request_id = S3W_SLICE_LIT("A1B2C3D400000002");
    r.source_ip = S3W_SLICE_LIT("192.0.2.10");
    r.user_agent = S3W_SLICE_LIT("Boto3/1.34.0");
    r.identity_type = S3W_SLICE_LIT("IAMUser");
    r.principal_id = S3W_SLICE_LIT("AIDAJ45Q7YFFAREXAMPLE");
    r.arn = S3W_SLICE_LIT("arn:aws:iam::123456789012:user/Alice");
    r.account_id = S3W_SLICE_LIT("123456789012");
    r.access_key_id = S3W_SLICE_LIT("AKIAIOSFODNN7EXAMPLE");
    r.event_name = S3W_SLICE_LIT("sts");
    r.actions[0] = S3W_SLICE_LIT("sts:AssumeRole");
    r.resources[0] = S3W_SLICE_LIT("arn:aws:iam::111122223333:role/RoleToBeAssumed");
    r.nauthz = 1;
    r.auth_method = S3W_SLICE_LIT("AuthHeader");
    r.decision = S3W_SLICE_LIT("Allowed");
    r.http_status = 200;
    r.bytes_out = 900;
    r.upstream_latency_ms = -1;
    cJSON *j = fmt(&r);
    expect_common(j);
    expect_str(j, "eventSource", "sts.amazonaws.com");
    expect_str(j, "eventName", "AssumeRole");
    expect_str(j, "userAgent", "Boto3/1.34.0"); /* no brackets outside S3 */
    expect_str(j, "userIdentity.userName", "Alice");
    expect_str(j, "requestParameters.roleArn", "arn:aws:iam::111122223333:role/RoleToBeAssumed");
    expect_absent(j, "requestParameters.bucketName");
    expect_absent(j, "additionalEventData.bytesTransferredOut");
    expect_str(j, "additionalEventData.decision", "Allowed");
    expect_bool(j, "readOnly", true);
    assert_int_equal(cJSON_GetArraySize(at(j, "resources")), 1);
    resource(j, 0, "AWS::IAM::Role", "arn:aws:iam::111122223333:role/RoleToBeAssumed",
             "111122223333");
    expect_bool(j, "managementEvent", true);
    expect_str(j, "eventCategory", "Management");
    expect_str(j, "recipientAccountId", "111122223333");
    /* without a session issued (a refusal, GetCallerIdentity): null */
    assert_true(cJSON_IsNull(at(j, "responseElements")));
    expect_absent(j, "requestParameters.roleSessionName");
    cJSON_Delete(j);

    /* the session's name and the key id issued, as CloudTrail's AssumeRole
     * event names them (what later events by the session carry); never
     * its secret or token, which the record does not hold */
    r.sts_session_name = S3W_SLICE_LIT("MySessionName");
    r.sts_issued_key_id = S3W_SLICE_LIT("ASIAIOSFODNN7EXAMPLE");
    j = fmt(&r);
    expect_str(j, "requestParameters.roleSessionName", "MySessionName");
    expect_str(j, "responseElements.credentials.accessKeyId", "ASIAIOSFODNN7EXAMPLE");
    assert_int_equal(cJSON_GetArraySize(at(j, "responseElements.credentials")), 1);
    cJSON_Delete(j);
}

/* DeleteObjects: one data event, every key asked for as an object
 * resource, then the bucket. */
static void test_delete_objects(void **state)
{
    (void)state;
    struct audit_record r;
    memset(&r, 0, sizeof(r));
    r.time_ms = 1732295545000;
    r.request_id = S3W_SLICE_LIT("A1B2C3D400000003");
    r.source_ip = S3W_SLICE_LIT("192.0.2.0");
    r.user_agent = S3W_SLICE_LIT("aws-cli/2.18.5");
    r.identity_type = S3W_SLICE_LIT("IAMUser");
    r.principal_id = S3W_SLICE_LIT("AIDAJ45Q7YFFAREXAMPLE");
    r.arn = S3W_SLICE_LIT("arn:aws:iam::123456789012:user/Alice");
    r.account_id = S3W_SLICE_LIT("123456789012");
    r.access_key_id = S3W_SLICE_LIT("AKIAIOSFODNN7EXAMPLE");
    r.event_name = S3W_SLICE_LIT("DeleteObjects");
    r.bucket = S3W_SLICE_LIT("amzn-s3-demo-bucket");
    r.actions[0] = r.actions[1] = S3W_SLICE_LIT("s3:DeleteObject");
    r.resources[0] = S3W_SLICE_LIT("arn:aws:s3:::amzn-s3-demo-bucket/a.txt");
    r.resources[1] = S3W_SLICE_LIT("arn:aws:s3:::amzn-s3-demo-bucket/b.txt");
    r.nauthz = 2;
    r.auth_method = S3W_SLICE_LIT("AuthHeader");
    r.decision = S3W_SLICE_LIT("Allowed");
    r.http_status = 200;
    r.upstream_latency_ms = 3;
    cJSON *j = fmt(&r);
    expect_common(j);
    expect_str(j, "eventName", "DeleteObjects");
    expect_str(j, "requestParameters.bucketName", "amzn-s3-demo-bucket");
    expect_absent(j, "requestParameters.key");
    expect_bool(j, "readOnly", false);
    assert_int_equal(cJSON_GetArraySize(at(j, "resources")), 3);
    resource(j, 0, "AWS::S3::Object", "arn:aws:s3:::amzn-s3-demo-bucket/a.txt", NULL);
    resource(j, 1, "AWS::S3::Object", "arn:aws:s3:::amzn-s3-demo-bucket/b.txt", NULL);
    /* no bucket owner in the record: no accountId there; the recipient
     * is then the caller's account */
    resource(j, 2, "AWS::S3::Bucket", "arn:aws:s3:::amzn-s3-demo-bucket", NULL);
    expect_str(j, "recipientAccountId", "123456789012");
    expect_str(j, "eventCategory", "Data");
    expect_bool(j, "managementEvent", false);
    cJSON_Delete(j);
}

/* eventID is the same for the same record (a sink may deliver it twice)
 * and differs between requests. */
static void test_event_id_stable(void **state)
{
    (void)state;
    struct audit_record r;
    memset(&r, 0, sizeof(r));
    r.time_ms = 1;
    r.request_id = S3W_SLICE_LIT("R1");
    r.upstream_latency_ms = -1;
    cJSON *a = fmt(&r), *b = fmt(&r);
    r.request_id = S3W_SLICE_LIT("R2");
    cJSON *c = fmt(&r);
    assert_string_equal(at(a, "eventID")->valuestring, at(b, "eventID")->valuestring);
    assert_string_not_equal(at(a, "eventID")->valuestring, at(c, "eventID")->valuestring);
    cJSON_Delete(a);
    cJSON_Delete(b);
    cJSON_Delete(c);
}

/* Every field at 20,000 hostile bytes: the record still fits, is JSON,
 * and names what it cut. */
static void test_hostile_fits(void **state)
{
    (void)state;
    static char arn[20000];
    memcpy(arn, "arn:aws:s3:::", 13);
    memset(arn + 13, '/', sizeof(arn) - 13);
    struct audit_record r;
    struct s3w_slice h = hostile_record(&r);
    /* what differs for CloudTrail's format */
    r.identity_type = S3W_SLICE_LIT("AssumedRole");
    for (size_t i = 0; i < AUDIT_MAX_AUTHZ; i++)
        r.resources[i] = s3w_slice(arn, sizeof(arn));
    r.host = r.bucket_account = r.auth_method = r.cipher_suite = h;
    r.session_created_ms = 1;
    r.bytes_in = r.bytes_out = UINT64_MAX / 2;
    struct s3w_buf b;
    s3w_buf_init(&b, AUDIT_LINE_MAX);
    assert_int_equal(audit_format_cloudtrail(&r, &opts, &b), 0);
    print_message("most hostile CloudTrail record: %zu bytes of %d\n", b.len, AUDIT_LINE_MAX);
    cJSON *j = cJSON_ParseWithLength(b.ptr, b.len);
    assert_non_null(j);
    const cJSON *t = at(j, "additionalEventData.truncated");
    assert_true(cJSON_GetArraySize(t) >= 20);
    assert_int_equal(cJSON_GetArraySize(at(j, "resources")), AUDIT_MAX_AUTHZ + 1);
    cJSON_Delete(j);
    s3w_buf_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allowed_get_by_role_session),
        cmocka_unit_test(test_denied_put_by_user),
        cmocka_unit_test(test_anonymous),
        cmocka_unit_test(test_sts_assume_role),
        cmocka_unit_test(test_delete_objects),
        cmocka_unit_test(test_event_id_stable),
        cmocka_unit_test(test_hostile_fits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
