/*
 * relay_rewrite.c - upstream answers rewritten on their way to the client
 * (alias.h): an aliased bucket's upstream name (upstream_name) out of the
 * documents S3 writes it in, and CompleteMultipartUpload's <Location> made
 * the object's URL through s3warden. relay.c decides nothing here: it
 * asks px_rewrite_begin at an answer's head, sends body bytes through
 * px_relay_out (which comes here when resp.rename is set), and hands the
 * error documents it holds whole to px_rewrite_held.
 */
#include "exchange.h"

#include <string.h>

#include "alias.h"
#include "log.h"
#include "upstream_build.h"

/* The upstream name of the request's bucket when it is another than the
 * clients' name: true and both names. */
static bool px_aliased(const struct px *px, struct s3w_slice *up, struct s3w_slice *local)
{
    const struct config_bucket *b = px->route.bcfg;
    if (!b || !b->upstream_name || !b->name || strcmp(b->upstream_name, b->name) == 0)
        return false;
    *up = s3w_slice_cstr(b->upstream_name);
    *local = s3w_slice_cstr(b->name);
    return true;
}

bool px_rewrite_alias(const struct px *px, struct s3w_slice *local)
{
    struct s3w_slice up;
    return px_aliased(px, &up, local);
}

/* What alias_rewrite does to this request's answers; false when nothing. */
static bool px_alias_names(const struct px *px, struct alias_names *n)
{
    *n = (struct alias_names){ .up = S3W_SLICE_NULL };
    if (!px_aliased(px, &n->up, &n->local))
        return false;
    /* as upstream_build.c asked the store */
    n->path_style = px_upstream(px)->addressing != CONFIG_ADDRESSING_VIRTUAL || !ub_dns_bucket(n->up);
    return true;
}

static bool op_is(const struct px *px, const char *name)
{
    return px->authz.map.op && strcmp(px->authz.map.op->name, name) == 0;
}

/* The operations whose 2xx answer names the bucket (S3 API Reference,
 * their "Response Syntax": <Name>, <Bucket>, <Location>). */
static bool op_names_bucket(const struct px *px)
{
    static const char *const ops[] = { "ListObjects", "ListObjectsV2", "ListObjectVersions",
                                       "ListMultipartUploads", "ListParts",
                                       "CreateMultipartUpload", "CompleteMultipartUpload" };
    for (size_t i = 0; i < sizeof(ops) / sizeof(*ops); i++)
        if (op_is(px, ops[i]))
            return true;
    return false;
}

void px_rewrite_begin(struct px *px, int status, bool aliased)
{
    px->resp.rename = status >= 200 && status < 300 && status != 204 && !px->c->req.is_head &&
                      !px->resp.collect &&
                      ((aliased && op_names_bucket(px)) || op_is(px, "CompleteMultipartUpload"));
    if (px->resp.rename) {
        s3w_buf_cleanup(&px->resp.body); /* the bytes held back (alias_ready) */
        s3w_buf_init(&px->resp.body, ALIAS_CARRY_MAX + (4u << 20));
    }
}

void px_relay_rewritten(struct px *px, const char *p, size_t n, bool last)
{
    struct s3w_buf *carry = &px->resp.body;
    struct alias_names names;
    px_alias_names(px, &names);
    struct s3w_buf url, out;
    s3w_buf_init(&url, 3 * PX_KEY_MAX + 1024);
    int rc = s3w_buf_append(carry, p, n);
    if (rc == 0 && op_is(px, "CompleteMultipartUpload")) {
        rc = px_object_url(px, &url); /* its Location: the object through s3warden */
        names.location = s3w_buf_slice(&url);
    }
    bool too_long = false;
    size_t ready = last ? carry->len : alias_ready(s3w_buf_slice(carry), &too_long);
    if (rc == 0 && too_long)
        rc = S3W_E_TOOBIG;
    s3w_buf_init(&out, alias_room(ready, &names));
    if (rc == 0)
        rc = alias_rewrite(s3w_slice(carry->ptr, ready), &names, &out);
    if (rc != 0) {
        proxy_log("WARN", "request_id=%s upstream %s: the answer could not be rewritten (%s): cut",
                  px->reqid, px_upstream(px)->name,
                  too_long ? "an element naming the bucket runs past 16 KiB" : s3w_strerror(rc));
        if (px->c)
            proxy_conn_close(px->c); /* px->in_cb: px is detached, not freed */
    } else {
        memmove(carry->ptr, carry->ptr + ready, carry->len - ready);
        carry->len -= ready;
        if (out.len || last)
            px_relay_write(px, out.ptr, out.len, last);
    }
    s3w_buf_cleanup(&url);
    s3w_buf_cleanup(&out);
}

int px_rewrite_held(const struct px *px, struct s3w_slice doc, struct s3w_buf *out)
{
    struct alias_names names;
    if (!px_alias_names(px, &names))
        return 0;
    s3w_buf_cleanup(out);
    s3w_buf_init(out, alias_room(doc.len, &names));
    return alias_rewrite(doc, &names, out) == 0 ? 1 : -1;
}
