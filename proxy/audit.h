/*
 * audit.h - one JSON line per request, named after CloudTrail data events
 * where a field exists there (eventTime, requestID, sourceIPAddress,
 * userAgent, userIdentity{type, principalId, arn, accountId, accessKeyId,
 * sessionContext}, eventName, errorCode), plus the authorization outcome
 * (actions, resources, decision, decidingStatements, crossAccount) and
 * transfer figures.
 *
 * Writing never blocks a worker loop: lines go into a queue that a writer
 * thread drains to the file (or stdout). No request is served without its
 * record (README, "When the log cannot be written"):
 *  - a record never exceeds AUDIT_LINE_MAX: each field has a cap on its
 *    escaped length (audit.c), chosen so that all of them together fit; a
 *    value over its cap is cut on a character boundary (an escape stays
 *    whole) and the record lists the field in "truncated";
 *  - the record of a served request is never dropped. When a write fails
 *    (no space, I/O error) the writer keeps the lines, cuts any partial
 *    line it left at the end of the file (or, on a pipe, finishes it
 *    later), retries every AUDIT_RETRY_MS, and until a write succeeds
 *    audit_accepting() is false: the pipeline refuses new requests with
 *    503 SlowDown and /readyz says not ready. The same holds while the
 *    backlog is full (audit_options.backlog records wait, or
 *    AUDIT_BACKLOG_RECORD_BYTES of memory for each of them: the disk is
 *    too slow or stalls): the queue only grows past that by the records
 *    of requests already in flight;
 *  - the record of a refused request is queued while that backlog has
 *    room, and otherwise dropped and counted (audit_dropped_total), as are
 *    records still unwritten when the writer stops.
 *
 * The record deliberately has no field that could carry authorization
 * material: no Authorization value, signature, secret, session token or
 * query string (a presigned URL's query holds a signature and a token).
 */
#ifndef S3W_PROXY_AUDIT_H
#define S3W_PROXY_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "bytes.h"

struct iovec;
struct policy_context;
struct config_identity_tag;

#define AUDIT_LINE_MAX (24 * 1024)
/* What a record keeps for its "truncated" list, which may name every field
 * (tests/unit/proxy/test_audit_limits.c formats that list) */
#define AUDIT_TRUNCATED_MAX 640
/* The default backlog (audit.backlog_records): records waiting over which
 * new requests are refused. 4096 was 0.15 s of one proxy's records at
 * 27,000 requests/s: a 0.5 s stall of the output refused 21,000-29,000
 * requests (tests/bench/bench_audit_stall.sh). 32,768 records are about
 * 1.2 s of that rate (none refused), and about 32-45 MiB while they wait
 * (the same bench: 22 MiB more RSS at about 23,000 waiting under full
 * load, 1.35 KiB per record waiting under a slow load). */
#define AUDIT_BACKLOG_DEFAULT 32768
/* The backlog is also full once its records' memory reaches this much
 * per record of it (128 MiB at the default): a record is about 1 KiB, up
 * to AUDIT_LINE_MAX, and a block handed over half full holds up to twice
 * its lines' bytes. */
#define AUDIT_BACKLOG_RECORD_BYTES 4096
#define AUDIT_MAX_AUTHZ 16
#define AUDIT_RETRY_MS 500      /* a failed write is retried this often */

