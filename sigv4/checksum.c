/*
 * checksum.c - S3 additional checksums (see checksum.h).
 *
 * CRC32: ISA-L's crc32_gzip_refl when the build found libisal, else zlib.
 * CRC32C: ISA-L's crc32_iscsi when the build found libisal (it picks an
 * SSE4.2/PCLMUL kernel at run time), otherwise the portable slicing-by-8
 * below. tests/bench/bench_chunked.c measures both on the build machine;
 * the figures are in the commit that made the choice. CRC64NVME: PCLMULQDQ
 * folding on x86-64 CPUs that have it, else slicing-by-8 (Debian's ISA-L
 * 2.30 predates its crc64_rocksoft, which is this polynomial).
 */
#include "checksum.h"

#include <openssl/evp.h>

#include <zlib.h>

#include "crc_tables.h"
#include "s3w_config.h"

#if S3W_HAVE_ISAL
#include <isa-l/crc.h>
#endif

/* ---- names ------------------------------------------------------------------ */

struct algo_info {
    const char *name;     /* x-amz-sdk-checksum-algorithm value / message name */
    const char *header;   /* x-amz-checksum-<algo> */
    size_t header_len;    /* every request header is looked up: no strlen */
    size_t digest_len;
};

#define HEADER(h) h, sizeof(h) - 1
static const struct algo_info algo_table[] = {
    [SIGV4_CKSUM_NONE] = { "", NULL, 0, 0 },
    [SIGV4_CKSUM_CRC32] = { "CRC32", HEADER("x-amz-checksum-crc32"), 4 },
    [SIGV4_CKSUM_CRC32C] = { "CRC32C", HEADER("x-amz-checksum-crc32c"), 4 },
    [SIGV4_CKSUM_CRC64NVME] = { "CRC64NVME", HEADER("x-amz-checksum-crc64nvme"), 8 },
    [SIGV4_CKSUM_SHA1] = { "SHA1", HEADER("x-amz-checksum-sha1"), 20 },
    [SIGV4_CKSUM_SHA256] = { "SHA256", HEADER("x-amz-checksum-sha256"), 32 },
};
#undef HEADER

#define N_ALGOS (sizeof algo_table / sizeof algo_table[0])

static bool algo_valid(enum sigv4_cksum_algo a)
{
    return (unsigned)a > SIGV4_CKSUM_NONE && (unsigned)a < N_ALGOS;
}

const char *sigv4_cksum_algo_name(enum sigv4_cksum_algo a)
{
    return algo_valid(a) ? algo_table[a].name : "";
}

const char *sigv4_cksum_header_name(enum sigv4_cksum_algo a)
{
    return algo_valid(a) ? algo_table[a].header : NULL;
}

size_t sigv4_cksum_digest_len(enum sigv4_cksum_algo a)
{
    return algo_valid(a) ? algo_table[a].digest_len : 0;
}

enum sigv4_cksum_algo sigv4_cksum_algo_from_name(struct s3w_slice name)
{
    for (unsigned a = SIGV4_CKSUM_CRC32; a < N_ALGOS; a++)
        if (s3w_slice_eq_nocase(name, s3w_slice_cstr(algo_table[a].name)))
            return (enum sigv4_cksum_algo)a;
    return SIGV4_CKSUM_NONE;
}

enum sigv4_cksum_algo sigv4_cksum_algo_from_header(struct s3w_slice name)
{
    for (unsigned a = SIGV4_CKSUM_CRC32; a < N_ALGOS; a++)
        if (s3w_slice_eq_nocase(name, s3w_slice(algo_table[a].header, algo_table[a].header_len)))
            return (enum sigv4_cksum_algo)a;
    return SIGV4_CKSUM_NONE;
}

/* ---- CRC kernels ------------------------------------------------------------ */

