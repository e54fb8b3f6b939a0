/* test_cors.c - CORS answered by s3warden (proxy/cors.c, cors_answer.h):
 * the matching rules (one '*' per origin or header, first rule wins,
 * methods exact), preflights answered without credentials and without
 * reaching the upstream, S3's refusals, the headers of the matching rule
 * on the upstream's answers and on s3warden's own errors, the upstream's
 * Access-Control-* headers dropped, and GetBucketCors answering the config.
 * A recording fake upstream (pipeline_rig.h) proves what reached it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cors_answer.h"
#include "pipeline_rig.h"
#include "sockutil.h"

#define OWNER "111111111111"
#define AKID "AKIACORSUSER00000001"
#define SECRET "corsUserSecret/0123456789abcdefghijklmno"

/* The upstream answers with a CORS header of its own: s3warden must not
 * pass it on (a browser refuses two Access-Control-Allow-Origin). */
static void up_answer(int fd, const char *head)
{
    (void)head;
    su_send_str(fd, "HTTP/1.1 200 OK\r\nx-amz-request-id: UPSTREAM1\r\n"
                    "Access-Control-Allow-Origin: https://evil.example\r\nContent-Length: 2\r\n"
                    "Connection: close\r\n\r\nok");
}

#define RULES                                                                                   \
    "{\"CORSRules\":["                                                                          \
    "{\"ID\":\"uploads\",\"AllowedOrigins\":[\"https://*.partner.example\"],"                    \
    "\"AllowedMethods\":[\"POST\",\"GET\"],\"AllowedHeaders\":[\"content-*\",\"x-amz-date\"],"  \
    "\"ExposeHeaders\":[\"ETag\",\"x-amz-request-id\"],\"MaxAgeSeconds\":3000},"                 \
    "{\"AllowedOrigins\":[\"*\"],\"AllowedMethods\":[\"HEAD\"]}]}"

static struct config *make_config(void)
{
    return rig_config(&(struct rig_cfg){ .akid = AKID, .secret = SECRET,
        .buckets = "{\"name\":\"web\",\"account\":\"" OWNER "\",\"cors\":" RULES "},"
                   "{\"name\":\"plain\",\"account\":\"" OWNER "\"}" });
}

static const struct rig_opts opts = { .make_config = make_config, .answer = up_answer };

static char req[16384], resp[64 * 1024];

static void raw(const char *r)
{
    rig_exchange(r, strlen(r), NULL, resp, sizeof(resp));
}

static void assert_starts(const char *line)
{
    if (strncmp(resp, line, strlen(line)) != 0)
        fprintf(stderr, "got: %s\n", resp);
    assert_true(strncmp(resp, line, strlen(line)) == 0);
}

static void assert_has(const char *s)
{
    if (!strstr(resp, s))
        fprintf(stderr, "want %s\ngot: %s\n", s, resp);
    assert_non_null(strstr(resp, s));
}

/* ---- pure: matching ---------------------------------------------------------------- */
static void test_wildcard(void **state)
{
    (void)state;
    assert_true(config_cors_wildcard_match("*", "", 0, false));
    assert_true(config_cors_wildcard_match("https://*.a.example", "https://x.a.example", 19, false));
    assert_false(config_cors_wildcard_match("https://*.a.example", "https://a.example", 17, false));
    assert_false(config_cors_wildcard_match("https://*.a.example", "http://x.a.example", 18, false));
    /* origins compare exactly, header names without case */
    assert_false(config_cors_wildcard_match("https://A.example", "https://a.example", 17, false));
    assert_true(config_cors_wildcard_match("Content-*", "content-type", 12, true));
    assert_true(config_cors_wildcard_match("x-amz-date", "X-Amz-Date", 10, true));
    assert_false(config_cors_wildcard_match("x-amz-date", "x-amz-dates", 11, true));
}

