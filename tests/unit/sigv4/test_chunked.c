/*
 * Unit tests for sigv4/chunked.c: the aws-chunked decoder/verifier and the
 * encoder, against the two streaming examples of the S3 API Reference
 * (tests/testdata/s3-examples/chunked-put-object*.json: every expected
 * string to sign, chunk signature and trailer signature is read from there,
 * none is computed by the code under test), fed in random splits.
 *
 * The random splits use a seeded PRNG; the seed is printed and can be set
 * with S3W_TEST_SEED to replay a failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "chunked.h"
#include "testutil.h"

/* ---- tiny JSON field reader (the vendored files are regular) -------------- */

/* The idx-th string value of "key": "..." with \n \r \" \\ unescaped;
 * malloc'd. */
static char *jstr(const char *json, const char *key, int idx)
{
    char pat[128];
    snprintf(pat, sizeof pat, "\"%s\": \"", key);
    const char *p = json;
    for (int i = 0; i <= idx; i++) {
        p = strstr(p, pat);
        assert_non_null(p);
        p += strlen(pat);
    }
    char *out = malloc(strlen(p) + 1);
    size_t o = 0;
    while (*p && *p != '"') {
        if (*p == '\\') {
            p++;
            out[o++] = *p == 'n' ? '\n' : *p == 'r' ? '\r' : *p;
            p++;
        } else {
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
    return out;
}

static long long jnum(const char *json, const char *key, int idx)
{
    char pat[128];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *p = json;
    for (int i = 0; i <= idx; i++) {
        p = strstr(p, pat);
        assert_non_null(p);
        p += strlen(pat);
    }
    return strtoll(p, NULL, 10);
}

static void unhex(const char *hex, uint8_t *out, size_t n)
{
    assert_int_equal(s3w_hex_decode(s3w_slice(hex, strlen(hex)), out, n), 0);
}

/* ---- one example, loaded ---------------------------------------------------- */

struct example {
    bool trailer;
    char *date, *scope, *seed;
    uint8_t key[32];
    size_t nchunks;            /* data chunks + the final 0 chunk */
    char *sig[4];
    char *sts[4];
    size_t dlen[4];
    char *trailer_sts, *trailer_sig, *trailer_name, *trailer_value, *wire_trailer;
    uint8_t *data;             /* decoded payload */
    size_t data_len;
    uint8_t *wire;             /* documented framing, rebuilt from the fields */
    size_t wire_len;
};

static void example_load(struct example *ex, const char *file, bool trailer)
{
    size_t len;
    char *j = tu_read_testdata(file, &len);
    assert_non_null(j);
    memset(ex, 0, sizeof *ex);
    ex->trailer = trailer;
    ex->date = jstr(j, "timestamp", 0);
    ex->scope = jstr(j, "credential_scope", 0);
    ex->seed = jstr(j, "seed_signature", 0);
    char *k = jstr(j, "signing_key_hex", 0);
    unhex(k, ex->key, 32);
    free(k);
    ex->nchunks = 3;
    for (size_t i = 0; i < 3; i++) {
        ex->sig[i] = jstr(j, "signature", (int)i);
        /* string_to_sign #0 is the seed's; chunks follow */
        ex->sts[i] = jstr(j, "string_to_sign", (int)i + 1);
        ex->dlen[i] = (size_t)jnum(j, "data_length", (int)i);
    }
    ex->data_len = (size_t)jnum(j, "length", 0);
    assert_int_equal(ex->data_len, 66560);
    char *byte = jstr(j, "byte", 0);
    ex->data = malloc(ex->data_len);
    memset(ex->data, byte[0], ex->data_len);
    free(byte);

    /* Rebuild the wire body from the documented chunk headers. */
    size_t wl = (size_t)jnum(j, "wire_body_length", 0);
    ex->wire = malloc(wl);
    size_t o = 0, off = 0;
    for (size_t i = 0; i < 3; i++) {
        char *h = jstr(j, "wire_chunk_header", (int)i);
        memcpy(ex->wire + o, h, strlen(h));
        o += strlen(h);
        free(h);
        if (ex->dlen[i]) {
            memcpy(ex->wire + o, ex->data + off, ex->dlen[i]);
            o += ex->dlen[i];
            off += ex->dlen[i];
            memcpy(ex->wire + o, "\r\n", 2);
            o += 2;
        }
    }
    if (trailer) {
        ex->trailer_sig = jstr(j, "signature", 3);
        ex->trailer_sts = jstr(j, "string_to_sign", 4);
        ex->trailer_name = jstr(j, "checksum_header", 0);
        ex->trailer_value = jstr(j, "checksum_value_base64", 0);
        ex->wire_trailer = jstr(j, "wire_trailer", 0);
        memcpy(ex->wire + o, ex->wire_trailer, strlen(ex->wire_trailer));
        o += strlen(ex->wire_trailer);
    } else {
        memcpy(ex->wire + o, "\r\n", 2);
        o += 2;
    }
    assert_int_equal(o, wl);
    ex->wire_len = o;
    /* and it is the documented body, byte for byte */
    char *want = jstr(j, "wire_body_sha256", 0);
    uint8_t h[32];
    char hex[65];
    SHA256(ex->wire, ex->wire_len, h);
    s3w_hex_encode(h, 32, hex);
    assert_string_equal(hex, want);
    free(want);
    free(j);
}

static void example_free(struct example *ex)
{
    free(ex->date);
    free(ex->scope);
    free(ex->seed);
    for (size_t i = 0; i < 3; i++) {
        free(ex->sig[i]);
        free(ex->sts[i]);
    }
    free(ex->trailer_sts);
    free(ex->trailer_sig);
    free(ex->trailer_name);
    free(ex->trailer_value);
    free(ex->wire_trailer);
    free(ex->data);
    free(ex->wire);
}

/* ---- a recording chain step: HMAC, and every string to sign kept ---------- */

struct rec_ops {
    struct sigv4_chain_hmac h;
    char sts[8][512];
    char sig[8][SIGV4_CHUNK_SIG_MAX + 1];
    int n;
    int verify_rc[8];
};

static int rec_verify(void *ctx, struct s3w_slice sts, struct s3w_slice sig)
{
    struct rec_ops *r = ctx;
    int rc = sigv4_chain_hmac_ops.verify(&r->h, sts, sig);
    if (r->n < 8) {
        memcpy(r->sts[r->n], sts.ptr, sts.len);
        r->sts[r->n][sts.len] = '\0';
        memcpy(r->sig[r->n], sig.ptr, sig.len);
        r->sig[r->n][sig.len] = '\0';
        r->verify_rc[r->n] = rc;
        r->n++;
    }
    return rc;
}

static const struct sigv4_chain_ops rec_chain_ops = {
    .verify = rec_verify,
    .sign = NULL,
    .payload_algo = "AWS4-HMAC-SHA256-PAYLOAD",
    .trailer_algo = "AWS4-HMAC-SHA256-TRAILER",
    .sig_min = 64,
    .sig_max = 64,
};

/* ---- a sink that records what was released --------------------------------- */

struct sink {
    struct s3w_buf got;
    size_t pieces;
    size_t with_sha;
    bool last_seen;
    size_t calls_after_last;
    bool sha_ok;               /* each piece.sha256 equals sha256(piece) */
    size_t released_before_last;
    /* optional re-encoder */
    struct sigv4_chunked_encoder *enc;
    struct s3w_buf *enc_out;
};

static int sink_fn(void *arg, const struct sigv4_chunk_piece *pc)
{
    struct sink *s = arg;
    if (s->last_seen)
        s->calls_after_last++;
    s->pieces++;
    if (pc->sha256) {
        uint8_t h[32];
        SHA256(pc->data, pc->len, h);
        s->with_sha++;
        if (memcmp(h, pc->sha256, 32) != 0)
            s->sha_ok = false;
    }
    if (pc->len && s3w_buf_append(&s->got, pc->data, pc->len))
        return -1;
    if (!pc->last)
        s->released_before_last += pc->len;
    if (s->enc && pc->len)
        if (sigv4_chunked_encode_append(s->enc, pc->data, pc->len, pc->sha256, s->enc_out))
            return -1;
    if (pc->last)
        s->last_seen = true;
    return 0;
}

static void sink_init(struct sink *s)
{
    memset(s, 0, sizeof *s);
    s3w_buf_init(&s->got, 64u << 20);
    s->sha_ok = true;
}

static void sink_cleanup(struct sink *s)
{
    s3w_buf_cleanup(&s->got);
}

/* ---- PRNG ------------------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rng(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

static int group_setup(void **state)
{
    (void)state;
    const char *env = getenv("S3W_TEST_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL);
    printf("test_chunked: seed %llu (set S3W_TEST_SEED to replay)\n",
           (unsigned long long)seed);
    rng_state = seed ? seed : 1;
    return 0;
}

/* Feeds wire in pieces: mode 0 random sizes (1..max), 1 one byte at a time,
 * 2 all at once. Returns the first non-zero rc (and stops there). */
static int feed(struct sigv4_chunked_decoder *d, const uint8_t *w, size_t n, int mode,
                size_t maxpiece)
{
    size_t o = 0;
    while (o < n) {
        size_t k = mode == 1 ? 1 : mode == 2 ? n - o : 1 + (size_t)(rng() % maxpiece);
        if (k > n - o)
            k = n - o;
        int rc = sigv4_chunked_decode(d, w + o, k);
        if (rc)
            return rc;
        o += k;
    }
    return 0;
}

static struct sigv4_chunked_params params_for(const struct example *ex, struct rec_ops *r,
                                              struct sink *s)
{
    struct sigv4_chunked_params p = { 0 };
    p.mode = ex->trailer ? SIGV4_STREAM_HMAC_PAYLOAD_TRAILER : SIGV4_STREAM_HMAC_PAYLOAD;
    p.amz_date = s3w_slice_cstr(ex->date);
    p.scope = s3w_slice_cstr(ex->scope);
    p.seed_signature = s3w_slice_cstr(ex->seed);
    p.ops = &rec_chain_ops;
    p.ops_ctx = r;
    p.decoded_length = ex->data_len;
    if (ex->trailer)
        p.declared_trailers = s3w_slice_cstr(ex->trailer_name);
    p.sink = sink_fn;
    p.sink_arg = s;
    return p;
}

/* Decodes an example once with the given split mode and checks everything:
 * each string to sign and signature against the documented ones, the
 * released bytes, the trailers. */
static void decode_example_once(const struct example *ex, int mode, size_t maxpiece)
{
    struct rec_ops r;
    memset(&r, 0, sizeof r);
    assert_int_equal(sigv4_chain_hmac_init(&r.h, ex->key), 0);
    struct sink s;
    sink_init(&s);
    struct sigv4_chunked_params p = params_for(ex, &r, &s);
    struct sigv4_chunked_decoder *d;
    assert_int_equal(sigv4_chunked_decoder_new(&d, &p), 0);
    assert_int_equal(feed(d, ex->wire, ex->wire_len, mode, maxpiece), 0);
    assert_int_equal(sigv4_chunked_finish(d), 0);
    assert_true(sigv4_chunked_done(d));

    /* every chunk's string to sign and signature, as documented */
    assert_int_equal(r.n, ex->trailer ? 4 : 3);
    for (int i = 0; i < 3; i++) {
        assert_string_equal(r.sts[i], ex->sts[i]);
        assert_string_equal(r.sig[i], ex->sig[i]);
        assert_int_equal(r.verify_rc[i], 0);
    }
    if (ex->trailer) {
        assert_string_equal(r.sts[3], ex->trailer_sts);
        assert_string_equal(r.sig[3], ex->trailer_sig);
        assert_int_equal(r.verify_rc[3], 0);
        const struct sigv4_trailer *t;
        assert_int_equal(sigv4_chunked_trailers(d, &t), 1);
        assert_true(s3w_slice_eq_cstr(t[0].name, ex->trailer_name));
        assert_true(s3w_slice_eq_cstr(t[0].value, ex->trailer_value));
    }
    /* released: the payload, one piece per data chunk, each with its sha */
    assert_int_equal(s.got.len, ex->data_len);
    assert_memory_equal(s.got.ptr, ex->data, ex->data_len);
    assert_int_equal(s.pieces, 2);
    assert_int_equal(s.with_sha, 2);
    assert_true(s.sha_ok);
    assert_true(s.last_seen);
    /* the last data chunk (1024 bytes) was held until the end */
    assert_int_equal(s.released_before_last, 65536);
    assert_int_equal(sigv4_chunked_decoded_bytes(d), ex->data_len);
    sigv4_chunked_decoder_free(d);
    sigv4_chain_hmac_cleanup(&r.h);
    sink_cleanup(&s);
}

static void run_example_splits(const char *file, bool trailer)
{
    struct example ex;
    example_load(&ex, file, trailer);
    decode_example_once(&ex, 2, 0);
    decode_example_once(&ex, 1, 0);
    for (int i = 0; i < 30; i++)
        decode_example_once(&ex, 0, (i % 3 == 0) ? 7 : (i % 3 == 1) ? 300 : 70000);
    example_free(&ex);
}

static void test_example_chunked_splits(void **state)
{
    (void)state;
    run_example_splits("s3-examples/chunked-put-object.json", false);
}

static void test_example_trailer_splits(void **state)
{
    (void)state;
    run_example_splits("s3-examples/chunked-put-object-trailer.json", true);
}

/* ---- encoder reproduces the documented framing ------------------------------ */

static void encode_example(const struct example *ex, struct s3w_buf *out, bool give_sha)
{
    struct sigv4_chain_hmac h;
    assert_int_equal(sigv4_chain_hmac_init(&h, ex->key), 0);
    struct sigv4_chunked_enc_params ep = {
        .mode = ex->trailer ? SIGV4_STREAM_HMAC_PAYLOAD_TRAILER : SIGV4_STREAM_HMAC_PAYLOAD,
        .amz_date = s3w_slice_cstr(ex->date),
        .scope = s3w_slice_cstr(ex->scope),
        .seed_signature = s3w_slice_cstr(ex->seed),
        .ops = &sigv4_chain_hmac_ops,
        .ops_ctx = &h,
    };
    struct sigv4_chunked_encoder e;
    assert_int_equal(sigv4_chunked_encoder_init(&e, &ep), 0);
    size_t off = 0;
    for (size_t i = 0; i < 2; i++) {
        uint8_t sha[32];
        SHA256(ex->data + off, ex->dlen[i], sha);
        assert_int_equal(sigv4_chunked_encode_append(&e, ex->data + off, ex->dlen[i],
                                                     give_sha ? sha : NULL, out), 0);
        off += ex->dlen[i];
    }
    struct sigv4_trailer t = { s3w_slice_cstr(ex->trailer_name),
                               s3w_slice_cstr(ex->trailer_value) };
    assert_int_equal(sigv4_chunked_encode_finish(&e, &t, ex->trailer ? 1 : 0, out), 0);
    /* finishing twice is refused */
    assert_int_equal(sigv4_chunked_encode_finish(&e, NULL, 0, out), SIGV4_CHUNK_E_PARAM);
    sigv4_chunked_encoder_cleanup(&e);
    sigv4_chain_hmac_cleanup(&h);
}

static void test_encoder_reproduces_examples(void **state)
{
    (void)state;
    static const char *files[2] = { "s3-examples/chunked-put-object.json",
                                    "s3-examples/chunked-put-object-trailer.json" };
    for (int f = 0; f < 2; f++) {
        struct example ex;
        example_load(&ex, files[f], f == 1);
        for (int give = 0; give < 2; give++) {
            struct s3w_buf out;
            s3w_buf_init(&out, 1 << 20);
            encode_example(&ex, &out, give);
            assert_int_equal(out.len, ex.wire_len);
            assert_memory_equal(out.ptr, ex.wire, ex.wire_len);
            s3w_buf_cleanup(&out);
        }
        /* and the length formula agrees */
        struct sigv4_trailer t = { s3w_slice_cstr(ex.trailer_name ? ex.trailer_name : ""),
                                   s3w_slice_cstr(ex.trailer_value ? ex.trailer_value : "") };
        assert_int_equal(sigv4_chunked_encoded_length(
                             f ? SIGV4_STREAM_HMAC_PAYLOAD_TRAILER : SIGV4_STREAM_HMAC_PAYLOAD,
                             ex.data_len, 65536, 64, &t, f ? 1 : 0),
                         ex.wire_len);
        example_free(&ex);
    }
}

/* ---- the HMAC chain step against OpenSSL's own HMAC ------------------------------ */

static void test_hmac_precomputed_pads(void **state)
{
    (void)state;
    /* The chain step's precomputed-pad HMAC equals OpenSSL's HMAC() for
     * messages of every length around the SHA-256 block (0..200). */
    uint8_t key[32], msg[200], a[32], b[32];
    unsigned int bl = 0;
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)(i * 37 + 1);
    for (int i = 0; i < 200; i++)
        msg[i] = (uint8_t)(i ^ 0x5a);
    struct sigv4_chain_hmac h;
    assert_int_equal(sigv4_chain_hmac_init(&h, key), 0);
    for (size_t n = 0; n <= sizeof msg; n++) {
        assert_int_equal(sigv4_chain_hmac_mac(&h, msg, n, a), 0);
        assert_non_null(HMAC(EVP_sha256(), key, 32, msg, n, b, &bl));
        assert_int_equal(bl, 32);
        assert_memory_equal(a, b, 32);
    }
    /* the documented first chunk signature, from its documented string to
     * sign and the example signing key */
    struct example ex;
    example_load(&ex, "s3-examples/chunked-put-object.json", false);
    struct sigv4_chain_hmac hk;
    assert_int_equal(sigv4_chain_hmac_init(&hk, ex.key), 0);
    char sig[SIGV4_CHUNK_SIG_MAX];
    size_t sl = 0;
    assert_int_equal(sigv4_chain_hmac_ops.sign(&hk, s3w_slice_cstr(ex.sts[0]), sig, sizeof sig,
                                               &sl), 0);
    assert_int_equal(sl, 64);
    assert_memory_equal(sig, ex.sig[0], 64);
    assert_int_equal(sigv4_chain_hmac_ops.verify(&hk, s3w_slice_cstr(ex.sts[0]),
                                                 s3w_slice_cstr(ex.sig[0])), 0);
    assert_int_equal(sigv4_chain_hmac_ops.verify(&hk, s3w_slice_cstr(ex.sts[1]),
                                                 s3w_slice_cstr(ex.sig[0])),
                     SIGV4_CHUNK_E_SIGNATURE);
    sigv4_chain_hmac_cleanup(&hk);
    sigv4_chain_hmac_cleanup(&h);
    sigv4_chain_hmac_cleanup(&h); /* idempotent */
    example_free(&ex);
}

/* ---- helpers for synthetic streams ------------------------------------------- */

static const char amz_date[] = "20130524T000000Z";
static const char scope[] = "20130524/us-east-1/s3/aws4_request";
static const char seed1[] = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";

static void key_of(uint8_t k[32], uint8_t v)
{
    memset(k, v, 32);
}

/* Encodes `len` bytes of data in chunks of `csz` under key k. */
static void encode_stream(enum sigv4_stream_mode mode, const uint8_t key[32],
                          const char *seed, const uint8_t *data, size_t len, size_t csz,
                          const struct sigv4_trailer *t, size_t nt, struct s3w_buf *out)
{
    struct sigv4_chain_hmac h;
    assert_int_equal(sigv4_chain_hmac_init(&h, key), 0);
    struct sigv4_chunked_enc_params ep = {
        .mode = mode,
        .amz_date = S3W_SLICE_LIT(amz_date),
        .scope = S3W_SLICE_LIT(scope),
        .seed_signature = s3w_slice_cstr(seed),
        .ops = &sigv4_chain_hmac_ops,
        .ops_ctx = &h,
    };
    struct sigv4_chunked_encoder e;
    assert_int_equal(sigv4_chunked_encoder_init(&e, &ep), 0);
    for (size_t off = 0; off < len; off += csz) {
        size_t n = len - off < csz ? len - off : csz;
        assert_int_equal(sigv4_chunked_encode_append(&e, data + off, n, NULL, out), 0);
    }
    assert_int_equal(sigv4_chunked_encode_finish(&e, t, nt, out), 0);
    sigv4_chunked_encoder_cleanup(&e);
    sigv4_chain_hmac_cleanup(&h);
}

struct dec {
    struct sigv4_chain_hmac h;
    struct sink s;
    struct sigv4_chunked_params p;
    struct sigv4_chunked_decoder *d;
};

static void dec_open(struct dec *x, enum sigv4_stream_mode mode, const uint8_t key[32],
                     const char *seed, uint64_t decoded_len, const char *declared)
{
    memset(x, 0, sizeof *x);
    assert_int_equal(sigv4_chain_hmac_init(&x->h, key), 0);
    sink_init(&x->s);
    x->p.mode = mode;
    x->p.amz_date = S3W_SLICE_LIT(amz_date);
    x->p.scope = S3W_SLICE_LIT(scope);
    x->p.seed_signature = s3w_slice_cstr(seed);
    x->p.ops = &sigv4_chain_hmac_ops;
    x->p.ops_ctx = &x->h;
    x->p.decoded_length = decoded_len;
    x->p.declared_trailers = s3w_slice_cstr(declared);
    x->p.sink = sink_fn;
    x->p.sink_arg = &x->s;
}

static int dec_start(struct dec *x)
{
    return sigv4_chunked_decoder_new(&x->d, &x->p);
}

static void dec_close(struct dec *x)
{
    sigv4_chunked_decoder_free(x->d);
    sigv4_chain_hmac_cleanup(&x->h);
    sink_cleanup(&x->s);
}

static void assert_error(struct sigv4_chunked_decoder *d, int rc, int status, const char *code,
                         const char *message)
{
    struct sigv4_chunk_error e = sigv4_chunked_error(d);
    assert_int_equal(e.rc, rc);
    assert_int_equal(e.http_status, status);
    assert_string_equal(e.code, code);
    assert_string_equal(e.message, message);
}

static const char msg_sig[] = "The request signature we calculated does not match the "
                              "signature you provided. Check your key and signing method.";
static const char msg_term[] = "The request body terminated unexpectedly";

static uint8_t *pattern(size_t n)
{
    uint8_t *b = malloc(n);
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(i * 7 + (i >> 8));
    return b;
}

/* Finds the k-th occurrence of needle in hay. */
static size_t find_nth(const struct s3w_buf *hay, const char *needle, int k)
{
    size_t nl = strlen(needle);
    for (size_t i = 0; i + nl <= hay->len; i++)
        if (memcmp(hay->ptr + i, needle, nl) == 0 && k-- == 0)
            return i;
    fail_msg("needle not found");
    return 0;
}

/* ---- negative tests ---------------------------------------------------------- */

static void test_bad_signature_mid_stream_releases_nothing_of_it(void **state)
{
    (void)state;
    uint8_t k[32];
    key_of(k, 1);
    size_t len = 4 * 8192;
    uint8_t *data = pattern(len);
    for (int what = 0; what < 2; what++) {
        struct s3w_buf w;
        s3w_buf_init(&w, 1 << 20);
        encode_stream(SIGV4_STREAM_HMAC_PAYLOAD, k, seed1, data, len, 8192, NULL, 0, &w);
        size_t at = find_nth(&w, ";chunk-signature=", 1); /* the second chunk */
        if (what == 0) /* one hex digit of its signature */
            w.ptr[at + 17 + 10] = w.ptr[at + 17 + 10] == '0' ? '1' : '0';
        else /* one byte of its data */
            w.ptr[at + 17 + 64 + 2 + 100] ^= 0x20;
        struct dec x;
        dec_open(&x, SIGV4_STREAM_HMAC_PAYLOAD, k, seed1, len, "");
        assert_int_equal(dec_start(&x), 0);
        int rc = feed(x.d, (uint8_t *)w.ptr, w.len, 0, 5000);
        assert_int_equal(rc, SIGV4_CHUNK_E_SIGNATURE);
        assert_error(x.d, SIGV4_CHUNK_E_SIGNATURE, 403, "SignatureDoesNotMatch", msg_sig);
        /* exactly the first chunk got out; nothing of the second or later */
        assert_int_equal(x.s.got.len, 8192);
        assert_memory_equal(x.s.got.ptr, data, 8192);
        assert_false(x.s.last_seen);
        /* the decoder stays failed */
        assert_int_equal(sigv4_chunked_decode(x.d, "0", 1), SIGV4_CHUNK_E_SIGNATURE);
        assert_int_equal(sigv4_chunked_finish(x.d), SIGV4_CHUNK_E_SIGNATURE);
        assert_int_equal(x.s.got.len, 8192);
        dec_close(&x);
        s3w_buf_cleanup(&w);
    }
    free(data);
}

static void test_wrong_key_fails_first_chunk(void **state)
{
    (void)state;
    uint8_t k1[32], k2[32];
    key_of(k1, 1);
    key_of(k2, 2);
    uint8_t *data = pattern(20000);
    struct s3w_buf w;
    s3w_buf_init(&w, 1 << 20);
    encode_stream(SIGV4_STREAM_HMAC_PAYLOAD, k1, seed1, data, 20000, 10000, NULL, 0, &w);
    struct dec x;
    dec_open(&x, SIGV4_STREAM_HMAC_PAYLOAD, k2, seed1, 20000, "");
    assert_int_equal(dec_start(&x), 0);
    assert_int_equal(feed(x.d, (uint8_t *)w.ptr, w.len, 2, 0), SIGV4_CHUNK_E_SIGNATURE);
    assert_int_equal(x.s.got.len, 0);
    dec_close(&x);
    s3w_buf_cleanup(&w);
    free(data);
}

static void test_truncated_stream(void **state)
{
    (void)state;
    struct example ex;
    example_load(&ex, "s3-examples/chunked-put-object-trailer.json", true);
    /* cut at several points, including inside the trailer and before the
     * final CRLF */
    size_t cuts[] = { 0, 10, 88, 65000, 65700, ex.wire_len - 100, ex.wire_len - 2,
                      ex.wire_len - 1 };
    for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++) {
        struct rec_ops r;
        memset(&r, 0, sizeof r);
        assert_int_equal(sigv4_chain_hmac_init(&r.h, ex.key), 0);
        struct sink s;
        sink_init(&s);
        struct sigv4_chunked_params p = params_for(&ex, &r, &s);
        struct sigv4_chunked_decoder *d;
        assert_int_equal(sigv4_chunked_decoder_new(&d, &p), 0);
        assert_int_equal(feed(d, ex.wire, cuts[c], 0, 4000), 0);
        assert_int_equal(sigv4_chunked_finish(d), SIGV4_CHUNK_E_INCOMPLETE);
        assert_error(d, SIGV4_CHUNK_E_INCOMPLETE, 400, "IncompleteBody", msg_term);
        assert_false(s.last_seen);
        /* the last data chunk (bytes 65536..66559) never got out */
        assert_true(s.got.len <= 65536);
        sigv4_chunked_decoder_free(d);
        sigv4_chain_hmac_cleanup(&r.h);
        sink_cleanup(&s);
    }
    example_free(&ex);
}

