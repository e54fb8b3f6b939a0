/* test_listbuckets.c - ListBuckets through s3warden lists only the caller's
 * account's buckets, under their client-side names (listbuckets.h). The
 * upstream documents are S3's (S3 API Reference, ListBuckets, "Response
 * Syntax"); expected outputs are written out by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "listbuckets.h"

#define ROOT "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" \
             "<ListAllMyBucketsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
/* the upstream's Owner is the proxy's own account */
#define HEAD ROOT "<Owner><ID>abc123</ID><DisplayName>proxy</DisplayName></Owner>"
/* what the caller sees: its own account as the owner, as S3 answers */
#define OWNED(acct) ROOT "<Owner><ID>" acct "</ID></Owner>"
#define B(n) "<Bucket><Name>" n "</Name><CreationDate>2026-01-02T03:04:05.000Z</CreationDate></Bucket>"
#define BR(n) "<Bucket><Name>" n "</Name><CreationDate>2026-01-02T03:04:05.000Z</CreationDate>" \
              "<BucketRegion>us-east-1</BucketRegion></Bucket>"
/* the upstream's region: the caller is told s3warden's (us-east-1 here) */
#define BRU(n) "<Bucket><Name>" n "</Name><CreationDate>2026-01-02T03:04:05.000Z</CreationDate>" \
               "<BucketRegion>eu-secret-1</BucketRegion></Bucket>"

static const char *UPSTREAM =
    HEAD "<Buckets>" B("real-acme") BRU("partner-data") B("secret-internal") B("acme-logs")
    "</Buckets><ContinuationToken>tok</ContinuationToken></ListAllMyBucketsResult>";

static struct config *load(const char *unlisted)
{
    char json[4096];
    snprintf(json, sizeof json,
             "{\"listeners\":[{\"address\":\"127.0.0.1\",\"port\":1}],"
             "\"upstream\":{\"endpoint\":\"http://127.0.0.1:2\",\"region\":\"us-east-1\"},"
             "\"accounts\":[{\"id\":\"111111111111\"},{\"id\":\"222222222222\"},"
             "{\"id\":\"333333333333\"}],"
             "\"buckets\":[{\"name\":\"acme-shared\",\"account\":\"111111111111\","
             "\"upstream_name\":\"real-acme\"},"
             "{\"name\":\"acme-logs\",\"account\":\"111111111111\"},"
             "{\"name\":\"partner-data\",\"account\":\"222222222222\"}]%s}",
             unlisted);
    struct config_errors errs;
    config_errors_init(&errs);
    struct config *cfg = NULL;
    int rc = config_load_buffer("test", json, strlen(json), NULL, &cfg, &errs);
    for (size_t i = 0; i < errs.n; i++)
        fprintf(stderr, "%s\n", errs.items[i].text);
    config_errors_cleanup(&errs);
    assert_int_equal(rc, CONFIG_OK);
    return cfg;
}

static void check(const struct config *cfg, const char *account, const char *in,
                  int want_rc, const char *want)
{
    struct s3w_buf out;
    s3w_buf_init(&out, LISTBUCKETS_MAX_BODY);
    assert_int_equal(listbuckets_filter(cfg, s3w_slice_cstr(account), s3w_slice_cstr(in), &out),
                     want_rc);
    if (want) {
        assert_int_equal(s3w_buf_append_char(&out, 0), 0);
        assert_string_equal(out.ptr, want);
    }
    s3w_buf_cleanup(&out);
}

static void test_owner_sees_own_buckets_renamed(void **state)
{
    (void)state;
    struct config *cfg = load("");
    check(cfg, "111111111111", UPSTREAM, 0,
          OWNED("111111111111") "<Buckets>" B("acme-shared") B("acme-logs")
          "</Buckets></ListAllMyBucketsResult>");
    check(cfg, "222222222222", UPSTREAM, 0,
          OWNED("222222222222") "<Buckets>" BR("partner-data")
          "</Buckets></ListAllMyBucketsResult>");
    /* an account owning nothing sees nothing, the unlisted bucket included */
    check(cfg, "333333333333", UPSTREAM, 0,
          OWNED("333333333333") "<Buckets></Buckets></ListAllMyBucketsResult>");
    config_unref(cfg);
}

