/* ident_limit.c - per-identity counts of upstream exchanges (see
 * ident_limit.h). */
#include "ident_limit.h"

#include <stdatomic.h>
#include <stdlib.h>

struct ident_slot {
    _Atomic uint64_t key;   /* 0 = free */
    _Atomic uint32_t count;
};

struct ident_limit {
    size_t mask;
    struct ident_slot *slots;
};

struct ident_limit *ident_limit_new(size_t slots)
{
    size_t n = 16;
    while (n < slots)
        n <<= 1;
    struct ident_limit *l = malloc(sizeof(*l));
    if (!l)
        return NULL;
    l->slots = calloc(n, sizeof(*l->slots));
    if (!l->slots) {
        free(l);
        return NULL;
    }
    l->mask = n - 1;
    return l;
}

void ident_limit_free(struct ident_limit *l)
{
    if (!l)
        return;
    free(l->slots);
    free(l);
}

/* FNV-1a, 64 bits: the keys are ARNs from the config, not chosen by
 * callers, so a keyed hash buys nothing here. 0 marks a free slot. */
static uint64_t key_hash(struct s3w_slice k)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < k.len; i++) {
        h ^= (unsigned char)k.ptr[i];
        h *= 0x100000001b3ULL;
    }
    return h ? h : 1;
}

/* The slot of `h`, claiming a free one when `claim`; -1 if none. */
static long find_slot(struct ident_limit *l, uint64_t h, int claim)
{
    size_t i = (size_t)h & l->mask;
    for (size_t probes = 0; probes <= l->mask; probes++, i = (i + 1) & l->mask) {
        uint64_t cur = atomic_load_explicit(&l->slots[i].key, memory_order_acquire);
        if (cur == h)
            return (long)i;
        if (cur == 0) {
            if (!claim)
                return -1;
            uint64_t expect = 0;
            if (atomic_compare_exchange_strong(&l->slots[i].key, &expect, h) || expect == h)
                return (long)i;
        }
    }
    return -1;
}

int ident_limit_acquire(struct ident_limit *l, struct s3w_slice key, uint32_t max)
{
    long i = find_slot(l, key_hash(key), 1);
    if (i < 0)
        return IDENT_LIMIT_UNTRACKED;
    _Atomic uint32_t *c = &l->slots[i].count;
    uint32_t cur = atomic_load_explicit(c, memory_order_relaxed);
    do {
        if (cur >= max)
            return IDENT_LIMIT_FULL;
    } while (!atomic_compare_exchange_weak_explicit(c, &cur, cur + 1, memory_order_relaxed,
                                                    memory_order_relaxed));
    return (int)i;
}

void ident_limit_release(struct ident_limit *l, int slot)
{
    if (slot >= 0)
        atomic_fetch_sub_explicit(&l->slots[slot].count, 1, memory_order_relaxed);
}

uint32_t ident_limit_held(struct ident_limit *l, struct s3w_slice key)
{
    long i = find_slot(l, key_hash(key), 0);
    return i < 0 ? 0 : atomic_load_explicit(&l->slots[i].count, memory_order_relaxed);
}
