/* test_audit_reload.c - audit_reload_check (audit.c): on SIGHUP the running
 * audit stays as it was opened (its writer and sinks hold records in
 * flight), so a reloaded config whose audit settings differ is reported as
 * taking a restart:
 *  - a config that changes only one setting (the output, the format,
 *    on_backlog, the CloudTrail region or account, any field of any sink,
 *    the number or order of sinks) returns false and logs exactly one WARN
 *    naming that setting;
 *  - an identical config (equal texts behind other pointers) returns true
 *    and logs nothing, also after a change was reported (the running
 *    settings are not replaced by a reported config);
 *  - several changes are named together, in a fixed order.
 * The running audit is real (a file output and a syslog and an S3 sink,
 * opened with audit_open_opts); nothing is logged through it, so no sink
 * ever connects. stderr is pointed at a temporary file around each check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "audit.h"
#include "log.h"

#define RESTART_TAIL \
    " changed; audit settings take a restart: records keep going where they went (the " \
    "running output, format and sinks)\n"

static char dir[] = "/tmp/s3w-reload-XXXXXX";
static char out_path[64], spool0[64], spool1[64];
static struct audit_sink_conf running_sinks[2];
static struct audit_options running_opts;
static struct audit *running;
static FILE *capture;
static int saved_stderr = -1;

/* The sinks as main.c's audit_options_from fills them: every field is
 * set for either type (a syslog sink carries its upstream's fields too). */
static void fill_sinks(struct audit_sink_conf s[2])
{
    s[0] = (struct audit_sink_conf){
        .type = AUDIT_SINK_SYSLOG, .spool_dir = spool0, .max_spool_bytes = 1 << 20,
        .host = "127.0.0.1", .port = 6514, .facility = 16, .tls = false,
        .ca_file = "/etc/s3warden/syslog-ca.pem", .server_name = "syslog.example",
        .endpoint = "http://127.0.0.1:9000", .virtual_host = false, .tls_verify = true,
        .bucket = NULL, .prefix = NULL, .account = "111111111111", .region = "us-east-1",
        .batch_ms = 0, .batch_bytes = 0,
    };
    s[1] = (struct audit_sink_conf){
        .type = AUDIT_SINK_S3, .spool_dir = spool1, .max_spool_bytes = 2 << 20,
        .host = NULL, .port = 0, .facility = 0, .tls = false,
        .ca_file = "/etc/s3warden/upstream-ca.pem", .server_name = NULL,
        .endpoint = "http://127.0.0.1:9000", .virtual_host = false, .tls_verify = true,
        .bucket = "trail", .prefix = "org", .account = "111111111111", .region = "us-east-1",
        .batch_ms = 60000, .batch_bytes = 4 << 20,
    };
}

static int group_setup(void **state)
{
    (void)state;
    unsetenv("JOURNAL_STREAM");
    proxy_log_init();
    proxy_log_set_level(PROXY_LOG_INFO);
    if (!mkdtemp(dir))
        return -1;
    snprintf(out_path, sizeof(out_path), "%s/audit.log", dir);
    snprintf(spool0, sizeof(spool0), "%s/spool0", dir);
    snprintf(spool1, sizeof(spool1), "%s/spool1", dir);
    fill_sinks(running_sinks);
    running_opts = (struct audit_options){
        .path = out_path, .sinks = running_sinks, .nsinks = 2,
        .on_backlog = AUDIT_ON_BACKLOG_REFUSE, .format = AUDIT_FORMAT_CLOUDTRAIL,
        .cloudtrail = { .region = "eu-west-1", .account_id = "222222222222" },
    };
    running = audit_open_opts(&running_opts);
    capture = tmpfile();
    saved_stderr = dup(STDERR_FILENO);
    return running && capture && saved_stderr >= 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    audit_close(running);
    close(saved_stderr);
    fclose(capture);
    const char *files[] = { "spool0/audit.spool", "spool0/audit.offset", "spool1/audit.spool",
                            "spool1/audit.offset", "audit.log", "spool0", "spool1", "" };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char p[128];
        snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
        if (unlink(p) != 0)
            rmdir(p);
    }
    return 0;
}

/* audit_reload_check(a, o) with stderr captured: its verdict, and in
 * `logged` what it wrote without the line's timestamp ("" if nothing). */
