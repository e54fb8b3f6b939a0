/*
 * log.h - the process's diagnostic log: one line per event on stderr.
 *
 * Every module of the proxy logs through here (the server, TLS, audit,
 * admin, the credentials manager, main); it depends on nothing of ours, so
 * none of them has to link the server to say something.
 *
 * A line: "2026-11-22T12:00:00.123Z INFO message" for people, or
 * "<6>INFO message" when stderr is journald's stream (proxy_log_init), with
 * a level "DEBUG", "INFO", "WARN" or "ERROR". Control bytes in a message are
 * replaced so that one event is one line; each line is one write(2), so
 * lines from several threads never interleave. Any thread.
 *
 * A thread that logs a line per request (a worker) batches its DEBUG and
 * INFO lines: proxy_log_batch_begin, then proxy_log_flush on a short timer
 * and proxy_log_batch_end when it ends. A WARN or ERROR line writes the
 * thread's batch first, then itself, at once.
 *
 * Never pass authorization material (no secret in any log): the access
 * key id, request id and decision only.
 */
#ifndef S3W_PROXY_LOG_H
#define S3W_PROXY_LOG_H

#include <stdbool.h>

enum { PROXY_LOG_DEBUG = 0, PROXY_LOG_INFO, PROXY_LOG_WARN, PROXY_LOG_ERROR };
void proxy_log(const char *level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Reads JOURNAL_STREAM and what stderr is once (startup), before
 * proxy_log_batch_begin. */
void proxy_log_init(void);
/* Lines below `level` (PROXY_LOG_*) are dropped; any thread. */
void proxy_log_set_level(int level);
/* Whether a line at this level would be written (skip building it if not). */
bool proxy_log_enabled(const char *level);
/* This thread's DEBUG/INFO lines gather in a buffer of its own (at most
 * PIPE_BUF bytes on a pipe or journald, 64 KiB on a regular file, then
 * written whole) until proxy_log_flush. */
void proxy_log_batch_begin(void);
void proxy_log_flush(void);
bool proxy_log_pending(void);
/* Flushes and stops batching on this thread. */
void proxy_log_batch_end(void);

#endif
