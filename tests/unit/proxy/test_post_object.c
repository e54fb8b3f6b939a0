/* test_post_object.c - POST Object through the pipeline (post_object.c)
 * against the recording fake upstream (pipeline_rig.h): an allowed form
 * becomes one PUT of exactly the file's bytes with the fields' headers and
 * the browser gets 204 with the ETag; the refusals (content-length-range,
 * a field no condition covers, a forged signature, an identity without
 * s3:PutObject, an unsigned form) reach nothing upstream; a part after the
 * file (the body's ending not as declared) leaves the upstream PUT
 * incomplete - its last byte never sent - so nothing is stored. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "codec.h"
#include "pipeline_rig.h"
#include <cjson/cJSON.h>
#include "sigv4.h"
#include "sockutil.h"

#define OWNER "111111111111"
#define AKID "AKIAPOSTUSER00000001"
#define SECRET "postUserSecret/0123456789abcdefghijklmno"
#define RAKID "AKIAPOSTREADER000001"
#define RSECRET "postReaderSecret/0123456789abcdefghijkl"
#define PUT_OK "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:PutObject\",\"Resource\":\"arn:aws:s3:::forms/*\"}]}"
#define GET_OK "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":\"*\"}]}"

static void up_answer(int fd, const char *head)
{
    (void)head;
    su_send_str(fd, "HTTP/1.1 200 OK\r\nETag: \"0123456789abcdef0123456789abcdef\"\r\n"
                    "x-amz-request-id: UPSTREAM1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
}

static struct config *make_config(void)
{
    return rig_config(&(struct rig_cfg){
        .top = "\"virtual_host_domains\":[\"s3.test\"],",
        .akid = AKID, .secret = SECRET, .policy = PUT_OK,
        .more_users = ",{\"account\":\"" OWNER "\",\"name\":\"reader\",\"unique_id\":\"AIDAPOSTREADER00001\","
            "\"access_keys\":[{\"id\":\"" RAKID "\",\"secret\":\"" RSECRET "\"}],"
            "\"policies\":[{\"name\":\"get\",\"document\":" GET_OK "}]}",
        .buckets = "{\"name\":\"forms\",\"account\":\"" OWNER "\"}" });
}

static const struct rig_opts opts = { .make_config = make_config, .answer = up_answer,
                                      .audit_file = true };

static char req[64 * 1024], resp[64 * 1024], body[48 * 1024];
/* the request line's target and Host: path style by default */
static const char *target = "/forms", *vhost = NULL;
/* seconds added to the clock for the form's x-amz-date and credential */
static long date_shift;
/* the file part's filename */
static const char *sent_name = "f.txt";

#define B "----s3wPostBoundary"

static size_t part(char *out, size_t cap, const char *name, const char *value)
{
    return (size_t)snprintf(out, cap, "--" B "\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n",
                            name, value);
}

/* A form signed by akid/secret for `conditions` (the JSON array's inside),
 * with `fields` ("name=value" strings; NULL-terminated) then the file;
 * `tail` replaces the closing delimiter when set. Sends it, reads the answer. */
static void post(const char *akid, const char *secret, const char *conditions,
                 const char *const *fields, const char *file, const char *tail, bool sign)
{
    char date[9], amz[17], cred[128];
    time_t t = time(NULL) + date_shift;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(date, sizeof(date), "%Y%m%d", &tm);
    strftime(amz, sizeof(amz), "%Y%m%dT%H%M%SZ", &tm);
    snprintf(cred, sizeof(cred), "%s/%s/us-east-1/s3/aws4_request", akid, date);
    char doc[4096], b64[6000], sig[65];
    snprintf(doc, sizeof(doc),
             "{\"expiration\":\"2099-01-01T00:00:00Z\",\"conditions\":[%s,"
             "{\"x-amz-algorithm\":\"AWS4-HMAC-SHA256\"},{\"x-amz-credential\":\"%s\"},"
             "{\"x-amz-date\":\"%s\"}]}", conditions, cred, amz);
    s3w_b64_encode((const uint8_t *)doc, strlen(doc), b64);
    uint8_t key[32], mac[32];
    sigv4_signing_key(s3w_slice_cstr(secret), s3w_slice_cstr(date), S3W_SLICE_LIT("us-east-1"),
                      S3W_SLICE_LIT("s3"), key);
    sigv4_signature(key, s3w_slice_cstr(b64), mac);
    s3w_hex_encode(mac, 32, sig);
    size_t n = 0;
    for (size_t i = 0; fields[i]; i++) {
        char nm[128];
        const char *eq = strchr(fields[i], '=');
        snprintf(nm, sizeof(nm), "%.*s", (int)(eq - fields[i]), fields[i]);
        n += part(body + n, sizeof(body) - n, nm, eq + 1);
    }
    if (sign) {
        n += part(body + n, sizeof(body) - n, "x-amz-algorithm", "AWS4-HMAC-SHA256");
        n += part(body + n, sizeof(body) - n, "x-amz-credential", cred);
        n += part(body + n, sizeof(body) - n, "x-amz-date", amz);
        n += part(body + n, sizeof(body) - n, "policy", b64);
        n += part(body + n, sizeof(body) - n, "x-amz-signature", sig);
    }
    n += (size_t)snprintf(body + n, sizeof(body) - n,
                          "--" B "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\n"
                          "Content-Type: text/plain\r\n\r\n%s%s", sent_name, file,
                          tail ? tail : "\r\n--" B "--\r\n");
    int hl = snprintf(req, sizeof(req), "POST %s HTTP/1.1\r\nHost: %s\r\n"
                      "Content-Type: multipart/form-data; boundary=" B "\r\nContent-Length: %zu\r\n\r\n",
                      target, vhost ? vhost : rig_host(), n);
    memcpy(req + hl, body, n);
    rig_exchange(req, (size_t)hl + n, NULL, resp, sizeof(resp));
}

