/* test_pipeline_review.c - findings of a security review of the request
 * pipeline, each as a test that failed before its fix, against a recording
 * fake upstream (the style of test_pipeline.c):
 *  - R1 a raw '#' in the request target: curl drops everything after it
 *    from the URL it sends, so the operation authorized (from the whole
 *    query) and the one the upstream performs differ; refused as InvalidURI;
 *  - R2 x-amz-copy-source names the caller's (local) bucket: it goes
 *    upstream with the bucket's upstream_name, the same object that was
 *    authorized, never the upstream bucket that happens to carry the local
 *    name; a copy source given as a query parameter too;
 *  - R3 Transfer-Encoding: chunked without an aws-chunked payload: the
 *    upstream got Content-Length: 0 at once (an empty object created before
 *    the signed hash was checked); refused as S3 refuses it, 501 NotImplemented
 *    naming <Header>Transfer-Encoding</Header>;
 *  - R4 an upstream credential error (ExpiredToken, InvalidToken,
 *    InvalidAccessKeyId, SignatureDoesNotMatch) reaches the client with its
 *    status and code but without the upstream's body, which names the
 *    proxy's key id and session token - also on collected answers;
 *  - R6 an anonymous request's x-amz-* headers, which the policy evaluated,
 *    reach the upstream (a Deny on unencrypted uploads held only on paper);
 *  - R7 bodies over 5 GiB are EntityTooLarge: from 2^63 on curl sent the PUT
 *    unframed (an empty object, and the client's bytes as a new request);
 *  - R8 a CR in a DeleteObjects key goes upstream as &#13;, not as a raw CR
 *    that the upstream's XML parser reads as LF (another key);
 *  - R9 a configured bucket's upstream_name is not an "unlisted" bucket
 *    that caller_account mode opens to identity policies alone;
 *  - R10 x-amz-checksum-<algo> / Content-MD5 of a plain body are verified
 *    by s3warden, the last byte held back until they match (BadDigest);
 *  - R11-R14, a hostile probe's: x-amz-expected-bucket-owner (and the copy
 *    source's) was checked only by GetBucketPolicy, and went upstream,
 *    where it is compared with the proxy's account; an anonymous GET could
 *    override the response's headers (text/html from a public bucket); a
 *    key of 1025 to 3072 bytes was InvalidURI, not KeyTooLongError; R14 an
 *    unknown query parameter's 501 did not say what it refused;
 *  - R15, probe 33's: the Content-MD5 or x-amz-checksum- of a body held
 *    whole (DeleteObjects, PutObjectTagging) was never checked, and a
 *    DeleteObjects' conditions (ETag, LastModifiedTime, Size) were dropped;
 *    an x-amz-sdk-checksum-algorithm of another algorithm than the checksum
 *    header was passed on (and CompleteMultipartUpload's whole-object
 *    checksum was checked against its XML);
 *  - gap (a): those credential errors make the credential manager fetch
 *    again; other errors do not;
 *  - gap (b): the audit record's errorCode is the upstream's <Code> when its
 *    error body is small; null for a big one (never buffered for this). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "audit.h"
#include "creds_fetch.h"
#include "exchange.h"
#include "pipeline_rig.h"
#include "sockutil.h"
#include "upstream.h"

/* ---- fake upstream ----------------------------------------------------------- */
#define BIG_ERR_BYTES (48 * 1024)
#define UP_AKID "AKIAUPSTREAMREVIEW01"
#define UP_TOKEN "UPSTREAMSESSIONTOKEN0123456789"

static void up_answer(int fd, const char *head)
{
    /* S3's credential errors name the credentials they refuse: the token
     * (<Token-0>), the key id, the canonical request with the token header */
    static const char *const errs[][4] = {
        /* path marker, status line, S3 error code, extra elements */
        { "/err-expired", "400 Bad Request", "ExpiredToken",
          "<Token-0>" UP_TOKEN "</Token-0>" },
        { "/err-badkey", "403 Forbidden", "InvalidAccessKeyId",
          "<AWSAccessKeyId>" UP_AKID "</AWSAccessKeyId>" },
        { "/err-sig", "403 Forbidden", "SignatureDoesNotMatch",
          "<AWSAccessKeyId>" UP_AKID "</AWSAccessKeyId><CanonicalRequest>GET\n/real-bkt/err-sig\n\n"
          "x-amz-security-token:" UP_TOKEN "\n</CanonicalRequest>" },
        { "/err-denied", "403 Forbidden", "AccessDenied", "" },
        { "/err-nokey", "404 Not Found", "NoSuchKey", "" },
    };
    char line[256];
    const char *sp = strchr(head, ' ');
    size_t tl = sp ? strcspn(sp + 1, " ") : 0;
    snprintf(line, sizeof(line), "%.*s", (int)tl, sp ? sp + 1 : "");
    for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
        if (!strstr(line, errs[i][0]))
            continue;
        char body[1024], out[2048];
        int bl = snprintf(body, sizeof(body),
                          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code>"
                          "<Message>upstream says so</Message>%s<RequestId>UPERR</RequestId></Error>",
                          errs[i][2], errs[i][3]);
        snprintf(out, sizeof(out),
                 "HTTP/1.1 %s\r\nx-amz-request-id: UPSTREAM1\r\nContent-Type: application/xml\r\n"
                 "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
                 errs[i][1], bl, strncmp(head, "HEAD ", 5) == 0 ? "" : body);
        su_send_str(fd, out);
        return;
    }
    if (strstr(line, "/real-pub?delete")) {
        /* a 200 that is no DeleteResult */
        su_send_str(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: 7\r\n"
                        "Connection: close\r\n\r\n<Oops/>");
        return;
    }
    if (strstr(line, "/err-big")) {
        /* an error whose body is far over any small-error cap */
        static char big[BIG_ERR_BYTES + 512];
        int n = snprintf(big, sizeof(big),
                         "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/xml\r\n"
                         "Content-Length: %d\r\nConnection: close\r\n\r\n"
                         "<Error><Code>SlowDown</Code><Message>",
                         BIG_ERR_BYTES);
        size_t pre = strlen("<Error><Code>SlowDown</Code><Message>");
        memset(big + n, 'x', BIG_ERR_BYTES - pre);
        su_send(fd, big, (size_t)n + BIG_ERR_BYTES - pre);
        return;
    }
    rig_answer_ok(fd, head);
}

/* ---- s3warden under test ------------------------------------------------------- */
#define AKID "AKIAREVIEWTEST000001"
#define SECRET "reviewSecretKey/0123456789abcdefghijklmn"
#define ACL_AKID "AKIAREVIEWACLONLY001"
#define ACL_SECRET "reviewAclOnlySecret/0123456789abcdefghij"

/* top_extra: leading top-level fields ("\"name\":value,") */
static struct config *make_config_top(const char *top_extra)
{
    return rig_config(&(struct rig_cfg){
        .top = top_extra, .up_akid = UP_AKID,
        .accounts = "{\"id\":\"111111111111\"},{\"id\":\"222222222222\"}",
        .akid = AKID, .secret = SECRET,
        .more_users = ",{\"account\":\"111111111111\",\"name\":\"acl\",\"unique_id\":\"AIDAREVIEW00000002\","
            "\"access_keys\":[{\"id\":\"" ACL_AKID "\",\"secret\":\"" ACL_SECRET "\"}],"
            "\"policies\":[{\"name\":\"aclonly\",\"document\":{\"Version\":\"2012-10-17\","
            "\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"s3:GetObjectAcl\","
            "\"s3:GetObjectVersionAcl\"],\"Resource\":\"*\"}]}}]}",
        .buckets = "{\"name\":\"bkt\",\"account\":\"111111111111\",\"upstream_name\":\"real-bkt\"},"
            /* keys under keep/ may not be deleted (a DeleteObjects of mixed
             * verdicts) */
            "{\"name\":\"src\",\"account\":\"111111111111\",\"upstream_name\":\"real-src\","
            "\"policy\":{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\",\"Principal\":\"*\","
            "\"Action\":\"s3:DeleteObject\",\"Resource\":\"arn:aws:s3:::src/keep/*\"}]}},"
            /* a bucket whose upstream answers SignatureDoesNotMatch (up_answer) */
            "{\"name\":\"err-sig-b\",\"account\":\"111111111111\"},"
            /* another account's bucket, no bucket policy: closed to "w" */
            "{\"name\":\"other\",\"account\":\"222222222222\",\"upstream_name\":\"real-other\"},"
            /* public write, but only server-side encrypted (the usual "deny
             * unencrypted uploads" statement) */
            "{\"name\":\"pub\",\"account\":\"111111111111\",\"upstream_name\":\"real-pub\","
            "\"policy\":{\"Version\":\"2012-10-17\",\"Statement\":["
            "{\"Sid\":\"PublicWrite\",\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:PutObject\","
            "\"Resource\":\"arn:aws:s3:::pub/*\"},"
            "{\"Sid\":\"RequireSSE\",\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:PutObject\","
            "\"Resource\":\"arn:aws:s3:::pub/*\",\"Condition\":{\"Null\":"
            "{\"s3:x-amz-server-side-encryption\":\"true\"}}}]}}" });
}

