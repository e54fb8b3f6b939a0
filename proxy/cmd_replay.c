/*
 * cmd_replay.c - `s3warden replay --config CANDIDATE AUDIT_FILE...`
 * (cmd_explain.h): every recorded request decided again under a candidate
 * config, from the condition keys its audit record carries
 * (requestContext, which holds its time as aws:CurrentTime), with the
 * caller as the candidate config defines it, by authz_decide - the
 * function `serve` runs - and compared with the recorded decision. A role
 * session from a session token is decided with the session policy its
 * record carries (sessionPolicy, compiled as config_resolve compiles the
 * token's), as serve decided it; without one (an older record, or a
 * policy too long for the record) it is not replayable: deciding it
 * without its session policy could only widen what it was allowed. Its
 * principal tags are the candidate role's overridden by the session tags
 * the record carries (sessionTags), as serve builds them (identity.c);
 * without them (an older record, or tags too long for the record) it is
 * not replayable either: the role's tag would stand where the session's
 * decided.
 *
 * It streams: one line buffer (a record is at most AUDIT_LINE_MAX bytes),
 * one record's decoded strings, and a bounded table of flip groups, so a
 * log of any size replays in constant memory. The JSON of a record is
 * scanned in place, with no allocation per record: only the fields replay
 * reads are decoded (replay_record.c).
 */
#include "cmd_explain.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>
#include <zlib.h>

#include "audit.h"
#include "context.h"
#include "replay_record.h"

#define REPLAY_LINE_MAX (AUDIT_LINE_MAX + 1)
#define REPLAY_MAX_GROUPS 4096  /* flip groups kept; further ones are counted */

/* ---- outcome -------------------------------------------------------------------- */
enum why_not {
    NR_PARSE, NR_NO_CONTEXT, NR_CAPPED, NR_NO_AUTHZ, NR_PRINCIPAL, NR_DECISION, NR_CONTEXT_FULL,
    NR_SESSION_UNKNOWN, NR_SESSION_CAPPED, NR_SESSION_BAD, NR_TAGS_UNKNOWN, NR_TAGS_CAPPED,
    NR_COUNT
};

static const char *const why_not_text[NR_COUNT] = {
    [NR_PARSE] = "not an s3warden audit record",
    [NR_NO_CONTEXT] = "no requestContext (refused before evaluation, or an older record)",
    [NR_CAPPED] = "requestContext was capped in the record",
    [NR_NO_AUTHZ] = "no recorded authorization (DeleteObjects is authorized per key)",
    [NR_PRINCIPAL] = "the caller is not in the candidate config",
    [NR_DECISION] = "no allow/deny decision recorded",
    [NR_CONTEXT_FULL] = "too many condition keys",
    /* one string, in parentheses: clang's -Wstring-concatenation */
    [NR_SESSION_UNKNOWN] = ("a session token's role session without sessionPolicy (an older "
                            "record): its session policy is unknown"),
    [NR_SESSION_CAPPED] = "the session policy did not fit in the record",
    [NR_SESSION_BAD] = "the recorded session policy does not compile",
    [NR_TAGS_UNKNOWN] = ("a session token's role session without sessionTags (an older "
                         "record): its session tags are unknown"),
    [NR_TAGS_CAPPED] = "the session tags did not fit in the record",
};

struct group {
    char *key; /* "principal\taction\tbucket" */
    uint64_t count;
    bool newly_denied;
    char *example; /* request id, time, key */
    char *deciding;
    char *message;
};

/* A caller as the candidate defines it, with its condition keys laid out
 * once (config_identity_fill_context searches the context per key). */
struct caller {
    char arn[1024];
    size_t arn_len;
    bool ok;
    struct config_identity id;
    struct policy_principal principal;
    struct policy_context keys;
};

#define REPLAY_CALLERS 8

