/*
 * creds.h - the pure parts of the proxy's own credential providers: parsing
 * what each provider reads (environment, shared credentials/config files,
 * IMDSv2 and container-endpoint JSON, STS XML) and deciding when to
 * refresh. No I/O: proxy/ fetches (libcurl) and hands the bytes here.
 *
 * Formats follow the AWS SDKs and CLI:
 *  - env: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (or
 *    the legacy AWS_SECURITY_TOKEN) - AWS CLI "Environment variables";
 *  - shared files: INI; the credentials file uses [NAME], the config file
 *    [profile NAME] (and [default]); keys in the credentials file win over
 *    the same keys in the config file - AWS CLI "Configuration and
 *    credential file settings";
 *  - IMDS: GET .../meta-data/iam/security-credentials/ROLE returns
 *    {"Code":"Success","Type":"AWS-HMAC","AccessKeyId","SecretAccessKey",
 *    "Token","Expiration"}; the container endpoint returns the same fields
 *    without Code/Type (EC2 and ECS user guides);
 *  - STS: AssumeRole / AssumeRoleWithWebIdentity responses carry
 *    <Credentials><AccessKeyId/><SecretAccessKey/><SessionToken/>
 *    <Expiration/></Credentials>; errors are
 *    <ErrorResponse><Error><Code/><Message/></Error></ErrorResponse>.
 */
#ifndef S3W_CONFIG_CREDS_H
#define S3W_CONFIG_CREDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bytes.h"

#define CREDS_MAX_KEY_ID 128
#define CREDS_MAX_SECRET 128
#define CREDS_MAX_TOKEN 4096
#define CREDS_MAX_INPUT (64u << 10) /* any document handed to a parser */

struct creds {
    char access_key_id[CREDS_MAX_KEY_ID + 1];
    char secret_access_key[CREDS_MAX_SECRET + 1]; /* secret */
    char session_token[CREDS_MAX_TOKEN + 1];      /* secret; "" = none */
    int64_t expiration; /* unix seconds; 0 = does not expire (static keys) */
};

/* Wipes every field (call when done with a struct creds). */
void creds_wipe(struct creds *c);

enum {
    CREDS_OK = 0,
    CREDS_E_ABSENT = -1,  /* the provider has nothing (try the next one) */
    CREDS_E_INVALID = -2, /* malformed input; the message says what */
    CREDS_E_REMOTE = -3,  /* the service answered an error (code/message) */
};

/* Error detail: never contains a secret or a token. */
struct creds_error {
    char message[256];
};

/* ---- environment --------------------------------------------------------- */
/* getenv-like lookup so tests need not touch the process environment. */
typedef const char *(*creds_getenv_fn)(void *ud, const char *name);

/* AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN or
 * AWS_SECURITY_TOKEN). Both unset: CREDS_E_ABSENT. Only one set:
 * CREDS_E_INVALID. */
int creds_from_env(creds_getenv_fn get, void *ud, struct creds *out, struct creds_error *err);

/* ---- shared credentials / config files ---------------------------------- */
struct creds_profile {
    struct creds creds;      /* static keys, if the profile has them */
    bool has_keys;
    char region[64];
    char role_arn[2048 + 1];
    char source_profile[128];
    char external_id[1224 + 1];
    char role_session_name[65];
    char credential_source[32]; /* Environment | Ec2InstanceMetadata | EcsContainer */
    char web_identity_token_file[1024];
    uint32_t duration_seconds; /* 0 = unset */
};

/* Parses profile `name` from the credentials file text and the config file
 * text (either may be NULL). The profile absent from both: CREDS_E_ABSENT.
 * A line that is neither a section, "key = value", a comment, nor an
 * indented sub-property of a "key =" line: CREDS_E_INVALID with
 * "<file>:<line>: ..." (never the value). */
int creds_profile_parse(const char *credentials, size_t clen, const char *config, size_t flen,
                        const char *name, struct creds_profile *out, struct creds_error *err);

