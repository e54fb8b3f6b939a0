/* audit_cloudtrail.c - an audit record as CloudTrail writes an S3 data
 * event (or, for s3warden's STS endpoint, an STS management event), field
 * for field. docs/audit-cloudtrail.md cites the CloudTrail reference for
 * each field and says where s3warden's record differs from one AWS would
 * write. Like audit_format.c, every value has a cap on its escaped length
 * so that a record always fits AUDIT_LINE_MAX; a value over its cap is cut
 * and named in additionalEventData.truncated. */
#include "audit.h"

#include <stdio.h>
#include <string.h>

#include "civil.h"
#include "s3err.h"
#include "sigv4.h"

/* Caps on escaped values (bytes of the line). See audit_format.c for why
 * each is generous; the sums below are checked against AUDIT_LINE_MAX. */
#define CT_CAP_ID_TYPE 32
#define CT_CAP_PRINCIPAL_ID 256
#define CT_CAP_ARN 1024
#define CT_CAP_ACCOUNT_ID 64
#define CT_CAP_ACCESS_KEY_ID 128
#define CT_CAP_USER_NAME 128         /* userName and sessionIssuer.userName */
#define CT_CAP_ISSUER_PRINCIPAL 256
#define CT_CAP_ISSUER_ARN 1024
#define CT_CAP_EVENT_NAME 64
#define CT_CAP_REGION 64
#define CT_CAP_SOURCE_IP 128
#define CT_CAP_USER_AGENT 2048
#define CT_CAP_BUCKET 256            /* bucketName, and the bucket's ARN */
#define CT_CAP_HOST 256              /* Host and tlsDetails.clientProvidedHostHeader */
#define CT_CAP_KEY 2048
#define CT_CAP_RESOURCES 2560        /* all object (or role) ARNs together ... */
#define CT_CAP_RESOURCE (CT_CAP_KEY + 320) /* ... and one */
#define CT_CAP_DECISION 64
#define CT_CAP_DECIDING 1024
#define CT_CAP_UP_REQUEST_ID 256
#define CT_CAP_ERROR_CODE 128
#define CT_CAP_REQUEST_ID 64
#define CT_CAP_TLS 32
#define CT_CAP_CIPHER 64
/* names, punctuation, numbers, the fixed values, a 36-byte eventID, error
 * messages (s3err's table), and AUDIT_MAX_AUTHZ + 1 resource objects of
 * about 60 bytes: measured by test_audit_cloudtrail's hostile record */
/* an STS record's roleSessionName and issued key id take the room of an
 * S3 record's bucketName, Host and key, which it has none of */
_Static_assert(CT_CAP_USER_NAME + CT_CAP_ACCESS_KEY_ID <= CT_CAP_BUCKET + CT_CAP_HOST + CT_CAP_KEY,
               "STS fields fit the S3 ones' room");
#define CT_FIXED_MAX 2560
#define CT_TRUNCATED_MAX 768
_Static_assert(CT_CAP_ID_TYPE + CT_CAP_PRINCIPAL_ID + CT_CAP_ARN + 4 * CT_CAP_ACCOUNT_ID +
               CT_CAP_ACCESS_KEY_ID + 2 * CT_CAP_USER_NAME + CT_CAP_ISSUER_PRINCIPAL +
               CT_CAP_ISSUER_ARN + CT_CAP_EVENT_NAME + CT_CAP_REGION + CT_CAP_SOURCE_IP +
               CT_CAP_USER_AGENT + 2 * CT_CAP_BUCKET + 2 * CT_CAP_HOST + CT_CAP_KEY +
               CT_CAP_RESOURCES + CT_CAP_DECISION + CT_CAP_DECIDING + CT_CAP_UP_REQUEST_ID +
               CT_CAP_ERROR_CODE + CT_CAP_REQUEST_ID + CT_CAP_TLS + 2 * CT_CAP_CIPHER +
               CT_FIXED_MAX + CT_TRUNCATED_MAX <= AUDIT_LINE_MAX,
               "the CloudTrail field caps must let every record fit AUDIT_LINE_MAX");

