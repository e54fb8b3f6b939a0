/*
 * libFuzzer target for the multipart/form-data reader of POST Object
 * (base/multipart.c).
 *
 * Input: [0] split size - 1 (bytes per mp_feed call), [1] 0: the form's
 * Content-Length is the input's, else it is off by [1] - 128 bytes; then
 * the body. The boundary is "XyZ".
 * Invariants checked (abort on violation): the file's bytes passed on never
 * exceed its declared length; mp_finish succeeds only when exactly that
 * many were passed on and the body was the declared length; every field's
 * name and value lie inside the reader's buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "multipart.h"

static uint64_t seen, declared;
static int starts;

static int on_start(void *ud, struct mp_form *f)
{
    (void)ud;
    starts++;
    declared = f->file_len;
    for (size_t i = 0; i < f->nfields; i++) {
        const struct mp_field *x = &f->fields[i];
        if (x->name.ptr < f->pre || x->name.ptr + x->name.len > f->pre + f->pre_len ||
            x->value.ptr < f->pre || x->value.ptr + x->value.len > f->pre + f->pre_len)
            abort();
    }
    return 0;
}

static int on_data(void *ud, const char *p, size_t n)
{
    (void)ud;
    (void)p;
    seen += n;
    if (seen > declared)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t step = (size_t)data[0] + 1;
    int off = data[1] ? (int)data[1] - 128 : 0;
    const char *body = (const char *)data + 2;
    size_t len = size - 2;
    uint64_t cl = (off < 0 && (size_t)-off > len) ? 0 : (uint64_t)((int64_t)len + off);
    static struct mp_form f;
    seen = declared = 0;
    starts = 0;
    if (mp_init(&f, s3w_slice_cstr("multipart/form-data; boundary=XyZ"), cl, on_start, on_data,
                NULL) != MP_OK)
        abort();
    int rc = MP_OK;
    for (size_t i = 0; i < len && rc == MP_OK; i += step)
        rc = mp_feed(&f, body + i, len - i < step ? len - i : step);
    int fin = mp_finish(&f);
    if (fin == MP_OK && (rc != MP_OK || starts != 1 || seen != declared || cl != len))
        abort();
    return 0;
}
