/*
 * relay_check.c - whether an upstream answer may reach the client: a 2xx
 * answer must be its operation's (a store that does not know a
 * subresource answers another operation: s3ops.h, s3map_op.answer, and
 * upstream.h's up_answer_*), and an upstream document must not name the
 * proxy's own credentials. relay.c calls these from its answer callbacks;
 * the same re-entrancy rules hold (px->in_cb around client writes).
 */
#include "exchange.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* A 2xx answer that is not its operation's (s3ops.h, s3map_op.answer): a
 * store that does not know a subresource answered another operation.
 * Nothing of it is passed on; relay_done answers 502 and the connection
 * is not reused. what: the part of it that said so. -1 (h1client: stop). */
int px_answer_wrong(struct px *px, struct s3w_slice seen, const char *what)
{
    const char *op = px->authz.map.op->name;
    char shown[64];
    size_t k = 0;
    for (size_t i = 0; i < seen.len && k + 1 < sizeof(shown); i++) {
        unsigned char ch = (unsigned char)seen.ptr[i];
        shown[k++] = ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\' ? (char)ch : '?';
    }
    shown[k] = '\0';
    proxy_log("WARN", "request_id=%s upstream %s answered %s with another operation's answer "
              "(%s%s%s%s): not passed on", px->reqid, px_upstream(px)->name, op, what,
              k ? " \"" : "", shown, k ? "\"" : "");
    snprintf(px->out.err_msg, sizeof(px->out.err_msg),
             "The upstream storage service did not answer %s with its result (it may not "
             "support the operation); s3warden passes on none of its answer.", op);
    px->resp.answer_wrong = true;
    return -1;
}

/* What follows `key` in the proxy's own lines of the request head as sent
 * (px->up.head, from its Authorization line on: the caller's headers come
 * before it, and could hold the same words) up to `stop` or the line's
 * end; empty when absent. */
static struct s3w_slice head_piece(const struct px *px, const char *key, char stop)
{
    const char *h = px->up.head.ptr;
    size_t n = px->up.head.len, kl = strlen(key);
    static const char own[] = "\r\nAuthorization: ";
    const char *from = h ? memmem(h, n, own, sizeof(own) - 1) : NULL;
    const char *at = from ? memmem(from, n - (size_t)(from - h), key, kl) : NULL;
    if (!at)
        return S3W_SLICE_NULL;
    const char *v = at + kl, *end = h + n, *e = v;
    while (e < end && *e != stop && *e != '\r')
        e++;
    return s3w_slice(v, (size_t)(e - v));
}

/* Whether an upstream document names the proxy's own credentials as the
 * request carried them: its access key id, its signature, its session
 * token (S3's credential errors do; another store may echo the request in
 * any answer). */
bool px_names_proxy_credentials(const struct px *px, struct s3w_slice doc)
{
    const struct s3w_slice piece[] = {
        head_piece(px, "Credential=", '/'),
        head_piece(px, "Signature=", ','),
        head_piece(px, "\r\nx-amz-security-token: ", '\r'),
    };
    for (size_t i = 0; i < sizeof(piece) / sizeof(piece[0]); i++)
        if (piece[i].len >= 8 && memmem(doc.ptr, doc.len, piece[i].ptr, piece[i].len))
            return true;
    return false;
}

/* What of an answer (n bytes of it read) said it is not the operation's. */
static const char *answer_part(struct s3w_slice seen, size_t n)
{
    return seen.len ? "its first element" : n ? "its first bytes" : "an empty body";
}

static enum up_answer_verdict answer_verdict(uint8_t kind, const char *p, size_t n, bool complete,
                                             const char *const *roots, struct s3w_slice *seen)
{
    switch (kind) {
    case S3MAP_A_EVENTS: return up_answer_events(p, n, complete);
    case S3MAP_A_TORRENT: return up_answer_torrent(p, n, complete);
    default: return up_answer_xml(p, n, complete, roots, seen);
    }
}

/* Whether an operation's 200 may be an <Error> (its roots name it). */
static bool answer_may_be_error(const char *const *roots)
{
    for (size_t i = 0; roots && roots[i]; i++)
        if (strcmp(roots[i], "Error") == 0)
            return true;
    return false;
}

/* The body bytes of an answer whose kind is to be checked (resp.answer).
 * 1: decided, it is the operation's, and the held bytes have gone (then
 * *p, *n are what remains to relay); 0: all held, more are needed; -1:
 * not the operation's. */
int px_answer_check(struct px *px, const char **p, size_t *n, bool complete)
{
    struct s3w_slice seen = S3W_SLICE_NULL;
    const char *const *roots = px->authz.map.op->answer_roots;
    bool events = px->resp.answer != S3MAP_A_XML; /* an event stream, a torrent */
    enum up_answer_verdict v;
    if (!px->resp.held_len && !events && answer_may_be_error(roots)) {
        /* white space before the document tells nothing, and S3 sends it
         * to keep a long CompleteMultipartUpload, CopyObject or
         * UploadPartCopy alive (the ones whose 200 may be an <Error>): it
         * goes as it comes (the head with it; if what follows is not the
         * operation's answer, the connection is cut). For the others it is
         * held like the rest: the head of another operation's answer (an
         * object's metadata) must not go first (probe 26). */
        size_t ws = 0;
        while (ws < *n && ((*p)[ws] == ' ' || (*p)[ws] == '\t' || (*p)[ws] == '\r' || (*p)[ws] == '\n'))
            ws++;
        if (ws) {
            px_relay_out(px, *p, ws, false);
            *p += ws;
            *n -= ws;
            if (!*n && !complete)
                return 0;
        }
    }
    if (!px->resp.held_len) { /* most answers say it in their first read */
        size_t look = *n < UP_ANSWER_HOLD ? *n : UP_ANSWER_HOLD;
        bool all = complete || look == UP_ANSWER_HOLD;
        v = answer_verdict(px->resp.answer, *p, look, all, roots, &seen);
        if (v == UP_ANSWER_OK) {
            px->resp.answer = S3MAP_A_ANY;
            return 1;
        }
        if (v == UP_ANSWER_WRONG)
            return px_answer_wrong(px, seen, answer_part(seen, *n));
    }
    if (!px->resp.held && !(px->resp.held = malloc(UP_ANSWER_HOLD)))
        return px_answer_wrong(px, S3W_SLICE_LIT("(out of memory)"), "its first bytes");
    size_t take = UP_ANSWER_HOLD - px->resp.held_len;
    if (take > *n)
        take = *n;
    memcpy(px->resp.held + px->resp.held_len, *p, take);
    px->resp.held_len += take;
    *p += take;
    *n -= take;
    complete = complete || px->resp.held_len == UP_ANSWER_HOLD;
    v = answer_verdict(px->resp.answer, px->resp.held, px->resp.held_len, complete, roots, &seen);
    if (v == UP_ANSWER_MORE)
        return 0;
    if (v == UP_ANSWER_WRONG)
        return px_answer_wrong(px, seen, answer_part(seen, px->resp.held_len));
    px->resp.answer = S3MAP_A_ANY;
    px_relay_out(px, px->resp.held, px->resp.held_len, false);
    return 1;
}
