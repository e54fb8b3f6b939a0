/*
 * cors.c - buckets[].cors: S3's CORSConfiguration in the config (cors.h),
 * validated as S3's PutBucketCors validates it (S3 API Reference,
 * PutBucketCors and "CORSRule"; S3 User Guide, "CORS configuration"):
 * AllowedOrigins and AllowedMethods required, methods among GET, PUT, POST,
 * DELETE, HEAD, at most one '*' in an origin or an allowed header, none in
 * an expose header, at most 100 rules.
 */
#include "cors.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "load_internal.h"

struct cl {
    const char *file;
    struct config_errors *errs;
    char path[CONFIG_PATH_MAX];
    bool *nomem;
    bool bad;
};

static void cerr(struct cl *L, const char *sub, const char *msg)
{
    char p[2 * CONFIG_PATH_MAX];
    snprintf(p, sizeof p, "%.500s%.500s", L->path, sub);
    config_errors_add(L->errs, L->file, p, "%s", msg);
    L->bad = true;
}

static const char *const method_names[] = { "GET", "PUT", "POST", "DELETE", "HEAD" };

unsigned config_cors_method_bit(const char *p, size_t n)
{
    for (size_t i = 0; i < sizeof method_names / sizeof method_names[0]; i++)
        if (strlen(method_names[i]) == n && memcmp(method_names[i], p, n) == 0)
            return 1u << i;
    return 0;
}

const char *config_cors_method_name(unsigned bit)
{
    for (size_t i = 0; i < sizeof method_names / sizeof method_names[0]; i++)
        if (bit == 1u << i)
            return method_names[i];
    return NULL;
}

static bool eq_n(const char *a, const char *b, size_t n, bool nocase)
{
    return nocase ? strncasecmp(a, b, n) == 0 : memcmp(a, b, n) == 0;
}

bool config_cors_wildcard_match(const char *pattern, const char *s, size_t n, bool nocase)
{
    const char *star = strchr(pattern, '*');
    size_t pl = strlen(pattern);
    if (!star)
        return pl == n && eq_n(pattern, s, n, nocase);
    size_t pre = (size_t)(star - pattern), post = pl - pre - 1;
    return n >= pre + post && eq_n(pattern, s, pre, nocase) &&
           eq_n(star + 1, s + n - post, post, nocase);
}

/* A string of printable ASCII without CR/LF: each goes into a response
 * header line as it is. */
static bool header_safe(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return false;
    return true;
}

/* An array of non-empty strings: copied into *out (n in *n). */
static bool str_array(struct cl *L, const cJSON *a, const char *name, int stars_max,
                      char ***out, size_t *n)
{
    char sub[64];
    snprintf(sub, sizeof sub, ".%s", name);
    if (!cJSON_IsArray(a)) {
        cerr(L, sub, "must be an array of strings");
        return false;
    }
    size_t cnt = (size_t)cJSON_GetArraySize(a);
    *out = calloc(cnt ? cnt : 1, sizeof **out);
    if (!*out) {
        *L->nomem = true;
        return false;
    }
    size_t i = 0;
    for (const cJSON *it = a->child; it; it = it->next, i++) {
        char isub[96];
        snprintf(isub, sizeof isub, ".%s[%zu]", name, i);
        if (!cJSON_IsString(it) || !it->valuestring[0]) {
            cerr(L, isub, "must be a non-empty string");
            continue;
        }
        const char *s = it->valuestring;
        if (strlen(s) > CONFIG_CORS_MAX_VALUE || !header_safe(s)) {
            cerr(L, isub, "must be printable ASCII of at most 1024 characters");
            continue;
        }
        int stars = 0;
        for (const char *c = s; *c; c++)
            stars += *c == '*';
        if (stars > stars_max) {
            cerr(L, isub, stars_max ? "may hold at most one '*' wildcard"
                                    : "may not hold a '*' wildcard");
            continue;
        }
        if (!((*out)[(*n)++] = strdup(s)))
            *L->nomem = true;
    }
    return true;
}

static void rule_cleanup(struct config_cors_rule *r)
{
    free(r->id);
    for (size_t i = 0; i < r->norigins; i++)
        free(r->origins[i]);
    free(r->origins);
    for (size_t i = 0; i < r->nallowed_headers; i++)
        free(r->allowed_headers[i]);
    free(r->allowed_headers);
    for (size_t i = 0; i < r->nexpose_headers; i++)
        free(r->expose_headers[i]);
    free(r->expose_headers);
}

void config_cors_free(struct config_cors *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nrules; i++)
        rule_cleanup(&c->rules[i]);
    free(c->rules);
    free(c);
}

static void check_fields(struct cl *L, const cJSON *o, const char *const *allowed)
{
    for (const cJSON *f = o->child; f; f = f->next) {
        bool ok = false;
        for (size_t i = 0; allowed[i]; i++)
            ok |= strcmp(f->string, allowed[i]) == 0;
        if (!ok) {
            char sub[CONFIG_PATH_MAX];
            snprintf(sub, sizeof sub, ".%.200s", f->string);
            cerr(L, sub, "unknown field");
        }
    }
}

