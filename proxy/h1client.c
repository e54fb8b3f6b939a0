/* h1client.c - HTTP/1.1 client of the data plane (see h1client.h).
 *
 * A connection's life: RESOLVE -> CONNECT -> (HANDSHAKE) -> BUSY <-> IDLE,
 * and CLOSING from any of them. One uv_timer per connection serves whichever
 * timeout the state needs (connect, first byte, idle between bytes, keep-
 * alive). Writes are double-buffered (h2o's doublebuffer): bytes handed over
 * while a write is in flight gather in the other buffer and leave in one
 * write when it completes; the buffers stay with the connection, so a
 * reused connection allocates nothing.
 *
 * A request with a body holds its head back until its last body byte is
 * handed over or until the loop turns, whichever comes first (a uv_idle per
 * connection: it runs before the loop next waits for I/O, in whatever phase
 * the head came). So a small PUT whose body came in the client's read with
 * its head leaves in one write (one segment), not a head and then a body.
 *
 * Here: requests, writes, reads and the answer's parsing. Opening and
 * ending connections, and the pools: h1client_conn.c; TLS: h1client_tls.c.
 */
#include "h1client_int.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

const char *h1c_strerror(int err)
{
    switch (err) {
    case H1C_OK: return "ok";
    case H1C_E_RESOLVE: return "the upstream host name did not resolve";
    case H1C_E_CONNECT: return "could not connect to the upstream";
    case H1C_E_TLS: return "TLS handshake with the upstream failed";
    case H1C_E_TIMEOUT: return "the upstream timed out";
    case H1C_E_PROTOCOL: return "the upstream's answer was not well-framed HTTP/1.1";
    case H1C_E_CLOSED: return "the upstream closed the connection before its answer ended";
    case H1C_E_IO: return "reading from or writing to the upstream failed";
    case H1C_E_NOMEM: return "out of memory";
    case H1C_E_TOOBIG: return "the upstream's answer head is too large";
    case H1C_E_BUSY: return "no upstream connection became free within the connect timeout";
    }
    return "unknown error";
}

/* on_done, except inside h1c_start, whose caller gets the error instead. */
void h1c__req_done(struct h1c_pool *p, struct h1c_req *r, int err)
{
    if (r == p->starting) {
        p->start_err = err;
        return;
    }
    r->cb->on_done(r, err);
}

/* ---- timers -------------------------------------------------------------------- */

/* The timer is lazy: h1c__arm() moves a deadline and starts the uv timer only
 * when the deadline comes before the moment it is already set for; a
 * timer that fires early finds the later deadline and sleeps on until it
 * (or finds none, and stops). A request re-arms several times (sent,
 * answered, idle), and most of those become a store instead of two timer
 * heap updates. */
static void on_timer(uv_timer_t *t)
{
    struct h1c_conn *c = t->data;
    uint64_t now = uv_now(t->loop);
    if (!c->deadline)
        return; /* disarmed since it was set */
    if (c->deadline > now) {
        c->timer_at = c->deadline;
        uv_timer_start(&c->timer, on_timer, c->deadline - now, 0);
        return;
    }
    c->deadline = 0;
    if (c->state == C_IDLE && c->cooling) {
        c->cooling = false;
        h1c__tls_cool(c);
        h1c__arm(c, c->pool->o.keepalive_ms - H1C_COOL_MS);
    } else if (c->state == C_IDLE) {
        h1c__conn_close(c); /* keep-alive expired */
    } else {
        h1c__conn_fail(c, H1C_E_TIMEOUT);
    }
}

void h1c__arm(struct h1c_conn *c, uint32_t ms)
{
    if (!ms) {
        c->deadline = 0; /* a running timer finds nothing to do */
        return;
    }
    c->deadline = uv_now(c->timer.loop) + ms;
    if (!uv_is_active((uv_handle_t *)&c->timer) || c->timer_at > c->deadline) {
        c->timer_at = c->deadline;
        uv_timer_start(&c->timer, on_timer, ms, 0);
    }
}

