/*
 * alias.h - the upstream name of an aliased bucket kept out of its answers.
 *
 * A bucket configured with "upstream_name" is one name to its clients and
 * another at the store. The store's answers name its own: a listing's
 * <Name>, a multipart upload's <Bucket>, CompleteMultipartUpload's
 * <Location>, an error's <BucketName> and <Resource>. Passed on, they told
 * a partner the name the alias exists to keep from it, and a client that
 * follows <Location> or re-uses <Name> asks for a bucket s3warden does not
 * serve under that name. The relay (relay.c) holds those answers whole and
 * renames with alias_rename.
 */
#ifndef S3W_PROXY_ALIAS_H
#define S3W_PROXY_ALIAS_H

#include "bytes.h"

/* The most of a 2xx answer held to be renamed: S3's listings hold at most
 * 1,000 entries (about 1.7 MB for 1,000 versions of 1,024-byte keys). */
#define ALIAS_MAX_BODY (8u * 1024 * 1024)

/* Copies the S3 XML document `doc` to `out`, the bucket name `up` made
 * `local` where the document names the bucket:
 *   - the whole text of <Name>, <Bucket> and <BucketName>;
 *   - <Resource>'s first path segment (/up/key, /up);
 *   - in <Location>'s URL, the host's first label (https://up.host/key)
 *     or the path's first segment (http://host/up/key, /up/key).
 * Nothing else changes: a key, prefix or message holding the same text
 * is data. A '<' in an S3 document is always markup (text escapes it), so
 * a key cannot pose as an element. 0, or S3W_E_TOOBIG from out. */
int alias_rename(struct s3w_slice doc, struct s3w_slice up, struct s3w_slice local,
                 struct s3w_buf *out);

/* A Location value (a header's, or <Location>'s text) renamed as above;
 * a value without "://" is a path ("/up" -> "/local"). */
int alias_rename_location(struct s3w_slice v, struct s3w_slice up, struct s3w_slice local,
                          struct s3w_buf *out);

#endif
