/*
 * bench_policy.c - evaluation time per request, and proof that evaluation
 * allocates nothing.
 *
 *  1. seed policies (shared/seeds 002: bucket policy with the aws:userid
 *     deny exception + the role's identity policy, cross-account; seed 004
 *     account delegation; a ${aws:username} identity policy): target <= 1 us
 *  2. a generated 500-statement bucket policy + 10 identity policies of 20
 *     statements each, with conditions and variables: target <= 20 us
 *
 * Allocation check: this binary interposes malloc/calloc/realloc/free
 * (glibc resolves them to the executable's definitions first; ours count
 * and forward to __libc_malloc & co.). The counter is armed only around the
 * timed policy_evaluate() loops; any allocation there fails the benchmark
 * (exit 1). Under ASan (which owns malloc) the check is skipped.
 *
 * Run: build/tests/bench/bench_policy [iterations [scenario-substring]]
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy.h"

#if defined(__SANITIZE_ADDRESS__)
#define COUNT_ALLOCS 0
#else
#define COUNT_ALLOCS 1
#endif

static volatile bool g_armed;
static volatile size_t g_allocs;

#if COUNT_ALLOCS
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t m);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

void *malloc(size_t n)
{
    if (g_armed)
        g_allocs++;
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t m)
{
    if (g_armed)
        g_allocs++;
    return __libc_calloc(n, m);
}

void *realloc(void *p, size_t n)
{
    if (g_armed)
        g_allocs++;
    return __libc_realloc(p, n);
}

void free(void *p)
{
    if (g_armed && p)
        g_allocs++;
    __libc_free(p);
}
#endif

/* CPU time of this thread: the CI machine is shared (2 cores, several
 * builds at once), and wall time would count the time we were descheduled.
 * Wall time is printed beside it for reference. */
static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static struct policy *compile(const char *json, enum policy_kind kind, const char *name)
{
    struct policy_compile_opts o = { .kind = kind, .name = name };
    struct policy_diags *d = malloc(sizeof(*d));
    struct policy *p = NULL;
    policy_diags_init(d);
    if (policy_compile(json, strlen(json), &o, &p, d) != POLICY_OK) {
        fprintf(stderr, "bench: %s does not compile: %s\n", name, d->n ? d->items[0].text : "?");
        exit(2);
    }
    free(d);
    return p;
}

struct scenario {
    const char *name;
    const struct policy_set *set;
    const struct policy_request *req;
    enum policy_decision want;
    double target_ns;
};

static int run(const struct scenario *s, long iters)
{
    struct policy_result res;
    /* warm up and check the answer */
    policy_evaluate(s->set, s->req, &res);
    if (res.decision != s->want) {
        fprintf(stderr, "bench: %s: decision %s, want %s\n", s->name,
                policy_decision_name(res.decision), policy_decision_name(s->want));
        return 1;
    }
    g_allocs = 0;
    g_armed = true;
    double w0 = wall_ns(), t0 = now_ns();
    for (long i = 0; i < iters; i++)
        policy_evaluate(s->set, s->req, &res);
    double t1 = now_ns(), w1 = wall_ns();
    g_armed = false;
    double per = (t1 - t0) / (double)iters;
    printf("%-58s %9.1f ns/eval cpu (%9.1f wall) target %6.0f ns; allocs during eval: %zu%s\n",
           s->name, per, (w1 - w0) / (double)iters, s->target_ns, (size_t)g_allocs,
           COUNT_ALLOCS ? "" : " (not counted under ASan)");
    return (g_allocs != 0 || per > s->target_ns) ? 1 : 0;
}

