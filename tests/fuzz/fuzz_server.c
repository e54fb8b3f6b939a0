/*
 * fuzz_server.c - the request path end to end: each input's bytes go in
 * over a real TCP connection to s3warden's own server (proxy/server.c,
 * proxy/http.c, the request pipeline, the upstream client, the audit
 * record), which runs in this process on 127.0.0.1 with one worker, in
 * front of a fake upstream thread. The server and the upstream start once
 * (first input) and serve every input; the worker thread's coverage counts
 * as the input's because each input waits until s3warden closes its
 * connection.
 *
 * Input: the first byte picks the mode, the rest is the request.
 *   bit 0 clear  raw: the rest is written to the socket as is
 *                (pipelined requests, bad framing, anonymous requests; the
 *                "pub" bucket lets anyone do anything, so an anonymous
 *                request reaches the upstream);
 *   bit 0 set    signed: the rest is "METHOD TARGET\n", then "Name: value\n"
 *                header lines, an empty line and the body; the harness signs
 *                Host and those headers with SigV4 (now, us-east-1) as the
 *                identity picked by bits 1-2, for service "sts" when bit 3
 *                is set (else "s3"), and adds Content-Length unless a
 *                Content-Length or Transfer-Encoding line is given. The
 *                payload hash is the body's sha256 unless an
 *                x-amz-content-sha256 line is given (then its value is
 *                signed, e.g. UNSIGNED-PAYLOAD or a STREAMING-* mode).
 * In both modes, text after the first "#UPSTREAM#" is what the fake
 * upstream answers (raw HTTP/1.1 response bytes) to every request the input
 * makes it see; without it the upstream answers 200 with an empty body.
 *
 * The client half-closes after writing, then reads until s3warden closes:
 * s3warden answers a complete request and closes, and closes at once on a
 * partial one, so each input is one bounded exchange. Invariants (trap):
 * s3warden answers every input with at least one byte that begins
 * "HTTP/1.1 " or closes without a byte (never a partial status line), and
 * it closes within 10 s (a stuck connection); and the upstream never sees a
 * request the input's caller may not make (fail closed): an unsigned
 * request, the policy-less reader, or a request signed for service "sts"
 * reaches only the public "pub" bucket, the other account's user also
 * "shared" (its bucket policy), as the bucket names on the upstream request
 * line show. S3W_FUZZ_TRACE=1 prints the
 * status line each input got (to check what a new seed reaches).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "audit.h"
#include "config.h"
#include "pipeline.h"
#include "log.h"
#include "proxy.h"
#include "sigv4.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OWNER "111111111111"
#define PARTNER "222222222222"
#define S3_ALL "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}"

/* Identities the signed mode signs as (bits 1-2 of the mode byte). */
static const struct {
    const char *akid, *secret;
} ids[4] = {
    { "AKIAFUZZADMIN0000001", "fuzzAdminSecret/0123456789abcdefghijklmn" },   /* owner, s3:* */
    { "AKIAFUZZREADER000001", "fuzzReaderSecret/0123456789abcdefghijklm" },   /* owner, no policy */
    { "AKIAFUZZPARTNER00001", "fuzzPartnerSecret/0123456789abcdefghijkl" },   /* other account */
    { "AKIAFUZZOWNERROOT001", "fuzzOwnerRootSecret/0123456789abcdefghij" },   /* owner's root */
};

/* ---- fake upstream ------------------------------------------------------------ */
static pthread_mutex_t up_mu = PTHREAD_MUTEX_INITIALIZER;
static char up_answer[64 * 1024]; /* guarded by up_mu */
static size_t up_answer_len;
static int up_port, up_lfd;
/* guarded by up_mu: upstream connections accepted and not yet done, and
 * the first request line the upstream saw that the current input's caller
 * may not cause (see allowed()) */
static int up_active;
static unsigned up_allowed;
static char up_violation[256];

static const char default_answer[] =
    "HTTP/1.1 200 OK\r\nx-amz-request-id: UPSTREAM1\r\nContent-Length: 0\r\n"
    "Connection: close\r\n\r\n";

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

