/*
 * trace.c - the evaluation trace (trace.h): recording, and the words that
 * say why a statement did not apply. Only explain/replay come here; the
 * serving path never does.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "policy_int.h"
#include "trace.h"

void policy_trace_init(struct policy_trace *t, struct policy_trace_entry *entries, size_t cap)
{
    memset(t, 0, sizeof(*t));
    t->entries = entries;
    t->cap = entries ? cap : 0;
}

void policy_trace_add(struct policy_trace *t, const struct policy_trace_entry *e)
{
    if (t->n < t->cap)
        t->entries[t->n++] = *e;
    else
        t->dropped++;
}

const char *policy_trace_why_name(enum policy_trace_why w)
{
    switch (w) {
    case POLICY_TRACE_MATCHED: return "matched";
    case POLICY_TRACE_ACTION: return "action";
    case POLICY_TRACE_NOTACTION: return "notaction";
    case POLICY_TRACE_PRINCIPAL: return "principal";
    case POLICY_TRACE_NOTPRINCIPAL: return "notprincipal";
    case POLICY_TRACE_RESOURCE: return "resource";
    case POLICY_TRACE_NOTRESOURCE: return "notresource";
    case POLICY_TRACE_CONDITION: return "condition";
    }
    return "?";
}

static const struct stmt *entry_stmt(const struct policy_trace_entry *e)
{
    return e->policy && e->stmt < e->policy->nstmts ? &e->policy->stmts[e->stmt] : NULL;
}

void policy_trace_statement(const struct policy_trace_entry *e, struct policy_trace_stmt *out)
{
    const struct stmt *s = entry_stmt(e);
    *out = (struct policy_trace_stmt){ .policy = e->policy ? e->policy->name : "?",
                                       .sid = s ? s->sid : NULL, .index = e->stmt,
                                       .deny = s && s->deny };
}

static const struct cond *entry_cond(const struct policy_trace_entry *e)
{
    const struct stmt *s = entry_stmt(e);
    if (!s || e->why != POLICY_TRACE_CONDITION || e->cond >= s->nconds)
        return NULL;
    const struct cond *c = &s->conds[e->cond];
    return e->key < c->nkeys ? c : NULL;
}

bool policy_trace_condition(const struct policy_trace_entry *e, struct s3w_slice *op,
                            struct s3w_slice *key)
{
    const struct cond *c = entry_cond(e);
    if (!c)
        return false;
    *op = c->op_name;
    *key = c->keys[e->key].key;
    return true;
}

/* ---- text ------------------------------------------------------------------ */
struct out {
    char *buf;
    size_t cap, len; /* len: untruncated */
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = o->len < o->cap ? o->cap - o->len : 0;
    int n = vsnprintf(room ? o->buf + o->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->len += (size_t)n;
}

static void put_quoted(struct out *o, struct s3w_slice s)
{
    put(o, "\"%.*s\"", (int)s.len, s.ptr);
}

/* At most this many values are listed; the rest are counted. */
#define LIST_MAX 8

static void put_more(struct out *o, size_t n)
{
    if (n > LIST_MAX)
        put(o, ", ... %zu more", n - LIST_MAX);
}

static void put_actions(struct out *o, const struct stmt *s)
{
    put(o, "[");
    for (size_t i = 0; i < s->nactions && i < LIST_MAX; i++) {
        put(o, "%s", i ? ", " : "");
        put_quoted(o, s->actions[i].text);
    }
    put_more(o, s->nactions);
    put(o, "]");
}

static void put_patterns(struct out *o, const struct pattern *p, size_t n)
{
    put(o, "[");
    for (size_t i = 0; i < n && i < LIST_MAX; i++) {
        put(o, "%s", i ? ", " : "");
        put_quoted(o, p[i].raw);
    }
    put_more(o, n);
    put(o, "]");
}

/* Resource entries whose policy variable has no value in the request
 * (they match nothing, IAM-SEMANTICS.md §5). */
static void put_unresolved(struct out *o, const struct pattern *p, size_t n,
                           const struct policy_context *ctx)
{
    for (size_t i = 0; i < n; i++) {
        struct pat_vars rv;
        if (pattern_resolve(&p[i], ctx, &rv))
            continue;
        for (size_t k = 0; k < p[i].ntoks; k++) {
            if (p[i].toks[k].kind != TOK_VAR)
                continue;
            const struct policy_ctx_entry *e = ctx ? policy_context_get(ctx, p[i].toks[k].text) : NULL;
            if (e && e->unsure) {
                put(o, "; AWS does not document the value of ${%.*s} for this caller: read the "
                       "way that denies", (int)p[i].toks[k].text.len, p[i].toks[k].text.ptr);
                return;
            }
            if (e && e->multi && e->nvalues) {
                put(o, "; ${%.*s} is multivalued, which AWS does not define as a variable: read "
                       "the way that denies", (int)p[i].toks[k].text.len, p[i].toks[k].text.ptr);
                return;
            }
            if (!e && !p[i].toks[k].has_default) {
                put(o, "; ${%.*s} has no value in the request", (int)p[i].toks[k].text.len,
                    p[i].toks[k].text.ptr);
                return;
            }
        }
    }
}

/* A variable whose value holds `*` or `?` in a pattern that takes
 * wildcards: whether they are wildcards is UNCONFIRMED (IAM-SEMANTICS.md
 * §5), and the statement was read the way that denies. */
static bool put_wild_value(struct out *o, const char *sep, const struct pattern *p,
                           const struct policy_context *ctx)
{
    struct pat_vars rv;
    if (!p->like || !p->has_var || !pattern_resolve(p, ctx, &rv) || !rv.wild)
        return false;
    for (size_t k = 0, vi = 0; k < p->ntoks; k++) {
        if (p->toks[k].kind != TOK_VAR)
            continue;
        struct s3w_slice v = rv.v[vi++];
        if (!v.len || (!memchr(v.ptr, '*', v.len) && !memchr(v.ptr, '?', v.len)))
            continue;
        put(o, "%s the value of ${%.*s} holds '*' or '?': whether they are wildcards is "
               "unconfirmed, read the way that denies",
            sep, (int)p->toks[k].text.len, p->toks[k].text.ptr);
        return true;
    }
    return false;
}

static void put_wild_values(struct out *o, const struct pattern *p, size_t n,
                            const struct policy_context *ctx)
{
    for (size_t i = 0; i < n; i++)
        if (put_wild_value(o, ";", &p[i], ctx))
            return;
}

/* An Allow's NotResource lists the resource only when case is folded
 * beyond ASCII ("Ä" and "ä"): whether Resource ignores case is UNCONFIRMED
 * (IAM-SEMANTICS.md §4.2), and eval.c read it the way that denies. */
static void put_fold(struct out *o, const struct stmt *s, struct s3w_slice resource,
                     const struct policy_context *ctx)
{
    bool fold = false;
    if (s->deny || !s->not_resource)
        return;
    for (size_t i = 0; i < s->nresources; i++) {
        const struct pattern *p = &s->resources[i];
        struct pat_vars rv;
        if (!pattern_resolve(p, ctx, &rv))
            continue;
        if (pattern_match(p, &rv, resource, true) ||
            (rv.wild && pattern_match_wild_values(p, &rv, resource, true)))
            return; /* listed without folding beyond ASCII */
        fold = fold || pattern_match_fold(p, &rv, resource, rv.wild);
    }
    if (fold)
        put(o, "; listed only when case is ignored beyond ASCII: whether Resource ignores "
               "case is unconfirmed, read the way that denies");
}

/* A Deny with NotResource applies when no entry exempts the resource; it
 * does so only through a reading IAM-SEMANTICS.md leaves UNCONFIRMED when an
 * entry would exempt it with case ignored (§4.2), with a variable's '*' or
 * '?' as wildcards, or names a variable with no value (§5). Says which. */
static void put_deny_notresource_reading(struct out *o, const struct stmt *s,
                                         struct s3w_slice resource,
                                         const struct policy_context *ctx)
{
    for (size_t i = 0; i < s->nresources; i++) {
        const struct pattern *p = &s->resources[i];
        struct pat_vars rv;
        if (!pattern_resolve(p, ctx, &rv)) {
            put(o, "; NotResource ");
            put_quoted(o, p->raw);
            put(o, " names a variable with no one value in the request, so it exempts nothing "
                   "(read the way that denies)");
            return;
        }
        /* case first, with a variable's '*' and '?' as text (probe 30: a
         * wildcard value was named as case) */
        if (pattern_match(p, &rv, resource, true) || pattern_match_fold(p, &rv, resource, false)) {
            put(o, "; NotResource ");
            put_quoted(o, p->raw);
            put(o, " lists it only when case is ignored: whether Resource ignores case is "
                   "unconfirmed, read the way that denies");
            return;
        }
        if (rv.wild && (pattern_match_wild_values(p, &rv, resource, true) ||
                        pattern_match_fold(p, &rv, resource, true))) {
            put(o, "; NotResource ");
            put_quoted(o, p->raw);
            put(o, " lists it only with wildcards in a variable's value:");
            put_wild_value(o, "", p, ctx);
            return;
        }
    }
}

/* A Deny whose Resource lists the resource only through a reading that
 * IAM-SEMANTICS.md leaves UNCONFIRMED (eval.c resource_matches: a
 * variable's '*' or '?' read as wildcards, case ignored (§4.2), a variable
 * with no one value): says which, after "applies". */
static void put_deny_reading(struct out *o, const struct stmt *s, struct s3w_slice resource,
                             const struct policy_context *ctx)
{
    if (!s->deny || !s->has_resource)
        return;
    if (s->not_resource) {
        put_deny_notresource_reading(o, s, resource, ctx);
        return;
    }
    const struct pattern *wild = NULL, *ascii = NULL, *fold = NULL, *undef = NULL;
    for (size_t i = 0; i < s->nresources; i++) {
        const struct pattern *p = &s->resources[i];
        struct pat_vars rv;
        if (!pattern_resolve(p, ctx, &rv)) {
            if (rv.undefined && !undef)
                undef = p;
            continue;
        }
        if (pattern_match(p, &rv, resource, false))
            return; /* listed as written */
        if (!ascii && pattern_match(p, &rv, resource, true))
            ascii = p;
        else if (!wild && rv.wild && pattern_match_wild_values(p, &rv, resource, true))
            wild = p;
        else if (!fold && pattern_match_fold(p, &rv, resource, rv.wild))
            fold = p;
    }
    if (undef) {
        put(o, "; Resource ");
        put_quoted(o, undef->raw);
        put(o, " names a variable with no one value (a multivalued key, or a value AWS does "
               "not document): unconfirmed, read the way that denies");
    } else if (wild) {
        put(o, "; Resource: ");
        put_quoted(o, resource);
        put(o, " is listed only with wildcards in a variable's value:");
        put_wild_value(o, "", wild, ctx);
    } else if (ascii || fold) {
        put(o, "; Resource: ");
        put_quoted(o, resource);
        put(o, ascii ? " is listed only when case is ignored: whether Resource ignores case is "
                       "unconfirmed, read the way that denies"
                     : " is listed only when case is ignored beyond ASCII: whether Resource "
                       "ignores case is unconfirmed, read the way that denies");
    }
}

static void explain_condition(struct out *o, const struct stmt *s, const struct cond *c,
                              const struct cond_key *k, const struct policy_context *ctx);

/* A Deny whose Condition holds only in the reading that denies (cond_eval
 * with the Allow side's reading fails it: a wildcard in a variable's value,
 * a value AWS does not define, an undocumented context value, ForAnyValue
 * with a negated operator): names the first such key and why (probe 30). */
static void put_deny_condition_reading(struct out *o, const struct stmt *s,
                                       const struct policy_context *ctx)
{
    if (!s->deny || !ctx)
        return;
    for (size_t i = 0; i < s->nconds; i++) {
        const struct cond *c = &s->conds[i];
        const struct cond_key *k = cond_failing_key(c, ctx, false);
        if (!k)
            continue; /* holds in either reading */
        put(o, "; Condition ");
        size_t from = o->len;
        explain_condition(o, s, c, k, ctx);
        /* said already by most of explain_condition's texts */
        if (from >= o->cap || !strstr(o->buf + from, "that denies"))
            put(o, "; but it holds in the reading that denies, which a Deny takes where AWS "
                   "leaves the point unconfirmed");
        return;
    }
}

static const char *prin_kind_name(uint8_t k)
{
    switch (k) {
    case PRIN_ANY: return "*";
    case PRIN_AWS_ANY: return "AWS";
    case PRIN_SERVICE: return "Service";
    case PRIN_FEDERATED: return "Federated";
    case PRIN_CANONICAL: return "CanonicalUser";
    default: return "AWS";
    }
}

static void put_principals(struct out *o, const struct stmt *s)
{
    put(o, "[");
    for (size_t i = 0; i < s->nprins && i < LIST_MAX; i++) {
        const struct prin_entry *e = &s->prins[i];
        put(o, "%s", i ? ", " : "");
        if (e->kind == PRIN_ANY) {
            put(o, "\"*\"");
            continue;
        }
        put(o, "%s:", prin_kind_name(e->kind));
        put_quoted(o, e->value.len ? e->value : S3W_SLICE_LIT("*"));
        if (e->bound_id.len)
            put(o, " (unique id %.*s)", (int)e->bound_id.len, e->bound_id.ptr);
    }
    put_more(o, s->nprins);
    put(o, "]");
}

static void put_caller(struct out *o, const struct policy_request *req)
{
    const struct policy_principal *p = req ? req->principal : NULL;
    if (!p || p->type == POLICY_PRINCIPAL_ANONYMOUS) {
        put(o, "anonymous");
        return;
    }
    put(o, "%.*s", (int)p->arn.len, p->arn.ptr);
    if (p->unique_id.len)
        put(o, " (unique id %.*s)", (int)p->unique_id.len, p->unique_id.ptr);
}

static void put_request_values(struct out *o, const struct policy_ctx_entry *ce)
{
    put(o, "[");
    for (size_t i = 0; i < ce->nvalues && i < LIST_MAX; i++) {
        put(o, "%s", i ? ", " : "");
        put_quoted(o, ce->values[i]);
    }
    put_more(o, ce->nvalues);
    put(o, "]");
}

static void put_policy_values(struct out *o, const struct cond_key *k)
{
    put(o, "[");
    for (size_t i = 0; i < k->nvals && i < LIST_MAX; i++) {
        put(o, "%s", i ? ", " : "");
        put_quoted(o, k->vals[i].pat.raw);
    }
    put_more(o, k->nvals);
    put(o, "]");
}

/* Why the operator cannot read a request value (an indeterminate comparison:
 * the statement takes the reading that denies), or NULL when it can. */
static const char *unreadable(const struct cond *c, struct s3w_slice v)
{
    static const char cannot[] = "cannot be read by the operator";
    struct policy_number n;
    int64_t ms;
    uint8_t ip[16], fam, pfx;
    switch (c->family) {
    case FAM_NUMERIC:
        switch (policy_parse_number(v, &n)) {
        case POLICY_NUM_PLAIN: return NULL;
        case POLICY_NUM_UNDEFINED:
            /* §4.5 UNCONFIRMED: "+0500" is not read as 500 */
            return "has a sign or leading zeros, which AWS does not define, so the operator "
                   "cannot read it";
        case POLICY_NUM_INVALID: return cannot;
        }
        return cannot;
    case FAM_DATE: return policy_parse_date(v, &ms) ? NULL : cannot;
    case FAM_BOOL:
        return s3w_slice_eq_nocase(v, S3W_SLICE_LIT("true")) ||
                       s3w_slice_eq_nocase(v, S3W_SLICE_LIT("false"))
                   ? NULL
                   : cannot;
    case FAM_IP: return policy_parse_cidr(v, false, ip, &fam, &pfx) ? NULL : cannot;
    default: return NULL;
    }
}

static void explain_condition(struct out *o, const struct stmt *s, const struct cond *c,
                              const struct cond_key *k, const struct policy_context *ctx)
{
    const struct policy_ctx_entry *ce = ctx ? policy_context_get(ctx, k->key) : NULL;
    bool empty = !ce || ce->nvalues == 0 || (ce->nvalues == 1 && ce->values[0].len == 0);
    put(o, "%.*s ", (int)c->op_name.len, c->op_name.ptr);
    put_quoted(o, k->key);
    put(o, ": ");
    if (c->family == FAM_NULL) {
        put(o, "the key is %s in the request, policy wants Null ", empty ? "absent" : "present");
        put_policy_values(o, k);
        return;
    }
    if (c->set == SET_FORANY && empty) {
        put(o, "the key is absent or empty in the request: ForAnyValue is false%s",
            !ce ? " (missing key)" : "");
        return;
    }
    if (!ce) {
        /* a plain operator on a missing key: false (negated: true) §4.3 */
        put(o, "the key is absent from the request (missing key; the operator is not ...IfExists)");
        return;
    }
    if (c->set == SET_NONE && ce->multi && ce->nvalues != 1) {
        put(o, "a single-valued operator on a multi-valued key (%zu request values): "
               "undefined, taken as the reading that denies", ce->nvalues);
        return;
    }
    if (ce->unsure) {
        put(o, "AWS does not document this key's value for this caller (s3warden would say \"%.*s\"): "
               "the reading that denies, the %s statement %s", (int)ce->values[0].len,
            ce->values[0].ptr, s->deny ? "Deny" : "Allow", s->deny ? "applies" : "does not apply");
        return;
    }
    put(o, "request ");
    put_request_values(o, ce);
    put(o, ", policy ");
    put_policy_values(o, k);
    for (size_t i = 0; i < ce->nvalues; i++) {
        const char *why = unreadable(c, ce->values[i]);
        if (why) {
            put(o, ": request value \"%.*s\" %s (the reading that denies: the %s statement %s)",
                (int)ce->values[i].len, ce->values[i].ptr, why, s->deny ? "Deny" : "Allow",
                s->deny ? "applies" : "does not apply");
            return;
        }
    }
    for (size_t i = 0; i < k->nvals; i++) {
        bool said = false;
        if (c->family == FAM_ARN)
            for (size_t a = 0; a < ARN_PARTS && !said; a++)
                said = put_wild_value(o, ":", &k->vals[i].arn[a], ctx);
        else if (c->family == FAM_STRING)
            said = put_wild_value(o, ":", &k->vals[i].pat, ctx);
        if (said)
            return;
    }
    if (c->set == SET_FORALL)
        put(o, c->negated ? ": ForAllValues: some request value matches a policy value"
                          : ": ForAllValues: some request value matches no policy value");
    else if (c->set == SET_FORANY && c->negated && !s->deny)
        put(o, ": ForAnyValue with a negated operator in an Allow: some request value matches a "
               "policy value (unconfirmed: read the way that denies)");
    else if (c->set == SET_FORANY)
        put(o, c->negated ? ": ForAnyValue: every request value matches a policy value"
                          : ": ForAnyValue: no request value matches a policy value");
    else
        put(o, c->negated ? ": a value matches (negated operator)" : ": no match");
    if (c->if_exists)
        put(o, " (IfExists: the key is present, so it is compared)");
}

size_t policy_trace_explain(const struct policy_trace *t, const struct policy_trace_entry *e,
                            char *buf, size_t cap)
{
    struct out o = { buf, cap, 0 };
    if (cap)
        buf[0] = '\0';
    const struct stmt *s = entry_stmt(e);
    const struct policy_request *req = t ? t->req : NULL;
    const struct policy_context *ctx = req ? req->ctx : NULL;
    struct s3w_slice action = req ? req->action : S3W_SLICE_NULL;
    struct s3w_slice resource = req ? req->resource : S3W_SLICE_NULL;
    if (!s) {
        put(&o, "unknown statement");
        return o.len;
    }
    switch ((enum policy_trace_why)e->why) {
    case POLICY_TRACE_MATCHED:
        put(&o, "applies");
        put_deny_reading(&o, s, resource, ctx);
        put_deny_condition_reading(&o, s, ctx);
        break;
    case POLICY_TRACE_ACTION:
        put(&o, "Action: ");
        put_quoted(&o, action);
        put(&o, " matches none of ");
        put_actions(&o, s);
        break;
    case POLICY_TRACE_NOTACTION:
        put(&o, "NotAction: ");
        put_quoted(&o, action);
        put(&o, " is listed in ");
        put_actions(&o, s);
        break;
    case POLICY_TRACE_PRINCIPAL:
        put(&o, "Principal: the caller ");
        put_caller(&o, req);
        put(&o, " is none of ");
        put_principals(&o, s);
        break;
    case POLICY_TRACE_NOTPRINCIPAL:
        put(&o, "NotPrincipal: the caller ");
        put_caller(&o, req);
        if (s->deny)
            put(&o, " is exempted by ");
        else
            put(&o, " is named or anonymous in ");
        put_principals(&o, s);
        break;
    case POLICY_TRACE_RESOURCE:
        if (!s->has_resource) {
            put(&o, "Resource: the statement names no resource");
            break;
        }
        put(&o, "Resource: ");
        put_quoted(&o, resource);
        put(&o, " matches none of ");
        put_patterns(&o, s->resources, s->nresources);
        put_unresolved(&o, s->resources, s->nresources, ctx);
        put_wild_values(&o, s->resources, s->nresources, ctx);
        break;
    case POLICY_TRACE_NOTRESOURCE:
        put(&o, "NotResource: ");
        put_quoted(&o, resource);
        put(&o, " is listed in ");
        put_patterns(&o, s->resources, s->nresources);
        put_unresolved(&o, s->resources, s->nresources, ctx);
        put_wild_values(&o, s->resources, s->nresources, ctx);
        put_fold(&o, s, resource, ctx);
        break;
    case POLICY_TRACE_CONDITION: {
        const struct cond *c = entry_cond(e);
        if (!c) {
            put(&o, "Condition: not met");
            break;
        }
        put(&o, "Condition ");
        explain_condition(&o, s, c, &c->keys[e->key], ctx);
        break;
    }
    }
    return o.len;
}
