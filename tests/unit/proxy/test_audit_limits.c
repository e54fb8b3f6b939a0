/* test_audit_limits.c - no request without its record (audit.h):
 *  - a record over the line cap used to be dropped: a 17,000-byte
 *    User-Agent, or 3,000 bytes of 0xFF (each a 6-byte escape), now give a
 *    record with the value cut and marked, still valid JSON (cJSON parses
 *    it) and valid UTF-8; every field at its most hostile at once still fits;
 *  - a write that fails part-way through a line (a full disk) used to leave
 *    a torn line and lose the record silently: the partial line is cut, the
 *    log says not writable (audit_accepting() false, which refuses
 *    requests) and every record is written once the output works again;
 *  - on a pipe, which cannot be cut, the line is finished instead;
 *  - a file left ending in a partial line is cut back when opened;
 *  - only a refused request's record may be dropped, and only beyond the
 *    backlog;
 *  - the backlog is full at its count of records or at
 *    AUDIT_BACKLOG_RECORD_BYTES of memory for each (big records, a slow
 *    disk), and a worker's part-full block handed over while records
 *    wait holds only its lines' bytes. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "audit.h"
#include "monoclock.h"
#include "audit_fixture.h"
#include "context.h"
#include "identity.h"
#include "testutil.h"

/* The fixed part of a record (names, punctuation, the widest numbers)
 * that audit.c budgets as AUDIT_FIXED_MAX beside the field caps. */
#define FIXED_MAX 1024
#define CAP_USER_AGENT 2048 /* audit.c */

static const char *jget(const cJSON *j, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

static void test_long_user_agent_truncated(void **state)
{
    (void)state;
    static char ua[17000];
    memset(ua, 'A', sizeof(ua));
    memcpy(ua, "probe/1.0 ", 10);
    struct audit_record r;
    base_record(&r);
    r.user_agent = s3w_slice(ua, sizeof(ua));
    cJSON *j = format_parse(&r, NULL);
    const char *got = jget(j, "userAgent");
    assert_int_equal(strlen(got), CAP_USER_AGENT);
    assert_memory_equal(got, ua, CAP_USER_AGENT);
    assert_true(listed_truncated(j, "userAgent"));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "truncated")), 1);
    /* the rest of the record is whole */
    assert_string_equal(jget(j, "requestID"), "0123456789ABCDEF");
    assert_string_equal(jget(j, "decision"), "Allowed");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(j, "httpStatus")->valueint, 200);
    cJSON_Delete(j);
}

static void test_ff_bytes_truncated(void **state)
{
    (void)state;
    static char ff[3000];
    memset(ff, 0xff, sizeof(ff));
    struct audit_record r;
    base_record(&r);
    r.user_agent = s3w_slice(ff, sizeof(ff));
    r.key = s3w_slice(ff, 1024); /* the longest key S3 allows */
    cJSON *j = format_parse(&r, NULL);
    /* each byte is U+FFFD (EF BF BD once parsed), written as a whole
     * 6-byte escape: 2048 / 6 = 341 of them */
    const char *got = jget(j, "userAgent");
    assert_int_equal(strlen(got), 341 * 3);
    for (size_t i = 0; i < 341; i++)
        assert_memory_equal(got + 3 * i, "\xef\xbf\xbd", 3);
    assert_true(listed_truncated(j, "userAgent"));
    /* 1024 escapes do not fit the key's 2048 either */
    assert_true(listed_truncated(j, "requestParameters.key"));
    assert_int_equal(strlen(jget(cJSON_GetObjectItemCaseSensitive(j, "requestParameters"), "key")),
                     341 * 3);
    cJSON_Delete(j);
}

