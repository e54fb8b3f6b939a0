/*
 * body.c - the request body on its way upstream (README, "Security
 * invariants": no unverified byte completes an upload).
 *
 * The body mode is chosen before the body is read (px_choose_body_mode,
 * px_chunked_init): none; plain (UNSIGNED-PAYLOAD, anonymous) passing as it
 * came; signed, hashed while it streams; aws-chunked, verified chunk by
 * chunk by the decoder and re-framed under the proxy's own signatures (or
 * decoded); collected whole for the operations answered from their body.
 * Verified bytes wait in a bounded queue (struct bodyq) for curl's read
 * callback (relay.c), which holds the last byte back until
 * px->body.verified: until the payload hash (px_payload_hash_ok, the one
 * check), the chunk signatures and trailers, and the whole-body checksums
 * (px_checksums_*) matched. A mismatch (body_fail) makes curl abort the
 * transfer, so the upstream never completes the object.
 */
#include "exchange.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "post_object.h"
#include "s3err.h"

/* ---- body queue (bounded FIFO) --------------------------------------------------- */
int px_bq_push(struct bodyq *q, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    if (q->len + n > PX_Q_MAX)
        return -1;
    if (q->off + q->len + n > q->cap) {
        if (q->off > 0) {
            memmove(q->buf, q->buf + q->off, q->len);
            q->off = 0;
        }
        if (q->len + n > q->cap) {
            size_t nc = q->cap ? q->cap : 64 * 1024;
            while (nc < q->len + n)
                nc *= 2;
            if (nc > PX_Q_MAX)
                nc = PX_Q_MAX;
            char *nb = realloc(q->buf, nc);
            if (!nb)
                return -1;
            q->buf = nb;
            q->cap = nc;
        }
    }
    memcpy(q->buf + q->off + q->len, p, n);
    q->len += n;
    return 0;
}

size_t px_bq_pop(struct bodyq *q, char *dst, size_t n)
{
    if (n > q->len)
        n = q->len;
    memcpy(dst, q->buf + q->off, n);
    q->off += n;
    q->len -= n;
    if (q->len == 0)
        q->off = 0;
    return n;
}

/* ---- request body -------------------------------------------------------------------------- */
static void body_fail(struct px *px, int status, const char *code, const char *msg)
{
    px->body.failed = true;
    px->out.status = status;
    px->out.err_code = code;
    snprintf(px->out.err_msg, sizeof(px->out.err_msg), "%s", msg);
    /* px_fail closes the upstream connection: what went up of the body
     * never completes there */
    px_fail(px, status, code, px->out.err_msg);
}

/* Content-MD5 (px->body.md5, begun by md5_init) against the bytes fed. */
static bool md5_matches(struct px *px)
{
    uint8_t d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    return EVP_DigestFinal_ex(px->body.md5, d, &n) == 1 &&
           sigv4_cksum_b64_matches(px->body.md5_want, d, n);
}

static const char msg_md5_mismatch[] = "The Content-MD5 you specified did not match what we received.";

/* The aws-chunked decoder refused the body (or its sink did). */
static void chunked_fail(struct px *px, const char *default_code)
{
    if (px->body.md5_mismatch) {
        body_fail(px, 400, "BadDigest", msg_md5_mismatch);
        return;
    }
    struct sigv4_chunk_error ce = sigv4_chunked_error(px->body.dec);
    body_fail(px, ce.http_status ? ce.http_status : 400, ce.code ? ce.code : default_code,
              ce.message ? ce.message : "Invalid aws-chunked body.");
}

/* The body's SHA-256 against the one the caller signed, if it signed one
 * (x-amz-content-sha256 of 64 hex digits; an unsigned request's too, see
 * authenticate.c's anonymous_payload; UNSIGNED-PAYLOAD has none). The one
 * check of a payload hash, before any of the body completes upstream or is
 * parsed. false after answering 400 XAmzContentSHA256Mismatch (through
 * curl if a transfer runs). */
