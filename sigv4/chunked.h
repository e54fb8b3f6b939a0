/*
 * chunked.h - aws-chunked bodies: incremental decoder + verifier, and the
 * encoder that re-frames the same bytes under the proxy's own signatures.
 *
 * Wire format ("Signature Calculations ... Transferring Payload in Multiple
 * Chunks", https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
 * and ".. with trailing headers",
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html):
 *
 *   signed modes:    hex-size ";chunk-signature=" sig CRLF data CRLF  ...
 *                    "0;chunk-signature=" sig CRLF
 *   unsigned mode:   hex-size CRLF data CRLF ... "0" CRLF
 *   then             (trailer-name ":" value CRLF)*          (trailer modes)
 *                    ["x-amz-trailer-signature:" sig CRLF]    (signed trailer)
 *                    CRLF
 *
 * Chunk string to sign (chained from the seed = the request's signature):
 *   <payload algo>\n<amz-date>\n<scope>\n<previous sig>\n<sha256("")>\n<sha256(data)>
 * Trailer string to sign:
 *   <trailer algo>\n<amz-date>\n<scope>\n<final chunk sig>\n
 *   <sha256 of the trailers as "name:value\n", LF not CRLF>
 *
 * The chain step is pluggable (struct sigv4_chain_ops): HMAC-SHA256 for
 * SigV4 (provided here, sigv4_chain_hmac_*), ECDSA P-256 for SigV4a (provided
 * by sigv4a.h). The decoder and encoder only build strings to sign and
 * call the ops; they never see a secret.
 *
 * Ownership: every struct here is embedded by the caller and paired
 * _init/_cleanup. Slices passed in params are copied at init (the caller's
 * buffers may go away afterwards). Memory is bounded: the decoder holds at
 * most one chunk (max_chunk bytes) plus one line (max_line bytes).
 * Pure: no I/O, no globals.
 *
 * How the proxy wires it (sigv4.h / sigv4a.h):
 *   client side   sigv4_verify() -> res; sigv4_chain_hmac_init(&h, res.signing_key)
 *                 (v4a: ops = &sigv4a_chain_ops, ops_ctx = the caller's key);
 *                 params: mode = sigv4_stream_mode_from_value(x-amz-content-sha256),
 *                 amz_date = the x-amz-date the request was signed with
 *                 (sigv4_format_amz_date(res.request_time)), scope = res.auth.scope,
 *                 seed_signature = res.auth.signature, decoded_length =
 *                 x-amz-decoded-content-length, declared_trailers = x-amz-trailer.
 *   upstream side sigv4_sign_headers() -> signed; sigv4_chain_hmac_init(&h2,
 *                 signed.signing_key); encoder params from signed.amz_date,
 *                 signed.scope, signed.seed_signature_hex; Content-Length from
 *                 sigv4_chunked_encoded_length() (buffered writer) or, with
 *                 the client's boundaries kept and equal signature lengths,
 *                 the client's own Content-Length.
 *   plain upstream forward the sink's pieces; finish the upstream body only
 *                 on last=true (abort it on any error).
 */
#ifndef S3W_SIGV4_CHUNKED_H
#define S3W_SIGV4_CHUNKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bytes.h"
#include "checksum.h"

/* ---- payload modes (x-amz-content-sha256 values) ---------------------------- */
enum sigv4_stream_mode {
    SIGV4_STREAM_NONE = 0,
    SIGV4_STREAM_HMAC_PAYLOAD,          /* STREAMING-AWS4-HMAC-SHA256-PAYLOAD */
    SIGV4_STREAM_HMAC_PAYLOAD_TRAILER,  /* STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER */
    SIGV4_STREAM_UNSIGNED_TRAILER,      /* STREAMING-UNSIGNED-PAYLOAD-TRAILER */
    SIGV4_STREAM_ECDSA_PAYLOAD,         /* STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD */
    SIGV4_STREAM_ECDSA_PAYLOAD_TRAILER, /* STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER */
};

/* Exact, case-sensitive match of an x-amz-content-sha256 value; NONE if it is
 * not a streaming mode (e.g. a hex hash or UNSIGNED-PAYLOAD). */
