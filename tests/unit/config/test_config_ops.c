/* Issue 6 (operations) config fields: `admin`, `limits.shutdown_timeout_ms`,
 * `log.level` (contract: /tmp/s6 spec, docs/config.md "admin" / "log" /
 * "limits"). Defaults when absent, every accepted value lands in the model,
 * the admin/listener port clash rule in all its shapes (same literal written
 * differently, wildcards on either side, IPv6), and that several mistakes in
 * one section are all reported. Single bad values with their exact messages
 * are fixtures in bad/ (test_config_errors). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

/* A minimal valid config; %s is the listener address, %u its port, the
 * last %s extra top-level fields (",\n\"admin\": {...}" or ""). */
static const char BASE_FMT[] =
    "{\"listeners\": [{\"address\": \"%s\", \"port\": %u}],\n"
    " \"upstream\": {\"endpoint\": \"http://127.0.0.1:5000\", \"region\": \"us-east-1\"}%s}";

static int load(const char *laddr, unsigned lport, const char *extra, struct config **cfg,
                struct config_errors *errs)
{
    char buf[4096];
    int n = snprintf(buf, sizeof buf, BASE_FMT, laddr, lport, extra);
    assert_true(n > 0 && (size_t)n < sizeof buf);
    config_errors_init(errs);
    *cfg = (struct config *)0x1;
    return config_load_buffer("t.json", buf, (size_t)n, NULL, cfg, errs);
}

static struct config *load_good(const char *laddr, unsigned lport, const char *extra)
{
    struct config_errors errs;
    struct config *cfg;
    int rc = load(laddr, lport, extra, &cfg, &errs);
    for (size_t i = 0; i < errs.n; i++)
        fprintf(stderr, "unexpected: %s\n", errs.items[i].text);
    assert_int_equal(rc, CONFIG_OK);
    assert_int_equal(errs.n, 0);
    assert_non_null(cfg);
    config_errors_cleanup(&errs);
    return cfg;
}

/* Exactly one error, at `path`, saying `msg`. */
static void load_bad1(const char *laddr, unsigned lport, const char *extra, const char *path,
                      const char *msg)
{
    struct config_errors errs;
    struct config *cfg;
    int rc = load(laddr, lport, extra, &cfg, &errs);
    for (size_t i = 0; i < errs.n; i++)
        fprintf(stderr, "got: %s\n", errs.items[i].text);
    assert_int_equal(rc, CONFIG_E_INVALID);
    assert_null(cfg);
    assert_int_equal(errs.n, 1);
    assert_string_equal(errs.items[0].path, path);
    assert_string_equal(errs.items[0].message, msg);
    config_errors_cleanup(&errs);
}

static void test_defaults_when_absent(void **state)
{
    (void)state;
    struct config *cfg = load_good("127.0.0.1", 8080, "");
    assert_false(cfg->admin.enabled);
    assert_null(cfg->admin.address);
    assert_int_equal(cfg->limits.shutdown_timeout_ms, 10000);
    assert_int_equal(cfg->log_level, CONFIG_LOG_INFO);
    config_unref(cfg);

    /* an empty limits object keeps the default too */
    cfg = load_good("127.0.0.1", 8080, ", \"limits\": {}, \"log\": {}");
    assert_int_equal(cfg->limits.shutdown_timeout_ms, 10000);
    assert_int_equal(cfg->log_level, CONFIG_LOG_INFO);
    config_unref(cfg);
}

static void test_admin_empty_object_enables_with_defaults(void **state)
{
    (void)state;
    struct config *cfg = load_good("127.0.0.1", 8080, ", \"admin\": {}");
    assert_true(cfg->admin.enabled);
    /* loopback unless the operator says otherwise */
    assert_string_equal(cfg->admin.address, "127.0.0.1");
    assert_int_equal(cfg->admin.port, 9090);
    assert_int_equal(cfg->admin.upstream_ready_window_s, 60);
    config_unref(cfg);
}

