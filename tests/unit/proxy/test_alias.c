/* test_alias.c - an aliased bucket's upstream name, and the store's
 * address, out of S3's answers (alias.h). The documents are S3's shapes
 * (S3 API Reference, the operations' "Response Syntax", and "Error
 * responses"); the expected outputs are written out by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alias.h"

#define UP "acme-shared-prod"
#define LOCAL "acme-shared"

static const struct alias_names PATH = { .up = S3W_SLICE_LIT(UP), .local = S3W_SLICE_LIT(LOCAL),
                                         .path_style = true };
static const struct alias_names VHOST = { .up = S3W_SLICE_LIT(UP), .local = S3W_SLICE_LIT(LOCAL) };

static void rewritten(const struct alias_names *n, const char *doc, const char *want)
{
    struct s3w_buf out;
    s3w_buf_init(&out, alias_room(strlen(doc), n));
    assert_int_equal(alias_rewrite(s3w_slice_cstr(doc), n, &out), 0);
    assert_string_equal(out.ptr, want);
    s3w_buf_cleanup(&out);
}

static void test_listing(void **state)
{
    (void)state;
    /* the name, and only the name: a key, prefix or owner holding the
     * same text is data */
    rewritten(&PATH,
              "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult "
              "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>" UP "</Name>"
              "<Prefix>" UP "</Prefix><KeyCount>1</KeyCount>"
              "<Contents><Key>" UP "</Key><Owner><DisplayName>" UP "</DisplayName></Owner>"
              "</Contents></ListBucketResult>",
              "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult "
              "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>" LOCAL "</Name>"
              "<Prefix>" UP "</Prefix><KeyCount>1</KeyCount>"
              "<Contents><Key>" UP "</Key><Owner><DisplayName>" UP "</DisplayName></Owner>"
              "</Contents></ListBucketResult>");
    /* multipart: Bucket; a name that only starts or ends with up is
     * another; white space around the name is kept (review L4) */
    rewritten(&VHOST,
              "<InitiateMultipartUploadResult><Bucket>" UP "</Bucket><Key>k</Key>"
              "<UploadId>u</UploadId></InitiateMultipartUploadResult>",
              "<InitiateMultipartUploadResult><Bucket>" LOCAL "</Bucket><Key>k</Key>"
              "<UploadId>u</UploadId></InitiateMultipartUploadResult>");
    rewritten(&PATH, "<ListPartsResult><Bucket>" UP "-2</Bucket><Bucket>x" UP "</Bucket></ListPartsResult>",
              "<ListPartsResult><Bucket>" UP "-2</Bucket><Bucket>x" UP "</Bucket></ListPartsResult>");
    rewritten(&PATH, "<Name>\n  " UP "\n</Name>", "<Name>\n  " LOCAL "\n</Name>");
    /* a key that looks like markup is escaped text, not an element */
    rewritten(&PATH,
              "<ListBucketResult><Contents><Key>&lt;Name&gt;" UP "&lt;/Name&gt;</Key></Contents>"
              "</ListBucketResult>",
              "<ListBucketResult><Contents><Key>&lt;Name&gt;" UP "&lt;/Name&gt;</Key></Contents>"
              "</ListBucketResult>");
    /* nothing to rename: as it came */
    static const struct alias_names none = { .up = S3W_SLICE_NULL };
    rewritten(&none, "<Name>" UP "</Name>", "<Name>" UP "</Name>");
}