bool px_payload_hash_ok(struct px *px, const uint8_t sha256[32])
{
    if (!px->auth.sv.has_payload_sha256)
        return true;
    struct sigv4_error err;
    if (sigv4_check_payload_sha256(&px->auth.sv, sha256, &err) == 0)
        return true;
    body_fail(px, 400, "XAmzContentSHA256Mismatch", err.message);
    return false;
}

static int rechunk_out(void *arg, const void *p, size_t n)
{
    struct px *px = arg;
    return px_bq_push(&px->body.q, p, n);
}

static int chunk_sink(void *arg, const struct sigv4_chunk_piece *piece)
{
    struct px *px = arg;
    if (px->body.md5) {
        /* the decoded bytes are what Content-MD5 covers; the decoder has
         * checked an x-amz-checksum- header itself before the last piece */
        if (piece->len && EVP_DigestUpdate(px->body.md5, piece->data, piece->len) != 1)
            return -1;
        if (piece->last && !md5_matches(px)) {
            px->body.md5_mismatch = true;
            return -1;
        }
    }
    if (!px->body.passthrough) {
        if (px_bq_push(&px->body.q, piece->data, piece->len) != 0)
            return -1;
        if (piece->last)
            px->body.verified = true;
        return 0;
    }
    /* re-frame: verified bytes go out in fixed-size chunks signed with the
     * proxy's key, so the upstream Content-Length is known in advance */
    if (piece->len && sigv4_chunked_encode_write(&px->body.enc, piece->data, piece->len, piece->sha256,
                                                 rechunk_out, px) != 0)
        return -1;
    if (piece->last) {
        const struct sigv4_trailer *tr = NULL;
        size_t ntr = sigv4_chunked_trailers(px->body.dec, &tr);
        struct s3w_buf scratch;
        s3w_buf_init(&scratch, 8192);
        int rc = sigv4_chunked_encode_write_finish(&px->body.enc, tr, ntr, &scratch, rechunk_out, px);
        s3w_buf_cleanup(&scratch);
        if (rc != 0)
            return -1;
        /* the trailers, checksums and signatures verified: the final chunk
         * may now go out */
        px->body.verified = true;
    }
    return 0;
}

int pl_on_body(struct proxy_conn *c, const char *p, size_t n)
{
    struct px *px = c->ex;
    if (!px || px->body.failed)
        return 0;
    if (px->post.po) /* POST Object: only the form's file goes on (post_object.c) */
        return px_post_body(px, p, n);
    switch (px->body.bm) {
    case BM_COLLECT:
        if (!px_collect_charge(px, n))
            return 0; /* answered 503 */
        if (s3w_buf_append(&px->body.collect, p, n) != 0) {
            if (px->kind == PX_BODY_KEYS)
                body_fail(px, s3map_error_status(S3MAP_E_TOO_BIG), s3map_error_code(S3MAP_E_TOO_BIG),
                          s3map_strerror(S3MAP_E_TOO_BIG));
            else
                body_fail(px, 400, "MalformedXML", "The request body is larger than s3warden accepts for this operation.");
            return 0; /* the error response is ours, not the HTTP layer's */
        }
        return 0;
    case BM_SIGNED:
        sigv4_sha256_add(&px->body.sha, p, n);
        /* fall through */
    case BM_PLAIN:
        if (px->body.ck_want.ptr)
            sigv4_cksum_update(&px->body.ck, p, n);
        if (px->body.md5)
            EVP_DigestUpdate(px->body.md5, p, n);
        if (px_bq_push(&px->body.q, p, n) != 0) {
            body_fail(px, 500, "InternalError", s3err_default_message("InternalError"));
            return 0;
        }
        break;
    case BM_CHUNKED: {
        int rc = sigv4_chunked_decode(px->body.dec, p, n);
        if (rc != 0) {
            chunked_fail(px, "InvalidRequest");
            return 0;
        }
        break;
    }
    case BM_NONE:
        return 0;
    }
    if (px->body.q.len > PX_Q_HIGH)
        proxy_conn_pause_read(c);
    px_relay_body(px); /* px may be gone */
    return 0;
}

