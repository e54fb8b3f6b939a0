/*
 * s3map_body.c - the XML request bodies s3map reads (contract in s3map.h):
 * DeleteObjects (s3map_parse_delete), PutObjectTagging
 * (s3map_parse_tagging) and the bodies that carry condition keys
 * (s3map_body_context: retention, legal hold, CreateBucket). Strict: what
 * is not the documented shape is MalformedXML, never a guess; decoded
 * values go to the caller's scratch, sized for the whole body.
 */
#include "s3map.h"
#include "s3map_int.h"
#include "codec.h"

/* ---- DeleteObjects body -------------------------------------------------------- */

struct xp {
    const char *p, *end;
    char *out;      /* scratch write position */
    char *out_end;
};

static bool xp_lit(struct xp *x, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(x->end - x->p) < n || memcmp(x->p, lit, n) != 0)
        return false;
    x->p += n;
    return true;
}

static bool is_xml_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* whitespace and comments between elements */
static bool xp_skip(struct xp *x)
{
    for (;;) {
        while (x->p < x->end && is_xml_ws(*x->p))
            x->p++;
        if (!xp_lit(x, "<!--"))
            return true;
        for (;;) {
            if (x->end - x->p < 3)
                return false;
            if (x->p[0] == '-' && x->p[1] == '-') {
                if (x->p[2] != '>')
                    return false; /* "--" is not allowed inside a comment */
                x->p += 3;
                break;
            }
            x->p++;
        }
    }
}

static bool put_utf8(struct xp *x, uint32_t cp)
{
    char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | cp >> 6);
        b[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | cp >> 12);
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (char)(0xF0 | cp >> 18);
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    if ((size_t)(x->out_end - x->out) < n)
        return false;
    memcpy(x->out, b, n);
    x->out += n;
    return true;
}

/* XML 1.0 "Char": #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF] */
static bool xml_char_ok(uint32_t c)
{
    return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF) ||
           (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF);
}

static bool xp_entity(struct xp *x)
{
    static const struct { const char *name; char c; } named[] = {
        { "amp;", '&' }, { "lt;", '<' }, { "gt;", '>' }, { "quot;", '"' }, { "apos;", '\'' },
    };
    x->p++; /* '&' */
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
        if (xp_lit(x, named[i].name)) {
            if (x->out == x->out_end)
                return false;
            *x->out++ = named[i].c;
            return true;
        }
    if (!xp_lit(x, "#"))
        return false; /* undeclared entity */
    bool hex = xp_lit(x, "x");
    uint32_t cp = 0;
    size_t digits = 0;
    while (x->p < x->end && *x->p != ';') {
        int d = hex ? s3w_hex_digit((unsigned char)*x->p)
                    : (*x->p >= '0' && *x->p <= '9' ? *x->p - '0' : -1);
        if (d < 0 || ++digits > 8)
            return false;
        cp = cp * (hex ? 16u : 10u) + (uint32_t)d;
        x->p++;
    }
    if (x->p == x->end || digits == 0 || !xml_char_ok(cp))
        return false;
    x->p++; /* ';' */
    return put_utf8(x, cp);
}

/* Text content up to the next tag; entities and CDATA decoded into scratch. */
static bool xp_text(struct xp *x, struct s3w_slice *out)
{
    char *start = x->out;
    while (x->p < x->end) {
        char c = *x->p;
        if (c == '<') {
            if (!xp_lit(x, "<![CDATA["))
                break;
            for (;;) {
                if (x->end - x->p < 3)
                    return false;
                if (x->p[0] == ']' && x->p[1] == ']' && x->p[2] == '>') {
                    x->p += 3;
                    break;
                }
                if ((unsigned char)*x->p < 0x20 && !is_xml_ws(*x->p))
                    return false;
                if (x->out == x->out_end)
                    return false;
                *x->out++ = *x->p++;
            }
            continue;
        }
        if (c == '&') {
            if (!xp_entity(x))
                return false;
            continue;
        }
        if ((unsigned char)c < 0x20 && !is_xml_ws(c))
            return false;
        if (x->out == x->out_end)
            return false;
        *x->out++ = c;
        x->p++;
    }
    *out = s3w_slice(start, (size_t)(x->out - start));
    return true;
}