static void test_cut_on_character_boundary(void **state)
{
    (void)state;
    /* "x" then 3-byte characters: 1 + 682 * 3 = 2047, the next one would
     * pass 2048; then control bytes, each a 6-byte escape, after 2 bytes */
    static char ua[4000];
    ua[0] = 'x';
    for (size_t i = 1; i + 3 <= sizeof(ua); i += 3)
        memcpy(ua + i, "\xe2\x82\xac", 3); /* U+20AC */
    struct audit_record r;
    base_record(&r);
    r.user_agent = s3w_slice(ua, 1 + 3 * 1300);
    cJSON *j = format_parse(&r, NULL);
    assert_int_equal(strlen(jget(j, "userAgent")), 1 + 682 * 3);
    cJSON_Delete(j);

    static char ctl[2000];
    memset(ctl, 0x01, sizeof(ctl));
    ctl[0] = 'a';
    ctl[1] = 'b';
    r.user_agent = s3w_slice(ctl, sizeof(ctl));
    size_t len;
    j = format_parse(&r, &len);
    /* 2 + 341 * 6 = 2048: exactly full, escapes whole */
    assert_int_equal(strlen(jget(j, "userAgent")), 2 + 341);
    assert_true(listed_truncated(j, "userAgent"));
    cJSON_Delete(j);

    /* exactly at the cap is not truncated */
    memset(ua, 'z', CAP_USER_AGENT);
    r.user_agent = s3w_slice(ua, CAP_USER_AGENT);
    j = format_parse(&r, NULL);
    assert_int_equal(strlen(jget(j, "userAgent")), CAP_USER_AGENT);
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "truncated"));
    cJSON_Delete(j);
}

/* Every field at its most hostile at once: 20,000 control bytes (6-byte
 * escapes) in each, 16 actions and resources. */
static void test_everything_hostile_fits(void **state)
{
    (void)state;
    struct audit_record r;
    hostile_record(&r);
    size_t len;
    cJSON *j = format_parse(&r, &len);
    const char *fields[] = {
        "requestID", "upstreamRequestID", "sourceIPAddress", "userAgent", "userIdentity.type",
        "userIdentity.principalId", "userIdentity.arn", "userIdentity.accountId",
        "userIdentity.accessKeyId", "userIdentity.sessionContext.sessionIssuer.arn",
        "userIdentity.sessionContext.sessionName", "eventName", "requestParameters.bucketName",
        "requestParameters.key", "actions", "resources", "decision", "decidingStatements",
        "errorCode", "tls",
    };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (!listed_truncated(j, fields[i]))
            fail_msg("%s not marked truncated", fields[i]);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "resources")),
                     AUDIT_MAX_AUTHZ);
    print_message("most hostile record: %zu bytes of %d\n", len, AUDIT_LINE_MAX);
    cJSON_Delete(j);


    /* the fixed part audit.c budgets for: every field empty, the widest
     * numbers, a session context, 16 empty actions and resources */
    struct s3w_slice e = S3W_SLICE_LIT("");
    r.request_id = r.upstream_request_id = r.source_ip = r.user_agent = e;
    r.identity_type = r.principal_id = r.arn = r.account_id = r.access_key_id = e;
    r.session_role_arn = S3W_SLICE_LIT("x");
    r.session_name = r.event_name = r.bucket = r.key = e;
    for (size_t i = 0; i < AUDIT_MAX_AUTHZ; i++)
        r.actions[i] = r.resources[i] = e;
    r.decision = r.deciding = e;
    r.error_code = r.tls = S3W_SLICE_LIT("x");
    j = format_parse(&r, &len);
    print_message("fixed part: %zu bytes (budget %d)\n", len, FIXED_MAX);
    assert_true(len <= FIXED_MAX);
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "truncated"));
    cJSON_Delete(j);

    /* and every field the format has cut at once: a web identity, a
     * requestContext over its budget, a token session's policy and tags
     * that cannot fit - the longest "truncated" list (AUDIT_TRUNCATED_MAX)
     * with everything else at its cap still makes a record */
    struct s3w_slice h = hostile_record(&r);
    r.wi_provider = r.wi_sub = r.wi_aud = h;
    r.context = context_over_budget(s3w_slice(h.ptr, 1000));
    r.token_session = true;
    r.session_policy = s3w_slice(h.ptr, 2048);
    static struct config_identity_tag tags[50]; /* 6-byte escapes: 113 KiB */
    for (size_t i = 0; i < 50; i++) {
        tags[i].key = s3w_slice(h.ptr, 128);
        tags[i].value = s3w_slice(h.ptr, 256);
    }
    r.session_tags = tags;
    r.nsession_tags = 50;
    r.sts_session_name = r.sts_issued_key_id = h; /* an STS record's fields too */
    j = format_parse(&r, &len);
    static const char *const more[] = { "userIdentity.webIdFederationData", "requestContext",
                                        "sessionPolicy", "sessionTags",
                                        "requestParameters.roleSessionName",
                                        "responseElements.accessKeyId" };
    for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++)
        if (!listed_truncated(j, more[i]))
            fail_msg("%s not marked truncated", more[i]);
    size_t listed = (size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "truncated"));
    assert_int_equal(listed, sizeof(fields) / sizeof(fields[0]) + 6);
    print_message("every field cut (%zu listed): %zu bytes of %d\n", listed, len, AUDIT_LINE_MAX);
    assert_true(len <= AUDIT_LINE_MAX);
    cJSON_Delete(j);
    /* that list fits what a record keeps for it */
    struct s3w_buf b;
    s3w_buf_init(&b, AUDIT_LINE_MAX);
    assert_int_equal(audit_format(&r, &b), 0);
    const char *list = strstr(b.ptr, ",\"truncated\":[");
    assert_non_null(list);
    size_t list_len = (size_t)(strchr(list, ']') + 1 - list);
    print_message("the longest \"truncated\" list: %zu bytes of %d\n", list_len, AUDIT_TRUNCATED_MAX);
    assert_true(list_len <= AUDIT_TRUNCATED_MAX);
    s3w_buf_cleanup(&b);
}

