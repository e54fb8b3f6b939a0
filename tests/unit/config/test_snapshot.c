/* Snapshot lifetime under concurrency: reader threads take and drop
 * references while the main thread swaps the current snapshot (what SIGHUP
 * reload does). Every snapshot is freed exactly once, after its last
 * reader; under ASan a premature free or a leak fails the test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

static const char json[] =
    "{\"listeners\":[{\"address\":\"127.0.0.1\",\"port\":1}],"
    "\"upstream\":{\"endpoint\":\"http://127.0.0.1:2\",\"region\":\"us-east-1\"},"
    "\"accounts\":[{\"id\":\"111111111111\"}],"
    "\"buckets\":[{\"name\":\"b-one\",\"account\":\"111111111111\"}]}";

static struct config *current;
static pthread_mutex_t cur_lock = PTHREAD_MUTEX_INITIALIZER;
static int stop;

/* What a request does: take the current snapshot, use it, drop it. */
static void *reader(void *arg)
{
    long *lookups = arg;
    while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
        pthread_mutex_lock(&cur_lock);
        struct config *c = config_ref(current);
        pthread_mutex_unlock(&cur_lock);
        for (int i = 0; i < 50; i++)
            if (config_find_bucket(c, S3W_SLICE_LIT("b-one")))
                __atomic_fetch_add(lookups, 1, __ATOMIC_RELAXED);
        config_unref(c);
    }
    return NULL;
}

static struct config *load(void)
{
    struct config_errors errs;
    config_errors_init(&errs);
    struct config *c = NULL;
    assert_int_equal(config_load_buffer("s.json", json, sizeof json - 1, NULL, &c, &errs),
                     CONFIG_OK);
    config_errors_cleanup(&errs);
    return c;
}

static void test_swap_while_reading(void **state)
{
    (void)state;
    current = load();
    pthread_t th[4];
    long lookups[4] = { 0 };
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, reader, &lookups[i]), 0);
    /* at least 200 swaps, and until every reader has worked across swaps
     * (threads may start late on a loaded machine); bounded */
    for (int i = 0; i < 200000; i++) {
        bool all = true;
        for (int t = 0; t < 4; t++)
            all = all && __atomic_load_n(&lookups[t], __ATOMIC_RELAXED) >= 1000;
        if (i >= 200 && all)
            break;
        struct config *next = load();
        pthread_mutex_lock(&cur_lock);
        struct config *old = current;
        current = next;
        pthread_mutex_unlock(&cur_lock);
        config_unref(old); /* freed now or by its last reader */
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_int_equal(current->refs, 1); /* every reader dropped its reference */
    config_unref(current);
    for (int i = 0; i < 4; i++)
        assert_true(lookups[i] > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_swap_while_reading),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
