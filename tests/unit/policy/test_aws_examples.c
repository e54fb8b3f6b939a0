/*
 * test_aws_examples.c - AWS's own documented policy examples
 * (tests/policy-examples/aws-docs.json): each example carries its source
 * URL, the diagnostics s3warden must report when loading it (exactly;
 * an error carries the message AWS gives when AWS refuses it too), and the
 * requests its page describes with the answer the page gives. The answers
 * are written from the documentation, never produced by the code under
 * test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "testutil.h"

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Compiles the example as AWS would store it and compares the diagnostics
 * one by one. Returns true when they are exactly the expected ones; *loaded
 * says whether the policy compiled. */
static bool check_load(const char *name, const cJSON *ex, bool *loaded)
{
    const char *kind = str(ex, "kind");
    const char *bucket = str(ex, "bucket");
    struct policy_compile_opts o = { .name = "example" };
    if (!strcmp(kind, "bucket"))
        o.kind = POLICY_KIND_RESOURCE;
    else if (!strcmp(kind, "identity"))
        o.kind = POLICY_KIND_IDENTITY;
    else {
        fprintf(stderr, "FAIL %s: unknown kind %s\n", name, kind);
        return false;
    }
    if (bucket)
        o.bucket = s3w_slice_cstr(bucket);
    /* printed from the parsed tree: a repeated member (the Storage Lens
     * example) survives, cJSON keeps both */
    char *src = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(ex, "policy"));
    struct policy_diags *d = malloc(sizeof(*d));
    struct policy *p = NULL;
    policy_diags_init(d);
    int rc = policy_compile(src, strlen(src), &o, &p, d);
    free(src);
    bool ok = true, want_error = false;
    size_t i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(ex, "diagnostics")) {
        const char *sev = str(e, "severity"), *t = str(e, "text"), *s3 = str(e, "message");
        bool is_err = !strcmp(sev, "error");
        want_error = want_error || is_err;
        if (i >= d->n || strcmp(d->items[i].text, t) ||
            d->items[i].severity != (is_err ? POLICY_SEV_ERROR : POLICY_SEV_WARNING) ||
            (is_err && (!s3 || !d->items[i].s3_message || strcmp(d->items[i].s3_message, s3)))) {
            fprintf(stderr, "FAIL %s\n  want [%s] %s\n  got  %s\n", name, sev, t,
                    i < d->n ? d->items[i].text : "(nothing)");
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
    *loaded = rc == POLICY_OK && p;
    if (*loaded == want_error) {
        fprintf(stderr, "FAIL %s: rc %d\n", name, rc);
        ok = false;
    }
    policy_free(p);
    free(d);
    return ok;
}

/* Runs one documented request through simulate: the example is the bucket
 * policy or one identity policy; the request may add the other side. */
static bool check_request(const char *name, const cJSON *ex, const cJSON *rq)
{
    bool bucket = !strcmp(str(ex, "kind"), "bucket");
    const cJSON *pol = cJSON_GetObjectItemCaseSensitive(ex, "policy");
    cJSON *in = cJSON_CreateObject();
    cJSON_AddItemToObject(in, "request",
                          cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(rq, "request"), 1));
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(rq, "identityPolicies");
    cJSON *idl = ids ? cJSON_Duplicate(ids, 1) : cJSON_CreateArray();
    if (bucket) {
        cJSON_AddItemToObject(in, "resourcePolicy", cJSON_Duplicate(pol, 1));
    } else {
        cJSON *one = cJSON_CreateObject();
        cJSON_AddStringToObject(one, "name", "example");
        cJSON_AddItemToObject(one, "policy", cJSON_Duplicate(pol, 1));
        cJSON_AddItemToArray(idl, one);
        const cJSON *rp = cJSON_GetObjectItemCaseSensitive(rq, "resourcePolicy");
        if (rp)
            cJSON_AddItemToObject(in, "resourcePolicy", cJSON_Duplicate(rp, 1));
    }
    cJSON_AddItemToObject(in, "identityPolicies", idl);
    char *js = cJSON_PrintUnformatted(in);
    cJSON_Delete(in);
    char *out = NULL, *err = NULL;
    int rc = policy_simulate_json(js, strlen(js), &out, &err);
    free(js);
    bool ok = rc == POLICY_OK;
    if (!ok) {
        fprintf(stderr, "FAIL %s / %s: simulate: %s\n", name, str(rq, "name"), err ? err : "?");
    } else {
        cJSON *res = cJSON_Parse(out);
        const char *want = str(rq, "expect"), *wm = str(rq, "message");
        ok = !strcmp(want, str(res, "result")) && (!wm || !strcmp(wm, str(res, "message")));
        if (!ok)
            fprintf(stderr, "FAIL %s / %s\n  want %s%s%s\n  got  %s\n", name, str(rq, "name"),
                    want, wm ? " / " : "", wm ? wm : "", out);
        cJSON_Delete(res);
    }
    free(out);
    free(err);
    return ok;
}

static void test_aws_examples(void **state)
{
    (void)state;
    char path[1024];
    const char *root = getenv("S3W_SOURCE_ROOT");
    snprintf(path, sizeof(path), "%s/tests/policy-examples/aws-docs.json", root ? root : ".");
    size_t len;
    char *text = tu_read_file(path, &len);
    assert_non_null(text);
    cJSON *doc = cJSON_Parse(text);
    free(text);
    assert_non_null(doc);
    int failed = 0, nex = 0, nreq = 0;
    const cJSON *ex, *rq;
    cJSON_ArrayForEach(ex, cJSON_GetObjectItemCaseSensitive(doc, "examples")) {
        const char *name = str(ex, "name");
        const char *src = str(ex, "source");
        if (!src || strncmp(src, "https://", 8)) {
            fprintf(stderr, "FAIL %s: no source URL\n", name);
            failed++;
        }
        bool loaded = false;
        nex++;
        failed += !check_load(name, ex, &loaded);
        cJSON_ArrayForEach(rq, cJSON_GetObjectItemCaseSensitive(ex, "requests")) {
            nreq++;
            if (!loaded) {
                fprintf(stderr, "FAIL %s: requests on a refused policy\n", name);
                failed++;
                continue;
            }
            failed += !check_request(name, ex, rq);
        }
    }
    cJSON_Delete(doc);
    printf("aws-docs.json: %d examples, %d requests, %d failed\n", nex, nreq, failed);
    assert_int_equal(failed, 0);
    assert_true(nex >= 15);
}

int main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(test_aws_examples) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
