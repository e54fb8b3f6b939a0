/* test_audit_format_diff.c - audit_format() and audit_json_escape() write
 * byte for byte what the formatter wrote before its per-request cost was
 * cut (audit_format_ref.c, the old code kept as the oracle): the record is
 * a contract (replay, test_deciding and the integration tests parse it),
 * and the fast paths (a plain run copied whole, values written without
 * escaping, the record written straight into the caller's block) must
 * not change one byte of it.
 *
 * Two kinds of input: every byte value at each offset of a 24-byte string
 * put in every string field at once (as test_audit's escape test does for
 * the escape alone), and seeded random records mixing plain text, every
 * byte value, valid and broken UTF-8, long values past their caps, secret
 * looking context keys, session policies with whitespace, extreme
 * numbers and times. Each record is formatted into a growing buffer and
 * into a fixed block at an offset, as a worker's batch does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <cmocka.h>

#include "audit.h"
#include "audit_format_ref.h"
#include "context.h"
#include "identity.h"

/* ---- deterministic random input ------------------------------------------ */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    /* xorshift64*: the same records on every run and machine */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

static size_t rnd_below(size_t n)
{
    return n ? (size_t)(rnd() % n) : 0;
}

/* Storage for one record's strings; reset per record. */
static char pool[256 * 1024];
static size_t pool_used;

/* One UTF-8 character, valid or not, at p; its length. */
static size_t gen_utf8(char *p)
{
    static const char *const chars[] = {
        "\xc3\xa9",         /* e acute */
        "\xe2\x82\xac",     /* euro */
        "\xf0\x9f\x98\x80", /* emoji */
        "\xed\x9f\xbf",     /* last before the surrogates */
        "\xef\xbf\xbd",     /* U+FFFD itself */
        "\xf4\x8f\xbf\xbf", /* U+10FFFF */
        "\xed\xa0\x80",     /* a surrogate: not UTF-8 */
        "\xc0\xaf",         /* overlong */
        "\xe0\x80\xaf",     /* overlong */
        "\xf0\x8f\xbf\xbf", /* overlong */
        "\xf4\x90\x80\x80", /* past U+10FFFF */
        "\xe2\x82",         /* cut */
        "\x80",             /* lone continuation */
        "\xff",
    };
    const char *c = chars[rnd_below(sizeof(chars) / sizeof(chars[0]))];
    size_t n = strlen(c);
    memcpy(p, c, n);
    return n;
}

/* A string of about len bytes in one of several mixes (at most len + 3). */
static struct s3w_slice gen_bytes(size_t len)
{
    if (pool_used + len + 4 > sizeof(pool))
        len = 0;
    char *p = pool + pool_used;
    unsigned mix = (unsigned)rnd_below(6);
    size_t n = 0;
    while (n < len) {
        unsigned roll = (unsigned)rnd_below(100);
        if (mix == 0 || (mix <= 2 && roll < 90) || (mix == 3 && roll < 50)) {
            p[n++] = (char)(0x20 + rnd_below(0x5f)); /* printable ASCII, '"' and '\\' too */
        } else if (mix == 1 || mix == 5) {
            p[n++] = (char)rnd_below(256); /* any byte */
        } else if (mix == 2) {
            static const char hostile[] = "\"\\\x00\x01\x1f\x7f\n\t/";
            p[n++] = hostile[rnd_below(sizeof(hostile) - 1)];
        } else {
            n += gen_utf8(p + n);
        }
    }
    pool_used += n;
    return s3w_slice(p, n);
}

/* A length: mostly short, now and then around or past a field's cap (so
 * that some records are cut and most are not). */
static bool quiet; /* this record's values are all short */

static size_t gen_len(void)
{
    if (quiet) /* escaped, under the smallest cap (tls, 32) */
        return rnd_below(5);
    size_t roll = rnd_below(40);
    if (roll == 0)
        return 0;
    if (roll < 26)
        return rnd_below(24);
    if (roll < 35)
        return rnd_below(200);
    if (roll < 37)
        return rnd_below(1100);
    if (roll < 39)
        return rnd_below(2600);
    return 4000 + rnd_below(6000);
}

/* NULL (where a field may be), empty, or some bytes. */
static struct s3w_slice gen_field(void)
{
    switch (rnd_below(10)) {
    case 0: return S3W_SLICE_NULL;
    case 1: return s3w_slice(pool, 0);
    default: return gen_bytes(gen_len());
    }
}