/* ---- the writer ------------------------------------------------------------------ */
/* A disk that fills up: while `full`, a write puts at most `room` bytes
 * in the file and then fails with ENOSPC, as write(2) does on a full
 * filesystem. */
static struct {
    atomic_int full;
    atomic_size_t room;
    atomic_int calls;
    atomic_int slow; /* a slow disk: 4 KiB per write, 5 ms each */
} disk;

static ssize_t fake_writev(int fd, const struct iovec *iov, int n)
{
    atomic_fetch_add(&disk.calls, 1);
    if (atomic_load(&disk.slow) && n > 0) {
        usleep(5 * 1000);
        return write(fd, iov[0].iov_base, iov[0].iov_len < 4096 ? iov[0].iov_len : 4096);
    }
    if (!atomic_load(&disk.full))
        return writev(fd, iov, n);
    size_t room = atomic_exchange(&disk.room, 0);
    if (room == 0) {
        errno = ENOSPC;
        return -1;
    }
    size_t put = 0;
    for (int i = 0; i < n && put < room; i++) {
        size_t k = iov[i].iov_len < room - put ? iov[i].iov_len : room - put;
        ssize_t w = write(fd, iov[i].iov_base, k);
        assert_true(w == (ssize_t)k);
        put += k;
    }
    return (ssize_t)put;
}

static bool wait_for(bool (*cond)(struct audit *), struct audit *a, int ms)
{
    for (int t = 0; t < ms / 10; t++) {
        if (cond(a))
            return true;
        usleep(10 * 1000);
    }
    return cond(a);
}

static bool is_blocked(struct audit *a)
{
    return !audit_accepting(a);
}

static bool is_accepting(struct audit *a)
{
    return audit_accepting(a);
}

/* The writer has met the full disk (not only a full backlog, which can
 * come first: the records are queued faster than it tries to write) */
static bool write_failed(struct audit *a)
{
    char st[256];
    audit_status(a, st, sizeof(st));
    return strncmp(st, "not writable (", 14) == 0;
}

static const char *limits_path;

static bool written_one(struct audit *a)
{
    (void)a;
    size_t len;
    char *s = tu_read_file(limits_path, &len);
    bool one = s && len > 0 && s[len - 1] == '\n' && memchr(s, '\n', len) == s + len - 1;
    free(s);
    return one;
}

static void record_n(struct audit_record *r, char *id, int n)
{
    base_record(r);
    snprintf(id, 17, "REQ%013d", n);
    r->request_id = s3w_slice(id, 16);
}

/* Logs the record of served request n (requestID "REQ<n, 13 digits>"). */
static void log_n(struct audit *a, int n)
{
    struct audit_record r;
    char id[17];
    record_n(&r, id, n);
    audit_log(a, &r);
}

/* The same for a refused request (audit_log_refusal). */
static void log_refusal_n(struct audit *a, int n)
{
    struct audit_record r;
    char id[17];
    record_n(&r, id, n);
    audit_log_refusal(a, &r);
}

/* Makes a fresh empty file from the mkstemp template path. */
static void temp_file(char *path)
{
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
}

/* the backlog these tests fill (audit.backlog_records), smaller than the
 * default: what they check does not depend on its size */
