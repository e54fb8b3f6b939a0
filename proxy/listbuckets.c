/* listbuckets.c - see listbuckets.h.
 *
 * The upstream's document is S3's ListAllMyBucketsResult (S3 API
 * Reference, ListBuckets, "Response Syntax"): Owner{ID, DisplayName},
 * Buckets of Bucket{Name, CreationDate, BucketRegion?, BucketArn?},
 * ContinuationToken?, Prefix?. It is read by a strict scanner, not by a
 * general XML parser, and anything that scanner does not recognise makes
 * the whole answer unfilterable (S3W_E_INVAL; the pipeline answers 500).
 * Fail closed: a client's XML parser must never find a bucket name in the
 * output that this scanner did not see as the Name of a Bucket it kept.
 * So the scanner refuses, anywhere in the document:
 *   - markup declarations, comments and CDATA ("<!": a DTD can define an
 *     entity that expands to any name, a comment can hide an end tag,
 *     CDATA can hold a name in a form a byte compare misses);
 *   - processing instructions other than the leading XML declaration;
 *   - namespace prefixes and attributes (except on the root element,
 *     which carries S3's xmlns): "<s3:Bucket>" or "<Bucket a='1'>" are
 *     the same element to a client parser, not to a byte search;
 *   - text other than whitespace between elements (mixed content);
 *   - a Bucket or Buckets anywhere but their place, a second Buckets, a
 *     Bucket with no Name or two, nested elements where S3 has text;
 *   - a Name that is not plain bucket-name characters (an entity reference
 *     or a space would compare unequal to the configured name while a
 *     client decodes it to that name).
 * Kept buckets are written back as <Bucket><Name>local</Name> followed by
 * their CreationDate and BucketRegion elements byte for byte; any other
 * child is dropped (BucketArn names the upstream bucket; an element added
 * to S3's answer later may too). Owner is rewritten (other_child); the
 * rest outside <Buckets> is copied as it came. */
#include "listbuckets.h"

#include <string.h>

#include "config.h"
#include "pipeline.h"

/* One element or text run of the document. */
enum tok_kind { T_EOF, T_TEXT, T_START, T_EMPTY, T_END, T_DECL };

struct tok {
    enum tok_kind kind;
    const char *p, *e;       /* the token's bytes */
    struct s3w_slice name;   /* element name (T_START, T_EMPTY, T_END) */
    bool has_attrs;
};

struct scan {
    const char *p, *end;
    bool allow_attrs; /* the root's start tag only (S3's xmlns) */
};

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_name_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.';
}

