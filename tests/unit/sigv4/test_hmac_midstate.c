/*
 * test_hmac_midstate.c - HMAC-SHA256 from a key's ready ipad/opad states
 * (sigv4_hmac_key, hmac.c) and the signing-key cache that keeps them
 * (sigv4_keycache_sign, keycache.c): every MAC equals OpenSSL's own HMAC()
 * (sigv4_hmac_sha256 is built from the same states, so it would not be an
 * independent reference), the one-shot sigv4_hmac_sha256, and the published values - RFC 4231's HMAC-SHA256
 * cases, the signatures of both AWS SigV4 suites and of the S3 examples in
 * tests/testdata - on a miss, on a hit, after eviction, and for a tuple too
 * long to cache; the cache's cleanup leaves no byte of a key or its states.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "test_sigv4core_util.h"

static void hex32(const uint8_t b[32], char out[65])
{
    s3w_hex_encode(b, 32, out);
}

/* Both paths for one key and message against OpenSSL's HMAC: the one-shot
 * MAC, and two MACs from one made key (the states are not consumed);
 * returns the MAC's hex. */
static void both_paths(const void *key, size_t klen, const void *msg, size_t mlen, char hex[65])
{
    uint8_t ref[32], plain[32], mid[32], again[32];
    unsigned int rlen = 0;
    struct sigv4_hmac_key hk;
    assert_non_null(HMAC(EVP_sha256(), key, (int)klen, msg, mlen, ref, &rlen));
    assert_int_equal(rlen, 32);
    sigv4_hmac_sha256(key, klen, msg, mlen, plain);
    assert_memory_equal(plain, ref, 32);
    sigv4_hmac_key_init(&hk, key, klen);
    struct sigv4_hmac_key before = hk;
    sigv4_hmac_key_mac(&hk, msg, mlen, mid);
    sigv4_hmac_key_mac(&hk, msg, mlen, again);
    assert_memory_equal(mid, plain, 32);
    assert_memory_equal(again, plain, 32);
    assert_memory_equal(&hk, &before, sizeof hk);
    hex32(plain, hex);
    s3w_wipe(&hk, sizeof hk);
}