/* Names as they appear in additionalEventData.truncated (the field's path). */
enum ct_field {
    CF_ID_TYPE, CF_PRINCIPAL_ID, CF_ARN, CF_ACCOUNT_ID, CF_ACCESS_KEY_ID, CF_USER_NAME,
    CF_ISSUER_PRINCIPAL, CF_ISSUER_ARN, CF_ISSUER_USER_NAME, CF_EVENT_NAME, CF_REGION,
    CF_SOURCE_IP, CF_USER_AGENT, CF_BUCKET, CF_HOST, CF_KEY, CF_RESOURCES, CF_RECIPIENT,
    CF_DECISION, CF_DECIDING, CF_UP_REQUEST_ID, CF_ERROR_CODE, CF_REQUEST_ID, CF_TLS, CF_CIPHER,
    CF_STS_SESSION_NAME, CF_STS_KEY_ID,
    CF_NONE, /* never cut: fixed or self-made values */
    CF_COUNT = CF_NONE
};

static const char *const ct_field_names[CF_COUNT] = {
    [CF_ID_TYPE] = "userIdentity.type",
    [CF_PRINCIPAL_ID] = "userIdentity.principalId",
    [CF_ARN] = "userIdentity.arn",
    [CF_ACCOUNT_ID] = "userIdentity.accountId",
    [CF_ACCESS_KEY_ID] = "userIdentity.accessKeyId",
    [CF_USER_NAME] = "userIdentity.userName",
    [CF_ISSUER_PRINCIPAL] = "userIdentity.sessionContext.sessionIssuer.principalId",
    [CF_ISSUER_ARN] = "userIdentity.sessionContext.sessionIssuer.arn",
    [CF_ISSUER_USER_NAME] = "userIdentity.sessionContext.sessionIssuer.userName",
    [CF_EVENT_NAME] = "eventName",
    [CF_REGION] = "awsRegion",
    [CF_SOURCE_IP] = "sourceIPAddress",
    [CF_USER_AGENT] = "userAgent",
    [CF_BUCKET] = "requestParameters.bucketName",
    [CF_HOST] = "requestParameters.Host",
    [CF_KEY] = "requestParameters.key",
    [CF_RESOURCES] = "resources",
    [CF_STS_SESSION_NAME] = "requestParameters.roleSessionName",
    [CF_STS_KEY_ID] = "responseElements.credentials.accessKeyId",
    [CF_RECIPIENT] = "recipientAccountId",
    [CF_DECISION] = "additionalEventData.decision",
    [CF_DECIDING] = "additionalEventData.decidingStatements",
    [CF_UP_REQUEST_ID] = "additionalEventData.upstreamRequestID",
    [CF_ERROR_CODE] = "errorCode",
    [CF_REQUEST_ID] = "requestID",
    [CF_TLS] = "tlsDetails.tlsVersion",
    [CF_CIPHER] = "tlsDetails.cipherSuite",
};

/* The line being built: the first error sticks and ends the work. */
struct ct {
    struct s3w_buf *b;
    int rc;
    bool first;         /* no member yet in the innermost object or array */
    uint32_t truncated; /* bit per ct_field */
};

/* The writers below are inlined where they are called: most pieces are
 * literals, whose strlen then folds (out of line, strlen was a fifth of
 * formatting a record) */
#define CT_PIECE static inline __attribute__((always_inline))

CT_PIECE void raw(struct ct *f, const char *s)
{
    if (!f->rc)
        f->rc = s3w_buf_append_cstr(f->b, s);
}

CT_PIECE void sep(struct ct *f)
{
    if (!f->first)
        raw(f, ",");
    f->first = false;
}

CT_PIECE void name(struct ct *f, const char *n)
{
    sep(f);
    raw(f, "\"");
    raw(f, n);
    raw(f, "\":");
}

/* "name":{  /  "name":[  /  { in an array (n NULL) */
CT_PIECE void obj_open(struct ct *f, const char *n, const char *brace)
{
    if (n)
        name(f, n);
    else
        sep(f);
    raw(f, brace);
    f->first = true;
}

CT_PIECE void obj_close(struct ct *f, const char *brace)
{
    raw(f, brace);
    f->first = false;
}

/* A quoted, escaped, capped value. */
CT_PIECE void val(struct ct *f, struct s3w_slice v, size_t cap, enum ct_field id)
{
    bool cut = false;
    raw(f, "\"");
    if (!f->rc)
        f->rc = audit_json_escape(f->b, v, cap, &cut);
    raw(f, "\"");
    if (cut && id < CF_COUNT)
        f->truncated |= 1u << id;
}

CT_PIECE void str(struct ct *f, const char *n, struct s3w_slice v, size_t cap, enum ct_field id)
{
    name(f, n);
    val(f, v, cap, id);
}

