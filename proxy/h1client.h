/*
 * h1client.h - the data plane's HTTP/1.1 client toward the upstream store,
 * on a worker's libuv loop (no threads, no libcurl on the request path).
 *
 * A pool holds the connections of one worker to one origin (scheme, host,
 * port): idle ones are reused newest first and closed after keepalive_ms;
 * at most max_conns exist at once and requests beyond that wait in order,
 * each at most connect_timeout_ms (then H1C_E_BUSY).
 *
 * A request is a struct h1c_req the caller embeds and keeps alive until
 * on_done (or h1c_abort). The caller gives the whole request head as bytes,
 * then the body with h1c_send (the head leaves in one write with the body
 * bytes handed over in the same loop turn); the answer comes back through
 * the callbacks:
 *
 *   on_head(status, headers)  once, for the final (non-1xx) answer;
 *   on_body(bytes)            any number of times; return H1C_PAUSE to stop
 *                             reading the upstream until h1c_resume;
 *   on_drain()                the request body written so far left for the
 *                             socket (the caller may send more);
 *   on_done(err)              exactly once, last; 0 when the whole answer
 *                             arrived (an answer that came before the whole
 *                             body was sent included: that connection is
 *                             then closed, not reused).
 *
 * Framing is never guessed (RFC 9112 section 6; request smuggling): the
 * answer is parsed by h1resp.h, and an answer with both Content-Length and
 * Transfer-Encoding, two Content-Lengths, a bad chunk, a body on HEAD, 204
 * or 304, a 1xx (we never send Expect), or bytes after its end fails the
 * request with H1C_E_PROTOCOL and the connection is closed, never reused.
 *
 * Retry: a request of an idempotent method (GET, HEAD, PUT, DELETE,
 * OPTIONS: RFC 9110 section 9.2.2; a proxy must not retry others, RFC 9112
 * section 9.3.1 - a CreateMultipartUpload sent twice leaves an upload
 * behind) on a reused connection that fails before any answer byte
 * arrived and before any body byte was handed over by the caller is sent
 * again once, on a new connection (the upstream may have closed the idle
 * connection as we reused it). Anything else is reported, never replayed.
 *
 * TLS (when the pool's ssl_ctx is set): OpenSSL through memory BIOs, SNI and
 * host-name verification of `host` (unless verify is off), sessions resumed
 * across the pool's connections.
 */
#ifndef S3W_PROXY_H1CLIENT_H
#define S3W_PROXY_H1CLIENT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>
#include <uv.h>

#include "bytes.h"
#include "h1resp.h"

#define H1C_MAX_HEAD H1R_MAX_HEAD /* answer head bytes; S3 heads are < 8 KiB */
#define H1C_MAX_HEADERS H1R_MAX_HEADERS
#define H1C_PAUSE 1

enum {
    H1C_OK = 0,
    H1C_E_RESOLVE = -1,   /* host name did not resolve */
    H1C_E_CONNECT = -2,   /* TCP connect refused or failed */
    H1C_E_TLS = -3,       /* handshake or certificate verification failed */
    H1C_E_TIMEOUT = -4,   /* connect, first byte or idle timeout */
    H1C_E_PROTOCOL = -5,  /* answer not well framed (see above) */
    H1C_E_CLOSED = -6,    /* the upstream closed before the answer ended */
    H1C_E_IO = -7,        /* a socket read or write failed */
    H1C_E_NOMEM = -8,
    H1C_E_TOOBIG = -9,    /* answer head over H1C_MAX_HEAD / H1C_MAX_HEADERS */
    H1C_E_BUSY = -10,     /* waited connect_timeout_ms for a connection of the pool */
};

const char *h1c_strerror(int err);

/* What a pool counts into h1c_pool_opts.events, when given: a worker's
 * pools share one array, which /metrics reads from another thread (relaxed
 * atomics; the worker is the only writer). */
enum h1c_event {
    H1C_EV_OPENED = 0,      /* a connection attempt begun (failed ones too) */
    H1C_EV_REUSED,          /* a request sent on a kept-alive connection */
    H1C_EV_RETRIED,         /* a request sent again on a fresh connection: the
                             * reused one failed before any answer byte */
    H1C_EV_PROTOCOL_CLOSED, /* closed for an answer that broke HTTP/1.1
                             * framing or the head cap, or for bytes
                             * nobody asked for */
    H1C_EV_TLS_RESUMED,     /* a TLS handshake that resumed a session */
    H1C_EV_COOLED,          /* an idle TLS connection gave back OpenSSL's
                             * record buffers (H1C_COOL_MS) */
    H1C_NEVENTS
};

