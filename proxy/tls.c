/* tls.c - OpenSSL termination over memory BIOs (see tls.h). */
#include "tls.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "log.h"
#include "proxy.h"

#define TLS_RAW_CAP (16 * 1024 + 512) /* one TLS record and change */

struct tls_server {
    SSL_CTX *ctx;
    atomic_int refs;
};

struct tls_conn {
    SSL *ssl;
    BIO *rbio, *wbio; /* owned by ssl */
    struct tls_server *srv;
    bool pumping;
    char raw[TLS_RAW_CAP];
};

/* Declared in server.c, used only by this file. */
int proxy_conn_write_raw(struct proxy_conn *c, const void *p, size_t n);
void proxy_conn_on_plain(struct proxy_conn *c, size_t n);

static void log_ssl_error(const char *what)
{
    char buf[256];
    unsigned long e = ERR_get_error();
    ERR_error_string_n(e, buf, sizeof(buf));
    proxy_log("ERROR", "tls: %s: %s", what, e ? buf : "unknown error");
    ERR_clear_error();
}

struct tls_server *tls_server_new(const char *cert_file, const char *key_file)
{
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

int tls_conn_new(struct proxy_conn *c, struct tls_server *srv)
{
    struct tls_conn *t = calloc(1, sizeof(*t));
    if (!t)
        return -1;
    t->ssl = SSL_new(srv->ctx);
    t->rbio = BIO_new(BIO_s_mem());
    t->wbio = BIO_new(BIO_s_mem());
    if (!t->ssl || !t->rbio || !t->wbio) {
        BIO_free(t->rbio);
        BIO_free(t->wbio);
        SSL_free(t->ssl);
        free(t);
        return -1;
    }
    SSL_set_bio(t->ssl, t->rbio, t->wbio);
    SSL_set_accept_state(t->ssl);
    tls_server_ref(srv);
    t->srv = srv;
    c->tls = t;
    return 0;
}

void tls_conn_free(struct tls_conn *t)
{
    if (!t)
        return;
    SSL_free(t->ssl);
    tls_server_unref(t->srv);
    free(t);
}

void tls_conn_alloc(struct proxy_conn *c, uv_buf_t *buf)
{
    buf->base = c->tls->raw;
    buf->len = sizeof(c->tls->raw);
}

static int flush_wbio(struct proxy_conn *c)
{
    char tmp[16 * 1024];
    int n;
    while ((n = BIO_read(c->tls->wbio, tmp, sizeof(tmp))) > 0) {
        int rc = proxy_conn_write_raw(c, tmp, (size_t)n);
        if (rc != 0)
            return rc;
    }
    return 0;
}

void tls_conn_pump(struct proxy_conn *c)
{
    struct tls_conn *t = c->tls;
    if (!t || t->pumping || c->closing)
        return;
    t->pumping = true;
    for (;;) {
        if (c->closing)
            break;
        size_t room = sizeof(c->in) - c->in_len;
        if (room == 0 || c->read_paused)
            break;
        int n = SSL_read(t->ssl, c->in + c->in_len, (int)room);
        if (n <= 0) {
            int e = SSL_get_error(t->ssl, n);
            flush_wbio(c); /* handshake records */
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                break;
            if (e == SSL_ERROR_ZERO_RETURN) {
                /* close_notify: like EOF */
                ERR_clear_error();
                proxy_conn_close(c);
                break;
            }
            ERR_clear_error(); /* handshake failures are the client's */
            proxy_conn_close(c);
            break;
        }
        c->in_len += (size_t)n;
        flush_wbio(c);
        proxy_conn_on_plain(c, (size_t)n);
    }
    t->pumping = false;
}

void tls_conn_on_read(struct proxy_conn *c, size_t n)
{
    if (BIO_write(c->tls->rbio, c->tls->raw, (int)n) != (int)n) {
        proxy_conn_close(c);
        return;
    }
    tls_conn_pump(c);
    if (!c->closing)
        flush_wbio(c);
}

int tls_conn_write(struct proxy_conn *c, const void *p, size_t n)
{
    const char *s = p;
    while (n > 0) {
        int chunk = n > (1 << 20) ? (1 << 20) : (int)n;
        int w = SSL_write(c->tls->ssl, s, chunk);
        if (w <= 0) {
            ERR_clear_error();
            proxy_conn_close(c);
            return UV_EPROTO;
        }
        s += w;
        n -= (size_t)w;
        int rc = flush_wbio(c);
        if (rc != 0)
            return rc;
    }
    return 0;
}

void tls_conn_shutdown(struct proxy_conn *c)
{
    if (SSL_is_init_finished(c->tls->ssl)) {
        SSL_shutdown(c->tls->ssl);
        flush_wbio(c);
    }
    ERR_clear_error();
}

const char *tls_conn_version(const struct tls_conn *t)
{
    return SSL_get_version(t->ssl);
}
