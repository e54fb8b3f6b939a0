/*
 * compile.c - policy JSON -> struct policy, validating as it goes.
 *
 * One pass over the cJSON tree: every element is checked (IAM grammar
 * [GRAM], S3's PutBucketPolicy rules, IAM-SEMANTICS.md §2, §3, §5, §7) and
 * compiled into the arena-backed form of policy_int.h. Any ERROR fails the
 * whole policy (fail closed); WARNINGs are reported and the policy compiles.
 * cJSON is used only here: evaluation never sees JSON.
 */
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_guard.h"
#include "policy_int.h"
#include "s3map.h"

/* Diagnostic paths and messages live in fixed buffers: a path deeper than
 * the buffer is cut short on purpose (bounded memory), so GCC's truncation
 * warning is noise here. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif

/* S3's MalformedPolicy messages (IAM-SEMANTICS.md §7.2). The first five are
 * confirmed from real S3 answers; the others are UNCONFIRMED wordings. */
#define S3M_JSON "Policies must be valid JSON and the first byte must be '{'"
#define S3M_PRINCIPAL "Invalid principal in policy"
#define S3M_RESOURCE "Policy has invalid resource"
#define S3M_NO_PRINCIPAL "Missing required field Principal"
#define S3M_ACTION "Policy has invalid action"
#define S3M_EFFECT "Invalid effect"
#define S3M_CONDKEY "Policy has invalid condition key"
#define S3M_CONDOP "Policy has an invalid condition operator"
#define S3M_SYNTAX "Invalid policy syntax."
#define S3M_SIZE "Policy exceeds the maximum allowed document size."
#define S3M_NO_APPLY "Action does not apply to any resource(s) in statement"
/* IAM's MalformedPolicyDocument text for a Sid that is not alphanumeric
 * (IAM's grammar: Sid is [0-9A-Za-z]* in identity policies; S3 bucket
 * policies take any string, spaces included). */
#define IAMM_SID "Statement IDs (SID) must be alpha-numeric. Check that your input " \
                 "satisfies the regular expression [0-9A-Za-z]*"

struct cctx {
    struct policy *p;
    const struct policy_compile_opts *o;
    bool s3only; /* a bucket policy: s3 actions, s3 ARNs, S3 keys only */
    struct policy_diags *d;
    struct s3w_slice bucket;
    size_t errors, warnings;
    char base[160]; /* current statement path */
    bool deny;      /* the current statement's Effect is Deny */
};

void policy_diags_init(struct policy_diags *d)
{
    memset(d, 0, sizeof(*d));
}

const char *policy_strerror(int err)
{
    switch (err) {
    case POLICY_OK: return "ok";
    case POLICY_E_INVALID: return "invalid policy";
    case POLICY_E_NOMEM: return "out of memory";
    case POLICY_E_TOOBIG: return "policy too large";
    case POLICY_E_ARG: return "invalid argument";
    }
    return "unknown policy error";
}

__attribute__((format(printf, 4, 5)))
static void diag(struct cctx *c, enum policy_severity sev, const char *s3msg, const char *fmt, ...)
{
    if (sev == POLICY_SEV_ERROR)
        c->errors++;
    else
        c->warnings++;
    if (!c->d)
        return;
    if (sev == POLICY_SEV_ERROR)
        c->d->errors++;
    else
        c->d->warnings++;
    if (c->d->n == POLICY_DIAGS_MAX)
        return;
    struct policy_diag *g = &c->d->items[c->d->n++];
    g->severity = sev;
    g->s3_message = sev == POLICY_SEV_ERROR ? s3msg : NULL;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->text, sizeof(g->text), fmt, ap);
    va_end(ap);
}

static struct s3w_slice jstr(const cJSON *j)
{
    return s3w_slice_cstr(j->valuestring);
}

/* Rejects duplicate member names in an object: cJSON keeps both, and a
 * reader that picks the other one would see a different policy. */
static bool check_dups(struct cctx *c, const cJSON *obj, const char *path)
{
    bool ok = true;
    for (const cJSON *a = obj->child; a; a = a->next)
        for (const cJSON *b = a->next; b; b = b->next)
            if (a->string && b->string && strcmp(a->string, b->string) == 0) {
                diag(c, POLICY_SEV_ERROR, S3M_SYNTAX, "%s: duplicate element \"%.64s\"",
                     path, a->string);
                ok = false;
            }
    return ok;
}

/* In a Condition block (an operator repeated) or an operator's object (a key
 * repeated) a repeat is documented practice: AWS's own S3 Storage Lens
 * bucket policy example repeats "StringEquals". A JSON reader would keep one
 * of the two, and which one varies; s3warden keeps and evaluates every
 * entry - operators and keys AND, so all must match - and says so. Each
 * repeated name is reported once. */
static void warn_dups(struct cctx *c, const cJSON *obj, const char *path, const char *what)
{
    for (const cJSON *a = obj->child; a; a = a->next) {
        bool seen_before = false;
        for (const cJSON *z = obj->child; z != a && !seen_before; z = z->next)
            seen_before = z->string && a->string && strcmp(z->string, a->string) == 0;
        if (seen_before || !a->string)
            continue;
        size_t n = 1;
        for (const cJSON *b = a->next; b; b = b->next)
            n += b->string && strcmp(a->string, b->string) == 0;
        if (n > 1)
            diag(c, POLICY_SEV_WARNING, NULL,
                 "%s: %s \"%.64s\" appears %zu times; every entry is evaluated and all must "
                 "match (a JSON reader that keeps only one would decide differently)", path, what,
                 a->string, n);
    }
}

/* Calls fn for a string or an array of strings; reports other shapes. */
typedef bool (*str_fn)(struct cctx *c, const cJSON *v, const char *path, void *arg);

static bool each_string(struct cctx *c, const cJSON *v, const char *path, const char *s3msg,
                        str_fn fn, void *arg)
{
    char p[256];
    if (cJSON_IsString(v))
        return fn(c, v, path, arg);
    if (!cJSON_IsArray(v)) {
        diag(c, POLICY_SEV_ERROR, s3msg, "%s: must be a string or an array of strings", path);
        return false;
    }
    if (!v->child) {
        diag(c, POLICY_SEV_ERROR, s3msg, "%s: must not be an empty array", path);
        return false;
    }
    bool ok = true;
    int i = 0;
    for (const cJSON *e = v->child; e; e = e->next, i++) {
        snprintf(p, sizeof(p), "%s[%d]", path, i);
        if (!cJSON_IsString(e)) {
            diag(c, POLICY_SEV_ERROR, s3msg, "%s: must be a string", p);
            ok = false;
            continue;
        }
        ok = fn(c, e, p, arg) && ok;
    }
    return ok;
}

static size_t count_strings(const cJSON *v)
{
    return cJSON_IsString(v) ? 1 : (size_t)cJSON_GetArraySize(v);
}

/* ---- principals ----------------------------------------------------------- */
static bool all_digits(struct s3w_slice s, size_t n)
{
    if (s.len != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s.ptr[i] < '0' || s.ptr[i] > '9')
            return false;
    return true;
}

static bool has_wild(struct s3w_slice s)
{
    return memchr(s.ptr, '*', s.len) || memchr(s.ptr, '?', s.len);
}

/* Splits "arn:partition:service:region:account:resource" (resource may hold
 * more colons). */
static bool split_arn(struct s3w_slice s, struct s3w_slice part[ARN_PARTS])
{
    size_t np = 0, start = 0;
    for (size_t i = 0; i <= s.len; i++) {
        if (i == s.len || (s.ptr[i] == ':' && np < ARN_PARTS - 1)) {
            part[np++] = (struct s3w_slice){ s.ptr + start, i - start };
            start = i + 1;
            if (i == s.len)
                break;
        }
    }
    return np == ARN_PARTS && s3w_slice_eq_cstr(part[0], "arn");
}

static bool unique_id_shape(struct s3w_slice s)
{
    /* AIDA/AROA/... + upper-case letters and digits, 16-128 chars [IDS] */
    if (s.len < 16 || s.len > 128)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        char ch = s.ptr[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')))
            return false;
    }
    return true;
}

struct prin_acc {
    struct prin_entry *e;
    size_t n, cap;
};

static bool add_prin(struct cctx *c, struct prin_acc *acc, uint8_t kind, struct s3w_slice v,
                     struct s3w_slice account)
{
    if (acc->n == acc->cap)
        return false;
    char *copy = arena_strdup(&c->p->arena, v.ptr, v.len);
    if (!copy)
        return false;
    struct prin_entry *e = &acc->e[acc->n++];
    e->kind = kind;
    e->value = (struct s3w_slice){ copy, v.len };
    e->account = account.len ? (struct s3w_slice){ copy + (account.ptr - v.ptr), account.len }
                             : S3W_SLICE_NULL;
    struct s3w_slice id;
    if ((kind == PRIN_USER || kind == PRIN_ROLE) && c->o && c->o->resolve_unique_id &&
        c->o->resolve_unique_id(c->o->resolve_arg, e->value, &id) && id.len) {
        char *ic = arena_strdup(&c->p->arena, id.ptr, id.len);
        if (!ic)
            return false;
        e->bound_id = (struct s3w_slice){ ic, id.len };
    }
    return true;
}

/* Principals that can never be the caller of a request through s3warden:
 * AWS services and CloudFront origin access identities reach S3 directly.
 * Their statements load (AWS's own examples use them) and never apply; in a
 * bucket policy that is worth a warning, since the statement does nothing
 * here. Trust policies (any_service) name services routinely: no warning. */
static void warn_never_caller(struct cctx *c, const char *path, const char *what,
                              struct s3w_slice v)
{
    if (c->s3only)
        diag(c, POLICY_SEV_WARNING, NULL,
             "%s: %s \"%.*s\" reaches S3 directly, so no caller of s3warden can ever match it; "
             "this entry never applies here", path, what, (int)(v.len > 160 ? 160 : v.len),
             v.ptr);
}

/* arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity E2QWRUHAPOMQZL
 * (S3 User Guide bucket policy examples, CloudFront developer guide). */
static bool prin_cloudfront_oai(struct cctx *c, struct prin_acc *acc, struct s3w_slice v,
                                struct s3w_slice res, const char *path)
{
    static const char pre[] = "user/CloudFront Origin Access Identity ";
    size_t pl = sizeof(pre) - 1;
    bool ok = res.len > pl && memcmp(res.ptr, pre, pl) == 0;
    for (size_t i = pl; ok && i < res.len; i++)
        ok = (res.ptr[i] >= 'A' && res.ptr[i] <= 'Z') || (res.ptr[i] >= '0' && res.ptr[i] <= '9');
    if (!ok) {
        diag(c, POLICY_SEV_ERROR, S3M_PRINCIPAL,
             "%s: not a CloudFront origin access identity (arn:aws:iam::cloudfront:user/"
             "CloudFront Origin Access Identity ID): \"%.*s\"", path,
             (int)(v.len > 160 ? 160 : v.len), v.ptr);
        return false;
    }
    warn_never_caller(c, path, "CloudFront origin access identity", v);
    return add_prin(c, acc, PRIN_CLOUDFRONT_OAI, v, S3W_SLICE_NULL);
}

static bool prin_aws(struct cctx *c, const cJSON *j, const char *path, void *arg)
{
    struct prin_acc *acc = arg;
    struct s3w_slice v = jstr(j);
    struct s3w_slice part[ARN_PARTS];

    if (s3w_slice_eq_cstr(v, "*"))
        return add_prin(c, acc, PRIN_AWS_ANY, v, S3W_SLICE_NULL);
    if (has_wild(v)) {
        /* No partial wildcards anywhere in a principal (§2 [PRIN][GRAM]) */
        diag(c, POLICY_SEV_ERROR, S3M_PRINCIPAL,
             "%s: wildcards are not allowed in a principal except \"*\" alone: \"%.*s\"", path,
             (int)(v.len > 160 ? 160 : v.len), v.ptr);
        return false;
    }
    if (all_digits(v, 12))
        return add_prin(c, acc, PRIN_ACCOUNT, v, v);
    if (v.len >= 4 && memcmp(v.ptr, "arn:", 4) != 0) {
        if (unique_id_shape(v) && memcmp(v.ptr, "AIDA", 4) == 0)
            return add_prin(c, acc, PRIN_USER_ID, v, S3W_SLICE_NULL);
        if (unique_id_shape(v) && memcmp(v.ptr, "AROA", 4) == 0)
            return add_prin(c, acc, PRIN_ROLE_ID, v, S3W_SLICE_NULL);
        if (unique_id_shape(v) && memcmp(v.ptr, "AGPA", 4) == 0) {
            diag(c, POLICY_SEV_ERROR, S3M_PRINCIPAL,
                 "%s: an IAM group cannot be a principal: \"%.*s\"", path, (int)v.len, v.ptr);
            return false;
        }
    }
    if (!split_arn(v, part)) {
        diag(c, POLICY_SEV_ERROR, S3M_PRINCIPAL,
             "%s: not an account id, unique id or IAM/STS ARN: \"%.*s\"", path,
             (int)(v.len > 160 ? 160 : v.len), v.ptr);
        return false;
    }
    if (s3w_slice_eq_cstr(part[1], "aws") && s3w_slice_eq_cstr(part[2], "iam") &&
        part[3].len == 0 && s3w_slice_eq_cstr(part[4], "cloudfront"))
        return prin_cloudfront_oai(c, acc, v, part[5], path);
    bool part_ok = s3w_slice_eq_cstr(part[1], "aws") || s3w_slice_eq_cstr(part[1], "aws-cn") ||
                   s3w_slice_eq_cstr(part[1], "aws-us-gov");
    if (!part_ok || part[3].len != 0 || !all_digits(part[4], 12)) {
        diag(c, POLICY_SEV_ERROR, S3M_PRINCIPAL,
             "%s: malformed principal ARN (partition, empty region and 12-digit account "
             "required): \"%.*s\"", path, (int)(v.len > 160 ? 160 : v.len), v.ptr);
        return false;
    }
    struct s3w_slice res = part[5];
    if (s3w_slice_eq_cstr(part[2], "iam")) {
        if (s3w_slice_eq_cstr(res, "root"))
            return add_prin(c, acc, PRIN_ACCOUNT, v, part[4]);
        if (s3w_slice_starts_with(res, S3W_SLICE_LIT("user/")) && res.len > 5)
            return add_prin(c, acc, PRIN_USER, v, part[4]);
        if (s3w_slice_starts_with(res, S3W_SLICE_LIT("role/")) && res.len > 5)
            return add_prin(c, acc, PRIN_ROLE, v, part[4]);
        if (s3w_slice_starts_with(res, S3W_SLICE_LIT("group/"))) {
            /* seed 000: "IAM groups are not valid principals" (§2 [PRIN]) */
            diag(c, POLICY_SEV_ERROR, S3M_PRINCIPAL,
                 "%s: an IAM group cannot be a principal: \"%.*s\"", path, (int)v.len, v.ptr);
            return false;
        }
    } else if (s3w_slice_eq_cstr(part[2], "sts")) {
        if (s3w_slice_starts_with(res, S3W_SLICE_LIT("assumed-role/"))) {
            struct s3w_slice rest = { res.ptr + 13, res.len - 13 };
            const char *slash = memchr(rest.ptr, '/', rest.len);
            if (slash && slash > rest.ptr && slash < rest.ptr + rest.len - 1 &&
                !memchr(slash + 1, '/', (size_t)(rest.ptr + rest.len - slash - 1)))
                return add_prin(c, acc, PRIN_SESSION, v, part[4]);
        } else if (s3w_slice_starts_with(res, S3W_SLICE_LIT("federated-user/")) && res.len > 15) {
            return add_prin(c, acc, PRIN_FEDERATED_USER, v, part[4]);
        }
    }
    diag(c, POLICY_SEV_ERROR, S3M_PRINCIPAL,
         "%s: not a valid principal (account root, user, role, assumed-role or federated-user "
         "ARN): \"%.*s\"", path, (int)(v.len > 160 ? 160 : v.len), v.ptr);
    return false;
}

static bool prin_service(struct cctx *c, const cJSON *j, const char *path, void *arg)
{
    struct s3w_slice v = jstr(j);
    if (v.len == 0 || has_wild(v)) {
        diag(c, POLICY_SEV_ERROR, S3M_PRINCIPAL, "%s: invalid service principal \"%.*s\"", path,
             (int)(v.len > 160 ? 160 : v.len), v.ptr);
        return false;
    }
    warn_never_caller(c, path, "service principal", v);
    return add_prin(c, arg, PRIN_SERVICE, v, S3W_SLICE_NULL);
}

static bool prin_federated(struct cctx *c, const cJSON *j, const char *path, void *arg)
{
    struct s3w_slice v = jstr(j);
    if (v.len == 0 || has_wild(v)) {
        diag(c, POLICY_SEV_ERROR, S3M_PRINCIPAL, "%s: invalid federated principal \"%.*s\"",
             path, (int)(v.len > 160 ? 160 : v.len), v.ptr);
        return false;
    }
    return add_prin(c, arg, PRIN_FEDERATED, v, S3W_SLICE_NULL);
}

static bool prin_canonical(struct cctx *c, const cJSON *j, const char *path, void *arg)
{
    struct s3w_slice v = jstr(j);
    bool ok = v.len == 64;
    for (size_t i = 0; ok && i < v.len; i++)
        ok = (v.ptr[i] >= '0' && v.ptr[i] <= '9') || (v.ptr[i] >= 'a' && v.ptr[i] <= 'f');
    if (!ok) {
        diag(c, POLICY_SEV_ERROR, S3M_PRINCIPAL,
             "%s: a canonical user id is 64 lower-case hex digits: \"%.*s\"", path,
             (int)(v.len > 160 ? 160 : v.len), v.ptr);
        return false;
    }
    return add_prin(c, arg, PRIN_CANONICAL, v, S3W_SLICE_NULL);
}

static size_t count_prin_obj(const cJSON *o)
{
    size_t n = 0;
    for (const cJSON *k = o->child; k; k = k->next)
        n += count_strings(k);
    return n;
}

static bool compile_prin_obj(struct cctx *c, const cJSON *o, const char *path,
                             struct prin_acc *acc)
{
    char p[256];
    bool ok = check_dups(c, o, path);
    if (!o->child) {
        diag(c, POLICY_SEV_ERROR, S3M_PRINCIPAL, "%s: must name at least one principal", path);
        return false;
    }
    for (const cJSON *k = o->child; k; k = k->next) {
        snprintf(p, sizeof(p), "%s.%s", path, k->string);
        str_fn fn = NULL;
        if (strcmp(k->string, "AWS") == 0)
            fn = prin_aws;
        else if (strcmp(k->string, "Service") == 0)
            fn = prin_service;
        else if (strcmp(k->string, "Federated") == 0)
            fn = prin_federated;
        else if (strcmp(k->string, "CanonicalUser") == 0)
            fn = prin_canonical;
        if (!fn) {
            diag(c, POLICY_SEV_ERROR, S3M_PRINCIPAL,
                 "%s: unknown principal type (expected AWS, Service, Federated or CanonicalUser)",
                 p);
            ok = false;
            continue;
        }
        ok = each_string(c, k, p, S3M_PRINCIPAL, fn, acc) && ok;
    }
    return ok;
}

