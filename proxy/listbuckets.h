/*
 * listbuckets.h - ListBuckets answered as S3 answers the caller.
 *
 * S3's ListBuckets "returns a list of all buckets owned by the
 * authenticated sender of the request" (S3 API Reference, ListBuckets).
 * Through s3warden the upstream lists every bucket the proxy's own
 * credentials own; passed on unfiltered, a partner would learn the names of
 * all of them. So the upstream's answer is rewritten: a bucket stays only
 * if the config lists it (by its upstream name) with the caller's account
 * as owner, and it is shown under the name clients use. Under
 * "unlisted_buckets": "caller_account" an unlisted bucket counts as the
 * caller's (the rule that mode applies to every other request), so it
 * stays under its own name.
 */
#ifndef S3W_PROXY_LISTBUCKETS_H
#define S3W_PROXY_LISTBUCKETS_H

#include "bytes.h"

struct config;

/* The largest upstream ListBuckets body s3warden filters (10,000 buckets,
 * S3's default quota, take about 1.5 MB). */
#define LISTBUCKETS_MAX_BODY (8u * 1024 * 1024)

/* Copies the ListAllMyBucketsResult document `xml` into `out` keeping only
 * the caller's buckets (above). 0, S3W_E_INVAL when `xml` is not such a
 * document (the caller must then not forward it), or S3W_E_TOOBIG. */
int listbuckets_filter(const struct config *cfg, struct s3w_slice caller_account,
                       struct s3w_slice xml, struct s3w_buf *out);

/* The same, keeping only the buckets whose name AS THE CALLER SEES IT
 * starts with `prefix` (the client's ListBuckets `prefix` parameter,
 * percent-decoded; empty = all). The upstream must then be asked with no
 * query at all: its `prefix` would match upstream names, and its
 * pagination (max-buckets, ContinuationToken) would count buckets the
 * caller does not see. */
int listbuckets_filter_prefix(const struct config *cfg, struct s3w_slice caller_account,
                              struct s3w_slice prefix, struct s3w_slice xml,
                              struct s3w_buf *out);

/* listbuckets_filter_prefix with the prefix taken from the client's raw
 * query string (`prefix=...`, percent-encoded; other parameters ignored:
 * the answer is one page). S3W_E_INVAL also for a prefix that does not
 * decode or is over 1024 bytes. */
int listbuckets_filter_query(const struct config *cfg, struct s3w_slice caller_account,
                             struct s3w_slice raw_query, struct s3w_slice xml,
                             struct s3w_buf *out);

/* The same for the answer of upstream `up` (buckets are looked up among
 * up's; an unlisted bucket counts as the caller's only on the default
 * upstream, where requests for unlisted buckets go). */
struct config_upstream;
int listbuckets_filter_upstream(const struct config *cfg, const struct config_upstream *up,
                                struct s3w_slice caller_account, struct s3w_slice raw_query,
                                struct s3w_slice xml, struct s3w_buf *out);

/* One document from n that listbuckets_filter* wrote (one per upstream):
 * the first one's, with the Bucket elements of all of them, sorted by
 * name, as S3 lists them. 0, S3W_E_INVAL for a document this file did not
 * write, or an s3w_buf error. */
int listbuckets_merge(const struct s3w_slice *docs, size_t n, struct s3w_buf *out);

#endif
