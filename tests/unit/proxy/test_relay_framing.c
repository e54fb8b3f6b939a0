/* Unit tests of the head and framing s3warden writes when it relays an
 * upstream answer (relay.c, relay_out): the status line with S3's reason,
 * the upstream's headers, chunked framing when the upstream gave no
 * Content-Length (chunk sizes in lower-case hex, a zero chunk at the end),
 * and "Connection: close" when the client asked for it - against a fake
 * upstream through the whole pipeline (pipeline_rig.h). Also what is not
 * relayed: the fields the upstream's Connection header names, cookies,
 * Alt-Svc, HSTS, Proxy-Authenticate, WWW-Authenticate, Refresh, echoed
 * Authorization, session token and SSE-C key, a 204's Content-Length; and a 400/403
 * error document, held whole whatever its framing: a refusal of the
 * proxy's own credentials becomes s3warden's own error, one over
 * UP_ERRBODY_MAX a 502, neither with any of the upstream's body. An answer
 * cut short after its head went keeps that head's status in the audit.
 * And a 2xx answer that is not its operation's (a store that does not know
 * a subresource answers with the object or the listing) is a 502 with none
 * of its bytes; the checks themselves (up_answer_*) on their own. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "pipeline_rig.h"
#include "sockutil.h"
#include "checksum.h"
#include "upstream.h"

#define AKID "AKIARELAYFRAMING0001"
#define SECRET "relayFramingSecret/0123456789abcdefghijkl"

/* sizes of the chunks the upstream sends for /bkt/chunked: one over a
 * power of 16, one of 16 exactly, a big one (several reads) */
static const size_t up_chunks[] = { 1, 0x10, 0xfff, 0x1000, 0x2a5b7 };

static char body_byte(size_t i)
{
    return (char)('a' + i % 23);
}

/* What an upstream refusing the proxy's own credentials puts in its error
 * document (S3 echoes the key id, and the session token in <Token-0> or in
 * the canonical request): none of it may reach a client. BODYMARK is in
 * every upstream error document, to tell whether any of it was relayed. */
#define PROXY_AKID "AKIAPROXYSECRETKEYID"
#define PROXY_TOKEN "FwoGZXIvYXdzEFAKEPROXYSESSIONTOKEN0123456789"
#define BODYMARK "UPSTREAM-ERROR-BODY-9d1c"