/* Everything one record says. Slices are borrowed for the call. */
struct audit_record {
    int64_t time_ms;                /* eventTime */
    struct s3w_slice request_id;
    struct s3w_slice upstream_request_id;
    struct s3w_slice source_ip;
    struct s3w_slice user_agent;
    /* userIdentity */
    struct s3w_slice identity_type; /* "IAMUser", "AssumedRole", "Root", "Anonymous" */
    struct s3w_slice principal_id;  /* aws:userid */
    struct s3w_slice arn;
    struct s3w_slice account_id;
    struct s3w_slice access_key_id;
    struct s3w_slice session_role_arn;  /* sessionContext.sessionIssuer.arn */
    struct s3w_slice session_name;
    /* A role session from a session token (local STS): its session policy
     * (AssumeRole's Policy) as the token carries it, empty when it carries
     * none. s3warden's format writes "sessionPolicy" for such sessions only
     * (the document compacted, or null), so `replay` tells a session
     * without a policy from a record written before the field existed; a
     * document that does not fit whole is left out and listed in
     * "truncated". Not a secret (the token, which is, is never written). */
    bool token_session;
    struct s3w_slice session_policy;
    /* and its session tags (AssumeRole's Tags or a web identity's tags
     * claim, which override the role's own): "sessionTags", for such
     * sessions only ({} when none), whole or
     * left out and listed in "truncated", so that `replay` overrides the
     * candidate role's tags with them as AWS does */
    const struct config_identity_tag *session_tags;
    size_t nsession_tags;
    /* AssumeRoleWithWebIdentity: userIdentity.webIdFederationData (provider
     * ARN, the token's sub and aud); empty otherwise */
    struct s3w_slice wi_provider, wi_sub, wi_aud;
    struct s3w_slice event_name;    /* S3 operation */
    /* An STS call (event_name "sts", actions[0] its sts: action, resources[0]
     * the role asked for): the RoleSessionName given, and the access key id
     * of the credentials issued (never their secret or token); empty
     * otherwise, and then left out */
    struct s3w_slice sts_session_name, sts_issued_key_id;
    struct s3w_slice bucket;
    struct s3w_slice key;
    struct s3w_slice actions[AUDIT_MAX_AUTHZ];
    struct s3w_slice resources[AUDIT_MAX_AUTHZ];
    size_t nauthz;
    struct s3w_slice decision;      /* "Allowed", "ExplicitlyDenied", ... */
    struct s3w_slice deciding;      /* "policy:sid;policy:#2" */
    bool cross_account;
    struct s3w_slice error_code;    /* empty on success */
    int http_status;
    uint64_t bytes_in, bytes_out;
    int64_t latency_ms;
    int64_t upstream_latency_ms;    /* -1: no upstream call */
    struct s3w_slice tls;           /* "TLSv1.3" or empty */
    /* requestContext: the condition keys the policies were evaluated on
     * (NULL when the request never reached evaluation); borrowed until
     * audit_format returns */
    const struct policy_context *context;
    /* For the CloudTrail format (audit_cloudtrail.c); empty when unknown,
     * and then left out of the record. */
    struct s3w_slice host;          /* the request's Host header */
    struct s3w_slice bucket_account; /* the bucket's owner account */
    struct s3w_slice auth_method;   /* "AuthHeader" or "QueryString"; empty: anonymous */
    struct s3w_slice cipher_suite;  /* the TLS cipher suite (OpenSSL's name) */
    int64_t session_created_ms;     /* an assumed role session's start; 0: unknown */
};

struct audit;

/* What happens while records cannot be written (audit.on_backlog). */
enum audit_on_backlog {
    /* new requests are refused (above); no served request lacks its record */
    AUDIT_ON_BACKLOG_REFUSE = 0,
    /* requests are always served; once the backlog is full,
     * every new record (served or not) is dropped and counted in
     * audit_dropped_total. For those who prefer availability to a
     * complete trail, and say so in their config. */
    AUDIT_ON_BACKLOG_DROP = 1,
};

/* The shape of a record (audit.format). */
enum audit_format_kind {
    AUDIT_FORMAT_S3WARDEN = 0,   /* audit_format() */
    AUDIT_FORMAT_CLOUDTRAIL = 1, /* audit_format_cloudtrail() */
};

/* Settings of the CloudTrail record that no request carries. Strings are
 * copied by audit_open_opts. */
struct audit_cloudtrail_opts {
    const char *region;     /* awsRegion; NULL: "us-east-1" */
    const char *account_id; /* recipientAccountId when the record has no bucket owner */
};