#define BACKLOG 4096

/* Opens the log on path (NULL: stdout), writing through fake_writev, the
 * disk working (whatever a failed test before left). */
static struct audit *open_faked(const char *path, enum audit_on_backlog on_backlog)
{
    atomic_store(&disk.full, 0);
    atomic_store(&disk.slow, 0);
    struct audit_options o = { .path = path, .on_backlog = on_backlog, .backlog = BACKLOG };
    struct audit *a = audit_open_opts(&o);
    assert_non_null(a);
    audit_set_writev(a, fake_writev);
    return a;
}

/* From now on the disk takes `room` more bytes, then fails with ENOSPC. */
static void disk_fills(size_t room)
{
    atomic_store(&disk.room, room);
    atomic_store(&disk.full, 1);
}

/* ids[0..n-1] are REQ..1 to REQ..n, in order */
static void assert_ids_in_order(char ids[][17], int n)
{
    for (int i = 0; i < n; i++) {
        char want[17];
        snprintf(want, sizeof(want), "REQ%013d", i + 1);
        assert_string_equal(ids[i], want);
    }
}

/* Every line of the file parses; returns how many, and their requestIDs
 * in order into ids (each 17 bytes). */
static size_t read_lines(const char *path, char ids[][17], size_t max, size_t *size)
{
    size_t n = 0, len;
    char *s = tu_read_file(path, &len);
    assert_non_null(s);
    *size = len;
    if (len)
        assert_true(s[len - 1] == '\n');
    size_t lines = 0;
    for (char *p = s; p < s + len;) {
        char *nl = memchr(p, '\n', (size_t)(s + len - p));
        assert_non_null(nl);
        cJSON *j = cJSON_ParseWithLength(p, (size_t)(nl - p));
        if (!j)
            fail_msg("line %zu is not JSON: %.80s", lines + 1, p);
        if (n < max)
            snprintf(ids[n++], 17, "%s", jget(j, "requestID"));
        cJSON_Delete(j);
        lines++;
        p = nl + 1;
    }
    free(s);
    return lines;
}

static void test_full_disk_no_torn_line(void **state)
{
    (void)state;
    char path[] = "/tmp/s3w-audit-limits-XXXXXX";
    temp_file(path);
    limits_path = path;
    struct audit *a = open_faked(path, AUDIT_ON_BACKLOG_REFUSE);
    char st[256];

    log_n(a, 1);
    assert_true(wait_for(written_one, a, 2000));
    assert_true(audit_status(a, st, sizeof(st)));
    assert_string_equal(st, "ok");

    /* the disk fills up 100 bytes into the next line */
    disk_fills(100);
    log_n(a, 2);
    assert_true(wait_for(is_blocked, a, 2000));
    assert_false(audit_status(a, st, sizeof(st)));
    assert_string_equal(st, "not writable (No space left on device); 1 records waiting");
    char ids[8][17];
    size_t size;
    /* the 100 bytes written of line 2 are gone again: one whole line */
    assert_int_equal(read_lines(path, ids, 8, &size), 1);
    assert_string_equal(ids[0], "REQ0000000000001");

    /* records of requests in flight while it is full wait, in order */
    log_n(a, 3);
    log_n(a, 4);
    int calls = atomic_load(&disk.calls);
    usleep(3 * AUDIT_RETRY_MS * 1000);
    /* retried every AUDIT_RETRY_MS, not on every record queued */
    assert_true(atomic_load(&disk.calls) - calls <= 5);
    assert_true(is_blocked(a));
    assert_int_equal(read_lines(path, ids, 8, &size), 1);

    /* space comes back: every record is written, none twice */
    atomic_store(&disk.full, 0);
    assert_true(wait_for(is_accepting, a, 3000));
    assert_true(audit_status(a, st, sizeof(st)));
    assert_string_equal(st, "ok");
    audit_close(a);
    assert_int_equal(read_lines(path, ids, 8, &size), 4);
    assert_ids_in_order(ids, 4);
    unlink(path);
}

static bool written_three(struct audit *a)
{
    (void)a;
    char ids[8][17];
    size_t size;
    return read_lines(limits_path, ids, 8, &size) == 3;
}

/* A worker's batch is one block of several lines: a disk that fills up in
 * the middle of its second line keeps the first (whole), cuts the partial
 * second, and writes the rest when space comes back - each line once, in
 * order. audit_batch_free hands over what is left. */
