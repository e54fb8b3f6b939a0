/*
 * tls.h - TLS termination with OpenSSL through a BIO of our own, so the
 * socket stays a plain libuv stream: OpenSSL reads the ciphertext from
 * uv_read where libuv put it, plaintext comes out into the connection's
 * input buffer; plaintext to send goes through SSL_write, and each record
 * OpenSSL writes goes to the connection's write path (io->write_raw).
 *
 * TLS 1.2 is the minimum (S3 itself refuses older versions since 2024); the
 * negotiated version feeds s3:TlsVersion and aws:SecureTransport.
 *
 * ALPN (RFC 7301): s3warden speaks HTTP/1.1. A client that names the
 * protocols it wants gets http/1.1 if it names it, else http/1.0, and one
 * whose list has neither (h2 alone, or another service's protocol) gets the
 * fatal no_application_protocol alert, as nginx answers: bytes meant for
 * another protocol are never read as HTTP (RFC 7301 section 3.2; the
 * ALPACA cross-protocol attacks). A client that names none is served.
 *
 * Layering: this file knows nothing of the server's connection. The
 * connection gives tls_conn_new a table of upcalls (struct tls_conn_io) and
 * an opaque pointer passed back to each; the server includes tls.h, and
 * nothing here includes the server's header or calls into server.c.
 */
#ifndef S3W_PROXY_TLS_H
#define S3W_PROXY_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <uv.h>

struct tls_server;
struct tls_conn;

/* Has OpenSSL wipe every block it frees, and every block a realloc moves
 * away from: its TLS record buffers hold decrypted requests (session
 * tokens, presigned URLs), and with SSL_MODE_RELEASE_BUFFERS they are freed
 * after each record - unwiped, a probe found a token from a TLS request in
 * freed memory. Must run before OpenSSL's first allocation (first thing in
 * main); false when it came too late and OpenSSL keeps its own functions.
 * Costs a memset of what is freed: about a record's buffer per TLS read. */
bool tls_wipe_freed_memory(void);

/* What the connection offers the TLS layer. Each is called only from
 * inside a tls_conn_* call below, on the connection's loop, with `ud`. */
struct tls_conn_io {
    /* Ciphertext for the socket (copied). 0, or non-zero when the bytes
     * cannot be sent (the connection is closing): stop writing. */
    int (*write_raw)(void *ud, const void *p, size_t n);
    /* Where plaintext may go now: the free tail of the connection's input
     * buffer. A zero length means none is wanted now (the buffer is full,
     * reading is paused for backpressure, or the connection is closing);
     * OpenSSL keeps the rest until the next tls_conn_pump. */
    uv_buf_t (*plain_room)(void *ud);
    /* n plaintext bytes were written at the start of the last plain_room
     * buffer. The connection may parse, answer, or close from here. */
    void (*on_plain)(void *ud, size_t n);
    /* The session ended (close_notify) or failed (a bad handshake, a
     * record that does not decrypt): close the connection now. */
    void (*close)(void *ud);
    /* Optional: a TLS 1.3 close_notify, which closes only the client's
     * side (RFC 8446 6.1): nothing more comes, as after a TCP half-close;
     * what was asked may still be answered. NULL, or TLS 1.2 (whose
     * close_notify ends the session, RFC 5246 7.2.1): close instead. */
    void (*eof)(void *ud);
    /* The connection's first byte is an upper-case letter, not a TLS
     * record: plain HTTP sent to a TLS listener. Nothing of it goes to
     * OpenSSL; the connection answers in plain HTTP and closes. Optional
     * (NULL: the bytes go to OpenSSL, which refuses them). */
    void (*plaintext)(void *ud);
};

/* Loads the certificate chain and key (PEM). Returns NULL and logs why. The
 * context is reference counted: connections keep the one they started with
 * across a reload. */
struct tls_server *tls_server_new(const char *cert_file, const char *key_file);
void tls_server_ref(struct tls_server *t);
void tls_server_unref(struct tls_server *t);

/* A server-side session on `srv` (referenced until tls_conn_free). `io`
 * must outlive the session (a static table); `ud` is passed to each upcall.
 * NULL: out of memory. */
struct tls_conn *tls_conn_new(struct tls_server *srv, const struct tls_conn_io *io, void *ud);
/* Frees the session (from the connection's last close callback, never from
 * inside an upcall). NULL is a no-op. */
void tls_conn_free(struct tls_conn *t);
/* Gives libuv the ciphertext buffer: the thread's, used until the
 * tls_conn_on_read that follows (call them in that order, on one thread). */
void tls_conn_alloc(struct tls_conn *t, uv_buf_t *buf);
/* n ciphertext bytes arrived in the buffer from tls_conn_alloc. */
void tls_conn_on_read(struct tls_conn *t, size_t n);
/* Whether the session is between records: its handshake done, no part of
 * a record come and not yet read (kept, or in OpenSSL's buffer; a header
 * alone included, which OpenSSL holds nowhere it says). */
bool tls_conn_quiet(const struct tls_conn *t);
/* Pulls more plaintext if the connection has room (after backpressure). */
void tls_conn_pump(struct tls_conn *t);
/* Encrypts and sends plaintext. 0, or a negative uv error (a failed
 * SSL_write also closes the connection through io->close). */
int tls_conn_write(struct tls_conn *t, const void *p, size_t n);
/* Sends close_notify if the handshake finished. */
void tls_conn_shutdown(struct tls_conn *t);
/* The negotiated version ("TLSv1.3"), or NULL before the handshake finished. */
const char *tls_conn_version(const struct tls_conn *t);
/* The negotiated cipher suite (OpenSSL's name), or NULL. */
const char *tls_conn_cipher(const struct tls_conn *t);

#endif
