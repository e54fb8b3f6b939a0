/* test_upstream_build.c - the upstream request built without sockets
 * (upstream_build.h) and the body-mode choice (exchange.h):
 *  - the target: path-style with the bucket's upstream name, virtual-hosted
 *    for DNS names only, keys percent-encoded with "." / ".." segments as
 *    %2E, the service root;
 *  - the query without the caller's presigned parameters, and without
 *    x-amz-copy-source (however its name is encoded) when rebuilt;
 *  - which of the caller's headers are forwarded (and signed) or dropped;
 *  - Content-Encoding without aws-chunked, over several headers;
 *  - x-amz-copy-source rebuilt from the authorized source;
 *  - the proxy's signature over exactly the built headers;
 *  - px_choose_body_mode's table, anonymous requests' modes included;
 *  - what asks for SSE-KMS. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "exchange.h"
#include "s3ops.h"
#include "upstream_build.h"

static struct ub_request u;

static int setup(void **state)
{
    (void)state;
    ub_request_init(&u);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ub_request_cleanup(&u);
    return 0;
}

#define SL(s) s3w_slice_cstr(s)

static void assert_slice(struct s3w_slice got, const char *want)
{
    char buf[2048];
    snprintf(buf, sizeof(buf), "%.*s", (int)got.len, got.ptr ? got.ptr : "");
    assert_string_equal(buf, want);
}

static void target(const char *endpoint, bool virt, const char *bucket, const char *upname,
                   const char *key, const char *query, bool drop_copy)
{
    struct ub_target_in in = {
        .endpoint = endpoint,
        .virtual_addressing = virt,
        .bucket = SL(bucket),
        .upstream_bucket = SL(upname),
        .key = SL(key),
        .query = query ? SL(query) : S3W_SLICE_NULL,
        .drop_copy_source = drop_copy,
    };
    assert_int_equal(ub_build_target(&u, &in), 0);
}

static void test_target_path_style(void **state)
{
    (void)state;
    target("http://127.0.0.1:9000", false, "bkt", "real-bkt", "a b/c+d", NULL, false);
    assert_slice(s3w_buf_slice(&u.target), "/real-bkt/a%20b/c%2Bd");
    assert_slice(s3w_slice(u.authority, u.authority_len), "127.0.0.1:9000");
    assert_string_equal(u.url.ptr, "http://127.0.0.1:9000/real-bkt/a%20b/c%2Bd");
}

/* README, "Security invariants": keys cannot be reinterpreted by a later hop */
static void test_target_dot_segments(void **state)
{
    (void)state;
    target("https://s3.example.com/", false, "bkt", "bkt", "a/../b/./c/..d", NULL, false);
    assert_slice(s3w_buf_slice(&u.target), "/bkt/a/%2E%2E/b/%2E/c/..d");
    assert_string_equal(u.url.ptr, "https://s3.example.com/bkt/a/%2E%2E/b/%2E/c/..d");
}

static void test_target_virtual_hosted(void **state)
{
    (void)state;
    target("https://s3.example.com:8443", true, "bkt", "real-bkt", "k/x", "acl", false);
    assert_slice(s3w_buf_slice(&u.target), "/k/x?acl");
    assert_slice(s3w_slice(u.authority, u.authority_len), "real-bkt.s3.example.com:8443");
    assert_string_equal(u.url.ptr, "https://real-bkt.s3.example.com:8443/k/x?acl");
}

/* not a DNS name: path-style even under "virtual", as the SDKs do */
static void test_target_virtual_non_dns(void **state)
{
    (void)state;
    target("https://s3.example.com", true, "bkt", "Real_Bkt", "k", NULL, false);
    assert_slice(s3w_buf_slice(&u.target), "/Real_Bkt/k");
    assert_slice(s3w_slice(u.authority, u.authority_len), "s3.example.com");
}

static void test_target_service_root(void **state)
{
    (void)state;
    target("http://up:1", false, "", "", "", NULL, false);
    assert_slice(s3w_buf_slice(&u.target), "/");
    assert_string_equal(u.url.ptr, "http://up:1/");
}

