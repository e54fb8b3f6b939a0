/*
 * test_audit_context.c - the audit record's requestContext (issue 16): the
 * condition keys the policies were evaluated on, single- and multi-valued,
 * so that `replay` can decide the request again; never a key that could
 * hold a secret, token or signature; capped, a key that does not fit left
 * out whole and "requestContext" named in "truncated".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <cmocka.h>

#include "audit.h"
#include "audit_fixture.h"
#include "context.h"

static void test_values(void **state)
{
    (void)state;
    static struct policy_context ctx;
    struct s3w_slice tags[2] = { S3W_SLICE_LIT("team"), S3W_SLICE_LIT("cost \"center\"") };
    policy_context_init(&ctx);
    assert_int_equal(policy_context_set(&ctx, S3W_SLICE_LIT("aws:SourceIp"), S3W_SLICE_LIT("192.0.2.7")), 0);
    assert_int_equal(policy_context_set(&ctx, S3W_SLICE_LIT("s3:prefix"), S3W_SLICE_LIT("")), 0);
    assert_int_equal(policy_context_set_multi(&ctx, S3W_SLICE_LIT("s3:RequestObjectTagKeys"), tags, 2), 0);
    assert_int_equal(policy_context_set_multi(&ctx, S3W_SLICE_LIT("aws:TagKeys"), NULL, 0), 0);
    assert_int_equal(policy_context_set(&ctx, S3W_SLICE_LIT("aws:TokenIssueTime"),
                                        S3W_SLICE_LIT("2026-01-01T00:00:00Z")), 0);
    assert_int_equal(policy_context_set(&ctx, S3W_SLICE_LIT("s3:signatureversion"),
                                        S3W_SLICE_LIT("AWS4-HMAC-SHA256")), 0);
    /* keys that could carry authorization material never reach the log */
    assert_int_equal(policy_context_set(&ctx, S3W_SLICE_LIT("s3:x-amz-security-token"),
                                        S3W_SLICE_LIT("FQoGZXIvYXdzEXAMPLETOKEN")), 0);
    assert_int_equal(policy_context_set(&ctx, S3W_SLICE_LIT("s3:X-Amz-Signature"),
                                        S3W_SLICE_LIT("deadbeefsignature")), 0);
    assert_int_equal(policy_context_set(&ctx, S3W_SLICE_LIT("aws:PrincipalTag/api-secret"),
                                        S3W_SLICE_LIT("hunter2")), 0);
    struct audit_record r;
    base_record(&r);
    r.context = &ctx;
    cJSON *j = format_parse(&r, NULL);
    char *txt = cJSON_PrintUnformatted(cJSON_GetObjectItem(j, "requestContext"));
    assert_string_equal(txt,
        "{\"aws:SourceIp\":\"192.0.2.7\",\"s3:prefix\":\"\",\"s3:RequestObjectTagKeys\":"
        "[\"team\",\"cost \\\"center\\\"\"],\"aws:TagKeys\":[],\"aws:TokenIssueTime\":"
        "\"2026-01-01T00:00:00Z\",\"s3:signatureversion\":\"AWS4-HMAC-SHA256\"}");
    cJSON_free(txt);
    assert_null(cJSON_GetObjectItem(j, "truncated"));
    cJSON_Delete(j);

    /* no context (refused before evaluation): no requestContext at all */
    r.context = NULL;
    j = format_parse(&r, NULL);
    assert_null(cJSON_GetObjectItem(j, "requestContext"));
    cJSON_Delete(j);
}

/* Each of the six words, in any case, anywhere in a key (first bytes,
 * middle, last bytes), keeps the key out; keys that only share a prefix
 * of a word, or are one of the three exceptions, stay. */
static void test_secret_words(void **state)
{
    (void)state;
    static const char *const out[] = {
        "token", "aws:Token", "x/TOKEN/y", "s3:x-amz-security-token", "secretkey",
        "aws:PrincipalTag/api-SECRET", "signature", "x-Signature-y", "Authorization",
        "s3:authorization", "credential", "aws:RequestTag/Credentials", "password",
        "aws:PrincipalTag/db_PassWord", "aws:TokenIssueTimes",
    };
    static const char *const kept[] = {
        "toke", "aws:tokn", "secre", "s3:signatur", "s3:authType", "authorizatio", "credentia",
        "passwor", "aws:TokenIssueTime", "s3:SignatureVersion", "s3:signatureAge", "aws:userid",
        "aws:SecureTransport", "s3:x-amz-content-sha256",
    };
    static struct policy_context ctx;
    policy_context_init(&ctx);
    for (size_t i = 0; i < sizeof(out) / sizeof(out[0]); i++)
        assert_int_equal(policy_context_set(&ctx, s3w_slice_cstr(out[i]), S3W_SLICE_LIT("v")), 0);
    for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
        assert_int_equal(policy_context_set(&ctx, s3w_slice_cstr(kept[i]), S3W_SLICE_LIT("v")), 0);
    struct audit_record r;
    base_record(&r);
    r.context = &ctx;
    /* twice: the keys are string literals, whose verdict the second
     * record takes from the formatter's memo */
    for (int round = 0; round < 2; round++) {
        cJSON *j = format_parse(&r, NULL);
        const cJSON *rc = cJSON_GetObjectItem(j, "requestContext");
        assert_non_null(rc);
        for (size_t i = 0; i < sizeof(out) / sizeof(out[0]); i++)
            if (cJSON_GetObjectItemCaseSensitive(rc, out[i]))
                fail_msg("round %d: key %s was logged", round, out[i]);
        for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
            if (!cJSON_GetObjectItemCaseSensitive(rc, kept[i]))
                fail_msg("round %d: key %s was left out", round, kept[i]);
        assert_int_equal(cJSON_GetArraySize(rc), (int)(sizeof(kept) / sizeof(kept[0])));
        cJSON_Delete(j);
    }
}

