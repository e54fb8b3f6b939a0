/*
 * civil.h - UTC calendar arithmetic without the C library's time zone
 * machinery (gmtime_r/strftime/timegm cost more than a request's mapping
 * and timegm is not ISO C). H. Hinnant's public-domain algorithms for the
 * proleptic Gregorian calendar; times are seconds since 1970-01-01T00:00:00Z.
 */
#ifndef S3W_CIVIL_H
#define S3W_CIVIL_H

#include <time.h>

#include "bytes.h"

/* Milliseconds since 1970-01-01T00:00:00Z now (CLOCK_REALTIME): record and
 * log times. Header-only; timeouts use monoclock.h's s3w_mono_ms. */
static inline int64_t s3w_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Days since 1970-01-01 of year y, month m (1..12), day d. Exact for any
 * |y| below 2^50; d is not checked against the month (day 31 of February
 * is March 2 or 3, as timegm() normalises it): see s3w_civil_valid. */
int64_t s3w_days_from_civil(int64_t y, unsigned m, unsigned d);

/* The inverse: a day number since 1970-01-01 (|days| below 2^60) to
 * year, month (1..12), day (1..31). */
void s3w_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

/* True if d is a day of month m of year y (leap years included). */
bool s3w_civil_valid(int64_t y, unsigned m, unsigned d);

/* "2023-11-14T22:13:20Z" (ISO 8601 extended, whole seconds, UTC) and a NUL.
 * Returns false (and writes "") for a year outside 0..9999. */
#define S3W_ISO8601_LEN 20
bool s3w_iso8601_format(int64_t secs, char out[S3W_ISO8601_LEN + 1]);

/* The same from milliseconds, with them: "2023-11-14T22:13:20.123Z" (log
 * lines, CloudTrail's eventTime). Times before 1970 floor, as above. */
#define S3W_ISO8601_MS_LEN 24
bool s3w_iso8601_format_ms(int64_t ms, char out[S3W_ISO8601_MS_LEN + 1]);

/* Parses "YYYY-MM-DDTHH:MM:SS[.fff...]Z" (the form S3, STS and IAM write;
 * a fraction of any length is accepted and dropped, not rounded). Rejects an
 * invalid calendar date (2023-02-29) and hour > 23 or minute > 59; second
 * 60 (a leap second) is accepted and reads as second 0 of the next minute.
 * Upper-case 'T' and 'Z' only; no offsets. */
bool s3w_iso8601_parse(struct s3w_slice s, int64_t *secs);

#endif