static int upstream(int *complete)
{
    int n;
    rig_counts(150, &n, complete);
    return n;
}

static void assert_resp(const char *status_line, const char *code, const char *msg)
{
    if (strncmp(resp, status_line, strlen(status_line)) != 0 ||
        (code && !strstr(resp, code)) || (msg && !strstr(resp, msg)))
        fprintf(stderr, "got: %s\n", resp);
    assert_true(strncmp(resp, status_line, strlen(status_line)) == 0);
    if (code)
        assert_non_null(strstr(resp, code));
    if (msg)
        assert_non_null(strstr(resp, msg));
}

#define COND_OK "[\"starts-with\",\"$key\",\"uploads/\"],{\"x-amz-meta-note\":\"hi\"}," \
                "[\"starts-with\",\"$Content-Type\",\"text/\"],[\"content-length-range\",1,64]"
static const char *const FIELDS_OK[] = { "key=uploads/${filename}", "x-amz-meta-note=hi",
                                         "Content-Type=text/plain", NULL };

static void test_upload_becomes_put(void **state)
{
    (void)state;
    int c0, r0 = upstream(&c0);
    post(AKID, SECRET, COND_OK, FIELDS_OK, "file\r\n---s3w 19 byt", NULL, true);
    assert_resp("HTTP/1.1 204 No Content\r\n", NULL, NULL);
    assert_non_null(strstr(resp, "\r\nETag: \"0123456789abcdef0123456789abcdef\"\r\n"));
    assert_non_null(strstr(resp, "/forms/uploads/f.txt\r\n"));
    int c1, r1 = upstream(&c1);
    assert_int_equal(r1, r0 + 1);
    assert_int_equal(c1, c0 + 1);
    static struct rig_seen seen;
    rig_seen(&seen);
    assert_true(strncmp(seen.last_head, "PUT /forms/uploads/f.txt HTTP/1.1\r\n", 35) == 0);
    assert_non_null(strstr(seen.last_head, "x-amz-meta-note: hi\r\n"));
    assert_non_null(strstr(seen.last_head, "Content-Type: text/plain\r\n"));
    assert_non_null(strcasestr(seen.last_head, "\r\nContent-Length: 19\r\n"));
    assert_null(strstr(seen.last_head, "x-amz-signature"));
    assert_int_equal(seen.last_body_len, 19);
    assert_memory_equal(seen.last_body, "file\r\n---s3w 19 byt", 19);
}

static void test_virtual_host_and_201(void **state)
{
    (void)state;
    target = "/";
    vhost = "forms.s3.test";
    static const char *const fields[] = { "key=uploads/v.txt", "x-amz-meta-note=hi",
                                          "Content-Type=text/plain", "success_action_status=201", NULL };
    post(AKID, SECRET, COND_OK ",{\"success_action_status\":\"201\"}", fields, "vhost", NULL, true);
    target = "/forms";
    vhost = NULL;
    assert_resp("HTTP/1.1 201 Created\r\n", NULL, NULL);
    assert_non_null(strstr(resp, "<PostResponse><Location>http://forms.s3.test/uploads/v.txt</Location>"
                                 "<Bucket>forms</Bucket><Key>uploads/v.txt</Key>"
                                 "<ETag>\"0123456789abcdef0123456789abcdef\"</ETag></PostResponse>"));
    static struct rig_seen seen;
    rig_seen(&seen);
    assert_true(strncmp(seen.last_head, "PUT /forms/uploads/v.txt HTTP/1.1\r\n", 35) == 0);
    assert_memory_equal(seen.last_body, "vhost", 5);
}

