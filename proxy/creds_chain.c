/*
 * creds_chain.c - the credentials chain the manager fetches from: the
 * config's providers and assume_role deep-copied (so a reload may free the
 * config), the manager's knobs, and the environment read once at creation
 * (the refresh thread never calls getenv, so a setenv elsewhere cannot race
 * it). A chain is immutable and reference counted: the refresh thread keeps
 * the one it fetches with while a reload installs the next. Strings are
 * wiped when the last reference goes (some are secrets) and compared in
 * constant time on reload.
 *
 * cf_fetch_chain walks it: providers in order, the first that yields wins
 * (as the SDKs' default chain: any failure moves on), then assume_role on
 * top of what it yielded.
 */
#include "creds_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_TIMEOUT_MS 5000u
#define DEFAULT_CONNECT_TIMEOUT_MS 1000u

static void free_str(char **s)
{
    if (*s) {
        s3w_wipe(*s, strlen(*s)); /* cheap, and some of these are secrets */
        free(*s);
        *s = NULL;
    }
}

void cf_chain_unref(struct chain *c)
{
    if (!c || atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    for (size_t i = 0; i < c->n; i++) {
        struct prov *p = &c->p[i];
        char **f[] = { &p->access_key_id, &p->secret, &p->session_token, &p->profile,
                       &p->credentials_file, &p->config_file, &p->endpoint,
                       &p->authorization_token_file, &p->token_file, &p->role_arn,
                       &p->session_name, &p->sts_endpoint };
        for (size_t k = 0; k < sizeof f / sizeof f[0]; k++)
            free_str(f[k]);
    }
    free(c->p);
    free_str(&c->ar_role_arn);
    free_str(&c->ar_external_id);
    free_str(&c->ar_session_name);
    free_str(&c->ar_sts_endpoint);
    free_str(&c->ar_region);
    free_str(&c->region);
    for (int i = 0; i < E_N; i++)
        free_str(&c->env[i]);
    free(c);
}

static bool dup_to(char **dst, const char *src)
{
    *dst = NULL;
    if (!src)
        return true;
    *dst = strdup(src);
    return *dst != NULL;
}

static const char *sys_getenv(void *ud, const char *name)
{
    (void)ud;
    return getenv(name);
}

struct chain *cf_chain_new(const struct config_credentials *cc,
                           const struct creds_mgr_opts *o)
{
    struct chain *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    atomic_init(&c->refs, 1);
    bool ok = true;
    c->p = calloc(cc->nchain ? cc->nchain : 1, sizeof *c->p);
    ok = c->p != NULL;
    for (size_t i = 0; ok && i < cc->nchain; i++) {
        const struct config_cred_provider *s = &cc->chain[i];
        struct prov *d = &c->p[i];
        c->n = i + 1;
        d->source = s->source;
        ok = dup_to(&d->access_key_id, s->access_key_id) &&
             dup_to(&d->secret, s->secret_access_key) &&
             dup_to(&d->session_token, s->session_token) && dup_to(&d->profile, s->profile) &&
             dup_to(&d->credentials_file, s->credentials_file) &&
             dup_to(&d->config_file, s->config_file) && dup_to(&d->endpoint, s->endpoint) &&
             dup_to(&d->authorization_token_file, s->authorization_token_file) &&
             dup_to(&d->token_file, s->token_file) && dup_to(&d->role_arn, s->role_arn) &&
             dup_to(&d->session_name, s->session_name) &&
             dup_to(&d->sts_endpoint, s->sts_endpoint);
    }
    const struct config_assume_role *ar = &cc->assume_role;
    c->ar_enabled = ar->enabled;
    c->ar_duration = ar->duration_seconds;
    ok = ok && dup_to(&c->ar_role_arn, ar->role_arn) &&
         dup_to(&c->ar_external_id, ar->external_id) &&
         dup_to(&c->ar_session_name, ar->session_name) &&
         dup_to(&c->ar_sts_endpoint, ar->sts_endpoint) && dup_to(&c->ar_region, ar->region) &&
         dup_to(&c->region, o && o->region && *o->region ? o->region : "us-east-1");
    c->refresh_before = o && o->refresh_before_s ? o->refresh_before_s : cc->refresh_before_seconds;
    c->retry_max_ms = o ? o->retry_max_ms : 0;
    c->timeout_ms = o && o->timeout_ms ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
    c->connect_timeout_ms =
        o && o->connect_timeout_ms ? o->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
    creds_getenv_fn get = o && o->getenv ? o->getenv : sys_getenv;
    void *ud = o && o->getenv ? o->getenv_ud : NULL;
    for (int i = 0; ok && i < E_N; i++) {
        const char *v = get(ud, cf_env_names[i]);
        ok = dup_to(&c->env[i], v && *v ? v : NULL);
    }
    if (!ok) {
        cf_chain_unref(c);
        return NULL;
    }
    return c;
}

static bool str_same(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return s3w_ct_equal(a, strlen(a), b, strlen(b)); /* some are secrets */
}

/* Same configuration (the environment is the process's: not compared). */
bool cf_chain_same(const struct chain *a, const struct chain *b)
{
    if (a->n != b->n || a->ar_enabled != b->ar_enabled || a->ar_duration != b->ar_duration ||
        a->refresh_before != b->refresh_before || a->retry_max_ms != b->retry_max_ms ||
        a->timeout_ms != b->timeout_ms || a->connect_timeout_ms != b->connect_timeout_ms ||
        !str_same(a->ar_role_arn, b->ar_role_arn) ||
        !str_same(a->ar_external_id, b->ar_external_id) ||
        !str_same(a->ar_session_name, b->ar_session_name) ||
        !str_same(a->ar_sts_endpoint, b->ar_sts_endpoint) ||
        !str_same(a->ar_region, b->ar_region) || !str_same(a->region, b->region))
        return false;
    for (size_t i = 0; i < a->n; i++) {
        const struct prov *x = &a->p[i], *y = &b->p[i];
        if (x->source != y->source || !str_same(x->access_key_id, y->access_key_id) ||
            !str_same(x->secret, y->secret) || !str_same(x->session_token, y->session_token) ||
            !str_same(x->profile, y->profile) ||
            !str_same(x->credentials_file, y->credentials_file) ||
            !str_same(x->config_file, y->config_file) || !str_same(x->endpoint, y->endpoint) ||
            !str_same(x->authorization_token_file, y->authorization_token_file) ||
            !str_same(x->token_file, y->token_file) || !str_same(x->role_arn, y->role_arn) ||
            !str_same(x->session_name, y->session_name) ||
            !str_same(x->sts_endpoint, y->sts_endpoint))
            return false;
    }
    return true;
}

/* Walks the chain (first provider that yields wins, as the SDKs' default
 * chain: any failure moves on to the next one), then assume_role on top.
 * `reason` collects every provider's failure ("imds: ...; ecs: ..."). */
int cf_fetch_chain(struct fetch *f, struct creds *out, char *label, size_t lcap,
                   char *reason, size_t rcap)
{
    const struct chain *ch = f->ch;
    size_t rl = 0;
    reason[0] = '\0';
    int rc = CREDS_E_ABSENT;
    struct creds_error err;
    char lb[64] = "";
    for (size_t i = 0; i < ch->n && !atomic_load(f->stop); i++) {
        err.message[0] = '\0';
        rc = cf_provider_fetch(f, &ch->p[i], lb, sizeof lb, out, &err);
        if (rc == CREDS_OK)
            break;
        creds_wipe(out);
        int n = snprintf(reason + rl, rcap - rl, "%s%s: %s", rl ? "; " : "", lb, err.message);
        if (n > 0)
            rl = (size_t)n >= rcap - rl ? rcap - 1 : rl + (size_t)n;
    }
    if (rc != CREDS_OK) {
        if (!reason[0])
            snprintf(reason, rcap, "the credentials chain is empty");
        return rc;
    }
    snprintf(label, lcap, "%s", lb);
    if (ch->ar_enabled) {
        struct creds base = *out;
        creds_wipe(out);
        err.message[0] = '\0';
        rc = cf_assume_role(f, &base, ch->ar_role_arn, ch->ar_session_name, ch->ar_external_id,
                            ch->ar_duration, ch->ar_sts_endpoint,
                            ch->ar_region ? ch->ar_region : ch->region, out, &err);
        creds_wipe(&base);
        if (rc != CREDS_OK) {
            snprintf(reason, rcap, "%s (base credentials from %s)", err.message, lb);
            return rc;
        }
        snprintf(label, lcap, "assume_role(%s)", lb);
    }
    return CREDS_OK;
}
