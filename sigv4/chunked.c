/*
 * chunked.c - aws-chunked decoder/verifier and encoder (see chunked.h).
 *
 * Specs: "Signature Calculations for the Authorization Header: Transferring
 * Payload in Multiple Chunks" (sigv4-streaming.html) and "... Including
 * Trailing Headers" (sigv4-streaming-trailers.html), Amazon S3 API Reference.
 *
 * Hot path per chunk: the data bytes are hashed (SHA-256) and the trailer
 * checksum is updated as they arrive, copied once into the chunk buffer
 * (signed modes must hold a chunk until its signature verifies), then one
 * HMAC over a ~200-byte string to sign. No allocation after the first chunk
 * of the largest size; no formatted I/O.
 */
#include "chunked.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>

/* sha256("") in hex: the fifth line of every chunk string to sign. */
static const char empty_sha256_hex[] =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/* ---- modes -------------------------------------------------------------------- */

static const char *const mode_values[] = {
    [SIGV4_STREAM_NONE] = "",
    [SIGV4_STREAM_HMAC_PAYLOAD] = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    [SIGV4_STREAM_HMAC_PAYLOAD_TRAILER] = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
    [SIGV4_STREAM_UNSIGNED_TRAILER] = "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
    [SIGV4_STREAM_ECDSA_PAYLOAD] = "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
    [SIGV4_STREAM_ECDSA_PAYLOAD_TRAILER] = "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER",
};
#define N_MODES (sizeof mode_values / sizeof mode_values[0])

enum sigv4_stream_mode sigv4_stream_mode_from_value(struct s3w_slice v)
{
    for (unsigned m = 1; m < N_MODES; m++)
        if (s3w_slice_eq_cstr(v, mode_values[m]))
            return (enum sigv4_stream_mode)m;
    return SIGV4_STREAM_NONE;
}

const char *sigv4_stream_mode_value(enum sigv4_stream_mode m)
{
    return (unsigned)m < N_MODES ? mode_values[m] : "";
}

bool sigv4_stream_mode_signed(enum sigv4_stream_mode m)
{
    return m == SIGV4_STREAM_HMAC_PAYLOAD || m == SIGV4_STREAM_HMAC_PAYLOAD_TRAILER ||
           m == SIGV4_STREAM_ECDSA_PAYLOAD || m == SIGV4_STREAM_ECDSA_PAYLOAD_TRAILER;
}

bool sigv4_stream_mode_trailer(enum sigv4_stream_mode m)
{
    return m == SIGV4_STREAM_HMAC_PAYLOAD_TRAILER || m == SIGV4_STREAM_UNSIGNED_TRAILER ||
           m == SIGV4_STREAM_ECDSA_PAYLOAD_TRAILER;
}

bool sigv4_stream_mode_ecdsa(enum sigv4_stream_mode m)
{
    return m == SIGV4_STREAM_ECDSA_PAYLOAD || m == SIGV4_STREAM_ECDSA_PAYLOAD_TRAILER;
}

/* ---- errors ------------------------------------------------------------------- */

/* Codes and wording from the Amazon S3 error reference (ErrorResponses.html)
 * and S3's observed answers to malformed aws-chunked bodies (IncompleteBody
 * "The request body terminated unexpectedly" for any framing fault, BadDigest
 * "The <ALGO> you specified did not match the calculated checksum." for a
 * trailer checksum, InvalidChunkSizeError for a short non-final chunk;
 * reproduced against S3 in versity/versitygw issues 1660, 1666, 1685, 1694,
 * 2085). */
static const char msg_signature[] =
    "The request signature we calculated does not match the signature you "
    "provided. Check your key and signing method.";
static const char msg_terminated[] = "The request body terminated unexpectedly";

static const struct sigv4_chunk_error chunk_errors[] = {
    { SIGV4_CHUNK_E_SIGNATURE, 403, "SignatureDoesNotMatch", msg_signature },
    { SIGV4_CHUNK_E_INCOMPLETE, 400, "IncompleteBody", msg_terminated },
    { SIGV4_CHUNK_E_FRAMING, 400, "IncompleteBody", msg_terminated },
    { SIGV4_CHUNK_E_LENGTH, 400, "IncompleteBody",
      "You did not provide the number of bytes specified by the Content-Length HTTP header." },
    /* Not an S3 limit but ours (bounded memory per connection). */
    { SIGV4_CHUNK_E_TOOBIG, 400, "InvalidArgument",
      "Chunk or chunk line exceeds the size this endpoint accepts" },
    { SIGV4_CHUNK_E_CHECKSUM, 400, "BadDigest",
      "The checksum you specified did not match the calculated checksum." },
    /* a trailer not declared in x-amz-trailer, one declared and missing,
     * or one repeated: S3's answer to each, reproduced in scality/Arsenal
     * PR 2596 and versity/versitygw issues 1600 and 1691 */
    { SIGV4_CHUNK_E_TRAILER, 400, "MalformedTrailerError",
      "The request contained trailing data that was not well-formed or did not conform to our "
      "published schema." },
    { SIGV4_CHUNK_E_PARAM, 400, "InvalidRequest",
      "The value specified in the x-amz-trailer header is not supported" },
    { SIGV4_CHUNK_E_CHUNKSIZE, 400, "InvalidChunkSizeError",
      "Only the last chunk is allowed to have a size less than 8192 bytes" },
};

struct sigv4_chunk_error sigv4_chunk_error_for(int rc)
{
    struct sigv4_chunk_error e = { rc, 0, "", "" };
    if (rc == SIGV4_CHUNK_OK)
        return e;
    for (size_t i = 0; i < sizeof chunk_errors / sizeof chunk_errors[0]; i++)
        if (chunk_errors[i].rc == rc)
            return chunk_errors[i];
    /* SIGV4_CHUNK_E_SINK, SIGV4_CHUNK_E_INTERNAL and anything else */
    e.http_status = 500;
    e.code = "InternalError";
    e.message = "We encountered an internal error. Please try again.";
    return e;
}

/* ---- HMAC chain step ---------------------------------------------------------- */

/* RFC 2104 with the pad states precomputed: HMAC(K, m) =
 * H((K ^ opad) || H((K ^ ipad) || m)); the two keyed prefixes are one
 * SHA-256 block each, hashed once at init and copied per MAC. */
int sigv4_chain_hmac_init(struct sigv4_chain_hmac *h, const uint8_t key[32])
{
    uint8_t pad[64];
    int rc = SIGV4_CHUNK_E_INTERNAL;
    h->inner = EVP_MD_CTX_new();
    h->outer = EVP_MD_CTX_new();
    h->work = EVP_MD_CTX_new();
    if (!h->inner || !h->outer || !h->work)
        goto cleanup;
    EVP_MD_CTX *const prefix[2] = { h->inner, h->outer };
    static const uint8_t fill[2] = { 0x36, 0x5c }; /* ipad, opad */
    for (int k = 0; k < 2; k++) {
        memset(pad, fill[k], sizeof pad);
        for (int i = 0; i < 32; i++)
            pad[i] ^= key[i];
        if (!EVP_DigestInit_ex(prefix[k], EVP_sha256(), NULL) ||
            !EVP_DigestUpdate(prefix[k], pad, sizeof pad))
            goto cleanup;
    }
    rc = SIGV4_CHUNK_OK;
cleanup:
    s3w_wipe(pad, sizeof pad);
    if (rc != SIGV4_CHUNK_OK)
        sigv4_chain_hmac_cleanup(h);
    return rc;
}

