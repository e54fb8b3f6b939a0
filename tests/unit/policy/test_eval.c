/*
 * test_eval.c - the evaluation API used directly (what the proxy calls):
 * principal context keys (IAM-SEMANTICS.md §6), the action index (every
 * action shape lands on exactly the statements it should), deciding-
 * statement caps, argument errors that must deny, the AccessDenied text.
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

static struct policy *compile(const char *json, enum policy_kind kind)
{
    struct policy_compile_opts o = { .kind = kind, .name = "p" };
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

static void test_principal_context(void **state)
{
    (void)state;
    static struct policy_context c;
    char scratch[64];
    struct policy_principal s = {
        .type = POLICY_PRINCIPAL_ROLE_SESSION,
        .arn = S3W_SLICE_LIT("arn:aws:sts::111111111111:assumed-role/R/sess"),
        .account = S3W_SLICE_LIT("111111111111"), .unique_id = S3W_SLICE_LIT("AROAEXAMPLEID"),
        .role_arn = S3W_SLICE_LIT("arn:aws:iam::111111111111:role/R"),
        .session_name = S3W_SLICE_LIT("sess"),
    };
    policy_context_init(&c);
    assert_int_equal(policy_context_set_principal(&c, &s, scratch, sizeof(scratch)), POLICY_OK);
    assert_ctx(&c, "aws:userid", "AROAEXAMPLEID:sess");
    assert_ctx(&c, "aws:PrincipalArn", "arn:aws:iam::111111111111:role/R"); /* role ARN, §6 */
    assert_ctx(&c, "aws:PrincipalAccount", "111111111111");
    assert_ctx(&c, "aws:PrincipalType", "AssumedRole");
    assert_ctx(&c, "aws:username", NULL); /* absent for roles */
    /* scratch too small for "ROLEID:session" */
    assert_int_equal(policy_context_set_principal(&c, &s, scratch, 5), POLICY_E_TOOBIG);

    struct policy_principal u = {
        .type = POLICY_PRINCIPAL_USER, .arn = S3W_SLICE_LIT("arn:aws:iam::111111111111:user/alice"),
        .account = S3W_SLICE_LIT("111111111111"), .unique_id = S3W_SLICE_LIT("AIDAALICE"),
        .username = S3W_SLICE_LIT("alice"),
    };
    policy_context_init(&c);
    assert_int_equal(policy_context_set_principal(&c, &u, scratch, sizeof(scratch)), POLICY_OK);
    assert_ctx(&c, "aws:userid", "AIDAALICE");
    assert_ctx(&c, "AWS:USERNAME", "alice");
    assert_ctx(&c, "aws:PrincipalType", "User");

    struct policy_principal r = { .type = POLICY_PRINCIPAL_ROOT,
                                  .arn = S3W_SLICE_LIT("arn:aws:iam::111111111111:root"),
                                  .account = S3W_SLICE_LIT("111111111111") };
    policy_context_init(&c);
    policy_context_set_principal(&c, &r, scratch, sizeof(scratch));
    assert_ctx(&c, "aws:userid", "111111111111"); /* seed 002: root's userId is the account */
    assert_ctx(&c, "aws:PrincipalType", "Account");

    struct policy_principal f = { .type = POLICY_PRINCIPAL_FEDERATED,
                                  .arn = S3W_SLICE_LIT("arn:aws:sts::111111111111:federated-user/bob"),
                                  .account = S3W_SLICE_LIT("111111111111"),
                                  .session_name = S3W_SLICE_LIT("bob") };
    policy_context_init(&c);
    policy_context_set_principal(&c, &f, scratch, sizeof(scratch));
    assert_ctx(&c, "aws:userid", "111111111111:bob"); /* [STS-EX] account:name */
    assert_ctx(&c, "aws:PrincipalArn", "arn:aws:sts::111111111111:federated-user/bob");

    struct policy_principal a = { .type = POLICY_PRINCIPAL_ANONYMOUS };
    policy_context_init(&c);
    policy_context_set_principal(&c, &a, scratch, sizeof(scratch));
    assert_ctx(&c, "aws:PrincipalAccount", "anonymous");
    assert_ctx(&c, "aws:PrincipalArn", NULL);
    assert_ctx(&c, "aws:username", NULL);
}

