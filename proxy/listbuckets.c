/* listbuckets.c - see listbuckets.h.
 *
 * The upstream's document is S3's ListAllMyBucketsResult (S3 API
 * Reference, ListBuckets, "Response Syntax"): Owner{ID, DisplayName},
 * Buckets of Bucket{Name, CreationDate, BucketRegion?, BucketArn?},
 * ContinuationToken?, Prefix?. It is read with base/xml in its plain mode,
 * and anything this reader does not recognise makes the whole answer
 * unfilterable (S3W_E_INVAL; the pipeline answers 500). Fail closed: a
 * client's XML parser must never find a bucket name in the output that this
 * reader did not see as the Name of a Bucket it kept. So it refuses,
 * anywhere in the document:
 *   - markup declarations, comments and CDATA ("<!": a DTD can define an
 *     entity that expands to any name, a comment can hide an end tag,
 *     CDATA can hold a name in a form a byte compare misses);
 *   - processing instructions other than the leading XML declaration;
 *   - namespace prefixes and attributes (except on the root element,
 *     which carries S3's xmlns): "<s3:Bucket>" or "<Bucket a='1'>" are
 *     the same element to a client parser, not to a byte search;
 *   - text other than whitespace between elements (mixed content), and
 *     references that are not XML's five entities or a character;
 *   - a Bucket or Buckets anywhere but their place, a second Buckets, a
 *     Bucket with no Name or two, nested elements where S3 has text;
 *   - a Name that is not plain bucket-name characters (an entity reference
 *     or a space would compare unequal to the configured name while a
 *     client decodes it to that name).
 * Kept buckets are written back as <Bucket><Name>local</Name> followed by
 * their CreationDate byte for byte and a BucketRegion that names
 * s3warden's region where they had one (as GetBucketLocation answers: a
 * client signs for it); any other child is dropped (BucketArn names the
 * upstream bucket; an element added to S3's answer later may too). Owner
 * is rewritten (other_child); the root's other children are checked and
 * dropped (probe 22: the upstream's ContinuationToken pages a list the
 * caller does not see - the upstream is asked with no query - and may
 * name a bucket in plain text; an element added later may say more). */
#include "listbuckets.h"

#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "config.h"
#include "xml.h"

/* The document's nesting: the root, Buckets, Bucket, a Bucket's child. */
#define LB_MAX_DEPTH 4

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool all_ws(struct s3w_slice s)
{
    for (size_t i = 0; i < s.len; i++)
        if (!is_ws(s.ptr[i]))
            return false;
    return true;
}

/* The next token, or -1 on anything outside the subset above (the reader
 * refuses comments, CDATA, DTDs and PIs; namespace prefixes and attributes
 * off the root are refused here). */
static int next_tok(struct s3w_xml *x)
{
    if (s3w_xml_next(x) != 0)
        return -1;
    if ((x->kind == S3W_XML_START || x->kind == S3W_XML_END) &&
        memchr(x->name.ptr, ':', x->name.len))
        return -1;
    if (x->kind == S3W_XML_START && x->depth > 1 && !all_ws(x->attrs))
        return -1;
    return 0;
}

/* The next token that is not whitespace text; other text is refused. */
static int next_markup(struct s3w_xml *x)
{
    do {
        if (next_tok(x) != 0)
            return -1;
        if (x->kind == S3W_XML_TEXT && !x->ws_only)
            return -1;
    } while (x->kind == S3W_XML_TEXT);
    return 0;
}

static bool start_is(const struct s3w_xml *x, const char *name)
{
    return x->kind == S3W_XML_START && s3w_slice_eq_cstr(x->name, name);
}

/* Where the current token ends (its bytes are copied up to there). */
static const char *tok_end(const struct s3w_xml *x)
{
    return x->raw.ptr + x->raw.len;
}

/* Names that may only appear where the scanner expects them. */
static bool reserved(struct s3w_slice n)
{
    return s3w_slice_eq_cstr(n, "Bucket") || s3w_slice_eq_cstr(n, "Buckets") ||
           s3w_slice_eq_cstr(n, "Name") || s3w_slice_eq_cstr(n, "ListAllMyBucketsResult");
}

/* S3 bucket names (S3 User Guide, "Bucket naming rules"), plus the upper
 * case and '_' of legacy us-east-1 names: no '&', '<', space or anything a
 * parser would decode. */