static void test_caller_account_mode_keeps_unlisted(void **state)
{
    (void)state;
    struct config *cfg = load(",\"unlisted_buckets\":\"caller_account\"");
    check(cfg, "333333333333", UPSTREAM, 0,
          OWNED("333333333333") "<Buckets>" B("secret-internal")
          "</Buckets></ListAllMyBucketsResult>");
    config_unref(cfg);
}

/* Review (review2): "acme-shared" is a local name (upstream "real-acme",
 * account 111111111111). An upstream bucket literally named "acme-shared"
 * is not unlisted: a request for /acme-shared reaches real-acme, so listing
 * it to another account under caller_account named a bucket it cannot use
 * and that belongs to someone else. */
static void test_caller_account_mode_skips_local_names(void **state)
{
    (void)state;
    struct config *cfg = load(",\"unlisted_buckets\":\"caller_account\"");
    check(cfg, "333333333333",
          HEAD "<Buckets>" B("acme-shared") B("other-unlisted") "</Buckets></ListAllMyBucketsResult>",
          0, OWNED("333333333333") "<Buckets>" B("other-unlisted") "</Buckets></ListAllMyBucketsResult>");
    config_unref(cfg);
}

static void test_empty_and_malformed(void **state)
{
    (void)state;
    struct config *cfg = load("");
    check(cfg, "111111111111", HEAD "<Buckets/></ListAllMyBucketsResult>", 0,
          OWNED("111111111111") "<Buckets/></ListAllMyBucketsResult>");
    /* not a ListBuckets answer, or cut short: never forwarded as it is */
    check(cfg, "111111111111", "<Error><Code>X</Code></Error>", S3W_E_INVAL, NULL);
    check(cfg, "111111111111", HEAD "<Buckets>" B("real-acme"), S3W_E_INVAL, NULL);
    check(cfg, "111111111111", HEAD "<Buckets><Bucket><Name>real-acme</Name></Buckets>",
          S3W_E_INVAL, NULL);
    check(cfg, "111111111111", HEAD "<Buckets><Bucket><CreationDate/></Bucket></Buckets>"
          "</ListAllMyBucketsResult>", S3W_E_INVAL, NULL);
    check(cfg, "111111111111", HEAD B("real-acme") "</ListAllMyBucketsResult>", S3W_E_INVAL, NULL);
    /* an unknown entity or a control byte in a field is refused, not copied
     * to the client as the old scanner did */
    check(cfg, "111111111111", HEAD "<Buckets><Bucket><Name>real-acme</Name><CreationDate>"
          "&bogus;</CreationDate></Bucket></Buckets></ListAllMyBucketsResult>", S3W_E_INVAL, NULL);
    check(cfg, "111111111111", HEAD "<Buckets><Bucket><Name>real-acme</Name><CreationDate>"
          "\x01</CreationDate></Bucket></Buckets></ListAllMyBucketsResult>", S3W_E_INVAL, NULL);
    config_unref(cfg);
}


/* Review (review2): the upstream document is scanned, not trusted. Every
 * shape below is well-formed XML that a client parser reads as a bucket
 * list; s3warden must never pass a bucket the caller does not own, so each
 * is either filtered exactly or refused (S3W_E_INVAL -> 500). Before the
 * strict scanner, each of these passed "secret-internal" or "partner-data"
 * (owned by 222222222222) to account 111111111111 or 333333333333. */
#define NOT_FOR_YOU(cfg, acct, doc) check(cfg, acct, doc, S3W_E_INVAL, NULL)

