/*
 * proxy.h - the server: worker loops, listeners, connections, and the
 * contract between a connection and the request handler (pipeline.c).
 *
 * Threads: one libuv loop per worker, each with its own SO_REUSEPORT
 * listener, its own curl multi handle and its own connections. Nothing on
 * the request path is shared between workers except the read-only config
 * snapshot (reference counted) and the audit queue.
 *
 * Connection lifetime: a struct proxy_conn embeds its uv handles and the HTTP
 * parser; it is freed only from the close callback of the last of its
 * handles (libuv: memory of a handle may be released only in or after its
 * close callback). Its read buffer (64 KiB) and the store its request head
 * is parsed into (about 36 KiB) are its own only while a request is in
 * progress or bytes are buffered: an idle keep-alive connection gives both
 * back to its worker, and one whose head has partly come the read buffer
 * (conn.c), so ten thousand of them cost little.
 */
#ifndef S3W_PROXY_H
#define S3W_PROXY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <uv.h>

#include "bytes.h"
#include "http.h"
#include "addr_limit.h"
#include "spares.h"

struct proxy_conn;
struct conn_bufs;
struct conn_heads;
struct proxy_worker;
struct proxy_server;
struct tls_server;
struct tls_conn;
struct metrics_shard;

/* ---- settings (from the config file, with defaults) ------------------------ */
struct proxy_settings {
    char listen_addr[64];       /* "127.0.0.1" */
    int port;                   /* 0 = ephemeral (tests) */
    int workers;                /* 0 = number of cores */
    uint64_t header_timeout_ms; /* first byte .. end of the request head */
    uint64_t idle_timeout_ms;   /* keep-alive idle, and body idle */
    size_t max_connections;     /* whole server; 0 = unlimited */
    /* from one source address (an IPv6 /64) at once; 0 = no cap
     * (addr_limit.h) */
    uint32_t max_connections_per_address;
    /* request head cap (config limits.max_header_bytes): over it -> 431.
     * The parser's own buffer (HTTP_MAX_HEAD, 32 KiB) bounds it from above
     * whatever is configured. */
    size_t max_header_bytes;
    /* A response the client does not read: no write progress for this long
     * ends the exchange and closes the connection (frees the upstream
     * transfer behind it). 0 = never. */
    uint64_t send_timeout_ms;
    /* A request body that arrives slower than this many bytes a second,
     * averaged over each body_rate_window_ms while s3warden reads it (not
     * while it holds the client back), is answered 400 RequestTimeout and
     * the connection closed. 0 = no minimum. */
    uint32_t min_body_rate;
    uint64_t body_rate_window_ms;
    /* one socket, without SO_REUSEPORT (the admin listener: a second
     * process of the same user must fail to bind, not share the port) */
    bool exclusive;
    /* at max_connections, a connection whose head has begun but not
     * ended may be closed to take a new one, as an idle one is, the one
     * waiting longest first (the admin listener: a liveness probe is not
     * kept out by clients that trickle heads; the S3 listener keeps them,
     * bounded by header_timeout_ms and max_connections_per_address) */
    bool evict_unfinished_heads;
    /* TLS (empty = plain HTTP) */
    char tls_cert[512];
    char tls_key[512];
};

void proxy_settings_defaults(struct proxy_settings *s);

/* ---- the request handler ---------------------------------------------------- */
/* Callbacks the connection makes into the handler. All run on the
 * connection's worker loop. */
struct proxy_handler {
    /* A request head is complete (c->req). The handler answers with
     * proxy_conn_respond(), or starts the body with proxy_conn_body_start()
     * and streams a response with proxy_conn_write*(). */
    void (*on_head)(struct proxy_conn *c);
    /* Body bytes (already de-chunked). Return non-zero to refuse them
     * (the connection is then closed). */
    int (*on_body)(struct proxy_conn *c, const char *p, size_t n);
    /* The whole request body arrived. */
    void (*on_body_end)(struct proxy_conn *c);
    /* Everything written so far reached the socket (out_pending went from
     * above the low-water mark to below it). */
    void (*on_drain)(struct proxy_conn *c);
    /* The connection is going away while an exchange is active: drop every
     * reference to it now (abort upstream). After this, no more callbacks. */
    void (*on_abort)(struct proxy_conn *c);
    /* The server answered a request itself, before any head reached the
     * handler (a malformed request, plain HTTP on a TLS listener): status,
     * S3 error code and request id, for its record. Optional. */
    void (*on_refused)(struct proxy_conn *c, const char *request_id, int status, const char *code);
};