static char *gen_bucket_policy(void)
{
    static const char *const acts[] = { "s3:GetObject", "s3:PutObject", "s3:DeleteObject",
                                        "s3:ListBucket", "s3:GetObjectTagging", "s3:PutObjectAcl",
                                        "s3:Get*", "s3:List*", "s3:AbortMultipartUpload",
                                        "s3:RestoreObject" };
    size_t cap = 1u << 20, n = 0;
    char *b = malloc(cap);
    n += (size_t)snprintf(b + n, cap - n, "{\"Version\":\"2012-10-17\",\"Statement\":[");
    for (int i = 0; i < 500; i++) {
        const char *eff = (i % 7 == 3) ? "Deny" : "Allow";
        n += (size_t)snprintf(b + n, cap - n,
            "%s{\"Sid\":\"S%d\",\"Effect\":\"%s\",\"Principal\":{\"AWS\":[\"arn:aws:iam::%012d:role/r%d\","
            "\"arn:aws:iam::%012d:user/u%d\"]},\"Action\":[\"%s\",\"%s\"],"
            "\"Resource\":[\"arn:aws:s3:::bench/p%d/*\",\"arn:aws:s3:::bench/home/${aws:username}/*\"],"
            "\"Condition\":{\"StringLike\":{\"s3:prefix\":[\"p%d/*\",\"home/${aws:username}/*\"]},"
            "\"IpAddress\":{\"aws:SourceIp\":[\"10.%d.0.0/16\",\"2001:db8:%x::/48\"]},"
            "\"DateLessThan\":{\"aws:CurrentTime\":\"2030-01-01T00:00:00Z\"}}}",
            i ? "," : "", i, eff, 100000000 + i % 50, i, 100000000 + i % 50, i, acts[i % 10],
            acts[(i + 3) % 10], i, i, i % 256, i);
    }
    snprintf(b + n, cap - n, "]}");
    return b;
}

static char *gen_identity_policy(int k)
{
    size_t cap = 1u << 18, n = 0;
    char *b = malloc(cap);
    n += (size_t)snprintf(b + n, cap - n, "{\"Version\":\"2012-10-17\",\"Statement\":[");
    for (int i = 0; i < 20; i++)
        n += (size_t)snprintf(b + n, cap - n,
            "%s{\"Effect\":\"%s\",\"Action\":[\"s3:%sObject\",\"ec2:Describe*\"],"
            "\"Resource\":\"arn:aws:s3:::bench%d/${aws:username}/%d/*\","
            "\"Condition\":{\"StringEquals\":{\"aws:PrincipalTag/team\":\"t%d\"},"
            "\"Bool\":{\"aws:SecureTransport\":\"true\"}}}",
            i ? "," : "", i == 19 ? "Deny" : "Allow", (i % 2) ? "Get" : "Put", k, i, i);
    snprintf(b + n, cap - n, "]}");
    return b;
}

