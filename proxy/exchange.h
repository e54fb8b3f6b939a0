/*
 * exchange.h - one request's state on its way through the pipeline
 * (private to proxy/; pipeline.c holds the map of stages).
 *
 * A struct px lives from pl_on_head until px_finish(): it is allocated once
 * per request, owned by the request alone, and reached from its connection
 * through c->ex while the connection still has it. Its fields are grouped
 * by the stage that fills them, in the order a request meets them:
 *
 *   route     which bucket and key the request names;
 *   auth      the caller's signature and identity;
 *   authz     the S3 operation, its condition keys and the decision;
 *   body      the request body on its way upstream (verified first);
 *   del       DeleteObjects: the keys and which of them were denied;
 *   up        the upstream request and its exchange (h1client.h);
 *   resp      the upstream's answer on its way to the client;
 *   out       what the audit record and the metrics say of the request.
 *
 * Every member starts zeroed for each request but those px_uncleared
 * (pipeline_worker.c) lists, each with what sets it before it is read: a
 * new member needs nothing to start clean.
 *
 * Each buffer has one purpose, and a slice held in px points only into
 * memory that no longer grows: the request head (c->req, until px is
 * detached), the config snapshot px holds a reference to, or a buffer of
 * px's own that is complete before anything borrows it.
 *
 * Error idiom: a function that answered the client itself (an S3 error
 * through px_fail, or a local answer) returns false, or -1 where it
 * returns an int; the exchange is then already finished, and px must not be
 * touched again. Every path ends in px_finish(), which writes the audit
 * record once, detaches px from its connection and frees it.
 */
#ifndef S3W_PROXY_EXCHANGE_H
#define S3W_PROXY_EXCHANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "checksum.h"
#include "chunked.h"
#include "civil.h"
#include "config.h"
#include "creds_fetch.h"
#include "identity.h"
#include "policy.h"
#include "pipeline.h"
#include "proxy.h"
#include "s3map.h"
#include "sigv4.h"
#include "sigv4a.h"
#include "h1client.h"
#include "upstream.h"
#include "upstream_build.h"

struct config_cors_rule;
struct px_post;

/* ---- limits ---------------------------------------------------------------- */
#define PX_KEY_MAX (S3MAP_MAX_KEY_BYTES + 1)
/* Request-body queue toward the upstream: one verified aws-chunked chunk must fit
 * (the decoder releases a signed chunk whole, after its signature
 * verified), so the cap is the decoder's chunk cap plus one client read. */
#define PX_CHUNK_MAX ((size_t)8 << 20)
#define PX_Q_MAX (PX_CHUNK_MAX + PROXY_IN_CAP + 4096)
#define PX_Q_HIGH ((size_t)512 << 10)  /* stop reading the client above this */
#define PX_Q_LOW ((size_t)128 << 10)   /* and start again below this */
#define PX_RESP_HEAD_MAX (64 * 1024)
#define PX_MAX_POLICIES 64
#define PX_DELETE_RESP_MAX ((size_t)4 << 20)
#define PX_RECHUNK ((size_t)64 << 10) /* upstream aws-chunked chunk size */
/* The largest body sent upstream: S3's limit for one PUT (PutObject,
 * UploadPart: 5 GiB, S3 User Guide "Uploading objects"), far below what a
 * curl_off_t holds - a Content-Length of 2^63 or more was a negative
 * INFILESIZE, and curl sent the request with no framing at all. */
#define PX_MAX_BODY ((uint64_t)5 << 30)
/* Ended exchanges a worker keeps for its next requests, with their
 * buffers, about 64 KiB each once used: up to SPARES_MAX while it is busy
 * (a fixed 32 left a worker with 128 connections at c256 allocating and
 * freeing an exchange and a read buffer on most requests: 1.7% of its
 * perf samples in malloc and free, none at c32), SPARES_MIN once idle
 * (spares.h). */
#define PX_SPARES SPARES_MAX

/* ---- body queue (bounded FIFO) --------------------------------------------- */
struct bodyq {
    char *buf;
    size_t off, len, cap;
};

