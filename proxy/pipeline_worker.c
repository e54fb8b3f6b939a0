/*
 * pipeline_worker.c - what the pipeline keeps beyond one request: the
 * state all workers share (the config snapshot, upstream and identity
 * state), each worker's own (its snapshot, key caches, audit batch and its
 * flush timer), and the worker's spare exchanges (px_alloc, px_recycle).
 * The stages of a request are in pipeline.c.
 */
#include "pipeline.h"

#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#else
#define ASAN_POISON_MEMORY_REGION(p, n) ((void)(p), (void)(n))
#define ASAN_UNPOISON_MEMORY_REGION(p, n) ((void)(p), (void)(n))
#endif

#include "audit.h"
#include "conn.h"
#include "exchange.h"
#include "ident_limit.h"
#include "log.h"
#include "metrics.h"
#include "upstream.h"
#include "upstream_state.h"

/* ---- spare exchanges ---------------------------------------------------------------- */
/* What px_alloc does not clear of a px; every other byte is zeroed for each
 * request, so a member added to struct px starts zeroed unless it is listed
 * here, with what makes it right before anything reads it:
 *  - stores read only below a length or count that is cleared: the route's
 *    key (route.key_len), the presigned parameters' (sv.auth.store_used),
 *    the request context's entries (ctx.n; policy_context_set fills every
 *    field of an entry it adds), the policies' lists (nguardrails,
 *    nidentity);
 *  - C strings whose first byte is cleared, never read past their NUL:
 *    authz.deciding, resp.up_reqid, out.err_msg;
 *  - the operation mapping's private storage, which s3map_map resets
 *    before use (its counts nq, scratch_used, hseen), from map.q on;
 *    px_recycle wipes what it decoded (s3map_result_wipe), and a new px
 *    gets it ready for that (s3map_result_init, px_first_init);
 *  - the identity: config_resolve and config_identity_anonymous reset it
 *    before they fill it, and nothing reads it before either ran but
 *    through auth.id_set (cleared); px_free leaves it reset
 *    (config_identity_cleanup) and px_recycle wipes and empties its store
 *    whatever happened; a new px gets it zeroed (px_first_init);
 *  - the storage every request fills, which a spare keeps (px_kept_*): the
 *    body queue, the upstream request, its head, the answer's head.
 * All but about 3 KiB of struct px's 59 KiB; the identity alone was cleared three
 * times per signed request (here, config_resolve, px_free). */
#define PX_KEEP(f) { offsetof(struct px, f), sizeof(((struct px *)0)->f) }
#define PX_KEEP_STR(f) { offsetof(struct px, f) + 1, sizeof(((struct px *)0)->f) - 1 }
#define PX_KEEP_FROM(f, last) \
    { offsetof(struct px, f), offsetof(struct px, last) + sizeof(((struct px *)0)->last) - offsetof(struct px, f) }
static const struct {
    size_t off, len;
} px_uncleared[] = {
    PX_KEEP(route.key),
    PX_KEEP(auth.sv.auth.store),
    PX_KEEP(auth.id),
    PX_KEEP_FROM(authz.map.q, authz.map.scratch),
    PX_KEEP(authz.ctx.entries),
    PX_KEEP_STR(authz.deciding),
    PX_KEEP(authz.guardrails),
    PX_KEEP(authz.identity_pols),
    PX_KEEP(body.q),
    PX_KEEP(up.req),
    PX_KEEP(up.head),
    PX_KEEP_STR(resp.up_reqid),
    PX_KEEP(resp.head),
    PX_KEEP_STR(out.err_msg),
};
/* a ends before b starts */
#define PX_BEFORE(a, b) (offsetof(struct px, a) + sizeof(((struct px *)0)->a) <= offsetof(struct px, b))
_Static_assert(PX_BEFORE(route.key, auth.sv.auth.store) && PX_BEFORE(auth.sv.auth.store, auth.id) &&
               PX_BEFORE(auth.id, authz.map.q) && PX_BEFORE(authz.map.scratch, authz.ctx.entries) &&
               PX_BEFORE(authz.ctx.entries, authz.deciding) &&
               PX_BEFORE(authz.deciding, authz.guardrails) &&
               PX_BEFORE(authz.guardrails, authz.identity_pols) &&
               PX_BEFORE(authz.identity_pols, body.q) && PX_BEFORE(body.q, up.req) &&
               PX_BEFORE(up.req, up.head) && PX_BEFORE(up.head, resp.up_reqid) &&
               PX_BEFORE(resp.up_reqid, resp.head) && PX_BEFORE(resp.head, out.err_msg),
               "px_uncleared is in struct order, without overlaps");
