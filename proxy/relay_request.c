/*
 * relay_request.c - the request an exchange sends upstream, up to the
 * moment relay.c hands it to the pool (px_send_request): the checks that
 * may still refuse it (expected bucket owners, a copy across upstreams,
 * the identity's slot), the proxy's credentials toward the store, the
 * request built and signed by upstream_build.c, and its head.
 */
#include "exchange.h"

#include <stdio.h>
#include <string.h>

#include "creds_fetch.h"
#include "ident_limit.h"
#include "log.h"
#include "metrics.h"
#include "s3err.h"
#include "upstream_build.h"
#include "upstream_state.h"

/* ---- upstream credentials ------------------------------------------------------------ */
/* Without a credential manager for the set (upstream_state.h: an
 * embedding that runs none, the unit rigs and the fuzz target), the static
 * keys of the set's chain. main() always runs a manager for a set with a
 * provider, and every other source (env, profile, IMDS, ...) is read by
 * the manager alone, never per request. */
static bool upstream_creds(const struct config_credentials *set, struct sigv4_credentials *cr)
{
    for (size_t i = 0; i < set->nchain; i++) {
        const struct config_cred_provider *p = &set->chain[i];
        if (p->source == CONFIG_CRED_STATIC && p->access_key_id && p->secret_access_key) {
            cr->access_key_id = s3w_slice_cstr(p->access_key_id);
            cr->secret = s3w_slice_cstr(p->secret_access_key);
            cr->session_token = s3w_slice_cstr(p->session_token);
            return true;
        }
    }
    return false;
}

/* ---- the request ------------------------------------------------------------------------ */
/* The request as it goes upstream: the client's, or the PutObject a POST
 * Object form becomes (post_object.c). */
static const struct http_request *px_up_request(const struct px *px)
{
    return px->post.upreq ? px->post.upreq : &px->c->req;
}

/* upstream.max_connections_per_identity: an identity that already has that
 * many requests in flight upstream (on any worker) gets 503 SlowDown, which
 * the SDKs retry with backoff, so that one caller holding transfers open
 * (GETs it never reads, PUTs that trickle) cannot starve the others. Role
 * sessions count against their role: new session names do not buy more. */
bool px_take_upstream_slot(struct px *px)
{
    struct pl_shared *s = shared(px->w);
    if (!s->ident)
        return true;
    struct s3w_slice key = px->auth.id_set ? px->auth.id.principal_arn : s3w_slice_cstr("anonymous");
    const struct config_upstream *u = px_upstream(px);
    uint32_t max = u->max_connections_per_identity;
    if (!u->max_connections_per_identity_set) {
        /* the default is also at most half of one worker's pool: the
         * count is across workers, and an identity that steers its
         * connections onto one worker (request ids name it) would
         * otherwise hold that worker's whole pool */
        uint32_t half = up_pool_size(px->w, u) / 2;
        if (max > half)
            max = half ? half : 1;
    }
    int slot = ident_limit_acquire(s->ident, key, max ? max : 1);
    if (slot == IDENT_LIMIT_FULL) {
        if (px->w->metrics)
            metrics_bump(&px->w->metrics->refused[METRICS_REFUSE_IDENTITY_UPSTREAM], 1);
        proxy_log("INFO", "request_id=%s identity %.*s has max_connections_per_identity=%u "
                  "requests upstream: 503 SlowDown", px->reqid, (int)key.len, key.ptr, max);
        px_fail(px, 503, "SlowDown", s3err_default_message("SlowDown"));
        return false;
    }
    px->up.ident_slot = slot;
    px->up.ident_held = slot >= 0;
    return true;
}

/* The proxy's credentials for this request: the manager's current ones
 * (held by the worker's creds_cache, valid while this request's head is
 * signed and built) or, without a manager, the config's static keys.
 * false after answering 503. */
static bool px_upstream_creds(struct px *px, struct sigv4_credentials *cr)
{
    return px_upstream_creds_for(px, px_upstream(px), cr);
}