enum body_mode {
    BM_NONE = 0,   /* no body */
    BM_PLAIN,      /* UNSIGNED-PAYLOAD or anonymous: passes as it came */
    BM_SIGNED,     /* sha256 declared: hashed while streaming, last byte held */
    BM_CHUNKED,    /* aws-chunked: verified and decoded, last byte held */
    BM_COLLECT,    /* read whole (STS form, DeleteObjects XML), capped */
};

/* PX_BODY_KEYS: an operation whose condition keys are in its XML body
 * (S3MAP_F_BODY_KEYS: PutObjectTagging, PutObjectRetention,
 * PutObjectLegalHold, CreateBucket) - collected, verified and parsed before
 * the policy is evaluated, then forwarded as collected. */
enum px_kind { PX_S3 = 0, PX_STS, PX_DELETE, PX_BODY_KEYS };

/* The request's authorization decision, as the audit record and the
 * metrics name it (px_decision_name). PX_DEC_NONE: refused before any
 * policy was evaluated. */
enum px_decision {
    PX_DEC_NONE = 0,
    PX_DEC_ALLOWED,
    PX_DEC_EXPLICIT_DENY,
    PX_DEC_IMPLICIT_DENY,
    PX_DEC_PARTIAL,       /* DeleteObjects: some keys allowed, some denied */
    PX_DEC_DENIED,        /* STS: the local STS refused the call */
};

/* "Allowed", "ExplicitlyDenied", ... or NULL for PX_DEC_NONE. */
const char *px_decision_name(enum px_decision d);
enum px_decision px_decision_from_policy(enum policy_decision d);

/* The request headers the pipeline reads, found in one pass over the head
 * when the exchange starts (the first of each name); they point into
 * c->req, which does not change while px is attached. */
struct px_headers {
    const struct s3w_header *host;
    const struct s3w_header *authorization;
    const struct s3w_header *user_agent;
    const struct s3w_header *referer;
    const struct s3w_header *content_sha256;
    const struct s3w_header *decoded_length; /* x-amz-decoded-content-length */
    const struct s3w_header *trailer;        /* x-amz-trailer */
    const struct s3w_header *content_md5;
    size_t ncontent_md5;                     /* more than one is refused */
    const struct s3w_header *security_token; /* x-amz-security-token: px_finish wipes the head */
};

/* How the body of a streamed request goes upstream (px_choose_body_mode):
 * bm, or the S3 error to refuse it with (status != 0). */
struct px_body_choice {
    enum body_mode bm;
    int status;
    const char *code;
    const char *header; /* the header S3 names in <Header>, or NULL */
};

/* Pure: the body mode of a request that streams its body upstream, from
 * who signed (anonymous), how (the payload mode of x-amz-content-sha256),
 * and its framing. Refuses HTTP chunked framing without aws-chunked (411:
 * no length to sign and hold back) and a body over PX_MAX_BODY (400). */
struct px_body_choice px_choose_body_mode(bool anonymous, enum sigv4_payload_mode pm,
                                          bool chunked, uint64_t content_length);

/* How px_finish() ends the exchange toward the client. */
enum px_end {
    PX_END_RESPOND, /* send a complete local response */
    PX_END_FINISH,  /* the streamed response is complete */
    PX_END_CLOSE,   /* cut the connection (or the client is already gone) */
};

struct px {
    struct proxy_conn *c;  /* NULL once detached (answered, or the client left) */
    struct proxy_worker *w;
    struct config *cfg;    /* borrowed from the worker (pl_cfg_borrow), given
                              back in px_free */
    uint64_t cfg_gen;      /* the worker's cfg_gen when borrowed */
    char reqid[17];
    int64_t now;           /* unix seconds when the head arrived */
    enum px_kind kind;
    bool in_cb;            /* inside a relay callback: px outlives client writes */
    struct px_headers hdr;

    struct {
        struct s3w_slice host;
        struct s3w_slice bucket; /* in the path, or vhost_bucket */
        char vhost_bucket[PL_VHOST_BUCKET_CAP]; /* from the Host, lower case */
        char key[PX_KEY_MAX]; /* decoded */
        size_t key_len;
        const struct config_bucket *bcfg;
    } route;

