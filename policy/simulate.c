/*
 * simulate.c - the `s3warden simulate` JSON contract (issue 3), pure: string
 * in, string out. The input shape is the one open-source IAM simulators use
 * (request + identityPolicies + resourcePolicy + permissionBoundaryPolicies
 * + sessionPolicy + guardrailPolicies) so cases can be shared.
 *
 * The principal is derived from its ARN (root, user, assumed-role session,
 * federated user; "anonymous", "*" or absent = anonymous). Optional extras
 * in "request": "principalId" (the unique id, AIDA... / AROA...) and
 * "hasPermissionBoundary" (bool; defaults to whether
 * permissionBoundaryPolicies is non-empty). For a role session the role id
 * may also come from contextVariables "aws:userid" ("AROA...:session").
 */
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_guard.h"
#include "policy_int.h"

#define SIM_MAX_POLICIES 64
#define SIM_MAX_CTX_VALUES 256

struct sim {
    cJSON *in;
    struct policy *owned[SIM_MAX_POLICIES * 4 + 2];
    size_t nowned;
    char err[1024];
    char role_arn[512];
    char username[256];
    char userid_scratch[512];
    struct s3w_slice ctx_vals[SIM_MAX_CTX_VALUES];
    size_t nctx_vals;
};

__attribute__((format(printf, 2, 3)))
static int fail(struct sim *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof(s->err), fmt, ap);
    va_end(ap);
    return POLICY_E_INVALID;
}

static int compile_one(struct sim *s, const cJSON *doc, const char *name, enum policy_kind kind,
                       struct policy **out)
{
    char *text = NULL;
    const char *src;
    size_t len;
    if (cJSON_IsString(doc)) {
        src = doc->valuestring;
        len = strlen(src);
    } else if (cJSON_IsObject(doc)) {
        text = cJSON_PrintUnformatted(doc);
        if (!text)
            return fail(s, "out of memory");
        src = text;
        len = strlen(text);
    } else {
        return fail(s, "%s: policy must be a JSON object or a string holding one", name);
    }
    struct policy_diags *d = malloc(sizeof(*d));
    if (!d) {
        free(text);
        return fail(s, "out of memory");
    }
    policy_diags_init(d);
    struct policy_compile_opts o = { .kind = kind, .name = name, .any_service = true };
    int rc = policy_compile(src, len, &o, out, d);
    free(text);
    if (rc != POLICY_OK) {
        size_t at = 0;
        at += (size_t)snprintf(s->err, sizeof(s->err), "%s: invalid policy", name);
        for (size_t i = 0; i < d->n && at < sizeof(s->err); i++)
            if (d->items[i].severity == POLICY_SEV_ERROR)
                at += (size_t)snprintf(s->err + at, sizeof(s->err) - at, "; %s", d->items[i].text);
        free(d);
        return POLICY_E_INVALID;
    }
    free(d);
    s->owned[s->nowned++] = *out;
    return POLICY_OK;
}

static int compile_list(struct sim *s, const char *field, enum policy_kind kind,
                        const struct policy **arr, size_t *n)
{
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(s->in, field);
    *n = 0;
    if (!l || cJSON_IsNull(l))
        return POLICY_OK;
    if (!cJSON_IsArray(l))
        return fail(s, "%s: must be an array of {\"name\", \"policy\"}", field);
    int i = 0;
    for (const cJSON *e = l->child; e; e = e->next, i++) {
        if (*n == SIM_MAX_POLICIES)
            return fail(s, "%s: more than %d policies", field, SIM_MAX_POLICIES);
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(e, "name");
        const cJSON *doc = cJSON_GetObjectItemCaseSensitive(e, "policy");
        char name[160];
        if (nm && cJSON_IsString(nm))
            snprintf(name, sizeof(name), "%.127s", nm->valuestring);
        else
            snprintf(name, sizeof(name), "%s[%d]", field, i);
        if (!doc)
            return fail(s, "%s[%d]: missing \"policy\"", field, i);
        struct policy *p;
        int rc = compile_one(s, doc, name, kind, &p);
        if (rc)
            return rc;
        arr[(*n)++] = p;
    }
    return POLICY_OK;
}

static bool split_arn6(struct s3w_slice v, struct s3w_slice part[6])
{
    size_t np = 0, start = 0;
    for (size_t i = 0; i <= v.len; i++) {
        if (i == v.len || (v.ptr[i] == ':' && np < 5)) {
            part[np++] = (struct s3w_slice){ v.ptr + start, i - start };
            start = i + 1;
            if (i == v.len)
                break;
        }
    }
    return np == 6 && s3w_slice_eq_cstr(part[0], "arn");
}