void sigv4_chain_hmac_cleanup(struct sigv4_chain_hmac *h)
{
    /* EVP_MD_CTX_free cleanses the digest state (OPENSSL_clear_free). */
    EVP_MD_CTX_free(h->inner);
    EVP_MD_CTX_free(h->outer);
    EVP_MD_CTX_free(h->work);
    h->inner = h->outer = h->work = NULL;
}

int sigv4_chain_hmac_mac(struct sigv4_chain_hmac *h, const void *msg, size_t n,
                         uint8_t out[32])
{
    uint8_t ih[32];
    unsigned int len = 0;
    int ok = h->inner && EVP_MD_CTX_copy_ex(h->work, h->inner) &&
             EVP_DigestUpdate(h->work, msg, n) &&
             EVP_DigestFinal_ex(h->work, ih, &len) &&
             EVP_MD_CTX_copy_ex(h->work, h->outer) &&
             EVP_DigestUpdate(h->work, ih, sizeof ih) &&
             EVP_DigestFinal_ex(h->work, out, &len);
    s3w_wipe(ih, sizeof ih);
    return ok ? SIGV4_CHUNK_OK : SIGV4_CHUNK_E_INTERNAL;
}

/* The chain HMAC of sts as 64 lower-case hex digits and a NUL. */
static int hmac_hex(void *ctx, struct s3w_slice sts, char hex[65])
{
    uint8_t mac[32];
    int rc = sigv4_chain_hmac_mac(ctx, sts.ptr, sts.len, mac);
    if (rc == SIGV4_CHUNK_OK)
        s3w_hex_encode(mac, sizeof mac, hex);
    s3w_wipe(mac, sizeof mac);
    return rc;
}

static int hmac_verify(void *ctx, struct s3w_slice sts, struct s3w_slice sig)
{
    char hex[65];
    int rc = hmac_hex(ctx, sts, hex);
    if (rc != SIGV4_CHUNK_OK)
        return rc;
    bool ok = s3w_ct_equal(hex, 64, sig.ptr, sig.len);
    s3w_wipe(hex, sizeof hex);
    return ok ? SIGV4_CHUNK_OK : SIGV4_CHUNK_E_SIGNATURE;
}

static int hmac_sign(void *ctx, struct s3w_slice sts, char *out, size_t out_cap,
                     size_t *out_len)
{
    char hex[65];
    if (out_cap < 64)
        return SIGV4_CHUNK_E_INTERNAL;
    int rc = hmac_hex(ctx, sts, hex);
    if (rc != SIGV4_CHUNK_OK)
        return rc;
    memcpy(out, hex, 64);
    *out_len = 64;
    return SIGV4_CHUNK_OK;
}

const struct sigv4_chain_ops sigv4_chain_hmac_ops = {
    .verify = hmac_verify,
    .sign = hmac_sign,
    .payload_algo = "AWS4-HMAC-SHA256-PAYLOAD",
    .trailer_algo = "AWS4-HMAC-SHA256-TRAILER",
    .sig_min = 64,
    .sig_max = 64,
};

/* ---- shared string-to-sign building ------------------------------------------- */

/* Longest string to sign: algo (<= 48) + date (< 32) + scope (< 160) +
 * previous signature (<= 144) + two hex hashes + newlines. */
#define STS_MAX 640

struct sts_buf {
    char b[STS_MAX];
    size_t len;
};

static void sts_add(struct sts_buf *s, const char *p, size_t n)
{
    /* Callers bound every part at init; this cannot overflow. */
    memcpy(s->b + s->len, p, n);
    s->len += n;
}

static struct s3w_slice trim_padding(const char *sig, size_t len)
{
    /* SigV4a chunk signatures are right-padded with '*' on the wire; the
     * chain uses them unpadded (aws-c-auth aws_trim_padded_sigv4a_signature). */
    while (len > 0 && sig[len - 1] == '*')
        len--;
    return s3w_slice(sig, len);
}

static void build_sts(struct sts_buf *s, const char *algo, struct s3w_slice date,
                      struct s3w_slice scope, struct s3w_slice prev,
                      const uint8_t *sha, bool chunk)
{
    char hex[65];
    s->len = 0;
    sts_add(s, algo, strlen(algo));
    sts_add(s, "\n", 1);
    sts_add(s, date.ptr, date.len);
    sts_add(s, "\n", 1);
    sts_add(s, scope.ptr, scope.len);
    sts_add(s, "\n", 1);
    prev = trim_padding(prev.ptr, prev.len);
    sts_add(s, prev.ptr, prev.len);
    sts_add(s, "\n", 1);
    if (chunk) {
        sts_add(s, empty_sha256_hex, 64);
        sts_add(s, "\n", 1);
    }
    s3w_hex_encode(sha, 32, hex);
    sts_add(s, hex, 64);
}

static int sha256_trailers(const struct sigv4_trailer *t, size_t n, uint8_t out[32])
{
    /* The trailer string to sign hashes "name:value\n" per trailer: LF, not
     * the CRLF of the wire (sigv4-streaming-trailers.html; hashing with
     * CRLF or without the final LF gives a different, wrong signature). */
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned int len = 0;
    int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    for (size_t i = 0; ok && i < n; i++)
        ok = EVP_DigestUpdate(md, t[i].name.ptr, t[i].name.len) &&
             EVP_DigestUpdate(md, ":", 1) &&
             EVP_DigestUpdate(md, t[i].value.ptr, t[i].value.len) &&
             EVP_DigestUpdate(md, "\n", 1);
    ok = ok && EVP_DigestFinal_ex(md, out, &len);
    EVP_MD_CTX_free(md);
    return ok ? SIGV4_CHUNK_OK : SIGV4_CHUNK_E_INTERNAL;
}

/* The ops' algorithm names go into fixed-size strings to sign (STS_MAX):
 * bound them, and the signature lengths, once at init. */
static bool ops_ok(const struct sigv4_chain_ops *ops)
{
    return ops && ops->payload_algo && ops->trailer_algo &&
           strlen(ops->payload_algo) <= 48 && strlen(ops->trailer_algo) <= 48 &&
           ops->sig_max <= SIGV4_CHUNK_SIG_MAX;
}

/* ---- decoder ------------------------------------------------------------------ */

enum dstate {
    D_SIZE_LINE,   /* collecting "hex[;chunk-signature=sig]\r\n" */
    D_DATA,        /* chunk data */
    D_DATA_CR,     /* the CRLF after the data */
    D_DATA_LF,
    D_TRAILER,     /* collecting trailer lines until an empty one */
    D_VERIFIED,    /* the whole stream verified; waiting for finish() */
    D_DONE,
    D_ERROR,
};

struct sigv4_chunked_decoder {
    struct sigv4_chunked_params p;
    enum dstate st;
    int err;
    enum sigv4_cksum_algo err_algo;  /* for the BadDigest message */
    char err_msg[96];

