/*
 * test_creds_fetch.c - the proxy's own credential manager against real
 * local endpoints, no protocol mocks:
 *  - tests/unit/proxy/creds/metadata_server.py speaking IMDSv2 (token PUT
 *    enforced before any GET) and the ECS/EKS container protocol
 *    (Authorization checked): first fetch, refresh before expiry, outage
 *    (500s, or no answer at all) during which the old credentials serve
 *    until they expire, then NULL with exactly one ERROR line, recovery;
 *  - moto_server with SigV4 checking ON (deploy/upstreams/moto.sh, started
 *    in the background at the beginning so its ~10 s start overlaps the
 *    other tests): AssumeRole on top of static keys (a wrong secret is
 *    refused by moto, proving the signature is checked), a profile with
 *    role_arn + source_profile, and AssumeRoleWithWebIdentity from a token
 *    file; reload (reconfigure) keeps or replaces the chain;
 *  - env and profile providers from temp files and a stub environment.
 * Expiries are a few seconds and the refresh margin is 1 s (opts), so the
 * file runs in ~45 s, also under ASan.
 *
 * Each test runs in a process of its own (main), one after another: a
 * failed assertion jumps out past the test's own cleanup, and what it
 * started - a manager's refresh thread, a fake server - must not reach the
 * tests after it.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"

#include "creds_fetch.h"

/* ---- helpers ---------------------------------------------------------- */

static char tmpdir[256];

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void write_file(const char *path, const char *text)
{
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(rename(tmp, path), 0);
}

/* A stub environment: NULL-terminated name/value pairs. */
struct env {
    const char *kv[16][2];
};
static const char *env_get(void *ud, const char *name)
{
    const struct env *e = ud;
    for (int i = 0; i < 16 && e->kv[i][0]; i++)
        if (strcmp(e->kv[i][0], name) == 0)
            return e->kv[i][1];
    return NULL;
}

/* Log capture (called on the refresh thread). */
struct logcap {
    pthread_mutex_t mu;
    int n_error, n_warn, n_info;
    char first_error[1024];
    char all[16384];
};
static void cap_log(void *ud, const char *level, const char *msg)
{
    struct logcap *c = ud;
    pthread_mutex_lock(&c->mu);
    if (strcmp(level, "ERROR") == 0) {
        if (c->n_error++ == 0)
            snprintf(c->first_error, sizeof c->first_error, "%s", msg);
    } else if (strcmp(level, "WARN") == 0) {
        c->n_warn++;
    } else {
        c->n_info++;
    }
    size_t l = strlen(c->all);
    snprintf(c->all + l, sizeof c->all - l, "%s %s\n", level, msg);
    pthread_mutex_unlock(&c->mu);
}
static int cap_count(struct logcap *c, const char *level)
{
    pthread_mutex_lock(&c->mu);
    int n = strcmp(level, "ERROR") == 0 ? c->n_error
            : strcmp(level, "WARN") == 0 ? c->n_warn : c->n_info;
    pthread_mutex_unlock(&c->mu);
    return n;
}

/* The transition is logged by the refresh thread when it wakes at the
 * expiry, a few ms after acquire() starts answering NULL. */
static int wait_count(struct logcap *c, const char *level, int want, double timeout_s)
{
    double end = now_s() + timeout_s;
    int n;
    while ((n = cap_count(c, level)) < want && now_s() < end)
        sleep_ms(10);
    return n;
}

static struct creds_mgr_opts test_opts(struct env *e, struct logcap *lc)
{
    struct creds_mgr_opts o = { 0 };
    o.region = "us-east-1";
    o.refresh_before_s = 1;
    o.retry_max_ms = 300;
    o.timeout_ms = 3000;
    o.getenv = env_get;
    o.getenv_ud = e;
    o.log = cap_log;
    o.log_ud = lc;
    return o;
}

/* A new manager over cc that has credentials within wait_ms. */
static struct creds_mgr *mgr_ready(const struct config_credentials *cc,
                                   const struct creds_mgr_opts *o, int wait_ms)
{
    struct creds_mgr *m;
    assert_int_equal(creds_mgr_new(cc, o, &m), CREDS_MGR_OK);
    assert_true(creds_mgr_wait(m, wait_ms));
    return m;
}

/* A new manager over cc gets no credentials within wait_ms and gives
 * exactly `reason`; it is freed again. */
static void expect_reason(const struct config_credentials *cc, const struct creds_mgr_opts *o,
                          int wait_ms, const char *reason)
{
    struct creds_mgr *m;
    assert_int_equal(creds_mgr_new(cc, o, &m), CREDS_MGR_OK);
    assert_false(creds_mgr_wait(m, wait_ms));
    struct creds_mgr_status st;
    creds_mgr_get_status(m, &st);
    assert_string_equal(st.reason, reason);
    creds_mgr_free(m);
}

/* Polls until the current key is `key` (NULL: until acquire gives NULL). */
static bool wait_key(struct creds_mgr *m, const char *key, double timeout_s)
{
    double end = now_s() + timeout_s;
    do {
        const struct creds_snapshot *s = creds_mgr_acquire(m);
        bool ok = key ? s && s3w_slice_eq_cstr(s->sigv4.access_key_id, key) : s == NULL;
        if (s)
            creds_snapshot_release(s);
        if (ok)
            return true;
        sleep_ms(25);
    } while (now_s() < end);
    return false;
}

static char *snap_key(const struct creds_snapshot *s, char *buf, size_t cap)
{
    snprintf(buf, cap, "%.*s", (int)s->sigv4.access_key_id.len, s->sigv4.access_key_id.ptr);
    return buf;
}

/* ---- the local metadata server ------------------------------------------ */

/* Every server child, killed by kill_servers too: a failed assertion must
 * not leave one holding the test's stdout (meson would wait on it). */
static pid_t children[8];

struct msrv {
    pid_t pid;
    int port;
    char dir[300], state[400], log[400], portf[400];
};

static void msrv_state_x(struct msrv *s, const char *key, int ttl, bool fail, int hang, bool big)
{
    char j[256];
    snprintf(j, sizeof j,
             "{\"key\": \"%s\", \"ttl\": %d, \"fail\": %s, \"role\": \"s3w-role\", "
             "\"hang\": %d, \"big\": %s}",
             key, ttl, fail ? "true" : "false", hang, big ? "true" : "false");
    write_file(s->state, j);
}

static void msrv_state(struct msrv *s, const char *key, int ttl, bool fail)
{
    msrv_state_x(s, key, ttl, fail, 0, false);
}

/* The server as if gone: it still holds its port (a port given up and
 * bound again may have been taken meanwhile, by another test's server or
 * as a client's local port) and ends every connection without an answer. */
static void msrv_down(struct msrv *s)
{
    /* credentials it would hand out otherwise: the outage is down's alone */
    write_file(s->state, "{\"key\": \"ASIADOWN000000000000\", \"ttl\": 30, \"fail\": false, "
                         "\"role\": \"s3w-role\", \"down\": true}");
}