static int64_t gen_i64(void)
{
    static const int64_t edges[] = { 0, -1, 1, 9, 10, INT64_MIN, INT64_MAX, INT64_MIN + 1,
                                     1796447947071, -62167219200000, 253402300799999,
                                     253402300800000, -62167219200001 };
    if (rnd_below(3) == 0)
        return edges[rnd_below(sizeof(edges) / sizeof(edges[0]))];
    return (int64_t)(rnd() >> rnd_below(64));
}

/* Context keys: the ones s3warden sets, ones that look like secrets (in
 * any case, at any offset), and random bytes. */
static struct s3w_slice gen_key(void)
{
    static const char *const keys[] = {
        "aws:SourceIp", "aws:UserAgent", "s3:x-amz-content-sha256", "aws:PrincipalArn",
        "aws:TokenIssueTime", "s3:signatureversion", "s3:signatureAge", "s3:authType",
        "aws:SecureTransport", "s3:prefix", "s3:ExistingObjectTag/team", "aws:RequestTag/x",
        "aws:SessionToken", "x-Secret", "mySIGNATUREs", "Authorization", "aws:credential",
        "PassWord1", "tok", "toke", "token", "TOKEN", "aut", "s3:RequestObjectTag/Token",
        "issuer.example.com/path:sub", "signatureversion", "aws:tokenissuetime", "secre",
    };
    if (rnd_below(3) == 0)
        return gen_bytes(rnd_below(40));
    const char *k = keys[rnd_below(sizeof(keys) / sizeof(keys[0]))];
    size_t n = strlen(k);
    if (pool_used + n > sizeof(pool))
        return s3w_slice(pool, 0);
    char *p = pool + pool_used;
    memcpy(p, k, n);
    pool_used += n;
    if (rnd_below(2)) /* any letter in either case */
        for (size_t i = 0; i < n; i++)
            if (((p[i] | 0x20) >= 'a' && (p[i] | 0x20) <= 'z') && rnd_below(2))
                p[i] ^= 0x20;
    return s3w_slice(p, n);
}

static struct s3w_slice value_store[POLICY_CTX_MAX_KEYS][6];

static void gen_context(struct policy_context *ctx)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->n = rnd_below(4) == 0 ? rnd_below(POLICY_CTX_MAX_KEYS + 1) : rnd_below(30);
    for (size_t i = 0; i < ctx->n; i++) {
        struct policy_ctx_entry *e = &ctx->entries[i];
        e->key = gen_key();
        e->multi = rnd_below(4) == 0;
        e->nvalues = e->multi ? rnd_below(6) : 1;
        for (size_t j = 0; j < e->nvalues; j++)
            value_store[i][j] = rnd_below(3) ? gen_bytes(rnd_below(40)) : gen_bytes(gen_len());
        e->one = value_store[i][0];
        e->values = value_store[i];
    }
}

/* Up to len bytes of the first nparts of parts, picked at random and
 * joined, in the pool (which has room for them). */
static struct s3w_slice gen_parts(const char *const *parts, size_t nparts, size_t len)
{
    char *p = pool + pool_used;
    size_t n = 0;
    while (n < len) {
        const char *s = parts[rnd_below(nparts)];
        size_t k = strlen(s);
        if (n + k > len)
            break;
        memcpy(p + n, s, k);
        n += k;
    }
    pool_used += n;
    return s3w_slice(p, n);
}

/* A session policy: JSON-like text with whitespace in and out of strings,
 * escapes, and now and then a byte that is not UTF-8. */
static struct s3w_slice gen_policy(void)
{
    if (rnd_below(5) == 0)
        return rnd_below(2) ? s3w_slice(pool, 0) : gen_field();
    size_t len = rnd_below(3) == 0 ? 16000 + rnd_below(12000) : rnd_below(3000);
    if (pool_used + len + 8 > sizeof(pool))
        return s3w_slice(pool, 0);
    static const char *const parts[] = {
        "{", "}", "[", "]", ":", ",", " ", "\t", "\n", "\r", "  \"Effect\" : \"Allow\"",
        "\"a b\\\"c\"", "\"\\\\\"", "\"Resource\":[\"arn:aws:s3:::b/*\"]", "\xc3\xa9",
        "\"\t\"", "\"\x01\"", "\\", "\"",
        "\xff", /* last: most documents are UTF-8 */
    };
    return gen_parts(parts, sizeof(parts) / sizeof(parts[0]) - (rnd_below(3) ? 1 : 0), len);
}

/* Session tags: none, a few short ones (the common case), or up to 50 of
 * AssumeRole's longest (128-byte keys, 256-byte values: more than the
 * room a record has left, so the field is then left out). Their bytes are
 * UTF-8 with escapes to make, and now and then one that is not (a tag
 * left out). */
