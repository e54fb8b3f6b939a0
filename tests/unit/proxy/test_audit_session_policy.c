/*
 * test_audit_session_policy.c - the audit record's sessionPolicy: a role
 * session from a session token was decided with the session policy the
 * token carries (AssumeRole's Policy), so `replay` needs it. Written for
 * token sessions only: the document compacted (the whitespace JSON
 * ignores left out, nothing else changed) and escaped, or null when the
 * token carries none; never for other callers; whole or not at all (a
 * document that does not fit, or is not UTF-8, is left out and
 * "sessionPolicy" listed in "truncated"), and the record still fits.
 *
 * And the token's session tags, "sessionTags" (replay overrides the
 * candidate role's tags with them, as AWS does): an object of the tags as
 * AssumeRole took them, {} when none, whole or left out and listed.
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
#include "identity.h"
#include "policy.h"

static void session_record(struct audit_record *r)
{
    base_record(r);
    r->identity_type = S3W_SLICE_LIT("AssumedRole");
    r->principal_id = S3W_SLICE_LIT("AROAEXAMPLEID:sess");
    r->arn = S3W_SLICE_LIT("arn:aws:sts::111111111111:assumed-role/R/sess");
    r->account_id = S3W_SLICE_LIT("111111111111");
    r->access_key_id = S3W_SLICE_LIT("ASIAEXAMPLE000000001");
    r->session_role_arn = S3W_SLICE_LIT("arn:aws:iam::111111111111:role/R");
    r->session_name = S3W_SLICE_LIT("sess");
    r->token_session = true;
}

static char *format_line(const struct audit_record *r)
{
    struct s3w_buf b;
    s3w_buf_init(&b, AUDIT_LINE_MAX);
    assert_int_equal(audit_format(r, &b), 0);
    char *s = strdup(b.ptr);
    s3w_buf_cleanup(&b);
    return s;
}

/* Only a token's session has the field: a user, or a static session of
 * the config (whose session policy is the config's), never. */
static void test_only_token_sessions(void **state)
{
    (void)state;
    struct audit_record r;
    base_record(&r);
    r.session_policy = S3W_SLICE_LIT("{\"Version\":\"2012-10-17\"}"); /* ignored */
    cJSON *j = format_parse(&r, NULL);
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "sessionPolicy"));
    cJSON_Delete(j);
    session_record(&r);
    r.access_key_id = S3W_SLICE_LIT("AKIASTATICSESSION001");
    r.token_session = false;
    r.session_policy = S3W_SLICE_LIT("{\"Version\":\"2012-10-17\"}");
    static const struct config_identity_tag tag = { S3W_SLICE_LIT("team"), S3W_SLICE_LIT("blue"),
                                                    S3W_SLICE_LIT("aws:PrincipalTag/team"), false };
    r.session_tags = &tag;
    r.nsession_tags = 1;
    char *line = format_line(&r);
    assert_null(strstr(line, "sessionPolicy"));
    assert_null(strstr(line, "sessionTags"));
    free(line);
}

/* AssumeRole's tags (keys as the caller cased them), in their order; not
 * the role's own, which the candidate config defines (identity.c puts the
 * token's first: nsession_tags of them). */
static void test_session_tags(void **state)
{
    (void)state;
    static const struct config_identity_tag tags[] = {
        { S3W_SLICE_LIT("Team"), S3W_SLICE_LIT("blue"), S3W_SLICE_LIT("aws:PrincipalTag/Team"), false },
        { S3W_SLICE_LIT("cost-center"), S3W_SLICE_LIT(""),
          S3W_SLICE_LIT("aws:PrincipalTag/cost-center"), false },
        { S3W_SLICE_LIT("dept"), S3W_SLICE_LIT("eng"), S3W_SLICE_LIT("aws:PrincipalTag/dept"), false },
    };
    struct audit_record r;
    session_record(&r);
    r.session_tags = tags;
    r.nsession_tags = 2; /* the third is the role's */
    char *line = format_line(&r);
    assert_non_null(strstr(line, ",\"sessionPolicy\":null,\"sessionTags\":{\"Team\":\"blue\","
                                 "\"cost-center\":\"\"}}\n"));
    free(line);
}

