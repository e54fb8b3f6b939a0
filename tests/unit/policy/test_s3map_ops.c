/*
 * test_s3map_ops.c - every operation of the S3 model, read from
 * tests/testdata/s3-operations/s3-operations.json at test time: a request is
 * synthesised from its http_method, request_uri and routing, and s3map must
 * name that operation and require exactly the json's actions (and, with
 * ?versionId, the json's "query versionId present" actions instead).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "s3map.h"
#include "testutil.h"

#define BUCKET "examplebucket"
#define KEY "photos/2024/a b+c.jpg"
#define SRC_HEADER "/srcbucket/dir/src%20key.txt"
#define SRC_ARN "arn:aws:s3:::srcbucket/dir/src key.txt"

static cJSON *ops_json;

static int setup(void **state)
{
    (void)state;
    size_t len;
    char *txt = tu_read_testdata("s3-operations/s3-operations.json", &len);
    if (!txt)
        return -1;
    ops_json = cJSON_ParseWithLength(txt, len);
    free(txt);
    return ops_json && cJSON_IsArray(ops_json) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    cJSON_Delete(ops_json);
    return 0;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* s3warden authorizes s3:, s3express: and s3-object-lambda: actions; the
 * s3tables:/iam:/kms: ones in the json are decided by those services on the
 * proxy's upstream credentials (see policy/gen_s3ops.py). */
static bool authorized_here(const char *a)
{
    return !strncmp(a, "s3:", 3) || !strncmp(a, "s3express:", 10) ||
           !strncmp(a, "s3-object-lambda:", 17);
}

struct synth {
    char method[16];
    char bucket[64];
    char key[64];
    char query[256];
    struct s3w_header hdr[4];
    size_t nhdr;
    struct s3map_request req;
};

static void q_add(char *q, size_t cap, const char *param)
{
    /* the same selector may come from request_uri and routing */
    char probe[64];
    const char *p = q;
    size_t pl = strcspn(param, "=");
    while (*p) {
        size_t l = strcspn(p, "&");
        size_t nl = strcspn(p, "=&");
        if (nl == pl && !strncmp(p, param, pl))
            return;
        p += l + (p[l] == '&');
    }
    /* give valueless selectors that carry data a value, as clients send */
    if (!strcmp(param, "uploadId"))
        param = "uploadId=VXBsb2FkIElE";
    else if (!strcmp(param, "partNumber"))
        param = "partNumber=3";
    else if (!strcmp(param, "id"))
        param = "id=report-1";
    snprintf(probe, sizeof probe, "%s%s", *q ? "&" : "", param);
    strncat(q, probe, cap - strlen(q) - 1);
}

/* Builds the request the json row describes. */
static void synthesise(const cJSON *row, struct synth *s)
{
    memset(s, 0, sizeof *s);
    snprintf(s->method, sizeof s->method, "%s", jstr(row, "http_method"));
    const char *uri = jstr(row, "request_uri");
    const char *qm = strchr(uri, '?');
    size_t plen = qm ? (size_t)(qm - uri) : strlen(uri);
    if (plen == strlen("/{Bucket}/{Key+}") && !strncmp(uri, "/{Bucket}/{Key+}", plen)) {
        strcpy(s->bucket, BUCKET);
        strcpy(s->key, KEY);
    } else if (plen == strlen("/{Bucket}") && !strncmp(uri, "/{Bucket}", plen)) {
        strcpy(s->bucket, BUCKET);
    } else if (plen > 1) {
        /* "/WriteGetObjectResponse": path-style, that is a bucket name */
        snprintf(s->bucket, sizeof s->bucket, "%.*s", (int)(plen - 1), uri + 1);
    }
    if (qm) {
        char lit[128];
        snprintf(lit, sizeof lit, "%s", qm + 1);
        for (char *tok = strtok(lit, "&"); tok; tok = strtok(NULL, "&"))
            q_add(s->query, sizeof s->query, tok);
    }
    const cJSON *routing = cJSON_GetObjectItemCaseSensitive(row, "routing");
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(routing, "query")) {
        const char *q = it->valuestring;
        if (q[0] == '(' || strstr(q, "optional"))
            continue;
        q_add(s->query, sizeof s->query, q);
    }
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(routing, "headers")) {
        const char *h = it->valuestring;
        if (!strncmp(h, "x-amz-copy-source (present", 26)) {
            s->hdr[s->nhdr].name = S3W_SLICE_LIT("x-amz-copy-source");
            s->hdr[s->nhdr++].value = S3W_SLICE_LIT(SRC_HEADER);
        } else if (!strcmp(h, "x-amz-rename-source")) {
            s->hdr[s->nhdr].name = S3W_SLICE_LIT("x-amz-rename-source");
            s->hdr[s->nhdr++].value = S3W_SLICE_LIT("/" BUCKET "/old");
        }
    }
    s->req.method = s3w_slice_cstr(s->method);
    s->req.bucket = s3w_slice_cstr(s->bucket);
    s->req.key = s3w_slice_cstr(s->key);
    s->req.query = s3w_slice_cstr(s->query);
    s->req.headers = s->hdr;
    s->req.nheaders = s->nhdr;
}

