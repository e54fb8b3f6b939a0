/* Identity resolution (config/identity.c) for each principal kind, with
 * every request-context value the policy engine reads (IAM-SEMANTICS §6). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "identity.h"
#include "policy.h"

static struct config *cfg;
static struct config_identity id;
static struct policy_context ctx;

static int setup(void **state)
{
    (void)state;
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/unit/config/good/full.json",
             getenv("S3W_SOURCE_ROOT") ? getenv("S3W_SOURCE_ROOT") : ".");
    setenv("S3W_TEST_DAVE_SECRET", "davesecondsecretdavesecondsecretdave0002", 1);
    struct config_errors errs;
    config_errors_init(&errs);
    int rc = config_load(path, &cfg, &errs);
    config_errors_cleanup(&errs);
    config_identity_anonymous(&id);
    return rc;
}

static int teardown(void **state)
{
    (void)state;
    config_identity_cleanup(&id);
    config_unref(cfg);
    return 0;
}

/* Asserts ctx[key] == want (single value), or absent when want is NULL. */
static void want_ctx(const char *key, const char *want)
{
    const struct policy_ctx_entry *e = policy_context_get(&ctx, s3w_slice_cstr(key));
    if (!want) {
        if (e)
            fail_msg("%s should be absent, is '%.*s'", key, (int)e->one.len, e->one.ptr);
        return;
    }
    if (!e)
        fail_msg("%s is absent, want '%s'", key, want);
    assert_int_equal(e->nvalues, 1);
    if (!s3w_slice_eq_cstr(e->values[0], want))
        fail_msg("%s = '%.*s', want '%s'", key, (int)e->values[0].len, e->values[0].ptr, want);
}

static void resolve_ok(const char *akid, const char *want_secret)
{
    uint8_t secret[128];
    size_t n = 0;
    assert_int_equal(config_resolve(cfg, s3w_slice_cstr(akid), S3W_SLICE_NULL, 1700000000, &id,
                                    secret, sizeof secret, &n),
                     CONFIG_AUTH_OK);
    assert_int_equal(n, strlen(want_secret));
    assert_memory_equal(secret, want_secret, n);
    policy_context_init(&ctx);
    assert_int_equal(config_identity_fill_context(&id, &ctx), POLICY_CTX_OK);
}

static void test_iam_user(void **state)
{
    (void)state;
    resolve_ok("AKIADAVE000000000001", "davesecretdavesecretdavesecretdave000001");
    assert_int_equal(id.type, CONFIG_PRINCIPAL_USER);
    assert_true(s3w_slice_eq_cstr(id.arn, "arn:aws:iam::333333333333:user/Dave"));
    assert_int_equal(id.npolicies, 1);
    assert_null(id.boundary);
    assert_null(id.session_policy);
    want_ctx("aws:userid", "AIDACCCCDAVE0000001");
    want_ctx("aws:username", "Dave");
    want_ctx("aws:PrincipalArn", "arn:aws:iam::333333333333:user/Dave");
    want_ctx("aws:PrincipalAccount", "333333333333");
    want_ctx("aws:PrincipalType", "User");
    want_ctx("aws:PrincipalTag/team", "blue");
    want_ctx("aws:principaltag/COST-CENTER", "42"); /* key names are case-insensitive */
    want_ctx("aws:TokenIssueTime", NULL);
    want_ctx("aws:SourceIdentity", NULL);
    want_ctx("aws:MultiFactorAuthPresent", NULL); /* long-term key: absent [KEYS] */
    assert_int_equal(ctx.n, 7);

    struct policy_principal p;
    config_identity_principal(&id, &p);
    assert_int_equal(p.type, POLICY_PRINCIPAL_USER);
    assert_true(s3w_slice_eq_cstr(p.unique_id, "AIDACCCCDAVE0000001"));
    assert_true(s3w_slice_eq_cstr(p.username, "Dave"));
    assert_false(p.has_boundary);
}

static void test_user_with_path_and_boundary(void **state)
{
    (void)state;
    resolve_ok("AKIAALICE00000000001", "alicesecretalicesecretalicesecretalice01");
    want_ctx("aws:PrincipalArn", "arn:aws:iam::111111111111:user/engineering/alice");
    want_ctx("aws:username", "alice");
    assert_non_null(id.boundary);
    struct policy_principal p;
    config_identity_principal(&id, &p);
    assert_true(p.has_boundary);
}

