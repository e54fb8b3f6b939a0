/* replay_record.c - an audit record's JSON, scanned (replay_record.h). */
#include "replay_record.h"

#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define REPLAY_DEPTH_MAX 16

struct scan {
    const char *p, *end;
    struct replay_rec *r;
    bool bad;
};

static void ws(struct scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\r' || *s->p == '\n'))
        s->p++;
}

static bool eat(struct scan *s, char c)
{
    ws(s);
    if (s->p < s->end && *s->p == c) {
        s->p++;
        return true;
    }
    return false;
}

static int hexv(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static bool hex4(const char *p, unsigned *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexv(p[i]);
        if (h < 0)
            return false;
        *v = *v << 4 | (unsigned)h;
    }
    return true;
}

/* The closing quote of a JSON string whose body starts at b, or NULL; *esc
 * set when the body has a backslash. Replay's speed is this scan's: 16
 * bytes a step looking for both '"' and '\\' (SSE2, every x86-64), the
 * tail a byte a step. */
static const char *string_end(const char *b, const char *end, bool *esc)
{
    const char *q = b;
    *esc = false;
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
    while (end - q >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)q);
        unsigned m = (unsigned)_mm_movemask_epi8(
            _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)));
        if (!m) {
            q += 16;
            continue;
        }
        q += __builtin_ctz(m);
        if (*q == '"')
            return q;
        *esc = true;
        q += 2; /* the escaped byte may be a quote */
    }
#endif
    while (q < end) {
        char c = *q;
        if (c == '"')
            return q;
        if (c == '\\') {
            *esc = true;
            q += 2;
            continue;
        }
        q++;
    }
    return NULL;
}

/* A JSON string at s->p into *out: a slice of the line when it has no
 * escape, else decoded into the record's scratch. */
static bool str(struct scan *s, struct s3w_slice *out)
{
    ws(s);
    if (s->p >= s->end || *s->p != '"')
        return false;
    const char *b = ++s->p;
    bool esc;
    const char *q = string_end(b, s->end, &esc);
    if (!q)
        return false;
    s->p = q + 1;
    if (!esc) {
        *out = s3w_slice(b, (size_t)(q - b));
        return true;
    }
    struct replay_rec *r = s->r;
    char *o = r->scratch + r->scratch_used;
    size_t n = 0, room = r->scratch_cap - r->scratch_used;
    for (const char *c = b; c < q; c++) {
        if (n + 4 > room)
            return false;
        if (*c != '\\') {
            o[n++] = *c;
            continue;
        }
        c++;
        switch (*c) {
        case 'n': o[n++] = '\n'; break;
        case 't': o[n++] = '\t'; break;
        case 'r': o[n++] = '\r'; break;
        case 'b': o[n++] = '\b'; break;
        case 'f': o[n++] = '\f'; break;
        case 'u': {
            unsigned cp;
            if (q - c < 5 || !hex4(c + 1, &cp))
                return false;
            c += 4;
            if (cp >= 0xd800 && cp <= 0xdbff && q - c >= 7 && c[1] == '\\' && c[2] == 'u') {
                unsigned lo;
                if (hex4(c + 3, &lo) && lo >= 0xdc00 && lo <= 0xdfff) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    c += 6;
                }
            }
            if (cp < 0x80) {
                o[n++] = (char)cp;
            } else if (cp < 0x800) {
                o[n++] = (char)(0xc0 | cp >> 6);
                o[n++] = (char)(0x80 | (cp & 0x3f));
            } else if (cp < 0x10000) {
                o[n++] = (char)(0xe0 | cp >> 12);
                o[n++] = (char)(0x80 | (cp >> 6 & 0x3f));
                o[n++] = (char)(0x80 | (cp & 0x3f));
            } else {
                o[n++] = (char)(0xf0 | cp >> 18);
                o[n++] = (char)(0x80 | (cp >> 12 & 0x3f));
                o[n++] = (char)(0x80 | (cp >> 6 & 0x3f));
                o[n++] = (char)(0x80 | (cp & 0x3f));
            }
            break;
        }
        default: o[n++] = *c; break; /* \" \\ \/ */
        }
    }
    r->scratch_used += n;
    *out = s3w_slice(o, n);
    return true;
}

