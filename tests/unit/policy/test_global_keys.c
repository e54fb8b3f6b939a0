/*
 * test_global_keys.c - global condition keys s3warden cannot supply fail
 * closed (policy/keys.c inventory, compile.c check_unknowable_key), and the
 * keys whose value is fixed for every request through s3warden are set.
 *
 * Expected classes, texts and decisions are written by hand from AWS's
 * "global condition context keys" page [KEYS] and IAM-SEMANTICS.md §4.3/§4.4
 * (how an absent key evaluates), never read back from the code under test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_int.h"
#include "s3map.h"

#define S3M_CONDKEY "Policy has invalid condition key"

#define ORG "the AWS Organizations membership of the caller's account"
#define RORG "the AWS Organizations membership of the resource's account"
#define VPCE "the VPC endpoint the request traverses"
#define TAGS "the tags attached to the resource"

/* ---- inventory ------------------------------------------------------------ */

/* Every global key of [KEYS] with where its value comes from under s3warden:
 * NULL = supplied (set per request, fixed, or correctly absent), else what
 * AWS derives it from. */
static const struct {
    const char *key;
    const char *from;
} inventory[] = {
    { "aws:CalledVia", NULL },          /* absent: caller calls directly */
    { "aws:CalledViaFirst", NULL },
    { "aws:CalledViaLast", NULL },
    { "aws:CurrentTime", NULL },        /* set */
    { "aws:EpochTime", NULL },
    { "aws:FederatedProvider", NULL },  /* absent: no web identity/SAML STS */
    { "aws:MultiFactorAuthAge", NULL }, /* absent: no MFA */
    { "aws:MultiFactorAuthPresent", NULL },
    { "aws:PrincipalAccount", NULL },
    { "aws:PrincipalArn", NULL },
    { "aws:PrincipalIsAWSService", NULL }, /* fixed "false" */
    { "aws:PrincipalOrgID", ORG },
    { "aws:PrincipalOrgPaths", ORG },
    { "aws:PrincipalServiceName", NULL }, /* absent: never a service principal */
    { "aws:PrincipalServiceNamesList", NULL },
    { "aws:PrincipalType", NULL },
    { "aws:Referer", NULL },
    { "aws:RequestedRegion", NULL },
    { "aws:ResourceAccount", NULL }, /* set by s3map (bucket owner) */
    { "aws:ResourceOrgID", RORG },
    { "aws:ResourceOrgPaths", RORG },
    { "aws:SecureTransport", NULL },
    { "aws:SourceAccount", NULL }, /* absent: service-to-service only */
    { "aws:SourceArn", NULL },
    { "aws:SourceIdentity", NULL },
    { "aws:SourceIp", NULL },
    { "aws:SourceOrgID", NULL },
    { "aws:SourceOrgPaths", NULL },
    { "aws:SourceVpc", VPCE },
    { "aws:SourceVpcArn", VPCE },
    { "aws:SourceVpce", VPCE },
    { "aws:TagKeys", NULL },
    { "aws:TokenIssueTime", NULL },
    { "aws:UserAgent", NULL },
    { "aws:userid", NULL },
    { "aws:username", NULL },
    { "aws:ViaAWSService", NULL }, /* fixed "false" */
    { "aws:VpcSourceIp", VPCE },
    { "aws:Ec2InstanceSourceVpc", NULL }, /* absent: not EC2 role credentials */
    { "aws:Ec2InstanceSourcePrivateIPv4", NULL },
    { "aws:VpceAccount", VPCE },
    { "aws:VpceOrgID", VPCE },
    { "aws:VpceOrgPaths", VPCE },
    { "aws:AssumedRoot", NULL },
    { "aws:IsMcpServiceAction", NULL },
};

static void test_inventory(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(inventory) / sizeof(inventory[0]); i++) {
        struct s3w_slice k = s3w_slice_cstr(inventory[i].key);
        const char *got = policy_key_unknowable(k);
        if (!policy_is_known_s3_condition_key(k) ||
            (inventory[i].from ? !got || strcmp(got, inventory[i].from) : got != NULL)) {
            fprintf(stderr, "%s: known %d, want %s, got %s\n", inventory[i].key,
                    policy_is_known_s3_condition_key(k), inventory[i].from ? inventory[i].from : "-",
                    got ? got : "-");
            fail();
        }
    }
    /* key names are case-insensitive [COND] */
    assert_string_equal(policy_key_unknowable(S3W_SLICE_LIT("AWS:principalorgid")), ORG);
    /* the tag families: only the resource's own tags are unknowable */
    assert_string_equal(policy_key_unknowable(S3W_SLICE_LIT("aws:ResourceTag/env")), TAGS);
    assert_string_equal(policy_key_unknowable(S3W_SLICE_LIT("AWS:resourcetag/Env")), TAGS);
    assert_null(policy_key_unknowable(S3W_SLICE_LIT("aws:PrincipalTag/env")));
    assert_null(policy_key_unknowable(S3W_SLICE_LIT("aws:RequestTag/env")));
    assert_null(policy_key_unknowable(S3W_SLICE_LIT("ec2:ResourceTag/env")));
    assert_null(policy_key_unknowable(S3W_SLICE_LIT("s3:prefix")));
    assert_null(policy_key_unknowable(S3W_SLICE_LIT("aws:ResourceTag"))); /* no tag key */
}

/* ---- the fixed keys are in every request context --------------------------- */

static void assert_ctx(const struct policy_context *c, const char *key, const char *want)
{
    const struct policy_ctx_entry *e = policy_context_get(c, s3w_slice_cstr(key));
    if (!want) {
        assert_null(e);
        return;
    }
    assert_non_null(e);
    assert_int_equal(e->nvalues, 1);
    assert_int_equal(e->values[0].len, strlen(want));
    assert_memory_equal(e->values[0].ptr, want, strlen(want));
}

static struct s3map_result mres;
static struct s3map_request mreq;

/* Fills ctx as the proxy's S3 path does (s3map_fill_context); ctx is
 * initialised first unless keep is set. */
