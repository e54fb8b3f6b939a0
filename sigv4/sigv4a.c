/*
 * sigv4a.c - SigV4a (AWS4-ECDSA-P256-SHA256). See sigv4a.h for the contract.
 *
 * OpenSSL 3 EVP does the ECDSA; the low-level EC_GROUP/EC_POINT API (not
 * deprecated in 3.0) computes the public point from the derived scalar,
 * because EVP_PKEY_fromdata does not derive it for us.
 */
#include "sigv4a.h"
#include "sigv4_core_int.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/obj_mac.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

/* Longest secret accepted for derivation. AWS secrets are 40 characters;
 * local identities may use longer ones, but nothing near this. */
#define SIGV4A_SECRET_MAX 256
/* aws-c-auth source/key_derivation.c: the counter byte runs 1..254. */
#define SIGV4A_KDF_MAX_COUNTER 254

struct sigv4a_key {
    atomic_int refs;
    bool has_private;
    EVP_PKEY *pkey;
    uint8_t x[32];
    uint8_t y[32];
};

const char *sigv4a_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
    case S3W_E_NOMEM:
        return "out of memory";
    case S3W_E_TOOBIG:
        return "input exceeds its size limit";
    case S3W_E_INVAL:
        return "malformed input";
    case SIGV4A_E_SIGNATURE:
        /* S3's wording for SignatureDoesNotMatch. */
        return "The request signature we calculated does not match the signature "
               "you provided. Check your key and signing method.";
    case SIGV4A_E_REGION:
        return "The region set in X-Amz-Region-Set does not include this "
               "endpoint's region";
    case SIGV4A_E_REGION_SET:
        return "X-Amz-Region-Set is empty or contains an empty region";
    case SIGV4A_E_KDF:
        return "SigV4a key derivation found no valid P-256 scalar";
    case SIGV4A_E_CRYPTO:
        return "internal cryptographic error";
    default:
        return "unknown error";
    }
}

/* ---- small fixed-size writer for strings to sign (no allocation) ---------- */
struct fixw {
    char *p;
    size_t len;
    size_t cap;
    bool over;
};

static void fixw_put(struct fixw *w, const void *p, size_t n)
{
    if (w->over || n > w->cap - w->len) {
        w->over = true;
        return;
    }
    if (n)
        memcpy(w->p + w->len, p, n);
    w->len += n;
}

static void fixw_slice(struct fixw *w, struct s3w_slice s)
{
    fixw_put(w, s.ptr, s.len);
}

static void fixw_cstr(struct fixw *w, const char *s)
{
    fixw_put(w, s, strlen(s));
}

static void fixw_hex32(struct fixw *w, const uint8_t h[32])
{
    char hex[65];
    s3w_hex_encode(h, 32, hex);
    fixw_put(w, hex, 64);
}

/* hex(SHA-256("")), the "non-signature headers" hash of every chunk string
 * to sign (S3 docs, sigv4-streaming). */
static const char s_empty_sha256_hex[] =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/* amz_date must look like 20150830T123600Z. Only the shape is checked here;
 * sigv4core checks the value against the clock. */
static bool amz_date_ok(struct s3w_slice d)
{
    if (d.len != 16 || d.ptr[8] != 'T' || d.ptr[15] != 'Z')
        return false;
    for (size_t i = 0; i < 15; i++) {
        if (i == 8)
            continue;
        if (d.ptr[i] < '0' || d.ptr[i] > '9')
            return false;
    }
    return true;
}

static bool scope_ok(struct s3w_slice scope)
{
    return scope.len > 0 && scope.len <= SIGV4A_SCOPE_MAX &&
           memchr(scope.ptr, '\n', scope.len) == NULL;
}

/* ---- key derivation ---------------------------------------------------------- */

/* n - 2 for NIST P-256 (SEC 2, secp256r1 order n ends in ...632551). */
static const uint8_t s_p256_n_minus_2[32] = {
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84,
    0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x4f,
};

/* Constant-time "c <= limit" on 32-byte big-endian integers: computes
 * limit - c and reports whether it did not borrow. The candidate is secret
 * material, so no early exit (aws-c-auth does the same). */
static bool ct_le_256(const uint8_t c[32], const uint8_t limit[32])
{
    unsigned borrow = 0;
    for (int i = 31; i >= 0; i--) {
        unsigned d = (unsigned)limit[i] - (unsigned)c[i] - borrow;
        borrow = (d >> 8) & 1u;
    }
    return borrow == 0;
}

/* c += 1 in constant time (cannot overflow: c <= n - 2). */
static void ct_add_one_256(uint8_t c[32])
{
    unsigned carry = 1;
    for (int i = 31; i >= 0; i--) {
        unsigned s = (unsigned)c[i] + carry;
        c[i] = (uint8_t)s;
        carry = s >> 8;
    }
}

static struct sigv4a_key *key_alloc(void)
{
    struct sigv4a_key *k = calloc(1, sizeof *k);
    if (k)
        atomic_init(&k->refs, 1);
    return k;
}

/* Imports (private scalar d (big-endian) if given, and) the uncompressed
 * public point into an EVP_PKEY. Params are built on the stack so the scalar
 * never lands in a heap buffer we cannot wipe. */
static int pkey_from_parts(const uint8_t *d_be, const uint8_t pub[65], EVP_PKEY **out)
{
    int rc = SIGV4A_E_CRYPTO;
    EVP_PKEY_CTX *ctx = NULL;
    BIGNUM *bn = NULL;
    uint8_t d_native[32];
    char group[] = SN_X9_62_prime256v1;
    OSSL_PARAM params[4];
    size_t np = 0;

    params[np++] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
    params[np++] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pub, 65);
    if (d_be) {
        /* OSSL_PARAM integers are in native byte order. */
        bn = BN_secure_new();
        if (!bn || !BN_bin2bn(d_be, 32, bn) || BN_bn2nativepad(bn, d_native, 32) != 32)
            goto cleanup;
        params[np++] = OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_PRIV_KEY, d_native, 32);
    }
    params[np] = OSSL_PARAM_construct_end();

    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (!ctx || EVP_PKEY_fromdata_init(ctx) <= 0)
        goto cleanup;
    if (EVP_PKEY_fromdata(ctx, out, d_be ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) <= 0) {
        /* A point off the curve is rejected here (EC_POINT_oct2point). */
        rc = d_be ? SIGV4A_E_CRYPTO : S3W_E_INVAL;
        goto cleanup;
    }
    rc = 0;
