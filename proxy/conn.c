/* conn.c - one HTTP/1.1 client connection on a worker loop: reading (plain
 * or through TLS), the parse loop, handing heads and bodies to the request
 * handler, timeouts, and closing. Writing, with its backpressure, is in
 * conn_write.c (conn_int.h is what the two share).
 *
 * Contract: proxy.h (struct proxy_conn, struct proxy_handler and the
 * proxy_conn_* calls the handler makes) and conn.h (what the worker in
 * server.c asks of its connections). TLS is below (tls.h: the connection
 * gives it the upcall table conn_tls_io); the handler is above, reached
 * only through struct proxy_handler.
 *
 * Each connection handles one request at a time: the parser stops at the
 * end of every head and every message (http.h), so pipelined requests are
 * answered strictly in order and a request's body can never be mistaken for
 * the next request's head. A connection is freed only from the close
 * callback of the last of its three handles (tcp, timer, send_timer).
 *
 * Memory: the read buffer and the parser's head store (conn_int.h) come
 * from the worker when bytes are to be read and go back to it when the
 * connection is between requests with nothing buffered (conn_go_idle), so
 * an idle keep-alive connection holds only struct proxy_conn; one waiting
 * for the rest of a head gives back the read buffer and keeps the store.
 * What goes back is wiped where it held request bytes: a head may carry a
 * session token, and the next borrower is another client (conn_bufs.c).
 */
#include "conn_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "s3err.h"
#include "tls.h"

#define LINGER_MS 2000

/* ---- connection internals ---------------------------------------------------- */
static void conn_update_read(struct proxy_conn *c);
static void conn_arm_timer(struct proxy_conn *c);
static void on_timer(uv_timer_t *t);

/* The connection's timer is lazy (as an upstream connection's): setting it
 * moves a deadline, and the uv timer is started only when it must fire
 * sooner than it is set to; one that fires early sleeps on to the
 * deadline. A request stops and restarts it at least twice. ms 0: none. */
static void conn_timer_set(struct proxy_conn *c, uint64_t ms)
{
    if (!ms) {
        c->deadline = 0;
        return;
    }
    c->deadline = uv_now(c->timer.loop) + ms;
    if (!uv_is_active((uv_handle_t *)&c->timer) || c->timer_at > c->deadline) {
        c->timer_at = c->deadline;
        uv_timer_start(&c->timer, on_timer, ms, 0);
    }
}

/* ---- the buffers going back (conn_bufs.c) ----------------------------------------- */
/* With nothing buffered, waiting for a head: between requests, nothing of
 * the next head seen, both buffers go back until the next bytes arrive
 * (on_alloc); with a head partly come, the read buffer alone (its bytes
 * are in the head store), so that a slow or unfinished head holds only
 * what it sent. */
static void conn_go_idle(struct proxy_conn *c)
{
    if ((!c->bufs && !c->heads) || c->closing || c->lingering || c->in_parse ||
        c->phase != PC_WAIT_HEAD || c->in_len != 0 || c->ex || c->hp.state != HTTP_ST_HEAD)
        return;
    if (!c->head_seen_bytes && c->hp.head_bytes == 0)
        conn_bufs_put(c);
    else
        conn_bufs_put_in(c);
}

/* A head's first bytes: the connection is no longer idle (but on a server
 * with evict_unfinished_heads, conn_room.c). */
static void conn_head_begun(struct proxy_conn *c)
{
    c->head_seen_bytes = true;
    conn_idle_update(c);
}

static void on_handle_close(uv_handle_t *h)
{
    struct proxy_conn *c = h->data;
    if (--c->open_handles > 0)
        return;
    struct proxy_worker *w = c->w;
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    w->nconns--;
    if (!c->refused) /* a refused one left the count when refused */
        atomic_fetch_sub(&w->srv->nconns, 1);
    if (c->refused_lingers)
        w->refused_lingering--;
    tls_conn_free(c->tls);
    conn_bufs_put(c);
    if (w->srv->addr_limit)
        addr_limit_give(w->srv->addr_limit, &c->addr_key);
    free(c);
    proxy_worker_maybe_finish(w);
}

void proxy_conn_close(struct proxy_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    conn_idle_unlist(c);
    if (c->ex && c->w->srv->handler->on_abort)
        c->w->srv->handler->on_abort(c);
    c->ex = NULL;
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = false;
    uv_close((uv_handle_t *)&c->tcp, on_handle_close);
    uv_close((uv_handle_t *)&c->timer, on_handle_close);
    uv_close((uv_handle_t *)&c->send_timer, on_handle_close);
}

