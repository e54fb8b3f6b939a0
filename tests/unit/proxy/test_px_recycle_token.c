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
 * the worker thread (rig_on_worker), for any 8 bytes of the token. */
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
static void test_presigned_token_wiped_from_recycled_map(void **state)
{
    (void)state;
    /* the session, sealed with the same STS key the proxy's config has */
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
    struct s3w_buf tok;
    s3w_buf_init(&tok, TOKEN_MAX_B64);
    char akid[TOKEN_AKID_LEN + 1], secret[TOKEN_SECRET_LEN + 1];
    assert_int_equal(token_seal(&cfg->sts, &c, &tok, akid, secret), TOKEN_OK);
    config_unref(cfg);
    assert_true(tok.len > 64);

    /* a presigned GET carrying it in the query */
    struct s3w_header hh[1] = { { S3W_SLICE_LIT("Host"), s3w_slice_cstr(rig_host()) } };
    struct sigv4_sign_params sp = {
        .method = S3W_SLICE_LIT("GET"), .target = S3W_SLICE_LIT("/bkt/presigned-obj"),
        .headers = hh, .n_headers = 1, .region = S3W_SLICE_LIT("us-east-1"),
        .service = S3W_SLICE_LIT("s3"), .uri_mode = SIGV4_URI_S3, .now = time(NULL),
    };
    struct sigv4_credentials cr = { s3w_slice_cstr(akid), s3w_slice_cstr(secret),
                                    s3w_buf_slice(&tok) };
    struct s3w_buf target;
    s3w_buf_init(&target, 16384);
    struct sigv4_error err;
    assert_int_equal(sigv4_presign(&sp, &cr, 300, &target, &err), 0);
    assert_non_null(strstr(target.ptr, "X-Amz-Security-Token="));
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_presigned_token_wiped_from_recycled_map),
    };
    return rig_run_group(tests, &opts);
}