struct replay {
    const struct config *cfg;
    bool json;
    uint64_t read, unchanged, newly_denied, newly_allowed, not_replayable;
    uint64_t why[NR_COUNT];
    struct group *groups;
    size_t ngroups;
    uint64_t groups_dropped;
    /* the callers resolved last (a log has few callers, interleaved) */
    struct caller callers[REPLAY_CALLERS];
    size_t next_caller;
    /* the session policy compiled last (a session's records repeat it) */
    char *sp_json;
    size_t sp_len;
    struct policy *sp;
    /* a token session's "aws:PrincipalTag/<key>" keys (its sessionTags) */
    char tag_keys[REPLAY_MAX_TAGS][sizeof("aws:PrincipalTag/") + REPLAY_TAG_KEY_MAX];
};

static struct s3w_slice bucket_of(struct s3w_slice arn)
{
    static const char pre[] = "arn:aws:s3:::";
    if (arn.len <= sizeof(pre) - 1 || memcmp(arn.ptr, pre, sizeof(pre) - 1) != 0)
        return S3W_SLICE_LIT("*");
    const char *b = arn.ptr + sizeof(pre) - 1;
    size_t n = arn.len - (sizeof(pre) - 1);
    const char *slash = memchr(b, '/', n);
    return s3w_slice(b, slash ? (size_t)(slash - b) : n);
}

static void add_flip(struct replay *rp, const struct replay_rec *r, struct s3w_slice who,
                     struct s3w_slice action, struct s3w_slice resource, bool denied,
                     const struct authz_verdict *v, const char *msg)
{
    char key[2048];
    struct s3w_slice b = bucket_of(resource);
    snprintf(key, sizeof(key), "%s\t%.*s\t%.*s\t%.*s", denied ? "D" : "A", (int)who.len, who.ptr,
             (int)action.len, action.ptr, (int)b.len, b.ptr);
    for (size_t i = 0; i < rp->ngroups; i++)
        if (strcmp(rp->groups[i].key, key) == 0) {
            rp->groups[i].count++;
            return;
        }
    if (rp->ngroups == REPLAY_MAX_GROUPS) {
        rp->groups_dropped++;
        return;
    }
    char ex[4096], dec[1024];
    snprintf(ex, sizeof(ex), "%.*s %.*s %.*s s3://%.*s/%.*s (request %.*s)",
             (int)r->event_time.len, r->event_time.ptr, (int)r->event_name.len, r->event_name.ptr,
             (int)action.len, action.ptr, (int)r->bucket.len, r->bucket.ptr, (int)r->key.len,
             r->key.ptr, (int)r->request_id.len, r->request_id.ptr);
    s3w_explain_deciding(v, dec, sizeof(dec));
    struct group *g = &rp->groups[rp->ngroups];
    g->key = strdup(key);
    g->example = strdup(ex);
    g->deciding = strdup(dec);
    g->message = strdup(denied ? msg : "");
    g->count = 1;
    g->newly_denied = denied;
    if (g->key && g->example && g->deciding && g->message)
        rp->ngroups++;
}

/* The caller of a record under the candidate config, or NULL. */
static const struct caller *resolve(struct replay *rp, const struct replay_rec *r)
{
    bool anon = KEQ(r->id_type, "Anonymous") || !r->arn.len;
    struct s3w_slice arn = anon ? S3W_SLICE_LIT("anonymous") : r->arn;
    for (size_t i = 0; i < REPLAY_CALLERS; i++) {
        const struct caller *c = &rp->callers[i];
        if (c->arn_len == arn.len && memcmp(c->arn, arn.ptr, arn.len) == 0)
            return c->ok ? c : NULL;
    }
    if (arn.len >= sizeof(rp->callers[0].arn))
        return NULL;
    struct caller *c = &rp->callers[rp->next_caller];
    rp->next_caller = (rp->next_caller + 1) % REPLAY_CALLERS;
    memcpy(c->arn, arn.ptr, arn.len);
    c->arn[arn.len] = '\0';
    c->arn_len = arn.len;
    const char *why;
    c->ok = s3w_explain_identity(rp->cfg, c->arn, 0, &c->id, &why) == 0;
    if (c->ok) {
        config_identity_principal(&c->id, &c->principal);
        policy_context_init(&c->keys);
        c->ok = config_identity_fill_context(&c->id, &c->keys) == 0;
    }
    return c->ok ? c : NULL;
}

