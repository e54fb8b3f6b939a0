/*
 * match.c - the compile-time arena, wildcard patterns and policy variables.
 *
 * Patterns are token arrays so that a match needs neither a copy of the
 * pattern nor a buffer for the resolved variables: a variable's value is
 * matched in place. Whether a `*` or `?` inside a value (an OIDC subject,
 * a default) is a wildcard is UNCONFIRMED; pattern_match reads it as
 * literal text and pattern_match_wild_values as a wildcard, and the
 * callers take the reading that denies. Whether Resource ignores case is
 * UNCONFIRMED as well (§4.2); pattern_match_fold is the reading that folds
 * case beyond ASCII. IAM-SEMANTICS.md §4.5 (`*`, `?`), §5 (variables,
 * escapes, defaults).
 */
#include <stdlib.h>
#include <string.h>

#include "policy_int.h"

/* ---- arena ------------------------------------------------------------- */
struct arena_block {
    struct arena_block *next;
    size_t cap, used;
    _Alignas(16) unsigned char data[];
};

#define ARENA_BLOCK 8192u

void arena_init(struct arena *a, size_t max_total)
{
    a->head = NULL;
    a->used_total = 0;
    a->max_total = max_total;
    a->failed = false;
}

void *arena_alloc(struct arena *a, size_t n)
{
    n = (n + 15u) & ~(size_t)15u;
    if (n == 0)
        n = 16;
    if (n > a->max_total || a->used_total + n > a->max_total) {
        a->failed = true;
        return NULL;
    }
    struct arena_block *b = a->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
        b = malloc(sizeof(*b) + cap);
        if (!b) {
            a->failed = true;
            return NULL;
        }
        b->cap = cap;
        b->used = 0;
        b->next = a->head;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += n;
    a->used_total += n;
    memset(p, 0, n);
    return p;
}

