/* server.c - worker loops and SO_REUSEPORT listeners: binding, starting
 * and stopping the workers, accepting connections (or refusing them past
 * limits.max_connections), reload pokes and the TLS context for new
 * connections. The connections themselves are conn.c.
 */
#include "proxy.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "conn.h"
#include "log.h"
#include "metrics.h"
#include "s3err.h"
#include "sigmask.h"
#include "tls.h"


void proxy_settings_defaults(struct proxy_settings *s)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->listen_addr, sizeof(s->listen_addr), "127.0.0.1");
    s->port = 8080;
    s->workers = 0;
    s->header_timeout_ms = 10000;
    s->idle_timeout_ms = 60000;
    s->max_connections = 10000;
    s->max_header_bytes = HTTP_MAX_HEAD;
    s->send_timeout_ms = 60000;
    s->min_body_rate = 0;
    s->body_rate_window_ms = 10000;
}

/* ---- connections past limits.max_connections ----------------------------------
 * The worker makes room by closing its connection idle the longest, or
 * with none idle has another worker close its own (conn_room.c; the
 * closed one counts until its handles close, so the count may pass the
 * limit by the few closing at once). With none idle anywhere, a new
 * connection is answered "503 SlowDown" with "Connection: close" (S3's
 * answer to "too much at once", which SDKs retry with backoff) rather
 * than reset without a word, in a small struct of their own (not a
 * proxy_conn and its 64 KiB buffer): the answer is written, our side shut
 * down, and the client's bytes read and dropped for a moment so
 * that our close is no RST that destroys the answer (RFC 9112 9.6). At
 * most PROXY_REFUSED_LINGER_MAX linger per worker; past that, and on a TLS
 * listener (no handshake is done for a refusal), the connection is closed
 * at once. The WARN line is written once per REFUSED_LOG_MS, with
 * the count since the last one. */
#define REFUSED_LINGER_MS 1000
#define REFUSED_LOG_MS 10000

struct refused_conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_write_t wr;
    uv_shutdown_t sd;
    struct proxy_worker *w;
    int handles;
    size_t len;
    char resp[768];
};

static void refused_closed(uv_handle_t *h)
{
    struct refused_conn *r = h->data;
    if (--r->handles > 0)
        return;
    r->w->refused_lingering--;
    free(r);
}

static void refused_close(struct refused_conn *r)
{
    if (uv_is_closing((uv_handle_t *)&r->tcp))
        return;
    uv_close((uv_handle_t *)&r->tcp, refused_closed);
    uv_close((uv_handle_t *)&r->timer, refused_closed);
}

static void refused_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    static _Thread_local char sink[4096]; /* bytes read only to be dropped */
    (void)h;
    *buf = uv_buf_init(sink, sizeof(sink));
}

static void refused_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    if (nread < 0)
        refused_close(s->data);
}

static void refused_timer(uv_timer_t *t)
{
    refused_close(t->data);
}

static void refused_shutdown(uv_shutdown_t *req, int status)
{
    (void)status;
    (void)req; /* the timer or the client's EOF closes */
}

static void refused_written(uv_write_t *req, int status)
{
    struct refused_conn *r = req->data;
    if (status < 0 || uv_shutdown(&r->sd, (uv_stream_t *)&r->tcp, refused_shutdown) != 0)
        refused_close(r);
}

/* Counts a refusal; true, with *n the count since the last report, when
 * the interval's one report is due (across workers). */
static bool refusal_report_due(atomic_uint_fast64_t *unlogged, atomic_uint_fast64_t *log_ms,
                               uint64_t *n)
{
    uint64_t now = uv_hrtime() / 1000000 + 1; /* 0 = never logged */
    atomic_fetch_add(unlogged, 1);
    uint64_t last = atomic_load(log_ms);
    if ((last == 0 || now - last >= REFUSED_LOG_MS) &&
        atomic_compare_exchange_strong(log_ms, &last, now)) {
        *n = atomic_exchange(unlogged, 0);
        return true;
    }
    return false;
}

