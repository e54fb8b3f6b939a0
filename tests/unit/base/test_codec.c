/* Unit tests for base/codec.c: hex digits, percent-decoding, base64
 * (RFC 4648 section 10 vectors, strictness, caps). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "codec.h"

static long pct(const char *in, char *out, size_t cap, unsigned flags)
{
    return s3w_pct_decode(s3w_slice_cstr(in), out, cap, flags);
}

static void test_hex_digit(void **state)
{
    (void)state;
    assert_int_equal(s3w_hex_digit('0'), 0);
    assert_int_equal(s3w_hex_digit('9'), 9);
    assert_int_equal(s3w_hex_digit('a'), 10);
    assert_int_equal(s3w_hex_digit('F'), 15);
    assert_int_equal(s3w_hex_digit('g'), -1);
    assert_int_equal(s3w_hex_digit('G'), -1);
    assert_int_equal(s3w_hex_digit('/'), -1); /* '0' - 1 */
    assert_int_equal(s3w_hex_digit(':'), -1); /* '9' + 1 */
    assert_int_equal(s3w_hex_digit(0), -1);
    assert_int_equal(s3w_hex_digit(0xe0), -1);
}

static void test_pct_decode_escapes(void **state)
{
    (void)state;
    char out[32];
    assert_int_equal(pct("a%20b%2Fc%2fd", out, sizeof out, 0), 7);
    assert_memory_equal(out, "a b/c/d", 7);
    assert_int_equal(pct("%00%FF", out, sizeof out, 0), 2);
    assert_int_equal((unsigned char)out[0], 0);
    assert_int_equal((unsigned char)out[1], 0xff);
    /* the result of an escape is never decoded again */
    assert_int_equal(pct("%2541", out, sizeof out, 0), 3);
    assert_memory_equal(out, "%41", 3);
    assert_int_equal(pct("", out, sizeof out, 0), 0);
}

static void test_pct_decode_truncated_and_bad(void **state)
{
    (void)state;
    char out[32];
    assert_int_equal(pct("%", out, sizeof out, 0), S3W_E_INVAL);
    assert_int_equal(pct("abc%", out, sizeof out, 0), S3W_E_INVAL);
    assert_int_equal(pct("abc%4", out, sizeof out, 0), S3W_E_INVAL);
    assert_int_equal(pct("%4g", out, sizeof out, 0), S3W_E_INVAL);
    assert_int_equal(pct("%g4", out, sizeof out, 0), S3W_E_INVAL);
    assert_int_equal(pct("%%41", out, sizeof out, 0), S3W_E_INVAL);
    assert_int_equal(pct("% 1", out, sizeof out, 0), S3W_E_INVAL);
    assert_int_equal(pct("%+1", out, sizeof out, S3W_PCT_PLUS_SPACE), S3W_E_INVAL);
    /* the escape is read from the slice only: a '4' past its end (here the
     * NUL-terminated literal goes on) must not complete it */
    assert_int_equal(s3w_pct_decode(s3w_slice("%41", 2), out, sizeof out, 0), S3W_E_INVAL);
}

static void test_pct_decode_plus(void **state)
{
    (void)state;
    char out[32];
    assert_int_equal(pct("a+b", out, sizeof out, 0), 3);
    assert_memory_equal(out, "a+b", 3); /* URI paths and SigV4: '+' is '+' */
    assert_int_equal(pct("a+b", out, sizeof out, S3W_PCT_PLUS_SPACE), 3);
    assert_memory_equal(out, "a b", 3); /* forms: '+' is a space */
    assert_int_equal(pct("%2B+", out, sizeof out, S3W_PCT_PLUS_SPACE), 2);
    assert_memory_equal(out, "+ ", 2); /* an escaped '+' stays a '+' */
}

static void test_pct_decode_cap(void **state)
{
    (void)state;
    char out[4] = { 'x', 'x', 'x', 'x' };
    assert_int_equal(pct("abc", out, 3, 0), 3);
    assert_int_equal(pct("abcd", out, 3, 0), S3W_E_TOOBIG);
    assert_int_equal(pct("ab%41", out, 3, 0), 3); /* decoded length counts */
    assert_int_equal(pct("ab%41%42", out, 3, 0), S3W_E_TOOBIG);
    assert_int_equal(pct("", out, 0, 0), 0);
    assert_int_equal(pct("a", out, 0, 0), S3W_E_TOOBIG);
    assert_int_equal(out[3], 'x'); /* never past cap */
}

static const struct {
    const char *plain, *b64;
} rfc4648[] = {
    /* RFC 4648 section 10 */
    { "", "" },          { "f", "Zg==" },         { "fo", "Zm8=" },         { "foo", "Zm9v" },
    { "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
};

static void test_b64_rfc4648_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rfc4648 / sizeof rfc4648[0]; i++) {
        char enc[16];
        uint8_t dec[16];
        size_t n = strlen(rfc4648[i].plain);
        assert_int_equal(S3W_B64_ENCODED_LEN(n), strlen(rfc4648[i].b64));
        assert_int_equal(s3w_b64_encode((const uint8_t *)rfc4648[i].plain, n, enc),
                         strlen(rfc4648[i].b64));
        assert_string_equal(enc, rfc4648[i].b64);
        assert_int_equal(s3w_b64_decode(s3w_slice_cstr(rfc4648[i].b64), dec, sizeof dec, 0),
                         (long)n);
        assert_memory_equal(dec, rfc4648[i].plain, n);
    }
}