static void test_batch_full_disk_mid_block(void **state)
{
    (void)state;
    char path[] = "/tmp/s3w-audit-batch-XXXXXX";
    temp_file(path);
    limits_path = path;
    struct audit *a = open_faked(path, AUDIT_ON_BACKLOG_REFUSE);
    struct audit_batch *b = audit_batch_new(a);
    assert_non_null(b);
    struct audit_record r;
    char id[17];
    struct s3w_buf one;
    s3w_buf_init(&one, AUDIT_LINE_MAX);
    record_n(&r, id, 1);
    assert_int_equal(audit_format(&r, &one), 0);

    for (int i = 1; i <= 3; i++) {
        record_n(&r, id, i);
        audit_batch_log(b, &r);
    }
    assert_true(audit_batch_pending(b));
    /* nothing reaches the writer before the flush */
    usleep(50 * 1000);
    char ids[16][17];
    size_t size;
    assert_int_equal(read_lines(path, ids, 16, &size), 0);

    disk_fills(one.len + one.len / 2);
    audit_batch_flush(b);
    assert_false(audit_batch_pending(b));
    assert_true(wait_for(is_blocked, a, 2000));
    assert_int_equal(read_lines(path, ids, 16, &size), 1);
    assert_string_equal(ids[0], "REQ0000000000001");
    assert_int_equal(size, one.len);

    for (int i = 4; i <= 5; i++) {
        record_n(&r, id, i);
        audit_batch_log(b, &r);
    }
    atomic_store(&disk.full, 0);
    assert_true(wait_for(written_three, a, 3000));
    audit_batch_free(b); /* records 4 and 5 */
    audit_close(a);
    assert_int_equal(read_lines(path, ids, 16, &size), 5);
    assert_ids_in_order(ids, 5);
    s3w_buf_cleanup(&one);
    unlink(path);
}

/* Full at exit: one last try, then the records are counted as lost; the
 * file still holds only whole lines. */
static void test_full_disk_at_exit(void **state)
{
    (void)state;
    char path[] = "/tmp/s3w-audit-limits-XXXXXX";
    temp_file(path);
    struct audit *a = open_faked(path, AUDIT_ON_BACKLOG_REFUSE);
    disk_fills(30);
    log_n(a, 1);
    assert_true(wait_for(is_blocked, a, 2000));
    /* a refusal's record is kept while the backlog has room */
    log_refusal_n(a, 2);
    char st[256];
    audit_status(a, st, sizeof(st));
    assert_string_equal(st, "not writable (No space left on device); 2 records waiting");
    assert_int_equal(audit_dropped_total(a), 0);
    audit_close(a);
    char ids[4][17];
    size_t size;
    assert_int_equal(read_lines(path, ids, 4, &size), 0);
    assert_int_equal(size, 0);
    atomic_store(&disk.full, 0);
    unlink(path);
}

static void *space_back_later(void *arg)
{
    (void)arg;
    usleep(3 * AUDIT_RETRY_MS * 1000);
    atomic_store(&disk.full, 0);
    return NULL;
}

/* Full at a stop with a deadline (audit_stop_by, as SIGTERM sets it):
 * tried again until then, so space that comes back before it gets every
 * record written (probe 34: they were dropped at once). */
static void test_full_disk_at_stop_until_deadline(void **state)
{
    (void)state;
    char path[] = "/tmp/s3w-audit-limits-XXXXXX";
    temp_file(path);
    struct audit *a = open_faked(path, AUDIT_ON_BACKLOG_REFUSE);
    disk_fills(30);
    log_n(a, 1);
    assert_true(wait_for(is_blocked, a, 2000));
    log_n(a, 2);
    audit_stop_by(a, s3w_mono_ms() + 20 * AUDIT_RETRY_MS);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, space_back_later, NULL), 0);
    int64_t t0 = s3w_mono_ms();
    audit_close(a);
    int64_t took = s3w_mono_ms() - t0;
    pthread_join(t, NULL);
    char ids[4][17];
    size_t size;
    assert_int_equal(read_lines(path, ids, 4, &size), 2);
    assert_ids_in_order(ids, 2);
    /* it stopped once written, not at the deadline */
    assert_true(took < 10 * AUDIT_RETRY_MS);
    unlink(path);
}

