/*
 * eval.c - AWS's policy evaluation logic over compiled policies.
 *
 * IAM-SEMANTICS.md §1 (decision procedure, same-account union,
 * cross-account intersection, which principal form the resource policy
 * names decides which implicit denies still apply), §2 (principal
 * matching), §3 (NotPrincipal), §6 (principal keys).
 *
 * No allocation and no JSON here: everything read was laid out by
 * compile.c; the only working memory is on the stack.
 */
#include <string.h>

#include "policy_int.h"
#include "trace.h"

/* ---- action / resource matching ----------------------------------------- */
/* Plain glob for actions (both sides already lower-case, no variables). */
static bool glob(const char *p, size_t pn, const char *s, size_t sn)
{
    size_t pi = 0, si = 0, star_p = (size_t)-1, star_s = 0;
    while (si < sn) {
        if (pi < pn && (p[pi] == '?' || p[pi] == s[si])) {
            pi++, si++;
        } else if (pi < pn && p[pi] == '*') {
            star_p = pi++;
            star_s = si;
        } else if (star_p != (size_t)-1) {
            pi = star_p + 1;
            si = ++star_s;
        } else {
            return false;
        }
    }
    while (pi < pn && p[pi] == '*')
        pi++;
    return pi == pn;
}

#define ACTION_MAX 128

struct ereq {
    const struct policy_request *req;
    const struct policy_principal *pr;
    char action[ACTION_MAX]; /* lower-cased */
    size_t action_len;
    char first;
    size_t svclen;
    bool action_ok;
    /* whether the resource holds a byte >= 0x80: 1 or 0, -1 until the
     * first Resource entry that may fold asks (fold_may_match) */
    int8_t *res_high;
    struct policy_trace *trace; /* explain only; NULL when serving */
};

static bool action_matches(const struct stmt *s, const struct ereq *r)
{
    bool m = false;
    for (size_t i = 0; !m && i < s->nactions; i++) {
        const struct action_pat *a = &s->actions[i];
        if (!a->wild)
            m = a->text.len == r->action_len && memcmp(a->text.ptr, r->action, r->action_len) == 0;
        else
            m = glob(a->text.ptr, a->text.len, r->action, r->action_len);
    }
    return s->not_action ? !m : m;
}

/* Whether folding case beyond ASCII can match where the ASCII match did
 * not: only with a byte >= 0x80 in the pattern or the resource. */
static bool fold_may_match(const struct ereq *r, const struct pattern *p,
                           const struct pat_vars *rv)
{
    if (p->high)
        return true;
    if (*r->res_high < 0)
        *r->res_high = slice_has_high(r->req->resource);
    return *r->res_high || (p->has_var && pattern_high(p, rv));
}

static bool resource_matches(const struct stmt *s, const struct ereq *r)
{
    if (!s->has_resource)
        return false;
    bool m = false;
    for (size_t i = 0; !m && i < s->nresources; i++) {
        struct pat_vars rv;
        if (!pattern_resolve(&s->resources[i], r->req->ctx, &rv)) {
            /* A resource entry whose variable has no value matches nothing
             * (§5). Under NotResource that would widen the statement; an
             * Allow must not widen, so the whole Allow does not apply. */
            if (s->not_resource && !s->deny)
                return false;
            /* A multivalued key as a variable is undefined (§5), as is a
             * value AWS does not document (§6): a Deny's entry may match
             * anything - the reading that denies. */
            if (rv.undefined && s->deny && !s->not_resource)
                return true;
            continue;
        }
        /* Resource case sensitivity is UNCONFIRMED (§4.2): Allow matches
         * case-sensitively, Deny case-insensitively (beyond ASCII too) -
         * the reading that denies in both. Under NotResource a match
         * exempts, so the reading flips: Deny+NotResource case-sensitive,
         * Allow+NotResource case-insensitive. */
        bool widen = s->deny != s->not_resource;
        m = pattern_match(&s->resources[i], &rv, r->req->resource, widen);
        /* A `*` or `?` inside a variable's value: literal or a wildcard is
         * UNCONFIRMED (§5). The wildcard reading matches more; take it
         * where matching more denies (a Deny, an Allow's NotResource). */
        if (!m && rv.wild && widen)
            m = pattern_match_wild_values(&s->resources[i], &rv, r->req->resource, widen);
        /* Ignoring case beyond ASCII ("Σ" and "σ") is the wider reading
         * still. Tried only where it can match more: an all-ASCII request
         * and policy pay one scan of the resource, never a fold. */
        if (!m && widen && fold_may_match(r, &s->resources[i], &rv))
            m = pattern_match_fold(&s->resources[i], &rv, r->req->resource, rv.wild);
    }
    return s->not_resource ? !m : m;
}