/* Only when known: CloudTrail leaves out what does not apply. */
CT_PIECE void opt_str(struct ct *f, const char *n, struct s3w_slice v, size_t cap, enum ct_field id)
{
    if (v.len)
        str(f, n, v, cap, id);
}

CT_PIECE void lit(struct ct *f, const char *n, const char *v)
{
    str(f, n, s3w_slice_cstr(v), strlen(v), CF_NONE);
}

CT_PIECE void num(struct ct *f, const char *n, long long v)
{
    name(f, n);
    if (!f->rc)
        f->rc = s3w_buf_append_i64(f->b, v);
}

CT_PIECE void boolean(struct ct *f, const char *n, bool v)
{
    name(f, n);
    raw(f, v ? "true" : "false");
}

static bool eq(struct s3w_slice s, const char *lit_)
{
    size_t n = strlen(lit_);
    return s.len == n && memcmp(s.ptr, lit_, n) == 0;
}

static bool starts(struct s3w_slice s, const char *p)
{
    size_t n = strlen(p);
    return s.len >= n && memcmp(s.ptr, p, n) == 0;
}

/* After the last '/' of an ARN: a user's or role's name. */
static struct s3w_slice arn_tail(struct s3w_slice arn)
{
    size_t i = arn.len;
    while (i > 0 && arn.ptr[i - 1] != '/')
        i--;
    return i ? s3w_slice(arn.ptr + i, arn.len - i) : S3W_SLICE_NULL;
}

/* The fifth field of an ARN (arn:partition:service:region:ACCOUNT:...). */
static struct s3w_slice arn_account(struct s3w_slice arn)
{
    size_t start = 0, colons = 0;
    for (size_t i = 0; i < arn.len; i++)
        if (arn.ptr[i] == ':') {
            if (++colons == 4)
                start = i + 1;
            else if (colons == 5)
                return s3w_slice(arn.ptr + start, i - start);
        }
    return S3W_SLICE_NULL;
}

/* userIdentity: cloudtrail-event-reference-user-identity. A request with
 * no credentials is what S3 logs for anonymous access: type AWSAccount,
 * principalId "", accountId "anonymous". */
static void user_identity(struct ct *f, const struct audit_record *r)
{
    obj_open(f, "userIdentity", "{");
    if (!r->identity_type.len || eq(r->identity_type, "Anonymous")) {
        lit(f, "type", "AWSAccount");
        lit(f, "principalId", "");
        lit(f, "accountId", "anonymous");
        obj_close(f, "}");
        return;
    }
    str(f, "type", r->identity_type, CT_CAP_ID_TYPE, CF_ID_TYPE);
    opt_str(f, "principalId", r->principal_id, CT_CAP_PRINCIPAL_ID, CF_PRINCIPAL_ID);
    opt_str(f, "arn", r->arn, CT_CAP_ARN, CF_ARN);
    opt_str(f, "accountId", r->account_id, CT_CAP_ACCOUNT_ID, CF_ACCOUNT_ID);
    opt_str(f, "accessKeyId", r->access_key_id, CT_CAP_ACCESS_KEY_ID, CF_ACCESS_KEY_ID);
    if (eq(r->identity_type, "IAMUser"))
        opt_str(f, "userName", arn_tail(r->arn), CT_CAP_USER_NAME, CF_USER_NAME);
    if (r->session_role_arn.len) {
        obj_open(f, "sessionContext", "{");
        obj_open(f, "sessionIssuer", "{");
        lit(f, "type", "Role");
        /* the role's unique id: aws:userid up to the ':' before the
         * session name */
        struct s3w_slice pid = r->principal_id;
        const char *colon = pid.len ? memchr(pid.ptr, ':', pid.len) : NULL;
        if (colon)
            str(f, "principalId", s3w_slice(pid.ptr, (size_t)(colon - pid.ptr)),
                CT_CAP_ISSUER_PRINCIPAL, CF_ISSUER_PRINCIPAL);
        str(f, "arn", r->session_role_arn, CT_CAP_ISSUER_ARN, CF_ISSUER_ARN);
        struct s3w_slice racct = arn_account(r->session_role_arn);
        opt_str(f, "accountId", racct.len ? racct : r->account_id, CT_CAP_ACCOUNT_ID,
                CF_ACCOUNT_ID);
        opt_str(f, "userName", arn_tail(r->session_role_arn), CT_CAP_USER_NAME,
                CF_ISSUER_USER_NAME);
        obj_close(f, "}");
        obj_open(f, "attributes", "{");
        if (r->session_created_ms > 0) {
            char when[S3W_ISO8601_LEN + 1];
            s3w_iso8601_format(r->session_created_ms / 1000, when);
            lit(f, "creationDate", when);
        }
        /* s3warden's sessions are made by AssumeRole without MFA */
        lit(f, "mfaAuthenticated", "false");
        obj_close(f, "}");
        obj_close(f, "}");
    }
    obj_close(f, "}");
}

