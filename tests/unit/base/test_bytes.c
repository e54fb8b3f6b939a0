/* Unit tests for base/bytes.c: capped buffers, hex, constant-time compare. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"

static void test_buf_cap_is_enforced(void **state)
{
    (void)state;
    struct s3w_buf b;
    s3w_buf_init(&b, 8);
    assert_int_equal(s3w_buf_append_cstr(&b, "12345678"), S3W_OK);
    assert_int_equal(b.len, 8);
    assert_int_equal(s3w_buf_append_char(&b, 'x'), S3W_E_TOOBIG);
    assert_int_equal(b.len, 8); /* unchanged by the refused append */
    assert_string_equal(b.ptr, "12345678");
    s3w_buf_cleanup(&b);
}

/* A fixed buffer fills its storage to size - 1 bytes (and the NUL) and
 * never grows: every append past that is refused, by each append path, and
 * the storage stays the caller's (a grow would have realloc'd it). */
static void test_buf_fixed_never_grows(void **state)
{
    (void)state;
    char store[9 + 4];
    memset(store, 'z', sizeof(store));
    struct s3w_buf b;
    s3w_buf_fixed(&b, store, 9);
    assert_int_equal(b.len, 0);
    assert_int_equal(store[0], '\0');
    assert_int_equal(s3w_buf_append_cstr(&b, "1234"), S3W_OK);
    assert_int_equal(s3w_buf_append(&b, "5678", 4), S3W_OK);
    assert_int_equal(b.len, 8);
    assert_ptr_equal(b.ptr, store);
    assert_string_equal(store, "12345678");
    assert_int_equal(s3w_buf_append_char(&b, 'x'), S3W_E_TOOBIG);
    assert_int_equal(s3w_buf_append(&b, "xy", 2), S3W_E_TOOBIG);
    assert_int_equal(s3w_buf_append_u64(&b, 7), S3W_E_TOOBIG);
    assert_int_equal(s3w_buf_printf(&b, "%d", 7), S3W_E_TOOBIG);
    assert_ptr_equal(b.ptr, store);
    assert_int_equal(b.len, 8);
    assert_memory_equal(store + 9, "zzzz", 4); /* nothing past its size */
}

static void test_buf_printf(void **state)
{
    (void)state;
    struct s3w_buf b;
    s3w_buf_init(&b, 16);
    assert_int_equal(s3w_buf_printf(&b, "%s=%d", "a", 42), S3W_OK);
    assert_string_equal(b.ptr, "a=42");
    assert_int_equal(s3w_buf_printf(&b, "%020d", 1), S3W_E_TOOBIG);
    assert_string_equal(b.ptr, "a=42");
    s3w_buf_cleanup(&b);
}

/* The inline append copies without growing when the bytes fit the storage;
 * storage allocated beyond max (pipeline.c presizes buffers) must still
 * not let len pass max, and a piece that just fills the storage (no room
 * for the NUL) goes through the growing path. */
static void test_buf_append_fast_path_bounds(void **state)
{
    (void)state;
    struct s3w_buf b;
    s3w_buf_init(&b, 8);
    b.ptr = malloc(64);
    assert_non_null(b.ptr);
    b.cap = 64;
    b.ptr[0] = '\0';
    assert_int_equal(s3w_buf_append_cstr(&b, "1234567"), S3W_OK);
    /* an empty slice's NULL is never handed to memcpy (UBSan: nonnull) */
    assert_int_equal(s3w_buf_append_slice(&b, S3W_SLICE_NULL), S3W_OK);
    assert_int_equal(s3w_buf_append_char(&b, '8'), S3W_OK);
    assert_int_equal(s3w_buf_append_char(&b, 'x'), S3W_E_TOOBIG);
    assert_int_equal(b.len, 8);
    assert_string_equal(b.ptr, "12345678");
    s3w_buf_cleanup(&b);

    s3w_buf_init(&b, 1000);
    assert_int_equal(s3w_buf_append_char(&b, 'a'), S3W_OK); /* first storage: 64 */
    assert_int_equal(b.cap, 64);
    char fill[63];
    memset(fill, 'b', sizeof(fill));
    assert_int_equal(s3w_buf_append(&b, fill, sizeof(fill)), S3W_OK); /* len 64: grows */
    assert_true(b.cap > 64);
    assert_int_equal(b.len, 64);
    assert_int_equal(b.ptr[0], 'a');
    assert_int_equal(b.ptr[63], 'b');
    assert_int_equal(b.ptr[64], '\0');
    s3w_buf_cleanup(&b);
}

