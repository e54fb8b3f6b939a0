/* Unit tests for config/load.c, config/config.c, config/index.c: a complete
 * valid config is loaded field by field; snapshots are refcounted; lookups
 * are exact; the example configs under deploy/examples load. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "policy.h"

static char *path_of(const char *rel)
{
    const char *root = getenv("S3W_SOURCE_ROOT");
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s/%s", root ? root : ".", rel);
    return buf;
}

static struct config *load_ok(const char *rel)
{
    struct config_errors errs;
    config_errors_init(&errs);
    struct config *cfg = NULL;
    int rc = config_load(path_of(rel), &cfg, &errs);
    for (size_t i = 0; i < errs.n; i++)
        fprintf(stderr, "%s\n", errs.items[i].text);
    assert_int_equal(rc, CONFIG_OK);
    assert_int_equal(errs.n, 0);
    assert_non_null(cfg);
    config_errors_cleanup(&errs);
    return cfg;
}

static void test_full_config_fields(void **state)
{
    (void)state;
    setenv("S3W_TEST_DAVE_SECRET", "davesecondsecretdavesecondsecretdave0002", 1);
    struct config *cfg = load_ok("tests/unit/config/good/full.json");

    assert_int_equal(cfg->nlisteners, 1); /* one: serve binds one (bad/listeners-two) */
    assert_string_equal(cfg->listeners[0].address, "::1");
    assert_int_equal(cfg->listeners[0].port, 8443);
    /* relative paths resolve against the config file's directory */
    assert_non_null(strstr(cfg->listeners[0].tls_cert_file, "tests/unit/config/good/tls/cert.pem"));
    assert_string_equal(cfg->listeners[0].tls_key_file, "/etc/s3w/key.pem");

    assert_int_equal(cfg->nvirtual_host_domains, 2);
    assert_string_equal(cfg->virtual_host_domains[1], "s3.example.com");

    const struct config_upstream *u = cfg->upstream;
    assert_string_equal(u->endpoint, "http://127.0.0.1:5000");
    assert_string_equal(u->region, "us-east-1");
    assert_int_equal(u->addressing, CONFIG_ADDRESSING_VIRTUAL);
    assert_false(u->tls_verify);
    assert_string_equal(u->ca_file, "/etc/ssl/ca.pem");
    assert_int_equal(u->connect_timeout_ms, 1000);
    assert_int_equal(u->first_byte_timeout_ms, 2000);
    assert_int_equal(u->idle_timeout_ms, 3000);
    assert_int_equal(u->max_connections, 64);
    assert_int_equal(u->max_connections_per_host, 16);
    assert_true(u->decode_aws_chunked);

    const struct config_credentials *cr = &cfg->credential_sets[0];
    assert_int_equal(cr->nchain, 6);
    assert_int_equal(cr->chain[0].source, CONFIG_CRED_ENV);
    assert_int_equal(cr->chain[1].source, CONFIG_CRED_STATIC);
    assert_string_equal(cr->chain[1].access_key_id, "AKIAPROXYSTATIC0001");
    assert_string_equal(cr->chain[1].secret_access_key, "proxysecretproxysecretproxysecret0000001");
    assert_int_equal(cr->chain[2].source, CONFIG_CRED_PROFILE);
    assert_string_equal(cr->chain[2].profile, "s3w");
    assert_int_equal(cr->chain[3].source, CONFIG_CRED_IMDS);
    assert_string_equal(cr->chain[3].endpoint, "http://127.0.0.1:9911");
    assert_int_equal(cr->chain[4].source, CONFIG_CRED_ECS);
    assert_int_equal(cr->chain[5].source, CONFIG_CRED_WEB_IDENTITY);
    assert_string_equal(cr->chain[5].role_arn, "arn:aws:iam::111111111111:role/proxy");
    assert_true(cr->assume_role.enabled);
    assert_string_equal(cr->assume_role.external_id, "ext-1");
    assert_string_equal(cr->assume_role.session_name, "s3warden"); /* default */
    assert_int_equal(cr->assume_role.duration_seconds, 1800);
    assert_int_equal(cr->refresh_before_seconds, 600);

    assert_int_equal(cfg->naccounts, 3);
    assert_string_equal(cfg->accounts[0].root_arn, "arn:aws:iam::111111111111:root");
    assert_int_equal(cfg->accounts[0].nkeys, 1);

    assert_int_equal(cfg->nusers, 2);
    const struct config_user *dave = &cfg->users[0];
    assert_string_equal(dave->arn, "arn:aws:iam::333333333333:user/Dave");
    assert_string_equal(dave->path, "/");
    assert_int_equal(dave->nkeys, 2);
    assert_true(dave->keys[0].active);
    assert_false(dave->keys[1].active);
    assert_string_equal(dave->keys[1].secret, "davesecondsecretdavesecondsecretdave0002");
    assert_int_equal(dave->ntags, 2);
    assert_string_equal(dave->tags[0].key, "team");
    assert_string_equal(dave->tags[0].context_key, "aws:PrincipalTag/team");
    assert_int_equal(dave->npolicies, 1);
    assert_string_equal(dave->policies[0].name, "assume-examplerole");
    assert_non_null(dave->policies[0].compiled);
    assert_ptr_equal(dave->policy_ptrs[0], dave->policies[0].compiled);
    assert_null(dave->boundary);
    const struct config_user *alice = &cfg->users[1];
    assert_string_equal(alice->arn, "arn:aws:iam::111111111111:user/engineering/alice");
    /* secret_file: trailing newline trimmed */
    assert_string_equal(alice->keys[0].secret, "alicesecretalicesecretalicesecretalice01");
    assert_non_null(alice->boundary);
    assert_non_null(alice->policies[0].compiled);

    assert_int_equal(cfg->nroles, 2);
    assert_string_equal(cfg->roles[0].arn, "arn:aws:iam::111111111111:role/examplerole");
    assert_int_equal(cfg->roles[0].max_session_duration, 7200);
    assert_non_null(cfg->roles[0].trust_policy);
    assert_string_equal(cfg->roles[1].arn, "arn:aws:iam::111111111111:role/service/ec2role");
    assert_int_equal(cfg->roles[1].max_session_duration, 3600); /* default */

    assert_int_equal(cfg->nrole_sessions, 1);
    const struct config_role_session *rs = &cfg->role_sessions[0];
    assert_ptr_equal(rs->role, &cfg->roles[1]);
    assert_string_equal(rs->arn, "arn:aws:sts::111111111111:assumed-role/ec2role/i-0123456789abcdef0");
    assert_string_equal(rs->userid, "AROAEC2ROLE00000001:i-0123456789abcdef0");

    assert_int_equal(cfg->nbuckets, 2);
    assert_string_equal(cfg->buckets[0].upstream_name, "real-examplebucket");
    assert_non_null(cfg->buckets[0].policy);
    assert_string_equal(cfg->buckets[1].upstream_name, "plainbucket"); /* default = name */
    assert_null(cfg->buckets[1].policy);

    assert_int_equal(cfg->nguardrails, 1);
    assert_ptr_equal(cfg->guardrail_ptrs[0], cfg->guardrails[0].compiled);

    assert_int_equal(cfg->audit.kind, CONFIG_AUDIT_FILE);
    assert_non_null(strstr(cfg->audit.path, "good/audit.log"));
    assert_int_equal(cfg->limits.max_connections, 100);
    assert_int_equal(cfg->limits.max_header_bytes, 16384);
    assert_int_equal(cfg->limits.header_timeout_ms, 5000);
    assert_int_equal(cfg->limits.body_idle_timeout_ms, 7000);

    assert_true(cfg->sts.enabled);
    assert_int_equal(cfg->sts.default_duration_seconds, 1800);
    assert_int_equal(cfg->sts.nkeys, 2);
    assert_int_equal(cfg->sts.active, 0);
    assert_string_equal(cfg->sts.keys[0].id, "k2");
    assert_int_equal(cfg->sts.keys[0].key[0], 0x00);
    assert_int_equal(cfg->sts.keys[0].key[31], 0xff);
    assert_int_equal(cfg->sts.keys[1].key[0], 0xff); /* from key_file, hex */
    assert_false(cfg->sts.keys[1].active);

    config_unref(cfg);
}

