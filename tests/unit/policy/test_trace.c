/*
 * test_trace.c - the evaluation trace behind `s3warden explain` (trace.h):
 * each kind of "did not match because" - Action, NotAction, Principal,
 * NotPrincipal, Resource, NotResource (one listed only when case is folded
 * beyond ASCII), every condition operator family, a missing key, IfExists,
 * ForAnyValue/ForAllValues - is named for one statement with the values
 * compared; a traced evaluation decides exactly as the untraced one.
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
#include "trace.h"

static struct policy *compile(const char *json, enum policy_kind kind, const char *name)
{
    struct policy_compile_opts o = { .kind = kind, .name = name };
    struct policy *p = NULL;
    struct policy_diags *d = malloc(sizeof(*d));
    policy_diags_init(d);
    int rc = policy_compile(json, strlen(json), &o, &p, d);
    if (rc)
        fprintf(stderr, "compile: %s\n", d->n ? d->items[0].text : "?");
    free(d);
    assert_int_equal(rc, POLICY_OK);
    return p;
}

#define ANY "\"Principal\":\"*\","
#define GET "\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::b/*\""

static const char bucket_policy[] =
    "{\"Version\":\"2012-10-17\",\"Statement\":["
    "{\"Sid\":\"Act\",\"Effect\":\"Allow\"," ANY "\"Action\":[\"s3:PutObject\",\"s3:List*\"],\"Resource\":\"arn:aws:s3:::b/*\"},"
    "{\"Sid\":\"NotAct\",\"Effect\":\"Allow\"," ANY "\"NotAction\":\"s3:Get*\",\"Resource\":\"arn:aws:s3:::b/*\"},"
    "{\"Sid\":\"Res\",\"Effect\":\"Allow\"," ANY "\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::b/incoming/*\"},"
    "{\"Sid\":\"ResVar\",\"Effect\":\"Allow\"," ANY "\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::b/${aws:SourceVpc}/*\"},"
    "{\"Sid\":\"ResWild\",\"Effect\":\"Allow\"," ANY "\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::${aws:PrincipalTag/w}/k\"},"
    "{\"Sid\":\"ResMulti\",\"Effect\":\"Allow\"," ANY "\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::b/${s3:RequestObjectTagKeys}\"},"
    "{\"Sid\":\"NotRes\",\"Effect\":\"Allow\"," ANY "\"Action\":\"s3:GetObject\",\"NotResource\":\"arn:aws:s3:::b/*\"},"
    /* U+212A KELVIN SIGN folds to "k" */
    "{\"Sid\":\"NotResFold\",\"Effect\":\"Allow\"," ANY "\"Action\":\"s3:GetObject\",\"NotResource\":\"arn:aws:s3:::b/\xe2\x84\xaa\"},"
    "{\"Sid\":\"NotResCase\",\"Effect\":\"Allow\"," ANY "\"Action\":\"s3:GetObject\",\"NotResource\":\"arn:aws:s3:::B/K\"},"
    "{\"Sid\":\"Prin\",\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::111111111111:user/bob\"}," GET "},"
    "{\"Sid\":\"NotPrin\",\"Effect\":\"Deny\",\"NotPrincipal\":{\"AWS\":[\"arn:aws:iam::111111111111:user/alice\",\"111111111111\"]}," GET "},"
    "{\"Sid\":\"Str\",\"Effect\":\"Allow\"," ANY GET ",\"Condition\":{\"StringEquals\":{\"s3:x-amz-acl\":\"private\"}}},"
    "{\"Sid\":\"StrNot\",\"Effect\":\"Allow\"," ANY GET ",\"Condition\":{\"StringNotEquals\":{\"s3:x-amz-acl\":[\"public-read\",\"x\"]}}},"
    "{\"Sid\":\"StrWild\",\"Effect\":\"Allow\"," ANY GET ",\"Condition\":{\"StringLike\":{\"s3:x-amz-acl\":\"${aws:PrincipalTag/w}-read\"}}},"
    "{\"Sid\":\"Num\",\"Effect\":\"Allow\"," ANY GET ",\"Condition\":{\"NumericLessThan\":{\"s3:max-keys\":\"10\"}}},"
    "{\"Sid\":\"NumSign\",\"Effect\":\"Allow\"," ANY GET ",\"Condition\":{\"NumericLessThan\":{\"aws:MultiFactorAuthAge\":\"1000\"}}},"
    "{\"Sid\":\"NumBad\",\"Effect\":\"Allow\"," ANY GET ",\"Condition\":{\"NumericLessThan\":{\"s3:signatureAge\":\"10\"}}},"
    "{\"Sid\":\"Date\",\"Effect\":\"Allow\"," ANY GET ",\"Condition\":{\"DateLessThan\":{\"aws:CurrentTime\":\"2020-01-01T00:00:00Z\"}}},"
    "{\"Sid\":\"Bool\",\"Effect\":\"Allow\"," ANY GET ",\"Condition\":{\"Bool\":{\"aws:SecureTransport\":\"true\"}}},"
    "{\"Sid\":\"Bin\",\"Effect\":\"Allow\"," ANY GET ",\"Condition\":{\"BinaryEquals\":{\"s3:x-amz-content-sha256\":\"aGVsbG8=\"}}},"
    "{\"Sid\":\"Ip\",\"Effect\":\"Allow\"," ANY GET ",\"Condition\":{\"IpAddress\":{\"aws:SourceIp\":\"10.0.0.0/8\"}}},"
    "{\"Sid\":\"Arn\",\"Effect\":\"Allow\"," ANY GET ",\"Condition\":{\"ArnLike\":{\"aws:PrincipalArn\":\"arn:aws:iam::*:role/*\"}}},"
    "{\"Sid\":\"Null\",\"Effect\":\"Allow\"," ANY GET ",\"Condition\":{\"Null\":{\"aws:TokenIssueTime\":\"false\"}}},"
    "{\"Sid\":\"Missing\",\"Effect\":\"Allow\"," ANY GET ",\"Condition\":{\"StringEquals\":{\"aws:SourceVpce\":\"vpce-1\"}}},"
    "{\"Sid\":\"IfEx\",\"Effect\":\"Allow\"," ANY GET ",\"Condition\":{\"StringEqualsIfExists\":{\"s3:x-amz-acl\":\"private\"}}},"
    "{\"Sid\":\"Two\",\"Effect\":\"Allow\"," ANY GET ",\"Condition\":{\"StringEquals\":{\"s3:x-amz-acl\":\"public-read\",\"s3:x-amz-storage-class\":\"GLACIER\"}}},"
    "{\"Sid\":\"AnyV\",\"Effect\":\"Allow\"," ANY GET ",\"Condition\":{\"ForAnyValue:StringEquals\":{\"aws:TagKeys\":\"a\"}}},"
    "{\"Sid\":\"AllV\",\"Effect\":\"Allow\"," ANY GET ",\"Condition\":{\"ForAllValues:StringEquals\":{\"s3:RequestObjectTagKeys\":\"a\"}}},"
    "{\"Sid\":\"Multi\",\"Effect\":\"Allow\"," ANY GET ",\"Condition\":{\"StringEquals\":{\"s3:RequestObjectTagKeys\":\"a\"}}},"
    "{\"Sid\":\"Ok\",\"Effect\":\"Allow\"," ANY GET "}"
    "]}";