/* ---- writes -------------------------------------------------------------------- */

int h1c__wbuf_append(struct h1c_conn *c, struct wbuf *b, const void *p, size_t n)
{
    if (!b->ptr) {
        b->ptr = h1c__stash_take(&c->pool->wbufs);
        if (!b->ptr)
            return H1C_E_NOMEM;
        b->cap = H1C_WBUF;
    }
    if (b->cap - b->len < n) {
        size_t cap = b->cap;
        while (cap - b->len < n)
            cap *= 2;
        /* not realloc: the old block may hold a request head (the proxy's
         * signature and session token), wiped before it is freed */
        char *np = malloc(cap);
        if (!np)
            return H1C_E_NOMEM;
        memcpy(np, b->ptr, b->len);
        s3w_wipe(b->ptr, b->cap);
        if (b->cap == H1C_WBUF)
            h1c__stash_give(&c->pool->wbufs, b->ptr);
        else
            free(b->ptr);
        b->ptr = np;
        b->cap = cap;
    }
    memcpy(b->ptr + b->len, p, n);
    b->len += n;
    return 0;
}

/* Bytes that left for the kernel: plaintext (a request head holds the
 * proxy's session token) is wiped; TLS records are ciphertext. */
static void written(struct h1c_conn *c, struct wbuf *b, size_t n)
{
    if (!c->ssl)
        s3w_wipe(b->ptr, n);
    if (n < b->len) {
        memmove(b->ptr, b->ptr + n, b->len - n);
        if (!c->ssl) /* no copy of the unsent bytes is left behind them */
            s3w_wipe(b->ptr + b->len - n, n);
    }
    b->len -= n;
}

/* The request's last byte left: its answer must start within the
 * first-byte timeout. */
static void sent_all(struct h1c_conn *c)
{
    c->sent_all = true;
    if (!c->req->got_bytes)
        h1c__arm(c, c->pool->o.first_byte_timeout_ms);
}

void h1c__flush(struct h1c_conn *c);

static void on_written(uv_write_t *w, int status)
{
    struct h1c_conn *c = w->data;
    c->writing = false;
    written(c, &c->out[!c->cur], c->out[!c->cur].len);
    if (c->state == C_CLOSING)
        return;
    if (c->state == C_IDLE) /* the answer came before this callback */
        h1c__conn_lend_back(c);
    if (status < 0) {
        h1c__conn_fail(c, H1C_E_IO);
        return;
    }
    if (c->out[c->cur].len) {
        h1c__flush(c);
        return;
    }
    struct h1c_req *r = c->req;
    if (!r || c->state != C_BUSY)
        return;
    if (r->body_given == r->body_len && !c->sent_all)
        sent_all(c);
    else if (!r->got_bytes)
        h1c__arm(c, c->pool->o.idle_timeout_ms); /* the upstream takes body bytes */
    if (r->body_given < r->body_len && r->cb->on_drain) {
        c->in_cb = true;
        r->cb->on_drain(r);
        c->in_cb = false;
        if (c->doomed)
            h1c__finish_doomed(c);
    }
}