/* Keys that come from the caller as the config defines it: the recorded
 * ones are replaced by the candidate's (a tag removed there is gone). The
 * keys of a session's token (aws:TokenIssueTime, aws:SourceIdentity) stay
 * as recorded: the config cannot know them; the recorded one comes first
 * and is the one read. */
static bool identity_key(struct s3w_slice k)
{
    static const struct s3w_slice keys[] = {
        S3W_SLICE_LIT("aws:userid"), S3W_SLICE_LIT("aws:username"),
        S3W_SLICE_LIT("aws:PrincipalArn"), S3W_SLICE_LIT("aws:PrincipalAccount"),
        S3W_SLICE_LIT("aws:PrincipalType"),
    };
    if (k.len < 10 || (k.ptr[0] | 0x20) != 'a' || k.ptr[3] != ':')
        return false;
    if (k.len > 17 && s3w_slice_eq_nocase(s3w_slice(k.ptr, 17), S3W_SLICE_LIT("aws:PrincipalTag/")))
        return true;
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (k.len == keys[i].len && s3w_slice_eq_nocase(k, keys[i]))
            return true;
    return false;
}

static void not_replayable(struct replay *rp, enum why_not w)
{
    rp->not_replayable++;
    rp->why[w]++;
}

/* A role session from a session token: the only callers whose session
 * policy the config cannot know (config_resolve: an ASIA key is a token's;
 * a static session's policy is the candidate's, as any identity's). */
static bool token_session(const struct replay_rec *r)
{
    return KEQ(r->id_type, "AssumedRole") &&
           s3w_slice_starts_with(r->access_key_id, S3W_SLICE_LIT("ASIA"));
}

/* The recorded session policy compiled, or NULL when it does not compile. */
static const struct policy *session_policy(struct replay *rp, struct s3w_slice json)
{
    if (rp->sp && rp->sp_len == json.len && memcmp(rp->sp_json, json.ptr, json.len) == 0)
        return rp->sp;
    policy_free(rp->sp);
    rp->sp = NULL;
    if (config_session_policy_compile(json, &rp->sp) != POLICY_OK)
        return NULL;
    memcpy(rp->sp_json, json.ptr, json.len); /* a record's field: under REPLAY_LINE_MAX */
    rp->sp_len = json.len;
    return rp->sp;
}

/* A token session's tags over the candidate role's: a session tag replaces
 * the role's tag of the same key (in any case), as identity.c builds a
 * session's tags. false when the context is full; *ntags: the principal
 * tags the session then has. */
static bool session_tags(struct replay *rp, struct replay_rec *r, size_t *ntags)
{
    static const char pre[] = "aws:PrincipalTag/";
    const struct s3w_slice prefix = S3W_SLICE_LIT("aws:PrincipalTag/");
    for (size_t i = 0; i < r->ntags; i++) {
        char *k = rp->tag_keys[i];
        memcpy(k, pre, sizeof(pre) - 1);
        memcpy(k + sizeof(pre) - 1, r->tag_keys[i].ptr, r->tag_keys[i].len);
        struct s3w_slice key = s3w_slice(k, sizeof(pre) - 1 + r->tag_keys[i].len);
        struct policy_ctx_entry *e = NULL;
        for (size_t j = 0; j < r->ctx.n && !e; j++)
            if (s3w_slice_eq_nocase(r->ctx.entries[j].key, key))
                e = &r->ctx.entries[j];
        if (!e) {
            if (r->ctx.n == POLICY_CTX_MAX_KEYS)
                return false;
            e = &r->ctx.entries[r->ctx.n++];
        }
        *e = (struct policy_ctx_entry){ .key = key, .one = r->tag_values[i], .nvalues = 1 };
        e->values = &e->one;
    }
    *ntags = 0;
    for (size_t j = 0; j < r->ctx.n; j++) {
        struct s3w_slice k = r->ctx.entries[j].key;
        *ntags += k.len > prefix.len && s3w_slice_eq_nocase(s3w_slice(k.ptr, prefix.len), prefix);
    }
    return true;
}

