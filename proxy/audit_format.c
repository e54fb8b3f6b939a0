/* audit_format.c - one audit record as one JSON line (see audit.h): the
 * per-field caps that make every record fit AUDIT_LINE_MAX, and RFC 8259
 * escaping that never emits invalid UTF-8.
 *
 * This runs for every request, so it is written for cost (issue 12): the
 * line goes straight into the caller's block, constant text in whole
 * pieces of known length, a value's plain run in one copy. The bytes are
 * a contract (replay and the tests parse them):
 * tests/unit/proxy/test_audit_format_diff.c holds them to the formatter
 * as it was before (audit_format_ref.c there). */
#include "audit.h"

#include <link.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "civil.h"
#include "context.h"
#include "identity.h"

/* ---- formatting -------------------------------------------------------------- */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    /* length of a valid UTF-8 sequence at p, or 0 (RFC 3629 table) */
    unsigned char c = p[0];
    size_t need;
    if (c >= 0xc2 && c <= 0xdf)
        need = 2;
    else if (c >= 0xe0 && c <= 0xef)
        need = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        need = 4;
    else
        return 0;
    if (n < need)
        return 0;
    for (size_t i = 1; i < need; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if (c == 0xe0 && p[1] < 0xa0)
        return 0;
    if (c == 0xed && p[1] > 0x9f)
        return 0; /* surrogates */
    if (c == 0xf0 && p[1] < 0x90)
        return 0;
    if (c == 0xf4 && p[1] > 0x8f)
        return 0;
    return need;
}

/* Caps on each field's escaped value (bytes of the line). With the fixed
 * part of a record (names, punctuation, numbers: under AUDIT_FIXED_MAX,
 * measured by tests/unit/proxy/test_audit_limits.c) and the longest
 * "truncated" list they stay under AUDIT_LINE_MAX, so every record fits.
 * Each is generous for what the field legitimately holds: S3 keys are at
 * most 1024 bytes, bucket names 63, IAM ARNs about 600, SDK user agents a
 * few hundred; the caps bind only on hostile or broken input. */
#define CAP_REQUEST_ID 64
#define CAP_UP_REQUEST_ID 256
#define CAP_SOURCE_IP 128
#define CAP_USER_AGENT 2048
#define CAP_ID_TYPE 32
#define CAP_PRINCIPAL_ID 256
#define CAP_ARN 1024
#define CAP_ACCOUNT_ID 64
#define CAP_ACCESS_KEY_ID 128
#define CAP_ISSUER_ARN 1024
#define CAP_SESSION_NAME 128
#define CAP_EVENT_NAME 64
#define CAP_BUCKET 256
#define CAP_KEY 2048
#define CAP_ACTION 64              /* each of at most AUDIT_MAX_AUTHZ */
#define CAP_RESOURCES 4096         /* all resources together ... */
#define CAP_RESOURCE (CAP_KEY + 320) /* ... and one: an ARN around a whole key */
#define CAP_DECISION 64
#define CAP_DECIDING 1024
#define CAP_ERROR_CODE 128
#define CAP_TLS 32
#define CAP_WI_PROVIDER 256 /* an OIDC provider ARN: 13 + 12 + 15 + 255 at most */
#define CAP_WI_CLAIM 192    /* the token's sub and aud, each */
/* requestContext, all keys and values together: a typical request's ~25
 * keys take 1-2 KiB; a long prefix, copy source and 10 tags still fit */
#define CAP_CONTEXT 8192
#define AUDIT_FIXED_MAX 1024
_Static_assert(CAP_REQUEST_ID + CAP_UP_REQUEST_ID + CAP_SOURCE_IP + CAP_USER_AGENT +
               CAP_ID_TYPE + CAP_PRINCIPAL_ID + CAP_ARN + CAP_ACCOUNT_ID +
               CAP_ACCESS_KEY_ID + CAP_ISSUER_ARN + CAP_SESSION_NAME + CAP_EVENT_NAME +
               CAP_BUCKET + CAP_KEY + AUDIT_MAX_AUTHZ * CAP_ACTION + CAP_RESOURCES +
               CAP_DECISION + CAP_DECIDING + CAP_ERROR_CODE + CAP_TLS + CAP_WI_PROVIDER +
               2 * CAP_WI_CLAIM + CAP_CONTEXT + AUDIT_FIXED_MAX +
               AUDIT_TRUNCATED_MAX <= AUDIT_LINE_MAX,
               "the field caps must let every record fit AUDIT_LINE_MAX");
/* an STS record's roleSessionName and issued key id take the room of the
 * bucket and key it has none of (its request is to "/") */
_Static_assert(CAP_SESSION_NAME + CAP_ACCESS_KEY_ID <= CAP_BUCKET + CAP_KEY,
               "the STS fields fit the room of the S3 ones");