/* ---- connection ------------------------------------------------------------- */
#define PROXY_IN_CAP (64 * 1024)
#define PROXY_OUT_HIGH (256 * 1024) /* pause producers above this */
#define PROXY_OUT_LOW (64 * 1024)
/* Writes handed to the socket and not yet done above which no further
 * pipelined request is parsed (with PROXY_OUT_HIGH: a client that sends
 * requests and never reads their answers is not read from either), and
 * below which parsing resumes. */
#define PROXY_PIPELINE_HIGH 32
#define PROXY_PIPELINE_LOW 8

enum proxy_conn_phase {
    PC_WAIT_HEAD = 0, /* reading a request head */
    PC_HANDLING,      /* head given to the handler, body not started */
    PC_BODY,          /* body being read */
    PC_BODY_DONE,     /* body complete, response still going */
};

struct proxy_conn {
    uv_tcp_t tcp; /* first: container_of from the stream */
    uv_timer_t timer;
    uint64_t deadline, timer_at; /* the timer's (conn_timer_set): loop times */
    uv_timer_t send_timer;   /* settings.send_timeout_ms while out_pending > 0 */
    uv_shutdown_t shutdown_req;
    struct proxy_worker *w;
    struct proxy_conn *prev, *next; /* worker's list */
    /* the worker's idle list (conn.c): waiting for a head, nothing of it
     * seen; the longest idle is the first to go at max_connections */
    struct proxy_conn *idle_prev, *idle_next;
    bool idle_listed;
    bool tls_bytes; /* a TLS handshake or record under way: bytes read that
                     * gave no plaintext yet (conn_tls_settle) */
    int open_handles;
    bool closing;
    bool close_after_write;  /* close once out_pending reaches 0 */
    bool reading;            /* uv_read_start active */
    bool read_paused;        /* the handler asked to stop (backpressure) */
    bool eof;                /* client sent FIN */
    bool response_done;      /* proxy_conn_finish called for this request */
    bool in_parse;           /* re-entrancy guard: parse loop on the stack */
    bool head_seen_bytes;    /* some bytes of the current head arrived */
    bool response_started;   /* bytes of the current response were written */
    bool lingering;          /* FIN sent, draining the client before close */
    bool drain_wanted;       /* out_pending passed the high-water mark */
    bool head_blocked;       /* no pipelined head parsed: answers not read */
    bool close_announced;    /* "Connection: close" sent: close after it */
    bool rate_reset;         /* reading was held back: restart the rate window */
    bool out_wipe;           /* a local answer is being written
                                (proxy_conn_respond): what of it is queued is
                                wiped when freed (an STS answer's keys, an
                                error's echoed session token) */
    enum proxy_conn_phase phase;
    struct http_parser hp;
    struct http_request req;
    /* lent by the worker (conn_int.h): the read buffer while bytes are to
     * be read or are buffered, in being bufs->in, of PROXY_IN_CAP bytes; the
     * store the head is parsed into from a request's first byte to the end
     * of its exchange. NULL when idle. */
    struct conn_bufs *bufs;
    struct conn_heads *heads;
    char *in;
    size_t in_len;
    size_t out_pending;      /* bytes handed to uv_write, not yet written */
    size_t writes_pending;   /* uv_write requests not yet done */
    uint64_t send_progress_ms; /* loop time of the last write progress */
    uint64_t rate_mark_ms, rate_mark_bytes; /* body rate window start */
    /* Why the server ends the exchange, for the handler's on_abort (audit):
     * an S3 error code and the status answered ("RequestTimeout", 400), or
     * NULL and 0 when the client went away. */
    const char *abort_code;
    int abort_status;
    uint64_t bytes_in, bytes_out;
    uint64_t mark_in, mark_out; /* counters when the current request began */
    uint64_t requests;       /* served on this connection */
    struct tls_conn *tls;    /* NULL for plain HTTP */
    char peer_ip[64];
    struct addr_key addr_key; /* what it counts against (addr_limit.h) */
    /* refused at max_connections_per_address: out of srv->nconns, and
     * lingering among the worker's refused_lingering */
    bool refused, refused_lingers;
    void *ex;                /* the handler's per-request state */
};