/* A web identity's tags claim may hold bytes that are not UTF-8, which
 * the escape would write as U+FFFD: not the tag the request was decided
 * with, so left out and listed, as a session policy would be. */
static void test_session_tags_not_utf8_left_out(void **state)
{
    (void)state;
    static const struct config_identity_tag tags[] = {
        { S3W_SLICE_LIT("team"), S3W_SLICE_LIT("bl\xc3\xa9u"), S3W_SLICE_LIT("aws:PrincipalTag/team"), false },
        { S3W_SLICE_LIT("dept"), S3W_SLICE_LIT("e\xffg"), S3W_SLICE_LIT("aws:PrincipalTag/dept"), false },
    };
    struct audit_record r;
    session_record(&r);
    r.session_tags = tags;
    r.nsession_tags = 1; /* UTF-8: written as it is */
    cJSON *j = format_parse(&r, NULL);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "sessionTags");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(t, "team")->valuestring, "bl\xc3\xa9u");
    cJSON_Delete(j);
    r.nsession_tags = 2;
    j = format_parse(&r, NULL);
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "sessionTags"));
    assert_true(listed_truncated(j, "sessionTags"));
    cJSON_Delete(j);
}

/* 50 tags of AssumeRole's longest (128-byte keys, 256-byte values) and its
 * largest session policy fit a typical record whole. */
static void test_largest_session_tags_fit(void **state)
{
    (void)state;
    static char keys[50][128], values[50][256], doc[2048];
    static struct config_identity_tag tags[50];
    for (int i = 0; i < 50; i++) {
        memset(keys[i], 'k', sizeof(keys[i]));
        snprintf(keys[i], 8, "k%02d", i);
        keys[i][strlen(keys[i])] = 'k';
        memset(values[i], 'a' + i % 26, sizeof(values[i]));
        tags[i].key = s3w_slice(keys[i], sizeof(keys[i]));
        tags[i].value = s3w_slice(values[i], sizeof(values[i]));
    }
    memset(doc, ' ', sizeof(doc));
    memcpy(doc, "{\"Version\":\"2012-10-17\"}", 24);
    struct audit_record r;
    session_record(&r);
    r.session_policy = s3w_slice(doc, sizeof(doc));
    r.session_tags = tags;
    r.nsession_tags = 50;
    size_t len;
    cJSON *j = format_parse(&r, &len);
    print_message("50 tags of the longest and a 2,048-byte session policy: %zu bytes\n", len);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "sessionTags");
    assert_true(cJSON_IsObject(t));
    assert_int_equal(cJSON_GetArraySize(t), 50);
    for (int i = 0; i < 50; i++) {
        char k[129];
        memcpy(k, keys[i], 128);
        k[128] = '\0';
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(t, k);
        assert_true(cJSON_IsString(v));
        assert_memory_equal(v->valuestring, values[i], 256);
    }
    assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "sessionPolicy")));
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "truncated"));
    cJSON_Delete(j);

    /* a record whose other fields took their caps has no room for them:
     * left out whole and listed, the record within AUDIT_LINE_MAX */
    static char v[4096];
    memset(v, 0x1f, sizeof(v)); /* 6 bytes each, escaped */
    struct s3w_slice h = s3w_slice(v, sizeof(v));
    r.user_agent = r.key = r.deciding = r.arn = h;
    for (size_t i = 0; i < AUDIT_MAX_AUTHZ; i++)
        r.resources[i] = h;
    r.nauthz = AUDIT_MAX_AUTHZ;
    j = format_parse(&r, &len);
    print_message("and every long field at its cap: %zu bytes\n", len);
    assert_true(len <= AUDIT_LINE_MAX);
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "sessionTags"));
    assert_true(listed_truncated(j, "sessionTags"));
    cJSON_Delete(j);
}

