/* A worker keeps the exchanges and read buffers of a burst for its next
 * requests, and lets them go once the burst is over (spares.h): with 48
 * requests in flight at once (more than SPARES_MIN) all 48 of each are
 * kept when they end - with 32 kept, a worker with more connections than
 * that in flight allocated and freed an exchange and a read buffer on most
 * requests - and two ticks of the spares timer later the worker holds
 * SPARES_MIN of each again, and its timer stops: an idle worker is not
 * woken to trim nothing.
 *
 * The requests are signed PUTs whose bodies never come: each holds its
 * exchange and its connection's buffers until the client closes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "conn_int.h"
#include "exchange.h"
#include "metrics.h"
#include "pipeline_rig.h"
#include "sockutil.h"
#include "spares.h"

#define AKID "AKIASPARESBURST00001"
#define SECRET "sparesBurstSecret/0123456789abcdefghijklm"
#define BURST 48

/* ---- the decay alone ------------------------------------------------------------- */
static void test_tick_frees_what_lay_unused(void **state)
{
    (void)state;
    struct spares_decay d = { 0 };
    /* the first interval (low 0, as a new worker starts): nothing */
    assert_int_equal(spares_tick(&d, 200), 0);
    /* 200 held all along: all but SPARES_MIN lay unused */
    assert_int_equal(spares_tick(&d, 200), 200 - SPARES_MIN);
    /* in use down to 50 left, back to 120: 50 lay unused, 18 of them go */
    d.low = 120;
    spares_taken(&d, 80);
    spares_taken(&d, 50);
    spares_taken(&d, 70); /* not a new low */
    assert_int_equal(spares_tick(&d, 120), 50 - SPARES_MIN);
    assert_int_equal(d.low, 120 - (50 - SPARES_MIN)); /* the next interval starts here */
    /* at or under SPARES_MIN: nothing */
    d.low = SPARES_MIN;
    assert_int_equal(spares_tick(&d, SPARES_MIN), 0);
    /* fewer held at the tick than the low (never: taken lowers it) reads as held */
    d.low = 100;
    assert_int_equal(spares_tick(&d, 40), 40 - SPARES_MIN);
}

/* ---- a burst through the pipeline ------------------------------------------------- */
static struct config *make_config(void)
{
    return rig_config(&(struct rig_cfg){ .akid = AKID, .secret = SECRET });
}

struct look {
    size_t busy;  /* connections with an exchange */
    size_t conns;
    size_t px;    /* spare exchanges */
    size_t bufs;  /* spare read buffers */
    uint64_t px_made, bufs_made; /* allocated rather than taken from the spares,
                                  * as /metrics says (worker_allocations) */
    bool timer;   /* the spares timer runs */
};

/* The spares timer parked: started with a deadline an hour away and a
 * callback that does nothing, so that no spare given back starts it
 * (proxy_worker_spares_grew starts only a timer that is not active) and
 * no tick comes but by hand, however late the test looks. A tick that
 * trims down to SPARES_MIN stops it. */
static void on_parked(uv_timer_t *t)
{
    (void)t;
}

static void park_timer(struct proxy_worker *w, void *arg)
{
    (void)arg;
    uv_timer_start(&w->spares_timer, on_parked, 3600 * 1000, 0);
}

static void unpark_timer(struct proxy_worker *w, void *arg)
{
    (void)arg;
    uv_timer_stop(&w->spares_timer);
}

static void look_at(struct proxy_worker *w, void *arg)
{
    struct look *l = arg;
    l->busy = l->conns = 0;
    for (const struct proxy_conn *c = w->conns; c; c = c->next) {
        l->conns++;
        l->busy += c->ex != NULL;
    }
    const struct pl_worker *pw = w->handler_state;
    l->px = pw->nspare_px;
    l->bufs = w->spare_bufs.n;
    l->timer = uv_is_active((const uv_handle_t *)&w->spares_timer);
}

static void look(struct look *l)
{
    rig_on_worker(look_at, l);
    l->px_made = rig_scrape("s3warden_worker_allocations_total{kind=\"exchange\"} ");
    l->bufs_made = rig_scrape("s3warden_worker_allocations_total{kind=\"read_buffer\"} ");
}

/* Looks until cond holds, and fails saying what did not come after 10 s;
 * the look that saw it. */
static struct look look_until(bool (*cond)(const struct look *), const char *what)
{
    struct look l;
    for (int i = 0; i < 500; i++) {
        look(&l);
        if (cond(&l))
            return l;
        usleep(20 * 1000);
    }
    fail_msg("not %s after 10 s: %zu of %zu connections busy, %zu spare exchanges, "
             "%zu spare read buffers",
             what, l.busy, l.conns, l.px, l.bufs);
    return l;
}

