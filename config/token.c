/*
 * token.c - local-STS session tokens: AES-256-GCM sealed claims, secret and
 * access key id derived from the token nonce (format in token.h).
 */
#include "token.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

static const char MAGIC[4] = { 'S', '3', 'W', '1' };
#define NONCE_LEN 12
#define TAG_LEN 16
#define TRANSITIVE_FLAG 0x80 /* in the version byte: the transitive mask follows the tags */

/* ---- base32 (base64 is base/codec.h) ----------------------------------------- */

/* RFC 4648 base32 alphabet, upper case: access key ids are [A-Z2-7]. */
static void b32_prefix(const uint8_t *in, char *out, size_t nchars)
{
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    for (size_t i = 0; i < nchars; i++) {
        size_t bit = i * 5, byte = bit / 8, off = bit % 8;
        unsigned v = ((unsigned)in[byte] << 8) | in[byte + 1];
        out[i] = A[(v >> (11 - off)) & 31];
    }
}

/* ---- key derivation ------------------------------------------------------ */

static int hmac(const EVP_MD *md, const uint8_t *key, size_t klen, const void *d, size_t n,
                uint8_t *out, unsigned int want)
{
    unsigned int olen = 0;
    uint8_t *r = HMAC(md, key, (int)klen, d, n, out, &olen);
    return r && olen == want ? 0 : -1;
}

int token_derive_keys(struct config_sts_key *k)
{
    static const char enc[] = "s3warden sts v1 enc", ids[] = "s3warden sts v1 ids";
    if (hmac(EVP_sha256(), k->key, CONFIG_STS_KEY_BYTES, enc, sizeof enc - 1, k->enc_key, 32) ||
        hmac(EVP_sha256(), k->key, CONFIG_STS_KEY_BYTES, ids, sizeof ids - 1, k->id_key, 32))
        return TOKEN_E_INTERNAL;
    return TOKEN_OK;
}

static int derive_ids(const struct config_sts_key *k, const uint8_t nonce[NONCE_LEN],
                      char akid[TOKEN_AKID_LEN + 1], char secret[TOKEN_SECRET_LEN + 1])
{
    uint8_t mac[64];
    char b64[48];
    int rc = -1;
    if (hmac(EVP_sha512(), k->id_key, 32, nonce, NONCE_LEN, mac, 64))
        goto cleanup;
    memcpy(akid, "ASIA", 4);
    b32_prefix(mac, akid + 4, TOKEN_AKID_LEN - 4); /* reads mac[0..10] */
    akid[TOKEN_AKID_LEN] = '\0';
    s3w_b64_encode(mac + 16, 30, b64); /* 30 bytes -> exactly 40 characters */
    memcpy(secret, b64, TOKEN_SECRET_LEN);
    secret[TOKEN_SECRET_LEN] = '\0';
    rc = 0;
cleanup:
    s3w_wipe(mac, sizeof mac);
    s3w_wipe(b64, sizeof b64);
    return rc;
}

/* ---- AES-256-GCM ------------------------------------------------------- */

/* Fetched once: the implicit fetch behind EVP_aes_256_gcm() takes a lock on
 * every use in OpenSSL 3. */
static EVP_CIPHER *gcm_cipher;
static pthread_once_t gcm_once = PTHREAD_ONCE_INIT;
static void gcm_fetch(void)
{
    gcm_cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
}

static int gcm(bool enc, const uint8_t key[32], const uint8_t *nonce, const uint8_t *aad,
               size_t aadlen, const uint8_t *in, size_t n, uint8_t *out, uint8_t tag[TAG_LEN])
{
    pthread_once(&gcm_once, gcm_fetch);
    EVP_CIPHER_CTX *ctx = gcm_cipher ? EVP_CIPHER_CTX_new() : NULL;
    if (!ctx)
        return TOKEN_E_INTERNAL;
    int rc = TOKEN_E_INTERNAL, len = 0;
    if (EVP_CipherInit_ex(ctx, gcm_cipher, NULL, NULL, NULL, enc ? 1 : 0) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) != 1 ||
        EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc ? 1 : 0) != 1 ||
        EVP_CipherUpdate(ctx, NULL, &len, aad, (int)aadlen) != 1 ||
        (n && EVP_CipherUpdate(ctx, out, &len, in, (int)n) != 1))
        goto cleanup;
    if (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) != 1)
        goto cleanup;
    if (EVP_CipherFinal_ex(ctx, out + len, &len) != 1) {
        rc = enc ? TOKEN_E_INTERNAL : TOKEN_E_INVALID; /* tag mismatch */
        goto cleanup;
    }
    if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) != 1)
        goto cleanup;
    rc = TOKEN_OK;
