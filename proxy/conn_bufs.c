/* conn_bufs.c - a connection's read buffer (struct conn_bufs) and head
 * store (struct conn_heads), lent by its worker (conn_int.h) and given
 * back, wiped, when the connection no longer needs them (conn.c
 * conn_go_idle) or is gone; and the worker's spares of each kind: up to
 * SPARES_MAX kept, trimmed to SPARES_MIN by the worker's spares timer,
 * which runs only while more than SPARES_MIN of them (or of the handler's
 * own spares) are held (spares.h). */
#include "conn_int.h"

#include <malloc.h>
#include <stdlib.h>

#include "metrics.h"

/* ---- spares of one kind (struct conn_spares) --------------------------------------- */
struct spare_link {
    struct spare_link *next;
};
_Static_assert(offsetof(struct conn_bufs, next) == 0 && offsetof(struct conn_heads, next) == 0,
               "a spare begins with its link");

/* A spare, or a new block of n bytes (counted as kind): NULL, out of memory. */
static void *spare_take(struct proxy_worker *w, struct conn_spares *s, size_t n,
                        enum metrics_alloc kind)
{
    struct spare_link *p = s->top;
    if (p) {
        s->top = p->next;
        s->n--;
        spares_taken(&s->decay, s->n);
        return p;
    }
    if ((p = malloc(n)) && w->metrics)
        metrics_bump(&w->metrics->allocs[kind], 1);
    return p;
}

static void spare_give(struct proxy_worker *w, struct conn_spares *s, void *p)
{
    if (s->n >= SPARES_MAX) {
        free(p);
        return;
    }
    struct spare_link *l = p;
    l->next = s->top;
    s->top = l;
    if (++s->n > SPARES_MIN)
        proxy_worker_spares_grew(w);
}

/* Frees those that lay unused for the last tick; how many are left. */
static size_t spare_trim(struct conn_spares *s)
{
    size_t excess = spares_tick(&s->decay, s->n);
    if (excess) {
        /* the list's tail: the longest unused */
        struct spare_link **p = (struct spare_link **)&s->top;
        for (size_t keep = s->n - excess; keep > 0; keep--)
            p = &(*p)->next;
        while (*p) {
            struct spare_link *l = *p;
            *p = l->next;
            free(l);
        }
        s->n -= excess;
    }
    return s->n;
}

static void spare_free_all(struct conn_spares *s)
{
    while (s->top) {
        struct spare_link *l = s->top;
        s->top = l->next;
        free(l);
    }
    s->n = 0;
}

/* ---- a connection's --------------------------------------------------------------- */
bool conn_bufs_get(struct proxy_conn *c)
{
    struct proxy_worker *w = c->w;
    if (!c->heads) {
        struct conn_heads *h = spare_take(w, &w->spare_heads, sizeof(*h), METRICS_ALLOC_HEAD_STORE);
        if (!h)
            return false;
        c->heads = h;
        http_parser_lend(&c->hp, &h->head);
    }
    if (!c->bufs) {
        struct conn_bufs *b = spare_take(w, &w->spare_bufs, sizeof(*b), METRICS_ALLOC_READ_BUFFER);
        if (!b)
            return false;
        b->in_used = 0;
        c->bufs = b;
        c->in = b->in;
    }
    return true;
}

void conn_bufs_put_in(struct proxy_conn *c)
{
    struct conn_bufs *b = c->bufs;
    if (!b)
        return;
    s3w_wipe(b->in, b->in_used);
    c->bufs = NULL;
    c->in = NULL;
    c->in_len = 0;
    spare_give(c->w, &c->w->spare_bufs, b);
}

void conn_bufs_put(struct proxy_conn *c)
{
    conn_bufs_put_in(c);
    struct conn_heads *h = c->heads;
    if (!h)
        return;
    if (!http_parser_take_back(&c->hp)) /* mid-request: the connection is gone */
        s3w_wipe(h->head.arena, c->hp.arena_used);
    c->heads = NULL;
    spare_give(c->w, &c->w->spare_heads, h);
}

/* Every byte of in[] past in_len has been parsed already (reads append at
 * in_len, consume() moves what is left to the front), so what lies in
 * [in_len, in_used) is dead: a head's bytes that consume() did not
 * overwrite, an earlier request's, a body's. They are wiped only when a
 * request carried a secret - not on every request: plain GETs pay nothing,
 * and an idle connection's buffers are wiped when they go back anyway. */
void proxy_conn_wipe_consumed(struct proxy_conn *c)
{
    struct conn_bufs *b = c->bufs; /* NULL: given back, and wiped then */
    if (b) {
        if (b->in_used > c->in_len)
            s3w_wipe(c->in + c->in_len, b->in_used - c->in_len);
        b->in_used = c->in_len; /* nothing written past it is left to wipe */
    }
    if (c->heads)
        http_parser_wipe_at_next(&c->hp); /* the parsed copy, once unused */
}

void proxy_worker_trim_spares(struct proxy_worker *w)
{
    size_t bufs = spare_trim(&w->spare_bufs);
    size_t heads = spare_trim(&w->spare_heads);
    size_t theirs = w->srv->worker_trim ? w->srv->worker_trim(w) : 0;
    if (bufs <= SPARES_MIN && heads <= SPARES_MIN && theirs <= SPARES_MIN) {
        uv_timer_stop(&w->spares_timer);
        /* A burst is over (the timer runs only while spares are in
         * excess): give the freed memory back to the system. glibc keeps
         * freed blocks of the heap and of each thread's arena otherwise -
         * a probe's 9,500 slow connections left 470 MB resident for good. */
        malloc_trim(0);
    }
}

static void on_spares_tick(uv_timer_t *t)
{
    proxy_worker_trim_spares(t->data);
}

void proxy_worker_spares_grew(struct proxy_worker *w)
{
    uv_handle_t *h = (uv_handle_t *)&w->spares_timer;
    if (!uv_is_active(h) && !uv_is_closing(h))
        uv_timer_start(&w->spares_timer, on_spares_tick, SPARES_TICK_MS, SPARES_TICK_MS);
}

void proxy_worker_free_spares(struct proxy_worker *w)
{
    spare_free_all(&w->spare_bufs);
    spare_free_all(&w->spare_heads);
}
