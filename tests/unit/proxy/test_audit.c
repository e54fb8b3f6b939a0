/* test_audit.c - the audit record's format, and proof that no secret,
 * signature, session token or Authorization value reaches the audit log or
 * the stderr log: real signed, presigned and forged requests go through the
 * real pipeline (upstream unreachable, so they end in 503 / 4xx) and both
 * outputs are searched for every piece of authorization material. */
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
#include <curl/curl.h>

#include "audit.h"
#include "config.h"
#include "pipeline.h"
#include "proxy.h"
#include "sigv4.h"
#include "sockutil.h"
#include "testutil.h"

static void test_format(void **state)
{
    (void)state;
    struct audit_record r;
    memset(&r, 0, sizeof(r));
    r.time_ms = 1700000000123;
    r.request_id = S3W_SLICE_LIT("0123456789ABCDEF");
    r.source_ip = S3W_SLICE_LIT("127.0.0.1");
    r.user_agent = S3W_SLICE_LIT("ua \"quoted\"\n\x01\xff");
    r.identity_type = S3W_SLICE_LIT("AssumedRole");
    r.principal_id = S3W_SLICE_LIT("AROAEXAMPLEID:sess");
    r.arn = S3W_SLICE_LIT("arn:aws:sts::111111111111:assumed-role/R/sess");
    r.account_id = S3W_SLICE_LIT("111111111111");
    r.access_key_id = S3W_SLICE_LIT("AKIAEXAMPLE");
    r.session_role_arn = S3W_SLICE_LIT("arn:aws:iam::111111111111:role/R");
    r.session_name = S3W_SLICE_LIT("sess");
    r.event_name = S3W_SLICE_LIT("GetObject");
    r.bucket = S3W_SLICE_LIT("b");
    r.key = S3W_SLICE_LIT("k");
    r.actions[0] = S3W_SLICE_LIT("s3:GetObject");
    r.resources[0] = S3W_SLICE_LIT("arn:aws:s3:::b/k");
    r.nauthz = 1;
    r.decision = S3W_SLICE_LIT("ExplicitlyDenied");
    r.deciding = S3W_SLICE_LIT("bucket-policy:DenyAll");
    r.cross_account = true;
    r.error_code = S3W_SLICE_LIT("AccessDenied");
    r.http_status = 403;
    r.bytes_in = 10;
    r.bytes_out = 20;
    r.latency_ms = 3;
    r.upstream_latency_ms = -1;
    struct s3w_buf b;
    s3w_buf_init(&b, AUDIT_LINE_MAX);
    assert_int_equal(audit_format(&r, &b), 0);
    assert_string_equal(b.ptr,
        "{\"eventVersion\":\"1.0\",\"eventTime\":\"2023-11-14T22:13:20.123Z\","
        "\"eventSource\":\"s3warden\",\"requestID\":\"0123456789ABCDEF\",\"upstreamRequestID\":null,"
        "\"sourceIPAddress\":\"127.0.0.1\",\"userAgent\":\"ua \\\"quoted\\\"\\u000a\\u0001\\ufffd\","
        "\"userIdentity\":{\"type\":\"AssumedRole\",\"principalId\":\"AROAEXAMPLEID:sess\","
        "\"arn\":\"arn:aws:sts::111111111111:assumed-role/R/sess\",\"accountId\":\"111111111111\","
        "\"accessKeyId\":\"AKIAEXAMPLE\",\"sessionContext\":{\"sessionIssuer\":{\"type\":\"Role\","
        "\"arn\":\"arn:aws:iam::111111111111:role/R\"},\"sessionName\":\"sess\"}},"
        "\"eventName\":\"GetObject\",\"requestParameters\":{\"bucketName\":\"b\",\"key\":\"k\"},"
        "\"actions\":[\"s3:GetObject\"],\"resources\":[\"arn:aws:s3:::b/k\"],"
        "\"decision\":\"ExplicitlyDenied\",\"decidingStatements\":\"bucket-policy:DenyAll\","
        "\"crossAccount\":true,\"errorCode\":\"AccessDenied\",\"httpStatus\":403,\"bytesIn\":10,"
        "\"bytesOut\":20,\"latencyMs\":3,\"upstreamLatencyMs\":null,\"tls\":null}\n");
    s3w_buf_cleanup(&b);
}

/* ---- no authorization material in any output -------------------------------------- */
#define AKID "AKIAAUDITTEST0000001"
#define SECRET "auditSecretKeyValue/DoNotLog+0123456789ab"
#define TOKEN "FAKESESSIONTOKENdonotlogXYZ123"

