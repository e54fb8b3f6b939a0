/*
 * cmd_explain.h - `s3warden explain` and `s3warden replay` (issue 16).
 * main() dispatches here like a subcommand main(), argv[0] being the
 * subcommand name.
 */
#ifndef S3W_CMD_EXPLAIN_H
#define S3W_CMD_EXPLAIN_H

#include <stdbool.h>
#include <stdio.h>

#include "authorize.h"
#include "bytes.h"
#include "config.h"
#include "identity.h"

/*
 * explain --config FILE --as AKID|ARN|anonymous [options] METHOD s3://B/K
 *   METHOD: GET, PUT, DELETE, HEAD, LIST s3://B/PREFIX, COPY s3://SRC s3://DST
 *   (a query may follow the key: s3://b?acl, s3://b/k?tagging)
 *   --header 'Name: value'   (repeatable) a request header
 *   --source-ip IP           aws:SourceIp (default 127.0.0.1)
 *   --tls                    over TLS 1.3 (aws:SecureTransport true)
 *   --context KEY=VALUE      (repeatable) set any condition key; the same
 *                            key given again makes it multi-valued
 *   --time ISO8601|EPOCH     the request's time (default now)
 *   --json                   machine-readable output
 * Decides the request with the code `serve` runs (s3map, authz_decide) and
 * prints the operation, each (action, resource) evaluated with its
 * decision, AWS's message, and per policy the statements that matched and
 * why the others did not. Exit 0 allowed, 3 denied, 2 usage.
 */
int s3w_cmd_explain(int argc, char **argv);

/*
 * replay --config CANDIDATE [--json] AUDIT_FILE...   ("-" reads stdin)
 * Decides every recorded request again under CANDIDATE at its recorded time
 * from its recorded requestContext, and compares with the recorded
 * decision. Exit 0 no flips, 1 flips, 2 usage.
 */
int s3w_cmd_replay(int argc, char **argv);

/* ---- shared by explain and replay (cmd_explain.c) ---- */

/* Resolves --as: an access key id of cfg, a principal ARN, or
 * "anonymous". 0, or -1 with a reason in why. */
int s3w_explain_identity(const struct config *cfg, const char *as, int64_t now,
                         struct config_identity *id, const char **why);

/* "ExplicitlyDenied" -> "explicit deny", etc., for humans. */
const char *s3w_explain_decision_words(enum policy_decision d);

/* Writes "policy:Sid (Effect)" of the statements that decided, or
 * "unlisted_buckets:deny", "-" when none. */
void s3w_explain_deciding(const struct authz_verdict *v, char *buf, size_t cap);

#endif