static bool skip(struct scan *s, int depth)
{
    ws(s);
    if (s->p >= s->end || depth > REPLAY_DEPTH_MAX)
        return false;
    char c = *s->p;
    if (c == '"') {
        bool esc;
        const char *q = string_end(s->p + 1, s->end, &esc);
        if (!q)
            return false;
        s->p = q + 1;
        return true;
    }
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        s->p++;
        if (eat(s, close))
            return true;
        do {
            /* an object member's name, then its value */
            if (c == '{' && (!skip(s, depth + 1) || !eat(s, ':')))
                return false;
            if (!skip(s, depth + 1))
                return false;
        } while (eat(s, ','));
        return eat(s, close);
    }
    while (s->p < s->end && *s->p != ',' && *s->p != '}' && *s->p != ']' && *s->p != ' ')
        s->p++;
    return true;
}

/* ["a","b"] into out[0..*n) (at most max; more is an error) */
static bool str_array(struct scan *s, struct s3w_slice *out, size_t max, size_t *n)
{
    *n = 0;
    if (!eat(s, '['))
        return false;
    if (eat(s, ']'))
        return true;
    do {
        if (*n == max || !str(s, &out[(*n)++]))
            return false;
    } while (eat(s, ','));
    return eat(s, ']');
}

/* Scans an object, calling f for each key with s->p at its value. */
typedef bool (*member_fn)(struct scan *s, struct s3w_slice key);

static bool object(struct scan *s, member_fn f)
{
    if (!eat(s, '{'))
        return false;
    if (eat(s, '}'))
        return true;
    do {
        struct s3w_slice k;
        if (!str(s, &k) || !eat(s, ':') || !f(s, k))
            return false;
    } while (eat(s, ','));
    return eat(s, '}');
}

static bool value_or_null(struct scan *s, struct s3w_slice *out)
{
    ws(s);
    if (s->end - s->p >= 4 && memcmp(s->p, "null", 4) == 0) {
        s->p += 4;
        *out = S3W_SLICE_NULL;
        return true;
    }
    return str(s, out);
}

static bool m_identity(struct scan *s, struct s3w_slice k)
{
    if (KEQ(k, "type"))
        return value_or_null(s, &s->r->id_type);
    if (KEQ(k, "arn"))
        return value_or_null(s, &s->r->arn);
    if (KEQ(k, "accessKeyId"))
        return value_or_null(s, &s->r->access_key_id);
    return skip(s, 1);
}

static bool m_params(struct scan *s, struct s3w_slice k)
{
    if (KEQ(k, "bucketName"))
        return value_or_null(s, &s->r->bucket);
    if (KEQ(k, "key"))
        return value_or_null(s, &s->r->key);
    return skip(s, 1);
}

/* The record's keys are the members of one JSON object written from a
 * policy_context, so distinct: they are appended without the search
 * policy_context_set does (a hand-edited duplicate would be shadowed by
 * its first occurrence, as policy_context_get reads). */
static bool m_context(struct scan *s, struct s3w_slice k)
{
    struct replay_rec *r = s->r;
    if (r->ctx.n == POLICY_CTX_MAX_KEYS)
        return false;
    struct policy_ctx_entry *e = &r->ctx.entries[r->ctx.n];
    ws(s);
    if (s->p < s->end && *s->p == '[') {
        size_t n;
        if (!str_array(s, r->values + r->nvalues, REPLAY_MAX_VALUES - r->nvalues, &n))
            return false;
        *e = (struct policy_ctx_entry){ .key = k, .values = r->values + r->nvalues, .nvalues = n,
                                        .multi = true };
        r->nvalues += n;
    } else {
        if (!str(s, &e->one))
            return false;
        e->key = k;
        e->values = &e->one;
        e->nvalues = 1;
        e->multi = false;
    }
    r->ctx.n++;
    return true;
}

