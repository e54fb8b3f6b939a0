/* test_multipart.c - the streaming multipart/form-data reader (base/multipart.h):
 * fields before the file, the file passed on with its exact length, fed
 * whole and one byte at a time; and every refusal: no boundary, a part
 * after the file (or the delimiter inside the file's bytes), an ending not
 * as declared, fields over the cap, no file, a field twice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "multipart.h"

#define CT "multipart/form-data; boundary=----XyZ"

struct sink {
    char file[1 << 16];
    size_t len;
    int starts;
    uint64_t file_len;
    int refuse_start;
};

static int on_start(void *ud, struct mp_form *f)
{
    struct sink *s = ud;
    s->starts++;
    s->file_len = f->file_len;
    return s->refuse_start;
}

static int on_data(void *ud, const char *p, size_t n)
{
    struct sink *s = ud;
    assert_true(s->len + n <= sizeof(s->file));
    memcpy(s->file + s->len, p, n);
    s->len += n;
    return 0;
}

static struct mp_form form;
static struct sink sink;

/* Feeds body in pieces of `step` bytes (0: whole); the result of mp_finish
 * (or the first error of mp_feed). */
static int run(const char *ct, const char *body, size_t len, size_t step)
{
    memset(&sink, 0, sizeof(sink));
    int rc = mp_init(&form, s3w_slice_cstr(ct), len, on_start, on_data, &sink);
    if (rc != MP_OK)
        return rc;
    for (size_t i = 0; i < len;) {
        size_t n = step && len - i > step ? step : len - i;
        rc = mp_feed(&form, body + i, n);
        if (rc != MP_OK)
            return rc;
        i += n;
    }
    return mp_finish(&form);
}

static const char GOOD[] =
    "------XyZ\r\n"
    "Content-Disposition: form-data; name=\"key\"\r\n\r\n"
    "user/a/${filename}\r\n"
    "------XyZ\r\n"
    "Content-Disposition: form-data; name=\"x-amz-meta-note\"\r\n\r\n"
    "two\r\nlines\r\n"
    "------XyZ\r\n"
    "Content-Disposition: form-data; name=\"empty\"\r\n\r\n"
    "\r\n"
    "------XyZ\r\n"
    "Content-Disposition: form-data; name=\"file\"; filename=\"a;b.txt\"\r\n"
    "Content-Type: text/plain\r\n\r\n"
    "hello\r\n-----XyZ almost a delimiter\r\n--\r\n"
    "\r\n------XyZ--\r\n";

static void check_good(void)
{
    assert_int_equal(sink.starts, 1);
    assert_int_equal(form.nfields, 3);
    assert_true(s3w_slice_eq_cstr(mp_field(&form, "KEY")->value, "user/a/${filename}"));
    assert_true(s3w_slice_eq_cstr(mp_field(&form, "x-amz-meta-note")->value, "two\r\nlines"));
    assert_true(s3w_slice_eq_cstr(mp_field(&form, "empty")->value, ""));
    assert_null(mp_field(&form, "file"));
    assert_true(s3w_slice_eq_cstr(form.filename, "a;b.txt"));
    assert_true(s3w_slice_eq_cstr(form.file_type, "text/plain"));
    static const char want[] = "hello\r\n-----XyZ almost a delimiter\r\n--\r\n";
    assert_int_equal(sink.file_len, sizeof(want) - 1);
    assert_int_equal(sink.len, sizeof(want) - 1);
    assert_memory_equal(sink.file, want, sizeof(want) - 1);
}

static void test_good_whole_and_bytewise(void **state)
{
    (void)state;
    for (size_t step = 0; step <= 7; step++) {
        assert_int_equal(run(CT, GOOD, sizeof(GOOD) - 1, step), MP_OK);
        check_good();
    }
    /* a quoted boundary and a preamble */
    static const char pre[] = "preamble\r\n" "------XyZ\r\n"
                              "Content-Disposition: form-data; name=\"file\"\r\n\r\n"
                              "x\r\n------XyZ--\r\n";
    assert_int_equal(run("Multipart/Form-Data; charset=utf-8; boundary=\"----XyZ\"", pre,
                         sizeof(pre) - 1, 1), MP_OK);
    assert_int_equal(sink.len, 1);
    assert_true(form.filename.ptr == NULL);
}

