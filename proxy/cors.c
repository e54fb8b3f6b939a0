/*
 * cors.c - CORS answered by s3warden (cors_answer.h): preflights, the
 * Access-Control-* headers of every other answer, and the bucket CORS API.
 *
 * Preflights are answered before any signature is looked at: a browser
 * sends none (Fetch Standard, "CORS-preflight request": no credentials),
 * and S3 answers them from the bucket's CORS configuration alone. Nothing
 * of a preflight reaches the upstream, whose own CORS configuration
 * s3warden never uses.
 */
#include "cors_answer.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "exchange.h"
#include "s3err.h"
#include "xml.h"

/* ---- pure ---------------------------------------------------------------------------- */
static bool header_allowed(const struct config_cors_rule *r, struct s3w_slice h)
{
    for (size_t i = 0; i < r->nallowed_headers; i++)
        if (config_cors_wildcard_match(r->allowed_headers[i], h.ptr, h.len, true))
            return true;
    return false;
}

/* Every name of the comma-separated list is allowed by r (an empty list is). */
static bool headers_allowed(const struct config_cors_rule *r, struct s3w_slice list)
{
    const char *p = list.ptr, *end = list.ptr + list.len;
    while (p && p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        struct s3w_slice h = s3w_slice_trim(s3w_slice(p, (size_t)((comma ? comma : end) - p)));
        if (h.len && !header_allowed(r, h))
            return false;
        p = comma ? comma + 1 : NULL;
    }
    return true;
}

const struct config_cors_rule *cors_match(const struct config_cors *c, struct s3w_slice origin,
                                          unsigned method_bit, bool preflight,
                                          struct s3w_slice req_headers)
{
    if (!c || !origin.len || !method_bit)
        return NULL;
    for (size_t i = 0; i < c->nrules; i++) {
        const struct config_cors_rule *r = &c->rules[i];
        if (!(r->methods & method_bit))
            continue;
        bool origin_ok = false;
        for (size_t k = 0; k < r->norigins && !origin_ok; k++)
            origin_ok = config_cors_wildcard_match(r->origins[k], origin.ptr, origin.len, false);
        if (!origin_ok)
            continue;
        if (preflight && !headers_allowed(r, req_headers))
            continue;
        return r;
    }
    return NULL;
}

static bool any_origin(const struct config_cors_rule *r)
{
    for (size_t k = 0; k < r->norigins; k++)
        if (strcmp(r->origins[k], "*") == 0)
            return true;
    return false;
}

int cors_header_lines(struct s3w_buf *out, const struct config_cors_rule *r,
                      struct s3w_slice origin, bool preflight, struct s3w_slice req_headers)
{
    int rc = 0;
    /* S3 answers "*" for a rule that allows every origin, and then no
     * credentials (the Fetch Standard refuses "*" with credentials) */
    if (any_origin(r))
        rc |= s3w_buf_append_cstr(out, "Access-Control-Allow-Origin: *\r\n");
    else
        rc |= s3w_buf_printf(out, "Access-Control-Allow-Origin: %.*s\r\n"
                                  "Access-Control-Allow-Credentials: true\r\n",
                             (int)origin.len, origin.ptr);
    rc |= s3w_buf_append_cstr(out, "Access-Control-Allow-Methods: ");
    const char *sep = "";
    for (unsigned bit = 1; bit <= CONFIG_CORS_HEAD; bit <<= 1) {
        if (!(r->methods & bit))
            continue;
        rc |= s3w_buf_printf(out, "%s%s", sep, config_cors_method_name(bit));
        sep = ", ";
    }
    rc |= s3w_buf_append_cstr(out, "\r\n");
    if (preflight && req_headers.len)
        rc |= s3w_buf_printf(out, "Access-Control-Allow-Headers: %.*s\r\n", (int)req_headers.len,
                             req_headers.ptr);
    if (r->nexpose_headers) {
        rc |= s3w_buf_append_cstr(out, "Access-Control-Expose-Headers: ");
        for (size_t i = 0; i < r->nexpose_headers; i++)
            rc |= s3w_buf_printf(out, "%s%s", i ? ", " : "", r->expose_headers[i]);
        rc |= s3w_buf_append_cstr(out, "\r\n");
    }
    if (r->max_age >= 0)
        rc |= s3w_buf_printf(out, "Access-Control-Max-Age: %lld\r\n", (long long)r->max_age);
    rc |= s3w_buf_append_cstr(out, "Vary: Origin, Access-Control-Request-Headers, "
                                   "Access-Control-Request-Method\r\n");
    return rc ? -1 : 0;
}