/* Every action shape goes through the index; expected Sids by hand. */
static void test_action_index(void **state)
{
    (void)state;
    struct policy *p = compile(
        "{\"Version\":\"2012-10-17\",\"Statement\":["
        "{\"Sid\":\"Exact\",\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":\"*\"},"
        "{\"Sid\":\"Prefix\",\"Effect\":\"Allow\",\"Action\":\"s3:get*\",\"Resource\":\"*\"},"
        "{\"Sid\":\"Upper\",\"Effect\":\"Allow\",\"Action\":\"S3:PUTOBJECT\",\"Resource\":\"*\"},"
        "{\"Sid\":\"Suffix\",\"Effect\":\"Allow\",\"Action\":\"s3:*Object\",\"Resource\":\"*\"},"
        "{\"Sid\":\"Q\",\"Effect\":\"Allow\",\"Action\":\"s3:?etBucketPolicy\",\"Resource\":\"*\"},"
        "{\"Sid\":\"NotDel\",\"Effect\":\"Allow\",\"NotAction\":\"s3:Delete*\",\"Resource\":\"*\"},"
        "{\"Sid\":\"Iam\",\"Effect\":\"Allow\",\"Action\":\"iam:*\",\"Resource\":\"*\"},"
        "{\"Sid\":\"Two\",\"Effect\":\"Allow\",\"Action\":[\"s3:ListBucket\",\"s3:GetBucketAcl\"],\"Resource\":\"*\"}"
        "]}", POLICY_KIND_IDENTITY);
    static const struct { const char *action, *sids; } cases[] = {
        { "s3:GetObject", "Exact,Prefix,Suffix,NotDel" },
        { "S3:getobject", "Exact,Prefix,Suffix,NotDel" },
        { "s3:PutObject", "Upper,Suffix,NotDel" },
        { "s3:DeleteObject", "Suffix" },
        { "s3:PutBucketPolicy", "NotDel" }, /* ? is one character: not "Put" */
        { "s3:GetBucketPolicy", "Prefix,Q,NotDel" },
        { "s3:ListBucket", "NotDel,Two" },
        { "s3:GetBucketAcl", "Prefix,NotDel,Two" },
        { "iam:CreateUser", "NotDel,Iam" },
        { "sts:AssumeRole", "NotDel" },
    };
    struct policy_principal u = { .type = POLICY_PRINCIPAL_USER,
                                  .arn = S3W_SLICE_LIT("arn:aws:iam::1:user/u"),
                                  .account = S3W_SLICE_LIT("111111111111") };
    const struct policy *ids[] = { p };
    struct policy_set set = { .identity = ids, .nidentity = 1 };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct policy_request rq = { &u, s3w_slice_cstr(cases[i].action), S3W_SLICE_LIT("arn:aws:s3:::b/k"),
                                     S3W_SLICE_LIT("111111111111"), NULL };
        struct policy_result res;
        assert_int_equal(policy_evaluate(&set, &rq, &res), POLICY_OK);
        char got[256] = "";
        /* index order is not statement order: collect, then sort by index */
        unsigned idx[POLICY_MAX_DECIDING];
        for (size_t k = 0; k < res.ndeciding; k++)
            idx[k] = res.deciding[k].index;
        for (size_t a = 0; a < res.ndeciding; a++)
            for (size_t b = a + 1; b < res.ndeciding; b++)
                if (idx[b] < idx[a]) {
                    unsigned t = idx[a];
                    idx[a] = idx[b];
                    idx[b] = t;
                }
        static const char *const names[] = { "Exact", "Prefix", "Upper", "Suffix", "Q", "NotDel", "Iam", "Two" };
        for (size_t k = 0; k < res.ndeciding; k++) {
            if (k)
                strcat(got, ",");
            strcat(got, names[idx[k]]);
        }
        if (strcmp(got, cases[i].sids))
            fprintf(stderr, "%s: got %s want %s\n", cases[i].action, got, cases[i].sids);
        assert_string_equal(got, cases[i].sids);
        assert_int_equal(res.decision, 
                         cases[i].sids[0] ? POLICY_ALLOWED : POLICY_IMPLICIT_DENY);
    }
    policy_free(p);
}

