/*
 * creds_providers.c - one credentials provider each, as the AWS SDKs define
 * them: static keys, environment, shared credentials/config profile (with
 * role_arn + source_profile / credential_source / web_identity_token_file),
 * EC2 IMDSv2, the ECS/EKS container endpoint, web identity, and STS
 * AssumeRole on top of base credentials. Private to the manager
 * (creds_internal.h); runs on its refresh thread only.
 *
 * Each provider returns CREDS_OK with *out filled, CREDS_E_ABSENT when it
 * has nothing here (no file, no variable, IMDS disabled), or a failure with
 * a message for the operator that never holds a secret or a token. Token
 * files are re-read at every fetch (Kubernetes and EKS rotate them); every
 * buffer that held a secret or a token is wiped before it is freed. The
 * parsing of what the endpoints answer is pure and lives in config/creds.h.
 *
 * Protocols:
 *  - IMDSv2: EC2 user guide, "Use the Instance Metadata Service to access
 *    instance metadata" - PUT /latest/api/token with
 *    X-aws-ec2-metadata-token-ttl-seconds, then GETs with
 *    X-aws-ec2-metadata-token. IMDSv1 (token-less) is never tried: fail
 *    closed rather than downgrade.
 *  - container endpoint: ECS developer guide "Task IAM role" and EKS Pod
 *    Identity: GET the URL with Authorization = the token (file wins over
 *    AWS_CONTAINER_AUTHORIZATION_TOKEN, as in the SDKs); a FULL_URI over
 *    plain http must point to loopback or the ECS/EKS link-local agents
 *    (the SDKs refuse anything else so a token never leaves the host).
 *  - STS: Query API, POST form, Version 2011-06-15; AssumeRole signed with
 *    SigV4 (service "sts", generic URI rules), AssumeRoleWithWebIdentity
 *    unsigned.
 */
#include "creds_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "sigv4.h"

const char *const cf_env_names[E_N] = {
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
    "AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", "HOME",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_EC2_METADATA_DISABLED",
    "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME",
    "AWS_ENDPOINT_URL_STS",
};

const char *cf_chain_env(void *ud, const char *name)
{
    const struct chain *c = ud;
    for (int i = 0; i < E_N; i++)
        if (strcmp(cf_env_names[i], name) == 0)
            return c->env[i];
    return NULL;
}

#define IMDS_TOKEN_TTL "21600" /* 6 h, the SDKs' value */
#define MAX_PROFILE_DEPTH 4    /* role_arn -> source_profile hops */
#define MAX_URL 2048

static bool header_safe(const char *v)
{
    for (const char *p = v; *p; p++)
        if (*p == '\r' || *p == '\n')
            return false;
    return true;
}

/* Reads a small file whole (capped); NULL if it does not exist. */
static int read_capped(const char *path, size_t cap, struct s3w_buf *out, bool *missing,
                       struct creds_error *err)
{
    *missing = false;
    s3w_buf_reset(out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            *missing = true;
            return cf_err(err, CREDS_E_ABSENT, "%.200s does not exist", path);
        }
        return cf_err(err, CREDS_E_INVALID, "cannot open %.200s: %s", path, strerror(errno));
    }
    char tmp[4096];
    int rc = CREDS_OK;
    for (;;) {
        ssize_t n = read(fd, tmp, sizeof tmp);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = cf_err(err, CREDS_E_INVALID, "cannot read %.200s: %s", path, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        if (out->len + (size_t)n > cap || s3w_buf_append(out, tmp, (size_t)n) != 0) {
            rc = cf_err(err, CREDS_E_INVALID, "%.200s is larger than %zu bytes", path, cap);
            break;
        }
    }
    s3w_wipe(tmp, sizeof tmp);
    close(fd);
    return rc;
}

static struct s3w_slice rtrim(struct s3w_slice s)
{
    while (s.len && (s.ptr[s.len - 1] == '\n' || s.ptr[s.len - 1] == '\r' ||
                     s.ptr[s.len - 1] == ' ' || s.ptr[s.len - 1] == '\t'))
        s.len--;
    return s;
}

/* ---- STS ------------------------------------------------------------------ */

/* Splits http(s)://AUTHORITY/PATH into the Host value and the request
 * target ("/" when there is no path). */
