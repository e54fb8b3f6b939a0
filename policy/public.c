/*
 * public.c - whether a compiled bucket policy is "public" by S3's rules
 * (GetBucketPolicyStatus, IsPublic).
 *
 * The rule, from the Amazon S3 User Guide, "Blocking public access to your
 * Amazon S3 storage", section "The meaning of 'public'", "Bucket policies"
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html#access-control-block-public-access-policy-status;
 * text read from the page's markdown source in the GitHub repository
 * awsdocs/amazon-s3-userguide, doc_source, commit 0009290d - the last
 * published source of the page; the live page was not reachable from here):
 *
 *   "Amazon S3 begins by assuming that the policy is public. It then
 *   evaluates the policy to determine whether it qualifies as non-public.
 *   To be considered non-public, a bucket policy must grant access only to
 *   fixed values (values that don't contain a wildcard or an AWS Identity
 *   and Access Management Policy Variable) for one or more of the
 *   following: an AWS principal, user, role, or service principal (e.g.
 *   aws:PrincipalOrgID); a set of CIDRs, using aws:SourceIp; aws:SourceArn;
 *   aws:SourceVpc; aws:SourceVpce; aws:SourceOwner; aws:SourceAccount;
 *   s3:x-amz-server-side-encryption-aws-kms-key-id; aws:userid, outside the
 *   pattern "AROLEID:*"; s3:DataAccessPointArn; s3:DataAccessPointAccount."
 *
 * with two notes: aws:SourceIp ranges "broader than /8 for IPv4 and /32 for
 * IPv6 (excluding RFC1918 private ranges)" are public, and a bucket
 * policy's s3:DataAccessPointArn "can contain a wildcard for the access
 * point name without rendering the policy public, as long as the account
 * id is fixed". Its examples: {"Federated": "graph.facebook.com"} is
 * public; "*" with StringLike aws:SourceVpc "vpc-*" is public, with
 * StringEquals "vpc-91237329" it is not.
 *
 * Where that text leaves a point open, s3warden answers PUBLIC: a wrong
 * "not public" hides an exposure, a wrong "public" only asks for a look
 * (IAM-SEMANTICS.md: take the reading that denies - here, that warns).
 * s3warden's readings, each tested in tests/unit/policy/test_public.c:
 *
 *  - Only Allow statements count; a Deny never makes a policy public.
 *  - A statement whose Principal names only fixed principals (account id or
 *    root ARN, user, role, session or federated-user ARN, unique id,
 *    Service, CanonicalUser, CloudFront OAI) is not public, whatever its
 *    conditions. "*", {"AWS": "*"}, any Federated provider (AWS's own
 *    example) and a principal holding "${" are open; so is an Allow's
 *    NotPrincipal (everyone not listed), always public.
 *  - An open principal is not public when at least one condition key limits
 *    it (the keys of a Condition are ANDed: one fixed limit bounds the
 *    grant): a key of the list above, under a plain (not negated, not
 *    ...IfExists, no ForAnyValue:/ForAllValues: qualifier) StringEquals,
 *    StringEqualsIgnoreCase, StringLike, ArnEquals or ArnLike - IpAddress
 *    for aws:SourceIp and only that - every value of which is fixed: no
 *    `*`, `?` or "${" in it, whatever the operator (a `*` under
 *    StringEquals is literal to the evaluator, but AWS's rule looks at the
 *    value).
 *  - Negated operators grant to every value but those listed; ...IfExists
 *    holds when the key is absent; ForAllValues holds when the key is
 *    absent, and AWS does not say how it counts ForAnyValue: none limits.
 *    Null only tests presence: it never limits. Bool, Numeric, Date and
 *    Binary compare no key of the list.
 *  - The "principal" keys: the text names aws:PrincipalOrgID, as its
 *    example of "an AWS principal". Whether aws:PrincipalArn,
 *    aws:PrincipalAccount and aws:PrincipalOrgPaths count too is not said
 *    (aws:userid, another key naming the caller, is listed apart and only
 *    outside a pattern): they do not limit here, so "*" with a fixed
 *    aws:PrincipalAccount alone is answered public.
 *  - aws:SourceIp: an IPv4 range shorter than /8 or an IPv6 range shorter
 *    than /32 is public (so /8 and /32 are not); an IPv4-mapped IPv6 range
 *    counts as the IPv4 range it is. The RFC 1918 exception changes nothing
 *    here: no RFC 1918 range is broader than /8.
 *  - s3:DataAccessPointArn: a wildcard in the access point name only, with
 *    partition, region and account fixed, does not make it public (AWS's
 *    note); anywhere else it does.
 *  - aws:userid "anonymous" (the value secondary sources give an unsigned
 *    caller, IAM-SEMANTICS.md §6 UNCONFIRMED) does not limit: it may name
 *    everyone who does not sign.
 *  - aws:userid "outside the pattern AROLEID:*": read as "not of that
 *    pattern" - a role's every session ("AROAEXAMPLE:*", the seeds' way to
 *    name a role) does not limit, and the reason says so. The other reading
 *    (that pattern counts as fixed) would answer such policies not public;
 *    the guide does not say which it means, so s3warden takes the one that
 *    warns.
 *  - Actions and resources do not matter (the older "bad actions" text is
 *    gone from the guide; counting fewer actions as public is the unsafe
 *    reading).
 *
 * Pure: reads the compiled policy only, no allocation.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "policy_int.h"

/* The condition keys AWS counts as limiting who is granted (above). */
static const char *const limiting_keys[] = {
    "aws:SourceIp", "aws:SourceArn", "aws:SourceVpc", "aws:SourceVpce", "aws:SourceOwner",
    "aws:SourceAccount", "s3:x-amz-server-side-encryption-aws-kms-key-id", "aws:userid",
    "s3:DataAccessPointArn", "s3:DataAccessPointAccount",
    /* the guide's example of "an AWS principal" - the only one it names */
    "aws:PrincipalOrgID",
};