static struct config *make_config(void)
{
    return make_config_top("");
}

/* the proxy's credentials through a manager, as main() runs them, so a
 * refresh can be observed */
static const struct rig_opts opts = {
    .make_config = make_config, .answer = up_answer, .audit_file = true, .creds_manager = true,
};

/* A header-signed request: `target` as sent; `signed_hdrs` are "name: value"
 * lines (CRLF-terminated) that are signed beside Host; `payload` is the
 * x-amz-content-sha256 value (NULL = sha256 of body); `framing` is the
 * Content-Length / Transfer-Encoding line(s) (NULL = Content-Length of
 * body); `wire_body` is sent after the head as is. */
static void build(char *out, size_t cap, const char *akid, const char *secret,
                  const char *method, const char *target, const char *signed_hdrs,
                  const char *payload, const char *framing, const char *body,
                  const char *wire_body)
{
    struct rig_req r = { .akid = akid, .secret = secret, .method = method, .target = target,
                         .signed_hdrs = signed_hdrs, .payload = payload, .framing = framing,
                         .body = body, .wire_body = wire_body };
    rig_build(out, cap, &r);
}

static char req[16384], resp[128 * 1024];

static void exchange(const char *r, const char *until)
{
    rig_exchange(r, strlen(r), until, resp, sizeof(resp));
}

static void snapshot(int *reqs, int *complete)
{
    rig_counts(100, reqs, complete); /* let the fake upstream record what it got */
}

#define assert_prefix(s, p) assert_true(strncmp((s), (p), strlen(p)) == 0)

static void last_head(char *out, size_t cap)
{
    static struct rig_seen seen;
    rig_seen(&seen);
    snprintf(out, cap, "%s", seen.last_head);
}

/* ---- R1: '#' in the target ------------------------------------------------------ */
static void test_fragment_in_query_refused(void **state)
{
    (void)state;
    int r0, c0, r1, c1;
    snapshot(&r0, &c0);
    /* "acl" may only read ACLs. The whole query maps to GetObjectAcl (with a
     * versionId "null#"); curl would send "?versionId=null" - a GetObject
     * of the object's content */
    build(req, sizeof(req), ACL_AKID, ACL_SECRET, "GET", "/bkt/secret?versionId=null#&acl", NULL,
          NULL, "", "", "");
    exchange(req, "</Error>");
    assert_non_null(strstr(resp, "HTTP/1.1 400 Bad Request\r\n"));
    assert_non_null(strstr(resp, "<Code>InvalidURI</Code><Message>Couldn&apos;t parse the specified "
                                 "URI.</Message>"));
    snapshot(&r1, &c1);
    assert_int_equal(r1, r0);
    /* in the path as well: nothing sends a raw '#' (SDKs encode it %23) */
    build(req, sizeof(req), AKID, SECRET, "GET", "/bkt/a#b", NULL, NULL, "", "", "");
    exchange(req, "</Error>");
    assert_non_null(strstr(resp, "HTTP/1.1 400 Bad Request\r\n"));
    assert_non_null(strstr(resp, "<Code>InvalidURI</Code>"));
    snapshot(&r1, &c1);
    assert_int_equal(r1, r0);
    /* %23 is a key byte like any other and goes through */
    build(req, sizeof(req), AKID, SECRET, "GET", "/bkt/a%23b", NULL, NULL, "", "", "");
    exchange(req, "\r\n\r\n");
    assert_non_null(strstr(resp, "HTTP/1.1 200 OK\r\n"));
    char head[8192];
    last_head(head, sizeof(head));
    assert_prefix(head, "GET /real-bkt/a%23b HTTP/1.1\r\n");
}

/* A GET that came with a body: the body is not passed on, so the proxy
 * signs the hash of none, not the caller's hash of the body (probe 23). */
