/* Several upstreams (issue 14): "upstreams", "credential_sets",
 * "default_upstream", buckets[].upstream and audit.sinks[].upstream load
 * into the right pointers and indices; the legacy "upstream" +
 * "credentials" is the upstream and the credential set named "default";
 * lookups of an upstream bucket are per upstream; unused upstreams and
 * credential sets are warned about; an upstream's "operations" names the
 * ones it takes (config_upstream_takes); the worked examples of docs/config.md
 * (docs/examples/multi-upstream-*.json) load. Refusals, each with its exact
 * path and message, are fixtures in bad/ (generate.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "s3ops.h"

static struct config *load_text(const char *json)
{
    struct config_errors errs;
    config_errors_init(&errs);
    struct config *cfg = NULL;
    int rc = config_load_buffer("u.json", json, strlen(json), NULL, &cfg, &errs);
    for (size_t i = 0; i < errs.n; i++)
        fprintf(stderr, "%s\n", errs.items[i].text);
    assert_int_equal(rc, CONFIG_OK);
    assert_int_equal(errs.n, 0);
    config_errors_cleanup(&errs);
    return cfg;
}

static const struct s3map_op *op(const char *name)
{
    const struct s3map_op *o = s3map_op_by_name(s3w_slice_cstr(name));
    assert_non_null(o);
    return o;
}

static const struct config_bucket *bucket(const struct config *cfg, const char *name)
{
    const struct config_bucket *b = config_find_bucket(cfg, s3w_slice_cstr(name));
    assert_non_null(b);
    return b;
}

#define HEAD                                                                     \
    "{\"listeners\": [{\"address\": \"127.0.0.1\", \"port\": 8080}],"            \
    " \"accounts\": [{\"id\": \"111111111111\"}, {\"id\": \"222222222222\"}],"

/* Three stores: rgw with its own chain, moto and aws-eu sharing the set
 * "partner-role", aws-us on the top-level credentials (no "credentials"),
 * archive on "spare"... which is also unused, as is the set "unused". */
static const char two_stores[] = HEAD
    " \"credentials\": {\"chain\": [{\"type\": \"env\"}]},"
    " \"upstreams\": ["
    "  {\"name\": \"rgw\", \"endpoint\": \"http://127.0.0.1:7480\", \"region\": \"us-east-1\","
    "   \"max_connections\": 64, \"readiness\": \"required\","
    "   \"credentials\": {\"chain\": [{\"type\": \"static\", \"access_key_id\": \"RGWKEY0000000001\","
    "                                \"secret\": \"rgwsecretrgwsecretrgwsecret0001\"}],"
    "                     \"refresh_before_seconds\": 600}},"
    "  {\"name\": \"moto\", \"endpoint\": \"http://127.0.0.1:5000\", \"region\": \"eu-west-1\","
    "   \"addressing\": \"virtual\", \"credentials\": \"partner-role\", \"readiness\": \"optional\"},"
    "  {\"name\": \"aws-eu\", \"endpoint\": \"https://s3.eu-west-1.amazonaws.com\","
    "   \"region\": \"eu-west-1\", \"credentials\": \"partner-role\"},"
    "  {\"name\": \"aws-us\", \"endpoint\": \"https://s3.us-east-1.amazonaws.com\","
    "   \"region\": \"us-east-1\"},"
    "  {\"name\": \"archive\", \"endpoint\": \"https://s3.us-west-2.amazonaws.com\","
    "   \"region\": \"us-west-2\", \"credentials\": \"default\"}],"
    " \"credential_sets\": ["
    "  {\"name\": \"partner-role\", \"chain\": [{\"type\": \"imds\"}],"
    "   \"assume_role\": {\"role_arn\": \"arn:aws:iam::222222222222:role/s3warden\"}},"
    "  {\"name\": \"unused\", \"chain\": [{\"type\": \"env\"}]}],"
    " \"default_upstream\": \"rgw\","
    " \"buckets\": ["
    "  {\"name\": \"lake\", \"account\": \"111111111111\", \"upstream_name\": \"data\"},"
    "  {\"name\": \"shared\", \"account\": \"222222222222\", \"upstream_name\": \"data\","
    "   \"upstream\": \"moto\"},"
    "  {\"name\": \"eu-logs\", \"account\": \"111111111111\", \"upstream\": \"aws-eu\"},"
    "  {\"name\": \"plain\", \"account\": \"111111111111\", \"upstream\": \"rgw\"}],"
    " \"audit\": {\"format\": \"cloudtrail\", \"account_id\": \"111111111111\","
    "  \"sinks\": [{\"type\": \"s3\", \"bucket\": \"trail\", \"spool_dir\": \"/tmp/s1\","
    "              \"upstream\": \"aws-us\", \"expected_bucket_owner\": \"111111111111\"},"
    "             {\"type\": \"s3\", \"bucket\": \"trail2\", \"spool_dir\": \"/tmp/s2\","
    "              \"expected_bucket_owner\": \"111111111111\"}]}}";

