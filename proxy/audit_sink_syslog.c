/* audit_sink_syslog.c - the syslog transport of a delivered audit sink
 * (audit_sink.h): each record one RFC 5424 message, framed by octet
 * counting (RFC 6587 3.4.1) over TCP, or over TLS (RFC 5425, which
 * mandates that framing). Runs on the sink's thread, blocking with
 * timeouts.
 *
 * Plain syslog over TCP has no acknowledgement, so "the receiver holds
 * these bytes" is approximated from the socket: every byte sent was
 * acknowledged by the receiver's TCP (SIOCOUTQ drains to 0) and the
 * connection was neither reset nor closed for a short while after. A
 * receiver that stops closes (or resets) its connections, which fails the
 * delivery in flight, and the spool sends those records again. */
#include "audit_sink.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "civil.h"
#include "monoclock.h"

#define GRACE_MS 200          /* the connection must stay up this long after the ACKs */
#define FRAME_OVERHEAD 400    /* length, PRI, time, host, app, pid, msgid per message */

struct syslog_t {
    char *host, *ca_file, *server_name;
    char port[8];
    int facility;
    bool tls;
    uint32_t timeout_ms;
    size_t max_message; /* a SYSLOG-MSG's bytes, header and record */
    char name[300];
    char hostname[256];
    int pid;
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    char *out;
    size_t out_cap;
};

size_t audit_syslog_frame(char *out, size_t cap, int facility, const char *hostname, int pid,
                          int64_t now_ms, const char *msg, size_t msg_len)
{
    char when[S3W_ISO8601_MS_LEN + 1];
    s3w_iso8601_format_ms(now_ms, when);
    /* RFC 5424 6: <PRI>VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP
     * PROCID SP MSGID SP STRUCTURED-DATA SP MSG; severity 6
     * (informational). MSG is the JSON record as is (MSG-ANY: no BOM, so
     * receivers that template %msg% get the JSON unchanged). */
    char head[600];
    int hn = snprintf(head, sizeof(head), "<%d>1 %s %s s3warden %d audit - ",
                      facility * 8 + 6, when, hostname[0] ? hostname : "-", pid);
    if (hn < 0 || (size_t)hn >= sizeof(head))
        return 0;
    size_t body = (size_t)hn + msg_len;
    /* RFC 6587 3.4.1: MSG-LEN SP SYSLOG-MSG */
    int ln = snprintf(out, cap, "%zu ", body);
    if (ln < 0 || (size_t)ln + body > cap)
        return 0;
    memcpy(out + ln, head, (size_t)hn);
    memcpy(out + ln + hn, msg, msg_len);
    return (size_t)ln + body;
}

/* ---- records longer than the receiver takes --------------------------------------- */
/* The longest string in the tree (NULL when none). */
static cJSON *longest_string(cJSON *it, size_t *len)
{
    cJSON *best = NULL;
    for (; it; it = it->next) {
        cJSON *b = NULL;
        size_t l = 0;
        if (cJSON_IsString(it) && it->valuestring) {
            b = it;
            l = strlen(it->valuestring);
        } else if (it->child) {
            b = longest_string(it->child, &l);
        }
        if (b && (!best || l > *len)) {
            best = b;
            *len = l;
        }
    }
    return best;
}

/* Cuts a string to at most n bytes, not inside a UTF-8 sequence, and
 * marks the cut with "...". */
static bool cut_string(cJSON *str, size_t n)
{
    char *v = str->valuestring;
    while (n > 0 && ((unsigned char)v[n] & 0xC0) == 0x80)
        n--;
    char *t = malloc(n + 4);
    if (!t)
        return false;
    memcpy(t, v, n);
    memcpy(t + n, "...", 4);
    bool ok = cJSON_SetValuestring(str, t) != NULL;
    free(t);
    return ok;
}