static void test_wrong_decoded_length(void **state)
{
    (void)state;
    struct example ex;
    example_load(&ex, "s3-examples/chunked-put-object.json", false);
    static const char msg_len[] = "You did not provide the number of bytes specified by "
                                  "the Content-Length HTTP header.";
    uint64_t lens[] = { 66561, 66559, 65536, 100000, 0 };
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        struct rec_ops r;
        memset(&r, 0, sizeof r);
        assert_int_equal(sigv4_chain_hmac_init(&r.h, ex.key), 0);
        struct sink s;
        sink_init(&s);
        struct sigv4_chunked_params p = params_for(&ex, &r, &s);
        p.decoded_length = lens[i];
        struct sigv4_chunked_decoder *d;
        assert_int_equal(sigv4_chunked_decoder_new(&d, &p), 0);
        assert_int_equal(feed(d, ex.wire, ex.wire_len, 0, 9000), SIGV4_CHUNK_E_LENGTH);
        assert_error(d, SIGV4_CHUNK_E_LENGTH, 400, "IncompleteBody", msg_len);
        assert_false(s.last_seen);
        /* with a declared length of 65536 the first chunk looks final, so
         * it is held: nothing is released at all */
        assert_true(s.got.len <= ex.data_len);
        if (lens[i] == 65536 || lens[i] == 0)
            assert_int_equal(s.got.len, 0);
        sigv4_chunked_decoder_free(d);
        sigv4_chain_hmac_cleanup(&r.h);
        sink_cleanup(&s);
    }
    example_free(&ex);
}