/* S3's read-only operations (readOnly): the Get, Head and List ones. */
static bool read_only(struct s3w_slice op)
{
    return starts(op, "Get") || starts(op, "Head") || starts(op, "List");
}

/* Data events are S3's object-level operations (cloudtrail-logging-s3-info,
 * "Amazon S3 data events in CloudTrail"): those on a key, the multi-object
 * delete, and the listings of a bucket's objects and uploads. The rest
 * (bucket configuration, ListBuckets) are management events. */
static bool data_event(const struct audit_record *r)
{
    return r->key.len || eq(r->event_name, "DeleteObjects") || eq(r->event_name, "ListObjects") ||
           eq(r->event_name, "ListObjectsV2") || eq(r->event_name, "ListObjectVersions") ||
           eq(r->event_name, "ListMultipartUploads");
}

/* eventID: a GUID unique to the event. Derived from the request id and
 * time rather than drawn at random, so that a record delivered twice
 * (sinks deliver at least once) carries the same eventID both times. */
static void event_id(const struct audit_record *r, char out[37])
{
    char in[CT_CAP_REQUEST_ID + 48];
    size_t idn = r->request_id.len < CT_CAP_REQUEST_ID ? r->request_id.len : CT_CAP_REQUEST_ID;
    int n = snprintf(in, sizeof(in), "s3warden-event %lld ", (long long)r->time_ms);
    memcpy(in + n, r->request_id.ptr ? r->request_id.ptr : "", idn);
    /* sigv4's SHA-256, not EVP_Digest: that fetched the algorithm and took
     * OpenSSL's provider locks for each record (a third of this format's
     * cost in perf record) */
    uint8_t md[32];
    sigv4_sha256(in, (size_t)n + idn, md);
    md[6] = (unsigned char)((md[6] & 0x0f) | 0x80); /* RFC 9562 version 8: custom */
    md[8] = (unsigned char)((md[8] & 0x3f) | 0x80); /* the RFC 4122 variant */
    /* 8-4-4-4-12 hex digits; by hand, as printf's 16 conversions were a
     * visible part of a record's cost */
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[md[i] >> 4];
        out[o++] = hex[md[i] & 15];
    }
    out[o] = '\0';
}

/* resources: the objects (AWS::S3::Object, without an accountId, as S3's
 * examples show), then the bucket with its owner (AWS::S3::Bucket). */
static void s3_resources(struct ct *f, const struct audit_record *r)
{
    size_t n = r->nauthz < AUDIT_MAX_AUTHZ ? r->nauthz : AUDIT_MAX_AUTHZ;
    size_t res_cap = n ? CT_CAP_RESOURCES / n : 0;
    if (res_cap > CT_CAP_RESOURCE)
        res_cap = CT_CAP_RESOURCE;
    obj_open(f, "resources", "[");
    for (size_t i = 0; i < n; i++) {
        struct s3w_slice a = r->resources[i];
        /* an object ARN: arn:aws:s3:::bucket/key */
        if (!starts(a, "arn:") || !memchr(a.ptr, '/', a.len))
            continue;
        obj_open(f, NULL, "{");
        lit(f, "type", "AWS::S3::Object");
        str(f, "ARN", a, res_cap, CF_RESOURCES);
        obj_close(f, "}");
    }
    if (r->bucket.len) {
        obj_open(f, NULL, "{");
        struct s3w_slice owner = r->bucket_account;
        opt_str(f, "accountId", owner, CT_CAP_ACCOUNT_ID, CF_RECIPIENT);
        lit(f, "type", "AWS::S3::Bucket");
        name(f, "ARN");
        raw(f, "\"arn:aws:s3:::");
        bool cut = false;
        if (!f->rc)
            f->rc = audit_json_escape(f->b, r->bucket, CT_CAP_BUCKET, &cut);
        raw(f, "\"");
        if (cut)
            f->truncated |= 1u << CF_BUCKET;
        obj_close(f, "}");
    }
    obj_close(f, "]");
}

/* s3warden's own fields: the authorization outcome and the request's
 * figures, which CloudTrail has no place for. */