static bool compile_principal(struct cctx *c, const cJSON *v, const char *path, struct stmt *st)
{
    struct prin_acc acc = { 0 };
    size_t cap = 1;
    if (cJSON_IsObject(v)) {
        cap = count_prin_obj(v);
    } else if (cJSON_IsArray(v)) {
        /* seed 002 writes Principal as an array of objects; AWS documents an
         * object. Accepted (the entries are ORed either way) with a warning. */
        cap = 0;
        for (const cJSON *e = v->child; e; e = e->next)
            if (cJSON_IsObject(e))
                cap += count_prin_obj(e);
    }
    if (cap == 0)
        cap = 1;
    acc.e = arena_alloc(&c->p->arena, cap * sizeof(*acc.e));
    acc.cap = cap;
    if (!acc.e)
        return false;
    bool ok;
    if (cJSON_IsString(v)) {
        if (!s3w_slice_eq_cstr(jstr(v), "*")) {
            diag(c, POLICY_SEV_ERROR, S3M_PRINCIPAL,
                 "%s: must be \"*\" or an object such as {\"AWS\": ...}", path);
            return false;
        }
        ok = add_prin(c, &acc, PRIN_ANY, jstr(v), S3W_SLICE_NULL);
    } else if (cJSON_IsObject(v)) {
        ok = compile_prin_obj(c, v, path, &acc);
    } else if (cJSON_IsArray(v) && v->child) {
        diag(c, POLICY_SEV_WARNING, NULL,
             "%s: an array of principal objects is not documented by AWS; use one object", path);
        ok = true;
        int i = 0;
        char p[256];
        for (const cJSON *e = v->child; e; e = e->next, i++) {
            snprintf(p, sizeof(p), "%s[%d]", path, i);
            if (!cJSON_IsObject(e)) {
                diag(c, POLICY_SEV_ERROR, S3M_PRINCIPAL, "%s: must be an object", p);
                ok = false;
                continue;
            }
            ok = compile_prin_obj(c, e, p, &acc) && ok;
        }
    } else {
        diag(c, POLICY_SEV_ERROR, S3M_PRINCIPAL,
             "%s: must be \"*\" or an object such as {\"AWS\": ...}", path);
        return false;
    }
    st->prins = acc.e;
    st->nprins = acc.n;
    return ok;
}

/* ---- actions -------------------------------------------------------------- */
static bool known_s3_action(struct s3w_slice pattern);

struct act_acc {
    struct action_pat *a;
    size_t n;
};

static bool compile_action(struct cctx *c, const cJSON *j, const char *path, void *arg)
{
    struct act_acc *acc = arg;
    struct s3w_slice v = jstr(j);
    const char *colon = memchr(v.ptr, ':', v.len);
    if (!s3w_slice_eq_cstr(v, "*")) {
        size_t svc = colon ? (size_t)(colon - v.ptr) : 0;
        bool ok = colon && svc > 0 && v.len > svc + 1;
        for (size_t i = 0; ok && i < svc; i++) {
            char ch = v.ptr[i];
            ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                 ch == '-';
        }
        for (size_t i = svc + 1; ok && i < v.len; i++) {
            char ch = v.ptr[i];
            ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                 ch == '*' || ch == '?' || ch == '-' || ch == '_';
        }
        if (!ok) {
            diag(c, POLICY_SEV_ERROR, S3M_ACTION,
                 "%s: not an action (\"service:ActionName\", wildcards allowed in the name): "
                 "\"%.*s\"", path, (int)(v.len > 160 ? 160 : v.len), v.ptr);
            return false;
        }
        if (c->s3only &&
            !s3w_slice_eq_nocase((struct s3w_slice){ v.ptr, svc }, S3W_SLICE_LIT("s3"))) {
            diag(c, POLICY_SEV_ERROR, S3M_ACTION,
                 "%s: a bucket policy can only grant s3 actions: \"%.*s\"", path,
                 (int)(v.len > 160 ? 160 : v.len), v.ptr);
            return false;
        }
    }
    if (colon && s3w_slice_eq_nocase((struct s3w_slice){ v.ptr, (size_t)(colon - v.ptr) },
                                     S3W_SLICE_LIT("s3")) && !known_s3_action(v))
        diag(c, POLICY_SEV_WARNING, NULL,
             "%s: \"%.*s\" matches no S3 action s3warden authorizes (misspelt?); it never "
             "applies to a request", path, (int)(v.len > 160 ? 160 : v.len), v.ptr);
    /* Actions are case-insensitive [ACT]: stored lower-case. */
    char *lc = arena_strdup(&c->p->arena, v.ptr, v.len);
    if (!lc)
        return false;
    for (size_t i = 0; i < v.len; i++)
        if (lc[i] >= 'A' && lc[i] <= 'Z')
            lc[i] = (char)(lc[i] + 32);
    acc->a[acc->n].text = (struct s3w_slice){ lc, v.len };
    acc->a[acc->n].wild = has_wild(v);
    acc->n++;
    return true;
}

/* ---- resources ---------------------------------------------------------- */
struct res_acc {
    struct pattern *r;
    size_t n;
};

static bool can_belong_to_bucket(const struct pattern *pt, struct s3w_slice bucket)
{
    char want[128];
    int wl = snprintf(want, sizeof(want), "arn:aws:s3:::%.*s", (int)bucket.len, bucket.ptr);
    if (wl <= 0 || (size_t)wl >= sizeof(want) - 1)
        return true; /* cannot judge; the bucket name is longer than S3 allows */
    /* literal prefix of the pattern, up to the first wildcard or variable */
    size_t ll = 0;
    char lit[512];
    bool open = false;
    for (size_t i = 0; i < pt->ntoks; i++) {
        const struct pat_tok *t = &pt->toks[i];
        if (t->kind != TOK_LIT) {
            open = true;
            break;
        }
        if (ll + t->text.len >= sizeof(lit))
            return true;
        memcpy(lit + ll, t->text.ptr, t->text.len);
        ll += t->text.len;
    }
    if (!open) {
        /* exact: the bucket itself or one of its objects */
        return (ll == (size_t)wl && memcmp(lit, want, ll) == 0) ||
               (ll > (size_t)wl && memcmp(lit, want, (size_t)wl) == 0 && lit[wl] == '/');
    }
    want[wl] = '/';
    size_t cmp = ll < (size_t)wl + 1 ? ll : (size_t)wl + 1;
    return memcmp(lit, want, cmp) == 0;
}

static bool compile_resource(struct cctx *c, const cJSON *j, const char *path, void *arg)
{
    struct res_acc *acc = arg;
    struct s3w_slice v = jstr(j);
    struct s3w_slice part[ARN_PARTS];
    const char *why = NULL;
    if (!s3w_slice_eq_cstr(v, "*")) {
        if (!split_arn(v, part) || part[1].len == 0 || part[2].len == 0) {
            diag(c, POLICY_SEV_ERROR, S3M_RESOURCE,
                 "%s: not an ARN (arn:partition:service:region:account:resource) or \"*\": "
                 "\"%.*s\"", path, (int)(v.len > 160 ? 160 : v.len), v.ptr);
            return false;
        }
        if (has_wild(part[2])) {
            diag(c, POLICY_SEV_ERROR, S3M_RESOURCE,
                 "%s: the service part of a resource ARN cannot hold a wildcard: \"%.*s\"", path,
                 (int)(v.len > 160 ? 160 : v.len), v.ptr);
            return false;
        }
        /* variables only in the resource part, after the fifth colon (§5) */
        size_t res_off = (size_t)(part[5].ptr - v.ptr);
        for (size_t i = 0; c->p->vars && i + 1 < res_off; i++)
            if (v.ptr[i] == '$' && v.ptr[i + 1] == '{') {
                diag(c, POLICY_SEV_ERROR, S3M_RESOURCE,
                     "%s: policy variables are only allowed in the resource part of an ARN: "
                     "\"%.*s\"", path, (int)(v.len > 160 ? 160 : v.len), v.ptr);
                return false;
            }
        if (c->s3only && !s3w_slice_eq_cstr(part[2], "s3")) {
            diag(c, POLICY_SEV_ERROR, S3M_RESOURCE,
                 "%s: a bucket policy resource must be an s3 ARN: \"%.*s\"", path,
                 (int)(v.len > 160 ? 160 : v.len), v.ptr);
            return false;
        }
    }
    char *copy = arena_strdup(&c->p->arena, v.ptr, v.len);
    if (!copy)
        return false;
    struct pattern *pt = &acc->r[acc->n];
    int rc = pattern_compile(&c->p->arena, (struct s3w_slice){ copy, v.len }, true, c->p->vars,
                             pt, &why);
    if (rc) {
        diag(c, POLICY_SEV_ERROR, S3M_RESOURCE, "%s: %s", path, why);
        return false;
    }
    if (c->s3only && c->bucket.len && !can_belong_to_bucket(pt, c->bucket)) {
        diag(c, POLICY_SEV_ERROR, S3M_RESOURCE,
             "%s: resource cannot belong to bucket \"%.*s\" that this policy is attached to: "
             "\"%.*s\"", path, (int)c->bucket.len, c->bucket.ptr,
             (int)(v.len > 160 ? 160 : v.len), v.ptr);
        return false;
    }
    acc->n++;
    return true;
}

