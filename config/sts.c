/*
 * sts.c - the local STS Query API: AssumeRole and GetCallerIdentity.
 *
 * Behaviour follows the AWS STS API reference (2011-06-15): parameter
 * constraints and their "1 validation error detected: ..." wording, the
 * AssumeRoleResponse / GetCallerIdentityResponse / ErrorResponse XML, and
 * IAM's rule that a role trust policy must allow the caller explicitly while
 * a caller from another account also needs its own identity policy to allow
 * sts:AssumeRole on the role (IAM-SEMANTICS §1.1 "Exceptions", §1.5; seed
 * 003). Passing session tags needs sts:TagSession and a source identity
 * needs sts:SetSourceIdentity in the trust policy too (IAM User Guide,
 * "Passing session tags in STS", "Monitor and control actions taken with
 * assumed roles").
 */
#include "sts.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "civil.h"
#include "codec.h"
#include "jwt.h"
#include "policy.h"
#include "token.h"
#include "xml.h"

#define STS_NS "https://sts.amazonaws.com/doc/2011-06-15/"
#define MAX_PARAMS 160
#define SESSION_POLICY_MAX 2048 /* AWS: plaintext session policy <= 2048 chars */
#define CHAINED_MAX_DURATION 3600 /* role chaining is limited to one hour */

/* every amr value of a token reaches the session: one left out could turn
 * a ForAllValues condition on :amr true where AWS's is false */
_Static_assert(JWT_MAX_AMR <= TOKEN_MAX_AMR, "a session token holds every amr value");

void sts_response_init(struct sts_response *r)
{
    r->status = 500;
    r->code = NULL;
    r->session_issued = false;
    r->wi_provider[0] = r->wi_sub[0] = r->wi_aud[0] = '\0';
    r->action[0] = r->role_arn[0] = r->session_name[0] = r->issued_key_id[0] = '\0';
    s3w_buf_init(&r->body, STS_MAX_BODY_BYTES);
}

void sts_response_cleanup(struct sts_response *r)
{
    s3w_buf_cleanup(&r->body); /* wipes: the body held a secret key */
}

/* ---- form parsing ---------------------------------------------------------- */

struct param {
    struct s3w_slice name, value;
};

struct form {
    struct param p[MAX_PARAMS];
    size_t n;
    char *store; /* decoded bytes; STS_MAX_FORM_BYTES */
};

/* application/x-www-form-urlencoded: '+' is a space, %XX a byte. Decodes
 * into the form's store; returns false on a malformed escape or too many
 * parameters. */
static bool decode_part(struct form *f, size_t *used, const char *s, size_t n,
                        struct s3w_slice *out)
{
    char *d = f->store + *used;
    /* decoding never lengthens: n bytes of store are enough (parse_form
     * sizes the store to the body) */
    long o = s3w_pct_decode(s3w_slice(s, n), d, n, S3W_PCT_PLUS_SPACE);
    if (o < 0)
        return false;
    *out = s3w_slice(d, (size_t)o);
    *used += (size_t)o;
    return true;
}

static bool parse_form(struct form *f, struct s3w_slice body)
{
    size_t used = 0, i = 0;
    f->n = 0;
    while (i < body.len) {
        size_t j = i;
        while (j < body.len && body.ptr[j] != '&')
            j++;
        if (j > i) {
            size_t eq = i;
            while (eq < j && body.ptr[eq] != '=')
                eq++;
            if (f->n == MAX_PARAMS)
                return false;
            struct param *p = &f->p[f->n++];
            if (!decode_part(f, &used, body.ptr + i, eq - i, &p->name))
                return false;
            if (!decode_part(f, &used, body.ptr + (eq < j ? eq + 1 : j), eq < j ? j - eq - 1 : 0,
                             &p->value))
                return false;
        }
        i = j + 1;
    }
    return true;
}

static const struct s3w_slice *param(const struct form *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++)
        if (s3w_slice_eq_cstr(f->p[i].name, name))
            return &f->p[i].value;
    return NULL;
}

/* ---- XML ----------------------------------------------------------------- */

/* Text nodes: only &, < and > need escaping (XML 1.0 §2.4); quotes stay
 * as STS writes them ("Value 'x' at 'roleArn'"). One escaper: base/xml. */
static int xml_text(struct s3w_buf *b, struct s3w_slice s)
{
    return s3w_xml_escape(b, s, 0);
}

static int xml_elem(struct s3w_buf *b, const char *tag, struct s3w_slice v)
{
    return s3w_xml_elem(b, tag, v, 0);
}

static int sts_error(struct sts_response *out, int status, const char *type, const char *code,
                     const char *message, struct s3w_slice request_id)
{
    s3w_buf_reset(&out->body);
    out->status = status;
    out->code = code;
    int rc = s3w_buf_printf(&out->body, "<ErrorResponse xmlns=\"" STS_NS "\">"
                                        "<Error><Type>%s</Type><Code>%s</Code>", type, code);
    rc = rc ? rc : xml_elem(&out->body, "Message", s3w_slice_cstr(message));
    rc = rc ? rc : s3w_buf_append_cstr(&out->body, "</Error>");
    rc = rc ? rc : xml_elem(&out->body, "RequestId", request_id);
    rc = rc ? rc : s3w_buf_append_cstr(&out->body, "</ErrorResponse>");
    return rc;
}

static int validation(struct sts_response *out, struct s3w_slice rid, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int validation(struct sts_response *out, struct s3w_slice rid, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return sts_error(out, 400, "Sender", "ValidationError", msg, rid);
}

/* Echoed values are shown as AWS does ('value'), restricted to printable
 * ASCII and truncated so a message never grows without bound. */
static void shown(struct s3w_slice v, char *buf, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < v.len && o + 1 < cap && i < 128; i++)
        buf[o++] = (v.ptr[i] >= ' ' && v.ptr[i] <= '~') ? v.ptr[i] : '?';
    buf[o] = '\0';
}

/* ---- parameter checks ------------------------------------------------------ */

