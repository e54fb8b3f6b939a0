/*
 * bench_chunked - aws-chunked verify + re-sign throughput against SHA-256
 * measured in the same process on the same bytes, plus the checksum rates.
 *
 *   bench_chunked [total MiB (default 256)] [chunk KiB (default 64)]
 *
 * The pipeline timed is the proxy's: bytes arrive in 64 KiB reads at
 * arbitrary offsets, the decoder parses the framing, copies each chunk into
 * its hold buffer while hashing it, verifies the chunk signature (HMAC),
 * releases it, and the sink re-signs it for the upstream with a second key
 * (encoder header only: the data itself is sent as is, not copied), reusing
 * the chunk's SHA-256. The reference is EVP SHA-256 over the same chunks:
 * the floor of any verify, since every byte must be hashed once.
 *
 * Target (issue 2): verify + re-sign >= 80% of one core's SHA-256 rate.
 * Compare with `openssl speed -evp sha256 -bytes 65536` on the same machine
 * (rates here are per CPU-second of this thread, like openssl speed's).
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checksum.h"
#include "chunked.h"
#include "s3w_config.h"

/* Thread CPU time, not wall time: the build machine is shared, and CPU
 * time is what `openssl speed` reports too (it times user CPU unless given
 * -elapsed), so the two figures compare on a loaded machine. */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char amz_date[] = "20130524T000000Z";
static const char scope[] = "20130524/us-east-1/s3/aws4_request";
static const char seed[] = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";

struct resign {
    struct sigv4_chunked_encoder *enc;
    size_t released;
    size_t hdr_bytes;
    int use_sha;
};

static int resign_sink(void *arg, const struct sigv4_chunk_piece *p)
{
    struct resign *r = arg;
    char hdr[SIGV4_CHUNK_HDR_MAX];
    size_t hl = 0;
    r->released += p->len;
    if (!r->enc || p->len == 0)
        return 0;
    if (sigv4_chunked_encode_chunk(r->enc, p->data, p->len, r->use_sha ? p->sha256 : NULL,
                                   hdr, &hl))
        return -1;
    r->hdr_bytes += hl;
    return 0;
}

static int count_sink(void *arg, const struct sigv4_chunk_piece *p)
{
    struct resign *r = arg;
    r->released += p->len;
    return 0;
}

/* One pass: decode (and optionally re-sign) the stream, fed in `rd`-byte
 * reads. Returns seconds, or -1 on failure. */
static double run_pass(const struct s3w_buf *wire, size_t decoded, size_t rd, int resign_mode,
                       struct sigv4_chain_hmac *k1, struct sigv4_chain_hmac *k2)
{
    struct sigv4_chunked_encoder enc;
    struct resign r = { NULL, 0, 0, resign_mode == 2 };
    if (resign_mode) {
        struct sigv4_chunked_enc_params ep = {
            .mode = SIGV4_STREAM_HMAC_PAYLOAD, .amz_date = S3W_SLICE_LIT(amz_date),
            .scope = S3W_SLICE_LIT(scope), .seed_signature = S3W_SLICE_LIT(seed),
            .ops = &sigv4_chain_hmac_ops, .ops_ctx = k2,
        };
        if (sigv4_chunked_encoder_init(&enc, &ep))
            return -1;
        r.enc = &enc;
    }
    struct sigv4_chunked_params p = { 0 };
    p.mode = SIGV4_STREAM_HMAC_PAYLOAD;
    p.amz_date = S3W_SLICE_LIT(amz_date);
    p.scope = S3W_SLICE_LIT(scope);
    p.seed_signature = S3W_SLICE_LIT(seed);
    p.ops = &sigv4_chain_hmac_ops;
    p.ops_ctx = k1;
    p.decoded_length = decoded;
    p.sink = resign_mode ? resign_sink : count_sink;
    p.sink_arg = &r;
    double t0 = now();
    struct sigv4_chunked_decoder *d;
    if (sigv4_chunked_decoder_new(&d, &p))
        return -1;
    int rc = 0;
    for (size_t o = 0; o < wire->len && !rc; o += rd)
        rc = sigv4_chunked_decode(d, wire->ptr + o, wire->len - o < rd ? wire->len - o : rd);
    if (!rc)
        rc = sigv4_chunked_finish(d);
    sigv4_chunked_decoder_free(d);
    double t = now() - t0;
    if (resign_mode)
        sigv4_chunked_encoder_cleanup(&enc);
    if (rc || r.released != decoded) {
        fprintf(stderr, "decode failed: rc %d released %zu\n", rc, r.released);
        return -1;
    }
    return t;
}

/* STREAMING-UNSIGNED-PAYLOAD-TRAILER (the SDKs' default since 2025):
 * framing + the trailer checksum, the only per-byte work of that mode. */