static int url_parts(const char *url, char *host, size_t hcap, char *target, size_t tcap)
{
    const char *a = strstr(url, "://");
    if (!a)
        return -1;
    a += 3;
    size_t al = strcspn(a, "/?#");
    if (al == 0 || al >= hcap || memchr(a, '@', al))
        return -1;
    memcpy(host, a, al);
    host[al] = '\0';
    const char *p = a + al;
    size_t pl = strcspn(p, "#");
    int n = pl && p[0] == '/' ? snprintf(target, tcap, "%.*s", (int)pl, p) :
                                snprintf(target, tcap, "/%.*s", (int)pl, p);
    return n < 0 || (size_t)n >= tcap ? -1 : 0;
}

static int sts_endpoint(const struct chain *ch, const char *configured, const char *region,
                        char *out, size_t cap)
{
    int n;
    if (configured && *configured)
        n = snprintf(out, cap, "%s", configured);
    else if (ch->env[E_STS_ENDPOINT])
        n = snprintf(out, cap, "%s", ch->env[E_STS_ENDPOINT]); /* SDK service endpoint var */
    else
        n = snprintf(out, cap, "https://sts.%s.amazonaws.com/", region); /* regional STS */
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

#define STS_CONTENT_TYPE "application/x-www-form-urlencoded; charset=utf-8"

/* Signs the STS POST with `base` (SigV4, service "sts", generic URI rules:
 * STS is not S3) and appends X-Amz-Date, X-Amz-Content-Sha256, the session
 * token if any, and Authorization to *h. */
static int sts_sign(const struct s3w_buf *form, const char *host, const char *target,
                    const char *region, const struct creds *base, struct curl_slist **h,
                    struct creds_error *err)
{
    uint8_t d[32];
    char hash[65];
    sigv4_sha256(form->ptr, form->len, d);
    s3w_hex_encode(d, 32, hash);
    struct s3w_header sh[2] = {
        { S3W_SLICE_LIT("content-type"), S3W_SLICE_LIT(STS_CONTENT_TYPE) },
        { S3W_SLICE_LIT("host"), s3w_slice_cstr(host) },
    };
    struct sigv4_sign_params sp = {
        .method = S3W_SLICE_LIT("POST"),
        .target = s3w_slice_cstr(target),
        .headers = sh,
        .n_headers = 2,
        .region = s3w_slice_cstr(region),
        .service = S3W_SLICE_LIT("sts"),
        .uri_mode = SIGV4_URI_GENERIC,
        .now = (int64_t)time(NULL),
        .payload = s3w_slice(hash, 64),
    };
    struct sigv4_credentials sc = {
        s3w_slice_cstr(base->access_key_id), s3w_slice_cstr(base->secret_access_key),
        s3w_slice_cstr(base->session_token),
    };
    struct sigv4_signed sd;
    memset(&sd, 0, sizeof sd);
    struct sigv4_error se;
    if (sigv4_sign_headers(&sp, &sc, &sd, &se) != 0)
        return cf_err(err, CREDS_E_INVALID, "signing the STS request failed: %s", se.message);
    int rc = cf_header_add(h, err, "X-Amz-Date: %s", sd.amz_date);
    if (rc == CREDS_OK)
        rc = cf_header_add(h, err, "X-Amz-Content-Sha256: %.*s", (int)sd.content_sha256_len,
                           sd.content_sha256);
    if (rc == CREDS_OK && sd.security_token.len)
        rc = cf_header_add(h, err, "X-Amz-Security-Token: %.*s", (int)sd.security_token.len,
                           sd.security_token.ptr);
    if (rc == CREDS_OK)
        rc = cf_header_add(h, err, "Authorization: %.*s", (int)sd.authorization_len,
                           sd.authorization);
    sigv4_signed_cleanup(&sd);
    return rc;
}

/* POSTs a form to STS, signed with `base` when non-NULL; parses the XML.
 * A non-200 answer is a failure even if its body parses. */
static int sts_call(struct fetch *f, const char *endpoint, const char *region,
                    struct s3w_buf *form, const struct creds *base, struct creds *out,
                    struct creds_error *err)
{
    char host[256], target[1024];
    if (url_parts(endpoint, host, sizeof host, target, sizeof target) != 0)
        return cf_err(err, CREDS_E_INVALID, "bad STS endpoint %.200s", endpoint);
    struct curl_slist *h = NULL;
    int rc = cf_header_add(&h, err, "Host: %s", host);
    if (rc == CREDS_OK)
        rc = cf_header_add(&h, err, "Content-Type: %s", STS_CONTENT_TYPE);
    if (rc == CREDS_OK)
        rc = cf_header_add(&h, err, "Accept:");
    if (rc == CREDS_OK)
        rc = cf_header_add(&h, err, "Expect:");
    if (rc == CREDS_OK && base)
        rc = sts_sign(form, host, target, region, base, &h, err);
    struct s3w_buf resp;
    s3w_buf_init(&resp, CREDS_MAX_INPUT);
    long status = 0;
    if (rc == CREDS_OK)
        rc = cf_http_do(f, "POST", endpoint, h, form->ptr, form->len, &status, &resp, err);
    if (rc == CREDS_OK) {
        rc = creds_parse_sts_xml(resp.ptr ? resp.ptr : "", resp.len, out, err);
        if (rc == CREDS_OK && status != 200)
            creds_wipe(out);
        if ((rc == CREDS_OK || rc == CREDS_E_INVALID) && status != 200)
            rc = cf_err(err, CREDS_E_REMOTE, "STS answered HTTP %ld", status);
    }
    s3w_buf_cleanup(&resp);
    cf_slist_free_wiped(h);
    return rc;
}

int cf_assume_role(struct fetch *f, const struct creds *base, const char *role_arn,
                   const char *session, const char *external_id, uint32_t duration,
                   const char *endpoint_cfg, const char *region, struct creds *out,
                   struct creds_error *err)
{
    char ep[MAX_URL];
    if (sts_endpoint(f->ch, endpoint_cfg, region, ep, sizeof ep) != 0)
        return cf_err(err, CREDS_E_INVALID, "STS endpoint too long");
    struct s3w_buf form;
    s3w_buf_init(&form, 8192);
    int rc = creds_form_assume_role(role_arn, session && *session ? session : "s3warden",
                                    external_id, duration, &form);
    if (rc != 0)
        rc = cf_err(err, CREDS_E_INVALID, "AssumeRole parameters too long");
    else
        rc = sts_call(f, ep, region, &form, base, out, err);
    s3w_buf_cleanup(&form);
    if (rc != CREDS_OK)
        cf_err_prefix(err, rc, "AssumeRole %.120s", role_arn);
    return rc;
}

static int web_identity(struct fetch *f, const char *token_file, const char *role_arn,
                        const char *session, uint32_t duration, const char *endpoint_cfg,
                        struct creds *out, struct creds_error *err)
{
    if (!token_file || !role_arn)
        return cf_err(err, CREDS_E_ABSENT, "no web identity token file / role ARN");
    struct s3w_buf tok, form;
    s3w_buf_init(&tok, CREDS_MAX_INPUT);
    s3w_buf_init(&form, 3 * CREDS_MAX_INPUT + 4096);
    bool missing;
    char ep[MAX_URL];
    /* the token file is re-read at every refresh: Kubernetes rotates it */
    int rc = read_capped(token_file, CREDS_MAX_INPUT, &tok, &missing, err);
    if (rc == CREDS_OK && rtrim(s3w_buf_slice(&tok)).len == 0)
        rc = cf_err(err, CREDS_E_INVALID, "web identity token file %.200s is empty", token_file);
    if (rc == CREDS_OK && sts_endpoint(f->ch, endpoint_cfg, f->ch->region, ep, sizeof ep) != 0)
        rc = cf_err(err, CREDS_E_INVALID, "STS endpoint too long");
    if (rc == CREDS_OK &&
        creds_form_web_identity(role_arn, session && *session ? session : "s3warden",
                                s3w_buf_slice(&tok), duration, &form) != 0)
        rc = cf_err(err, CREDS_E_INVALID, "AssumeRoleWithWebIdentity parameters too long");
    if (rc == CREDS_OK) {
        rc = sts_call(f, ep, f->ch->region, &form, NULL, out, err);
        if (rc != CREDS_OK)
            cf_err_prefix(err, rc, "AssumeRoleWithWebIdentity %.120s", role_arn);
    }
    s3w_buf_cleanup(&tok);
    s3w_buf_cleanup(&form);
    return rc;
}

/* ---- the metadata credentials document (IMDS, container endpoint) ------------ */

/* The last request of IMDS and of the container endpoint: GET the
 * credentials document (the JSON both speak) and parse it. Errors read
 * "<status_what> <url> answered HTTP <n>" (the URL's query cut) and
 * "<parse_what>: <why the document is refused>". */
static int get_metadata_creds(struct fetch *f, const char *url, const struct curl_slist *h,
                              const char *status_what, const char *parse_what,
                              struct s3w_buf *resp, struct creds *out, struct creds_error *err)
{
    long status = 0;
    int rc = cf_http_do(f, "GET", url, h, NULL, 0, &status, resp, err);
    if (rc != CREDS_OK)
        return rc;
    if (status != 200) {
        size_t ul = strcspn(url, "?");
        return cf_err(err, CREDS_E_REMOTE, "%s %.*s answered HTTP %ld", status_what,
                      (int)(ul > 300 ? 300 : ul), url, status);
    }
    rc = creds_parse_metadata_json(resp->ptr, resp->len, out, err);
    return rc == CREDS_OK ? rc : cf_err_prefix(err, rc, "%s", parse_what);
}

/* ---- IMDSv2 ------------------------------------------------------------------ */

static bool role_name_ok(struct s3w_slice s)
{
    if (s.len == 0 || s.len > 64)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.ptr[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              strchr("+=,.@_-", c)))
            return false;
    }
    return true;
}