static void test_bad_trailer_checksum(void **state)
{
    (void)state;
    uint8_t k[32];
    key_of(k, 3);
    size_t len = 3 * 8192 + 5;
    uint8_t *data = pattern(len);
    /* a correctly signed trailer carrying the wrong CRC32C */
    struct sigv4_trailer t = { S3W_SLICE_LIT("x-amz-checksum-crc32c"), S3W_SLICE_LIT("sOO8/Q==") };
    struct s3w_buf w;
    s3w_buf_init(&w, 1 << 20);
    encode_stream(SIGV4_STREAM_HMAC_PAYLOAD_TRAILER, k, seed1, data, len, 8192, &t, 1, &w);
    struct dec x;
    dec_open(&x, SIGV4_STREAM_HMAC_PAYLOAD_TRAILER, k, seed1, len, "x-amz-checksum-crc32c");
    assert_int_equal(dec_start(&x), 0);
    assert_int_equal(feed(x.d, (uint8_t *)w.ptr, w.len, 0, 3000), SIGV4_CHUNK_E_CHECKSUM);
    assert_error(x.d, SIGV4_CHUNK_E_CHECKSUM, 400, "BadDigest",
                 "The CRC32C you specified did not match the calculated checksum.");
    assert_false(x.s.last_seen);
    assert_int_equal(x.s.got.len, 3 * 8192); /* the final 5 bytes held back */
    dec_close(&x);
    s3w_buf_cleanup(&w);

    /* the same with the right value passes */
    char b64[SIGV4_CKSUM_MAX_B64];
    assert_true(sigv4_cksum_b64(SIGV4_CKSUM_CRC32C, data, len, b64) > 0);
    t.value = s3w_slice_cstr(b64);
    s3w_buf_init(&w, 1 << 20);
    encode_stream(SIGV4_STREAM_HMAC_PAYLOAD_TRAILER, k, seed1, data, len, 8192, &t, 1, &w);
    dec_open(&x, SIGV4_STREAM_HMAC_PAYLOAD_TRAILER, k, seed1, len, "x-amz-checksum-crc32c");
    assert_int_equal(dec_start(&x), 0);
    assert_int_equal(feed(x.d, (uint8_t *)w.ptr, w.len, 0, 3000), 0);
    assert_int_equal(sigv4_chunked_finish(x.d), 0);
    assert_int_equal(x.s.got.len, len);
    assert_true(x.s.last_seen);
    dec_close(&x);
    s3w_buf_cleanup(&w);
    free(data);
}