static void test_admin_fields_accepted(void **state)
{
    (void)state;
    struct config *cfg = load_good(
        "127.0.0.1", 8080,
        ", \"admin\": {\"address\": \"0.0.0.0\", \"port\": 9100, "
        "\"upstream_ready_window_seconds\": 86400}");
    assert_true(cfg->admin.enabled);
    assert_string_equal(cfg->admin.address, "0.0.0.0");
    assert_int_equal(cfg->admin.port, 9100);
    assert_int_equal(cfg->admin.upstream_ready_window_s, 86400);
    config_unref(cfg);

    /* range ends: port 0 (ephemeral, tests) and 65535, window 1, IPv6 */
    cfg = load_good("127.0.0.1", 8080,
                    ", \"admin\": {\"address\": \"::1\", \"port\": 0, "
                    "\"upstream_ready_window_seconds\": 1}");
    assert_string_equal(cfg->admin.address, "::1");
    assert_int_equal(cfg->admin.port, 0);
    assert_int_equal(cfg->admin.upstream_ready_window_s, 1);
    config_unref(cfg);

    cfg = load_good("127.0.0.1", 8080, ", \"admin\": {\"port\": 65535}");
    assert_int_equal(cfg->admin.port, 65535);
    config_unref(cfg);
}

static void test_shutdown_timeout_accepted(void **state)
{
    (void)state;
    struct config *cfg = load_good("127.0.0.1", 8080, ", \"limits\": {\"shutdown_timeout_ms\": 0}");
    assert_int_equal(cfg->limits.shutdown_timeout_ms, 0);
    /* the other limits keep their defaults */
    assert_int_equal(cfg->limits.max_connections, 10000);
    config_unref(cfg);
    cfg = load_good("127.0.0.1", 8080, ", \"limits\": {\"shutdown_timeout_ms\": 3600000}");
    assert_int_equal(cfg->limits.shutdown_timeout_ms, 3600000);
    config_unref(cfg);
    cfg = load_good("127.0.0.1", 8080, ", \"limits\": {\"shutdown_timeout_ms\": 25000}");
    assert_int_equal(cfg->limits.shutdown_timeout_ms, 25000);
    config_unref(cfg);
    load_bad1("127.0.0.1", 8080, ", \"limits\": {\"shutdown_timeout_ms\": 1.5}",
              "limits.shutdown_timeout_ms", "must be an integer in 0..3600000");
    load_bad1("127.0.0.1", 8080, ", \"limits\": {\"shutdown_timeout_ms\": -1}",
              "limits.shutdown_timeout_ms", "must be an integer in 0..3600000");
}

static void test_log_levels(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        enum config_log_level want;
    } cases[] = {
        { "debug", CONFIG_LOG_DEBUG },
        { "info", CONFIG_LOG_INFO },
        { "warn", CONFIG_LOG_WARN },
        { "error", CONFIG_LOG_ERROR },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char extra[128];
        snprintf(extra, sizeof extra, ", \"log\": {\"level\": \"%s\"}", cases[i].name);
        struct config *cfg = load_good("127.0.0.1", 8080, extra);
        assert_int_equal(cfg->log_level, cases[i].want);
        config_unref(cfg);
    }
    /* "warning" is not one of the four (no aliases: a typo must not
     * silently mean something) */
    load_bad1("127.0.0.1", 8080, ", \"log\": {\"level\": \"warning\"}", "log.level",
              "must be \"debug\", \"info\", \"warn\" or \"error\"");
    load_bad1("127.0.0.1", 8080, ", \"log\": {\"level\": 2}", "log.level",
              "must be a string, not a number");
}

/* ---- the port clash rule ----------------------------------------------- */

static const char CLASH_TAIL[] = ": the admin listener needs a port of its own";

static void expect_clash(const char *laddr, unsigned lport, const char *aaddr, unsigned aport)
{
    char extra[256], msg[512];
    snprintf(extra, sizeof extra, ", \"admin\": {\"address\": \"%s\", \"port\": %u}", aaddr, aport);
    snprintf(msg, sizeof msg, "%s:%u clashes with listeners[0] (%s:%u)%s", aaddr, aport, laddr,
             lport, CLASH_TAIL);
    load_bad1(laddr, lport, extra, "admin.port", msg);
}

static void expect_no_clash(const char *laddr, unsigned lport, const char *aaddr, unsigned aport)
{
    char extra[256];
    snprintf(extra, sizeof extra, ", \"admin\": {\"address\": \"%s\", \"port\": %u}", aaddr, aport);
    struct config *cfg = load_good(laddr, lport, extra);
    assert_true(cfg->admin.enabled);
    assert_int_equal(cfg->admin.port, aport);
    config_unref(cfg);
}

