/* audit.c - the audit log's queue and writer thread, and the workers'
 * batches (see audit.h); records are formatted in audit_format.c, written
 * to the output file in audit_out.c. */
#include "audit_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "audit_sink.h"
#include "log.h"
#include "monoclock.h"
#include "sigmask.h"

/* The settings' names in audit_reload_check's WARN (enum in audit_int.h). */
static const char *const setting_names[AUDIT_SETTINGS] = {
    [SET_OUTPUT] = "output", [SET_FORMAT] = "format", [SET_ON_BACKLOG] = "on_backlog",
    [SET_BACKLOG] = "backlog_records",
    [SET_CLOUDTRAIL] = "region/account_id", [SET_SINKS] = "sinks",
};

/* ---- writer ------------------------------------------------------------------- */
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
static void set_state(struct audit *a, int err, bool spool)
{
    /* a sink's spool that refuses holds the file back too (a record goes
     * to the file once every spool has it): say which it is */
    const char *what = spool ? "a sink's spool (logged above)" : NULL;
    if (err && !a->werr && a->on_backlog == AUDIT_ON_BACKLOG_DROP)
        proxy_log("ERROR", "audit: cannot write %s: %s; dropping records once %zu wait "
                  "or take %zu MiB (on_backlog drop) until it can",
                  what ? what : a->path ? a->path : "stdout", strerror(err), a->backlog,
                  a->backlog_bytes >> 20);
    else if (err && !a->werr)
        proxy_log("ERROR", "audit: cannot write %s: %s; refusing new requests (503 SlowDown) "
                  "until it can", what ? what : a->path ? a->path : "stdout", strerror(err));
    else if (!err && a->werr)
        proxy_log("INFO", "audit: writing %s again; %zu records still to write",
                  a->path ? a->path : "stdout", a->count);
    a->werr = err;
    a->werr_spool = err && spool;
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
                if (a->torn && audit_out_cut_torn(a) != 0)
                    proxy_log("ERROR", "audit: %s keeps a partial last line: %s", a->path,
                              strerror(errno));
                if (audit_out_open(a) == 0)
                    close(old);
            }
        }
        if (a->dropped) {
            /* with on_backlog drop, served requests' records too */
            proxy_log("WARN", "audit: %llu records %s dropped (backlog full%s)",
                      (unsigned long long)a->dropped,
                      a->on_backlog == AUDIT_ON_BACKLOG_DROP ? "of requests" : "of refused requests",
                      a->on_backlog == AUDIT_ON_BACKLOG_DROP ? ", on_backlog drop" : "");
            a->dropped = 0;
        }
        if (a->count == 0 && a->stop) {
            if (a->unspooled)
                proxy_log("ERROR", "audit: stopping: %llu records written to %s only, not spooled "
                          "for every sink (%s)", (unsigned long long)a->unspooled,
                          a->path ? a->path : "stdout", strerror(a->spool_err));
            break;
        }
        if (a->stop && a->werr) {
            /* a failing output is tried again until the stop deadline
             * (audit_stop_by), then once more (probe 34: a disk full at
             * SIGTERM lost the records of served requests at once, though
             * it had room again seconds later, within the deadline) */
            int64_t left = a->stop_by_ms - s3w_mono_ms();
            if (last_try && left > 0) {
                s3w_cond_wait_ms(&a->cv, &a->mu, left < AUDIT_RETRY_MS ? left : AUDIT_RETRY_MS);
                last_try = false;
            }
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
        bool stopping = a->stop;
        pthread_mutex_unlock(&a->mu);
        size_t done = 0, spooled = n;
        int serr = a->nsinks && n ? spool_lines(a, batch, n, &spooled) : 0;
        if (serr && stopping) {
            /* Stopping while a sink's spool refuses (full behind a receiver
             * that takes nothing, or its disk): the file is the trail of
             * record and gets them all, the sink misses them (said at the
             * end). They were kept in memory, and lost at exit (the ninth
             * probe: served requests with no record anywhere). */
            for (size_t i = spooled; i < n; i++)
                a->unspooled += batch[i]->nlines;
            spooled = n;
            serr = 0;
        }
        int err = spooled ? audit_out_write(a, batch, spooled, &done) : 0;
        bool spool = !err && serr;
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
        set_state(a, err, spool);
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
                .ca_file = c->ca_file, .server_name = c->server_name, .max_message = c->max_message,
            };
            err = audit_syslog_transport(&so, &tr);
        } else if (c->type == AUDIT_SINK_S3) {
            struct audit_s3_opts so = {
                .endpoint = c->endpoint, .virtual_host = c->virtual_host,
                .tls_verify = c->tls_verify, .ca_file = c->ca_file, .bucket = c->bucket,
                .prefix = c->prefix, .account = c->account, .expected_owner = c->expected_owner,
                .region = c->region,
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
                            "%d|%s|%llu|%s|%u|%d|%u|%d|%s|%s|%s|%d|%d|%s|%s|%s|%s|%s|%u|%zu\n",
                            (int)c->type, or_dash(c->spool_dir),
                            (unsigned long long)c->max_spool_bytes, or_dash(c->host),
                            (unsigned)c->port, c->facility, (unsigned)c->max_message, (int)c->tls,
                            or_dash(c->ca_file),
                            or_dash(c->server_name), or_dash(c->endpoint), (int)c->virtual_host,
                            (int)c->tls_verify, or_dash(c->bucket), or_dash(c->prefix),
                            or_dash(c->account), or_dash(c->expected_owner), or_dash(c->region),
                            (unsigned)c->batch_ms,
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
    if (nomem)
        proxy_log("ERROR", "audit: out of memory");
    if (nomem || (!a->null_out && audit_out_open(a) != 0) || open_sinks(a, o) != 0) {
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
    int err = s3w_thread_create(&a->thread, writer_main, a);
    if (err != 0) {
        proxy_log("ERROR", "audit: cannot start the writer thread: %s", strerror(err));
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
    bool spool = a->werr_spool;
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
    if (err && spool) /* the file waits for a sink's spool (its line follows) */
        snprintf(out, cap, "held back by a sink's spool (%s); %zu records waiting%s",
                 strerror(err), waiting, dropping);
    else if (err)
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

void audit_stop_by(struct audit *a, int64_t mono_ms)
{
    if (!a || a->disabled)
        return;
    pthread_mutex_lock(&a->mu);
    a->stop_by_ms = mono_ms;
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