enum sigv4_stream_mode sigv4_stream_mode_from_value(struct s3w_slice v);
/* The x-amz-content-sha256 value for a mode; "" for NONE. */
const char *sigv4_stream_mode_value(enum sigv4_stream_mode m);
bool sigv4_stream_mode_signed(enum sigv4_stream_mode m);   /* chunk signatures */
bool sigv4_stream_mode_trailer(enum sigv4_stream_mode m);  /* trailers allowed */
bool sigv4_stream_mode_ecdsa(enum sigv4_stream_mode m);

/* ---- errors ----------------------------------------------------------------- */
/* Negative codes (distinct from S3W_E_*); sigv4_chunked_error() gives the
 * S3 error code, message and HTTP status to answer with. */
enum {
    SIGV4_CHUNK_OK = 0,
    SIGV4_CHUNK_E_SIGNATURE = -200, /* 403 SignatureDoesNotMatch: chunk or trailer sig */
    SIGV4_CHUNK_E_INCOMPLETE = -201,/* 400 IncompleteBody: the stream ended before its end */
    SIGV4_CHUNK_E_FRAMING = -202,   /* 400 IncompleteBody: malformed size/extension/line/CRLF (S3 answers
                                     * IncompleteBody for any malformed aws-chunked encoding) */
    SIGV4_CHUNK_E_TOOBIG = -203,    /* 400 InvalidArgument: chunk over max_chunk / line over max_line */
    SIGV4_CHUNK_E_CHECKSUM = -204,  /* 400 BadDigest: "The <ALGO> you specified did not match the calculated checksum." */
    SIGV4_CHUNK_E_TRAILER = -205,   /* 400 InvalidRequest: trailer missing, undeclared, repeated, bad value */
    SIGV4_CHUNK_E_SINK = -206,      /* the sink returned non-zero; its error is the caller's */
    SIGV4_CHUNK_E_INTERNAL = -207,  /* 500 InternalError: allocation / OpenSSL failure / misuse */
    SIGV4_CHUNK_E_PARAM = -208,     /* 400 InvalidRequest at init: bad params (e.g. x-amz-trailer) */
    SIGV4_CHUNK_E_LENGTH = -209,    /* 400 IncompleteBody: decoded bytes != x-amz-decoded-content-length */
    SIGV4_CHUNK_E_CHUNKSIZE = -210, /* 400 InvalidChunkSizeError: a non-final chunk under min_chunk */
};

struct sigv4_chunk_error {
    int rc;              /* one of SIGV4_CHUNK_E_* (0 if no error) */
    int http_status;     /* 400, 403, 500 */
    const char *code;    /* S3 error code, e.g. "SignatureDoesNotMatch" */
    const char *message; /* S3 error message; never contains a secret */
};

/* ---- pluggable chain step ------------------------------------------------------ */
/*
 * verify: 0 if `sig` (exactly as it appeared on the wire, padding included)
 *         is a valid signature of `sts`; SIGV4_CHUNK_E_SIGNATURE if not;
 *         SIGV4_CHUNK_E_INTERNAL on failure. Must be constant-time on MACs.
 * sign:   writes the wire form of the signature of `sts` to out (at most
 *         sig_max chars, no NUL needed), sets *out_len. 0 or E_INTERNAL.
 *
 * Chaining: the "previous signature" line of the next string to sign is the
 * previous wire signature with any trailing '*' padding removed (aws-c-auth
 * pads SigV4a chunk signatures with '*' to a fixed 144 hex chars and strips
 * the padding when chaining: aws_trim_padded_sigv4a_signature).
 */
struct sigv4_chain_ops {
    int (*verify)(void *ctx, struct s3w_slice sts, struct s3w_slice sig);
    int (*sign)(void *ctx, struct s3w_slice sts, char *out, size_t out_cap,
                size_t *out_len);
    const char *payload_algo; /* "AWS4-HMAC-SHA256-PAYLOAD" / "AWS4-ECDSA-P256-SHA256-PAYLOAD" */
    const char *trailer_algo; /* "AWS4-HMAC-SHA256-TRAILER" / "AWS4-ECDSA-P256-SHA256-TRAILER" */
    size_t sig_min;           /* shortest accepted wire signature (64 for HMAC) */
    size_t sig_max;           /* longest wire signature, <= SIGV4_CHUNK_SIG_MAX (64 / 144) */
};

