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

#endif
