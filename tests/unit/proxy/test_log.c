/*
 * test_log.c - the diagnostic log (log.h) as an operator and journald see
 * it: stderr is pointed at a temporary file, each test reads back exactly
 * what was written.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"

static FILE *capture;
static int saved_stderr = -1;

static int setup(void **state)
{
    (void)state;
    capture = tmpfile();
    saved_stderr = dup(STDERR_FILENO);
    return capture && saved_stderr >= 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    unsetenv("JOURNAL_STREAM");
    proxy_log_init();
    proxy_log_set_level(PROXY_LOG_INFO);
    close(saved_stderr);
    fclose(capture);
    return 0;
}

/* stderr goes to the capture file until end() (cmocka's own messages
 * must not be captured, so assertions run after end()). */
static void begin(void)
{
    fflush(stderr);
    assert_int_equal(ftruncate(fileno(capture), 0), 0);
    assert_true(dup2(fileno(capture), STDERR_FILENO) >= 0);
    lseek(STDERR_FILENO, 0, SEEK_SET);
}

/* What was written since begin(). */
static char *end(void)
{
    static char buf[8192];
    long len = lseek(STDERR_FILENO, 0, SEEK_CUR);
    assert_true(dup2(saved_stderr, STDERR_FILENO) >= 0);
    size_t n = 0;
    if (len > 0 && len < (long)sizeof buf)
        n = (size_t)pread(fileno(capture), buf, (size_t)len, 0);
    buf[n] = '\0';
    return buf;
}

static void test_line_for_people(void **state)
{
    (void)state;
    begin();
    proxy_log("INFO", "listening on %s:%d", "127.0.0.1", 8080);
    char *l = end();
    /* "2026-11-22T12:00:00.123Z INFO listening on 127.0.0.1:8080\n" */
    assert_int_equal(strlen(l), 24 + 1 + strlen("INFO listening on 127.0.0.1:8080") + 1);
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ ";
    for (size_t i = 0; i < sizeof shape - 1; i++) {
        if (shape[i] == 'd')
            assert_true(l[i] >= '0' && l[i] <= '9');
        else
            assert_int_equal(l[i], shape[i]);
    }
    assert_string_equal(l + 25, "INFO listening on 127.0.0.1:8080\n");
}

/* One event, one line: a control byte in a message cannot start a line
 * (or a journald entry) of its own. */
static void test_control_bytes_replaced(void **state)
{
    (void)state;
    begin();
    proxy_log("ERROR", "config: %s", "bad\nINFO forged line\x1b[0m\x7f");
    char *l = end();
    assert_string_equal(l + 25, "ERROR config: bad?INFO forged line?[0m?\n");
}

static void test_levels(void **state)
{
    (void)state;
    proxy_log_set_level(PROXY_LOG_WARN);
    assert_false(proxy_log_enabled("INFO"));
    assert_false(proxy_log_enabled("DEBUG"));
    assert_true(proxy_log_enabled("WARN"));
    assert_true(proxy_log_enabled("ERROR"));
    begin();
    proxy_log("INFO", "dropped");
    proxy_log("DEBUG", "dropped");
    assert_string_equal(end(), "");
    begin();
    proxy_log("WARN", "kept");
    assert_string_equal(end() + 25, "WARN kept\n");
    proxy_log_set_level(PROXY_LOG_DEBUG);
    begin();
    proxy_log("DEBUG", "now kept");
    assert_string_equal(end() + 25, "DEBUG now kept\n");
    proxy_log_set_level(PROXY_LOG_INFO);
}

