/* TLS toward the upstream (proxy/h1client.c) against a real TLS server:
 * `openssl s_server -www` on 127.0.0.1 with a certificate made here for
 * DNS:localhost. Verification on: the right CA and name pass, an unknown CA
 * and a name the certificate does not carry fail with H1C_E_TLS and say why;
 * verification off: the same unknown CA passes. An answer read with a
 * pause after every piece of its body (the ciphertext OpenSSL has not read
 * kept meanwhile, tls_bio.h) arrives whole and in order. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <malloc.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/ssl.h>

#include "h1client.h"
#include "testutil.h"

static char dir[] = "/tmp/s3w-h1tls-XXXXXX";
static char cert[128], key[128];
static pid_t server;
static int port;
static uv_loop_t *loop;

struct result {
    struct h1c_req r;
    bool done;
    int err, status;
    char body[65536];
    size_t body_len;
};

static int cb_head(struct h1c_req *r, int status, const struct s3w_header *h, size_t n)
{
    (void)h;
    (void)n;
    ((struct result *)r->ud)->status = status;
    return 0;
}

static int cb_body(struct h1c_req *r, const char *p, size_t n)
{
    struct result *res = r->ud;
    if (res->body_len + n <= sizeof res->body) {
        memcpy(res->body + res->body_len, p, n);
        res->body_len += n;
    }
    return 0;
}

static void cb_done(struct h1c_req *r, int err)
{
    struct result *res = r->ud;
    res->done = true;
    res->err = err;
}

static const struct h1c_callbacks CB = { cb_head, cb_body, NULL, cb_done };

/* A test's server, run in the test's directory with its output dropped. */
static pid_t spawn_quiet(char *const argv[])
{
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", 1);
        dup2(devnull, 1);
        dup2(devnull, 2);
        if (chdir(dir) != 0)
            _exit(126);
        execvp(argv[0], argv);
        _exit(127);
    }
    return pid;
}

/* openssl s_server on 127.0.0.1:port_ with the test's certificate; mode
 * -www (a status page, then close) or -WWW (the directory's files). */
static pid_t s_server(int port_, const char *mode)
{
    char acc[32];
    snprintf(acc, sizeof acc, "127.0.0.1:%d", port_);
    char *const argv[] = { (char *)"openssl", (char *)"s_server", (char *)"-accept", acc,
                           (char *)"-cert", cert, (char *)"-key", key, (char *)mode,
                           (char *)"-quiet", NULL };
    return spawn_quiet(argv);
}

/* true once something listens on 127.0.0.1:port_ (up to 5 s) */
static bool wait_listening(int port_)
{
    char probe[160];
    snprintf(probe, sizeof probe, "bash -c 'exec 3<>/dev/tcp/127.0.0.1/%d' 2>/dev/null", port_);
    for (int i = 0; i < 100; i++) {
        if (system(probe) == 0)
            return true;
        usleep(50 * 1000);
    }
    return false;
}

static int setup(void **state)
{
    (void)state;
    loop = uv_default_loop();
    assert_non_null(mkdtemp(dir));
    snprintf(cert, sizeof cert, "%s/cert.pem", dir);
    snprintf(key, sizeof key, "%s/key.pem", dir);
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
             "-subj /CN=localhost -addext subjectAltName=DNS:localhost -keyout %s -out %s "
             ">/dev/null 2>&1", key, cert);
    assert_int_equal(system(cmd), 0);
    port = tu_free_port();
    server = s_server(port, "-www");
    if (wait_listening(port))
        return 0;
    fail_msg("openssl s_server did not start");
    return -1;
}

static int teardown(void **state)
{
    (void)state;
    kill(server, SIGTERM);
    waitpid(server, NULL, 0);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static SSL_CTX *client_ctx(bool with_ca)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    assert_non_null(ctx);
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (with_ca)
        assert_int_equal(SSL_CTX_load_verify_locations(ctx, cert, NULL), 1);
    return ctx;
}

static _Atomic uint64_t events[H1C_NEVENTS]; /* the pool's, as a worker's metrics shard */

/* A pool of one connection to localhost:port (verified against the test's
 * certificate), once a server listens there. */
static struct h1c_pool *verified_pool_when_listening(int port_, uint32_t keepalive_ms)
{
    assert_true(wait_listening(port_));
    struct h1c_pool_opts o = {
        .host = "localhost", .port = (uint16_t)port_, .ssl_ctx = client_ctx(true), .tls_verify = true,
        /* generous: a loaded CI machine (ASan, tests in parallel) can keep
         * the Python server from its handshake for seconds; no test here
         * is about a timeout */
        .max_conns = 1, .connect_timeout_ms = 20000, .first_byte_timeout_ms = 20000,
        .idle_timeout_ms = 20000, .keepalive_ms = keepalive_ms, .events = events,
    };
    for (size_t i = 0; i < H1C_NEVENTS; i++)
        atomic_store(&events[i], 0);
    struct h1c_pool *p = h1c_pool_new(loop, &o);
    SSL_CTX_free(o.ssl_ctx); /* the pool holds its own reference */
    assert_non_null(p);
    return p;
}

