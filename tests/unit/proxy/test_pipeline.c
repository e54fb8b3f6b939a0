/* test_pipeline.c - the request pipeline against a recording fake upstream:
 *  - an allowed PUT reaches the upstream re-signed with the proxy's key,
 *    with exactly the caller's bytes and none of the caller's credentials;
 *  - a body that does not match its signed x-amz-content-sha256 never
 *    reaches the upstream complete (the last byte is held back), and the
 *    caller gets XAmzContentSHA256Mismatch;
 *  - a denied PUT with Expect: 100-continue gets its 403 without a
 *    "100 Continue" and the upstream sees nothing;
 *  - an x-amz-* header the caller did not sign is refused (403) before
 *    anything goes upstream;
 *  - condition keys in the body (S3MAP_F_BODY_KEYS): a Deny on
 *    s3:RequestObjectTagKeys refuses a PutObjectTagging carrying that tag
 *    key (nothing upstream) and lets another key through, body intact; a
 *    tagging body that does not match its signed hash is refused before
 *    evaluation;
 *  - buckets the config does not list are refused by default, and reach
 *    identity policies alone with "unlisted_buckets": "caller_account";
 *  - SigV4a requests signed by python3-awscrt (aws-c-auth) are verified,
 *    region-checked and then allowed or denied by policy like SigV4 ones;
 *  - a config swap leaves an exchange in flight on its snapshot, which
 *    lives until that exchange ends. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "exchange.h"
#include "pipeline_rig.h"
#include "sigv4.h"
#include "sigv4a.h"
#include "sockutil.h"
#include "token.h"

/* ---- fake upstream's answer --------------------------------------------------- */
static atomic_int slow_answered; /* late answers the fake upstream gave */

static void up_answer(int fd, const char *head)
{
    bool slow = strstr(head, "/slow") != NULL;
    if (slow)
        usleep(1000 * 1000); /* first-byte timeout test: answer late */
    rig_answer_ok(fd, head);
    if (slow)
        atomic_fetch_add(&slow_answered, 1);
}

/* ---- s3warden under test ------------------------------------------------------- */
#define AKID "AKIAPIPELINETEST0001"
#define SECRET "pipelineSecretKey/0123456789abcdefghijkl"
#define DENIED_AKID "AKIAPIPELINEDENIED01"
#define DENIED_SECRET "pipelineDeniedSecret/0123456789abcdefghi"
#define UP_AKID "AKIAUPSTREAMPIPE0001"

/* The test config; top_extra is spliced in as leading top-level fields
 * ("\"name\":value,"), up_extra as leading fields of "upstream", whose
 * endpoint host is up_host. */
static struct config *make_config_up(const char *top_extra, const char *up_host,
                                     const char *up_extra)
{
    return rig_config(&(struct rig_cfg){
        .top = top_extra, .up_host = up_host, .up_extra = up_extra, .up_akid = UP_AKID,
        .akid = AKID, .secret = SECRET,
        .policy = "{\"Version\":\"2012-10-17\","
            "\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"},"
            "{\"Effect\":\"Deny\",\"Action\":\"s3:PutObjectTagging\",\"Resource\":\"*\","
            "\"Condition\":{\"ForAnyValue:StringEquals\":{\"s3:RequestObjectTagKeys\":[\"secret\"]}}}]}",
        .more_users = ",{\"account\":\"111111111111\",\"name\":\"r\",\"unique_id\":\"AIDAPIPELINE0000002\","
            "\"access_keys\":[{\"id\":\"" DENIED_AKID "\",\"secret\":\"" DENIED_SECRET "\"}],"
            "\"policies\":[{\"name\":\"read\",\"document\":{\"Version\":\"2012-10-17\","
            "\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":\"*\"}]}}]}" });
}

static struct config *make_config(const char *top_extra)
{
    return make_config_up(top_extra, "127.0.0.1", "");
}

static struct config *initial_config(void)
{
    return make_config("");
}

static const struct rig_opts opts = {
    .make_config = initial_config, .answer = up_answer,
    .max_header_bytes = 4096 /* limits.max_header_bytes */,
};

/* A header-signed PUT of `signed_body` (its sha256 signed), with extra
 * unsigned header lines, whose wire body is `sent_body`. The unsigned lines
 * follow Content-Length, hence the framing override. */
static size_t build_put(char *out, size_t cap, const char *akid, const char *secret,
                        const char *path, const char *signed_body, const char *sent_body,
                        const char *extra_unsigned)
{
    char framing[512];
    int n = snprintf(framing, sizeof(framing), "Content-Length: %zu\r\n%s", strlen(sent_body),
                     extra_unsigned);
    assert_true(n > 0 && (size_t)n < sizeof(framing));
    struct rig_req r = { .akid = akid, .secret = secret, .method = "PUT", .target = path,
                         .body = signed_body, .framing = framing, .wire_body = sent_body };
    return rig_build(out, cap, &r);
}

static char req[16384], resp[65536];
static struct rig_seen seen; /* what the fake upstream recorded, copied */

static void exchange(const char *r, const char *until)
{
    rig_exchange(r, strlen(r), until, resp, sizeof(resp));
}

static void snapshot(int *reqs, int *complete)
{
    rig_counts(200, reqs, complete); /* let the fake upstream record what it got */
}

static void exchange_n(const char *r, size_t n, const char *until)
{
    rig_exchange(r, n, until, resp, sizeof(resp));
    assert_int_equal(rig_last_sent(), n);
}

/* resp starts with the status line `status` and holds the S3 error `code` */
static void assert_error(const char *status, const char *code)
{
    rig_assert_status(resp, status);
    char want[96];
    snprintf(want, sizeof(want), "<Code>%s</Code>", code);
    assert_non_null(strstr(resp, want));
}

/* Sends the n bytes of req, which s3warden must forward: asserts the 200,
 * that exactly one request reached the upstream with its body whole, and
 * that it began with the request line `line1`. Leaves in `seen` what the
 * upstream recorded, for the caller's own checks. */
