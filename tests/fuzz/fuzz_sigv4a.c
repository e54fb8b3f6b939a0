/* libFuzzer target: the SigV4a inputs a client controls after parsing -
 * the X-Amz-Region-Set value and the signature (hex of DER, handed to
 * OpenSSL's ECDSA decoder), for request and chunk signatures.
 *
 * The first byte picks the mode:
 *   0x00..0x7f  the rest is a region set, matched against fixed regions
 *               (and a region made of the same bytes, for the glob)
 *   0x80..0xff  the rest is a signature: request form, then chunk form
 * The key is derived once from a fixed credential. Nothing may crash, and a
 * signature made of fuzz bytes must never verify. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sigv4a.h"

static struct sigv4a_key *fixed_key(void)
{
    static struct sigv4a_key *k;
    if (!k && sigv4a_key_derive(S3W_SLICE_LIT("AKIDEXAMPLE"),
                                S3W_SLICE_LIT("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"), &k))
        abort();
    return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || size > 4096)
        return 0;
    struct s3w_slice in = s3w_slice((const char *)data + 1, size - 1);
    if (data[0] < 0x80) {
        static const char *const regions[] = { "us-east-1", "eu-west-3", "x", "" };
        for (size_t i = 0; i < sizeof regions / sizeof regions[0]; i++) {
            int rc = sigv4a_region_set_check(in, s3w_slice_cstr(regions[i]));
            if (rc != 0 && rc != SIGV4A_E_REGION && rc != SIGV4A_E_REGION_SET)
                abort();
            if ((rc == 0) != sigv4a_region_set_matches(in, s3w_slice_cstr(regions[i])))
                abort();
        }
        /* The same bytes as the region: every set of one literal entry
         * without '*', ',' or blanks matches itself. */
        (void)sigv4a_region_set_check(in, in);
        return 0;
    }
    struct sigv4a_key *k = fixed_key();
    struct s3w_slice sts = S3W_SLICE_LIT("AWS4-ECDSA-P256-SHA256\n20150830T123600Z\n"
                                         "20150830/s3/aws4_request\n"
                                         "cf59db423e841c8b7e3444158185aa261b724a5c27cbe762676f3eed19f4dc02");
    int rc = sigv4a_verify_sts(k, sts, in);
    if (rc == 0 || (rc != SIGV4A_E_SIGNATURE && rc != SIGV4A_E_CRYPTO))
        abort();
    uint8_t h[32] = { 0 };
    rc = sigv4a_chunk_verify(k, S3W_SLICE_LIT("20150830T123600Z"),
                             S3W_SLICE_LIT("20150830/s3/aws4_request"), in, h, in);
    if (rc == 0)
        abort();
    return 0;
}