static void test_refusals_reach_nothing(void **state)
{
    (void)state;
    int c0, r0 = upstream(&c0);
    char big[100];
    memset(big, 'x', 99);
    big[99] = '\0';
    post(AKID, SECRET, COND_OK, FIELDS_OK, big, NULL, true);
    assert_resp("HTTP/1.1 400 Bad Request\r\n", "<Code>EntityTooLarge</Code>",
                "Your proposed upload exceeds the maximum allowed size");
    static const char *const extra[] = { "key=uploads/${filename}", "x-amz-meta-note=hi",
                                         "Content-Type=text/plain", "acl=public-read", NULL };
    post(AKID, SECRET, COND_OK, extra, "f", NULL, true);
    assert_resp("HTTP/1.1 403 Forbidden\r\n", "<Code>AccessDenied</Code>",
                "Invalid according to Policy: Extra input fields: acl");
    post(AKID, "wrongSecret/0123456789abcdefghijklmnopqr", COND_OK, FIELDS_OK, "f", NULL, true);
    assert_resp("HTTP/1.1 403 Forbidden\r\n", "<Code>SignatureDoesNotMatch</Code>", NULL);
    /* the reader's own policies allow no PutObject */
    post(RAKID, RSECRET, COND_OK, FIELDS_OK, "f", NULL, true);
    assert_resp("HTTP/1.1 403 Forbidden\r\n", "<Code>AccessDenied</Code>",
                "is not authorized to perform: s3:PutObject");
    /* fields that cannot become headers of the PUT as they are */
    static const char *const colon[] = { "key=uploads/${filename}", "x-amz-meta-note=hi",
                                         "Content-Type=text/plain", "x-amz-meta-a:b=1", NULL };
    post(AKID, SECRET, COND_OK ",{\"x-amz-meta-a:b\":\"1\"}", colon, "f", NULL, true);
    assert_resp("HTTP/1.1 400 Bad Request\r\n", "<Code>InvalidArgument</Code>",
                "The value of the POST field x-amz-meta-a:b is not a valid header value.");
    static const char *const framing[] = { "key=uploads/${filename}", "x-amz-meta-note=hi",
                                           "Content-Type=text/plain", "x-amz-decoded-content-length=1",
                                           NULL };
    post(AKID, SECRET, COND_OK ",{\"x-amz-decoded-content-length\":\"1\"}", framing, "f", NULL, true);
    assert_resp("HTTP/1.1 501 Not Implemented\r\n", "<Code>NotImplemented</Code>",
                "s3warden does not support the POST field x-amz-decoded-content-length.");
    /* unsigned: anonymous, and nobody let anyone in */
    post(AKID, SECRET, COND_OK, FIELDS_OK, "f", NULL, false);
    assert_resp("HTTP/1.1 403 Forbidden\r\n", "<Code>AccessDenied</Code>", NULL);
    int c1, r1 = upstream(&c1);
    assert_int_equal(r1, r0);
    assert_int_equal(c1, c0);
}

static void test_part_after_file_never_completes(void **state)
{
    (void)state;
    int c0, r0 = upstream(&c0);
    post(AKID, SECRET,
         "[\"starts-with\",\"$key\",\"uploads/\"],{\"x-amz-meta-note\":\"hi\"},"
         "[\"starts-with\",\"$Content-Type\",\"text/\"]", FIELDS_OK, "file-bytes",
         "\r\n--" B "\r\nContent-Disposition: form-data; name=\"submit\"\r\n\r\nUp\r\n--" B "--\r\n", true);
    assert_resp("HTTP/1.1 400 Bad Request\r\n", "<Code>MalformedPOSTRequest</Code>", NULL);
    int c1, r1 = upstream(&c1);
    /* the PUT may have started (the file's length looked right), but its
     * body never completed: the last byte was held back, then aborted */
    assert_true(r1 <= r0 + 1);
    assert_int_equal(c1, c0);
}

/* A form dated ahead of the clock is refused as a presigned URL is: taken,
 * s3:signatureAge was negative and left out, and a policy's limit on it
 * never applied (probe 31). 15 minutes of skew are allowed. */
