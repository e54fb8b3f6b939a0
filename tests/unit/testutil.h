/* testutil.h - helpers for unit tests (not linked into s3warden). */
#ifndef S3W_TESTUTIL_H
#define S3W_TESTUTIL_H

#include <stddef.h>

/* $S3W_TESTDATA (set by meson), or tests/testdata relative to the cwd. */
const char *tu_testdata_dir(void);

/* Reads "<testdata>/<rel>" whole; returns a malloc'd NUL-terminated buffer
 * (len excludes the NUL) or NULL (and prints why). Caller frees. */
char *tu_read_testdata(const char *rel, size_t *len);

/* Reads any file whole; same contract. */
char *tu_read_file(const char *path, size_t *len);

/* Skips a test that cannot run on this machine (a tool or service it needs
 * is missing), saying why, from inside the test; cmocka counts a skip as no
 * failure. Where S3W_NO_SKIP is set it fails instead: deploy/test.sh sets
 * it, having installed every part, so a test that did not run there never
 * passes for one that did. For a test file that includes cmocka.h. */
/* Whether S3W_NO_SKIP is set (see TU_SKIP). */
int tu_no_skip(void);
/* For a test that is a whole program: says why it cannot run and returns
 * what main returns, 77 (meson's skip), or 1 where S3W_NO_SKIP is set. */
int tu_skip_exit(const char *why);

#define TU_SKIP(why)                                                                     \
    do {                                                                                 \
        const char *tu_why_ = (why);                                                     \
        if (tu_no_skip())                                                                \
            fail_msg("cannot run here, and S3W_NO_SKIP is set: %s", tu_why_);            \
        print_message("SKIP: %s\n", tu_why_);                                            \
        skip();                                                                          \
    } while (0)

#endif
