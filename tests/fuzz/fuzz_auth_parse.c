/*
 * fuzz_auth_parse.c - libFuzzer target for everything in the SigV4 core
 * that reads request bytes before any signature is checked: the
 * Authorization header parser, the presigned query parser, the canonical
 * URI / query builders, and sigv4_verify() end to end (with the input as
 * the Authorization value and as the request target's query).
 *
 * Invariants checked beyond "no crash / no sanitizer report": parse results
 * point inside the input or the auth store, and verify never succeeds with a
 * signature it did not compute (the lookup's secret is random per run, so
 * success would mean a forgery).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sigv4.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static enum sigv4_lookup_status lookup(void *ud, struct s3w_slice akid,
                                       struct s3w_slice token, char *out,
                                       size_t *len)
{
    (void)ud;
    (void)akid;
    (void)token;
    memcpy(out, "fuzz-secret-not-known-to-the-input", 34);
    *len = 34;
    return SIGV4_LOOKUP_OK;
}

static void inside(struct s3w_slice s, const char *base, size_t len,
                   const struct sigv4_auth *a)
{
    if (!s.len)
        return;
    bool in_input = s.ptr >= base && s.ptr + s.len <= base + len;
    bool in_store = s.ptr >= a->store && s.ptr + s.len <= a->store + sizeof a->store;
    if (!in_input && !in_store)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct sigv4_auth a;
    static struct sigv4_result res;
    struct sigv4_error err;
    struct s3w_slice in = s3w_slice((const char *)data, size);

    if (sigv4_parse_authorization(in, &a, &err) == 0) {
        inside(a.access_key_id, in.ptr, size, &a);
        inside(a.scope, in.ptr, size, &a);
        inside(a.signed_headers, in.ptr, size, &a);
        inside(a.signature, in.ptr, size, &a);
    }
    if (sigv4_parse_presigned(in, &a, &err) == 0) {
        inside(a.access_key_id, in.ptr, size, &a);
        inside(a.security_token, in.ptr, size, &a);
        if (a.store_used > sizeof a.store)
            abort();
    }

    struct s3w_buf b;
    s3w_buf_init(&b, SIGV4_MAX_CANONICAL);
    sigv4_canonical_query(in, true, &b);
    s3w_buf_reset(&b);
    sigv4_canonical_uri(in, SIGV4_URI_S3, &b);
    s3w_buf_reset(&b);
    sigv4_canonical_uri(in, SIGV4_URI_GENERIC, &b);
    s3w_buf_cleanup(&b);

    /* end to end: the input as the Authorization value, then as the query */
    char target[4096 + 8];
    size_t tl = size < 4096 ? size : 4096;
    memcpy(target, "/b/k?", 5);
    memcpy(target + 5, data, tl);
    struct s3w_header h[4] = {
        { S3W_SLICE_LIT("Host"), S3W_SLICE_LIT("b.s3.amazonaws.com") },
        { S3W_SLICE_LIT("X-Amz-Date"), S3W_SLICE_LIT("20240101T000000Z") },
        { S3W_SLICE_LIT("X-Amz-Content-SHA256"), S3W_SLICE_LIT("UNSIGNED-PAYLOAD") },
        { S3W_SLICE_LIT("Authorization"), in },
    };
    struct sigv4_verify_opts o = { 0 };
    o.service = S3W_SLICE_LIT("s3");
    o.uri_mode = SIGV4_URI_S3;
    o.lookup = lookup;
    struct sigv4_request rq = { S3W_SLICE_LIT("GET"), S3W_SLICE_LIT("/b/k"), h, 4 };
    if (sigv4_verify(&rq, 1704067200, &o, &res, &err) == 0)
        abort();
    rq.target = s3w_slice(target, tl + 5);
    rq.n_headers = 3;
    if (sigv4_verify(&rq, 1704067200, &o, &res, &err) == 0)
        abort();
    return 0;
}
