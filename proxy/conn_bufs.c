/* conn_bufs.c - a connection's read buffer and head store (struct
 * conn_bufs, conn_int.h), lent by its worker while a request is in
 * progress and given back, wiped, when the connection is between
 * requests with nothing buffered (conn.c conn_go_idle) or gone; and the
 * worker's spares of them: up to SPARES_MAX kept, trimmed to SPARES_MIN by
 * the worker's spares timer, which runs only while more than SPARES_MIN
 * of them (or of the handler's own spares) are held (spares.h). */
#include "conn_int.h"

#include <malloc.h>
#include <stdlib.h>

#include "metrics.h"

bool conn_bufs_get(struct proxy_conn *c)
{
    if (c->bufs)
        return true;
    struct proxy_worker *w = c->w;
    struct conn_bufs *b = w->spare_bufs;
    if (b) {
        w->spare_bufs = b->next;
        w->nspare_bufs--;
        spares_taken(&w->bufs_decay, w->nspare_bufs);
    } else if (!(b = malloc(sizeof(*b)))) {
        return false;
    } else {
        if (w->metrics)
            metrics_bump(&w->metrics->allocs[METRICS_ALLOC_READ_BUFFER], 1);
    }
    b->next = NULL;
    b->in_used = 0;
    c->bufs = b;
    c->in = b->in;
    http_parser_lend(&c->hp, &b->head);
    return true;
}

void conn_bufs_put(struct proxy_conn *c)
{
    struct conn_bufs *b = c->bufs;
    if (!b)
        return;
    s3w_wipe(b->in, b->in_used);
    if (!http_parser_take_back(&c->hp)) /* mid-request: the connection is gone */
        s3w_wipe(b->head.arena, c->hp.arena_used);
    c->bufs = NULL;
    c->in = NULL;
    c->in_len = 0;
    struct proxy_worker *w = c->w;
    if (w->nspare_bufs >= SPARES_MAX) {
        free(b);
        return;
    }
    b->next = w->spare_bufs;
    w->spare_bufs = b;
    if (++w->nspare_bufs > SPARES_MIN)
        proxy_worker_spares_grew(w);
}

/* Every byte of in[] past in_len has been parsed already (reads append at
 * in_len, consume() moves what is left to the front), so what lies in
 * [in_len, in_used) is dead: a head's bytes that consume() did not
 * overwrite, an earlier request's, a body's. They are wiped only when a
 * request carried a secret - not on every request: plain GETs pay nothing,
 * and an idle connection's buffers are wiped when they go back anyway. */
void proxy_conn_wipe_consumed(struct proxy_conn *c)
{
    struct conn_bufs *b = c->bufs;
    if (!b)
        return; /* given back, and wiped then */
    if (b->in_used > c->in_len)
        s3w_wipe(c->in + c->in_len, b->in_used - c->in_len);
    b->in_used = c->in_len; /* nothing written past it is left to wipe */
    http_parser_wipe_at_next(&c->hp); /* the parsed copy, once unused */
}

void proxy_worker_trim_spares(struct proxy_worker *w)
{
    size_t excess = spares_tick(&w->bufs_decay, w->nspare_bufs);
    if (excess) {
        /* the list's tail: the longest unused */
        struct conn_bufs **p = &w->spare_bufs;
        for (size_t keep = w->nspare_bufs - excess; keep > 0; keep--)
            p = &(*p)->next;
        while (*p) {
            struct conn_bufs *b = *p;
            *p = b->next;
            free(b);
        }
        w->nspare_bufs -= excess;
    }
    size_t theirs = w->srv->worker_trim ? w->srv->worker_trim(w) : 0;
    if (w->nspare_bufs <= SPARES_MIN && theirs <= SPARES_MIN) {
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
    while (w->spare_bufs) {
        struct conn_bufs *b = w->spare_bufs;
        w->spare_bufs = b->next;
        free(b);
    }
    w->nspare_bufs = 0;
}
