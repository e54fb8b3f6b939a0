/* xml.c - see xml.h. */
#include "xml.h"

#include "codec.h"

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* A byte no XML document holds raw (XML 1.0, 2.2 "Char"). */
static bool is_bad_ctl(char c)
{
    return (unsigned char)c < 0x20 && !is_ws(c);
}

/* XML 1.0 NameStartChar / NameChar, ASCII part; any non-ASCII byte is taken
 * as part of a name (names are compared as bytes). */
static bool name_start(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == ':' ||
           (unsigned char)c >= 0x80;
}

static bool name_char(char c)
{
    return name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

static bool has(const char *p, const char *end, const char *lit, size_t n)
{
    return (size_t)(end - p) >= n && memcmp(p, lit, n) == 0;
}
#define HAS(p, end, lit) has((p), (end), (lit), sizeof(lit) - 1)

/* XML 1.0 "Char": #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF] */
static bool xml_char_ok(uint32_t c)
{
    return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF) ||
           (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF);
}

/* The reference at p ('&'): its code point and length; false when it is no
 * predefined entity or character reference to an XML Char (a document
 * cannot declare entities: no DOCTYPE gets through). */
static bool reference(const char *p, const char *end, uint32_t *cp, size_t *len)
{
    static const struct {
        const char *name;
        size_t n;
        char c;
    } named[] = {
        { "&amp;", 5, '&' }, { "&lt;", 4, '<' }, { "&gt;", 4, '>' },
        { "&quot;", 6, '"' }, { "&apos;", 6, '\'' },
    };
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
        if (has(p, end, named[i].name, named[i].n)) {
            *cp = (unsigned char)named[i].c;
            *len = named[i].n;
            return true;
        }
    const char *q = p + 1;
    if (q == end || *q++ != '#')
        return false;
    bool hex = q < end && *q == 'x';
    q += hex;
    uint32_t v = 0;
    size_t digits = 0;
    for (; q < end && *q != ';'; q++) {
        int d = hex ? s3w_hex_digit((unsigned char)*q) : (*q >= '0' && *q <= '9' ? *q - '0' : -1);
        if (d < 0 || ++digits > 8)
            return false;
        v = v * (hex ? 16u : 10u) + (uint32_t)d;
    }
    if (q == end || digits == 0 || !xml_char_ok(v))
        return false;
    *cp = v;
    *len = (size_t)(q + 1 - p);
    return true;
}

/* p at "<![CDATA[": the position after its "]]>", or NULL (unterminated, or
 * a control byte). */
static const char *cdata_end(const char *p, const char *end)
{
    for (p += 9; end - p >= 3; p++) {
        if (p[0] == ']' && p[1] == ']' && p[2] == '>')
            return p + 3;
        if (is_bad_ctl(*p))
            return NULL;
    }
    return NULL;
}

/* p at "<!--": the position after its "-->", or NULL ("--" inside, or
 * unterminated: XML 1.0, 2.5). */
static const char *comment_end(const char *p, const char *end)
{
    for (p += 4; end - p >= 3; p++)
        if (p[0] == '-' && p[1] == '-')
            return p[2] == '>' ? p + 3 : NULL;
    return NULL;
}

void s3w_xml_init(struct s3w_xml *x, struct s3w_slice doc, int max_depth, unsigned flags)
{
    memset(x, 0, sizeof *x);
    x->p = doc.ptr;
    x->end = doc.ptr ? doc.ptr + doc.len : NULL;
    x->flags = flags;
    x->max_depth = max_depth < 1 ? 1 : max_depth > S3W_XML_MAX_DEPTH ? S3W_XML_MAX_DEPTH
                                                                      : max_depth;
}

