/*
 * test_public.c - policy_is_public (policy/public.c): S3's "public" rule for
 * bucket policies (S3 User Guide, "The meaning of 'public'"), its own
 * examples, and s3warden's readings where AWS leaves a point open (PUBLIC
 * when unsure). Every case names its rule and asserts the exact answer and
 * the exact reason.
 *
 * Policies are written with ' for " to keep them readable; each compiles as
 * a bucket policy of "examplebucket" (warnings allowed, no error).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

#define NONPUBLIC "no Allow statement is public: each names fixed principals or is limited by a " \
                  "condition on fixed values"

/* One statement granting s3:GetObject on the bucket's objects to `who`,
 * with an optional Condition (a JSON object, or "" for none). */
#define RES "'Resource':'arn:aws:s3:::examplebucket/*'"
#define ALLOW(who, cond) "{'Effect':'Allow','Principal':" who ",'Action':'s3:GetObject'," RES cond "}"
#define COND(c) ",'Condition':" c
#define POLICY(...) "{'Version':'2012-10-17','Statement':[" __VA_ARGS__ "]}"
#define STAR "'*'"
#define AWS_STAR "{'AWS':'*'}"
#define ANYONE_PREFIX "Statement[0]: Principal \"*\", and no condition limits it to fixed values ("

struct pcase {
    const char *name; /* the rule */
    const char *policy;
    bool want_public;
    const char *want_why;
};