/* <Name>text</Name> or <Name/>, the opening "<Name" already matched. */
static bool xp_element_text(struct xp *x, const char *name, struct s3w_slice *out)
{
    if (xp_lit(x, "/>")) {
        *out = s3w_slice(x->out, 0);
        return true;
    }
    if (!xp_lit(x, ">") || !xp_text(x, out) || !xp_lit(x, "</") || !xp_lit(x, name))
        return false;
    while (x->p < x->end && is_xml_ws(*x->p))
        x->p++;
    return xp_lit(x, ">");
}

/* "<Name" followed by '>', '/' or whitespace (so <Keys> is not <Key>). */
static bool xp_open(struct xp *x, const char *name)
{
    const char *save = x->p;
    if (!xp_lit(x, "<") || !xp_lit(x, name) || x->p == x->end ||
        (*x->p != '>' && *x->p != '/')) {
        x->p = save;
        return false;
    }
    return true;
}

static bool xp_object(struct xp *x, struct s3map_delete_object *obj)
{
    bool have_key = false, have_ver = false, have_etag = false, have_mtime = false,
         have_size = false;
    struct s3w_slice ignored;
    *obj = (struct s3map_delete_object){ S3W_SLICE_NULL, S3W_SLICE_NULL };
    if (!xp_lit(x, ">"))
        return false;
    for (;;) {
        if (!xp_skip(x))
            return false;
        if (xp_lit(x, "</Object")) {
            while (x->p < x->end && is_xml_ws(*x->p))
                x->p++;
            if (!xp_lit(x, ">"))
                return false;
            break;
        }
        if (xp_open(x, "Key")) {
            if (have_key || !xp_element_text(x, "Key", &obj->key))
                return false;
            have_key = true;
        } else if (xp_open(x, "VersionId")) {
            if (have_ver || !xp_element_text(x, "VersionId", &obj->version_id))
                return false;
            have_ver = true;
        } else if (xp_open(x, "ETag")) {
            /* conditional delete fields: not authorization inputs */
            if (have_etag || !xp_element_text(x, "ETag", &ignored))
                return false;
            have_etag = true;
        } else if (xp_open(x, "LastModifiedTime")) {
            if (have_mtime || !xp_element_text(x, "LastModifiedTime", &ignored))
                return false;
            have_mtime = true;
        } else if (xp_open(x, "Size")) {
            if (have_size || !xp_element_text(x, "Size", &ignored))
                return false;
            have_size = true;
        } else {
            return false;
        }
    }
    if (!have_key || obj->key.len == 0 || obj->key.len > S3MAP_MAX_KEY_BYTES)
        return false;
    if (have_ver && obj->version_id.len == 0)
        return false;
    if (have_ver && !obj->version_id.ptr)
        obj->version_id = S3W_SLICE_LIT("");
    return true;
}

/* attributes of a root element: only namespace declarations */
static bool xp_ns_attrs(struct xp *x)
{
    for (;;) {
        bool ws = false;
        while (x->p < x->end && is_xml_ws(*x->p)) {
            x->p++;
            ws = true;
        }
        if (xp_lit(x, ">"))
            return true;
        if (!ws || !xp_lit(x, "xmlns"))
            return false;
        if (x->p < x->end && *x->p == ':') {
            x->p++;
            while (x->p < x->end && *x->p != '=' && !is_xml_ws(*x->p))
                x->p++;
        }
        while (x->p < x->end && is_xml_ws(*x->p))
            x->p++;
        if (!xp_lit(x, "="))
            return false;
        while (x->p < x->end && is_xml_ws(*x->p))
            x->p++;
        if (x->p == x->end || (*x->p != '"' && *x->p != '\''))
            return false;
        char q = *x->p++;
        while (x->p < x->end && *x->p != q && *x->p != '<')
            x->p++;
        if (x->p == x->end || *x->p != q)
            return false;
        x->p++;
    }
}

/* "</Name" ws* ">" */
static bool xp_close(struct xp *x, const char *name)
{
    const char *save = x->p;
    if (!xp_lit(x, "</") || !xp_lit(x, name)) {
        x->p = save;
        return false;
    }
    while (x->p < x->end && is_xml_ws(*x->p))
        x->p++;
    if (!xp_lit(x, ">")) {
        x->p = save;
        return false;
    }
    return true;
}

