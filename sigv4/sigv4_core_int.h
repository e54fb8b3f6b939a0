/*
 * sigv4_core_int.h - helpers shared by the SigV4 core's own .c files
 * (auth_parse.c, canonical.c, verify.c, sign.c). Not part of the public
 * contract; other modules use sigv4.h.
 */
#ifndef S3W_SIGV4_CORE_INT_H
#define S3W_SIGV4_CORE_INT_H

#include "sigv4.h"

/* Copies at most cap-1 bytes of s into out, replacing anything that is not
 * printable ASCII (or is a quote or backslash) with '?', and NUL-terminates.
 * Used to echo request values (a wrong region) in S3 error messages without
 * letting control bytes or megabytes into a log line. */
void sigv4_int_sanitize(struct s3w_slice s, char *out, size_t cap);

/* Percent-decodes in into out[cap]; '+' is kept literal (SigV4 does not use
 * form encoding). 0, S3W_E_INVAL (bad escape) or S3W_E_TOOBIG. */
int sigv4_int_pct_decode(struct s3w_slice in, char *out, size_t cap,
                         size_t *out_len);

/* Whitespace as SigV4 canonicalisation trims it: SP and HTAB (and CR/LF so
 * that an obs-fold continuation, were one to get through, reads as a
 * space - see canonical.c). */
static inline bool sigv4_int_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static inline struct s3w_slice sigv4_int_trim(struct s3w_slice s)
{
    while (s.len && sigv4_int_ws(s.ptr[0])) {
        s.ptr++;
        s.len--;
    }
    while (s.len && sigv4_int_ws(s.ptr[s.len - 1]))
        s.len--;
    return s;
}

/* First header named `name` (case-insensitive); NULL if none. *count gets
 * how many there are (may be NULL). */
const struct s3w_header *sigv4_int_find_header(const struct s3w_header *h,
                                                 size_t n,
                                                 struct s3w_slice name,
                                                 size_t *count);

#endif
