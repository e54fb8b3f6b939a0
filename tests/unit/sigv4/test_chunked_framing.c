/* test_chunked_framing.c - sigv4_chunked_framing_parse: the aws-chunked
 * framing headers read once, before the body (chunked.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "chunked.h"

static int parse(const char *dcl, const char *tr, struct sigv4_chunked_framing *f)
{
    return sigv4_chunked_framing_parse(dcl ? s3w_slice_cstr(dcl) : S3W_SLICE_NULL,
                                       tr ? s3w_slice_cstr(tr) : S3W_SLICE_NULL, f);
}

static void test_length(void **state)
{
    (void)state;
    struct sigv4_chunked_framing f;
    assert_int_equal(parse("66560", NULL, &f), 0);
    assert_true(f.decoded_length == 66560);
    assert_true(f.sized);
    assert_int_equal(f.ntrailers, 0);
    assert_null(f.trailer_names.ptr);
    assert_int_equal(parse("0", NULL, &f), 0);
    assert_true(f.decoded_length == 0);
    assert_int_equal(parse("18446744073709551615", NULL, &f), 0);
    assert_true(f.decoded_length == UINT64_MAX);
}

static void test_length_refused(void **state)
{
    (void)state;
    struct sigv4_chunked_framing f;
    assert_int_equal(parse(NULL, NULL, &f), SIGV4_FRAMING_E_NO_LENGTH);
    assert_int_equal(parse("", NULL, &f), SIGV4_FRAMING_E_BAD_LENGTH);
    assert_int_equal(parse("12a", NULL, &f), SIGV4_FRAMING_E_BAD_LENGTH);
    assert_int_equal(parse("-1", NULL, &f), SIGV4_FRAMING_E_BAD_LENGTH);
    assert_int_equal(parse(" 5", NULL, &f), SIGV4_FRAMING_E_BAD_LENGTH);
    assert_int_equal(parse("18446744073709551616", NULL, &f), SIGV4_FRAMING_E_BAD_LENGTH);
    assert_int_equal(parse("99999999999999999999", NULL, &f), SIGV4_FRAMING_E_BAD_LENGTH);
}

/* Placeholder values as long as the base64 digest: CRC32 4 bytes -> 8,
 * SHA-1 20 -> 28, SHA-256 32 -> 44 (S3 User Guide, "Checking object
 * integrity"). */
static void test_trailers_sized(void **state)
{
    (void)state;
    struct sigv4_chunked_framing f;
    assert_int_equal(parse("5", " x-amz-checksum-crc32 , x-amz-checksum-sha256", &f), 0);
    assert_true(f.sized);
    assert_int_equal(f.ntrailers, 2);
    assert_true(s3w_slice_eq_cstr(f.trailers[0].name, "x-amz-checksum-crc32"));
    assert_int_equal(f.trailers[0].value.len, 8);
    assert_true(s3w_slice_eq_cstr(f.trailers[1].name, "x-amz-checksum-sha256"));
    assert_int_equal(f.trailers[1].value.len, 44);
    assert_true(s3w_slice_eq_cstr(f.trailer_names, " x-amz-checksum-crc32 , x-amz-checksum-sha256"));
    assert_int_equal(parse("5", "x-amz-checksum-sha1,", &f), 0);
    assert_int_equal(f.ntrailers, 1);
    assert_int_equal(f.trailers[0].value.len, 28);
}

/* A name that is not a checksum header, or too many: not sized (the
 * decoder refuses them), and no trailer half-listed. */
static void test_trailers_unsized(void **state)
{
    (void)state;
    struct sigv4_chunked_framing f;
    assert_int_equal(parse("5", "x-amz-checksum-crc32,x-amz-meta-a", &f), 0);
    assert_false(f.sized);
    assert_int_equal(f.ntrailers, 0);
    assert_int_equal(parse("5", "x-amz-checksum-crc32,x-amz-checksum-crc32,x-amz-checksum-crc32,"
                                "x-amz-checksum-crc32,x-amz-checksum-crc32", &f), 0);
    assert_false(f.sized);
    assert_int_equal(f.ntrailers, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_length),
        cmocka_unit_test(test_length_refused),
        cmocka_unit_test(test_trailers_sized),
        cmocka_unit_test(test_trailers_unsized),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