static void test_prefixed_or_attributed_elements_refused(void **state)
{
    (void)state;
    struct config *cfg = load("");
    /* namespace prefixes: no "<Buckets>" and no "<Bucket>" in the text, so
     * the whole document used to be copied as it was */
    NOT_FOR_YOU(cfg, "111111111111",
                "<ListAllMyBucketsResult xmlns:s3=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                "<s3:Buckets><s3:Bucket><s3:Name>secret-internal</s3:Name></s3:Bucket>"
                "</s3:Buckets></ListAllMyBucketsResult>");
    NOT_FOR_YOU(cfg, "111111111111",
                "<s3:ListAllMyBucketsResult xmlns:s3=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                "<s3:Buckets><s3:Bucket><s3:Name>secret-internal</s3:Name></s3:Bucket>"
                "</s3:Buckets></s3:ListAllMyBucketsResult>");
    /* attributes on Buckets and Bucket: same effect */
    NOT_FOR_YOU(cfg, "111111111111",
                HEAD "<Buckets xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                "<Bucket xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                "<Name>secret-internal</Name></Bucket></Buckets></ListAllMyBucketsResult>");
    /* "<Bucket >" (space before '>') is the same element: filtered */
    check(cfg, "111111111111",
          HEAD "<Buckets>" B("real-acme")
          "<Bucket ><Name >secret-internal</Name ></Bucket ></Buckets></ListAllMyBucketsResult>", 0,
          OWNED("111111111111") "<Buckets>" B("acme-shared") "</Buckets></ListAllMyBucketsResult>");
    config_unref(cfg);
}

static void test_buckets_outside_the_first_list_refused(void **state)
{
    (void)state;
    struct config *cfg = load("");
    /* everything after the first </Buckets> used to be copied as it was */
    NOT_FOR_YOU(cfg, "111111111111",
                HEAD "<Buckets>" B("real-acme") "</Buckets><Buckets>" B("secret-internal")
                "</Buckets></ListAllMyBucketsResult>");
    /* a Bucket nested in a kept Bucket */
    NOT_FOR_YOU(cfg, "111111111111",
                HEAD "<Buckets><Bucket><Name>real-acme</Name>" B("secret-internal")
                "</Bucket></Buckets></ListAllMyBucketsResult>");
    /* a second Name in a kept Bucket (a client may read the last one) */
    NOT_FOR_YOU(cfg, "111111111111",
                HEAD "<Buckets><Bucket><Name>real-acme</Name><Name>partner-data</Name>"
                "</Bucket></Buckets></ListAllMyBucketsResult>");
    /* a Bucket before <Buckets>, or in Owner */
    NOT_FOR_YOU(cfg, "111111111111",
                HEAD B("secret-internal") "<Buckets>" B("real-acme")
                "</Buckets></ListAllMyBucketsResult>");
    NOT_FOR_YOU(cfg, "111111111111",
                "<ListAllMyBucketsResult><Owner><ID>x</ID>" B("secret-internal") "</Owner>"
                "<Buckets/></ListAllMyBucketsResult>");
    /* text after the root, or a second root */
    NOT_FOR_YOU(cfg, "111111111111",
                HEAD "<Buckets/></ListAllMyBucketsResult><ListAllMyBucketsResult><Buckets>"
                B("secret-internal") "</Buckets></ListAllMyBucketsResult>");
    config_unref(cfg);
}