    struct {
        bool anonymous;
        bool sig_failed;     /* refused by signature verification (metrics) */
        bool id_set;         /* id is the caller's: read id only when set */
        struct sigv4_request sreq;
        /* the signature of a POST or GET to / (its Authorization header,
         * or a GET's presigned query when it is for STS), parsed once by
         * px_stage_sts to read its scope's service, then handed to
         * sigv4_verify (sreq.auth); NULL for every other request. Wiped
         * when freed (a query's holds the session token) */
        struct sigv4_auth *parsed;
        /* AssumeRoleWithWebIdentity once the token verified: provider ARN,
         * sub and aud, NUL-separated, for the audit record (px_sts sets
         * it, px_free frees it); never the token. NULL otherwise */
        char *web_identity;
        /* an STS call, for the audit record (px_sts sets it, px_free frees
         * it): "sts:<Action>", the RoleArn, the RoleSessionName and the
         * issued access key id, NUL-separated (sts.h, struct sts_response);
         * never a secret or a token. NULL otherwise */
        char *sts_audit;
        struct sigv4_result sv;
        /* not cleared per request (px_uncleared): config_resolve and
         * config_identity_anonymous reset it before they fill it, and
         * px_free leaves it reset */
        struct config_identity id;
    } auth;

    struct {
        struct s3map_result map;
        struct s3map_request mreq;
        struct policy_context ctx;
        struct policy_principal principal;
        size_t nguardrails;  /* of guardrails[] */
        size_t nidentity;    /* of identity_pols[] */
        const struct policy *boundary;
        char tlsver[8];      /* aws:SecureTransport's version, borrowed by ctx */
        bool cross_account;
        /* Get/Put/DeleteBucketPolicy by the bucket owner's root user: the
         * bucket policy is left out of the evaluation (lockout recovery,
         * bucket_policy_root_exempt); guardrails still apply */
        bool skip_bucket_policy;
        enum policy_decision last; /* of the last px_authorize */
        enum px_decision decision; /* of the request */
        /* last, beside what px_alloc does not clear (px_uncleared): a C
         * string, and two arrays read below their counts */
        char deciding[512];
        const struct policy *guardrails[PX_MAX_POLICIES];
        const struct policy *identity_pols[PX_MAX_POLICIES];
    } authz;

    struct {
        struct bodyq q;      /* verified bytes waiting to go upstream; its
                                storage is kept by a spare px (px_kept_*) */
        enum body_mode bm;
        uint64_t up_total;   /* the upstream request's Content-Length */
        uint64_t up_sent;
        bool done;           /* the whole client body arrived */
        bool verified;       /* the body may be completed upstream */
        bool failed;
        struct sigv4_sha256_stream sha; /* BM_SIGNED: the body's hash */
        /* a whole-body checksum the caller sent with a plain body
         * (x-amz-checksum-<algo>, Content-MD5): computed while the body
         * streams, checked before its last byte may go (px_checksums_init) */
        struct sigv4_cksum ck;
        struct s3w_slice ck_want;    /* base64 as sent; ptr NULL = none */
        EVP_MD_CTX *md5;             /* also over an aws-chunked body, decoded */
        struct s3w_slice md5_want;
        bool md5_mismatch;           /* found by the aws-chunked decoder's sink */
        struct sigv4_chunked_decoder *dec;
        struct sigv4_chain_hmac chain;
        bool chain_init;
        struct sigv4a_key *v4a_key; /* ECDSA stream: one reference, dropped in px_free */
        /* aws-chunked pass-through: re-framed in PX_RECHUNK chunks under the
         * proxy's own chunk signatures (the default; decode_aws_chunked sends a
         * plain body instead) */
        bool passthrough;
        enum sigv4_stream_mode smode;
        struct sigv4_chunked_encoder enc;
        bool enc_init;
        struct sigv4_chain_hmac up_chain;
        bool up_chain_init;
        /* BM_COLLECT: the whole request body (STS form, DeleteObjects,
         * body keys), capped by the operation, and who goes on once it is
         * complete (set by the dispatch stage, so the body path calls no
         * stage back) */
        struct s3w_buf collect;
        size_t collect_charged; /* of the worker's collect_bytes */
        void (*collected)(struct px *px);
        /* PX_BODY_KEYS: the body's decoded values, which authz.ctx borrows
         * until px is freed; allocated once at its final size, never grown */
        char *bk_scratch;
    } body;

    struct {
        struct s3map_delete_list *dl;
        char *dl_scratch;    /* the decoded keys dl points into */
        bool *denied;        /* per key of dl */
        size_t ndenied;
        bool any_explicit;
        struct s3w_buf newbody; /* the allowed keys, as sent upstream */
    } del;

