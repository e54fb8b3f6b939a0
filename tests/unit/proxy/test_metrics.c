/* test_metrics.c - the /metrics exposition (Prometheus text format 0.0.4):
 * shards summed, statuses and decisions labelled, histograms cumulative with
 * _sum and _count, label values escaped, traffic-dependent label sets capped.
 * Expected values are written by hand from the inputs, never read back from
 * the code under test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "metrics.h"
#include "upstream_state.h"
#include "s3map.h"

static size_t op_index(const char *name)
{
    const struct s3map_op *op = s3map_op_by_name(s3w_slice_cstr(name));
    assert_non_null(op);
    return (size_t)(op - s3map_ops_table);
}

/* The exposition with these upstream rows (admin.c's), NUL-terminated;
 * freed by the caller. */
static char *render_rows(struct metrics *m, const struct metrics_upstream *rows, size_t n)
{
    struct metrics_scrape x = { .version = "9.9.9", .conns_active = 3, .ready = true,
                                .upstreams = rows, .nupstreams = n };
    struct s3w_buf b;
    s3w_buf_init(&b, 1u << 22);
    assert_int_equal(metrics_render(m, &x, &b), 0);
    assert_int_equal(s3w_buf_append_char(&b, 0), 0);
    return b.ptr;
}

/* One upstream "default" whose last answer is u's, as admin.c reports it. */
static char *render_up(struct metrics *m, const struct ups_upstream *u)
{
    struct metrics_upstream row = {
        .name = "default",
        .answer_wall_ms = ups_age_s(u) < 0 ? 0 : atomic_load(&u->answer_wall_ms),
        .ready = ups_age_s(u) >= 0,
    };
    return render_rows(m, &row, 1);
}

static char *render(struct metrics *m)
{
    return render_rows(m, NULL, 0);
}

/* The value of the sample line that starts with `series` followed by a
 * space, or -1 if there is none. */
static double sample(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    }
    return -1;
}

/* Every sample belongs to a family announced by a TYPE line before it,
 * and every line is a comment or "name[{labels}] value". */
static void check_format(const char *text)
{
    char family[128] = "";
    const char *p = text;
    size_t lines = 0;
    while (*p) {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl); /* the format ends every line with \n */
        size_t len = (size_t)(nl - p);
        if (strncmp(p, "# TYPE ", 7) == 0) {
            const char *sp = memchr(p + 7, ' ', len - 7);
            assert_non_null(sp);
            snprintf(family, sizeof(family), "%.*s", (int)(sp - p - 7), p + 7);
        } else if (p[0] != '#') {
            assert_true(family[0] != 0);
            size_t fl = strlen(family);
            assert_true(strncmp(p, family, fl) == 0);
            char c = p[fl];
            /* histogram suffixes or the bare name */
            assert_true(c == ' ' || c == '{' || strncmp(p + fl, "_bucket{", 8) == 0 ||
                        strncmp(p + fl, "_sum ", 5) == 0 || strncmp(p + fl, "_count ", 7) == 0);
            const char *sp = p + len;
            while (sp > p && sp[-1] != ' ')
                sp--;
            char *end = NULL;
            strtod(sp, &end);
            assert_ptr_equal(end, nl);
        }
        lines++;
        p = nl + 1;
    }
    assert_true(lines > 40);
}

static void test_requests_summed_over_shards(void **state)
{
    (void)state;
    struct metrics *m = metrics_new(2);
    assert_non_null(m);
    size_t get = op_index("GetObject"), put = op_index("PutObject");
    metrics_request(m, &m->shards[0], get, METRICS_DEC_ALLOWED, 200, 1000000, true, 500000, 100, 2000);
    metrics_request(m, &m->shards[1], get, METRICS_DEC_ALLOWED, 200, 1000000, true, 500000, 100, 2000);
    metrics_request(m, &m->shards[1], put, METRICS_DEC_EXPLICIT_DENY, 403, 1000000, false, 0, 5000, 300);
    metrics_request(m, &m->shards[0], METRICS_OP_STS, METRICS_DEC_DENIED, 403, 1000, false, 0, 1, 1);
    metrics_request(m, &m->shards[0], METRICS_OP_UNKNOWN, METRICS_DEC_NONE, 400, 1000, false, 0, 1, 1);
    char *t = render(m);
    check_format(t);
    assert_true(sample(t, "s3warden_requests_total{operation=\"GetObject\",decision=\"Allowed\",status=\"200\"}") == 2);
    assert_true(sample(t, "s3warden_requests_total{operation=\"PutObject\",decision=\"ExplicitlyDenied\",status=\"403\"}") == 1);
    assert_true(sample(t, "s3warden_requests_total{operation=\"sts\",decision=\"Denied\",status=\"403\"}") == 1);
    assert_true(sample(t, "s3warden_requests_total{operation=\"unknown\",decision=\"none\",status=\"400\"}") == 1);
    /* series that never happened are not written */
    assert_null(strstr(t, "operation=\"GetObject\",decision=\"Allowed\",status=\"404\""));
    assert_true(sample(t, "s3warden_received_bytes_total") == 100 + 100 + 5000 + 1 + 1);
    assert_true(sample(t, "s3warden_sent_bytes_total") == 2000 + 2000 + 300 + 1 + 1);
    assert_true(sample(t, "s3warden_connections_active") == 3);
    assert_true(sample(t, "s3warden_build_info{version=\"9.9.9\"}") == 1);
    assert_true(sample(t, "s3warden_request_duration_seconds_count") == 5);
    assert_true(sample(t, "s3warden_upstream_duration_seconds_count") == 2);
    free(t);
    metrics_free(m);
}

