/*
 * test_s3map_context.c - condition keys s3map puts into the policy context
 * for representative requests (S3 service authorization reference: which
 * keys each action takes; IAM global condition keys).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "s3map.h"

static struct s3map_result res;
static struct policy_context ctx;

#define H(n, v) { S3W_SLICE_LIT(n), S3W_SLICE_LIT(v) }

/* 2023-11-14T22:13:20Z */
#define NOW_MS 1700000000000LL

static struct s3map_conn_facts facts(void)
{
    struct s3map_conn_facts f = {
        .source_ip = S3W_SLICE_LIT("203.0.113.7"),
        .tls_version = S3W_SLICE_LIT("1.3"),
        .now_ms = NOW_MS + 999, /* sub-second part is dropped, not rounded */
        .user_agent = S3W_SLICE_LIT("aws-cli/2.15"),
        .referer = S3W_SLICE_NULL,
        .region = S3W_SLICE_LIT("eu-west-1"),
        .auth_type = S3MAP_AUTH_HEADER,
        .sig_version = S3MAP_SIG_V4,
        .signature_age_ms = 1234,
        .content_sha256 = S3W_SLICE_LIT("UNSIGNED-PAYLOAD"),
        .resource_account = S3W_SLICE_LIT("111111111111"),
    };
    return f;
}

static int run(const char *method, const char *bucket, const char *key, const char *query,
               const struct s3w_header *h, size_t nh, const struct s3map_conn_facts *f)
{
    static struct s3map_request req;
    req = (struct s3map_request){
        s3w_slice_cstr(method), s3w_slice_cstr(bucket), s3w_slice_cstr(key),
        s3w_slice_cstr(query), h, nh,
    };
    policy_context_init(&ctx);
    int rc = s3map_map(&req, &res);
    if (rc)
        return rc;
    return s3map_fill_context(&res, &req, f, &ctx);
}

static void has(const char *key, const char *want)
{
    const struct policy_ctx_entry *e = policy_context_get(&ctx, s3w_slice_cstr(key));
    if (!e)
        fail_msg("%s absent, want \"%s\"", key, want);
    if (e->nvalues != 1 || !s3w_slice_eq_cstr(e->values[0], want))
        fail_msg("%s = \"%.*s\", want \"%s\"", key, (int)e->values[0].len, e->values[0].ptr, want);
}

static void absent(const char *key)
{
    const struct policy_ctx_entry *e = policy_context_get(&ctx, s3w_slice_cstr(key));
    if (e)
        fail_msg("%s present (\"%.*s\"), want absent", key, (int)e->values[0].len,
                 e->values[0].ptr);
}

static void test_list_keys(void **state)
{
    (void)state;
    struct s3map_conn_facts f = facts();
    static const struct s3w_header acl[] = { H("x-amz-acl", "public-read") };
    assert_int_equal(run("GET", "b", "", "list-type=2&prefix=home%2Falice%2F&delimiter=%2F"
                         "&max-keys=100", acl, 1, &f), 0);
    has("s3:prefix", "home/alice/");
    has("s3:delimiter", "/");
    has("s3:max-keys", "100");
    /* s3:ListBucket does not take s3:x-amz-acl: not set even though sent */
    absent("s3:x-amz-acl");
    has("s3:authType", "REST-HEADER");
    has("s3:signatureversion", "AWS4-HMAC-SHA256");
    absent("s3:signatureAge"); /* Authorization header: presigned/POST only */
    has("s3:TlsVersion", "1.3");
    has("s3:ResourceAccount", "111111111111");
    /* the global key too: left absent, a Deny on StringEquals
     * aws:ResourceAccount never fired (a data-perimeter bypass) */
    has("aws:ResourceAccount", "111111111111");
    has("s3:x-amz-content-sha256", "UNSIGNED-PAYLOAD");
    has("aws:SecureTransport", "true");
    has("aws:SourceIp", "203.0.113.7");
    has("aws:CurrentTime", "2023-11-14T22:13:20Z");
    has("aws:EpochTime", "1700000000");
    has("aws:UserAgent", "aws-cli/2.15");
    has("aws:RequestedRegion", "eu-west-1");
    absent("aws:Referer");
    /* identity keys are the config module's */
    absent("aws:userid");
    absent("aws:PrincipalArn");

    /* no prefix parameter -> no s3:prefix; an empty one -> "" */
    assert_int_equal(run("GET", "b", "", "", NULL, 0, &f), 0);
    absent("s3:prefix");
    absent("s3:delimiter");
    assert_int_equal(run("GET", "b", "", "prefix=", NULL, 0, &f), 0);
    has("s3:prefix", "");
    assert_int_equal(run("GET", "b", "", "versions&prefix=a+b", NULL, 0, &f), 0);
    has("s3:prefix", "a b");
}