static void expected_arn(const cJSON *row, char *buf, size_t cap)
{
    const char *rt = jstr(row, "resource_type");
    if (!strcmp(rt, "object"))
        snprintf(buf, cap, "arn:aws:s3:::%s/%s", BUCKET, KEY);
    else if (!strcmp(rt, "bucket"))
        snprintf(buf, cap, "arn:aws:s3:::%s", BUCKET);
    else
        snprintf(buf, cap, "*");
}

/* Asserts res->authz starts with the json actions (from `list`, or the
 * conditional actions whose "when" is `when`) on arn; returns how many. */
static size_t check_actions(const char *op, const struct s3map_result *res, const cJSON *list,
                            const char *when, const char *arn)
{
    size_t i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, list) {
        const char *a = when ? jstr(it, "action") : it->valuestring;
        if (when && strcmp(jstr(it, "when"), when))
            continue;
        if (!authorized_here(a))
            continue;
        if (i >= res->nauthz)
            fail_msg("%s: authorization %zu (%s) missing", op, i, a);
        if (!s3w_slice_eq_cstr(res->authz[i].action, a) ||
            !s3w_slice_eq_cstr(res->authz[i].resource, arn))
            fail_msg("%s: authorization %zu is %.*s on %.*s, want %s on %s", op, i,
                     (int)res->authz[i].action.len, res->authz[i].action.ptr,
                     (int)res->authz[i].resource.len, res->authz[i].resource.ptr, a, arn);
        i++;
    }
    return i;
}

static bool is_unreachable_on_s3(const cJSON *row)
{
    /* hostPrefix endpoint (Object Lambda) */
    return !strcmp(jstr(row, "operation"), "WriteGetObjectResponse");
}

