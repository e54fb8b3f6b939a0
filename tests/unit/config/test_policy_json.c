/* Unit tests for struct config_bucket.policy_json (config/load.c): the
 * source text of each bucket policy, which GetBucketPolicy answers - a
 * policy_file's bytes exactly as written, an inline object printed without
 * whitespace, NULL for a bucket without a policy; identity policies leave
 * nothing behind (ASan's leak check in the sanitizer build). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

static char dir[64];
static char file_path[128];

/* written with the blanks, newlines and key order a human leaves in a file */
static const char FILE_POLICY[] =
    "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\n"
    "      \"Sid\":   \"FromFile\",\n      \"Effect\": \"Allow\",\n"
    "      \"Principal\": {\"AWS\": \"arn:aws:iam::222222222222:root\"},\n"
    "      \"Action\": \"s3:GetObject\",\n      \"Resource\": \"arn:aws:s3:::filed/*\"\n"
    "    }\n  ]\n}\n";

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/s3w-policyjson-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(file_path, sizeof file_path, "%s/bucket-policy.json", dir);
    FILE *f = fopen(file_path, "wb");
    if (!f)
        return -1;
    fwrite(FILE_POLICY, 1, sizeof FILE_POLICY - 1, f);
    fclose(f);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(file_path);
    rmdir(dir);
    return 0;
}

static struct config *load(const char *buckets, int want_rc, struct config_errors *errs)
{
    char json[4096];
    snprintf(json, sizeof json,
             "{\"listeners\":[{\"address\":\"127.0.0.1\",\"port\":8080}],"
             "\"upstream\":{\"endpoint\":\"http://127.0.0.1:5000\",\"region\":\"us-east-1\"},"
             "\"credentials\":{\"chain\":[{\"type\":\"static\",\"access_key_id\":\"AKIAPROXYTEST000001\","
             "\"secret\":\"proxysecretproxysecretproxysecret0000001\"}]},"
             "\"accounts\":[{\"id\":\"111111111111\"},{\"id\":\"222222222222\"}],"
             "\"users\":[{\"account\":\"111111111111\",\"name\":\"u\",\"unique_id\":\"AIDAPOLICYJSON00001\","
             "\"access_keys\":[{\"id\":\"AKIAPOLICYJSONTEST01\",\"secret\":\"policyJsonSecret/0123456789abcdefghijkl\"}],"
             "\"policies\":[{\"name\":\"all\",\"document\":{\"Version\":\"2012-10-17\","
             "\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"}]}}]}],"
             "\"buckets\":[%s]}",
             buckets);
    config_errors_init(errs);
    struct config *cfg = NULL;
    int rc = config_load_buffer("test", json, strlen(json), dir, &cfg, errs);
    if (rc != want_rc)
        for (size_t i = 0; i < errs->n; i++)
            fprintf(stderr, "%s\n", errs->items[i].text);
    assert_int_equal(rc, want_rc);
    return cfg;
}

static void test_inline_file_and_none(void **state)
{
    (void)state;
    struct config_errors errs;
    struct config *cfg = load(
        "{\"name\":\"inline\",\"account\":\"111111111111\",\"policy\":"
        "{ \"Version\" : \"2012-10-17\",\n \"Statement\" : [ { \"Sid\" : \"In Line\", "
        "\"Effect\" : \"Deny\", \"Principal\" : \"*\", \"Action\" : \"s3:PutObject\", "
        "\"Resource\" : \"arn:aws:s3:::inline/*\" } ] } },"
        "{\"name\":\"filed\",\"account\":\"111111111111\",\"policy_file\":\"bucket-policy.json\"},"
        "{\"name\":\"bare\",\"account\":\"111111111111\"}",
        CONFIG_OK, &errs);
    assert_non_null(cfg);
    assert_int_equal(cfg->nbuckets, 3);
    /* inline: the object without whitespace, keys in the order written;
     * the blank inside the Sid value is data and stays */
    assert_non_null(cfg->buckets[0].policy);
    assert_string_equal(cfg->buckets[0].policy_json,
                        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"In Line\","
                        "\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:PutObject\","
                        "\"Resource\":\"arn:aws:s3:::inline/*\"}]}");
    /* policy_file: byte for byte, trailing newline included */
    assert_non_null(cfg->buckets[1].policy);
    assert_string_equal(cfg->buckets[1].policy_json, FILE_POLICY);
    assert_int_equal(strlen(cfg->buckets[1].policy_json), sizeof FILE_POLICY - 1);
    /* no policy, no text */
    assert_null(cfg->buckets[2].policy);
    assert_null(cfg->buckets[2].policy_json);
    config_unref(cfg);
    config_errors_cleanup(&errs);
}

/* A bucket policy that does not compile fails the load; the text kept for
 * it is released with the rest (no leak under ASan). */
static void test_invalid_policy_releases_text(void **state)
{
    (void)state;
    struct config_errors errs;
    struct config *cfg = load(
        "{\"name\":\"good\",\"account\":\"111111111111\",\"policy_file\":\"bucket-policy.json\"},"
        "{\"name\":\"badpol\",\"account\":\"111111111111\",\"policy\":{\"Version\":\"2012-10-17\","
        "\"Statement\":[{\"Effect\":\"Perhaps\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\","
        "\"Resource\":\"arn:aws:s3:::badpol/*\"}]}}",
        CONFIG_E_INVALID, &errs);
    assert_null(cfg);
    assert_true(errs.n >= 1);
    bool named = false;
    for (size_t i = 0; i < errs.n; i++)
        named |= strstr(errs.items[i].path, "buckets[1].policy") != NULL;
    assert_true(named);
    config_errors_cleanup(&errs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inline_file_and_none),
        cmocka_unit_test(test_invalid_policy_releases_text),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
