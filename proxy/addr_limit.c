/* addr_limit.c - see addr_limit.h. */
#include "addr_limit.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>
#include <sys/random.h>

struct addr_entry {
    struct addr_key k;
    uint32_t n; /* 0: the slot is free */
};

struct addr_limit {
    pthread_mutex_t mu;
    uint32_t max;
    size_t mask;     /* slots - 1, slots a power of two */
    size_t used;
    uint64_t seed[2]; /* so that no one can choose addresses that collide */
    struct addr_entry *e;
};

struct addr_limit *addr_limit_new(size_t conns, uint32_t max)
{
    size_t slots = 64;
    while (slots < 2 * conns + 64) /* at most half full: short probes */
        slots *= 2;
    struct addr_limit *l = calloc(1, sizeof(*l));
    if (!l || !(l->e = calloc(slots, sizeof(*l->e)))) {
        free(l);
        return NULL;
    }
    pthread_mutex_init(&l->mu, NULL);
    l->max = max;
    l->mask = slots - 1;
    if (getrandom(l->seed, sizeof(l->seed), 0) != (ssize_t)sizeof(l->seed))
        l->seed[0] = (uint64_t)(uintptr_t)l, l->seed[1] = (uint64_t)(uintptr_t)l->e;
    return l;
}

void addr_limit_free(struct addr_limit *l)
{
    if (!l)
        return;
    pthread_mutex_destroy(&l->mu);
    free(l->e);
    free(l);
}

/* The key of sa's address; false for a family that is not counted. */
static bool key_of(const struct sockaddr *sa, struct addr_key *k)
{
    memset(k, 0, sizeof(*k));
    if (sa->sa_family == AF_INET) {
        k->b[0] = 4;
        memcpy(k->b + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return true;
    }
    if (sa->sa_family != AF_INET6)
        return false;
    const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(a)) {
        k->b[0] = 4;
        memcpy(k->b + 1, a->s6_addr + 12, 4);
    } else {
        k->b[0] = 6;
        memcpy(k->b + 1, a->s6_addr, 8); /* the /64 */
    }
    return true;
}

static uint64_t fmix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

static size_t home_of(const struct addr_limit *l, const struct addr_key *k)
{
    uint64_t a, b;
    memcpy(&a, k->b + 1, 8);
    b = k->b[0];
    return (size_t)(fmix64(a ^ l->seed[0]) ^ fmix64(b ^ l->seed[1])) & l->mask;
}

/* The slot holding k, or the free slot where it would go. */
static size_t find(const struct addr_limit *l, const struct addr_key *k)
{
    size_t i = home_of(l, k);
    while (l->e[i].n && memcmp(&l->e[i].k, k, sizeof(*k)) != 0)
        i = (i + 1) & l->mask;
    return i;
}

bool addr_limit_take(struct addr_limit *l, const struct sockaddr *sa, struct addr_key *key)
{
    if (!key_of(sa, key))
        return true;
    pthread_mutex_lock(&l->mu);
    size_t i = find(l, key);
    bool ok;
    if (l->e[i].n) {
        ok = l->e[i].n < l->max;
        l->e[i].n += ok;
    } else {
        ok = l->max > 0 && l->used < (l->mask + 1) / 2; /* never past half full */
        if (ok) {
            l->e[i].k = *key;
            l->e[i].n = 1;
            l->used++;
        }
    }
    pthread_mutex_unlock(&l->mu);
    return ok;
}

void addr_limit_give(struct addr_limit *l, const struct addr_key *key)
{
    if (!key->b[0])
        return;
    pthread_mutex_lock(&l->mu);
    size_t i = find(l, key);
    if (l->e[i].n && --l->e[i].n == 0) {
        /* backward-shift deletion: move up every later entry of the run
         * whose home does not lie between the hole and it, so no probe
         * for them stops early at the hole */
        l->used--;
        size_t hole = i, j = i;
        for (;;) {
            j = (j + 1) & l->mask;
            if (!l->e[j].n)
                break;
            size_t home = home_of(l, &l->e[j].k);
            bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
            if (stays)
                continue;
            l->e[hole] = l->e[j];
            hole = j;
        }
        l->e[hole].n = 0;
    }
    pthread_mutex_unlock(&l->mu);
}

uint32_t addr_limit_held(struct addr_limit *l, const struct sockaddr *sa)
{
    struct addr_key k;
    if (!key_of(sa, &k))
        return 0;
    pthread_mutex_lock(&l->mu);
    uint32_t n = l->e[find(l, &k)].n;
    pthread_mutex_unlock(&l->mu);
    return n;
}
