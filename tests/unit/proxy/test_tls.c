/*
 * test_tls.c - the TLS layer (tls.h) on its own, through its upcall table:
 * a fake connection (an input buffer, a pause flag, a closing flag, the
 * ciphertext it was asked to send) and a real OpenSSL client over memory
 * BIOs, against a self-signed certificate made at start-up. No sockets and
 * no server: what tls.c needs from a connection is exactly struct
 * tls_conn_io.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "server_fixture.h"
#include "tls.h"

static struct fx_cert cert; /* made for the run, see make_cert */

/* ---- the fake connection --------------------------------------------------- */

struct fake_conn {
    char in[64];           /* small: backpressure is easy to reach */
    size_t in_len;
    bool paused;
    bool closing;
    int closes;
    int plain_calls;
    int plaintext_calls;
    int eofs;
    char wire[64 * 1024];  /* ciphertext the layer sent to the "socket" */
    size_t wire_len;
};

static int fake_write_raw(void *ud, const void *p, size_t n)
{
    struct fake_conn *c = ud;
    if (c->closing)
        return -125; /* like UV_ECANCELED */
    assert_true(c->wire_len + n <= sizeof c->wire);
    memcpy(c->wire + c->wire_len, p, n);
    c->wire_len += n;
    return 0;
}

static uv_buf_t fake_plain_room(void *ud)
{
    struct fake_conn *c = ud;
    if (c->closing || c->paused)
        return uv_buf_init(NULL, 0);
    return uv_buf_init(c->in + c->in_len, (unsigned)(sizeof c->in - c->in_len));
}

static void fake_on_plain(void *ud, size_t n)
{
    struct fake_conn *c = ud;
    c->in_len += n;
    c->plain_calls++;
}

static void fake_close(void *ud)
{
    struct fake_conn *c = ud;
    c->closing = true;
    c->closes++;
}

static void fake_plaintext(void *ud)
{
    struct fake_conn *c = ud;
    c->plaintext_calls++;
    fake_close(ud); /* as the connection does, once it has answered */
}

static void fake_eof(void *ud)
{
    ((struct fake_conn *)ud)->eofs++;
}

static const struct tls_conn_io fake_io = {
    .write_raw = fake_write_raw,
    .plain_room = fake_plain_room,
    .on_plain = fake_on_plain,
    .close = fake_close,
    .plaintext = fake_plaintext,
};

/* the connection's upcalls, as pair_open gives them (fake_io; with eof,
 * fake_io_eof) */
static const struct tls_conn_io *pair_io = &fake_io;
static const struct tls_conn_io fake_io_eof = {
    .write_raw = fake_write_raw,
    .plain_room = fake_plain_room,
    .on_plain = fake_on_plain,
    .close = fake_close,
    .eof = fake_eof,
    .plaintext = fake_plaintext,
};

/* ---- a client over memory BIOs ------------------------------------------------ */

struct pair {
    struct tls_server *srv;
    struct tls_conn *t;
    struct fake_conn c;
    SSL_CTX *cctx;
    SSL *cli;
    BIO *crbio, *cwbio; /* the client's: crbio <- server, cwbio -> server */
};

/* Ciphertext the client wrote goes to the server the way libuv would hand
 * it over (tls_conn_alloc, then tls_conn_on_read); what the server sent
 * goes to the client. */
static void shuttle(struct pair *p)
{
    char tmp[4096];
    int n;
    while ((n = BIO_read(p->cwbio, tmp, sizeof tmp)) > 0) {
        for (int off = 0; off < n && !p->c.closing;) {
            uv_buf_t b;
            tls_conn_alloc(p->t, &b);
            size_t k = (size_t)(n - off) < b.len ? (size_t)(n - off) : b.len;
            memcpy(b.base, tmp + off, k);
            tls_conn_on_read(p->t, k);
            off += (int)k;
        }
    }
    if (p->c.wire_len) {
        assert_int_equal(BIO_write(p->crbio, p->c.wire, (int)p->c.wire_len),
                         (int)p->c.wire_len);
        p->c.wire_len = 0;
    }
}

