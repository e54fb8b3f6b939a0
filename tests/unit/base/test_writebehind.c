/* test_writebehind.c - base/writebehind.c on a real file:
 *  - each complete window goes to writeback once, in order, from where
 *    the file ended at init; the window before it is dropped from the
 *    cache; a part window waits;
 *  - a pipe is left alone; a file cut under the writer (copytruncate)
 *    starts over where it now ends;
 *  - the dropped window's pages are really out of the page cache
 *    (mincore), the newest window's are not.
 * sync_file_range and posix_fadvise are observed (tests/unit/wrap/
 * wbehind_wrap.h): each call is recorded and passed on. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"
#include "wbehind_wrap.h"
#include "writebehind.h"

#define KiB 1024u
#define WIN (64 * KiB)
#define TMPFS_MAGIC_ 0x01021994

/* ---- the two calls, observed (wbehind_wrap.h) ---------------------------------- */
static void expect_call(size_t i, char kind, int fd, uint64_t off, uint64_t len)
{
    assert_true(i < wb_ncalls && i < WB_CALLS_MAX);
    assert_int_equal(wb_calls[i].kind, kind);
    assert_int_equal(wb_calls[i].fd, fd);
    assert_int_equal(wb_calls[i].off, off);
    assert_int_equal(wb_calls[i].len, len);
    if (kind == 'w')
        assert_int_equal(wb_calls[i].how, SYNC_FILE_RANGE_WRITE);
    else
        assert_int_equal(wb_calls[i].how, POSIX_FADV_DONTNEED);
}

/* ---- a file to append to ------------------------------------------------------ */
/* in the build tree (meson's S3W_BUILD_ROOT), which is on a disk where
 * /tmp may be a tmpfs (Debian 13 mounts one there), else in /tmp */
static char dir[4096];
static char path[4096 + 8];
static char chunk[4 * WIN]; /* one write(2) per append of up to this */

static int open_log(void)
{
    snprintf(path, sizeof path, "%s/log", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    return fd;
}

/* appends n bytes and tells w */
static void append(struct s3w_wbehind *w, int fd, size_t n)
{
    while (n > 0) {
        size_t k = n < sizeof chunk ? n : sizeof chunk;
        assert_int_equal(write(fd, chunk, k), (ssize_t)k);
        s3w_wbehind_wrote(w, k);
        n -= k;
    }
}

static int setup(void **state)
{
    (void)state;
    const char *root = getenv("S3W_BUILD_ROOT");
    snprintf(dir, sizeof dir, "%s/s3w-wbehind-XXXXXX", root && *root ? root : "/tmp");
    assert_non_null(mkdtemp(dir));
    memset(chunk, 'a', sizeof chunk);
    wb_ncalls = 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    rmdir(dir);
    return 0;
}

/* ---- tests --------------------------------------------------------------------- */
static void test_windows_in_order(void **state)
{
    (void)state;
    int fd = open_log();
    assert_int_equal(write(fd, "older\n", 6), 6); /* before init: left alone */
    struct s3w_wbehind w = { .window = WIN };
    s3w_wbehind_init(&w, fd);

    append(&w, fd, WIN - 1); /* a part window: nothing yet */
    assert_int_equal(wb_ncalls, 0);
    append(&w, fd, 1);
    assert_int_equal(wb_ncalls, 1);
    expect_call(0, 'w', fd, 6, WIN);

    append(&w, fd, WIN + 100); /* a window and more: the window's end is where the file ends */
    assert_int_equal(wb_ncalls, 3);
    expect_call(1, 'w', fd, 6 + WIN, WIN + 100);
    expect_call(2, 'd', fd, 6, WIN);

    append(&w, fd, WIN);
    assert_int_equal(wb_ncalls, 5);
    expect_call(3, 'w', fd, 6 + 2 * WIN + 100, WIN);
    expect_call(4, 'd', fd, 6 + WIN, WIN + 100);
    close(fd);
}

static void test_pipe_left_alone(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    struct s3w_wbehind w = { .window = 16 };
    s3w_wbehind_init(&w, p[1]);
    assert_int_equal(write(p[1], chunk, 64), 64);
    s3w_wbehind_wrote(&w, 64);
    s3w_wbehind_wrote(&w, 64);
    assert_int_equal(wb_ncalls, 0);
    close(p[0]);
    close(p[1]);
}

static void test_cut_under_the_writer(void **state)
{
    (void)state;
    int fd = open_log();
    struct s3w_wbehind w = { .window = WIN };
    s3w_wbehind_init(&w, fd);
    append(&w, fd, WIN);
    append(&w, fd, WIN);
    assert_int_equal(wb_ncalls, 3);

    /* logrotate's copytruncate: emptied under us, then appended to */
    int other = open(path, O_WRONLY);
    assert_true(other >= 0);
    assert_int_equal(ftruncate(other, 0), 0);
    close(other);
    append(&w, fd, WIN); /* ends at WIN, before what was sent: start over */
    assert_int_equal(wb_ncalls, 3);
    append(&w, fd, WIN);
    assert_int_equal(wb_ncalls, 4);
    expect_call(3, 'w', fd, WIN, WIN); /* nothing dropped of the old file's */
    append(&w, fd, WIN);
    assert_int_equal(wb_ncalls, 6);
    expect_call(5, 'd', fd, WIN, WIN);
    close(fd);
}

/* pages of [off, off + len) of fd in the page cache */
static size_t resident(int fd, size_t off, size_t len)
{
    void *m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, (off_t)off);
    assert_true(m != MAP_FAILED);
    size_t pg = (size_t)sysconf(_SC_PAGESIZE), n = (len + pg - 1) / pg, in = 0;
    unsigned char *v = malloc(n);
    assert_non_null(v);
    assert_int_equal(mincore(m, len, v), 0);
    for (size_t i = 0; i < n; i++)
        in += v[i] & 1;
    free(v);
    munmap(m, len);
    return in;
}

static void test_dropped_window_leaves_the_cache(void **state)
{
    (void)state;
    struct statfs sf;
    assert_int_equal(statfs(dir, &sf), 0);
    if (sf.f_type == TMPFS_MAGIC_)
        TU_SKIP("the test directory is on a tmpfs, whose pages are the file: nothing to drop");
    int fd = open_log();
    struct s3w_wbehind w = { .window = 16 * WIN }; /* 1 MiB */
    s3w_wbehind_init(&w, fd);
    size_t pg = (size_t)sysconf(_SC_PAGESIZE), pages = w.window / pg;
    append(&w, fd, w.window);
    assert_int_equal(resident(fd, 0, w.window), pages); /* just written: cached */
    /* written back before the next window drops it: only clean pages go */
    assert_int_equal(fdatasync(fd), 0);
    append(&w, fd, w.window);
    assert_int_equal(wb_ncalls, 3);
    assert_int_equal(resident(fd, 0, w.window), 0);
    assert_int_equal(resident(fd, w.window, w.window), pages);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_windows_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipe_left_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cut_under_the_writer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dropped_window_leaves_the_cache, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