/* The bytes that go into a JSON string as they are: printable ASCII but
 * the quote and the backslash. */
#define PLAIN_16(b) \
    plain(b), plain(b + 1), plain(b + 2), plain(b + 3), plain(b + 4), plain(b + 5), plain(b + 6), \
        plain(b + 7), plain(b + 8), plain(b + 9), plain(b + 10), plain(b + 11), plain(b + 12), \
        plain(b + 13), plain(b + 14), plain(b + 15)
#define plain(c) ((c) >= 0x20 && (c) < 0x7f && (c) != '"' && (c) != '\\')
static const bool json_plain[256] = {
    PLAIN_16(0x00), PLAIN_16(0x10), PLAIN_16(0x20), PLAIN_16(0x30),
    PLAIN_16(0x40), PLAIN_16(0x50), PLAIN_16(0x60), PLAIN_16(0x70),
};
#undef plain
#undef PLAIN_16

/* Whether all 8 bytes of w are json_plain, tested on the word at once.
 * On the low 7 bits of each byte (m) no sum below carries into the next
 * byte, so each byte's top bit says, exactly: m >= 0x20 (m + 0x60),
 * m != 0x7f (m + 1 stays under 0x80), m != '"' and m != '\\' (m ^ c is
 * not 0, so + 0x7f reaches 0x80); ~w's says the byte is under 0x80. */
static inline bool json_plain8(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    const uint64_t m = w & ~highs;
    const uint64_t ge20 = m + ones * 0x60, not7f = ~(m + ones);
    const uint64_t not_q = (m ^ (ones * '"')) + ones * 0x7f;
    const uint64_t not_bs = (m ^ (ones * '\\')) + ones * 0x7f;
    return (ge20 & not7f & not_q & not_bs & ~w & highs) == highs;
}

/* How many of the first n bytes at p go into a JSON string as they are. */
static size_t plain_run(const unsigned char *p, size_t n)
{
    size_t i = 0;
    for (uint64_t w; i + 8 <= n; i += 8) {
        memcpy(&w, p + i, 8);
        if (!json_plain8(w))
            break;
    }
    while (i < n && json_plain[p[i]])
        i++;
    return i;
}

/* What stands in a JSON string for the character at p (n bytes left):
 * its length, with *piece pointing at it (esc, or p itself) and *adv the
 * input bytes it stands for. A plain byte is itself: it gets here only
 * when the value's cap was reached. */
static size_t escape_char(const unsigned char *p, size_t n, char esc[6], const char **piece,
                          size_t *adv)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char c = p[0];
    *piece = esc;
    *adv = 1;
    if (c == '"' || c == '\\') {
        esc[0] = '\\';
        esc[1] = (char)c;
        return 2;
    }
    if (c < 0x20 || c == 0x7f) {
        memcpy(esc, "\\u00", 4);
        esc[4] = hex[c >> 4];
        esc[5] = hex[c & 15];
        return 6;
    }
    *piece = (const char *)p;
    if (c < 0x80)
        return 1;
    size_t len = utf8_len(p, n);
    if (len == 0) {
        *piece = "\\ufffd";
        return 6;
    }
    *adv = len;
    return len;
}

/* A line being written into storage the caller reserved for the longest
 * record (AUDIT_LINE_MAX). */
struct fmt {
    char *p;            /* the next byte */
    char *end;          /* the end of the room */
    char *start;        /* the line's first byte */
    uint32_t truncated; /* bit per enum field */
    bool over;          /* a piece did not fit (see put) */
};

static void put(struct fmt *f, const void *s, size_t n)
{
    /* The caps make every record fit (audit.h), so this never fails; were
     * a change to break that, the record would be refused whole
     * (S3W_E_TOOBIG), never overrun or cut anywhere. */
    if (n > (size_t)(f->end - f->p)) {
        f->over = true;
        return;
    }
    if (n) /* s may be NULL then (an empty slice) */
        memcpy(f->p, s, n);
    f->p += n;
}
static void put_slice(struct fmt *f, struct s3w_slice s)
{
    put(f, s.ptr, s.len);
}

/* Copies the plain run at the start of p (at most n bytes) into the line:
 * its length. A word at a time, tested and copied in one pass, and the
 * last few bytes as the word that ends them: no call per value. Every
 * write stays within the run's own n bytes of the line. Inlined, as is
 * put_escaped, into each caller: a call cost the short values most
 * records hold more than their copy (it saved and set up json_plain8's
 * six constants each time, which a caller's loop keeps in registers):
 * 12,962 -> 11,814 instructions per GET record. */
