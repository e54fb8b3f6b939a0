/*
 * test_simulate.c - the simulate contract: the pure function (output shape,
 * bad inputs with their exact reasons) and one run of the s3warden binary
 * (validate and simulate commands, exit codes 0/1/2).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"
#include <sys/wait.h>
#include <unistd.h>

#include "cases/runner.h"

static const char *const good_input =
    "{\"request\":{\"principal\":\"arn:aws:iam::111111111111:user/alice\",\"action\":\"s3:GetObject\","
    "\"resource\":{\"resource\":\"arn:aws:s3:::b/k\",\"accountId\":\"111111111111\"},"
    "\"contextVariables\":{\"aws:SourceIp\":\"10.1.2.3\"}},"
    "\"identityPolicies\":[{\"name\":\"p1\",\"policy\":{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"Get\","
    "\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::b/*\",\"Condition\":"
    "{\"IpAddress\":{\"aws:SourceIp\":\"10.0.0.0/8\"}}}]}}],"
    "\"resourcePolicy\":{\"Statement\":[{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:DeleteObject\","
    "\"Resource\":\"*\"}]}}";

static void test_output_shape(void **state)
{
    (void)state;
    char *out = NULL, *err = NULL;
    assert_int_equal(policy_simulate_json(good_input, strlen(good_input), &out, &err), POLICY_OK);
    assert_null(err);
    cJSON *o = cJSON_Parse(out);
    assert_non_null(o);
    assert_string_equal(cJSON_GetObjectItem(o, "result")->valuestring, "Allowed");
    assert_string_equal(cJSON_GetObjectItem(o, "message")->valuestring, "");
    cJSON *st = cJSON_GetObjectItem(o, "statements");
    assert_int_equal(cJSON_GetArraySize(st), 1);
    cJSON *s0 = cJSON_GetArrayItem(st, 0);
    assert_string_equal(cJSON_GetObjectItem(s0, "policy")->valuestring, "p1");
    assert_string_equal(cJSON_GetObjectItem(s0, "sid")->valuestring, "Get");
    assert_string_equal(cJSON_GetObjectItem(s0, "effect")->valuestring, "Allow");
    cJSON_Delete(o);
    free(out);
}

/* A key serve sets on every request (aws:SecureTransport, aws:SourceIp,
 * aws:CurrentTime, aws:EpochTime) that a policy tests and the input leaves
 * out stays absent, and the answer names it: the seventh probe's Deny on
 * aws:SecureTransport "false" decided Allowed here and 403 in serve, with
 * nothing to say why. Given, the key decides as serve would. */