static void test_port_clash(void **state)
{
    (void)state;
    /* same address, same port */
    expect_clash("127.0.0.1", 9090, "127.0.0.1", 9090);
    expect_clash("::1", 9090, "::1", 9090);
    /* the same address written differently is still the same address */
    expect_clash("::1", 9090, "0:0:0:0:0:0:0:1", 9090);
    /* a wildcard on either side takes every address of its port */
    expect_clash("0.0.0.0", 8080, "127.0.0.1", 8080);
    expect_clash("127.0.0.1", 8080, "0.0.0.0", 8080);
    expect_clash("::", 8080, "10.0.0.1", 8080);
    expect_clash("192.168.1.5", 8080, "::", 8080);
    expect_clash("0.0.0.0", 8080, "::", 8080);
    /* the default admin address and port clash with a listener on 9090 */
    load_bad1("127.0.0.1", 9090, ", \"admin\": {}", "admin.port",
              "127.0.0.1:9090 clashes with listeners[0] (127.0.0.1:9090): the admin listener "
              "needs a port of its own");
}

static void test_no_port_clash(void **state)
{
    (void)state;
    /* different ports, even with wildcards */
    expect_no_clash("0.0.0.0", 8080, "0.0.0.0", 9090);
    expect_no_clash("::", 8080, "::", 8081);
    /* same port on two distinct specific addresses binds fine */
    expect_no_clash("127.0.0.1", 8080, "127.0.0.2", 8080);
    expect_no_clash("10.0.0.1", 8080, "::1", 8080);
    /* port 0 is ephemeral: the kernel picks a free one */
    expect_no_clash("0.0.0.0", 8080, "0.0.0.0", 0);
}

/* The loader leaves listener addresses to serve (which binds literals
 * only); a non-literal listener must not trip the clash check or crash it,
 * while a hostname for admin.address is refused outright. */
static void test_clash_non_literal_listener(void **state)
{
    (void)state;
    expect_no_clash("localhost", 9090, "127.0.0.2", 9090);
    load_bad1("127.0.0.1", 8080, ", \"admin\": {\"address\": \"localhost\"}", "admin.address",
              "must be an IPv4 or IPv6 address literal, e.g. \"127.0.0.1\" or \"::1\"");
}

/* Every mistake in the section is reported, not only the first. */
static void test_admin_all_errors_reported(void **state)
{
    (void)state;
    struct config_errors errs;
    struct config *cfg;
    int rc = load("127.0.0.1", 8080,
                  ", \"admin\": {\"address\": \"my-host\", \"port\": 70000, "
                  "\"upstream_ready_window_seconds\": 0, \"enabled\": true}",
                  &cfg, &errs);
    assert_int_equal(rc, CONFIG_E_INVALID);
    assert_null(cfg);
    assert_int_equal(errs.n, 4);
    assert_string_equal(errs.items[0].path, "admin.enabled");
    assert_string_equal(errs.items[0].message, "unknown field");
    assert_string_equal(errs.items[1].path, "admin.address");
    assert_string_equal(errs.items[1].message,
                        "must be an IPv4 or IPv6 address literal, e.g. \"127.0.0.1\" or \"::1\"");
    assert_string_equal(errs.items[2].path, "admin.port");
    assert_string_equal(errs.items[2].message, "must be an integer in 0..65535");
    assert_string_equal(errs.items[3].path, "admin.upstream_ready_window_seconds");
    assert_string_equal(errs.items[3].message, "must be an integer in 1..86400");
    assert_string_equal(errs.items[3].text,
                        "t.json: admin.upstream_ready_window_seconds: must be an integer in 1..86400");
    config_errors_cleanup(&errs);
}

static void test_admin_null_and_array(void **state)
{
    (void)state;
    load_bad1("127.0.0.1", 8080, ", \"admin\": null", "admin", "must be an object, not null");
    load_bad1("127.0.0.1", 8080, ", \"admin\": []", "admin", "must be an object, not an array");
    load_bad1("127.0.0.1", 8080, ", \"log\": {\"level\": \"info\", \"level\": \"debug\"}",
              "log.level", "duplicate field");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_when_absent),
        cmocka_unit_test(test_admin_empty_object_enables_with_defaults),
        cmocka_unit_test(test_admin_fields_accepted),
        cmocka_unit_test(test_shutdown_timeout_accepted),
        cmocka_unit_test(test_log_levels),
        cmocka_unit_test(test_port_clash),
        cmocka_unit_test(test_no_port_clash),
        cmocka_unit_test(test_clash_non_literal_listener),
        cmocka_unit_test(test_admin_all_errors_reported),
        cmocka_unit_test(test_admin_null_and_array),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