static struct h1c_stats last_stats;

/* n requests, one after the other, on one pool (s_server -www closes each
 * connection after its answer, so each is a new TLS connection). */
static struct result *fetch_n(const char *host, SSL_CTX *ctx, bool verify, int n)
{
    struct h1c_pool_opts o = {
        .host = host, .port = (uint16_t)port, .ssl_ctx = ctx, .tls_verify = verify,
        .max_conns = 2, .connect_timeout_ms = 20000, .first_byte_timeout_ms = 20000,
        .idle_timeout_ms = 20000, .keepalive_ms = 1000,
    };
    struct h1c_pool *p = h1c_pool_new(loop, &o);
    SSL_CTX_free(ctx); /* the pool holds its own reference */
    assert_non_null(p);
    struct result *res = NULL;
    for (int k = 0; k < n; k++) {
        free(res);
        res = calloc(1, sizeof *res);
        res->r.cb = &CB;
        res->r.ud = res;
        res->r.head = s3w_slice_cstr("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
        assert_int_equal(h1c_start(p, &res->r), 0);
        for (int i = 0; i < 2000 && !res->done; i++)
            uv_run(loop, UV_RUN_ONCE);
        assert_true(res->done);
        if (res->err)
            break;
    }
    h1c_pool_stats(p, &last_stats);
    h1c_pool_close(p);
    uv_run(loop, UV_RUN_NOWAIT);
    return res;
}

static struct result *fetch(const char *host, SSL_CTX *ctx, bool verify)
{
    return fetch_n(host, ctx, verify, 1);
}

static void test_session_resumed_across_connections(void **state)
{
    (void)state;
    struct result *r = fetch_n("localhost", client_ctx(true), true, 3);
    assert_int_equal(r->err, H1C_OK);
    assert_int_equal(last_stats.connects, 3);
    assert_int_equal(last_stats.tls_resumed, 2);
    free(r);
}

static void test_verified_by_name(void **state)
{
    (void)state;
    struct result *r = fetch("localhost", client_ctx(true), true);
    if (r->err)
        fail_msg("err %s: %s", h1c_strerror(r->err), r->r.detail);
    assert_int_equal(r->status, 200);
    assert_non_null(memmem(r->body, r->body_len, "s_server", 8));
    free(r);
}

static void test_unknown_ca_refused(void **state)
{
    (void)state;
    struct result *r = fetch("localhost", client_ctx(false), true);
    assert_int_equal(r->err, H1C_E_TLS);
    assert_string_equal(r->r.detail, "certificate verification: self-signed certificate");
    free(r);
}

static void test_wrong_name_refused(void **state)
{
    (void)state;
    /* the certificate names DNS:localhost only, not the address */
    struct result *r = fetch("127.0.0.1", client_ctx(true), true);
    assert_int_equal(r->err, H1C_E_TLS);
    assert_string_equal(r->r.detail, "certificate verification: IP address mismatch");
    free(r);
}

static void test_verify_off_accepts_unknown_ca(void **state)
{
    (void)state;
    struct result *r = fetch("127.0.0.1", client_ctx(false), false);
    assert_int_equal(r->err, H1C_OK);
    assert_int_equal(r->status, 200);
    free(r);
}

/* ---- an answer paused after every piece ---------------------------------------- */

struct paused {
    struct h1c_req r;
    bool done, paused;
    int err, status, pauses;
    char *body;
    size_t body_len, cap;
};

static int pz_head(struct h1c_req *r, int status, const struct s3w_header *h, size_t n)
{
    (void)h;
    (void)n;
    ((struct paused *)r->ud)->status = status;
    return 0;
}

static int pz_body(struct h1c_req *r, const char *p, size_t n)
{
    struct paused *z = r->ud;
    assert_true(z->body_len + n <= z->cap);
    memcpy(z->body + z->body_len, p, n);
    z->body_len += n;
    z->paused = true;
    z->pauses++;
    return H1C_PAUSE;
}

static void pz_done(struct h1c_req *r, int err)
{
    struct paused *z = r->ud;
    z->done = true;
    z->err = err;
}

static const struct h1c_callbacks PZ = { pz_head, pz_body, NULL, pz_done };

static void test_paused_answer_whole_and_in_order(void **state)
{
    (void)state;
    enum { SIZE = 256 * 1024 };
    char path[160];
    snprintf(path, sizeof path, "%s/big.bin", dir);
    char *want = malloc(SIZE);
    assert_non_null(want);
    for (size_t i = 0; i < SIZE; i++)
        want[i] = (char)(i * 2654435761u >> 13);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(want, 1, SIZE, f), SIZE);
    fclose(f);
    /* s_server -WWW serves the directory's files (HTTP/1.0, the answer
     * ends with close_notify) */
    int wport = tu_free_port();
    pid_t www = s_server(wport, "-WWW");
    struct h1c_pool *p = verified_pool_when_listening(wport, 1000);
    struct paused z = { .cap = SIZE + 1, .body = malloc(SIZE + 1) };
    assert_non_null(z.body);
    z.r.cb = &PZ;
    z.r.ud = &z;
    z.r.head = s3w_slice_cstr("GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert_int_equal(h1c_start(p, &z.r), 0);
    for (int i = 0; i < 20000 && !z.done; i++) {
        uv_run(loop, UV_RUN_NOWAIT);
        if (z.paused && !z.done) {
            z.paused = false;
            h1c_resume(&z.r);
        }
        usleep(100);
    }
    kill(www, SIGTERM);
    waitpid(www, NULL, 0);
    h1c_pool_close(p);
    uv_run(loop, UV_RUN_NOWAIT);
    assert_true(z.done);
    assert_int_equal(z.err, H1C_OK);
    assert_int_equal(z.status, 200);
    assert_true(z.pauses > 16); /* paused inside reads, not once per read */
    assert_int_equal(z.body_len, SIZE);
    assert_memory_equal(z.body, want, SIZE);
    free(z.body);
    free(want);
}

/* A pooled TLS connection idle for H1C_COOL_MS gives back OpenSSL's two
 * record buffers (33 KiB, which SSL_MODE_RELEASE_BUFFERS would free and
 * wipe after every read and write) and takes them again when reused. The
 * upstream is Python's HTTP/1.1 server over TLS, which keeps connections
 * alive. */
static void test_idle_connection_gives_back_record_buffers(void **state)
{
    (void)state;
    char script[160];
    snprintf(script, sizeof script, "%s/ka.py", dir);
    FILE *f = fopen(script, "w");
    assert_non_null(f);
    fputs("import http.server, ssl, sys\n"
          "class H(http.server.BaseHTTPRequestHandler):\n"
          "    protocol_version = 'HTTP/1.1'\n"
          "    def do_GET(self):\n"
          "        self.send_response(200); self.send_header('Content-Length', '2')\n"
          "        self.end_headers(); self.wfile.write(b'ok')\n"
          "    def log_message(self, *a): pass\n"
          "s = http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H)\n"
          "ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain(sys.argv[2], sys.argv[3])\n"
          "s.socket = ctx.wrap_socket(s.socket, server_side=True)\n"
          "s.serve_forever()\n", f);
    fclose(f);
    int kport = tu_free_port();
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", kport);
    char *const argv[] = { (char *)"python3", script, portstr, cert, key, NULL };
    pid_t ka = spawn_quiet(argv);
    struct h1c_pool *p = verified_pool_when_listening(kport, 10000);
    struct result *res[2];
    struct h1c_stats st;
    size_t heap_warm = 0;
    (void)heap_warm; /* ASan's malloc is not the arena mallinfo2 counts */
    for (int k = 0; k < 2; k++) {
        res[k] = calloc(1, sizeof *res[k]);
        res[k]->r.cb = &CB;
        res[k]->r.ud = res[k];
        res[k]->r.head = s3w_slice_cstr("GET /ka HTTP/1.1\r\nHost: localhost\r\n\r\n");
        assert_int_equal(h1c_start(p, &res[k]->r), 0);
        for (int i = 0; i < 2000 && !res[k]->done; i++)
            uv_run(loop, UV_RUN_ONCE);
        assert_true(res[k]->done);
        assert_int_equal(res[k]->err, H1C_OK);
        assert_int_equal(res[k]->status, 200);
        if (k == 1)
            break;
        h1c_pool_stats(p, &st);
        assert_int_equal(st.idle, 1);
        assert_int_equal(st.cooled, 0);
        heap_warm = mallinfo2().uordblks;
        uint64_t until = uv_now(loop) + 1300; /* past H1C_COOL_MS: its timer fires */
        while (uv_now(loop) < until) {
            uv_run(loop, UV_RUN_NOWAIT);
            usleep(10 * 1000);
            uv_update_time(loop);
        }
        h1c_pool_stats(p, &st);
        assert_int_equal(st.idle, 1);
        assert_int_equal(st.cooled, 1);
        assert_int_equal(events[H1C_EV_COOLED], 1); /* tls_buffers_freed in /metrics */
#if !defined(__SANITIZE_ADDRESS__)
        size_t heap_cool = mallinfo2().uordblks;
        assert_true(heap_warm > heap_cool && heap_warm - heap_cool >= 30 * 1024);
#endif
    }
    h1c_pool_stats(p, &st); /* the second request on the cooled connection */
    assert_int_equal(st.connects, 1);
    assert_int_equal(st.reuses, 1);
    kill(ka, SIGTERM);
    waitpid(ka, NULL, 0);
    h1c_pool_close(p);
    uv_run(loop, UV_RUN_NOWAIT);
    free(res[0]);
    free(res[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verified_by_name),
        cmocka_unit_test(test_unknown_ca_refused),
        cmocka_unit_test(test_wrong_name_refused),
        cmocka_unit_test(test_verify_off_accepts_unknown_ca),
        cmocka_unit_test(test_session_resumed_across_connections),
        cmocka_unit_test(test_paused_answer_whole_and_in_order),
        cmocka_unit_test(test_idle_connection_gives_back_record_buffers),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