/* ---- conditions --------------------------------------------------------- */
static bool value_text(struct cctx *c, const cJSON *e, struct s3w_slice *out)
{
    if (cJSON_IsString(e)) {
        *out = jstr(e);
        return true;
    }
    char buf[64];
    int n;
    if (cJSON_IsBool(e))
        n = snprintf(buf, sizeof(buf), "%s", cJSON_IsTrue(e) ? "true" : "false");
    else if (cJSON_IsNumber(e)) {
        double d = e->valuedouble;
        /* range first: converting an out-of-range double (or NaN) to an
         * integer is undefined behaviour (found by the policy fuzzer) */
        if (d < 1e15 && d > -1e15 && d == (double)(long long)d)
            n = snprintf(buf, sizeof(buf), "%lld", (long long)d);
        else if (d < 1e17 && d > -1e17 && d == (double)(long long)d)
            n = snprintf(buf, sizeof(buf), "%.0f", d); /* not "1e+15" */
        else {
            /* the shortest text that reads back as d: a JSON 0.1 is "0.1",
             * as the author wrote it, not "0.10000000000000001" (Numeric
             * operators compare the decimal text exactly) */
            int prec = 15;
            do
                n = snprintf(buf, sizeof(buf), "%.*g", prec, d);
            while (prec++ < 17 && strtod(buf, NULL) != d);
        }
    } else
        return false;
    char *p = arena_strdup(&c->p->arena, buf, (size_t)n);
    if (!p)
        return false;
    *out = (struct s3w_slice){ p, (size_t)n };
    return true;
}

static bool compile_cond_key(struct cctx *c, struct cond *cd, const cJSON *k, const char *path,
                             struct cond_key *out)
{
    struct s3w_slice key = s3w_slice_cstr(k->string);
    bool ok = true;
    if (c->p->vars && strstr(k->string, "${")) {
        /* AWS substitutes variables in condition values (§5); in a key
         * it is UNCONFIRMED, and read as text the key is never present:
         * a Deny would never fire. Refused. */
        diag(c, POLICY_SEV_ERROR, S3M_CONDKEY,
             "%s: a policy variable in a condition key: AWS documents variables only in "
             "condition values and Resource; write the key itself "
             "(\"aws:PrincipalTag/team\") and put the variable in the value", path);
        return false;
    }
    if (!policy_is_known_s3_condition_key(key)) {
        bool s3_or_aws = s3w_slice_starts_with(key, S3W_SLICE_LIT("aws:")) ||
                         s3w_slice_starts_with(key, S3W_SLICE_LIT("s3:")) ||
                         s3w_slice_eq_nocase((struct s3w_slice){ key.ptr, key.len < 4 ? key.len : 4 },
                                             S3W_SLICE_LIT("aws:")) ||
                         s3w_slice_eq_nocase((struct s3w_slice){ key.ptr, key.len < 3 ? key.len : 3 },
                                             S3W_SLICE_LIT("s3:"));
        /* Unknown S3 or global key: an error everywhere. Another service's
         * key (iam:PolicyArn in seed 000) never matches an S3 request: an
         * error in a bucket policy, a warning in identity-side policies,
         * which may also govern other services. A web identity provider's
         * claim key is set in its sessions' requests (keys.c): neither. */
        if (!s3_or_aws && policy_key_web_identity(key)) {
            /* accepted as it is */
        } else if (s3_or_aws || c->s3only) {
            diag(c, POLICY_SEV_ERROR, S3M_CONDKEY,
                 "%s: unknown condition key \"%.64s\" (not a global aws: key, an S3 key or a "
                 "tag key)", path, k->string);
            return false;
        } else {
            diag(c, POLICY_SEV_WARNING, NULL,
                 "%s: condition key \"%.64s\" is not an S3 or global key; it is absent from "
                 "every S3 request", path, k->string);
        }
    } else if (s3map_condition_key_support(key) == S3MAP_KEY_NOT_EVALUATED) {
        /* AWS sets this key from state s3warden does not see (a stored
         * object's tags, object-lock event holds, ...). Left absent, a Deny
         * on it would never fire and a negated Allow would always match:
         * refuse the policy rather than decide differently from AWS. */
        diag(c, POLICY_SEV_ERROR, S3M_CONDKEY,
             "%s: condition key \"%.64s\" is not evaluated by s3warden (AWS sets it from "
             "state the proxy does not see); a policy that relies on it cannot be decided as "
             "AWS would", path, k->string);
        return false;
    }
    char *kc = arena_strdup(&c->p->arena, key.ptr, key.len);
    if (!kc)
        return false;
    out->key = (struct s3w_slice){ kc, key.len };
    size_t n = cJSON_IsArray(k) ? (size_t)cJSON_GetArraySize(k) : 1;
    if (cJSON_IsArray(k) && n == 0) {
        diag(c, POLICY_SEV_ERROR, S3M_SYNTAX, "%s: must list at least one value", path);
        return false;
    }
    if (!cJSON_IsArray(k) && !cJSON_IsString(k) && !cJSON_IsBool(k) && !cJSON_IsNumber(k)) {
        diag(c, POLICY_SEV_ERROR, S3M_SYNTAX,
             "%s: must be a string, a number, a boolean or an array of them", path);
        return false;
    }
    struct cond_value *vals = arena_alloc(&c->p->arena, n * sizeof(*vals));
    if (!vals)
        return false;
    bool vars = c->p->vars && (cd->family == FAM_STRING || cd->family == FAM_ARN);
    size_t i = 0;
    const cJSON *e = cJSON_IsArray(k) ? k->child : k;
    for (; e && i < n; e = cJSON_IsArray(k) ? e->next : NULL, i++) {
        char p[320];
        if (cJSON_IsArray(k))
            snprintf(p, sizeof(p), "%s[%zu]", path, i);
        else
            snprintf(p, sizeof(p), "%s", path);
        struct s3w_slice text;
        if (!value_text(c, e, &text)) {
            diag(c, POLICY_SEV_ERROR, S3M_SYNTAX, "%s: must be a string, number or boolean", p);
            ok = false;
            continue;
        }
        char *copy = arena_strdup(&c->p->arena, text.ptr, text.len);
        if (!copy)
            return false;
        const char *why = NULL;
        if (cond_compile_value(&c->p->arena, cd, (struct s3w_slice){ copy, text.len }, vars,
                               &vals[i], &why)) {
            diag(c, POLICY_SEV_ERROR, S3M_SYNTAX, "%s: %s: \"%.*s\"", p, why,
                 (int)(text.len > 120 ? 120 : text.len), text.ptr);
            ok = false;
        } else if (cd->family == FAM_IP && vals[i].ip_family == 6 && !memchr(text.ptr, '/', text.len)) {
            /* IPv6 without a prefix: AWS's default is UNCONFIRMED (§4.5);
             * condition.c takes /128, the narrowest, which would let a
             * Deny's IpAddress or an Allow's NotIpAddress reach fewer
             * addresses than a wider default would: refused there. */
            bool fail_open = c->deny != cd->negated;
            diag(c, fail_open ? POLICY_SEV_ERROR : POLICY_SEV_WARNING, fail_open ? S3M_SYNTAX : NULL,
                 "%s: an IPv6 address without a /prefix: AWS does not document the prefix it "
                 "takes; %s write the prefix meant, e.g. \"%.*s/128\"", p,
                 fail_open ? "read as /128 this condition could match fewer addresses than on "
                             "AWS (fail open):"
                           : "s3warden reads it as /128;",
                 (int)(text.len > 60 ? 60 : text.len), text.ptr);
            ok = ok && !fail_open;
        }
    }
    out->vals = vals;
    out->nvals = n;
    if (cd->set != SET_NONE && cd->family == FAM_BOOL)
        diag(c, POLICY_SEV_WARNING, NULL,
             "%s: a set operator on a single-valued key can make a policy overly permissive",
             path);
    return ok;
}

/* ---- global keys s3warden cannot supply ------------------------------------ */
/*
 * A policy variable naming a global key s3warden cannot supply (keys.c,
 * policy_key_unknowable), ${aws:PrincipalOrgID} say, has no value here.
 * Without a default the entry or value holding it matches nothing
 * (IAM-SEMANTICS.md §5; eval.c resource_matches, condition.c match_one):
 *  - in Resource, or in a condition value of a plain operator, the
 *    statement applies to fewer requests than on AWS (`narrows`): an ERROR
 *    in a Deny, a WARNING in an Allow;
 *  - in NotResource of a Deny, or a value of a negated operator, it applies
 *    to more: a WARNING in a Deny, an ERROR in an Allow (an Allow with such
 *    a NotResource entry never applies - eval.c - so it narrows).
 * With a default ('${key, 'x'}') the default always stands in for a value AWS
 * may have, in either direction: an ERROR.
 */
static bool check_unknowable_vars(struct cctx *c, const struct stmt *st,
                                  const struct pattern *pt, const char *path, bool narrows)
{
    if (!pt->has_var)
        return true;
    bool ok = true;
    for (size_t i = 0; i < pt->ntoks; i++) {
        const struct pat_tok *t = &pt->toks[i];
        const char *from = t->kind == TOK_VAR ? policy_key_unknowable(t->text) : NULL;
        if (!from)
            continue;
        int kl = (int)(t->text.len > 64 ? 64 : t->text.len);
        const char *eff = st->deny ? "Deny" : "Allow";
        if (t->has_default) {
            diag(c, POLICY_SEV_ERROR, S3M_CONDKEY,
                 "%s: policy variable ${%.*s} names a key s3warden never sets (AWS sets it from "
                 "%s): its default always stands in for a value AWS may have, so this %s may "
                 "decide otherwise than AWS (fail open)", path, kl, t->text.ptr, from, eff);
            ok = false;
        } else if (st->deny == narrows) {
            diag(c, POLICY_SEV_ERROR, S3M_CONDKEY,
                 "%s: policy variable ${%.*s} names a key s3warden never sets (AWS sets it from "
                 "%s): without a value it matches nothing, so this %s (fail open)", path, kl,
                 t->text.ptr, from,
                 st->deny ? "Deny applies to fewer requests than on AWS"
                          : "Allow grants more than on AWS");
            ok = false;
        } else {
            diag(c, POLICY_SEV_WARNING, NULL,
                 "%s: policy variable ${%.*s} names a key s3warden never sets (AWS sets it from "
                 "%s): without a value it matches nothing, so this %s", path, kl, t->text.ptr,
                 from, st->deny ? "Deny applies to more requests than on AWS"
                                : "Allow grants less than on AWS");
        }
    }
    return ok;
}