/* Case-insensitive search in a buffer that is not NUL-terminated. */
static const char *find_ci(const char *p, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (strncasecmp(p + i, needle, k) == 0)
            return p + i;
    return NULL;
}

/* Which upstream buckets the current input's caller may reach (bits):
 * the caller cannot forge a signature, so an unsigned request, the reader
 * (no policy of its own) and a request signed for service "sts" may only
 * ever reach the "pub" bucket (Principal "*"), the other account's user also
 * "shared"; the owner's admin and root reach anything. */
/* ALLOW_LIST: the service endpoint, GET / (ListBuckets: the upstream's
 * list, filtered to the caller's account before it is answered), which
 * the partner's identity policy (s3:* on *) allows */
enum { ALLOW_PUB = 1, ALLOW_SHARED = 2, ALLOW_ALL = 4, ALLOW_LIST = 8 };

static bool path_is_bucket(const char *path, size_t n, const char *bucket)
{
    size_t k = strlen(bucket);
    return n > k && path[0] == '/' && memcmp(path + 1, bucket, k) == 0 &&
           (n == k + 1 || path[k + 1] == '/' || path[k + 1] == '?' || path[k + 1] == ' ');
}

/* Called once per upstream request head; records the first request line
 * the caller of the current input may not cause. */
static void check_request_line(const char *buf, size_t n)
{
    const char *eol = memchr(buf, '\r', n);
    size_t ll = eol ? (size_t)(eol - buf) : n;
    const char *sp = memchr(buf, ' ', ll);
    const char *path = sp ? sp + 1 : buf + ll;
    size_t pl = (size_t)(buf + ll - path);
    pthread_mutex_lock(&up_mu);
    bool ok = (up_allowed & ALLOW_ALL) ||
              ((up_allowed & ALLOW_PUB) && path_is_bucket(path, pl, "pub")) ||
              ((up_allowed & ALLOW_SHARED) && path_is_bucket(path, pl, "shared")) ||
              ((up_allowed & ALLOW_LIST) && ll >= 4 && memcmp(buf, "GET ", 4) == 0 && pl >= 1 &&
               path[0] == '/' && (pl == 1 || path[1] == ' ' || path[1] == '?'));
    if (!ok && !up_violation[0])
        snprintf(up_violation, sizeof(up_violation), "%.*s", (int)(ll < 200 ? ll : 200), buf);
    pthread_mutex_unlock(&up_mu);
}

/* True once nothing of this input can still reach the upstream: no
 * connection waits in the listen queue and none is being served. */
static bool upstream_quiet(void)
{
    struct pollfd pf = { up_lfd, POLLIN, 0 };
    pthread_mutex_lock(&up_mu);
    bool quiet = up_active == 0 && poll(&pf, 1, 0) == 0;
    pthread_mutex_unlock(&up_mu);
    return quiet;
}

/* One upstream connection: reads a head and its Content-Length body (at
 * most 2 s: s3warden may hold a body back), answers, closes. */