static void test_upstreams_and_sets(void **state)
{
    (void)state;
    struct config *cfg = load_text(two_stores);
    assert_int_equal(cfg->nupstreams, 5);
    const struct config_upstream *rgw = &cfg->upstreams[0], *moto = &cfg->upstreams[1],
                                 *eu = &cfg->upstreams[2], *us = &cfg->upstreams[3],
                                 *archive = &cfg->upstreams[4];
    assert_string_equal(rgw->name, "rgw");
    assert_string_equal(moto->name, "moto");
    assert_string_equal(archive->name, "archive");
    assert_ptr_equal(cfg->upstream, rgw);
    /* every field of "upstream", with its defaults */
    assert_string_equal(moto->endpoint, "http://127.0.0.1:5000");
    assert_string_equal(moto->region, "eu-west-1");
    assert_int_equal(moto->addressing, CONFIG_ADDRESSING_VIRTUAL);
    assert_int_equal(rgw->addressing, CONFIG_ADDRESSING_PATH);
    assert_int_equal(rgw->max_connections, 64);
    assert_int_equal(rgw->max_connections_per_identity, 16);
    assert_int_equal(moto->max_connections, 512);
    assert_int_equal(moto->connect_timeout_ms, 5000);
    assert_true(moto->tls_verify);
    assert_int_equal(rgw->readiness, CONFIG_READINESS_REQUIRED);
    assert_int_equal(moto->readiness, CONFIG_READINESS_OPTIONAL);
    assert_int_equal(eu->readiness, CONFIG_READINESS_REQUIRED);

    /* sets: default (top level), the named ones, then the upstreams' own */
    assert_int_equal(cfg->ncredential_sets, 4);
    assert_string_equal(cfg->credential_sets[0].name, "default");
    assert_int_equal(cfg->credential_sets[0].nchain, 1);
    assert_int_equal(cfg->credential_sets[0].chain[0].source, CONFIG_CRED_ENV);
    assert_string_equal(cfg->credential_sets[1].name, "partner-role");
    assert_true(cfg->credential_sets[1].assume_role.enabled);
    assert_string_equal(cfg->credential_sets[1].assume_role.role_arn,
                        "arn:aws:iam::222222222222:role/s3warden");
    assert_string_equal(cfg->credential_sets[1].assume_role.session_name, "s3warden");
    assert_string_equal(cfg->credential_sets[2].name, "unused");
    assert_string_equal(cfg->credential_sets[3].name, "upstream:rgw");
    assert_int_equal(cfg->credential_sets[3].chain[0].source, CONFIG_CRED_STATIC);
    assert_string_equal(cfg->credential_sets[3].chain[0].access_key_id, "RGWKEY0000000001");
    assert_int_equal(cfg->credential_sets[3].refresh_before_seconds, 600);
    assert_int_equal(rgw->credentials, 3);
    assert_int_equal(moto->credentials, 1);
    assert_int_equal(eu->credentials, 1); /* one set, shared */
    assert_int_equal(us->credentials, 0);
    assert_int_equal(archive->credentials, 0);

    /* buckets: their upstream, the default one when they name none */
    assert_ptr_equal(bucket(cfg, "lake")->upstream, rgw);
    assert_ptr_equal(bucket(cfg, "shared")->upstream, moto);
    assert_ptr_equal(bucket(cfg, "eu-logs")->upstream, eu);
    assert_ptr_equal(bucket(cfg, "plain")->upstream, rgw);
    assert_ptr_equal(cfg->audit.sinks[0].upstream, us);
    assert_ptr_equal(cfg->audit.sinks[1].upstream, rgw);

    /* one upstream bucket name on two upstreams: two buckets */
    assert_ptr_equal(config_find_bucket_upstream(cfg, rgw, s3w_slice_cstr("data")),
                     bucket(cfg, "lake"));
    assert_ptr_equal(config_find_bucket_upstream(cfg, moto, s3w_slice_cstr("data")),
                     bucket(cfg, "shared"));
    assert_null(config_find_bucket_upstream(cfg, eu, s3w_slice_cstr("data")));
    assert_null(config_find_bucket_upstream(cfg, rgw, s3w_slice_cstr("shared")));
    assert_ptr_equal(config_find_bucket_upstream(cfg, eu, s3w_slice_cstr("eu-logs")),
                     bucket(cfg, "eu-logs"));
    assert_null(config_find_bucket_upstream(cfg, rgw, s3w_slice_cstr("eu-logs")));

    assert_ptr_equal(config_find_upstream(cfg, s3w_slice_cstr("moto")), moto);
    assert_ptr_equal(config_find_upstream(cfg, s3w_slice_cstr("archive")), archive);
    assert_null(config_find_upstream(cfg, s3w_slice_cstr("default")));
    assert_null(config_find_upstream(cfg, s3w_slice_cstr("mot")));
    assert_null(config_find_upstream(cfg, s3w_slice_cstr("MOTO")));

    /* archive: nothing uses it; "unused": no upstream uses it */
    assert_non_null(cfg->warnings);
    assert_int_equal(cfg->warnings->n, 2);
    assert_string_equal(cfg->warnings->items[0].path, "upstreams[4]");
    assert_string_equal(cfg->warnings->items[0].message,
                        "no bucket or audit sink names upstream archive, and it is not the "
                        "default upstream (rgw): nothing is sent to it");
    assert_string_equal(cfg->warnings->items[1].path, "credential_sets[1]");
    assert_string_equal(cfg->warnings->items[1].message,
                        "no upstream uses credential set unused");
    config_unref(cfg);
}

