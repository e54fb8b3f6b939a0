/*
 * oidc_schedule.c - when a provider's signing keys are fetched again
 * (contract in oidc_schedule.h).
 */
#include "oidc_schedule.h"

enum oidc_kid_step oidc_schedule_kid_unknown(struct oidc_schedule *s, int64_t now_ms)
{
    if (s->poke || s->busy || s->kid_due)
        return OIDC_KID_COMING;
    int64_t window_end = s->last_end_ms + OIDC_KID_REFETCH_MS;
    if (now_ms >= window_end) {
        s->poke = true;
        return OIDC_KID_FETCH_NOW;
    }
    if (s->by_kid)
        return OIDC_KID_UNKNOWN;
    if (window_end < s->due_ms)
        s->due_ms = window_end;
    s->kid_due = true;
    return OIDC_KID_FETCH_LATER;
}

bool oidc_schedule_due(const struct oidc_schedule *s, int64_t now_ms)
{
    return s->poke || s->due_ms <= now_ms;
}

void oidc_schedule_begin(struct oidc_schedule *s)
{
    s->busy = true;
    s->by_kid = s->poke || s->kid_due;
    s->poke = false;
    s->kid_due = false;
}

void oidc_schedule_end(struct oidc_schedule *s, int64_t now_ms, int64_t next_in_ms)
{
    s->busy = false;
    s->last_end_ms = now_ms;
    s->due_ms = now_ms + next_in_ms;
}
