/*
 * condition.c - condition operators with AWS's semantics.
 *
 * IAM-SEMANTICS.md §4 is the reference:
 *  - several keys under one operator AND, several values OR, negated
 *    operators NOR (§4.1);
 *  - absent key: false, negated operators true, ...IfExists true, Null
 *    tests presence (§4.3);
 *  - ForAllValues true on an absent/empty set, ForAnyValue false (§4.4);
 *  - case rules: String and Arn operators are case-sensitive unless
 *    ...IgnoreCase (§4.2).
 * Where the reference is UNCONFIRMED we take the reading that denies; each
 * such place says so and has a test named after the choice.
 */
#include <arpa/inet.h>
#include <string.h>

#include "civil.h"
#include "codec.h"
#include "policy_int.h"

/* ---- operator names ----------------------------------------------------- */
struct op_def {
    const char *name;
    uint8_t family, cmp;
    bool negated, nocase;
};

static const struct op_def ops[] = {
    { "StringEquals", FAM_STRING, CMP_EQ, false, false },
    { "StringNotEquals", FAM_STRING, CMP_EQ, true, false },
    { "StringEqualsIgnoreCase", FAM_STRING, CMP_EQ, false, true },
    { "StringNotEqualsIgnoreCase", FAM_STRING, CMP_EQ, true, true },
    { "StringLike", FAM_STRING, CMP_LIKE, false, false },
    { "StringNotLike", FAM_STRING, CMP_LIKE, true, false },
    { "NumericEquals", FAM_NUMERIC, CMP_EQ, false, false },
    { "NumericNotEquals", FAM_NUMERIC, CMP_EQ, true, false },
    { "NumericLessThan", FAM_NUMERIC, CMP_LT, false, false },
    { "NumericLessThanEquals", FAM_NUMERIC, CMP_LE, false, false },
    { "NumericGreaterThan", FAM_NUMERIC, CMP_GT, false, false },
    { "NumericGreaterThanEquals", FAM_NUMERIC, CMP_GE, false, false },
    { "DateEquals", FAM_DATE, CMP_EQ, false, false },
    { "DateNotEquals", FAM_DATE, CMP_EQ, true, false },
    { "DateLessThan", FAM_DATE, CMP_LT, false, false },
    { "DateLessThanEquals", FAM_DATE, CMP_LE, false, false },
    { "DateGreaterThan", FAM_DATE, CMP_GT, false, false },
    { "DateGreaterThanEquals", FAM_DATE, CMP_GE, false, false },
    { "Bool", FAM_BOOL, CMP_EQ, false, false },
    { "BinaryEquals", FAM_BINARY, CMP_EQ, false, false },
    { "IpAddress", FAM_IP, CMP_EQ, false, false },
    { "NotIpAddress", FAM_IP, CMP_EQ, true, false },
    /* ArnEquals and ArnLike behave identically (both take wildcards) [OPS] */
    { "ArnEquals", FAM_ARN, CMP_LIKE, false, false },
    { "ArnLike", FAM_ARN, CMP_LIKE, false, false },
    { "ArnNotEquals", FAM_ARN, CMP_LIKE, true, false },
    { "ArnNotLike", FAM_ARN, CMP_LIKE, true, false },
    { "Null", FAM_NULL, CMP_EQ, false, false },
};

static bool take_prefix(struct s3w_slice *s, const char *p)
{
    size_t n = strlen(p);
    if (s->len >= n && memcmp(s->ptr, p, n) == 0) {
        s->ptr += n;
        s->len -= n;
        return true;
    }
    return false;
}