static int s3_context_keep(struct policy_context *ctx, enum s3map_auth_type auth, const char *ip,
                           bool keep)
{
    struct s3map_conn_facts f = {
        .source_ip = s3w_slice_cstr(ip),
        .tls_version = S3W_SLICE_LIT("1.3"),
        .now_ms = 1700000000000LL,
        .region = S3W_SLICE_LIT("eu-west-1"),
        .auth_type = auth,
        .sig_version = auth == S3MAP_AUTH_NONE ? S3MAP_SIG_NONE : S3MAP_SIG_V4,
        .signature_age_ms = -1,
        .resource_account = S3W_SLICE_LIT("111111111111"),
    };
    mreq = (struct s3map_request){ S3W_SLICE_LIT("GET"), S3W_SLICE_LIT("b"), S3W_SLICE_LIT("k"),
                                   S3W_SLICE_LIT(""), NULL, 0 };
    if (!keep)
        policy_context_init(ctx);
    int rc = s3map_map(&mreq, &mres);
    return rc ? rc : s3map_fill_context(&mres, &mreq, &f, ctx);
}

static int s3_context(struct policy_context *ctx, enum s3map_auth_type auth, const char *ip)
{
    return s3_context_keep(ctx, auth, ip, false);
}

static void test_fixed_keys_set(void **state)
{
    (void)state;
    static struct policy_context c;
    /* S3 request path (s3map_fill_context) */
    assert_int_equal(s3_context(&c, S3MAP_AUTH_HEADER, "198.51.100.7"), S3MAP_OK);
    assert_ctx(&c, "aws:ViaAWSService", "false");
    assert_ctx(&c, "aws:PrincipalIsAWSService", "false");
    assert_int_equal(s3_context(&c, S3MAP_AUTH_QUERY, "198.51.100.7"), S3MAP_OK);
    assert_ctx(&c, "aws:PrincipalIsAWSService", "false");
    /* anonymous: aws:PrincipalIsAWSService "is present in the request context
     * for all signed API requests that use AWS credentials. Anonymous
     * requests do not include this key." [KEYS]; aws:ViaAWSService is
     * always there */
    assert_int_equal(s3_context(&c, S3MAP_AUTH_NONE, "198.51.100.7"), S3MAP_OK);
    assert_ctx(&c, "aws:ViaAWSService", "false");
    assert_ctx(&c, "aws:PrincipalIsAWSService", NULL);
    /* the keys AWS leaves absent for a caller that is not a service */
    assert_ctx(&c, "aws:CalledVia", NULL);
    assert_ctx(&c, "aws:SourceArn", NULL);
    assert_ctx(&c, "aws:PrincipalServiceName", NULL);

    /* principal path (simulate, policy_context_set_principal) */
    char scratch[64];
    struct policy_principal u = {
        .type = POLICY_PRINCIPAL_USER,
        .arn = S3W_SLICE_LIT("arn:aws:iam::111111111111:user/alice"),
        .account = S3W_SLICE_LIT("111111111111"), .unique_id = S3W_SLICE_LIT("AIDAEXAMPLEALICE"),
        .username = S3W_SLICE_LIT("alice"),
    };
    policy_context_init(&c);
    assert_int_equal(policy_context_set_principal(&c, &u, scratch, sizeof(scratch)), POLICY_OK);
    assert_ctx(&c, "aws:ViaAWSService", "false");
    assert_ctx(&c, "aws:PrincipalIsAWSService", "false");
    struct policy_principal anon = { .type = POLICY_PRINCIPAL_ANONYMOUS };
    policy_context_init(&c);
    assert_int_equal(policy_context_set_principal(&c, &anon, scratch, sizeof(scratch)), POLICY_OK);
    assert_ctx(&c, "aws:ViaAWSService", "false");
    assert_ctx(&c, "aws:PrincipalIsAWSService", NULL);

    assert_int_equal(policy_context_set_fixed(NULL, true), POLICY_E_ARG);
}

/* ---- compile helpers --------------------------------------------------------- */

static struct policy_diags diags;

static int compile_kind(const char *json, enum policy_kind kind, struct policy **out)
{
    struct policy_compile_opts o = { .kind = kind, .name = "p" };
    policy_diags_init(&diags);
    *out = NULL;
    return policy_compile(json, strlen(json), &o, out, &diags);
}

/* One statement with one condition, in an identity policy. */
static int compile_cond(const char *effect, const char *op, const char *key, const char *val,
                        struct policy **out)
{
    char json[1024];
    snprintf(json, sizeof(json),
             "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"S\",\"Effect\":\"%s\","
             "\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::b/*\","
             "\"Condition\":{\"%s\":{\"%s\":%s}}}]}", effect, op, key, val);
    return compile_kind(json, POLICY_KIND_IDENTITY, out);
}

/* ---- the check, operator by operator ------------------------------------------ */

/*
 * absent: what the condition is when the key is absent, by hand from
 * IAM-SEMANTICS.md: §4.3 false for plain operators, true for negated ones
 * and ...IfExists, Null "true" matches an absent key; §4.4 ForAllValues true,
 * ForAnyValue false. Deny + false and Allow + true are refused (fail open);
 * the others compile with a warning.
 */