    struct {
        int ident_slot;      /* ident_limit slot held (ident_held) */
        bool ident_held;
        /* the store it goes to (px_upstream): the bucket's, or the
         * default; in px->cfg */
        const struct config_upstream *to;
        struct px_fan *fan; /* ListBuckets toward several (relay_fan.c) */
        struct ub_request req; /* as built and signed (upstream_build.h) */
        /* the request head as sent (request line, req's headers, the
         * proxy's signature, Content-Length): it holds the proxy's session
         * token, wiped when px is freed */
        struct s3w_buf head;
        struct h1c_req hreq; /* toward the upstream (h1client.h) */
        bool active;         /* hreq started, its on_done not yet run */
        bool writable;       /* the connection took the head: body may go */
        /* inside h1c_send: a failure's on_done waits until it returned */
        bool sending, done_deferred;
        int done_err;
        uint64_t t_ns, t_done_ns;
    } up;

    struct {
        /* an upstream error's first bytes and its <Code> (upstream.h);
         * allocated when the upstream answers an error status */
        struct up_errbody *errbody;
        char up_code[UP_ERRCODE_MAX];
        /* a redirect's x-amz-bucket-region (S3's 301/307), for the log */
        char redirect_region[32];
        int status;          /* the upstream's */
        bool has_cl;
        uint64_t cl;         /* the upstream's Content-Length */
        bool err_hold;       /* an error answer held whole (px_upstream_error) */
        bool err_too_big;    /* ... and it did not fit UP_ERRBODY_MAX: not passed on */
        bool kms_anonymous;  /* an SSE-KMS object for an anonymous read: not passed on */
        /* a 2xx answer whose kind (S3MAP_A_*) is still to be checked: its
         * head and first bytes (held, at most UP_ANSWER_HOLD, allocated on
         * the first answer that needs it) wait until up_answer_* says it
         * is the operation's (upstream.h) */
        uint8_t answer;
        bool answer_wrong;   /* ... and it was not: none of it is passed on */
        char *held;
        size_t held_len;
        bool write_paused;   /* upstream reading paused: the client is behind */
        bool head_sent;
        bool chunked;        /* sent to the client with chunked framing */
        /* a 2xx answer that names the bucket or the store (alias.h): an
         * aliased bucket's listing or multipart answer, and every
         * CompleteMultipartUpload's; rewritten as it streams, its bytes
         * still undecided held in body; relayed chunked. An error document
         * is rewritten as it is held (err_hold) */
        bool rename;
        bool collect;        /* collected whole into body, answered by `collected` */
        void (*collected)(struct px *px); /* px_finish_list_buckets, ... */
        bool list_buckets;   /* ListBuckets: filter upstream's answer (listbuckets.h) */
        bool bucket_location; /* GetBucketLocation: answer s3warden's region */
        struct s3w_buf body; /* resp.collect: the whole answer */
        char up_reqid[128];
        struct s3w_buf head; /* the header lines passed on (kept: px_kept_*) */
    } resp;

    struct {
        uint64_t t0_ns;      /* 0 once audited: one record per request */
        size_t local_out;    /* a local response about to be written (audit) */
        bool audit_refusal;  /* refused because the audit log is blocked (audit.h) */
        /* what the audit record says of the client, kept when the client goes
         * away (pl_on_abort) because the record is written after c is gone */
        bool gone;
        char gone_ip[sizeof(((struct proxy_conn *)0)->peer_ip)];
        char *gone_ua;       /* NULL: no User-Agent */
        size_t gone_ua_len;
        uint64_t gone_in, gone_out;
        const char *gone_tls;
        int status;
        const char *err_code;
        char err_msg[1024];
    } out;

    /* CORS (cors.c, cors_answer.h): the rule of the bucket's config that
     * matched the request's Origin and method (NULL: none), whose
     * Access-Control-* headers every answer to the request carries; origin
     * points into c->req, read only while px is attached */
    struct {
        const struct config_cors_rule *rule;
        struct s3w_slice origin;
    } cors;

    /* POST Object (post_object.c): the form, the policy and the PutObject
     * it becomes; upreq, once set, is the request the upstream gets in
     * place of c->req (relay.c) */
    struct {
        struct px_post *po;
        const struct http_request *upreq;
    } post;
};