static bool all_busy(const struct look *l)
{
    return l->busy == BURST;
}

static bool all_gone(const struct look *l)
{
    return l->conns == 0;
}

static bool trimmed(const struct look *l)
{
    return l->px <= SPARES_MIN && l->bufs <= SPARES_MIN;
}

/* BURST requests in flight at once, then all of them ended; the look
 * once they are gone. */
static struct look burst(void)
{
    static char head[8192];
    static size_t len;
    if (!len) {
        struct rig_req r = { .akid = AKID, .secret = SECRET, .method = "PUT",
                             .target = "/bkt/burst", .body = "0123456789",
                             .framing = "Content-Length: 10\r\n", .wire_body = "" };
        len = rig_build(head, sizeof(head), &r);
    }
    int fd[BURST];
    for (int i = 0; i < BURST; i++) {
        fd[i] = su_connect(rig_port());
        assert_true(fd[i] >= 0);
        su_send(fd[i], head, len);
    }
    look_until(all_busy, "all requests in flight");
    for (int i = 0; i < BURST; i++)
        close(fd[i]);
    return look_until(all_gone, "all connections gone");
}

static void tick(struct proxy_worker *w, void *arg)
{
    (void)arg;
    proxy_worker_trim_spares(w);
}

/* Ticks by hand (the timer parked): spares taken since the last tick are
 * kept by the next, however many lie unused at that moment, and the
 * second burst allocates nothing; the tick after an interval without
 * requests frees down to SPARES_MIN. */
static void test_spares_in_use_stay(void **state)
{
    (void)state;
    rig_on_worker(park_timer, NULL);
    struct look l = burst();
    rig_on_worker(tick, NULL); /* the burst took what there was: nothing goes */
    look(&l);
    assert_int_equal(l.px, BURST);
    assert_int_equal(l.bufs, BURST);
    struct look l2 = burst();
    assert_int_equal(l2.px_made, l.px_made); /* all 48 from the spares */
    assert_int_equal(l2.bufs_made, l.bufs_made);
    rig_on_worker(tick, NULL); /* all 48 taken since the last tick: kept */
    look(&l);
    assert_int_equal(l.px, BURST);
    assert_int_equal(l.bufs, BURST);
    rig_on_worker(tick, NULL); /* none taken since: down to SPARES_MIN */
    look(&l);
    assert_int_equal(l.px, SPARES_MIN);
    assert_int_equal(l.bufs, SPARES_MIN);
    rig_on_worker(unpark_timer, NULL);
}

static void test_burst_kept_then_trimmed(void **state)
{
    (void)state;
    /* the timer parked: two ticks between the burst's end and the look (a
     * test thread descheduled for 2 s) would have trimmed them already */
    rig_on_worker(park_timer, NULL);
    struct look l = burst();
    /* every exchange and buffer of the burst kept */
    assert_int_equal(l.px, BURST);
    assert_int_equal(l.bufs, BURST);
    /* the worker had no spares: each of the 48 was allocated, and counted */
    assert_int_equal(l.px_made, BURST);
    assert_int_equal(l.bufs_made, BURST);
    /* the timer as the worker runs it: stopped, started by the next
     * burst's spares given back (more than SPARES_MIN), which it took
     * from the spares */
    rig_on_worker(unpark_timer, NULL);
    l = burst();
    assert_int_equal(l.px_made, BURST);
    assert_int_equal(l.bufs_made, BURST);
    /* unused for a whole interval: down to SPARES_MIN within two ticks (of
     * the timer those spares started: nothing else trims here), and the
     * timer stops with the tick that trimmed them */
    l = look_until(trimmed, "trimmed to SPARES_MIN");
    assert_int_equal(l.px, SPARES_MIN);
    assert_int_equal(l.bufs, SPARES_MIN);
    assert_false(l.timer);
    /* and stays stopped: nothing wakes an idle worker */
    usleep(SPARES_TICK_MS * 1000 + 200 * 1000);
    look(&l);
    assert_false(l.timer);
    assert_int_equal(l.px, SPARES_MIN);
}

int main(void)
{
    const struct CMUnitTest alone[] = {
        cmocka_unit_test(test_tick_frees_what_lay_unused),
    };
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_kept_then_trimmed),
        cmocka_unit_test(test_spares_in_use_stay),
    };
    int rc = cmocka_run_group_tests(alone, NULL, NULL);
    static const struct rig_opts opts = { .make_config = make_config, .metrics = true };
    return rc | rig_run_group(tests, &opts);
}