static void test_every_operation_identified(void **state)
{
    (void)state;
    static struct s3map_result res;
    size_t checked = 0, rows = 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, ops_json) {
        rows++;
        const char *name = jstr(row, "operation");
        struct synth s;
        synthesise(row, &s);
        int rc = s3map_map(&s.req, &res);

        if (is_unreachable_on_s3(row)) {
            if (rc != S3MAP_E_NOT_IMPLEMENTED)
                fail_msg("%s: want NotImplemented, got %d", name, rc);
            checked++;
            continue;
        }
        if (rc != 0)
            fail_msg("%s: %s %s/%s?%s -> %d (%s)", name, s.method, s.bucket, s.key, s.query, rc,
                     res.detail ? res.detail : "");
        const cJSON *dep = cJSON_GetObjectItemCaseSensitive(row, "deprecated");
        const struct s3map_op *want = s3map_op_by_name(s3w_slice_cstr(name));
        assert_non_null(want);
        if (cJSON_IsTrue(dep) || !strcmp(name, "ListDirectoryBuckets")) {
            /* Same wire request as a live operation: the deprecated
             * Put/GetBucketLifecycle and ...Notification, and ListDirectoryBuckets
             * (s3express-control endpoint; GET / on S3 is ListBuckets). The
             * live one must be a different, non-deprecated op. */
            if (!strcmp(res.op->name, name) || res.op->deprecated)
                fail_msg("%s: routed to %s", name, res.op->name);
            assert_non_null(want->unrouted_reason);
            assert_string_equal(want->routed_as, res.op->name);
            if (!strcmp(name, "ListDirectoryBuckets"))
                assert_string_equal(res.op->name, "ListBuckets");
            checked++;
            continue;
        }
        if (strcmp(res.op->name, name))
            fail_msg("%s: %s %s/%s?%s identified as %s", name, s.method, s.bucket, s.key,
                     s.query, res.op->name);
        char arn[256];
        expected_arn(row, arn, sizeof arn);
        const cJSON *actions = cJSON_GetObjectItemCaseSensitive(row, "actions");
        if (!strcmp(name, "DeleteObjects")) {
            /* per key from the body */
            assert_int_equal(res.nauthz, 0);
            assert_true(res.flags & S3MAP_F_DELETE_BODY);
            checked++;
            continue;
        }
        size_t n = check_actions(name, &res, actions, NULL, arn);
        if (res.flags & S3MAP_F_COPY) {
            /* the json: "always (source object ...)" -> s3:GetObject on the source */
            if (n >= res.nauthz || !s3w_slice_eq_cstr(res.authz[n].action, "s3:GetObject") ||
                !s3w_slice_eq_cstr(res.authz[n].resource, SRC_ARN))
                fail_msg("%s: copy source authorization missing", name);
            n++;
        }
        if (n != res.nauthz)
            fail_msg("%s: %zu authorizations, want %zu", name, res.nauthz, n);
        checked++;
    }
    assert_int_equal(rows, 111);
    assert_int_equal(checked, rows);
    assert_int_equal(s3map_op_count(), rows);
}

/* With ?versionId the json's "query versionId present" actions replace the
 * primary ones (GetObject -> GetObjectVersion, ...). */
static void test_version_variants(void **state)
{
    (void)state;
    static struct s3map_result res;
    size_t variants = 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, ops_json) {
        const char *name = jstr(row, "operation");
        const cJSON *cond = cJSON_GetObjectItemCaseSensitive(row, "conditional_actions");
        const cJSON *it;
        bool has = false;
        cJSON_ArrayForEach(it, cond)
            has |= !strcmp(jstr(it, "when"), "query versionId present");
        if (!has)
            continue;
        struct synth s;
        synthesise(row, &s);
        strncat(s.query, *s.query ? "&versionId=3HL4kqtJlcpXroDTDmJ%2Bv" : "versionId=x",
                sizeof s.query - strlen(s.query) - 1);
        s.req.query = s3w_slice_cstr(s.query);
        int rc = s3map_map(&s.req, &res);
        if (rc)
            fail_msg("%s?versionId -> %d", name, rc);
        assert_string_equal(res.op->name, name);
        assert_true(res.flags & S3MAP_F_VERSIONED);
        char arn[256];
        expected_arn(row, arn, sizeof arn);
        size_t n = check_actions(name, &res, cond, "query versionId present", arn);
        assert_int_equal(n, res.nauthz);
        variants++;
    }
    /* GetObject, HeadObject, DeleteObject, Get/Put/DeleteObjectTagging,
     * Get/PutObjectAcl, GetObjectAttributes, RestoreObject */
    assert_int_equal(variants, 10);
}

/* Header-triggered conditional actions of the json: send the header the
 * "when" text names and the action must be among the authorizations (on the
 * source object for copy-source ones). Conditions s3warden does not decide
 * are listed with the reason. */
struct trigger {
    const char *when_prefix;
    const char *hdr[3][2]; /* up to three headers to add */
};