static void test_bad_trailer_signature(void **state)
{
    (void)state;
    struct example ex;
    example_load(&ex, "s3-examples/chunked-put-object-trailer.json", true);
    for (int what = 0; what < 3; what++) {
        uint8_t *w = malloc(ex.wire_len + 1);
        size_t wl = ex.wire_len;
        memcpy(w, ex.wire, wl);
        size_t at = find_nth(&(struct s3w_buf){ (char *)w, wl, wl, wl },
                             "x-amz-trailer-signature:", 0);
        if (what == 0) {
            w[at + 24 + 5] = w[at + 24 + 5] == '0' ? '1' : '0'; /* the signature */
        } else if (what == 1) {
            /* the checksum value, signature untouched: signature fails
             * first, since it covers the value */
            size_t v = find_nth(&(struct s3w_buf){ (char *)w, wl, wl, wl }, "sOO8/Q==", 0);
            w[v] = 'A';
        } else {
            /* no trailer signature line at all */
            size_t end = wl - 2;
            memmove(w + at, w + end, 2);
            wl = at + 2;
        }
        struct rec_ops r;
        memset(&r, 0, sizeof r);
        assert_int_equal(sigv4_chain_hmac_init(&r.h, ex.key), 0);
        struct sink s;
        sink_init(&s);
        struct sigv4_chunked_params p = params_for(&ex, &r, &s);
        struct sigv4_chunked_decoder *d;
        assert_int_equal(sigv4_chunked_decoder_new(&d, &p), 0);
        assert_int_equal(feed(d, w, wl, 0, 1000), SIGV4_CHUNK_E_SIGNATURE);
        assert_error(d, SIGV4_CHUNK_E_SIGNATURE, 403, "SignatureDoesNotMatch", msg_sig);
        assert_false(s.last_seen);
        assert_int_equal(s.got.len, 65536);
        sigv4_chunked_decoder_free(d);
        sigv4_chain_hmac_cleanup(&r.h);
        sink_cleanup(&s);
        free(w);
    }
    example_free(&ex);
}

/* Chunk and trailer signatures are lower-case hex, like the request's own
 * (test_verify's test_upper_case_signature_refused): the right signature
 * in upper case is refused, a chunk line's as the malformed field it is
 * (IncompleteBody, as any bad chunk-signature), a trailer's with
 * SignatureDoesNotMatch; nothing of the chunk it covers gets out. */
static void upper_hex_n(char *p, size_t n, bool *changed)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] >= 'a' && p[i] <= 'f') {
            p[i] = (char)(p[i] - 'a' + 'A');
            *changed = true;
        }
}

static void test_upper_case_chunk_signatures_refused(void **state)
{
    (void)state;
    uint8_t k[32];
    key_of(k, 1);
    size_t len = 2 * 8192;
    uint8_t *data = pattern(len);
    struct s3w_buf w;
    s3w_buf_init(&w, 1 << 20);
    encode_stream(SIGV4_STREAM_HMAC_PAYLOAD, k, seed1, data, len, 8192, NULL, 0, &w);
    bool changed = false;
    upper_hex_n(w.ptr + find_nth(&w, ";chunk-signature=", 0) + 17, 64, &changed);
    assert_true(changed);
    struct dec x;
    dec_open(&x, SIGV4_STREAM_HMAC_PAYLOAD, k, seed1, len, "");
    assert_int_equal(dec_start(&x), 0);
    assert_int_equal(feed(x.d, (uint8_t *)w.ptr, w.len, 0, 5000), SIGV4_CHUNK_E_FRAMING);
    assert_error(x.d, SIGV4_CHUNK_E_FRAMING, 400, "IncompleteBody", "The request body terminated unexpectedly");
    assert_int_equal(x.s.got.len, 0);
    dec_close(&x);
    s3w_buf_cleanup(&w);
    free(data);

    struct example ex;
    example_load(&ex, "s3-examples/chunked-put-object-trailer.json", true);
    uint8_t *t = malloc(ex.wire_len);
    memcpy(t, ex.wire, ex.wire_len);
    size_t at = find_nth(&(struct s3w_buf){ (char *)t, ex.wire_len, ex.wire_len, ex.wire_len },
                         "x-amz-trailer-signature:", 0);
    changed = false;
    upper_hex_n((char *)t + at + 24, 64, &changed);
    assert_true(changed);
    struct rec_ops r;
    memset(&r, 0, sizeof r);
    assert_int_equal(sigv4_chain_hmac_init(&r.h, ex.key), 0);
    struct sink s;
    sink_init(&s);
    struct sigv4_chunked_params p = params_for(&ex, &r, &s);
    struct sigv4_chunked_decoder *d;
    assert_int_equal(sigv4_chunked_decoder_new(&d, &p), 0);
    assert_int_equal(feed(d, t, ex.wire_len, 0, 1000), SIGV4_CHUNK_E_SIGNATURE);
    assert_error(d, SIGV4_CHUNK_E_SIGNATURE, 403, "SignatureDoesNotMatch", msg_sig);
    assert_false(s.last_seen);
    sigv4_chunked_decoder_free(d);
    sigv4_chain_hmac_cleanup(&r.h);
    sink_cleanup(&s);
    free(t);
    example_free(&ex);
}

static void test_oversized_chunk(void **state)
{
    (void)state;
    struct example ex;
    example_load(&ex, "s3-examples/chunked-put-object.json", false);
    struct rec_ops r;
    memset(&r, 0, sizeof r);
    assert_int_equal(sigv4_chain_hmac_init(&r.h, ex.key), 0);
    struct sink s;
    sink_init(&s);
    struct sigv4_chunked_params p = params_for(&ex, &r, &s);
    p.max_chunk = 65535;
    struct sigv4_chunked_decoder *d;
    assert_int_equal(sigv4_chunked_decoder_new(&d, &p), 0);
    /* refused at the size line, before any data is buffered */
    size_t hdr = strlen("10000;chunk-signature=") + 64 + 2;
    assert_int_equal(feed(d, ex.wire, hdr, 1, 0), SIGV4_CHUNK_E_TOOBIG);
    assert_error(d, SIGV4_CHUNK_E_TOOBIG, 400, "InvalidArgument",
                 "Chunk or chunk line exceeds the size this endpoint accepts");
    assert_int_equal(s.got.len, 0);
    sigv4_chunked_decoder_free(d);
    sigv4_chain_hmac_cleanup(&r.h);
    sink_cleanup(&s);
    example_free(&ex);
}

static bool g_last_seen; /* whether unsigned_try's sink saw last=true */

