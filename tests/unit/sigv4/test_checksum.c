/*
 * Unit tests for sigv4/checksum.c.
 *
 * Expected values come from outside the code under test: the published
 * "check" values of each CRC catalogue entry (CRC RevEng catalogue:
 * CRC-32/ISO-HDLC 0xcbf43926, CRC-32/ISCSI 0xe3069283, CRC-64/NVME
 * 0xae8b14860a799888 for "123456789"), the FIPS 180 SHA test vectors, the
 * S3 trailer example (crc32c "sOO8/Q==" of 66560 x 'a', read from
 * tests/testdata), and bitwise reference CRCs written here from the
 * polynomial alone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "checksum.h"
#include "crc_tables.h"
#include "testutil.h"

static const char check_input[] = "123456789";

static void test_crc_check_values(void **state)
{
    (void)state;
    assert_int_equal(sigv4_crc32(0, check_input, 9), 0xcbf43926u);
    assert_int_equal(sigv4_crc32_zlib(0, check_input, 9), 0xcbf43926u);
    assert_int_equal(sigv4_crc32c(0, check_input, 9), 0xe3069283u);
    assert_int_equal(sigv4_crc32c_sw(0, check_input, 9), 0xe3069283u);
    assert_true(sigv4_crc64nvme(0, check_input, 9) == 0xae8b14860a799888ull);
    assert_true(sigv4_crc64nvme_sw(0, check_input, 9) == 0xae8b14860a799888ull);
    /* empty input leaves the initial value */
    assert_int_equal(sigv4_crc32c(0, "", 0), 0);
    assert_true(sigv4_crc64nvme(0, "", 0) == 0);
}

/* Bitwise references, straight from the reflected polynomials. */
static uint32_t ref_crc32c(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
    }
    return ~c;
}

static uint32_t ref_crc32(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0xedb88320u : c >> 1;
    }
    return ~c;
}

static uint64_t ref_crc64nvme(const uint8_t *p, size_t n)
{
    uint64_t c = ~0ull;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0x9a6c9329ac4bc9b5ull : c >> 1;
    }
    return ~c;
}

static void test_tables_match_polynomial(void **state)
{
    (void)state;
    /* Rebuild each slicing-by-8 table entry bit by bit. */
    for (unsigned i = 0; i < 256; i++) {
        uint32_t c = i;
        uint64_t d = i;
        for (int k = 0; k < 8; k++) {
            c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
            d = (d & 1) ? (d >> 1) ^ 0x9a6c9329ac4bc9b5ull : d >> 1;
        }
        assert_int_equal(s3w_crc32c_table[0][i], c);
        assert_true(s3w_crc64nvme_table[0][i] == d);
        for (int t = 1; t < 8; t++) {
            c = (c >> 8) ^ s3w_crc32c_table[0][c & 0xff];
            d = (d >> 8) ^ s3w_crc64nvme_table[0][d & 0xff];
            assert_int_equal(s3w_crc32c_table[t][i], c);
            assert_true(s3w_crc64nvme_table[t][i] == d);
        }
    }
}

static void test_crc_random_against_reference(void **state)
{
    (void)state;
    uint8_t buf[1031];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof buf; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (uint8_t)(x >> 16);
    }
    /* every length 0..64 and a few long ones, every alignment 0..7 */
    for (size_t off = 0; off < 8; off++)
        for (size_t n = 0; n + off <= sizeof buf; n += (n < 64 ? 1 : 97)) {
            assert_int_equal(sigv4_crc32(0, buf + off, n), ref_crc32(buf + off, n));
            assert_int_equal(sigv4_crc32_zlib(0, buf + off, n), ref_crc32(buf + off, n));
            assert_int_equal(sigv4_crc32c(0, buf + off, n), ref_crc32c(buf + off, n));
            assert_int_equal(sigv4_crc32c_sw(0, buf + off, n), ref_crc32c(buf + off, n));
            assert_true(sigv4_crc64nvme(0, buf + off, n) == ref_crc64nvme(buf + off, n));
            assert_true(sigv4_crc64nvme_sw(0, buf + off, n) == ref_crc64nvme(buf + off, n));
        }
}

