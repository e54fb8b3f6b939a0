/*
 * load.c - the config loader: JSON (cJSON) -> struct config, validating
 * every field. Unknown fields are errors; every error carries the file, the
 * JSON path and what is wrong (config.h). Policy documents are compiled by
 * the policy engine here, at load time, so requests never touch JSON.
 */
#include "config.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cors.h"
#include "json_guard.h"
#include "jwt.h"
#include "load_internal.h"
#include "policy.h"
#include "regfile.h"
#include "s3ops.h"
#include "token.h"

/* ---- load-time string map (duplicate checks in O(1)) ----------------------
 * Owns copies of its keys; values are borrowed. Grows by doubling; freed at
 * the end of the load. Keeps loading a config with tens of thousands of
 * users and keys linear (a reload must stay fast). */
struct smap {
    char **keys;
    const void **vals;
    size_t cap, n;
};

static uint64_t smap_hash(const char *k)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a 64 */
    for (; *k; k++) {
        h ^= (unsigned char)*k;
        h *= 0x100000001b3ull;
    }
    return h;
}

static const void *smap_get(const struct smap *m, const char *k)
{
    if (!m->cap)
        return NULL;
    for (size_t i = (size_t)smap_hash(k) & (m->cap - 1); m->keys[i]; i = (i + 1) & (m->cap - 1))
        if (strcmp(m->keys[i], k) == 0)
            return m->vals[i];
    return NULL;
}

/* Inserts k -> v (k copied). Returns false only when out of memory. An
 * existing key keeps its first value. */
static bool smap_put(struct smap *m, const char *k, const void *v)
{
    if (2 * (m->n + 1) > m->cap) {
        size_t ncap = m->cap ? 2 * m->cap : 64;
        char **nk = calloc(ncap, sizeof *nk);
        const void **nv = calloc(ncap, sizeof *nv);
        if (!nk || !nv) {
            free(nk);
            free(nv);
            return false;
        }
        for (size_t i = 0; i < m->cap; i++)
            if (m->keys[i]) {
                size_t j = (size_t)smap_hash(m->keys[i]) & (ncap - 1);
                while (nk[j])
                    j = (j + 1) & (ncap - 1);
                nk[j] = m->keys[i];
                nv[j] = m->vals[i];
            }
        free(m->keys);
        free(m->vals);
        m->keys = nk;
        m->vals = nv;
        m->cap = ncap;
    }
    size_t i = (size_t)smap_hash(k) & (m->cap - 1);
    for (; m->keys[i]; i = (i + 1) & (m->cap - 1))
        if (strcmp(m->keys[i], k) == 0)
            return true;
    if (!(m->keys[i] = strdup(k)))
        return false;
    m->vals[i] = v;
    m->n++;
    return true;
}

static void smap_free(struct smap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->keys[i]);
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

/* ---- the walker: current JSON path + error sink --------------------------- */
struct ld {
    const char *file;     /* shown in messages */
    const char *base_dir; /* resolves relative *_file paths; NULL = cwd */
    struct config_errors *errs;
    struct config *cfg;
    char path[CONFIG_PATH_MAX];
    size_t plen;
    bool nomem;
    /* duplicate detection across the whole file */
    struct smap accounts;   /* account id -> account */
    struct smap key_ids;    /* access key id */
    struct smap unique_ids; /* AIDA.../AROA... -> "a user" / "a role" */
    struct smap names;      /* "u/<account>/<lower name>", "r/<account>/<lower name>" */
    struct smap role_arns;  /* role ARN -> role */
    struct smap buckets;    /* bucket name */
    /* the account of the role whose trust policy is being compiled: its
     * Federated principals must be OIDC providers of that account */
    const char *trust_account;
    /* the source text of the policy get_policy() compiled last (malloc'd,
     * NULL after a failure); load_buckets takes it for policy_json */
    char *policy_text;
    /* per slot of cfg->upstreams: its "upstreams" entry and that entry's
     * index (entry NULL: the legacy "upstream"), for what is resolved once
     * the credential sets are loaded, and for warnings' paths */
    struct up_src {
        const cJSON *entry;
        size_t idx;
    } *up_src;
    /* credential_sets slots a name can reach: "default" and the
     * "credential_sets" entries (the upstreams' own chains come after) */
    size_t ncred_named;
    bool top_credentials; /* the top-level "credentials" is given */
};

static void ld_put(struct ld *L, struct smap *m, const char *k, const void *v)
{
    if (!smap_put(m, k, v))
        L->nomem = true;
}

/* "<tag>/<account>/<name lower-cased>": IAM names are unique per account,
 * case-insensitively [IDS]. */
static void name_key(char *out, size_t cap, char tag, const char *account, const char *name)
{
    snprintf(out, cap, "%c/%s/%s", tag, account, name);
    for (char *c = out; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c + 32);
}

