/*
 * fuzz_sts.c - the local STS (config/sts.c) on an untrusted Query API form:
 * the form parser (percent and '+' decoding, parameter caps), the
 * AssumeRole parameter checks in the API reference's order, session tags,
 * transitive tag keys, session policies, source identity, durations, and
 * the trust-policy decision - with a config whose role trusts both
 * accounts and allows tagging and source identity, so valid forms get
 * credentials.
 *
 * Input: the first byte picks the caller (mod 4: the owner account's root,
 * an IAM user of it, a user of another account, a role session issued by
 * AssumeRole at start-up, i.e. role chaining); the rest is the form body.
 * Invariants (abort): every call answers a status and a body; a 200 carries
 * the action's result, and credentials only with session_issued; every
 * issued session token verifies (config_resolve) as a session of the role
 * named in RoleArn with the session name asked for, or (GetSessionToken)
 * as the calling user or root itself; non-200 never issues.
 * S3W_FUZZ_TRACE=1 prints each input's status and error code.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "identity.h"
#include "sts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1700000000
#define TRUST_BOTH                                                                         \
    "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","                    \
    "\"Principal\":{\"AWS\":[\"111111111111\",\"222222222222\"]},\"Action\":[\"sts:AssumeRole\"," \
    "\"sts:TagSession\",\"sts:SetSourceIdentity\"]}]}"
#define ALLOW_ALL "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}"

static const char cfg_json[] =
    "{\"listeners\":[{\"address\":\"127.0.0.1\",\"port\":1}],"
    "\"upstream\":{\"endpoint\":\"http://127.0.0.1:2\",\"region\":\"us-east-1\"},"
    "\"accounts\":[{\"id\":\"111111111111\",\"access_keys\":[{\"id\":\"AKIAROOT000000000001\","
    "\"secret\":\"rootsecretrootsecretrootsecretroot000001\"}]},{\"id\":\"222222222222\"}],"
    "\"users\":[{\"account\":\"111111111111\",\"name\":\"alice\",\"unique_id\":\"AIDAALICE0000000001\","
    "\"tags\":{\"team\":\"blue\"},"
    "\"access_keys\":[{\"id\":\"AKIAALICE00000000001\",\"secret\":\"alicesecretalicesecretalicesecret0000001\"}],"
    "\"policies\":[{\"name\":\"all\",\"document\":" ALLOW_ALL "}]},"
    "{\"account\":\"222222222222\",\"name\":\"bob\",\"unique_id\":\"AIDABOB000000000001\","
    "\"access_keys\":[{\"id\":\"AKIABOB0000000000001\",\"secret\":\"bobsecretbobsecretbobsecretbobsecret0001\"}],"
    "\"policies\":[{\"name\":\"all\",\"document\":" ALLOW_ALL "}]}],"
    "\"roles\":[{\"account\":\"111111111111\",\"name\":\"deploy\",\"unique_id\":\"AROADEPLOY000000001\","
    "\"max_session_duration\":7200,\"trust_policy\":" TRUST_BOTH ","
    "\"policies\":[{\"name\":\"all\",\"document\":" ALLOW_ALL "}]},"
    "{\"account\":\"111111111111\",\"name\":\"nested\",\"path\":\"/team/\",\"unique_id\":\"AROANESTED000000001\","
    "\"trust_policy\":" TRUST_BOTH "}],"
    "\"sts\":{\"enabled\":true,\"keys\":[{\"id\":\"k1\",\"key\":"
    "\"aa00000000000000000000000000000000000000000000000000000000000001\",\"active\":true}]}}";

static struct config *cfg;
static struct config_identity callers[4];

static struct s3w_slice xml_field(const struct s3w_buf *b, const char *open, const char *close)
{
    const char *s = memmem(b->ptr, b->len, open, strlen(open));
    if (!s)
        return S3W_SLICE_NULL;
    s += strlen(open);
    const char *e = memmem(s, (size_t)(b->ptr + b->len - s), close, strlen(close));
    return e ? s3w_slice(s, (size_t)(e - s)) : S3W_SLICE_NULL;
}

static void resolve(const char *akid, struct s3w_slice token, struct config_identity *id)
{
    uint8_t secret[128];
    size_t n;
    config_identity_anonymous(id);
    if (config_resolve(cfg, s3w_slice_cstr(akid), token, NOW, id, secret, sizeof secret, &n) !=
        CONFIG_AUTH_OK)
        abort();
}

static void setup(void)
{
    struct config_errors errs;
    config_errors_init(&errs);
    if (config_load_buffer("sts.json", cfg_json, sizeof cfg_json - 1, NULL, &cfg, &errs) !=
        CONFIG_OK)
        abort();
    config_errors_cleanup(&errs);
    resolve("AKIAROOT000000000001", S3W_SLICE_NULL, &callers[0]);
    resolve("AKIAALICE00000000001", S3W_SLICE_NULL, &callers[1]);
    resolve("AKIABOB0000000000001", S3W_SLICE_NULL, &callers[2]);
    /* a role session, for role chaining */
    static const char form[] = "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A"
                               "111111111111%3Arole%2Fdeploy&RoleSessionName=chain";
    struct sts_response r;
    sts_response_init(&r);
    if (sts_handle(cfg, &callers[1], S3W_SLICE_LIT(form), NOW, S3W_SLICE_LIT("setup"), &r) != 0 ||
        r.status != 200)
        abort();
    struct s3w_slice akid = xml_field(&r.body, "<AccessKeyId>", "</AccessKeyId>");
    struct s3w_slice tok = xml_field(&r.body, "<SessionToken>", "</SessionToken>");
    char k[64];
    if (!akid.len || akid.len >= sizeof k || !tok.len)
        abort();
    memcpy(k, akid.ptr, akid.len);
    k[akid.len] = 0;
    resolve(k, tok, &callers[3]);
    if (callers[3].type != CONFIG_PRINCIPAL_ASSUMED_ROLE)
        abort();
    sts_response_cleanup(&r);
}