static void test_put_object_keys(void **state)
{
    (void)state;
    struct s3map_conn_facts f = facts();
    f.tls_version = S3W_SLICE_NULL;
    f.auth_type = S3MAP_AUTH_QUERY;
    f.sig_version = S3MAP_SIG_V4A;
    f.referer = S3W_SLICE_LIT("https://example.com/");
    static const struct s3w_header h[] = {
        H("x-amz-acl", "bucket-owner-full-control"),
        H("x-amz-grant-read", "uri=\"http://acs.amazonaws.com/groups/global/AllUsers\""),
        H("x-amz-grant-read-acp", "id=ra"),
        H("x-amz-grant-write-acp", "id=wa"), H("x-amz-grant-full-control", "id=fc"),
        H("x-amz-server-side-encryption", "aws:kms"),
        H("x-amz-server-side-encryption-aws-kms-key-id",
          "arn:aws:kms:eu-west-1:111111111111:key/abc"),
        H("x-amz-storage-class", "  STANDARD_IA\t"),
        H("x-amz-tagging", "Project=Blue&Env=prod%20x&Empty="),
        H("x-amz-object-lock-mode", "GOVERNANCE"),
        H("x-amz-object-lock-retain-until-date", "2023-11-24T10:13:20.500Z"),
        H("x-amz-object-lock-legal-hold", "OFF"),
        H("If-None-Match", "*"),
    };
    assert_int_equal(run("PUT", "b", "k", "", h, sizeof h / sizeof h[0], &f), 0);
    has("s3:x-amz-acl", "bucket-owner-full-control");
    has("s3:x-amz-grant-read", "uri=\"http://acs.amazonaws.com/groups/global/AllUsers\"");
    has("s3:x-amz-grant-read-acp", "id=ra");
    has("s3:x-amz-grant-write-acp", "id=wa");
    has("s3:x-amz-grant-full-control", "id=fc");
    has("s3:x-amz-server-side-encryption", "aws:kms");
    has("s3:x-amz-server-side-encryption-aws-kms-key-id",
        "arn:aws:kms:eu-west-1:111111111111:key/abc");
    has("s3:x-amz-storage-class", "STANDARD_IA");
    has("s3:RequestObjectTag/Project", "Blue");
    has("s3:requestobjecttag/env", "prod x");
    has("s3:RequestObjectTag/Empty", "");
    const struct policy_ctx_entry *e =
        policy_context_get(&ctx, S3W_SLICE_LIT("s3:RequestObjectTagKeys"));
    assert_non_null(e);
    assert_true(e->multi);
    assert_int_equal(e->nvalues, 3);
    assert_true(s3w_slice_eq_cstr(e->values[0], "Project"));
    assert_true(s3w_slice_eq_cstr(e->values[1], "Env"));
    assert_true(s3w_slice_eq_cstr(e->values[2], "Empty"));
    has("s3:object-lock-mode", "GOVERNANCE");
    has("s3:object-lock-retain-until-date", "2023-11-24T10:13:20.500Z");
    has("s3:object-lock-legal-hold", "OFF");
    /* 9.5 days and a bit ahead of NOW_MS: a started day counts */
    has("s3:object-lock-remaining-retention-days", "10");
    has("s3:if-none-match", "*");
    has("s3:authType", "REST-QUERY-STRING");
    has("s3:signatureAge", "1234");
    has("s3:signatureversion", "AWS4-ECDSA-P256-SHA256");
    absent("s3:TlsVersion");
    has("aws:SecureTransport", "false");
    has("aws:Referer", "https://example.com/");
    absent("s3:x-amz-copy-source");
    absent("s3:versionid");
}