int main(int argc, char **argv)
{
    long iters = argc > 1 ? atol(argv[1]) : 200000;
    int fail = 0;

    /* ---- seed 002, cross-account role with the aws:userid deny exception */
    struct policy *s002 = compile(
        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":"
        "\"arn:aws:iam::111111111111:role/ROLENAME\"},\"Action\":\"s3:ListBucket\",\"Resource\":"
        "\"arn:aws:s3:::MyExampleBucket\"},{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":"
        "\"arn:aws:iam::111111111111:role/ROLENAME\"},\"Action\":[\"s3:GetObject\",\"s3:PutObject\","
        "\"s3:DeleteObject\"],\"Resource\":\"arn:aws:s3:::MyExampleBucket/*\"},{\"Effect\":\"Deny\","
        "\"Principal\":\"*\",\"Action\":\"s3:*\",\"Resource\":[\"arn:aws:s3:::MyExampleBucket\","
        "\"arn:aws:s3:::MyExampleBucket/*\"],\"Condition\":{\"StringNotLike\":{\"aws:userId\":"
        "[\"AROAEXAMPLEID:*\",\"111111111111\"]}}}]}", POLICY_KIND_RESOURCE, "bucket-002");
    struct policy *i002 = compile(
        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"s3:ListAllMyBuckets\","
        "\"s3:GetBucketLocation\"],\"Resource\":\"*\"},{\"Effect\":\"Allow\",\"Action\":\"s3:ListBucket\","
        "\"Resource\":\"arn:aws:s3:::MyExampleBucket\"},{\"Effect\":\"Allow\",\"Action\":[\"s3:GetObject\","
        "\"s3:PutObject\",\"s3:DeleteObject\"],\"Resource\":\"arn:aws:s3:::MyExampleBucket/*\"}]}",
        POLICY_KIND_IDENTITY, "role-002");
    struct policy *s004 = compile(
        "{\"Version\":\"2012-10-17\",\"Statement\":{\"Sid\":\"AccountBAccess1\",\"Effect\":\"Allow\","
        "\"Principal\":{\"AWS\":\"111122223333\"},\"Action\":\"s3:*\",\"Resource\":[\"arn:aws:s3:::mybucket\","
        "\"arn:aws:s3:::mybucket/*\"]}}", POLICY_KIND_RESOURCE, "bucket-004");
    struct policy *i004 = compile(
        "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"s3:List*\",\"Resource\":"
        "[\"arn:aws:s3:::mybucket\",\"arn:aws:s3:::mybucket/*\"]}}", POLICY_KIND_IDENTITY, "user-004");
    struct policy *i000 = compile(
        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Action\":[\"s3:GetObject\",\"s3:PutObject\","
        "\"s3:DeleteObject\"],\"Effect\":\"Allow\",\"Resource\":\"arn:aws:s3:::fooCorp-user-files/${aws:username}/*\"},"
        "{\"Action\":\"s3:ListBucket\",\"Effect\":\"Allow\",\"Resource\":\"arn:aws:s3:::fooCorp-user-files\"}]}",
        POLICY_KIND_IDENTITY, "user-files-000");

    struct policy_principal sess = {
        .type = POLICY_PRINCIPAL_ROLE_SESSION,
        .arn = S3W_SLICE_LIT("arn:aws:sts::111111111111:assumed-role/ROLENAME/sess"),
        .account = S3W_SLICE_LIT("111111111111"), .unique_id = S3W_SLICE_LIT("AROAEXAMPLEID"),
        .role_arn = S3W_SLICE_LIT("arn:aws:iam::111111111111:role/ROLENAME"),
        .session_name = S3W_SLICE_LIT("sess"),
    };
    struct policy_principal bob = {
        .type = POLICY_PRINCIPAL_USER, .arn = S3W_SLICE_LIT("arn:aws:iam::111122223333:user/bob"),
        .account = S3W_SLICE_LIT("111122223333"), .unique_id = S3W_SLICE_LIT("AIDABOBEXAMPLE000001"),
        .username = S3W_SLICE_LIT("bob"),
    };
    struct policy_principal app1 = {
        .type = POLICY_PRINCIPAL_USER, .arn = S3W_SLICE_LIT("arn:aws:iam::100000000007:user/u7"),
        .account = S3W_SLICE_LIT("100000000007"), .unique_id = S3W_SLICE_LIT("AIDAU7EXAMPLE0000001"),
        .username = S3W_SLICE_LIT("u7"),
    };
    static struct policy_context c_sess, c_bob, c_app;
    char scr1[128], scr2[128], scr3[128];
    policy_context_init(&c_sess);
    policy_context_set_principal(&c_sess, &sess, scr1, sizeof(scr1));
    policy_context_set(&c_sess, S3W_SLICE_LIT("aws:SecureTransport"), S3W_SLICE_LIT("true"));
    policy_context_init(&c_bob);
    policy_context_set_principal(&c_bob, &bob, scr2, sizeof(scr2));
    policy_context_init(&c_app);
    policy_context_set_principal(&c_app, &app1, scr3, sizeof(scr3));
    policy_context_set(&c_app, S3W_SLICE_LIT("s3:prefix"), S3W_SLICE_LIT("home/u7/docs/"));
    policy_context_set(&c_app, S3W_SLICE_LIT("aws:SourceIp"), S3W_SLICE_LIT("10.7.3.4"));
    policy_context_set(&c_app, S3W_SLICE_LIT("aws:CurrentTime"), S3W_SLICE_LIT("2026-11-22T10:00:00Z"));
    policy_context_set(&c_app, S3W_SLICE_LIT("aws:SecureTransport"), S3W_SLICE_LIT("true"));
    policy_context_set(&c_app, S3W_SLICE_LIT("aws:PrincipalTag/team"), S3W_SLICE_LIT("t5"));

    const struct policy *ids002[] = { i002 }, *ids004[] = { i004 }, *ids000[] = { i000 };
    struct policy_set set002 = { .resource = s002, .identity = ids002, .nidentity = 1 };
    struct policy_set set004 = { .resource = s004, .identity = ids004, .nidentity = 1 };
    struct policy_set set000 = { .identity = ids000, .nidentity = 1 };
    struct policy_request r002 = { &sess, S3W_SLICE_LIT("s3:GetObject"),
                                   S3W_SLICE_LIT("arn:aws:s3:::MyExampleBucket/reports/2026/q3.csv"),
                                   S3W_SLICE_LIT("333333333333"), &c_sess };
    struct policy_request r004 = { &bob, S3W_SLICE_LIT("s3:ListBucket"), S3W_SLICE_LIT("arn:aws:s3:::mybucket"),
                                   S3W_SLICE_LIT("123456789012"), &c_bob };
    struct policy_request r000 = { &bob, S3W_SLICE_LIT("s3:GetObject"),
                                   S3W_SLICE_LIT("arn:aws:s3:::fooCorp-user-files/bob/a/b.txt"),
                                   S3W_SLICE_LIT("111122223333"), &c_bob };

    /* ---- generated: 500-statement bucket policy + 10 identity policies */
    char *bj = gen_bucket_policy();
    printf("generated bucket policy: %zu bytes (compiled with the size cap lifted)\n", strlen(bj));
    struct policy_compile_opts bo = { .kind = POLICY_KIND_RESOURCE, .name = "bucket-500",
                                      .max_bytes = 1u << 20 };
    struct policy *big = NULL;
    struct policy_diags *d = malloc(sizeof(*d));
    policy_diags_init(d);
    if (policy_compile(bj, strlen(bj), &bo, &big, d) != POLICY_OK) {
        fprintf(stderr, "bench: generated policy: %s\n", d->n ? d->items[0].text : "?");
        return 2;
    }
    free(d);
    free(bj);
    const struct policy *ids[10];
    for (int k = 0; k < 10; k++) {
        char *t = gen_identity_policy(k);
        char nm[32];
        snprintf(nm, sizeof(nm), "identity-%d", k);
        ids[k] = compile(t, POLICY_KIND_IDENTITY, nm);
        free(t);
    }
    struct policy_set setbig = { .resource = big, .identity = ids, .nidentity = 10 };
    struct policy_request rbig = { &app1, S3W_SLICE_LIT("s3:GetObject"),
                                   S3W_SLICE_LIT("arn:aws:s3:::bench/home/u7/docs/report.pdf"),
                                   S3W_SLICE_LIT("999999999999"), &c_app };
    struct policy_request rbig_list = { &app1, S3W_SLICE_LIT("s3:ListBucket"),
                                        S3W_SLICE_LIT("arn:aws:s3:::bench"),
                                        S3W_SLICE_LIT("999999999999"), &c_app };

    const struct scenario sc[] = {
        { "seed002 cross-account role session GetObject (allowed)", &set002, &r002, POLICY_ALLOWED, 1000 },
        { "seed004 account delegation ListBucket (allowed)", &set004, &r004, POLICY_ALLOWED, 1000 },
        { "seed000 ${aws:username} prefix GetObject (allowed)", &set000, &r000, POLICY_ALLOWED, 1000 },
        { "500-stmt bucket + 10 identity, GetObject (implicit deny)", &setbig, &rbig, POLICY_IMPLICIT_DENY, 20000 },
        { "500-stmt bucket + 10 identity, ListBucket (implicit deny)", &setbig, &rbig_list, POLICY_IMPLICIT_DENY, 20000 },
    };
#if COUNT_ALLOCS
    /* the counter must see allocations made inside the library too: one
     * compile (cJSON + arena) with the counter armed must count some */
    g_allocs = 0;
    g_armed = true;
    policy_free(compile("{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}}",
                        POLICY_KIND_IDENTITY, "probe"));
    g_armed = false;
    printf("allocation counter self-check: a compile made %zu malloc/free calls\n", (size_t)g_allocs);
    if (g_allocs == 0) {
        fprintf(stderr, "bench: malloc interposition is not working\n");
        return 2;
    }
#endif
    printf("%ld iterations per scenario\n", iters);
    for (size_t i = 0; i < sizeof(sc) / sizeof(sc[0]); i++)
        if (argc < 3 || strstr(sc[i].name, argv[2])) /* optional name filter */
            fail |= run(&sc[i], iters);

    policy_free(s002);
    policy_free(i002);
    policy_free(s004);
    policy_free(i004);
    policy_free(i000);
    policy_free(big);
    for (int k = 0; k < 10; k++)
        policy_free((struct policy *)ids[k]);
    printf("%s\n", fail ? "FAIL (over target or allocated)" : "OK");
    return fail;
}