/* ---- principal matching ---------------------------------------------------- */
static enum grant_kind entry_grant(const struct prin_entry *e, const struct policy_principal *p,
                                   const struct stmt *s)
{
    bool anon = p->type == POLICY_PRINCIPAL_ANONYMOUS;
    /* a web identity is granted by its provider's ARN alone, never by "*"
     * or an account; a Deny on "*" still reaches it (fail closed) */
    if (p->type == POLICY_PRINCIPAL_WEB_IDENTITY)
        return (e->kind == PRIN_FEDERATED && s3w_slice_eq(e->value, p->arn)) ||
                       (s->deny && (e->kind == PRIN_ANY || e->kind == PRIN_AWS_ANY))
                   ? GRANT_DIRECT : GRANT_NONE;
    switch (e->kind) {
    case PRIN_ANY:
    case PRIN_AWS_ANY:
        /* "For anonymous users, these two methods are equivalent" [S3-PRIN]:
         * {"AWS":"*"} admits unsigned requests exactly as "*" does.
         * AWS documents that a grant naming the session ARN is not limited
         * by the session policy and one naming the role is; it says nothing
         * of "*" (§1.3, §1.4). We take the reading that denies: a "*" Allow
         * reaches a caller only through its session policy and its
         * permissions boundary, as a grant to the role does - unless the
         * statement narrows it with aws:PrincipalArn, the one "*" form AWS
         * documents as not limited [PRIN "IAM role principals"]. (The
         * boundary was left out until the seventh probe: naming everyone
         * then granted more than naming the role.) */
        return s->principal_arn_cond ? GRANT_DIRECT : GRANT_ANY;
    case PRIN_ACCOUNT:
        return !anon && s3w_slice_eq(e->account, p->account) ? GRANT_ACCOUNT : GRANT_NONE;
    case PRIN_USER:
        if (p->type != POLICY_PRINCIPAL_USER)
            return GRANT_NONE;
        /* bound at load time: the id decides, as on AWS (§2) */
        if (e->bound_id.len)
            return s3w_slice_eq(e->bound_id, p->unique_id) ? GRANT_DIRECT : GRANT_NONE;
        return s3w_slice_eq(e->value, p->arn) ? GRANT_DIRECT : GRANT_NONE;
    case PRIN_USER_ID:
        return p->type == POLICY_PRINCIPAL_USER && s3w_slice_eq(e->value, p->unique_id)
                   ? GRANT_DIRECT : GRANT_NONE;
    case PRIN_ROLE:
        if (p->type != POLICY_PRINCIPAL_ROLE_SESSION)
            return GRANT_NONE;
        if (e->bound_id.len)
            return s3w_slice_eq(e->bound_id, p->unique_id) ? GRANT_ROLE : GRANT_NONE;
        return s3w_slice_eq(e->value, p->role_arn) ? GRANT_ROLE : GRANT_NONE;
    case PRIN_ROLE_ID:
        return p->type == POLICY_PRINCIPAL_ROLE_SESSION && s3w_slice_eq(e->value, p->unique_id)
                   ? GRANT_ROLE : GRANT_NONE;
    case PRIN_SESSION:
        return p->type == POLICY_PRINCIPAL_ROLE_SESSION && s3w_slice_eq(e->value, p->arn)
                   ? GRANT_DIRECT : GRANT_NONE;
    case PRIN_FEDERATED_USER:
        return p->type == POLICY_PRINCIPAL_FEDERATED && s3w_slice_eq(e->value, p->arn)
                   ? GRANT_DIRECT : GRANT_NONE;
    case PRIN_CANONICAL:
        return p->canonical_id.len && s3w_slice_eq(e->value, p->canonical_id) ? GRANT_ACCOUNT
                                                                              : GRANT_NONE;
    default:
        return GRANT_NONE; /* Service / Federated: only web identities, above */
    }
}

static bool lists(const struct stmt *s, uint8_t kind, struct s3w_slice v, bool by_account)
{
    for (size_t i = 0; i < s->nprins; i++) {
        const struct prin_entry *e = &s->prins[i];
        if (e->kind != kind)
            continue;
        if (by_account ? s3w_slice_eq(e->account, v) : s3w_slice_eq(e->value, v))
            return true;
    }
    return false;
}