static void test_copy_and_version_keys(void **state)
{
    (void)state;
    struct s3map_conn_facts f = facts();
    f.auth_type = S3MAP_AUTH_NONE;
    f.sig_version = S3MAP_SIG_NONE;
    f.signature_age_ms = -1;
    f.source_ip = S3W_SLICE_NULL;
    static const struct s3w_header h[] = {
        H("x-amz-copy-source", "/src/public/a%20b.txt?versionId=V1"),
        H("x-amz-metadata-directive", "COPY"),
    };
    assert_int_equal(run("PUT", "b", "k", "", h, 2, &f), 0);
    has("s3:x-amz-copy-source", "src/public/a b.txt");
    has("s3:x-amz-metadata-directive", "COPY");
    absent("s3:authType");
    absent("s3:signatureversion");
    absent("s3:signatureAge");
    absent("aws:SourceIp");

    assert_int_equal(run("GET", "b", "k", "versionId=abc%2Bd", NULL, 0, &f), 0);
    has("s3:versionid", "abc+d");
    has("s3:VersionId", "abc+d");
    /* GetObject without a version: the key is absent */
    assert_int_equal(run("GET", "b", "k", "", NULL, 0, &f), 0);
    absent("s3:versionid");
    /* ListBuckets takes none of the request keys */
    assert_int_equal(run("GET", "", "", "prefix=x", NULL, 0, &f), 0);
    absent("s3:prefix");
    has("aws:EpochTime", "1700000000");
}

static void test_tagging_errors(void **state)
{
    (void)state;
    struct s3map_conn_facts f = facts();
    static const char *const bad[] = {
        "a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9&j=10&k=11", /* 11 tags */
        "a=1&a=2",
        "Env=1&env=2", /* collide as condition key names */
        "=v",
        "a=%zz",
    };
    static const char *const why[] = {
        "Object tags cannot be greater than 10",
        "Cannot provide multiple Tags with the same key",
        "Cannot provide multiple Tags with the same key",
        "tag key or value length",
        "malformed x-amz-tagging",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct s3w_header h[] = { { S3W_SLICE_LIT("x-amz-tagging"), s3w_slice_cstr(bad[i]) } };
        int rc = run("PUT", "b", "k", "", h, 1, &f);
        if (rc != S3MAP_E_INVALID_TAG)
            fail_msg("tagging \"%s\": %d", bad[i], rc);
        assert_string_equal(s3map_error_code(rc), "InvalidTag");
        assert_string_equal(res.detail, why[i]);
    }
    /* exactly 10 is fine */
    struct s3w_header ok[] = {
        { S3W_SLICE_LIT("x-amz-tagging"), S3W_SLICE_LIT("a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9&j=10") },
    };
    assert_int_equal(run("PUT", "b", "k", "", ok, 1, &f), 0);
    has("s3:RequestObjectTag/j", "10");

    struct s3w_header baddate[] = {
        { S3W_SLICE_LIT("x-amz-object-lock-retain-until-date"), S3W_SLICE_LIT("tomorrow") },
    };
    assert_int_equal(run("PUT", "b", "k", "", baddate, 1, &f), S3MAP_E_INVALID_ARGUMENT);
    assert_string_equal(res.detail, "x-amz-object-lock-retain-until-date is not an ISO 8601 date");
}

/* PutObjectTagging: the tags are in the body; s3map_map says so and the
 * parsed TagSet fills s3:RequestObjectTag/<k> and s3:RequestObjectTagKeys. */