/* What a pool keeps up to date in h1c_pool_opts.gauges, when given, by
 * adding and taking away (uint64_t arithmetic that wraps: several pools of
 * one worker may share the array, and its sum over workers is the count). */
enum h1c_gauge {
    H1C_GAUGE_OPEN = 0, /* connections open or being opened, busy and idle */
    H1C_GAUGE_IDLE,     /* kept-alive connections waiting for a request */
    H1C_NGAUGES
};

struct h1c_pool_opts {
    const char *host;        /* name or address; also SNI and verified name */
    uint16_t port;
    SSL_CTX *ssl_ctx;        /* NULL: plain HTTP; else kept referenced */
    bool tls_verify;
    unsigned max_conns;      /* open at once (busy + idle), >= 1 */
    uint32_t connect_timeout_ms;
    uint32_t first_byte_timeout_ms; /* from the end of the request to the answer */
    uint32_t idle_timeout_ms;       /* between answer bytes */
    uint32_t keepalive_ms;          /* idle connection kept this long */
    _Atomic uint64_t *events;       /* [H1C_NEVENTS], or NULL */
    _Atomic uint64_t *gauges;       /* [H1C_NGAUGES], or NULL */
};

struct h1c_conn;
struct h1c_pool;

struct h1c_req;
struct h1c_callbacks {
    int (*on_head)(struct h1c_req *r, int status, const struct s3w_header *h, size_t n);
    int (*on_body)(struct h1c_req *r, const char *p, size_t n);
    void (*on_drain)(struct h1c_req *r);
    void (*on_done)(struct h1c_req *r, int err);
};

struct h1c_req {
    /* set by the caller before h1c_start */
    const struct h1c_callbacks *cb;
    void *ud;
    struct s3w_slice head;   /* request line + headers + CRLF; valid until on_done */
    uint64_t body_len;       /* bytes of body the caller will h1c_send */
    bool is_head;            /* HEAD: the answer has no body whatever it says */
    /* private */
    struct h1c_pool *pool;
    struct h1c_conn *conn;
    struct h1c_req *next_waiting;
    uint64_t body_given;     /* bytes handed to h1c_send */
    uint64_t wait_since;     /* queued for a connection at (uv_now) */
    bool reused, retried, got_bytes, head_done;
    bool idempotent;         /* its method (the head's first word) may be sent twice */
    bool takes_body;         /* a connection holds the head: body may be sent */
    int status;
    char detail[128]; /* after an error: what failed (errno text, certificate
                       * problem), for the log; never request data */
};

/* Creates a pool on loop. NULL on allocation failure. */
struct h1c_pool *h1c_pool_new(uv_loop_t *loop, const struct h1c_pool_opts *o);
/* Closes idle connections at once and the busy ones as their requests end;
 * frees the pool when the last one closed (run the loop afterwards). No
 * request may be started afterwards. */
void h1c_pool_close(struct h1c_pool *p);

/* Starts r. Returns 0 (the callbacks follow, never inside h1c_start) or a
 * negative H1C_E_* when it failed at once (then no callback runs). Body
 * bytes may be sent once the connection took the head: when h1c_takes_body
 * is true after h1c_start (an idle connection took r), else from the first
 * on_drain on. */
int h1c_start(struct h1c_pool *p, struct h1c_req *r);

/* A connection holds r's head: h1c_send may be called. */
bool h1c_takes_body(const struct h1c_req *r);

/* Hands n body bytes to the connection (copied). The total over all calls
 * must not pass r->body_len. Returns 0, or a negative H1C_E_* when the
 * request failed (on_done has run or runs next: do not touch r after an
 * error other than H1C_E_CLOSED before the first on_drain). */
int h1c_send(struct h1c_req *r, const void *p, size_t n);

/* Body bytes handed over but not yet written to the socket. */
size_t h1c_pending(const struct h1c_req *r);

/* Resumes reading the answer after on_body returned H1C_PAUSE (the rest of
 * the read that was being parsed is still delivered after the pause: at
 * most one read buffer, 64 KiB). */
void h1c_resume(struct h1c_req *r);

/* Forgets r: no callback runs for it afterwards; its connection is closed
 * (its state toward the upstream is unknown). */
void h1c_abort(struct h1c_req *r);

/* Pool counters, for metrics and tests. */
struct h1c_stats {
    uint64_t connects, reuses, retries, closed_protocol, tls_resumed;
    uint64_t wait_timeouts; /* requests that waited too long for a connection */
    uint64_t writes; /* write calls toward the upstream */
    uint64_t cooled; /* idle TLS connections that gave back their record buffers */
    unsigned open, idle, waiting;
};
void h1c_pool_stats(const struct h1c_pool *p, struct h1c_stats *s);

#endif