static void test_crc64_fast_path_chains(void **state)
{
    (void)state;
    /* Long buffers, split at every offset class, fed incrementally: the
     * folding path (>= 64 bytes) and the table path must chain exactly. */
    size_t n = 5000;
    uint8_t *b = malloc(n);
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(i * 131 + 7);
    uint64_t want = ref_crc64nvme(b, n);
    for (size_t cut = 0; cut < 200; cut += 13) {
        uint64_t c = sigv4_crc64nvme(0, b, cut);
        c = sigv4_crc64nvme(c, b + cut, n - cut);
        assert_true(c == want);
    }
    assert_true(sigv4_crc64nvme(0, b + 3, n - 3) == ref_crc64nvme(b + 3, n - 3));
    free(b);
}

static const char *algo_hex_123456789[] = {
    [SIGV4_CKSUM_SHA1] = "f7c3bc1d808e04732adf679965ccc34ca7ae3441",
    [SIGV4_CKSUM_SHA256] = "15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225",
    [SIGV4_CKSUM_CRC32] = "cbf43926",
    [SIGV4_CKSUM_CRC32C] = "e3069283",
    [SIGV4_CKSUM_CRC64NVME] = "ae8b14860a799888",
};

static void test_incremental_any_split(void **state)
{
    (void)state;
    for (int a = SIGV4_CKSUM_CRC32; a <= SIGV4_CKSUM_SHA256; a++) {
        for (size_t cut = 0; cut <= 9; cut++) {
            struct sigv4_cksum c;
            uint8_t d[SIGV4_CKSUM_MAX_DIGEST];
            char hex[2 * SIGV4_CKSUM_MAX_DIGEST + 1];
            assert_int_equal(sigv4_cksum_init(&c, (enum sigv4_cksum_algo)a), 0);
            assert_int_equal(sigv4_cksum_update(&c, check_input, cut), 0);
            assert_int_equal(sigv4_cksum_update(&c, check_input + cut, 9 - cut), 0);
            int n = sigv4_cksum_final(&c, d);
            assert_int_equal(n, (int)sigv4_cksum_digest_len((enum sigv4_cksum_algo)a));
            s3w_hex_encode(d, (size_t)n, hex);
            assert_string_equal(hex, algo_hex_123456789[a]);
            /* final resets: the same struct computes a second stream */
            assert_int_equal(sigv4_cksum_update(&c, check_input, 9), 0);
            n = sigv4_cksum_final(&c, d);
            s3w_hex_encode(d, (size_t)n, hex);
            assert_string_equal(hex, algo_hex_123456789[a]);
            sigv4_cksum_cleanup(&c);
        }
    }
}

