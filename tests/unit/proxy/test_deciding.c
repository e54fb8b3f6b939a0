/* The audit record's decidingStatements as the live path writes it
 * (authorize.c, px_authorize): "policy:Sid", or "policy:#index" for a
 * statement without a Sid, ';' between them, in the evaluator's order, cut
 * at the 511 bytes the exchange keeps - through the whole pipeline against
 * the rig's fake upstream, read back from the audit file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <cmocka.h>

#include "pipeline_rig.h"

#define AKID "AKIADECIDINGSTMTS001"
#define SECRET "decidingStatementsSecret/0123456789abcdef"

/* Sids of 300 characters: two of them overflow the 512-byte field */
static char long_a[301], long_b[301];

static struct config *make_config(void)
{
    memset(long_a, 'A', 300);
    memset(long_b, 'B', 300);
    static char json[8192];
    snprintf(json, sizeof(json),
             "{\"listeners\":[{\"address\":\"127.0.0.1\",\"port\":1}],"
             "\"upstream\":{\"endpoint\":\"http://127.0.0.1:%d\",\"region\":\"us-east-1\"},"
             "\"credentials\":{\"chain\":[{\"type\":\"static\",\"access_key_id\":"
             "\"AKIAUPSTREAMDECIDING\",\"secret\":\"upstreamDecidingSecret00000000000000000\"}]},"
             "\"accounts\":[{\"id\":\"111111111111\"}],"
             "\"users\":[{\"account\":\"111111111111\",\"name\":\"d\",\"unique_id\":"
             "\"AIDADECIDINGSTMTS001\",\"access_keys\":[{\"id\":\"" AKID "\",\"secret\":\"" SECRET
             "\"}],\"policies\":[{\"name\":\"read\",\"document\":{\"Version\":\"2012-10-17\","
             "\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\","
             "\"Resource\":\"arn:aws:s3:::bkt/*\"}]}}]}],"
             "\"buckets\":[{\"name\":\"bkt\",\"account\":\"111111111111\",\"policy\":"
             "{\"Version\":\"2012-10-17\",\"Statement\":["
             "{\"Sid\":\"DenyA\",\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\","
             "\"Resource\":\"arn:aws:s3:::bkt/two/*\"},"
             "{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\","
             "\"Resource\":\"arn:aws:s3:::bkt/two/*\"},"
             "{\"Sid\":\"%s\",\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\","
             "\"Resource\":\"arn:aws:s3:::bkt/long/*\"},"
             "{\"Sid\":\"%s\",\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\","
             "\"Resource\":\"arn:aws:s3:::bkt/long/*\"}]}}]}",
             rig_up_port(), long_a, long_b);
    return rig_config_from_json(json);
}

static const struct rig_opts opts = { .make_config = make_config, .audit_file = true };

/* GETs /bkt/<key>, expects the 403, and returns the decidingStatements of
 * its audit record (waits for the writer), to be freed. */
static char *deciding_of(const char *key)
{
    char target[128], req[4096], resp[8192];
    snprintf(target, sizeof(target), "/bkt/%s", key);
    struct rig_req r = { .akid = AKID, .secret = SECRET, .method = "GET", .target = target };
    size_t n = rig_build(req, sizeof(req), &r);
    rig_exchange(req, n, NULL, resp, sizeof(resp));
    rig_assert_status(resp, "HTTP/1.1 403 Forbidden\r\n");
    cJSON *j = rig_audit_find(key, false);
    if (!j)
        fail_msg("no audit record for %s", key);
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "decidingStatements");
    assert_true(cJSON_IsString(d));
    char *got = strdup(d->valuestring);
    cJSON_Delete(j);
    return got;
}

static void test_sid_and_index(void **state)
{
    (void)state;
    char *d = deciding_of("two/obj");
    assert_string_equal(d, "bucket-policy:DenyA;bucket-policy:#1");
    free(d);
}

static void test_cut_at_the_field(void **state)
{
    (void)state;
    char want[1024];
    snprintf(want, sizeof(want), "bucket-policy:%s;bucket-policy:%s", long_a, long_b);
    want[511] = '\0';
    char *d = deciding_of("long/obj");
    assert_string_equal(d, want);
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sid_and_index),
        cmocka_unit_test(test_cut_at_the_field),
    };
    return rig_run_group(tests, &opts);
}