/* n ciphertext bytes to the server in one read, as libuv hands them over */
static void feed(struct pair *p, const char *bytes, size_t n)
{
    uv_buf_t b;
    tls_conn_alloc(p->t, &b);
    assert_true(n <= b.len);
    memcpy(b.base, bytes, n);
    tls_conn_on_read(p->t, n);
}

static void pair_open(struct pair *p, int client_max_version)
{
    memset(p, 0, sizeof *p);
    p->srv = tls_server_new(cert.cert, cert.key);
    assert_non_null(p->srv);
    p->t = tls_conn_new(p->srv, pair_io, &p->c);
    assert_non_null(p->t);
    p->cctx = SSL_CTX_new(TLS_client_method());
    assert_non_null(p->cctx);
    SSL_CTX_set_min_proto_version(p->cctx, TLS1_VERSION);
    if (client_max_version) {
        SSL_CTX_set_max_proto_version(p->cctx, client_max_version);
        SSL_CTX_set_security_level(p->cctx, 0); /* let the client offer TLS 1.1 */
    }
    p->cli = SSL_new(p->cctx);
    p->crbio = BIO_new(BIO_s_mem());
    p->cwbio = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(p->crbio, -1); /* empty = "no data yet", not EOF */
    SSL_set_bio(p->cli, p->crbio, p->cwbio);
    SSL_set_connect_state(p->cli);
}

/* Runs the handshake; true if both ends finished it. */
static bool pair_handshake(struct pair *p)
{
    for (int i = 0; i < 20 && !p->c.closing; i++) {
        int r = SSL_do_handshake(p->cli);
        /* before shuttling: writing into the client's BIO resets its retry
         * flags, which SSL_get_error reads */
        int e = r == 1 ? SSL_ERROR_NONE : SSL_get_error(p->cli, r);
        shuttle(p);
        if (r == 1) {
            shuttle(p); /* session tickets, the client's Finished */
            return !p->c.closing;
        }
        if (e != SSL_ERROR_WANT_READ)
            return false;
    }
    return false;
}

static void pair_close(struct pair *p)
{
    tls_conn_free(p->t);
    tls_server_unref(p->srv);
    SSL_free(p->cli);
    SSL_CTX_free(p->cctx);
    ERR_clear_error();
}

static void client_send(struct pair *p, const char *s)
{
    assert_int_equal(SSL_write(p->cli, s, (int)strlen(s)), (int)strlen(s));
    shuttle(p);
}

/* ---- tests -------------------------------------------------------------------- */

static void test_handshake_and_both_directions(void **state)
{
    (void)state;
    struct pair p;
    pair_open(&p, 0);
    assert_true(pair_handshake(&p));
    assert_string_equal(tls_conn_version(p.t), "TLSv1.3");

    client_send(&p, "GET / HTTP/1.1\r\n");
    assert_int_equal(p.c.in_len, 16);
    assert_memory_equal(p.c.in, "GET / HTTP/1.1\r\n", 16);

    assert_int_equal(tls_conn_write(p.t, "HTTP/1.1 200 OK\r\n", 17), 0);
    shuttle(&p);
    char got[64];
    assert_int_equal(SSL_read(p.cli, got, sizeof got), 17);
    assert_memory_equal(got, "HTTP/1.1 200 OK\r\n", 17);
    assert_int_equal(p.c.closes, 0);
    pair_close(&p);
}

/* A paused or full connection gets no plaintext; OpenSSL keeps it, and
 * tls_conn_pump delivers it once there is room again. */