/* Step 1: a session token (PUT), returned as the header list for the GETs. */
static int imds_session(struct fetch *f, const char *ep, size_t el, struct s3w_buf *resp,
                        struct curl_slist **tok_h, struct creds_error *err)
{
    char url[MAX_URL + 200];
    snprintf(url, sizeof url, "%.*s%s", (int)el, ep, CREDS_IMDS_TOKEN_PATH);
    struct curl_slist *h = NULL;
    long status = 0;
    int rc = cf_header_add(&h, err, "%s: %s", CREDS_IMDS_TOKEN_TTL_HEADER, IMDS_TOKEN_TTL);
    if (rc == CREDS_OK)
        rc = cf_header_add(&h, err, "Content-Type:");
    if (rc == CREDS_OK)
        rc = cf_http_do(f, "PUT", url, h, "", 0, &status, resp, err);
    cf_slist_free_wiped(h);
    if (rc != CREDS_OK)
        return rc;
    struct s3w_slice tk = rtrim(s3w_buf_slice(resp));
    if (status != 200 || tk.len == 0 || tk.len > 400 || memchr(tk.ptr, '\n', tk.len) ||
        memchr(tk.ptr, '\r', tk.len))
        return cf_err(err, CREDS_E_REMOTE, "IMDS token PUT %s answered HTTP %ld", url, status);
    return cf_header_add(tok_h, err, "%s: %.*s", CREDS_IMDS_TOKEN_HEADER, (int)tk.len, tk.ptr);
}