/* A token without a session policy: null, so that replay tells it from a
 * record written before the field existed. */
static void test_null_without_policy(void **state)
{
    (void)state;
    struct audit_record r;
    session_record(&r);
    char *line = format_line(&r);
    assert_non_null(strstr(line, ",\"sessionPolicy\":null,\"sessionTags\":{}}\n"));
    free(line);
    cJSON *j = format_parse(&r, NULL);
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "sessionPolicy")));
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "truncated"));
    cJSON_Delete(j);
}

/* As boto3's json.dumps(indent=2) sends it: the whitespace between tokens
 * goes, the whitespace, quotes, backslashes and non-ASCII characters in
 * strings stay; the written value compiles to the same decisions. */
static void test_compacted_and_escaped(void **state)
{
    (void)state;
    static const char doc[] =
        "{\n  \"Version\": \"2012-10-17\",\n\t\"Statement\": [\r\n    {\n"
        "      \"Sid\": \"ReadOnly\",\n      \"Effect\": \"Allow\",\n"
        "      \"Action\": [\"s3:GetObject\", \"s3:ListBucket\"],\n"
        "      \"Resource\": [\"arn:aws:s3:::b/a b\\\"q\\\\ \xc3\xa9/*\", \"arn:aws:s3:::b\"]\n"
        "    }\n  ]\n}\n";
    static const char compact[] =
        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"ReadOnly\",\"Effect\":\"Allow\","
        "\"Action\":[\"s3:GetObject\",\"s3:ListBucket\"],"
        "\"Resource\":[\"arn:aws:s3:::b/a b\\\"q\\\\ \xc3\xa9/*\",\"arn:aws:s3:::b\"]}]}";
    struct audit_record r;
    session_record(&r);
    r.session_policy = s3w_slice(doc, sizeof(doc) - 1);
    char *line = format_line(&r);
    /* escaped once more in the line: \" for each quote, \\ for each backslash */
    assert_non_null(strstr(line,
        ",\"sessionPolicy\":\"{\\\"Version\\\":\\\"2012-10-17\\\",\\\"Statement\\\":[{\\\"Sid\\\":"
        "\\\"ReadOnly\\\",\\\"Effect\\\":\\\"Allow\\\",\\\"Action\\\":[\\\"s3:GetObject\\\","
        "\\\"s3:ListBucket\\\"],\\\"Resource\\\":[\\\"arn:aws:s3:::b/a b\\\\\\\"q\\\\\\\\ \xc3\xa9/*\\\","
        "\\\"arn:aws:s3:::b\\\"]}]}\",\"sessionTags\":{}}\n"));
    free(line);
    cJSON *j = format_parse(&r, NULL);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "sessionPolicy");
    assert_true(cJSON_IsString(v));
    assert_string_equal(v->valuestring, compact);
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "truncated"));
    /* what replay compiles: the same statements */
    struct policy *p = NULL;
    assert_int_equal(config_session_policy_compile(s3w_slice_cstr(v->valuestring), &p), POLICY_OK);
    assert_int_equal(policy_statement_count(p), 1);
    policy_free(p);
    cJSON_Delete(j);
}

/* A document larger than the room the record has left is not cut (a cut
 * one would not compile, or would be another policy): left out whole and
 * listed, the record still whole and within AUDIT_LINE_MAX. */
