/* audit_sink_spool.c - a delivered sink's spool and its thread (see
 * audit_sink.h). The spool is "audit.spool" (the records, appended) and
 * "audit.offset" (how far they were delivered, a decimal number) in the
 * sink's directory. */
#include "audit_sink.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "civil.h"
#include "log.h"
#include "monoclock.h"
#include "sigmask.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define MARKS 1024              /* append times kept for the oldest pending age */
#define COMPACT_BYTES (64u << 20) /* a delivered spool this big starts over */
#define PUNCH_BYTES (8u << 20)    /* delivered bytes freed on disk in steps of this */

struct mark {
    uint64_t end;   /* spool offset just past an append */
    int64_t when_ms;
};

struct audit_sink {
    struct audit_transport tr;
    char *dir;
    char *offset_path;
    int fd;                 /* the spool, O_RDWR|O_APPEND */
    uint64_t max_spool;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* under mu */
    uint64_t size;          /* spool bytes */
    uint64_t committed;     /* delivered up to here */
    uint64_t punched;       /* sink thread: spool bytes before this freed on disk */
    bool stop;
    int64_t drain_until_ms;
    int err;                /* last delivery errno; 0 = up */
    uint64_t delivered_batches, delivered_bytes;
    struct mark marks[MARKS];
    size_t nmarks;
};

/* Writes the committed offset: a temporary file renamed over the old one,
 * so that a crash leaves either offset, never a torn one. Sink thread. */
static int save_offset(struct audit_sink *s, uint64_t off)
{
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp", s->offset_path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0)
        return errno;
    char num[32];
    int n = snprintf(num, sizeof(num), "%" PRIu64 "\n", off);
    int rc = write(fd, num, (size_t)n) == n ? 0 : (errno ? errno : EIO);
    if (close(fd) != 0 && !rc)
        rc = errno;
    if (!rc && rename(tmp, s->offset_path) != 0)
        rc = errno;
    return rc;
}

static uint64_t load_offset(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    unsigned long long v = 0;
    if (fscanf(f, "%llu", &v) != 1)
        v = 0;
    fclose(f);
    return v;
}

/* A spool that ends in a partial line (a crash mid-append) is cut back to
 * its last whole line: the records of that append were never written to
 * the audit output either (spools are written first), so the block is
 * not half-delivered. */
static uint64_t cut_partial(int fd, uint64_t size)
{
    if (size == 0)
        return 0;
    char c;
    if (pread(fd, &c, 1, (off_t)size - 1) == 1 && c == '\n')
        return size;
    char buf[4096];
    uint64_t end = size;
    while (end > 0) {
        size_t n = end < sizeof(buf) ? (size_t)end : sizeof(buf);
        if (pread(fd, buf, n, (off_t)(end - n)) != (ssize_t)n)
            break;
        size_t i = n;
        while (i > 0 && buf[i - 1] != '\n')
            i--;
        if (i > 0) {
            end = end - n + i;
            break;
        }
        end -= n;
    }
    if (ftruncate(fd, (off_t)end) != 0)
        return size;
    return end;
}

int audit_sink_append(struct audit_sink *s, const char *data, size_t len)
{
    /* under mu: the sink thread may start the spool over when all of it
     * was delivered, and must not do so between our offset and our write */
    pthread_mutex_lock(&s->mu);
    uint64_t at = s->size;
    if (at - s->committed + len > s->max_spool) {
        pthread_mutex_unlock(&s->mu);
        return ENOSPC;
    }
    size_t done = 0;
    int err = 0;
    while (done < len) {
        ssize_t w = pwrite(s->fd, data + done, len - done, (off_t)(at + done));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            err = w < 0 ? errno : EIO;
            break;
        }
        done += (size_t)w;
    }
    if (err) {
        /* leave no partial line: the writer appends the whole block again */
        if (ftruncate(s->fd, (off_t)at) != 0)
            proxy_log("ERROR", "audit: spool of %s keeps a partial line: %s", s->tr.name,
                      strerror(errno));
        pthread_mutex_unlock(&s->mu);
        return err;
    }
    s->size = at + len;
    if (s->nmarks < MARKS) {
        s->marks[s->nmarks++] = (struct mark){ at + len, s3w_wall_ms() };
    } else {
        /* full: the last mark covers this append too (its age is the
         * older one, so the figure errs towards older) */
        s->marks[MARKS - 1].end = at + len;
    }
    /* the sink thread waits on cv for this only when everything before
     * was delivered; otherwise it is delivering, or napping (a backoff, a
     * linger) until a time of its own, which a signal would only wake to
     * nap again: once per append, the most of its context switches */
    if (at == s->committed)
        pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

