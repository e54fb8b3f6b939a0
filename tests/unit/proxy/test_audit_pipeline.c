/* test_audit_pipeline.c - no request is served without its audit record,
 * through the whole pipeline against a recording fake upstream:
 *  - a 17,000-byte User-Agent: the request was served and its record
 *    dropped (over the line cap); now the record is there, the value cut
 *    and listed in "truncated";
 *  - a log that cannot be written (a full disk, injected into the writer)
 *    makes s3warden refuse new requests with 503 SlowDown before they reach
 *    the upstream, and serve again once writing works, with every record;
 *  - the record of a request whose client went away (499) had no
 *    sourceIPAddress, userAgent or byte counts: they are kept now. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "audit.h"
#include "audit_fixture.h"
#include "pipeline_rig.h"
#include "sockutil.h"
#include "testutil.h"

#define AKID "AKIAAUDITPIPE0000001"
#define SECRET "auditPipeSecretKey/0123456789abcdefghijk"

static void up_answer(int fd, const char *head)
{
    if (strstr(head, "/slow-"))
        usleep(800 * 1000); /* the client gives up meanwhile */
    rig_answer_ok(fd, head);
}

static struct config *make_config(void)
{
    /* bkt is stored under its own name */
    return rig_config(&(struct rig_cfg){ .akid = AKID, .secret = SECRET,
        .buckets = "{\"name\":\"bkt\",\"account\":\"111111111111\"}" });
}

static const struct rig_opts opts = {
    .make_config = make_config, .answer = up_answer, .audit_file = true,
};

static char req[64 * 1024], resp[64 * 1024];

/* A signed GET of /bkt/<key> with extra unsigned header lines. */
static size_t get_req(const char *key, const char *unsigned_hdrs)
{
    char target[256];
    snprintf(target, sizeof(target), "/bkt/%s", key);
    struct rig_req r = { .akid = AKID, .secret = SECRET, .method = "GET", .target = target,
                         .unsigned_hdrs = unsigned_hdrs };
    return rig_build(req, sizeof(req), &r);
}

static cJSON *audit_record_of(const char *key)
{
    return rig_audit_find(key, false);
}

