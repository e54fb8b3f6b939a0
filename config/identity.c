/*
 * identity.c - access key id (+ session token) -> identity, and the
 * identity's request-context keys (IAM-SEMANTICS.md §6).
 */
#include "identity.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include "civil.h"
#include "index.h"
#include "policy.h"
#include "token.h"

_Static_assert(CONFIG_IDENTITY_STORE >= TOKEN_MAX_PLAIN + 1024,
               "identity store holds a token's plaintext plus built strings");
_Static_assert(SIGV4_MAX_SECRET >= TOKEN_SECRET_LEN + 1, "session secrets fit sigv4's buffer");
_Static_assert(CONFIG_IDENTITY_MAX_AMR == TOKEN_MAX_AMR, "every amr value of a token is kept");

const char *config_principal_type_name(enum config_principal_type t)
{
    switch (t) {
    case CONFIG_PRINCIPAL_ACCOUNT: return "Account";
    case CONFIG_PRINCIPAL_USER: return "User";
    case CONFIG_PRINCIPAL_ASSUMED_ROLE: return "AssumedRole";
    case CONFIG_PRINCIPAL_FEDERATED_USER: return "FederatedUser";
    case CONFIG_PRINCIPAL_ANONYMOUS: break;
    }
    return "Anonymous";
}

const char *config_auth_err_code(int err)
{
    switch (err) {
    case CONFIG_AUTH_OK: return "";
    case CONFIG_AUTH_UNKNOWN_KEY:
    case CONFIG_AUTH_MISSING_TOKEN: return "InvalidAccessKeyId";
    case CONFIG_AUTH_INVALID_TOKEN: return "InvalidToken";
    case CONFIG_AUTH_EXPIRED_TOKEN: return "ExpiredToken";
    default: return "InternalError";
    }
}

const char *config_auth_err_message(int err)
{
    switch (err) {
    case CONFIG_AUTH_OK: return "";
    case CONFIG_AUTH_UNKNOWN_KEY:
    case CONFIG_AUTH_MISSING_TOKEN:
        return "The AWS Access Key Id you provided does not exist in our records.";
    case CONFIG_AUTH_INVALID_TOKEN: return "The provided token is malformed or otherwise invalid.";
    case CONFIG_AUTH_EXPIRED_TOKEN: return "The provided token has expired.";
    default: return "We encountered an internal error. Please try again.";
    }
}

int config_auth_err_status(int err)
{
    switch (err) {
    case CONFIG_AUTH_OK: return 200;
    case CONFIG_AUTH_UNKNOWN_KEY:
    case CONFIG_AUTH_MISSING_TOKEN: return 403;
    case CONFIG_AUTH_INVALID_TOKEN:
    case CONFIG_AUTH_EXPIRED_TOKEN: return 400;
    default: return 500;
    }
}

static void reset(struct config_identity *id)
{
    /* the store may hold a decrypted token: wipe what was used (clamped, so
     * a never-initialised identity cannot send the wipe out of bounds) */
    s3w_wipe(id->store, id->store_len < sizeof id->store ? id->store_len : sizeof id->store);
    /* the tag table (3 KiB) only as far as it was used: every request
     * resets its identity, and no reader goes past ntags. The two memsets
     * below skip only the table: ntags must follow it directly */
    _Static_assert(offsetof(struct config_identity, ntags) ==
                       offsetof(struct config_identity, tags) + sizeof(id->tags),
                   "a field between tags and ntags would not be reset");
    size_t ntags = id->ntags < CONFIG_IDENTITY_MAX_TAGS ? id->ntags : CONFIG_IDENTITY_MAX_TAGS;
    memset(id->tags, 0, ntags * sizeof id->tags[0]);
    memset(id, 0, offsetof(struct config_identity, tags));
    memset(&id->ntags, 0,
           offsetof(struct config_identity, store) - offsetof(struct config_identity, ntags));
    id->store_len = 0;
}

