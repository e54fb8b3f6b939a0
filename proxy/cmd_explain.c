/*
 * cmd_explain.c - `s3warden explain` (cmd_explain.h): one request as a
 * client would send it, decided by the code `serve` runs - s3map maps it to
 * the operation, its (action, resource) pairs and condition keys, and
 * authz_decide evaluates each pair - with the evaluation trace
 * (policy/trace.h) printed per policy.
 */
#include "cmd_explain.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>

#include "civil.h"
#include "s3map.h"
#include "sigv4.h"
#include "trace.h"

#define EXPLAIN_MAX_HEADERS 32
#define EXPLAIN_MAX_CONTEXT 32
#define EXPLAIN_TRACE_MAX 512

/* ---- shared with replay -------------------------------------------------------- */
int s3w_explain_identity(const struct config *cfg, const char *as, int64_t now,
                         struct config_identity *id, const char **why)
{
    *why = NULL;
    if (strcmp(as, "anonymous") == 0) {
        config_identity_anonymous(id);
        return 0;
    }
    if (strncmp(as, "arn:", 4) == 0) {
        if (config_identity_from_arn(cfg, s3w_slice_cstr(as), id) == CONFIG_AUTH_OK)
            return 0;
        *why = "no user, account root or role session of the config has this ARN";
        return -1;
    }
    uint8_t secret[SIGV4_MAX_SECRET];
    size_t slen = 0;
    int rc = config_resolve(cfg, s3w_slice_cstr(as), S3W_SLICE_NULL, now, id, secret,
                            sizeof(secret), &slen);
    s3w_wipe(secret, sizeof(secret));
    if (rc == CONFIG_AUTH_OK)
        return 0;
    *why = rc == CONFIG_AUTH_MISSING_TOKEN
               ? "a session key (ASIA...): give the session's assumed-role ARN instead"
               : "not an active access key id of this config";
    return -1;
}

const char *s3w_explain_decision_words(enum policy_decision d)
{
    return policy_decision_name(d);
}

void s3w_explain_deciding(const struct authz_verdict *v, char *buf, size_t cap)
{
    size_t off = 0;
    if (cap)
        buf[0] = '\0';
    if (v->unlisted) {
        snprintf(buf, cap, "unlisted_buckets:deny");
        return;
    }
    for (size_t i = 0; i < v->res.ndeciding && off < cap; i++) {
        const struct policy_stmt_ref *r = &v->res.deciding[i];
        int n = r->sid ? snprintf(buf + off, cap - off, "%s%s:%s", off ? ";" : "", r->policy, r->sid)
                       : snprintf(buf + off, cap - off, "%s%s:Statement[%u]", off ? ";" : "",
                                  r->policy, r->index);
        if (n < 0)
            break;
        off += (size_t)n;
    }
    if (!buf[0])
        snprintf(buf, cap, "-");
}

/* ---- arguments ----------------------------------------------------------------- */
struct explain_args {
    const char *config_path, *as, *method, *uri, *uri2, *source_ip, *time;
    bool tls, json;
    const char *headers[EXPLAIN_MAX_HEADERS];
    size_t nheaders;
    const char *context[EXPLAIN_MAX_CONTEXT];
    size_t ncontext;
};