/* [BOM] [<?xml ...?>] ws/comments "<root" [namespace attributes] ">" */
static int xp_prolog_root(struct xp *x, const char *root)
{
    xp_lit(x, "\xEF\xBB\xBF"); /* UTF-8 byte order mark */
    if (xp_lit(x, "<?xml")) {
        while (x->end - x->p >= 2 && !(x->p[0] == '?' && x->p[1] == '>'))
            x->p++;
        if (!xp_lit(x, "?>"))
            return S3MAP_E_MALFORMED_XML;
    }
    if (!xp_skip(x) || !xp_lit(x, "<") || !xp_lit(x, root) || x->p == x->end ||
        !(is_xml_ws(*x->p) || *x->p == '>') || !xp_ns_attrs(x))
        return S3MAP_E_MALFORMED_XML;
    return S3MAP_OK;
}

static int parse_delete(struct xp *x, struct s3map_delete_list *out)
{
    bool have_quiet = false;
    if (xp_prolog_root(x, "Delete"))
        return S3MAP_E_MALFORMED_XML;
    for (;;) {
        if (!xp_skip(x))
            return S3MAP_E_MALFORMED_XML;
        if (xp_lit(x, "</Delete")) {
            while (x->p < x->end && is_xml_ws(*x->p))
                x->p++;
            if (!xp_lit(x, ">"))
                return S3MAP_E_MALFORMED_XML;
            break;
        }
        if (xp_open(x, "Object")) {
            if (out->n == S3MAP_DELETE_MAX_KEYS)
                return S3MAP_E_MALFORMED_XML; /* S3: at most 1000 keys */
            if (!xp_object(x, &out->objects[out->n]))
                return S3MAP_E_MALFORMED_XML;
            out->n++;
        } else if (xp_open(x, "Quiet")) {
            struct s3w_slice q;
            if (have_quiet || !xp_element_text(x, "Quiet", &q))
                return S3MAP_E_MALFORMED_XML;
            have_quiet = true;
            /* xsd:boolean */
            if (eqz(q, "true") || eqz(q, "1"))
                out->quiet = true;
            else if (!eqz(q, "false") && !eqz(q, "0"))
                return S3MAP_E_MALFORMED_XML;
        } else {
            return S3MAP_E_MALFORMED_XML;
        }
    }
    if (!xp_skip(x) || x->p != x->end || out->n == 0)
        return S3MAP_E_MALFORMED_XML;
    return S3MAP_OK;
}

int s3map_parse_delete(struct s3w_slice body, char *scratch, size_t scratch_cap,
                       struct s3map_delete_list *out)
{
    out->n = 0;
    out->quiet = false;
    if (body.len > S3MAP_DELETE_MAX_BODY || body.len == 0)
        return S3MAP_E_MALFORMED_XML;
    if (scratch_cap < body.len)
        return S3MAP_E_TOO_BIG;
    struct xp x = { body.ptr, body.ptr + body.len, scratch, scratch + body.len };
    int rc = parse_delete(&x, out);
    if (rc)
        out->n = 0; /* nothing half-parsed is ever authorized */
    return rc;
}

/* ---- PutObjectTagging body ------------------------------------------------------ */

/* <Tag><Key>k</Key><Value>v</Value></Tag>... up to and including </list>
 * (the list's opening tag already read, '>' included) into tags[0..cap). */
static int parse_tag_entries(struct xp *x, const char *list, struct s3map_qparam *tags,
                             size_t cap, size_t *n)
{
    *n = 0;
    for (;;) {
        if (!xp_skip(x))
            return S3MAP_E_MALFORMED_XML;
        if (xp_close(x, list))
            break;
        if (!xp_open(x, "Tag") || !xp_lit(x, ">"))
            return S3MAP_E_MALFORMED_XML;
        struct s3w_slice k = S3W_SLICE_NULL, v = S3W_SLICE_NULL;
        bool hk = false, hv = false;
        for (;;) {
            if (!xp_skip(x))
                return S3MAP_E_MALFORMED_XML;
            if (xp_close(x, "Tag"))
                break;
            if (xp_open(x, "Key")) {
                if (hk || !xp_element_text(x, "Key", &k))
                    return S3MAP_E_MALFORMED_XML;
                hk = true;
            } else if (xp_open(x, "Value")) {
                if (hv || !xp_element_text(x, "Value", &v))
                    return S3MAP_E_MALFORMED_XML;
                hv = true;
            } else {
                return S3MAP_E_MALFORMED_XML;
            }
        }
        if (!hk || !hv)
            return S3MAP_E_MALFORMED_XML;
        if (*n == cap)
            return S3MAP_E_INVALID_TAG; /* "Object tags cannot be greater than 10" */
        tags[*n].name = k;
        tags[*n].value = v.ptr ? v : S3W_SLICE_LIT("");
        (*n)++;
    }
    return S3MAP_OK;
}

