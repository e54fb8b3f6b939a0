/* authenticate.c - stage 2's signature check (pipeline.c, stage_authenticate):
 * the caller's secret looked up, SigV4/SigV4a verified (sigv4/), and a
 * mismatch answered with S3's error and its details. */
#include "exchange.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "log.h"
#include "s3err.h"
#include "sts.h"

static enum sigv4_lookup_status lookup_secret(void *ud, struct s3w_slice akid,
                                              struct s3w_slice token,
                                              char *secret_out, size_t *secret_len)
{
    struct px *px = ud;
    if (px->auth.id_set)
        config_identity_cleanup(&px->auth.id);
    int rc = config_resolve(px->cfg, akid, token, px->now, &px->auth.id,
                            (uint8_t *)secret_out, SIGV4_MAX_SECRET, secret_len);
    switch (rc) {
    case CONFIG_AUTH_OK:
        px->auth.id_set = true;
        return SIGV4_LOOKUP_OK;
    case CONFIG_AUTH_UNKNOWN_KEY: return SIGV4_LOOKUP_UNKNOWN_KEY;
    case CONFIG_AUTH_INVALID_TOKEN: return SIGV4_LOOKUP_INVALID_TOKEN;
    case CONFIG_AUTH_EXPIRED_TOKEN: return SIGV4_LOOKUP_EXPIRED_TOKEN;
    case CONFIG_AUTH_MISSING_TOKEN: return SIGV4_LOOKUP_UNKNOWN_KEY;
    default: return SIGV4_LOOKUP_ERROR;
    }
}

/* GET /bucket?location: GetBucketLocation, before s3map has mapped it. */
static bool location_request(const struct px *px)
{
    const struct http_request *r = &px->c->req;
    return s3w_slice_eq_cstr(r->method, "GET") && px->route.bucket.len && px->route.key_len == 0 &&
           (s3w_slice_eq_cstr(r->query, "location") || s3w_slice_eq_cstr(r->query, "location="));
}

/* s's bytes as S3 shows them in an error's *Bytes elements: two lower-case
 * hex digits each, a space between ("41 57 53 34"). */
static int hex_bytes(struct s3w_buf *out, struct s3w_slice s)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        char t[3] = { ' ', hex[c >> 4], hex[c & 15] };
        if (s3w_buf_append(out, i ? t : t + 1, i ? 3 : 2))
            return -1;
    }
    return 0;
}

size_t px_sig_details(const struct sigv4_error *err, const struct s3w_buf *mm,
                      struct px_sig_room *room, struct s3w_buf *bytes, struct s3err_detail *d)
{
    size_t n = 0;
    char *server_time = room->server_time, *max_ms = room->max_ms;
    if (err->code == SIGV4_ERR_UNSIGNED_HEADERS && err->headers_not_signed[0]) {
        d[n++] = (struct s3err_detail){ .name = "HeadersNotSigned",
                                        .value = s3w_slice_cstr(err->headers_not_signed) };
    } else if (err->code == SIGV4_ERR_INVALID_ACCESS_KEY_ID && err->access_key_id[0]) {
        d[n++] = (struct s3err_detail){ .name = "AWSAccessKeyId", .value = s3w_slice_cstr(err->access_key_id) };
    } else if (err->region[0]) {
        /* and as a header, which botocore reads for a HEAD (no body) */
        d[n++] = (struct s3err_detail){ .name = "Region", .value = s3w_slice_cstr(err->region),
                                        .header = "x-amz-bucket-region" };
    } else if (err->code == SIGV4_ERR_TIME_SKEWED && err->skew.request_time[0] &&
               s3w_iso8601_format(err->skew.server_time, server_time)) {
        snprintf(max_ms, sizeof(room->max_ms), "%lld", (long long)err->skew.max_skew_s * 1000);
        d[n++] = (struct s3err_detail){ .name = "RequestTime", .value = s3w_slice_cstr(err->skew.request_time) };
        d[n++] = (struct s3err_detail){ .name = "ServerTime", .value = s3w_slice_cstr(server_time) };
        d[n++] = (struct s3err_detail){ .name = "MaxAllowedSkewMilliseconds",
                                        .value = s3w_slice_cstr(max_ms) };
    } else if (err->code == SIGV4_ERR_EXPIRED && err->expired.expires_s > 0 &&
               s3w_iso8601_format(err->expired.expires_at, room->expires) &&
               s3w_iso8601_format(err->expired.server_time, server_time)) {
        /* S3's, as clients quote it: <X-Amz-Expires>60</X-Amz-Expires>
         * <Expires>2018-03-29T11:17:34Z</Expires><ServerTime>... */
        snprintf(room->expires_s, sizeof(room->expires_s), "%lld", (long long)err->expired.expires_s);
        d[n++] = (struct s3err_detail){ .name = "X-Amz-Expires", .value = s3w_slice_cstr(room->expires_s) };
        d[n++] = (struct s3err_detail){ .name = "Expires", .value = s3w_slice_cstr(room->expires) };
        d[n++] = (struct s3err_detail){ .name = "ServerTime", .value = s3w_slice_cstr(server_time) };
    } else if (err->code == SIGV4_ERR_SIGNATURE_MISMATCH && err->mismatch.string_to_sign && mm->ptr) {
        const char *p = mm->ptr;
        struct s3w_slice akid = s3w_slice(p, err->mismatch.access_key_id);
        struct s3w_slice sig = s3w_slice(akid.ptr + akid.len, err->mismatch.signature);
        struct s3w_slice sts = s3w_slice(sig.ptr + sig.len, err->mismatch.string_to_sign);
        struct s3w_slice creq = s3w_slice(sts.ptr + sts.len, err->mismatch.canonical_request);
        if (hex_bytes(bytes, sts) == 0) {
            size_t sts_hex = bytes->len;
            if (hex_bytes(bytes, creq) == 0) {
                d[n++] = (struct s3err_detail){ .name = "AWSAccessKeyId", .value = akid };
                d[n++] = (struct s3err_detail){ .name = "StringToSign", .value = sts };
                d[n++] = (struct s3err_detail){ .name = "SignatureProvided", .value = sig };
                d[n++] = (struct s3err_detail){ .name = "StringToSignBytes",
                                                .value = s3w_slice(bytes->ptr, sts_hex) };
                d[n++] = (struct s3err_detail){ .name = "CanonicalRequest", .value = creq };
                d[n++] = (struct s3err_detail){ .name = "CanonicalRequestBytes",
                                                .value = s3w_slice(bytes->ptr + sts_hex,
                                                                   bytes->len - sts_hex) };
            }
        }
    }
    return n;
}

