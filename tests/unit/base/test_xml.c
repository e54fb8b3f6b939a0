/* Unit tests for base/xml.c: the pull reader, the text decoder, the escaper. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "xml.h"

/* The document's tokens as a string: S(name) E(name) T(raw) F for EOF, or
 * "!" where the reader refused. */
static void trace(const char *doc, unsigned flags, int max_depth, char *out, size_t cap)
{
    struct s3w_xml x;
    s3w_xml_init(&x, s3w_slice_cstr(doc), max_depth, flags);
    size_t o = 0;
    out[0] = '\0';
    for (int i = 0; i < 64; i++) {
        int n;
        if (s3w_xml_next(&x) != 0) {
            snprintf(out + o, cap - o, "!");
            return;
        }
        switch (x.kind) {
        case S3W_XML_START:
            n = snprintf(out + o, cap - o, "S(%.*s%s)", (int)x.name.len, x.name.ptr,
                         x.empty ? "/" : "");
            break;
        case S3W_XML_END:
            n = snprintf(out + o, cap - o, "E(%.*s)", (int)x.name.len, x.name.ptr);
            break;
        case S3W_XML_TEXT:
            n = snprintf(out + o, cap - o, "T(%.*s)", (int)x.raw.len, x.raw.ptr);
            break;
        default:
            snprintf(out + o, cap - o, "F");
            return;
        }
        o += (size_t)n;
    }
}

static void want(const char *doc, unsigned flags, const char *tokens)
{
    char got[512];
    trace(doc, flags, 8, got, sizeof got);
    if (strcmp(got, tokens) != 0)
        fail_msg("%s: got %s, want %s", doc, got, tokens);
}

static void test_tokens(void **state)
{
    (void)state;
    want("<a><b>x</b><c/></a>", 0, "S(a)S(b)T(x)E(b)S(c/)E(c)E(a)F");
    want("\xEF\xBB\xBF<?xml version=\"1.0\" encoding='UTF-8'?>\n<a xmlns=\"u\" >t</a >\n", 0,
         "T(\n)S(a)T(t)E(a)T(\n)F");
    want("<!-- c --><a><!--x--><b/></a><!-- d -->", 0, "S(a)S(b/)E(b)E(a)F");
    want("<a>&amp;&#65;&#x42;<![CDATA[<&>]]></a>", 0,
         "S(a)T(&amp;&#65;&#x42;<![CDATA[<&>]]>)E(a)F");
    want("<s3:a x:y='1'></s3:a>", 0, "S(s3:a)E(s3:a)F");
    /* markup inside a comment or CDATA is no token: the old substring
     * searches took an upstream's <Code> or an STS secret from a comment */
    want("<r><!-- <Code>ExpiredToken</Code> --><Code>NoSuchKey</Code></r>", 0,
         "S(r)S(Code)T(NoSuchKey)E(Code)E(r)F");
    want("<r><k><![CDATA[<Code>x</Code>]]></k></r>", 0,
         "S(r)S(k)T(<![CDATA[<Code>x</Code>]]>)E(k)E(r)F");
}

static void test_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",                                  /* no root */
        "   ",
        "<a>",                               /* unclosed */
        "<a></b>",                           /* mismatched end */
        "<a></a><b/>",                       /* second root */
        "<a></a>x",                          /* text after the root */
        "x<a></a>",
        "<!DOCTYPE a [<!ENTITY e \"b\">]><a>&e;</a>",
        "<a><?pi x?></a>",
        " <?xml version=\"1.0\"?><a/>",      /* the declaration only first */
        "<?xml version=\"1.0\" x=\"<a>\"?><a/>",
        "<?xml-stylesheet href=\"x\"?><a/>",
        "<a>&nbsp;</a>",                     /* undeclared entity */
        "<a>a & b</a>",
        "<a>&#0;</a>",                       /* not an XML Char */
        "<a>&#xD800;</a>",
        "<a>&#;</a>",
        "<a>&#x110000;</a>",
        "<a>\x01</a>",                       /* control byte */
        "<a><!-- x -- y --></a>",
        "<a><!-- unterminated",
        "<a><![CDATA[x</a>",
        "<a><![CDATA[\x02]]></a>",
        "<![CDATA[x]]><a/>",
        "<a b></a>",                         /* attribute without a value */
        "<a b=c></a>",
        "<a b=\"1\"c=\"2\"></a>",
        "<a b=\"<\"></a>",
        "<a b=\"&amp;\"></a>",
        "<a/ >",
        "<1a/>",
        "<a></a",
        "<a><b></a></b>",
        "<a></ a>",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char got[512];
        trace(bad[i], 0, 8, got, sizeof got);
        size_t n = strlen(got);
        if (n == 0 || got[n - 1] != '!')
            fail_msg("document %zu \"%s\" read as %s", i, bad[i], got);
    }
    /* S3W_XML_PLAIN: neither comments nor CDATA */
    want("<a><!--x--></a>", S3W_XML_PLAIN, "S(a)!");
    want("<a><![CDATA[x]]></a>", S3W_XML_PLAIN, "S(a)!");
}