static void expect_forwarded(size_t n, const char *line1)
{
    int r0, c0, r1, c1;
    snapshot(&r0, &c0);
    exchange_n(req, n, "\r\n\r\n");
    rig_assert_status(resp, "HTTP/1.1 200 OK\r\n");
    snapshot(&r1, &c1);
    assert_int_equal(r1, r0 + 1);
    assert_int_equal(c1, c0 + 1);
    rig_seen(&seen);
    assert_true(strncmp(seen.last_head, line1, strlen(line1)) == 0);
}

/* the body the upstream recorded last is `want`, whole */
static void assert_seen_body(const char *want)
{
    assert_int_equal(seen.last_body_len, strlen(want));
    assert_memory_equal(seen.last_body, want, seen.last_body_len);
}

/* Sends the n bytes of req, which s3warden must refuse before anything goes
 * upstream: asserts the status line, the S3 error <Code> and that the
 * upstream saw no new request. Further checks on resp are the caller's. */
static void expect_refused(size_t n, const char *status, const char *code)
{
    int r0, r1;
    snapshot(&r0, NULL);
    rig_exchange(req, n, "</Error>", resp, sizeof(resp));
    assert_error(status, code);
    snapshot(&r1, NULL);
    assert_int_equal(r1, r0);
}

/* Sends the n bytes of req, a body that fails verification only once it
 * streams: asserts the status line and <Code>, and that no complete body
 * reached the upstream (the last byte is held back), so no object can have
 * been created. Returns whether a request head reached it at all. */
static bool expect_cut_short(size_t n, const char *status, const char *code)
{
    int r0, c0, r1, c1;
    snapshot(&r0, &c0);
    exchange_n(req, n, "</Error>");
    assert_error(status, code);
    snapshot(&r1, &c1);
    assert_int_equal(c1, c0);
    rig_seen(&seen);
    return r1 > r0;
}

static void test_allowed_put_resigned(void **state)
{
    (void)state;
    size_t n = build_put(req, sizeof(req), AKID, SECRET, "/bkt/dir/obj%20one", "hello upstream",
                         "hello upstream",
                         "Content-Type: text/plain\r\nX-Unknown-Hop: dropped\r\n");
    /* path-style, bucket alias, key re-encoded */
    expect_forwarded(n, "PUT /real-bkt/dir/obj%20one HTTP/1.1\r\n");
    assert_non_null(strstr(seen.last_head, "Credential=" UP_AKID "/"));
    assert_null(strstr(seen.last_head, AKID));
    assert_non_null(strstr(seen.last_head, "Content-Type: text/plain\r\n"));
    assert_null(strstr(seen.last_head, "X-Unknown-Hop"));
    assert_seen_body("hello upstream");
}

static void test_tampered_body_never_completes(void **state)
{
    (void)state;
    size_t n = build_put(req, sizeof(req), AKID, SECRET, "/bkt/tampered", "the signed body",
                         "THE SENT! BODY", "");
    /* the upstream may have seen the head and all but the last byte, but
     * never a complete body */
    if (expect_cut_short(n, "HTTP/1.1 400", "XAmzContentSHA256Mismatch"))
        assert_true(seen.last_body_len < strlen("THE SENT! BODY"));
}

static void test_denied_expect_continue(void **state)
{
    (void)state;
    build_put(req, sizeof(req), DENIED_AKID, DENIED_SECRET, "/bkt/nope", "secret data",
              "", "Expect: 100-continue\r\n");
    /* send only the head: the proxy must answer without asking for the body */
    char *body_start = strstr(req, "\r\n\r\n") + 4;
    *body_start = 0;
    /* the 403 first: no "100 Continue" before it */
    expect_refused((size_t)(body_start - req), "HTTP/1.1 403 Forbidden", "AccessDenied");
    assert_null(strstr(resp, "100 Continue"));
    assert_non_null(strstr(resp, "is not authorized to perform: s3:PutObject on resource: "
                                 "&quot;arn:aws:s3:::bkt/nope&quot;"));
}

static void test_unsigned_amz_header_refused(void **state)
{
    (void)state;
    size_t n = build_put(req, sizeof(req), AKID, SECRET, "/bkt/acl", "x", "x",
                         "x-amz-acl: public-read\r\n");
    expect_refused(n, "HTTP/1.1 403", "AccessDenied");
}

#define TAGGING(k) "<Tagging><TagSet><Tag><Key>" k "</Key><Value>v1</Value></Tag></TagSet></Tagging>"

static void test_tagging_deny_on_body_tag_key(void **state)
{
    (void)state;
    size_t n = build_put(req, sizeof(req), AKID, SECRET, "/bkt/tagged?tagging", TAGGING("secret"),
                         TAGGING("secret"), "");
    expect_refused(n, "HTTP/1.1 403 Forbidden", "AccessDenied");
    assert_non_null(strstr(resp, "<Message>User: arn:aws:iam::111111111111:user/w is not "
                                 "authorized to perform: s3:PutObjectTagging on resource: "
                                 "&quot;arn:aws:s3:::bkt/tagged&quot; with an explicit deny in "
                                 "an identity-based policy</Message>"));
}

static void test_tagging_other_key_allowed(void **state)
{
    (void)state;
    size_t n = build_put(req, sizeof(req), AKID, SECRET, "/bkt/tagged?tagging", TAGGING("public"),
                         TAGGING("public"), "");
    expect_forwarded(n, "PUT /real-bkt/tagged?tagging HTTP/1.1\r\n");
    assert_seen_body(TAGGING("public"));
}

static void test_tagging_tampered_body_refused(void **state)
{
    (void)state;
    /* signed with an allowed key, sent with the denied one: the hash check
     * comes before the policy, so neither evaluation nor forwarding happens */
    size_t n = build_put(req, sizeof(req), AKID, SECRET, "/bkt/tagged?tagging", TAGGING("public"),
                         TAGGING("secret"), "");
    expect_refused(n, "HTTP/1.1 400", "XAmzContentSHA256Mismatch");
}

