/* alias.c - an aliased bucket's upstream name out of its answers (alias.h). */
#include "alias.h"

#include <string.h>

enum el { EL_NAME, EL_RESOURCE, EL_LOCATION };

static const struct {
    const char *tag; /* "<Tag>" */
    enum el kind;
} ELEMENTS[] = {
    { "<Name>", EL_NAME },         { "<Bucket>", EL_NAME },       { "<BucketName>", EL_NAME },
    { "<Resource>", EL_RESOURCE }, { "<Location>", EL_LOCATION },
};

/* Whether s starts with "/" up and then '/' or its end. */
static bool first_segment(struct s3w_slice s, struct s3w_slice up)
{
    return s.len > up.len && s.ptr[0] == '/' && memcmp(s.ptr + 1, up.ptr, up.len) == 0 &&
           (s.len == up.len + 1 || s.ptr[up.len + 1] == '/');
}

/* The text of an element, renamed into out. */
static int put_text(struct s3w_buf *out, enum el kind, struct s3w_slice t, struct s3w_slice up,
                    struct s3w_slice local)
{
    size_t cut = 0, skip = 0; /* t[cut, cut + skip) is up, to be local */
    if (kind == EL_NAME) {
        if (s3w_slice_eq(t, up))
            skip = up.len;
    } else if (kind == EL_RESOURCE) {
        if (first_segment(t, up)) {
            cut = 1;
            skip = up.len;
        }
    } else {
        const char *sep = memmem(t.ptr, t.len, "://", 3);
        if (!sep) { /* a path: CreateBucket's Location header, "/up" */
            if (first_segment(t, up)) {
                cut = 1;
                skip = up.len;
            }
        } else {
            size_t host = (size_t)(sep - t.ptr) + 3, end = host;
            while (end < t.len && t.ptr[end] != '/')
                end++;
            if (end - host > up.len && memcmp(t.ptr + host, up.ptr, up.len) == 0 &&
                t.ptr[host + up.len] == '.') {
                cut = host;
                skip = up.len;
            } else if (first_segment(s3w_slice(t.ptr + end, t.len - end), up)) {
                cut = end + 1;
                skip = up.len;
            }
        }
    }
    if (!skip)
        return s3w_buf_append(out, t.ptr, t.len);
    int rc = s3w_buf_append(out, t.ptr, cut);
    if (rc == 0)
        rc = s3w_buf_append(out, local.ptr, local.len);
    if (rc == 0)
        rc = s3w_buf_append(out, t.ptr + cut + skip, t.len - cut - skip);
    return rc;
}

int alias_rename_location(struct s3w_slice v, struct s3w_slice up, struct s3w_slice local,
                          struct s3w_buf *out)
{
    return put_text(out, EL_LOCATION, v, up, local);
}

int alias_rename(struct s3w_slice doc, struct s3w_slice up, struct s3w_slice local,
                 struct s3w_buf *out)
{
    size_t i = 0, done = 0; /* doc[0, done) copied */
    while (i < doc.len) {
        const char *lt = memchr(doc.ptr + i, '<', doc.len - i);
        if (!lt)
            break;
        i = (size_t)(lt - doc.ptr);
        size_t k = 0, tl = 0;
        for (; k < sizeof(ELEMENTS) / sizeof(*ELEMENTS); k++) {
            tl = strlen(ELEMENTS[k].tag);
            if (doc.len - i >= tl && memcmp(doc.ptr + i, ELEMENTS[k].tag, tl) == 0)
                break;
        }
        if (k == sizeof(ELEMENTS) / sizeof(*ELEMENTS)) {
            i++;
            continue;
        }
        /* the text runs to the next '<' (its end tag, or a child: left) */
        size_t start = i + tl, end = start;
        while (end < doc.len && doc.ptr[end] != '<')
            end++;
        int rc = s3w_buf_append(out, doc.ptr + done, start - done);
        if (rc == 0)
            rc = put_text(out, ELEMENTS[k].kind, s3w_slice(doc.ptr + start, end - start), up, local);
        if (rc != 0)
            return rc;
        done = i = end;
    }
    return s3w_buf_append(out, doc.ptr + done, doc.len - done);
}
