/* A presigned URL's session token does not outlive its exchange in the
 * operation mapping's storage (px_recycle, pipeline_worker.c:
 * s3map_result_wipe(&px->authz.map)). s3map_map decodes the query, the
 * X-Amz-Security-Token value among it, into the result's scratch; an ended
 * exchange is kept among the worker's spares for the next request with
 * that storage as it was (px_uncleared), so without the wipe the token
 * would sit there until another request's query happened to cover it.
 *
 * A GetSessionToken session (a token sealed with the config's STS key, as
 * config/sts.c mints them) signs a presigned GET; once it has been answered
 * and its exchange ended, the worker's spare exchanges are searched, on
 * the worker thread (rig_on_worker), for any 8 bytes of the token.
 *
 * The same session's token must not stay in the connection's read buffer
 * or in the parsed copy of the head either once its exchange has ended
 * (px_finish: proxy_conn_wipe_consumed),
 * in the query of a presigned GET (also one refused before its token was
 * read) or of an unsigned GET, or in an x-amz-security-token header:
 * the connection keeps its buffer while the start of a next request waits
 * in it, and the buffer is searched then. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#else
#define ASAN_POISON_MEMORY_REGION(p, n) ((void)(p), (void)(n))
#define ASAN_UNPOISON_MEMORY_REGION(p, n) ((void)(p), (void)(n))
#endif

#include "conn_int.h"
#include "exchange.h"
#include "pipeline_rig.h"
#include "sigv4.h"
#include "sockutil.h"
#include "token.h"

#define AKID "AKIAPXRECYCLETOKEN01"
#define SECRET "pxRecycleTokenSecret/0123456789abcdefghij"
#define STS_KEY "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define WINDOW 8 /* the shortest run of the token's bytes searched for */

static struct config *make_config(void)
{
    return rig_config(&(struct rig_cfg){
        .top = "\"sts\":{\"enabled\":true,\"keys\":[{\"id\":\"a\",\"key\":\"" STS_KEY "\","
               "\"active\":true}]},",
        .akid = AKID,
        .secret = SECRET,
        /* anyone may read public/ (the unsigned request of the read-buffer test) */
        .buckets = "{\"name\":\"bkt\",\"account\":\"111111111111\",\"upstream_name\":\"real-bkt\","
                   "\"policy\":{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
                   "\"Principal\":\"*\",\"Action\":\"s3:GetObject\","
                   "\"Resource\":\"arn:aws:s3:::bkt/public/*\"}]}}",
    });
}

static const struct rig_opts opts = { .make_config = make_config };

/* ---- on the worker thread ------------------------------------------------------ */
struct look {
    const char *token;
    size_t token_len;
    size_t busy;     /* the worker's connections with an exchange */
    size_t nspare;   /* its spare exchanges */
    size_t found;    /* spares whose map holds WINDOW bytes of the token */
    size_t at_spare, at_off; /* the first such: which, and where in the map */
};

/* The first offset in [p, p + n) where WINDOW consecutive bytes of the
 * token stand, or n. */
static size_t token_run_at(const char *p, size_t n, const char *tok, size_t tok_len)
{
    for (size_t i = 0; i + WINDOW <= tok_len; i++) {
        const char *hit = memmem(p, n, tok + i, WINDOW);
        if (hit)
            return (size_t)(hit - p);
    }
    return n;
}

static void look_at_spares(struct proxy_worker *w, void *arg)
{
    struct look *l = arg;
    struct pl_worker *pw = w->handler_state;
    l->busy = 0;
    for (const struct proxy_conn *c = w->conns; c; c = c->next)
        l->busy += c->ex != NULL;
    l->nspare = pw->nspare_px;
    l->found = 0;
    for (size_t i = 0; i < pw->nspare_px; i++) {
        struct s3map_result *m = &pw->spare_px[i]->authz.map;
        /* a spare is poisoned but for its kept buffers (px_recycle) */
        ASAN_UNPOISON_MEMORY_REGION(m, sizeof(*m));
        size_t at = token_run_at((const char *)m, sizeof(*m), l->token, l->token_len);
        ASAN_POISON_MEMORY_REGION(m, sizeof(*m));
        if (at < sizeof(*m) && l->found++ == 0) {
            l->at_spare = i;
            l->at_off = at;
        }
    }
}

