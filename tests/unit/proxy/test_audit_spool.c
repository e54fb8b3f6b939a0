/* test_audit_spool.c - a sink's spool (audit_sink_spool.c) frees the disk
 * blocks of what was delivered (a hole punched in steps of 8 MiB) while
 * the file keeps its size and offsets, driven through audit_sink.h with a
 * fake transport on a real file system:
 *  - once more than 8 MiB were delivered, the delivered part takes no disk
 *    space (st_blocks) and reads back as zeros, the size is unchanged, and
 *    the undelivered records are still delivered intact, in order;
 *  - a restart from the offset file after a punch delivers exactly the
 *    records not yet delivered, none of those before;
 *  - on a file system without holes (fallocate fails with EOPNOTSUPP) the
 *    spool stops trying, keeps delivering, and starts over once wholly
 *    delivered past 64 MiB; a transient failure is retried.
 * fallocate is wrapped (-Wl,--wrap, tests/unit/proxy/meson.build): the
 * wrapper records each call and passes it to the real one, unless a test
 * asks it to fail the way such a file system does. */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "audit_sink.h"
#include "testutil.h"

#define MiB (1024u * 1024u)
#define PUNCH (8 * MiB)   /* PUNCH_BYTES of audit_sink_spool.c */
#define LINE 256          /* a record; divides the batch, so batches end on 4 KiB */
#define BATCH (64 * 1024) /* the fake transport's max_batch */
#define WAIT_MS 30000

/* ---- fallocate, observed (and failed on request) ---------------------------- */

int __real_fallocate(int fd, int mode, off_t off, off_t len);
int __real_fallocate64(int fd, int mode, off_t off, off_t len);
int __wrap_fallocate(int fd, int mode, off_t off, off_t len);
int __wrap_fallocate64(int fd, int mode, off_t off, off_t len);

static struct {
    atomic_int calls;
    atomic_int fail_errno;   /* fail every call with this errno (0: real call) */
    atomic_int fail_once;    /* fail the next call only with this errno */
    atomic_int real_errno;   /* what the real call last failed with (0: worked) */
    atomic_int mode;         /* of the first call */
    _Atomic int64_t first_off, first_len;
} fa;

static int fake_fallocate(int fd, int mode, off_t off, off_t len, bool big)
{
    if (atomic_fetch_add(&fa.calls, 1) == 0) {
        atomic_store(&fa.mode, mode);
        atomic_store(&fa.first_off, (int64_t)off);
        atomic_store(&fa.first_len, (int64_t)len);
    }
    int e = atomic_exchange(&fa.fail_once, 0);
    if (!e)
        e = atomic_load(&fa.fail_errno);
    if (e) {
        errno = e;
        return -1;
    }
    int rc = big ? __real_fallocate64(fd, mode, off, len) : __real_fallocate(fd, mode, off, len);
    atomic_store(&fa.real_errno, rc == 0 ? 0 : errno);
    return rc;
}

int __wrap_fallocate(int fd, int mode, off_t off, off_t len)
{
    return fake_fallocate(fd, mode, off, len, false);
}

int __wrap_fallocate64(int fd, int mode, off_t off, off_t len)
{
    return fake_fallocate(fd, mode, off, len, true);
}

/* ---- records and a receiver that checks each one ------------------------------ */

/* Record i: its number, then letters that depend on i and the position,
 * so a record read from the wrong place or half zeroed is seen. */
static void make_line(char *out, uint32_t i)
{
    int n = snprintf(out, LINE, "%010u ", i);
    for (int j = n; j < LINE - 1; j++)
        out[j] = (char)('a' + (i + (uint32_t)j) % 26);
    out[LINE - 1] = '\n';
}

static struct {
    atomic_uint next;         /* the record expected next */
    _Atomic uint64_t bytes;   /* delivered */
    _Atomic uint64_t limit;   /* refuse a delivery that would pass this */
    atomic_int refused;       /* deliveries refused (limit) */
    atomic_bool bad;
    char why[200];            /* the first wrong record */
} rx;

