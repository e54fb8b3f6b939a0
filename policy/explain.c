/*
 * explain.c - AWS's AccessDenied wording, S3 form (IAM-SEMANTICS.md §7.3):
 *   User: <arn> is not authorized to perform: <action> on resource:
 *   "<resource-arn>" because no <type> allows the <action> action
 *   User: <arn> ... with an explicit deny in a <type>
 * Only one policy type is named, as AWS does when several deny.
 */
#include <stdio.h>

#include "policy_int.h"

static const char *type_phrase(enum policy_source s, bool explicit_deny)
{
    switch (s) {
    case POLICY_SRC_GUARDRAIL: return "a service control policy";
    case POLICY_SRC_RESOURCE: return "a resource-based policy";
    case POLICY_SRC_IDENTITY:
        /* "in an identity-based policy" vs "no identity-based policy" */
        return explicit_deny ? "an identity-based policy" : "identity-based policy";
    case POLICY_SRC_BOUNDARY: return "a permissions boundary"; /* no "policy" after it */
    case POLICY_SRC_SESSION: return "a session policy";
    default: return "a policy";
    }
}

size_t policy_access_denied_message(const struct policy_request *req,
                                    const struct policy_result *res, char *buf, size_t cap)
{
    if (!buf || cap == 0)
        return 0;
    buf[0] = '\0';
    if (!req || !res || res->decision == POLICY_ALLOWED)
        return 0;
    const struct policy_principal *p = req->principal;
    struct s3w_slice who = (!p || p->type == POLICY_PRINCIPAL_ANONYMOUS || p->arn.len == 0)
                               ? S3W_SLICE_LIT("anonymous") : p->arn;
    int n;
    if (res->decision == POLICY_EXPLICIT_DENY) {
        n = snprintf(buf, cap,
                     "User: %.*s is not authorized to perform: %.*s on resource: \"%.*s\" "
                     "with an explicit deny in %s",
                     (int)who.len, who.ptr, (int)req->action.len, req->action.ptr,
                     (int)req->resource.len, req->resource.ptr, type_phrase(res->source, true));
    } else {
        const char *t = type_phrase(res->source, false);
        /* implicit: "because no <type> allows": drop the article */
        if (t[0] == 'a' && t[1] == ' ')
            t += 2;
        n = snprintf(buf, cap,
                     "User: %.*s is not authorized to perform: %.*s on resource: \"%.*s\" "
                     "because no %s allows the %.*s action",
                     (int)who.len, who.ptr, (int)req->action.len, req->action.ptr,
                     (int)req->resource.len, req->resource.ptr, t, (int)req->action.len,
                     req->action.ptr);
    }
    return n < 0 ? 0 : (size_t)n;
}
