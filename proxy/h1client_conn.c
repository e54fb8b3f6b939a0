/* h1client_conn.c - the upstream client's connections (see h1client.h):
 * opening them (resolving, connecting, the TLS handshake's start), ending
 * them (closed, failed, a request retried), freeing them once their
 * handles closed, and the pools that hold them. Requests, writes and the
 * answer's parsing are h1client.c's. */
#include "h1client_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#else
#define ASAN_POISON_MEMORY_REGION(p, n) ((void)(p), (void)(n))
#define ASAN_UNPOISON_MEMORY_REGION(p, n) ((void)(p), (void)(n))
#endif

static void close_handles(struct h1c_conn *c);

/* ---- connecting -------------------------------------------------------------------- */

static void on_connected(uv_connect_t *cr, int status)
{
    struct h1c_conn *c = cr->data;
    if (c->state == C_CLOSING)
        return;
    if (status < 0) {
        if (c->req)
            snprintf(c->req->detail, sizeof c->req->detail, "%s", uv_strerror(status));
        h1c__conn_fail(c, status == UV_ETIMEDOUT ? H1C_E_TIMEOUT : H1C_E_CONNECT);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    if (c->pool->o.ssl_ctx) {
        int rc = h1c__tls_start(c);
        if (rc)
            h1c__conn_fail(c, rc);
        return;
    }
    h1c__send_head(c);
}

static void connect_addr(struct h1c_conn *c, const struct sockaddr *sa)
{
    c->state = C_CONNECT;
    c->connect_req.data = c;
    int rc = uv_tcp_connect(&c->connect_req, &c->tcp, sa, on_connected);
    if (rc < 0) {
        if (c->req)
            snprintf(c->req->detail, sizeof c->req->detail, "%s", uv_strerror(rc));
        h1c__conn_fail(c, H1C_E_CONNECT);
    }
}

static void on_resolved(uv_getaddrinfo_t *g, int status, struct addrinfo *res)
{
    struct h1c_conn *c = g->data;
    struct h1c_pool *p = c->pool;
    c->resolving = false;
    if (c->state == C_CLOSING) {
        uv_freeaddrinfo(res);
        close_handles(c); /* the close deferred while resolving */
        return;
    }
    if (status < 0 || !res) {
        if (c->req)
            snprintf(c->req->detail, sizeof c->req->detail, "%s: %s", p->host,
                     uv_strerror(status));
        uv_freeaddrinfo(res);
        h1c__conn_fail(c, H1C_E_RESOLVE);
        return;
    }
    memcpy(&p->addr, res->ai_addr, res->ai_addrlen);
    p->have_addr = true;
    p->addr_at = uv_now(p->loop);
    uv_freeaddrinfo(res);
    connect_addr(c, (const struct sockaddr *)&p->addr);
}

/* ---- lent buffers ------------------------------------------------------------------ */

void *h1c__stash_take(struct h1c_stash *s)
{
    char *b = s->top;
    if (!b)
        return malloc(s->size);
    memcpy(&s->top, b, sizeof s->top);
    s->n--;
    ASAN_UNPOISON_MEMORY_REGION(b + sizeof s->top, s->size - sizeof s->top);
    return b;
}

void h1c__stash_give(struct h1c_stash *s, void *b)
{
    memcpy(b, &s->top, sizeof s->top);
    ASAN_POISON_MEMORY_REGION((char *)b + sizeof s->top, s->size - sizeof s->top);
    s->top = b;
    s->n++;
}

static void stash_trim(struct h1c_stash *s, unsigned keep)
{
    while (s->n > keep)
        free(h1c__stash_take(s));
}

/* A write buffer's block goes back when it has its first size (a grown
 * one, after a large body, is freed); its bytes were wiped as they left. */
static void wbuf_lend_back(struct h1c_pool *p, struct wbuf *b)
{
    if (b->ptr && b->cap == H1C_WBUF)
        h1c__stash_give(&p->wbufs, b->ptr);
    else
        free(b->ptr);
    *b = (struct wbuf){ 0 };
}

void h1c__conn_lend_back(struct h1c_conn *c)
{
    struct h1c_pool *p = c->pool;
    if (c->head) {
        h1c__stash_give(&p->heads, c->head);
        c->head = NULL;
    }
    for (int i = 0; i < 2; i++)
        if (!c->out[i].len && !(c->writing && i != c->cur))
            wbuf_lend_back(p, &c->out[i]);
    /* never more spares than connections (after a burst they go with the
     * connections that close idle); with none busy, kept for one request,
     * so that a lone client's requests malloc nothing */
    unsigned keep = p->nidle == p->nopen ? 1 : p->nopen;
    stash_trim(&p->heads, keep);
    stash_trim(&p->wbufs, 2 * keep);
}

/* A closing pool is freed once its last connection and its wait timer
 * closed. true when it was. */
static bool pool_free_if_done(struct h1c_pool *p)
{
    if (!p->closing || p->nopen || p->wait_timer_open)
        return false;
    SSL_SESSION_free(p->session);
    if (p->o.ssl_ctx)
        SSL_CTX_free(p->o.ssl_ctx);
    stash_trim(&p->heads, 0);
    stash_trim(&p->wbufs, 0);
    free(p->host);
    free(p);
    return true;
}

static void on_handle_closed(uv_handle_t *h)
{
    struct h1c_conn *c = h->data;
    if (--c->handles)
        return;
    struct h1c_pool *p = c->pool;
    if (c->ssl)
        SSL_free(c->ssl); /* frees its BIO */
    tls_bio_cleanup(&c->bio);
    for (int i = 0; i < 2; i++) {
        /* bytes never sent: a request head holds the proxy's session token */
        if (c->out[i].ptr)
            s3w_wipe(c->out[i].ptr, c->out[i].len);
        c->out[i].len = 0;
    }
    c->writing = false;
    p->nopen--;
    h1c__gauge(p, H1C_GAUGE_OPEN, -1);
    h1c__conn_lend_back(c);
    free(c);
    if (pool_free_if_done(p))
        return;
    h1c__dispatch_waiting(p);
}

static void close_handles(struct h1c_conn *c)
{
    c->holding = false;
    uv_close((uv_handle_t *)&c->gather, on_handle_closed);
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
}

struct h1c_conn *h1c__conn_new(struct h1c_pool *p)
{
    struct h1c_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->pool = p;
    uv_tcp_init(p->loop, &c->tcp);
    uv_timer_init(p->loop, &c->timer);
    uv_idle_init(p->loop, &c->gather);
    c->tcp.data = c->timer.data = c->gather.data = c->gai.data = c;
    c->handles = 3;
    h1resp_init(&c->resp, &h1c__resp_cb, c);
    p->nopen++;
    h1c__gauge(p, H1C_GAUGE_OPEN, +1);
    h1c__count(p, &p->st.connects, H1C_EV_OPENED);
    return c;
}

void h1c__conn_open(struct h1c_conn *c)
{
    struct h1c_pool *p = c->pool;
    h1c__arm(c, p->o.connect_timeout_ms);
    if (p->have_addr && (p->numeric || uv_now(p->loop) - p->addr_at < H1C_ADDR_TTL_MS)) {
        connect_addr(c, (const struct sockaddr *)&p->addr);
        return;
    }
    c->state = C_RESOLVE;
    c->resolving = true;
    char port[8];
    snprintf(port, sizeof port, "%u", p->o.port);
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    if (uv_getaddrinfo(p->loop, &c->gai, on_resolved, p->host, port, &hints) < 0) {
        c->resolving = false;
        h1c__conn_fail(c, H1C_E_RESOLVE);
    }
}

/* ---- ending connections ------------------------------------------------------------ */

static void unlink_idle(struct h1c_conn *c)
{
    struct h1c_pool *p = c->pool;
    for (struct h1c_conn **pp = &p->idle; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            p->nidle--;
            h1c__gauge(p, H1C_GAUGE_IDLE, -1);
            return;
        }
}

void h1c__conn_close(struct h1c_conn *c)
{
    if (c->in_cb) {
        c->doomed = true; /* closed when the callback returns */
        return;
    }
    if (c->state == C_CLOSING)
        return;
    if (c->state == C_IDLE)
        unlink_idle(c);
    c->state = C_CLOSING;
    if (c->req)
        c->req->conn = NULL;
    c->req = NULL;
    if (c->resolving) {
        uv_cancel((uv_req_t *)&c->gai); /* on_resolved comes back and closes */
        return;
    }
    close_handles(c);
}

/* After a callback: a connection failed or closed inside it ends now, and
 * its request (unless the callback aborted it) learns why. */
void h1c__finish_doomed(struct h1c_conn *c)
{
    struct h1c_req *r = c->req;
    c->doomed = false;
    if (r) {
        c->req = NULL;
        r->conn = NULL;
    }
    h1c__conn_close(c);
    if (r)
        h1c__req_done(c->pool, r, c->doom_err ? c->doom_err : H1C_E_IO);
}

void h1c__conn_fail(struct h1c_conn *c, int err)
{
    struct h1c_req *r = c->req;
    struct h1c_pool *p = c->pool;
    if (c->in_cb) {
        c->doomed = true;
        c->doom_err = err;
        return;
    }
    c->req = NULL;
    if (r)
        r->conn = NULL;
    bool retry = r && r->idempotent && r->reused && !r->retried && !r->got_bytes &&
                 r->body_given == 0 && (err == H1C_E_CLOSED || err == H1C_E_IO) && !p->closing;
    h1c__conn_close(c);
    if (!r)
        return;
    if (retry) {
        r->retried = true;
        h1c__count(p, &p->st.retries, H1C_EV_RETRIED);
        h1c__start_on(p, r, true);
        return;
    }
    h1c__req_done(p, r, err);
}

/* ---- pools ------------------------------------------------------------------------------ */

static bool is_localhost(const char *h)
{
    size_t n = strlen(h);
    if (n && h[n - 1] == '.')
        n--; /* the root label */
    return (n == 9 && strncasecmp(h, "localhost", 9) == 0) ||
           (n > 10 && strncasecmp(h + n - 10, ".localhost", 10) == 0);
}

struct h1c_pool *h1c_pool_new(uv_loop_t *loop, const struct h1c_pool_opts *o)
{
    struct h1c_pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->loop = loop;
    p->o = *o;
    p->heads.size = H1R_MAX_HEAD;
    p->wbufs.size = H1C_WBUF;
    if (p->o.max_conns == 0)
        p->o.max_conns = 1;
    p->host = strdup(o->host);
    if (!p->host) {
        free(p);
        return NULL;
    }
    if (o->ssl_ctx)
        SSL_CTX_up_ref(o->ssl_ctx);
    /* a numeric host needs no resolver (and no thread-pool round trip);
     * nor do localhost names, which are the loopback address (RFC 6761
     * section 6.3, as curl resolves them: virtual-hosted buckets of a
     * local store are BUCKET.localhost) */
    struct sockaddr_in *a4 = (struct sockaddr_in *)&p->addr;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&p->addr;
    if (uv_ip4_addr(p->host, o->port, a4) == 0 || uv_ip6_addr(p->host, o->port, a6) == 0 ||
        (is_localhost(p->host) && uv_ip4_addr("127.0.0.1", o->port, a4) == 0))
        p->have_addr = p->numeric = true;
    uv_timer_init(loop, &p->wait_timer);
    p->wait_timer.data = p;
    p->wait_timer_open = true;
    return p;
}

static void on_wait_timer_closed(uv_handle_t *h)
{
    struct h1c_pool *p = h->data;
    p->wait_timer_open = false;
    pool_free_if_done(p);
}

/* Requests that waited for a connection longer than the connect timeout
 * fail with H1C_E_BUSY: every connection is held by others (a slow
 * client's transfers, an upstream that answers slowly), and a wait with no
 * bound would hold the request - and its client - without end. */
static void on_wait_timer(uv_timer_t *t)
{
    struct h1c_pool *p = t->data;
    uint64_t now = uv_now(p->loop);
    while (p->wait_head && now - p->wait_head->wait_since >= p->o.connect_timeout_ms) {
        struct h1c_req *r = p->wait_head;
        p->wait_head = r->next_waiting;
        if (!p->wait_head)
            p->wait_tail = NULL;
        p->nwaiting--;
        p->st.wait_timeouts++;
        r->cb->on_done(r, H1C_E_BUSY);
    }
    h1c__wait_timer_arm(p);
}

void h1c__wait_timer_arm(struct h1c_pool *p)
{
    if (!p->wait_head || p->closing || uv_is_active((uv_handle_t *)&p->wait_timer))
        return;
    uint64_t now = uv_now(p->loop), due = p->wait_head->wait_since + p->o.connect_timeout_ms;
    uv_timer_start(&p->wait_timer, on_wait_timer, due > now ? due - now : 0, 0);
}

void h1c_pool_close(struct h1c_pool *p)
{
    p->closing = true;
    uv_timer_stop(&p->wait_timer);
    uv_close((uv_handle_t *)&p->wait_timer, on_wait_timer_closed);
    while (p->idle)
        h1c__conn_close(p->idle);
    while (p->wait_head) {
        struct h1c_req *r = p->wait_head;
        p->wait_head = r->next_waiting;
        p->nwaiting--;
        r->cb->on_done(r, H1C_E_CONNECT);
    }
    p->wait_tail = NULL;
    pool_free_if_done(p); /* not yet: the wait timer closes on the loop's next turn */
}

void h1c_pool_stats(const struct h1c_pool *p, struct h1c_stats *s)
{
    *s = p->st;
    s->open = p->nopen;
    s->idle = p->nidle;
    s->waiting = p->nwaiting;
}
