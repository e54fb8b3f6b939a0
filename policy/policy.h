/*
 * policy.h - the AWS policy language: compile, validate, evaluate, explain.
 *
 * Contract for the config and proxy modules (the S3 request mapping lives in
 * policy/s3*.h and fills a struct policy_context, see context.h).
 *
 *   1. At load time: policy_compile() turns policy JSON into an immutable
 *      struct policy (parsed ARNs, pre-split wildcard patterns, statements
 *      indexed by action) and reports every problem as a diagnostic
 *      `<path>: <message>` with a severity. Any ERROR means no policy is
 *      returned: the caller must refuse the config / the PutBucketPolicy
 *      (fail closed - README.md, "Security invariants"). WARNINGs still compile.
 *   2. Per request: policy_evaluate() runs AWS's evaluation logic
 *      (IAM-SEMANTICS.md §1-3, 6) over a struct policy_set. It does no JSON
 *      work and no heap allocation; it only reads the compiled policies, the
 *      principal, and the context. A compiled policy may be shared read-only
 *      by any number of threads at once.
 *   3. On a deny: policy_access_denied_message() writes AWS's S3-form
 *      AccessDenied text (IAM-SEMANTICS.md §7.3).
 *
 * Ownership: struct policy is heap-owned by whoever compiled it and freed
 * with policy_free(); a policy_result points into the compiled policies
 * (policy names, Sids), so it is valid as long as they are.
 */
#ifndef S3W_POLICY_H
#define S3W_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bytes.h"
#include "context.h"

/* ---- errors ---------------------------------------------------------------- */
enum {
    POLICY_OK = 0,
    POLICY_E_INVALID = -1, /* the policy has at least one ERROR diagnostic */
    POLICY_E_NOMEM = -2,
    POLICY_E_TOOBIG = -3,  /* document larger than the cap for its kind */
    POLICY_E_ARG = -4,     /* bad argument (NULL, unknown kind, ...) */
};
const char *policy_strerror(int err);

/* Caps. A bucket policy is limited to 20 KB by S3 (IAM-SEMANTICS.md §7.1,
 * counted on the raw bytes, whitespace included: the stricter reading). */
#define POLICY_BUCKET_MAX_BYTES (20u * 1024u)
#define POLICY_OTHER_MAX_BYTES (128u * 1024u) /* identity/guardrail/... */
#define POLICY_NAME_MAX 128

/* ---- kinds --------------------------------------------------------------- */
enum policy_kind {
    POLICY_KIND_IDENTITY = 0, /* user/role policies: no Principal allowed */
    POLICY_KIND_RESOURCE,     /* the bucket policy: Principal required */
    POLICY_KIND_BOUNDARY,     /* permissions boundary (identity-like) */
    POLICY_KIND_SESSION,      /* session policy (identity-like) */
    POLICY_KIND_GUARDRAIL,    /* SCP/RCP-like: applies to every request;
                                 Principal optional, NotPrincipal refused */
};

/* ---- diagnostics --------------------------------------------------------- */
enum policy_severity { POLICY_SEV_WARNING = 1, POLICY_SEV_ERROR = 2 };

#define POLICY_DIAG_TEXT_MAX 384
#define POLICY_DIAGS_MAX 64 /* further problems are counted, not stored */

struct policy_diag {
    enum policy_severity severity;
    /* "<path>: <message>", e.g.
     * `Statement[2](Sid "DenyAll").Principal.AWS[1]: an IAM group cannot be a
     * principal: "arn:aws:iam::111122223333:group/mygroup"`.
     * Statement indexes are 0-based JSON array positions. */
    char text[POLICY_DIAG_TEXT_MAX];
    /* The MalformedPolicy message S3's PutBucketPolicy would return for this
     * problem (IAM-SEMANTICS.md §7.2), e.g. "Invalid principal in policy";
     * where IAM, not S3, refuses the document (a non-alphanumeric Sid in an
     * identity or boundary policy) IAM's MalformedPolicyDocument text.
     * A static string, never NULL for errors, NULL for warnings. */
    const char *s3_message;
};

struct policy_diags {
    struct policy_diag items[POLICY_DIAGS_MAX];
    size_t n;        /* stored items */
    size_t errors;   /* total errors (may exceed stored items) */
    size_t warnings; /* total warnings */
};

