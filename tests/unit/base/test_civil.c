/* Unit tests for base/civil.c: days <-> civil dates over a wide range,
 * validity, ISO 8601 formatting and parsing. The reference is a plain
 * day-by-day walk of the Gregorian calendar, independent of the
 * algorithms under test, and timegm() where the C library has it. */
#define _DEFAULT_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <cmocka.h>

#include "civil.h"

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned month_days(int64_t y, unsigned m)
{
    static const unsigned char n[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return n[m - 1] + (m == 2 && is_leap(y));
}

/* Walks every day from 1600-01-01 to 2500-12-31 (negative day numbers
 * included) and checks both directions and the successor relation. */
static void test_days_round_trip_walk(void **state)
{
    (void)state;
    int64_t y = 1600;
    unsigned m = 1, d = 1;
    int64_t day = s3w_days_from_civil(1600, 1, 1);
    assert_int_equal(day, -135140); /* 1600-01-01: 370 years minus 90 leap days before 1970 */
    size_t leap_days = 0;
    for (; y <= 2500; day++) {
        assert_int_equal(s3w_days_from_civil(y, m, d), day);
        int64_t yy;
        unsigned mm, dd;
        s3w_civil_from_days(day, &yy, &mm, &dd);
        assert_int_equal(yy, y);
        assert_int_equal(mm, m);
        assert_int_equal(dd, d);
        assert_true(s3w_civil_valid(y, m, d));
        if (m == 2 && d == 29)
            leap_days++;
        if (++d > month_days(y, m)) {
            d = 1;
            if (++m > 12) {
                m = 1;
                y++;
            }
        }
    }
    /* 1600..2500: 226 multiples of 4 less 1700 1800 1900 2100 2200 2300 2500 */
    assert_int_equal(leap_days, 219);
}

static void test_days_known_points(void **state)
{
    (void)state;
    assert_int_equal(s3w_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(s3w_days_from_civil(1969, 12, 31), -1);
    assert_int_equal(s3w_days_from_civil(2000, 3, 1), 11017);
    assert_int_equal(s3w_days_from_civil(2000, 2, 29), 11016);
    assert_int_equal(s3w_days_from_civil(0, 1, 1), -719528);
    assert_int_equal(s3w_days_from_civil(-1, 12, 31), -719529);
    assert_int_equal(s3w_days_from_civil(10000, 1, 1), 2932897);
    /* far range, both signs, across 400-year eras */
    for (int64_t day = -400000000; day <= 400000000; day += 9999991) {
        int64_t y;
        unsigned m, d;
        s3w_civil_from_days(day, &y, &m, &d);
        assert_true(s3w_civil_valid(y, m, d));
        assert_int_equal(s3w_days_from_civil(y, m, d), day);
    }
    /* the day past a month's end normalises as timegm() does */
    assert_int_equal(s3w_days_from_civil(2023, 2, 29), s3w_days_from_civil(2023, 3, 1));
}

static void test_civil_valid(void **state)
{
    (void)state;
    assert_true(s3w_civil_valid(2024, 2, 29));
    assert_false(s3w_civil_valid(2023, 2, 29));
    assert_true(s3w_civil_valid(2000, 2, 29));
    assert_false(s3w_civil_valid(1900, 2, 29));
    assert_false(s3w_civil_valid(2100, 2, 29));
    assert_true(s3w_civil_valid(-4, 2, 29)); /* proleptic: year -4 is a leap year */
    assert_false(s3w_civil_valid(-100, 2, 29));
    assert_true(s3w_civil_valid(-400, 2, 29));
    assert_false(s3w_civil_valid(2023, 4, 31));
    assert_true(s3w_civil_valid(2023, 12, 31));
    assert_false(s3w_civil_valid(2023, 0, 1));
    assert_false(s3w_civil_valid(2023, 13, 1));
    assert_false(s3w_civil_valid(2023, 1, 0));
    assert_false(s3w_civil_valid(2023, 1, 32));
}

static void test_iso8601_format(void **state)
{
    (void)state;
    char out[S3W_ISO8601_LEN + 1];
    assert_true(s3w_iso8601_format(0, out));
    assert_string_equal(out, "1970-01-01T00:00:00Z");
    assert_true(s3w_iso8601_format(1700000000, out));
    assert_string_equal(out, "2023-11-14T22:13:20Z");
    /* the same second again (the thread's last result), the next, and back */
    assert_true(s3w_iso8601_format(1700000000, out));
    assert_string_equal(out, "2023-11-14T22:13:20Z");
    /* the ms form writes over the seconds' Z, never over the kept copy */
    char ms[S3W_ISO8601_MS_LEN + 1];
    assert_true(s3w_iso8601_format_ms(1700000000123, ms));
    assert_string_equal(ms, "2023-11-14T22:13:20.123Z");
    assert_true(s3w_iso8601_format(1700000000, out));
    assert_string_equal(out, "2023-11-14T22:13:20Z");
    assert_true(s3w_iso8601_format(1700000001, out));
    assert_string_equal(out, "2023-11-14T22:13:21Z");
    assert_true(s3w_iso8601_format(1700000000, out));
    assert_string_equal(out, "2023-11-14T22:13:20Z");
    assert_true(s3w_iso8601_format(-1, out));
    assert_string_equal(out, "1969-12-31T23:59:59Z");
    assert_true(s3w_iso8601_format(-86400, out));
    assert_string_equal(out, "1969-12-31T00:00:00Z");
    assert_true(s3w_iso8601_format(951782400, out));
    assert_string_equal(out, "2000-02-29T00:00:00Z");
    /* year limits: four digits, 0000..9999 */
    assert_true(s3w_iso8601_format(-62167219200, out));
    assert_string_equal(out, "0000-01-01T00:00:00Z");
    assert_true(s3w_iso8601_format(253402300799, out));
    assert_string_equal(out, "9999-12-31T23:59:59Z");
    assert_false(s3w_iso8601_format(253402300800, out));
    assert_string_equal(out, "");
    assert_false(s3w_iso8601_format(-62167219201, out));
    assert_string_equal(out, "");
    assert_false(s3w_iso8601_format(INT64_MAX, out));
    assert_false(s3w_iso8601_format(INT64_MIN, out));
}

static void test_iso8601_format_ms(void **state)
{
    (void)state;
    char out[S3W_ISO8601_MS_LEN + 1];
    assert_true(s3w_iso8601_format_ms(1700000000123, out));
    assert_string_equal(out, "2023-11-14T22:13:20.123Z");
    assert_true(s3w_iso8601_format_ms(1700000000000, out));
    assert_string_equal(out, "2023-11-14T22:13:20.000Z");
    assert_true(s3w_iso8601_format_ms(-1, out));
    assert_string_equal(out, "1969-12-31T23:59:59.999Z");
    assert_true(s3w_iso8601_format_ms(-1000, out));
    assert_string_equal(out, "1969-12-31T23:59:59.000Z");
    assert_true(s3w_iso8601_format_ms(253402300799999, out));
    assert_string_equal(out, "9999-12-31T23:59:59.999Z");
    assert_true(s3w_iso8601_format_ms(-62167219200000, out));
    assert_string_equal(out, "0000-01-01T00:00:00.000Z");
    assert_false(s3w_iso8601_format_ms(253402300800000, out));
    assert_string_equal(out, "");
    assert_false(s3w_iso8601_format_ms(-62167219200001, out));
    assert_false(s3w_iso8601_format_ms(INT64_MIN, out));
    assert_false(s3w_iso8601_format_ms(INT64_MAX, out));
}

/* Agrees with the C library on a spread of times (what the copies that
 * called gmtime_r + strftime printed). */
static void test_iso8601_format_matches_gmtime(void **state)
{
    (void)state;
    for (int64_t t = -2208988800; t < 4102444800; t += 7777777) {
        char want[32], got[S3W_ISO8601_LEN + 1];
        time_t tt = (time_t)t;
        struct tm tm;
        gmtime_r(&tt, &tm);
        strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%SZ", &tm);
        assert_true(s3w_iso8601_format(t, got));
        assert_string_equal(got, want);
        int64_t back;
        assert_true(s3w_iso8601_parse(s3w_slice_cstr(got), &back));
        assert_int_equal(back, t);
        assert_int_equal(back, (int64_t)timegm(&tm));
    }
}

static bool parse(const char *s, int64_t *t)
{
    return s3w_iso8601_parse(s3w_slice_cstr(s), t);
}

static void test_iso8601_parse(void **state)
{
    (void)state;
    int64_t t = 42;
    assert_true(parse("2023-11-14T22:13:20Z", &t));
    assert_int_equal(t, 1700000000);
    /* fractions of any length are dropped, not rounded */
    assert_true(parse("2023-11-14T22:13:20.999Z", &t));
    assert_int_equal(t, 1700000000);
    assert_true(parse("2023-11-14T22:13:20.1234567890Z", &t));
    assert_int_equal(t, 1700000000);
    assert_true(parse("2024-02-29T00:00:00Z", &t));
    assert_int_equal(t, 1709164800);
    assert_true(parse("1969-12-31T23:59:59Z", &t));
    assert_int_equal(t, -1);
    assert_true(parse("0000-01-01T00:00:00Z", &t));
    assert_int_equal(t, -62167219200);
    assert_true(parse("9999-12-31T23:59:59Z", &t));
    assert_int_equal(t, 253402300799);
    /* a leap second reads as the next minute's second 0 */
    assert_true(parse("2016-12-31T23:59:60Z", &t));
    assert_int_equal(t, 1483228800);
}

static void test_iso8601_parse_rejects(void **state)
{
    (void)state;
    static const char *bad[] = {
        "2023-02-29T00:00:00Z", /* not a leap year */
        "1900-02-29T00:00:00Z",
        "2023-04-31T00:00:00Z",
        "2023-00-10T00:00:00Z",
        "2023-13-10T00:00:00Z",
        "2023-01-00T00:00:00Z",
        "2023-01-32T00:00:00Z",
        "2023-01-01T24:00:00Z",
        "2023-01-01T23:60:00Z",
        "2023-01-01T23:59:61Z",
        "2023-11-14T22:13:20",       /* no zone */
        "2023-11-14T22:13:20+00:00", /* offsets are not accepted */
        "2023-11-14T22:13:20z",
        "2023-11-14t22:13:20Z",
        "2023-11-14 22:13:20Z",
        "2023-11-14T22:13:20.Z",   /* a '.' needs digits */
        "2023-11-14T22:13:20.5",   /* fraction, then no zone */
        "2023-11-14T22:13:20ZZ",
        "2023-11-14T22:13:20Z ",
        "2023-11-14T22:13Z",
        "20231114T221320Z",
        "+2023-11-14T22:13:20Z",
        "10000-01-01T00:00:00Z",
        "-001-01-01T00:00:00Z",
        "2O23-11-14T22:13:20Z",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t t = 42;
        if (parse(bad[i], &t))
            fail_msg("accepted \"%s\"", bad[i]);
        assert_int_equal(t, 42); /* untouched on failure */
    }
    /* the slice ends where it says, whatever follows in memory */
    int64_t t;
    assert_false(s3w_iso8601_parse(s3w_slice("2023-11-14T22:13:20Z", 19), &t));
    assert_false(s3w_iso8601_parse(s3w_slice("2023-11-14T22:13:20.5Z", 21), &t));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_days_round_trip_walk),
        cmocka_unit_test(test_days_known_points),
        cmocka_unit_test(test_civil_valid),
        cmocka_unit_test(test_iso8601_format),
        cmocka_unit_test(test_iso8601_format_ms),
        cmocka_unit_test(test_iso8601_format_matches_gmtime),
        cmocka_unit_test(test_iso8601_parse),
        cmocka_unit_test(test_iso8601_parse_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