void proxy_server_refused_per_address(struct proxy_worker *w, const char *addr)
{
    struct proxy_server *srv = w->srv;
    uint64_t n;
    if (refusal_report_due(&srv->addr_refused_unlogged, &srv->addr_refused_log_ms, &n))
        proxy_log("WARN", "max_connections_per_address=%u reached: refused %llu connection%s "
                  "since the last report (503 SlowDown), the last from %s",
                  srv->settings.max_connections_per_address, (unsigned long long)n,
                  n == 1 ? "" : "s", addr);
    if (w->metrics)
        metrics_bump(&w->metrics->conns_refused_per_address, 1);
}

static void refuse_connection(struct proxy_worker *w, uv_stream_t *server)
{
    struct proxy_server *srv = w->srv;
    uint64_t n;
    if (refusal_report_due(&srv->refused_unlogged, &srv->refused_log_ms, &n))
        proxy_log("WARN", "max_connections=%zu reached: refused %llu connection%s since the "
                  "last report (503 SlowDown)", srv->settings.max_connections,
                  (unsigned long long)n, n == 1 ? "" : "s");
    if (w->metrics)
        metrics_bump(&w->metrics->conns_refused, 1);
    struct refused_conn *r = malloc(sizeof(*r));
    if (!r)
        return; /* the connection stays in the backlog until the next accept */
    memset(r, 0, offsetof(struct refused_conn, resp));
    r->w = w;
    uv_tcp_init(&w->loop, &r->tcp);
    r->tcp.data = r;
    w->refused_lingering++;
    r->handles = 1;
    if (uv_accept(server, (uv_stream_t *)&r->tcp) != 0) {
        uv_close((uv_handle_t *)&r->tcp, refused_closed);
        return;
    }
    uv_timer_init(&w->loop, &r->timer);
    r->timer.data = r;
    r->handles = 2;
    bool tls;
    uv_mutex_lock(&w->srv->tls_mu);
    tls = w->srv->tls != NULL;
    uv_mutex_unlock(&w->srv->tls_mu);
    char rid[17];
    proxy_worker_request_id(w, rid);
    struct s3w_buf out;
    s3w_buf_init(&out, sizeof(r->resp));
    if (tls || w->refused_lingering > PROXY_REFUSED_LINGER_MAX ||
        s3err_response(&out, 503, "SlowDown", s3w_slice_cstr(s3err_default_message("SlowDown")), NULL, 0,
                       S3W_SLICE_NULL, s3w_slice_cstr(rid), s3w_slice_cstr(w->srv->host_id),
                       false, true) != 0) {
        s3w_buf_cleanup(&out);
        refused_close(r);
        return;
    }
    memcpy(r->resp, out.ptr, out.len);
    r->len = out.len;
    s3w_buf_cleanup(&out);
    r->wr.data = r;
    uv_buf_t b = uv_buf_init(r->resp, (unsigned)r->len);
    if (uv_write(&r->wr, (uv_stream_t *)&r->tcp, &b, 1, refused_written) != 0 ||
        uv_read_start((uv_stream_t *)&r->tcp, refused_alloc, refused_read) != 0) {
        refused_close(r);
        return;
    }
    uv_timer_start(&r->timer, refused_timer, REFUSED_LINGER_MS, 0);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct proxy_worker *w = server->data;
    if (status < 0)
        return;
    size_t maxc = w->srv->settings.max_connections;
    /* counted before anything is allocated; the workers share the limit */
    bool over = atomic_fetch_add(&w->srv->nconns, 1) >= maxc && maxc > 0;
    if (over && !proxy_worker_idle_victim(w) && !proxy_worker_idle_elsewhere(w)) {
        atomic_fetch_sub(&w->srv->nconns, 1);
        refuse_connection(w, server);
        return;
    }
    proxy_conn_accept(w, server, over);
}

static void on_stop_deadline(uv_timer_t *t)
{
    struct proxy_worker *w = t->data;
    struct proxy_conn *c = w->conns;
    while (c) {
        struct proxy_conn *next = c->next;
        /* audited as cut by the stop, not as the client's leaving (probe 34) */
        proxy_conn_cut(c, "ShutdownDeadline");
        c = next;
    }
}