static void test_match_first_rule(void **state)
{
    (void)state;
    char *o1[] = { "https://*.p.example" }, *o2[] = { "*" };
    char *h1[] = { "content-*" };
    struct config_cors_rule rules[2] = {
        { .origins = o1, .norigins = 1, .methods = CONFIG_CORS_POST, .allowed_headers = h1,
          .nallowed_headers = 1, .max_age = -1 },
        { .origins = o2, .norigins = 1, .methods = CONFIG_CORS_POST | CONFIG_CORS_GET,
          .max_age = 7 },
    };
    struct config_cors c = { rules, 2 };
    struct s3w_slice po = S3W_SLICE_LIT("https://u.p.example");
    assert_ptr_equal(cors_match(&c, po, CONFIG_CORS_POST, true, S3W_SLICE_LIT("Content-Type")),
                     &rules[0]);
    /* a header the first rule does not allow: the second has none at all */
    assert_null(cors_match(&c, po, CONFIG_CORS_POST, true, S3W_SLICE_LIT("content-type, x-foo")));
    /* an actual request does not name headers: first rule */
    assert_ptr_equal(cors_match(&c, po, CONFIG_CORS_POST, false, S3W_SLICE_NULL), &rules[0]);
    assert_ptr_equal(cors_match(&c, po, CONFIG_CORS_GET, false, S3W_SLICE_NULL), &rules[1]);
    assert_null(cors_match(&c, po, CONFIG_CORS_DELETE, false, S3W_SLICE_NULL));
    assert_null(cors_match(&c, po, 0, false, S3W_SLICE_NULL)); /* OPTIONS, PATCH, ... */
    assert_null(cors_match(&c, S3W_SLICE_NULL, CONFIG_CORS_GET, false, S3W_SLICE_NULL));

    struct s3w_buf b;
    s3w_buf_init(&b, 4096);
    assert_int_equal(cors_header_lines(&b, &rules[1], po, false, S3W_SLICE_NULL), 0);
    assert_int_equal(s3w_buf_append_char(&b, '\0'), 0);
    assert_string_equal(b.ptr, "Access-Control-Allow-Origin: *\r\n"
                               "Access-Control-Allow-Methods: GET, POST\r\n"
                               "Access-Control-Max-Age: 7\r\n"
                               "Vary: Origin, Access-Control-Request-Headers, "
                               "Access-Control-Request-Method\r\n");
    s3w_buf_cleanup(&b);
    assert_true(cors_upstream_header(S3W_SLICE_LIT("access-control-allow-origin")));
    assert_true(cors_upstream_header(S3W_SLICE_LIT("Access-Control-Max-Age")));
    assert_false(cors_upstream_header(S3W_SLICE_LIT("access-control")));
    assert_false(cors_upstream_header(S3W_SLICE_LIT("vary")));
}

/* ---- preflights --------------------------------------------------------------------- */
static void test_preflight_allowed(void **state)
{
    (void)state;
    int r0 = rig_upstream_requests();
    snprintf(req, sizeof(req),
             "OPTIONS /web/user/a.txt HTTP/1.1\r\nHost: %s\r\nOrigin: https://app.partner.example\r\n"
             "Access-Control-Request-Method: POST\r\n"
             "Access-Control-Request-Headers: content-type,x-amz-date\r\n\r\n",
             rig_host());
    raw(req);
    assert_starts("HTTP/1.1 200 OK\r\n");
    assert_has("\r\nAccess-Control-Allow-Origin: https://app.partner.example\r\n"
               "Access-Control-Allow-Credentials: true\r\n"
               "Access-Control-Allow-Methods: GET, POST\r\n"
               "Access-Control-Allow-Headers: content-type,x-amz-date\r\n"
               "Access-Control-Expose-Headers: ETag, x-amz-request-id\r\n"
               "Access-Control-Max-Age: 3000\r\n"
               "Vary: Origin, Access-Control-Request-Headers, Access-Control-Request-Method\r\n");
    assert_has("\r\nContent-Length: 0\r\n");
    /* virtual-host style is not configured here; the "*" rule allows HEAD
     * from anywhere, and answers "*" without credentials */
    snprintf(req, sizeof(req),
             "OPTIONS /web HTTP/1.1\r\nHost: %s\r\nOrigin: http://elsewhere.example\r\n"
             "Access-Control-Request-Method: HEAD\r\n\r\n", rig_host());
    raw(req);
    assert_starts("HTTP/1.1 200 OK\r\n");
    assert_has("\r\nAccess-Control-Allow-Origin: *\r\nAccess-Control-Allow-Methods: HEAD\r\n");
    assert_null(strstr(resp, "Allow-Credentials"));
    rig_assert_upstream_requests(r0);
}

