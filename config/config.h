/*
 * config.h - the s3warden config file: model, loader, immutable snapshots.
 *
 * One JSON file (cJSON) with optional `*_file` / `*_env` references for
 * policies and secrets. The loader validates everything at load time:
 * unknown fields are errors (they are usually typos), and every error names
 * the file, the JSON path (`roles[2].trust_policy.Statement[0].Principal`)
 * and what is wrong. Policy documents are compiled by the policy engine
 * (policy/policy.h) at load time; its messages come back prefixed with the
 * config path of the document.
 *
 * Snapshots: config_load() returns a `struct config` with one reference.
 * It is immutable from then on, so any number of threads may read it
 * without locks. The proxy keeps one "current" pointer; on SIGHUP it loads
 * a new snapshot and swaps the pointer; each request holds a reference
 * from its start to its end (a worker's requests borrow the worker's
 * reference: pl_cfg_borrow in proxy/pipeline_worker.c), so in-flight
 * requests finish on the snapshot they started with. The last unref frees
 * the snapshot and wipes every secret it held.
 *
 * Identities, access-key lookup and the sigv4 secret callback are in
 * identity.h; local STS in sts.h.
 *
 * The file format is documented in README.md ("Configuration") and every
 * seed scenario ships as an example under deploy/examples/.
 */
#ifndef S3W_CONFIG_H
#define S3W_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bytes.h"

struct policy; /* a compiled policy document (policy/policy.h) */

/* ---- limits of the loader (a config is trusted but still bounded) ------- */
#define CONFIG_MAX_FILE_BYTES (4u << 20)   /* the config file itself */
#define CONFIG_MAX_POLICY_BYTES (64u << 10) /* one *_file policy document */
#define CONFIG_MAX_SECRET_BYTES 4096       /* one secret file / env value */
#define CONFIG_MAX_ERRORS 64               /* errors kept per load */
/* Upstreams ("upstream" and "upstreams" entries together) and credential
 * sets (the top-level one, "credential_sets" and the upstreams' own
 * chains): what the proxy keeps state for (proxy/upstream_state.h). */
#define CONFIG_MAX_UPSTREAMS 128
#define CONFIG_MAX_CREDENTIAL_SETS 128

/* ---- errors ---------------------------------------------------------------- */
enum {
    CONFIG_OK = 0,
    CONFIG_E_NOMEM = -1,
    CONFIG_E_IO = -2,      /* the file (or a referenced file) cannot be read */
    CONFIG_E_INVALID = -3, /* the config has errors; see struct config_errors */
};

const char *config_strerror(int err);

/* One error: "FILE: PATH: MESSAGE" (PATH is empty for file-level errors,
 * e.g. JSON syntax). All three strings are owned by the errors list. */
struct config_error {
    char *file;
    char *path;    /* e.g. "roles[2].trust_policy.Statement[0].Principal" */
    char *message; /* what is wrong; never contains a secret */
    char *text;    /* "FILE: PATH: MESSAGE" ready to log */
};

struct config_errors {
    struct config_error items[CONFIG_MAX_ERRORS];
    size_t n;
    size_t dropped; /* errors past CONFIG_MAX_ERRORS, counted only */
};

void config_errors_init(struct config_errors *e);
void config_errors_cleanup(struct config_errors *e);

/* ---- the model (read-only after load) ---------------------------------- */
/* All strings are NUL-terminated, owned by the snapshot, never NULL unless
 * documented as optional. */

struct config_tag {
    char *key;
    char *value;
    char *context_key; /* "aws:PrincipalTag/<key>", prebuilt for identities */
};

struct config_listener {
    char *address;  /* "127.0.0.1", "::", ... */
    uint16_t port;
    char *tls_cert_file; /* optional (NULL = plain HTTP) */
    char *tls_key_file;  /* set iff tls_cert_file is */
};

