/* The common request path makes no heap allocation (issue 12, "nothing
 * allocated per request"): once a keep-alive connection, its pooled
 * upstream connection, the worker's spare exchange and its audit blocks
 * exist, a signed GET and a signed-payload PUT through the whole pipeline
 * (verify, policy, audit to a file, request log line, re-sign, relay) call
 * malloc, calloc and realloc zero times in s3warden's code.
 *
 * Counted by link-time wrapping (-Wl,--wrap=malloc,...: meson.build), so
 * what is counted is every call from s3warden's objects, on any thread;
 * allocations inside shared libraries (libuv, OpenSSL) are not seen. The
 * upstream is a keep-alive fake of its own here (the rig's answers one
 * request per connection), and this file allocates nothing while counting. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "pipeline_rig.h"
#include "sockutil.h"

#define AKID "AKIAALLOCSTEADY00001"
#define SECRET "allocSteadySecret/0123456789abcdefghijklm"

/* ---- counting ------------------------------------------------------------------ */
static atomic_bool counting;
static atomic_int allocs;

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t sz);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t sz);
void *__wrap_realloc(void *p, size_t n);

void *__wrap_malloc(size_t n)
{
    if (atomic_load(&counting))
        atomic_fetch_add(&allocs, 1);
    return __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t sz)
{
    if (atomic_load(&counting))
        atomic_fetch_add(&allocs, 1);
    return __real_calloc(n, sz);
}

void *__wrap_realloc(void *p, size_t n)
{
    if (atomic_load(&counting))
        atomic_fetch_add(&allocs, 1);
    return __real_realloc(p, n);
}

/* ---- a keep-alive upstream --------------------------------------------------------- */
#define OBJ_LEN 1024
static int up_listen_fd, up_port;
static pthread_t up_thread;

/* Serves one connection at a time, each for as long as it stays open:
 * a GET gets OBJ_LEN bytes, a PUT (its Content-Length body read) an empty
 * 200. Stack buffers only. */
static void *upstream_main(void *arg)
{
    (void)arg;
    static const char get_head[] = "HTTP/1.1 200 OK\r\nETag: \"e\"\r\nContent-Length: 1024\r\n\r\n";
    static const char put_head[] = "HTTP/1.1 200 OK\r\nETag: \"e\"\r\nContent-Length: 0\r\n\r\n";
    char body[OBJ_LEN];
    memset(body, 'o', sizeof(body));
    for (;;) {
        int fd = accept(up_listen_fd, NULL, NULL);
        if (fd < 0)
            return NULL;
        char in[16384];
        size_t have = 0;
        for (;;) {
            char *end = NULL;
            while (!(end = memmem(in, have, "\r\n\r\n", 4))) {
                ssize_t r = have < sizeof(in) ? recv(fd, in + have, sizeof(in) - have, 0) : -1;
                if (r <= 0)
                    goto next;
                have += (size_t)r;
            }
            size_t head = (size_t)(end + 4 - in), cl = 0;
            in[head - 1] = '\0';
            const char *c = strcasestr(in, "\r\ncontent-length:");
            if (c)
                cl = strtoul(c + 17, NULL, 10);
            while (have < head + cl) {
                ssize_t r = have < sizeof(in) ? recv(fd, in + have, sizeof(in) - have, 0) : -1;
                if (r <= 0)
                    goto next;
                have += (size_t)r;
            }
            if (strncmp(in, "PUT ", 4) == 0) {
                su_send(fd, put_head, sizeof(put_head) - 1);
            } else {
                su_send(fd, get_head, sizeof(get_head) - 1);
                su_send(fd, body, sizeof(body));
            }
            memmove(in, in + head + cl, have - head - cl);
            have -= head + cl;
        }
    next:
        close(fd);
    }
}

static struct config *make_config(void)
{
    char json[2048];
    snprintf(json, sizeof(json),
             "{\"listeners\":[{\"address\":\"127.0.0.1\",\"port\":1}],"
             "\"upstream\":{\"endpoint\":\"http://127.0.0.1:%d\",\"region\":\"us-east-1\"},"
             "\"credentials\":{\"chain\":[{\"type\":\"static\",\"access_key_id\":"
             "\"AKIAUPSTREAMALLOC001\",\"secret\":\"upstreamAllocSecret000000000000000000000\"}]},"
             "\"accounts\":[{\"id\":\"111111111111\"}],"
             "\"users\":[{\"account\":\"111111111111\",\"name\":\"a\",\"unique_id\":"
             "\"AIDAALLOCSTEADY00001\",\"access_keys\":[{\"id\":\"" AKID "\",\"secret\":\"" SECRET
             "\"}],\"policies\":[{\"name\":\"rw\",\"document\":{\"Version\":\"2012-10-17\","
             "\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"s3:GetObject\",\"s3:PutObject\"],"
             "\"Resource\":\"arn:aws:s3:::bkt/*\"}]}}]}],"
             "\"buckets\":[{\"name\":\"bkt\",\"account\":\"111111111111\","
             "\"policy\":{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\","
             "\"Principal\":\"*\",\"Action\":\"s3:DeleteObject\",\"Resource\":\"arn:aws:s3:::bkt/*\"}]}}]}",
             up_port);
    return rig_config_from_json(json);
}

