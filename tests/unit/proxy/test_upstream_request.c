/* test_upstream_request.c - the request s3warden builds for the upstream
 * (start_upstream in pipeline.c), seen by a recording fake upstream whose
 * every recorded request is checked against the proxy's own signature:
 *  - decode_aws_chunked with Content-Encoding given more than once: the
 *    rewritten value (aws-chunked dropped, the other codings kept in order)
 *    used to be parked in a buffer that the next one grew, and the signer
 *    read the freed block (ASan: heap-use-after-free; without ASan the
 *    upstream signature covered wiped bytes);
 *  - keys with "." / ".." segments go upstream with those segments as %2E,
 *    so no hop that removes dot-segments can turn an authorized key into
 *    another one; the x-amz-copy-source the proxy rebuilds too;
 *  - pl_key_path_encode, the encoding itself, segment by segment. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "chunked.h"
#include "pipeline_rig.h"
#include "sigv4.h"

#define AKID "AKIAUPBUILDTEST00001"
#define SECRET "upbuildSecretKey/0123456789abcdefghijklm"
#define UP_AKID "AKIAUPSTREAMUPBUILD1"
#define UP_SECRET "upstreamUpbuildSecret000000000000000000000"

static struct config *make_config(void)
{
    return rig_config(&(struct rig_cfg){
        .up_extra = "\"decode_aws_chunked\":true,", .up_akid = UP_AKID, .up_secret = UP_SECRET,
        .akid = AKID, .secret = SECRET,
        .buckets = "{\"name\":\"bkt\",\"account\":\"111111111111\",\"upstream_name\":\"real-bkt\"},"
                   "{\"name\":\"src\",\"account\":\"111111111111\",\"upstream_name\":\"real-src\"}" });
}

static const struct rig_opts opts = { .make_config = make_config };

static char req[64 * 1024], resp[64 * 1024];
static struct rig_seen seen;

/* ---- the upstream request, verified --------------------------------------------- */
static enum sigv4_lookup_status up_lookup(void *ud, struct s3w_slice akid, struct s3w_slice token,
                                          char *secret_out, size_t *secret_len)
{
    (void)ud;
    (void)token;
    if (!s3w_slice_eq_cstr(akid, UP_AKID))
        return SIGV4_LOOKUP_UNKNOWN_KEY;
    memcpy(secret_out, UP_SECRET, strlen(UP_SECRET));
    *secret_len = strlen(UP_SECRET);
    return SIGV4_LOOKUP_OK;
}

/* Splits the recorded head into request line and headers, and checks the
 * proxy's signature with S3's canonical rules (what the upstream does).
 * Fails the test with the verifier's message. */
static void assert_upstream_signature(const char *head)
{
    static char copy[RIG_HEAD_MAX];
    snprintf(copy, sizeof(copy), "%s", head);
    static struct s3w_header hh[64];
    size_t nh = 0;
    char *sp1 = strchr(copy, ' ');
    assert_non_null(sp1);
    char *sp2 = strchr(sp1 + 1, ' ');
    assert_non_null(sp2);
    char *line = strstr(sp2, "\r\n");
    assert_non_null(line);
    line += 2;
    while (strncmp(line, "\r\n", 2) != 0) {
        char *eol = strstr(line, "\r\n");
        char *colon = memchr(line, ':', (size_t)(eol - line));
        assert_non_null(colon);
        assert_true(nh < 64);
        char *v = colon + 1;
        while (*v == ' ')
            v++;
        hh[nh++] = (struct s3w_header){ s3w_slice(line, (size_t)(colon - line)),
                                          s3w_slice(v, (size_t)(eol - v)) };
        line = eol + 2;
    }
    struct sigv4_request r = { s3w_slice(copy, (size_t)(sp1 - copy)),
                               s3w_slice(sp1 + 1, (size_t)(sp2 - sp1 - 1)), hh, nh };
    struct sigv4_verify_opts vo = { .service = S3W_SLICE_LIT("s3"), .uri_mode = SIGV4_URI_S3,
                                    .lookup = up_lookup };
    struct sigv4_result res;
    struct sigv4_error err;
    memset(&res, 0, sizeof(res));
    if (sigv4_verify(&r, time(NULL), &vo, &res, &err) != 0)
        fail_msg("the upstream request's signature does not verify: %s %s\n%s", err.s3_code,
                 err.message, head);
    sigv4_result_cleanup(&res);
}

/* The field value of header `name` in the recorded head: the values of
 * every line of that name in order, joined by "," (RFC 9110 5.3: one
 * header or several lines are the same field); none: "". */
