/* audit.c - the audit log writer (see audit.h); records are formatted in
 * audit_format.c. */
#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "audit_sink.h"
#include "log.h"
#include "writebehind.h"

/* A block of whole lines: one record from audit_log, or a worker's batch
 * (audit_batch_log). The writer queues and writes blocks. */
struct audit_line {
    struct audit_line *next;
    size_t len, cap;
    size_t nlines;
    uint32_t spooled; /* bit per sink: appended to its spool */
    char data[];
};

#define BATCH_BYTES (256 * 1024) /* a worker's block is handed over at this size */
#define BATCH_BLOCK (BATCH_BYTES + AUDIT_LINE_MAX) /* a worker's block's room */
/* Written blocks kept for the workers' next batches (struct audit.spare):
 * each worker holds one filling and takes at most one spare at a time. */
#define SPARE_BLOCKS 8

/* The settings the running audit was opened with, each as one text, for
 * audit_reload_check to compare with a reloaded config's. */
enum { SET_OUTPUT, SET_FORMAT, SET_ON_BACKLOG, SET_BACKLOG, SET_CLOUDTRAIL, SET_SINKS,
       AUDIT_SETTINGS };
static const char *const setting_names[AUDIT_SETTINGS] = {
    [SET_OUTPUT] = "output", [SET_FORMAT] = "format", [SET_ON_BACKLOG] = "on_backlog",
    [SET_BACKLOG] = "backlog_records",
    [SET_CLOUDTRAIL] = "region/account_id", [SET_SINKS] = "sinks",
};
#define SETTINGS_MAX (64 * 1024)

struct audit {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    struct audit_line *head, *tail; /* oldest first; the writer pops */
    struct audit_line *spare;       /* written blocks of BATCH_BLOCK, for reuse */
    size_t nspare;
    size_t count;                   /* lines queued */
    size_t bytes;                   /* their blocks' memory (block_bytes) */
    _Atomic size_t queued;          /* count, for the workers' lock-free look */
    _Atomic size_t queued_bytes;    /* bytes, likewise */
    bool stop, reopen, disabled;
    bool writer_idle;               /* the writer waits for lines (writer_main) */
    int werr;                       /* errno of the failing output; 0 = writing works */
    uint64_t dropped;               /* since the writer last logged it */
    _Atomic uint64_t dropped_total; /* every record lost since start (metrics) */
    atomic_bool blocked;            /* the output fails or the backlog is full */
    enum audit_on_backlog on_backlog;
    size_t backlog;                 /* audit_options.backlog */
    size_t backlog_bytes;           /* backlog * AUDIT_BACKLOG_RECORD_BYTES */
    enum audit_format_kind format;
    struct audit_cloudtrail_opts ct; /* strings owned */
    _Atomic audit_writev_fn writev; /* a test may swap it while the writer runs */
    char *path; /* NULL = stdout */
    bool null_out; /* no output of its own: only the sinks */
    struct audit_sink *sinks[AUDIT_MAX_SINKS];
    void *s3_t[AUDIT_MAX_SINKS]; /* an S3 sink's transport, for its credentials */
    size_t nsinks;
    int spool_err; /* writer thread: the sinks' append failing (logged once) */
    struct s3w_buf settings[AUDIT_SETTINGS]; /* as opened, for audit_reload_check */
    /* writer thread only (and audit_open before it starts) */
    int fd;
    bool seekable;  /* a regular file: a partial line can be cut */
    size_t torn;    /* bytes of a partial line still to cut off the file's end */
    size_t resume;  /* bytes of the oldest queued block already written */
    struct s3w_wbehind wb; /* a regular file's written windows leave the cache */
};

/* ---- writer ------------------------------------------------------------------- */
#define BATCH_LINES 64

/* The writer thread owns fd, seekable, torn and resume; the rest is
 * guarded by mu, but for the atomics. */
static void out_fd_init(struct audit *a, int fd)
{
    struct stat st;
    a->fd = fd;
    a->seekable = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    a->torn = 0;
    a->resume = 0;
    s3w_wbehind_init(&a->wb, fd);
}

/* A regular file that does not end in '\n' holds a partial line (a crash
 * or a full disk mid-write under an older build): cut it back to its last
 * complete line, so that every line of the file parses. Lines are at most
 * AUDIT_LINE_MAX, so the last newline is within that many bytes of the
 * end; a file without one there is not ours: left alone, and our first
 * line starts on a line of its own. */