#define SIGV4_CHUNK_SIG_MAX 144
/* Longest credential scope accepted (+1), as sigv4.h's scope[160]. */
#define SIGV4_CHUNK_SCOPE_MAX 160

/* The SigV4 chain step: HMAC-SHA256 under the derived signing key (kSigning).
 * The context precomputes the HMAC inner/outer pad states once so each chunk
 * costs two short SHA-256 compressions, no allocation. */
struct sigv4_chain_hmac {
    struct evp_md_ctx_st *inner;   /* sha256 state after (key ^ ipad) */
    struct evp_md_ctx_st *outer;   /* sha256 state after (key ^ opad) */
    struct evp_md_ctx_st *work;
};
extern const struct sigv4_chain_ops sigv4_chain_hmac_ops;
/* key: the 32-byte SigV4 signing key; copied into hash states (the caller
 * may wipe its copy at once). 0 or SIGV4_CHUNK_E_INTERNAL. */
int sigv4_chain_hmac_init(struct sigv4_chain_hmac *h, const uint8_t key[32]);
/* Wipes and frees the key-derived states. Safe on a zeroed struct. */
void sigv4_chain_hmac_cleanup(struct sigv4_chain_hmac *h);
/* HMAC-SHA256(key, msg) with the precomputed states (also used by tests). */
int sigv4_chain_hmac_mac(struct sigv4_chain_hmac *h, const void *msg, size_t n,
                         uint8_t out[32]);

/* ---- trailers ------------------------------------------------------------------ */
#define SIGV4_CHUNK_MAX_TRAILERS 4

struct sigv4_trailer {
    struct s3w_slice name;   /* lower-case, e.g. "x-amz-checksum-crc32c" */
    struct s3w_slice value;  /* as sent, surrounding whitespace trimmed */
};

/* ---- decoder ---------------------------------------------------------------------- */

/* One release of decoded bytes to the caller. */
struct sigv4_chunk_piece {
    const uint8_t *data;   /* valid only during the sink call */
    size_t len;
    /* When these bytes are exactly one whole signed chunk: its SHA-256
     * (already computed for verification; pass it to the encoder so the
     * re-sign does not hash again). NULL otherwise. */
    const uint8_t *sha256;
    /* true on the final call: every chunk signature, the trailer checksum
     * and signature and the decoded length have verified. len may be 0. */
    bool last;
};

/* Returns 0 to continue; anything else aborts decoding with
 * SIGV4_CHUNK_E_SINK (the decoder is then in the error state). The sink must
 * not call back into the decoder (nor free it): copy or forward, then return. */
typedef int (*sigv4_chunk_sink_fn)(void *arg, const struct sigv4_chunk_piece *piece);