static void load_rule(struct cl *L, const cJSON *o, struct config_cors_rule *r)
{
    r->max_age = -1;
    if (!cJSON_IsObject(o)) {
        cerr(L, "", "must be an object (a CORSRule)");
        return;
    }
    static const char *const cors_rule_fields[] = { "ID", "AllowedOrigins", "AllowedMethods",
                                                    "AllowedHeaders", "ExposeHeaders",
                                                    "MaxAgeSeconds", NULL };
    check_fields(L, o, cors_rule_fields);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "ID");
    if (id) {
        if (!cJSON_IsString(id) || strlen(id->valuestring) > CONFIG_CORS_MAX_ID)
            cerr(L, ".ID", "must be a string of at most 255 characters");
        else if (!(r->id = strdup(id->valuestring)))
            *L->nomem = true;
    }
    const cJSON *origins = cJSON_GetObjectItemCaseSensitive(o, "AllowedOrigins");
    if (!origins)
        cerr(L, ".AllowedOrigins", "required (at least one origin)");
    else if (str_array(L, origins, "AllowedOrigins", 1, &r->origins, &r->norigins) && !r->norigins &&
             !cJSON_GetArraySize(origins))
        cerr(L, ".AllowedOrigins", "required (at least one origin)");
    const cJSON *methods = cJSON_GetObjectItemCaseSensitive(o, "AllowedMethods");
    if (!methods || !cJSON_IsArray(methods) || !cJSON_GetArraySize(methods)) {
        cerr(L, ".AllowedMethods", "required: an array of GET, PUT, POST, DELETE, HEAD");
    } else {
        size_t i = 0;
        for (const cJSON *m = methods->child; m; m = m->next, i++) {
            unsigned bit = cJSON_IsString(m) ? config_cors_method_bit(m->valuestring,
                                                                      strlen(m->valuestring))
                                             : 0;
            if (!bit) {
                char sub[64];
                snprintf(sub, sizeof sub, ".AllowedMethods[%zu]", i);
                /* S3: "Found unsupported HTTP method in CORS config." */
                cerr(L, sub, "unsupported HTTP method in CORS config (one of GET, PUT, POST, "
                             "DELETE, HEAD, in capitals)");
            }
            r->methods |= bit;
        }
    }
    const cJSON *ah = cJSON_GetObjectItemCaseSensitive(o, "AllowedHeaders");
    if (ah)
        str_array(L, ah, "AllowedHeaders", 1, &r->allowed_headers, &r->nallowed_headers);
    const cJSON *eh = cJSON_GetObjectItemCaseSensitive(o, "ExposeHeaders");
    if (eh)
        str_array(L, eh, "ExposeHeaders", 0, &r->expose_headers, &r->nexpose_headers);
    const cJSON *ma = cJSON_GetObjectItemCaseSensitive(o, "MaxAgeSeconds");
    if (ma) {
        double d = cJSON_IsNumber(ma) ? ma->valuedouble : -1;
        if (d < 0 || d > 2147483647.0 || d != (double)(int64_t)d)
            cerr(L, ".MaxAgeSeconds", "must be an integer from 0 to 2147483647");
        else
            r->max_age = (int64_t)d;
    }
}

struct config_cors *config_cors_load(const struct cJSON *v, const char *file, const char *path,
                                     struct config_errors *errs, bool *nomem)
{
    if (!v)
        return NULL;
    struct cl L = { .file = file, .errs = errs, .nomem = nomem };
    snprintf(L.path, sizeof L.path, "%s.cors", path);
    if (!cJSON_IsObject(v)) {
        cerr(&L, "", "must be an object {\"CORSRules\": [...]} (as aws s3api get-bucket-cors prints)");
        return NULL;
    }
    static const char *const cors_fields[] = { "CORSRules", NULL };
    check_fields(&L, v, cors_fields);
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(v, "CORSRules");
    size_t n = cJSON_IsArray(arr) ? (size_t)cJSON_GetArraySize(arr) : 0;
    if (!n) {
        cerr(&L, ".CORSRules", "required: an array of 1 to 100 CORSRule objects");
        return NULL;
    }
    if (n > CONFIG_CORS_MAX_RULES) {
        cerr(&L, ".CORSRules", "at most 100 rules (S3's limit)");
        return NULL;
    }
    struct config_cors *c = calloc(1, sizeof *c);
    if (c)
        c->rules = calloc(n, sizeof *c->rules);
    if (!c || !c->rules) {
        free(c);
        *nomem = true;
        return NULL;
    }
    size_t base = strlen(L.path), i = 0;
    for (const cJSON *it = arr->child; it; it = it->next, i++) {
        snprintf(L.path + base, sizeof L.path - base, ".CORSRules[%zu]", i);
        load_rule(&L, it, &c->rules[c->nrules++]);
    }
    if (L.bad || *nomem) {
        config_cors_free(c);
        return NULL;
    }
    return c;
}