/* NotPrincipal lists this user/role: by bound unique id when the entry has
 * one (§2), else by ARN. */
static bool lists_entity(const struct stmt *s, uint8_t kind, struct s3w_slice arn,
                         struct s3w_slice unique_id)
{
    for (size_t i = 0; i < s->nprins; i++) {
        const struct prin_entry *e = &s->prins[i];
        if (e->kind != kind)
            continue;
        if (e->bound_id.len ? s3w_slice_eq(e->bound_id, unique_id) : s3w_slice_eq(e->value, arn))
            return true;
    }
    return false;
}

/*
 * Is the caller exempt from a Deny + NotPrincipal statement? (§3)
 * AWS's own example exempts a role session only when NotPrincipal lists the
 * assumed-role ARN, the role ARN and the account; whether fewer entries
 * suffice is UNCONFIRMED, so we require all three (seed 002), and the user
 * ARN plus the account for an IAM user. Anyone with a permissions boundary
 * is never exempt ([NOTP-cur] "Key points").
 */
static bool notprincipal_exempts(const struct stmt *s, const struct policy_principal *p)
{
    bool anon = p->type == POLICY_PRINCIPAL_ANONYMOUS;
    if (p->has_boundary && (p->type == POLICY_PRINCIPAL_USER ||
                            p->type == POLICY_PRINCIPAL_ROLE_SESSION ||
                            p->type == POLICY_PRINCIPAL_FEDERATED))
        return false;
    /* "*" and {"AWS":"*"} are equivalent for anonymous callers [S3-PRIN] */
    for (size_t i = 0; i < s->nprins; i++)
        if (s->prins[i].kind == PRIN_ANY || s->prins[i].kind == PRIN_AWS_ANY)
            return true;
    if (anon)
        return false;
    bool acct = lists(s, PRIN_ACCOUNT, p->account, true);
    if (!acct)
        return false;
    switch (p->type) {
    case POLICY_PRINCIPAL_ROOT:
        return true;
    case POLICY_PRINCIPAL_USER:
        return lists_entity(s, PRIN_USER, p->arn, p->unique_id) ||
               lists(s, PRIN_USER_ID, p->unique_id, false);
    case POLICY_PRINCIPAL_ROLE_SESSION:
        return (lists_entity(s, PRIN_ROLE, p->role_arn, p->unique_id) ||
                lists(s, PRIN_ROLE_ID, p->unique_id, false)) &&
               lists(s, PRIN_SESSION, p->arn, false);
    case POLICY_PRINCIPAL_FEDERATED:
        return lists(s, PRIN_FEDERATED_USER, p->arn, false);
    default:
        return false;
    }
}

/* Returns the grant kind (GRANT_NONE = statement does not apply to caller). */
static enum grant_kind principal_grant(const struct stmt *s, const struct policy_principal *p)
{
    if (s->prin_mode == PM_NONE)
        return GRANT_DIRECT;
    if (s->prin_mode == PM_PRINCIPAL) {
        enum grant_kind best = GRANT_NONE;
        for (size_t i = 0; i < s->nprins && best != GRANT_DIRECT; i++) {
            enum grant_kind g = entry_grant(&s->prins[i], p, s);
            if (g > best)
                best = g;
        }
        return best;
    }
    if (s->deny)
        return notprincipal_exempts(s, p) ? GRANT_NONE : GRANT_DIRECT;
    /* Allow + NotPrincipal (a warning at load time): applies to callers no
     * entry names at all, and only as a delegation (the identity side must
     * still allow): never to anonymous callers - the reading that denies. */
    if (p->type == POLICY_PRINCIPAL_ANONYMOUS)
        return GRANT_NONE;
    for (size_t i = 0; i < s->nprins; i++)
        if (entry_grant(&s->prins[i], p, s) != GRANT_NONE)
            return GRANT_NONE;
    return GRANT_ACCOUNT;
}

/* ---- one policy ------------------------------------------------------------ */
struct refs {
    struct policy_stmt_ref r[POLICY_MAX_DECIDING];
    size_t n, total;
};

