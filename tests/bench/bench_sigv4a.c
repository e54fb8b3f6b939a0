/*
 * bench_sigv4a - SigV4a costs on this machine, one core:
 *   key derivation uncached / through the cache (hit), ECDSA sign and verify
 *   of a string to sign, a whole header-signed request through sigv4_verify()
 *   with the v4a hook (key cached), and chunk verify + re-sign of 64 KiB
 *   aws-chunked chunks (ECDSA streaming) against plain SHA-256 of the same
 *   bytes.
 * Usage: bench_sigv4a [scale]   (scale multiplies the iteration counts; 1)
 * Times are process CPU time, like `openssl speed` without -elapsed, so the
 * figures stay meaningful on a machine shared with other work; compare them
 * with `openssl speed ecdsap256` and `openssl speed -evp sha256`.
 */
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bytes.h"
#include "sigv4.h"
#include "sigv4a.h"

#define AKID "AKIDEXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_sigv4a: %s failed\n", what);
    exit(1);
}

static void report(const char *what, long n, double secs)
{
    printf("%-44s %9.2f us/op  (%ld ops, %.2f s)\n", what, secs * 1e6 / (double)n, n, secs);
}

static enum sigv4_lookup_status lookup(void *ud, struct s3w_slice akid, struct s3w_slice token,
                                       char *secret_out, size_t *secret_len)
{
    (void)ud;
    (void)akid;
    (void)token;
    memcpy(secret_out, SECRET, sizeof SECRET - 1);
    *secret_len = sizeof SECRET - 1;
    return SIGV4_LOOKUP_OK;
}

