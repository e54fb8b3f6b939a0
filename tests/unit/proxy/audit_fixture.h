/*
 * audit_fixture.h - audit records and the checks on their formatted lines,
 * shared by the tests of the audit formats.
 */
#ifndef S3W_TEST_AUDIT_FIXTURE_H
#define S3W_TEST_AUDIT_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

#include "audit.h"

/* r zeroed, then an allowed GetObject of b/k by an IAM user from
 * 127.0.0.1 at 2023-11-14T22:13:20.123Z, every field short: a test sets
 * only the fields it is about. Slices point at string literals. */
void base_record(struct audit_record *r);

/* r zeroed, then every field audit_format() writes at 20,000 control
 * bytes (6-byte escapes each; AUDIT_MAX_AUTHZ actions and resources) and
 * every number at its widest: the most hostile record it can be handed.
 * Returns those bytes (a static buffer) for the fields a test adds. */
struct s3w_slice hostile_record(struct audit_record *r);

/* Formats r with audit_format(), checks the line is whole (one '\n', at
 * its end), within AUDIT_LINE_MAX, valid UTF-8 and JSON, and returns it
 * parsed (the caller cJSON_Delete()s it); *len the line's length when
 * len is not NULL. Fails the running test otherwise. */
cJSON *format_parse(const struct audit_record *r, size_t *len);

/* The same with audit_format_cloudtrail() and o. */
cJSON *format_parse_cloudtrail(const struct audit_record *r,
                               const struct audit_cloudtrail_opts *o, size_t *len);

/* A requestContext over its budget (CAP_CONTEXT): 16 keys
 * s3:ExistingObjectTag/kN, each with the value v. Static storage: one
 * such context at a time. */
const struct policy_context *context_over_budget(struct s3w_slice v);

/* Whether the record's "truncated" list names field. */
bool listed_truncated(const cJSON *j, const char *field);

#endif