struct fixture {
    struct policy *bp, *id;
    struct policy_context ctx;
    struct policy_principal alice;
    struct policy_request req;
    struct policy_set set;
    struct policy_trace_entry entries[64];
    struct policy_trace trace;
    struct policy_result res;
    struct s3w_slice tagkeys[2];
    char scratch[128];
};

static struct fixture *setup(void)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->bp = compile(bucket_policy, POLICY_KIND_RESOURCE, "bucket-policy");
    f->id = compile("{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"IdPut\",\"Effect\":"
                    "\"Allow\",\"Action\":\"s3:PutObject\",\"Resource\":\"*\"}]}",
                    POLICY_KIND_IDENTITY, "alice-policy");
    f->alice = (struct policy_principal){
        .type = POLICY_PRINCIPAL_USER, .arn = S3W_SLICE_LIT("arn:aws:iam::111111111111:user/alice"),
        .account = S3W_SLICE_LIT("111111111111"), .unique_id = S3W_SLICE_LIT("AIDAALICE"),
        .username = S3W_SLICE_LIT("alice"),
    };
    policy_context_init(&f->ctx);
    assert_int_equal(policy_context_set_principal(&f->ctx, &f->alice, f->scratch, sizeof(f->scratch)), 0);
#define SET(k, v) assert_int_equal(policy_context_set(&f->ctx, S3W_SLICE_LIT(k), S3W_SLICE_LIT(v)), 0)
    SET("s3:x-amz-acl", "public-read");
    SET("s3:max-keys", "100");
    SET("s3:signatureAge", "soon");
    SET("aws:MultiFactorAuthAge", "+0500");
    SET("aws:CurrentTime", "2026-12-04T12:00:00Z");
    SET("aws:SecureTransport", "false");
    SET("s3:x-amz-content-sha256", "d29ybGQ=");
    SET("aws:SourceIp", "192.0.2.1");
    SET("aws:PrincipalTag/w", "*");