static const char msg_one_checksum[] =
    "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.";

/* Whether the request's x-amz-checksum-<algo> header is its body's. On
 * CompleteMultipartUpload it is the whole object's (of its parts' data,
 * combined as x-amz-checksum-type says), not the XML's: the store checks
 * it against the object, and s3warden passes it on as signed. */
static bool checksum_is_of_body(const struct px *px)
{
    return !px->authz.map.op || strcmp(px->authz.map.op->name, "CompleteMultipartUpload") != 0;
}

/* The request's x-amz-checksum-<algo> header: *algo NONE when it has none.
 * false after answering 400 when it has several, or one of another
 * algorithm than x-amz-sdk-checksum-algorithm names (S3's answer; the
 * store would record the object under a checksum it does not have). */
static bool header_checksum(struct px *px, enum sigv4_cksum_algo *algo, struct s3w_slice *value)
{
    const struct http_request *r = &px->c->req;
    *algo = SIGV4_CKSUM_NONE;
    *value = S3W_SLICE_NULL;
    struct s3w_slice sdk = S3W_SLICE_NULL;
    for (size_t i = 0; i < r->nheaders; i++) {
        enum sigv4_cksum_algo a = sigv4_cksum_algo_from_header(r->headers[i].name);
        if (a == SIGV4_CKSUM_NONE) {
            if (!sdk.ptr && s3w_slice_eq_nocase(r->headers[i].name, S3W_SLICE_LIT("x-amz-sdk-checksum-algorithm")))
                sdk = r->headers[i].value.ptr ? r->headers[i].value : S3W_SLICE_LIT(""); /* the first */
            continue;
        }
        if (*algo != SIGV4_CKSUM_NONE) {
            px_fail(px, 400, "InvalidRequest", msg_one_checksum);
            return false;
        }
        *algo = a;
        *value = r->headers[i].value.ptr ? r->headers[i].value : S3W_SLICE_LIT("");
    }
    if (*algo != SIGV4_CKSUM_NONE && sdk.ptr && checksum_is_of_body(px) &&
        sigv4_cksum_algo_from_name(s3w_slice_trim(sdk)) != *algo) {
        px_fail(px, 400, "InvalidRequest", "Value for x-amz-sdk-checksum-algorithm header is invalid.");
        return false;
    }
    return true;
}

/* Content-MD5, computed over the body as it is verified (plain or
 * decoded). false after answering. */
static bool md5_init(struct px *px)
{
    const struct s3w_header *md5 = px->hdr.content_md5;
    if (!md5)
        return true;
    if (px->hdr.ncontent_md5 > 1) {
        px_fail(px, 400, "InvalidDigest", "The Content-MD5 you specified was invalid.");
        return false;
    }
    px->body.md5 = EVP_MD_CTX_new();
    if (!px->body.md5 || EVP_DigestInit_ex(px->body.md5, sigv4_md_md5(), NULL) != 1) {
        px_fail_internal(px);
        return false;
    }
    px->body.md5_want = md5->value;
    return true;
}

/* Whole-body checksums of a plain body (BM_PLAIN, BM_SIGNED). S3 checks
 * x-amz-checksum-<algo> and Content-MD5 itself (User Guide, "Checking
 * object integrity"); many S3-compatible stores do not, so s3warden does
 * and holds the last byte back until they match (README.md, "Security invariants":
 * nothing the caller checksummed completes upstream altered). Returns
 * false after answering the error. */
bool px_checksums_init(struct px *px)
{
    enum sigv4_cksum_algo a;
    struct s3w_slice v;
    if (!header_checksum(px, &a, &v))
        return false;
    if (a != SIGV4_CKSUM_NONE && checksum_is_of_body(px)) {
        if (sigv4_cksum_init(&px->body.ck, a) != 0) {
            px_fail_internal(px);
            return false;
        }
        px->body.ck_want = v;
    }
    if (!md5_init(px))
        return false;
    if (px->body.ck_want.ptr || px->body.md5)
        px->body.verified = false;
    return true;
}

