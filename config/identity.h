/*
 * identity.h - who is calling: access key id (+ session token) -> identity,
 * and the identity's request-context keys for the policy engine.
 *
 * Principal kinds (IAM-SEMANTICS.md §6):
 *   - account root    aws:userid = account id, ARN arn:aws:iam::A:root
 *   - IAM user        aws:userid = AIDA..., aws:username = name
 *   - role session    aws:userid = AROA...:session, ARN
 *                     arn:aws:sts::A:assumed-role/R/S, aws:PrincipalArn =
 *                     the role ARN; from a local-STS token (ASIA... key)
 *                     or a static role-session binding in the config (a
 *                     partner key, or an EC2 instance-id session)
 *   - anonymous       unsigned requests
 *
 * aws:PrincipalType values are UNCONFIRMED by AWS primary sources
 * (IAM-SEMANTICS §6); we use the values seen in CloudTrail and secondary
 * sources: "Account", "User", "AssumedRole", "FederatedUser", "Anonymous".
 * Anonymous callers get aws:userid = "anonymous" (secondary sources) and
 * aws:PrincipalAccount = "anonymous" ([KEYS]).
 *
 * Storage: a struct config_identity is filled in place (callers embed it in
 * their request state); it borrows from the config snapshot and from its own
 * inline storage, so it must not outlive the snapshot reference the request
 * holds. Resolving a long-term key does no allocation; resolving a session
 * token decrypts into the inline storage (no allocation either), except that
 * a session policy carried in a token is compiled on demand (allocates).
 */
#ifndef S3W_CONFIG_IDENTITY_H
#define S3W_CONFIG_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "bytes.h"
#include "config.h"
#include "context.h"
#include "sigv4.h"

enum config_principal_type {
    CONFIG_PRINCIPAL_ANONYMOUS = 0,
    CONFIG_PRINCIPAL_ACCOUNT,       /* account root */
    CONFIG_PRINCIPAL_USER,          /* IAM user */
    CONFIG_PRINCIPAL_ASSUMED_ROLE,  /* role session */
    CONFIG_PRINCIPAL_FEDERATED_USER,/* reserved (no GetFederationToken yet) */
};

/* "Anonymous", "Account", "User", "AssumedRole", "FederatedUser". */
const char *config_principal_type_name(enum config_principal_type t);

#define CONFIG_IDENTITY_MAX_TAGS 64
#define CONFIG_IDENTITY_MAX_AMR 8 /* amr values of a web identity session */
#define CONFIG_IDENTITY_STORE 8192

struct config_identity_tag {
    struct s3w_slice key;
    struct s3w_slice value;
    struct s3w_slice context_key; /* "aws:PrincipalTag/<key>" */
    bool transitive;              /* a session tag that passes to the sessions
                                     this one assumes (role chaining) */
};

struct config_identity {
    enum config_principal_type type;
    struct s3w_slice arn;           /* principal ARN (root/user/assumed-role) */
    struct s3w_slice account;       /* aws:PrincipalAccount */
    struct s3w_slice userid;        /* aws:userid */
    struct s3w_slice username;      /* aws:username (users only, else empty) */
    struct s3w_slice principal_arn; /* aws:PrincipalArn (role ARN for sessions) */
    struct s3w_slice access_key_id; /* the key the caller signed with (empty if anonymous) */

    /* role sessions only */
    const struct config_role *role;
    struct s3w_slice session_name;
    struct s3w_slice source_identity;  /* aws:SourceIdentity (optional) */
    struct s3w_slice token_issue_time; /* aws:TokenIssueTime, ISO 8601 */
    int64_t expiration;                /* unix seconds; 0 = never (static) */
    bool is_session;                   /* MFA: aws:MultiFactorAuthPresent=false */
    /* sessions made by AssumeRoleWithWebIdentity only (empty otherwise):
     * aws:FederatedProvider (the OIDC provider's ARN) and the provider's
     * keys "HOST/PATH:sub", ":aud", ":amr" with the token's values,
     * borrowed from the session token in the store */
    struct s3w_slice federated_provider;
    struct s3w_slice wi_sub_key, wi_sub, wi_aud_key, wi_aud, wi_amr_key;
    struct s3w_slice wi_amr[CONFIG_IDENTITY_MAX_AMR];
    size_t wi_namr;

    /* policies the evaluator needs (borrowed from the snapshot, except the
     * session policy from a token, which is owned: config_identity_cleanup) */
    const struct policy *const *policies; /* identity policies */
    size_t npolicies;
    const struct policy *boundary;        /* NULL = none */
    const struct policy *session_policy;  /* NULL = none */
    struct policy *owned_session_policy;
    /* a token's session policy as AssumeRole took it (in the store), for
     * the audit record, which `replay` decides again with; empty when the
     * token carries none and for every identity not from a token */
    struct s3w_slice session_policy_json;

    /* principal tags (user / role tags, overridden by session tags) */
    struct config_identity_tag tags[CONFIG_IDENTITY_MAX_TAGS];
    size_t ntags;
    /* sessions from a local-STS token: tags[0 .. nsession_tags) are the
     * token's session tags (AssumeRole's Tags, or the tags claim of
     * AssumeRoleWithWebIdentity's token), the rest the role's */
    size_t nsession_tags;

