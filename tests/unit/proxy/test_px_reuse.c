/* One request's state never reaches the next (issue 12): a worker reuses
 * its ended exchanges (px_alloc), which clears only part of each
 * (px_uncleared, pipeline_worker.c), so a member left stale would show in
 * the audit record or the answer of a later request. Four different
 * requests go pipelined on one kept-alive connection, each leaving behind
 * what the next must not carry:
 *
 *   1. a signed GET of a long key with a query, allowed: identity, route
 *      key, operation, the upstream's request id;
 *   2. a signed GET denied by a bucket policy statement: the deciding
 *      statement, the denial's message and error code;
 *   3. a PATCH, refused before anything is read (405): no route, no
 *      identity, no operation, no decision of its own;
 *   4. an anonymous GET allowed by the bucket policy: no caller's key.
 *
 * Each record is read back from the audit file and checked against what
 * its own request gave it, field by field. */
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
#include "sockutil.h"

#define AKID "AKIAPXREUSE000000001"
#define SECRET "pxReuseSecretKey/0123456789abcdefghijklmn"

/* The upstream's answer: its request id and a body naming the request
 * line, so that the client can tell which answer is whose. */
static void answer(int fd, const char *head)
{
    const char *sp = strchr(head, ' '), *end = sp ? strchr(sp + 1, ' ') : NULL;
    char body[2048];
    int n = snprintf(body, sizeof(body), "served %.*s.", sp && end ? (int)(end - sp - 1) : 0,
                     sp ? sp + 1 : "");
    char out[4096];
    int m = snprintf(out, sizeof(out),
                     "HTTP/1.1 200 OK\r\nx-amz-request-id: UPSTREAMFIRST\r\nContent-Length: %d\r\n"
                     "Connection: close\r\n\r\n%s",
                     n, body);
    su_send(fd, out, (size_t)m);
}

static struct config *make_config(void)
{
    return rig_config(&(struct rig_cfg){
        .akid = AKID,
        .secret = SECRET,
        .policy = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
                  "\"Action\":[\"s3:GetObject\",\"s3:GetObjectVersion\"],\"Resource\":\"arn:aws:s3:::bkt/*\"}]}",
        .buckets = "{\"name\":\"bkt\",\"account\":\"111111111111\",\"policy\":"
                   "{\"Version\":\"2012-10-17\",\"Statement\":["
                   "{\"Sid\":\"NoDenyPrefix\",\"Effect\":\"Deny\",\"Principal\":\"*\","
                   "\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::bkt/deny/*\"},"
                   "{\"Sid\":\"PublicPrefix\",\"Effect\":\"Allow\",\"Principal\":\"*\","
                   "\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::bkt/pub/*\"}]}}",
    });
}

static const struct rig_opts opts = { .make_config = make_config, .answer = answer, .audit_file = true };

/* The string at a path of object members ("userIdentity", "arn"), or NULL
 * when a member is missing, JSON null or empty; fails on any other type. */
static const char *str_at(const cJSON *j, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, a);
    if (v && b)
        v = cJSON_GetObjectItemCaseSensitive(v, b);
    if (!v || cJSON_IsNull(v))
        return NULL;
    if (!cJSON_IsString(v))
        fail_msg("%s%s%s is not a string", a, b ? "." : "", b ? b : "");
    return v->valuestring[0] ? v->valuestring : NULL;
}

static void assert_str_at(const cJSON *j, const char *a, const char *b, const char *want)
{
    const char *got = str_at(j, a, b);
    if (!want && got)
        fail_msg("%s%s%s: \"%s\", none expected", a, b ? "." : "", b ? b : "", got);
    if (want && (!got || strcmp(got, want) != 0))
        fail_msg("%s%s%s: %s%s%s, \"%s\" expected", a, b ? "." : "", b ? b : "", got ? "\"" : "",
                 got ? got : "none", got ? "\"" : "", want);
}

static cJSON *record(const char *key, bool by_error)
{
    cJSON *j = rig_audit_find(key, by_error);
    if (!j)
        fail_msg("no audit record for %s", key);
    return j;
}

