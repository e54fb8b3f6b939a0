/* test_conn_bufs.c - a connection holds its read buffer and head store only
 * while a request is in progress (conn.c): an idle keep-alive connection
 * gives them back to its worker, the next connection gets them wiped of
 * the previous client's bytes, and pipelined or partly sent requests are
 * never lost across a give-back. One worker, so every connection shares
 * its spares. */
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/ssl.h>

#include "conn.h"
#include "proxy.h"
#include "server_fixture.h"
#include "sockutil.h"
#include "tls.h"

static struct proxy_server srv;
static int port;
static char rbuf[64 * 1024];

#define SECRET "FQoGZXIvYXdzEsecretSESSIONtoken0123456789"

/* what the handler saw, read by the test once the answer arrived */
static const char *first_in;        /* the read buffer of the request to /first */
static const char *second_in;       /* ... and of /second, on another connection */
static bool second_saw_secret;      /* /first's bytes still in /second's buffers */

static void answer(struct proxy_conn *c)
{
    char resp[512];
    int n = snprintf(resp, sizeof(resp), "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%.*s",
                     (int)c->req.target.len, (int)c->req.target.len, c->req.target.ptr);
    c->ex = NULL;
    proxy_conn_respond(c, resp, (size_t)n, false);
}

static void on_later(uv_timer_t *t)
{
    struct proxy_conn *c = t->data;
    uv_close((uv_handle_t *)t, (uv_close_cb)free);
    answer(c);
}

/* test_token_head_wiped: whether the read buffer still held SECRET when
 * the request after /tok-wiped (or /tok-kept) was parsed */
static int after_wiped_saw = -1, after_kept_saw = -1;

static bool in_has_secret(const struct proxy_conn *c)
{
    return memmem(c->in, PROXY_IN_CAP, SECRET, strlen(SECRET)) != NULL;
}

/* test_queued_answer_wiped: free(3) is wrapped (meson.build); while
 * watch_free is set it counts the large blocks freed and those of them
 * that still held MARKER */
#define MARKER "wJalrXUtnFEMIK7MDENGbPxRfiCYANSWERKEY"
#define BIG (16u << 20) /* more than loopback's socket buffers take at once */
static char big[BIG];
static atomic_bool watch_free;
static atomic_int big_freed, big_freed_with_marker;
static atomic_bool big_answered; /* the handler wrote the whole answer */
static atomic_int big_answers;    /* how many times */
void __real_free(void *p);
void __wrap_free(void *p);
/* test_openssl_frees_wiped: the one block watched, and what its free saw;
 * test_tls_idle_buffers_reused_wiped: freed blocks that held SECRET */
static void *watch_block;
static atomic_bool watch_block_freed, watch_block_marked;
static atomic_bool watch_secret;
static atomic_int freed_with_secret;
void __wrap_free(void *p)
{
    if (p && p == watch_block) {
        atomic_store(&watch_block_freed, true);
        atomic_store(&watch_block_marked,
                     memmem(p, malloc_usable_size(p), MARKER, strlen(MARKER)) != NULL);
    }
    if (p && atomic_load(&watch_secret) &&
        memmem(p, malloc_usable_size(p), SECRET, strlen(SECRET)))
        atomic_fetch_add(&freed_with_secret, 1);
    if (p && atomic_load(&watch_free)) {
        size_t n = malloc_usable_size(p);
        if (n >= BIG / 4) {
            atomic_fetch_add(&big_freed, 1);
            if (memmem(p, n, MARKER, strlen(MARKER)))
                atomic_fetch_add(&big_freed_with_marker, 1);
        }
    }
    __real_free(p);
}

/* a 16 MiB answer whose last bytes are MARKER, as a local answer (which an
 * STS answer's keys are) or as streamed bytes */