static void test_query_filtered(void **state)
{
    (void)state;
    target("http://up:1", false, "b", "b", "k", "X-Amz-Algorithm=AWS4-HMAC-SHA256&versionId=3&"
           "X-Amz-Credential=AKIA%2F20260101&x-amz-signature=ab&X-Amz-Security-Token=t&"
           "x%2Damz-copy-source=%2Fsrc%2Fk&x-id=PutObject", true);
    assert_slice(s3w_buf_slice(&u.target), "/b/k?versionId=3&x-id=PutObject");
    struct s3w_buf q;
    s3w_buf_init(&q, 1024);
    assert_int_equal(ub_filtered_query(SL("x-amz-copy-source=%2Fs%2Fk&tagging"), false, &q), 0);
    assert_slice(s3w_buf_slice(&q), "x-amz-copy-source=%2Fs%2Fk&tagging");
    s3w_buf_reset(&q);
    assert_int_equal(ub_filtered_query(SL("X-Amz-Date=1&X-Amz-Expires=60&X-Amz-SignedHeaders=host"
                                          "&X-Amz-Region-Set=*"), false, &q), 0);
    assert_int_equal(q.len, 0);
    /* the verifier reads the names decoded: so does the filter (a probe's
     * X%2DAmz-Date, X-Amz-Expire%73 and X-Amz-Signatur%65 went upstream
     * beside the proxy's own Authorization header) */
    s3w_buf_reset(&q);
    assert_int_equal(ub_filtered_query(SL("X%2DAmz-Date=1&X-Amz-Expire%73=60&versionId=2&"
                                          "X-Amz-Signatur%65=ab&X-Amz-Security-Toke%6E=t&"
                                          "%58-Amz-Credential=A"), false, &q), 0);
    assert_slice(s3w_buf_slice(&q), "versionId=2");
    /* a raw "+" (an anonymous request's: a space, as S3 reads it) goes as
     * %20, which the proxy's signature and S3 read alike */
    s3w_buf_reset(&q);
    assert_int_equal(ub_filtered_query(SL("prefix=a+b+&list-type=2&+x=%2B"), false, &q), 0);
    assert_slice(s3w_buf_slice(&q), "prefix=a%20b%20&list-type=2&%20x=%2B");
    s3w_buf_cleanup(&q);
}

static const struct s3w_header hdrs[] = {
    { S3W_SLICE_LIT("Host"), S3W_SLICE_LIT("proxy:7070") },
    { S3W_SLICE_LIT("Authorization"), S3W_SLICE_LIT("AWS4-HMAC-SHA256 Credential=...") },
    { S3W_SLICE_LIT("X-Amz-Date"), S3W_SLICE_LIT("20260101T000000Z") },
    { S3W_SLICE_LIT("x-amz-content-sha256"), S3W_SLICE_LIT("UNSIGNED-PAYLOAD") },
    { S3W_SLICE_LIT("Connection"), S3W_SLICE_LIT("keep-alive") },
    { S3W_SLICE_LIT("Content-Length"), S3W_SLICE_LIT("5") },
    { S3W_SLICE_LIT("x-amz-meta-signed"), S3W_SLICE_LIT("yes") },
    { S3W_SLICE_LIT("x-amz-meta-unsigned"), S3W_SLICE_LIT("smuggled") },
    { S3W_SLICE_LIT("Content-Type"), S3W_SLICE_LIT("text/plain") },
    { S3W_SLICE_LIT("If-Match"), S3W_SLICE_LIT("\"e\"") },
    { S3W_SLICE_LIT("X-Custom"), S3W_SLICE_LIT("dropped") },
    { S3W_SLICE_LIT("Content-MD5"), S3W_SLICE_LIT("XUFAKrxLKna5cZ2REBfFkg==") },
    { S3W_SLICE_LIT("x-amz-checksum-crc32"), S3W_SLICE_LIT("NhCmhg==") },
    { S3W_SLICE_LIT("x-amz-copy-source"), S3W_SLICE_LIT("/src/k") },
    { S3W_SLICE_LIT("x-amz-decoded-content-length"), S3W_SLICE_LIT("5") },
    { S3W_SLICE_LIT("x-amz-trailer"), S3W_SLICE_LIT("x-amz-checksum-crc32") },
    { S3W_SLICE_LIT("Content-Encoding"), S3W_SLICE_LIT("gzip, aws-chunked") },
    { S3W_SLICE_LIT("content-encoding"), S3W_SLICE_LIT("aws-chunked,br") },
};
#define NHDRS (sizeof(hdrs) / sizeof(hdrs[0]))

static struct sigv4_result signed_by(const char *names)
{
    struct sigv4_result sv;
    memset(&sv, 0, sizeof(sv));
    sv.signed_headers = SL(names);
    return sv;
}