static const struct {
    const char *effect, *op, *key, *val, *from;
    bool absent;
} cases[] = {
    { "Deny", "StringEquals", "aws:PrincipalOrgID", "\"o-abc\"", ORG, false },
    { "Deny", "StringLike", "aws:PrincipalOrgID", "\"o-*\"", ORG, false },
    { "Deny", "StringNotEquals", "aws:PrincipalOrgID", "\"o-abc\"", ORG, true },
    { "Deny", "StringNotEqualsIgnoreCase", "aws:ResourceOrgID", "\"o-abc\"", RORG, true },
    { "Deny", "StringEqualsIfExists", "aws:SourceVpce", "\"vpce-1\"", VPCE, true },
    { "Deny", "Null", "aws:SourceVpc", "\"false\"", VPCE, false },
    { "Deny", "Null", "aws:SourceVpc", "\"true\"", VPCE, true },
    { "Deny", "ForAllValues:StringLike", "aws:PrincipalOrgPaths", "[\"o-a/*\"]", ORG, true },
    { "Deny", "ForAnyValue:StringLike", "aws:PrincipalOrgPaths", "[\"o-a/*\"]", ORG, false },
    { "Deny", "ForAnyValue:StringLikeIfExists", "aws:ResourceOrgPaths", "[\"o-a/*\"]", RORG, true },
    { "Deny", "IpAddress", "aws:VpcSourceIp", "\"10.0.0.0/8\"", VPCE, false },
    { "Deny", "NotIpAddress", "aws:VpcSourceIp", "\"10.0.0.0/8\"", VPCE, true },
    { "Deny", "ArnLike", "aws:SourceVpcArn", "\"arn:aws:ec2:*:*:vpc/vpc-1\"", VPCE, false },
    { "Deny", "StringEquals", "aws:ResourceTag/classification", "\"secret\"", TAGS, false },
    { "Deny", "StringEquals", "aws:VpceAccount", "\"111111111111\"", VPCE, false },
    { "Allow", "StringEquals", "aws:PrincipalOrgID", "\"o-abc\"", ORG, false },
    { "Allow", "StringNotEquals", "aws:PrincipalOrgID", "\"o-abc\"", ORG, true },
    { "Allow", "StringNotLike", "aws:ResourceTag/team", "\"blue\"", TAGS, true },
    { "Allow", "StringEqualsIfExists", "aws:PrincipalOrgID", "\"o-abc\"", ORG, true },
    { "Allow", "ArnNotLike", "aws:SourceVpcArn", "\"arn:aws:ec2:*:*:vpc/vpc-1\"", VPCE, true },
    { "Allow", "Null", "aws:SourceVpce", "\"true\"", VPCE, true },
    { "Allow", "Null", "aws:SourceVpce", "\"false\"", VPCE, false },
    { "Allow", "Null", "aws:SourceVpce", "[\"true\",\"false\"]", VPCE, true },
    { "Allow", "ForAllValues:StringEquals", "aws:PrincipalOrgPaths", "[\"o-a/r-b/\"]", ORG, true },
    { "Allow", "ForAnyValue:StringEquals", "aws:PrincipalOrgPaths", "[\"o-a/r-b/\"]", ORG, false },
    { "Allow", "IpAddress", "aws:VpcSourceIp", "\"10.0.0.0/8\"", VPCE, false },
    { "Allow", "StringEquals", "aws:SourceVpce", "\"vpce-1\"", VPCE, false },
};

static void test_unknowable_by_operator(void **state)
{
    (void)state;
    int failed = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bool deny = !strcmp(cases[i].effect, "Deny");
        bool refused = deny != cases[i].absent;
        char want[POLICY_DIAG_TEXT_MAX];
        if (refused)
            snprintf(want, sizeof(want),
                     "Statement[0](Sid \"S\").Condition.%s.%s: condition key \"%s\" is never "
                     "set by s3warden (AWS sets it from %s): %s is %s when the key is absent, so "
                     "this %s (fail open)", cases[i].op, cases[i].key, cases[i].key,
                     cases[i].from, cases[i].op, cases[i].absent ? "true" : "false",
                     deny ? "Deny would never apply where AWS may deny"
                          : "Allow would grant where AWS may refuse");
        else
            snprintf(want, sizeof(want),
                     "Statement[0](Sid \"S\").Condition.%s.%s: condition key \"%s\" is never "
                     "set by s3warden (AWS sets it from %s): %s is %s when the key is absent, so "
                     "this %s", cases[i].op, cases[i].key, cases[i].key, cases[i].from,
                     cases[i].op, cases[i].absent ? "true" : "false",
                     deny ? "Deny applies to every request it otherwise matches"
                          : "Allow never grants");
        /* a message cut at the buffer's end would compare equal cut */
        assert_true(strlen(want) < sizeof(want) - 1);
        struct policy *p = NULL;
        int rc = compile_cond(cases[i].effect, cases[i].op, cases[i].key, cases[i].val, &p);
        bool ok = rc == (refused ? POLICY_E_INVALID : POLICY_OK) && (p != NULL) == !refused &&
                  diags.n == 1 && diags.errors == (refused ? 1u : 0u) &&
                  diags.warnings == (refused ? 0u : 1u) &&
                  diags.items[0].severity == (refused ? POLICY_SEV_ERROR : POLICY_SEV_WARNING) &&
                  !strcmp(diags.items[0].text, want) &&
                  (refused ? diags.items[0].s3_message &&
                                 !strcmp(diags.items[0].s3_message, S3M_CONDKEY)
                           : diags.items[0].s3_message == NULL);
        if (!ok) {
            fprintf(stderr, "FAIL %s %s %s: rc %d, %zu diags\n  want %s\n  got  %s\n",
                    cases[i].effect, cases[i].op, cases[i].key, rc, diags.n, want,
                    diags.n ? diags.items[0].text : "(none)");
            failed++;
        }
        policy_free(p);
    }
    assert_int_equal(failed, 0);
}

/* One message spelled out in full, so the wording itself is pinned. */
static void test_exact_message(void **state)
{
    (void)state;
    struct policy *p = NULL;
    assert_int_equal(compile_cond("Deny", "StringEquals", "aws:PrincipalOrgID", "\"o-abc\"", &p),
                     POLICY_E_INVALID);
    assert_null(p);
    assert_int_equal(diags.n, 1);
    assert_string_equal(diags.items[0].text,
                        "Statement[0](Sid \"S\").Condition.StringEquals.aws:PrincipalOrgID: "
                        "condition key \"aws:PrincipalOrgID\" is never set by s3warden (AWS sets "
                        "it from the AWS Organizations membership of the caller's account): "
                        "StringEquals is false when the key is absent, so this Deny would never "
                        "apply where AWS may deny (fail open)");
    assert_string_equal(diags.items[0].s3_message, "Policy has invalid condition key");
}

/*
 * UNCONFIRMED choice (IAM-SEMANTICS.md §4.4): ForAnyValue with a negated
 * operator on an absent key is not documented; the evaluator takes "some
 * request value matches none of the policy values", false when absent - the
 * reading that denies. So a Deny written with it is refused at load time
 * (it would never apply here), and an Allow with it never grants.
 */