/*
 * A global key AWS derives from facts the proxy cannot see (keys.c,
 * policy_key_unknowable: Organizations membership, VPC endpoints, resource
 * tags) is absent from every request here, while on AWS it may hold any
 * value. Conditions AND within a statement, so the direction of one
 * condition decides: its answer with the key absent is what s3warden always
 * gets, and AWS may get either answer.
 *  - Deny, false when absent: the Deny never applies where AWS may deny -
 *    fail open, an ERROR. True when absent (negated operators, ...IfExists,
 *    ForAllValues, Null true): it applies to every request it otherwise
 *    matches, more than on AWS - kept, with a WARNING.
 *  - Allow, true when absent: grants where AWS may refuse - an ERROR.
 *    False when absent: never grants - kept, with a WARNING.
 * The absent-key answer comes from the evaluator itself (cond_eval with no
 * context), so this check cannot drift from evaluation (IAM-SEMANTICS.md
 * §4.3, §4.4). Where §4.4 is UNCONFIRMED (ForAnyValue with a negated
 * operator) the evaluator takes the reading that denies: true for a Deny
 * (it applies to every request it matches otherwise, a WARNING), false for
 * an Allow (it never grants, a WARNING).
 */
static bool check_unknowable_key(struct cctx *c, const struct stmt *st, const struct cond *cd,
                                 const struct cond_key *k, const char *path, bool arr)
{
    if (c->p->vars && (cd->family == FAM_STRING || cd->family == FAM_ARN)) {
        bool ok = true;
        for (size_t i = 0; i < k->nvals; i++) {
            char p[352];
            if (arr)
                snprintf(p, sizeof(p), "%s[%zu]", path, i);
            else
                snprintf(p, sizeof(p), "%s", path);
            const struct cond_value *v = &k->vals[i];
            if (cd->family == FAM_STRING)
                ok = check_unknowable_vars(c, st, &v->pat, p, !cd->negated) && ok;
            else
                for (size_t a = 0; a < ARN_PARTS; a++)
                    ok = check_unknowable_vars(c, st, &v->arn[a], p, !cd->negated) && ok;
        }
        if (!ok)
            return false;
    }
    const char *from = policy_key_unknowable(k->key);
    if (!from)
        return true;
    struct cond one = *cd;
    one.keys = k;
    one.nkeys = 1;
    bool absent_true = cond_eval(&one, NULL, st->deny);
    int kl = (int)(k->key.len > 64 ? 64 : k->key.len);
    int ol = (int)(cd->op_name.len > 64 ? 64 : cd->op_name.len);
    if (st->deny != absent_true) {
        diag(c, POLICY_SEV_ERROR, S3M_CONDKEY,
             "%s: condition key \"%.*s\" is never set by s3warden (AWS sets it from %s): %.*s "
             "is %s when the key is absent, so this %s %s (fail open)", path, kl, k->key.ptr,
             from, ol, cd->op_name.ptr, absent_true ? "true" : "false",
             st->deny ? "Deny" : "Allow",
             st->deny ? "would never apply where AWS may deny"
                      : "would grant where AWS may refuse");
        return false;
    }
    diag(c, POLICY_SEV_WARNING, NULL,
         "%s: condition key \"%.*s\" is never set by s3warden (AWS sets it from %s): %.*s is "
         "%s when the key is absent, so this %s", path, kl, k->key.ptr, from, ol,
         cd->op_name.ptr, absent_true ? "true" : "false",
         st->deny ? "Deny applies to every request it otherwise matches" : "Allow never grants");
    return true;
}

static bool compile_condition(struct cctx *c, const cJSON *v, const char *path, struct stmt *st)
{
    char p[256], pk[320];
    if (!cJSON_IsObject(v)) {
        diag(c, POLICY_SEV_ERROR, S3M_SYNTAX, "%s: must be an object", path);
        return false;
    }
    bool ok = true;
    warn_dups(c, v, path, "condition operator");
    size_t n = (size_t)cJSON_GetArraySize(v);
    struct cond *conds = arena_alloc(&c->p->arena, (n ? n : 1) * sizeof(*conds));
    if (!conds)
        return false;
    size_t i = 0;
    for (const cJSON *op = v->child; op; op = op->next) {
        snprintf(p, sizeof(p), "%s.%s", path, op->string);
        struct cond *cd = &conds[i];
        if (!cond_parse_operator(s3w_slice_cstr(op->string), cd)) {
            /* fail closed: an unknown operator is never ignored
             * (README.md, "Security invariants") */
            diag(c, POLICY_SEV_ERROR, S3M_CONDOP, "%s: unknown condition operator \"%.64s\"",
                 path, op->string);
            ok = false;
            continue;
        }
        char *on = arena_strdup(&c->p->arena, op->string, strlen(op->string));
        if (!on)
            return false;
        cd->op_name = s3w_slice_cstr(on);
        if (!cJSON_IsObject(op) || !op->child) {
            diag(c, POLICY_SEV_ERROR, S3M_SYNTAX,
                 "%s: must be an object of condition keys and values", p);
            ok = false;
            continue;
        }
        warn_dups(c, op, p, "condition key");
        size_t nk = (size_t)cJSON_GetArraySize(op);
        struct cond_key *keys = arena_alloc(&c->p->arena, nk * sizeof(*keys));
        if (!keys)
            return false;
        size_t ki = 0;
        for (const cJSON *k = op->child; k; k = k->next) {
            snprintf(pk, sizeof(pk), "%s.%s", p, k->string);
            if (compile_cond_key(c, cd, k, pk, &keys[ki]) &&
                check_unknowable_key(c, st, cd, &keys[ki], pk, cJSON_IsArray(k)))
                ki++;
            else
                ok = false;
        }
        cd->keys = keys;
        cd->nkeys = ki;
        i++;
    }
    st->conds = conds;
    st->nconds = i;
    return ok;
}

/* ---- action/resource compatibility (bucket policies) ---------------------- */
/* Resource types an exact S3 action applies to, as bits of 1 << enum
 * s3map_resource_type, from the generated operation table; 0 = unknown
 * action (no judgement). */
static unsigned action_types(struct s3w_slice act)
{
    static const struct { const char *a; unsigned t; } extra[] = {
        { "s3:putobjectacl", 1u << S3MAP_R_OBJECT },
        { "s3:putobjecttagging", 1u << S3MAP_R_OBJECT },
        { "s3:putobjectretention", 1u << S3MAP_R_OBJECT },
        { "s3:putobjectlegalhold", 1u << S3MAP_R_OBJECT },
        { "s3:bypassgovernanceretention", 1u << S3MAP_R_OBJECT },
        { "s3:getobject", 1u << S3MAP_R_OBJECT },
        { "s3:getobjectversion", 1u << S3MAP_R_OBJECT },
        { "s3:deleteobject", 1u << S3MAP_R_OBJECT },
        { "s3:deleteobjectversion", 1u << S3MAP_R_OBJECT },
        { "s3:putbucketacl", 1u << S3MAP_R_BUCKET },
        { "s3:putbucketobjectlockconfiguration", 1u << S3MAP_R_BUCKET },
        { "s3:putbucketownershipcontrols", 1u << S3MAP_R_BUCKET },
        { "s3:tagresource", 1u << S3MAP_R_BUCKET },
    };
    unsigned t = 0;
    for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++)
        if (s3w_slice_eq_cstr(act, extra[i].a))
            t |= extra[i].t;
    for (size_t i = 0; i < s3map_op_count(); i++) {
        const struct s3map_op *op = s3map_op_at(i);
        const char *const *lists[2] = { op->actions, op->version_actions };
        for (int l = 0; l < 2; l++)
            for (const char *const *a = lists[l]; a && *a; a++)
                if (s3w_slice_eq_nocase(act, s3w_slice_cstr(*a)))
                    t |= 1u << op->resource_type;
    }
    return t;
}

/* Case-insensitive glob of an action pattern over one action name. */
static bool action_glob(struct s3w_slice p, const char *a)
{
    size_t an = strlen(a), pi = 0, ai = 0, sp = (size_t)-1, sa = 0;
    while (ai < an) {
        char pc = pi < p.len ? p.ptr[pi] : 0, ac = a[ai];
        if (pc >= 'A' && pc <= 'Z')
            pc = (char)(pc + 32);
        if (ac >= 'A' && ac <= 'Z')
            ac = (char)(ac + 32);
        if (pi < p.len && (pc == '?' || pc == ac)) {
            pi++, ai++;
        } else if (pi < p.len && pc == '*') {
            sp = pi++;
            sa = ai;
        } else if (sp != (size_t)-1) {
            pi = sp + 1;
            ai = ++sa;
        } else {
            return false;
        }
    }
    while (pi < p.len && p.ptr[pi] == '*')
        pi++;
    return pi == p.len;
}

/* Does the pattern match any S3 action of the operation table (or one of
 * the conditional actions s3map asks for)? */
static bool known_s3_action(struct s3w_slice pattern)
{
    static const char *const extra[] = {
        "s3:PutObjectAcl", "s3:PutObjectTagging", "s3:PutObjectRetention",
        "s3:PutObjectLegalHold", "s3:BypassGovernanceRetention", "s3:GetObjectVersion",
        "s3:DeleteObjectVersion", "s3:PutBucketAcl", "s3:PutBucketObjectLockConfiguration",
        "s3:PutBucketOwnershipControls", "s3:PutObjectVersionAcl", "s3:PutObjectVersionTagging",
        "s3:TagResource", /* CreateBucket with tags (s3map.c create_bucket_keys) */
    };
    for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++)
        if (action_glob(pattern, extra[i]))
            return true;
    for (size_t i = 0; i < s3map_op_count(); i++) {
        const struct s3map_op *op = s3map_op_at(i);
        const char *const *lists[2] = { op->actions, op->version_actions };
        for (int l = 0; l < 2; l++)
            for (const char *const *a = lists[l]; a && *a; a++)
                if (action_glob(pattern, *a))
                    return true;
    }
    return false;
}