static void test_tagging_body(void **state)
{
    (void)state;
    struct s3map_conn_facts f = facts();
    static char scratch[S3MAP_TAGGING_MAX_BODY];
    static struct s3map_tag_set tags;
    assert_int_equal(run("PUT", "b", "k", "tagging&versionId=v1", NULL, 0, &f), 0);
    assert_string_equal(res.op->name, "PutObjectTagging");
    assert_true(res.flags & S3MAP_F_BODY_KEYS);
    absent("s3:RequestObjectTagKeys"); /* not known before the body is read */
    const char *body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                       "<Tagging xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                       "<TagSet><Tag><Key>Project</Key><Value>R&amp;D</Value></Tag>"
                       "<Tag><Value></Value><Key>Empty</Key></Tag></TagSet></Tagging>";
    assert_int_equal(s3map_parse_tagging(s3w_slice_cstr(body), scratch, sizeof scratch, &tags), 0);
    assert_int_equal(tags.n, 2);
    assert_int_equal(s3map_tagging_context(&res, &tags, &ctx), 0);
    has("s3:RequestObjectTag/Project", "R&D");
    has("s3:RequestObjectTag/Empty", "");
    has("s3:versionid", "v1");
    const struct policy_ctx_entry *e =
        policy_context_get(&ctx, S3W_SLICE_LIT("s3:RequestObjectTagKeys"));
    assert_non_null(e);
    assert_int_equal(e->nvalues, 2);
    assert_true(s3w_slice_eq_cstr(e->values[0], "Project"));
    assert_true(s3w_slice_eq_cstr(e->values[1], "Empty"));

    /* an empty set (removes all tags): the key set is present and empty */
    assert_int_equal(run("PUT", "b", "k", "tagging", NULL, 0, &f), 0);
    assert_int_equal(s3map_parse_tagging(S3W_SLICE_LIT("<Tagging><TagSet/></Tagging>"), scratch,
                                         sizeof scratch, &tags), 0);
    assert_int_equal(tags.n, 0);
    assert_int_equal(s3map_tagging_context(&res, &tags, &ctx), 0);
    e = policy_context_get(&ctx, S3W_SLICE_LIT("s3:RequestObjectTagKeys"));
    assert_non_null(e);
    assert_true(e->multi);
    assert_int_equal(e->nvalues, 0);
    /* as botocore writes them (boto3's put_object_tagging with TagSet=[] or
     * an empty Value; the aws cli the same): whitespace before "/>" or '>'
     * is not an attribute */
    assert_int_equal(s3map_parse_tagging(S3W_SLICE_LIT("<Tagging xmlns=\"http://s3.amazonaws.com/doc/"
                                                       "2006-03-01/\"><TagSet /></Tagging>"),
                                         scratch, sizeof scratch, &tags), 0);
    assert_int_equal(tags.n, 0);
    assert_int_equal(s3map_parse_tagging(S3W_SLICE_LIT("<Tagging ><TagSet ><Tag><Key >e</Key>"
                                                       "<Value /></Tag></TagSet></Tagging>"),
                                         scratch, sizeof scratch, &tags), 0);
    assert_int_equal(tags.n, 1);
    assert_true(s3w_slice_eq_cstr(tags.tags[0].name, "e") && tags.tags[0].value.len == 0);

    /* other operations do not take the keys: nothing set */
    assert_int_equal(run("GET", "b", "k", "", NULL, 0, &f), 0);
    assert_false(res.flags & S3MAP_F_BODY_KEYS);
    assert_int_equal(s3map_tagging_context(&res, &tags, &ctx), 0);
    absent("s3:RequestObjectTagKeys");

    static const char *const malformed[] = {
        "<Tagging><TagSet><Tag><Key>a</Key></Tag></TagSet></Tagging>", /* no Value */
        "<Tagging><TagSet><Tag><Value>a</Value></Tag></TagSet></Tagging>",
        "<Tagging><Tag><Key>a</Key><Value>b</Value></Tag></Tagging>",  /* no TagSet */
        "<Tagging><TagSet><Tag><Key>a</Key><Value>b</Value><X/></Tag></TagSet></Tagging>",
        "<Tagging><TagSet></TagSet>",
        "<Tagging><TagSet a=\"1\" /></Tagging>", /* an attribute S3 does not document */
        "<TagSet></TagSet>",
        "",
    };
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        int rc = s3map_parse_tagging(s3w_slice_cstr(malformed[i]), scratch, sizeof scratch, &tags);
        if (rc != S3MAP_E_MALFORMED_XML)
            fail_msg("tagging body %zu: %d", i, rc);
        assert_int_equal(tags.n, 0);
    }
    char big[2048] = "<Tagging><TagSet>";
    for (int i = 0; i < 11; i++)
        snprintf(big + strlen(big), sizeof big - strlen(big),
                 "<Tag><Key>k%d</Key><Value>v</Value></Tag>", i);
    strcat(big, "</TagSet></Tagging>");
    assert_int_equal(s3map_parse_tagging(s3w_slice_cstr(big), scratch, sizeof scratch, &tags),
                     S3MAP_E_INVALID_TAG);
    static const char *const invalid[] = {
        "<Tagging><TagSet><Tag><Key></Key><Value>b</Value></Tag></TagSet></Tagging>",
        "<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag>"
        "<Tag><Key>a</Key><Value>2</Value></Tag></TagSet></Tagging>",
    };
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++)
        assert_int_equal(s3map_parse_tagging(s3w_slice_cstr(invalid[i]), scratch, sizeof scratch,
                                             &tags),
                         S3MAP_E_INVALID_TAG);
    /* 128 characters of key is the limit - counted in characters, not bytes */
    char kb[1024];
    strcpy(kb, "<Tagging><TagSet><Tag><Key>");
    for (int i = 0; i < 128; i++)
        strcat(kb, "\xC3\xA9"); /* e-acute: 2 bytes, 1 character */
    strcat(kb, "</Key><Value>v</Value></Tag></TagSet></Tagging>");
    assert_int_equal(s3map_parse_tagging(s3w_slice_cstr(kb), scratch, sizeof scratch, &tags), 0);
    char *end = strstr(kb, "</Key>");
    memmove(end + 1, end, strlen(end) + 1);
    *end = 'x';
    assert_int_equal(s3map_parse_tagging(s3w_slice_cstr(kb), scratch, sizeof scratch, &tags),
                     S3MAP_E_INVALID_TAG);
}