static const struct trigger triggers[] = {
    { "header x-amz-acl or any x-amz-grant-* present", { { "x-amz-acl", "public-read" } } },
    { "header x-amz-bucket-object-lock-enabled: true",
      { { "x-amz-bucket-object-lock-enabled", "true" } } },
    { "header x-amz-bypass-governance-retention: true",
      { { "x-amz-bypass-governance-retention", "true" } } },
    { "header x-amz-object-lock-legal-hold present", { { "x-amz-object-lock-legal-hold", "ON" } } },
    { "header x-amz-object-lock-mode", { { "x-amz-object-lock-mode", "GOVERNANCE" } } },
    { "header x-amz-object-ownership present",
      { { "x-amz-object-ownership", "BucketOwnerPreferred" } } },
    { "header x-amz-tagging present (with x-amz-tagging-directive: REPLACE)",
      { { "x-amz-tagging", "a=b" }, { "x-amz-tagging-directive", "REPLACE" } } },
    { "header x-amz-tagging present", { { "x-amz-tagging", "a=b" } } },
    { "x-amz-copy-source contains ?versionId=", { { NULL, NULL } } }, /* copy source below */
    { "always (source object", { { NULL, NULL } } },
};

static const char *const not_decided[][2] = {
    { "header x-amz-create-session-mode", "same action as the primary one" },
    { "x-amz-tagging-directive absent or COPY", "iam-dataset only, not AWS's CopyObject row" },
    { "per <Object> in the XML body", "per key: test_s3map_delete" },
    { "query versionId present", "test_version_variants" },
    { "enabling the inventory table", "s3tables: decided by S3 Tables" },
    { "SSE-KMS table encryption", "kms:/s3tables: decided by those services" },
    { "table encryption set to SSE-KMS", "kms:/s3tables: decided by those services" },
};

static void test_header_conditional_actions(void **state)
{
    (void)state;
    static struct s3map_result res;
    size_t checked = 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, ops_json) {
        const char *name = jstr(row, "operation");
        const cJSON *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(row, "conditional_actions")) {
            const char *when = jstr(c, "when"), *action = jstr(c, "action");
            const struct trigger *t = NULL;
            for (size_t i = 0; i < sizeof triggers / sizeof triggers[0] && !t; i++)
                if (!strncmp(when, triggers[i].when_prefix, strlen(triggers[i].when_prefix)))
                    t = &triggers[i];
            if (!t) {
                bool skip = false;
                for (size_t i = 0; i < sizeof not_decided / sizeof not_decided[0]; i++)
                    skip |= !strncmp(when, not_decided[i][0], strlen(not_decided[i][0]));
                if (!skip)
                    fail_msg("%s: no trigger for \"%s\"", name, when);
                continue;
            }
            struct synth s;
            synthesise(row, &s);
            bool versioned_source = !strncmp(when, "x-amz-copy-source contains", 26);
            for (size_t i = 0; i < s.nhdr; i++)
                if (versioned_source && s3w_slice_eq_cstr(s.hdr[i].name, "x-amz-copy-source"))
                    s.hdr[i].value = S3W_SLICE_LIT(SRC_HEADER "?versionId=v7");
            for (size_t i = 0; i < 3 && t->hdr[i][0]; i++) {
                s.hdr[s.nhdr].name = s3w_slice_cstr(t->hdr[i][0]);
                s.hdr[s.nhdr++].value = s3w_slice_cstr(t->hdr[i][1]);
            }
            s.req.nheaders = s.nhdr;
            int rc = s3map_map(&s.req, &res);
            if (rc)
                fail_msg("%s + \"%s\": %d", name, when, rc);
            if (res.flags & S3MAP_F_DELETE_BODY) {
                /* DeleteObjects: bypass is per key (s3map_delete_authz) */
                assert_string_equal(action, "s3:BypassGovernanceRetention");
                assert_true(res.flags & S3MAP_F_BYPASS_GOVERNANCE);
                checked++;
                continue;
            }
            const char *resource = jstr(c, "resource");
            char arn[256];
            if (resource && !strcmp(resource, "source object"))
                snprintf(arn, sizeof arn, "%s", SRC_ARN);
            else
                expected_arn(row, arn, sizeof arn);
            bool found = false;
            for (size_t i = 0; i < res.nauthz; i++)
                found |= s3w_slice_eq_cstr(res.authz[i].action, action) &&
                         s3w_slice_eq_cstr(res.authz[i].resource, arn);
            if (!found)
                fail_msg("%s + \"%s\": %s on %s missing", name, when, action, arn);
            checked++;
        }
    }
    /* PutObject 4, CopyObject 6, CreateMultipartUpload 4, CreateBucket 4,
     * UploadPartCopy 2, DeleteObject 1, DeleteObjects 1, PutObjectRetention 1 */
    assert_int_equal(checked, 23);
}