static void on_wake(uv_async_t *a)
{
    struct proxy_worker *w = a->data;
    proxy_worker_answer_evictions(w);
    if (w->srv->worker_poke)
        w->srv->worker_poke(w);
    if (!atomic_load(&w->srv->stop) || w->stopping)
        return;
    w->stopping = true;
    if (w->listening) {
        uv_close((uv_handle_t *)&w->listener, NULL);
        w->listening = false;
    }
    /* idle connections go now; busy ones when their response is done */
    struct proxy_conn *c = w->conns;
    while (c) {
        struct proxy_conn *next = c->next;
        if (c->phase == PC_WAIT_HEAD && !c->head_seen_bytes)
            proxy_conn_close(c);
        c = next;
    }
    uv_timer_start(&w->stop_timer, on_stop_deadline, w->srv->stop_deadline_ms, 0);
    proxy_worker_maybe_finish(w);
}

/* One s3warden per address and port: an abstract Unix socket named for
 * them, bound for as long as this process listens there (Linux: one name
 * per network namespace, gone with the process). It closes the window in
 * which two processes started at once both find the port free and then
 * share it with SO_REUSEPORT (reviewer 89). The fd, or -errno (EADDRINUSE:
 * another s3warden holds it). */
static int listen_lock(const char *addr, int port)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct sockaddr_un un = { .sun_family = AF_UNIX };
    int n = snprintf(un.sun_path + 1, sizeof(un.sun_path) - 1, "s3warden-listen:%s:%d", addr, port);
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
    if (bind(fd, (struct sockaddr *)&un, len) != 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    return fd;
}

static int make_listen_fd(const char *addr, int port, bool reuseport, int *bound)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    socklen_t sl;
    int family;
    if (uv_ip4_addr(addr, port, (struct sockaddr_in *)&ss) == 0) {
        family = AF_INET;
        sl = sizeof(struct sockaddr_in);
    } else if (uv_ip6_addr(addr, port, (struct sockaddr_in6 *)&ss) == 0) {
        family = AF_INET6;
        sl = sizeof(struct sockaddr_in6);
    } else {
        return -EINVAL;
    }
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    /* SO_REUSEPORT: the kernel spreads new connections over the workers'
     * sockets, so no accept lock and no cross-thread hand-off. */
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) ||
        bind(fd, (struct sockaddr *)&ss, sl) != 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    struct sockaddr_storage got;
    socklen_t gl = sizeof(got);
    if (getsockname(fd, (struct sockaddr *)&got, &gl) == 0)
        *bound = ntohs(family == AF_INET ? ((struct sockaddr_in *)&got)->sin_port
                                         : ((struct sockaddr_in6 *)&got)->sin6_port);
    return fd;
}

void proxy_worker_request_id(struct proxy_worker *w, char out[17])
{
    if (w->rid_left < 8) {
        /* one draw for 32 ids, from OpenSSL's generator of this thread (no
         * system call) or else the kernel's */
        if (RAND_bytes(w->rid_random, sizeof(w->rid_random)) != 1 &&
            getrandom(w->rid_random, sizeof(w->rid_random), 0) != (ssize_t)sizeof(w->rid_random)) {
            /* neither answers: ids that still differ (splitmix64 from the
             * clock), guessable for as long as this lasts */
            uint64_t x = uv_hrtime() ^ (uint64_t)(uintptr_t)w;
            for (size_t i = 0; i < sizeof(w->rid_random); i += 8) {
                uint64_t z = (x += 0x9E3779B97F4A7C15u);
                z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
                z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
                z ^= z >> 31;
                memcpy(w->rid_random + i, &z, 8);
            }
        }
        w->rid_left = sizeof(w->rid_random);
    }
    const uint8_t *r = w->rid_random + sizeof(w->rid_random) - w->rid_left;
    w->rid_left -= 8;
    for (int i = 0; i < 8; i++) {
        out[2 * i] = s3w_hex_upper[r[i] >> 4];
        out[2 * i + 1] = s3w_hex_upper[r[i] & 15];
    }
    out[16] = '\0';
}