/* Step 2: the instance's role (the first line of the role list), as the
 * URL of its credentials. No role attached is "absent", not a failure. */
static int imds_role_url(struct fetch *f, const char *ep, size_t el, const struct curl_slist *h,
                         struct s3w_buf *resp, char *url, size_t ucap, struct creds_error *err)
{
    long status = 0;
    snprintf(url, ucap, "%.*s%s", (int)el, ep, CREDS_IMDS_ROLE_PATH);
    int rc = cf_http_do(f, "GET", url, h, NULL, 0, &status, resp, err);
    if (rc != CREDS_OK)
        return rc;
    if (status == 404)
        return cf_err(err, CREDS_E_ABSENT, "IMDS: no instance role attached (HTTP 404)");
    struct s3w_slice role = s3w_buf_slice(resp);
    role.len = role.ptr ? strcspn(role.ptr, "\r\n") : 0;
    if (status != 200 || !role_name_ok(role))
        return cf_err(err, CREDS_E_REMOTE, "IMDS role list answered HTTP %ld%s", status,
                      status == 200 ? " with no valid role name" : "");
    snprintf(url, ucap, "%.*s%s%.*s", (int)el, ep, CREDS_IMDS_ROLE_PATH, (int)role.len,
             role.ptr);
    return CREDS_OK;
}

