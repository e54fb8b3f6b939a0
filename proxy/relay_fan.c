/* relay_fan.c - ListBuckets toward several upstreams at once.
 *
 * S3's ListBuckets lists the caller's buckets; through s3warden they may
 * live on several stores. Each upstream that holds a bucket of the
 * caller's account is asked at the same time, with the proxy's
 * credentials toward it, GET / with no query (as relay.c asks one:
 * listbuckets.h). The answers are collected whole (each at most
 * LISTBUCKETS_MAX_BODY), filtered and merged (local_ops.c). A partial list
 * would look like buckets had vanished, so one upstream failing (no
 * answer, a non-200 answer, an answer too big) fails the whole request with
 * 503 ServiceUnavailable, the upstream named in the log. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "creds_fetch.h"
#include "exchange.h"
#include "listbuckets.h"
#include "log.h"
#include "s3err.h"
#include "upstream_state.h"

struct fan_sub {
    struct px_fan *fan;
    const struct config_upstream *up;
    struct ub_request req;
    struct s3w_buf head; /* holds the proxy's session token: cleanup wipes it */
    struct s3w_buf body;
    struct h1c_req hr;
    int status;
    int err;
    bool active, over;
};

struct px_fan {
    struct px *px;
    size_t n, pending;
    struct fan_sub sub[PX_FAN_MAX];
};

static void fan_free(struct px_fan *f)
{
    for (size_t i = 0; i < f->n; i++) {
        struct fan_sub *s = &f->sub[i];
        if (s->active)
            h1c_abort(&s->hr);
        ub_request_cleanup(&s->req);
        s3w_buf_cleanup(&s->head);
        s3w_buf_cleanup(&s->body);
    }
    free(f);
}

void px_fan_abort(struct px *px)
{
    if (px->up.fan) {
        fan_free(px->up.fan);
        px->up.fan = NULL;
    }
}

/* Every answer is in: one 503 naming the first upstream that failed, or
 * the merged list. */
static void fan_finish(struct px_fan *f)
{
    struct px *px = f->px;
    const struct config_upstream *ups[PX_FAN_MAX];
    struct s3w_slice bodies[PX_FAN_MAX];
    for (size_t i = 0; i < f->n; i++) {
        struct fan_sub *s = &f->sub[i];
        if (s->err || s->status != 200 || s->over) {
            char why[160];
            if (s->err)
                snprintf(why, sizeof(why), "%s%s%s", h1c_strerror(s->err),
                         s->hr.detail[0] ? ": " : "", s->hr.detail);
            else if (s->over)
                snprintf(why, sizeof(why), "an answer over %u bytes", LISTBUCKETS_MAX_BODY);
            else
                snprintf(why, sizeof(why), "HTTP %d", s->status);
            proxy_log("WARN", "request_id=%s ListBuckets: upstream %s (%.*s): %s; answering 503",
                      px->reqid, s->up->name, (int)s->req.authority_len, s->req.authority, why);
            px_fan_abort(px);
            px_fail(px, 503, "ServiceUnavailable",
                    "One of the stores behind s3warden did not answer; retry the request.");
            return;
        }
        ups[i] = s->up;
        bodies[i] = s3w_buf_slice(&s->body);
    }
    /* answering may end px (and px_relay_abort with it): f is detached
     * first, and freed once the answer, which points into it, is written */
    px->up.fan = NULL;
    px_finish_list_buckets_of(px, ups, bodies, f->n);
    fan_free(f);
}

static int fan_on_head(struct h1c_req *hr, int status, const struct s3w_header *h, size_t n)
{
    (void)h;
    (void)n;
    struct fan_sub *s = hr->ud;
    s->status = status;
    ups_answered(ups_find(shared(s->fan->px->w)->ups, s->up->name)); /* /readyz */
    return 0;
}

static int fan_on_body(struct h1c_req *hr, const char *p, size_t n)
{
    struct fan_sub *s = hr->ud;
    if (!s->over && s3w_buf_append(&s->body, p, n) != 0)
        s->over = true; /* read to its end, then refused */
    return 0;
}