/* Feeds `wire` to a fresh unsigned-trailer decoder; returns the rc. */
static int unsigned_try(const char *wire, uint64_t dlen, const char *declared,
                        struct sigv4_chunk_error *err, size_t max_line)
{
    struct sink s;
    sink_init(&s);
    struct sigv4_chunked_params p = { 0 };
    p.mode = SIGV4_STREAM_UNSIGNED_TRAILER;
    p.decoded_length = dlen;
    p.declared_trailers = s3w_slice_cstr(declared);
    p.min_chunk = SIGV4_CHUNK_NO_MIN_CHUNK;
    p.max_line = max_line;
    p.sink = sink_fn;
    p.sink_arg = &s;
    struct sigv4_chunked_decoder *d;
    assert_int_equal(sigv4_chunked_decoder_new(&d, &p), 0);
    int rc = sigv4_chunked_decode(d, wire, strlen(wire));
    if (rc == 0)
        rc = sigv4_chunked_finish(d);
    /* the message may live in the decoder: copy it before freeing */
    static char msg[128];
    *err = sigv4_chunked_error(d);
    g_last_seen = s.last_seen;
    snprintf(msg, sizeof msg, "%s", err->message);
    err->message = msg;
    sigv4_chunked_decoder_free(d);
    sink_cleanup(&s);
    return rc;
}

static void test_malformed_framing(void **state)
{
    (void)state;
    struct sigv4_chunk_error e;
    /* the well-formed reference: crc32 of "abc" is 0x352441c2 = NSRBwg== */
    assert_int_equal(unsigned_try("3\r\nabc\r\n0\r\nx-amz-checksum-crc32:NSRBwg==\r\n\r\n", 3,
                                  "x-amz-checksum-crc32", &e, 0),
                     0);
    static const char *bad[] = {
        "g\r\nabc\r\n0\r\n\r\n",          /* not hex */
        " 3\r\nabc\r\n0\r\n\r\n",         /* leading space */
        "+3\r\nabc\r\n0\r\n\r\n",         /* sign */
        "0x3\r\nabc\r\n0\r\n\r\n",        /* 0x prefix */
        "3 \r\nabc\r\n0\r\n\r\n",         /* trailing garbage */
        "3;ext=1\r\nabc\r\n0\r\n\r\n",    /* extension in unsigned mode */
        "\r\nabc\r\n0\r\n\r\n",           /* empty size */
        "00000000000000003\r\nabc\r\n0\r\n\r\n", /* 17 digits */
        "3\nabc\r\n0\r\n\r\n",            /* bare LF */
        "3\r\r\nabc\r\n0\r\n\r\n",        /* stray CR */
        "3\r\nabcX\r\n0\r\n\r\n",         /* data longer than the size */
        "3\r\nabc\n0\r\n\r\n",            /* no CR after data */
        "3\r\nabc\r\n0\r\n\r\nextra",     /* bytes after the end (no last piece) */
        "3\r\nabc\r\n0\r\nnocolon\r\n\r\n", /* trailer without ':' */
        "3\r\nabc\r\n0\r\n:v\r\n\r\n",    /* empty trailer name */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = unsigned_try(bad[i], 3, "", &e, 0);
        if (rc != SIGV4_CHUNK_E_FRAMING)
            print_error("case %zu: rc %d\n", i, rc);
        assert_int_equal(rc, SIGV4_CHUNK_E_FRAMING);
        assert_string_equal(e.code, "IncompleteBody");
        assert_string_equal(e.message, msg_term);
        assert_int_equal(e.http_status, 400);
    }
    /* a stray byte after the final CRLF: the last piece never goes out */
    assert_int_equal(unsigned_try("3\r\nabc\r\n0\r\n\r\nx", 3, "", &e, 0),
                     SIGV4_CHUNK_E_FRAMING);
    assert_false(g_last_seen);
    assert_int_equal(unsigned_try("3\r\nabc\r\n0\r\n\r\n", 3, "", &e, 0), 0);
    assert_true(g_last_seen);
    /* 16 hex digits that overflow any cap: too big, not a wrap-around */
    assert_int_equal(unsigned_try("ffffffffffffffff\r\nabc", 3, "", &e, 0), SIGV4_CHUNK_E_TOOBIG);
    /* 16 digits with leading zeros are a plain size */
    assert_int_equal(unsigned_try("0000000000000003\r\nabc\r\n0\r\n\r\n", 3, "", &e, 0), 0);
    /* line cap */
    assert_int_equal(unsigned_try("0000000000000003\r\nabc\r\n0\r\n\r\n", 3, "", &e, 8),
                     SIGV4_CHUNK_E_TOOBIG);
    /* truncated */
    assert_int_equal(unsigned_try("3\r\nabc\r\n0\r\n", 3, "", &e, 0), SIGV4_CHUNK_E_INCOMPLETE);
    assert_string_equal(e.code, "IncompleteBody");
    /* trailer not declared / declared but missing / repeated */
    assert_int_equal(unsigned_try("3\r\nabc\r\n0\r\nx-amz-checksum-crc32:NSRBwg==\r\n\r\n", 3,
                                  "", &e, 0),
                     SIGV4_CHUNK_E_TRAILER);
    assert_int_equal(e.http_status, 400);
    assert_string_equal(e.code, "MalformedTrailerError");
    assert_string_equal(e.message, "The request contained trailing data that was not well-formed "
                                   "or did not conform to our published schema.");
    assert_int_equal(unsigned_try("3\r\nabc\r\n0\r\n\r\n", 3, "x-amz-checksum-crc32", &e, 0),
                     SIGV4_CHUNK_E_TRAILER);
    assert_int_equal(unsigned_try("3\r\nabc\r\n0\r\nx-amz-checksum-crc32:NSRBwg==\r\n"
                                  "x-amz-checksum-crc32:NSRBwg==\r\n\r\n",
                                  3, "x-amz-checksum-crc32", &e, 0),
                     SIGV4_CHUNK_E_TRAILER);
    /* a trailer signature has no place in unsigned mode */
    assert_int_equal(unsigned_try("3\r\nabc\r\n0\r\nx-amz-checksum-crc32:NSRBwg==\r\n"
                                  "x-amz-trailer-signature:00\r\n\r\n",
                                  3, "x-amz-checksum-crc32", &e, 0),
                     SIGV4_CHUNK_E_TRAILER);
    /* wrong checksum, exact S3 wording with the algorithm name */
    assert_int_equal(unsigned_try("3\r\nabc\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n", 3,
                                  "x-amz-checksum-crc32", &e, 0),
                     SIGV4_CHUNK_E_CHECKSUM);
    assert_string_equal(e.code, "BadDigest");
    assert_string_equal(e.message, "The CRC32 you specified did not match the calculated checksum.");
}

static void test_min_chunk_size(void **state)
{
    (void)state;
    struct sigv4_chunk_error e;
    struct sink s;
    sink_init(&s);
    struct sigv4_chunked_params p = { 0 };
    p.mode = SIGV4_STREAM_UNSIGNED_TRAILER;
    p.decoded_length = 6;
    p.sink = sink_fn;
    p.sink_arg = &s;
    struct sigv4_chunked_decoder *d;
    assert_int_equal(sigv4_chunked_decoder_new(&d, &p), 0); /* default min 8192 */
    const char *w = "3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n";
    assert_int_equal(sigv4_chunked_decode(d, w, strlen(w)), SIGV4_CHUNK_E_CHUNKSIZE);
    e = sigv4_chunked_error(d);
    assert_string_equal(e.code, "InvalidChunkSizeError");
    assert_string_equal(e.message,
                        "Only the last chunk is allowed to have a size less than 8192 bytes");
    assert_false(s.last_seen);
    sigv4_chunked_decoder_free(d);
    sink_cleanup(&s);
    /* a single short chunk is the last one: fine */
    assert_int_equal(unsigned_try("3\r\nabc\r\n0\r\n\r\n", 3, "", &e, 0), 0);
}

static void test_bad_params(void **state)
{
    (void)state;
    struct sigv4_chunked_decoder *d = (void *)1;
    struct sink s;
    sink_init(&s);
    struct sigv4_chunked_params p = { 0 };
    p.sink = sink_fn;
    p.sink_arg = &s;
    p.mode = SIGV4_STREAM_HMAC_PAYLOAD; /* signed without ops/seed */
    assert_int_equal(sigv4_chunked_decoder_new(&d, &p), SIGV4_CHUNK_E_PARAM);
    assert_null(d);
    p.mode = SIGV4_STREAM_UNSIGNED_TRAILER;
    p.declared_trailers = S3W_SLICE_LIT("x-amz-meta-foo"); /* not a checksum */
    assert_int_equal(sigv4_chunked_decoder_new(&d, &p), SIGV4_CHUNK_E_PARAM);
    p.declared_trailers = S3W_SLICE_LIT("x-amz-checksum-crc32,x-amz-checksum-sha1");
    assert_int_equal(sigv4_chunked_decoder_new(&d, &p), SIGV4_CHUNK_E_PARAM);
    p.declared_trailers = S3W_SLICE_LIT(" X-Amz-Checksum-CRC32 ");
    assert_int_equal(sigv4_chunked_decoder_new(&d, &p), 0);
    sigv4_chunked_decoder_free(d);
    p.mode = SIGV4_STREAM_HMAC_PAYLOAD; /* trailers in a non-trailer mode */
    struct sigv4_chain_hmac h;
    uint8_t k[32];
    key_of(k, 1);
    assert_int_equal(sigv4_chain_hmac_init(&h, k), 0);
    p.ops = &sigv4_chain_hmac_ops;
    p.ops_ctx = &h;
    p.amz_date = S3W_SLICE_LIT(amz_date);
    p.scope = S3W_SLICE_LIT(scope);
    p.seed_signature = S3W_SLICE_LIT(seed1);
    assert_int_equal(sigv4_chunked_decoder_new(&d, &p), SIGV4_CHUNK_E_PARAM);
    p.declared_trailers = S3W_SLICE_NULL;
    assert_int_equal(sigv4_chunked_decoder_new(&d, &p), 0);
    sigv4_chunked_decoder_free(d);
    sigv4_chain_hmac_cleanup(&h);
    sink_cleanup(&s);
    struct sigv4_chunk_error e = sigv4_chunk_error_for(SIGV4_CHUNK_E_PARAM);
    assert_string_equal(e.code, "InvalidRequest");
}