static void test_backpressure_holds_plaintext_until_pump(void **state)
{
    (void)state;
    struct pair p;
    pair_open(&p, 0);
    assert_true(pair_handshake(&p));

    p.c.paused = true;
    client_send(&p, "0123456789");
    assert_int_equal(p.c.in_len, 0);
    assert_int_equal(p.c.plain_calls, 0);
    p.c.paused = false;
    tls_conn_pump(p.t);
    assert_int_equal(p.c.in_len, 10);
    assert_memory_equal(p.c.in, "0123456789", 10);

    /* 100 bytes into a 64-byte buffer: it fills, the rest waits */
    char big[101];
    memset(big, 'x', 100);
    big[100] = '\0';
    p.c.in_len = 0;
    client_send(&p, big);
    assert_int_equal(p.c.in_len, sizeof p.c.in);
    p.c.in_len = 0; /* the connection consumed it */
    tls_conn_pump(p.t);
    assert_int_equal(p.c.in_len, 100 - sizeof p.c.in);
    assert_int_equal(p.c.closes, 0);
    pair_close(&p);
}

static void test_close_notify_closes_once(void **state)
{
    (void)state;
    struct pair p;
    pair_open(&p, 0);
    assert_true(pair_handshake(&p));
    SSL_shutdown(p.cli);
    shuttle(&p);
    assert_int_equal(p.c.closes, 1);
    assert_int_equal(p.c.in_len, 0);
    pair_close(&p);
}

/* Ciphertext OpenSSL has not taken when a read is done (the connection
 * takes no plaintext for now) is kept; records that come while some are
 * kept follow them; all are delivered in order once there is room. */
static void test_ciphertext_kept_in_order_under_backpressure(void **state)
{
    (void)state;
    struct pair p;
    pair_open(&p, 0);
    assert_true(pair_handshake(&p));
    p.c.paused = true;
    assert_int_equal(SSL_write(p.cli, "AAAA", 4), 4);
    assert_int_equal(SSL_write(p.cli, "BBBB", 4), 4);
    shuttle(&p); /* two records in one read */
    client_send(&p, "CCCC"); /* a third while two are kept */
    assert_int_equal(p.c.plain_calls, 0);
    p.c.paused = false;
    tls_conn_pump(p.t);
    client_send(&p, "DD"); /* nothing kept now: straight through */
    assert_int_equal(p.c.in_len, 14);
    assert_memory_equal(p.c.in, "AAAABBBBCCCCDD", 14);
    assert_int_equal(p.c.closes, 0);
    pair_close(&p);
}

/* A session is quiet (between records, so its connection may count as
 * idle) once its handshake is done and nothing of a record is pending -
 * not after a record's 5-byte header alone, which a probe sent to have a
 * connection closed as idle with its request under way. */
static void test_quiet_only_between_records(void **state)
{
    (void)state;
    struct pair p;
    pair_open(&p, 0);
    assert_false(tls_conn_quiet(p.t));
    assert_true(pair_handshake(&p));
    assert_true(tls_conn_quiet(p.t));
    assert_int_equal(SSL_write(p.cli, "GET / HTTP/1.1\r\n", 16), 16);
    char rec[256];
    int n = BIO_read(p.cwbio, rec, sizeof rec);
    assert_true(n > 8);
    static const int cuts[] = { 5, 8 };
    int at = 0;
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        feed(&p, rec + at, (size_t)(cuts[i] - at));
        at = cuts[i];
        assert_false(tls_conn_quiet(p.t));
        assert_int_equal(p.c.in_len, 0);
    }
    feed(&p, rec + at, (size_t)(n - at));
    assert_int_equal(p.c.in_len, 16);
    assert_true(tls_conn_quiet(p.t));
    assert_int_equal(p.c.closes, 0);
    pair_close(&p);
}

/* TLS 1.3's close_notify closes the client's side only (RFC 8446 6.1):
 * with an eof upcall, the request before it is delivered and the
 * connection told, not closed, and the answer still goes out; TLS 1.2's
 * ends the session (RFC 5246 7.2.1): closed. (The probe sent a PUT, then
 * close_notify: no answer.) */