uint32_t sigv4_crc32_zlib(uint32_t crc, const void *p, size_t n)
{
    /* crc32_z takes a size_t length (zlib >= 1.2.9). */
    return (uint32_t)crc32_z(crc, (const Bytef *)p, n);
}

uint32_t sigv4_crc32(uint32_t crc, const void *p, size_t n)
{
#if S3W_HAVE_ISAL
    /* ISA-L's crc32_gzip_refl is the same CRC-32 (reflected 0xEDB88320)
     * with zlib's calling convention (inverts on entry and exit), folded
     * with PCLMULQDQ: several times zlib 1.2.13's table-driven speed. */
    while (n > 0) {
        uint64_t step = n > ((size_t)1 << 30) ? ((size_t)1 << 30) : n;
        crc = crc32_gzip_refl(crc, (const unsigned char *)p, step);
        p = (const uint8_t *)p + step;
        n -= (size_t)step;
    }
    return crc;
#else
    return sigv4_crc32_zlib(crc, p, n);
#endif
}

static inline uint64_t load_le64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

uint32_t sigv4_crc32c_sw(uint32_t crc, const void *p, size_t n)
{
    const uint8_t *b = p;
    const uint32_t(*t)[256] = s3w_crc32c_table;
    uint32_t c = ~crc;
    while (n >= 8) {
        uint64_t v = load_le64(b) ^ c;
        c = t[7][v & 0xff] ^ t[6][(v >> 8) & 0xff] ^ t[5][(v >> 16) & 0xff] ^
            t[4][(v >> 24) & 0xff] ^ t[3][(v >> 32) & 0xff] ^
            t[2][(v >> 40) & 0xff] ^ t[1][(v >> 48) & 0xff] ^ t[0][v >> 56];
        b += 8;
        n -= 8;
    }
    while (n--)
        c = (c >> 8) ^ t[0][(c ^ *b++) & 0xff];
    return ~c;
}

uint32_t sigv4_crc32c(uint32_t crc, const void *p, size_t n)
{
#if S3W_HAVE_ISAL
    /* ISA-L's crc32_iscsi neither inverts on entry nor on exit, and takes
     * an int length and a non-const pointer (it does not write). */
    uint32_t c = ~crc;
    unsigned char *b = (unsigned char *)(uintptr_t)p;
    while (n > 0) {
        int step = n > (size_t)(1 << 30) ? (1 << 30) : (int)n;
        c = crc32_iscsi(b, step, c);
        b += step;
        n -= (size_t)step;
    }
    return ~c;
#else
    return sigv4_crc32c_sw(crc, p, n);
#endif
}

uint64_t sigv4_crc64nvme_sw(uint64_t crc, const void *p, size_t n)
{
    const uint8_t *b = p;
    const uint64_t(*t)[256] = s3w_crc64nvme_table;
    uint64_t c = ~crc;
    while (n >= 8) {
        uint64_t v = load_le64(b) ^ c;
        c = t[7][v & 0xff] ^ t[6][(v >> 8) & 0xff] ^ t[5][(v >> 16) & 0xff] ^
            t[4][(v >> 24) & 0xff] ^ t[3][(v >> 32) & 0xff] ^
            t[2][(v >> 40) & 0xff] ^ t[1][(v >> 48) & 0xff] ^ t[0][v >> 56];
        b += 8;
        n -= 8;
    }
    while (n--)
        c = (c >> 8) ^ t[0][(c ^ *b++) & 0xff];
    return ~c;
}

#if defined(__x86_64__)
#include <immintrin.h>

/*
 * CRC64/NVME with carry-less multiplication (the folding method of Intel's
 * "Fast CRC Computation for Generic Polynomials Using PCLMULQDQ", 2009):
 * four 128-bit accumulators fold 64 bytes per round, then fold into one,
 * and the last 16-byte state plus the tail go through the table code.
 * In the reflected domain, folding a 128-bit state across D bits multiplies
 * its low half by reflect64(x^(D+63) mod P) and its high half by
 * reflect64(x^(D-1) mod P); the constants below are those for D = 512 and
 * D = 128 (computed from the polynomial; the unit test checks this path
 * against a bitwise CRC for every length and alignment it tries).
 */