void h1c__flush(struct h1c_conn *c)
{
    if (c->writing || !c->out[c->cur].len || c->state == C_CLOSING)
        return;
    struct wbuf *b = &c->out[c->cur];
    struct h1c_req *r = c->req;
    if (r && c->state == C_BUSY && r->body_given == r->body_len && c->tcp.write_queue_size == 0) {
        /* The request's last bytes: written at once when the socket takes
         * them, which spares libuv's write request and its re-arming of
         * the socket's poll interest (an epoll_ctl per request). With body
         * still to come the write goes through uv_write, whose completion
         * asks the caller for more (on_drain). */
        uv_buf_t ub = uv_buf_init(b->ptr, (unsigned)b->len);
        c->pool->st.writes++;
        int n = uv_try_write((uv_stream_t *)&c->tcp, &ub, 1);
        if (n < 0 && n != UV_EAGAIN) {
            h1c__conn_fail(c, H1C_E_IO);
            return;
        }
        if (n > 0)
            written(c, b, (size_t)n);
        if (b->len == 0) {
            if (!c->sent_all)
                sent_all(c);
            return;
        }
    }
    c->cur = !c->cur;
    c->writing = true;
    uv_buf_t ub = uv_buf_init(b->ptr, (unsigned)b->len);
    c->wreq.data = c;
    c->pool->st.writes++;
    int rc = uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &ub, 1, on_written);
    if (rc < 0) {
        c->writing = false;
        written(c, b, b->len);
        h1c__conn_fail(c, H1C_E_IO);
    }
}