static int parse_principal(struct sim *s, const cJSON *req, struct policy_principal *p,
                           const cJSON *ctxv)
{
    const cJSON *pa = cJSON_GetObjectItemCaseSensitive(req, "principal");
    memset(p, 0, sizeof(*p));
    if (!pa || cJSON_IsNull(pa) ||
        (cJSON_IsString(pa) && (!strcmp(pa->valuestring, "anonymous") || !strcmp(pa->valuestring, "*") ||
                                !pa->valuestring[0]))) {
        p->type = POLICY_PRINCIPAL_ANONYMOUS;
        return POLICY_OK;
    }
    if (!cJSON_IsString(pa))
        return fail(s, "request.principal: must be an ARN string");
    struct s3w_slice v = s3w_slice_cstr(pa->valuestring), part[6];
    if (!split_arn6(v, part) || part[4].len != 12)
        return fail(s, "request.principal: not an IAM/STS principal ARN: \"%.200s\"", pa->valuestring);
    p->arn = v;
    p->account = part[4];
    struct s3w_slice res = part[5];
    const cJSON *pid = cJSON_GetObjectItemCaseSensitive(req, "principalId");
    if (pid && cJSON_IsString(pid))
        p->unique_id = s3w_slice_cstr(pid->valuestring);
    const cJSON *uid = ctxv ? cJSON_GetObjectItemCaseSensitive(ctxv, "aws:userid") : NULL;
    if (!uid && ctxv)
        uid = cJSON_GetObjectItem(ctxv, "aws:userid"); /* keys are case-insensitive */
    struct s3w_slice uidv = uid && cJSON_IsString(uid) ? s3w_slice_cstr(uid->valuestring)
                                                       : S3W_SLICE_NULL;

    if (s3w_slice_eq_cstr(part[2], "iam") && s3w_slice_eq_cstr(res, "root")) {
        p->type = POLICY_PRINCIPAL_ROOT;
    } else if (s3w_slice_eq_cstr(part[2], "iam") && s3w_slice_starts_with(res, S3W_SLICE_LIT("user/"))) {
        p->type = POLICY_PRINCIPAL_USER;
        const char *last = res.ptr + res.len;
        while (last > res.ptr && last[-1] != '/')
            last--;
        p->username = s3w_slice(last, (size_t)(res.ptr + res.len - last));
        if (!p->unique_id.len && uidv.len)
            p->unique_id = uidv;
    } else if (s3w_slice_eq_cstr(part[2], "sts") &&
               s3w_slice_starts_with(res, S3W_SLICE_LIT("assumed-role/"))) {
        struct s3w_slice rest = { res.ptr + 13, res.len - 13 };
        const char *slash = memchr(rest.ptr, '/', rest.len);
        if (!slash || slash == rest.ptr)
            return fail(s, "request.principal: assumed-role ARN needs ROLE/SESSION");
        p->type = POLICY_PRINCIPAL_ROLE_SESSION;
        size_t rl = (size_t)(slash - rest.ptr);
        p->session_name = s3w_slice(slash + 1, (size_t)(rest.ptr + rest.len - slash - 1));
        int n = snprintf(s->role_arn, sizeof(s->role_arn), "arn:%.*s:iam::%.*s:role/%.*s",
                         (int)part[1].len, part[1].ptr, (int)part[4].len, part[4].ptr, (int)rl,
                         rest.ptr);
        if (n < 0 || (size_t)n >= sizeof(s->role_arn))
            return fail(s, "request.principal: too long");
        p->role_arn = s3w_slice(s->role_arn, (size_t)n);
        if (!p->unique_id.len && uidv.len) {
            const char *c = memchr(uidv.ptr, ':', uidv.len);
            p->unique_id = s3w_slice(uidv.ptr, c ? (size_t)(c - uidv.ptr) : uidv.len);
        }
    } else if (s3w_slice_eq_cstr(part[2], "sts") &&
               s3w_slice_starts_with(res, S3W_SLICE_LIT("federated-user/"))) {
        p->type = POLICY_PRINCIPAL_FEDERATED;
        p->session_name = s3w_slice(res.ptr + 15, res.len - 15);
    } else {
        return fail(s, "request.principal: unsupported principal ARN \"%.200s\"", pa->valuestring);
    }
    if (p->type == POLICY_PRINCIPAL_ROLE_SESSION && !p->unique_id.len)
        p->unique_id = S3W_SLICE_LIT("AROAUNKNOWNROLEID0000");
    return POLICY_OK;
}

