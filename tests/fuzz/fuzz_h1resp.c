/* fuzz_h1resp.c - the upstream answer parser (proxy/h1resp.c) on arbitrary
 * bytes, fed in pieces (the first input byte picks the piece size, its top
 * bit says the request was HEAD). It must never read out of bounds, never
 * hand out a header slice outside its head storage or a value holding CR or
 * LF, never deliver body bytes after DONE or after an error, never deliver a
 * body for HEAD, 204 or 304, never accept a 1xx or a second answer, and
 * never write to the head storage once on_head returned (its owner takes
 * it back then: trailers are counted, not kept).
 * The same bytes, as an answer's body, go to the checks of whether it is
 * its operation's (upstream.h, up_answer_xml and up_answer_events): a
 * verdict read from a prefix must be the verdict of the whole, and the
 * element name they report must lie inside the bytes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "h1resp.h"
#include "upstream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char storage[H1R_MAX_HEAD];
static int heads, status;
static size_t body;
static bool ended;

static int on_head(void *ud, int st, const struct s3w_header *h, size_t n)
{
    (void)ud;
    if (ended || heads++ || st < 200 || st > 599 || n > H1R_MAX_HEADERS)
        __builtin_trap();
    for (size_t i = 0; i < n; i++) {
        const struct s3w_slice s[2] = { h[i].name, h[i].value };
        for (int k = 0; k < 2; k++) {
            if (s[k].len && (s[k].ptr < storage || s[k].ptr + s[k].len > storage + sizeof storage))
                __builtin_trap();
            if (memchr(s[k].ptr, '\r', s[k].len) || memchr(s[k].ptr, '\n', s[k].len))
                __builtin_trap();
        }
    }
    status = st;
    memset(storage, 0xA5, sizeof storage); /* taken back: must stay so */
    return 0;
}

static int on_body(void *ud, const char *p, size_t n)
{
    bool is_head = *(bool *)ud;
    if (ended || !heads || is_head || status == 204 || status == 304 || (n && !p))
        __builtin_trap();
    body += n;
    return 0;
}

static const struct h1resp_cb CB = { on_head, on_body };

static void answer_checks(const char *in, size_t len)
{
    static const char *const roots[] = { "Tagging", "ListBucketResult", NULL };
    struct s3w_slice seen;
    enum up_answer_verdict whole = up_answer_xml(in, len, true, roots, &seen);
    if (whole == UP_ANSWER_MORE || (seen.len && (seen.ptr < in || seen.ptr + seen.len > in + len)))
        __builtin_trap();
    enum up_answer_verdict ev = up_answer_events(in, len, true);
    for (size_t k = 0; k <= len && k <= UP_ANSWER_HOLD; k++) {
        enum up_answer_verdict v = up_answer_xml(in, k, false, roots, &seen);
        if ((v != UP_ANSWER_MORE && v != whole) || (seen.len && seen.ptr + seen.len > in + k))
            __builtin_trap(); /* decided on a prefix otherwise than on the whole */
        v = up_answer_events(in, k, false);
        if (v != UP_ANSWER_MORE && v != ev)
            __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    answer_checks((const char *)data + 1, size - 1);
    bool is_head = data[0] & 0x80;
    size_t step = (size_t)(data[0] & 0x7f) + 1;
    const char *in = (const char *)data + 1;
    size_t len = size - 1;
    struct h1resp r;
    heads = status = 0;
    body = 0;
    ended = false;
    h1resp_init(&r, &CB, &is_head);
    h1resp_start(&r, is_head, storage);
    int rc = H1R_MORE;
    for (size_t off = 0; off < len && rc == H1R_MORE; off += step) {
        size_t n = len - off < step ? len - off : step;
        rc = h1resp_feed(&r, in + off, n);
        if (rc == H1R_DONE && off + n < len)
            rc = h1resp_feed(&r, in + off + n, len - off - n) == H1R_DONE ? -99 : H1R_E_PROTOCOL;
        if (rc == -99)
            __builtin_trap(); /* a second answer accepted */
        if (rc != H1R_MORE)
            ended = true;
    }
    if (rc == H1R_MORE)
        rc = h1resp_eof(&r);
    if (rc == H1R_DONE && !heads)
        __builtin_trap(); /* an answer without a head */
    for (size_t i = 0; heads && i < sizeof storage; i++)
        if ((unsigned char)storage[i] != 0xA5)
            __builtin_trap(); /* written to after it went back */
    return 0;
}