static void test_account_root(void **state)
{
    (void)state;
    resolve_ok("AKIAROOTA00000000001", "rootAsecretrootAsecretrootAsecret0000001");
    assert_int_equal(id.type, CONFIG_PRINCIPAL_ACCOUNT);
    want_ctx("aws:userid", "111111111111"); /* root: the account id (seed 002) */
    want_ctx("aws:username", NULL);
    want_ctx("aws:PrincipalArn", "arn:aws:iam::111111111111:root");
    want_ctx("aws:PrincipalAccount", "111111111111");
    want_ctx("aws:PrincipalType", "Account");
    want_ctx("aws:MultiFactorAuthPresent", NULL);
    assert_int_equal(ctx.n, 4);
    struct policy_principal p;
    config_identity_principal(&id, &p);
    assert_int_equal(p.type, POLICY_PRINCIPAL_ROOT);
}

/* An EC2 instance-id session bound statically to a role (seed 000):
 * aws:userid is ROLEID:instance-id. */
static void test_static_instance_session(void **state)
{
    (void)state;
    resolve_ok("AKIAINSTANCE00000001", "instancesecretinstancesecretinstance0001");
    assert_int_equal(id.type, CONFIG_PRINCIPAL_ASSUMED_ROLE);
    assert_true(s3w_slice_eq_cstr(id.arn,
        "arn:aws:sts::111111111111:assumed-role/ec2role/i-0123456789abcdef0"));
    want_ctx("aws:userid", "AROAEC2ROLE00000001:i-0123456789abcdef0");
    want_ctx("aws:username", NULL);
    /* the role ARN, path included (UNCONFIRMED whether AWS keeps the path) */
    want_ctx("aws:PrincipalArn", "arn:aws:iam::111111111111:role/service/ec2role");
    want_ctx("aws:PrincipalAccount", "111111111111");
    want_ctx("aws:PrincipalType", "AssumedRole");
    want_ctx("aws:MultiFactorAuthPresent", "false");
    want_ctx("aws:TokenIssueTime", NULL); /* no token */
    want_ctx("aws:SourceIdentity", NULL);
    assert_int_equal(ctx.n, 5); /* ec2role has no tags */
    struct policy_principal p;
    config_identity_principal(&id, &p);
    assert_int_equal(p.type, POLICY_PRINCIPAL_ROLE_SESSION);
    assert_true(s3w_slice_eq_cstr(p.unique_id, "AROAEC2ROLE00000001"));
    assert_true(s3w_slice_eq_cstr(p.role_arn, "arn:aws:iam::111111111111:role/service/ec2role"));
    assert_true(s3w_slice_eq_cstr(p.session_name, "i-0123456789abcdef0"));
}

static void test_anonymous(void **state)
{
    (void)state;
    resolve_ok("AKIADAVE000000000001", "davesecretdavesecretdavesecretdave000001");
    assert_int_equal(id.ntags, 2);
    config_identity_anonymous(&id);
    /* the reset clears the tags that were used (it leaves the table's
     * unused rest alone, which no reader goes past ntags into) */
    assert_int_equal(id.ntags, 0);
    assert_null(id.tags[0].key.ptr);
    assert_null(id.tags[1].context_key.ptr);
    assert_null(id.user);
    policy_context_init(&ctx);
    assert_int_equal(config_identity_fill_context(&id, &ctx), POLICY_CTX_OK);
    /* PrincipalAccount "anonymous" [KEYS]; userid / PrincipalType values are
     * UNCONFIRMED (IAM-SEMANTICS §6): present, as "anonymous" / "Anonymous",
     * and marked unsure, so that a comparison takes the reading that denies
     * in serve, explain and replay as in simulate */
    want_ctx("aws:userid", "anonymous");
    want_ctx("aws:PrincipalAccount", "anonymous");
    want_ctx("aws:PrincipalType", "Anonymous");
    want_ctx("aws:PrincipalArn", NULL);
    want_ctx("aws:username", NULL);
    assert_int_equal(ctx.n, 3);
    assert_true(policy_context_get(&ctx, S3W_SLICE_LIT("aws:userid"))->unsure);
    assert_true(policy_context_get(&ctx, S3W_SLICE_LIT("aws:PrincipalType"))->unsure);
    assert_false(policy_context_get(&ctx, S3W_SLICE_LIT("aws:PrincipalAccount"))->unsure);
    /* a signed caller's values are documented */
    resolve_ok("AKIADAVE000000000001", "davesecretdavesecretdavesecretdave000001");
    policy_context_init(&ctx);
    assert_int_equal(config_identity_fill_context(&id, &ctx), POLICY_CTX_OK);
    assert_false(policy_context_get(&ctx, S3W_SLICE_LIT("aws:userid"))->unsure);
}

