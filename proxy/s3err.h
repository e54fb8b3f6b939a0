/*
 * s3err.h - S3's REST error responses.
 *
 * Shape (Amazon S3 API Reference, "Error responses"):
 *   <?xml version="1.0" encoding="UTF-8"?>
 *   <Error><Code>NoSuchKey</Code><Message>...</Message>[details]
 *   <Resource>/bucket/key</Resource><RequestId>...</RequestId>
 *   <HostId>...</HostId></Error>
 * HEAD responses carry no body (RFC 9110 9.3.2); the status and the
 * x-amz-request-id header still tell the client what happened.
 */
#ifndef S3W_PROXY_S3ERR_H
#define S3W_PROXY_S3ERR_H

#include <stdbool.h>

#include "bytes.h"

/* An element some of S3's errors carry after <Message>: the
 * <HeadersNotSigned> of an AccessDenied for unsigned x-amz-* headers, the
 * <StringToSign>, <CanonicalRequest>... of a SignatureDoesNotMatch. */
struct s3err_detail {
    const char *name;       /* the element; NULL: the header alone (Allow) */
    struct s3w_slice value; /* escaped when written */
    const char *header;     /* also sent as this response header (S3's
                               x-amz-bucket-region with <Region>); NULL: no */
};

/* Appends the <Error> document: the n details (details may be NULL when n
 * is 0) in their order after the message; an empty `resource` is left
 * out. */
int s3err_xml(struct s3w_buf *out, const char *code, struct s3w_slice message,
              const struct s3err_detail *details, size_t n, struct s3w_slice resource,
              struct s3w_slice request_id, struct s3w_slice host_id);

/* The most the n details can take in the document, escaped (each byte of a
 * value up to 6: "&quot;"): room a caller adds to its buffer's cap. */
size_t s3err_details_room(const struct s3err_detail *details, size_t n);

/* Appends a complete HTTP/1.1 error response (status line, Content-Type,
 * Content-Length, x-amz-request-id, x-amz-id-2, the details' headers (a
 * value that could end the line is left out), Date, Server, optional
 * "Connection: close", blank line, and the XML unless `head_request`).
 * `message` goes into the XML as-is (escaped). */
int s3err_response(struct s3w_buf *out, int status, const char *code,
                   struct s3w_slice message, const struct s3err_detail *details,
                   size_t n, struct s3w_slice resource,
                   struct s3w_slice request_id, struct s3w_slice host_id,
                   bool head_request, bool close);

/* Reason phrase for a status code ("Forbidden"), "Unknown" otherwise. */
const char *s3err_reason(int status);

/* The default message S3 gives with a code, or NULL. */
const char *s3err_default_message(const char *code);

/* RFC 7231 IMF-fixdate of `t` into out[30]. */
void s3err_http_date(long t, char out[30]);

#endif
