/*
 * hmac.c - SHA-256, HMAC-SHA256, the SigV4 signing-key derivation and the
 * signature (AWS SigV4 docs, "Calculate the signature").
 *
 * Why the low-level SHA256_* calls: in OpenSSL 3 every HMAC()/EVP_Digest()
 * call on a fresh context fetches the algorithm from the provider, which
 * costs more than hashing the ~150-byte string to sign itself (measured with
 * tests/bench/bench_sigv4.c). The SHA256_* functions are deprecated in 3.0
 * but still shipped and still use the SHA-NI/AVX2 code paths; we opt in to
 * them here and only here.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/sha.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>

#include "sigv4.h"

/* For public data only (canonical requests, bodies, chunks): the state is
 * not wiped. Keyed hashing goes through sigv4_hmac_sha256, which wipes. */
void sigv4_sha256(const void *msg, size_t len, uint8_t out[32])
{
    SHA256_CTX c;
    SHA256_Init(&c);
    SHA256_Update(&c, msg, len);
    SHA256_Final(out, &c);
}

_Static_assert(sizeof(SHA256_CTX) <= sizeof(((struct sigv4_sha256_stream *)0)->state) &&
                   _Alignof(SHA256_CTX) <= _Alignof(struct sigv4_sha256_stream),
               "struct sigv4_sha256_stream holds a SHA256_CTX");

void sigv4_sha256_begin(struct sigv4_sha256_stream *s)
{
    SHA256_Init((SHA256_CTX *)s->state);
}

void sigv4_sha256_add(struct sigv4_sha256_stream *s, const void *p, size_t n)
{
    SHA256_Update((SHA256_CTX *)s->state, p, n);
}

void sigv4_sha256_end(struct sigv4_sha256_stream *s, uint8_t out[32])
{
    SHA256_Final(out, (SHA256_CTX *)s->state);
}

const uint8_t sigv4_sha256_empty[32] = {
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
};

static EVP_MD *md_sha256, *md_md5;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

/* Kept for the process's life: freeing them at exit would race a thread
 * still hashing. */
static void md_fetch(void)
{
    md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    md_md5 = EVP_MD_fetch(NULL, "MD5", NULL);
}

const struct evp_md_st *sigv4_md_sha256(void)
{
    pthread_once(&md_once, md_fetch);
    return md_sha256;
}

const struct evp_md_st *sigv4_md_md5(void)
{
    pthread_once(&md_once, md_fetch);
    return md_md5;
}

_Static_assert(sizeof(SHA256_CTX) <= sizeof(((struct sigv4_hmac_key *)0)->inner) &&
                   _Alignof(SHA256_CTX) <= _Alignof(struct sigv4_hmac_key),
               "struct sigv4_hmac_key holds two SHA256_CTX");

/* The two pad blocks hashed once (RFC 2104 with B = 64: a key longer than
 * the block is first replaced by its SHA-256); the rest of each state is
 * unused room, zeroed so that no stale bytes sit in key material. */
void sigv4_hmac_key_init(struct sigv4_hmac_key *hk, const void *key,
                         size_t key_len)
{
    uint8_t k[64] = { 0 };
    uint8_t pad[64];
    SHA256_CTX c;

    memset(hk, 0, sizeof *hk);
    if (key_len > sizeof k) {
        SHA256_Init(&c);
        SHA256_Update(&c, key, key_len);
        SHA256_Final(k, &c);
    } else if (key_len) {
        memcpy(k, key, key_len);
    }

    for (size_t i = 0; i < 64; i++)
        pad[i] = k[i] ^ 0x36;
    SHA256_Init(&c);
    SHA256_Update(&c, pad, sizeof pad);
    memcpy(hk->inner, &c, sizeof c);

    for (size_t i = 0; i < 64; i++)
        pad[i] = k[i] ^ 0x5c;
    SHA256_Init(&c);
    SHA256_Update(&c, pad, sizeof pad);
    memcpy(hk->outer, &c, sizeof c);

    s3w_wipe(k, sizeof k);
    s3w_wipe(pad, sizeof pad);
    s3w_wipe(&c, sizeof c);
}

