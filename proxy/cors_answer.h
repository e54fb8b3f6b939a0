/*
 * cors_answer.h - CORS answered by s3warden from the config's rules
 * (buckets[].cors, config/cors.h), never by the upstream: preflights
 * (OPTIONS) without credentials and without reaching the upstream, the
 * Access-Control-* headers of the first matching rule on every other answer
 * (errors included, as S3 sends them), and the bucket CORS API
 * (GetBucketCors answers the configured rules; Put/Delete are refused, the
 * rules live in the config).
 *
 * S3's evaluation (S3 User Guide, "How does Amazon S3 evaluate the CORS
 * configuration on a bucket?"): the first rule whose AllowedOrigins match
 * the Origin header, whose AllowedMethods hold the method (the
 * Access-Control-Request-Method of a preflight) and, for a preflight, whose
 * AllowedHeaders match every header named in Access-Control-Request-Headers.
 */
#ifndef S3W_PROXY_CORS_ANSWER_H
#define S3W_PROXY_CORS_ANSWER_H

#include <stdbool.h>

#include "bytes.h"
#include "cors.h"

struct px;

/* ---- pure: matching and the header lines ---- */

/* The first rule of `c` that allows `origin` with the method `method_bit`
 * (config_cors_method_bit) and, when `preflight`, every header of the
 * comma-separated `req_headers`; NULL when none does. */
const struct config_cors_rule *cors_match(const struct config_cors *c, struct s3w_slice origin,
                                          unsigned method_bit, bool preflight,
                                          struct s3w_slice req_headers);

/* Appends the Access-Control-* header lines (each ending CRLF) S3 sends
 * for rule `r` and `origin`: Allow-Origin ("*" for a rule whose origin is
 * exactly "*", else the origin with Allow-Credentials), Allow-Methods,
 * Expose-Headers, Max-Age, Vary; a preflight also echoes the requested
 * headers in Allow-Headers. 0, or -1 when `out` is over its cap. */
int cors_header_lines(struct s3w_buf *out, const struct config_cors_rule *r,
                      struct s3w_slice origin, bool preflight, struct s3w_slice req_headers);

/* Whether an upstream answer's header is one s3warden answers itself
 * (Access-Control-*): dropped, so a browser never sees two of them. */
bool cors_upstream_header(struct s3w_slice name);

/* ---- the pipeline's hooks ---- */

/* After routing: an OPTIONS request is a preflight, answered here (true:
 * the exchange is finished). Any other request with an Origin header gets
 * its matching rule noted for its answer (false: go on). */
bool px_cors(struct px *px);

/* The local answer `resp` with the request's CORS header lines after its
 * status line, into `out`; false (out untouched) when it has none. */
bool px_cors_wrap(const struct px *px, struct s3w_slice resp, struct s3w_buf *out);

/* Appends the request's CORS header lines to a response head being built
 * from the upstream's answer (nothing when no rule matched). */
void px_cors_append(const struct px *px, struct s3w_buf *head);

/* After authorization: GetBucketCors answered from the config,
 * Put/DeleteBucketCors refused (true: the exchange is finished). */
bool px_bucket_cors(struct px *px);

#endif
