/*
 * test_sigv4core_util.h - helpers for the SigV4 core tests (header-only:
 * each test is one executable). Parses the HTTP request text files of the
 * AWS suites, pulls strings out of the small JSON files of the S3 examples,
 * and provides a secret-lookup callback.
 */
#ifndef TEST_SIGV4CORE_UTIL_H
#define TEST_SIGV4CORE_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sigv4.h"
#include "testutil.h"

#define TR_MAX_HEADERS 64

/* A request parsed from "METHOD TARGET HTTP/1.1\nName:value\n...\n\nbody".
 * Continuation lines (leading SP/HT, i.e. obs-fold) extend the previous
 * value, newline included, exactly as the bytes stand in the file. */
struct treq {
    char *buf;
    size_t len;
    struct s3w_header h[TR_MAX_HEADERS];
    size_t nh;
    struct sigv4_request req;
    struct s3w_slice body;
};

static inline int treq_parse(struct treq *t, char *buf, size_t len)
{
    memset(t, 0, sizeof *t);
    t->buf = buf;
    t->len = len;
    size_t i = 0;
    /* request line */
    size_t sp1 = 0;
    while (sp1 < len && buf[sp1] != ' ')
        sp1++;
    size_t eol = sp1;
    while (eol < len && buf[eol] != '\n')
        eol++;
    size_t sp2 = eol;
    while (sp2 > sp1 && buf[sp2] != ' ')
        sp2--; /* last space: before HTTP/1.1 (targets may hold spaces) */
    if (sp1 >= len || sp2 <= sp1)
        return -1;
    t->req.method = s3w_slice(buf, sp1);
    t->req.target = s3w_slice(buf + sp1 + 1, sp2 - sp1 - 1);
    i = eol + 1;
    while (i < len) {
        size_t e = i;
        while (e < len && buf[e] != '\n')
            e++;
        size_t le = e;
        if (le > i && buf[le - 1] == '\r')
            le--;
        if (le == i) { /* blank line: body follows */
            t->body = s3w_slice(buf + e + 1 < buf + len ? buf + e + 1 : buf + len,
                                e + 1 < len ? len - e - 1 : 0);
            break;
        }
        if ((buf[i] == ' ' || buf[i] == '\t') && t->nh) {
            struct s3w_header *p = &t->h[t->nh - 1];
            p->value.len = (size_t)(buf + le - p->value.ptr);
        } else {
            size_t c = i;
            while (c < le && buf[c] != ':')
                c++;
            if (c == le || t->nh == TR_MAX_HEADERS)
                return -1;
            size_t v = c + 1;
            while (v < le && (buf[v] == ' ' || buf[v] == '\t'))
                v++;
            t->h[t->nh].name = s3w_slice(buf + i, c - i);
            t->h[t->nh].value = s3w_slice(buf + v, le - v);
            t->nh++;
        }
        i = e + 1;
    }
    t->req.headers = t->h;
    t->req.n_headers = t->nh;
    return 0;
}

/* Reads a testdata file; fails the test if absent. The format attribute lets
 * the compiler check every caller's arguments against its format (and keeps
 * clang's -Wformat-nonliteral quiet about the vsnprintf below). */
__attribute__((format(printf, 2, 3)))
static inline char *td_read(size_t *len, const char *fmt, ...)
{
    char rel[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(rel, sizeof rel, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof rel) {
        fprintf(stderr, "testdata path too long: %s\n", fmt);
        abort();
    }
    char *p = tu_read_testdata(rel, len);
    if (!p) {
        fprintf(stderr, "missing testdata %s\n", rel);
        abort();
    }
    return p;
}

/* Strip one trailing newline (files end with or without one). */
static inline struct s3w_slice chomp(char *p, size_t len)
{
    while (len && (p[len - 1] == '\n' || p[len - 1] == '\r'))
        len--;
    return s3w_slice(p, len);
}

/* The last two lines of a canonical request: signed headers, payload. */
static inline void creq_tail(struct s3w_slice creq, struct s3w_slice *signed_h,
                             struct s3w_slice *payload)
{
    size_t e = creq.len, a;
    a = e;
    while (a > 0 && creq.ptr[a - 1] != '\n')
        a--;
    *payload = s3w_slice(creq.ptr + a, e - a);
    e = a - 1;
    a = e;
    while (a > 0 && creq.ptr[a - 1] != '\n')
        a--;
    *signed_h = s3w_slice(creq.ptr + a, e - a);
}

/* ---- tiny JSON string reader (enough for the S3 example files) ---------- */

/* Decodes the JSON string starting at p (at the opening quote) into out.
 * Returns a pointer after the closing quote, or NULL. *olen is set on every
 * path (0 on failure): callers check the result with cmocka's assertions,
 * which the compiler cannot see never return, so a length left unset on
 * failure would be read uninitialised as far as it can tell. */
static inline const char *json_str_at(const char *p, char *out, size_t cap,
                                      size_t *olen)
{
    size_t n = 0;
    if (olen)
        *olen = 0;
    if (*p != '"')
        return NULL;
    p++;
    while (*p && *p != '"') {
        unsigned c = (unsigned char)*p++;
        if (c == '\\') {
            char e = *p++;
            switch (e) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case '/': c = '/'; break;
            case '\\': c = '\\'; break;
            case '"': c = '"'; break;
            case 'u': {
                unsigned v = 0;
                for (int k = 0; k < 4; k++) {
                    char h = *p++;
                    v = v * 16 + (unsigned)(h >= 'a' ? h - 'a' + 10
                                           : h >= 'A' ? h - 'A' + 10 : h - '0');
                }
                if (v < 0x80) {
                    c = v;
                } else if (v < 0x800) {
                    if (n + 2 >= cap) return NULL;
                    out[n++] = (char)(0xc0 | v >> 6);
                    c = 0x80 | (v & 0x3f);
                } else {
                    if (n + 3 >= cap) return NULL;
                    out[n++] = (char)(0xe0 | v >> 12);
                    out[n++] = (char)(0x80 | ((v >> 6) & 0x3f));
                    c = 0x80 | (v & 0x3f);
                }
                break;
            }
            default: return NULL;
            }
        }
        if (n + 1 >= cap)
            return NULL;
        out[n++] = (char)c;
    }
    if (*p != '"')
        return NULL;
    out[n] = '\0';
    if (olen)
        *olen = n;
    return p + 1;
}