static void cut_partial_tail(struct audit *a)
{
    struct stat st;
    if (!a->seekable || fstat(a->fd, &st) != 0 || st.st_size == 0)
        return;
    size_t win = st.st_size < AUDIT_LINE_MAX + 1 ? (size_t)st.st_size : AUDIT_LINE_MAX + 1;
    char *tail = malloc(win);
    if (!tail)
        return;
    off_t from = st.st_size - (off_t)win;
    if (pread(a->fd, tail, win, from) == (ssize_t)win && tail[win - 1] != '\n') {
        size_t nl = win;
        while (nl > 0 && tail[nl - 1] != '\n')
            nl--;
        if (nl > 0 || from == 0) {
            off_t keep = from + (off_t)nl;
            if (ftruncate(a->fd, keep) == 0)
                proxy_log("WARN", "audit: %s ended in a partial line; cut %lld bytes",
                          a->path, (long long)(st.st_size - keep));
            else
                proxy_log("ERROR", "audit: %s ends in a partial line that cannot be cut: %s",
                          a->path, strerror(errno));
        } else {
            static const char nlc = '\n';
            if (write(a->fd, &nlc, 1) != 1)
                proxy_log("ERROR", "audit: cannot write to %s: %s", a->path, strerror(errno));
        }
    }
    free(tail);
}

static int open_out(struct audit *a)
{
    if (!a->path) {
        out_fd_init(a, STDOUT_FILENO);
        return 0;
    }
    /* read too: cut_partial_tail looks at the last line */
    int fd = open(a->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) {
        proxy_log("ERROR", "audit: cannot open %s: %s", a->path, strerror(errno));
        return -1;
    }
    out_fd_init(a, fd);
    cut_partial_tail(a);
    return 0;
}

/* Cuts the partial line a failed write left at the end of the file.
 * O_APPEND writes go to the end, so nothing is written before this
 * succeeds. Sizes come from fstat, not from a remembered offset: a
 * logrotate copytruncate may have emptied the file meanwhile. */
static int cut_torn(struct audit *a)
{
    struct stat st;
    if (fstat(a->fd, &st) != 0)
        return errno;
    if ((uint64_t)st.st_size < a->torn) {
        a->torn = 0; /* the file was cut under us: nothing of ours left */
        return 0;
    }
    if (ftruncate(a->fd, st.st_size - (off_t)a->torn) != 0)
        return errno;
    a->torn = 0;
    return 0;
}

/* Writes blocks lines[0..n) as whole lines. Returns 0, or the errno of the
 * failure with *done set to the number of blocks complete in the output.
 * What a failure leaves of a line is cut from a file (now, or before the
 * next write) and finished later on a pipe or terminal, which cannot be
 * cut. Writer thread only. */
static int write_lines(struct audit *a, struct audit_line **lines, size_t n, size_t *done)
{
    *done = 0;
    if (a->null_out) {
        *done = n;
        return 0;
    }
    if (a->torn) {
        int e = cut_torn(a);
        if (e)
            return e;
    }
    struct iovec iov[BATCH_LINES];
    size_t left = 0;
    for (size_t i = 0; i < n; i++) {
        size_t skip = i == 0 ? a->resume : 0;
        iov[i].iov_base = lines[i]->data + skip;
        iov[i].iov_len = lines[i]->len - skip;
        left += iov[i].iov_len;
    }
    struct iovec *v = iov;
    int vn = (int)n;
    int err = 0;
    while (left > 0) {
        ssize_t w = atomic_load(&a->writev)(a->fd, v, vn);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            /* stdout may be a non-blocking pipe (a container runtime's);
             * a reader that takes nothing for AUDIT_RETRY_MS is a failing
             * output like a full disk (and audit_close cannot hang on it) */
            struct pollfd pfd = { .fd = a->fd, .events = POLLOUT };
            if (poll(&pfd, 1, AUDIT_RETRY_MS) > 0)
                continue;
            err = EAGAIN;
            break;
        }
        if (w <= 0) {
            err = w < 0 ? errno : EIO;
            break;
        }
        left -= (size_t)w;
        s3w_wbehind_wrote(&a->wb, (uint64_t)w);
        /* step over what was written: whole lines first */
        size_t k = (size_t)w;
        while (vn > 0 && k >= v->iov_len) {
            k -= v->iov_len;
            v++;
            vn--;
            (*done)++;
            a->resume = 0;
        }
        if (vn > 0 && k > 0) {
            v->iov_base = (char *)v->iov_base + k;
            v->iov_len -= k;
            a->resume += k; /* of the line at v */
        }
    }
    if (!err)
        return 0;
    if (a->seekable && a->resume) {
        /* cut back to the start of the partial line: its block resumes
         * there, the block's whole lines before it stay written */
        const struct audit_line *b = lines[*done];
        size_t start = a->resume;
        while (start > 0 && b->data[start - 1] != '\n')
            start--;
        a->torn = a->resume - start;
        a->resume = start;
        cut_torn(a); /* if it fails, write_lines tries again first */
    }
    return err;
}