/* The whole body is in: false (and the error under way) on a mismatch. */
static bool px_checksums_match(struct px *px)
{
    if (px->body.ck_want.ptr) {
        const char *name = sigv4_cksum_algo_name(px->body.ck.algo);
        uint8_t d[SIGV4_CKSUM_MAX_DIGEST];
        int n = sigv4_cksum_final(&px->body.ck, d);
        if (n < 0 || !sigv4_cksum_b64_matches(px->body.ck_want, d, (size_t)n)) {
            char msg[128];
            snprintf(msg, sizeof(msg), "The %s you specified did not match the calculated checksum.",
                     name);
            body_fail(px, 400, "BadDigest", msg);
            return false;
        }
    }
    if (px->body.md5 && !md5_matches(px)) {
        body_fail(px, 400, "BadDigest", msg_md5_mismatch);
        return false;
    }
    return true;
}

/* The whole body at once: its x-amz-checksum- header and Content-MD5
 * against it. false after answering. */
static bool checksums_of(struct px *px, struct s3w_slice body)
{
    if (!px_checksums_init(px))
        return false;
    if ((px->body.ck_want.ptr && sigv4_cksum_update(&px->body.ck, body.ptr, body.len) != 0) ||
        (px->body.md5 && EVP_DigestUpdate(px->body.md5, body.ptr, body.len) != 1)) {
        px_fail_internal(px);
        return false;
    }
    if (!px_checksums_match(px))
        return false;
    px->body.verified = true;
    return true;
}

bool px_checksums_empty_ok(struct px *px)
{
    return checksums_of(px, S3W_SLICE_LIT(""));
}

bool px_collected_ok(struct px *px, struct s3w_slice body, uint8_t sha256[32])
{
    sigv4_sha256(body.ptr, body.len, sha256);
    return px_payload_hash_ok(px, sha256) && checksums_of(px, body);
}

void pl_on_body_end(struct proxy_conn *c)
{
    struct px *px = c->ex;
    if (!px || px->body.failed)
        return;
    if (px->post.po) {
        px_post_body_end(px);
        return;
    }
    px->body.done = true;
    if (px->body.bm == BM_COLLECT) {
        px->body.collected(px);
        return;
    }
    if (px->body.bm == BM_SIGNED) {
        uint8_t got[32];
        sigv4_sha256_end(&px->body.sha, got);
        if (!px_payload_hash_ok(px, got))
            return;
        px->body.verified = true;
    } else if (px->body.bm == BM_CHUNKED) {
        int rc = sigv4_chunked_finish(px->body.dec);
        if (rc != 0) {
            chunked_fail(px, "IncompleteBody");
            return;
        }
        px->body.verified = true;
    } else {
        px->body.verified = true;
    }
    if ((px->body.bm == BM_SIGNED || px->body.bm == BM_PLAIN) && !px_checksums_match(px))
        return; /* answered: px is gone */
    px_relay_body(px);
}

/* aws-chunked (BM_CHUNKED): the decoder that verifies the body chunk by
 * chunk before any of it goes on, and - unless upstream.decode_aws_chunked
 * - the re-framing under the proxy's own chunk signatures, in the same
 * streaming mode (px_upstream_encoder). Sets the signed payload value. */
