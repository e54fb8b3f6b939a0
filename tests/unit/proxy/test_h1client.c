/* Unit tests for proxy/h1client.c against a scripted upstream: a TCP server
 * on 127.0.0.1 in the same loop that answers each request with bytes the
 * test chose (a unit test may fake a socket; the framing under test is the
 * client's). Each framing attack must fail with H1C_E_PROTOCOL and retire
 * the connection; keep-alive, HEAD/204/304, chunked answers, the retry rule,
 * backpressure and timeouts are checked as well. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "h1client_int.h" /* the lent buffers' test looks at idle connections */

/* ---- the scripted upstream ------------------------------------------------------- */

/* TRICKLE: the answer one byte every TRICKLE_MS; TRICKLE_BODY: its first
 * `len` bytes at once, the rest trickled */
enum action { ANSWER, ANSWER_CLOSE, CLOSE_NOW, SILENT, TRICKLE, TRICKLE_BODY };
#define TRICKLE_MS 25

struct step {
    enum action act;
    const char *bytes;
    size_t len; /* 0: strlen(bytes) */
};

struct fake {
    uv_tcp_t srv;
    int port;
    int accepts;
    int requests;
    const struct step *script; /* one step per request, in arrival order */
    size_t nscript;
    char last_req[4096];
};

struct fconn {
    uv_tcp_t h;
    struct fake *f;
    char buf[1 << 20];
    size_t len;
    bool closing;
    uv_timer_t trickle;          /* TRICKLE: sends trickle_p's next byte */
    const char *trickle_p;
    size_t trickle_left;
    int handles;                 /* open: h, and trickle once started */
};

static uv_loop_t *loop;
static struct fake fk;

static void fconn_closed(uv_handle_t *h)
{
    struct fconn *fc = h->data;
    if (--fc->handles == 0)
        free(fc);
}

static void fconn_close(struct fconn *fc)
{
    if (!fc->closing) {
        fc->closing = true;
        uv_close((uv_handle_t *)&fc->h, fconn_closed);
        if (fc->trickle.data)
            uv_close((uv_handle_t *)&fc->trickle, fconn_closed);
    }
}

struct fwrite {
    uv_write_t w;
    struct fconn *fc;
    bool close_after;
    char data[];
};

static void fwritten(uv_write_t *w, int status)
{
    struct fwrite *fw = (struct fwrite *)w;
    (void)status;
    if (fw->close_after)
        fconn_close(fw->fc);
    free(fw);
}

static void fsend(struct fconn *fc, const char *p, size_t n, bool close_after)
{
    struct fwrite *fw = malloc(sizeof *fw + n);
    memcpy(fw->data, p, n);
    fw->fc = fc;
    fw->close_after = close_after;
    uv_buf_t b = uv_buf_init(fw->data, (unsigned)n);
    assert_int_equal(uv_write(&fw->w, (uv_stream_t *)&fc->h, &b, 1, fwritten), 0);
}

static void trickle_next(uv_timer_t *t)
{
    struct fconn *fc = t->data;
    if (fc->closing || !fc->trickle_left) {
        uv_timer_stop(t);
        return;
    }
    fsend(fc, fc->trickle_p, 1, false);
    fc->trickle_p++;
    fc->trickle_left--;
}

/* Length of one whole request at the start of buf, or 0. */
static size_t request_len(const char *buf, size_t len)
{
    const char *end = memmem(buf, len, "\r\n\r\n", 4);
    if (!end)
        return 0;
    size_t head = (size_t)(end - buf) + 4, body = 0;
    const char *cl = memmem(buf, head, "Content-Length: ", 16);
    if (cl)
        body = strtoul(cl + 16, NULL, 10);
    return len >= head + body ? head + body : 0;
}

static void falloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    struct fconn *fc = h->data;
    (void)hint;
    b->base = fc->buf + fc->len;
    b->len = sizeof fc->buf - fc->len;
}

static void fread_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct fconn *fc = s->data;
    (void)b;
    if (n < 0) {
        fconn_close(fc);
        return;
    }
    fc->len += (size_t)n;
    size_t rl;
    while (!fc->closing && (rl = request_len(fc->buf, fc->len)) > 0) {
        struct fake *f = fc->f;
        snprintf(f->last_req, sizeof f->last_req, "%.*s", (int)rl, fc->buf);
        const struct step *st = (size_t)f->requests < f->nscript ? &f->script[f->requests] : NULL;
        f->requests++;
        memmove(fc->buf, fc->buf + rl, fc->len - rl);
        fc->len -= rl;
        if (!st || st->act == CLOSE_NOW) {
            fconn_close(fc);
            return;
        }
        if (st->act == SILENT)
            continue;
        if (st->act == TRICKLE || st->act == TRICKLE_BODY) {
            if (!fc->trickle.data) {
                uv_timer_init(loop, &fc->trickle);
                fc->trickle.data = fc;
                fc->handles++;
            }
            size_t at = st->act == TRICKLE_BODY ? st->len : 0;
            if (at)
                fsend(fc, st->bytes, at, false);
            fc->trickle_p = st->bytes + at;
            fc->trickle_left = strlen(st->bytes) - at;
            uv_timer_start(&fc->trickle, trickle_next, 0, TRICKLE_MS);
            continue;
        }
        fsend(fc, st->bytes, st->len ? st->len : strlen(st->bytes), st->act == ANSWER_CLOSE);
    }
}

static void on_accept(uv_stream_t *s, int status)
{
    assert_int_equal(status, 0);
    struct fconn *fc = calloc(1, sizeof *fc);
    fc->f = s->data;
    fc->h.data = fc;
    fc->handles = 1;
    uv_tcp_init(loop, &fc->h);
    assert_int_equal(uv_accept(s, (uv_stream_t *)&fc->h), 0);
    fc->f->accepts++;
    uv_read_start((uv_stream_t *)&fc->h, falloc, fread_cb);
}

