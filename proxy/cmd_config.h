/*
 * cmd_config.h - `s3warden validate --config FILE`: load and check a config
 * file exactly as `serve` and SIGHUP reload would, without starting.
 */
#ifndef S3W_CMD_CONFIG_H
#define S3W_CMD_CONFIG_H

/* Prints every error ("FILE: PATH: MESSAGE", one per line) to stderr, or a
 * one-line summary to stdout when the config is valid. Returns the exit
 * code: 0 valid, 1 the config has errors, 2 the file cannot be read (or
 * out of memory). */
int s3w_cmd_validate_config(const char *path);

#endif