static void test_unlisted_bucket_denied(void **state)
{
    (void)state;
    /* "w" may do s3:* on "*": the bucket is still refused, because the
     * config does not list it (default "unlisted_buckets": "deny") */
    size_t n = build_put(req, sizeof(req), AKID, SECRET, "/other-bkt/x", "data", "data", "");
    expect_refused(n, "HTTP/1.1 403 Forbidden", "AccessDenied");
    assert_non_null(strstr(resp, "<Message>User: arn:aws:iam::111111111111:user/w is not "
                                 "authorized to perform: s3:PutObject on resource: "
                                 "&quot;arn:aws:s3:::other-bkt/x&quot; because the bucket is "
                                 "not configured in s3warden</Message>"));
}

/* Swaps the running snapshot (as SIGHUP does) and waits for the worker. */
static void install_config_up(const char *top_extra, const char *up_host, const char *up_extra)
{
    rig_install_config(make_config_up(top_extra, up_host, up_extra));
}

static void install_config(const char *top_extra)
{
    install_config_up(top_extra, "127.0.0.1", "");
}

static void test_unlisted_bucket_caller_account(void **state)
{
    (void)state;
    install_config("\"unlisted_buckets\":\"caller_account\",");
    size_t n = build_put(req, sizeof(req), AKID, SECRET, "/other-bkt/x", "data", "data", "");
    expect_forwarded(n, "PUT /other-bkt/x HTTP/1.1\r\n");
    /* the identity policy still decides: "r" may only GetObject */
    n = build_put(req, sizeof(req), DENIED_AKID, DENIED_SECRET, "/other-bkt/y", "d", "d", "");
    expect_refused(n, "HTTP/1.1 403 Forbidden", "AccessDenied");
    assert_non_null(strstr(resp, "because no identity-based policy allows the s3:PutObject action"));
    install_config("");
}

static void test_unlisted_buckets_bad_value(void **state)
{
    (void)state;
    char json[512];
    snprintf(json, sizeof(json),
             "{\"unlisted_buckets\":\"allow\",\"listeners\":[{\"address\":\"127.0.0.1\",\"port\":1}],"
             "\"upstream\":{\"endpoint\":\"http://127.0.0.1:1\",\"region\":\"us-east-1\"}}");
    struct config_errors errs;
    config_errors_init(&errs);
    struct config *cfg = NULL;
    assert_int_equal(config_load_buffer("t.json", json, strlen(json), NULL, &cfg, &errs),
                     CONFIG_E_INVALID);
    assert_null(cfg);
    assert_int_equal(errs.n, 1);
    assert_string_equal(errs.items[0].text,
                        "t.json: unlisted_buckets: must be \"deny\" or \"caller_account\"");
    config_errors_cleanup(&errs);
}

/* ---- SigV4a, signed by python3-awscrt (aws-c-auth), not by our own code ---- */
/* Writes the signed PUT into out (`form` "header" or "query") and returns
 * its length; fails the test when the signer did not produce one. */
static size_t build_v4a_form(char *out, size_t cap, const char *akid, const char *secret,
                             const char *path, const char *region_set, const char *body,
                             const char *form)
{
    const char *src = getenv("S3W_SOURCE_ROOT");
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "/usr/bin/python3 '%s/tests/unit/proxy/v4a/crt_sign_now.py' '%s' PUT '%s' '%s' '%s' '%s' '%s' %s",
             src ? src : ".", rig_host(), path, akid, secret, region_set, body, form);
    FILE *f = popen(cmd, "r");
    if (!f)
        fail_msg("popen: cannot run crt_sign_now.py");
    size_t n = 0;
    char line[4096];
    while (fgets(line, sizeof(line), f)) {
        size_t l = strlen(line);
        while (l && (line[l - 1] == '\n' || line[l - 1] == '\r'))
            line[--l] = 0;
        if (strncmp(line, "@target ", 8) == 0)
            n += (size_t)snprintf(out + n, cap - n, "PUT %s HTTP/1.1\r\n", line + 8);
        else
            n += (size_t)snprintf(out + n, cap - n, "%s\r\n", line);
    }
    int st = pclose(f);
    snprintf(out + n, cap - n, "\r\n%s", body);
    if (!(st == 0 && strncmp(out, "PUT ", 4) == 0 &&
          (strstr(out, "AWS4-ECDSA-P256-SHA256 Credential=") ||
           strstr(out, "X-Amz-Algorithm=AWS4-ECDSA"))))
        fail_msg("crt_sign_now.py failed: is python3-awscrt installed for /usr/bin/python3?");
    return strlen(out);
}

static size_t build_v4a(char *out, size_t cap, const char *akid, const char *secret,
                        const char *path, const char *region_set, const char *body)
{
    return build_v4a_form(out, cap, akid, secret, path, region_set, body, "header");
}

static void test_v4a_allowed_put(void **state)
{
    (void)state;
    size_t n = build_v4a(req, sizeof(req), AKID, SECRET, "/bkt/v4a-obj", "us-*", "hello v4a");
    expect_forwarded(n, "PUT /real-bkt/v4a-obj HTTP/1.1\r\n");
    /* re-signed SigV4 with the proxy's key; the caller's region set stays */
    assert_non_null(strstr(seen.last_head, "AWS4-HMAC-SHA256 Credential=" UP_AKID "/"));
    assert_null(strcasestr(seen.last_head, "x-amz-region-set"));
    assert_null(strstr(seen.last_head, AKID));
    assert_seen_body("hello v4a");
}

static void test_v4a_presigned_put(void **state)
{
    (void)state;
    size_t n = build_v4a_form(req, sizeof(req), AKID, SECRET, "/bkt/v4a-pre", "us-east-1",
                              "presigned v4a", "query");
    /* header-signed upstream; none of the caller's query authentication */
    expect_forwarded(n, "PUT /real-bkt/v4a-pre HTTP/1.1\r\n");
    assert_null(strcasestr(seen.last_head, "region-set"));
    assert_non_null(strstr(seen.last_head, "AWS4-HMAC-SHA256 Credential=" UP_AKID "/"));
}