cleanup:
    s3w_wipe(d_native, sizeof d_native);
    BN_clear_free(bn);
    EVP_PKEY_CTX_free(ctx);
    if (rc)
        ERR_clear_error();
    return rc;
}

/* Q = d * G; writes 0x04 || X || Y. */
static int p256_public_from_private(const uint8_t d_be[32], uint8_t pub[65])
{
    int rc = SIGV4A_E_CRYPTO;
    EC_GROUP *group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    EC_POINT *q = NULL;
    BIGNUM *d = BN_secure_new();
    BN_CTX *bctx = BN_CTX_secure_new();

    if (!group || !d || !bctx)
        goto cleanup;
    q = EC_POINT_new(group);
    if (!q || !BN_bin2bn(d_be, 32, d))
        goto cleanup;
    BN_set_flags(d, BN_FLG_CONSTTIME);
    if (!EC_POINT_mul(group, q, d, NULL, NULL, bctx))
        goto cleanup;
    if (EC_POINT_point2oct(group, q, POINT_CONVERSION_UNCOMPRESSED, pub, 65, bctx) != 65)
        goto cleanup;
    rc = 0;
cleanup:
    EC_POINT_free(q);
    BN_clear_free(d);
    BN_CTX_free(bctx);
    EC_GROUP_free(group);
    if (rc)
        ERR_clear_error();
    return rc;
}

int sigv4a_key_derive(struct s3w_slice access_key_id, struct s3w_slice secret,
                      struct sigv4a_key **out)
{
    static const char label[] = SIGV4A_ALGORITHM;
    int rc = SIGV4A_E_KDF;
    uint8_t kin[5 + SIGV4A_SECRET_MAX];
    /* be32(1) || label || 0x00 || akid || counter || be32(256) */
    uint8_t fixed[4 + sizeof label - 1 + 1 + SIGV4A_AKID_MAX + 1 + 4];
    uint8_t c[32];
    uint8_t pub[65];
    size_t n = 0, counter_at;
    struct sigv4a_key *k = NULL;

    *out = NULL;
    if (access_key_id.len == 0 || access_key_id.len > SIGV4A_AKID_MAX ||
        secret.len == 0 || secret.len > SIGV4A_SECRET_MAX)
        return S3W_E_INVAL;

    memcpy(kin, "AWS4A", 5);
    memcpy(kin + 5, secret.ptr, secret.len);

    fixed[n++] = 0; fixed[n++] = 0; fixed[n++] = 0; fixed[n++] = 1;
    memcpy(fixed + n, label, sizeof label - 1);
    n += sizeof label - 1;
    fixed[n++] = 0;
    memcpy(fixed + n, access_key_id.ptr, access_key_id.len);
    n += access_key_id.len;
    counter_at = n++;
    fixed[n++] = 0; fixed[n++] = 0; fixed[n++] = 1; fixed[n++] = 0; /* 256 bits */

    bool found = false;
    for (unsigned counter = 1; counter <= SIGV4A_KDF_MAX_COUNTER; counter++) {
        unsigned int mlen = 0;
        fixed[counter_at] = (uint8_t)counter;
        if (!HMAC(EVP_sha256(), kin, (int)(5 + secret.len), fixed, n, c, &mlen) || mlen != 32) {
            rc = SIGV4A_E_CRYPTO;
            goto cleanup;
        }
        /* The loop's exit depends on the candidate, as in aws-c-auth; a
         * rejected candidate (probability ~2^-32) is discarded anyway. */
        if (ct_le_256(c, s_p256_n_minus_2)) {
            found = true;
            break;
        }
    }
    if (!found)
        goto cleanup;
    ct_add_one_256(c); /* d = c + 1, in [1, n-1] */

    if ((rc = p256_public_from_private(c, pub)) != 0)
        goto cleanup;
    k = key_alloc();
    if (!k) {
        rc = S3W_E_NOMEM;
        goto cleanup;
    }
    if ((rc = pkey_from_parts(c, pub, &k->pkey)) != 0)
        goto cleanup;
    k->has_private = true;
    memcpy(k->x, pub + 1, 32);
    memcpy(k->y, pub + 33, 32);
    *out = k;
    k = NULL;
    rc = 0;
cleanup:
    s3w_wipe(kin, sizeof kin);
    s3w_wipe(fixed, sizeof fixed);
    s3w_wipe(c, sizeof c);
    sigv4a_key_unref(k);
    return rc;
}

int sigv4a_key_from_public(const uint8_t x[32], const uint8_t y[32], struct sigv4a_key **out)
{
    uint8_t pub[65];
    int rc;
    struct sigv4a_key *k;

    *out = NULL;
    pub[0] = 0x04;
    memcpy(pub + 1, x, 32);
    memcpy(pub + 33, y, 32);
    k = key_alloc();
    if (!k)
        return S3W_E_NOMEM;
    if ((rc = pkey_from_parts(NULL, pub, &k->pkey)) != 0) {
        sigv4a_key_unref(k);
        return rc;
    }
    memcpy(k->x, x, 32);
    memcpy(k->y, y, 32);
    *out = k;
    return 0;
}

int sigv4a_key_public_xy(const struct sigv4a_key *key, uint8_t x[32], uint8_t y[32])
{
    if (!key)
        return S3W_E_INVAL;
    memcpy(x, key->x, 32);
    memcpy(y, key->y, 32);
    return 0;
}

bool sigv4a_key_can_sign(const struct sigv4a_key *key)
{
    return key && key->has_private;
}

struct sigv4a_key *sigv4a_key_ref(struct sigv4a_key *key)
{
    if (key)
        atomic_fetch_add_explicit(&key->refs, 1, memory_order_relaxed);
    return key;
}

void sigv4a_key_unref(struct sigv4a_key *key)
{
    if (!key)
        return;
    if (atomic_fetch_sub_explicit(&key->refs, 1, memory_order_acq_rel) != 1)
        return;
    /* EVP_PKEY_free clears the private scalar (BN_clear_free in the EC
     * key manager). */
    EVP_PKEY_free(key->pkey);
    s3w_wipe(key, sizeof *key);
    free(key);
}