static void test_deciding_cap_and_messages(void **state)
{
    (void)state;
    char json[8192];
    size_t n = (size_t)snprintf(json, sizeof(json), "{\"Version\":\"2012-10-17\",\"Statement\":[");
    for (int i = 0; i < 20; i++)
        n += (size_t)snprintf(json + n, sizeof(json) - n,
                              "%s{\"Sid\":\"D%d\",\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:*\","
                              "\"Resource\":\"*\"}", i ? "," : "", i);
    snprintf(json + n, sizeof(json) - n, "]}");
    struct policy *p = compile(json, POLICY_KIND_RESOURCE);
    struct policy_principal anon = { .type = POLICY_PRINCIPAL_ANONYMOUS };
    struct policy_set set = { .resource = p };
    struct policy_request rq = { &anon, S3W_SLICE_LIT("s3:GetObject"), S3W_SLICE_LIT("arn:aws:s3:::b/k"),
                                 S3W_SLICE_LIT("111111111111"), NULL };
    struct policy_result res;
    assert_int_equal(policy_evaluate(&set, &rq, &res), POLICY_OK);
    assert_int_equal(res.decision, POLICY_EXPLICIT_DENY);
    assert_int_equal(res.source, POLICY_SRC_RESOURCE);
    assert_int_equal(res.ndeciding, POLICY_MAX_DECIDING);
    assert_int_equal(res.ndeciding_total, 20);
    char msg[64];
    const char *full = "User: anonymous is not authorized to perform: s3:GetObject on resource: "
                       "\"arn:aws:s3:::b/k\" with an explicit deny in a resource-based policy";
    /* snprintf-like: truncated, NUL-terminated, returns the full length */
    assert_int_equal(policy_access_denied_message(&rq, &res, msg, sizeof(msg)), strlen(full));
    assert_int_equal(strlen(msg), sizeof(msg) - 1);
    assert_memory_equal(msg, full, sizeof(msg) - 1);
    policy_free(p);
}

static void test_bad_arguments_deny(void **state)
{
    (void)state;
    struct policy *p = compile("{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\","
                               "\"Action\":\"*\",\"Resource\":\"*\"}}", POLICY_KIND_IDENTITY);
    const struct policy *ids[] = { p };
    struct policy_set set = { .identity = ids, .nidentity = 1 };
    struct policy_principal u = { .type = POLICY_PRINCIPAL_USER, .arn = S3W_SLICE_LIT("arn:aws:iam::1:user/u"),
                                  .account = S3W_SLICE_LIT("111111111111") };
    struct policy_result res;
    struct policy_request rq = { &u, S3W_SLICE_LIT("GetObject"), S3W_SLICE_LIT("arn:aws:s3:::b/k"),
                                 S3W_SLICE_LIT("111111111111"), NULL };
    res.decision = POLICY_ALLOWED;
    assert_int_equal(policy_evaluate(&set, &rq, &res), POLICY_E_ARG); /* no "service:" */
    assert_int_equal(res.decision, POLICY_IMPLICIT_DENY);
    rq.action = S3W_SLICE_LIT("s3:GetObject");
    rq.principal = NULL;
    res.decision = POLICY_ALLOWED;
    assert_int_equal(policy_evaluate(&set, &rq, &res), POLICY_E_ARG);
    assert_int_equal(res.decision, POLICY_IMPLICIT_DENY);
    rq.principal = &u;
    assert_int_equal(policy_evaluate(&set, &rq, &res), POLICY_OK);
    assert_int_equal(res.decision, POLICY_ALLOWED);
    char msg[8] = "x";
    assert_int_equal(policy_access_denied_message(&rq, &res, msg, sizeof(msg)), 0);
    assert_string_equal(msg, "");
    assert_string_equal(policy_decision_name(POLICY_EXPLICIT_DENY), "ExplicitlyDenied");
    policy_free(p);

    /* compile reads exactly len bytes: a valid prefix of a longer buffer */
    const char buf[] = "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}}GARBAGE";
    struct policy_compile_opts o = { .kind = POLICY_KIND_IDENTITY };
    struct policy *q = NULL;
    assert_int_equal(policy_compile(buf, sizeof(buf) - 1 - 7, &o, &q, NULL), POLICY_OK);
    assert_string_equal(policy_name(q), "policy");
    assert_int_equal(policy_statement_count(q), 1);
    policy_free(q);
    assert_int_equal(policy_compile(buf, sizeof(buf) - 1, &o, &q, NULL), POLICY_E_INVALID);
    assert_null(q);
    assert_int_equal(policy_compile(NULL, 0, NULL, &q, NULL), POLICY_E_ARG);
}