/* The handler's exchange ends because the server ends it (a timeout): it
 * learns why through abort_code / abort_status (its audit record). */
void conn_abort_exchange(struct proxy_conn *c, const char *code, int status)
{
    if (!c->ex)
        return;
    c->abort_code = code;
    c->abort_status = status;
    if (c->w->srv->handler->on_abort)
        c->w->srv->handler->on_abort(c);
    c->ex = NULL;
}

void proxy_conn_cut(struct proxy_conn *c, const char *code)
{
    conn_abort_exchange(c, code, 0);
    proxy_conn_close(c);
}

void conn_count_timeout(struct proxy_conn *c, enum metrics_timeout t)
{
    if (c->w->metrics)
        metrics_bump(&c->w->metrics->timeouts[t], 1);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    struct proxy_conn *c = req->data;
    if (c->closing)
        return;
    if (status < 0) {
        proxy_conn_close(c);
        return;
    }
    /* Lingering close (RFC 9112 9.6): keep reading and discarding for a
     * moment so unread request bytes in our receive buffer do not turn our
     * close into a RST that destroys the response before the client reads
     * it. */
    c->lingering = true;
    c->in_len = 0;
    if (c->eof) {
        /* the client's FIN came first: everything it sent was read, so
         * nothing is left to drain and our close sends no RST; lingering
         * would only hold the connection LINGER_MS (reading stopped at
         * the FIN, so nothing would end the wait sooner) */
        proxy_conn_close(c);
        return;
    }
    conn_timer_set(c, LINGER_MS);
    conn_update_read(c);
}

/* Sends FIN once everything is written, then lingers and closes. */
static void conn_close_gracefully(struct proxy_conn *c)
{
    if (c->closing || c->lingering)
        return;
    conn_idle_unlist(c);
    if (c->ex && c->w->srv->handler->on_abort)
        c->w->srv->handler->on_abort(c);
    c->ex = NULL;
    if (c->tls)
        tls_conn_shutdown(c->tls);
    c->shutdown_req.data = c;
    if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, on_shutdown) != 0)
        proxy_conn_close(c);
    else
        c->lingering = true; /* no more parsing; on_shutdown starts the drain */
}

static bool request_complete(const struct proxy_conn *c)
{
    return c->phase == PC_BODY_DONE ||
           (c->phase == PC_HANDLING && c->hp.body_less);
}

/* Whether the connection ends after the current response. A client that
 * half-closed still gets answers to the requests it sent before (they are
 * in c->in); it is closed once none is left. */
static bool conn_will_close(const struct proxy_conn *c)
{
    return c->close_announced || !c->req.keep_alive || !request_complete(c) ||
           (c->eof && c->in_len == 0) || atomic_load(&c->w->srv->stop);
}

bool proxy_conn_announce_close(struct proxy_conn *c)
{
    if (conn_will_close(c))
        c->close_announced = true;
    return c->close_announced;
}

void proxy_conn_close_after(struct proxy_conn *c)
{
    c->close_announced = true;
}

static void conn_exchange_end(struct proxy_conn *c, bool close)
{
    c->ex = NULL;
    c->response_done = true;
    c->requests++;
    if (close || conn_will_close(c)) {
        conn_close_gracefully(c);
        return;
    }
    http_parser_next(&c->hp);
    c->mark_in = c->bytes_in - c->in_len;
    c->mark_out = c->bytes_out;
    c->phase = PC_WAIT_HEAD;
    c->head_seen_bytes = c->in_len > 0;
    conn_idle_update(c);
    c->response_started = false;
    c->response_done = false;
    c->read_paused = false;
    c->abort_code = NULL;
    c->abort_status = 0;
    conn_arm_timer(c);
    if (!c->in_parse)
        conn_process(c);
    else
        conn_update_read(c);
}

