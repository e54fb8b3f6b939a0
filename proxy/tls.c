/* tls.c - OpenSSL termination through a BIO of our own (see tls.h). */
#include "tls.h"

#include <limits.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "bytes.h"
#include "log.h"
#include "regfile.h"
#include "tls_bio.h"

struct tls_server {
    SSL_CTX *ctx;
    atomic_int refs;
};

struct tls_conn {
    SSL *ssl;               /* owns the BIO over `bio` */
    struct tls_server *srv;
    const struct tls_conn_io *io;
    void *ud;               /* the connection, passed back to io */
    struct tls_bio bio;     /* its ciphertext (tls_bio.h) */
    bool pumping;
    bool got_bytes;
    bool eof_told;          /* io->eof has run: nothing more comes */
};

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

/* Where the name (8 bytes) is in an ALPN list, or NULL; NULL too for a
 * malformed list (an empty name, or one running past the end), which
 * OpenSSL checks before the callback: only a guard. */
static const unsigned char *alpn_find(const unsigned char *in, unsigned int inlen, const char *name)
{
    for (unsigned int i = 0; i < inlen;) {
        unsigned int n = in[i];
        if (n == 0 || n > inlen - i - 1)
            return NULL;
        if (n == 8 && memcmp(in + i + 1, name, 8) == 0)
            return in + i + 1;
        i += 1 + n;
    }
    return NULL;
}

/* ALPN (RFC 7301, tls.h): http/1.1 if the client's list has it, else
 * http/1.0 (the server's preference, as nginx chooses); a list with
 * neither is refused with the fatal no_application_protocol alert. */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    (void)ssl;
    (void)arg;
    const unsigned char *p = alpn_find(in, inlen, "http/1.1");
    if (!p)
        p = alpn_find(in, inlen, "http/1.0");
    if (!p)
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    *out = p;
    *outlen = 8;
    return SSL_TLSEXT_ERR_OK;
}

struct tls_server *tls_server_new(const char *cert_file, const char *key_file)
{
    /* OpenSSL would wait on a FIFO with no writer, on the reloading thread
     * (regfile.h) */
    const char *const files[2][2] = { { "certificate", cert_file }, { "private key", key_file } };
    for (int i = 0; i < 2; i++) {
        int rc = s3w_check_regular(files[i][1]);
        if (rc != 0) {
            proxy_log("ERROR", "tls: the %s %s: %s", files[i][0], files[i][1], s3w_regular_strerror(-rc));
            return NULL;
        }
    }
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        log_ssl_error("SSL_CTX_new");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
    /* TLS 1.2: forward-secret AEAD suites only (Mozilla's "intermediate"
     * list), not OpenSSL's default, which keeps CBC with SHA-1 (probe 23).
     * TLS 1.3's suites are all AEAD and stay OpenSSL's. */
    if (SSL_CTX_set_cipher_list(ctx, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                                     "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                                     "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305") != 1) {
        log_ssl_error("setting the TLS 1.2 cipher suites");
        SSL_CTX_free(ctx);
        return NULL;
    }
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
    t->bio.write = io->write_raw;
    t->bio.ud = ud;
    BIO *bio = tls_bio_new(&t->bio);
    if (!t->ssl || !bio) {
        BIO_free(bio);
        SSL_free(t->ssl);
        free(t);
        return NULL;
    }
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
    tls_bio_cleanup(&t->bio);
    free(t);
}

void tls_conn_alloc(struct tls_conn *t, uv_buf_t *buf)
{
    (void)t;
    size_t len;
    buf->base = tls_bio_landing(&len);
    buf->len = len;
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
            if (e == SSL_ERROR_ZERO_RETURN && t->io->eof && SSL_version(t->ssl) >= TLS1_3_VERSION) {
                ERR_clear_error();
                if (!t->eof_told) {
                    t->eof_told = true;
                    t->io->eof(t->ud);
                }
                break;
            }
            /* SSL_ERROR_ZERO_RETURN here is TLS 1.2's close_notify, which
             * ends the session; anything else is a handshake or record
             * failure, the client's */
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
        size_t cap;
        char *raw = tls_bio_landing(&cap);
        if (t->io->plaintext && raw[0] >= 'A' && raw[0] <= 'Z') {
            t->io->plaintext(t->ud);
            s3w_wipe(raw, n); /* a request head: it may carry a session token */
            return;
        }
    }
    if (!tls_bio_offer(&t->bio, n)) {
        t->io->close(t->ud);
        return;
    }
    tls_conn_pump(t);
    if (!tls_bio_keep(&t->bio))
        t->io->close(t->ud);
}

bool tls_conn_quiet(const struct tls_conn *t)
{
    return SSL_is_init_finished(t->ssl) && tls_bio_between_records(&t->bio) &&
           !SSL_has_pending(t->ssl);
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
