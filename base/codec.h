/*
 * codec.h - the byte encodings S3, STS and SigV4 put on the wire: hex
 * digits, percent-encoding (URI paths, query strings, form bodies) and
 * base64 (checksums, Content-MD5, session tokens, policy documents).
 *
 * One implementation of each; callers never keep a private copy. All
 * decoders are strict (a malformed escape or digit is an error, never
 * passed through) and bounded (the caller gives the output capacity).
 * Errors are the S3W_E_* values of bytes.h.
 */
#ifndef S3W_CODEC_H
#define S3W_CODEC_H

#include "bytes.h"

/* The value of one hex digit (either case), or -1. */
int s3w_hex_digit(int c);

/* ---- percent-encoding -------------------------------------------------------- */
enum {
    S3W_PCT_PLUS_SPACE = 1 << 0, /* '+' means ' ' (query strings, HTML forms) */
};

/* Decodes %XX escapes of `in` into out[cap]. Returns the decoded length,
 * S3W_E_INVAL for a '%' not followed by two hex digits, S3W_E_TOOBIG when
 * cap is too small (in.len always suffices). out is not NUL-terminated. */
long s3w_pct_decode(struct s3w_slice in, char *out, size_t cap, unsigned flags);

/* ---- base64 (RFC 4648 section 4, standard alphabet, padded) ------------------ */
#define S3W_B64_ENCODED_LEN(n) (((n) + 2) / 3 * 4)

/* Writes S3W_B64_ENCODED_LEN(n) characters and a NUL into out; returns the
 * length written (without the NUL). */
size_t s3w_b64_encode(const uint8_t *in, size_t n, char *out);

enum {
    /* Accept set bits in the padding's unused low bits ("QR==" as "QQ=="):
     * only for callers that accepted them before base/ existed. */
    S3W_B64_NONCANONICAL = 1 << 0,
};

/* Strict decode: length a multiple of 4, '=' only as the last one or two
 * characters, no whitespace, and (unless S3W_B64_NONCANONICAL) the unused
 * bits before the padding zero. Returns the decoded length (0 for empty
 * input: a caller for which empty is an error checks in.len itself) or
 * S3W_E_INVAL / S3W_E_TOOBIG. On S3W_E_TOOBIG nothing is written; on
 * S3W_E_INVAL out may hold a prefix of the decoding. */
long s3w_b64_decode(struct s3w_slice in, uint8_t *out, size_t cap, unsigned flags);

#endif