/* The next token, or -1 on anything outside the subset above. */
static int next_tok(struct scan *s, struct tok *t)
{
    memset(t, 0, sizeof(*t));
    t->p = s->p;
    if (s->p == s->end) {
        t->kind = T_EOF;
        t->e = s->p;
        return 0;
    }
    if (*s->p != '<') {
        const char *q = memchr(s->p, '<', (size_t)(s->end - s->p));
        s->p = q ? q : s->end;
        t->kind = T_TEXT;
        t->e = s->p;
        return 0;
    }
    const char *q = s->p + 1;
    if (q == s->end || *q == '!')
        return -1;
    if (*q == '?') {
        /* the XML declaration; the caller allows it only first */
        const char *x = q;
        while (x + 1 < s->end && !(x[0] == '?' && x[1] == '>'))
            x++;
        if (x + 1 >= s->end || (size_t)(s->end - q) < 5 || memcmp(q, "?xml", 4) != 0 ||
            !is_ws(q[4]))
            return -1;
        /* version, encoding, standalone: names, '=', quoted values of
         * name characters (XML 1.0, 2.8) - no markup hidden in a value */
        for (const char *c = q + 4; c < x; c++)
            if (!is_name_char(*c) && !is_ws(*c) && *c != '=' && *c != '"' && *c != '\'')
                return -1;
        s->p = x + 2;
        t->kind = T_DECL;
        t->e = s->p;
        return 0;
    }
    bool end_tag = *q == '/';
    if (end_tag)
        q++;
    const char *n0 = q;
    while (q < s->end && is_name_char(*q))
        q++;
    if (q == n0 || q == s->end)
        return -1; /* no name, a prefix (':'), or cut short */
    t->name = s3w_slice(n0, (size_t)(q - n0));
    const char *a0 = q;
    char quote = 0;
    /* attribute values: no '<' (XML 1.0, AttValue) and no reference */
    while (q < s->end && (quote || (*q != '>' && *q != '<'))) {
        if (*q == '<' || *q == '&')
            return -1;
        if (quote && *q == quote)
            quote = 0;
        else if (!quote && (*q == '"' || *q == '\''))
            quote = *q;
        q++;
    }
    if (q == s->end || *q != '>')
        return -1;
    const char *ae = q; /* attributes: [a0, ae) */
    bool empty = ae > a0 && ae[-1] == '/';
    if (empty)
        ae--;
    for (const char *x = a0; x < ae; x++)
        if (!is_ws(*x))
            t->has_attrs = true;
    if (a0 < ae && !is_ws(*a0))
        return -1; /* "<Name/x>": not a name followed by space */
    if (end_tag && (empty || t->has_attrs))
        return -1;
    s->p = q + 1;
    t->kind = end_tag ? T_END : empty ? T_EMPTY : T_START;
    t->e = s->p;
    if (t->has_attrs && !s->allow_attrs)
        return -1;
    return 0;
}

static bool tok_is(const struct tok *t, enum tok_kind k, const char *name)
{
    return t->kind == k && s3w_slice_eq_cstr(t->name, name);
}

static bool all_ws(const struct tok *t)
{
    for (const char *x = t->p; x < t->e; x++)
        if (!is_ws(*x))
            return false;
    return true;
}

/* The next token that is not whitespace text; other text is refused. */
static int next_markup(struct scan *s, struct tok *t)
{
    do {
        if (next_tok(s, t) != 0)
            return -1;
        if (t->kind == T_TEXT && !all_ws(t))
            return -1;
    } while (t->kind == T_TEXT);
    return 0;
}

/* After a start tag `open`: a text-only element (text without markup, then
 * its end tag). Sets *text to the text. */
static int leaf(struct scan *s, const struct tok *open, struct s3w_slice *text)
{
    struct tok t;
    if (open->kind == T_EMPTY) {
        *text = s3w_slice(open->e, 0);
        return 0;
    }
    if (next_tok(s, &t) != 0)
        return -1;
    *text = s3w_slice(open->e, 0);
    if (t.kind == T_TEXT) {
        *text = s3w_slice(t.p, (size_t)(t.e - t.p));
        if (next_tok(s, &t) != 0)
            return -1;
    }
    return t.kind == T_END && s3w_slice_eq(t.name, open->name) ? 0 : -1;
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
    for (size_t i = 0; i < n.len; i++)
        if (!is_name_char(n.ptr[i]))
            return false;
    return true;
}

static bool slice_is(struct s3w_slice s, const char *c)
{
    return c && s3w_slice_eq_cstr(s, c);
}

/* A child element of Bucket that is copied into a kept one. */
struct kept_child {
    const char *p, *e;
};
#define BUCKET_MAX_CHILDREN 8

/* One Bucket, after its start tag: checked whole, then written out once
 * per local bucket of the caller that maps onto its upstream name. */
