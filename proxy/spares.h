/*
 * spares.h - how many spare objects a worker keeps for its next requests
 * (ended exchanges, connections' read buffers): up to SPARES_MAX while it
 * is busy, so that many requests in flight at once (a few hundred
 * connections per worker) take and give back spares rather than malloc
 * and free 60-100 KiB each per request; back down to SPARES_MIN once the
 * burst is over, so that memory a burst took does not stay with an idle
 * worker. Each second (spares_tick, the worker's spares timer) the spares
 * that lay unused for the whole second, the fewest held at any moment of
 * it, are freed down to SPARES_MIN: a pool in steady use keeps what it
 * uses; one left over from a burst goes within two seconds. The timer
 * runs only while more than SPARES_MIN of either kind are held
 * (proxy_worker_spares_grew): an idle worker is not woken.
 */
#ifndef S3W_PROXY_SPARES_H
#define S3W_PROXY_SPARES_H

#include <stddef.h>

#define SPARES_MIN 32     /* kept however long they lie unused */
#define SPARES_MAX 256    /* kept at most */
#define SPARES_TICK_MS 1000

struct spares_decay {
    size_t low; /* the fewest spares held since the last tick */
};

/* After a spare was taken: n spares are left. */
static inline void spares_taken(struct spares_decay *d, size_t n)
{
    if (n < d->low)
        d->low = n;
}

/* At the tick, with n spares held: how many of them to free now (the
 * caller frees that many, its least recently used first). Starts the next
 * interval. */
static inline size_t spares_tick(struct spares_decay *d, size_t n)
{
    size_t idle = d->low < n ? d->low : n;
    size_t excess = idle > SPARES_MIN ? idle - SPARES_MIN : 0;
    d->low = n - excess;
    return excess;
}

#endif