static void test_future_date_refused(void **state)
{
    (void)state;
    int c0, r0 = upstream(&c0);
    date_shift = 16 * 60;
    post(AKID, SECRET, COND_OK, FIELDS_OK, "ahead", NULL, true);
    date_shift = 0;
    assert_resp("HTTP/1.1 403 Forbidden\r\n", "<Code>AccessDenied</Code>",
                "<Message>Request is not yet valid</Message>");
    int c1, r1 = upstream(&c1);
    assert_int_equal(r1, r0);
    assert_int_equal(c1, c0);
    date_shift = 14 * 60;
    post(AKID, SECRET, COND_OK, FIELDS_OK, "skewed", NULL, true);
    date_shift = 0;
    assert_resp("HTTP/1.1 204 No Content\r\n", NULL, NULL);
}

/* A form the operation map refuses is recorded as PostObject, as every
 * other (probe 31: eventName PutObject) */
static void test_mapping_refusal_audited_as_post(void **state)
{
    (void)state;
    static const char *const dup[] = { "key=uploads/dup-acl.txt", "x-amz-meta-note=hi",
                                       "Content-Type=text/plain", "acl=private",
                                       "x-amz-acl=private", NULL };
    post(AKID, SECRET, COND_OK ",{\"acl\":\"private\"},{\"x-amz-acl\":\"private\"}", dup, "f",
         NULL, true);
    assert_resp("HTTP/1.1 400 Bad Request\r\n", "<Code>InvalidArgument</Code>", NULL);
    cJSON *j = rig_audit_find("uploads/dup-acl.txt", false);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "eventName")->valuestring, "PostObject");
    assert_string_equal(cJSON_GetObjectItem(j, "errorCode")->valuestring, "InvalidArgument");
    cJSON_Delete(j);
}

/* ${filename} is put in every field (S3: "recognized by all form
 * fields"), the policy checked against the result; the name is what
 * follows the client's last '/' or '\\' (probe 31: only key had it, and a
 * path went into the key whole) */
static void test_filename_in_every_field(void **state)
{
    (void)state;
    static const char *const fields[] = { "key=uploads/${filename}", "x-amz-meta-note=hi",
                                          "Content-Type=text/plain",
                                          "x-amz-meta-name=was ${filename}",
                                          "success_action_redirect=https://app.example/d?f=${filename}",
                                          NULL };
    static const char *const names[][2] = { { "photo.png", "photo.png" },
                                            { "C:\\\\Users\\\\me\\\\photo.png", "photo.png" },
                                            { "../../photo.png", "photo.png" } };
    for (size_t i = 0; i < 3; i++) {
        sent_name = names[i][0];
        post(AKID, SECRET,
             COND_OK ",[\"starts-with\",\"$x-amz-meta-name\",\"was \"],"
             "[\"eq\",\"$success_action_redirect\",\"https://app.example/d?f=photo.png\"]",
             fields, "png", NULL, true);
        sent_name = "f.txt";
        assert_resp("HTTP/1.1 303 See Other\r\n", NULL, NULL);
        assert_non_null(strstr(resp, "\r\nLocation: https://app.example/d?f=photo.png&bucket=forms&"
                                     "key=uploads%2Fphoto.png&etag="));
        static struct rig_seen seen;
        rig_seen(&seen);
        assert_true(strncmp(seen.last_head, "PUT /forms/uploads/photo.png HTTP/1.1\r\n", 39) == 0);
        assert_non_null(strstr(seen.last_head, "x-amz-meta-name: was photo.png\r\n"));
    }
    /* the policy sees the name put in: a condition on the literal fails */
    post(AKID, SECRET, COND_OK ",{\"x-amz-meta-name\":\"was ${filename}\"},"
         "[\"starts-with\",\"$success_action_redirect\",\"\"]", fields, "png", NULL, true);
    assert_resp("HTTP/1.1 403 Forbidden\r\n", "<Code>AccessDenied</Code>",
                "Invalid according to Policy: Policy Condition failed: "
                "[&quot;eq&quot;, &quot;$x-amz-meta-name&quot;, &quot;was ${filename}&quot;]");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upload_becomes_put),
        cmocka_unit_test(test_virtual_host_and_201),
        cmocka_unit_test(test_refusals_reach_nothing),
        cmocka_unit_test(test_part_after_file_never_completes),
        cmocka_unit_test(test_future_date_refused),
        cmocka_unit_test(test_mapping_refusal_audited_as_post),
        cmocka_unit_test(test_filename_in_every_field),
    };
    return rig_run_group(tests, &opts);
}