static void test_escaped_names_refused(void **state)
{
    (void)state;
    /* caller_account mode keeps a bucket no config entry names; a Name a
     * client decodes to a configured bucket of another account must not be
     * taken for an unlisted one */
    struct config *cfg = load(",\"unlisted_buckets\":\"caller_account\"");
    NOT_FOR_YOU(cfg, "333333333333",
                HEAD "<Buckets>" B("partner&#45;data") "</Buckets></ListAllMyBucketsResult>");
    NOT_FOR_YOU(cfg, "333333333333",
                HEAD "<Buckets>" B("<![CDATA[partner-data]]>") "</Buckets></ListAllMyBucketsResult>");
    NOT_FOR_YOU(cfg, "333333333333",
                HEAD "<Buckets>" B(" partner-data") "</Buckets></ListAllMyBucketsResult>");
    NOT_FOR_YOU(cfg, "333333333333",
                HEAD "<Buckets>" B("partner-data<!-- -->") "</Buckets></ListAllMyBucketsResult>");
    /* markup inside the XML declaration (found by fuzz_listbuckets) */
    NOT_FOR_YOU(cfg, "333333333333",
                "<?xml version=\"<Name>partner-data</Name>\"?><ListAllMyBucketsResult><Buckets/>"
                "</ListAllMyBucketsResult>");
    /* markup inside the root's attribute value (fuzz_listbuckets) */
    NOT_FOR_YOU(cfg, "333333333333",
                "<ListAllMyBucketsResult xmlns=\"<Name>partner-data</Name>\"><Buckets/>"
                "</ListAllMyBucketsResult>");
    /* a DTD could define an entity that expands to any name */
    NOT_FOR_YOU(cfg, "333333333333",
                "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY n \"partner-data\">]>"
                "<ListAllMyBucketsResult><Buckets>" B("&n;")
                "</Buckets></ListAllMyBucketsResult>");
    /* a comment hiding the end of a Bucket */
    NOT_FOR_YOU(cfg, "333333333333",
                HEAD "<Buckets><Bucket><Name>secret-internal</Name><!--</Bucket>-->"
                "<Name>partner-data</Name></Bucket></Buckets></ListAllMyBucketsResult>");
    config_unref(cfg);
}

static void test_bucket_arn_dropped(void **state)
{
    (void)state;
    struct config *cfg = load("");
    /* BucketArn (S3 API Reference, Bucket) names the upstream bucket: a
     * renamed bucket would show its upstream name there */
    check(cfg, "111111111111",
          HEAD "<Buckets><Bucket><Name>real-acme</Name>"
          "<CreationDate>2026-01-02T03:04:05.000Z</CreationDate>"
          "<BucketArn>arn:aws:s3:::real-acme</BucketArn></Bucket></Buckets>"
          "</ListAllMyBucketsResult>", 0,
          OWNED("111111111111") "<Buckets>" B("acme-shared") "</Buckets></ListAllMyBucketsResult>");
    config_unref(cfg);
}

static void test_s3_and_moto_layouts(void **state)
{
    (void)state;
    struct config *cfg = load("");
    /* indented as moto's template writes it; the filtered list keeps the
     * document's other whitespace */
    const char *moto =
        "<ListAllMyBucketsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01\">\n"
        "  <Owner>\n    <ID>bcaf1ffd86f41161ca5fb16fd081034f</ID>\n"
        "    <DisplayName>webfile</DisplayName>\n  </Owner>\n  <Buckets>\n"
        "      <Bucket>\n        <Name>secret-internal</Name>\n"
        "        <CreationDate>2026-01-02T03:04:05.000Z</CreationDate>\n      </Bucket>\n"
        "      <Bucket>\n        <Name>real-acme</Name>\n"
        "        <CreationDate>2026-01-02T03:04:05.000Z</CreationDate>\n      </Bucket>\n"
        "  </Buckets>\n</ListAllMyBucketsResult>\n";
    check(cfg, "111111111111", moto, 0,
          "<ListAllMyBucketsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01\">\n"
          "  <Owner><ID>111111111111</ID></Owner>\n  <Buckets>"
          B("acme-shared") "</Buckets>\n</ListAllMyBucketsResult>\n");
    /* moto 5 (the integration suite's upstream): Owner after Buckets */
    check(cfg, "111111111111",
          "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<ListAllMyBucketsResult "
          "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Buckets>" B("real-acme")
          B("secret-internal") "</Buckets><Owner><DisplayName>webfile</DisplayName>"
          "<ID>bcaf1ffd86f41161ca5fb16fd081034f</ID></Owner></ListAllMyBucketsResult>", 0,
          "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<ListAllMyBucketsResult "
          "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Buckets>" B("acme-shared")
          "</Buckets><Owner><ID>111111111111</ID></Owner></ListAllMyBucketsResult>");
    /* S3's own: no whitespace, Prefix echoed (the upstream's echo: not
     * passed on), self-closing empty elements; the region s3warden's */
    check(cfg, "222222222222",
          HEAD "<Buckets>" BRU("partner-data") B("real-acme") "</Buckets><Prefix/>"
          "</ListAllMyBucketsResult>", 0,
          OWNED("222222222222") "<Buckets>" BR("partner-data") "</Buckets>"
          "</ListAllMyBucketsResult>");
    /* probe 22: the upstream's page token (it is asked with no query, and
     * the caller's list is one page) and elements S3 does not send are
     * not passed on; a nested one still refuses the whole answer */
    check(cfg, "222222222222",
          HEAD "<Buckets>" BR("partner-data") "</Buckets><ContinuationToken>tok-real-acme"
          "</ContinuationToken><Junk>owner-1234</Junk></ListAllMyBucketsResult>", 0,
          OWNED("222222222222") "<Buckets>" BR("partner-data") "</Buckets></ListAllMyBucketsResult>");
    NOT_FOR_YOU(cfg, "222222222222",
                HEAD "<Buckets/><Junk><x/></Junk></ListAllMyBucketsResult>");
    config_unref(cfg);
}