/* Appends blocks lines[0..n) to every sink's spool, each block once per
 * sink. Spools come before the output: a block in the output is in every
 * spool. Returns 0, or the errno of the first failure with *ok set to the
 * blocks spooled everywhere (the output gets only those). Writer thread. */
static int spool_lines(struct audit *a, struct audit_line **lines, size_t n, size_t *ok)
{
    *ok = n;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < a->nsinks; k++) {
            if (lines[i]->spooled & (1u << k))
                continue;
            int err = audit_sink_append(a->sinks[k], lines[i]->data, lines[i]->len);
            if (err) {
                if (!a->spool_err)
                    proxy_log("ERROR", "audit: cannot spool records for %s: %s",
                              audit_sink_name(a->sinks[k]), strerror(err));
                a->spool_err = err;
                *ok = i;
                return err;
            }
            lines[i]->spooled |= 1u << k;
        }
    if (a->spool_err)
        proxy_log("INFO", "audit: spooling records again");
    a->spool_err = 0;
    return 0;
}

/* The memory a queued block holds, as the backlog counts it. */
static size_t block_bytes(const struct audit_line *l)
{
    return sizeof(*l) + l->cap;
}

/* Whether the backlog is full (under mu): its records, or their memory
 * (records near AUDIT_LINE_MAX, or blocks handed over part full). */
static bool backlog_full(const struct audit *a)
{
    return a->count >= a->backlog || a->bytes >= a->backlog_bytes;
}

/* The counts the workers read without the lock (under mu). */
static void publish_queued(struct audit *a)
{
    atomic_store_explicit(&a->queued, a->count, memory_order_relaxed);
    atomic_store_explicit(&a->queued_bytes, a->bytes, memory_order_relaxed);
}

/* The writer's verdict on the output, under mu: blocked while a write
 * fails or the backlog is full. Logs each change once. */
static void set_state(struct audit *a, int err)
{
    if (err && !a->werr && a->on_backlog == AUDIT_ON_BACKLOG_DROP)
        proxy_log("ERROR", "audit: cannot write %s: %s; dropping records once %zu wait "
                  "or take %zu MiB (on_backlog drop) until it can", a->path ? a->path : "stdout",
                  strerror(err), a->backlog, a->backlog_bytes >> 20);
    else if (err && !a->werr)
        proxy_log("ERROR", "audit: cannot write %s: %s; refusing new requests (503 SlowDown) "
                  "until it can", a->path ? a->path : "stdout", strerror(err));
    else if (!err && a->werr)
        proxy_log("INFO", "audit: writing %s again; %zu records still to write",
                  a->path ? a->path : "stdout", a->count);
    a->werr = err;
    atomic_store(&a->blocked, err != 0 || backlog_full(a));
}

/* Waits AUDIT_RETRY_MS, or less for stop or reopen; a record queued
 * meanwhile does not make the failing output be tried again sooner. */
static void wait_retry(struct audit *a)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_nsec += (long)AUDIT_RETRY_MS * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    while (!a->stop && !a->reopen)
        if (pthread_cond_timedwait(&a->cv, &a->mu, &ts) == ETIMEDOUT)
            break;
}