bool cors_upstream_header(struct s3w_slice name)
{
    static const char pre[] = "access-control-";
    return name.len >= sizeof pre - 1 &&
           s3w_slice_eq_nocase(s3w_slice(name.ptr, sizeof pre - 1), S3W_SLICE_LIT(pre));
}

/* ---- the pipeline's hooks ---------------------------------------------------------------- */
/* S3's answers to a preflight it cannot allow (Amazon S3 REST API, "OPTIONS
 * object"; the wording, typos included, is S3's). */
#define CORS_NOT_ALLOWED                                                                       \
    "CORSResponse: This CORS request is not allowed. This is usually because the evalution "  \
    "of Origin, request method / Access-Control-Request-Method or Access-Control-Request-"    \
    "Headers are not whitelisted by the resource's CORS spec."
#define CORS_NOT_ENABLED "CORSResponse: CORS is not enabled for this bucket."

static const struct config_cors *bucket_cors(const struct px *px)
{
    return px->route.bcfg ? px->route.bcfg->cors : NULL;
}

static void preflight(struct px *px)
{
    const struct http_request *r = &px->c->req;
    const struct s3w_header *origin = http_request_header(r, "origin");
    const struct s3w_header *acrm = http_request_header(r, "access-control-request-method");
    const struct s3w_header *acrh = http_request_header(r, "access-control-request-headers");
    if (!origin || !origin->value.len) {
        px_fail(px, 400, "BadRequest", "Insufficient information. Origin request header needed.");
        return;
    }
    if (!acrm || !acrm->value.len) {
        px_fail(px, 400, "BadRequest", "Invalid Access-Control-Request-Method: null");
        return;
    }
    const struct config_cors *c = bucket_cors(px);
    if (!c) {
        px_fail(px, 403, "AccessForbidden", CORS_NOT_ENABLED);
        return;
    }
    unsigned bit = config_cors_method_bit(acrm->value.ptr, acrm->value.len);
    struct s3w_slice reqh = hdr_value(acrh);
    const struct config_cors_rule *rule = cors_match(c, origin->value, bit, true, reqh);
    if (!rule) {
        px_fail(px, 403, "AccessForbidden", CORS_NOT_ALLOWED);
        return;
    }
    struct s3w_buf out;
    /* the answer echoes the origin and the requested headers, each as long
     * as the request's header section allowed (a 16 KiB cap answered a
     * long Access-Control-Request-Headers 500, the sixth probe) */
    s3w_buf_init(&out, 16 * 1024 + origin->value.len + reqh.len);
    char date[30];
    s3err_http_date((long)time(NULL), date);
    int rc = s3w_buf_printf(&out, "HTTP/1.1 200 OK\r\nx-amz-request-id: %s\r\nDate: %s\r\n",
                            px->reqid, date);
    rc |= cors_header_lines(&out, rule, origin->value, true, reqh);
    rc |= s3w_buf_append_cstr(&out, "Content-Length: 0\r\nServer: s3warden\r\n\r\n");
    px->out.status = 200;
    if (rc)
        px_fail_internal(px);
    else
        px_finish(px, PX_END_RESPOND, s3w_buf_slice(&out));
    s3w_buf_cleanup(&out);
}

bool px_cors(struct px *px)
{
    const struct http_request *r = &px->c->req;
    if (s3w_slice_eq_cstr(r->method, "OPTIONS")) {
        preflight(px);
        return true;
    }
    const struct config_cors *c = bucket_cors(px);
    const struct s3w_header *origin = c ? http_request_header(r, "origin") : NULL;
    if (origin) {
        px->cors.rule = cors_match(c, origin->value,
                                   config_cors_method_bit(r->method.ptr, r->method.len), false,
                                   S3W_SLICE_NULL);
        px->cors.origin = origin->value;
    }
    return false;
}

