/* conn_write.c - writing to a client connection (see conn.c for the
 * connection as a whole): bytes written at once when the socket takes
 * them, otherwise copied and queued behind what is pending, with
 * backpressure toward the handler (on_drain below PROXY_OUT_LOW) and
 * toward pipelined requests (parsing resumes once answers drain), and the
 * send timeout for a client that stops reading. TLS connections write
 * through tls.h, which comes back here with the encrypted bytes.
 */
#include "conn_int.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "tls.h"

struct conn_write {
    uv_write_t req;
    struct proxy_conn *c;
    size_t n;
    bool wipe; /* c->out_wipe when queued */
    char data[];
};

static void on_write(uv_write_t *req, int status)
{
    struct conn_write *wr = (struct conn_write *)req;
    struct proxy_conn *c = wr->c;
    c->out_pending -= wr->n;
    c->writes_pending--;
    if (wr->wipe)
        s3w_wipe(wr->data, wr->n);
    free(wr);
    if (c->closing)
        return;
    if (status < 0) {
        proxy_conn_close(c);
        return;
    }
    if (c->writes_pending == 0)
        conn_idle_update(c); /* its answers written: it may be idle now */
    c->send_progress_ms = uv_now(&c->w->loop);
    if (c->drain_wanted && c->out_pending <= PROXY_OUT_LOW) {
        c->drain_wanted = false;
        if (c->ex && c->w->srv->handler->on_drain)
            c->w->srv->handler->on_drain(c);
    }
    if (c->head_blocked && !c->closing && c->out_pending <= PROXY_OUT_LOW &&
        c->writes_pending <= PROXY_PIPELINE_LOW) {
        c->head_blocked = false;
        conn_process(c); /* the client reads again: parse what it sent */
    }
}

/* No write progress for settings.send_timeout_ms while answers wait: the
 * client does not read. Ending the exchange frees what it holds upstream
 * (one stalled reader must not keep an upstream connection forever). The
 * timer runs while out_pending > 0 and is re-armed for the remainder
 * rather than restarted on every write. */
static void on_send_timer(uv_timer_t *t)
{
    struct proxy_conn *c = t->data;
    if (c->closing || c->out_pending == 0)
        return;
    uint64_t limit = c->w->srv->settings.send_timeout_ms;
    uint64_t idle = uv_now(&c->w->loop) - c->send_progress_ms;
    if (idle < limit) {
        uv_timer_start(&c->send_timer, on_send_timer, limit - idle, 0);
        return;
    }
    conn_count_timeout(c, METRICS_TIMEOUT_SEND);
    proxy_log("INFO", "peer=%s client read nothing for send_timeout_ms=%llu with %zu bytes "
              "unsent: connection closed", c->peer_ip, (unsigned long long)limit, c->out_pending);
    conn_abort_exchange(c, "ClientSendTimeout", 0);
    proxy_conn_close(c);
}

/* Raw bytes to the socket (after TLS, if any). */
/* Queues n bytes (copied) behind what is pending. */
static int conn_queue(struct proxy_conn *c, const uv_buf_t *v, size_t nv, size_t n)
{
    struct conn_write *wr = malloc(sizeof(*wr) + n);
    if (!wr) {
        proxy_conn_close(c);
        return UV_ENOMEM;
    }
    wr->c = c;
    wr->n = n;
    wr->wipe = c->out_wipe;
    size_t at = 0;
    for (size_t i = 0; i < nv; i++) {
        memcpy(wr->data + at, v[i].base, v[i].len);
        at += v[i].len;
    }
    uv_buf_t b = uv_buf_init(wr->data, (unsigned)n);
    int rc = uv_write(&wr->req, (uv_stream_t *)&c->tcp, &b, 1, on_write);
    if (rc != 0) {
        if (wr->wipe)
            s3w_wipe(wr->data, n);
        free(wr);
        proxy_conn_close(c);
        return rc;
    }
    if (c->out_pending == 0) {
        c->send_progress_ms = uv_now(&c->w->loop);
        uint64_t limit = c->w->srv->settings.send_timeout_ms;
        if (limit && !uv_is_active((uv_handle_t *)&c->send_timer))
            uv_timer_start(&c->send_timer, on_send_timer, limit, 0);
    }
    c->out_pending += n;
    c->writes_pending++;
    if (c->out_pending > PROXY_OUT_HIGH)
        c->drain_wanted = true;
    return 0;
}

#define CONN_MAX_IOV 8

int conn_write_rawv(struct proxy_conn *c, const uv_buf_t *in, size_t nv)
{
    if (c->closing)
        return UV_ECANCELED;
    uv_buf_t v[CONN_MAX_IOV];
    size_t n = 0, k = 0;
    for (size_t i = 0; i < nv && k < CONN_MAX_IOV; i++)
        if (in[i].len) {
            v[k++] = in[i];
            n += in[i].len;
        }
    if (n == 0)
        return 0;
    if (c->out_pending == 0) {
        /* Nothing queued: written at once when the socket takes it all,
         * which spares an allocation, a copy and libuv's re-arming of the
         * socket's poll interest (an epoll_ctl) per response */
        int w = uv_try_write((uv_stream_t *)&c->tcp, v, (unsigned)k);
        if (w < 0 && w != UV_EAGAIN) {
            proxy_conn_close(c);
            return w;
        }
        if (w > 0) {
            c->send_progress_ms = uv_now(&c->w->loop);
            size_t done = (size_t)w, i = 0;
            n -= done;
            while (done && done >= v[i].len)
                done -= v[i++].len;
            if (n == 0)
                return 0;
            v[i].base += done;
            v[i].len -= done;
            memmove(v, v + i, (k - i) * sizeof(v[0]));
            k -= i;
        }
    }
    return conn_queue(c, v, k, n);
}

int conn_write_raw(struct proxy_conn *c, const void *p, size_t n)
{
    uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);
    return conn_write_rawv(c, &b, 1);
}

int proxy_conn_write(struct proxy_conn *c, const void *p, size_t n)
{
    if (c->closing || c->lingering)
        return UV_ECANCELED;
    c->response_started = true;
    c->bytes_out += n;
    if (c->tls)
        return tls_conn_write(c->tls, p, n);
    return conn_write_raw(c, p, n);
}

int proxy_conn_writev(struct proxy_conn *c, const uv_buf_t *v, size_t nv)
{
    if (c->closing || c->lingering)
        return UV_ECANCELED;
    c->response_started = true;
    size_t n = 0;
    for (size_t i = 0; i < nv; i++)
        n += v[i].len;
    c->bytes_out += n;
    if (!c->tls)
        return conn_write_rawv(c, v, nv > CONN_MAX_IOV ? CONN_MAX_IOV : nv);
    /* one TLS record for small pieces */
    char one[16384];
    if (n <= sizeof(one)) {
        size_t at = 0;
        for (size_t i = 0; i < nv; i++) {
            memcpy(one + at, v[i].base, v[i].len);
            at += v[i].len;
        }
        return tls_conn_write(c->tls, one, n);
    }
    int rc = 0;
    for (size_t i = 0; i < nv && rc == 0; i++)
        rc = tls_conn_write(c->tls, v[i].base, v[i].len);
    return rc;
}