/* Plaintext toward the upstream: through TLS when the pool has it. */
static int conn_write(struct h1c_conn *c, const void *p, size_t n)
{
    if (!c->ssl) {
        int rc = h1c__wbuf_append(c, &c->out[c->cur], p, n);
        if (rc)
            return rc;
    }
    while (c->ssl && n) { /* each record goes into the gathering buffer */
        int w = SSL_write(c->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
        if (w <= 0) {
            ERR_clear_error();
            return H1C_E_TLS;
        }
        p = (const char *)p + w;
        n -= (size_t)w;
    }
    if (c->holding) {
        struct h1c_req *r = c->req;
        if (r && r->body_given < r->body_len)
            return 0; /* more comes in this turn, or on_gather */
        c->holding = false;
        uv_idle_stop(&c->gather);
    }
    h1c__flush(c);
    return 0;
}

/* The loop turned since a body request's head was held: what was handed
 * over by now leaves. */
static void on_gather(uv_idle_t *h)
{
    struct h1c_conn *c = h->data;
    uv_idle_stop(h);
    if (!c->holding)
        return;
    c->holding = false;
    h1c__flush(c);
}

/* ---- answer parsing --------------------------------------------------------------- */

/* The parser's callbacks, passed on to the request's; a connection failed
 * or closed inside one ends when the parser returns (h1c__finish_doomed). */
static int resp_head(void *ud, int status, const struct s3w_header *h, size_t n)
{
    struct h1c_conn *c = ud;
    struct h1c_req *r = c->req;
    r->status = status;
    r->head_done = true;
    c->in_cb = true;
    int rc = r->cb->on_head(r, status, h, n);
    c->in_cb = false;
    /* the head's storage goes back: h1resp writes no more to it */
    if (c->head)
        h1c__stash_give(&c->pool->heads, c->head);
    c->head = NULL;
    return c->doomed || rc < 0 ? -1 : 0;
}

static int resp_body(void *ud, const char *p, size_t n)
{
    struct h1c_conn *c = ud;
    struct h1c_req *r = c->req;
    c->in_cb = true;
    int rc = r->cb->on_body(r, p, n);
    c->in_cb = false;
    if (c->doomed || rc < 0)
        return -1;
    return rc == H1C_PAUSE ? 1 : 0; /* a pause takes effect after this read */
}

const struct h1resp_cb h1c__resp_cb = { resp_head, resp_body };

/* The answer ended: the connection goes back to the pool when both sides of
 * the exchange are complete and the upstream keeps it open. */
static void answer_done(struct h1c_conn *c)
{
    struct h1c_req *r = c->req;
    struct h1c_pool *p = c->pool;
    /* everything of the request left for the kernel: nothing gathered, and
     * libuv holds nothing back (its write callback may still be pending) */
    bool reusable = h1resp_keep_alive(&c->resp) && r->body_given == r->body_len &&
                    !c->out[c->cur].len && c->tcp.write_queue_size == 0 && !p->closing;
    c->req = NULL;
    r->conn = NULL;
    h1c__keep_session(c);
    if (reusable) {
        c->want_pause = c->sent_all = false;
        c->state = C_IDLE;
        c->next = p->idle;
        p->idle = c;
        p->nidle++;
        h1c__gauge(p, H1C_GAUGE_IDLE, +1);
        h1c__conn_lend_back(c);
        c->cooling = c->ssl && p->o.keepalive_ms > H1C_COOL_MS;
        h1c__arm(c, c->cooling ? H1C_COOL_MS : p->o.keepalive_ms);
        h1c__start_read(c); /* to notice the upstream closing it */
    } else {
        h1c__conn_close(c);
    }
    r->cb->on_done(r, H1C_OK);
    h1c__dispatch_waiting(p);
}

/* Feeds answer bytes to the parser. Returns false when c was failed or
 * closed (the caller must not touch it). */
bool h1c__parse(struct h1c_conn *c, const char *p, size_t n)
{
    if (!c->req) {
        /* bytes on an idle connection: nothing was asked */
        h1c__count(c->pool, &c->pool->st.closed_protocol, H1C_EV_PROTOCOL_CLOSED);
        h1c__conn_close(c);
        return false;
    }
    bool first = !c->req->got_bytes;
    c->req->got_bytes = true;
    int rc = h1resp_feed(&c->resp, p, n);
    if (c->doomed) {
        h1c__finish_doomed(c);
        return false;
    }
    if (c->resp.pause) {
        c->resp.pause = false;
        c->want_pause = true;
    }
    switch (rc) {
    case H1R_MORE:
        /* the head, from its first byte, has the first-byte timeout to
         * come whole (each byte of a trickled head must not buy another
         * idle timeout); then each gap in the body the idle timeout */
        if (c->state == C_BUSY && c->req->head_done)
            h1c__arm(c, c->pool->o.idle_timeout_ms);
        else if (c->state == C_BUSY && first)
            h1c__arm(c, c->pool->o.first_byte_timeout_ms);
        return true;
    case H1R_DONE:
        answer_done(c);
        return false;
    case H1R_E_TOOBIG:
        h1c__count(c->pool, &c->pool->st.closed_protocol, H1C_EV_PROTOCOL_CLOSED);
        h1c__conn_fail(c, H1C_E_TOOBIG);
        return false;
    case H1R_E_REFUSED: /* the caller's on_head/on_body: not the upstream's fault */
        h1c__conn_fail(c, H1C_E_PROTOCOL);
        return false;
    default: /* H1R_E_PROTOCOL */
        h1c__count(c->pool, &c->pool->st.closed_protocol, H1C_EV_PROTOCOL_CLOSED);
        h1c__conn_fail(c, H1C_E_PROTOCOL);
        return false;
    }
}

/* ---- reads ------------------------------------------------------------------------- */

/* Plain reads land in one buffer per thread: libuv reads one stream at a
 * time, and every byte is parsed and taken by the answer's callbacks
 * (a pause takes effect after the read) before on_read returns. */
static _Thread_local char landing[H1C_READ_BUF];

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)hint;
    struct h1c_conn *c = h->data;
    if (c->ssl) {
        size_t len;
        buf->base = tls_bio_landing(&len);
        buf->len = len;
    } else {
        buf->base = landing;
        buf->len = sizeof landing;
    }
}

/* The caller's client is behind: the upstream is not read, and its idle
 * timeout does not run meanwhile (the client's own timeouts bound the
 * wait); h1c_resume arms it again. */
static void pause_reading(struct h1c_conn *c)
{
    if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
    if (c->state == C_BUSY)
        h1c__arm(c, 0);
}

void h1c__on_eof(struct h1c_conn *c);