/* The built headers as "name: value\n" lines. */
static const char *built(void)
{
    static char out[4096];
    size_t o = 0;
    for (size_t i = 0; i < u.nheaders; i++)
        o += (size_t)snprintf(out + o, sizeof(out) - o, "%.*s: %.*s\n", (int)u.headers[i].name.len,
                              u.headers[i].name.ptr, (int)u.headers[i].value.len,
                              u.headers[i].value.ptr);
    out[o] = 0;
    return out;
}

static void test_headers_signed_caller(void **state)
{
    (void)state;
    target("http://up:1", false, "b", "b", "k", NULL, false);
    struct sigv4_result sv = signed_by("host;x-amz-content-sha256;x-amz-date;x-amz-meta-signed;"
                                       "x-custom;x-amz-decoded-content-length");
    struct ub_header_rules r = { .sv = &sv };
    assert_int_equal(ub_build_headers(&u, &r, hdrs, NHDRS, S3W_SLICE_NULL), 0);
    /* the caller's auth, hop-by-hop and framing go; unsigned x-amz-* go;
     * signed and standard unsigned headers stay, Host is the upstream's */
    assert_string_equal(built(), "Host: up:1\n"
                                 "x-amz-meta-signed: yes\n"
                                 "Content-Type: text/plain\n"
                                 "If-Match: \"e\"\n"
                                 "X-Custom: dropped\n"
                                 "Content-MD5: XUFAKrxLKna5cZ2REBfFkg==\n"
                                 "x-amz-decoded-content-length: 5\n"
                                 "Content-Encoding: gzip, aws-chunked\n"
                                 "content-encoding: aws-chunked,br\n");
    assert_int_equal(ub_header_verdict(&r, SL("x-amz-meta-unsigned")), UB_DROP);
    assert_int_equal(ub_header_verdict(&r, SL("X-AMZ-META-SIGNED")), UB_FORWARD);
    assert_int_equal(ub_header_verdict(&r, SL("x-amz-region-set")), UB_DROP);
    assert_int_equal(ub_header_verdict(&r, SL("proxy-authorization")), UB_DROP);
}

/* What the operation's input does not take is not sent (probe 26: moto ran
 * a RenameObject as a PutObject with the caller's x-amz-meta-* and
 * Content-Type, a ?retention with Range as a ranged read of the object,
 * and answered its If-Modified-Since with a 304 naming the object's ETag);
 * what it takes is, as before; without an operation, all of it. */
static void test_headers_the_operation_takes(void **state)
{
    (void)state;
    struct sigv4_result sv = signed_by("host;x-amz-date;content-type;x-amz-meta-a;"
                                       "x-amz-server-side-encryption-bucket-key-enabled");
    static const char *const object_hdrs[] = {
        "Content-Type", "content-disposition", "Content-Language", "Cache-Control", "Expires",
        "x-amz-meta-a", "X-Amz-Server-Side-Encryption-Bucket-Key-Enabled",
    };
    static const char *const conditions[] = { "If-Match", "if-none-match", "If-Modified-Since",
                                              "If-Unmodified-Since" };
    static const struct {
        const char *op;
        bool object, range, cond;
    } c[] = {
        { "RenameObject", false, false, true },  { "GetObjectRetention", false, false, false },
        { "GetObject", false, true, true },      { "PutObject", true, false, true },
        { "CreateMultipartUpload", true, false, false }, { "DeleteObjects", false, false, false },
        { "UploadPart", false, false, false },
    };
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        const struct s3map_op *op = s3map_op_by_name(s3w_slice_cstr(c[i].op));
        assert_non_null(op);
        struct ub_header_rules r = { .sv = &sv, .op_known = true, .op_wire = op->wire };
        for (size_t k = 0; k < sizeof(object_hdrs) / sizeof(object_hdrs[0]); k++)
            if (ub_header_verdict(&r, s3w_slice_cstr(object_hdrs[k])) !=
                (c[i].object ? UB_FORWARD : UB_DROP))
                fail_msg("%s: %s", c[i].op, object_hdrs[k]);
        if (ub_header_verdict(&r, SL("Range")) != (c[i].range ? UB_FORWARD : UB_DROP))
            fail_msg("%s: Range", c[i].op);
        for (size_t k = 0; k < 4; k++)
            if (ub_header_verdict(&r, s3w_slice_cstr(conditions[k])) !=
                (c[i].cond ? UB_FORWARD : UB_DROP))
                fail_msg("%s: %s", c[i].op, conditions[k]);
        /* what no operation's input is about goes as before */
        assert_int_equal(ub_header_verdict(&r, SL("Content-MD5")), UB_FORWARD);
    }
    struct ub_header_rules none = { .sv = &sv };
    assert_int_equal(ub_header_verdict(&none, SL("Content-Type")), UB_FORWARD);
    assert_int_equal(ub_header_verdict(&none, SL("Range")), UB_FORWARD);
}

