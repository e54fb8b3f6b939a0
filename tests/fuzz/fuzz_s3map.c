/*
 * fuzz_s3map.c - libFuzzer target for the S3 request mapping parsers that
 * see untrusted bytes: DeleteObjects bodies, x-amz-copy-source, query
 * strings, PutObjectTagging bodies, and the whole request -> authorizations
 * -> context path.
 *
 * Input: first byte picks the mode (low 3 bits: 0 delete, 1 copy source,
 * 2 query, 4 tagging, 5 body condition keys, else request), the rest is the data. Mode 3 splits the
 * data at '\n' into method, bucket, key, query, then "name:value" headers.
 * Invariants checked (abort on violation): every slice a parser returns lies
 * inside the buffer it was given; a failed DeleteObjects parse leaves no
 * objects; every authorization has a non-empty action and resource.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s3map.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct s3map_delete_list dlist;
static struct s3map_result res;
static struct policy_context ctx;

static void inside(struct s3w_slice s, const char *buf, size_t cap)
{
    if (s.ptr && (s.ptr < buf || s.ptr + s.len > buf + cap))
        abort();
}

static void fuzz_delete(const char *p, size_t n)
{
    char *scratch = malloc(n ? n : 1);
    if (!scratch)
        return;
    int rc = s3map_parse_delete(s3w_slice(p, n), scratch, n, &dlist);
    if (rc && dlist.n)
        abort();
    for (size_t i = 0; i < dlist.n; i++) {
        inside(dlist.objects[i].key, scratch, n);
        inside(dlist.objects[i].version_id, scratch, n);
        if (!dlist.objects[i].key.len || dlist.objects[i].key.len > S3MAP_MAX_KEY_BYTES)
            abort();
    }
    free(scratch);
}

static void fuzz_copy_source(const char *p, size_t n)
{
    char *scratch = malloc(n ? n : 1);
    struct s3map_copy_source cs;
    if (!scratch)
        return;
    if (s3map_parse_copy_source(s3w_slice(p, n), scratch, n, &cs) == 0) {
        inside(cs.bucket, scratch, n);
        inside(cs.key, scratch, n);
        inside(cs.version_id, scratch, n);
        if (!cs.bucket.len || !cs.key.len)
            abort();
    }
    free(scratch);
}

static void fuzz_query(const char *p, size_t n)
{
    char *scratch = malloc(n ? n : 1);
    struct s3map_qparam q[16];
    size_t nq;
    if (!scratch)
        return;
    if (s3map_parse_query(s3w_slice(p, n), scratch, n, q, 16, &nq) == 0)
        for (size_t i = 0; i < nq; i++) {
            inside(q[i].name, scratch, n);
            if (q[i].value.len)
                inside(q[i].value, scratch, n);
        }
    free(scratch);
}

static void fuzz_tagging(const char *p, size_t n)
{
    static struct s3map_tag_set tags;
    char *scratch = malloc(n ? n : 1);
    if (!scratch)
        return;
    int rc = s3map_parse_tagging(s3w_slice(p, n), scratch, n, &tags);
    if (rc && tags.n)
        abort();
    if (tags.n > S3MAP_MAX_TAGS)
        abort();
    for (size_t i = 0; i < tags.n; i++) {
        inside(tags.tags[i].name, scratch, n);
        if (tags.tags[i].value.len)
            inside(tags.tags[i].value, scratch, n);
    }
    free(scratch);
}

/* body condition keys: the first byte picks the operation */
static void fuzz_body_keys(const char *p, size_t n)
{
    static const struct { const char *m, *k, *q; } ops[] = {
        { "PUT", "k", "tagging" }, { "PUT", "k", "retention" },
        { "PUT", "k", "legal-hold" }, { "PUT", "", "" },
    };
    if (n == 0)
        return;
    unsigned pick = (unsigned char)p[0] % 4;
    struct s3map_request req = { s3w_slice_cstr(ops[pick].m), S3W_SLICE_LIT("b"),
                                 s3w_slice_cstr(ops[pick].k), s3w_slice_cstr(ops[pick].q), NULL, 0 };
    if (s3map_map(&req, &res) != 0 || !(res.flags & S3MAP_F_BODY_KEYS))
        abort(); /* the table says these four take body keys */
    char *scratch = malloc(n);
    if (!scratch)
        return;
    policy_context_init(&ctx);
    (void)s3map_body_context(&res, s3w_slice(p + 1, n - 1), scratch, n - 1, 1700000000000LL, &ctx);
    for (size_t i = 0; i < ctx.n; i++)
        for (size_t j = 0; j < ctx.entries[i].nvalues; j++)
            if (ctx.entries[i].values[j].len) {
                struct s3w_slice v = ctx.entries[i].values[j];
                /* decoded body text, or a number s3map formatted into res */
                if (!(v.ptr >= res.scratch && v.ptr + v.len <= res.scratch + sizeof res.scratch))
                    inside(v, scratch, n - 1);
            }
    free(scratch);
}

static void fuzz_request(const char *p, size_t n)
{
    struct s3w_slice part[4] = { S3W_SLICE_NULL, S3W_SLICE_NULL, S3W_SLICE_NULL, S3W_SLICE_NULL };
    struct s3w_header h[16];
    size_t nh = 0, k = 0, start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && p[i] != '\n')
            continue;
        struct s3w_slice line = s3w_slice(p + start, i - start);
        start = i + 1;
        if (k < 4) {
            part[k++] = line;
            continue;
        }
        if (nh == 16)
            break;
        size_t c = 0;
        while (c < line.len && line.ptr[c] != ':')
            c++;
        h[nh].name = s3w_slice(line.ptr, c);
        h[nh].value = c < line.len ? s3w_slice(line.ptr + c + 1, line.len - c - 1)
                                   : S3W_SLICE_LIT("");
        nh++;
    }
    struct s3map_request req = { part[0], part[1], part[2], part[3], h, nh };
    if (s3map_map(&req, &res) != 0)
        return;
    for (size_t i = 0; i < res.nauthz; i++)
        if (!res.authz[i].action.len || !res.authz[i].resource.len)
            abort();
    struct s3map_conn_facts f = {
        .source_ip = S3W_SLICE_LIT("127.0.0.1"), .tls_version = S3W_SLICE_LIT("1.3"),
        .now_ms = 1700000000000LL, .auth_type = S3MAP_AUTH_HEADER, .sig_version = S3MAP_SIG_V4,
        .signature_age_ms = 5, .resource_account = S3W_SLICE_LIT("111111111111"),
    };
    policy_context_init(&ctx);
    (void)s3map_fill_context(&res, &req, &f, &ctx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    switch (data[0] & 7) {
    case 0: fuzz_delete(p, n); break;
    case 1: fuzz_copy_source(p, n); break;
    case 2: fuzz_query(p, n); break;
    case 4: fuzz_tagging(p, n); break;
    case 5: fuzz_body_keys(p, n); break;
    default: fuzz_request(p, n); break;
    }
    return 0;
}