static bool check(struct audit *a, const struct audit_options *o, char *logged, size_t cap)
{
    fflush(stderr);
    assert_int_equal(ftruncate(fileno(capture), 0), 0);
    assert_true(dup2(fileno(capture), STDERR_FILENO) >= 0);
    lseek(STDERR_FILENO, 0, SEEK_SET);
    bool same = audit_reload_check(a, o);
    long len = lseek(STDERR_FILENO, 0, SEEK_CUR);
    assert_true(dup2(saved_stderr, STDERR_FILENO) >= 0);
    char buf[8192];
    size_t n = 0;
    if (len > 0 && len < (long)sizeof(buf))
        n = (size_t)pread(fileno(capture), buf, (size_t)len, 0);
    buf[n] = '\0';
    /* "2026-12-05T01:00:00.123Z WARN ..." */
    snprintf(logged, cap, "%s", n > 25 ? buf + 25 : buf);
    return same;
}

/* The reloaded config o differs from a's in exactly the settings named by
 * `what` ("format, on_backlog"): false and exactly that WARN. */
static void expect_changed(struct audit *a, const struct audit_options *o, const char *what,
                           const char *case_name)
{
    char logged[8192], want[1024];
    bool same = check(a, o, logged, sizeof(logged));
    snprintf(want, sizeof(want), "WARN reload: audit %s" RESTART_TAIL, what);
    if (same || strcmp(logged, want) != 0)
        fail_msg("%s: returned %s, logged \"%s\", want false and \"%s\"", case_name,
                 same ? "true" : "false", logged, want);
}

static void expect_same(struct audit *a, const struct audit_options *o, const char *case_name)
{
    char logged[8192];
    bool same = check(a, o, logged, sizeof(logged));
    if (!same || logged[0])
        fail_msg("%s: returned %s, logged \"%s\", want true and nothing", case_name,
                 same ? "true" : "false", logged);
}

/* A copy of the running settings whose strings are other buffers with the
 * same text: the comparison must be by value. */
struct opts_copy {
    struct audit_options o;
    struct audit_sink_conf sinks[AUDIT_MAX_SINKS];
    char path[64], spool0[64], spool1[64], region[32], account[32];
};

static void copy_running(struct opts_copy *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->path, sizeof(c->path), "%s", out_path);
    snprintf(c->spool0, sizeof(c->spool0), "%s", spool0);
    snprintf(c->spool1, sizeof(c->spool1), "%s", spool1);
    snprintf(c->region, sizeof(c->region), "%s", running_opts.cloudtrail.region);
    snprintf(c->account, sizeof(c->account), "%s", running_opts.cloudtrail.account_id);
    fill_sinks(c->sinks);
    c->sinks[0].spool_dir = c->spool0;
    c->sinks[1].spool_dir = c->spool1;
    c->o = running_opts;
    c->o.path = c->path;
    c->o.sinks = c->sinks;
    c->o.cloudtrail.region = c->region;
    c->o.cloudtrail.account_id = c->account;
}

static void test_identical_is_same(void **state)
{
    (void)state;
    struct opts_copy c;
    copy_running(&c);
    expect_same(running, &c.o, "identical config");
    expect_same(running, &running_opts, "the running options themselves");
    /* no audit at all (audit_open failed or was never called) */
    expect_same(NULL, &c.o, "no running audit");
}

static void test_output_changed(void **state)
{
    (void)state;
    struct opts_copy c;
    copy_running(&c);
    c.o.path = "/var/log/s3warden/other.log";
    expect_changed(running, &c.o, "output", "another file");
    copy_running(&c);
    c.o.path = NULL;
    expect_changed(running, &c.o, "output", "file -> stdout (NULL)");
    c.o.path = "-";
    expect_changed(running, &c.o, "output", "file -> stdout (\"-\")");
    copy_running(&c);
    c.o.disabled = true;
    expect_changed(running, &c.o, "output", "file -> none");
}