/* S3 refuses a bucket policy statement none of whose actions applies to any
 * of its resources (s3:ListBucket on the objects of b only): MalformedPolicy
 * "Action does not apply to any resource(s) in statement" (IAM-SEMANTICS.md
 * §7.2). Judged only when every action and resource is exact. */
static void check_applies(struct cctx *c, const struct stmt *st)
{
    unsigned res_types = 0, act_types = 0;
    if (st->not_action || st->not_resource || !st->nactions || !st->nresources)
        return;
    for (size_t i = 0; i < st->nresources; i++) {
        const struct pattern *r = &st->resources[i];
        struct s3w_slice part[ARN_PARTS];
        if (!split_arn(r->raw, part))
            return;
        /* the literal part of the resource name, up to a wildcard/variable:
         * a '/' in it means only objects can match */
        size_t lit = part[5].len;
        for (size_t k = 0; k < part[5].len; k++)
            if (part[5].ptr[k] == '*' || part[5].ptr[k] == '?' ||
                (part[5].ptr[k] == '$' && k + 1 < part[5].len && part[5].ptr[k + 1] == '{')) {
                lit = k;
                break;
            }
        if (memchr(part[5].ptr, '/', lit))
            res_types |= 1u << S3MAP_R_OBJECT;
        else if (lit == part[5].len && !r->has_wild && !r->has_var)
            res_types |= 1u << S3MAP_R_BUCKET;
        else
            return; /* "b*" may be the bucket or objects: no judgement */
    }
    for (size_t i = 0; i < st->nactions; i++) {
        if (st->actions[i].wild)
            return;
        unsigned t = action_types(st->actions[i].text);
        if (!t)
            return;
        act_types |= t;
    }
    if (!(res_types & act_types))
        diag(c, POLICY_SEV_ERROR, S3M_NO_APPLY,
             "%s: Action does not apply to any resource(s) in statement (the actions apply to %s, "
             "the Resource lists only %s)", c->base,
             (act_types & (1u << S3MAP_R_OBJECT)) ? "objects" : (act_types & (1u << S3MAP_R_BUCKET)) ? "buckets" : "\"*\"",
             (res_types & (1u << S3MAP_R_OBJECT)) ? "objects" : "buckets");
}

/* ---- statements ----------------------------------------------------------- */
static const char *const stmt_keys[] = { "Sid", "Effect", "Principal", "NotPrincipal", "Action",
                                         "NotAction", "Resource", "NotResource", "Condition" };

/* The statement's name in diagnostics, "Statement[i](Sid "...")", in
 * c->base. */
static void name_stmt(struct cctx *c, const cJSON *s, unsigned idx, bool in_array)
{
    const cJSON *sid = cJSON_GetObjectItemCaseSensitive(s, "Sid");
    if (in_array)
        snprintf(c->base, sizeof(c->base), "Statement[%u]", idx);
    else
        snprintf(c->base, sizeof(c->base), "Statement");
    if (sid && cJSON_IsString(sid) && sid->valuestring[0]) {
        size_t bl = strlen(c->base);
        snprintf(c->base + bl, sizeof(c->base) - bl, "(Sid \"%.64s\")", sid->valuestring);
    }
}

/* Whether the statement's elements are known and each given once. */
static void check_stmt_elements(struct cctx *c, const cJSON *s)
{
    check_dups(c, s, c->base);
    for (const cJSON *k = s->child; k; k = k->next) {
        bool known = false;
        for (size_t i = 0; i < sizeof(stmt_keys) / sizeof(stmt_keys[0]); i++)
            known = known || strcmp(k->string, stmt_keys[i]) == 0;
        if (!known)
            diag(c, POLICY_SEV_ERROR, S3M_SYNTAX, "%s: unknown element \"%.64s\"", c->base,
                 k->string);
    }
}

/* Whether the Sid, if any, is a string (letters and digits only where IAM
 * stores the policy); keeps it for diagnostics and decisions. */
