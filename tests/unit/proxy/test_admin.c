/* test_admin.c - the admin listener (admin.h) over a real socket on
 * 127.0.0.1: what it answers to the requests a probe or Prometheus sends,
 * and to odd ones (HEAD, a query string, absolute-form, a body, a huge head,
 * pipelined requests), and the /readyz report line by line (spec: "Admin
 * HTTP endpoints" of issue 6). The upstream endpoints are closed ports on
 * 127.0.0.1, so the prober never gets an answer: the test decides when the
 * upstream "answered" with ups_answered. Expected texts are
 * written by hand from the spec. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "admin.h"
#include "audit.h"
#include "config.h"
#include "metrics.h"
#include "pipeline.h"
#include "log.h"
#include "proxy.h"
#include "upstream_state.h"

struct fx {
    struct pl_shared shared;
    struct metrics *metrics;
    struct proxy_server s3; /* only its connection count is read */
    struct audit *audit;
    struct admin *admin;
    int port;
};

static struct config *load(int upstream_port)
{
    char json[1024];
    snprintf(json, sizeof json,
             "{\"listeners\":[{\"address\":\"127.0.0.1\",\"port\":1}],"
             "\"upstream\":{\"endpoint\":\"http://127.0.0.1:%d\",\"region\":\"us-east-1\"},"
             "\"accounts\":[{\"id\":\"111111111111\"}]}", upstream_port);
    struct config_errors errs;
    config_errors_init(&errs);
    struct config *cfg = NULL;
    int rc = config_load_buffer("test", json, strlen(json), NULL, &cfg, &errs);
    for (size_t i = 0; i < errs.n; i++)
        fprintf(stderr, "%s\n", errs.items[i].text);
    config_errors_cleanup(&errs);
    assert_int_equal(rc, CONFIG_OK);
    return cfg;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->audit = audit_open(NULL, true);
    assert_non_null(f->audit);
    assert_int_equal(pl_shared_init(&f->shared, load(1), f->audit), 0);
    f->metrics = metrics_new(1);
    assert_non_null(f->metrics);
    f->shared.metrics = f->metrics;
    struct admin_opts o = {
        .address = "127.0.0.1",
        .port = 0,
        .upstream_window_s = 60,
        .version = "1.2.3",
        .metrics = f->metrics,
        .shared = &f->shared,
        .s3 = &f->s3,
        .audit = f->audit,
    };
    assert_int_equal(admin_start(&o, &f->admin), 0);
    f->port = admin_port(f->admin);
    assert_true(f->port > 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    admin_stop(f->admin);
    pl_shared_cleanup(&f->shared);
    metrics_free(f->metrics);
    audit_close(f->audit);
    free(f);
    return 0;
}

/* Sends `req` on a new connection, then reads until the server closes it
 * or `want` responses (status lines) have arrived and nothing more comes
 * within 300 ms. Returns the bytes read (NUL-terminated, caller frees). */
static char *exchange(int port, const char *req, size_t reqlen)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    size_t off = 0;
    while (off < reqlen) {
        ssize_t n = send(fd, req + off, reqlen - off, MSG_NOSIGNAL);
        if (n <= 0)
            break; /* the server may close on an oversized head */
        off += (size_t)n;
    }
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap + 1);
    assert_non_null(buf);
    for (;;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, 300) <= 0)
            break;
        ssize_t n = recv(fd, buf + len, cap - len, 0);
        if (n <= 0)
            break;
        len += (size_t)n;
        assert_true(len < cap);
    }
    close(fd);
    buf[len] = 0;
    return buf;
}

static char *get(int port, const char *req)
{
    return exchange(port, req, strlen(req));
}