/* Writes bytes (copied). Returns 0 or a negative uv error; on error the
 * connection is closing. */
int proxy_conn_write(struct proxy_conn *c, const void *p, size_t n);
/* The same for several pieces, sent as one write when the socket takes
 * them (a response head with its first body bytes: one system call). */
int proxy_conn_writev(struct proxy_conn *c, const uv_buf_t *v, size_t nv);

/* Sends a complete local response (head + body in one buffer) and ends the
 * exchange: the connection continues with the next pipelined request, or
 * closes if `close` is set, the client asked to, or the request body was not
 * (fully) read. */
void proxy_conn_respond(struct proxy_conn *c, const void *resp, size_t n,
                        bool close);

/* Starts reading the request body: sends "100 Continue" first when the client
 * asked for it (RFC 9110 10.1.1: only once the request is accepted). */
void proxy_conn_body_start(struct proxy_conn *c);

/* The response is complete (every byte given to proxy_conn_write). */
void proxy_conn_finish(struct proxy_conn *c, bool close);

/* Backpressure: stop / restart reading the client. */
void proxy_conn_pause_read(struct proxy_conn *c);
void proxy_conn_resume_read(struct proxy_conn *c);

/* Closes now (aborting the exchange through on_abort). */
void proxy_conn_close(struct proxy_conn *c);
/* The same for a reason of the server's: the exchange's audit record gets
 * errorCode `code` (ClientClosed is the client's leaving). */
void proxy_conn_cut(struct proxy_conn *c, const char *code);

/* For a handler that streams a response head: whether the connection will
 * close after this response (the client asked to, its body was not read
 * whole, it half-closed, or the server is stopping). A true answer is
 * remembered: the head must then say "Connection: close" and the
 * connection closes after the response. proxy_conn_respond() does this by
 * itself; responses given to it carry no Connection header. */
bool proxy_conn_announce_close(struct proxy_conn *c);

/* The connection closes after the current response, whatever the client
 * asked: what follows the request's head cannot be framed (a body sent
 * without a length), so nothing more on it is read as a request. */
void proxy_conn_close_after(struct proxy_conn *c);

/* Whether the request arrived over TLS, and its protocol version name
 * ("TLSv1.3"), or NULL. */
const char *proxy_conn_tls_version(const struct proxy_conn *c);
const char *proxy_conn_tls_cipher(const struct proxy_conn *c);

/* ---- workers and server ----------------------------------------------------- */
/* Spares of one kind (conn_bufs.c), the most recently given back first: at
 * most SPARES_MAX, freed down to SPARES_MIN by proxy_worker_trim_spares
 * (spares.h). */
struct conn_spares {
    void *top; /* each spare begins with its link to the next */
    size_t n;
    struct spares_decay decay;
};

struct proxy_worker {
    uv_loop_t loop;
    uv_tcp_t listener;
    uv_async_t wake;        /* stop / reload notifications */
    uv_timer_t stop_timer;  /* graceful stop deadline */
    uv_timer_t spares_timer; /* trims the spares; runs only while some
                              * lie above SPARES_MIN (proxy_worker_spares_grew) */
    uv_thread_t thread;
    struct proxy_server *srv;
    int index;
    bool listening;
    bool stopping;
    bool cleaned;
    size_t nconns;
    struct proxy_conn *conns;
    struct proxy_conn *idle_newest, *idle_oldest; /* the idle list */
    size_t nidle;           /* in it */
    /* For other workers at max_connections (conn_room.c): nidle as they
     * may read it, and the evictions they have asked of this worker
     * (never more than nidle_seen when asked; answered on its wake) */
    atomic_size_t nidle_seen;
    atomic_size_t evict_asked;
    bool wake_closed;       /* under srv->wake_mu: asks no longer sent */
    /* read buffers and head stores given back by connections (conn_bufs.c) */
    struct conn_spares spare_bufs, spare_heads;
    uint8_t rid_random[256]; /* request ids to come, 8 bytes each */
    unsigned rid_left;       /* bytes of it not used yet (0: draw again) */
    void *up;               /* upstream.c state (curl multi) */
    /* refusals still lingering (bounded): max_connections ones (server.c)
     * and max_connections_per_address ones (conn.c) */
    size_t refused_lingering;
    void *handler_state;    /* pipeline state per worker */
    struct metrics_shard *metrics; /* this worker's counters; NULL = none */
};