/* Why a scanned record cannot be decided again, or NR_COUNT when it can. */
static enum why_not replayable(const struct replay_rec *r, bool was_allowed, bool was_denied)
{
    if (!r->has_context)
        return NR_NO_CONTEXT;
    if (r->context_truncated)
        return NR_CAPPED;
    if (!r->nactions || r->nactions != r->nresources)
        return NR_NO_AUTHZ;
    if (!was_allowed && !was_denied)
        return NR_DECISION;
    if (token_session(r) && r->session_policy_truncated)
        return NR_SESSION_CAPPED;
    if (token_session(r) && !r->has_session_policy)
        return NR_SESSION_UNKNOWN;
    if (token_session(r) && r->session_tags_truncated)
        return NR_TAGS_CAPPED;
    if (token_session(r) && !r->has_session_tags)
        return NR_TAGS_UNKNOWN;
    return NR_COUNT;
}

static void replay_record(struct replay *rp, struct replay_rec *r)
{
    bool was_allowed = KEQ(r->decision, "Allowed");
    bool was_denied = KEQ(r->decision, "ExplicitlyDenied") || KEQ(r->decision, "ImplicitlyDenied") ||
                      KEQ(r->decision, "Denied");
    enum why_not w0 = replayable(r, was_allowed, was_denied);
    const struct caller *who_c = w0 == NR_COUNT ? resolve(rp, r) : NULL;
    if (w0 == NR_COUNT && !who_c)
        w0 = NR_PRINCIPAL;
    if (w0 != NR_COUNT) {
        not_replayable(rp, w0);
        return;
    }
    const struct policy *sp = NULL;
    if (token_session(r) && r->session_policy.ptr && !(sp = session_policy(rp, r->session_policy))) {
        not_replayable(rp, NR_SESSION_BAD);
        return;
    }
    /* the recorded keys, the caller's replaced by the candidate's */
    size_t w = 0;
    for (size_t i = 0; i < r->ctx.n; i++)
        if (!identity_key(r->ctx.entries[i].key)) {
            r->ctx.entries[w] = r->ctx.entries[i];
            if (!r->ctx.entries[w].multi)
                r->ctx.entries[w].values = &r->ctx.entries[w].one;
            w++;
        }
    r->ctx.n = w;
    if (w + who_c->keys.n > POLICY_CTX_MAX_KEYS) {
        not_replayable(rp, NR_CONTEXT_FULL);
        return;
    }
    for (size_t i = 0; i < who_c->keys.n; i++) {
        struct policy_ctx_entry *e = &r->ctx.entries[r->ctx.n++];
        *e = who_c->keys.entries[i];
        if (!e->multi)
            e->values = &e->one;
    }
    size_t ntags = 0;
    if (token_session(r) && !session_tags(rp, r, &ntags)) {
        not_replayable(rp, NR_CONTEXT_FULL);
        return;
    }
    struct s3w_slice who = who_c->principal.arn.len ? who_c->principal.arn : S3W_SLICE_LIT("anonymous");
    if (ntags > CONFIG_IDENTITY_MAX_TAGS) {
        /* more than an identity holds: serve refuses every request of the
         * session (identity.c, 500 InternalError) rather than leave a tag
         * out, so such a candidate denies them all */
        if (!was_allowed) {
            rp->unchanged++;
            return;
        }
        struct authz_verdict none;
        memset(&none, 0, sizeof(none));
        char msg[256];
        snprintf(msg, sizeof(msg), "s3warden refuses the session: its %zu session tags and its "
                 "role's other tags make %zu principal tags, more than the %d it holds",
                 r->ntags, ntags, CONFIG_IDENTITY_MAX_TAGS);
        rp->newly_denied++;
        add_flip(rp, r, who, r->actions[0], r->resources[0], true, &none, msg);
        return;
    }
    struct authz_subject subj;
    authz_subject_init(&subj, rp->cfg, &who_c->id, &who_c->principal, &r->ctx);
    /* a token's session: the session policy it was decided with, or none */
    if (token_session(r))
        subj.session = sp;
    /* the bucket owner's root on its bucket policy: left out, as serve does */
    if (who_c->id.type == CONFIG_PRINCIPAL_ACCOUNT && r->bucket.len &&
        (s3w_slice_eq_cstr(r->event_name, "GetBucketPolicy") ||
         s3w_slice_eq_cstr(r->event_name, "PutBucketPolicy") ||
         s3w_slice_eq_cstr(r->event_name, "DeleteBucketPolicy"))) {
        const struct config_bucket *bc = config_find_bucket(rp->cfg, r->bucket);
        subj.skip_bucket_policy = bc && s3w_slice_eq_cstr(who_c->principal.account, bc->account);
    }
    struct authz_verdict v;
    char msg[1024];
    bool allowed = true;
    size_t at = 0;
    struct authz_verdict allow_v;
    memset(&allow_v, 0, sizeof(allow_v));
    for (size_t i = 0; i < r->nactions && allowed; i++) {
        allowed = authz_decide(&subj, r->actions[i], r->resources[i], NULL, &v, msg, sizeof(msg));
        at = i;
        if (allowed && i == 0)
            allow_v = v;
    }
    if (allowed == was_allowed) {
        rp->unchanged++;
        return;
    }
    if (!allowed) {
        rp->newly_denied++;
        add_flip(rp, r, who, r->actions[at], r->resources[at], true, &v, msg);
    } else {
        rp->newly_allowed++;
        add_flip(rp, r, who, r->actions[0], r->resources[0], false, &allow_v, "");
    }
}