static const char sig_error[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SignatureDoesNotMatch</Code>"
    "<Message>The request signature we calculated does not match the signature you provided."
    "</Message><AWSAccessKeyId>" PROXY_AKID "</AWSAccessKeyId><StringToSign>AWS4-HMAC-SHA256"
    "</StringToSign><CanonicalRequest>GET\n/real-bkt/k\n\nhost:127.0.0.1\n"
    "x-amz-security-token:" PROXY_TOKEN "\n</CanonicalRequest><RequestId>" BODYMARK
    "</RequestId></Error>";

static const char expired_error[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>ExpiredToken</Code>"
    "<Message>The provided token has expired.</Message><Token-0>" PROXY_TOKEN "</Token-0>"
    "<AWSAccessKeyId>" PROXY_AKID "</AWSAccessKeyId><RequestId>" BODYMARK "</RequestId></Error>";

static const char denied_error[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code>"
    "<Message>Access Denied</Message><RequestId>" BODYMARK "</RequestId></Error>";

/* An error document of exactly `size` bytes with <Code>code</Code>, the
 * proxy's key id in its first bytes and its token in its last (past
 * UP_ERRBODY_MAX when size is), hex filler between: S3's
 * SignatureDoesNotMatch with its StringToSignBytes can run that long.
 * malloc'd. */
static char *big_error(const char *code, size_t size)
{
    char head[256], tail[256];
    int hl = snprintf(head, sizeof(head),
                      "<Error><Code>%s</Code><AWSAccessKeyId>" PROXY_AKID "</AWSAccessKeyId>"
                      "<RequestId>" BODYMARK "</RequestId><StringToSignBytes>", code);
    int tl = snprintf(tail, sizeof(tail),
                      "</StringToSignBytes><CanonicalRequest>x-amz-security-token:" PROXY_TOKEN
                      "</CanonicalRequest></Error>");
    assert_true((size_t)hl + (size_t)tl < size);
    char *b = malloc(size + 1);
    assert_non_null(b);
    memcpy(b, head, (size_t)hl);
    for (size_t i = (size_t)hl; i < size - (size_t)tl; i++)
        b[i] = i % 3 == 2 ? ' ' : "0123456789abcdef"[i % 16];
    memcpy(b + size - (size_t)tl, tail, (size_t)tl);
    b[size] = '\0';
    return b;
}

/* Sends body in chunks of `step` bytes (the last may be shorter), then
 * the zero chunk. */
static void send_chunked(int fd, const char *body, size_t len, size_t step)
{
    for (size_t at = 0; at < len; at += step) {
        size_t n = len - at < step ? len - at : step;
        char line[32];
        int k = snprintf(line, sizeof(line), "%zx\r\n", n);
        su_send(fd, line, (size_t)k);
        su_send(fd, body + at, n);
        su_send_str(fd, "\r\n");
    }
    su_send_str(fd, "0\r\n\r\n");
}

/* /bkt/held-denied: the upstream sends its head and first chunk, sets
 * held_first, and sends the rest only once the test sets held_go (or 3 s
 * passed), so that the test sees what reached the client meanwhile. */
static atomic_int held_first, held_go;

/* ---- answers that are another operation's ---------------------------------- */
#define OBJECT_BYTES "SECRET-OBJECT-BYTES-4f1e"
static const char TAGGING_DOC[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- tags -->\n"
    "<Tagging xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><TagSet><Tag><Key>k</Key>"
    "<Value>v</Value></Tag></TagSet></Tagging>";

static void send_length(int fd, const char *type, const char *body)
{
    char h[256];
    snprintf(h, sizeof(h), "HTTP/1.1 200 OK\r\nx-amz-request-id: UPANSWER\r\nContent-Type: %s\r\n"
             "Content-Length: %zu\r\nConnection: close\r\n\r\n", type, strlen(body));
    su_send_str(fd, h);
    su_send_str(fd, body);
}

/* A listing of the aliased bucket (bkt is real-bkt upstream) that names
 * real-bkt in <Name> and in a key, 3,000 keys long */
static char *renamed_listing(const char *name)
{
    size_t cap = 200000, n = 0;
    char *d = malloc(cap);
    n += (size_t)snprintf(d + n, cap - n, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                          "<ListBucketResult><Name>%s</Name><Prefix>ren</Prefix>"
                          "<Contents><Key>ren/real-bkt</Key></Contents>", name);
    for (int i = 0; i < 3000; i++)
        n += (size_t)snprintf(d + n, cap - n, "<Contents><Key>ren/%04d</Key></Contents>", i);
    snprintf(d + n, cap - n, "</ListBucketResult>");
    return d;
}

/* The upstream's answers for the operation checks: by the request line. */
static bool answer_case(int fd, const char *head)
{
    if (strstr(head, "prefix=pad") && strstr(head, " /real-bkt?")) {
        /* <Name> padded past what the rewrite holds back, the name last */
        static char doc[20000];
        size_t n = (size_t)snprintf(doc, sizeof(doc), "<?xml version=\"1.0\"?><ListBucketResult><Name>");
        memset(doc + n, ' ', 17000);
        n += 17000;
        n += (size_t)snprintf(doc + n, sizeof(doc) - n, "real-bkt</Name></ListBucketResult>");
        char h[256];
        snprintf(h, sizeof(h), "HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\n"
                 "Content-Length: %zu\r\n\r\n", n);
        su_send_str(fd, h);
        su_send(fd, doc, n - 40);
        usleep(50 * 1000);
        su_send(fd, doc + n - 40, 40);
        return true;
    }
    if (strstr(head, "prefix=ren") && strstr(head, " /real-bkt?")) {
        /* with its length, the first bytes a few at a time (<Name> cut
         * across reads), then the rest */
        char *doc = renamed_listing("real-bkt");
        char h[256];
        snprintf(h, sizeof(h), "HTTP/1.1 200 OK\r\nx-amz-request-id: UPLIST\r\n"
                 "Content-Type: application/xml\r\nContent-Length: %zu\r\n\r\n", strlen(doc));
        su_send_str(fd, h);
        for (size_t at = 0; at < 120; at += 5) {
            su_send(fd, doc + at, 5);
            usleep(1000);
        }
        su_send_str(fd, doc + 120);
        free(doc);
        return true;
    }
    if (strstr(head, " /real-bkt/k?retention ") || strstr(head, " /real-bkt/k?torrent ")) {
        /* a store without the subresource: the object itself */
        send_length(fd, "text/plain", OBJECT_BYTES);
    } else if (strstr(head, " /real-bkt?analytics&id=x ")) {
        send_length(fd, "application/xml",
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult><Name>real-bkt"
                    "</Name><Contents><Key>" OBJECT_BYTES "</Key></Contents></ListBucketResult>");
    } else if (strstr(head, " /real-bkt/k?tagging ")) {
        /* the right document, its first 80 bytes one per chunk */
        su_send_str(fd, "HTTP/1.1 200 OK\r\nx-amz-request-id: UPTAGS\r\nContent-Type: application/xml"
                        "\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
        for (size_t i = 0; i < 80; i++) {
            su_send_str(fd, "1\r\n");
            su_send(fd, TAGGING_DOC + i, 1);
            su_send_str(fd, "\r\n");
            if (i % 16 == 0)
                usleep(2000);
        }
        send_chunked(fd, TAGGING_DOC + 80, strlen(TAGGING_DOC) - 80, 1000);
    } else if (strstr(head, " /real-bkt/ws/") || strstr(head, " /real-bkt/ws-wrong/")) {
        /* white space first (S3's keep-alive of a long copy), sent apart */
        su_send_str(fd, "HTTP/1.1 200 OK\r\nx-amz-request-id: UPWS\r\n"
                        "x-amz-meta-secret: " OBJECT_BYTES "\r\nTransfer-Encoding: chunked\r\n"
                        "Connection: close\r\n\r\n3\r\n \r\n\r\n");
        usleep(50 * 1000);
        bool copy = strstr(head, "\r\nx-amz-copy-source:") != NULL;
        bool complete = strncmp(head, "POST ", 5) == 0;
        const char *rest = strstr(head, "ws-wrong") ? "<ListBucketResult><Key>" OBJECT_BYTES "</Key>"
                           : copy                    ? "<CopyObjectResult><ETag>e</ETag></CopyObjectResult>"
                           : complete ? "<CompleteMultipartUploadResult><Location>http://10.9.9.9:7480/"
                                        "real-bkt/ws/k%203</Location><Bucket>real-bkt</Bucket>"
                                        "<Key>ws/k 3</Key><ETag>\"e-1\"</ETag>"
                                        "</CompleteMultipartUploadResult>"
                                      : "<Tagging><TagSet/></Tagging>";
        send_chunked(fd, rest, strlen(rest), 7);
    } else if (strstr(head, " /real-bkt/echo-500 ") || strstr(head, " /real-bkt/echo-404 ") ||
               strstr(head, " /real-bkt/echo-auth ")) {
        /* a store that echoes the request it got, the proxy's signature in
         * it; echo-auth: its Authorization line only */
        char body[RIG_HEAD_MAX + 256], h[256], line[1024] = "";
        const char *auth = strstr(head, "\r\nAuthorization: ");
        if (auth)
            snprintf(line, sizeof(line), "%.*s", (int)strcspn(auth + 2, "\r"), auth + 2);
        int bl = snprintf(body, sizeof(body), "<Error><Code>%s</Code><Message>%s</Message></Error>",
                          strstr(head, "echo-404") ? "NoSuchKey" : "InternalError",
                          strstr(head, "echo-auth") ? line : head);
        snprintf(h, sizeof(h), "HTTP/1.1 %s\r\nContent-Type: application/xml\r\n"
                 "Content-Length: %d\r\nConnection: close\r\n\r\n",
                 strstr(head, "echo-404") ? "404 Not Found" : "500 Internal Server Error", bl);
        su_send_str(fd, h);
        su_send(fd, body, (size_t)bl);
    } else if (strstr(head, " /real-bkt/k?legal-hold ")) {
        send_length(fd, "application/xml", ""); /* no document at all */
    } else if (strstr(head, " /real-bkt/k?acl ")) {
        /* the root must come in the first UP_ANSWER_HOLD bytes */
        char body[UP_ANSWER_HOLD + 64];
        memcpy(body, "<!--", 4);
        memset(body + 4, 'x', UP_ANSWER_HOLD - 4);
        snprintf(body + UP_ANSWER_HOLD, 64, "--><AccessControlPolicy/>");
        send_length(fd, "application/xml", body);
    } else if (strstr(head, " /real-bkt/t2?torrent ")) {
        /* an object stored with the torrent's Content-Type (probe 26) */
        send_length(fd, "application/x-bittorrent", OBJECT_BYTES);
    } else if (strstr(head, " /real-bkt/t?torrent ")) {
        send_length(fd, "application/x-bittorrent; charset=binary", "d8:announce0:e");
    } else if (strstr(head, " /real-bkt/k?attributes ")) {
        /* moto's name for the root */
        send_length(fd, "application/xml", "<GetObjectAttributesOutput><ETag>e</ETag>"
                                           "</GetObjectAttributesOutput>");
    } else {
        return false;
    }
    return true;
}

static void up_answer(int fd, const char *head)
{
    if (strstr(head, " /real-bkt/chunked ")) {
        su_send_str(fd, "HTTP/1.1 200 OK\r\nx-amz-request-id: UPCHUNKED\r\n"
                        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
        size_t at = 0;
        for (size_t k = 0; k < sizeof(up_chunks) / sizeof(up_chunks[0]); k++) {
            char line[32];
            int n = snprintf(line, sizeof(line), "%zX\r\n", up_chunks[k]);
            su_send(fd, line, (size_t)n);
            char *d = malloc(up_chunks[k]);
            assert_non_null(d);
            for (size_t i = 0; i < up_chunks[k]; i++)
                d[i] = body_byte(at + i);
            su_send(fd, d, up_chunks[k]);
            free(d);
            at += up_chunks[k];
            su_send_str(fd, "\r\n");
        }
        su_send_str(fd, "0\r\n\r\n");
        return;
    }
    if (strstr(head, " /real-bkt/connection-named ")) {
        /* two Connection fields, one naming fields in another case and
         * with blanks around them; Foo-Bar and the meta field are named by
         * neither, and stay */
        su_send_str(fd, "HTTP/1.1 200 OK\r\nx-amz-request-id: UPCONN\r\n"
                        "Connection: x-amz-meta-internal ,  FOO\r\n"
                        "x-amz-meta-internal: hop-only\r\nFoo: bar\r\nFoo-Bar: kept\r\n"
                        "x-amz-meta-kept: yes\r\nSet-Cookie: session=up; Path=/\r\n"
                        "Alt-Svc: h3=\":443\"; ma=86400\r\n"
                        "Strict-Transport-Security: max-age=31536000\r\n"
                        "Proxy-Authenticate: Basic realm=\"store\"\r\n"
                        "Proxy-Authentication-Info: nextnonce=\"abc\"\r\n"
                        "WWW-Authenticate: Basic realm=\"store\"\r\nRefresh: 0; url=http://x/\r\n"
                        "Set-Cookie2: a=b\r\nAuthorization: AWS4-HMAC-SHA256 Credential=" PROXY_AKID
                        "\r\nX-Amz-Security-Token: " PROXY_TOKEN "\r\n"
                        "x-amz-server-side-encryption-customer-key: c2VjcmV0a2V5\r\n"
                        "x-amz-server-side-encryption-customer-key-MD5: bWQ1\r\n"
                        "Content-Length: 2\r\nConnection: close\r\n\r\nok");
        return;
    }
    if (strstr(head, " /real-bkt/no-content ")) {
        su_send_str(fd, "HTTP/1.1 204 No Content\r\nx-amz-request-id: UP204\r\n"
                        "Content-Length: 0\r\nConnection: close\r\n\r\n");
        return;
    }
    if (strstr(head, " /real-bkt/sig-chunked ")) {
        /* several chunks, split inside the <Code> element and the key id */
        su_send_str(fd, "HTTP/1.1 403 Forbidden\r\nx-amz-request-id: UPSIG\r\n"
                        "Content-Type: application/xml\r\nTransfer-Encoding: chunked\r\n"
                        "Connection: close\r\n\r\n");
        send_chunked(fd, sig_error, strlen(sig_error), 61);
        return;
    }
    if (strstr(head, " /real-bkt/expired-eof ")) {
        /* no Content-Length, not chunked: the body ends when the upstream
         * closes */
        su_send_str(fd, "HTTP/1.1 400 Bad Request\r\nContent-Type: application/xml\r\n"
                        "Connection: close\r\n\r\n");
        su_send(fd, expired_error, 40);
        usleep(20 * 1000);
        su_send_str(fd, expired_error + 40);
        return;
    }
    if (strstr(head, " /real-bkt/held-denied ")) {
        su_send_str(fd, "HTTP/1.1 403 Forbidden\r\nx-amz-request-id: UPDENIED\r\n"
                        "Content-Type: application/xml\r\nTransfer-Encoding: chunked\r\n"
                        "Connection: close\r\n\r\n");
        size_t len = strlen(denied_error), first = 50;
        char line[32];
        int k = snprintf(line, sizeof(line), "%zx\r\n", first);
        su_send(fd, line, (size_t)k);
        su_send(fd, denied_error, first);
        su_send_str(fd, "\r\n");
        atomic_store(&held_first, 1);
        for (int t = 0; t < 300 && !atomic_load(&held_go); t++)
            usleep(10 * 1000);
        send_chunked(fd, denied_error + first, len - first, 17);
        return;
    }
    if (strstr(head, " /real-bkt/moved ")) {
        /* S3's answer for a bucket of another region: the store's endpoint
         * and the upstream bucket's name in Location and the body */
        static const char moved[] =
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>PermanentRedirect</Code>"
            "<Message>The bucket you are attempting to access must be addressed using the "
            "specified endpoint.</Message><Endpoint>real-bkt.s3.eu-west-1.amazonaws.com"
            "</Endpoint><Bucket>real-bkt</Bucket><RequestId>UPMOVED</RequestId></Error>";
        char h[512];
        snprintf(h, sizeof(h), "HTTP/1.1 301 Moved Permanently\r\nx-amz-bucket-region: eu-west-1\r\n"
                               "Location: https://real-bkt.s3.eu-west-1.amazonaws.com/moved\r\n"
                               "Content-Type: application/xml\r\nContent-Length: %zu\r\n"
                               "Connection: close\r\n\r\n", strlen(moved));
        su_send_str(fd, h);
        su_send_str(fd, moved);
        return;
    }
    if (strstr(head, " /real-bkt/not-modified ")) {
        su_send_str(fd, "HTTP/1.1 304 Not Modified\r\nETag: \"e1\"\r\n"
                        "Location: https://real-bkt.s3.eu-west-1.amazonaws.com/x\r\n"
                        "Connection: close\r\n\r\n");
        return;
    }
    if (strstr(head, " /real-bkt/moved-307 ")) {
        su_send_str(fd, "HTTP/1.1 307 Temporary Redirect\r\nx-amz-bucket-region: eu-west-1\r\n"
                        "Location: https://real-bkt.s3-eu-west-1.amazonaws.com/moved-307\r\n"
                        "Content-Length: 0\r\nConnection: close\r\n\r\n");
        return;
    }
    if (strstr(head, " /real-bkt/big-cl ")) {
        char *b = big_error("SignatureDoesNotMatch", UP_ERRBODY_MAX + 4000);
        char h[256];
        snprintf(h, sizeof(h), "HTTP/1.1 403 Forbidden\r\nContent-Type: application/xml\r\n"
                               "Content-Length: %d\r\nConnection: close\r\n\r\n",
                 UP_ERRBODY_MAX + 4000);
        su_send_str(fd, h);
        su_send(fd, b, UP_ERRBODY_MAX + 4000);
        free(b);
        return;
    }
    /* /real-bkt/big-chunked-N: an error document of N bytes, chunked;
     * /real-bkt/fit-chunked-N: AccessDenied, N bytes */
    const char *big = strstr(head, " /real-bkt/big-chunked-");
    const char *fit = strstr(head, " /real-bkt/fit-chunked-");
    if (big || fit) {
        size_t size = strtoul((big ? big : fit) + strlen(" /real-bkt/big-chunked-"), NULL, 10);
        char *b = big_error(big ? "SignatureDoesNotMatch" : "AccessDenied", size);
        su_send_str(fd, "HTTP/1.1 403 Forbidden\r\nx-amz-request-id: UPBIG\r\n"
                        "Content-Type: application/xml\r\nTransfer-Encoding: chunked\r\n"
                        "Connection: close\r\n\r\n");
        send_chunked(fd, b, size, 4000);
        free(b);
        return;
    }
    if (strstr(head, " /real-bkt/cut-short ")) {
        /* 10 of the 100 bytes promised, then the connection closes */
        su_send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\n"
                        "0123456789");
        return;
    }
    if (strstr(head, " /real-bkt/partial ")) {
        su_send_str(fd, "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-4/10\r\n"
                        "Content-Length: 5\r\nConnection: close\r\n\r\nhello");
        return;
    }
    if (answer_case(fd, head))
        return;
    su_send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
}

static struct config *make_config(void)
{
    return rig_config(&(struct rig_cfg){ .akid = AKID, .secret = SECRET,
        .policy = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
                  "\"Action\":[\"s3:GetObject*\",\"s3:GetAnalyticsConfiguration\",\"s3:PutObject\",\"s3:ListBucket\"],"
                  "\"Resource\":\"*\"}]}" });
}

static const struct rig_opts opts = { .make_config = make_config, .answer = up_answer,
                                      .audit_file = true };

static char req[8192];
static char resp[1 << 20];

static void get(const char *target, const char *unsigned_hdrs, const char *until)
{
    struct rig_req r = { .akid = AKID, .secret = SECRET, .method = "GET", .target = target,
                         .unsigned_hdrs = unsigned_hdrs };
    size_t n = rig_build(req, sizeof(req), &r);
    rig_exchange(req, n, until, resp, sizeof(resp));
}

/* The chunked body at p: each size line lower-case hex without leading
 * zeros, its data, CRLF; a zero chunk and CRLF at the end. Returns the
 * data joined (malloc'd, *len), asserting the framing. */
static char *dechunk(const char *p, size_t *len)
{
    size_t cap = 1 << 20, n = 0;
    char *out = malloc(cap);
    assert_non_null(out);
    for (;;) {
        const char *eol = strstr(p, "\r\n");
        assert_non_null(eol);
        assert_true(eol > p);
        assert_true(p[0] != '0' || eol == p + 1); /* no leading zeros */
        size_t sz = 0;
        for (const char *q = p; q < eol; q++) {
            const char *d = strchr("0123456789abcdef", *q);
            if (!d || !*q)
                fail_msg("chunk size line \"%.*s\" is not lower-case hex", (int)(eol - p), p);
            sz = sz * 16 + (size_t)(d - "0123456789abcdef");
        }
        p = eol + 2;
        if (sz == 0) {
            assert_memory_equal(p, "\r\n", 2);
            break;
        }
        assert_true(n + sz <= cap);
        memcpy(out + n, p, sz);
        n += sz;
        p += sz;
        assert_memory_equal(p, "\r\n", 2);
        p += 2;
    }
    *len = n;
    return out;
}

/* resp's body, chunked, is exactly want */
static void assert_dechunked(const char *want)
{
    size_t len;
    char *body = dechunk(strstr(resp, "\r\n\r\n") + 4, &len);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(body, want, len);
    free(body);
}

/* no Content-Length from the upstream: chunked to the client, the bytes
 * intact, the chunk sizes in lower-case hex */
static void test_chunked_answer(void **state)
{
    (void)state;
    get("/bkt/chunked", NULL, "\r\n0\r\n\r\n");
    rig_assert_status(resp, "HTTP/1.1 200 OK\r\n");
    const char *end = strstr(resp, "\r\n\r\n");
    assert_non_null(end);
    char head[4096];
    size_t hl = (size_t)(end - resp) + 4;
    assert_true(hl < sizeof(head));
    memcpy(head, resp, hl);
    head[hl] = '\0';
    /* the framing ends the head: Transfer-Encoding, no Connection: close */
    assert_non_null(strstr(head, "\r\nTransfer-Encoding: chunked\r\n\r\n"));
    assert_null(strstr(head, "Connection: close"));
    assert_null(strstr(head, "Content-Length"));
    size_t len, want = 0;
    char *body = dechunk(end + 4, &len);
    for (size_t k = 0; k < sizeof(up_chunks) / sizeof(up_chunks[0]); k++)
        want += up_chunks[k];
    assert_int_equal(len, want);
    for (size_t i = 0; i < len; i++)
        if (body[i] != body_byte(i))
            fail_msg("body byte %zu is %c, not %c", i, body[i], body_byte(i));
    free(body);
}

/* the client's Connection: close is announced after the framing */
static void test_chunked_answer_connection_close(void **state)
{
    (void)state;
    get("/bkt/chunked", "Connection: close\r\n", "\r\n0\r\n\r\n");
    rig_assert_status(resp, "HTTP/1.1 200 OK\r\n");
    assert_non_null(strstr(resp, "\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"));
    size_t len;
    free(dechunk(strstr(resp, "\r\n\r\n") + 4, &len));
    assert_true(len > 0);
}

/* a status other than 200 keeps its code and gets S3's reason; a
 * Content-Length answer is not re-framed */
static void test_status_line_and_length(void **state)
{
    (void)state;
    get("/bkt/partial", NULL, NULL);
    rig_assert_status(resp, "HTTP/1.1 206 Partial Content\r\n");
    assert_non_null(strstr(resp, "\r\nContent-Range: bytes 0-4/10\r\n"));
    assert_null(strstr(resp, "Transfer-Encoding"));
    assert_string_equal(rig_body_of(resp), "hello");

    get("/bkt/partial", "Connection: close\r\n", NULL);
    rig_assert_status(resp, "HTTP/1.1 206 Partial Content\r\n");
    const char *end = strstr(resp, "\r\n\r\n");
    assert_non_null(end);
    assert_memory_equal(end - strlen("\r\nConnection: close"), "\r\nConnection: close", 19);
    assert_string_equal(rig_body_of(resp), "hello");
}

/* The head of r up to and with its blank line, NUL-terminated (a static
 * buffer): so that a field is looked for in the head only. */
static const char *head_of(const char *r)
{
    static char head[8192];
    const char *end = strstr(r, "\r\n\r\n");
    assert_non_null(end);
    size_t hl = (size_t)(end - r) + 4;
    assert_true(hl < sizeof(head));
    memcpy(head, r, hl);
    head[hl] = '\0';
    return head;
}

/* Whether the head has a field named `name`, in any case. */
static bool has_field(const char *head, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n"))
        if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':')
            return true;
    return false;
}

static void assert_field(const char *head, const char *name, bool want)
{
    if (has_field(head, name) != want)
        fail_msg("the head %s a %s field:\n%s", want ? "lacks" : "has", name, head);
}

/* Nothing of an upstream error document in what the client got: not the
 * proxy's key id, not its token, not the document's own marker. */
static void assert_nothing_of_upstream(const char *r)
{
    static const char *const leaks[] = { PROXY_AKID, PROXY_TOKEN, BODYMARK };
    for (size_t i = 0; i < sizeof(leaks) / sizeof(leaks[0]); i++)
        if (strstr(r, leaks[i]))
            fail_msg("the client got \"%s\" of the upstream's error document:\n%.600s",
                     leaks[i], r);
}

/* s3warden's own S3 error: a Content-Length body (not the upstream's
 * framing), with exactly this Code and Message. */
static void assert_own_error(const char *r, const char *code, const char *message)
{
    const char *head = head_of(r);
    assert_field(head, "Content-Length", true);
    assert_field(head, "Transfer-Encoding", false);
    char want[512];
    snprintf(want, sizeof(want), "<Code>%s</Code><Message>%s</Message>", code, message);
    if (!strstr(rig_body_of(r), want))
        fail_msg("the body lacks %s:\n%s", want, rig_body_of(r));
}

/* Fields the upstream's Connection header names are of its hop only (RFC
 * 9110 7.6.1), matched case-insensitively and past blanks; cookies,
 * Alt-Svc, HSTS and the store's Proxy-Authenticate(-Info) would speak for
 * s3warden's origin. Fields named by neither list still pass. */
static void test_connection_named_and_origin_fields_dropped(void **state)
{
    (void)state;
    get("/bkt/connection-named", NULL, NULL);
    rig_assert_status(resp, "HTTP/1.1 200 OK\r\n");
    assert_string_equal(rig_body_of(resp), "ok");
    const char *head = head_of(resp);
    assert_non_null(strstr(head, "\r\nx-amz-request-id: UPCONN\r\n"));
    assert_non_null(strstr(head, "\r\nx-amz-meta-kept: yes\r\n"));
    assert_non_null(strstr(head, "\r\nFoo-Bar: kept\r\n"));
    static const char *const dropped[] = {
        "x-amz-meta-internal", "Foo", "Connection", "Set-Cookie", "Alt-Svc",
        "Strict-Transport-Security", "Proxy-Authenticate", "Proxy-Authentication-Info",
        "WWW-Authenticate", "Refresh", "Set-Cookie2", "Authorization", "x-amz-security-token",
        "x-amz-server-side-encryption-customer-key",
    };
    for (size_t i = 0; i < sizeof(dropped) / sizeof(dropped[0]); i++)
        assert_field(head, dropped[i], false);
    assert_null(strstr(head, "hop-only"));
    assert_nothing_of_upstream(head);
    /* the key's MD5 is S3's answer */
    assert_non_null(strstr(head, "\r\nx-amz-server-side-encryption-customer-key-MD5: bWQ1\r\n"));
}

/* a 204 has no body: the upstream's Content-Length: 0 is not passed on,
 * and s3warden adds no framing of its own */
static void test_no_content_without_length(void **state)
{
    (void)state;
    get("/bkt/no-content", NULL, "\r\n\r\n");
    rig_assert_status(resp, "HTTP/1.1 204 No Content\r\n");
    const char *head = head_of(resp);
    assert_non_null(strstr(head, "\r\nx-amz-request-id: UP204\r\n"));
    assert_field(head, "Content-Length", false);
    assert_field(head, "Transfer-Encoding", false);
    assert_string_equal(rig_body_of(resp), "");
}

/* A chunked 403 SignatureDoesNotMatch (its Code split over chunks) is held
 * whole and answered with s3warden's own error: the upstream's status and
 * code, none of its key id, canonical request or token. */
static void test_credential_error_chunked(void **state)
{
    (void)state;
    get("/bkt/sig-chunked", NULL, "</Error>");
    assert_nothing_of_upstream(resp);
    rig_assert_status(resp, "HTTP/1.1 403 Forbidden\r\n");
    assert_own_error(resp, "SignatureDoesNotMatch",
                     "The upstream storage service refused s3warden&apos;s own credentials "
                     "(SignatureDoesNotMatch); s3warden is fetching new ones. Retry the request.");
}

/* the same for a 400 ExpiredToken whose body ends when the upstream
 * closes (no Content-Length, not chunked), echoing the token in <Token-0> */
static void test_credential_error_until_close(void **state)
{
    (void)state;
    get("/bkt/expired-eof", NULL, "</Error>");
    assert_nothing_of_upstream(resp);
    rig_assert_status(resp, "HTTP/1.1 400 Bad Request\r\n");
    assert_own_error(resp, "ExpiredToken",
                     "The upstream storage service refused s3warden&apos;s own credentials "
                     "(ExpiredToken); s3warden is fetching new ones. Retry the request.");
}

/* A chunked 403 that is no credential error is held too - nothing reaches
 * the client while its body is incomplete (its Code is not known yet) -
 * and then relayed as it came: its status, its fields, chunked, the body
 * intact. */
static void test_held_error_relayed_whole(void **state)
{
    (void)state;
    atomic_store(&held_first, 0);
    atomic_store(&held_go, 0);
    struct rig_req r = { .akid = AKID, .secret = SECRET, .method = "GET",
                         .target = "/bkt/held-denied" };
    size_t n = rig_build(req, sizeof(req), &r);
    int fd = su_connect(rig_port());
    assert_true(fd >= 0);
    su_send(fd, req, n);
    for (int t = 0; t < 300 && !atomic_load(&held_first); t++)
        usleep(10 * 1000);
    assert_true(atomic_load(&held_first));
    /* the upstream's head and first chunk are out: the client gets none */
    bool closed;
    size_t got = su_read(fd, resp, sizeof(resp), NULL, 1, 300, &closed);
    if (got != 0) {
        atomic_store(&held_go, 1);
        close(fd);
        fail_msg("the client got %zu bytes of an incomplete 403:\n%s", got, resp);
    }
    atomic_store(&held_go, 1);
    su_read(fd, resp, sizeof(resp), "</Error>", 1, 5000, &closed);
    close(fd);
    rig_assert_status(resp, "HTTP/1.1 403 Forbidden\r\n");
    const char *head = head_of(resp);
    assert_non_null(strstr(head, "\r\nx-amz-request-id: UPDENIED\r\n"));
    assert_non_null(strstr(head, "\r\nContent-Type: application/xml\r\n"));
    /* held whole and rewritten for the aliased bucket (bkt is real-bkt
     * upstream): it goes with its length, not chunked as it came */
    assert_field(head, "Transfer-Encoding", false);
    char cl[64];
    snprintf(cl, sizeof(cl), "\r\nContent-Length: %zu\r\n", strlen(denied_error));
    assert_non_null(strstr(head, cl));
    assert_string_equal(strstr(resp, "\r\n\r\n") + 4, denied_error);
}

/* A redirect (S3's answer for a bucket of another region) is not passed
 * on: its Location and body name the store's endpoint and the upstream
 * bucket, and would send the client around s3warden. A 502 of s3warden's
 * own, with the upstream's status and code. */
static void test_redirect_not_passed_on(void **state)
{
    (void)state;
    get("/bkt/moved", NULL, "</Error>");
    rig_assert_status(resp, "HTTP/1.1 502 Bad Gateway\r\n");
    assert_own_error(resp, "BadGateway",
                     "The upstream storage service redirected the request (301 PermanentRedirect): "
                     "the bucket is not where s3warden&apos;s configuration says it is. s3warden "
                     "does not pass redirects on.");
    assert_null(strstr(resp, "real-bkt"));
    assert_field(head_of(resp), "Location", false);
    /* a 307 without a body (its code unknown) */
    get("/bkt/moved-307", NULL, "</Error>");
    rig_assert_status(resp, "HTTP/1.1 502 Bad Gateway\r\n");
    assert_own_error(resp, "BadGateway",
                     "The upstream storage service redirected the request (307): the bucket is not "
                     "where s3warden&apos;s configuration says it is. s3warden does not pass "
                     "redirects on.");
    assert_null(strstr(resp, "real-bkt"));
    assert_field(head_of(resp), "Location", false);
    /* 304 answers a conditional GET or HEAD only (probe 30) */
    get("/bkt/not-modified", "If-None-Match: \"e1\"\r\n", "\r\n\r\n");
    rig_assert_status(resp, "HTTP/1.1 304 Not Modified\r\n");
    get("/bkt/not-modified", NULL, "</Error>");
    rig_assert_status(resp, "HTTP/1.1 502 Bad Gateway\r\n");
    assert_own_error(resp, "BadGateway",
                     "The upstream storage service answered 304 Not Modified to a request that "
                     "asked for no condition.");
    assert_null(strstr(resp, "real-bkt"));
}

static void assert_too_large(const char *r)
{
    assert_nothing_of_upstream(r);
    assert_null(strstr(r, "SignatureDoesNotMatch"));
    rig_assert_status(r, "HTTP/1.1 502 Bad Gateway\r\n");
    assert_own_error(r, "BadGateway",
                     "The upstream storage service answered 403 with an error document too "
                     "large to pass on.");
}

/* A 403 whose Content-Length is over UP_ERRBODY_MAX may name the proxy's
 * credentials past what could be parsed: a 502 of s3warden's own, none of
 * its bytes. */
static void test_error_over_limit_length(void **state)
{
    (void)state;
    get("/bkt/big-cl", NULL, "</Error>");
    assert_too_large(resp);
}

/* the same chunked: UP_ERRBODY_MAX bytes still fit (a non-credential 403
 * is relayed intact), one more byte is a 502 */
static void test_error_over_limit_chunked(void **state)
{
    (void)state;
    char target[64];
    snprintf(target, sizeof(target), "/bkt/fit-chunked-%d", UP_ERRBODY_MAX);
    get(target, NULL, "</Error>");
    rig_assert_status(resp, "HTTP/1.1 403 Forbidden\r\n");
    assert_non_null(strstr(head_of(resp), "\r\nx-amz-request-id: UPBIG\r\n"));
    /* held whole (and rewritten for the aliased bucket): with its length */
    char cl[64];
    snprintf(cl, sizeof(cl), "\r\nContent-Length: %d\r\n", UP_ERRBODY_MAX);
    assert_non_null(strstr(head_of(resp), cl));
    char *want = big_error("AccessDenied", UP_ERRBODY_MAX);
    assert_memory_equal(strstr(resp, "\r\n\r\n") + 4, want, UP_ERRBODY_MAX);
    free(want);

    snprintf(target, sizeof(target), "/bkt/big-chunked-%d", UP_ERRBODY_MAX + 1);
    get(target, NULL, "</Error>");
    assert_too_large(resp);
    snprintf(target, sizeof(target), "/bkt/big-chunked-%d", 5 * UP_ERRBODY_MAX);
    get(target, NULL, "</Error>");
    assert_too_large(resp);
}

/* An upstream that closes mid-body after the head went: the client has
 * its 200 and loses the connection; the audit record keeps that 200 (what
 * the client got), with BadGateway as what cut it short. (The record has
 * no message of its own to check: the native format has none, CloudTrail's
 * errorMessage is the code's default.) */
static void test_cut_short_keeps_status(void **state)
{
    (void)state;
    get("/bkt/cut-short", NULL, NULL);
    rig_assert_status(resp, "HTTP/1.1 200 OK\r\n");
    assert_non_null(strstr(head_of(resp), "\r\nContent-Length: 100\r\n"));
    assert_string_equal(rig_body_of(resp), "0123456789");
    cJSON *j = rig_audit_find("cut-short", false);
    if (!j)
        fail_msg("no audit record for cut-short");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "httpStatus");
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(j, "errorCode");
    int status = cJSON_IsNumber(st) ? (int)st->valuedouble : -1;
    char c[64];
    snprintf(c, sizeof(c), "%s", cJSON_IsString(code) ? code->valuestring : "(none)");
    cJSON_Delete(j);
    assert_int_equal(status, 200);
    assert_string_equal(c, "BadGateway");
}

/* A 2xx answer that is another operation's: 502, s3warden's own error,
 * nothing of the upstream's answer, and the audit record says BadGateway */
static void assert_not_passed_on(const char *target, const char *op)
{
    get(target, NULL, "</Error>");
    rig_assert_status(resp, "HTTP/1.1 502 Bad Gateway\r\n");
    char msg[256];
    snprintf(msg, sizeof(msg), "The upstream storage service did not answer %s with its result "
             "(it may not support the operation); s3warden passes on none of its answer.", op);
    assert_own_error(resp, "BadGateway", msg);
    if (strstr(resp, OBJECT_BYTES) || strstr(resp, "UPANSWER"))
        fail_msg("the client got the upstream's answer:\n%s", resp);
}

/* moto answers GET ?retention and ?torrent with the object and GET
 * ?analytics with the bucket's listing, to a caller allowed the narrow
 * action only (probe 24) */
static void test_other_operations_answer_refused(void **state)
{
    (void)state;
    assert_not_passed_on("/bkt/k?retention", "GetObjectRetention");
    assert_not_passed_on("/bkt/k?torrent", "GetObjectTorrent");
    assert_not_passed_on("/bkt?analytics&id=x", "GetBucketAnalyticsConfiguration");
    assert_not_passed_on("/bkt/k?legal-hold", "GetObjectLegalHold"); /* an empty 200 */
    assert_not_passed_on("/bkt/k?acl", "GetObjectAcl");              /* no root in the hold */
    assert_not_passed_on("/bkt/t2?torrent", "GetObjectTorrent");      /* the type, not bencoded */
    cJSON *j = rig_audit_find("k", false);
    if (!j)
        fail_msg("no audit record for k");
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(j, "errorCode");
    char c[64];
    snprintf(c, sizeof(c), "%s", cJSON_IsString(code) ? code->valuestring : "(none)");
    cJSON_Delete(j);
    assert_string_equal(c, "BadGateway");
}

/* The operation's own answers pass whole: a root that comes a byte at a
 * time after a declaration and a comment, moto's name for one, a torrent */
static void test_own_answers_pass(void **state)
{
    (void)state;
    get("/bkt/k?tagging", NULL, "\r\n0\r\n\r\n");
    rig_assert_status(resp, "HTTP/1.1 200 OK\r\n");
    assert_non_null(strstr(head_of(resp), "\r\nx-amz-request-id: UPTAGS\r\n"));
    assert_dechunked(TAGGING_DOC);
    get("/bkt/k?attributes", NULL, "</GetObjectAttributesOutput>");
    rig_assert_status(resp, "HTTP/1.1 200 OK\r\n");
    get("/bkt/t?torrent", NULL, "announce0:e");
    rig_assert_status(resp, "HTTP/1.1 200 OK\r\n");
    assert_string_equal(rig_body_of(resp), "d8:announce0:e");
}

/* White space before the document: for a copy (whose 200 may be an
 * <Error>, and which S3 keeps alive with white space) it goes as it comes,
 * and what follows still decides: the operation's document follows it,
 * another's cuts the connection with none of its bytes. For any other
 * operation it is held like the rest: the head of another operation's
 * answer (an object's metadata) must not go first (probe 26). */
static void copy_req(const char *target, const char *until)
{
    struct rig_req r = { .akid = AKID, .secret = SECRET, .method = "PUT", .target = target,
                         .signed_hdrs = "x-amz-copy-source: /bkt/src\r\n" };
    size_t n = rig_build(req, sizeof(req), &r);
    rig_exchange(req, n, until, resp, sizeof(resp));
}

static void test_leading_white_space(void **state)
{
    (void)state;
    get("/bkt/ws/k?tagging", NULL, "\r\n0\r\n\r\n");
    rig_assert_status(resp, "HTTP/1.1 200 OK\r\n");
    size_t len;
    char *body = dechunk(strstr(resp, "\r\n\r\n") + 4, &len);
    const char *want = " \r\n<Tagging><TagSet/></Tagging>";
    assert_int_equal(len, strlen(want));
    assert_memory_equal(body, want, len);
    free(body);
    /* another operation's answer: nothing of it, its head included */
    assert_not_passed_on("/bkt/ws-wrong/k?tagging", "GetObjectTagging");
    /* a copy: the white space went first, the copy's result follows */
    copy_req("/bkt/ws/k2", "\r\n0\r\n\r\n");
    rig_assert_status(resp, "HTTP/1.1 200 OK\r\n");
    body = dechunk(strstr(resp, "\r\n\r\n") + 4, &len);
    want = " \r\n<CopyObjectResult><ETag>e</ETag></CopyObjectResult>";
    assert_int_equal(len, strlen(want));
    assert_memory_equal(body, want, len);
    free(body);
    /* ... or another's does not: cut after the white space */
    copy_req("/bkt/ws-wrong/k2", "\x01never"); /* read until s3warden closes */
    rig_assert_status(resp, "HTTP/1.1 200 OK\r\n");
    if (strstr(resp, "ListBucketResult") || strstr(resp + 20, OBJECT_BYTES "</Key>") ||
        strstr(resp, "\r\n0\r\n\r\n"))
        fail_msg("the client got more than the white space, or a complete answer:\n%s", resp);
}

/* CompleteMultipartUpload: its white space goes first, as it comes; the
 * document follows with <Location> s3warden's URL of the object (not the
 * store's address) and <Bucket> the clients' name of the bucket (here an
 * alias of real-bkt), chunked; another operation's document after the
 * white space cuts the connection */
static void test_complete_location_and_bucket(void **state)
{
    (void)state;
    static const char done[] = "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>"
                               "<ETag>\"e\"</ETag></Part></CompleteMultipartUpload>";
    struct rig_req r = { .akid = AKID, .secret = SECRET, .method = "POST",
                         .target = "/bkt/ws/k%203?uploadId=U1", .body = done };
    size_t n = rig_build(req, sizeof(req), &r);
    rig_exchange(req, n, "\r\n0\r\n\r\n", resp, sizeof(resp));
    rig_assert_status(resp, "HTTP/1.1 200 OK\r\n");
    assert_null(strcasestr(resp, "\r\nContent-Length:"));
    size_t len;
    char *body = dechunk(strstr(resp, "\r\n\r\n") + 4, &len);
    char want[512];
    snprintf(want, sizeof(want),
             " \r\n<CompleteMultipartUploadResult><Location>http://%s/bkt/ws/k%%203</Location>"
             "<Bucket>bkt</Bucket><Key>ws/k 3</Key><ETag>\"e-1\"</ETag></CompleteMultipartUploadResult>",
             rig_host());
    assert_int_equal(len, strlen(want));
    assert_memory_equal(body, want, len);
    free(body);
    r.target = "/bkt/ws-wrong/k?uploadId=U2";
    n = rig_build(req, sizeof(req), &r);
    rig_exchange(req, n, "\x01never", resp, sizeof(resp)); /* until s3warden closes */
    rig_assert_status(resp, "HTTP/1.1 200 OK\r\n");
    if (strstr(resp, "ListBucketResult") || strstr(resp, "\r\n0\r\n\r\n"))
        fail_msg("the client got more than the white space, or a complete answer:\n%s", resp);
}

/* An aliased bucket's listing: <Name> is the clients' name, a key holding
 * the upstream name is left as it is; rewritten as it streams, so sent
 * chunked (its length changes) - and to an HTTP/1.0 client, which knows no
 * chunks, delimited by the connection's end */
static void test_listing_renamed_as_it_streams(void **state)
{
    (void)state;
    char *want = renamed_listing("bkt");
    get("/bkt?list-type=2&prefix=ren", NULL, "\r\n0\r\n\r\n");
    rig_assert_status(resp, "HTTP/1.1 200 OK\r\n");
    assert_field(head_of(resp), "Content-Length", false);
    assert_non_null(strstr(head_of(resp), "\r\nx-amz-request-id: UPLIST\r\n"));
    assert_dechunked(want);

    struct rig_req r = { .akid = AKID, .secret = SECRET, .method = "GET",
                         .target = "/bkt?list-type=2&prefix=ren" };
    size_t n = rig_build(req, sizeof(req), &r);
    char *v = strstr(req, " HTTP/1.1\r\n");
    assert_non_null(v);
    v[8] = '0';
    rig_exchange(req, n, "\x01never", resp, sizeof(resp)); /* until s3warden closes */
    rig_assert_status(resp, "HTTP/1.1 200 OK\r\n");
    const char *head = head_of(resp);
    assert_field(head, "Transfer-Encoding", false);
    assert_field(head, "Content-Length", false);
    assert_non_null(strstr(head, "\r\nConnection: close\r\n"));
    assert_string_equal(strstr(resp, "\r\n\r\n") + 4, want);
    free(want);

    /* a store that pads <Name> past what the rewrite holds back, so that
     * the name would go by in pieces: cut, none of it passed on (probe 32) */
    get("/bkt?list-type=2&prefix=pad", NULL, "\x01never"); /* until s3warden closes */
    if (strstr(resp, "real-bkt") || strstr(resp, "\r\n0\r\n\r\n"))
        fail_msg("the upstream name, or a complete answer, reached the client:\n%.300s", resp);
}

/* An error document that echoes the request names the proxy's own
 * signature (and key id): s3warden's error in its place, with the
 * upstream's status and code, none of its bytes (probe 24) */
static void test_echoed_credentials_not_passed_on(void **state)
{
    (void)state;
    static const char *const cases[][3] = {
        { "/bkt/echo-500", "HTTP/1.1 500 Internal Server Error\r\n", "InternalError" },
        { "/bkt/echo-404", "HTTP/1.1 404 Not Found\r\n", "NoSuchKey" },
    };
    for (size_t i = 0; i < 3; i++) {
        if (i < 2) {
            get(cases[i][0], NULL, "</Error>");
        } else {
            /* the caller's own header names look-alikes first (the reviewer:
             * the first Credential= in the head was taken for the proxy's);
             * a PutObject, whose x-amz-meta-* go upstream */
            struct rig_req r = { .akid = AKID, .secret = SECRET, .method = "PUT",
                                 .target = "/bkt/echo-auth", .body = "x",
                                 .signed_hdrs = "x-amz-meta-a: Credential=AAAAAAAAAAAA/ "
                                                "Signature=BBBBBBBBBB,\r\n" };
            size_t n = rig_build(req, sizeof(req), &r);
            rig_exchange(req, n, "</Error>", resp, sizeof(resp));
        }
        int k = i < 2 ? (int)i : 0;
        rig_assert_status(resp, cases[k][1]);
        char msg[256];
        snprintf(msg, sizeof(msg), "The upstream storage service answered %.3s with a document "
                 "that names s3warden&apos;s own credentials; it is not passed on.", cases[k][1] + 9);
        assert_own_error(resp, cases[k][2], msg);
        if (strstr(resp, "Signature=") || strstr(resp, "Credential="))
            fail_msg("the client got the proxy's signature:\n%s", resp);
    }
}

static void test_answer_xml_root(void **state)
{
    (void)state;
    static const char *const roots[] = { "Tagging", "TaggingResponse", NULL };
    struct s3w_slice seen;
    static const struct {
        const char *in;
        bool complete;
        enum up_answer_verdict want;
        const char *seen;
    } c[] = {
        { "<Tagging/>", false, UP_ANSWER_OK, "Tagging" },
        { "\xef\xbb\xbf \r\n\t<?xml version=\"1.0\"?><!-- a > b --><Tagging xmlns=\"x\">", false,
          UP_ANSWER_OK, "Tagging" },
        { "<s3:Tagging xmlns:s3=\"x\">", false, UP_ANSWER_OK, "s3:Tagging" },
        { "<TaggingResponse>", false, UP_ANSWER_OK, "TaggingResponse" },
        { "<Tagging", false, UP_ANSWER_MORE, "Tagging" },
        { "<Tagging", true, UP_ANSWER_WRONG, "Tagging" },
        { "<TaggingX>", false, UP_ANSWER_WRONG, "TaggingX" },
        { "<Taggin>", false, UP_ANSWER_WRONG, "Taggin" },
        { "<ListBucketResult>", false, UP_ANSWER_WRONG, "ListBucketResult" },
        { "<?xml version=", false, UP_ANSWER_MORE, "" },
        { "<!-", false, UP_ANSWER_MORE, "" },
        { "<!DOCTYPE x><Tagging/>", false, UP_ANSWER_WRONG, "" },
        { "<![CDATA[x]]>", false, UP_ANSWER_WRONG, "" },
        { "SECRET <Tagging/>", false, UP_ANSWER_WRONG, "" },
        { "<Tagging\x01>", false, UP_ANSWER_WRONG, "Tagging" },
        { "< Tagging>", false, UP_ANSWER_WRONG, "" },
        { "\xef\xbb", false, UP_ANSWER_MORE, "" },
        { "", false, UP_ANSWER_MORE, "" },
        { "", true, UP_ANSWER_WRONG, "" },
        { "   ", true, UP_ANSWER_WRONG, "" },
    };
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        enum up_answer_verdict v = up_answer_xml(c[i].in, strlen(c[i].in), c[i].complete, roots, &seen);
        if (v != c[i].want || !s3w_slice_eq_cstr(seen, c[i].seen))
            fail_msg("case %zu \"%s\": verdict %d (want %d), seen \"%.*s\" (want \"%s\")", i,
                     c[i].in, v, c[i].want, (int)seen.len, seen.ptr ? seen.ptr : "", c[i].seen);
    }
}

static void test_answer_events_and_torrent(void **state)
{
    (void)state;
    /* a message of 40 bytes with 10 bytes of headers: its prelude CRC */
    unsigned char m[16] = { 0, 0, 0, 40, 0, 0, 0, 10 };
    uint32_t crc = sigv4_crc32(0, m, 8);
    m[8] = (unsigned char)(crc >> 24);
    m[9] = (unsigned char)(crc >> 16);
    m[10] = (unsigned char)(crc >> 8);
    m[11] = (unsigned char)crc;
    assert_int_equal(up_answer_events((char *)m, 12, false), UP_ANSWER_OK);
    assert_int_equal(up_answer_events((char *)m, 11, false), UP_ANSWER_MORE);
    assert_int_equal(up_answer_events((char *)m, 11, true), UP_ANSWER_WRONG);
    m[11] ^= 1;
    assert_int_equal(up_answer_events((char *)m, 12, false), UP_ANSWER_WRONG);
    assert_int_equal(up_answer_events("<ListBucketResult>", 18, false), UP_ANSWER_WRONG);
    assert_int_equal(up_answer_torrent("d8:announce", 11, false), UP_ANSWER_OK);
    assert_int_equal(up_answer_torrent("", 0, false), UP_ANSWER_MORE);
    assert_int_equal(up_answer_torrent("", 0, true), UP_ANSWER_WRONG);
    assert_int_equal(up_answer_torrent("line one", 8, false), UP_ANSWER_WRONG);
    assert_true(up_answer_torrent_type(S3W_SLICE_LIT("application/x-bittorrent")));
    assert_true(up_answer_torrent_type(S3W_SLICE_LIT("Application/X-BitTorrent ; q=1")));
    assert_false(up_answer_torrent_type(S3W_SLICE_LIT("application/x-bittorrentx")));
    assert_false(up_answer_torrent_type(S3W_SLICE_LIT("text/plain")));
    assert_false(up_answer_torrent_type(S3W_SLICE_NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chunked_answer),
        cmocka_unit_test(test_chunked_answer_connection_close),
        cmocka_unit_test(test_status_line_and_length),
        cmocka_unit_test(test_connection_named_and_origin_fields_dropped),
        cmocka_unit_test(test_no_content_without_length),
        cmocka_unit_test(test_credential_error_chunked),
        cmocka_unit_test(test_credential_error_until_close),
        cmocka_unit_test(test_held_error_relayed_whole),
        cmocka_unit_test(test_redirect_not_passed_on),
        cmocka_unit_test(test_error_over_limit_length),
        cmocka_unit_test(test_error_over_limit_chunked),
        cmocka_unit_test(test_cut_short_keeps_status),
        cmocka_unit_test(test_other_operations_answer_refused),
        cmocka_unit_test(test_own_answers_pass),
        cmocka_unit_test(test_leading_white_space),
        cmocka_unit_test(test_complete_location_and_bucket),
        cmocka_unit_test(test_listing_renamed_as_it_streams),
        cmocka_unit_test(test_echoed_credentials_not_passed_on),
        cmocka_unit_test(test_answer_xml_root),
        cmocka_unit_test(test_answer_events_and_torrent),
    };
    /* as main() does: a test that gives up on an answer and closes (when
     * one fails) must not kill the process with s3warden's next write */
    signal(SIGPIPE, SIG_IGN);
    return rig_run_group(tests, &opts);
}