static int usage_error(const char *msg, const char *arg)
{
    if (msg)
        fprintf(stderr, "s3warden: explain: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
    fprintf(stderr, "s3warden: usage: s3warden explain --config FILE --as AKID|ARN|anonymous "
            "[--header 'Name: value']... [--source-ip IP] [--tls] [--context KEY=VALUE]... "
            "[--time ISO8601|EPOCH] [--json] GET|PUT|DELETE|HEAD|LIST|COPY s3://BUCKET/KEY "
            "[s3://DEST/KEY]\n");
    return 2;
}

static int parse_args(int argc, char **argv, struct explain_args *a)
{
    memset(a, 0, sizeof(*a));
    a->source_ip = "127.0.0.1";
    const char *pos[3];
    size_t npos = 0;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        bool val = i + 1 < argc;
        if (strcmp(s, "--config") == 0 && val)
            a->config_path = argv[++i];
        else if (strcmp(s, "--as") == 0 && val)
            a->as = argv[++i];
        else if (strcmp(s, "--header") == 0 && val) {
            if (a->nheaders == EXPLAIN_MAX_HEADERS)
                return usage_error("too many --header", NULL);
            a->headers[a->nheaders++] = argv[++i];
        } else if (strcmp(s, "--context") == 0 && val) {
            if (a->ncontext == EXPLAIN_MAX_CONTEXT)
                return usage_error("too many --context", NULL);
            a->context[a->ncontext++] = argv[++i];
        } else if (strcmp(s, "--source-ip") == 0 && val)
            a->source_ip = argv[++i];
        else if (strcmp(s, "--time") == 0 && val)
            a->time = argv[++i];
        else if (strcmp(s, "--tls") == 0)
            a->tls = true;
        else if (strcmp(s, "--json") == 0)
            a->json = true;
        else if (s[0] == '-' && s[1])
            return usage_error("unknown option or missing value", s);
        else if (npos < 3)
            pos[npos++] = s;
        else
            return usage_error("unexpected argument", s);
    }
    if (!a->config_path || !a->as || npos < 2)
        return usage_error(NULL, NULL);
    a->method = pos[0];
    a->uri = pos[1];
    a->uri2 = npos > 2 ? pos[2] : NULL;
    bool copy = strcmp(a->method, "COPY") == 0;
    if (copy != (a->uri2 != NULL))
        return usage_error(copy ? "COPY takes a source and a destination" : "one s3:// URI expected",
                           NULL);
    static const char *const methods[] = { "GET", "PUT", "DELETE", "HEAD", "LIST", "COPY", "POST" };
    bool known = false;
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        known = known || strcmp(a->method, methods[i]) == 0;
    if (!known)
        return usage_error("METHOD must be GET, PUT, DELETE, HEAD, POST, LIST or COPY", a->method);
    return 0;
}

/* s3://bucket[/key][?query] */
struct s3uri {
    struct s3w_slice bucket, key, query;
};

static bool parse_s3uri(const char *u, struct s3uri *out)
{
    if (strncmp(u, "s3://", 5) != 0)
        return false;
    const char *b = u + 5;
    const char *q = strchr(b, '?');
    size_t n = q ? (size_t)(q - b) : strlen(b);
    const char *slash = memchr(b, '/', n);
    out->bucket = s3w_slice(b, slash ? (size_t)(slash - b) : n);
    out->key = slash ? s3w_slice(slash + 1, n - out->bucket.len - 1) : S3W_SLICE_NULL;
    out->query = q ? s3w_slice_cstr(q + 1) : S3W_SLICE_NULL;
    return true;
}

static bool parse_time(const char *s, int64_t *secs)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end && !*end && !errno && v >= 0) {
        *secs = v;
        return true;
    }
    return s3w_iso8601_parse(s3w_slice_cstr(s), secs);
}

/* ---- the request ---------------------------------------------------------------- */
/* Everything the mapped request and its context borrow. */
struct explain_req {
    struct s3uri uri, src;
    char method[8];
    struct s3w_header headers[EXPLAIN_MAX_HEADERS + 1];
    size_t nheaders;
    char hname[EXPLAIN_MAX_HEADERS][64];
    struct s3w_buf query, copy_source;
    struct s3map_request mreq;
    struct s3map_result map;
    struct policy_context ctx;
    struct s3w_slice multi[EXPLAIN_MAX_CONTEXT];
    struct config_identity id;
    struct policy_principal principal;
    int64_t now;
};