static void errf(struct ld *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void errf(struct ld *L, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    config_errors_add(L->errs, L->file, L->path, "%s", msg);
}

static size_t push_key(struct ld *L, const char *k)
{
    size_t mark = L->plen;
    int n = snprintf(L->path + L->plen, sizeof L->path - L->plen, "%s%s",
                     L->plen ? "." : "", k);
    if (n > 0)
        L->plen += (size_t)n < sizeof L->path - L->plen ? (size_t)n : sizeof L->path - L->plen - 1;
    return mark;
}

static size_t push_idx(struct ld *L, size_t i)
{
    size_t mark = L->plen;
    int n = snprintf(L->path + L->plen, sizeof L->path - L->plen, "[%zu]", i);
    if (n > 0)
        L->plen += (size_t)n < sizeof L->path - L->plen ? (size_t)n : sizeof L->path - L->plen - 1;
    return mark;
}

static void pop(struct ld *L, size_t mark)
{
    L->plen = mark;
    L->path[mark] = '\0';
}

static char *dup(struct ld *L, const char *s)
{
    char *d = strdup(s);
    if (!d)
        L->nomem = true;
    return d;
}

static char *dupf(struct ld *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *dupf(struct ld *L, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0) {
        s = NULL;
        L->nomem = true;
    }
    va_end(ap);
    return s;
}

static void *alloc_array(struct ld *L, size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        L->nomem = true;
    return p;
}

/* ---- fields ------------------------------------------------------------------ */

static const char *json_type_name(const cJSON *v)
{
    if (cJSON_IsObject(v)) return "an object";
    if (cJSON_IsArray(v)) return "an array";
    if (cJSON_IsString(v)) return "a string";
    if (cJSON_IsNumber(v)) return "a number";
    if (cJSON_IsBool(v)) return "a boolean";
    if (cJSON_IsNull(v)) return "null";
    return "invalid";
}

/* Reports unknown and duplicate fields of obj: known are those of
 * `allowed` and of `more` (may be NULL), each ending with NULL. */
static void check_fields2(struct ld *L, const cJSON *obj, const char *const *allowed,
                          const char *const *more)
{
    for (const cJSON *it = obj->child; it; it = it->next) {
        bool known = false;
        for (size_t i = 0; allowed[i]; i++)
            if (strcmp(it->string, allowed[i]) == 0)
                known = true;
        for (size_t i = 0; more && more[i]; i++)
            if (strcmp(it->string, more[i]) == 0)
                known = true;
        size_t m = push_key(L, it->string);
        if (!known)
            errf(L, "unknown field");
        for (const cJSON *p = obj->child; p != it; p = p->next)
            if (strcmp(p->string, it->string) == 0) {
                errf(L, "duplicate field");
                break;
            }
        pop(L, m);
    }
}

static void check_fields(struct ld *L, const cJSON *obj, const char *const *allowed)
{
    check_fields2(L, obj, allowed, NULL);
}

/* Is obj an object? Reports "must be an object" at the current path. */
static bool want_object(struct ld *L, const cJSON *v)
{
    if (cJSON_IsObject(v))
        return true;
    errf(L, "must be an object, not %s", json_type_name(v));
    return false;
}

static bool want_array(struct ld *L, const cJSON *v)
{
    if (cJSON_IsArray(v))
        return true;
    errf(L, "must be an array, not %s", json_type_name(v));
    return false;
}

static const cJSON *field(const cJSON *obj, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(obj, k);
}

/* String field: returns a copy (or NULL when absent / wrong). Empty strings
 * are errors: an empty value is never meaningful in this file. */
static char *get_str(struct ld *L, const cJSON *obj, const char *k, bool required)
{
    const cJSON *v = field(obj, k);
    size_t m = push_key(L, k);
    char *out = NULL;
    if (!v) {
        if (required)
            errf(L, "is required");
    } else if (!cJSON_IsString(v)) {
        errf(L, "must be a string, not %s", json_type_name(v));
    } else if (v->valuestring[0] == '\0') {
        errf(L, "must not be empty");
    } else {
        out = dup(L, v->valuestring);
    }
    pop(L, m);
    return out;
}

static bool get_u32(struct ld *L, const cJSON *obj, const char *k, bool required,
                    uint32_t lo, uint32_t hi, uint32_t dflt, uint32_t *out)
{
    const cJSON *v = field(obj, k);
    *out = dflt;
    if (!v) {
        if (required) {
            size_t m = push_key(L, k);
            errf(L, "is required");
            pop(L, m);
            return false;
        }
        return true;
    }
    size_t m = push_key(L, k);
    bool ok = cJSON_IsNumber(v) && v->valuedouble >= (double)lo &&
              v->valuedouble <= (double)hi && v->valuedouble == (double)(int64_t)v->valuedouble;
    if (ok)
        *out = (uint32_t)v->valuedouble;
    else
        errf(L, "must be an integer in %u..%u", lo, hi);
    pop(L, m);
    return ok;
}

static bool get_bool(struct ld *L, const cJSON *obj, const char *k, bool dflt, bool *out)
{
    const cJSON *v = field(obj, k);
    *out = dflt;
    if (!v)
        return true;
    if (!cJSON_IsBool(v)) {
        size_t m = push_key(L, k);
        errf(L, "must be a boolean, not %s", json_type_name(v));
        pop(L, m);
        return false;
    }
    *out = cJSON_IsTrue(v);
    return true;
}

/* ---- files and secrets ------------------------------------------------------ */

static char *resolve_path(struct ld *L, const char *p)
{
    if (p[0] == '/' || !L->base_dir || !L->base_dir[0])
        return dup(L, p);
    return dupf(L, "%s/%s", L->base_dir, p);
}

/* Reads a whole file, capped. Returns malloc'd NUL-terminated content or NULL
 * (and reports at the current path). */
static char *read_file_capped(struct ld *L, const char *shown, size_t cap, size_t *len)
{
    char *full = resolve_path(L, shown);
    if (!full)
        return NULL;
    FILE *f = s3w_fopen_regular(full);
    if (!f) {
        errf(L, "cannot read file '%s': %s", shown, s3w_regular_strerror(errno));
        free(full);
        return NULL;
    }
    free(full);
    char *buf = malloc(cap + 1);
    if (!buf) {
        fclose(f);
        L->nomem = true;
        return NULL;
    }
    size_t n = fread(buf, 1, cap + 1, f);
    bool err = ferror(f);
    fclose(f);
    if (err) {
        errf(L, "cannot read file '%s'", shown);
        s3w_wipe(buf, cap + 1);
        free(buf);
        return NULL;
    }
    if (n > cap) {
        errf(L, "file '%s' is larger than %zu bytes", shown, cap);
        s3w_wipe(buf, cap + 1);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static void trim_trailing_space(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
}

/* A secret given as exactly one of `<base>`, `<base>_file`, `<base>_env`.
 * Never echoes the secret in a message. Returns malloc'd secret or NULL. */
static char *get_secret(struct ld *L, const cJSON *obj, const char *base, bool required)
{
    char kf[64], ke[64];
    snprintf(kf, sizeof kf, "%s_file", base);
    snprintf(ke, sizeof ke, "%s_env", base);
    const cJSON *vi = field(obj, base), *vf = field(obj, kf), *ve = field(obj, ke);
    int count = (vi != NULL) + (vf != NULL) + (ve != NULL);
    if (count != 1) {
        if (count > 1 || required) {
            size_t m = push_key(L, base);
            errf(L, "exactly one of %s, %s, %s is required", base, kf, ke);
            pop(L, m);
        }
        return NULL;
    }
    char *out = NULL;
    if (vi) {
        size_t m = push_key(L, base);
        if (!cJSON_IsString(vi) || !vi->valuestring[0])
            errf(L, "must be a non-empty string");
        else
            out = dup(L, vi->valuestring);
        pop(L, m);
    } else if (vf) {
        char *fname = get_str(L, obj, kf, true);
        if (fname) {
            size_t m = push_key(L, kf);
            size_t n;
            out = read_file_capped(L, fname, CONFIG_MAX_SECRET_BYTES, &n);
            if (out) {
                trim_trailing_space(out);
                if (!out[0]) {
                    errf(L, "file '%s' is empty", fname);
                    config_free_secret(out);
                    out = NULL;
                }
            }
            pop(L, m);
            free(fname);
        }
    } else {
        char *var = get_str(L, obj, ke, true);
        if (var) {
            size_t m = push_key(L, ke);
            const char *val = getenv(var);
            if (!val || !val[0])
                errf(L, "environment variable %s is not set", var);
            else if (strlen(val) > CONFIG_MAX_SECRET_BYTES)
                errf(L, "environment variable %s is longer than %u bytes", var,
                     CONFIG_MAX_SECRET_BYTES);
            else
                out = dup(L, val);
            pop(L, m);
            free(var);
        }
    }
    return out;
}

/* ---- policies ------------------------------------------------------------- */

/* Compiles `json` and reports engine diagnostics prefixed with the current
 * config path: "<config path>.<engine path>: <engine message>". */
/* Role trust policies: a resource policy of another service (the engine's
 * any_service mode: Principal required, any service's actions and condition
 * keys such as sts:ExternalId). What is particular to trust policies is
 * checked here: NotPrincipal is refused, as IAM refuses it in trust policies
 * [NOTP]; a trust policy has no Resource (the role is the resource), so
 * "Resource": "*" is added to each statement for the engine's evaluation of
 * sts:AssumeRole on the role ARN. Returns the text to compile (malloc'd) or NULL with *bad set
 * when a trust-specific error was reported. On a JSON syntax error returns
 * NULL without *bad: the engine then reports the syntax error itself. */
#define KIND_TRUST ((enum policy_kind)100)

/* Adds an engine diagnostic "<path>: <message>" as "<config path>.<path>:
 * <message>" to `list` (allocated on first use for warnings). */
static void add_diag(struct ld *L, struct config_errors **listp, const char *file,
                     const char *t)
{
    if (!*listp) {
        *listp = calloc(1, sizeof **listp);
        if (!*listp) {
            L->nomem = true;
            return;
        }
    }
    const char *sep = strstr(t, ": ");
    char full[CONFIG_PATH_MAX + POLICY_DIAG_TEXT_MAX];
    if (sep && sep != t)
        snprintf(full, sizeof full, "%s.%.*s", L->path, (int)(sep - t), t);
    else
        snprintf(full, sizeof full, "%s", L->path);
    config_errors_add(*listp, file, full, "%s", sep ? sep + 2 : t);
}

/* A warning at an explicit config path (trust-policy checks). */
static void warn_at(struct ld *L, const char *file, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void warn_at(struct ld *L, const char *file, const char *path, const char *fmt, ...)
{
    if (!L->cfg->warnings && !(L->cfg->warnings = calloc(1, sizeof *L->cfg->warnings))) {
        L->nomem = true;
        return;
    }
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    config_errors_add(L->cfg->warnings, file, path, "%s", msg);
}

/* Whether the statement's Condition tests "<host_path>:aud" or ":sub" (any
 * operator; key names are case-insensitive [COND]). */
static bool conditions_name_aud_or_sub(const cJSON *stmt, const char *host_path)
{
    const cJSON *cond = cJSON_GetObjectItemCaseSensitive(stmt, "Condition");
    size_t hl = strlen(host_path);
    for (const cJSON *op = cJSON_IsObject(cond) ? cond->child : NULL; op; op = op->next)
        for (const cJSON *k = cJSON_IsObject(op) ? op->child : NULL; k; k = k->next)
            if (strlen(k->string) == hl + 4 && strncasecmp(k->string, host_path, hl) == 0 &&
                (strcasecmp(k->string + hl, ":aud") == 0 ||
                 strcasecmp(k->string + hl, ":sub") == 0))
                return true;
    return false;
}

/* A trust statement's {"Federated": ...} principals (IAM User Guide,
 * "Creating a role for web identity or OpenID Connect Federation"): an
 * OIDC provider ARN must be one oidc_providers configures, in the role's
 * own account (an error otherwise: the role could never be assumed, or
 * the operator meant another provider). A statement that trusts a provider
 * without testing :aud or :sub lets any token the issuer signs for a
 * configured client id assume the role: AWS warns, so do we. Other
 * Federated values (SAML providers, Cognito, Google's accounts.google.com)
 * are never matched by s3warden's STS. */
static void trust_check_federated(struct ld *L, const char *file, const cJSON *stmt,
                                  const char *spath, bool *bad)
{
    const cJSON *pr = cJSON_GetObjectItemCaseSensitive(stmt, "Principal");
    const cJSON *fed = cJSON_IsObject(pr) ? cJSON_GetObjectItemCaseSensitive(pr, "Federated")
                                          : NULL;
    if (!fed)
        return;
    char p[CONFIG_PATH_MAX + 96];
    snprintf(p, sizeof p, "%s.Principal.Federated", spath);
    const cJSON *one = cJSON_IsString(fed) ? fed : NULL;
    for (const cJSON *v = one ? one : (cJSON_IsArray(fed) ? fed->child : NULL); v;
         v = one ? NULL : v->next) {
        if (!cJSON_IsString(v))
            continue; /* the engine reports it */
        const char *arn = v->valuestring;
        if (strncmp(arn, "arn:aws:iam::", 13) != 0 || !strstr(arn, ":oidc-provider/")) {
            warn_at(L, file, p, "\"%.200s\" is not an OIDC provider ARN; s3warden's STS "
                    "accepts web identities only from oidc_providers, so this principal "
                    "never matches", arn);
            continue;
        }
        const struct config_oidc_provider *o = NULL;
        for (size_t i = 0; i < L->cfg->noidc_providers && !o; i++)
            if (L->cfg->oidc_providers[i].arn && strcmp(L->cfg->oidc_providers[i].arn, arn) == 0)
                o = &L->cfg->oidc_providers[i];
        if (!o) {
            config_errors_add(L->errs, file, p, "names OIDC provider %.300s, which "
                              "oidc_providers does not configure", arn);
            *bad = true;
        } else if (L->trust_account && strcmp(o->account, L->trust_account) != 0) {
            config_errors_add(L->errs, file, p, "names OIDC provider %.300s of account %s; "
                              "a role can only trust providers of its own account (%s)",
                              arn, o->account, L->trust_account);
            *bad = true;
        } else if (!conditions_name_aud_or_sub(stmt, o->host_path)) {
            warn_at(L, file, spath, "trusts OIDC provider %.300s without a condition on "
                    "%s:aud or %s:sub: any token the issuer signs for one of its client ids "
                    "can assume the role", arn, o->host_path, o->host_path);
        }
    }
}

static char *trust_rewrite(struct ld *L, const char *file, const char *json, size_t len, bool *bad)
{
    *bad = false;
    cJSON *doc = cJSON_ParseWithLength(json, len);
    if (!doc || !cJSON_IsObject(doc)) {
        cJSON_Delete(doc);
        return NULL;
    }
    cJSON *st = cJSON_GetObjectItemCaseSensitive(doc, "Statement");
    cJSON *one[1] = { st };
    size_t n = 0;
    cJSON **list = NULL;
    if (cJSON_IsArray(st)) {
        n = (size_t)cJSON_GetArraySize(st);
    } else if (cJSON_IsObject(st)) {
        n = 1;
        list = one;
    }
    char p[CONFIG_PATH_MAX + 64];
    for (size_t i = 0; i < n; i++) {
        cJSON *s = list ? list[0] : cJSON_GetArrayItem(st, (int)i);
        if (!cJSON_IsObject(s))
            continue; /* the engine reports it */
        if (list)
            snprintf(p, sizeof p, "%s.Statement", L->path);
        else
            snprintf(p, sizeof p, "%s.Statement[%zu]", L->path, i);
        if (cJSON_GetObjectItemCaseSensitive(s, "Resource") ||
            cJSON_GetObjectItemCaseSensitive(s, "NotResource")) {
            config_errors_add(L->errs, file, p, "a trust policy has no Resource or NotResource "
                              "(the role is the resource)");
            *bad = true;
        } else if (cJSON_GetObjectItemCaseSensitive(s, "NotPrincipal")) {
            config_errors_add(L->errs, file, p, "NotPrincipal is not allowed in a trust policy");
            *bad = true;
        } else if (!cJSON_GetObjectItemCaseSensitive(s, "Principal")) {
            config_errors_add(L->errs, file, p, "missing required field Principal (a trust "
                              "policy statement must name who may assume the role)");
            *bad = true;
        } else if (!cJSON_AddStringToObject(s, "Resource", "*")) {
            L->nomem = true;
            *bad = true;
        } else {
            trust_check_federated(L, file, s, p, bad);
        }
    }
    char *out = *bad ? NULL : cJSON_PrintUnformatted(doc);
    if (!*bad && !out)
        L->nomem = *bad = true;
    cJSON_Delete(doc);
    return out;
}

static struct policy *compile_text(struct ld *L, const char *file, const char *json,
                                   size_t len, enum policy_kind kind, const char *name,
                                   const char *bucket)
{
    char *rewritten = NULL;
    /* (a NUL would not survive the rewrite's parse and print: left to
     * policy_compile, which refuses it) */
    if (kind == KIND_TRUST && !json_text_has_nul(json, len)) {
        bool bad;
        rewritten = trust_rewrite(L, file, json, len, &bad);
        if (bad)
            return NULL;
        if (rewritten) {
            json = rewritten;
            len = strlen(rewritten);
        }
    }
    struct policy_diags *d = malloc(sizeof *d);
    if (!d) {
        L->nomem = true;
        cJSON_free(rewritten);
        return NULL;
    }
    policy_diags_init(d);
    bool trust = kind == KIND_TRUST;
    struct policy_compile_opts o = { .kind = trust ? POLICY_KIND_RESOURCE : kind, .name = name,
                                     .any_service = trust };
    if (bucket)
        o.bucket = s3w_slice_cstr(bucket);
    struct policy *p = NULL;
    int rc = policy_compile(json, len, &o, &p, d);
    for (size_t i = 0; i < d->n; i++) {
        if (d->items[i].severity != POLICY_SEV_WARNING)
            continue;
        /* sts:ExternalId and friends are what trust policies are about */
        if (trust && strstr(d->items[i].text, "is not an S3 or global key"))
            continue;
        add_diag(L, &L->cfg->warnings, file, d->items[i].text);
    }
    if (rc != POLICY_OK) {
        size_t shown = 0;
        for (size_t i = 0; i < d->n; i++) {
            if (d->items[i].severity != POLICY_SEV_ERROR)
                continue;
            add_diag(L, &L->errs, file, d->items[i].text);
            shown++;
        }
        if (!shown) {
            if (rc == POLICY_E_NOMEM)
                L->nomem = true;
            else
                config_errors_add(L->errs, file, L->path, "invalid policy: %s",
                                  policy_strerror(rc));
        }
        p = NULL;
    }
    free(d);
    cJSON_free(rewritten);
    return p;
}

static struct policy *compile_json(struct ld *L, const cJSON *doc, enum policy_kind kind,
                                   const char *name, const char *bucket, char **text_out)
{
    if (!cJSON_IsObject(doc)) {
        errf(L, "must be a policy document (a JSON object), not %s", json_type_name(doc));
        return NULL;
    }
    char *text = cJSON_PrintUnformatted(doc);
    if (!text) {
        L->nomem = true;
        return NULL;
    }
    struct policy *p = compile_text(L, L->file, text, strlen(text), kind, name, bucket);
    if (p && text_out && !(*text_out = strdup(text)))
        L->nomem = true;
    cJSON_free(text);
    return p;
}

/* A policy given inline as `<key>` (an object) or in `<key>_file`. Sets
 * *present when either was given. The compiled document's text stays in
 * L->policy_text until the next call: the file's bytes as written, or the
 * inline object printed without whitespace (cJSON keeps the key order). */
static struct policy *get_policy(struct ld *L, const cJSON *obj, const char *key,
                                 enum policy_kind kind, const char *name,
                                 const char *bucket, bool required, bool *present)
{
    char kf[64];
    snprintf(kf, sizeof kf, "%s_file", key);
    const cJSON *vi = field(obj, key), *vf = field(obj, kf);
    *present = vi || vf;
    free(L->policy_text);
    L->policy_text = NULL;
    if (vi && vf) {
        size_t m = push_key(L, key);
        errf(L, "only one of %s, %s may be set", key, kf);
        pop(L, m);
        return NULL;
    }
    if (!vi && !vf) {
        if (required) {
            size_t m = push_key(L, key);
            errf(L, "%s or %s is required", key, kf);
            pop(L, m);
        }
        return NULL;
    }
    struct policy *p = NULL;
    if (vi) {
        size_t m = push_key(L, key);
        p = compile_json(L, vi, kind, name, bucket, &L->policy_text);
        pop(L, m);
    } else {
        char *fname = get_str(L, obj, kf, true);
        if (!fname)
            return NULL;
        size_t m = push_key(L, kf);
        size_t n;
        char *text = read_file_capped(L, fname, CONFIG_MAX_POLICY_BYTES, &n);
        if (text) {
            p = compile_text(L, fname, text, n, kind, name, bucket);
            if (p) {
                /* kept as written (GetBucketPolicy), in n + 1 bytes, not
                 * the read buffer's CONFIG_MAX_POLICY_BYTES */
                char *t = realloc(text, n + 1);
                L->policy_text = t ? t : text;
                text = NULL;
            }
            free(text);
        }
        pop(L, m);
        free(fname);
    }
    return p;
}

/* "policies": [{"name": N, "document": {...}} | {"name": N, "document_file": F}] */
static void get_named_policies(struct ld *L, const cJSON *obj, const char *key,
                               enum policy_kind kind, struct config_policy **out,
                               size_t *nout, const struct policy ***ptrs)
{
    const cJSON *arr = field(obj, key);
    *out = NULL;
    *nout = 0;
    *ptrs = NULL;
    if (!arr)
        return;
    size_t m = push_key(L, key);
    if (want_array(L, arr)) {
        size_t n = (size_t)cJSON_GetArraySize(arr);
        *out = alloc_array(L, n, sizeof **out);
        size_t i = 0;
        for (const cJSON *it = arr->child; it && *out; it = it->next, i++) {
            size_t mi = push_idx(L, i);
            if (want_object(L, it)) {
                static const char *const allowed[] = { "name", "document", "document_file", NULL };
                check_fields(L, it, allowed);
                struct config_policy *cp = &(*out)[*nout];
                cp->name = get_str(L, it, "name", true);
                if (cp->name) {
                    size_t mn = push_key(L, "name");
                    if (!config_valid_iam_name(cp->name, 1, POLICY_NAME_MAX))
                        errf(L, "must be 1..%u characters of [A-Za-z0-9+=,.@_-]", POLICY_NAME_MAX);
                    for (size_t j = 0; j < *nout; j++)
                        if ((*out)[j].name && strcmp((*out)[j].name, cp->name) == 0)
                            errf(L, "duplicate policy name %s", cp->name);
                    pop(L, mn);
                }
                bool present;
                cp->compiled = get_policy(L, it, "document", kind,
                                          cp->name ? cp->name : "policy", NULL, true, &present);
                (*nout)++;
            }
            pop(L, mi);
        }
        *ptrs = alloc_array(L, *nout, sizeof **ptrs);
        for (size_t j = 0; *ptrs && j < *nout; j++)
            (*ptrs)[j] = (*out)[j].compiled;
    }
    pop(L, m);
}

/* ---- small validators ------------------------------------------------------ */

static bool all_digits(const char *s, size_t n)
{
    if (strlen(s) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static bool upper_alnum(const char *s, size_t min, size_t max)
{
    size_t n = strlen(s);
    if (n < min || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')))
            return false;
    return true;
}

/* IAM paths: "/" or "/a/b/" of printable ASCII without spaces, <= 512. */
static bool valid_iam_path(const char *p)
{
    size_t n = strlen(p);
    if (n < 1 || n > 512 || p[0] != '/' || p[n - 1] != '/')
        return false;
    for (size_t i = 0; i < n; i++)
        if (p[i] <= ' ' || p[i] > '~')
            return false;
    return true;
}

/* S3 bucket naming rules (general purpose buckets): 3..63 of [a-z0-9.-],
 * beginning and ending with a letter or digit, no "..", not an IP address. */
static bool valid_bucket_name(const char *b)
{
    size_t n = strlen(b);
    if (n < 3 || n > 63)
        return false;
    int dots = 0;
    bool all_num = true;
    for (size_t i = 0; i < n; i++) {
        char c = b[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
            return false;
        if (c == '.') {
            dots++;
            if (i + 1 < n && b[i + 1] == '.')
                return false;
        } else if (!(c >= '0' && c <= '9')) {
            all_num = false;
        }
    }
    bool alnum_first = (b[0] >= 'a' && b[0] <= 'z') || (b[0] >= '0' && b[0] <= '9');
    bool alnum_last = (b[n - 1] >= 'a' && b[n - 1] <= 'z') || (b[n - 1] >= '0' && b[n - 1] <= '9');
    if (!alnum_first || !alnum_last)
        return false;
    return !(all_num && dots == 3);
}

static bool valid_dns_name(const char *d)
{
    size_t n = strlen(d);
    if (n < 1 || n > 253 || d[0] == '.' || d[n - 1] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = d[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
            return false;
    }
    return true;
}

static bool is_http_url(const char *u)
{
    return (strncmp(u, "http://", 7) == 0 && u[7]) || (strncmp(u, "https://", 8) == 0 && u[8]);
}

static bool account_known(struct ld *L, const char *id)
{
    return smap_get(&L->accounts, id) != NULL;
}

/* "account": a known 12-digit account id. */
static char *get_account_ref(struct ld *L, const cJSON *obj)
{
    char *a = get_str(L, obj, "account", true);
    if (!a)
        return NULL;
    size_t m = push_key(L, "account");
    if (!all_digits(a, 12))
        errf(L, "must be a 12-digit account id");
    else if (!account_known(L, a))
        errf(L, "unknown account %s (not in accounts)", a);
    pop(L, m);
    return a;
}

/* "tags": {"key": "value", ...}: at most 50, keys 1..128, values 0..256
 * (IAM tag limits). */
static void get_tags(struct ld *L, const cJSON *obj, struct config_tag **out, size_t *nout)
{
    const cJSON *t = field(obj, "tags");
    *out = NULL;
    *nout = 0;
    if (!t)
        return;
    size_t m = push_key(L, "tags");
    if (want_object(L, t)) {
        size_t n = (size_t)cJSON_GetArraySize(t);
        if (n > 50) {
            errf(L, "at most 50 tags are allowed");
        } else {
            *out = alloc_array(L, n, sizeof **out);
            for (const cJSON *it = t->child; it && *out; it = it->next) {
                size_t mk = push_key(L, it->string);
                size_t kl = strlen(it->string);
                if (kl < 1 || kl > 128)
                    errf(L, "tag keys must be 1..128 characters");
                else if (!cJSON_IsString(it))
                    errf(L, "must be a string, not %s", json_type_name(it));
                else if (strlen(it->valuestring) > 256)
                    errf(L, "tag values must be at most 256 characters");
                else {
                    bool dupk = false;
                    for (size_t j = 0; j < *nout; j++)
                        if (strcasecmp((*out)[j].key, it->string) == 0)
                            dupk = true;
                    if (dupk) {
                        /* IAM tag keys are case-insensitive unique */
                        errf(L, "duplicate tag key (tag keys are case-insensitive)");
                    } else {
                        struct config_tag *tg = &(*out)[(*nout)++];
                        tg->key = dup(L, it->string);
                        tg->value = dup(L, it->valuestring);
                        tg->context_key = dupf(L, "aws:PrincipalTag/%s", it->string);
                    }
                }
                pop(L, mk);
            }
        }
    }
    pop(L, m);
}

/* ---- sections -------------------------------------------------------------- */

static void load_listeners(struct ld *L, const cJSON *root)
{
    const cJSON *arr = field(root, "listeners");
    size_t m = push_key(L, "listeners");
    if (!arr) {
        errf(L, "is required");
    } else if (want_array(L, arr)) {
        size_t n = (size_t)cJSON_GetArraySize(arr);
        if (n == 0)
            errf(L, "at least one listener is required");
        /* serve binds listeners[0] only: a second entry would be ignored
         * without a word, so it is refused (by validate too) */
        if (n > 1)
            errf(L, "%zu listeners given, but s3warden serves exactly one (listeners[0]); "
                 "remove the others or run one s3warden per listener", n);
        struct config_listener *ls = L->cfg->listeners = alloc_array(L, n, sizeof *ls);
        size_t i = 0;
        for (const cJSON *it = arr->child; it && ls; it = it->next, i++) {
            size_t mi = push_idx(L, i);
            if (want_object(L, it)) {
                static const char *const allowed[] = { "address", "port", "tls", NULL };
                check_fields(L, it, allowed);
                struct config_listener *l = &ls[L->cfg->nlisteners++];
                l->address = get_str(L, it, "address", true);
                uint32_t port;
                if (get_u32(L, it, "port", true, 1, 65535, 0, &port))
                    l->port = (uint16_t)port;
                const cJSON *tls = field(it, "tls");
                if (tls) {
                    size_t mt = push_key(L, "tls");
                    if (want_object(L, tls)) {
                        static const char *const ta[] = { "cert_file", "key_file", NULL };
                        check_fields(L, tls, ta);
                        char *c = get_str(L, tls, "cert_file", true);
                        char *k = get_str(L, tls, "key_file", true);
                        l->tls_cert_file = c ? resolve_path(L, c) : NULL;
                        l->tls_key_file = k ? resolve_path(L, k) : NULL;
                        free(c);
                        free(k);
                    }
                    pop(L, mt);
                }
                for (size_t j = 0; j + 1 < L->cfg->nlisteners; j++)
                    if (l->address && ls[j].address && l->port &&
                        strcmp(ls[j].address, l->address) == 0 && ls[j].port == l->port) {
                        errf(L, "duplicate listener %s:%u", l->address, l->port);
                        break;
                    }
            }
            pop(L, mi);
        }
    }
    pop(L, m);
}

static void load_vhost_domains(struct ld *L, const cJSON *root)
{
    const cJSON *arr = field(root, "virtual_host_domains");
    if (!arr)
        return;
    size_t m = push_key(L, "virtual_host_domains");
    if (want_array(L, arr)) {
        size_t n = (size_t)cJSON_GetArraySize(arr);
        char **d = L->cfg->virtual_host_domains = alloc_array(L, n, sizeof *d);
        size_t i = 0;
        for (const cJSON *it = arr->child; it && d; it = it->next, i++) {
            size_t mi = push_idx(L, i);
            if (!cJSON_IsString(it))
                errf(L, "must be a string, not %s", json_type_name(it));
            else if (!valid_dns_name(it->valuestring))
                errf(L, "must be a lower-case DNS name, e.g. \"s3.example.com\"");
            else
                d[L->cfg->nvirtual_host_domains++] = dup(L, it->valuestring);
            pop(L, mi);
        }
    }
    pop(L, m);
}

static void load_unlisted_buckets(struct ld *L, const cJSON *root)
{
    L->cfg->unlisted_buckets = CONFIG_UNLISTED_DENY;
    char *v = get_str(L, root, "unlisted_buckets", false);
    if (!v)
        return;
    if (strcmp(v, "caller_account") == 0) {
        L->cfg->unlisted_buckets = CONFIG_UNLISTED_CALLER_ACCOUNT;
    } else if (strcmp(v, "deny") != 0) {
        size_t m = push_key(L, "unlisted_buckets");
        errf(L, "must be \"deny\" or \"caller_account\"");
        pop(L, m);
    }
    free(v);
}

/* Writes few S3-compatible stores implement, which one that does not may
 * run as another (probe 26, moto: RenameObject as a PutObject that empties
 * the object, DELETE ?metrics as DeleteBucket, PUT ?abac as CreateBucket):
 * not sent to a store other than AWS S3 unless its "operations" names
 * them (docs/config.md lists them). Reads are not here: an answer that is
 * another operation's is not passed on (relay.c). */
#define N_RARE_WRITES 13
static const char *const RARE_WRITES[N_RARE_WRITES] = {
    "RenameObject", "UpdateObjectEncryption", "PutBucketAbac", "Create*Metadata*",
    "Delete*Metadata*", "Update*Metadata*", "Put*IntelligentTiering*", "Delete*IntelligentTiering*",
    "Put*Analytics*", "Delete*Analytics*", "Put*Metrics*", "Delete*Metrics*",
    "PutBucketRequestPayment",
};

/* Whether an endpoint URL's host is AWS S3's (amazonaws.com, or .com.cn). */
static bool aws_endpoint(const char *url)
{
    const char *h = url ? strstr(url, "://") : NULL;
    if (!h)
        return false;
    h += 3;
    size_t n = strcspn(h, ":/?#");
    static const char *const suffixes[2] = { ".amazonaws.com", ".amazonaws.com.cn" };
    for (size_t i = 0; i < 2; i++) {
        size_t k = strlen(suffixes[i]);
        if (n > k && strncasecmp(h + n - k, suffixes[i], k) == 0)
            return true;
    }
    return false;
}

/* "operations": S3 operation names, or patterns (fnmatch: *, ?, [...])
 * that name at least one; into up->ops (config_upstream_takes). Absent:
 * every operation for AWS S3, all but RARE_WRITES for another store. */
static void load_operations(struct ld *L, const cJSON *u, struct config_upstream *up)
{
    _Static_assert(sizeof(up->ops) * 8 >= 128, "ops: a bit per operation");
    const cJSON *arr = field(u, "operations");
    if (!arr) {
        if (aws_endpoint(up->endpoint) || s3map_ops_count > sizeof(up->ops) * 8)
            return;
        up->ops_limited = up->ops_default = true;
        for (size_t k = 0; k < s3map_ops_count; k++) {
            bool rare = false;
            for (size_t i = 0; i < N_RARE_WRITES && !rare; i++)
                rare = fnmatch(RARE_WRITES[i], s3map_ops_table[k].name, 0) == 0;
            if (!rare)
                up->ops[k / 64] |= 1ull << (k % 64);
        }
        return;
    }
    size_t m = push_key(L, "operations");
    if (s3map_ops_count > sizeof(up->ops) * 8) {
        errf(L, "more S3 operations than s3warden can list (%zu)", s3map_ops_count);
    } else if (want_array(L, arr)) {
        up->ops_limited = true;
        if (!arr->child)
            errf(L, "must name at least one operation (leave it out for all of them)");
        size_t i = 0;
        for (const cJSON *it = arr->child; it; it = it->next, i++) {
            size_t mi = push_idx(L, i);
            bool any = false;
            if (!cJSON_IsString(it)) {
                errf(L, "must be a string, not %s", json_type_name(it));
            } else {
                for (size_t k = 0; k < s3map_ops_count; k++) {
                    if (fnmatch(it->valuestring, s3map_ops_table[k].name, 0) != 0)
                        continue;
                    up->ops[k / 64] |= 1ull << (k % 64);
                    any = true;
                }
                if (!any)
                    errf(L, "\"%s\" names no S3 operation (names as in the S3 API reference, "
                            "e.g. \"GetObject\", or patterns such as \"Get*\")", it->valuestring);
            }
            pop(L, mi);
        }
    }
    pop(L, m);
}

/* The fields every upstream has, from the object u (checked by the caller:
 * "upstream" takes exactly these, an "upstreams" entry a few more). */
static void load_upstream_fields(struct ld *L, const cJSON *u, struct config_upstream *up)
{
    up->endpoint = get_str(L, u, "endpoint", true);
    if (up->endpoint && !is_http_url(up->endpoint)) {
        size_t me = push_key(L, "endpoint");
        errf(L, "must be an http:// or https:// URL");
        pop(L, me);
    }
    up->region = get_str(L, u, "region", true);
    char *addr = get_str(L, u, "addressing", false);
    up->addressing = CONFIG_ADDRESSING_PATH;
    if (addr) {
        if (strcmp(addr, "virtual") == 0)
            up->addressing = CONFIG_ADDRESSING_VIRTUAL;
        else if (strcmp(addr, "path") != 0) {
            size_t ma = push_key(L, "addressing");
            errf(L, "must be \"path\" or \"virtual\"");
            pop(L, ma);
        }
        free(addr);
    }
    get_bool(L, u, "tls_verify", true, &up->tls_verify);
    char *ca = get_str(L, u, "ca_file", false);
    if (ca) {
        up->ca_file = resolve_path(L, ca);
        free(ca);
    }
    get_u32(L, u, "connect_timeout_ms", false, 1, 600000, 5000, &up->connect_timeout_ms);
    get_u32(L, u, "first_byte_timeout_ms", false, 1, 3600000, 60000, &up->first_byte_timeout_ms);
    get_u32(L, u, "idle_timeout_ms", false, 1, 3600000, 60000, &up->idle_timeout_ms);
    get_u32(L, u, "max_connections", false, 1, 100000, 512, &up->max_connections);
    get_u32(L, u, "max_connections_per_host", false, 1, 100000, 128,
            &up->max_connections_per_host);
    /* one identity must not be able to hold every upstream connection
     * (a few hundred unread GETs did): a quarter by default */
    uint32_t per_id = up->max_connections / 4 ? up->max_connections / 4 : 1;
    get_u32(L, u, "max_connections_per_identity", false, 1, 100000, per_id,
            &up->max_connections_per_identity);
    up->max_connections_per_identity_set = field(u, "max_connections_per_identity") != NULL;
    get_bool(L, u, "decode_aws_chunked", false, &up->decode_aws_chunked);
    load_operations(L, u, up);
}

static const char *const upstream_fields[] = {
    "endpoint", "region", "addressing", "tls_verify", "ca_file",
    "connect_timeout_ms", "first_byte_timeout_ms", "idle_timeout_ms",
    "max_connections", "max_connections_per_host",
    "max_connections_per_identity", "decode_aws_chunked", "operations", NULL
};

static void load_credentials_fields(struct ld *L, const cJSON *c, struct config_credentials *cr,
                                    const char *const *more);

/* What an "upstreams" entry has besides upstream_fields. */
static const char *const upstreams_fields[] = { "name", "credentials", "readiness", NULL };

/* Upstream and credential-set names: 1..64 of [A-Za-z0-9_.-]. They are
 * metrics label values and log words: no spaces, quotes or separators. */
static bool valid_ref_name(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

/* "a, b, c" for messages that say what there is to name; capped. */
struct namelist {
    char buf[600];
    size_t len;
};

static void namelist_add(struct namelist *l, const char *name)
{
    if (!name || l->len + 1 >= sizeof l->buf)
        return;
    int w = snprintf(l->buf + l->len, sizeof l->buf - l->len, "%s%s", l->len ? ", " : "", name);
    if (w < 0 || (size_t)w >= sizeof l->buf - l->len)
        snprintf(l->buf + sizeof l->buf - 5, 5, "...");
    l->len = strlen(l->buf);
}

/* The upstream named `name` among those loaded so far (linear: few). */
static const struct config_upstream *upstream_named(const struct config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nupstreams; i++)
        if (cfg->upstreams[i].name && strcmp(cfg->upstreams[i].name, name) == 0)
            return &cfg->upstreams[i];
    return NULL;
}

/* A reference to an upstream in field `key` of the current object (a
 * bucket's, an audit sink's "upstream"): the upstream, or NULL with an
 * error naming those there are. */
static const struct config_upstream *upstream_ref(struct ld *L, const char *key, const char *name)
{
    const struct config_upstream *up = upstream_named(L->cfg, name);
    if (!up) {
        struct namelist nl = { .len = 0 };
        for (size_t i = 0; i < L->cfg->nupstreams; i++)
            namelist_add(&nl, L->cfg->upstreams[i].name);
        size_t m = push_key(L, key);
        errf(L, "no upstream named \"%s\" (upstreams: %s)", name, nl.buf);
        pop(L, m);
    }
    return up;
}

/* One "upstreams" entry into `up`; `own` is the credential set its own
 * chain goes to (an object "credentials"); a name or none is resolved by
 * resolve_upstream_credentials() once the sets are loaded. */
static void load_upstreams_entry(struct ld *L, const cJSON *it, struct config_upstream *up,
                                 struct config_credentials *own, size_t own_idx)
{
    check_fields2(L, it, upstream_fields, upstreams_fields);
    up->name = get_str(L, it, "name", true);
    if (up->name) {
        size_t mn = push_key(L, "name");
        if (!valid_ref_name(up->name)) {
            errf(L, "must be 1..64 characters of [A-Za-z0-9_.-]");
        } else {
            for (struct config_upstream *o = L->cfg->upstreams; o < up; o++) {
                if (!o->name || strcmp(o->name, up->name) != 0)
                    continue;
                if (L->up_src[o - L->cfg->upstreams].entry)
                    errf(L, "duplicate upstream %s", up->name);
                else
                    errf(L, "duplicate upstream default (the \"upstream\" object is the "
                            "upstream named default)");
                break;
            }
        }
        pop(L, mn);
    }
    load_upstream_fields(L, it, up);
    const cJSON *c = field(it, "credentials");
    if (cJSON_IsObject(c) && own) {
        /* not a name a credential set can have (no ':'), and stable across
         * reloads while the upstream keeps its name */
        own->name = dupf(L, "upstream:%s", up->name ? up->name : "?");
        up->credentials = own_idx;
        size_t mc = push_key(L, "credentials");
        load_credentials_fields(L, c, own, NULL);
        pop(L, mc);
    }
    char *r = get_str(L, it, "readiness", false);
    up->readiness = CONFIG_READINESS_REQUIRED;
    if (r) {
        if (strcmp(r, "optional") == 0) {
            up->readiness = CONFIG_READINESS_OPTIONAL;
        } else if (strcmp(r, "required") != 0) {
            size_t mr = push_key(L, "readiness");
            errf(L, "must be \"required\" or \"optional\"");
            pop(L, mr);
        }
        free(r);
    }
}

/* The stores: the legacy "upstream" object (the upstream named "default",
 * with the top-level credentials, set 0) and the "upstreams" entries, in
 * that order, and "default_upstream". cfg->upstreams and
 * cfg->credential_sets are allocated here, once and at their full size:
 * buckets and audit sinks keep pointers into the first. */
static void load_upstreams(struct ld *L, const cJSON *root)
{
    const cJSON *u = field(root, "upstream"), *arr = field(root, "upstreams");
    const cJSON *sets = field(root, "credential_sets");
    size_t nlegacy = u ? 1 : 0;
    size_t narr = cJSON_IsArray(arr) ? (size_t)cJSON_GetArraySize(arr) : 0;
    size_t nsets = cJSON_IsArray(sets) ? (size_t)cJSON_GetArraySize(sets) : 0;
    size_t nown = 0;
    for (const cJSON *it = cJSON_IsArray(arr) ? arr->child : NULL; it; it = it->next)
        if (cJSON_IsObject(it) && cJSON_IsObject(field(it, "credentials")))
            nown++;
    struct config *cfg = L->cfg;
    cfg->credential_sets = alloc_array(L, 1 + nsets + nown, sizeof *cfg->credential_sets);
    cfg->upstreams = alloc_array(L, nlegacy + narr, sizeof *cfg->upstreams);
    L->up_src = alloc_array(L, nlegacy + narr, sizeof *L->up_src);
    if (!cfg->credential_sets || !cfg->upstreams || !L->up_src)
        return;
    cfg->ncredential_sets = 1 + nsets + nown;
    L->ncred_named = 1 + nsets;
    cfg->nupstreams = nlegacy + narr;
    if (nlegacy + narr > CONFIG_MAX_UPSTREAMS || 1 + nsets + nown > CONFIG_MAX_CREDENTIAL_SETS) {
        bool ups = nlegacy + narr > CONFIG_MAX_UPSTREAMS;
        size_t m = push_key(L, ups ? "upstreams" : "credential_sets");
        if (ups)
            errf(L, "%zu upstreams given (with \"upstream\"); at most %d", nlegacy + narr,
                 CONFIG_MAX_UPSTREAMS);
        else
            errf(L, "%zu credential sets given (with the top-level \"credentials\" and the "
                 "upstreams' own); at most %d", 1 + nsets + nown, CONFIG_MAX_CREDENTIAL_SETS);
        pop(L, m); /* and read on, so that no other error follows from this one */
    }
    if (!u && !arr) {
        size_t m = push_key(L, "upstream");
        errf(L, "is required");
        pop(L, m);
        return;
    }
    if (u) {
        size_t m = push_key(L, "upstream");
        if (want_object(L, u)) {
            struct config_upstream *up = &cfg->upstreams[0];
            up->name = dup(L, "default");
            up->credentials = 0;
            check_fields(L, u, upstream_fields);
            load_upstream_fields(L, u, up);
        }
        pop(L, m);
    }
    if (arr) {
        size_t m = push_key(L, "upstreams");
        if (want_array(L, arr)) {
            if (narr == 0 && !u)
                errf(L, "at least one upstream is required");
            size_t i = 0, own = L->ncred_named;
            for (const cJSON *it = arr->child; it; it = it->next, i++) {
                size_t mi = push_idx(L, i);
                L->up_src[nlegacy + i] = (struct up_src){ it, i };
                if (want_object(L, it)) {
                    bool has_own = cJSON_IsObject(field(it, "credentials"));
                    load_upstreams_entry(L, it, &cfg->upstreams[nlegacy + i],
                                         has_own ? &cfg->credential_sets[own] : NULL, own);
                    own += has_own;
                }
                pop(L, mi);
            }
        }
        pop(L, m);
    }
    char *d = get_str(L, root, "default_upstream", false);
    if (d) {
        cfg->upstream = upstream_ref(L, "default_upstream", d);
        free(d);
    } else if (u || narr == 1) {
        cfg->upstream = &cfg->upstreams[0];
    } else if (narr > 1) {
        size_t m = push_key(L, "default_upstream");
        errf(L, "is required: \"upstreams\" has %zu entries and there is no \"upstream\"", narr);
        pop(L, m);
    }
}

static const char *const cred_types[] = { "static", "env", "profile", "imds", "ecs",
                                          "web_identity", NULL };

static void load_provider(struct ld *L, const cJSON *it, struct config_cred_provider *p)
{
    char *type = get_str(L, it, "type", true);
    if (!type)
        return;
    int t = -1;
    for (int i = 0; cred_types[i]; i++)
        if (strcmp(type, cred_types[i]) == 0)
            t = i;
    free(type);
    if (t < 0) {
        size_t m = push_key(L, "type");
        errf(L, "must be one of static, env, profile, imds, ecs, web_identity");
        pop(L, m);
        return;
    }
    p->source = (enum config_cred_source)t;
    switch (p->source) {
    case CONFIG_CRED_STATIC: {
        static const char *const a[] = { "type", "access_key_id", "secret", "secret_file",
                                         "secret_env", "session_token", NULL };
        check_fields(L, it, a);
        p->access_key_id = get_str(L, it, "access_key_id", true);
        p->secret_access_key = get_secret(L, it, "secret", true);
        p->session_token = get_str(L, it, "session_token", false);
        break;
    }
    case CONFIG_CRED_ENV: {
        static const char *const a[] = { "type", NULL };
        check_fields(L, it, a);
        break;
    }
    case CONFIG_CRED_PROFILE: {
        static const char *const a[] = { "type", "profile", "credentials_file", "config_file", NULL };
        check_fields(L, it, a);
        p->profile = get_str(L, it, "profile", false);
        char *cf = get_str(L, it, "credentials_file", false);
        char *kf = get_str(L, it, "config_file", false);
        p->credentials_file = cf ? resolve_path(L, cf) : NULL;
        p->config_file = kf ? resolve_path(L, kf) : NULL;
        free(cf);
        free(kf);
        break;
    }
    case CONFIG_CRED_IMDS: {
        static const char *const a[] = { "type", "endpoint", NULL };
        check_fields(L, it, a);
        p->endpoint = get_str(L, it, "endpoint", false);
        break;
    }
    case CONFIG_CRED_ECS: {
        static const char *const a[] = { "type", "endpoint", "authorization_token_file", NULL };
        check_fields(L, it, a);
        p->endpoint = get_str(L, it, "endpoint", false);
        char *tf = get_str(L, it, "authorization_token_file", false);
        p->authorization_token_file = tf ? resolve_path(L, tf) : NULL;
        free(tf);
        break;
    }
    case CONFIG_CRED_WEB_IDENTITY: {
        static const char *const a[] = { "type", "token_file", "role_arn", "session_name",
                                         "sts_endpoint", NULL };
        check_fields(L, it, a);
        char *tf = get_str(L, it, "token_file", true);
        p->token_file = tf ? resolve_path(L, tf) : NULL;
        free(tf);
        p->role_arn = get_str(L, it, "role_arn", true);
        p->session_name = get_str(L, it, "session_name", false);
        p->sts_endpoint = get_str(L, it, "sts_endpoint", false);
        break;
    }
    }
    if (p->endpoint && !is_http_url(p->endpoint)) {
        size_t m = push_key(L, "endpoint");
        errf(L, "must be an http:// or https:// URL");
        pop(L, m);
    }
    if (p->sts_endpoint && !is_http_url(p->sts_endpoint)) {
        size_t m = push_key(L, "sts_endpoint");
        errf(L, "must be an http:// or https:// URL");
        pop(L, m);
    }
}

static bool valid_role_arn(const char *a)
{
    /* arn:aws:iam::<12 digits>:role/<path+name> */
    if (strncmp(a, "arn:", 4) != 0)
        return false;
    const char *p = strchr(a + 4, ':'); /* after partition */
    if (!p || strncmp(p, ":iam::", 6) != 0)
        return false;
    p += 6;
    for (int i = 0; i < 12; i++)
        if (p[i] < '0' || p[i] > '9')
            return false;
    return strncmp(p + 12, ":role/", 6) == 0 && p[18] != '\0';
}

/* A credential chain from the object c (the top-level "credentials", a
 * "credential_sets" entry, an upstream's own; NULL: the SDKs' default
 * chain), which may also have the fields of `more` (the caller loads them).
 * The caller pushed c's key. */
static void load_credentials_fields(struct ld *L, const cJSON *c, struct config_credentials *cr,
                                    const char *const *more)
{
    cr->refresh_before_seconds = 300;
    if (!c) {
        /* the SDKs' default chain, minus web identity (needs its settings) */
        static const enum config_cred_source dflt[] = { CONFIG_CRED_ENV, CONFIG_CRED_PROFILE,
                                                        CONFIG_CRED_ECS, CONFIG_CRED_IMDS };
        cr->chain = alloc_array(L, 4, sizeof *cr->chain);
        if (cr->chain) {
            for (size_t i = 0; i < 4; i++)
                cr->chain[i].source = dflt[i];
            cr->nchain = 4;
        }
        return;
    }
    if (want_object(L, c)) {
        static const char *const allowed[] = { "chain", "assume_role", "refresh_before_seconds", NULL };
        check_fields2(L, c, allowed, more);
        get_u32(L, c, "refresh_before_seconds", false, 60, 3600, 300, &cr->refresh_before_seconds);
        const cJSON *ch = field(c, "chain");
        size_t mc = push_key(L, "chain");
        if (!ch) {
            errf(L, "is required");
        } else if (want_array(L, ch)) {
            size_t n = (size_t)cJSON_GetArraySize(ch);
            if (n == 0)
                errf(L, "at least one provider is required");
            cr->chain = alloc_array(L, n, sizeof *cr->chain);
            size_t i = 0;
            for (const cJSON *it = ch->child; it && cr->chain; it = it->next, i++) {
                size_t mi = push_idx(L, i);
                if (want_object(L, it))
                    load_provider(L, it, &cr->chain[cr->nchain++]);
                pop(L, mi);
            }
        }
        pop(L, mc);
        const cJSON *ar = field(c, "assume_role");
        if (ar) {
            size_t ma = push_key(L, "assume_role");
            if (want_object(L, ar)) {
                static const char *const a[] = { "role_arn", "external_id", "session_name",
                                                 "duration_seconds", "sts_endpoint", "region",
                                                 NULL };
                check_fields(L, ar, a);
                struct config_assume_role *as = &cr->assume_role;
                as->enabled = true;
                as->role_arn = get_str(L, ar, "role_arn", true);
                if (as->role_arn && !valid_role_arn(as->role_arn)) {
                    size_t mr = push_key(L, "role_arn");
                    errf(L, "must be a role ARN, arn:aws:iam::ACCOUNT:role/NAME");
                    pop(L, mr);
                }
                as->external_id = get_str(L, ar, "external_id", false);
                as->session_name = get_str(L, ar, "session_name", false);
                if (as->session_name && !config_valid_iam_name(as->session_name, 2, 64)) {
                    size_t ms = push_key(L, "session_name");
                    errf(L, "must be 2..64 characters of [A-Za-z0-9+=,.@_-]");
                    pop(L, ms);
                }
                if (!as->session_name && !L->nomem)
                    as->session_name = dup(L, "s3warden");
                get_u32(L, ar, "duration_seconds", false, 900, 43200, 3600, &as->duration_seconds);
                as->sts_endpoint = get_str(L, ar, "sts_endpoint", false);
                if (as->sts_endpoint && !is_http_url(as->sts_endpoint)) {
                    size_t me = push_key(L, "sts_endpoint");
                    errf(L, "must be an http:// or https:// URL");
                    pop(L, me);
                }
                as->region = get_str(L, ar, "region", false);
            }
            pop(L, ma);
        }
    }
}

/* What a "credential_sets" entry has besides the fields of "credentials". */
static const char *const credential_set_fields[] = { "name", NULL };

/* The credentials of each "upstreams" entry that has no chain of its own:
 * a credential set's name ("default": set 0, the top-level "credentials" or,
 * without them, the SDKs' chain), or none: the top-level "credentials",
 * which must then be given - an upstream without a word about its
 * credentials does not quietly get the host's ambient ones. */
static void resolve_upstream_credentials(struct ld *L)
{
    struct config *cfg = L->cfg;
    for (size_t s = 0; s < cfg->nupstreams; s++) {
        const cJSON *it = L->up_src[s].entry;
        if (!cJSON_IsObject(it))
            continue; /* the legacy "upstream", or an error reported */
        const cJSON *c = field(it, "credentials");
        if (cJSON_IsObject(c))
            continue; /* its own chain */
        size_t m = push_key(L, "upstreams");
        push_idx(L, L->up_src[s].idx);
        if (!c) {
            if (!L->top_credentials)
                errf(L, "has no \"credentials\" and there is no top-level \"credentials\" "
                        "(give its own, or name a credential set)");
        } else {
            size_t mc = push_key(L, "credentials");
            if (!cJSON_IsString(c)) {
                errf(L, "must be an object (the upstream's own chain) or the name of a "
                        "credential set, not %s", json_type_name(c));
            } else if (!c->valuestring[0]) {
                errf(L, "must not be empty");
            } else {
                size_t k = 0;
                while (k < L->ncred_named && (!cfg->credential_sets[k].name ||
                                              strcmp(cfg->credential_sets[k].name,
                                                     c->valuestring) != 0))
                    k++;
                if (k < L->ncred_named) {
                    cfg->upstreams[s].credentials = k;
                } else {
                    struct namelist nl = { .len = 0 };
                    for (size_t j = 0; j < L->ncred_named; j++)
                        namelist_add(&nl, cfg->credential_sets[j].name);
                    errf(L, "no credential set named \"%s\" (credential sets: %s)",
                         c->valuestring, nl.buf);
                }
            }
            pop(L, mc);
        }
        pop(L, m);
    }
}

/* The top-level "credentials": credential set 0, named "default"; then
 * the "credential_sets" entries, sets 1..n (load_upstreams allocated them,
 * and put the upstreams' own chains after them). */
static void load_credentials(struct ld *L, const cJSON *root)
{
    struct config_credentials *sets = L->cfg->credential_sets;
    if (!sets)
        return;
    sets[0].name = dup(L, "default");
    const cJSON *c = field(root, "credentials");
    L->top_credentials = c != NULL;
    size_t m = c ? push_key(L, "credentials") : 0;
    load_credentials_fields(L, c, &sets[0], NULL);
    if (c)
        pop(L, m);
    const cJSON *arr = field(root, "credential_sets");
    if (arr) {
        m = push_key(L, "credential_sets");
        size_t i = 0;
        for (const cJSON *it = want_array(L, arr) ? arr->child : NULL;
             it && 1 + i < L->ncred_named; it = it->next, i++) {
            size_t mi = push_idx(L, i);
            struct config_credentials *cr = &sets[1 + i];
            if (want_object(L, it)) {
                cr->name = get_str(L, it, "name", true);
                size_t mn = push_key(L, "name");
                if (cr->name && !valid_ref_name(cr->name)) {
                    errf(L, "must be 1..64 characters of [A-Za-z0-9_.-]");
                } else if (cr->name && strcmp(cr->name, "default") == 0) {
                    errf(L, "\"default\" is the name of the top-level \"credentials\"; "
                            "choose another name");
                } else {
                    for (size_t j = 1; cr->name && j < 1 + i; j++)
                        if (sets[j].name && strcmp(sets[j].name, cr->name) == 0) {
                            errf(L, "duplicate credential set %s", cr->name);
                            break;
                        }
                }
                pop(L, mn);
                /* a "credentials" object, so the same loader (an entry
                 * without "chain" gets its "is required") */
                load_credentials_fields(L, it, cr, credential_set_fields);
            }
            pop(L, mi);
        }
        pop(L, m);
    }
    if (L->up_src)
        resolve_upstream_credentials(L);
}

static void load_access_keys(struct ld *L, const cJSON *obj, struct config_access_key **keys,
                             size_t *nkeys);

static void load_accounts(struct ld *L, const cJSON *root)
{
    const cJSON *arr = field(root, "accounts");
    if (!arr)
        return;
    size_t m = push_key(L, "accounts");
    if (want_array(L, arr)) {
        size_t n = (size_t)cJSON_GetArraySize(arr);
        struct config_account *as = L->cfg->accounts = alloc_array(L, n, sizeof *as);
        size_t i = 0;
        for (const cJSON *it = arr->child; it && as; it = it->next, i++) {
            size_t mi = push_idx(L, i);
            if (want_object(L, it)) {
                static const char *const allowed[] = { "id", "name", "access_keys", NULL };
                check_fields(L, it, allowed);
                char *id = get_str(L, it, "id", true);
                char *name = get_str(L, it, "name", false);
                size_t mk = push_key(L, "id");
                bool ok = id != NULL;
                if (id && !all_digits(id, 12)) {
                    errf(L, "must be a 12-digit account id");
                    ok = false;
                } else if (id && account_known(L, id)) {
                    errf(L, "duplicate account %s", id);
                    ok = false;
                }
                pop(L, mk);
                if (ok) {
                    struct config_account *a = &as[L->cfg->naccounts++];
                    ld_put(L, &L->accounts, id, a);
                    a->id = id;
                    a->name = name;
                    a->root_arn = dupf(L, "arn:aws:iam::%s:root", id);
                    load_access_keys(L, it, &a->keys, &a->nkeys);
                } else {
                    free(id);
                    free(name);
                }
            }
            pop(L, mi);
        }
    }
    pop(L, m);
}

/* Unique ids, access key ids and names are unique across the whole config:
 * checked against everything loaded before. */
static const char *unique_id_owner(struct ld *L, const char *uid)
{
    return smap_get(&L->unique_ids, uid);
}

static bool access_key_taken(struct ld *L, const char *id)
{
    return smap_get(&L->key_ids, id) != NULL;
}

/* Access key id syntax: 16..128 of [A-Z0-9] (IAM AccessKeyId limits);
 * "ASIA" is reserved for session keys minted by the local STS. */
static char *get_access_key_id(struct ld *L, const cJSON *obj, const char *k)
{
    char *id = get_str(L, obj, k, true);
    if (!id)
        return NULL;
    size_t m = push_key(L, k);
    bool ok = false;
    if (!upper_alnum(id, 16, 128))
        errf(L, "must be 16..128 characters of A-Z and 0-9");
    else if (strncmp(id, "ASIA", 4) == 0)
        errf(L, "the ASIA prefix is reserved for temporary keys minted by the local STS");
    else if (access_key_taken(L, id))
        errf(L, "duplicate access key id %s", id);
    else {
        ok = true;
        ld_put(L, &L->key_ids, id, id);
    }
    pop(L, m);
    if (!ok) {
        free(id);
        return NULL;
    }
    return id;
}

/* Secret access keys: 16..128 printable ASCII characters, no spaces. */
static bool valid_secret(const char *s)
{
    size_t n = strlen(s);
    if (n < 16 || n > 128)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] > '~')
            return false;
    return true;
}

static char *get_access_secret(struct ld *L, const cJSON *obj)
{
    char *s = get_secret(L, obj, "secret", true);
    if (s && !valid_secret(s)) {
        size_t m = push_key(L, "secret");
        errf(L, "a secret access key must be 16..128 printable characters without spaces");
        pop(L, m);
        config_free_secret(s);
        s = NULL;
    }
    return s;
}

static char *get_path(struct ld *L, const cJSON *obj)
{
    char *p = get_str(L, obj, "path", false);
    if (!p)
        return L->nomem ? NULL : dup(L, "/");
    if (!valid_iam_path(p)) {
        size_t m = push_key(L, "path");
        errf(L, "must begin and end with '/' (e.g. \"/\" or \"/division/\")");
        pop(L, m);
    }
    return p;
}

static char *get_unique_id(struct ld *L, const cJSON *obj, const char *prefix,
                           const char *owner_kind)
{
    char *u = get_str(L, obj, "unique_id", true);
    if (!u)
        return NULL;
    size_t m = push_key(L, "unique_id");
    const char *owner;
    if (strncmp(u, prefix, 4) != 0 || !upper_alnum(u, 8, 128))
        errf(L, "must be %s followed by upper-case letters and digits (8..128 characters)", prefix);
    else if ((owner = unique_id_owner(L, u)) != NULL)
        errf(L, "duplicate unique id %s (already used by %s)", u, owner);
    else
        ld_put(L, &L->unique_ids, u, owner_kind);
    pop(L, m);
    return u;
}

/* "access_keys": [{"id", "secret"|"secret_file"|"secret_env", "status"}] */
static void load_access_keys(struct ld *L, const cJSON *obj, struct config_access_key **keys,
                             size_t *nkeys)
{
    const cJSON *ks = field(obj, "access_keys");
    *keys = NULL;
    *nkeys = 0;
    if (!ks)
        return;
    size_t mk = push_key(L, "access_keys");
    if (want_array(L, ks)) {
        size_t nk = (size_t)cJSON_GetArraySize(ks);
        if (nk > 2)
            /* IAM allows two keys per user: enough to rotate */
            errf(L, "at most 2 access keys");
        *keys = alloc_array(L, nk, sizeof **keys);
        size_t k = 0;
        for (const cJSON *kj = ks->child; kj && *keys; kj = kj->next, k++) {
            size_t mkk = push_idx(L, k);
            if (want_object(L, kj)) {
                static const char *const ka[] = { "id", "secret", "secret_file",
                                                  "secret_env", "status", NULL };
                check_fields(L, kj, ka);
                struct config_access_key *ak = &(*keys)[*nkeys];
                ak->id = get_access_key_id(L, kj, "id");
                ak->secret = get_access_secret(L, kj);
                ak->active = true;
                (*nkeys)++; /* visible to the duplicate check from here */
                char *st = get_str(L, kj, "status", false);
                if (st) {
                    if (strcmp(st, "Inactive") == 0)
                        ak->active = false;
                    else if (strcmp(st, "Active") != 0) {
                        size_t ms = push_key(L, "status");
                        errf(L, "must be \"Active\" or \"Inactive\"");
                        pop(L, ms);
                    }
                    free(st);
                }
            }
            pop(L, mkk);
        }
    }
    pop(L, mk);
}

static void load_users(struct ld *L, const cJSON *root)
{
    const cJSON *arr = field(root, "users");
    if (!arr)
        return;
    size_t m = push_key(L, "users");
    if (want_array(L, arr)) {
        size_t n = (size_t)cJSON_GetArraySize(arr);
        struct config_user *us = L->cfg->users = alloc_array(L, n, sizeof *us);
        size_t i = 0;
        for (const cJSON *it = arr->child; it && us; it = it->next, i++) {
            size_t mi = push_idx(L, i);
            if (want_object(L, it)) {
                static const char *const allowed[] = {
                    "account", "name", "path", "unique_id", "access_keys", "tags",
                    "policies", "permission_boundary", "permission_boundary_file", NULL
                };
                check_fields(L, it, allowed);
                struct config_user *u = &us[L->cfg->nusers];
                u->account = get_account_ref(L, it);
                u->name = get_str(L, it, "name", true);
                if (u->name) {
                    size_t mn = push_key(L, "name");
                    if (!config_valid_iam_name(u->name, 1, 64))
                        errf(L, "must be 1..64 characters of [A-Za-z0-9+=,.@_-]");
                    else if (u->account) {
                        /* IAM user names are unique case-insensitively [IDS] */
                        char nk[160];
                        name_key(nk, sizeof nk, 'u', u->account, u->name);
                        if (smap_get(&L->names, nk))
                            errf(L, "duplicate user %s in account %s", u->name, u->account);
                        else
                            ld_put(L, &L->names, nk, u);
                    }
                    pop(L, mn);
                }
                u->path = get_path(L, it);
                u->unique_id = get_unique_id(L, it, "AIDA", "a user");
                L->cfg->nusers++; /* visible to the duplicate checks from here */
                if (u->account && u->name && u->path)
                    u->arn = dupf(L, "arn:aws:iam::%s:user%s%s", u->account, u->path, u->name);
                load_access_keys(L, it, &u->keys, &u->nkeys);
                get_tags(L, it, &u->tags, &u->ntags);
                get_named_policies(L, it, "policies", POLICY_KIND_IDENTITY, &u->policies,
                                   &u->npolicies, &u->policy_ptrs);
                bool present;
                u->boundary = get_policy(L, it, "permission_boundary", POLICY_KIND_BOUNDARY,
                                         "permissions-boundary", NULL, false, &present);
            }
            pop(L, mi);
        }
    }
    pop(L, m);
}

/* ---- oidc_providers ---------------------------------------------------------- */

/* IAM's provider URL: https, at most 255 characters, a host and an
 * optional path, no query, fragment or user info (CreateOpenIDConnectProvider). */
static bool valid_oidc_url(const char *u)
{
    size_t n = strlen(u);
    if (n > 255 || strncmp(u, "https://", 8) != 0 || n == 8 || u[8] == '/')
        return false;
    for (size_t i = 8; i < n; i++)
        if ((unsigned char)u[i] <= ' ' || u[i] == '?' || u[i] == '#' || u[i] == '@' ||
            (unsigned char)u[i] >= 0x7f)
            return false;
    return true;
}

static void oidc_pinned_keys(struct ld *L, const cJSON *it, struct config_oidc_provider *o)
{
    const cJSON *inl = field(it, "jwks");
    char *file = get_str(L, it, "jwks_file", false);
    if (!inl && !file)
        return;
    size_t m = push_key(L, inl ? "jwks" : "jwks_file");
    char *text = NULL;
    size_t len = 0;
    if (inl && file)
        errf(L, "give the pinned keys either inline (jwks) or in jwks_file, not both");
    else if (inl && !cJSON_IsObject(inl))
        errf(L, "must be a JWKS object ({\"keys\": [...]}), not %s", json_type_name(inl));
    else if (inl && !(text = cJSON_PrintUnformatted(inl)))
        L->nomem = true;
    else if (inl)
        len = strlen(text);
    else
        text = read_file_capped(L, file, CONFIG_MAX_POLICY_BYTES, &len);
    if (text) {
        char err[256] = "";
        struct jwks *k = calloc(1, sizeof *k);
        int rc = k ? jwks_parse(s3w_slice(text, len), JWKS_STRICT, k, err, sizeof err) : JWT_E_INTERNAL;
        if (rc == JWT_E_INTERNAL)
            L->nomem = true;
        else if (rc)
            errf(L, "%s", err);
        else if (k->n == 0)
            errf(L, "has no usable signing key (RSA of 2048 bits or more, or EC P-256/P-384, "
                    "with \"use\": \"sig\" or no \"use\")");
        if (!rc && k->n) {
            o->pinned = k;
            k = NULL;
        }
        if (k)
            jwks_cleanup(k);
        free(k);
        if (inl)
            cJSON_free(text);
        else
            free(text);
    }
    free(file);
    pop(L, m);
}

static void oidc_client_ids(struct ld *L, const cJSON *it, struct config_oidc_provider *o)
{
    const cJSON *ids = field(it, "client_ids");
    size_t m = push_key(L, "client_ids");
    if (!ids) {
        errf(L, "is required: the audiences (client ids) tokens must be issued for, e.g. "
                "[\"sts.amazonaws.com\"]");
    } else if (want_array(L, ids)) {
        size_t n = (size_t)cJSON_GetArraySize(ids);
        if (n == 0 || n > CONFIG_OIDC_MAX_CLIENT_IDS)
            errf(L, "must list 1..%d client ids", CONFIG_OIDC_MAX_CLIENT_IDS);
        o->client_ids = alloc_array(L, n, sizeof *o->client_ids);
        o->audiences = alloc_array(L, n, sizeof *o->audiences);
        size_t i = 0;
        for (const cJSON *c = ids->child; c && o->client_ids && o->audiences; c = c->next, i++) {
            size_t mi = push_idx(L, i);
            if (!cJSON_IsString(c) || !c->valuestring[0] || strlen(c->valuestring) > 255) {
                errf(L, "must be a string of 1..255 characters");
            } else if ((o->client_ids[o->nclient_ids] = dup(L, c->valuestring))) {
                o->audiences[o->nclient_ids] = s3w_slice_cstr(o->client_ids[o->nclient_ids]);
                o->nclient_ids++;
            }
            pop(L, mi);
        }
    }
    pop(L, m);
}

static void load_oidc_providers(struct ld *L, const cJSON *root)
{
    const cJSON *arr = field(root, "oidc_providers");
    if (!arr)
        return;
    size_t m = push_key(L, "oidc_providers");
    if (want_array(L, arr)) {
        size_t n = (size_t)cJSON_GetArraySize(arr);
        if (n > CONFIG_OIDC_MAX_PROVIDERS)
            errf(L, "at most %d providers", CONFIG_OIDC_MAX_PROVIDERS);
        struct config_oidc_provider *os = L->cfg->oidc_providers =
            alloc_array(L, n, sizeof *os);
        size_t i = 0;
        for (const cJSON *it = arr->child; it && os && i < CONFIG_OIDC_MAX_PROVIDERS;
             it = it->next, i++) {
            size_t mi = push_idx(L, i);
            if (want_object(L, it)) {
                static const char *const allowed[] = {
                    "account", "url", "client_ids", "jwks", "jwks_file", "ca_file",
                    "leeway_seconds", "max_jwks_age_seconds", NULL
                };
                check_fields(L, it, allowed);
                struct config_oidc_provider *o = &os[L->cfg->noidc_providers++];
                o->account = get_account_ref(L, it);
                o->url = get_str(L, it, "url", true);
                if (o->url) {
                    size_t mu = push_key(L, "url");
                    if (!valid_oidc_url(o->url)) {
                        errf(L, "must be the issuer's https:// URL (host and optional path, no "
                                "query, fragment or user info, at most 255 characters), exactly "
                                "as its tokens' \"iss\" claim says");
                    } else {
                        /* the ARN and key prefix drop the scheme and a
                         * trailing '/' (IAM shows the provider that way) */
                        size_t hl = strlen(o->url + 8);
                        if (o->url[8 + hl - 1] == '/')
                            hl--;
                        o->host_path = dupf(L, "%.*s", (int)hl, o->url + 8);
                        if (o->account && o->host_path)
                            o->arn = dupf(L, "arn:aws:iam::%s:oidc-provider/%s", o->account,
                                          o->host_path);
                        for (size_t j = 0; o->arn && j + 1 < L->cfg->noidc_providers; j++)
                            if (os[j].arn && strcmp(os[j].arn, o->arn) == 0) {
                                errf(L, "duplicate provider %s (also oidc_providers[%zu])",
                                     o->arn, j);
                                break;
                            }
                    }
                    pop(L, mu);
                }
                oidc_client_ids(L, it, o);
                oidc_pinned_keys(L, it, o);
                char *ca = get_str(L, it, "ca_file", false);
                if (ca) {
                    size_t mc = push_key(L, "ca_file");
                    struct stat st;
                    o->ca_file = resolve_path(L, ca);
                    if (o->pinned)
                        errf(L, "has no use with pinned keys (nothing is fetched)");
                    else if (o->ca_file && stat(o->ca_file, &st) != 0)
                        errf(L, "cannot read file '%s': %s", ca, strerror(errno));
                    pop(L, mc);
                    free(ca);
                }
                get_u32(L, it, "leeway_seconds", false, 0, 600, 60, &o->leeway_seconds);
                get_u32(L, it, "max_jwks_age_seconds", false, 300, 30 * 86400, 86400,
                        &o->max_jwks_age_seconds);
            }
            pop(L, mi);
        }
    }
    pop(L, m);
}

static void load_roles(struct ld *L, const cJSON *root)
{
    const cJSON *arr = field(root, "roles");
    if (!arr)
        return;
    size_t m = push_key(L, "roles");
    if (want_array(L, arr)) {
        size_t n = (size_t)cJSON_GetArraySize(arr);
        struct config_role *rs = L->cfg->roles = alloc_array(L, n, sizeof *rs);
        size_t i = 0;
        for (const cJSON *it = arr->child; it && rs; it = it->next, i++) {
            size_t mi = push_idx(L, i);
            if (want_object(L, it)) {
                static const char *const allowed[] = {
                    "account", "name", "path", "unique_id", "trust_policy", "trust_policy_file",
                    "policies", "permission_boundary", "permission_boundary_file",
                    "max_session_duration", "tags", NULL
                };
                check_fields(L, it, allowed);
                struct config_role *r = &rs[L->cfg->nroles];
                r->account = get_account_ref(L, it);
                r->name = get_str(L, it, "name", true);
                if (r->name) {
                    size_t mn = push_key(L, "name");
                    if (!config_valid_iam_name(r->name, 1, 64))
                        errf(L, "must be 1..64 characters of [A-Za-z0-9+=,.@_-]");
                    else if (r->account) {
                        char nk[160];
                        name_key(nk, sizeof nk, 'r', r->account, r->name);
                        if (smap_get(&L->names, nk))
                            errf(L, "duplicate role %s in account %s", r->name, r->account);
                        else
                            ld_put(L, &L->names, nk, r);
                    }
                    pop(L, mn);
                }
                r->path = get_path(L, it);
                r->unique_id = get_unique_id(L, it, "AROA", "a role");
                L->cfg->nroles++;
                if (r->account && r->name && r->path)
                    r->arn = dupf(L, "arn:aws:iam::%s:role%s%s", r->account, r->path, r->name);
                if (r->arn)
                    ld_put(L, &L->role_arns, r->arn, r);
                bool present;
                /* A trust policy is a resource policy on the role: Principal
                 * is required, and it must allow the caller explicitly
                 * (IAM-SEMANTICS §1.1 "Exceptions"). */
                L->trust_account = r->account;
                r->trust_policy = get_policy(L, it, "trust_policy", KIND_TRUST,
                                             "trust-policy", NULL, true, &present);
                L->trust_account = NULL;
                get_named_policies(L, it, "policies", POLICY_KIND_IDENTITY, &r->policies,
                                   &r->npolicies, &r->policy_ptrs);
                r->boundary = get_policy(L, it, "permission_boundary", POLICY_KIND_BOUNDARY,
                                         "permissions-boundary", NULL, false, &present);
                /* IAM MaxSessionDuration: 3600..43200 seconds, default 3600 */
                get_u32(L, it, "max_session_duration", false, 3600, 43200, 3600,
                        &r->max_session_duration);
                get_tags(L, it, &r->tags, &r->ntags);
            }
            pop(L, mi);
        }
    }
    pop(L, m);
}

static const struct config_role *role_by_arn(struct ld *L, const char *arn)
{
    return smap_get(&L->role_arns, arn);
}

static void load_role_sessions(struct ld *L, const cJSON *root)
{
    const cJSON *arr = field(root, "role_sessions");
    if (!arr)
        return;
    size_t m = push_key(L, "role_sessions");
    if (want_array(L, arr)) {
        size_t n = (size_t)cJSON_GetArraySize(arr);
        struct config_role_session *ss = L->cfg->role_sessions = alloc_array(L, n, sizeof *ss);
        size_t i = 0;
        for (const cJSON *it = arr->child; it && ss; it = it->next, i++) {
            size_t mi = push_idx(L, i);
            if (want_object(L, it)) {
                static const char *const allowed[] = {
                    "access_key_id", "secret", "secret_file", "secret_env", "role_arn",
                    "session_name", "source_identity", "session_policy", "session_policy_file",
                    NULL
                };
                check_fields(L, it, allowed);
                struct config_role_session *s = &ss[L->cfg->nrole_sessions];
                s->key.id = get_access_key_id(L, it, "access_key_id");
                s->key.secret = get_access_secret(L, it);
                s->key.active = true;
                L->cfg->nrole_sessions++;
                char *ra = get_str(L, it, "role_arn", true);
                if (ra) {
                    size_t mr = push_key(L, "role_arn");
                    s->role = role_by_arn(L, ra);
                    if (!s->role)
                        errf(L, "unknown role %s (not in roles)", ra);
                    pop(L, mr);
                    free(ra);
                }
                s->session_name = get_str(L, it, "session_name", true);
                if (s->session_name && !config_valid_iam_name(s->session_name, 2, 64)) {
                    size_t ms = push_key(L, "session_name");
                    errf(L, "must be 2..64 characters of [A-Za-z0-9+=,.@_-]");
                    pop(L, ms);
                }
                s->source_identity = get_str(L, it, "source_identity", false);
                if (s->source_identity && !config_valid_iam_name(s->source_identity, 2, 64)) {
                    size_t ms = push_key(L, "source_identity");
                    errf(L, "must be 2..64 characters of [A-Za-z0-9+=,.@_-]");
                    pop(L, ms);
                }
                bool present;
                s->session_policy = get_policy(L, it, "session_policy", POLICY_KIND_SESSION,
                                               "session-policy", NULL, false, &present);
                if (s->role && s->session_name) {
                    s->arn = dupf(L, "arn:aws:sts::%s:assumed-role/%s/%s", s->role->account,
                                  s->role->name, s->session_name);
                    s->userid = dupf(L, "%s:%s", s->role->unique_id, s->session_name);
                }
            }
            pop(L, mi);
        }
    }
    pop(L, m);
}

static void load_buckets(struct ld *L, const cJSON *root)
{
    const cJSON *arr = field(root, "buckets");
    if (!arr)
        return;
    size_t m = push_key(L, "buckets");
    if (want_array(L, arr)) {
        size_t n = (size_t)cJSON_GetArraySize(arr);
        struct config_bucket *bs = L->cfg->buckets = alloc_array(L, n, sizeof *bs);
        size_t i = 0;
        for (const cJSON *it = arr->child; it && bs; it = it->next, i++) {
            size_t mi = push_idx(L, i);
            if (want_object(L, it)) {
                static const char *const allowed[] = { "name", "account", "policy",
                                                       "policy_file", "upstream_name", "upstream",
                                                       "cors", NULL };
                check_fields(L, it, allowed);
                struct config_bucket *b = &bs[L->cfg->nbuckets];
                b->name = get_str(L, it, "name", true);
                if (b->name) {
                    size_t mn = push_key(L, "name");
                    if (!valid_bucket_name(b->name))
                        errf(L, "invalid bucket name (3..63 of a-z, 0-9, '.', '-'; "
                                "starting and ending with a letter or digit)");
                    if (smap_get(&L->buckets, b->name))
                        errf(L, "duplicate bucket %s", b->name);
                    else
                        ld_put(L, &L->buckets, b->name, b);
                    pop(L, mn);
                }
                L->cfg->nbuckets++;
                b->account = get_account_ref(L, it);
                b->upstream_name = get_str(L, it, "upstream_name", false);
                if (b->upstream_name && !valid_bucket_name(b->upstream_name)) {
                    size_t mu = push_key(L, "upstream_name");
                    errf(L, "invalid bucket name (3..63 of a-z, 0-9, '.', '-'; "
                            "starting and ending with a letter or digit)");
                    pop(L, mu);
                }
                bool explicit_up = b->upstream_name != NULL;
                if (!b->upstream_name && b->name)
                    b->upstream_name = dup(L, b->name);
                b->upstream = L->cfg->upstream;
                char *store = get_str(L, it, "upstream", false);
                bool bad_store = false;
                if (store) {
                    b->upstream = upstream_ref(L, "upstream", store);
                    bad_store = !b->upstream;
                    free(store);
                }
                /* one upstream bucket, one owner and one bucket policy: two
                 * local names for it would let a caller pick the weaker. The
                 * same name on two stores is two buckets. */
                for (size_t j = 0; b->upstream_name && !bad_store && j + 1 < L->cfg->nbuckets; j++) {
                    if (!bs[j].upstream_name || strcmp(bs[j].upstream_name, b->upstream_name) != 0 ||
                        bs[j].upstream != b->upstream)
                        continue;
                    if (!explicit_up && bs[j].name && b->name && strcmp(bs[j].name, b->name) == 0)
                        break; /* reported above as a duplicate bucket */
                    size_t mu = push_key(L, explicit_up ? "upstream_name" : "name");
                    if (L->cfg->nupstreams > 1 && b->upstream && b->upstream->name)
                        errf(L, "upstream bucket %s on upstream %s is already used by bucket %s "
                                "(buckets[%zu]): each upstream bucket has one owner and one "
                                "bucket policy",
                             b->upstream_name, b->upstream->name, bs[j].name ? bs[j].name : "?", j);
                    else
                        errf(L, "upstream bucket %s is already used by bucket %s (buckets[%zu]): "
                                "each upstream bucket has one owner and one bucket policy",
                             b->upstream_name, bs[j].name ? bs[j].name : "?", j);
                    pop(L, mu);
                    break;
                }
                bool present;
                b->policy = get_policy(L, it, "policy", POLICY_KIND_RESOURCE, "bucket-policy",
                                       b->name, false, &present);
                /* GetBucketPolicy answers the document s3warden enforces */
                b->policy_json = b->policy ? L->policy_text : NULL;
                if (b->policy_json)
                    L->policy_text = NULL;
                b->cors = config_cors_load(field(it, "cors"), L->file, L->path, L->errs, &L->nomem);
            }
            pop(L, mi);
        }
    }
    pop(L, m);
}

static void load_guardrails(struct ld *L, const cJSON *root)
{
    get_named_policies(L, root, "guardrails", POLICY_KIND_GUARDRAIL, &L->cfg->guardrails,
                       &L->cfg->nguardrails, &L->cfg->guardrail_ptrs);
}

/* audit.sinks[i] */
static void load_audit_sink(struct ld *L, const cJSON *it, struct config_audit_sink *k)
{
    char *type = get_str(L, it, "type", true);
    if (type && strcmp(type, "syslog") == 0) {
        k->type = CONFIG_AUDIT_SINK_SYSLOG;
    } else if (type && strcmp(type, "s3") == 0) {
        k->type = CONFIG_AUDIT_SINK_S3;
    } else if (type) {
        size_t mk = push_key(L, "type");
        errf(L, "must be \"syslog\" or \"s3\"");
        pop(L, mk);
    }
    free(type);
    if (k->type == CONFIG_AUDIT_SINK_S3) {
        static const char *const s3_allowed[] = { "type", "upstream", "bucket", "prefix",
                                                  "account_id", "expected_bucket_owner",
                                                  "region", "batch_seconds", "batch_bytes",
                                                  "spool_dir", "max_spool_bytes", NULL };
        check_fields(L, it, s3_allowed);
        k->upstream = L->cfg->upstream;
        char *store = get_str(L, it, "upstream", false);
        if (store) {
            k->upstream = upstream_ref(L, "upstream", store);
            free(store);
        }
        k->bucket = get_str(L, it, "bucket", true);
        k->prefix = get_str(L, it, "prefix", false);
        k->account_id = get_str(L, it, "account_id", false);
        if (k->account_id && !all_digits(k->account_id, 12)) {
            size_t mk = push_key(L, "account_id");
            errf(L, "must be a 12-digit account id");
            pop(L, mk);
        }
        k->expected_bucket_owner = get_str(L, it, "expected_bucket_owner", false);
        if (k->expected_bucket_owner && !all_digits(k->expected_bucket_owner, 12)) {
            size_t mk = push_key(L, "expected_bucket_owner");
            errf(L, "must be a 12-digit account id");
            pop(L, mk);
        } else if (!k->expected_bucket_owner) {
            /* a bucket of that name deleted and re-created by another
             * account would take the records (S3 User Guide, "Verifying
             * bucket ownership with bucket owner condition") */
            warn_at(L, L->file, L->path,
                    "has no expected_bucket_owner: S3 stores the records in a bucket of that "
                    "name whichever account owns it; set it to the 12-digit id of the account "
                    "that owns the bucket");
        }
        k->region = get_str(L, it, "region", false);
        get_u32(L, it, "batch_seconds", false, 1, 3600, 300, &k->batch_seconds);
        get_u32(L, it, "batch_bytes", false, 65536, 256u << 20, 4u << 20, &k->batch_bytes);
    } else {
        static const char *const allowed[] = { "type", "address", "port", "facility", "tls",
                                               "spool_dir", "max_spool_bytes",
                                               "max_message_bytes", NULL };
        check_fields(L, it, allowed);
    }
    char *dir = get_str(L, it, "spool_dir", true);
    if (dir) {
        k->spool_dir = resolve_path(L, dir);
        free(dir);
    }
    uint32_t max_spool = 0;
    get_u32(L, it, "max_spool_bytes", false, 65536, 4294967295u, 1u << 30, &max_spool);
    k->max_spool_bytes = max_spool;
    if (k->type == CONFIG_AUDIT_SINK_S3)
        return;
    k->address = get_str(L, it, "address", true);
    const cJSON *tls = field(it, "tls");
    if (tls) {
        size_t mt = push_key(L, "tls");
        if (want_object(L, tls)) {
            static const char *const tls_allowed[] = { "ca_file", "server_name", NULL };
            check_fields(L, tls, tls_allowed);
            k->tls = true;
            char *ca = get_str(L, tls, "ca_file", false);
            if (ca) {
                k->ca_file = resolve_path(L, ca);
                free(ca);
            }
            k->server_name = get_str(L, tls, "server_name", false);
        }
        pop(L, mt);
    }
    get_u32(L, it, "port", false, 1, 65535, k->tls ? 6514 : 514, &k->port);
    get_u32(L, it, "facility", false, 0, 23, 16, &k->facility);
    get_u32(L, it, "max_message_bytes", false, 1024, 65535, 8000, &k->max_message_bytes);
}

static void load_audit(struct ld *L, const cJSON *root)
{
    const cJSON *a = field(root, "audit");
    struct config_audit *au = &L->cfg->audit;
    au->kind = CONFIG_AUDIT_STDOUT;
    if (!a)
        return;
    size_t m = push_key(L, "audit");
    if (want_object(L, a)) {
        static const char *const allowed[] = { "output", "on_backlog", "backlog_records",
                                               "format", "region", "account_id", "sinks",
                                               NULL };
        check_fields(L, a, allowed);
        const cJSON *sinks = field(a, "sinks");
        if (sinks) {
            size_t ms = push_key(L, "sinks");
            if (want_array(L, sinks)) {
                size_t n = (size_t)cJSON_GetArraySize(sinks);
                if (n > 8) {
                    errf(L, "at most 8 sinks");
                } else if (n) {
                    au->sinks = alloc_array(L, n, sizeof(*au->sinks));
                    size_t i = 0;
                    for (const cJSON *it = sinks->child; it && au->sinks; it = it->next, i++) {
                        size_t mi = push_idx(L, i);
                        if (want_object(L, it))
                            load_audit_sink(L, it, &au->sinks[i]);
                        pop(L, mi);
                    }
                    au->nsinks = au->sinks ? n : 0;
                }
            }
            pop(L, ms);
        }
        char *ob = get_str(L, a, "on_backlog", false);
        if (ob && strcmp(ob, "drop") == 0) {
            au->on_backlog = CONFIG_AUDIT_DROP;
        } else if (ob && strcmp(ob, "refuse") != 0) {
            size_t mk = push_key(L, "on_backlog");
            errf(L, "must be \"refuse\" or \"drop\"");
            pop(L, mk);
        }
        free(ob);
        get_u32(L, a, "backlog_records", false, 1024, 1048576, 0, &au->backlog_records);
        char *fm = get_str(L, a, "format", false);
        if (fm && strcmp(fm, "cloudtrail") == 0) {
            au->format = CONFIG_AUDIT_FORMAT_CLOUDTRAIL;
        } else if (fm && strcmp(fm, "s3warden") != 0) {
            size_t mk = push_key(L, "format");
            errf(L, "must be \"s3warden\" or \"cloudtrail\"");
            pop(L, mk);
        }
        free(fm);
        au->region = get_str(L, a, "region", false);
        au->account_id = get_str(L, a, "account_id", false);
        if (au->account_id && !all_digits(au->account_id, 12)) {
            size_t mk = push_key(L, "account_id");
            errf(L, "must be a 12-digit account id");
            pop(L, mk);
        }
        for (size_t i = 0; i < au->nsinks; i++) {
            struct config_audit_sink *k = &au->sinks[i];
            if (k->type != CONFIG_AUDIT_SINK_S3)
                continue;
            size_t ms = push_key(L, "sinks");
            size_t mi = push_idx(L, i);
            /* the objects are CloudTrail log files: CloudTrail's records */
            if (au->format != CONFIG_AUDIT_FORMAT_CLOUDTRAIL)
                errf(L, "an s3 sink needs \"format\": \"cloudtrail\"");
            else if (!k->account_id && !au->account_id)
                errf(L, "an s3 sink needs \"account_id\" (here or in audit)");
            pop(L, mi);
            pop(L, ms);
        }
        char *o = get_str(L, a, "output", false);
        if (o) {
            if (strcmp(o, "stdout") == 0)
                au->kind = CONFIG_AUDIT_STDOUT;
            else if (strcmp(o, "none") == 0)
                au->kind = CONFIG_AUDIT_NONE;
            else {
                au->kind = CONFIG_AUDIT_FILE;
                au->path = resolve_path(L, o);
            }
            free(o);
        }
    }
    pop(L, m);
}

static void load_limits(struct ld *L, const cJSON *root)
{
    const cJSON *l = field(root, "limits");
    struct config_limits *lm = &L->cfg->limits;
    lm->max_connections = 10000;
    lm->max_header_bytes = 65536;
    lm->header_timeout_ms = 30000;
    lm->body_idle_timeout_ms = 60000;
    lm->send_timeout_ms = 60000;
    lm->min_body_rate = 1024;
    lm->shutdown_timeout_ms = 10000;
    if (!l)
        return;
    size_t m = push_key(L, "limits");
    if (want_object(L, l)) {
        static const char *const allowed[] = { "max_connections",
                                               "max_connections_per_address", "max_header_bytes",
                                               "header_timeout_ms", "body_idle_timeout_ms",
                                               "send_timeout_ms", "min_body_rate",
                                               "shutdown_timeout_ms", NULL };
        check_fields(L, l, allowed);
        get_u32(L, l, "max_connections", false, 1, 1000000, 10000, &lm->max_connections);
        get_u32(L, l, "max_connections_per_address", false, 0, 1000000, 0,
                &lm->max_connections_per_address);
        /* S3 itself refuses request headers over 8 KiB of user metadata;
         * 1 MiB is a sane outer bound for the whole block */
        get_u32(L, l, "max_header_bytes", false, 1024, 1048576, 65536, &lm->max_header_bytes);
        get_u32(L, l, "header_timeout_ms", false, 100, 600000, 30000, &lm->header_timeout_ms);
        get_u32(L, l, "body_idle_timeout_ms", false, 100, 3600000, 60000,
                &lm->body_idle_timeout_ms);
        get_u32(L, l, "send_timeout_ms", false, 100, 3600000, 60000, &lm->send_timeout_ms);
        /* 0 turns it off; a megabyte a second is the most a minimum may ask */
        get_u32(L, l, "min_body_rate", false, 0, 1048576, 1024, &lm->min_body_rate);
        /* drain after SIGTERM/SIGINT; 0 cuts in-flight requests at once.
         * An hour bounds it: an orchestrator's grace period is far shorter
         * (Kubernetes default 30 s) and kills the process anyway */
        get_u32(L, l, "shutdown_timeout_ms", false, 0, 3600000, 10000,
                &lm->shutdown_timeout_ms);
    }
    pop(L, m);
}

/* An IP literal parsed for comparison: family AF_INET/AF_INET6, 16 bytes
 * (IPv4 in the first 4). Returns false for anything else (host names,
 * zone ids): the admin address must be a literal, as bind() needs one. */
struct ip_lit {
    int family;
    unsigned char b[16];
};

static bool parse_ip(const char *s, struct ip_lit *out)
{
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, s, out->b) == 1) {
        out->family = AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, s, out->b) == 1) {
        out->family = AF_INET6;
        return true;
    }
    return false;
}

static bool ip_is_wildcard(const struct ip_lit *a)
{
    static const unsigned char zero[16];
    return memcmp(a->b, zero, sizeof zero) == 0; /* 0.0.0.0 or :: */
}

/* Would binding the admin listener clash with listener l? Same port and the
 * same address, or either side a wildcard (0.0.0.0 / ::, and :: also takes
 * IPv4 unless IPV6_V6ONLY). The S3 listener sets SO_REUSEPORT
 * (proxy/server.c), so such a bind would not even fail: the kernel would
 * spread connections over both sockets and S3 clients would land on the
 * admin endpoints. Port 0 is ephemeral and never clashes. A listener
 * address that is not an IP literal cannot clash: serve cannot bind it. */
static bool admin_clashes(const struct config_admin *ad, const struct ip_lit *aip,
                          const struct config_listener *l)
{
    if (!l->address || ad->port == 0 || l->port != ad->port)
        return false;
    struct ip_lit lip;
    if (!parse_ip(l->address, &lip))
        return false;
    if (ip_is_wildcard(aip) || ip_is_wildcard(&lip))
        return true;
    return aip->family == lip.family && memcmp(aip->b, lip.b, sizeof lip.b) == 0;
}

/* "admin": the operations listener (/healthz, /readyz, /metrics). Absent =>
 * no admin listener. Loaded after listeners (the port clash check). */
static void load_admin(struct ld *L, const cJSON *root)
{
    const cJSON *a = field(root, "admin");
    struct config_admin *ad = &L->cfg->admin;
    ad->enabled = false;
    ad->port = 9090;
    ad->upstream_ready_window_s = 60;
    if (!a)
        return;
    size_t m = push_key(L, "admin");
    if (want_object(L, a)) {
        static const char *const admin_fields[] = { "address", "port",
                                                    "upstream_ready_window_seconds", NULL };
        check_fields(L, a, admin_fields);
        ad->enabled = true;
        struct ip_lit aip = { 0 };
        bool addr_ok = false;
        if (field(a, "address")) {
            ad->address = get_str(L, a, "address", false);
            if (ad->address) {
                addr_ok = parse_ip(ad->address, &aip);
                if (!addr_ok) {
                    size_t ma = push_key(L, "address");
                    errf(L, "must be an IPv4 or IPv6 address literal, e.g. \"127.0.0.1\" or \"::1\"");
                    pop(L, ma);
                }
            }
        } else {
            /* loopback by default: metrics and readiness details are for
             * the host's own agents unless the operator says otherwise */
            ad->address = dup(L, "127.0.0.1");
            addr_ok = ad->address && parse_ip(ad->address, &aip);
        }
        uint32_t port;
        bool port_ok = get_u32(L, a, "port", false, 0, 65535, 9090, &port);
        if (port_ok)
            ad->port = (uint16_t)port;
        get_u32(L, a, "upstream_ready_window_seconds", false, 1, 86400, 60,
                &ad->upstream_ready_window_s);
        if (addr_ok && port_ok) {
            for (size_t i = 0; i < L->cfg->nlisteners; i++) {
                const struct config_listener *l = &L->cfg->listeners[i];
                if (admin_clashes(ad, &aip, l)) {
                    size_t mp = push_key(L, "port");
                    errf(L, "%s:%u clashes with listeners[%zu] (%s:%u): the admin listener "
                            "needs a port of its own",
                         ad->address, (unsigned)ad->port, i, l->address, (unsigned)l->port);
                    pop(L, mp);
                    break;
                }
            }
        }
    }
    pop(L, m);
}

/* "log": {"level": ...}; default info. */
static void load_log(struct ld *L, const cJSON *root)
{
    const cJSON *g = field(root, "log");
    L->cfg->log_level = CONFIG_LOG_INFO;
    if (!g)
        return;
    size_t m = push_key(L, "log");
    if (want_object(L, g)) {
        static const char *const log_fields[] = { "level", NULL };
        check_fields(L, g, log_fields);
        /* not a `static const char *const` list: test_docs_fields.py reads
         * those as field tables */
        static const struct {
            const char *name;
            enum config_log_level level;
        } levels[] = {
            { "debug", CONFIG_LOG_DEBUG },
            { "info", CONFIG_LOG_INFO },
            { "warn", CONFIG_LOG_WARN },
            { "error", CONFIG_LOG_ERROR },
        };
        char *v = get_str(L, g, "level", false);
        if (v) {
            bool found = false;
            for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++)
                if (strcmp(v, levels[i].name) == 0) {
                    L->cfg->log_level = levels[i].level;
                    found = true;
                }
            if (!found) {
                size_t ml = push_key(L, "level");
                errf(L, "must be \"debug\", \"info\", \"warn\" or \"error\"");
                pop(L, ml);
            }
            free(v);
        }
    }
    pop(L, m);
}

static bool valid_key_id(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 16)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* How many different byte values an STS key holds. */
static size_t sts_key_distinct_bytes(const uint8_t key[CONFIG_STS_KEY_BYTES])
{
    bool seen[256] = { false };
    size_t n = 0;
    for (size_t i = 0; i < CONFIG_STS_KEY_BYTES; i++)
        if (!seen[key[i]]) {
            seen[key[i]] = true;
            n++;
        }
    return n;
}

static void load_sts(struct ld *L, const cJSON *root)
{
    const cJSON *s = field(root, "sts");
    struct config_sts *st = &L->cfg->sts;
    st->default_duration_seconds = 3600;
    if (!s)
        return;
    size_t m = push_key(L, "sts");
    if (want_object(L, s)) {
        static const char *const allowed[] = { "enabled", "keys", "default_duration_seconds", NULL };
        check_fields(L, s, allowed);
        get_bool(L, s, "enabled", false, &st->enabled);
        get_u32(L, s, "default_duration_seconds", false, 900, 43200, 3600,
                &st->default_duration_seconds);
        const cJSON *ks = field(s, "keys");
        size_t mk = push_key(L, "keys");
        if (!ks) {
            if (st->enabled)
                errf(L, "is required when sts is enabled");
        } else if (want_array(L, ks)) {
            size_t n = (size_t)cJSON_GetArraySize(ks);
            if (n > CONFIG_STS_MAX_KEYS)
                errf(L, "at most %d keys", CONFIG_STS_MAX_KEYS);
            size_t nactive = 0, i = 0;
            for (const cJSON *it = ks->child; it && i < CONFIG_STS_MAX_KEYS; it = it->next, i++) {
                size_t mi = push_idx(L, i);
                if (want_object(L, it)) {
                    static const char *const ka[] = { "id", "key", "key_file", "key_env",
                                                      "active", NULL };
                    check_fields(L, it, ka);
                    struct config_sts_key *k = &st->keys[st->nkeys];
                    k->id = get_str(L, it, "id", true);
                    if (k->id) {
                        size_t mid = push_key(L, "id");
                        if (!valid_key_id(k->id))
                            errf(L, "must be 1..16 characters of [A-Za-z0-9_-]");
                        for (size_t j = 0; j < st->nkeys; j++)
                            if (st->keys[j].id && strcmp(st->keys[j].id, k->id) == 0) {
                                errf(L, "duplicate key id %s", k->id);
                                break;
                            }
                        pop(L, mid);
                    }
                    char *hex = get_secret(L, it, "key", true);
                    if (hex) {
                        size_t mh = push_key(L, "key");
                        if (strlen(hex) != 2 * CONFIG_STS_KEY_BYTES ||
                            s3w_hex_decode(s3w_slice_cstr(hex), k->key, CONFIG_STS_KEY_BYTES))
                            errf(L, "must be %d random bytes as %d hex digits "
                                    "(e.g. from `openssl rand -hex 32`)",
                                 CONFIG_STS_KEY_BYTES, 2 * CONFIG_STS_KEY_BYTES);
                        else if (token_derive_keys(k) != TOKEN_OK)
                            L->nomem = true; /* crypto failure: refuse the config */
                        else if (sts_key_distinct_bytes(k->key) < 16)
                            /* 32 random bytes have about 30 distinct values;
                             * the examples' keys have 3 or 4 (probe 25) */
                            warn_at(L, L->file, L->path,
                                    "has only %zu distinct byte values of %d: it is not random "
                                    "(the examples' keys are public), and whoever knows it can "
                                    "mint session tokens for every role; make one with `openssl "
                                    "rand -hex 32`", sts_key_distinct_bytes(k->key),
                                    CONFIG_STS_KEY_BYTES);
                        pop(L, mh);
                        config_free_secret(hex);
                    }
                    get_bool(L, it, "active", false, &k->active);
                    if (k->active) {
                        st->active = st->nkeys;
                        nactive++;
                    }
                    st->nkeys++;
                }
                pop(L, mi);
            }
            if (st->nkeys && nactive != 1)
                errf(L, "exactly one key must be active (found %zu)", nactive);
            if (st->enabled && n == 0)
                errf(L, "at least one key is required when sts is enabled");
        }
        pop(L, mk);
    }
    pop(L, m);
}

/* ---- entry points -------------------------------------------------------- */

/* Wipes every string value of a cJSON tree before it is freed. Iterative
 * over siblings, recursive over depth (cJSON bounds nesting at 1000). */
/* Warnings (`validate --config` prints them): an upstream nothing uses
 * and that is not the default (a bucket meant for it that does not name
 * it goes to the default one), a credential set no upstream uses. */
static void warn_unused_upstreams(struct ld *L)
{
    const struct config *cfg = L->cfg;
    if (!L->up_src || !cfg->credential_sets)
        return;
    char path[64];
    for (size_t s = 0; s < cfg->nupstreams; s++) {
        const struct config_upstream *up = &cfg->upstreams[s];
        bool used = !up->name || up == cfg->upstream;
        for (size_t i = 0; !used && i < cfg->nbuckets; i++)
            used = cfg->buckets[i].upstream == up;
        for (size_t i = 0; !used && i < cfg->audit.nsinks; i++)
            used = cfg->audit.sinks[i].type == CONFIG_AUDIT_SINK_S3 &&
                   cfg->audit.sinks[i].upstream == up;
        if (used)
            continue;
        if (L->up_src[s].entry)
            snprintf(path, sizeof path, "upstreams[%zu]", L->up_src[s].idx);
        else
            snprintf(path, sizeof path, "upstream");
        warn_at(L, L->file, path, "no bucket or audit sink names upstream %s, and it is not "
                "the default upstream (%s): nothing is sent to it", up->name,
                cfg->upstream && cfg->upstream->name ? cfg->upstream->name : "?");
    }
    /* "default" without a top-level "credentials" is the SDKs' chain, there
     * whether anything uses it or not */
    for (size_t k = L->top_credentials ? 0 : 1; k < L->ncred_named; k++) {
        bool used = !cfg->credential_sets[k].name;
        for (size_t s = 0; !used && s < cfg->nupstreams; s++)
            used = cfg->upstreams[s].name && cfg->upstreams[s].credentials == k;
        if (used)
            continue;
        if (k)
            snprintf(path, sizeof path, "credential_sets[%zu]", k - 1);
        else
            snprintf(path, sizeof path, "credentials");
        warn_at(L, L->file, path, "no upstream uses credential set %s",
                cfg->credential_sets[k].name);
    }
}

static void json_wipe(cJSON *n)
{
    for (; n; n = n->next) {
        if (cJSON_IsString(n) && n->valuestring)
            s3w_wipe(n->valuestring, strlen(n->valuestring));
        if (n->child)
            json_wipe(n->child);
    }
}

static void json_error_position(const char *json, size_t len, const char *at, size_t *line,
                                size_t *col)
{
    *line = 1;
    *col = 1;
    if (!at || at < json || at > json + len)
        return;
    for (const char *p = json; p < at; p++) {
        if (*p == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

int config_load_buffer(const char *name, const char *json, size_t len, const char *base_dir,
                       struct config **out, struct config_errors *errs)
{
    *out = NULL;
    if (!name)
        name = "<buffer>";
    if (len > CONFIG_MAX_FILE_BYTES) {
        config_errors_add(errs, name, "", "the config is larger than %u bytes",
                          CONFIG_MAX_FILE_BYTES);
        return CONFIG_E_INVALID;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, false);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        size_t line, col;
        json_error_position(json, len, end ? end : at, &line, &col);
        config_errors_add(errs, name, "", "invalid JSON at line %zu, column %zu", line, col);
        return CONFIG_E_INVALID;
    }
    /* trailing garbage after the document */
    if (end) {
        const char *p = end;
        while (p < json + len && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t' || *p == '\0'))
            p++;
        if (p < json + len) {
            size_t line, col;
            json_error_position(json, len, p, &line, &col);
            config_errors_add(errs, name, "",
                              "invalid JSON at line %zu, column %zu: data after the document",
                              line, col);
            cJSON_Delete(root);
            return CONFIG_E_INVALID;
        }
    }
    /* cJSON's strings end at a NUL: a policy's "b/x\u0000.txt" would read
     * as "b/x", a bucket "b\u0000x" as "b" (json_guard.h) */
    size_t doc_len = end ? (size_t)(end - json) : len;
    if (json_text_has_nul(json, doc_len)) {
        const char *at = memmem(json, doc_len, "\\u0000", 6);
        if (!at)
            at = memchr(json, '\0', doc_len);
        size_t line, col;
        json_error_position(json, len, at, &line, &col);
        config_errors_add(errs, name, "",
                          "a NUL character (\\u0000) at line %zu, column %zu: no config value "
                          "can contain one", line, col);
        cJSON_Delete(root);
        return CONFIG_E_INVALID;
    }
    struct config *cfg = calloc(1, sizeof *cfg);
    if (!cfg) {
        cJSON_Delete(root);
        return CONFIG_E_NOMEM;
    }
    struct ld L = { .file = name, .base_dir = base_dir, .errs = errs, .cfg = cfg };
    size_t errs_before = errs->n + errs->dropped;
    cfg->source_path = dup(&L, name);
    if (!cJSON_IsObject(root)) {
        config_errors_add(errs, name, "", "the config must be a JSON object, not %s",
                          json_type_name(root));
    } else {
        static const char *const allowed[] = {
            "listeners", "virtual_host_domains", "upstream", "upstreams", "default_upstream",
            "credentials", "credential_sets", "accounts",
            "users", "oidc_providers", "roles", "role_sessions", "buckets",
            "unlisted_buckets", "guardrails", "audit", "limits", "sts", "admin", "log", NULL
        };
        check_fields(&L, root, allowed);
        /* order matters: references are checked against what came before */
        load_listeners(&L, root);
        load_vhost_domains(&L, root);
        load_upstreams(&L, root);
        load_credentials(&L, root);
        load_accounts(&L, root);
        load_users(&L, root);
        load_oidc_providers(&L, root);
        load_roles(&L, root);
        load_role_sessions(&L, root);
        load_buckets(&L, root);
        load_unlisted_buckets(&L, root);
        load_guardrails(&L, root);
        load_audit(&L, root);
        load_limits(&L, root);
        load_sts(&L, root);
        load_admin(&L, root);
        load_log(&L, root);
        warn_unused_upstreams(&L);
    }
    json_wipe(root); /* inline (demo) secrets live in the tree too */
    cJSON_Delete(root);
    smap_free(&L.accounts);
    smap_free(&L.key_ids);
    smap_free(&L.unique_ids);
    smap_free(&L.names);
    smap_free(&L.role_arns);
    smap_free(&L.buckets);
    free(L.policy_text);
    free(L.up_src);
    int rc = CONFIG_OK;
    if (L.nomem)
        rc = CONFIG_E_NOMEM;
    else if (errs->n + errs->dropped != errs_before)
        rc = CONFIG_E_INVALID;
    else if (config_index_build(cfg) != CONFIG_OK)
        rc = CONFIG_E_NOMEM;
    if (rc != CONFIG_OK) {
        config_free(cfg);
        return rc;
    }
    cfg->refs = 1;
    *out = cfg;
    return CONFIG_OK;
}

int config_load(const char *path, struct config **out, struct config_errors *errs)
{
    *out = NULL;
    FILE *f = s3w_fopen_regular(path);
    if (!f) {
        config_errors_add(errs, path, "", "cannot open: %s", s3w_regular_strerror(errno));
        return CONFIG_E_IO;
    }
    char *buf = malloc(CONFIG_MAX_FILE_BYTES + 1);
    if (!buf) {
        fclose(f);
        return CONFIG_E_NOMEM;
    }
    size_t n = fread(buf, 1, CONFIG_MAX_FILE_BYTES + 1, f);
    bool err = ferror(f);
    fclose(f);
    if (err) {
        config_errors_add(errs, path, "", "cannot read: %s", strerror(errno));
        free(buf);
        return CONFIG_E_IO;
    }
    /* base dir = dirname(path) */
    char *dir = strdup(path);
    if (!dir) {
        free(buf);
        return CONFIG_E_NOMEM;
    }
    char *slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    else
        dir[0] = '\0';
    int rc = config_load_buffer(path, buf, n, dir, out, errs);
    /* the file may hold inline demo secrets */
    s3w_wipe(buf, n);
    free(buf);
    free(dir);
    return rc;
}