int proxy_server_init(struct proxy_server *srv,
                      const struct proxy_settings *settings,
                      const struct proxy_handler *handler, void *handler_ud)
{
    int (*winit)(struct proxy_worker *) = srv->worker_init;
    void (*wclean)(struct proxy_worker *) = srv->worker_cleanup;
    void (*wpoke)(struct proxy_worker *) = srv->worker_poke;
    size_t (*wtrim)(struct proxy_worker *) = srv->worker_trim;
    struct tls_server *tls = srv->tls;
    memset(srv, 0, sizeof(*srv));
    srv->worker_init = winit;
    srv->worker_cleanup = wclean;
    srv->worker_poke = wpoke;
    srv->worker_trim = wtrim;
    srv->tls = tls;
    srv->settings = *settings;
    uv_mutex_init(&srv->tls_mu);
    uv_mutex_init(&srv->wake_mu);
    srv->handler = handler;
    srv->handler_ud = handler_ud;
    srv->stop_deadline_ms = 10000;
    srv->listen_lock_fd = -1;
    int n = settings->workers > 0 ? settings->workers : (int)uv_available_parallelism();
    if (settings->exclusive)
        n = 1;
    if (n < 1)
        n = 1;
    if (n > 256)
        n = 256;
    uint8_t rnd[8];
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        memset(rnd, 0x5a, sizeof(rnd));
    char hex[17];
    s3w_hex_encode(rnd, sizeof(rnd), hex);
    snprintf(srv->host_id, sizeof(srv->host_id), "s3warden-%s", hex);
    srv->workers = calloc((size_t)n, sizeof(*srv->workers));
    if (!srv->workers)
        return -ENOMEM;
    if (settings->max_connections_per_address &&
        !(srv->addr_limit = addr_limit_new(settings->max_connections ? settings->max_connections
                                                                      : 65536,
                                           settings->max_connections_per_address)))
        return -ENOMEM;
    srv->nworkers = n;
    int port = settings->port;
    /* SO_REUSEPORT lets any process of this user join a port its sockets
     * share: a second s3warden (started twice, or over an old one that
     * still listens) took part of the connections under its own config
     * (probe 34). The port must have no listener first: a socket without
     * SO_REUSEPORT binds only then. */
    if (!settings->exclusive && port != 0) {
        srv->listen_lock_fd = listen_lock(settings->listen_addr, port);
        if (srv->listen_lock_fd < 0) {
            int e = srv->listen_lock_fd;
            proxy_log("ERROR", "cannot listen on %s:%d: %s%s", settings->listen_addr, port,
                      strerror(-e), e == -EADDRINUSE ? " (another s3warden listens there)" : "");
            srv->nworkers = 0;
            return e;
        }
        int bound = port;
        int probe = make_listen_fd(settings->listen_addr, port, false, &bound);
        if (probe < 0) {
            proxy_log("ERROR", "cannot listen on %s:%d: %s%s", settings->listen_addr, port,
                      strerror(-probe),
                      probe == -EADDRINUSE ? " (another socket uses that port)" : "");
            srv->nworkers = 0;
            return probe;
        }
        close(probe);
    }
    for (int i = 0; i < n; i++) {
        struct proxy_worker *w = &srv->workers[i];
        w->srv = srv;
        w->index = i;
        uv_loop_init(&w->loop);
        w->loop.data = w;
        int bound = port;
        int fd = make_listen_fd(settings->listen_addr, port, !settings->exclusive, &bound);
        if (fd < 0) {
            proxy_log("ERROR", "cannot listen on %s:%d: %s", settings->listen_addr,
                      port, strerror(-fd));
            srv->nworkers = i + 1;
            return fd;
        }
        port = bound; /* port 0: every worker joins the first one's port */
        srv->bound_port = bound;
        uv_tcp_init(&w->loop, &w->listener);
        w->listener.data = w;
        int rc = uv_tcp_open(&w->listener, fd);
        if (rc != 0)
            close(fd); /* the handle did not take it */
        else
            rc = uv_listen((uv_stream_t *)&w->listener, 1024, on_connection);
        if (rc != 0) {
            proxy_log("ERROR", "listen: %s", uv_strerror(rc));
            srv->nworkers = i + 1;
            return rc;
        }
        w->listening = true;
        uv_async_init(&w->loop, &w->wake, on_wake);
        w->wake.data = w;
        uv_timer_init(&w->loop, &w->stop_timer);
        w->stop_timer.data = w;
        uv_timer_init(&w->loop, &w->spares_timer);
        w->spares_timer.data = w;
        uv_unref((uv_handle_t *)&w->spares_timer); /* never keeps a stopping loop */
        if (srv->worker_init && (rc = srv->worker_init(w)) != 0) {
            srv->nworkers = i + 1;
            return rc;
        }
    }
    return 0;
}