static void header_values(const char *head, const char *name, char *out, size_t cap)
{
    out[0] = 0;
    size_t nl = strlen(name), used = 0;
    for (const char *p = strstr(head, "\r\n"); p && strncmp(p, "\r\n\r\n", 4) != 0;
         p = strstr(p + 2, "\r\n")) {
        const char *h = p + 2;
        if (strncasecmp(h, name, nl) != 0 || h[nl] != ':')
            continue;
        const char *v = h + nl + 1;
        while (*v == ' ')
            v++;
        const char *eol = strstr(v, "\r\n");
        int n = snprintf(out + used, cap - used, "%s%.*s", used ? "," : "", (int)(eol - v), v);
        assert_true(n > 0 && (size_t)n < cap - used);
        used += (size_t)n;
    }
}

/* ---- 4: Content-Encoding given more than once, decode_aws_chunked ----------------- */
/* An aws-chunked (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) PUT of `data`, the
 * caller's signature covering every header in `hdrs` ("name: value\r\n"
 * lines, sent in order after Host). Returns the request length. */
static size_t build_chunked(char *out, size_t cap, const char *path, const char *hdrs,
                            const char *data)
{
    char dlen[24];
    snprintf(dlen, sizeof(dlen), "%zu", strlen(data));
    struct s3w_header hh[16] = { { S3W_SLICE_LIT("Host"), s3w_slice_cstr(rig_host()) },
                                   { S3W_SLICE_LIT("x-amz-decoded-content-length"),
                                     s3w_slice_cstr(dlen) } };
    size_t nh = 2;
    for (const char *p = hdrs; *p;) {
        const char *colon = strchr(p, ':');
        const char *eol = strstr(p, "\r\n");
        assert_true(colon && eol && colon < eol && nh < 16);
        const char *v = colon + 1;
        while (*v == ' ')
            v++;
        hh[nh++] = (struct s3w_header){ s3w_slice(p, (size_t)(colon - p)),
                                          s3w_slice(v, (size_t)(eol - v)) };
        p = eol + 2;
    }
    struct sigv4_credentials cr = { S3W_SLICE_LIT(AKID), S3W_SLICE_LIT(SECRET), S3W_SLICE_NULL };
    struct sigv4_sign_params sp = {
        .method = S3W_SLICE_LIT("PUT"), .target = s3w_slice_cstr(path),
        .headers = hh, .n_headers = nh, .region = S3W_SLICE_LIT("us-east-1"),
        .service = S3W_SLICE_LIT("s3"), .uri_mode = SIGV4_URI_S3, .now = time(NULL),
        .payload = S3W_SLICE_LIT("STREAMING-AWS4-HMAC-SHA256-PAYLOAD"),
    };
    static struct sigv4_signed sd;
    struct sigv4_error err;
    assert_int_equal(sigv4_sign_headers(&sp, &cr, &sd, &err), 0);
    struct sigv4_chain_hmac chain;
    memset(&chain, 0, sizeof(chain));
    assert_int_equal(sigv4_chain_hmac_init(&chain, sd.signing_key), 0);
    struct sigv4_chunked_enc_params ep = {
        .mode = SIGV4_STREAM_HMAC_PAYLOAD,
        .amz_date = s3w_slice_cstr(sd.amz_date),
        .scope = s3w_slice(sd.scope, sd.scope_len),
        .seed_signature = s3w_slice(sd.seed_signature_hex, 64),
        .ops = &sigv4_chain_hmac_ops,
        .ops_ctx = &chain,
    };
    struct sigv4_chunked_encoder enc;
    assert_int_equal(sigv4_chunked_encoder_init(&enc, &ep), 0);
    struct s3w_buf body;
    s3w_buf_init(&body, 8192);
    assert_int_equal(sigv4_chunked_encode_append(&enc, data, strlen(data), NULL, &body), 0);
    assert_int_equal(sigv4_chunked_encode_finish(&enc, NULL, 0, &body), 0);
    sigv4_chunked_encoder_cleanup(&enc);
    sigv4_chain_hmac_cleanup(&chain);
    int n = snprintf(out, cap,
                     "PUT %s HTTP/1.1\r\nHost: %s\r\n%sx-amz-decoded-content-length: %s\r\n"
                     "Authorization: %.*s\r\nx-amz-date: %s\r\nx-amz-content-sha256: %.*s\r\n"
                     "Content-Length: %zu\r\n\r\n",
                     path, rig_host(), hdrs, dlen, (int)sd.authorization_len, sd.authorization,
                     sd.amz_date, (int)sd.content_sha256_len, sd.content_sha256, body.len);
    assert_true(n > 0 && (size_t)n + body.len < cap);
    memcpy(out + n, body.ptr, body.len);
    size_t total = (size_t)n + body.len;
    s3w_buf_cleanup(&body);
    sigv4_signed_cleanup(&sd);
    return total;
}