static void msrv_start(struct msrv *s, const char *mode, const char *auth)
{
    const char *src = getenv("S3W_SOURCE_ROOT");
    char script[512];
    snprintf(script, sizeof script, "%s/tests/unit/proxy/creds/metadata_server.py",
             src ? src : ".");
    snprintf(s->dir, sizeof s->dir, "%s/%s", tmpdir, mode);
    mkdir(s->dir, 0700);
    snprintf(s->state, sizeof s->state, "%s/state.json", s->dir);
    snprintf(s->log, sizeof s->log, "%s/requests.log", s->dir);
    snprintf(s->portf, sizeof s->portf, "%s/port", s->dir);
    unlink(s->portf);
    unlink(s->log);
    pid_t parent = getpid();
    s->pid = fork();
    assert_true(s->pid >= 0);
    if (s->pid == 0) {
        /* and gone with the test's process, however that ends (also if
         * it ended before the prctl) */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
            _exit(127);
        execlp("python3", "python3", script, mode, s->state, s->log, s->portf, auth, (char *)NULL);
        _exit(127);
    }
    for (size_t i = 0; i < sizeof children / sizeof children[0]; i++)
        if (!children[i]) {
            children[i] = s->pid;
            break;
        }
    s->port = 0;
    for (int i = 0; i < 400 && !s->port; i++) {
        FILE *f = fopen(s->portf, "r");
        if (f) {
            if (fscanf(f, "%d", &s->port) != 1)
                s->port = 0;
            fclose(f);
        }
        if (!s->port)
            sleep_ms(25);
    }
    assert_true(s->port > 0);
}

static void msrv_stop(struct msrv *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
        for (size_t i = 0; i < sizeof children / sizeof children[0]; i++)
            if (children[i] == s->pid)
                children[i] = 0;
        s->pid = 0;
    }
}

/* A fresh IMDS server handing out `key` for ttl seconds; its endpoint
 * URL into ep. */
static void imds_start(struct msrv *s, const char *key, int ttl, char ep[64])
{
    memset(s, 0, sizeof *s);
    msrv_start(s, "imds", "");
    msrv_state(s, key, ttl, false);
    snprintf(ep, 64, "http://127.0.0.1:%d", s->port);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return strdup("");
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strdup(buf);
}

/* ---- moto_server (background start) -------------------------------------- */

/* [0]: auth on (SigV4 and IAM checked: AssumeRole); [1]: auth off, for
 * AssumeRoleWithWebIdentity - moto 5 with auth on answers any request
 * without an Authorization header with a 500 (KeyError
 * 'HTTP_AUTHORIZATION'), and AssumeRoleWithWebIdentity is unsigned by
 * definition (STS API reference). */
static struct moto_srv {
    int port;
    char out[300];
    bool ready;
    char endpoint[128], role_arn[256];
    char akid[128], secret[128];
} motos[2];

static void moto_start_background(struct moto_srv *mt, int auth)
{
    if (system("command -v moto_server >/dev/null 2>&1 && python3 -c 'import boto3' "
               ">/dev/null 2>&1") != 0)
        return;
    const char *src = getenv("S3W_SOURCE_ROOT");
    mt->port = tu_free_port();
    if (mt->port <= 0) {
        mt->port = 0;
        return;
    }
    snprintf(mt->out, sizeof mt->out, "%s/moto%d.out", tmpdir, auth);
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "MOTO_PORT=%d MOTO_BASE=%s/moto%d MOTO_AUTH=%d bash "
             "%s/deploy/upstreams/moto.sh start >%s.tmp 2>%s/moto%d.err && mv %s.tmp %s &",
             mt->port, tmpdir, auth, auth, src ? src : ".", mt->out, tmpdir, auth, mt->out,
             mt->out);
    if (system(cmd) != 0)
        mt->port = 0;
}

/* Fails unless s expires in more than lo and at most hi seconds from now,
 * saying when it does. "Now" is read with CLOCK_REALTIME, as moto reads
 * it: time() is glibc's coarse clock, up to a tick behind, so a second
 * that had begun for moto (now + 900) could still be the last one here,
 * and the credentials expired "in 901 s" (seen once under load). */
static void assert_expires_in(const struct creds_snapshot *s, int64_t lo, int64_t hi)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t left = s->expiration - (int64_t)ts.tv_sec;
    if (left <= lo || left > hi)
        fail_msg("the credentials expire in %lld s, not in %lld..%lld", (long long)left,
                 (long long)lo + 1, (long long)hi);
}

static bool moto_wait_one(struct moto_srv *mt)
{
    if (!mt->port)
        return false;
    if (mt->ready)
        return true;
    for (int i = 0; i < 600; i++) {
        FILE *f = fopen(mt->out, "r");
        if (f) {
            char line[512];
            while (fgets(line, sizeof line, f)) {
                line[strcspn(line, "\r\n")] = '\0';
#define TAKE(pfx, dst) \
    if (!strncmp(line, pfx, strlen(pfx))) \
        snprintf(dst, sizeof dst, "%.*s", (int)(sizeof dst - 1), line + strlen(pfx))
                TAKE("MOTO_ENDPOINT=", mt->endpoint);
                TAKE("MOTO_ROLE_ARN=", mt->role_arn);
                TAKE("MOTO_BASE_ACCESS_KEY_ID=", mt->akid);
                TAKE("MOTO_BASE_SECRET_ACCESS_KEY=", mt->secret);
#undef TAKE
            }
            fclose(f);
            mt->ready = mt->endpoint[0] != '\0';
            return mt->ready;
        }
        sleep_ms(100);
    }
    return false;
}

static bool moto_wait(void)
{
    return moto_wait_one(&motos[0]) && motos[0].role_arn[0] && motos[0].akid[0] && motos[0].secret[0];
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/s3w-credfetch-XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    moto_start_background(&motos[0], 1);
    moto_start_background(&motos[1], 0);
    return 0;
}

/* The fake servers still running: a failed test's (each test's process
 * ends with this). */
static int kill_servers(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof children / sizeof children[0]; i++)
        if (children[i] > 0) {
            kill(children[i], SIGKILL);
            waitpid(children[i], NULL, 0);
            children[i] = 0;
        }
    return 0;
}

