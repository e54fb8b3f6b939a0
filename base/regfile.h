/*
 * regfile.h - opening files that must be regular files: a config, a policy
 * or secret it names, a TLS certificate. A FIFO, a device or a socket at
 * such a path is refused without waiting on it, so a reload (on the thread
 * that also takes the signals) never blocks on a FIFO with no writer
 * (probe 34: SIGHUP with the config path made a FIFO hung the main loop,
 * and SIGTERM was no longer heard).
 */
#ifndef S3W_BASE_REGFILE_H
#define S3W_BASE_REGFILE_H

#include <stdio.h>

/* The file at path opened for reading ("rb"), or NULL with errno set:
 * EINVAL when it is not a regular file (opened O_NONBLOCK, so that takes
 * no wait). */
FILE *s3w_fopen_regular(const char *path);

/* 0 when path is a regular file (following symbolic links), else -errno
 * (-EINVAL: something else). */
int s3w_check_regular(const char *path);

/* strerror(e), or "not a regular file" for EINVAL. */
const char *s3w_regular_strerror(int e);

#endif
