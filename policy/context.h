/*
 * context.h - the request context an evaluation reads: condition keys and
 * their values (aws:userid, s3:prefix, aws:SourceIp, ...).
 *
 * Shared contract between the producers (policy/s3 request mapping, config
 * identities, proxy) and the consumer (policy evaluation).
 *
 * Ownership: the context stores borrowed slices only - keys, values and
 * value arrays must stay alive and unchanged until the evaluation that reads
 * the context returns. Fixed capacity, no allocation.
 * Keys are matched ASCII case-insensitively (IAM: condition key names are
 * case-insensitive); values are kept as given.
 */
#ifndef S3W_POLICY_CONTEXT_H
#define S3W_POLICY_CONTEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "bytes.h"

#define POLICY_CTX_MAX_KEYS 96

struct policy_ctx_entry {
    struct s3w_slice key;
    /* Single-valued keys use `one` and values == &one, nvalues == 1.
     * Multi-valued keys (ForAnyValue/ForAllValues) point at a caller array. */
    struct s3w_slice one;
    const struct s3w_slice *values;
    size_t nvalues;
    bool multi; /* set with policy_context_set_multi (even when nvalues <= 1) */
    bool unsure; /* a value AWS does not document (policy_context_mark_unsure) */
};

struct policy_context {
    struct policy_ctx_entry entries[POLICY_CTX_MAX_KEYS];
    size_t n;
};

enum {
    POLICY_CTX_OK = 0,
    POLICY_CTX_E_FULL = -1, /* more than POLICY_CTX_MAX_KEYS distinct keys */
};

void policy_context_init(struct policy_context *ctx);

/* Sets a single-valued key (replacing any earlier value of the same key). */
int policy_context_set(struct policy_context *ctx, struct s3w_slice key,
                       struct s3w_slice value);

/* Sets a multi-valued key; `values` (n entries, n may be 0 = empty set) is
 * borrowed. Replaces any earlier value of the same key. */
int policy_context_set_multi(struct policy_context *ctx, struct s3w_slice key,
                             const struct s3w_slice *values, size_t n);

/* The key's value is s3warden's guess at one AWS does not document
 * (IAM-SEMANTICS.md §6: an anonymous caller's aws:userid and
 * aws:PrincipalType): a condition on it, or a policy variable naming it,
 * takes the reading that denies. Setting the key again clears the mark. */
void policy_context_mark_unsure(struct policy_context *ctx, struct s3w_slice key);

/* Removes a key if present. */
void policy_context_unset(struct policy_context *ctx, struct s3w_slice key);

/* Case-insensitive lookup; NULL when the key is absent. */
const struct policy_ctx_entry *policy_context_get(const struct policy_context *ctx,
                                                  struct s3w_slice key);

#endif