static void test_v4a_denied_by_policy(void **state)
{
    (void)state;
    size_t n = build_v4a(req, sizeof(req), DENIED_AKID, DENIED_SECRET, "/bkt/v4a-no", "*", "nope");
    expect_refused(n, "HTTP/1.1 403 Forbidden", "AccessDenied");
    assert_non_null(strstr(resp, "<Message>User: arn:aws:iam::111111111111:user/r is not "
                                 "authorized to perform: s3:PutObject on resource: "
                                 "&quot;arn:aws:s3:::bkt/v4a-no&quot; because no identity-based "
                                 "policy allows the s3:PutObject action</Message>"));
}

static void test_v4a_wrong_region_set(void **state)
{
    (void)state;
    size_t n = build_v4a(req, sizeof(req), AKID, SECRET, "/bkt/v4a-eu", "eu-*", "x");
    expect_refused(n, "HTTP/1.1 400 Bad Request", "AuthorizationHeaderMalformed");
}

static void test_v4a_bad_signature(void **state)
{
    (void)state;
    /* signed with another secret for the same key id */
    size_t n = build_v4a(req, sizeof(req), AKID, "not-the-secret-0123456789", "/bkt/v4a-forged",
                         "*", "x");
    expect_refused(n, "HTTP/1.1 403 Forbidden", "SignatureDoesNotMatch");
}

/* An ECDSA aws-chunked upload (STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD),
 * signed with the sigv4a library (awscrt's Python API signs no chunks);
 * `flip` corrupts one data byte after signing. Returns the request length. */
static size_t build_v4a_stream(char *out, size_t cap, const char *path, const char *data,
                               bool flip)
{
    struct sigv4a_key *key = NULL;
    assert_int_equal(sigv4a_key_derive(S3W_SLICE_LIT(AKID), S3W_SLICE_LIT(SECRET), &key), 0);
    char dlen[24];
    snprintf(dlen, sizeof(dlen), "%zu", strlen(data));
    struct s3w_header hh[] = {
        { S3W_SLICE_LIT("Host"), s3w_slice_cstr(rig_host()) },
        { S3W_SLICE_LIT("Content-Encoding"), S3W_SLICE_LIT("aws-chunked") },
        { S3W_SLICE_LIT("x-amz-decoded-content-length"), s3w_slice_cstr(dlen) },
    };
    struct sigv4_credentials cr = { S3W_SLICE_LIT(AKID), S3W_SLICE_LIT(SECRET), S3W_SLICE_NULL };
    struct sigv4_sign_params sp = {
        .method = S3W_SLICE_LIT("PUT"), .target = s3w_slice_cstr(path),
        .headers = hh, .n_headers = 3, .region = S3W_SLICE_LIT("us-east-1"),
        .service = S3W_SLICE_LIT("s3"), .uri_mode = SIGV4_URI_S3, .now = time(NULL),
        .payload = S3W_SLICE_LIT(SIGV4A_STREAMING_PAYLOAD),
    };
    static struct sigv4a_signed sd;
    struct sigv4_error err;
    assert_int_equal(sigv4a_sign_headers(&sp, &cr, key, S3W_SLICE_LIT("us-east-1"), &sd, &err), 0);
    struct sigv4_chunked_enc_params ep = {
        .mode = SIGV4_STREAM_ECDSA_PAYLOAD,
        .amz_date = s3w_slice_cstr(sd.amz_date),
        .scope = s3w_slice(sd.scope, sd.scope_len),
        .seed_signature = s3w_slice(sd.signature, sd.signature_len),
        .ops = &sigv4a_chain_ops,
        .ops_ctx = key,
    };
    struct sigv4_chunked_encoder enc;
    assert_int_equal(sigv4_chunked_encoder_init(&enc, &ep), 0);
    struct s3w_buf body;
    s3w_buf_init(&body, 8192);
    assert_int_equal(sigv4_chunked_encode_append(&enc, data, strlen(data), NULL, &body), 0);
    assert_int_equal(sigv4_chunked_encode_finish(&enc, NULL, 0, &body), 0);
    sigv4_chunked_encoder_cleanup(&enc);
    sigv4a_key_unref(key);
    if (flip) {
        char *d = memmem(body.ptr, body.len, data, strlen(data));
        assert_non_null(d);
        d[0] ^= 1;
    }
    int n = snprintf(out, cap,
                     "PUT %s HTTP/1.1\r\nHost: %s\r\nContent-Encoding: aws-chunked\r\n"
                     "x-amz-decoded-content-length: %s\r\nAuthorization: %.*s\r\n"
                     "x-amz-date: %s\r\nx-amz-content-sha256: %.*s\r\nx-amz-region-set: us-east-1\r\n"
                     "Content-Length: %zu\r\n\r\n",
                     path, rig_host(), dlen, (int)sd.authorization_len, sd.authorization, sd.amz_date,
                     (int)sd.content_sha256_len, sd.content_sha256, body.len);
    assert_true(n > 0 && (size_t)n + body.len < cap);
    memcpy(out + n, body.ptr, body.len);
    size_t total = (size_t)n + body.len;
    s3w_buf_cleanup(&body);
    return total;
}

static void test_v4a_stream_verified_and_reframed(void **state)
{
    (void)state;
    size_t n = build_v4a_stream(req, sizeof(req), "/bkt/v4a-stream", "streamed through v4a", false);
    expect_forwarded(n, "PUT /real-bkt/v4a-stream HTTP/1.1\r\n");
    /* upstream: the HMAC streaming mode under the proxy's own signatures */
    assert_non_null(strstr(seen.last_head, "AWS4-HMAC-SHA256 Credential=" UP_AKID "/"));
    assert_non_null(strstr(seen.last_head, "x-amz-content-sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD\r\n"));
    assert_non_null(memmem(seen.last_body, seen.last_body_kept, ";chunk-signature=", 17));
    assert_non_null(memmem(seen.last_body, seen.last_body_kept, "streamed through v4a", 20));
}

static void test_v4a_stream_tampered_chunk(void **state)
{
    (void)state;
    size_t n = build_v4a_stream(req, sizeof(req), "/bkt/v4a-stream-bad", "streamed through v4a", true);
    expect_cut_short(n, "HTTP/1.1 403 Forbidden", "SignatureDoesNotMatch");
}