/* ---- input ------------------------------------------------------------------------ */
/* A plain file as it is, or gzip (RFC 1952): one member or several (gzip's
 * own way to append, as `cat a.gz b.gz`). zlib's gzread reads both, but
 * ends quietly at bytes after a member that do not begin another (a plain
 * log appended to an archive, a damaged copy), and those records went
 * uncounted with exit 0: here they are an error, as a member cut short. */
#define RIN_BUF (256 * 1024)
struct rin {
    int fd;
    bool gzip, inited, in_member, eof;
    z_stream zs;
    unsigned char *in;
    size_t pos, len;  /* in[pos..len) not yet used */
    long long off;    /* the file's offset of in[0] */
    long long zeros;  /* zero bytes after the last member (tar's padding) */
    char err[160];
};

/* At least k unused bytes in r->in if the input has them; false on a read
 * error. */
static bool rin_need(struct rin *r, size_t k)
{
    while (r->len - r->pos < k && !r->eof) {
        if (r->pos) {
            memmove(r->in, r->in + r->pos, r->len - r->pos);
            r->off += (long long)r->pos;
            r->len -= r->pos;
            r->pos = 0;
        }
        ssize_t n = read(r->fd, r->in + r->len, RIN_BUF - r->len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            snprintf(r->err, sizeof(r->err), "cannot read: %s", strerror(errno));
            return false;
        }
        if (n == 0)
            r->eof = true;
        r->len += (size_t)n;
    }
    return true;
}

static bool rin_open(struct rin *r, int fd)
{
    memset(r, 0, sizeof(*r));
    r->fd = fd;
    r->in = malloc(RIN_BUF);
    if (!r->in) {
        snprintf(r->err, sizeof(r->err), "out of memory");
        return false;
    }
    if (!rin_need(r, 2))
        return false;
    r->gzip = r->len >= 2 && r->in[0] == 0x1f && r->in[1] == 0x8b;
    return true;
}

/* Bytes of the text into out (at most cap): > 0; 0 at its end; -1 with
 * r->err. */
