/*
 * policy_int.h - compiled policy representation shared by compile.c,
 * match.c, condition.c and eval.c. Not part of the public contract.
 *
 * Everything evaluation touches is laid out at compile time in one arena
 * owned by the struct policy: patterns are token arrays (literal runs,
 * `*`, `?`, policy variables), ARNs are pre-split, statements are indexed
 * by (service prefix, first letter of the action name).
 */
#ifndef S3W_POLICY_INT_H
#define S3W_POLICY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

/* ---- arena ------------------------------------------------------------- */
struct arena_block;
struct arena {
    struct arena_block *head;
    size_t used_total;
    size_t max_total; /* cap: a compiled policy never grows past this */
    bool failed;      /* some allocation failed (cap or ENOMEM) */
};
void arena_init(struct arena *a, size_t max_total);
void *arena_alloc(struct arena *a, size_t n); /* zeroed; NULL on cap/ENOMEM */
char *arena_strdup(struct arena *a, const char *s, size_t n);
void arena_free(struct arena *a);

/* ---- patterns ----------------------------------------------------------- */
enum tok_kind {
    TOK_LIT = 0, /* literal bytes */
    TOK_STAR,    /* any run, including empty */
    TOK_QMARK,   /* exactly one character (a UTF-8 sequence, or a byte of none) */
    TOK_VAR,     /* ${key} or ${key, 'default'}: value read from the context */
};

struct pat_tok {
    uint8_t kind;
    bool has_default;
    struct s3w_slice text; /* LIT: the bytes; VAR: the key name */
    struct s3w_slice def;  /* VAR: the default value */
};

struct pattern {
    const struct pat_tok *toks;
    uint16_t ntoks;
    bool has_wild; /* contains STAR or QMARK */
    bool has_var;
    bool like;     /* compiled with `*` and `?` as wildcards */
    bool high;     /* a literal or a default holds a byte >= 0x80 */
    struct s3w_slice raw; /* as written in the policy (for messages) */
};

/* Max variables one pattern may hold (compile-time error past it) */
#define PATTERN_MAX_VARS 16

/* Resolved variables of one pattern during one match: borrowed slices into
 * the context or the policy. `wild`: the pattern takes wildcards and some
 * value holds `*` or `?`; whether those are wildcards too is UNCONFIRMED
 * (IAM-SEMANTICS.md §5), so the caller takes the reading that denies. */
struct pat_vars {
    struct s3w_slice v[PATTERN_MAX_VARS];
    bool wild;
    bool undefined; /* unresolved: a variable names a multivalued key, or
                     * holds a value AWS does not document (below) */
};

/*
 * Tokenises `s` into *out (tokens allocated in `a`).
 *  wild: `*` and `?` are wildcards (otherwise literal bytes);
 *  vars: `${...}` are policy variables / escapes (Version 2012-10-17 and an
 *        element that takes variables; otherwise literal).
 * Returns 0 or a negative value with *why set to a static message.
 */
int pattern_compile(struct arena *a, struct s3w_slice s, bool wild, bool vars,
                    struct pattern *out, const char **why);

/*
 * Resolves the pattern's variables from ctx into *rv. Returns false when a
 * variable has no value and no default (IAM-SEMANTICS.md §5: effectively
 * null - the caller decides what null means for its operator), or names a
 * multivalued key (AWS says those cannot be variables, not what happens
 * when one is) or a value marked unsure (policy_context_mark_unsure):
 * then rv->undefined tells the caller to take the reading that denies.
 */
bool pattern_resolve(const struct pattern *p, const struct policy_context *ctx,
                     struct pat_vars *rv);

/* Glob match of the whole `s` against p (resolved with rv). nocase: ASCII
 * case-insensitive. No allocation, O(len(s) * len(p)) worst case. */
bool pattern_match(const struct pattern *p, const struct pat_vars *rv,
                   struct s3w_slice s, bool nocase);

/* pattern_match with the `*` and `?` inside the variables' values read as
 * wildcards as well (the other reading, when rv->wild). It matches
 * everything pattern_match does and perhaps more. */
bool pattern_match_wild_values(const struct pattern *p, const struct pat_vars *rv,
                               struct s3w_slice s, bool nocase);

/* pattern_match with characters compared under Unicode simple case folding
 * instead of ASCII's, for the scripts match.c's fold table covers (Latin,
 * Greek, Cyrillic, Armenian, Georgian, Glagolitic, fullwidth forms; other
 * characters compare exactly). `*` and `?` are wildcards, `?` one UTF-8
 * character; wild_values: the `*` and `?` in the values are too, as in
 * pattern_match_wild_values. Where neither the pattern (pattern_high) nor
 * `s` (slice_has_high) holds a byte >= 0x80 it answers as the ASCII
 * case-insensitive match of the same reading, so a caller tries it only
 * then, after that match failed. No allocation, O(len(s) * len(p)) worst
 * case. */
