/* log.c - the diagnostic log (contract in log.h). */
#include "log.h"

#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "civil.h"

static atomic_int log_min_level = PROXY_LOG_INFO;

/* A worker's DEBUG and INFO lines (one per request), written together: at
 * most PIPE_BUF bytes, so that one write(2) of whole lines stays atomic
 * on a pipe or journald's stream and lines of several threads never
 * interleave. */
struct log_batch {
    size_t len;
    char buf[PIPE_BUF];
};
static __thread struct log_batch *tl_batch;
static atomic_bool log_journald;

static int level_of(const char *name)
{
    switch (name[0]) {
    case 'D': return PROXY_LOG_DEBUG;
    case 'W': return PROXY_LOG_WARN;
    case 'E': return PROXY_LOG_ERROR;
    default: return PROXY_LOG_INFO;
    }
}

void proxy_log_set_level(int level)
{
    atomic_store(&log_min_level, level);
}

bool proxy_log_enabled(const char *level)
{
    return level_of(level) >= atomic_load_explicit(&log_min_level, memory_order_relaxed);
}

/* systemd passes JOURNAL_STREAM=DEV:INODE for the stream it connected to
 * stdout/stderr; when stderr is that stream, journald reads a "<N>" syslog
 * priority prefix and adds its own timestamp (systemd.exec(5),
 * $JOURNAL_STREAM; sd-daemon(3), SD_ERR etc.). */
void proxy_log_init(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    struct stat st;
    unsigned long long dev, ino;
    bool j = js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 &&
             fstat(STDERR_FILENO, &st) == 0 && (unsigned long long)st.st_dev == dev &&
             (unsigned long long)st.st_ino == ino;
    atomic_store(&log_journald, j);
}

void proxy_log(const char *level, const char *fmt, ...)
{
    int lv = level_of(level);
    if (lv < atomic_load_explicit(&log_min_level, memory_order_relaxed))
        return;
    char line[2048];
    int n;
    if (atomic_load_explicit(&log_journald, memory_order_relaxed)) {
        static const int prio[] = { 7, 6, 4, 3 }; /* debug, info, warning, err */
        n = snprintf(line, sizeof(line), "<%d>%s ", prio[lv], level);
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        char day[S3W_ISO8601_LEN + 1]; /* "2026-11-22T12:00:00Z": add the ms */
        if (!s3w_iso8601_format((int64_t)ts.tv_sec, day))
            return;
        n = snprintf(line, sizeof(line), "%.19s.%03ldZ %s ", day, ts.tv_nsec / 1000000, level);
    }
    if (n < 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        return;
    size_t len = (size_t)n + (size_t)m;
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;
    /* one event, one line: a control byte in a message (a config error
     * quoting a file, a credential endpoint's error text) must not start a
     * line, or a journald entry, of its own */
    for (size_t i = (size_t)n; i < len; i++)
        if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
            line[i] = '?';
    line[len++] = '\n';
    struct log_batch *b = tl_batch;
    if (b && lv <= PROXY_LOG_INFO && len <= sizeof(b->buf)) {
        if (b->len + len > sizeof(b->buf))
            proxy_log_flush();
        memcpy(b->buf + b->len, line, len);
        b->len += len;
        return;
    }
    proxy_log_flush(); /* this thread's earlier lines first */
    /* one write(2) per line so lines from several threads never interleave */
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

/* ---- per-thread batches ------------------------------------------------------------ */
void proxy_log_batch_begin(void)
{
    if (!tl_batch)
        tl_batch = calloc(1, sizeof(*tl_batch)); /* NULL: lines go one by one */
}

bool proxy_log_pending(void)
{
    return tl_batch && tl_batch->len > 0;
}

void proxy_log_flush(void)
{
    struct log_batch *b = tl_batch;
    if (!b || b->len == 0)
        return;
    ssize_t w = write(STDERR_FILENO, b->buf, b->len);
    (void)w;
    b->len = 0;
}

void proxy_log_batch_end(void)
{
    proxy_log_flush();
    free(tl_batch);
    tl_batch = NULL;
}
