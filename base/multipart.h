/*
 * multipart.h - a streaming multipart/form-data reader for S3's POST
 * Object (RFC 7578 over RFC 2046 5.1; S3 API Reference, "POST Object").
 *
 * S3 wants the file as the form's last field ("The file or text content
 * must be the last field in the form"), so the reader keeps the fields
 * before it (capped: S3's MaxPostPreDataLengthExceeded) and then passes
 * the file's bytes through without holding them. The file's length is
 * known the moment its part begins: the request's Content-Length less the
 * bytes before the file's data less the closing delimiter
 * "\r\n--BOUNDARY--\r\n", which must then be exactly what follows the
 * file. Every byte of the file and of that ending is scanned for the
 * delimiter, so a body that holds another part after the file, or does
 * not end as declared, is refused (mp_finish) - the caller has held the
 * file's last byte back until then. Pure: no I/O, no allocation.
 */
#ifndef S3W_BASE_MULTIPART_H
#define S3W_BASE_MULTIPART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bytes.h"

#define MP_BOUNDARY_MAX 70            /* RFC 2046 5.1.1 */
#define MP_PRE_MAX (20 * 1024)        /* the form before the file's data */
#define MP_MAX_FIELDS 64

enum mp_status {
    MP_OK = 0,
    MP_E_NO_BOUNDARY = -1,   /* not multipart/form-data with a boundary */
    MP_E_MALFORMED = -2,     /* not well-formed multipart/form-data */
    MP_E_TOO_LARGE = -3,     /* the fields before the file are over MP_PRE_MAX */
    MP_E_NO_FILE = -4,       /* the form ended without a file */
    MP_E_AFTER_FILE = -5,    /* a part after the file, or an ending not as declared */
    MP_E_STOPPED = -6,       /* a callback refused; the reader stops */
    MP_E_TOO_MANY = -7,      /* more than MP_MAX_FIELDS fields */
    MP_E_TWO_FIELDS = -8,    /* a field named twice */
};

struct mp_field {
    struct s3w_slice name;   /* into the reader's buffer, valid until the reader is gone */
    struct s3w_slice value;
};

struct mp_form;

/* The file part's head is complete: every field before it is in
 * f->fields, f->filename and f->file_type are set, and f->file_len is the
 * file's exact length. Nonzero stops the reader (MP_E_STOPPED). */
typedef int (*mp_file_start_fn)(void *ud, struct mp_form *f);
/* Bytes of the file, in order, never more than file_len in all. Nonzero
 * stops the reader. */
typedef int (*mp_file_data_fn)(void *ud, const char *p, size_t n);

struct mp_form {
    mp_file_start_fn on_file_start;
    mp_file_data_fn on_file_data;
    void *ud;

    uint64_t content_length;
    char delim[4 + MP_BOUNDARY_MAX];  /* "\r\n--" BOUNDARY */
    size_t dlen;
    uint8_t fail[4 + MP_BOUNDARY_MAX]; /* KMP failure function of delim */

    int status;           /* first error, sticky */
    bool in_file;
    /* before the file: the bytes so far, after a virtual leading CRLF (so
     * the first delimiter is found like every other one) */
    char pre[MP_PRE_MAX + 2];
    size_t pre_len;
    size_t part;          /* offset in pre of the current part's head */
    size_t scan;          /* where the search for its end goes on */
    struct mp_field fields[MP_MAX_FIELDS];
    size_t nfields;
    struct s3w_slice filename;   /* of the file part (ptr NULL: none given) */
    struct s3w_slice file_type;  /* its Content-Type (ptr NULL: none) */

    /* the file */
    uint64_t file_start;  /* offset of its first byte in the body */
    uint64_t file_len;
    uint64_t file_seen;   /* file bytes passed on */
    uint64_t after;       /* bytes of the ending seen */
    size_t match;         /* bytes of delim matched, across calls */
    uint64_t scanned;     /* bytes of file + ending run through the matcher */
};

/* Reads the boundary from the request's Content-Type and readies f.
 * MP_OK or MP_E_NO_BOUNDARY. */
int mp_init(struct mp_form *f, struct s3w_slice content_type, uint64_t content_length,
            mp_file_start_fn on_start, mp_file_data_fn on_data, void *ud);
/* The next bytes of the body. MP_OK or the (sticky) error. */
int mp_feed(struct mp_form *f, const char *p, size_t n);
/* The body is complete: MP_OK only when the file arrived whole and the
 * body ended with exactly its closing delimiter. */
int mp_finish(struct mp_form *f);

/* The first field named `name` (ASCII case-insensitive, as S3 takes form
 * field names), or NULL. */
const struct mp_field *mp_field(const struct mp_form *f, const char *name);

#endif
