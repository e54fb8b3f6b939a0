/*
 * h1client_int.h - private to h1client.c and h1client_tls.c: a pool's and
 * a connection's state, and the steps each file calls in the other.
 */
#ifndef S3W_PROXY_H1CLIENT_INT_H
#define S3W_PROXY_H1CLIENT_INT_H

#include "h1client.h"
#include "tls_bio.h"

#define H1C_READ_BUF (64 * 1024) /* the thread's landing for plain reads */
#define H1C_WBUF (16 * 1024)     /* a write buffer's first size */
#define H1C_COOL_MS 1000         /* idle this long, a TLS connection's record buffers go */
#define H1C_ADDR_TTL_MS 30000         /* a resolved name is reused this long */

enum conn_state { C_RESOLVE, C_CONNECT, C_HANDSHAKE, C_BUSY, C_IDLE, C_CLOSING };

struct wbuf {
    char *ptr;
    size_t len, cap;
};

/* Spare blocks of one size a pool lends its busy connections (an answer
 * head's storage, write buffers): an idle pooled connection holds none,
 * and a busy one takes them without a malloc. Linked through their first
 * bytes. */
struct h1c_stash {
    void *top;
    unsigned n;
    size_t size; /* every block's */
};

struct h1c_conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_idle_t gather;  /* flushes a held head when the loop turns */
    uint64_t deadline; /* loop time the state's timeout ends at; 0: none */
    uint64_t timer_at; /* loop time the uv timer fires at, when active */
    uv_connect_t connect_req;
    uv_getaddrinfo_t gai;
    uv_write_t wreq;
    struct h1c_pool *pool;
    struct h1c_conn *next; /* idle list, newest first */
    enum conn_state state;
    int handles; /* open uv handles, freed at 0 */
    struct h1c_req *req;
    struct h1resp resp;
    bool reading, want_pause, in_cb, doomed, sent_all, resolving;
    bool cooling;   /* idle over TLS: the next deadline releases its record buffers */
    int doom_err;   /* why a callback's call failed the connection */
    /* writes */
    struct wbuf out[2];
    int cur;        /* the buffer that gathers */
    bool writing;   /* out[!cur] is in flight */
    bool holding;   /* a body request's head waits: its last byte or on_gather */
    char *head;     /* H1R_MAX_HEAD from the pool's stash while a head comes */
    /* TLS */
    SSL *ssl;       /* owns the BIO over `bio` */
    struct tls_bio bio; /* its ciphertext (tls_bio.h) */
};

struct h1c_pool {
    uv_loop_t *loop;
    struct h1c_pool_opts o;
    char *host;
    SSL_SESSION *session;
    struct h1c_conn *idle;
    unsigned nidle, nopen;
    struct h1c_req *wait_head, *wait_tail;
    unsigned nwaiting;
    uv_timer_t wait_timer;    /* the oldest waiting request's bound */
    bool wait_timer_open;
    bool closing;
    /* resolved address cache */
    struct sockaddr_storage addr;
    bool have_addr, numeric;
    uint64_t addr_at;
    struct h1c_stats st;
    struct h1c_stash heads, wbufs; /* H1R_MAX_HEAD and H1C_WBUF blocks */
    struct h1c_req *starting; /* inside h1c_start: its failure is returned */
    int start_err;
};

/* One more of an event: in the pool's own figures (h1c_pool_stats) and in
 * the shared array the pool was given (metrics.h's metrics_bump, which this
 * client does not depend on: one writer, no locked instruction). */
static inline void h1c__count(struct h1c_pool *p, uint64_t *stat, enum h1c_event e)
{
    (*stat)++;
    if (p->o.events)
        atomic_store_explicit(&p->o.events[e],
                              atomic_load_explicit(&p->o.events[e], memory_order_relaxed) + 1,
                              memory_order_relaxed);
}

/* A gauge of the shared array moved by delta (+1 or -1), beside the
 * pool's own nopen and nidle. */
static inline void h1c__gauge(struct h1c_pool *p, enum h1c_gauge g, int delta)
{
    if (p->o.gauges)
        atomic_store_explicit(&p->o.gauges[g],
                              atomic_load_explicit(&p->o.gauges[g], memory_order_relaxed) +
                                  (uint64_t)(int64_t)delta,
                              memory_order_relaxed);
}

/* h1client.c */
/* Appends to a connection's write buffer, growing it. 0 or H1C_E_NOMEM. */
int h1c__wbuf_append(struct h1c_conn *c, struct wbuf *b, const void *p, size_t n);
/* The connection's timeout in ms from now (0: none), on its one lazy timer. */
void h1c__arm(struct h1c_conn *c, uint32_t ms);
/* on_done, except inside h1c_start, whose caller gets the error instead. */
void h1c__req_done(struct h1c_pool *p, struct h1c_req *r, int err);
/* r on an idle connection (unless fresh_only), a new one, or queued. */
void h1c__start_on(struct h1c_pool *p, struct h1c_req *r, bool fresh_only);
/* Queued requests onto connections that became free. */
void h1c__dispatch_waiting(struct h1c_pool *p);
/* Starts the wait timer for the oldest waiting request, unless it runs. */
void h1c__wait_timer_arm(struct h1c_pool *p);
extern const struct h1resp_cb h1c__resp_cb; /* the answer parser's callbacks */
bool h1c__parse(struct h1c_conn *c, const char *p, size_t n);
void h1c__flush(struct h1c_conn *c);
void h1c__on_eof(struct h1c_conn *c);
void h1c__send_head(struct h1c_conn *c);
void h1c__start_read(struct h1c_conn *c);

/* h1client_conn.c */
/* A block from s, or malloc'd; NULL when out of memory. */
void *h1c__stash_take(struct h1c_stash *s);
/* b back to s: not to be touched until taken again (ASan says so). */
void h1c__stash_give(struct h1c_stash *s, void *b);
/* A connection that goes idle or closes lends back what it holds. */
void h1c__conn_lend_back(struct h1c_conn *c);
/* A connection of p, not yet opened; NULL when out of memory. */
struct h1c_conn *h1c__conn_new(struct h1c_pool *p);
/* Resolves (or takes the cached address) and connects; the head goes on
 * connected (after the TLS handshake). */
void h1c__conn_open(struct h1c_conn *c);
/* Closes c (at once, or when the callback it is in returns). */
void h1c__conn_close(struct h1c_conn *c);
/* After a callback that failed or closed c: c ends, and its request learns why. */
void h1c__finish_doomed(struct h1c_conn *c);
/* c failed with err: its request is retried (h1client.h's rule) or ended. */
void h1c__conn_fail(struct h1c_conn *c, int err);

/* h1client_tls.c */
int h1c__tls_start(struct h1c_conn *c);
void h1c__handshake_step(struct h1c_conn *c);
/* Plaintext out of TLS, parsed, until none, a pause, or c ended (false);
 * then keeps the ciphertext OpenSSL has not read (tls_bio_keep). */
bool h1c__tls_pump(struct h1c_conn *c);
void h1c__keep_session(struct h1c_conn *c);
/* An idle connection unused for H1C_COOL_MS gives back OpenSSL's record
 * buffers (33 KiB; taken again if it is reused). */
void h1c__tls_cool(struct h1c_conn *c);

#endif