static void test_unconfirmed_foranyvalue_negated_absent_denies(void **state)
{
    (void)state;
    struct policy *p = NULL;
    /* ForAnyValue with a negated operator is UNCONFIRMED (§4.4): with the
     * key absent, false by analogy, true as the whole test negated. The
     * reading that denies: a Deny's condition holds, so the Deny applies
     * to every request it otherwise matches (a warning); an Allow's does
     * not, so the Allow never grants (a warning). */
    assert_int_equal(compile_cond("Deny", "ForAnyValue:StringNotLike", "aws:PrincipalOrgPaths",
                                  "[\"o-a/*\"]", &p), POLICY_OK);
    assert_int_equal(diags.n, 1);
    assert_int_equal(diags.items[0].severity, POLICY_SEV_WARNING);
    assert_string_equal(diags.items[0].text,
                        "Statement[0](Sid \"S\").Condition.ForAnyValue:StringNotLike."
                        "aws:PrincipalOrgPaths: condition key \"aws:PrincipalOrgPaths\" is never "
                        "set by s3warden (AWS sets it from " ORG "): ForAnyValue:StringNotLike is "
                        "true when the key is absent, so this Deny applies to every request it "
                        "otherwise matches");
    policy_free(p);
    assert_int_equal(compile_cond("Allow", "ForAnyValue:StringNotLike", "aws:PrincipalOrgPaths",
                                  "[\"o-a/*\"]", &p), POLICY_OK);
    assert_int_equal(diags.n, 1);
    assert_int_equal(diags.items[0].severity, POLICY_SEV_WARNING);
    assert_non_null(strstr(diags.items[0].text, "is false when the key is absent, so this Allow "
                                                "never grants"));
    policy_free(p);
}

/* Several keys under one operator: only the unknowable one is judged, and
 * the message names the statement by index and Sid; key case as written. */
static void test_names_statement_and_key(void **state)
{
    (void)state;
    static const char json[] =
        "{\"Version\":\"2012-10-17\",\"Statement\":["
        "{\"Sid\":\"AllowAll\",\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:*\","
        "\"Resource\":\"arn:aws:s3:::b/*\"},"
        "{\"Sid\":\"DenyOutsideOrg\",\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:*\","
        "\"Resource\":\"arn:aws:s3:::b/*\",\"Condition\":{\"StringEquals\":{"
        "\"aws:PrincipalAccount\":\"222222222222\",\"AWS:ResourceOrgId\":\"o-x\"}}}]}";
    struct policy *p = NULL;
    assert_int_equal(compile_kind(json, POLICY_KIND_RESOURCE, &p), POLICY_E_INVALID);
    assert_int_equal(diags.n, 1);
    assert_string_equal(diags.items[0].text,
                        "Statement[1](Sid \"DenyOutsideOrg\").Condition.StringEquals."
                        "AWS:ResourceOrgId: condition key \"AWS:ResourceOrgId\" is never set by "
                        "s3warden (AWS sets it from " RORG "): StringEquals is false when the "
                        "key is absent, so this Deny would never apply where AWS may deny (fail "
                        "open)");
}

/* Keys s3warden supplies are not judged: set ones, fixed ones, and the ones
 * AWS itself leaves absent for a caller that is not a service. */
static void test_supplied_keys_not_judged(void **state)
{
    (void)state;
    static const struct { const char *op, *key, *val; } ok[] = {
        { "Bool", "aws:PrincipalIsAWSService", "\"false\"" },
        { "Bool", "aws:ViaAWSService", "\"false\"" },
        { "ArnLike", "aws:SourceArn", "\"arn:aws:s3:::b\"" },
        { "StringEquals", "aws:SourceAccount", "\"111111111111\"" },
        { "StringEquals", "aws:PrincipalServiceName", "\"cloudtrail.amazonaws.com\"" },
        { "ForAnyValue:StringEquals", "aws:CalledVia", "[\"athena.amazonaws.com\"]" },
        { "StringEquals", "aws:ResourceAccount", "\"111111111111\"" },
        { "StringEquals", "aws:PrincipalTag/team", "\"blue\"" },
        { "StringEquals", "ec2:ResourceTag/team", "\"blue\"" },
        { "NumericLessThan", "aws:MultiFactorAuthAge", "\"3600\"" },
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        for (int e = 0; e < 2; e++) {
            struct policy *p = NULL;
            int rc = compile_cond(e ? "Deny" : "Allow", ok[i].op, ok[i].key, ok[i].val, &p);
            if (rc != POLICY_OK || diags.n != 0)
                fprintf(stderr, "FAIL %s %s: %s\n", ok[i].op, ok[i].key,
                        diags.n ? diags.items[0].text : "-");
            assert_int_equal(rc, POLICY_OK);
            assert_int_equal(diags.n, 0);
            policy_free(p);
        }
    }
}

/* ---- policy variables naming such keys ---------------------------------------- */

/*
 * ${key} with no value matches nothing (IAM-SEMANTICS.md §5). By hand: in
 * Resource, or a value of a plain operator, the statement applies to fewer
 * requests (refused in a Deny); in a Deny's NotResource or a value of a
 * negated operator, to more (refused in an Allow); an Allow whose
 * NotResource entry has no value does not apply at all. A default stands in
 * for a value AWS may have: refused either way.
 */