static void test_owner_is_the_caller(void **state)
{
    (void)state;
    struct config *cfg = load("");
    /* S3 names the requester as Owner; the upstream's Owner is the proxy's
     * own account (canonical ID, display name): never passed on */
    check(cfg, "111111111111",
          ROOT "<Owner><ID>79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be</ID>"
          "<DisplayName>upstream-account@example.com</DisplayName></Owner><Buckets/>"
          "</ListAllMyBucketsResult>", 0,
          OWNED("111111111111") "<Buckets/></ListAllMyBucketsResult>");
    /* no caller account (anonymous): no Owner */
    check(cfg, "", HEAD "<Buckets/></ListAllMyBucketsResult>", 0,
          ROOT "<Buckets/></ListAllMyBucketsResult>");
    /* a nested element in Owner is not S3's */
    NOT_FOR_YOU(cfg, "111111111111",
                ROOT "<Owner><ID><x/></ID></Owner><Buckets/></ListAllMyBucketsResult>");
    config_unref(cfg);
}

/* prefix applies to the names the caller sees: "acme-shared" is found by
 * "acme-s" although its upstream name is "real-acme", and "real" finds
 * nothing (the upstream name is never the caller's business). */
static void test_prefix_on_local_names(void **state)
{
    (void)state;
    struct config *cfg = load("");
    struct s3w_buf out;
    s3w_buf_init(&out, LISTBUCKETS_MAX_BODY);
    assert_int_equal(listbuckets_filter_prefix(cfg, S3W_SLICE_LIT("111111111111"),
                                               S3W_SLICE_LIT("acme-s"), s3w_slice_cstr(UPSTREAM),
                                               &out), 0);
    assert_int_equal(s3w_buf_append_char(&out, 0), 0);
    assert_string_equal(out.ptr, OWNED("111111111111") "<Buckets>" B("acme-shared")
                        "</Buckets></ListAllMyBucketsResult>");
    s3w_buf_reset(&out);
    assert_int_equal(listbuckets_filter_prefix(cfg, S3W_SLICE_LIT("111111111111"),
                                               S3W_SLICE_LIT("real"), s3w_slice_cstr(UPSTREAM),
                                               &out), 0);
    assert_int_equal(s3w_buf_append_char(&out, 0), 0);
    assert_string_equal(out.ptr, OWNED("111111111111") "<Buckets></Buckets></ListAllMyBucketsResult>");
    /* from the raw query: percent-decoded, other parameters ignored */
    s3w_buf_reset(&out);
    assert_int_equal(listbuckets_filter_query(cfg, S3W_SLICE_LIT("111111111111"),
                                              S3W_SLICE_LIT("max-buckets=1&prefix=acme%2Dl"),
                                              s3w_slice_cstr(UPSTREAM), &out), 0);
    assert_int_equal(s3w_buf_append_char(&out, 0), 0);
    assert_string_equal(out.ptr, OWNED("111111111111") "<Buckets>" B("acme-logs")
                        "</Buckets></ListAllMyBucketsResult>");
    s3w_buf_reset(&out);
    assert_int_equal(listbuckets_filter_query(cfg, S3W_SLICE_LIT("111111111111"),
                                              S3W_SLICE_LIT("prefix=%zz"),
                                              s3w_slice_cstr(UPSTREAM), &out), S3W_E_INVAL);
    s3w_buf_cleanup(&out);
    config_unref(cfg);
}