static void fan_on_drain(struct h1c_req *hr)
{
    (void)hr; /* no body goes up */
}

static void fan_on_done(struct h1c_req *hr, int err)
{
    struct fan_sub *s = hr->ud;
    struct px_fan *f = s->fan;
    s->active = false;
    s->err = err;
    if (--f->pending == 0)
        fan_finish(f); /* may free f and px */
}

static const struct h1c_callbacks FAN_CB = { fan_on_head, fan_on_body, fan_on_drain, fan_on_done };

/* Builds, signs and starts one upstream's request. false after answering
 * (the caller frees the fan-out). */
static bool fan_start_one(struct px *px, struct fan_sub *s, struct s3w_slice payload_hash)
{
    struct sigv4_credentials cr;
    if (!px_upstream_creds_for(px, s->up, &cr))
        return false;
    struct ub_target_in t = {
        .endpoint = s->up->endpoint,
        .virtual_addressing = s->up->addressing == CONFIG_ADDRESSING_VIRTUAL,
    };
    struct ub_header_rules rules = { .sv = &px->auth.sv };
    struct sigv4_signed sd;
    memset(&sd, 0, sizeof(sd));
    int rc = ub_build_target(&s->req, &t);
    rc = rc ? rc : ub_build_headers(&s->req, &rules, NULL, 0, S3W_SLICE_NULL);
    rc = rc ? rc
            : ub_sign(&s->req, S3W_SLICE_LIT("GET"), &cr, s3w_slice_cstr(s->up->region), px->now,
                      payload_hash, &plw(px->w)->up_kc, &plw(px->w)->canon, &sd);
    rc = rc ? rc : relay_build_head(&s->head, S3W_SLICE_LIT("GET"), &s->req, &sd, false, 0);
    sigv4_signed_cleanup(&sd);
    if (rc != 0) {
        px_fail_internal(px);
        return false;
    }
    const char *why = NULL;
    struct h1c_pool *pool = up_pool(px->w, s->up, s3w_buf_slice(&s->req.url), &why);
    if (!pool) {
        proxy_log("ERROR", "request_id=%s upstream %s: %s", px->reqid, s->up->name, why);
        px_fail(px, 502, "BadGateway", s3err_default_message("BadGateway"));
        return false;
    }
    s->hr.cb = &FAN_CB;
    s->hr.ud = s;
    s->hr.head = s3w_buf_slice(&s->head);
    s->hr.body_len = 0;
    rc = h1c_start(pool, &s->hr);
    if (rc != 0) {
        proxy_log("WARN", "request_id=%s ListBuckets: upstream %s: %s", px->reqid, s->up->name,
                  h1c_strerror(rc));
        px_fail_upstream(px, rc);
        return false;
    }
    s->active = true;
    return true;
}

int px_list_buckets_fan(struct px *px, const struct config_upstream *const *ups, size_t n,
                        struct s3w_slice payload_hash)
{
    if (n == 0 || n > PX_FAN_MAX) {
        proxy_log("ERROR", "request_id=%s ListBuckets across %zu upstreams: at most %d", px->reqid,
                  n, PX_FAN_MAX);
        px_fail(px, 501, "NotImplemented",
                "ListBuckets across this many upstreams is not supported by s3warden.");
        return -1;
    }
    if (!px->up.ident_held && !px_take_upstream_slot(px))
        return -1;
    struct px_fan *f = calloc(1, sizeof(*f));
    if (!f) {
        px_fail_internal(px);
        return -1;
    }
    f->px = px;
    f->pending = n; /* h1c_start reports its failures by return, never by on_done */
    px->up.fan = f;
    for (size_t i = 0; i < n; i++) {
        struct fan_sub *s = &f->sub[i];
        s->fan = f;
        s->up = ups[i];
        ub_request_init(&s->req);
        s3w_buf_init(&s->head, 64 * 1024);
        s3w_buf_init(&s->body, LISTBUCKETS_MAX_BODY);
        f->n = i + 1;
        if (!fan_start_one(px, s, payload_hash))
            return -1; /* px_fail ended the fan-out (px_relay_abort) */
    }
    return 0;
}