static struct config_identity_tag gen_tag_store[50];

static struct s3w_slice gen_tag_bytes(size_t len)
{
    static const char *const parts[] = { "a", "Z", "9", " ", "_", ":", "/", "=", "+", "-", "@",
                                         "\"", "\\", "\x01", "\n", "\xc3\xa9",
                                         "\xf0\x9f\x98\x80", "\xff" };
    if (pool_used + len + 4 > sizeof(pool))
        return s3w_slice(pool, 0);
    return gen_parts(parts, sizeof(parts) / sizeof(parts[0]) - (rnd_below(8) ? 1 : 0), len);
}

static size_t gen_tags(void)
{
    size_t n = rnd_below(3) == 0 ? 0 : rnd_below(4) == 0 ? rnd_below(51) : rnd_below(5);
    bool longest = rnd_below(4) == 0;
    for (size_t i = 0; i < n; i++) {
        gen_tag_store[i].key = gen_tag_bytes(longest ? 128 : 1 + rnd_below(20));
        gen_tag_store[i].value = gen_tag_bytes(longest ? 256 : rnd_below(40));
    }
    return n;
}

static struct policy_context gen_ctx;

static void gen_record(struct audit_record *r)
{
    pool_used = 0;
    quiet = rnd_below(3) == 0;
    memset(r, 0, sizeof(*r));
    r->time_ms = gen_i64();
    r->request_id = gen_field();
    r->upstream_request_id = gen_field();
    r->source_ip = gen_field();
    r->user_agent = gen_field();
    r->identity_type = gen_field();
    r->principal_id = gen_field();
    r->arn = gen_field();
    r->account_id = gen_field();
    r->access_key_id = gen_field();
    if (rnd_below(2)) {
        r->session_role_arn = gen_field();
        r->session_name = gen_field();
    }
    if (rnd_below(3) == 0) {
        r->wi_provider = gen_field();
        r->wi_sub = gen_field();
        r->wi_aud = gen_field();
    }
    r->token_session = rnd_below(2);
    r->session_policy = gen_policy();
    r->session_tags = gen_tag_store;
    r->nsession_tags = gen_tags();
    r->event_name = gen_field();
    r->bucket = gen_field();
    r->key = gen_field();
    r->nauthz = rnd_below(4) == 0 ? rnd_below(AUDIT_MAX_AUTHZ + 4) : rnd_below(3);
    for (size_t i = 0; i < AUDIT_MAX_AUTHZ; i++) {
        r->actions[i] = gen_field();
        r->resources[i] = gen_field();
    }
    r->decision = gen_field();
    r->deciding = gen_field();
    r->cross_account = rnd_below(2);
    r->error_code = gen_field();
    r->http_status = (int)gen_i64();
    r->bytes_in = (uint64_t)gen_i64();
    r->bytes_out = (uint64_t)gen_i64();
    r->latency_ms = gen_i64();
    r->upstream_latency_ms = rnd_below(3) == 0 ? -1 : gen_i64();
    r->tls = gen_field();
    if (rnd_below(5)) {
        gen_context(&gen_ctx);
        r->context = &gen_ctx;
    }
}

/* ---- the comparison ---------------------------------------------------------- */
static size_t diff_at(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t i = 0;
    while (i < alen && i < blen && a[i] == b[i])
        i++;
    return i;
}

/* Formats r with both formatters (into a growing buffer, and the new one
 * also into a fixed block after `prefix` bytes, as a worker's batch does)
 * and fails at the first byte where they part. */