bool cond_parse_operator(struct s3w_slice name, struct cond *out)
{
    struct s3w_slice s = name;
    memset(out, 0, sizeof(*out));
    out->op_name = name;
    /* Operator names are matched exactly as AWS spells them: an unknown
     * spelling is a load-time error, never ignored (README.md, "Security
     * invariants"). */
    if (take_prefix(&s, "ForAllValues:"))
        out->set = SET_FORALL;
    else if (take_prefix(&s, "ForAnyValue:"))
        out->set = SET_FORANY;
    if (s.len > 8 && memcmp(s.ptr + s.len - 8, "IfExists", 8) == 0) {
        out->if_exists = true;
        s.len -= 8;
    }
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        if (s3w_slice_eq_cstr(s, ops[i].name)) {
            const struct op_def *d = &ops[i];
            /* Null has no IfExists form and takes no set qualifier [OPS] */
            if (d->family == FAM_NULL && (out->if_exists || out->set != SET_NONE))
                return false;
            out->family = d->family;
            out->cmp = d->cmp;
            out->negated = d->negated;
            out->nocase = d->nocase;
            return true;
        }
    }
    return false;
}

/* ---- scalar parsers ----------------------------------------------------- */
/* The first 12 bytes of an IPv4-mapped IPv6 address (RFC 4291 2.5.5.2) */
static const uint8_t v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Numbers: [OPS] documents "integer or decimal" values, so digits with an
 * optional fraction are PLAIN. A sign or a leading zero before another digit
 * is well formed but UNDEFINED: AWS says nothing of "+5", "-5" or "0500"
 * (octal to some readers), §4.5 UNCONFIRMED. Exponents, hex, inf/nan, ".5"
 * and "5." are not numbers. The caller decides what each form means; no form
 * is rounded, there is no length limit. */
enum policy_number_form policy_parse_number(struct s3w_slice s, struct policy_number *out)
{
    size_t i = 0;
    bool undefined = false;
    memset(out, 0, sizeof(*out));
    if (s.len > 0 && (s.ptr[0] == '+' || s.ptr[0] == '-')) {
        out->neg = s.ptr[0] == '-';
        undefined = true;
        i++;
    }
    size_t ip = i;
    while (i < s.len && is_digit(s.ptr[i]))
        i++;
    size_t ip_end = i;
    if (ip_end == ip)
        return POLICY_NUM_INVALID;
    size_t frac = i, frac_end = i;
    if (i < s.len && s.ptr[i] == '.') {
        frac = ++i;
        while (i < s.len && is_digit(s.ptr[i]))
            i++;
        frac_end = i;
        if (frac_end == frac)
            return POLICY_NUM_INVALID;
    }
    if (i != s.len)
        return POLICY_NUM_INVALID;
    /* "0" and "0.5" are plain; "0500" and "00.5" have leading zeros */
    if (ip_end - ip > 1 && s.ptr[ip] == '0')
        undefined = true;
    while (ip < ip_end && s.ptr[ip] == '0')
        ip++;
    while (frac_end > frac && s.ptr[frac_end - 1] == '0')
        frac_end--;
    out->ip = (struct s3w_slice){ s.ptr + ip, ip_end - ip };
    out->frac = (struct s3w_slice){ s.ptr + frac, frac_end - frac };
    if (out->ip.len == 0 && out->frac.len == 0)
        out->neg = false; /* -0 is 0 */
    return undefined ? POLICY_NUM_UNDEFINED : POLICY_NUM_PLAIN;
}

static int sign_of(int c)
{
    return (c > 0) - (c < 0);
}

int policy_number_cmp(const struct policy_number *a, const struct policy_number *b)
{
    if (a->neg != b->neg)
        return a->neg ? -1 : 1;
    /* without leading zeros, more integer digits is the larger magnitude */
    int c = (a->ip.len > b->ip.len) - (a->ip.len < b->ip.len);
    if (c == 0 && a->ip.len)
        c = sign_of(memcmp(a->ip.ptr, b->ip.ptr, a->ip.len));
    if (c == 0) {
        size_t n = a->frac.len < b->frac.len ? a->frac.len : b->frac.len;
        if (n)
            c = sign_of(memcmp(a->frac.ptr, b->frac.ptr, n));
        /* without trailing zeros, the longer fraction has a non-zero digit
         * more: it is the larger */
        if (c == 0)
            c = (a->frac.len > b->frac.len) - (a->frac.len < b->frac.len);
    }
    return a->neg ? -c : c;
}

