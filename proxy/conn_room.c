/* conn_room.c - making room at max_connections: a worker's idle list.
 *
 * Connections waiting for a head with nothing of it seen and nothing left
 * to write (and, through TLS, no bytes of a record or handshake since
 * the last answer), the most recently idle first. At max_connections the
 * worker closes the one idle longest to take a new connection (as nginx
 * reuses its keep-alive connections): a client may close an idle
 * connection at any time (RFC 9112 9.6), so a keep-alive pool, or a
 * host's idle connects, cannot keep others out; a head that has begun is
 * not closed (header_timeout_ms bounds it; but on a server with
 * evict_unfinished_heads, the admin listener, it is listed as an idle
 * one is), nor an answer still being written. conn_idle_update lists or unlists a connection wherever one of
 * those changes.
 *
 * A worker with none idle asks another worker that has one: it takes the
 * newcomer at once, and the other closes its longest idle on its wake.
 * Asks of a worker never outnumber its idle connections as last published
 * (nidle_seen). When the asked worker's idle connection has meanwhile
 * become busy (its next request came), its newest connection closes after
 * its exchange instead (Connection: close), and so does the asking
 * worker's own newest when no ask can be made any more: the count is one
 * over until then, and never more than ROOM_SLACK over by asks - past
 * that, a worker with none idle of its own refuses. */
#include "conn_int.h"

#include <stdatomic.h>
#include <sys/ioctl.h>

#include "metrics.h"

#define ROOM_SLACK 16

void conn_idle_unlist(struct proxy_conn *c)
{
    if (!c->idle_listed)
        return;
    struct proxy_worker *w = c->w;
    if (c->idle_prev)
        c->idle_prev->idle_next = c->idle_next;
    else
        w->idle_newest = c->idle_next;
    if (c->idle_next)
        c->idle_next->idle_prev = c->idle_prev;
    else
        w->idle_oldest = c->idle_prev;
    c->idle_prev = c->idle_next = NULL;
    c->idle_listed = false;
    w->nidle--;
    atomic_store_explicit(&w->nidle_seen, w->nidle, memory_order_relaxed);
}

static void idle_list(struct proxy_conn *c)
{
    struct proxy_worker *w = c->w;
    conn_idle_unlist(c);
    c->idle_next = w->idle_newest;
    if (w->idle_newest)
        w->idle_newest->idle_prev = c;
    else
        w->idle_oldest = c;
    w->idle_newest = c;
    c->idle_listed = true;
    w->nidle++;
    atomic_store_explicit(&w->nidle_seen, w->nidle, memory_order_relaxed);
}

void conn_idle_update(struct proxy_conn *c)
{
    bool idle = !c->closing && !c->lingering && !c->ex && c->phase == PC_WAIT_HEAD &&
                (!c->head_seen_bytes || c->w->srv->settings.evict_unfinished_heads) &&
                !c->tls_bytes && c->writes_pending == 0;
    if (idle && !c->idle_listed)
        idle_list(c);
    else if (!idle)
        conn_idle_unlist(c);
}

/* The idle connection to close, or NULL; *busy (when asked for) the first
 * one passed over because its next request waits in its socket. */
static struct proxy_conn *idle_victim(struct proxy_worker *w, struct proxy_conn **busy)
{
    /* One whose client has just sent its next request, still in the
     * socket's buffer (the loop reads it after this accept), is not idle:
     * closing it would lose the request. It leaves the list; its read
     * comes. A few are looked at, then none is taken. */
    for (int looked = 0; w->idle_oldest && looked < 16; looked++) {
        struct proxy_conn *c = w->idle_oldest;
        uv_os_fd_t fd;
        int waiting = 0;
        if (uv_fileno((uv_handle_t *)&c->tcp, &fd) != 0 || ioctl(fd, FIONREAD, &waiting) != 0 ||
            waiting == 0)
            return c;
        conn_idle_unlist(c);
        if (busy && !*busy)
            *busy = c;
    }
    return NULL;
}