static void *up_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    static __thread char buf[256 * 1024];
    size_t n = 0, want = 0;
    bool have_head = false, checked = false;
    int64_t deadline = now_ms() + 2000;
    for (;;) {
        if (!have_head) {
            const char *end = n >= 4 ? find_ci(buf, n, "\r\n\r\n") : NULL;
            if (end) {
                have_head = true;
                want = (size_t)(end + 4 - buf);
                const char *cl = find_ci(buf, (size_t)(end - buf), "\r\ncontent-length:");
                if (cl)
                    want += strtoul(cl + 17, NULL, 10);
            }
        }
        if (have_head && n >= want)
            break;
        if (have_head && !checked) {
            check_request_line(buf, n);
            checked = true;
        }
        int64_t left = deadline - now_ms();
        struct pollfd pf = { fd, POLLIN, 0 };
        if (left <= 0 || n == sizeof(buf) || poll(&pf, 1, (int)left) <= 0)
            break;
        ssize_t r = recv(fd, buf + n, sizeof(buf) - n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    if (have_head && !checked)
        check_request_line(buf, n);
    if (have_head && n >= want) {
        static __thread char ans[sizeof(up_answer)];
        pthread_mutex_lock(&up_mu);
        size_t an = up_answer_len;
        memcpy(ans, up_answer, an);
        pthread_mutex_unlock(&up_mu);
        send_all(fd, ans, an);
        shutdown(fd, SHUT_WR);
    }
    close(fd);
    pthread_mutex_lock(&up_mu);
    up_active--;
    pthread_mutex_unlock(&up_mu);
    return NULL;
}

static void *up_main(void *arg)
{
    int lfd = (int)(intptr_t)arg;
    for (;;) {
        struct pollfd pf = { lfd, POLLIN, 0 };
        if (poll(&pf, 1, 1000) <= 0)
            continue;
        /* accept and count under the lock: upstream_quiet() sees either a
         * pending connection or an active one, never neither */
        pthread_mutex_lock(&up_mu);
        int fd = accept(lfd, NULL, NULL);
        if (fd >= 0)
            up_active++;
        pthread_mutex_unlock(&up_mu);
        if (fd < 0) {
            usleep(1000);
            continue;
        }
        pthread_t t;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &at, up_conn, (void *)(intptr_t)fd) != 0) {
            close(fd);
            pthread_mutex_lock(&up_mu);
            up_active--;
            pthread_mutex_unlock(&up_mu);
        }
        pthread_attr_destroy(&at);
    }
    return NULL;
}

static int listen_loopback(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof(a);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 64) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &al) != 0)
        abort();
    *port = ntohs(a.sin_port);
    return fd;
}

/* ---- s3warden --------------------------------------------------------------- */
static struct proxy_server srv;
static struct pl_shared sh;
static char host[64];

static struct config *make_config(void)
{
    static char json[16384];
    snprintf(json, sizeof(json),
        "{\"listeners\":[{\"address\":\"127.0.0.1\",\"port\":1}],"
        "\"upstream\":{\"endpoint\":\"http://127.0.0.1:%d\",\"region\":\"us-east-1\"},"
        "\"virtual_host_domains\":[\"s3.local\"],"
        "\"credentials\":{\"chain\":[{\"type\":\"static\",\"access_key_id\":\"AKIAUPSTREAMFUZZ0001\","
        "\"secret\":\"upstreamFuzzSecret000000000000000000000000\"}]},"
        "\"accounts\":[{\"id\":\"" OWNER "\",\"access_keys\":[{\"id\":\"%s\",\"secret\":\"%s\"}]},"
        "{\"id\":\"" PARTNER "\"}],"
        "\"users\":["
        "{\"account\":\"" OWNER "\",\"name\":\"admin\",\"unique_id\":\"AIDAFUZZADMIN000001\","
        "\"access_keys\":[{\"id\":\"%s\",\"secret\":\"%s\"}],"
        "\"policies\":[{\"name\":\"all\",\"document\":" S3_ALL "}]},"
        "{\"account\":\"" OWNER "\",\"name\":\"reader\",\"unique_id\":\"AIDAFUZZREADER00001\","
        "\"access_keys\":[{\"id\":\"%s\",\"secret\":\"%s\"}]},"
        "{\"account\":\"" PARTNER "\",\"name\":\"partner\",\"unique_id\":\"AIDAFUZZPARTNER0001\","
        "\"access_keys\":[{\"id\":\"%s\",\"secret\":\"%s\"}],"
        "\"policies\":[{\"name\":\"all\",\"document\":" S3_ALL "}]}],"
        "\"roles\":[{\"account\":\"" OWNER "\",\"name\":\"deploy\",\"unique_id\":\"AROAFUZZDEPLOY00001\","
        "\"trust_policy\":{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
        "\"Principal\":{\"AWS\":[\"" OWNER "\",\"" PARTNER "\"]},\"Action\":[\"sts:AssumeRole\","
        "\"sts:TagSession\",\"sts:SetSourceIdentity\"]}]},"
        "\"policies\":[{\"name\":\"all\",\"document\":" S3_ALL "}]}],"
        "\"sts\":{\"enabled\":true,\"keys\":[{\"id\":\"k1\",\"key\":"
        "\"aa00000000000000000000000000000000000000000000000000000000000001\",\"active\":true}]},"
        "\"buckets\":["
        "{\"name\":\"bkt\",\"account\":\"" OWNER "\",\"upstream_name\":\"real-bkt\"},"
        "{\"name\":\"shared\",\"account\":\"" OWNER "\",\"policy\":{\"Version\":\"2012-10-17\","
        "\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"" PARTNER "\"},"
        "\"Action\":[\"s3:GetObject\",\"s3:PutObject\",\"s3:ListBucket\",\"s3:DeleteObject\"],"
        "\"Resource\":[\"arn:aws:s3:::shared\",\"arn:aws:s3:::shared/*\"],"
        "\"Condition\":{\"StringLike\":{\"s3:prefix\":[\"\",\"in/*\"]}}}]}},"
        "{\"name\":\"pub\",\"account\":\"" OWNER "\",\"policy\":{\"Version\":\"2012-10-17\","
        "\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:*\","
        "\"Resource\":[\"arn:aws:s3:::pub\",\"arn:aws:s3:::pub/*\"]}]}}]}",
        up_port, ids[3].akid, ids[3].secret, ids[0].akid, ids[0].secret, ids[1].akid,
        ids[1].secret, ids[2].akid, ids[2].secret);
    struct config_errors errs;
    config_errors_init(&errs);
    struct config *cfg = NULL;
    int rc = config_load_buffer("fuzz", json, strlen(json), NULL, &cfg, &errs);
    for (size_t i = 0; i < errs.n; i++)
        fprintf(stderr, "fuzz_server config: %s\n", errs.items[i].text);
    config_errors_cleanup(&errs);
    if (rc != 0)
        abort();
    return cfg;
}