static void same_record(const struct audit_record *r, const char *what)
{
    struct s3w_buf want, got;
    s3w_buf_init(&want, AUDIT_LINE_MAX);
    s3w_buf_init(&got, AUDIT_LINE_MAX);
    int want_rc = audit_format_ref(r, &want);
    int got_rc = audit_format(r, &got);
    assert_int_equal(want_rc, 0);
    assert_int_equal(got_rc, 0);
    if (want.len != got.len || memcmp(want.ptr, got.ptr, want.len) != 0) {
        size_t at = diff_at(want.ptr, want.len, got.ptr, got.len);
        size_t from = at > 60 ? at - 60 : 0;
        fail_msg("%s: records part at byte %zu of %zu/%zu:\n want ...%.*s\n got  ...%.*s", what,
                 at, want.len, got.len, (int)((want.len < at + 60 ? want.len : at + 60) - from),
                 want.ptr + from, (int)((got.len < at + 60 ? got.len : at + 60) - from),
                 got.ptr + from);
    }
    /* a block with room for the longest line after what it already holds */
    static char block[64 + AUDIT_LINE_MAX + 1];
    size_t prefix = (size_t)(rnd() % 64);
    struct s3w_buf fixed;
    s3w_buf_fixed(&fixed, block, sizeof(block));
    memset(block, '#', prefix);
    fixed.len = prefix;
    block[prefix] = '\0';
    assert_int_equal(audit_format(r, &fixed), 0);
    assert_int_equal(fixed.len, prefix + want.len);
    assert_memory_equal(block + prefix, want.ptr, want.len);
    assert_int_equal(block[fixed.len], '\0');
    for (size_t i = 0; i < prefix; i++)
        assert_int_equal(block[i], '#');
    s3w_buf_cleanup(&want);
    s3w_buf_cleanup(&got);
}

/* Every string field of r, so that a test can set them all at once. */
static size_t string_fields(struct audit_record *r, struct s3w_slice **out)
{
    struct s3w_slice *f[] = {
        &r->request_id, &r->upstream_request_id, &r->source_ip, &r->user_agent,
        &r->identity_type, &r->principal_id, &r->arn, &r->account_id, &r->access_key_id,
        &r->session_role_arn, &r->session_name, &r->wi_provider, &r->wi_sub, &r->wi_aud,
        &r->session_policy, &r->event_name, &r->bucket, &r->key, &r->decision, &r->deciding,
        &r->error_code, &r->tls,
    };
    size_t n = sizeof(f) / sizeof(f[0]);
    memcpy(out, f, sizeof(f));
    for (size_t i = 0; i < AUDIT_MAX_AUTHZ; i++) {
        out[n++] = &r->actions[i];
        out[n++] = &r->resources[i];
    }
    return n;
}

static void test_each_byte_at_each_offset_in_every_field(void **state)
{
    (void)state;
    struct s3w_slice *fields[64];
    static struct policy_context ctx;
    static struct s3w_slice multi[3];
    for (int c = 0; c < 256; c++) {
        for (size_t at = 0; at < 24; at++) {
            char in[24];
            memset(in, 'k', sizeof(in));
            in[at] = (char)c;
            struct s3w_slice v = s3w_slice(in, sizeof(in));
            struct audit_record r;
            memset(&r, 0, sizeof(r));
            r.time_ms = 1796447947071;
            size_t n = string_fields(&r, fields);
            for (size_t i = 0; i < n; i++)
                *fields[i] = v;
            r.token_session = true;
            r.nauthz = AUDIT_MAX_AUTHZ;
            r.upstream_latency_ms = -1;
            /* the byte in a context key and in single and multiple values */
            memset(&ctx, 0, sizeof(ctx));
            ctx.n = 3;
            ctx.entries[0] = (struct policy_ctx_entry){ .key = v, .one = v, .nvalues = 1 };
            ctx.entries[0].values = &ctx.entries[0].one;
            ctx.entries[1] = (struct policy_ctx_entry){ .key = S3W_SLICE_LIT("aws:SourceIp"),
                                                       .one = v, .nvalues = 1 };
            ctx.entries[1].values = &ctx.entries[1].one;
            multi[0] = multi[1] = multi[2] = v;
            ctx.entries[2] = (struct policy_ctx_entry){ .key = S3W_SLICE_LIT("s3:prefix"),
                                                       .values = multi, .nvalues = 3,
                                                       .multi = true };
            r.context = &ctx;
            /* and in a session tag's key and value */
            static struct config_identity_tag tag;
            tag.key = tag.value = v;
            r.session_tags = &tag;
            r.nsession_tags = 1;
            char what[64];
            snprintf(what, sizeof(what), "byte 0x%02x at %zu", c, at);
            same_record(&r, what);
        }
    }
}

/* Apart from the oracle (whose room arithmetic is the same): a written
 * sessionTags object holds the record's tags, byte for byte, in order. */
static bool tags_as_given(const struct audit_record *r, const char *line)
{
    cJSON *j = cJSON_Parse(line);
    assert_non_null(j);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "sessionTags");
    if (t) {
        assert_true(cJSON_IsObject(t));
        assert_int_equal(cJSON_GetArraySize(t), r->nsession_tags);
        size_t i = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, t) {
            const struct config_identity_tag *g = &r->session_tags[i++];
            assert_true(cJSON_IsString(e));
            assert_int_equal(strlen(e->string), g->key.len);
            assert_memory_equal(e->string, g->key.ptr, g->key.len);
            assert_int_equal(strlen(e->valuestring), g->value.len);
            assert_memory_equal(e->valuestring, g->value.ptr, g->value.len);
        }
    }
    cJSON_Delete(j);
    return t != NULL;
}