static void test_get_body_not_signed_upstream(void **state)
{
    (void)state;
    build(req, sizeof(req), AKID, SECRET, "GET", "/bkt/with-body", NULL, NULL, NULL, "BODYBODY",
          "BODYBODY");
    exchange(req, "\r\n\r\n");
    assert_non_null(strstr(resp, "HTTP/1.1 200 OK\r\n"));
    char head[8192];
    last_head(head, sizeof(head));
    assert_prefix(head, "GET /real-bkt/with-body HTTP/1.1\r\n");
    assert_non_null(strstr(head, "\r\nx-amz-content-sha256: "
                                 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\r\n"));
    assert_null(strstr(head, "Content-Length"));
}

/* ---- R2: x-amz-copy-source and bucket aliases ----------------------------------- */
static void test_copy_source_uses_upstream_name(void **state)
{
    (void)state;
    int r0, c0, r1, c1;
    char head[8192];
    snapshot(&r0, &c0);
    build(req, sizeof(req), AKID, SECRET, "PUT", "/bkt/dst",
          "x-amz-copy-source: /src/dir/a%20b.txt?versionId=v1.2\r\n", NULL, NULL, "", "");
    exchange(req, "\r\n\r\n");
    assert_non_null(strstr(resp, "HTTP/1.1 200 OK\r\n"));
    snapshot(&r1, &c1);
    assert_int_equal(r1, r0 + 1);
    last_head(head, sizeof(head));
    assert_prefix(head, "PUT /real-bkt/dst HTTP/1.1\r\n");
    /* the authorized source (local "src") is upstream "real-src" */
    assert_non_null(strstr(head, "\r\nx-amz-copy-source: /real-src/dir/a%20b.txt?versionId=v1.2\r\n"));
    assert_null(strstr(head, "/src/dir"));
    /* without a leading slash and without a version */
    build(req, sizeof(req), AKID, SECRET, "PUT", "/bkt/dst2", "x-amz-copy-source: bkt/k\r\n",
          NULL, NULL, "", "");
    exchange(req, "\r\n\r\n");
    assert_non_null(strstr(resp, "HTTP/1.1 200 OK\r\n"));
    last_head(head, sizeof(head));
    assert_non_null(strstr(head, "\r\nx-amz-copy-source: /real-bkt/k\r\n"));
}

static void test_copy_source_query_param_mapped(void **state)
{
    (void)state;
    char head[8192];
    /* hoisted into the query (presigners move x-amz-* headers there): the
     * upstream gets it once, as a header, mapped; not the raw parameter */
    build(req, sizeof(req), AKID, SECRET, "PUT", "/bkt/dst3?x-amz-copy-source=src%2Fk3", NULL, NULL,
          NULL, "", "");
    exchange(req, "\r\n\r\n");
    last_head(head, sizeof(head));
    assert_non_null(strstr(resp, "HTTP/1.1 200 OK\r\n"));
    assert_prefix(head, "PUT /real-bkt/dst3 HTTP/1.1\r\n");
    assert_non_null(strstr(head, "\r\nx-amz-copy-source: /real-src/k3\r\n"));
}

/* ---- R3: Transfer-Encoding: chunked without aws-chunked ------------------------- */
static void test_te_chunked_plain_payload_refused(void **state)
{
    (void)state;
    int r0, c0, r1, c1;
    static const char *const modes[] = { NULL, "UNSIGNED-PAYLOAD" };
    /* with x-amz-decoded-content-length (px_choose_body_mode) and without
     * (stage_admit): S3's answer either way */
    static const char *const decoded[] = { "x-amz-decoded-content-length: 3\r\n", "" };
    for (size_t i = 0; i < 4; i++) {
        snapshot(&r0, &c0);
        /* signed for "abc", sent as "xyz" in HTTP chunked framing: before,
         * the upstream got Content-Length: 0 at once - an empty object
         * created before the hash check */
        build(req, sizeof(req), AKID, SECRET, "PUT", "/bkt/te-obj", decoded[i / 2], modes[i % 2],
              "Transfer-Encoding: chunked\r\n", "abc", "3\r\nxyz\r\n0\r\n\r\n");
        exchange(req, "</Error>");
        assert_non_null(strstr(resp, "HTTP/1.1 501 Not Implemented\r\n"));
        assert_non_null(strstr(resp, "<Code>NotImplemented</Code><Message>A header you provided "
                                     "implies functionality that is not implemented.</Message>"
                                     "<Header>Transfer-Encoding</Header>"));
        snapshot(&r1, &c1);
        assert_int_equal(r1, r0);
        assert_int_equal(c1, c0);
    }
    /* an aws-chunked body without x-amz-decoded-content-length has no
     * length at all: 411, not the 501 of a body that is not aws-chunked */
    build(req, sizeof(req), AKID, SECRET, "PUT", "/bkt/te-obj", "", "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
          "Transfer-Encoding: chunked\r\n", "", "3\r\nxyz\r\n0\r\n\r\n");
    exchange(req, "</Error>");
    assert_non_null(strstr(resp, "HTTP/1.1 411 Length Required\r\n"));
    assert_non_null(strstr(resp, "<Code>MissingContentLength</Code>"));
}

/* ---- R11: x-amz-expected-bucket-owner -------------------------------------------- */
static void test_expected_bucket_owner(void **state)
{
    (void)state;
    int r0, c0, r1, c1;
    char head[8192];
    /* the configured owner: served, and the header stays here (the
     * upstream would compare it with its own bucket's owner) */
    snapshot(&r0, &c0);
    build(req, sizeof(req), AKID, SECRET, "GET", "/bkt/k",
          "x-amz-expected-bucket-owner: 111111111111\r\n", NULL, NULL, "", "");
    exchange(req, "\r\n\r\n");
    assert_non_null(strstr(resp, "HTTP/1.1 200 OK\r\n"));
    snapshot(&r1, &c1);
    assert_int_equal(r1, r0 + 1);
    last_head(head, sizeof(head));
    assert_prefix(head, "GET /real-bkt/k HTTP/1.1\r\n");
    assert_null(strcasestr(head, "expected-bucket-owner"));
    /* another account, on a read, a write and a copy's source: 403, and
     * nothing reaches the upstream */
    static const struct {
        const char *method, *target, *hdrs;
    } wrong[] = {
        { "GET", "/bkt/k", "x-amz-expected-bucket-owner: 222222222222\r\n" },
        { "PUT", "/bkt/new", "x-amz-expected-bucket-owner: 11111111111\r\n" },
        { "GET", "/bkt?list-type=2", "x-amz-expected-bucket-owner: \r\n" },
        { "PUT", "/bkt/copy", "x-amz-copy-source: /src/k\r\n"
                              "x-amz-expected-bucket-owner: 111111111111\r\n"
                              "x-amz-source-expected-bucket-owner: 222222222222\r\n" },
    };
    for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
        snapshot(&r0, &c0);
        build(req, sizeof(req), AKID, SECRET, wrong[i].method, wrong[i].target, wrong[i].hdrs,
              NULL, NULL, "", "");
        exchange(req, "</Error>");
        assert_non_null(strstr(resp, "HTTP/1.1 403 Forbidden\r\n"));
        assert_non_null(strstr(resp, "<Code>AccessDenied</Code><Message>Access Denied</Message>"));
        snapshot(&r1, &c1);
        assert_int_equal(r1, r0);
    }
    /* both right on a copy: served, neither header upstream */
    build(req, sizeof(req), AKID, SECRET, "PUT", "/bkt/copy2",
          "x-amz-copy-source: /src/k\r\nx-amz-expected-bucket-owner: 111111111111\r\n"
          "x-amz-source-expected-bucket-owner: 111111111111\r\n", NULL, NULL, "", "");
    exchange(req, "\r\n\r\n");
    assert_non_null(strstr(resp, "HTTP/1.1 200 OK\r\n"));
    last_head(head, sizeof(head));
    assert_prefix(head, "PUT /real-bkt/copy2 HTTP/1.1\r\n");
    assert_non_null(strstr(head, "\r\nx-amz-copy-source: /real-src/k\r\n"));
    assert_null(strcasestr(head, "expected-bucket-owner"));
    /* as query parameters (presigners hoist x-amz-* headers there): the
     * same check, and not passed on */
    snapshot(&r0, &c0);
    build(req, sizeof(req), AKID, SECRET, "GET", "/bkt/k?x-amz-expected-bucket-owner=222222222222",
          NULL, NULL, NULL, "", "");
    exchange(req, "</Error>");
    assert_non_null(strstr(resp, "<Code>AccessDenied</Code><Message>Access Denied</Message>"));
    build(req, sizeof(req), AKID, SECRET, "PUT", "/bkt/copy3?x-amz-source-expected-bucket-owner=2",
          "x-amz-copy-source: /src/k\r\n", NULL, NULL, "", "");
    exchange(req, "</Error>");
    assert_non_null(strstr(resp, "<Code>AccessDenied</Code><Message>Access Denied</Message>"));
    /* header and query both: two values, neither picked */
    build(req, sizeof(req), AKID, SECRET, "GET", "/bkt/k?x-amz-expected-bucket-owner=111111111111",
          "x-amz-expected-bucket-owner: 111111111111\r\n", NULL, NULL, "", "");
    exchange(req, "</Error>");
    assert_non_null(strstr(resp, "HTTP/1.1 400 Bad Request\r\n"));
    assert_non_null(strstr(resp, "<Code>InvalidArgument</Code>"));
    snapshot(&r1, &c1);
    assert_int_equal(r1, r0);
    build(req, sizeof(req), AKID, SECRET, "GET",
          "/bkt/k?x-amz-expected-bucket-owner=111111111111&versionId=v1", NULL, NULL, NULL, "", "");
    exchange(req, "\r\n\r\n");
    assert_non_null(strstr(resp, "HTTP/1.1 200 OK\r\n"));
    last_head(head, sizeof(head));
    assert_prefix(head, "GET /real-bkt/k?versionId=v1 HTTP/1.1\r\n");
    /* GetBucketCors, answered here, checks it too */
    build(req, sizeof(req), AKID, SECRET, "GET", "/bkt?cors",
          "x-amz-expected-bucket-owner: 222222222222\r\n", NULL, NULL, "", "");
    exchange(req, "</Error>");
    assert_non_null(strstr(resp, "<Code>AccessDenied</Code><Message>Access Denied</Message>"));
}

/* ---- R12: response header overrides are for signed requests only ----------------- */
static void test_anonymous_response_overrides_refused(void **state)
{
    (void)state;
    int r0, c0, r1, c1;
    char head[8192];
    static const char *const q[] = { "response-content-type=text%2Fhtml",
                                     "response-content-disposition=attachment",
                                     "response-cache-control=no-cache", "response-expires=0",
                                     "response-content-language=en",
                                     "response-content-encoding=gzip" };
    for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
        snapshot(&r0, &c0);
        /* "pub" lets anyone write, so not the policy: the parameter refuses */
        snprintf(req, sizeof(req), "GET /pub/page?%s HTTP/1.1\r\nHost: %s\r\n\r\n", q[i],
                 rig_host());
        exchange(req, "</Error>");
        assert_non_null(strstr(resp, "HTTP/1.1 400 Bad Request\r\n"));
        assert_non_null(strstr(resp, "<Code>InvalidRequest</Code><Message>Request specific response "
                                     "headers cannot be used for anonymous GET requests.</Message>"));
        snapshot(&r1, &c1);
        assert_int_equal(r1, r0);
    }
    /* signed, the same query goes upstream as given */
    build(req, sizeof(req), AKID, SECRET, "GET", "/bkt/page?response-content-type=text%2Fhtml",
          NULL, NULL, NULL, "", "");
    exchange(req, "\r\n\r\n");
    assert_non_null(strstr(resp, "HTTP/1.1 200 OK\r\n"));
    last_head(head, sizeof(head));
    assert_prefix(head, "GET /real-bkt/page?response-content-type=text%2Fhtml HTTP/1.1\r\n");
}