enum config_addressing {
    CONFIG_ADDRESSING_PATH = 0,    /* https://endpoint/bucket/key */
    CONFIG_ADDRESSING_VIRTUAL = 1, /* https://bucket.endpoint/key */
};

enum config_readiness {
    CONFIG_READINESS_REQUIRED = 0, /* /readyz is not ready while it is down */
    CONFIG_READINESS_OPTIONAL = 1, /* listed by /readyz, never makes it unready */
};

/* A store s3warden forwards to ("upstreams" entries; the legacy "upstream"
 * object is the one named "default"). */
struct config_upstream {
    char *name;       /* unique; the metrics label upstream="NAME" */
    char *endpoint;   /* "https://s3.us-east-1.amazonaws.com", "http://127.0.0.1:5000" */
    char *region;     /* signing region, e.g. "us-east-1" */
    enum config_addressing addressing;
    bool tls_verify;  /* default true */
    char *ca_file;    /* optional */
    uint32_t connect_timeout_ms;    /* default 5000 */
    uint32_t first_byte_timeout_ms; /* default 60000 */
    uint32_t idle_timeout_ms;       /* default 60000 */
    uint32_t max_connections;       /* default 512 (total) */
    uint32_t max_connections_per_host; /* default 128 */
    /* requests of one identity (user, role with all its sessions, account
     * root, anonymous) in flight upstream at once, across workers; over it
     * 503 SlowDown. Default a quarter of max_connections (at least 1). */
    uint32_t max_connections_per_identity;
    bool max_connections_per_identity_set; /* given in the file, not the default */
    /* Compat for old S3-compatible stores that do not understand
     * aws-chunked uploads: decode the body and send it with a plain
     * Content-Length. Default false (forward aws-chunked re-signed). */
    bool decode_aws_chunked;
    /* "operations": the S3 operations the store implements (names or
     * patterns with *, ?); others are refused 501 before they reach it,
     * as a store that does not know one may run another in its place
     * (moto ran DELETE ?metrics as DeleteBucket). Unset: all for AWS S3
     * (an endpoint under amazonaws.com), all but the writes few other
     * stores implement for another (load.c, RARE_WRITES). Bit i of ops is
     * s3map_ops_table[i] (config_upstream_takes). */
    bool ops_limited;
    bool ops_default; /* limited by default (no "operations", not AWS S3) */
    uint64_t ops[2];
    /* the proxy's credentials toward it: an index into
     * config.credential_sets (0: the top-level "credentials") */
    size_t credentials;
    enum config_readiness readiness; /* default required */
};

/* The proxy's own credentials toward S3: an ordered chain of providers,
 * the first that yields credentials wins (like the AWS SDKs' default
 * chain), optionally with an assume_role on top of the chain's result. */
enum config_cred_source {
    CONFIG_CRED_STATIC = 0,
    CONFIG_CRED_ENV,          /* AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN */
    CONFIG_CRED_PROFILE,      /* shared credentials + config file */
    CONFIG_CRED_IMDS,         /* EC2 IMDSv2: token PUT then credentials GET */
    CONFIG_CRED_ECS,          /* container credentials endpoint */
    CONFIG_CRED_WEB_IDENTITY, /* AssumeRoleWithWebIdentity with a token file */
};

struct config_cred_provider {
    enum config_cred_source source;
    /* static: */
    char *access_key_id;
    char *secret_access_key; /* secret: wiped on free */
    char *session_token;     /* optional; secret */
    /* profile: */
    char *profile;           /* default "default" (or $AWS_PROFILE) */
    char *credentials_file;  /* optional; default ~/.aws/credentials */
    char *config_file;       /* optional; default ~/.aws/config */
    /* imds / ecs: */
    char *endpoint;          /* optional override (tests: a local server) */
    char *authorization_token_file; /* ecs: optional */
    /* web_identity: */
    char *token_file;
    char *role_arn;
    char *session_name;
    char *sts_endpoint;      /* optional; default regional STS */
};