/* A session tag, as AssumeRole takes them (sts.c: 1-128 byte keys, values
 * up to 256), or not a record. */
static bool m_tags(struct scan *s, struct s3w_slice k)
{
    struct replay_rec *r = s->r;
    if (r->ntags == REPLAY_MAX_TAGS || k.len == 0 || k.len > REPLAY_TAG_KEY_MAX)
        return false;
    struct s3w_slice *v = &r->tag_values[r->ntags];
    if (!str(s, v) || v->len > REPLAY_TAG_VALUE_MAX)
        return false;
    r->tag_keys[r->ntags++] = k;
    return true;
}

static bool m_top(struct scan *s, struct s3w_slice k)
{
    struct replay_rec *r = s->r;
    switch (k.len ? k.ptr[0] : 0) {
    case 'a':
        if (KEQ(k, "actions"))
            return str_array(s, r->actions, AUDIT_MAX_AUTHZ, &r->nactions);
        break;
    case 'd':
        if (KEQ(k, "decision"))
            return value_or_null(s, &r->decision);
        if (KEQ(k, "decidingStatements"))
            return value_or_null(s, &r->deciding);
        break;
    case 'e':
        if (KEQ(k, "eventName"))
            return value_or_null(s, &r->event_name);
        if (KEQ(k, "eventTime"))
            return value_or_null(s, &r->event_time);
        break;
    case 'r':
        if (KEQ(k, "resources"))
            return str_array(s, r->resources, AUDIT_MAX_AUTHZ, &r->nresources);
        if (KEQ(k, "requestID"))
            return value_or_null(s, &r->request_id);
        if (KEQ(k, "requestParameters"))
            return object(s, m_params);
        if (KEQ(k, "requestContext")) {
            r->has_context = true;
            return object(s, m_context);
        }
        break;
    case 's':
        if (KEQ(k, "sessionPolicy")) {
            r->has_session_policy = true;
            return value_or_null(s, &r->session_policy);
        }
        if (KEQ(k, "sessionTags")) {
            r->has_session_tags = true;
            return object(s, m_tags);
        }
        break;
    case 'u':
        if (KEQ(k, "userIdentity"))
            return object(s, m_identity);
        break;
    case 't':
        if (KEQ(k, "truncated")) {
            struct s3w_slice names[32];
            size_t n;
            if (!str_array(s, names, 32, &n))
                return false;
            for (size_t i = 0; i < n; i++) {
                if (s3w_slice_eq_cstr(names[i], "requestContext"))
                    r->context_truncated = true;
                if (s3w_slice_eq_cstr(names[i], "sessionPolicy"))
                    r->session_policy_truncated = true;
                if (s3w_slice_eq_cstr(names[i], "sessionTags"))
                    r->session_tags_truncated = true;
            }
            return true;
        }
        break;
    }
    return skip(s, 1);
}

bool replay_rec_scan(struct replay_rec *r, const char *line, size_t len)
{
    r->request_id = r->event_time = r->id_type = r->arn = r->event_name = S3W_SLICE_NULL;
    r->access_key_id = r->session_policy = S3W_SLICE_NULL;
    r->bucket = r->key = r->decision = r->deciding = S3W_SLICE_NULL;
    r->nactions = r->nresources = r->nvalues = r->scratch_used = 0;
    r->has_context = r->context_truncated = false;
    r->has_session_policy = r->session_policy_truncated = false;
    r->has_session_tags = r->session_tags_truncated = false;
    r->ntags = 0;
    r->ctx.n = 0;
    struct scan s = { line, line + len, r, false };
    return object(&s, m_top);
}