static void test_max_header_bytes(void **state)
{
    (void)state;
    /* a head just over the configured 4096 bytes (far below the parser's
     * own 32 KiB): 431 before any handling */
    char pad[4200];
    memset(pad, 'a', sizeof(pad) - 1);
    pad[sizeof(pad) - 1] = 0;
    snprintf(req, sizeof(req), "GET /bkt/x HTTP/1.1\r\nHost: %s\r\nX-Pad: %.*s\r\n\r\n", rig_host(),
             4096 - 40, pad);
    assert_true(strlen(req) > 4096);
    expect_refused(strlen(req), "HTTP/1.1 431", "RequestHeaderSectionTooLarge");
    /* under the cap: handled (the unsigned request is anonymous: 403) */
    snprintf(req, sizeof(req), "GET /bkt/x HTTP/1.1\r\nHost: %s\r\nX-Pad: %.*s\r\n\r\n", rig_host(),
             4096 - 200, pad);
    expect_refused(strlen(req), "HTTP/1.1 403", "AccessDenied");
}

static void test_upstream_virtual_addressing(void **state)
{
    (void)state;
    /* *.localhost resolves to loopback in curl (RFC 6761 6.3) */
    install_config_up("", "localhost", "\"addressing\":\"virtual\",");
    size_t n = build_put(req, sizeof(req), AKID, SECRET, "/bkt/v%20obj", "vhost", "vhost", "");
    expect_forwarded(n, "PUT /v%20obj HTTP/1.1\r\n");
    char want[128];
    snprintf(want, sizeof(want), "\r\nHost: real-bkt.localhost:%d\r\n", rig_up_port());
    assert_non_null(strstr(seen.last_head, want));
    install_config("");
}

static void test_upstream_first_byte_timeout(void **state)
{
    (void)state;
    install_config_up("", "127.0.0.1", "\"first_byte_timeout_ms\":300,");
    int late0 = atomic_load(&slow_answered);
    build_put(req, sizeof(req), AKID, SECRET, "/bkt/slow", "late", "late", "");
    uint64_t t0 = uv_hrtime();
    exchange(req, "</Error>");
    uint64_t ms = (uv_hrtime() - t0) / 1000000;
    assert_non_null(strstr(resp, "HTTP/1.1 504 Gateway Timeout"));
    assert_non_null(strstr(resp, "<Code>GatewayTimeout</Code>"));
    /* the 300 ms timer, not the upstream's 1 s answer nor the 60 s idle
     * timeout */
    assert_true(ms >= 250 && ms < 900);
    /* let the fake upstream (one thread) finish its late answer first */
    for (int i = 0; i < 500 && atomic_load(&slow_answered) == late0; i++)
        usleep(10 * 1000);
    assert_int_equal(atomic_load(&slow_answered), late0 + 1);
    /* the same setting with a prompt upstream: answered normally (the
     * timer is stopped by the first response byte) */
    build_put(req, sizeof(req), AKID, SECRET, "/bkt/prompt", "p", "p", "");
    exchange(req, "\r\n\r\n");
    assert_non_null(strstr(resp, "HTTP/1.1 200 OK"));
    install_config("");
}

/* ---- a reload while an exchange is in flight ---------------------------------- */
struct look_cfg {
    const struct config *cfg; /* the worker's snapshot */
    int busy;                 /* its connections with an exchange */
};

static void look_cfg(struct proxy_worker *w, void *arg)
{
    struct look_cfg *l = arg;
    l->cfg = ((struct pl_worker *)w->handler_state)->cfg;
    l->busy = 0;
    for (const struct proxy_conn *c = w->conns; c; c = c->next)
        l->busy += c->ex != NULL;
}

/* Installs cfg (as SIGHUP does) and returns once the worker has taken it
 * up: the rig runs look_cfg after the worker's own poke. */
static void swap_to(struct config *cfg)
{
    rig_install_config(cfg);
    struct look_cfg l;
    rig_on_worker(look_cfg, &l);
    assert_ptr_equal(l.cfg, cfg);
}

/* Waits until the worker has `busy` exchanges (3 s at most). */
static void wait_busy(int busy)
{
    struct look_cfg l = { 0 };
    for (int i = 0; i < 150; i++) {
        rig_on_worker(look_cfg, &l);
        if (l.busy == busy)
            break;
        usleep(20 * 1000);
    }
    assert_int_equal(l.busy, busy);
}

static int refs(struct config *cfg)
{
    return __atomic_load_n(&cfg->refs, __ATOMIC_ACQUIRE);
}

/* A signed PUT of `body` with its last 5 bytes held back: its socket,
 * once the worker has the exchange open (whether the upstream has its
 * head yet does not matter here: the exchange holds its snapshot from its
 * start). */
static int start_held_put(const char *path, const char *body, size_t *n)
{
    *n = build_put(req, sizeof(req), AKID, SECRET, path, body, body, "");
    int fd = su_connect(rig_port());
    assert_true(fd >= 0);
    su_send(fd, req, *n - 5);
    wait_busy(1);
    return fd;
}

/* Sends the held bytes (well within the fake upstream's 3 s wait for
 * them), expects the 200, and waits until the exchange has ended. */
static void finish_held_put(int fd, size_t n)
{
    su_send(fd, req + n - 5, 5);
    bool closed;
    su_read(fd, resp, sizeof(resp), "\r\n\r\n", 1, 3000, &closed);
    close(fd);
    rig_assert_status(resp, "HTTP/1.1 200 OK");
    wait_busy(0);
}

/* A snapshot replaced (as SIGHUP does) while an exchange is on it lives
 * until that exchange ends, which finishes on it; with nothing on it, it
 * goes at once. The worker's exchanges borrow the worker's reference
 * (pl_cfg_borrow) and get their own only at the swap: a borrow not given
 * back keeps a replaced snapshot forever, one not turned into a reference
 * frees it under the exchange (an ASan report), and one given back to the
 * same snapshot installed again must still be a reference. */