static inline __attribute__((always_inline)) size_t put_plain_run(struct fmt *f,
                                                                  const unsigned char *p, size_t n)
{
    if (n > (size_t)(f->end - f->p)) { /* cannot happen (see put) */
        size_t run = plain_run(p, n);
        put(f, p, run);
        return run;
    }
    char *d = f->p;
    size_t i = 0;
    uint64_t w;
    for (; i + 8 <= n; i += 8) {
        memcpy(&w, p + i, 8);
        if (!json_plain8(w))
            break;
        memcpy(d + i, &w, 8);
    }
    if (i < n && i + 8 > n && n >= 8) {
        memcpy(&w, p + n - 8, 8);
        if (json_plain8(w)) {
            memcpy(d + n - 8, &w, 8);
            i = n;
        }
    }
    while (i < n && json_plain[p[i]]) {
        d[i] = (char)p[i];
        i++;
    }
    f->p += i;
    return i;
}

/* put_escaped past the value's first plain run (`done` bytes of s, all
 * of them written): the escapes and what follows them. Kept out of line:
 * most values never get here. */
static __attribute__((noinline)) bool put_escaped_rest(struct fmt *f, struct s3w_slice s,
                                                       size_t cap, size_t done)
{
    const unsigned char *p = (const unsigned char *)s.ptr;
    size_t i = done, used = done;
    while (i < s.len) {
        char esc[6];
        const char *piece;
        size_t adv, plen = escape_char(p + i, s.len - i, esc, &piece, &adv);
        if (plen > cap - used)
            return true; /* the value stays valid JSON and valid UTF-8 */
        put(f, piece, plen);
        used += plen;
        i += adv;
        size_t run = put_plain_run(f, p + i, s.len - i < cap - used ? s.len - i : cap - used);
        used += run;
        i += run;
    }
    return false;
}

/* s as a JSON string body, at most cap bytes of it, cut before the
 * character or escape that would pass cap (audit_json_escape); true when
 * it was cut. */
static inline __attribute__((always_inline)) bool put_escaped(struct fmt *f, struct s3w_slice s,
                                                              size_t cap)
{
    /* the value's run of bytes that need no escape goes in one piece
     * (most values are nothing else) */
    size_t run = put_plain_run(f, (const unsigned char *)s.ptr, s.len < cap ? s.len : cap);
    return run == s.len ? false : put_escaped_rest(f, s, cap, run);
}

int audit_json_escape(struct s3w_buf *out, struct s3w_slice s, size_t cap, bool *truncated)
{
    /* at most 6 bytes per input byte (\u00XX, \ufffd), and cap: written
     * in place when out has that room (a worker's block has) */
    size_t most = s.len <= cap / 6 ? 6 * s.len : cap;
    if (out->cap - out->len > most && out->max - out->len >= most) {
        char *at = out->ptr + out->len;
        struct fmt f = { at, at + most, at, 0, false };
        bool cut = put_escaped(&f, s, cap);
        out->len += (size_t)(f.p - at);
        out->ptr[out->len] = '\0';
        if (cut && truncated)
            *truncated = true;
        return 0;
    }
    /* else piece by piece, out growing as it needs */
    const unsigned char *p = (const unsigned char *)s.ptr;
    size_t i = 0, used = 0;
    while (i < s.len) {
        size_t run = plain_run(p + i, s.len - i < cap - used ? s.len - i : cap - used);
        int rc = s3w_buf_append(out, p + i, run);
        if (rc != 0)
            return rc;
        used += run;
        i += run;
        if (i == s.len)
            break;
        char esc[6];
        const char *piece;
        size_t adv, plen = escape_char(p + i, s.len - i, esc, &piece, &adv);
        if (plen > cap - used) {
            if (truncated)
                *truncated = true;
            return 0;
        }
        rc = s3w_buf_append(out, piece, plen);
        if (rc != 0)
            return rc;
        used += plen;
        i += adv;
    }
    return 0;
}

/* Names as they appear in "truncated" (the field's path in the record). */
enum field {
    F_REQUEST_ID, F_UP_REQUEST_ID, F_SOURCE_IP, F_USER_AGENT, F_ID_TYPE, F_PRINCIPAL_ID,
    F_ARN, F_ACCOUNT_ID, F_ACCESS_KEY_ID, F_ISSUER_ARN, F_SESSION_NAME, F_EVENT_NAME,
    F_BUCKET, F_KEY, F_ACTIONS, F_RESOURCES, F_DECISION, F_DECIDING, F_ERROR_CODE, F_TLS,
    F_WEB_IDENTITY, F_CONTEXT, F_SESSION_POLICY, F_SESSION_TAGS, F_STS_SESSION_NAME,
    F_STS_KEY_ID, F_COUNT
};

