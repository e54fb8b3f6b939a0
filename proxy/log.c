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

#include "bytes.h"
#include "civil.h"

static atomic_int log_min_level = PROXY_LOG_INFO;

/* the date and time to the second of this thread's last line: a request's
 * line need not recompute the civil date */
static __thread int64_t tl_sec = -1;
static __thread char tl_day[S3W_ISO8601_LEN + 1];

/* A worker's DEBUG and INFO lines (one per request), written together.
 * On a pipe or journald's stream at most PIPE_BUF bytes, so that one
 * write(2) of whole lines stays atomic there and lines of several threads
 * never interleave. On a regular file LOG_BATCH_FILE: there the kernel
 * serializes writes through one open file (their offset) whatever their
 * size, and 4 KiB batches cost a worker a write(2) to the page cache every
 * 30 requests. proxy_log_init picks the size. */
#define LOG_BATCH_FILE (64 * 1024)
struct log_batch {
    size_t len, cap;
    char buf[];
};
static __thread struct log_batch *tl_batch;
static atomic_bool log_journald;
static atomic_size_t log_batch_cap = PIPE_BUF;

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
    bool file = !j && fstat(STDERR_FILENO, &st) == 0 && S_ISREG(st.st_mode);
    atomic_store(&log_batch_cap, file ? (size_t)LOG_BATCH_FILE : (size_t)PIPE_BUF);
}

/* Bytes into a line of `cap` bytes at most; past it they are dropped, as
 * vsnprintf truncates. */
struct line_out {
    char *p;
    size_t len, cap;
};

static void out_put(struct line_out *o, const char *s, size_t n)
{
    if (n > o->cap - o->len)
        n = o->cap - o->len;
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void out_unsigned(struct line_out *o, unsigned long long v)
{
    char d[S3W_DEC_MAX];
    size_t i = s3w_dec_u64(d, v);
    out_put(o, d + i, sizeof(d) - i);
}

static void out_signed(struct line_out *o, long long v)
{
    char d[S3W_DEC_MAX];
    size_t i = s3w_dec_i64(d, v);
    out_put(o, d + i, sizeof(d) - i);
}

/* printf for the conversions the request path's lines use (%s, %.*s, %d,
 * %u, %ld, %zu, %llu and %%, no flags or widths): the line of every
 * request without vfprintf's machinery. false for anything else, or a NULL
 * string (glibc's "(null)" rules): the caller formats with vsnprintf. */
static bool format_simple(struct line_out *o, const char *fmt, va_list ap)
{
    for (const char *f = fmt; *f;) {
        const char *pct = strchr(f, '%');
        if (!pct) {
            out_put(o, f, strlen(f));
            break;
        }
        out_put(o, f, (size_t)(pct - f));
        f = pct + 1;
        if (f[0] == '%') {
            out_put(o, "%", 1);
            f++;
        } else if (f[0] == 's') {
            const char *v = va_arg(ap, const char *);
            if (!v)
                return false;
            out_put(o, v, strlen(v));
            f++;
        } else if (f[0] == '.' && f[1] == '*' && f[2] == 's') {
            int prec = va_arg(ap, int);
            const char *v = va_arg(ap, const char *);
            if (!v || prec < 0)
                return false;
            const char *nul = memchr(v, '\0', (size_t)prec);
            out_put(o, v, nul ? (size_t)(nul - v) : (size_t)prec);
            f += 3;
        } else if (f[0] == 'd') {
            out_signed(o, va_arg(ap, int));
            f++;
        } else if (f[0] == 'u') {
            out_unsigned(o, va_arg(ap, unsigned));
            f++;
        } else if (f[0] == 'l' && f[1] == 'd') {
            out_signed(o, va_arg(ap, long));
            f += 2;
        } else if (f[0] == 'z' && f[1] == 'u') {
            out_unsigned(o, va_arg(ap, size_t));
            f += 2;
        } else if (f[0] == 'l' && f[1] == 'l' && f[2] == 'u') {
            out_unsigned(o, va_arg(ap, unsigned long long));
            f += 3;
        } else {
            return false;
        }
    }
    return true;
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
        /* "2026-11-22T12:00:00Z": the ms go before the Z */
        if ((int64_t)ts.tv_sec != tl_sec) {
            if (!s3w_iso8601_format((int64_t)ts.tv_sec, tl_day))
                return;
            tl_sec = (int64_t)ts.tv_sec;
        }
        size_t ll = strlen(level);
        if (ll > 16)
            return;
        long ms = ts.tv_nsec / 1000000;
        memcpy(line, tl_day, 19);
        line[19] = '.';
        line[20] = (char)('0' + ms / 100);
        line[21] = (char)('0' + ms / 10 % 10);
        line[22] = (char)('0' + ms % 10);
        line[23] = 'Z';
        line[24] = ' ';
        memcpy(line + 25, level, ll);
        line[25 + ll] = ' ';
        n = 26 + (int)ll;
    }
    if (n < 0)
        return;
    /* at most sizeof(line) - 2 bytes, and the newline */
    struct line_out o = { line, (size_t)n, sizeof(line) - 2 };
    va_list ap, again;
    va_start(ap, fmt);
    va_copy(again, ap);
    bool done = format_simple(&o, fmt, ap);
    va_end(ap);
    if (!done) {
        int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, again);
        if (m < 0) {
            va_end(again);
            return;
        }
        o.len = (size_t)n + (size_t)m;
        if (o.len > sizeof(line) - 2)
            o.len = sizeof(line) - 2;
    }
    va_end(again);
    size_t len = o.len;
    /* one event, one line: a control byte in a message (a config error
     * quoting a file, a credential endpoint's error text) must not start a
     * line, or a journald entry, of its own */
    for (size_t i = (size_t)n; i < len; i++)
        if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
            line[i] = '?';
    line[len++] = '\n';
    struct log_batch *b = tl_batch;
    if (b && lv <= PROXY_LOG_INFO && len <= b->cap) {
        if (b->len + len > b->cap)
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
    if (tl_batch)
        return;
    size_t cap = atomic_load(&log_batch_cap);
    tl_batch = malloc(sizeof(*tl_batch) + cap); /* NULL: lines go one by one */
    if (tl_batch) {
        tl_batch->len = 0;
        tl_batch->cap = cap;
    }
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