static int check_deliver(void *t, const char *buf, size_t len)
{
    (void)t;
    if (atomic_load(&rx.bytes) + len > atomic_load(&rx.limit)) {
        atomic_fetch_add(&rx.refused, 1);
        return ECONNREFUSED;
    }
    char want[LINE];
    for (size_t at = 0; at < len; at += LINE) {
        uint32_t i = atomic_load(&rx.next);
        make_line(want, i);
        if (len - at < LINE || memcmp(buf + at, want, LINE) != 0) {
            /* not on the test's thread: the test reports it */
            if (!atomic_exchange(&rx.bad, true))
                snprintf(rx.why, sizeof(rx.why), "want record %u, got \"%.*s\" (%zu bytes left)",
                         i, 16, buf + at, len - at);
            return 0;
        }
        atomic_store(&rx.next, i + 1);
    }
    atomic_fetch_add(&rx.bytes, len);
    return 0;
}

static struct audit_transport checker(size_t max_batch)
{
    return (struct audit_transport){ .deliver = check_deliver, .name = "checker",
                                     .max_batch = max_batch };
}

static void reset(uint64_t limit)
{
    memset(&fa, 0, sizeof(fa));
    atomic_store(&rx.next, 0);
    atomic_store(&rx.bytes, 0);
    atomic_store(&rx.limit, limit);
    atomic_store(&rx.refused, 0);
    atomic_store(&rx.bad, false);
    rx.why[0] = '\0';
}

static void assert_records_intact(void)
{
    if (atomic_load(&rx.bad))
        fail_msg("the receiver got a wrong record: %s", rx.why);
}

/* Waits until cond(arg) holds; fails with what the receiver saw wrong, or
 * with what was being waited for. */
static void await(bool (*cond)(uint64_t), uint64_t arg, const char *what)
{
    for (int ms = 0; ms < WAIT_MS && !cond(arg) && !atomic_load(&rx.bad); ms += 10)
        usleep(10000);
    assert_records_intact();
    if (!cond(arg))
        fail_msg("timed out waiting for %s %llu (delivered %llu bytes, %d refused)", what,
                 (unsigned long long)arg, (unsigned long long)atomic_load(&rx.bytes),
                 atomic_load(&rx.refused));
}

static bool delivered(uint64_t bytes)
{
    return atomic_load(&rx.bytes) == bytes;
}

static bool refused(uint64_t n)
{
    return (uint64_t)atomic_load(&rx.refused) >= n;
}

/* Appends records first..first+n-1, a batch's worth per append. */
static void append_records(struct audit_sink *s, uint32_t first, uint32_t n)
{
    static char block[BATCH];
    uint32_t per = BATCH / LINE;
    for (uint32_t i = 0; i < n; i += per) {
        uint32_t k = n - i < per ? n - i : per;
        for (uint32_t j = 0; j < k; j++)
            make_line(block + (size_t)j * LINE, first + i + j);
        assert_int_equal(audit_sink_append(s, block, (size_t)k * LINE), 0);
    }
}

/* ---- the spool's directory ------------------------------------------------------ */

static char dir[64], spool_path[96], offset_path[96];

/* The running sink, stopped by teardown when a test fails half-way (its
 * thread would go on delivering into the next test's receiver). */
static struct audit_sink *sink;

static struct audit_sink *start_sink(uint64_t max_spool_bytes)
{
    sink = audit_sink_new(dir, max_spool_bytes, checker(BATCH));
    assert_non_null(sink);
    return sink;
}

static void stop_sink(void)
{
    audit_sink_free(sink, 0);
    sink = NULL;
}