/* The output's forms that mean the same thing, on audits opened with them. */
static void test_output_equivalent_forms(void **state)
{
    (void)state;
    /* stdout: a NULL path and "-" are the same output */
    struct audit_options o = { .path = NULL };
    struct audit *a = audit_open_opts(&o);
    assert_non_null(a);
    o.path = "-";
    expect_same(a, &o, "stdout NULL -> \"-\"");
    o.path = out_path;
    expect_changed(a, &o, "output", "stdout -> file");
    o.path = "-";
    o.disabled = true;
    expect_changed(a, &o, "output", "stdout -> none");
    audit_close(a);

    /* none: the path of a disabled output is no setting */
    o = (struct audit_options){ .path = "/var/log/a.log", .disabled = true };
    a = audit_open_opts(&o);
    assert_non_null(a);
    o.path = "/var/log/b.log";
    expect_same(a, &o, "none with another path");
    o.disabled = false;
    expect_changed(a, &o, "output", "none -> file");
    audit_close(a);
}

static void test_format_changed(void **state)
{
    (void)state;
    struct opts_copy c;
    copy_running(&c);
    c.o.format = AUDIT_FORMAT_S3WARDEN;
    expect_changed(running, &c.o, "format", "cloudtrail -> s3warden");
}

static void test_on_backlog_changed(void **state)
{
    (void)state;
    struct opts_copy c;
    copy_running(&c);
    c.o.on_backlog = AUDIT_ON_BACKLOG_DROP;
    expect_changed(running, &c.o, "on_backlog", "refuse -> drop");
}

/* audit.backlog_records takes a restart too; unset is the default */
static void test_backlog_changed(void **state)
{
    (void)state;
    struct opts_copy c;
    copy_running(&c);
    c.o.backlog = 4096;
    expect_changed(running, &c.o, "backlog_records", "default -> 4096");
    copy_running(&c);
    c.o.backlog = AUDIT_BACKLOG_DEFAULT;
    expect_same(running, &c.o, "unset -> the default given");
}

static void test_cloudtrail_changed(void **state)
{
    (void)state;
    struct opts_copy c;
    copy_running(&c);
    c.o.cloudtrail.region = "eu-west-2";
    expect_changed(running, &c.o, "region/account_id", "region");
    copy_running(&c);
    c.o.cloudtrail.region = NULL;
    expect_changed(running, &c.o, "region/account_id", "region -> unset");
    copy_running(&c);
    c.o.cloudtrail.account_id = "333333333333";
    expect_changed(running, &c.o, "region/account_id", "account_id");
    copy_running(&c);
    c.o.cloudtrail.account_id = NULL;
    expect_changed(running, &c.o, "region/account_id", "account_id -> unset");
}

/* Changes field `f` of c (the rest as running); its name, NULL past the
 * last field. Every field of struct audit_sink_conf is here: a new field
 * changes the struct's size, and this stops the build until it is added
 * here and to audit.c's describe() (review 30: expected_owner was in
 * neither, so a reload adding it went unnoticed). */
#if defined(__x86_64__) && defined(__LP64__)
_Static_assert(sizeof(struct audit_sink_conf) == 136,
               "struct audit_sink_conf changed: add the field to change_field() and describe()");
#endif
static const char *change_field(struct audit_sink_conf *c, int f)
{
    switch (f) {
    case 0: c->type = c->type == AUDIT_SINK_S3 ? AUDIT_SINK_SYSLOG : AUDIT_SINK_S3; return "type";
    case 1: c->spool_dir = "/var/spool/s3warden/elsewhere"; return "spool_dir";
    case 2: c->max_spool_bytes += 1; return "max_spool_bytes";
    case 3: c->host = c->host ? "127.0.0.2" : "syslog.example"; return "host";
    case 4: c->port = (uint16_t)(c->port + 1); return "port";
    case 5: c->facility = c->facility + 1; return "facility";
    case 6: c->tls = !c->tls; return "tls";
    case 7: c->ca_file = "/etc/s3warden/other-ca.pem"; return "ca_file";
    case 8: c->server_name = c->server_name ? "other.example" : "syslog.example";
        return "server_name";
    case 9: c->endpoint = "http://127.0.0.1:9001"; return "endpoint";
    case 10: c->virtual_host = !c->virtual_host; return "virtual_host";
    case 11: c->tls_verify = !c->tls_verify; return "tls_verify";
    case 12: c->bucket = c->bucket ? "trail2" : "trail"; return "bucket";
    case 13: c->prefix = c->prefix ? "org2" : "org"; return "prefix";
    case 14: c->account = "333333333333"; return "account";
    case 15: c->region = "eu-central-1"; return "region";
    case 16: c->batch_ms += 1000; return "batch_ms";
    case 17: c->batch_bytes += 1; return "batch_bytes";
    case 18: c->expected_owner = c->expected_owner ? "444444444444" : "111111111111";
        return "expected_owner";
    }
    return NULL;
}

