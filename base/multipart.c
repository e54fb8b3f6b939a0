/*
 * multipart.c - the streaming multipart/form-data reader (multipart.h).
 */
#include "multipart.h"

#include <string.h>
#include <strings.h>

static bool lower_eq(struct s3w_slice a, const char *b)
{
    return s3w_slice_eq_nocase(a, s3w_slice_cstr(b));
}

/* The value of parameter `param` in a header value "type; a=b; c="d""
 * (the quotes taken off; RFC 9110 5.6.6, RFC 7578 4.2), or ptr NULL. A
 * quoted value runs to the next quote (browsers send a quote in a name as
 * %22, RFC 7578 4.2). */
static struct s3w_slice header_param(struct s3w_slice v, const char *param)
{
    const char *p = v.ptr, *end = v.ptr + v.len;
    const char *semi = p ? memchr(p, ';', v.len) : NULL;
    if (!semi)
        return S3W_SLICE_NULL;
    p = semi + 1;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        const char *n0 = p;
        while (p < end && *p != '=' && *p != ';')
            p++;
        struct s3w_slice n = s3w_slice_trim(s3w_slice(n0, (size_t)(p - n0)));
        struct s3w_slice val = S3W_SLICE_NULL;
        if (p < end && *p == '=') {
            p++;
            while (p < end && (*p == ' ' || *p == '\t'))
                p++;
            if (p < end && *p == '"') {
                const char *q = memchr(p + 1, '"', (size_t)(end - p - 1));
                if (!q)
                    return S3W_SLICE_NULL;
                val = s3w_slice(p + 1, (size_t)(q - p - 1));
                p = q + 1;
            } else {
                const char *v0 = p;
                while (p < end && *p != ';')
                    p++;
                val = s3w_slice_trim(s3w_slice(v0, (size_t)(p - v0)));
            }
        }
        if (val.ptr && lower_eq(n, param))
            return val;
        while (p < end && *p != ';')
            p++;
        p++;
    }
    return S3W_SLICE_NULL;
}

int mp_init(struct mp_form *f, struct s3w_slice ct, uint64_t content_length,
            mp_file_start_fn on_start, mp_file_data_fn on_data, void *ud)
{
    memset(f, 0, sizeof(*f));
    f->on_file_start = on_start;
    f->on_file_data = on_data;
    f->ud = ud;
    f->content_length = content_length;
    const char *semi = memchr(ct.ptr ? ct.ptr : "", ';', ct.len);
    struct s3w_slice type = s3w_slice_trim(s3w_slice(ct.ptr, semi ? (size_t)(semi - ct.ptr) : ct.len));
    if (!lower_eq(type, "multipart/form-data"))
        return f->status = MP_E_NO_BOUNDARY;
    struct s3w_slice b = header_param(ct, "boundary");
    if (!b.ptr || b.len == 0 || b.len > MP_BOUNDARY_MAX)
        return f->status = MP_E_NO_BOUNDARY;
    for (size_t i = 0; i < b.len; i++)
        if ((unsigned char)b.ptr[i] < 0x20 || (unsigned char)b.ptr[i] > 0x7e)
            return f->status = MP_E_NO_BOUNDARY;
    memcpy(f->delim, "\r\n--", 4);
    memcpy(f->delim + 4, b.ptr, b.len);
    f->dlen = 4 + b.len;
    /* KMP failure function: a delimiter split across two reads, or one
     * overlapping a false start ("\r\n-\r\n--B"), is still found */
    f->fail[0] = 0;
    for (size_t i = 1, k = 0; i < f->dlen; i++) {
        while (k && f->delim[i] != f->delim[k])
            k = f->fail[k - 1];
        if (f->delim[i] == f->delim[k])
            k++;
        f->fail[i] = (uint8_t)k;
    }
    f->pre[0] = '\r';
    f->pre[1] = '\n';
    f->pre_len = 2;
    return MP_OK;
}

const struct mp_field *mp_field(const struct mp_form *f, const char *name)
{
    for (size_t i = 0; i < f->nfields; i++)
        if (lower_eq(f->fields[i].name, name))
            return &f->fields[i];
    return NULL;
}