char *arena_strdup(struct arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    if (!p)
        return NULL;
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void arena_free(struct arena *a)
{
    struct arena_block *b = a->head;
    while (b) {
        struct arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
    a->used_total = 0;
}

/* ---- pattern compile ---------------------------------------------------- */
#define PATTERN_MAX_TOKS 256

static bool var_key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == ':' || c == '/' || c == '-' || c == '_' || c == '.' || c == '@' ||
           c == '+' || c == '=';
}

int pattern_compile(struct arena *a, struct s3w_slice s, bool wild, bool vars,
                    struct pattern *out, const char **why)
{
    struct pat_tok toks[PATTERN_MAX_TOKS];
    size_t n = 0, nvars = 0;
    size_t i = 0;
    memset(out, 0, sizeof(*out));
    out->raw = s;
    out->like = wild;
    *why = NULL;
    /* variable names are ASCII (var_key_char): a high byte is in a literal
     * or a default */
    for (size_t k = 0; k < s.len && !out->high; k++)
        out->high = (unsigned char)s.ptr[k] >= 0x80;

#define PUSH_LIT(p, l)                                                              \
    do {                                                                            \
        if (n > 0 && toks[n - 1].kind == TOK_LIT &&                                 \
            toks[n - 1].text.ptr + toks[n - 1].text.len == (p)) {                   \
            toks[n - 1].text.len += (l);                                            \
        } else {                                                                    \
            if (n == PATTERN_MAX_TOKS)                                              \
                goto too_many;                                                      \
            toks[n++] = (struct pat_tok){ .kind = TOK_LIT, .text = { (p), (l) } };  \
        }                                                                           \
    } while (0)

    while (i < s.len) {
        char c = s.ptr[i];
        if (wild && (c == '*' || c == '?')) {
            if (n == PATTERN_MAX_TOKS)
                goto too_many;
            toks[n++] = (struct pat_tok){ .kind = c == '*' ? TOK_STAR : TOK_QMARK };
            out->has_wild = true;
            i++;
            continue;
        }
        if (vars && c == '$' && i + 1 < s.len && s.ptr[i + 1] == '{') {
            size_t j = i + 2;
            /* escapes ${*} ${?} ${$}: literal characters (IAM-SEMANTICS.md §5) */
            if (j + 1 < s.len && s.ptr[j + 1] == '}' &&
                (s.ptr[j] == '*' || s.ptr[j] == '?' || s.ptr[j] == '$')) {
                PUSH_LIT(s.ptr + j, 1);
                i = j + 2;
                continue;
            }
            size_t k = j;
            while (k < s.len && var_key_char(s.ptr[k]))
                k++;
            if (k == j) {
                *why = "invalid policy variable: empty or malformed name";
                return -1;
            }
            struct pat_tok t = { .kind = TOK_VAR, .text = { s.ptr + j, k - j } };
            if (k < s.len && s.ptr[k] == ',') {
                /* ${key, 'default'}: comma, spaces, single-quoted default */
                k++;
                while (k < s.len && s.ptr[k] == ' ')
                    k++;
                if (k >= s.len || s.ptr[k] != '\'') {
                    *why = "invalid policy variable: default value must be in single quotes";
                    return -1;
                }
                size_t d = ++k;
                while (k < s.len && s.ptr[k] != '\'')
                    k++;
                if (k >= s.len) {
                    *why = "invalid policy variable: unterminated default value";
                    return -1;
                }
                t.has_default = true;
                t.def = (struct s3w_slice){ s.ptr + d, k - d };
                k++;
                while (k < s.len && s.ptr[k] == ' ')
                    k++;
            }
            if (k >= s.len || s.ptr[k] != '}') {
                *why = "invalid policy variable: missing '}'";
                return -1;
            }
            if (nvars == PATTERN_MAX_VARS) {
                *why = "too many policy variables in one value";
                return -1;
            }
            if (n == PATTERN_MAX_TOKS)
                goto too_many;
            toks[n++] = t;
            nvars++;
            out->has_var = true;
            i = k + 1;
            continue;
        }
        PUSH_LIT(s.ptr + i, 1);
        i++;
    }
#undef PUSH_LIT
    if (n) {
        struct pat_tok *t = arena_alloc(a, n * sizeof(*t));
        if (!t) {
            *why = "out of memory";
            return -2;
        }
        memcpy(t, toks, n * sizeof(*t));
        out->toks = t;
    }
    out->ntoks = (uint16_t)n;
    return 0;
too_many:
    *why = "pattern too complex (more than 256 wildcard/variable tokens)";
    return -1;
}

/* ---- variables ---------------------------------------------------------- */
bool pattern_resolve(const struct pattern *p, const struct policy_context *ctx,
                     struct pat_vars *rv)
{
    size_t nv = 0;
    rv->wild = false;
    rv->undefined = false;
    if (!p->has_var)
        return true;
    for (size_t i = 0; i < p->ntoks; i++) {
        const struct pat_tok *t = &p->toks[i];
        if (t->kind != TOK_VAR)
            continue;
        const struct policy_ctx_entry *e = ctx ? policy_context_get(ctx, t->text) : NULL;
        /* Only single-valued keys can be variables (IAM-SEMANTICS.md §5). */
        if (e && e->unsure) {
            rv->undefined = true;
            return false;
        } else if (e && !e->multi && e->nvalues == 1) {
            rv->v[nv++] = e->values[0];
        } else if (e && e->multi && e->nvalues) {
            rv->undefined = true;
            return false;
        } else if (t->has_default) {
            rv->v[nv++] = t->def;
        } else {
            return false;
        }
        struct s3w_slice v = rv->v[nv - 1];
        if (p->like && v.len && (memchr(v.ptr, '*', v.len) || memchr(v.ptr, '?', v.len)))
            rv->wild = true;
    }
    return true;
}

/* ---- glob --------------------------------------------------------------- */
struct ppos {
    uint16_t t;   /* token index */
    uint16_t vi;  /* index of the next variable at or after t */
    size_t off;   /* offset inside a LIT/VAR token */
};

static size_t tok_len(const struct pattern *p, const struct pat_vars *rv, struct ppos q)
{
    const struct pat_tok *t = &p->toks[q.t];
    switch (t->kind) {
    case TOK_LIT: return t->text.len;
    case TOK_VAR: return rv->v[q.vi].len;
    default: return 1;
    }
}

/* Skips empty LIT/VAR tokens so that q always names a real unit or the end. */
static void norm(const struct pattern *p, const struct pat_vars *rv, struct ppos *q)
{
    while (q->t < p->ntoks && q->off >= tok_len(p, rv, *q)) {
        if (p->toks[q->t].kind == TOK_VAR)
            q->vi++;
        q->t++;
        q->off = 0;
    }
}

static void adv(const struct pattern *p, const struct pat_vars *rv, struct ppos *q)
{
    q->off++;
    norm(p, rv, q);
}

static inline unsigned char lc(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* The length of the character at s[i]: `?` is "any single character", and
 * `ä` is one (IAM User Guide, "Using wildcards in resource ARNs"; §4.5),
 * two bytes in the UTF-8 that keys, prefixes and tag values are. A byte
 * that does not start a well-formed UTF-8 sequence (RFC 3629 table) is a
 * character of its own. */
static size_t char_len(struct s3w_slice s, size_t i)
{
    const unsigned char *p = (const unsigned char *)s.ptr + i;
    size_t left = s.len - i, n;
    unsigned char lo = 0x80, hi = 0xBF; /* the second byte's range */
    if (p[0] < 0xC2 || p[0] > 0xF4)
        return 1; /* ASCII, a continuation byte, or never in UTF-8 */
    if (p[0] < 0xE0) {
        n = 2;
    } else if (p[0] < 0xF0) {
        n = 3;
        if (p[0] == 0xE0)
            lo = 0xA0; /* not overlong */
        else if (p[0] == 0xED)
            hi = 0x9F; /* not a surrogate */
    } else {
        n = 4;
        if (p[0] == 0xF0)
            lo = 0x90;
        else if (p[0] == 0xF4)
            hi = 0x8F; /* not past U+10FFFF */
    }
    if (left < n || p[1] < lo || p[1] > hi)
        return 1;
    for (size_t k = 2; k < n; k++)
        if (p[k] < 0x80 || p[k] > 0xBF)
            return 1;
    return n;
}

/* What the unit at q is: a wildcard token, or with wild_values a `*` or
 * `?` inside a variable's value; else one character to compare. */
enum unit { UNIT_CHAR, UNIT_STAR, UNIT_QMARK };

static inline enum unit unit_at(const struct pattern *p, const struct pat_vars *rv,
                                struct ppos q, bool wild_values)
{
    switch (p->toks[q.t].kind) {
    case TOK_STAR: return UNIT_STAR;
    case TOK_QMARK: return UNIT_QMARK;
    case TOK_VAR:
        if (wild_values) {
            char c = rv->v[q.vi].ptr[q.off];
            if (c == '*')
                return UNIT_STAR;
            if (c == '?')
                return UNIT_QMARK;
        }
        return UNIT_CHAR;
    default: return UNIT_CHAR;
    }
}

static uint32_t fold_cp(uint32_t c);
static uint32_t next_cp(struct s3w_slice s, size_t *i);

/* fold: characters compare as fold_cp(next_cp()) on both sides (nocase is
 * then moot). A pattern character's bytes lie inside one token: tokens
 * split only at ASCII (`*`, `?`, `${`), and a value is a token of its own. */
static inline __attribute__((always_inline)) bool glob(const struct pattern *p,
                                                       const struct pat_vars *rv,
                                                       struct s3w_slice s, bool nocase,
                                                       bool wild_values, bool fold)
{
    struct ppos q = { 0, 0, 0 }, star = { 0, 0, 0 };
    bool have_star = false;
    size_t si = 0, star_si = 0;
    /* Fast path: leading literal tokens (the "arn:aws:s3:::bucket/" of most
     * patterns) are compared a whole token at a time. Not when folding: a
     * character and its fold need not be as long ("K" Kelvin sign, "k"). */
    while (!fold && q.t < p->ntoks && p->toks[q.t].kind == TOK_LIT) {
        struct s3w_slice lit = p->toks[q.t].text;
        if (s.len - si < lit.len)
            return false;
        if (nocase ? !s3w_slice_eq_nocase(lit, (struct s3w_slice){ s.ptr + si, lit.len })
                   : memcmp(lit.ptr, s.ptr + si, lit.len) != 0)
            return false;
        si += lit.len;
        q.t++;
    }
    norm(p, rv, &q);
    while (si < s.len) {
        if (q.t < p->ntoks) {
            enum unit u = unit_at(p, rv, q, wild_values);
            if (u == UNIT_STAR) {
                have_star = true;
                star = q;
                star_si = si;
                adv(p, rv, &q);
                if (q.t >= p->ntoks)
                    return true; /* a trailing `*` takes the rest */
                continue;
            }
            if (u == UNIT_QMARK) {
                adv(p, rv, &q);
                si += char_len(s, si);
                continue;
            }
            const struct pat_tok *t = &p->toks[q.t];
            struct s3w_slice text = t->kind == TOK_LIT ? t->text : rv->v[q.vi];
            if (fold) {
                size_t ti = q.off, sj = si;
                if (fold_cp(next_cp(text, &ti)) == fold_cp(next_cp(s, &sj))) {
                    q.off = ti;
                    norm(p, rv, &q);
                    si = sj;
                    continue;
                }
            } else {
                unsigned char pc = (unsigned char)text.ptr[q.off];
                unsigned char sc = (unsigned char)s.ptr[si];
                if (pc == sc || (nocase && lc(pc) == lc(sc))) {
                    adv(p, rv, &q);
                    si++;
                    continue;
                }
            }
        }
        if (!have_star)
            return false;
        /* backtrack: let the last `*` swallow one more character (a `?`
         * after it never starts inside one) */
        q = star;
        adv(p, rv, &q);
        star_si += char_len(s, star_si);
        si = star_si;
    }
    while (q.t < p->ntoks && unit_at(p, rv, q, wild_values) == UNIT_STAR)
        adv(p, rv, &q);
    return q.t >= p->ntoks;
}

bool pattern_match(const struct pattern *p, const struct pat_vars *rv,
                   struct s3w_slice s, bool nocase)
{
    return glob(p, rv, s, nocase, false, false);
}

bool pattern_match_wild_values(const struct pattern *p, const struct pat_vars *rv,
                               struct s3w_slice s, bool nocase)
{
    return glob(p, rv, s, nocase, true, false);
}

bool pattern_match_fold(const struct pattern *p, const struct pat_vars *rv,
                        struct s3w_slice s, bool wild_values)
{
    return glob(p, rv, s, true, wild_values, true);
}

bool slice_has_high(struct s3w_slice s)
{
    /* eight bytes at a time, no early exit: eval.c asks on every Resource
     * entry a Deny misses, and most resources are all ASCII */
    uint64_t acc = 0, w;
    size_t i = 0;
    for (; i + 8 <= s.len; i += 8) {
        memcpy(&w, s.ptr + i, 8);
        acc |= w;
    }
    for (; i < s.len; i++)
        acc |= (unsigned char)s.ptr[i];
    return (acc & 0x8080808080808080u) != 0;
}

bool pattern_high(const struct pattern *p, const struct pat_vars *rv)
{
    if (p->high)
        return true;
    if (!p->has_var)
        return false;
    for (size_t t = 0, vi = 0; t < p->ntoks; t++)
        if (p->toks[t].kind == TOK_VAR && slice_has_high(rv->v[vi++]))
            return true;
    return false;
}

/* ---- case folding beyond ASCII ------------------------------------------------ */
/* Unicode's simple case folding (CaseFolding.txt, status C and S) for the
 * blocks most text is in; anything else folds to itself. */
static uint32_t fold_cp(uint32_t c)
{
    if (c < 0x80)
        return c >= 'A' && c <= 'Z' ? c + 32 : c;
    if (c >= 0xC0 && c <= 0xDE && c != 0xD7)
        return c + 32; /* Latin-1: À..Þ */
    if (c == 0xB5)
        return 0x3BC; /* micro sign: Greek mu */
    if (c >= 0x100 && c <= 0x17F) { /* Latin Extended-A: pairs */
        if (c == 0x130 || c == 0x131 || c == 0x138 || c == 0x149)
            return c; /* İ ı ĸ ŉ: no simple fold of their own */
        if (c == 0x178)
            return 0xFF; /* Ÿ */
        if (c == 0x17F)
            return 's'; /* long s */
        bool odd_upper = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E);
        return (c & 1) == (odd_upper ? 1u : 0u) ? c + 1 : c;
    }
    if (c >= 0x391 && c <= 0x3AB && c != 0x3A2)
        return c + 32; /* Greek capitals, with dialytika */
    if (c == 0x386)
        return 0x3AC;
    if (c >= 0x388 && c <= 0x38A)
        return c + 37;
    if (c == 0x38C)
        return 0x3CC;
    if (c == 0x38E || c == 0x38F)
        return c + 63;
    if (c == 0x3C2)
        return 0x3C3; /* final sigma */
    if (c >= 0x400 && c <= 0x40F)
        return c + 80; /* Cyrillic Ѐ..Џ */
    if (c >= 0x410 && c <= 0x42F)
        return c + 32; /* А..Я */
    if ((c >= 0x460 && c <= 0x481) || (c >= 0x48A && c <= 0x4BF) || (c >= 0x4D0 && c <= 0x52F))
        return (c & 1) ? c : c + 1;
    if (c == 0x4C0)
        return 0x4CF;
    if (c >= 0x4C1 && c <= 0x4CE)
        return (c & 1) ? c + 1 : c;
    if (c >= 0x531 && c <= 0x556)
        return c + 48; /* Armenian */
    if ((c >= 0x10A0 && c <= 0x10C5) || c == 0x10C7 || c == 0x10CD)
        return c + 0x2D00 - 0x10A0; /* Georgian Asomtavruli */
    if ((c >= 0x1E00 && c <= 0x1E95) || (c >= 0x1EA0 && c <= 0x1EFF))
        return (c & 1) ? c : c + 1; /* Latin Extended Additional */
    if (c == 0x1E9E)
        return 0xDF; /* capital sharp s */
    if (c == 0x212A)
        return 'k'; /* Kelvin sign */
    if (c == 0x212B)
        return 0xE5; /* Angstrom sign */
    if (c >= 0x2160 && c <= 0x216F)
        return c + 16; /* Roman numerals */
    if (c >= 0x24B6 && c <= 0x24CF)
        return c + 26; /* circled letters */
    if (c >= 0x2C00 && c <= 0x2C2F)
        return c + 48; /* Glagolitic */
    if (c >= 0xFF21 && c <= 0xFF3A)
        return c + 32; /* fullwidth Latin */
    if (c >= 0x10400 && c <= 0x10427)
        return c + 40; /* Deseret */
    return c;
}

/* The code point at s[*i], moving *i past it; a byte that starts no
 * well-formed sequence is itself, marked so that it equals no character. */
static uint32_t next_cp(struct s3w_slice s, size_t *i)
{
    const unsigned char *p = (const unsigned char *)s.ptr + *i;
    size_t n = char_len(s, *i);
    *i += n;
    switch (n) {
    case 2: return (uint32_t)(p[0] & 0x1F) << 6 | (p[1] & 0x3F);
    case 3: return (uint32_t)(p[0] & 0x0F) << 12 | (uint32_t)(p[1] & 0x3F) << 6 | (p[2] & 0x3F);
    case 4:
        return (uint32_t)(p[0] & 0x07) << 18 | (uint32_t)(p[1] & 0x3F) << 12 |
               (uint32_t)(p[2] & 0x3F) << 6 | (p[3] & 0x3F);
    default: return p[0] < 0x80 ? p[0] : 0x80000000u | p[0];
    }
}