/* ---- key cache ------------------------------------------------------------------ */
struct cache_slot {
    uint8_t tag[32];
    struct sigv4a_key *key; /* one reference held by the cache; NULL = empty */
    uint64_t used;          /* LRU clock value of the last hit */
};

struct sigv4a_key_cache {
    /* Keyed with a per-cache random key: tags are HMAC(key, credential), so
     * a dump of the cache does not give a fast offline check for a guessed
     * secret. The key itself lives only inside the MAC context. */
    EVP_MAC_CTX *tag_mac;
    uint64_t clock;
    uint64_t hits, misses;
    /* The key of the last successful sigv4a_hook_verify (one reference),
     * for the aws-chunked decoder of the same request. */
    struct sigv4a_key *last;
    size_t last_akid_len;
    char last_akid[SIGV4A_AKID_MAX];
    size_t nslots;
    struct cache_slot slots[];
};

struct sigv4a_key_cache *sigv4a_key_cache_new(size_t slots)
{
    uint8_t key[32];
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    if (slots == 0 || slots > 1u << 20)
        return NULL;
    struct sigv4a_key_cache *c = calloc(1, sizeof *c + slots * sizeof(struct cache_slot));
    if (!c)
        return NULL;
    c->nslots = slots;
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    c->tag_mac = mac ? EVP_MAC_CTX_new(mac) : NULL;
    EVP_MAC_free(mac); /* the context keeps its own reference */
    if (!c->tag_mac || RAND_bytes(key, sizeof key) != 1 ||
        !EVP_MAC_init(c->tag_mac, key, sizeof key, params)) {
        s3w_wipe(key, sizeof key);
        ERR_clear_error();
        sigv4a_key_cache_free(c);
        return NULL;
    }
    s3w_wipe(key, sizeof key);
    return c;
}

void sigv4a_key_cache_free(struct sigv4a_key_cache *cache)
{
    if (!cache)
        return;
    for (size_t i = 0; i < cache->nslots; i++)
        sigv4a_key_unref(cache->slots[i].key);
    sigv4a_key_unref(cache->last);
    EVP_MAC_CTX_free(cache->tag_mac);
    s3w_wipe(cache, sizeof *cache + cache->nslots * sizeof(struct cache_slot));
    free(cache);
}

/* tag = HMAC-SHA256(tag_key, be32(len(akid)) || akid || secret); the length
 * prefix keeps (akid, secret) splits apart. The MAC context is keyed once at
 * cache creation and re-initialised with the same key per lookup
 * (EVP_MAC_init with a NULL key, OpenSSL 3 EVP_MAC(3)): no fetch and no
 * allocation on the lookup path. */
static int cache_tag(struct sigv4a_key_cache *cache, struct s3w_slice akid,
                     struct s3w_slice secret, uint8_t tag[32])
{
    uint8_t lenb[4] = { (uint8_t)(akid.len >> 24), (uint8_t)(akid.len >> 16),
                        (uint8_t)(akid.len >> 8), (uint8_t)akid.len };
    size_t outl = 0;

    if (!EVP_MAC_init(cache->tag_mac, NULL, 0, NULL) ||
        !EVP_MAC_update(cache->tag_mac, lenb, 4) ||
        !EVP_MAC_update(cache->tag_mac, (const uint8_t *)akid.ptr, akid.len) ||
        !EVP_MAC_update(cache->tag_mac, (const uint8_t *)secret.ptr, secret.len) ||
        !EVP_MAC_final(cache->tag_mac, tag, &outl, 32) || outl != 32) {
        ERR_clear_error();
        return SIGV4A_E_CRYPTO;
    }
    return 0;
}

int sigv4a_key_cache_get(struct sigv4a_key_cache *cache, struct s3w_slice access_key_id,
                         struct s3w_slice secret, struct sigv4a_key **out)
{
    uint8_t tag[32];
    int rc;
    size_t victim = 0;

    *out = NULL;
    if (!cache)
        return S3W_E_INVAL;
    if (access_key_id.len == 0 || access_key_id.len > SIGV4A_AKID_MAX ||
        secret.len == 0 || secret.len > SIGV4A_SECRET_MAX)
        return S3W_E_INVAL;
    if ((rc = cache_tag(cache, access_key_id, secret, tag)) != 0)
        return rc;

    for (size_t i = 0; i < cache->nslots; i++) {
        struct cache_slot *s = &cache->slots[i];
        if (s->key && s3w_ct_equal(s->tag, 32, tag, 32)) {
            s->used = ++cache->clock;
            cache->hits++;
            *out = sigv4a_key_ref(s->key);
            return 0;
        }
        /* Prefer an empty slot, else the least recently used. */
        if (!cache->slots[victim].key)
            continue;
        if (!s->key || s->used < cache->slots[victim].used)
            victim = i;
    }

    cache->misses++;
    struct sigv4a_key *k;
    if ((rc = sigv4a_key_derive(access_key_id, secret, &k)) != 0)
        return rc;
    struct cache_slot *v = &cache->slots[victim];
    sigv4a_key_unref(v->key);
    memcpy(v->tag, tag, 32);
    v->key = k;
    v->used = ++cache->clock;
    *out = sigv4a_key_ref(k);
    return 0;
}

static void cache_forget_last(struct sigv4a_key_cache *cache)
{
    sigv4a_key_unref(cache->last);
    cache->last = NULL;
    cache->last_akid_len = 0;
}

int sigv4a_key_cache_last_verified(struct sigv4a_key_cache *cache,
                                   struct s3w_slice access_key_id, struct sigv4a_key **out)
{
    *out = NULL;
    if (!cache || !cache->last ||
        !s3w_slice_eq(access_key_id, s3w_slice(cache->last_akid, cache->last_akid_len)))
        return S3W_E_INVAL;
    *out = sigv4a_key_ref(cache->last);
    return 0;
}

void sigv4a_key_cache_stats(const struct sigv4a_key_cache *cache, uint64_t *hits,
                            uint64_t *misses)
{
    *hits = cache ? cache->hits : 0;
    *misses = cache ? cache->misses : 0;
}

/* ---- region sets --------------------------------------------------------------- */