static void test_errors(void **state)
{
    (void)state;
    rewritten(&PATH,
              "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchBucket</Code>"
              "<Message>The specified bucket does not exist</Message><BucketName>" UP
              "</BucketName><Resource>/" UP "/k</Resource><RequestId>r</RequestId></Error>",
              "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchBucket</Code>"
              "<Message>The specified bucket does not exist</Message><BucketName>" LOCAL
              "</BucketName><Resource>/" LOCAL "/k</Resource><RequestId>r</RequestId></Error>");
    rewritten(&PATH, "<Error><Resource>/" UP "</Resource></Error>",
              "<Error><Resource>/" LOCAL "</Resource></Error>");
    rewritten(&PATH, "<Error><Resource>/" UP "2/k</Resource><Resource>/k/" UP "</Resource></Error>",
              "<Error><Resource>/" UP "2/k</Resource><Resource>/k/" UP "</Resource></Error>");
    /* asked virtual-hosted, the store's Resource is /key: a key that
     * begins with the name is not the bucket (review L2) */
    rewritten(&VHOST, "<Error><BucketName>" UP "</BucketName><Resource>/" UP "/k</Resource></Error>",
              "<Error><BucketName>" LOCAL "</BucketName><Resource>/" UP "/k</Resource></Error>");
    /* a Location is left as it is unless one is given */
    rewritten(&PATH, "<Location>http://" UP ".h/" UP "/k</Location>",
              "<Location>http://" UP ".h/" UP "/k</Location>");
    /* a document cut anywhere: what is there is copied, nothing read past it */
    static const char doc[] = "<Error><BucketName>" UP "</BucketName><Resource>/" UP "/k</Resource>"
                              "</Error>";
    for (size_t n = 0; n <= sizeof(doc) - 1; n++) {
        char *cut = malloc(n ? n : 1); /* exactly n bytes: ASan sees a read past */
        memcpy(cut, doc, n);
        struct s3w_buf out;
        s3w_buf_init(&out, alias_room(n, &PATH));
        assert_int_equal(alias_rewrite(s3w_slice(cut, n), &PATH, &out), 0);
        assert_true(out.len + 2 * (sizeof(UP) - sizeof(LOCAL)) >= n && out.len <= n);
        s3w_buf_cleanup(&out);
        free(cut);
    }
}

/* CompleteMultipartUpload's Location made s3warden's URL, whatever the
 * store put there (review M2: renaming its host label pointed at a bucket
 * of the alias's name, anyone's); nothing else changes */
static void test_location(void **state)
{
    (void)state;
    struct alias_names n = PATH;
    n.location = S3W_SLICE_LIT("https://s3w.example/" LOCAL "/a/b");
    rewritten(&n,
              "<CompleteMultipartUploadResult><Location>https://" UP ".s3.us-west-2.amazonaws.com/"
              "a%2Fb</Location><Bucket>" UP "</Bucket><Key>a/b</Key></CompleteMultipartUploadResult>",
              "<CompleteMultipartUploadResult><Location>https://s3w.example/" LOCAL "/a/b</Location>"
              "<Bucket>" LOCAL "</Bucket><Key>a/b</Key></CompleteMultipartUploadResult>");
    struct alias_names only = { .up = S3W_SLICE_NULL, .location = S3W_SLICE_LIT("http://x/b/k") };
    rewritten(&only, "<CompleteMultipartUploadResult><Location>http://10.1.2.3:7480/b/k</Location>"
                     "<Bucket>b</Bucket></CompleteMultipartUploadResult>",
              "<CompleteMultipartUploadResult><Location>http://x/b/k</Location>"
              "<Bucket>b</Bucket></CompleteMultipartUploadResult>");
    rewritten(&only, "<Error><Code>InternalError</Code></Error>",
              "<Error><Code>InternalError</Code></Error>");
}

/* Streaming: what alias_ready lets go, rewritten piece by piece, is the
 * whole document rewritten, wherever the pieces are cut */