static void start_once(void)
{
    static bool started;
    if (started)
        return;
    started = true;
    proxy_log_set_level(PROXY_LOG_ERROR + 1); /* one line per request otherwise */
    int lfd = listen_loopback(&up_port);
    up_lfd = lfd;
    pthread_t t;
    if (pthread_create(&t, NULL, up_main, (void *)(intptr_t)lfd) != 0)
        abort();
    pthread_detach(t);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct audit *aud = audit_open(NULL, true);
    if (!aud || pl_shared_init(&sh, make_config(), aud) != 0)
        abort();
    struct proxy_settings s;
    proxy_settings_defaults(&s);
    s.port = 0;
    s.workers = 1;
    srv.worker_init = pl_worker_init;
    srv.worker_cleanup = pl_worker_cleanup;
    srv.worker_poke = pl_worker_poke;
    if (proxy_server_init(&srv, &s, &pl_handler, &sh) != 0 || proxy_server_start(&srv) != 0)
        abort();
    snprintf(host, sizeof(host), "127.0.0.1:%d", srv.bound_port);
}

/* ---- signed mode ---------------------------------------------------------------- */
#define MAX_SIGNED 16

/* Builds the wire request of a signed-mode input into *out; false when the
 * input is not in that shape (or the signer refuses it). */
