/* `s3warden validate --config FILE` (proxy/cmd_config.c) through the real
 * binary: exit codes 0 / 1 / 2 and the exact lines it prints. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Runs the binary with stdout and stderr captured together; returns the
 * exit code. */
static int run(const char *file, char *out, size_t cap)
{
    const char *bin = getenv("S3W_BIN");
    assert_non_null(bin);
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "'%s' validate --config '%s' 2>&1", bin, file);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *src(const char *rel)
{
    static char buf[1024];
    snprintf(buf, sizeof buf, "%s/%s", getenv("S3W_SOURCE_ROOT"), rel);
    return buf;
}

static void test_valid(void **state)
{
    (void)state;
    char out[4096], want[8192];
    const char *f = src("deploy/examples/seed003-assume-role-cross-account.json");
    assert_int_equal(run(f, out, sizeof out), 0);
    /* valid, with the one warning every example's STS key earns: it is
     * public, and not random (probe 25) */
    snprintf(want, sizeof want, "warning: %s: sts.keys[0].key: has only 5 distinct byte values "
             "of 32: it is not random (the examples' keys are public), and whoever knows it can "
             "mint session tokens for every role; make one with `openssl rand -hex 32`\n"
             "%s: OK (3 accounts, 4 users, 2 roles, 0 role sessions, "
             "4 access keys, 1 buckets, 0 guardrails, sts enabled)\n", f, f);
    assert_string_equal(out, want);
}

static void test_invalid(void **state)
{
    (void)state;
    char out[4096], want[16384];
    char f[2048];
    snprintf(f, sizeof f, "%s", src("tests/unit/config/bad/role-trust-resource.json"));
    assert_int_equal(run(f, out, sizeof out), 1);
    snprintf(want, sizeof want,
             "%s: roles[0].trust_policy.Statement[0]: a trust policy has no Resource or "
             "NotResource (the role is the resource)\n%s: invalid (1 errors)\n", f, f);
    assert_string_equal(out, want);
}

/* Several upstreams: an unknown upstream name is an error with its path;
 * an upstream nothing names and a credential set nothing uses are
 * warnings, printed before the OK line (exit 0). */
static void test_upstreams(void **state)
{
    (void)state;
    char out[4096], want[16384];
    char f[2048];
    snprintf(f, sizeof f, "%s", src("tests/unit/config/bad/upstreams-bucket-unknown.json"));
    assert_int_equal(run(f, out, sizeof out), 1);
    snprintf(want, sizeof want,
             "%s: buckets[1].upstream: no upstream named \"rgw2\" (upstreams: rgw, moto)\n"
             "%s: invalid (1 errors)\n", f, f);
    assert_string_equal(out, want);

    char tmp[] = "/tmp/s3w-validate-XXXXXX";
    int fd = mkstemp(tmp);
    assert_true(fd >= 0);
    FILE *w = fdopen(fd, "w");
    assert_non_null(w);
    fputs("{\"listeners\": [{\"address\": \"127.0.0.1\", \"port\": 8080}],"
          " \"credentials\": {\"chain\": [{\"type\": \"env\"}]},"
          " \"upstreams\": [{\"name\": \"aws\", \"endpoint\": \"https://s3.us-east-1.amazonaws.com\","
          "                 \"region\": \"us-east-1\"},"
          "                {\"name\": \"archive\", \"endpoint\": \"http://127.0.0.1:9000\","
          "                 \"region\": \"us-east-1\", \"credentials\": \"default\"}],"
          " \"default_upstream\": \"aws\","
          " \"credential_sets\": [{\"name\": \"old-role\", \"chain\": [{\"type\": \"imds\"}]}],"
          " \"accounts\": [{\"id\": \"111111111111\"}],"
          " \"buckets\": [{\"name\": \"lake\", \"account\": \"111111111111\"}]}", w);
    fclose(w);
    int rc = run(tmp, out, sizeof out);
    unlink(tmp);
    assert_int_equal(rc, 0);
    snprintf(want, sizeof want,
             "warning: %s: upstreams[1]: no bucket or audit sink names upstream archive, and it "
             "is not the default upstream (aws): nothing is sent to it\n"
             "warning: %s: credential_sets[0]: no upstream uses credential set old-role\n"
             "%s: OK (1 accounts, 0 users, 0 roles, 0 role sessions, 0 access keys, 1 buckets, "
             "0 guardrails, sts disabled)\n", tmp, tmp, tmp);
    assert_string_equal(out, want);
}

/* What GetBucketPolicyStatus will answer: each public bucket policy named
 * after the OK line, with the reason (policy/public.c); a bucket whose
 * policy only denies (bucket-b-deny-except-role) is not. */
static void test_public_buckets(void **state)
{
    (void)state;
    char out[8192], want[16384];
    const char *f = src("deploy/examples/seed000-ec2-instance-role.json");
    assert_int_equal(run(f, out, sizeof out), 0);
    snprintf(want, sizeof want,
             "%s: OK (2 accounts, 0 users, 1 roles, 2 role sessions, 2 access keys, 3 buckets, "
             "0 guardrails, sts disabled)\n"
             "%s: buckets[0] (bucket-b-by-role-id): public by S3's rule: Statement[0](Sid "
             "\"SID123\"): Principal \"*\", and no condition limits it to fixed values (StringLike "
             "on aws:userid: the value is of the pattern \"AROLEID:*\", which the guide puts "
             "outside the fixed values (a role's every session), \"AROAROLEAEXAMPLE0001:*\")\n"
             "%s: buckets[1] (bucket-b-by-instance-id): public by S3's rule: Statement[0](Sid "
             "\"SID123\"): Principal \"*\", and no condition limits it to fixed values (StringLike "
             "on aws:userid: the value holds a wildcard, \"*:i-0a1b2c3d4e5f60001\")\n", f, f, f);
    assert_string_equal(out, want);
}

static void test_unreadable(void **state)
{
    (void)state;
    char out[4096];
    assert_int_equal(run("/nonexistent/s3w.json", out, sizeof out), 2);
    assert_string_equal(out, "/nonexistent/s3w.json: cannot open: No such file or directory\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_upstreams),
        cmocka_unit_test(test_public_buckets),
        cmocka_unit_test(test_unreadable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