/* s3w_buf_append_i64/_u64 write what printf's %lld/%llu write. */
static void test_buf_append_decimal(void **state)
{
    (void)state;
    static const long long sv[] = { 0, 1, -1, 9, 10, -10, 99, 100, 12345, -987654321,
                                    LLONG_MAX, LLONG_MIN, LLONG_MIN + 1 };
    static const unsigned long long uv[] = { 0, 7, 10, 4294967295ull, 4294967296ull,
                                             10000000000000000000ull, ULLONG_MAX };
    char want[32];
    struct s3w_buf b;
    s3w_buf_init(&b, 64);
    for (size_t i = 0; i < sizeof(sv) / sizeof(sv[0]); i++) {
        s3w_buf_reset(&b);
        snprintf(want, sizeof(want), "%lld", sv[i]);
        assert_int_equal(s3w_buf_append_i64(&b, sv[i]), S3W_OK);
        assert_string_equal(b.ptr, want);
    }
    for (size_t i = 0; i < sizeof(uv) / sizeof(uv[0]); i++) {
        s3w_buf_reset(&b);
        snprintf(want, sizeof(want), "%llu", uv[i]);
        assert_int_equal(s3w_buf_append_u64(&b, uv[i]), S3W_OK);
        assert_string_equal(b.ptr, want);
    }
    s3w_buf_cleanup(&b);
    /* over the cap: refused whole, the buffer unchanged */
    s3w_buf_init(&b, 4);
    assert_int_equal(s3w_buf_append_cstr(&b, "ab"), S3W_OK);
    assert_int_equal(s3w_buf_append_u64(&b, 123), S3W_E_TOOBIG);
    assert_int_equal(s3w_buf_append_i64(&b, -12), S3W_E_TOOBIG);
    assert_string_equal(b.ptr, "ab");
    s3w_buf_cleanup(&b);
}

static void test_hex_roundtrip(void **state)
{
    (void)state;
    const uint8_t in[] = { 0x00, 0x7f, 0xab, 0xff };
    char hex[9];
    s3w_hex_encode(in, sizeof in, hex);
    assert_string_equal(hex, "007fabff");
    uint8_t out[4];
    assert_int_equal(s3w_hex_decode(s3w_slice_cstr("007FabfF"), out, 4), S3W_OK);
    assert_memory_equal(in, out, 4);
    assert_int_equal(s3w_hex_decode(s3w_slice_cstr("007fabf"), out, 4), S3W_E_INVAL);
    assert_int_equal(s3w_hex_decode(s3w_slice_cstr("007fabfg"), out, 4), S3W_E_INVAL);
}

/* The tables behind hex encoding and decoding, byte value by byte value:
 * against printf's digits and a plain reading of which bytes are digits
 * (either case, or lower case only for s3w_hex_decode_lower). */
static void test_hex_every_byte(void **state)
{
    (void)state;
    for (unsigned v = 0; v < 256; v++) {
        uint8_t in = (uint8_t)v;
        char got[3], want[3];
        s3w_hex_encode(&in, 1, got);
        snprintf(want, sizeof want, "%02x", v);
        assert_string_equal(got, want);
    }
    for (int lower = 0; lower < 2; lower++) { /* s3w_hex_decode, then _lower */
        for (unsigned c = 0; c < 256; c++) {
            int want = c >= '0' && c <= '9' ? (int)c - '0'
                     : c >= 'a' && c <= 'f' ? (int)c - 'a' + 10
                     : c >= 'A' && c <= 'F' && !lower ? (int)c - 'A' + 10 : -1;
            for (int at = 0; at < 2; at++) {
                char pair[2] = { '5', '5' };
                pair[at] = (char)c;
                uint8_t out = 0;
                struct s3w_slice in = { pair, 2 };
                int rc = lower ? s3w_hex_decode_lower(in, &out, 1) : s3w_hex_decode(in, &out, 1);
                if (want < 0) {
                    assert_int_equal(rc, S3W_E_INVAL);
                    continue;
                }
                assert_int_equal(rc, S3W_OK);
                assert_int_equal(out, at == 0 ? want << 4 | 5 : 5 << 4 | want);
            }
        }
    }
}