void proxy_conn_respond(struct proxy_conn *c, const void *resp, size_t n,
                        bool close)
{
    if (c->closing || c->lingering)
        return;
    if (close)
        c->close_announced = true;
    const char *eol = proxy_conn_announce_close(c) ? memchr(resp, '\n', n) : NULL;
    c->out_wipe = true; /* a local answer may hold credentials (proxy.h) */
    if (eol) {
        /* the client must know before it sends its next request on this
         * connection (RFC 9112 9.6): "Connection: close" after the status
         * line */
        static const char hdr[] = "Connection: close\r\n";
        size_t first = (size_t)(eol - (const char *)resp) + 1;
        proxy_conn_write(c, resp, first);
        proxy_conn_write(c, hdr, sizeof(hdr) - 1);
        proxy_conn_write(c, (const char *)resp + first, n - first);
    } else {
        proxy_conn_write(c, resp, n);
    }
    c->out_wipe = false;
    if (c->closing)
        return;
    conn_exchange_end(c, close);
}

void proxy_conn_finish(struct proxy_conn *c, bool close)
{
    if (c->closing || c->lingering)
        return;
    conn_exchange_end(c, close);
}

void proxy_conn_body_start(struct proxy_conn *c)
{
    if (c->closing || c->phase != PC_HANDLING)
        return;
    if (c->hp.body_less) {
        http_parser_body(&c->hp);
        c->phase = PC_HANDLING; /* MESSAGE_DONE comes from the next feed */
    } else {
        if (c->req.expect_continue) {
            static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
            bool started = c->response_started;
            proxy_conn_write(c, cont, sizeof(cont) - 1);
            c->response_started = started; /* an interim response */
        }
        http_parser_body(&c->hp);
        c->phase = PC_BODY;
        c->rate_reset = true; /* the rate window starts with the first body read */
    }
    conn_arm_timer(c);
    if (!c->in_parse)
        conn_process(c);
}

void proxy_conn_pause_read(struct proxy_conn *c)
{
    c->read_paused = true;
    c->rate_reset = true;
    conn_update_read(c);
}

void proxy_conn_resume_read(struct proxy_conn *c)
{
    if (!c->read_paused)
        return;
    c->read_paused = false;
    if (!c->in_parse && !c->closing)
        conn_process(c);
}

const char *proxy_conn_tls_version(const struct proxy_conn *c)
{
    return c->tls ? tls_conn_version(c->tls) : NULL;
}

const char *proxy_conn_tls_cipher(const struct proxy_conn *c)
{
    return c->tls ? tls_conn_cipher(c->tls) : NULL;
}

static void send_parse_error(struct proxy_conn *c)
{
    char rid[17];
    proxy_worker_request_id(c->w, rid);
    struct s3w_buf out;
    s3w_buf_init(&out, 8192);
    const char *msg = c->hp.err_message ? c->hp.err_message : "Bad Request";
    if (s3err_response(&out, c->hp.err_status ? c->hp.err_status : 400,
                       c->hp.err_code ? c->hp.err_code : "BadRequest",
                       s3w_slice_cstr(msg), NULL, 0, S3W_SLICE_NULL, s3w_slice_cstr(rid),
                       s3w_slice_cstr(c->w->srv->host_id), false, true) == 0)
        proxy_conn_write(c, out.ptr, out.len);
    s3w_buf_cleanup(&out);
    proxy_log("INFO", "request_id=%s http parse error status=%d code=%s",
              rid, c->hp.err_status, c->hp.err_code ? c->hp.err_code : "BadRequest");
    if (c->w->srv->handler->on_refused)
        c->w->srv->handler->on_refused(c, rid, c->hp.err_status ? c->hp.err_status : 400,
                                       c->hp.err_code ? c->hp.err_code : "BadRequest");
    conn_close_gracefully(c);
}

static void consume(struct proxy_conn *c, size_t used)
{
    if (used == 0)
        return;
    memmove(c->in, c->in + used, c->in_len - used);
    c->in_len -= used;
}

/* After TLS bytes were read or plaintext pulled: a session between records
 * (its handshake done, nothing of a record pending) holds the connection
 * no more than a plain socket with nothing come; the head decides. */
static void conn_tls_settle(struct proxy_conn *c)
{
    if (c->closing)
        return;
    c->tls_bytes = !tls_conn_quiet(c->tls);
    conn_idle_update(c);
}