void h1c__on_eof(struct h1c_conn *c)
{
    /* an answer delimited by the end of the connection ends here */
    if (c->req && c->req->head_done && h1resp_eof(&c->resp) == H1R_DONE) {
        struct h1c_req *r = c->req;
        c->req = NULL;
        r->conn = NULL;
        h1c__keep_session(c);
        h1c__conn_close(c);
        h1c__req_done(c->pool, r, H1C_OK);
        return;
    }
    if (c->state == C_IDLE) {
        h1c__conn_close(c); /* the upstream retired a kept-alive connection */
        return;
    }
    h1c__conn_fail(c, H1C_E_CLOSED);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct h1c_conn *c = s->data;
    (void)buf;
    if (nread == 0 || c->state == C_CLOSING)
        return;
    if (nread < 0) {
        /* over TLS only close_notify ends an answer: a bare TCP end of an
         * answer read until the end could be a truncation attack */
        if (nread == UV_EOF && !(c->ssl && c->req))
            h1c__on_eof(c);
        else
            h1c__conn_fail(c, nread == UV_EOF ? H1C_E_CLOSED : H1C_E_IO);
        return;
    }
    if (!c->ssl) {
        if (h1c__parse(c, buf->base, (size_t)nread) && c->want_pause)
            pause_reading(c);
        return;
    }
    if (!tls_bio_offer(&c->bio, (size_t)nread)) {
        h1c__conn_fail(c, H1C_E_NOMEM);
        return;
    }
    if (c->state == C_HANDSHAKE) {
        h1c__handshake_step(c);
        if (!tls_bio_keep(&c->bio) && c->state != C_CLOSING)
            h1c__conn_fail(c, H1C_E_NOMEM);
        return;
    }
    if (h1c__tls_pump(c) && c->want_pause)
        pause_reading(c);
}

void h1c__start_read(struct h1c_conn *c)
{
    if (!c->reading && uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
        c->reading = true;
}

void h1c_resume(struct h1c_req *r)
{
    struct h1c_conn *c = r->conn;
    if (!c || !c->want_pause)
        return;
    c->want_pause = false;
    h1c__arm(c, c->pool->o.idle_timeout_ms);
    if (c->ssl && !h1c__tls_pump(c))
        return; /* plaintext TLS held back while paused */
    if (!c->want_pause)
        h1c__start_read(c);
}

/* ---- sending a request on a ready connection -------------------------------------- */

/* The head goes out at once without a body; with one it is held (see the
 * top of this file) and the caller may send body bytes right away: on a
 * fresh connection on_drain says so, inside h1c_start h1c_takes_body. */
void h1c__send_head(struct h1c_conn *c)
{
    struct h1c_req *r = c->req;
    c->state = C_BUSY;
    c->sent_all = false;
    if (!c->head)
        c->head = h1c__stash_take(&c->pool->heads);
    if (!c->head) {
        h1c__conn_fail(c, H1C_E_NOMEM);
        return;
    }
    h1resp_start(&c->resp, r->is_head, c->head);
    if (r->body_len && uv_idle_start(&c->gather, on_gather) == 0)
        c->holding = true;
    int rc = conn_write(c, r->head.ptr, r->head.len);
    if (rc) {
        h1c__conn_fail(c, rc);
        return;
    }
    h1c__start_read(c);
    if (!c->sent_all)
        h1c__arm(c, r->body_len ? c->pool->o.idle_timeout_ms : c->pool->o.first_byte_timeout_ms);
    if (!r->body_len)
        return;
    r->takes_body = true;
    if (r == c->pool->starting || !r->cb->on_drain)
        return;
    c->in_cb = true;
    r->cb->on_drain(r);
    c->in_cb = false;
    if (c->doomed)
        h1c__finish_doomed(c);
}

/* ---- requests ------------------------------------------------------------------------ */

static void attach(struct h1c_conn *c, struct h1c_req *r)
{
    c->req = r;
    r->conn = c;
}

/* Starts r on an idle connection (unless fresh_only), a new one, or queues
 * it when the pool is full. */
void h1c__start_on(struct h1c_pool *p, struct h1c_req *r, bool fresh_only)
{
    if (!fresh_only && p->idle) {
        struct h1c_conn *c = p->idle;
        p->idle = c->next;
        p->nidle--;
        h1c__gauge(p, H1C_GAUGE_IDLE, -1);
        h1c__count(p, &p->st.reuses, H1C_EV_REUSED);
        r->reused = true;
        attach(c, r);
        h1c__send_head(c);
        return;
    }
    if (p->nopen >= p->o.max_conns && p->idle) {
        h1c__conn_close(p->idle); /* make room: its slot is freed when it closed */
    }
    if (p->nopen >= p->o.max_conns) {
        r->next_waiting = NULL;
        if (p->wait_tail)
            p->wait_tail->next_waiting = r;
        else
            p->wait_head = r;
        p->wait_tail = r;
        p->nwaiting++;
        r->wait_since = uv_now(p->loop);
        h1c__wait_timer_arm(p);
        return;
    }
    struct h1c_conn *c = h1c__conn_new(p);
    if (!c) {
        h1c__req_done(p, r, H1C_E_NOMEM);
        return;
    }
    r->reused = false;
    attach(c, r);
    h1c__conn_open(c);
}

void h1c__dispatch_waiting(struct h1c_pool *p)
{
    while (p->wait_head && (p->idle || p->nopen < p->o.max_conns)) {
        struct h1c_req *r = p->wait_head;
        p->wait_head = r->next_waiting;
        if (!p->wait_head)
            p->wait_tail = NULL;
        p->nwaiting--;
        h1c__start_on(p, r, false);
    }
}

static bool method_idempotent(struct s3w_slice head)
{
    static const char *const methods[] = { "GET ", "HEAD ", "PUT ", "DELETE ", "OPTIONS " };
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        size_t n = strlen(methods[i]);
        if (head.len >= n && memcmp(head.ptr, methods[i], n) == 0)
            return true;
    }
    return false;
}