static int group_teardown(void **state)
{
    kill_servers(state);
    char cmd[4096];
    const char *src = getenv("S3W_SOURCE_ROOT");
    for (int i = 0; i < 2; i++) {
        if (!motos[i].port)
            continue;
        moto_wait_one(&motos[i]); /* never leave a half-started moto behind */
        snprintf(cmd, sizeof cmd,
                 "MOTO_PORT=%d MOTO_BASE=%s/moto%d bash %s/deploy/upstreams/moto.sh stop "
                 "2>/dev/null",
                 motos[i].port, tmpdir, i == 0 ? 1 : 0, src ? src : ".");
        if (system(cmd) != 0)
            fprintf(stderr, "moto.sh stop failed\n");
    }
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- static / env / profile --------------------------------------------- */

static void test_static_env_chain(void **state)
{
    (void)state;
    struct logcap lc = { .mu = PTHREAD_MUTEX_INITIALIZER };
    struct env e = { { { NULL, NULL } } };
    struct config_cred_provider ch[2] = {
        { .source = CONFIG_CRED_ENV },
        { .source = CONFIG_CRED_STATIC, .access_key_id = "AKIASTATIC0000000001",
          .secret_access_key = "static-secret" },
    };
    struct config_credentials cc = { .chain = ch, .nchain = 2, .refresh_before_seconds = 300 };
    struct creds_mgr_opts o = test_opts(&e, &lc);
    /* env absent: the static keys (second in the chain) win */
    struct creds_mgr *m = mgr_ready(&cc, &o, 3000);
    const struct creds_snapshot *s = creds_mgr_acquire(m);
    assert_non_null(s);
    assert_true(s3w_slice_eq_cstr(s->sigv4.access_key_id, "AKIASTATIC0000000001"));
    assert_true(s3w_slice_eq_cstr(s->sigv4.secret, "static-secret"));
    assert_int_equal(s->sigv4.session_token.len, 0);
    assert_int_equal(s->expiration, 0);
    assert_string_equal(s->provider, "static");
    creds_mgr_free(m); /* the snapshot outlives its manager */
    assert_true(s3w_slice_eq_cstr(s->sigv4.secret, "static-secret"));
    creds_snapshot_release(s);
    assert_int_equal(cap_count(&lc, "ERROR"), 0);

    /* env set: it comes first and wins, with the legacy token name */
    struct env e2 = { { { "AWS_ACCESS_KEY_ID", "AKIAENV0000000000001" },
                        { "AWS_SECRET_ACCESS_KEY", "env-secret" },
                        { "AWS_SECURITY_TOKEN", "env-token" } } };
    o = test_opts(&e2, &lc);
    m = mgr_ready(&cc, &o, 3000);
    s = creds_mgr_acquire(m);
    assert_non_null(s);
    assert_true(s3w_slice_eq_cstr(s->sigv4.access_key_id, "AKIAENV0000000000001"));
    assert_true(s3w_slice_eq_cstr(s->sigv4.session_token, "env-token"));
    assert_string_equal(s->provider, "env");
    creds_snapshot_release(s);
    creds_mgr_free(m);

    /* half an env pair and no other provider: NULL, one exact ERROR line */
    struct env e3 = { { { "AWS_ACCESS_KEY_ID", "AKIAENV0000000000001" } } };
    struct logcap lc3 = { .mu = PTHREAD_MUTEX_INITIALIZER };
    o = test_opts(&e3, &lc3);
    cc.nchain = 1;
    assert_int_equal(creds_mgr_new(&cc, &o, &m), CREDS_MGR_OK);
    assert_false(creds_mgr_wait(m, 1200)); /* several retries happen meanwhile */
    struct creds_mgr_status st;
    creds_mgr_get_status(m, &st);
    assert_false(st.valid);
    assert_true(st.attempts >= 2);
    assert_string_equal(st.reason,
                        "env: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
    creds_mgr_free(m);
    assert_int_equal(lc3.n_error, 1);
    assert_string_equal(lc3.first_error,
                        "no valid upstream credentials: env: AWS_ACCESS_KEY_ID is set but "
                        "AWS_SECRET_ACCESS_KEY is not; answering 503 ServiceUnavailable until "
                        "a fetch succeeds");

    /* an empty chain is refused */
    cc.nchain = 0;
    assert_int_equal(creds_mgr_new(&cc, &o, &m), CREDS_MGR_E_CONFIG);
    assert_null(m);
}

/* SIGHUP: creds_mgr_reconfigure keeps an identical chain, switches to a
 * different one, and drops the old credentials when the new chain yields
 * none (fail closed); snapshots already handed out stay intact. */
static void test_reconfigure(void **state)
{
    (void)state;
    struct logcap lc = { .mu = PTHREAD_MUTEX_INITIALIZER };
    struct env e = { { { "AWS_ACCESS_KEY_ID", "AKIAHALFENV000000001" } } };
    struct config_cred_provider a[1] = { { .source = CONFIG_CRED_STATIC,
                                           .access_key_id = "AKIASTATICA000000001",
                                           .secret_access_key = "secret-a" } };
    struct config_cred_provider b[1] = { { .source = CONFIG_CRED_STATIC,
                                           .access_key_id = "AKIASTATICB000000001",
                                           .secret_access_key = "secret-b" } };
    struct config_cred_provider bad[1] = { { .source = CONFIG_CRED_ENV } };
    struct config_credentials ca = { .chain = a, .nchain = 1, .refresh_before_seconds = 300 };
    struct config_credentials cb = { .chain = b, .nchain = 1, .refresh_before_seconds = 300 };
    struct config_credentials cbad = { .chain = bad, .nchain = 1, .refresh_before_seconds = 300 };
    struct creds_mgr_opts o = test_opts(&e, &lc);
    struct creds_mgr *m;
    assert_int_equal(creds_mgr_new(&ca, &o, &m), CREDS_MGR_OK);
    assert_true(wait_key(m, "AKIASTATICA000000001", 3));
    const struct creds_snapshot *held = creds_mgr_acquire(m);
    assert_non_null(held);

    /* the same chain (a separate copy of it): nothing happens */
    struct config_cred_provider a2[1] = { { .source = CONFIG_CRED_STATIC,
                                            .access_key_id = "AKIASTATICA000000001",
                                            .secret_access_key = "secret-a" } };
    struct config_credentials ca2 = { .chain = a2, .nchain = 1, .refresh_before_seconds = 300 };
    struct creds_mgr_status st;
    creds_mgr_get_status(m, &st);
    uint64_t n0 = st.attempts;
    assert_int_equal(creds_mgr_reconfigure(m, &ca2, &o), 0);
    sleep_ms(100);
    creds_mgr_get_status(m, &st);
    assert_int_equal(st.attempts, n0); /* no refetch */

    /* another secret for the same key id is a different chain */
    a2[0].secret_access_key = "secret-a2";
    assert_int_equal(creds_mgr_reconfigure(m, &ca2, &o), 1);
    /* a different chain: switched */
    assert_int_equal(creds_mgr_reconfigure(m, &cb, &o), 1);
    assert_true(wait_key(m, "AKIASTATICB000000001", 3));
    assert_true(s3w_slice_eq_cstr(held->sigv4.secret, "secret-a")); /* still intact */
    creds_snapshot_release(held);

    /* a chain that yields nothing: the old ones are dropped at once */
    assert_int_equal(creds_mgr_reconfigure(m, &cbad, &o), 1);
    assert_true(wait_key(m, NULL, 3));
    assert_int_equal(wait_count(&lc, "ERROR", 1, 1), 1);
    assert_string_equal(lc.first_error,
                        "no valid upstream credentials: the reloaded credentials chain yields "
                        "none (env: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not); "
                        "the previous ones are dropped; answering 503 ServiceUnavailable until "
                        "a fetch succeeds");
    /* and back */
    assert_int_equal(creds_mgr_reconfigure(m, &ca, &o), 1);
    assert_true(wait_key(m, "AKIASTATICA000000001", 3));
    assert_int_equal(creds_mgr_reconfigure(m, NULL, &o), CREDS_MGR_E_CONFIG);

    /* a storm of refresh_now() (every request meeting ExpiredToken) causes
     * at most one fetch a second */
    creds_mgr_get_status(m, &st);
    n0 = st.attempts;
    double t0 = now_s();
    int pokes = 0;
    /* 500 pokes and 1.5 s, whichever ends later: a loaded machine (CI's)
     * stretches each 1 ms sleep, and the bound below follows the time
     * taken rather than a count of loops (two CI-like runs in eleven
     * poked fewer than 500 times in 1.5 s) */
    while (pokes < 500 || now_s() - t0 < 1.5) {
        creds_mgr_refresh_now(m);
        pokes++;
        sleep_ms(1);
    }
    sleep_ms(100);
    creds_mgr_get_status(m, &st);
    /* at most one a second: at t0 and at each whole second since */
    uint64_t most = 1 + (uint64_t)(now_s() - t0);
    assert_true(st.attempts - n0 >= 1);
    if (st.attempts - n0 > most)
        fprintf(stderr, "%d pokes in %.2f s made %llu fetches\n", pokes, now_s() - t0,
                (unsigned long long)(st.attempts - n0));
    assert_true(st.attempts - n0 <= most);
    creds_mgr_free(m);
    assert_int_equal(cap_count(&lc, "ERROR"), 1);
    assert_null(strstr(lc.all, "secret-"));
}

static void test_profile_files(void **state)
{
    (void)state;
    char cred[400], conf[400];
    snprintf(cred, sizeof cred, "%s/credentials", tmpdir);
    snprintf(conf, sizeof conf, "%s/config", tmpdir);
    write_file(cred, "[default]\naws_access_key_id = AKIADEFAULT000000001\n"
                     "aws_secret_access_key = default-secret\n\n"
                     "[work]\naws_access_key_id = AKIAWORK000000000001\n"
                     "aws_secret_access_key = work-secret\naws_session_token = work-token\n");
    write_file(conf, "[default]\nregion = eu-west-1\n[profile work]\nregion = us-west-2\n");
    struct logcap lc = { .mu = PTHREAD_MUTEX_INITIALIZER };
    /* AWS_PROFILE picks the profile when the config names none */
    struct env e = { { { "AWS_PROFILE", "work" } } };
    struct config_cred_provider ch[1] = { { .source = CONFIG_CRED_PROFILE,
                                            .credentials_file = cred, .config_file = conf } };
    struct config_credentials cc = { .chain = ch, .nchain = 1, .refresh_before_seconds = 300 };
    struct creds_mgr_opts o = test_opts(&e, &lc);
    struct creds_mgr *m = mgr_ready(&cc, &o, 3000);
    const struct creds_snapshot *s = creds_mgr_acquire(m);
    assert_non_null(s);
    assert_true(s3w_slice_eq_cstr(s->sigv4.access_key_id, "AKIAWORK000000000001"));
    assert_true(s3w_slice_eq_cstr(s->sigv4.secret, "work-secret"));
    assert_true(s3w_slice_eq_cstr(s->sigv4.session_token, "work-token"));
    assert_string_equal(s->provider, "profile:work");
    creds_snapshot_release(s);
    creds_mgr_free(m);

    /* a profile that does not exist: exact reason */
    ch[0].profile = "nope";
    expect_reason(&cc, &o, 300, "profile:nope: profile nope not found");

    /* neither file: the provider is absent */
    char cred2[420], conf2[420], want[1200];
    snprintf(cred2, sizeof cred2, "%s/missing-credentials", tmpdir);
    snprintf(conf2, sizeof conf2, "%s/missing-config", tmpdir);
    ch[0].profile = NULL;
    ch[0].credentials_file = cred2;
    ch[0].config_file = conf2;
    snprintf(want, sizeof want, "profile:work: neither %s nor %s exists", cred2, conf2);
    expect_reason(&cc, &o, 300, want);
    assert_null(strstr(lc.all, "secret"));
}

/* ---- IMDSv2 ------------------------------------------------------------- */

static void test_imds_refresh_outage_recovery(void **state)
{
    (void)state;
    struct msrv srv;
    char ep[64];
    imds_start(&srv, "ASIAIMDS000000000001", 12, ep);
    struct logcap lc = { .mu = PTHREAD_MUTEX_INITIALIZER };
    struct env e = { { { NULL, NULL } } };
    struct config_cred_provider ch[1] = { { .source = CONFIG_CRED_IMDS, .endpoint = ep } };
    struct config_credentials cc = { .chain = ch, .nchain = 1, .refresh_before_seconds = 300 };
    struct creds_mgr_opts o = test_opts(&e, &lc);
    /* refreshed at half their life (creds_refresh_at: 10 s before the
     * first ones' 12 s is sooner), 5 s and more before they expire: room
     * for a loaded CI host to fetch them (three requests) */
    o.refresh_before_s = 10;
    struct creds_mgr *m;
    assert_int_equal(creds_mgr_new(&cc, &o, &m), CREDS_MGR_OK);

    /* 1. first credentials, fetched token-first */
    assert_true(wait_key(m, "ASIAIMDS000000000001", 10));
    const struct creds_snapshot *s = creds_mgr_acquire(m);
    assert_non_null(s);
    assert_true(s3w_slice_eq_cstr(s->sigv4.secret, "secret-ASIAIMDS000000000001"));
    assert_true(s3w_slice_eq_cstr(s->sigv4.session_token, "token-ASIAIMDS000000000001"));
    assert_string_equal(s->provider, "imds");
    int64_t exp1 = s->expiration;
    assert_true(exp1 > time(NULL) && exp1 <= time(NULL) + 13);
    creds_snapshot_release(s);
    char *log = slurp(srv.log);
    assert_string_equal(log, "PUT /latest/api/token 200\n"
                             "GET /latest/meta-data/iam/security-credentials/ 200\n"
                             "GET /latest/meta-data/iam/security-credentials/s3w-role 200\n");
    free(log);

    /* 2. refresh before expiry yields the new ones, with no gap */
    msrv_state(&srv, "ASIAIMDS000000000002", 5, false);
    double t0 = now_s();
    bool second = false;
    while (!second && now_s() - t0 < 20) {
        /* the clock before acquire: it may pass the expiry just after */
        int64_t before = time(NULL);
        s = creds_mgr_acquire(m);
        if (!s)
            fail_msg("a gap: no credentials %.1f s after the endpoint had the second ones "
                     "(the first expire at %lld, now %lld)",
                     now_s() - t0, (long long)exp1, (long long)time(NULL));
        char k[64];
        second = strcmp(snap_key(s, k, sizeof k), "ASIAIMDS000000000002") == 0;
        if (!second)
            assert_true(before < exp1); /* the old ones only while valid */
        creds_snapshot_release(s);
        if (!second)
            sleep_ms(20);
    }
    assert_true(second);
    s = creds_mgr_acquire(m);
    int64_t exp2 = s->expiration;
    creds_snapshot_release(s);

    /* 3. outage (500s): the current ones stay until they expire, then NULL */
    msrv_state(&srv, "ASIAIMDS000000000003", 5, true);
    assert_true(wait_key(m, NULL, 9));
    assert_true(time(NULL) >= exp2 - 1); /* not dropped early (1 s: clock granularity) */
    assert_int_equal(wait_count(&lc, "ERROR", 1, 5), 1); /* the drop, when the thread wakes */
    sleep_ms(1000); /* more failed retries: still one ERROR */
    struct creds_mgr_status st;
    creds_mgr_get_status(m, &st);
    assert_false(st.valid);
    assert_int_equal(cap_count(&lc, "ERROR"), 1);
    assert_int_equal(cap_count(&lc, "WARN"), 1);
    char want[512];
    snprintf(want, sizeof want,
             "no valid upstream credentials: those from imds (access key ASIAIMDS000000000002) "
             "expired at ");
    assert_memory_equal(lc.first_error, want, strlen(want));
    assert_non_null(strstr(lc.first_error, "and refreshing failed: imds: IMDS token PUT "));
    assert_non_null(strstr(lc.first_error, "answered HTTP 500; answering 503 "
                                           "ServiceUnavailable until a fetch succeeds"));

    /* 4. recovery */
    msrv_state(&srv, "ASIAIMDS000000000003", 5, false);
    assert_true(wait_key(m, "ASIAIMDS000000000003", 10));
    assert_int_equal(cap_count(&lc, "ERROR"), 1);
    creds_mgr_free(m);
    /* no secret or token ever reached a log line */
    assert_null(strstr(lc.all, "secret-"));
    assert_null(strstr(lc.all, "token-"));
    /* and the server never saw a GET without a valid token */
    log = slurp(srv.log);
    assert_null(strstr(log, " 401\n"));
    free(log);
    msrv_stop(&srv);
}

/* ---- a worker's cache (creds_cache_get) ----------------------------------- */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The cache tests' two managers: m from an IMDS fake (credentials `key`
 * for 4 s, refreshed 2 s before they expire), m2 from static keys. */
struct two_mgrs {
    struct msrv srv;
    struct logcap lc;
    struct creds_mgr *m, *m2;
};

static void two_mgrs_start(struct two_mgrs *t, const char *key, char *static_key)
{
    char ep[64];
    imds_start(&t->srv, key, 4, ep);
    memset(&t->lc, 0, sizeof t->lc);
    pthread_mutex_init(&t->lc.mu, NULL);
    struct env e = { { { NULL, NULL } } };
    struct config_cred_provider ch[1] = { { .source = CONFIG_CRED_IMDS, .endpoint = ep } };
    struct config_credentials cc = { .chain = ch, .nchain = 1, .refresh_before_seconds = 300 };
    struct creds_mgr_opts o = test_opts(&e, &t->lc);
    o.refresh_before_s = 2;
    assert_int_equal(creds_mgr_new(&cc, &o, &t->m), CREDS_MGR_OK);
    assert_true(wait_key(t->m, key, 5));
    struct config_cred_provider sch[1] = { { .source = CONFIG_CRED_STATIC,
                                             .access_key_id = static_key,
                                             .secret_access_key = "static-secret" } };
    struct config_credentials scc = { .chain = sch, .nchain = 1, .refresh_before_seconds = 300 };
    t->m2 = mgr_ready(&scc, &o, 3000);
}

static void two_mgrs_stop(struct two_mgrs *t)
{
    creds_mgr_free(t->m2);
    creds_mgr_free(t->m);
    msrv_stop(&t->srv);
    pthread_mutex_destroy(&t->lc.mu);
}

/* What a cache holds for m: its snapshot, or NULL (none held). */
static const struct creds_snapshot *held(const struct creds_cache *c, const struct creds_mgr *m)
{
    for (unsigned i = 0; i < CREDS_CACHE_WAYS; i++)
        if (c->way[i].mgr == m)
            return c->way[i].snap;
    return NULL;
}

/* The monotonic ms past which the cache takes m's snapshot again (-1: no
 * way is m's). */
static int64_t held_until(const struct creds_cache *c, const struct creds_mgr *m)
{
    for (unsigned i = 0; i < CREDS_CACHE_WAYS; i++)
        if (c->way[i].mgr == m)
            return c->way[i].until_ms;
    return -1;
}

/* The cache hands out the snapshot it holds while the manager publishes
 * nothing new, the new one right after a publication (a refresh, a drop
 * at expiry), NULL once none is valid, and holds one per manager. */
static void test_cache_follows_publications(void **state)
{
    (void)state;
    struct two_mgrs tm;
    two_mgrs_start(&tm, "ASIACACHE00000000001", "AKIASTATIC0000000009");
    struct creds_mgr *m = tm.m, *m2 = tm.m2;

    struct creds_cache c = { 0 };
    const struct creds_snapshot *s1 = creds_cache_get(&c, m, mono_ms());
    assert_non_null(s1);
    char k[64];
    assert_string_equal(snap_key(s1, k, sizeof k), "ASIACACHE00000000001");
    assert_ptr_equal(creds_cache_get(&c, m, mono_ms()), s1);
    /* a second manager's beside the first's */
    const struct creds_snapshot *t = creds_cache_get(&c, m2, mono_ms());
    assert_non_null(t);
    assert_string_equal(snap_key(t, k, sizeof k), "AKIASTATIC0000000009");
    assert_ptr_equal(creds_cache_get(&c, m, mono_ms()), s1);
    assert_ptr_equal(creds_cache_get(&c, m2, mono_ms()), t);

    /* a refresh publishes new credentials: the next get has them */
    msrv_state(&tm.srv, "ASIACACHE00000000002", 4, false);
    assert_true(wait_key(m, "ASIACACHE00000000002", 6));
    const struct creds_snapshot *s2 = creds_cache_get(&c, m, mono_ms());
    assert_non_null(s2);
    assert_string_equal(snap_key(s2, k, sizeof k), "ASIACACHE00000000002");

    /* an outage: dropped at expiry, and the cache gives NULL from then on */
    msrv_state(&tm.srv, "ASIACACHE00000000003", 4, true);
    assert_true(wait_key(m, NULL, 8));
    /* and published (the cache's own clock check agrees with acquire's
     * only to the ms: both clocks are read in whole ms) */
    assert_int_equal(wait_count(&tm.lc, "ERROR", 1, 8), 1);
    /* ... and keeps the other manager's: the requests of an outage all
     * find m's one way, none takes another (there are 4 ways) */
    for (int n = 0; n < 2 * CREDS_CACHE_WAYS; n++)
        assert_null(creds_cache_get(&c, m, mono_ms()));
    assert_ptr_equal(held(&c, m2), t);
    assert_ptr_equal(creds_cache_get(&c, m2, mono_ms()), t);

    /* credentials again: the first get after the publication has them */
    msrv_state(&tm.srv, "ASIACACHE00000000004", 60, false);
    assert_true(wait_key(m, "ASIACACHE00000000004", 5));
    /* taken late in a wall-clock second, where whole seconds would count
     * up to a second past the expiry */
    struct timespec w;
    do {
        sleep_ms(10);
        clock_gettime(CLOCK_REALTIME, &w);
    } while (w.tv_nsec < 500 * 1000000L || w.tv_nsec > 900 * 1000000L);
    const struct creds_snapshot *s4 = creds_cache_get(&c, m, mono_ms());
    assert_non_null(s4);
    assert_string_equal(snap_key(s4, k, sizeof k), "ASIACACHE00000000004");
    /* it holds them no longer than their expiry (to the ms, 50 ms slack) */
    clock_gettime(CLOCK_REALTIME, &w);
    int64_t left_ms = s4->expiration * 1000 - ((int64_t)w.tv_sec * 1000 + w.tv_nsec / 1000000);
    assert_true(held_until(&c, m) - mono_ms() <= left_ms + 50);
    /* past its expiry by the caller's clock the cache takes the manager's
     * verdict again (here: still valid by the wall clock) */
    assert_true(s4->expiration > time(NULL) + 30);
    int64_t until = held_until(&c, m);
    assert_true(until > mono_ms() + 30 * 1000);
    const struct creds_snapshot *s4b = creds_cache_get(&c, m, mono_ms() + 120 * 1000);
    assert_non_null(s4b);
    assert_string_equal(snap_key(s4b, k, sizeof k), "ASIACACHE00000000004");
    /* it was taken again: its expiry counts from the later clock */
    assert_true(held_until(&c, m) > until + 100 * 1000);

    creds_cache_clear(&c);
    two_mgrs_stop(&tm);
}

/* creds_mgr_on_publish's hook in a test: counts the calls. */
struct pubcount {
    pthread_mutex_t mu;
    int n;
    struct creds_mgr *m;
};

static void count_publication(void *ud)
{
    struct pubcount *p = ud;
    /* the manager's lock must not be held while the hook runs (it wakes
     * workers): get_status takes it, and would never return if it were */
    struct creds_mgr_status st;
    creds_mgr_get_status(p->m, &st);
    pthread_mutex_lock(&p->mu);
    p->n++;
    pthread_mutex_unlock(&p->mu);
}

static int publications_seen(struct pubcount *p)
{
    pthread_mutex_lock(&p->mu);
    int n = p->n;
    pthread_mutex_unlock(&p->mu);
    return n;
}

static bool published_past(struct pubcount *p, int n0, double timeout_s)
{
    double end = now_s() + timeout_s;
    while (publications_seen(p) <= n0 && now_s() < end)
        usleep(20 * 1000);
    return publications_seen(p) > n0;
}

/* An idle worker lets replaced credentials go when the manager's hook
 * wakes it: creds_cache_sweep releases what the manager replaced or
 * dropped, and keeps what it still serves. */
static void test_sweep_lets_replaced_go(void **state)
{
    (void)state;
    struct two_mgrs tm;
    two_mgrs_start(&tm, "ASIASWEEP00000000001", "AKIASTATIC0000000008");
    struct creds_mgr *m = tm.m, *m2 = tm.m2;
    struct pubcount pc = { .mu = PTHREAD_MUTEX_INITIALIZER, .m = m };
    creds_mgr_on_publish(m, count_publication, &pc);

    struct creds_cache c = { 0 };
    const struct creds_snapshot *s1 = creds_cache_get(&c, m, mono_ms());
    const struct creds_snapshot *t = creds_cache_get(&c, m2, mono_ms());
    assert_non_null(s1);
    assert_non_null(t);
    /* nothing published since: both stay */
    creds_cache_sweep(&c);
    assert_ptr_equal(held(&c, m), s1);
    assert_ptr_equal(held(&c, m2), t);

    /* a refresh: the hook runs, and the sweep lets the old one go */
    int n0 = publications_seen(&pc);
    msrv_state(&tm.srv, "ASIASWEEP00000000002", 4, false);
    assert_true(wait_key(m, "ASIASWEEP00000000002", 6));
    assert_true(published_past(&pc, n0, 2));
    creds_cache_sweep(&c);
    assert_null(held(&c, m));
    assert_ptr_equal(held(&c, m2), t); /* the other manager's stays */
    char k[64];
    const struct creds_snapshot *s2 = creds_cache_get(&c, m, mono_ms());
    assert_non_null(s2);
    assert_string_equal(snap_key(s2, k, sizeof k), "ASIASWEEP00000000002");
    creds_cache_sweep(&c);
    assert_ptr_equal(held(&c, m), s2);

    /* the hook removed: an outage drops the credentials at expiry without
     * calling it; the sweep still lets them go */
    creds_mgr_on_publish(m, NULL, NULL);
    int n1 = publications_seen(&pc);
    msrv_state(&tm.srv, "ASIASWEEP00000000003", 4, true);
    assert_true(wait_key(m, NULL, 8));
    /* acquire refuses them by the clock; the drop is published when the
     * refresh thread wakes (late under load, or after a fetch in flight),
     * and it logs the outage right after */
    assert_int_equal(wait_count(&tm.lc, "ERROR", 1, 8), 1);
    assert_int_equal(publications_seen(&pc), n1);
    creds_cache_sweep(&c);
    assert_null(held(&c, m));
    assert_ptr_equal(held(&c, m2), t);

    creds_cache_clear(&c);
    two_mgrs_stop(&tm);
}

/* ---- container endpoint -------------------------------------------------- */

static void test_ecs_auth_outage_recovery(void **state)
{
    (void)state;
    struct msrv srv;
    memset(&srv, 0, sizeof srv);
    msrv_start(&srv, "ecs", "Bearer s3w-container-token");
    /* 6 s: refreshed at half their life (3 s), a fetch from the server
     * gone silent fails (at the latest by its 1.5 s timeout) before they
     * expire, so the outage's ERROR names that failure (with 3 s, under
     * load, the expiry could come first: "no attempt finished yet") */
    msrv_state(&srv, "ASIAECS0000000000001", 6, false);
    char url[128], tokf[400];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v2/credentials/test", srv.port);
    snprintf(tokf, sizeof tokf, "%s/ecs-token", tmpdir);
    write_file(tokf, "Bearer s3w-container-token\n");
    struct logcap lc = { .mu = PTHREAD_MUTEX_INITIALIZER };
    /* the token FILE wins over the token variable (as in the SDKs) */
    struct env e = { { { "AWS_CONTAINER_CREDENTIALS_FULL_URI", url },
                       { "AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrong" },
                       { "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tokf } } };
    struct config_cred_provider ch[1] = { { .source = CONFIG_CRED_ECS } };
    struct config_credentials cc = { .chain = ch, .nchain = 1, .refresh_before_seconds = 300 };
    struct creds_mgr_opts o = test_opts(&e, &lc);
    o.timeout_ms = 1500;
    o.refresh_before_s = 6; /* at half their life (creds_refresh_at), not 1 s before */
    struct creds_mgr *m;
    assert_int_equal(creds_mgr_new(&cc, &o, &m), CREDS_MGR_OK);
    assert_true(wait_key(m, "ASIAECS0000000000001", 5));
    const struct creds_snapshot *s = creds_mgr_acquire(m);
    assert_true(s3w_slice_eq_cstr(s->sigv4.session_token, "token-ASIAECS0000000000001"));
    assert_string_equal(s->provider, "ecs");
    int64_t exp1 = s->expiration;
    creds_snapshot_release(s);

    /* outage: the server answers nothing; the old ones serve until expiry */
    msrv_down(&srv);
    assert_true(wait_key(m, NULL, 10));
    assert_true(time(NULL) >= exp1 - 1);
    assert_int_equal(wait_count(&lc, "ERROR", 1, 5), 1);
    if (!strstr(lc.first_error, "ecs: GET http://127.0.0.1:"))
        fail_msg("the outage's ERROR does not name the failed fetch: %s\nlog:\n%s", lc.first_error,
                 lc.all);
    /* recovery */
    msrv_state(&srv, "ASIAECS0000000000002", 30, false);
    assert_true(wait_key(m, "ASIAECS0000000000002", 5));
    assert_int_equal(cap_count(&lc, "ERROR"), 1);

    /* a hung endpoint never blocks acquire(): while the refresh thread sits
     * in a fetch (timeout 1.5 s), workers still get the current snapshot at
     * once; the fetch then fails with curl's timeout */
    struct creds_mgr_status st;
    creds_mgr_get_status(m, &st);
    uint64_t attempts0 = st.attempts;
    msrv_state_x(&srv, "ASIAECS0000000000003", 30, false, 5, false);
    creds_mgr_refresh_now(m);
    sleep_ms(200); /* the fetch is now in flight */
    double worst = 0;
    for (int i = 0; i < 200; i++) {
        double t = now_s();
        s = creds_mgr_acquire(m);
        t = now_s() - t;
        assert_non_null(s);
        assert_true(s3w_slice_eq_cstr(s->sigv4.access_key_id, "ASIAECS0000000000002"));
        creds_snapshot_release(s);
        if (t > worst)
            worst = t;
        sleep_ms(1);
    }
    /* a blocked acquire would take the fetch's 1.5 s; allow for a loaded CI
     * host descheduling the test thread */
    print_message("acquire worst case while a fetch hangs: %.1f us\n", worst * 1e6);
    assert_true(worst < 0.25);
    creds_mgr_get_status(m, &st);
    assert_int_equal(st.attempts, attempts0); /* still in flight: nothing finished */
    double t0 = now_s();
    while (st.attempts == attempts0 && now_s() - t0 < 5) {
        sleep_ms(20);
        creds_mgr_get_status(m, &st);
    }
    assert_true(st.valid); /* the old ones still serve */
    assert_non_null(strstr(st.reason, "ecs: GET http://127.0.0.1:"));
    assert_non_null(strstr(st.reason, ": Operation timed out after "));
    assert_int_equal(cap_count(&lc, "WARN"), 2); /* one per outage: no answer, the hang */

    /* a body over the cap is refused, not buffered */
    msrv_state_x(&srv, "ASIAECS0000000000004", 30, false, 0, true);
    attempts0 = st.attempts;
    creds_mgr_refresh_now(m);
    t0 = now_s();
    while (st.attempts == attempts0 && now_s() - t0 < 5) {
        sleep_ms(20);
        creds_mgr_get_status(m, &st);
    }
    char want[300];
    snprintf(want, sizeof want, "ecs: GET %s: response larger than 65536 bytes", url);
    assert_string_equal(st.reason, want);

    creds_mgr_free(m);

    /* freeing the manager aborts a fetch in flight (libcurl's progress
     * callback runs at least once a second) instead of waiting out a 10 s
     * timeout against a 5 s hang */
    msrv_state_x(&srv, "ASIAECS0000000000005", 30, false, 5, false);
    o.timeout_ms = 10000;
    assert_int_equal(creds_mgr_new(&cc, &o, &m), CREDS_MGR_OK);
    sleep_ms(300); /* the first fetch is hanging now */
    t0 = now_s();
    creds_mgr_free(m);
    double took = now_s() - t0;
    print_message("creds_mgr_free with a fetch in flight: %.3f s\n", took);
    assert_true(took < 2.5);

    /* a wrong token: the endpoint's 403 is the reason */
    struct env e2 = { { { "AWS_CONTAINER_CREDENTIALS_FULL_URI", url },
                        { "AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer wrong" } } };
    o = test_opts(&e2, &lc);
    msrv_state(&srv, "ASIAECS0000000000006", 30, false);
    snprintf(want, sizeof want, "ecs: container endpoint %s answered HTTP 403", url);
    expect_reason(&cc, &o, 500, want);

    /* a plain-http FULL_URI off the host is refused before any request */
    struct env e3 = { { { "AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://10.1.2.3/creds" },
                        { "AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer t" } } };
    o = test_opts(&e3, &lc);
    expect_reason(&cc, &o, 200, "ecs: AWS_CONTAINER_CREDENTIALS_FULL_URI must be https or a "
                  "loopback / ECS / EKS agent address");
    assert_null(strstr(lc.all, "s3w-container-token"));
    msrv_stop(&srv);
}

/* ---- STS through moto ------------------------------------------------------ */

static void test_assume_role_moto(void **state)
{
    (void)state;
    if (!moto_wait())
        TU_SKIP("moto_server did not start");
    struct logcap lc = { .mu = PTHREAD_MUTEX_INITIALIZER };
    struct env e = { { { NULL, NULL } } };
    struct config_cred_provider ch[1] = { { .source = CONFIG_CRED_STATIC,
                                            .access_key_id = motos[0].akid,
                                            .secret_access_key = motos[0].secret } };
    struct config_credentials cc = {
        .chain = ch, .nchain = 1, .refresh_before_seconds = 300,
        .assume_role = { .enabled = true, .role_arn = motos[0].role_arn, .session_name = "cf-test",
                         .external_id = "ext-1", .duration_seconds = 900,
                         .sts_endpoint = motos[0].endpoint },
    };
    struct creds_mgr_opts o = test_opts(&e, &lc);
    struct creds_mgr *m = mgr_ready(&cc, &o, 10000);
    const struct creds_snapshot *s = creds_mgr_acquire(m);
    assert_non_null(s);
    assert_true(s3w_slice_starts_with(s->sigv4.access_key_id, S3W_SLICE_LIT("ASIA")));
    assert_false(s3w_slice_eq_cstr(s->sigv4.access_key_id, motos[0].akid));
    assert_true(s->sigv4.session_token.len > 0);
    assert_string_equal(s->provider, "assume_role(static)");
    assert_expires_in(s, 800, 900); /* DurationSeconds honoured */
    creds_snapshot_release(s);

    /* reload with the same chain: nothing happens */
    assert_int_equal(creds_mgr_reconfigure(m, &cc, &o), 0);
    /* reload with a wrong secret: moto refuses the signature; the old
     * credentials are dropped (fail closed) with one exact-cause ERROR */
    ch[0].secret_access_key = "not-the-secret-moto-issued-00000000000000";
    assert_int_equal(creds_mgr_reconfigure(m, &cc, &o), 1);
    assert_true(wait_key(m, NULL, 10));
    struct creds_mgr_status st;
    creds_mgr_get_status(m, &st);
    char want[600];
    /* (STS's message is cut at 160 characters by creds_parse_sts_xml) */
    snprintf(want, sizeof want,
             "AssumeRole %s: SignatureDoesNotMatch: The request signature we calculated does "
             "not match the signature you provided.", motos[0].role_arn);
    assert_memory_equal(st.reason, want, strlen(want));
    const char *tail = " (base credentials from static)";
    assert_true(strlen(st.reason) > strlen(tail));
    assert_string_equal(st.reason + strlen(st.reason) - strlen(tail), tail);
    assert_int_equal(cap_count(&lc, "ERROR"), 1);
    assert_non_null(strstr(lc.first_error, "the reloaded credentials chain yields none"));
    creds_mgr_free(m);
    assert_null(strstr(lc.all, motos[0].secret));
}

static void test_profile_role_moto(void **state)
{
    (void)state;
    if (!moto_wait())
        TU_SKIP("moto_server did not start");
    char cred[400], conf[400], text[1024];
    snprintf(cred, sizeof cred, "%s/credentials-role", tmpdir);
    snprintf(conf, sizeof conf, "%s/config-role", tmpdir);
    snprintf(text, sizeof text, "[base]\naws_access_key_id = %s\naws_secret_access_key = %s\n",
             motos[0].akid, motos[0].secret);
    write_file(cred, text);
    snprintf(text, sizeof text,
             "[profile upstream]\nrole_arn = %s\nsource_profile = base\n"
             "role_session_name = cf-profile\nduration_seconds = 1200\nregion = us-east-1\n",
             motos[0].role_arn);
    write_file(conf, text);
    struct logcap lc = { .mu = PTHREAD_MUTEX_INITIALIZER };
    struct env e = { { { "AWS_ENDPOINT_URL_STS", motos[0].endpoint } } };
    struct config_cred_provider ch[1] = { { .source = CONFIG_CRED_PROFILE, .profile = "upstream",
                                            .credentials_file = cred, .config_file = conf } };
    struct config_credentials cc = { .chain = ch, .nchain = 1, .refresh_before_seconds = 300 };
    struct creds_mgr_opts o = test_opts(&e, &lc);
    struct creds_mgr *m = mgr_ready(&cc, &o, 10000);
    const struct creds_snapshot *s = creds_mgr_acquire(m);
    assert_non_null(s);
    assert_true(s3w_slice_starts_with(s->sigv4.access_key_id, S3W_SLICE_LIT("ASIA")));
    assert_string_equal(s->provider, "profile:upstream");
    assert_expires_in(s, 1100, 1200);
    creds_snapshot_release(s);
    creds_mgr_free(m);

    /* role_arn with no way to get base credentials: exact reason */
    snprintf(text, sizeof text, "[profile upstream]\nrole_arn = %s\n", motos[0].role_arn);
    write_file(conf, text);
    expect_reason(&cc, &o, 300, "profile:upstream: profile upstream has role_arn but no "
                  "source_profile, credential_source (Environment | "
                  "Ec2InstanceMetadata | EcsContainer) or "
                  "web_identity_token_file");
}

static void test_web_identity_moto(void **state)
{
    (void)state;
    if (!moto_wait_one(&motos[1]))
        TU_SKIP("moto_server did not start");
    const char *role_arn = "arn:aws:iam::123456789012:role/s3w-web";
    char tokf[400];
    snprintf(tokf, sizeof tokf, "%s/web-token", tmpdir);
    write_file(tokf, "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzM3dhcmRlbiJ9.c2lnbmF0dXJl\n");
    struct logcap lc = { .mu = PTHREAD_MUTEX_INITIALIZER };
    struct env e = { { { NULL, NULL } } };
    struct config_cred_provider ch[2] = {
        { .source = CONFIG_CRED_ENV },
        { .source = CONFIG_CRED_WEB_IDENTITY, .token_file = tokf, .role_arn = (char *)role_arn,
          .session_name = "cf-web", .sts_endpoint = motos[1].endpoint },
    };
    struct config_credentials cc = { .chain = ch, .nchain = 2, .refresh_before_seconds = 300 };
    struct creds_mgr_opts o = test_opts(&e, &lc);
    struct creds_mgr *m;
    assert_int_equal(creds_mgr_new(&cc, &o, &m), CREDS_MGR_OK);
    if (!creds_mgr_wait(m, 10000)) {
        struct creds_mgr_status st;
        creds_mgr_get_status(m, &st);
        print_error("no credentials: %s\n", st.reason);
        fail();
    }
    const struct creds_snapshot *s = creds_mgr_acquire(m);
    assert_non_null(s);
    assert_true(s3w_slice_starts_with(s->sigv4.access_key_id, S3W_SLICE_LIT("ASIA")));
    assert_true(s->sigv4.session_token.len > 0);
    assert_string_equal(s->provider, "web_identity");
    assert_true(s->expiration > time(NULL) + 60);
    creds_snapshot_release(s);
    creds_mgr_free(m);

    /* the token file missing: exact reason (the env provider's first) */
    char gone[420], want[1200];
    snprintf(gone, sizeof gone, "%s/no-such-token", tmpdir);
    ch[1].token_file = gone;
    snprintf(want, sizeof want,
             "env: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set; web_identity: %s "
             "does not exist", gone);
    expect_reason(&cc, &o, 300, want);
}

/* assume_role on top of another base provider (IMDS here), and a profile
 * whose base is credential_source = Ec2InstanceMetadata; STS is the
 * auth-off moto (the IMDS keys are not moto's; the auth-on test above
 * proves the signature). */
static void test_assume_role_over_imds_moto(void **state)
{
    (void)state;
    if (!moto_wait_one(&motos[1]))
        TU_SKIP("moto_server did not start");
    struct msrv srv;
    char ep[64];
    imds_start(&srv, "ASIAIMDSBASE00000001", 3600, ep);
    struct logcap lc = { .mu = PTHREAD_MUTEX_INITIALIZER };
    struct env e = { { { NULL, NULL } } };
    struct config_cred_provider ch[1] = { { .source = CONFIG_CRED_IMDS, .endpoint = ep } };
    struct config_credentials cc = {
        .chain = ch, .nchain = 1, .refresh_before_seconds = 300,
        .assume_role = { .enabled = true, .role_arn = "arn:aws:iam::123456789012:role/s3w-up",
                         .session_name = "cf-imds", .duration_seconds = 1800,
                         .sts_endpoint = motos[1].endpoint },
    };
    struct creds_mgr_opts o = test_opts(&e, &lc);
    struct creds_mgr *m = mgr_ready(&cc, &o, 10000);
    const struct creds_snapshot *s = creds_mgr_acquire(m);
    assert_non_null(s);
    assert_true(s3w_slice_starts_with(s->sigv4.access_key_id, S3W_SLICE_LIT("ASIA")));
    assert_false(s3w_slice_eq_cstr(s->sigv4.access_key_id, "ASIAIMDSBASE00000001"));
    assert_string_equal(s->provider, "assume_role(imds)");
    assert_expires_in(s, 1700, 1800);
    creds_snapshot_release(s);
    creds_mgr_free(m);

    char conf[400];
    snprintf(conf, sizeof conf, "%s/config-imds", tmpdir);
    write_file(conf, "[profile ci]\nrole_arn = arn:aws:iam::123456789012:role/s3w-ci\n"
                     "credential_source = Ec2InstanceMetadata\n");
    char cred[420];
    snprintf(cred, sizeof cred, "%s/no-credentials-file", tmpdir);
    struct env e2 = { { { "AWS_EC2_METADATA_SERVICE_ENDPOINT", ep },
                        { "AWS_ENDPOINT_URL_STS", motos[1].endpoint } } };
    struct config_cred_provider pch[1] = { { .source = CONFIG_CRED_PROFILE, .profile = "ci",
                                             .credentials_file = cred, .config_file = conf } };
    struct config_credentials pcc = { .chain = pch, .nchain = 1, .refresh_before_seconds = 300 };
    o = test_opts(&e2, &lc);
    m = mgr_ready(&pcc, &o, 10000);
    s = creds_mgr_acquire(m);
    assert_non_null(s);
    assert_true(s3w_slice_starts_with(s->sigv4.access_key_id, S3W_SLICE_LIT("ASIA")));
    assert_false(s3w_slice_eq_cstr(s->sigv4.access_key_id, "ASIAIMDSBASE00000001"));
    assert_string_equal(s->provider, "profile:ci");
    creds_snapshot_release(s);
    creds_mgr_free(m);
    /* both runs went through IMDSv2 token-first */
    char *log = slurp(srv.log);
    const char *seq = "PUT /latest/api/token 200\n"
                      "GET /latest/meta-data/iam/security-credentials/ 200\n"
                      "GET /latest/meta-data/iam/security-credentials/s3w-role 200\n";
    char want[1024];
    snprintf(want, sizeof want, "%s%s", seq, seq);
    assert_string_equal(log, want);
    free(log);
    assert_int_equal(cap_count(&lc, "ERROR"), 0);
    msrv_stop(&srv);
}

/* Runs tests[i] alone in a child process, in a directory of its own under
 * tmpdir (its fake servers' request logs, its files); 0 if it passed. */
static int run_alone(const struct CMUnitTest *tests, size_t n, size_t i)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        size_t l = strlen(tmpdir);
        snprintf(tmpdir + l, sizeof tmpdir - l, "/%s", tests[i].name);
        if (mkdir(tmpdir, 0700) != 0)
            _exit(1);
        cmocka_set_test_filter(tests[i].name);
        /* exit, not _exit: LeakSanitizer checks the test's process */
        exit(_cmocka_run_group_tests(tests[i].name, tests, n, NULL, kill_servers) == 0 ? 0 : 1);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    if (WIFSIGNALED(st))
        fprintf(stderr, "%s: killed by signal %d\n", tests[i].name, WTERMSIG(st));
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_static_env_chain),
        cmocka_unit_test(test_reconfigure),
        cmocka_unit_test(test_profile_files),
        cmocka_unit_test(test_imds_refresh_outage_recovery),
        cmocka_unit_test(test_cache_follows_publications),
        cmocka_unit_test(test_sweep_lets_replaced_go),
        cmocka_unit_test(test_ecs_auth_outage_recovery),
        cmocka_unit_test(test_assume_role_moto),
        cmocka_unit_test(test_profile_role_moto),
        cmocka_unit_test(test_web_identity_moto),
        cmocka_unit_test(test_assume_role_over_imds_moto),
    };
    const size_t n = sizeof tests / sizeof tests[0];
    /* moto starts once, here, so that its start overlaps the first tests */
    if (group_setup(NULL) != 0)
        return 1;
    size_t failed = 0;
    for (size_t i = 0; i < n; i++)
        if (run_alone(tests, n, i) != 0) {
            fprintf(stderr, "FAILED: %s\n", tests[i].name);
            failed++;
        }
    if (group_teardown(NULL) != 0)
        failed++;
    fprintf(stderr, "%zu of %zu tests failed\n", failed, n);
    return failed ? 1 : 0;
}
