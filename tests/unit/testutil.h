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

/* A port on 127.0.0.1 free now, for a server another process starts on it
 * (moto, openssl s_server): chosen at random below the ephemeral range
 * (net.ipv4.ip_local_port_range), as tests/integration/s3w_it.py's
 * free_ports does. A port the kernel hands out for binding 0 is in that
 * range, and another test's server or client may get it too before ours
 * binds it: a test's fake upstream then saw a request meant for a moto
 * that was starting. Never the same port twice in a row of 16 calls (two
 * servers started before either binds). Not thread-safe. -1 when none is
 * found. */
int tu_free_port(void);

#define TU_SKIP(why)                                                                     \
    do {                                                                                 \
        const char *tu_why_ = (why);                                                     \
        if (tu_no_skip())                                                                \
            fail_msg("cannot run here, and S3W_NO_SKIP is set: %s", tu_why_);            \
        print_message("SKIP: %s\n", tu_why_);                                            \
        skip();                                                                          \
    } while (0)

#endif
