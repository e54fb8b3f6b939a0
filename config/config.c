/*
 * config.c - snapshot lifetime (atomic refcount), freeing with secret
 * wiping, and the error list.
 */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cors.h"
#include "jwt.h"
#include "load_internal.h"
#include "policy.h"
#include "s3ops.h"

const char *config_strerror(int err)
{
    switch (err) {
    case CONFIG_OK: return "ok";
    case CONFIG_E_NOMEM: return "out of memory";
    case CONFIG_E_IO: return "cannot read the config file";
    case CONFIG_E_INVALID: return "the config has errors";
    default: return "unknown error";
    }
}

void config_errors_init(struct config_errors *e)
{
    memset(e, 0, sizeof *e);
}

void config_errors_cleanup(struct config_errors *e)
{
    for (size_t i = 0; i < e->n; i++) {
        free(e->items[i].file);
        free(e->items[i].path);
        free(e->items[i].message);
        free(e->items[i].text);
    }
    config_errors_init(e);
}

void config_errors_add(struct config_errors *e, const char *file, const char *path,
                       const char *fmt, ...)
{
    if (e->n >= CONFIG_MAX_ERRORS) {
        e->dropped++;
        return;
    }
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct config_error *it = &e->items[e->n];
    it->file = strdup(file ? file : "");
    it->path = strdup(path ? path : "");
    it->message = strdup(msg);
    size_t tl = strlen(it->file ? it->file : "") + strlen(it->path ? it->path : "") +
                strlen(msg) + 8;
    it->text = malloc(tl);
    if (!it->file || !it->path || !it->message || !it->text) {
        free(it->file);
        free(it->path);
        free(it->message);
        free(it->text);
        memset(it, 0, sizeof *it);
        e->dropped++;
        return;
    }
    if (it->path[0])
        snprintf(it->text, tl, "%s: %s: %s", it->file, it->path, msg);
    else
        snprintf(it->text, tl, "%s: %s", it->file, msg);
    e->n++;
}

void config_free_secret(char *s)
{
    if (!s)
        return;
    s3w_wipe(s, strlen(s));
    free(s);
}

static void free_tags(struct config_tag *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(t[i].key);
        free(t[i].value);
        free(t[i].context_key);
    }
    free(t);
}

static void free_policies(struct config_policy *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(p[i].name);
        policy_free(p[i].compiled);
    }
    free(p);
}

static void free_key(struct config_access_key *k)
{
    free(k->id);
    config_free_secret(k->secret);
}

static void free_provider(struct config_cred_provider *p)
{
    free(p->access_key_id);
    config_free_secret(p->secret_access_key);
    config_free_secret(p->session_token);
    free(p->profile);
    free(p->credentials_file);
    free(p->config_file);
    free(p->endpoint);
    free(p->authorization_token_file);
    free(p->token_file);
    free(p->role_arn);
    free(p->session_name);
    free(p->sts_endpoint);
}