static void test_refusals(void **state)
{
    (void)state;
    uint8_t secret[128];
    size_t n = 99;
    /* unknown key */
    assert_int_equal(config_resolve(cfg, S3W_SLICE_LIT("AKIANOSUCHKEY0000001"), S3W_SLICE_NULL,
                                    1, &id, secret, sizeof secret, &n),
                     CONFIG_AUTH_UNKNOWN_KEY);
    assert_int_equal(n, 0);
    assert_int_equal(id.type, CONFIG_PRINCIPAL_ANONYMOUS); /* fail closed */
    /* an Inactive key is an unknown key */
    assert_int_equal(config_resolve(cfg, S3W_SLICE_LIT("AKIADAVE000000000002"), S3W_SLICE_NULL,
                                    1, &id, secret, sizeof secret, &n),
                     CONFIG_AUTH_UNKNOWN_KEY);
    /* a long-term key presented with a session token */
    assert_int_equal(config_resolve(cfg, S3W_SLICE_LIT("AKIADAVE000000000001"),
                                    S3W_SLICE_LIT("c29tZXRva2Vu"), 1, &id, secret, sizeof secret,
                                    &n),
                     CONFIG_AUTH_INVALID_TOKEN);
    /* a temporary key without its token */
    assert_int_equal(config_resolve(cfg, S3W_SLICE_LIT("ASIAAAAAAAAAAAAAAAAA"), S3W_SLICE_NULL,
                                    1, &id, secret, sizeof secret, &n),
                     CONFIG_AUTH_MISSING_TOKEN);
    /* garbage token */
    assert_int_equal(config_resolve(cfg, S3W_SLICE_LIT("ASIAAAAAAAAAAAAAAAAA"),
                                    S3W_SLICE_LIT("not base64!"), 1, &id, secret, sizeof secret,
                                    &n),
                     CONFIG_AUTH_INVALID_TOKEN);
    /* prefix of a real key id is not that key */
    assert_int_equal(config_resolve(cfg, S3W_SLICE_LIT("AKIADAVE00000000000"), S3W_SLICE_NULL, 1,
                                    &id, secret, sizeof secret, &n),
                     CONFIG_AUTH_UNKNOWN_KEY);
    /* S3's words for each refusal */
    assert_string_equal(config_auth_err_code(CONFIG_AUTH_INVALID_TOKEN), "InvalidToken");
    assert_string_equal(config_auth_err_message(CONFIG_AUTH_INVALID_TOKEN),
                        "The provided token is malformed or otherwise invalid.");
    assert_int_equal(config_auth_err_status(CONFIG_AUTH_INVALID_TOKEN), 400);
    assert_string_equal(config_auth_err_code(CONFIG_AUTH_EXPIRED_TOKEN), "ExpiredToken");
    assert_string_equal(config_auth_err_message(CONFIG_AUTH_EXPIRED_TOKEN),
                        "The provided token has expired.");
    assert_string_equal(config_auth_err_code(CONFIG_AUTH_UNKNOWN_KEY), "InvalidAccessKeyId");
    assert_string_equal(config_auth_err_message(CONFIG_AUTH_UNKNOWN_KEY),
                        "The AWS Access Key Id you provided does not exist in our records.");
    assert_int_equal(config_auth_err_status(CONFIG_AUTH_UNKNOWN_KEY), 403);
}

/* The sigv4 callback adapter maps each outcome to sigv4's statuses. */
static void test_sigv4_callback(void **state)
{
    (void)state;
    struct config_sigv4_lookup l = { .cfg = cfg, .now = 1700000000, .id = &id };
    char secret[SIGV4_MAX_SECRET];
    size_t n = 0;
    assert_int_equal(config_sigv4_lookup(&l, S3W_SLICE_LIT("AKIADAVE000000000001"),
                                         S3W_SLICE_NULL, secret, &n),
                     SIGV4_LOOKUP_OK);
    assert_int_equal(n, 40);
    assert_memory_equal(secret, "davesecretdavesecretdavesecretdave000001", 40);
    assert_int_equal(id.type, CONFIG_PRINCIPAL_USER);
    assert_int_equal(config_sigv4_lookup(&l, S3W_SLICE_LIT("AKIAUNKNOWN000000001"),
                                         S3W_SLICE_NULL, secret, &n),
                     SIGV4_LOOKUP_UNKNOWN_KEY);
    assert_int_equal(l.err, CONFIG_AUTH_UNKNOWN_KEY);
    assert_int_equal(config_sigv4_lookup(&l, S3W_SLICE_LIT("ASIAAAAAAAAAAAAAAAAA"),
                                         S3W_SLICE_LIT("AAAA"), secret, &n),
                     SIGV4_LOOKUP_INVALID_TOKEN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_iam_user),
        cmocka_unit_test(test_user_with_path_and_boundary),
        cmocka_unit_test(test_account_root),
        cmocka_unit_test(test_static_instance_session),
        cmocka_unit_test(test_anonymous),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_sigv4_callback),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