void policy_diags_init(struct policy_diags *d);

/* ---- compile --------------------------------------------------------------- */
struct policy_compile_opts {
    enum policy_kind kind;
    /* Name shown in results and messages ("bucket-policy", the identity
     * policy's name, ...); copied. NULL = "policy". */
    const char *name;
    /* Resource policies only: the bucket the policy is attached to. When
     * set, a Resource that cannot belong to it is an ERROR
     * ("Policy has invalid resource"). Borrowed for the call only. */
    struct s3w_slice bucket;
    /* 0 = the kind's default cap (POLICY_BUCKET_MAX_BYTES for resource
     * policies, POLICY_OTHER_MAX_BYTES otherwise). */
    size_t max_bytes;
    /* Resource policies of other services (simulate, trust policies): skip
     * the S3-only checks (s3 actions and ARNs, S3 condition keys). */
    bool any_service;
    /* Optional. AWS stores a user or role ARN named in Principal/NotPrincipal
     * as that entity's unique id and matches by id from then on: a deleted
     * and recreated user of the same name no longer matches
     * (IAM-SEMANTICS.md §2 "Unique-ID transformation", seed 004). When set,
     * compile calls it for every user/role ARN principal; return true and
     * set *id (copied by compile) to bind the entry to that id, false when
     * the ARN is unknown here (the entry then matches by ARN). */
    bool (*resolve_unique_id)(void *arg, struct s3w_slice arn, struct s3w_slice *id);
    void *resolve_arg;
};

struct policy;

/*
 * Parses, validates and compiles `json` (len bytes, need not be
 * NUL-terminated). On success returns POLICY_OK and *out (free with
 * policy_free); warnings may be present in *diags. On any error returns
 * POLICY_E_INVALID / POLICY_E_TOOBIG / POLICY_E_NOMEM, *out = NULL, and
 * *diags holds the reasons. diags may be NULL (problems are still counted
 * for the return code).
 */
int policy_compile(const char *json, size_t len,
                   const struct policy_compile_opts *opts,
                   struct policy **out, struct policy_diags *diags);

void policy_free(struct policy *p);

const char *policy_name(const struct policy *p);
size_t policy_statement_count(const struct policy *p);

/* ---- principals -------------------------------------------------------- */
enum policy_principal_type {
    POLICY_PRINCIPAL_ANONYMOUS = 0, /* unsigned request */
    POLICY_PRINCIPAL_ROOT,          /* account root user */
    POLICY_PRINCIPAL_USER,          /* IAM user */
    POLICY_PRINCIPAL_ROLE_SESSION,  /* sts assumed-role session */
    POLICY_PRINCIPAL_FEDERATED,     /* sts federated-user (GetFederationToken) */
    /* the bearer of an OIDC token, in the trust-policy check of
     * AssumeRoleWithWebIdentity only: arn is the provider's ARN, matched
     * by {"Federated": ARN} and by nothing else */
    POLICY_PRINCIPAL_WEB_IDENTITY,
};

/* The caller, as config/identities resolved it. All slices borrowed for the
 * duration of the evaluation. */
struct policy_principal {
    enum policy_principal_type type;
    /* root: arn:aws:iam::A:root; user: arn:aws:iam::A:user/PATH/N;
     * session: arn:aws:sts::A:assumed-role/R/S;
     * federated: arn:aws:sts::A:federated-user/N; anonymous: empty. */
    struct s3w_slice arn;
    struct s3w_slice account;      /* 12 digits; empty for anonymous */
    struct s3w_slice unique_id;    /* user: AIDA...; session: role id AROA... */
    struct s3w_slice role_arn;     /* sessions: arn:aws:iam::A:role/PATH/R */
    struct s3w_slice session_name; /* sessions and federated users */
    struct s3w_slice username;     /* IAM users: the user name */
    struct s3w_slice canonical_id; /* optional: S3 canonical user id (64 hex) */
    bool has_boundary;             /* a permissions boundary is attached */
};