/* ---- R14: a query parameter s3warden does not know --------------------------------- */
static void test_unknown_query_parameter_named(void **state)
{
    (void)state;
    /* a parameter s3warden does not know is refused (S3 would ignore a
     * cache buster; s3warden cannot tell one from a new subresource), and
     * named when it can be shown as it is */
    build(req, sizeof(req), AKID, SECRET, "GET", "/bkt/page?v=3", NULL, NULL, NULL, "", "");
    exchange(req, "</Error>");
    assert_non_null(strstr(resp, "HTTP/1.1 501 Not Implemented\r\n"));
    assert_non_null(strstr(resp, "<Code>NotImplemented</Code><Message>s3warden does not know the "
                                 "query parameter &apos;v&apos;, and refuses the request rather "
                                 "than guess which operation it selects.</Message>"));
    build(req, sizeof(req), AKID, SECRET, "GET", "/bkt/page?%3Cv%3E%07=3", NULL, NULL, NULL, "", "");
    exchange(req, "</Error>");
    assert_non_null(strstr(resp, "<Code>NotImplemented</Code><Message>A header you provided implies "
                                 "functionality that is not implemented</Message>"));
}

/* ---- R13: keys over 1024 bytes ------------------------------------------------------ */
static void test_key_too_long(void **state)
{
    (void)state;
    int r0, c0, r1, c1;
    static char target[4 * 1024];
    /* 1025 bytes as sent; 1025 bytes that arrive as 3075 (%41 each, under
     * the old 3 x 1024 rule); 1024 bytes fit */
    static const struct {
        size_t n;
        bool encoded, fits;
    } keys[] = { { 1025, false, false }, { 1025, true, false }, { 1024, true, true } };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        size_t o = (size_t)snprintf(target, sizeof(target), "/bkt/");
        for (size_t k = 0; k < keys[i].n; k++)
            o += (size_t)snprintf(target + o, sizeof(target) - o, "%s", keys[i].encoded ? "%41" : "k");
        snapshot(&r0, &c0);
        build(req, sizeof(req), AKID, SECRET, "GET", target, NULL, NULL, NULL, "", "");
        if (keys[i].fits) {
            exchange(req, "\r\n\r\n");
            assert_non_null(strstr(resp, "HTTP/1.1 200 OK\r\n"));
            continue;
        }
        exchange(req, "</Error>");
        assert_non_null(strstr(resp, "HTTP/1.1 400 Bad Request\r\n"));
        assert_non_null(strstr(resp, "<Code>KeyTooLongError</Code><Message>Your key is too long</Message>"));
        snapshot(&r1, &c1);
        assert_int_equal(r1, r0);
    }
}

/* ---- R7: body lengths curl cannot carry ----------------------------------------- */
static void test_body_length_capped(void **state)
{
    (void)state;
    int r0, c0, r1, c1;
    /* Content-Length >= 2^63 is a negative curl_off_t: curl sent the PUT
     * with no framing at all - an empty object at once, and the client's
     * "body" raw on the upstream connection (a smuggled request) */
    static const char *const lens[] = { "9223372036854775808", "18446744073709551615",
                                        "5368709121" /* 5 GiB + 1: S3's single-PUT limit */ };
    for (size_t i = 0; i < 3; i++) {
        snapshot(&r0, &c0);
        char framing[64];
        snprintf(framing, sizeof(framing), "Content-Length: %s\r\n", lens[i]);
        build(req, sizeof(req), AKID, SECRET, "PUT", "/bkt/huge", NULL, "UNSIGNED-PAYLOAD", framing,
              "", "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n");
        exchange(req, "</Error>");
        assert_non_null(strstr(resp, "HTTP/1.1 400 Bad Request\r\n"));
        assert_non_null(strstr(resp, "<Code>EntityTooLarge</Code><Message>Your proposed upload "
                                     "exceeds the maximum allowed object size.</Message>"));
        snapshot(&r1, &c1);
        assert_int_equal(r1, r0);
    }
    /* the same through x-amz-decoded-content-length (aws-chunked) */
    static const char *const dlens[] = { "9223372036854775808", "5368709121" };
    for (size_t i = 0; i < 2; i++) {
        snapshot(&r0, &c0);
        char hdrs[160];
        snprintf(hdrs, sizeof(hdrs),
                 "Content-Encoding: aws-chunked\r\nx-amz-decoded-content-length: %s\r\n", dlens[i]);
        build(req, sizeof(req), AKID, SECRET, "PUT", "/bkt/huge-chunked", hdrs,
              "STREAMING-UNSIGNED-PAYLOAD-TRAILER", NULL, "", "5\r\nhello\r\n0\r\n\r\n");
        exchange(req, "</Error>");
        assert_non_null(strstr(resp, "HTTP/1.1 400 Bad Request\r\n"));
        assert_non_null(strstr(resp, "<Code>EntityTooLarge</Code>"));
        snapshot(&r1, &c1);
        assert_int_equal(r1, r0);
    }
}

/* ---- R8: DeleteObjects keys with a carriage return ------------------------------ */
static void test_delete_objects_cr_key(void **state)
{
    (void)state;
    char body[4096];
    /* the keys s3warden authorizes hold a CR (one as a character
     * reference, one raw); an XML parser turns a raw CR in the rebuilt body
     * into LF (XML 1.0 2.11), so the upstream would delete other keys */
    snprintf(body, sizeof(body),
             "<Delete><Object><Key>a&#13;b</Key></Object><Object><Key>c\rd</Key></Object></Delete>");
    build(req, sizeof(req), AKID, SECRET, "POST", "/bkt?delete", NULL, NULL, NULL, body, body);
    exchange(req, "\r\n\r\n");
    assert_non_null(strstr(resp, "HTTP/1.1 200 OK\r\n"));
    usleep(150 * 1000);
    static struct rig_seen seen;
    rig_seen(&seen);
    char got[4096];
    snprintf(got, sizeof(got), "%.*s", (int)seen.last_body_kept, seen.last_body);
    assert_non_null(strstr(got, "<Object><Key>a&#13;b</Key></Object><Object><Key>c&#13;d</Key></Object>"));
    assert_null(strchr(got, '\r'));
}

/* ---- R9: a configured bucket's upstream name is not an unlisted bucket -------- */
static void install_config(const char *top_extra)
{
    rig_install_config(make_config_top(top_extra));
}