/* Glob match with '*' as the only metacharacter; the classic linear
 * backtracking to the last star (O(len(p) * len(s)) worst case; region names
 * are short). */
static bool glob_match(const char *p, size_t pn, const char *s, size_t sn)
{
    size_t pi = 0, si = 0, star = (size_t)-1, mark = 0;
    while (si < sn) {
        if (pi < pn && p[pi] == '*') {
            star = pi++;
            mark = si;
        } else if (pi < pn && p[pi] == s[si]) {
            pi++;
            si++;
        } else if (star != (size_t)-1) {
            pi = star + 1;
            si = ++mark;
        } else {
            return false;
        }
    }
    while (pi < pn && p[pi] == '*')
        pi++;
    return pi == pn;
}

int sigv4a_region_set_check(struct s3w_slice set, struct s3w_slice region)
{
    bool match = false;
    size_t i = 0;

    if (set.len == 0 || region.len == 0)
        return set.len == 0 ? SIGV4A_E_REGION_SET : SIGV4A_E_REGION;
    /* Walk every entry even after a match so a malformed set is always
     * reported as malformed. */
    for (;;) {
        size_t j = i;
        while (j < set.len && set.ptr[j] != ',')
            j++;
        struct s3w_slice e = s3w_slice(set.ptr + i, j - i);
        /* Entries are trimmed of OWS (SP, HTAB). s3w_slice_trim also takes
         * CR and LF, which only a presigned (percent-decoded) set can hold:
         * such an entry stays whole, so it is never empty and matches no
         * region (ours comes from config), exactly as before. */
        if (!memchr(e.ptr, '\r', e.len) && !memchr(e.ptr, '\n', e.len))
            e = s3w_slice_trim(e);
        if (e.len == 0)
            return SIGV4A_E_REGION_SET;
        if (!match && glob_match(e.ptr, e.len, region.ptr, region.len))
            match = true;
        if (j == set.len)
            break;
        i = j + 1;
    }
    return match ? 0 : SIGV4A_E_REGION;
}

bool sigv4a_region_set_matches(struct s3w_slice set, struct s3w_slice region)
{
    return sigv4a_region_set_check(set, region) == 0;
}

/* ---- strings to sign ---------------------------------------------------------- */

int sigv4a_scope(struct s3w_buf *out, struct s3w_slice amz_date, struct s3w_slice service)
{
    if (!amz_date_ok(amz_date) || service.len == 0 || memchr(service.ptr, '/', service.len))
        return S3W_E_INVAL;
    size_t mark = out->len;
    int rc;
    if ((rc = s3w_buf_append(out, amz_date.ptr, 8)) ||
        (rc = s3w_buf_append_char(out, '/')) ||
        (rc = s3w_buf_append_slice(out, service)) ||
        (rc = s3w_buf_append_cstr(out, "/aws4_request"))) {
        out->len = mark;
        if (out->ptr)
            out->ptr[mark] = '\0';
        return rc;
    }
    return 0;
}

/* Longest request string to sign: algorithm + date + scope + hash + 3 LF. */
#define STS_MAX (sizeof SIGV4A_ALGORITHM + 17 + SIGV4A_SCOPE_MAX + 1 + 64)
/* Longest chunk string to sign. */
#define CHUNK_STS_MAX (sizeof SIGV4A_CHUNK_ALGORITHM + 17 + SIGV4A_SCOPE_MAX + 1 + \
                       SIGV4A_SIG_HEX_MAX + 1 + 65 + 64)

static int build_sts(char *buf, size_t cap, size_t *len, struct s3w_slice amz_date,
                     struct s3w_slice scope, struct s3w_slice creq)
{
    uint8_t h[32];
    struct fixw w = { buf, 0, cap, false };
    if (!amz_date_ok(amz_date) || !scope_ok(scope))
        return S3W_E_INVAL;
    SHA256((const unsigned char *)creq.ptr, creq.len, h);
    fixw_cstr(&w, SIGV4A_ALGORITHM "\n");
    fixw_slice(&w, amz_date);
    fixw_cstr(&w, "\n");
    fixw_slice(&w, scope);
    fixw_cstr(&w, "\n");
    fixw_hex32(&w, h);
    if (w.over)
        return S3W_E_TOOBIG;
    *len = w.len;
    return 0;
}

int sigv4a_string_to_sign(struct s3w_buf *out, struct s3w_slice amz_date,
                          struct s3w_slice scope, struct s3w_slice creq)
{
    char buf[STS_MAX];
    size_t n = 0;
    int rc = build_sts(buf, sizeof buf, &n, amz_date, scope, creq);
    return rc ? rc : s3w_buf_append(out, buf, n);
}

/* The signature chained into the next string to sign: unpadded, hex only. */
struct s3w_slice sigv4a_sig_trim_padding(struct s3w_slice sig)
{
    while (sig.len && sig.ptr[sig.len - 1] == SIGV4A_SIG_PAD_CHAR)
        sig.len--;
    return sig;
}

static int build_stream_sts(char *buf, size_t cap, size_t *len, bool trailer,
                            struct s3w_slice amz_date, struct s3w_slice scope,
                            struct s3w_slice prev_sig, const uint8_t hash[32])
{
    struct fixw w = { buf, 0, cap, false };
    prev_sig = sigv4a_sig_trim_padding(prev_sig);
    if (!amz_date_ok(amz_date) || !scope_ok(scope) || prev_sig.len == 0 ||
        prev_sig.len > SIGV4A_SIG_HEX_MAX || memchr(prev_sig.ptr, '\n', prev_sig.len))
        return S3W_E_INVAL;
    fixw_cstr(&w, trailer ? SIGV4A_TRAILER_ALGORITHM "\n" : SIGV4A_CHUNK_ALGORITHM "\n");
    fixw_slice(&w, amz_date);
    fixw_cstr(&w, "\n");
    fixw_slice(&w, scope);
    fixw_cstr(&w, "\n");
    fixw_slice(&w, prev_sig);
    fixw_cstr(&w, "\n");
    if (!trailer) {
        fixw_cstr(&w, s_empty_sha256_hex);
        fixw_cstr(&w, "\n");
    }
    fixw_hex32(&w, hash);
    if (w.over)
        return S3W_E_TOOBIG;
    *len = w.len;
    return 0;
}

