/* test_conditions.c - condition operators, variables, principal forms and policy
 * types: cases/conditions.json, at least 100 cases, named after the seed and
 * section; Numeric operators in detail: cases/numeric.json; Resource case
 * folding beyond ASCII: cases/fold.json. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cases/runner.h"
#include "policy_int.h"

static void run_cases(const char *file, size_t min_cases)
{
    size_t n = 0;
    int failed = runner_run_file(file, &n);
    printf("%s: %zu cases, %d failed\n", file, n, failed);
    assert_int_equal(failed, 0);
    assert_true(n >= min_cases);
}

static void test_condition_cases(void **state)
{
    (void)state;
    run_cases("conditions.json", 100);
}

/* exact decimal comparison and the forms AWS does not define (§4.5) */
static void test_numeric_cases(void **state)
{
    (void)state;
    run_cases("numeric.json", 30);
}

/* cases/fold.json: Resource and NotResource case folding beyond ASCII */
static void test_fold_cases(void **state)
{
    (void)state;
    run_cases("fold.json", 16);
}

/* policy_parse_number's forms and policy_number_cmp directly, signed values
 * included: the operators never compare those (a policy refuses them, a
 * request value is indeterminate) but the comparison is exact for them too */
static void test_number_compare(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        enum policy_number_form form;
    } forms[] = {
        { "0", POLICY_NUM_PLAIN },       { "0.5", POLICY_NUM_PLAIN },
        { "10.0", POLICY_NUM_PLAIN },    { "1000.000", POLICY_NUM_PLAIN },
        { "+5", POLICY_NUM_UNDEFINED },  { "-5", POLICY_NUM_UNDEFINED },
        { "0500", POLICY_NUM_UNDEFINED }, { "00.5", POLICY_NUM_UNDEFINED },
        { "-0", POLICY_NUM_UNDEFINED },  { "", POLICY_NUM_INVALID },
        { "+", POLICY_NUM_INVALID },     { ".5", POLICY_NUM_INVALID },
        { "5.", POLICY_NUM_INVALID },    { "1e3", POLICY_NUM_INVALID },
        { "0x10", POLICY_NUM_INVALID },  { "inf", POLICY_NUM_INVALID },
        { " 5", POLICY_NUM_INVALID },    { "5 ", POLICY_NUM_INVALID },
        { "1.2.3", POLICY_NUM_INVALID }, { "--5", POLICY_NUM_INVALID },
    };
    struct policy_number a, b;
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
        if (policy_parse_number(s3w_slice_cstr(forms[i].s), &a) != forms[i].form)
            fail_msg("\"%s\": want form %d", forms[i].s, (int)forms[i].form);
    static const struct {
        const char *a, *b;
        int want;
    } pairs[] = {
        { "1000.0000000000000001", "1000", 1 },
        { "9007199254740993", "9007199254740992", 1 },
        { "1000", "1000.000", 0 },
        { "0", "0.000", 0 },
        { "-0", "0", 0 },
        { "0.5", "0.50001", -1 },
        { "0500", "500", 0 },
        { "99.999", "100", -1 },
        { "-5", "3", -1 },
        { "-5", "-3", -1 },
        { "-0.5", "-0.25", -1 },
        { "-100", "-99.9", -1 },
        { "-1", "0", -1 },
        { "123456789012345678901234567890.1", "123456789012345678901234567890.01", 1 },
    };
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        assert_int_not_equal(policy_parse_number(s3w_slice_cstr(pairs[i].a), &a), POLICY_NUM_INVALID);
        assert_int_not_equal(policy_parse_number(s3w_slice_cstr(pairs[i].b), &b), POLICY_NUM_INVALID);
        int ab = policy_number_cmp(&a, &b), ba = policy_number_cmp(&b, &a);
        if ((ab > 0) - (ab < 0) != pairs[i].want || (ba > 0) - (ba < 0) != -pairs[i].want)
            fail_msg("%s vs %s: got %d/%d, want %d", pairs[i].a, pairs[i].b, ab, ba, pairs[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_condition_cases),
        cmocka_unit_test(test_numeric_cases),
        cmocka_unit_test(test_fold_cases),
        cmocka_unit_test(test_number_compare),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