int h1c_start(struct h1c_pool *p, struct h1c_req *r)
{
    r->pool = p;
    r->conn = NULL;
    r->body_given = 0;
    r->reused = r->retried = r->got_bytes = r->head_done = r->takes_body = false;
    r->idempotent = method_idempotent(r->head);
    r->status = 0;
    r->detail[0] = '\0';
    if (p->closing)
        return H1C_E_CONNECT;
    p->starting = r;
    p->start_err = 0;
    h1c__start_on(p, r, false);
    p->starting = NULL;
    return p->start_err;
}

int h1c_send(struct h1c_req *r, const void *p, size_t n)
{
    struct h1c_conn *c = r->conn;
    if (!c || c->state != C_BUSY)
        return H1C_E_CLOSED;
    r->body_given += n;
    int rc = conn_write(c, p, n);
    if (rc) {
        h1c__conn_fail(c, rc);
        return rc;
    }
    return 0;
}

bool h1c_takes_body(const struct h1c_req *r)
{
    return r->takes_body && r->conn;
}

size_t h1c_pending(const struct h1c_req *r)
{
    const struct h1c_conn *c = r->conn;
    if (!c)
        return 0;
    return c->out[0].len + c->out[1].len;
}

void h1c_abort(struct h1c_req *r)
{
    struct h1c_pool *p = r->pool;
    if (r->conn) {
        struct h1c_conn *c = r->conn;
        c->req = NULL;
        r->conn = NULL;
        h1c__conn_close(c);
        return;
    }
    /* still waiting for a connection */
    for (struct h1c_req **pp = &p->wait_head, *prev = NULL; *pp; prev = *pp, pp = &(*pp)->next_waiting)
        if (*pp == r) {
            *pp = r->next_waiting;
            if (p->wait_tail == r)
                p->wait_tail = prev;
            p->nwaiting--;
            return;
        }
}
