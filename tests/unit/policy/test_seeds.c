/* test_seeds.c - every seed scenario (shared/seeds/) through the evaluator:
 * cases/seeds.json, at least 40 cases, named after the seed and section. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cases/runner.h"

static void test_seed_cases(void **state)
{
    (void)state;
    size_t n = 0;
    int failed = runner_run_file("seeds.json", &n);
    printf("seeds.json: %zu cases, %d failed\n", n, failed);
    assert_int_equal(failed, 0);
    assert_true(n >= 40);
}

int main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(test_seed_cases) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