static const struct pcase cases[] = {
    /* ---- the AWS guide's own examples ---------------------------------- */
    { "AWS example: a Federated provider (graph.facebook.com) is public",
      "{'Version':'2012-10-17','Statement':[{'Principal':{'Federated':'graph.facebook.com'},"
      "'Resource':'arn:aws:s3:::examplebucket/*','Action':'s3:PutObject','Effect':'Allow'}]}",
      true,
      "Statement[0]: Federated principal \"graph.facebook.com\" and no condition that limits it "
      "to fixed values" },
    { "AWS example: Principal \"*\" without a condition is public",
      POLICY(ALLOW(STAR, "")), true,
      "Statement[0]: Principal \"*\" and no condition that limits it to fixed values" },
    { "AWS example: StringLike aws:SourceVpc \"vpc-*\" holds a wildcard: public",
      POLICY(ALLOW(STAR, COND("{'StringLike':{'aws:SourceVpc':'vpc-*'}}"))), true,
      ANYONE_PREFIX "StringLike on aws:SourceVpc: the value holds a wildcard, \"vpc-*\")" },
    { "AWS example: StringEquals aws:SourceVpc fixed \"vpc-91237329\": not public",
      POLICY(ALLOW(STAR, COND("{'StringEquals':{'aws:SourceVpc':'vpc-91237329'}}"))), false,
      NONPUBLIC },
    { "AWS example: CloudTrail service + Account-2 + \"*\" without condition: the third makes "
      "it public",
      POLICY("{'Sid':'CloudTrail','Effect':'Allow','Principal':{'Service':'cloudtrail.amazonaws.com'},"
             "'Action':'s3:PutObject'," RES "},"
             "{'Sid':'Account2','Effect':'Allow','Principal':{'AWS':'222222222222'},"
             "'Action':'s3:GetObject'," RES "},"
             "{'Sid':'Everyone','Effect':'Allow','Principal':'*','Action':'s3:GetObject'," RES "}"),
      true,
      "Statement[2](Sid \"Everyone\"): Principal \"*\" and no condition that limits it to fixed "
      "values" },
    { "AWS example: the same policy without the third statement is not public",
      POLICY("{'Sid':'CloudTrail','Effect':'Allow','Principal':{'Service':'cloudtrail.amazonaws.com'},"
             "'Action':'s3:PutObject'," RES "},"
             "{'Sid':'Account2','Effect':'Allow','Principal':{'AWS':'222222222222'},"
             "'Action':'s3:GetObject'," RES "}"),
      false, NONPUBLIC },

    /* ---- fixed principals: not public, whatever the conditions ---------- */
    { "fixed principal: an account id", POLICY(ALLOW("{'AWS':'111122223333'}", "")), false,
      NONPUBLIC },
    { "fixed principal: an account root ARN",
      POLICY(ALLOW("{'AWS':'arn:aws:iam::111122223333:root'}", "")), false, NONPUBLIC },
    { "fixed principal: user and role ARNs, with conditions that would not limit \"*\"",
      POLICY(ALLOW("{'AWS':['arn:aws:iam::111122223333:user/alice','arn:aws:iam::111122223333:role/r']}",
                   COND("{'Bool':{'aws:SecureTransport':'true'},"
                        "'StringNotEquals':{'aws:PrincipalAccount':'444455556666'}}"))),
      false, NONPUBLIC },
    { "fixed principal: a Service principal",
      POLICY(ALLOW("{'Service':'logging.s3.amazonaws.com'}", "")), false, NONPUBLIC },
    { "fixed principal: a CanonicalUser",
      POLICY(ALLOW("{'CanonicalUser':'79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be'}",
                   "")),
      false, NONPUBLIC },

    /* ---- "*" or {"AWS":"*"} limited by a fixed condition: not public ---- */
    { "s3warden's reading: aws:PrincipalAccount is not in the guide's list (only "
      "aws:PrincipalOrgID is named): public",
      POLICY(ALLOW(AWS_STAR, COND("{'StringEquals':{'aws:PrincipalAccount':'111122223333'}}"))),
      true,
      "Statement[0]: Principal {\"AWS\": \"*\"}, and no condition limits it to fixed values "
      "(StringEquals on aws:PrincipalAccount: not a key AWS counts as limiting access)" },
    { "\"*\" with IpAddress aws:SourceIp 203.0.113.0/24",
      POLICY(ALLOW(STAR, COND("{'IpAddress':{'aws:SourceIp':'203.0.113.0/24'}}"))), false,
      NONPUBLIC },
    { "s3warden's reading: aws:PrincipalArn is not in the guide's list: public",
      POLICY(ALLOW(STAR, COND("{'ArnEquals':{'aws:PrincipalArn':'arn:aws:iam::111122223333:role/r'}}"))),
      true,
      ANYONE_PREFIX "ArnEquals on aws:PrincipalArn: not a key AWS counts as limiting access)" },
    { "\"*\" with ArnLike aws:SourceArn without a wildcard",
      POLICY(ALLOW(STAR, COND("{'ArnLike':{'aws:SourceArn':'arn:aws:cloudtrail:us-east-1:111122223333:trail/t'}}"))),
      false, NONPUBLIC },
    { "\"*\" with StringLike aws:userid without a wildcard (a user id)",
      POLICY(ALLOW(STAR, COND("{'StringLike':{'aws:userid':'AIDAEXAMPLEUSERID0001'}}"))), false,
      NONPUBLIC },
    { "\"*\" with StringEqualsIgnoreCase aws:PrincipalOrgID fixed",
      POLICY(ALLOW(STAR, COND("{'StringEqualsIgnoreCase':{'aws:PrincipalOrgID':'o-a1b2c3d4e5'}}"))),
      false, NONPUBLIC },
    { "\"*\" with StringEquals s3:x-amz-server-side-encryption-aws-kms-key-id fixed",
      POLICY("{'Effect':'Allow','Principal':'*','Action':'s3:PutObject'," RES ","
             "'Condition':{'StringEquals':{'s3:x-amz-server-side-encryption-aws-kms-key-id':"
             "'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab'}}}"),
      false, NONPUBLIC },
    { "\"*\" with StringEquals s3:DataAccessPointAccount fixed",
      POLICY(ALLOW(STAR, COND("{'StringEquals':{'s3:DataAccessPointAccount':'111122223333'}}"))),
      false, NONPUBLIC },
    { "AWS note: s3:DataAccessPointArn may hold a wildcard in the access point name, account "
      "fixed",
      POLICY(ALLOW(STAR, COND("{'StringLike':{'s3:DataAccessPointArn':"
                              "'arn:aws:s3:us-west-2:123456789012:accesspoint/*'}}"))),
      false, NONPUBLIC },
    { "s3:DataAccessPointArn with a wildcard account is public",
      POLICY(ALLOW(STAR, COND("{'ArnLike':{'s3:DataAccessPointArn':'arn:aws:s3:us-west-2:*:accesspoint/*'}}"))),
      true,
      ANYONE_PREFIX "ArnLike on s3:DataAccessPointArn: the value holds a wildcard, "
                    "\"arn:aws:s3:us-west-2:*:accesspoint/*\")" },
    { "s3warden's reading: aws:SourceIp /8 (IPv4) and /32 (IPv6) are narrow enough",
      POLICY(ALLOW(STAR, COND("{'IpAddress':{'aws:SourceIp':['10.0.0.0/8','2001:db8::/32']}}"))),
      false, NONPUBLIC },
    { "conditions are ANDed: one fixed limiting key bounds the grant, a Bool beside it does "
      "not matter",
      POLICY(ALLOW(STAR, COND("{'Bool':{'aws:SecureTransport':'true'},"
                              "'StringEquals':{'aws:SourceAccount':'111122223333'}}"))),
      false, NONPUBLIC },

    /* ---- public when unsure ------------------------------------------------ */
    { "NotPrincipal in an Allow is public",
      POLICY("{'Effect':'Allow','NotPrincipal':{'AWS':'arn:aws:iam::111122223333:root'},"
             "'Action':'s3:GetObject'," RES "}"),
      true, "Statement[0]: NotPrincipal in an Allow grants to everyone not listed" },
    { "negated operator: StringNotEquals does not limit",
      POLICY(ALLOW(STAR, COND("{'StringNotEquals':{'aws:PrincipalAccount':'444455556666'}}"))),
      true,
      ANYONE_PREFIX "StringNotEquals on aws:PrincipalAccount: a negated operator grants to "
                    "every value but those listed)" },
    { "negated operator: NotIpAddress does not limit",
      POLICY(ALLOW(STAR, COND("{'NotIpAddress':{'aws:SourceIp':'203.0.113.0/24'}}"))), true,
      ANYONE_PREFIX "NotIpAddress on aws:SourceIp: a negated operator grants to every value but "
                    "those listed)" },
    { "negated operator: ArnNotEquals does not limit",
      POLICY(ALLOW(AWS_STAR, COND("{'ArnNotEquals':{'aws:PrincipalArn':'arn:aws:iam::111122223333:role/r'}}"))),
      true,
      "Statement[0]: Principal {\"AWS\": \"*\"}, and no condition limits it to fixed values "
      "(ArnNotEquals on aws:PrincipalArn: a negated operator grants to every value but those "
      "listed)" },
    { "...IfExists holds when the key is absent: does not limit",
      POLICY(ALLOW(STAR, COND("{'StringEqualsIfExists':{'aws:PrincipalAccount':'111122223333'}}"))),
      true,
      ANYONE_PREFIX "StringEqualsIfExists on aws:PrincipalAccount: an ...IfExists operator "
                    "holds when the key is absent)" },
    { "ForAnyValue qualifier: AWS does not count it as limiting",
      POLICY(ALLOW(STAR, COND("{'ForAnyValue:StringEquals':{'aws:PrincipalOrgPaths':"
                              "'o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/'}}"))),
      true,
      ANYONE_PREFIX "ForAnyValue:StringEquals on aws:PrincipalOrgPaths: AWS does not count a "
                    "ForAnyValue condition as limiting)" },
    { "ForAllValues qualifier holds for an absent key: does not limit",
      POLICY(ALLOW(STAR, COND("{'ForAllValues:StringEquals':{'aws:PrincipalAccount':'111122223333'}}"))),
      true,
      ANYONE_PREFIX "ForAllValues:StringEquals on aws:PrincipalAccount: ForAllValues holds when "
                    "the key is absent)" },
    { "a value with `*` is not fixed, even under StringEquals",
      POLICY(ALLOW(STAR, COND("{'StringEquals':{'aws:SourceAccount':'1111*'}}"))), true,
      ANYONE_PREFIX "StringEquals on aws:SourceAccount: the value holds a wildcard, "
                    "\"1111*\")" },
    { "a value with `?` is not fixed",
      POLICY(ALLOW(STAR, COND("{'StringLike':{'aws:userid':'AIDA?XAMPLEUSERID0001'}}"))), true,
      ANYONE_PREFIX "StringLike on aws:userid: the value holds a wildcard, "
                    "\"AIDA?XAMPLEUSERID0001\")" },
    { "a value with a policy variable (${...}) is not fixed",
      POLICY(ALLOW(STAR, COND("{'ArnEquals':{'aws:SourceArn':"
                              "'arn:aws:iam::111122223333:user/${aws:username}'}}"))),
      true,
      ANYONE_PREFIX "ArnEquals on aws:SourceArn: the value holds a policy variable, "
                    "\"arn:aws:iam::111122223333:user/${aws:username}\")" },
    { "s3warden's reading of \"aws:userid, outside the pattern AROLEID:*\": that pattern "
      "(a role's every session) does not limit: public",
      POLICY(ALLOW(STAR, COND("{'StringLike':{'aws:userid':'AROAEXAMPLEROLEID0001:*'}}"))), true,
      ANYONE_PREFIX "StringLike on aws:userid: the value is of the pattern \"AROLEID:*\", which "
                    "the guide puts outside the fixed values (a role's every session), "
                    "\"AROAEXAMPLEROLEID0001:*\")" },
    { "aws:userid \"anonymous\" may be every unsigned caller (IAM-SEMANTICS §6): public",
      POLICY(ALLOW(STAR, COND("{'StringEquals':{'aws:userid':'Anonymous'}}"))), true,
      ANYONE_PREFIX "StringEquals on aws:userid: the value may be every unsigned caller's "
                    "(unconfirmed), \"Anonymous\")" },
    { "aws:userid with a wildcard elsewhere than a trailing \":*\" is a wildcard",
      POLICY(ALLOW(STAR, COND("{'StringLike':{'aws:userid':'*:i-0a1b2c3d4e5f60001'}}"))), true,
      ANYONE_PREFIX "StringLike on aws:userid: the value holds a wildcard, "
                    "\"*:i-0a1b2c3d4e5f60001\")" },
    { "aws:SourceIp 0.0.0.0/0 is public",
      POLICY(ALLOW(STAR, COND("{'IpAddress':{'aws:SourceIp':'0.0.0.0/0'}}"))), true,
      ANYONE_PREFIX "IpAddress on aws:SourceIp: the range is broader than /8, \"0.0.0.0/0\")" },
    { "aws:SourceIp ::/0 is public",
      POLICY(ALLOW(STAR, COND("{'IpAddress':{'aws:SourceIp':'::/0'}}"))), true,
      ANYONE_PREFIX "IpAddress on aws:SourceIp: the range is broader than /32, \"::/0\")" },
    { "AWS note: aws:SourceIp 0.0.0.0/1 (broader than /8) is public",
      POLICY(ALLOW(STAR, COND("{'IpAddress':{'aws:SourceIp':'0.0.0.0/1'}}"))), true,
      ANYONE_PREFIX "IpAddress on aws:SourceIp: the range is broader than /8, \"0.0.0.0/1\")" },
    { "s3warden's reading: an IPv4 range shorter than /8 (10.0.0.0/7) is public",
      POLICY(ALLOW(STAR, COND("{'IpAddress':{'aws:SourceIp':'10.0.0.0/7'}}"))), true,
      ANYONE_PREFIX "IpAddress on aws:SourceIp: the range is broader than /8, \"10.0.0.0/7\")" },
    { "s3warden's reading: an IPv6 range shorter than /32 (2001:db8::/31) is public",
      POLICY(ALLOW(STAR, COND("{'IpAddress':{'aws:SourceIp':'2001:db8::/31'}}"))), true,
      ANYONE_PREFIX "IpAddress on aws:SourceIp: the range is broader than /32, "
                    "\"2001:db8::/31\")" },
    { "an IPv4-mapped IPv6 range counts as its IPv4 range (::ffff:0.0.0.0/96 is 0.0.0.0/0)",
      POLICY(ALLOW(STAR, COND("{'IpAddress':{'aws:SourceIp':'::ffff:0.0.0.0/96'}}"))), true,
      ANYONE_PREFIX "IpAddress on aws:SourceIp: the range is broader than /8, "
                    "\"::ffff:0.0.0.0/96\")" },
    { "values are ORed: one broad range among narrow ones is public",
      POLICY(ALLOW(STAR, COND("{'IpAddress':{'aws:SourceIp':['203.0.113.0/24','0.0.0.0/0']}}"))),
      true,
      ANYONE_PREFIX "IpAddress on aws:SourceIp: the range is broader than /8, \"0.0.0.0/0\")" },
    { "Null only tests presence: public",
      POLICY(ALLOW(STAR, COND("{'Null':{'aws:PrincipalAccount':'false'}}"))), true,
      ANYONE_PREFIX "Null on aws:PrincipalAccount: Null tests only whether the key is present)" },
    { "a key AWS does not list (aws:SecureTransport) does not limit",
      POLICY(ALLOW(STAR, COND("{'Bool':{'aws:SecureTransport':'true'}}"))), true,
      ANYONE_PREFIX "Bool on aws:SecureTransport: not a key AWS counts as limiting access)" },
    { "a key AWS does not list (s3:prefix) does not limit, even fixed",
      POLICY("{'Effect':'Allow','Principal':'*','Action':'s3:ListBucket',"
             "'Resource':'arn:aws:s3:::examplebucket','Condition':{'StringEquals':{'s3:prefix':'home/'}}}"),
      true,
      ANYONE_PREFIX "StringEquals on s3:prefix: not a key AWS counts as limiting access)" },
    { "aws:SourceIp limits only under IpAddress (StringEquals does not count)",
      POLICY(ALLOW(STAR, COND("{'StringEquals':{'aws:SourceIp':'203.0.113.5'}}"))), true,
      ANYONE_PREFIX "StringEquals on aws:SourceIp: aws:SourceIp limits access only under "
                    "IpAddress)" },
    { "a principal holding a policy variable is not fixed",
      POLICY(ALLOW("{'AWS':'arn:aws:iam::111122223333:user/${aws:username}'}", "")), true,
      "Statement[0]: principal \"arn:aws:iam::111122223333:user/${aws:username}\" holds a policy "
      "variable and no condition that limits it to fixed values" },
    { "one open entry among fixed ones opens the Principal",
      POLICY(ALLOW("{'AWS':['111122223333','*']}", "")), true,
      "Statement[0]: Principal {\"AWS\": \"*\"} and no condition that limits it to fixed values" },

    /* ---- several statements; Deny never makes a policy public -------------- */
    { "Deny \"*\" without condition is ignored; the Allow names an account",
      POLICY("{'Effect':'Deny','Principal':'*','Action':'s3:*'," RES "},"
             ALLOW("{'AWS':'111122223333'}", "")),
      false, NONPUBLIC },
    { "Deny with NotPrincipal is ignored",
      POLICY("{'Effect':'Deny','NotPrincipal':{'AWS':'arn:aws:iam::111122223333:root'},"
             "'Action':'s3:*'," RES "}," ALLOW("{'AWS':'111122223333'}", "")),
      false, NONPUBLIC },
    { "only Deny statements: not public",
      POLICY("{'Effect':'Deny','Principal':'*','Action':'s3:DeleteObject'," RES "}"), false,
      NONPUBLIC },
    { "three Allows: fixed, limited and open - the open one makes it public",
      POLICY(ALLOW("{'AWS':'111122223333'}", "") ","
             ALLOW(STAR, COND("{'IpAddress':{'aws:SourceIp':'198.51.100.0/24'}}")) ","
             "{'Sid':'Web','Effect':'Allow','Principal':'*','Action':'s3:GetObject'," RES ","
             "'Condition':{'StringLike':{'aws:SourceVpc':'vpc-*'}}}"),
      true,
      "Statement[2](Sid \"Web\"): Principal \"*\", and no condition limits it to fixed values "
      "(StringLike on aws:SourceVpc: the value holds a wildcard, \"vpc-*\")" },
};