void config_identity_anonymous(struct config_identity *id)
{
    reset(id);
    id->type = CONFIG_PRINCIPAL_ANONYMOUS;
    /* aws:userid / aws:PrincipalAccount for anonymous callers: "anonymous"
     * ([KEYS] for PrincipalAccount; userid from secondary sources,
     * UNCONFIRMED - IAM-SEMANTICS §6) */
    id->userid = S3W_SLICE_LIT("anonymous");
    id->account = S3W_SLICE_LIT("anonymous");
}

void config_identity_cleanup(struct config_identity *id)
{
    policy_free(id->owned_session_policy);
    id->owned_session_policy = NULL;
    config_identity_anonymous(id);
}

/* Appends formatted text to the identity's store; returns the slice or an
 * empty slice with *ok = false when the store is full. */
static struct s3w_slice store_printf(struct config_identity *id, bool *ok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static struct s3w_slice store_printf(struct config_identity *id, bool *ok, const char *fmt, ...)
{
    size_t room = sizeof id->store - id->store_len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(id->store + id->store_len, room, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= room) {
        *ok = false;
        return S3W_SLICE_NULL;
    }
    struct s3w_slice s = { id->store + id->store_len, (size_t)n };
    id->store_len += (size_t)n + 1;
    return s;
}

static void add_config_tags(struct config_identity *id, const struct config_tag *t, size_t n)
{
    for (size_t i = 0; i < n && id->ntags < CONFIG_IDENTITY_MAX_TAGS; i++) {
        struct config_identity_tag *it = &id->tags[id->ntags++];
        it->key = s3w_slice_cstr(t[i].key);
        it->value = s3w_slice_cstr(t[i].value);
        it->context_key = s3w_slice_cstr(t[i].context_key);
        it->transitive = false; /* config tags are not session tags */
    }
}

static void fill_user(struct config_identity *id, const struct config_user *u)
{
    id->type = CONFIG_PRINCIPAL_USER;
    id->user = u;
    id->arn = s3w_slice_cstr(u->arn);
    id->principal_arn = id->arn;
    id->account = s3w_slice_cstr(u->account);
    id->userid = s3w_slice_cstr(u->unique_id);
    id->username = s3w_slice_cstr(u->name);
    id->policies = u->policy_ptrs;
    id->npolicies = u->npolicies;
    id->boundary = u->boundary;
    add_config_tags(id, u->tags, u->ntags);
}

static void fill_root(struct config_identity *id, const struct config_account *a)
{
    id->type = CONFIG_PRINCIPAL_ACCOUNT;
    id->root_account = a;
    id->arn = s3w_slice_cstr(a->root_arn);
    id->principal_arn = id->arn;
    id->account = s3w_slice_cstr(a->id);
    /* the root user's aws:userid is the account id (seed 002; [IDS] lists
     * 111122223333 among aws:userid values) */
    id->userid = id->account;
}

static void fill_role_common(struct config_identity *id, const struct config_role *r)
{
    id->type = CONFIG_PRINCIPAL_ASSUMED_ROLE;
    id->role = r;
    id->account = s3w_slice_cstr(r->account);
    /* aws:PrincipalArn of a role session is the role ARN [KEYS] */
    id->principal_arn = s3w_slice_cstr(r->arn);
    id->policies = r->policy_ptrs;
    id->npolicies = r->npolicies;
    id->boundary = r->boundary;
    id->is_session = true;
}

static void fill_static_session(struct config_identity *id, const struct config_role_session *s)
{
    fill_role_common(id, s->role);
    id->arn = s3w_slice_cstr(s->arn);
    id->userid = s3w_slice_cstr(s->userid);
    id->session_name = s3w_slice_cstr(s->session_name);
    id->source_identity = s3w_slice_cstr(s->source_identity);
    id->session_policy = s->session_policy;
    add_config_tags(id, s->role->tags, s->role->ntags);
}

static int copy_secret(const char *secret, uint8_t *out, size_t cap, size_t *len)
{
    size_t n = strlen(secret);
    if (n > cap)
        return CONFIG_AUTH_INTERNAL;
    memcpy(out, secret, n);
    *len = n;
    return CONFIG_AUTH_OK;
}

/* A GetSessionToken session (config/sts.c): the token names no role; its
 * session name is the long-term access key the user (or account root)
 * called with and its unique id the user's (the account id for root). The
 * key must still belong to that same user: a user deleted and recreated
 * under the same name is another user (IAM-SEMANTICS §2). The session acts
 * with the user's own policies, as on AWS. */
static int resolve_user_session(const struct config *cfg, const struct token_claims *c,
                                struct config_identity *id)
{
    int kind = 0;
    const void *owner = NULL;
    if (!config_index_find_key(cfg, c->session_name, &kind, &owner))
        return CONFIG_AUTH_INVALID_TOKEN;
    if (kind == CONFIG_KEY_USER &&
        s3w_slice_eq_cstr(c->role_unique_id, ((const struct config_user *)owner)->unique_id))
        fill_user(id, owner);
    else if (kind == CONFIG_KEY_ROOT &&
             s3w_slice_eq_cstr(c->role_unique_id, ((const struct config_account *)owner)->id))
        fill_root(id, owner);
    else
        return CONFIG_AUTH_INVALID_TOKEN;
    bool ok = true;
    char ts[S3W_ISO8601_LEN + 1];
    s3w_iso8601_format(c->issued, ts);
    id->token_issue_time = store_printf(id, &ok, "%s", ts);
    id->caller_arn = c->caller_arn;
    id->expiration = c->expires;
    id->is_session = true;
    return ok ? CONFIG_AUTH_OK : CONFIG_AUTH_INTERNAL;
}

int config_session_policy_compile(struct s3w_slice json, struct policy **out)
{
    struct policy_compile_opts o = { .kind = POLICY_KIND_SESSION, .name = "session-policy" };
    return policy_compile(json.ptr, json.len, &o, out, NULL);
}

/* What s3warden's STS never seals, refused in a token that opened (one
 * sealed with a leaked or weak STS key, probe 25): an issue time more than
 * 5 minutes ahead of now or before the longest lifetime ago; a lifetime
 * not positive or over the longest s3warden issues (a role session 12
 * hours, 43,200 s; a GetSessionToken session 36, 129,600 s); a role
 * session's name AssumeRole would refuse (2-64 of [A-Za-z0-9+=,.@_-]); a
 * GetSessionToken session's name, the caller's access key id, other than
 * 16-128 of [A-Z0-9] (config/load.c's rule for key ids). Compared so that
 * no difference can overflow (the times are any 64-bit values a forged
 * token holds). */
static bool claims_plausible(const struct token_claims *c, int64_t now)
{
    bool role = c->role_arn.len > 0;
    int64_t longest = role ? 43200 : 129600;
    if (now < 0 || now > INT64_MAX - 300 || c->issued > now + 300 || c->issued < now - longest ||
        c->expires <= c->issued || c->expires > c->issued + longest)
        return false;
    struct s3w_slice n = c->session_name;
    if (role ? n.len < 2 || n.len > 64 : n.len < 16 || n.len > 128)
        return false;
    for (size_t i = 0; i < n.len; i++) {
        char ch = n.ptr[i];
        bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                  (role && ((ch >= 'a' && ch <= 'z') || (ch && strchr("+=,.@_-", ch))));
        if (!ok)
            return false;
    }
    return true;
}

static int resolve_token(const struct config *cfg, struct s3w_slice akid, struct s3w_slice token,
                         int64_t now, struct config_identity *id, uint8_t *secret_out,
                         size_t secret_cap, size_t *secret_len)
{
    struct token_claims c;
    char secret[TOKEN_SECRET_LEN + 1];
    int trc = token_open(&cfg->sts, akid, token, now, (uint8_t *)id->store, TOKEN_MAX_PLAIN, &c,
                         secret);
    /* the plaintext stays in the store (the claims point into it) and is
     * wiped by reset(); token_open wiped it itself on failure */
    id->store_len = trc == TOKEN_OK ? c.plain_len : 0;
    if (trc == TOKEN_E_EXPIRED)
        return CONFIG_AUTH_EXPIRED_TOKEN;
    if (trc != TOKEN_OK)
        return trc == TOKEN_E_INTERNAL ? CONFIG_AUTH_INTERNAL : CONFIG_AUTH_INVALID_TOKEN;
    int rc = CONFIG_AUTH_INVALID_TOKEN;
    if (!claims_plausible(&c, now))
        goto cleanup;
    if (c.role_arn.len == 0) {
        rc = resolve_user_session(cfg, &c, id);
        if (rc == CONFIG_AUTH_OK)
            rc = copy_secret(secret, secret_out, secret_cap, secret_len);
        goto cleanup;
    }
    /* The role must still exist with the same unique id: a role deleted and
     * recreated under the same name is a different role (IAM unique-id
     * semantics, IAM-SEMANTICS §2). */
    const struct config_role *r = config_find_role_arn(cfg, c.role_arn);
    if (!r || !s3w_slice_eq_cstr(c.role_unique_id, r->unique_id))
        goto cleanup;
    fill_role_common(id, r);
    bool ok = true;
    id->arn = store_printf(id, &ok, "arn:aws:sts::%s:assumed-role/%s/%.*s", r->account, r->name,
                           (int)c.session_name.len, c.session_name.ptr);
    id->userid = store_printf(id, &ok, "%s:%.*s", r->unique_id, (int)c.session_name.len,
                              c.session_name.ptr);
    char ts[S3W_ISO8601_LEN + 1];
    s3w_iso8601_format(c.issued, ts);
    id->token_issue_time = store_printf(id, &ok, "%s", ts);
    if (!ok) {
        rc = CONFIG_AUTH_INTERNAL;
        goto cleanup;
    }
    id->session_name = c.session_name;
    id->source_identity = c.source_identity;
    id->caller_arn = c.caller_arn;
    id->expiration = c.expires;
    /* a web identity session: its keys come from the authenticated token
     * only (token.c checked they are the provider's own key names) */
    id->federated_provider = c.federated_provider;
    id->wi_sub_key = c.wi_sub_key;
    id->wi_sub = c.wi_sub;
    id->wi_aud_key = c.wi_aud_key;
    id->wi_aud = c.wi_aud;
    id->wi_amr_key = c.wi_amr_key;
    id->wi_namr = c.wi_namr;
    for (size_t i = 0; i < c.wi_namr; i++)
        id->wi_amr[i] = c.wi_amr[i];
    /* session tags override role tags with the same key (case-insensitive) */
    for (size_t i = 0; i < c.ntags && id->ntags < CONFIG_IDENTITY_MAX_TAGS; i++) {
        struct config_identity_tag *t = &id->tags[id->ntags++];
        t->context_key = c.tag_ctx_keys[i];
        t->key = s3w_slice(c.tag_ctx_keys[i].ptr + TOKEN_TAG_PREFIX_LEN,
                           c.tag_ctx_keys[i].len - TOKEN_TAG_PREFIX_LEN);
        t->value = c.tag_values[i];
        t->transitive = (c.transitive >> i) & 1;
    }
    size_t nsession = id->ntags;
    id->nsession_tags = nsession;
    for (size_t i = 0; i < r->ntags; i++) {
        bool overridden = false;
        for (size_t j = 0; j < nsession; j++)
            if (s3w_slice_eq_nocase(id->tags[j].key, s3w_slice_cstr(r->tags[i].key)))
                overridden = true;
        if (overridden)
            continue;
        /* 50 session tags + 50 role tags exceed the identity's table: a
         * role tag left out would make a Deny on aws:PrincipalTag/<k>
         * never fire, so such a session fails closed */
        if (id->ntags == CONFIG_IDENTITY_MAX_TAGS) {
            rc = CONFIG_AUTH_INTERNAL;
            goto cleanup;
        }
        add_config_tags(id, &r->tags[i], 1);
    }
    if (c.session_policy.len) {
        /* compiled per request (allocates): tokens carry the policy text,
         * bounded at 2048 bytes by AssumeRole */
        if (config_session_policy_compile(c.session_policy, &id->owned_session_policy) !=
            POLICY_OK) {
            rc = CONFIG_AUTH_INTERNAL; /* it compiled when the token was made */
            goto cleanup;
        }
        id->session_policy = id->owned_session_policy;
        id->session_policy_json = c.session_policy;
    }
    rc = copy_secret(secret, secret_out, secret_cap, secret_len);
cleanup:
    s3w_wipe(secret, sizeof secret);
    return rc;
}

int config_resolve(const struct config *cfg, struct s3w_slice access_key_id,
                   struct s3w_slice session_token, int64_t now, struct config_identity *id,
                   uint8_t *secret_out, size_t secret_cap, size_t *secret_len)
{
    *secret_len = 0;
    policy_free(id->owned_session_policy);
    id->owned_session_policy = NULL;
    reset(id);
    int rc = CONFIG_AUTH_UNKNOWN_KEY;
    if (!cfg || access_key_id.len == 0)
        goto fail;
    id->access_key_id = access_key_id;
    if (s3w_slice_starts_with(access_key_id, S3W_SLICE_LIT("ASIA"))) {
        if (!cfg->sts.enabled || cfg->sts.nkeys == 0)
            goto fail;
        if (session_token.len == 0) {
            rc = CONFIG_AUTH_MISSING_TOKEN;
            goto fail;
        }
        rc = resolve_token(cfg, access_key_id, session_token, now, id, secret_out, secret_cap,
                           secret_len);
        if (rc != CONFIG_AUTH_OK)
            goto fail;
        return CONFIG_AUTH_OK;
    }
    int kind = 0;
    const void *owner = NULL;
    const struct config_access_key *k = config_index_find_key(cfg, access_key_id, &kind, &owner);
    if (!k || !k->active)
        goto fail;
    /* a long-term key with a session token: S3 refuses the token */
    if (session_token.len) {
        rc = CONFIG_AUTH_INVALID_TOKEN;
        goto fail;
    }
    switch (kind) {
    case CONFIG_KEY_USER: fill_user(id, owner); break;
    case CONFIG_KEY_ROOT: fill_root(id, owner); break;
    case CONFIG_KEY_ROLE_SESSION: fill_static_session(id, owner); break;
    default: rc = CONFIG_AUTH_INTERNAL; goto fail;
    }
    rc = copy_secret(k->secret, secret_out, secret_cap, secret_len);
    if (rc == CONFIG_AUTH_OK)
        return CONFIG_AUTH_OK;
fail:
    policy_free(id->owned_session_policy);
    id->owned_session_policy = NULL;
    reset(id);
    s3w_wipe(secret_out, secret_cap);
    *secret_len = 0;
    /* leave a fail-closed identity behind */
    config_identity_anonymous(id);
    return rc;
}

/* A role session named by its ARN, "arn:aws:sts::A:assumed-role/R/S" (the
 * role's path is not in it: IAM ARNs reference). */
static int session_from_arn(const struct config *cfg, struct s3w_slice arn,
                            struct config_identity *id)
{
    static const char pre[] = "arn:aws:sts::";
    if (!s3w_slice_starts_with(arn, S3W_SLICE_LIT("arn:aws:sts::")))
        return CONFIG_AUTH_UNKNOWN_KEY;
    struct s3w_slice rest = s3w_slice(arn.ptr + sizeof(pre) - 1, arn.len - (sizeof(pre) - 1));
    const char *colon = memchr(rest.ptr, ':', rest.len);
    if (!colon)
        return CONFIG_AUTH_UNKNOWN_KEY;
    struct s3w_slice acct = s3w_slice(rest.ptr, (size_t)(colon - rest.ptr));
    struct s3w_slice res = s3w_slice(colon + 1, rest.len - acct.len - 1);
    if (!s3w_slice_starts_with(res, S3W_SLICE_LIT("assumed-role/")))
        return CONFIG_AUTH_UNKNOWN_KEY;
    res.ptr += 13, res.len -= 13;
    const char *slash = memchr(res.ptr, '/', res.len);
    if (!slash || slash == res.ptr || (size_t)(slash - res.ptr) + 1 >= res.len)
        return CONFIG_AUTH_UNKNOWN_KEY;
    struct s3w_slice role = s3w_slice(res.ptr, (size_t)(slash - res.ptr));
    struct s3w_slice session = s3w_slice(slash + 1, res.len - role.len - 1);
    for (size_t i = 0; i < cfg->nroles; i++) {
        const struct config_role *r = &cfg->roles[i];
        if (!s3w_slice_eq_cstr(acct, r->account) || !s3w_slice_eq_cstr(role, r->name))
            continue;
        fill_role_common(id, r);
        bool ok = true;
        id->arn = store_printf(id, &ok, "%.*s", (int)arn.len, arn.ptr);
        id->userid = store_printf(id, &ok, "%s:%.*s", r->unique_id, (int)session.len, session.ptr);
        id->session_name = store_printf(id, &ok, "%.*s", (int)session.len, session.ptr);
        if (!ok)
            return CONFIG_AUTH_INTERNAL;
        add_config_tags(id, r->tags, r->ntags);
        return CONFIG_AUTH_OK;
    }
    return CONFIG_AUTH_UNKNOWN_KEY;
}

int config_identity_from_arn(const struct config *cfg, struct s3w_slice arn,
                             struct config_identity *id)
{
    config_identity_cleanup(id);
    if (!cfg)
        return CONFIG_AUTH_UNKNOWN_KEY;
    reset(id);
    int rc = CONFIG_AUTH_UNKNOWN_KEY;
    for (size_t i = 0; i < cfg->nusers; i++)
        if (s3w_slice_eq_cstr(arn, cfg->users[i].arn)) {
            fill_user(id, &cfg->users[i]);
            return CONFIG_AUTH_OK;
        }
    for (size_t i = 0; i < cfg->naccounts; i++)
        if (s3w_slice_eq_cstr(arn, cfg->accounts[i].root_arn)) {
            fill_root(id, &cfg->accounts[i]);
            return CONFIG_AUTH_OK;
        }
    for (size_t i = 0; i < cfg->nrole_sessions; i++)
        if (s3w_slice_eq_cstr(arn, cfg->role_sessions[i].arn)) {
            fill_static_session(id, &cfg->role_sessions[i]);
            return CONFIG_AUTH_OK;
        }
    rc = session_from_arn(cfg, arn, id);
    if (rc != CONFIG_AUTH_OK) {
        reset(id);
        config_identity_anonymous(id);
    }
    return rc;
}

enum sigv4_lookup_status config_sigv4_lookup(void *ud, struct s3w_slice access_key_id,
                                             struct s3w_slice session_token, char *secret_out,
                                             size_t *secret_len)
{
    struct config_sigv4_lookup *l = ud;
    l->err = config_resolve(l->cfg, access_key_id, session_token, l->now, l->id,
                            (uint8_t *)secret_out, SIGV4_MAX_SECRET, secret_len);
    switch (l->err) {
    case CONFIG_AUTH_OK: return SIGV4_LOOKUP_OK;
    case CONFIG_AUTH_UNKNOWN_KEY: return SIGV4_LOOKUP_UNKNOWN_KEY;
    case CONFIG_AUTH_MISSING_TOKEN: return SIGV4_LOOKUP_UNKNOWN_KEY;
    case CONFIG_AUTH_INVALID_TOKEN: return SIGV4_LOOKUP_INVALID_TOKEN;
    case CONFIG_AUTH_EXPIRED_TOKEN: return SIGV4_LOOKUP_EXPIRED_TOKEN;
    default: return SIGV4_LOOKUP_ERROR;
    }
}

void config_identity_principal(const struct config_identity *id, struct policy_principal *out)
{
    memset(out, 0, sizeof *out);
    switch (id->type) {
    case CONFIG_PRINCIPAL_ACCOUNT: out->type = POLICY_PRINCIPAL_ROOT; break;
    case CONFIG_PRINCIPAL_USER: out->type = POLICY_PRINCIPAL_USER; break;
    case CONFIG_PRINCIPAL_ASSUMED_ROLE: out->type = POLICY_PRINCIPAL_ROLE_SESSION; break;
    case CONFIG_PRINCIPAL_FEDERATED_USER: out->type = POLICY_PRINCIPAL_FEDERATED; break;
    case CONFIG_PRINCIPAL_ANONYMOUS: out->type = POLICY_PRINCIPAL_ANONYMOUS; return;
    }
    out->arn = id->arn;
    out->account = id->account;
    out->username = id->username;
    out->has_boundary = id->boundary != NULL;
    if (id->type == CONFIG_PRINCIPAL_USER) {
        out->unique_id = id->userid;
    } else if (id->type == CONFIG_PRINCIPAL_ASSUMED_ROLE) {
        out->unique_id = s3w_slice_cstr(id->role->unique_id);
        out->role_arn = id->principal_arn;
        out->session_name = id->session_name;
    }
}

static int set(struct policy_context *ctx, const char *k, struct s3w_slice v)
{
    return policy_context_set(ctx, s3w_slice_cstr(k), v);
}

int config_identity_fill_context(const struct config_identity *id, struct policy_context *ctx)
{
    int rc = POLICY_CTX_OK;
    rc = rc ? rc : set(ctx, "aws:userid", id->userid);
    rc = rc ? rc : set(ctx, "aws:PrincipalAccount", id->account);
    rc = rc ? rc
            : set(ctx, "aws:PrincipalType",
                  s3w_slice_cstr(config_principal_type_name(id->type)));
    if (id->type == CONFIG_PRINCIPAL_ANONYMOUS) {
        /* present on AWS, values undocumented (IAM-SEMANTICS.md §2, §6):
         * compared the way that denies (policy/context.h) */
        policy_context_mark_unsure(ctx, S3W_SLICE_LIT("aws:userid"));
        policy_context_mark_unsure(ctx, S3W_SLICE_LIT("aws:PrincipalType"));
        return rc ? POLICY_CTX_E_FULL : POLICY_CTX_OK;
    }
    /* aws:PrincipalArn: signed requests only [KEYS] */
    rc = rc ? rc : set(ctx, "aws:PrincipalArn", id->principal_arn);
    /* aws:username: IAM users only [KEYS] */
    if (id->type == CONFIG_PRINCIPAL_USER)
        rc = rc ? rc : set(ctx, "aws:username", id->username);
    for (size_t i = 0; i < id->ntags; i++)
        rc = rc ? rc : policy_context_set(ctx, id->tags[i].context_key, id->tags[i].value);
    if (id->is_session) {
        /* temporary credentials: MFA not present (we issue no MFA sessions);
         * long-term keys leave the key absent, as AWS does [KEYS] */
        rc = rc ? rc : set(ctx, "aws:MultiFactorAuthPresent", S3W_SLICE_LIT("false"));
        if (id->token_issue_time.len)
            rc = rc ? rc : set(ctx, "aws:TokenIssueTime", id->token_issue_time);
        if (id->source_identity.len)
            rc = rc ? rc : set(ctx, "aws:SourceIdentity", id->source_identity);
        /* web identity sessions: the keys "are available when the temporary
         * security credentials are used to make a request" (IAM User
         * Guide, "Available keys for AWS web identity federation"), so a
         * role's permission policy can name ${HOST/PATH:sub} ("Identifying
         * users with web identity federation"); aws:FederatedProvider "is
         * present in the role-session of a role that was assumed using
         * OpenID Connect (OIDC) provider" (global condition keys). An
         * AssumeRole session, chained from one or not, has none. */
        if (id->federated_provider.len) {
            rc = rc ? rc : set(ctx, "aws:FederatedProvider", id->federated_provider);
            rc = rc ? rc : policy_context_set(ctx, id->wi_sub_key, id->wi_sub);
            rc = rc ? rc : policy_context_set(ctx, id->wi_aud_key, id->wi_aud);
            if (id->wi_namr)
                rc = rc ? rc
                        : policy_context_set_multi(ctx, id->wi_amr_key, id->wi_amr,
                                                   id->wi_namr);
        }
    }
    return rc ? POLICY_CTX_E_FULL : POLICY_CTX_OK;
}