static void test_each_sink_field_changed(void **state)
{
    (void)state;
    int fields = 0;
    for (size_t k = 0; k < 2; k++) {
        for (int f = 0;; f++) {
            struct opts_copy c;
            copy_running(&c);
            const char *name = change_field(&c.sinks[k], f);
            if (!name)
                break;
            char what[96];
            snprintf(what, sizeof(what), "sink %zu (%s): %s", k,
                     k == 0 ? "syslog" : "s3", name);
            expect_changed(running, &c.o, "sinks", what);
            fields += k == 0;
        }
    }
    assert_int_equal(fields, 19);
    /* a field unset (NULL) where it was set is a change too, not "-" */
    struct opts_copy c;
    copy_running(&c);
    c.sinks[0].ca_file = NULL;
    expect_changed(running, &c.o, "sinks", "syslog ca_file -> unset");
}

static void test_sink_list_changed(void **state)
{
    (void)state;
    struct opts_copy c;
    copy_running(&c);
    c.o.nsinks = 1;
    expect_changed(running, &c.o, "sinks", "the S3 sink removed");
    c.o.nsinks = 0;
    expect_changed(running, &c.o, "sinks", "all sinks removed");
    copy_running(&c);
    c.sinks[2] = c.sinks[0];
    c.sinks[2].spool_dir = "/var/spool/s3warden/third";
    c.o.nsinks = 3;
    expect_changed(running, &c.o, "sinks", "a third sink added");
    copy_running(&c);
    struct audit_sink_conf first = c.sinks[0];
    c.sinks[0] = c.sinks[1];
    c.sinks[1] = first;
    expect_changed(running, &c.o, "sinks", "the two sinks swapped");
}

static void test_several_changed(void **state)
{
    (void)state;
    struct opts_copy c;
    copy_running(&c);
    c.o.on_backlog = AUDIT_ON_BACKLOG_DROP;
    c.o.format = AUDIT_FORMAT_S3WARDEN;
    c.sinks[1].bucket = "trail2";
    expect_changed(running, &c.o, "format, on_backlog, sinks", "format, on_backlog and a sink");
    copy_running(&c);
    c.o.path = NULL;
    c.o.format = AUDIT_FORMAT_S3WARDEN;
    c.o.on_backlog = AUDIT_ON_BACKLOG_DROP;
    c.o.cloudtrail.region = "eu-west-2";
    c.o.nsinks = 0;
    expect_changed(running, &c.o, "output, format, on_backlog, region/account_id, sinks",
                   "every setting");
}

/* A reported change does not become the running settings: the running
 * audit is compared with what it was opened with on every reload. */
static void test_report_keeps_running_settings(void **state)
{
    (void)state;
    struct opts_copy c;
    copy_running(&c);
    c.o.format = AUDIT_FORMAT_S3WARDEN;
    expect_changed(running, &c.o, "format", "first reload");
    expect_changed(running, &c.o, "format", "the same config reloaded again");
    copy_running(&c);
    expect_same(running, &c.o, "back to the running config");
}

/* Settings over SETTINGS_MAX (64 KiB of text) cannot be compared: that is
 * reported as a change (fail closed: no claim that they are the same). */
static void test_too_large_to_compare(void **state)
{
    (void)state;
    size_t n = 70 * 1024;
    char *path = malloc(n + 1);
    assert_non_null(path);
    memset(path, 'p', n);
    path[0] = '/';
    path[n] = '\0';
    struct opts_copy c;
    copy_running(&c);
    c.o.path = path;
    expect_changed(running, &c.o, "(settings too large to compare)", "a 70 KiB path");
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identical_is_same),
        cmocka_unit_test(test_output_changed),
        cmocka_unit_test(test_output_equivalent_forms),
        cmocka_unit_test(test_format_changed),
        cmocka_unit_test(test_on_backlog_changed),
        cmocka_unit_test(test_backlog_changed),
        cmocka_unit_test(test_cloudtrail_changed),
        cmocka_unit_test(test_each_sink_field_changed),
        cmocka_unit_test(test_sink_list_changed),
        cmocka_unit_test(test_several_changed),
        cmocka_unit_test(test_report_keeps_running_settings),
        cmocka_unit_test(test_too_large_to_compare),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