static char *to_json(const char *s)
{
    char *d = strdup(s);
    assert_non_null(d);
    for (char *p = d; *p; p++)
        if (*p == '\'')
            *p = '"';
    return d;
}

static void test_public_cases(void **state)
{
    (void)state;
    int failed = 0;
    size_t n = sizeof(cases) / sizeof(cases[0]);
    size_t npublic = 0;
    for (size_t i = 0; i < n; i++) {
        const struct pcase *c = &cases[i];
        char *json = to_json(c->policy);
        struct policy_compile_opts o = { .kind = POLICY_KIND_RESOURCE, .name = "bucket-policy",
                                         .bucket = S3W_SLICE_LIT("examplebucket") };
        struct policy *p = NULL;
        struct policy_diags d;
        policy_diags_init(&d);
        int rc = policy_compile(json, strlen(json), &o, &p, &d);
        free(json);
        if (rc != POLICY_OK) {
            fprintf(stderr, "FAIL %s: does not compile (%s)%s%s\n", c->name, policy_strerror(rc),
                    d.n ? ": " : "", d.n ? d.items[0].text : "");
            failed++;
            continue;
        }
        char why[512];
        bool pub = policy_is_public(p, why, sizeof(why));
        policy_free(p);
        if (pub != c->want_public || strcmp(why, c->want_why) != 0) {
            fprintf(stderr, "FAIL %s\n  want %s: %s\n  got  %s: %s\n", c->name,
                    c->want_public ? "public" : "not public", c->want_why,
                    pub ? "public" : "not public", why);
            failed++;
        }
        npublic += c->want_public;
    }
    printf("test_public: %zu policies (%zu public), %d failed\n", n, npublic, failed);
    assert_int_equal(failed, 0);
    assert_true(n >= 25);
    assert_true(npublic >= 10 && n - npublic >= 10);
}