static void test_lookups(void **state)
{
    (void)state;
    setenv("S3W_TEST_DAVE_SECRET", "davesecondsecretdavesecondsecretdave0002", 1);
    struct config *cfg = load_ok("tests/unit/config/good/full.json");
    assert_ptr_equal(config_find_bucket(cfg, S3W_SLICE_LIT("examplebucket")), &cfg->buckets[0]);
    assert_ptr_equal(config_find_bucket(cfg, S3W_SLICE_LIT("plainbucket")), &cfg->buckets[1]);
    assert_null(config_find_bucket(cfg, S3W_SLICE_LIT("examplebucke")));
    assert_null(config_find_bucket(cfg, S3W_SLICE_LIT("ExampleBucket"))); /* exact */
    assert_null(config_find_bucket(cfg, S3W_SLICE_LIT("")));
    assert_ptr_equal(config_find_role_arn(cfg, S3W_SLICE_LIT("arn:aws:iam::111111111111:role/examplerole")),
                     &cfg->roles[0]);
    assert_null(config_find_role_arn(cfg, S3W_SLICE_LIT("arn:aws:iam::111111111111:role/ec2role")));
    assert_ptr_equal(config_find_account(cfg, S3W_SLICE_LIT("333333333333")), &cfg->accounts[2]);
    assert_null(config_find_account(cfg, S3W_SLICE_LIT("444444444444")));
    config_unref(cfg);
}