static int parse_tagging(struct xp *x, struct s3map_tag_set *out)
{
    out->n = 0;
    if (xp_prolog_root(x, "Tagging") || !xp_skip(x) || !xp_open(x, "TagSet"))
        return S3MAP_E_MALFORMED_XML;
    bool empty = xp_lit(x, "/>"); /* an empty set removes every tag */
    if (!empty && !xp_lit(x, ">"))
        return S3MAP_E_MALFORMED_XML;
    int rc;
    if (!empty && (rc = parse_tag_entries(x, "TagSet", out->tags, S3MAP_MAX_TAGS, &out->n)))
        return rc;
    if (!xp_skip(x) || !xp_close(x, "Tagging") || !xp_skip(x) || x->p != x->end)
        return S3MAP_E_MALFORMED_XML;
    /* the tag rules proper (lengths, duplicates) */
    for (size_t i = 0; i < out->n; i++) {
        if (out->tags[i].name.len == 0 || s3map__utf8_chars(out->tags[i].name) > 128 ||
            s3map__utf8_chars(out->tags[i].value) > 256)
            return S3MAP_E_INVALID_TAG;
        for (size_t j = 0; j < i; j++)
            if (s3w_slice_eq(out->tags[j].name, out->tags[i].name))
                return S3MAP_E_INVALID_TAG;
    }
    return S3MAP_OK;
}

int s3map_parse_tagging(struct s3w_slice body, char *scratch, size_t scratch_cap,
                        struct s3map_tag_set *out)
{
    out->n = 0;
    if (body.len > S3MAP_TAGGING_MAX_BODY || body.len == 0)
        return S3MAP_E_MALFORMED_XML;
    if (scratch_cap < body.len)
        return S3MAP_E_TOO_BIG;
    struct xp x = { body.ptr, body.ptr + body.len, scratch, scratch + body.len };
    int rc = parse_tagging(&x, out);
    if (rc)
        out->n = 0;
    return rc;
}

/* ---- other bodies with condition keys --------------------------------------------- */

/* Skips one element whose "<" is at x->p: <name attrs/> or <name attrs>
 * content </name>, nested up to depth. Its text goes to scratch and is
 * dropped (scratch is sized for the whole body, so it always fits). */
static bool xp_skip_element(struct xp *x, int depth)
{
    if (depth == 0 || !xp_lit(x, "<"))
        return false;
    const char *name = x->p;
    while (x->p < x->end && !is_xml_ws(*x->p) && *x->p != '>' && *x->p != '/' && *x->p != '<')
        x->p++;
    size_t nlen = (size_t)(x->p - name);
    if (nlen == 0 || *name == '!' || *name == '?')
        return false;
    while (x->p < x->end && *x->p != '>' && *x->p != '<')
        x->p++; /* attributes: not needed (no '<' or '>' allowed unescaped in them) */
    if (x->p == x->end || *x->p == '<')
        return false;
    if (x->p[-1] == '/') { /* <name/> */
        x->p++;
        return true;
    }
    x->p++;
    for (;;) {
        struct s3w_slice t;
        char *mark = x->out;
        if (!xp_text(x, &t))
            return false;
        x->out = mark;
        if (x->end - x->p >= 2 && x->p[0] == '<' && x->p[1] == '/') {
            x->p += 2;
            if ((size_t)(x->end - x->p) < nlen || memcmp(x->p, name, nlen) != 0)
                return false;
            x->p += nlen;
            while (x->p < x->end && is_xml_ws(*x->p))
                x->p++;
            return xp_lit(x, ">");
        }
        if (xp_lit(x, "<!--")) { /* a comment inside content */
            x->p -= 4;
            if (!xp_skip(x))
                return false;
            continue;
        }
        if (x->p == x->end || !xp_skip_element(x, depth - 1))
            return false;
    }
}

/* <Root> children </Root>: each child named in names[] is read as text into
 * vals[] (once), unknown ones are skipped when skip_unknown, else refused. */