struct config_assume_role {
    bool enabled;
    char *role_arn;
    char *external_id;   /* optional */
    char *session_name;  /* default "s3warden" */
    uint32_t duration_seconds; /* default 3600 */
    char *sts_endpoint;  /* optional */
    char *region;        /* optional; default upstream.region */
};

struct config_credentials {
    char *name; /* "default": the top-level "credentials" (or the SDKs' chain) */
    struct config_cred_provider *chain;
    size_t nchain;
    struct config_assume_role assume_role;
    /* refresh this many seconds before expiry (default 300) */
    uint32_t refresh_before_seconds;
};

struct config_access_key {
    char *id;       /* "AKIA..." (16..128 chars of [A-Z0-9]) */
    char *secret;   /* secret: wiped on free */
    bool active;    /* "status": "Active" | "Inactive" (default Active) */
};

struct config_account {
    char *id;   /* 12 digits */
    char *name; /* optional label */
    char *root_arn; /* "arn:aws:iam::<id>:root" */
    /* root user keys (optional; AWS discourages them, demos use them) */
    struct config_access_key *keys;
    size_t nkeys;
};

/* A named policy document attached to a user or role, or a guardrail. */
struct config_policy {
    char *name;
    struct policy *compiled; /* owned; never NULL after a successful load */
};

struct config_user {
    char *account;  /* account id */
    char *name;
    char *path;     /* default "/" */
    char *unique_id; /* "AIDA..." */
    char *arn;      /* "arn:aws:iam::<account>:user<path><name>" */
    struct config_access_key *keys;
    size_t nkeys;
    struct config_tag *tags;
    size_t ntags;
    struct config_policy *policies;
    size_t npolicies;
    const struct policy **policy_ptrs; /* npolicies compiled policies, for policy_set */
    struct policy *boundary; /* optional permission boundary */
};

struct config_role {
    char *account;
    char *name;
    char *path;     /* default "/" */
    char *unique_id; /* "AROA..." */
    char *arn;      /* "arn:aws:iam::<account>:role<path><name>" */
    struct policy *trust_policy; /* required */
    struct config_policy *policies;
    size_t npolicies;
    const struct policy **policy_ptrs; /* npolicies compiled policies, for policy_set */
    struct policy *boundary; /* optional */
    uint32_t max_session_duration; /* 3600..43200, default 3600 */
    struct config_tag *tags;
    size_t ntags;
};

/* A static role session: an access key that always acts as role R with
 * session name S (a partner key mapped to a role session, or an EC2
 * instance-id session whose aws:userid is "AROA...:i-0123..."). */
struct config_role_session {
    struct config_access_key key;
    const struct config_role *role; /* borrowed from the snapshot */
    char *session_name;
    char *source_identity; /* optional */
    char *arn;    /* "arn:aws:sts::<account>:assumed-role/<role>/<session>" */
    char *userid; /* "<role unique id>:<session>" */
    struct policy *session_policy; /* optional */
};

struct config_cors;

struct config_bucket {
    char *name;          /* the name clients use */
    char *account;       /* owner account id */
    char *upstream_name; /* the name sent upstream (default = name) */
    /* the store it lives on ("upstream"; default: config.upstream); points
     * into config.upstreams, never NULL after a successful load */
    const struct config_upstream *upstream;
    struct policy *policy; /* optional bucket policy */
    /* the bucket policy's JSON text as the config gives it (NUL-terminated;
     * NULL iff policy is NULL): a policy_file's bytes as written, an inline
     * "policy" object printed without whitespace. GetBucketPolicy answers
     * it, so a caller reads the document s3warden enforces. */
    char *policy_json;
    struct config_cors *cors; /* CORS rules s3warden answers (cors.h); NULL: none */
};

enum config_audit_kind {
    CONFIG_AUDIT_STDOUT = 0,
    CONFIG_AUDIT_FILE = 1,
    CONFIG_AUDIT_NONE = 2,
};

