/* http.c - strict HTTP/1.1 request parsing (see http.h for the rules). */
#include "http.h"

#include <stdlib.h>
#include <string.h>

#include "bytes.h"

static struct http_parser *hp_of(llhttp_t *ll)
{
    return (struct http_parser *)ll->data;
}

static void set_error(struct http_parser *hp, int status, const char *code,
                      const char *message)
{
    if (hp->state == HTTP_ST_ERROR)
        return; /* keep the first reason */
    hp->state = HTTP_ST_ERROR;
    hp->err_status = status;
    hp->err_code = code;
    hp->err_message = message;
}

/* Appends to the arena; the arena is as large as the head cap, and the head
 * scanner refuses a head over the cap before llhttp sees it, so this only
 * fails on a bug - fail closed all the same. */
static int arena_put(struct http_parser *hp, const char *at, size_t n)
{
    struct http_request *r = hp->req;
    if (n > HTTP_MAX_HEAD - r->arena_len) {
        set_error(hp, 431, "RequestHeaderSectionTooLarge",
                  "Your request header section exceeds the maximum allowed size.");
        return -1;
    }
    memcpy(r->arena + r->arena_len, at, n);
    r->arena_len += n;
    if (r->arena_len > hp->arena_used)
        hp->arena_used = r->arena_len;
    return 0;
}

static int on_message_begin(llhttp_t *ll)
{
    struct http_parser *hp = hp_of(ll);
    hp->url_off = hp->req->arena_len;
    hp->url_len = 0;
    return 0;
}

static int on_method(llhttp_t *ll, const char *at, size_t n)
{
    struct http_parser *hp = hp_of(ll);
    if (hp->method_len == 0)
        hp->method_off = hp->req->arena_len;
    hp->method_len += n;
    return arena_put(hp, at, n);
}

static int on_url(llhttp_t *ll, const char *at, size_t n)
{
    struct http_parser *hp = hp_of(ll);
    if (hp->url_len == 0)
        hp->url_off = hp->req->arena_len;
    hp->url_len += n;
    return arena_put(hp, at, n);
}

static int on_header_field(llhttp_t *ll, const char *at, size_t n)
{
    struct http_parser *hp = hp_of(ll);
    if (hp->cur_name_len == 0)
        hp->cur_name_off = hp->req->arena_len;
    hp->cur_name_len += n;
    return arena_put(hp, at, n);
}

static int on_header_value(llhttp_t *ll, const char *at, size_t n)
{
    struct http_parser *hp = hp_of(ll);
    if (!hp->in_value) {
        hp->in_value = true;
        hp->cur_value_off = hp->req->arena_len;
        hp->cur_value_len = 0;
    }
    hp->cur_value_len += n;
    return arena_put(hp, at, n);
}

static int on_header_value_complete(llhttp_t *ll)
{
    struct http_parser *hp = hp_of(ll);
    struct http_request *r = hp->req;
    if (r->nheaders >= HTTP_MAX_HEADERS) {
        set_error(hp, 431, "RequestHeaderSectionTooLarge",
                  "Your request has too many header fields.");
        return -1;
    }
    const char *v = hp->in_value ? r->arena + hp->cur_value_off : r->arena;
    size_t vlen = hp->in_value ? hp->cur_value_len : 0;
    while (vlen > 0 && (v[0] == ' ' || v[0] == '\t')) {
        v++;
        vlen--;
    }
    while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
        vlen--;
    if (hp->cur_name_len == 0) {
        /* ": value" (llhttp takes it): a field name is one or more token
         * characters (RFC 9110 5.1) */
        set_error(hp, 400, "BadRequest", "Malformed HTTP request: a header field without a name.");
        return -1;
    }
    struct s3w_header *h = &r->headers[r->nheaders++];
    h->name = s3w_slice(r->arena + hp->cur_name_off, hp->cur_name_len);
    h->value = s3w_slice(v, vlen);
    if (s3w_slice_eq_nocase(h->name, S3W_SLICE_LIT("host"))) {
        if (hp->have_host) {
            set_error(hp, 400, "InvalidRequest", "Multiple Host headers.");
            return -1;
        }
        hp->have_host = true;
    }
    hp->cur_name_len = 0;
    hp->cur_value_len = 0;
    hp->in_value = false;
    return 0;
}

