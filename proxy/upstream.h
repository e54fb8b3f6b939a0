/*
 * upstream.h - libcurl's multi-socket API driven by a worker's uv loop.
 *
 * One CURLM per worker (its connection cache gives keep-alive reuse toward
 * the upstream); curl tells us which sockets to watch
 * (CURLMOPT_SOCKETFUNCTION -> uv_poll) and when to call it back
 * (CURLMOPT_TIMERFUNCTION -> uv_timer), as in curl's docs/examples/multi-uv.c.
 * A transfer's completion is delivered to its struct up_xfer's `done`
 * callback, outside any curl callback, so `done` may free the easy handle.
 */
#ifndef S3W_PROXY_UPSTREAM_H
#define S3W_PROXY_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>
#include <uv.h>

struct proxy_worker;

struct up_xfer {
    CURL *easy;
    void (*done)(struct up_xfer *x, CURLcode rc);
    void *ud;
    int active;   /* added to the multi */
};

struct up_multi;

/* Sets up w->up; returns 0 or -1. */
int up_worker_init(struct proxy_worker *w, long max_total_conns, long max_host_conns);
/* Closes the uv handles (loop must run afterwards) and the multi. */
void up_worker_cleanup(struct proxy_worker *w);

/* Starts a transfer; x->easy configured by the caller with CURLOPT_PRIVATE
 * left to this module. 0 or -1. */
int up_start(struct proxy_worker *w, struct up_xfer *x);
/* Removes an active transfer without calling done (client went away).
 * Must not be called from inside a curl callback. */
void up_abort(struct proxy_worker *w, struct up_xfer *x);
/* Resumes a paused transfer (curl_easy_pause CONT) and lets curl run. */
void up_unpause(struct proxy_worker *w, struct up_xfer *x);

/* ---- small upstream error bodies -------------------------------------------
 * The audit record's errorCode and the credential refresh need the <Code> of
 * an upstream S3 error (<Error><Code>NoSuchKey</Code>...). The pipeline
 * allocates one of these only for an error status; the body streams to the
 * client while its first UP_ERRBODY_MAX bytes are copied here. A body that
 * did not fit whole is never parsed: big bodies are not buffered for this.
 * 16 KiB holds S3's largest credential errors (SignatureDoesNotMatch with
 * its StringToSign/CanonicalRequest and their byte dumps). */
#define UP_ERRBODY_MAX (16 * 1024)
#define UP_ERRCODE_MAX 64

struct up_errbody {
    char buf[UP_ERRBODY_MAX];
    size_t len;
    bool over; /* more bytes came than fit */
};

/* Appends response body bytes (any number; the excess only sets `over`). */
void up_errbody_add(struct up_errbody *e, const char *p, size_t n);

/* The first <Code> element of the body, NUL-terminated into out (cap >= 2),
 * when the whole body is held, the element is closed, and its text is a
 * plain S3 error code: 1..cap-1 bytes of [A-Za-z0-9._-] (nothing that
 * could break a log line). Returns false otherwise (out is then ""). */
bool up_errbody_code(const struct up_errbody *e, char *out, size_t cap);

/* True for the codes with which S3 refuses the proxy's own credentials on a
 * 403 - they may have been rotated or expired since they were fetched:
 * ExpiredToken, InvalidToken, InvalidAccessKeyId, SignatureDoesNotMatch
 * (S3 API reference, "Error responses"). */
bool up_code_is_credential_error(const char *code);

#endif