char *audit_syslog_fit(const char *msg, size_t len, size_t budget, size_t *out_len)
{
    /* what stays when every other member had to go */
    static const char *const keep[] = { "eventVersion", "eventTime", "requestID", "eventName",
                                        "eventSource", "decision", "errorCode", "httpStatus",
                                        "syslogTruncated", NULL };
    cJSON *root = cJSON_ParseWithLength(msg, len);
    if (!cJSON_IsObject(root) || !cJSON_AddTrueToObject(root, "syslogTruncated")) {
        cJSON_Delete(root);
        root = NULL;
    }
    char *out = NULL;
    for (int round = 0; root && round < 256; round++) {
        free(out);
        out = cJSON_PrintUnformatted(root);
        if (!out)
            break;
        size_t n = strlen(out);
        if (n <= budget) {
            cJSON_Delete(root);
            *out_len = n;
            return out;
        }
        /* the longest string first, by what is over (and a little: its
         * escapes may print longer than its bytes) */
        size_t sl = 0;
        cJSON *str = longest_string(root->child, &sl);
        size_t over = n - budget + 16;
        if (str && sl > 64) {
            if (!cut_string(str, sl > over + 32 ? sl - over : 32))
                break;
            continue;
        }
        /* then whole members, the largest first, but the few that say what
         * the request was */
        cJSON *drop = NULL;
        size_t dl = 0;
        for (cJSON *m = root->child; m; m = m->next) {
            bool kept = false;
            for (size_t k = 0; keep[k] && !kept; k++)
                kept = m->string && strcmp(m->string, keep[k]) == 0;
            char *p = kept ? NULL : cJSON_PrintUnformatted(m);
            if (p && strlen(p) >= dl) {
                drop = m;
                dl = strlen(p);
            }
            free(p);
        }
        if (!drop)
            break;
        cJSON_DetachItemViaPointer(root, drop);
        cJSON_Delete(drop);
    }
    free(out);
    cJSON_Delete(root);
    /* not JSON, or nothing left to cut: what it was, in a few bytes */
    static const char stub[] = "{\"syslogTruncated\":true}";
    if (budget < sizeof stub - 1)
        return NULL;
    out = strdup(stub);
    *out_len = out ? sizeof stub - 1 : 0;
    return out;
}

static void disconnect(struct syslog_t *s)
{
    if (s->ssl) {
        SSL_free(s->ssl);
        s->ssl = NULL;
    }
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
}

static int wait_fd(int fd, short ev, int64_t until)
{
    for (;;) {
        int64_t left = until - s3w_mono_ms();
        if (left <= 0)
            return ETIMEDOUT;
        struct pollfd p = { .fd = fd, .events = ev };
        int n = poll(&p, 1, (int)left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno;
        if (n > 0)
            return 0;
    }
}

static int do_connect(struct syslog_t *s)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    struct addrinfo *ai = NULL;
    int g = getaddrinfo(s->host, s->port, &hints, &ai);
    if (g != 0)
        return g == EAI_SYSTEM ? errno : EHOSTUNREACH;
    int err = ECONNREFUSED;
    int64_t until = s3w_mono_ms() + s->timeout_ms;
    for (struct addrinfo *a = ai; a; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
            err = errno;
            continue;
        }
        if (connect(fd, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
            err = errno;
            close(fd);
            continue;
        }
        err = wait_fd(fd, POLLOUT, until);
        socklen_t sl = sizeof(int);
        int soerr = 0;
        if (!err && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr)
            err = soerr;
        if (err) {
            close(fd);
            continue;
        }
        /* blocking from here, with timeouts */
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
        struct timeval tv = { .tv_sec = s->timeout_ms / 1000,
                              .tv_usec = (s->timeout_ms % 1000) * 1000 };
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        s->fd = fd;
        break;
    }
    freeaddrinfo(ai);
    if (s->fd < 0)
        return err;
    if (!s->tls)
        return 0;
    s->ssl = SSL_new(s->ctx);
    const char *sni = s->server_name ? s->server_name : s->host;
    if (!s->ssl || !SSL_set_fd(s->ssl, s->fd) || !SSL_set_tlsext_host_name(s->ssl, sni) ||
        !SSL_set1_host(s->ssl, sni) || SSL_connect(s->ssl) != 1) {
        ERR_clear_error();
        disconnect(s);
        return EPROTO; /* handshake or verification failed */
    }
    return 0;
}

static int send_all(struct syslog_t *s, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w;
        if (s->ssl) {
            size_t wn = 0;
            if (!SSL_write_ex(s->ssl, p, n, &wn)) {
                ERR_clear_error();
                return ECONNRESET;
            }
            w = (ssize_t)wn;
        } else {
            w = send(s->fd, p, n, MSG_NOSIGNAL);
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                return errno == EAGAIN ? ETIMEDOUT : errno;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The receiver closed or reset the connection (or sent something, which
 * a syslog receiver never does). */
static bool peer_gone(int fd, int ms)
{
    struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };
    int n = poll(&p, 1, ms);
    return n != 0;
}

/* Every byte sent acknowledged by the receiver's TCP, then GRACE_MS
 * without a close or reset. */
static int confirm(struct syslog_t *s)
{
    int64_t until = s3w_mono_ms() + s->timeout_ms;
    for (;;) {
        int q = 0;
        if (ioctl(s->fd, SIOCOUTQ, &q) != 0)
            return errno;
        if (q == 0)
            break;
        if (s3w_mono_ms() >= until)
            return ETIMEDOUT;
        if (peer_gone(s->fd, 5))
            return ECONNRESET;
    }
    if (peer_gone(s->fd, GRACE_MS))
        return ECONNRESET;
    int soerr = 0;
    socklen_t sl = sizeof(soerr);
    if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr)
        return soerr;
    return 0;
}