/* The legacy "upstream" beside "upstreams": it is "default", with the
 * top-level credentials (here the SDKs' chain), and the default upstream
 * unless default_upstream says otherwise. */
static void test_legacy_beside_upstreams(void **state)
{
    (void)state;
    static const char json[] = HEAD
        " \"upstream\": {\"endpoint\": \"https://s3.us-west-2.amazonaws.com\", \"region\": \"us-west-2\"},"
        " \"upstreams\": [{\"name\": \"onprem\", \"endpoint\": \"https://minio.example.net:9000\","
        "   \"region\": \"us-east-1\", \"credentials\": {\"chain\": [{\"type\": \"profile\","
        "   \"profile\": \"minio\"}]}}],"
        " \"buckets\": [{\"name\": \"cloud\", \"account\": \"111111111111\"},"
        "              {\"name\": \"local\", \"account\": \"111111111111\", \"upstream\": \"onprem\"},"
        "              {\"name\": \"local2\", \"account\": \"111111111111\", \"upstream\": \"default\"}]}";
    struct config *cfg = load_text(json);
    assert_int_equal(cfg->nupstreams, 2);
    assert_string_equal(cfg->upstreams[0].name, "default");
    assert_string_equal(cfg->upstreams[0].region, "us-west-2");
    assert_ptr_equal(cfg->upstream, &cfg->upstreams[0]);
    assert_int_equal(cfg->upstreams[0].credentials, 0);
    assert_int_equal(cfg->upstreams[1].credentials, 1);
    assert_int_equal(cfg->ncredential_sets, 2);
    assert_string_equal(cfg->credential_sets[0].name, "default");
    assert_int_equal(cfg->credential_sets[0].nchain, 4); /* the SDKs' chain */
    assert_string_equal(cfg->credential_sets[1].name, "upstream:onprem");
    assert_ptr_equal(bucket(cfg, "cloud")->upstream, &cfg->upstreams[0]);
    assert_ptr_equal(bucket(cfg, "local")->upstream, &cfg->upstreams[1]);
    assert_ptr_equal(bucket(cfg, "local2")->upstream, &cfg->upstreams[0]);
    assert_null(cfg->warnings);
    config_unref(cfg);

    /* default_upstream picks the other one; "default" is then unused */
    char moved[sizeof json + 64];
    snprintf(moved, sizeof moved, "%.*s, \"default_upstream\": \"onprem\"}", (int)(sizeof json - 2),
             json);
    cfg = load_text(moved);
    assert_ptr_equal(cfg->upstream, &cfg->upstreams[1]);
    assert_ptr_equal(bucket(cfg, "cloud")->upstream, &cfg->upstreams[1]);
    assert_ptr_equal(bucket(cfg, "local2")->upstream, &cfg->upstreams[0]);
    assert_null(cfg->warnings); /* local2 uses "default" */
    config_unref(cfg);
}