static void compile_sid(struct cctx *c, const cJSON *s, struct stmt *st)
{
    const cJSON *sid = cJSON_GetObjectItemCaseSensitive(s, "Sid");
    if (!sid)
        return;
    if (!cJSON_IsString(sid))
        diag(c, POLICY_SEV_ERROR, S3M_SYNTAX, "%s.Sid: must be a string", c->base);
    else if (sid->valuestring[0])
        st->sid = arena_strdup(&c->p->arena, sid->valuestring, strlen(sid->valuestring));
    /* IAM stores identity and boundary policies and refuses any Sid
     * that is not letters and digits; S3 takes any string */
    if (cJSON_IsString(sid) &&
        (c->p->kind == POLICY_KIND_IDENTITY || c->p->kind == POLICY_KIND_BOUNDARY)) {
        bool alnum = true;
        for (const char *q = sid->valuestring; alnum && *q; q++)
            alnum = (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
                    (*q >= '0' && *q <= '9');
        if (!alnum)
            diag(c, POLICY_SEV_ERROR, IAMM_SID, "%s.Sid: %s", c->base, IAMM_SID);
    }
}

/* Whether the statement allows or denies: Effect is required and exactly
 * "Allow" or "Deny". */
static void compile_effect(struct cctx *c, const cJSON *s, struct stmt *st)
{
    const cJSON *eff = cJSON_GetObjectItemCaseSensitive(s, "Effect");
    if (!eff) {
        diag(c, POLICY_SEV_ERROR, S3M_SYNTAX, "%s: missing required field Effect", c->base);
    } else if (!cJSON_IsString(eff) ||
               (strcmp(eff->valuestring, "Allow") && strcmp(eff->valuestring, "Deny"))) {
        diag(c, POLICY_SEV_ERROR, S3M_EFFECT,
             "%s.Effect: invalid effect %s%.32s%s (must be \"Allow\" or \"Deny\")", c->base,
             cJSON_IsString(eff) ? "\"" : "", cJSON_IsString(eff) ? eff->valuestring : "(not a string)",
             cJSON_IsString(eff) ? "\"" : "");
    } else {
        st->deny = strcmp(eff->valuestring, "Deny") == 0;
    }
    c->deny = st->deny;
}

/* A "${" in a principal's string values (objects and arrays searched). */
static bool json_names_var(const cJSON *j)
{
    if (cJSON_IsString(j))
        return strstr(j->valuestring, "${") != NULL;
    for (const cJSON *e = (cJSON_IsObject(j) || cJSON_IsArray(j)) ? j->child : NULL; e; e = e->next)
        if (json_names_var(e))
            return true;
    return false;
}

/*
 * ${...} in Principal or NotPrincipal: AWS documents variables only in
 * Resource and Condition, so what one does there is UNCONFIRMED (§5).
 * s3warden reads it as text, which matches no caller. That narrows an
 * Allow's Principal and a Deny's NotPrincipal (a WARNING); it would let a
 * Deny's Principal, or an Allow's NotPrincipal, apply to fewer callers than
 * a reading that substitutes (an ERROR: fail open).
 */
static void check_principal_vars(struct cctx *c, const cJSON *v, const char *path, bool deny,
                                 bool not_principal)
{
    if (!c->p->vars || !json_names_var(v))
        return;
    if (deny != not_principal)
        diag(c, POLICY_SEV_ERROR, S3M_PRINCIPAL,
             "%s: a policy variable (${...}) in a principal: AWS documents variables only in "
             "Resource and Condition, and read as text it names no caller, so this %s would "
             "apply to fewer callers than if AWS substitutes it (fail open); name the principal, "
             "or use a condition on aws:PrincipalArn or aws:userid", path,
             deny ? "Deny" : "Allow's NotPrincipal");
    else
        diag(c, POLICY_SEV_WARNING, NULL,
             "%s: a policy variable (${...}) in a principal: AWS documents variables only in "
             "Resource and Condition; read as text it names no caller, so this entry never "
             "matches", path);
}

/* Whom the statement applies to: Principal or NotPrincipal, required in
 * bucket policies, refused in identity-based ones (guardrails may name a
 * Principal). */
static void compile_principals(struct cctx *c, const cJSON *s, struct stmt *st)
{
    char p[256];
    const cJSON *eff = cJSON_GetObjectItemCaseSensitive(s, "Effect");
    const cJSON *pr = cJSON_GetObjectItemCaseSensitive(s, "Principal");
    const cJSON *np = cJSON_GetObjectItemCaseSensitive(s, "NotPrincipal");
    enum policy_kind kind = c->p->kind;
    if (pr && np) {
        diag(c, POLICY_SEV_ERROR, S3M_PRINCIPAL,
             "%s: Principal and NotPrincipal cannot both be present", c->base);
    } else if (kind == POLICY_KIND_RESOURCE && !pr && !np) {
        diag(c, POLICY_SEV_ERROR, S3M_NO_PRINCIPAL,
             "%s: missing required field Principal (a bucket policy statement must name who it "
             "applies to)", c->base);
    } else if ((pr || np) && kind != POLICY_KIND_RESOURCE &&
               !(kind == POLICY_KIND_GUARDRAIL && pr)) {
        diag(c, POLICY_SEV_ERROR, S3M_SYNTAX,
             "%s.%s: not allowed in %s policies", c->base, pr ? "Principal" : "NotPrincipal",
             kind == POLICY_KIND_GUARDRAIL ? "guardrail" : "identity-based");
    } else if (pr || np) {
        snprintf(p, sizeof(p), "%s.%s", c->base, pr ? "Principal" : "NotPrincipal");
        st->prin_mode = pr ? PM_PRINCIPAL : PM_NOTPRINCIPAL;
        compile_principal(c, pr ? pr : np, p, st);
        check_principal_vars(c, pr ? pr : np, p, st->deny, np != NULL);
        if (np && eff && cJSON_IsString(eff) && strcmp(eff->valuestring, "Allow") == 0)
            diag(c, POLICY_SEV_WARNING, NULL,
                 "%s.NotPrincipal: NotPrincipal with Allow grants to everyone not listed, "
                 "anonymous callers included; AWS strongly advises against it", c->base);
    }
}

/* Which actions the statement covers: exactly one of Action and
 * NotAction. */
static void compile_actions(struct cctx *c, const cJSON *s, struct stmt *st)
{
    char p[256];
    const cJSON *ac = cJSON_GetObjectItemCaseSensitive(s, "Action");
    const cJSON *na = cJSON_GetObjectItemCaseSensitive(s, "NotAction");
    if (ac && na) {
        diag(c, POLICY_SEV_ERROR, S3M_ACTION, "%s: Action and NotAction cannot both be present",
             c->base);
    } else if (!ac && !na) {
        diag(c, POLICY_SEV_ERROR, S3M_ACTION, "%s: missing required field Action", c->base);
    } else {
        const cJSON *a = ac ? ac : na;
        snprintf(p, sizeof(p), "%s.%s", c->base, ac ? "Action" : "NotAction");
        size_t n = count_strings(a);
        struct act_acc acc = { arena_alloc(&c->p->arena, (n ? n : 1) * sizeof(struct action_pat)), 0 };
        if (acc.a && each_string(c, a, p, S3M_ACTION, compile_action, &acc)) {
            st->actions = acc.a;
            st->nactions = acc.n;
            st->not_action = na != NULL;
        }
    }
}

/* Which resources the statement covers: exactly one of Resource and
 * NotResource, with no variable that can never have a value where that
 * would widen it. */
static void compile_resources(struct cctx *c, const cJSON *s, struct stmt *st)
{
    char p[256];
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(s, "Resource");
    const cJSON *nr = cJSON_GetObjectItemCaseSensitive(s, "NotResource");
    if (rs && nr) {
        diag(c, POLICY_SEV_ERROR, S3M_RESOURCE,
             "%s: Resource and NotResource cannot both be present", c->base);
        return;
    }
    if (!rs && !nr) {
        diag(c, POLICY_SEV_ERROR, S3M_RESOURCE, "%s: missing required field Resource", c->base);
        return;
    }
    const cJSON *r = rs ? rs : nr;
    snprintf(p, sizeof(p), "%s.%s", c->base, rs ? "Resource" : "NotResource");
    size_t n = count_strings(r);
    struct res_acc acc = { arena_alloc(&c->p->arena, (n ? n : 1) * sizeof(struct pattern)), 0 };
    if (!acc.r || !each_string(c, r, p, S3M_RESOURCE, compile_resource, &acc))
        return;
    st->resources = acc.r;
    st->nresources = acc.n;
    st->not_resource = nr != NULL;
    st->has_resource = true;
    for (size_t i = 0; i < acc.n; i++) {
        char rp[272];
        if (cJSON_IsArray(r))
            snprintf(rp, sizeof(rp), "%s[%zu]", p, i);
        else
            snprintf(rp, sizeof(rp), "%s", p);
        /* Resource narrows; a Deny's NotResource widens; an Allow
         * with such a NotResource entry never applies (eval.c) */
        check_unknowable_vars(c, st, &acc.r[i], rp, !st->not_resource || !st->deny);
    }
}

/* The statement's conditions, and whether one narrows it to named
 * principal ARNs: only a plain positive test does; a negated, IfExists or
 * ForAllValues one also holds when the key is absent. */
static void compile_conditions(struct cctx *c, const cJSON *s, struct stmt *st)
{
    char p[256];
    const cJSON *cn = cJSON_GetObjectItemCaseSensitive(s, "Condition");
    if (!cn)
        return;
    snprintf(p, sizeof(p), "%s.Condition", c->base);
    compile_condition(c, cn, p, st);
    for (size_t i = 0; i < st->nconds; i++) {
        const struct cond *cd = &st->conds[i];
        if (cd->negated || cd->if_exists || cd->set != SET_NONE ||
            (cd->family != FAM_STRING && cd->family != FAM_ARN))
            continue;
        for (size_t k = 0; k < cd->nkeys; k++)
            if (s3w_slice_eq_nocase(cd->keys[k].key, S3W_SLICE_LIT("aws:PrincipalArn")))
                st->principal_arn_cond = true;
    }
}

/* One statement, element by element in a fixed order (the order of its
 * diagnostics). */
static void compile_stmt(struct cctx *c, const cJSON *s, unsigned idx, bool in_array,
                         struct stmt *st)
{
    st->index = idx;
    name_stmt(c, s, idx, in_array);
    if (!cJSON_IsObject(s)) {
        diag(c, POLICY_SEV_ERROR, S3M_SYNTAX, "%s: a statement must be an object", c->base);
        return;
    }
    check_stmt_elements(c, s);
    compile_sid(c, s, st);
    compile_effect(c, s, st);
    compile_principals(c, s, st);
    compile_actions(c, s, st);
    compile_resources(c, s, st);
    compile_conditions(c, s, st);
    if (c->s3only)
        check_applies(c, st);
}

/* ---- action index ------------------------------------------------------- */
static bool indexable(struct s3w_slice a, char *first, size_t *svclen)
{
    const char *colon = memchr(a.ptr, ':', a.len);
    if (!colon)
        return false;
    size_t sl = (size_t)(colon - a.ptr);
    if (sl == 0 || sl >= sizeof(((struct action_bucket *)0)->svc) || sl + 1 >= a.len)
        return false;
    char f = colon[1];
    if (f == '*' || f == '?')
        return false;
    *first = f;
    *svclen = sl;
    return true;
}

static int bucket_cmp(const void *x, const void *y)
{
    const struct action_bucket *a = x, *b = y;
    size_t n = a->svclen < b->svclen ? a->svclen : b->svclen;
    int r = memcmp(a->svc, b->svc, n);
    if (r)
        return r;
    if (a->svclen != b->svclen)
        return a->svclen < b->svclen ? -1 : 1;
    return (unsigned char)a->first - (unsigned char)b->first;
}

static bool build_index(struct policy *p)
{
    /* worst case: one bucket per action entry */
    size_t total = 0;
    for (size_t i = 0; i < p->nstmts; i++)
        total += p->stmts[i].nactions;
    struct action_bucket *bk = arena_alloc(&p->arena, (total ? total : 1) * sizeof(*bk));
    uint32_t *always = arena_alloc(&p->arena, (p->nstmts ? p->nstmts : 1) * sizeof(uint32_t));
    size_t *counts = calloc(total ? total : 1, sizeof(size_t));
    if (!bk || !always || !counts) {
        free(counts);
        return false;
    }
    size_t nb = 0, na = 0;
    bool *is_always = calloc(p->nstmts ? p->nstmts : 1, sizeof(bool));
    if (!is_always) {
        free(counts);
        return false;
    }
    /* pass 1: which statements go to `always`, which buckets exist */
    for (size_t i = 0; i < p->nstmts; i++) {
        const struct stmt *s = &p->stmts[i];
        bool alw = s->not_action;
        for (size_t k = 0; !alw && k < s->nactions; k++) {
            char f = 0;
            size_t sl = 0;
            if (!indexable(s->actions[k].text, &f, &sl))
                alw = true;
        }
        if (alw) {
            is_always[i] = true;
            always[na++] = (uint32_t)i;
            continue;
        }
        for (size_t k = 0; k < s->nactions; k++) {
            char f = 0;
            size_t sl = 0;
            indexable(s->actions[k].text, &f, &sl);
            size_t b;
            for (b = 0; b < nb; b++)
                if (bk[b].svclen == sl && bk[b].first == f && memcmp(bk[b].svc, s->actions[k].text.ptr, sl) == 0)
                    break;
            if (b == nb) {
                memcpy(bk[nb].svc, s->actions[k].text.ptr, sl);
                bk[nb].svclen = (uint8_t)sl;
                bk[nb].first = f;
                nb++;
            }
            counts[b]++;
        }
    }
    /* pass 2: fill (a statement appears once per bucket) */
    for (size_t b = 0; b < nb; b++) {
        uint32_t *list = arena_alloc(&p->arena, (counts[b] ? counts[b] : 1) * sizeof(uint32_t));
        if (!list) {
            free(counts);
            free(is_always);
            return false;
        }
        size_t n = 0;
        for (size_t i = 0; i < p->nstmts; i++) {
            if (is_always[i])
                continue;
            const struct stmt *s = &p->stmts[i];
            for (size_t k = 0; k < s->nactions; k++) {
                char f = 0;
                size_t sl = 0;
                indexable(s->actions[k].text, &f, &sl);
                if (bk[b].svclen == sl && bk[b].first == f && memcmp(bk[b].svc, s->actions[k].text.ptr, sl) == 0) {
                    list[n++] = (uint32_t)i;
                    break;
                }
            }
        }
        bk[b].stmts = list;
        bk[b].n = n;
    }
    free(counts);
    free(is_always);
    qsort(bk, nb, sizeof(*bk), bucket_cmp);
    p->buckets = bk;
    p->nbuckets = nb;
    p->always = always;
    p->nalways = na;
    return true;
}

/* ---- entry point ---------------------------------------------------------- */
/* Whether the text is one JSON object within the size cap (leading space
 * allowed outside bucket policies, trailing space and NULs allowed); *root
 * is the parsed document whenever the parse succeeded, for the caller to
 * free. */
static int parse_document(struct cctx *c, const char *json, size_t len, size_t cap,
                          cJSON **root)
{
    const struct policy_compile_opts *opts = c->o;
    if (len > cap) {
        diag(c, POLICY_SEV_ERROR, S3M_SIZE,
             "Policy: %zu bytes exceeds the %zu-byte limit for %s policies", len, cap,
             opts->kind == POLICY_KIND_RESOURCE ? "bucket" : "these");
        return POLICY_E_TOOBIG;
    }
    size_t first = 0;
    if (opts->kind != POLICY_KIND_RESOURCE)
        while (first < len && (json[first] == ' ' || json[first] == '\n' || json[first] == '\r' ||
                               json[first] == '\t'))
            first++;
    if (first >= len || json[first] != '{') {
        diag(c, POLICY_SEV_ERROR, S3M_JSON, "Policy: the document must be a JSON object starting "
             "with '{'");
        return POLICY_E_INVALID;
    }
    const char *end = NULL;
    *root = cJSON_ParseWithLengthOpts(json, len, &end, false);
    if (!*root) {
        /* cJSON reports the error position through return_parse_end; its
         * global cJSON_GetErrorPtr() would race between reloading threads */
        const char *ep = end;
        size_t at = (ep && ep >= json && ep <= json + len) ? (size_t)(ep - json) : 0;
        diag(c, POLICY_SEV_ERROR, S3M_JSON, "Policy: invalid JSON near byte %zu", at);
        return POLICY_E_INVALID;
    }
    if (end && (size_t)(end - json) < len) {
        size_t i = (size_t)(end - json);
        while (i < len && (json[i] == ' ' || json[i] == '\n' || json[i] == '\r' || json[i] == '\t' ||
                           json[i] == '\0'))
            i++;
        if (i < len) {
            diag(c, POLICY_SEV_ERROR, S3M_JSON, "Policy: trailing data after the JSON object at "
                 "byte %zu", i);
            return POLICY_E_INVALID;
        }
    }
    if (!cJSON_IsObject(*root)) {
        diag(c, POLICY_SEV_ERROR, S3M_JSON, "Policy: the document must be a JSON object");
        return POLICY_E_INVALID;
    }
    /* cJSON's strings end at a NUL: "b/x\u0000.txt" would read as "b/x"
     * (json_guard.h) */
    if (json_text_has_nul(json, end ? (size_t)(end - json) : len)) {
        diag(c, POLICY_SEV_ERROR, S3M_JSON, "Policy: a string holds a NUL character (\\u0000), "
             "which no policy element can contain");
        return POLICY_E_INVALID;
    }
    return POLICY_OK;
}

/* Whether the top-level elements are known and unique, and Version and Id
 * valid; Version 2012-10-17 turns on policy variables. */
static void compile_header(struct cctx *c, const cJSON *root)
{
    check_dups(c, root, "Policy");
    for (const cJSON *k = root->child; k; k = k->next)
        if (strcmp(k->string, "Version") && strcmp(k->string, "Id") && strcmp(k->string, "Statement"))
            diag(c, POLICY_SEV_ERROR, S3M_SYNTAX, "Policy: unknown element \"%.64s\"", k->string);

    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(root, "Version");
    if (ver) {
        if (cJSON_IsString(ver) && strcmp(ver->valuestring, "2012-10-17") == 0)
            c->p->vars = true;
        else if (!(cJSON_IsString(ver) && strcmp(ver->valuestring, "2008-10-17") == 0))
            diag(c, POLICY_SEV_ERROR, S3M_SYNTAX,
                 "Version: invalid version %s%.32s%s (must be \"2012-10-17\" or \"2008-10-17\")",
                 cJSON_IsString(ver) ? "\"" : "", cJSON_IsString(ver) ? ver->valuestring : "(not a string)",
                 cJSON_IsString(ver) ? "\"" : "");
    }
    /* Without Version (or 2008-10-17) ${...} is literal text [VARS][VER]. */
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "Id");
    if (id && !cJSON_IsString(id))
        diag(c, POLICY_SEV_ERROR, S3M_SYNTAX, "Id: must be a string");
}