struct proxy_conn *proxy_worker_idle_victim(struct proxy_worker *w)
{
    return idle_victim(w, NULL);
}

/* Closes c now, or after its exchange (Connection: close) when it is
 * busy; counted as evicted either way. */
static void evict(struct proxy_worker *w, struct proxy_conn *c, bool after_exchange)
{
    if (w->metrics)
        metrics_bump(&w->metrics->conns_evicted, 1);
    if (after_exchange)
        proxy_conn_close_after(c);
    else
        proxy_conn_close(c);
}

static bool may_close_after(const struct proxy_conn *c, const struct proxy_conn *except)
{
    return c != except && !c->closing && !c->lingering && !c->refused && !c->close_announced;
}

/* None idle: the worker's newest connection with an exchange under way
 * (its end is near), else its newest but `except` (a head begun, which
 * header_timeout_ms bounds), closes after its exchange; false when it has
 * none left to. */
static bool close_one_after_exchange(struct proxy_worker *w, const struct proxy_conn *except)
{
    struct proxy_conn *any = NULL;
    for (struct proxy_conn *c = w->conns; c; c = c->next) {
        if (!may_close_after(c, except))
            continue;
        if (c->phase != PC_WAIT_HEAD) {
            evict(w, c, true);
            return true;
        }
        if (!any)
            any = c;
    }
    if (any)
        evict(w, any, true);
    return any != NULL;
}

/* Whether o has an idle connection that no ask has claimed yet. */
static bool unclaimed(struct proxy_worker *o)
{
    return atomic_load_explicit(&o->evict_asked, memory_order_relaxed) <
           atomic_load_explicit(&o->nidle_seen, memory_order_relaxed);
}

bool proxy_worker_idle_elsewhere(const struct proxy_worker *w)
{
    struct proxy_server *srv = w->srv;
    if (atomic_load(&srv->nconns) > srv->settings.max_connections + ROOM_SLACK)
        return false;
    for (int k = 1; k < srv->nworkers; k++)
        if (unclaimed(&srv->workers[(w->index + k) % srv->nworkers]))
            return true;
    return false;
}

/* Claims one of o's idle connections and wakes o to close it; false when
 * none is left unclaimed or o no longer takes asks (stopping). */
static bool ask(struct proxy_worker *o)
{
    bool sent = false;
    uv_mutex_lock(&o->srv->wake_mu);
    size_t asked = atomic_load_explicit(&o->evict_asked, memory_order_relaxed);
    while (!o->wake_closed && !atomic_load(&o->srv->stop) &&
           asked < atomic_load_explicit(&o->nidle_seen, memory_order_relaxed)) {
        if (atomic_compare_exchange_weak(&o->evict_asked, &asked, asked + 1)) {
            sent = uv_async_send(&o->wake) == 0;
            break;
        }
    }
    uv_mutex_unlock(&o->srv->wake_mu);
    return sent;
}

void proxy_worker_evict_idle(struct proxy_worker *w, const struct proxy_conn *newcomer)
{
    struct proxy_conn *c = proxy_worker_idle_victim(w);
    if (c) {
        evict(w, c, false);
        return;
    }
    struct proxy_server *srv = w->srv;
    for (int k = 1; k < srv->nworkers; k++)
        if (ask(&srv->workers[(w->index + k) % srv->nworkers]))
            return;
    /* the idle connection seen elsewhere was taken meanwhile */
    close_one_after_exchange(w, newcomer);
}

void proxy_worker_answer_evictions(struct proxy_worker *w)
{
    for (size_t n = atomic_exchange(&w->evict_asked, 0); n > 0; n--) {
        struct proxy_conn *busy = NULL;
        struct proxy_conn *c = idle_victim(w, &busy);
        if (c)
            evict(w, c, false);
        else if (busy && may_close_after(busy, NULL))
            evict(w, busy, true); /* the one asked for: its request has come */
        else if (!close_one_after_exchange(w, NULL))
            break;
    }
}