#undef SET
    f->tagkeys[0] = S3W_SLICE_LIT("a");
    f->tagkeys[1] = S3W_SLICE_LIT("b");
    assert_int_equal(policy_context_set_multi(&f->ctx, S3W_SLICE_LIT("s3:RequestObjectTagKeys"),
                                              f->tagkeys, 2), 0);
    f->req = (struct policy_request){
        .principal = &f->alice, .action = S3W_SLICE_LIT("s3:GetObject"),
        .resource = S3W_SLICE_LIT("arn:aws:s3:::b/k"),
        .resource_account = S3W_SLICE_LIT("111111111111"), .ctx = &f->ctx,
    };
    f->set.resource = f->bp;
    f->set.identity = (const struct policy *const *)&f->id;
    f->set.nidentity = 1;
    policy_trace_init(&f->trace, f->entries, 64);
    assert_int_equal(policy_evaluate_traced(&f->set, &f->req, &f->res, &f->trace), POLICY_OK);
    return f;
}

static void teardown(struct fixture *f)
{
    policy_free(f->bp);
    policy_free(f->id);
    free(f);
}

/* The entry of the statement with this Sid; its explanation in buf. */
static const struct policy_trace_entry *find(struct fixture *f, const char *sid, char *buf, size_t cap)
{
    for (size_t i = 0; i < f->trace.n; i++) {
        struct policy_trace_stmt st;
        policy_trace_statement(&f->trace.entries[i], &st);
        if (st.sid && strcmp(st.sid, sid) == 0) {
            policy_trace_explain(&f->trace, &f->trace.entries[i], buf, cap);
            return &f->trace.entries[i];
        }
    }
    fail_msg("no trace entry for %s", sid);
    return NULL;
}

static void expect(struct fixture *f, const char *sid, enum policy_trace_why why, const char *text)
{
    char buf[1024];
    const struct policy_trace_entry *e = find(f, sid, buf, sizeof(buf));
    if (e->why != why || strcmp(buf, text) != 0)
        fail_msg("%s: got %s \"%s\"\n want %s \"%s\"", sid, policy_trace_why_name(e->why), buf,
                 policy_trace_why_name(why), text);
}