/* The statements: Statement is one object or a non-empty array of them,
 * each compiled into p->stmts. */
static int compile_statements(struct cctx *c, const cJSON *root)
{
    struct policy *p = c->p;
    const cJSON *sts = cJSON_GetObjectItemCaseSensitive(root, "Statement");
    if (!sts) {
        diag(c, POLICY_SEV_ERROR, S3M_SYNTAX, "Policy: missing required field Statement");
        return POLICY_E_INVALID;
    }
    bool arr = cJSON_IsArray(sts);
    if (!arr && !cJSON_IsObject(sts)) {
        diag(c, POLICY_SEV_ERROR, S3M_SYNTAX, "Statement: must be an object or an array of objects");
        return POLICY_E_INVALID;
    }
    size_t n = arr ? (size_t)cJSON_GetArraySize(sts) : 1;
    if (n == 0) {
        diag(c, POLICY_SEV_ERROR, S3M_SYNTAX, "Statement: must hold at least one statement");
        return POLICY_E_INVALID;
    }
    p->stmts = arena_alloc(&p->arena, n * sizeof(*p->stmts));
    if (!p->stmts)
        return POLICY_E_NOMEM;
    p->nstmts = n;
    unsigned idx = 0;
    for (const cJSON *s = arr ? sts->child : sts; s && idx < n; s = arr ? s->next : NULL, idx++)
        compile_stmt(c, s, idx, arr, &p->stmts[idx]);
    return POLICY_OK;
}

/* Whether Sids are unique within the policy (IAM requires it [GRAM]). */
static void check_duplicate_sids(struct cctx *c)
{
    const struct policy *p = c->p;
    for (size_t i = 0; i < p->nstmts; i++)
        for (size_t j = i + 1; p->stmts[i].sid && j < p->nstmts; j++)
            if (p->stmts[j].sid && strcmp(p->stmts[i].sid, p->stmts[j].sid) == 0)
                diag(c, POLICY_SEV_ERROR, S3M_SYNTAX,
                     "Statement[%zu](Sid \"%.64s\"): duplicate Sid, also used by Statement[%zu]", j,
                     p->stmts[j].sid, i);
}

/* Whether a valid guardrail allows anything at all: one made only of Denys
 * denies every request, which is seldom what its author meant. */
static void check_guardrail_allows(struct cctx *c)
{
    const struct policy *p = c->p;
    if (p->kind != POLICY_KIND_GUARDRAIL || c->errors)
        return;
    bool any_allow = false;
    for (size_t i = 0; i < p->nstmts; i++)
        any_allow = any_allow || !p->stmts[i].deny;
    if (!any_allow)
        diag(c, POLICY_SEV_WARNING, NULL,
             "Statement: a guardrail without an Allow statement denies every request (each "
             "guardrail must allow, as every SCP level must); add an Allow of \"*\" on "
             "\"*\" beside the Denys");
}

int policy_compile(const char *json, size_t len, const struct policy_compile_opts *opts,
                   struct policy **out, struct policy_diags *diags)
{
    if (!out || !opts || (!json && len))
        return POLICY_E_ARG;
    *out = NULL;
    if (opts->kind > POLICY_KIND_GUARDRAIL)
        return POLICY_E_ARG;
    struct policy *p = calloc(1, sizeof(*p));
    if (!p)
        return POLICY_E_NOMEM;
    size_t cap = opts->max_bytes ? opts->max_bytes
                 : opts->kind == POLICY_KIND_RESOURCE ? POLICY_BUCKET_MAX_BYTES
                                                      : POLICY_OTHER_MAX_BYTES;
    /* the compiled form is bounded too: a generous multiple of the source */
    arena_init(&p->arena, 64 * 1024 + 48 * (len < cap ? len : cap) * 4);
    p->kind = opts->kind;
    struct cctx c = { .p = p, .o = opts, .d = diags, .bucket = opts->bucket,
                      .s3only = opts->kind == POLICY_KIND_RESOURCE && !opts->any_service };
    int rc = POLICY_E_INVALID;
    cJSON *root = NULL;

    const char *nm = opts->name ? opts->name : "policy";
    p->name = arena_strdup(&p->arena, nm, strnlen(nm, POLICY_NAME_MAX));
    if (!p->name) {
        rc = POLICY_E_NOMEM;
        goto cleanup;
    }
    rc = parse_document(&c, json, len, cap, &root);
    if (rc)
        goto cleanup;
    compile_header(&c, root);
    rc = compile_statements(&c, root);
    if (rc)
        goto cleanup;
    check_duplicate_sids(&c);
    check_guardrail_allows(&c);
    if (p->arena.failed) {
        diag(&c, POLICY_SEV_ERROR, S3M_SIZE, "Policy: too large to compile");
        rc = POLICY_E_TOOBIG;
        goto cleanup;
    }
    if (c.errors) {
        rc = POLICY_E_INVALID;
        goto cleanup;
    }
    if (!build_index(p)) {
        rc = POLICY_E_NOMEM;
        goto cleanup;
    }
    rc = POLICY_OK;
    *out = p;
    p = NULL;
cleanup:
    cJSON_Delete(root);
    if (p) {
        /* an arena cap hit shows up as a failed allocation */
        if (rc == POLICY_E_INVALID && c.errors == 0) {
            diag(&c, POLICY_SEV_ERROR, S3M_SIZE, "Policy: too large to compile");
            rc = POLICY_E_TOOBIG;
        }
        arena_free(&p->arena);
        free(p);
    }
    return rc;
}

void policy_free(struct policy *p)
{
    if (!p)
        return;
    arena_free(&p->arena);
    free(p);
}

const char *policy_name(const struct policy *p)
{
    return p ? p->name : "";
}

size_t policy_statement_count(const struct policy *p)
{
    return p ? p->nstmts : 0;
}
