/*
 * cors.h - a bucket's CORS rules (buckets[].cors in the config), in the
 * shape of S3's CORSConfiguration (S3 API Reference, PutBucketCors,
 * "CORSRule"): the JSON `aws s3api get-bucket-cors` prints,
 * {"CORSRules": [{"AllowedOrigins": [...], "AllowedMethods": [...], ...}]}.
 *
 * s3warden answers CORS itself (proxy/cors.c): the upstream's CORS
 * configuration is never used, so the rules a browser meets are the ones
 * in the config, validated here as S3's PutBucketCors validates them.
 */
#ifndef S3W_CONFIG_CORS_H
#define S3W_CONFIG_CORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct cJSON;

/* S3's limits (PutBucketCors: "up to 100 rules"; an ID of up to 255
 * characters); the header-name and origin lengths are s3warden's cap on a
 * response header line built from them. */
#define CONFIG_CORS_MAX_RULES 100
#define CONFIG_CORS_MAX_ID 255
#define CONFIG_CORS_MAX_VALUE 1024

/* AllowedMethods, as a set: S3 takes exactly these five names. */
enum config_cors_method {
    CONFIG_CORS_GET = 1u << 0,
    CONFIG_CORS_PUT = 1u << 1,
    CONFIG_CORS_POST = 1u << 2,
    CONFIG_CORS_DELETE = 1u << 3,
    CONFIG_CORS_HEAD = 1u << 4,
};

struct config_cors_rule {
    char *id;                 /* NULL: none */
    char **origins;           /* each with at most one '*' */
    size_t norigins;
    unsigned methods;         /* enum config_cors_method bits */
    char **allowed_headers;   /* each with at most one '*'; matched case-insensitively */
    size_t nallowed_headers;
    char **expose_headers;    /* no wildcard */
    size_t nexpose_headers;
    int64_t max_age;          /* MaxAgeSeconds; -1: none */
};

struct config_cors {
    struct config_cors_rule *rules;
    size_t nrules;
};

/* Parses buckets[i].cors (`v`; NULL = absent, returns NULL). Every error
 * goes to errs with file and the JSON path `path` + ".cors..." ; *nomem is
 * set when an allocation failed. Returns the rules (config_cors_free), or
 * NULL when absent or wrong. */
struct config_cors *config_cors_load(const struct cJSON *v, const char *file, const char *path,
                                     struct config_errors *errs, bool *nomem);
void config_cors_free(struct config_cors *c);

/* The bit of an HTTP method name (exact, as S3 compares it), or 0. */
unsigned config_cors_method_bit(const char *p, size_t n);
/* "GET", ... for one bit. */
const char *config_cors_method_name(unsigned bit);

/* Whether `s` matches `pattern`, which holds at most one '*' (any run of
 * bytes, possibly empty); nocase for header names. */
bool config_cors_wildcard_match(const char *pattern, const char *s, size_t n, bool nocase);

#endif
