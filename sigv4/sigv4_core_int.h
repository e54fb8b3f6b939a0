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
/* Adds a header name to err->headers_not_signed (sigv4.h); after the
 * sigv4_fail that set the code, which empties the list. */
void sigv4_int_not_signed(struct sigv4_error *err, struct s3w_slice name);

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

/* Builds "ALG\nDATE\nSCOPE\nhex(sha256(creq))" into out[cap], as
 * sigv4_string_to_sign appends it; its length, or 0 if it needs more than
 * cap bytes (verify and sign build it on the stack). */
size_t sigv4_int_sts_build(char *out, size_t cap, struct s3w_slice alg,
                           struct s3w_slice date, struct s3w_slice scope,
                           struct s3w_slice creq);

#endif
