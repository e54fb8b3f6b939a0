/* pipeline_rig.h - the shared test rig of the request-pipeline unit tests
 * (test_pipeline.c, test_pipeline_review.c, test_bucket_policy.c):
 *  - a recording fake upstream on 127.0.0.1:0: one thread, one request per
 *    connection (or kept alive: rig_opts.up_keepalive); it reads a head and
 *    its Content-Length body, records what it saw and answers through a
 *    pluggable callback;
 *  - s3warden's proxy_server with pl_handler / pl_shared, an audit log and
 *    optionally a credential manager, on a config the test builds;
 *  - a header-signed request builder (sigv4_sign_headers) and exchange();
 *  - rig_on_worker(): code run on the worker's thread, to look at its state.
 * One rig per test process: the state is file-global in pipeline_rig.c, as
 * each test's copy was before. Failures inside the helpers are cmocka
 * assertions, so they fail the calling test. */
#ifndef S3W_TEST_PIPELINE_RIG_H
#define S3W_TEST_PIPELINE_RIG_H

#include <stdbool.h>
#include <stddef.h>

#include "audit.h"
#include "config.h"
#include "creds_fetch.h"
#include "pipeline.h"
#include "proxy.h"

/* What the fake upstream keeps of the last request: the head whole up to
 * RIG_HEAD_MAX - 1 bytes (NUL-terminated), the first RIG_BODY_MAX bytes of
 * the body (last_body_len is the count received, which may be more). */
#define RIG_HEAD_MAX 8192
#define RIG_BODY_MAX 4096

/* Answers one request on fd, called on the upstream thread only for a
 * request whose body arrived in full; `head` is its NUL-terminated head.
 * The connection is closed after it returns (unless rig_opts.up_keepalive). */
typedef void (*rig_answer_fn)(int fd, const char *head);

/* The default answer: 200, x-amz-request-id UPSTREAM1, an empty body, or
 * for a request S3 answers with an XML document (a listing, an ACL, a
 * copy's result...) an empty element of S3's root name for it,
 * Connection: close (one request per connection: the thread serves one
 * socket at a time, and an idle kept-alive one would stall the next test). */
void rig_answer_ok(int fd, const char *head);

struct rig_opts {
    /* Builds the config to start with; called once the fake upstream
     * listens, so it can use rig_up_port(). Required. */
    struct config *(*make_config)(void);
    rig_answer_fn answer;     /* NULL: rig_answer_ok */
    bool audit_file;          /* audit to a fresh temp file (rig_audit_path())
                                 rather than audit_open(NULL, disabled) */
    bool creds_manager;       /* the proxy's credentials through a creds_mgr,
                                 as main() runs them (rig_creds_mgr()) */
    size_t max_header_bytes;  /* 0: proxy_settings_defaults() */
    /* changes the server settings after the defaults (timeouts, limits) */
    void (*tune)(struct proxy_settings *s);
    bool metrics;             /* count requests, as main() does (rig_metrics()) */
    /* the fake upstream keeps a connection open and serves the next
     * request on it, until the proxy closes it; the answer must then not
     * say "Connection: close" (see rig_answer_fn). The thread still serves
     * one connection at a time: only for tests whose requests to the
     * upstream go one after another */
    bool up_keepalive;
};

/* Starts the fake upstream, then s3warden on 127.0.0.1:0 (one worker).
 * 0, or -1 when anything failed (cmocka group setup result). */
int rig_start(const struct rig_opts *o);
/* Stops both and frees everything rig_start made (unlinks the audit file). */
int rig_stop(void);
struct CMUnitTest;
/* Runs the cmocka group `tests` with the rig started from *o before it and
 * stopped after it (each rig test's group setup and teardown). */
int rig_run_tests(const char *name, const struct CMUnitTest *tests, size_t n,
                  const struct rig_opts *o);
#define rig_run_group(tests, o) rig_run_tests(#tests, tests, sizeof(tests) / sizeof((tests)[0]), o)

int rig_up_port(void);          /* the fake upstream's port */
int rig_port(void);             /* s3warden's port */
const char *rig_host(void);     /* "127.0.0.1:<rig_port()>" */
const char *rig_audit_path(void);
struct audit *rig_audit(void);   /* the audit log s3warden writes to */
struct creds_mgr *rig_creds_mgr(void);
struct metrics *rig_metrics(void); /* NULL unless rig_opts.metrics */
/* The value of the sample `series` (its name and labels, then a space) in
 * /metrics as the admin listener renders it (rig_opts.metrics). */
uint64_t rig_scrape(const char *series);

/* Runs fn(worker, arg) on s3warden's worker thread, between the loop's
 * callbacks (through the worker poke hook), and returns when it has run:
 * how a test looks at what only the worker may touch (its upstream pools,
 * its spare exchanges) without racing it. Asserts that it ran within 3 s. */
struct proxy_worker;
void rig_on_worker(void (*fn)(struct proxy_worker *w, void *arg), void *arg);
/* How many times the worker was woken for its poke hook so far (by
 * rig_on_worker, a config swap or a credential manager's doorbell). */
unsigned rig_pokes(void);

/* A config from JSON text (name "test"); its errors go to stderr. NULL on
 * error. */