/* Only a refusal's record may be dropped, and only past the backlog; a
 * served request's record is queued even then. */
static void test_backlog_full(void **state)
{
    (void)state;
    char path[] = "/tmp/s3w-audit-limits-XXXXXX";
    temp_file(path);
    struct audit *a = open_faked(path, AUDIT_ON_BACKLOG_REFUSE);
    disk_fills(0);
    for (int i = 0; i < BACKLOG; i++)
        log_n(a, i);
    assert_true(wait_for(is_blocked, a, 2000));
    log_refusal_n(a, 999990);
    assert_int_equal(audit_dropped_total(a), 1);
    log_n(a, 999991);
    assert_int_equal(audit_dropped_total(a), 1);
    /* CI once read the status before the writer had tried: "behind" */
    assert_true(wait_for(write_failed, a, 2000));
    char st[256];
    assert_false(audit_status(a, st, sizeof(st)));
    assert_string_equal(st, "not writable (No space left on device); 4097 records waiting");
    atomic_store(&disk.full, 0);
    assert_true(wait_for(is_accepting, a, 5000));
    audit_close(a);
    static char ids[BACKLOG + 2][17];
    size_t size;
    assert_int_equal(read_lines(path, ids, BACKLOG + 2, &size), BACKLOG + 1);
    assert_string_equal(ids[BACKLOG], "REQ0000000999991");
    unlink(path);
}

static bool written_all_drop(struct audit *a)
{
    char st[256];
    audit_status(a, st, sizeof(st));
    return strcmp(st, "ok") == 0;
}

static bool not_ok(struct audit *a)
{
    char st[256];
    audit_status(a, st, sizeof(st));
    return strcmp(st, "ok") != 0;
}

/* The backlog is also full once its records' memory reaches
 * AUDIT_BACKLOG_RECORD_BYTES for each of its records (16 MiB here): with
 * records near the line cap a refusal's record is dropped long before
 * the backlog's count of them wait. Each record here is its own block of
 * its size (audit_log). */
static void test_backlog_full_in_bytes(void **state)
{
    (void)state;
    char path[] = "/tmp/s3w-audit-limits-XXXXXX";
    temp_file(path);
    struct audit *a = open_faked(path, AUDIT_ON_BACKLOG_REFUSE);
    disk_fills(0);
    struct audit_record r;
    hostile_record(&r);
    struct s3w_buf line;
    s3w_buf_init(&line, AUDIT_LINE_MAX);
    assert_int_equal(audit_format(&r, &line), 0);
    const size_t cap = (size_t)BACKLOG * AUDIT_BACKLOG_RECORD_BYTES;
    /* a block's header is under 64 bytes: kept below this many, full at
     * the second count */
    size_t kept = cap / (line.len + 64) - 1, full = (cap + line.len - 1) / line.len;
    assert_true(full < BACKLOG / 2);
    size_t n = 0;
    for (; n < kept; n++)
        audit_log(a, &r);
    audit_log_refusal(a, &r);
    assert_int_equal(audit_dropped_total(a), 0);
    for (n++; n < full; n++)
        audit_log(a, &r);
    audit_log_refusal(a, &r);
    assert_int_equal(audit_dropped_total(a), 1);
    audit_log(a, &r); /* a served request's is queued even then */
    assert_int_equal(audit_dropped_total(a), 1);
    s3w_buf_cleanup(&line);
    audit_close(a); /* the disk is still full: the last try fails */
    atomic_store(&disk.full, 0);
    unlink(path);
}

/* A disk that writes, too slowly for the records (no write fails): new
 * requests are refused once the records' memory fills the backlog's
 * bytes (16 MiB here), long before its count of records wait; they are
 * served again once it has caught up. */