static int on_headers_complete(llhttp_t *ll)
{
    struct http_parser *hp = hp_of(ll);
    struct http_request *r = hp->req;
    r->method = s3w_slice(r->arena + hp->method_off, hp->method_len);
    r->target = s3w_slice(r->arena + hp->url_off, hp->url_len);
    /* origin-form only (RFC 9112 3.2.1): S3 clients never send anything else,
     * and absolute-form would let the target disagree with Host. */
    if (r->target.len == 0 || r->target.ptr[0] != '/') {
        set_error(hp, 400, "InvalidURI", "Couldn't parse the specified URI.");
        return -1;
    }
    const char *q = memchr(r->target.ptr, '?', r->target.len);
    if (q) {
        r->path = s3w_slice(r->target.ptr, (size_t)(q - r->target.ptr));
        r->query = s3w_slice(q + 1, r->target.len - r->path.len - 1);
        r->has_query = true;
    } else {
        r->path = r->target;
        r->query = s3w_slice(r->target.ptr + r->target.len, 0);
        r->has_query = false;
    }
    r->version_minor = ll->http_minor;
    if (ll->http_major != 1) {
        set_error(hp, 505, "HttpVersionNotSupported",
                  "The HTTP version specified is not supported.");
        return -1;
    }
    r->chunked = (ll->flags & F_CHUNKED) != 0;
    r->has_content_length = (ll->flags & F_CONTENT_LENGTH) != 0;
    r->content_length = r->has_content_length ? ll->content_length : 0;
    r->keep_alive = llhttp_should_keep_alive(ll) != 0;
    r->is_head = ll->method == HTTP_HEAD;
    const struct s3w_header *e = http_request_header(r, "expect");
    if (e) {
        if (!s3w_slice_eq_nocase(e->value, S3W_SLICE_LIT("100-continue"))) {
            set_error(hp, 417, "ExpectationFailed",
                      "The only supported Expect value is 100-continue.");
            return -1;
        }
        r->expect_continue = true;
    }
    hp->state = HTTP_ST_HEAD_DONE;
    /* Messages with a body stop here so the caller can decide (auth, 100
     * Continue) before any body byte is read. Body-less ones run on to
     * on_message_complete, which pauses. */
    if (r->chunked || r->content_length > 0)
        return HPE_PAUSED;
    return 0;
}

static int on_body(llhttp_t *ll, const char *at, size_t n)
{
    struct http_parser *hp = hp_of(ll);
    if (hp->on_body && hp->on_body(hp->ud, at, n) != 0) {
        set_error(hp, 400, "IncompleteBody", "The request body was refused.");
        return -1;
    }
    return 0;
}

static int on_message_complete(llhttp_t *ll)
{
    struct http_parser *hp = hp_of(ll);
    if (hp->state == HTTP_ST_HEAD_DONE) {
        /* body-less: report the head first, the end on the next feed */
        hp->state = HTTP_ST_DONE;
        hp->req->keep_alive = llhttp_should_keep_alive(ll) != 0;
        return HPE_PAUSED;
    }
    hp->state = HTTP_ST_DONE;
    return HPE_PAUSED;
}