static void test_status_labels(void **state)
{
    (void)state;
    struct metrics *m = metrics_new(1);
    size_t get = op_index("GetObject");
    int statuses[] = { 206, 299, 418, 503, 0, 700 };
    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
        metrics_request(m, &m->shards[0], get, METRICS_DEC_ALLOWED, statuses[i], 1, false, 0, 0, 0);
    char *t = render(m);
    const char *pre = "s3warden_requests_total{operation=\"GetObject\",decision=\"Allowed\",status=";
    char s[200];
    snprintf(s, sizeof(s), "%s\"206\"}", pre);
    assert_true(sample(t, s) == 1);
    snprintf(s, sizeof(s), "%s\"2xx\"}", pre); /* 299: not a status S3 uses */
    assert_true(sample(t, s) == 1);
    snprintf(s, sizeof(s), "%s\"4xx\"}", pre);
    assert_true(sample(t, s) == 1);
    snprintf(s, sizeof(s), "%s\"503\"}", pre);
    assert_true(sample(t, s) == 1);
    snprintf(s, sizeof(s), "%s\"5xx\"}", pre); /* 0 and 700: no valid status */
    assert_true(sample(t, s) == 2);
    free(t);
    metrics_free(m);
}

static void test_histogram_cumulative(void **state)
{
    (void)state;
    struct metrics *m = metrics_new(2);
    size_t get = op_index("GetObject");
    /* 0.5 ms, 1 ms (on the bound: le is "less or equal"), 3 ms, 200 s */
    metrics_request(m, &m->shards[0], get, METRICS_DEC_ALLOWED, 200, 500000, true, 250000, 0, 0);
    metrics_request(m, &m->shards[1], get, METRICS_DEC_ALLOWED, 200, 1000000, false, 0, 0, 0);
    metrics_request(m, &m->shards[0], get, METRICS_DEC_ALLOWED, 200, 3000000, false, 0, 0, 0);
    metrics_request(m, &m->shards[1], get, METRICS_DEC_ALLOWED, 200, 200000000000ull, false, 0, 0, 0);
    char *t = render(m);
    check_format(t);
    assert_true(sample(t, "s3warden_request_duration_seconds_bucket{le=\"0.001\"}") == 2);
    assert_true(sample(t, "s3warden_request_duration_seconds_bucket{le=\"0.0025\"}") == 2);
    assert_true(sample(t, "s3warden_request_duration_seconds_bucket{le=\"0.005\"}") == 3);
    assert_true(sample(t, "s3warden_request_duration_seconds_bucket{le=\"120\"}") == 3);
    assert_true(sample(t, "s3warden_request_duration_seconds_bucket{le=\"+Inf\"}") == 4);
    assert_true(sample(t, "s3warden_request_duration_seconds_count") == 4);
    double sum = sample(t, "s3warden_request_duration_seconds_sum");
    assert_true(sum > 200.0044 && sum < 200.0046); /* 0.0005 + 0.001 + 0.003 + 200 */
    assert_true(sample(t, "s3warden_upstream_duration_seconds_bucket{le=\"0.001\"}") == 1);
    assert_true(sample(t, "s3warden_upstream_duration_seconds_count") == 1);
    free(t);
    metrics_free(m);
}