/*
 * Sets the principal's global keys in ctx as AWS does (IAM-SEMANTICS.md §6):
 * aws:PrincipalArn (role ARN for sessions), aws:PrincipalAccount
 * ("anonymous" for anonymous), aws:userid (AIDA... / ROLEID:session /
 * account:name / account id / "anonymous"), aws:username (users only),
 * aws:PrincipalType (Account, User, AssumedRole, FederatedUser, Anonymous),
 * and the fixed keys of policy_context_set_fixed().
 * aws:userid for sessions and federated users is built in `scratch`
 * (scratch_cap bytes, caller-owned, must outlive the evaluation).
 * Returns 0, POLICY_E_TOOBIG (scratch too small) or POLICY_E_ARG (context
 * full).
 */
int policy_context_set_principal(struct policy_context *ctx,
                                 const struct policy_principal *p,
                                 char *scratch, size_t scratch_cap);

/*
 * Sets the global keys whose value is the same for every request through
 * s3warden (policy/keys.c, KEY_FIXED): aws:ViaAWSService = "false" (a caller
 * of s3warden calls it directly, never an AWS service through forward access
 * sessions) and, for signed requests only, aws:PrincipalIsAWSService =
 * "false" (never an AWS service principal; AWS leaves it absent for
 * anonymous requests). The other fixed keys are correctly absent.
 * s3map_fill_context() and policy_context_set_principal() call it; any other
 * builder of a request context (STS) must too. Values are static strings.
 * Returns 0 or POLICY_E_ARG (NULL ctx, context full).
 */
int policy_context_set_fixed(struct policy_context *ctx, bool signed_request);

/* ---- evaluate ----------------------------------------------------------- */
/* Every policy that applies to one request. Any pointer may be NULL / any
 * count 0 ("no policy of this type"). Borrowed.
 *  guardrails: like SCPs/RCPs - EACH guardrail policy must have an applicable
 *    Allow (as every SCP level must), and any Deny in one wins. A deny-only
 *    guardrail therefore needs an "Allow * on *" statement beside its Denys.
 *  boundary:   every boundary policy must allow (ignored for account root).
 *  session:    role sessions without one are not limited; federated users
 *    without one get nothing (GetFederationToken, IAM-SEMANTICS.md §1.1). */
struct policy_set {
    const struct policy *const *guardrails; size_t nguardrails;
    const struct policy *resource;          /* the bucket policy */
    const struct policy *const *identity;   size_t nidentity;
    const struct policy *const *boundary;   size_t nboundary; /* all must allow */
    const struct policy *session;           /* session policy */
};

struct policy_request {
    const struct policy_principal *principal;
    struct s3w_slice action;           /* "s3:GetObject" */
    struct s3w_slice resource;         /* "arn:aws:s3:::bucket/key" */
    struct s3w_slice resource_account; /* bucket owner's account id */
    const struct policy_context *ctx;  /* condition keys; may be NULL */
};

enum policy_decision {
    POLICY_IMPLICIT_DENY = 0, /* zero value denies: fail closed */
    POLICY_EXPLICIT_DENY,
    POLICY_ALLOWED,
};

/* Which policy type decided a deny (selects the AccessDenied wording). */
enum policy_source {
    POLICY_SRC_NONE = 0,
    POLICY_SRC_GUARDRAIL, /* "service control policy" */
    POLICY_SRC_RESOURCE,  /* "resource-based policy" */
    POLICY_SRC_IDENTITY,  /* "identity-based policy" */
    POLICY_SRC_BOUNDARY,  /* "permissions boundary" */
    POLICY_SRC_SESSION,   /* "session policy" */
};

#define POLICY_MAX_DECIDING 16

struct policy_stmt_ref {
    const char *policy;    /* policy name (owned by the compiled policy) */
    const char *sid;       /* the statement's Sid, or NULL */
    unsigned index;        /* 0-based statement index */
    bool deny;             /* Effect */
    enum policy_source source;
};

struct policy_result {
    enum policy_decision decision;
    enum policy_source source;   /* for denies: the type to blame */
    /* Allowed: the Allow statements that granted; ExplicitDeny: the Deny
     * statements that matched; ImplicitDeny: empty. Capped; ndeciding_total
     * counts all. */
    struct policy_stmt_ref deciding[POLICY_MAX_DECIDING];
    size_t ndeciding;
    size_t ndeciding_total;
};