/* decode_aws_chunked: the framing headers go, the aws-chunked coding is
 * taken out of every Content-Encoding (one field, codings in order); the
 * copy source is rebuilt; a rebuilt body drops the caller's checksums */
static void test_headers_decoded_copy_own_body(void **state)
{
    (void)state;
    target("http://up:1", false, "b", "b", "k", NULL, true);
    struct sigv4_result sv = signed_by("host;x-amz-copy-source;x-amz-checksum-crc32;x-amz-trailer;"
                                       "x-amz-decoded-content-length");
    struct ub_header_rules r = { .sv = &sv, .decoded = true, .copy = true, .own_body = true };
    assert_int_equal(ub_build_headers(&u, &r, hdrs, NHDRS, SL("bXlNRDU=")), 0);
    assert_int_equal(ub_build_copy_source(&u, SL("real-src"), SL("dir/../a b"), SL("v 1")), 0);
    assert_string_equal(built(), "Host: up:1\n"
                                 "Content-Type: text/plain\n"
                                 "If-Match: \"e\"\n"
                                 "Content-Encoding: gzip,br\n"
                                 "Content-MD5: bXlNRDU=\n"
                                 "x-amz-copy-source: /real-src/dir/%2E%2E/a%20b?versionId=v%201\n");
}

/* pass-through: the framing headers the decoder verified go on, signed;
 * anonymous: x-amz-* go as sent (the policy was evaluated on them), but
 * for the framing ones */
static void test_headers_passthrough_anonymous(void **state)
{
    (void)state;
    struct sigv4_result sv = signed_by("host");
    struct ub_header_rules pt = { .sv = &sv, .passthrough = true };
    assert_int_equal(ub_header_verdict(&pt, SL("x-amz-trailer")), UB_FORWARD);
    assert_int_equal(ub_header_verdict(&pt, SL("x-amz-decoded-content-length")), UB_FORWARD);
    assert_int_equal(ub_header_verdict(&pt, SL("content-encoding")), UB_FORWARD);
    struct ub_header_rules an = { .anonymous = true };
    assert_int_equal(ub_header_verdict(&an, SL("x-amz-server-side-encryption")), UB_FORWARD);
    assert_int_equal(ub_header_verdict(&an, SL("x-amz-security-token")), UB_DROP);
    assert_int_equal(ub_header_verdict(&an, SL("x-custom")), UB_DROP);
    /* but not the aws-chunked framing, unless a decoded body's pass-through
     * carries it (probe 19: a false decoded length went up signed) */
    assert_int_equal(ub_header_verdict(&an, SL("x-amz-decoded-content-length")), UB_DROP);
    assert_int_equal(ub_header_verdict(&an, SL("X-Amz-Trailer")), UB_DROP);
    struct ub_header_rules anpt = { .anonymous = true, .passthrough = true };
    assert_int_equal(ub_header_verdict(&anpt, SL("x-amz-decoded-content-length")), UB_FORWARD);
}

static void test_strip_aws_chunked(void **state)
{
    (void)state;
    struct s3w_buf b;
    s3w_buf_init(&b, 256);
    assert_int_equal(ub_strip_aws_chunked(SL("aws-chunked"), &b), 0);
    assert_int_equal(b.len, 0);
    assert_int_equal(ub_strip_aws_chunked(SL(" gzip ,\tAWS-CHUNKED , ,deflate"), &b), 0);
    assert_int_equal(ub_strip_aws_chunked(SL("br"), &b), 0);
    assert_slice(s3w_buf_slice(&b), "gzip,deflate,br");
    s3w_buf_cleanup(&b);
}

/* The signature covers exactly the built headers: the same request signed
 * by sigv4_sign_headers directly gives the same Authorization. */