/* One "upstreams" entry and no default_upstream: it is the default; a
 * legacy config is one upstream named "default" on credential set 0, and
 * warns about nothing new. */
static void test_single_and_legacy(void **state)
{
    (void)state;
    static const char one[] = HEAD
        " \"credentials\": {\"chain\": [{\"type\": \"env\"}]},"
        " \"upstreams\": [{\"name\": \"only\", \"endpoint\": \"http://127.0.0.1:9000\","
        "                  \"region\": \"eu-central-1\"}],"
        " \"buckets\": [{\"name\": \"bkt1\", \"account\": \"111111111111\"}]}";
    struct config *cfg = load_text(one);
    assert_int_equal(cfg->nupstreams, 1);
    assert_ptr_equal(cfg->upstream, &cfg->upstreams[0]);
    assert_string_equal(cfg->upstream->region, "eu-central-1");
    assert_int_equal(cfg->upstream->credentials, 0);
    assert_ptr_equal(bucket(cfg, "bkt1")->upstream, cfg->upstream);
    assert_null(cfg->warnings);
    /* no "operations", not AWS S3: all but the writes few stores implement
     * (a store that does not may run them as another: moto empties the
     * object for a RenameObject, deletes the bucket for DELETE ?metrics) */
    static const char *const rare[] = { "RenameObject", "UpdateObjectEncryption",
                                        "DeleteBucketMetricsConfiguration", "PutBucketAbac",
                                        "CreateBucketMetadataTableConfiguration",
                                        "PutBucketRequestPayment" };
    static const char *const usual[] = { "GetObject", "PutObject", "DeleteBucket",
                                         "GetBucketMetricsConfiguration", "PutBucketTagging",
                                         "CompleteMultipartUpload" };
    assert_true(cfg->upstream->ops_default);
    for (size_t i = 0; i < 6; i++) {
        if (config_upstream_takes(cfg->upstream, op(rare[i])))
            fail_msg("%s taken by default", rare[i]);
        if (!config_upstream_takes(cfg->upstream, op(usual[i])))
            fail_msg("%s not taken by default", usual[i]);
    }
    config_unref(cfg);
    /* AWS S3: every operation */
    static const char aws_s3[] = HEAD
        " \"upstream\": {\"endpoint\": \"https://s3.eu-central-1.amazonaws.com\","
        "  \"region\": \"eu-central-1\"},"
        " \"buckets\": [{\"name\": \"bkt1\", \"account\": \"111111111111\"}]}";
    cfg = load_text(aws_s3);
    assert_false(cfg->upstream->ops_limited);
    for (size_t i = 0; i < 6; i++)
        assert_true(config_upstream_takes(cfg->upstream, op(rare[i])));
    config_unref(cfg);

    /* "operations": names and patterns; the others are not taken */
    static const char some[] = HEAD
        " \"upstream\": {\"endpoint\": \"http://127.0.0.1:9000\", \"region\": \"us-east-1\","
        "  \"operations\": [\"Get*\", \"PutObject\", \"ListObjects?2\"]},"
        " \"buckets\": [{\"name\": \"bkt1\", \"account\": \"111111111111\"}]}";
    cfg = load_text(some);
    assert_true(cfg->upstream->ops_limited);
    assert_false(cfg->upstream->ops_default);
    static const char *const yes[] = { "GetObject", "GetObjectRetention", "GetBucketAcl",
                                       "PutObject", "ListObjectsV2" };
    static const char *const no[] = { "PutObjectAcl", "ListObjects", "DeleteBucket",
                                      "DeleteBucketMetricsConfiguration", "HeadObject" };
    for (size_t i = 0; i < 5; i++) {
        if (!config_upstream_takes(cfg->upstream, op(yes[i])))
            fail_msg("%s not taken", yes[i]);
        if (config_upstream_takes(cfg->upstream, op(no[i])))
            fail_msg("%s taken", no[i]);
    }
    config_unref(cfg);

    static const char legacy[] = HEAD
        " \"upstream\": {\"endpoint\": \"http://127.0.0.1:9000\", \"region\": \"us-east-1\"},"
        " \"credentials\": {\"chain\": [{\"type\": \"env\"}]},"
        " \"buckets\": [{\"name\": \"bkt1\", \"account\": \"111111111111\"}],"
        " \"audit\": {\"format\": \"cloudtrail\", \"account_id\": \"111111111111\","
        "  \"sinks\": [{\"type\": \"s3\", \"bucket\": \"trail\", \"spool_dir\": \"/tmp/s1\"}]}}";
    cfg = load_text(legacy);
    assert_int_equal(cfg->nupstreams, 1);
    assert_int_equal(cfg->ncredential_sets, 1);
    assert_string_equal(cfg->upstream->name, "default");
    assert_int_equal(cfg->upstream->readiness, CONFIG_READINESS_REQUIRED);
    assert_ptr_equal(cfg->audit.sinks[0].upstream, cfg->upstream);
    assert_ptr_equal(config_find_bucket_upstream(cfg, cfg->upstream, s3w_slice_cstr("bkt1")),
                     bucket(cfg, "bkt1"));
    /* the one warning: a sink without expected_bucket_owner */
    assert_non_null(cfg->warnings);
    assert_int_equal(cfg->warnings->n, 1);
    assert_string_equal(cfg->warnings->items[0].path, "audit.sinks[0]");
    assert_string_equal(cfg->warnings->items[0].message,
                        "has no expected_bucket_owner: S3 stores the records in a bucket of that "
                        "name whichever account owns it; set it to the 12-digit id of the "
                        "account that owns the bucket");
    config_unref(cfg);
}