/* A long Access-Control-Request-Headers (one allowed name of 20,000
 * bytes) is echoed whole: the answer's buffer had a 16 KiB cap and such a
 * preflight was answered 500 InternalError (the sixth probe). */
static void test_preflight_long_request_headers(void **state)
{
    (void)state;
    static char big[32768], name[20001];
    memset(name, 'a', sizeof name - 1);
    memcpy(name, "content-", 8);
    snprintf(big, sizeof(big),
             "OPTIONS /web/user/a.txt HTTP/1.1\r\nHost: %s\r\nOrigin: https://app.partner.example\r\n"
             "Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: %s\r\n\r\n",
             rig_host(), name);
    rig_exchange(big, strlen(big), "\r\n\r\n", resp, sizeof(resp));
    assert_starts("HTTP/1.1 200 OK\r\n");
    char *want = malloc(sizeof name + 64);
    assert_non_null(want);
    snprintf(want, sizeof name + 64, "\r\nAccess-Control-Allow-Headers: %s\r\n", name);
    assert_has(want);
    free(want);
}

#define NOT_ALLOWED                                                                            \
    "<Code>AccessForbidden</Code><Message>CORSResponse: This CORS request is not allowed. This " \
    "is usually because the evalution of Origin, request method / "                           \
    "Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by "  \
    "the resource&apos;s CORS spec.</Message>"

static void test_preflight_refused(void **state)
{
    (void)state;
    int r0 = rig_upstream_requests();
    static const char *const cases[][3] = {
        /* origin, method, headers */
        { "https://partner.example", "POST", NULL },          /* no subdomain: '*' needs one */
        { "https://app.partner.example", "DELETE", NULL },    /* method not allowed */
        { "https://app.partner.example", "post", NULL },      /* methods compare exactly */
        { "https://app.partner.example", "POST", "authorization" }, /* header not allowed */
        { "http://app.partner.example", "GET", NULL },         /* scheme differs */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char hh[256] = "";
        if (cases[i][2])
            snprintf(hh, sizeof(hh), "Access-Control-Request-Headers: %s\r\n", cases[i][2]);
        snprintf(req, sizeof(req),
                 "OPTIONS /web/k HTTP/1.1\r\nHost: %s\r\nOrigin: %s\r\n"
                 "Access-Control-Request-Method: %s\r\n%s\r\n",
                 rig_host(), cases[i][0], cases[i][1], hh);
        raw(req);
        assert_starts("HTTP/1.1 403 Forbidden\r\n");
        assert_has(NOT_ALLOWED);
        assert_null(strstr(resp, "Access-Control-Allow-Origin"));
    }
    snprintf(req, sizeof(req),
             "OPTIONS /plain/k HTTP/1.1\r\nHost: %s\r\nOrigin: https://app.partner.example\r\n"
             "Access-Control-Request-Method: GET\r\n\r\n", rig_host());
    raw(req);
    assert_starts("HTTP/1.1 403 Forbidden\r\n");
    assert_has("<Code>AccessForbidden</Code><Message>CORSResponse: CORS is not enabled for this "
               "bucket.</Message>");
    snprintf(req, sizeof(req),
             "OPTIONS /web/k HTTP/1.1\r\nHost: %s\r\nAccess-Control-Request-Method: GET\r\n\r\n",
             rig_host());
    raw(req);
    assert_starts("HTTP/1.1 400 Bad Request\r\n");
    assert_has("<Code>BadRequest</Code><Message>Insufficient information. Origin request header "
               "needed.</Message>");
    snprintf(req, sizeof(req),
             "OPTIONS /web/k HTTP/1.1\r\nHost: %s\r\nOrigin: https://app.partner.example\r\n\r\n",
             rig_host());
    raw(req);
    assert_starts("HTTP/1.1 400 Bad Request\r\n");
    assert_has("<Code>BadRequest</Code><Message>Invalid Access-Control-Request-Method: "
               "null</Message>");
    rig_assert_upstream_requests(r0);
}

