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

#endif
