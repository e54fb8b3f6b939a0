/* test_cli.c - the s3warden binary's commands, run as a user runs them
 * (S3W_BIN):
 *  - serve refuses a config with more than one listener (only listeners[0]
 *    would be bound), exit 2 with the reason, instead of ignoring the rest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

static char out[65536];

/* Runs `$S3W_BIN args` with stderr merged; returns the exit status. */
static int run(const char *args)
{
    const char *bin = getenv("S3W_BIN");
    assert_non_null(bin);
    char cmd[4096];
    snprintf(cmd, sizeof(cmd), "'%s' %s 2>&1", bin, args);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    size_t n = fread(out, 1, sizeof(out) - 1, f);
    out[n] = 0;
    int st = pclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_serve_refuses_two_listeners(void **state)
{
    (void)state;
    char path[] = "/tmp/s3w-cli-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    write_file(path, "{\"listeners\":[{\"address\":\"127.0.0.1\",\"port\":1},"
                     "{\"address\":\"127.0.0.1\",\"port\":2}],"
                     "\"upstream\":{\"endpoint\":\"http://127.0.0.1:1\",\"region\":\"us-east-1\"}}");
    char args[256];
    snprintf(args, sizeof(args), "serve --config %s", path);
    assert_int_equal(run(args), 2);
    char want[512];
    snprintf(want, sizeof(want), "ERROR config: %s: listeners: 2 listeners given, but s3warden "
             "serves exactly one (listeners[0]); remove the others or run one s3warden per "
             "listener", path);
    assert_non_null(strstr(out, want));
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_serve_refuses_two_listeners),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