bool px_upstream_creds_for(struct px *px, const struct config_upstream *up,
                           struct sigv4_credentials *cr)
{
    struct creds_mgr *mgr = ups_creds_for(shared(px->w)->ups, px->cfg, up);
    struct pl_worker *pw = plw(px->w);
    /* the worker's snapshot (creds_cache_get): *cr stays valid until this
     * worker's next request takes credentials */
    const struct creds_snapshot *s =
        mgr ? creds_cache_get(&pw->creds, mgr, (int64_t)uv_now(&px->w->loop)) : NULL;
    if (s) {
        *cr = s->sigv4;
        return true;
    }
    if (!mgr && upstream_creds(&px->cfg->credential_sets[up->credentials], cr))
        return true;
    if (!pw->warned_no_creds) {
        proxy_log("ERROR", "upstream %s: no valid credentials: answering 503 until there are",
                  up->name);
        pw->warned_no_creds = true;
    }
    px_fail(px, 503, "ServiceUnavailable",
            "s3warden has no valid credentials for the upstream at the moment.");
    return false;
}

static struct s3w_slice upstream_bucket(const struct config_bucket *b, struct s3w_slice name)
{
    return b && b->upstream_name ? s3w_slice_cstr(b->upstream_name) : name;
}

/* Builds the upstream request into px->up.req (upstream_build.h) and signs
 * it with cr. 0 or -1. */
static int px_build_upstream(struct px *px, const struct sigv4_credentials *cr,
                             struct s3w_slice payload, const char *content_md5,
                             struct sigv4_signed *sd)
{
    const struct http_request *r = px_up_request(px);
    const struct config *cfg = px->cfg;
    const struct config_upstream *up = px_upstream(px);
    struct ub_request *u = &px->up.req;
    bool copy = (px->authz.map.flags & S3MAP_F_COPY) != 0;
    struct ub_target_in t = {
        .endpoint = up->endpoint,
        .virtual_addressing = up->addressing == CONFIG_ADDRESSING_VIRTUAL,
        .bucket = px->route.bucket,
        .upstream_bucket = upstream_bucket(px->route.bcfg, px->route.bucket),
        .key = s3w_slice(px->route.key, px->route.key_len),
        /* ListBuckets: the upstream gets no query - its prefix would match
         * upstream names and its pagination count buckets the caller does
         * not see; the prefix is applied to the caller's names
         * (listbuckets.h) */
        .query = px->resp.list_buckets ? S3W_SLICE_NULL : r->query,
        .drop_copy_source = copy,
    };
    struct ub_header_rules hr = {
        .anonymous = px->auth.anonymous,
        .sv = &px->auth.sv,
        .decoded = px->body.bm == BM_CHUNKED && !px->body.passthrough,
        .passthrough = px->body.passthrough,
        .copy = copy,
        .own_body = px->kind == PX_DELETE,
        .op_known = px->authz.map.op != NULL,
        .op_wire = px->authz.map.op ? px->authz.map.op->wire : 0,
    };
    if (ub_build_target(u, &t) != 0 ||
        ub_build_headers(u, &hr, r->headers, r->nheaders,
                         content_md5 ? s3w_slice_cstr(content_md5) : S3W_SLICE_NULL) != 0)
        return -1;
    if (copy) {
        /* the source that was authorized, named as the upstream knows it */
        const struct s3map_copy_source *cs = &px->authz.map.copy;
        const struct config_bucket *sb = config_find_bucket(cfg, cs->bucket);
        if (ub_build_copy_source(u, upstream_bucket(sb, cs->bucket), cs->key, cs->version_id) != 0)
            return -1;
    }
    return ub_sign(u, r->method, cr, s3w_slice_cstr(up->region), px->now, payload,
                   &plw(px->w)->up_kc, &plw(px->w)->canon, sd);
}

/* The request head: the request line, the built headers (Host first),
 * the proxy's signature and the body's length. */
static int px_build_head(struct px *px, const struct sigv4_signed *sd, bool has_body)
{
    return relay_build_head(&px->up.head, px_up_request(px)->method, &px->up.req, sd, has_body,
                            px->body.up_total);
}