static void test_b64_of_empty_body(void **state)
{
    (void)state;
    /* Values S3 returns for an empty object (well-known digests of ""). */
    char b[SIGV4_CKSUM_MAX_B64];
    assert_int_equal(sigv4_cksum_b64(SIGV4_CKSUM_CRC32, "", 0, b), 8);
    assert_string_equal(b, "AAAAAA==");
    assert_int_equal(sigv4_cksum_b64(SIGV4_CKSUM_CRC64NVME, "", 0, b), 12);
    assert_string_equal(b, "AAAAAAAAAAA=");
    assert_int_equal(sigv4_cksum_b64(SIGV4_CKSUM_SHA1, "", 0, b), 28);
    assert_string_equal(b, "2jmj7l5rSw0yVb/vlWAYkK/YBwk=");
    assert_int_equal(sigv4_cksum_b64(SIGV4_CKSUM_SHA256, "", 0, b), 44);
    assert_string_equal(b, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
}

/* Extracts the string value of "key": "..." from the vendored JSON. */
static void json_str(const char *json, const char *key, char *out, size_t cap)
{
    char pat[128];
    snprintf(pat, sizeof pat, "\"%s\": \"", key);
    const char *p = strstr(json, pat);
    assert_non_null(p);
    p += strlen(pat);
    const char *e = strchr(p, '"');
    assert_non_null(e);
    assert_true((size_t)(e - p) < cap);
    memcpy(out, p, (size_t)(e - p));
    out[e - p] = '\0';
}

static void test_s3_trailer_example_crc32c(void **state)
{
    (void)state;
    size_t len;
    char *json = tu_read_testdata("s3-examples/chunked-put-object-trailer.json", &len);
    assert_non_null(json);
    char want[64], header[64];
    json_str(json, "checksum_value_base64", want, sizeof want);
    json_str(json, "checksum_header", header, sizeof header);
    free(json);
    assert_string_equal(want, "sOO8/Q==");

    enum sigv4_cksum_algo a = sigv4_cksum_algo_from_header(s3w_slice_cstr(header));
    assert_int_equal(a, SIGV4_CKSUM_CRC32C);
    uint8_t *body = malloc(66560);
    memset(body, 'a', 66560);
    char b[SIGV4_CKSUM_MAX_B64];
    assert_int_equal(sigv4_cksum_b64(a, body, 66560, b), 8);
    assert_string_equal(b, want);
    /* big-endian digest: 0xb0e3bcfd */
    assert_int_equal(sigv4_crc32c(0, body, 66560), 0xb0e3bcfdu);
    free(body);
}

static void test_names(void **state)
{
    (void)state;
    assert_int_equal(sigv4_cksum_algo_from_name(S3W_SLICE_LIT("CRC32")), SIGV4_CKSUM_CRC32);
    assert_int_equal(sigv4_cksum_algo_from_name(S3W_SLICE_LIT("crc32c")), SIGV4_CKSUM_CRC32C);
    assert_int_equal(sigv4_cksum_algo_from_name(S3W_SLICE_LIT("CRC64NVME")),
                     SIGV4_CKSUM_CRC64NVME);
    assert_int_equal(sigv4_cksum_algo_from_name(S3W_SLICE_LIT("SHA1")), SIGV4_CKSUM_SHA1);
    assert_int_equal(sigv4_cksum_algo_from_name(S3W_SLICE_LIT("SHA256")), SIGV4_CKSUM_SHA256);
    assert_int_equal(sigv4_cksum_algo_from_name(S3W_SLICE_LIT("MD5")), SIGV4_CKSUM_NONE);
    assert_int_equal(sigv4_cksum_algo_from_name(S3W_SLICE_LIT("CRC3")), SIGV4_CKSUM_NONE);
    assert_int_equal(sigv4_cksum_algo_from_name(S3W_SLICE_LIT("")), SIGV4_CKSUM_NONE);

    assert_int_equal(sigv4_cksum_algo_from_header(S3W_SLICE_LIT("x-amz-checksum-crc32")),
                     SIGV4_CKSUM_CRC32);
    assert_int_equal(sigv4_cksum_algo_from_header(S3W_SLICE_LIT("X-Amz-Checksum-CRC32C")),
                     SIGV4_CKSUM_CRC32C);
    assert_int_equal(sigv4_cksum_algo_from_header(S3W_SLICE_LIT("x-amz-checksum-crc64nvme")),
                     SIGV4_CKSUM_CRC64NVME);
    assert_int_equal(sigv4_cksum_algo_from_header(S3W_SLICE_LIT("x-amz-checksum-sha1")),
                     SIGV4_CKSUM_SHA1);
    assert_int_equal(sigv4_cksum_algo_from_header(S3W_SLICE_LIT("x-amz-checksum-sha256")),
                     SIGV4_CKSUM_SHA256);
    assert_int_equal(sigv4_cksum_algo_from_header(S3W_SLICE_LIT("x-amz-checksum-type")),
                     SIGV4_CKSUM_NONE);
    assert_int_equal(sigv4_cksum_algo_from_header(S3W_SLICE_LIT("x-amz-checksum-mode")),
                     SIGV4_CKSUM_NONE);
    assert_int_equal(sigv4_cksum_algo_from_header(S3W_SLICE_LIT("x-amz-checksum-")),
                     SIGV4_CKSUM_NONE);
    assert_string_equal(sigv4_cksum_header_name(SIGV4_CKSUM_CRC64NVME),
                        "x-amz-checksum-crc64nvme");
    assert_null(sigv4_cksum_header_name(SIGV4_CKSUM_NONE));
    assert_string_equal(sigv4_cksum_algo_name(SIGV4_CKSUM_CRC32C), "CRC32C");

    struct sigv4_cksum c;
    assert_int_equal(sigv4_cksum_init(&c, SIGV4_CKSUM_NONE), S3W_E_INVAL);
    sigv4_cksum_cleanup(&c);
}

static void test_b64_strict(void **state)
{
    (void)state;
    uint8_t out[32];
    assert_int_equal(sigv4_b64_decode(S3W_SLICE_LIT("sOO8/Q=="), out, sizeof out), 4);
    assert_int_equal(out[0], 0xb0);
    assert_int_equal(out[3], 0xfd);
    /* unpadded, whitespace, bad chars, misplaced '=', non-canonical pad bits */
    assert_int_equal(sigv4_b64_decode(S3W_SLICE_LIT("sOO8/Q"), out, sizeof out), S3W_E_INVAL);
    assert_int_equal(sigv4_b64_decode(S3W_SLICE_LIT("sOO8 /Q="), out, sizeof out),
                     S3W_E_INVAL);
    assert_int_equal(sigv4_b64_decode(S3W_SLICE_LIT("sOO8/Q=!"), out, sizeof out),
                     S3W_E_INVAL);
    assert_int_equal(sigv4_b64_decode(S3W_SLICE_LIT("sO=8/Q=="), out, sizeof out),
                     S3W_E_INVAL);
    assert_int_equal(sigv4_b64_decode(S3W_SLICE_LIT("sOO8/R=="), out, sizeof out),
                     S3W_E_INVAL);
    assert_int_equal(sigv4_b64_decode(S3W_SLICE_LIT("a==="), out, sizeof out), S3W_E_INVAL);
    assert_int_equal(sigv4_b64_decode(S3W_SLICE_LIT(""), out, sizeof out), S3W_E_INVAL);
    assert_int_equal(sigv4_b64_decode(S3W_SLICE_LIT("AAAAAAAA"), out, 5), S3W_E_TOOBIG);

    const uint8_t dig[4] = { 0xb0, 0xe3, 0xbc, 0xfd };
    assert_true(sigv4_cksum_b64_matches(S3W_SLICE_LIT("sOO8/Q=="), dig, 4));
    assert_false(sigv4_cksum_b64_matches(S3W_SLICE_LIT("sOO8/A=="), dig, 4));
    assert_false(sigv4_cksum_b64_matches(S3W_SLICE_LIT("sOO8/Q"), dig, 4));
    /* right prefix, wrong length (a CRC64 value for a CRC32 digest) */
    assert_false(sigv4_cksum_b64_matches(S3W_SLICE_LIT("sOO8/QAAAAA="), dig, 4));

    char enc[16];
    const uint8_t three[3] = { 0xfb, 0xff, 0xbf };
    assert_int_equal(sigv4_b64_encode(three, 3, enc), 4);
    assert_string_equal(enc, "+/+/");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc_check_values),
        cmocka_unit_test(test_tables_match_polynomial),
        cmocka_unit_test(test_crc_random_against_reference),
        cmocka_unit_test(test_crc64_fast_path_chains),
        cmocka_unit_test(test_incremental_any_split),
        cmocka_unit_test(test_b64_of_empty_body),
        cmocka_unit_test(test_s3_trailer_example_crc32c),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_b64_strict),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