bool pattern_match_fold(const struct pattern *p, const struct pat_vars *rv,
                        struct s3w_slice s, bool wild_values);

/* Whether p, resolved with rv, holds a byte >= 0x80 (in a literal, a
 * default or a variable's value). */
bool pattern_high(const struct pattern *p, const struct pat_vars *rv);

/* Whether s holds a byte >= 0x80. */
bool slice_has_high(struct s3w_slice s);

/* ---- principals -------------------------------------------------------- */
enum prin_kind {
    PRIN_ANY = 0,      /* "*" */
    PRIN_AWS_ANY,      /* {"AWS": "*"} */
    PRIN_ACCOUNT,      /* "123456789012" or arn:aws:iam::123456789012:root */
    PRIN_USER,         /* arn:aws:iam::A:user/... */
    PRIN_ROLE,         /* arn:aws:iam::A:role/... */
    PRIN_SESSION,      /* arn:aws:sts::A:assumed-role/R/S */
    PRIN_FEDERATED_USER, /* arn:aws:sts::A:federated-user/N */
    PRIN_USER_ID,      /* AIDA... */
    PRIN_ROLE_ID,      /* AROA... */
    PRIN_SERVICE,      /* {"Service": ...}: never one of our callers */
    PRIN_FEDERATED,    /* {"Federated": ...}: identity provider */
    PRIN_CANONICAL,    /* {"CanonicalUser": 64 hex} */
    PRIN_CLOUDFRONT_OAI, /* arn:aws:iam::cloudfront:user/CloudFront Origin
                            Access Identity ID: never one of our callers */
};

struct prin_entry {
    uint8_t kind;
    struct s3w_slice value;   /* the ARN / id as written */
    struct s3w_slice account; /* account part (ARN forms, PRIN_ACCOUNT) */
    struct s3w_slice bound_id; /* PRIN_USER/PRIN_ROLE bound to a unique id */
};

/* How a resource-policy Allow reached the caller (IAM-SEMANTICS.md §1.3);
 * the order is the strength of the grant. */
enum grant_kind {
    GRANT_NONE = 0,
    GRANT_ACCOUNT, /* account principal: delegates, identity must grant */
    GRANT_ROLE,    /* role ARN/id: limited by boundary and session policy */
    GRANT_ANY,     /* "*" or {"AWS":"*"}: limited by the session policy */
    GRANT_DIRECT,  /* user, session, federated-user ARN: stands alone */
};

/* ---- conditions -------------------------------------------------------- */
enum cond_family {
    FAM_STRING = 0, FAM_NUMERIC, FAM_DATE, FAM_BOOL, FAM_BINARY, FAM_IP,
    FAM_ARN, FAM_NULL,
};

enum cond_cmp {
    CMP_EQ = 0, CMP_LT, CMP_LE, CMP_GT, CMP_GE, CMP_LIKE,
};

enum cond_set { SET_NONE = 0, SET_FORALL, SET_FORANY };

#define ARN_PARTS 6

/* A decimal number as written, compared exactly: no rounding through a
 * double, no precision limit. The slices point into the text it was read
 * from, which must outlive it (a policy value: the policy's arena). */
struct policy_number {
    bool neg;              /* a leading '-' on a value other than zero */
    struct s3w_slice ip;   /* integer digits without leading zeros ("" for 0) */
    struct s3w_slice frac; /* fraction digits without trailing zeros */
};

enum policy_number_form {
    POLICY_NUM_INVALID = 0, /* not [+-]digits[.digits] */
    POLICY_NUM_PLAIN,       /* digits[.digits], no leading zero before a digit */
    /* a sign or leading zeros ("+5", "-5", "0500", "00.5"): AWS documents
     * integer and decimal values and defines neither (§4.5 UNCONFIRMED) */
    POLICY_NUM_UNDEFINED,
};

struct cond_value {
    struct pattern pat;              /* string family; null-family text */
    struct pattern arn[ARN_PARTS];   /* ARN family: per component */
    struct policy_number num;        /* numeric: always POLICY_NUM_PLAIN */
    int64_t date_ms;                 /* date: ms since epoch */
    bool b;                          /* bool, null */
    uint8_t ip[16];                  /* ip: network address */
    uint8_t ip_family;               /* 4 or 6 */
    uint8_t ip_prefix;
    struct s3w_slice bin;            /* binary: decoded bytes */
};