static void s3warden_fields(struct ct *f, const struct audit_record *r)
{
    if (r->decision.len)
        str(f, "decision", r->decision, CT_CAP_DECISION, CF_DECISION);
    if (r->deciding.len)
        str(f, "decidingStatements", r->deciding, CT_CAP_DECIDING, CF_DECIDING);
    boolean(f, "crossAccount", r->cross_account);
    num(f, "httpStatus", r->http_status);
    opt_str(f, "upstreamRequestID", r->upstream_request_id, CT_CAP_UP_REQUEST_ID,
            CF_UP_REQUEST_ID);
    num(f, "latencyMs", r->latency_ms);
    if (r->upstream_latency_ms >= 0)
        num(f, "upstreamLatencyMs", r->upstream_latency_ms);
}

int audit_format_cloudtrail(const struct audit_record *r, const struct audit_cloudtrail_opts *o,
                            struct s3w_buf *out)
{
    struct ct f = { .b = out, .first = true };
    /* s3warden's STS endpoint: actions[0] is the STS action asked for */
    bool sts = eq(r->event_name, "sts") || (r->nauthz > 0 && starts(r->actions[0], "sts:"));
    struct s3w_slice event_name = r->event_name;
    if (sts)
        event_name = r->nauthz > 0 && starts(r->actions[0], "sts:")
                         ? s3w_slice(r->actions[0].ptr + 4, r->actions[0].len - 4)
                         : S3W_SLICE_NULL;
    bool data = !sts && data_event(r);
    struct s3w_slice role_arn = sts && r->nauthz > 0 ? r->resources[0] : S3W_SLICE_NULL;