/* Case-insensitive equality, one differing or case-folded byte at each
 * offset (the first byte is tested apart from the rest), at each length
 * up to 20 (a tail of 0-7 bytes after whole words: past 8 bytes the tail
 * is compared as the last 8, overlapping). */
static void test_eq_nocase_each_offset(void **state)
{
    (void)state;
    const char *base = "x-amz-content-sha256";
    for (size_t n = 1; n <= strlen(base); n++) {
        /* exactly n bytes each: ASan reports a read outside them */
        char *a = malloc(n), *b = malloc(n);
        assert_non_null(a);
        assert_non_null(b);
        for (size_t i = 0; i < n; i++) {
            memcpy(a, base, n);
            memcpy(b, base, n);
            b[i] = (char)(b[i] >= 'a' && b[i] <= 'z' ? b[i] - 32 : b[i]);
            assert_true(s3w_bytes_eq_nocase(a, b, n));
            b[i] = (char)(base[i] == 'q' ? 'r' : 'q');
            assert_false(s3w_bytes_eq_nocase(a, b, n));
            b[i] = (char)(base[i] ^ 0x20); /* '-' and '2' differ from '\r' and '\x12' */
            assert_int_equal(s3w_bytes_eq_nocase(a, b, n), base[i] >= 'a' && base[i] <= 'z');
        }
        free(a);
        free(b);
    }
    assert_true(s3w_bytes_eq_nocase("", "", 0));
}

/* Every pair of byte values at each offset of a 24-byte name (three words,
 * and tails of every length after them) against a byte-by-byte reading:
 * only A-Z fold, onto a-z; bytes over 0x7f and the neighbours of the
 * letters ('@', '[', '`', '{') are themselves. */
static void test_eq_nocase_every_pair(void **state)
{
    (void)state;
    const char *base = "x-amz-server-side-encryp";
    for (size_t len = 17; len <= 24; len++) {
        for (size_t at = 0; at < len; at++) {
            char a[24], b[24];
            memcpy(a, base, len);
            memcpy(b, base, len);
            for (unsigned x = 0; x < 256; x++) {
                for (unsigned y = 0; y < 256; y++) {
                    a[at] = (char)x;
                    b[at] = (char)y;
                    unsigned lx = x >= 'A' && x <= 'Z' ? x + 32 : x;
                    unsigned ly = y >= 'A' && y <= 'Z' ? y + 32 : y;
                    if (s3w_bytes_eq_nocase(a, b, len) != (lx == ly))
                        fail_msg("len %zu offset %zu: 0x%02x vs 0x%02x", len, at, x, y);
                }
            }
        }
    }
}

static void test_ct_equal_and_slices(void **state)
{
    (void)state;
    assert_true(s3w_ct_equal("abc", 3, "abc", 3));
    assert_false(s3w_ct_equal("abc", 3, "abd", 3));
    assert_false(s3w_ct_equal("abc", 3, "abcd", 4));
    assert_true(s3w_slice_eq_nocase(s3w_slice_cstr("X-Amz-Date"), s3w_slice_cstr("x-amz-date")));
    assert_false(s3w_slice_eq_nocase(s3w_slice_cstr("x-amz-dat"), s3w_slice_cstr("x-amz-date")));
    assert_true(s3w_slice_starts_with(s3w_slice_cstr("x-amz-meta-a"), S3W_SLICE_LIT("x-amz-")));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_cap_is_enforced),
        cmocka_unit_test(test_buf_printf),
        cmocka_unit_test(test_buf_append_fast_path_bounds),
        cmocka_unit_test(test_buf_append_decimal),
        cmocka_unit_test(test_hex_roundtrip),
        cmocka_unit_test(test_hex_every_byte),
        cmocka_unit_test(test_eq_nocase_each_offset),
        cmocka_unit_test(test_eq_nocase_every_pair),
        cmocka_unit_test(test_buf_fixed_never_grows),
        cmocka_unit_test(test_ct_equal_and_slices),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