static const struct {
    const char *effect, *elem, *path, *var, *from;
    int outcome; /* 0 warning (applies less / more, fail closed), 1 error, 2 error (default) */
} var_cases[] = {
    { "Deny", "\"Resource\":\"arn:aws:s3:::b/${aws:PrincipalOrgID}/*\"", "Resource",
      "aws:PrincipalOrgID", ORG, 1 },
    { "Deny", "\"NotResource\":[\"arn:aws:s3:::b/${aws:PrincipalOrgID}/*\"]", "NotResource[0]",
      "aws:PrincipalOrgID", ORG, 0 },
    { "Allow", "\"Resource\":[\"arn:aws:s3:::c/*\",\"arn:aws:s3:::b/${aws:SourceVpce}/*\"]",
      "Resource[1]", "aws:SourceVpce", VPCE, 0 },
    { "Allow", "\"NotResource\":\"arn:aws:s3:::b/${aws:SourceVpce}/*\"", "NotResource",
      "aws:SourceVpce", VPCE, 0 },
    { "Allow", "\"Resource\":\"arn:aws:s3:::b/${aws:ResourceTag/team, 'none'}/*\"", "Resource",
      "aws:ResourceTag/team", TAGS, 2 },
    { "Deny", "\"Resource\":\"*\",\"Condition\":{\"StringEquals\":{\"s3:prefix\":"
      "\"${aws:PrincipalOrgID}/\"}}", "Condition.StringEquals.s3:prefix", "aws:PrincipalOrgID", ORG, 1 },
    { "Deny", "\"Resource\":\"*\",\"Condition\":{\"StringNotLike\":{\"s3:prefix\":"
      "[\"home/\",\"${aws:PrincipalOrgID}/*\"]}}", "Condition.StringNotLike.s3:prefix[1]",
      "aws:PrincipalOrgID", ORG, 0 },
    { "Allow", "\"Resource\":\"*\",\"Condition\":{\"StringLike\":{\"s3:prefix\":"
      "\"${aws:PrincipalOrgID}/*\"}}", "Condition.StringLike.s3:prefix", "aws:PrincipalOrgID", ORG, 0 },
    { "Allow", "\"Resource\":\"*\",\"Condition\":{\"ArnNotLike\":{\"aws:PrincipalArn\":"
      "\"arn:aws:iam::111111111111:role/${aws:PrincipalOrgID}\"}}",
      "Condition.ArnNotLike.aws:PrincipalArn", "aws:PrincipalOrgID", ORG, 1 },
};

static void test_unknowable_variables(void **state)
{
    (void)state;
    int failed = 0;
    for (size_t i = 0; i < sizeof(var_cases) / sizeof(var_cases[0]); i++) {
        bool deny = !strcmp(var_cases[i].effect, "Deny");
        char json[1024], want[POLICY_DIAG_TEXT_MAX], head[256];
        snprintf(json, sizeof(json),
                 "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"S\",\"Effect\":"
                 "\"%s\",\"Action\":\"s3:GetObject\",%s}]}", var_cases[i].effect,
                 var_cases[i].elem);
        snprintf(head, sizeof(head),
                 "Statement[0](Sid \"S\").%s: policy variable ${%s} names a key s3warden never "
                 "sets (AWS sets it from %s): ", var_cases[i].path, var_cases[i].var,
                 var_cases[i].from);
        if (var_cases[i].outcome == 2)
            snprintf(want, sizeof(want), "%sits default always stands in for a value AWS may "
                     "have, so this %s may decide otherwise than AWS (fail open)", head,
                     var_cases[i].effect);
        else if (var_cases[i].outcome == 1)
            snprintf(want, sizeof(want), "%swithout a value it matches nothing, so this %s (fail "
                     "open)", head, deny ? "Deny applies to fewer requests than on AWS"
                                         : "Allow grants more than on AWS");
        else
            snprintf(want, sizeof(want), "%swithout a value it matches nothing, so this %s", head,
                     deny ? "Deny applies to more requests than on AWS"
                          : "Allow grants less than on AWS");
        assert_true(strlen(want) < sizeof(want) - 1);
        bool refused = var_cases[i].outcome != 0;
        struct policy *p = NULL;
        int rc = compile_kind(json, POLICY_KIND_IDENTITY, &p);
        bool ok = rc == (refused ? POLICY_E_INVALID : POLICY_OK) && diags.n == 1 &&
                  diags.items[0].severity == (refused ? POLICY_SEV_ERROR : POLICY_SEV_WARNING) &&
                  !strcmp(diags.items[0].text, want) &&
                  (refused ? diags.items[0].s3_message &&
                                 !strcmp(diags.items[0].s3_message, S3M_CONDKEY)
                           : diags.items[0].s3_message == NULL);
        if (!ok) {
            fprintf(stderr, "FAIL var case %zu: rc %d, %zu diags\n  want %s\n  got  %s\n", i, rc,
                    diags.n, want, diags.n ? diags.items[0].text : "(none)");
            failed++;
        }
        policy_free(p);
    }
    assert_int_equal(failed, 0);

    /* without Version 2012-10-17, ${...} is literal text [VARS]: nothing to judge */
    struct policy *p = NULL;
    assert_int_equal(compile_kind("{\"Statement\":[{\"Effect\":\"Deny\",\"Action\":\"s3:*\","
                                  "\"Resource\":\"arn:aws:s3:::b/${aws:PrincipalOrgID}/*\"}]}",
                                  POLICY_KIND_IDENTITY, &p), POLICY_OK);
    assert_int_equal(diags.n, 0);
    policy_free(p);
    /* a variable s3warden sets is not judged */
    assert_int_equal(compile_kind("{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":"
                                  "\"Deny\",\"Action\":\"s3:*\",\"Resource\":"
                                  "\"arn:aws:s3:::b/${aws:username}/*\"}]}",
                                  POLICY_KIND_IDENTITY, &p), POLICY_OK);
    assert_int_equal(diags.n, 0);
    policy_free(p);
}

/* ---- what the kept (warned) forms decide ----------------------------------- */

static enum policy_decision decide(const struct policy *identity, const struct policy *bucket,
                                   const struct policy_principal *pr, const char *ip)
{
    static struct policy_context c;
    char scratch[64];
    /* The proxy takes the principal keys from config_identity_fill_context,
     * which does not set the fixed keys: drop the ones
     * policy_context_set_principal adds, so only s3map supplies them here. */
    policy_context_init(&c);
    assert_int_equal(policy_context_set_principal(&c, pr, scratch, sizeof(scratch)), POLICY_OK);
    policy_context_unset(&c, S3W_SLICE_LIT("aws:ViaAWSService"));
    policy_context_unset(&c, S3W_SLICE_LIT("aws:PrincipalIsAWSService"));
    assert_int_equal(s3_context_keep(&c, pr->type == POLICY_PRINCIPAL_ANONYMOUS ? S3MAP_AUTH_NONE
                                                                                : S3MAP_AUTH_HEADER,
                                     ip, true), S3MAP_OK);
    const struct policy *ids[1] = { identity };
    struct policy_set set = { .identity = identity ? ids : NULL, .nidentity = identity ? 1 : 0,
                              .resource = bucket };
    struct policy_request rq = { .principal = pr, .action = S3W_SLICE_LIT("s3:GetObject"),
                                 .resource = S3W_SLICE_LIT("arn:aws:s3:::b/k"),
                                 .resource_account = S3W_SLICE_LIT("111111111111"), .ctx = &c };
    struct policy_result res;
    assert_int_equal(policy_evaluate(&set, &rq, &res), POLICY_OK);
    return res.decision;
}