/* aws:CurrentTime against libc's gmtime_r + strftime over 1970..2199,
 * stepping an odd number of seconds so every field and leap days vary. */
static void test_current_time_matches_libc(void **state)
{
    (void)state;
    struct s3map_conn_facts f = facts();
    int checked = 0;
    for (int64_t t = 0; t < 7258118400LL; t += 86400LL * 29 + 3607) {
        f.now_ms = t * 1000 + 123;
        assert_int_equal(run("GET", "b", "k", "", NULL, 0, &f), 0);
        time_t tt = (time_t)t;
        struct tm tm;
        char want[32];
        assert_non_null(gmtime_r(&tt, &tm));
        strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%SZ", &tm);
        has("aws:CurrentTime", want);
        char epoch[24];
        snprintf(epoch, sizeof epoch, "%lld", (long long)t);
        has("aws:EpochTime", epoch);
        checked++;
    }
    assert_true(checked > 2500);
    /* 2024-02-29 and 2000-02-29 exactly */
    f.now_ms = 1709164800000LL;
    assert_int_equal(run("GET", "b", "k", "", NULL, 0, &f), 0);
    has("aws:CurrentTime", "2024-02-29T00:00:00Z");
    f.now_ms = 951782400000LL;
    assert_int_equal(run("GET", "b", "k", "", NULL, 0, &f), 0);
    has("aws:CurrentTime", "2000-02-29T00:00:00Z");
}

