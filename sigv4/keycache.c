/*
 * keycache.c - per-worker signing-key cache keyed by (secret, date, region,
 * service). A signing key is good for one day, region and service, so a busy
 * client re-uses one key for every request of the day: with the cache, a
 * verification costs one SHA-256 of the canonical request plus one HMAC over
 * the string to sign instead of five HMACs - and that HMAC starts from the
 * key's cached ipad/opad states (sigv4_hmac_key), which saves two of its
 * SHA-256 blocks.
 *
 * Fixed size, linear scan, LRU eviction; no allocation ever. An entry keeps
 * the secret's tag (sigv4_secret_tag), not the secret: enough to tell a
 * rotated secret for the same key id apart, at one SHA-256 compression per
 * look-up, and no copy of a long-lived secret in every worker. The tag is
 * compared in constant time; scope parts are not secret and are compared
 * first. Evicted and cleaned-up entries are wiped, the HMAC states with the
 * key.
 */
#include "sigv4.h"

void sigv4_keycache_init(struct sigv4_keycache *c)
{
    memset(c, 0, sizeof *c);
}

void sigv4_keycache_cleanup(struct sigv4_keycache *c)
{
    s3w_wipe(c, sizeof *c);
}

static bool fits(struct s3w_slice s, size_t cap)
{
    return s.len <= cap && s.len <= 255;
}

/* The entry for the tuple, found or filled (LRU victim, wiped first), its
 * key in out[32]; NULL for a tuple too long to cache, whose key is derived
 * into out[32] and kept nowhere. */
static struct sigv4_keycache_entry *entry_for(struct sigv4_keycache *c, struct s3w_slice secret,
                                              struct s3w_slice date, struct s3w_slice region,
                                              struct s3w_slice service, uint8_t out[32])
{
    struct sigv4_keycache_entry *victim = NULL;

    if (date.len != 8 || !fits(region, sizeof c->e[0].region) ||
        !fits(service, sizeof c->e[0].service)) {
        c->misses++;
        sigv4_signing_key(secret, date, region, service, out);
        return NULL;
    }
    uint8_t tag[32];
    sigv4_secret_tag(secret, tag);
    c->tick++;
    for (size_t i = 0; i < SIGV4_KEYCACHE_SLOTS; i++) {
        struct sigv4_keycache_entry *e = &c->e[i];
        if (!e->used) {
            if (!victim || victim->used)
                victim = e;
            continue;
        }
        if (e->region_len == region.len && e->service_len == service.len &&
            memcmp(e->date, date.ptr, 8) == 0 &&
            memcmp(e->region, region.ptr, region.len) == 0 &&
            memcmp(e->service, service.ptr, service.len) == 0 &&
            s3w_ct_equal(e->secret_tag, 32, tag, 32)) {
            e->last_used = c->tick;
            c->hits++;
            memcpy(out, e->key, 32);
            s3w_wipe(tag, sizeof tag);
            return e;
        }
        if (!victim || (victim->used && e->last_used < victim->last_used))
            victim = e;
    }
    c->misses++;
    sigv4_signing_key(secret, date, region, service, out);
    s3w_wipe(victim, sizeof *victim);
    victim->used = true;
    memcpy(victim->secret_tag, tag, 32);
    s3w_wipe(tag, sizeof tag);
    victim->date_len = 8;
    victim->region_len = (uint8_t)region.len;
    victim->service_len = (uint8_t)service.len;
    memcpy(victim->date, date.ptr, 8);
    if (region.len)
        memcpy(victim->region, region.ptr, region.len);
    if (service.len)
        memcpy(victim->service, service.ptr, service.len);
    memcpy(victim->key, out, 32);
    /* the pad blocks, hashed once per key rather than once per signature */
    sigv4_hmac_key_init(&victim->hk, victim->key, 32);
    victim->last_used = c->tick;
    return victim;
}

void sigv4_keycache_get(struct sigv4_keycache *c, struct s3w_slice secret,
                        struct s3w_slice date, struct s3w_slice region,
                        struct s3w_slice service, uint8_t out[32])
{
    entry_for(c, secret, date, region, service, out);
}

void sigv4_keycache_sign(struct sigv4_keycache *c, struct s3w_slice secret,
                         struct s3w_slice date, struct s3w_slice region,
                         struct s3w_slice service,
                         struct s3w_slice string_to_sign, uint8_t key[32],
                         uint8_t sig[32])
{
    const struct sigv4_keycache_entry *e = entry_for(c, secret, date, region, service, key);
    if (e)
        sigv4_hmac_key_mac(&e->hk, string_to_sign.ptr, string_to_sign.len, sig);
    else
        sigv4_signature(key, string_to_sign, sig);
}