static int setup(void **state)
{
    (void)state;
    char tmpl[] = "/tmp/s3w-spool-XXXXXX";
    if (!mkdtemp(tmpl))
        return -1;
    snprintf(dir, sizeof(dir), "%s/spool", tmpl);
    snprintf(spool_path, sizeof(spool_path), "%s/audit.spool", dir);
    snprintf(offset_path, sizeof(offset_path), "%s/audit.offset", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (sink)
        stop_sink();
    unlink(spool_path);
    unlink(offset_path);
    rmdir(dir);
    *strrchr(dir, '/') = '\0';
    rmdir(dir);
    return 0;
}

static struct stat spool_stat(void)
{
    struct stat st;
    assert_int_equal(stat(spool_path, &st), 0);
    return st;
}

static uint64_t offset_file(void)
{
    FILE *f = fopen(offset_path, "r");
    assert_non_null(f);
    unsigned long long v = 0;
    assert_int_equal(fscanf(f, "%llu", &v), 1);
    fclose(f);
    return v;
}

/* Whether bytes [0, n) of the spool read back as zeros (a hole). */
static bool zeros_up_to(uint64_t n)
{
    int fd = open(spool_path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    static char buf[BATCH];
    bool zero = true;
    for (uint64_t at = 0; zero && at < n; at += sizeof(buf)) {
        size_t k = n - at < sizeof(buf) ? (size_t)(n - at) : sizeof(buf);
        assert_int_equal(pread(fd, buf, k, (off_t)at), (ssize_t)k);
        for (size_t j = 0; j < k; j++)
            zero &= buf[j] == 0;
    }
    close(fd);
    return zero;
}

/* Whether the real file system could punch; if not, says why the hole
 * assertions are skipped (the fallback test covers that case). */
static bool punching_works(void)
{
    int e = atomic_load(&fa.real_errno);
    if (e == EOPNOTSUPP) {
        if (tu_no_skip()) /* testutil.h: deploy/test.sh wants every check run */
            fail_msg("%s does not punch holes (%s), and S3W_NO_SKIP is set", spool_path, strerror(e));
        print_message("skipping the st_blocks checks: %s does not punch holes (%s)\n",
                      spool_path, strerror(e));
        return false;
    }
    assert_int_equal(e, 0);
    return true;
}

/* Records spooled in one go, then delivered up to 9 MiB (past one punch
 * step) while the rest waits: the first 8 MiB are a hole, the rest is
 * delivered intact once the receiver takes it. */
static void test_delivered_bytes_freed(void **state)
{
    (void)state;
    const uint32_t n = 10 * MiB / LINE + 100; /* a tail that is not a whole batch */
    const uint64_t total = (uint64_t)n * LINE, first_part = 9 * MiB;
    reset(0); /* the receiver refuses until everything is spooled */
    struct audit_sink *s = start_sink(64 * MiB);
    append_records(s, 0, n);
    struct stat st = spool_stat();
    assert_int_equal(st.st_size, total);
    /* the control: the records take their room on disk */
    assert_true((uint64_t)st.st_blocks * 512 >= total);

    atomic_store(&rx.limit, first_part);
    /* a refusal after 9 MiB went through: that delivery's offset is saved
     * and the punch after the one that passed 8 MiB is done (the sink's
     * thread does them before it calls the transport again) */
    await(delivered, first_part, "delivered");
    int before = atomic_load(&rx.refused);
    await(refused, (uint64_t)before + 1, "refused");
    assert_records_intact();
    assert_int_equal(offset_file(), first_part);

    st = spool_stat();
    assert_int_equal(st.st_size, total); /* offsets and size stay */
    if (punching_works()) {
        uint64_t on_disk = (uint64_t)st.st_blocks * 512;
        /* what is left on disk is the part after the hole (and at most a
         * few blocks of the file system's own) */
        if (on_disk > total - PUNCH + 64 * 1024)
            fail_msg("the spool takes %llu bytes on disk; after the 8 MiB hole at most %llu",
                     (unsigned long long)on_disk, (unsigned long long)(total - PUNCH + 64 * 1024));
        assert_true(zeros_up_to(PUNCH));
    }
    /* one punch, of the first step exactly: 9 MiB is short of the next */
    assert_int_equal(atomic_load(&fa.calls), 1);
    assert_int_equal(atomic_load(&fa.mode), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE);
    assert_int_equal(atomic_load(&fa.first_off), 0);
    assert_int_equal(atomic_load(&fa.first_len), PUNCH);

    /* the receiver takes the rest: each record once, in order, intact */
    atomic_store(&rx.limit, UINT64_MAX);
    await(delivered, total, "delivered");
    assert_records_intact();
    assert_int_equal(atomic_load(&rx.next), n);
    /* the receiver counts a batch before the sink commits it */
    struct audit_sink_stats ss;
    audit_sink_stats(s, &ss);
    for (int ms = 0; ms < WAIT_MS && ss.pending_bytes != 0; ms += 10) {
        usleep(10000);
        audit_sink_stats(s, &ss);
    }
    assert_int_equal(ss.pending_bytes, 0);
    assert_int_equal(ss.delivered_bytes, total);
    stop_sink();
    assert_int_equal(offset_file(), total);
    assert_int_equal(spool_stat().st_size, total);
}

/* Stopped after a punch with records undelivered: the next start reads the
 * offset file and delivers exactly the records after it. */
static void test_restart_after_punch(void **state)
{
    (void)state;
    const uint32_t n = 10 * MiB / LINE;
    const uint64_t total = (uint64_t)n * LINE, first_part = 9 * MiB;
    reset(0);
    struct audit_sink *s = start_sink(64 * MiB);
    append_records(s, 0, n);
    atomic_store(&rx.limit, first_part);
    await(delivered, first_part, "delivered");
    int before = atomic_load(&rx.refused);
    await(refused, (uint64_t)before + 1, "refused");
    assert_int_equal(atomic_load(&fa.calls), 1);
    stop_sink();
    assert_records_intact();
    assert_int_equal(offset_file(), first_part);
    struct stat st = spool_stat();
    assert_int_equal(st.st_size, total);
    if (punching_works())
        assert_true(zeros_up_to(PUNCH));

    /* the next start: the receiver expects the record after the last one
     * it took, so any record delivered again shows as a wrong record */
    uint32_t next = atomic_load(&rx.next);
    assert_int_equal(next, first_part / LINE);
    atomic_store(&rx.limit, UINT64_MAX);
    s = start_sink(64 * MiB);
    await(delivered, total, "delivered");
    assert_records_intact();
    assert_int_equal(atomic_load(&rx.next), n);
    /* new records follow at the same offsets */
    append_records(s, n, 10);
    await(delivered, total + 10 * LINE, "delivered");
    assert_records_intact();
    stop_sink();
    assert_int_equal(offset_file(), total + 10 * LINE);
    assert_int_equal(spool_stat().st_size, total + 10 * LINE);
}

/* A file system without holes: the first punch fails with EOPNOTSUPP and
 * the spool never tries again, keeps delivering every record, and starts
 * over once it was wholly delivered past 64 MiB (COMPACT_BYTES). */
static void test_no_holes_fallback(void **state)
{
    (void)state;
    const uint32_t per_round = 17 * MiB / LINE;
    reset(UINT64_MAX);
    atomic_store(&fa.fail_errno, EOPNOTSUPP);
    struct audit_sink *s = start_sink(128 * MiB);
    append_records(s, 0, per_round);
    uint64_t total = (uint64_t)per_round * LINE;
    await(delivered, total, "delivered");
    assert_records_intact();
    /* past two punch steps, one try only */
    assert_int_equal(atomic_load(&fa.calls), 1);
    struct stat st = spool_stat();
    assert_int_equal(st.st_size, total);
    assert_true((uint64_t)st.st_blocks * 512 >= total); /* nothing freed */

    /* up to 64 MiB, all delivered: the spool starts over at 0 */
    uint32_t first = per_round, rest = 64 * MiB / LINE - per_round;
    append_records(s, first, rest);
    total += (uint64_t)rest * LINE;
    await(delivered, total, "delivered");
    assert_records_intact();
    /* the spool is cut, then its offset saved (the test may look between) */
    for (int ms = 0; ms < WAIT_MS && (spool_stat().st_size != 0 || offset_file() != 0); ms += 10)
        usleep(10000);
    assert_int_equal(spool_stat().st_size, 0);
    assert_int_equal(offset_file(), 0);
    assert_int_equal(atomic_load(&fa.calls), 1);
    /* and keeps going from there */
    append_records(s, first + rest, 10);
    await(delivered, total + 10 * LINE, "delivered");
    assert_records_intact();
    stop_sink();
    assert_int_equal(offset_file(), 10 * LINE);
    assert_int_equal(spool_stat().st_size, 10 * LINE);
}

/* Any other failure (EIO, ENOSPC of a thin volume) is retried at the next
 * delivery, from where the last punch ended. */
static void test_punch_failure_retried(void **state)
{
    (void)state;
    const uint32_t n = 9 * MiB / LINE;
    const uint64_t total = (uint64_t)n * LINE;
    reset(0);
    atomic_store(&fa.fail_once, EIO);
    struct audit_sink *s = start_sink(64 * MiB);
    append_records(s, 0, n);
    atomic_store(&rx.limit, UINT64_MAX);
    await(delivered, total, "delivered");
    assert_records_intact();
    stop_sink();
    /* 8 MiB delivered: the try fails; 8 MiB + one batch: tried again */
    assert_int_equal(atomic_load(&fa.calls), 2);
    assert_int_equal(atomic_load(&fa.first_off), 0);
    assert_int_equal(atomic_load(&fa.first_len), PUNCH);
    if (punching_works())
        assert_true(zeros_up_to(PUNCH + BATCH));
    assert_int_equal(spool_stat().st_size, total);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_delivered_bytes_freed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_after_punch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_holes_fallback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_punch_failure_retried, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