static void test_label_escaping(void **state)
{
    (void)state;
    struct metrics *m = metrics_new(1);
    metrics_signature_failure(m, "Bad\"Code\\x\ny");
    metrics_signature_failure(m, "SignatureDoesNotMatch");
    metrics_signature_failure(m, "SignatureDoesNotMatch");
    metrics_policy_denial(m, S3W_SLICE_LIT("bucket-policy"), METRICS_DEC_EXPLICIT_DENY);
    metrics_policy_denial(m, S3W_SLICE_NULL, METRICS_DEC_IMPLICIT_DENY);
    char *t = render(m);
    check_format(t);
    assert_true(sample(t, "s3warden_signature_failures_total{reason=\"Bad\\\"Code\\\\x\\ny\"}") == 1);
    assert_true(sample(t, "s3warden_signature_failures_total{reason=\"SignatureDoesNotMatch\"}") == 2);
    assert_true(sample(t, "s3warden_policy_denials_total{policy=\"bucket-policy\",decision=\"ExplicitlyDenied\"}") == 1);
    assert_true(sample(t, "s3warden_policy_denials_total{policy=\"none\",decision=\"ImplicitlyDenied\"}") == 1);
    free(t);
    metrics_free(m);
}

/* A flood of distinct labels (a config with many policies, or an attacker
 * choosing error paths) cannot grow the series without bound. */
static void test_family_capped(void **state)
{
    (void)state;
    struct metrics *m = metrics_new(1);
    char name[32];
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof(name), "policy-%03d", i);
        metrics_policy_denial(m, s3w_slice_cstr(name), METRICS_DEC_EXPLICIT_DENY);
    }
    char *t = render(m);
    size_t series = 0;
    for (const char *p = strstr(t, "\ns3warden_policy_denials_total{"); p;
         p = strstr(p + 1, "\ns3warden_policy_denials_total{"))
        series++;
    /* METRICS_FAMILY_CAP - METRICS_NDEC named series, then "other" */
    assert_int_equal(series, 256 - 5 + 1);
    assert_true(sample(t, "s3warden_policy_denials_total{policy=\"policy-250\",decision=\"ExplicitlyDenied\"}") == 1);
    assert_true(sample(t, "s3warden_policy_denials_total{policy=\"policy-251\",decision=\"ExplicitlyDenied\"}") == -1);
    assert_true(sample(t, "s3warden_policy_denials_total{policy=\"other\",decision=\"ExplicitlyDenied\"}") == 49);
    free(t);
    metrics_free(m);
}

static void test_decision_names_and_upstream_age(void **state)
{
    (void)state;
    assert_int_equal(metrics_decision_from_name(NULL), METRICS_DEC_NONE);
    assert_int_equal(metrics_decision_from_name("Allowed"), METRICS_DEC_ALLOWED);
    assert_int_equal(metrics_decision_from_name("ExplicitlyDenied"), METRICS_DEC_EXPLICIT_DENY);
    assert_int_equal(metrics_decision_from_name("ImplicitlyDenied"), METRICS_DEC_IMPLICIT_DENY);
    assert_int_equal(metrics_decision_from_name("Denied"), METRICS_DEC_DENIED);
    assert_int_equal(metrics_decision_from_name("allowed"), METRICS_DEC_NONE);
    struct metrics *m = metrics_new(1);
    struct ups_upstream u = { .name = (char *)"default" };
    assert_true(ups_age_s(&u) < 0);
    char *t = render_up(m, &u);
    assert_true(sample(t, "s3warden_upstream_last_answer_timestamp_seconds{upstream=\"default\"}") == 0);
    assert_true(sample(t, "s3warden_upstream_ready{upstream=\"default\"}") == 0);
    free(t);
    ups_answered(&u);
    double age = ups_age_s(&u);
    assert_true(age >= 0 && age < 5);
    t = render_up(m, &u);
    assert_true(sample(t, "s3warden_upstream_last_answer_timestamp_seconds{upstream=\"default\"}") > 1.7e9);
    assert_true(sample(t, "s3warden_upstream_ready{upstream=\"default\"}") == 1);
    free(t);
    metrics_free(m);
}

/* Review (review2): label values must be UTF-8 (Prometheus text format
 * 0.0.4: "label_value can be any sequence of UTF-8 characters"); a
 * scraper refuses the whole exposition otherwise. A policy name cut at
 * METRICS_LABEL_MAX - 1 bytes used to split a multi-byte character. */