static void test_backlog_behind_in_bytes(void **state)
{
    (void)state;
    char path[] = "/tmp/s3w-audit-limits-XXXXXX";
    temp_file(path);
    struct audit *a = open_faked(path, AUDIT_ON_BACKLOG_REFUSE);
    atomic_store(&disk.slow, 1);
    struct audit_record r;
    hostile_record(&r);
    struct s3w_buf line;
    s3w_buf_init(&line, AUDIT_LINE_MAX);
    assert_int_equal(audit_format(&r, &line), 0);
    size_t full = ((size_t)BACKLOG * AUDIT_BACKLOG_RECORD_BYTES + line.len - 1) / line.len;
    /* until refused: the writer drains some meanwhile (more under load,
     * where formatting is slow), so not after a fixed count */
    for (size_t n = 0; n < 4 * full && audit_accepting(a); n++)
        audit_log(a, &r);
    assert_false(audit_accepting(a));
    char st[256];
    assert_false(audit_status(a, st, sizeof(st)));
    unsigned long waiting = 0;
    assert_int_equal(sscanf(st, "behind: %lu records waiting to be written", &waiting), 1);
    assert_true(waiting < BACKLOG / 2);
    atomic_store(&disk.slow, 0);
    assert_true(wait_for(is_accepting, a, 10000));
    assert_int_equal(audit_dropped_total(a), 0);
    s3w_buf_cleanup(&line);
    audit_close(a);
    unlink(path);
}

/* A worker's block flushed part full while records wait for the writer
 * (a stalled output at a low rate: one record per flush) is handed over
 * as a block of its lines' size, not of a worker's block (about 280 KiB):
 * a hundred such flushes are far from the 16 MiB of the backlog, and a
 * refusal's record is still kept. Every record is written, in order, once
 * the output works. */
static void test_batch_part_full_compact(void **state)
{
    (void)state;
    char path[] = "/tmp/s3w-audit-limits-XXXXXX";
    temp_file(path);
    struct audit *a = open_faked(path, AUDIT_ON_BACKLOG_REFUSE);
    struct audit_batch *b = audit_batch_new(a);
    assert_non_null(b);
    disk_fills(0);
    struct audit_record r;
    char id[17];
    for (int i = 1; i <= 100; i++) {
        record_n(&r, id, i);
        audit_batch_log(b, &r);
        audit_batch_flush(b);
    }
    record_n(&r, id, 101);
    audit_batch_log_refusal(b, &r);
    audit_batch_flush(b);
    assert_int_equal(audit_dropped_total(a), 0);
    atomic_store(&disk.full, 0);
    assert_true(wait_for(written_all_drop, a, 5000));
    audit_batch_free(b);
    audit_close(a);
    char ids[128][17];
    size_t size;
    assert_int_equal(read_lines(path, ids, 128, &size), 101);
    assert_ids_in_order(ids, 101);
    unlink(path);
}

/* on_backlog "drop": requests stay admitted (and /readyz ready) while the
 * output fails; past the backlog every record is dropped and counted, a
 * served request's as well as a refusal's; what was kept is written once
 * the output works again. */
/* stderr into a file for one test (the writer's log lines); put back by
 * stderr_back, or by the test's teardown if an assertion ended it first */
static char stderr_path[] = "/tmp/s3w-audit-droplog-XXXXXX";
static int stderr_saved = -1;

static char *stderr_to_file(void)
{
    temp_file(stderr_path);
    fflush(stderr);
    int fd = open(stderr_path, O_WRONLY | O_APPEND);
    stderr_saved = dup(2);
    assert_true(stderr_saved >= 0 && fd >= 0 && dup2(fd, 2) == 2);
    close(fd);
    return stderr_path;
}

static void stderr_back(void)
{
    if (stderr_saved < 0)
        return;
    fflush(stderr);
    dup2(stderr_saved, 2);
    close(stderr_saved);
    stderr_saved = -1;
}

static int stderr_teardown(void **state)
{
    (void)state;
    if (stderr_saved >= 0) {
        stderr_back();
        unlink(stderr_path);
    }
    return 0;
}