int sigv4a_chunk_string_to_sign(struct s3w_buf *out, struct s3w_slice amz_date,
                                struct s3w_slice scope, struct s3w_slice prev_sig,
                                const uint8_t chunk_sha256[32])
{
    char buf[CHUNK_STS_MAX];
    size_t n = 0;
    int rc = build_stream_sts(buf, sizeof buf, &n, false, amz_date, scope, prev_sig, chunk_sha256);
    return rc ? rc : s3w_buf_append(out, buf, n);
}

int sigv4a_trailer_string_to_sign(struct s3w_buf *out, struct s3w_slice amz_date,
                                  struct s3w_slice scope, struct s3w_slice prev_sig,
                                  const uint8_t trailer_sha256[32])
{
    char buf[CHUNK_STS_MAX];
    size_t n = 0;
    int rc = build_stream_sts(buf, sizeof buf, &n, true, amz_date, scope, prev_sig, trailer_sha256);
    return rc ? rc : s3w_buf_append(out, buf, n);
}

/* ---- ECDSA sign / verify --------------------------------------------------------- */

int sigv4a_sign_sts(const struct sigv4a_key *key, struct s3w_slice sts,
                    char sig_hex[SIGV4A_SIG_HEX_MAX + 1], size_t *sig_len)
{
    int rc = SIGV4A_E_CRYPTO;
    uint8_t h[32];
    uint8_t der[SIGV4A_SIG_DER_MAX];
    size_t derlen = sizeof der;
    EVP_PKEY_CTX *ctx = NULL;

    if (!key || !key->has_private)
        return S3W_E_INVAL;
    SHA256((const unsigned char *)sts.ptr, sts.len, h);
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL);
    if (!ctx || EVP_PKEY_sign_init(ctx) <= 0 ||
        EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) <= 0 ||
        EVP_PKEY_sign(ctx, der, &derlen, h, sizeof h) <= 0 || derlen > sizeof der)
        goto cleanup;
    s3w_hex_encode(der, derlen, sig_hex);
    *sig_len = derlen * 2;
    rc = 0;
cleanup:
    EVP_PKEY_CTX_free(ctx);
    if (rc)
        ERR_clear_error();
    return rc;
}

/* Verifies sig_hex over a precomputed SHA-256. Anything that is not a valid
 * signature - bad hex, bad DER, wrong value - is SIGV4A_E_SIGNATURE: the
 * caller learns nothing finer, and neither does the client. */
static int verify_digest(const struct sigv4a_key *key, const uint8_t h[32],
                         struct s3w_slice sig_hex)
{
    uint8_t der[SIGV4A_SIG_DER_MAX];
    EVP_PKEY_CTX *ctx;
    int ok;

    if (!key)
        return S3W_E_INVAL;
    if (sig_hex.len == 0 || sig_hex.len % 2 || sig_hex.len > SIGV4A_SIG_HEX_MAX ||
        s3w_hex_decode(sig_hex, der, sig_hex.len / 2) != 0)
        return SIGV4A_E_SIGNATURE;
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL);
    if (!ctx || EVP_PKEY_verify_init(ctx) <= 0 ||
        EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) <= 0) {
        EVP_PKEY_CTX_free(ctx);
        ERR_clear_error();
        return SIGV4A_E_CRYPTO;
    }
    /* OpenSSL re-encodes the parsed DER and rejects non-canonical
     * encodings, so only the one DER form of (r, s) verifies. */
    ok = EVP_PKEY_verify(ctx, der, sig_hex.len / 2, h, 32);
    EVP_PKEY_CTX_free(ctx);
    if (ok != 1) {
        ERR_clear_error();
        return SIGV4A_E_SIGNATURE;
    }
    return 0;
}

int sigv4a_verify_sts(const struct sigv4a_key *key, struct s3w_slice sts,
                      struct s3w_slice sig_hex)
{
    uint8_t h[32];
    SHA256((const unsigned char *)sts.ptr, sts.len, h);
    return verify_digest(key, h, sig_hex);
}

int sigv4a_verify_canonical(const struct sigv4a_key *key, struct s3w_slice amz_date,
                            struct s3w_slice scope, struct s3w_slice creq,
                            struct s3w_slice sig_hex)
{
    char buf[STS_MAX];
    size_t n = 0;
    int rc = build_sts(buf, sizeof buf, &n, amz_date, scope, creq);
    return rc ? rc : sigv4a_verify_sts(key, s3w_slice(buf, n), sig_hex);
}

static int stream_sign(bool trailer, const struct sigv4a_key *key, struct s3w_slice amz_date,
                       struct s3w_slice scope, struct s3w_slice prev_sig,
                       const uint8_t hash[32], char sig_out[SIGV4A_CHUNK_SIG_LEN + 1],
                       size_t *hex_len)
{
    char buf[CHUNK_STS_MAX];
    size_t n = 0, hl = 0;
    int rc = build_stream_sts(buf, sizeof buf, &n, trailer, amz_date, scope, prev_sig, hash);
    if (rc || (rc = sigv4a_sign_sts(key, s3w_slice(buf, n), sig_out, &hl)))
        return rc;
    memset(sig_out + hl, SIGV4A_SIG_PAD_CHAR, SIGV4A_CHUNK_SIG_LEN - hl);
    sig_out[SIGV4A_CHUNK_SIG_LEN] = '\0';
    *hex_len = hl;
    return 0;
}

static int stream_verify(bool trailer, const struct sigv4a_key *key, struct s3w_slice amz_date,
                         struct s3w_slice scope, struct s3w_slice prev_sig,
                         const uint8_t hash[32], struct s3w_slice sig)
{
    char buf[CHUNK_STS_MAX];
    size_t n = 0;
    int rc = build_stream_sts(buf, sizeof buf, &n, trailer, amz_date, scope, prev_sig, hash);
    /* Padding only ever appears on chunk and trailer signatures. */
    return rc ? rc : sigv4a_verify_sts(key, s3w_slice(buf, n), sigv4a_sig_trim_padding(sig));
}

int sigv4a_chunk_sign(const struct sigv4a_key *key, struct s3w_slice amz_date,
                      struct s3w_slice scope, struct s3w_slice prev_sig,
                      const uint8_t chunk_sha256[32],
                      char sig_out[SIGV4A_CHUNK_SIG_LEN + 1], size_t *hex_len)
{
    return stream_sign(false, key, amz_date, scope, prev_sig, chunk_sha256, sig_out, hex_len);
}