static bool plain_bucket_name(struct s3w_slice n)
{
    if (n.len == 0 || n.len > 255)
        return false;
    for (size_t i = 0; i < n.len; i++) {
        char c = n.ptr[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

static bool slice_is(struct s3w_slice s, const char *c)
{
    return c && s3w_slice_eq_cstr(s, c);
}

/* A child element of Bucket that is copied into a kept one (BucketRegion:
 * written anew with s3warden's region). */
struct kept_child {
    const char *p, *e;
    bool region;
};
#define BUCKET_MAX_CHILDREN 8

/* One Bucket, after its start tag: checked whole, then written out once
 * per local bucket of the caller that maps onto its upstream name. */
static int bucket(const struct config *cfg, const struct config_upstream *up,
                  struct s3w_slice account, struct s3w_slice prefix, struct s3w_xml *x,
                  struct s3w_buf *out)
{
    struct s3w_slice name = S3W_SLICE_NULL;
    bool have_name = false;
    struct kept_child kept[BUCKET_MAX_CHILDREN];
    size_t nkept = 0;
    for (;;) {
        if (next_markup(x) != 0)
            return S3W_E_INVAL;
        if (x->kind == S3W_XML_END) /* </Bucket>: the reader matched it */
            break;
        if (x->kind != S3W_XML_START)
            return S3W_E_INVAL;
        if (s3w_slice_eq_cstr(x->name, "Name")) {
            if (have_name || s3w_xml_leaf(x, &name) != 0 || !plain_bucket_name(name))
                return S3W_E_INVAL;
            have_name = true;
            continue;
        }
        if (reserved(x->name))
            return S3W_E_INVAL;
        bool region = s3w_slice_eq_cstr(x->name, "BucketRegion");
        bool keep = region || s3w_slice_eq_cstr(x->name, "CreationDate");
        const char *start = x->raw.ptr;
        struct s3w_slice text;
        if (s3w_xml_leaf(x, &text) != 0)
            return S3W_E_INVAL;
        if (keep) {
            if (nkept == BUCKET_MAX_CHILDREN)
                return S3W_E_INVAL;
            kept[nkept++] = (struct kept_child){ start, tok_end(x), region };
        }
        /* anything else (BucketArn, ...) is dropped */
    }
    if (!have_name)
        return S3W_E_INVAL;

    /* the configured bucket this upstream bucket is (upstream names are
     * unique: load.c), found by hash, not by a scan per listed bucket */
    const struct config_bucket *cb = config_find_bucket_upstream(cfg, up, name);
    const char *shown;
    if (cb) {
        if (!slice_is(account, cb->account))
            return 0;
        shown = cb->name;
    } else {
        /* "unlisted_buckets": "caller_account": a bucket no entry names is
         * the caller's, under its own name - but not an upstream bucket
         * named like a configured bucket that lives elsewhere
         * (upstream_name): requests for that name go to the configured
         * bucket, so it is not the caller's */
        if (config_find_bucket(cfg, name) || cfg->unlisted_buckets != CONFIG_UNLISTED_CALLER_ACCOUNT ||
            account.len == 0 || up != cfg->upstream) /* unlisted buckets are the default's */
            return 0;
        shown = NULL;
    }
    if (!s3w_slice_starts_with(shown ? s3w_slice_cstr(shown) : name, prefix))
        return 0;
    int rc = s3w_buf_append_cstr(out, "<Bucket><Name>");
    rc = rc ? rc : shown ? s3w_buf_append_cstr(out, shown) : s3w_buf_append_slice(out, name);
    rc = rc ? rc : s3w_buf_append_cstr(out, "</Name>");
    for (size_t k = 0; k < nkept && rc == 0; k++) {
        if (!kept[k].region) {
            rc = s3w_buf_append(out, kept[k].p, (size_t)(kept[k].e - kept[k].p));
            continue;
        }
        rc = s3w_buf_append_cstr(out, "<BucketRegion>");
        rc = rc ? rc : s3w_xml_escape(out, s3w_slice_cstr(cfg->upstream->region), S3W_XML_ESC_QUOTES);
        rc = rc ? rc : s3w_buf_append_cstr(out, "</BucketRegion>");
    }
    rc = rc ? rc : s3w_buf_append_cstr(out, "</Bucket>");
    return rc;
}

/* A child of the root other than Buckets, at its start tag: Owner with
 * text-only children, or a text-only element, dropped (ContinuationToken,
 * Prefix: the upstream's paging and its echo of a query it was not sent).
 * S3's Owner is the requester; the upstream's is the proxy's own account
 * (its canonical user ID and display name, which may be an e-mail
 * address), so the caller gets its own account ID instead (none for an
 * anonymous caller). */
static int other_child(struct s3w_xml *x, struct s3w_slice account, struct s3w_buf *out)
{
    if (reserved(x->name))
        return S3W_E_INVAL;
    struct s3w_slice text;
    if (s3w_slice_eq_cstr(x->name, "Owner") && !x->empty) {
        for (;;) {
            if (next_markup(x) != 0)
                return S3W_E_INVAL;
            if (x->kind == S3W_XML_END) /* </Owner> */
                break;
            if (x->kind != S3W_XML_START || reserved(x->name) || s3w_xml_leaf(x, &text) != 0)
                return S3W_E_INVAL;
        }
        if (account.len == 0)
            return 0;
        int rc = s3w_buf_append_cstr(out, "<Owner><ID>");
        rc = rc ? rc : s3w_buf_append_slice(out, account);
        return rc ? rc : s3w_buf_append_cstr(out, "</ID></Owner>");
    }
    return s3w_xml_leaf(x, &text) != 0 ? S3W_E_INVAL : 0;
}

/* <Buckets>, at its start tag: each Bucket filtered into out. */
static int buckets(const struct config *cfg, const struct config_upstream *up,
                   struct s3w_slice account, struct s3w_slice prefix, struct s3w_xml *x,
                   struct s3w_buf *out)
{
    if (x->empty) { /* "<Buckets/>" as it came, and its END */
        int rc = s3w_buf_append_slice(out, x->raw);
        return rc ? rc : next_tok(x) != 0 ? S3W_E_INVAL : 0;
    }
    int rc = s3w_buf_append_cstr(out, "<Buckets>");
    for (;;) {
        if (rc != 0)
            return rc;
        if (next_markup(x) != 0)
            return S3W_E_INVAL;
        if (x->kind == S3W_XML_END) /* </Buckets> */
            break;
        if (!start_is(x, "Bucket") || x->empty)
            return S3W_E_INVAL;
        rc = bucket(cfg, up, account, prefix, x, out);
    }
    return s3w_buf_append_cstr(out, "</Buckets>");
}

int listbuckets_filter(const struct config *cfg, struct s3w_slice account,
                       struct s3w_slice xml, struct s3w_buf *out)
{
    return listbuckets_filter_prefix(cfg, account, S3W_SLICE_NULL, xml, out);
}

static int filter(const struct config *cfg, const struct config_upstream *up,
                  struct s3w_slice account, struct s3w_slice prefix, struct s3w_slice xml,
                  struct s3w_buf *out)
{
    if (!xml.ptr)
        return S3W_E_INVAL;
    struct s3w_xml x;
    s3w_xml_init(&x, xml, LB_MAX_DEPTH, S3W_XML_PLAIN);
    /* prolog (the XML declaration, whitespace), then the root: copied as
     * they came; the root is the only element with attributes */
    do {
        if (next_tok(&x) != 0)
            return S3W_E_INVAL;
    } while (x.kind == S3W_XML_TEXT);
    if (!start_is(&x, "ListAllMyBucketsResult") || x.empty)
        return S3W_E_INVAL;
    int rc = s3w_buf_append(out, xml.ptr, (size_t)(tok_end(&x) - xml.ptr));
    bool seen_buckets = false;
    while (rc == 0) {
        if (next_tok(&x) != 0)
            return S3W_E_INVAL;
        if (x.kind == S3W_XML_TEXT) {
            if (!x.ws_only)
                return S3W_E_INVAL;
            rc = s3w_buf_append_slice(out, x.raw);
            continue;
        }
        if (x.kind == S3W_XML_END) { /* </ListAllMyBucketsResult> */
            rc = s3w_buf_append_slice(out, x.raw);
            break;
        }
        if (x.kind != S3W_XML_START)
            return S3W_E_INVAL;
        if (!s3w_slice_eq_cstr(x.name, "Buckets")) {
            rc = other_child(&x, account, out);
            continue;
        }
        if (seen_buckets)
            return S3W_E_INVAL;
        seen_buckets = true;
        rc = buckets(cfg, up, account, prefix, &x, out);
    }
    /* after the root: whitespace only (the reader refuses anything else) */
    while (rc == 0) {
        if (next_tok(&x) != 0)
            return S3W_E_INVAL;
        if (x.kind == S3W_XML_EOF)
            break;
        rc = s3w_buf_append_slice(out, x.raw);
    }
    return rc;
}

int listbuckets_filter_prefix(const struct config *cfg, struct s3w_slice account,
                              struct s3w_slice prefix, struct s3w_slice xml,
                              struct s3w_buf *out)
{
    return filter(cfg, cfg->upstream, account, prefix, xml, out);
}

int listbuckets_filter_query(const struct config *cfg, struct s3w_slice account,
                             struct s3w_slice q, struct s3w_slice xml, struct s3w_buf *out)
{
    return listbuckets_filter_upstream(cfg, cfg->upstream, account, q, xml, out);
}

int listbuckets_filter_upstream(const struct config *cfg, const struct config_upstream *up,
                                struct s3w_slice account, struct s3w_slice q,
                                struct s3w_slice xml, struct s3w_buf *out)
{
    char prefix[1024];
    long plen = 0;
    size_t i = 0;
    while (i < q.len) {
        const char *amp = memchr(q.ptr + i, '&', q.len - i);
        size_t end = amp ? (size_t)(amp - q.ptr) : q.len;
        struct s3w_slice part = s3w_slice(q.ptr + i, end - i);
        if (s3w_slice_starts_with(part, S3W_SLICE_LIT("prefix="))) {
            /* as S3 reads a query: '+' is a space (neither is in a bucket name) */
            plen = s3w_pct_decode(s3w_slice(part.ptr + 7, part.len - 7), prefix, sizeof(prefix),
                                  S3W_PCT_PLUS_SPACE);
            if (plen < 0)
                return S3W_E_INVAL;
        }
        i = end + 1;
    }
    return filter(cfg, up, account, s3w_slice(prefix, (size_t)plen), xml, out);
}

/* ---- merging ------------------------------------------------------------------------------- */
/* The documents merged are this file's own output: the Buckets element is
 * "<Buckets>" + "<Bucket><Name>N</Name>...</Bucket>"... + "</Buckets>" or
 * "<Buckets/>" as it came, the names plain and the other children leaves
 * without markup in their text, so the items are found by their tags. */
struct lb_item {
    struct s3w_slice whole, name;
};

static int buckets_span(struct s3w_slice d, size_t *from, size_t *to, size_t *inner_from,
                        size_t *inner_to)
{
    const char *open = memmem(d.ptr, d.len, "<Buckets>", 9);
    const char *empty = memmem(d.ptr, d.len, "<Buckets/>", 10);
    if (open && (!empty || open < empty)) {
        const char *close = memmem(open, d.len - (size_t)(open - d.ptr), "</Buckets>", 10);
        if (!close)
            return S3W_E_INVAL;
        *from = (size_t)(open - d.ptr);
        *to = (size_t)(close - d.ptr) + 10;
        *inner_from = *from + 9;
        *inner_to = (size_t)(close - d.ptr);
        return 0;
    }
    if (!empty)
        return S3W_E_INVAL;
    *from = (size_t)(empty - d.ptr);
    *to = *from + 10;
    *inner_from = *inner_to = *to;
    return 0;
}

static int item_cmp(const void *a, const void *b)
{
    const struct lb_item *x = a, *y = b;
    size_t n = x->name.len < y->name.len ? x->name.len : y->name.len;
    int c = memcmp(x->name.ptr, y->name.ptr, n);
    return c ? c : (x->name.len > y->name.len) - (x->name.len < y->name.len);
}

int listbuckets_merge(const struct s3w_slice *docs, size_t n, struct s3w_buf *out)
{
    if (n == 0)
        return S3W_E_INVAL;
    size_t cap = 0, nitems = 0;
    struct lb_item *items = NULL;
    int rc = 0;
    size_t f0 = 0, t0 = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t from, to, a, b;
        if (buckets_span(docs[i], &from, &to, &a, &b) != 0) {
            rc = S3W_E_INVAL;
            break;
        }
        if (i == 0) {
            f0 = from;
            t0 = to;
        }
        const char *p = docs[i].ptr + a, *end = docs[i].ptr + b;
        while (p < end) {
            const char *e = memmem(p, (size_t)(end - p), "</Bucket>", 9);
            if (!e || (size_t)(end - p) < 20 || memcmp(p, "<Bucket><Name>", 14) != 0) {
                rc = S3W_E_INVAL;
                break;
            }
            e += 9;
            const char *ne = memmem(p + 14, (size_t)(e - p - 14), "</Name>", 7);
            if (!ne) {
                rc = S3W_E_INVAL;
                break;
            }
            if (nitems == cap) {
                size_t nc = cap ? cap * 2 : 64;
                struct lb_item *ni = realloc(items, nc * sizeof(*ni));
                if (!ni) {
                    rc = S3W_E_NOMEM;
                    break;
                }
                items = ni;
                cap = nc;
            }
            items[nitems++] = (struct lb_item){ s3w_slice(p, (size_t)(e - p)),
                                                s3w_slice(p + 14, (size_t)(ne - p - 14)) };
            p = e;
        }
    }
    if (rc == 0) {
        if (nitems > 1)
            qsort(items, nitems, sizeof(*items), item_cmp);
        rc = s3w_buf_append(out, docs[0].ptr, f0);
        rc = rc ? rc : s3w_buf_append_cstr(out, nitems ? "<Buckets>" : "<Buckets/>");
        for (size_t i = 0; i < nitems && rc == 0; i++)
            rc = s3w_buf_append_slice(out, items[i].whole);
        rc = rc ? rc : nitems ? s3w_buf_append_cstr(out, "</Buckets>") : 0;
        rc = rc ? rc : s3w_buf_append(out, docs[0].ptr + t0, docs[0].len - t0);
    }
    free(items);
    return rc;
}