/* A kept buffer grown past this for one large request is freed rather
 * than kept (the heads of a common request are 1-3 KiB). */
#define PX_KEPT_BUF_MAX 16384
#define PX_KEPT_Q_MAX (64 * 1024) /* px_bq_push's first size */

/* A spare px as calloc would give it, but for px_uncleared. */
static void px_zero_reused(struct px *px)
{
    size_t at = 0;
    for (size_t i = 0; i < sizeof(px_uncleared) / sizeof(px_uncleared[0]); i++) {
        if (px_uncleared[i].off > at)
            memset((char *)px + at, 0, px_uncleared[i].off - at);
        at = px_uncleared[i].off + px_uncleared[i].len;
    }
    memset((char *)px + at, 0, sizeof(*px) - at);
}

static void px_kept_init(struct px *px)
{
    memset(&px->body.q, 0, sizeof(px->body.q));
    ub_request_init(&px->up.req);
    s3w_buf_init(&px->up.head, 0);
    s3w_buf_init(&px->resp.head, 0);
}

/* A new px from malloc: what px_zero_reused leaves for a spare to be as its
 * last request left it is made so once. The stores read below a cleared
 * length and the strings' tails need nothing; the map's storage s3map_map
 * resets. */
static void px_first_init(struct px *px)
{
    px_kept_init(px);
    memset(&px->auth.id, 0, sizeof(px->auth.id)); /* identity.h: zeroing initialises it */
    s3map_result_init(&px->authz.map); /* px_recycle wipes what it decoded */
}

static void px_kept_free(struct px *px)
{
    free(px->body.q.buf);
    ub_request_cleanup(&px->up.req);
    s3w_buf_cleanup(&px->up.head);
    s3w_buf_cleanup(&px->resp.head);
}

static void kept_reset(struct s3w_buf *b)
{
    if (b->cap > PX_KEPT_BUF_MAX) {
        s3w_buf_cleanup(b);
        return;
    }
    if (b->ptr)
        s3w_wipe(b->ptr, b->len);
    s3w_buf_reset(b);
}

/* The request's bytes out of the kept buffers: the upstream head holds the
 * proxy's session token, so what was used is wiped (not the capacity). */
static void px_kept_reset(struct px *px)
{
    /* a request body's bytes (not secret); a larger queue than a common
     * PUT's goes (PX_Q_MAX can be megabytes) */
    if (px->body.q.cap > PX_KEPT_Q_MAX) {
        free(px->body.q.buf);
        px->body.q.buf = NULL;
        px->body.q.cap = 0;
    }
    px->body.q.off = px->body.q.len = 0;
    struct ub_request *u = &px->up.req;
    if (u->target.cap > PX_KEPT_BUF_MAX || u->url.cap > PX_KEPT_BUF_MAX ||
        u->content_encoding.cap > PX_KEPT_BUF_MAX || u->copy_source.cap > PX_KEPT_BUF_MAX) {
        ub_request_cleanup(u);
        ub_request_init(u);
    } else {
        ub_request_reset(u);
    }
    kept_reset(&px->up.head);
    kept_reset(&px->resp.head);
}

