/* tls.c - OpenSSL termination through a BIO of our own (see tls.h). */
#include "tls.h"

#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "bytes.h"
#include "log.h"

#define TLS_RAW_CAP (16 * 1024 + 512) /* one TLS record and change */

/* Where libuv lands ciphertext: one buffer per thread, not per connection
 * (an idle TLS connection held 16.5 KiB here). A read's bytes are copied
 * into the connection's read BIO before anything else runs on the thread
 * (tls_conn_on_read), and libuv reads one stream at a time. Ciphertext,
 * but for plain HTTP sent to the TLS port: wiped once answered. */
static _Thread_local char tls_raw[TLS_RAW_CAP];

struct tls_server {
    SSL_CTX *ctx;
    atomic_int refs;
};

struct tls_conn {
    SSL *ssl;               /* owns the BIO (conn_bio) */
    struct tls_server *srv;
    const struct tls_conn_io *io;
    void *ud;               /* the connection, passed back to io */
    /* ciphertext come but not yet taken by OpenSSL: in tls_raw during
     * tls_conn_on_read, else in `held` (NULL when none is left) */
    const char *in;
    size_t in_len;
    char *held;
    bool in_held;           /* `in` points into held */
    bool pumping;
    bool got_bytes;
};

/* ---- the connection's BIO -----------------------------------------------------
 * OpenSSL reads and writes ciphertext through a BIO of our own, not memory
 * BIOs: a memory BIO keeps the largest buffer it ever held for the
 * connection's life (an idle TLS connection that had downloaded 1 MiB held
 * 45 KiB more than one that had not), and costs a copy each way. What
 * OpenSSL writes goes straight to io->write_raw; what it reads comes from
 * where libuv put it (tls_raw), and what it has not taken when
 * tls_conn_on_read returns (the connection reads no plaintext for now:
 * backpressure) is kept in t->held, allocated to its size. */
static BIO_METHOD *conn_bio_method;
static pthread_once_t conn_bio_once = PTHREAD_ONCE_INIT;

static int conn_bio_write(BIO *b, const char *p, size_t n, size_t *written)
{
    struct tls_conn *t = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (t->io->write_raw(t->ud, p, n) != 0)
        return 0; /* the connection is closing: no retry */
    *written = n;
    return 1;
}

static int conn_bio_read(BIO *b, char *out, size_t n, size_t *got)
{
    struct tls_conn *t = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (t->in_len == 0) {
        BIO_set_retry_read(b);
        *got = 0;
        return 0;
    }
    size_t k = n < t->in_len ? n : t->in_len;
    memcpy(out, t->in, k);
    t->in += k;
    t->in_len -= k;
    *got = k;
    return 1;
}

static long conn_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)num;
    (void)ptr;
    struct tls_conn *t = BIO_get_data(b);
    switch (cmd) {
    case BIO_CTRL_FLUSH:
        return 1; /* every write went to the connection at once */
    case BIO_CTRL_PENDING:
        return t ? (long)t->in_len : 0;
    default:
        return 0;
    }
}

static int conn_bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static void conn_bio_method_make(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "s3warden conn");
    if (m && (BIO_meth_set_write_ex(m, conn_bio_write) != 1 ||
              BIO_meth_set_read_ex(m, conn_bio_read) != 1 ||
              BIO_meth_set_ctrl(m, conn_bio_ctrl) != 1 ||
              BIO_meth_set_create(m, conn_bio_create) != 1)) {
        BIO_meth_free(m);
        m = NULL;
    }
    conn_bio_method = m;
}

/* What OpenSSL has not taken of the bytes in tls_raw, kept for the next
 * pump; nothing kept once it has taken all. Returns false when out of
 * memory (the connection is then closed). */
static bool keep_unread(struct tls_conn *t)
{
    if (t->in_len == 0) {
        free(t->held);
        t->held = NULL;
        t->in = NULL;
        t->in_held = false;
        return true;
    }
    if (t->in_held)
        return true; /* kept already */
    char *h = malloc(t->in_len);
    if (!h)
        return false;
    memcpy(h, t->in, t->in_len);
    t->held = h;
    t->in = h;
    t->in_held = true;
    return true;
}

static void log_ssl_error(const char *what)
{
    char buf[256];
    unsigned long e = ERR_get_error();
    ERR_error_string_n(e, buf, sizeof(buf));
    proxy_log("ERROR", "tls: %s: %s", what, e ? buf : "unknown error");
    ERR_clear_error();
}

/* ---- OpenSSL's memory, wiped when freed (tls.h) ------------------------------- */
static void *wiping_malloc(size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    return malloc(n);
}

static void wiping_free(void *p, const char *file, int line)
{
    (void)file;
    (void)line;
    if (p)
        s3w_wipe(p, malloc_usable_size(p));
    free(p);
}

/* realloc(3) may move the block and free the old one unwiped: always
 * move, and wipe what is left behind */
static void *wiping_realloc(void *p, size_t n, const char *file, int line)
{
    if (!p)
        return wiping_malloc(n, file, line);
    if (n == 0) {
        wiping_free(p, file, line);
        return NULL;
    }
    size_t have = malloc_usable_size(p);
    if (n <= have)
        return p; /* fits where it is: nothing is left behind */
    void *q = malloc(n);
    if (!q)
        return NULL;
    memcpy(q, p, have);
    wiping_free(p, file, line);
    return q;
}