/* The signature check's error as S3 gives it, with px_sig_details' elements
 * after the message. The canonical request can hold the caller's signed
 * session token, echoed to the caller as S3 does; the copies made here are
 * wiped (s3w_buf_cleanup), and so is a copy queued for a client that does
 * not take the answer at once (proxy_conn_respond). */
static void px_fail_sig(struct px *px, const struct sigv4_error *err, const struct s3w_buf *mm,
                        int status, const char *code)
{
    struct s3err_detail d[PX_SIG_DETAILS];
    struct px_sig_room room;
    struct s3w_buf bytes; /* both *Bytes forms: 3 bytes for each of mm's */
    s3w_buf_init(&bytes, 3 * mm->len);
    size_t n = px_sig_details(err, mm, &room, &bytes, d);
    px_fail_details(px, err->http_status ? err->http_status : status, err->s3_code ? err->s3_code : code,
                    err->message, d, n);
    s3w_buf_cleanup(&bytes);
}

/* A raw "+" in a signed request's query: SigV4 signers (curl among them)
 * sign it as a plus (%2B), S3 - and the operation mapping, which reads the
 * query as S3 does - as a space. Taken either way, the signature would not
 * pin down what the request means (a "prefix=a%2Bb" signed and sent as
 * "prefix=a+b" lists "a b"). Refused: %2B or %20 say which. */
static bool query_has_raw_plus(struct s3w_slice target)
{
    const char *q = memchr(target.ptr, '?', target.len);
    return q && memchr(q, '+', target.len - (size_t)(q - target.ptr));
}

/* An anonymous S3 request's x-amz-content-sha256, taken as S3 takes a
 * signed request's: the bucket policy may decide on it
 * (s3:x-amz-content-sha256, e.g. a Deny of UNSIGNED-PAYLOAD), so the body
 * must be what it says (probe 19 F1: a SHA-256 that nothing checked let a
 * policy that demands one pass any body, and the upstream got
 * UNSIGNED-PAYLOAD). A SHA-256 is checked against the body as for a
 * signed request; STREAMING-UNSIGNED-PAYLOAD-TRAILER is decoded and its
 * trailer checksum checked (F2: the aws-chunked framing went up as the
 * object's bytes); none is UNSIGNED-PAYLOAD. A streaming mode with chunk
 * signatures needs the request's signature to chain from: refused, as is
 * a value S3 does not know or two of them. */