static int add_header(struct explain_req *r, const char *line)
{
    const char *colon = strchr(line, ':');
    if (!colon || colon == line || (size_t)(colon - line) >= sizeof(r->hname[0]))
        return -1;
    size_t n = (size_t)(colon - line);
    char *name = r->hname[r->nheaders];
    for (size_t i = 0; i < n; i++)
        name[i] = (char)(line[i] >= 'A' && line[i] <= 'Z' ? line[i] + 32 : line[i]);
    const char *v = colon + 1;
    while (*v == ' ' || *v == '\t')
        v++;
    r->headers[r->nheaders++] = (struct s3w_header){ s3w_slice(name, n), s3w_slice_cstr(v) };
    return 0;
}

static const struct s3w_header *find_header(const struct explain_req *r, const char *name)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (s3w_slice_eq_nocase(r->headers[i].name, s3w_slice_cstr(name)))
            return &r->headers[i];
    return NULL;
}

/* --context KEY=VALUE: a key given several times is multi-valued (its
 * values in command-line order). */
static bool same_key(const char *arg, struct s3w_slice key)
{
    const char *eq = strchr(arg, '=');
    return eq && s3w_slice_eq_nocase(key, s3w_slice(arg, (size_t)(eq - arg)));
}

static int apply_context(struct explain_req *r, const struct explain_args *a)
{
    size_t used = 0; /* slots of r->multi taken */
    for (size_t i = 0; i < a->ncontext; i++) {
        const char *eq = strchr(a->context[i], '=');
        if (!eq || eq == a->context[i])
            return -1;
        struct s3w_slice key = s3w_slice(a->context[i], (size_t)(eq - a->context[i]));
        bool seen = false;
        size_t count = 0;
        for (size_t j = 0; j < a->ncontext; j++) {
            seen = seen || (j < i && same_key(a->context[j], key));
            count += same_key(a->context[j], key);
        }
        if (seen)
            continue; /* set with its first occurrence */
        int rc;
        if (count == 1) {
            rc = policy_context_set(&r->ctx, key, s3w_slice_cstr(eq + 1));
        } else {
            size_t base = used;
            for (size_t j = 0; j < a->ncontext; j++)
                if (same_key(a->context[j], key))
                    r->multi[used++] = s3w_slice_cstr(strchr(a->context[j], '=') + 1);
            rc = policy_context_set_multi(&r->ctx, key, &r->multi[base], count);
        }
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* Builds the request an S3 client would send for the command line and maps
 * it as stage_context does. 0, 2 (usage) or 3 (S3 refuses it before any
 * policy: *why says how). */
static int build_request(struct explain_req *r, const struct explain_args *a,
                         const struct config *cfg, char *why, size_t whycap)
{
    if (!parse_s3uri(a->uri, &r->uri) || (a->uri2 && !parse_s3uri(a->uri2, &r->src)))
        return usage_error("the object must be given as s3://BUCKET/KEY", NULL);
    const char *m = a->method;
    s3w_buf_init(&r->query, S3MAP_MAX_QUERY_BYTES);
    s3w_buf_init(&r->copy_source, 4096);
    int e = 0;
    if (strcmp(m, "LIST") == 0) {
        /* ListObjectsV2, as the aws cli and boto3 send it */
        m = "GET";
        e |= s3w_buf_append_cstr(&r->query, "list-type=2");
        if (r->uri.key.len) {
            e |= s3w_buf_append_cstr(&r->query, "&prefix=");
            e |= sigv4_uri_encode(r->uri.key, false, &r->query);
        }
        if (r->uri.query.len) {
            e |= s3w_buf_append_char(&r->query, '&');
            e |= s3w_buf_append_slice(&r->query, r->uri.query);
        }
        r->uri.key = S3W_SLICE_NULL;
    } else if (strcmp(m, "COPY") == 0) {
        /* CopyObject: PUT on the destination with x-amz-copy-source */
        struct s3uri dst = r->src;
        r->src = r->uri;
        r->uri = dst;
        m = "PUT";
        e |= s3w_buf_append_slice(&r->copy_source, r->src.bucket);
        e |= s3w_buf_append_char(&r->copy_source, '/');
        e |= sigv4_uri_encode(r->src.key, true, &r->copy_source);
        if (r->src.query.len) {
            e |= s3w_buf_append_char(&r->copy_source, '?');
            e |= s3w_buf_append_slice(&r->copy_source, r->src.query);
        }
        e |= s3w_buf_append_char(&r->copy_source, '\0');
        r->headers[r->nheaders++] = (struct s3w_header){ S3W_SLICE_LIT("x-amz-copy-source"),
                                                         s3w_slice(r->copy_source.ptr,
                                                                   r->copy_source.len - 1) };
        if (r->uri.query.len)
            e |= s3w_buf_append_slice(&r->query, r->uri.query);
    } else if (r->uri.query.len) {
        e |= s3w_buf_append_slice(&r->query, r->uri.query);
    }
    if (e)
        return usage_error("the request is too long", NULL);
    snprintf(r->method, sizeof(r->method), "%s", m);
    for (size_t i = 0; i < a->nheaders; i++)
        if (add_header(r, a->headers[i]) != 0)
            return usage_error("--header must be 'Name: value'", a->headers[i]);
    r->mreq = (struct s3map_request){
        .method = s3w_slice_cstr(r->method),
        .bucket = r->uri.bucket,
        .key = r->uri.key,
        .query = s3w_buf_slice(&r->query),
        .headers = r->headers,
        .nheaders = r->nheaders,
    };
    int rc = s3map_map(&r->mreq, &r->map);
    if (rc != 0) {
        snprintf(why, whycap, "%d %s: %s%s%s", s3map_error_status(rc), s3map_error_code(rc),
                 s3map_strerror(rc), r->map.detail ? " - " : "", r->map.detail ? r->map.detail : "");
        return 3;
    }
    config_identity_principal(&r->id, &r->principal);
    const struct config_bucket *bc = r->uri.bucket.len ? config_find_bucket(cfg, r->uri.bucket) : NULL;
    bool anon = r->id.type == CONFIG_PRINCIPAL_ANONYMOUS;
    const struct s3w_header *ua = find_header(r, "user-agent"), *ref = find_header(r, "referer"),
                            *sha = find_header(r, "x-amz-content-sha256");
    struct s3map_conn_facts facts = {
        .source_ip = s3w_slice_cstr(a->source_ip),
        .tls_version = a->tls ? S3W_SLICE_LIT("1.3") : S3W_SLICE_NULL,
        .now_ms = r->now * 1000,
        .user_agent = ua ? ua->value : S3W_SLICE_NULL,
        .referer = ref ? ref->value : S3W_SLICE_NULL,
        .region = anon ? S3W_SLICE_NULL : s3w_slice_cstr(cfg->upstream->region),
        .auth_type = anon ? S3MAP_AUTH_NONE : S3MAP_AUTH_HEADER,
        .sig_version = anon ? S3MAP_SIG_NONE : S3MAP_SIG_V4,
        .signature_age_ms = -1,
        .content_sha256 = sha ? sha->value : S3W_SLICE_NULL,
        .resource_account = bc ? s3w_slice_cstr(bc->account) : r->principal.account,
    };
    policy_context_init(&r->ctx);
    rc = s3map_fill_context(&r->map, &r->mreq, &facts, &r->ctx);
    if (rc != 0) {
        snprintf(why, whycap, "%d %s: %s", s3map_error_status(rc), s3map_error_code(rc),
                 s3map_strerror(rc));
        return 3;
    }
    if (config_identity_fill_context(&r->id, &r->ctx) != 0 || apply_context(r, a) != 0)
        return usage_error("bad --context (KEY=VALUE) or too many condition keys", NULL);
    return 0;
}

/* ---- output ----------------------------------------------------------------------- */
static const char *const source_names[] = {
    [POLICY_SRC_NONE] = "none",
    [POLICY_SRC_GUARDRAIL] = "guardrail",
    [POLICY_SRC_RESOURCE] = "bucket policy",
    [POLICY_SRC_IDENTITY] = "identity policy",
    [POLICY_SRC_BOUNDARY] = "permissions boundary",
    [POLICY_SRC_SESSION] = "session policy",
};

static const char *const plural_names[] = {
    [POLICY_SRC_NONE] = "none",
    [POLICY_SRC_GUARDRAIL] = "guardrails",
    [POLICY_SRC_RESOURCE] = "bucket policy",
    [POLICY_SRC_IDENTITY] = "identity policies",
    [POLICY_SRC_BOUNDARY] = "permissions boundary",
    [POLICY_SRC_SESSION] = "session policy",
};

static const char *const source_keys[] = {
    [POLICY_SRC_NONE] = "none",
    [POLICY_SRC_GUARDRAIL] = "guardrail",
    [POLICY_SRC_RESOURCE] = "bucket",
    [POLICY_SRC_IDENTITY] = "identity",
    [POLICY_SRC_BOUNDARY] = "boundary",
    [POLICY_SRC_SESSION] = "session",
};

static void stmt_label(const struct policy_trace_stmt *st, char *buf, size_t cap)
{
    if (st->sid)
        snprintf(buf, cap, "%s (%s)", st->sid, st->deny ? "Deny" : "Allow");
    else
        snprintf(buf, cap, "Statement[%u] (%s)", st->index, st->deny ? "Deny" : "Allow");
}

/* The policies of one kind the subject had, for "none" lines. */
static size_t policies_of(const struct authz_subject *s, const struct authz_verdict *v,
                          enum policy_source src)
{
    switch (src) {
    case POLICY_SRC_GUARDRAIL: return s->nguardrails;
    case POLICY_SRC_RESOURCE: return v->bucket_policy ? 1 : 0;
    case POLICY_SRC_IDENTITY: return s->nidentity;
    case POLICY_SRC_BOUNDARY: return s->boundary ? 1 : 0;
    case POLICY_SRC_SESSION: return s->session ? 1 : 0;
    default: return 0;
    }
}

struct pair_out {
    struct s3w_slice action, resource;
    struct authz_verdict v;
    char msg[1024];
    struct policy_trace trace;
    struct policy_trace_entry entries[EXPLAIN_TRACE_MAX];
    struct policy_request req; /* what the trace renders against */
};

static void print_pair_text(const struct pair_out *p, const struct authz_subject *s,
                            const char *bucket_name, bool anon)
{
    char buf[2048], label[256];
    printf("\n%.*s on %.*s: %s\n", (int)p->action.len, p->action.ptr, (int)p->resource.len,
           p->resource.ptr, policy_decision_name(p->v.decision));
    if (p->v.unlisted) {
        printf("  %s\n", p->msg);
        return;
    }
    s3w_explain_deciding(&p->v, buf, sizeof(buf));
    printf("  deciding: %s\n", buf);
    for (int src = POLICY_SRC_GUARDRAIL; src <= POLICY_SRC_SESSION; src++) {
        if (anon && src > POLICY_SRC_RESOURCE) {
            printf("  %s: not evaluated (anonymous caller)\n", plural_names[src]);
            continue;
        }
        if (!policies_of(s, &p->v, (enum policy_source)src)) {
            printf("  %s: none\n", plural_names[src]);
            continue;
        }
        const struct policy *cur = NULL;
        for (size_t i = 0; i < p->trace.n; i++) {
            const struct policy_trace_entry *e = &p->trace.entries[i];
            if ((int)e->source != src)
                continue;
            if (e->policy != cur) {
                cur = e->policy;
                if (src == POLICY_SRC_RESOURCE)
                    printf("  bucket policy of %s:\n", bucket_name);
                else
                    printf("  %s %s:\n", source_names[src], policy_name(cur));
            }
            struct policy_trace_stmt st;
            policy_trace_statement(e, &st);
            stmt_label(&st, label, sizeof(label));
            if (e->why == POLICY_TRACE_MATCHED) {
                /* "applies", or "applies; " and the unconfirmed reading
                 * through which it does (trace.c put_deny_reading) */
                policy_trace_explain(&p->trace, e, buf, sizeof(buf));
                const char *more = strncmp(buf, "applies; ", 9) == 0 ? buf + 9 : NULL;
                printf("    matched     %s%s%s\n", label, more ? ": " : "", more ? more : "");
            } else {
                policy_trace_explain(&p->trace, e, buf, sizeof(buf));
                printf("    no match    %s: %s\n", label, buf);
            }
        }
    }
    if (p->trace.dropped)
        printf("  (%zu more statements not shown)\n", p->trace.dropped);
}

static cJSON *pair_json(const struct pair_out *p, const struct authz_subject *s, bool anon)
{
    char buf[2048];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "action", "");
    cJSON_AddStringToObject(o, "resource", "");
    snprintf(buf, sizeof(buf), "%.*s", (int)p->action.len, p->action.ptr);
    cJSON_ReplaceItemInObject(o, "action", cJSON_CreateString(buf));
    snprintf(buf, sizeof(buf), "%.*s", (int)p->resource.len, p->resource.ptr);
    cJSON_ReplaceItemInObject(o, "resource", cJSON_CreateString(buf));
    cJSON_AddStringToObject(o, "decision", policy_decision_name(p->v.decision));
    cJSON_AddStringToObject(o, "message", p->v.decision == POLICY_ALLOWED ? "" : p->msg);
    cJSON_AddBoolToObject(o, "unlistedBucket", p->v.unlisted);
    cJSON *dec = cJSON_AddArrayToObject(o, "deciding");
    for (size_t i = 0; i < p->v.res.ndeciding; i++) {
        const struct policy_stmt_ref *r = &p->v.res.deciding[i];
        cJSON *d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "type", source_keys[r->source]);
        cJSON_AddStringToObject(d, "policy", r->policy);
        if (r->sid)
            cJSON_AddStringToObject(d, "sid", r->sid);
        cJSON_AddNumberToObject(d, "index", r->index);
        cJSON_AddStringToObject(d, "effect", r->deny ? "Deny" : "Allow");
        cJSON_AddItemToArray(dec, d);
    }
    cJSON *pols = cJSON_AddArrayToObject(o, "policies");
    cJSON *cur_stmts = NULL;
    const struct policy *cur = NULL;
    for (size_t i = 0; i < p->trace.n; i++) {
        const struct policy_trace_entry *e = &p->trace.entries[i];
        if (e->policy != cur) {
            cur = e->policy;
            cJSON *po = cJSON_CreateObject();
            cJSON_AddStringToObject(po, "type", source_keys[e->source]);
            cJSON_AddStringToObject(po, "name", policy_name(cur));
            cur_stmts = cJSON_AddArrayToObject(po, "statements");
            cJSON_AddItemToArray(pols, po);
        }
        struct policy_trace_stmt st;
        policy_trace_statement(e, &st);
        cJSON *so = cJSON_CreateObject();
        if (st.sid)
            cJSON_AddStringToObject(so, "sid", st.sid);
        cJSON_AddNumberToObject(so, "index", st.index);
        cJSON_AddStringToObject(so, "effect", st.deny ? "Deny" : "Allow");
        cJSON_AddBoolToObject(so, "matched", e->why == POLICY_TRACE_MATCHED);
        if (e->why == POLICY_TRACE_MATCHED) {
            policy_trace_explain(&p->trace, e, buf, sizeof(buf));
            if (strncmp(buf, "applies; ", 9) == 0)
                cJSON_AddStringToObject(so, "reading", buf + 9);
        } else {
            cJSON_AddStringToObject(so, "notMatched", policy_trace_why_name(e->why));
            policy_trace_explain(&p->trace, e, buf, sizeof(buf));
            cJSON_AddStringToObject(so, "because", buf);
            struct s3w_slice op, key;
            if (policy_trace_condition(e, &op, &key)) {
                snprintf(buf, sizeof(buf), "%.*s", (int)op.len, op.ptr);
                cJSON_AddStringToObject(so, "operator", buf);
                snprintf(buf, sizeof(buf), "%.*s", (int)key.len, key.ptr);
                cJSON_AddStringToObject(so, "key", buf);
            }
        }
        cJSON_AddItemToArray(cur_stmts, so);
    }
    (void)s;
    cJSON_AddBoolToObject(o, "principalSideEvaluated", !anon);
    return o;
}