static void add_ref(struct refs *rf, const struct policy *pol, const struct stmt *s,
                    enum policy_source src)
{
    rf->total++;
    if (rf->n == POLICY_MAX_DECIDING)
        return;
    rf->r[rf->n++] = (struct policy_stmt_ref){ .policy = pol->name, .sid = s->sid,
                                               .index = s->index, .deny = s->deny,
                                               .source = src };
}

struct pol_out {
    bool allow, deny;
    enum grant_kind grant; /* strongest Allow grant (resource policies) */
};

/* true when the statement applies to the request. Inlined into both of its
 * callers: the serving path must not pay a call per statement because
 * explain's trace_policy calls it too. */
static inline __attribute__((always_inline)) bool eval_stmt(const struct policy *pol, const struct stmt *s, enum policy_source src,
                      const struct ereq *r, struct pol_out *o, struct refs *denies,
                      struct refs *allows)
{
    if (!action_matches(s, r))
        return false;
    enum grant_kind g = principal_grant(s, r->pr);
    if (g == GRANT_NONE)
        return false;
    if (!resource_matches(s, r))
        return false;
    for (size_t i = 0; i < s->nconds; i++)
        if (!cond_eval(&s->conds[i], r->req->ctx, s->deny))
            return false;
    if (s->deny) {
        o->deny = true;
        add_ref(denies, pol, s, src);
    } else {
        o->allow = true;
        if (g > o->grant)
            o->grant = g;
        add_ref(allows, pol, s, src);
    }
    return true;
}

/* Why a statement eval_stmt refused does not apply: the first element that
 * failed, in eval_stmt's order (explain only). */
static void why_not(const struct stmt *s, const struct ereq *r, struct policy_trace_entry *e)
{
    if (!action_matches(s, r)) {
        e->why = s->not_action ? POLICY_TRACE_NOTACTION : POLICY_TRACE_ACTION;
    } else if (principal_grant(s, r->pr) == GRANT_NONE) {
        e->why = s->prin_mode == PM_NOTPRINCIPAL ? POLICY_TRACE_NOTPRINCIPAL : POLICY_TRACE_PRINCIPAL;
    } else if (!resource_matches(s, r)) {
        e->why = s->not_resource ? POLICY_TRACE_NOTRESOURCE : POLICY_TRACE_RESOURCE;
    } else {
        e->why = POLICY_TRACE_CONDITION;
        for (size_t i = 0; i < s->nconds; i++) {
            const struct cond_key *k = cond_failing_key(&s->conds[i], r->req->ctx, s->deny);
            if (k) {
                e->cond = (uint16_t)i;
                e->key = (uint16_t)(k - s->conds[i].keys);
                break;
            }
        }
    }
}

/* explain: every statement in document order (the action index only skips
 * statements that cannot match), each recorded with why it did not apply */
static void trace_policy(const struct policy *pol, enum policy_source src, const struct ereq *r,
                         struct pol_out *o, struct refs *denies, struct refs *allows)
{
    for (size_t i = 0; i < pol->nstmts; i++) {
        const struct stmt *s = &pol->stmts[i];
        struct policy_trace_entry e = { .policy = pol, .source = src, .stmt = (unsigned)i,
                                        .why = POLICY_TRACE_MATCHED };
        if (!eval_stmt(pol, s, src, r, o, denies, allows))
            why_not(s, r, &e);
        policy_trace_add(r->trace, &e);
    }
}