/* Sends an aws-chunked PUT with the Content-Encoding lines `ce` and checks
 * what the upstream got: a 200 to the client, the decoded body, one
 * Content-Encoding holding `want` (NULL: none) and a signature that
 * verifies. */
static void put_with_encodings(const char *path, const char *ce, const char *want)
{
    static const char data[] = "decoded for an old store";
    size_t n = build_chunked(req, sizeof(req), path, ce, data);
    rig_exchange(req, n, "\r\n\r\n", resp, sizeof(resp));
    assert_int_equal(rig_last_sent(), n);
    assert_non_null(strstr(resp, "HTTP/1.1 200 OK\r\n"));
    rig_counts(100, NULL, NULL);
    rig_seen(&seen);
    char line[512];
    snprintf(line, sizeof(line), "PUT /real-bkt%s HTTP/1.1\r\n", path + strlen("/bkt"));
    assert_true(strncmp(seen.last_head, line, strlen(line)) == 0);
    /* decoded: a plain body under its own length */
    assert_int_equal(seen.last_body_len, strlen(data));
    assert_memory_equal(seen.last_body, data, strlen(data));
    assert_null(strcasestr(seen.last_head, "x-amz-decoded-content-length"));
    char got[1024];
    header_values(seen.last_head, "Content-Encoding", got, sizeof(got));
    assert_string_equal(got, want ? want : "");
    assert_upstream_signature(seen.last_head);
}

#define LONG_CODING "x-coding-with-a-long-name-0123456789abcdefghijklmnopqrstuvwxyz-0123456789"

static void test_content_encoding_twice_decoded(void **state)
{
    (void)state;
    /* the probe's request: the second value is long enough that the buffer
     * the first one was parked in grows (reallocated) */
    put_with_encodings("/bkt/ce-two",
                       "Content-Encoding: aws-chunked,gzip\r\n"
                       "Content-Encoding: br, " LONG_CODING "\r\n",
                       "gzip,br," LONG_CODING);
}

static void test_content_encoding_order_kept(void **state)
{
    (void)state;
    /* aws-chunked in the middle, in its own header, odd spacing */
    put_with_encodings("/bkt/ce-three",
                       "Content-Encoding: gzip\r\nContent-Encoding:  aws-chunked \r\n"
                       "Content-Encoding: br ,  deflate\r\n",
                       "gzip,br,deflate");
    /* aws-chunked alone: no Content-Encoding upstream */
    put_with_encodings("/bkt/ce-only", "Content-Encoding: aws-chunked\r\n", NULL);
    /* aws-chunked given twice and nothing else */
    put_with_encodings("/bkt/ce-only-twice",
                       "Content-Encoding: aws-chunked\r\nContent-Encoding: aws-chunked\r\n", NULL);
}

/* ---- 5: dot-segments go upstream as %2E ----------------------------------------- */
static void get_forwarded_as(const char *target, const char *want_line)
{
    struct rig_req r = { .akid = AKID, .secret = SECRET, .method = "GET", .target = target };
    rig_build(req, sizeof(req), &r);
    rig_exchange(req, strlen(req), "\r\n\r\n", resp, sizeof(resp));
    assert_non_null(strstr(resp, "HTTP/1.1 200 OK\r\n"));
    rig_counts(100, NULL, NULL);
    rig_seen(&seen);
    if (strncmp(seen.last_head, want_line, strlen(want_line)) != 0)
        fail_msg("%s went upstream as\n%.*s\nwanted\n%s", target,
                 (int)strcspn(seen.last_head, "\r"), seen.last_head, want_line);
    assert_upstream_signature(seen.last_head);
}

