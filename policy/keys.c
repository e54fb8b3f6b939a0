/*
 * keys.c - condition keys s3warden knows for S3 requests.
 *
 * The S3 list is the union of the `condition_keys` of
 * tests/testdata/s3-operations/s3-operations.json plus the keys issue 3
 * names; the global list is AWS's "global condition context keys" [KEYS].
 * s3map will expose s3map_is_known_condition_key() from its generated
 * operation table; until then this list is the source of truth.
 */
#include <string.h>

#include "policy_int.h"

static const char *const global_keys[] = {
    "aws:CalledVia", "aws:CalledViaFirst", "aws:CalledViaLast", "aws:CurrentTime",
    "aws:EpochTime", "aws:FederatedProvider", "aws:MultiFactorAuthAge",
    "aws:MultiFactorAuthPresent", "aws:PrincipalAccount", "aws:PrincipalArn",
    "aws:PrincipalIsAWSService", "aws:PrincipalOrgID", "aws:PrincipalOrgPaths",
    "aws:PrincipalServiceName", "aws:PrincipalServiceNamesList", "aws:PrincipalType",
    "aws:Referer", "aws:RequestedRegion", "aws:ResourceAccount", "aws:ResourceOrgID",
    "aws:ResourceOrgPaths", "aws:SecureTransport", "aws:SourceAccount", "aws:SourceArn",
    "aws:SourceIdentity", "aws:SourceIp", "aws:SourceOrgID", "aws:SourceOrgPaths",
    "aws:SourceVpc", "aws:SourceVpce", "aws:TagKeys", "aws:TokenIssueTime",
    "aws:UserAgent", "aws:userid", "aws:username", "aws:ViaAWSService", "aws:VpcSourceIp",
    "aws:Ec2InstanceSourceVpc", "aws:Ec2InstanceSourcePrivateIPv4", "aws:VpceAccount",
    "aws:VpceOrgID", "aws:VpceOrgPaths", "aws:AssumedRoot", "aws:IsMcpServiceAction",
};

static const char *const s3_keys[] = {
    "s3:AccessGrantsInstanceArn", "s3:AccessPointNetworkOrigin", "s3:DataAccessPointAccount",
    "s3:DataAccessPointArn", "s3:InventoryAccessibleOptionalFields",
    "s3:ObjectCreationOperation", "s3:RequestObjectTagKeys", "s3:ResourceAccount",
    "s3:TlsVersion", "s3:authType", "s3:delimiter", "s3:if-match", "s3:if-none-match",
    "s3:isReplicationPauseRequest", "s3:locationconstraint", "s3:max-keys",
    "s3:object-lock-event-hold", "s3:object-lock-event-hold-duration-days",
    "s3:object-lock-legal-hold", "s3:object-lock-mode",
    "s3:object-lock-remaining-retention-days", "s3:object-lock-retain-until-date",
    "s3:prefix", "s3:signatureAge", "s3:signatureversion", "s3:versionid",
    "s3:x-amz-acl", "s3:x-amz-bucket-namespace", "s3:x-amz-content-sha256",
    "s3:x-amz-copy-source", "s3:x-amz-grant-full-control", "s3:x-amz-grant-read",
    "s3:x-amz-grant-read-acp", "s3:x-amz-grant-write", "s3:x-amz-grant-write-acp",
    "s3:x-amz-metadata-directive", "s3:x-amz-object-annotation-directive",
    "s3:x-amz-object-ownership", "s3:x-amz-server-side-encryption",
    "s3:x-amz-server-side-encryption-aws-kms-key-id",
    "s3:x-amz-server-side-encryption-customer-algorithm", "s3:x-amz-storage-class",
    "s3:x-amz-website-redirect-location", "s3:LocationConstraint",
};

static bool in_list(struct s3w_slice key, const char *const *l, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s3w_slice_eq_nocase(key, s3w_slice_cstr(l[i])))
            return true;
    return false;
}

bool policy_key_is_global(struct s3w_slice key)
{
    return in_list(key, global_keys, sizeof(global_keys) / sizeof(global_keys[0]));
}

bool policy_key_is_s3(struct s3w_slice key)
{
    return in_list(key, s3_keys, sizeof(s3_keys) / sizeof(s3_keys[0]));
}

static bool has_prefix_nocase(struct s3w_slice s, const char *p)
{
    size_t n = strlen(p);
    return s.len > n && s3w_slice_eq_nocase((struct s3w_slice){ s.ptr, n }, (struct s3w_slice){ p, n });
}

bool policy_key_is_tag(struct s3w_slice key)
{
    /* Tag key families: "<prefix>/<tag-key>" with a non-empty tag key. Any
     * service's ResourceTag/RequestTag family counts (seed 000 uses
     * ec2:ResourceTag/...). */
    static const char *const fam[] = { "aws:PrincipalTag/", "aws:RequestTag/",
                                       "aws:ResourceTag/", "s3:RequestObjectTag/",
                                       "s3:ExistingObjectTag/", "s3:AccessPointTag/" };
    for (size_t i = 0; i < sizeof(fam) / sizeof(fam[0]); i++)
        if (has_prefix_nocase(key, fam[i]))
            return true;
    const char *colon = memchr(key.ptr, ':', key.len);
    if (!colon)
        return false;
    struct s3w_slice rest = { colon + 1, key.len - (size_t)(colon + 1 - key.ptr) };
    return has_prefix_nocase(rest, "ResourceTag/") || has_prefix_nocase(rest, "RequestTag/");
}

bool policy_is_known_s3_condition_key(struct s3w_slice key)
{
    return policy_key_is_global(key) || policy_key_is_s3(key) || policy_key_is_tag(key);
}
