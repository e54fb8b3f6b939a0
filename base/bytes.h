/*
 * bytes.h - the few byte primitives every s3warden module shares.
 *
 * Lives in base/, below every module, so that policy/ and config/ get a
 * slice type without linking sigv4; it is deliberately small (see STYLE.md,
 * "no utils.c junk drawer").
 *
 *  - struct s3w_slice: a borrowed {ptr, len} view. Never NUL-terminated by
 *    contract; never outlives the buffer it points into.
 *  - struct s3w_buf: a growable buffer with a hard cap fixed at init; going
 *    over the cap is an error (S3W_E_TOOBIG), never a silent realloc.
 *  - hex, constant-time compare, secure wipe.
 *
 * How errors are written, one idiom per layer (base, sigv4, policy, config;
 * proxy at the end). New code follows it; old code moves to it when touched.
 *
 *  1. Codes. A function that can fail returns int: 0 on success, else a
 *     negative value of its module's one error enum (S3W_E_* here,
 *     SIGV4_E_*, POLICY_E_*, CONFIG_E_*, TOKEN_E_*, CREDS_E_*, ...), each
 *     with a <module>_strerror(). Codes are only meaningful with their own
 *     enum: most enums start at -1, so a caller that crosses a module
 *     boundary translates (`if (rc) return MY_E_INTERNAL;`) rather than
 *     passing another module's number up. A predicate that cannot fail for
 *     a reason worth naming returns bool; a length-or-error returns long
 *     (negative = error). No errno, no global "last error".
 *  2. Accumulating. A run of steps that all must succeed and that share
 *     one error check (appending to a buffer, filling a context) keeps the
 *     first error and skips the rest:  rc = rc ? rc : step();
 *     Not `rc |= step()` (two negative codes OR into a third, meaningless
 *     one) and not the GNU `rc ?: step()`. Any other sequence returns
 *     early:  if (rc) return rc;
 *  3. Cleanup. A function that holds resources (heap, locks, secrets on the
 *     stack) has one exit: every failure sets rc and does `goto cleanup`,
 *     and the label frees and wipes in reverse order of acquisition. A
 *     function that holds nothing returns directly. Where only a failure
 *     has something to undo (success hands the resources to the caller and
 *     returns first), the label is `fail:` instead.
 *  4. Messages. A parser that must explain itself (policy, config) takes
 *     an error struct or a `const char **why` next to the code; the code
 *     still says whether it failed. No secret in any message.
 *  5. proxy/ handlers speak HTTP instead: a stage that has already answered
 *     the client (error response sent, exchange finishing) returns false,
 *     and its caller stops at once; true means "go on". They never return
 *     a module code; they translate it into an S3 error response.
 */
#ifndef S3W_BYTES_H
#define S3W_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct s3w_slice {
    const char *ptr;
    size_t len;
};

#define S3W_SLICE_LIT(s) ((struct s3w_slice){ (s), sizeof(s) - 1 })
#define S3W_SLICE_NULL ((struct s3w_slice){ NULL, 0 })

static inline struct s3w_slice s3w_slice(const char *ptr, size_t len)
{
    return (struct s3w_slice){ ptr, len };
}

/* For NUL-terminated strings we own (config, literals) - never wire data. */
static inline struct s3w_slice s3w_slice_cstr(const char *s)
{
    return (struct s3w_slice){ s, s ? strlen(s) : 0 };
}