/* ---- actual requests ---------------------------------------------------------------- */
static void signed_get(const char *target, const char *origin)
{
    char hdr[256];
    snprintf(hdr, sizeof(hdr), "Origin: %s\r\n", origin);
    struct rig_req r = { .akid = AKID, .secret = SECRET, .method = "GET", .target = target,
                         .unsigned_hdrs = hdr, .body = "" };
    rig_build(req, sizeof(req), &r);
    raw(req);
}

static void test_actual_response_headers(void **state)
{
    (void)state;
    signed_get("/web/obj", "https://app.partner.example");
    assert_starts("HTTP/1.1 200 OK\r\n");
    assert_has("\r\nAccess-Control-Allow-Origin: https://app.partner.example\r\n"
               "Access-Control-Allow-Credentials: true\r\n"
               "Access-Control-Allow-Methods: GET, POST\r\n"
               "Access-Control-Expose-Headers: ETag, x-amz-request-id\r\n");
    assert_null(strstr(resp, "evil.example")); /* the upstream's own header is dropped */
    assert_null(strstr(resp, "Access-Control-Allow-Headers")); /* preflight only */

    /* an origin no rule allows for GET: no CORS headers (the browser then
     * refuses to hand the answer to the page) */
    signed_get("/web/obj", "https://other.example");
    assert_starts("HTTP/1.1 200 OK\r\n");
    assert_null(strstr(resp, "Access-Control-"));

    /* s3warden's own errors carry them too, as S3's do: an unknown key */
    snprintf(req, sizeof(req), "GET /web/obj HTTP/1.1\r\nHost: %s\r\nOrigin: https://app.partner.example\r\n"
             "Authorization: AWS4-HMAC-SHA256 Credential=AKIAUNKNOWN000000000/20250101/us-east-1/s3/"
             "aws4_request, SignedHeaders=host, Signature=00\r\n\r\n", rig_host());
    raw(req);
    assert_starts("HTTP/1.1 403 Forbidden\r\n");
    assert_has("\r\nAccess-Control-Allow-Origin: https://app.partner.example\r\n");
}

/* ---- the bucket CORS API ---------------------------------------------------------------- */
static void test_get_bucket_cors(void **state)
{
    (void)state;
    int r0 = rig_upstream_requests();
    struct rig_req r = { .akid = AKID, .secret = SECRET, .method = "GET", .target = "/web?cors",
                         .body = "" };
    rig_build(req, sizeof(req), &r);
    raw(req);
    assert_starts("HTTP/1.1 200 OK\r\n");
    assert_has("\r\n\r\n<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CORSConfiguration "
               "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><CORSRule><ID>uploads</ID>"
               "<AllowedHeader>content-*</AllowedHeader><AllowedHeader>x-amz-date</AllowedHeader>"
               "<AllowedMethod>GET</AllowedMethod><AllowedMethod>POST</AllowedMethod>"
               "<AllowedOrigin>https://*.partner.example</AllowedOrigin>"
               "<ExposeHeader>ETag</ExposeHeader><ExposeHeader>x-amz-request-id</ExposeHeader>"
               "<MaxAgeSeconds>3000</MaxAgeSeconds></CORSRule><CORSRule><AllowedMethod>HEAD"
               "</AllowedMethod><AllowedOrigin>*</AllowedOrigin></CORSRule></CORSConfiguration>");
    r.target = "/plain?cors";
    rig_build(req, sizeof(req), &r);
    raw(req);
    assert_starts("HTTP/1.1 404 Not Found\r\n");
    assert_has("<Code>NoSuchCORSConfiguration</Code><Message>The CORS configuration does not "
               "exist</Message>");
    r.method = "DELETE";
    r.target = "/web?cors";
    rig_build(req, sizeof(req), &r);
    raw(req);
    assert_starts("HTTP/1.1 501 Not Implemented\r\n");
    assert_has("<Code>NotImplemented</Code>");
    rig_assert_upstream_requests(r0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wildcard),
        cmocka_unit_test(test_match_first_rule),
        cmocka_unit_test(test_preflight_allowed),
        cmocka_unit_test(test_preflight_refused),
        cmocka_unit_test(test_preflight_long_request_headers),
        cmocka_unit_test(test_actual_response_headers),
        cmocka_unit_test(test_get_bucket_cors),
    };
    return rig_run_group(tests, &opts);
}