enum config_audit_on_backlog {
    CONFIG_AUDIT_REFUSE = 0, /* default: 503 SlowDown while records cannot be written */
    CONFIG_AUDIT_DROP = 1,   /* serve anyway; records past the backlog dropped, counted */
};

enum config_audit_format {
    CONFIG_AUDIT_FORMAT_S3WARDEN = 0,
    CONFIG_AUDIT_FORMAT_CLOUDTRAIL = 1,
};

/* audit.sinks[]: a receiver records are delivered to, from a spool. */
enum config_audit_sink_type {
    CONFIG_AUDIT_SINK_SYSLOG = 1,
    CONFIG_AUDIT_SINK_S3 = 2,
};

struct config_audit_sink {
    enum config_audit_sink_type type;
    char *spool_dir;          /* required */
    uint64_t max_spool_bytes; /* default 1 GiB */
    /* syslog */
    char *address;            /* receiver host */
    uint32_t port;            /* default 514, 6514 with TLS */
    uint32_t facility;        /* 0..23, default 16 (local0) */
    uint32_t max_message_bytes; /* 1024..65535, default 8000 */
    bool tls;                 /* "tls" object present */
    char *ca_file;            /* tls.ca_file, optional */
    char *server_name;        /* tls.server_name, optional */
    /* s3: through an upstream ("upstream"; default: config.upstream), with
     * the proxy's credentials toward it */
    const struct config_upstream *upstream;
    char *bucket;             /* required */
    char *prefix;             /* optional */
    char *account_id;         /* default audit.account_id (one is required) */
    /* sent as x-amz-expected-bucket-owner: S3 refuses the upload (403) when
     * another account owns the bucket; optional, 12 digits */
    char *expected_bucket_owner;
    char *region;             /* default audit.region, then upstream.region */
    uint32_t batch_seconds;   /* default 300 */
    uint32_t batch_bytes;     /* default 4 MiB */
};

struct config_audit {
    enum config_audit_kind kind;
    char *path; /* CONFIG_AUDIT_FILE only */
    enum config_audit_on_backlog on_backlog; /* "on_backlog" */
    uint32_t backlog_records;                /* "backlog_records"; 0 = the
                                                audit's default */
    enum config_audit_format format;         /* "format" */
    /* CloudTrail's awsRegion ("region"; NULL: upstream.region) and the
     * recipientAccountId of records without a bucket owner ("account_id";
     * NULL: the caller's account) */
    char *region;
    char *account_id;
    struct config_audit_sink *sinks; /* "sinks", besides "output" */
    size_t nsinks;
};

struct config_limits {
    uint32_t max_connections;        /* default 10000 */
    /* from one source address (an IPv6 /64) at once; 0 = no cap (the
     * default: many clients may share one address behind a NAT) */
    uint32_t max_connections_per_address;
    uint32_t max_header_bytes;       /* default 65536 */
    uint32_t header_timeout_ms;      /* default 30000 */
    uint32_t body_idle_timeout_ms;   /* default 60000 */
    /* no progress writing a response to the client for this long ends the
     * exchange (a client that does not read); default 60000 */
    uint32_t send_timeout_ms;
    /* request bodies slower than this (bytes/s, over 10 s windows while
     * s3warden reads them) get 400 RequestTimeout; 0 = off; default 1024 */
    uint32_t min_body_rate;
    /* After SIGTERM/SIGINT, how long in-flight requests may still run
     * before they are cut (0..3600000, default 10000). */
    uint32_t shutdown_timeout_ms;
};

/* The admin listener (/healthz, /readyz, /metrics): plain HTTP, never the
 * S3 listener's port. Absent from the file => enabled = false. */
struct config_admin {
    bool enabled;
    char *address;   /* IPv4/IPv6 literal, default "127.0.0.1" */
    uint16_t port;   /* default 9090; 0 = ephemeral (tests) */
    /* /readyz wants an upstream answer within this many seconds
     * (1..86400, default 60) */
    uint32_t upstream_ready_window_s;
};