static void test_sign(void **state)
{
    (void)state;
    target("http://up:1", false, "b", "b", "k", "acl", false);
    struct sigv4_result sv = signed_by("host;content-type");
    struct ub_header_rules r = { .sv = &sv };
    assert_int_equal(ub_build_headers(&u, &r, hdrs, NHDRS, S3W_SLICE_NULL), 0);
    struct sigv4_credentials cr = { .access_key_id = SL("AKIDEXAMPLE"),
                                    .secret = SL("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY") };
    struct sigv4_signed sd, want;
    assert_int_equal(ub_sign(&u, SL("GET"), &cr, SL("us-east-1"), 1767225600,
                             SL("UNSIGNED-PAYLOAD"), NULL, NULL, &sd), 0);
    struct s3w_header h[] = { { SL("Host"), SL("up:1") }, { SL("Content-Type"), SL("text/plain") },
                              { SL("If-Match"), SL("\"e\"") },
                              { SL("Content-MD5"), SL("XUFAKrxLKna5cZ2REBfFkg==") },
                              { SL("Content-Encoding"), SL("gzip, aws-chunked") },
                              { SL("content-encoding"), SL("aws-chunked,br") } };
    struct sigv4_sign_params sp = { .method = SL("GET"), .target = SL("/b/k?acl"), .headers = h,
                                    .n_headers = 6, .region = SL("us-east-1"), .service = SL("s3"),
                                    .uri_mode = SIGV4_URI_S3, .now = 1767225600,
                                    .payload = SL("UNSIGNED-PAYLOAD") };
    struct sigv4_error err;
    memset(&want, 0, sizeof(want));
    assert_int_equal(sigv4_sign_headers(&sp, &cr, &want, &err), 0);
    char w[1024];
    snprintf(w, sizeof(w), "%.*s", (int)want.authorization_len, want.authorization);
    assert_non_null(strstr(w, "SignedHeaders=content-encoding;content-md5;content-type;host;if-match;"
                              "x-amz-content-sha256;x-amz-date, Signature="));
    assert_slice(s3w_slice(sd.authorization, sd.authorization_len), w);
    sigv4_signed_cleanup(&sd);
    sigv4_signed_cleanup(&want);
}

/* What counts as asking for SSE-KMS (an anonymous request may not:
 * PX_MSG_KMS_ANONYMOUS): the value in any case, a key id or a context. */
static void test_asks_for_sse_kms(void **state)
{
    (void)state;
    assert_true(ub_is_sse_kms(SL("aws:kms")));
    assert_true(ub_is_sse_kms(SL("aws:kms:dsse")));
    assert_true(ub_is_sse_kms(SL("AWS:KMS")));
    assert_true(ub_is_sse_kms(SL(" aws:kms")));
    assert_false(ub_is_sse_kms(SL("AES256")));
    assert_false(ub_is_sse_kms(SL("aws:km")));
    assert_false(ub_is_sse_kms(SL("")));
    struct s3w_header h[] = {
        { SL("Content-Type"), SL("text/plain") },
        { SL("X-Amz-Server-Side-Encryption"), SL("AES256") },
    };
    assert_false(ub_asks_for_sse_kms(h, 2));
    h[1].value = SL("Aws:Kms");
    assert_true(ub_asks_for_sse_kms(h, 2));
    h[1] = (struct s3w_header){ SL("x-amz-server-side-encryption-aws-kms-key-id"), SL("k") };
    assert_true(ub_asks_for_sse_kms(h, 2));
    h[1] = (struct s3w_header){ SL("X-AMZ-SERVER-SIDE-ENCRYPTION-CONTEXT"), SL("e30=") };
    assert_true(ub_asks_for_sse_kms(h, 2));
    h[1] = (struct s3w_header){ SL("x-amz-server-side-encryption-customer-algorithm"), SL("AES256") };
    assert_false(ub_asks_for_sse_kms(h, 2)); /* SSE-C: the caller's own key */
}