/* ---- per-worker state (pipeline.c) ------------------------------------------ */
struct pl_worker {
    struct config *cfg;          /* this worker's reference to the snapshot */
    /* exchanges on cfg (pl_cfg_borrow): they borrow the worker's reference
     * rather than take one each, so an exchange's start and end write
     * nothing that another thread reads (config_ref's count shares its
     * cache line with fields every request reads, and both workers wrote
     * it twice per request). When cfg is replaced, they become references
     * of their own (cfg_let_go), and cfg_gen moves on: an exchange whose
     * cfg_gen is older holds a reference, whichever snapshot cfg is then.
     * Worker thread only. */
    size_t cfg_borrowers;
    uint64_t cfg_gen;
    struct sigv4_keycache kc;    /* client signing keys */
    struct sigv4_keycache up_kc; /* the proxy's own signing keys */
    /* SigV4a P-256 keys of the callers (sigv4a.h: one cache per loop, no
     * locks); the ECDSA aws-chunked decoder takes its key from here */
    struct sigv4a_key_cache *v4a;
    bool warned_no_creds;
    /* the proxy's credentials for this worker's requests (creds_fetch.h):
     * no lock and no shared write per request */
    struct creds_cache creds;
    /* this worker's audit records (and its request log lines, log.h),
     * handed on PL_FLUSH_MS after the first of them (audit_check arms
     * flush_timer) or when 256 KiB (log lines: 64 KiB, on a pipe 4 KiB)
     * are gathered: one lock and one wake-up per batch, not per request */
    struct audit_batch *audit;
    uv_check_t *audit_check;
    uv_timer_t *flush_timer;
    /* the canonical request of each signature check, reused (sigv4_verify
     * wipes what it used: a signed session token is in it): no allocation
     * per request for it */
    struct s3w_buf canon;
    /* ended exchanges kept for the next requests (px_new, px_recycle) */
    struct px *spare_px[PX_SPARES]; /* [0]: the longest unused */
    size_t nspare_px;
    struct spares_decay px_decay;
    /* bytes this worker's exchanges may hold of bodies being collected
     * (px_collect_body): each reserves its cap (or its Content-Length)
     * until it ends, so that callers who send a body slowly, before any
     * decision about them, cannot hold memory without bound */
    size_t collect_bytes;
};

/* What one worker's collected bodies may reserve at once (32 DeleteObjects
 * bodies at their 2 MiB cap); past it a request that would collect gets
 * 503 SlowDown. */
#define PX_COLLECT_BUDGET ((size_t)64 << 20)

/* A px from the worker's spares, or a new one; cleared but for what
 * px_uncleared lists (pipeline_worker.c: the stores read below a cleared
 * length, the identity its resolver resets, the kept buffers). NULL when
 * out of memory. */
struct px *px_alloc(struct proxy_worker *w);
/* The worker's snapshot for a new exchange (px->cfg; px->w set), and the
 * giving back of it when the exchange ends (on the worker's thread, or
 * after the worker's cleanup, when it is a reference of its own). */
void pl_cfg_borrow(struct px *px);
void pl_cfg_return(struct px *px);
/* The end of px_free: px goes to its worker's spares (or is freed). Every
 * cleanup has run; what held a decrypted session token is wiped here. */
void px_recycle(struct px *px);

/* S3's answer (400 InvalidArgument) to an anonymous request that asks for
 * SSE-KMS or reads an SSE-KMS object: KMS takes SigV4-signed requests only
 * (AWS re:Post, "s3-kms-signature-version-error": "You made an anonymous
 * request"). Through s3warden it would run on the proxy's own KMS rights. */
#define PX_MSG_KMS_ANONYMOUS \
    "Requests specifying Server Side Encryption with AWS KMS managed keys require AWS Signature Version 4."

static inline struct s3w_slice hdr_value(const struct s3w_header *h)
{
    return h ? h->value : S3W_SLICE_NULL;
}

static inline uint64_t now_ns(void)
{
    return uv_hrtime();
}

static inline struct pl_worker *plw(struct proxy_worker *w)
{
    return w->handler_state;
}

static inline struct pl_shared *shared(struct proxy_worker *w)
{
    return w->srv->handler_ud;
}

