/* test_pipeline_metrics.c - the request counter's decision label, through
 * the whole pipeline (pipeline_rig.h):
 *  - a DeleteObjects request whose keys are partly allowed is counted under
 *    decision="PartiallyAllowed" (it was "none": the decision string was
 *    parsed back into the metrics' names, which had no such entry);
 *  - an allowed and an implicitly denied request keep their labels. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "metrics.h"
#include "pipeline_rig.h"
#include "sockutil.h"

#define AKID "AKIAMETRICSTEST00001"
#define SECRET "metricsSecretKey/0123456789abcdefghijklm"

/* DeleteObjects answers a DeleteResult (the pipeline merges its own
 * AccessDenied entries into it); anything else an empty 200. */
static void up_answer(int fd, const char *head)
{
    if (strstr(head, "?delete")) {
        static const char body[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DeleteResult "
                                   "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Deleted>"
                                   "<Key>ok/a</Key></Deleted></DeleteResult>";
        char out[1024];
        snprintf(out, sizeof(out),
                 "HTTP/1.1 200 OK\r\nx-amz-request-id: UPSTREAM1\r\nContent-Type: application/xml\r\n"
                 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                 sizeof(body) - 1, body);
        su_send_str(fd, out);
        return;
    }
    rig_answer_ok(fd, head);
}

static struct config *make_config(void)
{
    return rig_config(&(struct rig_cfg){ .akid = AKID, .secret = SECRET,
        .policy = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
                  "\"Action\":[\"s3:DeleteObject\",\"s3:GetObject\"],"
                  "\"Resource\":\"arn:aws:s3:::bkt/ok/*\"}]}",
        .buckets = "{\"name\":\"bkt\",\"account\":\"111111111111\"}" });
}

static const struct rig_opts opts = {
    .make_config = make_config, .answer = up_answer, .metrics = true,
};

static char req[16384], resp[64 * 1024];

static void send_req(const char *method, const char *target, const char *body, const char *until)
{
    struct rig_req r = { .akid = AKID, .secret = SECRET, .method = method, .target = target,
                         .body = body };
    size_t n = rig_build(req, sizeof(req), &r);
    rig_exchange(req, n, until, resp, sizeof(resp));
}

/* The value of the requests_total sample of `op` with `decision` and
 * `status`, or -1 when there is none. */
static double requests(const char *op, const char *decision, const char *status)
{
    struct metrics_scrape x = { .version = "test", .ready = true };
    struct s3w_buf b;
    s3w_buf_init(&b, 1u << 22);
    assert_int_equal(metrics_render(rig_metrics(), &x, &b), 0);
    assert_int_equal(s3w_buf_append_char(&b, 0), 0);
    char series[256];
    int n = snprintf(series, sizeof(series),
                     "s3warden_requests_total{operation=\"%s\",decision=\"%s\",status=\"%s\"} ",
                     op, decision, status);
    const char *p = strstr(b.ptr, series);
    double v = p ? strtod(p + n, NULL) : -1;
    s3w_buf_cleanup(&b);
    return v;
}

static void test_partly_allowed_delete_counted(void **state)
{
    (void)state;
    send_req("POST", "/bkt?delete",
             "<Delete><Object><Key>ok/a</Key></Object><Object><Key>secret/b</Key></Object></Delete>",
             "</DeleteResult>");
    assert_non_null(strstr(resp, "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(resp, "<Error><Key>secret/b</Key><Code>AccessDenied</Code>"));
    usleep(100 * 1000); /* the record and the count follow the response */
    assert_true(requests("DeleteObjects", "PartiallyAllowed", "200") == 1);
    assert_true(requests("DeleteObjects", "none", "200") == -1);
}

static void test_allowed_and_denied_counted(void **state)
{
    (void)state;
    send_req("GET", "/bkt/ok/x", "", NULL);
    assert_non_null(strstr(resp, "HTTP/1.1 200 OK\r\n"));
    send_req("GET", "/bkt/secret/x", "", "</Error>");
    assert_non_null(strstr(resp, "HTTP/1.1 403 Forbidden\r\n"));
    usleep(100 * 1000);
    assert_true(requests("GetObject", "Allowed", "200") == 1);
    assert_true(requests("GetObject", "ImplicitlyDenied", "403") == 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_partly_allowed_delete_counted),
        cmocka_unit_test(test_allowed_and_denied_counted),
    };
    return rig_run_group(tests, &opts);
}