static inline bool s3w_slice_eq(struct s3w_slice a, struct s3w_slice b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static inline bool s3w_slice_eq_cstr(struct s3w_slice a, const char *s)
{
    return s3w_slice_eq(a, s3w_slice_cstr(s));
}

/* ASCII case-insensitive equality of n bytes. */
bool s3w_bytes_eq_nocase(const char *a, const char *b, size_t n);
/* Whether v may go into a header line as it is (RFC 9110 5.5: no control
 * byte but HTAB, no DEL): nothing in it can end the line. */
bool s3w_header_value_ok(struct s3w_slice v);

/* ASCII case-insensitive equality (header names, algorithm names). Inline:
 * most calls look a name up in a list, and the lengths differ. */
static inline bool s3w_slice_eq_nocase(struct s3w_slice a, struct s3w_slice b)
{
    return a.len == b.len && s3w_bytes_eq_nocase(a.ptr, b.ptr, a.len);
}

bool s3w_slice_starts_with(struct s3w_slice s, struct s3w_slice prefix);

/* s without leading and trailing whitespace: SP, HTAB, and CR/LF (so that an
 * obs-fold continuation, were one to get through a parser, reads as space). */
struct s3w_slice s3w_slice_trim(struct s3w_slice s);

/* One HTTP header field, the type every module passes headers in (HTTP
 * parser, SigV4, S3 mapping, upstream signing). Name as sent: compare it
 * with s3w_slice_eq_nocase. Value: the HTTP layer trims leading and trailing
 * SP/HTAB and rejects obs-fold before anything else sees it. */
struct s3w_header {
    struct s3w_slice name;
    struct s3w_slice value;
};

/* ---- error vocabulary shared by the primitives ---------------------------- */
enum {
    S3W_OK = 0,
    S3W_E_NOMEM = -1,  /* allocation failed */
    S3W_E_TOOBIG = -2, /* a capped buffer would exceed its cap */
    S3W_E_INVAL = -3,  /* malformed input */
};

/* A static, human-readable name for an S3W_E_* code. */
const char *s3w_strerror(int err);

/* ---- capped growable buffer ------------------------------------------------ */
struct s3w_buf {
    char *ptr; /* owned; NUL-terminated for convenience (not counted in len) */
    size_t len;
    size_t cap; /* allocated */
    size_t max; /* hard cap on len, fixed at init */
};

void s3w_buf_init(struct s3w_buf *b, size_t max);
/* A buffer over `size` bytes the caller owns (size >= 1): it never grows
 * (max is size - 1, the last byte is the NUL's), so what does not fit is
 * S3W_E_TOOBIG; not to be cleaned up. */
static inline void s3w_buf_fixed(struct s3w_buf *b, char *storage, size_t size)
{
    b->ptr = storage;
    b->len = 0;
    b->cap = size;
    b->max = size - 1;
    storage[0] = '\0';
}
/* Frees the storage after wiping it (buffers may hold secrets). */
void s3w_buf_cleanup(struct s3w_buf *b);
void s3w_buf_reset(struct s3w_buf *b);
/* The appends below, when the bytes fit the storage already there (the
 * common case: record and header formatting append many short pieces),
 * are a copy in the caller; s3w_buf_append_grow is the rest. */
int s3w_buf_append_grow(struct s3w_buf *b, const void *p, size_t n);
static inline int s3w_buf_append(struct s3w_buf *b, const void *p, size_t n)
{
    /* len + n + 1 <= cap (the NUL) and len + n <= max; cap 0 has no storage */
    if (n < b->cap - b->len && n <= b->max - b->len) {
        if (n) /* p may be NULL then (an empty slice) */
            memcpy(b->ptr + b->len, p, n);
        b->len += n;
        b->ptr[b->len] = '\0';
        return S3W_OK;
    }
    return s3w_buf_append_grow(b, p, n);
}
static inline int s3w_buf_append_slice(struct s3w_buf *b, struct s3w_slice s)
{
    return s3w_buf_append(b, s.ptr, s.len);
}
/* (strlen of a literal is folded at compile time) */
static inline int s3w_buf_append_cstr(struct s3w_buf *b, const char *s)
{
    return s3w_buf_append(b, s, strlen(s));
}
static inline int s3w_buf_append_char(struct s3w_buf *b, char c)
{
    return s3w_buf_append(b, &c, 1);
}
/* v in decimal, as printf's %lld and %llu write it, at the end of
 * d[S3W_DEC_MAX]: returns the index of its first byte (its length is
 * S3W_DEC_MAX minus that). For formatters that write into storage of their
 * own (the audit record, the log line). */
#define S3W_DEC_MAX 21 /* -9223372036854775808, 18446744073709551615 */
size_t s3w_dec_i64(char d[S3W_DEC_MAX], long long v);
size_t s3w_dec_u64(char d[S3W_DEC_MAX], unsigned long long v);
/* v in decimal, as printf's %lld and %llu write it. */
int s3w_buf_append_i64(struct s3w_buf *b, long long v);
int s3w_buf_append_u64(struct s3w_buf *b, unsigned long long v);
/* printf-style append; S3W_E_TOOBIG if the result would pass max. */
int s3w_buf_printf(struct s3w_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline struct s3w_slice s3w_buf_slice(const struct s3w_buf *b)
{
    return (struct s3w_slice){ b->ptr, b->len };
}

/* ---- hex ------------------------------------------------------------------- */
/* The upper-case hex digits, for percent-encoding (RFC 3986 section 2.1:
 * "should use uppercase") and request ids. */
extern const char s3w_hex_upper[17];
/* Writes 2*n lower-case hex digits and a NUL to out (size >= 2*n + 1). */
void s3w_hex_encode(const uint8_t *in, size_t n, char *out);
/* Decodes exactly 2*n hex digits (either case) into out[n]. 0 or S3W_E_INVAL. */
int s3w_hex_decode(struct s3w_slice in, uint8_t *out, size_t n);
/* The same for lower-case digits only, as AWS writes every hash and
 * signature ("Hex(): lowercase base 16"): "AB" is S3W_E_INVAL. */
int s3w_hex_decode_lower(struct s3w_slice in, uint8_t *out, size_t n);

/* ---- secrets --------------------------------------------------------------- */
/* Wipes memory in a way the compiler cannot elide (explicit_bzero). */
void s3w_wipe(void *p, size_t n);
/* Constant-time equality of two equal-length byte strings (CRYPTO_memcmp).
 * Lengths are not secret: unequal lengths return false at once. */
bool s3w_ct_equal(const void *a, size_t alen, const void *b, size_t blen);

#endif
