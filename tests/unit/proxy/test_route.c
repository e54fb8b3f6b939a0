/* test_route.c - path-style vs virtual-hosted-style addressing (S3 User
 * Guide, "Virtual hosting of buckets") and key decoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pipeline.h"

static char *domains[] = { "s3.local", "s3.example.com" };

static void route(const char *host, const char *path, const char *bucket, const char *key)
{
    struct s3w_slice b, k;
    char vb[PL_VHOST_BUCKET_CAP];
    assert_int_equal(pl_route(s3w_slice_cstr(host), s3w_slice_cstr(path), domains, 2, vb, &b, &k), 0);
    assert_int_equal(b.len, strlen(bucket));
    assert_memory_equal(b.ptr, bucket, b.len);
    assert_int_equal(k.len, strlen(key));
    assert_memory_equal(k.ptr, key, k.len);
}

static void test_path_style(void **state)
{
    (void)state;
    route("127.0.0.1:8080", "/", "", "");
    route("127.0.0.1:8080", "/bkt", "bkt", "");
    route("127.0.0.1:8080", "/bkt/", "bkt", "");
    route("127.0.0.1:8080", "/bkt/a/b%20c", "bkt", "a/b%20c");
    route("localhost", "/bkt//double", "bkt", "/double");
    /* the bare base domain is path style too */
    route("s3.local:9000", "/bkt/k", "bkt", "k");
    /* a host that merely ends with the domain text is not a subdomain */
    route("evils3.local", "/bkt/k", "bkt", "k");
}

static void test_virtual_hosted(void **state)
{
    (void)state;
    route("bkt.s3.local", "/k/x", "bkt", "k/x");
    route("my.dotted.bucket.s3.example.com:443", "/", "my.dotted.bucket", "");
    /* a host name is case-blind, a path is not: OPEN.s3.local is the
     * bucket open (as DNS would have it), /OPEN/k the bucket OPEN */
    route("BKT.S3.LOCAL", "/k", "bkt", "k");
    route("Open.s3.local", "/K", "open", "K");
    route("127.0.0.1", "/OPEN/k", "OPEN", "k");
}

/* a label longer than any bucket name is not folded into the buffer: it
 * stays the Host's, for s3map to refuse as InvalidBucketName */
static void test_virtual_hosted_long(void **state)
{
    (void)state;
    char host[PL_VHOST_BUCKET_CAP + 16], vb[PL_VHOST_BUCKET_CAP];
    memset(host, 'A', PL_VHOST_BUCKET_CAP);
    strcpy(host + PL_VHOST_BUCKET_CAP, ".s3.local");
    struct s3w_slice b, k;
    assert_int_equal(pl_route(s3w_slice_cstr(host), S3W_SLICE_LIT("/k"), domains, 2, vb, &b, &k), 0);
    assert_int_equal(b.len, PL_VHOST_BUCKET_CAP);
    assert_ptr_equal(b.ptr, host);
    assert_true(b.len > S3MAP_MAX_BUCKET_BYTES);
    host[PL_VHOST_BUCKET_CAP - 1] = '.'; /* now the longest that fits */
    memmove(host + PL_VHOST_BUCKET_CAP - 1, ".s3.local", sizeof ".s3.local");
    assert_int_equal(pl_route(s3w_slice_cstr(host), S3W_SLICE_LIT("/k"), domains, 2, vb, &b, &k), 0);
    assert_int_equal(b.len, S3MAP_MAX_BUCKET_BYTES);
    assert_ptr_equal(b.ptr, vb);
    assert_int_equal(b.ptr[0], 'a');
}

static void test_route_bad(void **state)
{
    (void)state;
    struct s3w_slice b, k;
    char vb[PL_VHOST_BUCKET_CAP];
    assert_int_equal(pl_route(S3W_SLICE_LIT("h"), S3W_SLICE_LIT("x"), domains, 2, vb, &b, &k), -1);
    assert_int_equal(pl_route(S3W_SLICE_LIT("h"), S3W_SLICE_LIT(""), domains, 2, vb, &b, &k), -1);
}

/* host[:port] and nothing else (the fifth probe's Host values, which were
 * cut at the first ':' or taken whole as a bucket name) */
static void test_host_forms(void **state)
{
    (void)state;
    route("bkt.s3.local:", "/k", "bkt", "k"); /* an empty port is one */
    route("bkt.s3.local:65535", "/k", "bkt", "k");
    route("bkt.s3.local:00080", "/k", "bkt", "k"); /* five digits, 80 */
    route("127.0.0.1:0", "/bkt/k", "bkt", "k");
    route("bkt.s3.local.", "/k", "bkt", "k"); /* the root's dot */
    route("bkt.s3.local.:9000", "/k", "bkt", "k");
    route("[::1]:8080", "/bkt/k", "bkt", "k");
    route("[::ffff:127.0.0.1]", "/bkt/k", "bkt", "k");
    route("under_score.s3.local", "/k", "under_score", "k");
    static const char *const bad[] = {
        "",                    /* no host */
        "bkt.s3.local:9000:1", /* two ports */
        "bkt.s3.local:abc",
        "bkt.s3.local:123456",
        "secret.s3.local:9000@open.s3.local", /* userinfo games */
        "u@open.s3.local",
        "open.s3.local,secret.s3.local", /* two hosts in one */
        "open.s3.local secret",
        "open%2es3.local",
        "[::1", /* an unclosed literal */
        "[]",
        "[::g]",
        "[::1]x",
        ":9000",
        "bkt.s3.local:65536", /* not a port (probe 29) */
        "bkt.s3.local:99999",
        "bkt.s3.local..", /* empty labels (probe 29: read path-style) */
        "bkt.s3.local..:9000",
        "bkt..s3.local",
        ".bkt.s3.local",
        "..",
        ".",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct s3w_slice b, k;
        char vb[PL_VHOST_BUCKET_CAP];
        if (pl_route(s3w_slice_cstr(bad[i]), S3W_SLICE_LIT("/bkt/k"), domains, 2, vb, &b, &k) != -2)
            fail_msg("Host \"%s\" taken", bad[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_style),
        cmocka_unit_test(test_virtual_hosted),
        cmocka_unit_test(test_virtual_hosted_long),
        cmocka_unit_test(test_route_bad),
        cmocka_unit_test(test_host_forms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
