/*
 * checksum.h - the S3 additional checksums, incremental, as S3 sends them.
 *
 * S3 accepts a whole-object checksum in a header (`x-amz-checksum-<algo>`)
 * or, for aws-chunked uploads, in a trailer of the same name; the value is
 * the base64 of the big-endian digest ("Checking object integrity",
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html).
 * The algorithm may also be named by `x-amz-sdk-checksum-algorithm`
 * (CRC32, CRC32C, CRC64NVME, SHA1, SHA256).
 *
 *   CRC32      reflected 0xEDB88320 (zlib's); ISA-L when       4 bytes
 *              S3W_HAVE_ISAL, else zlib
 *   CRC32C     Castagnoli (reflected 0x82F63B78); ISA-L when    4 bytes
 *              S3W_HAVE_ISAL, else slicing-by-8 (see checksum.c)
 *   CRC64NVME  CRC-64/NVME: reflected 0x9a6c9329ac4bc9b5,       8 bytes
 *              init and xorout all ones, check 0xae8b14860a799888;
 *              PCLMULQDQ folding on x86-64, else slicing-by-8
 *   SHA1       EVP sha1                                          20 bytes
 *   SHA256     EVP sha256                                        32 bytes
 *
 * Lifecycle: sigv4_cksum_init() .. sigv4_cksum_update()* .. sigv4_cksum_final()
 * then sigv4_cksum_cleanup() (always, also after an error; it is a no-op on a
 * zeroed struct). The struct is embedded by the caller; the SHA algorithms
 * hold one EVP_MD_CTX allocated at init (nothing is allocated on update).
 * Pure computation, no I/O, no global state.
 */
#ifndef S3W_SIGV4_CHECKSUM_H
#define S3W_SIGV4_CHECKSUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bytes.h"
#include "codec.h"

enum sigv4_cksum_algo {
    SIGV4_CKSUM_NONE = 0,
    SIGV4_CKSUM_CRC32,
    SIGV4_CKSUM_CRC32C,
    SIGV4_CKSUM_CRC64NVME,
    SIGV4_CKSUM_SHA1,
    SIGV4_CKSUM_SHA256,
};

#define SIGV4_CKSUM_MAX_DIGEST 32
/* base64 of a 32-byte digest is 44 characters; + NUL. */
#define SIGV4_CKSUM_MAX_B64 45

struct evp_md_ctx_st; /* OpenSSL's EVP_MD_CTX, kept out of this header */

struct sigv4_cksum {
    enum sigv4_cksum_algo algo;
    uint32_t crc32;   /* CRC32 / CRC32C running value */
    uint64_t crc64;   /* CRC64NVME running value */
    struct evp_md_ctx_st *md; /* SHA1 / SHA256; owned */
};

/* ---- names ---------------------------------------------------------------- */

/* "CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256" (as S3 spells them in
 * x-amz-sdk-checksum-algorithm and in its error messages); "" for NONE. */
const char *sigv4_cksum_algo_name(enum sigv4_cksum_algo a);

/* "x-amz-checksum-crc32" ... (lower case, as sent on the wire); NULL for NONE. */
const char *sigv4_cksum_header_name(enum sigv4_cksum_algo a);

/* Maps an `x-amz-sdk-checksum-algorithm` value (case-insensitive, as S3
 * accepts "crc32c" and "CRC32C") to the algorithm; SIGV4_CKSUM_NONE if unknown. */
enum sigv4_cksum_algo sigv4_cksum_algo_from_name(struct s3w_slice name);

/* Maps a header (or trailer) name `x-amz-checksum-<algo>` (case-insensitive)
 * to the algorithm; SIGV4_CKSUM_NONE for any other name (including
 * x-amz-checksum-type and x-amz-checksum-mode, which are not checksums). */
enum sigv4_cksum_algo sigv4_cksum_algo_from_header(struct s3w_slice name);