    /* the user (users only) / the account (root only) */
    const struct config_user *user;
    const struct config_account *root_account;
    /* sessions from a local-STS token: who called AssumeRole (for audit) */
    struct s3w_slice caller_arn;

    /* inline storage for decrypted token fields and built strings */
    char store[CONFIG_IDENTITY_STORE];
    size_t store_len;
};

/* Anonymous identity (unsigned requests). Also the way to initialise a
 * struct config_identity before its first use (zeroing it works too). */
void config_identity_anonymous(struct config_identity *id);

/* Frees what a token-derived identity owns (its compiled session policy).
 * Safe on any filled identity; leaves it anonymous. */
void config_identity_cleanup(struct config_identity *id);

/* Why an access key / token was refused, as S3 words it. */
enum config_auth_err {
    CONFIG_AUTH_OK = 0,
    CONFIG_AUTH_UNKNOWN_KEY = -1, /* S3 InvalidAccessKeyId, 403:
                                     "The AWS Access Key Id you provided does not exist in our records." */
    CONFIG_AUTH_INVALID_TOKEN = -2, /* S3 InvalidToken, 400:
                                       "The provided token is malformed or otherwise invalid." */
    CONFIG_AUTH_EXPIRED_TOKEN = -3, /* S3 ExpiredToken, 400:
                                       "The provided token has expired." */
    CONFIG_AUTH_INTERNAL = -4,      /* fail closed: 500 InternalError */
    CONFIG_AUTH_MISSING_TOKEN = -5, /* an ASIA... key without a token; S3
                                       answers 403 InvalidAccessKeyId */
};

/* S3 error code / message / HTTP status for a config_auth_err. */
const char *config_auth_err_code(int err);
const char *config_auth_err_message(int err);
int config_auth_err_status(int err);

/* Resolves a signed request's access key id (+ X-Amz-Security-Token, empty
 * slice when absent) at time `now` to an identity and the secret access
 * key to verify the signature with.
 *
 * On success fills *id and writes the secret into secret_out (cap
 * secret_cap bytes, *secret_len set); the caller wipes it after use.
 * Long-term keys (users, static role sessions) must come without a token;
 * ASIA... keys need a valid local-STS token whose derived key id matches.
 * Inactive keys are unknown keys. */
int config_resolve(const struct config *cfg, struct s3w_slice access_key_id,
                   struct s3w_slice session_token, int64_t now,
                   struct config_identity *id, uint8_t *secret_out,
                   size_t secret_cap, size_t *secret_len);

/* The identity an ARN names, with no key and no secret (`explain`,
 * `replay`): an IAM user, an account root, a static role session, or any
 * session "arn:aws:sts::A:assumed-role/R/S" of a configured role R (as the
 * local STS would issue it: the role's policies, boundary and tags, no
 * session policy, no session tags). Returns CONFIG_AUTH_OK, or
 * CONFIG_AUTH_UNKNOWN_KEY (id left anonymous) when the config has no such
 * principal. */
int config_identity_from_arn(const struct config *cfg, struct s3w_slice arn,
                             struct config_identity *id);

/* The sigv4 secret-lookup callback (sigv4.h sigv4_lookup_fn), for
 * sigv4_verify_opts.lookup with lookup_ud = a struct config_sigv4_lookup.
 * On OK the identity is filled; on failure lookup->err says why. */
struct config_sigv4_lookup {
    const struct config *cfg;   /* the snapshot the request holds */
    int64_t now;                /* unix seconds */
    struct config_identity *id; /* filled on success */
    int err;                    /* a config_auth_err */
};
enum sigv4_lookup_status config_sigv4_lookup(void *ud, struct s3w_slice access_key_id,
                                              struct s3w_slice session_token,
                                              char *secret_out, size_t *secret_len);

struct policy;
/* Compiles a session policy carried in a session token as the requests made
 * with that token are decided (`replay` compiles a recorded one the same
 * way). *out is freed with policy_free. POLICY_OK or a policy_compile
 * error (*out NULL). */
int config_session_policy_compile(struct s3w_slice json, struct policy **out);

struct policy_principal;
/* The evaluator's view of the caller (policy.h struct policy_principal),
 * borrowing from *id. */
void config_identity_principal(const struct config_identity *id,
                               struct policy_principal *out);

/* Fills the identity condition keys into ctx (borrowing from *id):
 * aws:userid, aws:username, aws:PrincipalArn, aws:PrincipalAccount,
 * aws:PrincipalType, aws:PrincipalTag/<k>, aws:TokenIssueTime,
 * aws:SourceIdentity, aws:MultiFactorAuthPresent (sessions: "false";
 * long-term keys: absent, as AWS documents), and for web identity
 * sessions aws:FederatedProvider, "HOST/PATH:sub", ":aud" and ":amr"
 * (multivalued). Keys the identity has no value for are left absent.
 * Returns POLICY_CTX_OK or POLICY_CTX_E_FULL. */
int config_identity_fill_context(const struct config_identity *id,
                                 struct policy_context *ctx);

#endif