/* A key in writable memory is judged by its bytes every time: a buffer
 * that held a harmless key and now holds a secret one of the same length,
 * at the same address, is left out (a verdict kept by address would let
 * the token through). */
static void test_reused_buffer_key(void **state)
{
    (void)state;
    static char key[16];
    static struct policy_context ctx;
    struct audit_record r;
    base_record(&r);
    r.context = &ctx;
    const char *seq[] = { "aws:userid", "aws:Tokenx", "aws:userid", "aws:passwd", "s3:authkey" };
    const bool logged[] = { true, false, true, true, true };
    for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
        strcpy(key, seq[i]);
        policy_context_init(&ctx);
        assert_int_equal(policy_context_set(&ctx, s3w_slice(key, 10), S3W_SLICE_LIT("v")), 0);
        cJSON *j = format_parse(&r, NULL);
        const cJSON *rc = cJSON_GetObjectItem(j, "requestContext");
        assert_non_null(rc);
        if ((cJSON_GetObjectItemCaseSensitive(rc, seq[i]) != NULL) != logged[i])
            fail_msg("key %s: %s", seq[i], logged[i] ? "left out" : "logged");
        cJSON_Delete(j);
    }
}

static void test_capped(void **state)
{
    (void)state;
    static struct policy_context ctx;
    static char big[3][3000], name[3][32];
    policy_context_init(&ctx);
    assert_int_equal(policy_context_set(&ctx, S3W_SLICE_LIT("aws:SourceIp"), S3W_SLICE_LIT("192.0.2.7")), 0);
    for (int i = 0; i < 3; i++) {
        memset(big[i], 'a' + i, sizeof(big[i]));
        snprintf(name[i], sizeof(name[i]), "s3:ExistingObjectTag/k%d", i);
        assert_int_equal(policy_context_set(&ctx, s3w_slice_cstr(name[i]),
                                            s3w_slice(big[i], sizeof(big[i]))), 0);
    }
    /* a value of all control bytes: 6 escaped bytes each, over the cap alone */
    static char ctl[2000];
    memset(ctl, 1, sizeof(ctl));
    assert_int_equal(policy_context_set(&ctx, S3W_SLICE_LIT("aws:Referer"), s3w_slice(ctl, sizeof(ctl))), 0);
    assert_int_equal(policy_context_set(&ctx, S3W_SLICE_LIT("aws:userid"), S3W_SLICE_LIT("AIDAEXAMPLE")), 0);
    struct audit_record r;
    base_record(&r);
    r.context = &ctx;
    size_t len;
    cJSON *j = format_parse(&r, &len);
    cJSON *c = cJSON_GetObjectItem(j, "requestContext");
    /* two 3000-byte values fit the 8 KiB budget, the third and the
     * escaped one do not and are left out whole; later small keys still go in */
    assert_string_equal(cJSON_GetObjectItem(c, "aws:SourceIp")->valuestring, "192.0.2.7");
    assert_int_equal(strlen(cJSON_GetObjectItem(c, "s3:ExistingObjectTag/k0")->valuestring), 3000);
    assert_int_equal(strlen(cJSON_GetObjectItem(c, "s3:ExistingObjectTag/k1")->valuestring), 3000);
    assert_null(cJSON_GetObjectItem(c, "s3:ExistingObjectTag/k2"));
    assert_null(cJSON_GetObjectItem(c, "aws:Referer"));
    assert_string_equal(cJSON_GetObjectItem(c, "aws:userid")->valuestring, "AIDAEXAMPLE");
    cJSON *t = cJSON_GetObjectItem(j, "truncated");
    assert_non_null(t);
    assert_int_equal(cJSON_GetArraySize(t), 1);
    assert_string_equal(cJSON_GetArrayItem(t, 0)->valuestring, "requestContext");
    cJSON_Delete(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_secret_words),
        cmocka_unit_test(test_reused_buffer_key),
        cmocka_unit_test(test_capped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