int main(int argc, char **argv)
{
    long scale = argc > 1 ? strtol(argv[1], NULL, 10) : 1;
    if (scale < 1)
        scale = 1;
    struct s3w_slice akid = S3W_SLICE_LIT(AKID), secret = S3W_SLICE_LIT(SECRET);
    struct sigv4a_key *key = NULL;
    double t;

    /* 1. derivation, uncached */
    long n = 2000 * scale;
    t = now_s();
    for (long i = 0; i < n; i++) {
        if (sigv4a_key_derive(akid, secret, &key))
            die("derive");
        sigv4a_key_unref(key);
    }
    report("key derivation (uncached)", n, now_s() - t);

    /* 2. derivation through the cache (hit) */
    struct sigv4a_key_cache *cache = sigv4a_key_cache_new(64);
    if (!cache || sigv4a_key_cache_get(cache, akid, secret, &key))
        die("cache");
    sigv4a_key_unref(key);
    n = 200000 * scale;
    t = now_s();
    for (long i = 0; i < n; i++) {
        if (sigv4a_key_cache_get(cache, akid, secret, &key))
            die("cache get");
        sigv4a_key_unref(key);
    }
    report("key lookup (cache hit)", n, now_s() - t);

    /* 3. sign and verify a request string to sign */
    if (sigv4a_key_derive(akid, secret, &key))
        die("derive");
    struct s3w_slice sts = S3W_SLICE_LIT(
        "AWS4-ECDSA-P256-SHA256\n20150830T123600Z\n20150830/s3/aws4_request\n"
        "cf59db423e841c8b7e3444158185aa261b724a5c27cbe762676f3eed19f4dc02");
    char sig[SIGV4A_SIG_HEX_MAX + 1];
    size_t sl = 0;
    n = 5000 * scale;
    t = now_s();
    for (long i = 0; i < n; i++)
        if (sigv4a_sign_sts(key, sts, sig, &sl))
            die("sign");
    report("ECDSA sign (string to sign)", n, now_s() - t);
    t = now_s();
    for (long i = 0; i < n; i++)
        if (sigv4a_verify_sts(key, sts, s3w_slice(sig, sl)))
            die("verify");
    report("ECDSA verify (string to sign)", n, now_s() - t);

    /* 4. a whole header-signed request through sigv4_verify + hook */
    struct s3w_header in[2] = {
        { S3W_SLICE_LIT("Host"), S3W_SLICE_LIT("examplebucket.s3.amazonaws.com") },
        { S3W_SLICE_LIT("Range"), S3W_SLICE_LIT("bytes=0-9") },
    };
    int64_t when = 1767323045;
    struct sigv4_sign_params sp = {
        .method = S3W_SLICE_LIT("GET"), .target = S3W_SLICE_LIT("/photos/2026/a.jpg?versionId=7"),
        .headers = in, .n_headers = 2, .service = S3W_SLICE_LIT("s3"),
        .uri_mode = SIGV4_URI_S3, .now = when,
        .payload = S3W_SLICE_LIT("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    };
    struct sigv4_credentials cr = { akid, secret, S3W_SLICE_NULL };
    static struct sigv4a_signed s;
    struct sigv4_error err;
    if (sigv4a_sign_headers(&sp, &cr, key, S3W_SLICE_LIT("us-east-1"), &s, &err))
        die("sign_headers");
    struct s3w_header h[6] = {
        in[0], in[1],
        { S3W_SLICE_LIT("X-Amz-Date"), s3w_slice(s.amz_date, 16) },
        { S3W_SLICE_LIT("X-Amz-Region-Set"), s.region_set },
        { S3W_SLICE_LIT("x-amz-content-sha256"), s3w_slice(s.content_sha256, s.content_sha256_len) },
        { S3W_SLICE_LIT("Authorization"), s3w_slice(s.authorization, s.authorization_len) },
    };
    struct sigv4_request req = { sp.method, sp.target, h, 6 };
    static const struct s3w_slice region = { "us-east-1", 9 };
    struct sigv4_verify_opts o = {
        .regions = &region, .n_regions = 1, .service = S3W_SLICE_LIT("s3"),
        .uri_mode = SIGV4_URI_S3, .lookup = lookup,
        .v4a = { sigv4a_hook_verify, cache },
    };
    static struct sigv4_result res;
    n = 3000 * scale;
    t = now_s();
    for (long i = 0; i < n; i++) {
        if (sigv4_verify(&req, when + 5, &o, &res, &err) ||
            sigv4a_check_region(&res, region, &err))
            die("sigv4_verify (v4a)");
        sigv4_result_cleanup(&res);
    }
    report("request verify, sigv4_verify+hook (cached)", n, now_s() - t);

    /* 5. aws-chunked ECDSA: verify + re-sign per 64 KiB chunk vs SHA-256 */
    size_t csz = 65536;
    uint8_t *chunk = malloc(csz);
    if (!chunk)
        die("malloc");
    memset(chunk, 'a', csz);
    uint8_t h32[32];
    struct s3w_slice date = S3W_SLICE_LIT("20260102T030405Z");
    struct s3w_slice scope = S3W_SLICE_LIT("20260102/s3/aws4_request");
    char csig[SIGV4A_CHUNK_SIG_LEN + 1], nsig[SIGV4A_CHUNK_SIG_LEN + 1];
    size_t cl = 0, nl = 0;
    SHA256(chunk, csz, h32);
    if (sigv4a_chunk_sign(key, date, scope, s3w_slice(sig, sl), h32, csig, &cl))
        die("chunk sign");
    long nc = 2000 * scale;
    t = now_s();
    for (long i = 0; i < nc; i++)
        SHA256(chunk, csz, h32);
    double sha = now_s() - t;
    t = now_s();
    for (long i = 0; i < nc; i++) {
        SHA256(chunk, csz, h32);
        if (sigv4a_chunk_verify(key, date, scope, s3w_slice(sig, sl), h32,
                                s3w_slice(csig, SIGV4A_CHUNK_SIG_LEN)) ||
            sigv4a_chunk_sign(key, date, scope, s3w_slice(sig, sl), h32, nsig, &nl))
            die("chunk verify+sign");
    }
    double both = now_s() - t;
    double mb = (double)nc * (double)csz / 1e6;
    printf("%-44s %9.1f MB/s\n", "SHA-256 alone, 64 KiB chunks", mb / sha);
    printf("%-44s %9.1f MB/s  (%.0f%% of SHA-256; %.1f us/chunk)\n",
           "ECDSA chunk hash+verify+re-sign, 64 KiB", mb / both, 100.0 * sha / both,
           both * 1e6 / (double)nc);

    free(chunk);
    sigv4a_key_unref(key);
    sigv4a_key_cache_free(cache);
    return 0;
}