static void test_backlog_drop(void **state)
{
    (void)state;
    char path[] = "/tmp/s3w-audit-limits-XXXXXX";
    temp_file(path);
    /* the writer's log lines into a file (probe 34: its WARN said the
     * records dropped were refused requests', and they were served ones') */
    char *logpath = stderr_to_file();
    struct audit *a = open_faked(path, AUDIT_ON_BACKLOG_DROP);
    disk_fills(0);
    log_n(a, 0);
    assert_true(wait_for(not_ok, a, 2000));
    assert_true(audit_accepting(a));
    char st[256];
    assert_true(audit_status(a, st, sizeof(st)));
    assert_string_equal(st, "not writable (No space left on device); 1 records waiting; "
                            "dropping records (on_backlog drop)");
    for (int i = 1; i < BACKLOG + 5; i++)
        log_n(a, i);
    assert_true(audit_accepting(a));
    assert_int_equal(audit_dropped_total(a), 5);
    log_refusal_n(a, 999990);
    assert_int_equal(audit_dropped_total(a), 6);
    atomic_store(&disk.full, 0);
    assert_true(wait_for(written_all_drop, a, 5000));
    audit_close(a);
    static char ids[BACKLOG + 2][17];
    size_t size;
    assert_int_equal(read_lines(path, ids, BACKLOG + 2, &size), BACKLOG);
    assert_string_equal(ids[BACKLOG - 1], "REQ0000000004095");
    unlink(path);
    stderr_back();
    size_t len;
    char *log = tu_read_file(logpath, &len);
    assert_non_null(log);
    assert_non_null(strstr(log, " records of requests dropped (backlog full, on_backlog drop)"));
    assert_null(strstr(log, "of refused requests"));
    free(log);
    unlink(logpath);
}

/* A pipe cannot be cut: the line is finished when writing works again,
 * and no byte of it is written twice. */
static void test_pipe_line_finished(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    int saved = dup(STDOUT_FILENO);
    fflush(stdout);
    dup2(p[1], STDOUT_FILENO);
    close(p[1]);
    struct audit *a = open_faked(NULL, AUDIT_ON_BACKLOG_REFUSE);
    disk_fills(77);
    log_n(a, 1);
    assert_true(wait_for(is_blocked, a, 2000));
    log_n(a, 2);
    atomic_store(&disk.full, 0);
    assert_true(wait_for(is_accepting, a, 3000));
    audit_close(a);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    static char got[2 * AUDIT_LINE_MAX];
    size_t n = 0;
    ssize_t k;
    while ((k = read(p[0], got + n, sizeof(got) - 1 - n)) > 0)
        n += (size_t)k;
    close(p[0]);
    got[n] = 0;
    char *nl = strchr(got, '\n');
    assert_non_null(nl);
    assert_non_null(strstr(got, "\"requestID\":\"REQ0000000000001\""));
    assert_non_null(strstr(nl + 1, "\"requestID\":\"REQ0000000000002\""));
    assert_true(strchr(nl + 1, '\n') == got + n - 1);
    cJSON *j = cJSON_ParseWithLength(got, (size_t)(nl - got));
    assert_non_null(j);
    cJSON_Delete(j);
}

/* A file that ends in a partial line (a crash mid-write) is cut back to
 * its last whole line on open. */
static void test_open_cuts_partial_tail(void **state)
{
    (void)state;
    char path[] = "/tmp/s3w-audit-limits-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    static const char whole[] = "{\"requestID\":\"OLD0000000000001\"}\n";
    static const char torn[] = "{\"requestID\":\"OLD00000";
    assert_int_equal(write(fd, whole, sizeof(whole) - 1), (ssize_t)sizeof(whole) - 1);
    assert_int_equal(write(fd, torn, sizeof(torn) - 1), (ssize_t)sizeof(torn) - 1);
    close(fd);
    struct audit *a = audit_open(path, false);
    assert_non_null(a);
    log_n(a, 1);
    audit_close(a);
    char ids[4][17];
    size_t size;
    assert_int_equal(read_lines(path, ids, 4, &size), 2);
    assert_string_equal(ids[0], "OLD0000000000001");
    assert_string_equal(ids[1], "REQ0000000000001");
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_long_user_agent_truncated),
        cmocka_unit_test(test_ff_bytes_truncated),
        cmocka_unit_test(test_cut_on_character_boundary),
        cmocka_unit_test(test_everything_hostile_fits),
        cmocka_unit_test(test_full_disk_no_torn_line),
        cmocka_unit_test(test_batch_full_disk_mid_block),
        cmocka_unit_test(test_full_disk_at_exit),
        cmocka_unit_test(test_full_disk_at_stop_until_deadline),
        cmocka_unit_test(test_backlog_full),
        cmocka_unit_test(test_backlog_full_in_bytes),
        cmocka_unit_test(test_backlog_behind_in_bytes),
        cmocka_unit_test(test_batch_part_full_compact),
        cmocka_unit_test_teardown(test_backlog_drop, stderr_teardown),
        cmocka_unit_test(test_pipe_line_finished),
        cmocka_unit_test(test_open_cuts_partial_tail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