static void test_refcount(void **state)
{
    (void)state;
    setenv("S3W_TEST_DAVE_SECRET", "davesecondsecretdavesecondsecretdave0002", 1);
    struct config *cfg = load_ok("tests/unit/config/good/full.json");
    assert_int_equal(cfg->refs, 1);
    assert_ptr_equal(config_ref(cfg), cfg);
    assert_int_equal(cfg->refs, 2);
    config_unref(cfg);
    assert_int_equal(cfg->refs, 1);
    /* still usable: an in-flight request keeps its snapshot */
    assert_non_null(config_find_bucket(cfg, S3W_SLICE_LIT("examplebucket")));
    config_unref(cfg); /* frees (ASan checks no leak and no double free) */
    config_unref(NULL);
}

static void test_minimal_defaults(void **state)
{
    (void)state;
    static const char json[] = "{\"listeners\":[{\"address\":\"0.0.0.0\",\"port\":9000}],"
                               "\"upstream\":{\"endpoint\":\"https://s3.amazonaws.com\","
                               "\"region\":\"eu-west-1\"}}";
    struct config_errors errs;
    config_errors_init(&errs);
    struct config *cfg = NULL;
    assert_int_equal(config_load_buffer("min.json", json, sizeof json - 1, NULL, &cfg, &errs),
                     CONFIG_OK);
    assert_int_equal(cfg->upstream->addressing, CONFIG_ADDRESSING_PATH);
    assert_true(cfg->upstream->tls_verify);
    assert_int_equal(cfg->upstream->connect_timeout_ms, 5000);
    assert_false(cfg->upstream->decode_aws_chunked);
    /* no credentials section: env, profile, ecs, imds like the SDKs */
    assert_int_equal(cfg->credential_sets[0].nchain, 4);
    assert_int_equal(cfg->credential_sets[0].chain[0].source, CONFIG_CRED_ENV);
    assert_int_equal(cfg->credential_sets[0].chain[3].source, CONFIG_CRED_IMDS);
    assert_false(cfg->credential_sets[0].assume_role.enabled);
    assert_int_equal(cfg->audit.kind, CONFIG_AUDIT_STDOUT);
    assert_false(cfg->sts.enabled);
    assert_int_equal(cfg->limits.max_header_bytes, 65536);
    config_unref(cfg);
    config_errors_cleanup(&errs);
}

static void test_examples_load(void **state)
{
    (void)state;
    static const char *const ex[] = {
        "deploy/examples/seed000-ec2-instance-role.json",
        "deploy/examples/seed001-cross-account-role.json",
        "deploy/examples/seed002-restrict-to-role.json",
        "deploy/examples/seed003-assume-role-cross-account.json",
        "deploy/examples/seed004-delegate-to-account.json",
    };
    for (size_t i = 0; i < sizeof ex / sizeof ex[0]; i++) {
        struct config *cfg = load_ok(ex[i]);
        assert_true(cfg->nbuckets >= 1);
        config_unref(cfg);
    }
}

/* Policy engine warnings are kept on the snapshot with their config path;
 * trust-policy condition keys of STS are not warned about. */
static void test_warnings(void **state)
{
    (void)state;
    static const char json[] =
        "{\"listeners\":[{\"address\":\"127.0.0.1\",\"port\":1}],"
        "\"upstream\":{\"endpoint\":\"http://127.0.0.1:2\",\"region\":\"us-east-1\"},"
        "\"accounts\":[{\"id\":\"111111111111\"}],"
        "\"roles\":[{\"account\":\"111111111111\",\"name\":\"r\",\"unique_id\":\"AROAROLER0000000001\","
        "\"trust_policy\":{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
        "\"Principal\":{\"AWS\":\"111111111111\"},\"Action\":\"sts:AssumeRole\","
        "\"Condition\":{\"StringEquals\":{\"sts:ExternalId\":\"x1\"}}}]}}],"
        "\"buckets\":[{\"name\":\"b-one\",\"account\":\"111111111111\",\"policy\":"
        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"NotPrincipal\":"
        "{\"AWS\":\"111111111111\"},\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::b-one/*\"}]}}]}";
    struct config_errors errs;
    config_errors_init(&errs);
    struct config *cfg = NULL;
    assert_int_equal(config_load_buffer("w.json", json, sizeof json - 1, NULL, &cfg, &errs),
                     CONFIG_OK);
    assert_non_null(cfg->warnings);
    assert_int_equal(cfg->warnings->n, 1);
    assert_string_equal(cfg->warnings->items[0].path, "buckets[0].policy.Statement[0].NotPrincipal");
    assert_string_equal(cfg->warnings->items[0].message,
                        "NotPrincipal with Allow grants to everyone not listed, anonymous callers "
                        "included; AWS strongly advises against it");
    config_unref(cfg);
    config_errors_cleanup(&errs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_config_fields),
        cmocka_unit_test(test_lookups),
        cmocka_unit_test(test_refcount),
        cmocka_unit_test(test_minimal_defaults),
        cmocka_unit_test(test_examples_load),
        cmocka_unit_test(test_warnings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