    char amz_date[32];
    char scope[SIGV4_CHUNK_SCOPE_MAX];
    char prev[SIGV4_CHUNK_SIG_MAX];  /* previous wire signature */
    size_t prev_len;
    char cur_sig[SIGV4_CHUNK_SIG_MAX];  /* signature of the chunk being read */
    size_t cur_sig_len;

    char *line;          /* max_line bytes */
    size_t line_len;

    uint64_t chunk_size;     /* current chunk */
    uint64_t chunk_left;
    uint64_t total;          /* decoded bytes seen */
    bool short_seen;         /* a data chunk under min_chunk has been read */

    EVP_MD *sha256_md;       /* fetched once */
    EVP_MD_CTX *md;          /* current chunk's sha256 (signed modes) */
    struct s3w_buf chunk;    /* signed modes: the chunk being verified */
    uint8_t chunk_sha[32];
    bool held;               /* signed: last data chunk held in `chunk` */

    uint8_t *hold;           /* unsigned: last hold_back bytes */
    size_t hold_len, hold_cap;

    /* checksums */
    struct sigv4_cksum trailer_ck;   /* declared checksum trailer */
    struct s3w_slice trailer_ck_name;
    struct sigv4_cksum header_ck;
    char header_b64[SIGV4_CKSUM_MAX_B64];
    size_t header_b64_len;

    /* declared trailers (x-amz-trailer), lower-case, comma list split */
    char declared_store[256];
    struct s3w_slice declared[SIGV4_CHUNK_MAX_TRAILERS];
    size_t ndeclared;

    /* received trailers; storage of SIGV4_CHUNK_MAX_TRAILERS lines */
    char *tstore;
    size_t tstore_len, tstore_cap;
    struct sigv4_trailer trailers[SIGV4_CHUNK_MAX_TRAILERS];
    size_t ntrailers;
    char trailer_sig[SIGV4_CHUNK_SIG_MAX];
    size_t trailer_sig_len;
    bool have_trailer_sig;
};

static int fail(struct sigv4_chunked_decoder *d, int rc)
{
    if (d->st != D_ERROR) {
        d->st = D_ERROR;
        d->err = rc;
    }
    return d->err;
}

