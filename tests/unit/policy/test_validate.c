/*
 * test_validate.c - bad policies with their exact diagnostics
 * (cases/bad_policies.json): every expected problem is reported with its
 * path, message, severity and S3 MalformedPolicy text, and nothing else.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cases/runner.h"

static enum policy_kind kind_of(const char *k, char *bucket, size_t cap)
{
    bucket[0] = '\0';
    const char *colon = strchr(k, ':');
    if (colon)
        snprintf(bucket, cap, "%s", colon + 1);
    if (!strncmp(k, "resource", 8))
        return POLICY_KIND_RESOURCE;
    if (!strncmp(k, "guardrail", 9))
        return POLICY_KIND_GUARDRAIL;
    if (!strncmp(k, "boundary", 8))
        return POLICY_KIND_BOUNDARY;
    if (!strncmp(k, "session", 7))
        return POLICY_KIND_SESSION;
    return POLICY_KIND_IDENTITY;
}

static void test_bad_policies(void **state)
{
    (void)state;
    char *text = runner_read_case_file("bad_policies.json");
    assert_non_null(text);
    cJSON *root = cJSON_Parse(text);
    free(text);
    assert_non_null(root);
    struct policy_diags *d = malloc(sizeof(*d));
    assert_non_null(d);
    int failed = 0, nerr = 0, n = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(root, "cases")) {
        const char *name = cJSON_GetObjectItemCaseSensitive(c, "name")->valuestring;
        char bucket[64];
        enum policy_kind k = kind_of(cJSON_GetObjectItemCaseSensitive(c, "kind")->valuestring,
                                     bucket, sizeof(bucket));
        const cJSON *raw = cJSON_GetObjectItemCaseSensitive(c, "raw");
        char *src = raw ? strdup(raw->valuestring)
                        : cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(c, "policy"));
        struct policy_compile_opts o = { .kind = k, .name = "t", .bucket = s3w_slice_cstr(bucket) };
        struct policy *p = NULL;
        policy_diags_init(d);
        int rc = policy_compile(src, strlen(src), &o, &p, d);
        free(src);
        const cJSON *exp = cJSON_GetObjectItemCaseSensitive(c, "expect");
        bool want_error = false, ok = true;
        size_t i = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, exp) {
            const char *sev = cJSON_GetObjectItemCaseSensitive(e, "severity")->valuestring;
            const char *t = cJSON_GetObjectItemCaseSensitive(e, "text")->valuestring;
            const cJSON *s3 = cJSON_GetObjectItemCaseSensitive(e, "s3");
            bool is_err = !strcmp(sev, "error");
            want_error = want_error || is_err;
            if (i >= d->n || strcmp(d->items[i].text, t) != 0 ||
                d->items[i].severity != (is_err ? POLICY_SEV_ERROR : POLICY_SEV_WARNING) ||
                (is_err && (!d->items[i].s3_message || strcmp(d->items[i].s3_message, s3->valuestring))) ||
                (!is_err && d->items[i].s3_message)) {
                fprintf(stderr, "FAIL %s\n  want [%s] %s (%s)\n  got  %s\n", name, sev, t,
                        cJSON_IsString(s3) ? s3->valuestring : "-",
                        i < d->n ? d->items[i].text : "(nothing)");
                if (i < d->n && d->items[i].s3_message)
                    fprintf(stderr, "       s3: %s\n", d->items[i].s3_message);
                ok = false;
            }
            i++;
        }
        if (d->n != i) {
            fprintf(stderr, "FAIL %s: %zu diagnostics, want %zu\n", name, d->n, i);
            for (size_t j = 0; j < d->n; j++)
                fprintf(stderr, "  %s\n", d->items[j].text);
            ok = false;
        }
        if (want_error ? (rc == POLICY_OK || p != NULL) : (rc != POLICY_OK || p == NULL)) {
            fprintf(stderr, "FAIL %s: rc %d\n", name, rc);
            ok = false;
        }
        nerr += want_error;
        n++;
        failed += !ok;
        policy_free(p);
    }
    free(d);
    cJSON_Delete(root);
    printf("bad_policies.json: %d cases (%d with errors), %d failed\n", n, nerr, failed);
    assert_int_equal(failed, 0);
    assert_true(nerr >= 25);
}

/* The seed policies (cases/seeds.json, cases/conditions.json) are valid:
 * each compiles with no error (warnings allowed only where expected). */
