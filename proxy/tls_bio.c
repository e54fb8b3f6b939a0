/* tls_bio.c - a connection's ciphertext for OpenSSL (see tls_bio.h). */
#include "tls_bio.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define LANDING_CAP (16 * 1024 + 512) /* one TLS record and change */

/* Ciphertext, but for plain HTTP sent to a TLS port (tls.c wipes that). */
static _Thread_local char landing[LANDING_CAP];

static BIO_METHOD *method;
static pthread_once_t method_once = PTHREAD_ONCE_INIT;

char *tls_bio_landing(size_t *len)
{
    *len = sizeof(landing);
    return landing;
}

static int bio_write(BIO *bio, const char *p, size_t n, size_t *written)
{
    struct tls_bio *b = BIO_get_data(bio);
    BIO_clear_retry_flags(bio);
    if (b->write(b->ud, p, n) != 0)
        return 0; /* no retry: the connection is done */
    *written = n;
    return 1;
}

/* Follows the record stream OpenSSL reads: 5-byte headers (type, version,
 * length) and the bodies they announce; a first byte with its top bit set
 * is an SSLv2-style hello's 2-byte header (a 15-bit length). */
static void follow_records(struct tls_bio *b, const unsigned char *p, size_t n)
{
    while (n > 0) {
        if (b->body_left > 0) {
            size_t k = n < b->body_left ? n : b->body_left;
            b->body_left -= k;
            p += k;
            n -= k;
            continue;
        }
        if (b->hdr_got == 0)
            b->hdr_len = (p[0] & 0x80) ? 2 : 5;
        b->hdr[b->hdr_got++] = *p++;
        n--;
        if (b->hdr_got == b->hdr_len) {
            b->body_left = b->hdr_len == 2 ? ((size_t)(b->hdr[0] & 0x7f) << 8 | b->hdr[1])
                                           : ((size_t)b->hdr[3] << 8 | b->hdr[4]);
            b->hdr_got = 0;
        }
    }
}

bool tls_bio_between_records(const struct tls_bio *b)
{
    return b->in_len == 0 && b->hdr_got == 0 && b->body_left == 0;
}

static int bio_read(BIO *bio, char *out, size_t n, size_t *got)
{
    struct tls_bio *b = BIO_get_data(bio);
    BIO_clear_retry_flags(bio);
    if (b->in_len == 0) {
        BIO_set_retry_read(bio);
        *got = 0;
        return 0;
    }
    size_t k = n < b->in_len ? n : b->in_len;
    memcpy(out, b->in, k);
    follow_records(b, (const unsigned char *)out, k);
    b->in += k;
    b->in_len -= k;
    *got = k;
    return 1;
}

static long bio_ctrl(BIO *bio, int cmd, long num, void *ptr)
{
    (void)num;
    (void)ptr;
    struct tls_bio *b = BIO_get_data(bio);
    switch (cmd) {
    case BIO_CTRL_FLUSH:
        return 1; /* every record went to the connection at once */
    case BIO_CTRL_PENDING:
        return b ? (long)b->in_len : 0;
    default:
        return 0;
    }
}

static int bio_create(BIO *bio)
{
    BIO_set_init(bio, 1);
    return 1;
}

static void method_make(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "s3warden tls");
    if (m && (BIO_meth_set_write_ex(m, bio_write) != 1 || BIO_meth_set_read_ex(m, bio_read) != 1 ||
              BIO_meth_set_ctrl(m, bio_ctrl) != 1 || BIO_meth_set_create(m, bio_create) != 1)) {
        BIO_meth_free(m);
        m = NULL;
    }
    method = m;
}

BIO *tls_bio_new(struct tls_bio *b)
{
    pthread_once(&method_once, method_make);
    BIO *bio = method ? BIO_new(method) : NULL;
    if (bio)
        BIO_set_data(bio, b);
    return bio;
}

bool tls_bio_offer(struct tls_bio *b, size_t n)
{
    if (b->in_len == 0) {
        free(b->held);
        b->held = NULL;
        b->in = landing;
        b->in_len = n;
        b->in_held = false;
        return true;
    }
    /* kept from before (OpenSSL stopped for room): the new bytes follow */
    char *h = malloc(b->in_len + n);
    if (!h)
        return false;
    memcpy(h, b->in, b->in_len);
    memcpy(h + b->in_len, landing, n);
    free(b->held);
    b->held = h;
    b->in = h;
    b->in_len += n;
    b->in_held = true;
    return true;
}

bool tls_bio_keep(struct tls_bio *b)
{
    if (b->in_len == 0) {
        tls_bio_cleanup(b);
        return true;
    }
    if (b->in_held)
        return true; /* kept already */
    char *h = malloc(b->in_len);
    if (!h)
        return false;
    memcpy(h, b->in, b->in_len);
    b->held = h;
    b->in = h;
    b->in_held = true;
    return true;
}

void tls_bio_cleanup(struct tls_bio *b)
{
    free(b->held);
    b->held = NULL;
    b->in = NULL;
    b->in_len = 0;
    b->in_held = false;
}