static int imds(struct fetch *f, const char *endpoint_cfg, struct creds *out,
                struct creds_error *err)
{
    const struct chain *ch = f->ch;
    if (!endpoint_cfg && ch->env[E_IMDS_DISABLED] &&
        strcasecmp(ch->env[E_IMDS_DISABLED], "true") == 0)
        return cf_err(err, CREDS_E_ABSENT, "AWS_EC2_METADATA_DISABLED is true");
    const char *ep = endpoint_cfg ? endpoint_cfg
                     : ch->env[E_IMDS_ENDPOINT] ? ch->env[E_IMDS_ENDPOINT]
                                                : CREDS_IMDS_DEFAULT_ENDPOINT;
    size_t el = strlen(ep);
    while (el && ep[el - 1] == '/')
        el--;
    if (el > MAX_URL)
        return cf_err(err, CREDS_E_INVALID, "IMDS endpoint too long");
    char url[MAX_URL + 200];
    struct curl_slist *h = NULL; /* the session token */
    struct s3w_buf resp;
    s3w_buf_init(&resp, CREDS_MAX_INPUT);
    int rc = imds_session(f, ep, el, &resp, &h, err);
    if (rc == CREDS_OK)
        rc = imds_role_url(f, ep, el, h, &resp, url, sizeof url, err);
    if (rc == CREDS_OK)
        rc = get_metadata_creds(f, url, h, "IMDS credentials GET", "IMDS", &resp, out, err);
    cf_slist_free_wiped(h);
    s3w_buf_cleanup(&resp);
    return rc;
}

/* ---- container endpoint -------------------------------------------------- */

/* http FULL_URI hosts the SDKs accept: loopback, the ECS agent and the EKS
 * Pod Identity agent. */
static bool ecs_host_ok(const char *url)
{
    if (strncasecmp(url, "https://", 8) == 0)
        return true;
    if (strncasecmp(url, "http://", 7) != 0)
        return false;
    const char *a = url + 7;
    size_t al = strcspn(a, "/?#");
    char host[128];
    if (al >= sizeof host)
        return false;
    memcpy(host, a, al);
    host[al] = '\0';
    if (host[0] == '[') {
        char *e = strchr(host, ']');
        if (!e)
            return false;
        *e = '\0';
        return strcmp(host + 1, "::1") == 0 || strcasecmp(host + 1, "fd00:ec2::23") == 0;
    }
    char *colon = strchr(host, ':');
    if (colon)
        *colon = '\0';
    return strncmp(host, "127.", 4) == 0 || strcasecmp(host, "localhost") == 0 ||
           strcmp(host, "169.254.170.2") == 0 || strcmp(host, "169.254.170.23") == 0;
}

static int ecs(struct fetch *f, const struct prov *p, struct creds *out,
               struct creds_error *err)
{
    const struct chain *ch = f->ch;
    char url[MAX_URL], auth[CREDS_MAX_TOKEN + 1];
    struct curl_slist *h = NULL;
    struct s3w_buf tok, resp;
    s3w_buf_init(&tok, CREDS_MAX_TOKEN);
    s3w_buf_init(&resp, CREDS_MAX_INPUT);
    int rc = creds_ecs_endpoint(cf_chain_env, (void *)(uintptr_t)ch, p->endpoint, url, sizeof url,
                                auth, sizeof auth, err);
    if (rc != CREDS_OK)
        goto cleanup;
    if (!p->endpoint && ch->env[E_ECS_FULL] && !ecs_host_ok(url)) {
        rc = cf_err(err, CREDS_E_INVALID,
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https or a loopback / ECS / EKS "
                    "agent address");
        goto cleanup;
    }
    const char *tf = p->authorization_token_file ? p->authorization_token_file
                                                 : ch->env[E_ECS_TOKEN_FILE];
    if (tf) {
        /* re-read at every refresh: EKS Pod Identity rotates it */
        bool missing;
        rc = read_capped(tf, CREDS_MAX_TOKEN, &tok, &missing, err);
        if (rc != CREDS_OK) {
            rc = cf_err(err, CREDS_E_INVALID, "container authorization token file %.200s: %s", tf,
                        missing ? "does not exist" : "unreadable or too large");
            goto cleanup;
        }
        struct s3w_slice s = rtrim(s3w_buf_slice(&tok));
        snprintf(auth, sizeof auth, "%.*s", (int)s.len, s.ptr ? s.ptr : "");
    }
    if (!header_safe(auth)) {
        rc = cf_err(err, CREDS_E_INVALID, "the container authorization token holds a line break");
        goto cleanup;
    }
    if (auth[0]) {
        rc = cf_header_add(&h, err, "Authorization: %s", auth);
        if (rc != CREDS_OK)
            goto cleanup;
    }
    rc = get_metadata_creds(f, url, h, "container endpoint", "container endpoint", &resp, out,
                            err);
cleanup:
    s3w_wipe(auth, sizeof auth);
    cf_slist_free_wiped(h);
    s3w_buf_cleanup(&tok);
    s3w_buf_cleanup(&resp);
    return rc;
}