static void test_elements(void **state)
{
    (void)state;
    struct fixture *f = setup();
    assert_int_equal(f->res.decision, POLICY_ALLOWED);
    /* every statement of both policies is listed, in document order */
    assert_int_equal(f->trace.n, policy_statement_count(f->bp) + 1);
    assert_int_equal(f->trace.dropped, 0);
    expect(f, "Act", POLICY_TRACE_ACTION,
           "Action: \"s3:GetObject\" matches none of [\"s3:putobject\", \"s3:list*\"]");
    expect(f, "NotAct", POLICY_TRACE_NOTACTION,
           "NotAction: \"s3:GetObject\" is listed in [\"s3:get*\"]");
    expect(f, "Res", POLICY_TRACE_RESOURCE,
           "Resource: \"arn:aws:s3:::b/k\" matches none of [\"arn:aws:s3:::b/incoming/*\"]");
    expect(f, "ResVar", POLICY_TRACE_RESOURCE,
           "Resource: \"arn:aws:s3:::b/k\" matches none of [\"arn:aws:s3:::b/${aws:SourceVpc}/*\"]"
           "; ${aws:SourceVpc} has no value in the request");
    expect(f, "ResWild", POLICY_TRACE_RESOURCE,
           "Resource: \"arn:aws:s3:::b/k\" matches none of [\"arn:aws:s3:::${aws:PrincipalTag/w}/k\"]"
           "; the value of ${aws:PrincipalTag/w} holds '*' or '?': whether they are wildcards is "
           "unconfirmed, read the way that denies");
    expect(f, "ResMulti", POLICY_TRACE_RESOURCE,
           "Resource: \"arn:aws:s3:::b/k\" matches none of [\"arn:aws:s3:::b/${s3:RequestObjectTagKeys}\"]"
           "; ${s3:RequestObjectTagKeys} is multivalued, which AWS does not define as a variable: "
           "read the way that denies");
    expect(f, "NotRes", POLICY_TRACE_NOTRESOURCE,
           "NotResource: \"arn:aws:s3:::b/k\" is listed in [\"arn:aws:s3:::b/*\"]");
    expect(f, "NotResFold", POLICY_TRACE_NOTRESOURCE,
           "NotResource: \"arn:aws:s3:::b/k\" is listed in [\"arn:aws:s3:::b/\xe2\x84\xaa\"]"
           "; listed only when case is ignored beyond ASCII: whether Resource ignores case is "
           "unconfirmed, read the way that denies");
    expect(f, "NotResCase", POLICY_TRACE_NOTRESOURCE,
           "NotResource: \"arn:aws:s3:::b/k\" is listed in [\"arn:aws:s3:::B/K\"]");
    expect(f, "Prin", POLICY_TRACE_PRINCIPAL,
           "Principal: the caller arn:aws:iam::111111111111:user/alice (unique id AIDAALICE) is "
           "none of [AWS:\"arn:aws:iam::111111111111:user/bob\"]");
    expect(f, "NotPrin", POLICY_TRACE_NOTPRINCIPAL,
           "NotPrincipal: the caller arn:aws:iam::111111111111:user/alice (unique id AIDAALICE) "
           "is exempted by [AWS:\"arn:aws:iam::111111111111:user/alice\", AWS:\"111111111111\"]");
    expect(f, "IdPut", POLICY_TRACE_ACTION,
           "Action: \"s3:GetObject\" matches none of [\"s3:putobject\"]");
    expect(f, "Ok", POLICY_TRACE_MATCHED, "applies");
    teardown(f);
}