void config_free(struct config *cfg)
{
    if (!cfg)
        return;
    config_index_free(cfg->index);
    if (cfg->warnings) {
        config_errors_cleanup(cfg->warnings);
        free(cfg->warnings);
    }
    free(cfg->source_path);
    for (size_t i = 0; i < cfg->nlisteners; i++) {
        free(cfg->listeners[i].address);
        free(cfg->listeners[i].tls_cert_file);
        free(cfg->listeners[i].tls_key_file);
    }
    free(cfg->listeners);
    for (size_t i = 0; i < cfg->nvirtual_host_domains; i++)
        free(cfg->virtual_host_domains[i]);
    free(cfg->virtual_host_domains);
    for (size_t i = 0; i < cfg->nupstreams; i++) {
        free(cfg->upstreams[i].name);
        free(cfg->upstreams[i].endpoint);
        free(cfg->upstreams[i].region);
        free(cfg->upstreams[i].ca_file);
    }
    free(cfg->upstreams);
    free(cfg->admin.address);
    for (size_t k = 0; k < cfg->ncredential_sets; k++) {
        struct config_credentials *cr = &cfg->credential_sets[k];
        free(cr->name);
        for (size_t i = 0; i < cr->nchain; i++)
            free_provider(&cr->chain[i]);
        free(cr->chain);
        free(cr->assume_role.role_arn);
        free(cr->assume_role.external_id);
        free(cr->assume_role.session_name);
        free(cr->assume_role.sts_endpoint);
        free(cr->assume_role.region);
    }
    free(cfg->credential_sets);
    for (size_t i = 0; i < cfg->naccounts; i++) {
        free(cfg->accounts[i].id);
        free(cfg->accounts[i].name);
        free(cfg->accounts[i].root_arn);
        for (size_t k = 0; k < cfg->accounts[i].nkeys; k++)
            free_key(&cfg->accounts[i].keys[k]);
        free(cfg->accounts[i].keys);
    }
    free(cfg->accounts);
    for (size_t i = 0; i < cfg->nusers; i++) {
        struct config_user *u = &cfg->users[i];
        free(u->account);
        free(u->name);
        free(u->path);
        free(u->unique_id);
        free(u->arn);
        for (size_t k = 0; k < u->nkeys; k++)
            free_key(&u->keys[k]);
        free(u->keys);
        free_tags(u->tags, u->ntags);
        free_policies(u->policies, u->npolicies);
        free(u->policy_ptrs);
        policy_free(u->boundary);
    }
    free(cfg->users);
    for (size_t i = 0; i < cfg->nroles; i++) {
        struct config_role *r = &cfg->roles[i];
        free(r->account);
        free(r->name);
        free(r->path);
        free(r->unique_id);
        free(r->arn);
        policy_free(r->trust_policy);
        free_policies(r->policies, r->npolicies);
        free(r->policy_ptrs);
        policy_free(r->boundary);
        free_tags(r->tags, r->ntags);
    }
    free(cfg->roles);
    for (size_t i = 0; i < cfg->nrole_sessions; i++) {
        struct config_role_session *s = &cfg->role_sessions[i];
        free_key(&s->key);
        free(s->session_name);
        free(s->source_identity);
        free(s->arn);
        free(s->userid);
        policy_free(s->session_policy);
    }
    free(cfg->role_sessions);
    for (size_t i = 0; i < cfg->noidc_providers; i++) {
        struct config_oidc_provider *o = &cfg->oidc_providers[i];
        free(o->account);
        free(o->url);
        free(o->host_path);
        free(o->arn);
        for (size_t k = 0; k < o->nclient_ids; k++)
            free(o->client_ids[k]);
        free(o->client_ids);
        free(o->audiences);
        if (o->pinned)
            jwks_cleanup(o->pinned);
        free(o->pinned);
        free(o->ca_file);
    }
    free(cfg->oidc_providers);
    for (size_t i = 0; i < cfg->nbuckets; i++) {
        free(cfg->buckets[i].name);
        free(cfg->buckets[i].account);
        free(cfg->buckets[i].upstream_name);
        policy_free(cfg->buckets[i].policy);
        free(cfg->buckets[i].policy_json);
        config_cors_free(cfg->buckets[i].cors);
    }
    free(cfg->buckets);
    free_policies(cfg->guardrails, cfg->nguardrails);
    free(cfg->guardrail_ptrs);
    free(cfg->audit.path);
    free(cfg->audit.region);
    free(cfg->audit.account_id);
    for (size_t i = 0; i < cfg->audit.nsinks; i++) {
        free(cfg->audit.sinks[i].spool_dir);
        free(cfg->audit.sinks[i].address);
        free(cfg->audit.sinks[i].ca_file);
        free(cfg->audit.sinks[i].server_name);
        free(cfg->audit.sinks[i].bucket);
        free(cfg->audit.sinks[i].prefix);
        free(cfg->audit.sinks[i].account_id);
        free(cfg->audit.sinks[i].expected_bucket_owner);
        free(cfg->audit.sinks[i].region);
    }
    free(cfg->audit.sinks);
    for (size_t i = 0; i < cfg->sts.nkeys; i++)
        free(cfg->sts.keys[i].id);
    /* the whole struct, STS keys included, is wiped before it is released */
    s3w_wipe(cfg, sizeof *cfg);
    free(cfg);
}

struct config *config_ref(struct config *cfg)
{
    if (cfg)
        __atomic_fetch_add(&cfg->refs, 1, __ATOMIC_RELAXED);
    return cfg;
}

void config_unref(struct config *cfg)
{
    if (!cfg)
        return;
    /* acq_rel: the freeing thread must see every other thread's last reads
     * finished (the classic shared_ptr ordering). */
    if (__atomic_fetch_sub(&cfg->refs, 1, __ATOMIC_ACQ_REL) == 1)
        config_free(cfg);
}

const struct config_oidc_provider *config_find_oidc_provider(const struct config *cfg,
                                                             struct s3w_slice account,
                                                             struct s3w_slice issuer)
{
    for (size_t i = 0; i < cfg->noidc_providers; i++) {
        const struct config_oidc_provider *o = &cfg->oidc_providers[i];
        if (s3w_slice_eq_cstr(account, o->account) && s3w_slice_eq_cstr(issuer, o->url))
            return o;
    }
    return NULL;
}

bool config_valid_iam_name(const char *s, size_t min, size_t max)
{
    size_t n = strlen(s);
    if (n < min || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c >= '0' && c <= '9') || c == '_' || c == '+' || c == '=' ||
                  c == ',' || c == '.' || c == '@' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

bool config_upstream_takes(const struct config_upstream *u, const struct s3map_op *op)
{
    if (!u->ops_limited)
        return true;
    /* an operation outside the table (a copy of an entry: PostObject's
     * PutObject) is found by its name */
    uintptr_t at = (uintptr_t)op, first = (uintptr_t)s3map_ops_table;
    if (at < first || at >= first + s3map_ops_count * sizeof(*op) || (at - first) % sizeof(*op))
        op = s3map_op_by_name(s3w_slice_cstr(op->name));
    if (!op)
        return false;
    size_t i = (size_t)(op - s3map_ops_table);
    return i < s3map_ops_count && (u->ops[i / 64] >> (i % 64) & 1);
}