static void test_unset_serve_keys(void **state)
{
    (void)state;
    /* the input, with room for its contextVariables (a macro: a format
     * string that is not a literal is a warning at -O0) */
#define UNSET_FMT                                                                                   \
    "{\"request\":{\"principal\":\"arn:aws:iam::111111111111:user/alice\","                         \
    "\"action\":\"s3:GetObject\",\"resource\":{\"resource\":\"arn:aws:s3:::b/k\","                  \
    "\"accountId\":\"111111111111\"}%s},\"identityPolicies\":[{\"name\":\"p1\",\"policy\":"         \
    "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\"," \
    "\"Resource\":\"*\"}]}}],\"resourcePolicy\":{\"Version\":\"2012-10-17\",\"Statement\":"         \
    "[{\"Sid\":\"TlsOnly\",\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:*\","            \
    "\"Resource\":\"*\",\"Condition\":{\"Bool\":{\"aws:securetransport\":\"false\"},"               \
    "\"DateGreaterThan\":{\"aws:CurrentTime\":\"2000-01-01T00:00:00Z\"}}}]}}"

    static const struct { const char *cv, *result, *unset; } cases[] = {
        { "", "Allowed", "[\"aws:SecureTransport\",\"aws:CurrentTime\"]" },
        { ",\"contextVariables\":{\"aws:SecureTransport\":\"false\"}", "Allowed", "[\"aws:CurrentTime\"]" },
        { ",\"contextVariables\":{\"aws:SecureTransport\":\"false\",\"aws:CurrentTime\":\"2026-01-01T00:00:00Z\"}",
          "ExplicitlyDenied", NULL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char in[2048], *out = NULL, *err = NULL;
        snprintf(in, sizeof in, UNSET_FMT, cases[i].cv);
        assert_int_equal(policy_simulate_json(in, strlen(in), &out, &err), POLICY_OK);
        cJSON *o = cJSON_Parse(out);
        assert_non_null(o);
        assert_string_equal(cJSON_GetObjectItem(o, "result")->valuestring, cases[i].result);
        cJSON *u = cJSON_GetObjectItem(o, "unsetServeKeys");
        if (!cases[i].unset) {
            assert_null(u);
        } else {
            char *got = cJSON_PrintUnformatted(u);
            assert_string_equal(got, cases[i].unset);
            free(got);
        }
        cJSON_Delete(o);
        free(out);
    }
}

static void expect_bad(const char *in, const char *reason)
{
    char *out = NULL, *err = NULL;
    assert_int_equal(policy_simulate_json(in, strlen(in), &out, &err), POLICY_E_INVALID);
    assert_null(out);
    assert_non_null(err);
    assert_string_equal(err, reason);
    free(err);
}

static void test_bad_inputs(void **state)
{
    (void)state;
    expect_bad("[1]", "input is not a JSON object");
    expect_bad("{}", "missing \"request\" object");
    expect_bad("{\"request\":{\"action\":\"GetObject\"}}",
               "request.action: must be a string like \"s3:GetObject\"");
    expect_bad("{\"request\":{\"action\":\"s3:GetObject\",\"resource\":\"arn:aws:s3:::b\"}}",
               "request.resource: must be {\"resource\": ARN, \"accountId\": \"123456789012\"}");
    expect_bad("{\"request\":{\"principal\":\"bob\",\"action\":\"s3:GetObject\",\"resource\":"
               "{\"resource\":\"arn:aws:s3:::b\",\"accountId\":\"111111111111\"}}}",
               "request.principal: not an IAM/STS principal ARN: \"bob\"");
    expect_bad("{\"request\":{\"action\":\"s3:GetObject\",\"resource\":{\"resource\":\"arn:aws:s3:::b\","
               "\"accountId\":\"111111111111\"}},\"identityPolicies\":[{\"name\":\"x\",\"policy\":"
               "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\",\"Condition\":"
               "{\"StringEqualz\":{\"s3:prefix\":\"a\"}}}}}]}",
               "x: invalid policy; Statement.Condition: unknown condition operator \"StringEqualz\"");
    expect_bad("{\"request\":{\"action\":\"s3:GetObject\",\"resource\":{\"resource\":\"arn:aws:s3:::b\","
               "\"accountId\":\"111111111111\"},\"contextVariables\":{\"k\":5}}}",
               "request.contextVariables.k: must be a string or an array of strings");
    /* "home/alice\u0000x" would read as "home/alice" */
    expect_bad("{\"request\":{\"action\":\"s3:GetObject\",\"resource\":{\"resource\":\"arn:aws:s3:::b\","
               "\"accountId\":\"111111111111\"},\"contextVariables\":{\"s3:prefix\":\"home/alice\\u0000x\"}}}",
               "input holds a NUL character (\\u0000), which no policy or request value can contain");
}

/* Runs S3W_BIN with args; returns the exit status and the stdout text. */
static int run_bin(char *const argv[], char *out, size_t cap)
{
    int fd[2];
    if (pipe(fd))
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fd[1]);
    size_t n = 0;
    ssize_t r;
    while (n + 1 < cap && (r = read(fd[0], out + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = '\0';
    close(fd[0]);
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_binary(void **state)
{
    (void)state;
    const char *bin = getenv("S3W_BIN");
    if (!bin || access(bin, X_OK) != 0)
        TU_SKIP("S3W_BIN is not an executable s3warden (meson sets it)");
    char dir[] = "/tmp/s3w-policy-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char in[128], bad[128], good[128], out[8192];
    snprintf(in, sizeof(in), "%s/in.json", dir);
    snprintf(bad, sizeof(bad), "%s/bad.json", dir);
    snprintf(good, sizeof(good), "%s/good.json", dir);
    FILE *f = fopen(in, "w");
    fputs(good_input, f);
    fclose(f);
    f = fopen(bad, "w");
    fputs("{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":"
          "\"arn:aws:iam::111122223333:group/g\"},\"Action\":\"s3:*\",\"Resource\":\"*\"}}", f);
    fclose(f);
    f = fopen(good, "w");
    fputs("{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"NotPrincipal\":{\"AWS\":"
          "\"111122223333\"},\"Action\":\"s3:*\",\"Resource\":\"*\"}}", f);
    fclose(f);

    char *sim[] = { (char *)bin, "simulate", in, NULL };
    int rc = run_bin(sim, out, sizeof(out));
    if (rc != 0)
        fprintf(stderr, "simulate: %s\n", out);
    assert_int_equal(rc, 0);
    cJSON *o = cJSON_Parse(out);
    assert_non_null(o);
    assert_string_equal(cJSON_GetObjectItem(o, "result")->valuestring, "Allowed");
    cJSON_Delete(o);

    char *val_bad[] = { (char *)bin, "validate", bad, NULL };
    assert_int_equal(run_bin(val_bad, out, sizeof(out)), 1);
    char want[512];
    snprintf(want, sizeof(want), "%s: Statement.Principal.AWS: an IAM group cannot be a principal: "
             "\"arn:aws:iam::111122223333:group/g\"\n", bad);
    assert_string_equal(out, want);

    char *val_good[] = { (char *)bin, "validate", good, NULL };
    assert_int_equal(run_bin(val_good, out, sizeof(out)), 0);
    assert_non_null(strstr(out, "NotPrincipal with Allow grants to everyone not listed"));
    assert_non_null(strstr(out, " (warning)\n"));
    /* what GetBucketPolicyStatus would answer: the NotPrincipal Allow is public */
    snprintf(want, sizeof(want), "%s: public by S3's rule: Statement[0]: NotPrincipal in an Allow "
             "grants to everyone not listed (note)\n", good);
    assert_non_null(strstr(out, want));
    /* an identity policy (no Principal) is not a bucket policy: no note */
    f = fopen(good, "w");
    fputs("{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"s3:*\","
          "\"Resource\":\"*\"}}", f);
    fclose(f);
    assert_int_equal(run_bin(val_good, out, sizeof(out)), 0);
    assert_string_equal(out, "");

    unlink(in);
    unlink(bad);
    unlink(good);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_output_shape),
        cmocka_unit_test(test_unset_serve_keys),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_binary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