/* The directory the resolver knows: alice is AIDAALICE0000000001 today. */
static bool resolve(void *arg, struct s3w_slice arn, struct s3w_slice *id)
{
    (void)arg;
    if (s3w_slice_eq_cstr(arn, "arn:aws:iam::111111111111:user/alice")) {
        *id = S3W_SLICE_LIT("AIDAALICE0000000001");
        return true;
    }
    if (s3w_slice_eq_cstr(arn, "arn:aws:iam::111111111111:role/R")) {
        *id = S3W_SLICE_LIT("AROAR00000000000001");
        return true;
    }
    return false;
}

/* seed 004 "Important": a user/role ARN in Principal is stored as its unique
 * id; a deleted and recreated entity of the same name does not match. */
static void test_unique_id_binding(void **state)
{
    (void)state;
    const char *doc =
        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":"
        "[\"arn:aws:iam::111111111111:user/alice\",\"arn:aws:iam::111111111111:role/R\","
        "\"arn:aws:iam::111111111111:user/bob\"]},\"Action\":\"s3:GetObject\",\"Resource\":\"*\"}]}";
    struct policy_compile_opts o = { .kind = POLICY_KIND_RESOURCE, .name = "b",
                                     .resolve_unique_id = resolve };
    struct policy *p = NULL;
    assert_int_equal(policy_compile(doc, strlen(doc), &o, &p, NULL), POLICY_OK);
    struct policy_set set = { .resource = p };
    struct policy_principal u = { .type = POLICY_PRINCIPAL_USER,
                                  .arn = S3W_SLICE_LIT("arn:aws:iam::111111111111:user/alice"),
                                  .account = S3W_SLICE_LIT("111111111111"),
                                  .unique_id = S3W_SLICE_LIT("AIDAALICE0000000001") };
    struct policy_request rq = { &u, S3W_SLICE_LIT("s3:GetObject"), S3W_SLICE_LIT("arn:aws:s3:::b/k"),
                                 S3W_SLICE_LIT("111111111111"), NULL };
    struct policy_result res;
    policy_evaluate(&set, &rq, &res);
    assert_int_equal(res.decision, POLICY_ALLOWED);
    /* recreated alice: same ARN, new id -> no longer the principal */
    u.unique_id = S3W_SLICE_LIT("AIDAALICE0000000002");
    policy_evaluate(&set, &rq, &res);
    assert_int_equal(res.decision, POLICY_IMPLICIT_DENY);
    /* bob is unknown to the resolver: matched by ARN */
    u.arn = S3W_SLICE_LIT("arn:aws:iam::111111111111:user/bob");
    u.unique_id = S3W_SLICE_LIT("AIDABOB000000000001");
    policy_evaluate(&set, &rq, &res);
    assert_int_equal(res.decision, POLICY_ALLOWED);
    /* a session of the recreated role R (new role id) does not match */
    struct policy_principal s = { .type = POLICY_PRINCIPAL_ROLE_SESSION,
                                  .arn = S3W_SLICE_LIT("arn:aws:sts::111111111111:assumed-role/R/x"),
                                  .account = S3W_SLICE_LIT("111111111111"),
                                  .role_arn = S3W_SLICE_LIT("arn:aws:iam::111111111111:role/R"),
                                  .unique_id = S3W_SLICE_LIT("AROAR00000000000009"),
                                  .session_name = S3W_SLICE_LIT("x") };
    rq.principal = &s;
    policy_evaluate(&set, &rq, &res);
    assert_int_equal(res.decision, POLICY_IMPLICIT_DENY);
    s.unique_id = S3W_SLICE_LIT("AROAR00000000000001");
    policy_evaluate(&set, &rq, &res);
    assert_int_equal(res.decision, POLICY_ALLOWED);
    policy_free(p);
}