static cJSON *context_json(const struct policy_context *ctx)
{
    char k[256], v[2048];
    cJSON *o = cJSON_CreateObject();
    for (size_t i = 0; i < ctx->n; i++) {
        const struct policy_ctx_entry *e = &ctx->entries[i];
        snprintf(k, sizeof(k), "%.*s", (int)e->key.len, e->key.ptr);
        if (!e->multi) {
            snprintf(v, sizeof(v), "%.*s", (int)e->values[0].len, e->values[0].ptr);
            cJSON_AddStringToObject(o, k, v);
            continue;
        }
        cJSON *arr = cJSON_AddArrayToObject(o, k);
        for (size_t j = 0; j < e->nvalues; j++) {
            snprintf(v, sizeof(v), "%.*s", (int)e->values[j].len, e->values[j].ptr);
            cJSON_AddItemToArray(arr, cJSON_CreateString(v));
        }
    }
    return o;
}

/* ---- the command ------------------------------------------------------------------ */
int s3w_cmd_explain(int argc, char **argv)
{
    struct explain_args a;
    if (parse_args(argc, argv, &a) != 0)
        return 2;
    struct explain_req *r = calloc(1, sizeof(*r));
    struct pair_out *pairs = calloc(S3MAP_MAX_AUTHZ, sizeof(*pairs));
    struct config *cfg = NULL;
    int ret = 2;
    if (!r || !pairs) {
        fprintf(stderr, "s3warden: explain: out of memory\n");
        goto done;
    }
    config_identity_anonymous(&r->id);
    r->now = (int64_t)time(NULL);
    if (a.time && !parse_time(a.time, &r->now)) {
        ret = usage_error("--time must be ISO 8601 (2026-01-02T03:04:05Z) or epoch seconds", a.time);
        goto done;
    }
    struct config_errors errs;
    config_errors_init(&errs);
    int rc = config_load(a.config_path, &cfg, &errs);
    if (rc != CONFIG_OK) {
        for (size_t i = 0; i < errs.n; i++)
            fprintf(stderr, "s3warden: %s\n", errs.items[i].text);
        fprintf(stderr, "s3warden: explain: %s: %s\n", a.config_path, config_strerror(rc));
        config_errors_cleanup(&errs);
        goto done;
    }
    config_errors_cleanup(&errs);
    const char *why = NULL;
    if (s3w_explain_identity(cfg, a.as, r->now, &r->id, &why) != 0) {
        fprintf(stderr, "s3warden: explain: --as %s: %s\n", a.as, why);
        goto done;
    }
    char refused[512] = "";
    ret = build_request(r, &a, cfg, refused, sizeof(refused));
    if (ret == 2)
        goto done;
    bool anon = r->id.type == CONFIG_PRINCIPAL_ANONYMOUS;
    struct s3w_slice who = r->principal.arn.len ? r->principal.arn : S3W_SLICE_LIT("anonymous");
    const char *opname = r->map.op ? r->map.op->name : "-";

    struct authz_subject subj;
    authz_subject_init(&subj, cfg, &r->id, &r->principal, &r->ctx);
    size_t npairs = 0;
    bool allowed = ret == 0;
    const char *first_msg = refused;
    if (ret == 0) {
        for (size_t i = 0; i < r->map.nauthz; i++) {
            struct pair_out *p = &pairs[npairs++];
            p->action = r->map.authz[i].action;
            p->resource = r->map.authz[i].resource;
            policy_trace_init(&p->trace, p->entries, EXPLAIN_TRACE_MAX);
            bool ok = authz_decide(&subj, p->action, p->resource, &p->trace, &p->v, p->msg,
                                   sizeof(p->msg));
            if (!ok && allowed)
                first_msg = p->msg;
            allowed = allowed && ok;
        }
        if (r->map.nauthz == 0) {
            /* px_authorize_all: an operation with no authorization is
             * denied; DeleteObjects authorizes each key of its body */
            allowed = false;
            snprintf(refused, sizeof(refused), "%s",
                     r->map.flags & S3MAP_F_DELETE_BODY
                         ? "DeleteObjects is authorized per key of its body: explain DELETE "
                           "s3://BUCKET/KEY for each key"
                         : "Access Denied");
            first_msg = refused;
        }
    }
    enum policy_decision overall = POLICY_ALLOWED;
    if (!allowed) {
        overall = POLICY_IMPLICIT_DENY;
        for (size_t i = 0; i < npairs; i++)
            if (pairs[i].v.decision != POLICY_ALLOWED) {
                overall = pairs[i].v.decision;
                break;
            }
    }
    char bucket_name[300];
    snprintf(bucket_name, sizeof(bucket_name), "%.*s", (int)r->uri.bucket.len, r->uri.bucket.ptr);
    /* the trace renders each pair against the request it was made for:
     * authz_decide's policy_request lived on its stack */
    for (size_t i = 0; i < npairs; i++) {
        pairs[i].req = (struct policy_request){ .principal = &r->principal, .action = pairs[i].action,
                                                .resource = pairs[i].resource,
                                                .resource_account = pairs[i].v.resource_account,
                                                .ctx = &r->ctx };
        pairs[i].trace.req = &pairs[i].req;
    }
    if (a.json) {
        cJSON *o = cJSON_CreateObject();
        cJSON *rq = cJSON_AddObjectToObject(o, "request");
        cJSON_AddStringToObject(rq, "method", a.method);
        cJSON_AddStringToObject(rq, "uri", a.uri);
        if (a.uri2)
            cJSON_AddStringToObject(rq, "destination", a.uri2);
        char wb[1024];
        snprintf(wb, sizeof(wb), "%.*s", (int)who.len, who.ptr);
        cJSON *pr = cJSON_AddObjectToObject(o, "principal");
        cJSON_AddStringToObject(pr, "arn", wb);
        cJSON_AddStringToObject(pr, "type", config_principal_type_name(r->id.type));
        cJSON_AddStringToObject(o, "operation", opname);
        cJSON_AddStringToObject(o, "decision", policy_decision_name(overall));
        cJSON_AddStringToObject(o, "message", allowed ? "" : first_msg);
        if (ret == 3 && refused[0] && !npairs)
            cJSON_AddStringToObject(o, "refused", refused);
        cJSON *arr = cJSON_AddArrayToObject(o, "authorizations");
        for (size_t i = 0; i < npairs; i++)
            cJSON_AddItemToArray(arr, pair_json(&pairs[i], &subj, anon));
        cJSON_AddItemToObject(o, "requestContext", context_json(&r->ctx));
        char *txt = cJSON_Print(o);
        if (txt)
            printf("%s\n", txt);
        cJSON_free(txt);
        cJSON_Delete(o);
    } else {
        printf("request    %s %s%s%s\n", a.method, a.uri, a.uri2 ? " " : "", a.uri2 ? a.uri2 : "");
        printf("caller     %.*s (%s)\n", (int)who.len, who.ptr, config_principal_type_name(r->id.type));
        printf("operation  %s\n", opname);
        printf("decision   %s\n", policy_decision_name(overall));
        if (!allowed)
            printf("message    %s\n", first_msg);
        for (size_t i = 0; i < npairs; i++)
            print_pair_text(&pairs[i], &subj, bucket_name, anon);
    }
    ret = allowed ? 0 : 3;
done:
    if (r) {
        config_identity_cleanup(&r->id);
        s3w_buf_cleanup(&r->query);
        s3w_buf_cleanup(&r->copy_source);
    }
    free(r);
    free(pairs);
    config_unref(cfg);
    return ret;
}
