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
#include "xml.h"

/* ---- reading a body -------------------------------------------------------------- */

/* The root, its children, and up to 8 levels inside a child that is skipped
 * (CreateBucketConfiguration's Location and elements S3 may add later). */
#define BODY_MAX_DEPTH 9

/* A body being read: the reader, and the scratch its decoded values go to
 * (as large as the body: decoding never lengthens text). */
struct body {
    struct s3w_xml x;
    char *out, *out_end;
};

static void body_init(struct body *b, struct s3w_slice doc, char *scratch)
{
    s3w_xml_init(&b->x, doc, BODY_MAX_DEPTH, 0);
    b->out = scratch;
    b->out_end = scratch + doc.len;
}

/* The start tag of the root element `root`, whose only attributes may be
 * namespace declarations (S3's xmlns). */
static bool open_root(struct body *b, const char *root)
{
    if (s3w_xml_next_tag(&b->x) || b->x.kind != S3W_XML_START || b->x.empty ||
        !eqz(b->x.name, root))
        return false;
    struct s3w_slice attrs = b->x.attrs, n, v;
    while (s3w_xml_attr_next(&attrs, &n, &v))
        if (!eqz(n, "xmlns") && !s3w_slice_starts_with(n, S3W_SLICE_LIT("xmlns:")))
            return false;
    return true;
}

/* The next child of the open element: 1 at its start tag, 0 at the open
 * element's end tag, -1 on an error (text between elements included). */
static int next_child(struct body *b)
{
    if (s3w_xml_next_tag(&b->x))
        return -1;
    return b->x.kind == S3W_XML_START ? 1 : b->x.kind == S3W_XML_END ? 0 : -1;
}

/* The current start tag is <name>, written as S3 documents it: without
 * attributes, so <Keys> is not <Key> and <Key a="1"> is some other element
 * (<Key > and <TagSet /> are <Key> and <TagSet>: botocore writes an empty
 * element so). */
static bool is(const struct body *b, const char *name)
{
    return b->x.attrs.len == 0 && eqz(b->x.name, name);
}

/* The current element as a leaf, its text decoded into scratch. The value
 * is never NULL: <Key/> and <Key></Key> give an empty one. */
static bool leaf(struct body *b, struct s3w_slice *out)
{
    struct s3w_slice raw;
    if (s3w_xml_leaf(&b->x, &raw))
        return false;
    long n = s3w_xml_decode(raw, b->out, (size_t)(b->out_end - b->out));
    if (n < 0)
        return false;
    *out = s3w_slice(b->out, (size_t)n);
    b->out += n;
    return true;
}

/* The children of the open element, up to its end tag: each one named in
 * names[] is a leaf read once into vals[] (ptr NULL when absent); any other
 * child is skipped when skip_unknown, else refused. */
static bool flat_children(struct body *b, const char *const *names, struct s3w_slice *vals,
                          size_t nnames, bool skip_unknown)
{
    for (size_t i = 0; i < nnames; i++)
        vals[i] = S3W_SLICE_NULL;
    int c;
    while ((c = next_child(b)) == 1) {
        size_t i = 0;
        while (i < nnames && !is(b, names[i]))
            i++;
        if (i < nnames) {
            if (vals[i].ptr || !leaf(b, &vals[i]))
                return false;
        } else if (!skip_unknown || s3w_xml_skip(&b->x)) {
            return false;
        }
    }
    return c == 0;
}

/* After the root's end tag: only whitespace and comments. */
static bool at_end(struct body *b)
{
    return s3w_xml_next_tag(&b->x) == 0 && b->x.kind == S3W_XML_EOF;
}

/* ---- DeleteObjects body -------------------------------------------------------- */

static bool delete_object(struct body *b, struct s3map_delete_object *obj)
{
    /* ETag, LastModifiedTime, Size: the conditions of a conditional
     * delete, not authorization inputs - read (once each) and kept for the
     * body sent upstream */
    static const char *const names[] = { "Key", "VersionId", "ETag", "LastModifiedTime", "Size" };
    struct s3w_slice v[5];
    if (!flat_children(b, names, v, 5, false))
        return false;
    *obj = (struct s3map_delete_object){ v[0], v[1], v[2], v[3], v[4] };
    if (!obj->key.ptr || obj->key.len == 0 || obj->key.len > S3MAP_MAX_KEY_BYTES)
        return false;
    return !(obj->version_id.ptr && obj->version_id.len == 0);
}