struct sigv4_chunked_params {
    enum sigv4_stream_mode mode;
    /* Signed modes only (ignored for UNSIGNED_TRAILER): */
    struct s3w_slice amz_date;       /* x-amz-date, "20130524T000000Z" */
    struct s3w_slice scope;          /* "20130524/us-east-1/s3/aws4_request" */
    struct s3w_slice seed_signature; /* the request's own signature (wire form) */
    const struct sigv4_chain_ops *ops;
    void *ops_ctx;                   /* e.g. a struct sigv4_chain_hmac; borrowed */
    /* x-amz-decoded-content-length; S3 requires it for aws-chunked. */
    uint64_t decoded_length;
    /* x-amz-trailer value: comma-separated trailer names (may be empty).
     * Each received trailer must be declared, each declared one received. */
    struct s3w_slice declared_trailers;
    /* A whole-body checksum sent as a header (x-amz-checksum-<algo>) rather
     * than a trailer: verified at the end too. NONE to skip. */
    enum sigv4_cksum_algo header_cksum_algo;
    struct s3w_slice header_cksum_b64;
    /* Caps; 0 means the default. */
    size_t max_chunk;   /* SIGV4_CHUNK_DEFAULT_MAX_CHUNK */
    size_t max_line;    /* SIGV4_CHUNK_DEFAULT_MAX_LINE: a chunk-size line or a trailer line */
    /* S3 rejects a data chunk under 8192 bytes unless it is the last one
     * (InvalidChunkSizeError). 0 means that default (8192);
     * SIGV4_CHUNK_NO_MIN_CHUNK accepts any size. */
    size_t min_chunk;
    /* UNSIGNED_TRAILER only: the decoder withholds the last `hold_back`
     * bytes of the body (by offset, from decoded_length) and releases them
     * with last=true, i.e. only after the trailer checksum verified. 0 means
     * the default, 1 byte: enough that an upstream taking a plain
     * Content-Length body can never complete before verification.
     * SIGV4_CHUNK_NO_HOLD_BACK releases everything at once (right when
     * re-encoding aws-chunked upstream: the upstream cannot complete before
     * the proxy sends the final chunk, which it does only after last=true).
     * Capped at max_chunk. Signed modes ignore it (see below). */
    size_t hold_back;
    sigv4_chunk_sink_fn sink;
    void *sink_arg;
};

#define SIGV4_CHUNK_DEFAULT_MAX_CHUNK ((size_t)16 << 20)
#define SIGV4_CHUNK_DEFAULT_MAX_LINE ((size_t)4096)
#define SIGV4_CHUNK_DEFAULT_MIN_CHUNK ((size_t)8192)
#define SIGV4_CHUNK_NO_MIN_CHUNK ((size_t)1)
#define SIGV4_CHUNK_NO_HOLD_BACK ((size_t)-1)

struct sigv4_chunked_decoder; /* opaque: private fields in chunked.c */

/*
 * Data release contract:
 *  - signed modes: a chunk's bytes reach the sink only after that chunk's
 *    signature verified, in one piece per chunk (piece.sha256 set). Nothing
 *    of a failing chunk, nor of any later chunk, is ever released. The last
 *    data chunk (the one that reaches decoded_length) is held whole until
 *    the 0-size chunk, the trailers, the trailer signature and the trailer
 *    checksum verified, and comes with last=true (an empty last piece if
 *    the body is empty).
 *  - UNSIGNED_TRAILER: bytes flow as they arrive, except the last hold_back
 *    bytes, released with last=true after the trailer checksum verified.
 *  - The sink is called synchronously from sigv4_chunked_decode(), and
 *    for the last piece from sigv4_chunked_finish(): the end of the HTTP
 *    body is what proves that no stray bytes follow the final CRLF.
 * "Decode to plain": forward exactly what the sink gets and complete the
 * upstream body only on last=true. To re-sign, feed each piece to
 * sigv4_chunked_encode_chunk() (with piece.sha256) and call
 * sigv4_chunked_encode_finish() on last=true.
 */
int sigv4_chunked_decoder_new(struct sigv4_chunked_decoder **out,
                              const struct sigv4_chunked_params *p);
void sigv4_chunked_decoder_free(struct sigv4_chunked_decoder *d);

/* Feeds n wire bytes (any split, down to one byte at a time). Returns 0
 * or a SIGV4_CHUNK_E_* error; after an error every later call returns the
 * same error and nothing more is released. Bytes after the final CRLF are a
 * framing error. */
int sigv4_chunked_decode(struct sigv4_chunked_decoder *d, const void *p, size_t n);
/* Call when the HTTP body has ended: if the stream completed and verified,
 * releases the last piece (last=true) and returns 0 (or E_SINK); else
 * SIGV4_CHUNK_E_INCOMPLETE (truncated) or the earlier error. */
int sigv4_chunked_finish(struct sigv4_chunked_decoder *d);
bool sigv4_chunked_done(const struct sigv4_chunked_decoder *d);
/* Details of the current error (rc 0 if none). The message may name the
 * checksum algorithm; it never contains signatures, keys or body bytes.
 * code and message stay valid as long as d. */