static void test_reload_in_flight_keeps_snapshot(void **state)
{
    (void)state;
    struct config *a = config_ref(make_config(""));
    swap_to(a);
    assert_int_equal(refs(a), 3); /* the current one, the worker's, ours */
    swap_to(make_config(""));
    assert_int_equal(refs(a), 1);
    config_unref(a);

    a = config_ref(make_config(""));
    swap_to(a);
    /* one exchange on it ends before the swap (its borrow given back) */
    size_t n = build_put(req, sizeof(req), AKID, SECRET, "/bkt/before", "ended", "ended", "");
    exchange_n(req, n, "\r\n\r\n");
    rig_assert_status(resp, "HTTP/1.1 200 OK");
    wait_busy(0);
    int fd = start_held_put("/bkt/inflight", "in flight across a reload", &n);
    swap_to(make_config(""));
    assert_int_equal(refs(a), 2); /* ours and the exchange's */
    /* the same snapshot back before that exchange ends */
    swap_to(config_ref(a));
    assert_int_equal(refs(a), 4); /* + the current one, the worker's */
    finish_held_put(fd, n);
    assert_int_equal(refs(a), 3);
    swap_to(make_config(""));
    assert_int_equal(refs(a), 1);
    config_unref(a);
}

/* ---- STS errors in STS's XML ------------------------------------------------ */
#define STS_FORM "Action=GetCallerIdentity&Version=2011-06-15"

/* Sends GetCallerIdentity as a form POST to /, signed for sts as r says
 * (key, time, region, session token), and reads the answer until `until`. */
static void send_sts(struct rig_req r, const char *until)
{
    r.method = "POST";
    r.target = "/";
    r.service = "sts";
    r.unsigned_hdrs = "Content-Type: application/x-www-form-urlencoded\r\n";
    r.body = STS_FORM;
    rig_build(req, sizeof(req), &r);
    exchange(req, until);
}

static void test_sts_auth_errors_in_sts_xml(void **state)
{
    (void)state;
    install_config("\"sts\":{\"enabled\":true,\"keys\":[{\"id\":\"k1\",\"key\":"
                   "\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\","
                   "\"active\":true}]},");
    send_sts((struct rig_req){ .akid = "AKIANOTACONFIGKEY001", .secret = SECRET }, "</ErrorResponse>");
    assert_non_null(strstr(resp, "HTTP/1.1 403 Forbidden\r\nContent-Type: text/xml\r\n"));
    assert_non_null(strstr(resp, "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                                 "<Error><Type>Sender</Type><Code>InvalidClientTokenId</Code>"
                                 "<Message>The security token included in the request is invalid."
                                 "</Message></Error><RequestId>"));
    send_sts((struct rig_req){ .akid = AKID, .secret = "wrong-secret-0123456789abcdefghijklmnopq" },
             "</ErrorResponse>");
    assert_non_null(strstr(resp, "HTTP/1.1 403 Forbidden\r\n"));
    assert_non_null(strstr(resp, "<Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code>"));
    assert_null(strstr(resp, "<HostId>")); /* not S3's error form */
    /* signed 16 minutes ago or ahead: STS's SignatureDoesNotMatch with
     * its words, not S3's RequestTimeTooSkewed */
    for (int late = 1; late >= 0; late--) {
        int64_t at = (int64_t)time(NULL) + (late ? -16 * 60 : 16 * 60);
        send_sts((struct rig_req){ .akid = AKID, .secret = SECRET, .at = at }, "</ErrorResponse>");
        rig_assert_status(resp, "HTTP/1.1 403 Forbidden\r\n");
        char x[20], want[160];
        time_t t = (time_t)at;
        struct tm tm;
        strftime(x, sizeof(x), "%Y%m%dT%H%M%SZ", gmtime_r(&t, &tm));
        snprintf(want, sizeof(want), "<Code>SignatureDoesNotMatch</Code><Message>Signature %s: %s is %s than ",
                 late ? "expired" : "not yet current", x, late ? "now earlier" : "still later");
        if (!strstr(resp, want))
            fprintf(stderr, "want %s\ngot %s\n", want, resp);
        assert_non_null(strstr(resp, want));
        assert_non_null(strstr(resp, late ? " - 15 min.)</Message>" : " + 15 min.)</Message>"));
    }
    /* scoped to a region that is neither s3warden's nor us-east-1 (the
     * global endpoint's): STS's refusal */
    send_sts((struct rig_req){ .akid = AKID, .secret = SECRET, .region = "eu-west-1" },
             "</ErrorResponse>");
    rig_assert_status(resp, "HTTP/1.1 403 Forbidden\r\n");
    assert_non_null(strstr(resp, "<Code>SignatureDoesNotMatch</Code><Message>Credential should be "
                                 "scoped to a valid region, not &apos;eu-west-1&apos;.</Message>"));
    install_config("");
}

/* The STS Query API over GET, header-signed for sts (a presigned one, as
 * `aws eks get-token` makes, is in test_sts.py): answered by the local STS
 * with the parameters of its query; the same query signed for s3 stays an
 * S3 request (the parameter Action refused as unknown); with the local STS
 * off, refused. Nothing of it goes upstream. */