/* Sleeps ms (under mu), or until the drain deadline once stopping. */
static void nap(struct audit_sink *s, uint32_t ms)
{
    int64_t until = s3w_mono_ms() + ms;
    for (;;) {
        int64_t end = s->stop && s->drain_until_ms < until ? s->drain_until_ms : until;
        int64_t left = end - s3w_mono_ms();
        if (left <= 0)
            return;
        s3w_cond_wait_ms(&s->cv, &s->mu, left);
    }
}

/* Frees the disk blocks of what was delivered (a hole: offsets stay as
 * they are, so the committed offset and appends need no change and a crash
 * at any point leaves a consistent spool). Under sustained traffic the
 * spool is seldom wholly delivered at the moment of a check, so without
 * this it would only grow. Sink thread, outside mu: appends write past
 * size and reads start at committed, neither in the hole. */
static void punch_delivered(struct audit_sink *s, uint64_t committed)
{
    uint64_t to = committed & ~(uint64_t)4095;
    if (to < s->punched + PUNCH_BYTES)
        return;
    if (fallocate(s->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)s->punched,
                  (off_t)(to - s->punched)) != 0) {
        /* a file system without holes: the spool starts over only when
         * wholly delivered (below) */
        if (errno == EOPNOTSUPP)
            s->punched = UINT64_MAX / 2;
        return;
    }
    s->punched = to;
}

static void *sink_main(void *arg)
{
    struct audit_sink *s = arg;
    char *buf = malloc(s->tr.max_batch);
    uint32_t backoff = 0;
    pthread_mutex_lock(&s->mu);
    while (buf) {
        if (s->stop && (s->committed == s->size || s3w_mono_ms() >= s->drain_until_ms))
            break;
        if (s->committed == s->size) {
            pthread_cond_wait(&s->cv, &s->mu);
            continue;
        }
        if (backoff) {
            nap(s, backoff);
            if (s->stop && s3w_mono_ms() >= s->drain_until_ms)
                break;
        }
        if (s->tr.linger_ms && !s->stop && s->size - s->committed < s->tr.max_batch / 2) {
            /* a transport that pays per delivery (an S3 object) waits
             * for more records, up to linger_ms after the oldest */
            int64_t age = s->nmarks ? s3w_wall_ms() - s->marks[0].when_ms : 0;
            if (age < (int64_t)s->tr.linger_ms) {
                nap(s, (uint32_t)((int64_t)s->tr.linger_ms - age));
                continue;
            }
        }
        uint64_t from = s->committed, to = s->size;
        pthread_mutex_unlock(&s->mu);
        size_t n = to - from < s->tr.max_batch ? (size_t)(to - from) : s->tr.max_batch;
        ssize_t got = pread(s->fd, buf, n, (off_t)from);
        int err = 0;
        if (got != (ssize_t)n) {
            err = got < 0 ? errno : EIO;
        } else {
            while (n > 0 && buf[n - 1] != '\n')
                n--; /* whole lines only (a line is at most AUDIT_LINE_MAX) */
            err = n ? s->tr.deliver(s->tr.t, buf, n) : EINVAL;
        }
        if (!err)
            err = save_offset(s, from + n);
        pthread_mutex_lock(&s->mu);
        if (err) {
            if (!s->err)
                proxy_log("ERROR", "audit: cannot deliver to %s: %s; records kept in %s",
                          s->tr.name, strerror(err), s->dir);
            s->err = err;
            backoff = backoff ? backoff * 2 : BACKOFF_MIN_MS;
            if (backoff > BACKOFF_MAX_MS)
                backoff = BACKOFF_MAX_MS;
            continue;
        }
        if (s->err)
            proxy_log("INFO", "audit: delivering to %s again", s->tr.name);
        s->err = 0;
        backoff = 0;
        s->committed = from + n;
        s->delivered_batches++;
        s->delivered_bytes += n;
        size_t k = 0;
        while (k < s->nmarks && s->marks[k].end <= s->committed)
            k++;
        memmove(s->marks, s->marks + k, (s->nmarks - k) * sizeof(s->marks[0]));
        s->nmarks -= k;
        if (s->committed == s->size && s->size >= COMPACT_BYTES &&
            ftruncate(s->fd, 0) == 0 && save_offset(s, 0) == 0) {
            /* all delivered: start the spool over (appends wait on mu) */
            s->size = s->committed = 0;
            s->punched = 0;
        } else if (s->committed >= s->punched + PUNCH_BYTES) {
            uint64_t c = s->committed;
            pthread_mutex_unlock(&s->mu);
            punch_delivered(s, c);
            pthread_mutex_lock(&s->mu);
        }
    }
    pthread_mutex_unlock(&s->mu);
    free(buf);
    return NULL;
}

