/*
 * audit_sink.h - audit sinks that deliver records to a receiver elsewhere
 * (a syslog server, an S3 bucket), at least once.
 *
 * The audit writer thread (audit.c) appends every block of records to each
 * sink's spool, a file in the sink's own directory, before it writes the
 * block to the audit output; a thread of the sink's own reads the spool
 * and hands it to the transport, and moves the spool's committed offset
 * (kept in a second file) only past what the transport vouched for. So a
 * receiver that is down loses nothing: records wait in the spool, across
 * restarts too, and are sent again from the committed offset (a record may
 * then arrive twice, never not at all). While more than max_spool_bytes
 * wait, audit_sink_append fails with ENOSPC, which the writer treats like
 * a full disk: with on_backlog "refuse" new requests get 503 SlowDown.
 */
#ifndef S3W_PROXY_AUDIT_SINK_H
#define S3W_PROXY_AUDIT_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How a sink hands spooled lines to its receiver. Called on the sink's
 * thread only. */
struct audit_transport {
    /* Delivers buf[0..len) (whole '\n'-terminated lines). Returns 0 once
     * the receiver holds every byte, else an errno (the caller retries the
     * same bytes later, with backoff). May block, at most about
     * timeout_ms. */
    int (*deliver)(void *t, const char *buf, size_t len);
    /* Called when the sink stops: closes connections, frees t. */
    void (*free)(void *t);
    /* One line about the receiver for logs and /readyz ("syslog
     * 127.0.0.1:514"). */
    const char *name;
    void *t;
    /* Most bytes handed to one deliver() call (whole lines). */
    size_t max_batch;
    /* Waits this long for more records before delivering a partial batch
     * (0: deliver what is there at once). */
    uint32_t linger_ms;
};

struct audit_sink;

/* Opens (or creates) the spool in `dir` (created if missing, mode 0750)
 * and starts the sink's thread. Spooled records of an earlier run are
 * delivered first. Takes tr (freed on error too). NULL on error (logged). */
struct audit_sink *audit_sink_new(const char *dir, uint64_t max_spool_bytes,
                                  struct audit_transport tr);
/* Appends whole lines to the spool (the audit writer thread): 0, or an
 * errno (ENOSPC: the spool is full; a write error). A failed append
 * leaves the spool as it was. */
int audit_sink_append(struct audit_sink *s, const char *data, size_t len);

struct audit_sink_stats {
    uint64_t delivered_batches; /* deliver() calls that succeeded */
    uint64_t delivered_bytes;
    uint64_t pending_bytes;     /* spooled, not yet delivered */
    double oldest_pending_s;    /* age of the oldest undelivered record; 0: none */
    bool up;                    /* the last delivery attempt succeeded */
};
void audit_sink_stats(struct audit_sink *s, struct audit_sink_stats *st);
/* The /readyz text ("syslog 127.0.0.1:514: ok", "... down (Connection
 * refused); 1234 bytes spooled"). Returns false while the spool is full. */
bool audit_sink_status(struct audit_sink *s, char *out, size_t cap);
const char *audit_sink_name(const struct audit_sink *s);
/* Stops the thread after trying for up to drain_ms to deliver what is
 * spooled (what is left stays in the spool for the next start), frees. */
void audit_sink_free(struct audit_sink *s, uint32_t drain_ms);

/* ---- transports ---------------------------------------------------------------- */

/* RFC 5424 messages over TCP, octet-counting framing (RFC 6587 3.4.1),
 * optionally TLS (RFC 5425). */
struct audit_syslog_opts {
    const char *host;        /* numeric address or name */
    uint16_t port;
    int facility;            /* 0..23; local0 = 16 */
    bool tls;
    const char *ca_file;     /* TLS: CA bundle to verify the receiver (NULL: system) */
    const char *server_name; /* TLS: name to verify (NULL: host) */
    uint32_t timeout_ms;     /* connect / send / acknowledgement wait */
    uint32_t max_message;    /* most bytes of one message, header and record
                              * (0: AUDIT_SYSLOG_MAX_MESSAGE) */
};
/* rsyslog's default limit (maxMessageSize 8k counts 8096 of a message) */
#define AUDIT_SYSLOG_MAX_MESSAGE 8000
/* 0 and *out, or an errno. */
int audit_syslog_transport(const struct audit_syslog_opts *o, struct audit_transport *out);
/* A JSON record cut to at most budget bytes (malloc'd, *out_len set), for
 * a receiver that takes no more: its longest strings shortened (ending
 * "..."), then its largest members dropped but the request's id, time,
 * event, decision and status, and "syslogTruncated": true added; a record
 * that is not JSON becomes {"syslogTruncated":true}. NULL when even that
 * does not fit, or out of memory. Exposed for tests. */
char *audit_syslog_fit(const char *msg, size_t len, size_t budget, size_t *out_len);
/* Formats one RFC 5424 message with its octet count in front ("LEN <PRI>1
 * TIMESTAMP HOST s3warden PID audit - MSG"): exposed for tests. Returns the
 * bytes written to out (at most cap), 0 if it does not fit. */
size_t audit_syslog_frame(char *out, size_t cap, int facility, const char *hostname, int pid,
                          int64_t now_ms, const char *msg, size_t msg_len);

/* S3: each delivery one gzip object {"Records":[...]} under CloudTrail's
 * key layout, PUT through the upstream with the proxy's credentials. */
struct creds_mgr;
struct audit_s3_opts {
    const char *endpoint;    /* the upstream, "https://host[:port]" */
    bool virtual_host;       /* bucket.host rather than host/bucket */
    bool tls_verify;
    const char *ca_file;
    const char *bucket;
    const char *prefix;      /* may be empty */
    const char *account;     /* the ACCOUNT of the layout */
    const char *expected_owner; /* x-amz-expected-bucket-owner (NULL: none) */
    const char *region;      /* the REGION of the layout, and the signing region */
    uint32_t batch_ms;       /* deliver at least this often (records waiting) */
    size_t batch_bytes;      /* ... or once this much waits */
    uint32_t timeout_ms;
};
int audit_s3_transport(const struct audit_s3_opts *o, struct audit_transport *out);
/* The proxy's credentials manager (NULL: none yet; deliveries wait). */
void audit_s3_transport_set_creds(void *t, struct creds_mgr *m);

#endif