static int bucket(const struct config *cfg, struct s3w_slice account, struct s3w_slice prefix,
                  struct scan *s, struct s3w_buf *out)
{
    struct s3w_slice name = S3W_SLICE_NULL;
    bool have_name = false;
    struct kept_child kept[BUCKET_MAX_CHILDREN];
    size_t nkept = 0;
    for (;;) {
        struct tok t;
        if (next_markup(s, &t) != 0)
            return S3W_E_INVAL;
        if (tok_is(&t, T_END, "Bucket"))
            break;
        if (t.kind != T_START && t.kind != T_EMPTY)
            return S3W_E_INVAL;
        if (s3w_slice_eq_cstr(t.name, "Name")) {
            if (have_name || leaf(s, &t, &name) != 0 || !plain_bucket_name(name))
                return S3W_E_INVAL;
            have_name = true;
            continue;
        }
        if (reserved(t.name))
            return S3W_E_INVAL;
        struct s3w_slice text;
        if (leaf(s, &t, &text) != 0)
            return S3W_E_INVAL;
        if (s3w_slice_eq_cstr(t.name, "CreationDate") ||
            s3w_slice_eq_cstr(t.name, "BucketRegion")) {
            if (nkept == BUCKET_MAX_CHILDREN)
                return S3W_E_INVAL;
            kept[nkept++] = (struct kept_child){ t.p, s->p };
        }
        /* anything else (BucketArn, ...) is dropped */
    }
    if (!have_name)
        return S3W_E_INVAL;

    /* the configured bucket this upstream bucket is (upstream names are
     * unique: load.c), found by hash, not by a scan per listed bucket */
    const struct config_bucket *cb = config_find_bucket_upstream(cfg, name);
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
            account.len == 0)
            return 0;
        shown = NULL;
    }
    if (!s3w_slice_starts_with(shown ? s3w_slice_cstr(shown) : name, prefix))
        return 0;
    int rc = s3w_buf_append_cstr(out, "<Bucket><Name>");
    rc = rc ? rc : shown ? s3w_buf_append_cstr(out, shown) : s3w_buf_append_slice(out, name);
    rc = rc ? rc : s3w_buf_append_cstr(out, "</Name>");
    for (size_t k = 0; k < nkept && rc == 0; k++)
        rc = s3w_buf_append(out, kept[k].p, (size_t)(kept[k].e - kept[k].p));
    rc = rc ? rc : s3w_buf_append_cstr(out, "</Bucket>");
    return rc;
}

/* A child of the root other than Buckets: a text-only element, copied as
 * it came, or Owner with text-only children. S3's Owner is the requester;
 * the upstream's is the proxy's own account (its canonical user ID and
 * display name, which may be an e-mail address), so the caller gets its
 * own account ID instead (none for an anonymous caller). */
static int other_child(struct scan *s, const struct tok *open, struct s3w_slice account,
                       struct s3w_buf *out)
{
    if (reserved(open->name))
        return S3W_E_INVAL;
    struct s3w_slice text;
    if (s3w_slice_eq_cstr(open->name, "Owner") && open->kind == T_START) {
        for (;;) {
            struct tok t;
            if (next_markup(s, &t) != 0)
                return S3W_E_INVAL;
            if (tok_is(&t, T_END, "Owner"))
                break;
            if ((t.kind != T_START && t.kind != T_EMPTY) || reserved(t.name) ||
                leaf(s, &t, &text) != 0)
                return S3W_E_INVAL;
        }
        if (account.len == 0)
            return 0;
        int rc = s3w_buf_append_cstr(out, "<Owner><ID>");
        rc = rc ? rc : s3w_buf_append_slice(out, account);
        return rc ? rc : s3w_buf_append_cstr(out, "</ID></Owner>");
    } else if (leaf(s, open, &text) != 0) {
        return S3W_E_INVAL;
    }
    return s3w_buf_append(out, open->p, (size_t)(s->p - open->p));
}

int listbuckets_filter(const struct config *cfg, struct s3w_slice account,
                       struct s3w_slice xml, struct s3w_buf *out)
{
    return listbuckets_filter_prefix(cfg, account, S3W_SLICE_NULL, xml, out);
}