/* "log": {"level": ...}; messages below the level are not written. */
enum config_log_level {
    CONFIG_LOG_DEBUG,
    CONFIG_LOG_INFO,
    CONFIG_LOG_WARN,
    CONFIG_LOG_ERROR,
};

#define CONFIG_STS_KEY_BYTES 32
#define CONFIG_STS_MAX_KEYS 16

struct config_sts_key {
    char *id;    /* 1..16 chars of [A-Za-z0-9_-]; travels in clear in tokens */
    uint8_t key[CONFIG_STS_KEY_BYTES]; /* secret: wiped on free */
    /* derived at load (config/token.h): AES-256-GCM key and the key that
     * derives a session's access key id and secret; secret, wiped on free */
    uint8_t enc_key[32];
    uint8_t id_key[32];
    bool active; /* exactly one key is active: it signs new tokens */
};

struct config_sts {
    bool enabled;
    struct config_sts_key keys[CONFIG_STS_MAX_KEYS];
    size_t nkeys;
    size_t active; /* index into keys */
    uint32_t default_duration_seconds; /* 3600 */
};

/* An OpenID Connect identity provider whose ID tokens the local STS's
 * AssumeRoleWithWebIdentity accepts (IAM's CreateOpenIDConnectProvider).
 * Registered in one account; only that account's roles can trust it. */
struct jwks; /* config/jwt.h */

#define CONFIG_OIDC_MAX_PROVIDERS 64
#define CONFIG_OIDC_MAX_CLIENT_IDS 100 /* IAM: ClientIDList <= 100 */

struct config_oidc_provider {
    char *account;   /* 12 digits */
    char *url;       /* "https://HOST/PATH": the tokens' exact "iss" */
    char *host_path; /* "HOST/PATH": prefix of the condition keys ("HOST/PATH:sub") */
    char *arn;       /* "arn:aws:iam::ACCOUNT:oidc-provider/HOST/PATH" */
    char **client_ids; /* "aud" (or "azp") values accepted; at least one */
    struct s3w_slice *audiences; /* the same as slices (jwt_expect) */
    size_t nclient_ids;
    /* pinned keys (air-gapped sites: "jwks" inline or "jwks_file"); NULL =
     * discovery at URL/.well-known/openid-configuration (proxy/oidc_fetch.c) */
    struct jwks *pinned;
    char *ca_file;   /* optional CA bundle for the discovery fetches */
    uint32_t leeway_seconds;       /* exp/nbf/iat tolerance; default 60 */
    uint32_t max_jwks_age_seconds; /* fetched keys kept on failure; default 86400 */
};

struct config_index; /* private hash tables (identity.c) */

/* What a request for a bucket that `buckets` does not list gets. */
enum config_unlisted_buckets {
    /* 403 AccessDenied "... because the bucket is not configured in
     * s3warden": the upstream credentials may reach buckets nobody meant
     * to expose, so an identity policy with Resource "*" must not (fail
     * closed; the default) */
    CONFIG_UNLISTED_DENY = 0,
    /* the old behaviour: owned by the caller's account, no bucket policy -
     * only the caller's identity policies can allow it */
    CONFIG_UNLISTED_CALLER_ACCOUNT = 1,
};

struct config {
    char *source_path;   /* the file it was loaded from ("<buffer>" otherwise) */

