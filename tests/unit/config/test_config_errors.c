/* Invalid configs: every fixture in tests/unit/config/bad/ (made by
 * generate.py: a valid base with one mistake) must be refused with exactly
 * one error whose path and message are the ones in EXPECTED.tsv, and whose
 * text is "FILE: PATH: MESSAGE". Also: no partial snapshot is returned and
 * secrets never appear in messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "testutil.h"

static const char *bad_dir(void)
{
    static char buf[2048];
    const char *root = getenv("S3W_SOURCE_ROOT");
    snprintf(buf, sizeof buf, "%s/tests/unit/config/bad", root ? root : ".");
    return buf;
}

static void test_every_bad_fixture(void **state)
{
    (void)state;
    unsetenv("S3W_TEST_UNSET_VARIABLE");
    char tsv_path[2300];
    snprintf(tsv_path, sizeof tsv_path, "%s/EXPECTED.tsv", bad_dir());
    size_t len;
    char *tsv = tu_read_file(tsv_path, &len);
    assert_non_null(tsv);
    size_t ncases = 0, nfail = 0;
    for (char *line = strtok(tsv, "\n"); line; line = strtok(NULL, "\n")) {
        char *t1 = strchr(line, '\t');
        assert_non_null(t1);
        char *t2 = strchr(t1 + 1, '\t');
        assert_non_null(t2);
        *t1 = *t2 = '\0';
        const char *fixture = line, *want_path = t1 + 1, *want_msg = t2 + 1;
        char file[2600];
        snprintf(file, sizeof file, "%s/%s", bad_dir(), fixture);

        struct config_errors errs;
        config_errors_init(&errs);
        struct config *cfg = (struct config *)0x1;
        int rc = config_load(file, &cfg, &errs);
        ncases++;
        bool ok = rc == CONFIG_E_INVALID && cfg == NULL && errs.n == 1 &&
                  strcmp(errs.items[0].path, want_path) == 0 &&
                  strcmp(errs.items[0].message, want_msg) == 0 &&
                  strcmp(errs.items[0].file, file) == 0;
        if (ok) {
            char want_text[4096];
            if (want_path[0])
                snprintf(want_text, sizeof want_text, "%s: %s: %s", file, want_path, want_msg);
            else
                snprintf(want_text, sizeof want_text, "%s: %s", file, want_msg);
            ok = strcmp(errs.items[0].text, want_text) == 0;
        }
        if (!ok) {
            nfail++;
            fprintf(stderr, "FAIL %s (rc %d, %zu errors)\n  want: %s: %s\n", fixture, rc, errs.n,
                    want_path, want_msg);
            for (size_t i = 0; i < errs.n; i++)
                fprintf(stderr, "  got:  %s: %s\n", errs.items[i].path, errs.items[i].message);
        }
        config_errors_cleanup(&errs);
    }
    free(tsv);
    assert_true(ncases >= 30);
    assert_int_equal(nfail, 0);
}

/* A secret never shows up in an error message, even when it is the thing
 * that is wrong. */
static void test_secret_not_echoed(void **state)
{
    (void)state;
    static const char json[] =
        "{\"listeners\":[{\"address\":\"127.0.0.1\",\"port\":1}],"
        "\"upstream\":{\"endpoint\":\"http://x\",\"region\":\"r\"},"
        "\"accounts\":[{\"id\":\"111111111111\",\"access_keys\":[{\"id\":\"AKIAROOT000000000001\","
        "\"secret\":\"has a space in it, so it is refused\"}]}],"
        "\"sts\":{\"keys\":[{\"id\":\"k\",\"key\":\"not-hex-not-hex-not-hex\",\"active\":true}]}}";
    struct config_errors errs;
    config_errors_init(&errs);
    struct config *cfg = NULL;
    assert_int_equal(config_load_buffer("s.json", json, sizeof json - 1, NULL, &cfg, &errs),
                     CONFIG_E_INVALID);
    assert_int_equal(errs.n, 2);
    for (size_t i = 0; i < errs.n; i++) {
        assert_null(strstr(errs.items[i].text, "has a space"));
        assert_null(strstr(errs.items[i].text, "not-hex"));
    }
    assert_string_equal(errs.items[0].path, "accounts[0].access_keys[0].secret");
    assert_string_equal(errs.items[1].path, "sts.keys[0].key");
    config_errors_cleanup(&errs);
}

/* Several mistakes are all reported (up to the cap), in file order. */
static void test_many_errors_reported(void **state)
{
    (void)state;
    static const char json[] = "{\"listeners\":[{\"address\":\"a\",\"port\":0}],"
                               "\"upstream\":{\"endpoint\":\"x\",\"region\":\"r\",\"bogus\":1},"
                               "\"extra\":true}";
    struct config_errors errs;
    config_errors_init(&errs);
    struct config *cfg = NULL;
    assert_int_equal(config_load_buffer("m.json", json, sizeof json - 1, NULL, &cfg, &errs),
                     CONFIG_E_INVALID);
    assert_null(cfg);
    assert_int_equal(errs.n, 4);
    assert_string_equal(errs.items[0].path, "extra");
    assert_string_equal(errs.items[1].path, "listeners[0].port");
    assert_string_equal(errs.items[2].path, "upstream.bogus");
    assert_string_equal(errs.items[3].path, "upstream.endpoint");
    config_errors_cleanup(&errs);
}

static void test_missing_file(void **state)
{
    (void)state;
    struct config_errors errs;
    config_errors_init(&errs);
    struct config *cfg = NULL;
    assert_int_equal(config_load("/nonexistent/s3w.json", &cfg, &errs), CONFIG_E_IO);
    assert_int_equal(errs.n, 1);
    assert_string_equal(errs.items[0].text,
                        "/nonexistent/s3w.json: cannot open: No such file or directory");
    config_errors_cleanup(&errs);
}

/* A NUL in a trust_policy_file: the trust rewrite parses and prints the
 * document, which would drop everything after the NUL ("user/Dave\u0000x"
 * read as "user/Dave") before the policy engine's own check could see it. */
static void test_trust_policy_file_nul(void **state)
{
    (void)state;
    char file[2600];
    snprintf(file, sizeof file, "%s/trust-policy-file-nul.json", bad_dir());
    struct config_errors errs;
    config_errors_init(&errs);
    struct config *cfg = (struct config *)0x1;
    assert_int_equal(config_load(file, &cfg, &errs), CONFIG_E_INVALID);
    assert_null(cfg);
    assert_int_equal(errs.n, 1);
    assert_string_equal(errs.items[0].path, "roles[0].trust_policy_file.Policy");
    assert_string_equal(errs.items[0].message,
                        "a string holds a NUL character (\\u0000), which no policy element "
                        "can contain");
    config_errors_cleanup(&errs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_bad_fixture),
        cmocka_unit_test(test_trust_policy_file_nul),
        cmocka_unit_test(test_secret_not_echoed),
        cmocka_unit_test(test_many_errors_reported),
        cmocka_unit_test(test_missing_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