/* ---- IMDSv2 and container endpoint JSON -------------------------------- */
/* Parses the credentials document of IMDS (Code must be "Success" when
 * present) or of the ECS/EKS container endpoint. */
int creds_parse_metadata_json(const char *json, size_t len, struct creds *out,
                              struct creds_error *err);

/* ---- STS XML --------------------------------------------------------------- */
/* Parses AssumeRoleResponse / AssumeRoleWithWebIdentityResponse. An
 * ErrorResponse gives CREDS_E_REMOTE with "Code: Message". */
int creds_parse_sts_xml(const char *xml, size_t len, struct creds *out, struct creds_error *err);

/* ---- requests the fetchers send --------------------------------------- */
/* IMDSv2 (EC2 user guide, "Use IMDSv2"): PUT the token path with the TTL
 * header, then GET the role list and the role's credentials with the token
 * header. */
#define CREDS_IMDS_DEFAULT_ENDPOINT "http://169.254.169.254"
#define CREDS_IMDS_TOKEN_PATH "/latest/api/token"
#define CREDS_IMDS_TOKEN_TTL_HEADER "X-aws-ec2-metadata-token-ttl-seconds"
#define CREDS_IMDS_TOKEN_HEADER "X-aws-ec2-metadata-token"
#define CREDS_IMDS_ROLE_PATH "/latest/meta-data/iam/security-credentials/"
/* ECS/EKS container endpoint defaults (ECS developer guide) */
#define CREDS_ECS_DEFAULT_HOST "http://169.254.170.2"

/* The container credentials URL and Authorization value: `override` (the
 * config's endpoint) if set, else AWS_CONTAINER_CREDENTIALS_FULL_URI, else
 * 169.254.170.2 + AWS_CONTAINER_CREDENTIALS_RELATIVE_URI; the token from
 * AWS_CONTAINER_AUTHORIZATION_TOKEN ("" if unset; a token file is read by
 * the caller). CREDS_E_ABSENT when no URL can be formed. */
int creds_ecs_endpoint(creds_getenv_fn get, void *ud, const char *override, char *url,
                       size_t url_cap, char *auth, size_t auth_cap, struct creds_error *err);

/* The STS Query API bodies (POST, application/x-www-form-urlencoded,
 * Version 2011-06-15) for AssumeRole (signed with the base credentials) and
 * AssumeRoleWithWebIdentity (unsigned; `web_token` is the token file's
 * content). Values are percent-encoded (RFC 3986 unreserved kept).
 * external_id may be NULL; duration 0 = omitted. */
int creds_form_assume_role(const char *role_arn, const char *session_name,
                           const char *external_id, uint32_t duration, struct s3w_buf *out);
int creds_form_web_identity(const char *role_arn, const char *session_name,
                            struct s3w_slice web_token, uint32_t duration, struct s3w_buf *out);

/* ---- time ---------------------------------------------------------------- */
/* ISO 8601 UTC as AWS writes it: 2017-05-17T15:09:54Z, with optional
 * fractional seconds (.123Z) or a +00:00 / -05:00 offset. -1 if malformed
 * or not after 1970-01-01T00:00:00Z (so never 0, which means "does not
 * expire" in struct creds). */
int64_t creds_parse_time(const char *s, size_t len);

/* When to fetch again: `refresh_before` seconds before expiry, but no
 * earlier than halfway through the remaining lifetime (so short-lived
 * credentials are not refetched in a loop), and never earlier than now + 1.
 * Static credentials (expiration 0) return 0 = never. */
int64_t creds_refresh_at(int64_t now, int64_t expiration, uint32_t refresh_before);

/* Delay before retry `attempt` (0-based) after a failed fetch: exponential
 * from 1 s, capped at 60 s, with "equal jitter" from `rand01` in [0, 1):
 * half fixed, half random. Milliseconds. */
uint64_t creds_retry_delay_ms(unsigned attempt, double rand01);

#endif
