/* audit_format_ref.c - the audit record formatter as it was before its
 * per-request cost was cut (proxy/audit_format.c at ae3d9b6), renamed and
 * otherwise untouched: the oracle of test_audit_format_diff.c, which holds
 * today's formatter to every byte of it. Do not "fix" it: a change of the
 * record format changes both files, and the test says where they part. */
#include "audit_format_ref.h"

#include <stdint.h>
#include <stdio.h>
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
#define AUDIT_TRUNCATED_MAX 640
_Static_assert(CAP_REQUEST_ID + CAP_UP_REQUEST_ID + CAP_SOURCE_IP + CAP_USER_AGENT +
               CAP_ID_TYPE + CAP_PRINCIPAL_ID + CAP_ARN + CAP_ACCOUNT_ID +
               CAP_ACCESS_KEY_ID + CAP_ISSUER_ARN + CAP_SESSION_NAME + CAP_EVENT_NAME +
               CAP_BUCKET + CAP_KEY + AUDIT_MAX_AUTHZ * CAP_ACTION + CAP_RESOURCES +
               CAP_DECISION + CAP_DECIDING + CAP_ERROR_CODE + CAP_TLS + CAP_WI_PROVIDER +
               2 * CAP_WI_CLAIM + CAP_CONTEXT + AUDIT_FIXED_MAX +
               AUDIT_TRUNCATED_MAX <= AUDIT_LINE_MAX,
               "the field caps must let every record fit AUDIT_LINE_MAX");

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

/* Whether all 8 bytes of w are json_plain, tested on the word at once:
 * no byte < 0x20, none == '"' or '\\', none > 0x7e (each test exact as a
 * yes/no, "Bit Twiddling Hacks": hasless, hasvalue, hasmore). */
static inline bool json_plain8(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    const uint64_t q = w ^ (ones * '"'), bs = w ^ (ones * '\\');
    const uint64_t lt20 = (w - ones * 0x20) & ~w & highs;
    const uint64_t is_q = (q - ones) & ~q & highs, is_bs = (bs - ones) & ~bs & highs;
    const uint64_t gt7e = ((w + ones * (127 - 0x7e)) | w) & highs;
    return !(lt20 | is_q | is_bs | gt7e);
}

int audit_json_escape_ref(struct s3w_buf *out, struct s3w_slice s, size_t cap, bool *truncated)
{
    const unsigned char *p = (const unsigned char *)s.ptr;
    size_t i = 0, used = 0;
    while (i < s.len) {
        /* a run of printable ASCII that needs no escape goes in one piece
         * (most values are nothing else) */
        size_t run = 0, most = s.len - i < cap - used ? s.len - i : cap - used;
        for (uint64_t w; run + 8 <= most; run += 8) {
            memcpy(&w, p + i + run, 8);
            if (!json_plain8(w))
                break;
        }
        while (run < most && json_plain[p[i + run]])
            run++;
        if (run) {
            int rc = s3w_buf_append(out, p + i, run);
            if (rc != 0)
                return rc;
            used += run;
            i += run;
            continue;
        }
        unsigned char c = p[i];
        char esc[8];
        const void *piece = p + i;
        size_t plen = 1, adv = 1;
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            piece = esc;
            plen = 2;
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof(esc), "\\u%04x", c);
            piece = esc;
            plen = 6;
        } else if (c >= 0x80) {
            size_t n = utf8_len(p + i, s.len - i);
            if (n == 0) {
                piece = "\\ufffd";
                plen = 6;
            } else {
                plen = adv = n;
            }
        }
        if (plen > cap - used) {
            /* cut before the whole character or escape: the value stays
             * valid JSON and valid UTF-8 */
            if (truncated)
                *truncated = true;
            return 0;
        }
        int rc = s3w_buf_append(out, piece, plen);
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

struct fmt {
    struct s3w_buf *b;
    uint32_t truncated; /* bit per enum field */
};

/* A string value (quoted, capped) or null for a NULL slice. */
static int jval(struct fmt *f, struct s3w_slice v, size_t cap, enum field id)
{
    if (!v.ptr)
        return s3w_buf_append_cstr(f->b, "null");
    bool cut = false;
    int rc = s3w_buf_append_char(f->b, '"');
    rc = rc ? rc : audit_json_escape_ref(f->b, v, cap, &cut);
    rc = rc ? rc : s3w_buf_append_char(f->b, '"');
    if (cut)
        f->truncated |= 1u << id;
    return rc;
}