static int setup(void **state)
{
    (void)state;
    up_listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof(a);
    if (up_listen_fd < 0 || bind(up_listen_fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        listen(up_listen_fd, 16) != 0 || getsockname(up_listen_fd, (struct sockaddr *)&a, &al) != 0)
        return -1;
    up_port = ntohs(a.sin_port);
    if (pthread_create(&up_thread, NULL, upstream_main, NULL) != 0)
        return -1;
    static const struct rig_opts opts = { .make_config = make_config, .audit_file = true };
    return rig_start(&opts);
}

static int teardown(void **state)
{
    (void)state;
    int rc = rig_stop();
    shutdown(up_listen_fd, SHUT_RDWR);
    close(up_listen_fd);
    pthread_join(up_thread, NULL);
    return rc;
}

/* ---- requests on one kept-alive connection ------------------------------------------- */
static char get_req[4096], put_req[8192];
static size_t get_len, put_len;
static char put_body[OBJ_LEN + 1];

/* Sends one request on fd and reads its whole answer; its status line. */
static void one(int fd, const char *req, size_t len, bool get)
{
    char resp[8192];
    bool closed;
    su_send(fd, req, len);
    size_t n = su_read(fd, resp, sizeof(resp), "\r\n\r\n", 1, 5000, &closed);
    assert_false(closed);
    const char *end = strstr(resp, "\r\n\r\n");
    assert_non_null(end);
    size_t head = (size_t)(end + 4 - resp), want = head + (get ? OBJ_LEN : 0);
    while (n < want) {
        size_t r = su_read(fd, resp + n, sizeof(resp) - n, NULL, 1, 200, &closed);
        assert_false(closed && r == 0);
        n += r;
    }
    assert_int_equal(n, want); /* nothing more: the next answer is the next request's */
    if (strncmp(resp, "HTTP/1.1 200 OK\r\n", 17) != 0)
        fail_msg("%s answered: %.*s", get ? "GET" : "PUT", (int)head, resp);
}

static void rounds(int fd, int n)
{
    for (int i = 0; i < n; i++) {
        one(fd, get_req, get_len, true);
        one(fd, put_req, put_len, false);
    }
}

/* The audit file's lines, once it holds `want` of them (10 s at most), and
 * then 50 ms more: the writer has written the workers' blocks and handed
 * them back. A fixed pause was not enough on a starved machine (the
 * writer late, the worker's next flush allocated a block). open and read,
 * not stdio: fopen allocates, and this runs while allocations count. */
static int wait_audit_lines(int want)
{
    int lines = 0;
    for (int tries = 0; tries < 500 && lines < want; tries++) {
        usleep(20 * 1000);
        int fd = open(rig_audit_path(), O_RDONLY);
        assert_true(fd >= 0);
        lines = 0;
        char b[4096];
        for (ssize_t r; (r = read(fd, b, sizeof b)) > 0;)
            for (ssize_t i = 0; i < r; i++)
                lines += b[i] == '\n';
        close(fd);
    }
    usleep(50 * 1000);
    return lines;
}

static void test_steady_get_and_put_allocate_nothing(void **state)
{
    (void)state;
    memset(put_body, 'p', OBJ_LEN);
    struct rig_req g = { .akid = AKID, .secret = SECRET, .method = "GET", .target = "/bkt/obj" };
    get_len = rig_build(get_req, sizeof(get_req), &g);
    struct rig_req u = { .akid = AKID, .secret = SECRET, .method = "PUT", .target = "/bkt/obj",
                         .body = put_body };
    put_len = rig_build(put_req, sizeof(put_req), &u);
    int fd = su_connect(rig_port());
    assert_true(fd >= 0);
    /* warm-up, in three spells longer than the audit flush timer (10 ms):
     * the upstream connection and pool, the spare exchange and its buffers,
     * and the audit blocks, the second of which comes back from the writer
     * at the third flush */
    for (int spell = 0; spell < 3; spell++) {
        rounds(fd, 4);
        assert_int_equal(wait_audit_lines(8 * (spell + 1)), 8 * (spell + 1));
    }
    /* the counter counts: this file's own call is seen */
    atomic_store(&allocs, 0);
    atomic_store(&counting, true);
    void *volatile p = malloc(16); /* volatile: not elided with the free */
    free(p);
    assert_int_equal(atomic_load(&allocs), 1);

    atomic_store(&allocs, 0);
    rounds(fd, 25);
    assert_int_equal(wait_audit_lines(74), 74); /* the audit flush and the writer's write */
    rounds(fd, 25);
    int lines = wait_audit_lines(124);
    atomic_store(&counting, false);
    int n = atomic_load(&allocs);
    if (n != 0)
        fail_msg("100 requests made %d heap allocations in s3warden's code", n);
    close(fd);

    /* and the records are all there: 24 + 100 requests, one line each */
    assert_int_equal(lines, 124);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_steady_get_and_put_allocate_nothing),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