static void test_random_records(void **state)
{
    (void)state;
    /* the records must reach the paths that matter, or the test proves little */
    size_t whole = 0, cut = 0, policies = 0, contexts_cut = 0, tags = 0, tags_cut = 0;
    size_t tags_checked = 0;
    for (int i = 0; i < 4000; i++) {
        struct audit_record r;
        gen_record(&r);
        char what[32];
        snprintf(what, sizeof(what), "random record %d", i);
        same_record(&r, what);
        struct s3w_buf b;
        s3w_buf_init(&b, AUDIT_LINE_MAX);
        assert_int_equal(audit_format(&r, &b), 0);
        cut += strstr(b.ptr, ",\"truncated\":[") != NULL;
        whole += strstr(b.ptr, ",\"truncated\":[") == NULL;
        policies += strstr(b.ptr, ",\"sessionPolicy\":\"") != NULL;
        tags += strstr(b.ptr, ",\"sessionTags\":{\"") != NULL;
        if (r.token_session)
            tags_checked += tags_as_given(&r, b.ptr) && r.nsession_tags > 0;
        tags_cut += strstr(b.ptr, "\"sessionTags\"]") != NULL;
        contexts_cut += strstr(b.ptr, "\"requestContext\"]") != NULL ||
                        strstr(b.ptr, "\"requestContext\",") != NULL;
        s3w_buf_cleanup(&b);
    }
    print_message("records: %zu whole, %zu with truncated, %zu with a session policy, %zu with the context cut, "
                  "%zu with session tags (%zu read back), %zu with them left out\n", whole, cut, policies,
                  contexts_cut, tags, tags_checked, tags_cut);
    assert_true(whole > 400);
    assert_true(cut > 400);
    assert_true(policies > 400);
    assert_true(contexts_cut > 20);
    assert_true(tags > 400);
    assert_true(tags_cut > 20);
    assert_true(tags_checked > 200);
}

/* audit_json_escape on its own (the CloudTrail format calls it): random
 * strings and caps, into growing buffers that start empty or not (piece
 * by piece, or in place once they have grown) and into a fixed buffer
 * with room to spare (always in place, as in a worker's block). */
static void test_escape_random(void **state)
{
    (void)state;
    for (int i = 0; i < 20000; i++) {
        pool_used = 0;
        struct s3w_slice s = gen_bytes(rnd_below(4) ? rnd_below(64) : rnd_below(3000));
        size_t cap = rnd_below(3) ? rnd_below(s.len * 2 + 8) : (size_t)-1;
        struct s3w_buf want, got;
        s3w_buf_init(&want, 1 << 16);
        s3w_buf_init(&got, 1 << 16);
        size_t lead = rnd_below(3) ? 0 : rnd_below(300);
        for (size_t j = 0; j < lead; j++) {
            assert_int_equal(s3w_buf_append_char(&want, 'x'), 0);
            assert_int_equal(s3w_buf_append_char(&got, 'x'), 0);
        }
        bool want_cut = false, got_cut = false;
        assert_int_equal(audit_json_escape_ref(&want, s, cap, &want_cut), 0);
        assert_int_equal(audit_json_escape(&got, s, cap, &got_cut), 0);
        assert_int_equal(got_cut, want_cut);
        assert_int_equal(got.len, want.len);
        assert_memory_equal(got.ptr, want.ptr, want.len);
        if (got.ptr) /* NULL while nothing was appended */
            assert_int_equal(got.ptr[got.len], '\0');
        static char storage[1 << 16];
        struct s3w_buf fixed;
        s3w_buf_fixed(&fixed, storage, sizeof(storage));
        memset(storage, 'x', lead);
        fixed.len = lead;
        bool fixed_cut = false;
        assert_int_equal(audit_json_escape(&fixed, s, cap, &fixed_cut), 0);
        assert_int_equal(fixed_cut, want_cut);
        assert_int_equal(fixed.len, want.len);
        assert_memory_equal(storage, want.ptr, want.len);
        assert_int_equal(storage[fixed.len], '\0');
        s3w_buf_cleanup(&want);
        s3w_buf_cleanup(&got);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_byte_at_each_offset_in_every_field),
        cmocka_unit_test(test_random_records),
        cmocka_unit_test(test_escape_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