bool tls_wipe_freed_memory(void)
{
    return CRYPTO_set_mem_functions(wiping_malloc, wiping_realloc, wiping_free) == 1;
}

struct tls_server *tls_server_new(const char *cert_file, const char *key_file)
{
    pthread_once(&conn_bio_once, conn_bio_method_make);
    if (!conn_bio_method) {
        log_ssl_error("BIO_meth_new");
        return NULL;
    }
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        log_ssl_error("SSL_CTX_new");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
        log_ssl_error("loading the certificate");
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        log_ssl_error("loading the private key");
        SSL_CTX_free(ctx);
        return NULL;
    }
    struct tls_server *t = calloc(1, sizeof(*t));
    if (!t) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    t->ctx = ctx;
    atomic_init(&t->refs, 1);
    return t;
}

void tls_server_ref(struct tls_server *t)
{
    atomic_fetch_add(&t->refs, 1);
}

void tls_server_unref(struct tls_server *t)
{
    if (t && atomic_fetch_sub(&t->refs, 1) == 1) {
        SSL_CTX_free(t->ctx);
        free(t);
    }
}

struct tls_conn *tls_conn_new(struct tls_server *srv, const struct tls_conn_io *io, void *ud)
{
    struct tls_conn *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->ssl = SSL_new(srv->ctx);
    BIO *bio = BIO_new(conn_bio_method);
    if (!t->ssl || !bio) {
        BIO_free(bio);
        SSL_free(t->ssl);
        free(t);
        return NULL;
    }
    BIO_set_data(bio, t);
    SSL_set_bio(t->ssl, bio, bio); /* one reference, for both ways */
    SSL_set_accept_state(t->ssl);
    tls_server_ref(srv);
    t->srv = srv;
    t->io = io;
    t->ud = ud;
    return t;
}

void tls_conn_free(struct tls_conn *t)
{
    if (!t)
        return;
    SSL_free(t->ssl);
    tls_server_unref(t->srv);
    free(t->held);
    free(t);
}

void tls_conn_alloc(struct tls_conn *t, uv_buf_t *buf)
{
    (void)t;
    buf->base = tls_raw;
    buf->len = sizeof(tls_raw);
}

void tls_conn_pump(struct tls_conn *t)
{
    if (!t || t->pumping)
        return;
    t->pumping = true;
    for (;;) {
        uv_buf_t room = t->io->plain_room(t->ud); /* none when closing */
        if (room.len == 0)
            break;
        int n = SSL_read(t->ssl, room.base, room.len > INT_MAX ? INT_MAX : (int)room.len);
        if (n <= 0) {
            int e = SSL_get_error(t->ssl, n);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                break;
            /* SSL_ERROR_ZERO_RETURN (close_notify) is like EOF; anything
             * else is a handshake or record failure, the client's */
            ERR_clear_error();
            t->io->close(t->ud);
            break;
        }
        t->io->on_plain(t->ud, (size_t)n);
    }
    t->pumping = false;
}

void tls_conn_on_read(struct tls_conn *t, size_t n)
{
    /* A TLS connection starts with a record's content type (22, a
     * handshake) or, in an SSLv2-style hello, a byte with its top bit set;
     * an HTTP request starts with its method, upper-case letters. */
    if (!t->got_bytes && n > 0) {
        t->got_bytes = true;
        if (t->io->plaintext && tls_raw[0] >= 'A' && tls_raw[0] <= 'Z') {
            t->io->plaintext(t->ud);
            s3w_wipe(tls_raw, n); /* a request head: it may carry a session token */
            return;
        }
    }
    if (t->in_len) {
        /* bytes kept from before (a pump stopped for room): these follow */
        char *h = malloc(t->in_len + n);
        if (!h) {
            t->io->close(t->ud);
            return;
        }
        memcpy(h, t->in, t->in_len);
        memcpy(h + t->in_len, tls_raw, n);
        free(t->held);
        t->held = h;
        t->in = h;
        t->in_len += n;
        t->in_held = true;
    } else {
        t->in = tls_raw;
        t->in_len = n;
        t->in_held = false;
    }
    tls_conn_pump(t);
    if (!keep_unread(t))
        t->io->close(t->ud);
}

bool tls_conn_quiet(const struct tls_conn *t)
{
    return SSL_is_init_finished(t->ssl) && t->in_len == 0 && !SSL_has_pending(t->ssl);
}

int tls_conn_write(struct tls_conn *t, const void *p, size_t n)
{
    const char *s = p;
    while (n > 0) {
        int chunk = n > (1 << 20) ? (1 << 20) : (int)n;
        int w = SSL_write(t->ssl, s, chunk);
        if (w <= 0) {
            ERR_clear_error();
            t->io->close(t->ud);
            return UV_EPROTO;
        }
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

void tls_conn_shutdown(struct tls_conn *t)
{
    if (SSL_is_init_finished(t->ssl))
        SSL_shutdown(t->ssl);
    ERR_clear_error();
}

const char *tls_conn_version(const struct tls_conn *t)
{
    /* before the handshake, SSL_get_version names the method's highest
     * version: a connection that never spoke TLS has none */
    return SSL_is_init_finished(t->ssl) ? SSL_get_version(t->ssl) : NULL;
}

const char *tls_conn_cipher(const struct tls_conn *t)
{
    const SSL_CIPHER *c = t && t->ssl ? SSL_get_current_cipher(t->ssl) : NULL;
    return c ? SSL_CIPHER_get_name(c) : NULL;
}