/* ---- unsigned trailer mode: streaming with the tail held back ---------------- */

static void test_unsigned_trailer_holds_back_tail(void **state)
{
    (void)state;
    size_t len = 5 * 8192 + 77;
    uint8_t *data = pattern(len);
    char b64[SIGV4_CKSUM_MAX_B64];
    assert_true(sigv4_cksum_b64(SIGV4_CKSUM_CRC64NVME, data, len, b64) > 0);
    uint8_t k[32];
    key_of(k, 0);
    for (int good = 0; good < 2; good++) {
        for (size_t hb = 0; hb < 3; hb++) {
            size_t hold = hb == 0 ? 0 : hb == 1 ? 100 : 20000; /* 0 = default: 1 */
            size_t expect_hold = hold ? hold : 1;
            struct sigv4_trailer t = { S3W_SLICE_LIT("x-amz-checksum-crc64nvme"),
                                       good ? s3w_slice_cstr(b64)
                                            : S3W_SLICE_LIT("AAAAAAAAAAA=") };
            struct s3w_buf w;
            s3w_buf_init(&w, 1 << 20);
            encode_stream(SIGV4_STREAM_UNSIGNED_TRAILER, k, seed1, data, len, 8192, &t, 1, &w);
            /* unsigned framing: no signatures anywhere */
            assert_null(memmem(w.ptr, w.len, "signature", 9));
            struct sink s;
            sink_init(&s);
            struct sigv4_chunked_params p = { 0 };
            p.mode = SIGV4_STREAM_UNSIGNED_TRAILER;
            p.decoded_length = len;
            p.declared_trailers = S3W_SLICE_LIT("x-amz-checksum-crc64nvme");
            p.hold_back = hold;
            p.sink = sink_fn;
            p.sink_arg = &s;
            struct sigv4_chunked_decoder *d;
            assert_int_equal(sigv4_chunked_decoder_new(&d, &p), 0);
            int rc = feed(d, (uint8_t *)w.ptr, w.len, 0, 3000);
            /* everything but the tail flowed before the end */
            assert_int_equal(s.released_before_last, len - expect_hold);
            assert_memory_equal(s.got.ptr, data, len - expect_hold);
            if (good) {
                assert_int_equal(rc, 0);
                assert_int_equal(sigv4_chunked_finish(d), 0);
                assert_true(s.last_seen);
                assert_int_equal(s.got.len, len);
                assert_memory_equal(s.got.ptr, data, len);
                assert_int_equal(s.with_sha, 0);
            } else {
                assert_int_equal(rc, SIGV4_CHUNK_E_CHECKSUM);
                assert_error(d, SIGV4_CHUNK_E_CHECKSUM, 400, "BadDigest",
                             "The CRC64NVME you specified did not match the calculated "
                             "checksum.");
                assert_false(s.last_seen);
                assert_int_equal(s.got.len, len - expect_hold);
            }
            sigv4_chunked_decoder_free(d);
            sink_cleanup(&s);
            s3w_buf_cleanup(&w);
        }
    }
    free(data);
}

