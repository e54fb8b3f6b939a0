/* h1client_tls.c - TLS toward the upstream for h1client.c: OpenSSL
 * through tls_bio.h's BIO, so the socket stays a plain libuv stream (as
 * tls.c does for clients): each record it writes goes into the gathering
 * write buffer. SNI and host-name (or address) verification, sessions
 * resumed across a pool's connections. */
#include "h1client_int.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

/* A record OpenSSL wrote, into the gathering buffer. */
static int to_wbuf(void *ud, const void *p, size_t n)
{
    struct h1c_conn *c = ud;
    return h1c__wbuf_append(c, &c->out[c->cur], p, n);
}

/* A TLS 1.3 server sends its session ticket after the handshake, so the
 * session is taken when an answer ended, for the pool's next connection. */
void h1c__keep_session(struct h1c_conn *c)
{
    struct h1c_pool *p = c->pool;
    if (!c->ssl)
        return;
    /* a copy: SSL_free of a connection closed without close_notify marks
     * its own session object not resumable (OpenSSL ssl_clear_bad_session) */
    SSL_SESSION *s = SSL_get0_session(c->ssl);
    SSL_SESSION *copy = s && SSL_SESSION_is_resumable(s) ? SSL_SESSION_dup(s) : NULL;
    if (copy) {
        SSL_SESSION_free(p->session);
        p->session = copy;
    }
}

void h1c__tls_cool(struct h1c_conn *c)
{
    /* between records with nothing kept (an idle connection should have
     * neither); OpenSSL declines too while it holds a record part */
    if (tls_bio_between_records(&c->bio) && SSL_free_buffers(c->ssl) == 1)
        h1c__count(c->pool, &c->pool->st.cooled, H1C_EV_COOLED);
}

/* Pulls plaintext out of TLS and parses it until there is none, the reader
 * paused, or c ended. false: c is gone. */
static bool pump(struct h1c_conn *c)
{
    char plain[16384]; /* a record's most (RFC 8446 5.1): one per SSL_read */
    while (!c->want_pause) {
        int n = SSL_read(c->ssl, plain, sizeof plain);
        if (n > 0) {
            if (!h1c__parse(c, plain, (size_t)n))
                return false;
            continue;
        }
        int e = SSL_get_error(c->ssl, n);
        ERR_clear_error();
        h1c__flush(c); /* key updates, alerts */
        if (e == SSL_ERROR_WANT_READ)
            return true;
        if (e == SSL_ERROR_ZERO_RETURN) {
            h1c__on_eof(c); /* close_notify: the end of the stream */
            return false;
        }
        h1c__conn_fail(c, H1C_E_TLS);
        return false;
    }
    return true;
}

bool h1c__tls_pump(struct h1c_conn *c)
{
    bool alive = pump(c);
    if (!tls_bio_keep(&c->bio) && alive) {
        h1c__conn_fail(c, H1C_E_NOMEM);
        return false;
    }
    return alive;
}

static bool is_ip_literal(const char *h)
{
    struct in6_addr a6;
    struct in_addr a4;
    return inet_pton(AF_INET, h, &a4) == 1 || inet_pton(AF_INET6, h, &a6) == 1;
}

int h1c__tls_start(struct h1c_conn *c)
{
    struct h1c_pool *p = c->pool;
    c->ssl = SSL_new(p->o.ssl_ctx);
    c->bio.write = to_wbuf;
    c->bio.ud = c;
    BIO *bio = tls_bio_new(&c->bio);
    if (!c->ssl || !bio) {
        BIO_free(bio);
        return H1C_E_NOMEM;
    }
    SSL_set_bio(c->ssl, bio, bio); /* one reference, for both ways */
    SSL_set_connect_state(c->ssl);
    bool ip = is_ip_literal(p->host);
    if (!ip)
        SSL_set_tlsext_host_name(c->ssl, p->host); /* RFC 6066: no SNI for addresses */
    if (p->o.tls_verify) {
        SSL_set_verify(c->ssl, SSL_VERIFY_PEER, NULL);
        X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);
        X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        if (ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, p->host) != 1
               : X509_VERIFY_PARAM_set1_host(vp, p->host, 0) != 1)
            return H1C_E_TLS;
    }
    if (p->session)
        SSL_set_session(c->ssl, p->session);
    c->state = C_HANDSHAKE;
    h1c__start_read(c);
    h1c__handshake_step(c);
    return 0;
}

void h1c__handshake_step(struct h1c_conn *c)
{
    int rc = SSL_do_handshake(c->ssl);
    h1c__flush(c);
    if (c->state == C_CLOSING)
        return;
    if (rc == 1) {
        if (SSL_session_reused(c->ssl))
            h1c__count(c->pool, &c->pool->st.tls_resumed, H1C_EV_TLS_RESUMED);
        h1c__send_head(c);
        /* application data may have come with the last handshake flight */
        if (c->state == C_BUSY)
            h1c__tls_pump(c);
        return;
    }
    int e = SSL_get_error(c->ssl, rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        ERR_clear_error();
        return;
    }
    if (c->req) {
        long v = SSL_get_verify_result(c->ssl);
        unsigned long le = ERR_peek_error();
        if (v != X509_V_OK)
            snprintf(c->req->detail, sizeof c->req->detail, "certificate verification: %s",
                     X509_verify_cert_error_string(v));
        else if (le)
            ERR_error_string_n(le, c->req->detail, sizeof c->req->detail);
    }
    ERR_clear_error();
    h1c__conn_fail(c, H1C_E_TLS);
}