static void script(const struct step *s, size_t n)
{
    fk.script = s;
    fk.nscript = n;
    fk.requests = 0;
    fk.accepts = 0;
}

/* ---- the client side -------------------------------------------------------------- */

struct result {
    struct h1c_req r;
    bool done;
    int err, status, nheaders;
    char body[1 << 20];
    size_t body_len;
    char etag[64];
    bool pause_each;       /* answer H1C_PAUSE to every on_body */
    size_t since_pause, max_since_pause;
    bool paused;
    int drains;
    const char *send_body; /* sent on the first on_drain */
    bool refuse_head;      /* on_head answers -1 */
};

static int cb_head(struct h1c_req *r, int status, const struct s3w_header *h, size_t n)
{
    struct result *res = r->ud;
    res->status = status;
    res->nheaders = (int)n;
    if (res->refuse_head)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (s3w_slice_eq_nocase(h[i].name, S3W_SLICE_LIT("etag")))
            snprintf(res->etag, sizeof res->etag, "%.*s", (int)h[i].value.len, h[i].value.ptr);
    return 0;
}

static int cb_body(struct h1c_req *r, const char *p, size_t n)
{
    struct result *res = r->ud;
    assert_true(res->body_len + n <= sizeof res->body);
    memcpy(res->body + res->body_len, p, n);
    res->body_len += n;
    if (res->paused) {
        res->since_pause += n;
        if (res->since_pause > res->max_since_pause)
            res->max_since_pause = res->since_pause;
    }
    if (res->pause_each && !res->paused) {
        res->paused = true;
        res->since_pause = 0;
        return H1C_PAUSE;
    }
    return 0;
}

static void cb_drain(struct h1c_req *r)
{
    struct result *res = r->ud;
    res->drains++;
    if (res->send_body && res->drains == 1)
        assert_int_equal(h1c_send(r, res->send_body, strlen(res->send_body)), 0);
}

static void cb_done(struct h1c_req *r, int err)
{
    struct result *res = r->ud;
    assert_false(res->done);
    res->done = true;
    res->err = err;
}

static const struct h1c_callbacks CB = { cb_head, cb_body, cb_drain, cb_done };

static struct h1c_pool *pool;
static _Atomic uint64_t events[H1C_NEVENTS]; /* the pool's, as a worker's metrics shard */
static _Atomic uint64_t gauges[H1C_NGAUGES];

static struct h1c_pool *new_pool(int port, unsigned max_conns, uint32_t fbt_ms)
{
    struct h1c_pool_opts o = {
        .host = "127.0.0.1", .port = (uint16_t)port, .max_conns = max_conns,
        .connect_timeout_ms = 2000, .first_byte_timeout_ms = fbt_ms,
        .idle_timeout_ms = 2000, .keepalive_ms = 10000, .events = events,
        .gauges = gauges,
    };
    for (size_t i = 0; i < H1C_NEVENTS; i++)
        atomic_store(&events[i], 0);
    for (size_t i = 0; i < H1C_NGAUGES; i++)
        atomic_store(&gauges[i], 0);
    struct h1c_pool *p = h1c_pool_new(loop, &o);
    assert_non_null(p);
    return p;
}

static void resume_soon(uv_timer_t *t)
{
    struct result *res = t->data;
    if (res->done)
        return;
    res->paused = false;
    h1c_resume(&res->r);
}

static void run(struct result *res)
{
    uv_timer_t t;
    uv_timer_init(loop, &t);
    t.data = res;
    for (int i = 0; i < 20000 && !res->done; i++) {
        if (res->paused && !uv_is_active((uv_handle_t *)&t))
            uv_timer_start(&t, resume_soon, 2, 0);
        uv_run(loop, UV_RUN_ONCE);
    }
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    assert_true(res->done);
}

static struct result *request(const char *head, const char *body, bool is_head)
{
    struct result *res = calloc(1, sizeof *res);
    res->r.cb = &CB;
    res->r.ud = res;
    res->r.head = s3w_slice_cstr(head);
    res->r.body_len = body ? strlen(body) : 0;
    res->r.is_head = is_head;
    res->send_body = body;
    return res;
}

static struct result *get(const char *path)
{
    static char head[256];
    snprintf(head, sizeof head, "GET %s HTTP/1.1\r\nHost: up\r\n\r\n", path);
    struct result *res = request(head, NULL, false);
    assert_int_equal(h1c_start(pool, &res->r), 0);
    run(res);
    return res;
}