static void test_upstream_name_not_unlisted(void **state)
{
    (void)state;
    int r0, c0, r1, c1;
    char head[8192];
    install_config("\"unlisted_buckets\":\"caller_account\",");
    snapshot(&r0, &c0);
    /* "other" belongs to 222222222222 and has no bucket policy: closed */
    build(req, sizeof(req), AKID, SECRET, "GET", "/other/x", NULL, NULL, "", "", "");
    exchange(req, "</Error>");
    assert_non_null(strstr(resp, "HTTP/1.1 403 Forbidden\r\n"));
    /* its upstream name is the same bucket: not an unlisted one that the
     * caller's own identity policy (s3:* on *) may open */
    build(req, sizeof(req), AKID, SECRET, "GET", "/real-other/x", NULL, NULL, "", "", "");
    exchange(req, "</Error>");
    assert_non_null(strstr(resp, "HTTP/1.1 403 Forbidden\r\n"));
    assert_non_null(strstr(resp, "<Message>User: arn:aws:iam::111111111111:user/w is not authorized "
                                 "to perform: s3:GetObject on resource: &quot;arn:aws:s3:::real-other/x"
                                 "&quot; because the bucket is not configured in s3warden</Message>"));
    /* nor as a copy source */
    build(req, sizeof(req), AKID, SECRET, "PUT", "/bkt/stolen", "x-amz-copy-source: /real-other/x\r\n",
          NULL, NULL, "", "");
    exchange(req, "</Error>");
    assert_non_null(strstr(resp, "HTTP/1.1 403 Forbidden\r\n"));
    snapshot(&r1, &c1);
    assert_int_equal(r1, r0);
    /* a bucket nobody configured still follows "caller_account" */
    build(req, sizeof(req), AKID, SECRET, "GET", "/free-bkt/x", NULL, NULL, "", "", "");
    exchange(req, "\r\n\r\n");
    assert_non_null(strstr(resp, "HTTP/1.1 200 OK\r\n"));
    last_head(head, sizeof(head));
    assert_prefix(head, "GET /free-bkt/x HTTP/1.1\r\n");
    install_config("");
}

/* ---- R10: whole-body checksum headers on plain bodies --------------------------- */
/* base64 digests of "hello" (python3: zlib.crc32, hashlib.md5/sha256) */
#define HELLO_CRC32 "NhCmhg=="
#define HELLO_MD5 "XUFAKrxLKna5cZ2REBfFkg=="
#define HELLO_SHA256 "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ="

static void test_body_checksum_headers_verified(void **state)
{
    (void)state;
    int r0, c0, r1, c1;
    char head[8192];
    /* UNSIGNED-PAYLOAD: the signature does not cover the body, the signed
     * checksum does; a body changed in flight never completes upstream
     * (many S3-compatible stores do not check it themselves) */
    static const char *const hdrs[] = { "x-amz-checksum-crc32: " HELLO_CRC32 "\r\n",
                                        "x-amz-checksum-sha256: " HELLO_SHA256 "\r\n" };
    static const char *const algo[] = { "CRC32", "SHA256" };
    for (size_t i = 0; i < 2; i++) {
        snapshot(&r0, &c0);
        build(req, sizeof(req), AKID, SECRET, "PUT", "/bkt/ck", hdrs[i], "UNSIGNED-PAYLOAD", NULL,
              "", "hellp");
        exchange(req, "</Error>");
        assert_non_null(strstr(resp, "HTTP/1.1 400 Bad Request\r\n"));
        char want[160];
        snprintf(want, sizeof(want),
                 "<Code>BadDigest</Code><Message>The %s you specified did not match the calculated "
                 "checksum.</Message>", algo[i]);
        assert_non_null(strstr(resp, want));
        snapshot(&r1, &c1);
        assert_int_equal(c1, c0); /* never a complete body upstream */
        /* the right body goes through, checksum header and all */
        build(req, sizeof(req), AKID, SECRET, "PUT", "/bkt/ck", hdrs[i], "UNSIGNED-PAYLOAD", NULL,
              "", "hello");
        exchange(req, "\r\n\r\n");
        assert_non_null(strstr(resp, "HTTP/1.1 200 OK\r\n"));
        snapshot(&r1, &c1);
        assert_int_equal(c1, c0 + 1);
        last_head(head, sizeof(head));
        assert_non_null(strstr(head, hdrs[i]));
    }
    /* Content-MD5 (S3 takes it unsigned) */
    snapshot(&r0, &c0);
    build(req, sizeof(req), AKID, SECRET, "PUT", "/bkt/md5", NULL, "UNSIGNED-PAYLOAD",
          "Content-MD5: " HELLO_MD5 "\r\nContent-Length: 5\r\n", "", "hellp");
    exchange(req, "</Error>");
    assert_non_null(strstr(resp, "HTTP/1.1 400 Bad Request\r\n"));
    assert_non_null(strstr(resp, "<Code>BadDigest</Code><Message>The Content-MD5 you specified did "
                                 "not match what we received.</Message>"));
    snapshot(&r1, &c1);
    assert_int_equal(c1, c0);
    /* two whole-body checksums: S3 takes one */
    build(req, sizeof(req), AKID, SECRET, "PUT", "/bkt/two",
          "x-amz-checksum-crc32: " HELLO_CRC32 "\r\nx-amz-checksum-sha256: " HELLO_SHA256 "\r\n",
          "UNSIGNED-PAYLOAD", NULL, "", "hello");
    exchange(req, "</Error>");
    assert_non_null(strstr(resp, "HTTP/1.1 400 Bad Request\r\n"));
    assert_non_null(strstr(resp, "<Code>InvalidRequest</Code><Message>Expecting a single "
                                 "x-amz-checksum- header. Multiple checksum Types are not "
                                 "allowed.</Message>"));
    snapshot(&r1, &c1);
    assert_int_equal(c1, c0);
}

/* ---- R15: the checksums of bodies held whole (DeleteObjects, tagging) --------- */
/* base64 MD5 and CRC32 (python3: hashlib.md5, zlib.crc32) of the bodies the
 * caller meant */
#define DEL_KEEP "<Delete><Object><Key>keep</Key></Object></Delete>"
#define DEL_KEEP_MD5 "NpdAPA4VcdPkrACac5QaFw=="
#define DEL_KEEP_CRC32 "MoXc8w=="
#define TAG_MEANT "<Tagging><TagSet><Tag><Key>a</Key><Value>intended</Value></Tag></TagSet></Tagging>"
#define TAG_MEANT_MD5 "0EbcZrckU9WCQbiEiB0t2Q=="
#define TAG_MEANT_CRC32 "TKCuCA=="

/* UNSIGNED-PAYLOAD with the caller's checksum of another body: refused
 * BadDigest with nothing upstream (probe 33: s3warden parsed, authorized
 * and re-signed the body sent, dropping the caller's Content-MD5 for its
 * own, so not even S3 could tell); with the body meant, it goes. */
static void test_collected_body_checksums_verified(void **state)
{
    (void)state;
    static const struct {
        const char *target, *checksum, *meant, *sent, *msg;
    } cases[] = {
        { "/bkt?delete", "Content-MD5: " DEL_KEEP_MD5 "\r\n", DEL_KEEP,
          "<Delete><Object><Key>gone</Key></Object></Delete>",
          "The Content-MD5 you specified did not match what we received." },
        { "/bkt?delete", "x-amz-checksum-crc32: " DEL_KEEP_CRC32 "\r\n", DEL_KEEP,
          "<Delete><Object><Key>gone</Key></Object></Delete>",
          "The CRC32 you specified did not match the calculated checksum." },
        { "/bkt/t?tagging", "Content-MD5: " TAG_MEANT_MD5 "\r\n", TAG_MEANT,
          "<Tagging><TagSet><Tag><Key>a</Key><Value>TAMPERED</Value></Tag></TagSet></Tagging>",
          "The Content-MD5 you specified did not match what we received." },
        { "/bkt/t?tagging", "x-amz-checksum-crc32: " TAG_MEANT_CRC32 "\r\n", TAG_MEANT,
          "<Tagging><TagSet><Tag><Key>a</Key><Value>TAMPERED</Value></Tag></TagSet></Tagging>",
          "The CRC32 you specified did not match the calculated checksum." },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *method = strstr(cases[i].target, "?delete") ? "POST" : "PUT";
        int r0, c0, r1, c1;
        snapshot(&r0, &c0);
        build(req, sizeof(req), AKID, SECRET, method, cases[i].target, cases[i].checksum,
              "UNSIGNED-PAYLOAD", NULL, "", cases[i].sent);
        exchange(req, "</Error>");
        assert_non_null(strstr(resp, "HTTP/1.1 400 Bad Request\r\n"));
        char want[256];
        snprintf(want, sizeof(want), "<Code>BadDigest</Code><Message>%s</Message>", cases[i].msg);
        assert_non_null(strstr(resp, want));
        snapshot(&r1, &c1);
        assert_int_equal(r1, r0); /* nothing asked upstream */

        build(req, sizeof(req), AKID, SECRET, method, cases[i].target, cases[i].checksum,
              "UNSIGNED-PAYLOAD", NULL, "", cases[i].meant);
        exchange(req, "\r\n\r\n");
        assert_non_null(strstr(resp, "HTTP/1.1 200 OK\r\n"));
        snapshot(&r1, &c1);
        assert_int_equal(c1, c0 + 1);
        static struct rig_seen seen;
        rig_seen(&seen);
        assert_non_null(memmem(seen.last_body, seen.last_body_kept,
                               strstr(cases[i].meant, "intended") ? "intended" : "<Key>keep</Key>",
                               strstr(cases[i].meant, "intended") ? 8 : 15));
    }
    /* two checksums of a collected body: S3 takes one */
    build(req, sizeof(req), AKID, SECRET, "POST", "/bkt?delete",
          "Content-MD5: " DEL_KEEP_MD5 "\r\nx-amz-checksum-crc32: " DEL_KEEP_CRC32 "\r\n"
          "x-amz-checksum-sha256: " HELLO_SHA256 "\r\n",
          "UNSIGNED-PAYLOAD", NULL, "", DEL_KEEP);
    exchange(req, "</Error>");
    assert_non_null(strstr(resp, "<Code>InvalidRequest</Code><Message>Expecting a single "
                                 "x-amz-checksum- header. Multiple checksum Types are not "
                                 "allowed.</Message>"));
}

