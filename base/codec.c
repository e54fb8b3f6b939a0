#include "codec.h"

int s3w_hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long s3w_pct_decode(struct s3w_slice in, char *out, size_t cap, unsigned flags)
{
    size_t o = 0;
    for (size_t i = 0; i < in.len; i++) {
        char c = in.ptr[i];
        if (c == '%') {
            if (in.len - i < 3)
                return S3W_E_INVAL;
            int hi = s3w_hex_digit((unsigned char)in.ptr[i + 1]);
            int lo = s3w_hex_digit((unsigned char)in.ptr[i + 2]);
            if (hi < 0 || lo < 0)
                return S3W_E_INVAL;
            c = (char)(hi << 4 | lo);
            i += 2;
        } else if (c == '+' && (flags & S3W_PCT_PLUS_SPACE)) {
            c = ' ';
        }
        if (o == cap)
            return S3W_E_TOOBIG;
        out[o++] = c;
    }
    return (long)o;
}

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t s3w_b64_encode(const uint8_t *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = B64[(v >> 18) & 63];
        out[o++] = B64[(v >> 12) & 63];
        out[o++] = i + 1 < n ? B64[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? B64[v & 63] : '=';
    }
    out[o] = '\0';
    return o;
}

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

long s3w_b64_decode(struct s3w_slice in, uint8_t *out, size_t cap, unsigned flags)
{
    if (in.len % 4)
        return S3W_E_INVAL;
    if (in.len == 0)
        return 0;
    size_t pad = in.ptr[in.len - 1] != '=' ? 0 : in.ptr[in.len - 2] == '=' ? 2 : 1;
    /* checked before anything is written: on TOOBIG out is untouched */
    if (in.len / 4 * 3 - pad > cap)
        return S3W_E_TOOBIG;
    size_t o = 0;
    for (size_t i = 0; i < in.len; i += 4) {
        bool last = i + 4 == in.len;
        int v[4];
        for (size_t j = 0; j < 4; j++) {
            unsigned char c = (unsigned char)in.ptr[i + j];
            if (c == '=' && last && j >= 4 - pad)
                v[j] = 0;
            else if ((v[j] = b64_value(c)) < 0)
                return S3W_E_INVAL; /* not base64, or '=' before the end */
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
                     (uint32_t)v[3];
        size_t take = last ? 3 - pad : 3;
        /* RFC 4648 section 3.5: the bits the padding leaves unused are zero
         * in a canonical encoding; otherwise two strings decode alike */
        if (take < 3 && !(flags & S3W_B64_NONCANONICAL) && (w & (0xffffffu >> (8 * take))))
            return S3W_E_INVAL;
        out[o++] = (uint8_t)(w >> 16);
        if (take > 1)
            out[o++] = (uint8_t)(w >> 8);
        if (take > 2)
            out[o++] = (uint8_t)w;
    }
    return (long)o;
}