static int syslog_deliver(void *t, const char *buf, size_t len)
{
    struct syslog_t *s = t;
    if (s->fd >= 0 && peer_gone(s->fd, 0))
        disconnect(s); /* a receiver that restarted: this one is dead */
    if (s->fd < 0) {
        int err = do_connect(s);
        if (err)
            return err;
    }
    size_t nlines = 0;
    for (size_t i = 0; i < len; i++)
        nlines += buf[i] == '\n';
    size_t need = len + nlines * FRAME_OVERHEAD;
    if (need > s->out_cap) {
        char *o = realloc(s->out, need);
        if (!o)
            return ENOMEM;
        s->out = o;
        s->out_cap = need;
    }
    size_t n = 0;
    int64_t now = s3w_wall_ms();
    /* the header's bytes: the time has a fixed length */
    size_t head = (size_t)snprintf(NULL, 0, "<%d>1 %s %s s3warden %d audit - ", s->facility * 8 + 6,
                                   "YYYY-MM-DDTHH:MM:SS.mmmZ", s->hostname[0] ? s->hostname : "-",
                                   s->pid);
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(buf + i, '\n', len - i);
        size_t ll = (size_t)(nl - (buf + i));
        /* A receiver cuts a message longer than it takes (rsyslog past
         * its maxMessageSize, 8 KiB by default) and reads the rest as a
         * message of its own, which a caller's User-Agent or key can fill
         * with any PRI, host and text (the ninth probe): a longer record
         * goes cut to fit, "syslogTruncated": true, the file keeps it whole */
        char *fit = NULL;
        size_t fl = ll;
        if (head + ll > s->max_message &&
            !(fit = audit_syslog_fit(buf + i, ll, s->max_message > head ? s->max_message - head : 0,
                                     &fl)))
            return EMSGSIZE;
        size_t f = audit_syslog_frame(s->out + n, s->out_cap - n, s->facility, s->hostname, s->pid,
                                      now, fit ? fit : buf + i, fl);
        free(fit);
        if (!f)
            return EMSGSIZE;
        n += f;
        i += ll + 1;
    }
    int err = send_all(s, s->out, n);
    if (!err)
        err = confirm(s);
    if (err)
        disconnect(s);
    return err;
}

static void syslog_free(void *t)
{
    struct syslog_t *s = t;
    if (!s)
        return;
    disconnect(s);
    if (s->ctx)
        SSL_CTX_free(s->ctx);
    free(s->host);
    free(s->ca_file);
    free(s->server_name);
    free(s->out);
    free(s);
}

int audit_syslog_transport(const struct audit_syslog_opts *o, struct audit_transport *out)
{
    struct syslog_t *s = calloc(1, sizeof(*s));
    if (!s)
        return ENOMEM;
    s->fd = -1;
    s->host = strdup(o->host);
    s->ca_file = o->ca_file ? strdup(o->ca_file) : NULL;
    s->server_name = o->server_name ? strdup(o->server_name) : NULL;
    snprintf(s->port, sizeof(s->port), "%u", (unsigned)o->port);
    s->facility = o->facility;
    s->tls = o->tls;
    s->timeout_ms = o->timeout_ms ? o->timeout_ms : 5000;
    s->max_message = o->max_message ? o->max_message : AUDIT_SYSLOG_MAX_MESSAGE;
    s->pid = (int)getpid();
    if (gethostname(s->hostname, sizeof(s->hostname)) != 0)
        s->hostname[0] = '\0';
    s->hostname[sizeof(s->hostname) - 1] = '\0';
    snprintf(s->name, sizeof(s->name), "syslog%s %s:%u", o->tls ? "+tls" : "", o->host,
             (unsigned)o->port);
    if (!s->host || (o->ca_file && !s->ca_file) || (o->server_name && !s->server_name)) {
        syslog_free(s);
        return ENOMEM;
    }
    if (s->tls) {
        s->ctx = SSL_CTX_new(TLS_client_method());
        if (!s->ctx || !SSL_CTX_set_min_proto_version(s->ctx, TLS1_2_VERSION) ||
            !(s->ca_file ? SSL_CTX_load_verify_locations(s->ctx, s->ca_file, NULL)
                         : SSL_CTX_set_default_verify_paths(s->ctx))) {
            ERR_clear_error();
            syslog_free(s);
            return EINVAL;
        }
        SSL_CTX_set_verify(s->ctx, SSL_VERIFY_PEER, NULL);
    }
    *out = (struct audit_transport){
        .deliver = syslog_deliver,
        .free = syslog_free,
        .name = s->name,
        .t = s,
        /* Each delivery costs GRACE_MS after the last ACK, so the batch
         * bounds the throughput: 256 KiB held the sink to ~1.2 MB/s
         * (~1,100 CloudTrail records a second), below what one worker
         * serves, and under sustained load the spool only grew. 4 MiB
         * (as the S3 sink's default batch) passes ~15 times that; what a
         * lost connection sends again (at least once) grows alike. */
        .max_batch = 4u << 20,
    };
    return 0;
}
