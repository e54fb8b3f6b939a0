/*
 * bench_sigv4.c - SigV4 header verification cost per request, with the
 * signing key cached (the steady state: one SHA-256 of the canonical request
 * plus one HMAC over the string to sign) and uncached (four more HMACs to
 * derive the key), plus the signer and raw SHA-256 for scale. Prints ns/op.
 * Compare with `openssl speed -evp sha256` on the same machine.
 *
 * Usage: bench_sigv4 [iterations]   (default 200000)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sigv4.h"

#define AKID "AKIAIOSFODNN7EXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define NOW 1700000000

/* CPU time of this process, not wall time: the figures are then comparable
 * with `openssl speed` (which reports user CPU time) and stay meaningful on a
 * loaded machine. */
static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static enum sigv4_lookup_status lookup(void *ud, struct s3w_slice akid,
                                       struct s3w_slice token, char *out,
                                       size_t *len)
{
    (void)ud;
    (void)token;
    if (!s3w_slice_eq_cstr(akid, AKID))
        return SIGV4_LOOKUP_UNKNOWN_KEY;
    memcpy(out, SECRET, sizeof SECRET - 1);
    *len = sizeof SECRET - 1;
    return SIGV4_LOOKUP_OK;
}

int main(int argc, char **argv)
{
    long iters = argc > 1 ? atol(argv[1]) : 200000;
    static struct sigv4_result res;
    static struct sigv4_signed sg;
    static struct sigv4_keycache kc;
    struct sigv4_error err;

    /* A typical SDK GetObject: botocore's header set. */
    struct s3w_header h[8] = {
        { S3W_SLICE_LIT("Host"), S3W_SLICE_LIT("examplebucket.s3.us-east-1.amazonaws.com") },
        { S3W_SLICE_LIT("User-Agent"), S3W_SLICE_LIT("Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux#6.1 md/arch#x86_64 lang/python#3.11.4") },
        { S3W_SLICE_LIT("Accept-Encoding"), S3W_SLICE_LIT("identity") },
        { S3W_SLICE_LIT("Range"), S3W_SLICE_LIT("bytes=0-1048575") },
    };
    struct sigv4_sign_params p = { 0 };
    p.method = S3W_SLICE_LIT("GET");
    p.target = S3W_SLICE_LIT("/photos/2024/holiday%20pictures/IMG_0001.jpg?versionId=3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY");
    p.headers = h;
    p.n_headers = 4;
    p.region = S3W_SLICE_LIT("us-east-1");
    p.service = S3W_SLICE_LIT("s3");
    p.uri_mode = SIGV4_URI_S3;
    p.now = NOW;
    p.payload = S3W_SLICE_LIT("UNSIGNED-PAYLOAD");
    struct sigv4_credentials c = { S3W_SLICE_LIT(AKID), S3W_SLICE_LIT(SECRET), S3W_SLICE_NULL };
    if (sigv4_sign_headers(&p, &c, &sg, &err)) {
        fprintf(stderr, "sign: %s\n", err.message);
        return 1;
    }
    h[4] = (struct s3w_header){ S3W_SLICE_LIT("X-Amz-Date"), s3w_slice(sg.amz_date, 16) };
    h[5] = (struct s3w_header){ S3W_SLICE_LIT("X-Amz-Content-SHA256"), S3W_SLICE_LIT("UNSIGNED-PAYLOAD") };
    h[6] = (struct s3w_header){ S3W_SLICE_LIT("Authorization"), s3w_slice(sg.authorization, sg.authorization_len) };
    struct sigv4_request rq = { p.method, p.target, h, 7 };

    static const struct s3w_slice regions[] = { S3W_SLICE_LIT("us-east-1") };
    struct sigv4_verify_opts o = { 0 };
    o.regions = regions;
    o.n_regions = 1;
    o.service = S3W_SLICE_LIT("s3");
    o.uri_mode = SIGV4_URI_S3;
    o.lookup = lookup;
    sigv4_keycache_init(&kc);

    static struct s3w_buf scratch;
    s3w_buf_init(&scratch, SIGV4_MAX_CANONICAL);
    double t0, t1;
    /* warm-up and correctness */
    o.cache = &kc;
    if (sigv4_verify(&rq, NOW, &o, &res, &err)) {
        fprintf(stderr, "verify: %s %s\n", err.s3_code, err.message);
        return 1;
    }

    t0 = now_ns();
    for (long i = 0; i < iters; i++) {
        if (sigv4_verify(&rq, NOW, &o, &res, &err))
            return 1;
    }
    t1 = now_ns();
    printf("verify header, cached key:   %8.0f ns/op  (%ld ops, cache hits %llu)\n",
           (t1 - t0) / (double)iters, iters, (unsigned long long)kc.hits);

    o.scratch = &scratch;
    t0 = now_ns();
    for (long i = 0; i < iters; i++) {
        if (sigv4_verify(&rq, NOW, &o, &res, &err))
            return 1;
    }
    t1 = now_ns();
    printf("  + per-worker scratch:      %8.0f ns/op  (no allocation)\n",
           (t1 - t0) / (double)iters);

    o.cache = NULL;
    t0 = now_ns();
    for (long i = 0; i < iters; i++) {
        if (sigv4_verify(&rq, NOW, &o, &res, &err))
            return 1;
    }
    t1 = now_ns();
    printf("verify header, uncached key: %8.0f ns/op\n", (t1 - t0) / (double)iters);

    p.cache = &kc;
    t0 = now_ns();
    for (long i = 0; i < iters; i++) {
        if (sigv4_sign_headers(&p, &c, &sg, &err))
            return 1;
    }
    t1 = now_ns();
    printf("sign headers, cached key:    %8.0f ns/op\n", (t1 - t0) / (double)iters);

    uint8_t key[32], sig[32];
    t0 = now_ns();
    for (long i = 0; i < iters; i++)
        sigv4_signing_key(S3W_SLICE_LIT(SECRET), S3W_SLICE_LIT("20231114"),
                          S3W_SLICE_LIT("us-east-1"), S3W_SLICE_LIT("s3"), key);
    t1 = now_ns();
    printf("signing key derivation:      %8.0f ns/op\n", (t1 - t0) / (double)iters);

    const char sts[] = "AWS4-HMAC-SHA256\n20231114T221320Z\n20231114/us-east-1/s3/aws4_request\n"
                       "3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04";
    t0 = now_ns();
    for (long i = 0; i < iters; i++)
        sigv4_signature(key, S3W_SLICE_LIT(sts), sig);
    t1 = now_ns();
    printf("HMAC over a string to sign:  %8.0f ns/op\n", (t1 - t0) / (double)iters);

    static uint8_t block[16384];
    long big = iters / 20 + 1;
    t0 = now_ns();
    for (long i = 0; i < big; i++)
        sigv4_sha256(block, sizeof block, sig);
    t1 = now_ns();
    printf("SHA-256 16 KiB blocks:       %8.0f MB/s (compare openssl speed -evp sha256)\n",
           (double)big * sizeof block / ((t1 - t0) / 1e9) / 1e6);
    sigv4_result_cleanup(&res);
    sigv4_signed_cleanup(&sg);
    sigv4_keycache_cleanup(&kc);
    s3w_buf_cleanup(&scratch);
    return 0;
}