static void test_conditions(void **state)
{
    (void)state;
    struct fixture *f = setup();
    expect(f, "Str", POLICY_TRACE_CONDITION,
           "Condition StringEquals \"s3:x-amz-acl\": request [\"public-read\"], policy "
           "[\"private\"]: no match");
    expect(f, "StrNot", POLICY_TRACE_CONDITION,
           "Condition StringNotEquals \"s3:x-amz-acl\": request [\"public-read\"], policy "
           "[\"public-read\", \"x\"]: a value matches (negated operator)");
    expect(f, "StrWild", POLICY_TRACE_CONDITION,
           "Condition StringLike \"s3:x-amz-acl\": request [\"public-read\"], policy "
           "[\"${aws:PrincipalTag/w}-read\"]: the value of ${aws:PrincipalTag/w} holds '*' or '?': "
           "whether they are wildcards is unconfirmed, read the way that denies");
    expect(f, "Num", POLICY_TRACE_CONDITION,
           "Condition NumericLessThan \"s3:max-keys\": request [\"100\"], policy [\"10\"]: no match");
    expect(f, "NumBad", POLICY_TRACE_CONDITION,
           "Condition NumericLessThan \"s3:signatureAge\": request [\"soon\"], policy [\"10\"]: "
           "request value \"soon\" cannot be read by the operator (the reading that denies: the "
           "Allow statement does not apply)");
    /* a sign or leading zeros: AWS does not define them (§4.5 UNCONFIRMED) */
    expect(f, "NumSign", POLICY_TRACE_CONDITION,
           "Condition NumericLessThan \"aws:MultiFactorAuthAge\": request [\"+0500\"], policy "
           "[\"1000\"]: request value \"+0500\" has a sign or leading zeros, which AWS does not "
           "define, so the operator cannot read it (the reading that denies: the Allow statement "
           "does not apply)");
    expect(f, "Date", POLICY_TRACE_CONDITION,
           "Condition DateLessThan \"aws:CurrentTime\": request [\"2026-12-04T12:00:00Z\"], policy "
           "[\"2020-01-01T00:00:00Z\"]: no match");
    expect(f, "Bool", POLICY_TRACE_CONDITION,
           "Condition Bool \"aws:SecureTransport\": request [\"false\"], policy [\"true\"]: no match");
    expect(f, "Bin", POLICY_TRACE_CONDITION,
           "Condition BinaryEquals \"s3:x-amz-content-sha256\": request [\"d29ybGQ=\"], policy "
           "[\"aGVsbG8=\"]: no match");
    expect(f, "Ip", POLICY_TRACE_CONDITION,
           "Condition IpAddress \"aws:SourceIp\": request [\"192.0.2.1\"], policy [\"10.0.0.0/8\"]: "
           "no match");
    expect(f, "Arn", POLICY_TRACE_CONDITION,
           "Condition ArnLike \"aws:PrincipalArn\": request "
           "[\"arn:aws:iam::111111111111:user/alice\"], policy [\"arn:aws:iam::*:role/*\"]: no match");
    expect(f, "Null", POLICY_TRACE_CONDITION,
           "Condition Null \"aws:TokenIssueTime\": the key is absent in the request, policy wants "
           "Null [\"false\"]");
    expect(f, "Missing", POLICY_TRACE_CONDITION,
           "Condition StringEquals \"aws:SourceVpce\": the key is absent from the request (missing "
           "key; the operator is not ...IfExists)");
    expect(f, "IfEx", POLICY_TRACE_CONDITION,
           "Condition StringEqualsIfExists \"s3:x-amz-acl\": request [\"public-read\"], policy "
           "[\"private\"]: no match (IfExists: the key is present, so it is compared)");
    /* several keys AND: the first that fails is named */
    expect(f, "Two", POLICY_TRACE_CONDITION,
           "Condition StringEquals \"s3:x-amz-storage-class\": the key is absent from the request "
           "(missing key; the operator is not ...IfExists)");
    expect(f, "AnyV", POLICY_TRACE_CONDITION,
           "Condition ForAnyValue:StringEquals \"aws:TagKeys\": the key is absent or empty in the "
           "request: ForAnyValue is false (missing key)");
    expect(f, "AllV", POLICY_TRACE_CONDITION,
           "Condition ForAllValues:StringEquals \"s3:RequestObjectTagKeys\": request [\"a\", \"b\"], "
           "policy [\"a\"]: ForAllValues: some request value matches no policy value");
    expect(f, "Multi", POLICY_TRACE_CONDITION,
           "Condition StringEquals \"s3:RequestObjectTagKeys\": a single-valued operator on a "
           "multi-valued key (2 request values): undefined, taken as the reading that denies");
    struct s3w_slice op, key;
    char buf[512];
    assert_true(policy_trace_condition(find(f, "AnyV", buf, sizeof(buf)), &op, &key));
    assert_true(s3w_slice_eq_cstr(op, "ForAnyValue:StringEquals"));
    assert_true(s3w_slice_eq_cstr(key, "aws:TagKeys"));
    assert_false(policy_trace_condition(find(f, "Ok", buf, sizeof(buf)), &op, &key));
    teardown(f);
}

/* The trace changes nothing: same decision and deciding statements as
 * the serving path, for an allow, an explicit and an implicit deny; a
 * full trace counts what it drops. */