struct proxy_server {
    struct proxy_settings settings;
    /* held while this process listens on settings' address and port
     * (listen_lock in server.c); -1 none */
    int listen_lock_fd;
    const struct proxy_handler *handler;
    void *handler_ud;       /* shared, read-only from workers */
    struct proxy_worker *workers;
    int nworkers;
    atomic_int stop;        /* 1 = graceful stop requested */
    atomic_size_t nconns;   /* across workers, for max_connections */
    uv_mutex_t wake_mu;     /* a worker's wake, sent by another worker, and
                             * its closing (proxy_worker.wake_closed) */
    /* max_connections refusals not yet logged, and when the last WARN line
     * was written (uv_hrtime ms; one line per interval across workers) */
    atomic_uint_fast64_t refused_unlogged;
    atomic_uint_fast64_t refused_log_ms;
    /* the same for max_connections_per_address refusals, and their table
     * (NULL: no cap) */
    atomic_uint_fast64_t addr_refused_unlogged;
    atomic_uint_fast64_t addr_refused_log_ms;
    struct addr_limit *addr_limit;
    uint64_t stop_deadline_ms;
    struct tls_server *tls; /* guarded by tls_mu once workers run */
    uv_mutex_t tls_mu;
    char host_id[64];
    /* set after binding: the actual port (when settings.port was 0) */
    int bound_port;
    int (*worker_init)(struct proxy_worker *w);   /* optional hooks */
    void (*worker_cleanup)(struct proxy_worker *w);
    /* called on each worker loop when proxy_server_poke is called */
    void (*worker_poke)(struct proxy_worker *w);
    /* the handler's own spares, at each tick of the worker's spares timer:
     * trims them (spares.h) and returns how many it still holds (the
     * pipeline's pl_worker_init installs it) */
    size_t (*worker_trim)(struct proxy_worker *w);
};

/* Binds the listeners (one socket per worker, SO_REUSEPORT) and prepares
 * the loops. Returns 0 or a negative errno; errors are printed. */
int proxy_server_init(struct proxy_server *srv,
                      const struct proxy_settings *settings,
                      const struct proxy_handler *handler, void *handler_ud);

/* Starts one thread per worker. */
int proxy_server_start(struct proxy_server *srv);

/* Waits for every worker thread to end (after proxy_server_stop). */
void proxy_server_wait(struct proxy_server *srv);

/* Asks every worker to stop accepting and to close idle connections; busy
 * ones finish their request or are closed at `deadline_ms` from now.
 * Async-signal-safe? No: call it from a normal thread. */
void proxy_server_stop(struct proxy_server *srv, uint64_t deadline_ms);

/* Wakes every worker so it runs srv->worker_poke (reload, reopen). */
void proxy_server_poke(struct proxy_server *srv);

/* For a handler that keeps spares: they now number more than SPARES_MIN,
 * so the worker's spares timer runs (an idle worker with no more than
 * SPARES_MIN of each has no timer to wake it). On the worker's thread. */
void proxy_worker_spares_grew(struct proxy_worker *w);

void proxy_server_cleanup(struct proxy_server *srv);

/* Replaces the TLS context for new connections (SIGHUP reload); takes over
 * the caller's reference. Connections keep the context they started with. */
void proxy_server_set_tls(struct proxy_server *srv, struct tls_server *t);

/* A fresh request id (16 upper-case hex, like S3's) into out[17]: 64
 * random bits, so that the ids a caller sees (in its errors) tell nothing of
 * how many requests others sent, as a worker's counter did. Worker thread
 * only. */
void proxy_worker_request_id(struct proxy_worker *w, char out[17]);

#endif