/* ---- the test -------------------------------------------------------------------- */
/* A session sealed with the same STS key the proxy's config has: its token
 * in tok, its key pair in akid and secret. */
static void make_session(struct s3w_buf *tok, char akid[TOKEN_AKID_LEN + 1],
                         char secret[TOKEN_SECRET_LEN + 1])
{
    struct config *cfg = make_config();
    assert_non_null(cfg);
    int64_t now = (int64_t)time(NULL);
    struct token_claims c;
    memset(&c, 0, sizeof(c));
    c.issued = now;
    c.expires = now + 900;
    c.role_unique_id = S3W_SLICE_LIT("AIDARIGUSER0000001"); /* the rig's user w */
    c.session_name = S3W_SLICE_LIT(AKID);
    c.caller_arn = S3W_SLICE_LIT("arn:aws:iam::111111111111:user/w");
    s3w_buf_init(tok, TOKEN_MAX_B64);
    assert_int_equal(token_seal(&cfg->sts, &c, tok, akid, secret), TOKEN_OK);
    config_unref(cfg);
    assert_true(tok->len > 64);
}

/* A presigned GET of key carrying the session's token in the query, in
 * target. */
static void presign(struct s3w_buf *target, const char *key, const struct s3w_buf *tok,
                    const char *akid, const char *secret)
{
    struct s3w_header hh[1] = { { S3W_SLICE_LIT("Host"), s3w_slice_cstr(rig_host()) } };
    struct sigv4_sign_params sp = {
        .method = S3W_SLICE_LIT("GET"), .target = s3w_slice_cstr(key),
        .headers = hh, .n_headers = 1, .region = S3W_SLICE_LIT("us-east-1"),
        .service = S3W_SLICE_LIT("s3"), .uri_mode = SIGV4_URI_S3, .now = time(NULL),
    };
    struct sigv4_credentials cr = { s3w_slice_cstr(akid), s3w_slice_cstr(secret),
                                    s3w_buf_slice(tok) };
    s3w_buf_init(target, 16384);
    struct sigv4_error err;
    assert_int_equal(sigv4_presign(&sp, &cr, 300, target, &err), 0);
    assert_non_null(strstr(target->ptr, "X-Amz-Security-Token="));
}

static void test_presigned_token_wiped_from_recycled_map(void **state)
{
    (void)state;
    struct s3w_buf tok, target;
    char akid[TOKEN_AKID_LEN + 1], secret[TOKEN_SECRET_LEN + 1];
    make_session(&tok, akid, secret);

    /* a presigned GET carrying it in the query */
    presign(&target, "/bkt/presigned-obj", &tok, akid, secret);
    static char req[20000], resp[8192];
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", target.ptr,
                     rig_host());
    assert_true(n > 0 && (size_t)n < sizeof(req));
    rig_exchange(req, (size_t)n, NULL, resp, sizeof(resp));
    rig_assert_status(resp, "HTTP/1.1 200 OK\r\n");
    assert_int_equal(rig_upstream_requests(), 1); /* it was mapped and relayed */

    /* answered: once no connection of the worker has an exchange, the
     * exchange has ended, and px_finish recycles it before it tells the
     * connection (exchange.c), or relay.c right after the callback it
     * ended in, either way before the worker runs look_at_spares */
    struct look l = { .token = tok.ptr, .token_len = tok.len };
    for (int i = 0; i < 100; i++) {
        rig_on_worker(look_at_spares, &l);
        if (l.busy == 0)
            break;
        usleep(20 * 1000);
    }
    assert_int_equal(l.busy, 0);
    assert_true(l.nspare >= 1); /* the exchange was kept, not freed */
    size_t scratch = offsetof(struct s3map_result, scratch);
    if (l.found)
        fprintf(stderr, "%zu spare exchange(s) hold the token in their map: spare %zu, "
                        "byte %zu of struct s3map_result (%s %zu)\n", l.found, l.at_spare,
                l.at_off, l.at_off >= scratch ? "scratch byte" : "before scratch, by",
                l.at_off >= scratch ? l.at_off - scratch : scratch - l.at_off);
    assert_int_equal(l.found, 0);

    s3w_wipe(secret, sizeof(secret));
    s3w_buf_cleanup(&target);
    s3w_buf_cleanup(&tok);
}