/* Each table row agrees with the json on resource type and (filtered)
 * actions, and has at least one action. */
static void test_table_rows_match_json(void **state)
{
    (void)state;
    const cJSON *row;
    cJSON_ArrayForEach(row, ops_json) {
        const char *name = jstr(row, "operation");
        const struct s3map_op *op = s3map_op_by_name(s3w_slice_cstr(name));
        if (!op)
            fail_msg("%s missing from the table", name);
        const char *rt = jstr(row, "resource_type");
        int want = !strcmp(rt, "object") ? S3MAP_R_OBJECT
                   : !strcmp(rt, "bucket") ? S3MAP_R_BUCKET
                                           : S3MAP_R_NONE;
        assert_int_equal(op->resource_type, want);
        assert_string_equal(op->method, jstr(row, "http_method"));
        assert_non_null(op->actions[0]);
        size_t i = 0;
        const cJSON *it;
        cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(row, "actions")) {
            if (!authorized_here(it->valuestring))
                continue;
            if (!op->actions[i] || strcmp(op->actions[i], it->valuestring))
                fail_msg("%s: action %zu", name, i);
            i++;
        }
        assert_null(op->actions[i]);
    }
}

/* The wire bits the generator reads from botocore's input shapes: the
 * operations with an x-amz-acl header (check_canned_acl refuses values
 * that are not canned), and the ones with a streaming body (411 without a
 * length, stage_context); written out here so that a model change shows. */
static void test_wire_bits(void **state)
{
    (void)state;
    static const char *const acl[] = { "CopyObject",   "CreateBucket", "CreateMultipartUpload",
                                       "PutBucketAcl", "PutObject",    "PutObjectAcl" };
    static const char *const streaming[] = { "PutObject", "UploadPart", "WriteGetObjectResponse" };
    size_t nacl = 0, nstreaming = 0;
    for (size_t i = 0; s3map_op_at(i); i++) {
        const struct s3map_op *op = s3map_op_at(i);
        bool want_acl = false, want_streaming = false;
        for (size_t j = 0; j < sizeof acl / sizeof *acl; j++)
            want_acl |= strcmp(op->name, acl[j]) == 0;
        for (size_t j = 0; j < sizeof streaming / sizeof *streaming; j++)
            want_streaming |= strcmp(op->name, streaming[j]) == 0;
        if (want_acl != !!(op->wire & S3MAP_W_CANNED_ACL))
            fail_msg("%s: canned ACL bit", op->name);
        if (want_streaming != !!(op->wire & S3MAP_W_STREAMING_BODY))
            fail_msg("%s: streaming body bit", op->name);
        nacl += want_acl;
        nstreaming += want_streaming;
    }
    assert_int_equal(nacl, sizeof acl / sizeof *acl);
    assert_int_equal(nstreaming, sizeof streaming / sizeof *streaming);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_operation_identified),
        cmocka_unit_test(test_version_variants),
        cmocka_unit_test(test_header_conditional_actions),
        cmocka_unit_test(test_table_rows_match_json),
        cmocka_unit_test(test_wire_bits),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