/* [BOM] ["<?xml" ws (names, '=', quotes, ws) "?>"] at the very start. */
static int prolog(struct s3w_xml *x)
{
    if (HAS(x->p, x->end, "\xEF\xBB\xBF"))
        x->p += 3;
    if (!HAS(x->p, x->end, "<?xml") || x->end - x->p < 6 || !is_ws(x->p[5]))
        return 0; /* any other "<?" is refused as a processing instruction */
    for (const char *q = x->p + 5; q < x->end; q++) {
        if (q[0] == '?' && q + 1 < x->end && q[1] == '>') {
            x->p = q + 2;
            return 0;
        }
        if (!name_char(*q) && !is_ws(*q) && *q != '=' && *q != '"' && *q != '\'')
            return S3W_E_INVAL;
    }
    return S3W_E_INVAL;
}

/* Character data, references and CDATA sections up to the next markup. */
static int text(struct s3w_xml *x)
{
    const char *start = x->p;
    bool ws_only = true;
    while (x->p < x->end) {
        char c = *x->p;
        if (c == '<') {
            if (!HAS(x->p, x->end, "<![CDATA["))
                break;
            if ((x->flags & S3W_XML_PLAIN) || !(x->p = cdata_end(x->p, x->end)))
                return S3W_E_INVAL;
            ws_only = false;
            continue;
        }
        if (c == '&') {
            uint32_t cp;
            size_t n;
            if (!reference(x->p, x->end, &cp, &n))
                return S3W_E_INVAL;
            x->p += n;
            ws_only = false;
            continue;
        }
        if (is_bad_ctl(c))
            return S3W_E_INVAL;
        ws_only = ws_only && is_ws(c);
        x->p++;
    }
    if (x->depth == 0 && !ws_only)
        return S3W_E_INVAL; /* text outside the root */
    x->kind = S3W_XML_TEXT;
    x->ws_only = ws_only;
    x->raw = s3w_slice(start, (size_t)(x->p - start));
    return 0;
}

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && is_ws(*p))
        p++;
    return p;
}

static const char *name_end(const char *p, const char *end)
{
    if (p == end || !name_start(*p))
        return NULL;
    while (p < end && name_char(*p))
        p++;
    return p;
}

/* x->p at '<' of a start tag. */
static int start_tag(struct s3w_xml *x)
{
    const char *start = x->p, *n0 = x->p + 1, *q = name_end(n0, x->end);
    if (!q || (x->depth == 0 && x->seen_root) || x->depth == x->max_depth)
        return S3W_E_INVAL; /* no name, a second root, too deep */
    const char *a0 = q, *first = NULL;
    for (;;) {
        const char *w = skip_ws(q, x->end);
        if (w == x->end)
            return S3W_E_INVAL;
        if (*w == '>' || *w == '/') {
            /* from the first attribute's name to the last one's closing
             * quote: whitespace before '>' or "/>" is not an attribute
             * (XML 1.0, STag and EmptyElemTag; botocore writes <TagSet />) */
            x->attrs = first ? s3w_slice(first, (size_t)(q - first)) : s3w_slice(a0, 0);
            if (*w == '/' && (w + 1 == x->end || w[1] != '>'))
                return S3W_E_INVAL;
            x->empty = *w == '/';
            q = w + 1 + x->empty;
            break;
        }
        if (w == q || !(q = name_end(w, x->end)))
            return S3W_E_INVAL; /* attributes are separated by whitespace */
        if (!first)
            first = w;
        q = skip_ws(q, x->end);
        if (q == x->end || *q++ != '=')
            return S3W_E_INVAL;
        q = skip_ws(q, x->end);
        if (q == x->end || (*q != '"' && *q != '\''))
            return S3W_E_INVAL;
        char quote = *q++;
        /* no '<' (XML 1.0, AttValue) and no reference: nothing in a value
         * may read differently decoded and undecoded */
        while (q < x->end && *q != quote && *q != '<' && *q != '&' && !is_bad_ctl(*q))
            q++;
        if (q == x->end || *q != quote)
            return S3W_E_INVAL;
        q++;
    }
    x->kind = S3W_XML_START;
    x->name = s3w_slice(n0, (size_t)(a0 - n0));
    x->raw = s3w_slice(start, (size_t)(q - start));
    x->open[x->depth++] = x->name;
    x->seen_root = true;
    x->pending_end = x->empty;
    x->p = q;
    return 0;
}