/* Several upstreams (relay_fan.c): each answer filtered on its own, then
 * one list, sorted by name as S3 sorts it, in the first answer's frame. */
static void test_merge_sorts_across_answers(void **state)
{
    (void)state;
    struct s3w_slice docs[3] = {
        s3w_slice_cstr(OWNED("111111111111") "<Buckets>" B("m-two") BR("z-last") "</Buckets>"
                       "</ListAllMyBucketsResult>"),
        s3w_slice_cstr(ROOT "<Buckets/></ListAllMyBucketsResult>"),
        s3w_slice_cstr(ROOT "<Buckets>" B("a-first") B("m-one") "</Buckets></ListAllMyBucketsResult>"),
    };
    struct s3w_buf out;
    s3w_buf_init(&out, LISTBUCKETS_MAX_BODY);
    assert_int_equal(listbuckets_merge(docs, 3, &out), 0);
    assert_int_equal(s3w_buf_append_char(&out, 0), 0);
    assert_string_equal(out.ptr, OWNED("111111111111") "<Buckets>" B("a-first") B("m-one") B("m-two")
                                 BR("z-last") "</Buckets></ListAllMyBucketsResult>");
    s3w_buf_cleanup(&out);

    /* nothing anywhere: an empty Buckets in the first frame */
    struct s3w_slice none[2] = {
        s3w_slice_cstr(OWNED("111111111111") "<Buckets/></ListAllMyBucketsResult>"),
        s3w_slice_cstr(ROOT "<Buckets></Buckets></ListAllMyBucketsResult>"),
    };
    s3w_buf_init(&out, LISTBUCKETS_MAX_BODY);
    assert_int_equal(listbuckets_merge(none, 2, &out), 0);
    assert_int_equal(s3w_buf_append_char(&out, 0), 0);
    assert_string_equal(out.ptr, OWNED("111111111111") "<Buckets/></ListAllMyBucketsResult>");
    s3w_buf_cleanup(&out);

    /* a document the filter did not write is refused, not merged */
    struct s3w_slice bad[2] = {
        s3w_slice_cstr(ROOT "<Buckets>" B("a") "</Buckets></ListAllMyBucketsResult>"),
        s3w_slice_cstr(ROOT "<Buckets><Bucket><CreationDate>x</CreationDate></Bucket></Buckets>"
                       "</ListAllMyBucketsResult>"),
    };
    s3w_buf_init(&out, LISTBUCKETS_MAX_BODY);
    assert_int_equal(listbuckets_merge(bad, 2, &out), S3W_E_INVAL);
    s3w_buf_cleanup(&out);
    struct s3w_slice nobuckets[1] = { s3w_slice_cstr(ROOT "</ListAllMyBucketsResult>") };
    s3w_buf_init(&out, LISTBUCKETS_MAX_BODY);
    assert_int_equal(listbuckets_merge(nobuckets, 1, &out), S3W_E_INVAL);
    s3w_buf_cleanup(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_owner_sees_own_buckets_renamed),
        cmocka_unit_test(test_caller_account_mode_keeps_unlisted),
        cmocka_unit_test(test_caller_account_mode_skips_local_names),
        cmocka_unit_test(test_empty_and_malformed),
        cmocka_unit_test(test_prefixed_or_attributed_elements_refused),
        cmocka_unit_test(test_buckets_outside_the_first_list_refused),
        cmocka_unit_test(test_escaped_names_refused),
        cmocka_unit_test(test_bucket_arn_dropped),
        cmocka_unit_test(test_s3_and_moto_layouts),
        cmocka_unit_test(test_owner_is_the_caller),
        cmocka_unit_test(test_prefix_on_local_names),
        cmocka_unit_test(test_merge_sorts_across_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
