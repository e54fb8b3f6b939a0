/* A small signed-payload PUT goes upstream in one write (relay.c,
 * px_send_request: px->up.writable = h1c_takes_body(hr)). When the client's
 * head and body come in one read, the body is verified and handed to the
 * upstream connection in the same turn of the loop as the head, so the two
 * leave in one write call - on a fresh connection and on one reused from
 * the pool. Were the body held back until the head's write completed
 * (on_drain), each request would cost two writes, and two TCP segments.
 *
 * Each half guards its own line: the fresh connection the gather that
 * holds the head until the body joins it (h1client.c h1c__send_head, its
 * uv_idle_start: without it the head leaves alone at the connect, and the
 * count is 2); the pooled one relay.c's px->up.writable =
 * h1c_takes_body(hr) (false there: the body waits for on_drain, 2 writes).
 *
 * The count is the upstream client's own (h1c_stats.writes over the
 * worker's pools, upstream.h up_worker_stats), read on the worker thread
 * (rig_on_worker). The fake upstream keeps its connection open
 * (rig_opts.up_keepalive), so the second PUT, on the same client
 * connection, reuses the first one's upstream connection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "h1client.h"
#include "pipeline_rig.h"
#include "sockutil.h"
#include "upstream.h"

#define AKID "AKIARELAYONEWRITE001"
#define SECRET "relayOneWriteSecret/0123456789abcdefghijk"

/* Kept alive: no "Connection: close", so the proxy pools the connection. */
static void up_answer(int fd, const char *head)
{
    (void)head;
    su_send_str(fd, "HTTP/1.1 200 OK\r\nx-amz-request-id: UPONEWRITE\r\nContent-Length: 0\r\n\r\n");
}

static struct config *make_config(void)
{
    return rig_config(&(struct rig_cfg){ .akid = AKID, .secret = SECRET });
}

static const struct rig_opts opts = {
    .make_config = make_config, .answer = up_answer, .up_keepalive = true,
};

static void read_stats(struct proxy_worker *w, void *arg)
{
    up_worker_stats(w, arg);
}

static struct h1c_stats stats(void)
{
    struct h1c_stats s;
    rig_on_worker(read_stats, &s);
    return s;
}

/* Sends one signed PUT (head and body in one send) on fd and reads its
 * answer; asserts a 200 and that the upstream got the body whole. */
static void put_once(int fd, const char *key, const char *body)
{
    char target[64], req[8192], resp[8192];
    snprintf(target, sizeof(target), "/bkt/%s", key);
    size_t n = rig_build(req, sizeof(req), &(struct rig_req){
        .akid = AKID, .secret = SECRET, .target = target, .body = body });
    /* one send of a few hundred bytes on loopback: one read at the proxy */
    su_send(fd, req, n);
    bool closed;
    su_read(fd, resp, sizeof(resp), "\r\n\r\n", 1, 5000, &closed);
    rig_assert_status(resp, "HTTP/1.1 200 OK\r\n");
    assert_false(closed);
    struct rig_seen *seen = malloc(sizeof(*seen));
    assert_non_null(seen);
    rig_seen(seen);
    char line[128];
    snprintf(line, sizeof(line), "PUT /real-bkt/%s HTTP/1.1\r\n", key);
    assert_int_equal(strncmp(seen->last_head, line, strlen(line)), 0);
    assert_int_equal(seen->last_body_len, strlen(body));
    assert_memory_equal(seen->last_body, body, strlen(body));
    free(seen);
}

/* One PUT on the client connection fd: it went upstream on a fresh
 * connection (fresh) or a pooled one, in one write. The pool's counts
 * after it. */
static struct h1c_stats put_in_one_write(int fd, const char *key, const char *body,
                                         struct h1c_stats before, bool fresh)
{
    put_once(fd, key, body);
    struct h1c_stats after = stats();
    assert_int_equal(after.connects - before.connects, fresh ? 1 : 0);
    assert_int_equal(after.reuses - before.reuses, fresh ? 0 : 1);
    if (after.writes - before.writes != 1)
        fprintf(stderr, "%s connection: %llu upstream writes for one PUT\n",
                fresh ? "fresh" : "reused", (unsigned long long)(after.writes - before.writes));
    assert_int_equal(after.writes - before.writes, 1);
    return after;
}

static void test_put_goes_upstream_in_one_write(void **state)
{
    (void)state;
    struct h1c_stats s0 = stats();
    int fd = su_connect(rig_port());
    assert_true(fd >= 0);

    /* 1. a fresh upstream connection */
    s0 = put_in_one_write(fd, "one", "hello, one write", s0, true);
    /* 2. the same client connection again: the pooled upstream connection */
    put_in_one_write(fd, "two", "and another small body", s0, false);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_goes_upstream_in_one_write),
    };
    return rig_run_group(tests, &opts);
}
