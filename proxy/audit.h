/*
 * audit.h - one JSON line per request, named after CloudTrail data events
 * where a field exists there (eventTime, requestID, sourceIPAddress,
 * userAgent, userIdentity{type, principalId, arn, accountId, accessKeyId,
 * sessionContext}, eventName, errorCode), plus the authorization outcome
 * (actions, resources, decision, decidingStatements, crossAccount) and
 * transfer figures.
 *
 * Writing never blocks a worker loop: lines go into a bounded queue that a
 * writer thread drains to the file (or stdout). When the queue is full the
 * line is dropped and counted (a slow disk must not stall S3 traffic); the
 * count is reported on stderr by the writer.
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

#include "bytes.h"

#define AUDIT_LINE_MAX (16 * 1024)
#define AUDIT_QUEUE_LINES 4096
#define AUDIT_MAX_AUTHZ 16

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
    struct s3w_slice event_name;    /* S3 operation */
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
};

struct audit;

/* path NULL or "-" = stdout; disabled = no output at all. NULL on error. */
struct audit *audit_open(const char *path, bool disabled);
/* Formats and queues a line (any thread). */
void audit_log(struct audit *a, const struct audit_record *r);
/* Reopens the file on the writer thread (logrotate; SIGUSR1). */
void audit_reopen(struct audit *a);
/* Records lost since audit_open (queue full, or over AUDIT_LINE_MAX). */
uint64_t audit_dropped_total(struct audit *a);
/* Flushes the queue, stops the writer, closes. */
void audit_close(struct audit *a);

/* Formats a record as one JSON line with a trailing '\n' (exposed for
 * tests). 0 or S3W_E_TOOBIG. */
int audit_format(const struct audit_record *r, struct s3w_buf *out);

/* Appends s as a JSON string body (no quotes), escaping as RFC 8259 asks;
 * bytes that are not valid UTF-8 become U+FFFD. */
int audit_json_escape(struct s3w_buf *out, struct s3w_slice s);

#endif
