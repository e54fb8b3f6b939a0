/*
 * cmd_presign_post.h - `s3warden presign --post`: a SigV4 POST policy and
 * the form fields of a browser upload to a key prefix, for tests and for
 * bucket owners' backends (the shape of boto3's generate_presigned_post).
 */
#ifndef S3W_PROXY_CMD_PRESIGN_POST_H
#define S3W_PROXY_CMD_PRESIGN_POST_H

#include <stddef.h>

#include "config.h"

/* main.c's: the first listener's base URL (http(s)://ADDRESS:PORT). */
int listener_url(const struct config *cfg, char *out, size_t cap);

/* The command; argv as `presign` got it, with --post among the options.
 * Exit status: 0 printed, 1 the config or the key refused, 2 usage. */
int cmd_presign_post(int argc, char **argv);

#endif