/* x->p at "</". */
static int end_tag(struct s3w_xml *x)
{
    const char *start = x->p, *n0 = x->p + 2, *q = name_end(n0, x->end);
    if (!q || x->depth == 0)
        return S3W_E_INVAL;
    struct s3w_slice name = s3w_slice(n0, (size_t)(q - n0));
    q = skip_ws(q, x->end);
    if (q == x->end || *q != '>' || !s3w_slice_eq(name, x->open[x->depth - 1]))
        return S3W_E_INVAL; /* cut short, or not the open element's end */
    x->depth--;
    x->kind = S3W_XML_END;
    x->name = name;
    x->raw = s3w_slice(start, (size_t)(q + 1 - start));
    x->p = q + 1;
    return 0;
}

int s3w_xml_next(struct s3w_xml *x)
{
    x->name = x->attrs = S3W_SLICE_NULL;
    x->empty = x->ws_only = x->after_comment = false;
    if (!x->p)
        return S3W_E_INVAL;
    if (!x->started) {
        x->started = true;
        if (prolog(x))
            return S3W_E_INVAL;
    }
    if (x->pending_end) { /* the END of "<a/>" */
        x->pending_end = false;
        x->kind = S3W_XML_END;
        x->name = x->open[--x->depth];
        x->raw = s3w_slice(x->p, 0);
        return 0;
    }
    for (;;) {
        if (x->p == x->end) {
            if (x->depth > 0 || !x->seen_root)
                return S3W_E_INVAL;
            x->kind = S3W_XML_EOF;
            x->raw = s3w_slice(x->p, 0);
            return 0;
        }
        if (*x->p != '<' || (x->depth > 0 && HAS(x->p, x->end, "<![CDATA[")))
            return text(x);
        if (HAS(x->p, x->end, "<!--")) {
            if ((x->flags & S3W_XML_PLAIN) || !(x->p = comment_end(x->p, x->end)))
                return S3W_E_INVAL;
            x->after_comment = true;
            continue;
        }
        if (x->end - x->p < 2 || x->p[1] == '!' || x->p[1] == '?')
            return S3W_E_INVAL; /* DOCTYPE and other declarations, PIs */
        return x->p[1] == '/' ? end_tag(x) : start_tag(x);
    }
}

int s3w_xml_next_tag(struct s3w_xml *x)
{
    for (;;) {
        if (s3w_xml_next(x))
            return S3W_E_INVAL;
        if (x->kind != S3W_XML_TEXT)
            return 0;
        if (!x->ws_only)
            return S3W_E_INVAL;
    }
}

int s3w_xml_leaf(struct s3w_xml *x, struct s3w_slice *text_out)
{
    if (x->kind != S3W_XML_START)
        return S3W_E_INVAL;
    *text_out = s3w_slice(x->raw.ptr + x->raw.len, 0);
    if (s3w_xml_next(x))
        return S3W_E_INVAL;
    if (x->kind == S3W_XML_TEXT) {
        if (x->after_comment)
            return S3W_E_INVAL;
        *text_out = x->raw;
        if (s3w_xml_next(x))
            return S3W_E_INVAL;
    }
    /* an END right after the START or its text closes it: the reader
     * matched the name */
    return x->kind == S3W_XML_END && !x->after_comment ? 0 : S3W_E_INVAL;
}

int s3w_xml_skip(struct s3w_xml *x)
{
    if (x->kind != S3W_XML_START)
        return S3W_E_INVAL;
    int target = x->depth - 1;
    do {
        if (s3w_xml_next(x) || x->kind == S3W_XML_EOF)
            return S3W_E_INVAL;
    } while (x->kind != S3W_XML_END || x->depth != target);
    return 0;
}