static const char *const field_names[F_COUNT] = {
    [F_REQUEST_ID] = "requestID",
    [F_UP_REQUEST_ID] = "upstreamRequestID",
    [F_SOURCE_IP] = "sourceIPAddress",
    [F_USER_AGENT] = "userAgent",
    [F_ID_TYPE] = "userIdentity.type",
    [F_PRINCIPAL_ID] = "userIdentity.principalId",
    [F_ARN] = "userIdentity.arn",
    [F_ACCOUNT_ID] = "userIdentity.accountId",
    [F_ACCESS_KEY_ID] = "userIdentity.accessKeyId",
    [F_ISSUER_ARN] = "userIdentity.sessionContext.sessionIssuer.arn",
    [F_SESSION_NAME] = "userIdentity.sessionContext.sessionName",
    [F_EVENT_NAME] = "eventName",
    [F_BUCKET] = "requestParameters.bucketName",
    [F_KEY] = "requestParameters.key",
    [F_ACTIONS] = "actions",
    [F_RESOURCES] = "resources",
    [F_DECISION] = "decision",
    [F_DECIDING] = "decidingStatements",
    [F_ERROR_CODE] = "errorCode",
    [F_TLS] = "tls",
    [F_WEB_IDENTITY] = "userIdentity.webIdFederationData",
    [F_CONTEXT] = "requestContext",
    [F_SESSION_POLICY] = "sessionPolicy",
    [F_SESSION_TAGS] = "sessionTags",
    [F_STS_SESSION_NAME] = "requestParameters.roleSessionName",
    [F_STS_KEY_ID] = "responseElements.accessKeyId",
};

/* A string value (quoted, capped) or null for a NULL slice. */
static void jval(struct fmt *f, struct s3w_slice v, size_t cap, enum field id)
{
    if (!v.ptr) {
        put_slice(f, S3W_SLICE_LIT("null"));
        return;
    }
    put(f, "\"", 1);
    if (put_escaped(f, v, cap))
        f->truncated |= 1u << id;
    put(f, "\"", 1);
}

/* `name` is the text before the value, as a literal: ,"requestID": */
static void jstr(struct fmt *f, struct s3w_slice name, struct s3w_slice v, size_t cap,
                 enum field id)
{
    put_slice(f, name);
    jval(f, v, cap, id);
}

/* v in decimal, as printf's %lld and %llu write it. */
static void put_u64(struct fmt *f, uint64_t v)
{
    char d[S3W_DEC_MAX];
    size_t i = s3w_dec_u64(d, v);
    put(f, d + i, sizeof(d) - i);
}

static void put_i64(struct fmt *f, int64_t v)
{
    char d[S3W_DEC_MAX];
    size_t i = s3w_dec_i64(d, v);
    put(f, d + i, sizeof(d) - i);
}

/* Keys whose value could be authorization material. None is a condition
 * key s3warden sets (the engine never sees the Authorization header, the
 * security token or a presigned URL's signature: s3map leaves the SigV4
 * query parameters out of the header equivalents), so this only guards
 * against a future key: the record must never hold a secret, token or
 * signature (README.md, "Security invariants"). aws:TokenIssueTime is a
 * time, not a token. */
static bool context_key_secret(struct s3w_slice k)
{
    static const struct {
        const char *w;
        size_t n;
    } bad[] = { { "", 0 },           { "token", 5 },       { "secret", 6 },   { "signature", 9 },
                { "authorization", 13 }, { "credential", 10 }, { "password", 8 } };
    /* One pass (this runs for every key of every record). The words'
     * second letters all differ, so the byte after an offset names the
     * one word that may start there (bad[] index, 0 none; either case):
     * most offsets are a table look-up, with no word compared. */
    static const unsigned char by_second[256] = {
        ['o'] = 1, ['O'] = 1, ['e'] = 2, ['E'] = 2, ['i'] = 3, ['I'] = 3,
        ['u'] = 4, ['U'] = 4, ['r'] = 5, ['R'] = 5, ['a'] = 6, ['A'] = 6,
    };
    for (size_t j = 0; j + 5 <= k.len; j++) {
        unsigned i = by_second[(unsigned char)k.ptr[j + 1]];
        /* | 0x20 makes a letter lower case and no other byte a letter
         * (the words are all letters) */
        if (!i || (k.ptr[j] | 0x20) != bad[i].w[0])
            continue;
        size_t m = 2;
        while (m < bad[i].n && m < k.len - j && (k.ptr[j + m] | 0x20) == bad[i].w[m])
            m++;
        if (m < bad[i].n)
            continue;
        return !(s3w_slice_eq_nocase(k, S3W_SLICE_LIT("aws:TokenIssueTime")) ||
                 s3w_slice_eq_nocase(k, S3W_SLICE_LIT("s3:signatureversion")) ||
                 s3w_slice_eq_nocase(k, S3W_SLICE_LIT("s3:signatureAge")));
    }
    return false;
}

