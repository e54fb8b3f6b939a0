/* audit_int.h - what audit.c (the queue, the writer thread, the
 * workers' batches) and audit_out.c (the output file: opening it, cutting
 * a partial line, writing blocks) share. Not for other modules: audit.h is
 * the interface. */
#ifndef S3W_PROXY_AUDIT_INT_H
#define S3W_PROXY_AUDIT_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit.h"
#include "writebehind.h"

/* A block of whole lines: one record from audit_log, or a worker's batch
 * (audit_batch_log). The writer queues and writes blocks. */
struct audit_line {
    struct audit_line *next;
    size_t len, cap;
    size_t nlines;
    uint32_t spooled; /* bit per sink: appended to its spool */
    char data[];
};

#define BATCH_BYTES (256 * 1024) /* a worker's block is handed over at this size */
#define BATCH_BLOCK (BATCH_BYTES + AUDIT_LINE_MAX) /* a worker's block's room */
/* Written blocks kept for the workers' next batches (struct audit.spare):
 * each worker holds one filling and takes at most one spare at a time. */
#define SPARE_BLOCKS 8
#define BATCH_LINES 64 /* blocks the writer takes per write */

/* The settings the running audit was opened with, each as one text, for
 * audit_reload_check to compare with a reloaded config's. */
enum { SET_OUTPUT, SET_FORMAT, SET_ON_BACKLOG, SET_BACKLOG, SET_CLOUDTRAIL, SET_SINKS,
       AUDIT_SETTINGS };
#define SETTINGS_MAX (64 * 1024)

struct audit {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    struct audit_line *head, *tail; /* oldest first; the writer pops */
    struct audit_line *spare;       /* written blocks of BATCH_BLOCK, for reuse */
    size_t nspare;
    size_t count;                   /* lines queued */
    size_t bytes;                   /* their blocks' memory (block_bytes) */
    _Atomic size_t queued;          /* count, for the workers' lock-free look */
    _Atomic size_t queued_bytes;    /* bytes, likewise */
    bool stop, reopen, disabled;
    int64_t stop_by_ms; /* under mu: a failing output is retried at stop until then (s3w_mono_ms) */
    bool writer_idle;               /* the writer waits for lines (writer_main) */
    int werr;                       /* errno of the failing output; 0 = writing works */
    uint64_t dropped;               /* since the writer last logged it */
    _Atomic uint64_t dropped_total; /* every record lost since start (metrics) */
    atomic_bool blocked;            /* the output fails or the backlog is full */
    enum audit_on_backlog on_backlog;
    size_t backlog;                 /* audit_options.backlog */
    size_t backlog_bytes;           /* backlog * AUDIT_BACKLOG_RECORD_BYTES */
    enum audit_format_kind format;
    struct audit_cloudtrail_opts ct; /* strings owned */
    _Atomic audit_writev_fn writev; /* a test may swap it while the writer runs */
    char *path; /* NULL = stdout */
    bool null_out; /* no output of its own: only the sinks */
    struct audit_sink *sinks[AUDIT_MAX_SINKS];
    void *s3_t[AUDIT_MAX_SINKS]; /* an S3 sink's transport, for its credentials */
    size_t nsinks;
    int spool_err; /* writer thread: the sinks' append failing (logged once) */
    uint64_t unspooled; /* writer thread: records written at stop that a spool refused */
    bool werr_spool;    /* under mu: werr is a sink's spool refusing, not the output */
    struct s3w_buf settings[AUDIT_SETTINGS]; /* as opened, for audit_reload_check */
    /* writer thread only (and audit_open before it starts) */
    int fd;
    bool seekable;  /* a regular file: a partial line can be cut */
    size_t torn;    /* bytes of a partial line still to cut off the file's end */
    size_t resume;  /* bytes of the oldest queued block already written */
    struct s3w_wbehind wb; /* a regular file's written windows leave the cache */
};

/* ---- the output (audit_out.c); writer thread only, and audit_open_opts
 * before the writer starts -------------------------------------------------- */
/* Opens a->path (appending; stdout when NULL) into a->fd, cutting a
 * partial last line a crash left. 0, or -1 (logged). */
int audit_out_open(struct audit *a);
/* Cuts a->torn bytes of a partial line off the file's end. 0, or -1. */
int audit_out_cut_torn(struct audit *a);
/* Writes blocks lines[0..n) from a->resume on. 0, or the errno of the
 * first failure with *done set to the blocks complete in the output. */
int audit_out_write(struct audit *a, struct audit_line **lines, size_t n, size_t *done);

#endif