/* A delivered sink (audit_sink.h): records are spooled in spool_dir and
 * sent from there. */
enum audit_sink_type { AUDIT_SINK_SYSLOG = 1, AUDIT_SINK_S3 = 2 };
struct audit_sink_conf {
    enum audit_sink_type type;
    const char *spool_dir;
    uint64_t max_spool_bytes;
    /* AUDIT_SINK_SYSLOG */
    const char *host;
    uint16_t port;
    int facility;
    uint32_t max_message;    /* bytes of one message; 0: the default */
    bool tls;
    const char *ca_file;     /* syslog TLS, or the S3 upstream's */
    const char *server_name;
    /* AUDIT_SINK_S3: CloudTrail's layout in a bucket, through the upstream */
    const char *endpoint;
    bool virtual_host;
    bool tls_verify;
    const char *bucket;
    const char *prefix;
    const char *account;
    const char *expected_owner; /* NULL: none sent */
    const char *region;
    uint32_t batch_ms;
    size_t batch_bytes;
};
#define AUDIT_MAX_SINKS 8
#define AUDIT_SINK_DRAIN_MS 5000 /* audit_close tries this long to deliver the spools */

struct audit_options {
    const char *path;       /* NULL or "-": stdout */
    bool disabled;          /* no output at all (sinks may still be given) */
    const struct audit_sink_conf *sinks;
    size_t nsinks;          /* at most AUDIT_MAX_SINKS */
    enum audit_on_backlog on_backlog;
    size_t backlog;         /* records waiting over which new requests are
                               refused; 0 = AUDIT_BACKLOG_DEFAULT */
    enum audit_format_kind format;
    struct audit_cloudtrail_opts cloudtrail;
};

/* path NULL or "-" = stdout; disabled = no output at all. NULL on error.
 * A file that ends in a partial line (a crash mid-write) is cut back to
 * its last complete line first. Same as audit_open_opts with the other
 * options at their defaults (refuse, s3warden format). */
struct audit *audit_open(const char *path, bool disabled);
struct audit *audit_open_opts(const struct audit_options *o);
/* Formats and queues the record of a request that is being served (any
 * thread). Never dropped (see above). */
void audit_log(struct audit *a, const struct audit_record *r);
/* The record of a request refused because audit_accepting() was false:
 * queued while the backlog is not full, else dropped and counted. */
void audit_log_refusal(struct audit *a, const struct audit_record *r);
/* Whether new requests may be served: false while records cannot be
 * written or the backlog is full. One relaxed atomic load (request path).
 * True for NULL, for a disabled log, and with AUDIT_ON_BACKLOG_DROP. */
bool audit_accepting(struct audit *a);
/* The /readyz line's text without the "audit: " prefix: "ok", "off", or
 * why not ("not writable (No space left on device); 12 records
 * waiting"); with AUDIT_ON_BACKLOG_DROP the same text followed by
 * "; dropping records (on_backlog drop)" while it applies. Returns
 * whether requests are served (audit_accepting's verdict). */
bool audit_status(struct audit *a, char *out, size_t cap);
/* The delivered sinks, for metrics: how many, and one's figures and name. */
struct audit_sink_stats;
size_t audit_sink_count(struct audit *a);
const char *audit_sink_stats_at(struct audit *a, size_t i, struct audit_sink_stats *st);
/* The proxy's own credentials, for the S3 sinks (NULL before audit_close
 * while the manager is freed). */
struct creds_mgr;
void audit_set_creds(struct audit *a, struct creds_mgr *m);
/* The same for the k-th sink of audit_options.sinks only (an S3 sink
 * writes through its own upstream, with that upstream's credentials). */