/* ---- the verdict on keys that are string literals ---------------------------
 * context_key_secret reads every byte of every key of every record: a third
 * of format_line's instructions. Most keys are string literals of this
 * program ("aws:userid", set by the code that computes the key): bytes in
 * a segment of the program mapped without write permission, which cannot
 * change, so their verdict is kept by address and length, per thread. A
 * key anywhere else (a header's name in the request, a tag key from the
 * config or a token, a buffer that is reused) is read every time: its
 * bytes at that address may be different next time. */
#define RO_SPANS 8
static struct {
    uintptr_t lo, hi;
} ro_span[RO_SPANS];
static size_t n_ro_span;
static pthread_once_t ro_once = PTHREAD_ONCE_INIT;

static int ro_phdr(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    (void)arg;
    for (size_t i = 0; i < info->dlpi_phnum && n_ro_span < RO_SPANS; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && !(ph->p_flags & PF_W)) {
            ro_span[n_ro_span].lo = info->dlpi_addr + ph->p_vaddr;
            ro_span[n_ro_span].hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
            n_ro_span++;
        }
    }
    return 1; /* the first object dl_iterate_phdr reports is the program: only it */
}

static void ro_init(void)
{
    dl_iterate_phdr(ro_phdr, NULL);
}

static bool key_read_only(struct s3w_slice k)
{
    uintptr_t p = (uintptr_t)k.ptr;
    for (size_t i = 0; i < n_ro_span; i++)
        if (p >= ro_span[i].lo && p <= ro_span[i].hi && k.len <= ro_span[i].hi - p)
            return true;
    return false;
}

/* Filled, never evicted: the program has a bounded number of key literals
 * (about 100), so after its first records a thread finds every one. A key
 * that finds no room within KEY_PROBES slots is read (never the case at
 * that count, but no unbounded search). */
#define KEY_MEMO 256 /* a power of 2 */
#define KEY_PROBES 8
static __thread struct {
    const char *ptr;
    uint32_t len;
    bool secret;
} key_memo[KEY_MEMO];

static bool context_key_secret_memo(struct s3w_slice k)
{
    pthread_once(&ro_once, ro_init);
    if (!key_read_only(k) || k.len > UINT32_MAX)
        return context_key_secret(k);
    size_t i = (size_t)(((uint64_t)(uintptr_t)k.ptr * 0x9E3779B97F4A7C15ULL) >> 56) & (KEY_MEMO - 1);
    for (size_t probe = 0; probe < KEY_PROBES; probe++, i = (i + 1) & (KEY_MEMO - 1)) {
        if (key_memo[i].ptr == k.ptr && key_memo[i].len == k.len)
            return key_memo[i].secret;
        if (!key_memo[i].ptr) {
            key_memo[i].ptr = k.ptr;
            key_memo[i].len = (uint32_t)k.len;
            key_memo[i].secret = context_key_secret(k);
            return key_memo[i].secret;
        }
    }
    return context_key_secret(k);
}

/* "requestContext":{"key":"value","multi":["a","b"],...}. The keys share
 * CAP_CONTEXT; a key whose value does not fit whole is left out (a cut
 * value would be decided again on a value the request never had) and the
 * record says "requestContext" in "truncated". */
static void context_json(struct fmt *f, const struct policy_context *ctx)
{
    put_slice(f, S3W_SLICE_LIT(",\"requestContext\":{"));
    const char *start = f->p;
    bool first = true;
    for (size_t i = 0; i < ctx->n; i++) {
        const struct policy_ctx_entry *e = &ctx->entries[i];
        if (context_key_secret_memo(e->key))
            continue;
        char *mark = f->p;
        size_t room = CAP_CONTEXT - (size_t)(mark - start);
        /* each piece of a length known here: a constant-size copy, no
         * call (this runs for every key of every record) */
        if (!first)
            put(f, ",", 1);
        put(f, "\"", 1);
        bool cut = put_escaped(f, e->key, room);
        put(f, "\":", 2);
        if (e->multi)
            put(f, "[", 1);
        for (size_t j = 0; j < e->nvalues && !cut; j++) {
            if (j)
                put(f, ",", 1);
            put(f, "\"", 1);
            size_t used = (size_t)(f->p - start);
            cut = put_escaped(f, e->values[j], used < CAP_CONTEXT ? CAP_CONTEXT - used : 0);
            put(f, "\"", 1);
        }
        if (e->multi)
            put(f, "]", 1);
        if (cut || (size_t)(f->p - start) > CAP_CONTEXT) {
            f->p = mark; /* leave the whole key out */
            f->truncated |= 1u << F_CONTEXT;
            continue;
        }
        first = false;
    }
    put(f, "}", 1);
}

static bool json_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r'; /* RFC 8259 section 2 */
}

