/* Unit tests for base/bytes.c: capped buffers, hex, constant-time compare. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

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
        cmocka_unit_test(test_hex_roundtrip),
        cmocka_unit_test(test_ct_equal_and_slices),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