static int jstr(struct fmt *f, const char *name, struct s3w_slice v, bool comma, size_t cap,
                enum field id)
{
    int rc = comma ? s3w_buf_append(f->b, ",\"", 2) : s3w_buf_append_char(f->b, '"');
    rc = rc ? rc : s3w_buf_append_cstr(f->b, name);
    rc = rc ? rc : s3w_buf_append(f->b, "\":", 2);
    return rc ? rc : jval(f, v, cap, id);
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
    } bad[] = { { "token", 5 },       { "secret", 6 },      { "signature", 9 },
                { "authorization", 13 }, { "credential", 10 }, { "password", 8 } };
    /* one pass (this runs for every key of every record): at each offset
     * the next two bytes, lower-cased (| 0x20 makes a letter lower case and
     * no other byte a letter), against the words' first two, which all
     * differ: most offsets are one switch, with no word compared */
#define PAIR(a, b) ((unsigned)(a) << 8 | (unsigned)(b))
    for (size_t j = 0; j + 5 <= k.len; j++) {
        size_t i;
        switch (PAIR(k.ptr[j] | 0x20, k.ptr[j + 1] | 0x20)) {
        case PAIR('t', 'o'): i = 0; break;
        case PAIR('s', 'e'): i = 1; break;
        case PAIR('s', 'i'): i = 2; break;
        case PAIR('a', 'u'): i = 3; break;
        case PAIR('c', 'r'): i = 4; break;
        case PAIR('p', 'a'): i = 5; break;
        default: continue;
        }
        if (bad[i].n > k.len - j ||
            !s3w_slice_eq_nocase(s3w_slice(k.ptr + j, bad[i].n), s3w_slice(bad[i].w, bad[i].n)))
            continue;
        return !(s3w_slice_eq_nocase(k, S3W_SLICE_LIT("aws:TokenIssueTime")) ||
                 s3w_slice_eq_nocase(k, S3W_SLICE_LIT("s3:signatureversion")) ||
                 s3w_slice_eq_nocase(k, S3W_SLICE_LIT("s3:signatureAge")));
    }
#undef PAIR
    return false;
}

/* "requestContext":{"key":"value","multi":["a","b"],...}. The keys share
 * CAP_CONTEXT; a key whose value does not fit whole is left out (a cut
 * value would be decided again on a value the request never had) and the
 * record says "requestContext" in "truncated". */