static const struct policy_principal alice = {
    .type = POLICY_PRINCIPAL_USER,
    .arn = S3W_SLICE_LIT("arn:aws:iam::111111111111:user/alice"),
    .account = S3W_SLICE_LIT("111111111111"), .unique_id = S3W_SLICE_LIT("AIDAEXAMPLEALICE"),
    .username = S3W_SLICE_LIT("alice"),
};

static void test_kept_forms_fail_closed(void **state)
{
    (void)state;
    struct policy *allow_all = NULL, *p = NULL;
    assert_int_equal(compile_kind("{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\","
                                  "\"Action\":\"s3:*\",\"Resource\":\"*\"}}",
                                  POLICY_KIND_IDENTITY, &allow_all), POLICY_OK);
    assert_int_equal(decide(allow_all, NULL, &alice, "198.51.100.7"), POLICY_ALLOWED);

    /* Allow only for the organization: never grants here (warning) */
    assert_int_equal(compile_cond("Allow", "StringEquals", "aws:PrincipalOrgID", "\"o-abc\"", &p),
                     POLICY_OK);
    assert_int_equal(diags.warnings, 1);
    assert_int_equal(decide(p, NULL, &alice, "198.51.100.7"), POLICY_IMPLICIT_DENY);
    policy_free(p);

    /* Deny outside the organization: applies to everyone here (warning) */
    assert_int_equal(compile_cond("Deny", "StringNotEquals", "aws:PrincipalOrgID", "\"o-abc\"", &p),
                     POLICY_OK);
    assert_int_equal(diags.warnings, 1);
    const struct policy *both[2] = { allow_all, p };
    static struct policy_context c;
    char scratch[64];
    assert_int_equal(s3_context(&c, S3MAP_AUTH_HEADER, "198.51.100.7"), S3MAP_OK);
    assert_int_equal(policy_context_set_principal(&c, &alice, scratch, sizeof(scratch)), POLICY_OK);
    struct policy_set set = { .identity = both, .nidentity = 2 };
    struct policy_request rq = { .principal = &alice, .action = S3W_SLICE_LIT("s3:GetObject"),
                                 .resource = S3W_SLICE_LIT("arn:aws:s3:::b/k"),
                                 .resource_account = S3W_SLICE_LIT("111111111111"), .ctx = &c };
    struct policy_result res;
    assert_int_equal(policy_evaluate(&set, &rq, &res), POLICY_OK);
    assert_int_equal(res.decision, POLICY_EXPLICIT_DENY);
    policy_free(p);
    policy_free(allow_all);
}

/* ---- the fixed keys decide as on AWS -------------------------------------- */

/*
 * AWS's example "AWS: Denies access to AWS based on the source IP" [KEYS
 * aws:SourceIp, aws:ViaAWSService]: Deny unless from the listed ranges,
 * exempting calls a service makes on the principal's behalf. A caller of
 * s3warden calls directly, so from outside the ranges it is denied; before
 * aws:ViaAWSService was set, the Bool condition was false and this Deny
 * never fired.
 */
static void test_via_aws_service_deny_fires(void **state)
{
    (void)state;
    struct policy *id = NULL;
    assert_int_equal(
        compile_kind("{\"Version\":\"2012-10-17\",\"Statement\":["
                     "{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"},"
                     "{\"Effect\":\"Deny\",\"Action\":\"*\",\"Resource\":\"*\",\"Condition\":{"
                     "\"NotIpAddress\":{\"aws:SourceIp\":[\"192.0.2.0/24\",\"203.0.113.0/24\"]},"
                     "\"Bool\":{\"aws:ViaAWSService\":\"false\"}}}]}",
                     POLICY_KIND_IDENTITY, &id), POLICY_OK);
    assert_int_equal(decide(id, NULL, &alice, "198.51.100.7"), POLICY_EXPLICIT_DENY);
    assert_int_equal(decide(id, NULL, &alice, "203.0.113.9"), POLICY_ALLOWED);
    policy_free(id);
}

/*
 * Data-perimeter bucket policy: deny callers of other accounts unless the
 * caller is an AWS service principal. A signed caller of s3warden is never
 * one, so the Deny fires; an anonymous caller has no
 * aws:PrincipalIsAWSService on AWS either ("all signed API requests"), so
 * Bool is false and this statement does not deny it - nothing grants it
 * either.
 */
static void test_principal_is_aws_service_deny_fires(void **state)
{
    (void)state;
    struct policy *bucket = NULL;
    assert_int_equal(
        compile_kind("{\"Version\":\"2012-10-17\",\"Statement\":["
                     "{\"Sid\":\"Read\",\"Effect\":\"Allow\",\"Principal\":\"*\","
                     "\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::b/*\"},"
                     "{\"Sid\":\"Perimeter\",\"Effect\":\"Deny\",\"Principal\":\"*\","
                     "\"Action\":\"s3:*\",\"Resource\":\"arn:aws:s3:::b/*\",\"Condition\":{"
                     "\"StringNotEquals\":{\"aws:PrincipalAccount\":\"111111111111\"},"
                     "\"Bool\":{\"aws:PrincipalIsAWSService\":\"false\"}}}]}",
                     POLICY_KIND_RESOURCE, &bucket), POLICY_OK);
    struct policy_principal bob = {
        .type = POLICY_PRINCIPAL_USER,
        .arn = S3W_SLICE_LIT("arn:aws:iam::222222222222:user/bob"),
        .account = S3W_SLICE_LIT("222222222222"), .unique_id = S3W_SLICE_LIT("AIDAEXAMPLEBOBBB"),
        .username = S3W_SLICE_LIT("bob"),
    };
    assert_int_equal(decide(NULL, bucket, &bob, "198.51.100.7"), POLICY_EXPLICIT_DENY);
    assert_int_equal(decide(NULL, bucket, &alice, "198.51.100.7"), POLICY_ALLOWED);
    struct policy_principal anon = { .type = POLICY_PRINCIPAL_ANONYMOUS };
    assert_int_equal(decide(NULL, bucket, &anon, "198.51.100.7"), POLICY_ALLOWED);
    policy_free(bucket);
}