    struct config_listener *listeners;
    size_t nlisteners;
    char **virtual_host_domains; /* base domains for bucket.DOMAIN requests */
    size_t nvirtual_host_domains;
    /* the stores ("upstreams", plus the legacy "upstream" as "default") */
    struct config_upstream *upstreams;
    size_t nupstreams;
    /* the default upstream ("default_upstream"): one of upstreams. Its region
     * is s3warden's own: the one clients sign for and GetBucketLocation says. */
    const struct config_upstream *upstream;
    /* credential chains: [0] is "default" (the top-level "credentials", or
     * the SDKs' chain without one), then "credential_sets", then the
     * upstreams' own chains (an object "credentials", named "upstream:NAME") */
    struct config_credentials *credential_sets;
    size_t ncredential_sets;
    struct config_account *accounts;
    size_t naccounts;
    struct config_user *users;
    size_t nusers;
    struct config_role *roles;
    size_t nroles;
    struct config_role_session *role_sessions;
    size_t nrole_sessions;
    struct config_oidc_provider *oidc_providers;
    size_t noidc_providers;
    struct config_bucket *buckets;
    size_t nbuckets;
    enum config_unlisted_buckets unlisted_buckets; /* default CONFIG_UNLISTED_DENY */
    struct config_policy *guardrails;
    size_t nguardrails;
    const struct policy **guardrail_ptrs; /* for policy_set.guardrails */
    struct config_audit audit;
    struct config_limits limits;
    struct config_sts sts;
    struct config_admin admin;
    enum config_log_level log_level; /* default CONFIG_LOG_INFO */

    /* policy engine warnings (e.g. NotPrincipal with Allow), as
     * "FILE: PATH: MESSAGE"; NULL when there are none. Log them at load. */
    struct config_errors *warnings;

    struct config_index *index; /* access keys, buckets, roles by ARN */
    int refs;                   /* atomic; use config_ref/config_unref */
};

/* ---- loading ----------------------------------------------------------- */
/* Loads and validates `path`. On success *out holds a snapshot with one
 * reference and `errs` is empty. On failure returns CONFIG_E_INVALID (or
 * CONFIG_E_IO / CONFIG_E_NOMEM), *out is NULL and `errs` holds every error
 * found (up to CONFIG_MAX_ERRORS). `errs` must be initialised by the caller
 * and cleaned up by the caller in both cases. Relative `*_file` paths are
 * resolved against the directory of `path`. */
int config_load(const char *path, struct config **out, struct config_errors *errs);

/* Same from a buffer (tests, fuzzing). `name` is used as FILE in messages;
 * `base_dir` resolves relative `*_file` references (NULL = cwd). */
int config_load_buffer(const char *name, const char *json, size_t len,
                       const char *base_dir, struct config **out,
                       struct config_errors *errs);

/* ---- snapshot lifetime ------------------------------------------------- */
/* Atomic reference count; any thread. config_ref returns its argument. */
struct config *config_ref(struct config *cfg);
/* Drops a reference; the last one frees the snapshot and wipes secrets.
 * NULL is a no-op. */
void config_unref(struct config *cfg);

/* ---- lookups (no allocation, O(1) hash tables) ------------------------- */
const struct config_bucket *config_find_bucket(const struct config *cfg,
                                               struct s3w_slice name);
/* The bucket on upstream `up` whose upstream_name (default: its name) this
 * is; an upstream bucket serves at most one configured bucket (the loader
 * refuses two on one upstream). */
const struct config_bucket *config_find_bucket_upstream(const struct config *cfg,
                                                        const struct config_upstream *up,
                                                        struct s3w_slice upstream_name);
/* The upstream named `name`; NULL when there is none. Linear: few. */
const struct config_upstream *config_find_upstream(const struct config *cfg,
                                                   struct s3w_slice name);
const struct config_role *config_find_role_arn(const struct config *cfg,
                                               struct s3w_slice arn);
const struct config_account *config_find_account(const struct config *cfg,
                                                 struct s3w_slice id);
/* The provider of `account` whose URL is exactly `issuer` (a token's iss);
 * NULL when that account has none. Linear: providers are few. */
const struct config_oidc_provider *config_find_oidc_provider(const struct config *cfg,
                                                             struct s3w_slice account,
                                                             struct s3w_slice issuer);

/* Whether upstream u takes S3 operation op ("operations"; true when unset). */
struct s3map_op;
bool config_upstream_takes(const struct config_upstream *u, const struct s3map_op *op);

#endif