static double run_unsigned(const uint8_t *data, size_t stream, size_t chunk, size_t passes,
                           enum sigv4_cksum_algo a)
{
    char b64[SIGV4_CKSUM_MAX_B64];
    if (sigv4_cksum_b64(a, data, stream, b64) < 0)
        return -1;
    struct sigv4_trailer t = { s3w_slice_cstr(sigv4_cksum_header_name(a)),
                               s3w_slice_cstr(b64) };
    struct sigv4_chunked_enc_params ep = { .mode = SIGV4_STREAM_UNSIGNED_TRAILER };
    struct sigv4_chunked_encoder enc;
    struct s3w_buf wire;
    s3w_buf_init(&wire, stream + stream / 64 + 4096);
    if (sigv4_chunked_encoder_init(&enc, &ep))
        return -1;
    for (size_t o = 0; o < stream; o += chunk)
        if (sigv4_chunked_encode_append(&enc, data + o, chunk, NULL, &wire))
            return -1;
    if (sigv4_chunked_encode_finish(&enc, &t, 1, &wire))
        return -1;
    sigv4_chunked_encoder_cleanup(&enc);
    double best = 1e9;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = now();
        for (size_t pass = 0; pass < passes; pass++) {
            struct resign r = { NULL, 0, 0, 0 };
            struct sigv4_chunked_params p = { 0 };
            p.mode = SIGV4_STREAM_UNSIGNED_TRAILER;
            p.decoded_length = stream;
            p.declared_trailers = t.name;
            p.sink = count_sink;
            p.sink_arg = &r;
            struct sigv4_chunked_decoder *d;
            if (sigv4_chunked_decoder_new(&d, &p))
                return -1;
            int rc = 0;
            for (size_t o = 0; o < wire.len && !rc; o += 65536)
                rc = sigv4_chunked_decode(d, wire.ptr + o,
                                          wire.len - o < 65536 ? wire.len - o : 65536);
            if (!rc)
                rc = sigv4_chunked_finish(d);
            sigv4_chunked_decoder_free(d);
            if (rc || r.released != stream)
                return -1;
        }
        double dt = now() - t0;
        if (dt < best)
            best = dt;
    }
    s3w_buf_cleanup(&wire);
    return best;
}