bool px_chunked_init(struct px *px, struct s3w_slice *payload)
{
    const struct sigv4_result *sv = &px->auth.sv;
    enum sigv4_stream_mode sm = sigv4_stream_mode_from_value(hdr_value(px->hdr.content_sha256));
    if (sm == SIGV4_STREAM_NONE) {
        px_fail(px, 501, "NotImplemented", "This streaming payload mode is not supported by s3warden.");
        return false;
    }
    bool ecdsa = sigv4_stream_mode_ecdsa(sm);
    /* the P-256 key that just verified the request: the chunk chain is
     * verified with it, seeded by the request's signature as sent
     * (sigv4a.h, sigv4a_chain_ops) */
    if (ecdsa && sigv4a_key_cache_last_verified(plw(px->w)->v4a, sv->auth.access_key_id,
                                                &px->body.v4a_key) != 0) {
        px_fail_internal(px);
        return false;
    }
    struct sigv4_chunked_framing fr;
    int frc = sigv4_chunked_framing_parse(hdr_value(px->hdr.decoded_length),
                                          hdr_value(px->hdr.trailer), &fr);
    if (frc == SIGV4_FRAMING_E_NO_LENGTH) {
        px_fail(px, 411, "MissingContentLength",
                "You must provide the x-amz-decoded-content-length header with aws-chunked uploads.");
        return false;
    }
    if (frc != 0) {
        px_fail(px, 400, "InvalidArgument", "Invalid x-amz-decoded-content-length.");
        return false;
    }
    if (fr.decoded_length > PX_MAX_BODY) {
        px_fail(px, 400, "EntityTooLarge", s3err_default_message("EntityTooLarge"));
        return false;
    }
    /* A whole-body checksum sent as a header covers the decoded body: the
     * decoder checks it before the last piece goes (S3 checks it too, but
     * not every store does, and in STREAMING-UNSIGNED-PAYLOAD-TRAILER it is
     * the body's only protection). With a trailer checksum as well: two. */
    enum sigv4_cksum_algo hck;
    struct s3w_slice hck_b64;
    if (!header_checksum(px, &hck, &hck_b64))
        return false;
    if (!checksum_is_of_body(px))
        hck = SIGV4_CKSUM_NONE; /* passed on, not the decoded body's */
    if (hck != SIGV4_CKSUM_NONE && fr.ntrailers) {
        px_fail(px, 400, "InvalidRequest", msg_one_checksum);
        return false;
    }
    if (!md5_init(px))
        return false;
    struct sigv4_chunked_params cp = {
        .mode = sm,
        .amz_date = s3w_slice_cstr(sv->amz_date),
        .scope = s3w_slice(sv->scope, sv->scope_len),
        .seed_signature = ecdsa ? sv->auth.signature : s3w_slice(sv->seed_signature_hex, 64),
        .ops = ecdsa ? &sigv4a_chain_ops : &sigv4_chain_hmac_ops,
        .ops_ctx = ecdsa ? (void *)px->body.v4a_key : (void *)&px->body.chain,
        .decoded_length = fr.decoded_length,
        .declared_trailers = fr.trailer_names,
        .header_cksum_algo = hck,
        .header_cksum_b64 = hck_b64,
        .max_chunk = PX_CHUNK_MAX,
        .sink = chunk_sink,
        .sink_arg = px,
    };
    if (sigv4_stream_mode_signed(sm) && !ecdsa) {
        if (sigv4_chain_hmac_init(&px->body.chain, sv->signing_key) != 0) {
            px_fail_internal(px);
            return false;
        }
        px->body.chain_init = true;
    }
    if (sigv4_chunked_decoder_new(&px->body.dec, &cp) != 0) {
        px_fail(px, 400, "InvalidRequest", "Invalid aws-chunked request headers.");
        return false;
    }
    px->body.up_total = fr.decoded_length;
    *payload = S3W_SLICE_LIT("UNSIGNED-PAYLOAD");
    if (!px_upstream(px)->decode_aws_chunked && fr.sized) {
        /* pass-through: same streaming mode upstream, re-framed and
         * re-signed; the encoded length needs the trailers' sizes, which
         * the declared names fix (base64 of the digest). The upstream
         * request is SigV4 (HMAC) signed by the proxy: an ECDSA stream goes
         * up in the HMAC mode of the same shape. */
        enum sigv4_stream_mode um = sm == SIGV4_STREAM_ECDSA_PAYLOAD ? SIGV4_STREAM_HMAC_PAYLOAD
                                    : sm == SIGV4_STREAM_ECDSA_PAYLOAD_TRAILER
                                        ? SIGV4_STREAM_HMAC_PAYLOAD_TRAILER : sm;
        px->body.passthrough = true;
        px->body.smode = um;
        px->body.up_total = sigv4_chunked_encoded_length(um, fr.decoded_length, PX_RECHUNK, 64,
                                                         fr.trailers, fr.ntrailers);
        *payload = s3w_slice_cstr(sigv4_stream_mode_value(um));
    }
    return true;
}