static int xp_flat_doc(struct xp *x, const char *root, const char *const *names,
                       struct s3w_slice *vals, size_t nnames, bool skip_unknown)
{
    if (xp_prolog_root(x, root))
        return S3MAP_E_MALFORMED_XML;
    for (size_t i = 0; i < nnames; i++)
        vals[i] = S3W_SLICE_NULL;
    for (;;) {
        if (!xp_skip(x))
            return S3MAP_E_MALFORMED_XML;
        if (xp_close(x, root))
            break;
        size_t i = 0;
        for (; i < nnames; i++)
            if (xp_open(x, names[i]))
                break;
        if (i < nnames) {
            if (vals[i].ptr || !xp_element_text(x, names[i], &vals[i]))
                return S3MAP_E_MALFORMED_XML;
            if (!vals[i].ptr)
                vals[i] = S3W_SLICE_LIT("");
            continue;
        }
        if (!skip_unknown || !xp_skip_element(x, 8))
            return S3MAP_E_MALFORMED_XML;
    }
    if (!xp_skip(x) || x->p != x->end)
        return S3MAP_E_MALFORMED_XML;
    return S3MAP_OK;
}

/*
 * CreateBucket: <CreateBucketConfiguration> with LocationConstraint and Tags
 * (Location and Bucket are for directory buckets: skipped). The service
 * authorization reference lists aws:RequestTag/${TagKey} and aws:TagKeys for
 * s3:CreateBucket; "included in the request context when tags are passed in
 * the request" [KEYS aws:RequestTag]. Left absent, a Deny on a forbidden tag
 * never fired and a ForAllValues allow-list of tag keys held vacuously.
 * Bucket tags: at most 50, key 1..128 and value 0..256 characters, keys
 * unique (S3 User Guide, bucket tagging); equal ignoring case is refused too,
 * as for object tags (condition key names are case-insensitive).
 */
static int create_bucket_keys(struct s3map_result *res, struct xp *x, uint64_t k,
                              struct policy_context *ctx)
{
    static const char pfx[] = "aws:RequestTag/";
    struct s3map_qparam tags[S3MAP_MAX_BUCKET_TAGS];
    size_t n = 0;
    struct s3w_slice loc = S3W_SLICE_NULL;
    bool have_tags = false;
    int rc;
    if (xp_prolog_root(x, "CreateBucketConfiguration"))
        return S3MAP_E_MALFORMED_XML;
    for (;;) {
        if (!xp_skip(x))
            return S3MAP_E_MALFORMED_XML;
        if (xp_close(x, "CreateBucketConfiguration"))
            break;
        if (xp_open(x, "LocationConstraint")) {
            if (loc.ptr || !xp_element_text(x, "LocationConstraint", &loc))
                return S3MAP_E_MALFORMED_XML;
            if (!loc.ptr)
                loc = S3W_SLICE_LIT("");
        } else if (xp_open(x, "Tags")) {
            if (have_tags)
                return S3MAP_E_MALFORMED_XML;
            have_tags = true;
            if (xp_lit(x, "/>"))
                continue;
            if (!xp_lit(x, ">"))
                return S3MAP_E_MALFORMED_XML;
            if ((rc = parse_tag_entries(x, "Tags", tags, S3MAP_MAX_BUCKET_TAGS, &n))) {
                if (rc == S3MAP_E_INVALID_TAG)
                    res->detail = "Bucket tags cannot be greater than 50";
                return rc;
            }
        } else if (!xp_skip_element(x, 8)) {
            return S3MAP_E_MALFORMED_XML;
        }
    }
    if (!xp_skip(x) || x->p != x->end)
        return S3MAP_E_MALFORMED_XML;
    if (loc.ptr && (k & S3MAP_K_LOCATION_CONSTRAINT) &&
        (rc = ctx_set(ctx, "s3:locationconstraint", loc)))
        return rc;
    if ((rc = s3map__check_tags(res, tags, n, S3MAP_MAX_BUCKET_TAGS,
                         "Bucket tags cannot be greater than 50")))
        return rc;
    for (size_t i = 0; i < n; i++) {
        res->bucket_tag_keys[i] = tags[i].name;
        size_t kl = sizeof pfx - 1 + tags[i].name.len;
        char *kp = s3map__scratch_take(res, kl);
        if (!kp)
            return S3MAP_E_TOO_BIG;
        memcpy(kp, pfx, sizeof pfx - 1);
        memcpy(kp + sizeof pfx - 1, tags[i].name.ptr, tags[i].name.len);
        if (policy_context_set(ctx, s3w_slice(kp, kl), tags[i].value))
            return S3MAP_E_CONTEXT_FULL;
    }
    /* aws:TagKeys only when tags were passed: "included ... when tags are
     * passed in the request"; <Tags/> passes an empty set */
    if (have_tags &&
        policy_context_set_multi(ctx, S3W_SLICE_LIT("aws:TagKeys"), res->bucket_tag_keys, n))
        return S3MAP_E_CONTEXT_FULL;
    /* "You must have the s3:TagResource permission to create a general
     * purpose bucket with tags" (API reference, CreateBucketConfiguration
     * Tags): a second authorization on the bucket, as x-amz-acl adds
     * s3:PutBucketAcl */
    if (n > 0) {
        if (res->nauthz == 0)
            return S3MAP_E_INVALID_ARGUMENT; /* not mapped: decide nothing */
        if ((rc = s3map__add_authz(res, "s3:TagResource", res->authz[0].resource)))
            return rc;
    }
    return S3MAP_OK;
}