bool px_cors_wrap(const struct px *px, struct s3w_slice resp, struct s3w_buf *out)
{
    if (!px->cors.rule || !px->c)
        return false;
    const char *eol = memchr(resp.ptr, '\n', resp.len);
    if (!eol)
        return false;
    size_t first = (size_t)(eol - resp.ptr) + 1;
    s3w_buf_init(out, resp.len + 4096);
    if (s3w_buf_append(out, resp.ptr, first) != 0 ||
        cors_header_lines(out, px->cors.rule, px->cors.origin, false, S3W_SLICE_NULL) != 0 ||
        s3w_buf_append(out, resp.ptr + first, resp.len - first) != 0) {
        s3w_buf_cleanup(out);
        return false;
    }
    return true;
}

void px_cors_append(const struct px *px, struct s3w_buf *head)
{
    if (px->cors.rule && px->c)
        cors_header_lines(head, px->cors.rule, px->cors.origin, false, S3W_SLICE_NULL);
}

/* GetBucketCors, "Response Syntax": <CORSConfiguration> with one <CORSRule>
 * per rule, its elements singular and repeated. */
static int cors_xml(struct s3w_buf *b, const struct config_cors *c)
{
    int rc = s3w_buf_append_cstr(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CORSConfiguration "
                                    "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    for (size_t i = 0; i < c->nrules; i++) {
        const struct config_cors_rule *r = &c->rules[i];
        rc |= s3w_buf_append_cstr(b, "<CORSRule>");
        if (r->id)
            rc |= s3w_xml_elem(b, "ID", s3w_slice_cstr(r->id), 0);
        for (size_t k = 0; k < r->nallowed_headers; k++)
            rc |= s3w_xml_elem(b, "AllowedHeader", s3w_slice_cstr(r->allowed_headers[k]), 0);
        for (unsigned bit = 1; bit <= CONFIG_CORS_HEAD; bit <<= 1)
            if (r->methods & bit)
                rc |= s3w_xml_elem(b, "AllowedMethod", s3w_slice_cstr(config_cors_method_name(bit)), 0);
        for (size_t k = 0; k < r->norigins; k++)
            rc |= s3w_xml_elem(b, "AllowedOrigin", s3w_slice_cstr(r->origins[k]), 0);
        for (size_t k = 0; k < r->nexpose_headers; k++)
            rc |= s3w_xml_elem(b, "ExposeHeader", s3w_slice_cstr(r->expose_headers[k]), 0);
        if (r->max_age >= 0)
            rc |= s3w_buf_printf(b, "<MaxAgeSeconds>%lld</MaxAgeSeconds>", (long long)r->max_age);
        rc |= s3w_buf_append_cstr(b, "</CORSRule>");
    }
    rc |= s3w_buf_append_cstr(b, "</CORSConfiguration>");
    return rc ? -1 : 0;
}

bool px_bucket_cors(struct px *px)
{
    const char *n = px->authz.map.op ? px->authz.map.op->name : "";
    bool get = strcmp(n, "GetBucketCors") == 0;
    if (!get && strcmp(n, "PutBucketCors") != 0 && strcmp(n, "DeleteBucketCors") != 0)
        return false;
    if (!px_expected_owners_ok(px))
        return true;
    if (!get) {
        px_fail(px, 501, "NotImplemented",
                "s3warden answers CORS from its configuration (buckets[].cors); change it there "
                "and reload with SIGHUP.");
        return true;
    }
    const struct config_cors *c = bucket_cors(px);
    if (!c) {
        px_fail(px, 404, "NoSuchCORSConfiguration", "The CORS configuration does not exist");
        return true;
    }
    struct s3w_buf body, out;
    s3w_buf_init(&body, 1 << 20);
    s3w_buf_init(&out, (1 << 20) + 1024);
    char date[30];
    s3err_http_date((long)time(NULL), date);
    int rc = cors_xml(&body, c);
    rc |= s3w_buf_printf(&out, "HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\n"
                               "Content-Length: %zu\r\nx-amz-request-id: %s\r\nDate: %s\r\n"
                               "Server: s3warden\r\n\r\n",
                         body.len, px->reqid, date);
    rc |= s3w_buf_append(&out, body.ptr, body.len);
    px->out.status = 200;
    if (rc)
        px_fail_internal(px);
    else
        px_finish(px, PX_END_RESPOND, s3w_buf_slice(&out));
    s3w_buf_cleanup(&body);
    s3w_buf_cleanup(&out);
    return true;
}