/* Digest size in bytes (4, 4, 8, 20, 32); 0 for NONE. */
size_t sigv4_cksum_digest_len(enum sigv4_cksum_algo a);

/* ---- incremental computation ---------------------------------------------- */

/* 0, S3W_E_INVAL (NONE/unknown algorithm) or S3W_E_NOMEM. */
int sigv4_cksum_init(struct sigv4_cksum *c, enum sigv4_cksum_algo a);
/* Feeds n bytes. 0 or S3W_E_INVAL (OpenSSL failure). */
int sigv4_cksum_update(struct sigv4_cksum *c, const void *p, size_t n);
/* Writes the big-endian digest (sigv4_cksum_digest_len bytes) to out and
 * resets the state so the struct can be reused for a new stream.
 * out must hold SIGV4_CKSUM_MAX_DIGEST bytes. Returns the digest length, or
 * a negative S3W_E_* error. */
int sigv4_cksum_final(struct sigv4_cksum *c, uint8_t out[SIGV4_CKSUM_MAX_DIGEST]);
/* As sigv4_cksum_final, then base64 (standard alphabet, padded) into out
 * (NUL-terminated). Returns the base64 length or a negative error. */
int sigv4_cksum_final_b64(struct sigv4_cksum *c, char out[SIGV4_CKSUM_MAX_B64]);
void sigv4_cksum_cleanup(struct sigv4_cksum *c);

/* One-shot convenience (tests, headers on small bodies). */
int sigv4_cksum_b64(enum sigv4_cksum_algo a, const void *p, size_t n,
                    char out[SIGV4_CKSUM_MAX_B64]);

/* Compares a checksum value as the client sent it (base64) with a computed
 * digest. The presented value must be canonical padded base64 of exactly
 * the digest length (S3 rejects anything else); comparison is constant-time.
 * Returns true only on an exact match. */
bool sigv4_cksum_b64_matches(struct s3w_slice presented_b64,
                             const uint8_t *digest, size_t digest_len);

/* ---- raw CRC primitives (exposed for tests and the benchmark) ------------- */
/* Each takes and returns the finalised value, so crc(a||b) ==
 * f(f(0, a), b) with 0 as the initial value, like zlib's crc32(). */
uint32_t sigv4_crc32(uint32_t crc, const void *p, size_t n);
/* zlib's crc32, always built (ISA-L comparison). */
uint32_t sigv4_crc32_zlib(uint32_t crc, const void *p, size_t n);
uint32_t sigv4_crc32c(uint32_t crc, const void *p, size_t n);
/* The portable slicing-by-8 CRC32C, always built (ISA-L comparison). */
uint32_t sigv4_crc32c_sw(uint32_t crc, const void *p, size_t n);
uint64_t sigv4_crc64nvme(uint64_t crc, const void *p, size_t n);
/* The portable slicing-by-8 CRC64NVME, always built (PCLMUL comparison). */
uint64_t sigv4_crc64nvme_sw(uint64_t crc, const void *p, size_t n);

/* ---- base64 (RFC 4648, standard alphabet, padded): base/codec.h ---------- */
/* Writes 4*ceil(n/3) characters and a NUL; returns the length. The name is
 * kept for the proxy's Content-MD5; new code calls s3w_b64_encode. */
static inline size_t sigv4_b64_encode(const uint8_t *in, size_t n, char *out)
{
    return s3w_b64_encode(in, n, out);
}

/* s3w_b64_decode, canonical, except that empty input is S3W_E_INVAL: a
 * checksum value is never empty. Returns the decoded length, or
 * S3W_E_INVAL; S3W_E_TOOBIG if it would not fit out_cap. */
static inline int sigv4_b64_decode(struct s3w_slice in, uint8_t *out, size_t out_cap)
{
    if (in.len == 0)
        return S3W_E_INVAL;
    return (int)s3w_b64_decode(in, out, out_cap, 0);
}

#endif
