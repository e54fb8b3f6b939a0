/*
 * alias.h - the upstream name of an aliased bucket kept out of its answers,
 * and the store's address out of CompleteMultipartUpload's.
 *
 * A bucket configured with "upstream_name" is one name to its clients and
 * another at the store. The store's answers name its own: a listing's
 * <Name>, a multipart upload's <Bucket>, an error's <BucketName> and
 * <Resource>. Passed on, they told a partner the name the alias exists to
 * keep from it, and a client that re-uses <Name> asks for a bucket
 * s3warden does not serve under that name. CompleteMultipartUpload's
 * <Location> names the store's endpoint (for every bucket): a client that
 * follows it reaches the store around s3warden. The relay (relay.c)
 * rewrites those answers as they stream (alias_ready says how much of what
 * came may go), and error documents, which it holds whole.
 */
#ifndef S3W_PROXY_ALIAS_H
#define S3W_PROXY_ALIAS_H

#include "bytes.h"

/* The most bytes a streaming rewrite holds back after a '<' while it waits
 * for the element there to end: more than any element it rewrites (a
 * bucket name; <Location>, at most a 1,024-byte key encoded, and a host). */
#define ALIAS_CARRY_MAX (16u * 1024)

struct alias_names {
    struct s3w_slice up, local;   /* up empty: nothing renamed */
    bool path_style;              /* the store was asked path-style: <Resource> is /up/key */
    struct s3w_slice location;    /* ptr set: every <Location>'s text made this */
};

/* Copies the S3 XML document `doc` to `out`, rewritten where it names the
 * bucket or the store:
 *   - the text of <Name>, <Bucket> and <BucketName> that is `up` (white
 *     space around it kept) becomes `local`;
 *   - with path_style, <Resource>'s first path segment (/up/key, /up);
 *   - with location.ptr, the text of <Location>.
 * Nothing else changes: a key, prefix or message holding the same text is
 * data. A '<' in an S3 document is always markup (text escapes it), so a
 * key cannot pose as an element; an element's text runs to the next '<'
 * (or the end of doc). `location` must need no XML escaping. 0, or
 * S3W_E_TOOBIG from out (alias_room says how much to allow). */
int alias_rewrite(struct s3w_slice doc, const struct alias_names *n, struct s3w_buf *out);

/* The most bytes alias_rewrite can make of `len` bytes. */
size_t alias_room(size_t len, const struct alias_names *n);

/* How much of a document's first bytes `doc` a streaming caller may
 * rewrite and send now: up to its last '<', whose element may go on in
 * the bytes still to come, or all of it when that '<' is more than
 * ALIAS_CARRY_MAX back (no element it rewrites is that long) - unless the
 * element there is one it rewrites: then *too_long, and the caller is to
 * pass on no more of the document (its text would go by in pieces). */
size_t alias_ready(struct s3w_slice doc, bool *too_long);

#endif