int sigv4a_chunk_verify(const struct sigv4a_key *key, struct s3w_slice amz_date,
                        struct s3w_slice scope, struct s3w_slice prev_sig,
                        const uint8_t chunk_sha256[32], struct s3w_slice sig)
{
    return stream_verify(false, key, amz_date, scope, prev_sig, chunk_sha256, sig);
}

int sigv4a_trailer_sign(const struct sigv4a_key *key, struct s3w_slice amz_date,
                        struct s3w_slice scope, struct s3w_slice prev_sig,
                        const uint8_t trailer_sha256[32],
                        char sig_out[SIGV4A_CHUNK_SIG_LEN + 1], size_t *hex_len)
{
    return stream_sign(true, key, amz_date, scope, prev_sig, trailer_sha256, sig_out, hex_len);
}

int sigv4a_trailer_verify(const struct sigv4a_key *key, struct s3w_slice amz_date,
                          struct s3w_slice scope, struct s3w_slice prev_sig,
                          const uint8_t trailer_sha256[32], struct s3w_slice sig)
{
    return stream_verify(true, key, amz_date, scope, prev_sig, trailer_sha256, sig);
}

/* ---- glue for sigv4_verify() and the aws-chunked codec ----------------------------- */

int sigv4a_hook_verify(void *ctx, struct s3w_slice access_key_id, struct s3w_slice secret,
                       struct s3w_slice string_to_sign, struct s3w_slice signature_hex)
{
    struct sigv4a_key_cache *cache = ctx;
    struct sigv4a_key *key = NULL;
    if (!cache)
        return S3W_E_INVAL;
    /* Whatever happens below, an older request's key is never handed out
     * as this one's. */
    cache_forget_last(cache);
    int rc = sigv4a_key_cache_get(cache, access_key_id, secret, &key);
    if (rc)
        return rc == S3W_E_INVAL ? 1 : rc; /* an unusable credential cannot verify */
    rc = sigv4a_verify_sts(key, string_to_sign, signature_hex);
    if (rc == 0) {
        cache->last = key; /* keeps our reference */
        memcpy(cache->last_akid, access_key_id.ptr, access_key_id.len);
        cache->last_akid_len = access_key_id.len;
        return 0;
    }
    sigv4a_key_unref(key);
    return rc == SIGV4A_E_SIGNATURE ? 1 : rc;
}

static int chain_verify(void *ctx, struct s3w_slice sts, struct s3w_slice sig)
{
    int rc = sigv4a_verify_sts(ctx, sts, sigv4a_sig_trim_padding(sig));
    if (rc == 0)
        return SIGV4_CHUNK_OK;
    return rc == SIGV4A_E_SIGNATURE ? SIGV4_CHUNK_E_SIGNATURE : SIGV4_CHUNK_E_INTERNAL;
}

static int chain_sign(void *ctx, struct s3w_slice sts, char *out, size_t out_cap, size_t *out_len)
{
    char sig[SIGV4A_SIG_HEX_MAX + 1];
    size_t n = 0;
    if (out_cap < SIGV4A_CHUNK_SIG_LEN || sigv4a_sign_sts(ctx, sts, sig, &n) != 0)
        return SIGV4_CHUNK_E_INTERNAL;
    memcpy(out, sig, n);
    memset(out + n, SIGV4A_SIG_PAD_CHAR, SIGV4A_CHUNK_SIG_LEN - n);
    *out_len = SIGV4A_CHUNK_SIG_LEN;
    return SIGV4_CHUNK_OK;
}

const struct sigv4_chain_ops sigv4a_chain_ops = {
    .verify = chain_verify,
    .sign = chain_sign,
    .payload_algo = SIGV4A_CHUNK_ALGORITHM,
    .trailer_algo = SIGV4A_TRAILER_ALGORITHM,
    /* Shortest DER ECDSA signature: 30 06 02 01 r 02 01 s (8 bytes). */
    .sig_min = 16,
    .sig_max = SIGV4A_CHUNK_SIG_LEN,
};

int sigv4a_check_region(const struct sigv4_result *res, struct s3w_slice region,
                        struct sigv4_error *err)
{
    if (res->algorithm != SIGV4_ALG_ECDSA_P256_SHA256)
        return 0;
    bool q = res->presigned;
    /* A presigned region set is a query parameter and so always in the
     * canonical query. In header form it must be a signed header, or anyone
     * on the path could widen it: S3 refuses unsigned x-amz-* headers, and
     * we refuse this one for every service. */
    if (!q && !sigv4_result_signed(res, S3W_SLICE_LIT("x-amz-region-set"))) {
        sigv4_fail(err, SIGV4_ERR_UNSIGNED_HEADERS);
        sigv4_int_not_signed(err, S3W_SLICE_LIT("x-amz-region-set"));
        return -1;
    }
    int rc = sigv4a_region_set_check(res->region_set, region);
    if (rc == 0)
        return 0;
    /* Our region comes from config, not from the request; still cap it. */
    int shown = region.len > 64 ? 64 : (int)region.len;
    const char *pre = q ? "" : "The authorization header is malformed; ";
    enum sigv4_errcode code = q ? SIGV4_ERR_QUERY_PARAMS : SIGV4_ERR_HEADER_MALFORMED;
    if (rc == SIGV4A_E_REGION_SET)
        return sigv4_failf(err, code, "%sX-Amz-Region-Set is missing or contains an empty region.",
                           pre);
    return sigv4_failf(err, code, "%sX-Amz-Region-Set does not include the region '%.*s'.", pre,
                       shown, region.ptr);
}

/* ---- signing requests ------------------------------------------------------------ */

