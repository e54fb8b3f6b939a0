/*
 * keys.c - condition keys s3warden knows for S3 requests, and which of the
 * global ones it can supply.
 *
 * S3 keys come from s3map_is_known_condition_key(), generated with the S3
 * operation table from the service authorization reference (one source of
 * truth); the global list is AWS's "global condition context keys" [KEYS],
 * each with where its value comes from under s3warden:
 *
 *   KEY_SET        s3warden sets it per request from the request, the
 *                  connection or the caller's identity (s3map_context.c,
 *                  eval.c policy_context_set_principal, config identities);
 *   KEY_FIXED      the same for every request through s3warden, stated by
 *                  policy_context_set_fixed(): aws:ViaAWSService = false,
 *                  aws:PrincipalIsAWSService = false, or absent - a caller
 *                  of s3warden is never an AWS service principal, never a
 *                  service acting through forward access sessions, never
 *                  an EC2 instance-role or AssumeRoot credential, never MFA
 *                  authenticated, never SAML federated;
 *   KEY_UNKNOWABLE AWS derives it from facts the proxy cannot see
 *                  (Organizations membership, the VPC endpoint a request
 *                  traversed, the resource's tags). Left absent it would
 *                  turn a Deny off or an Allow on where AWS might not, so
 *                  compile.c refuses every such use (see
 *                  policy_key_unknowable()).
 */
#include <string.h>

#include "policy_int.h"
#include "s3ops.h"

enum key_source { KEY_SET = 0, KEY_FIXED, KEY_UNKNOWABLE };

struct global_key {
    const char *name;
    uint8_t source;
    /* KEY_UNKNOWABLE: what AWS derives the value from (for messages) */
    const char *from;
};

#define ORG "the AWS Organizations membership of the caller's account"
#define RORG "the AWS Organizations membership of the resource's account"
#define VPCE "the VPC endpoint the request traverses"

static const struct global_key global_keys[] = {
    /* FAS chain: "not present when the principal makes the call directly"
     * [KEYS aws:CalledVia, aws:CalledViaFirst, aws:CalledViaLast] */
    { "aws:CalledVia", KEY_FIXED, NULL },
    { "aws:CalledViaFirst", KEY_FIXED, NULL },
    { "aws:CalledViaLast", KEY_FIXED, NULL },
    { "aws:CurrentTime", KEY_SET, NULL },
    { "aws:EpochTime", KEY_SET, NULL },
    /* set in the requests of a local AssumeRoleWithWebIdentity session
     * (config/identity.c), absent otherwise (no SAML) */
    { "aws:FederatedProvider", KEY_SET, NULL },
    /* "only if the principal ... was authenticated using MFA" [KEYS];
     * s3warden issues no MFA sessions */
    { "aws:MultiFactorAuthAge", KEY_FIXED, NULL },
    { "aws:MultiFactorAuthPresent", KEY_SET, NULL },
    { "aws:PrincipalAccount", KEY_SET, NULL },
    { "aws:PrincipalArn", KEY_SET, NULL },
    /* "false" for every signed request not made by a service principal
     * [KEYS aws:PrincipalIsAWSService] */
    { "aws:PrincipalIsAWSService", KEY_FIXED, NULL },
    { "aws:PrincipalOrgID", KEY_UNKNOWABLE, ORG },
    { "aws:PrincipalOrgPaths", KEY_UNKNOWABLE, ORG },
    /* present only when the caller is an AWS service principal [KEYS] */
    { "aws:PrincipalServiceName", KEY_FIXED, NULL },
    { "aws:PrincipalServiceNamesList", KEY_FIXED, NULL },
    { "aws:PrincipalType", KEY_SET, NULL },
    { "aws:Referer", KEY_SET, NULL },
    { "aws:RequestedRegion", KEY_SET, NULL },
    { "aws:ResourceAccount", KEY_SET, NULL },
    { "aws:ResourceOrgID", KEY_UNKNOWABLE, RORG },
    { "aws:ResourceOrgPaths", KEY_UNKNOWABLE, RORG },
    { "aws:SecureTransport", KEY_SET, NULL },
    /* service-to-service requests on behalf of a resource only [KEYS
     * aws:SourceAccount, aws:SourceArn, aws:SourceOrgID, aws:SourceOrgPaths] */
    { "aws:SourceAccount", KEY_FIXED, NULL },
    { "aws:SourceArn", KEY_FIXED, NULL },
    { "aws:SourceIdentity", KEY_SET, NULL },
    { "aws:SourceIp", KEY_SET, NULL },
    { "aws:SourceOrgID", KEY_FIXED, NULL },
    { "aws:SourceOrgPaths", KEY_FIXED, NULL },
    /* "only if the requester uses a VPC endpoint" [KEYS]: where the
     * caller's packets went before reaching s3warden is not visible to it */
    { "aws:SourceVpc", KEY_UNKNOWABLE, VPCE },
    { "aws:SourceVpcArn", KEY_UNKNOWABLE, VPCE },
    { "aws:SourceVpce", KEY_UNKNOWABLE, VPCE },
    /* set by STS AssumeRole/TagSession (config/sts.c) and, with
     * aws:RequestTag/<k>, by s3map for CreateBucket with tags */
    { "aws:TagKeys", KEY_SET, NULL },
    { "aws:TokenIssueTime", KEY_SET, NULL },
    { "aws:UserAgent", KEY_SET, NULL },
    { "aws:userid", KEY_SET, NULL },
    { "aws:username", KEY_SET, NULL },
    /* "false when the principal makes the call directly" [KEYS] */
    { "aws:ViaAWSService", KEY_FIXED, NULL },
    { "aws:VpcSourceIp", KEY_UNKNOWABLE, VPCE },
    /* EC2 instance-role credentials only; s3warden's are its own */
    { "aws:Ec2InstanceSourceVpc", KEY_FIXED, NULL },
    { "aws:Ec2InstanceSourcePrivateIPv4", KEY_FIXED, NULL },
    { "aws:VpceAccount", KEY_UNKNOWABLE, VPCE },
    { "aws:VpceOrgID", KEY_UNKNOWABLE, VPCE },
    { "aws:VpceOrgPaths", KEY_UNKNOWABLE, VPCE },
    /* sts:AssumeRoot credentials only; the local STS does not issue them */
    { "aws:AssumedRoot", KEY_FIXED, NULL },
    /* requests made through an AWS-managed MCP server only */
    { "aws:IsMcpServiceAction", KEY_FIXED, NULL },
};