static const char cfg_json[] =
    "{\"listeners\":[{\"address\":\"127.0.0.1\",\"port\":1}],"
    "\"upstream\":{\"endpoint\":\"http://127.0.0.1:1\",\"region\":\"us-east-1\"},"
    "\"credentials\":{\"chain\":[{\"type\":\"static\",\"access_key_id\":\"AKIAUPSTREAM00000001\","
    "\"secret\":\"upstreamSecretDoNotLog0000000000000000000\"}]},"
    "\"accounts\":[{\"id\":\"111111111111\"}],"
    "\"users\":[{\"account\":\"111111111111\",\"name\":\"u\",\"unique_id\":\"AIDAAUDITTEST000001\","
    "\"access_keys\":[{\"id\":\"" AKID "\",\"secret\":\"" SECRET "\"}],"
    "\"policies\":[{\"name\":\"all\",\"document\":{\"Version\":\"2012-10-17\","
    "\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"}]}}]}],"
    "\"buckets\":[{\"name\":\"bkt\",\"account\":\"111111111111\"}]}";

static char resp[65536];

static void send_recv(int port, const char *req)
{
    int fd = su_connect(port);
    assert_true(fd >= 0);
    su_send_str(fd, req);
    bool closed;
    su_read(fd, resp, sizeof(resp), "\r\n\r\n", 1, 5000, &closed);
    close(fd);
}

static bool file_has(const char *path, const char *needle)
{
    size_t n;
    char *s = tu_read_file(path, &n);
    if (!s)
        return false;
    bool r = memmem(s, n, needle, strlen(needle)) != NULL;
    free(s);
    return r;
}

static void test_no_secrets(void **state)
{
    (void)state;
    char dir[] = "/tmp/s3w-audit-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char audit_path[256], log_path[256];
    snprintf(audit_path, sizeof(audit_path), "%s/audit.log", dir);
    snprintf(log_path, sizeof(log_path), "%s/stderr.log", dir);

    struct config_errors errs;
    config_errors_init(&errs);
    struct config *cfg = NULL;
    int rc = config_load_buffer("test", cfg_json, sizeof(cfg_json) - 1, NULL, &cfg, &errs);
    for (size_t i = 0; i < errs.n; i++)
        fprintf(stderr, "%s\n", errs.items[i].text);
    config_errors_cleanup(&errs);
    assert_int_equal(rc, 0);

    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct audit *a = audit_open(audit_path, false);
    assert_non_null(a);
    struct pl_shared sh;
    pl_shared_init(&sh, cfg, a);
    struct proxy_settings s;
    proxy_settings_defaults(&s);
    s.port = 0;
    s.workers = 1;
    static struct proxy_server srv;
    memset(&srv, 0, sizeof(srv));
    srv.worker_init = pl_worker_init;
    srv.worker_cleanup = pl_worker_cleanup;
    srv.worker_poke = pl_worker_poke;
    int saved = dup(2);
    FILE *lf = fopen(log_path, "w");
    dup2(fileno(lf), 2);
    assert_int_equal(proxy_server_init(&srv, &s, &pl_handler, &sh), 0);
    assert_int_equal(proxy_server_start(&srv), 0);
    int port = srv.bound_port;

    /* 1. a correctly header-signed GET (ends in 503: nothing listens upstream) */
    char host[64];
    snprintf(host, sizeof(host), "127.0.0.1:%d", port);
    struct s3w_header hh[] = { { S3W_SLICE_LIT("Host"), s3w_slice_cstr(host) } };
    struct sigv4_credentials cr = { S3W_SLICE_LIT(AKID), S3W_SLICE_LIT(SECRET), S3W_SLICE_NULL };
    struct sigv4_sign_params sp = {
        .method = S3W_SLICE_LIT("GET"), .target = S3W_SLICE_LIT("/bkt/obj"),
        .headers = hh, .n_headers = 1, .region = S3W_SLICE_LIT("us-east-1"),
        .service = S3W_SLICE_LIT("s3"), .uri_mode = SIGV4_URI_S3, .now = time(NULL),
        .payload = S3W_SLICE_LIT("UNSIGNED-PAYLOAD"),
    };
    struct sigv4_signed sd;
    struct sigv4_error err;
    assert_int_equal(sigv4_sign_headers(&sp, &cr, &sd, &err), 0);
    char sig[65];
    const char *sp_ = strstr(sd.authorization, "Signature=");
    assert_non_null(sp_);
    snprintf(sig, sizeof(sig), "%s", sp_ + 10);
    char req[8192];
    snprintf(req, sizeof(req),
             "GET /bkt/obj HTTP/1.1\r\nHost: %s\r\nAuthorization: %.*s\r\nx-amz-date: %s\r\n"
             "x-amz-content-sha256: UNSIGNED-PAYLOAD\r\nConnection: close\r\n\r\n",
             host, (int)sd.authorization_len, sd.authorization, sd.amz_date);
    send_recv(port, req);
    assert_non_null(strstr(resp, "HTTP/1.1 503"));
    sigv4_signed_cleanup(&sd);

    /* 2. a presigned URL carrying a session token (refused: long-term key) */
    struct sigv4_credentials crt = { S3W_SLICE_LIT(AKID), S3W_SLICE_LIT(SECRET), S3W_SLICE_LIT(TOKEN) };
    struct s3w_buf target;
    s3w_buf_init(&target, 8192);
    assert_int_equal(sigv4_presign(&sp, &crt, 300, &target, &err), 0);
    char psig[65];
    const char *ps = strstr(target.ptr, "X-Amz-Signature=");
    assert_non_null(ps);
    snprintf(psig, sizeof(psig), "%s", ps + 16);
    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
             target.ptr, host);
    send_recv(port, req);
    assert_null(strstr(resp, "HTTP/1.1 200"));
    s3w_buf_cleanup(&target);

    /* 3. a forged signature */
    snprintf(req, sizeof(req),
             "GET /bkt/obj HTTP/1.1\r\nHost: %s\r\nAuthorization: AWS4-HMAC-SHA256 "
             "Credential=" AKID "/20991231/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, "
             "Signature=deadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeef\r\n"
             "x-amz-date: 20991231T000000Z\r\nx-amz-content-sha256: UNSIGNED-PAYLOAD\r\n"
             "x-amz-security-token: " TOKEN "\r\nConnection: close\r\n\r\n", host);
    send_recv(port, req);
    assert_non_null(strstr(resp, "HTTP/1.1 40"));

    proxy_server_stop(&srv, 1000);
    proxy_server_wait(&srv);
    proxy_server_cleanup(&srv);
    pl_shared_cleanup(&sh);
    audit_close(a);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    fclose(lf);
    curl_global_cleanup();

    /* the records are there ... */
    assert_true(file_has(audit_path, "\"accessKeyId\":\"" AKID "\""));
    assert_true(file_has(audit_path, "\"httpStatus\":503"));
    assert_true(file_has(audit_path, "\"errorCode\":\"SignatureDoesNotMatch\"") ||
                file_has(audit_path, "\"errorCode\":\"RequestTimeTooSkewed\""));
    assert_true(file_has(log_path, "key_id=" AKID));
    /* ... and none of the authorization material is, in either output */
    const char *never[] = { SECRET, TOKEN, sig, psig, "deadbeefdeadbeef", "Signature=",
                            "AWS4-HMAC-SHA256 Credential", "upstreamSecretDoNotLog",
                            "X-Amz-Security-Token", "Authorization" };
    for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
        if (file_has(audit_path, never[i]) || file_has(log_path, never[i]))
            fail_msg("found '%s' in the audit or stderr log", never[i]);
    }
    unlink(audit_path);
    unlink(log_path);
    rmdir(dir);
}