/* Resource case sensitivity is UNCONFIRMED (IAM-SEMANTICS.md §4.2); eval.c
 * takes "the reading that denies". Under NotResource that reading flips:
 * a Deny + NotResource must match its exceptions case-sensitively (fewer
 * exceptions, more denied) and an Allow + NotResource case-insensitively
 * (more exclusions, less allowed). Before the fix "b/PUBLIC/secret" counted
 * as inside the "b/public/..." exception, so the Deny never fired and the
 * Allow on "b/..." let the read through. */
static void test_notresource_case_denies(void **state)
{
    (void)state;
    struct policy *p = compile(
        "{\"Version\":\"2012-10-17\",\"Statement\":["
        "{\"Sid\":\"All\",\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::b/*\"},"
        "{\"Sid\":\"OnlyPublic\",\"Effect\":\"Deny\",\"Action\":\"s3:GetObject\","
        "\"NotResource\":\"arn:aws:s3:::b/public/*\"}"
        "]}", POLICY_KIND_IDENTITY);
    struct policy *q = compile(
        "{\"Version\":\"2012-10-17\",\"Statement\":["
        "{\"Sid\":\"NotPriv\",\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\","
        "\"NotResource\":\"arn:aws:s3:::b/private/*\"}"
        "]}", POLICY_KIND_IDENTITY);
    struct policy_principal u = { .type = POLICY_PRINCIPAL_USER,
                                  .arn = S3W_SLICE_LIT("arn:aws:iam::111111111111:user/u"),
                                  .account = S3W_SLICE_LIT("111111111111") };
    static const struct { const struct policy **pol; const char *res; enum policy_decision want; } cases[] = {
        { NULL, "arn:aws:s3:::b/public/x", POLICY_ALLOWED },
        { NULL, "arn:aws:s3:::b/PUBLIC/secret", POLICY_EXPLICIT_DENY },
        { NULL, "arn:aws:s3:::b/other", POLICY_EXPLICIT_DENY },
        { (const struct policy **)1, "arn:aws:s3:::b/other", POLICY_ALLOWED },
        { (const struct policy **)1, "arn:aws:s3:::b/private/x", POLICY_IMPLICIT_DENY },
        { (const struct policy **)1, "arn:aws:s3:::b/PRIVATE/x", POLICY_IMPLICIT_DENY },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct policy *ids[] = { cases[i].pol ? q : p };
        struct policy_set set = { .identity = ids, .nidentity = 1 };
        struct policy_request rq = { &u, S3W_SLICE_LIT("s3:GetObject"), s3w_slice_cstr(cases[i].res),
                                     S3W_SLICE_LIT("111111111111"), NULL };
        struct policy_result res;
        assert_int_equal(policy_evaluate(&set, &rq, &res), POLICY_OK);
        if (res.decision != cases[i].want)
            fprintf(stderr, "case %zu %s: got %d\n", i, cases[i].res, (int)res.decision);
        assert_int_equal(res.decision, cases[i].want);
    }
    policy_free(p);
    policy_free(q);
}