static int body_keys(struct s3map_result *res, struct xp *x, int64_t now_ms,
                     struct policy_context *ctx)
{
    const char *a = res->op->actions[0];
    uint64_t k = res->op->keys;
    int rc;
    if (!strcmp(a, "s3:PutObjectTagging")) {
        struct s3map_tag_set tags;
        tags.n = 0;
        if ((rc = parse_tagging(x, &tags)))
            return rc;
        return s3map__set_tag_keys(res, tags.tags, tags.n, k, ctx);
    }
    if (!strcmp(a, "s3:PutObjectRetention")) {
        static const char *const names[] = { "Mode", "RetainUntilDate" };
        struct s3w_slice v[2];
        if ((rc = xp_flat_doc(x, "Retention", names, v, 2, false)))
            return rc;
        if (v[0].ptr && (k & S3MAP_K_LOCK_MODE) && (rc = ctx_set(ctx, "s3:object-lock-mode", v[0])))
            return rc;
        if (v[1].ptr && (k & S3MAP_K_LOCK_RETAIN_UNTIL) &&
            (rc = ctx_set(ctx, "s3:object-lock-retain-until-date", v[1])))
            return rc;
        if (v[1].ptr && (k & S3MAP_K_LOCK_REMAINING_DAYS) &&
            (rc = s3map__retention_days(res, v[1], now_ms, ctx)))
            return rc == S3MAP_E_INVALID_ARGUMENT ? S3MAP_E_MALFORMED_XML : rc;
        return S3MAP_OK;
    }
    if (!strcmp(a, "s3:PutObjectLegalHold")) {
        static const char *const names[] = { "Status" };
        struct s3w_slice v[1];
        if ((rc = xp_flat_doc(x, "LegalHold", names, v, 1, false)))
            return rc;
        if (v[0].ptr && (k & S3MAP_K_LOCK_LEGAL_HOLD) &&
            (rc = ctx_set(ctx, "s3:object-lock-legal-hold", v[0])))
            return rc;
        return S3MAP_OK;
    }
    if (!strcmp(a, "s3:CreateBucket"))
        return create_bucket_keys(res, x, k, ctx);
    return S3MAP_OK;
}

int s3map_body_context(struct s3map_result *res, struct s3w_slice body, char *scratch,
                       size_t scratch_cap, int64_t now_ms, struct policy_context *ctx)
{
    if (!res->op || !(res->flags & S3MAP_F_BODY_KEYS))
        return S3MAP_OK;
    if (body.len > S3MAP_BODY_KEYS_MAX || scratch_cap < body.len)
        return S3MAP_E_TOO_BIG;
    if (body.len == 0) {
        /* CreateBucket in us-east-1 has no body; the others need one */
        return strcmp(res->op->actions[0], "s3:CreateBucket") ? S3MAP_E_MALFORMED_XML
                                                               : S3MAP_OK;
    }
    struct xp x = { body.ptr, body.ptr + body.len, scratch, scratch + body.len };
    int rc = body_keys(res, &x, now_ms, ctx);
    if (rc == S3MAP_E_INVALID_TAG && !res->detail)
        res->detail = "invalid TagSet";
    return rc;
}
