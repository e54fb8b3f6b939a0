/*
 * authorize.c - the authorization stage: every (action, resource) the
 * mapped S3 operation needs is evaluated against the guardrails, the
 * resource's bucket policy (the configured one), the caller's identity
 * policies, its permissions boundary and session policy, with AWS's logic
 * (policy.h: an explicit deny wins; cross-account needs both sides). Fail
 * closed: an unlisted bucket, an evaluation error, or an operation with no
 * authorization at all is denied. The decision and the deciding statements
 * go to px->authz for the audit record; a denial's message is AWS's
 * wording (policy_access_denied_message).
 */
#include "authorize.h"
#include "exchange.h"

#include "trace.h"

#include <stdio.h>
#include <string.h>

/* ---- the policies that decide ------------------------------------------------------------- */
void px_build_principal(struct px *px)
{
    config_identity_principal(&px->auth.id, &px->authz.principal);
}

/* Bucket named by an S3 ARN ("arn:aws:s3:::bucket/key" -> "bucket"). */
static struct s3w_slice arn_bucket(struct s3w_slice arn)
{
    static const char pre[] = "arn:aws:s3:::";
    if (arn.len <= sizeof(pre) - 1 || memcmp(arn.ptr, pre, sizeof(pre) - 1) != 0)
        return S3W_SLICE_NULL;
    const char *b = arn.ptr + sizeof(pre) - 1;
    size_t n = arn.len - (sizeof(pre) - 1);
    const char *slash = memchr(b, '/', n);
    return s3w_slice(b, slash ? (size_t)(slash - b) : n);
}

void authz_subject_init(struct authz_subject *s, const struct config *cfg,
                        const struct config_identity *id,
                        const struct policy_principal *principal,
                        const struct policy_context *ctx)
{
    *s = (struct authz_subject){
        .cfg = cfg, .principal = principal,
        .guardrails = cfg->guardrail_ptrs, .nguardrails = cfg->nguardrails,
        .identity = id->policies, .nidentity = id->npolicies,
        .boundary = id->boundary, .session = id->session_policy, .ctx = ctx,
    };
}

bool authz_decide(const struct authz_subject *s, struct s3w_slice action,
                  struct s3w_slice resource, struct policy_trace *trace,
                  struct authz_verdict *v, char *msg, size_t cap)
{
    memset(v, 0, sizeof(*v));
    v->decision = POLICY_IMPLICIT_DENY;
    struct s3w_slice b = arn_bucket(resource);
    const struct config_bucket *bc = b.len ? config_find_bucket(s->cfg, b) : NULL;
    /* A configured bucket's upstream_name is that bucket, not an unlisted
     * one: under "caller_account" it would be reachable with the caller's
     * identity policies alone, past the bucket's owner and policy. */
    bool alias = b.len && !bc && config_find_bucket_upstream(s->cfg, s->cfg->upstream, b) != NULL;
    if (b.len && !bc && (alias || s->cfg->unlisted_buckets == CONFIG_UNLISTED_DENY)) {
        /* a bucket the config does not list: the upstream credentials may
         * reach it, but nobody declared its owner or policy, so an identity
         * policy with Resource "*" must not open it (fail closed; config
         * "unlisted_buckets": "caller_account" restores the old rule) */
        struct s3w_slice who = s->principal->arn.len ? s->principal->arn : S3W_SLICE_LIT("anonymous");
        snprintf(msg, cap,
                 "User: %.*s is not authorized to perform: %.*s on resource: \"%.*s\" "
                 "because the bucket is not configured in s3warden",
                 (int)who.len, who.ptr, (int)action.len, action.ptr,
                 (int)resource.len, resource.ptr);
        v->unlisted = true;
        return false;
    }
    if (bc)
        v->resource_account = s3w_slice_cstr(bc->account);
    else
        /* "*" (ListBuckets), or an unlisted bucket under "caller_account":
         * the caller's own account with no bucket policy - only the
         * caller's identity policies can allow it, as on AWS */
        v->resource_account = s->principal->account;
    struct policy_set set;
    memset(&set, 0, sizeof(set));
    set.guardrails = s->guardrails;
    set.nguardrails = s->nguardrails;
    set.resource = v->bucket_policy = bc && !s->skip_bucket_policy ? bc->policy : NULL;
    set.identity = s->identity;
    set.nidentity = s->nidentity;
    set.boundary = s->boundary ? &s->boundary : NULL;
    set.nboundary = s->boundary ? 1 : 0;
    set.session = s->session;
    struct policy_request preq = {
        .principal = s->principal,
        .action = action,
        .resource = resource,
        .resource_account = v->resource_account,
        .ctx = s->ctx,
    };
    v->cross_account = s->principal->account.len &&
                       !s3w_slice_eq(s->principal->account, v->resource_account);
    int rc = policy_evaluate_traced(&set, &preq, &v->res, trace);
    if (trace)
        trace->req = NULL; /* preq dies here: the caller points it again */
    if (rc != POLICY_OK)
        v->res.decision = POLICY_IMPLICIT_DENY;
    v->decision = v->res.decision;
    if (v->decision == POLICY_ALLOWED)
        return true;
    policy_access_denied_message(&preq, &v->res, msg, cap);
    if (cap && !msg[0])
        snprintf(msg, cap, "Access Denied");
    return false;
}

