/*
 * index.c - the snapshot's lookup tables: access key id -> key owner,
 * bucket name -> bucket, role ARN -> role, account id -> account.
 *
 * Open addressing with linear probing, load factor <= 1/2, built once at load
 * time and read-only afterwards, so lookups on the request path take no lock
 * and allocate nothing. Keys come from the (trusted) config; lookups use
 * attacker-chosen strings, but an attacker cannot insert, so probe lengths
 * stay bounded by the table the operator wrote.
 */
#include "index.h"

#include <stdlib.h>
#include <string.h>

#include "load_internal.h"

static uint64_t hash_bytes(const char *p, size_t n)
{
    /* FNV-1a 64 */
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

struct slot {
    const char *key; /* NULL = empty */
    size_t keylen;
    const void *val;
    const void *owner; /* access keys: the user or role session */
    int kind;
};

struct table {
    struct slot *slots;
    size_t mask; /* capacity - 1 (power of two) */
};

struct config_index {
    struct table keys;
    struct table buckets;
    /* by upstream_name, owner = the upstream (unique per upstream: load.c;
     * one name may be on two upstreams) */
    struct table upstream_buckets;
    struct table roles;
    struct table accounts;
};

static int table_init(struct table *t, size_t n)
{
    size_t cap = 8;
    while (cap < 2 * n + 2)
        cap <<= 1;
    t->slots = calloc(cap, sizeof *t->slots);
    if (!t->slots)
        return CONFIG_E_NOMEM;
    t->mask = cap - 1;
    return CONFIG_OK;
}

/* by_owner: a key is unique per owner, not in the whole table */
static void table_put_as(struct table *t, const char *key, const void *val,
                         const void *owner, int kind, bool by_owner)
{
    size_t len = strlen(key);
    size_t i = (size_t)hash_bytes(key, len) & t->mask;
    while (t->slots[i].key) {
        if (t->slots[i].keylen == len && memcmp(t->slots[i].key, key, len) == 0 &&
            (!by_owner || t->slots[i].owner == owner))
            return; /* first one wins; the loader already refused duplicates */
        i = (i + 1) & t->mask;
    }
    t->slots[i] = (struct slot){ key, len, val, owner, kind };
}

static void table_put(struct table *t, const char *key, const void *val,
                      const void *owner, int kind)
{
    table_put_as(t, key, val, owner, kind, false);
}

static const struct slot *table_get_as(const struct table *t, struct s3w_slice k,
                                       const void *owner, bool by_owner)
{
    if (!t->slots || (k.len && !k.ptr))
        return NULL;
    size_t i = (size_t)hash_bytes(k.ptr, k.len) & t->mask;
    while (t->slots[i].key) {
        if (t->slots[i].keylen == k.len && memcmp(t->slots[i].key, k.ptr, k.len) == 0 &&
            (!by_owner || t->slots[i].owner == owner))
            return &t->slots[i];
        i = (i + 1) & t->mask;
    }
    return NULL;
}

static const struct slot *table_get(const struct table *t, struct s3w_slice k)
{
    return table_get_as(t, k, NULL, false);
}

int config_index_build(struct config *cfg)
{
    struct config_index *ix = calloc(1, sizeof *ix);
    if (!ix)
        return CONFIG_E_NOMEM;
    cfg->index = ix;
    size_t nkeys = cfg->nrole_sessions;
    for (size_t i = 0; i < cfg->naccounts; i++)
        nkeys += cfg->accounts[i].nkeys;
    for (size_t i = 0; i < cfg->nusers; i++)
        nkeys += cfg->users[i].nkeys;
    if (table_init(&ix->keys, nkeys) || table_init(&ix->buckets, cfg->nbuckets) ||
        table_init(&ix->upstream_buckets, cfg->nbuckets) ||
        table_init(&ix->roles, cfg->nroles) || table_init(&ix->accounts, cfg->naccounts))
        return CONFIG_E_NOMEM;
    for (size_t i = 0; i < cfg->nusers; i++)
        for (size_t k = 0; k < cfg->users[i].nkeys; k++)
            table_put(&ix->keys, cfg->users[i].keys[k].id, &cfg->users[i].keys[k],
                      &cfg->users[i], CONFIG_KEY_USER);
    for (size_t i = 0; i < cfg->naccounts; i++)
        for (size_t k = 0; k < cfg->accounts[i].nkeys; k++)
            table_put(&ix->keys, cfg->accounts[i].keys[k].id, &cfg->accounts[i].keys[k],
                      &cfg->accounts[i], CONFIG_KEY_ROOT);
    for (size_t i = 0; i < cfg->nrole_sessions; i++)
        table_put(&ix->keys, cfg->role_sessions[i].key.id, &cfg->role_sessions[i].key,
                  &cfg->role_sessions[i], CONFIG_KEY_ROLE_SESSION);
    for (size_t i = 0; i < cfg->nbuckets; i++) {
        table_put(&ix->buckets, cfg->buckets[i].name, &cfg->buckets[i], NULL, 0);
        table_put_as(&ix->upstream_buckets,
                     cfg->buckets[i].upstream_name ? cfg->buckets[i].upstream_name
                                                   : cfg->buckets[i].name,
                     &cfg->buckets[i], cfg->buckets[i].upstream, 0, true);
    }
    for (size_t i = 0; i < cfg->nroles; i++)
        table_put(&ix->roles, cfg->roles[i].arn, &cfg->roles[i], NULL, 0);
    for (size_t i = 0; i < cfg->naccounts; i++)
        table_put(&ix->accounts, cfg->accounts[i].id, &cfg->accounts[i], NULL, 0);
    return CONFIG_OK;
}

void config_index_free(struct config_index *ix)
{
    if (!ix)
        return;
    free(ix->keys.slots);
    free(ix->buckets.slots);
    free(ix->upstream_buckets.slots);
    free(ix->roles.slots);
    free(ix->accounts.slots);
    free(ix);
}

const struct config_access_key *config_index_find_key(const struct config *cfg,
                                                     struct s3w_slice id, int *kind,
                                                     const void **owner)
{
    const struct slot *s = cfg && cfg->index ? table_get(&cfg->index->keys, id) : NULL;
    if (!s)
        return NULL;
    *kind = s->kind;
    *owner = s->owner;
    return s->val;
}

const struct config_bucket *config_find_bucket(const struct config *cfg, struct s3w_slice name)
{
    const struct slot *s = cfg && cfg->index ? table_get(&cfg->index->buckets, name) : NULL;
    return s ? s->val : NULL;
}

const struct config_bucket *config_find_bucket_upstream(const struct config *cfg,
                                                        const struct config_upstream *up,
                                                        struct s3w_slice upstream_name)
{
    const struct slot *s = cfg && cfg->index
                               ? table_get_as(&cfg->index->upstream_buckets, upstream_name, up, true)
                               : NULL;
    return s ? s->val : NULL;
}

const struct config_upstream *config_find_upstream(const struct config *cfg,
                                                   struct s3w_slice name)
{
    for (size_t i = 0; cfg && i < cfg->nupstreams; i++)
        if (s3w_slice_eq_cstr(name, cfg->upstreams[i].name))
            return &cfg->upstreams[i];
    return NULL;
}

const struct config_role *config_find_role_arn(const struct config *cfg, struct s3w_slice arn)
{
    const struct slot *s = cfg && cfg->index ? table_get(&cfg->index->roles, arn) : NULL;
    return s ? s->val : NULL;
}

const struct config_account *config_find_account(const struct config *cfg, struct s3w_slice id)
{
    const struct slot *s = cfg && cfg->index ? table_get(&cfg->index->accounts, id) : NULL;
    return s ? s->val : NULL;
}