static bool limiting_key(struct s3w_slice key)
{
    for (size_t i = 0; i < sizeof(limiting_keys) / sizeof(limiting_keys[0]); i++)
        if (s3w_slice_eq_nocase(key, s3w_slice_cstr(limiting_keys[i])))
            return true;
    return false;
}

static bool has_var(struct s3w_slice v)
{
    for (size_t i = 0; i + 1 < v.len; i++)
        if (v.ptr[i] == '$' && v.ptr[i + 1] == '{')
            return true;
    return false;
}

static bool has_wild(struct s3w_slice v)
{
    return memchr(v.ptr, '*', v.len) || memchr(v.ptr, '?', v.len);
}

/* arn:PARTITION:s3:REGION:ACCOUNT:accesspoint/NAME with everything but NAME
 * fixed: the wildcard AWS allows in a bucket policy's s3:DataAccessPointArn
 * ("as long as the account id is fixed"). */
static bool ap_arn_wild_name_only(struct s3w_slice v)
{
    const char *p = v.ptr, *end = v.ptr + v.len;
    struct s3w_slice part[5];
    for (int i = 0; i < 5; i++) {
        const char *c = memchr(p, ':', (size_t)(end - p));
        if (!c)
            return false;
        part[i] = (struct s3w_slice){ p, (size_t)(c - p) };
        if (has_wild(part[i]) || has_var(part[i]))
            return false;
        p = c + 1;
    }
    struct s3w_slice res = { p, (size_t)(end - p) };
    bool account = part[4].len == 12;
    for (size_t i = 0; account && i < 12; i++)
        account = part[4].ptr[i] >= '0' && part[4].ptr[i] <= '9';
    return s3w_slice_eq_cstr(part[0], "arn") && part[1].len && s3w_slice_eq_cstr(part[2], "s3") &&
           part[3].len && account && s3w_slice_starts_with(res, S3W_SLICE_LIT("accesspoint/")) &&
           res.len > 12 && !has_var(res);
}

/* Why one condition key does not limit the grant; NULL when it does. *val
 * is set to the value blamed, if any. */
static const char *key_not_limiting(const struct cond *c, const struct cond_key *k,
                                    struct s3w_slice *val)
{
    *val = S3W_SLICE_NULL;
    if (c->family == FAM_NULL)
        return "Null tests only whether the key is present";
    if (c->negated)
        return "a negated operator grants to every value but those listed";
    if (c->if_exists)
        return "an ...IfExists operator holds when the key is absent";
    if (c->set == SET_FORALL)
        return "ForAllValues holds when the key is absent";
    if (c->set == SET_FORANY)
        return "AWS does not count a ForAnyValue condition as limiting";
    if (!limiting_key(k->key))
        return "not a key AWS counts as limiting access";
    bool ip_key = s3w_slice_eq_nocase(k->key, S3W_SLICE_LIT("aws:SourceIp"));
    bool op_ok = ip_key ? c->family == FAM_IP
                        : (c->family == FAM_STRING || c->family == FAM_ARN) &&
                              (c->cmp == CMP_EQ || c->cmp == CMP_LIKE);
    if (!op_ok)
        return ip_key ? "aws:SourceIp limits access only under IpAddress"
                      : "the operator does not compare the key with fixed values";
    if (k->nvals == 0)
        return "no value";
    bool ap_arn = s3w_slice_eq_nocase(k->key, S3W_SLICE_LIT("s3:DataAccessPointArn"));
    bool userid = s3w_slice_eq_nocase(k->key, S3W_SLICE_LIT("aws:userid"));
    for (size_t i = 0; i < k->nvals; i++) {
        const struct cond_value *v = &k->vals[i];
        *val = v->pat.raw;
        if (has_var(v->pat.raw))
            return "the value holds a policy variable";
        /* the value secondary sources give unsigned callers (IAM-SEMANTICS
         * §6 UNCONFIRMED): a grant to everyone who does not sign */
        if (userid && s3w_slice_eq_nocase(v->pat.raw, S3W_SLICE_LIT("anonymous")))
            return "the value may be every unsigned caller's (unconfirmed)";
        if (userid && v->pat.raw.len > 2 && v->pat.raw.ptr[v->pat.raw.len - 2] == ':' &&
            v->pat.raw.ptr[v->pat.raw.len - 1] == '*' &&
            !has_wild(s3w_slice(v->pat.raw.ptr, v->pat.raw.len - 2)))
            return "the value is of the pattern \"AROLEID:*\", which the guide puts outside "
                   "the fixed values (a role's every session)";
        if (has_wild(v->pat.raw) && !(ap_arn && ap_arn_wild_name_only(v->pat.raw)))
            return "the value holds a wildcard";
        if (ip_key && v->ip_family == 4 && v->ip_prefix < 8)
            return "the range is broader than /8";
        if (ip_key && v->ip_family == 6 && v->ip_prefix < 32)
            return "the range is broader than /32";
    }
    *val = S3W_SLICE_NULL;
    return NULL;
}