/*
 * Evaluates one (action, resource) pair. Never allocates. Returns POLICY_OK
 * and fills *res; on a bad argument returns POLICY_E_ARG with
 * res->decision = POLICY_IMPLICIT_DENY. Callers must treat anything other
 * than (POLICY_OK, POLICY_ALLOWED) as a deny.
 */
int policy_evaluate(const struct policy_set *set, const struct policy_request *req,
                    struct policy_result *res);

/*
 * AWS's S3-form AccessDenied message (IAM-SEMANTICS.md §7.3), e.g.
 *   User: arn:aws:iam::1:user/u is not authorized to perform: s3:GetObject
 *   on resource: "arn:aws:s3:::b/k" because no resource-based policy allows
 *   the s3:GetObject action
 * "User: anonymous ..." for anonymous callers. Writes a NUL-terminated
 * string (truncated to cap) and returns its untruncated length, like
 * snprintf. For an Allowed result writes "".
 */
size_t policy_access_denied_message(const struct policy_request *req,
                                    const struct policy_result *res,
                                    char *buf, size_t cap);

const char *policy_decision_name(enum policy_decision d); /* "Allowed", ... */

/* ---- public or not (GetBucketPolicyStatus) ------------------------------- */
/*
 * Whether a compiled bucket policy is "public" by S3's rules (S3 User Guide,
 * "The meaning of 'public'"; policy/public.c has the rule, its source and
 * s3warden's readings where AWS leaves a point open: there it answers
 * public). Only Allow statements count; one public Allow makes the policy
 * public. NULL p is public ("no compiled policy").
 * Writes a NUL-terminated reason into why (truncated to cap; why may be
 * NULL), e.g.
 *   Statement[0](Sid "Web"): Principal "*", and no condition limits it to
 *   fixed values (StringLike on aws:SourceVpc: the value holds a wildcard,
 *   "vpc-*")
 * or, when not public, "no Allow statement is public: ...". Pure, no
 * allocation; p may be shared read-only.
 */
bool policy_is_public(const struct policy *p, char *why, size_t cap);

/* ---- condition keys ------------------------------------------------------ */
/* true when `key` is a condition key s3warden understands for S3: a global
 * aws: key, an S3 key, or a tag key family (aws:PrincipalTag/..,
 * aws:RequestTag/.., aws:ResourceTag/.., s3:RequestObjectTag/..,
 * s3:ExistingObjectTag/..). Case-insensitive. */
bool policy_is_known_s3_condition_key(struct s3w_slice key);

/* ---- simulate (pure; proxy/cmd_policy.c wraps it) ------------------------ */
/*
 * Runs the `s3warden simulate` JSON contract (issue 3):
 *   in:  {"request": {"principal": ARN, "action": "s3:GetObject",
 *         "resource": {"resource": ARN, "accountId": "111111111111"},
 *         "contextVariables": {key: string | [strings]}},
 *         "identityPolicies": [{"name","policy"}], "resourcePolicy": {...},
 *         "permissionBoundaryPolicies": [{"name","policy"}],
 *         "sessionPolicy": {...}, "guardrailPolicies": [{"name","policy"}]}
 *   out: {"result": "Allowed"|"ExplicitlyDenied"|"ImplicitlyDenied",
 *         "message": "...", "statements": [{"policy","sid","effect"}]}
 * "principal" is an IAM/STS ARN (root, user, assumed-role, federated-user)
 * or "anonymous"; optional "request.principalId" (AIDA.../AROA...) and
 * "request.hasPermissionBoundary" (default: permissionBoundaryPolicies is
 * non-empty). "message" is "" when allowed; "sid" is the statement's Sid or
 * "Statement[i]" when it has none. Resource policies here may be of any
 * service (the S3-only bucket checks are skipped).
 * On success returns POLICY_OK and *out_json (malloc'd, NUL-terminated,
 * caller frees). On bad input returns POLICY_E_INVALID and a malloc'd
 * human-readable reason in *out_error (caller frees) - the CLI exits 2.
 */
int policy_simulate_json(const char *in, size_t len, char **out_json,
                         char **out_error);

#endif