int listbuckets_filter_prefix(const struct config *cfg, struct s3w_slice account,
                              struct s3w_slice prefix, struct s3w_slice xml,
                              struct s3w_buf *out)
{
    if (!xml.ptr)
        return S3W_E_INVAL;
    struct scan s = { xml.ptr, xml.ptr + xml.len, true };
    struct tok t;
    int rc = 0;
    /* prolog: the XML declaration, whitespace; then the root */
    /* allow_attrs: the root is the only element with attributes */
    if (next_tok(&s, &t) != 0)
        return S3W_E_INVAL;
    if (t.kind == T_DECL && next_tok(&s, &t) != 0)
        return S3W_E_INVAL;
    if (t.kind == T_TEXT && (!all_ws(&t) || next_tok(&s, &t) != 0))
        return S3W_E_INVAL;
    s.allow_attrs = false;
    if (!tok_is(&t, T_START, "ListAllMyBucketsResult"))
        return S3W_E_INVAL;
    rc = s3w_buf_append(out, xml.ptr, (size_t)(s.p - xml.ptr));
    bool seen_buckets = false;
    while (rc == 0) {
        if (next_tok(&s, &t) != 0)
            return S3W_E_INVAL;
        if (t.kind == T_TEXT) {
            if (!all_ws(&t))
                return S3W_E_INVAL;
            rc = s3w_buf_append(out, t.p, (size_t)(t.e - t.p));
            continue;
        }
        if (tok_is(&t, T_END, "ListAllMyBucketsResult")) {
            rc = s3w_buf_append(out, t.p, (size_t)(t.e - t.p));
            break;
        }
        if (t.kind != T_START && t.kind != T_EMPTY)
            return S3W_E_INVAL;
        if (!s3w_slice_eq_cstr(t.name, "Buckets")) {
            rc = other_child(&s, &t, account, out);
            continue;
        }
        if (seen_buckets)
            return S3W_E_INVAL;
        seen_buckets = true;
        if (t.kind == T_EMPTY) {
            rc = s3w_buf_append(out, t.p, (size_t)(t.e - t.p));
            continue;
        }
        rc = s3w_buf_append_cstr(out, "<Buckets>");
        for (;;) {
            if (rc != 0)
                return rc;
            if (next_markup(&s, &t) != 0)
                return S3W_E_INVAL;
            if (tok_is(&t, T_END, "Buckets"))
                break;
            if (!tok_is(&t, T_START, "Bucket"))
                return S3W_E_INVAL;
            rc = bucket(cfg, account, prefix, &s, out);
        }
        rc = s3w_buf_append_cstr(out, "</Buckets>");
    }
    if (rc != 0)
        return rc;
    /* after the root: whitespace only */
    if (next_tok(&s, &t) != 0)
        return S3W_E_INVAL;
    if (t.kind == T_TEXT) {
        if (!all_ws(&t))
            return S3W_E_INVAL;
        rc = s3w_buf_append(out, t.p, (size_t)(t.e - t.p));
        if (rc == 0 && next_tok(&s, &t) != 0)
            return S3W_E_INVAL;
    }
    if (rc == 0 && t.kind != T_EOF)
        return S3W_E_INVAL;
    return rc;
}

int listbuckets_filter_query(const struct config *cfg, struct s3w_slice account,
                             struct s3w_slice q, struct s3w_slice xml, struct s3w_buf *out)
{
    char prefix[1024];
    long plen = 0;
    size_t i = 0;
    while (i < q.len) {
        const char *amp = memchr(q.ptr + i, '&', q.len - i);
        size_t end = amp ? (size_t)(amp - q.ptr) : q.len;
        struct s3w_slice part = s3w_slice(q.ptr + i, end - i);
        if (s3w_slice_starts_with(part, S3W_SLICE_LIT("prefix="))) {
            plen = pl_pct_decode(s3w_slice(part.ptr + 7, part.len - 7), prefix, sizeof(prefix));
            if (plen < 0)
                return S3W_E_INVAL;
        }
        i = end + 1;
    }
    return listbuckets_filter_prefix(cfg, account, s3w_slice(prefix, (size_t)plen), xml, out);
}
