/*
 * postpolicy.c - the POST policy document checked against a form
 * (postpolicy.h). The messages are S3's.
 */
#include "postpolicy.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civil.h"
#include "json_guard.h"

#define PP_MAX_DOC (64 * 1024)

static int fail(struct pp_error *e, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(struct pp_error *e, int status, const char *code, const char *fmt, ...)
{
    e->status = status;
    e->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return -1;
}

static int invalid(struct pp_error *e, const char *what)
{
    return fail(e, 400, "InvalidPolicyDocument", "Invalid Policy: %s", what);
}

/* The field a condition names ("$key" -> "key"; "bucket" is the request's) */
static bool field_value(const struct pp_input *in, const char *name, struct s3w_slice *out)
{
    if (strcasecmp(name, "bucket") == 0) {
        *out = in->bucket;
        return true;
    }
    if (strcasecmp(name, "key") == 0 && in->key.ptr) {
        *out = in->key;
        return true;
    }
    for (size_t i = 0; i < in->nfields; i++)
        if (s3w_slice_eq_nocase(in->fields[i].name, s3w_slice_cstr(name))) {
            *out = in->fields[i].value;
            return true;
        }
    return false;
}

static void cover(const struct pp_input *in, bool *covered, const char *name)
{
    for (size_t i = 0; i < in->nfields; i++)
        if (s3w_slice_eq_nocase(in->fields[i].name, s3w_slice_cstr(name)))
            covered[i] = true;
}

static bool starts_with(struct s3w_slice v, const char *prefix)
{
    size_t n = strlen(prefix);
    return v.len >= n && memcmp(v.ptr, prefix, n) == 0;
}

/* ["starts-with", "$Content-Type", p]: each value of a comma-separated
 * list must start with p (POST Policy, "Condition matching"). */
static bool starts_with_each(struct s3w_slice v, const char *prefix)
{
    size_t i = 0;
    do {
        const char *comma = memchr(v.ptr + i, ',', v.len - i);
        size_t e = comma ? (size_t)(comma - v.ptr) : v.len;
        if (!starts_with(s3w_slice_trim(s3w_slice(v.ptr + i, e - i)), prefix))
            return false;
        i = e + 1;
    } while (i < v.len);
    return true;
}

static int cond_failed(struct pp_error *e, const char *op, const char *name, const char *value)
{
    return fail(e, 403, "AccessDenied",
                "Invalid according to Policy: Policy Condition failed: [\"%s\", \"$%s\", \"%.200s\"]",
                op, name, value);
}

/* One condition. */
static int check_condition(const cJSON *c, const struct pp_input *in, bool *covered,
                           struct pp_error *e)
{
    if (cJSON_IsObject(c)) {
        const cJSON *kv = c->child;
        if (!kv || kv->next || !cJSON_IsString(kv))
            return invalid(e, "Invalid Simple-Condition: Simple-Conditions must have exactly one property specified.");
        struct s3w_slice v;
        cover(in, covered, kv->string);
        if (!field_value(in, kv->string, &v) || !s3w_slice_eq_cstr(v, kv->valuestring))
            return cond_failed(e, "eq", kv->string, kv->valuestring);
        return 0;
    }
    if (!cJSON_IsArray(c) || !cJSON_IsString(c->child))
        return invalid(e, "Invalid Condition: a condition is an object or an array.");
    const char *op = c->child->valuestring;
    const cJSON *a1 = c->child->next, *a2 = a1 ? a1->next : NULL;
    if (!a1 || !a2 || a2->next)
        return invalid(e, "Invalid Condition: a condition array has exactly three elements.");
    if (strcasecmp(op, "content-length-range") == 0) {
        if (!cJSON_IsNumber(a1) || !cJSON_IsNumber(a2) || a1->valuedouble < 0 ||
            a2->valuedouble < a1->valuedouble)
            return invalid(e, "Invalid content-length-range: min and max are sizes, min <= max.");
        if ((double)in->file_len > a2->valuedouble)
            return fail(e, 400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size");
        if ((double)in->file_len < a1->valuedouble)
            return fail(e, 400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size");
        return 0;
    }
    bool eq = strcasecmp(op, "eq") == 0, sw = strcasecmp(op, "starts-with") == 0;
    if (!eq && !sw)
        return invalid(e, "Invalid Condition: unknown operation (eq, starts-with, content-length-range).");
    if (!cJSON_IsString(a1) || a1->valuestring[0] != '$' || !cJSON_IsString(a2))
        return invalid(e, "Invalid Condition: [op, \"$field\", \"value\"].");
    const char *name = a1->valuestring + 1;
    cover(in, covered, name);
    struct s3w_slice v;
    bool have = field_value(in, name, &v);
    bool ok = have && (eq ? s3w_slice_eq_cstr(v, a2->valuestring)
                          : strcasecmp(name, "Content-Type") == 0 ? starts_with_each(v, a2->valuestring)
                                                                  : starts_with(v, a2->valuestring));
    return ok ? 0 : cond_failed(e, eq ? "eq" : "starts-with", name, a2->valuestring);
}

static bool exempt(struct s3w_slice n)
{
    return s3w_slice_eq_nocase(n, S3W_SLICE_LIT("x-amz-signature")) ||
           s3w_slice_eq_nocase(n, S3W_SLICE_LIT("file")) ||
           s3w_slice_eq_nocase(n, S3W_SLICE_LIT("policy")) ||
           (n.len >= 9 && s3w_slice_eq_nocase(s3w_slice(n.ptr, 9), S3W_SLICE_LIT("x-ignore-")));
}

int postpolicy_check(struct s3w_slice doc, const struct pp_input *in, struct pp_error *e)
{
    memset(e, 0, sizeof(*e));
    /* and any text cJSON would read otherwise than it is written
     * (json_guard.h): ["starts-with", "$key", "home/alice\u0000"] was
     * checked as "home/alice" (the sixth probe stored home/alicebob/x) */
    if (doc.len > PP_MAX_DOC || json_text_has_nul(doc.ptr, doc.len))
        return invalid(e, "Invalid JSON.");
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(doc.ptr, doc.len, &end, false);
    if (!root || !cJSON_IsObject(root) || json_text_has_trailer(doc.ptr, doc.len, end) ||
        json_object_has_dup(root)) {
        cJSON_Delete(root);
        return invalid(e, "Invalid JSON.");
    }
    int rc = 0;
    bool *covered = calloc(in->nfields ? in->nfields : 1, sizeof(bool));
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(root, "expiration");
    const cJSON *conds = cJSON_GetObjectItemCaseSensitive(root, "conditions");
    int64_t t;
    if (!covered)
        rc = fail(e, 500, "InternalError", "We encountered an internal error. Please try again.");
    else if (!exp)
        rc = invalid(e, "Policy missing expiration.");
    else if (!cJSON_IsString(exp) || !s3w_iso8601_parse(s3w_slice_cstr(exp->valuestring), &t))
        rc = fail(e, 400, "InvalidPolicyDocument", "Invalid Policy: Invalid 'expiration' value: '%.100s'",
                  cJSON_IsString(exp) ? exp->valuestring : "");
    else if (!conds)
        rc = invalid(e, "Policy missing conditions.");
    else if (!cJSON_IsArray(conds))
        rc = invalid(e, "Invalid 'conditions' value: must be a List.");
    else if (in->now >= t)
        rc = fail(e, 403, "AccessDenied", "Invalid according to Policy: Policy expired.");
    for (const cJSON *c = conds && rc == 0 ? conds->child : NULL; c && rc == 0; c = c->next)
        rc = check_condition(c, in, covered, e);
    for (size_t i = 0; i < in->nfields && rc == 0; i++)
        if (!covered[i] && !exempt(in->fields[i].name))
            rc = fail(e, 403, "AccessDenied", "Invalid according to Policy: Extra input fields: %.*s",
                      (int)(in->fields[i].name.len > 200 ? 200 : in->fields[i].name.len),
                      in->fields[i].name.ptr);
    free(covered);
    cJSON_Delete(root);
    return rc;
}
