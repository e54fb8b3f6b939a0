/* h1resp.c - an upstream HTTP/1.1 answer parsed (see h1resp.h). */
#include "h1resp.h"

#include <string.h>

static struct h1resp *resp_of(llhttp_t *ll)
{
    return (struct h1resp *)((char *)ll - offsetof(struct h1resp, ll));
}

/* Header names and values arrive in pieces (a read may end anywhere); the
 * pieces of one field are contiguous in r->head, so a slice just grows. */
static int head_add(struct h1resp *r, const char *at, size_t n, bool value)
{
    if (H1R_MAX_HEAD - r->head_len < n) {
        r->toobig = true;
        return -1;
    }
    if (r->head_seen) {
        /* a chunked body's trailer fields: within the same cap, never
         * passed on, and not kept (the storage went back after on_head) */
        r->head_len += n;
        return 0;
    }
    if (value != r->in_value || r->nhdrs == 0) {
        if (!value) {
            if (r->nhdrs == H1R_MAX_HEADERS) {
                r->toobig = true;
                return -1;
            }
            r->hdrs[r->nhdrs].name = s3w_slice(r->head + r->head_len, 0);
            r->hdrs[r->nhdrs].value = s3w_slice(r->head + r->head_len, 0);
            r->nhdrs++;
        } else {
            r->hdrs[r->nhdrs - 1].value = s3w_slice(r->head + r->head_len, 0);
        }
        r->in_value = value;
    }
    memcpy(r->head + r->head_len, at, n);
    r->head_len += n;
    struct s3w_header *h = &r->hdrs[r->nhdrs - 1];
    (value ? &h->value : &h->name)->len += n;
    return 0;
}

static int on_header_field(llhttp_t *ll, const char *at, size_t n)
{
    return head_add(resp_of(ll), at, n, false) ? HPE_USER : 0;
}

static int on_header_value(llhttp_t *ll, const char *at, size_t n)
{
    struct h1resp *r = resp_of(ll);
    /* llhttp hands an obsolete line folding over as a second piece of the
     * same value, without its CR LF. A CR or LF inside a value would split
     * one header into two when relayed: never let one through. */
    if (r->nhdrs == 0 || memchr(at, '\r', n) || memchr(at, '\n', n))
        return HPE_USER;
    return head_add(r, at, n, true) ? HPE_USER : 0;
}

/* The framing llhttp would guess at: a Transfer-Encoding other than one
 * "chunked" is read until the connection ends (RFC 9112 section 6.3 item 4)
 * with its codings left on - which s3warden would relay as the body. S3
 * sends only "chunked"; anything else, or the field twice (chunked applied
 * twice, RFC 9112 section 6.1), is refused. */
static bool framing_ok(const struct h1resp *r)
{
    size_t te = 0;
    for (size_t i = 0; i < r->nhdrs; i++) {
        if (r->hdrs[i].name.len == 0)
            return false; /* ": value" - a field name is a token (RFC 9110 5.1) */
        if (s3w_slice_eq_nocase(r->hdrs[i].name, S3W_SLICE_LIT("transfer-encoding")) &&
            (te++ || !s3w_slice_eq_nocase(r->hdrs[i].value, S3W_SLICE_LIT("chunked"))))
            return false;
    }
    return true;
}

static int on_headers_complete(llhttp_t *ll)
{
    struct h1resp *r = resp_of(ll);
    int status = llhttp_get_status_code(ll);
    /* no Expect: 100-continue is ever sent, and no 1xx is passed on: an
     * interim answer here is a confused or hostile upstream */
    if (status < 200 || status > 599)
        return HPE_USER;
    /* HTTP/1.0 or 1.1: an "HTTP/2.0" status line is not an answer to us */
    if (llhttp_get_http_major(ll) != 1 || llhttp_get_http_minor(ll) > 1)
        return HPE_USER;
    for (size_t i = 0; i < r->nhdrs; i++)
        r->hdrs[i].value = s3w_slice_trim(r->hdrs[i].value);
    if (!framing_ok(r))
        return HPE_USER;
    r->status = status;
    r->head_seen = true;
    if (r->cb->on_head(r->ud, status, r->hdrs, r->nhdrs) < 0) {
        r->refused = true;
        return HPE_USER;
    }
    /* 1: no body (llhttp knows the request method only when told) */
    return r->is_head || status == 204 || status == 304 ? 1 : 0;
}

static int on_body(llhttp_t *ll, const char *at, size_t n)
{
    struct h1resp *r = resp_of(ll);
    /* These bytes end a Content-Length body and more follow in the same
     * read: refused before any of them is passed on, so that a client is
     * never handed a whole-looking answer the upstream framed wrong (llhttp
     * counted them off content_length before calling). Bytes after the end
     * that come in a later read find the answer done (h1resp_feed). */
    if ((ll->flags & F_CONTENT_LENGTH) && !(ll->flags & F_CHUNKED) && ll->content_length == 0 &&
        at + n != r->feed_end)
        return HPE_USER;
    int rc = r->cb->on_body(r->ud, at, n);
    if (rc < 0) {
        r->refused = true;
        return HPE_USER;
    }
    if (rc > 0)
        r->pause = true;
    return 0;
}

static int on_message_complete(llhttp_t *ll)
{
    resp_of(ll)->done = true;
    return HPE_PAUSED; /* whatever follows is checked by h1resp_feed */
}

static const llhttp_settings_t settings = {
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

void h1resp_init(struct h1resp *r, const struct h1resp_cb *cb, void *ud)
{
    memset(r, 0, offsetof(struct h1resp, hdrs));
    r->cb = cb;
    r->ud = ud;
    llhttp_init(&r->ll, HTTP_RESPONSE, &settings);
}

void h1resp_start(struct h1resp *r, bool is_head, char *head_storage)
{
    llhttp_reset(&r->ll);
    r->head = head_storage;
    r->head_len = r->nhdrs = 0;
    r->status = 0;
    r->is_head = is_head;
    r->in_value = r->toobig = r->done = r->head_seen = r->pause = r->refused = false;
}

int h1resp_feed(struct h1resp *r, const char *p, size_t n)
{
    if (r->done)
        return n ? H1R_E_PROTOCOL : H1R_DONE;
    r->feed_end = p + n;
    llhttp_errno_t err = llhttp_execute(&r->ll, p, n);
    if (err == HPE_PAUSED && r->done)
        return llhttp_get_error_pos(&r->ll) == p + n ? H1R_DONE : H1R_E_PROTOCOL;
    if (err == HPE_OK)
        return H1R_MORE;
    if (r->toobig)
        return H1R_E_TOOBIG;
    return r->refused ? H1R_E_REFUSED : H1R_E_PROTOCOL;
}

int h1resp_eof(struct h1resp *r)
{
    if (r->done)
        return H1R_DONE;
    if (!r->head_seen || !llhttp_message_needs_eof(&r->ll))
        return H1R_E_PROTOCOL;
    llhttp_errno_t err = llhttp_finish(&r->ll); /* on_message_complete pauses */
    return (err == HPE_OK || err == HPE_PAUSED) && r->done ? H1R_DONE : H1R_E_PROTOCOL;
}

bool h1resp_keep_alive(const struct h1resp *r)
{
    return llhttp_should_keep_alive(&r->ll) != 0;
}