/* s3map_body_context: keys that only the body carries. */
static void test_body_keys(void **state)
{
    (void)state;
    struct s3map_conn_facts f = facts();
    static char scratch[S3MAP_BODY_KEYS_MAX];

    /* PutObjectRetention: NOW_MS is 2023-11-14T22:13:20Z */
    assert_int_equal(run("PUT", "b", "k", "retention", NULL, 0, &f), 0);
    assert_true(res.flags & S3MAP_F_BODY_KEYS);
    absent("s3:object-lock-mode");
    const char *ret = "<?xml version=\"1.0\"?><Retention xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                      "<Mode>COMPLIANCE</Mode><RetainUntilDate>2023-12-14T22:13:20Z</RetainUntilDate>"
                      "</Retention>";
    assert_int_equal(s3map_body_context(&res, s3w_slice_cstr(ret), scratch, sizeof scratch,
                                        NOW_MS, &ctx), 0);
    has("s3:object-lock-mode", "COMPLIANCE");
    has("s3:object-lock-retain-until-date", "2023-12-14T22:13:20Z");
    has("s3:object-lock-remaining-retention-days", "30");
    static const char *const bad_ret[] = {
        "<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>soon</RetainUntilDate></Retention>",
        "<Retention><Mode>A</Mode><Mode>B</Mode></Retention>",
        "<Retention><Other>x</Other></Retention>",
        "<LegalHold><Status>ON</Status></LegalHold>",
        "",
    };
    for (size_t i = 0; i < sizeof bad_ret / sizeof bad_ret[0]; i++) {
        int rc = s3map_body_context(&res, s3w_slice_cstr(bad_ret[i]), scratch, sizeof scratch,
                                    NOW_MS, &ctx);
        if (rc != S3MAP_E_MALFORMED_XML)
            fail_msg("retention body %zu: %d", i, rc);
    }

    assert_int_equal(run("PUT", "b", "k", "legal-hold", NULL, 0, &f), 0);
    assert_int_equal(s3map_body_context(&res, S3W_SLICE_LIT("<LegalHold><Status>ON</Status></LegalHold>"),
                                        scratch, sizeof scratch, NOW_MS, &ctx), 0);
    has("s3:object-lock-legal-hold", "ON");

    /* CreateBucket: LocationConstraint, other children skipped, empty body fine */
    assert_int_equal(run("PUT", "b", "", "", NULL, 0, &f), 0);
    assert_true(res.flags & S3MAP_F_BODY_KEYS);
    assert_int_equal(s3map_body_context(&res, S3W_SLICE_NULL, scratch, sizeof scratch, NOW_MS,
                                        &ctx), 0);
    absent("s3:locationconstraint");
    const char *cb = "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                     "<Tags><Tag><Key>a</Key><Value>b</Value></Tag></Tags>"
                     "<LocationConstraint>sa-east-1</LocationConstraint>"
                     "<Location><Type>AvailabilityZone</Type><Name/></Location>"
                     "</CreateBucketConfiguration>";
    assert_int_equal(s3map_body_context(&res, s3w_slice_cstr(cb), scratch, sizeof scratch, NOW_MS,
                                        &ctx), 0);
    has("s3:locationconstraint", "sa-east-1");
    static const char *const bad_cb[] = {
        "<CreateBucketConfiguration><Tags><Tag></Tags></CreateBucketConfiguration>",
        "<CreateBucketConfiguration><LocationConstraint>a</LocationConstraint>"
        "<LocationConstraint>b</LocationConstraint></CreateBucketConfiguration>",
        "<CreateBucketConfiguration><A><B><C><D><E><F><G><H><I></I></H></G></F></E></D></C></B>"
        "</A></CreateBucketConfiguration>", /* nested deeper than the skipper goes */
        "<CreateBucketConfiguration>",
    };
    for (size_t i = 0; i < sizeof bad_cb / sizeof bad_cb[0]; i++) {
        int rc = s3map_body_context(&res, s3w_slice_cstr(bad_cb[i]), scratch, sizeof scratch,
                                    NOW_MS, &ctx);
        if (rc != S3MAP_E_MALFORMED_XML)
            fail_msg("create bucket body %zu: %d", i, rc);
    }

    /* PutObjectTagging through the same entry point */
    assert_int_equal(run("PUT", "b", "k", "tagging", NULL, 0, &f), 0);
    assert_int_equal(s3map_body_context(&res,
                                        S3W_SLICE_LIT("<Tagging><TagSet><Tag><Key>Env</Key>"
                                                      "<Value>prod</Value></Tag></TagSet></Tagging>"),
                                        scratch, sizeof scratch, NOW_MS, &ctx), 0);
    has("s3:RequestObjectTag/Env", "prod");
    assert_int_equal(s3map_body_context(&res,
                                        S3W_SLICE_LIT("<Tagging><TagSet><Tag><Key>Env</Key><Value>1</Value></Tag>"
                                                      "<Tag><Key>env</Key><Value>2</Value></Tag></TagSet></Tagging>"),
                                        scratch, sizeof scratch, NOW_MS, &ctx),
                     S3MAP_E_INVALID_TAG);

    /* operations without body keys: a no-op */
    assert_int_equal(run("GET", "b", "k", "", NULL, 0, &f), 0);
    assert_int_equal(s3map_body_context(&res, S3W_SLICE_LIT("garbage"), scratch, sizeof scratch,
                                        NOW_MS, &ctx), 0);
    /* over the cap */
    assert_int_equal(run("PUT", "b", "k", "tagging", NULL, 0, &f), 0);
    assert_int_equal(s3map_body_context(&res, s3w_slice(scratch, S3MAP_BODY_KEYS_MAX + 1), scratch,
                                        S3MAP_BODY_KEYS_MAX + 1, NOW_MS, &ctx),
                     S3MAP_E_TOO_BIG);
}

