/* When an OIDC provider's keys are fetched again for a token whose kid the
 * cached set lacks (oidc_schedule.h), walked through time without the
 * fetch thread: at most one fetch for kids per OIDC_KID_REFETCH_MS; a
 * token that comes while a fetch is in flight or asked for is told to
 * retry; inside the window of a fetch made for a kid, an unknown kid is
 * refused; inside the window of the scheduled fetch, it gets a fetch when
 * the window ends (a key rotated in just after the scheduled fetch).
 * test_oidc.py drives the same rule through s3warden and a real issuer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "oidc_schedule.h"

#define W OIDC_KID_REFETCH_MS
#define T0 1000000 /* the monotonic clock reads hours since boot */
#define HOUR 3600000

/* A fetch made now that succeeds at once, the next scheduled in an hour. */
static void fetch(struct oidc_schedule *s, int64_t now)
{
    assert_true(oidc_schedule_due(s, now));
    oidc_schedule_begin(s);
    oidc_schedule_end(s, now, HOUR);
}

static void test_first_fetch_is_due_at_once(void **state)
{
    (void)state;
    struct oidc_schedule s = { 0 }; /* a provider just added */
    assert_true(oidc_schedule_due(&s, T0));
    /* a token before the first fetch: one is coming */
    oidc_schedule_begin(&s);
    assert_int_equal(oidc_schedule_kid_unknown(&s, T0), OIDC_KID_COMING);
    oidc_schedule_end(&s, T0 + 10, HOUR);
    assert_false(s.by_kid);
    assert_false(oidc_schedule_due(&s, T0 + 10));
    assert_false(oidc_schedule_due(&s, T0 + 10 + HOUR - 1));
    assert_true(oidc_schedule_due(&s, T0 + 10 + HOUR));
}

static void test_kid_after_the_window_fetches_now(void **state)
{
    (void)state;
    struct oidc_schedule s = { 0 };
    fetch(&s, T0);
    assert_int_equal(oidc_schedule_kid_unknown(&s, T0 + W), OIDC_KID_FETCH_NOW);
    assert_true(s.poke);
    assert_true(oidc_schedule_due(&s, T0 + W));
    /* a second token before the thread starts it, and while it runs */
    assert_int_equal(oidc_schedule_kid_unknown(&s, T0 + W), OIDC_KID_COMING);
    oidc_schedule_begin(&s);
    assert_true(s.by_kid);
    assert_false(s.poke);
    assert_int_equal(oidc_schedule_kid_unknown(&s, T0 + W + 1), OIDC_KID_COMING);
    oidc_schedule_end(&s, T0 + W + 100, HOUR);
    /* that fetch was for a kid: a kid still unknown is refused for W, and
     * nothing is scheduled for it */
    assert_int_equal(oidc_schedule_kid_unknown(&s, T0 + W + 100), OIDC_KID_UNKNOWN);
    assert_int_equal(oidc_schedule_kid_unknown(&s, T0 + 2 * W + 99), OIDC_KID_UNKNOWN);
    assert_false(s.poke);
    assert_false(s.kid_due);
    assert_int_equal(s.due_ms, T0 + W + 100 + HOUR);
    /* then one more fetch, no sooner */
    assert_int_equal(oidc_schedule_kid_unknown(&s, T0 + 2 * W + 100), OIDC_KID_FETCH_NOW);
}

static void test_kid_right_after_the_scheduled_fetch_waits_for_the_window(void **state)
{
    (void)state;
    struct oidc_schedule s = { 0 };
    fetch(&s, T0);
    /* rotated in 1 s after the scheduled fetch: not refused, not fetched
     * at once, but when the window ends */
    assert_int_equal(oidc_schedule_kid_unknown(&s, T0 + 1000), OIDC_KID_FETCH_LATER);
    assert_true(s.kid_due);
    assert_false(s.poke);
    assert_int_equal(s.due_ms, T0 + W);
    assert_false(oidc_schedule_due(&s, T0 + W - 1));
    /* more tokens meanwhile: retry, the fetch stays where it is */
    assert_int_equal(oidc_schedule_kid_unknown(&s, T0 + 2000), OIDC_KID_COMING);
    assert_int_equal(s.due_ms, T0 + W);
    assert_true(oidc_schedule_due(&s, T0 + W));
    oidc_schedule_begin(&s);
    assert_true(s.by_kid);
    assert_false(s.kid_due);
    oidc_schedule_end(&s, T0 + W + 50, HOUR);
    /* it was for a kid: the next unknown kid inside its window is refused */
    assert_int_equal(oidc_schedule_kid_unknown(&s, T0 + W + 60), OIDC_KID_UNKNOWN);
    assert_int_equal(oidc_schedule_kid_unknown(&s, T0 + 2 * W + 50), OIDC_KID_FETCH_NOW);
}

static void test_an_earlier_scheduled_fetch_is_kept(void **state)
{
    (void)state;
    struct oidc_schedule s = { 0 };
    oidc_schedule_begin(&s);
    oidc_schedule_end(&s, T0, 2000); /* a failure: backoff of 2 s */
    assert_int_equal(oidc_schedule_kid_unknown(&s, T0 + 500), OIDC_KID_FETCH_LATER);
    assert_int_equal(s.due_ms, T0 + 2000); /* not moved to T0 + W */
    assert_true(oidc_schedule_due(&s, T0 + 2000));
}

static void test_a_retried_failure_for_a_kid_stays_a_kid_fetch(void **state)
{
    (void)state;
    struct oidc_schedule s = { 0 };
    fetch(&s, T0);
    assert_int_equal(oidc_schedule_kid_unknown(&s, T0 + W), OIDC_KID_FETCH_NOW);
    oidc_schedule_begin(&s);
    oidc_schedule_end(&s, T0 + W + 10, 2000); /* the issuer is down */
    /* the window counts from the failed attempt too */
    assert_int_equal(oidc_schedule_kid_unknown(&s, T0 + W + 1000), OIDC_KID_UNKNOWN);
    assert_true(oidc_schedule_due(&s, T0 + W + 2010)); /* the backoff's retry */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_fetch_is_due_at_once),
        cmocka_unit_test(test_kid_after_the_window_fetches_now),
        cmocka_unit_test(test_kid_right_after_the_scheduled_fetch_waits_for_the_window),
        cmocka_unit_test(test_an_earlier_scheduled_fetch_is_kept),
        cmocka_unit_test(test_a_retried_failure_for_a_kid_stays_a_kid_fetch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
