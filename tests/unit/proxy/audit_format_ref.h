/* audit_format_ref.h - the audit formatter as it was at ae3d9b6, the
 * oracle of test_audit_format_diff.c (audit_format_ref.c). Same contracts
 * as audit_format() and audit_json_escape() in proxy/audit.h. */
#ifndef S3W_TEST_AUDIT_FORMAT_REF_H
#define S3W_TEST_AUDIT_FORMAT_REF_H

#include "audit.h"

int audit_format_ref(const struct audit_record *r, struct s3w_buf *out);
int audit_json_escape_ref(struct s3w_buf *out, struct s3w_slice s, size_t cap, bool *truncated);

#endif