__attribute__((target("pclmul,sse2")))
static uint64_t crc64nvme_clmul(uint64_t crc, const uint8_t *p, size_t n)
{
    const __m128i k512 = _mm_set_epi64x((long long)0x62242240ace5045aull,
                                        (long long)0x0c32cdb31e18a84aull);
    const __m128i k128 = _mm_set_epi64x((long long)0x21e9761e252621acull,
                                        (long long)0xeadc41fd2ba3d420ull);
    __m128i a0 = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i a1 = _mm_loadu_si128((const __m128i *)(const void *)(p + 16));
    __m128i a2 = _mm_loadu_si128((const __m128i *)(const void *)(p + 32));
    __m128i a3 = _mm_loadu_si128((const __m128i *)(const void *)(p + 48));
    a0 = _mm_xor_si128(a0, _mm_set_epi64x(0, (long long)~crc));
    p += 64;
    n -= 64;
#define FOLD(a, k) \
    _mm_xor_si128(_mm_clmulepi64_si128((a), (k), 0x00), _mm_clmulepi64_si128((a), (k), 0x11))
    while (n >= 64) {
        a0 = _mm_xor_si128(FOLD(a0, k512), _mm_loadu_si128((const __m128i *)(const void *)p));
        a1 = _mm_xor_si128(FOLD(a1, k512),
                           _mm_loadu_si128((const __m128i *)(const void *)(p + 16)));
        a2 = _mm_xor_si128(FOLD(a2, k512),
                           _mm_loadu_si128((const __m128i *)(const void *)(p + 32)));
        a3 = _mm_xor_si128(FOLD(a3, k512),
                           _mm_loadu_si128((const __m128i *)(const void *)(p + 48)));
        p += 64;
        n -= 64;
    }
    __m128i s = _mm_xor_si128(FOLD(a0, k128), a1);
    s = _mm_xor_si128(FOLD(s, k128), a2);
    s = _mm_xor_si128(FOLD(s, k128), a3);
    while (n >= 16) {
        s = _mm_xor_si128(FOLD(s, k128), _mm_loadu_si128((const __m128i *)(const void *)p));
        p += 16;
        n -= 16;
    }
#undef FOLD
    uint8_t tmp[16];
    _mm_storeu_si128((__m128i *)(void *)tmp, s);
    /* the state's CRC from a zero register, then the tail */
    return sigv4_crc64nvme_sw(sigv4_crc64nvme_sw(UINT64_MAX, tmp, 16), p, n);
}
#endif

uint64_t sigv4_crc64nvme(uint64_t crc, const void *p, size_t n)
{
#if defined(__x86_64__)
    if (n >= 64 && __builtin_cpu_supports("pclmul"))
        return crc64nvme_clmul(crc, p, n);
#endif
    return sigv4_crc64nvme_sw(crc, p, n);
}

/* ---- incremental API -------------------------------------------------------- */

int sigv4_cksum_init(struct sigv4_cksum *c, enum sigv4_cksum_algo a)
{
    c->algo = SIGV4_CKSUM_NONE;
    c->crc32 = 0;
    c->crc64 = 0;
    c->md = NULL;
    if (!algo_valid(a))
        return S3W_E_INVAL;
    if (a == SIGV4_CKSUM_SHA1 || a == SIGV4_CKSUM_SHA256) {
        c->md = EVP_MD_CTX_new();
        if (!c->md)
            return S3W_E_NOMEM;
        if (!EVP_DigestInit_ex(c->md, a == SIGV4_CKSUM_SHA1 ? EVP_sha1() : EVP_sha256(),
                               NULL)) {
            EVP_MD_CTX_free(c->md);
            c->md = NULL;
            return S3W_E_INVAL;
        }
    }
    c->algo = a;
    return S3W_OK;
}