/* The top-level "credentials" given while every upstream names its own:
 * a warning, at "credentials". Without a top-level "credentials", an
 * unused "default" (the SDKs' chain) is no warning. */
static void test_unused_top_level_credentials(void **state)
{
    (void)state;
    static const char json[] = HEAD
        " \"credentials\": {\"chain\": [{\"type\": \"env\"}]},"
        " \"upstreams\": [{\"name\": \"a\", \"endpoint\": \"http://127.0.0.1:9000\","
        "  \"region\": \"us-east-1\", \"credentials\": {\"chain\": [{\"type\": \"imds\"}]}}]}";
    struct config *cfg = load_text(json);
    assert_non_null(cfg->warnings);
    assert_int_equal(cfg->warnings->n, 1);
    assert_string_equal(cfg->warnings->items[0].path, "credentials");
    assert_string_equal(cfg->warnings->items[0].message, "no upstream uses credential set default");
    config_unref(cfg);

    static const char sdk[] = HEAD
        " \"upstreams\": [{\"name\": \"a\", \"endpoint\": \"http://127.0.0.1:9000\","
        "  \"region\": \"us-east-1\", \"credentials\": {\"chain\": [{\"type\": \"imds\"}]}}]}";
    cfg = load_text(sdk);
    assert_null(cfg->warnings);
    config_unref(cfg);
}