/*
 * AWS's own example for aws:PrincipalIsAWSService [KEYS]: deny PutObject
 * unless from vpc-111bbb22 or from a service principal. Under s3warden the
 * VPC is unknowable (StringNotEqualsIfExists is true when absent: a
 * warning, kept) and no caller is a service principal, so it denies every
 * signed PutObject - the fail-closed reading of a network perimeter.
 */
static void test_aws_example_network_perimeter(void **state)
{
    (void)state;
    struct policy *bucket = NULL;
    assert_int_equal(
        compile_kind("{\"Version\":\"2012-10-17\",\"Statement\":["
                     "{\"Sid\":\"Read\",\"Effect\":\"Allow\",\"Principal\":\"*\","
                     "\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::b/*\"},"
                     "{\"Sid\":\"Expected-network+service-principal\",\"Effect\":\"Deny\","
                     "\"Principal\":\"*\",\"Action\":\"s3:GetObject\",\"Resource\":"
                     "\"arn:aws:s3:::b/*\",\"Condition\":{\"StringNotEqualsIfExists\":"
                     "{\"aws:SourceVpc\":\"vpc-111bbb22\"},\"BoolIfExists\":"
                     "{\"aws:PrincipalIsAWSService\":\"false\"}}}]}",
                     POLICY_KIND_RESOURCE, &bucket), POLICY_OK);
    assert_int_equal(diags.n, 1);
    assert_int_equal(diags.items[0].severity, POLICY_SEV_WARNING);
    assert_string_equal(diags.items[0].text,
                        "Statement[1](Sid \"Expected-network+service-principal\").Condition."
                        "StringNotEqualsIfExists.aws:SourceVpc: condition key \"aws:SourceVpc\" "
                        "is never set by s3warden (AWS sets it from " VPCE "): "
                        "StringNotEqualsIfExists is true when the key is absent, so this Deny "
                        "applies to every request it otherwise matches");
    assert_int_equal(decide(NULL, bucket, &alice, "198.51.100.7"), POLICY_EXPLICIT_DENY);
    policy_free(bucket);
}

/* ---- CreateBucket with tags: aws:RequestTag/<k>, aws:TagKeys, s3:TagResource ---- */

static char body_scratch[8192];

static int create_bucket(struct policy_context *ctx, const char *body)
{
    int rc;
    mreq = (struct s3map_request){ S3W_SLICE_LIT("PUT"), S3W_SLICE_LIT("b"), S3W_SLICE_LIT(""),
                                   S3W_SLICE_LIT(""), NULL, 0 };
    policy_context_init(ctx);
    struct s3map_conn_facts f = { .tls_version = S3W_SLICE_LIT("1.3"), .now_ms = 1700000000000LL,
                                  .auth_type = S3MAP_AUTH_HEADER, .sig_version = S3MAP_SIG_V4,
                                  .signature_age_ms = -1,
                                  .resource_account = S3W_SLICE_LIT("111111111111") };
    if ((rc = s3map_map(&mreq, &mres)) || (rc = s3map_fill_context(&mres, &mreq, &f, ctx)))
        return rc;
    assert_string_equal(mres.op->actions[0], "s3:CreateBucket");
    return s3map_body_context(&mres, s3w_slice_cstr(body), body_scratch, sizeof body_scratch,
                              1700000000000LL, ctx);
}

static void test_create_bucket_tags(void **state)
{
    (void)state;
    static struct policy_context c;
    assert_int_equal(create_bucket(&c, "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/"
                                       "doc/2006-03-01/\"><LocationConstraint>eu-west-1"
                                       "</LocationConstraint><Tags><Tag><Key>team</Key><Value>blue"
                                       "</Value></Tag><Tag><Key>env</Key><Value/></Tag></Tags>"
                                       "</CreateBucketConfiguration>"), S3MAP_OK);
    assert_ctx(&c, "s3:locationconstraint", "eu-west-1");
    assert_ctx(&c, "aws:RequestTag/team", "blue");
    assert_ctx(&c, "aws:requesttag/env", ""); /* key names are case-insensitive */
    const struct policy_ctx_entry *e = policy_context_get(&c, S3W_SLICE_LIT("aws:TagKeys"));
    assert_non_null(e);
    assert_true(e->multi);
    assert_int_equal(e->nvalues, 2);
    assert_true(s3w_slice_eq_cstr(e->values[0], "team") && s3w_slice_eq_cstr(e->values[1], "env"));
    /* "You must have the s3:TagResource permission to create a general
     * purpose bucket with tags" (API reference) */
    assert_int_equal(mres.nauthz, 2);
    assert_true(s3w_slice_eq_cstr(mres.authz[0].action, "s3:CreateBucket"));
    assert_true(s3w_slice_eq_cstr(mres.authz[1].action, "s3:TagResource"));
    assert_true(s3w_slice_eq_cstr(mres.authz[1].resource, "arn:aws:s3:::b"));

    /* an empty <Tags/> passes an empty set: aws:TagKeys present and empty,
     * no tag to authorize */
    assert_int_equal(create_bucket(&c, "<CreateBucketConfiguration><Tags/>"
                                       "</CreateBucketConfiguration>"), S3MAP_OK);
    e = policy_context_get(&c, S3W_SLICE_LIT("aws:TagKeys"));
    assert_non_null(e);
    assert_int_equal(e->nvalues, 0);
    assert_int_equal(mres.nauthz, 1);
    /* no Tags element: no tag keys at all */
    assert_int_equal(create_bucket(&c, "<CreateBucketConfiguration><LocationConstraint>eu-west-1"
                                       "</LocationConstraint></CreateBucketConfiguration>"), S3MAP_OK);
    assert_null(policy_context_get(&c, S3W_SLICE_LIT("aws:TagKeys")));
    assert_int_equal(mres.nauthz, 1);

    /* refused: a second Tags, keys equal ignoring case, 51 tags */
    assert_int_equal(create_bucket(&c, "<CreateBucketConfiguration><Tags/><Tags/>"
                                       "</CreateBucketConfiguration>"), S3MAP_E_MALFORMED_XML);
    assert_int_equal(create_bucket(&c, "<CreateBucketConfiguration><Tags><Tag><Key>Env</Key><Value>1"
                                       "</Value></Tag><Tag><Key>env</Key><Value>2</Value></Tag>"
                                       "</Tags></CreateBucketConfiguration>"), S3MAP_E_INVALID_TAG);
    char big[4096];
    size_t o = (size_t)snprintf(big, sizeof big, "<CreateBucketConfiguration><Tags>");
    for (int i = 0; i < 51; i++)
        o += (size_t)snprintf(big + o, sizeof big - o, "<Tag><Key>k%d</Key><Value>v</Value></Tag>", i);
    snprintf(big + o, sizeof big - o, "</Tags></CreateBucketConfiguration>");
    assert_int_equal(create_bucket(&c, big), S3MAP_E_INVALID_TAG);
    assert_string_equal(mres.detail, "Bucket tags cannot be greater than 50");
}