static void test_header_checksum_and_no_hold_back(void **state)
{
    (void)state;
    /* A checksum sent as a header (x-amz-checksum-sha256) with a
     * non-trailer signed stream is verified at the end too. */
    size_t len = 10000;
    uint8_t *data = pattern(len);
    char b64[SIGV4_CKSUM_MAX_B64];
    assert_true(sigv4_cksum_b64(SIGV4_CKSUM_SHA256, data, len, b64) > 0);
    uint8_t k[32];
    key_of(k, 9);
    struct s3w_buf w;
    s3w_buf_init(&w, 1 << 20);
    encode_stream(SIGV4_STREAM_HMAC_PAYLOAD, k, seed1, data, len, 8192, NULL, 0, &w);
    for (int good = 0; good < 2; good++) {
        struct dec x;
        dec_open(&x, SIGV4_STREAM_HMAC_PAYLOAD, k, seed1, len, "");
        x.p.header_cksum_algo = SIGV4_CKSUM_SHA256;
        x.p.header_cksum_b64 = good ? s3w_slice_cstr(b64)
                                    : S3W_SLICE_LIT("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
        assert_int_equal(dec_start(&x), 0);
        int rc = feed(x.d, (uint8_t *)w.ptr, w.len, 0, 700);
        if (good) {
            assert_int_equal(rc, 0);
            assert_false(x.s.last_seen); /* the end of the body is finish() */
            assert_int_equal(sigv4_chunked_finish(x.d), 0);
            assert_true(x.s.last_seen);
            assert_int_equal(x.s.got.len, len);
        } else {
            assert_int_equal(rc, SIGV4_CHUNK_E_CHECKSUM);
            assert_error(x.d, SIGV4_CHUNK_E_CHECKSUM, 400, "BadDigest",
                         "The SHA256 you specified did not match the calculated checksum.");
            assert_int_equal(x.s.got.len, 8192);
        }
        dec_close(&x);
    }
    s3w_buf_cleanup(&w);

    /* unsigned with SIGV4_CHUNK_NO_HOLD_BACK: all bytes before last */
    s3w_buf_init(&w, 1 << 20);
    encode_stream(SIGV4_STREAM_UNSIGNED_TRAILER, k, seed1, data, len, 8192, NULL, 0, &w);
    struct sink s;
    sink_init(&s);
    struct sigv4_chunked_params p = { 0 };
    p.mode = SIGV4_STREAM_UNSIGNED_TRAILER;
    p.decoded_length = len;
    p.hold_back = SIGV4_CHUNK_NO_HOLD_BACK;
    p.sink = sink_fn;
    p.sink_arg = &s;
    struct sigv4_chunked_decoder *d;
    assert_int_equal(sigv4_chunked_decoder_new(&d, &p), 0);
    assert_int_equal(feed(d, (uint8_t *)w.ptr, w.len, 1, 0), 0);
    assert_int_equal(s.released_before_last, len);
    assert_int_equal(sigv4_chunked_finish(d), 0);
    assert_true(s.last_seen);
    sigv4_chunked_decoder_free(d);
    sink_cleanup(&s);
    s3w_buf_cleanup(&w);
    free(data);
}

/* ---- round trip: K1 -> decode -> re-encode K2 -> decode K2 --------------------- */

static void test_round_trip_rekey(void **state)
{
    (void)state;
    static const enum sigv4_stream_mode modes[] = { SIGV4_STREAM_HMAC_PAYLOAD,
                                                    SIGV4_STREAM_HMAC_PAYLOAD_TRAILER,
                                                    SIGV4_STREAM_UNSIGNED_TRAILER };
    static const char seed2[] =
        "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e";
    for (size_t m = 0; m < 3; m++) {
        enum sigv4_stream_mode mode = modes[m];
        bool tr = sigv4_stream_mode_trailer(mode);
        size_t len = 3 * 65536 + 1 + (size_t)(rng() % 20000);
        uint8_t *data = pattern(len);
        char b64[SIGV4_CKSUM_MAX_B64];
        assert_true(sigv4_cksum_b64(SIGV4_CKSUM_CRC32, data, len, b64) > 0);
        struct sigv4_trailer t = { S3W_SLICE_LIT("x-amz-checksum-crc32"), s3w_slice_cstr(b64) };
        const char *decl = tr ? "x-amz-checksum-crc32" : "";
        uint8_t k1[32], k2[32];
        key_of(k1, 0x11);
        key_of(k2, 0x22);

        struct s3w_buf w1;
        s3w_buf_init(&w1, 1 << 21);
        encode_stream(mode, k1, seed1, data, len, 65536, &t, tr ? 1 : 0, &w1);

        /* decode with K1, re-encode each released piece with K2 */
        struct sigv4_chain_hmac h2;
        assert_int_equal(sigv4_chain_hmac_init(&h2, k2), 0);
        struct sigv4_chunked_enc_params ep = {
            .mode = mode, .amz_date = S3W_SLICE_LIT(amz_date), .scope = S3W_SLICE_LIT(scope),
            .seed_signature = S3W_SLICE_LIT(seed2), .ops = &sigv4_chain_hmac_ops,
            .ops_ctx = &h2,
        };
        struct sigv4_chunked_encoder e2;
        assert_int_equal(sigv4_chunked_encoder_init(&e2, &ep), 0);
        struct s3w_buf w2;
        s3w_buf_init(&w2, 1 << 21);
        struct dec x;
        dec_open(&x, mode, k1, seed1, len, decl);
        x.s.enc = &e2;
        x.s.enc_out = &w2;
        assert_int_equal(dec_start(&x), 0);
        assert_int_equal(feed(x.d, (uint8_t *)w1.ptr, w1.len, 0, 40000), 0);
        assert_int_equal(sigv4_chunked_finish(x.d), 0);
        const struct sigv4_trailer *vt;
        size_t nt = sigv4_chunked_trailers(x.d, &vt);
        assert_int_equal(nt, tr ? 1 : 0);
        assert_int_equal(sigv4_chunked_encode_finish(&e2, vt, nt, &w2), 0);
        dec_close(&x);
        sigv4_chunked_encoder_cleanup(&e2);
        sigv4_chain_hmac_cleanup(&h2);

        /* new signatures: the K2 body differs from the K1 body (signed) */
        if (sigv4_stream_mode_signed(mode)) {
            assert_int_equal(w2.len, w1.len); /* same boundaries, same lengths */
            assert_memory_not_equal(w1.ptr, w2.ptr, w1.len);
        }
        /* decode with K2 (unsigned pieces come in the reader's sizes, so
         * the K2 framing has short chunks: lift S3's 8 KiB minimum) */
        dec_open(&x, mode, k2, seed2, len, decl);
        if (!sigv4_stream_mode_signed(mode))
            x.p.min_chunk = SIGV4_CHUNK_NO_MIN_CHUNK;
        assert_int_equal(dec_start(&x), 0);
        assert_int_equal(feed(x.d, (uint8_t *)w2.ptr, w2.len, 0, 9000), 0);
        assert_int_equal(sigv4_chunked_finish(x.d), 0);
        assert_int_equal(x.s.got.len, len);
        assert_memory_equal(x.s.got.ptr, data, len);
        dec_close(&x);
        /* and K1 cannot read the K2 body (signed modes) */
        if (sigv4_stream_mode_signed(mode)) {
            dec_open(&x, mode, k1, seed2, len, decl);
            assert_int_equal(dec_start(&x), 0);
            assert_int_equal(feed(x.d, (uint8_t *)w2.ptr, w2.len, 2, 0),
                             SIGV4_CHUNK_E_SIGNATURE);
            assert_int_equal(x.s.got.len, 0);
            dec_close(&x);
        }
        s3w_buf_cleanup(&w1);
        s3w_buf_cleanup(&w2);
        free(data);
    }
}

/* ---- interop: botocore's own unsigned-trailer framing ------------------------- */

/* Bodies produced by botocore 1.43.11's AwsChunkedWrapper (the framing
 * boto3 sends as STREAMING-UNSIGNED-PAYLOAD-TRAILER) for pattern(n), kept as
 * length + SHA-256 of the whole body. Regenerate with:
 *   python3 -c 'import io,hashlib; from botocore.httpchecksum import *;
 *     p=bytes(((i*7+(i>>8))&255) for i in range(N));
 *     b=AwsChunkedWrapper(io.BytesIO(p), checksum_cls=Crc32Checksum,
 *       checksum_name="x-amz-checksum-crc32", chunk_size=CS).read();
 *     print(len(b), hashlib.sha256(b).hexdigest())' */
static void test_botocore_unsigned_framing(void **state)
{
    (void)state;
    static const struct {
        size_t n, cs;
        enum sigv4_cksum_algo algo;
        size_t body_len;
        const char *body_sha256;
    } cases[] = {
        { 20000, 8192, SIGV4_CKSUM_CRC32, 20059,
          "e731fea2f6c1a1ed1ce989d276146616cfdbeeaccadfb542fb1fcc0c8599dd23" },
        { 100000, 65536, SIGV4_CKSUM_SHA256, 100090,
          "4672342a3d679f1ca7e21c6f90e771b376f6625ad95b5ca0cb8aeb76b971a51a" },
        { 5, 1048576, SIGV4_CKSUM_SHA1, 65,
          "ed74509ff6455ed1fca63fe3e52938046a7adbe6e8b31043c0e58a5f4224ccb8" },
        { 0, 65536, SIGV4_CKSUM_CRC32, 36,
          "34c53023f81f74c829a48a19ad4f53a293f1e263463937a86a387e02766bfeb5" },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t n = cases[c].n;
        uint8_t *data = pattern(n ? n : 1);
        char b64[SIGV4_CKSUM_MAX_B64];
        assert_true(sigv4_cksum_b64(cases[c].algo, data, n, b64) > 0);
        struct sigv4_trailer t = { s3w_slice_cstr(sigv4_cksum_header_name(cases[c].algo)),
                                   s3w_slice_cstr(b64) };
        uint8_t k[32];
        key_of(k, 0);
        struct s3w_buf w;
        s3w_buf_init(&w, 1 << 20);
        encode_stream(SIGV4_STREAM_UNSIGNED_TRAILER, k, seed1, data, n, cases[c].cs, &t, 1, &w);
        /* our encoder frames exactly as botocore does */
        uint8_t h[32];
        char hex[65];
        SHA256((uint8_t *)w.ptr, w.len, h);
        s3w_hex_encode(h, 32, hex);
        assert_int_equal(w.len, cases[c].body_len);
        assert_string_equal(hex, cases[c].body_sha256);
        /* and the decoder takes it */
        struct sink s;
        sink_init(&s);
        struct sigv4_chunked_params p = { 0 };
        p.mode = SIGV4_STREAM_UNSIGNED_TRAILER;
        p.decoded_length = n;
        p.declared_trailers = t.name;
        p.sink = sink_fn;
        p.sink_arg = &s;
        struct sigv4_chunked_decoder *d;
        assert_int_equal(sigv4_chunked_decoder_new(&d, &p), 0);
        assert_int_equal(feed(d, (uint8_t *)w.ptr, w.len, 0, 4096), 0);
        assert_int_equal(sigv4_chunked_finish(d), 0);
        assert_int_equal(s.got.len, n);
        if (n)
            assert_memory_equal(s.got.ptr, data, n);
        assert_true(s.last_seen);
        sigv4_chunked_decoder_free(d);
        sink_cleanup(&s);
        s3w_buf_cleanup(&w);
        free(data);
    }
}

/* ---- buffered framing: any piece sizes -> S3-acceptable chunks ------------------ */

static int buf_out(void *arg, const void *p, size_t n)
{
    return s3w_buf_append(arg, p, n) ? -1 : 0;
}

static void test_buffered_writer(void **state)
{
    (void)state;
    static const enum sigv4_stream_mode modes[] = { SIGV4_STREAM_HMAC_PAYLOAD,
                                                    SIGV4_STREAM_HMAC_PAYLOAD_TRAILER,
                                                    SIGV4_STREAM_UNSIGNED_TRAILER };
    const size_t cs = 16384;
    for (size_t m = 0; m < 3; m++) {
        enum sigv4_stream_mode mode = modes[m];
        bool tr = sigv4_stream_mode_trailer(mode);
        size_t len = 10 * cs + (size_t)(rng() % cs);
        uint8_t *data = pattern(len);
        char b64[SIGV4_CKSUM_MAX_B64];
        assert_true(sigv4_cksum_b64(SIGV4_CKSUM_CRC32C, data, len, b64) > 0);
        struct sigv4_trailer t = { S3W_SLICE_LIT("x-amz-checksum-crc32c"), s3w_slice_cstr(b64) };
        uint8_t k[32];
        key_of(k, 0x33);
        struct sigv4_chain_hmac h;
        assert_int_equal(sigv4_chain_hmac_init(&h, k), 0);
        struct sigv4_chunked_enc_params ep = {
            .mode = mode, .amz_date = S3W_SLICE_LIT(amz_date), .scope = S3W_SLICE_LIT(scope),
            .seed_signature = S3W_SLICE_LIT(seed1), .ops = &sigv4_chain_hmac_ops, .ops_ctx = &h,
        };
        struct sigv4_chunked_encoder e;
        assert_int_equal(sigv4_chunked_encoder_init(&e, &ep), 0);
        assert_int_equal(sigv4_chunked_encoder_buffer(&e, cs), 0);
        struct s3w_buf w, scratch;
        s3w_buf_init(&w, 1 << 21);
        s3w_buf_init(&scratch, 4096);
        /* pieces: tiny, odd, exactly cs, several cs at once */
        size_t off = 0;
        while (off < len) {
            size_t pick = rng() % 4;
            size_t n = pick == 0 ? 1 + rng() % 100 : pick == 1 ? 1 + rng() % (2 * cs)
                                                  : pick == 2 ? cs : 3 * cs + 5;
            if (n > len - off)
                n = len - off;
            assert_int_equal(sigv4_chunked_encode_write(&e, data + off, n, NULL, buf_out, &w), 0);
            off += n;
        }
        assert_int_equal(sigv4_chunked_encode_write_finish(&e, &t, tr ? 1 : 0, &scratch,
                                                           buf_out, &w), 0);
        sigv4_chunked_encoder_cleanup(&e);
        sigv4_chain_hmac_cleanup(&h);
        /* the length is predictable from the decoded length alone */
        assert_int_equal(w.len, sigv4_chunked_encoded_length(mode, len, cs, 64, &t, tr ? 1 : 0));
        /* and S3's rules hold: default 8 KiB minimum, every signature */
        struct dec x;
        dec_open(&x, mode, k, seed1, len, tr ? "x-amz-checksum-crc32c" : "");
        assert_int_equal(dec_start(&x), 0);
        assert_int_equal(feed(x.d, (uint8_t *)w.ptr, w.len, 0, 5000), 0);
        assert_int_equal(sigv4_chunked_finish(x.d), 0);
        assert_int_equal(x.s.got.len, len);
        assert_memory_equal(x.s.got.ptr, data, len);
        dec_close(&x);
        s3w_buf_cleanup(&w);
        s3w_buf_cleanup(&scratch);
        free(data);
    }
}

static void test_buffered_writer_reuses_given_sha(void **state)
{
    (void)state;
    /* A piece of exactly chunk_size arriving with nothing pending is framed
     * with the caller's sha256 (no second hash). Prove it is used: a wrong
     * one yields a signature the decoder refuses; the right one passes. */
    const size_t cs = 8192;
    uint8_t *data = pattern(2 * cs);
    uint8_t k[32];
    key_of(k, 0x44);
    for (int good = 0; good < 2; good++) {
        uint8_t sha[32];
        SHA256(data, cs, sha);
        if (!good)
            sha[0] ^= 1;
        struct sigv4_chain_hmac h;
        assert_int_equal(sigv4_chain_hmac_init(&h, k), 0);
        struct sigv4_chunked_enc_params ep = {
            .mode = SIGV4_STREAM_HMAC_PAYLOAD, .amz_date = S3W_SLICE_LIT(amz_date),
            .scope = S3W_SLICE_LIT(scope), .seed_signature = S3W_SLICE_LIT(seed1),
            .ops = &sigv4_chain_hmac_ops, .ops_ctx = &h,
        };
        struct sigv4_chunked_encoder e;
        assert_int_equal(sigv4_chunked_encoder_init(&e, &ep), 0);
        assert_int_equal(sigv4_chunked_encoder_buffer(&e, cs), 0);
        struct s3w_buf w, scratch;
        s3w_buf_init(&w, 1 << 20);
        s3w_buf_init(&scratch, 4096);
        assert_int_equal(sigv4_chunked_encode_write(&e, data, cs, sha, buf_out, &w), 0);
        assert_int_equal(sigv4_chunked_encode_write(&e, data + cs, cs, NULL, buf_out, &w), 0);
        assert_int_equal(sigv4_chunked_encode_write_finish(&e, NULL, 0, &scratch, buf_out, &w), 0);
        sigv4_chunked_encoder_cleanup(&e);
        sigv4_chain_hmac_cleanup(&h);
        struct dec x;
        dec_open(&x, SIGV4_STREAM_HMAC_PAYLOAD, k, seed1, 2 * cs, "");
        assert_int_equal(dec_start(&x), 0);
        assert_int_equal(feed(x.d, (uint8_t *)w.ptr, w.len, 2, 0),
                         good ? 0 : SIGV4_CHUNK_E_SIGNATURE);
        dec_close(&x);
        s3w_buf_cleanup(&w);
        s3w_buf_cleanup(&scratch);
    }
    free(data);
}

/* ---- pluggable chain step with padded variable-length signatures -------------- */

/* A stand-in for the ECDSA step: "signature" = hex(sha256(sts)) cut to 70
 * characters and '*'-padded to 144, as SigV4a pads on the wire. It checks
 * the chaining strips the padding and the algorithm lines are the ops'. */
static int fake_sign(void *ctx, struct s3w_slice sts, char *out, size_t cap, size_t *len)
{
    (void)ctx;
    uint8_t h[32];
    char hex[65];
    if (cap < 144)
        return SIGV4_CHUNK_E_INTERNAL;
    /* the previous signature line must never carry padding */
    if (memchr(sts.ptr, '*', sts.len))
        return SIGV4_CHUNK_E_INTERNAL;
    SHA256((const uint8_t *)sts.ptr, sts.len, h);
    s3w_hex_encode(h, 32, hex);
    memcpy(out, hex, 64);
    memcpy(out + 64, hex, 6);
    memset(out + 70, '*', 74);
    *len = 144;
    return 0;
}

static int fake_verify(void *ctx, struct s3w_slice sts, struct s3w_slice sig)
{
    char want[144];
    size_t n;
    if (!s3w_slice_starts_with(sts, S3W_SLICE_LIT("AWS4-ECDSA-P256-SHA256-")))
        return SIGV4_CHUNK_E_INTERNAL;
    if (fake_sign(ctx, sts, want, sizeof want, &n))
        return SIGV4_CHUNK_E_INTERNAL;
    return s3w_ct_equal(want, n, sig.ptr, sig.len) ? 0 : SIGV4_CHUNK_E_SIGNATURE;
}

static const struct sigv4_chain_ops fake_ecdsa_ops = {
    .verify = fake_verify,
    .sign = fake_sign,
    .payload_algo = "AWS4-ECDSA-P256-SHA256-PAYLOAD",
    .trailer_algo = "AWS4-ECDSA-P256-SHA256-TRAILER",
    .sig_min = 16,
    .sig_max = 144,
};

static void test_pluggable_padded_chain(void **state)
{
    (void)state;
    size_t len = 30000;
    uint8_t *data = pattern(len);
    char b64[SIGV4_CKSUM_MAX_B64];
    assert_true(sigv4_cksum_b64(SIGV4_CKSUM_SHA1, data, len, b64) > 0);
    struct sigv4_trailer t = { S3W_SLICE_LIT("x-amz-checksum-sha1"), s3w_slice_cstr(b64) };
    char seed[144];
    memset(seed, 'c', 70);
    memset(seed + 70, '*', 74);
    struct sigv4_chunked_enc_params ep = {
        .mode = SIGV4_STREAM_ECDSA_PAYLOAD_TRAILER, .amz_date = S3W_SLICE_LIT(amz_date),
        .scope = S3W_SLICE_LIT("20130524/s3/aws4_request"),
        .seed_signature = s3w_slice(seed, 144), .ops = &fake_ecdsa_ops,
    };
    struct sigv4_chunked_encoder e;
    assert_int_equal(sigv4_chunked_encoder_init(&e, &ep), 0);
    struct s3w_buf w;
    s3w_buf_init(&w, 1 << 20);
    for (size_t off = 0; off < len; off += 10000)
        assert_int_equal(sigv4_chunked_encode_append(&e, data + off, 10000, NULL, &w), 0);
    assert_int_equal(sigv4_chunked_encode_finish(&e, &t, 1, &w), 0);
    sigv4_chunked_encoder_cleanup(&e);
    assert_int_equal(w.len, sigv4_chunked_encoded_length(SIGV4_STREAM_ECDSA_PAYLOAD_TRAILER,
                                                         len, 10000, 144, &t, 1));
    for (int bad = 0; bad < 2; bad++) {
        if (bad)
            w.ptr[find_nth(&w, ";chunk-signature=", 2) + 17 + 3] ^= 1;
        struct sink s;
        sink_init(&s);
        struct sigv4_chunked_params p = { 0 };
        p.mode = SIGV4_STREAM_ECDSA_PAYLOAD_TRAILER;
        p.amz_date = S3W_SLICE_LIT(amz_date);
        p.scope = S3W_SLICE_LIT("20130524/s3/aws4_request");
        p.seed_signature = s3w_slice(seed, 144);
        p.ops = &fake_ecdsa_ops;
        p.decoded_length = len;
        p.declared_trailers = S3W_SLICE_LIT("x-amz-checksum-sha1");
        p.sink = sink_fn;
        p.sink_arg = &s;
        struct sigv4_chunked_decoder *d;
        assert_int_equal(sigv4_chunked_decoder_new(&d, &p), 0);
        int rc = feed(d, (uint8_t *)w.ptr, w.len, 0, 333);
        if (!bad) {
            assert_int_equal(rc, 0);
            assert_int_equal(sigv4_chunked_finish(d), 0);
            assert_int_equal(s.got.len, len);
        } else {
            assert_int_equal(rc, SIGV4_CHUNK_E_SIGNATURE);
            assert_int_equal(s.got.len, 20000);
        }
        sigv4_chunked_decoder_free(d);
        sink_cleanup(&s);
    }
    s3w_buf_cleanup(&w);
    free(data);
}

static void test_modes(void **state)
{
    (void)state;
    for (int m = SIGV4_STREAM_HMAC_PAYLOAD; m <= SIGV4_STREAM_ECDSA_PAYLOAD_TRAILER; m++) {
        const char *v = sigv4_stream_mode_value((enum sigv4_stream_mode)m);
        assert_int_equal(sigv4_stream_mode_from_value(s3w_slice_cstr(v)), m);
    }
    assert_int_equal(sigv4_stream_mode_from_value(S3W_SLICE_LIT("UNSIGNED-PAYLOAD")),
                     SIGV4_STREAM_NONE);
    assert_int_equal(
        sigv4_stream_mode_from_value(S3W_SLICE_LIT("streaming-aws4-hmac-sha256-payload")),
        SIGV4_STREAM_NONE);
    assert_string_equal(sigv4_stream_mode_value(SIGV4_STREAM_UNSIGNED_TRAILER),
                        "STREAMING-UNSIGNED-PAYLOAD-TRAILER");
    assert_false(sigv4_stream_mode_signed(SIGV4_STREAM_UNSIGNED_TRAILER));
    assert_true(sigv4_stream_mode_trailer(SIGV4_STREAM_UNSIGNED_TRAILER));
    assert_false(sigv4_stream_mode_trailer(SIGV4_STREAM_ECDSA_PAYLOAD));
    assert_true(sigv4_stream_mode_ecdsa(SIGV4_STREAM_ECDSA_PAYLOAD));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example_chunked_splits),
        cmocka_unit_test(test_example_trailer_splits),
        cmocka_unit_test(test_encoder_reproduces_examples),
        cmocka_unit_test(test_hmac_precomputed_pads),
        cmocka_unit_test(test_bad_signature_mid_stream_releases_nothing_of_it),
        cmocka_unit_test(test_wrong_key_fails_first_chunk),
        cmocka_unit_test(test_truncated_stream),
        cmocka_unit_test(test_wrong_decoded_length),
        cmocka_unit_test(test_bad_trailer_checksum),
        cmocka_unit_test(test_bad_trailer_signature),
        cmocka_unit_test(test_upper_case_chunk_signatures_refused),
        cmocka_unit_test(test_oversized_chunk),
        cmocka_unit_test(test_malformed_framing),
        cmocka_unit_test(test_min_chunk_size),
        cmocka_unit_test(test_bad_params),
        cmocka_unit_test(test_unsigned_trailer_holds_back_tail),
        cmocka_unit_test(test_header_checksum_and_no_hold_back),
        cmocka_unit_test(test_round_trip_rekey),
        cmocka_unit_test(test_botocore_unsigned_framing),
        cmocka_unit_test(test_buffered_writer),
        cmocka_unit_test(test_buffered_writer_reuses_given_sha),
        cmocka_unit_test(test_pluggable_padded_chain),
        cmocka_unit_test(test_modes),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