static const struct global_key *find_global(struct s3w_slice key)
{
    for (size_t i = 0; i < sizeof(global_keys) / sizeof(global_keys[0]); i++)
        if (s3w_slice_eq_nocase(key, s3w_slice_cstr(global_keys[i].name)))
            return &global_keys[i];
    return NULL;
}

bool policy_key_is_global(struct s3w_slice key)
{
    return find_global(key) != NULL;
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

/* "HOST/PATH:sub", ":aud", ":amr": the keys of an OIDC provider's token,
 * which AWS keeps "when the temporary security credentials are used to
 * make a request" (IAM User Guide, "Available keys for AWS web identity
 * federation"), so s3warden sets them in the requests of a web identity
 * session (config/identity.c) and they are absent from every other
 * request, as on AWS. HOST/PATH is a host name (it has a dot), with an
 * optional path. */
bool policy_key_web_identity(struct s3w_slice key)
{
    size_t colon = key.len;
    while (colon > 0 && key.ptr[colon - 1] != ':')
        colon--;
    if (colon < 2)
        return false;
    struct s3w_slice claim = s3w_slice(key.ptr + colon, key.len - colon);
    struct s3w_slice host = s3w_slice(key.ptr, colon - 1);
    if (!s3w_slice_eq_nocase(claim, S3W_SLICE_LIT("sub")) &&
        !s3w_slice_eq_nocase(claim, S3W_SLICE_LIT("aud")) &&
        !s3w_slice_eq_nocase(claim, S3W_SLICE_LIT("amr")))
        return false;
    size_t slash = 0;
    while (slash < host.len && host.ptr[slash] != '/')
        slash++;
    return memchr(host.ptr, '.', slash) != NULL && memchr(host.ptr, ':', host.len) == NULL;
}

const char *policy_key_unknowable(struct s3w_slice key)
{
    /* aws:ResourceTag/<k>: "included when the requested resource already has
     * attached tags" [KEYS]; S3 lists it for bucket operations (service
     * authorization reference). s3warden does not know the bucket's tags.
     * Another service's ResourceTag (ec2:ResourceTag/..) is never set on an
     * S3 request, by AWS either. */
    if (has_prefix_nocase(key, "aws:ResourceTag/"))
        return "the tags attached to the resource";
    const struct global_key *g = find_global(key);
    return g && g->source == KEY_UNKNOWABLE ? g->from : NULL;
}

int policy_context_set_fixed(struct policy_context *ctx, bool signed_request)
{
    if (!ctx)
        return POLICY_E_ARG;
    /* "returns false ... when the principal makes the call directly";
     * "always included in the request context for most services" (S3 is not
     * among the exceptions) [KEYS aws:ViaAWSService] */
    int rc = policy_context_set(ctx, S3W_SLICE_LIT("aws:ViaAWSService"), S3W_SLICE_LIT("false"));
    /* "present in the request context for all signed API requests that use
     * AWS credentials. Anonymous requests do not include this key"; true
     * only when an AWS service principal calls [KEYS
     * aws:PrincipalIsAWSService] */
    if (signed_request)
        rc |= policy_context_set(ctx, S3W_SLICE_LIT("aws:PrincipalIsAWSService"),
                                 S3W_SLICE_LIT("false"));
    return rc ? POLICY_E_ARG : POLICY_OK;
}
