/* audit.c - the audit log writer (see audit.h). */
#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proxy.h"

struct audit_line {
    size_t len;
    char *data;
};

struct audit {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    struct audit_line q[AUDIT_QUEUE_LINES];
    size_t head, count;
    bool stop, reopen, disabled;
    uint64_t dropped;
    _Atomic uint64_t dropped_total; /* every record lost since start (metrics) */
    char *path; /* NULL = stdout */
    int fd;
};

/* ---- formatting -------------------------------------------------------------- */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    /* length of a valid UTF-8 sequence at p, or 0 (RFC 3629 table) */
    unsigned char c = p[0];
    size_t need;
    if (c >= 0xc2 && c <= 0xdf)
        need = 2;
    else if (c >= 0xe0 && c <= 0xef)
        need = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        need = 4;
    else
        return 0;
    if (n < need)
        return 0;
    for (size_t i = 1; i < need; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if (c == 0xe0 && p[1] < 0xa0)
        return 0;
    if (c == 0xed && p[1] > 0x9f)
        return 0; /* surrogates */
    if (c == 0xf0 && p[1] < 0x90)
        return 0;
    if (c == 0xf4 && p[1] > 0x8f)
        return 0;
    return need;
}

int audit_json_escape(struct s3w_buf *out, struct s3w_slice s)
{
    const unsigned char *p = (const unsigned char *)s.ptr;
    size_t i = 0;
    while (i < s.len) {
        unsigned char c = p[i];
        int rc;
        if (c == '"' || c == '\\') {
            char e[2] = { '\\', (char)c };
            rc = s3w_buf_append(out, e, 2);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            rc = s3w_buf_printf(out, "\\u%04x", c);
            i++;
        } else if (c < 0x80) {
            rc = s3w_buf_append_char(out, (char)c);
            i++;
        } else {
            size_t n = utf8_len(p + i, s.len - i);
            if (n == 0) {
                rc = s3w_buf_append_cstr(out, "\\ufffd");
                i++;
            } else {
                rc = s3w_buf_append(out, p + i, n);
                i += n;
            }
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int jstr(struct s3w_buf *b, const char *name, struct s3w_slice v, bool comma)
{
    int rc = s3w_buf_printf(b, "%s\"%s\":", comma ? "," : "", name);
    if (rc)
        return rc;
    if (!v.ptr)
        return s3w_buf_append_cstr(b, "null");
    rc = s3w_buf_append_char(b, '"');
    if (!rc)
        rc = audit_json_escape(b, v);
    if (!rc)
        rc = s3w_buf_append_char(b, '"');
    return rc;
}

int audit_format(const struct audit_record *r, struct s3w_buf *b)
{
    char when[96];
    time_t secs = (time_t)(r->time_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (int)(r->time_ms % 1000));
    int rc = s3w_buf_append_cstr(b, "{\"eventVersion\":\"1.0\"");
    rc = rc ?: jstr(b, "eventTime", s3w_slice_cstr(when), true);
    rc = rc ?: jstr(b, "eventSource", S3W_SLICE_LIT("s3warden"), true);
    rc = rc ?: jstr(b, "requestID", r->request_id, true);
    rc = rc ?: jstr(b, "upstreamRequestID", r->upstream_request_id.len ? r->upstream_request_id : S3W_SLICE_NULL, true);
    rc = rc ?: jstr(b, "sourceIPAddress", r->source_ip, true);
    rc = rc ?: jstr(b, "userAgent", r->user_agent, true);
    rc = rc ?: s3w_buf_append_cstr(b, ",\"userIdentity\":{");
    rc = rc ?: jstr(b, "type", r->identity_type, false);
    rc = rc ?: jstr(b, "principalId", r->principal_id, true);
    rc = rc ?: jstr(b, "arn", r->arn, true);
    rc = rc ?: jstr(b, "accountId", r->account_id, true);
    rc = rc ?: jstr(b, "accessKeyId", r->access_key_id, true);
    if (!rc && r->session_role_arn.len) {
        rc = s3w_buf_append_cstr(b, ",\"sessionContext\":{\"sessionIssuer\":{\"type\":\"Role\"");
        rc = rc ?: jstr(b, "arn", r->session_role_arn, true);
        rc = rc ?: s3w_buf_append_cstr(b, "}");
        rc = rc ?: jstr(b, "sessionName", r->session_name, true);
        rc = rc ?: s3w_buf_append_cstr(b, "}");
    }
    rc = rc ?: s3w_buf_append_cstr(b, "}");
    rc = rc ?: jstr(b, "eventName", r->event_name, true);
    rc = rc ?: s3w_buf_append_cstr(b, ",\"requestParameters\":{");
    rc = rc ?: jstr(b, "bucketName", r->bucket, false);
    rc = rc ?: jstr(b, "key", r->key, true);
    rc = rc ?: s3w_buf_append_cstr(b, "},\"actions\":[");
    for (size_t i = 0; !rc && i < r->nauthz && i < AUDIT_MAX_AUTHZ; i++) {
        rc = s3w_buf_append_cstr(b, i ? ",\"" : "\"");
        rc = rc ?: audit_json_escape(b, r->actions[i]);
        rc = rc ?: s3w_buf_append_char(b, '"');
    }
    rc = rc ?: s3w_buf_append_cstr(b, "],\"resources\":[");
    for (size_t i = 0; !rc && i < r->nauthz && i < AUDIT_MAX_AUTHZ; i++) {
        rc = s3w_buf_append_cstr(b, i ? ",\"" : "\"");
        rc = rc ?: audit_json_escape(b, r->resources[i]);
        rc = rc ?: s3w_buf_append_char(b, '"');
    }
    rc = rc ?: s3w_buf_append_char(b, ']');
    rc = rc ?: jstr(b, "decision", r->decision, true);
    rc = rc ?: jstr(b, "decidingStatements", r->deciding, true);
    rc = rc ?: s3w_buf_printf(b, ",\"crossAccount\":%s", r->cross_account ? "true" : "false");
    rc = rc ?: jstr(b, "errorCode", r->error_code.len ? r->error_code : S3W_SLICE_NULL, true);
    rc = rc ?: s3w_buf_printf(b, ",\"httpStatus\":%d,\"bytesIn\":%llu,\"bytesOut\":%llu,"
                              "\"latencyMs\":%lld",
                              r->http_status, (unsigned long long)r->bytes_in,
                              (unsigned long long)r->bytes_out, (long long)r->latency_ms);
    if (!rc) {
        if (r->upstream_latency_ms >= 0)
            rc = s3w_buf_printf(b, ",\"upstreamLatencyMs\":%lld", (long long)r->upstream_latency_ms);
        else
            rc = s3w_buf_append_cstr(b, ",\"upstreamLatencyMs\":null");
    }
    rc = rc ?: jstr(b, "tls", r->tls.len ? r->tls : S3W_SLICE_NULL, true);
    rc = rc ?: s3w_buf_append_cstr(b, "}\n");
    return rc;
}

/* ---- writer ------------------------------------------------------------------- */
static int open_out(struct audit *a)
{
    if (!a->path) {
        a->fd = STDOUT_FILENO;
        return 0;
    }
    int fd = open(a->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) {
        proxy_log("ERROR", "audit: cannot open %s: %s", a->path, strerror(errno));
        return -1;
    }
    a->fd = fd;
    return 0;
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        p += w;
        n -= (size_t)w;
    }
}

static void *writer_main(void *arg)
{
    struct audit *a = arg;
    pthread_mutex_lock(&a->mu);
    for (;;) {
        while (a->count == 0 && !a->stop && !a->reopen)
            pthread_cond_wait(&a->cv, &a->mu);
        if (a->reopen) {
            a->reopen = false;
            if (a->path) {
                int old = a->fd;
                if (open_out(a) == 0 && old >= 0 && old != STDOUT_FILENO)
                    close(old);
            }
        }
        if (a->dropped) {
            proxy_log("WARN", "audit: queue full, %llu records dropped",
                      (unsigned long long)a->dropped);
            a->dropped = 0;
        }
        if (a->count == 0 && a->stop)
            break;
        /* take everything queued, write outside the lock */
        struct audit_line batch[64];
        size_t n = 0;
        while (a->count > 0 && n < 64) {
            batch[n++] = a->q[a->head];
            a->head = (a->head + 1) % AUDIT_QUEUE_LINES;
            a->count--;
        }
        int fd = a->fd;
        pthread_mutex_unlock(&a->mu);
        for (size_t i = 0; i < n; i++) {
            if (fd >= 0)
                write_all(fd, batch[i].data, batch[i].len);
            free(batch[i].data);
        }
        pthread_mutex_lock(&a->mu);
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

struct audit *audit_open(const char *path, bool disabled)
{
    struct audit *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    a->fd = -1;
    a->disabled = disabled;
    if (disabled)
        return a;
    if (path && strcmp(path, "-") != 0) {
        a->path = strdup(path);
        if (!a->path) {
            free(a);
            return NULL;
        }
    }
    if (open_out(a) != 0) {
        free(a->path);
        free(a);
        return NULL;
    }
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    if (pthread_create(&a->thread, NULL, writer_main, a) != 0) {
        if (a->path)
            close(a->fd);
        free(a->path);
        free(a);
        return NULL;
    }
    return a;
}

void audit_log(struct audit *a, const struct audit_record *r)
{
    if (!a || a->disabled)
        return;
    struct s3w_buf b;
    s3w_buf_init(&b, AUDIT_LINE_MAX);
    if (audit_format(r, &b) != 0) {
        s3w_buf_cleanup(&b);
        proxy_log("WARN", "audit: record for request %.*s over %d bytes, dropped",
                  (int)r->request_id.len, r->request_id.ptr, AUDIT_LINE_MAX);
        atomic_fetch_add(&a->dropped_total, 1);
        return;
    }
    struct audit_line l = { b.len, b.ptr }; /* ownership moves to the queue */
    pthread_mutex_lock(&a->mu);
    if (a->count == AUDIT_QUEUE_LINES) {
        a->dropped++;
        atomic_fetch_add(&a->dropped_total, 1);
        pthread_mutex_unlock(&a->mu);
        free(l.data);
        return;
    }
    a->q[(a->head + a->count) % AUDIT_QUEUE_LINES] = l;
    a->count++;
    pthread_cond_signal(&a->cv);
    pthread_mutex_unlock(&a->mu);
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
        if (a->path && a->fd >= 0)
            close(a->fd);
        pthread_mutex_destroy(&a->mu);
        pthread_cond_destroy(&a->cv);
    }
    free(a->path);
    free(a);
}

uint64_t audit_dropped_total(struct audit *a)
{
    return a ? atomic_load(&a->dropped_total) : 0;
}