void conn_process(struct proxy_conn *c)
{
    if (c->in_parse)
        return;
    c->in_parse = true;
    const struct proxy_handler *h = c->w->srv->handler;
    while (!c->closing && !c->lingering) {
        if (c->phase == PC_BODY_DONE)
            break;
        if (c->phase == PC_WAIT_HEAD && (c->out_pending > PROXY_OUT_HIGH ||
                                         c->writes_pending > PROXY_PIPELINE_HIGH)) {
            /* earlier answers are not read: take no further request (and
             * read no further bytes) until they are, so a client that
             * pipelines and never reads costs bounded memory; on_write
             * resumes, the send timeout ends it */
            c->head_blocked = true;
            break;
        }
        if (c->phase == PC_HANDLING && !c->hp.body_less)
            break;
        if (c->phase == PC_HANDLING && c->hp.state != HTTP_ST_DONE)
            break; /* body-less, handler has not called body_start yet */
        if (c->phase == PC_BODY && c->read_paused)
            break;
        if ((c->phase == PC_WAIT_HEAD || c->phase == PC_BODY) && c->in_len == 0)
            break;
        size_t used = 0;
        enum http_event ev = http_parser_feed(&c->hp, c->in, c->in_len, &used);
        consume(c, used);
        if (c->closing)
            break;
        if (ev == HTTP_EV_NEED_MORE) {
            if (c->phase == PC_WAIT_HEAD && c->in_len == 0)
                conn_head_begun(c);
            break;
        } else if (ev == HTTP_EV_HEAD_DONE && c->w->srv->settings.max_header_bytes &&
                   c->hp.head_bytes > c->w->srv->settings.max_header_bytes) {
            /* the configured cap, below the parser's fixed one: the head is
             * complete (and bounded by HTTP_MAX_HEAD) but refused as the
             * parser refuses an oversized one (RFC 6585 5: 431) */
            c->hp.err_status = 431;
            c->hp.err_code = "RequestHeaderSectionTooLarge";
            c->hp.err_message = "Your request header section exceeds the maximum allowed size.";
            send_parse_error(c);
            break;
        } else if (ev == HTTP_EV_HEAD_DONE) {
            c->phase = PC_HANDLING;
            c->response_done = false;
            c->response_started = false;
            conn_timer_set(c, 0);
            h->on_head(c);
        } else if (ev == HTTP_EV_MESSAGE_DONE) {
            c->phase = PC_BODY_DONE;
            conn_timer_set(c, 0);
            if (c->ex && h->on_body_end)
                h->on_body_end(c);
        } else {
            if (c->ex && h->on_abort)
                h->on_abort(c);
            c->ex = NULL;
            if (!c->response_started)
                send_parse_error(c);
            else
                proxy_conn_close(c);
            break;
        }
    }
    c->in_parse = false;
    if (c->eof && !c->closing && !c->lingering && c->in_len == 0) {
        /* half-closed, and every byte it sent is parsed: nothing more will
         * come. Between requests that is the end (once the answers are
         * out); inside a head or a body the client left mid-request. */
        if (c->phase == PC_WAIT_HEAD && !c->head_seen_bytes)
            conn_close_gracefully(c);
        else if (c->phase == PC_WAIT_HEAD || c->phase == PC_BODY)
            proxy_conn_close(c);
    }
    conn_go_idle(c);
    conn_update_read(c);
    if (c->tls && !c->closing && !c->lingering) {
        tls_conn_pump(c->tls); /* plaintext OpenSSL still holds, now that there is room */
        conn_tls_settle(c);
        conn_go_idle(c); /* the pump asks for room even when nothing comes */
    }
}

static void on_alloc(uv_handle_t *hd, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct proxy_conn *c = hd->data;
    if (c->tls) {
        tls_conn_alloc(c->tls, buf);
        return;
    }
    if (c->refused) { /* bytes read only to be dropped while it lingers */
        static _Thread_local char sink[4096];
        *buf = uv_buf_init(sink, sizeof(sink));
        return;
    }
    if (!conn_bufs_get(c)) {
        *buf = uv_buf_init(NULL, 0); /* on_read gets UV_ENOBUFS: closed */
        return;
    }
    if (c->lingering) {
        buf->base = c->in;
        buf->len = PROXY_IN_CAP;
        return;
    }
    buf->base = c->in + c->in_len;
    buf->len = PROXY_IN_CAP - c->in_len;
}

/* The server ends a request whose client is too slow: S3 answers a stalled
 * upload with 400 RequestTimeout; the handler's exchange is aborted first
 * and told why. */