static void test_sts_signed_get(void **state)
{
    (void)state;
    install_config("\"sts\":{\"enabled\":true,\"keys\":[{\"id\":\"k1\",\"key\":"
                   "\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\","
                   "\"active\":true}]},");
    int r0 = rig_upstream_requests();
    struct rig_req r = { .akid = AKID, .secret = SECRET, .method = "GET", .target = "/?" STS_FORM,
                         .service = "sts" };
    rig_build(req, sizeof(req), &r);
    exchange(req, "</GetCallerIdentityResponse>");
    rig_assert_status(resp, "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n");
    assert_non_null(strstr(resp, "<GetCallerIdentityResult><Arn>arn:aws:iam::111111111111:user/w</Arn>"));
    /* a wrong secret: STS's error, not S3's */
    r.secret = "wrong-secret-0123456789abcdefghijklmnopq";
    rig_build(req, sizeof(req), &r);
    exchange(req, "</ErrorResponse>");
    rig_assert_status(resp, "HTTP/1.1 403 Forbidden\r\n");
    assert_non_null(strstr(resp, "<Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code>"));
    /* signed for s3: S3's answer to a query parameter it does not know */
    r.secret = SECRET;
    r.service = NULL;
    rig_build(req, sizeof(req), &r);
    exchange(req, "</Error>");
    rig_assert_status(resp, "HTTP/1.1 501 Not Implemented\r\n");
    assert_non_null(strstr(resp, "<Message>s3warden does not know the query parameter &apos;Action&apos;"));
    /* presigned: for sts, answered; for s3, S3's (its parse, which holds
     * a query's session token, wiped and freed on the way) */
    for (int sts = 1; sts >= 0; sts--) {
        struct s3w_header hh[1] = { { S3W_SLICE_LIT("Host"), s3w_slice_cstr(rig_host()) } };
        struct sigv4_sign_params sp = {
            .method = S3W_SLICE_LIT("GET"), .target = S3W_SLICE_LIT("/?" STS_FORM),
            .headers = hh, .n_headers = 1, .region = S3W_SLICE_LIT("us-east-1"),
            .service = sts ? S3W_SLICE_LIT("sts") : S3W_SLICE_LIT("s3"),
            .uri_mode = sts ? SIGV4_URI_GENERIC : SIGV4_URI_S3, .now = time(NULL),
        };
        struct sigv4_credentials cr = { S3W_SLICE_LIT(AKID), S3W_SLICE_LIT(SECRET), S3W_SLICE_NULL };
        struct s3w_buf target;
        s3w_buf_init(&target, 4096);
        struct sigv4_error err;
        assert_int_equal(sigv4_presign(&sp, &cr, 60, &target, &err), 0);
        snprintf(req, sizeof(req), "GET %.*s HTTP/1.1\r\nHost: %s\r\n\r\n", (int)target.len,
                 target.ptr, rig_host());
        s3w_buf_cleanup(&target);
        exchange(req, sts ? "</GetCallerIdentityResponse>" : "</Error>");
        rig_assert_status(resp, sts ? "HTTP/1.1 200 OK\r\n" : "HTTP/1.1 501 Not Implemented\r\n");
        assert_non_null(strstr(resp, sts ? "<Arn>arn:aws:iam::111111111111:user/w</Arn>"
                                         : "the query parameter &apos;Action&apos;"));
    }
    /* STS's presigned URLs live 15 minutes whatever X-Amz-Expires says
     * (an AWS maintainer in aws-iam-authenticator PR 160): a week asked,
     * signed 14 minutes ago answered, 16 minutes ago expired. A shorter
     * X-Amz-Expires is kept (the reading that refuses: AWS says STS does
     * not support it, so it may well ignore it) */
    static const struct { int64_t age, expires; const char *want; } life[] = {
        { 14 * 60, 604800, "HTTP/1.1 200 OK\r\n" },
        { 16 * 60, 604800, "HTTP/1.1 403 Forbidden\r\n" },
        { 120, 60, "HTTP/1.1 403 Forbidden\r\n" },
    };
    for (size_t i = 0; i < sizeof(life) / sizeof(life[0]); i++) {
        struct s3w_header hh[1] = { { S3W_SLICE_LIT("Host"), s3w_slice_cstr(rig_host()) } };
        struct sigv4_sign_params sp = {
            .method = S3W_SLICE_LIT("GET"), .target = S3W_SLICE_LIT("/?" STS_FORM),
            .headers = hh, .n_headers = 1, .region = S3W_SLICE_LIT("us-east-1"),
            .service = S3W_SLICE_LIT("sts"), .uri_mode = SIGV4_URI_GENERIC,
            .now = time(NULL) - life[i].age,
        };
        struct sigv4_credentials cr = { S3W_SLICE_LIT(AKID), S3W_SLICE_LIT(SECRET), S3W_SLICE_NULL };
        struct s3w_buf target;
        s3w_buf_init(&target, 4096);
        struct sigv4_error err;
        assert_int_equal(sigv4_presign(&sp, &cr, life[i].expires, &target, &err), 0);
        snprintf(req, sizeof(req), "GET %.*s HTTP/1.1\r\nHost: %s\r\n\r\n", (int)target.len,
                 target.ptr, rig_host());
        s3w_buf_cleanup(&target);
        exchange(req, "Response>");
        rig_assert_status(resp, life[i].want);
        if (strstr(life[i].want, "403"))
            assert_non_null(strstr(resp, "<Code>AccessDenied</Code><Message>Request has expired</Message>"));
    }
    /* the local STS off */
    install_config("");
    r.service = "sts";
    rig_build(req, sizeof(req), &r);
    exchange(req, "</Error>");
    rig_assert_status(resp, "HTTP/1.1 403 Forbidden\r\n");
    assert_non_null(strstr(resp, "<Code>AccessDenied</Code><Message>The local STS is disabled.</Message>"));
    rig_assert_upstream_requests(r0);
}

/* A session whose time is up: ExpiredToken from STS with STS's status,
 * 403 (S3 answers the same code with 400). The token is sealed here with
 * the configured key, its expiry past, as the local STS would have issued
 * it 2,000 s ago. */
/* PutObject and UploadPart without Content-Length (and not aws-chunked):
 * HTTP/1.1 frames no body, so forwarded as it is the upstream would store
 * an empty object and answer 200, while the bytes the client sends after
 * the head came in as its next request (the fifth probe saw both). S3's
 * 411 MissingContentLength, Connection: close, nothing upstream, and the
 * bytes after the head - here a whole request - never answered. A
 * CopyObject (no body) and a PutObject with Content-Length: 0 go on. */