/* The worked examples of docs/config.md load, with no warning, and are
 * what they say they are. */
static struct config *load_example(const char *name)
{
    const char *root = getenv("S3W_SOURCE_ROOT");
    char path[4096];
    snprintf(path, sizeof path, "%s/docs/examples/%s", root ? root : ".", name);
    struct config_errors errs;
    config_errors_init(&errs);
    struct config *cfg = NULL;
    int rc = config_load(path, &cfg, &errs);
    for (size_t i = 0; i < errs.n; i++)
        fprintf(stderr, "%s\n", errs.items[i].text);
    assert_int_equal(rc, CONFIG_OK);
    for (size_t i = 0; cfg->warnings && i < cfg->warnings->n; i++)
        fprintf(stderr, "warning: %s\n", cfg->warnings->items[i].text);
    assert_null(cfg->warnings);
    config_errors_cleanup(&errs);
    return cfg;
}

static void test_docs_examples(void **state)
{
    (void)state;
    /* the client keys' secrets the examples take from the environment */
    static const char *const vars[] = { "S3W_ANALYST_SECRET", "S3W_RGW_SECRET",
                                        "S3W_BACKUP_SECRET", "S3W_ETL_SECRET" };
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
        setenv(vars[i], "exampleexampleexampleexample01", 1);
    /* one AWS account, two regions, one chain */
    struct config *cfg = load_example("multi-upstream-two-regions.json");
    assert_int_equal(cfg->nupstreams, 2);
    assert_string_not_equal(cfg->upstreams[0].region, cfg->upstreams[1].region);
    assert_int_equal(cfg->upstreams[0].credentials, cfg->upstreams[1].credentials);
    config_unref(cfg);

    /* AWS and an on-prem store, each with its own chain */
    cfg = load_example("multi-upstream-aws-onprem.json");
    assert_int_equal(cfg->nupstreams, 2);
    assert_int_not_equal(cfg->upstreams[0].credentials, cfg->upstreams[1].credentials);
    config_unref(cfg);

    /* two AWS accounts, each through a role the proxy assumes */
    cfg = load_example("multi-upstream-two-accounts.json");
    assert_int_equal(cfg->nupstreams, 2);
    for (size_t i = 0; i < cfg->nupstreams; i++) {
        const struct config_credentials *cr =
            &cfg->credential_sets[cfg->upstreams[i].credentials];
        assert_true(cr->assume_role.enabled);
    }
    assert_int_not_equal(cfg->upstreams[0].credentials, cfg->upstreams[1].credentials);
    config_unref(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upstreams_and_sets),
        cmocka_unit_test(test_legacy_beside_upstreams),
        cmocka_unit_test(test_single_and_legacy),
        cmocka_unit_test(test_unused_top_level_credentials),
        cmocka_unit_test(test_docs_examples),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