static void test_close_notify_of_tls13_is_a_half_close(void **state)
{
    (void)state;
    for (int v = 0; v < 2; v++) {
        struct pair p;
        pair_io = &fake_io_eof;
        pair_open(&p, v ? TLS1_2_VERSION : 0);
        pair_io = &fake_io;
        assert_true(pair_handshake(&p));
        assert_int_equal(SSL_write(p.cli, "GET / HTTP/1.1\r\n\r\n", 18), 18);
        SSL_shutdown(p.cli);
        shuttle(&p);
        assert_int_equal(p.c.in_len, 18);
        if (v == 0) {
            assert_int_equal(p.c.eofs, 1);
            tls_conn_pump(p.t); /* told once */
            assert_int_equal(p.c.eofs, 1);
            assert_int_equal(p.c.closes, 0);
            assert_int_equal(tls_conn_write(p.t, "HTTP/1.1 200 OK\r\n", 17), 0);
            shuttle(&p);
            char got[64];
            assert_int_equal(SSL_read(p.cli, got, sizeof got), 17);
        } else {
            assert_int_equal(p.c.eofs, 0);
            assert_int_equal(p.c.closes, 1);
        }
        pair_close(&p);
    }
}

/* Plain HTTP to a TLS listener: not a ClientHello, so not one byte reaches
 * the connection as plaintext; the layer says so (the connection answers
 * it in plain HTTP, conn.c) and OpenSSL sends nothing. Bytes that are
 * neither TLS nor a method are a failed handshake, closed. The plain
 * request, which may hold a session token, does not stay in the thread's
 * buffer that every TLS connection's reads land in. */
