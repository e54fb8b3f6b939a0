/* test_audit_sink.c - a delivered sink's spool (audit_sink_spool.c) with a
 * fake transport, and the syslog framing (audit_sink_syslog.c):
 *  - records reach the transport in order, each byte once while it works;
 *  - while it fails nothing is lost: the same bytes are offered again, and
 *    records spooled meanwhile follow;
 *  - a spool left with undelivered records (a stop while the receiver was
 *    down) delivers them after the next start;
 *  - over max_spool_bytes waiting, an append fails with ENOSPC and leaves
 *    the spool as it was;
 *  - an RFC 5424 message with its RFC 6587 octet count. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "audit.h"
#include "audit_sink.h"

static struct {
    atomic_int fail;       /* deliver() fails with this errno */
    atomic_int calls;
    char got[1 << 16];
    atomic_size_t len;
} rx;

static int fake_deliver(void *t, const char *buf, size_t len)
{
    (void)t;
    atomic_fetch_add(&rx.calls, 1);
    int f = atomic_load(&rx.fail);
    if (f)
        return f;
    size_t at = atomic_load(&rx.len);
    assert_true(at + len <= sizeof(rx.got));
    memcpy(rx.got + at, buf, len);
    atomic_store(&rx.len, at + len);
    return 0;
}

static struct audit_transport fake(void)
{
    return (struct audit_transport){ .deliver = fake_deliver, .name = "fake", .max_batch = 4096 };
}

static void reset_rx(void)
{
    atomic_store(&rx.fail, 0);
    atomic_store(&rx.calls, 0);
    atomic_store(&rx.len, 0);
}

static bool wait_len(size_t want, int ms)
{
    for (int i = 0; i < ms / 10; i++) {
        if (atomic_load(&rx.len) == want)
            return true;
        usleep(10000);
    }
    return atomic_load(&rx.len) == want;
}

static char *spool_dir(void)
{
    static char dir[] = "/tmp/s3w-sink-XXXXXX";
    static char path[64];
    memcpy(dir + sizeof(dir) - 7, "XXXXXX", 6);
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/spool", dir);
    return path;
}

static void rm_spool(const char *path)
{
    char f[128];
    snprintf(f, sizeof(f), "%s/audit.spool", path);
    unlink(f);
    snprintf(f, sizeof(f), "%s/audit.offset", path);
    unlink(f);
    rmdir(path);
    char parent[64];
    snprintf(parent, sizeof(parent), "%s", path);
    *strrchr(parent, '/') = '\0';
    rmdir(parent);
}

static void test_delivers_in_order(void **state)
{
    (void)state;
    reset_rx();
    char *dir = spool_dir();
    struct audit_sink *s = audit_sink_new(dir, 1 << 20, fake());
    assert_non_null(s);
    assert_int_equal(audit_sink_append(s, "{\"a\":1}\n", 8), 0);
    assert_int_equal(audit_sink_append(s, "{\"b\":2}\n{\"c\":3}\n", 16), 0);
    assert_true(wait_len(24, 10000));
    assert_memory_equal(rx.got, "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n", 24);
    struct audit_sink_stats st;
    audit_sink_stats(s, &st);
    assert_int_equal(st.pending_bytes, 0);
    assert_int_equal(st.delivered_bytes, 24);
    assert_true(st.up);
    char txt[200];
    assert_true(audit_sink_status(s, txt, sizeof(txt)));
    assert_string_equal(txt, "fake: ok");
    audit_sink_free(s, 0);
    rm_spool(dir);
}

static void test_receiver_down_then_restart(void **state)
{
    (void)state;
    reset_rx();
    char *dir = spool_dir();
    atomic_store(&rx.fail, ECONNREFUSED);
    struct audit_sink *s = audit_sink_new(dir, 1 << 20, fake());
    assert_non_null(s);
    assert_int_equal(audit_sink_append(s, "one\n", 4), 0);
    while (atomic_load(&rx.calls) < 2)
        usleep(10000);
    assert_int_equal(audit_sink_append(s, "two\n", 4), 0);
    char txt[200];
    assert_true(audit_sink_status(s, txt, sizeof(txt)));
    assert_string_equal(txt, "fake: down (Connection refused); 8 bytes spooled");
    struct audit_sink_stats st;
    audit_sink_stats(s, &st);
    assert_int_equal(st.pending_bytes, 8);
    assert_false(st.up);
    /* stopped while the receiver is down: both records stay spooled */
    audit_sink_free(s, 0);
    assert_int_equal(atomic_load(&rx.len), 0);
    /* the next start delivers them, then new ones */
    atomic_store(&rx.fail, 0);
    s = audit_sink_new(dir, 1 << 20, fake());
    assert_non_null(s);
    assert_true(wait_len(8, 10000));
    assert_int_equal(audit_sink_append(s, "three\n", 6), 0);
    assert_true(wait_len(14, 10000));
    assert_memory_equal(rx.got, "one\ntwo\nthree\n", 14);
    audit_sink_free(s, 0);
    rm_spool(dir);
}

