/*
 * postpolicy.h - the POST policy of a browser upload (S3 API Reference,
 * "POST Policy" / sigv4-HTTPPOSTConstructPolicy): its expiration and
 * conditions checked against the form's fields, as S3 checks them.
 *
 *   {"bucket": "b"} / ["eq", "$key", "v"]   the field equals the value
 *   ["starts-with", "$key", "p"]             the field starts with p (each
 *                                             value of a comma-separated
 *                                             Content-Type); "" = anything
 *   ["content-length-range", min, max]       the file's size, inclusive
 *
 * and "Each form field that you specify in a form (except
 * x-amz-signature, file, policy, and field names that have an x-ignore-
 * prefix) must appear in the list of conditions." Field names compare
 * without case (form field names are case-insensitive on S3), values
 * exactly. A condition on a field the form lacks fails (fail closed).
 * Pure: the caller has verified the policy's signature first.
 */
#ifndef S3W_POLICY_POSTPOLICY_H
#define S3W_POLICY_POSTPOLICY_H

#include <stddef.h>
#include <stdint.h>

#include "bytes.h"

struct pp_field {
    struct s3w_slice name, value;
};

struct pp_input {
    const struct pp_field *fields; /* the form's fields, without the file */
    size_t nfields;
    struct s3w_slice bucket;       /* the bucket the request names */
    /* the object key as it will be stored (${filename} substituted): the
     * conditions on "key" apply to it, as on S3 */
    struct s3w_slice key;
    uint64_t file_len;
    int64_t now;                   /* unix seconds */
};

/* An error answer as S3 gives it (status 0: the policy allows the form). */
struct pp_error {
    int status;
    const char *code;
    char message[1024];
};

/* Checks the decoded policy document `doc` against `in`. 0 when it allows
 * the upload, else -1 with *err set: 400 InvalidPolicyDocument (not a
 * policy), 403 AccessDenied "Invalid according to Policy: ..." (expired, a
 * condition failed, a field no condition covers), 400
 * EntityTooLarge/EntityTooSmall (content-length-range). */
int postpolicy_check(struct s3w_slice doc, const struct pp_input *in, struct pp_error *err);

#endif