static void test_dot_segments_forwarded_encoded(void **state)
{
    (void)state;
    /* the probe's key, however the client spelled it */
    get_forwarded_as("/bkt/allowed/../denied/obj.txt",
                     "GET /real-bkt/allowed/%2E%2E/denied/obj.txt HTTP/1.1\r\n");
    get_forwarded_as("/bkt/allowed/%2e%2e/denied/obj.txt",
                     "GET /real-bkt/allowed/%2E%2E/denied/obj.txt HTTP/1.1\r\n");
    get_forwarded_as("/bkt/allowed%2F..%2Fdenied/obj.txt",
                     "GET /real-bkt/allowed/%2E%2E/denied/obj.txt HTTP/1.1\r\n");
    get_forwarded_as("/bkt/a/./b", "GET /real-bkt/a/%2E/b HTTP/1.1\r\n");
    /* leading, trailing, the whole key */
    get_forwarded_as("/bkt/../x", "GET /real-bkt/%2E%2E/x HTTP/1.1\r\n");
    get_forwarded_as("/bkt/d/..", "GET /real-bkt/d/%2E%2E HTTP/1.1\r\n");
    get_forwarded_as("/bkt/..", "GET /real-bkt/%2E%2E HTTP/1.1\r\n");
    /* not dot-segments: as before */
    get_forwarded_as("/bkt/a/.../.b/c../d", "GET /real-bkt/a/.../.b/c../d HTTP/1.1\r\n");
    get_forwarded_as("/bkt/a//b/", "GET /real-bkt/a//b/ HTTP/1.1\r\n");
}

static void test_copy_source_dot_segments(void **state)
{
    (void)state;
    struct rig_req r = { .akid = AKID, .secret = SECRET, .method = "PUT", .target = "/bkt/dst",
                         .signed_hdrs = "x-amz-copy-source: /src/a/%2E%2E/b/./c?versionId=v1\r\n" };
    rig_build(req, sizeof(req), &r);
    rig_exchange(req, strlen(req), "\r\n\r\n", resp, sizeof(resp));
    assert_non_null(strstr(resp, "HTTP/1.1 200 OK\r\n"));
    rig_counts(100, NULL, NULL);
    rig_seen(&seen);
    char got[1024];
    header_values(seen.last_head, "x-amz-copy-source", got, sizeof(got));
    assert_string_equal(got, "/real-src/a/%2E%2E/b/%2E/c?versionId=v1");
    assert_upstream_signature(seen.last_head);
}

/* ---- the encoding ----------------------------------------------------------------- */
static void enc(const char *key, const char *want)
{
    struct s3w_buf b;
    s3w_buf_init(&b, 4096);
    assert_int_equal(pl_key_path_encode(s3w_slice_cstr(key), &b), 0);
    if (b.len != strlen(want) || (b.len && memcmp(b.ptr, want, b.len) != 0))
        fail_msg("key \"%s\" encoded as \"%.*s\", wanted \"%s\"", key, (int)b.len, b.ptr, want);
    s3w_buf_cleanup(&b);
}

static void test_key_path_encode(void **state)
{
    (void)state;
    enc("", "");
    enc(".", "%2E");
    enc("..", "%2E%2E");
    enc("...", "...");
    enc(".a", ".a");
    enc("a.", "a.");
    enc("a..", "a..");
    enc("..a", "..a");
    enc("a/./b", "a/%2E/b");
    enc("a/../b", "a/%2E%2E/b");
    enc("../a", "%2E%2E/a");
    enc("./a", "%2E/a");
    enc("a/..", "a/%2E%2E");
    enc("a/.", "a/%2E");
    enc("a/../..", "a/%2E%2E/%2E%2E");
    enc("../../", "%2E%2E/%2E%2E/");
    /* empty segments stay empty: there is nothing to encode in them */
    enc("a//b", "a//b");
    enc("/..//./", "/%2E%2E//%2E/");
    enc("a/", "a/");
    /* the rest as sigv4_uri_encode: the unreserved set, '/' kept */
    enc("sp ace/+=%/ü", "sp%20ace/%2B%3D%25/%C3%BC");
    enc("x/.. /. ./..%", "x/..%20/.%20./..%25");
}

/* A cap hit is an error, never a silently shortened key. */
static void test_key_path_encode_cap(void **state)
{
    (void)state;
    struct s3w_buf b;
    s3w_buf_init(&b, 9); /* "a/%2E%2E/b" is 10 */
    assert_int_not_equal(pl_key_path_encode(S3W_SLICE_LIT("a/../b"), &b), 0);
    s3w_buf_cleanup(&b);
    s3w_buf_init(&b, 10);
    assert_int_equal(pl_key_path_encode(S3W_SLICE_LIT("a/../b"), &b), 0);
    assert_int_equal(b.len, 10);
    s3w_buf_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_path_encode),
        cmocka_unit_test(test_key_path_encode_cap),
        cmocka_unit_test(test_content_encoding_twice_decoded),
        cmocka_unit_test(test_content_encoding_order_kept),
        cmocka_unit_test(test_dot_segments_forwarded_encoded),
        cmocka_unit_test(test_copy_source_dot_segments),
    };
    return rig_run_group(tests, &opts);
}