void px_recycle(struct px *px)
{
    struct proxy_worker *w = px->w; /* px is poisoned before the end */
    struct pl_worker *pw = w->handler_state;
    /* config_resolve may have decrypted a token into the store and failed
     * before id_set (px_free cleans only a set identity); emptied, as the
     * next config_resolve would, which the spare's identity is kept for
     * (px_uncleared) */
    size_t used = px->auth.id.store_len;
    s3w_wipe(px->auth.id.store, used < sizeof(px->auth.id.store) ? used : sizeof(px->auth.id.store));
    px->auth.id.store_len = 0;
    /* and a presigned URL's decoded security token, kept out of
     * px_zero_reused: verification's copy and the mapping's (its query) */
    used = px->auth.sv.auth.store_used;
    s3w_wipe(px->auth.sv.auth.store,
             used < sizeof(px->auth.sv.auth.store) ? used : sizeof(px->auth.sv.auth.store));
    s3map_result_wipe(&px->authz.map);
    px_kept_reset(px);
    if (!pw || w->stopping || pw->nspare_px >= PX_SPARES) {
        px_kept_free(px);
        free(px);
        return;
    }
    /* a use after px_free still shows; the kept buffers' pointers stay
     * readable, or LeakSanitizer would not see them held */
    ASAN_POISON_MEMORY_REGION(px, sizeof(*px));
    ASAN_UNPOISON_MEMORY_REGION(&px->body.q, sizeof(px->body.q));
    ASAN_UNPOISON_MEMORY_REGION(&px->up.req.target, sizeof(px->up.req.target));
    ASAN_UNPOISON_MEMORY_REGION(&px->up.req.url, sizeof(px->up.req.url));
    ASAN_UNPOISON_MEMORY_REGION(&px->up.req.content_encoding, sizeof(px->up.req.content_encoding));
    ASAN_UNPOISON_MEMORY_REGION(&px->up.req.copy_source, sizeof(px->up.req.copy_source));
    ASAN_UNPOISON_MEMORY_REGION(&px->up.head, sizeof(px->up.head));
    ASAN_UNPOISON_MEMORY_REGION(&px->resp.head, sizeof(px->resp.head));
    pw->spare_px[pw->nspare_px++] = px;
    if (pw->nspare_px > SPARES_MIN)
        proxy_worker_spares_grew(w);
}

/* A px from the worker's spares, or a new one; either way cleared but
 * for px_uncleared (a new one too: under many requests at once most come
 * from malloc, and calloc would clear, and fault in, all 60 KiB of each). */
struct px *px_alloc(struct proxy_worker *w)
{
    struct pl_worker *pw = w->handler_state;
    struct px *px;
    if (pw && pw->nspare_px > 0) {
        px = pw->spare_px[--pw->nspare_px];
        spares_taken(&pw->px_decay, pw->nspare_px);
        ASAN_UNPOISON_MEMORY_REGION(px, sizeof(*px));
        px_zero_reused(px);
    } else {
        if (!(px = malloc(sizeof(*px))))
            return NULL;
        if (w->metrics)
            metrics_bump(&w->metrics->allocs[METRICS_ALLOC_EXCHANGE], 1);
        px_zero_reused(px);
        px_first_init(px);
    }
    return px;
}

void pl_cfg_borrow(struct px *px)
{
    struct pl_worker *pw = px->w->handler_state;
    pw->cfg_borrowers++;
    px->cfg = pw->cfg;
    px->cfg_gen = pw->cfg_gen;
}

void pl_cfg_return(struct px *px)
{
    struct pl_worker *pw = px->w->handler_state;
    /* borrowed before the worker let its snapshot go (or the worker is
     * gone): the borrow became a reference of its own (cfg_let_go). By
     * generation, not by pointer: the same snapshot may come back. */
    if (pw && px->cfg_gen == pw->cfg_gen)
        pw->cfg_borrowers--;
    else
        config_unref(px->cfg);
}

