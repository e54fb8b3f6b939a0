/*
 * upstream_build.h - the upstream request as pure functions (private to
 * proxy/; see upstream_build.c): no I/O, no curl, testable without
 * sockets. The data plane's own HTTP/1.1 client will take the same result.
 */
#ifndef S3W_PROXY_UPSTREAM_BUILD_H
#define S3W_PROXY_UPSTREAM_BUILD_H

#include <stdbool.h>
#include <stddef.h>

#include "bytes.h"
#include "http.h"
#include "sigv4.h"

/* Case-insensitive header-name tests. ub_name_is takes a literal, whose
 * length is a constant (an inline function over a const char * still
 * called strlen per header: 455 instructions a GET in callgrind), so a
 * name of another length costs one compare. */
#define ub_name_is(n, lit) s3w_slice_eq_nocase((n), S3W_SLICE_LIT(lit))
bool ub_name_prefix(struct s3w_slice n, const char *pre);
/* A standard header S3 takes unsigned (README, "Security invariants"):
 * forwarded even when the caller did not sign it. */
bool ub_safe_unsigned(struct s3w_slice n);
/* Never forwarded: hop-by-hop, framing, the caller's own authentication. */
bool ub_never_forward(struct s3w_slice n);
/* Appends q without the presigned-URL parameters (and, with
 * drop_copy_source, without x-amz-copy-source) to out. 0 or an s3w_buf
 * error. */
int ub_filtered_query(struct s3w_slice q, bool drop_copy_source, struct s3w_buf *out);
/* A bucket name usable as DNS labels (virtual-hosted addressing). */
bool ub_dns_bucket(struct s3w_slice b);

/* ---- the request ------------------------------------------------------------
 * One upstream request, built in stages into storage of its own: every
 * slice in headers[] points into the caller's request head (which outlives
 * the request being sent) or into this struct's buffers, each complete
 * before anything borrows it. Init once, clean up once. */
#define UB_MAX_HEADERS (HTTP_MAX_HEADERS + 4)
#define UB_AUTHORITY_MAX 1024

struct ub_request {
    struct s3w_buf target;   /* path?query, as signed and sent */
    struct s3w_buf url;      /* scheme://authority + target, NUL-terminated */
    char authority[UB_AUTHORITY_MAX]; /* the Host header */
    size_t authority_len;
    /* the codings of a decoded aws-chunked body other than aws-chunked */
    struct s3w_buf content_encoding;
    struct s3w_buf copy_source; /* the rebuilt x-amz-copy-source */
    /* the headers to send, all of them signed, Host first */
    struct s3w_header headers[UB_MAX_HEADERS];
    size_t nheaders;
};

void ub_request_init(struct ub_request *u);
void ub_request_cleanup(struct ub_request *u);
/* Empty again for the next request, keeping the buffers' storage: the
 * bytes used are wiped first (a presigned target may have held a token). */
void ub_request_reset(struct ub_request *u);

/* Where the request goes. */
struct ub_target_in {
    const char *endpoint;     /* upstream.endpoint: "scheme://host[:port][/...]" */
    bool virtual_addressing;  /* upstream.addressing "virtual" */
    /* the bucket as the caller named it (empty: the service, GET /), and
     * as the upstream knows it (buckets[].upstream_name, or the same) */
    struct s3w_slice bucket, upstream_bucket;
    struct s3w_slice key;     /* decoded */
    struct s3w_slice query;   /* as sent, without '?'; empty: none */
    bool drop_copy_source;    /* x-amz-copy-source goes as a rebuilt header */
};

/* Fills target, authority and url. Virtual-hosted addressing puts the
 * bucket in the host when it is a DNS name (ub_dns_bucket), else the
 * request goes path-style, as the SDKs do. 0, or -1 when a cap is hit. */
int ub_build_target(struct ub_request *u, const struct ub_target_in *in);

/* Which of the caller's headers go upstream (README, "Security
 * invariants"): what the caller signed, the standard headers S3 takes
 * unsigned, and nothing the proxy replaces. */
struct ub_header_rules {
    bool anonymous;                 /* no signature: x-amz-* go as sent */
    const struct sigv4_result *sv;  /* the caller's verified signature */
    bool decoded;      /* an aws-chunked body goes decoded: its framing
                          headers and the aws-chunked coding are dropped */
    bool passthrough;  /* an aws-chunked body goes re-framed: its framing
                          headers, verified by the decoder, go too */
    bool copy;         /* x-amz-copy-source is rebuilt (ub_build_copy_source) */
    bool own_body;     /* the body is the proxy's (DeleteObjects rebuilt):
                          the caller's Content-MD5 and checksums are dropped */
    /* the operation's s3map_op.wire (op_known): what of an object's
     * headers, Range and the If-* conditions its input does not take is
     * not sent (s3ops.h, S3MAP_W_OBJECT_HEADERS, _RANGE, _CONDITIONS) */
    bool op_known;
    uint8_t op_wire;
};

enum ub_verdict {
    UB_DROP = 0,
    UB_FORWARD,           /* sent and signed as it came */
    UB_CONTENT_ENCODING,  /* decoded: sent without the aws-chunked coding */
};

enum ub_verdict ub_header_verdict(const struct ub_header_rules *r, struct s3w_slice name);
/* Whether an x-amz-server-side-encryption value names SSE-KMS (aws:kms,
 * aws:kms:dsse; in any case, as a store may read it so). */
bool ub_is_sse_kms(struct s3w_slice value);
/* Whether headers ask for SSE-KMS: such an x-amz-server-side-encryption,
 * or a KMS key id or encryption context (exchange.h's PX_MSG_KMS_ANONYMOUS). */
bool ub_asks_for_sse_kms(const struct s3w_header *h, size_t n);

/* Appends the codings of a Content-Encoding value other than aws-chunked,
 * comma-separated after what `out` holds (RFC 9110 8.4: in the order they
 * were applied). 0 or an s3w_buf error. */
int ub_strip_aws_chunked(struct s3w_slice value, struct s3w_buf *out);

/* Adds Host (the authority) and the caller's headers by the rules, then
 * Content-Encoding (when a decoded body kept other codings) and
 * content_md5 (ptr NULL: none). Call after ub_build_target. 0 or -1. */
int ub_build_headers(struct ub_request *u, const struct ub_header_rules *r,
                     const struct s3w_header *in, size_t n, struct s3w_slice content_md5);

/* x-amz-copy-source as the upstream knows it: "/BUCKET/KEY[?versionId=V]"
 * with the source bucket's upstream name, each part URI-encoded (S3 API
 * reference, CopyObject), from the source that was authorized. Added to
 * the headers. 0 or -1. */
int ub_build_copy_source(struct ub_request *u, struct s3w_slice upstream_bucket,
                         struct s3w_slice key, struct s3w_slice version_id);

/* Signs the request with the proxy's credentials (SigV4, service s3); the
 * Authorization, x-amz-date, x-amz-content-sha256 and token values are in
 * *sd (sigv4_signed_cleanup). cache and scratch are optional
 * (sigv4_sign_params). 0 or -1. */
int ub_sign(const struct ub_request *u, struct s3w_slice method, const struct sigv4_credentials *cr,
            struct s3w_slice region, int64_t now, struct s3w_slice payload,
            struct sigv4_keycache *cache, struct s3w_buf *scratch, struct sigv4_signed *sd);

#endif