static void test_depth(void **state)
{
    (void)state;
    char got[512];
    trace("<a><b><c/></b></a>", 0, 3, got, sizeof got);
    assert_string_equal(got, "S(a)S(b)S(c/)E(c)E(b)E(a)F");
    trace("<a><b><c><d/></c></b></a>", 0, 3, got, sizeof got);
    assert_string_equal(got, "S(a)S(b)S(c)!");
}

static void test_leaf_and_skip(void **state)
{
    (void)state;
    struct s3w_xml x;
    struct s3w_slice t;
    s3w_xml_init(&x,
                 s3w_slice_cstr("<r> <k>v&lt;1</k><e/><f></f><s a='1'><x><y/>t</x></s><z/></r>"),
                 8, 0);
    assert_int_equal(s3w_xml_next_tag(&x), 0);
    assert_true(s3w_slice_eq_cstr(x.name, "r"));
    assert_int_equal(s3w_xml_next_tag(&x), 0);
    assert_int_equal(s3w_xml_leaf(&x, &t), 0);
    assert_true(s3w_slice_eq_cstr(t, "v&lt;1"));
    assert_int_equal(s3w_xml_next_tag(&x), 0);
    assert_int_equal(s3w_xml_leaf(&x, &t), 0); /* <e/> */
    assert_non_null(t.ptr);
    assert_int_equal(t.len, 0);
    assert_int_equal(s3w_xml_next_tag(&x), 0);
    assert_int_equal(s3w_xml_leaf(&x, &t), 0); /* <f></f> */
    assert_non_null(t.ptr);
    assert_int_equal(t.len, 0);
    assert_int_equal(s3w_xml_next_tag(&x), 0);
    assert_true(s3w_slice_eq_cstr(x.name, "s"));
    assert_int_equal(s3w_xml_skip(&x), 0);
    assert_true(s3w_slice_eq_cstr(x.name, "s"));
    assert_int_equal(s3w_xml_next_tag(&x), 0);
    assert_true(s3w_slice_eq_cstr(x.name, "z"));
    assert_int_equal(s3w_xml_skip(&x), 0);
    assert_int_equal(s3w_xml_next_tag(&x), 0);
    assert_int_equal(x.kind, S3W_XML_END);
    assert_int_equal(s3w_xml_next_tag(&x), 0);
    assert_int_equal(x.kind, S3W_XML_EOF);

    /* not leaves: a child element, a comment inside, mixed content */
    static const char *const not_leaf[] = {
        "<r><k>a<b/></k></r>", "<r><k><!--c-->a</k></r>", "<r><k>a<!--c--></k></r>",
        "<r><k><b/></k></r>",
    };
    for (size_t i = 0; i < sizeof not_leaf / sizeof not_leaf[0]; i++) {
        s3w_xml_init(&x, s3w_slice_cstr(not_leaf[i]), 8, 0);
        assert_int_equal(s3w_xml_next_tag(&x), 0);
        assert_int_equal(s3w_xml_next_tag(&x), 0);
        if (s3w_xml_leaf(&x, &t) != S3W_E_INVAL)
            fail_msg("%s read as a leaf", not_leaf[i]);
    }
    s3w_xml_init(&x, s3w_slice_cstr("<r>x<k/></r>"), 8, 0);
    assert_int_equal(s3w_xml_next_tag(&x), 0);
    assert_int_equal(s3w_xml_next_tag(&x), S3W_E_INVAL); /* mixed content */
}