/* ,"sessionPolicy": a token session's session policy (audit.h), or null
 * when it has none. The document goes in compacted - the whitespace JSON
 * ignores between tokens left out, the rest byte for byte, so it compiles
 * to the same policy - and escaped, whole or not at all: `replay` decides
 * with it, and a cut document (or bytes that are not UTF-8, which the
 * escape would replace) is not the policy the request was decided with.
 * It has no fixed cap: the other fields' caps already fill the budget,
 * so it takes the room the record has left (a policy from AssumeRole is at
 * most 2,048 bytes, a typical record 1-3 KiB of AUDIT_LINE_MAX) but what
 * the "truncated" list may still need; what does not fit is left out and
 * listed there. */
static void session_policy_json(struct fmt *f, struct s3w_slice doc)
{
    if (!doc.len) {
        put_slice(f, S3W_SLICE_LIT(",\"sessionPolicy\":null"));
        return;
    }
    char *mark = f->p;
    /* the room: what the record has left but the field's own punctuation
     * and the "truncated" list's */
    static const char open[] = ",\"sessionPolicy\":\"";
    size_t used = (size_t)(f->p - f->start) + sizeof(open) - 1;
    size_t reserve = 1 + AUDIT_TRUNCATED_MAX + 2; /* '"', "}\n" */
    if (used + reserve >= AUDIT_LINE_MAX) {
        f->truncated |= 1u << F_SESSION_POLICY;
        return;
    }
    size_t room = AUDIT_LINE_MAX - used - reserve;
    put(f, open, sizeof(open) - 1);
    const unsigned char *p = (const unsigned char *)doc.ptr;
    size_t i = 0, written = 0;
    bool in_str = false, esc = false, cut = false;
    while (!cut && i < doc.len) {
        if (!in_str && json_ws(p[i])) {
            i++;
            continue;
        }
        /* a run up to the next whitespace outside a string */
        size_t j = i;
        while (j < doc.len && (in_str || !json_ws(p[j]))) {
            if (p[j] >= 0x80) {
                size_t n = utf8_len(p + j, doc.len - j);
                if (n == 0) {
                    cut = true;
                    break;
                }
                j += n;
                esc = false;
                continue;
            }
            if (esc)
                esc = false;
            else if (in_str && p[j] == '\\')
                esc = true;
            else if (p[j] == '"')
                in_str = !in_str;
            j++;
        }
        const char *before = f->p;
        cut = cut || put_escaped(f, s3w_slice(doc.ptr + i, j - i), room - written);
        written += (size_t)(f->p - before);
        i = j;
    }
    put(f, "\"", 1);
    if (cut) {
        f->p = mark; /* leave the whole field out */
        f->truncated |= 1u << F_SESSION_POLICY;
    }
}

