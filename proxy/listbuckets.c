/* listbuckets.c - see listbuckets.h. The document is S3's own
 * (ListAllMyBucketsResult: Owner, Buckets of Bucket{Name, CreationDate,
 * BucketRegion?}, ContinuationToken?, Prefix?); it is scanned, not parsed in
 * general: everything outside <Buckets> is copied as it is, and each
 * <Bucket> element is kept whole or dropped whole, with its <Name> text
 * replaced by the local name. */
#include "listbuckets.h"

#include <string.h>

#include "config.h"

static const char *find(const char *p, const char *end, const char *needle)
{
    size_t n = strlen(needle);
    while (p && (size_t)(end - p) >= n) {
        const char *q = memchr(p, needle[0], (size_t)(end - p) - n + 1);
        if (!q)
            return NULL;
        if (memcmp(q, needle, n) == 0)
            return q;
        p = q + 1;
    }
    return NULL;
}

static bool slice_is(struct s3w_slice s, const char *c)
{
    return c && s.len == strlen(c) && memcmp(s.ptr, c, s.len) == 0;
}

/* One <Bucket>...</Bucket> element: kept once per local bucket of the
 * caller that maps onto this upstream name. */
static int emit_bucket(const struct config *cfg, struct s3w_slice account,
                       const char *b, const char *be, struct s3w_buf *out)
{
    const char *n0 = find(b, be, "<Name>");
    const char *n1 = n0 ? find(n0, be, "</Name>") : NULL;
    if (!n1)
        return S3W_E_INVAL;
    struct s3w_slice name = s3w_slice(n0 + 6, (size_t)(n1 - n0 - 6));
    bool listed = false;
    int rc = 0;
    for (size_t i = 0; i < cfg->nbuckets && rc == 0; i++) {
        const struct config_bucket *cb = &cfg->buckets[i];
        const char *up = cb->upstream_name ? cb->upstream_name : cb->name;
        if (!slice_is(name, up))
            continue;
        listed = true;
        if (!slice_is(account, cb->account))
            continue;
        rc = s3w_buf_append(out, b, (size_t)(n0 + 6 - b));
        rc = rc ? rc : s3w_buf_append_cstr(out, cb->name);
        rc = rc ? rc : s3w_buf_append(out, n1, (size_t)(be - n1));
    }
    if (!listed && cfg->unlisted_buckets == CONFIG_UNLISTED_CALLER_ACCOUNT && rc == 0)
        rc = s3w_buf_append(out, b, (size_t)(be - b));
    return rc;
}

int listbuckets_filter(const struct config *cfg, struct s3w_slice account,
                       struct s3w_slice xml, struct s3w_buf *out)
{
    const char *p = xml.ptr, *end = xml.ptr + xml.len;
    if (!p || !find(p, end, "<ListAllMyBucketsResult"))
        return S3W_E_INVAL;
    const char *bs = find(p, end, "<Buckets>");
    if (!bs) {
        /* no bucket at all: "<Buckets/>" or no element */
        if (find(p, end, "<Bucket>"))
            return S3W_E_INVAL;
        return s3w_buf_append(out, p, xml.len);
    }
    const char *be = find(bs, end, "</Buckets>");
    if (!be)
        return S3W_E_INVAL;
    bs += strlen("<Buckets>");
    int rc = s3w_buf_append(out, p, (size_t)(bs - p));
    const char *q = bs;
    while (rc == 0) {
        const char *b = find(q, be, "<Bucket>");
        if (!b)
            break;
        const char *e = find(b, be, "</Bucket>");
        if (!e)
            return S3W_E_INVAL;
        e += strlen("</Bucket>");
        rc = emit_bucket(cfg, account, b, e, out);
        q = e;
    }
    if (rc == 0)
        rc = s3w_buf_append(out, be, (size_t)(end - be));
    return rc;
}