/* ---- the file and its ending ------------------------------------------------------- */
/* Runs bytes of the file and its ending through the delimiter matcher: the
 * first delimiter must start exactly where the file ends. */
static int match_delims(struct mp_form *f, const char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (f->match == 0) {
            const char *cr = memchr(p + i, f->delim[0], n - i);
            if (!cr)
                break;
            i = (size_t)(cr - p);
        }
        char ch = p[i];
        while (f->match && ch != f->delim[f->match])
            f->match = f->fail[f->match - 1];
        if (ch == f->delim[f->match])
            f->match++;
        i++;
        if (f->match == f->dlen) {
            uint64_t start = f->scanned + i - f->dlen;
            if (start != f->file_len)
                return MP_E_AFTER_FILE;
            f->match = f->fail[f->match - 1];
        }
    }
    f->scanned += n;
    return MP_OK;
}

static int file_bytes(struct mp_form *f, const char *p, size_t n)
{
    int rc = match_delims(f, p, n);
    if (rc != MP_OK)
        return rc;
    uint64_t left = f->file_len - f->file_seen;
    size_t take = n < left ? n : (size_t)left;
    if (take && f->on_file_data(f->ud, p, take) != 0)
        return MP_E_STOPPED;
    f->file_seen += take;
    /* the ending: exactly "\r\n--BOUNDARY--\r\n" */
    for (size_t i = take; i < n; i++, f->after++) {
        size_t k = (size_t)f->after;
        char want = k < f->dlen ? f->delim[k] : k == f->dlen || k == f->dlen + 1 ? '-'
                                             : k == f->dlen + 2 ? '\r' : k == f->dlen + 3 ? '\n' : 0;
        if (k >= f->dlen + 4 || p[i] != want)
            return MP_E_AFTER_FILE;
    }
    return MP_OK;
}

/* ---- the fields before the file ------------------------------------------------------ */
static bool name_char_ok(struct s3w_slice s)
{
    for (size_t i = 0; i < s.len; i++)
        if ((unsigned char)s.ptr[i] < 0x20 || s.ptr[i] == 0x7f)
            return false;
    return true;
}

/* Reads the head of a part, [h, e) in pre (its lines, without the blank
 * line), for the field's name, filename and Content-Type. */
static int part_head(struct mp_form *f, size_t h, size_t e, struct s3w_slice *name,
                     struct s3w_slice *filename, struct s3w_slice *type)
{
    *name = *filename = *type = S3W_SLICE_NULL;
    bool cd = false;
    while (h < e) {
        const char *nl = memmem(f->pre + h, e - h, "\r\n", 2);
        size_t le = nl ? (size_t)(nl - f->pre) : e;
        struct s3w_slice line = s3w_slice(f->pre + h, le - h);
        const char *colon = memchr(line.ptr, ':', line.len);
        if (!colon)
            return MP_E_MALFORMED;
        struct s3w_slice hn = s3w_slice(line.ptr, (size_t)(colon - line.ptr));
        struct s3w_slice hv = s3w_slice_trim(s3w_slice(colon + 1, line.len - hn.len - 1));
        if (lower_eq(hn, "content-disposition")) {
            const char *semi = memchr(hv.ptr, ';', hv.len);
            struct s3w_slice t = s3w_slice_trim(s3w_slice(hv.ptr, semi ? (size_t)(semi - hv.ptr) : hv.len));
            if (cd || !lower_eq(t, "form-data"))
                return MP_E_MALFORMED;
            cd = true;
            *name = header_param(hv, "name");
            *filename = header_param(hv, "filename");
        } else if (lower_eq(hn, "content-type")) {
            *type = hv;
        }
        h = le + 2;
    }
    if (!cd || !name->ptr || !name->len || !name_char_ok(*name))
        return MP_E_MALFORMED;
    return MP_OK;
}

/* Goes on through the parts held in pre; MP_OK with f->in_file set once
 * the file's part began (the bytes after its head then passed on), MP_OK
 * without it when more bytes are needed. */