static void test_too_large_left_out(void **state)
{
    (void)state;
    static char doc[AUDIT_LINE_MAX];
    static const char head[] = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"";
    static const char tail[] = "\",\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"}]}";
    memset(doc, 'S', sizeof(doc));
    memcpy(doc, head, sizeof(head) - 1);
    memcpy(doc + sizeof(doc) - sizeof(tail) + 1, tail, sizeof(tail) - 1);
    struct audit_record r;
    session_record(&r);
    r.session_policy = s3w_slice(doc, sizeof(doc));
    size_t len;
    cJSON *j = format_parse(&r, &len);
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "sessionPolicy"));
    assert_true(listed_truncated(j, "sessionPolicy"));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "truncated")), 1);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(j, "decision")->valuestring, "Allowed");
    cJSON_Delete(j);

    /* the most a record can hold otherwise, with the 2,048 bytes AssumeRole
     * allows: every other field at its cap still leaves a line that fits */
    static char v[20000];
    memset(v, 0x1f, sizeof(v));
    struct s3w_slice h = s3w_slice(v, sizeof(v));
    r.request_id = r.upstream_request_id = r.source_ip = r.user_agent = h;
    r.principal_id = r.arn = r.account_id = h;
    r.session_role_arn = r.session_name = r.event_name = r.bucket = r.key = h;
    for (size_t i = 0; i < AUDIT_MAX_AUTHZ; i++)
        r.actions[i] = r.resources[i] = h;
    r.nauthz = AUDIT_MAX_AUTHZ;
    r.decision = r.deciding = r.error_code = r.tls = h;
    /* and a requestContext that fills its budget */
    r.context = context_over_budget(s3w_slice(doc + 1000, 500));
    r.session_policy = s3w_slice(doc + sizeof(doc) - 2048, 2048);
    j = format_parse(&r, &len);
    print_message("hostile record with a session policy: %zu bytes of %d\n", len, AUDIT_LINE_MAX);
    assert_true(listed_truncated(j, "sessionPolicy"));
    assert_true(listed_truncated(j, "userAgent"));
    assert_true(listed_truncated(j, "requestContext"));
    cJSON_Delete(j);
}

/* A typical record has room for the largest policy AssumeRole takes, even
 * when every byte of it needs a 2-byte escape. */
static void test_largest_assume_role_policy_fits(void **state)
{
    (void)state;
    static char doc[2048];
    static const char head[] = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"";
    static const char tail[] = "\",\"Effect\":\"Deny\",\"Action\":\"s3:*\",\"Resource\":\"*\"}]}";
    memset(doc, '"', sizeof(doc)); /* not a valid Sid: only the size matters here */
    memcpy(doc, head, sizeof(head) - 1);
    memcpy(doc + sizeof(doc) - sizeof(tail) + 1, tail, sizeof(tail) - 1);
    struct audit_record r;
    session_record(&r);
    r.session_policy = s3w_slice(doc, sizeof(doc));
    cJSON *j = format_parse(&r, NULL);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "sessionPolicy");
    assert_true(cJSON_IsString(v));
    assert_int_equal(strlen(v->valuestring), sizeof(doc));
    assert_memory_equal(v->valuestring, doc, sizeof(doc));
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "truncated"));
    cJSON_Delete(j);
}

/* Bytes that are not UTF-8 would be written as U+FFFD, which is not the
 * document the request was decided with: left out and listed. */
static void test_not_utf8_left_out(void **state)
{
    (void)state;
    static const char doc[] = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"x\xff\","
                              "\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"}]}";
    struct audit_record r;
    session_record(&r);
    r.session_policy = s3w_slice(doc, sizeof(doc) - 1);
    cJSON *j = format_parse(&r, NULL);
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "sessionPolicy"));
    assert_true(listed_truncated(j, "sessionPolicy"));
    cJSON_Delete(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_only_token_sessions),
        cmocka_unit_test(test_null_without_policy),
        cmocka_unit_test(test_compacted_and_escaped),
        cmocka_unit_test(test_too_large_left_out),
        cmocka_unit_test(test_largest_assume_role_policy_fits),
        cmocka_unit_test(test_not_utf8_left_out),
        cmocka_unit_test(test_session_tags),
        cmocka_unit_test(test_session_tags_not_utf8_left_out),
        cmocka_unit_test(test_largest_session_tags_fit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