static size_t put_utf8(char *b, uint32_t cp)
{
    if (cp < 0x80) {
        b[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        b[0] = (char)(0xC0 | cp >> 6);
        b[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        b[0] = (char)(0xE0 | cp >> 12);
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    b[0] = (char)(0xF0 | cp >> 18);
    b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    b[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

long s3w_xml_decode(struct s3w_slice raw, char *out, size_t cap)
{
    const char *p = raw.ptr, *end = raw.ptr + raw.len;
    size_t o = 0;
    while (p < end) {
        if (*p == '<') {
            const char *ce;
            if (!HAS(p, end, "<![CDATA[") || !(ce = cdata_end(p, end)))
                return S3W_E_INVAL;
            size_t n = (size_t)(ce - 3 - (p + 9));
            if (cap - o < n)
                return S3W_E_TOOBIG;
            memcpy(out + o, p + 9, n);
            o += n;
            p = ce;
            continue;
        }
        char b[4];
        size_t n = 1, adv = 1;
        if (*p == '&') {
            uint32_t cp;
            if (!reference(p, end, &cp, &adv))
                return S3W_E_INVAL;
            n = put_utf8(b, cp);
        } else if (is_bad_ctl(*p)) {
            return S3W_E_INVAL;
        } else {
            b[0] = *p;
        }
        if (cap - o < n)
            return S3W_E_TOOBIG;
        memcpy(out + o, b, n);
        o += n;
        p += adv;
    }
    return (long)o;
}

bool s3w_xml_attr_next(struct s3w_slice *attrs, struct s3w_slice *name, struct s3w_slice *value)
{
    const char *p = skip_ws(attrs->ptr, attrs->ptr + attrs->len), *end = attrs->ptr + attrs->len;
    const char *q = name_end(p, end);
    if (!q)
        return false;
    *name = s3w_slice(p, (size_t)(q - p));
    q = skip_ws(q, end);
    if (q == end || *q != '=')
        return false;
    q = skip_ws(q + 1, end);
    if (q == end)
        return false;
    char quote = *q++;
    const char *v = q;
    while (q < end && *q != quote)
        q++;
    if (q == end)
        return false;
    *value = s3w_slice(v, (size_t)(q - v));
    *attrs = s3w_slice(q + 1, (size_t)(end - q - 1));
    return true;
}

int s3w_xml_escape(struct s3w_buf *out, struct s3w_slice s, unsigned flags)
{
    bool quotes = flags & S3W_XML_ESC_QUOTES;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.ptr[i];
        int rc;
        switch (c) {
        case '&': rc = s3w_buf_append_cstr(out, "&amp;"); break;
        case '<': rc = s3w_buf_append_cstr(out, "&lt;"); break;
        case '>': rc = s3w_buf_append_cstr(out, "&gt;"); break;
        case '"':
            rc = quotes ? s3w_buf_append_cstr(out, "&quot;") : s3w_buf_append_char(out, c);
            break;
        case '\'':
            rc = quotes ? s3w_buf_append_cstr(out, "&apos;") : s3w_buf_append_char(out, c);
            break;
        case '\r':
            rc = flags & S3W_XML_ESC_CR ? s3w_buf_append_cstr(out, "&#13;")
                                        : s3w_buf_append_char(out, c);
            break;
        default: rc = s3w_buf_append_char(out, is_bad_ctl(c) ? '?' : c);
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}

int s3w_xml_elem(struct s3w_buf *out, const char *name, struct s3w_slice value, unsigned flags)
{
    int rc = s3w_buf_printf(out, "<%s>", name);
    rc = rc ? rc : s3w_xml_escape(out, value, flags);
    return rc ? rc : s3w_buf_printf(out, "</%s>", name);
}