static int set_ctx(struct sim *s, struct policy_context *ctx, const cJSON *cv)
{
    if (!cv || cJSON_IsNull(cv))
        return POLICY_OK;
    if (!cJSON_IsObject(cv))
        return fail(s, "request.contextVariables: must be an object");
    for (const cJSON *k = cv->child; k; k = k->next) {
        struct s3w_slice key = s3w_slice_cstr(k->string);
        int rc;
        if (cJSON_IsString(k)) {
            rc = policy_context_set(ctx, key, s3w_slice_cstr(k->valuestring));
        } else if (cJSON_IsArray(k)) {
            size_t start = s->nctx_vals;
            for (const cJSON *e = k->child; e; e = e->next) {
                if (!cJSON_IsString(e))
                    return fail(s, "request.contextVariables.%.64s: values must be strings", k->string);
                if (s->nctx_vals == SIM_MAX_CTX_VALUES)
                    return fail(s, "request.contextVariables: too many values");
                s->ctx_vals[s->nctx_vals++] = s3w_slice_cstr(e->valuestring);
            }
            rc = policy_context_set_multi(ctx, key, s->ctx_vals + start, s->nctx_vals - start);
        } else {
            return fail(s, "request.contextVariables.%.64s: must be a string or an array of strings",
                        k->string);
        }
        if (rc)
            return fail(s, "request.contextVariables: too many keys");
    }
    return POLICY_OK;
}

/* Keys `s3warden serve` sets on every request from the connection and the
 * clock (s3map_context.c, global_keys), which an input may leave out: a
 * policy that tests one can then decide otherwise here than for a real
 * request (the seventh probe: a Deny on aws:SecureTransport "false" did not
 * apply). They stay absent - simulate decides the request it is given, as
 * IAM's simulator does - and are named in the answer, "unsetServeKeys". */
static const char *const serve_keys[] = { "aws:SecureTransport", "aws:SourceIp",
                                          "aws:CurrentTime", "aws:EpochTime" };

static bool policy_tests_key(const struct policy *p, struct s3w_slice key)
{
    for (size_t i = 0; p && i < p->nstmts; i++)
        for (size_t c = 0; c < p->stmts[i].nconds; c++)
            for (size_t k = 0; k < p->stmts[i].conds[c].nkeys; k++)
                if (s3w_slice_eq_nocase(p->stmts[i].conds[c].keys[k].key, key))
                    return true;
    return false;
}

static bool set_tests_key(const struct policy_set *set, struct s3w_slice key)
{
    const struct policy *const *lists[] = { set->identity, set->boundary, set->guardrails };
    const size_t n[] = { set->nidentity, set->nboundary, set->nguardrails };
    for (size_t l = 0; l < 3; l++)
        for (size_t i = 0; i < n[l]; i++)
            if (policy_tests_key(lists[l][i], key))
                return true;
    return policy_tests_key(set->resource, key) || policy_tests_key(set->session, key);
}

static char *render(const struct policy_set *set, const struct policy_request *rq,
                    const struct policy_result *res)
{
    char msg[2048];
    policy_access_denied_message(rq, res, msg, sizeof(msg));
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = NULL;
    char *out = NULL;
    if (!o)
        return NULL;
    if (!cJSON_AddStringToObject(o, "result", policy_decision_name(res->decision)) ||
        !cJSON_AddStringToObject(o, "message", msg) ||
        !(arr = cJSON_AddArrayToObject(o, "statements")))
        goto cleanup;
    for (size_t i = 0; i < res->ndeciding; i++) {
        const struct policy_stmt_ref *r = &res->deciding[i];
        char sid[96];
        /* "sid": the Sid, or "Statement[i]" when the statement has none */
        if (r->sid)
            snprintf(sid, sizeof(sid), "%.90s", r->sid);
        else
            snprintf(sid, sizeof(sid), "Statement[%u]", r->index);
        cJSON *e = cJSON_CreateObject();
        if (!e)
            goto cleanup;
        cJSON_AddItemToArray(arr, e);
        if (!cJSON_AddStringToObject(e, "policy", r->policy) ||
            !cJSON_AddStringToObject(e, "sid", sid) ||
            !cJSON_AddStringToObject(e, "effect", r->deny ? "Deny" : "Allow"))
            goto cleanup;
    }
    cJSON *unset = NULL;
    for (size_t i = 0; i < sizeof serve_keys / sizeof *serve_keys; i++) {
        struct s3w_slice k = s3w_slice_cstr(serve_keys[i]);
        if (policy_context_get(rq->ctx, k) || !set_tests_key(set, k))
            continue;
        if ((!unset && !(unset = cJSON_AddArrayToObject(o, "unsetServeKeys"))) ||
            !cJSON_AddItemToArray(unset, cJSON_CreateString(serve_keys[i])))
            goto cleanup;
    }
    out = cJSON_Print(o);
cleanup:
    cJSON_Delete(o);
    return out;
}