/* Appends the string s to dec (its NUL at off), cut at cap - 1 bytes as
 * snprintf would; the new offset. */
static size_t deciding_put(char *dec, size_t cap, size_t off, const char *s)
{
    size_t n = strlen(s);
    if (off + 1 >= cap)
        return off;
    if (n > cap - 1 - off)
        n = cap - 1 - off;
    memcpy(dec + off, s, n);
    dec[off + n] = '\0';
    return off + n;
}

/* Evaluates one (action, resource) for the request. Returns true when
 * allowed; otherwise sets the AccessDenied message. */
bool px_authorize(struct px *px, struct s3w_slice action, struct s3w_slice resource)
{
    struct authz_subject s = {
        .cfg = px->cfg,
        .principal = &px->authz.principal,
        .guardrails = px->authz.guardrails,
        .nguardrails = px->authz.nguardrails,
        .identity = px->authz.identity_pols,
        .nidentity = px->authz.nidentity,
        .boundary = px->authz.boundary,
        .session = px->auth.id_set ? px->auth.id.session_policy : NULL,
        .skip_bucket_policy = px->authz.skip_bucket_policy,
        .ctx = &px->authz.ctx,
    };
    struct authz_verdict v;
    bool ok = authz_decide(&s, action, resource, NULL, &v, px->out.err_msg, sizeof(px->out.err_msg));
    char *dec = px->authz.deciding;
    const size_t cap = sizeof(px->authz.deciding);
    size_t off = strlen(dec);
    if (v.unlisted) {
        off = deciding_put(dec, cap, off, off ? ";" : "");
        deciding_put(dec, cap, off, "unlisted_buckets:deny");
    } else {
        if (v.cross_account)
            px->authz.cross_account = true;
        const struct policy_result *res = &v.res;
        /* "policy:sid" or "policy:#index" per deciding statement, ';' between */
        for (size_t i = 0; i < res->ndeciding && off + 1 < cap; i++) {
            const struct policy_stmt_ref *d = &res->deciding[i];
            off = deciding_put(dec, cap, off, off ? ";" : "");
            off = deciding_put(dec, cap, off, d->policy ? d->policy : "?");
            off = deciding_put(dec, cap, off, d->sid ? ":" : ":#");
            if (d->sid) {
                off = deciding_put(dec, cap, off, d->sid);
            } else {
                char num[12], *p = num + sizeof(num);
                unsigned x = d->index;
                *--p = '\0';
                do
                    *--p = (char)('0' + x % 10);
                while ((x /= 10) != 0);
                off = deciding_put(dec, cap, off, p);
            }
        }
    }
    px->authz.last = v.decision;
    px->authz.decision = px_decision_from_policy(px->authz.last);
    return ok;
}

/* Every authorization of the mapped request must be allowed (fail closed).
 * Answers the denial itself and returns false. */
bool px_authorize_all(struct px *px)
{
    for (size_t i = 0; i < px->authz.map.nauthz; i++) {
        if (!px_authorize(px, px->authz.map.authz[i].action, px->authz.map.authz[i].resource)) {
            px_fail(px, 403, "AccessDenied", px->out.err_msg);
            return false;
        }
    }
    if (px->authz.map.nauthz == 0 && !(px->authz.map.flags & S3MAP_F_DELETE_BODY)) {
        px->authz.decision = PX_DEC_IMPLICIT_DENY;
        px_fail(px, 403, "AccessDenied", "Access Denied");
        return false;
    }
    return true;
}