static bool anonymous_payload(struct px *px)
{
    struct sigv4_result *sv = &px->auth.sv;
    const struct http_request *r = &px->c->req;
    size_t n = 0;
    for (size_t i = 0; i < r->nheaders; i++)
        n += s3w_slice_eq_nocase(r->headers[i].name, S3W_SLICE_LIT("x-amz-content-sha256"));
    if (n == 0) {
        sv->payload_mode = SIGV4_PAYLOAD_UNSIGNED;
        return true;
    }
    enum sigv4_payload_mode m =
        n == 1 ? sigv4_payload_mode_parse(s3w_slice_trim(px->hdr.content_sha256->value),
                                          sv->payload_sha256)
               : SIGV4_PAYLOAD_NONE;
    if (m == SIGV4_PAYLOAD_SIGNED || m == SIGV4_PAYLOAD_UNSIGNED ||
        m == SIGV4_PAYLOAD_STREAMING_UNSIGNED_TRAILER) {
        sv->payload_mode = m;
        sv->has_payload_sha256 = m == SIGV4_PAYLOAD_SIGNED;
        return true;
    }
    if (m == SIGV4_PAYLOAD_NONE) {
        px_fail(px, 400, "InvalidRequest", SIGV4_BAD_PAYLOAD_MSG);
        return false;
    }
    char msg[128];
    snprintf(msg, sizeof msg, "The payload mode %s cannot be used with this signature.",
             sigv4_payload_mode_name(m));
    px_fail(px, 400, "InvalidRequest", msg);
    return false;
}

bool px_verify(struct px *px, struct s3w_slice service, const uint8_t *body_sha)
{
    /* GetBucketLocation signed for us-east-1 is taken too, as S3's global
     * endpoint takes it for a bucket in any region: a client asks before it
     * knows the region to sign for (minio-go, and so restic, signs this one
     * request for us-east-1 and then signs for the answer, which is ours:
     * px_finish_bucket_location). Any other request must name our region. */
    struct s3w_slice regions[2] = { s3w_slice_cstr(px->cfg->upstream->region),
                                    S3W_SLICE_LIT("us-east-1") };
    struct s3w_slice region = regions[0];
    struct sigv4_verify_opts o = {
        .regions = regions,
        .n_regions = 1,
        .service = service,
        .uri_mode = sigv4_uri_mode_for_service(service),
        .body_sha256 = body_sha,
        .lookup = lookup_secret,
        .lookup_ud = px,
        .cache = &plw(px->w)->kc,
        .v4a = { sigv4a_hook_verify, plw(px->w)->v4a },
        .parsed_auth = px->auth.parsed, /* px_stage_sts read it already */
        .scratch = &plw(px->w)->canon,
    };
    bool sts = !s3w_slice_eq_cstr(service, "s3");
    if (sts) {
        /* STS: s3warden's region, or us-east-1 as the global endpoint
         * takes (any other: px_sts_fail_region) */
        o.n_regions = 2;
        o.max_presign_life_s = 900; /* STS's presigned URLs: 15 minutes */
    } else if (location_request(px)) {
        o.n_regions = 2;
    }
    /* allocated only for a signature that does not match: an access key id,
     * a signature, the string to sign and the canonical request (at most
     * SIGV4_MAX_CANONICAL; what does not fit is not shown) */
    struct s3w_buf mismatch;
    s3w_buf_init(&mismatch, 2 * SIGV4_MAX_CANONICAL);
    o.mismatch = &mismatch;
    struct sigv4_error err;
    sigv4_error_reset(&err);
    if (sigv4_verify(&px->auth.sreq, px->now, &o, &px->auth.sv, &err) != 0) {
        if (err.code == SIGV4_ERR_ANONYMOUS) {
            px->auth.anonymous = true;
            return sts || anonymous_payload(px);
        }
        px->auth.sig_failed = true;
        if (sts && err.code == SIGV4_ERR_TIME_SKEWED)
            px_sts_fail_skew(px, &err.skew.request_time[0], err.skew.server_time, err.skew.max_skew_s);
        else if (sts && err.region[0] && px->auth.parsed)
            px_sts_fail_region(px, px->auth.parsed->region);
        else
            px_fail_sig(px, &err, &mismatch, 403, "AccessDenied");
        s3w_buf_cleanup(&mismatch); /* wiped */
        return false;
    }
    /* SigV4a: the scope names no region; the signed region set must
     * include ours (sigv4a.h). A no-op for SigV4, whose scope region
     * sigv4_verify checked (for STS too, since STS's calls are
     * region-bound as on AWS). */
    if (o.n_regions && sigv4a_check_region(&px->auth.sv, region, &err) != 0) {
        px->auth.sig_failed = true;
        px_fail_sig(px, &err, &mismatch, 400, "AuthorizationHeaderMalformed");
        return false;
    }
    /* signed (an anonymous request's "+" is read as S3 reads it) */
    if (query_has_raw_plus(px->auth.sreq.target)) {
        px_fail(px, 400, "InvalidArgument",
                "A signed request's query string may not hold a raw '+': encode a plus as %2B "
                "and a space as %20.");
        return false;
    }
    return true;
}
