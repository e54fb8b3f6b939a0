/*
 * audit_fixture.c - audit records and their lines for the tests of the
 * audit formats: a plain record to change one field of, and the checks
 * every formatted line must pass whatever it holds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cJSON.h>
#include <cmocka.h>

#include "audit.h"
#include "audit_fixture.h"
#include "context.h"

/* RFC 3629: well-formed UTF-8, no surrogates, no overlongs. */
static bool valid_utf8(const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        size_t need;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            need = 2;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 3;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 4;
        } else {
            return false;
        }
        if (i + need > n)
            return false;
        for (size_t k = 1; k < need; k++)
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
        if ((c == 0xe0 && p[i + 1] < 0xa0) || (c == 0xed && p[i + 1] > 0x9f) ||
            (c == 0xf0 && p[i + 1] < 0x90) || (c == 0xf4 && p[i + 1] > 0x8f))
            return false;
        i += need;
    }
    return true;
}

void base_record(struct audit_record *r)
{
    memset(r, 0, sizeof(*r));
    r->time_ms = 1700000000123;
    r->request_id = S3W_SLICE_LIT("0123456789ABCDEF");
    r->source_ip = S3W_SLICE_LIT("127.0.0.1");
    r->user_agent = S3W_SLICE_LIT("aws-cli/2");
    r->identity_type = S3W_SLICE_LIT("IAMUser");
    r->event_name = S3W_SLICE_LIT("GetObject");
    r->bucket = S3W_SLICE_LIT("b");
    r->key = S3W_SLICE_LIT("k");
    r->actions[0] = S3W_SLICE_LIT("s3:GetObject");
    r->resources[0] = S3W_SLICE_LIT("arn:aws:s3:::b/k");
    r->nauthz = 1;
    r->decision = S3W_SLICE_LIT("Allowed");
    r->http_status = 200;
    r->upstream_latency_ms = -1;
}

/* Checks b holds one whole line within the cap, valid UTF-8 and JSON;
 * returns it parsed and frees b. */
static cJSON *line_parse(struct s3w_buf *b, size_t *len)
{
    assert_true(b->len <= AUDIT_LINE_MAX);
    assert_true(b->len > 0 && b->ptr[b->len - 1] == '\n');
    assert_null(memchr(b->ptr, '\n', b->len - 1));
    assert_true(valid_utf8((const unsigned char *)b->ptr, b->len));
    cJSON *j = cJSON_ParseWithLength(b->ptr, b->len);
    if (!j)
        fail_msg("not JSON: %.200s", b->ptr);
    if (len)
        *len = b->len;
    s3w_buf_cleanup(b);
    return j;
}

const struct policy_context *context_over_budget(struct s3w_slice v)
{
    static struct policy_context ctx;
    static char keys[16][32];
    policy_context_init(&ctx);
    for (int i = 0; i < 16; i++) {
        int n = snprintf(keys[i], sizeof(keys[i]), "s3:ExistingObjectTag/k%d", i);
        assert_int_equal(policy_context_set(&ctx, s3w_slice(keys[i], (size_t)n), v), 0);
    }
    return &ctx;
}

struct s3w_slice hostile_record(struct audit_record *r)
{
    static char v[20000];
    memset(v, 0x1f, sizeof(v));
    struct s3w_slice h = s3w_slice(v, sizeof(v));
    memset(r, 0, sizeof(*r));
    r->time_ms = 1700000000123;
    r->request_id = r->upstream_request_id = r->source_ip = r->user_agent = h;
    r->identity_type = r->principal_id = r->arn = r->account_id = r->access_key_id = h;
    r->session_role_arn = r->session_name = r->event_name = r->bucket = r->key = h;
    for (size_t i = 0; i < AUDIT_MAX_AUTHZ; i++)
        r->actions[i] = r->resources[i] = h;
    r->nauthz = AUDIT_MAX_AUTHZ;
    r->decision = r->deciding = r->error_code = r->tls = h;
    r->cross_account = true;
    r->http_status = -2147483647 - 1;
    r->bytes_in = r->bytes_out = UINT64_MAX;
    r->latency_ms = r->upstream_latency_ms = INT64_MAX;
    return h;
}

cJSON *format_parse(const struct audit_record *r, size_t *len)
{
    struct s3w_buf b;
    s3w_buf_init(&b, AUDIT_LINE_MAX);
    assert_int_equal(audit_format(r, &b), 0);
    return line_parse(&b, len);
}

cJSON *format_parse_cloudtrail(const struct audit_record *r,
                               const struct audit_cloudtrail_opts *o, size_t *len)
{
    struct s3w_buf b;
    s3w_buf_init(&b, AUDIT_LINE_MAX);
    assert_int_equal(audit_format_cloudtrail(r, o, &b), 0);
    return line_parse(&b, len);
}

bool listed_truncated(const cJSON *j, const char *field)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "truncated");
    const cJSON *e;
    cJSON_ArrayForEach(e, t)
        if (cJSON_IsString(e) && strcmp(e->valuestring, field) == 0)
            return true;
    return false;
}