/* journald: only when JOURNAL_STREAM names this very stderr. */
static void test_journald_prefix(void **state)
{
    (void)state;
    struct stat st;
    assert_int_equal(fstat(fileno(capture), &st), 0);
    char js[64];
    snprintf(js, sizeof js, "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
    setenv("JOURNAL_STREAM", js, 1);
    begin();
    proxy_log_init();
    proxy_log("WARN", "w");
    proxy_log("ERROR", "e");
    proxy_log("INFO", "i");
    assert_string_equal(end(), "<4>WARN w\n<3>ERROR e\n<6>INFO i\n");

    /* another stream (stderr redirected away from journald): people's form */
    snprintf(js, sizeof js, "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino + 1);
    setenv("JOURNAL_STREAM", js, 1);
    begin();
    proxy_log_init();
    proxy_log("INFO", "i");
    assert_string_equal(end() + 25, "INFO i\n");
    unsetenv("JOURNAL_STREAM");
    proxy_log_init();
}

/* A long message is cut to one bounded line, still ending in a newline. */
static void test_long_message_cut(void **state)
{
    (void)state;
    char big[5000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    begin();
    proxy_log("INFO", "%s", big);
    char *l = end();
    assert_int_equal(strlen(l), 2047);
    assert_ptr_equal(strchr(l, '\n'), l + 2046);
}

/* The request path's conversions are formatted without vfprintf; the
 * message must be byte for byte what printf makes of it, and anything
 * else (flags, widths, other conversions, NULL strings) still printf's. */
#define SAME_AS_PRINTF(...)                                              \
    do {                                                                 \
        char want[1024];                                                 \
        int wn = snprintf(want, sizeof want, "INFO " __VA_ARGS__);       \
        assert_true(wn > 0 && (size_t)wn < sizeof want - 1);             \
        want[wn] = '\n';                                                 \
        want[wn + 1] = '\0';                                             \
        begin();                                                         \
        proxy_log("INFO", __VA_ARGS__);                                  \
        assert_string_equal(end() + 25, want);                           \
    } while (0)

static void test_conversions_as_printf(void **state)
{
    (void)state;
    const char *volatile nul = NULL; /* opaque: printf of a NULL %s is what is tested */
    SAME_AS_PRINTF("request_id=%s key_id=%.*s op=%s decision=%s status=%d%s%s%s%s",
                   "0000000100000001", 20, "AKIABENCHCLIENT00001xyz", "GetObject", "Allowed",
                   200, "", "", " detail=", "a b");
    SAME_AS_PRINTF("%d %d %u %u %ld %ld %zu %llu %%", 0, -2147483647 - 1, 0u, 4294967295u,
                   -9223372036854775807L - 1, 42L, (size_t)18446744073709551615ULL,
                   18446744073709551615ULL);
    SAME_AS_PRINTF("cut %.*s|%.*s|%.*s", 3, "abcdef", 0, "x", 9, "ab\0cd");
    SAME_AS_PRINTF("%s%%%s", "", "end");
    /* printf's own */
    SAME_AS_PRINTF("%5d|%-4s|%x|%.2f|%c", 7, "ab", 255u, 1.5, 'z');
    SAME_AS_PRINTF("null %s and %.*s", nul, 8, nul);
}

/* A worker's INFO lines: on a regular file they wait in the batch past
 * PIPE_BUF (up to 64 KiB, one write(2) per batch); on a pipe no batch
 * passes PIPE_BUF, so each write(2) of whole lines stays atomic there.
 * Either way proxy_log_flush writes the rest and no line is lost or cut. */
enum { BATCH_LINES = 100 }; /* about 9 KiB of lines: past PIPE_BUF, under 64 KiB */

static size_t log_lines(void)
{
    size_t bytes = 0;
    for (int i = 0; i < BATCH_LINES; i++) {
        char msg[128];
        int n = snprintf(msg, sizeof msg, "request_id=%016d key_id=AKIAEXAMPLE op=GetObject status=200", i);
        proxy_log("INFO", "%s", msg);
        bytes += 25 + 5 + (size_t)n + 1; /* "2026-...123Z ", "INFO ", message, newline */
    }
    return bytes;
}

/* Whole lines numbered 0..BATCH_LINES-1 in order, nothing else. */
static void assert_lines(const char *buf, size_t len)
{
    int next = 0;
    for (const char *p = buf, *e = buf + len; p < e; next++) {
        const char *nl = memchr(p, '\n', (size_t)(e - p));
        assert_non_null(nl);
        char want[64];
        snprintf(want, sizeof want, "INFO request_id=%016d key_id=", next);
        assert_non_null(memmem(p, (size_t)(nl - p), want, strlen(want)));
        p = nl + 1;
    }
    assert_int_equal(next, BATCH_LINES);
}

static void test_batch_on_a_file_passes_pipe_buf(void **state)
{
    (void)state;
    begin();
    proxy_log_init();
    proxy_log_batch_begin();
    size_t bytes = log_lines();
    off_t before_flush = lseek(STDERR_FILENO, 0, SEEK_END);
    proxy_log_batch_end();
    off_t after = lseek(STDERR_FILENO, 0, SEEK_END);
    assert_true(dup2(saved_stderr, STDERR_FILENO) >= 0);
    proxy_log_init();
    assert_true(bytes > PIPE_BUF);
    assert_int_equal(before_flush, 0); /* all of it still in the batch */
    assert_int_equal(after, (off_t)bytes);
    static char buf[16384];
    assert_int_equal(pread(fileno(capture), buf, (size_t)after, 0), after);
    assert_lines(buf, (size_t)after);
}

static void test_batch_on_a_pipe_stays_atomic(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    fflush(stderr);
    assert_true(dup2(p[1], STDERR_FILENO) >= 0);
    proxy_log_init();
    proxy_log_batch_begin();
    size_t bytes = log_lines();
    int before_flush = 0;
    assert_int_equal(ioctl(p[0], FIONREAD, &before_flush), 0);
    proxy_log_batch_end();
    int after = 0;
    assert_int_equal(ioctl(p[0], FIONREAD, &after), 0);
    assert_true(dup2(saved_stderr, STDERR_FILENO) >= 0);
    proxy_log_init();
    close(p[1]);
    /* written in batches of whole lines of at most PIPE_BUF bytes: some
     * before the flush, but never a whole 4 KiB more than fits */
    assert_true(before_flush > 0);
    assert_true((size_t)before_flush >= bytes - PIPE_BUF);
    assert_int_equal(after, (int)bytes);
    static char buf[16384];
    assert_int_equal(read(p[0], buf, sizeof buf), (ssize_t)bytes);
    close(p[0]);
    assert_lines(buf, bytes);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_for_people),
        cmocka_unit_test(test_control_bytes_replaced),
        cmocka_unit_test(test_levels),
        cmocka_unit_test(test_journald_prefix),
        cmocka_unit_test(test_long_message_cut),
        cmocka_unit_test(test_conversions_as_printf),
        cmocka_unit_test(test_batch_on_a_file_passes_pipe_buf),
        cmocka_unit_test(test_batch_on_a_pipe_stays_atomic),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
