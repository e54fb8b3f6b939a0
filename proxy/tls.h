/*
 * tls.h - TLS termination with OpenSSL through memory BIOs, so the socket
 * stays a plain libuv stream: ciphertext from uv_read goes into the read BIO,
 * plaintext comes out into the connection's input buffer; plaintext to send
 * goes through SSL_write and the write BIO's ciphertext goes to uv_write.
 *
 * TLS 1.2 is the minimum (S3 itself refuses older versions since 2024); the
 * negotiated version feeds s3:TlsVersion and aws:SecureTransport.
 */
#ifndef S3W_PROXY_TLS_H
#define S3W_PROXY_TLS_H

#include <stddef.h>

#include <uv.h>

struct proxy_conn;
struct tls_server;
struct tls_conn;

/* Loads the certificate chain and key (PEM). Returns NULL and logs why. The
 * context is reference counted: connections keep the one they started with
 * across a reload. */
struct tls_server *tls_server_new(const char *cert_file, const char *key_file);
void tls_server_ref(struct tls_server *t);
void tls_server_unref(struct tls_server *t);

int tls_conn_new(struct proxy_conn *c, struct tls_server *t);
void tls_conn_free(struct tls_conn *t);
/* Gives libuv the ciphertext buffer. */
void tls_conn_alloc(struct proxy_conn *c, uv_buf_t *buf);
/* n ciphertext bytes arrived in the buffer from tls_conn_alloc. */
void tls_conn_on_read(struct proxy_conn *c, size_t n);
/* Pulls more plaintext if the input buffer has room (after backpressure). */
void tls_conn_pump(struct proxy_conn *c);
int tls_conn_write(struct proxy_conn *c, const void *p, size_t n);
void tls_conn_shutdown(struct proxy_conn *c);
const char *tls_conn_version(const struct tls_conn *t);

#endif
