/*
 * s3ops.c - queries over the generated S3 operation catalog
 * (s3ops_table.c, made by gen_s3ops.py; contract in s3ops.h): operations
 * by index and name, and which condition keys are S3's and what s3warden
 * does with each (for the policy validator). Below both the request
 * mapping (s3map*.c) and the policy key checks (keys.c); depends on
 * neither.
 */
#include "s3ops.h"

/* ---- operation table --------------------------------------------------------- */

size_t s3map_op_count(void)
{
    return s3map_ops_count;
}

const struct s3map_op *s3map_op_at(size_t i)
{
    return i < s3map_ops_count ? &s3map_ops_table[i] : NULL;
}

const struct s3map_op *s3map_op_by_name(struct s3w_slice name)
{
    for (size_t i = 0; i < s3map_ops_count; i++)
        if (s3w_slice_eq_cstr(name, s3map_ops_table[i].name))
            return &s3map_ops_table[i];
    return NULL;
}

/* ---- validator support ----------------------------------------------------------- */

bool s3map_is_known_condition_key(struct s3w_slice key)
{
    for (const char *const *k = s3map_condition_keys; *k; k++)
        if (s3w_slice_eq_nocase(key, s3w_slice_cstr(*k)))
            return true;
    for (const char *const *f = s3map_condition_key_families; *f; f++) {
        struct s3w_slice pf = s3w_slice_cstr(*f);
        if (key.len > pf.len && s3w_slice_eq_nocase(s3w_slice(key.ptr, pf.len), pf))
            return true;
    }
    return false;
}

/* Keys of s3map_condition_keys[] that s3map fills (see fill_context and
 * body_keys); every other listed key is classified below. A test checks that
 * no generated key is left UNKNOWN. */
static const char *const filled_keys[] = {
    "s3:prefix", "s3:delimiter", "s3:max-keys", "s3:x-amz-acl", "s3:x-amz-grant-read",
    "s3:x-amz-grant-write", "s3:x-amz-grant-read-acp", "s3:x-amz-grant-write-acp",
    "s3:x-amz-grant-full-control", "s3:x-amz-copy-source", "s3:x-amz-server-side-encryption",
    "s3:x-amz-server-side-encryption-aws-kms-key-id",
    "s3:x-amz-server-side-encryption-customer-algorithm", "s3:x-amz-storage-class",
    "s3:x-amz-metadata-directive", "s3:x-amz-website-redirect-location",
    "s3:x-amz-object-ownership", "s3:versionid", "s3:RequestObjectTagKeys",
    "s3:x-amz-content-sha256", "s3:authType", "s3:signatureversion", "s3:signatureAge",
    "s3:TlsVersion", "s3:ResourceAccount", "s3:object-lock-mode",
    "s3:object-lock-retain-until-date", "s3:object-lock-legal-hold",
    "s3:object-lock-remaining-retention-days", "s3:if-match", "s3:if-none-match",
    "s3:locationconstraint", NULL,
};

static const char *const not_applicable_keys[] = {
    "s3:AccessGrantsInstanceArn", "s3:AccessPointNetworkOrigin", "s3:DataAccessPointAccount",
    "s3:DataAccessPointArn", NULL,
};

static bool in_list_nocase(struct s3w_slice key, const char *const *list)
{
    for (; *list; list++)
        if (s3w_slice_eq_nocase(key, s3w_slice_cstr(*list)))
            return true;
    return false;
}

enum s3map_key_support s3map_condition_key_support(struct s3w_slice key)
{
    if (!s3map_is_known_condition_key(key))
        return S3MAP_KEY_UNKNOWN;
    if (in_list_nocase(key, filled_keys))
        return S3MAP_KEY_FILLED;
    if (in_list_nocase(key, not_applicable_keys))
        return S3MAP_KEY_NOT_APPLICABLE;
    static const struct s3w_slice req_tag = S3W_SLICE_LIT("s3:RequestObjectTag/");
    static const struct s3w_slice ap_tag = S3W_SLICE_LIT("s3:AccessPointTag/");
    if (key.len > req_tag.len && s3w_slice_eq_nocase(s3w_slice(key.ptr, req_tag.len), req_tag))
        return S3MAP_KEY_FILLED;
    if (key.len > ap_tag.len && s3w_slice_eq_nocase(s3w_slice(key.ptr, ap_tag.len), ap_tag))
        return S3MAP_KEY_NOT_APPLICABLE;
    /* s3:ExistingObjectTag/<k> (needs the stored object's tags), event holds,
     * s3:ObjectCreationOperation, s3:InventoryAccessibleOptionalFields (a
     * body field), s3:isReplicationPauseRequest, s3:x-amz-bucket-namespace,
     * s3:x-amz-object-annotation-directive */
    return S3MAP_KEY_NOT_EVALUATED;
}