static ssize_t rin_read(struct rin *r, char *out, size_t cap)
{
    if (!r->gzip) {
        if (!rin_need(r, 1))
            return -1;
        size_t n = r->len - r->pos < cap ? r->len - r->pos : cap;
        memcpy(out, r->in + r->pos, n);
        r->pos += n;
        return (ssize_t)n;
    }
    for (;;) {
        if (!r->in_member) {
            if (!rin_need(r, 2))
                return -1;
            if (r->pos == r->len)
                return 0; /* after a whole member: the end */
            /* zero bytes to the end of the file are padding (a tape
             * block's), as gzip reads them ("trailing zero bytes ignored");
             * any other byte among or after them is not */
            while (r->zeros || r->in[r->pos] == 0) {
                while (r->pos < r->len && r->in[r->pos] == 0) {
                    r->pos++;
                    r->zeros++;
                }
                if (!rin_need(r, 1))
                    return -1;
                if (r->pos == r->len)
                    return 0;
                if (r->in[r->pos] != 0) {
                    snprintf(r->err, sizeof(r->err),
                             "bytes after the end of the gzip data at byte %lld are not gzip: "
                             "not read",
                             r->off + (long long)r->pos - r->zeros);
                    return -1;
                }
            }
            if (r->len - r->pos < 2 || r->in[r->pos] != 0x1f || r->in[r->pos + 1] != 0x8b) {
                snprintf(r->err, sizeof(r->err),
                         "bytes after the end of the gzip data at byte %lld are not gzip: not read",
                         r->off + (long long)r->pos);
                return -1;
            }
            int zr = r->inited ? inflateReset(&r->zs) : inflateInit2(&r->zs, 16 + MAX_WBITS);
            if (zr != Z_OK) {
                snprintf(r->err, sizeof(r->err), "cannot inflate: %s", zError(zr));
                return -1;
            }
            r->inited = true;
            r->in_member = true;
        }
        /* inflate may still hold output when the input is used up */
        size_t was = r->pos;
        r->zs.next_in = r->in + r->pos;
        r->zs.avail_in = (uInt)(r->len - r->pos);
        r->zs.next_out = (Bytef *)out;
        r->zs.avail_out = (uInt)(cap < UINT_MAX ? cap : UINT_MAX);
        int zr = inflate(&r->zs, Z_NO_FLUSH);
        r->pos = r->len - r->zs.avail_in;
        size_t made = (size_t)((char *)r->zs.next_out - out);
        if (zr == Z_STREAM_END) {
            r->in_member = false;
        } else if (zr != Z_OK && zr != Z_BUF_ERROR) {
            snprintf(r->err, sizeof(r->err), "%s", r->zs.msg ? r->zs.msg : zError(zr));
            return -1;
        }
        if (made)
            return (ssize_t)made;
        if (!r->in_member || r->pos != was)
            continue;
        /* nothing made, nothing used: the member needs more input */
        if (r->pos < r->len) {
            snprintf(r->err, sizeof(r->err), "cannot inflate");
            return -1;
        }
        if (!rin_need(r, 1))
            return -1;
        if (r->pos == r->len) {
            snprintf(r->err, sizeof(r->err), "unexpected end of file (the gzip data is cut short)");
            return -1;
        }
    }
}

static void rin_close(struct rin *r)
{
    if (r->inited)
        inflateEnd(&r->zs);
    free(r->in);
    close(r->fd);
}

