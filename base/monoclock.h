/*
 * monoclock.h - time on CLOCK_MONOTONIC, for timeouts and back-offs that a
 * wall-clock step (NTP, an operator's `date -s`) must not stretch or cut:
 * the current time in milliseconds, and a condition-variable wait bounded
 * by it. Header-only: two small functions of the threads that fetch
 * credentials and signing keys, kept in one place rather than a copy each.
 */
#ifndef S3W_MONOCLOCK_H
#define S3W_MONOCLOCK_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* Milliseconds on CLOCK_MONOTONIC (from an unspecified start). */
static inline int64_t s3w_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits on cv (mu held, as pthread_cond_timedwait wants) for at most ms
 * milliseconds, ms >= 0. cv must have been made with a
 * pthread_condattr_setclock(CLOCK_MONOTONIC) attribute: the deadline is
 * on that clock. A wake-up may come early or spuriously; callers re-check
 * what they wait for. */
static inline void s3w_cond_wait_ms(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_cond_timedwait(cv, mu, &ts);
}

#endif