/* `?` is one character, not one byte (the seventh probe: a Deny on
 * ".../secret?" let "secretä" through, two bytes in UTF-8; a StringLike
 * Deny on s3:prefix the same), in a Resource and in StringLike alike. A
 * byte that starts no well-formed UTF-8 sequence counts as one. */
static void test_qmark_is_one_character(void **state)
{
    (void)state;
    struct policy *p = compile(
        "{\"Version\":\"2012-10-17\",\"Statement\":["
        "{\"Sid\":\"All\",\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"},"
        "{\"Sid\":\"One\",\"Effect\":\"Deny\",\"Action\":\"s3:GetObject\","
        "\"Resource\":[\"arn:aws:s3:::b/secret?\",\"arn:aws:s3:::b/x*?y\"]},"
        "{\"Sid\":\"Prefix\",\"Effect\":\"Deny\",\"Action\":\"s3:ListBucket\",\"Resource\":\"*\","
        "\"Condition\":{\"StringLike\":{\"s3:prefix\":\"home/priv?te*\"}}}"
        "]}", POLICY_KIND_IDENTITY);
    struct policy_principal u = { .type = POLICY_PRINCIPAL_USER,
                                  .arn = S3W_SLICE_LIT("arn:aws:iam::111111111111:user/u"),
                                  .account = S3W_SLICE_LIT("111111111111") };
    static const struct { const char *key; enum policy_decision want; } gets[] = {
        { "secretA", POLICY_EXPLICIT_DENY },
        { "secret\xC3\xA4", POLICY_EXPLICIT_DENY },         /* ä, U+00E4 */
        { "secret\xE2\x82\xAC", POLICY_EXPLICIT_DENY },     /* €, U+20AC */
        { "secret\xF0\x9F\x98\x80", POLICY_EXPLICIT_DENY }, /* U+1F600 */
        { "secret\xC3\xA4\xC3\xA4", POLICY_ALLOWED },       /* two characters */
        { "secret", POLICY_ALLOWED },
        { "secret\xC3", POLICY_EXPLICIT_DENY },     /* a cut sequence: one */
        { "secret\xFF\xFE", POLICY_ALLOWED },       /* two bytes of no UTF-8: two */
        { "secret\xE0\x80\x80", POLICY_ALLOWED },   /* overlong: three */
        { "secret\xED\xA0\x80", POLICY_ALLOWED },   /* a surrogate: three */
        { "x\xC3\xA4y", POLICY_EXPLICIT_DENY },      /* `*` empty, `?` the ä */
        { "xab\xC3\xA4y", POLICY_EXPLICIT_DENY },
        { "xy", POLICY_ALLOWED },
    };
    const struct policy *ids[] = { p };
    struct policy_set set = { .identity = ids, .nidentity = 1 };
    char arn[64];
    for (size_t i = 0; i < sizeof gets / sizeof *gets; i++) {
        snprintf(arn, sizeof arn, "arn:aws:s3:::b/%s", gets[i].key);
        struct policy_request rq = { &u, S3W_SLICE_LIT("s3:GetObject"), s3w_slice_cstr(arn),
                                     S3W_SLICE_LIT("111111111111"), NULL };
        struct policy_result res;
        assert_int_equal(policy_evaluate(&set, &rq, &res), POLICY_OK);
        if (res.decision != gets[i].want)
            fail_msg("GET case %zu: got %d", i, (int)res.decision);
    }
    static const struct { const char *prefix; enum policy_decision want; } lists[] = {
        { "home/private", POLICY_EXPLICIT_DENY },
        { "home/priv\xC3\xA4te1", POLICY_EXPLICIT_DENY },
        { "home/priv\xC3\xA4\xC3\xA4te", POLICY_ALLOWED },
    };
    for (size_t i = 0; i < sizeof lists / sizeof *lists; i++) {
        struct policy_context ctx;
        policy_context_init(&ctx);
        assert_int_equal(policy_context_set(&ctx, S3W_SLICE_LIT("s3:prefix"),
                                            s3w_slice_cstr(lists[i].prefix)), POLICY_CTX_OK);
        struct policy_request rq = { &u, S3W_SLICE_LIT("s3:ListBucket"), S3W_SLICE_LIT("arn:aws:s3:::b"),
                                     S3W_SLICE_LIT("111111111111"), &ctx };
        struct policy_result res;
        assert_int_equal(policy_evaluate(&set, &rq, &res), POLICY_OK);
        if (res.decision != lists[i].want)
            fail_msg("LIST case %zu: got %d", i, (int)res.decision);
    }
    policy_free(p);
}

