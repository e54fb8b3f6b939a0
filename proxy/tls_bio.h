/*
 * tls_bio.h - the BIO through which OpenSSL reads and writes a connection's
 * ciphertext, for both TLS layers: toward clients (tls.c) and toward the
 * upstream (h1client_tls.c). The socket stays a plain libuv stream.
 *
 * Not memory BIOs: a memory BIO keeps the largest buffer it ever held for
 * the connection's life (an idle client connection that had downloaded
 * 1 MiB held 45 KiB more than one that had not), and costs a copy each
 * way. Here each record OpenSSL writes goes straight to the connection's
 * write path; what it reads comes from the thread's landing buffer, where
 * libuv put it, and what it has not read when the read's work is done
 * (the connection takes no plaintext for now: backpressure) is kept,
 * allocated to its size, until it has.
 */
#ifndef S3W_PROXY_TLS_BIO_H
#define S3W_PROXY_TLS_BIO_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/bio.h>

struct tls_bio {
    /* Where each record OpenSSL writes goes (copied): 0, or non-zero when
     * it cannot go (the connection is closing, out of memory). */
    int (*write)(void *ud, const void *p, size_t n);
    void *ud;
    /* ciphertext come and not yet read by OpenSSL: in the landing buffer
     * until tls_bio_keep, else in `held` */
    const char *in;
    size_t in_len;
    char *held;
    bool in_held;
    /* where OpenSSL is in the record stream it has read: the header bytes
     * of the next record so far, and the bytes of the current record's
     * body still to come (tls_bio_between_records) */
    unsigned char hdr[5];
    unsigned char hdr_got, hdr_len;
    size_t body_left;
};

/* Where libuv lands ciphertext read from any TLS socket of this thread:
 * one buffer per thread, not one per connection. Offer what was read
 * (tls_bio_offer), let OpenSSL read, then tls_bio_keep, before the thread
 * reads any other socket: libuv reads one stream at a time. */
char *tls_bio_landing(size_t *len);

/* A BIO over b, for SSL_set_bio(ssl, bio, bio) (which takes its one
 * reference); b must outlive it. NULL: out of memory (or OpenSSL could not
 * make the method). */
BIO *tls_bio_new(struct tls_bio *b);

/* n bytes read into the landing buffer: what OpenSSL reads next, after
 * what is kept from before. false: out of memory. */
bool tls_bio_offer(struct tls_bio *b, size_t n);

/* Keeps what OpenSSL has not read of the offered bytes; frees what was
 * kept once all is read. false: out of memory. */
bool tls_bio_keep(struct tls_bio *b);

/* Whether what OpenSSL has read ends with a whole record: no header or
 * body of one only partly read (the bytes not yet read are in_len). */
bool tls_bio_between_records(const struct tls_bio *b);

/* Frees what is kept (with the connection). */
void tls_bio_cleanup(struct tls_bio *b);

#endif