struct config *rig_config_from_json(const char *json);
/* The config most rig tests run on: s3warden on 127.0.0.1 in front of the
 * fake upstream, signing with one static key pair, and one user in account
 * 111111111111 with one policy. Each field NULL takes the default shown. */
struct rig_cfg {
    const char *top;          /* leading top-level fields, each "\"name\":value," */
    const char *up_host;      /* the upstream endpoint's host: "127.0.0.1" */
    const char *up_region;    /* "us-east-1" */
    const char *up_extra;     /* leading fields of "upstream", each ending in ',' */
    const char *up_akid;      /* the upstream key pair: a rig pair */
    const char *up_secret;
    const char *accounts;     /* the "accounts" elements: {"id":"111111111111"} */
    const char *user;         /* the user's name: "w" */
    const char *unique_id;    /* its unique id: "AIDARIGUSER0000001" */
    const char *akid;         /* its access key: required */
    const char *secret;
    const char *policy;       /* its one policy's document: Allow s3:* on * */
    const char *more_users;   /* further "users" elements, each led by ',' */
    /* the "buckets" elements: bkt of 111111111111, stored as real-bkt */
    const char *buckets;
};
/* rig_config_from_json() of that config; asserts that its JSON fits. */
struct config *rig_config(const struct rig_cfg *c);
/* Swaps the running snapshot (as SIGHUP does; takes over cfg, which must
 * not be NULL) and waits 100 ms for the worker to pick it up. */
void rig_install_config(struct config *cfg);

/* ---- what the fake upstream saw ------------------------------------------- */
struct rig_seen {
    int requests;          /* request heads seen */
    int complete_bodies;   /* bodies received in full (incl. empty ones) */
    size_t last_body_len;  /* bytes of the last body received */
    size_t last_body_kept; /* of those, the bytes in last_body (<= RIG_BODY_MAX) */
    char last_head[RIG_HEAD_MAX];
    char last_body[RIG_BODY_MAX];
};

/* Sleeps settle_ms (so that whatever was sent has been recorded), then
 * reads the two counters under the lock. Either pointer may be NULL. */
void rig_counts(int settle_ms, int *requests, int *complete_bodies);
/* A consistent copy of everything recorded (no sleep), to assert on
 * outside the lock. */
void rig_seen(struct rig_seen *out);

/* ---- requests ------------------------------------------------------------- */
struct rig_req {
    const char *akid, *secret; /* akid NULL: anonymous, nothing signed */
    const char *method;        /* NULL: "PUT" */
    const char *target;        /* request target as sent */
    const char *service;       /* NULL: "s3" (S3 URI rules); else generic */
    /* "name: value\r\n" lines, signed beside Host (at most 7) and sent
     * after x-amz-content-sha256 */
    const char *signed_hdrs;
    const char *unsigned_hdrs; /* "name: value\r\n" lines sent unsigned,
                                  after signed_hdrs */
    const char *payload;       /* x-amz-content-sha256 value; NULL: the hex
                                  sha256 of body */
    const char *body;          /* the body the signature covers; NULL: "" */
    /* the framing line(s) ending the head; NULL: "Content-Length: <len of
     * wire_body>\r\n" */
    const char *framing;
    const char *wire_body;     /* sent after the head; NULL: body */
    const char *token;         /* a session token, signed and sent as
                                  x-amz-security-token; NULL: none */
    int64_t at;                /* signed at this time; 0: now */
    const char *region;        /* the scope's region; NULL: us-east-1 */
};

/* Writes the request into out (NUL-terminated) and returns its length;
 * asserts that it fits. */
size_t rig_build(char *out, size_t cap, const struct rig_req *r);

/* Connects to s3warden, sends len bytes of req (stopping quietly when the
 * peer refuses more: see rig_last_sent()) and
 * reads into resp (NUL-terminated): until `until` has appeared once, the
 * peer closes or 5 s pass; until NULL: the head and then Content-Length
 * bytes of body. Returns the bytes read. */
size_t rig_exchange(const char *req, size_t len, const char *until, char *resp, size_t cap);
/* The bytes of the request the last rig_exchange() got sent. */
size_t rig_last_sent(void);

/* ---- small checks shared by the rig tests ----------------------------------- */
/* Request heads the fake upstream has seen, after 100 ms (whatever was
 * sent has reached the recorder by then). */
int rig_upstream_requests(void);
/* Asserts that the fake upstream has seen `want` requests in all (after
 * the same settling pause); when not, prints the last head it saw first,
 * so that a failure in CI says what went upstream. */
void rig_assert_upstream_requests(int want);
/* The body of a response held whole in r ("" without a head's end). */
const char *rig_body_of(const char *r);
/* Asserts that resp starts with the status line `line` (printing both
 * when it does not). */
void rig_assert_status(const char *resp, const char *line);
/* The parsed audit record (rig_opts.audit_file) of the request for `key`
 * (requestParameters.key), or with by_error the first whose errorCode is
 * `key`; waits for the writer; every line of the file must parse. NULL if
 * none in 3 s; cJSON_Delete it. */
struct cJSON;
struct cJSON *rig_audit_find(const char *key, bool by_error);

#endif