/* No policy at all: the safe answer (callers answer 404 before asking). */
static void test_null_policy_is_public(void **state)
{
    (void)state;
    char why[64];
    assert_true(policy_is_public(NULL, why, sizeof(why)));
    assert_string_equal(why, "no compiled policy");
    assert_true(policy_is_public(NULL, NULL, 0));
}

/* The reason is cut to the buffer, NUL-terminated; the answer is the same. */
static void test_reason_truncated(void **state)
{
    (void)state;
    char *json = to_json(POLICY(ALLOW(STAR, "")));
    struct policy_compile_opts o = { .kind = POLICY_KIND_RESOURCE, .name = "b" };
    struct policy *p = NULL;
    assert_int_equal(policy_compile(json, strlen(json), &o, &p, NULL), POLICY_OK);
    free(json);
    char why[16];
    memset(why, 'x', sizeof(why));
    assert_true(policy_is_public(p, why, sizeof(why)));
    assert_string_equal(why, "Statement[0]: P");
    assert_true(policy_is_public(p, NULL, 0));
    memset(why, 'x', sizeof(why));
    assert_true(policy_is_public(p, why, 1));
    assert_int_equal(why[0], '\0');
    assert_int_equal(why[1], 'x');
    policy_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_public_cases),
        cmocka_unit_test(test_null_policy_is_public),
        cmocka_unit_test(test_reason_truncated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