static bool digits_n(struct s3w_slice s, size_t at, size_t n, unsigned *v)
{
    unsigned x = 0;
    if (at + n > s.len)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s.ptr[at + i];
        if (c < '0' || c > '9')
            return false;
        x = x * 10 + (unsigned)(c - '0');
    }
    *v = x;
    return true;
}

/*
 * Dates: epoch seconds (digits only, as aws:EpochTime) or the W3C ISO 8601
 * profiles YYYY-MM-DD, YYYY-MM-DDThh:mmTZD, YYYY-MM-DDThh:mm:ssTZD,
 * YYYY-MM-DDThh:mm:ss.sTZD with TZD = Z or +hh:mm / -hh:mm (§4.5 [OPS]).
 * A time without a zone designator is refused (not a W3C profile).
 */
bool policy_parse_date(struct s3w_slice s, int64_t *ms)
{
    unsigned y, mo, d, h = 0, mi = 0, sec = 0;
    int64_t frac_ms = 0;
    size_t i;
    if (s.len == 0)
        return false;
    bool all_digits = true;
    for (i = 0; i < s.len; i++)
        if (s.ptr[i] < '0' || s.ptr[i] > '9')
            all_digits = false;
    if (all_digits) {
        if (s.len > 12)
            return false;
        int64_t v = 0;
        for (i = 0; i < s.len; i++)
            v = v * 10 + (s.ptr[i] - '0');
        *ms = v * 1000;
        return true;
    }
    if (!digits_n(s, 0, 4, &y) || s.len < 10 || s.ptr[4] != '-' || !digits_n(s, 5, 2, &mo) ||
        s.ptr[7] != '-' || !digits_n(s, 8, 2, &d))
        return false;
    if (!s3w_civil_valid(y, mo, d))
        return false;
    i = 10;
    int64_t off_min = 0;
    if (i < s.len) {
        if (s.ptr[i] != 'T' || !digits_n(s, i + 1, 2, &h) || i + 3 >= s.len ||
            s.ptr[i + 3] != ':' || !digits_n(s, i + 4, 2, &mi))
            return false;
        i += 6;
        if (i < s.len && s.ptr[i] == ':') {
            if (!digits_n(s, i + 1, 2, &sec))
                return false;
            i += 3;
            if (i < s.len && s.ptr[i] == '.') {
                size_t nf = 0;
                int64_t scale = 100;
                i++;
                while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9') {
                    if (nf < 3)
                        frac_ms += (s.ptr[i] - '0') * scale, scale /= 10;
                    i++, nf++;
                }
                if (nf == 0)
                    return false;
            }
        }
        if (h > 23 || mi > 59 || sec > 60)
            return false;
        if (i >= s.len)
            return false; /* time without a zone designator */
        if (s.ptr[i] == 'Z') {
            i++;
        } else if (s.ptr[i] == '+' || s.ptr[i] == '-') {
            unsigned oh, om;
            if (!digits_n(s, i + 1, 2, &oh) || i + 3 >= s.len || s.ptr[i + 3] != ':' ||
                !digits_n(s, i + 4, 2, &om) || oh > 23 || om > 59)
                return false;
            off_min = (int64_t)oh * 60 + om;
            if (s.ptr[i] == '-')
                off_min = -off_min;
            i += 6;
        } else {
            return false;
        }
        if (i != s.len)
            return false;
    }
    int64_t days = s3w_days_from_civil(y, mo, d);
    int64_t secs = days * 86400 + (int64_t)h * 3600 + (int64_t)mi * 60 + sec - off_min * 60;
    *ms = secs * 1000 + frac_ms;
    return true;
}