int main(int argc, char **argv)
{
    size_t total_mib = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 256;
    size_t chunk = (argc > 2 ? (size_t)strtoul(argv[2], NULL, 10) : 64) * 1024;
    /* One stream of `stream` bytes, decoded total/stream times: the same
     * work per byte as one big stream, in bounded memory. */
    size_t stream = (size_t)16 << 20;
    if (total_mib * ((size_t)1 << 20) < stream)
        stream = total_mib * ((size_t)1 << 20);
    stream -= stream % chunk;
    size_t passes = total_mib * ((size_t)1 << 20) / stream;
    size_t total = passes * stream;

    uint8_t *data = malloc(stream);
    for (size_t i = 0; i < stream; i++)
        data[i] = (uint8_t)(i * 2654435761u >> 13);
    uint8_t key1[32], key2[32];
    memset(key1, 0x11, 32);
    memset(key2, 0x22, 32);
    struct sigv4_chain_hmac k1, k2;
    if (sigv4_chain_hmac_init(&k1, key1) || sigv4_chain_hmac_init(&k2, key2))
        return 1;

    /* the client's body */
    struct s3w_buf wire;
    s3w_buf_init(&wire, stream + stream / 64 + 4096);
    struct sigv4_chunked_encoder enc;
    struct sigv4_chunked_enc_params ep = {
        .mode = SIGV4_STREAM_HMAC_PAYLOAD, .amz_date = S3W_SLICE_LIT(amz_date),
        .scope = S3W_SLICE_LIT(scope), .seed_signature = S3W_SLICE_LIT(seed),
        .ops = &sigv4_chain_hmac_ops, .ops_ctx = &k1,
    };
    if (sigv4_chunked_encoder_init(&enc, &ep))
        return 1;
    for (size_t o = 0; o < stream; o += chunk)
        if (sigv4_chunked_encode_append(&enc, data + o, chunk, NULL, &wire))
            return 1;
    if (sigv4_chunked_encode_finish(&enc, NULL, 0, &wire))
        return 1;
    sigv4_chunked_encoder_cleanup(&enc);

    printf("bench_chunked: %zu MiB in %zu KiB chunks (%zu passes over a %zu MiB stream), "
           "reads of 64 KiB\n", total >> 20, chunk >> 10, passes, stream >> 20);

    /* SHA-256 reference over the same chunks (one core) */
    EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    uint8_t out[32];
    unsigned int ol;
    double best_sha = 1e9, best_vr = 1e9, best_v = 1e9, best_vr_nosha = 1e9;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = now();
        for (size_t pass = 0; pass < passes; pass++)
            for (size_t o = 0; o < stream; o += chunk) {
                EVP_DigestInit_ex(ctx, md, NULL);
                EVP_DigestUpdate(ctx, data + o, chunk);
                EVP_DigestFinal_ex(ctx, out, &ol);
            }
        double t = now() - t0;
        if (t < best_sha)
            best_sha = t;
        double tv = 0, tvr = 0, tvrn = 0;
        for (size_t pass = 0; pass < passes; pass++) {
            double a = run_pass(&wire, stream, 65536, 0, &k1, &k2);
            double b = run_pass(&wire, stream, 65536, 2, &k1, &k2);
            double c = run_pass(&wire, stream, 65536, 1, &k1, &k2);
            if (a < 0 || b < 0 || c < 0)
                return 1;
            tv += a;
            tvr += b;
            tvrn += c;
        }
        if (tv < best_v)
            best_v = tv;
        if (tvr < best_vr)
            best_vr = tvr;
        if (tvrn < best_vr_nosha)
            best_vr_nosha = tvrn;
    }
    double mb = (double)total / 1e6;
    printf("  sha256 (EVP, same chunks)           %8.1f MB/s\n", mb / best_sha);
    printf("  verify only                         %8.1f MB/s  (%.0f%% of sha256)\n",
           mb / best_v, 100.0 * best_sha / best_v);
    printf("  verify + re-sign (sha reused)       %8.1f MB/s  (%.0f%% of sha256)\n",
           mb / best_vr, 100.0 * best_sha / best_vr);
    printf("  verify + re-sign (sha recomputed)   %8.1f MB/s  (%.0f%% of sha256)\n",
           mb / best_vr_nosha, 100.0 * best_sha / best_vr_nosha);

    static const enum sigv4_cksum_algo ua[] = { SIGV4_CKSUM_CRC32, SIGV4_CKSUM_CRC32C,
                                                SIGV4_CKSUM_CRC64NVME, SIGV4_CKSUM_SHA256 };
    for (size_t i = 0; i < sizeof ua / sizeof ua[0]; i++) {
        double t = run_unsigned(data, stream, chunk, passes, ua[i]);
        if (t < 0)
            return 1;
        printf("  unsigned-trailer decode, %-9s   %8.1f MB/s\n", sigv4_cksum_algo_name(ua[i]),
               mb / t);
    }

    /* checksum kernels over the same bytes (one pass over `stream`, x4) */
    struct {
        const char *name;
        int which;
    } ck[] = { { "crc32 (zlib)", 5 },           { "crc32 (ISA-L)", 0 },
               { "crc32c (ISA-L)", 1 },
               { "crc32c (slicing-by-8)", 2 },   { "crc64nvme (PCLMUL if the CPU has it)", 3 },
               { "crc64nvme (slicing-by-8)", 6 },
               { "sha1 (EVP)", 4 } };
    for (size_t i = 0; i < sizeof ck / sizeof ck[0]; i++) {
        if ((ck[i].which == 0 || ck[i].which == 1) && !S3W_HAVE_ISAL) {
            printf("  %-34s  (not built: no libisal)\n", ck[i].name);
            continue;
        }
        double t0 = now();
        uint64_t acc = 0;
        for (int r = 0; r < 4; r++) {
            switch (ck[i].which) {
            case 0: acc += sigv4_crc32(0, data, stream); break;
            case 1: acc += sigv4_crc32c(0, data, stream); break;
            case 2: acc += sigv4_crc32c_sw(0, data, stream); break;
            case 3: acc += sigv4_crc64nvme(0, data, stream); break;
            case 5: acc += sigv4_crc32_zlib(0, data, stream); break;
            case 6: acc += sigv4_crc64nvme_sw(0, data, stream); break;
            default: {
                struct sigv4_cksum c;
                uint8_t dg[SIGV4_CKSUM_MAX_DIGEST];
                sigv4_cksum_init(&c, SIGV4_CKSUM_SHA1);
                sigv4_cksum_update(&c, data, stream);
                acc += (uint64_t)sigv4_cksum_final(&c, dg) + dg[0];
                sigv4_cksum_cleanup(&c);
            }
            }
        }
        double t = now() - t0;
        printf("  %-37s %8.1f MB/s  (%llx)\n", ck[i].name, 4.0 * (double)stream / 1e6 / t,
               (unsigned long long)(acc & 0xff));
    }
    EVP_MD_CTX_free(ctx);
    EVP_MD_free(md);
    sigv4_chain_hmac_cleanup(&k1);
    sigv4_chain_hmac_cleanup(&k2);
    s3w_buf_cleanup(&wire);
    free(data);
    return 0;
}