/* The bucket policy API, answered locally (local_ops.c). */
enum bp_op { BP_NONE = 0, BP_GET, BP_PUT, BP_DELETE, BP_STATUS };

/* GetBucketLocation: the upstream's answer is collected up to this. */
#define PX_LOCATION_MAX_BODY (64u * 1024)

/* ---- the stages' functions, by file (the map is at the top of pipeline.c) ---
 * Each that answers the client itself follows the idiom above: false (or
 * -1) after answering, px then finished. */

/* authorize.c */
void px_build_principal(struct px *px);
bool px_authorize(struct px *px, struct s3w_slice action, struct s3w_slice resource);
bool px_authorize_all(struct px *px);

/* pipeline.c */
/* Verifies the caller's signature for `service` (body_sha: the collected
 * body's hash, or NULL) and resolves its identity; anonymous when nothing
 * is signed. */
bool px_verify(struct px *px, struct s3w_slice service, const uint8_t *body_sha);
/* What S3 adds after a signature check's error message, into d (returns how
 * many): the unsigned headers' names (<HeadersNotSigned>), the unknown key
 * id (<AWSAccessKeyId>), the region to sign for (<Region>, also as the
 * x-amz-bucket-region header, which SDKs follow), the times compared
 * (<RequestTime>, <ServerTime>, <MaxAllowedSkewMilliseconds>), or, for a
 * signature that does not match, what the request was checked against (mm:
 * sigv4_verify_opts.mismatch; <AWSAccessKeyId>, <StringToSign>,
 * <SignatureProvided>, <StringToSignBytes>, <CanonicalRequest>,
 * <CanonicalRequestBytes>), so that a client can see where its signer and
 * we part. The elements point into err, mm, *room and *bytes (the *Bytes
 * forms: 3 bytes for each of mm's), which the caller keeps through the
 * answer; bytes may hold a session token (s3w_buf_cleanup wipes it). */
#define PX_SIG_DETAILS 6
struct px_sig_room {
    char server_time[S3W_ISO8601_LEN + 1];
    char max_ms[24];
    char expires[S3W_ISO8601_LEN + 1];
    char expires_s[24];
};
struct s3err_detail;
size_t px_sig_details(const struct sigv4_error *err, const struct s3w_buf *mm,
                      struct px_sig_room *room, struct s3w_buf *bytes,
                      struct s3err_detail *d /* [PX_SIG_DETAILS] */);
/* Collects the request body (at most cap bytes) for an exchange of this
 * kind (STS, DeleteObjects, body keys), then goes on in px_after_collect
 * (pipeline.c). */
void px_collect_body(struct px *px, enum px_kind kind, size_t cap);
/* The body collected by px_collect_body is whole: the exchange goes on by
 * its kind (STS, DeleteObjects, body keys). */

/* exchange.c */
enum px_decision px_decision_from_policy(enum policy_decision d);
void px_fail(struct px *px, int status, const char *code, const char *msg);
/* px_fail with the elements S3 adds after the message (s3err.h), which
 * need to live only through the call. */
struct s3err_detail;
void px_fail_details(struct px *px, int status, const char *code, const char *msg,
                     const struct s3err_detail *details, size_t n);
/* px_fail with code's usual message (s3err_default_message) and, when
 * header is not NULL, <Header>header</Header>: the request header S3 names
 * as the one it does not take. */
void px_fail_header(struct px *px, int status, const char *code, const char *header);
void px_fail_internal(struct px *px);
void px_finish(struct px *px, enum px_end end, struct s3w_slice resp);
void pl_on_abort(struct proxy_conn *c);

/* body.c */
int px_bq_push(struct bodyq *q, const void *p, size_t n);
size_t px_bq_pop(struct bodyq *q, char *dst, size_t n);
bool px_payload_hash_ok(struct px *px, const uint8_t sha256[32]);
/* n more bytes of a body being collected, charged to the worker's
 * PX_COLLECT_BUDGET (px->body.collect_charged, given back in px_free);
 * false after answering 503 SlowDown when it has no room (none at all:
 * n = 0). pipeline.c. */