static int parse_delete(struct body *b, struct s3map_delete_list *out)
{
    bool have_quiet = false;
    if (!open_root(b, "Delete"))
        return S3MAP_E_MALFORMED_XML;
    int c;
    while ((c = next_child(b)) == 1) {
        if (is(b, "Object")) {
            if (out->n == S3MAP_DELETE_MAX_KEYS)
                return S3MAP_E_MALFORMED_XML; /* S3: at most 1000 keys */
            if (!delete_object(b, &out->objects[out->n]))
                return S3MAP_E_MALFORMED_XML;
            out->n++;
        } else if (is(b, "Quiet")) {
            struct s3w_slice q;
            if (have_quiet || !leaf(b, &q))
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
    if (c < 0 || !at_end(b) || out->n == 0)
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
    struct body b;
    body_init(&b, body, scratch);
    int rc = parse_delete(&b, out);
    if (rc)
        out->n = 0; /* nothing half-parsed is ever authorized */
    return rc;
}

/* ---- PutObjectTagging body ------------------------------------------------------ */

/* <Tag><Key>k</Key><Value>v</Value></Tag>... up to the end tag of the open
 * list element (TagSet, Tags) into tags[0..cap). */
static int tag_entries(struct body *b, struct s3map_qparam *tags, size_t cap, size_t *n)
{
    static const char *const names[] = { "Key", "Value" };
    *n = 0;
    int c;
    while ((c = next_child(b)) == 1) {
        struct s3w_slice kv[2];
        if (!is(b, "Tag") || !flat_children(b, names, kv, 2, false) || !kv[0].ptr || !kv[1].ptr)
            return S3MAP_E_MALFORMED_XML;
        if (*n == cap)
            return S3MAP_E_INVALID_TAG; /* "Object tags cannot be greater than 10" */
        tags[*n].name = kv[0];
        tags[*n].value = kv[1];
        (*n)++;
    }
    return c == 0 ? S3MAP_OK : S3MAP_E_MALFORMED_XML;
}

static int parse_tagging(struct body *b, struct s3map_tag_set *out)
{
    out->n = 0;
    if (!open_root(b, "Tagging") || next_child(b) != 1 || !is(b, "TagSet"))
        return S3MAP_E_MALFORMED_XML;
    /* <TagSet/>, an empty set, removes every tag */
    int rc = tag_entries(b, out->tags, S3MAP_MAX_TAGS, &out->n);
    if (rc)
        return rc;
    if (next_child(b) != 0 || !at_end(b)) /* </Tagging>, then nothing */
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
    struct body b;
    body_init(&b, body, scratch);
    int rc = parse_tagging(&b, out);
    if (rc)
        out->n = 0;
    return rc;
}

/* ---- other bodies with condition keys --------------------------------------------- */

/* <Root> leaf children </Root>: each child named in names[] read into vals[]
 * (once); any other child is refused. */
static int flat_doc(struct body *b, const char *root, const char *const *names,
                    struct s3w_slice *vals, size_t nnames)
{
    if (!open_root(b, root) || !flat_children(b, names, vals, nnames, false) || !at_end(b))
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
static int create_bucket_keys(struct s3map_result *res, struct body *b, uint64_t k,
                              struct policy_context *ctx)
{
    struct s3map_qparam tags[S3MAP_MAX_BUCKET_TAGS];
    size_t n = 0;
    struct s3w_slice loc = S3W_SLICE_NULL;
    bool have_tags = false;
    int rc, c;
    if (!open_root(b, "CreateBucketConfiguration"))
        return S3MAP_E_MALFORMED_XML;
    while ((c = next_child(b)) == 1) {
        if (is(b, "LocationConstraint")) {
            if (loc.ptr || !leaf(b, &loc))
                return S3MAP_E_MALFORMED_XML;
        } else if (is(b, "Tags")) {
            if (have_tags)
                return S3MAP_E_MALFORMED_XML;
            have_tags = true; /* <Tags/> too: an empty set */
            if ((rc = tag_entries(b, tags, S3MAP_MAX_BUCKET_TAGS, &n))) {
                if (rc == S3MAP_E_INVALID_TAG)
                    res->detail = "Bucket tags cannot be greater than 50";
                return rc;
            }
        } else if (s3w_xml_skip(&b->x)) { /* Location, Bucket: directory buckets */
            return S3MAP_E_MALFORMED_XML;
        }
    }
    if (c < 0 || !at_end(b))
        return S3MAP_E_MALFORMED_XML;
    if (loc.ptr && (k & S3MAP_K_LOCATION_CONSTRAINT) &&
        (rc = ctx_set(ctx, "s3:locationconstraint", loc)))
        return rc;
    if ((rc = s3map__check_tags(res, tags, n, S3MAP_MAX_BUCKET_TAGS,
                                "Bucket tags cannot be greater than 50")))
        return rc;
    for (size_t i = 0; i < n; i++) {
        res->bucket_tag_keys[i] = tags[i].name;
        if ((rc = s3map__set_tag_key(res, S3W_SLICE_LIT("aws:RequestTag/"), tags[i].name,
                                     tags[i].value, ctx)))
            return rc;
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

static int body_keys(struct s3map_result *res, struct body *b, int64_t now_ms,
                     struct policy_context *ctx)
{
    const char *a = res->op->actions[0];
    uint64_t k = res->op->keys;
    int rc;
    if (!strcmp(a, "s3:PutObjectTagging")) {
        struct s3map_tag_set tags;
        tags.n = 0;
        if ((rc = parse_tagging(b, &tags)))
            return rc;
        return s3map__set_tag_keys(res, tags.tags, tags.n, k, ctx);
    }
    if (!strcmp(a, "s3:PutObjectRetention")) {
        static const char *const names[] = { "Mode", "RetainUntilDate" };
        struct s3w_slice v[2];
        if ((rc = flat_doc(b, "Retention", names, v, 2)))
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
        if ((rc = flat_doc(b, "LegalHold", names, v, 1)))
            return rc;
        if (v[0].ptr && (k & S3MAP_K_LOCK_LEGAL_HOLD) &&
            (rc = ctx_set(ctx, "s3:object-lock-legal-hold", v[0])))
            return rc;
        return S3MAP_OK;
    }
    if (!strcmp(a, "s3:CreateBucket"))
        return create_bucket_keys(res, b, k, ctx);
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
    struct body b;
    body_init(&b, body, scratch);
    int rc = body_keys(res, &b, now_ms, ctx);
    if (rc == S3MAP_E_INVALID_TAG && !res->detail)
        res->detail = "invalid TagSet";
    return rc;
}