static int setup(void **state)
{
    (void)state;
    loop = uv_default_loop();
    memset(&fk, 0, sizeof fk);
    uv_tcp_init(loop, &fk.srv);
    fk.srv.data = &fk;
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", 0, &a);
    assert_int_equal(uv_tcp_bind(&fk.srv, (struct sockaddr *)&a, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&fk.srv, 64, on_accept), 0);
    struct sockaddr_in got;
    int len = sizeof got;
    uv_tcp_getsockname(&fk.srv, (struct sockaddr *)&got, &len);
    fk.port = ntohs(got.sin_port);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    uv_close((uv_handle_t *)&fk.srv, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    return 0;
}

static int per_test_setup(void **state)
{
    (void)state;
    pool = new_pool(fk.port, 4, 2000);
    return 0;
}

static int per_test_teardown(void **state)
{
    (void)state;
    h1c_pool_close(pool);
    for (int i = 0; i < 50; i++)
        uv_run(loop, UV_RUN_NOWAIT);
    return 0;
}

/* ---- well-formed answers ---------------------------------------------------------- */

/* The pool's spares are never more than its connections: after a burst,
 * those that closed take theirs along even while another stays busy (a
 * pool kept every spare of its busiest moment until none was busy). */
static void test_spares_go_with_closed_connections(void **state)
{
    (void)state;
    h1c_pool_close(pool);
    pool = new_pool(fk.port, 8, 5000);
    static const struct step s[] = {
        { SILENT, NULL, 0 },
        { ANSWER_CLOSE, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n1", 0 },
        { ANSWER_CLOSE, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n2", 0 },
        { ANSWER_CLOSE, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n3", 0 },
        { ANSWER_CLOSE, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n4", 0 },
        { ANSWER_CLOSE, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n5", 0 },
    };
    script(s, 6);
    struct result *r[6];
    for (int i = 0; i < 6; i++) {
        r[i] = request("GET /s HTTP/1.1\r\nHost: up\r\n\r\n", NULL, false);
        assert_int_equal(h1c_start(pool, &r[i]->r), 0);
    }
    int answered = 0;
    for (int i = 0; i < 2000 && answered < 5; i++) {
        uv_run(loop, UV_RUN_ONCE);
        answered = 0;
        for (int k = 0; k < 6; k++)
            answered += r[k]->done;
    }
    assert_int_equal(answered, 5);
    for (int i = 0; i < 50; i++)
        uv_run(loop, UV_RUN_NOWAIT); /* the five connections' handles close */
    struct h1c_stats st;
    h1c_pool_stats(pool, &st);
    assert_int_equal(st.open, 1); /* the silent one, busy */
    assert_int_equal(st.idle, 0);
    assert_true(pool->heads.n <= 1);
    assert_true(pool->wbufs.n <= 2);
    for (int k = 0; k < 6; k++) {
        if (!r[k]->done)
            h1c_abort(&r[k]->r);
        free(r[k]);
    }
}

/* An idle pooled connection holds no buffer: its answer head's storage
 * and its write buffers went back to the pool, which keeps spares for one
 * request once no connection is busy; reads land in the thread's buffer.
 * (A pooled connection held 64 KiB of read buffer, 64 KiB of head storage
 * and 16-32 KiB of write buffers for as long as it lived.) A chunked
 * answer's trailer, which comes after the head's storage went back, is
 * not written into it: the next answer's head, in the same storage, reads
 * right. */
static void test_idle_connections_hold_no_buffers(void **state)
{
    (void)state;
    h1c_pool_close(pool);
    pool = new_pool(fk.port, 8, 2000);
    static const struct step s[] = {
        { ANSWER, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nETag: \"t0\"\r\n\r\n"
                  "3\r\nabc\r\n0\r\nX-Trailer: overwrites-a-kept-head\r\n\r\n", 0 },
        { ANSWER, "HTTP/1.1 200 OK\r\nETag: \"t1\"\r\nContent-Length: 1\r\n\r\n1", 0 },
        { ANSWER, "HTTP/1.1 200 OK\r\nETag: \"t2\"\r\nContent-Length: 1\r\n\r\n2", 0 },
        { ANSWER, "HTTP/1.1 200 OK\r\nETag: \"t3\"\r\nContent-Length: 1\r\n\r\n3", 0 },
        { ANSWER, "HTTP/1.1 200 OK\r\nETag: \"t4\"\r\nContent-Length: 1\r\n\r\n4", 0 },
        { ANSWER, "HTTP/1.1 200 OK\r\nETag: \"t5\"\r\nContent-Length: 1\r\n\r\n5", 0 },
    };
    script(s, 6);
    struct result *r[5];
    for (int i = 0; i < 5; i++) { /* five at once: five connections */
        r[i] = request(i == 4 ? "PUT /p HTTP/1.1\r\nHost: up\r\nContent-Length: 4\r\n\r\n"
                              : "GET /b HTTP/1.1\r\nHost: up\r\n\r\n",
                       i == 4 ? "body" : NULL, false);
        assert_int_equal(h1c_start(pool, &r[i]->r), 0);
    }
    for (int i = 0; i < 5; i++) {
        run(r[i]);
        assert_int_equal(r[i]->err, H1C_OK);
    }
    for (int i = 0; i < 50; i++)
        uv_run(loop, UV_RUN_NOWAIT); /* write callbacks after their answers */
    struct h1c_stats st;
    h1c_pool_stats(pool, &st);
    assert_int_equal(st.idle, 5);
    for (struct h1c_conn *c = pool->idle; c; c = c->next) {
        assert_null(c->head);
        assert_null(c->out[0].ptr);
        assert_null(c->out[1].ptr);
    }
    assert_true(pool->heads.n <= 1);
    assert_true(pool->wbufs.n <= 2);
    /* the chunked answer's trailer came after its head's storage went back */
    struct result *n = get("/after-trailer");
    assert_int_equal(n->err, H1C_OK);
    assert_string_equal(n->etag, "\"t5\"");
    for (int i = 0; i < 5; i++) {
        assert_int_equal(r[i]->etag[1], 't');
        free(r[i]);
    }
    free(n);
}

static void test_keepalive_reuse(void **state)
{
    (void)state;
    static const struct step s[] = {
        { ANSWER, "HTTP/1.1 200 OK\r\nETag: \"abc\"  \r\nContent-Length: 5\r\n\r\nhello", 0 },
        { ANSWER, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nbye", 0 },
    };
    script(s, 2);
    struct result *a = get("/k1");
    assert_int_equal(a->err, H1C_OK);
    assert_int_equal(a->status, 200);
    assert_int_equal(a->body_len, 5);
    assert_memory_equal(a->body, "hello", 5);
    assert_string_equal(a->etag, "\"abc\""); /* trailing OWS trimmed */
    struct result *b = get("/k2");
    assert_int_equal(b->err, H1C_OK);
    assert_memory_equal(b->body, "bye", 3);
    assert_int_equal(fk.accepts, 1);
    struct h1c_stats st;
    h1c_pool_stats(pool, &st);
    assert_int_equal(st.reuses, 1);
    assert_int_equal(st.idle, 1);
    free(a);
    free(b);
}

static void test_chunked_head_204_304(void **state)
{
    (void)state;
    static const struct step s[] = {
        { ANSWER, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\n\r\n", 0 },
        { ANSWER, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", 0 }, /* HEAD */
        { ANSWER, "HTTP/1.1 204 No Content\r\n\r\n", 0 },
        { ANSWER, "HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n", 0 },
    };
    script(s, 4);
    struct result *a = get("/chunked");
    assert_int_equal(a->err, H1C_OK);
    assert_int_equal(a->body_len, 7);
    assert_memory_equal(a->body, "abcdefg", 7);

    struct result *h = request("HEAD /h HTTP/1.1\r\nHost: up\r\n\r\n", NULL, true);
    assert_int_equal(h1c_start(pool, &h->r), 0);
    run(h);
    assert_int_equal(h->err, H1C_OK);
    assert_int_equal(h->status, 200);
    assert_int_equal(h->body_len, 0);

    struct result *c = get("/204");
    assert_int_equal(c->status, 204);
    struct result *d = get("/304");
    assert_int_equal(d->err, H1C_OK);
    assert_int_equal(d->status, 304);
    assert_int_equal(d->body_len, 0);
    assert_int_equal(fk.accepts, 1); /* all four on one connection */
    free(a);
    free(h);
    free(c);
    free(d);
}

static void test_put_body_and_eof_delimited_answer(void **state)
{
    (void)state;
    static const struct step s[] = {
        { ANSWER_CLOSE, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil-eof", 0 },
    };
    script(s, 1);
    struct result *p = request("PUT /o HTTP/1.1\r\nHost: up\r\nContent-Length: 11\r\n\r\n",
                               "hello world", false);
    assert_int_equal(h1c_start(pool, &p->r), 0);
    run(p);
    assert_int_equal(p->err, H1C_OK);
    assert_int_equal(p->drains, 1);
    assert_non_null(strstr(fk.last_req, "\r\n\r\nhello world"));
    assert_int_equal(p->body_len, 9);
    assert_memory_equal(p->body, "until-eof", 9);
    struct h1c_stats st;
    h1c_pool_stats(pool, &st);
    assert_int_equal(st.idle, 0); /* not reusable after a close-delimited answer */
    free(p);
}

/* ---- framing attacks: H1C_E_PROTOCOL and the connection retired ------------------- */

static void expect_protocol_error(const char *answer, bool is_head)
{
    const struct step s[] = { { ANSWER, answer, 0 },
                              { ANSWER, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 0 } };
    script(s, 2);
    struct result *a = request(is_head ? "HEAD /x HTTP/1.1\r\nHost: up\r\n\r\n"
                                       : "GET /x HTTP/1.1\r\nHost: up\r\n\r\n", NULL, is_head);
    assert_int_equal(h1c_start(pool, &a->r), 0);
    run(a);
    int accepts = fk.accepts;
    if (a->err != H1C_E_PROTOCOL)
        fail_msg("answer %.40s: err %d (%s), want H1C_E_PROTOCOL", answer + 17, a->err,
                 h1c_strerror(a->err));
    /* the next request gets a new connection */
    struct result *b = get("/after");
    assert_int_equal(b->err, H1C_OK);
    assert_int_equal(fk.accepts, accepts + 1);
    free(a);
    free(b);
}

/* The events the pool counts into the array it was given (what /metrics
 * shows as s3warden_upstream_connection_events_total): they agree with its
 * own figures, and a connection the caller gave up on (on_head refused) is
 * not the upstream's protocol error. Its gauges (s3warden_upstream_connections)
 * follow its open and idle connections, down to none once it is closed. */
static void test_events_counted(void **state)
{
    (void)state;
    static const struct step s[] = {
        { ANSWER, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na", 0 },
        { ANSWER, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb", 0 },
        { ANSWER, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nc", 0 },
    };
    script(s, 3);
    struct result *a = get("/e1");
    assert_int_equal(atomic_load(&gauges[H1C_GAUGE_OPEN]), 1);
    assert_int_equal(atomic_load(&gauges[H1C_GAUGE_IDLE]), 1);
    struct result *b = request("GET /e2 HTTP/1.1\r\nHost: up\r\n\r\n", NULL, false);
    assert_int_equal(h1c_start(pool, &b->r), 0);
    assert_int_equal(atomic_load(&gauges[H1C_GAUGE_IDLE]), 0); /* taken for /e2 */
    run(b);
    assert_int_equal(a->err, H1C_OK);
    assert_int_equal(b->err, H1C_OK);
    struct result *c = request("GET /e3 HTTP/1.1\r\nHost: up\r\n\r\n", NULL, false);
    c->refuse_head = true;
    assert_int_equal(h1c_start(pool, &c->r), 0);
    run(c);
    assert_int_equal(c->err, H1C_E_PROTOCOL);
    expect_protocol_error("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"
                          "ab", false);

    struct h1c_stats st;
    h1c_pool_stats(pool, &st);
    assert_int_equal(st.connects, 3); /* e1 (e2, e3 reused it), the bad answer, /after */
    assert_int_equal(st.reuses, 2);
    assert_int_equal(st.closed_protocol, 1);
    assert_int_equal(events[H1C_EV_OPENED], st.connects);
    assert_int_equal(events[H1C_EV_REUSED], st.reuses);
    assert_int_equal(events[H1C_EV_PROTOCOL_CLOSED], 1);
    assert_int_equal(events[H1C_EV_RETRIED], 0);
    assert_int_equal(events[H1C_EV_TLS_RESUMED], 0);
    assert_int_equal(events[H1C_EV_COOLED], 0);
    assert_int_equal(atomic_load(&gauges[H1C_GAUGE_OPEN]), st.open);
    assert_int_equal(atomic_load(&gauges[H1C_GAUGE_IDLE]), st.idle);
    assert_true(st.open >= 1);
    h1c_pool_close(pool);
    for (int i = 0; i < 50 && atomic_load(&gauges[H1C_GAUGE_OPEN]); i++)
        uv_run(loop, UV_RUN_NOWAIT);
    assert_int_equal(atomic_load(&gauges[H1C_GAUGE_OPEN]), 0);
    assert_int_equal(atomic_load(&gauges[H1C_GAUGE_IDLE]), 0);
    pool = new_pool(fk.port, 4, 2000); /* for the teardown */
    free(a);
    free(b);
    free(c);
}

static void test_framing_attacks(void **state)
{
    (void)state;
    /* Content-Length and Transfer-Encoding together */
    expect_protocol_error("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked"
                          "\r\n\r\n0\r\n\r\n", false);
    /* two Content-Lengths, different and equal */
    expect_protocol_error("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"
                          "hello!", false);
    expect_protocol_error("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n"
                          "hello", false);
    /* a bad chunk size */
    expect_protocol_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n",
                          false);
    /* a body on HEAD, 204 and 304 */
    expect_protocol_error("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", true);
    expect_protocol_error("HTTP/1.1 204 No Content\r\n\r\nhello", false);
    expect_protocol_error("HTTP/1.1 304 Not Modified\r\n\r\nhello", false);
    /* an unexpected 1xx */
    expect_protocol_error("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"
                          "Content-Length: 2\r\n\r\nok", false);
    /* bytes after the end of the answer */
    expect_protocol_error("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n"
                          "Content-Length: 0\r\n\r\n", false);
    /* not HTTP at all; a status that is not three digits */
    expect_protocol_error("SSH-2.0-OpenSSH\r\n\r\n", false);
    expect_protocol_error("HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n", false);
    /* a Transfer-Encoding other than one "chunked": llhttp would read it
     * until the end with its codings left on (chunked applied twice, a
     * coding after chunked, no chunked, a folded list) */
    expect_protocol_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"
                          "5\r\nhello\r\n0\r\n\r\n", false);
    expect_protocol_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nhello", false);
    expect_protocol_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                          "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", false);
    expect_protocol_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip,\r\n chunked\r\n\r\n"
                          "0\r\n\r\n", false);
    /* a field with no name; a version that is not HTTP/1.x */
    expect_protocol_error("HTTP/1.1 200 OK\r\n: Content-Length: 0\r\nContent-Length: 2\r\n\r\n"
                          "ok", false);
    expect_protocol_error("HTTP/2.0 200 OK\r\nContent-Length: 2\r\n\r\nok", false);
    struct h1c_stats st;
    h1c_pool_stats(pool, &st);
    assert_int_equal(st.closed_protocol, 17);
}

/* Bytes after the end of a Content-Length body in the same read: none of
 * the body is passed on (the client would take it for a whole answer). */
static void test_nothing_passed_on_when_bytes_follow_the_end(void **state)
{
    (void)state;
    static const char *const answers[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nhello",
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 200 OK\r\n"
        "Content-Length: 6\r\n\r\nPOISON",
    };
    for (size_t i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
        const struct step s[] = { { ANSWER, answers[i], 0 } };
        script(s, 1);
        struct result *a = get("/after");
        assert_int_equal(a->err, H1C_E_PROTOCOL);
        assert_int_equal(a->status, 200); /* the head was parsed ... */
        assert_int_equal(a->body_len, 0); /* ... and nothing of the body passed on */
        free(a);
    }
}

static void test_head_too_big(void **state)
{
    (void)state;
    static char big[H1C_MAX_HEAD + 200];
    int n = snprintf(big, sizeof big, "HTTP/1.1 200 OK\r\nX-Big: ");
    memset(big + n, 'a', H1C_MAX_HEAD);
    memcpy(big + n + H1C_MAX_HEAD, "\r\nContent-Length: 0\r\n\r\n", 24);
    const struct step s[] = { { ANSWER, big, 0 } };
    script(s, 1);
    struct result *a = get("/big");
    assert_int_equal(a->err, H1C_E_TOOBIG);
    free(a);
}

/* ---- the retry rule ------------------------------------------------------------------ */

static void test_retry_on_reused_connection_closed(void **state)
{
    (void)state;
    /* the upstream closes the kept-alive connection just as it is reused:
     * nothing of the answer came, no body was handed over - sent again once
     * on a new connection */
    static const struct step s[] = {
        { ANSWER, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na", 0 },
        { CLOSE_NOW, NULL, 0 },
        { ANSWER, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb", 0 },
    };
    script(s, 3);
    struct result *a = get("/r1");
    assert_int_equal(a->err, H1C_OK);
    struct result *b = get("/r2");
    assert_int_equal(b->err, H1C_OK);
    assert_memory_equal(b->body, "b", 1);
    assert_int_equal(fk.accepts, 2);
    struct h1c_stats st;
    h1c_pool_stats(pool, &st);
    assert_int_equal(st.retries, 1);
    free(a);
    free(b);
}

static void test_no_retry_once_body_sent(void **state)
{
    (void)state;
    static const struct step s[] = {
        { ANSWER, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na", 0 },
        { CLOSE_NOW, NULL, 0 },
    };
    script(s, 2);
    struct result *a = get("/n1");
    assert_int_equal(a->err, H1C_OK);
    struct result *p = request("PUT /n2 HTTP/1.1\r\nHost: up\r\nContent-Length: 4\r\n\r\n",
                               "data", false);
    assert_int_equal(h1c_start(pool, &p->r), 0);
    run(p);
    assert_int_equal(p->err, H1C_E_CLOSED);
    assert_int_equal(fk.accepts, 1);
    struct h1c_stats st;
    h1c_pool_stats(pool, &st);
    assert_int_equal(st.retries, 0);
    free(a);
    free(p);
}

/* A POST (CreateMultipartUpload) is not idempotent: never sent twice,
 * even when nothing of it was answered (RFC 9112 section 9.3.1). */
static void test_no_retry_for_post(void **state)
{
    (void)state;
    static const struct step s[] = {
        { ANSWER, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na", 0 },
        { CLOSE_NOW, NULL, 0 },
        { ANSWER, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb", 0 },
    };
    script(s, 3);
    struct result *a = get("/p1");
    assert_int_equal(a->err, H1C_OK);
    struct result *p = request("POST /p2?uploads HTTP/1.1\r\nHost: up\r\n\r\n", NULL, false);
    assert_int_equal(h1c_start(pool, &p->r), 0);
    run(p);
    assert_int_equal(p->err, H1C_E_CLOSED);
    assert_int_equal(fk.accepts, 1);
    struct h1c_stats st;
    h1c_pool_stats(pool, &st);
    assert_int_equal(st.retries, 0);
    free(a);
    free(p);
}

static void test_no_retry_on_fresh_connection(void **state)
{
    (void)state;
    static const struct step s[] = { { CLOSE_NOW, NULL, 0 } };
    script(s, 1);
    struct result *a = get("/fresh");
    assert_int_equal(a->err, H1C_E_CLOSED);
    assert_int_equal(fk.accepts, 1);
    free(a);
}

/* ---- a request's bytes in one write --------------------------------------------------- */

/* Write calls the pool made since the last call. */
static uint64_t writes_since(uint64_t *last)
{
    struct h1c_stats st;
    h1c_pool_stats(pool, &st);
    uint64_t n = st.writes - *last;
    *last = st.writes;
    return n;
}

static void test_body_leaves_with_head(void **state)
{
    (void)state;
    static const struct step s[] = {
        { ANSWER, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na", 0 },
        { ANSWER, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb", 0 },
    };
    script(s, 2);
    uint64_t w = 0;
    writes_since(&w);
    /* a fresh connection: the body handed over on the first on_drain, right
     * as the connection took the head */
    struct result *a = request("PUT /a HTTP/1.1\r\nHost: up\r\nContent-Length: 5\r\n\r\n",
                               "first", false);
    assert_int_equal(h1c_start(pool, &a->r), 0);
    assert_false(h1c_takes_body(&a->r)); /* still connecting */
    run(a);
    assert_int_equal(a->err, H1C_OK);
    assert_int_equal(a->drains, 1);
    assert_int_equal(writes_since(&w), 1);
    assert_string_equal(fk.last_req, "PUT /a HTTP/1.1\r\nHost: up\r\nContent-Length: 5\r\n\r\nfirst");
    /* a reused connection takes the head inside h1c_start: the body handed
     * over at once leaves with it, in one write */
    struct result *b = request("PUT /b HTTP/1.1\r\nHost: up\r\nContent-Length: 6\r\n\r\n",
                               NULL, false);
    b->r.body_len = 6;
    assert_int_equal(h1c_start(pool, &b->r), 0);
    assert_true(h1c_takes_body(&b->r));
    assert_int_equal(h1c_send(&b->r, "sec", 3), 0);
    assert_int_equal(h1c_pending(&b->r), 3 + b->r.head.len); /* held, not written */
    assert_int_equal(h1c_send(&b->r, "ond", 3), 0);
    assert_int_equal(writes_since(&w), 1);
    run(b);
    assert_int_equal(b->err, H1C_OK);
    assert_memory_equal(b->body, "b", 1);
    assert_int_equal(fk.accepts, 1);
    assert_string_equal(fk.last_req, "PUT /b HTTP/1.1\r\nHost: up\r\nContent-Length: 6\r\n\r\nsecond");
    free(a);
    free(b);
}

/* A held head does not wait for the body: it leaves when the loop turns,
 * and the body follows on on_drain. */
static void test_held_head_leaves_when_the_loop_turns(void **state)
{
    (void)state;
    static const struct step s[] = {
        { ANSWER, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na", 0 },
        { ANSWER, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb", 0 },
    };
    script(s, 2);
    struct result *a = get("/warm");
    assert_int_equal(a->err, H1C_OK);
    uint64_t w = 0;
    writes_since(&w);
    struct result *b = request("PUT /late HTTP/1.1\r\nHost: up\r\nContent-Length: 4\r\n\r\n",
                               "late", false);
    assert_int_equal(h1c_start(pool, &b->r), 0);
    assert_true(h1c_takes_body(&b->r));
    assert_int_equal(writes_since(&w), 0);
    run(b); /* the loop turns: the head leaves alone; on_drain: the body */
    assert_int_equal(b->err, H1C_OK);
    assert_int_equal(b->drains, 1);
    assert_int_equal(writes_since(&w), 2);
    assert_string_equal(fk.last_req, "PUT /late HTTP/1.1\r\nHost: up\r\nContent-Length: 4\r\n\r\nlate");
    free(a);
    free(b);
}

/* ---- backpressure, limits, timeouts ------------------------------------------------ */

static void test_pause_bounds_what_is_delivered(void **state)
{
    (void)state;
    static char big[1 << 20];
    size_t body = 900 * 1024;
    int n = snprintf(big, sizeof big, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", body);
    for (size_t i = 0; i < body; i++)
        big[(size_t)n + i] = (char)('a' + i % 26);
    const struct step s[] = { { ANSWER, big, (size_t)n + body } };
    script(s, 1);
    struct result *a = request("GET /big HTTP/1.1\r\nHost: up\r\n\r\n", NULL, false);
    a->pause_each = true;
    assert_int_equal(h1c_start(pool, &a->r), 0);
    run(a);
    assert_int_equal(a->err, H1C_OK);
    assert_int_equal(a->body_len, body);
    assert_memory_equal(a->body, big + n, body);
    /* after asking to pause, at most the rest of one read buffer came */
    assert_true(a->max_since_pause <= 64 * 1024);
    free(a);
}

static void test_waiting_requests_bounded_by_max_conns(void **state)
{
    (void)state;
    h1c_pool_close(pool);
    pool = new_pool(fk.port, 1, 2000);
    static const struct step s[] = {
        { ANSWER, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1", 0 },
        { ANSWER, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n2", 0 },
        { ANSWER, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n3", 0 },
    };
    script(s, 3);
    struct result *r[3];
    for (int i = 0; i < 3; i++) {
        r[i] = request("GET /w HTTP/1.1\r\nHost: up\r\n\r\n", NULL, false);
        assert_int_equal(h1c_start(pool, &r[i]->r), 0);
    }
    struct h1c_stats st;
    h1c_pool_stats(pool, &st);
    assert_int_equal(st.open, 1);
    assert_int_equal(st.waiting, 2);
    for (int i = 0; i < 3; i++) {
        run(r[i]);
        assert_int_equal(r[i]->err, H1C_OK);
        assert_int_equal(r[i]->body[0], '1' + i); /* in order */
    }
    assert_int_equal(fk.accepts, 1);
    for (int i = 0; i < 3; i++)
        free(r[i]);
}

/* A request waiting for a connection of a full pool waits at most the
 * connect timeout (H1C_E_BUSY), not as long as the connections' holders
 * keep them (a probe's slow reader held one worker's whole pool, and
 * others' requests waited with no bound). */
static void test_wait_for_a_connection_is_bounded(void **state)
{
    (void)state;
    h1c_pool_close(pool);
    struct h1c_pool_opts o = {
        .host = "127.0.0.1", .port = (uint16_t)fk.port, .max_conns = 1,
        .connect_timeout_ms = 150, .first_byte_timeout_ms = 5000,
        .idle_timeout_ms = 5000, .keepalive_ms = 10000,
    };
    pool = h1c_pool_new(loop, &o);
    assert_non_null(pool);
    static const struct step s[] = { { SILENT, NULL, 0 } };
    script(s, 1);
    struct result *holder = request("GET /held HTTP/1.1\r\nHost: up\r\n\r\n", NULL, false);
    assert_int_equal(h1c_start(pool, &holder->r), 0);
    struct result *w = request("GET /waits HTTP/1.1\r\nHost: up\r\n\r\n", NULL, false);
    assert_int_equal(h1c_start(pool, &w->r), 0);
    struct h1c_stats st;
    h1c_pool_stats(pool, &st);
    assert_int_equal(st.waiting, 1);
    uint64_t t0 = uv_now(loop);
    run(w);
    uint64_t took = uv_now(loop) - t0;
    assert_int_equal(w->err, H1C_E_BUSY);
    assert_true(took >= 140 && took < 1500);
    assert_false(holder->done); /* the holder is not touched */
    h1c_pool_stats(pool, &st);
    assert_int_equal(st.waiting, 0);
    assert_int_equal(st.wait_timeouts, 1);
    h1c_abort(&holder->r);
    free(holder);
    free(w);
}

static void test_first_byte_timeout_and_refused(void **state)
{
    (void)state;
    h1c_pool_close(pool);
    pool = new_pool(fk.port, 2, 150);
    static const struct step s[] = { { SILENT, NULL, 0 } };
    script(s, 1);
    struct result *a = get("/slow");
    assert_int_equal(a->err, H1C_E_TIMEOUT);
    free(a);

    /* nothing listens on port 1 */
    h1c_pool_close(pool);
    pool = new_pool(1, 2, 150);
    struct result *b = get("/refused");
    assert_int_equal(b->err, H1C_E_CONNECT);
    assert_string_equal(b->r.detail, "connection refused");
    free(b);
}

/* An answer head that trickles in - a byte every 25 ms, each well inside
 * the idle timeout - must still be whole within the first-byte timeout of
 * its first byte: a head is not a body, and each byte must not buy the
 * upstream another idle timeout (a 64 KiB head could hold the exchange
 * for days). A body may trickle; the idle timeout bounds each gap. */
static void test_head_must_complete_in_time(void **state)
{
    (void)state;
    h1c_pool_close(pool);
    pool = new_pool(fk.port, 2, 300); /* idle timeout 2000 ms */
    static const struct step s[] = {
        /* 41 bytes: about a second */
        { TRICKLE, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 0 },
    };
    script(s, 1);
    uint64_t t0 = uv_now(loop);
    struct result *a = get("/trickle-head");
    uint64_t took = uv_now(loop) - t0;
    assert_int_equal(a->err, H1C_E_TIMEOUT);
    assert_true(took < 900);
    free(a);

    /* the body may trickle: 20 bytes over about half a second, each gap
     * far inside the idle timeout */
    static const struct step b[] = {
        { TRICKLE_BODY, "HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n0123456789abcdefghij", 39 },
    };
    script(b, 1);
    struct result *c = get("/trickle-body");
    assert_int_equal(c->err, H1C_OK);
    assert_int_equal(c->body_len, 20);
    assert_memory_equal(c->body, "0123456789abcdefghij", 20);
    free(c);
}

static void stop_loop(uv_timer_t *t)
{
    *(bool *)t->data = true;
}

/* Runs the loop for about ms milliseconds. */
static void run_for(uint32_t ms)
{
    bool over = false;
    uv_timer_t t;
    uv_timer_init(loop, &t);
    t.data = &over;
    uv_timer_start(&t, stop_loop, ms, 0);
    while (!over)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
}

/* One timer serves each state's timeout, moved lazily (h1client.c, arm):
 * a first-byte timeout still pending when the answer came must not close
 * the connection at keep-alive, the keep-alive still ends the connection
 * when it is due, and a request on a connection whose timer is set for a
 * later keep-alive gets its shorter first-byte timeout. */
static void test_timeouts_follow_the_state(void **state)
{
    (void)state;
    h1c_pool_close(pool);
    struct h1c_pool_opts o = {
        .host = "127.0.0.1", .port = (uint16_t)fk.port, .max_conns = 2,
        .connect_timeout_ms = 2000, .first_byte_timeout_ms = 100,
        .idle_timeout_ms = 2000, .keepalive_ms = 400,
    };
    pool = h1c_pool_new(loop, &o);
    assert_non_null(pool);
    static const struct step s[] = {
        { ANSWER, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na", 0 },
        { ANSWER, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb", 0 },
        { SILENT, NULL, 0 },
    };
    script(s, 3);
    struct h1c_stats st;
    struct result *a = get("/a");
    assert_int_equal(a->err, H1C_OK);
    run_for(250); /* past the first byte's 100 ms, inside the keep-alive */
    h1c_pool_stats(pool, &st);
    assert_int_equal(st.idle, 1);
    struct result *b = get("/b");
    assert_int_equal(b->err, H1C_OK);
    assert_int_equal(fk.accepts, 1); /* the same connection */
    run_for(700); /* past the keep-alive */
    h1c_pool_stats(pool, &st);
    assert_int_equal(st.idle, 0);

    /* a new connection, then a silent answer on it once reused: the timer
     * is set for the keep-alive's 400 ms, the request's is 100 */
    script(s + 1, 2);
    struct result *c = get("/c");
    assert_int_equal(c->err, H1C_OK);
    uint64_t t0 = uv_now(loop);
    struct result *d = get("/d");
    assert_int_equal(d->err, H1C_E_TIMEOUT);
    uv_update_time(loop);
    assert_true(uv_now(loop) - t0 < 350);
    assert_int_equal(fk.accepts, 1); /* script() counts again from 0 */
    free(a);
    free(b);
    free(c);
    free(d);
}

static void test_abort_closes_connection(void **state)
{
    (void)state;
    static const struct step s[] = {
        { SILENT, NULL, 0 },
        { ANSWER, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz", 0 },
    };
    script(s, 2);
    struct result *a = request("GET /a HTTP/1.1\r\nHost: up\r\n\r\n", NULL, false);
    assert_int_equal(h1c_start(pool, &a->r), 0);
    for (int i = 0; i < 20 && fk.requests == 0; i++)
        uv_run(loop, UV_RUN_ONCE);
    h1c_abort(&a->r);
    for (int i = 0; i < 10; i++)
        uv_run(loop, UV_RUN_NOWAIT);
    assert_false(a->done); /* no callback after abort */
    struct result *b = get("/b");
    assert_int_equal(b->err, H1C_OK);
    assert_int_equal(fk.accepts, 2); /* the aborted connection was not reused */
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_keepalive_reuse, per_test_setup, per_test_teardown),
        cmocka_unit_test_setup_teardown(test_idle_connections_hold_no_buffers, per_test_setup,
                                        per_test_teardown),
        cmocka_unit_test_setup_teardown(test_spares_go_with_closed_connections, per_test_setup,
                                        per_test_teardown),
        cmocka_unit_test_setup_teardown(test_chunked_head_204_304, per_test_setup, per_test_teardown),
        cmocka_unit_test_setup_teardown(test_put_body_and_eof_delimited_answer, per_test_setup,
                                        per_test_teardown),
        cmocka_unit_test_setup_teardown(test_framing_attacks, per_test_setup, per_test_teardown),
        cmocka_unit_test_setup_teardown(test_nothing_passed_on_when_bytes_follow_the_end,
                                        per_test_setup, per_test_teardown),
        cmocka_unit_test_setup_teardown(test_head_too_big, per_test_setup, per_test_teardown),
        cmocka_unit_test_setup_teardown(test_no_retry_for_post, per_test_setup, per_test_teardown),
        cmocka_unit_test_setup_teardown(test_retry_on_reused_connection_closed, per_test_setup,
                                        per_test_teardown),
        cmocka_unit_test_setup_teardown(test_no_retry_once_body_sent, per_test_setup,
                                        per_test_teardown),
        cmocka_unit_test_setup_teardown(test_no_retry_on_fresh_connection, per_test_setup,
                                        per_test_teardown),
        cmocka_unit_test_setup_teardown(test_body_leaves_with_head, per_test_setup,
                                        per_test_teardown),
        cmocka_unit_test_setup_teardown(test_held_head_leaves_when_the_loop_turns, per_test_setup,
                                        per_test_teardown),
        cmocka_unit_test_setup_teardown(test_pause_bounds_what_is_delivered, per_test_setup,
                                        per_test_teardown),
        cmocka_unit_test_setup_teardown(test_waiting_requests_bounded_by_max_conns, per_test_setup,
                                        per_test_teardown),
        cmocka_unit_test_setup_teardown(test_wait_for_a_connection_is_bounded, per_test_setup,
                                        per_test_teardown),
        cmocka_unit_test_setup_teardown(test_events_counted, per_test_setup, per_test_teardown),
        cmocka_unit_test_setup_teardown(test_first_byte_timeout_and_refused, per_test_setup,
                                        per_test_teardown),
        cmocka_unit_test_setup_teardown(test_timeouts_follow_the_state, per_test_setup,
                                        per_test_teardown),
        cmocka_unit_test_setup_teardown(test_head_must_complete_in_time, per_test_setup,
                                        per_test_teardown),
        cmocka_unit_test_setup_teardown(test_abort_closes_connection, per_test_setup,
                                        per_test_teardown),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
