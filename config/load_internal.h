/*
 * load_internal.h - private to config/: the loader's walker (JSON path
 * tracking and error reporting) and helpers shared by the config source
 * files. Not part of the public contract.
 */
#ifndef S3W_CONFIG_LOAD_INTERNAL_H
#define S3W_CONFIG_LOAD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

#define CONFIG_PATH_MAX 512

/* Adds one error; `path` may be "" and is copied. */
void config_errors_add(struct config_errors *e, const char *file,
                       const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Builds the private lookup tables; CONFIG_OK or CONFIG_E_NOMEM. Duplicate
 * keys are reported by the loader before this runs. */
int config_index_build(struct config *cfg);
void config_index_free(struct config_index *ix);

/* Frees a partially or fully built config (no refcount check). */
void config_free(struct config *cfg);

/* Wipes and frees a NUL-terminated secret string. */
void config_free_secret(char *s);

/* IAM name rules: 1..max of [\w+=,.@-] (users, roles, session names). */
bool config_valid_iam_name(const char *s, size_t min, size_t max);

#endif