static void test_label_values_stay_utf8(void **state)
{
    (void)state;
    struct metrics *m = metrics_new(1);
    char name[200];
    memset(name, 'a', 126);
    memcpy(name + 126, "\xc3\xa9-tail", 7); /* U+00E9 across bytes 126..127 */
    metrics_policy_denial(m, s3w_slice(name, 133), METRICS_DEC_EXPLICIT_DENY);
    /* a byte that is no UTF-8 at all (config names are not checked) */
    metrics_policy_denial(m, S3W_SLICE_LIT("bad\xff" "name"), METRICS_DEC_EXPLICIT_DENY);
    char *t = render(m);
    check_format(t);
    char want[300];
    snprintf(want, sizeof(want),
             "s3warden_policy_denials_total{policy=\"%.126s\",decision=\"ExplicitlyDenied\"}", name);
    assert_true(sample(t, want) == 1);
    assert_true(sample(t, "s3warden_policy_denials_total{policy=\"bad\xef\xbf\xbdname\","
                          "decision=\"ExplicitlyDenied\"}") == 1);
    free(t);
    metrics_free(m);
}

/* The last-answer timestamp is wall-clock time of the answer, not whole
 * seconds of "now" minus the age (that moved backwards by up to a second
 * from one scrape to the next). */
static void test_upstream_timestamp_not_truncated(void **state)
{
    (void)state;
    struct metrics *m = metrics_new(1);
    struct timespec ts;
    /* the old error was the fraction of the current second: wait until it
     * is at least 0.2 s, so the check is decisive */
    do {
        clock_gettime(CLOCK_REALTIME, &ts);
    } while (ts.tv_nsec < 200000000L || ts.tv_nsec > 900000000L);
    double before = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    struct ups_upstream u = { .name = (char *)"default" };
    ups_answered(&u);
    char *t = render_up(m, &u);
    double v = sample(t, "s3warden_upstream_last_answer_timestamp_seconds{upstream=\"default\"}");
    clock_gettime(CLOCK_REALTIME, &ts);
    double after = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    assert_true(v >= before - 0.002);
    assert_true(v <= after + 0.002);
    free(t);
    metrics_free(m);
}

/* The upstream pools' events and gauges: each upstream's own slot summed
 * over the shards, under its name; a row without a slot shows 0, not slot
 * 0's counts. */
static void test_pool_metrics_per_upstream(void **state)
{
    (void)state;
    struct metrics *m = metrics_new(2);
    atomic_store(&m->shards[0].upstream_conns[3][0], 5); /* opened */
    atomic_store(&m->shards[1].upstream_conns[3][0], 2);
    atomic_store(&m->shards[1].upstream_conns[3][1], 7); /* reused */
    atomic_store(&m->shards[0].upstream_conns[0][0], 100);
    atomic_store(&m->shards[0].upstream_gauges[3][0], 2); /* open */
    atomic_store(&m->shards[1].upstream_gauges[3][0], 1);
    atomic_store(&m->shards[1].upstream_gauges[3][1], 1); /* idle */
    /* a connection opened on one worker's pool and closed: +1 then -1 */
    atomic_store(&m->shards[0].upstream_gauges[3][1], 0);
    struct metrics_upstream rows[2] = {
        { .name = "rgw", .has_slot = true, .slot = 3 },
        { .name = "moto" }, /* no slot yet */
    };
    char *t = render_rows(m, rows, 2);
    check_format(t);
    assert_true(sample(t, "s3warden_upstream_connection_events_total{upstream=\"rgw\",event=\"opened\"}") == 7);
    assert_true(sample(t, "s3warden_upstream_connection_events_total{upstream=\"rgw\",event=\"reused\"}") == 7);
    assert_true(sample(t, "s3warden_upstream_connection_events_total{upstream=\"rgw\",event=\"retried\"}") == 0);
    assert_true(sample(t, "s3warden_upstream_connection_events_total{upstream=\"moto\",event=\"opened\"}") == 0);
    assert_true(sample(t, "s3warden_upstream_connections{upstream=\"rgw\",state=\"open\"}") == 3);
    assert_true(sample(t, "s3warden_upstream_connections{upstream=\"rgw\",state=\"idle\"}") == 1);
    assert_true(sample(t, "s3warden_upstream_connections{upstream=\"moto\",state=\"open\"}") == 0);
    free(t);
    metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_requests_summed_over_shards),
        cmocka_unit_test(test_status_labels),
        cmocka_unit_test(test_histogram_cumulative),
        cmocka_unit_test(test_label_escaping),
        cmocka_unit_test(test_family_capped),
        cmocka_unit_test(test_decision_names_and_upstream_age),
        cmocka_unit_test(test_label_values_stay_utf8),
        cmocka_unit_test(test_upstream_timestamp_not_truncated),
        cmocka_unit_test(test_pool_metrics_per_upstream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