cleanup:
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

/* ---- plaintext encoding --------------------------------------------------- */

struct wr {
    uint8_t *p;
    size_t len, cap;
    bool over;
};

static void put(struct wr *w, const void *d, size_t n)
{
    if (w->over || n > w->cap - w->len) {
        w->over = true;
        return;
    }
    memcpy(w->p + w->len, d, n);
    w->len += n;
}

static void put_u64(struct wr *w, int64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)((uint64_t)v >> (56 - 8 * i));
    put(w, b, 8);
}

static void put_str(struct wr *w, struct s3w_slice s)
{
    if (s.len > 0xffff) {
        w->over = true;
        return;
    }
    uint8_t b[2] = { (uint8_t)(s.len >> 8), (uint8_t)s.len };
    put(w, b, 2);
    if (s.len)
        put(w, s.ptr, s.len);
}

struct rd {
    const uint8_t *p;
    size_t len, off;
    bool bad;
};

static int64_t get_u64(struct rd *r)
{
    if (r->bad || r->len - r->off < 8) {
        r->bad = true;
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | r->p[r->off++];
    return (int64_t)v;
}

static struct s3w_slice get_str(struct rd *r)
{
    if (r->bad || r->len - r->off < 2) {
        r->bad = true;
        return S3W_SLICE_NULL;
    }
    size_t n = ((size_t)r->p[r->off] << 8) | r->p[r->off + 1];
    r->off += 2;
    if (r->len - r->off < n) {
        r->bad = true;
        return S3W_SLICE_NULL;
    }
    struct s3w_slice s = { (const char *)r->p + r->off, n };
    r->off += n;
    return s;
}

/* ---- seal / open ---------------------------------------------------------- */

/* Version 2 carries the web identity's keys (token.h). */
static void put_wi(struct wr *w, const struct token_claims *c)
{
    put_str(w, c->federated_provider);
    put_str(w, c->wi_sub_key);
    put_str(w, c->wi_sub);
    put_str(w, c->wi_aud_key);
    put_str(w, c->wi_aud);
    put_str(w, c->wi_amr_key);
    uint8_t n = (uint8_t)c->wi_namr;
    put(w, &n, 1);
    for (size_t i = 0; i < c->wi_namr; i++)
        put_str(w, c->wi_amr[i]);
}

static bool is_key_of(struct s3w_slice key, struct s3w_slice host_path, const char *claim)
{
    size_t cl = strlen(claim);
    return key.len == host_path.len + 1 + cl &&
           memcmp(key.ptr, host_path.ptr, host_path.len) == 0 &&
           key.ptr[host_path.len] == ':' && memcmp(key.ptr + host_path.len + 1, claim, cl) == 0;
}

/* The key names a version-2 token sets must be the provider's own
 * ("HOST/PATH:sub", ...), so even a token sealed with a wrong key name
 * could not set aws:* or any other key. */
static bool wi_keys_ok(const struct token_claims *c)
{
    static const char mark[] = ":oidc-provider/";
    const struct s3w_slice p = c->federated_provider;
    if (!s3w_slice_starts_with(p, S3W_SLICE_LIT("arn:aws:iam::")))
        return false;
    const char *hp = NULL;
    for (size_t i = 0; !hp && i + sizeof mark - 1 < p.len; i++)
        if (memcmp(p.ptr + i, mark, sizeof mark - 1) == 0)
            hp = p.ptr + i + sizeof mark - 1;
    if (!hp)
        return false;
    struct s3w_slice host_path = { hp, p.len - (size_t)(hp - p.ptr) };
    return is_key_of(c->wi_sub_key, host_path, "sub") &&
           is_key_of(c->wi_aud_key, host_path, "aud") &&
           is_key_of(c->wi_amr_key, host_path, "amr") && c->wi_sub.len && c->wi_aud.len;
}

static void get_wi(struct rd *r, struct token_claims *c)
{
    c->federated_provider = get_str(r);
    c->wi_sub_key = get_str(r);
    c->wi_sub = get_str(r);
    c->wi_aud_key = get_str(r);
    c->wi_aud = get_str(r);
    c->wi_amr_key = get_str(r);
    if (r->bad || r->off >= r->len) {
        r->bad = true;
        return;
    }
    c->wi_namr = r->p[r->off++];
    if (c->wi_namr > TOKEN_MAX_AMR) {
        r->bad = true;
        return;
    }
    for (size_t i = 0; i < c->wi_namr; i++)
        c->wi_amr[i] = get_str(r);
    if (!r->bad && !wi_keys_ok(c))
        r->bad = true;
}

int token_seal(const struct config_sts *sts, const struct token_claims *c, struct s3w_buf *token,
               char akid[TOKEN_AKID_LEN + 1], char secret[TOKEN_SECRET_LEN + 1])
{
    bool wi = c->federated_provider.len > 0;
    _Static_assert(TOKEN_MAX_TAGS < 64, "one transitive bit per tag");
    if (!sts->nkeys || c->ntags > TOKEN_MAX_TAGS || c->wi_namr > TOKEN_MAX_AMR ||
        (wi && !wi_keys_ok(c)) || (c->transitive >> c->ntags) != 0)
        return TOKEN_E_INTERNAL;
    const struct config_sts_key *k = &sts->keys[sts->active];
    size_t kidlen = strlen(k->id);
    uint8_t *wire = malloc(TOKEN_MAX_WIRE);
    uint8_t *plain = malloc(TOKEN_MAX_PLAIN);
    char *b64 = malloc(TOKEN_MAX_B64 + 1);
    int rc = TOKEN_E_INTERNAL;
    if (!wire || !plain || !b64)
        goto cleanup;

    struct wr w = { plain, 0, TOKEN_MAX_PLAIN, false };
    uint8_t ver = (uint8_t)((wi ? 2 : 1) | (c->transitive ? TRANSITIVE_FLAG : 0));
    put(&w, &ver, 1);
    put_u64(&w, c->issued);
    put_u64(&w, c->expires);
    put_str(&w, c->role_arn);
    put_str(&w, c->role_unique_id);
    put_str(&w, c->session_name);
    put_str(&w, c->source_identity);
    put_str(&w, c->session_policy);
    put_str(&w, c->caller_arn);
    uint8_t nt = (uint8_t)c->ntags;
    put(&w, &nt, 1);
    for (size_t i = 0; i < c->ntags; i++) {
        put_str(&w, c->tag_ctx_keys[i]);
        put_str(&w, c->tag_values[i]);
    }
    if (c->transitive)
        put_u64(&w, (int64_t)c->transitive);
    if (wi)
        put_wi(&w, c);
    if (w.over) {
        rc = TOKEN_E_TOOBIG;
        goto cleanup;
    }

    size_t h = 0;
    memcpy(wire, MAGIC, 4);
    h = 4;
    wire[h++] = (uint8_t)kidlen;
    memcpy(wire + h, k->id, kidlen);
    h += kidlen;
    if (RAND_bytes(wire + h, NONCE_LEN) != 1)
        goto cleanup;
    const uint8_t *nonce = wire + h;
    h += NONCE_LEN;
    rc = gcm(true, k->enc_key, nonce, wire, h, plain, w.len, wire + h, wire + h + w.len);
    if (rc != TOKEN_OK)
        goto cleanup;
    size_t total = h + w.len + TAG_LEN;
    size_t blen = s3w_b64_encode(wire, total, b64);
    s3w_buf_reset(token);
    if (s3w_buf_append(token, b64, blen) != S3W_OK) {
        rc = TOKEN_E_TOOBIG;
        goto cleanup;
    }
    rc = derive_ids(k, nonce, akid, secret) ? TOKEN_E_INTERNAL : TOKEN_OK;
cleanup:
    /* the session's claims, and the session token itself twice: the token
     * is half of the caller's credentials (a probe found it in freed memory) */
    if (plain)
        s3w_wipe(plain, TOKEN_MAX_PLAIN);
    if (wire)
        s3w_wipe(wire, TOKEN_MAX_WIRE);
    if (b64)
        s3w_wipe(b64, TOKEN_MAX_B64 + 1);
    free(plain);
    free(wire);
    free(b64);
    return rc;
}

int token_open(const struct config_sts *sts, struct s3w_slice akid, struct s3w_slice token,
               int64_t now, uint8_t *plain, size_t cap, struct token_claims *c,
               char secret[TOKEN_SECRET_LEN + 1])
{
    /* the decoded token lives on the stack: bounded by TOKEN_MAX_WIRE, no
     * allocation on the request path */
    uint8_t wire[TOKEN_MAX_WIRE];
    char want_akid[TOKEN_AKID_LEN + 1];
    int rc = TOKEN_E_INVALID;
    memset(c, 0, sizeof *c);
    if (token.len > TOKEN_MAX_B64 || cap < TOKEN_MAX_PLAIN)
        return TOKEN_E_INVALID;
    /* Non-canonical padding bits were always accepted here (the AEAD tag,
     * not the encoding, authenticates the token); empty input fails the
     * length check below as it failed the decoder before. */
    long n = s3w_b64_decode(token, wire, sizeof wire, S3W_B64_NONCANONICAL);
    if (n < 4 + 1 + 1 + NONCE_LEN + TAG_LEN || memcmp(wire, MAGIC, 4) != 0)
        return TOKEN_E_INVALID;
    size_t kidlen = wire[4];
    size_t h = 5 + kidlen + NONCE_LEN;
    if (kidlen == 0 || (size_t)n < h + TAG_LEN)
        return TOKEN_E_INVALID;
    const struct config_sts_key *k = NULL;
    for (size_t i = 0; i < sts->nkeys; i++)
        if (strlen(sts->keys[i].id) == kidlen && memcmp(sts->keys[i].id, wire + 5, kidlen) == 0)
            k = &sts->keys[i];
    if (!k)
        return TOKEN_E_INVALID; /* unknown or rotated-out key */
    const uint8_t *nonce = wire + 5 + kidlen;
    size_t clen = (size_t)n - h - TAG_LEN;
    if (clen > cap || clen > TOKEN_MAX_PLAIN)
        return TOKEN_E_INVALID;
    rc = gcm(false, k->enc_key, nonce, wire, h, wire + h, clen, plain, wire + h + clen);
    if (rc != TOKEN_OK)
        goto cleanup;
    if (derive_ids(k, nonce, want_akid, secret)) {
        rc = TOKEN_E_INTERNAL;
        goto cleanup;
    }
    if (!s3w_ct_equal(want_akid, TOKEN_AKID_LEN, akid.ptr, akid.len)) {
        rc = TOKEN_E_INVALID;
        goto cleanup;
    }
    struct rd r = { plain, clen, 0, false };
    uint8_t ver = clen ? plain[r.off++] : 0;
    bool has_transitive = ver & TRANSITIVE_FLAG;
    ver &= (uint8_t)~TRANSITIVE_FLAG;
    c->issued = get_u64(&r);
    c->expires = get_u64(&r);
    c->role_arn = get_str(&r);
    c->role_unique_id = get_str(&r);
    c->session_name = get_str(&r);
    c->source_identity = get_str(&r);
    c->session_policy = get_str(&r);
    c->caller_arn = get_str(&r);
    if (r.bad || r.off >= clen || (ver != 1 && ver != 2)) {
        rc = TOKEN_E_INVALID;
        goto cleanup;
    }
    c->ntags = plain[r.off++];
    if (c->ntags > TOKEN_MAX_TAGS) {
        rc = TOKEN_E_INVALID;
        goto cleanup;
    }
    for (size_t i = 0; i < c->ntags; i++) {
        c->tag_ctx_keys[i] = get_str(&r);
        c->tag_values[i] = get_str(&r);
    }
    if (has_transitive) {
        c->transitive = (uint64_t)get_u64(&r);
        if (c->transitive == 0 || (c->transitive >> c->ntags) != 0) /* ntags <= 50 */
            r.bad = true;
    }
    if (ver == 2)
        get_wi(&r, c);
    if (r.bad || r.off != clen) {
        rc = TOKEN_E_INVALID;
        goto cleanup;
    }
    /* S3 answers ExpiredToken once the session's expiration has passed */
    rc = now >= c->expires ? TOKEN_E_EXPIRED : TOKEN_OK;
    c->plain_len = clen;
cleanup:
    if (rc != TOKEN_OK) {
        s3w_wipe(secret, TOKEN_SECRET_LEN + 1);
        /* GCM writes plaintext before it checks the tag: wipe it */
        s3w_wipe(plain, clen);
        memset(c, 0, sizeof *c);
    }
    s3w_wipe(wire, n > 0 ? (size_t)n : 0); /* only what was decoded */
    s3w_wipe(want_akid, sizeof want_akid);
    return rc;
}