static bool name_chars(struct s3w_slice s, const char *extra)
{
    for (size_t i = 0; i < s.len; i++) {
        char c = s.ptr[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || (c && strchr(extra, c));
        if (!ok)
            return false;
    }
    return true;
}

/* Checks a string member; returns 1 if a ValidationError was written. */
static int check_member(struct sts_response *out, struct s3w_slice rid, const char *member,
                        const struct s3w_slice *v, bool required, size_t min, size_t max,
                        const char *extra_chars, const char *pattern)
{
    char sv[160];
    if (!v) {
        if (!required)
            return 0;
        validation(out, rid, "1 validation error detected: Value null at '%s' failed to satisfy "
                             "constraint: Member must not be null", member);
        return 1;
    }
    shown(*v, sv, sizeof sv);
    if (v->len < min) {
        validation(out, rid, "1 validation error detected: Value '%s' at '%s' failed to "
                             "satisfy constraint: Member must have length greater than or "
                             "equal to %zu", sv, member, min);
        return 1;
    }
    if (v->len > max) {
        validation(out, rid, "1 validation error detected: Value '%s' at '%s' failed to "
                             "satisfy constraint: Member must have length less than or equal "
                             "to %zu", sv, member, max);
        return 1;
    }
    if (extra_chars && !name_chars(*v, extra_chars)) {
        validation(out, rid, "1 validation error detected: Value '%s' at '%s' failed to "
                             "satisfy constraint: Member must satisfy regular expression "
                             "pattern: %s", sv, member, pattern);
        return 1;
    }
    return 0;
}

/* A decimal integer of at most 10 digits, with an optional '-' (a
 * negative duration is out of range, not "not an integer", as STS says). */
static bool parse_i64(struct s3w_slice s, int64_t *out)
{
    bool neg = s.len && s.ptr[0] == '-';
    if (neg)
        s = s3w_slice(s.ptr + 1, s.len - 1);
    if (s.len == 0 || s.len > 10)
        return false;
    int64_t v = 0;
    for (size_t i = 0; i < s.len; i++) {
        if (s.ptr[i] < '0' || s.ptr[i] > '9')
            return false;
        v = v * 10 + (s.ptr[i] - '0');
    }
    *out = neg ? -v : v;
    return true;
}

/* ---- GetCallerIdentity ------------------------------------------------------ */

static int get_caller_identity(const struct config_identity *caller, struct s3w_slice rid,
                               struct sts_response *out)
{
    struct s3w_buf *b = &out->body;
    s3w_buf_reset(b);
    out->status = 200;
    int rc = s3w_buf_append_cstr(b, "<GetCallerIdentityResponse xmlns=\"" STS_NS "\">"
                                    "<GetCallerIdentityResult>");
    rc = rc ? rc : xml_elem(b, "Arn", caller->arn);
    rc = rc ? rc : xml_elem(b, "UserId", caller->userid);
    rc = rc ? rc : xml_elem(b, "Account", caller->account);
    rc = rc ? rc : s3w_buf_append_cstr(b, "</GetCallerIdentityResult><ResponseMetadata>");
    rc = rc ? rc : xml_elem(b, "RequestId", rid);
    rc = rc ? rc : s3w_buf_append_cstr(b, "</ResponseMetadata></GetCallerIdentityResponse>");
    return rc;
}

/* ---- AssumeRole ------------------------------------------------------------ */

struct ar {
    const struct s3w_slice *role_arn, *session_name, *duration, *external_id, *policy,
        *source_identity;
    /* the session's tags: [0, nreq) passed in this call (aws:RequestTag,
     * aws:TagKeys), then those the calling session passes on (transitive) */
    size_t ntags, nreq;
    struct s3w_slice tag_keys[TOKEN_MAX_TAGS], tag_values[TOKEN_MAX_TAGS];
    uint64_t transitive; /* bit i: tag i passes on to the sessions this one assumes */
    size_t ntrans;       /* TransitiveTagKeys as given (sts:TransitiveTagKeys) */
    struct s3w_slice trans_keys[TOKEN_MAX_TAGS];
    int64_t duration_s;
};

/* "aws:" begins tag keys AWS reserves for itself (IAM User Guide, "Tagging
 * AWS resources": "You can't ... use the aws: prefix"): no session tag may
 * set one. UNCONFIRMED: the code and words STS answers with; refused
 * either way (test_sts_chain names the choice). */
static bool reserved_tag_key(struct s3w_slice k)
{
    return k.len >= 4 && s3w_bytes_eq_nocase(k.ptr, "aws:", 4);
}

/* A tag key's or value's characters besides letters, digits and '_' (STS
 * API Reference, Tag). */
#define TAG_EXTRA_CHARS "+-=._:/@ "

/* Collects Tags.member.N.Key / Tags.member.N.Value (N = 1..50). */
static int collect_tags(const struct form *f, struct ar *a, struct sts_response *out,
                        struct s3w_slice rid)
{
    a->ntags = 0;
    for (size_t i = 0; i < f->n; i++)
        if (s3w_slice_starts_with(f->p[i].name, S3W_SLICE_LIT("Tags.member.")) &&
            f->p[i].name.len > 16 &&
            memcmp(f->p[i].name.ptr + f->p[i].name.len - 4, ".Key", 4) == 0) {
            if (a->ntags == TOKEN_MAX_TAGS) {
                validation(out, rid, "1 validation error detected: Value at 'tags' failed to "
                                     "satisfy constraint: Member must have length less than or "
                                     "equal to 50");
                return 1;
            }
            char vname[64];
            int n = snprintf(vname, sizeof vname, "%.*sValue",
                             (int)(f->p[i].name.len - 3), f->p[i].name.ptr);
            const struct s3w_slice *v = n > 0 && (size_t)n < sizeof vname ? param(f, vname) : NULL;
            struct s3w_slice empty = S3W_SLICE_LIT("");
            if (check_member(out, rid, "tags.member.key", &f->p[i].value, true, 1, 128,
                             TAG_EXTRA_CHARS, "[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+") ||
                check_member(out, rid, "tags.member.value", v ? v : &empty, true, 0, 256,
                             TAG_EXTRA_CHARS, "[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*"))
                return 1;
            for (size_t j = 0; j < a->ntags; j++)
                if (s3w_slice_eq_nocase(a->tag_keys[j], f->p[i].value)) {
                    sts_error(out, 400, "Sender", "InvalidParameterValue",
                              "Duplicate tag keys found. Please note that Tag keys are case "
                              "insensitive.", rid);
                    return 1;
                }
            if (reserved_tag_key(f->p[i].value)) {
                sts_error(out, 400, "Sender", "InvalidParameterValue",
                          "Tag keys may not begin with the reserved prefix aws:.", rid);
                return 1;
            }
            a->tag_keys[a->ntags] = f->p[i].value;
            a->tag_values[a->ntags] = v ? *v : empty;
            a->ntags++;
        }
    return 0;
}

/* TransitiveTagKeys.member.N: each must name a tag of this call (case
 * insensitive, as tag keys are), which then passes on to the sessions the
 * new one assumes (IAM User Guide, "Chaining roles with session tags"). */
static int collect_transitive(const struct form *f, struct ar *a, struct sts_response *out,
                              struct s3w_slice rid)
{
    a->ntrans = 0;
    for (size_t i = 0; i < f->n; i++) {
        if (!s3w_slice_starts_with(f->p[i].name, S3W_SLICE_LIT("TransitiveTagKeys.member.")))
            continue;
        if (a->ntrans == TOKEN_MAX_TAGS) {
            validation(out, rid, "1 validation error detected: Value at 'transitiveTagKeys' "
                                 "failed to satisfy constraint: Member must have length less "
                                 "than or equal to 50");
            return 1;
        }
        struct s3w_slice k = f->p[i].value;
        size_t j = 0;
        while (j < a->ntags && !s3w_slice_eq_nocase(a->tag_keys[j], k))
            j++;
        if (j == a->ntags) {
            sts_error(out, 400, "Sender", "InvalidParameterValue",
                      "The specified transitive tag key must be included in the requested "
                      "tags.", rid);
            return 1;
        }
        a->transitive |= (uint64_t)1 << j;
        a->trans_keys[a->ntrans++] = k;
    }
    return 0;
}

/* The calling session's transitive tags go to the new session, transitive
 * again ("Transitive tags persist during role chaining"), and this call
 * may not pass a tag with one of their keys ("If you try to pass the
 * Heart = 3 session tag, the operation will fail": IAM User Guide,
 * "Chaining roles with session tags"). UNCONFIRMED: the code and words of
 * that failure; refused either way (test_sts_chain names the choice). */
static int inherit_transitive(const struct config_identity *caller, struct ar *a,
                              struct sts_response *out, struct s3w_slice rid)
{
    for (size_t i = 0; i < caller->nsession_tags && i < caller->ntags; i++) {
        const struct config_identity_tag *t = &caller->tags[i];
        if (!t->transitive)
            continue;
        for (size_t j = 0; j < a->nreq; j++)
            if (s3w_slice_eq_nocase(a->tag_keys[j], t->key)) {
                sts_error(out, 400, "Sender", "InvalidParameterValue",
                          "One or more session tags have the key of a transitive tag of the "
                          "calling session, which cannot be changed in a role chain.", rid);
                return 1;
            }
        if (a->ntags == TOKEN_MAX_TAGS) {
            sts_error(out, 400, "Sender", "PackedPolicyTooLarge",
                      "Packed size of the session policy and tags exceeds the limit.", rid);
            return 1;
        }
        a->transitive |= (uint64_t)1 << a->ntags;
        a->tag_keys[a->ntags] = t->key;
        a->tag_values[a->ntags++] = t->value;
    }
    return 0;
}

static int access_denied(struct sts_response *out, const struct config_identity *caller,
                         struct s3w_slice role_arn, struct s3w_slice rid)
{
    char msg[640];
    char ra[300];
    shown(role_arn, ra, sizeof ra);
    /* One message for "no such role", "trust policy does not allow" and
     * "identity policy does not allow": STS does not tell a caller which
     * (nor whether the role exists). */
    snprintf(msg, sizeof msg, "User: %.*s is not authorized to perform: sts:AssumeRole on "
                              "resource: %s", (int)caller->arn.len, caller->arn.ptr, ra);
    return sts_error(out, 403, "Sender", "AccessDenied", msg, rid);
}

/* Evaluates `action` on the role for the caller: the trust policy must
 * allow on its own (in cross-account mode, so an account principal counts
 * as "allows" - the identity side is checked next), then the full
 * evaluation (identity policies, boundary, session policy, guardrails)
 * with the role's account as the resource account must allow. */
static bool may(const struct config *cfg, const struct config_identity *caller,
                const struct config_role *role, const struct policy *allow_all,
                const char *action, const struct policy_context *ctx)
{
    struct policy_principal pr;
    config_identity_principal(caller, &pr);
    struct policy_result res;
    const struct policy *const aa[1] = { allow_all };
    struct policy_set trust = { .resource = role->trust_policy, .identity = aa, .nidentity = 1 };
    struct policy_request req = {
        .principal = &pr,
        .action = s3w_slice_cstr(action),
        .resource = s3w_slice_cstr(role->arn),
        .resource_account = S3W_SLICE_NULL, /* never equal: cross-account mode */
        .ctx = ctx,
    };
    if (policy_evaluate(&trust, &req, &res) != POLICY_OK || res.decision != POLICY_ALLOWED)
        return false;
    const struct policy *bnd[1] = { caller->boundary };
    struct policy_set full = {
        .guardrails = cfg->guardrail_ptrs, .nguardrails = cfg->nguardrails,
        .resource = role->trust_policy,
        .identity = caller->policies, .nidentity = caller->npolicies,
        .boundary = caller->boundary ? bnd : NULL, .nboundary = caller->boundary ? 1 : 0,
        .session = caller->session_policy,
    };
    req.resource_account = s3w_slice_cstr(role->account);
    return policy_evaluate(&full, &req, &res) == POLICY_OK && res.decision == POLICY_ALLOWED;
}

static struct policy *allow_all_policy(void)
{
    static const char doc[] = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
                              "\"Action\":\"*\",\"Resource\":\"*\"}]}";
    struct policy_compile_opts o = { .kind = POLICY_KIND_IDENTITY, .name = "trust-check" };
    struct policy *p = NULL;
    policy_compile(doc, sizeof doc - 1, &o, &p, NULL);
    return p;
}

/* A step of assume_role() that has written an error response to the caller
 * returns ANSWERED: assume_role() stops and returns 0 (the response is
 * ready). 0 means go on; a negative S3W_E_* is an internal error. */
#define ANSWERED 1

static int answered(int rc)
{
    return rc ? rc : ANSWERED;
}

/* DurationSeconds: an integer in 900..max (43200 for the AssumeRole
 * calls, 129600 for GetSessionToken: API reference), `dflt` when absent.
 * Returns 0, or ANSWERED once a ValidationError is written. */
static int read_duration(struct ar *a, int64_t dflt, int64_t max, struct sts_response *out,
                         struct s3w_slice rid)
{
    a->duration_s = dflt;
    if (!a->duration)
        return 0;
    char sv[160];
    shown(*a->duration, sv, sizeof sv);
    char lim[64] = "";
    const char *what = NULL;
    if (!parse_i64(*a->duration, &a->duration_s)) {
        what = "be an integer";
    } else if (a->duration_s < 900) {
        what = "have value greater than or equal to ";
        snprintf(lim, sizeof lim, "900");
    } else if (a->duration_s > max) {
        what = "have value less than or equal to ";
        snprintf(lim, sizeof lim, "%lld", (long long)max);
    }
    if (!what)
        return 0;
    char msg[400];
    snprintf(msg, sizeof msg, "1 validation error detected: Value '%s' at 'durationSeconds' "
             "failed to satisfy constraint: Member must %s%s", sv, what, lim);
    return answered(sts_error(out, 400, "Sender", "ValidationError", msg, rid));
}

/* Whether the parameters meet the API reference's constraints (checked in
 * its order), and which features s3warden refuses; reads them into *a. */
static int read_params(const struct config *cfg, const struct form *f, struct ar *a,
                       struct sts_response *out, struct s3w_slice rid)
{
    memset(a, 0, sizeof *a);
    a->role_arn = param(f, "RoleArn");
    a->session_name = param(f, "RoleSessionName");
    a->duration = param(f, "DurationSeconds");
    a->external_id = param(f, "ExternalId");
    a->policy = param(f, "Policy");
    a->source_identity = param(f, "SourceIdentity");

    if (check_member(out, rid, "roleArn", a->role_arn, true, 20, 2048, NULL, NULL) ||
        check_member(out, rid, "roleSessionName", a->session_name, true, 2, 64, "+=,.@-",
                     "[\\w+=,.@-]*") ||
        check_member(out, rid, "externalId", a->external_id, false, 2, 1224, "+=,.@:/-",
                     "[\\w+=,.@:\\/-]*") ||
        check_member(out, rid, "sourceIdentity", a->source_identity, false, 2, 64, "+=,.@-",
                     "[\\w+=,.@-]*") ||
        check_member(out, rid, "policy", a->policy, false, 1, 131072, NULL, NULL))
        return ANSWERED;
    if (param(f, "PolicyArns.member.1.arn"))
        return answered(sts_error(out, 400, "Sender", "InvalidParameterValue",
                                  "PolicyArns (managed session policies) are not supported by "
                                  "s3warden; pass the session policy inline in Policy.",
                                  rid));
    if (param(f, "SerialNumber") || param(f, "TokenCode"))
        return answered(sts_error(out, 400, "Sender", "InvalidParameterValue",
                                  "MFA (SerialNumber, TokenCode) is not supported by s3warden.",
                                  rid));
    if (read_duration(a, cfg->sts.default_duration_seconds, 43200, out, rid))
        return ANSWERED;
    if (collect_tags(f, a, out, rid) || collect_transitive(f, a, out, rid))
        return ANSWERED;
    a->nreq = a->ntags;
    return 0;
}

/* Which role is asked for (never by a root account), and the session's
 * duration within the role's maximum and the one-hour chaining limit. */
static int find_role(const struct config *cfg, const struct config_identity *caller,
                     struct ar *a, const struct config_role **rolep, struct sts_response *out,
                     struct s3w_slice rid)
{
    /* AWS STS refuses root credentials for AssumeRole whatever the trust
     * policy says (API reference, AssumeRole: "You must use credentials for
     * an IAM user or an IAM role"), with this exact message. */
    if (caller->type == CONFIG_PRINCIPAL_ACCOUNT)
        return answered(sts_error(out, 403, "Sender", "AccessDenied",
                                  "Roles may not be assumed by root accounts.", rid));
    const struct config_role *role = config_find_role_arn(cfg, *a->role_arn);
    if (!role)
        return answered(access_denied(out, caller, *a->role_arn, rid));
    bool chained = caller->type == CONFIG_PRINCIPAL_ASSUMED_ROLE;
    if (!a->duration && a->duration_s > role->max_session_duration)
        a->duration_s = role->max_session_duration;
    if (chained && a->duration && a->duration_s > CHAINED_MAX_DURATION)
        return answered(validation(out, rid, "The requested DurationSeconds exceeds the 1 hour "
                                             "session limit for roles assumed by role chaining."));
    if (chained && a->duration_s > CHAINED_MAX_DURATION)
        a->duration_s = CHAINED_MAX_DURATION;
    if (a->duration_s > role->max_session_duration)
        return answered(validation(out, rid, "The requested DurationSeconds exceeds the "
                                             "MaxSessionDuration set for this role."));
    *rolep = role;
    return 0;
}

/* Whether the session policy, if any, fits and compiles as one (it then
 * only narrows); the token carries its text and it is compiled again on
 * use. */
static int check_session_policy(const struct ar *a, struct sts_response *out,
                                struct s3w_slice rid)
{
    if (!a->policy)
        return 0;
    if (a->policy->len > SESSION_POLICY_MAX)
        return answered(sts_error(out, 400, "Sender", "PackedPolicyTooLarge",
                                  "Packed size of the session policy and tags exceeds the limit.",
                                  rid));
    struct policy_diags *d = malloc(sizeof *d);
    if (!d)
        return S3W_E_NOMEM;
    policy_diags_init(d);
    struct policy_compile_opts o = { .kind = POLICY_KIND_SESSION, .name = "session-policy" };
    struct policy *sp = NULL;
    int prc = policy_compile(a->policy->ptr, a->policy->len, &o, &sp, d);
    if (prc != POLICY_OK) {
        char msg[POLICY_DIAG_TEXT_MAX + 64];
        snprintf(msg, sizeof msg, "The policy is not valid: %s",
                 d->n ? d->items[0].text : policy_strerror(prc));
        free(d);
        return answered(sts_error(out, 400, "Sender", "MalformedPolicyDocument", msg, rid));
    }
    free(d);
    policy_free(sp);
    return 0;
}

/* The bytes the trust-check context borrows (policy/context.h): they must
 * outlive every evaluation of that context. */
struct ar_ctx_text {
    char now_iso[S3W_ISO8601_LEN + 1], epoch[24];
    char reqtag_keys[TOKEN_MAX_TAGS][sizeof "aws:RequestTag/" + 128];
};

/* The request context the trust policy's conditions see: the caller's
 * identity keys, the time, and the STS request keys. Every key must make it
 * into the context: a dropped key (context full, e.g. a caller with 50
 * principal tags passing 50 session tags) makes a ForAllValues condition on
 * aws:TagKeys vacuously true and a Deny on a missing key never fire - fail
 * closed instead (S3W_E_TOOBIG, InternalError). */
static int build_context(const struct config_identity *caller, const struct ar *a, int64_t now,
                         struct ar_ctx_text *txt, struct policy_context *ctx)
{
    int crc = config_identity_fill_context(caller, ctx);
    /* STS calls are signed (policy/keys.c) */
    crc = crc ? crc : policy_context_set_fixed(ctx, true);
    s3w_iso8601_format(now, txt->now_iso);
    snprintf(txt->epoch, sizeof txt->epoch, "%lld", (long long)now);
    crc = crc ? crc
              : policy_context_set(ctx, S3W_SLICE_LIT("aws:CurrentTime"),
                                   s3w_slice_cstr(txt->now_iso));
    crc = crc ? crc
              : policy_context_set(ctx, S3W_SLICE_LIT("aws:EpochTime"),
                                   s3w_slice_cstr(txt->epoch));
    crc = crc ? crc
              : policy_context_set(ctx, S3W_SLICE_LIT("sts:RoleSessionName"),
                                   *a->session_name);
    if (a->external_id)
        crc = crc ? crc : policy_context_set(ctx, S3W_SLICE_LIT("sts:ExternalId"), *a->external_id);
    if (a->source_identity)
        crc = crc ? crc
                  : policy_context_set(ctx, S3W_SLICE_LIT("sts:SourceIdentity"),
                                       *a->source_identity);
    /* the tags this call passes; not those the calling session passes on */
    for (size_t i = 0; i < a->nreq; i++) {
        int n = snprintf(txt->reqtag_keys[i], sizeof txt->reqtag_keys[i], "aws:RequestTag/%.*s",
                         (int)a->tag_keys[i].len, a->tag_keys[i].ptr);
        crc = crc ? crc
                  : policy_context_set(ctx, s3w_slice(txt->reqtag_keys[i], (size_t)n),
                                       a->tag_values[i]);
    }
    if (a->nreq)
        crc = crc ? crc
                  : policy_context_set_multi(ctx, S3W_SLICE_LIT("aws:TagKeys"), a->tag_keys,
                                             a->nreq);
    if (a->ntrans)
        crc = crc ? crc
                  : policy_context_set_multi(ctx, S3W_SLICE_LIT("sts:TransitiveTagKeys"),
                                             a->trans_keys, a->ntrans);
    return crc != POLICY_CTX_OK ? S3W_E_TOOBIG : 0;
}

/* Whether the caller may assume the role with what it asks for (session
 * tags, source identity), under the trust policy and its own policies. */
static int authorize(const struct config *cfg, const struct config_identity *caller,
                     const struct config_role *role, const struct policy *allow_all,
                     const struct ar *a, const struct policy_context *ctx,
                     struct sts_response *out, struct s3w_slice rid)
{
    /* sts:TagSession for any session tag, those passed on included: the
     * reading that denies where the guide does not say (test_sts_chain) */
    if (!may(cfg, caller, role, allow_all, "sts:AssumeRole", ctx) ||
        (a->ntags && !may(cfg, caller, role, allow_all, "sts:TagSession", ctx)) ||
        (a->source_identity &&
         !may(cfg, caller, role, allow_all, "sts:SetSourceIdentity", ctx)))
        return answered(access_denied(out, caller, *a->role_arn, rid));
    /* "The source identity value can't be changed after it is set, and it
     * persists" through role chaining (IAM User Guide, "Monitor and control
     * actions taken with assumed roles"): a chained call passing another
     * value is denied, or a session could shed an aws:SourceIdentity that
     * a Deny keys on. */
    if (a->source_identity && caller->source_identity.len &&
        !s3w_slice_eq(*a->source_identity, caller->source_identity))
        return answered(access_denied(out, caller, *a->role_arn, rid));
    return 0;
}

/* What AssumeRoleWithWebIdentity adds to its result (sub, provider = the
 * provider's HOST/PATH, aud) and to the session: the condition keys the
 * session's later requests carry (token.h, version 2). */
struct wi_result {
    struct s3w_slice sub, provider, aud;
    struct s3w_slice provider_arn, sub_key, aud_key, amr_key;
    const struct s3w_slice *amr;
    size_t namr;
};

/* The AssumeRoleResponse (or AssumeRoleWithWebIdentityResponse, wi set)
 * document for a minted session. */
static int write_response(struct sts_response *out, const struct config_role *role,
                          const struct token_claims *c, const char *akid, const char *secret,
                          const struct s3w_buf *token, bool packed, const struct wi_result *wi,
                          struct s3w_slice rid)
{
    struct s3w_buf *b = &out->body;
    const char *op = wi ? "AssumeRoleWithWebIdentity" : "AssumeRole";
    char exp[S3W_ISO8601_LEN + 1];
    s3w_iso8601_format(c->expires, exp);
    s3w_buf_reset(b);
    out->status = 200;
    int rc = s3w_buf_printf(b, "<%sResponse xmlns=\"" STS_NS "\"><%sResult>", op, op);
    if (!rc && wi) {
        rc = xml_elem(b, "SubjectFromWebIdentityToken", wi->sub);
        rc = rc ? rc : xml_elem(b, "Provider", wi->provider);
        rc = rc ? rc : xml_elem(b, "Audience", wi->aud);
    }
    if (!rc && c->source_identity.len)
        rc = xml_elem(b, "SourceIdentity", c->source_identity);
    rc = rc ? rc : s3w_buf_append_cstr(b, "<AssumedRoleUser>");
    rc = rc ? rc : s3w_buf_append_cstr(b, "<Arn>");
    rc = rc ? rc : s3w_buf_printf(b, "arn:aws:sts::%s:assumed-role/%s/", role->account,
                                  role->name);
    rc = rc ? rc : xml_text(b, c->session_name);
    rc = rc ? rc : s3w_buf_append_cstr(b, "</Arn><AssumedRoleId>");
    rc = rc ? rc : s3w_buf_printf(b, "%s:", role->unique_id);
    rc = rc ? rc : xml_text(b, c->session_name);
    rc = rc ? rc : s3w_buf_append_cstr(b, "</AssumedRoleId></AssumedRoleUser><Credentials>");
    rc = rc ? rc : xml_elem(b, "AccessKeyId", s3w_slice_cstr(akid));
    snprintf(out->issued_key_id, sizeof(out->issued_key_id), "%s", akid);
    rc = rc ? rc : xml_elem(b, "SecretAccessKey", s3w_slice_cstr(secret));
    rc = rc ? rc : xml_elem(b, "SessionToken", s3w_buf_slice(token));
    rc = rc ? rc : xml_elem(b, "Expiration", s3w_slice_cstr(exp));
    rc = rc ? rc : s3w_buf_append_cstr(b, "</Credentials>");
    if (!rc && packed)
        /* percentage of the packed limit used; ours is the token size */
        rc = s3w_buf_printf(b, "<PackedPolicySize>%zu</PackedPolicySize>",
                            token->len * 100 / TOKEN_MAX_B64);
    rc = rc ? rc : s3w_buf_printf(b, "</%sResult><ResponseMetadata>", op);
    rc = rc ? rc : xml_elem(b, "RequestId", rid);
    rc = rc ? rc : s3w_buf_printf(b, "</ResponseMetadata></%sResponse>", op);
    out->session_issued = rc == 0;
    return rc;
}

/* The session: its claims sealed into a token with a fresh key pair, and
 * the response that hands them out; a too-large token is the caller's
 * PackedPolicyTooLarge. */
static int mint_session(const struct config *cfg, struct s3w_slice caller_arn,
                        struct s3w_slice caller_source_identity, const struct config_role *role,
                        const struct ar *a, const struct wi_result *wi, int64_t now,
                        struct sts_response *out, struct s3w_slice rid)
{
    struct token_claims c;
    memset(&c, 0, sizeof c);
    c.issued = now;
    c.expires = now + a->duration_s;
    c.role_arn = s3w_slice_cstr(role->arn);
    c.role_unique_id = s3w_slice_cstr(role->unique_id);
    c.session_name = *a->session_name;
    c.source_identity = a->source_identity ? *a->source_identity : S3W_SLICE_NULL;
    /* a source identity set once sticks through role chaining */
    if (!a->source_identity && caller_source_identity.len)
        c.source_identity = caller_source_identity;
    c.session_policy = a->policy ? *a->policy : S3W_SLICE_NULL;
    c.caller_arn = caller_arn;
    char tagkeys[TOKEN_MAX_TAGS][TOKEN_TAG_PREFIX_LEN + 128 + 1];
    for (size_t i = 0; i < a->ntags; i++) {
        int n = snprintf(tagkeys[i], sizeof tagkeys[i], TOKEN_TAG_PREFIX "%.*s",
                         (int)a->tag_keys[i].len, a->tag_keys[i].ptr);
        c.tag_ctx_keys[i] = s3w_slice(tagkeys[i], (size_t)n);
        c.tag_values[i] = a->tag_values[i];
    }
    c.ntags = a->ntags;
    c.transitive = a->transitive;
    if (wi) {
        /* "additional condition keys are available when the temporary
         * security credentials are used to make a request" (IAM User
         * Guide, "Available keys for AWS web identity federation"): the
         * provider's sub, aud and amr; aws:FederatedProvider "is present
         * in the role-session of a role that was assumed using OpenID
         * Connect (OIDC) provider" and is its ARN for providers that are
         * not built into AWS (global condition keys, aws:FederatedProvider).
         * email is listed for neither: left out (docs/config.md) */
        c.federated_provider = wi->provider_arn;
        c.wi_sub_key = wi->sub_key;
        c.wi_sub = wi->sub;
        c.wi_aud_key = wi->aud_key;
        c.wi_aud = wi->aud;
        c.wi_amr_key = wi->amr_key;
        c.wi_namr = wi->namr;
        for (size_t i = 0; i < c.wi_namr; i++)
            c.wi_amr[i] = wi->amr[i];
    }
    struct s3w_buf token;
    s3w_buf_init(&token, TOKEN_MAX_B64);
    char akid[TOKEN_AKID_LEN + 1], secret[TOKEN_SECRET_LEN + 1];
    int rc;
    int trc = token_seal(&cfg->sts, &c, &token, akid, secret);
    if (trc == TOKEN_E_TOOBIG)
        rc = sts_error(out, 400, "Sender", "PackedPolicyTooLarge",
                       "Packed size of the session policy and tags exceeds the limit.", rid);
    else if (trc != TOKEN_OK)
        rc = S3W_E_INVAL;
    else
        rc = write_response(out, role, &c, akid, secret, &token, a->policy || a->ntags, wi, rid);
    s3w_wipe(secret, sizeof secret);
    s3w_buf_cleanup(&token);
    return rc;
}

/* AssumeRole: returns 0 once a response (credentials or an STS error) is
 * written, or a negative S3W_E_* for an internal error. */
static int assume_role(const struct config *cfg, const struct config_identity *caller,
                       const struct form *f, int64_t now, struct s3w_slice rid,
                       struct sts_response *out)
{
    struct ar a;
    const struct config_role *role = NULL;
    struct ar_ctx_text txt;
    struct policy_context *ctx = NULL;
    struct policy *allow_all = NULL;

    int rc = read_params(cfg, f, &a, out, rid);
    rc = rc ? rc : find_role(cfg, caller, &a, &role, out, rid);
    rc = rc ? rc : (inherit_transitive(caller, &a, out, rid) ? ANSWERED : 0);
    rc = rc ? rc : check_session_policy(&a, out, rid);
    if (rc)
        goto cleanup;

    ctx = malloc(sizeof *ctx);
    allow_all = allow_all_policy();
    if (!ctx || !allow_all) {
        rc = S3W_E_NOMEM;
        goto cleanup;
    }
    policy_context_init(ctx);
    rc = build_context(caller, &a, now, &txt, ctx);
    rc = rc ? rc : authorize(cfg, caller, role, allow_all, &a, ctx, out, rid);
    rc = rc ? rc : mint_session(cfg, caller->arn, caller->source_identity, role, &a, NULL, now,
                                out, rid);

cleanup:
    free(ctx);
    policy_free(allow_all);
    return rc == ANSWERED ? 0 : rc;
}

/* ---- AssumeRoleWithWebIdentity ---------------------------------------------
 * An unsigned call (API reference: "does not require the use of AWS
 * security credentials"): the OIDC ID token is the proof. The token is
 * verified with config/jwt against the provider of the role's account whose
 * URL is its iss; the trust policy then decides with the provider as
 * principal ({"Federated": ARN}) and the condition keys AWS sets from the
 * token ("Available keys for AWS web identity federation"). */

#define WI_NOT_AUTHORIZED "Not authorized to perform sts:AssumeRoleWithWebIdentity"

static int wi_error(struct sts_response *out, int status, const char *code, const char *msg,
                    struct s3w_slice rid)
{
    return answered(sts_error(out, status, "Sender", code, msg, rid));
}

/* Bytes the web identity's context borrows. */
struct wi_ctx_text {
    char now_iso[S3W_ISO8601_LEN + 1], epoch[24];
    char key_sub[300], key_aud[300], key_amr[300], key_email[300];
    char reqtag_keys[TOKEN_MAX_TAGS][sizeof "aws:RequestTag/" + 128];
};

static int wi_context(const struct config_oidc_provider *o, const struct jwt_claims *cl,
                      const struct ar *a, int64_t now, struct wi_ctx_text *t,
                      struct policy_context *ctx)
{
    int crc = policy_context_set_fixed(ctx, false);
    s3w_iso8601_format(now, t->now_iso);
    snprintf(t->epoch, sizeof t->epoch, "%lld", (long long)now);
    int n1 = snprintf(t->key_sub, sizeof t->key_sub, "%s:sub", o->host_path);
    int n2 = snprintf(t->key_aud, sizeof t->key_aud, "%s:aud", o->host_path);
    int n3 = snprintf(t->key_amr, sizeof t->key_amr, "%s:amr", o->host_path);
    int n4 = snprintf(t->key_email, sizeof t->key_email, "%s:email", o->host_path);
    if (n1 < 0 || n4 < 0 || (size_t)n4 >= sizeof t->key_email)
        return S3W_E_TOOBIG; /* host_path is at most 247 bytes */
    crc = crc ? crc : policy_context_set(ctx, S3W_SLICE_LIT("aws:CurrentTime"),
                                         s3w_slice_cstr(t->now_iso));
    crc = crc ? crc : policy_context_set(ctx, S3W_SLICE_LIT("aws:EpochTime"),
                                         s3w_slice_cstr(t->epoch));
    crc = crc ? crc : policy_context_set(ctx, S3W_SLICE_LIT("aws:FederatedProvider"),
                                         s3w_slice_cstr(o->arn));
    crc = crc ? crc : policy_context_set(ctx, S3W_SLICE_LIT("sts:RoleSessionName"),
                                         *a->session_name);
    crc = crc ? crc : policy_context_set(ctx, s3w_slice(t->key_sub, (size_t)n1), cl->sub);
    crc = crc ? crc : policy_context_set(ctx, s3w_slice(t->key_aud, (size_t)n2), cl->aud);
    if (cl->namr)
        crc = crc ? crc : policy_context_set_multi(ctx, s3w_slice(t->key_amr, (size_t)n3),
                                                   cl->amr, cl->namr);
    if (cl->email.len)
        crc = crc ? crc : policy_context_set(ctx, s3w_slice(t->key_email, (size_t)n4),
                                             cl->email);
    for (size_t i = 0; i < a->ntags; i++) {
        int n = snprintf(t->reqtag_keys[i], sizeof t->reqtag_keys[i], "aws:RequestTag/%.*s",
                         (int)a->tag_keys[i].len, a->tag_keys[i].ptr);
        crc = crc ? crc : policy_context_set(ctx, s3w_slice(t->reqtag_keys[i], (size_t)n),
                                             a->tag_values[i]);
    }
    if (a->ntags)
        crc = crc ? crc : policy_context_set_multi(ctx, S3W_SLICE_LIT("aws:TagKeys"),
                                                   a->tag_keys, a->ntags);
    if (a->ntrans)
        crc = crc ? crc : policy_context_set_multi(ctx, S3W_SLICE_LIT("sts:TransitiveTagKeys"),
                                                   a->trans_keys, a->ntrans);
    return crc != POLICY_CTX_OK ? S3W_E_TOOBIG : 0;
}

/* Session tags from the token's "https://aws.amazon.com/tags" claim
 * (IAM User Guide, "Passing session tags using AssumeRoleWithWebIdentity"):
 * {"principal_tags": {"K": ["V"]}, "transitive_tag_keys": [...]}, one
 * value per key. A claim that does not have that shape is the IdP's fault:
 * IDPRejectedClaim. The strings live in `doc` (freed by the caller). */
static int wi_tags(const struct jwt_claims *cl, struct ar *a, cJSON **doc,
                   struct sts_response *out, struct s3w_slice rid)
{
    *doc = NULL;
    if (!cl->aws_tags.len)
        return 0;
    *doc = cJSON_ParseWithLength(cl->aws_tags.ptr, cl->aws_tags.len);
    const cJSON *pt = *doc ? cJSON_GetObjectItemCaseSensitive(*doc, "principal_tags") : NULL;
    bool ok = cJSON_IsObject(pt);
    for (const cJSON *t = ok ? pt->child : NULL; t && ok; t = t->next) {
        const cJSON *v = cJSON_IsArray(t) && cJSON_GetArraySize(t) == 1 ? t->child : NULL;
        size_t kl = strlen(t->string);
        /* the characters of AssumeRole's Tags too (STS API Reference, Tag:
         * [\p{L}\p{Z}\p{N}_.:/=+\-@], ASCII here as in collect_tags): the
         * eighth probe passed "a,b c" and "bl<ue>&" into aws:PrincipalTag */
        ok = v && cJSON_IsString(v) && kl >= 1 && kl <= 128 && strlen(v->valuestring) <= 256 &&
             name_chars(s3w_slice_cstr(t->string), TAG_EXTRA_CHARS) &&
             name_chars(s3w_slice_cstr(v->valuestring), TAG_EXTRA_CHARS) &&
             a->ntags < TOKEN_MAX_TAGS;
        for (size_t j = 0; ok && j < a->ntags; j++)
            ok = !s3w_slice_eq_nocase(a->tag_keys[j], s3w_slice_cstr(t->string));
        ok = ok && !reserved_tag_key(s3w_slice_cstr(t->string));
        if (ok) {
            a->tag_keys[a->ntags] = s3w_slice_cstr(t->string);
            a->tag_values[a->ntags++] = s3w_slice_cstr(v->valuestring);
        }
    }
    /* transitive_tag_keys: each one a key of principal_tags (case
     * insensitive); those tags pass on to the sessions the new one assumes */
    const cJSON *tk = ok ? cJSON_GetObjectItemCaseSensitive(*doc, "transitive_tag_keys") : NULL;
    ok = ok && (!tk || cJSON_IsArray(tk));
    for (const cJSON *k = tk ? tk->child : NULL; k && ok; k = k->next) {
        size_t j = 0;
        ok = cJSON_IsString(k) && a->ntrans < TOKEN_MAX_TAGS;
        while (ok && j < a->ntags && !s3w_slice_eq_nocase(a->tag_keys[j], s3w_slice_cstr(k->valuestring)))
            j++;
        ok = ok && j < a->ntags;
        if (ok) {
            a->transitive |= (uint64_t)1 << j;
            a->trans_keys[a->ntrans++] = s3w_slice_cstr(k->valuestring);
        }
    }
    a->nreq = a->ntags;
    if (!ok)
        return wi_error(out, 403, "IDPRejectedClaim",
                        "The https://aws.amazon.com/tags claim of the token is not valid: it "
                        "must hold principal_tags, at most 50 keys of 1..128 characters not "
                        "beginning with aws:, each with exactly one value of at most 256 "
                        "characters, keys and values of letters, digits, spaces and _.:/=+-@ "
                        "only, and transitive_tag_keys, if any, an array of its keys.",
                        rid);
    return 0;
}

/* The token against the provider's keys; a JWT error becomes the STS
 * error AWS answers for it. */
static int wi_verify(const struct config_oidc_provider *o, struct s3w_slice token, int64_t now,
                     const struct sts_key_source *src, struct jwt_claims *cl,
                     struct sts_response *out, struct s3w_slice rid)
{
    const struct jwks *keys = o->pinned;
    if (!keys && src)
        keys = src->get(src->arg, o);
    if (!keys)
        return wi_error(out, 400, "IDPCommunicationError",
                        "Couldn't retrieve verification key from your identity provider, please "
                        "reference AssumeRoleWithWebIdentity documentation for requirements", rid);
    struct jwt_expect e = { .issuer = s3w_slice_cstr(o->url), .audiences = o->audiences,
                            .naudiences = o->nclient_ids, .now = now,
                            .leeway = o->leeway_seconds };
    int jrc = jwt_verify(token, keys, &e, cl);
    if (keys != o->pinned)
        src->put(src->arg, keys);
    if (jrc == JWT_OK)
        return 0;
    if (jrc == JWT_E_INTERNAL)
        return S3W_E_NOMEM;
    /* a key rotated in at the issuer: fetch again, and let the caller
     * retry (the SDKs retry IDPCommunicationError) */
    if (jrc == JWT_E_KID_UNKNOWN && keys != o->pinned && src->kid_unknown(src->arg, o))
        return wi_error(out, 400, "IDPCommunicationError",
                        "The token's signing key is not among the identity provider's keys "
                        "yet; they are being fetched again, retry shortly.", rid);
    return wi_error(out, 400, jwt_sts_code(jrc), jwt_strerror(jrc), rid);
}

static void keep_wi(char *dst, struct s3w_slice v)
{
    size_t n = v.len < STS_WI_MAX - 1 ? v.len : STS_WI_MAX - 1;
    memcpy(dst, v.ptr, n);
    dst[n] = '\0';
}

/* v into dst (cap bytes) for the audit record: printable ASCII only (a
 * byte that is not becomes '?'), cut to fit. */
static void keep_audit(char *dst, size_t cap, const struct s3w_slice *v)
{
    size_t n = 0;
    for (size_t i = 0; v && i < v->len && n + 1 < cap; i++) {
        unsigned char c = (unsigned char)v->ptr[i];
        dst[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    dst[n] = '\0';
}

/* 0 once a response is written (ANSWERED), else the internal error. */
static int finished(int rc)
{
    return rc == ANSWERED ? 0 : rc;
}

static int assume_role_wi(const struct config *cfg, const struct form *f, int64_t now,
                          const struct sts_key_source *src, struct s3w_slice rid,
                          struct sts_response *out)
{
    struct ar a;
    memset(&a, 0, sizeof a);
    a.role_arn = param(f, "RoleArn");
    a.session_name = param(f, "RoleSessionName");
    a.duration = param(f, "DurationSeconds");
    a.policy = param(f, "Policy");
    const struct s3w_slice *token = param(f, "WebIdentityToken");
    if (check_member(out, rid, "roleArn", a.role_arn, true, 20, 2048, NULL, NULL) ||
        check_member(out, rid, "roleSessionName", a.session_name, true, 2, 64, "+=,.@-",
                     "[\\w+=,.@-]*") ||
        check_member(out, rid, "policy", a.policy, false, 1, 131072, NULL, NULL))
        return 0; /* a ValidationError is written */
    /* checked without echoing the value: the token is a credential */
    if (!token || token->len < 4 || token->len > JWT_MAX_TOKEN)
        return finished(answered(validation(
            out, rid, "1 validation error detected: Value at 'webIdentityToken' failed to "
                      "satisfy constraint: Member must %s", !token ? "not be null"
                      : token->len < 4 ? "have length greater than or equal to 4"
                                       : "have length less than or equal to 20000")));
    if (param(f, "PolicyArns.member.1.arn"))
        return finished(wi_error(out, 400, "InvalidParameterValue",
                        "PolicyArns (managed session policies) are not supported by s3warden; "
                        "pass the session policy inline in Policy.", rid));
    if (param(f, "ProviderId"))
        return finished(wi_error(out, 400, "InvalidParameterValue",
                        "ProviderId is for OAuth 2.0 access tokens, which s3warden does not "
                        "accept; send an OpenID Connect ID token without ProviderId.", rid));
    int rc = read_duration(&a, cfg->sts.default_duration_seconds, 43200, out, rid);
    rc = rc ? rc : check_session_policy(&a, out, rid);
    if (rc)
        return finished(rc);

    /* the role first, then its account's provider for the token's iss: a
     * caller learns nothing about other accounts' providers */
    const struct config_role *role = config_find_role_arn(cfg, *a.role_arn);
    if (!role)
        return finished(wi_error(out, 403, "AccessDenied", WI_NOT_AUTHORIZED, rid));
    char iss[JWT_MAX_CLAIM + 1];
    int prc = jwt_peek_issuer(*token, iss, sizeof iss);
    if (prc)
        return finished(wi_error(out, 400, "InvalidIdentityToken", jwt_strerror(prc), rid));
    const struct config_oidc_provider *o =
        config_find_oidc_provider(cfg, s3w_slice_cstr(role->account), s3w_slice_cstr(iss));
    if (!o) {
        char msg[200 + sizeof iss];
        char shown_iss[160];
        shown(s3w_slice_cstr(iss), shown_iss, sizeof shown_iss);
        snprintf(msg, sizeof msg, "No OpenIDConnect provider found in your account for %s",
                 shown_iss);
        return finished(wi_error(out, 400, "InvalidIdentityToken", msg, rid));
    }

    struct jwt_claims *cl = malloc(sizeof *cl);
    struct wi_ctx_text *txt = malloc(sizeof *txt);
    struct policy_context *ctx = malloc(sizeof *ctx);
    struct policy *allow_all = allow_all_policy();
    cJSON *tagdoc = NULL;
    if (!cl || !txt || !ctx || !allow_all) {
        rc = S3W_E_NOMEM;
        goto cleanup;
    }
    rc = wi_verify(o, *token, now, src, cl, out, rid);
    if (!rc) {
        keep_wi(out->wi_provider, s3w_slice_cstr(o->arn));
        keep_wi(out->wi_sub, cl->sub);
        keep_wi(out->wi_aud, cl->aud);
    }
    rc = rc ? rc : wi_tags(cl, &a, &tagdoc, out, rid);
    if (rc)
        goto cleanup;
    if (!a.duration && a.duration_s > role->max_session_duration)
        a.duration_s = role->max_session_duration;
    if (a.duration_s > role->max_session_duration) {
        rc = answered(validation(out, rid, "The requested DurationSeconds exceeds the "
                                           "MaxSessionDuration set for this role."));
        goto cleanup;
    }
    policy_context_init(ctx);
    rc = wi_context(o, cl, &a, now, txt, ctx);
    if (rc)
        goto cleanup;
    struct policy_principal pr = { .type = POLICY_PRINCIPAL_WEB_IDENTITY,
                                   .arn = s3w_slice_cstr(o->arn) };
    const struct policy *const aa[1] = { allow_all };
    struct policy_set trust = { .resource = role->trust_policy, .identity = aa, .nidentity = 1 };
    struct policy_request req = { .principal = &pr, .resource = s3w_slice_cstr(role->arn),
                                  .resource_account = S3W_SLICE_NULL, .ctx = ctx };
    struct policy_result res;
    bool ok = true;
    for (int i = 0; i < (a.ntags ? 2 : 1) && ok; i++) {
        req.action = i ? S3W_SLICE_LIT("sts:TagSession")
                       : S3W_SLICE_LIT("sts:AssumeRoleWithWebIdentity");
        ok = policy_evaluate(&trust, &req, &res) == POLICY_OK && res.decision == POLICY_ALLOWED;
    }
    if (!ok) {
        rc = wi_error(out, 403, "AccessDenied", WI_NOT_AUTHORIZED, rid);
        goto cleanup;
    }
    struct wi_result wr = { .sub = cl->sub, .provider = s3w_slice_cstr(o->host_path),
                            .aud = cl->aud, .provider_arn = s3w_slice_cstr(o->arn),
                            .sub_key = s3w_slice_cstr(txt->key_sub),
                            .aud_key = s3w_slice_cstr(txt->key_aud),
                            .amr_key = s3w_slice_cstr(txt->key_amr), .amr = cl->amr,
                            .namr = cl->namr };
    rc = mint_session(cfg, s3w_slice_cstr(o->arn), S3W_SLICE_NULL, role, &a, &wr, now, out, rid);

cleanup:
    cJSON_Delete(tagdoc);
    free(cl);
    free(txt);
    free(ctx);
    policy_free(allow_all);
    return finished(rc);
}

/* ---- GetSessionToken ---------------------------------------------------------
 * Temporary credentials for an IAM user (or an account root) that act with
 * the caller's own policies (API reference, GetSessionToken): 900..129600
 * seconds, 43200 by default; a root's session is held to one hour; session
 * credentials cannot call it. No permission is needed to call it. */

#define GST_MAX_DURATION 129600
#define GST_DEFAULT_DURATION 43200
#define GST_ROOT_DURATION 3600

static int get_session_token(const struct config *cfg, const struct config_identity *caller,
                             const struct form *f, int64_t now, struct s3w_slice rid,
                             struct sts_response *out)
{
    if (caller->is_session || (caller->type != CONFIG_PRINCIPAL_USER &&
                               caller->type != CONFIG_PRINCIPAL_ACCOUNT))
        return finished(sts_error(out, 403, "Sender", "AccessDenied",
                                  "Cannot call GetSessionToken with session credentials", rid));
    if (param(f, "SerialNumber") || param(f, "TokenCode"))
        return finished(sts_error(out, 400, "Sender", "InvalidParameterValue",
                                  "MFA (SerialNumber, TokenCode) is not supported by s3warden.",
                                  rid));
    struct ar a;
    memset(&a, 0, sizeof a);
    a.duration = param(f, "DurationSeconds");
    bool root = caller->type == CONFIG_PRINCIPAL_ACCOUNT;
    int rc = read_duration(&a, root ? GST_ROOT_DURATION : GST_DEFAULT_DURATION, GST_MAX_DURATION,
                           out, rid);
    if (rc)
        return finished(rc);
    if (root && a.duration_s > GST_ROOT_DURATION)
        a.duration_s = GST_ROOT_DURATION; /* "defaults to one hour" for root */

    struct token_claims c;
    memset(&c, 0, sizeof c);
    c.issued = now;
    c.expires = now + a.duration_s;
    /* no role: config/identity.c resolves the session to the caller again,
     * by the long-term key it called with and its unique id */
    c.role_unique_id = caller->userid;
    c.session_name = caller->access_key_id;
    c.caller_arn = caller->arn;
    struct s3w_buf token;
    s3w_buf_init(&token, TOKEN_MAX_B64);
    char akid[TOKEN_AKID_LEN + 1], secret[TOKEN_SECRET_LEN + 1];
    char exp[S3W_ISO8601_LEN + 1];
    s3w_iso8601_format(c.expires, exp);
    rc = token_seal(&cfg->sts, &c, &token, akid, secret) == TOKEN_OK ? 0 : S3W_E_INVAL;
    struct s3w_buf *b = &out->body;
    if (!rc) {
        s3w_buf_reset(b);
        out->status = 200;
        rc = s3w_buf_append_cstr(b, "<GetSessionTokenResponse xmlns=\"" STS_NS "\">"
                                    "<GetSessionTokenResult><Credentials>");
        rc = rc ? rc : xml_elem(b, "AccessKeyId", s3w_slice_cstr(akid));
        snprintf(out->issued_key_id, sizeof(out->issued_key_id), "%s", akid);
        rc = rc ? rc : xml_elem(b, "SecretAccessKey", s3w_slice_cstr(secret));
        rc = rc ? rc : xml_elem(b, "SessionToken", s3w_buf_slice(&token));
        rc = rc ? rc : xml_elem(b, "Expiration", s3w_slice_cstr(exp));
        rc = rc ? rc : s3w_buf_append_cstr(b, "</Credentials></GetSessionTokenResult>"
                                              "<ResponseMetadata>");
        rc = rc ? rc : xml_elem(b, "RequestId", rid);
        rc = rc ? rc : s3w_buf_append_cstr(b, "</ResponseMetadata></GetSessionTokenResponse>");
        out->session_issued = rc == 0;
    }
    s3w_wipe(secret, sizeof secret);
    s3w_buf_cleanup(&token);
    return rc;
}

int sts_handle(const struct config *cfg, const struct config_identity *caller,
               struct s3w_slice form_body, int64_t now, struct s3w_slice request_id,
               struct sts_response *out)
{
    return sts_handle_ex(cfg, caller, form_body, now, request_id, NULL, out);
}

int sts_handle_ex(const struct config *cfg, const struct config_identity *caller,
                  struct s3w_slice form_body, int64_t now, struct s3w_slice request_id,
                  const struct sts_key_source *keys, struct sts_response *out)
{
    if (form_body.len > STS_MAX_FORM_BYTES) {
        sts_error(out, 413, "Sender", "ValidationError", "The request body is too large.",
                  request_id);
        return 0;
    }
    struct form *f = calloc(1, sizeof *f);
    char *store = malloc(STS_MAX_FORM_BYTES + 1);
    int rc = 0;
    if (!f || !store) {
        rc = S3W_E_NOMEM;
        goto cleanup;
    }
    f->store = store;
    if (!parse_form(f, form_body)) {
        rc = sts_error(out, 400, "Sender", "MalformedQueryString",
                       "The request body is not a valid application/x-www-form-urlencoded form.",
                       request_id);
        goto cleanup;
    }
    const struct s3w_slice *action = param(f, "Action");
    const struct s3w_slice *version = param(f, "Version");
    if (!action) {
        rc = sts_error(out, 400, "Sender", "MissingAction", "Missing Action", request_id);
        goto cleanup;
    }
    if (version && !s3w_slice_eq_cstr(*version, "2011-06-15")) {
        char v[160], msg[256];
        shown(*version, v, sizeof v);
        snprintf(msg, sizeof msg, "Could not find operation for version %s", v);
        rc = sts_error(out, 400, "Sender", "InvalidAction", msg, request_id);
        goto cleanup;
    }
    static const char *const actions[] = { "AssumeRole", "AssumeRoleWithWebIdentity",
                                           "GetCallerIdentity", "GetSessionToken" };
    for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
        if (s3w_slice_eq_cstr(*action, actions[i]))
            snprintf(out->action, sizeof(out->action), "%s", actions[i]);
    keep_audit(out->role_arn, sizeof(out->role_arn), param(f, "RoleArn"));
    keep_audit(out->session_name, sizeof(out->session_name), param(f, "RoleSessionName"));
    if (!cfg->sts.enabled) {
        rc = sts_error(out, 403, "Sender", "AccessDenied",
                       "The local STS is not enabled in this s3warden's configuration.",
                       request_id);
        goto cleanup;
    }
    if (s3w_slice_eq_cstr(*action, "AssumeRoleWithWebIdentity")) {
        rc = assume_role_wi(cfg, f, now, keys, request_id, out);
        goto cleanup;
    }
    if (!caller || caller->type == CONFIG_PRINCIPAL_ANONYMOUS) {
        rc = sts_error(out, 403, "Sender", "MissingAuthenticationToken",
                       "Request is missing Authentication Token", request_id);
        goto cleanup;
    }
    if (s3w_slice_eq_cstr(*action, "GetCallerIdentity")) {
        rc = get_caller_identity(caller, request_id, out);
    } else if (s3w_slice_eq_cstr(*action, "AssumeRole")) {
        rc = assume_role(cfg, caller, f, now, request_id, out);
    } else if (s3w_slice_eq_cstr(*action, "GetSessionToken")) {
        rc = get_session_token(cfg, caller, f, now, request_id, out);
    } else {
        char a[160], msg[256];
        shown(*action, a, sizeof a);
        snprintf(msg, sizeof msg, "Could not find operation %s for version 2011-06-15", a);
        rc = sts_error(out, 400, "Sender", "InvalidAction", msg, request_id);
    }
cleanup:
    if (store)
        s3w_wipe(store, STS_MAX_FORM_BYTES + 1);
    free(store);
    free(f);
    if (rc < 0) {
        sts_error(out, 500, "Receiver", "InternalError",
                  "s3warden could not process the request.", request_id);
        return rc;
    }
    return 0;
}