struct audit_sink *audit_sink_new(const char *dir, uint64_t max_spool_bytes,
                                  struct audit_transport tr)
{
    struct audit_sink *s = calloc(1, sizeof(*s));
    if (!s)
        goto fail;
    s->tr = tr;
    s->fd = -1;
    s->max_spool = max_spool_bytes;
    if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
        proxy_log("ERROR", "audit: cannot create spool directory %s: %s", dir, strerror(errno));
        goto fail;
    }
    s->dir = strdup(dir);
    char path[4200];
    snprintf(path, sizeof(path), "%s/audit.offset", dir);
    s->offset_path = strdup(path);
    if (!s->dir || !s->offset_path)
        goto fail;
    snprintf(path, sizeof(path), "%s/audit.spool", dir);
    s->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    struct stat st;
    if (s->fd < 0 || fstat(s->fd, &st) != 0) {
        proxy_log("ERROR", "audit: cannot open spool %s: %s", path, strerror(errno));
        goto fail;
    }
    s->size = cut_partial(s->fd, (uint64_t)st.st_size);
    s->committed = load_offset(s->offset_path);
    if (s->committed > s->size)
        s->committed = s->size;
    if (s->committed < s->size) {
        proxy_log("INFO", "audit: %" PRIu64 " bytes of records spooled for %s from an earlier run",
                  s->size - s->committed, s->tr.name);
        s->marks[0] = (struct mark){ s->size, s3w_wall_ms() };
        s->nmarks = 1;
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (s3w_thread_create(&s->thread, sink_main, s) != 0) {
        pthread_cond_destroy(&s->cv);
        pthread_mutex_destroy(&s->mu);
        goto fail;
    }
    return s;
fail:
    if (tr.free)
        tr.free(tr.t);
    if (s) {
        if (s->fd >= 0)
            close(s->fd);
        free(s->dir);
        free(s->offset_path);
        free(s);
    }
    return NULL;
}

void audit_sink_stats(struct audit_sink *s, struct audit_sink_stats *st)
{
    pthread_mutex_lock(&s->mu);
    st->delivered_batches = s->delivered_batches;
    st->delivered_bytes = s->delivered_bytes;
    st->pending_bytes = s->size - s->committed;
    st->oldest_pending_s = s->nmarks ? (double)(s3w_wall_ms() - s->marks[0].when_ms) / 1000.0 : 0;
    if (st->oldest_pending_s < 0)
        st->oldest_pending_s = 0;
    st->up = s->err == 0;
    pthread_mutex_unlock(&s->mu);
}

bool audit_sink_status(struct audit_sink *s, char *out, size_t cap)
{
    pthread_mutex_lock(&s->mu);
    uint64_t pending = s->size - s->committed;
    int err = s->err;
    bool full = pending + AUDIT_LINE_MAX > s->max_spool;
    pthread_mutex_unlock(&s->mu);
    if (full)
        snprintf(out, cap, "%s: spool full (%" PRIu64 " bytes waiting%s%s)", s->tr.name, pending,
                 err ? "; " : "", err ? strerror(err) : "");
    else if (err)
        snprintf(out, cap, "%s: down (%s); %" PRIu64 " bytes spooled", s->tr.name, strerror(err),
                 pending);
    else
        snprintf(out, cap, "%s: ok", s->tr.name);
    return !full;
}

const char *audit_sink_name(const struct audit_sink *s)
{
    return s->tr.name;
}

void audit_sink_free(struct audit_sink *s, uint32_t drain_ms)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    s->drain_until_ms = s3w_mono_ms() + drain_ms;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    if (s->committed < s->size)
        proxy_log("WARN", "audit: %" PRIu64 " bytes of records for %s stay in %s for the next start",
                  s->size - s->committed, s->tr.name, s->dir);
    if (s->tr.free)
        s->tr.free(s->tr.t);
    close(s->fd);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s->dir);
    free(s->offset_path);
    free(s);
}