static inline const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
        p++;
    return p;
}

/* Value of the first "key": "string" after `from`; NULL if none. */
static inline const char *json_get(const char *from, const char *key,
                                   char *out, size_t cap, size_t *olen)
{
    char pat[128];
    snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *p = strstr(from, pat);
    if (!p)
        return NULL;
    p = skip_ws(p + strlen(pat));
    if (*p != ':')
        return NULL;
    p = skip_ws(p + 1);
    return json_str_at(p, out, cap, olen);
}

/* ---- secret lookup ------------------------------------------------------- */

struct tkey {
    const char *akid;
    const char *secret;
    const char *token;         /* required token, or NULL */
    enum sigv4_lookup_status status;  /* forced answer if != OK */
};

struct tlookup {
    const struct tkey *keys;
    size_t n;
    int calls;
    char last_token[2048];
};

static inline enum sigv4_lookup_status tlookup_fn(void *ud, struct s3w_slice akid,
                                                  struct s3w_slice token,
                                                  char *secret_out,
                                                  size_t *secret_len)
{
    struct tlookup *l = ud;
    l->calls++;
    snprintf(l->last_token, sizeof l->last_token, "%.*s", (int)token.len,
             token.ptr ? token.ptr : "");
    for (size_t i = 0; i < l->n; i++) {
        if (!s3w_slice_eq_cstr(akid, l->keys[i].akid))
            continue;
        if (l->keys[i].status != SIGV4_LOOKUP_OK)
            return l->keys[i].status;
        if (l->keys[i].token && !s3w_slice_eq_cstr(token, l->keys[i].token))
            return token.len ? SIGV4_LOOKUP_INVALID_TOKEN
                             : SIGV4_LOOKUP_MISSING_TOKEN;
        size_t sl = strlen(l->keys[i].secret);
        memcpy(secret_out, l->keys[i].secret, sl);
        *secret_len = sl;
        return SIGV4_LOOKUP_OK;
    }
    return SIGV4_LOOKUP_UNKNOWN_KEY;
}

static inline struct s3w_slice buf_sl(const struct s3w_buf *b)
{
    return s3w_slice(b->ptr ? b->ptr : "", b->len);
}

/* Fails the calling cmocka test when slices a and b differ, printing both. */
#define SLICE_EQ(a, b)                                                         \
    do {                                                                       \
        struct s3w_slice a_ = (a), b_ = (b);                                   \
        if (!s3w_slice_eq(a_, b_)) {                                           \
            print_error("%s:%d: mismatch\n--- got\n%.*s\n--- want\n%.*s\n",    \
                        __FILE__, __LINE__, (int)a_.len, a_.ptr, (int)b_.len,  \
                        b_.ptr);                                               \
            fail();                                                            \
        }                                                                      \
    } while (0)

/* Verify options for region us-east-1 and `service`, each secret looked up
 * by tlookup_fn in lk; every other option zero (a test sets what it varies). */
static inline struct sigv4_verify_opts tverify_opts(struct tlookup *lk, const char *service,
                                                    enum sigv4_uri_mode mode)
{
    static const struct s3w_slice us_east_1[] = { S3W_SLICE_LIT("us-east-1") };
    struct sigv4_verify_opts o = { 0 };
    o.regions = us_east_1;
    o.n_regions = 1;
    o.service = s3w_slice_cstr(service);
    o.uri_mode = mode;
    o.lookup = tlookup_fn;
    o.lookup_ud = lk;
    return o;
}

#define SUITE_AKID "AKIDEXAMPLE"
#define SUITE_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define SUITE_TIME 1440938160  /* 2015-08-30T12:36:00Z */
#define S3EX_AKID "AKIAIOSFODNN7EXAMPLE"
#define S3EX_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define S3EX_TIME 1369353600   /* 2013-05-24T00:00:00Z */

#endif