/* ---- the read buffer ------------------------------------------------------------- */
struct look_in {
    const char *token;
    size_t token_len;
    size_t busy;     /* the worker's connections with an exchange */
    size_t held;     /* its connections holding a read buffer or a head store */
    size_t found;    /* connections whose read buffer holds WINDOW bytes of the token */
    size_t found_parsed; /* connections whose parsed head's store holds them */
};

static void look_at_read_buffers(struct proxy_worker *w, void *arg)
{
    struct look_in *l = arg;
    l->busy = l->held = l->found = l->found_parsed = 0;
    for (const struct proxy_conn *c = w->conns; c; c = c->next) {
        l->busy += c->ex != NULL;
        l->held += c->bufs || c->req.arena;
        if (c->bufs)
            l->found += token_run_at(c->in, PROXY_IN_CAP, l->token, l->token_len) < PROXY_IN_CAP;
        if (c->req.arena)
            l->found_parsed += token_run_at(c->req.arena, HTTP_MAX_HEAD, l->token,
                                            l->token_len) < HTTP_MAX_HEAD;
    }
}

/* Sends head, answered `status` (a status line), with the start of a
 * next request behind it in the same write; once the exchange has ended,
 * the connection (holding the head store, and whatever read buffer, for
 * that start) must hold no WINDOW bytes of the token. */
static void expect_token_gone(const char *head, size_t len, const struct s3w_buf *tok,
                              const char *status)
{
    static char req[24000], resp[8192];
    static const char next[] = "GET /bkt/next HTTP/1.1\r\nHo";
    assert_true(len + sizeof(next) <= sizeof(req));
    memcpy(req, head, len);
    memcpy(req + len, next, sizeof(next) - 1);
    int fd = su_connect(rig_port());
    assert_true(fd >= 0);
    su_send(fd, req, len + sizeof(next) - 1);
    bool closed;
    su_read(fd, resp, sizeof(resp), "\r\n\r\n", 1, 5000, &closed);
    rig_assert_status(resp, status);
    struct look_in l = { .token = tok->ptr, .token_len = tok->len };
    for (int i = 0; i < 100; i++) {
        rig_on_worker(look_at_read_buffers, &l);
        if (l.busy == 0)
            break;
        usleep(20 * 1000);
    }
    assert_int_equal(l.busy, 0);
    assert_true(l.held >= 1); /* ours: the next request's start keeps the store */
    if (l.found)
        fprintf(stderr, "the token is still in the connection's read buffer\n");
    if (l.found_parsed)
        fprintf(stderr, "the token is still in the parsed head's store\n");
    assert_int_equal(l.found, 0);
    assert_int_equal(l.found_parsed, 0);
    close(fd);
}