/* Whether s is UTF-8 throughout (RFC 3629). */
static bool utf8_valid(struct s3w_slice s)
{
    const unsigned char *p = (const unsigned char *)s.ptr;
    for (size_t i = 0; i < s.len;) {
        size_t n = p[i] < 0x80 ? 1 : utf8_len(p + i, s.len - i);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

/* ,"sessionTags":{"Key":"value",...}: a token session's session tags
 * (audit.h), {} when it has none. Whole or not at all, in the room the
 * record has left after sessionPolicy (50 tags of AssumeRole's longest
 * take about 19 KiB; typical ones a few dozen bytes): `replay` overrides
 * the candidate role's tags with them, and a tag left out would leave the
 * role's in its place. What does not fit is left out and listed in
 * "truncated", and so is a tag that is not UTF-8 (a web identity's tags
 * claim may hold any bytes), which the escape would change. */
static void session_tags_json(struct fmt *f, const struct config_identity_tag *t, size_t n)
{
    char *mark = f->p;
    /* the room: what the record has left but the "truncated" list's */
    size_t used = (size_t)(f->p - f->start), reserve = AUDIT_TRUNCATED_MAX + 2; /* "}\n" */
    size_t room = used + reserve < AUDIT_LINE_MAX ? AUDIT_LINE_MAX - used - reserve : 0;
    static const char open[] = ",\"sessionTags\":{";
    bool cut = room < sizeof(open) - 1 + 1; /* and '}' */
    if (cut) {
        f->truncated |= 1u << F_SESSION_TAGS;
        return;
    }
    put(f, open, sizeof(open) - 1);
    room -= sizeof(open) - 1 + 1;
    const char *start = f->p;
    for (size_t i = 0; i < n && !cut; i++) {
        /* the punctuation of a tag: ,"":"" */
        size_t w = (size_t)(f->p - start);
        if (w + 6 > room || !utf8_valid(t[i].key) || !utf8_valid(t[i].value)) {
            cut = true;
            break;
        }
        put_slice(f, i ? S3W_SLICE_LIT(",\"") : S3W_SLICE_LIT("\""));
        cut = put_escaped(f, t[i].key, room - w - 6);
        put_slice(f, S3W_SLICE_LIT("\":\""));
        w = (size_t)(f->p - start);
        cut = cut || put_escaped(f, t[i].value, room - w - 1);
        put(f, "\"", 1);
    }
    put(f, "}", 1);
    if (cut) {
        f->p = mark; /* leave the whole field out */
        f->truncated |= 1u << F_SESSION_TAGS;
    }
}

/* The record into line (AUDIT_LINE_MAX bytes, no NUL); its length. */
static int format_line(const struct audit_record *r, char *line, size_t *len)
{
    struct fmt f = { line, line + AUDIT_LINE_MAX, line, 0, false };
    size_t nauthz = r->nauthz < AUDIT_MAX_AUTHZ ? r->nauthz : AUDIT_MAX_AUTHZ;
    /* CloudTrail's eventTime: digits and -:T.Z, nothing to escape; "" for
     * a time past year 9999 (civil.h) */
    char when[S3W_ISO8601_MS_LEN + 1];
    bool dated = s3w_iso8601_format_ms(r->time_ms, when);
    put_slice(&f, S3W_SLICE_LIT("{\"eventVersion\":\"1.0\",\"eventTime\":\""));
    if (dated)
        put(&f, when, S3W_ISO8601_MS_LEN);
    put_slice(&f, S3W_SLICE_LIT("\",\"eventSource\":\"s3warden\""));
    jstr(&f, S3W_SLICE_LIT(",\"requestID\":"), r->request_id, CAP_REQUEST_ID, F_REQUEST_ID);
    jstr(&f, S3W_SLICE_LIT(",\"upstreamRequestID\":"),
         r->upstream_request_id.len ? r->upstream_request_id : S3W_SLICE_NULL, CAP_UP_REQUEST_ID,
         F_UP_REQUEST_ID);
    jstr(&f, S3W_SLICE_LIT(",\"sourceIPAddress\":"), r->source_ip, CAP_SOURCE_IP, F_SOURCE_IP);
    jstr(&f, S3W_SLICE_LIT(",\"userAgent\":"), r->user_agent, CAP_USER_AGENT, F_USER_AGENT);
    jstr(&f, S3W_SLICE_LIT(",\"userIdentity\":{\"type\":"), r->identity_type, CAP_ID_TYPE,
         F_ID_TYPE);
    jstr(&f, S3W_SLICE_LIT(",\"principalId\":"), r->principal_id, CAP_PRINCIPAL_ID,
         F_PRINCIPAL_ID);
    jstr(&f, S3W_SLICE_LIT(",\"arn\":"), r->arn, CAP_ARN, F_ARN);
    jstr(&f, S3W_SLICE_LIT(",\"accountId\":"), r->account_id, CAP_ACCOUNT_ID, F_ACCOUNT_ID);
    jstr(&f, S3W_SLICE_LIT(",\"accessKeyId\":"), r->access_key_id, CAP_ACCESS_KEY_ID,
         F_ACCESS_KEY_ID);
    if (r->session_role_arn.len) {
        jstr(&f,
             S3W_SLICE_LIT(",\"sessionContext\":{\"sessionIssuer\":{\"type\":\"Role\",\"arn\":"),
             r->session_role_arn, CAP_ISSUER_ARN, F_ISSUER_ARN);
        jstr(&f, S3W_SLICE_LIT("},\"sessionName\":"), r->session_name, CAP_SESSION_NAME,
             F_SESSION_NAME);
        put(&f, "}", 1);
    }
    if (r->wi_provider.len) {
        /* CloudTrail's webIdFederationData, with the claims AWS keys on */
        jstr(&f, S3W_SLICE_LIT(",\"webIdFederationData\":{\"federatedProvider\":"),
             r->wi_provider, CAP_WI_PROVIDER, F_WEB_IDENTITY);
        jstr(&f, S3W_SLICE_LIT(",\"attributes\":{\"sub\":"), r->wi_sub, CAP_WI_CLAIM,
             F_WEB_IDENTITY);
        jstr(&f, S3W_SLICE_LIT(",\"aud\":"), r->wi_aud, CAP_WI_CLAIM, F_WEB_IDENTITY);
        put_slice(&f, S3W_SLICE_LIT("}}"));
    }
    jstr(&f, S3W_SLICE_LIT("},\"eventName\":"), r->event_name, CAP_EVENT_NAME, F_EVENT_NAME);
    jstr(&f, S3W_SLICE_LIT(",\"requestParameters\":{\"bucketName\":"), r->bucket, CAP_BUCKET,
         F_BUCKET);
    jstr(&f, S3W_SLICE_LIT(",\"key\":"), r->key, CAP_KEY, F_KEY);
    if (r->sts_session_name.len)
        jstr(&f, S3W_SLICE_LIT(",\"roleSessionName\":"), r->sts_session_name, CAP_SESSION_NAME,
             F_STS_SESSION_NAME);
    put(&f, "}", 1);
    if (r->sts_issued_key_id.len) {
        jstr(&f, S3W_SLICE_LIT(",\"responseElements\":{\"accessKeyId\":"), r->sts_issued_key_id,
             CAP_ACCESS_KEY_ID, F_STS_KEY_ID);
        put(&f, "}", 1);
    }
    put_slice(&f, S3W_SLICE_LIT(",\"actions\":["));
    for (size_t i = 0; i < nauthz; i++) {
        if (i)
            put(&f, ",", 1);
        jval(&f, r->actions[i].ptr ? r->actions[i] : S3W_SLICE_LIT(""), CAP_ACTION, F_ACTIONS);
    }
    put_slice(&f, S3W_SLICE_LIT("],\"resources\":["));
    /* the resources share one budget: a CopyObject's two ARNs may each
     * hold a whole key, 12 of a multi-action request get a fair share */
    size_t res_cap = nauthz ? CAP_RESOURCES / nauthz : 0;
    if (res_cap > CAP_RESOURCE)
        res_cap = CAP_RESOURCE;
    for (size_t i = 0; i < nauthz; i++) {
        if (i)
            put(&f, ",", 1);
        jval(&f, r->resources[i].ptr ? r->resources[i] : S3W_SLICE_LIT(""), res_cap, F_RESOURCES);
    }
    jstr(&f, S3W_SLICE_LIT("],\"decision\":"), r->decision, CAP_DECISION, F_DECISION);
    jstr(&f, S3W_SLICE_LIT(",\"decidingStatements\":"), r->deciding, CAP_DECIDING, F_DECIDING);
    if (r->cross_account)
        put_slice(&f, S3W_SLICE_LIT(",\"crossAccount\":true"));
    else
        put_slice(&f, S3W_SLICE_LIT(",\"crossAccount\":false"));
    jstr(&f, S3W_SLICE_LIT(",\"errorCode\":"), r->error_code.len ? r->error_code : S3W_SLICE_NULL,
         CAP_ERROR_CODE, F_ERROR_CODE);
    put_slice(&f, S3W_SLICE_LIT(",\"httpStatus\":"));
    put_i64(&f, r->http_status);
    put_slice(&f, S3W_SLICE_LIT(",\"bytesIn\":"));
    put_u64(&f, r->bytes_in);
    put_slice(&f, S3W_SLICE_LIT(",\"bytesOut\":"));
    put_u64(&f, r->bytes_out);
    put_slice(&f, S3W_SLICE_LIT(",\"latencyMs\":"));
    put_i64(&f, r->latency_ms);
    put_slice(&f, S3W_SLICE_LIT(",\"upstreamLatencyMs\":"));
    if (r->upstream_latency_ms >= 0)
        put_i64(&f, r->upstream_latency_ms);
    else
        put_slice(&f, S3W_SLICE_LIT("null"));
    jstr(&f, S3W_SLICE_LIT(",\"tls\":"), r->tls.len ? r->tls : S3W_SLICE_NULL, CAP_TLS, F_TLS);
    if (r->context)
        context_json(&f, r->context);
    if (r->token_session) {
        session_policy_json(&f, r->session_policy);
        session_tags_json(&f, r->session_tags, r->nsession_tags);
    }
    if (f.truncated) {
        put_slice(&f, S3W_SLICE_LIT(",\"truncated\":["));
        bool first = true;
        for (int i = 0; i < F_COUNT; i++) {
            if (!(f.truncated & (1u << i)))
                continue;
            put_slice(&f, first ? S3W_SLICE_LIT("\"") : S3W_SLICE_LIT(",\""));
            put(&f, field_names[i], strlen(field_names[i]));
            put(&f, "\"", 1);
            first = false;
        }
        put(&f, "]", 1);
    }
    put_slice(&f, S3W_SLICE_LIT("}\n"));
    if (f.over)
        return S3W_E_TOOBIG;
    *len = (size_t)(f.p - line);
    return 0;
}

int audit_format(const struct audit_record *r, struct s3w_buf *b)
{
    /* Straight into b when it has room for the longest record after what
     * it holds (a worker's block always has: audit.c), else into a line
     * of its own first. */
    size_t len;
    if (b->cap - b->len > AUDIT_LINE_MAX && b->max - b->len >= AUDIT_LINE_MAX) {
        int rc = format_line(r, b->ptr + b->len, &len);
        if (rc == 0) {
            b->len += len;
            b->ptr[b->len] = '\0';
        }
        return rc;
    }
    char *line = malloc(AUDIT_LINE_MAX);
    if (!line)
        return S3W_E_NOMEM;
    int rc = format_line(r, line, &len);
    rc = rc ? rc : s3w_buf_append(b, line, len);
    free(line);
    return rc;
}