/* CIDR or a bare address. IPv4 without a prefix is /32 [OPS]; IPv6 without
 * a prefix is UNCONFIRMED - we take /128, the narrowest range, which is the
 * reading that denies for IpAddress in an Allow and for NotIpAddress in a
 * Deny; compile.c refuses it in the other two. */
bool policy_parse_cidr(struct s3w_slice s, bool prefix_ok, uint8_t ip[16],
                       uint8_t *family, uint8_t *prefix)
{
    char buf[64];
    size_t alen = s.len;
    unsigned pfx = 0;
    bool has_pfx = false;
    for (size_t i = 0; i < s.len; i++) {
        if (s.ptr[i] == '/') {
            if (!prefix_ok)
                return false;
            alen = i;
            has_pfx = true;
            size_t nd = s.len - i - 1;
            if (nd == 0 || nd > 3 || !digits_n(s, i + 1, nd, &pfx))
                return false;
            break;
        }
    }
    if (alen == 0 || alen >= sizeof(buf))
        return false;
    memcpy(buf, s.ptr, alen);
    buf[alen] = '\0';
    memset(ip, 0, 16);
    if (memchr(buf, ':', alen)) {
        if (inet_pton(AF_INET6, buf, ip) != 1)
            return false;
        *family = 6;
        if (!has_pfx)
            pfx = 128;
        if (pfx > 128)
            return false;
    } else {
        if (inet_pton(AF_INET, buf, ip) != 1)
            return false;
        *family = 4;
        if (!has_pfx)
            pfx = 32;
        if (pfx > 32)
            return false;
    }
    *prefix = (uint8_t)pfx;
    return true;
}

static bool prefix_eq(const uint8_t *a, const uint8_t *b, unsigned bits)
{
    size_t full = bits / 8;
    if (memcmp(a, b, full) != 0)
        return false;
    unsigned rem = bits % 8;
    if (rem == 0)
        return true;
    uint8_t mask = (uint8_t)(0xffu << (8 - rem));
    return (a[full] & mask) == (b[full] & mask);
}

/* ---- value compile ------------------------------------------------------ */
static int compile_arn_parts(struct arena *a, struct s3w_slice v, bool vars,
                             struct cond_value *out, const char **why)
{
    /* Split at the first five colons: each component is matched on its own,
     * so a wildcard never spans a `:` between components [OPS "ARN"]. */
    size_t start = 0, part = 0;
    for (size_t i = 0; i <= v.len && part < ARN_PARTS; i++) {
        /* a colon inside a policy variable (${aws:PrincipalAccount}) is part
         * of the key name, not a component separator; its value is then
         * matched within its component [VARS "arn:aws:iam::${aws:...}"] */
        if (vars && i + 1 < v.len && v.ptr[i] == '$' && v.ptr[i + 1] == '{') {
            const char *close = memchr(v.ptr + i, '}', v.len - i);
            if (close) {
                i = (size_t)(close - v.ptr);
                continue;
            }
        }
        if (i == v.len || (v.ptr[i] == ':' && part < ARN_PARTS - 1)) {
            if (i == v.len && part != ARN_PARTS - 1)
                break;
            int rc = pattern_compile(a, (struct s3w_slice){ v.ptr + start, i - start }, true,
                                     vars, &out->arn[part], why);
            if (rc)
                return rc;
            part++;
            start = i + 1;
        }
    }
    if (part != ARN_PARTS) {
        /* "*" alone is accepted as "any ARN" by AWS's examples; anything else
         * must have the six components. */
        if (v.len == 1 && v.ptr[0] == '*') {
            for (size_t k = 0; k < ARN_PARTS; k++) {
                int rc = pattern_compile(a, v, true, false, &out->arn[k], why);
                if (rc)
                    return rc;
            }
            return 0;
        }
        *why = "ARN condition value is not an ARN (arn:partition:service:region:account:resource)";
        return -1;
    }
    return 0;
}

