/* test_alias.c - an aliased bucket's upstream name renamed in S3's answers
 * (alias.h). The documents are S3's shapes (S3 API Reference, the
 * operations' "Response Syntax", and "Error responses"); the expected
 * outputs are written out by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "alias.h"

#define UP "acme-shared-prod"
#define LOCAL "acme-shared"

static void renamed(const char *doc, const char *want)
{
    struct s3w_buf out;
    s3w_buf_init(&out, ALIAS_MAX_BODY);
    assert_int_equal(alias_rename(s3w_slice_cstr(doc), S3W_SLICE_LIT(UP), S3W_SLICE_LIT(LOCAL), &out),
                     0);
    assert_string_equal(out.ptr, want);
    s3w_buf_cleanup(&out);
}

static void test_listing(void **state)
{
    (void)state;
    /* the name, and only the name: a key, prefix or owner holding the
     * same text is data */
    renamed("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult "
            "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>" UP "</Name>"
            "<Prefix>" UP "</Prefix><KeyCount>1</KeyCount>"
            "<Contents><Key>" UP "</Key><Owner><DisplayName>" UP "</DisplayName></Owner>"
            "</Contents></ListBucketResult>",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult "
            "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>" LOCAL "</Name>"
            "<Prefix>" UP "</Prefix><KeyCount>1</KeyCount>"
            "<Contents><Key>" UP "</Key><Owner><DisplayName>" UP "</DisplayName></Owner>"
            "</Contents></ListBucketResult>");
    /* multipart: Bucket; a name that only starts with up is another */
    renamed("<InitiateMultipartUploadResult><Bucket>" UP "</Bucket><Key>k</Key>"
            "<UploadId>u</UploadId></InitiateMultipartUploadResult>",
            "<InitiateMultipartUploadResult><Bucket>" LOCAL "</Bucket><Key>k</Key>"
            "<UploadId>u</UploadId></InitiateMultipartUploadResult>");
    renamed("<ListPartsResult><Bucket>" UP "-2</Bucket><Bucket>x" UP "</Bucket></ListPartsResult>",
            "<ListPartsResult><Bucket>" UP "-2</Bucket><Bucket>x" UP "</Bucket></ListPartsResult>");
    /* a key that looks like markup is escaped text, not an element */
    renamed("<ListBucketResult><Contents><Key>&lt;Name&gt;" UP "&lt;/Name&gt;</Key></Contents>"
            "</ListBucketResult>",
            "<ListBucketResult><Contents><Key>&lt;Name&gt;" UP "&lt;/Name&gt;</Key></Contents>"
            "</ListBucketResult>");
}

static void test_location(void **state)
{
    (void)state;
    /* virtual-hosted: the host's first label */
    renamed("<CompleteMultipartUploadResult><Location>https://" UP ".s3.us-west-2.amazonaws.com/"
            "a%2Fb</Location><Bucket>" UP "</Bucket><Key>a/b</Key></CompleteMultipartUploadResult>",
            "<CompleteMultipartUploadResult><Location>https://" LOCAL ".s3.us-west-2.amazonaws.com/"
            "a%2Fb</Location><Bucket>" LOCAL "</Bucket><Key>a/b</Key></CompleteMultipartUploadResult>");
    /* path style: the first segment, not one that only starts with it */
    renamed("<Location>http://127.0.0.1:5000/" UP "/" UP "/k</Location>",
            "<Location>http://127.0.0.1:5000/" LOCAL "/" UP "/k</Location>");
    renamed("<Location>http://127.0.0.1:5000/" UP "</Location>",
            "<Location>http://127.0.0.1:5000/" LOCAL "</Location>");
    renamed("<Location>http://127.0.0.1:5000/" UP "x/k</Location>",
            "<Location>http://127.0.0.1:5000/" UP "x/k</Location>");
    renamed("<Location>http://" UP "x.s3.local/k</Location>",
            "<Location>http://" UP "x.s3.local/k</Location>");
    renamed("<Location>/" UP "/k</Location>", "<Location>/" LOCAL "/k</Location>"); /* a path */
    renamed("<Location>/" UP "</Location>", "<Location>/" LOCAL "</Location>");
    renamed("<Location>" UP "</Location>", "<Location>" UP "</Location>");
    /* the header's value, as CreateBucket answers it */
    struct s3w_buf out;
    s3w_buf_init(&out, 64);
    assert_int_equal(alias_rename_location(S3W_SLICE_LIT("/" UP), S3W_SLICE_LIT(UP),
                                           S3W_SLICE_LIT(LOCAL), &out), 0);
    assert_string_equal(out.ptr, "/" LOCAL);
    s3w_buf_cleanup(&out);
}

static void test_errors(void **state)
{
    (void)state;
    renamed("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchBucket</Code>"
            "<Message>The specified bucket does not exist</Message><BucketName>" UP
            "</BucketName><Resource>/" UP "/k</Resource><RequestId>r</RequestId></Error>",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchBucket</Code>"
            "<Message>The specified bucket does not exist</Message><BucketName>" LOCAL
            "</BucketName><Resource>/" LOCAL "/k</Resource><RequestId>r</RequestId></Error>");
    renamed("<Error><Resource>/" UP "</Resource></Error>", "<Error><Resource>/" LOCAL "</Resource></Error>");
    renamed("<Error><Resource>/" UP "2/k</Resource><Resource>/k/" UP "</Resource></Error>",
            "<Error><Resource>/" UP "2/k</Resource><Resource>/k/" UP "</Resource></Error>");
    /* a document cut anywhere: what is there is copied, nothing read past it */
    static const char doc[] = "<Error><BucketName>" UP "</BucketName><Resource>/" UP "/k</Resource>"
                              "<Location>http://" UP ".h/k</Location></Error>";
    for (size_t n = 0; n <= sizeof(doc) - 1; n++) {
        struct s3w_buf out;
        s3w_buf_init(&out, ALIAS_MAX_BODY);
        assert_int_equal(alias_rename(s3w_slice(doc, n), S3W_SLICE_LIT(UP), S3W_SLICE_LIT(LOCAL), &out), 0);
        assert_true(out.len + (sizeof(UP) - sizeof(LOCAL)) * 3 >= n && out.len <= n);
        s3w_buf_cleanup(&out);
    }
}

/* out's cap is the answer's: over it, S3W_E_TOOBIG */
static void test_too_big(void **state)
{
    (void)state;
    struct s3w_buf out;
    s3w_buf_init(&out, 16);
    assert_int_equal(alias_rename(S3W_SLICE_LIT("<Name>" UP "</Name>"), S3W_SLICE_LIT(UP),
                                  S3W_SLICE_LIT(LOCAL), &out),
                     S3W_E_TOOBIG);
    s3w_buf_cleanup(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listing),
        cmocka_unit_test(test_location),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_too_big),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
