/*
 * s3map_int.h - private to the s3map*.c files: the helpers the request
 * mapping (s3map.c), the condition keys (s3map_context.c) and the XML
 * bodies (s3map_body.c) share. Not for other modules: their contract is
 * s3map.h.
 */
#ifndef S3W_POLICY_S3MAP_INT_H
#define S3W_POLICY_S3MAP_INT_H

#include "s3map.h"

/* slice == NUL-terminated literal, without a strlen per compare */
static inline bool eqz(struct s3w_slice s, const char *z)
{
    size_t i = 0;
    for (; i < s.len; i++)
        if (!z[i] || z[i] != s.ptr[i])
            return false;
    return z[i] == 0;
}

/* The headers the mapping reads, classified once per request by s3map_map()
 * into res->hval (s3map.c). */
enum hdr_id {
    H_COPY_SOURCE, H_TAGGING, H_TAGGING_DIRECTIVE, H_LOCK_MODE, H_LOCK_RETAIN_UNTIL,
    H_LOCK_LEGAL_HOLD, H_BYPASS_GOVERNANCE, H_BUCKET_LOCK, H_OBJECT_OWNERSHIP, H_ACL,
    H_GRANT_READ, H_GRANT_WRITE, H_GRANT_READ_ACP, H_GRANT_WRITE_ACP, H_GRANT_FULL_CONTROL,
    H_SSE, H_SSE_KMS_KEY_ID, H_SSE_CUSTOMER_ALGORITHM, H_STORAGE_CLASS, H_METADATA_DIRECTIVE,
    H_WEBSITE_REDIRECT, H_IF_MATCH, H_IF_NONE_MATCH, H_EXPECTED_OWNER, H_SOURCE_EXPECTED_OWNER,
    H__COUNT
};

/* 1 found (*v set, trimmed), 0 absent, S3MAP_E_INVALID_ARGUMENT when given
 * more than once (we will not pick one of two values to authorize). */
int s3map__hdr_get(const struct s3map_result *res, enum hdr_id h, struct s3w_slice *v);
/* The decoded query parameter `name`, or NULL. */
const struct s3map_qparam *s3map__q_get(const struct s3map_result *res, const char *name);
/* Bump allocation of n bytes from the result's scratch; NULL when full. */
char *s3map__scratch_take(struct s3map_result *res, size_t n);
/* Appends an authorization; S3MAP_E_TOO_BIG past S3MAP_MAX_AUTHZ. */
int s3map__add_authz(struct s3map_result *res, const char *action, struct s3w_slice resource);

/* ---- condition keys (s3map_context.c) ---- */
int s3map__ctx_set(struct policy_context *ctx, struct s3w_slice key, struct s3w_slice v);
/* key is a string literal: its length is known at compile time */
#define ctx_set(ctx, key, v) s3map__ctx_set((ctx), S3W_SLICE_LIT(key), (v))
/* Unicode characters in UTF-8 bytes (S3's tag limits count characters). */
size_t s3map__utf8_chars(struct s3w_slice s);
/* S3's tag rules; sets res->detail (too_many when over max). */
int s3map__check_tags(struct s3map_result *res, const struct s3map_qparam *tags, size_t n,
                      size_t max, const char *too_many);
/* Sets the key prefix+tag ("aws:RequestTag/" + k) to value, the key
 * written into the result's scratch. */
int s3map__set_tag_key(struct s3map_result *res, struct s3w_slice prefix, struct s3w_slice tag,
                       struct s3w_slice value, struct policy_context *ctx);
/* s3:RequestObjectTag/<k> per tag and s3:RequestObjectTagKeys. */
int s3map__set_tag_keys(struct s3map_result *res, const struct s3map_qparam *tags, size_t n,
                        uint64_t bits, struct policy_context *ctx);
/* s3:object-lock-remaining-retention-days from a retain-until date;
 * S3MAP_E_INVALID_ARGUMENT when the date is not ISO 8601. */
int s3map__retention_days(struct s3map_result *res, struct s3w_slice date, int64_t now_ms,
                          struct policy_context *ctx);

#endif