static void test_no_boundary(void **state)
{
    (void)state;
    assert_int_equal(run("multipart/form-data", GOOD, sizeof(GOOD) - 1, 0), MP_E_NO_BOUNDARY);
    assert_int_equal(run("multipart/form-data; boundary=", GOOD, sizeof(GOOD) - 1, 0), MP_E_NO_BOUNDARY);
    assert_int_equal(run("application/x-www-form-urlencoded", GOOD, sizeof(GOOD) - 1, 0),
                     MP_E_NO_BOUNDARY);
    char longb[128];
    snprintf(longb, sizeof(longb), "multipart/form-data; boundary=%071d", 0);
    assert_int_equal(run(longb, GOOD, sizeof(GOOD) - 1, 0), MP_E_NO_BOUNDARY);
}

static void test_part_after_file(void **state)
{
    (void)state;
    static const char after[] =
        "------XyZ\r\n"
        "Content-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\n"
        "data\r\n"
        "------XyZ\r\n"
        "Content-Disposition: form-data; name=\"submit\"\r\n\r\n"
        "Upload\r\n"
        "------XyZ--\r\n";
    for (size_t step = 0; step <= 3; step++) {
        assert_int_equal(run(CT, after, sizeof(after) - 1, step), MP_E_AFTER_FILE);
        /* never more than the declared file length was passed on */
        assert_true(sink.len <= sink.file_len);
    }
    /* the ending without its CRLF: the file would be 2 bytes short */
    static const char nocrlf[] = "------XyZ\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n"
                                 "data\r\n------XyZ--";
    assert_int_equal(run(CT, nocrlf, sizeof(nocrlf) - 1, 0), MP_E_AFTER_FILE);
    /* trailing bytes after the close */
    static const char trail[] = "------XyZ\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n"
                                "data\r\n------XyZ--\r\nepilogue";
    assert_int_equal(run(CT, trail, sizeof(trail) - 1, 0), MP_E_AFTER_FILE);
}

static void test_malformed(void **state)
{
    (void)state;
    static const char *const bodies[] = {
        /* no Content-Disposition */
        "------XyZ\r\nContent-Type: text/plain\r\n\r\nx\r\n------XyZ--\r\n",
        /* not form-data */
        "------XyZ\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nx\r\n------XyZ--\r\n",
        /* no name */
        "------XyZ\r\nContent-Disposition: form-data\r\n\r\nx\r\n------XyZ--\r\n",
        /* garbage after a delimiter */
        "------XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n------XyZjunk\r\n",
        /* a header line without a colon */
        "------XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\nbogus\r\n\r\nx\r\n------XyZ--\r\n",
    };
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
        assert_int_equal(run(CT, bodies[i], strlen(bodies[i]), 0), MP_E_MALFORMED);
    static const char nofile[] =
        "------XyZ\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nk\r\n------XyZ--\r\n";
    assert_int_equal(run(CT, nofile, sizeof(nofile) - 1, 1), MP_E_NO_FILE);
    static const char cut[] = "------XyZ\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nk";
    assert_int_equal(run(CT, cut, sizeof(cut) - 1, 0), MP_E_NO_FILE);
    static const char twice[] =
        "------XyZ\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nk\r\n"
        "------XyZ\r\nContent-Disposition: form-data; name=\"Key\"\r\n\r\nj\r\n"
        "------XyZ\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nx\r\n------XyZ--\r\n";
    assert_int_equal(run(CT, twice, sizeof(twice) - 1, 0), MP_E_TWO_FIELDS);
}

static void test_oversized_fields(void **state)
{
    (void)state;
    size_t big = MP_PRE_MAX + 100;
    char *b = malloc(big + 200);
    assert_non_null(b);
    int n = snprintf(b, 200, "------XyZ\r\nContent-Disposition: form-data; name=\"x-amz-meta-a\"\r\n\r\n");
    memset(b + n, 'a', big);
    memcpy(b + n + big, "\r\n------XyZ--\r\n", 15);
    size_t len = (size_t)n + big + 15;
    assert_int_equal(run(CT, b, len, 0), MP_E_TOO_LARGE);
    assert_int_equal(run(CT, b, len, 4096), MP_E_TOO_LARGE);
    assert_int_equal(sink.starts, 0);
    free(b);
}

static void test_callback_refuses(void **state)
{
    (void)state;
    memset(&sink, 0, sizeof(sink));
    sink.refuse_start = 1;
    assert_int_equal(mp_init(&form, s3w_slice_cstr(CT), sizeof(GOOD) - 1, on_start, on_data, &sink), MP_OK);
    assert_int_equal(mp_feed(&form, GOOD, sizeof(GOOD) - 1), MP_E_STOPPED);
    assert_int_equal(sink.len, 0);
    assert_int_equal(mp_finish(&form), MP_E_STOPPED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_whole_and_bytewise),
        cmocka_unit_test(test_no_boundary),
        cmocka_unit_test(test_part_after_file),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_oversized_fields),
        cmocka_unit_test(test_callback_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
