/* test_seeds.c - condition operators, variables, principal forms and policy types:
 * cases/conditions.json, at least 40 cases, named after the seed and section. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cases/runner.h"

static void test_condition_cases(void **state)
{
    (void)state;
    size_t n = 0;
    int failed = runner_run_file("conditions.json", &n);
    printf("conditions.json: %zu cases, %d failed\n", n, failed);
    assert_int_equal(failed, 0);
    assert_true(n >= 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(test_condition_cases) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