int cond_compile_value(struct arena *a, const struct cond *c, struct s3w_slice v,
                       bool vars, struct cond_value *out, const char **why)
{
    memset(out, 0, sizeof(*out));
    out->pat.raw = v;
    switch (c->family) {
    case FAM_STRING:
        return pattern_compile(a, v, c->cmp == CMP_LIKE, vars, &out->pat, why);
    case FAM_ARN:
        return compile_arn_parts(a, v, vars, out, why);
    case FAM_NUMERIC:
        switch (policy_parse_number(v, &out->num)) {
        case POLICY_NUM_PLAIN:
            return 0; /* out->num points into v, the policy's arena copy */
        case POLICY_NUM_UNDEFINED:
            /* §4.5 UNCONFIRMED: no reading of "-5" or "0500" is safe for
             * every operator and effect, so the policy is refused */
            *why = "numeric condition value has a sign or leading zeros, which AWS does not define";
            return -1;
        case POLICY_NUM_INVALID:
            break;
        }
        *why = "numeric condition value is not a number";
        return -1;
    case FAM_DATE:
        if (!policy_parse_date(v, &out->date_ms)) {
            *why = "date condition value is neither an ISO 8601 date nor epoch seconds";
            return -1;
        }
        return 0;
    case FAM_BOOL:
    case FAM_NULL:
        if (s3w_slice_eq_nocase(v, S3W_SLICE_LIT("true")))
            out->b = true;
        else if (s3w_slice_eq_nocase(v, S3W_SLICE_LIT("false")))
            out->b = false;
        else {
            *why = "value must be \"true\" or \"false\"";
            return -1;
        }
        return 0;
    case FAM_BINARY: {
        uint8_t tmp[2048];
        /* empty and non-canonical values were always accepted here */
        long n = s3w_b64_decode(v, tmp, sizeof(tmp), S3W_B64_NONCANONICAL);
        if (n < 0) {
            *why = "BinaryEquals value is not base-64";
            return -1;
        }
        char *p = arena_strdup(a, (const char *)tmp, (size_t)n);
        if (!p) {
            *why = "out of memory";
            return -2;
        }
        out->bin = (struct s3w_slice){ p, (size_t)n };
        return 0;
    }
    case FAM_IP:
        if (!policy_parse_cidr(v, true, out->ip, &out->ip_family, &out->ip_prefix)) {
            *why = "IP condition value is not an IPv4/IPv6 address or CIDR";
            return -1;
        }
        if (out->ip_family == 6 && out->ip_prefix >= 96 && memcmp(out->ip, v4_mapped, 12) == 0) {
            /* ::ffff:10.0.0.0/120 is 10.0.0.0/24: an IPv4 client is
             * compared as IPv4 (match_one), so the range must be too, or a
             * Deny on it would miss the clients it names (probe 28) */
            memmove(out->ip, out->ip + 12, 4);
            memset(out->ip + 4, 0, 12);
            out->ip_family = 4;
            out->ip_prefix = (uint8_t)(out->ip_prefix - 96);
        }
        return 0;
    }
    *why = "internal: unknown operator family";
    return -1;
}

/* ---- evaluation ----------------------------------------------------------- */
/* Whether the operator holds for a comparison result c (<0, 0, >0 as the
 * request value is less than, equal to or greater than the policy value):
 * 1 match, 0 no match. */
static int cmp_holds(uint8_t cmp, int c)
{
    switch (cmp) {
    case CMP_EQ: return c == 0;
    case CMP_LT: return c < 0;
    case CMP_LE: return c <= 0;
    case CMP_GT: return c > 0;
    case CMP_GE: return c >= 0;
    }
    return -1;
}