static void test_four_requests_in_a_row(void **state)
{
    (void)state;
    /* a key near the route's cap, so that a stale one shows past a short
     * key's length */
    static char long_key[1001];
    memcpy(long_key, "first/", 6);
    memset(long_key + 6, 'k', sizeof(long_key) - 7);
    static char req[16384], target[1200];
    size_t n = 0;
    snprintf(target, sizeof(target), "/bkt/%s?versionId=first-version", long_key);
    n += rig_build(req + n, sizeof(req) - n,
                   &(struct rig_req){ .akid = AKID, .secret = SECRET, .method = "GET", .target = target });
    n += rig_build(req + n, sizeof(req) - n,
                   &(struct rig_req){ .akid = AKID, .secret = SECRET, .method = "GET", .target = "/bkt/deny/k" });
    n += (size_t)snprintf(req + n, sizeof(req) - n, "PATCH /bkt/x HTTP/1.1\r\nHost: %s\r\n\r\n", rig_host());
    n += rig_build(req + n, sizeof(req) - n, &(struct rig_req){ .method = "GET", .target = "/bkt/pub/k" });
    assert_true(n < sizeof(req));

    static char resp[65536];
    rig_exchange(req, n, "served /bkt/pub/k.", resp, sizeof(resp));

    /* the answers, in order */
    const char *a1 = strstr(resp, "HTTP/1.1 200 OK\r\n");
    assert_non_null(a1);
    assert_non_null(strstr(a1, "served /bkt/"));
    const char *a2 = strstr(a1 + 1, "HTTP/1.1 403 Forbidden\r\n");
    assert_non_null(a2);
    const char *a3 = strstr(a2 + 1, "HTTP/1.1 405 Method Not Allowed\r\n");
    assert_non_null(a3);
    const char *a4 = strstr(a3 + 1, "HTTP/1.1 200 OK\r\n");
    assert_non_null(a4);
    /* the 405's answer is its own: its code and message, not the denial's */
    char a3_text[2048];
    snprintf(a3_text, sizeof(a3_text), "%.*s", (int)(a4 - a3), a3);
    assert_non_null(strstr(a3_text, "<Code>MethodNotAllowed</Code>"));
    assert_null(strstr(a3_text, "AccessDenied"));
    assert_null(strstr(a3_text, "explicit deny"));
    assert_non_null(strstr(a4, "served /bkt/pub/k."));

    /* 1: what the others must not carry */
    cJSON *r1 = record(long_key, false);
    assert_str_at(r1, "userIdentity", "type", "IAMUser");
    assert_str_at(r1, "userIdentity", "accessKeyId", AKID);
    assert_str_at(r1, "upstreamRequestID", NULL, "UPSTREAMFIRST");
    assert_str_at(r1, "eventName", NULL, "GetObject");
    assert_str_at(r1, "decision", NULL, "Allowed");
    cJSON_Delete(r1);

    /* 2: denied, before any upstream exchange */
    cJSON *r2 = record("deny/k", false);
    assert_str_at(r2, "userIdentity", "type", "IAMUser");
    assert_str_at(r2, "decision", NULL, "ExplicitlyDenied");
    assert_str_at(r2, "decidingStatements", NULL, "bucket-policy:NoDenyPrefix");
    assert_str_at(r2, "errorCode", NULL, "AccessDenied");
    assert_str_at(r2, "upstreamRequestID", NULL, NULL);
    cJSON_Delete(r2);

    /* 3: refused at the door: nothing of its own past the method */
    cJSON *r3 = record("MethodNotAllowed", true);
    assert_str_at(r3, "userIdentity", "type", "Anonymous");
    assert_str_at(r3, "userIdentity", "arn", NULL);
    assert_str_at(r3, "userIdentity", "principalId", NULL);
    assert_str_at(r3, "userIdentity", "accessKeyId", NULL);
    assert_str_at(r3, "requestParameters", "bucketName", NULL);
    assert_str_at(r3, "requestParameters", "key", NULL);
    assert_str_at(r3, "eventName", NULL, NULL);
    assert_str_at(r3, "decision", NULL, NULL);
    assert_str_at(r3, "decidingStatements", NULL, NULL);
    assert_str_at(r3, "upstreamRequestID", NULL, NULL);
    const cJSON *acts = cJSON_GetObjectItemCaseSensitive(r3, "actions");
    assert_true(!acts || cJSON_IsNull(acts) || cJSON_GetArraySize(acts) == 0);
    assert_null(cJSON_GetObjectItemCaseSensitive(r3, "requestContext"));
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r3, "upstreamLatencyMs")));
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(r3, "crossAccount")));
    cJSON_Delete(r3);

    /* 4: anonymous and allowed: no caller's key, no error, its own
     * deciding statement only (px_authorize appends to what is there) */
    cJSON *r4 = record("pub/k", false);
    assert_str_at(r4, "userIdentity", "type", "Anonymous");
    assert_str_at(r4, "userIdentity", "arn", NULL);
    assert_str_at(r4, "userIdentity", "accessKeyId", NULL);
    assert_str_at(r4, "eventName", NULL, "GetObject");
    assert_str_at(r4, "decision", NULL, "Allowed");
    assert_str_at(r4, "decidingStatements", NULL, "bucket-policy:PublicPrefix");
    assert_str_at(r4, "errorCode", NULL, NULL);
    assert_str_at(r4, "requestParameters", "bucketName", "bkt");
    cJSON_Delete(r4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_four_requests_in_a_row),
    };
    return rig_run_group(tests, &opts);
}
