/* s3err.c - S3 XML error documents and error responses. */
#include "s3err.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "xml.h"

/* S3 writes its error documents with the quotes as entities too. */
static int elem(struct s3w_buf *out, const char *name, struct s3w_slice v)
{
    return s3w_xml_elem(out, name, v, S3W_XML_ESC_QUOTES);
}

int s3err_xml(struct s3w_buf *out, const char *code, struct s3w_slice message,
              const struct s3err_detail *details, size_t n, struct s3w_slice resource,
              struct s3w_slice request_id, struct s3w_slice host_id)
{
    int rc = s3w_buf_append_cstr(out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>");
    if (rc == 0)
        rc = elem(out, "Code", s3w_slice_cstr(code));
    if (rc == 0)
        rc = elem(out, "Message", message);
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (details[i].name)
            rc = elem(out, details[i].name, details[i].value);
    if (rc == 0 && resource.len > 0)
        rc = elem(out, "Resource", resource);
    if (rc == 0)
        rc = elem(out, "RequestId", request_id);
    if (rc == 0)
        rc = elem(out, "HostId", host_id);
    if (rc == 0)
        rc = s3w_buf_append_cstr(out, "</Error>");
    return rc;
}

size_t s3err_details_room(const struct s3err_detail *details, size_t n)
{
    size_t room = 0;
    for (size_t i = 0; i < n; i++)
        if (details[i].name)
            room += 2 * strlen(details[i].name) + 5 + 6 * details[i].value.len;
    return room;
}

const char *s3err_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

const char *s3err_default_message(const char *code)
{
    static const struct { const char *code, *msg; } tab[] = {
        { "AccessDenied", "Access Denied" },
        { "BadGateway", "The upstream storage service could not be reached." },
        { "GatewayTimeout", "The upstream storage service did not answer in time." },
        { "ServiceUnavailable", "Please reduce your request rate." },
        { "SlowDown", "Please reduce your request rate." },
        { "InternalError", "We encountered an internal error. Please try again." },
        { "MethodNotAllowed", "The specified method is not allowed against this resource." },
        { "NotImplemented", "A header you provided implies functionality that is not implemented." },
        { "MissingContentLength", "You must provide the Content-Length HTTP header." },
        { "RequestTimeout", "Your socket connection to the server was not read from or written to within the timeout period." },
        { "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method." },
        { "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records." },
        { "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed." },
        { "NoSuchBucket", "The specified bucket does not exist" },
        { "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema" },
        { "EntityTooLarge", "Your proposed upload exceeds the maximum allowed object size." },
    };
    for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
        if (strcmp(tab[i].code, code) == 0)
            return tab[i].msg;
    return NULL;
}

void s3err_http_date(long t, char out[30])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 30, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

int s3err_response(struct s3w_buf *out, int status, const char *code,
                   struct s3w_slice message, const struct s3err_detail *details,
                   size_t n, struct s3w_slice resource,
                   struct s3w_slice request_id, struct s3w_slice host_id,
                   bool head_request, bool close)
{
    struct s3w_buf body;
    s3w_buf_init(&body, 16 * 1024 + s3err_details_room(details, n));
    int rc = s3err_xml(&body, code, message, details, n, resource, request_id, host_id);
    if (rc != 0)
        goto cleanup;
    char date[30];
    s3err_http_date((long)time(NULL), date);
    rc = s3w_buf_printf(out,
        "HTTP/1.1 %d %s\r\n"
        "Content-Type: application/xml\r\n"
        "Content-Length: %zu\r\n"
        "x-amz-request-id: %.*s\r\n"
        "x-amz-id-2: %.*s\r\n",
        status, s3err_reason(status), body.len,
        (int)request_id.len, request_id.ptr, (int)host_id.len, host_id.ptr);
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (details[i].header && s3w_header_value_ok(details[i].value))
            rc = s3w_buf_printf(out, "%s: %.*s\r\n", details[i].header, (int)details[i].value.len,
                                details[i].value.ptr ? details[i].value.ptr : "");
    if (rc == 0)
        rc = s3w_buf_printf(out, "Date: %s\r\nServer: s3warden\r\n%s\r\n", date,
                            close ? "Connection: close\r\n" : "");
    if (rc == 0 && !head_request)
        rc = s3w_buf_append(out, body.ptr, body.len);
cleanup:
    s3w_buf_cleanup(&body);
    return rc;
}