int policy_simulate_json(const char *in, size_t len, char **out_json, char **out_error)
{
    int rc = POLICY_E_INVALID;
    struct sim *s;
    struct policy_context *ctx;
    const struct policy *ids[SIM_MAX_POLICIES], *bnds[SIM_MAX_POLICIES], *grds[SIM_MAX_POLICIES];
    struct policy_set set = { 0 };
    struct policy_principal pr;
    struct policy_request rq = { 0 };
    struct policy_result res;

    if (out_json)
        *out_json = NULL;
    if (out_error)
        *out_error = NULL;
    if (!in || !out_json || !out_error)
        return POLICY_E_ARG;
    s = calloc(1, sizeof(*s));
    ctx = malloc(sizeof(*ctx));
    if (!s || !ctx) {
        free(s);
        free(ctx);
        *out_error = strdup("out of memory");
        return POLICY_E_NOMEM;
    }
    policy_context_init(ctx);

    s->in = cJSON_ParseWithLength(in, len);
    if (!s->in || !cJSON_IsObject(s->in)) {
        fail(s, "input is not a JSON object");
        goto cleanup;
    }
    if (json_text_has_nul(in, len)) {
        fail(s, "input holds a NUL character (\\u0000), which no policy or request value can "
                "contain");
        goto cleanup;
    }
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(s->in, "request");
    if (!cJSON_IsObject(req)) {
        fail(s, "missing \"request\" object");
        goto cleanup;
    }
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(req, "action");
    if (!cJSON_IsString(act) || !strchr(act->valuestring, ':')) {
        fail(s, "request.action: must be a string like \"s3:GetObject\"");
        goto cleanup;
    }
    const cJSON *rsc = cJSON_GetObjectItemCaseSensitive(req, "resource");
    const cJSON *rarn = cJSON_IsObject(rsc) ? cJSON_GetObjectItemCaseSensitive(rsc, "resource") : NULL;
    const cJSON *racct = cJSON_IsObject(rsc) ? cJSON_GetObjectItemCaseSensitive(rsc, "accountId") : NULL;
    if (!cJSON_IsString(rarn) || !cJSON_IsString(racct)) {
        fail(s, "request.resource: must be {\"resource\": ARN, \"accountId\": \"123456789012\"}");
        goto cleanup;
    }
    const cJSON *cv = cJSON_GetObjectItemCaseSensitive(req, "contextVariables");
    if (parse_principal(s, req, &pr, cJSON_IsObject(cv) ? cv : NULL))
        goto cleanup;

    if (compile_list(s, "identityPolicies", POLICY_KIND_IDENTITY, ids, &set.nidentity) ||
        compile_list(s, "permissionBoundaryPolicies", POLICY_KIND_BOUNDARY, bnds, &set.nboundary) ||
        compile_list(s, "guardrailPolicies", POLICY_KIND_GUARDRAIL, grds, &set.nguardrails))
        goto cleanup;
    set.identity = ids;
    set.boundary = bnds;
    set.guardrails = grds;
    const cJSON *rp = cJSON_GetObjectItemCaseSensitive(s->in, "resourcePolicy");
    if (rp && !cJSON_IsNull(rp)) {
        struct policy *p;
        if (compile_one(s, rp, "resourcePolicy", POLICY_KIND_RESOURCE, &p))
            goto cleanup;
        set.resource = p;
    }
    const cJSON *sp = cJSON_GetObjectItemCaseSensitive(s->in, "sessionPolicy");
    if (sp && !cJSON_IsNull(sp)) {
        struct policy *p;
        if (compile_one(s, sp, "sessionPolicy", POLICY_KIND_SESSION, &p))
            goto cleanup;
        set.session = p;
    }
    const cJSON *hb = cJSON_GetObjectItemCaseSensitive(req, "hasPermissionBoundary");
    pr.has_boundary = hb ? cJSON_IsTrue(hb) : set.nboundary > 0;

    /* principal keys first, then contextVariables (the caller's word wins) */
    if (policy_context_set_principal(ctx, &pr, s->userid_scratch, sizeof(s->userid_scratch))) {
        fail(s, "request.principal: too long");
        goto cleanup;
    }
    if (set_ctx(s, ctx, cv))
        goto cleanup;

    rq.principal = &pr;
    rq.action = s3w_slice_cstr(act->valuestring);
    rq.resource = s3w_slice_cstr(rarn->valuestring);
    rq.resource_account = s3w_slice_cstr(racct->valuestring);
    rq.ctx = ctx;
    if (policy_evaluate(&set, &rq, &res) != POLICY_OK) {
        fail(s, "request: cannot be evaluated (action must be \"service:Name\")");
        goto cleanup;
    }
    *out_json = render(&set, &rq, &res);
    if (!*out_json) {
        fail(s, "out of memory");
        rc = POLICY_E_NOMEM;
        goto cleanup;
    }
    rc = POLICY_OK;
cleanup:
    if (rc != POLICY_OK)
        *out_error = strdup(s->err[0] ? s->err : "invalid input");
    for (size_t i = 0; i < s->nowned; i++)
        policy_free(s->owned[i]);
    cJSON_Delete(s->in);
    free(s);
    free(ctx);
    return rc;
}