/* shared by every parser: llhttp only reads it */
static const llhttp_settings_t ll_settings = {
    .on_message_begin = on_message_begin,
    .on_method = on_method,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_header_value_complete = on_header_value_complete,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

void http_parser_init_lent(struct http_parser *hp, struct http_request *req,
                           http_body_fn body_fn, void *ud)
{
    memset(hp, 0, sizeof(*hp));
    llhttp_init(&hp->ll, HTTP_REQUEST, &ll_settings);
    hp->ll.data = hp;
    hp->req = req;
    hp->on_body = body_fn;
    hp->ud = ud;
    memset(req, 0, sizeof(*req));
}

void http_parser_init(struct http_parser *hp, struct http_request *req,
                      http_body_fn body_fn, void *ud)
{
    struct http_head_store *own = req->own_store;
    http_parser_init_lent(hp, req, body_fn, ud);
    if (!own)
        own = malloc(sizeof(*own)); /* NULL: every head is refused (500) */
    req->own_store = own;
    if (own)
        http_parser_lend(hp, own);
}

void http_request_free_store(struct http_request *req)
{
    if (!req->own_store)
        return;
    s3w_wipe(req->own_store->arena, sizeof(req->own_store->arena));
    free(req->own_store);
    req->own_store = NULL;
    req->headers = NULL;
    req->arena = NULL;
}

void http_parser_lend(struct http_parser *hp, struct http_head_store *st)
{
    hp->lent = st;
    hp->req->headers = st->headers;
    hp->req->arena = st->arena;
    hp->arena_used = 0;
}

struct http_head_store *http_parser_take_back(struct http_parser *hp)
{
    struct http_request *r = hp->req;
    struct http_head_store *st = hp->lent;
    if (!st || hp->state != HTTP_ST_HEAD || hp->head_bytes != 0)
        return NULL;
    s3w_wipe(st->arena, hp->arena_used);
    hp->lent = NULL;
    hp->arena_used = 0;
    hp->wipe_next = false;
    memset(r, 0, offsetof(struct http_request, headers));
    r->headers = NULL;
    r->arena = NULL;
    return st;
}

/* A whole line of the head at the start of data that scan_head would pass
 * byte by byte without a word - its bytes (then CRLF) hold no CR or LF,
 * it does not start a continuation (obs-fold), it keeps the head and the
 * request line under their caps - taken at once: its length with the
 * CRLF; 0 when it is anything else (the byte loop decides). */
static size_t scan_line(struct http_parser *hp, const char *data, size_t len)
{
    if (hp->prev_cr || (hp->line_len == 0 && hp->lines > 0 && (data[0] == ' ' || data[0] == '\t')))
        return 0;
    const char *lf = memchr(data, '\n', len);
    if (!lf || lf == data || lf[-1] != '\r')
        return 0;
    size_t text = (size_t)(lf - 1 - data), n = text + 2;
    if (text == 0 || hp->head_bytes + n > HTTP_MAX_HEAD ||
        (hp->lines == 0 && hp->line_len + text > HTTP_MAX_START_LINE) || memchr(data, '\r', text))
        return 0;
    hp->head_bytes += n;
    hp->lines++;
    hp->line_len = 0;
    return n;
}

/* Checks the head's bytes as they come (RFC 9112: CRLF line ends, no bare
 * CR or LF, no obs-fold, the caps) and finds its end: the count of data's
 * bytes that belong to the head (all of them while it goes on), -1 on an
 * error (set). Whole valid lines go at once (scan_line); the rest byte by
 * byte, to the end of its line, so a line is never scanned twice. */
static long scan_head(struct http_parser *hp, const char *data, size_t len,
                      bool *head_end)
{
    *head_end = false;
    size_t i = 0;
    while (i < len) {
        size_t n = scan_line(hp, data + i, len - i);
        if (n) {
            i += n;
            continue;
        }
        for (; i < len; i++) {
            unsigned char c = (unsigned char)data[i];
            if (++hp->head_bytes > HTTP_MAX_HEAD) {
                set_error(hp, 431, "RequestHeaderSectionTooLarge",
                          "Your request header section exceeds the maximum allowed size.");
                return -1;
            }
            if (c == '\r') {
                if (hp->prev_cr)
                    goto bare_cr;
                hp->prev_cr = true;
                continue;
            }
            if (c == '\n') {
                if (!hp->prev_cr) {
                    set_error(hp, 400, "BadRequest",
                              "Malformed HTTP request: line ending without CR.");
                    return -1;
                }
                hp->prev_cr = false;
                if (hp->line_len == 0) {
                    if (hp->lines == 0) {
                        i++;
                        break; /* empty lines before a request (RFC 9112 2.2) */
                    }
                    *head_end = true;
                    return (long)(i + 1);
                }
                hp->lines++;
                hp->line_len = 0;
                i++;
                break;
            }
            if (hp->prev_cr)
                goto bare_cr;
            if (hp->line_len == 0 && hp->lines > 0 && (c == ' ' || c == '\t')) {
                set_error(hp, 400, "BadRequest",
                          "Malformed HTTP request: obsolete line folding.");
                return -1;
            }
            hp->line_len++;
            if (hp->lines == 0 && hp->line_len > HTTP_MAX_START_LINE) {
                set_error(hp, 400, "RequestURITooLong",
                          "The request line is too long.");
                return -1;
            }
        }
    }
    return (long)len;
bare_cr:
    set_error(hp, 400, "BadRequest", "Malformed HTTP request: CR without LF.");
    return -1;
}

static enum http_event ll_error(struct http_parser *hp, llhttp_errno_t err)
{
    if (hp->state != HTTP_ST_ERROR) {
        /* llhttp reasons are static ASCII and never echo request bytes */
        (void)err;
        set_error(hp, 400, "BadRequest", llhttp_get_error_reason(&hp->ll));
    }
    return HTTP_EV_ERROR;
}

enum http_event http_parser_feed(struct http_parser *hp, const char *data,
                                 size_t len, size_t *consumed)
{
    *consumed = 0;
    switch (hp->state) {
    case HTTP_ST_ERROR:
        return HTTP_EV_ERROR;
    case HTTP_ST_HEAD_DONE:
        return HTTP_EV_HEAD_DONE;
    case HTTP_ST_DONE:
        return HTTP_EV_MESSAGE_DONE;
    case HTTP_ST_HEAD: {
        if (!hp->req->arena) {
            /* the owner lent no store: a bug - fail closed */
            set_error(hp, 500, "InternalError",
                      "We encountered an internal error. Please try again.");
            return HTTP_EV_ERROR;
        }
        bool end = false;
        long n = scan_head(hp, data, len, &end);
        if (n < 0)
            return HTTP_EV_ERROR;
        if (n == 0)
            return HTTP_EV_NEED_MORE;
        llhttp_errno_t err = llhttp_execute(&hp->ll, data, (size_t)n);
        if (err == HPE_PAUSED) {
            *consumed = (size_t)(llhttp_get_error_pos(&hp->ll) - data);
            llhttp_resume(&hp->ll);
        } else if (err != HPE_OK) {
            return ll_error(hp, err);
        } else {
            *consumed = (size_t)n;
        }
        if (hp->state == HTTP_ST_ERROR)
            return HTTP_EV_ERROR;
        if (hp->state == HTTP_ST_HEAD_DONE || hp->state == HTTP_ST_DONE) {
            /* a body-less message: state DONE already; report the head
             * first and keep DONE for the next feed */
            if (hp->state == HTTP_ST_DONE)
                hp->state = HTTP_ST_HEAD_DONE, hp->body_less = true;
            return HTTP_EV_HEAD_DONE;
        }
        if (end) {
            /* llhttp saw the blank line but did not call headers_complete */
            set_error(hp, 400, "BadRequest", "Malformed HTTP request.");
            return HTTP_EV_ERROR;
        }
        return HTTP_EV_NEED_MORE;
    }
    case HTTP_ST_BODY: {
        if (len == 0)
            return HTTP_EV_NEED_MORE;
        llhttp_errno_t err = llhttp_execute(&hp->ll, data, len);
        if (err == HPE_PAUSED) {
            *consumed = (size_t)(llhttp_get_error_pos(&hp->ll) - data);
            llhttp_resume(&hp->ll);
        } else if (err != HPE_OK) {
            return ll_error(hp, err);
        } else {
            *consumed = len;
        }
        if (hp->state == HTTP_ST_ERROR)
            return HTTP_EV_ERROR;
        if (hp->state == HTTP_ST_DONE)
            return HTTP_EV_MESSAGE_DONE;
        return HTTP_EV_NEED_MORE;
    }
    }
    return HTTP_EV_ERROR;
}

void http_parser_body(struct http_parser *hp)
{
    if (hp->state != HTTP_ST_HEAD_DONE)
        return;
    hp->state = hp->body_less ? HTTP_ST_DONE : HTTP_ST_BODY;
}

void http_parser_wipe_at_next(struct http_parser *hp)
{
    hp->wipe_next = true;
}

void http_parser_next(struct http_parser *hp)
{
    struct http_request *r = hp->req;
    if (hp->wipe_next) {
        if (r->arena)
            s3w_wipe(r->arena, hp->arena_used);
        hp->arena_used = 0;
        hp->wipe_next = false;
    }
    memset(r, 0, offsetof(struct http_request, headers));
    hp->state = HTTP_ST_HEAD;
    hp->head_bytes = 0;
    hp->line_len = 0;
    hp->lines = 0;
    hp->prev_cr = false;
    hp->cur_name_off = hp->cur_name_len = 0;
    hp->cur_value_off = hp->cur_value_len = 0;
    hp->in_value = false;
    hp->url_off = hp->url_len = 0;
    hp->method_off = hp->method_len = 0;
    hp->have_host = false;
    hp->body_less = false;
}

const struct s3w_header *http_request_header(const struct http_request *req,
                                              const char *name)
{
    struct s3w_slice n = s3w_slice_cstr(name);
    for (size_t i = 0; i < req->nheaders; i++)
        if (s3w_slice_eq_nocase(req->headers[i].name, n))
            return &req->headers[i];
    return NULL;
}

size_t http_request_header_count(const struct http_request *req,
                                 const char *name)
{
    struct s3w_slice n = s3w_slice_cstr(name);
    size_t c = 0;
    for (size_t i = 0; i < req->nheaders; i++)
        if (s3w_slice_eq_nocase(req->headers[i].name, n))
            c++;
    return c;
}