static void test_decode(void **state)
{
    (void)state;
    char out[64];
    static const char raw[] =
        "a&amp;&lt;&gt;&quot;&apos;&#65;&#x42;&#xe9;&#x1F600;<![CDATA[&lt;]]>";
    long n = s3w_xml_decode(s3w_slice(raw, sizeof raw - 1), out, sizeof out);
    static const char want_s[] = "a&<>\"'AB\xC3\xA9\xF0\x9F\x98\x80&lt;";
    assert_int_equal(n, sizeof want_s - 1);
    assert_memory_equal(out, want_s, sizeof want_s - 1);
    assert_true((size_t)n <= sizeof raw - 1); /* never longer than raw */
    assert_int_equal(s3w_xml_decode(S3W_SLICE_LIT("&bogus;"), out, sizeof out), S3W_E_INVAL);
    assert_int_equal(s3w_xml_decode(S3W_SLICE_LIT("a<b"), out, sizeof out), S3W_E_INVAL);
    assert_int_equal(s3w_xml_decode(S3W_SLICE_LIT("abc"), out, 2), S3W_E_TOOBIG);
}

static void test_attrs(void **state)
{
    (void)state;
    struct s3w_xml x;
    s3w_xml_init(&x, s3w_slice_cstr("<r  xmlns=\"u\"\txmlns:p = 'v' />"), 8, 0);
    assert_int_equal(s3w_xml_next(&x), 0);
    struct s3w_slice a = x.attrs, n, v;
    assert_true(s3w_xml_attr_next(&a, &n, &v));
    assert_true(s3w_slice_eq_cstr(n, "xmlns") && s3w_slice_eq_cstr(v, "u"));
    assert_true(s3w_xml_attr_next(&a, &n, &v));
    assert_true(s3w_slice_eq_cstr(n, "xmlns:p") && s3w_slice_eq_cstr(v, "v"));
    assert_false(s3w_xml_attr_next(&a, &n, &v));
    /* the attributes exactly, without the whitespace around them */
    assert_true(s3w_slice_eq_cstr(x.attrs, "xmlns=\"u\"\txmlns:p = 'v'"));
    /* whitespace alone is no attribute: <a />, <a >, <a\t/> */
    static const char *const bare[] = { "<a />", "<a ></a>", "<a\t\n/>" };
    for (size_t i = 0; i < sizeof(bare) / sizeof(bare[0]); i++) {
        s3w_xml_init(&x, s3w_slice_cstr(bare[i]), 8, 0);
        assert_int_equal(s3w_xml_next(&x), 0);
        assert_int_equal(x.kind, S3W_XML_START);
        assert_true(s3w_slice_eq_cstr(x.name, "a"));
        assert_int_equal(x.attrs.len, 0);
    }
}

static void test_escape(void **state)
{
    (void)state;
    struct s3w_buf b;
    s3w_buf_init(&b, 128);
    assert_int_equal(s3w_xml_escape(&b, S3W_SLICE_LIT("a&<>\"'\x01\t\n"), 0), 0);
    assert_string_equal(b.ptr, "a&amp;&lt;&gt;\"'?\t\n");
    s3w_buf_reset(&b);
    assert_int_equal(s3w_xml_escape(&b, S3W_SLICE_LIT("\"'"), S3W_XML_ESC_QUOTES), 0);
    assert_string_equal(b.ptr, "&quot;&apos;");
    s3w_buf_reset(&b);
    assert_int_equal(s3w_xml_elem(&b, "Code", S3W_SLICE_LIT("a<b"), 0), 0);
    assert_string_equal(b.ptr, "<Code>a&lt;b</Code>");
    s3w_buf_cleanup(&b);
    s3w_buf_init(&b, 4);
    assert_int_equal(s3w_xml_escape(&b, S3W_SLICE_LIT("&"), 0), S3W_E_TOOBIG);
    s3w_buf_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokens),       cmocka_unit_test(test_refused),
        cmocka_unit_test(test_depth),        cmocka_unit_test(test_leaf_and_skip),
        cmocka_unit_test(test_decode),       cmocka_unit_test(test_attrs),
        cmocka_unit_test(test_escape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
