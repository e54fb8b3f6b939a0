/*
 * replay_record.h - one audit record as `s3warden replay` reads it: its JSON
 * scanned in place, with no allocation, and only the fields replay uses
 * decoded (into the caller's scratch buffer). Private to cmd_replay.c.
 */
#ifndef S3W_PROXY_REPLAY_RECORD_H
#define S3W_PROXY_REPLAY_RECORD_H

#include <stdbool.h>
#include <stddef.h>

#include "audit.h"
#include "bytes.h"
#include "context.h"

#define REPLAY_MAX_VALUES 512   /* values of multi-valued keys in one record */
#define REPLAY_MAX_TAGS 50      /* session tags: AssumeRole's limit */
#define REPLAY_TAG_KEY_MAX 128  /* AssumeRole's longest tag key */
#define REPLAY_TAG_VALUE_MAX 256

/* k equals the literal l (length from sizeof: no strlen per member) */
#define KEQ(k, l) ((k).len == sizeof(l) - 1 && memcmp((k).ptr, l, sizeof(l) - 1) == 0)

struct replay_rec {
    struct s3w_slice request_id, event_time, id_type, arn, access_key_id, event_name, bucket, key;
    struct s3w_slice actions[AUDIT_MAX_AUTHZ], resources[AUDIT_MAX_AUTHZ];
    size_t nactions, nresources;
    struct s3w_slice decision, deciding;
    bool has_context, context_truncated;
    /* sessionPolicy: present (the document, or null: none), or listed in
     * "truncated" */
    bool has_session_policy, session_policy_truncated;
    struct s3w_slice session_policy;
    /* sessionTags: present (the token's session tags, none for {}), or
     * listed in "truncated"; more than AssumeRole allows is not a record */
    bool has_session_tags, session_tags_truncated;
    struct s3w_slice tag_keys[REPLAY_MAX_TAGS], tag_values[REPLAY_MAX_TAGS];
    size_t ntags;
    struct policy_context ctx;
    struct s3w_slice values[REPLAY_MAX_VALUES];
    size_t nvalues;
    /* decoded strings (escapes) */
    char *scratch;
    size_t scratch_used, scratch_cap;
};

/* Scans one record (a line without its newline) into r, whose strings
 * point into line or r->scratch. false when it is not a well-formed
 * s3warden audit record. */
bool replay_rec_scan(struct replay_rec *r, const char *line, size_t len);

#endif