static void test_b64_all_bytes_round_trip(void **state)
{
    (void)state;
    uint8_t in[256], dec[256];
    char enc[S3W_B64_ENCODED_LEN(256) + 1];
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (uint8_t)(255 - i);
    for (size_t n = 0; n <= sizeof in; n += 17) {
        size_t e = s3w_b64_encode(in, n, enc);
        assert_int_equal(e, S3W_B64_ENCODED_LEN(n));
        assert_int_equal(s3w_b64_decode(s3w_slice(enc, e), dec, n, 0), (long)n);
        assert_memory_equal(dec, in, n);
    }
    /* every alphabet character decodes to its own value */
    assert_int_equal(s3w_b64_decode(S3W_SLICE_LIT("+/+/"), dec, 3, 0), 3);
    assert_int_equal(dec[0], 0xfb);
    assert_int_equal(dec[1], 0xff);
    assert_int_equal(dec[2], 0xbf);
}

static long b64(const char *in)
{
    uint8_t out[64];
    return s3w_b64_decode(s3w_slice_cstr(in), out, sizeof out, 0);
}

static void test_b64_bad_padding(void **state)
{
    (void)state;
    assert_int_equal(b64("Zg"), S3W_E_INVAL);     /* padding missing */
    assert_int_equal(b64("Zg="), S3W_E_INVAL);    /* length not a multiple of 4 */
    assert_int_equal(b64("Z==="), S3W_E_INVAL);   /* three '=' */
    assert_int_equal(b64("===="), S3W_E_INVAL);
    assert_int_equal(b64("Zg==Zg=="), S3W_E_INVAL); /* padding inside */
    assert_int_equal(b64("Zm8=Zm9v"), S3W_E_INVAL);
    assert_int_equal(b64("Z=g="), S3W_E_INVAL);
}

static void test_b64_data_after_padding(void **state)
{
    (void)state;
    assert_int_equal(b64("Zg=A"), S3W_E_INVAL);
    assert_int_equal(b64("Zm9vYg=A"), S3W_E_INVAL);
    assert_int_equal(b64("Zm9v="), S3W_E_INVAL);
}

static void test_b64_non_alphabet(void **state)
{
    (void)state;
    assert_int_equal(b64("Zm9 "), S3W_E_INVAL);
    assert_int_equal(b64("Zm9v\n"), S3W_E_INVAL);
    assert_int_equal(b64("Zm 9v"), S3W_E_INVAL);
    assert_int_equal(b64("Zm-_"), S3W_E_INVAL); /* base64url is not accepted */
    assert_int_equal(b64("Zm9\x80"), S3W_E_INVAL);
    assert_int_equal(s3w_b64_decode(s3w_slice("Zm\0v", 4), (uint8_t[4]){ 0 }, 4, 0),
                     S3W_E_INVAL);
}

static void test_b64_canonical(void **state)
{
    (void)state;
    uint8_t out[4];
    /* "Zh==" and "Zm9=" carry set bits that the padding drops */
    assert_int_equal(b64("Zh=="), S3W_E_INVAL);
    assert_int_equal(b64("Zm9="), S3W_E_INVAL);
    assert_int_equal(s3w_b64_decode(S3W_SLICE_LIT("Zh=="), out, sizeof out, S3W_B64_NONCANONICAL),
                     1);
    assert_int_equal(out[0], 'f');
    assert_int_equal(s3w_b64_decode(S3W_SLICE_LIT("Zm9="), out, sizeof out, S3W_B64_NONCANONICAL),
                     2);
    assert_memory_equal(out, "fo", 2);
}

static void test_b64_cap(void **state)
{
    (void)state;
    uint8_t out[8] = { 0 };
    assert_int_equal(s3w_b64_decode(S3W_SLICE_LIT("Zm9vYmFy"), out, 6, 0), 6);
    assert_int_equal(s3w_b64_decode(S3W_SLICE_LIT("Zm9vYmFy"), out, 5, 0), S3W_E_TOOBIG);
    assert_int_equal(s3w_b64_decode(S3W_SLICE_LIT("Zm9vYmE="), out, 5, 0), 5);
    assert_int_equal(s3w_b64_decode(S3W_SLICE_LIT("Zm9vYg=="), out, 4, 0), 4);
    assert_int_equal(s3w_b64_decode(S3W_SLICE_LIT("Zm9vYg=="), out, 3, 0), S3W_E_TOOBIG);
    assert_int_equal(s3w_b64_decode(S3W_SLICE_LIT(""), out, 0, 0), 0);
    memset(out, 'x', sizeof out);
    assert_int_equal(s3w_b64_decode(S3W_SLICE_LIT("Zm9vYmFy"), out, 4, 0), S3W_E_TOOBIG);
    assert_memory_equal(out, "xxxxxxxx", 8); /* nothing written on TOOBIG */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hex_digit),
        cmocka_unit_test(test_pct_decode_escapes),
        cmocka_unit_test(test_pct_decode_truncated_and_bad),
        cmocka_unit_test(test_pct_decode_plus),
        cmocka_unit_test(test_pct_decode_cap),
        cmocka_unit_test(test_b64_rfc4648_vectors),
        cmocka_unit_test(test_b64_all_bytes_round_trip),
        cmocka_unit_test(test_b64_bad_padding),
        cmocka_unit_test(test_b64_data_after_padding),
        cmocka_unit_test(test_b64_non_alphabet),
        cmocka_unit_test(test_b64_canonical),
        cmocka_unit_test(test_b64_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