/* The body after the first response head. */
static const char *body_of(const char *resp)
{
    const char *b = strstr(resp, "\r\n\r\n");
    assert_non_null(b);
    return b + 4;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void test_healthz_and_not_found(void **state)
{
    struct fx *f = *state;
    char *r = get(f->port, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_true(strncmp(r, "HTTP/1.1 200 OK\r\n", 17) == 0);
    assert_non_null(strstr(r, "Content-Type: text/plain; charset=utf-8\r\n"));
    assert_string_equal(body_of(r), "ok\n");
    free(r);
    r = get(f->port, "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_true(strncmp(r, "HTTP/1.1 404 ", 13) == 0);
    free(r);
    /* another method on a known path: 405 naming the allowed ones */
    r = get(f->port, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                     "Connection: close\r\n\r\n");
    assert_true(strncmp(r, "HTTP/1.1 405 ", 13) == 0);
    assert_non_null(strstr(r, "\r\nAllow: GET, HEAD\r\n"));
    free(r);
}

static void test_head_has_length_and_no_body(void **state)
{
    struct fx *f = *state;
    char *g = get(f->port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_true(strncmp(g, "HTTP/1.1 200 OK\r\n", 17) == 0);
    assert_non_null(strstr(g, "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
    assert_non_null(strstr(body_of(g), "s3warden_build_info{version=\"1.2.3\"} 1\n"));
    char *h = get(f->port, "HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_true(strncmp(h, "HTTP/1.1 200 OK\r\n", 17) == 0);
    assert_string_equal(body_of(h), "");
    const char *cl = strstr(h, "Content-Length: ");
    assert_non_null(cl);
    /* the length GET's body would have (its size varies only with the
     * gauges' digits, which a HEAD and a GET a moment apart share) */
    long n = strtol(cl + 16, NULL, 10);
    assert_true(n > 1000);
    assert_true(labs(n - (long)strlen(body_of(g))) < 16);
    free(g);
    free(h);
}

static void test_query_and_absolute_form(void **state)
{
    struct fx *f = *state;
    /* a query string is ignored (the path is what is matched) */
    char *r = get(f->port, "GET /healthz?verbose=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_true(strncmp(r, "HTTP/1.1 200 OK\r\n", 17) == 0);
    free(r);
    /* absolute-form is refused by the shared parser (origin-form only) */
    r = get(f->port, "GET http://127.0.0.1/healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_true(strncmp(r, "HTTP/1.1 400 ", 13) == 0);
    assert_int_equal(count(r, "HTTP/1.1 "), 1);
    free(r);
}

static void test_pipelined_and_body(void **state)
{
    struct fx *f = *state;
    /* two requests in one segment: two answers, in order */
    char *r = get(f->port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                           "HEAD /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_int_equal(count(r, "HTTP/1.1 "), 2);
    const char *second = strstr(body_of(r), "HTTP/1.1 "); /* after "ok\n" */
    assert_non_null(second);
    assert_true(strncmp(r, "HTTP/1.1 200 OK\r\n", 17) == 0);
    assert_true(strncmp(second, "HTTP/1.1 503 ", 13) == 0); /* never answered */
    free(r);
    /* a GET with a body is refused and the body is never read as a
     * request of its own */
    const char *smuggle = "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 35\r\n\r\n"
                          "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
    r = get(f->port, smuggle);
    assert_true(strncmp(r, "HTTP/1.1 400 ", 13) == 0);
    assert_int_equal(count(r, "HTTP/1.1 "), 1);
    free(r);
}

static void test_huge_head(void **state)
{
    struct fx *f = *state;
    size_t n = 64 * 1024;
    char *req = malloc(n + 100);
    assert_non_null(req);
    int h = snprintf(req, 100, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ");
    memset(req + h, 'a', n);
    memcpy(req + h + n, "\r\n\r\n", 4);
    char *r = exchange(f->port, req, (size_t)h + n + 4);
    assert_true(strncmp(r, "HTTP/1.1 431 ", 13) == 0);
    assert_int_equal(count(r, "HTTP/1.1 "), 1);
    free(r);
    free(req);
}

static void test_readyz_report(void **state)
{
    struct fx *f = *state;
    char *r = get(f->port, "GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_true(strncmp(r, "HTTP/1.1 503 ", 13) == 0);
    assert_string_equal(body_of(r), "config: ok\n"
                                    "credentials: ok (static keys from the config)\n"
                                    "upstream: never answered\n"
                                    "audit: off\n"
                                    "not ready\n");
    free(r);
    ups_answered(ups_find(f->shared.ups, "default"));
    r = get(f->port, "GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_true(strncmp(r, "HTTP/1.1 200 OK\r\n", 17) == 0);
    assert_string_equal(body_of(r), "config: ok\n"
                                    "credentials: ok (static keys from the config)\n"
                                    "upstream: ok (answered 0s ago)\n"
                                    "audit: off\n"
                                    "ready\n");
    free(r);
    r = get(f->port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_non_null(strstr(r, "\ns3warden_ready 1\n"));
    free(r);
    atomic_store(&f->metrics->draining, 1);
    r = get(f->port, "GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_true(strncmp(r, "HTTP/1.1 503 ", 13) == 0);
    assert_string_equal(body_of(r), "config: ok\n"
                                    "credentials: ok (static keys from the config)\n"
                                    "upstream: ok (answered 0s ago)\n"
                                    "audit: off\n"
                                    "shutdown: draining\n"
                                    "not ready\n");
    free(r);
    /* /healthz stays 200 while draining */
    r = get(f->port, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_true(strncmp(r, "HTTP/1.1 200 OK\r\n", 17) == 0);
    free(r);
}

/* Review (review2): after SIGHUP points the proxy at another endpoint, an
 * answer from the old one says nothing about the new one; /readyz used to
 * stay 200 for up to the whole window (60 s) while every request failed. */
static void test_readyz_after_endpoint_change(void **state)
{
    struct fx *f = *state;
    ups_answered(ups_find(f->shared.ups, "default")); /* the old endpoint answered */
    char *r = get(f->port, "GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_true(strncmp(r, "HTTP/1.1 200 OK\r\n", 17) == 0);
    free(r);
    /* what main.c's SIGHUP does: new config, then the window (which wakes
     * the prober) */
    pl_shared_set_config(&f->shared, load(2));
    admin_set_window(f->admin, 60);
    bool seen = false;
    for (int i = 0; i < 40 && !seen; i++) {
        r = get(f->port, "GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        seen = strncmp(r, "HTTP/1.1 503 ", 13) == 0;
        if (seen)
            assert_string_equal(body_of(r), "config: ok\n"
                                            "credentials: ok (static keys from the config)\n"
                                            "upstream: never answered\n"
                                            "audit: off\n"
                                            "not ready\n");
        free(r);
        if (!seen) {
            struct timespec ts = { 0, 50 * 1000 * 1000 };
            nanosleep(&ts, NULL);
        }
    }
    assert_true(seen);
}

/* ---- proxy_log (server.c), as the admin and the lifecycle use it ---------- */

/* Runs fn with stderr on a pipe; returns what was written (caller frees). */
static char *capture_stderr(void (*fn)(void))
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(p[1], STDERR_FILENO) >= 0);
    close(p[1]);
    fn();
    dup2(saved, STDERR_FILENO);
    close(saved);
    size_t cap = 16384, len = 0;
    char *buf = malloc(cap + 1);
    assert_non_null(buf);
    ssize_t n;
    while ((n = read(p[0], buf + len, cap - len)) > 0)
        len += (size_t)n;
    close(p[0]);
    buf[len] = 0;
    return buf;
}

static void log_levels_fn(void)
{
    proxy_log_set_level(PROXY_LOG_WARN);
    proxy_log("INFO", "dropped-info");
    proxy_log("DEBUG", "dropped-debug");
    proxy_log("WARN", "kept-warn %d", 1);
    proxy_log("ERROR", "kept-error");
    proxy_log_set_level(PROXY_LOG_INFO);
}

static void test_log_level_filter(void **state)
{
    (void)state;
    unsetenv("JOURNAL_STREAM");
    proxy_log_init();
    char *t = capture_stderr(log_levels_fn);
    assert_null(strstr(t, "dropped"));
    /* "2026-11-22T12:00:00.123Z WARN kept-warn 1" */
    const char *w = strstr(t, " WARN kept-warn 1\n");
    assert_non_null(w);
    assert_int_equal(w - t, 24);
    assert_true(t[4] == '-' && t[10] == 'T' && t[19] == '.' && t[23] == 'Z');
    assert_non_null(strstr(t, " ERROR kept-error\n"));
    free(t);
}

static void log_long_fn(void)
{
    char big[5000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    proxy_log("INFO", "%s", big);
    proxy_log("INFO", "after");
}

static void test_log_long_line_truncated_whole(void **state)
{
    (void)state;
    unsetenv("JOURNAL_STREAM");
    proxy_log_init();
    char *t = capture_stderr(log_long_fn);
    /* one line of 2047 bytes (2048-byte buffer, newline kept), then the
     * next line intact */
    const char *nl = strchr(t, '\n');
    assert_non_null(nl);
    assert_int_equal(nl - t + 1, 2047);
    assert_non_null(strstr(nl + 1, " INFO after\n"));
    free(t);
}

static void log_journal_fn(void)
{
    struct stat st;
    assert_int_equal(fstat(STDERR_FILENO, &st), 0);
    char v[64];
    snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
    setenv("JOURNAL_STREAM", v, 1);
    proxy_log_init();
    proxy_log("WARN", "to-journal");
    proxy_log("DEBUG", "filtered");
    /* another stream than stderr: people's format again */
    setenv("JOURNAL_STREAM", "1:1", 1);
    proxy_log_init();
    proxy_log("INFO", "to-people");
    unsetenv("JOURNAL_STREAM");
    proxy_log_init();
}

static void test_log_journald_prefix(void **state)
{
    (void)state;
    char *t = capture_stderr(log_journal_fn);
    /* sd-daemon(3): <4> is LOG_WARNING; journald stamps the time */
    assert_true(strncmp(t, "<4>WARN to-journal\n", 19) == 0);
    assert_null(strstr(t, "filtered"));
    const char *p = t + 19;
    assert_true(p[0] == '2' && strstr(p, "Z INFO to-people\n") != NULL);
    free(t);
}

static void log_control_fn(void)
{
    proxy_log("ERROR", "config: %s", "bad\nINFO forged line\r\x1b[31m");
}

/* One event, one line: control bytes in a message become '?', so a value
 * quoted into a message cannot forge a line (or a journald entry). */
static void test_log_control_bytes(void **state)
{
    (void)state;
    unsetenv("JOURNAL_STREAM");
    proxy_log_init();
    char *t = capture_stderr(log_control_fn);
    const char *m = strstr(t, " ERROR config: ");
    assert_non_null(m);
    assert_string_equal(m, " ERROR config: bad?INFO forged line??[31m\n");
    free(t);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_healthz_and_not_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_head_has_length_and_no_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_query_and_absolute_form, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipelined_and_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_huge_head, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readyz_report, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readyz_after_endpoint_change, setup, teardown),
        cmocka_unit_test(test_log_level_filter),
        cmocka_unit_test(test_log_long_line_truncated_whole),
        cmocka_unit_test(test_log_journald_prefix),
        cmocka_unit_test(test_log_control_bytes),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