/* ---- shared credentials / config profile --------------------------------- */

struct files {
    struct s3w_buf cred, conf;
    bool have_cred, have_conf;
};

static int profile_resolve(struct fetch *f, struct files *fl, const char *name, int depth,
                           struct creds *out, struct creds_error *err);

static int profile_role(struct fetch *f, struct files *fl, const char *name, int depth,
                        const struct creds_profile *pr, struct creds *out,
                        struct creds_error *err)
{
    const struct chain *ch = f->ch;
    const char *region = pr->region[0] ? pr->region : ch->region;
    const char *ep = ch->ar_sts_endpoint; /* profiles have no STS endpoint of their own */
    if (pr->web_identity_token_file[0])
        return web_identity(f, pr->web_identity_token_file, pr->role_arn,
                            pr->role_session_name, pr->duration_seconds, ep, out, err);
    struct creds base;
    memset(&base, 0, sizeof base);
    int rc;
    if (pr->source_profile[0]) {
        if (strcmp(pr->source_profile, name) == 0) {
            /* a profile may name itself as source: its own keys are the base */
            if (!pr->has_keys)
                return cf_err(err, CREDS_E_INVALID, "profile %.64s is its own source_profile but "
                              "has no keys", name);
            base = pr->creds;
            rc = CREDS_OK;
        } else {
            rc = profile_resolve(f, fl, pr->source_profile, depth + 1, &base, err);
        }
    } else if (strcmp(pr->credential_source, "Environment") == 0) {
        rc = creds_from_env(cf_chain_env, (void *)(uintptr_t)ch, &base, err);
    } else if (strcmp(pr->credential_source, "Ec2InstanceMetadata") == 0) {
        rc = imds(f, NULL, &base, err);
    } else if (strcmp(pr->credential_source, "EcsContainer") == 0) {
        struct prov none = { .source = CONFIG_CRED_ECS };
        rc = ecs(f, &none, &base, err);
    } else {
        return cf_err(err, CREDS_E_INVALID,
                      "profile %.64s has role_arn but no source_profile, credential_source "
                      "(Environment | Ec2InstanceMetadata | EcsContainer) or "
                      "web_identity_token_file", name);
    }
    if (rc == CREDS_OK)
        rc = cf_assume_role(f, &base, pr->role_arn, pr->role_session_name, pr->external_id,
                            pr->duration_seconds, ep, region, out, err);
    creds_wipe(&base);
    return rc;
}

static int profile_resolve(struct fetch *f, struct files *fl, const char *name, int depth,
                           struct creds *out, struct creds_error *err)
{
    if (depth > MAX_PROFILE_DEPTH)
        return cf_err(err, CREDS_E_INVALID, "profile %.64s: source_profile chain longer than %d",
                      name, MAX_PROFILE_DEPTH);
    struct creds_profile *pr = malloc(sizeof *pr);
    if (!pr)
        return cf_err(err, CREDS_E_REMOTE, "out of memory");
    int rc = creds_profile_parse(fl->have_cred ? fl->cred.ptr : NULL, fl->cred.len,
                                 fl->have_conf ? fl->conf.ptr : NULL, fl->conf.len, name, pr, err);
    if (rc == CREDS_OK) {
        if (pr->role_arn[0])
            rc = profile_role(f, fl, name, depth, pr, out, err);
        else if (pr->has_keys)
            *out = pr->creds;
        else
            rc = cf_err(err, CREDS_E_INVALID, "profile %.64s has neither keys nor role_arn", name);
    }
    creds_wipe(&pr->creds);
    free(pr);
    return rc;
}

