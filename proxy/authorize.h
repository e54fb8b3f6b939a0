/*
 * authorize.h - the decision for one (action, resource) of a mapped S3
 * request, without a connection: the serving pipeline (px_authorize) and
 * the `explain` / `replay` commands call the same function, so what they
 * print is what `serve` decides.
 *
 * Which policies count (authorize.c): the config's guardrails, the bucket's
 * configured policy (left out for the owner's root on Get/Put/
 * DeleteBucketPolicy: skip_bucket_policy), the caller's identity policies,
 * boundary and session policy; a bucket the config does not list is denied
 * under "unlisted_buckets": "deny" (and always when it is another
 * bucket's upstream name) before any policy is read.
 */
#ifndef S3W_PROXY_AUTHORIZE_H
#define S3W_PROXY_AUTHORIZE_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "identity.h"
#include "policy.h"

struct policy_trace;

/* Who asks and what the engine reads. Everything borrowed for the call. */
struct authz_subject {
    const struct config *cfg;
    const struct policy_principal *principal;
    const struct policy *const *guardrails;
    size_t nguardrails;
    const struct policy *const *identity;
    size_t nidentity;
    const struct policy *boundary; /* NULL = none */
    const struct policy *session;  /* NULL = none */
    bool skip_bucket_policy;
    const struct policy_context *ctx;
};

/* The subject of an identity resolved from cfg (guardrails from the config,
 * the rest from the identity). */
void authz_subject_init(struct authz_subject *s, const struct config *cfg,
                        const struct config_identity *id,
                        const struct policy_principal *principal,
                        const struct policy_context *ctx);

struct authz_verdict {
    enum policy_decision decision;
    /* the engine's answer; empty when `unlisted` or on an evaluation error */
    struct policy_result res;
    bool unlisted;      /* denied: the bucket is not configured in s3warden */
    bool cross_account; /* the caller's account is not the bucket owner's */
    struct s3w_slice resource_account;
    const struct policy *bucket_policy; /* the bucket policy evaluated, or NULL */
};

/*
 * Decides one (action, resource). Returns true when allowed; otherwise
 * writes AWS's AccessDenied message into msg (NUL-terminated, cap bytes).
 * trace (may be NULL) receives the evaluation trace (policy/trace.h);
 * its `req` is left NULL (the request was this function's): point it at a
 * policy_request of the same action, resource and context to render it.
 */
bool authz_decide(const struct authz_subject *s, struct s3w_slice action,
                  struct s3w_slice resource, struct policy_trace *trace,
                  struct authz_verdict *v, char *msg, size_t cap);

#endif