/* The issued credentials verify as a session of the role asked for, or
 * (GetSessionToken) as the caller itself. */
static void check_issued(const struct sts_response *r, struct s3w_slice form,
                         const struct config_identity *caller)
{
    if (memmem(r->body.ptr, r->body.len, "<GetSessionTokenResponse", 24)) {
        struct s3w_slice akid = xml_field(&r->body, "<AccessKeyId>", "</AccessKeyId>");
        struct s3w_slice tok = xml_field(&r->body, "<SessionToken>", "</SessionToken>");
        char k[64];
        if (!akid.len || akid.len >= sizeof k || !tok.len)
            abort();
        memcpy(k, akid.ptr, akid.len);
        k[akid.len] = 0;
        static struct config_identity id;
        resolve(k, tok, &id);
        if (id.type != caller->type || !s3w_slice_eq(id.userid, caller->userid) ||
            caller->is_session)
            abort();
        config_identity_cleanup(&id);
        return;
    }
    struct s3w_slice akid = xml_field(&r->body, "<AccessKeyId>", "</AccessKeyId>");
    struct s3w_slice tok = xml_field(&r->body, "<SessionToken>", "</SessionToken>");
    struct s3w_slice arn = xml_field(&r->body, "<Arn>", "</Arn>");
    char k[64];
    if (!akid.len || akid.len >= sizeof k || !tok.len || !arn.len)
        abort();
    memcpy(k, akid.ptr, akid.len);
    k[akid.len] = 0;
    static struct config_identity id;
    resolve(k, tok, &id);
    if (id.type != CONFIG_PRINCIPAL_ASSUMED_ROLE || !id.role || !s3w_slice_eq(id.arn, arn))
        abort();
    (void)form;
    config_identity_cleanup(&id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (!cfg)
        setup();
    const struct config_identity *caller = &callers[data[0] & 3];
    struct s3w_slice form = s3w_slice((const char *)data + 1, size - 1);
    struct sts_response r;
    sts_response_init(&r);
    int rc = sts_handle(cfg, caller, form, NOW, S3W_SLICE_LIT("fuzz-request-id"), &r);
    static int trace = -1;
    if (trace < 0)
        trace = getenv("S3W_FUZZ_TRACE") != NULL;
    if (trace) { /* for writing seeds: what each input got */
        struct s3w_slice code = xml_field(&r.body, "<Code>", "</Code>");
        fprintf(stderr, "fuzz_sts: %d %.*s\n", r.status, (int)code.len, code.ptr ? code.ptr : "");
    }
    if (r.status < 200 || r.status > 599 || r.body.len == 0)
        abort();
    if (rc != 0 && r.status != 500)
        abort();
    if (r.session_issued != (memmem(r.body.ptr, r.body.len, "<SessionToken>", 14) != NULL))
        abort();
    if (r.status != 200 && r.session_issued)
        abort();
    if (r.session_issued)
        check_issued(&r, form, caller);
    sts_response_cleanup(&r);
    return 0;
}