static void conn_timeout(struct proxy_conn *c, enum metrics_timeout t)
{
    conn_count_timeout(c, t);
    conn_abort_exchange(c, "RequestTimeout", 400);
    if (!c->response_started) {
        c->hp.err_status = 400;
        c->hp.err_code = "RequestTimeout";
        c->hp.err_message = s3err_default_message("RequestTimeout");
        send_parse_error(c);
    } else {
        proxy_conn_close(c);
    }
}

/* limits.min_body_rate: a body that trickles in (a few bytes a second, each
 * read restarting the idle timer) would hold its upstream transfer for
 * ever. Checked on each read once a window has passed; a window in which
 * s3warden itself held the client back (backpressure) does not count. */
static bool conn_body_rate_ok(struct proxy_conn *c)
{
    const struct proxy_settings *st = &c->w->srv->settings;
    if (!st->min_body_rate)
        return true;
    uint64_t now = uv_now(&c->w->loop);
    if (c->rate_reset) {
        c->rate_reset = false;
        c->rate_mark_ms = now;
        c->rate_mark_bytes = c->bytes_in;
        return true;
    }
    uint64_t el = now - c->rate_mark_ms;
    if (el < st->body_rate_window_ms)
        return true;
    uint64_t got = c->bytes_in - c->rate_mark_bytes;
    if (got * 1000 >= (uint64_t)st->min_body_rate * el) {
        c->rate_mark_ms = now;
        c->rate_mark_bytes = c->bytes_in;
        return true;
    }
    proxy_log("INFO", "peer=%s request body at %llu bytes/s, below min_body_rate=%u: "
              "connection closed", c->peer_ip, (unsigned long long)(got * 1000 / el),
              st->min_body_rate);
    conn_timeout(c, METRICS_TIMEOUT_BODY_RATE);
    return false;
}

/* n plain bytes were appended at c->in + c->in_len (by the socket, or by
 * TLS from the room conn_tls_plain_room offered). */
static void conn_on_plain(struct proxy_conn *c, size_t n)
{
    c->in_len += n;
    conn_bufs_note_used(c, c->in_len);
    c->bytes_in += n;
    c->tls_bytes = false; /* what came is plaintext now: the head decides */
    if (c->phase == PC_WAIT_HEAD && !c->head_seen_bytes) {
        conn_head_begun(c);
        conn_arm_timer(c);
    } else if (c->phase == PC_BODY) {
        conn_arm_timer(c); /* body idle timeout restarts with each read */
        if (!conn_body_rate_ok(c))
            return;
    }
    conn_process(c);
}

/* The client sent all it will (a TCP half-close, or TLS 1.3's
 * close_notify). One that half-closes after its requests (`nc -N`) still
 * gets every answer: the current one, and those of the requests already in
 * c->in. One that leaves mid-request or idle is gone; the parse loop tells
 * which, once it needs bytes that will not come. */
static void conn_on_eof(struct proxy_conn *c)
{
    c->eof = true;
    if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
    if (c->phase == PC_HANDLING || c->phase == PC_BODY_DONE)
        return;
    if (!c->in_parse)
        conn_process(c);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    struct proxy_conn *c = s->data;
    if (c->closing)
        return;
    if (nread == 0) {
        conn_go_idle(c); /* nothing came after all */
        return;
    }
    if (c->lingering) {
        if (nread < 0)
            proxy_conn_close(c);
        else if (c->bufs)
            conn_bufs_note_used(c, (size_t)nread);
        return; /* discard */
    }
    if (nread < 0) {
        if (nread != UV_EOF) {
            c->eof = true;
            c->reading = false;
            uv_read_stop(s);
            proxy_conn_close(c); /* reset: nobody to answer */
            return;
        }
        conn_on_eof(c);
        return;
    }
    if (c->tls) {
        c->tls_bytes = true; /* a handshake or a record: not idle */
        conn_idle_update(c);
        tls_conn_on_read(c->tls, (size_t)nread);
        conn_tls_settle(c);
        conn_go_idle(c); /* handshake or alert records: no plaintext */
        return;
    }
    conn_on_plain(c, (size_t)nread);
}

