/*
 * trace.h - the evaluation trace behind `s3warden explain` and `replay`:
 * for every statement of every policy evaluated, whether it applied to the
 * request and, when it did not, the first element that failed (Action,
 * NotAction, Principal, NotPrincipal, Resource, NotResource, or which key
 * of which condition operator).
 *
 * policy_evaluate_traced() fills a caller-owned struct policy_trace; the
 * serving path calls policy_evaluate() (trace NULL), which costs one branch
 * per policy and no allocation. The trace records positions, not text: the
 * rendering functions read the compiled policies and the request, so a
 * trace is valid only while both are (same lifetime as a policy_result,
 * plus the request and its context).
 */
#ifndef S3W_POLICY_TRACE_H
#define S3W_POLICY_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

enum policy_trace_why {
    POLICY_TRACE_MATCHED = 0, /* the statement applied (its Effect counted) */
    POLICY_TRACE_ACTION,      /* no Action entry matches the action */
    POLICY_TRACE_NOTACTION,   /* NotAction lists the action */
    POLICY_TRACE_PRINCIPAL,   /* Principal names no form of the caller */
    POLICY_TRACE_NOTPRINCIPAL,/* NotPrincipal exempts the caller (Deny), or
                                 names it / it is anonymous (Allow) */
    POLICY_TRACE_RESOURCE,    /* no Resource entry matches (or none given) */
    POLICY_TRACE_NOTRESOURCE, /* NotResource lists the resource */
    POLICY_TRACE_CONDITION,   /* a condition key failed (cond, key) */
};

struct policy_trace_entry {
    const struct policy *policy;
    enum policy_source source;
    unsigned stmt;  /* 0-based statement index */
    uint8_t why;    /* enum policy_trace_why */
    uint16_t cond;  /* CONDITION: the operator block (0-based, document order) */
    uint16_t key;   /* CONDITION: its failing key */
};

struct policy_trace {
    struct policy_trace_entry *entries; /* caller's array of `cap` entries */
    size_t cap;
    size_t n;       /* stored */
    size_t dropped; /* entries past cap, counted only */
    /* set by policy_evaluate_traced: the request the trace was made for */
    const struct policy_request *req;
};

/* Empties the trace over the caller's array. */
void policy_trace_init(struct policy_trace *t, struct policy_trace_entry *entries, size_t cap);

/* policy_evaluate (policy.h) with a trace; trace may be NULL. */
int policy_evaluate_traced(const struct policy_set *set, const struct policy_request *req,
                           struct policy_result *res, struct policy_trace *trace);

/* Appends one entry (eval.c). */
void policy_trace_add(struct policy_trace *t, const struct policy_trace_entry *e);

/* "matched", "action", "notaction", "principal", "notprincipal",
 * "resource", "notresource", "condition" */
const char *policy_trace_why_name(enum policy_trace_why w);

/* The statement an entry is about: policy name, Sid (NULL when none),
 * Effect. */
struct policy_trace_stmt {
    const char *policy;
    const char *sid;
    unsigned index;
    bool deny;
};
void policy_trace_statement(const struct policy_trace_entry *e, struct policy_trace_stmt *out);

/* CONDITION entries: the operator as written ("ForAnyValue:StringLike")
 * and the key; false for other entries. Borrowed from the policy. */
bool policy_trace_condition(const struct policy_trace_entry *e, struct s3w_slice *op,
                            struct s3w_slice *key);

/*
 * One line saying why the statement did not apply, with the values
 * compared, e.g.
 *   Resource "arn:aws:s3:::b/k" matches none of ["arn:aws:s3:::b/incoming/..."]
 *   StringEquals "s3:x-amz-acl": request ["public-read"], policy ["private"]: no match
 *   StringEquals "aws:SourceVpce": the key is absent from the request (no ...IfExists)
 * "applies" for a MATCHED entry. snprintf-like: NUL-terminated, truncated
 * to cap, returns the untruncated length.
 */
size_t policy_trace_explain(const struct policy_trace *t, const struct policy_trace_entry *e,
                            char *buf, size_t cap);

#endif