static int context_json(struct fmt *f, const struct policy_context *ctx)
{
    struct s3w_buf *b = f->b;
    int rc = s3w_buf_append_cstr(b, ",\"requestContext\":{");
    size_t start = b->len;
    bool first = true;
    for (size_t i = 0; !rc && i < ctx->n; i++) {
        const struct policy_ctx_entry *e = &ctx->entries[i];
        if (context_key_secret(e->key))
            continue;
        size_t mark = b->len;
        size_t room = CAP_CONTEXT - (mark - start);
        bool cut = false;
        rc = s3w_buf_append_cstr(b, first ? "\"" : ",\"");
        rc = rc ? rc : audit_json_escape_ref(b, e->key, room, &cut);
        rc = rc ? rc : s3w_buf_append_cstr(b, e->multi ? "\":[" : "\":");
        for (size_t j = 0; !rc && j < e->nvalues && !cut; j++) {
            rc = j ? s3w_buf_append_char(b, ',') : 0;
            rc = rc ? rc : s3w_buf_append_char(b, '"');
            size_t used = b->len - start;
            rc = rc ? rc : audit_json_escape_ref(b, e->values[j], used < CAP_CONTEXT ? CAP_CONTEXT - used : 0, &cut);
            rc = rc ? rc : s3w_buf_append_char(b, '"');
        }
        rc = rc ? rc : (e->multi ? s3w_buf_append_char(b, ']') : 0);
        if (!rc && (cut || b->len - start > CAP_CONTEXT)) {
            b->len = mark; /* leave the whole key out */
            b->ptr[mark] = '\0';
            f->truncated |= 1u << F_CONTEXT;
            continue;
        }
        first = false;
    }
    return rc ? rc : s3w_buf_append_char(b, '}');
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
static int session_policy_json(struct fmt *f, struct s3w_slice doc, size_t line_start)
{
    struct s3w_buf *b = f->b;
    if (!doc.len)
        return s3w_buf_append_cstr(b, ",\"sessionPolicy\":null");
    size_t mark = b->len;
    /* the room: what the record has left but the field's own punctuation
     * and the "truncated" list's */
    static const char open[] = ",\"sessionPolicy\":\"";
    size_t used = b->len - line_start + sizeof(open) - 1;
    size_t reserve = 1 + AUDIT_TRUNCATED_MAX + 2; /* '"', "}\n" */
    if (used + reserve >= AUDIT_LINE_MAX) {
        f->truncated |= 1u << F_SESSION_POLICY;
        return 0;
    }
    size_t room = AUDIT_LINE_MAX - used - reserve;
    int rc = s3w_buf_append_cstr(b, open);
    const unsigned char *p = (const unsigned char *)doc.ptr;
    size_t i = 0, written = 0;
    bool in_str = false, esc = false, cut = false;
    while (!rc && !cut && i < doc.len) {
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
        size_t before = b->len;
        rc = cut ? 0 : audit_json_escape_ref(b, s3w_slice(doc.ptr + i, j - i), room - written, &cut);
        written += b->len - before;
        i = j;
    }
    rc = rc ? rc : s3w_buf_append_char(b, '"');
    if (!rc && cut) {
        b->len = mark; /* leave the whole field out */
        b->ptr[mark] = '\0';
        f->truncated |= 1u << F_SESSION_POLICY;
    }
    return rc;
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

/* ,"sessionTags":{"Key":"value",...}: a token session's session tags, {}
 * when none; whole or left out and listed, in the room the record has
 * left, and left out if not UTF-8 (audit_format.c) */
static int session_tags_json(struct fmt *f, const struct config_identity_tag *t, size_t n,
                             size_t line_start)
{
    struct s3w_buf *b = f->b;
    size_t mark = b->len;
    size_t used = b->len - line_start, reserve = AUDIT_TRUNCATED_MAX + 2; /* "}\n" */
    size_t room = used + reserve < AUDIT_LINE_MAX ? AUDIT_LINE_MAX - used - reserve : 0;
    if (room < strlen(",\"sessionTags\":{}")) {
        f->truncated |= 1u << F_SESSION_TAGS;
        return 0;
    }
    room -= strlen(",\"sessionTags\":{}");
    int rc = s3w_buf_append_cstr(b, ",\"sessionTags\":{");
    size_t start = b->len;
    bool cut = false;
    for (size_t i = 0; !rc && !cut && i < n; i++) {
        size_t w = b->len - start; /* and ,"":"" to come */
        if (w + 6 > room || !utf8_valid(t[i].key) || !utf8_valid(t[i].value)) {
            cut = true;
            break;
        }
        rc = s3w_buf_append_cstr(b, i ? ",\"" : "\"");
        rc = rc ? rc : audit_json_escape_ref(b, t[i].key, room - w - 6, &cut);
        rc = rc ? rc : s3w_buf_append_cstr(b, "\":\"");
        w = b->len - start;
        if (!rc && !cut)
            rc = audit_json_escape_ref(b, t[i].value, room - w - 1, &cut);
        rc = rc ? rc : s3w_buf_append_char(b, '"');
    }
    rc = rc ? rc : s3w_buf_append_char(b, '}');
    if (!rc && cut) {
        b->len = mark; /* leave the whole field out */
        b->ptr[mark] = '\0';
        f->truncated |= 1u << F_SESSION_TAGS;
    }
    return rc;
}

int audit_format_ref(const struct audit_record *r, struct s3w_buf *b)
{
    size_t line_start = b->len;
    char when[96];
    s3w_iso8601_format_ms(r->time_ms, when); /* CloudTrail's eventTime */
    struct fmt f = { b, 0 };
    size_t nauthz = r->nauthz < AUDIT_MAX_AUTHZ ? r->nauthz : AUDIT_MAX_AUTHZ;
    int rc = s3w_buf_append_cstr(b, "{\"eventVersion\":\"1.0\"");
    rc = rc ? rc : jstr(&f, "eventTime", s3w_slice_cstr(when), true, sizeof(when), F_COUNT);
    rc = rc ? rc : s3w_buf_append_cstr(b, ",\"eventSource\":\"s3warden\"");
    rc = rc ? rc : jstr(&f, "requestID", r->request_id, true, CAP_REQUEST_ID, F_REQUEST_ID);
    rc = rc ? rc : jstr(&f, "upstreamRequestID",
                    r->upstream_request_id.len ? r->upstream_request_id : S3W_SLICE_NULL, true,
                    CAP_UP_REQUEST_ID, F_UP_REQUEST_ID);
    rc = rc ? rc : jstr(&f, "sourceIPAddress", r->source_ip, true, CAP_SOURCE_IP, F_SOURCE_IP);
    rc = rc ? rc : jstr(&f, "userAgent", r->user_agent, true, CAP_USER_AGENT, F_USER_AGENT);
    rc = rc ? rc : s3w_buf_append_cstr(b, ",\"userIdentity\":{");
    rc = rc ? rc : jstr(&f, "type", r->identity_type, false, CAP_ID_TYPE, F_ID_TYPE);
    rc = rc ? rc : jstr(&f, "principalId", r->principal_id, true, CAP_PRINCIPAL_ID, F_PRINCIPAL_ID);
    rc = rc ? rc : jstr(&f, "arn", r->arn, true, CAP_ARN, F_ARN);
    rc = rc ? rc : jstr(&f, "accountId", r->account_id, true, CAP_ACCOUNT_ID, F_ACCOUNT_ID);
    rc = rc ? rc
            : jstr(&f, "accessKeyId", r->access_key_id, true, CAP_ACCESS_KEY_ID, F_ACCESS_KEY_ID);
    if (!rc && r->session_role_arn.len) {
        rc = s3w_buf_append_cstr(b, ",\"sessionContext\":{\"sessionIssuer\":{\"type\":\"Role\"");
        rc = rc ? rc : jstr(&f, "arn", r->session_role_arn, true, CAP_ISSUER_ARN, F_ISSUER_ARN);
        rc = rc ? rc : s3w_buf_append_cstr(b, "}");
        rc = rc ? rc
                : jstr(&f, "sessionName", r->session_name, true, CAP_SESSION_NAME,
                       F_SESSION_NAME);
        rc = rc ? rc : s3w_buf_append_cstr(b, "}");
    }
    if (!rc && r->wi_provider.len) {
        /* CloudTrail's webIdFederationData, with the claims AWS keys on */
        rc = s3w_buf_append_cstr(b, ",\"webIdFederationData\":{");
        rc = rc ? rc : jstr(&f, "federatedProvider", r->wi_provider, false, CAP_WI_PROVIDER,
                            F_WEB_IDENTITY);
        rc = rc ? rc : s3w_buf_append_cstr(b, ",\"attributes\":{");
        rc = rc ? rc : jstr(&f, "sub", r->wi_sub, false, CAP_WI_CLAIM, F_WEB_IDENTITY);
        rc = rc ? rc : jstr(&f, "aud", r->wi_aud, true, CAP_WI_CLAIM, F_WEB_IDENTITY);
        rc = rc ? rc : s3w_buf_append_cstr(b, "}}");
    }
    rc = rc ? rc : s3w_buf_append_cstr(b, "}");
    rc = rc ? rc : jstr(&f, "eventName", r->event_name, true, CAP_EVENT_NAME, F_EVENT_NAME);
    rc = rc ? rc : s3w_buf_append_cstr(b, ",\"requestParameters\":{");
    rc = rc ? rc : jstr(&f, "bucketName", r->bucket, false, CAP_BUCKET, F_BUCKET);
    rc = rc ? rc : jstr(&f, "key", r->key, true, CAP_KEY, F_KEY);
    if (r->sts_session_name.len)
        rc = rc ? rc : jstr(&f, "roleSessionName", r->sts_session_name, true, CAP_SESSION_NAME,
                            F_STS_SESSION_NAME);
    rc = rc ? rc : s3w_buf_append_cstr(b, "}");
    if (r->sts_issued_key_id.len) {
        rc = rc ? rc : s3w_buf_append_cstr(b, ",\"responseElements\":{");
        rc = rc ? rc : jstr(&f, "accessKeyId", r->sts_issued_key_id, false, CAP_ACCESS_KEY_ID,
                            F_STS_KEY_ID);
        rc = rc ? rc : s3w_buf_append_cstr(b, "}");
    }
    rc = rc ? rc : s3w_buf_append_cstr(b, ",\"actions\":[");
    for (size_t i = 0; !rc && i < nauthz; i++) {
        rc = i ? s3w_buf_append_char(b, ',') : 0;
        rc = rc ? rc : jval(&f, r->actions[i].ptr ? r->actions[i] : S3W_SLICE_LIT(""), CAP_ACTION,
                        F_ACTIONS);
    }
    rc = rc ? rc : s3w_buf_append_cstr(b, "],\"resources\":[");
    /* the resources share one budget: a CopyObject's two ARNs may each
     * hold a whole key, 12 of a multi-action request get a fair share */
    size_t res_cap = nauthz ? CAP_RESOURCES / nauthz : 0;
    if (res_cap > CAP_RESOURCE)
        res_cap = CAP_RESOURCE;
    for (size_t i = 0; !rc && i < nauthz; i++) {
        rc = i ? s3w_buf_append_char(b, ',') : 0;
        rc = rc ? rc : jval(&f, r->resources[i].ptr ? r->resources[i] : S3W_SLICE_LIT(""), res_cap,
                        F_RESOURCES);
    }
    rc = rc ? rc : s3w_buf_append_char(b, ']');
    rc = rc ? rc : jstr(&f, "decision", r->decision, true, CAP_DECISION, F_DECISION);
    rc = rc ? rc : jstr(&f, "decidingStatements", r->deciding, true, CAP_DECIDING, F_DECIDING);
    rc = rc ? rc : s3w_buf_append_cstr(b, r->cross_account ? ",\"crossAccount\":true"
                                                          : ",\"crossAccount\":false");
    rc = rc ? rc : jstr(&f, "errorCode", r->error_code.len ? r->error_code : S3W_SLICE_NULL, true,
                    CAP_ERROR_CODE, F_ERROR_CODE);
    rc = rc ? rc : s3w_buf_append_cstr(b, ",\"httpStatus\":");
    rc = rc ? rc : s3w_buf_append_i64(b, r->http_status);
    rc = rc ? rc : s3w_buf_append_cstr(b, ",\"bytesIn\":");
    rc = rc ? rc : s3w_buf_append_u64(b, r->bytes_in);
    rc = rc ? rc : s3w_buf_append_cstr(b, ",\"bytesOut\":");
    rc = rc ? rc : s3w_buf_append_u64(b, r->bytes_out);
    rc = rc ? rc : s3w_buf_append_cstr(b, ",\"latencyMs\":");
    rc = rc ? rc : s3w_buf_append_i64(b, r->latency_ms);
    rc = rc ? rc : s3w_buf_append_cstr(b, ",\"upstreamLatencyMs\":");
    if (!rc)
        rc = r->upstream_latency_ms >= 0 ? s3w_buf_append_i64(b, r->upstream_latency_ms)
                                         : s3w_buf_append_cstr(b, "null");
    rc = rc ? rc : jstr(&f, "tls", r->tls.len ? r->tls : S3W_SLICE_NULL, true, CAP_TLS, F_TLS);
    if (!rc && r->context)
        rc = context_json(&f, r->context);
    if (!rc && r->token_session)
        rc = session_policy_json(&f, r->session_policy, line_start);
    if (!rc && r->token_session)
        rc = session_tags_json(&f, r->session_tags, r->nsession_tags, line_start);
    if (!rc && f.truncated) {
        rc = s3w_buf_append_cstr(b, ",\"truncated\":[");
        bool first = true;
        for (int i = 0; !rc && i < F_COUNT; i++) {
            if (!(f.truncated & (1u << i)))
                continue;
            rc = s3w_buf_printf(b, "%s\"%s\"", first ? "" : ",", field_names[i]);
            first = false;
        }
        rc = rc ? rc : s3w_buf_append_char(b, ']');
    }
    rc = rc ? rc : s3w_buf_append_cstr(b, "}\n");
    return rc;
}