static const struct action_bucket *find_bucket(const struct policy *pol, const struct ereq *r)
{
    size_t lo = 0, hi = pol->nbuckets;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const struct action_bucket *b = &pol->buckets[mid];
        size_t n = b->svclen < r->svclen ? b->svclen : r->svclen;
        int c = memcmp(b->svc, r->action, n);
        if (!c && b->svclen != r->svclen)
            c = b->svclen < r->svclen ? -1 : 1;
        if (!c)
            c = (unsigned char)b->first - (unsigned char)r->first;
        if (!c)
            return b;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static void eval_policy(const struct policy *pol, enum policy_source src, const struct ereq *r,
                        struct pol_out *o, struct refs *denies, struct refs *allows)
{
    memset(o, 0, sizeof(*o));
    if (!pol)
        return;
    if (r->trace) {
        trace_policy(pol, src, r, o, denies, allows);
        return;
    }
    if (r->action_ok) {
        const struct action_bucket *b = find_bucket(pol, r);
        for (size_t i = 0; b && i < b->n; i++)
            eval_stmt(pol, &pol->stmts[b->stmts[i]], src, r, o, denies, allows);
    }
    /* `always` holds NotAction and leading-wildcard statements; they are
     * checked even for an action we could not index */
    for (size_t i = 0; i < pol->nalways; i++)
        eval_stmt(pol, &pol->stmts[pol->always[i]], src, r, o, denies, allows);
}

/* ---- the decision ----------------------------------------------------------- */
static void finish(struct policy_result *res, enum policy_decision d, enum policy_source src,
                   const struct refs *rf)
{
    res->decision = d;
    res->source = src;
    if (rf) {
        memcpy(res->deciding, rf->r, rf->n * sizeof(rf->r[0]));
        res->ndeciding = rf->n;
        res->ndeciding_total = rf->total;
    }
}

/* Whether the action is "service:Name"; lays out in r its lower-cased form
 * and the key (service, first letter of the name) of its statement bucket. */
static bool prepare_action(struct ereq *r, const struct policy_request *req)
{
    r->req = req;
    r->pr = req->principal;
    r->action_ok = false;
    r->action_len = 0;
    if (req->action.len < ACTION_MAX) {
        for (size_t i = 0; i < req->action.len; i++) {
            char ch = req->action.ptr[i];
            r->action[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
        }
        r->action_len = req->action.len;
        const char *colon = memchr(r->action, ':', r->action_len);
        if (colon && colon > r->action && (size_t)(colon - r->action) + 1 < r->action_len) {
            r->svclen = (size_t)(colon - r->action);
            r->first = colon[1];
            r->action_ok = true;
        }
    }
    return r->action_ok;
}

/* What each kind of policy said (step 1): the explicit deny, first source
 * in evaluation order, and the allows and limits the later steps weigh. */
struct verdicts {
    bool deny;
    enum policy_source deny_src;
    bool guard_ok;      /* every guardrail policy allows */
    struct pol_out rbp; /* the resource policy */
    bool id_allow;      /* some identity policy allows (or the root user) */
    bool bnd_ok;        /* every permissions boundary allows */
    bool ses_ok;        /* the session policy allows, or there is none */
};

static void note_deny(struct verdicts *v, const struct pol_out *o, enum policy_source src)
{
    if (o->deny && !v->deny)
        v->deny = true, v->deny_src = src;
}

/* The principal's side of step 1: identity policies, boundaries and the
 * session policy. An anonymous caller has none of them. */
static void eval_principal_side(const struct policy_set *set, const struct ereq *r,
                                struct verdicts *v, struct refs *denies, struct refs *allows)
{
    struct pol_out o;
    for (size_t i = 0; i < set->nidentity; i++) {
        eval_policy(set->identity[i], POLICY_SRC_IDENTITY, r, &o, denies, allows);
        v->id_allow = v->id_allow || o.allow;
        note_deny(v, &o, POLICY_SRC_IDENTITY);
    }
    /* The account root user has full access in its own account [EL]. */
    if (r->pr->type == POLICY_PRINCIPAL_ROOT)
        v->id_allow = true;
    for (size_t i = 0; i < set->nboundary; i++) {
        eval_policy(set->boundary[i], POLICY_SRC_BOUNDARY, r, &o, denies, allows);
        v->bnd_ok = v->bnd_ok && o.allow;
        note_deny(v, &o, POLICY_SRC_BOUNDARY);
    }
    if (set->session) {
        eval_policy(set->session, POLICY_SRC_SESSION, r, &o, denies, allows);
        v->ses_ok = o.allow;
        note_deny(v, &o, POLICY_SRC_SESSION);
    } else if (r->pr->type == POLICY_PRINCIPAL_FEDERATED) {
        /* GetFederationToken without a session policy grants nothing [EL] */
        v->ses_ok = false;
    }
}

/* Step 1: every policy in the set is evaluated; an explicit deny anywhere
 * wins, and the Allows are gathered as we go. */
static void gather_verdicts(const struct policy_set *set, const struct ereq *r, bool anon,
                            struct verdicts *v, struct refs *denies, struct refs *allows)
{
    struct pol_out o;
    v->deny = false;
    v->deny_src = POLICY_SRC_NONE;
    v->guard_ok = true;
    v->id_allow = false;
    v->bnd_ok = true;
    v->ses_ok = true;
    for (size_t i = 0; i < set->nguardrails; i++) {
        eval_policy(set->guardrails[i], POLICY_SRC_GUARDRAIL, r, &o, denies, allows);
        /* every guardrail policy must allow, as every SCP level must [EL] */
        v->guard_ok = v->guard_ok && o.allow;
        note_deny(v, &o, POLICY_SRC_GUARDRAIL);
    }
    eval_policy(set->resource, POLICY_SRC_RESOURCE, r, &v->rbp, denies, allows);
    note_deny(v, &v->rbp, POLICY_SRC_RESOURCE);
    if (!anon)
        eval_principal_side(set, r, v, denies, allows);
}

/* The policy kind to blame when the principal's side does not allow. */
static enum policy_source identity_blame(const struct verdicts *v)
{
    return !v->id_allow ? POLICY_SRC_IDENTITY
           : !v->bnd_ok ? POLICY_SRC_BOUNDARY
                        : POLICY_SRC_SESSION;
}

/* Anonymous: only a resource policy naming everyone can allow (GRANT_ANY;
 * no session policy limits an unsigned caller). */
static void decide_anonymous(const struct verdicts *v, const struct refs *allows,
                             struct policy_result *res)
{
    if (v->rbp.grant >= GRANT_ANY)
        finish(res, POLICY_ALLOWED, POLICY_SRC_NONE, allows);
    else
        finish(res, POLICY_IMPLICIT_DENY, POLICY_SRC_RESOURCE, NULL);
}

/* §1.2/§1.3 same account: union; what the resource policy named decides
 * which implicit denies still cut its Allow. */
static void decide_same_account(const struct verdicts *v, const struct refs *allows,
                                struct policy_result *res)
{
    const enum grant_kind g = v->rbp.grant;
    bool identity_side = v->id_allow && v->bnd_ok && v->ses_ok;
    if (g == GRANT_DIRECT || ((g == GRANT_ROLE || g == GRANT_ANY) && v->bnd_ok && v->ses_ok) ||
        identity_side) {
        finish(res, POLICY_ALLOWED, POLICY_SRC_NONE, allows);
        return;
    }
    /* the bucket policy granted the role or everyone: blame what cut
     * the grant */
    enum policy_source src = identity_blame(v);
    if (g == GRANT_ROLE || g == GRANT_ANY)
        src = !v->bnd_ok ? POLICY_SRC_BOUNDARY : POLICY_SRC_SESSION;
    finish(res, POLICY_IMPLICIT_DENY, src, NULL);
}

/* §1.5 cross-account: both the resource policy and the principal's own
 * account (identity policies and their limits) must allow. An account
 * principal delegates: the identity side must grant (seed 004). */
static void decide_cross_account(const struct verdicts *v, const struct refs *allows,
                                 struct policy_result *res)
{
    if (v->rbp.grant == GRANT_NONE)
        finish(res, POLICY_IMPLICIT_DENY, POLICY_SRC_RESOURCE, NULL);
    else if (!(v->id_allow && v->bnd_ok && v->ses_ok))
        finish(res, POLICY_IMPLICIT_DENY, identity_blame(v), NULL);
    else
        finish(res, POLICY_ALLOWED, POLICY_SRC_NONE, allows);
}

/* One body for both entry points, inlined into each: policy_evaluate's
 * copy has trace == NULL as a constant. */
static inline __attribute__((always_inline)) int evaluate(const struct policy_set *set,
                                                           const struct policy_request *req,
                                                           struct policy_result *res,
                                                           struct policy_trace *trace)
{
    struct ereq r;
    int8_t res_high = -1;
    struct refs denies, allows; /* only n/total need zeroing (hot path) */
    struct verdicts v;

    if (!res)
        return POLICY_E_ARG;
    res->decision = POLICY_IMPLICIT_DENY;
    res->source = POLICY_SRC_NONE;
    res->ndeciding = res->ndeciding_total = 0;
    denies.n = denies.total = allows.n = allows.total = 0;
    if (!set || !req || !req->principal)
        return POLICY_E_ARG;
    if (!prepare_action(&r, req))
        return POLICY_E_ARG; /* not "service:Name": deny (res is zeroed) */
    r.res_high = &res_high;
    r.trace = trace;
    if (trace)
        trace->req = req;

    const struct policy_principal *p = req->principal;
    bool anon = p->type == POLICY_PRINCIPAL_ANONYMOUS;
    gather_verdicts(set, &r, anon, &v, &denies, &allows);

    /* Step 2/3: no explicit deny; then the guardrails must allow (RCP/SCP). */
    if (v.deny)
        finish(res, POLICY_EXPLICIT_DENY, v.deny_src, &denies);
    else if (!v.guard_ok)
        finish(res, POLICY_IMPLICIT_DENY, POLICY_SRC_GUARDRAIL, NULL);
    else if (anon)
        decide_anonymous(&v, &allows, res);
    else if (p->account.len && s3w_slice_eq(p->account, req->resource_account))
        decide_same_account(&v, &allows, res);
    else
        decide_cross_account(&v, &allows, res);
    return POLICY_OK;
}

int policy_evaluate(const struct policy_set *set, const struct policy_request *req,
                    struct policy_result *res)
{
    return evaluate(set, req, res, NULL);
}

int policy_evaluate_traced(const struct policy_set *set, const struct policy_request *req,
                           struct policy_result *res, struct policy_trace *trace)
{
    return evaluate(set, req, res, trace);
}

const char *policy_decision_name(enum policy_decision d)
{
    switch (d) {
    case POLICY_ALLOWED: return "Allowed";
    case POLICY_EXPLICIT_DENY: return "ExplicitlyDenied";
    default: return "ImplicitlyDenied";
    }
}

/* ---- principal context keys (§6) ------------------------------------------ */
int policy_context_set_principal(struct policy_context *ctx, const struct policy_principal *p,
                                 char *scratch, size_t scratch_cap)
{
    if (!ctx || !p)
        return POLICY_E_ARG;
    int rc = 0;
#define SET(k, v) rc |= policy_context_set(ctx, S3W_SLICE_LIT(k), (v))
    switch (p->type) {
    case POLICY_PRINCIPAL_ANONYMOUS:
        /* aws:userid / aws:PrincipalType values for anonymous callers are
         * UNCONFIRMED (§2, §6); secondary sources say "anonymous" /
         * "Anonymous". Present, but a comparison takes the reading that
         * denies. */
        SET("aws:PrincipalAccount", S3W_SLICE_LIT("anonymous"));
        SET("aws:userid", S3W_SLICE_LIT("anonymous"));
        SET("aws:PrincipalType", S3W_SLICE_LIT("Anonymous"));
        policy_context_mark_unsure(ctx, S3W_SLICE_LIT("aws:userid"));
        policy_context_mark_unsure(ctx, S3W_SLICE_LIT("aws:PrincipalType"));
        break;
    case POLICY_PRINCIPAL_ROOT:
        SET("aws:PrincipalArn", p->arn);
        SET("aws:PrincipalAccount", p->account);
        SET("aws:userid", p->account);
        SET("aws:PrincipalType", S3W_SLICE_LIT("Account"));
        break;
    case POLICY_PRINCIPAL_USER:
        SET("aws:PrincipalArn", p->arn);
        SET("aws:PrincipalAccount", p->account);
        SET("aws:userid", p->unique_id);
        SET("aws:username", p->username);
        SET("aws:PrincipalType", S3W_SLICE_LIT("User"));
        break;
    case POLICY_PRINCIPAL_ROLE_SESSION:
    case POLICY_PRINCIPAL_FEDERATED: {
        bool role = p->type == POLICY_PRINCIPAL_ROLE_SESSION;
        /* role session: ROLEID:session [IDS]; federated: account:name [STS-EX] */
        struct s3w_slice head = role ? p->unique_id : p->account;
        size_t need = head.len + 1 + p->session_name.len;
        if (!scratch || need > scratch_cap)
            return POLICY_E_TOOBIG;
        memcpy(scratch, head.ptr, head.len);
        scratch[head.len] = ':';
        memcpy(scratch + head.len + 1, p->session_name.ptr, p->session_name.len);
        SET("aws:PrincipalArn", role ? p->role_arn : p->arn);
        SET("aws:PrincipalAccount", p->account);
        SET("aws:userid", s3w_slice(scratch, need));
        SET("aws:PrincipalType", role ? S3W_SLICE_LIT("AssumedRole") : S3W_SLICE_LIT("FederatedUser"));
        break;
    }
    case POLICY_PRINCIPAL_WEB_IDENTITY:
        return POLICY_E_ARG; /* the STS sets a web identity's keys itself */
    }
#undef SET
    rc |= policy_context_set_fixed(ctx, p->type != POLICY_PRINCIPAL_ANONYMOUS);
    return rc ? POLICY_E_ARG : POLICY_OK;
}
