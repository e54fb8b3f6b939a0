/* bench_audit_format - CPU time to format one audit record, in s3warden's
 * format and in CloudTrail's (issue 13's benchmark: what the CloudTrail
 * format adds per request, without the noise of a whole proxy run).
 *
 * The record is the 1 KiB GET of bench_proxy.sh as s3warden writes it: an
 * IAM user, one action, the 18 request-context keys such a GET carries
 * (taken from a bench_proxy audit line). Each format runs ROUNDS times
 * over N records, alternating; the best round of each is printed, in CPU
 * nanoseconds per record (CLOCK_THREAD_CPUTIME_ID), with the line length.
 *
 * Usage: bench_audit_format [N (200000)] [ROUNDS (5)] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "context.h"

static const char *const ctx_kv[][2] = {
    { "s3:x-amz-content-sha256", "UNSIGNED-PAYLOAD" },
    { "s3:authType", "REST-HEADER" },
    { "s3:signatureversion", "AWS4-HMAC-SHA256" },
    { "s3:ResourceAccount", "111111111111" },
    { "aws:ResourceAccount", "111111111111" },
    { "aws:SecureTransport", "false" },
    { "aws:SourceIp", "127.0.0.1" },
    { "aws:CurrentTime", "2026-12-05T05:19:07Z" },
    { "aws:EpochTime", "1796447947" },
    { "aws:UserAgent", "curl/7.88.1" },
    { "aws:RequestedRegion", "us-east-1" },
    { "aws:ViaAWSService", "false" },
    { "aws:PrincipalIsAWSService", "false" },
    { "aws:userid", "AIDABENCH0000000001" },
    { "aws:PrincipalAccount", "111111111111" },
    { "aws:PrincipalType", "User" },
    { "aws:PrincipalArn", "arn:aws:iam::111111111111:user/bench" },
    { "aws:username", "bench" },
};

static double cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* One round: n records in format f; CPU ns per record, *len the length. */
static double round_ns(const struct audit_record *r, int f, long n, size_t *len)
{
    static const struct audit_cloudtrail_opts ct = { "us-east-1", "111111111111" };
    struct s3w_buf b;
    s3w_buf_init(&b, AUDIT_LINE_MAX);
    double t0 = cpu_ns();
    for (long i = 0; i < n; i++) {
        s3w_buf_reset(&b);
        int rc = f ? audit_format_cloudtrail(r, &ct, &b) : audit_format(r, &b);
        if (rc != 0) {
            fprintf(stderr, "bench_audit_format: format %d failed: %d\n", f, rc);
            exit(1);
        }
    }
    double t = (cpu_ns() - t0) / (double)n;
    *len = b.len;
    s3w_buf_cleanup(&b);
    return t;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 200000;
    int rounds = argc > 2 ? atoi(argv[2]) : 5;
    if (n <= 0 || rounds <= 0) {
        fprintf(stderr, "usage: bench_audit_format [N] [ROUNDS]\n");
        return 2;
    }
    static struct policy_context ctx;
    policy_context_init(&ctx);
    for (size_t i = 0; i < sizeof(ctx_kv) / sizeof(ctx_kv[0]); i++)
        if (policy_context_set(&ctx, s3w_slice_cstr(ctx_kv[i][0]), s3w_slice_cstr(ctx_kv[i][1]))) {
            fprintf(stderr, "bench_audit_format: context key %s refused\n", ctx_kv[i][0]);
            return 1;
        }
    struct audit_record r;
    memset(&r, 0, sizeof(r));
    r.time_ms = 1796447947071;
    r.request_id = S3W_SLICE_LIT("9DFD807F00000001");
    r.source_ip = S3W_SLICE_LIT("127.0.0.1");
    r.user_agent = S3W_SLICE_LIT("curl/7.88.1");
    r.identity_type = S3W_SLICE_LIT("IAMUser");
    r.principal_id = S3W_SLICE_LIT("AIDABENCH0000000001");
    r.arn = S3W_SLICE_LIT("arn:aws:iam::111111111111:user/bench");
    r.account_id = S3W_SLICE_LIT("111111111111");
    r.access_key_id = S3W_SLICE_LIT("AKIABENCHCLIENT00001");
    r.event_name = S3W_SLICE_LIT("GetObject");
    r.bucket = S3W_SLICE_LIT("bkt");
    r.key = S3W_SLICE_LIT("1k");
    r.actions[0] = S3W_SLICE_LIT("s3:GetObject");
    r.resources[0] = S3W_SLICE_LIT("arn:aws:s3:::bkt/1k");
    r.nauthz = 1;
    r.decision = S3W_SLICE_LIT("Allowed");
    r.deciding = S3W_SLICE_LIT("rw:#0");
    r.http_status = 200;
    r.bytes_in = 383;
    r.bytes_out = 1240;
    r.latency_ms = 1;
    r.upstream_latency_ms = 1;
    r.context = &ctx;
    r.host = S3W_SLICE_LIT("127.0.0.1:8080");
    r.bucket_account = S3W_SLICE_LIT("111111111111");
    r.auth_method = S3W_SLICE_LIT("AuthHeader");

    double best[2] = { 0, 0 };
    size_t len[2] = { 0, 0 };
    for (int k = 0; k < rounds; k++)
        for (int f = 0; f < 2; f++) {
            double t = round_ns(&r, f, n, &len[f]);
            if (k == 0 || t < best[f])
                best[f] = t;
        }
    printf("format       ns/record (best of %d x %ld)  bytes\n", rounds, n);
    printf("s3warden     %9.0f  %30zu\n", best[0], len[0]);
    printf("cloudtrail   %9.0f  %30zu\n", best[1], len[1]);
    printf("cloudtrail - s3warden: %+.0f ns per record\n", best[1] - best[0]);
    return 0;
}