static bool build_signed(uint8_t mode, const char *p, size_t n, struct s3w_buf *out)
{
    const char *end = p + n;
    const char *eol = memchr(p, '\n', n);
    if (!eol)
        return false;
    const char *sp = memchr(p, ' ', (size_t)(eol - p));
    if (!sp || sp == p || sp + 1 >= eol)
        return false;
    struct s3w_slice method = s3w_slice(p, (size_t)(sp - p));
    struct s3w_slice target = s3w_slice(sp + 1, (size_t)(eol - sp - 1));
    struct s3w_header h[MAX_SIGNED + 1] = { { S3W_SLICE_LIT("Host"), s3w_slice_cstr(host) } };
    size_t nh = 1;
    struct s3w_slice payload = S3W_SLICE_NULL;
    bool framed = false;
    const char *q = eol + 1;
    while (q < end) {
        const char *e = memchr(q, '\n', (size_t)(end - q));
        if (!e)
            e = end;
        if (e == q) { /* the empty line: the body follows */
            q++;
            break;
        }
        const char *colon = memchr(q, ':', (size_t)(e - q));
        if (!colon || nh > MAX_SIGNED)
            return false;
        struct s3w_slice name = s3w_slice(q, (size_t)(colon - q));
        const char *v = colon + 1;
        while (v < e && *v == ' ')
            v++;
        struct s3w_slice value = s3w_slice(v, (size_t)(e - v));
        if (s3w_slice_eq_nocase(name, S3W_SLICE_LIT("x-amz-content-sha256")))
            payload = value;
        else
            h[nh++] = (struct s3w_header){ name, value };
        if (s3w_slice_eq_nocase(name, S3W_SLICE_LIT("content-length")) ||
            s3w_slice_eq_nocase(name, S3W_SLICE_LIT("transfer-encoding")))
            framed = true;
        q = e < end ? e + 1 : e;
    }
    const char *body = q < end ? q : end;
    size_t blen = (size_t)(end - body);
    char hex[65];
    if (!payload.len) {
        uint8_t dg[32];
        sigv4_sha256(body, blen, dg);
        s3w_hex_encode(dg, 32, hex);
        payload = s3w_slice(hex, 64);
    }
    bool sts = mode & 8;
    unsigned who = (mode >> 1) & 3;
    struct sigv4_credentials cr = { s3w_slice_cstr(ids[who].akid), s3w_slice_cstr(ids[who].secret),
                                    S3W_SLICE_NULL };
    struct sigv4_sign_params sp_ = {
        .method = method, .target = target, .headers = h, .n_headers = nh,
        .region = S3W_SLICE_LIT("us-east-1"),
        .service = sts ? S3W_SLICE_LIT("sts") : S3W_SLICE_LIT("s3"),
        .uri_mode = sts ? SIGV4_URI_GENERIC : SIGV4_URI_S3, .now = time(NULL),
        .payload = payload,
    };
    struct sigv4_signed sd;
    struct sigv4_error err;
    if (sigv4_sign_headers(&sp_, &cr, &sd, &err) != 0)
        return false;
    int rc = s3w_buf_printf(out, "%.*s %.*s HTTP/1.1\r\nHost: %s\r\nAuthorization: %.*s\r\n"
                            "x-amz-date: %s\r\nx-amz-content-sha256: %.*s\r\n",
                            (int)method.len, method.ptr, (int)target.len, target.ptr, host,
                            (int)sd.authorization_len, sd.authorization, sd.amz_date,
                            (int)payload.len, payload.ptr);
    sigv4_signed_cleanup(&sd);
    for (size_t i = 1; rc == 0 && i < nh; i++)
        rc = s3w_buf_printf(out, "%.*s: %.*s\r\n", (int)h[i].name.len, h[i].name.ptr,
                            (int)h[i].value.len, h[i].value.ptr);
    if (rc == 0 && !framed)
        rc = s3w_buf_printf(out, "Content-Length: %zu\r\n", blen);
    if (rc == 0)
        rc = s3w_buf_append(out, "\r\n", 2);
    if (rc == 0)
        rc = s3w_buf_append(out, body, blen);
    return rc == 0;
}

/* ---- one exchange ------------------------------------------------------------------ */
static int connect_proxy(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)srv.bound_port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    /* libFuzzer's -timeout alarm (SIGALRM, no SA_RESTART) can interrupt a
     * connect on a busy machine: try again with a fresh socket rather
     * than report the harness's own failure as a finding */
    int err = 0;
    for (int i = 0; i < 100; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
            return fd;
        err = errno;
        if (fd >= 0)
            close(fd);
        usleep(10000);
    }
    fprintf(stderr, "fuzz_server: cannot connect to s3warden: %s\n", strerror(err));
    abort();
}

#define HEAD_KEEP 96

/* Writes the request while reading the answer (s3warden may answer and stop
 * reading before it has all of it), half-closes, then reads until s3warden
 * closes. The first (up to HEAD_KEEP) bytes of the answer go to head, their
 * count to *got. */
