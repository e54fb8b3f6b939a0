#include "bytes.h"
#include "codec.h"

#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

const char *s3w_strerror(int err)
{
    switch (err) {
    case S3W_OK:
        return "ok";
    case S3W_E_NOMEM:
        return "out of memory";
    case S3W_E_TOOBIG:
        return "over the size cap";
    case S3W_E_INVAL:
        return "malformed input";
    }
    return "unknown error";
}

static inline unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* The 8 bytes of w with A-Z lowered, each byte tested on its low 7 bits
 * (no sum below carries into the next byte) and left alone when its top
 * bit is set: the top bit of (m + 0x80 - 'A') says m >= 'A', of
 * (m + 0x80 - 'Z' - 1) says m > 'Z'. */
static inline uint64_t lower8(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ull, highs = ones * 0x80;
    const uint64_t m = w & ~highs;
    const uint64_t upper = (m + ones * (0x80 - 'A')) & ~(m + ones * (0x80 - 'Z' - 1)) & ~w & highs;
    return w | upper >> 2; /* 0x80 >> 2 == 0x20 */
}

bool s3w_header_value_ok(struct s3w_slice v)
{
    for (size_t i = 0; i < v.len; i++)
        if (((unsigned char)v.ptr[i] < 0x20 && v.ptr[i] != '\t') || v.ptr[i] == 0x7f)
            return false;
    return true;
}

bool s3w_bytes_eq_nocase(const char *a, const char *b, size_t n)
{
    /* most calls are look-ups in a list of names of the same length that
     * differ at once; names mostly come as the list has them (lower case);
     * the rest share "x-amz-" and more: compared 8 bytes at a time */
    if (n && lower((unsigned char)a[0]) != lower((unsigned char)b[0]))
        return false;
    size_t i = 0;
    uint64_t wa, wb;
    for (; i + 8 <= n; i += 8) {
        memcpy(&wa, a + i, 8);
        memcpy(&wb, b + i, 8);
        if (wa != wb && lower8(wa) != lower8(wb))
            return false;
    }
    if (i < n && n >= 8) {
        /* the last 8 bytes as one word: those before i compared equal
         * already, so comparing them again changes nothing */
        memcpy(&wa, a + n - 8, 8);
        memcpy(&wb, b + n - 8, 8);
        return wa == wb || lower8(wa) == lower8(wb);
    }
    for (; i < n; i++)
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
            return false;
    return true;
}

bool s3w_slice_starts_with(struct s3w_slice s, struct s3w_slice prefix)
{
    return s.len >= prefix.len && (prefix.len == 0 || memcmp(s.ptr, prefix.ptr, prefix.len) == 0);
}

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

struct s3w_slice s3w_slice_trim(struct s3w_slice s)
{
    while (s.len && is_ws(s.ptr[0])) {
        s.ptr++;
        s.len--;
    }
    while (s.len && is_ws(s.ptr[s.len - 1]))
        s.len--;
    return s;
}

void s3w_buf_init(struct s3w_buf *b, size_t max)
{
    b->ptr = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void s3w_buf_cleanup(struct s3w_buf *b)
{
    if (b->ptr) {
        s3w_wipe(b->ptr, b->cap);
        free(b->ptr);
    }
    b->ptr = NULL;
    b->len = b->cap = 0;
}

void s3w_buf_reset(struct s3w_buf *b)
{
    b->len = 0;
    if (b->ptr)
        b->ptr[0] = '\0';
}

static int reserve(struct s3w_buf *b, size_t extra)
{
    if (extra > b->max || b->len > b->max - extra)
        return S3W_E_TOOBIG;
    size_t need = b->len + extra + 1; /* + NUL */
    if (need <= b->cap)
        return S3W_OK;
    size_t ncap = b->cap ? b->cap : 64;
    while (ncap < need)
        ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    /* need <= max + 1 here, so this cannot shrink below need; written as
     * ncap - 1 > max so that max == SIZE_MAX does not wrap to 0 */
    if (ncap - 1 > b->max)
        ncap = b->max + 1;
    char *p = malloc(ncap);
    if (!p)
        return S3W_E_NOMEM;
    if (b->ptr) {
        memcpy(p, b->ptr, b->len);
        s3w_wipe(b->ptr, b->cap); /* the old block may have held a secret */
        free(b->ptr);
    }
    b->ptr = p;
    b->cap = ncap;
    return S3W_OK;
}

int s3w_buf_append_grow(struct s3w_buf *b, const void *p, size_t n)
{
    int rc = reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->ptr + b->len, p, n);
    b->len += n;
    b->ptr[b->len] = '\0';
    return S3W_OK;
}

/* mag in decimal, after a '-' when neg, at the end of d. */
static size_t dec(char d[S3W_DEC_MAX], unsigned long long mag, bool neg)
{
    size_t i = S3W_DEC_MAX;
    do {
        d[--i] = (char)('0' + mag % 10);
        mag /= 10;
    } while (mag);
    if (neg)
        d[--i] = '-';
    return i;
}

size_t s3w_dec_u64(char d[S3W_DEC_MAX], unsigned long long v)
{
    return dec(d, v, false);
}

size_t s3w_dec_i64(char d[S3W_DEC_MAX], long long v)
{
    /* -(v + 1) + 1: LLONG_MIN's magnitude does not fit a long long */
    return v >= 0 ? dec(d, (unsigned long long)v, false)
                  : dec(d, (unsigned long long)(-(v + 1)) + 1, true);
}