void sigv4_hmac_key_mac(const struct sigv4_hmac_key *hk, const void *msg,
                        size_t msg_len, uint8_t out[32])
{
    uint8_t inner[32];
    SHA256_CTX c;

    memcpy(&c, hk->inner, sizeof c);
    SHA256_Update(&c, msg, msg_len);
    SHA256_Final(inner, &c);
    memcpy(&c, hk->outer, sizeof c);
    SHA256_Update(&c, inner, sizeof inner);
    SHA256_Final(out, &c);

    s3w_wipe(inner, sizeof inner);
    s3w_wipe(&c, sizeof c);
}

/* The secret's tag for the signing-key cache (keycache.c): SHA-256 over one
 * 64-byte block of this process's own - a label of up to 32 bytes and 32
 * random bytes, hashed once - followed by the secret, so a tag costs one
 * compression for a secret of up to 55 bytes (AWS's are 40). The random
 * bytes keep tags from matching a table made for another process; if the
 * generator fails they stay zero and the tag is still exact, only
 * unsalted. */
static SHA256_CTX tag_prefix;
static pthread_once_t tag_once = PTHREAD_ONCE_INIT;

static void tag_init(void)
{
    uint8_t block[64] = "s3warden keycache secret tag v1"; /* 31 bytes */
    if (RAND_bytes(block + 32, 32) != 1)
        memset(block + 32, 0, 32);
    SHA256_Init(&tag_prefix);
    SHA256_Update(&tag_prefix, block, sizeof block);
}

void sigv4_secret_tag(struct s3w_slice secret, uint8_t out[32])
{
    SHA256_CTX c;
    pthread_once(&tag_once, tag_init);
    memcpy(&c, &tag_prefix, sizeof c);
    SHA256_Update(&c, secret.ptr, secret.len);
    SHA256_Final(out, &c);
    s3w_wipe(&c, sizeof c);
}

/* RFC 2104 with B = 64, for a key used once: the states are derived from
 * the key, so they are wiped. */
void sigv4_hmac_sha256(const void *key, size_t key_len, const void *msg,
                       size_t msg_len, uint8_t out[32])
{
    struct sigv4_hmac_key hk;
    sigv4_hmac_key_init(&hk, key, key_len);
    sigv4_hmac_key_mac(&hk, msg, msg_len, out);
    s3w_wipe(&hk, sizeof hk);
}

/* AWS SigV4 docs, "Derive a signing key":
 *   kDate = HMAC("AWS4" + secret, date); kRegion = HMAC(kDate, region);
 *   kService = HMAC(kRegion, service); kSigning = HMAC(kService,
 *   "aws4_request").
 * Every intermediate key is as good as the secret for its scope, so all are
 * wiped (aws-c-auth forgets the middle ones; STYLE.md). */
void sigv4_signing_key(struct s3w_slice secret, struct s3w_slice date,
                       struct s3w_slice region, struct s3w_slice service,
                       uint8_t out[32])
{
    uint8_t k[64];
    uint8_t a[32], b[32];
    size_t klen;

    if (secret.len <= sizeof k - 4) {
        memcpy(k, "AWS4", 4);
        if (secret.len)
            memcpy(k + 4, secret.ptr, secret.len);
        klen = 4 + secret.len;
    } else {
        /* RFC 2104: a key longer than the block is replaced by its hash;
         * done here in two pieces so no length cap applies. */
        SHA256_CTX c;
        SHA256_Init(&c);
        SHA256_Update(&c, "AWS4", 4);
        SHA256_Update(&c, secret.ptr, secret.len);
        SHA256_Final(k, &c);
        s3w_wipe(&c, sizeof c);
        klen = 32;
    }
    sigv4_hmac_sha256(k, klen, date.ptr, date.len, a);
    sigv4_hmac_sha256(a, 32, region.ptr, region.len, b);
    sigv4_hmac_sha256(b, 32, service.ptr, service.len, a);
    sigv4_hmac_sha256(a, 32, "aws4_request", 12, out);

    s3w_wipe(k, sizeof k);
    s3w_wipe(a, sizeof a);
    s3w_wipe(b, sizeof b);
}

void sigv4_signature(const uint8_t key[32], struct s3w_slice string_to_sign,
                     uint8_t out[32])
{
    sigv4_hmac_sha256(key, 32, string_to_sign.ptr, string_to_sign.len, out);
}
