/*
 * wbehind_wrap.h - sync_file_range and posix_fadvise observed, for the
 * tests of base/writebehind.c and of the audit writer that uses it. A test
 * links wbehind_wrap.c with -Wl,--wrap=sync_file_range,
 * --wrap=posix_fadvise and --wrap=posix_fadvise64: every call is recorded
 * here, then passed on to the real one. Calls may come from another
 * thread (the audit writer): a test reads them once that thread is done.
 */
#ifndef S3W_TEST_WBEHIND_WRAP_H
#define S3W_TEST_WBEHIND_WRAP_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct wb_call {
    char kind;     /* 'w' sync_file_range, 'd' posix_fadvise */
    int fd;
    uint64_t off, len;
    unsigned how;  /* the flags, or the advice */
};

#define WB_CALLS_MAX 64
extern struct wb_call wb_calls[WB_CALLS_MAX];
extern _Atomic size_t wb_ncalls; /* may pass WB_CALLS_MAX: the rest are not kept */

#endif