/* RFC 4231 section 4: test cases 1-4, 6 and 7 (5 is truncated output). */
static void test_rfc4231(void **state)
{
    (void)state;
    uint8_t k20b[20], k20a[20], k25[25], k131[131], d50d[50], d50c[50];
    memset(k20b, 0x0b, sizeof k20b);
    memset(k20a, 0xaa, sizeof k20a);
    for (size_t i = 0; i < sizeof k25; i++)
        k25[i] = (uint8_t)(i + 1);
    memset(k131, 0xaa, sizeof k131);
    memset(d50d, 0xdd, sizeof d50d);
    memset(d50c, 0xcd, sizeof d50c);
    static const char m6[] = "Test Using Larger Than Block-Size Key - Hash Key First";
    static const char m7[] = "This is a test using a larger than block-size key and a larger than "
                             "block-size data. The key needs to be hashed before being used by the "
                             "HMAC algorithm.";
    const struct {
        const void *k;
        size_t kl;
        const void *m;
        size_t ml;
        const char *want;
    } v[] = {
        { k20b, 20, "Hi There", 8, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7" },
        { "Jefe", 4, "what do ya want for nothing?", 28,
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
        { k20a, 20, d50d, 50, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe" },
        { k25, 25, d50c, 50, "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b" },
        { k131, 131, m6, sizeof m6 - 1, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54" },
        { k131, 131, m7, sizeof m7 - 1, "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2" },
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char hex[65];
        both_paths(v[i].k, v[i].kl, v[i].m, v[i].ml, hex);
        assert_string_equal(hex, v[i].want);
    }
}

/* Keys of every length around the block (0..130: padded, exactly 64,
 * hashed first) against messages around SHA-256's padding boundaries. */
static void test_many_keys_and_messages(void **state)
{
    (void)state;
    static const size_t mlens[] = { 0, 1, 31, 32, 55, 56, 63, 64, 65, 119, 120, 128, 150, 300, 1000 };
    uint8_t key[130], msg[1000];
    uint32_t x = 0x9e3779b9u;
    for (size_t i = 0; i < sizeof msg; i++) {
        x = x * 1664525u + 1013904223u;
        msg[i] = (uint8_t)(x >> 24);
    }
    int n = 0;
    for (size_t kl = 0; kl <= sizeof key; kl++) {
        for (size_t i = 0; i < kl; i++) {
            x = x * 1664525u + 1013904223u;
            key[i] = (uint8_t)(x >> 24);
        }
        for (size_t m = 0; m < sizeof mlens / sizeof mlens[0]; m++, n++) {
            char hex[65];
            both_paths(key, kl, msg, mlens[m], hex);
        }
    }
    assert_int_equal(n, 131 * 15);
}

/* ---- the cache against the published signatures ------------------------------- */
static struct sigv4_keycache cache;
static int nsigned;

/* Signs sts through the cache twice (the second a hit unless evicted
 * between) and checks both against want_hex and the uncached path. */
static void cached_sign(const char *secret, const char *date8, const char *region, const char *service,
                        struct s3w_slice sts, struct s3w_slice want_hex)
{
    struct s3w_slice sec = s3w_slice_cstr(secret), date = s3w_slice(date8, 8);
    struct s3w_slice reg = s3w_slice_cstr(region), svc = s3w_slice_cstr(service);
    uint8_t plain_key[32], plain_sig[32];
    sigv4_signing_key(sec, date, reg, svc, plain_key);
    sigv4_signature(plain_key, sts, plain_sig);
    for (int round = 0; round < 2; round++) {
        uint8_t key[32], sig[32];
        char hex[65];
        sigv4_keycache_sign(&cache, sec, date, reg, svc, sts, key, sig);
        assert_memory_equal(key, plain_key, 32);
        assert_memory_equal(sig, plain_sig, 32);
        hex32(sig, hex);
        SLICE_EQ(s3w_slice(hex, 64), want_hex);
    }
    nsigned++;
}

static void suite_2015(const char *sub)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/sigv4/aws-sig-v4-test-suite%s%s", tu_testdata_dir(), *sub ? "/" : "",
             sub);
    DIR *d = opendir(path);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || strchr(e->d_name, '.') || !strcmp(e->d_name, "LICENSE") ||
            !strcmp(e->d_name, "NOTICE") || !strcmp(e->d_name, "normalize-path") ||
            !strcmp(e->d_name, "post-sts-token"))
            continue;
        size_t sl, al;
        char *sts = td_read(&sl, "sigv4/aws-sig-v4-test-suite/%s%s%s/%s.sts", sub, *sub ? "/" : "",
                            e->d_name, e->d_name);
        char *authz = td_read(&al, "sigv4/aws-sig-v4-test-suite/%s%s%s/%s.authz", sub, *sub ? "/" : "",
                              e->d_name, e->d_name);
        const char *sp = strstr(authz, "Signature=");
        assert_non_null(sp);
        cached_sign(SUITE_SECRET, "20150830", "us-east-1", "service", chomp(sts, sl),
                    s3w_slice(sp + 10, 64));
        free(sts);
        free(authz);
    }
    closedir(d);
}

static void suite_cauth(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/sigv4/aws-c-auth-signing-test-suite/v4", tu_testdata_dir());
    DIR *d = opendir(path);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        size_t cl;
        char *ctx = td_read(&cl, "sigv4/aws-c-auth-signing-test-suite/v4/%s/context.json", e->d_name);
        char secret[128], region[64], service[64];
        assert_non_null(json_get(ctx, "secret_access_key", secret, sizeof secret, NULL));
        assert_non_null(json_get(ctx, "region", region, sizeof region, NULL));
        assert_non_null(json_get(ctx, "service", service, sizeof service, NULL));
        for (int form = 0; form < 2; form++) {
            const char *f = form ? "query" : "header";
            size_t sl, gl;
            char *sts = td_read(&sl, "sigv4/aws-c-auth-signing-test-suite/v4/%s/%s-string-to-sign.txt",
                                e->d_name, f);
            char *sig = td_read(&gl, "sigv4/aws-c-auth-signing-test-suite/v4/%s/%s-signature.txt",
                                e->d_name, f);
            cached_sign(secret, "20150830", region, service, chomp(sts, sl), chomp(sig, gl));
            free(sts);
            free(sig);
        }
        free(ctx);
    }
    closedir(d);
}