static void test_streaming(void **state)
{
    (void)state;
    struct alias_names n = PATH;
    n.location = S3W_SLICE_LIT("https://s3w.example/" LOCAL "/k");
    static const char doc[] =
        "  \n<CompleteMultipartUploadResult><Location>http://store/" UP "/k</Location><Bucket>" UP
        "</Bucket><Key>k</Key><ETag>\"e\"</ETag></CompleteMultipartUploadResult>";
    static const char want[] =
        "  \n<CompleteMultipartUploadResult><Location>https://s3w.example/" LOCAL "/k</Location><Bucket>" LOCAL
        "</Bucket><Key>k</Key><ETag>\"e\"</ETag></CompleteMultipartUploadResult>";
    for (size_t step = 1; step <= sizeof(doc); step++) {
        struct s3w_buf carry, all;
        s3w_buf_init(&carry, 1 << 20);
        s3w_buf_init(&all, 1 << 20);
        for (size_t at = 0; at < sizeof(doc) - 1; at += step) {
            size_t k = sizeof(doc) - 1 - at < step ? sizeof(doc) - 1 - at : step;
            bool last = at + k == sizeof(doc) - 1;
            assert_int_equal(s3w_buf_append(&carry, doc + at, k), 0);
            bool too_long;
            size_t ready = last ? carry.len : alias_ready(s3w_buf_slice(&carry), &too_long);
            assert_false(!last && too_long);
            assert_int_equal(alias_rewrite(s3w_slice(carry.ptr, ready), &n, &all), 0);
            memmove(carry.ptr, carry.ptr + ready, carry.len - ready);
            carry.len -= ready;
        }
        assert_int_equal(carry.len, 0);
        assert_string_equal(all.ptr, want);
        s3w_buf_cleanup(&carry);
        s3w_buf_cleanup(&all);
    }
    /* held back from the last '<', unless it is further back than any
     * element rewritten */
    bool too_long;
    assert_int_equal(alias_ready(S3W_SLICE_LIT("<a>xy<Na"), &too_long), 5);
    assert_false(too_long);
    assert_int_equal(alias_ready(S3W_SLICE_LIT("no markup"), &too_long), 9);
    assert_false(too_long);
    char *big = malloc(ALIAS_CARRY_MAX + 16);
    memset(big, 'x', ALIAS_CARRY_MAX + 16);
    big[2] = '<';
    assert_int_equal(alias_ready(s3w_slice(big, ALIAS_CARRY_MAX + 8), &too_long), ALIAS_CARRY_MAX + 8);
    assert_false(too_long); /* <xxx...: not an element it rewrites */
    assert_int_equal(alias_ready(s3w_slice(big, ALIAS_CARRY_MAX + 2), &too_long), 2);
    assert_false(too_long);
    /* <Name> padded past the carry (probe 32): the caller is told to stop */
    memcpy(big + 2, "<Name>", 6);
    alias_ready(s3w_slice(big, ALIAS_CARRY_MAX + 16), &too_long);
    assert_true(too_long);
    free(big);
}

/* out's cap: over it, S3W_E_TOOBIG; alias_room is enough for a document
 * of nothing but renamed elements with a longer local name */
static void test_room(void **state)
{
    (void)state;
    struct s3w_buf out;
    s3w_buf_init(&out, 16);
    assert_int_equal(alias_rewrite(S3W_SLICE_LIT("<Name>" UP "</Name>"), &PATH, &out), S3W_E_TOOBIG);
    s3w_buf_cleanup(&out);
    struct alias_names longer = { .up = S3W_SLICE_LIT("a"),
                                  .local = S3W_SLICE_LIT("a-much-longer-local-bucket-name"),
                                  .path_style = true };
    char doc[6000] = "";
    for (size_t i = 0; i < 400; i++)
        strcat(doc, "<Name>a");
    rewritten(&longer, "<Name>a", "<Name>a-much-longer-local-bucket-name");
    s3w_buf_init(&out, alias_room(strlen(doc), &longer));
    assert_int_equal(alias_rewrite(s3w_slice_cstr(doc), &longer, &out), 0);
    assert_int_equal(out.len, 400 * (6 + 31));
    s3w_buf_cleanup(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listing),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_location),
        cmocka_unit_test(test_streaming),
        cmocka_unit_test(test_room),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