static int replay_file(struct replay *rp, const char *path, char *line, struct replay_rec *r)
{
    int fd = strcmp(path, "-") == 0 ? dup(0) : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "s3warden: replay: %s: cannot open\n", path);
        return -1;
    }
    struct rin in;
    if (!rin_open(&in, fd)) {
        fprintf(stderr, "s3warden: replay: %s: %s\n", path, in.err);
        rin_close(&in);
        return -1;
    }
    size_t have = 0;
    bool skipping = false; /* inside a line longer than any record */
    int rc = 0;
    for (;;) {
        ssize_t n = rin_read(&in, line + have, REPLAY_LINE_MAX - have);
        if (n < 0) {
            /* a gzip stream cut short, damaged, or followed by bytes that
             * are not gzip (probe 21: a half-copied archive replayed as if
             * whole, its last records missing, exit 0) */
            fprintf(stderr, "s3warden: replay: %s: %s\n", path, in.err);
            rc = -1;
            break;
        }
        size_t end = have + (size_t)n;
        size_t start = 0;
        for (;;) {
            char *nl = memchr(line + start, '\n', end - start);
            if (!nl)
                break;
            size_t len = (size_t)(nl - (line + start));
            if (skipping) {
                skipping = false;
            } else if (len) {
                rp->read++;
                if (!replay_rec_scan(r, line + start, len))
                    not_replayable(rp, NR_PARSE);
                else
                    replay_record(rp, r);
            }
            start += len + 1;
        }
        if (n == 0) {
            if (end > start && !skipping) { /* a last line without '\n' */
                rp->read++;
                if (!replay_rec_scan(r, line + start, end - start))
                    not_replayable(rp, NR_PARSE);
                else
                    replay_record(rp, r);
            }
            break;
        }
        memmove(line, line + start, end - start);
        have = end - start;
        if (have == REPLAY_LINE_MAX) {
            /* longer than any record: count it once and drop the rest */
            if (!skipping) {
                rp->read++;
                not_replayable(rp, NR_PARSE);
            }
            skipping = true;
            have = 0;
        }
    }
    if (rc == 0 && in.zeros)
        fprintf(stderr, "s3warden: replay: %s: %lld zero bytes after the gzip data ignored\n",
                path, in.zeros);
    rin_close(&in);
    return rc;
}

/* ---- output ----------------------------------------------------------------------- */
static int cmp_group(const void *a, const void *b)
{
    const struct group *x = a, *y = b;
    if (x->newly_denied != y->newly_denied)
        return x->newly_denied ? -1 : 1;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp(x->key, y->key);
}

static void split3(const char *key, char out[3][1024])
{
    const char *p = strchr(key, '\t') + 1;
    for (int i = 0; i < 3; i++) {
        const char *t = strchr(p, '\t');
        size_t n = t ? (size_t)(t - p) : strlen(p);
        snprintf(out[i], sizeof(out[i]), "%.*s", (int)n, p);
        p = t ? t + 1 : p + n;
    }
}

static void print_text(const struct replay *rp)
{
    printf("records read      %llu\n", (unsigned long long)rp->read);
    printf("unchanged         %llu\n", (unsigned long long)rp->unchanged);
    printf("newly denied      %llu\n", (unsigned long long)rp->newly_denied);
    printf("newly allowed     %llu\n", (unsigned long long)rp->newly_allowed);
    printf("not replayable    %llu\n", (unsigned long long)rp->not_replayable);
    for (int i = 0; i < NR_COUNT; i++)
        if (rp->why[i])
            printf("  %-15llu %s\n", (unsigned long long)rp->why[i], why_not_text[i]);
    for (size_t i = 0; i < rp->ngroups; i++) {
        const struct group *g = &rp->groups[i];
        char f[3][1024];
        split3(g->key, f);
        printf("\n%s  %s  %s  %s  (%llu)\n", g->newly_denied ? "NEWLY DENIED " : "NEWLY ALLOWED",
               f[0], f[1], f[2], (unsigned long long)g->count);
        printf("  e.g.      %s\n", g->example);
        printf("  deciding  %s\n", g->deciding);
        if (g->message[0])
            printf("  message   %s\n", g->message);
    }
    if (rp->groups_dropped)
        printf("\n(%llu flips in further groups not listed)\n", (unsigned long long)rp->groups_dropped);
}

