#include "civil.h"

#include <string.h>

int64_t s3w_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * ((int64_t)m + (m > 2 ? -3 : 9)) + 2) / 5 + (int64_t)d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void s3w_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

bool s3w_civil_valid(int64_t y, unsigned m, unsigned d)
{
    static const unsigned char mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (m < 1 || m > 12 || d < 1)
        return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= mdays[m - 1] + (unsigned)(m == 2 && leap);
}

static void put_digits(char *p, int64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

/* this thread's last result: a request formats the same second two or
 * three times (aws:CurrentTime, the audit record's eventTime), and the
 * requests of a second all do */
static __thread int64_t tl_secs = INT64_MIN;
static __thread char tl_text[S3W_ISO8601_LEN + 1];

bool s3w_iso8601_format(int64_t secs, char out[S3W_ISO8601_LEN + 1])
{
    /* 0000-01-01T00:00:00Z .. 9999-12-31T23:59:59Z; checked first so that
     * the arithmetic below cannot overflow on an absurd input */
    if (secs < -62167219200 || secs > 253402300799) {
        out[0] = '\0';
        return false;
    }
    if (secs == tl_secs) {
        memcpy(out, tl_text, sizeof(tl_text));
        return true;
    }
    /* floor division: times before 1970 are valid dates too */
    int64_t days = secs >= 0 ? secs / 86400 : -((86399 - secs) / 86400);
    int64_t sod = secs - days * 86400, y;
    unsigned m, d;
    s3w_civil_from_days(days, &y, &m, &d);
    put_digits(out, y, 4);
    out[4] = '-';
    put_digits(out + 5, m, 2);
    out[7] = '-';
    put_digits(out + 8, d, 2);
    out[10] = 'T';
    put_digits(out + 11, sod / 3600, 2);
    out[13] = ':';
    put_digits(out + 14, sod / 60 % 60, 2);
    out[16] = ':';
    put_digits(out + 17, sod % 60, 2);
    out[19] = 'Z';
    out[20] = '\0';
    memcpy(tl_text, out, sizeof(tl_text));
    tl_secs = secs;
    return true;
}

bool s3w_iso8601_format_ms(int64_t ms, char out[S3W_ISO8601_MS_LEN + 1])
{
    /* the range of s3w_iso8601_format, checked before the floor division */
    if (ms < -62167219200000 || ms > 253402300799999) {
        out[0] = '\0';
        return false;
    }
    int64_t secs = ms >= 0 ? ms / 1000 : -((999 - ms) / 1000);
    if (!s3w_iso8601_format(secs, out))
        return false;
    out[19] = '.';
    put_digits(out + 20, ms - secs * 1000, 3);
    out[23] = 'Z';
    out[24] = '\0';
    return true;
}

static bool digits(const char *p, size_t n, unsigned *out)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (unsigned)(p[i] - '0');
    }
    *out = v;
    return true;
}

bool s3w_iso8601_parse(struct s3w_slice s, int64_t *secs)
{
    const char *p = s.ptr;
    unsigned y, mo, d, h, mi, se;
    if (s.len < 20 || p[4] != '-' || p[7] != '-' || p[10] != 'T' || p[13] != ':' || p[16] != ':' ||
        !digits(p, 4, &y) || !digits(p + 5, 2, &mo) || !digits(p + 8, 2, &d) ||
        !digits(p + 11, 2, &h) || !digits(p + 14, 2, &mi) || !digits(p + 17, 2, &se))
        return false;
    size_t i = 19;
    if (p[i] == '.') {
        size_t start = ++i;
        while (i < s.len && p[i] >= '0' && p[i] <= '9')
            i++;
        if (i == start)
            return false;
    }
    if (i + 1 != s.len || p[i] != 'Z')
        return false;
    if (!s3w_civil_valid(y, mo, d) || h > 23 || mi > 59 || se > 60)
        return false;
    *secs = s3w_days_from_civil(y, mo, d) * 86400 + (int64_t)h * 3600 + mi * 60 + se;
    return true;
}