int sigv4_cksum_update(struct sigv4_cksum *c, const void *p, size_t n)
{
    switch (c->algo) {
    case SIGV4_CKSUM_CRC32:
        c->crc32 = sigv4_crc32(c->crc32, p, n);
        return S3W_OK;
    case SIGV4_CKSUM_CRC32C:
        c->crc32 = sigv4_crc32c(c->crc32, p, n);
        return S3W_OK;
    case SIGV4_CKSUM_CRC64NVME:
        c->crc64 = sigv4_crc64nvme(c->crc64, p, n);
        return S3W_OK;
    case SIGV4_CKSUM_SHA1:
    case SIGV4_CKSUM_SHA256:
        return EVP_DigestUpdate(c->md, p, n) ? S3W_OK : S3W_E_INVAL;
    default:
        return S3W_E_INVAL;
    }
}

int sigv4_cksum_final(struct sigv4_cksum *c, uint8_t out[SIGV4_CKSUM_MAX_DIGEST])
{
    switch (c->algo) {
    case SIGV4_CKSUM_CRC32:
    case SIGV4_CKSUM_CRC32C:
        /* S3 sends the CRC big-endian ("sOO8/Q==" is 0xb0e3bcfd). */
        out[0] = (uint8_t)(c->crc32 >> 24);
        out[1] = (uint8_t)(c->crc32 >> 16);
        out[2] = (uint8_t)(c->crc32 >> 8);
        out[3] = (uint8_t)c->crc32;
        c->crc32 = 0;
        return 4;
    case SIGV4_CKSUM_CRC64NVME:
        for (int i = 0; i < 8; i++)
            out[i] = (uint8_t)(c->crc64 >> (56 - 8 * i));
        c->crc64 = 0;
        return 8;
    case SIGV4_CKSUM_SHA1:
    case SIGV4_CKSUM_SHA256: {
        unsigned int len = 0;
        if (!EVP_DigestFinal_ex(c->md, out, &len) ||
            !EVP_DigestInit_ex(c->md, NULL, NULL))
            return S3W_E_INVAL;
        return (int)len;
    }
    default:
        return S3W_E_INVAL;
    }
}

int sigv4_cksum_final_b64(struct sigv4_cksum *c, char out[SIGV4_CKSUM_MAX_B64])
{
    uint8_t d[SIGV4_CKSUM_MAX_DIGEST];
    int n = sigv4_cksum_final(c, d);
    if (n < 0)
        return n;
    return (int)sigv4_b64_encode(d, (size_t)n, out);
}

void sigv4_cksum_cleanup(struct sigv4_cksum *c)
{
    if (c->md)
        EVP_MD_CTX_free(c->md);
    c->md = NULL;
    c->algo = SIGV4_CKSUM_NONE;
}

int sigv4_cksum_b64(enum sigv4_cksum_algo a, const void *p, size_t n,
                    char out[SIGV4_CKSUM_MAX_B64])
{
    struct sigv4_cksum c;
    int rc = sigv4_cksum_init(&c, a);
    if (rc == S3W_OK)
        rc = sigv4_cksum_update(&c, p, n);
    if (rc == S3W_OK)
        rc = sigv4_cksum_final_b64(&c, out);
    sigv4_cksum_cleanup(&c);
    return rc;
}

bool sigv4_cksum_b64_matches(struct s3w_slice presented_b64,
                             const uint8_t *digest, size_t digest_len)
{
    uint8_t got[SIGV4_CKSUM_MAX_DIGEST];
    if (digest_len == 0 || digest_len > sizeof got)
        return false;
    int n = sigv4_b64_decode(presented_b64, got, sizeof got);
    if (n < 0)
        return false;
    /* Checksums are not secret, but the compare costs nothing to make
     * constant-time and keeps one habit for every digest. */
    return s3w_ct_equal(got, (size_t)n, digest, digest_len);
}