/* Names the signer adds itself; a caller passing one would sign it twice. */
static bool reserved_header(struct s3w_slice name)
{
    static const char *const names[] = {
        "authorization", "x-amz-date", "x-amz-content-sha256",
        "x-amz-region-set", "x-amz-security-token",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (s3w_slice_eq_nocase(name, s3w_slice_cstr(names[i])))
            return true;
    return false;
}

static int slice_cmp(const void *a, const void *b)
{
    const struct s3w_slice *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = n ? memcmp(x->ptr, y->ptr, n) : 0;
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* Lower-cases the names of hdrs into arena, sorts them, drops repeats and
 * joins them with ';' into out. */
static int signed_header_list(const struct s3w_header *hdrs, size_t n, char *arena,
                              size_t arena_cap, struct s3w_slice *names, struct s3w_buf *out)
{
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        struct s3w_slice nm = hdrs[i].name;
        if (nm.len == 0 || nm.len > arena_cap - used)
            return S3W_E_TOOBIG;
        for (size_t j = 0; j < nm.len; j++) {
            unsigned char ch = (unsigned char)nm.ptr[j];
            if (ch <= ' ' || ch == ':' || ch == ';' || ch >= 0x7f)
                return S3W_E_INVAL;
            arena[used + j] = (char)((ch >= 'A' && ch <= 'Z') ? ch + 32 : ch);
        }
        names[i] = s3w_slice(arena + used, nm.len);
        used += nm.len;
    }
    qsort(names, n, sizeof names[0], slice_cmp);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (i && s3w_slice_eq(names[i], names[i - 1]))
            continue;
        if (i && (rc = s3w_buf_append_char(out, ';')) != 0)
            break;
        rc = s3w_buf_append_slice(out, names[i]);
    }
    return rc;
}

/* Shared checks and the scope for both signing forms. */
static int sign_prepare(const struct sigv4_sign_params *p, const struct sigv4_credentials *creds,
                        const struct sigv4a_key *key, struct s3w_slice region_set,
                        char amz_date[17], struct s3w_buf *scope, struct sigv4_error *err)
{
    if (!sigv4a_key_can_sign(key))
        return sigv4_failf(err, SIGV4_ERR_INTERNAL, "SigV4a signing needs a private key.");
    if (creds->access_key_id.len == 0 || creds->access_key_id.len > SIGV4A_AKID_MAX)
        return sigv4_failf(err, SIGV4_ERR_INTERNAL, "Invalid access key id for signing.");
    /* "x" only probes well-formedness; control characters would break the
     * header or the canonical form. */
    if (sigv4a_region_set_check(region_set, S3W_SLICE_LIT("x")) == SIGV4A_E_REGION_SET)
        return sigv4_failf(err, SIGV4_ERR_INTERNAL, "Invalid SigV4a region set.");
    for (size_t i = 0; i < region_set.len; i++)
        if ((unsigned char)region_set.ptr[i] < ' ' || region_set.ptr[i] == 0x7f)
            return sigv4_failf(err, SIGV4_ERR_INTERNAL, "Invalid SigV4a region set.");
    if (p->n_headers > SIGV4_MAX_HEADERS - 4)
        return sigv4_fail(err, SIGV4_ERR_INTERNAL);
    for (size_t i = 0; i < p->n_headers; i++)
        if (reserved_header(p->headers[i].name))
            return sigv4_failf(err, SIGV4_ERR_INTERNAL,
                               "The signer adds this header itself; do not pass it.");
    sigv4_format_amz_date(p->now, amz_date);
    if (sigv4a_scope(scope, s3w_slice(amz_date, 16), p->service) != 0)
        return sigv4_failf(err, SIGV4_ERR_INTERNAL, "Invalid service for the SigV4a scope.");
    return 0;
}

int sigv4a_sign_headers(const struct sigv4_sign_params *p, const struct sigv4_credentials *creds,
                        const struct sigv4a_key *key, struct s3w_slice region_set,
                        struct sigv4a_signed *out, struct sigv4_error *err)
{
    int rc = -1;
    struct s3w_buf scope, signed_h, creq, sts;
    struct s3w_header hdrs[SIGV4_MAX_HEADERS];
    struct s3w_slice names[SIGV4_MAX_HEADERS];
    char arena[4096];
    char amz_date[17];

    memset(out, 0, sizeof *out);
    s3w_buf_init(&scope, SIGV4A_SCOPE_MAX);
    s3w_buf_init(&signed_h, 4096);
    s3w_buf_init(&creq, SIGV4_MAX_CANONICAL);
    s3w_buf_init(&sts, 512);
    if (sign_prepare(p, creds, key, region_set, amz_date, &scope, err))
        goto cleanup;

    struct s3w_slice payload = p->payload.len ? p->payload : S3W_SLICE_LIT("UNSIGNED-PAYLOAD");
    if (sigv4_payload_mode_parse(payload, NULL) == 0 || payload.len >= sizeof out->content_sha256) {
        sigv4_failf(err, SIGV4_ERR_INVALID_REQUEST, "Unknown x-amz-content-sha256 value.");
        goto cleanup;
    }

    size_t n = p->n_headers;
    memcpy(hdrs, p->headers, n * sizeof hdrs[0]);
    hdrs[n++] = (struct s3w_header){ S3W_SLICE_LIT("x-amz-date"), s3w_slice(amz_date, 16) };
    hdrs[n++] = (struct s3w_header){ S3W_SLICE_LIT("x-amz-content-sha256"), payload };
    hdrs[n++] = (struct s3w_header){ S3W_SLICE_LIT("x-amz-region-set"), region_set };
    if (creds->session_token.len)
        hdrs[n++] = (struct s3w_header){ S3W_SLICE_LIT("x-amz-security-token"),
                                           creds->session_token };
    if (signed_header_list(hdrs, n, arena, sizeof arena, names, &signed_h) != 0) {
        sigv4_failf(err, SIGV4_ERR_INTERNAL, "Header names too long or invalid for signing.");
        goto cleanup;
    }
    struct sigv4_request req = { p->method, p->target, hdrs, n };
    if (sigv4_canonical_request(&req, p->uri_mode, s3w_buf_slice(&signed_h), payload, false,
                                &creq) != 0 ||
        sigv4a_string_to_sign(&sts, s3w_slice(amz_date, 16), s3w_buf_slice(&scope),
                              s3w_buf_slice(&creq)) != 0 ||
        sigv4a_sign_sts(key, s3w_buf_slice(&sts), out->signature, &out->signature_len) != 0) {
        sigv4_fail(err, SIGV4_ERR_INTERNAL);
        goto cleanup;
    }
    int w = snprintf(out->authorization, sizeof out->authorization,
                     SIGV4A_ALGORITHM " Credential=%.*s/%.*s, SignedHeaders=%.*s, Signature=%s",
                     (int)creds->access_key_id.len, creds->access_key_id.ptr, (int)scope.len,
                     scope.ptr, (int)signed_h.len, signed_h.ptr, out->signature);
    if (w < 0 || (size_t)w >= sizeof out->authorization) {
        sigv4_fail(err, SIGV4_ERR_INTERNAL);
        goto cleanup;
    }
    out->authorization_len = (size_t)w;
    memcpy(out->amz_date, amz_date, sizeof amz_date);
    memcpy(out->content_sha256, payload.ptr, payload.len);
    out->content_sha256_len = payload.len;
    out->region_set = region_set;
    out->security_token = creds->session_token;
    memcpy(out->scope, scope.ptr, scope.len);
    out->scope_len = scope.len;
    rc = 0;
cleanup:
    if (rc)
        memset(out, 0, sizeof *out);
    s3w_buf_cleanup(&scope);
    s3w_buf_cleanup(&signed_h);
    s3w_buf_cleanup(&creq);
    s3w_buf_cleanup(&sts);
    return rc;
}