static int match_arn(const struct cond_value *v, const struct policy_context *ctx,
                     struct s3w_slice r)
{
    struct s3w_slice part[ARN_PARTS];
    size_t np = 0, start = 0;
    for (size_t i = 0; i <= r.len; i++) {
        if (i == r.len || (r.ptr[i] == ':' && np < ARN_PARTS - 1)) {
            part[np++] = (struct s3w_slice){ r.ptr + start, i - start };
            start = i + 1;
            if (i == r.len)
                break;
        }
    }
    if (np != ARN_PARTS)
        return 0; /* not an ARN: matches no ARN pattern */
    int res = 1;
    for (size_t k = 0; k < ARN_PARTS; k++) {
        struct pat_vars rv;
        if (!pattern_resolve(&v->arn[k], ctx, &rv))
            return rv.undefined ? -1 : 0; /* no value: null (§5); else undefined */
        if (pattern_match(&v->arn[k], &rv, part[k], false))
            continue;
        /* matches only if a `*` or `?` in a variable's value is a
         * wildcard: UNCONFIRMED (§5), so indeterminate */
        if (!rv.wild || !pattern_match_wild_values(&v->arn[k], &rv, part[k], false))
            return 0;
        res = -1;
    }
    return res;
}

static int match_one(const struct cond *c, const struct cond_value *v,
                     const struct policy_context *ctx, struct s3w_slice r)
{
    switch (c->family) {
    case FAM_STRING: {
        struct pat_vars rv;
        if (!pattern_resolve(&v->pat, ctx, &rv))
            return rv.undefined ? -1 : 0; /* no value: null (§5); else undefined */
        if (pattern_match(&v->pat, &rv, r, c->nocase))
            return 1;
        /* StringLike matching only if a `*` or `?` in a variable's value
         * is a wildcard: UNCONFIRMED (§5), the reading that denies */
        if (rv.wild && pattern_match_wild_values(&v->pat, &rv, r, c->nocase))
            return -1;
        /* ...IgnoreCase beyond ASCII: AWS does not say whether "É" and "é"
         * are equal ignoring case. When only a Unicode fold makes the two
         * equal, the comparison is indeterminate: the reading that denies
         * (a Deny's condition holds, an Allow's does not) */
        return c->nocase && pattern_match_fold(&v->pat, &rv, r, false) ? -1 : 0;
    }
    case FAM_ARN:
        return match_arn(v, ctx, r);
    case FAM_NUMERIC: {
        /* Not a number, or a sign or leading zeros (+0500, -5, 0500: §4.5
         * UNCONFIRMED, AWS may read them otherwise than as 500 and -5):
         * indeterminate, the reading that denies */
        struct policy_number n;
        if (policy_parse_number(r, &n) != POLICY_NUM_PLAIN)
            return -1;
        return cmp_holds(c->cmp, policy_number_cmp(&n, &v->num));
    }
    case FAM_DATE: {
        int64_t ms;
        if (!policy_parse_date(r, &ms))
            return -1;
        return cmp_holds(c->cmp, (ms > v->date_ms) - (ms < v->date_ms));
    }
    case FAM_BOOL:
        if (s3w_slice_eq_nocase(r, S3W_SLICE_LIT("true")))
            return v->b;
        if (s3w_slice_eq_nocase(r, S3W_SLICE_LIT("false")))
            return !v->b;
        return -1;
    case FAM_BINARY: {
        uint8_t tmp[2048];
        long n = s3w_b64_decode(r, tmp, sizeof(tmp), S3W_B64_NONCANONICAL);
        if (n < 0)
            return -1;
        return (size_t)n == v->bin.len && memcmp(tmp, v->bin.ptr, (size_t)n) == 0;
    }
    case FAM_IP: {
        uint8_t ip[16], fam, pfx;
        if (!policy_parse_cidr(r, false, ip, &fam, &pfx))
            return -1;
        if (fam == 6 && memcmp(ip, v4_mapped, 12) == 0) {
            /* ::ffff:a.b.c.d from a dual-stack listener is the IPv4 client */
            memmove(ip, ip + 12, 4);
            memset(ip + 4, 0, 12);
            fam = 4;
        }
        if (fam != v->ip_family)
            return 0;
        return prefix_eq(ip, v->ip, v->ip_prefix);
    }
    }
    return -1;
}