void audit_set_sink_creds(struct audit *a, size_t k, struct creds_mgr *m);
/* A reload (SIGHUP) keeps the running audit: its writer and the sinks'
 * threads hold records in flight, and none may be lost or split. So a
 * reloaded config's audit settings (o, built as for audit_open_opts) are
 * compared with the running ones: when any differs, a WARN names which
 * ("reload: audit sinks changed; audit settings take a restart: ...")
 * and false is returned; true when they are the same. */
bool audit_reload_check(struct audit *a, const struct audit_options *o);
/* Reopens the file on the writer thread (logrotate; SIGUSR1). */
void audit_reopen(struct audit *a);
/* Records never written since audit_open: refusals beyond the backlog
 * (any record beyond it with AUDIT_ON_BACKLOG_DROP), records that could
 * not be formatted (no memory), records still waiting when audit_close
 * gave up on a failing output. */
uint64_t audit_dropped_total(struct audit *a);
/* The moment (s3w_mono_ms) until which audit_close keeps trying a failing
 * output (every AUDIT_RETRY_MS) before it gives up on what is queued: the
 * stop's deadline, set when a stop begins. Unset (0), one last try. */
void audit_stop_by(struct audit *a, int64_t mono_ms);
/* Writes what is queued (a failing output tried until audit_stop_by's
 * moment, and once more), stops the writer, closes. */
void audit_close(struct audit *a);

/* Formats a record as one JSON line with a trailing '\n' (exposed for
 * tests). Always fits AUDIT_LINE_MAX; 0, or S3W_E_NOMEM. */
int audit_format(const struct audit_record *r, struct s3w_buf *out);

/* Formats a record as an S3 event exactly as CloudTrail writes it (one
 * JSON line, trailing '\n'; docs/audit-cloudtrail.md cites the reference
 * for each field), with s3warden's own fields under additionalEventData.
 * Always fits AUDIT_LINE_MAX; 0, or S3W_E_NOMEM. */
int audit_format_cloudtrail(const struct audit_record *r, const struct audit_cloudtrail_opts *o,
                            struct s3w_buf *out);

/* Appends s as a JSON string body (no quotes), escaping as RFC 8259 asks;
 * bytes that are not valid UTF-8 become U+FFFD. At most `cap` bytes are
 * appended: the value is cut before the character (or escape) that would
 * pass it, and *truncated set. 0 or an s3w_buf error. */
int audit_json_escape(struct s3w_buf *out, struct s3w_slice s, size_t cap, bool *truncated);

/* ---- a worker's batch ----------------------------------------------------------
 * A worker formats its records into its own block and hands the whole
 * block to the writer when it reaches 256 KiB or when the worker flushes it
 * (on a short timer, and before it stops): one lock and one wake-up per
 * block, no allocation per record. At 1.3 KiB a record, 256 KiB is about
 * 200 records, so the timer hands a block over first below about 20,000
 * records a second per worker: 64 KiB blocks woke the writer every 50
 * records (0.02 times per request under load, each a futex wake, the
 * writer's switch and often a worker's preemption). Records keep their
 * order per worker. The rules above hold per record: a served request's record is never
 * dropped, a refusal's is dropped once the backlog is full.
 * Not thread-safe: one batch per worker thread. */
struct audit_batch;
struct audit_batch *audit_batch_new(struct audit *a);
void audit_batch_log(struct audit_batch *b, const struct audit_record *r);
void audit_batch_log_refusal(struct audit_batch *b, const struct audit_record *r);
/* Records wait in the batch (the worker's timer should run). */
bool audit_batch_pending(const struct audit_batch *b);
void audit_batch_flush(struct audit_batch *b);
/* Flushes, then frees. */
void audit_batch_free(struct audit_batch *b);

/* Test seam: the writev the writer thread uses (default writev(2)), so a
 * test can fail a write part-way through a line. Set before traffic. */
typedef ssize_t (*audit_writev_fn)(int fd, const struct iovec *iov, int iovcnt);
void audit_set_writev(struct audit *a, audit_writev_fn fn);

#endif
