/* test_cli.c - the s3warden binary's commands, run as a user runs them
 * (S3W_BIN):
 *  - serve refuses a config with more than one listener (only listeners[0]
 *    would be bound), exit 2 with the reason, instead of ignoring the rest;
 *  - presign prints a URL for the listener that sigv4_verify accepts with
 *    the key's secret (and refuses with another), for the upstream region,
 *    with the requested expiry; unknown keys and bad arguments get their
 *    exit codes and messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "sigv4.h"

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

#define PS_AKID "AKIAPRESIGNTEST00001"
#define PS_SECRET "presignSecret/0123456789abcdefghijklmnop"

static char cfg_path[64];

static void write_presign_config(void)
{
    snprintf(cfg_path, sizeof(cfg_path), "/tmp/s3w-presign-XXXXXX");
    int fd = mkstemp(cfg_path);
    assert_true(fd >= 0);
    close(fd);
    write_file(cfg_path,
               "{\"listeners\":[{\"address\":\"0.0.0.0\",\"port\":7470}],"
               "\"upstream\":{\"endpoint\":\"http://127.0.0.1:1\",\"region\":\"us-west-2\"},"
               "\"accounts\":[{\"id\":\"111111111111\"}],"
               "\"users\":[{\"account\":\"111111111111\",\"name\":\"u\","
               "\"unique_id\":\"AIDAPRESIGN000000001\",\"access_keys\":[{\"id\":\"" PS_AKID "\","
               "\"secret\":\"" PS_SECRET "\"}]}]}");
}

static const char *lookup_secret_value;

static enum sigv4_lookup_status lookup(void *ud, struct s3w_slice akid, struct s3w_slice token,
                                       char *secret_out, size_t *secret_len)
{
    (void)ud;
    (void)token;
    if (!s3w_slice_eq_cstr(akid, PS_AKID))
        return SIGV4_LOOKUP_UNKNOWN_KEY;
    *secret_len = strlen(lookup_secret_value);
    memcpy(secret_out, lookup_secret_value, *secret_len);
    return SIGV4_LOOKUP_OK;
}

/* Verifies the printed URL as serve would (method, target, Host). */
static int verify_url(const char *method, const char *secret, struct sigv4_error *err)
{
    static const char base[] = "http://127.0.0.1:7470";
    char *nl = strchr(out, '\n');
    assert_non_null(nl);
    *nl = 0;
    assert_true(strncmp(out, base, sizeof(base) - 1) == 0);
    const char *target = out + sizeof(base) - 1;
    struct s3w_header h[] = { { S3W_SLICE_LIT("Host"), S3W_SLICE_LIT("127.0.0.1:7470") } };
    struct sigv4_request r = { s3w_slice_cstr(method), s3w_slice_cstr(target), h, 1 };
    struct s3w_slice region = S3W_SLICE_LIT("us-west-2");
    struct sigv4_verify_opts o = {
        .regions = &region, .n_regions = 1, .service = S3W_SLICE_LIT("s3"),
        .uri_mode = SIGV4_URI_S3, .lookup = lookup,
    };
    lookup_secret_value = secret;
    struct sigv4_result res;
    memset(&res, 0, sizeof(res));
    int rc = sigv4_verify(&r, (int64_t)time(NULL), &o, &res, err);
    if (rc == 0) {
        assert_true(res.presigned);
        assert_true(s3w_slice_eq_cstr(res.access_key_id, PS_AKID));
    }
    sigv4_result_cleanup(&res);
    *nl = '\n';
    return rc;
}

static void test_presign_url_verifies(void **state)
{
    (void)state;
    write_presign_config();
    char args[512];
    snprintf(args, sizeof(args), "presign --config %s --access-key-id " PS_AKID
             " --expires 600 --method PUT 's3://bkt/a b/c+d.txt'", cfg_path);
    assert_int_equal(run(args), 0);
    assert_non_null(strstr(out, "http://127.0.0.1:7470/bkt/a%20b/c%2Bd.txt?X-Amz-Algorithm="));
    assert_non_null(strstr(out, "&X-Amz-Expires=600&"));
    assert_non_null(strstr(out, "%2Fus-west-2%2Fs3%2Faws4_request&"));
    struct sigv4_error err;
    assert_int_equal(verify_url("PUT", PS_SECRET, &err), 0);
    /* the same URL with another secret, or as another method, fails */
    assert_int_not_equal(verify_url("PUT", "another-secret-0123456789abcdefghijklmnop", &err), 0);
    assert_int_equal(err.code, SIGV4_ERR_SIGNATURE_MISMATCH);
    assert_int_not_equal(verify_url("GET", PS_SECRET, &err), 0);
    unlink(cfg_path);
}

static void test_presign_errors(void **state)
{
    (void)state;
    write_presign_config();
    char args[512];
    snprintf(args, sizeof(args), "presign --config %s --access-key-id AKIANOTINCONFIG00001 s3://bkt/k",
             cfg_path);
    assert_int_equal(run(args), 1);
    assert_string_equal(out, "s3warden: presign: access key id AKIANOTINCONFIG00001: not an "
                             "active access key of this config\n");
    snprintf(args, sizeof(args), "presign --config %s --access-key-id " PS_AKID
             " --expires 604801 s3://bkt/k", cfg_path);
    assert_int_equal(run(args), 2);
    assert_string_equal(out, "s3warden: presign: --expires must be 1..604800 seconds "
                             "(SigV4 presigned URLs last at most 7 days)\n");
    snprintf(args, sizeof(args), "presign --config %s --access-key-id " PS_AKID " bkt/k", cfg_path);
    assert_int_equal(run(args), 2);
    assert_string_equal(out, "s3warden: presign: the object must be given as s3://BUCKET/KEY\n");
    unlink(cfg_path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_serve_refuses_two_listeners),
        cmocka_unit_test(test_presign_url_verifies),
        cmocka_unit_test(test_presign_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