struct cond_key {
    struct s3w_slice key; /* as written; looked up case-insensitively */
    const struct cond_value *vals;
    size_t nvals;
};

struct cond {
    uint8_t family;
    uint8_t cmp;
    uint8_t set;
    bool negated;
    bool nocase;
    bool if_exists;
    const struct cond_key *keys;
    size_t nkeys;
    struct s3w_slice op_name; /* for messages */
};

/* Parses the operator name (without/with ForAllValues:/ForAnyValue: and
 * IfExists). Returns false for an unknown operator. */
bool cond_parse_operator(struct s3w_slice name, struct cond *out);

/* Compiles one policy value for the operator; returns 0 or -1 with *why. */
int cond_compile_value(struct arena *a, const struct cond *c, struct s3w_slice v,
                       bool vars, struct cond_value *out, const char **why);

/* Evaluates one condition operator block (all keys AND). `fail_result` is
 * the answer for an indeterminate evaluation (a request value that cannot be
 * parsed for the operator, a single-valued operator on a multi-valued key):
 * the reading that denies - true in a Deny statement, false in an Allow. */
bool cond_eval(const struct cond *c, const struct policy_context *ctx,
               bool fail_result);

/* explain: the first key of c for which cond_eval fails, NULL when c holds */
const struct cond_key *cond_failing_key(const struct cond *c, const struct policy_context *ctx,
                                        bool fail_result);

/* ---- statements ----------------------------------------------------------- */
enum prin_mode { PM_NONE = 0, PM_PRINCIPAL, PM_NOTPRINCIPAL };

struct action_pat {
    struct s3w_slice text; /* lower-cased "service:name-pattern" */
    bool wild;             /* holds `*` or `?`; otherwise compared exactly */
};

struct stmt {
    unsigned index;
    const char *sid; /* NUL-terminated, or NULL */
    bool deny;
    uint8_t prin_mode;
    const struct prin_entry *prins;
    size_t nprins;
    bool not_action;
    const struct action_pat *actions;
    size_t nactions;
    bool not_resource;
    bool has_resource; /* Resource or NotResource present */
    const struct pattern *resources;
    size_t nresources;
    const struct cond *conds;
    size_t nconds;
    /* A positive condition on aws:PrincipalArn: a "*" grant so narrowed is
     * not limited by the session policy (IAM-SEMANTICS.md §1.3). */
    bool principal_arn_cond;
};

/* Action index: statements whose actions are all of the form
 * "service:<letter>..." sit in the bucket of each (service, letter); all
 * others (NotAction, "*", "s3:*", "s3:?et*") are in `always`. */
struct action_bucket {
    char svc[24];
    uint8_t svclen;
    char first; /* lower-case first letter of the action name */
    const uint32_t *stmts;
    size_t n;
};

struct policy {
    struct arena arena;
    char *name;
    enum policy_kind kind;
    bool vars;                /* Version 2012-10-17 */
    struct stmt *stmts;
    size_t nstmts;
    struct action_bucket *buckets; /* sorted by (svc, first) */
    size_t nbuckets;
    const uint32_t *always;
    size_t nalways;
};

/* Known-key helpers (keys.c) */
bool policy_key_is_global(struct s3w_slice key);
bool policy_key_is_s3(struct s3w_slice key);
bool policy_key_is_tag(struct s3w_slice key);
/* NULL when s3warden supplies `key` for every request (sets it, or knows its
 * fixed value or its absence); otherwise a static phrase naming what AWS
 * derives it from ("the tags attached to the resource"): a global key
 * s3warden cannot know, so always absent here. keys.c has the inventory. */
const char *policy_key_unknowable(struct s3w_slice key);
/* Whether key is a web identity provider's claim key, "HOST/PATH:sub",
 * ":aud" or ":amr" (keys.c). */
bool policy_key_web_identity(struct s3w_slice key);

/* Date / number parsing shared by condition.c and trace.c. */
bool policy_parse_date(struct s3w_slice s, int64_t *ms);
/* Reads s as a decimal number. *out is filled for PLAIN and UNDEFINED (its
 * slices point into s); only PLAIN values are compared by the operators. */
enum policy_number_form policy_parse_number(struct s3w_slice s, struct policy_number *out);
/* <0, 0 or >0 as a is less than, equal to or greater than b, exactly. */
int policy_number_cmp(const struct policy_number *a, const struct policy_number *b);
bool policy_parse_cidr(struct s3w_slice s, bool need_prefix_ok, uint8_t ip[16],
                       uint8_t *family, uint8_t *prefix);

#endif