static void test_token_wiped_from_read_buffer(void **state)
{
    (void)state;
    struct s3w_buf tok, target;
    char akid[TOKEN_AKID_LEN + 1], secret[TOKEN_SECRET_LEN + 1];
    make_session(&tok, akid, secret);
    static char head[24000];

    /* in a presigned URL's query */
    presign(&target, "/bkt/in-query", &tok, akid, secret);
    int n = snprintf(head, sizeof(head), "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", target.ptr,
                     rig_host());
    assert_true(n > 0 && (size_t)n < sizeof(head));
    expect_token_gone(head, (size_t)n, &tok, "HTTP/1.1 200 OK\r\n");
    s3w_buf_cleanup(&target);

    /* in an x-amz-security-token header, signed */
    struct s3w_header hh[1] = { { S3W_SLICE_LIT("Host"), s3w_slice_cstr(rig_host()) } };
    struct sigv4_sign_params sp = {
        .method = S3W_SLICE_LIT("GET"), .target = S3W_SLICE_LIT("/bkt/in-header"),
        .headers = hh, .n_headers = 1, .region = S3W_SLICE_LIT("us-east-1"),
        .service = S3W_SLICE_LIT("s3"), .uri_mode = SIGV4_URI_S3, .now = time(NULL),
        .payload = S3W_SLICE_LIT("UNSIGNED-PAYLOAD"),
    };
    /* the signer signs the token's header too (sigv4.h) */
    struct sigv4_credentials cr = { s3w_slice_cstr(akid), s3w_slice_cstr(secret),
                                    s3w_buf_slice(&tok) };
    struct sigv4_signed sd;
    struct sigv4_error err;
    if (sigv4_sign_headers(&sp, &cr, &sd, &err) != 0)
        fail_msg("signing: %s", err.message);
    n = snprintf(head, sizeof(head),
                 "GET /bkt/in-header HTTP/1.1\r\nHost: %s\r\nx-amz-security-token: %s\r\n"
                 "Authorization: %.*s\r\nx-amz-date: %s\r\n"
                 "x-amz-content-sha256: UNSIGNED-PAYLOAD\r\n\r\n",
                 rig_host(), tok.ptr, (int)sd.authorization_len, sd.authorization, sd.amz_date);
    assert_true(n > 0 && (size_t)n < sizeof(head));
    sigv4_signed_cleanup(&sd);
    expect_token_gone(head, (size_t)n, &tok, "HTTP/1.1 200 OK\r\n");

    /* in a header of a request refused before its signature is checked
     * (sigv4 never read the token): the header alone says to wipe */
    n = snprintf(head, sizeof(head),
                 "GET /bkt/refused HTTP/1.1\r\nHost: %s\r\nx-amz-security-token: %s\r\n"
                 "Authorization: AWS4-HMAC-SHA256 nonsense\r\n\r\n", rig_host(), tok.ptr);
    assert_true(n > 0 && (size_t)n < sizeof(head));
    expect_token_gone(head, (size_t)n, &tok, "HTTP/1.1 400 Bad Request\r\n");

    /* in the query of a presigned URL refused before sigv4 reached its
     * token (the credential before it is malformed): a refusal with a
     * query says to wipe */
    n = snprintf(head, sizeof(head),
                 "GET /bkt/bad-presign?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=nonsense"
                 "&X-Amz-Security-Token=%s&X-Amz-Date=20261205T000000Z&X-Amz-Expires=300"
                 "&X-Amz-SignedHeaders=host&X-Amz-Signature=%064d HTTP/1.1\r\nHost: %s\r\n\r\n",
                 tok.ptr, 0, rig_host());
    assert_true(n > 0 && (size_t)n < sizeof(head));
    expect_token_gone(head, (size_t)n, &tok, "HTTP/1.1 400 Bad Request\r\n");

    /* in the query of an unsigned request that is answered (no
     * X-Amz-Algorithm: anonymous, so sigv4 never reads the token; the
     * bucket policy lets anyone read public/): any query says to wipe */
    n = snprintf(head, sizeof(head), "GET /bkt/public/k?X-Amz-Security-Token=%s HTTP/1.1\r\n"
                 "Host: %s\r\n\r\n", tok.ptr, rig_host());
    assert_true(n > 0 && (size_t)n < sizeof(head));
    expect_token_gone(head, (size_t)n, &tok, "HTTP/1.1 200 OK\r\n");

    s3w_wipe(secret, sizeof(secret));
    s3w_buf_cleanup(&tok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_presigned_token_wiped_from_recycled_map),
        cmocka_unit_test(test_token_wiped_from_read_buffer),
    };
    return rig_run_group(tests, &opts);
}