struct sigv4_chunk_error sigv4_chunked_error(const struct sigv4_chunked_decoder *d);
/* Maps a code to its S3 error without a decoder (messages are generic). */
struct sigv4_chunk_error sigv4_chunk_error_for(int rc);
/* After done: the verified trailers (the slices live as long as d). */
size_t sigv4_chunked_trailers(const struct sigv4_chunked_decoder *d,
                              const struct sigv4_trailer **out);
/* Decoded bytes seen so far (released or held). */
uint64_t sigv4_chunked_decoded_bytes(const struct sigv4_chunked_decoder *d);

/* ---- encoder ----------------------------------------------------------------------- */

struct sigv4_chunked_enc_params {
    enum sigv4_stream_mode mode;
    struct s3w_slice amz_date;       /* the proxy's own request's x-amz-date */
    struct s3w_slice scope;
    struct s3w_slice seed_signature; /* the proxy's own request signature */
    const struct sigv4_chain_ops *ops; /* signed modes */
    void *ops_ctx;
};

struct sigv4_chunked_encoder {
    enum sigv4_stream_mode mode;
    const struct sigv4_chain_ops *ops;
    void *ops_ctx;
    char amz_date[32];
    size_t amz_date_len;
    char scope[SIGV4_CHUNK_SCOPE_MAX];
    size_t scope_len;
    char prev[SIGV4_CHUNK_SIG_MAX];
    size_t prev_len;
    bool finished;
    uint64_t bytes;   /* decoded bytes framed so far */
    struct evp_md_ctx_st *md; /* sha256 when the caller gives no hash */
    uint8_t *buf;     /* sigv4_chunked_encode_write: pending bytes (owned) */
    size_t buf_len, buf_cap;
};

/* Longest chunk header the encoder writes: 16 hex + ";chunk-signature=" +
 * SIGV4_CHUNK_SIG_MAX + CRLF. */
#define SIGV4_CHUNK_HDR_MAX (16 + 17 + SIGV4_CHUNK_SIG_MAX + 2)

int sigv4_chunked_encoder_init(struct sigv4_chunked_encoder *e,
                               const struct sigv4_chunked_enc_params *p);
void sigv4_chunked_encoder_cleanup(struct sigv4_chunked_encoder *e);

/*
 * Frames one data chunk of n > 0 bytes: writes its header
 * ("hex;chunk-signature=sig\r\n", or "hex\r\n" when unsigned) into hdr.
 * The caller sends hdr, then the n data bytes untouched, then "\r\n" - so
 * the data is never copied. sha256: the chunk's SHA-256 when known (from
 * sigv4_chunk_piece.sha256 with unchanged boundaries), else NULL and the
 * encoder hashes. Returns 0, SIGV4_CHUNK_E_PARAM (n == 0 or finished) or
 * SIGV4_CHUNK_E_INTERNAL.
 */
int sigv4_chunked_encode_chunk(struct sigv4_chunked_encoder *e,
                               const void *data, size_t n,
                               const uint8_t *sha256,
                               char hdr[SIGV4_CHUNK_HDR_MAX], size_t *hdr_len);
/* Convenience: appends header, data and CRLF to out. */
int sigv4_chunked_encode_append(struct sigv4_chunked_encoder *e,
                                const void *data, size_t n,
                                const uint8_t *sha256, struct s3w_buf *out);
/*
 * Appends the end of the body to out: the 0-size chunk (signed in signed
 * modes), then for trailer modes each trailer as "name:value\r\n" followed
 * (signed trailer modes) by "x-amz-trailer-signature:sig\r\n", then the
 * final "\r\n". Trailers are signed in the order given; pass the decoder's
 * verified trailers unchanged. Non-trailer modes must pass none.
 */
int sigv4_chunked_encode_finish(struct sigv4_chunked_encoder *e,
                                const struct sigv4_trailer *trailers,
                                size_t ntrailers, struct s3w_buf *out);

