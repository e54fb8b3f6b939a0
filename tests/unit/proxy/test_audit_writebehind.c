/* test_audit_writebehind.c - the audit writer hands each 8 MiB of its
 * file to writeback as it completes and drops the 8 MiB before from the
 * page cache (base/writebehind.h), losing and reordering nothing:
 *  - records past two windows: the calls cover the file from where it
 *    ended at open, window after window, each dropped one window later;
 *  - every record is in the file, whole and in order;
 *  - after a reopen (SIGHUP's log rotation) it starts over on the new
 *    file, from where that one ends.
 * sync_file_range and posix_fadvise are observed (tests/unit/wrap/
 * wbehind_wrap.h): each call is recorded and passed on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "audit.h"
#include "audit_fixture.h"
#include "wbehind_wrap.h"
#include "writebehind.h"

/* ---- helpers --------------------------------------------------------------------- */
static char dir[] = "/tmp/s3w-audit-wb-XXXXXX";
static char path[96], rotated[96];

/* logs records numbered from..to-1 (the request id carries the number) */
static void log_records(struct audit *a, unsigned from, unsigned to)
{
    struct audit_record r;
    base_record(&r);
    char id[32];
    for (unsigned i = from; i < to; i++) {
        snprintf(id, sizeof id, "REQ%08u", i);
        r.request_id = s3w_slice_cstr(id);
        audit_log(a, &r);
    }
}

/* the file holds the line `pre` (if not NULL), then records from..to-1,
 * whole and in order; returns its size */
static uint64_t check_file(const char *p, const char *pre, unsigned from, unsigned to)
{
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    static char line[AUDIT_LINE_MAX + 2];
    if (pre) {
        assert_non_null(fgets(line, sizeof line, f));
        assert_string_equal(line, pre);
    }
    char want[40];
    unsigned i = from;
    while (fgets(line, sizeof line, f)) {
        size_t n = strlen(line);
        assert_true(n > 0 && line[n - 1] == '\n');
        snprintf(want, sizeof want, "\"requestID\":\"REQ%08u\"", i);
        assert_non_null(strstr(line, want));
        i++;
    }
    assert_int_equal(i, to);
    uint64_t size = (uint64_t)ftell(f);
    fclose(f);
    return size;
}

/* the calls on fd cover the file from start to the end of its last
 * complete window: windows back to back, each at least
 * S3W_WBEHIND_WINDOW, each dropped right after the next one is sent */
static void check_calls(int fd, uint64_t start, uint64_t size)
{
    size_t n = wb_ncalls;
    assert_true(n <= WB_CALLS_MAX);
    struct wb_call mine[WB_CALLS_MAX];
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (wb_calls[i].fd == fd)
            mine[m++] = wb_calls[i];
    uint64_t at = start;
    size_t windows = 0;
    for (size_t i = 0; i < m; i++, windows++) {
        assert_int_equal(mine[i].kind, 'w');
        assert_int_equal(mine[i].off, at);
        assert_true(mine[i].len >= S3W_WBEHIND_WINDOW);
        at += mine[i].len;
        if (windows > 0) { /* the window before: dropped */
            assert_true(i + 1 < m);
            assert_int_equal(mine[i + 1].kind, 'd');
            assert_int_equal(mine[i + 1].off, mine[i - (windows > 1 ? 2 : 1)].off);
            assert_int_equal(mine[i + 1].len, mine[i - (windows > 1 ? 2 : 1)].len);
            i++;
        }
    }
    assert_true(windows >= 2);
    assert_true(at <= size);
    assert_true(size - at < S3W_WBEHIND_WINDOW); /* no complete window left out */
}

/* the length of one record's line (every one of log_records's) */
static size_t record_len(void)
{
    struct audit_record r;
    base_record(&r);
    r.request_id = S3W_SLICE_LIT("REQ00000000");
    size_t len;
    cJSON *j = format_parse(&r, &len);
    cJSON_Delete(j);
    return len;
}

/* the fd the writer wrote path with: the one of the first call */
static int first_fd(void)
{
    assert_true(wb_ncalls > 0);
    return wb_calls[0].fd;
}

static int setup(void **state)
{
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/audit.log", dir);
    snprintf(rotated, sizeof rotated, "%s/audit.log.1", dir);
    wb_ncalls = 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    unlink(rotated);
    rmdir(dir);
    memcpy(dir + sizeof dir - 7, "XXXXXX", 6);
    return 0;
}

/* ---- tests ------------------------------------------------------------------------- */
static void test_windows_sent_and_dropped(void **state)
{
    (void)state;
    static const char pre[] = "{\"before\":true}\n"; /* the file holds a line already */
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(pre, f);
    fclose(f);

    unsigned n = (unsigned)(2.5 * S3W_WBEHIND_WINDOW / record_len()) + 1;
    struct audit *a = audit_open(path, false);
    assert_non_null(a);
    log_records(a, 0, n);
    audit_close(a);

    uint64_t size = check_file(path, pre, 0, n);
    check_calls(first_fd(), sizeof pre - 1, size);
}

static void test_rotation_starts_over(void **state)
{
    (void)state;
    size_t len = record_len();
    unsigned n = (unsigned)(2.2 * S3W_WBEHIND_WINDOW / len) + 1;
    struct audit *a = audit_open(path, false);
    assert_non_null(a);
    log_records(a, 0, n);
    /* logrotate: rename, then SIGHUP's reopen, once the old file holds
     * all n records */
    struct stat st;
    for (int i = 0; i < 10000; i++) {
        if (stat(path, &st) == 0 && (uint64_t)st.st_size == (uint64_t)n * len)
            break;
        usleep(1000);
    }
    assert_int_equal(st.st_size, (off_t)((uint64_t)n * len));
    int old_fd = first_fd();
    assert_int_equal(rename(path, rotated), 0);
    audit_reopen(a);
    log_records(a, n, 2 * n);
    audit_close(a);

    check_calls(old_fd, 0, check_file(rotated, NULL, 0, n));
    /* the new file's fd: the calls' other one */
    int new_fd = -1;
    for (size_t i = 0; i < wb_ncalls; i++)
        if (wb_calls[i].fd != old_fd)
            new_fd = wb_calls[i].fd;
    assert_true(new_fd >= 0);
    check_calls(new_fd, 0, check_file(path, NULL, n, 2 * n));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_windows_sent_and_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotation_starts_over, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