/* The body-mode choice (pure; exchange.h). */
struct px_body_choice px_choose_body_mode(bool anonymous, enum sigv4_payload_mode pm,
                                          bool chunked, uint64_t content_length)
{
    struct px_body_choice ch = { .bm = BM_NONE };
    /* anonymous: an S3 request's mode is its x-amz-content-sha256 as for a
     * signed one (anonymous_payload); none set, an STS form's */
    bool plain = pm == SIGV4_PAYLOAD_UNSIGNED || (anonymous && pm == SIGV4_PAYLOAD_NONE);
    if (chunked && (plain || pm == SIGV4_PAYLOAD_SIGNED)) {
        /* HTTP chunked framing carries a length only for aws-chunked bodies
         * (x-amz-decoded-content-length, checked by the decoder); any other
         * body would go upstream with Content-Length 0 at once - an empty
         * object written before its hash was checked. S3 refuses HTTP
         * chunked framing without aws-chunked: 501 NotImplemented, naming
         * <Header>Transfer-Encoding</Header> (as quoted in many clients'
         * issues, from 2011 to 2026, e.g. Automattic/knox#43,
         * irods/irods_resource_plugin_s3#2301). */
        ch.status = 501;
        ch.code = "NotImplemented";
        ch.header = "Transfer-Encoding";
    } else if (content_length > PX_MAX_BODY) {
        ch.status = 400;
        ch.code = "EntityTooLarge";
    } else if (content_length == 0 && !chunked && !plain && pm != SIGV4_PAYLOAD_SIGNED) {
        /* an aws-chunked body is never empty (its final chunk and, when
         * signed, the final signature): with no bytes the decoder would not
         * run, and the store would get an empty object for the signed
         * x-amz-decoded-content-length (Content-Length is not signed) */
        ch.status = 400;
        ch.code = "IncompleteBody";
    } else if (content_length == 0 && !chunked) {
        ch.bm = BM_NONE;
    } else if (plain) {
        ch.bm = BM_PLAIN;
    } else if (pm == SIGV4_PAYLOAD_SIGNED) {
        ch.bm = BM_SIGNED;
    } else {
        ch.bm = BM_CHUNKED; /* aws-chunked: verified chunk by chunk */
    }
    return ch;
}

/* Pass-through aws-chunked: the encoder that re-frames the verified body
 * in PX_RECHUNK chunks under the proxy's own chunk signatures, seeded by
 * the upstream request's signature. 0 or -1. */
int px_body_reframe_init(struct px *px, const struct sigv4_signed *sd)
{
    struct sigv4_chunked_enc_params encp = {
        .mode = px->body.smode,
        .amz_date = s3w_slice_cstr(sd->amz_date),
        .scope = s3w_slice(sd->scope, sd->scope_len),
        .seed_signature = s3w_slice(sd->seed_signature_hex, 64),
        .ops = &sigv4_chain_hmac_ops,
        .ops_ctx = &px->body.up_chain,
    };
    int erc = 0;
    if (sigv4_stream_mode_signed(px->body.smode)) {
        erc = sigv4_chain_hmac_init(&px->body.up_chain, sd->signing_key);
        px->body.up_chain_init = erc == 0;
    }
    if (erc == 0)
        erc = sigv4_chunked_encoder_init(&px->body.enc, &encp);
    px->body.enc_init = erc == 0;
    /* fixed-size chunks, so the Content-Length is known up front; a client
     * chunk of exactly that size goes out with its verified SHA-256 reused
     * (chunked.h, buffered framing) */
    if (erc == 0)
        erc = sigv4_chunked_encoder_buffer(&px->body.enc, PX_RECHUNK);
    return erc == 0 ? 0 : -1;
}