static const char *jstr(const cJSON *j, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double jnum(const cJSON *j, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}

/* Sends the signed GET of /bkt/<key> with the extra unsigned header lines
 * and asserts that it was served (200). */
static void get_served(const char *key, const char *unsigned_hdrs)
{
    size_t n = get_req(key, unsigned_hdrs);
    rig_exchange(req, n, NULL, resp, sizeof(resp));
    assert_true(strncmp(resp, "HTTP/1.1 200 OK\r\n", 17) == 0);
}

/* A GET of /bkt/<key> with a User-Agent of n bytes `c`, served; returns
 * its audit record. */
static cJSON *served_with_user_agent(const char *key, char c, size_t n)
{
    static char hdr[17100];
    assert_true(12 + n + 3 <= sizeof(hdr));
    memcpy(hdr, "User-Agent: ", 12);
    memset(hdr + 12, c, n);
    memcpy(hdr + 12 + n, "\r\n", 3);
    get_served(key, hdr);
    cJSON *j = audit_record_of(key);
    if (!j)
        fail_msg("the served request has no audit record");
    return j;
}

static void test_long_user_agent_recorded(void **state)
{
    (void)state;
    cJSON *j = served_with_user_agent("ua-long", 'U', 17000);
    assert_int_equal((int)jnum(j, "httpStatus"), 200);
    assert_int_equal(strlen(jstr(j, "userAgent")), 2048);
    assert_true(listed_truncated(j, "userAgent"));
    cJSON_Delete(j);
}

static void test_ff_user_agent_recorded(void **state)
{
    (void)state;
    cJSON *j = served_with_user_agent("ua-ff", (char)0xff, 3000);
    assert_int_equal(strlen(jstr(j, "userAgent")), 341 * 3); /* U+FFFD each */
    assert_true(listed_truncated(j, "userAgent"));
    cJSON_Delete(j);
}

/* ---- a full disk ---------------------------------------------------------------- */
static atomic_int disk_full;

static ssize_t full_writev(int fd, const struct iovec *iov, int n)
{
    if (atomic_load(&disk_full)) {
        errno = ENOSPC;
        return -1;
    }
    return writev(fd, iov, n);
}

static bool wait_accepting(bool want)
{
    for (int t = 0; t < 300; t++) {
        if (audit_accepting(rig_audit()) == want)
            return true;
        usleep(10 * 1000);
    }
    return false;
}

static void test_unwritable_log_refuses(void **state)
{
    (void)state;
    audit_set_writev(rig_audit(), full_writev);
    atomic_store(&disk_full, 1);
    /* served while the writer had not failed yet; its record waits */
    get_served("full-1", NULL);
    assert_true(wait_accepting(false));

    int before;
    rig_counts(0, &before, NULL);
    size_t n = get_req("full-2", NULL);
    rig_exchange(req, n, NULL, resp, sizeof(resp));
    assert_true(strncmp(resp, "HTTP/1.1 503 Service Unavailable\r\n", 34) == 0);
    assert_non_null(strstr(resp, "<Code>SlowDown</Code><Message>Please reduce your request rate."
                                 "</Message>"));
    int after;
    rig_counts(100, &after, NULL);
    assert_int_equal(after, before); /* nothing went upstream */

    /* space again: served, and every record is in the file */
    atomic_store(&disk_full, 0);
    assert_true(wait_accepting(true));
    get_served("full-3", NULL);
    const char *keys[] = { "full-1", "full-3" };
    for (int i = 0; i < 2; i++) {
        cJSON *j = audit_record_of(keys[i]);
        if (!j)
            fail_msg("no audit record for %s", keys[i]);
        assert_int_equal((int)jnum(j, "httpStatus"), 200);
        cJSON_Delete(j);
    }
    /* the refusal is recorded too (the backlog had room); it was refused
     * before routing, so it names no bucket or key */
    cJSON *j = rig_audit_find("SlowDown", true);
    if (!j)
        fail_msg("no audit record for the refusal");
    assert_int_equal((int)jnum(j, "httpStatus"), 503);
    cJSON_Delete(j);
    audit_set_writev(rig_audit(), NULL);
}

/* ---- a client that goes away ------------------------------------------------------ */
static void test_client_gone_record(void **state)
{
    (void)state;
    /* an upload that stops 10 bytes into its 1000 */
    struct rig_req r = { .akid = AKID, .secret = SECRET, .method = "PUT",
                         .target = "/bkt/slow-gone", .payload = "UNSIGNED-PAYLOAD",
                         .unsigned_hdrs = "User-Agent: gone-client/1.0\r\n",
                         .framing = "Content-Length: 1000\r\n", .wire_body = "0123456789" };
    size_t n = rig_build(req, sizeof(req), &r);
    int fd = su_connect(rig_port());
    assert_true(fd >= 0);
    su_send(fd, req, n);
    usleep(200 * 1000);
    close(fd);
    cJSON *j = audit_record_of("slow-gone");
    if (!j)
        fail_msg("no audit record for the abandoned request");
    assert_int_equal((int)jnum(j, "httpStatus"), 499);
    assert_string_equal(jstr(j, "errorCode"), "ClientClosed");
    assert_non_null(jstr(j, "sourceIPAddress"));
    assert_string_equal(jstr(j, "sourceIPAddress"), "127.0.0.1");
    assert_non_null(jstr(j, "userAgent"));
    assert_string_equal(jstr(j, "userAgent"), "gone-client/1.0");
    assert_int_equal((int)jnum(j, "bytesIn"), (int)n);
    assert_int_equal((int)jnum(j, "bytesOut"), 0);
    cJSON_Delete(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_long_user_agent_recorded),
        cmocka_unit_test(test_ff_user_agent_recorded),
        cmocka_unit_test(test_client_gone_record),
        cmocka_unit_test(test_unwritable_log_refuses),
    };
    return rig_run_group(tests, &opts);
}