/* A Condition block that repeats an operator, or an operator that repeats a
 * key (AWS's S3 Storage Lens example does the first), loads with a warning
 * and every entry is evaluated: they AND. A reader keeping only the first
 * or only the last entry would allow one of the two denied requests. */
static void test_repeated_condition_entries(void **state)
{
    (void)state;
    struct policy *ops = compile(
        "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\","
        "\"Action\":\"s3:GetObject\",\"Resource\":\"*\",\"Condition\":{"
        "\"StringLike\":{\"aws:Referer\":\"http://*\"},"
        "\"StringLike\":{\"aws:Referer\":\"*.com/*\"}}}}", POLICY_KIND_IDENTITY);
    struct policy *keys = compile(
        "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\","
        "\"Action\":\"s3:GetObject\",\"Resource\":\"*\",\"Condition\":{"
        "\"StringLike\":{\"aws:Referer\":\"http://*\",\"aws:Referer\":\"*.com/*\"}}}}",
        POLICY_KIND_IDENTITY);
    struct policy_principal u = { .type = POLICY_PRINCIPAL_USER,
                                  .arn = S3W_SLICE_LIT("arn:aws:iam::111111111111:user/u"),
                                  .account = S3W_SLICE_LIT("111111111111") };
    static const struct { const char *referer; enum policy_decision want; } cases[] = {
        { "http://example.com/page", POLICY_ALLOWED },
        { "https://example.com/page", POLICY_IMPLICIT_DENY }, /* fails the first entry */
        { "http://example.org/page", POLICY_IMPLICIT_DENY },  /* fails the second */
    };
    static struct policy_context ctx;
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            const struct policy *ids[] = { k ? keys : ops };
            struct policy_set set = { .identity = ids, .nidentity = 1 };
            policy_context_init(&ctx);
            assert_int_equal(policy_context_set(&ctx, S3W_SLICE_LIT("aws:Referer"),
                                                s3w_slice_cstr(cases[i].referer)), 0);
            struct policy_request rq = { &u, S3W_SLICE_LIT("s3:GetObject"),
                                         S3W_SLICE_LIT("arn:aws:s3:::b/k"),
                                         S3W_SLICE_LIT("111111111111"), &ctx };
            struct policy_result res;
            assert_int_equal(policy_evaluate(&set, &rq, &res), POLICY_OK);
            if (res.decision != cases[i].want)
                fprintf(stderr, "%s, %s: got %d\n", k ? "keys" : "operators", cases[i].referer,
                        (int)res.decision);
            assert_int_equal(res.decision, cases[i].want);
        }
    policy_free(ops);
    policy_free(keys);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_principal_context),
        cmocka_unit_test(test_notresource_case_denies),
        cmocka_unit_test(test_qmark_is_one_character),
        cmocka_unit_test(test_action_index),
        cmocka_unit_test(test_deciding_cap_and_messages),
        cmocka_unit_test(test_bad_arguments_deny),
        cmocka_unit_test(test_unique_id_binding),
        cmocka_unit_test(test_repeated_condition_entries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