static void test_plaintext_client_is_closed(void **state)
{
    (void)state;
    static const struct { const char *first; int plaintext; } cases[] = {
        { "GET / HTTP/1.1\r\nHost: x\r\nX-Amz-Security-Token: TOKEN-IN-PLAIN\r\n\r\n", 1 },
        { "P", 1 }, /* one byte is enough to tell */
        { "get / HTTP/1.1\r\n\r\n", 0 },
        { "\r\n", 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct pair p;
        pair_open(&p, 0);
        feed(&p, cases[i].first, strlen(cases[i].first));
        static const char newlines[64] = { [0 ... 63] = '\n' };
        if (!cases[i].plaintext) /* OpenSSL may want more before it gives up */
            for (int k = 0; k < 8 && !p.c.closing; k++)
                feed(&p, newlines, sizeof newlines);
        assert_int_equal(p.c.closes, 1);
        assert_int_equal(p.c.plaintext_calls, cases[i].plaintext);
        assert_int_equal(p.c.in_len, 0);
        assert_int_equal(p.c.plain_calls, 0);
        if (cases[i].plaintext) {
            assert_int_equal(p.c.wire_len, 0);
            uv_buf_t b;
            tls_conn_alloc(p.t, &b);
            assert_null(memmem(b.base, b.len, "TOKEN-IN-PLAIN", 14));
        }
        pair_close(&p);
    }
}

/* TLS 1.2 is the minimum (tls.h): a TLS 1.1 client does not get through. */
static void test_tls11_client_is_refused(void **state)
{
    (void)state;
    struct pair p;
    pair_open(&p, TLS1_1_VERSION);
    assert_false(pair_handshake(&p));
    assert_int_equal(p.c.closes, 1);
    assert_int_equal(p.c.plain_calls, 0);
    pair_close(&p);
}

/* a client's ALPN list in RFC 7301's wire form (length-prefixed names), and
 * its length */
#define OFFER(s) s, sizeof s - 1

/* ALPN (tls.h): from a client's list, http/1.1, else http/1.0, whatever
 * the list's order; a client that names none is served without it. */
static void test_alpn_chooses_http1(void **state)
{
    (void)state;
    static const struct {
        const char *offer; /* RFC 7301's wire form: length-prefixed names */
        size_t len;
        const char *chosen;
    } cases[] = {
        { OFFER("\x02h2\x08http/1.1"), "http/1.1" },
        { OFFER("\x08http/1.1\x02h2"), "http/1.1" },
        { OFFER("\x08http/1.0"), "http/1.0" },
        { OFFER("\x04spdy\x08http/1.0\x08http/1.1"), "http/1.1" }, /* ours first */
        { OFFER("\x04spdy\x08http/1.0"), "http/1.0" },
        { NULL, 0, NULL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct pair p;
        pair_open(&p, 0);
        if (cases[i].offer)
            assert_int_equal(SSL_set_alpn_protos(p.cli, (const unsigned char *)cases[i].offer,
                                                 (unsigned)cases[i].len), 0);
        assert_true(pair_handshake(&p));
        const unsigned char *got;
        unsigned got_len;
        SSL_get0_alpn_selected(p.cli, &got, &got_len);
        if (cases[i].chosen) {
            assert_int_equal(got_len, strlen(cases[i].chosen));
            assert_memory_equal(got, cases[i].chosen, got_len);
        } else {
            assert_int_equal(got_len, 0);
        }
        client_send(&p, "GET / HTTP/1.1\r\n");
        assert_int_equal(p.c.in_len, 16);
        pair_close(&p);
    }
}

/* A client whose list names neither HTTP/1 version gets the fatal
 * no_application_protocol alert and no byte is read from it as a request:
 * an h2-only client, or another protocol's (the ALPACA attacks). */
static void test_alpn_without_http1_is_refused(void **state)
{
    (void)state;
    static const struct {
        const char *offer;
        size_t len;
    } cases[] = {
        { OFFER("\x02h2") },
        { OFFER("\x04smtp\x03" "ftp") },
        { OFFER("\x08HTTP/1.1") }, /* names are compared byte for byte (RFC 7301 3.1) */
        { OFFER("\x07http/1.") },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct pair p;
        pair_open(&p, 0);
        assert_int_equal(SSL_set_alpn_protos(p.cli, (const unsigned char *)cases[i].offer,
                                             (unsigned)cases[i].len), 0);
        assert_false(pair_handshake(&p));
        assert_int_equal(p.c.closes, 1);
        assert_int_equal(p.c.plain_calls, 0);
        /* the alert reached the client */
        ERR_clear_error();
        assert_int_equal(SSL_do_handshake(p.cli), -1);
        assert_int_equal(ERR_GET_REASON(ERR_peek_last_error()),
                         SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL);
        pair_close(&p);
    }
}

/* Once the connection is closing, the layer writes nothing more and
 * delivers nothing more. */
static void test_nothing_after_closing(void **state)
{
    (void)state;
    struct pair p;
    pair_open(&p, 0);
    assert_true(pair_handshake(&p));
    p.c.closing = true;
    assert_int_not_equal(tls_conn_write(p.t, "late", 4), 0);
    assert_int_equal(p.c.wire_len, 0);
    assert_int_equal(SSL_write(p.cli, "more", 4), 4);
    char tmp[512];
    int n = BIO_read(p.cwbio, tmp, sizeof tmp);
    assert_true(n > 0);
    uv_buf_t b;
    tls_conn_alloc(p.t, &b);
    memcpy(b.base, tmp, (size_t)n);
    tls_conn_on_read(p.t, (size_t)n);
    assert_int_equal(p.c.plain_calls, 0);
    assert_int_equal(p.c.in_len, 0);
    pair_close(&p);
}

/* ---- a self-signed certificate for the run ------------------------------------ */

static int make_cert(void **state)
{
    (void)state;
    return fx_cert_make(&cert, "/tmp/s3w_test_tls_XXXXXX");
}

static int remove_cert(void **state)
{
    (void)state;
    fx_cert_remove(&cert);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake_and_both_directions),
        cmocka_unit_test(test_backpressure_holds_plaintext_until_pump),
        cmocka_unit_test(test_ciphertext_kept_in_order_under_backpressure),
        cmocka_unit_test(test_quiet_only_between_records),
        cmocka_unit_test(test_close_notify_of_tls13_is_a_half_close),
        cmocka_unit_test(test_close_notify_closes_once),
        cmocka_unit_test(test_plaintext_client_is_closed),
        cmocka_unit_test(test_tls11_client_is_refused),
        cmocka_unit_test(test_alpn_chooses_http1),
        cmocka_unit_test(test_alpn_without_http1_is_refused),
        cmocka_unit_test(test_nothing_after_closing),
    };
    return cmocka_run_group_tests(tests, make_cert, remove_cert);
}
