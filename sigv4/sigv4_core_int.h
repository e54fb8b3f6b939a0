/*
 * sigv4_core_int.h - helpers shared by the SigV4 core's own .c files
 * (auth_parse.c, canonical.c, verify.c, sign.c). Not part of the public
 * contract; other modules use sigv4.h.
 */
#ifndef S3W_SIGV4_CORE_INT_H
#define S3W_SIGV4_CORE_INT_H

#include "codec.h"
#include "sigv4.h"

/* Copies at most cap-1 bytes of s into out, replacing anything that is not
 * printable ASCII (or is a quote or backslash) with '?', and NUL-terminates.
 * Used to echo request values (a wrong region) in S3 error messages without
 * letting control bytes or megabytes into a log line. */
void sigv4_int_sanitize(struct s3w_slice s, char *out, size_t cap);

/* Whitespace as SigV4 canonicalisation trims it: SP and HTAB (and CR/LF so
 * that an obs-fold continuation, were one to get through, reads as a
 * space - see canonical.c). The same set as s3w_slice_trim, which trims
 * header values at both ends; this one finds the runs inside a value. */
static inline bool sigv4_int_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* First header named `name` (case-insensitive); NULL if none. *count gets
 * how many there are (may be NULL). */
const struct s3w_header *sigv4_int_find_header(const struct s3w_header *h,
                                                 size_t n,
                                                 struct s3w_slice name,
                                                 size_t *count);

#endif