bool px_collect_charge(struct px *px, size_t n);
int pl_on_body(struct proxy_conn *c, const char *p, size_t n);
bool px_checksums_init(struct px *px);
/* A request with no body: its x-amz-checksum- header and Content-MD5, if
 * any, must be those of no bytes. false after answering 400 BadDigest. */
bool px_checksums_empty_ok(struct px *px);
/* A body held whole (BM_COLLECT) before it is parsed, decided on or sent:
 * its signed payload hash (px_payload_hash_ok), then its x-amz-checksum-
 * header and Content-MD5, as a streamed body's (probe 33: an
 * UNSIGNED-PAYLOAD DeleteObjects ran another body than the one its signed
 * checksum named). Its SHA-256 into sha256. false after answering the
 * error. */
bool px_collected_ok(struct px *px, struct s3w_slice body, uint8_t sha256[32]);
void pl_on_body_end(struct proxy_conn *c);
bool px_chunked_init(struct px *px, struct s3w_slice *payload);
int px_body_reframe_init(struct px *px, const struct sigv4_signed *sd);

/* pipeline.c */
bool px_fill_context(struct px *px, struct s3map_conn_facts *facts);
/* The request's object as its client reaches it through s3warden -
 * "http[s]://HOST/[BUCKET/]KEY" (the key encoded as sent upstream) - into
 * out: POST Object's Location, CompleteMultipartUpload's. s3w_buf error. */
int px_object_url(const struct px *px, struct s3w_buf *out);

/* relay.c */
/* Builds, signs and starts the upstream transfer with the body as
 * px->body sets it up; payload_hash is the x-amz-content-sha256 the proxy
 * signs, content_md5 a Content-MD5 of its own body (or NULL). */
int px_start_upstream(struct px *px, struct s3w_slice payload_hash, bool has_body,
                      const char *content_md5);
/* More verified body bytes (or the body's verification) arrived: sends what
 * may go. px may be gone when it returns (a failed send ends the exchange). */
void px_relay_body(struct px *px);
/* Ends the upstream exchange without an answer (the client's body failed
 * its checks, or the client went away): the connection is closed, so the
 * upstream never completes the request. */
void px_relay_abort(struct px *px);
/* The upstream the exchange goes to: px->up.to when set (ListBuckets
 * toward one store), else its bucket's, else the default. */
const struct config_upstream *px_upstream(const struct px *px);

/* relay.c's pieces that relay_fan.c shares. */
/* Answers an upstream exchange that failed with H1C_E_* err: 503
 * ServiceUnavailable when the store cannot be reached (connect, resolve),
 * 504 GatewayTimeout, else 502 BadGateway. */
void px_fail_upstream(struct px *px, int err);
struct sigv4_signed;
/* upstream.max_connections_per_identity: false after answering 503 */
bool px_take_upstream_slot(struct px *px);
/* The proxy's credentials toward `up`, valid until the worker's next
 * request takes credentials (the worker's creds_cache; nothing to
 * release); false after answering 503. */
bool px_upstream_creds_for(struct px *px, const struct config_upstream *up,
                           struct sigv4_credentials *cr);
/* Hands the built head (px->up.head) to the pool of its origin, relay.c
 * relaying the answer; false after answering. relay_request.c's last
 * step. */
bool px_send_request(struct px *px, bool has_body);
/* Appends the request head for u, signed sd, to b; 0 or -1. */
int relay_build_head(struct s3w_buf *b, struct s3w_slice method, const struct ub_request *u,
                     const struct sigv4_signed *sd, bool has_body, uint64_t body_len);
/* Writes to the client: the answer's head when it has not gone yet, n body
 * bytes in the answer's framing, and (last) the end of a chunked body, in
 * one write; an answer being rewritten (resp.rename) goes through
 * px_relay_rewritten first. */
void px_relay_out(struct px *px, const char *p, size_t n, bool last);
/* The same without the rewrite (relay_rewrite.c's output). */
void px_relay_write(struct px *px, const char *p, size_t n, bool last);
/* The head's Content-Length made len, for a held answer rewritten before
 * its head went (chunked if the head has no room). */
void px_set_content_length(struct px *px, size_t len);

/* relay_rewrite.c: answers rewritten on their way to the client (alias.h). */
/* Whether the request's bucket is known to the store by another name;
 * *local the clients' name. */