/* The denied keys' AccessDenied entries go into the store's answer also
 * when it is an empty <DeleteResult .../> (the rig's store writes one); a
 * 200 that is no DeleteResult is a 502, never passed on without them
 * (reviewer 87: the keys denied were missing, a client took them for
 * deleted). */
static void test_delete_objects_merge(void **state)
{
    (void)state;
    static const char body[] = "<Delete><Object><Key>gone</Key></Object>"
                               "<Object><Key>keep/x</Key></Object><Quiet>true</Quiet></Delete>";
    build(req, sizeof(req), AKID, SECRET, "POST", "/src?delete", NULL, NULL, NULL, body, body);
    exchange(req, "</DeleteResult>");
    assert_non_null(strstr(resp, "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(resp, "\r\n\r\n<DeleteResult><Error><Key>keep/x</Key><Code>AccessDenied</Code>"
                                 "<Message>Access Denied</Message></Error></DeleteResult>"));
    static struct rig_seen seen;
    rig_seen(&seen);
    assert_non_null(memmem(seen.last_body, seen.last_body_kept, "<Key>gone</Key>", 15));
    assert_null(memmem(seen.last_body, seen.last_body_kept, "keep/x", 6));

    build(req, sizeof(req), AKID, SECRET, "POST", "/pub?delete", NULL, NULL, NULL, body, body);
    exchange(req, "</Error>");
    assert_non_null(strstr(resp, "HTTP/1.1 502 Bad Gateway\r\n"));
    assert_non_null(strstr(resp, "<Code>BadGateway</Code><Message>The DeleteObjects answer of the "
                                 "upstream storage service was not a DeleteResult.</Message>"));
}

/* x-amz-sdk-checksum-algorithm naming another algorithm than the
 * checksum header sent: S3's InvalidRequest, nothing upstream (probe 33:
 * moto stored the object under a SHA256 checksum it did not have). On
 * CompleteMultipartUpload the checksum header is the whole object's, not
 * the XML's: passed on as signed, never checked against the body. */
static void test_checksum_headers_by_operation(void **state)
{
    (void)state;
    int r0, c0, r1, c1;
    char head[8192];
    snapshot(&r0, &c0);
    build(req, sizeof(req), AKID, SECRET, "PUT", "/bkt/sdk",
          "x-amz-checksum-crc32: " HELLO_CRC32 "\r\nx-amz-sdk-checksum-algorithm: SHA256\r\n",
          "UNSIGNED-PAYLOAD", NULL, "", "hello");
    exchange(req, "</Error>");
    assert_non_null(strstr(resp, "HTTP/1.1 400 Bad Request\r\n"));
    assert_non_null(strstr(resp, "<Code>InvalidRequest</Code><Message>Value for "
                                 "x-amz-sdk-checksum-algorithm header is invalid.</Message>"));
    snapshot(&r1, &c1);
    assert_int_equal(r1, r0);
    build(req, sizeof(req), AKID, SECRET, "PUT", "/bkt/sdk",
          "x-amz-checksum-crc32: " HELLO_CRC32 "\r\nx-amz-sdk-checksum-algorithm: crc32\r\n",
          "UNSIGNED-PAYLOAD", NULL, "", "hello");
    exchange(req, "\r\n\r\n");
    assert_non_null(strstr(resp, "HTTP/1.1 200 OK\r\n"));

    static const char complete[] =
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"e\"</ETag>"
        "<ChecksumCRC32>" HELLO_CRC32 "</ChecksumCRC32></Part></CompleteMultipartUpload>";
    build(req, sizeof(req), AKID, SECRET, "POST", "/bkt/mp?uploadId=u1",
          "x-amz-checksum-crc32: " HELLO_CRC32 "\r\nx-amz-checksum-type: FULL_OBJECT\r\n",
          NULL, NULL, complete, complete);
    exchange(req, "\r\n\r\n");
    assert_non_null(strstr(resp, "HTTP/1.1 200 OK\r\n"));
    usleep(100 * 1000);
    last_head(head, sizeof(head));
    assert_non_null(strstr(head, "x-amz-checksum-crc32: " HELLO_CRC32 "\r\n"));
    assert_non_null(strstr(head, "x-amz-checksum-type: FULL_OBJECT\r\n"));
    /* the same as aws-chunked (reviewer 87: the decoder still checked it) */
    char hdrs[512], wire[1024];
    snprintf(hdrs, sizeof(hdrs),
             "x-amz-checksum-crc32: " HELLO_CRC32 "\r\nx-amz-checksum-type: FULL_OBJECT\r\n"
             "content-encoding: aws-chunked\r\nx-amz-decoded-content-length: %zu\r\n",
             sizeof(complete) - 1);
    snprintf(wire, sizeof(wire), "%zx\r\n%s\r\n0\r\n\r\n", sizeof(complete) - 1, complete);
    build(req, sizeof(req), AKID, SECRET, "POST", "/bkt/mp?uploadId=u2", hdrs,
          "STREAMING-UNSIGNED-PAYLOAD-TRAILER", NULL, "", wire);
    exchange(req, "\r\n\r\n");
    assert_non_null(strstr(resp, "HTTP/1.1 200 OK\r\n"));
    usleep(100 * 1000);
    last_head(head, sizeof(head));
    assert_non_null(strstr(head, "x-amz-checksum-crc32: " HELLO_CRC32 "\r\n"));
}

/* A conditional delete keeps its conditions upstream (probe 33: the ETag
 * was dropped from the rebuilt body, and a delete meant only for one
 * version of the object's content deleted whatever was there). */
static void test_delete_objects_conditions_kept(void **state)
{
    (void)state;
    static const char body[] =
        "<Delete><Object><Key>c</Key><ETag>&quot;0123&quot;</ETag></Object>"
        "<Object><Key>d</Key><LastModifiedTime>2026-01-02T03:04:05.000Z</LastModifiedTime>"
        "<Size>42</Size></Object><Object><Key>e</Key></Object></Delete>";
    build(req, sizeof(req), AKID, SECRET, "POST", "/bkt?delete", NULL, NULL, NULL, body, body);
    exchange(req, "\r\n\r\n");
    assert_non_null(strstr(resp, "HTTP/1.1 200 OK\r\n"));
    usleep(150 * 1000);
    static struct rig_seen seen;
    rig_seen(&seen);
    char got[4096];
    snprintf(got, sizeof(got), "%.*s", (int)seen.last_body_kept, seen.last_body);
    assert_non_null(strstr(got, "<Object><Key>c</Key><ETag>\"0123\"</ETag></Object>"
                                "<Object><Key>d</Key><LastModifiedTime>2026-01-02T03:04:05.000Z"
                                "</LastModifiedTime><Size>42</Size></Object>"
                                "<Object><Key>e</Key></Object>"));
}

