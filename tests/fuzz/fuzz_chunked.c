/*
 * libFuzzer target for the aws-chunked decoder (sigv4/chunked.c).
 *
 * Input: an 8-byte control header, then the wire body.
 *   [0]    mode: 0 HMAC payload (real HMAC, S3 doc example key/seed),
 *          1 HMAC payload+trailer (real HMAC, doc example), 2 unsigned
 *          trailer, 3 HMAC payload (accept-any chain step, reaches data
 *          and trailer states), 4 HMAC trailer (accept-any), 5 ECDSA
 *          trailer (accept-any, padded signatures)
 *   [1..4] x-amz-decoded-content-length, little-endian
 *   [5]    x-amz-trailer: 0 none, 1 crc32c, 2 crc32, 3 crc64nvme, 4 sha1,
 *          5 sha256, 6 "crc32c, sha1" (invalid)
 *   [6]    split size - 1 (bytes per decode call)
 *   [7]    flags: bit0 no min chunk, bit1 hold back 7 bytes, bit2 small
 *          caps (max_chunk 4096, max_line 64)
 * Invariants checked (abort on violation): released bytes never exceed the
 * declared length; the last piece comes once, and only when finish() then
 * succeeds; after success the released total equals the declared length;
 * the error for a failure maps to a 4xx/5xx S3 error.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chunked.h"

/* Signing key, seed, date and scope of the S3 streaming examples
 * (tests/testdata/s3-examples), so the seed corpus verifies for real. */
static const uint8_t doc_key[32] = {
    0xdb, 0xb8, 0x93, 0xac, 0xc0, 0x10, 0x96, 0x49, 0x18, 0xf1, 0xfd,
    0x43, 0x3a, 0xdd, 0x87, 0xc7, 0x0e, 0x8b, 0x0d, 0xb6, 0xbe, 0x30,
    0xc1, 0xfb, 0xea, 0xfe, 0xfa, 0x5e, 0xc6, 0xba, 0x83, 0x78,
};
static const char seed_plain[] =
    "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
static const char seed_trailer[] =
    "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e";

static int accept_verify(void *ctx, struct s3w_slice sts, struct s3w_slice sig)
{
    (void)ctx;
    (void)sig;
    /* a string to sign is always well-formed and bounded */
    if (sts.len == 0 || sts.len > 512 || memchr(sts.ptr, '*', sts.len))
        abort();
    return 0;
}

static const struct sigv4_chain_ops accept_hmac = {
    .verify = accept_verify,
    .payload_algo = "AWS4-HMAC-SHA256-PAYLOAD",
    .trailer_algo = "AWS4-HMAC-SHA256-TRAILER",
    .sig_min = 64,
    .sig_max = 64,
};

static const struct sigv4_chain_ops accept_ecdsa = {
    .verify = accept_verify,
    .payload_algo = "AWS4-ECDSA-P256-SHA256-PAYLOAD",
    .trailer_algo = "AWS4-ECDSA-P256-SHA256-TRAILER",
    .sig_min = 16,
    .sig_max = 144,
};

struct fz_sink {
    uint64_t released;
    int lasts;
};

static int fz_sink_fn(void *arg, const struct sigv4_chunk_piece *p)
{
    struct fz_sink *s = arg;
    if (s->lasts)
        abort(); /* nothing after last */
    if (p->len && !p->data)
        abort();
    s->released += p->len;
    if (p->last)
        s->lasts++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const decl[] = {
        "", "x-amz-checksum-crc32c", "x-amz-checksum-crc32", "x-amz-checksum-crc64nvme",
        "x-amz-checksum-sha1", "x-amz-checksum-sha256", "x-amz-checksum-crc32c, x-amz-checksum-sha1",
    };
    if (size < 8)
        return 0;
    unsigned mode = data[0] % 6;
    uint64_t dlen = (uint64_t)data[1] | (uint64_t)data[2] << 8 | (uint64_t)data[3] << 16 |
                    (uint64_t)data[4] << 24;
    const char *declared = decl[data[5] % 7];
    size_t split = (size_t)data[6] + 1;
    unsigned flags = data[7];
    data += 8;
    size -= 8;

    struct sigv4_chain_hmac h;
    memset(&h, 0, sizeof h);
    struct fz_sink s = { 0, 0 };
    struct sigv4_chunked_params p;
    memset(&p, 0, sizeof p);
    p.amz_date = S3W_SLICE_LIT("20130524T000000Z");
    p.scope = S3W_SLICE_LIT("20130524/us-east-1/s3/aws4_request");
    p.decoded_length = dlen;
    p.sink = fz_sink_fn;
    p.sink_arg = &s;
    if (flags & 1)
        p.min_chunk = SIGV4_CHUNK_NO_MIN_CHUNK;
    if (flags & 2)
        p.hold_back = 7;
    if (flags & 4) {
        p.max_chunk = 4096;
        p.max_line = 64;
    }
    switch (mode) {
    case 0:
    case 1:
        if (sigv4_chain_hmac_init(&h, doc_key))
            return 0;
        p.mode = mode ? SIGV4_STREAM_HMAC_PAYLOAD_TRAILER : SIGV4_STREAM_HMAC_PAYLOAD;
        p.ops = &sigv4_chain_hmac_ops;
        p.ops_ctx = &h;
        p.seed_signature = mode ? S3W_SLICE_LIT(seed_trailer) : S3W_SLICE_LIT(seed_plain);
        break;
    case 2:
        p.mode = SIGV4_STREAM_UNSIGNED_TRAILER;
        break;
    case 3:
    case 4:
        p.mode = mode == 3 ? SIGV4_STREAM_HMAC_PAYLOAD : SIGV4_STREAM_HMAC_PAYLOAD_TRAILER;
        p.ops = &accept_hmac;
        p.seed_signature = S3W_SLICE_LIT(seed_plain);
        break;
    default:
        p.mode = SIGV4_STREAM_ECDSA_PAYLOAD_TRAILER;
        p.ops = &accept_ecdsa;
        p.seed_signature = S3W_SLICE_LIT("3045022100aa**********");
        break;
    }
    if (sigv4_stream_mode_trailer(p.mode))
        p.declared_trailers = s3w_slice_cstr(declared);

    struct sigv4_chunked_decoder *d = NULL;
    int rc = sigv4_chunked_decoder_new(&d, &p);
    if (rc) {
        if (d || rc != SIGV4_CHUNK_E_PARAM)
            abort();
        sigv4_chain_hmac_cleanup(&h);
        return 0;
    }
    for (size_t o = 0; o < size && rc == 0; o += split) {
        size_t n = size - o < split ? size - o : split;
        rc = sigv4_chunked_decode(d, data + o, n);
        if (s.released > dlen)
            abort();
    }
    int frc = sigv4_chunked_finish(d);
    if (rc && frc != rc)
        abort(); /* errors are sticky */
    struct sigv4_chunk_error e = sigv4_chunked_error(d);
    if (frc == 0) {
        if (s.lasts != 1 || s.released != dlen || !sigv4_chunked_done(d) || e.rc != 0)
            abort();
        const struct sigv4_trailer *t;
        size_t nt = sigv4_chunked_trailers(d, &t);
        for (size_t i = 0; i < nt; i++)
            if (t[i].name.len == 0)
                abort();
    } else {
        if (s.lasts != 0 || e.rc != frc || e.http_status < 400 || !e.code[0] || !e.message[0])
            abort();
    }
    sigv4_chunked_decoder_free(d);
    sigv4_chain_hmac_cleanup(&h);
    return 0;
}