/* Drops the worker's reference to its snapshot; the exchanges that
 * borrowed it get references of their own first, so it lives on until
 * the last of them ends (pl_cfg_return). A reload is rare: one count
 * update per exchange in flight. */
static void cfg_let_go(struct pl_worker *pw)
{
    for (; pw->cfg_borrowers > 0; pw->cfg_borrowers--)
        config_ref(pw->cfg);
    config_unref(pw->cfg);
    pw->cfg = NULL;
    pw->cfg_gen++;
}

/* ---- shared state and worker hooks ------------------------------------------------------------ */
int pl_shared_init(struct pl_shared *s, struct config *cfg, struct audit *audit)
{
    if (uv_mutex_init(&s->mu) != 0)
        return -1;
    s->current = cfg;
    s->audit = audit;
    s->metrics = NULL;
    s->ups = ups_new();
    if (!s->ups || ups_apply(s->ups, cfg, false) != 0)
        goto fail;
    /* the configured identities plus anonymous: far below this */
    s->ident = ident_limit_new(8192);
    if (!s->ident)
        goto fail;
    return 0;
fail:
    /* nothing left behind, nothing left pointing at what was freed: the
     * caller still holds cfg */
    ups_free(s->ups);
    s->ups = NULL;
    s->current = NULL;
    uv_mutex_destroy(&s->mu);
    return -1;
}

void pl_shared_set_config(struct pl_shared *s, struct config *cfg)
{
    /* upstreams new in cfg get their state entries before any request
     * can name them (main.c's reload has made them already) */
    ups_apply(s->ups, cfg, false);
    uv_mutex_lock(&s->mu);
    struct config *old = s->current;
    s->current = cfg;
    uv_mutex_unlock(&s->mu);
    config_unref(old);
}

void pl_shared_cleanup(struct pl_shared *s)
{
    config_unref(s->current);
    s->current = NULL;
    ident_limit_free(s->ident);
    s->ident = NULL;
    ups_free(s->ups);
    s->ups = NULL;
    uv_mutex_destroy(&s->mu);
}

/* The audit records and request log lines of a worker go out together,
 * PL_FLUSH_MS after the first of them (or when a batch is full): one
 * hand-over to the audit writer and one write(2) of log lines for many
 * requests, not one each. The check runs after every turn of the loop
 * and arms the timer; the timer does not keep the loop alive. */
#define PL_FLUSH_MS 10

static void on_flush_timer(uv_timer_t *t)
{
    struct pl_worker *pw = t->data;
    audit_batch_flush(pw->audit);
    proxy_log_flush();
}

static void on_audit_check(uv_check_t *h)
{
    struct pl_worker *pw = h->data;
    if (!uv_is_active((uv_handle_t *)pw->flush_timer) &&
        (audit_batch_pending(pw->audit) || proxy_log_pending()))
        uv_timer_start(pw->flush_timer, on_flush_timer, PL_FLUSH_MS, 0);
}

size_t pl_worker_trim_spares(struct proxy_worker *w)
{
    struct pl_worker *pw = w->handler_state;
    if (!pw)
        return 0;
    size_t excess = spares_tick(&pw->px_decay, pw->nspare_px);
    if (!excess)
        return pw->nspare_px;
    /* the bottom of the stack: the longest unused */
    for (size_t i = 0; i < excess; i++) {
        struct px *px = pw->spare_px[i];
        ASAN_UNPOISON_MEMORY_REGION(px, sizeof(*px));
        px_kept_free(px);
        free(px);
    }
    pw->nspare_px -= excess;
    memmove(pw->spare_px, pw->spare_px + excess, pw->nspare_px * sizeof(pw->spare_px[0]));
    return pw->nspare_px;
}

static void free_handle(uv_handle_t *h)
{
    free(h);
}

