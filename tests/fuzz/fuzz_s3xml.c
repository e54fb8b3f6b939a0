/*
 * fuzz_s3xml.c - the S3 request bodies s3warden parses itself, each with
 * the step that consumes its result, as the pipeline runs them:
 *   DeleteObjects  s3map_parse_delete, then s3map_delete_authz per object
 *                  (with and without x-amz-bypass-governance-retention);
 *   tagging        s3map_parse_tagging, then s3map_tagging_context for
 *                  PutObjectTagging;
 *   body keys      s3map_body_context for PutObjectTagging,
 *                  PutObjectRetention, PutObjectLegalHold and CreateBucket
 *                  (CreateBucketConfiguration with Tags).
 * Input: the first byte picks the body (low 2 bits: 0 delete, 1 tagging,
 * 2-3 body keys, the next 2 bits which operation); the rest is the body.
 * The seeds are the request bodies of the S3 API reference.
 * Invariants (abort): every slice lies inside the scratch it was decoded
 * into (or the result's own scratch); a failed parse returns nothing; every
 * authorization names an action and an ARN of the bucket; keys and tags
 * within S3's limits.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s3map.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct s3map_delete_list dlist;
static struct s3map_tag_set tags;
static struct s3map_result res;
static struct policy_context ctx;

static void inside(struct s3w_slice s, const char *buf, size_t cap)
{
    if (s.len && (s.ptr < buf || s.ptr + s.len > buf + cap))
        abort();
}

static void inside_either(struct s3w_slice s, const char *buf, size_t cap)
{
    if (s.len && s.ptr >= res.scratch && s.ptr + s.len <= res.scratch + sizeof res.scratch)
        return;
    inside(s, buf, cap);
}

static void map_or_die(const char *method, const char *bucket, const char *key, const char *query,
                       const struct s3w_header *h, size_t nh)
{
    struct s3map_request req = { s3w_slice_cstr(method), s3w_slice_cstr(bucket),
                                 s3w_slice_cstr(key), s3w_slice_cstr(query), h, nh };
    if (s3map_map(&req, &res) != 0)
        abort(); /* fixed, valid requests */
}

static void fuzz_delete(const char *p, size_t n, uint8_t sel)
{
    char *scratch = malloc(n ? n : 1);
    if (!scratch)
        return;
    int rc = s3map_parse_delete(s3w_slice(p, n), scratch, n, &dlist);
    if (rc && dlist.n)
        abort();
    if (dlist.n > S3MAP_DELETE_MAX_KEYS)
        abort();
    static const struct s3w_header bypass[] = {
        { S3W_SLICE_LIT("x-amz-bypass-governance-retention"), S3W_SLICE_LIT("true") },
    };
    map_or_die("POST", "bkt", "", "delete", bypass, sel & 1);
    for (size_t i = 0; i < dlist.n; i++) {
        const struct s3map_delete_object *o = &dlist.objects[i];
        inside(o->key, scratch, n);
        inside(o->version_id, scratch, n);
        if (!o->key.len || o->key.len > S3MAP_MAX_KEY_BYTES)
            abort();
        char arn[S3MAP_ARN_MAX];
        struct s3map_authz az[2];
        size_t naz = 0;
        policy_context_init(&ctx);
        if (s3map_delete_authz(&res, S3W_SLICE_LIT("bkt"), o, arn, sizeof arn, az, &naz,
                               &ctx) != 0)
            continue;
        if (naz < 1 || naz > 2)
            abort();
        for (size_t j = 0; j < naz; j++)
            if (!az[j].action.len || az[j].resource.len < 17 ||
                memcmp(az[j].resource.ptr, "arn:aws:s3:::bkt/", 17) != 0)
                abort();
    }
    free(scratch);
}

static void fuzz_tagging(const char *p, size_t n)
{
    char *scratch = malloc(n ? n : 1);
    if (!scratch)
        return;
    int rc = s3map_parse_tagging(s3w_slice(p, n), scratch, n, &tags);
    if (rc && tags.n)
        abort();
    if (tags.n > S3MAP_MAX_TAGS)
        abort();
    for (size_t i = 0; i < tags.n; i++) {
        if (!tags.tags[i].name.len)
            abort(); /* S3: an empty tag key is InvalidTag */
        inside(tags.tags[i].name, scratch, n);
        inside(tags.tags[i].value, scratch, n);
    }
    if (rc == 0) {
        map_or_die("PUT", "bkt", "k", "tagging", NULL, 0);
        policy_context_init(&ctx);
        (void)s3map_tagging_context(&res, &tags, &ctx);
        for (size_t i = 0; i < ctx.n; i++)
            for (size_t j = 0; j < ctx.entries[i].nvalues; j++)
                inside_either(ctx.entries[i].values[j], scratch, n);
    }
    free(scratch);
}

static void fuzz_body_keys(const char *p, size_t n, uint8_t sel)
{
    static const struct { const char *m, *b, *k, *q; } ops[] = {
        { "PUT", "bkt", "k", "tagging" },    { "PUT", "bkt", "k", "retention" },
        { "PUT", "bkt", "k", "legal-hold" }, { "PUT", "newbkt", "", "" },
    };
    unsigned pick = sel & 3;
    map_or_die(ops[pick].m, ops[pick].b, ops[pick].k, ops[pick].q, NULL, 0);
    if (!(res.flags & S3MAP_F_BODY_KEYS))
        abort(); /* the table says these four take body keys */
    size_t nauthz = res.nauthz;
    char *scratch = malloc(n ? n : 1);
    if (!scratch)
        return;
    policy_context_init(&ctx);
    int rc = s3map_body_context(&res, s3w_slice(p, n), scratch, n, 1700000000000LL, &ctx);
    for (size_t i = 0; i < ctx.n; i++)
        for (size_t j = 0; j < ctx.entries[i].nvalues; j++)
            inside_either(ctx.entries[i].values[j], scratch, n);
    /* only CreateBucket's Tags add an authorization (s3:TagResource) */
    if (res.nauthz < nauthz || (res.nauthz > nauthz && (pick != 3 || rc != 0)))
        abort();
    for (size_t i = 0; i < res.nauthz; i++)
        if (!res.authz[i].action.len || !res.authz[i].resource.len)
            abort();
    free(scratch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    uint8_t sel = (uint8_t)(data[0] >> 2);
    switch (data[0] & 3) {
    case 0: fuzz_delete(p, n, sel); break;
    case 1: fuzz_tagging(p, n); break;
    default: fuzz_body_keys(p, n, sel); break;
    }
    return 0;
}