int relay_build_head(struct s3w_buf *b, struct s3w_slice method, const struct ub_request *u,
                     const struct sigv4_signed *sd, bool has_body, uint64_t body_len)
{
    int rc = s3w_buf_append_slice(b, method);
    rc = rc ? rc : s3w_buf_append_char(b, ' ');
    rc = rc ? rc : s3w_buf_append(b, u->target.ptr, u->target.len);
    rc = rc ? rc : s3w_buf_append_cstr(b, " HTTP/1.1\r\n");
    for (size_t i = 0; i < u->nheaders && rc == 0; i++) {
        rc = s3w_buf_append_slice(b, u->headers[i].name);
        rc = rc ? rc : s3w_buf_append(b, ": ", 2);
        rc = rc ? rc : s3w_buf_append_slice(b, u->headers[i].value);
        rc = rc ? rc : s3w_buf_append(b, "\r\n", 2);
    }
    rc = rc ? rc : s3w_buf_append_cstr(b, "Authorization: ");
    rc = rc ? rc : s3w_buf_append(b, sd->authorization, sd->authorization_len);
    rc = rc ? rc : s3w_buf_append_cstr(b, "\r\nx-amz-date: ");
    rc = rc ? rc : s3w_buf_append_cstr(b, sd->amz_date);
    rc = rc ? rc : s3w_buf_append_cstr(b, "\r\nx-amz-content-sha256: ");
    rc = rc ? rc : s3w_buf_append(b, sd->content_sha256, sd->content_sha256_len);
    if (sd->security_token.len) {
        rc = rc ? rc : s3w_buf_append_cstr(b, "\r\nx-amz-security-token: ");
        rc = rc ? rc : s3w_buf_append_slice(b, sd->security_token);
    }
    if (has_body) {
        char n[24];
        int nl = snprintf(n, sizeof(n), "%llu", (unsigned long long)body_len);
        rc = rc ? rc : s3w_buf_append_cstr(b, "\r\nContent-Length: ");
        rc = rc ? rc : s3w_buf_append(b, n, (size_t)nl);
    }
    rc = rc ? rc : s3w_buf_append(b, "\r\n\r\n", 4);
    return rc ? -1 : 0;
}

/* CopyObject and UploadPartCopy are one request to one store: a source on
 * another upstream would have to be read through s3warden and written
 * again - not done silently. false after answering 501. */
static bool px_copy_within_upstream(struct px *px)
{
    if (!(px->authz.map.flags & S3MAP_F_COPY))
        return true;
    const struct s3map_copy_source *cs = &px->authz.map.copy;
    const struct config_bucket *sb = config_find_bucket(px->cfg, cs->bucket);
    const struct config_upstream *from = sb && sb->upstream ? sb->upstream : px->cfg->upstream;
    const struct config_upstream *to = px_upstream(px);
    if (from == to)
        return true;
    char msg[512];
    snprintf(msg, sizeof(msg),
             "%s from bucket %.*s (upstream %s) to bucket %.*s (upstream %s): "
             "s3warden does not copy between upstreams",
             px->authz.map.op ? px->authz.map.op->name : "CopyObject", (int)cs->bucket.len,
             cs->bucket.ptr, from->name, (int)px->route.bucket.len, px->route.bucket.ptr, to->name);
    proxy_log("INFO", "request_id=%s %s", px->reqid, msg);
    px_fail(px, 501, "NotImplemented", msg);
    return false;
}

int px_start_upstream(struct px *px, struct s3w_slice payload_hash, bool has_body,
                      const char *content_md5)
{
    if (!px_expected_owners_ok(px) || !px_copy_within_upstream(px))
        return -1;
    if (!px->up.ident_held && !px_take_upstream_slot(px))
        return -1;
    struct sigv4_credentials cr;
    if (!px_upstream_creds(px, &cr))
        return -1;
    struct sigv4_signed sd;
    sd.authorization_len = 0; /* px_build_upstream may fail before it signs */
    int rc = px_build_upstream(px, &cr, payload_hash, content_md5, &sd);
    if (rc == 0 && px->body.passthrough)
        rc = px_body_reframe_init(px, &sd);
    if (rc == 0)
        rc = px_build_head(px, &sd, has_body);
    sigv4_signed_cleanup(&sd);
    if (rc != 0) {
        px_fail_internal(px);
        return -1;
    }
    return px_send_request(px, has_body) ? 0 : -1;
}