/* as one append: all or nothing */
int s3w_buf_append_u64(struct s3w_buf *b, unsigned long long v)
{
    char d[S3W_DEC_MAX];
    size_t i = s3w_dec_u64(d, v);
    return s3w_buf_append(b, d + i, sizeof(d) - i);
}

int s3w_buf_append_i64(struct s3w_buf *b, long long v)
{
    char d[S3W_DEC_MAX];
    size_t i = s3w_dec_i64(d, v);
    return s3w_buf_append(b, d + i, sizeof(d) - i);
}

int s3w_buf_printf(struct s3w_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return S3W_E_INVAL;
    int rc = reserve(b, (size_t)n);
    if (rc)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return S3W_OK;
}

/* Every request hex-encodes several hashes and signatures and decodes two:
 * a byte at a time through tables, not a digit at a time through calls. */
#define HEX_PAIRS_ROW(h) h "0" h "1" h "2" h "3" h "4" h "5" h "6" h "7" \
                         h "8" h "9" h "a" h "b" h "c" h "d" h "e" h "f"
static const char hex_pairs[512 + 1] =
    HEX_PAIRS_ROW("0") HEX_PAIRS_ROW("1") HEX_PAIRS_ROW("2") HEX_PAIRS_ROW("3")
    HEX_PAIRS_ROW("4") HEX_PAIRS_ROW("5") HEX_PAIRS_ROW("6") HEX_PAIRS_ROW("7")
    HEX_PAIRS_ROW("8") HEX_PAIRS_ROW("9") HEX_PAIRS_ROW("a") HEX_PAIRS_ROW("b")
    HEX_PAIRS_ROW("c") HEX_PAIRS_ROW("d") HEX_PAIRS_ROW("e") HEX_PAIRS_ROW("f");
#undef HEX_PAIRS_ROW

const char s3w_hex_upper[17] = "0123456789ABCDEF";

void s3w_hex_encode(const uint8_t *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        memcpy(out + 2 * i, hex_pairs + 2 * in[i], 2);
    out[2 * n] = '\0';
}

/* A hex digit's value, or 0x10 and up for any other byte (hex_value_lower:
 * upper-case letters too). */
#define HD_X 0x10
#define HD_ROW_X HD_X, HD_X, HD_X, HD_X, HD_X, HD_X, HD_X, HD_X, \
                 HD_X, HD_X, HD_X, HD_X, HD_X, HD_X, HD_X, HD_X
static const uint8_t hex_value[256] = {
    HD_ROW_X, HD_ROW_X, HD_ROW_X,
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, HD_X, HD_X, HD_X, HD_X, HD_X, HD_X,
    HD_X, 10, 11, 12, 13, 14, 15, HD_X, HD_X, HD_X, HD_X, HD_X, HD_X, HD_X, HD_X, HD_X,
    HD_ROW_X,
    HD_X, 10, 11, 12, 13, 14, 15, HD_X, HD_X, HD_X, HD_X, HD_X, HD_X, HD_X, HD_X, HD_X,
    HD_ROW_X,
    HD_ROW_X, HD_ROW_X, HD_ROW_X, HD_ROW_X, HD_ROW_X, HD_ROW_X, HD_ROW_X, HD_ROW_X,
};
static const uint8_t hex_value_lower[256] = {
    HD_ROW_X, HD_ROW_X, HD_ROW_X,
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, HD_X, HD_X, HD_X, HD_X, HD_X, HD_X,
    HD_ROW_X,
    HD_ROW_X,
    HD_X, 10, 11, 12, 13, 14, 15, HD_X, HD_X, HD_X, HD_X, HD_X, HD_X, HD_X, HD_X, HD_X,
    HD_ROW_X,
    HD_ROW_X, HD_ROW_X, HD_ROW_X, HD_ROW_X, HD_ROW_X, HD_ROW_X, HD_ROW_X, HD_ROW_X,
};
#undef HD_ROW_X

static int hex_decode_by(const uint8_t value[256], struct s3w_slice in, uint8_t *out, size_t n)
{
    if (in.len != 2 * n)
        return S3W_E_INVAL;
    unsigned bad = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned hi = value[(unsigned char)in.ptr[2 * i]];
        unsigned lo = value[(unsigned char)in.ptr[2 * i + 1]];
        bad |= hi | lo;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return bad & HD_X ? S3W_E_INVAL : S3W_OK;
}

int s3w_hex_decode(struct s3w_slice in, uint8_t *out, size_t n)
{
    return hex_decode_by(hex_value, in, out, n);
}

int s3w_hex_decode_lower(struct s3w_slice in, uint8_t *out, size_t n)
{
    return hex_decode_by(hex_value_lower, in, out, n);
}
#undef HD_X

/* explicit_bzero (glibc 2.25), not OPENSSL_cleanse: the same promise - the
 * stores are not elided - at memset's speed, where OpenSSL's x86-64
 * OPENSSL_cleanse loops storing 8 bytes (or, unaligned and short, 1) a
 * turn: about 120 instructions each for the ~20 wipes of every request's
 * keys, tokens and signing buffers. */
void s3w_wipe(void *p, size_t n)
{
    if (p && n)
        explicit_bzero(p, n);
}

bool s3w_ct_equal(const void *a, size_t alen, const void *b, size_t blen)
{
    if (alen != blen)
        return false;
    return CRYPTO_memcmp(a, b, alen) == 0;
}