/* The S3 API reference's examples: another secret, date and service. */
static void s3_examples(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/s3-examples", tu_testdata_dir());
    DIR *d = opendir(path);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t nl = strlen(e->d_name);
        if (nl < 6 || strcmp(e->d_name + nl - 5, ".json") != 0)
            continue;
        size_t jl;
        char *j = td_read(&jl, "s3-examples/%s", e->d_name);
        char secret[128], region[64], service[64], ts[32], sts[2048], sig[80];
        size_t stsl;
        assert_non_null(json_get(j, "secret_access_key", secret, sizeof secret, NULL));
        assert_non_null(json_get(j, "region", region, sizeof region, NULL));
        assert_non_null(json_get(j, "service", service, sizeof service, NULL));
        assert_non_null(json_get(j, "timestamp", ts, sizeof ts, NULL));
        const char *exp = strstr(j, "\"expected\"");
        assert_non_null(exp);
        assert_non_null(json_get(exp, "string_to_sign", sts, sizeof sts, &stsl));
        /* an aws-chunked example's request signature is its seed (its
         * "signature"s are the chunks') */
        if (!json_get(exp, "seed_signature", sig, sizeof sig, NULL))
            assert_non_null(json_get(exp, "signature", sig, sizeof sig, NULL));
        cached_sign(secret, ts, region, service, s3w_slice(sts, stsl), s3w_slice_cstr(sig));
        free(j);
    }
    closedir(d);
}

static bool all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return false;
    return true;
}

static void test_published_signatures(void **state)
{
    (void)state;
    sigv4_keycache_init(&cache);
    nsigned = 0;
    suite_2015("");
    suite_2015("normalize-path");
    suite_2015("post-sts-token");
    assert_int_equal(nsigned, 31); /* README: 22 + 7 + 2 */
    suite_cauth();
    assert_int_equal(nsigned, 31 + 2 * 38);
    s3_examples();
    assert_int_equal(nsigned, 31 + 2 * 38 + 7);
    /* two keys: each derived once, every other signature a hit */
    assert_int_equal(cache.misses, 2);
    assert_int_equal(cache.hits, 2 * nsigned - 2);
    sigv4_keycache_cleanup(&cache);
    assert_true(all_zero(&cache, sizeof cache));
}

/* More tuples than slots, round after round: entries are evicted and
 * filled again with other keys, whose states must be the new key's; then
 * a region too long to cache goes the plain way. */
static void test_eviction_and_uncached(void **state)
{
    (void)state;
    sigv4_keycache_init(&cache);
    static const char sts[] = "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
                              "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63";
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < SIGV4_KEYCACHE_SLOTS + 5; i++) {
            char secret[48];
            snprintf(secret, sizeof secret, "evictionSecret%02d/0123456789abcdefghijklmn", i);
            uint8_t k[32], want[32], got[32], key[32];
            sigv4_signing_key(s3w_slice_cstr(secret), S3W_SLICE_LIT("20150830"), S3W_SLICE_LIT("us-east-1"),
                              S3W_SLICE_LIT("service"), k);
            sigv4_signature(k, S3W_SLICE_LIT(sts), want);
            sigv4_keycache_sign(&cache, s3w_slice_cstr(secret), S3W_SLICE_LIT("20150830"),
                                S3W_SLICE_LIT("us-east-1"), S3W_SLICE_LIT("service"), S3W_SLICE_LIT(sts), key,
                                got);
            assert_memory_equal(key, k, 32);
            assert_memory_equal(got, want, 32);
        }
    }
    /* LRU over a cycle longer than the cache: every lookup missed */
    assert_int_equal(cache.hits, 0);
    assert_int_equal(cache.misses, 3 * (SIGV4_KEYCACHE_SLOTS + 5));

    char region[40];
    memset(region, 'r', sizeof region - 1);
    region[sizeof region - 1] = '\0';
    uint8_t k[32], want[32], got[32], key[32];
    sigv4_signing_key(S3W_SLICE_LIT(SUITE_SECRET), S3W_SLICE_LIT("20150830"), s3w_slice_cstr(region),
                      S3W_SLICE_LIT("service"), k);
    sigv4_signature(k, S3W_SLICE_LIT(sts), want);
    sigv4_keycache_sign(&cache, S3W_SLICE_LIT(SUITE_SECRET), S3W_SLICE_LIT("20150830"), s3w_slice_cstr(region),
                        S3W_SLICE_LIT("service"), S3W_SLICE_LIT(sts), key, got);
    assert_memory_equal(key, k, 32);
    assert_memory_equal(got, want, 32);
    sigv4_keycache_cleanup(&cache);
    assert_true(all_zero(&cache, sizeof cache));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4231),
        cmocka_unit_test(test_many_keys_and_messages),
        cmocka_unit_test(test_published_signatures),
        cmocka_unit_test(test_eviction_and_uncached),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