/* Appends to the reason without overflowing; keeps the untruncated length
 * as snprintf does. */
struct why_buf {
    char *buf;
    size_t cap, len;
};

__attribute__((format(printf, 2, 3)))
static void why_add(struct why_buf *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = w->len < w->cap ? w->cap - w->len : 0;
    int n = vsnprintf(room ? w->buf + w->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        w->len += (size_t)n;
}

static void why_stmt(struct why_buf *w, const struct stmt *st)
{
    if (st->sid)
        why_add(w, "Statement[%u](Sid \"%.64s\"): ", st->index, st->sid);
    else
        why_add(w, "Statement[%u]: ", st->index);
}

/* The first entry of an Allow's Principal that is not a fixed principal,
 * or NULL when every entry is fixed. */
static const struct prin_entry *open_principal(const struct stmt *st)
{
    for (size_t i = 0; i < st->nprins; i++) {
        const struct prin_entry *e = &st->prins[i];
        if (e->kind == PRIN_ANY || e->kind == PRIN_AWS_ANY || e->kind == PRIN_FEDERATED ||
            has_var(e->value))
            return e;
    }
    return NULL;
}

static void why_principal(struct why_buf *w, const struct prin_entry *e)
{
    int l = (int)(e->value.len > 128 ? 128 : e->value.len);
    switch (e->kind) {
    case PRIN_ANY: why_add(w, "Principal \"*\""); break;
    case PRIN_AWS_ANY: why_add(w, "Principal {\"AWS\": \"*\"}"); break;
    case PRIN_FEDERATED: why_add(w, "Federated principal \"%.*s\"", l, e->value.ptr); break;
    default: why_add(w, "principal \"%.*s\" holds a policy variable", l, e->value.ptr); break;
    }
}

/* Whether one Allow statement is public; writes why when it is. */
static bool stmt_public(const struct stmt *st, struct why_buf *w)
{
    if (st->prin_mode == PM_NOTPRINCIPAL) {
        why_stmt(w, st);
        why_add(w, "NotPrincipal in an Allow grants to everyone not listed");
        return true;
    }
    const struct prin_entry *open = NULL;
    if (st->prin_mode == PM_PRINCIPAL) {
        open = open_principal(st);
        if (!open)
            return false; /* fixed principals only */
    }
    /* an open principal: one limiting condition key is enough */
    const struct cond *fc = NULL;
    const struct cond_key *fk = NULL;
    const char *fwhy = NULL;
    struct s3w_slice fval = S3W_SLICE_NULL;
    for (size_t i = 0; i < st->nconds; i++) {
        const struct cond *c = &st->conds[i];
        for (size_t j = 0; j < c->nkeys; j++) {
            struct s3w_slice val;
            const char *why = key_not_limiting(c, &c->keys[j], &val);
            if (!why)
                return false;
            if (!fwhy) {
                fc = c;
                fk = &c->keys[j];
                fwhy = why;
                fval = val;
            }
        }
    }
    why_stmt(w, st);
    if (open)
        why_principal(w, open);
    else
        why_add(w, "no Principal");
    if (!fwhy) {
        why_add(w, " and no condition that limits it to fixed values");
        return true;
    }
    why_add(w, ", and no condition limits it to fixed values (%.*s on %.*s: %s",
            (int)(fc->op_name.len > 64 ? 64 : fc->op_name.len), fc->op_name.ptr,
            (int)(fk->key.len > 128 ? 128 : fk->key.len), fk->key.ptr, fwhy);
    if (fval.ptr)
        why_add(w, ", \"%.*s\"", (int)(fval.len > 128 ? 128 : fval.len), fval.ptr);
    why_add(w, ")");
    return true;
}

bool policy_is_public(const struct policy *p, char *why, size_t cap)
{
    struct why_buf w = { why, why ? cap : 0, 0 };
    if (w.cap)
        why[0] = '\0';
    if (!p) {
        why_add(&w, "no compiled policy");
        return true;
    }
    for (size_t i = 0; i < p->nstmts; i++)
        if (!p->stmts[i].deny && stmt_public(&p->stmts[i], &w))
            return true;
    why_add(&w, "no Allow statement is public: each names fixed principals or is limited by a "
                "condition on fixed values");
    return false;
}