static void test_same_decision(void **state)
{
    (void)state;
    struct fixture *f = setup();
    static const char *const actions[] = { "s3:GetObject", "s3:PutObject", "s3:DeleteObject" };
    static const char *const bob = "arn:aws:iam::111111111111:user/bob";
    for (int who = 0; who < 2; who++) {
        struct policy_principal p = f->alice;
        if (who)
            p.arn = s3w_slice_cstr(bob), p.unique_id = S3W_SLICE_LIT("AIDABOB");
        f->req.principal = &p;
        for (size_t i = 0; i < 3; i++) {
            f->req.action = s3w_slice_cstr(actions[i]);
            struct policy_result a, b;
            struct policy_trace_entry small[3];
            struct policy_trace t;
            policy_trace_init(&t, small, 3);
            assert_int_equal(policy_evaluate(&f->set, &f->req, &a), POLICY_OK);
            assert_int_equal(policy_evaluate_traced(&f->set, &f->req, &b, &t), POLICY_OK);
            assert_int_equal(a.decision, b.decision);
            assert_int_equal(a.source, b.source);
            assert_int_equal(a.ndeciding_total, b.ndeciding_total);
            assert_int_equal(t.n, 3);
            assert_int_equal(t.n + t.dropped, policy_statement_count(f->bp) + 1);
        }
    }
    /* bob gets GetObject denied by NotPrin (he is not exempt) */
    struct policy_principal p = f->alice;
    p.arn = s3w_slice_cstr(bob), p.unique_id = S3W_SLICE_LIT("AIDABOB");
    f->req.principal = &p;
    f->req.action = S3W_SLICE_LIT("s3:GetObject");
    policy_trace_init(&f->trace, f->entries, 64);
    assert_int_equal(policy_evaluate_traced(&f->set, &f->req, &f->res, &f->trace), POLICY_OK);
    assert_int_equal(f->res.decision, POLICY_EXPLICIT_DENY);
    expect(f, "NotPrin", POLICY_TRACE_MATCHED, "applies");
    expect(f, "Prin", POLICY_TRACE_MATCHED, "applies");
    teardown(f);
}

/* A Deny that applies only through a reading IAM-SEMANTICS leaves
 * UNCONFIRMED says which (eval.c resource_matches); one listed as text
 * says only "applies". */