/* ---- R6: anonymous x-amz-* headers ----------------------------------------------- */
static void test_anonymous_amz_header_forwarded(void **state)
{
    (void)state;
    int r0, c0, r1, c1;
    char head[8192];
    snapshot(&r0, &c0);
    /* without the header the bucket policy's Deny fires */
    snprintf(req, sizeof(req), "PUT /pub/plain HTTP/1.1\r\nHost: %s\r\nContent-Length: 4\r\n\r\ndata",
             rig_host());
    exchange(req, "</Error>");
    assert_non_null(strstr(resp, "HTTP/1.1 403 Forbidden\r\n"));
    assert_non_null(strstr(resp, "<Code>AccessDenied</Code>"));
    snapshot(&r1, &c1);
    assert_int_equal(r1, r0);
    /* with it the policy allows - on the condition that the upstream
     * encrypts: the header the policy saw must reach it (an anonymous
     * request has no signature, so S3 takes its x-amz-* headers as sent) */
    snprintf(req, sizeof(req),
             "PUT /pub/sealed HTTP/1.1\r\nHost: %s\r\nx-amz-server-side-encryption: AES256\r\n"
             "Content-Length: 4\r\n\r\ndata", rig_host());
    exchange(req, "\r\n\r\n");
    assert_non_null(strstr(resp, "HTTP/1.1 200 OK\r\n"));
    snapshot(&r1, &c1);
    assert_int_equal(c1, c0 + 1);
    last_head(head, sizeof(head));
    assert_prefix(head, "PUT /real-pub/sealed HTTP/1.1\r\n");
    assert_non_null(strstr(head, "\r\nx-amz-server-side-encryption: AES256\r\n"));
    /* still never the caller's own authentication material */
    snprintf(req, sizeof(req),
             "PUT /pub/tok HTTP/1.1\r\nHost: %s\r\nx-amz-server-side-encryption: AES256\r\n"
             "x-amz-security-token: CALLERTOKEN\r\nContent-Length: 4\r\n\r\ndata", rig_host());
    exchange(req, "\r\n\r\n");
    last_head(head, sizeof(head));
    assert_null(strstr(head, "CALLERTOKEN"));
}

/* ---- gap (a): refresh the proxy's credentials on a credential error ------------- */
static uint64_t attempts(void)
{
    struct creds_mgr_status st;
    creds_mgr_get_status(rig_creds_mgr(), &st);
    return st.attempts;
}

/* Waits up to ms for the manager's attempt count to pass n0. */
static bool refreshed_within(uint64_t n0, int ms)
{
    for (int t = 0; t < ms; t += 50) {
        if (attempts() > n0)
            return true;
        usleep(50 * 1000);
    }
    return attempts() > n0;
}

static void test_upstream_denied_no_refresh(void **state)
{
    (void)state;
    /* the manager refuses a fetch within 1 s of its last one: be past it */
    usleep(1100 * 1000);
    uint64_t n0 = attempts();
    build(req, sizeof(req), AKID, SECRET, "GET", "/bkt/err-denied", NULL, NULL, "", "", "");
    exchange(req, "</Error>");
    assert_non_null(strstr(resp, "HTTP/1.1 403 Forbidden\r\n"));
    /* held (a small 403) and then passed on as it came */
    assert_non_null(strstr(resp, "<Error><Code>AccessDenied</Code><Message>upstream says so"
                                 "</Message><RequestId>UPERR</RequestId></Error>"));
    assert_false(refreshed_within(n0, 1300));
}

/* An idle worker lets credentials the manager replaced go at once: the
 * manager's publication rings the doorbell main() installs
 * (ups_set_doorbell), which wakes the worker (no request, no poke of the
 * test's), and its poke hook sweeps its creds_cache. */
static void count_held_creds(struct proxy_worker *w, void *arg)
{
    struct pl_worker *pw = w->handler_state;
    int *n = arg;
    *n = 0;
    for (unsigned i = 0; i < CREDS_CACHE_WAYS; i++)
        *n += pw->creds.way[i].snap != NULL;
}

static void test_refresh_wakes_idle_worker(void **state)
{
    (void)state;
    build(req, sizeof(req), AKID, SECRET, "GET", "/bkt/k", NULL, NULL, "", "", "");
    exchange(req, "\r\n\r\n");
    assert_non_null(strstr(resp, "HTTP/1.1 200 OK\r\n"));
    int held = -1;
    rig_on_worker(count_held_creds, &held);
    assert_int_equal(held, 1); /* the request's credentials, kept for the next */

    usleep(1100 * 1000); /* the manager fetches no sooner than 1 s after its last */
    unsigned p0 = rig_pokes();
    uint64_t n0 = attempts();
    creds_mgr_refresh_now(rig_creds_mgr());
    assert_true(refreshed_within(n0, 2500));
    for (int t = 0; t < 2000 && rig_pokes() == p0; t += 10)
        usleep(10 * 1000);
    assert_true(rig_pokes() > p0);
    rig_on_worker(count_held_creds, &held);
    assert_int_equal(held, 0);
}

/* DeleteObjects collects the upstream's answer to merge it: a credential
 * error must not pass through that way either */
static void test_collected_credential_error_scrubbed(void **state)
{
    (void)state;
    usleep(1100 * 1000);
    uint64_t n0 = attempts();
    static const char body[] = "<Delete><Object><Key>k</Key></Object></Delete>";
    build(req, sizeof(req), AKID, SECRET, "POST", "/err-sig-b?delete", NULL, NULL, NULL, body, body);
    exchange(req, "</Error>");
    assert_non_null(strstr(resp, "HTTP/1.1 403 Forbidden\r\n"));
    assert_non_null(strstr(resp, "<Code>SignatureDoesNotMatch</Code><Message>The upstream storage "
                                 "service refused s3warden&apos;s own credentials"));
    assert_null(strstr(resp, UP_TOKEN));
    assert_null(strstr(resp, UP_AKID));
    assert_true(refreshed_within(n0, 2500));
}

static void test_upstream_expired_token_refreshes(void **state)
{
    (void)state;
    static const char *const paths[] = { "/bkt/err-expired", "/bkt/err-badkey", "/bkt/err-sig" };
    static const char *const status[] = { "HTTP/1.1 400 Bad Request\r\n", "HTTP/1.1 403 Forbidden\r\n",
                                          "HTTP/1.1 403 Forbidden\r\n" };
    static const char *const codes[] = { "ExpiredToken", "InvalidAccessKeyId", "SignatureDoesNotMatch" };
    for (size_t i = 0; i < 3; i++) {
        usleep(1100 * 1000);
        uint64_t n0 = attempts();
        build(req, sizeof(req), AKID, SECRET, "GET", paths[i], NULL, NULL, "", "", "");
        exchange(req, "</Error>");
        /* the client gets the upstream's status and code... */
        assert_non_null(strstr(resp, status[i]));
        char want[512];
        snprintf(want, sizeof(want),
                 "<Error><Code>%s</Code><Message>The upstream storage service refused s3warden&apos;s "
                 "own credentials (%s); s3warden is fetching new ones. Retry the request.</Message>",
                 codes[i], codes[i]);
        assert_non_null(strstr(resp, want));
        /* ...and none of what names the proxy's credentials */
        assert_null(strstr(resp, UP_TOKEN));
        assert_null(strstr(resp, UP_AKID));
        assert_null(strstr(resp, "UPERR"));
        assert_true(refreshed_within(n0, 2500));
    }
}