static int add_qparam(struct s3w_buf *t, bool *first, const char *name, struct s3w_slice value)
{
    int rc;
    if ((rc = s3w_buf_append_char(t, *first ? '?' : '&')) ||
        (rc = s3w_buf_append_cstr(t, name)) || (rc = s3w_buf_append_char(t, '=')))
        return rc;
    *first = false;
    return sigv4_uri_encode(value, false, t);
}

int sigv4a_presign(const struct sigv4_sign_params *p, const struct sigv4_credentials *creds,
                   const struct sigv4a_key *key, struct s3w_slice region_set, int64_t expires_s,
                   struct s3w_buf *out, struct sigv4_error *err)
{
    int rc = -1;
    struct s3w_buf scope, signed_h, cred, target, creq, sts;
    struct s3w_slice names[SIGV4_MAX_HEADERS];
    char arena[4096];
    char amz_date[17], expires[24];
    char sig[SIGV4A_SIG_HEX_MAX + 1];
    size_t sig_len = 0;

    s3w_buf_init(&scope, SIGV4A_SCOPE_MAX);
    s3w_buf_init(&signed_h, 4096);
    s3w_buf_init(&cred, SIGV4A_AKID_MAX + 1 + SIGV4A_SCOPE_MAX);
    s3w_buf_init(&target, SIGV4_MAX_CANONICAL);
    s3w_buf_init(&creq, SIGV4_MAX_CANONICAL);
    s3w_buf_init(&sts, 512);
    if (expires_s < 1 || expires_s > SIGV4_MAX_EXPIRES) {
        sigv4_failf(err, SIGV4_ERR_INTERNAL, "X-Amz-Expires must be 1..604800.");
        goto cleanup;
    }
    if (sign_prepare(p, creds, key, region_set, amz_date, &scope, err))
        goto cleanup;
    if (p->n_headers == 0 ||
        signed_header_list(p->headers, p->n_headers, arena, sizeof arena, names, &signed_h) != 0) {
        sigv4_failf(err, SIGV4_ERR_INTERNAL, "Presigning needs valid headers (at least Host).");
        goto cleanup;
    }
    snprintf(expires, sizeof expires, "%lld", (long long)expires_s);

    const char *q = memchr(p->target.ptr, '?', p->target.len);
    bool first = q == NULL || (size_t)(q - p->target.ptr) + 1 == p->target.len;
    struct s3w_slice base = q && first ? s3w_slice(p->target.ptr, (size_t)(q - p->target.ptr))
                                       : p->target;
    if (s3w_buf_append_slice(&target, base) ||
        s3w_buf_append_slice(&cred, creds->access_key_id) ||
        s3w_buf_append_char(&cred, '/') || s3w_buf_append_slice(&cred, s3w_buf_slice(&scope)) ||
        add_qparam(&target, &first, "X-Amz-Algorithm", S3W_SLICE_LIT(SIGV4A_ALGORITHM)) ||
        add_qparam(&target, &first, "X-Amz-Credential", s3w_buf_slice(&cred)) ||
        add_qparam(&target, &first, "X-Amz-Date", s3w_slice(amz_date, 16)) ||
        add_qparam(&target, &first, "X-Amz-SignedHeaders", s3w_buf_slice(&signed_h)) ||
        add_qparam(&target, &first, "X-Amz-Expires", s3w_slice_cstr(expires)) ||
        (creds->session_token.len &&
         add_qparam(&target, &first, "X-Amz-Security-Token", creds->session_token)) ||
        add_qparam(&target, &first, "X-Amz-Region-Set", region_set)) {
        sigv4_fail(err, SIGV4_ERR_INTERNAL);
        goto cleanup;
    }
    struct sigv4_request req = { p->method, s3w_buf_slice(&target), p->headers, p->n_headers };
    if (sigv4_canonical_request(&req, p->uri_mode, s3w_buf_slice(&signed_h),
                                S3W_SLICE_LIT("UNSIGNED-PAYLOAD"), true, &creq) != 0 ||
        sigv4a_string_to_sign(&sts, s3w_slice(amz_date, 16), s3w_buf_slice(&scope),
                              s3w_buf_slice(&creq)) != 0 ||
        sigv4a_sign_sts(key, s3w_buf_slice(&sts), sig, &sig_len) != 0) {
        sigv4_fail(err, SIGV4_ERR_INTERNAL);
        goto cleanup;
    }
    size_t mark = out->len;
    if (s3w_buf_append_slice(out, s3w_buf_slice(&target)) ||
        s3w_buf_append_cstr(out, "&X-Amz-Signature=") || s3w_buf_append(out, sig, sig_len)) {
        out->len = mark;
        if (out->ptr)
            out->ptr[mark] = '\0';
        sigv4_fail(err, SIGV4_ERR_INTERNAL);
        goto cleanup;
    }
    rc = 0;
cleanup:
    s3w_buf_cleanup(&scope);
    s3w_buf_cleanup(&signed_h);
    s3w_buf_cleanup(&cred);
    s3w_buf_cleanup(&target);
    s3w_buf_cleanup(&creq);
    s3w_buf_cleanup(&sts);
    return rc;
}
