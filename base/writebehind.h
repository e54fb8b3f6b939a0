/*
 * writebehind.h - for a file that is only appended to and not read back
 * (the audit log): each window of new bytes is handed to the disk as soon
 * as it is complete, and the window before it leaves the page cache.
 *
 * Without it, the kernel keeps every byte written in the page cache until
 * memory runs short, and writes it back only after seconds. An audit log
 * grows by about 1.3 KiB per request: gigabytes of page cache that nobody
 * reads, taken from files that are read, and as much dirty data waiting
 * for the disk. With it, the log's share of the cache stays near two
 * windows and its records reach the disk within a window (fincore after
 * the proxy bench wrote a 1 GiB audit log: 10 MiB of it cached, against
 * 745 MiB without).
 *
 * What it costs or saves in CPU depends on the machine. Appending 1 GiB
 * in 128 KiB writes on this project's test VMs (tests/bench/
 * bench_writebehind.c) took 1.56-1.80 s of system time plainly and
 * 0.32-0.40 s with it: there every new page-cache page is fresh guest
 * memory, slow on first touch, and dropped pages are reused instead. In
 * the proxy bench (1.3 KiB of record per request, 14,000-28,000 requests
 * a second) the audit writer's system time per request was the same
 * either way (0.9-1.4 us plainly, 1.2-1.3 us with it): that is not why
 * it is here.
 *
 * Linux only (sync_file_range, posix_fadvise); both are hints here: a
 * failure changes nothing written. Nothing waits: pages still under
 * writeback when their window is dropped stay cached until the kernel
 * reclaims them as it would have anyway.
 */
#ifndef S3W_WRITEBEHIND_H
#define S3W_WRITEBEHIND_H

#include <stdint.h>
#include <sys/types.h>

#define S3W_WBEHIND_WINDOW (8u << 20)

struct s3w_wbehind {
    int fd;              /* -1: not a regular file, nothing to do */
    uint64_t sent;       /* bytes before this were handed to writeback */
    uint64_t dropped;    /* bytes before this were dropped from the cache */
    uint64_t pending;    /* bytes written since `sent` was last moved */
    uint64_t window;     /* S3W_WBEHIND_WINDOW, or a test's (set before init) */
};

/* Starts on fd, opened for appending: the bytes it holds now are left
 * alone. fd that is not a regular file (a pipe, a terminal) turns the
 * others into no-ops. */
void s3w_wbehind_init(struct s3w_wbehind *w, int fd);

/* n more bytes were appended to the file. Once a window is complete:
 * its bytes go to writeback and the window before it is dropped from
 * the cache. One lseek(2) per window finds the file's end (a rotation
 * by copytruncate may have cut the file: then it starts over there). */
void s3w_wbehind_wrote(struct s3w_wbehind *w, uint64_t n);

#endif