static void test_deny_readings(void **state)
{
    (void)state;
    struct fixture *f = setup();
    policy_free(f->bp);
    f->bp = compile("{\"Version\":\"2012-10-17\",\"Statement\":["
                    "{\"Sid\":\"DWild\",\"Effect\":\"Deny\"," ANY "\"Action\":\"s3:GetObject\","
                    "\"Resource\":\"arn:aws:s3:::${aws:PrincipalTag/w}/k\"},"
                    "{\"Sid\":\"DFold\",\"Effect\":\"Deny\"," ANY "\"Action\":\"s3:GetObject\","
                    "\"Resource\":\"arn:aws:s3:::b/\xe2\x84\xaa\"},"
                    "{\"Sid\":\"DMulti\",\"Effect\":\"Deny\"," ANY "\"Action\":\"s3:GetObject\","
                    "\"Resource\":\"arn:aws:s3:::b/${s3:RequestObjectTagKeys}\"},"
                    "{\"Sid\":\"DCase\",\"Effect\":\"Deny\"," ANY "\"Action\":\"s3:GetObject\","
                    "\"Resource\":[\"arn:aws:s3:::b/\xe2\x84\xaa\",\"arn:aws:s3:::B/K\"]},"
                    "{\"Sid\":\"DNot\",\"Effect\":\"Deny\"," ANY "\"Action\":\"s3:GetObject\","
                    "\"NotResource\":\"arn:aws:s3:::b/other\"},"
                    "{\"Sid\":\"DPlain\",\"Effect\":\"Deny\"," ANY "\"Action\":\"s3:GetObject\","
                    "\"Resource\":[\"arn:aws:s3:::B/K\",\"arn:aws:s3:::b/k\"]},"
                    "{\"Sid\":\"DNotCase\",\"Effect\":\"Deny\"," ANY "\"Action\":\"s3:GetObject\","
                    "\"NotResource\":\"arn:aws:s3:::B/K\"},"
                    "{\"Sid\":\"DNotVar\",\"Effect\":\"Deny\"," ANY "\"Action\":\"s3:GetObject\","
                    "\"NotResource\":\"arn:aws:s3:::b/${aws:SourceVpc}\"},"
                    "{\"Sid\":\"DNotWild\",\"Effect\":\"Deny\"," ANY "\"Action\":\"s3:GetObject\","
                    "\"NotResource\":\"arn:aws:s3:::b/${aws:PrincipalTag/w}\"},"
                    "{\"Sid\":\"DCondWild\",\"Effect\":\"Deny\"," ANY "\"Action\":\"s3:GetObject\","
                    "\"Resource\":\"arn:aws:s3:::b/k\",\"Condition\":{\"StringLike\":"
                    "{\"s3:x-amz-acl\":\"${aws:PrincipalTag/w}-read\"}}},"
                    "{\"Sid\":\"DCondAny\",\"Effect\":\"Deny\"," ANY "\"Action\":\"s3:GetObject\","
                    "\"Resource\":\"arn:aws:s3:::b/k\",\"Condition\":{\"ForAnyValue:StringNotEquals\":"
                    "{\"aws:SourceVpce\":\"vpce-1\"}}},"
                    "{\"Sid\":\"DCondPlain\",\"Effect\":\"Deny\"," ANY "\"Action\":\"s3:GetObject\","
                    "\"Resource\":\"arn:aws:s3:::b/k\",\"Condition\":{\"StringLike\":"
                    "{\"s3:x-amz-acl\":\"public-*\"}}}"
                    "]}", POLICY_KIND_RESOURCE, "bucket-policy");
    f->set.resource = f->bp;
    policy_trace_init(&f->trace, f->entries, 64);
    assert_int_equal(policy_evaluate_traced(&f->set, &f->req, &f->res, &f->trace), POLICY_OK);
    assert_int_equal(f->res.decision, POLICY_EXPLICIT_DENY);
    expect(f, "DWild", POLICY_TRACE_MATCHED,
           "applies; Resource: \"arn:aws:s3:::b/k\" is listed only with wildcards in a variable's "
           "value: the value of ${aws:PrincipalTag/w} holds '*' or '?': whether they are wildcards "
           "is unconfirmed, read the way that denies");
    expect(f, "DFold", POLICY_TRACE_MATCHED,
           "applies; Resource: \"arn:aws:s3:::b/k\" is listed only when case is ignored beyond "
           "ASCII: whether Resource ignores case is unconfirmed, read the way that denies");
    expect(f, "DMulti", POLICY_TRACE_MATCHED,
           "applies; Resource \"arn:aws:s3:::b/${s3:RequestObjectTagKeys}\" names a variable with "
           "no one value (a multivalued key, or a value AWS does not document): unconfirmed, read "
           "the way that denies");
    /* listed only with ASCII case ignored: unconfirmed too (§4.2) */
    expect(f, "DCase", POLICY_TRACE_MATCHED,
           "applies; Resource: \"arn:aws:s3:::b/k\" is listed only when case is ignored: whether "
           "Resource ignores case is unconfirmed, read the way that denies");
    /* listed as written, or not exempted as written: nothing to say */
    expect(f, "DPlain", POLICY_TRACE_MATCHED, "applies");
    expect(f, "DNot", POLICY_TRACE_MATCHED, "applies");
    /* NotResource: exempt only with case ignored, or its variable unset */
    expect(f, "DNotCase", POLICY_TRACE_MATCHED,
           "applies; NotResource \"arn:aws:s3:::B/K\" lists it only when case is ignored: whether "
           "Resource ignores case is unconfirmed, read the way that denies");
    /* probe 30: a Condition that holds only in the reading that denies */
    expect(f, "DCondWild", POLICY_TRACE_MATCHED,
           "applies; Condition StringLike \"s3:x-amz-acl\": request [\"public-read\"], policy "
           "[\"${aws:PrincipalTag/w}-read\"]: the value of ${aws:PrincipalTag/w} holds '*' or '?': "
           "whether they are wildcards is unconfirmed, read the way that denies");
    expect(f, "DCondAny", POLICY_TRACE_MATCHED,
           "applies; Condition ForAnyValue:StringNotEquals \"aws:SourceVpce\": the key is absent "
           "or empty in the request: ForAnyValue is false (missing key); but it holds in the "
           "reading that denies, which a Deny takes where AWS leaves the point unconfirmed");
    expect(f, "DCondPlain", POLICY_TRACE_MATCHED, "applies");
    /* probe 30: a wildcard value, not case, is what would exempt it */
    expect(f, "DNotWild", POLICY_TRACE_MATCHED,
           "applies; NotResource \"arn:aws:s3:::b/${aws:PrincipalTag/w}\" lists it only with "
           "wildcards in a variable's value: the value of ${aws:PrincipalTag/w} holds '*' or '?': "
           "whether they are wildcards is unconfirmed, read the way that denies");
    expect(f, "DNotVar", POLICY_TRACE_MATCHED,
           "applies; NotResource \"arn:aws:s3:::b/${aws:SourceVpc}\" names a variable with no one "
           "value in the request, so it exempts nothing (read the way that denies)");
    teardown(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_elements),
        cmocka_unit_test(test_conditions),
        cmocka_unit_test(test_same_decision),
        cmocka_unit_test(test_deny_readings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