static bool is_hex_lower(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* A wire signature: lower-case hex, and for SigV4a optionally right-padded
 * with '*' (only at the end: padding never sits inside the value). */
static bool valid_wire_sig(const struct sigv4_chunked_decoder *d, struct s3w_slice sig)
{
    if (sig.len < d->p.ops->sig_min || sig.len > d->p.ops->sig_max)
        return false;
    size_t k = 0;
    while (k < sig.len && is_hex_lower((unsigned char)sig.ptr[k]))
        k++;
    if (k == 0)
        return false;
    if (k < sig.len && !sigv4_stream_mode_ecdsa(d->p.mode))
        return false;
    while (k < sig.len && sig.ptr[k] == '*')
        k++;
    return k == sig.len;
}

static bool is_tchar(unsigned char c)
{
    /* RFC 9110 token characters (header field names). */
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

static int parse_declared(struct sigv4_chunked_decoder *d, struct s3w_slice v)
{
    /* x-amz-trailer: "name[, name]*". Each name must be a checksum header:
     * those are the only trailers S3 accepts. At most one checksum. */
    if (v.len >= sizeof d->declared_store)
        return SIGV4_CHUNK_E_PARAM;
    size_t o = 0, i = 0;
    while (i < v.len) {
        while (i < v.len && (v.ptr[i] == ' ' || v.ptr[i] == '\t'))
            i++;
        size_t start = o;
        while (i < v.len && v.ptr[i] != ',') {
            unsigned char c = (unsigned char)v.ptr[i++];
            if (c == ' ' || c == '\t')
                continue; /* trailing OWS before ',' (no inner space in a token) */
            if (!is_tchar(c))
                return SIGV4_CHUNK_E_PARAM;
            d->declared_store[o++] = (char)lower(c);
        }
        if (i < v.len)
            i++; /* ',' */
        if (o == start)
            continue; /* empty list element, as RFC 9110 list syntax allows */
        if (d->ndeclared == SIGV4_CHUNK_MAX_TRAILERS)
            return SIGV4_CHUNK_E_PARAM;
        struct s3w_slice name = s3w_slice(d->declared_store + start, o - start);
        enum sigv4_cksum_algo a = sigv4_cksum_algo_from_header(name);
        if (a == SIGV4_CKSUM_NONE || d->trailer_ck.algo != SIGV4_CKSUM_NONE)
            return SIGV4_CHUNK_E_PARAM;
        for (size_t k = 0; k < d->ndeclared; k++)
            if (s3w_slice_eq(d->declared[k], name))
                return SIGV4_CHUNK_E_PARAM;
        int rc = sigv4_cksum_init(&d->trailer_ck, a);
        if (rc == S3W_E_NOMEM)
            return SIGV4_CHUNK_E_INTERNAL;
        if (rc)
            return SIGV4_CHUNK_E_PARAM;
        d->trailer_ck_name = name;
        d->declared[d->ndeclared++] = name;
    }
    return SIGV4_CHUNK_OK;
}

int sigv4_chunked_decoder_new(struct sigv4_chunked_decoder **out,
                              const struct sigv4_chunked_params *p)
{
    *out = NULL;
    bool sig = sigv4_stream_mode_signed(p->mode);
    if (p->mode == SIGV4_STREAM_NONE || (unsigned)p->mode >= N_MODES || !p->sink)
        return SIGV4_CHUNK_E_PARAM;
    if (sig && (!ops_ok(p->ops) || !p->ops->verify ||
                p->ops->sig_min == 0 || p->ops->sig_min > p->ops->sig_max ||
                p->amz_date.len == 0 || p->amz_date.len >= 32 ||
                p->scope.len == 0 || p->scope.len >= SIGV4_CHUNK_SCOPE_MAX ||
                p->seed_signature.len == 0 ||
                p->seed_signature.len > SIGV4_CHUNK_SIG_MAX))
        return SIGV4_CHUNK_E_PARAM;
    if (!sigv4_stream_mode_trailer(p->mode) && p->declared_trailers.len > 0)
        return SIGV4_CHUNK_E_PARAM;

    struct sigv4_chunked_decoder *d = calloc(1, sizeof *d);
    if (!d)
        return SIGV4_CHUNK_E_INTERNAL;
    int rc = SIGV4_CHUNK_E_INTERNAL;
    d->p = *p;
    if (!d->p.max_chunk)
        d->p.max_chunk = SIGV4_CHUNK_DEFAULT_MAX_CHUNK;
    if (!d->p.max_line)
        d->p.max_line = SIGV4_CHUNK_DEFAULT_MAX_LINE;
    if (d->p.max_line < 8)
        d->p.max_line = 8;
    if (!d->p.min_chunk)
        d->p.min_chunk = SIGV4_CHUNK_DEFAULT_MIN_CHUNK;
    if (!d->p.hold_back)
        d->p.hold_back = 1;
    if (d->p.hold_back == SIGV4_CHUNK_NO_HOLD_BACK)
        d->p.hold_back = 0;
    if (d->p.hold_back > d->p.max_chunk)
        d->p.hold_back = d->p.max_chunk;
    /* The copied params must not point into the caller's buffers. */
    d->p.amz_date = d->p.scope = d->p.seed_signature = S3W_SLICE_NULL;
    d->p.declared_trailers = d->p.header_cksum_b64 = S3W_SLICE_NULL;

    if (sig) {
        memcpy(d->amz_date, p->amz_date.ptr, p->amz_date.len);
        d->p.amz_date = s3w_slice(d->amz_date, p->amz_date.len);
        memcpy(d->scope, p->scope.ptr, p->scope.len);
        d->p.scope = s3w_slice(d->scope, p->scope.len);
        memcpy(d->prev, p->seed_signature.ptr, p->seed_signature.len);
        d->prev_len = p->seed_signature.len;
        d->sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
        d->md = EVP_MD_CTX_new();
        if (!d->sha256_md || !d->md)
            goto fail;
    }
    s3w_buf_init(&d->chunk, d->p.max_chunk);
    d->line = malloc(d->p.max_line);
    if (!d->line)
        goto fail;
    if (!sig && d->p.hold_back) {
        d->hold = malloc(d->p.hold_back);
        if (!d->hold)
            goto fail;
        d->hold_cap = d->p.hold_back;
    }
    if (sigv4_stream_mode_trailer(p->mode)) {
        d->tstore_cap = SIGV4_CHUNK_MAX_TRAILERS * d->p.max_line;
        d->tstore = malloc(d->tstore_cap);
        if (!d->tstore)
            goto fail;
        rc = parse_declared(d, p->declared_trailers);
        if (rc)
            goto fail;
        rc = SIGV4_CHUNK_E_INTERNAL;
    }
    if (p->header_cksum_algo != SIGV4_CKSUM_NONE) {
        if (p->header_cksum_b64.len == 0 ||
            p->header_cksum_b64.len >= sizeof d->header_b64) {
            rc = SIGV4_CHUNK_E_PARAM;
            goto fail;
        }
        memcpy(d->header_b64, p->header_cksum_b64.ptr, p->header_cksum_b64.len);
        d->header_b64_len = p->header_cksum_b64.len;
        int crc = sigv4_cksum_init(&d->header_ck, p->header_cksum_algo);
        if (crc) {
            rc = crc == S3W_E_NOMEM ? SIGV4_CHUNK_E_INTERNAL : SIGV4_CHUNK_E_PARAM;
            goto fail;
        }
    }
    d->st = D_SIZE_LINE;
    *out = d;
    return SIGV4_CHUNK_OK;
fail:
    sigv4_chunked_decoder_free(d);
    return rc;
}

void sigv4_chunked_decoder_free(struct sigv4_chunked_decoder *d)
{
    if (!d)
        return;
    EVP_MD_CTX_free(d->md);
    EVP_MD_free(d->sha256_md);
    s3w_buf_cleanup(&d->chunk);
    free(d->line);
    if (d->hold) {
        s3w_wipe(d->hold, d->hold_cap);
        free(d->hold);
    }
    free(d->tstore);
    sigv4_cksum_cleanup(&d->trailer_ck);
    sigv4_cksum_cleanup(&d->header_ck);
    free(d);
}

static int emit(struct sigv4_chunked_decoder *d, const uint8_t *p, size_t n,
                const uint8_t *sha, bool last)
{
    struct sigv4_chunk_piece piece = { p, n, sha, last };
    if (d->p.sink(d->p.sink_arg, &piece) != 0)
        return fail(d, SIGV4_CHUNK_E_SINK);
    return SIGV4_CHUNK_OK;
}

/* Unsigned mode: release bytes at offsets [off, off+n) except those at or
 * past decoded_length - hold_back, which go to the hold buffer. */
static int emit_unsigned(struct sigv4_chunked_decoder *d, uint64_t off,
                         const uint8_t *p, size_t n)
{
    uint64_t boundary = d->p.decoded_length > d->hold_cap
                            ? d->p.decoded_length - d->hold_cap : 0;
    size_t now = 0;
    if (off < boundary)
        now = (boundary - off) < n ? (size_t)(boundary - off) : n;
    if (now) {
        int rc = emit(d, p, now, NULL, false);
        if (rc)
            return rc;
    }
    if (n > now) {
        /* decoded_length bounds every chunk, so this fits. */
        memcpy(d->hold + d->hold_len, p + now, n - now);
        d->hold_len += n - now;
    }
    return SIGV4_CHUNK_OK;
}

static int parse_size_line(struct sigv4_chunked_decoder *d, struct s3w_slice l)
{
    /* chunk-size: 1..16 hex digits, nothing before them (no sign, "0x" or
     * space): S3's framing is as strict as HTTP/1.1 chunk-size. */
    size_t i = 0;
    uint64_t size = 0;
    while (i < l.len && i < 17) {
        int v = s3w_hex_digit((unsigned char)l.ptr[i]);
        if (v < 0)
            break;
        size = size << 4 | (uint64_t)v;
        i++;
    }
    if (i == 0 || i > 16)
        return fail(d, SIGV4_CHUNK_E_FRAMING);
    struct s3w_slice rest = s3w_slice(l.ptr + i, l.len - i);
    if (sigv4_stream_mode_signed(d->p.mode)) {
        static const char ext[] = ";chunk-signature=";
        if (!s3w_slice_starts_with(rest, S3W_SLICE_LIT(ext)))
            return fail(d, SIGV4_CHUNK_E_FRAMING);
        struct s3w_slice sig = s3w_slice(rest.ptr + sizeof ext - 1,
                                         rest.len - (sizeof ext - 1));
        if (!valid_wire_sig(d, sig))
            return fail(d, SIGV4_CHUNK_E_FRAMING);
        memcpy(d->cur_sig, sig.ptr, sig.len);
        d->cur_sig_len = sig.len;
    } else if (rest.len != 0) {
        return fail(d, SIGV4_CHUNK_E_FRAMING);
    }
    if (size > d->p.max_chunk)
        return fail(d, SIGV4_CHUNK_E_TOOBIG);
    if (size > d->p.decoded_length - d->total)
        return fail(d, SIGV4_CHUNK_E_LENGTH);
    /* A short chunk is legal only as the last data chunk: S3 answers
     * InvalidChunkSizeError when another data chunk follows one. (Checked
     * when the next one comes, so that a wrong decoded length still gets
     * its own error.) */
    if (size > 0 && d->short_seen)
        return fail(d, SIGV4_CHUNK_E_CHUNKSIZE);
    if (size > 0 && size < d->p.min_chunk)
        d->short_seen = true;
    d->chunk_size = d->chunk_left = size;
    return SIGV4_CHUNK_OK;
}

static int verify_chunk(struct sigv4_chunked_decoder *d, const uint8_t sha[32],
                        const char *algo, bool chunk)
{
    struct sts_buf sts;
    build_sts(&sts, algo, d->p.amz_date, d->p.scope, s3w_slice(d->prev, d->prev_len),
              sha, chunk);
    struct s3w_slice sig = chunk ? s3w_slice(d->cur_sig, d->cur_sig_len)
                                 : s3w_slice(d->trailer_sig, d->trailer_sig_len);
    int rc = d->p.ops->verify(d->p.ops_ctx, s3w_slice(sts.b, sts.len), sig);
    if (rc != SIGV4_CHUNK_OK)
        return fail(d, rc == SIGV4_CHUNK_E_SIGNATURE ? rc : SIGV4_CHUNK_E_INTERNAL);
    memcpy(d->prev, sig.ptr, sig.len);
    d->prev_len = sig.len;
    return SIGV4_CHUNK_OK;
}

static int start_chunk(struct sigv4_chunked_decoder *d)
{
    if (sigv4_stream_mode_signed(d->p.mode)) {
        s3w_buf_reset(&d->chunk);
        if (!EVP_DigestInit_ex(d->md, d->sha256_md, NULL))
            return fail(d, SIGV4_CHUNK_E_INTERNAL);
    }
    return SIGV4_CHUNK_OK;
}

static int finish_zero_chunk(struct sigv4_chunked_decoder *d)
{
    if (sigv4_stream_mode_signed(d->p.mode)) {
        static const uint8_t empty_sha[32] = {
            0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4,
            0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b,
            0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
        };
        int rc = verify_chunk(d, empty_sha, d->p.ops->payload_algo, true);
        if (rc)
            return rc;
    }
    if (d->total != d->p.decoded_length)
        return fail(d, SIGV4_CHUNK_E_LENGTH);
    d->st = D_TRAILER;
    return SIGV4_CHUNK_OK;
}

static int chunk_data_done(struct sigv4_chunked_decoder *d)
{
    if (!sigv4_stream_mode_signed(d->p.mode))
        return SIGV4_CHUNK_OK;
    unsigned int len = 0;
    if (!EVP_DigestFinal_ex(d->md, d->chunk_sha, &len))
        return fail(d, SIGV4_CHUNK_E_INTERNAL);
    int rc = verify_chunk(d, d->chunk_sha, d->p.ops->payload_algo, true);
    if (rc)
        return rc;
    if (d->total == d->p.decoded_length) {
        d->held = true; /* released with last=true once the end verifies */
        return SIGV4_CHUNK_OK;
    }
    return emit(d, (const uint8_t *)d->chunk.ptr, d->chunk.len, d->chunk_sha, false);
}

static int b64_check(struct sigv4_chunked_decoder *d, struct sigv4_cksum *ck,
                     struct s3w_slice presented)
{
    uint8_t dig[SIGV4_CKSUM_MAX_DIGEST];
    int n = sigv4_cksum_final(ck, dig);
    if (n < 0)
        return fail(d, SIGV4_CHUNK_E_INTERNAL);
    if (!sigv4_cksum_b64_matches(presented, dig, (size_t)n)) {
        d->err_algo = ck->algo;
        snprintf(d->err_msg, sizeof d->err_msg,
                 "The %s you specified did not match the calculated checksum.",
                 sigv4_cksum_algo_name(ck->algo));
        return fail(d, SIGV4_CHUNK_E_CHECKSUM);
    }
    return SIGV4_CHUNK_OK;
}

static int finish_stream(struct sigv4_chunked_decoder *d)
{
    int rc;
    /* Every declared trailer must have come (received ones were checked
     * against the declaration as they arrived, so equal counts suffice). */
    if (d->ntrailers != d->ndeclared)
        return fail(d, SIGV4_CHUNK_E_TRAILER);
    if (d->p.mode == SIGV4_STREAM_HMAC_PAYLOAD_TRAILER ||
        d->p.mode == SIGV4_STREAM_ECDSA_PAYLOAD_TRAILER) {
        /* The trailer signature authenticates the checksum: without it the
         * checksum could be anything. Missing = does not match. */
        if (!d->have_trailer_sig)
            return fail(d, SIGV4_CHUNK_E_SIGNATURE);
        uint8_t th[32];
        if (sha256_trailers(d->trailers, d->ntrailers, th))
            return fail(d, SIGV4_CHUNK_E_INTERNAL);
        rc = verify_chunk(d, th, d->p.ops->trailer_algo, false);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < d->ntrailers; i++)
        if (s3w_slice_eq(d->trailers[i].name, d->trailer_ck_name)) {
            rc = b64_check(d, &d->trailer_ck, d->trailers[i].value);
            if (rc)
                return rc;
        }
    if (d->header_ck.algo != SIGV4_CKSUM_NONE) {
        rc = b64_check(d, &d->header_ck, s3w_slice(d->header_b64, d->header_b64_len));
        if (rc)
            return rc;
    }
    /* The last piece waits for sigv4_chunked_finish(): only the end of the
     * HTTP body proves no stray bytes follow the final CRLF. */
    d->st = D_VERIFIED;
    return SIGV4_CHUNK_OK;
}

static int trailer_line(struct sigv4_chunked_decoder *d, struct s3w_slice l)
{
    if (l.len == 0)
        return finish_stream(d);
    if (!sigv4_stream_mode_trailer(d->p.mode))
        return fail(d, SIGV4_CHUNK_E_FRAMING);
    /* After the trailer signature only the empty line may come. */
    if (d->have_trailer_sig)
        return fail(d, SIGV4_CHUNK_E_FRAMING);
    size_t colon = 0;
    while (colon < l.len && l.ptr[colon] != ':')
        colon++;
    if (colon == 0 || colon == l.len)
        return fail(d, SIGV4_CHUNK_E_FRAMING);
    for (size_t i = 0; i < colon; i++)
        if (!is_tchar((unsigned char)l.ptr[i]))
            return fail(d, SIGV4_CHUNK_E_FRAMING);
    size_t vs = colon + 1, ve = l.len;
    while (vs < ve && (l.ptr[vs] == ' ' || l.ptr[vs] == '\t'))
        vs++;
    while (ve > vs && (l.ptr[ve - 1] == ' ' || l.ptr[ve - 1] == '\t'))
        ve--;
    for (size_t i = vs; i < ve; i++) {
        unsigned char c = (unsigned char)l.ptr[i];
        if (c < 0x20 || c == 0x7f)
            return fail(d, SIGV4_CHUNK_E_FRAMING);
    }
    struct s3w_slice name = s3w_slice(l.ptr, colon);
    struct s3w_slice value = s3w_slice(l.ptr + vs, ve - vs);

    if (s3w_slice_eq_nocase(name, S3W_SLICE_LIT("x-amz-trailer-signature"))) {
        if (!sigv4_stream_mode_signed(d->p.mode))
            return fail(d, SIGV4_CHUNK_E_TRAILER);
        if (!valid_wire_sig(d, value))
            return fail(d, SIGV4_CHUNK_E_SIGNATURE);
        memcpy(d->trailer_sig, value.ptr, value.len);
        d->trailer_sig_len = value.len;
        d->have_trailer_sig = true;
        return SIGV4_CHUNK_OK;
    }
    /* Store lower-cased name and value: they are signed as sent (lower-case
     * on the wire from every SDK) and handed to the encoder. */
    if (d->ntrailers == SIGV4_CHUNK_MAX_TRAILERS ||
        d->tstore_cap - d->tstore_len < name.len + value.len)
        return fail(d, SIGV4_CHUNK_E_TRAILER);
    char *np = d->tstore + d->tstore_len;
    for (size_t i = 0; i < name.len; i++)
        np[i] = (char)lower((unsigned char)name.ptr[i]);
    memcpy(np + name.len, value.ptr, value.len);
    d->tstore_len += name.len + value.len;
    struct s3w_slice lname = s3w_slice(np, name.len);
    bool declared = false;
    for (size_t i = 0; i < d->ndeclared; i++)
        declared |= s3w_slice_eq(d->declared[i], lname);
    for (size_t i = 0; i < d->ntrailers; i++)
        if (s3w_slice_eq(d->trailers[i].name, lname))
            return fail(d, SIGV4_CHUNK_E_TRAILER);
    if (!declared)
        return fail(d, SIGV4_CHUNK_E_TRAILER);
    d->trailers[d->ntrailers].name = lname;
    d->trailers[d->ntrailers].value = s3w_slice(np + name.len, value.len);
    d->ntrailers++;
    return SIGV4_CHUNK_OK;
}

/* Collects one CRLF-terminated line. Returns bytes consumed; *complete is
 * set when the line (without CRLF) is in d->line[0..line_len). */
static size_t collect_line(struct sigv4_chunked_decoder *d, const uint8_t *p, size_t n,
                           bool *complete, int *rc)
{
    *complete = false;
    *rc = SIGV4_CHUNK_OK;
    size_t i = 0;
    for (; i < n; i++) {
        unsigned char c = p[i];
        if (c == '\n') {
            if (d->line_len == 0 || d->line[d->line_len - 1] != '\r') {
                *rc = fail(d, SIGV4_CHUNK_E_FRAMING); /* bare LF */
                return i;
            }
            d->line_len--;
            *complete = true;
            return i + 1;
        }
        /* A CR may only come right before the LF. */
        if (d->line_len > 0 && d->line[d->line_len - 1] == '\r') {
            *rc = fail(d, SIGV4_CHUNK_E_FRAMING);
            return i;
        }
        if (d->line_len == d->p.max_line) {
            *rc = fail(d, SIGV4_CHUNK_E_TOOBIG);
            return i;
        }
        d->line[d->line_len++] = (char)c;
    }
    return i;
}

int sigv4_chunked_decode(struct sigv4_chunked_decoder *d, const void *data, size_t n)
{
    const uint8_t *p = data;
    int rc;
    if (d->st == D_ERROR)
        return d->err;
    while (n > 0) {
        switch (d->st) {
        case D_SIZE_LINE:
        case D_TRAILER: {
            bool complete;
            size_t used = collect_line(d, p, n, &complete, &rc);
            if (rc)
                return rc;
            p += used;
            n -= used;
            if (!complete)
                break;
            struct s3w_slice l = s3w_slice(d->line, d->line_len);
            d->line_len = 0;
            if (d->st == D_TRAILER) {
                rc = trailer_line(d, l);
                if (rc)
                    return rc;
                break;
            }
            rc = parse_size_line(d, l);
            if (rc)
                return rc;
            if (d->chunk_size == 0) {
                rc = finish_zero_chunk(d);
                if (rc)
                    return rc;
                break;
            }
            rc = start_chunk(d);
            if (rc)
                return rc;
            d->st = D_DATA;
            break;
        }
        case D_DATA: {
            size_t take = d->chunk_left < n ? (size_t)d->chunk_left : n;
            if (d->trailer_ck.algo && sigv4_cksum_update(&d->trailer_ck, p, take))
                return fail(d, SIGV4_CHUNK_E_INTERNAL);
            if (d->header_ck.algo && sigv4_cksum_update(&d->header_ck, p, take))
                return fail(d, SIGV4_CHUNK_E_INTERNAL);
            if (sigv4_stream_mode_signed(d->p.mode)) {
                if (!EVP_DigestUpdate(d->md, p, take))
                    return fail(d, SIGV4_CHUNK_E_INTERNAL);
                if (s3w_buf_append(&d->chunk, p, take))
                    return fail(d, SIGV4_CHUNK_E_INTERNAL);
            } else {
                rc = emit_unsigned(d, d->total, p, take);
                if (rc)
                    return rc;
            }
            d->total += take;
            d->chunk_left -= take;
            p += take;
            n -= take;
            if (d->chunk_left == 0)
                d->st = D_DATA_CR;
            break;
        }
        case D_DATA_CR:
            if (*p != '\r')
                return fail(d, SIGV4_CHUNK_E_FRAMING);
            p++;
            n--;
            d->st = D_DATA_LF;
            break;
        case D_DATA_LF:
            if (*p != '\n')
                return fail(d, SIGV4_CHUNK_E_FRAMING);
            p++;
            n--;
            d->st = D_SIZE_LINE;
            rc = chunk_data_done(d);
            if (rc)
                return rc;
            break;
        case D_VERIFIED:
        case D_DONE:
            /* Bytes after the final CRLF: the framing ended early. */
            return fail(d, SIGV4_CHUNK_E_FRAMING);
        case D_ERROR:
            return d->err;
        }
    }
    return d->st == D_ERROR ? d->err : SIGV4_CHUNK_OK;
}

int sigv4_chunked_finish(struct sigv4_chunked_decoder *d)
{
    if (d->st == D_ERROR || d->st == D_DONE)
        return d->st == D_ERROR ? d->err : SIGV4_CHUNK_OK;
    if (d->st != D_VERIFIED)
        return fail(d, SIGV4_CHUNK_E_INCOMPLETE);
    d->st = D_DONE;
    if (d->held)
        return emit(d, (const uint8_t *)d->chunk.ptr, d->chunk.len, d->chunk_sha, true);
    if (!sigv4_stream_mode_signed(d->p.mode))
        return emit(d, d->hold ? d->hold : (const uint8_t *)"", d->hold_len, NULL, true);
    return emit(d, (const uint8_t *)"", 0, NULL, true);
}

bool sigv4_chunked_done(const struct sigv4_chunked_decoder *d)
{
    return d->st == D_DONE;
}

struct sigv4_chunk_error sigv4_chunked_error(const struct sigv4_chunked_decoder *d)
{
    if (d->st != D_ERROR)
        return sigv4_chunk_error_for(SIGV4_CHUNK_OK);
    struct sigv4_chunk_error e = sigv4_chunk_error_for(d->err);
    if (d->err == SIGV4_CHUNK_E_CHECKSUM && d->err_algo != SIGV4_CKSUM_NONE) {
        /* S3 names the algorithm: "The CRC32C you specified did not match
         * the calculated checksum." (written when the error was set). */
        e.message = d->err_msg;
    }
    return e;
}

size_t sigv4_chunked_trailers(const struct sigv4_chunked_decoder *d,
                              const struct sigv4_trailer **out)
{
    *out = d->trailers;
    return d->st == D_DONE ? d->ntrailers : 0;
}

uint64_t sigv4_chunked_decoded_bytes(const struct sigv4_chunked_decoder *d)
{
    return d->total;
}

/* ---- encoder ------------------------------------------------------------------ */

int sigv4_chunked_encoder_init(struct sigv4_chunked_encoder *e,
                               const struct sigv4_chunked_enc_params *p)
{
    memset(e, 0, sizeof *e);
    if (p->mode == SIGV4_STREAM_NONE || (unsigned)p->mode >= N_MODES)
        return SIGV4_CHUNK_E_PARAM;
    e->mode = p->mode;
    if (sigv4_stream_mode_signed(p->mode)) {
        if (!ops_ok(p->ops) || !p->ops->sign ||
            p->amz_date.len == 0 || p->amz_date.len >= sizeof e->amz_date ||
            p->scope.len == 0 || p->scope.len >= sizeof e->scope ||
            p->seed_signature.len == 0 || p->seed_signature.len > sizeof e->prev)
            return SIGV4_CHUNK_E_PARAM;
        e->ops = p->ops;
        e->ops_ctx = p->ops_ctx;
        memcpy(e->amz_date, p->amz_date.ptr, p->amz_date.len);
        e->amz_date_len = p->amz_date.len;
        memcpy(e->scope, p->scope.ptr, p->scope.len);
        e->scope_len = p->scope.len;
        memcpy(e->prev, p->seed_signature.ptr, p->seed_signature.len);
        e->prev_len = p->seed_signature.len;
    }
    return SIGV4_CHUNK_OK;
}

void sigv4_chunked_encoder_cleanup(struct sigv4_chunked_encoder *e)
{
    EVP_MD_CTX_free(e->md);
    e->md = NULL;
    if (e->buf) {
        s3w_wipe(e->buf, e->buf_cap);
        free(e->buf);
    }
    e->buf = NULL;
    e->buf_len = e->buf_cap = 0;
}

static int enc_sign(struct sigv4_chunked_encoder *e, const char *algo,
                    const uint8_t sha[32], bool chunk, char *sig, size_t *sig_len)
{
    struct sts_buf sts;
    build_sts(&sts, algo, s3w_slice(e->amz_date, e->amz_date_len),
              s3w_slice(e->scope, e->scope_len), s3w_slice(e->prev, e->prev_len),
              sha, chunk);
    int rc = e->ops->sign(e->ops_ctx, s3w_slice(sts.b, sts.len), sig,
                          SIGV4_CHUNK_SIG_MAX, sig_len);
    if (rc || *sig_len == 0 || *sig_len > SIGV4_CHUNK_SIG_MAX)
        return SIGV4_CHUNK_E_INTERNAL;
    memcpy(e->prev, sig, *sig_len);
    e->prev_len = *sig_len;
    return SIGV4_CHUNK_OK;
}

static size_t put_hex(char *out, uint64_t v)
{
    /* Lower-case hex without leading zeros, as the S3 examples frame sizes
     * ("10000", "400", "0"). */
    char tmp[16];
    size_t n = 0;
    do {
        tmp[n++] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

static size_t hex_len(uint64_t v)
{
    size_t n = 1;
    while (v >>= 4)
        n++;
    return n;
}

static int enc_header(struct sigv4_chunked_encoder *e, size_t n, const uint8_t *sha,
                      char *hdr, size_t *hdr_len)
{
    size_t o = put_hex(hdr, n);
    if (sigv4_stream_mode_signed(e->mode)) {
        char sig[SIGV4_CHUNK_SIG_MAX];
        size_t sl = 0;
        int rc = enc_sign(e, e->ops->payload_algo, sha, true, sig, &sl);
        if (rc)
            return rc;
        memcpy(hdr + o, ";chunk-signature=", 17);
        o += 17;
        memcpy(hdr + o, sig, sl);
        o += sl;
    }
    hdr[o++] = '\r';
    hdr[o++] = '\n';
    *hdr_len = o;
    return SIGV4_CHUNK_OK;
}

int sigv4_chunked_encode_chunk(struct sigv4_chunked_encoder *e,
                               const void *data, size_t n,
                               const uint8_t *sha256,
                               char hdr[SIGV4_CHUNK_HDR_MAX], size_t *hdr_len)
{
    if (n == 0 || e->finished)
        return SIGV4_CHUNK_E_PARAM;
    uint8_t sha[32];
    if (sigv4_stream_mode_signed(e->mode) && !sha256) {
        if (!e->md && !(e->md = EVP_MD_CTX_new()))
            return SIGV4_CHUNK_E_INTERNAL;
        unsigned int len = 0;
        if (!EVP_DigestInit_ex(e->md, EVP_sha256(), NULL) ||
            !EVP_DigestUpdate(e->md, data, n) || !EVP_DigestFinal_ex(e->md, sha, &len))
            return SIGV4_CHUNK_E_INTERNAL;
        sha256 = sha;
    }
    int rc = enc_header(e, n, sha256, hdr, hdr_len);
    if (rc == SIGV4_CHUNK_OK)
        e->bytes += n;
    return rc;
}

int sigv4_chunked_encode_append(struct sigv4_chunked_encoder *e,
                                const void *data, size_t n,
                                const uint8_t *sha256, struct s3w_buf *out)
{
    char hdr[SIGV4_CHUNK_HDR_MAX];
    size_t hl = 0;
    int rc = sigv4_chunked_encode_chunk(e, data, n, sha256, hdr, &hl);
    if (rc)
        return rc;
    if (s3w_buf_append(out, hdr, hl) || s3w_buf_append(out, data, n) ||
        s3w_buf_append(out, "\r\n", 2))
        return SIGV4_CHUNK_E_TOOBIG;
    return SIGV4_CHUNK_OK;
}

int sigv4_chunked_encode_finish(struct sigv4_chunked_encoder *e,
                                const struct sigv4_trailer *trailers,
                                size_t ntrailers, struct s3w_buf *out)
{
    static const uint8_t empty_sha[32] = {
        0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4,
        0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b,
        0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
    };
    if (e->finished)
        return SIGV4_CHUNK_E_PARAM;
    if (ntrailers && !sigv4_stream_mode_trailer(e->mode))
        return SIGV4_CHUNK_E_PARAM;
    e->finished = true;
    /* the final chunk: size 0, signed over the hash of nothing */
    char hdr[SIGV4_CHUNK_HDR_MAX];
    size_t o = 0;
    int rc = enc_header(e, 0, empty_sha, hdr, &o);
    if (rc)
        return rc;
    if (s3w_buf_append(out, hdr, o))
        return SIGV4_CHUNK_E_TOOBIG;
    for (size_t i = 0; i < ntrailers; i++)
        if (s3w_buf_append_slice(out, trailers[i].name) || s3w_buf_append_char(out, ':') ||
            s3w_buf_append_slice(out, trailers[i].value) || s3w_buf_append(out, "\r\n", 2))
            return SIGV4_CHUNK_E_TOOBIG;
    if (e->mode == SIGV4_STREAM_HMAC_PAYLOAD_TRAILER ||
        e->mode == SIGV4_STREAM_ECDSA_PAYLOAD_TRAILER) {
        uint8_t th[32];
        char sig[SIGV4_CHUNK_SIG_MAX];
        size_t sl = 0;
        if (sha256_trailers(trailers, ntrailers, th))
            return SIGV4_CHUNK_E_INTERNAL;
        rc = enc_sign(e, e->ops->trailer_algo, th, false, sig, &sl);
        if (rc)
            return rc;
        if (s3w_buf_append_cstr(out, "x-amz-trailer-signature:") ||
            s3w_buf_append(out, sig, sl) || s3w_buf_append(out, "\r\n", 2))
            return SIGV4_CHUNK_E_TOOBIG;
    }
    if (s3w_buf_append(out, "\r\n", 2))
        return SIGV4_CHUNK_E_TOOBIG;
    return SIGV4_CHUNK_OK;
}

int sigv4_chunked_encoder_buffer(struct sigv4_chunked_encoder *e, size_t chunk_size)
{
    if (chunk_size == 0 || e->buf)
        return SIGV4_CHUNK_E_PARAM;
    e->buf = malloc(chunk_size);
    if (!e->buf)
        return SIGV4_CHUNK_E_INTERNAL;
    e->buf_cap = chunk_size;
    e->buf_len = 0;
    return SIGV4_CHUNK_OK;
}

static int write_chunk(struct sigv4_chunked_encoder *e, const void *data, size_t n,
                       const uint8_t *sha256, sigv4_chunk_out_fn out, void *arg)
{
    char hdr[SIGV4_CHUNK_HDR_MAX];
    size_t hl = 0;
    int rc = sigv4_chunked_encode_chunk(e, data, n, sha256, hdr, &hl);
    if (rc)
        return rc;
    if (out(arg, hdr, hl) || out(arg, data, n) || out(arg, "\r\n", 2))
        return SIGV4_CHUNK_E_SINK;
    return SIGV4_CHUNK_OK;
}

int sigv4_chunked_encode_write(struct sigv4_chunked_encoder *e, const void *data, size_t n,
                               const uint8_t *sha256, sigv4_chunk_out_fn out, void *arg)
{
    const uint8_t *p = data;
    const size_t cs = e->buf_cap;
    if (!e->buf || e->finished)
        return SIGV4_CHUNK_E_PARAM;
    /* Every chunk but the last is exactly cs bytes, so the body length is
     * sigv4_chunked_encoded_length(mode, decoded, cs, ...) whatever the
     * piece sizes. A piece of exactly cs bytes with nothing pending is the
     * client's own chunk: framed as is, its sha256 reused. */
    if (e->buf_len == 0 && n == cs)
        return write_chunk(e, p, n, sha256, out, arg);
    while (n > 0) {
        if (e->buf_len == 0 && n >= cs) {
            int rc = write_chunk(e, p, cs, NULL, out, arg); /* no copy */
            if (rc)
                return rc;
            p += cs;
            n -= cs;
            continue;
        }
        size_t take = cs - e->buf_len < n ? cs - e->buf_len : n;
        memcpy(e->buf + e->buf_len, p, take);
        e->buf_len += take;
        p += take;
        n -= take;
        if (e->buf_len == cs) {
            int rc = write_chunk(e, e->buf, cs, NULL, out, arg);
            if (rc)
                return rc;
            e->buf_len = 0;
        }
    }
    return SIGV4_CHUNK_OK;
}

int sigv4_chunked_encode_write_finish(struct sigv4_chunked_encoder *e,
                                      const struct sigv4_trailer *trailers,
                                      size_t ntrailers, struct s3w_buf *scratch,
                                      sigv4_chunk_out_fn out, void *arg)
{
    if (!e->buf || e->finished)
        return SIGV4_CHUNK_E_PARAM;
    if (e->buf_len) {
        int rc = write_chunk(e, e->buf, e->buf_len, NULL, out, arg);
        if (rc)
            return rc;
        e->buf_len = 0;
    }
    s3w_buf_reset(scratch);
    int rc = sigv4_chunked_encode_finish(e, trailers, ntrailers, scratch);
    if (rc)
        return rc;
    return out(arg, scratch->ptr, scratch->len) ? SIGV4_CHUNK_E_SINK : SIGV4_CHUNK_OK;
}

uint64_t sigv4_chunked_encoded_length(enum sigv4_stream_mode mode,
                                      uint64_t decoded, size_t chunk_size,
                                      size_t sig_len,
                                      const struct sigv4_trailer *trailers,
                                      size_t ntrailers)
{
    bool sig = sigv4_stream_mode_signed(mode);
    uint64_t ext = sig ? 17 + sig_len : 0; /* ";chunk-signature=" + sig */
    uint64_t total = 0;
    if (chunk_size == 0)
        return 0;
    uint64_t full = decoded / chunk_size, rest = decoded % chunk_size;
    total += full * (hex_len(chunk_size) + ext + 2 + chunk_size + 2);
    if (rest)
        total += hex_len(rest) + ext + 2 + rest + 2;
    total += 1 + ext + 2; /* "0" [ext] CRLF */
    for (size_t i = 0; i < ntrailers; i++)
        total += trailers[i].name.len + 1 + trailers[i].value.len + 2;
    if (mode == SIGV4_STREAM_HMAC_PAYLOAD_TRAILER ||
        mode == SIGV4_STREAM_ECDSA_PAYLOAD_TRAILER)
        total += 24 + sig_len + 2; /* "x-amz-trailer-signature:" sig CRLF */
    return total + 2;
}

/* ---- the framing headers ------------------------------------------------------ */
int sigv4_chunked_framing_parse(struct s3w_slice decoded_length, struct s3w_slice trailer,
                                struct sigv4_chunked_framing *out)
{
    /* a placeholder as long as the longest base64 digest (SHA-256: 44) */
    static const char pad[64] = { 0 };
    memset(out, 0, sizeof(*out));
    if (!decoded_length.ptr)
        return SIGV4_FRAMING_E_NO_LENGTH;
    if (decoded_length.len == 0)
        return SIGV4_FRAMING_E_BAD_LENGTH;
    for (size_t i = 0; i < decoded_length.len; i++) {
        char d = decoded_length.ptr[i];
        if (d < '0' || d > '9' || out->decoded_length > (UINT64_MAX - (uint64_t)(d - '0')) / 10)
            return SIGV4_FRAMING_E_BAD_LENGTH;
        out->decoded_length = out->decoded_length * 10 + (uint64_t)(d - '0');
    }
    out->trailer_names = trailer.ptr ? trailer : S3W_SLICE_NULL;
    out->sized = true;
    size_t i = 0;
    while (i < trailer.len && out->sized) {
        const char *comma = memchr(trailer.ptr + i, ',', trailer.len - i);
        size_t e = comma ? (size_t)(comma - trailer.ptr) : trailer.len;
        struct s3w_slice nm = s3w_slice_trim(s3w_slice(trailer.ptr + i, e - i));
        if (nm.len) {
            enum sigv4_cksum_algo al = sigv4_cksum_algo_from_header(nm);
            if (al == SIGV4_CKSUM_NONE || out->ntrailers == SIGV4_CHUNK_MAX_TRAILERS)
                out->sized = false;
            else
                out->trailers[out->ntrailers++] = (struct sigv4_trailer){
                    nm, s3w_slice(pad, 4 * ((sigv4_cksum_digest_len(al) + 2) / 3)) };
        }
        i = e + 1;
    }
    if (!out->sized)
        out->ntrailers = 0;
    return 0;
}