static void *writer_main(void *arg)
{
    struct audit *a = arg;
    pthread_mutex_lock(&a->mu);
    bool last_try = false;
    for (;;) {
        if (a->werr && !a->stop && !a->reopen)
            wait_retry(a);
        else
            while (a->count == 0 && !a->stop && !a->reopen) {
                a->writer_idle = true;
                pthread_cond_wait(&a->cv, &a->mu);
                a->writer_idle = false;
            }
        if (a->reopen) {
            a->reopen = false;
            if (a->path) {
                int old = a->fd;
                if (a->torn && cut_torn(a) != 0)
                    proxy_log("ERROR", "audit: %s keeps a partial last line: %s", a->path,
                              strerror(errno));
                if (open_out(a) == 0)
                    close(old);
            }
        }
        if (a->dropped) {
            proxy_log("WARN", "audit: %llu records of refused requests dropped (backlog full)",
                      (unsigned long long)a->dropped);
            a->dropped = 0;
        }
        if (a->count == 0 && a->stop)
            break;
        if (a->stop && a->werr) {
            if (last_try) {
                proxy_log("ERROR", "audit: stopping with %zu records unwritten to %s: %s",
                          a->count, a->path ? a->path : "stdout", strerror(a->werr));
                atomic_fetch_add(&a->dropped_total, a->count);
                while (a->head) {
                    struct audit_line *l = a->head;
                    a->head = l->next;
                    free(l);
                }
                a->tail = NULL;
                a->count = a->bytes = 0;
                publish_queued(a);
                break;
            }
            last_try = true;
        }
        /* the oldest lines stay queued until written: audit_log only
         * appends, so they stay valid outside the lock */
        struct audit_line *batch[BATCH_LINES];
        size_t n = 0;
        for (struct audit_line *l = a->head; l && n < BATCH_LINES; l = l->next)
            batch[n++] = l;
        pthread_mutex_unlock(&a->mu);
        size_t done = 0, spooled = n;
        int serr = a->nsinks && n ? spool_lines(a, batch, n, &spooled) : 0;
        int err = spooled ? write_lines(a, batch, spooled, &done) : 0;
        if (!err)
            err = serr;
        pthread_mutex_lock(&a->mu);
        for (size_t i = 0; i < done; i++) {
            a->head = batch[i]->next;
            a->count -= batch[i]->nlines;
            a->bytes -= block_bytes(batch[i]);
            if (batch[i]->cap == BATCH_BLOCK && a->nspare < SPARE_BLOCKS) {
                batch[i]->next = a->spare;
                a->spare = batch[i];
                a->nspare++;
            } else {
                free(batch[i]);
            }
        }
        if (!a->head)
            a->tail = NULL;
        publish_queued(a);
        set_state(a, err);
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

static void close_sinks(struct audit *a, uint32_t drain_ms)
{
    for (size_t k = 0; k < a->nsinks; k++)
        audit_sink_free(a->sinks[k], drain_ms);
    a->nsinks = 0;
}

static int open_sinks(struct audit *a, const struct audit_options *o)
{
    if (o->nsinks > AUDIT_MAX_SINKS)
        return -1;
    for (size_t k = 0; k < o->nsinks; k++) {
        const struct audit_sink_conf *c = &o->sinks[k];
        struct audit_transport tr;
        int err = EINVAL;
        if (c->type == AUDIT_SINK_SYSLOG) {
            struct audit_syslog_opts so = {
                .host = c->host, .port = c->port, .facility = c->facility, .tls = c->tls,
                .ca_file = c->ca_file, .server_name = c->server_name,
            };
            err = audit_syslog_transport(&so, &tr);
        } else if (c->type == AUDIT_SINK_S3) {
            struct audit_s3_opts so = {
                .endpoint = c->endpoint, .virtual_host = c->virtual_host,
                .tls_verify = c->tls_verify, .ca_file = c->ca_file, .bucket = c->bucket,
                .prefix = c->prefix, .account = c->account, .region = c->region,
                .batch_ms = c->batch_ms, .batch_bytes = c->batch_bytes,
            };
            err = audit_s3_transport(&so, &tr);
            if (!err)
                a->s3_t[k] = tr.t;
        }
        if (err) {
            proxy_log("ERROR", "audit: cannot set up sink %zu: %s", k, strerror(err));
            return -1;
        }
        a->sinks[k] = audit_sink_new(c->spool_dir, c->max_spool_bytes, tr);
        if (!a->sinks[k])
            return -1;
        a->nsinks = k + 1;
    }
    return 0;
}

static const char *or_dash(const char *v)
{
    return v ? v : "-";
}

/* The backlog o asks for (0: the default). */
static size_t backlog_of(const struct audit_options *o)
{
    return o->backlog ? o->backlog : AUDIT_BACKLOG_DEFAULT;
}

/* Each setting of o as one text in d[]; equal texts, equal settings. */
static int describe(const struct audit_options *o, struct s3w_buf d[AUDIT_SETTINGS])
{
    bool to_stdout = !o->path || strcmp(o->path, "-") == 0;
    int rc = s3w_buf_printf(&d[SET_OUTPUT], "%s", o->disabled ? "none"
                            : to_stdout ? "stdout" : o->path);
    rc = rc ? rc : s3w_buf_printf(&d[SET_FORMAT], "%d", (int)o->format);
    rc = rc ? rc : s3w_buf_printf(&d[SET_ON_BACKLOG], "%d", (int)o->on_backlog);
    rc = rc ? rc : s3w_buf_printf(&d[SET_BACKLOG], "%zu", backlog_of(o));
    rc = rc ? rc : s3w_buf_printf(&d[SET_CLOUDTRAIL], "%s|%s", or_dash(o->cloudtrail.region),
                                  or_dash(o->cloudtrail.account_id));
    for (size_t k = 0; !rc && k < o->nsinks; k++) {
        const struct audit_sink_conf *c = &o->sinks[k];
        rc = s3w_buf_printf(&d[SET_SINKS],
                            "%d|%s|%llu|%s|%u|%d|%d|%s|%s|%s|%d|%d|%s|%s|%s|%s|%u|%zu\n",
                            (int)c->type, or_dash(c->spool_dir),
                            (unsigned long long)c->max_spool_bytes, or_dash(c->host),
                            (unsigned)c->port, c->facility, (int)c->tls, or_dash(c->ca_file),
                            or_dash(c->server_name), or_dash(c->endpoint), (int)c->virtual_host,
                            (int)c->tls_verify, or_dash(c->bucket), or_dash(c->prefix),
                            or_dash(c->account), or_dash(c->region), (unsigned)c->batch_ms,
                            c->batch_bytes);
    }
    return rc;
}

bool audit_reload_check(struct audit *a, const struct audit_options *o)
{
    if (!a)
        return true;
    struct s3w_buf d[AUDIT_SETTINGS];
    for (int i = 0; i < AUDIT_SETTINGS; i++)
        s3w_buf_init(&d[i], SETTINGS_MAX);
    char changed[200] = "";
    size_t used = 0;
    if (describe(o, d) != 0) {
        snprintf(changed, sizeof(changed), "(settings too large to compare)");
    } else {
        for (int i = 0; i < AUDIT_SETTINGS; i++) {
            /* an empty setting (no sinks) has no buffer: memcmp may not
             * be given NULL, even for 0 bytes */
            if (d[i].len == a->settings[i].len &&
                (d[i].len == 0 || memcmp(d[i].ptr, a->settings[i].ptr, d[i].len) == 0))
                continue;
            int w = snprintf(changed + used, sizeof(changed) - used, "%s%s", used ? ", " : "",
                             setting_names[i]);
            used += w > 0 && (size_t)w < sizeof(changed) - used ? (size_t)w : 0;
        }
    }
    for (int i = 0; i < AUDIT_SETTINGS; i++)
        s3w_buf_cleanup(&d[i]);
    if (!changed[0])
        return true;
    /* the writer and the sinks' threads hold records in flight (queued
     * blocks, spools being delivered): swapping them under traffic could
     * lose or split a record, so the running audit stays as it is */
    proxy_log("WARN", "reload: audit %s changed; audit settings take a restart: records keep "
              "going where they went (the running output, format and sinks)", changed);
    return false;
}

static void free_opts(struct audit *a)
{
    for (int i = 0; i < AUDIT_SETTINGS; i++)
        s3w_buf_cleanup(&a->settings[i]);
    free((char *)a->ct.region);
    free((char *)a->ct.account_id);
    free(a->path);
}

struct audit *audit_open(const char *path, bool disabled)
{
    struct audit_options o = { .path = path, .disabled = disabled };
    return audit_open_opts(&o);
}

struct audit *audit_open_opts(const struct audit_options *o)
{
    struct audit *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    a->fd = -1;
    a->disabled = o->disabled;
    a->on_backlog = o->on_backlog;
    a->backlog = backlog_of(o);
    a->backlog_bytes = a->backlog * AUDIT_BACKLOG_RECORD_BYTES;
    a->format = o->format;
    atomic_init(&a->writev, writev);
    for (int i = 0; i < AUDIT_SETTINGS; i++)
        s3w_buf_init(&a->settings[i], SETTINGS_MAX);
    if (describe(o, a->settings) != 0) {
        free_opts(a);
        free(a);
        return NULL;
    }
    if (a->disabled && o->nsinks == 0)
        return a;
    /* no output of its own, sinks only */
    a->null_out = a->disabled;
    a->disabled = false;
    bool nomem = false;
    if (o->path && strcmp(o->path, "-") != 0)
        nomem |= !(a->path = strdup(o->path));
    if (o->cloudtrail.region)
        nomem |= !(a->ct.region = strdup(o->cloudtrail.region));
    if (o->cloudtrail.account_id)
        nomem |= !(a->ct.account_id = strdup(o->cloudtrail.account_id));
    if (nomem || (!a->null_out && open_out(a) != 0) || open_sinks(a, o) != 0) {
        close_sinks(a, 0);
        if (a->path && a->fd >= 0)
            close(a->fd);
        free_opts(a);
        free(a);
        return NULL;
    }
    pthread_mutex_init(&a->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&a->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&a->thread, NULL, writer_main, a) != 0) {
        close_sinks(a, 0);
        if (a->path)
            close(a->fd);
        pthread_cond_destroy(&a->cv);
        pthread_mutex_destroy(&a->mu);
        free_opts(a);
        free(a);
        return NULL;
    }
    return a;
}

void audit_set_writev(struct audit *a, audit_writev_fn fn)
{
    if (a)
        atomic_store(&a->writev, fn ? fn : writev);
}

/* Hands a block to the writer: one lock and one wake-up for all its
 * lines. *spare (a worker's, or NULL) gets a written block to fill next
 * if it has none and the writer kept one: no allocation per batch. */
static void queue_block(struct audit *a, struct audit_line *l, struct audit_line **spare)
{
    pthread_mutex_lock(&a->mu);
    if (spare && !*spare && a->spare) {
        *spare = a->spare;
        a->spare = a->spare->next;
        a->nspare--;
    }
    if (a->tail)
        a->tail->next = l;
    else
        a->head = l;
    a->tail = l;
    a->count += l->nlines;
    a->bytes += block_bytes(l);
    publish_queued(a);
    if (backlog_full(a))
        atomic_store(&a->blocked, true);
    /* Woken after the unlock, and only when it waits for lines: woken
     * inside, the writer ran straight into the lock this worker still held
     * and slept on it again (at c256, half of its wake-ups: a futex wait,
     * a wake and a context switch more each); woken while it writes, it
     * gets nothing it will not see when it next takes the lock. Only the
     * writer waits on cv, and it looks at count under the lock first. */
    bool wake = a->writer_idle;
    pthread_mutex_unlock(&a->mu);
    if (wake)
        pthread_cond_signal(&a->cv);
}

static void lost(struct audit *a, const struct audit_record *r, int rc)
{
    /* the field caps make every record fit: only memory can fail */
    proxy_log("ERROR", "audit: record for request %.*s lost: %s", (int)r->request_id.len,
              r->request_id.ptr, rc == 0 || rc == S3W_E_NOMEM ? "out of memory" : "over the line cap");
    atomic_fetch_add(&a->dropped_total, 1);
}

/* A refusal's record is dropped once the backlog is full (`extra`: lines
 * of the caller's own batch not queued yet); so is any record with
 * on_backlog "drop". */
static bool refusal_dropped(struct audit *a, size_t extra)
{
    if (atomic_load_explicit(&a->queued, memory_order_relaxed) + extra < a->backlog &&
        atomic_load_explicit(&a->queued_bytes, memory_order_relaxed) < a->backlog_bytes)
        return false;
    pthread_mutex_lock(&a->mu);
    a->dropped++;
    pthread_mutex_unlock(&a->mu);
    atomic_fetch_add(&a->dropped_total, 1);
    return true;
}

/* The record in the configured format. */
static int format_record(const struct audit *a, const struct audit_record *r, struct s3w_buf *b)
{
    if (a->format == AUDIT_FORMAT_CLOUDTRAIL)
        return audit_format_cloudtrail(r, &a->ct, b);
    return audit_format(r, b);
}

static void enqueue(struct audit *a, const struct audit_record *r, bool may_drop)
{
    if (!a || a->disabled)
        return;
    may_drop |= a->on_backlog == AUDIT_ON_BACKLOG_DROP;
    if (may_drop && refusal_dropped(a, 0))
        return;
    struct s3w_buf b;
    s3w_buf_init(&b, AUDIT_LINE_MAX);
    int rc = format_record(a, r, &b);
    struct audit_line *l = rc == 0 ? malloc(sizeof(*l) + b.len) : NULL;
    if (!l) {
        s3w_buf_cleanup(&b);
        lost(a, r, rc);
        return;
    }
    l->next = NULL;
    l->spooled = 0;
    l->len = l->cap = b.len;
    l->nlines = 1;
    memcpy(l->data, b.ptr, b.len);
    s3w_buf_cleanup(&b);
    queue_block(a, l, NULL);
}

void audit_log(struct audit *a, const struct audit_record *r)
{
    enqueue(a, r, false);
}

void audit_log_refusal(struct audit *a, const struct audit_record *r)
{
    enqueue(a, r, true);
}

bool audit_accepting(struct audit *a)
{
    return !a || a->disabled || a->on_backlog == AUDIT_ON_BACKLOG_DROP ||
           !atomic_load_explicit(&a->blocked, memory_order_relaxed);
}

bool audit_status(struct audit *a, char *out, size_t cap)
{
    if (!a || a->disabled) {
        snprintf(out, cap, "off");
        return true;
    }
    pthread_mutex_lock(&a->mu);
    int err = a->werr;
    size_t waiting = a->count;
    bool full = backlog_full(a);
    pthread_mutex_unlock(&a->mu);
    bool sinks_ok = true;
    char sinks_txt[1024] = "";
    for (size_t k = 0, used = 0; k < a->nsinks && used < sizeof(sinks_txt); k++) {
        char one[400];
        sinks_ok &= audit_sink_status(a->sinks[k], one, sizeof(one));
        int w = snprintf(sinks_txt + used, sizeof(sinks_txt) - used, "; %s", one);
        used += w > 0 ? (size_t)w : 0;
    }
    bool drop = a->on_backlog == AUDIT_ON_BACKLOG_DROP;
    const char *dropping = drop ? "; dropping records (on_backlog drop)" : "";
    if (err)
        snprintf(out, cap, "not writable (%s); %zu records waiting%s", strerror(err), waiting,
                 dropping);
    else if (full)
        snprintf(out, cap, "behind: %zu records waiting to be written%s", waiting, dropping);
    else
        snprintf(out, cap, "ok");
    size_t used = strlen(out);
    if (used < cap)
        snprintf(out + used, cap - used, "%s", sinks_txt);
    /* with "drop" requests are served whatever the output does: the
     * replica stays ready, and the line says what is being lost */
    return drop || (!err && !full && sinks_ok);
}

void audit_reopen(struct audit *a)
{
    if (!a || a->disabled)
        return;
    pthread_mutex_lock(&a->mu);
    a->reopen = true;
    pthread_cond_signal(&a->cv);
    pthread_mutex_unlock(&a->mu);
}

void audit_close(struct audit *a)
{
    if (!a)
        return;
    if (!a->disabled) {
        pthread_mutex_lock(&a->mu);
        a->stop = true;
        pthread_cond_signal(&a->cv);
        pthread_mutex_unlock(&a->mu);
        pthread_join(a->thread, NULL);
        /* every record is in the spools now: deliver what can be */
        close_sinks(a, AUDIT_SINK_DRAIN_MS);
        if (a->path && a->fd >= 0)
            close(a->fd);
        pthread_mutex_destroy(&a->mu);
        pthread_cond_destroy(&a->cv);
    }
    while (a->spare) {
        struct audit_line *l = a->spare;
        a->spare = l->next;
        free(l);
    }
    free_opts(a);
    free(a);
}

void audit_set_creds(struct audit *a, struct creds_mgr *m)
{
    if (!a)
        return;
    for (size_t k = 0; k < a->nsinks; k++)
        if (a->s3_t[k])
            audit_s3_transport_set_creds(a->s3_t[k], m);
}

void audit_set_sink_creds(struct audit *a, size_t k, struct creds_mgr *m)
{
    if (a && k < a->nsinks && a->s3_t[k])
        audit_s3_transport_set_creds(a->s3_t[k], m);
}

size_t audit_sink_count(struct audit *a)
{
    return a && !a->disabled ? a->nsinks : 0;
}

const char *audit_sink_stats_at(struct audit *a, size_t i, struct audit_sink_stats *st)
{
    audit_sink_stats(a->sinks[i], st);
    return audit_sink_name(a->sinks[i]);
}

uint64_t audit_dropped_total(struct audit *a)
{
    return a ? atomic_load(&a->dropped_total) : 0;
}

/* ---- per-worker batches -------------------------------------------------------- */

struct audit_batch {
    struct audit *a;
    struct audit_line *blk; /* being filled; NULL until the next record */
    struct audit_line *spare; /* the next blk, from the writer (queue_block) */
};

struct audit_batch *audit_batch_new(struct audit *a)
{
    struct audit_batch *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->a = a;
    return b;
}

static void batch_add(struct audit_batch *b, const struct audit_record *r, bool may_drop)
{
    struct audit *a = b->a;
    if (!a || a->disabled)
        return;
    may_drop |= a->on_backlog == AUDIT_ON_BACKLOG_DROP;
    if (may_drop && refusal_dropped(a, b->blk ? b->blk->nlines : 0))
        return;
    if (!b->blk) {
        b->blk = b->spare ? b->spare : malloc(sizeof(*b->blk) + BATCH_BLOCK);
        b->spare = NULL;
        if (!b->blk) {
            lost(a, r, 0);
            return;
        }
        b->blk->next = NULL;
        b->blk->spooled = 0;
        b->blk->len = b->blk->nlines = 0;
        b->blk->cap = BATCH_BLOCK;
    }
    /* formatted in place: a block is handed over once BATCH_BYTES are
     * used, so with len < BATCH_BYTES here a whole line (AUDIT_LINE_MAX)
     * and its NUL always fit */
    _Static_assert(BATCH_BLOCK - (BATCH_BYTES - 1) >= AUDIT_LINE_MAX + 1, "a line fits a block");
    struct s3w_buf line;
    s3w_buf_fixed(&line, b->blk->data + b->blk->len, AUDIT_LINE_MAX + 1);
    int rc = format_record(a, r, &line);
    if (rc) {
        lost(a, r, rc);
        return;
    }
    b->blk->len += line.len;
    b->blk->nlines++;
    if (b->blk->len >= BATCH_BYTES)
        audit_batch_flush(b);
}

void audit_batch_log(struct audit_batch *b, const struct audit_record *r)
{
    batch_add(b, r, false);
}

void audit_batch_log_refusal(struct audit_batch *b, const struct audit_record *r)
{
    batch_add(b, r, true);
}

bool audit_batch_pending(const struct audit_batch *b)
{
    return b && b->blk && b->blk->nlines;
}

void audit_batch_flush(struct audit_batch *b)
{
    if (!b || !b->blk || !b->blk->nlines)
        return;
    /* Less than half full (the flush timer's, at a low rate) while
     * records already wait for the writer (it is behind, or the output
     * stalls): its lines go in a block of their size and the worker keeps
     * its own. A stalled output then holds about the records' bytes, not a
     * BATCH_BLOCK per flush (at 80 requests/s, one record each: 5 KiB of
     * RSS and 262 KiB of address space per record waiting). While the
     * writer keeps up, the block goes as it is and comes back as a spare:
     * no allocation. */
    struct audit_line *l =
        b->blk->len < BATCH_BYTES / 2 && atomic_load_explicit(&b->a->queued, memory_order_relaxed)
            ? malloc(sizeof(*l) + b->blk->len)
            : NULL;
    if (l) {
        l->next = NULL;
        l->spooled = 0;
        l->len = l->cap = b->blk->len;
        l->nlines = b->blk->nlines;
        memcpy(l->data, b->blk->data, b->blk->len);
        b->blk->len = b->blk->nlines = 0;
        queue_block(b->a, l, NULL);
        return;
    }
    queue_block(b->a, b->blk, &b->spare);
    b->blk = NULL;
}

void audit_batch_free(struct audit_batch *b)
{
    if (!b)
        return;
    audit_batch_flush(b);
    free(b->blk); /* empty, if a record was lost into it */
    free(b->spare);
    free(b);
}