static int profile(struct fetch *f, const struct prov *p, char *label, size_t lcap,
                   struct creds *out, struct creds_error *err)
{
    const struct chain *ch = f->ch;
    const char *name = p->profile ? p->profile : ch->env[E_PROFILE] ? ch->env[E_PROFILE]
                                                                   : "default";
    snprintf(label, lcap, "profile:%s", name);
    char cpath[1024], fpath[1024];
    const char *home = ch->env[E_HOME] ? ch->env[E_HOME] : "";
    snprintf(cpath, sizeof cpath, "%s", p->credentials_file ? p->credentials_file
                                        : ch->env[E_CRED_FILE] ? ch->env[E_CRED_FILE] : "");
    if (!cpath[0])
        snprintf(cpath, sizeof cpath, "%s/.aws/credentials", home);
    snprintf(fpath, sizeof fpath, "%s", p->config_file ? p->config_file
                                        : ch->env[E_CONFIG_FILE] ? ch->env[E_CONFIG_FILE] : "");
    if (!fpath[0])
        snprintf(fpath, sizeof fpath, "%s/.aws/config", home);
    struct files fl;
    s3w_buf_init(&fl.cred, CREDS_MAX_INPUT);
    s3w_buf_init(&fl.conf, CREDS_MAX_INPUT);
    bool mc, mf;
    struct creds_error e2;
    int rc = read_capped(cpath, CREDS_MAX_INPUT, &fl.cred, &mc, err);
    int rc2 = read_capped(fpath, CREDS_MAX_INPUT, &fl.conf, &mf, &e2);
    fl.have_cred = rc == CREDS_OK;
    fl.have_conf = rc2 == CREDS_OK;
    if (mc && mf) {
        rc = cf_err(err, CREDS_E_ABSENT, "neither %.200s nor %.200s exists", cpath, fpath);
    } else if (rc != CREDS_OK && !mc) {
        /* an unreadable file is an error, not "absent" (err says which) */
    } else if (rc2 != CREDS_OK && !mf) {
        *err = e2;
        rc = rc2;
    } else {
        rc = profile_resolve(f, &fl, name, 0, out, err);
    }
    s3w_buf_cleanup(&fl.cred);
    s3w_buf_cleanup(&fl.conf);
    return rc;
}

/* ---- the chain ------------------------------------------------------------ */

static const char *source_name(enum config_cred_source s)
{
    switch (s) {
    case CONFIG_CRED_STATIC: return "static";
    case CONFIG_CRED_ENV: return "env";
    case CONFIG_CRED_PROFILE: return "profile";
    case CONFIG_CRED_IMDS: return "imds";
    case CONFIG_CRED_ECS: return "ecs";
    case CONFIG_CRED_WEB_IDENTITY: return "web_identity";
    }
    return "?";
}

int cf_provider_fetch(struct fetch *f, const struct prov *p, char *label, size_t lcap,
                      struct creds *out, struct creds_error *err)
{
    snprintf(label, lcap, "%s", source_name(p->source));
    switch (p->source) {
    case CONFIG_CRED_STATIC: {
        memset(out, 0, sizeof *out);
        if (!p->access_key_id || !p->secret)
            return cf_err(err, CREDS_E_ABSENT, "no static keys");
        int a = snprintf(out->access_key_id, sizeof out->access_key_id, "%s", p->access_key_id);
        int b = snprintf(out->secret_access_key, sizeof out->secret_access_key, "%s", p->secret);
        int c = snprintf(out->session_token, sizeof out->session_token, "%s",
                         p->session_token ? p->session_token : "");
        if (a < 0 || b < 0 || c < 0 || (size_t)a >= sizeof out->access_key_id ||
            (size_t)b >= sizeof out->secret_access_key ||
            (size_t)c >= sizeof out->session_token) {
            creds_wipe(out);
            return cf_err(err, CREDS_E_INVALID, "static keys too long");
        }
        return CREDS_OK;
    }
    case CONFIG_CRED_ENV:
        return creds_from_env(cf_chain_env, (void *)(uintptr_t)f->ch, out, err);
    case CONFIG_CRED_PROFILE:
        return profile(f, p, label, lcap, out, err);
    case CONFIG_CRED_IMDS:
        return imds(f, p->endpoint, out, err);
    case CONFIG_CRED_ECS:
        return ecs(f, p, out, err);
    case CONFIG_CRED_WEB_IDENTITY:
        return web_identity(f, p->token_file ? p->token_file : f->ch->env[E_WEB_TOKEN_FILE],
                            p->role_arn ? p->role_arn : f->ch->env[E_ROLE_ARN],
                            p->session_name ? p->session_name : f->ch->env[E_ROLE_SESSION], 0,
                            p->sts_endpoint, out, err);
    }
    return cf_err(err, CREDS_E_INVALID, "unknown provider");
}