static void test_valid_policies_compile(void **state)
{
    (void)state;
    static const char *const good[] = {
        "{\"Version\":\"2012-10-17\",\"Statement\":{\"Sid\":\"AccountBAccess1\",\"Effect\":\"Allow\","
        "\"Principal\":{\"AWS\":\"111122223333\"},\"Action\":\"s3:*\",\"Resource\":[\"arn:aws:s3:::mybucket\","
        "\"arn:aws:s3:::mybucket/*\"]}}",
        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:*\","
        "\"Resource\":[\"arn:aws:s3:::MyExampleBucket\",\"arn:aws:s3:::MyExampleBucket/*\"],\"Condition\":"
        "{\"StringNotLike\":{\"aws:userId\":[\"AROAEXAMPLEID:*\",\"111111111111\"]}}}]}",
        "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"CanonicalUser\":"
        "\"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be\"},\"Action\":\"s3:GetObject\","
        "\"Resource\":\"arn:aws:s3:::mybucket/*\"}]}",
        /* one statement, bucket and object actions over bucket and objects; the
         * parentheses tell clang (-Wstring-concatenation) that the two literals
         * are one element on purpose, not a missing comma */
        ("{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":"
         "[\"s3:ListBucket\",\"s3:GetObject\"],\"Resource\":[\"arn:aws:s3:::b\",\"arn:aws:s3:::b/*\"]}]}"),
    };
    struct policy_diags *d = malloc(sizeof(*d));
    assert_non_null(d);
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        struct policy_compile_opts o = { .kind = POLICY_KIND_RESOURCE, .name = "bucket",
                                         .bucket = i == 0 ? S3W_SLICE_LIT("mybucket") : S3W_SLICE_NULL };
        struct policy *p = NULL;
        policy_diags_init(d);
        int rc = policy_compile(good[i], strlen(good[i]), &o, &p, d);
        if (d->n)
            fprintf(stderr, "%zu: %s\n", i, d->items[0].text);
        assert_int_equal(rc, POLICY_OK);
        assert_int_equal(d->n, 0);
        assert_non_null(p);
        assert_string_equal(policy_name(p), "bucket");
        policy_free(p);
    }
    free(d);
}

/* Every bucket policy of the seed cases passes the strict bucket-policy
 * checks (s3 actions and ARNs, action/resource fit, S3 keys); the SQS queue
 * policy of seed 004 is the one non-S3 resource policy and must fail them. */
static void test_seed_bucket_policies_are_valid(void **state)
{
    (void)state;
    char *text = runner_read_case_file("seeds.json");
    assert_non_null(text);
    cJSON *root = cJSON_Parse(text);
    free(text);
    struct policy_diags *d = malloc(sizeof(*d));
    int n = 0, sqs = 0;
    const cJSON *g, *c;
    cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(root, "groups")) {
        const cJSON *base = cJSON_GetObjectItemCaseSensitive(g, "base");
        cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(g, "cases")) {
            const cJSON *rp = cJSON_GetObjectItemCaseSensitive(c, "resourcePolicy");
            if (!rp)
                rp = cJSON_GetObjectItemCaseSensitive(base, "resourcePolicy");
            if (!rp)
                continue;
            char *src = cJSON_PrintUnformatted(rp);
            bool is_sqs = strstr(src, "\"sqs:") != NULL;
            struct policy_compile_opts o = { .kind = POLICY_KIND_RESOURCE };
            struct policy *p = NULL;
            policy_diags_init(d);
            int rc = policy_compile(src, strlen(src), &o, &p, d);
            if ((rc == POLICY_OK) == is_sqs)
                fprintf(stderr, "%s: rc %d %s\n", cJSON_GetObjectItem(c, "name")->valuestring, rc,
                        d->n ? d->items[0].text : "");
            assert_int_equal(rc == POLICY_OK, !is_sqs);
            sqs += is_sqs;
            n++;
            policy_free(p);
            free(src);
        }
    }
    assert_true(n >= 30);
    assert_true(sqs >= 1);
    free(d);
    cJSON_Delete(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_policies),
        cmocka_unit_test(test_valid_policies_compile),
        cmocka_unit_test(test_seed_bucket_policies_are_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