/*
 * Buffered framing, for pieces of any size (unsigned-mode pieces come in
 * the sizes the client's bytes were read in, and S3 refuses a non-final
 * chunk under 8 KiB): frames chunks of at least chunk_size bytes.
 * sigv4_chunked_encoder_buffer() allocates the chunk_size buffer once
 * (SIGV4_CHUNK_E_INTERNAL if it cannot). Then each sigv4_chunked_encode_write()
 * emits zero or more framed chunks through `out` as three calls per chunk
 * (header, data, "\r\n"). Every chunk but the last is exactly chunk_size
 * bytes, so sigv4_chunked_encoded_length() gives the Content-Length up
 * front. A piece of exactly chunk_size bytes with nothing pending (the
 * client's own chunk, boundaries kept) goes out uncopied with its sha256
 * reused; whole chunk_size runs of bigger pieces go out uncopied too; the
 * rest is gathered in the buffer.
 * sigv4_chunked_encode_write_finish() flushes the rest as the last (possibly
 * short) chunk and writes the end of the body like
 * sigv4_chunked_encode_finish(). `out` returning non-zero aborts with
 * SIGV4_CHUNK_E_SINK.
 */
typedef int (*sigv4_chunk_out_fn)(void *arg, const void *p, size_t n);
int sigv4_chunked_encoder_buffer(struct sigv4_chunked_encoder *e, size_t chunk_size);
int sigv4_chunked_encode_write(struct sigv4_chunked_encoder *e, const void *data, size_t n,
                               const uint8_t *sha256, sigv4_chunk_out_fn out, void *arg);
int sigv4_chunked_encode_write_finish(struct sigv4_chunked_encoder *e,
                                      const struct sigv4_trailer *trailers,
                                      size_t ntrailers, struct s3w_buf *scratch,
                                      sigv4_chunk_out_fn out, void *arg);

/* The encoded body length (for Content-Length) of `decoded` bytes framed
 * in chunks of chunk_size (the last one shorter), for a mode whose wire
 * signatures are sig_len chars (64 for HMAC), with the given trailers. */
uint64_t sigv4_chunked_encoded_length(enum sigv4_stream_mode mode,
                                      uint64_t decoded, size_t chunk_size,
                                      size_t sig_len,
                                      const struct sigv4_trailer *trailers,
                                      size_t ntrailers);

/* ---- the framing headers ----------------------------------------------------------
 * What an aws-chunked request declares in its head, before any body byte:
 * x-amz-decoded-content-length, the payload's length (decimal digits), and
 * x-amz-trailer, the names of its trailing checksum headers (AWS S3 API
 * reference, "Signature calculations for the Authorization header:
 * Transferring payload in multiple chunks"). Pure: no allocation; the
 * slices borrow the header values and a static placeholder. */
struct sigv4_chunked_framing {
    uint64_t decoded_length;
    struct s3w_slice trailer_names; /* x-amz-trailer as sent; empty: none */
    /* The declared trailers, each with a placeholder value as long as its
     * base64 digest will be - what sigv4_chunked_encoded_length needs to
     * size a re-framed body in advance. Set only when `sized`: every name
     * is a checksum header, at most SIGV4_CHUNK_MAX_TRAILERS of them. */
    struct sigv4_trailer trailers[SIGV4_CHUNK_MAX_TRAILERS];
    size_t ntrailers;
    bool sized;
};

enum {
    SIGV4_FRAMING_E_NO_LENGTH = -220,  /* 411 MissingContentLength: no x-amz-decoded-content-length */
    SIGV4_FRAMING_E_BAD_LENGTH = -221, /* 400 InvalidArgument: not digits, empty, or over 2^64 - 1 */
};

/* Reads the two header values (ptr NULL: the header is absent) into out.
 * 0, or SIGV4_FRAMING_E_*. A trailer list that cannot be sized is no error
 * here (sized stays false): the decoder refuses the names it does not take
 * (sigv4_chunked_decoder_new). */
int sigv4_chunked_framing_parse(struct s3w_slice decoded_length, struct s3w_slice trailer,
                                struct sigv4_chunked_framing *out);

#endif