static void test_body_mode(void **state)
{
    (void)state;
    struct px_body_choice c;
    c = px_choose_body_mode(false, SIGV4_PAYLOAD_SIGNED, false, 0);
    assert_int_equal(c.status, 0);
    assert_int_equal(c.bm, BM_NONE);
    c = px_choose_body_mode(false, SIGV4_PAYLOAD_SIGNED, false, 5);
    assert_int_equal(c.bm, BM_SIGNED);
    c = px_choose_body_mode(false, SIGV4_PAYLOAD_UNSIGNED, false, 5);
    assert_int_equal(c.bm, BM_PLAIN);
    c = px_choose_body_mode(true, SIGV4_PAYLOAD_NONE, false, 5); /* an STS form */
    assert_int_equal(c.bm, BM_PLAIN);
    /* anonymous S3 requests go by their x-amz-content-sha256 as signed ones
     * do (authenticate.c, anonymous_payload; probe 19): a claimed SHA-256
     * is checked, an unsigned-trailer body decoded */
    c = px_choose_body_mode(true, SIGV4_PAYLOAD_SIGNED, false, 5);
    assert_int_equal(c.bm, BM_SIGNED);
    c = px_choose_body_mode(true, SIGV4_PAYLOAD_UNSIGNED, false, 5);
    assert_int_equal(c.bm, BM_PLAIN);
    c = px_choose_body_mode(true, SIGV4_PAYLOAD_STREAMING_UNSIGNED_TRAILER, false, 30);
    assert_int_equal(c.bm, BM_CHUNKED);
    c = px_choose_body_mode(true, SIGV4_PAYLOAD_STREAMING_UNSIGNED_TRAILER, false, 0);
    assert_int_equal(c.status, 400);
    assert_string_equal(c.code, "IncompleteBody");
    c = px_choose_body_mode(false, SIGV4_PAYLOAD_STREAMING_HMAC, false, 200);
    assert_int_equal(c.bm, BM_CHUNKED);
    c = px_choose_body_mode(false, SIGV4_PAYLOAD_STREAMING_UNSIGNED_TRAILER, true, 0);
    assert_int_equal(c.status, 0);
    assert_int_equal(c.bm, BM_CHUNKED);
    /* an aws-chunked body of no bytes at all (Content-Length: 0, which
     * SDKs do not sign): never the bodiless path, where the decoder would
     * not run and the store would get an empty object */
    static const enum sigv4_payload_mode streaming[] = {
        SIGV4_PAYLOAD_STREAMING_HMAC, SIGV4_PAYLOAD_STREAMING_HMAC_TRAILER,
        SIGV4_PAYLOAD_STREAMING_UNSIGNED_TRAILER, SIGV4_PAYLOAD_STREAMING_ECDSA,
        SIGV4_PAYLOAD_STREAMING_ECDSA_TRAILER,
    };
    for (size_t i = 0; i < sizeof(streaming) / sizeof(streaming[0]); i++) {
        c = px_choose_body_mode(false, streaming[i], false, 0);
        assert_int_equal(c.status, 400);
        assert_string_equal(c.code, "IncompleteBody");
    }
    /* HTTP chunked framing without aws-chunked: no length to hold back */
    c = px_choose_body_mode(false, SIGV4_PAYLOAD_SIGNED, true, 0);
    assert_int_equal(c.status, 501);
    assert_string_equal(c.code, "NotImplemented");
    assert_string_equal(c.header, "Transfer-Encoding");
    c = px_choose_body_mode(true, SIGV4_PAYLOAD_NONE, true, 0);
    assert_int_equal(c.status, 501);
    c = px_choose_body_mode(true, SIGV4_PAYLOAD_UNSIGNED, true, 0);
    assert_int_equal(c.status, 501);
    /* S3's 5 GiB limit for one PUT */
    c = px_choose_body_mode(false, SIGV4_PAYLOAD_UNSIGNED, false, ((uint64_t)5 << 30) + 1);
    assert_int_equal(c.status, 400);
    assert_string_equal(c.code, "EntityTooLarge");
    c = px_choose_body_mode(false, SIGV4_PAYLOAD_UNSIGNED, false, (uint64_t)5 << 30);
    assert_int_equal(c.status, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_target_path_style, setup, teardown),
        cmocka_unit_test_setup_teardown(test_target_dot_segments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_target_virtual_hosted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_target_virtual_non_dns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_target_service_root, setup, teardown),
        cmocka_unit_test_setup_teardown(test_query_filtered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_headers_signed_caller, setup, teardown),
        cmocka_unit_test_setup_teardown(test_headers_decoded_copy_own_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_headers_passthrough_anonymous, setup, teardown),
        cmocka_unit_test_setup_teardown(test_strip_aws_chunked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sign, setup, teardown),
        cmocka_unit_test(test_body_mode),
        cmocka_unit_test(test_headers_the_operation_takes),
        cmocka_unit_test(test_asks_for_sse_kms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