/* Does one request value match any of the policy values? (values OR) */
static int match_any(const struct cond *c, const struct cond_key *k,
                     const struct policy_context *ctx, struct s3w_slice r)
{
    int res = 0;
    for (size_t i = 0; i < k->nvals; i++) {
        int m = match_one(c, &k->vals[i], ctx, r);
        if (m == 1)
            return 1;
        if (m < 0)
            res = -1;
    }
    return res;
}

static bool is_empty_set(const struct policy_ctx_entry *e)
{
    /* "absent or resolves to an empty or null set (e.g. an empty string)"
     * [MULTI][SVMV] */
    return !e || e->nvalues == 0 || (e->nvalues == 1 && e->values[0].len == 0);
}

static bool eval_key(const struct cond *c, const struct cond_key *k,
                     const struct policy_context *ctx, bool fail_result)
{
    const struct policy_ctx_entry *e = ctx ? policy_context_get(ctx, k->key) : NULL;

    if (c->family == FAM_NULL) {
        /* Null: "true" matches an absent key, "false" a present one [OPS];
         * an empty set or empty string counts as null ([COND] "null"). */
        bool is_null = is_empty_set(e);
        for (size_t i = 0; i < k->nvals; i++)
            if (k->vals[i].b == is_null)
                return true;
        return false;
    }

    /* a value AWS does not document (§6): present, so Null above is
     * sure, but what it equals is not */
    if (e && e->unsure)
        return fail_result;
    if (c->set == SET_FORALL) {
        if (is_empty_set(e))
            return true; /* §4.4: true when absent or empty */
        for (size_t i = 0; i < e->nvalues; i++) {
            int m = match_any(c, k, ctx, e->values[i]);
            if (m < 0)
                return fail_result;
            bool ok = c->negated ? m == 0 : m == 1;
            if (!ok)
                return false;
        }
        return true;
    }
    if (c->set == SET_FORANY) {
        /* Negated under ForAnyValue is UNCONFIRMED (§4.4): "some request
         * value matches none of the policy values" (false when absent) by
         * analogy, or the whole ForAnyValue test negated ("no request value
         * matches any", true when absent). A Deny's condition holds if
         * either reading holds, an Allow's only if both do. */
        if (is_empty_set(e))
            return c->if_exists || (c->negated && fail_result); /* §4.4: false */
        if (c->negated && !fail_result) {
            for (size_t i = 0; i < e->nvalues; i++)
                if (match_any(c, k, ctx, e->values[i]) != 0)
                    return false; /* a match, or indeterminate */
            return true;
        }
        bool indeterminate = false;
        for (size_t i = 0; i < e->nvalues; i++) {
            int m = match_any(c, k, ctx, e->values[i]);
            if (m < 0) {
                indeterminate = true;
                continue;
            }
            if (c->negated ? m == 0 : m == 1)
                return true;
        }
        return indeterminate ? fail_result : false;
    }

    if (!e)
        return c->if_exists ? true : c->negated; /* §4.3 */
    if (e->multi && e->nvalues != 1) {
        /* A single-valued operator on a multi-valued key: AWS warns it can be
         * overly permissive (§4.4 [SVMV]) and does not define it; take the
         * reading that denies. */
        return fail_result;
    }
    int m = match_any(c, k, ctx, e->values[0]);
    if (m < 0)
        return fail_result;
    return c->negated ? m == 0 : m == 1; /* negated: NOR over the values */
}

bool cond_eval(const struct cond *c, const struct policy_context *ctx, bool fail_result)
{
    for (size_t i = 0; i < c->nkeys; i++)
        if (!eval_key(c, &c->keys[i], ctx, fail_result))
            return false;
    return true;
}

const struct cond_key *cond_failing_key(const struct cond *c, const struct policy_context *ctx,
                                        bool fail_result)
{
    for (size_t i = 0; i < c->nkeys; i++)
        if (!eval_key(c, &c->keys[i], ctx, fail_result))
            return &c->keys[i];
    return NULL;
}