static void *worker_main(void *arg)
{
    struct proxy_worker *w = arg;
    /* a line per request: batched, flushed by the handler's timer (log.h) */
    proxy_log_batch_begin();
    uv_run(&w->loop, UV_RUN_DEFAULT);
    proxy_log_batch_end();
    return NULL;
}

int proxy_server_start(struct proxy_server *srv)
{
    for (int i = 0; i < srv->nworkers; i++) {
        int rc = s3w_thread_create(&srv->workers[i].thread, worker_main, &srv->workers[i]);
        if (rc != 0) {
            /* the ones running stop and are joined; proxy_server_cleanup
             * takes down the others */
            proxy_server_stop(srv, 0);
            for (int k = 0; k < i; k++)
                uv_thread_join(&srv->workers[k].thread);
            return rc;
        }
    }
    return 0;
}

void proxy_server_wait(struct proxy_server *srv)
{
    for (int i = 0; i < srv->nworkers; i++)
        uv_thread_join(&srv->workers[i].thread);
}

void proxy_server_stop(struct proxy_server *srv, uint64_t deadline_ms)
{
    /* the listeners close now: a new s3warden may take the port */
    if (srv->listen_lock_fd >= 0) {
        close(srv->listen_lock_fd);
        srv->listen_lock_fd = -1;
    }
    srv->stop_deadline_ms = deadline_ms;
    atomic_store(&srv->stop, 1);
    for (int i = 0; i < srv->nworkers; i++)
        uv_async_send(&srv->workers[i].wake);
}

void proxy_server_poke(struct proxy_server *srv)
{
    for (int i = 0; i < srv->nworkers; i++)
        uv_async_send(&srv->workers[i].wake);
}

static void walk_close(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

void proxy_server_cleanup(struct proxy_server *srv)
{
    if (srv->listen_lock_fd >= 0) {
        close(srv->listen_lock_fd);
        srv->listen_lock_fd = -1;
    }
    for (int i = 0; i < srv->nworkers; i++) {
        struct proxy_worker *w = &srv->workers[i];
        /* a worker that never ran (a start that failed) was not cleaned
         * on its thread */
        if (srv->worker_cleanup && !w->cleaned)
            srv->worker_cleanup(w);
        w->cleaned = true;
        uv_walk(&w->loop, walk_close, NULL);
        uv_run(&w->loop, UV_RUN_DEFAULT);
        uv_loop_close(&w->loop);
        proxy_worker_free_spares(w);
    }
    free(srv->workers);
    srv->workers = NULL;
    srv->nworkers = 0;
    addr_limit_free(srv->addr_limit);
    srv->addr_limit = NULL;
    uv_mutex_destroy(&srv->tls_mu);
    uv_mutex_destroy(&srv->wake_mu);
}

void proxy_server_set_tls(struct proxy_server *srv, struct tls_server *t)
{
    uv_mutex_lock(&srv->tls_mu);
    struct tls_server *old = srv->tls;
    srv->tls = t;
    uv_mutex_unlock(&srv->tls_mu);
    tls_server_unref(old);
}