static void test_put_without_length_is_411(void **state)
{
    (void)state;
    static const char *const targets[] = { "/bkt/nolength", "/bkt/nolength?partNumber=1&uploadId=u1" };
    for (size_t i = 0; i < 2; i++) {
        struct rig_req r = { .akid = AKID, .secret = SECRET, .method = "PUT", .target = targets[i],
                             .payload = "UNSIGNED-PAYLOAD", .framing = "",
                             .wire_body = "GET /bkt/smuggled HTTP/1.1\r\nHost: x\r\n\r\n" };
        size_t n = rig_build(req, sizeof(req), &r);
        int r0, r1;
        snapshot(&r0, NULL);
        /* read until s3warden closes (5 s if it did not) */
        rig_exchange(req, n, "\x01never", resp, sizeof(resp));
        assert_error("HTTP/1.1 411 Length Required\r\n", "MissingContentLength");
        assert_non_null(strstr(resp, "<Message>You must provide the Content-Length HTTP header.</Message>"));
        assert_non_null(strstr(resp, "\r\nConnection: close\r\n"));
        assert_null(strstr(resp + 1, "HTTP/1.1 ")); /* one answer only */
        snapshot(&r1, NULL);
        assert_int_equal(r1, r0);
    }
    struct rig_req copy = { .akid = AKID, .secret = SECRET, .method = "PUT", .target = "/bkt/copied",
                            .signed_hdrs = "x-amz-copy-source: /bkt/src\r\n", .framing = "" };
    expect_forwarded(rig_build(req, sizeof(req), &copy), "PUT /real-bkt/copied HTTP/1.1\r\n");
    struct rig_req empty = { .akid = AKID, .secret = SECRET, .method = "PUT", .target = "/bkt/empty" };
    expect_forwarded(rig_build(req, sizeof(req), &empty), "PUT /real-bkt/empty HTTP/1.1\r\n");
    assert_seen_body("");
}

/* A Host that is not host[:port] is refused before anything else reads
 * it (pl_route's forms: test_route.c) */
static void test_bad_host_is_400(void **state)
{
    (void)state;
    static const char *const form[][2] = { { "", ":1" }, { "u@", "" }, { "a,", "" } };
    for (size_t i = 0; i < 3; i++) {
        snprintf(req, sizeof req, "GET /bkt/k HTTP/1.1\r\nHost: %s127.0.0.1:%d%s\r\n\r\n",
                 form[i][0], rig_port(), form[i][1]);
        expect_refused(strlen(req), "HTTP/1.1 400 Bad Request\r\n", "InvalidArgument");
        assert_non_null(strstr(resp, "<Message>The Host header is not a valid host[:port].</Message>"));
    }
}

static void test_sts_expired_session_is_403(void **state)
{
    (void)state;
    struct config *cfg = make_config(
        "\"sts\":{\"enabled\":true,\"keys\":[{\"id\":\"k1\",\"key\":"
        "\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\","
        "\"active\":true}]},");
    assert_non_null(cfg);
    struct token_claims c;
    memset(&c, 0, sizeof c);
    c.issued = (int64_t)time(NULL) - 2000;
    c.expires = c.issued + 900;
    c.role_arn = S3W_SLICE_LIT("arn:aws:iam::111111111111:role/gone");
    c.role_unique_id = S3W_SLICE_LIT("AROAPIPELINEGONE0001");
    c.session_name = S3W_SLICE_LIT("old");
    struct s3w_buf tok;
    s3w_buf_init(&tok, TOKEN_MAX_B64 + 1);
    char akid[TOKEN_AKID_LEN + 1], secret[TOKEN_SECRET_LEN + 1];
    assert_int_equal(token_seal(&cfg->sts, &c, &tok, akid, secret), 0);
    rig_install_config(cfg);
    assert_int_equal(s3w_buf_append(&tok, "", 1), 0); /* NUL-terminated */
    send_sts((struct rig_req){ .akid = akid, .secret = secret, .token = tok.ptr }, "</ErrorResponse>");
    rig_assert_status(resp, "HTTP/1.1 403 Forbidden\r\n");
    assert_non_null(strstr(resp, "<Error><Type>Sender</Type><Code>ExpiredToken</Code><Message>The "
                                 "security token included in the request is expired</Message>"));
    /* the same session on S3: S3's code, words and status */
    struct rig_req g = { .akid = akid, .secret = secret, .method = "GET", .target = "/bkt/k",
                         .token = tok.ptr };
    rig_build(req, sizeof(req), &g);
    exchange(req, "</Error>");
    rig_assert_status(resp, "HTTP/1.1 400 Bad Request\r\n");
    assert_non_null(strstr(resp, "<Code>ExpiredToken</Code><Message>The provided token has expired."
                                 "</Message>"));
    s3w_buf_cleanup(&tok);
    install_config("");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allowed_put_resigned),
        cmocka_unit_test(test_tampered_body_never_completes),
        cmocka_unit_test(test_denied_expect_continue),
        cmocka_unit_test(test_unsigned_amz_header_refused),
        cmocka_unit_test(test_tagging_deny_on_body_tag_key),
        cmocka_unit_test(test_tagging_other_key_allowed),
        cmocka_unit_test(test_tagging_tampered_body_refused),
        cmocka_unit_test(test_unlisted_bucket_denied),
        cmocka_unit_test(test_unlisted_bucket_caller_account),
        cmocka_unit_test(test_unlisted_buckets_bad_value),
        cmocka_unit_test(test_v4a_allowed_put),
        cmocka_unit_test(test_v4a_presigned_put),
        cmocka_unit_test(test_v4a_denied_by_policy),
        cmocka_unit_test(test_v4a_wrong_region_set),
        cmocka_unit_test(test_v4a_bad_signature),
        cmocka_unit_test(test_v4a_stream_verified_and_reframed),
        cmocka_unit_test(test_v4a_stream_tampered_chunk),
        cmocka_unit_test(test_max_header_bytes),
        cmocka_unit_test(test_upstream_virtual_addressing),
        cmocka_unit_test(test_upstream_first_byte_timeout),
        cmocka_unit_test(test_sts_auth_errors_in_sts_xml),
        cmocka_unit_test(test_sts_signed_get),
        cmocka_unit_test(test_sts_expired_session_is_403),
        cmocka_unit_test(test_put_without_length_is_411),
        cmocka_unit_test(test_bad_host_is_400),
        cmocka_unit_test(test_reload_in_flight_keeps_snapshot),
    };
    return rig_run_group(tests, &opts);
}