/* Every key s3map_condition_key_support() calls FILLED is set by at least
 * one request here - the classification cannot claim more than the code does. */
static char seen[128][80];
static size_t nseen;

static void collect(void)
{
    for (size_t i = 0; i < ctx.n && nseen < 128; i++)
        snprintf(seen[nseen++], sizeof seen[0], "%.*s", (int)ctx.entries[i].key.len,
                 ctx.entries[i].key.ptr);
}

static bool was_seen(const char *k)
{
    for (size_t i = 0; i < nseen; i++)
        if (s3w_slice_eq_nocase(s3w_slice_cstr(seen[i]), s3w_slice_cstr(k)))
            return true;
    return false;
}

static void test_filled_keys_are_filled(void **state)
{
    (void)state;
    struct s3map_conn_facts f = facts();
    static char scratch[S3MAP_BODY_KEYS_MAX];
    nseen = 0;
    f.auth_type = S3MAP_AUTH_QUERY; /* s3:signatureAge is a presigned-URL key */
    assert_int_equal(run("GET", "b", "", "list-type=2&prefix=p&delimiter=d&max-keys=1", NULL, 0, &f), 0);
    collect();
    static const struct s3w_header put[] = {
        H("x-amz-acl", "private"), H("x-amz-grant-read", "a"),
        H("x-amz-grant-read-acp", "a"), H("x-amz-grant-write-acp", "a"),
        H("x-amz-grant-full-control", "a"), H("x-amz-server-side-encryption", "aws:kms"),
        H("x-amz-server-side-encryption-aws-kms-key-id", "k"),
        H("x-amz-server-side-encryption-customer-algorithm", "AES256"),
        H("x-amz-storage-class", "GLACIER"), H("x-amz-website-redirect-location", "/x"),
        H("x-amz-tagging", "t=1"), H("x-amz-object-lock-mode", "GOVERNANCE"),
        H("x-amz-object-lock-retain-until-date", "2030-01-01T00:00:00Z"),
        H("x-amz-object-lock-legal-hold", "ON"), H("If-Match", "\"e\""),
        H("If-None-Match", "*"),
    };
    assert_int_equal(run("PUT", "b", "k", "", put, sizeof put / sizeof put[0], &f), 0);
    collect();
    static const struct s3w_header copy[] = {
        H("x-amz-copy-source", "s/k"), H("x-amz-metadata-directive", "REPLACE"),
    };
    assert_int_equal(run("PUT", "b", "k", "", copy, 2, &f), 0);
    collect();
    assert_int_equal(run("GET", "b", "k", "versionId=v", NULL, 0, &f), 0);
    collect();
    static const struct s3w_header own[] = { H("x-amz-object-ownership", "BucketOwnerEnforced"),
                                             H("x-amz-grant-write", "a") };
    assert_int_equal(run("PUT", "b", "", "", own, 2, &f), 0);
    assert_int_equal(s3map_body_context(&res, S3W_SLICE_LIT("<CreateBucketConfiguration><LocationConstraint>"
                                                            "eu-west-1</LocationConstraint>"
                                                            "</CreateBucketConfiguration>"),
                                        scratch, sizeof scratch, NOW_MS, &ctx), 0);
    collect();
    size_t filled = 0;
    for (const char *const *k = s3map_condition_keys; *k; k++) {
        if (s3map_condition_key_support(s3w_slice_cstr(*k)) != S3MAP_KEY_FILLED)
            continue;
        filled++;
        if (!was_seen(*k))
            fail_msg("%s is classified FILLED but no request set it", *k);
    }
    assert_true(was_seen("s3:RequestObjectTag/t"));
    assert_int_equal(filled, 32);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_keys),
        cmocka_unit_test(test_put_object_keys),
        cmocka_unit_test(test_copy_and_version_keys),
        cmocka_unit_test(test_tagging_errors),
        cmocka_unit_test(test_tagging_body),
        cmocka_unit_test(test_current_time_matches_libc),
        cmocka_unit_test(test_body_keys),
        cmocka_unit_test(test_filled_keys_are_filled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
