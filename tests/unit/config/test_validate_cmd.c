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
    snprintf(want, sizeof want, "%s: OK (3 accounts, 4 users, 2 roles, 0 role sessions, "
             "4 access keys, 1 buckets, 0 guardrails, sts enabled)\n", f);
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
        cmocka_unit_test(test_unreadable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