/* A tag guardrail on CreateBucket now applies: before, aws:TagKeys was
 * absent, so the Deny never fired and the ForAllValues allow-list held. */
static void test_create_bucket_tag_policy(void **state)
{
    (void)state;
    struct policy *id = NULL;
    assert_int_equal(
        compile_kind("{\"Version\":\"2012-10-17\",\"Statement\":["
                     "{\"Effect\":\"Allow\",\"Action\":[\"s3:CreateBucket\",\"s3:TagResource\"],"
                     "\"Resource\":\"*\",\"Condition\":{\"ForAllValues:StringEquals\":"
                     "{\"aws:TagKeys\":[\"team\",\"env\"]}}},"
                     "{\"Effect\":\"Deny\",\"Action\":\"s3:*\",\"Resource\":\"*\",\"Condition\":"
                     "{\"StringEquals\":{\"aws:RequestTag/env\":\"prod\"}}}]}",
                     POLICY_KIND_IDENTITY, &id), POLICY_OK);
    static const struct {
        const char *tags;
        enum policy_decision want;
    } tcases[] = {
        { "<Tag><Key>team</Key><Value>blue</Value></Tag>", POLICY_ALLOWED },
        { "<Tag><Key>owner</Key><Value>x</Value></Tag>", POLICY_IMPLICIT_DENY },
        { "<Tag><Key>env</Key><Value>prod</Value></Tag>", POLICY_EXPLICIT_DENY },
    };
    for (size_t i = 0; i < sizeof tcases / sizeof tcases[0]; i++) {
        static struct policy_context c;
        char body[512], scratch[64];
        snprintf(body, sizeof body, "<CreateBucketConfiguration><Tags>%s</Tags>"
                 "</CreateBucketConfiguration>", tcases[i].tags);
        assert_int_equal(create_bucket(&c, body), S3MAP_OK);
        assert_int_equal(policy_context_set_principal(&c, &alice, scratch, sizeof scratch),
                         POLICY_OK);
        const struct policy *ids[1] = { id };
        struct policy_set set = { .identity = ids, .nidentity = 1 };
        /* every authorization must be allowed, the proxy's rule */
        enum policy_decision got = POLICY_ALLOWED;
        for (size_t a = 0; a < mres.nauthz && got == POLICY_ALLOWED; a++) {
            struct policy_request rq = { .principal = &alice, .action = mres.authz[a].action,
                                         .resource = mres.authz[a].resource,
                                         .resource_account = S3W_SLICE_LIT("111111111111"),
                                         .ctx = &c };
            struct policy_result res;
            assert_int_equal(policy_evaluate(&set, &rq, &res), POLICY_OK);
            got = res.decision;
        }
        if (got != tcases[i].want)
            fail_msg("case %zu: decision %d, want %d", i, got, tcases[i].want);
    }
    policy_free(id);

    /* Allowed CreateBucket but not TagResource: a tagged CreateBucket is denied */
    assert_int_equal(compile_kind("{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":"
                                  "\"Allow\",\"Action\":\"s3:CreateBucket\",\"Resource\":\"*\"}}",
                                  POLICY_KIND_IDENTITY, &id), POLICY_OK);
    assert_int_equal(diags.n, 0);
    static struct policy_context c;
    char scratch[64];
    assert_int_equal(create_bucket(&c, "<CreateBucketConfiguration><Tags><Tag><Key>team</Key>"
                                       "<Value>blue</Value></Tag></Tags></CreateBucketConfiguration>"),
                     S3MAP_OK);
    assert_int_equal(policy_context_set_principal(&c, &alice, scratch, sizeof scratch), POLICY_OK);
    const struct policy *ids[1] = { id };
    struct policy_set set = { .identity = ids, .nidentity = 1 };
    struct policy_request rq = { .principal = &alice, .action = mres.authz[1].action,
                                 .resource = mres.authz[1].resource,
                                 .resource_account = S3W_SLICE_LIT("111111111111"), .ctx = &c };
    struct policy_result res;
    assert_int_equal(policy_evaluate(&set, &rq, &res), POLICY_OK);
    assert_int_equal(res.decision, POLICY_IMPLICIT_DENY);
    policy_free(id);
    /* s3:TagResource is an action s3warden authorizes: no "misspelt?" warning */
    assert_int_equal(compile_kind("{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":"
                                  "\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:TagResource\","
                                  "\"Resource\":\"arn:aws:s3:::b\"}}", POLICY_KIND_RESOURCE, &id),
                     POLICY_OK);
    assert_int_equal(diags.n, 0);
    policy_free(id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inventory),
        cmocka_unit_test(test_fixed_keys_set),
        cmocka_unit_test(test_unknowable_by_operator),
        cmocka_unit_test(test_exact_message),
        cmocka_unit_test(test_unconfirmed_foranyvalue_negated_absent_denies),
        cmocka_unit_test(test_names_statement_and_key),
        cmocka_unit_test(test_supplied_keys_not_judged),
        cmocka_unit_test(test_unknowable_variables),
        cmocka_unit_test(test_kept_forms_fail_closed),
        cmocka_unit_test(test_via_aws_service_deny_fires),
        cmocka_unit_test(test_principal_is_aws_service_deny_fires),
        cmocka_unit_test(test_aws_example_network_perimeter),
        cmocka_unit_test(test_create_bucket_tags),
        cmocka_unit_test(test_create_bucket_tag_policy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