static void test_spool_full(void **state)
{
    (void)state;
    reset_rx();
    char *dir = spool_dir();
    atomic_store(&rx.fail, ECONNREFUSED);
    struct audit_sink *s = audit_sink_new(dir, 100, fake());
    assert_non_null(s);
    char line[60];
    memset(line, 'x', sizeof(line) - 1);
    line[sizeof(line) - 1] = '\n';
    assert_int_equal(audit_sink_append(s, line, sizeof(line)), 0);
    while (atomic_load(&rx.calls) < 2) /* the first failure is on record */
        usleep(10000);
    assert_int_equal(audit_sink_append(s, line, sizeof(line)), ENOSPC);
    struct audit_sink_stats st;
    audit_sink_stats(s, &st);
    assert_int_equal(st.pending_bytes, 60);
    char txt[200];
    assert_false(audit_sink_status(s, txt, sizeof(txt)));
    assert_non_null(strstr(txt, "fake: spool full (60 bytes waiting; Connection refused)"));
    atomic_store(&rx.fail, 0);
    assert_true(wait_len(60, 10000));
    assert_int_equal(audit_sink_append(s, line, sizeof(line)), 0);
    assert_true(wait_len(120, 10000));
    audit_sink_free(s, 0);
    rm_spool(dir);
}

static void test_syslog_frame(void **state)
{
    (void)state;
    char out[512];
    /* 2024-11-22T17:12:25.123Z, local0 (16) info: PRI 134 */
    size_t n = audit_syslog_frame(out, sizeof(out), 16, "proxy-1", 4242, 1732295545123,
                                  "{\"x\":1}", 7);
    const char *want_msg = "<134>1 2024-11-22T17:12:25.123Z proxy-1 s3warden 4242 audit - {\"x\":1}";
    char want[512];
    int wn = snprintf(want, sizeof(want), "%zu %s", strlen(want_msg), want_msg);
    assert_int_equal(n, (size_t)wn);
    assert_memory_equal(out, want, n);
    /* too small: nothing */
    assert_int_equal(audit_syslog_frame(out, 20, 16, "h", 1, 0, "{}", 2), 0);
}

/* A record longer than the receiver takes is cut to fit, as JSON: a
 * receiver that cuts it itself (rsyslog past its maxMessageSize) reads the
 * rest as a message of its own, which a User-Agent can fill (the ninth
 * probe stored "<34>1 ... sshd ... Accepted password for root"). */
static void test_syslog_fit(void **state)
{
    (void)state;
    static char ua[20001], rec[2 * sizeof ua + 200];
    memset(ua, 'A', sizeof ua - 1);
    memcpy(ua + 9000, "<34>1 2026-01-01T00:00:00Z bastion sshd 4242 - - Accepted", 58);
    snprintf(rec, sizeof rec,
             "{\"eventVersion\":\"1.0\",\"requestID\":\"ABC\",\"userAgent\":\"%s\","
             "\"eventName\":\"GetObject\",\"requestContext\":{\"aws:UserAgent\":\"%s\"},"
             "\"key\":\"caf\xC3\xA9\",\"httpStatus\":200}", ua, ua);
    for (size_t budget = 7900; budget >= 300; budget /= 3) {
        size_t n = 0;
        char *out = audit_syslog_fit(rec, strlen(rec), budget, &n);
        assert_non_null(out);
        assert_int_equal(n, strlen(out));
        if (n > budget)
            fail_msg("%zu bytes for a budget of %zu", n, budget);
        cJSON *o = cJSON_Parse(out);
        assert_non_null(o);
        assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "syslogTruncated")));
        assert_string_equal(cJSON_GetObjectItem(o, "requestID")->valuestring, "ABC");
        assert_string_equal(cJSON_GetObjectItem(o, "eventName")->valuestring, "GetObject");
        assert_int_equal(cJSON_GetObjectItem(o, "httpStatus")->valueint, 200);
        const cJSON *u = cJSON_GetObjectItem(o, "userAgent");
        if (u) /* shortened, marked, never cut inside a character */
            assert_non_null(strstr(u->valuestring, "..."));
        cJSON_Delete(o);
        free(out);
    }
    /* not JSON: a stub that says so; no room even for that: NULL */
    size_t n;
    char *out = audit_syslog_fit("not json", 8, 100, &n);
    assert_string_equal(out, "{\"syslogTruncated\":true}");
    free(out);
    assert_null(audit_syslog_fit(rec, strlen(rec), 10, &n));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delivers_in_order),
        cmocka_unit_test(test_receiver_down_then_restart),
        cmocka_unit_test(test_spool_full),
        cmocka_unit_test(test_syslog_frame),
        cmocka_unit_test(test_syslog_fit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