/* Every byte value at every offset of a 24-byte value (the escape tests
 * words of 8 bytes at once): the output is the value with that one byte
 * as RFC 8259 wants it - as is, \" or \\, \u00XX, or (a lone byte of
 * 0x80 and above is not UTF-8) U+FFFD as \ufffd. */
static void test_escape_each_byte_at_each_offset(void **state)
{
    (void)state;
    for (int c = 0; c < 256; c++) {
        char want_mid[8];
        if (c == '"' || c == '\\')
            snprintf(want_mid, sizeof(want_mid), "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            snprintf(want_mid, sizeof(want_mid), "\\u%04x", c);
        else if (c >= 0x80)
            snprintf(want_mid, sizeof(want_mid), "\\ufffd");
        else
            snprintf(want_mid, sizeof(want_mid), "%c", c);
        for (size_t at = 0; at < 24; at++) {
            char in[24], want[40];
            memset(in, 'k', sizeof(in));
            in[at] = (char)c;
            snprintf(want, sizeof(want), "%.*s%s%.*s", (int)at, in, want_mid, (int)(23 - at), in + at + 1);
            struct s3w_buf b;
            s3w_buf_init(&b, 1024);
            bool cut = false;
            assert_int_equal(audit_json_escape(&b, s3w_slice(in, sizeof(in)), 1024, &cut), 0);
            assert_false(cut);
            if (strcmp(b.ptr, want) != 0)
                fail_msg("byte 0x%02x at %zu: got \"%s\", want \"%s\"", c, at, b.ptr, want);
            s3w_buf_cleanup(&b);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_escape_each_byte_at_each_offset),
        cmocka_unit_test(test_no_secrets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
