/*
 * upstream_build.h - the upstream request as pure functions (private to
 * proxy/; see upstream_build.c): no I/O, no curl, testable without
 * sockets. The data plane's own HTTP/1.1 client will take the same result.
 */
#ifndef S3W_PROXY_UPSTREAM_BUILD_H
#define S3W_PROXY_UPSTREAM_BUILD_H

#include <stdbool.h>
#include <stddef.h>

#include "bytes.h"

/* Case-insensitive header-name tests. */
bool ub_name_is(struct s3w_slice n, const char *s);
bool ub_name_prefix(struct s3w_slice n, const char *pre);
/* A standard header S3 takes unsigned (README, "Security invariants"):
 * forwarded even when the caller did not sign it. */
bool ub_safe_unsigned(struct s3w_slice n);
/* Never forwarded: hop-by-hop, framing, the caller's own authentication. */
bool ub_never_forward(struct s3w_slice n);
/* Appends q without the presigned-URL parameters (and, with
 * drop_copy_source, without x-amz-copy-source) to out. 0 or an s3w_buf
 * error. */
int ub_filtered_query(struct s3w_slice q, bool drop_copy_source, struct s3w_buf *out);
/* A bucket name usable as DNS labels (virtual-hosted addressing). */
bool ub_dns_bucket(struct s3w_slice b);

#endif