static void conn_update_read(struct proxy_conn *c)
{
    if (c->closing)
        return;
    bool want = !c->eof && (c->lingering ||
                (!c->read_paused && !c->head_blocked && c->in_len < PROXY_IN_CAP));
    if (want && !c->reading) {
        if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
            c->reading = true;
    } else if (!want && c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
}

static void on_timer(uv_timer_t *t)
{
    struct proxy_conn *c = t->data;
    if (c->closing || !c->deadline)
        return;
    uint64_t now = uv_now(t->loop);
    if (c->deadline > now) {
        c->timer_at = c->deadline;
        uv_timer_start(&c->timer, on_timer, c->deadline - now, 0);
        return;
    }
    c->deadline = 0;
    if (c->lingering) {
        proxy_conn_close(c);
        return;
    }
    if ((c->phase == PC_WAIT_HEAD && c->head_seen_bytes) || c->phase == PC_BODY) {
        conn_timeout(c, c->phase == PC_BODY ? METRICS_TIMEOUT_BODY_IDLE
                                            : METRICS_TIMEOUT_HEADER);
        return;
    }
    proxy_conn_close(c); /* idle keep-alive connection */
}

static void conn_arm_timer(struct proxy_conn *c)
{
    if (c->closing)
        return;
    const struct proxy_settings *s = &c->w->srv->settings;
    uint64_t ms;
    if (c->phase == PC_WAIT_HEAD)
        ms = c->head_seen_bytes ? s->header_timeout_ms : s->idle_timeout_ms;
    else if (c->phase == PC_BODY)
        ms = s->idle_timeout_ms;
    else
        ms = 0;
    conn_timer_set(c, ms);
}

static int handler_body(void *ud, const char *p, size_t n)
{
    struct proxy_conn *c = ud;
    const struct proxy_handler *h = c->w->srv->handler;
    if (!c->ex || !h->on_body)
        return 0; /* nobody listens: discard (the exchange already ended) */
    return h->on_body(c, p, n);
}

static void free_on_close(uv_handle_t *h)
{
    free(h->data);
}


/* ---- what the connection offers the TLS layer (tls.h) ---------------------------- */
static int conn_tls_write_raw(void *ud, const void *p, size_t n)
{
    return conn_write_raw(ud, p, n);
}

static uv_buf_t conn_tls_plain_room(void *ud)
{
    struct proxy_conn *c = ud;
    if (c->closing || c->read_paused || !conn_bufs_get(c))
        return uv_buf_init(NULL, 0);
    return uv_buf_init(c->in + c->in_len, (unsigned)(PROXY_IN_CAP - c->in_len));
}

static void conn_tls_on_plain(void *ud, size_t n)
{
    conn_on_plain(ud, n);
}

static void conn_tls_close(void *ud)
{
    proxy_conn_close(ud);
}

static void conn_tls_eof(void *ud)
{
    conn_on_eof(ud);
}

/* Plain HTTP sent to a TLS listener (an endpoint URL of http:// for an
 * https one) is answered in plain HTTP, as nginx does, rather than cut
 * without a word; nothing the client sent is read. */
static void conn_tls_plaintext(void *ud)
{
    struct proxy_conn *c = ud;
    char rid[17];
    proxy_worker_request_id(c->w, rid);
    struct s3w_buf out;
    s3w_buf_init(&out, 4096);
    if (s3err_response(&out, 400, "BadRequest",
                       S3W_SLICE_LIT("The plain HTTP request was sent to an HTTPS port."), NULL, 0,
                       S3W_SLICE_NULL, s3w_slice_cstr(rid), s3w_slice_cstr(c->w->srv->host_id),
                       false, true) == 0)
        conn_write_raw(c, out.ptr, out.len);
    s3w_buf_cleanup(&out);
    proxy_log("INFO", "request_id=%s plain HTTP on a TLS listener: 400", rid);
    if (c->w->srv->handler->on_refused)
        c->w->srv->handler->on_refused(c, rid, 400, "BadRequest");
    conn_close_gracefully(c);
}

static const struct tls_conn_io conn_tls_io = {
    .write_raw = conn_tls_write_raw,
    .plain_room = conn_tls_plain_room,
    .on_plain = conn_tls_on_plain,
    .close = conn_tls_close,
    .eof = conn_tls_eof,
    .plaintext = conn_tls_plaintext,
};

/* A connection past limits.max_connections_per_address: answered as one
 * past max_connections is (server.c), and as cheaply: it leaves the count
 * of connections at once, lingers on a small sink rather than a read
 * buffer, and among at most PROXY_REFUSED_LINGER_MAX of the worker's
 * refusals (past that, or on a TLS listener, it is closed at once) - one
 * host's flood of refused connects must not take the slots the cap keeps
 * free. */
static void conn_refuse_address(struct proxy_conn *c)
{
    struct proxy_worker *w = c->w;
    proxy_server_refused_per_address(w, c->peer_ip);
    atomic_fetch_sub(&w->srv->nconns, 1);
    c->refused = true;
    if (c->tls || w->refused_lingering >= PROXY_REFUSED_LINGER_MAX) {
        proxy_conn_close(c);
        return;
    }
    w->refused_lingering++;
    c->refused_lingers = true;
    char rid[17];
    proxy_worker_request_id(c->w, rid);
    struct s3w_buf out;
    s3w_buf_init(&out, 2048);
    if (s3err_response(&out, 503, "SlowDown", s3w_slice_cstr(s3err_default_message("SlowDown")),
                       NULL, 0, S3W_SLICE_NULL, s3w_slice_cstr(rid),
                       s3w_slice_cstr(c->w->srv->host_id), false, true) == 0)
        proxy_conn_write(c, out.ptr, out.len);
    s3w_buf_cleanup(&out);
    conn_close_gracefully(c);
}

/* A connection the worker has counted (srv->nconns): accept it and start
 * reading its first request; on failure it is un-counted and closed. */
void proxy_conn_accept(struct proxy_worker *w, uv_stream_t *server, bool make_room)
{
    struct proxy_conn *c = malloc(sizeof(*c));
    if (!c) {
        atomic_fetch_sub(&w->srv->nconns, 1);
        return;
    }
    memset(c, 0, sizeof(*c));
    c->w = w;
    uv_tcp_init(&w->loop, &c->tcp);
    c->tcp.data = c;
    c->open_handles = 1;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        atomic_fetch_sub(&w->srv->nconns, 1);
        uv_close((uv_handle_t *)&c->tcp, free_on_close);
        return;
    }
    uv_timer_init(&w->loop, &c->timer);
    c->timer.data = c;
    uv_timer_init(&w->loop, &c->send_timer);
    c->send_timer.data = c;
    c->open_handles = 3;
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
    w->nconns++;
    uv_tcp_nodelay(&c->tcp, 1);
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    bool refused = false;
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET)
            uv_ip4_name((struct sockaddr_in *)&ss, c->peer_ip, sizeof(c->peer_ip));
        else if (ss.ss_family == AF_INET6)
            uv_ip6_name((struct sockaddr_in6 *)&ss, c->peer_ip, sizeof(c->peer_ip));
        refused = w->srv->addr_limit &&
                  !addr_limit_take(w->srv->addr_limit, (struct sockaddr *)&ss, &c->addr_key);
    }
    if (!refused && w->metrics)
        metrics_bump(&w->metrics->conns_total, 1);
    http_parser_init_lent(&c->hp, &c->req, handler_body, c);
    uv_mutex_lock(&w->srv->tls_mu);
    bool tls_failed = false;
    if (w->srv->tls) {
        c->tls = tls_conn_new(w->srv->tls, &conn_tls_io, c);
        tls_failed = c->tls == NULL;
    }
    uv_mutex_unlock(&w->srv->tls_mu);
    if (tls_failed) {
        proxy_conn_close(c);
        return;
    }
    c->phase = PC_WAIT_HEAD;
    if (refused) {
        conn_refuse_address(c);
        return;
    }
    if (make_room)
        proxy_worker_evict_idle(w, c);
    conn_idle_update(c);
    conn_arm_timer(c);
    conn_update_read(c);
}


/* ---- the worker, once its last connection is gone ------------------------------ */
static void close_if_open(uv_handle_t *h)
{
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

void proxy_worker_maybe_finish(struct proxy_worker *w)
{
    if (!w->stopping || w->nconns > 0)
        return;
    proxy_worker_free_spares(w);
    if (w->srv->worker_cleanup && !w->cleaned)
        w->srv->worker_cleanup(w);
    w->cleaned = true;
    uv_mutex_lock(&w->srv->wake_mu); /* no other worker sends to it from now on */
    w->wake_closed = true;
    uv_mutex_unlock(&w->srv->wake_mu);
    close_if_open((uv_handle_t *)&w->wake);
    close_if_open((uv_handle_t *)&w->stop_timer);
    close_if_open((uv_handle_t *)&w->spares_timer);
    if (w->listening)
        close_if_open((uv_handle_t *)&w->listener);
}