    raw(&f, "{");
    /* 1.09: every field below exists since that version at the latest */
    lit(&f, "eventVersion", "1.09");
    user_identity(&f, r);
    char when[S3W_ISO8601_LEN + 1];
    s3w_iso8601_format(r->time_ms / 1000, when); /* CloudTrail: whole seconds, UTC */
    lit(&f, "eventTime", when);
    lit(&f, "eventSource", sts ? "sts.amazonaws.com" : "s3.amazonaws.com");
    if (event_name.len)
        str(&f, "eventName", event_name, CT_CAP_EVENT_NAME, CF_EVENT_NAME);
    else {
        name(&f, "eventName");
        raw(&f, "null"); /* refused before the operation was known */
    }
    str(&f, "awsRegion", s3w_slice_cstr(o && o->region ? o->region : "us-east-1"), CT_CAP_REGION,
        CF_REGION);
    str(&f, "sourceIPAddress", r->source_ip, CT_CAP_SOURCE_IP, CF_SOURCE_IP);
    if (sts) {
        str(&f, "userAgent", r->user_agent, CT_CAP_USER_AGENT, CF_USER_AGENT);
    } else {
        /* S3 writes its user agents in brackets ("[aws-cli/2.18.5]") */
        name(&f, "userAgent");
        raw(&f, "\"[");
        bool cut = false;
        if (!f.rc)
            f.rc = audit_json_escape(f.b, r->user_agent, CT_CAP_USER_AGENT, &cut);
        raw(&f, "]\"");
        if (cut)
            f.truncated |= 1u << CF_USER_AGENT;
    }
    obj_open(&f, "requestParameters", "{");
    if (sts) {
        opt_str(&f, "roleArn", role_arn, CT_CAP_ARN, CF_RESOURCES);
        opt_str(&f, "roleSessionName", r->sts_session_name, CT_CAP_USER_NAME,
                CF_STS_SESSION_NAME);
    } else {
        opt_str(&f, "bucketName", r->bucket, CT_CAP_BUCKET, CF_BUCKET);
        opt_str(&f, "Host", r->host, CT_CAP_HOST, CF_HOST);
        opt_str(&f, "key", r->key, CT_CAP_KEY, CF_KEY);
    }
    obj_close(&f, "}");
    /* of STS credentials, only the access key id, which later events name
     * (as CloudTrail's AssumeRole event does): the secret and the session
     * token never reach a log (README, "Security invariants") */
    if (sts && r->sts_issued_key_id.len) {
        obj_open(&f, "responseElements", "{");
        obj_open(&f, "credentials", "{");
        str(&f, "accessKeyId", r->sts_issued_key_id, CT_CAP_ACCESS_KEY_ID, CF_STS_KEY_ID);
        obj_close(&f, "}");
        obj_close(&f, "}");
    } else {
        name(&f, "responseElements");
        raw(&f, "null");
    }
    obj_open(&f, "additionalEventData", "{");
    if (!sts) {
        if (r->auth_method.len)
            lit(&f, "SignatureVersion", "SigV4");
        opt_str(&f, "CipherSuite", r->cipher_suite, CT_CAP_CIPHER, CF_CIPHER);
        num(&f, "bytesTransferredIn", (long long)r->bytes_in);
        opt_str(&f, "AuthenticationMethod", r->auth_method, CT_CAP_ID_TYPE, CF_NONE);
        num(&f, "bytesTransferredOut", (long long)r->bytes_out);
    }
    s3warden_fields(&f, r);
    struct s3w_buf *b = f.b;
    size_t trunc_at = b->len; /* the truncated list goes here, once known */
    obj_close(&f, "}");
    str(&f, "requestID", r->request_id, CT_CAP_REQUEST_ID, CF_REQUEST_ID);
    char eid[37];
    event_id(r, eid);
    lit(&f, "eventID", eid);
    boolean(&f, "readOnly", sts ? true : read_only(event_name));
    if (sts) {
        obj_open(&f, "resources", "[");
        if (role_arn.len) {
            obj_open(&f, NULL, "{");
            opt_str(&f, "accountId", arn_account(role_arn), CT_CAP_ACCOUNT_ID, CF_RECIPIENT);
            lit(&f, "type", "AWS::IAM::Role");
            str(&f, "ARN", role_arn, CT_CAP_ARN, CF_RESOURCES);
            obj_close(&f, "}");
        }
        obj_close(&f, "]");
    } else {
        s3_resources(&f, r);
    }
    lit(&f, "eventType", "AwsApiCall");
    boolean(&f, "managementEvent", !data);
    /* the account the event is delivered to: the bucket's owner (the
     * role's account for STS), else the configured one, else the caller's */
    struct s3w_slice recipient = sts ? arn_account(role_arn) : r->bucket_account;
    if (!recipient.len && o && o->account_id)
        recipient = s3w_slice_cstr(o->account_id);
    if (!recipient.len)
        recipient = r->account_id;
    opt_str(&f, "recipientAccountId", recipient, CT_CAP_ACCOUNT_ID, CF_RECIPIENT);
    lit(&f, "eventCategory", data ? "Data" : "Management");
    if (r->tls.len) {
        obj_open(&f, "tlsDetails", "{");
        str(&f, "tlsVersion", r->tls, CT_CAP_TLS, CF_TLS);
        opt_str(&f, "cipherSuite", r->cipher_suite, CT_CAP_CIPHER, CF_CIPHER);
        opt_str(&f, "clientProvidedHostHeader", r->host, CT_CAP_HOST, CF_HOST);
        obj_close(&f, "}");
    }
    if (r->error_code.len) {
        str(&f, "errorCode", r->error_code, CT_CAP_ERROR_CODE, CF_ERROR_CODE);
        char code[CT_CAP_ERROR_CODE + 1];
        size_t n = r->error_code.len < CT_CAP_ERROR_CODE ? r->error_code.len : CT_CAP_ERROR_CODE;
        memcpy(code, r->error_code.ptr, n);
        code[n] = '\0';
        const char *msg = s3err_default_message(code);
        if (msg)
            lit(&f, "errorMessage", msg);
    }
    raw(&f, "}\n");
    if (!f.rc && f.truncated) {
        /* additionalEventData.truncated: built aside, then put in place
         * before that object's closing brace */
        struct s3w_buf t;
        s3w_buf_init(&t, CT_TRUNCATED_MAX);
        int rc = s3w_buf_append_cstr(&t, ",\"truncated\":[");
        bool first = true;
        for (int i = 0; !rc && i < CF_COUNT; i++) {
            if (!(f.truncated & (1u << i)))
                continue;
            rc = s3w_buf_printf(&t, "%s\"%s\"", first ? "" : ",", ct_field_names[i]);
            first = false;
        }
        rc = rc ? rc : s3w_buf_append_char(&t, ']');
        size_t tail = b->len - trunc_at;
        rc = rc ? rc : s3w_buf_append(b, t.ptr, t.len); /* room at the end ... */
        if (!rc) {
            /* ... then the tail moves past the list */
            memmove(b->ptr + trunc_at + t.len, b->ptr + trunc_at, tail);
            memcpy(b->ptr + trunc_at, t.ptr, t.len);
        }
        s3w_buf_cleanup(&t);
        f.rc = rc;
    }
    return f.rc;
}