int pl_worker_init(struct proxy_worker *w)
{
    struct pl_worker *pw = calloc(1, sizeof(*pw));
    if (!pw)
        return -1;
    struct pl_shared *s = shared(w);
    uv_mutex_lock(&s->mu);
    pw->cfg = config_ref(s->current);
    uv_mutex_unlock(&s->mu);
    pw->v4a = sigv4a_key_cache_new(64);
    if (!pw->v4a) {
        config_unref(pw->cfg);
        free(pw);
        return -1;
    }
    sigv4_keycache_init(&pw->kc);
    sigv4_keycache_init(&pw->up_kc);
    s3w_buf_init(&pw->canon, SIGV4_MAX_CANONICAL);
    w->handler_state = pw;
    pw->audit = audit_batch_new(s->audit);
    uv_check_t *chk = malloc(sizeof(*chk));
    uv_timer_t *tm = malloc(sizeof(*tm));
    if (!pw->audit || !chk || !tm) {
        free(chk);
        free(tm);
        return -1; /* pl_worker_cleanup frees what was made */
    }
    uv_check_init(&w->loop, chk);
    chk->data = pw;
    uv_check_start(chk, on_audit_check);
    uv_unref((uv_handle_t *)chk); /* it must not keep the loop running */
    pw->audit_check = chk;
    uv_timer_init(&w->loop, tm);
    tm->data = pw;
    uv_unref((uv_handle_t *)tm);
    pw->flush_timer = tm;
    /* the worker's spares timer trims the spare exchanges too (before the
     * workers run: proxy_server_init calls this on its own thread) */
    w->srv->worker_trim = pl_worker_trim_spares;
    return up_worker_init(w, pw->cfg, w->srv->nworkers, shared(w)->ups);
}

void pl_worker_cleanup(struct proxy_worker *w)
{
    up_worker_cleanup(w);
    struct pl_worker *pw = w->handler_state;
    if (!pw)
        return;
    /* the worker's last records, before audit_close in main() */
    audit_batch_free(pw->audit);
    if (pw->audit_check)
        uv_close((uv_handle_t *)pw->audit_check, free_handle);
    if (pw->flush_timer)
        uv_close((uv_handle_t *)pw->flush_timer, free_handle);
    proxy_log_flush(); /* its last lines (on its thread, unless it never ran) */
    creds_cache_clear(&pw->creds); /* before main() frees the managers */
    sigv4_keycache_cleanup(&pw->kc);
    sigv4_keycache_cleanup(&pw->up_kc);
    s3w_buf_cleanup(&pw->canon);
    while (pw->nspare_px > 0) {
        struct px *px = pw->spare_px[--pw->nspare_px];
        ASAN_UNPOISON_MEMORY_REGION(px, sizeof(*px));
        px_kept_free(px);
        free(px);
    }
    sigv4a_key_cache_free(pw->v4a);
    cfg_let_go(pw); /* no exchange is left (proxy_worker_maybe_finish) */
    free(pw);
    w->handler_state = NULL;
}

void pl_worker_poke(struct proxy_worker *w)
{
    struct pl_worker *pw = w->handler_state;
    if (!pw)
        return;
    /* a credential manager may have published (ups_set_doorbell): the
     * replaced snapshot's secret goes now, not at the next request */
    creds_cache_sweep(&pw->creds);
    struct pl_shared *s = shared(w);
    uv_mutex_lock(&s->mu);
    struct config *cur = s->current;
    if (cur != pw->cfg) {
        config_ref(cur);
        uv_mutex_unlock(&s->mu);
        /* requests in flight finish on the snapshot they started with */
        cfg_let_go(pw);
        pw->cfg = cur;
        /* a new snapshot may hold new secrets: forget cached keys */
        sigv4_keycache_cleanup(&pw->kc);
        sigv4_keycache_init(&pw->kc);
        pw->warned_no_creds = false;
        up_worker_reconfigure(w, cur);
        return;
    }
    uv_mutex_unlock(&s->mu);
}