bool px_rewrite_alias(const struct px *px, struct s3w_slice *local);
/* At an answer's head (aliased: px_rewrite_alias's answer): sets
 * resp.rename for a 2xx answer to rewrite as it streams (an aliased
 * bucket's listing or multipart answer; every CompleteMultipartUpload's),
 * and readies resp.body to hold its bytes still undecided. */
void px_rewrite_begin(struct px *px, int status, bool aliased);
/* n more bytes of such an answer (last: its end): what is decided is
 * rewritten and written (px_relay_write); a failure cuts the connection,
 * as a write's failure does (callers hold in_cb). */
void px_relay_rewritten(struct px *px, const char *p, size_t n, bool last);
/* A document held whole (an error's) of an aliased bucket rewritten into
 * out (re-initialised): 1; 0 when the bucket is not aliased (out
 * untouched); -1 on failure. */
int px_rewrite_held(const struct px *px, struct s3w_slice doc, struct s3w_buf *out);

/* relay_check.c: whether an upstream answer may reach the client. */
/* A 2xx answer that is not its operation's: logged, px->out.err_msg set,
 * resp.answer_wrong set; -1 (h1client: stop). what: the part that said so. */
int px_answer_wrong(struct px *px, struct s3w_slice seen, const char *what);
/* The body bytes of an answer whose kind is still to be checked
 * (resp.answer). 1: it is the operation's, and the held bytes have gone
 * (then *p, *n are what remains to relay); 0: all held, more are needed;
 * -1: not the operation's (px_answer_wrong). */
int px_answer_check(struct px *px, const char **p, size_t *n, bool complete);
/* Whether an upstream document names the proxy's own credentials as the
 * request's head carried them (its key id, signature, session token). */
bool px_names_proxy_credentials(const struct px *px, struct s3w_slice doc);

/* ListBuckets toward several upstreams at once (relay_fan.c): each
 * answer is filtered to the caller's buckets and the lists merged
 * (listbuckets.h); any upstream failing answers 503 ServiceUnavailable
 * naming it in the log. -1 after answering. */
int px_list_buckets_fan(struct px *px, const struct config_upstream *const *ups, size_t n,
                        struct s3w_slice payload_hash);
/* Ends a fan-out in flight (px_relay_abort); no-op without one. */
void px_fan_abort(struct px *px);
void pl_on_drain(struct proxy_conn *c);

/* local_ops.c */
enum bp_op px_bucket_policy_op(const struct px *px);
bool px_bucket_policy_root_exempt(const struct px *px);
void px_bucket_policy(struct px *px, enum bp_op op);
/* x-amz-expected-bucket-owner and, on a copy, x-amz-source-expected-bucket-
 * owner: "If the account ID that you provide does not match the actual
 * owner of the bucket, the request fails with the HTTP status code 403
 * Forbidden (access denied)" (API Reference, every operation that takes
 * them), as headers or query parameters (s3map_expected_owners). The
 * owners that count are the configured ones (buckets[].account; a bucket
 * not listed: the caller's, as px_authorize takes it), checked here after
 * the policies allowed the request; neither goes upstream
 * (ub_never_forward, ub_filtered_query), where it would be compared with
 * the owner of the upstream's bucket, the proxy's own account. false after
 * answering 403 AccessDenied (400 InvalidArgument for one given twice). */
bool px_expected_owners_ok(struct px *px);
void px_finish_list_buckets(struct px *px);
/* The upstreams one ListBuckets asks at most (relay_fan.c). */
#define PX_FAN_MAX 16
void px_finish_list_buckets_of(struct px *px, const struct config_upstream *const *ups,
                               const struct s3w_slice *bodies, size_t n);
void px_finish_bucket_location(struct px *px);
void px_finish_delete(struct px *px);
void px_delete_objects(struct px *px);
void px_body_keys(struct px *px);

/* sts_endpoint.c */
void px_sts(struct px *px);
/* The STS stage (sts_endpoint.c): an STS Query API call to / is answered
 * or its form collected (true); false for an S3 request. */
bool px_stage_sts(struct px *px);
/* STS's refusals of a signature too far from its clock, or scoped to
 * another region (px_verify, for service sts) */
void px_sts_fail_skew(struct px *px, const char *request_time, int64_t now, int64_t window_s);
void px_sts_fail_region(struct px *px, struct s3w_slice region);

#endif