static int parse_pre(struct mp_form *f)
{
    for (;;) {
        /* the delimiter ending the current part (or the preamble) */
        size_t from = f->scan > f->part ? f->scan : f->part;
        const char *d = from < f->pre_len ? memmem(f->pre + from, f->pre_len - from, f->delim, f->dlen)
                                          : NULL;
        if (!d) {
            size_t keep = f->pre_len >= f->dlen ? f->pre_len - f->dlen + 1 : 0;
            f->scan = keep > f->part ? keep : f->part;
            return MP_OK;
        }
        size_t di = (size_t)(d - f->pre);
        if (f->nfields && f->fields[f->nfields - 1].value.ptr == NULL) {
            /* the value of the field whose head we read: up to here */
            struct mp_field *fl = &f->fields[f->nfields - 1];
            fl->value = s3w_slice(f->pre + f->part, di - f->part);
        }
        size_t a = di + f->dlen;
        /* transport padding (RFC 2046 5.1.1), then CRLF or the close "--" */
        while (a < f->pre_len && (f->pre[a] == ' ' || f->pre[a] == '\t'))
            a++;
        if (a + 2 > f->pre_len) {
            f->scan = di; /* this delimiter again, with more bytes */
            return MP_OK;
        }
        if (f->pre[a] == '-' && f->pre[a + 1] == '-')
            return MP_E_NO_FILE;
        if (f->pre[a] != '\r' || f->pre[a + 1] != '\n')
            return MP_E_MALFORMED;
        size_t h = a + 2, e, c;
        if (h + 2 <= f->pre_len && f->pre[h] == '\r' && f->pre[h + 1] == '\n')
            return MP_E_MALFORMED; /* no header lines: no name either */
        const char *he = memmem(f->pre + h, f->pre_len - h, "\r\n\r\n", 4);
        if (!he) {
            f->scan = di;
            return MP_OK;
        }
        e = (size_t)(he - f->pre);
        c = e + 4;
        struct s3w_slice name, filename, type;
        int rc = part_head(f, h, e, &name, &filename, &type);
        if (rc != MP_OK)
            return rc;
        if (s3w_slice_eq_nocase(name, S3W_SLICE_LIT("file"))) {
            f->filename = filename;
            f->file_type = type;
            f->file_start = c - 2; /* the virtual CRLF is not in the body */
            uint64_t closing = f->dlen + 4;
            if (f->content_length < f->file_start + closing)
                return MP_E_AFTER_FILE;
            f->file_len = f->content_length - f->file_start - closing;
            f->in_file = true;
            if (f->on_file_start(f->ud, f) != 0)
                return MP_E_STOPPED;
            return c < f->pre_len ? file_bytes(f, f->pre + c, f->pre_len - c) : MP_OK;
        }
        for (size_t i = 0; i < f->nfields; i++)
            if (s3w_slice_eq_nocase(f->fields[i].name, name))
                return MP_E_TWO_FIELDS;
        if (f->nfields == MP_MAX_FIELDS)
            return MP_E_TOO_MANY;
        f->fields[f->nfields++] = (struct mp_field){ name, S3W_SLICE_NULL };
        f->part = c;
        f->scan = c;
    }
}

int mp_feed(struct mp_form *f, const char *p, size_t n)
{
    if (f->status != MP_OK)
        return f->status;
    if (f->in_file)
        return f->status = file_bytes(f, p, n);
    size_t room = sizeof(f->pre) - f->pre_len;
    size_t take = n < room ? n : room;
    memcpy(f->pre + f->pre_len, p, take);
    f->pre_len += take;
    int rc = parse_pre(f);
    if (rc == MP_OK && f->in_file && take < n)
        rc = file_bytes(f, p + take, n - take);
    else if (rc == MP_OK && !f->in_file && f->pre_len == sizeof(f->pre))
        rc = MP_E_TOO_LARGE;
    return f->status = rc;
}

int mp_finish(struct mp_form *f)
{
    if (f->status != MP_OK)
        return f->status;
    if (!f->in_file)
        return f->status = parse_pre(f) == MP_E_MALFORMED ? MP_E_MALFORMED : MP_E_NO_FILE;
    if (f->file_seen != f->file_len || f->after != f->dlen + 4)
        return f->status = MP_E_AFTER_FILE;
    return MP_OK;
}
