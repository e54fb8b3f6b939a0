/* alias.c - an aliased bucket's upstream name, and the store's address, out
 * of S3's answers (alias.h). */
#include "alias.h"

#include <string.h>

enum el { EL_NAME, EL_RESOURCE, EL_LOCATION };

static const struct {
    const char *tag; /* "<Tag>" */
    size_t len;
    enum el kind;
} ELEMENTS[] = {
    { "<Name>", 6, EL_NAME },         { "<Bucket>", 8, EL_NAME },
    { "<BucketName>", 12, EL_NAME },  { "<Resource>", 10, EL_RESOURCE },
    { "<Location>", 10, EL_LOCATION },
};
#define NELEMENTS (sizeof(ELEMENTS) / sizeof(*ELEMENTS))

static bool xml_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* An element's text into out, rewritten (alias_rewrite). */
static int put_text(struct s3w_buf *out, enum el kind, struct s3w_slice t,
                    const struct alias_names *n)
{
    size_t cut = 0, skip = 0; /* t[cut, cut + skip) becomes local */
    if (kind == EL_LOCATION && n->location.ptr)
        return s3w_buf_append(out, n->location.ptr, n->location.len);
    if (kind == EL_NAME && n->up.len) {
        size_t a = 0, b = t.len;
        while (a < b && xml_space(t.ptr[a]))
            a++;
        while (b > a && xml_space(t.ptr[b - 1]))
            b--;
        if (s3w_slice_eq(s3w_slice(t.ptr + a, b - a), n->up)) {
            cut = a;
            skip = n->up.len;
        }
    } else if (kind == EL_RESOURCE && n->up.len && n->path_style) {
        /* "/up" then '/' or the end */
        if (t.len > n->up.len && t.ptr[0] == '/' &&
            memcmp(t.ptr + 1, n->up.ptr, n->up.len) == 0 &&
            (t.len == n->up.len + 1 || t.ptr[n->up.len + 1] == '/')) {
            cut = 1;
            skip = n->up.len;
        }
    }
    if (!skip)
        return s3w_buf_append(out, t.ptr, t.len);
    int rc = s3w_buf_append(out, t.ptr, cut);
    if (rc == 0)
        rc = s3w_buf_append(out, n->local.ptr, n->local.len);
    if (rc == 0)
        rc = s3w_buf_append(out, t.ptr + cut + skip, t.len - cut - skip);
    return rc;
}

int alias_rewrite(struct s3w_slice doc, const struct alias_names *n, struct s3w_buf *out)
{
    size_t i = 0, done = 0; /* doc[0, done) copied */
    while (i < doc.len) {
        const char *lt = memchr(doc.ptr + i, '<', doc.len - i);
        if (!lt)
            break;
        i = (size_t)(lt - doc.ptr);
        size_t k = 0;
        while (k < NELEMENTS && !(doc.len - i >= ELEMENTS[k].len &&
                                  memcmp(doc.ptr + i, ELEMENTS[k].tag, ELEMENTS[k].len) == 0))
            k++;
        if (k == NELEMENTS) {
            i++;
            continue;
        }
        size_t start = i + ELEMENTS[k].len, end = start;
        while (end < doc.len && doc.ptr[end] != '<')
            end++;
        int rc = s3w_buf_append(out, doc.ptr + done, start - done);
        if (rc == 0)
            rc = put_text(out, ELEMENTS[k].kind, s3w_slice(doc.ptr + start, end - start), n);
        if (rc != 0)
            return rc;
        done = i = end;
    }
    return s3w_buf_append(out, doc.ptr + done, doc.len - done);
}

size_t alias_room(size_t len, const struct alias_names *n)
{
    /* each element rewritten takes at least 6 bytes ("<Name>") */
    size_t grow = n->local.len + n->location.len;
    return len + (len / 6 + 1) * grow + 64;
}

size_t alias_ready(struct s3w_slice doc, bool *too_long)
{
    *too_long = false;
    const char *lt = doc.len ? memrchr(doc.ptr, '<', doc.len) : NULL;
    if (!lt)
        return doc.len;
    size_t at = (size_t)(lt - doc.ptr), rest = doc.len - at;
    if (rest <= ALIAS_CARRY_MAX)
        return at;
    /* an element it rewrites, longer than any S3 writes: padded so that
     * the name would go by in pieces (probe 32) */
    for (size_t k = 0; k < NELEMENTS; k++)
        if (memcmp(lt, ELEMENTS[k].tag, ELEMENTS[k].len) == 0)
            *too_long = true;
    return doc.len;
}