static void exchange(const char *req, size_t len, char head[HEAD_KEEP], size_t *got)
{
    int fd = connect_proxy();
    size_t off = 0;
    bool wr_open = true;
    char buf[65536];
    *got = 0;
    int64_t deadline = now_ms() + 10000;
    for (;;) {
        if (wr_open && off == len) {
            shutdown(fd, SHUT_WR);
            wr_open = false;
        }
        struct pollfd pf = { fd, (short)(POLLIN | (wr_open ? POLLOUT : 0)), 0 };
        int64_t left = deadline - now_ms();
        if (left <= 0)
            __builtin_trap(); /* s3warden neither answered nor closed */
        if (poll(&pf, 1, (int)left) <= 0)
            continue;
        if (pf.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t r = recv(fd, buf, sizeof(buf), 0);
            if (r < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (r <= 0)
                break; /* closed (or reset): the exchange is over */
            for (ssize_t i = 0; i < r && *got < HEAD_KEEP; i++)
                head[(*got)++] = buf[i];
        }
        if (wr_open && (pf.revents & POLLOUT)) {
            ssize_t w = send(fd, req + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w > 0)
                off += (size_t)w;
            else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                wr_open = false; /* s3warden closed its side for reading */
        }
    }
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 256 * 1024)
        return 0;
    start_once();
    uint8_t mode = data[0];
    const char *p = (const char *)data + 1;
    size_t n = size - 1;

    static const char sep[] = "#UPSTREAM#";
    const char *cut = NULL;
    for (size_t i = 0; n >= sizeof(sep) - 1 && i <= n - (sizeof(sep) - 1); i++)
        if (memcmp(p + i, sep, sizeof(sep) - 1) == 0) {
            cut = p + i;
            break;
        }
    unsigned who = (mode >> 1) & 3;
    pthread_mutex_lock(&up_mu);
    up_violation[0] = 0;
    if (!(mode & 1) || (mode & 8) || who == 1)
        up_allowed = ALLOW_PUB;
    else if (who == 2)
        up_allowed = ALLOW_PUB | ALLOW_SHARED | ALLOW_LIST;
    else
        up_allowed = ALLOW_ALL;
    if (cut) {
        const char *a = cut + sizeof(sep) - 1;
        size_t an = (size_t)(p + n - a);
        if (an > sizeof(up_answer))
            an = sizeof(up_answer);
        memcpy(up_answer, a, an);
        up_answer_len = an;
        n = (size_t)(cut - p);
    } else {
        memcpy(up_answer, default_answer, sizeof(default_answer) - 1);
        up_answer_len = sizeof(default_answer) - 1;
    }
    pthread_mutex_unlock(&up_mu);

    struct s3w_buf wire;
    s3w_buf_init(&wire, 512 * 1024);
    const char *req = p;
    size_t len = n;
    if (mode & 1) {
        if (!build_signed(mode, p, n, &wire)) {
            s3w_buf_cleanup(&wire);
            return 0;
        }
        req = wire.ptr;
        len = wire.len;
    }
    char head[HEAD_KEEP];
    size_t got = 0;
    exchange(req, len, head, &got);
    static int trace = -1;
    if (trace < 0)
        trace = getenv("S3W_FUZZ_TRACE") != NULL;
    if (trace) { /* for writing seeds: what each input got back */
        size_t l = 0;
        while (l < got && head[l] != '\r')
            l++;
        fprintf(stderr, "fuzz_server: %.*s\n", (int)l, head);
    }
    /* what s3warden sent upstream for this input has arrived (it answers
     * or closes the client only after writing it), unless a connection of
     * an aborted exchange is still closing: wait for that, briefly */
    for (int i = 0; i < 2000 && !upstream_quiet(); i++)
        usleep(100);
    pthread_mutex_lock(&up_mu);
    if (up_violation[0]) {
        fprintf(stderr, "fuzz_server: the upstream saw \"%s\" for a caller that may not "
                        "cause it (mode 0x%02x)\n", up_violation, mode);
        __builtin_trap();
    }
    pthread_mutex_unlock(&up_mu);
    if (got > 0 && got < 8 && memcmp(head, "HTTP/1.1 ", got) != 0)
        __builtin_trap();
    if (got >= 8 && memcmp(head, "HTTP/1.1", 8) != 0)
        __builtin_trap(); /* every answer is an HTTP/1.1 status line */
    s3w_buf_cleanup(&wire);
    return 0;
}
