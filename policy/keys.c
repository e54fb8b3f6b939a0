/*
 * keys.c - condition keys s3warden knows for S3 requests.
 *
 * S3 keys come from s3map_is_known_condition_key(), generated with the S3
 * operation table from the service authorization reference (one source of
 * truth); the global list is AWS's "global condition context keys" [KEYS].
 */
#include <string.h>

#include "policy_int.h"
#include "s3map.h"

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
    return s3map_is_known_condition_key(key);
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