static void answer_big(struct proxy_conn *c, bool local)
{
    size_t body = BIG - 128;
    size_t h = (size_t)snprintf(big, 128, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", body);
    memset(big + h, 'x', body);
    memcpy(big + h + body - strlen(MARKER), MARKER, strlen(MARKER));
    size_t n = h + body;
    c->ex = NULL;
    if (local) {
        proxy_conn_respond(c, big, n, false);
    } else {
        proxy_conn_write(c, big, n);
        proxy_conn_finish(c, false);
    }
    atomic_store(&big_answered, true);
    atomic_fetch_add(&big_answers, 1);
}

/* test_unfinished_heads_hold_no_read_buffer: what /look saw of the
 * worker's other connections, and whether its own buffers held SECRET */
struct look_partial {
    int stores, read_buffers;
    bool saw_secret;
};
static struct look_partial partial_seen;

static void look_partial(struct proxy_conn *me)
{
    struct look_partial l = { 0 };
    for (const struct proxy_conn *c = me->w->conns; c; c = c->next) {
        if (c == me)
            continue;
        l.stores += c->heads != NULL;
        l.read_buffers += c->bufs != NULL;
    }
    l.saw_secret = memmem(me->in, PROXY_IN_CAP, SECRET, strlen(SECRET)) != NULL;
    partial_seen = l;
}

static void on_head(struct proxy_conn *c)
{
    struct s3w_slice p = c->req.path;
    if (s3w_slice_eq_cstr(p, "/look"))
        look_partial(c);
    if (s3w_slice_eq_cstr(p, "/big-local") || s3w_slice_eq_cstr(p, "/big-streamed")) {
        answer_big(c, s3w_slice_eq_cstr(p, "/big-local"));
        return;
    }
    /* what the pipeline does for a request that carried a session token */
    if (s3w_slice_eq_cstr(p, "/async-tok-wiped"))
        proxy_conn_wipe_consumed(c);
    if (s3w_slice_eq_cstr(p, "/after-wiped"))
        after_wiped_saw = in_has_secret(c);
    else if (s3w_slice_eq_cstr(p, "/after-kept"))
        after_kept_saw = in_has_secret(c);
    if (s3w_slice_eq_cstr(p, "/first")) {
        first_in = c->in;
    } else if (s3w_slice_eq_cstr(p, "/second")) {
        second_in = c->in;
        second_saw_secret = memmem(c->in, PROXY_IN_CAP, SECRET, strlen(SECRET)) != NULL ||
                            memmem(c->req.arena, HTTP_MAX_HEAD, SECRET, strlen(SECRET)) != NULL;
    }
    if (p.len >= 6 && memcmp(p.ptr, "/async", 6) == 0) {
        /* answered from the loop later: the exchange ends outside the
         * parse loop, with the next request's bytes buffered */
        uv_timer_t *t = malloc(sizeof(*t));
        assert_non_null(t);
        uv_timer_init(&c->w->loop, t);
        t->data = c;
        c->ex = t;
        uv_timer_start(t, on_later, 20, 0);
        return;
    }
    answer(c);
}

static void on_abort(struct proxy_conn *c)
{
    c->ex = NULL; /* the timers here outlive no connection in these tests */
}

static const struct proxy_handler handler = {
    .on_head = on_head,
    .on_abort = on_abort,
};

static int setup(void **state)
{
    (void)state;
    port = fx_server_start(&srv, &handler, 1, 3000, 5000);
    return port < 0 ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    fx_server_stop(&srv);
    return 0;
}

static void expect_answers(int fd, int n, const char *const *targets)
{
    bool closed;
    su_read(fd, rbuf, sizeof(rbuf), "HTTP/1.1 200 OK", n, 3000, &closed);
    /* the last answer's body follows its head */
    const char *last = targets[n - 1];
    for (int i = 0; i < 100 && !strstr(rbuf, last); i++) {
        size_t have = strlen(rbuf);
        su_read(fd, rbuf + have, sizeof(rbuf) - have, last, 1, 50, &closed);
    }
    assert_false(closed);
    const char *at = rbuf;
    for (int i = 0; i < n; i++) {
        const char *t = strstr(at, targets[i]);
        assert_non_null(t);
        at = t + strlen(targets[i]);
    }
}

/* The buffers an idle connection gave back serve the next connection, and
 * nothing of the first client's head (its session token) is left in them. */
static void test_idle_buffers_reused_wiped(void **state)
{
    (void)state;
    int a = su_connect(port);
    assert_true(a >= 0);
    su_send_str(a, "GET /first HTTP/1.1\r\nHost: h\r\nX-Amz-Security-Token: " SECRET "\r\n\r\n");
    expect_answers(a, 1, (const char *const[]){ "/first" });
    /* a is idle and open; b is served from what a gave back */
    int b = su_connect(port);
    assert_true(b >= 0);
    su_send_str(b, "GET /second HTTP/1.1\r\nHost: h\r\n\r\n");
    expect_answers(b, 1, (const char *const[]){ "/second" });
    assert_non_null(first_in);
    assert_ptr_equal(second_in, first_in);
    assert_false(second_saw_secret);
    /* and a, idle without buffers, is served again */
    su_send_str(a, "GET /again HTTP/1.1\r\nHost: h\r\n\r\n");
    expect_answers(a, 1, (const char *const[]){ "/again" });
    close(a);
    close(b);
}

/* Pipelined bytes after a request stay with the connection: a second head
 * sent partly with the first and finished after the first answer, and a
 * third whole one behind an answer given later from the loop. */
static void test_pipelined_across_give_back(void **state)
{
    (void)state;
    int fd = su_connect(port);
    assert_true(fd >= 0);
    su_send_str(fd, "GET /p1 HTTP/1.1\r\nHost: h\r\n\r\nGET /p2 HT");
    expect_answers(fd, 1, (const char *const[]){ "/p1" });
    su_send_str(fd, "TP/1.1\r\nHost: h\r\n\r\n");
    expect_answers(fd, 1, (const char *const[]){ "/p2" });
    su_send_str(fd, "GET /async1 HTTP/1.1\r\nHost: h\r\n\r\nGET /p3 HTTP/1.1\r\nHost: h\r\n\r\n"
                    "GET /async2 HTTP/1.1\r\nHost: h\r\n\r\n");
    expect_answers(fd, 3, (const char *const[]){ "/async1", "/p3", "/async2" });
    /* a head trickling in over an idle connection */
    su_send_str(fd, "GET /tr");
    usleep(30000);
    su_send_str(fd, "ickle HTTP/1.1\r\nHo");
    usleep(30000);
    su_send_str(fd, "st: h\r\n\r\n");
    expect_answers(fd, 1, (const char *const[]){ "/trickle" });
    close(fd);
}

/* A request whose head carried a session token, answered later from the
 * loop, with a short request pipelined behind it: the connection keeps its
 * read buffer throughout (never idle), and consume() moved only the short
 * request's bytes over the head, so the rest of the head - the token - is
 * still in the buffer unless the handler had it wiped
 * (proxy_conn_wipe_consumed). Without the call (/async-tok-kept, as for a
 * request without a token) the bytes stay: the check sees them. */
static void test_token_head_wiped(void **state)
{
    (void)state;
    int fd = su_connect(port);
    assert_true(fd >= 0);
    su_send_str(fd, "GET /async-tok-wiped HTTP/1.1\r\nHost: h\r\nUser-Agent: t\r\n"
                    "X-Amz-Security-Token: " SECRET "\r\nX-Amz-Date: 20261205T000000Z\r\n\r\n"
                    "GET /after-wiped HTTP/1.1\r\nHost: h\r\n\r\n");
    expect_answers(fd, 2, (const char *const[]){ "/async-tok-wiped", "/after-wiped" });
    su_send_str(fd, "GET /async-tok-kept HTTP/1.1\r\nHost: h\r\nUser-Agent: t\r\n"
                    "X-Amz-Security-Token: " SECRET "\r\nX-Amz-Date: 20261205T000000Z\r\n\r\n"
                    "GET /after-kept HTTP/1.1\r\nHost: h\r\n\r\n");
    expect_answers(fd, 2, (const char *const[]){ "/async-tok-kept", "/after-kept" });
    close(fd);
    if (after_wiped_saw)
        fprintf(stderr, "the token of /async-tok-wiped is still in the read buffer\n");
    assert_int_equal(after_wiped_saw, 0);
    assert_int_equal(after_kept_saw, 1);
}

/* A head that has partly come holds the store it is parsed into but no
 * read buffer (64 KiB): its bytes are in the store, so thousands of slow
 * or unfinished heads cost what they sent, not a read buffer each. The
 * read buffers they gave back were wiped (the next connection's holds
 * none of their SECRET), and every head, finished later, is answered. */
#define NPARTIAL 40
static void test_unfinished_heads_hold_no_read_buffer(void **state)
{
    (void)state;
    static char pad[2048];
    memset(pad, 'p', sizeof(pad) - 1);
    int fds[NPARTIAL];
    for (int i = 0; i < NPARTIAL; i++) {
        fds[i] = su_connect(port);
        assert_true(fds[i] >= 0);
        char head[4096];
        snprintf(head, sizeof(head),
                 "GET /part%d HTTP/1.1\r\nHost: h\r\nX-Amz-Security-Token: " SECRET "\r\n"
                 "X-Pad: %s",
                 i, pad);
        su_send_str(fds[i], head);
    }
    /* /look, on another connection, once the worker has read them all */
    for (int tries = 0; tries < 100; tries++) {
        int fd = su_connect(port);
        assert_true(fd >= 0);
        su_send_str(fd, "GET /look HTTP/1.1\r\nHost: h\r\n\r\n");
        expect_answers(fd, 1, (const char *const[]){ "/look" });
        close(fd);
        if (partial_seen.stores == NPARTIAL)
            break;
        usleep(20 * 1000);
    }
    if (partial_seen.read_buffers)
        fprintf(stderr, "%d of %d unfinished heads hold a read buffer\n",
                partial_seen.read_buffers, partial_seen.stores);
    assert_int_equal(partial_seen.stores, NPARTIAL);
    assert_int_equal(partial_seen.read_buffers, 0);
    assert_false(partial_seen.saw_secret);
    for (int i = 0; i < NPARTIAL; i++) {
        su_send_str(fds[i], "p\r\n\r\n");
        char target[16];
        snprintf(target, sizeof(target), "/part%d", i);
        expect_answers(fds[i], 1, (const char *const[]){ target });
        close(fds[i]);
    }
}

/* ---- the same over TLS: OpenSSL asks for plaintext room on every record,
 * handshake ones included, and an idle connection still holds nothing ---- */
static struct fx_cert cert;
static SSL_CTX *cctx;

/* The worker's connections, and how many of them hold a read buffer, as
 * its loop sees them between callbacks: the test pokes it
 * (srv.worker_poke) and waits for the answer. */
static atomic_int looks;
static atomic_size_t conns_seen, holding_seen;

static void look_at_conns(struct proxy_worker *w)
{
    size_t n = 0, holding = 0;
    for (const struct proxy_conn *c = w->conns; c; c = c->next) {
        n++;
        holding += c->bufs != NULL;
    }
    atomic_store(&conns_seen, n);
    atomic_store(&holding_seen, holding);
    atomic_fetch_add(&looks, 1);
}

static void look_at_worker(void)
{
    int n0 = atomic_load(&looks);
    proxy_server_poke(&srv);
    for (int i = 0; i < 1000 && atomic_load(&looks) == n0; i++)
        usleep(10 * 1000);
    if (atomic_load(&looks) == n0)
        fail_msg("the worker did not answer a poke within 10 s");
}

/* Waits until the only connection is open and idle: it holds no buffer. */
static void wait_idle(void)
{
    for (int i = 0; i < 1000; i++) {
        look_at_worker();
        if (atomic_load(&conns_seen) == 1 && atomic_load(&holding_seen) == 0)
            return;
        usleep(10 * 1000);
    }
    fail_msg("no idle connection after 10 s: %zu open, %zu of them holding a read buffer",
             atomic_load(&conns_seen), atomic_load(&holding_seen));
}

static int setup_tls(void **state)
{
    if (fx_cert_make(&cert, "/tmp/s3w_test_conn_bufs_XXXXXX") != 0 || setup(state) != 0)
        return -1;
    struct tls_server *t = tls_server_new(cert.cert, cert.key);
    if (!t)
        return -1;
    proxy_server_set_tls(&srv, t);
    srv.worker_poke = look_at_conns;
    cctx = SSL_CTX_new(TLS_client_method());
    return cctx ? 0 : -1;
}

static int teardown_tls(void **state)
{
    struct tls_server *t = srv.tls; /* the server does not free it */
    teardown(state);
    tls_server_unref(t);
    SSL_CTX_free(cctx);
    fx_cert_remove(&cert);
    return 0;
}

static SSL *tls_open(int *fd)
{
    *fd = su_connect(port);
    assert_true(*fd >= 0);
    SSL *s = SSL_new(cctx);
    assert_non_null(s);
    SSL_set_fd(s, *fd);
    assert_int_equal(SSL_connect(s), 1);
    return s;
}

/* One request and its whole answer (its body is the target). */
static void tls_get(SSL *s, const char *target, const char *extra)
{
    char req[512];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: h\r\n%s\r\n", target, extra);
    assert_int_equal(SSL_write(s, req, n), n);
    size_t got = 0;
    rbuf[0] = '\0';
    while (!strstr(rbuf, "\r\n\r\n") || !strstr(strstr(rbuf, "\r\n\r\n"), target)) {
        int r = SSL_read(s, rbuf + got, (int)(sizeof rbuf - 1 - got));
        assert_true(r > 0);
        got += (size_t)r;
        rbuf[got] = '\0';
    }
    assert_non_null(strstr(rbuf, "HTTP/1.1 200 OK"));
}

static void test_tls_idle_buffers_reused_wiped(void **state)
{
    (void)state;
    first_in = second_in = NULL;
    int fa, fb;
    atomic_store(&freed_with_secret, 0);
    atomic_store(&watch_secret, true);
    SSL *a = tls_open(&fa);
    tls_get(a, "/first", "X-Amz-Security-Token: " SECRET "\r\n");
    /* a is idle: its last records (the session tickets, the answer) are
     * processed and its buffer is back with the worker */
    wait_idle();
    SSL *b = tls_open(&fb);
    tls_get(b, "/second", "");
    assert_non_null(first_in);
    assert_ptr_equal(second_in, first_in);
    assert_false(second_saw_secret);
    tls_get(a, "/again", "");
    SSL_free(a);
    SSL_free(b);
    close(fa);
    close(fb);
    atomic_store(&watch_secret, false);
    /* OpenSSL's record buffers (both ends, freed after each record) held
     * the head in plaintext: wiped when freed (tls_wipe_freed_memory) */
    assert_int_equal(atomic_load(&freed_with_secret), 0);
}

/* OpenSSL's frees and reallocs go through tls_wipe_freed_memory's
 * functions: a block it frees, or leaves behind by moving, is wiped. */
static void test_openssl_frees_wiped(void **state)
{
    (void)state;
    char *p = OPENSSL_malloc(256);
    assert_non_null(p);
    memcpy(p, MARKER, strlen(MARKER));
    atomic_store(&watch_block_freed, false);
    watch_block = p;
    OPENSSL_free(p);
    assert_true(atomic_load(&watch_block_freed)); /* it came through here */
    assert_false(atomic_load(&watch_block_marked));
    p = OPENSSL_malloc(64);
    assert_non_null(p);
    memcpy(p, MARKER, strlen(MARKER));
    atomic_store(&watch_block_freed, false);
    watch_block = p;
    char *q = OPENSSL_realloc(p, 1u << 20); /* does not fit where it is */
    assert_non_null(q);
    assert_true(atomic_load(&watch_block_freed));
    assert_false(atomic_load(&watch_block_marked));
    assert_memory_equal(q, MARKER, strlen(MARKER)); /* moved whole */
    watch_block = NULL;
    OPENSSL_free(q);
}

/* What of a local answer waits in the connection's queue (a client that
 * does not read it at once) is wiped when its write is done: an STS answer
 * holds secret keys, an error may echo a session token. Streamed bytes
 * (objects) are not: the control shows the wrapped free sees them. */
static int fetch_big(const char *path)
{
    atomic_store(&big_freed, 0);
    atomic_store(&big_freed_with_marker, 0);
    atomic_store(&big_answered, false);
    atomic_store(&watch_free, true);
    int fd = su_connect(port);
    assert_true(fd >= 0);
    char req[128];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: h\r\n\r\n", path);
    su_send_str(fd, req);
    /* nothing is read until the handler wrote it all: the socket buffers
     * fill; the rest is queued */
    for (int i = 0; i < 1000 && !atomic_load(&big_answered); i++)
        usleep(10 * 1000);
    if (!atomic_load(&big_answered))
        fail_msg("%s was not answered within 10 s", path);
    static char got[BIG];
    size_t have = 0, ml = strlen(MARKER);
    bool whole = false;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        struct pollfd pf = { fd, POLLIN, 0 };
        if (poll(&pf, 1, 100) == 1) {
            ssize_t r = recv(fd, got + have, sizeof got - have, 0);
            if (r <= 0)
                break;
            size_t from = have > ml ? have - ml : 0;
            have += (size_t)r;
            whole = memmem(got + from, have - from, MARKER, ml) != NULL;
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
    } while (!whole && t1.tv_sec - t0.tv_sec < 10);
    if (!whole)
        fail_msg("the answer to %s did not arrive whole within 10 s (%zu bytes)", path, have);
    /* the answer's write is done once the next answer arrives */
    su_send_str(fd, "GET /after-big HTTP/1.1\r\nHost: h\r\n\r\n");
    bool closed;
    su_read(fd, rbuf, sizeof(rbuf), "/after-big", 1, 3000, &closed);
    close(fd);
    atomic_store(&watch_free, false);
    assert_true(atomic_load(&big_freed) >= 1); /* something was queued */
    return atomic_load(&big_freed_with_marker);
}

static void test_queued_answer_wiped(void **state)
{
    (void)state;
    assert_int_equal(fetch_big("/big-streamed"), 1); /* the instrument sees it */
    assert_int_equal(fetch_big("/big-local"), 0);
}

/* ---- at max_connections (10, one worker) -------------------------------------- */
static int setup_capped(void **state)
{
    (void)state;
    struct proxy_settings s;
    proxy_settings_defaults(&s);
    s.port = 0;
    s.workers = 1;
    s.header_timeout_ms = 3000;
    s.idle_timeout_ms = 5000;
    s.max_connections = 10;
    memset(&srv, 0, sizeof(srv));
    if (proxy_server_init(&srv, &s, &handler, NULL) != 0 || proxy_server_start(&srv) != 0)
        return -1;
    port = srv.bound_port;
    return 0;
}

/* Nine connections whose answers (16 MiB each, handed over whole: their
 * exchanges are over) their clients do not read, then one idle: a
 * newcomer is served by closing the idle one, however many connections
 * with answers still being written come before it (none of those is
 * closed: its answer would be cut). A probe saw 503s behind nine such. */
static void test_idle_behind_unread_answers_makes_room(void **state)
{
    (void)state;
    int slow[9];
    atomic_store(&big_answers, 0);
    for (int i = 0; i < 9; i++) {
        slow[i] = su_connect(port);
        assert_true(slow[i] >= 0);
        su_send_str(slow[i], "GET /big-local HTTP/1.1\r\nHost: h\r\n\r\n");
    }
    for (int i = 0; i < 1000 && atomic_load(&big_answers) < 9; i++)
        usleep(10 * 1000);
    assert_int_equal(atomic_load(&big_answers), 9);
    int idle = su_connect(port);
    assert_true(idle >= 0);
    usleep(100 * 1000);
    int fd = su_connect(port);
    assert_true(fd >= 0);
    su_send_str(fd, "GET /newcomer HTTP/1.1\r\nHost: h\r\n\r\n");
    bool closed;
    su_read(fd, rbuf, sizeof(rbuf), "/newcomer", 1, 3000, &closed);
    bool served = strstr(rbuf, "HTTP/1.1 200 OK") && strstr(rbuf, "/newcomer");
    struct pollfd p = { .fd = idle, .events = POLLIN };
    char b[16];
    bool idle_closed = poll(&p, 1, 1000) == 1 && recv(idle, b, sizeof(b), MSG_DONTWAIT) <= 0;
    int slow_closed = 0;
    for (int i = 0; i < 9; i++) {
        /* the answer's first bytes are there; a close would also show as
         * a reset or an end once they are read */
        ssize_t r = recv(slow[i], b, sizeof(b), MSG_DONTWAIT);
        slow_closed += r <= 0;
        close(slow[i]);
    }
    close(idle);
    close(fd);
    if (!served)
        fprintf(stderr, "the newcomer was not served: %.80s\n", rbuf);
    assert_true(served);
    assert_true(idle_closed);
    assert_int_equal(slow_closed, 0);
}

int main(void)
{
    /* as s3warden's main does, before OpenSSL's first allocation */
    if (!tls_wipe_freed_memory())
        fprintf(stderr, "tls_wipe_freed_memory came too late\n");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idle_buffers_reused_wiped),
        cmocka_unit_test(test_pipelined_across_give_back),
        cmocka_unit_test(test_token_head_wiped),
        cmocka_unit_test(test_queued_answer_wiped),
        cmocka_unit_test(test_unfinished_heads_hold_no_read_buffer),
    };
    const struct CMUnitTest tls_tests[] = {
        cmocka_unit_test(test_openssl_frees_wiped),
        cmocka_unit_test(test_tls_idle_buffers_reused_wiped),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    const struct CMUnitTest capped_tests[] = {
        cmocka_unit_test(test_idle_behind_unread_answers_makes_room),
    };
    rc |= cmocka_run_group_tests(tls_tests, setup_tls, teardown_tls);
    return rc | cmocka_run_group_tests(capped_tests, setup_capped, teardown);
}