static void print_json(const struct replay *rp)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "read", (double)rp->read);
    cJSON_AddNumberToObject(o, "unchanged", (double)rp->unchanged);
    cJSON_AddNumberToObject(o, "newlyDenied", (double)rp->newly_denied);
    cJSON_AddNumberToObject(o, "newlyAllowed", (double)rp->newly_allowed);
    cJSON_AddNumberToObject(o, "notReplayable", (double)rp->not_replayable);
    cJSON *why = cJSON_AddObjectToObject(o, "notReplayableWhy");
    for (int i = 0; i < NR_COUNT; i++)
        if (rp->why[i])
            cJSON_AddNumberToObject(why, why_not_text[i], (double)rp->why[i]);
    cJSON *flips = cJSON_AddArrayToObject(o, "flips");
    for (size_t i = 0; i < rp->ngroups; i++) {
        const struct group *g = &rp->groups[i];
        char f[3][1024];
        split3(g->key, f);
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "change", g->newly_denied ? "newlyDenied" : "newlyAllowed");
        cJSON_AddStringToObject(x, "principal", f[0]);
        cJSON_AddStringToObject(x, "action", f[1]);
        cJSON_AddStringToObject(x, "bucket", f[2]);
        cJSON_AddNumberToObject(x, "count", (double)g->count);
        cJSON_AddStringToObject(x, "example", g->example);
        cJSON_AddStringToObject(x, "deciding", g->deciding);
        cJSON_AddStringToObject(x, "message", g->message);
        cJSON_AddItemToArray(flips, x);
    }
    cJSON_AddNumberToObject(o, "flipGroupsNotListed", (double)rp->groups_dropped);
    char *t = cJSON_Print(o);
    if (t)
        printf("%s\n", t);
    cJSON_free(t);
    cJSON_Delete(o);
}

int s3w_cmd_replay(int argc, char **argv)
{
    const char *config_path = NULL;
    bool json = false;
    int first_file = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            config_path = argv[++i];
        } else if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "s3warden: replay: unknown option '%s'\n", argv[i]);
            first_file = -1;
            break;
        } else {
            first_file = i;
            break;
        }
    }
    if (!config_path || first_file <= 0) {
        fprintf(stderr, "s3warden: usage: s3warden replay --config CANDIDATE [--json] "
                "AUDIT_FILE... (plain or gzip; - reads stdin)\n");
        return 2;
    }
    struct config_errors errs;
    config_errors_init(&errs);
    struct config *cfg = NULL;
    int rc = config_load(config_path, &cfg, &errs);
    if (rc != CONFIG_OK) {
        for (size_t i = 0; i < errs.n; i++)
            fprintf(stderr, "s3warden: %s\n", errs.items[i].text);
        fprintf(stderr, "s3warden: replay: %s: %s\n", config_path, config_strerror(rc));
        config_errors_cleanup(&errs);
        return 2;
    }
    config_errors_cleanup(&errs);
    int ret = 2;
    struct replay *rp = calloc(1, sizeof(*rp));
    struct replay_rec *r = calloc(1, sizeof(*r));
    char *line = malloc(REPLAY_LINE_MAX);
    char *scratch = malloc(REPLAY_LINE_MAX);
    char *sp_json = malloc(REPLAY_LINE_MAX);
    struct group *groups = calloc(REPLAY_MAX_GROUPS, sizeof(*groups));
    if (!rp || !r || !line || !scratch || !sp_json || !groups) {
        fprintf(stderr, "s3warden: replay: out of memory\n");
        goto done;
    }
    rp->cfg = cfg;
    rp->json = json;
    rp->groups = groups;
    rp->sp_json = sp_json;
    for (size_t i = 0; i < REPLAY_CALLERS; i++)
        config_identity_anonymous(&rp->callers[i].id);
    r->scratch = scratch;
    r->scratch_cap = REPLAY_LINE_MAX;
    policy_context_init(&r->ctx);
    for (int i = first_file; i < argc; i++)
        if (replay_file(rp, argv[i], line, r) != 0)
            goto done;
    qsort(rp->groups, rp->ngroups, sizeof(rp->groups[0]), cmp_group);
    if (json)
        print_json(rp);
    else
        print_text(rp);
    ret = rp->newly_denied || rp->newly_allowed ? 1 : 0;
done:
    if (rp) {
        for (size_t i = 0; i < rp->ngroups; i++) {
            free(rp->groups[i].key);
            free(rp->groups[i].example);
            free(rp->groups[i].deciding);
            free(rp->groups[i].message);
        }
        for (size_t i = 0; i < REPLAY_CALLERS; i++)
            config_identity_cleanup(&rp->callers[i].id);
        policy_free(rp->sp);
    }
    free(rp);
    free(r);
    free(line);
    free(scratch);
    free(sp_json);
    free(groups);
    config_unref(cfg);
    return ret;
}