/* ---- gap (b): the audit errorCode of an upstream error ------------------------ */
/* The audit line of the request whose key is `key` (waits for the writer). */
static bool audit_line(const char *key, char *out, size_t cap)
{
    char want[256];
    snprintf(want, sizeof(want), "\"key\":\"%s\"", key);
    for (int t = 0; t < 40; t++) {
        FILE *f = fopen(rig_audit_path(), "r");
        if (f) {
            static char line[AUDIT_LINE_MAX + 2];
            while (fgets(line, sizeof(line), f)) {
                if (strstr(line, want)) {
                    snprintf(out, cap, "%s", line);
                    fclose(f);
                    return true;
                }
            }
            fclose(f);
        }
        usleep(50 * 1000);
    }
    return false;
}

static void test_audit_upstream_error_code(void **state)
{
    (void)state;
    static char line[AUDIT_LINE_MAX + 2];
    build(req, sizeof(req), AKID, SECRET, "GET", "/bkt/err-nokey", NULL, NULL, "", "", "");
    exchange(req, "</Error>");
    assert_non_null(strstr(resp, "HTTP/1.1 404 Not Found\r\n"));
    assert_non_null(strstr(resp, "<Code>NoSuchKey</Code>"));
    assert_true(audit_line("err-nokey", line, sizeof(line)));
    assert_non_null(strstr(line, "\"errorCode\":\"NoSuchKey\""));
    assert_non_null(strstr(line, "\"httpStatus\":404,"));

    /* a HEAD error has no body: nothing to read the code from */
    build(req, sizeof(req), AKID, SECRET, "HEAD", "/bkt/err-nokey-head", NULL, NULL, "", "", "");
    exchange(req, "\r\n\r\n");
    assert_non_null(strstr(resp, "HTTP/1.1 404 Not Found\r\n"));
    assert_true(audit_line("err-nokey-head", line, sizeof(line)));
    assert_non_null(strstr(line, "\"errorCode\":null"));

    /* an error body over UP_ERRBODY_MAX is not passed on (it could echo
     * the proxy's credentials past what was looked at): s3warden's 502 */
    build(req, sizeof(req), AKID, SECRET, "GET", "/bkt/err-big", NULL, NULL, "", "", "");
    exchange(req, "</Error>");
    assert_non_null(strstr(resp, "HTTP/1.1 502 Bad Gateway\r\n"));
    assert_non_null(strstr(resp, "<Code>BadGateway</Code><Message>The upstream storage service "
                                 "answered 500 with an error document too large to pass on."));
    assert_null(strstr(resp, "xxxxx"));
    assert_true(audit_line("err-big", line, sizeof(line)));
    assert_non_null(strstr(line, "\"errorCode\":\"BadGateway\""));

    /* success: no code */
    build(req, sizeof(req), AKID, SECRET, "GET", "/bkt/fine", NULL, NULL, "", "", "");
    exchange(req, "\r\n\r\n");
    assert_non_null(strstr(resp, "HTTP/1.1 200 OK\r\n"));
    assert_true(audit_line("fine", line, sizeof(line)));
    assert_non_null(strstr(line, "\"errorCode\":null"));
}

/* ---- the <Code> reader behind (a) and (b) ---------------------------------------- */
static void test_errbody_code(void **state)
{
    (void)state;
    static struct up_errbody e;
    char code[UP_ERRCODE_MAX];
    static const char xml[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey"
                              "</Code><Message>The specified key does not exist.</Message></Error>";
    memset(&e, 0, sizeof(e));
    /* in two pieces, as curl may hand it over */
    up_errbody_add(&e, xml, 50);
    up_errbody_add(&e, xml + 50, sizeof(xml) - 1 - 50);
    assert_true(up_errbody_code(&e, code, sizeof(code)));
    assert_string_equal(code, "NoSuchKey");
    /* the code must fit the caller's buffer whole */
    assert_false(up_errbody_code(&e, code, 9));
    assert_string_equal(code, "");
    assert_true(up_errbody_code(&e, code, 10));
    assert_string_equal(code, "NoSuchKey");

    static const char *const bad[] = {
        "<Error><Message>no code</Message></Error>",
        "<Error><Code>NoSuchKey",                 /* not closed */
        "<Error><Code></Code></Error>",           /* empty */
        "<Error><Code>No Such</Code></Error>",    /* not a token */
        "<Error><Code>A\r\nINFO forged</Code></Error>", /* log injection */
        "<Error><Code>&lt;x&gt;</Code></Error>",
    };
    /* a <Code> inside a comment is no element: the old substring search
     * took ExpiredToken here and made the proxy refresh its own
     * credentials on an upstream's say-so */
    static const char commented[] =
        "<Error><!-- <Code>ExpiredToken</Code> --><Code>NoSuchKey</Code></Error>";
    memset(&e, 0, sizeof(e));
    up_errbody_add(&e, commented, sizeof(commented) - 1);
    assert_true(up_errbody_code(&e, code, sizeof(code)));
    assert_string_equal(code, "NoSuchKey");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&e, 0, sizeof(e));
        up_errbody_add(&e, bad[i], strlen(bad[i]));
        strcpy(code, "junk");
        assert_false(up_errbody_code(&e, code, sizeof(code)));
        assert_string_equal(code, "");
    }

    /* exactly the cap: held whole, parsed; one byte more: never parsed */
    static char big[UP_ERRBODY_MAX + 1];
    memset(big, ' ', sizeof(big));
    memcpy(big, "<Error><Code>SlowDown</Code>", 28);
    memset(&e, 0, sizeof(e));
    up_errbody_add(&e, big, UP_ERRBODY_MAX);
    assert_false(e.over);
    assert_true(up_errbody_code(&e, code, sizeof(code)));
    assert_string_equal(code, "SlowDown");
    up_errbody_add(&e, big, 1);
    assert_true(e.over);
    assert_int_equal(e.len, UP_ERRBODY_MAX);
    assert_false(up_errbody_code(&e, code, sizeof(code)));

    assert_true(up_code_is_credential_error("ExpiredToken"));
    assert_true(up_code_is_credential_error("InvalidToken"));
    assert_true(up_code_is_credential_error("InvalidAccessKeyId"));
    assert_true(up_code_is_credential_error("SignatureDoesNotMatch"));
    assert_false(up_code_is_credential_error("AccessDenied"));
    assert_false(up_code_is_credential_error("expiredtoken"));
    assert_false(up_code_is_credential_error(""));
    assert_false(up_code_is_credential_error(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errbody_code),
        cmocka_unit_test(test_fragment_in_query_refused),
        cmocka_unit_test(test_copy_source_uses_upstream_name),
        cmocka_unit_test(test_copy_source_query_param_mapped),
        cmocka_unit_test(test_te_chunked_plain_payload_refused),
        cmocka_unit_test(test_anonymous_amz_header_forwarded),
        cmocka_unit_test(test_body_length_capped),
        cmocka_unit_test(test_expected_bucket_owner),
        cmocka_unit_test(test_anonymous_response_overrides_refused),
        cmocka_unit_test(test_key_too_long),
        cmocka_unit_test(test_unknown_query_parameter_named),
        cmocka_unit_test(test_delete_objects_cr_key),
        cmocka_unit_test(test_upstream_name_not_unlisted),
        cmocka_unit_test(test_body_checksum_headers_verified),
        cmocka_unit_test(test_collected_body_checksums_verified),
        cmocka_unit_test(test_delete_objects_conditions_kept),
        cmocka_unit_test(test_checksum_headers_by_operation),
        cmocka_unit_test(test_delete_objects_merge),
        cmocka_unit_test(test_upstream_denied_no_refresh),
        cmocka_unit_test(test_upstream_expired_token_refreshes),
        cmocka_unit_test(test_refresh_wakes_idle_worker),
        cmocka_unit_test(test_collected_credential_error_scrubbed),
        cmocka_unit_test(test_audit_upstream_error_code),
        cmocka_unit_test(test_get_body_not_signed_upstream),
    };
    return rig_run_group(tests, &opts);
}
