/*
 * creds.c - pure parsers and refresh arithmetic for the proxy's own
 * credential providers (formats in creds.h).
 */
#include "creds.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "civil.h"

#include "xml.h"

void creds_wipe(struct creds *c)
{
    s3w_wipe(c, sizeof *c);
}

static int fail(struct creds_error *err, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct creds_error *err, int rc, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* Copies n bytes + NUL into dst[cap]; false if it does not fit. */
static bool put(char *dst, size_t cap, const char *src, size_t n)
{
    if (n + 1 > cap)
        return false;
    memcpy(dst, src, n);
    dst[n] = '\0';
    return true;
}

/* ---- environment ------------------------------------------------------------ */

int creds_from_env(creds_getenv_fn get, void *ud, struct creds *out, struct creds_error *err)
{
    memset(out, 0, sizeof *out);
    const char *id = get(ud, "AWS_ACCESS_KEY_ID");
    const char *sk = get(ud, "AWS_SECRET_ACCESS_KEY");
    const char *tok = get(ud, "AWS_SESSION_TOKEN");
    if (!tok || !*tok)
        tok = get(ud, "AWS_SECURITY_TOKEN"); /* legacy name, still honoured by the SDKs */
    bool hid = id && *id, hsk = sk && *sk;
    if (!hid && !hsk)
        return fail(err, CREDS_E_ABSENT, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set");
    if (!hid || !hsk)
        return fail(err, CREDS_E_INVALID, "%s is set but %s is not",
                    hid ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                    hid ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
    if (!put(out->access_key_id, sizeof out->access_key_id, id, strlen(id)) ||
        !put(out->secret_access_key, sizeof out->secret_access_key, sk, strlen(sk)) ||
        (tok && !put(out->session_token, sizeof out->session_token, tok, strlen(tok)))) {
        creds_wipe(out);
        return fail(err, CREDS_E_INVALID, "an AWS_* credential variable is too long");
    }
    return CREDS_OK;
}

/* ---- INI files ---------------------------------------------------------------- */

/* SP, HTAB and CR (a CRLF file): the line ends at the LF, so trimming LF
 * as well, as s3w_slice_trim does, changes nothing here. */
static struct s3w_slice trim(const char *p, size_t n)
{
    return s3w_slice_trim(s3w_slice(p, n));
}

struct setter {
    struct creds_profile *prof;
    bool found;
};

/* Stores one key of the selected profile; false if the value is too long. */
static bool set_key(struct creds_profile *p, struct s3w_slice k, struct s3w_slice v)
{
#define KEY(name, field) \
    if (s3w_slice_eq_nocase(k, S3W_SLICE_LIT(name))) \
        return put(field, sizeof field, v.ptr, v.len)
    KEY("aws_access_key_id", p->creds.access_key_id);
    KEY("aws_secret_access_key", p->creds.secret_access_key);
    KEY("aws_session_token", p->creds.session_token);
    KEY("aws_security_token", p->creds.session_token);
    KEY("region", p->region);
    KEY("role_arn", p->role_arn);
    KEY("source_profile", p->source_profile);
    KEY("external_id", p->external_id);
    KEY("role_session_name", p->role_session_name);
    KEY("credential_source", p->credential_source);
    KEY("web_identity_token_file", p->web_identity_token_file);
#undef KEY
    if (s3w_slice_eq_nocase(k, S3W_SLICE_LIT("duration_seconds"))) {
        uint32_t d = 0;
        for (size_t i = 0; i < v.len; i++) {
            if (v.ptr[i] < '0' || v.ptr[i] > '9' || d > 4000000)
                return false;
            d = d * 10 + (uint32_t)(v.ptr[i] - '0');
        }
        p->duration_seconds = d;
    }
    return true; /* other keys (output, s3 = ..., sso_*) are not ours */
}

/* Parses one INI file, applying the keys of profile `name` to *p. In the
 * config file the section is "profile NAME" ("default" may be written
 * either way). */
static int parse_ini(const char *text, size_t len, bool config_file, const char *fname,
                     const char *name, struct creds_profile *p, bool *found,
                     struct creds_error *err)
{
    if (len > CREDS_MAX_INPUT)
        return fail(err, CREDS_E_INVALID, "%s: larger than %u bytes", fname, CREDS_MAX_INPUT);
    bool in = false, nested = false;
    size_t lineno = 0;
    struct s3w_slice want = s3w_slice_cstr(name);
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && text[j] != '\n')
            j++;
        lineno++;
        const char *raw = text + i;
        size_t rawlen = j - i;
        i = j + 1;
        struct s3w_slice l = trim(raw, rawlen);
        if (l.len == 0 || l.ptr[0] == '#' || l.ptr[0] == ';')
            continue;
        bool indented = raw[0] == ' ' || raw[0] == '\t';
        if (indented && nested)
            continue; /* sub-property of "s3 =" style nested sections */
        nested = false;
        if (l.ptr[0] == '[') {
            if (l.ptr[l.len - 1] != ']')
                return fail(err, CREDS_E_INVALID, "%s:%zu: unterminated section header", fname,
                            lineno);
            struct s3w_slice sec = trim(l.ptr + 1, l.len - 2);
            if (config_file && s3w_slice_starts_with(sec, S3W_SLICE_LIT("profile ")))
                sec = trim(sec.ptr + 8, sec.len - 8);
            else if (config_file && !s3w_slice_eq_cstr(sec, "default"))
                sec = S3W_SLICE_NULL; /* [sso-session x], [services x]: not a profile */
            in = sec.len && s3w_slice_eq(sec, want);
            if (in)
                *found = true;
            continue;
        }
        const char *eq = memchr(l.ptr, '=', l.len);
        if (!eq)
            return fail(err, CREDS_E_INVALID, "%s:%zu: expected \"key = value\"", fname, lineno);
        struct s3w_slice k = trim(l.ptr, (size_t)(eq - l.ptr));
        struct s3w_slice v = trim(eq + 1, l.len - (size_t)(eq - l.ptr) - 1);
        if (k.len == 0)
            return fail(err, CREDS_E_INVALID, "%s:%zu: a key is missing before '='", fname,
                        lineno);
        if (v.len == 0) {
            nested = true; /* "s3 =" followed by indented lines */
            continue;
        }
        if (in && !set_key(p, k, v))
            return fail(err, CREDS_E_INVALID, "%s:%zu: the value of %.*s is too long or invalid",
                        fname, lineno, (int)(k.len > 64 ? 64 : k.len), k.ptr);
    }
    return CREDS_OK;
}

int creds_profile_parse(const char *credentials, size_t clen, const char *config, size_t flen,
                        const char *name, struct creds_profile *out, struct creds_error *err)
{
    memset(out, 0, sizeof *out);
    bool found = false;
    int rc = CREDS_OK;
    /* config first, then credentials: credentials-file keys win */
    if (config)
        rc = parse_ini(config, flen, true, "config", name, out, &found, err);
    if (rc == CREDS_OK && credentials)
        rc = parse_ini(credentials, clen, false, "credentials", name, out, &found, err);
    if (rc != CREDS_OK) {
        creds_wipe(&out->creds);
        return rc;
    }
    if (!found)
        return fail(err, CREDS_E_ABSENT, "profile %s not found", name);
    bool hid = out->creds.access_key_id[0], hsk = out->creds.secret_access_key[0];
    if (hid != hsk) {
        creds_wipe(&out->creds);
        return fail(err, CREDS_E_INVALID, "profile %s has %s but not %s", name,
                    hid ? "aws_access_key_id" : "aws_secret_access_key",
                    hid ? "aws_secret_access_key" : "aws_access_key_id");
    }
    out->has_keys = hid;
    return CREDS_OK;
}

/* ---- time -------------------------------------------------------------------- */

static bool digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

int64_t creds_parse_time(const char *s, size_t len)
{
    /* YYYY-MM-DDTHH:MM:SS */
    int Y, M, D, h, m, sec;
    if (len < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
        s[13] != ':' || s[16] != ':' || !digits(s, 4, &Y) || !digits(s + 5, 2, &M) ||
        !digits(s + 8, 2, &D) || !digits(s + 11, 2, &h) || !digits(s + 14, 2, &m) ||
        !digits(s + 17, 2, &sec))
        return -1;
    if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
        return -1;
    size_t i = 19;
    if (i < len && s[i] == '.') {
        i++;
        size_t f = i;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == f)
            return -1;
    }
    int off = 0;
    if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i + 6 == len && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
        int oh, om;
        if (!digits(s + i + 1, 2, &oh) || !digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
            return -1;
        off = (oh * 3600 + om * 60) * (s[i] == '-' ? -1 : 1);
        i += 6;
    } else {
        return -1;
    }
    if (i != len)
        return -1;
    /* a day past the month's end (02-31) rolls over, as timegm() did */
    int64_t t = s3w_days_from_civil(Y, (unsigned)M, (unsigned)D) * 86400 + h * 3600 + m * 60 +
                sec - off;
    /* An expiration at or before the epoch is as malformed as any other
     * nonsense: 0 would read as "does not expire" to every caller, and a
     * negative value other than -1 would slip past a == -1 check. */
    return t > 0 ? t : -1;
}

int64_t creds_refresh_at(int64_t now, int64_t expiration, uint32_t refresh_before)
{
    if (expiration == 0)
        return 0;
    int64_t at = expiration - (int64_t)refresh_before;
    /* short-lived credentials: use them for half their remaining life rather
     * than refreshing at once (and then again and again) */
    int64_t half = now + (expiration - now) / 2;
    if (at < half)
        at = half;
    if (at <= now)
        at = now + 1;
    return at;
}

uint64_t creds_retry_delay_ms(unsigned attempt, double rand01)
{
    uint64_t base = 1000;
    for (unsigned i = 0; i < attempt && base < 60000; i++)
        base *= 2;
    if (base > 60000)
        base = 60000;
    if (rand01 < 0 || rand01 >= 1)
        rand01 = 0;
    return base / 2 + (uint64_t)(rand01 * (double)(base / 2));
}

/* ---- metadata JSON ------------------------------------------------------------ */

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int creds_parse_metadata_json(const char *json, size_t len, struct creds *out,
                              struct creds_error *err)
{
    memset(out, 0, sizeof *out);
    if (len > CREDS_MAX_INPUT)
        return fail(err, CREDS_E_INVALID, "credentials document larger than %u bytes",
                    CREDS_MAX_INPUT);
    cJSON *doc = cJSON_ParseWithLength(json, len);
    int rc = CREDS_OK;
    if (!cJSON_IsObject(doc)) {
        rc = fail(err, CREDS_E_INVALID, "credentials document is not a JSON object");
        goto cleanup;
    }
    const char *code = jstr(doc, "Code");
    if (code && strcmp(code, "Success") != 0) {
        const char *msg = jstr(doc, "Message");
        rc = fail(err, CREDS_E_REMOTE, "%.64s: %.160s", code, msg ? msg : "");
        goto cleanup;
    }
    const char *id = jstr(doc, "AccessKeyId"), *sk = jstr(doc, "SecretAccessKey");
    const char *tok = jstr(doc, "Token"), *exp = jstr(doc, "Expiration");
    if (!id || !sk || !*id || !*sk) {
        rc = fail(err, CREDS_E_INVALID, "credentials document has no AccessKeyId/SecretAccessKey");
        goto cleanup;
    }
    if (!put(out->access_key_id, sizeof out->access_key_id, id, strlen(id)) ||
        !put(out->secret_access_key, sizeof out->secret_access_key, sk, strlen(sk)) ||
        (tok && !put(out->session_token, sizeof out->session_token, tok, strlen(tok)))) {
        rc = fail(err, CREDS_E_INVALID, "a credential field is too long");
        goto cleanup;
    }
    if (exp) {
        out->expiration = creds_parse_time(exp, strlen(exp));
        if (out->expiration < 0) {
            rc = fail(err, CREDS_E_INVALID, "invalid Expiration \"%.40s\"", exp);
            goto cleanup;
        }
    }
cleanup:
    if (rc != CREDS_OK)
        creds_wipe(out);
    if (doc) {
        /* the parsed tree holds the secret: wipe its strings before freeing */
        for (cJSON *it = doc->child; it; it = it->next)
            if (cJSON_IsString(it) && it->valuestring)
                s3w_wipe(it->valuestring, strlen(it->valuestring));
        cJSON_Delete(doc);
    }
    return rc;
}

/* ---- STS XML -------------------------------------------------------------------- */

/* STS answers: <...Response><...Result><Credentials><AccessKeyId>..., or
 * <ErrorResponse><Error><Code>... (STS API reference, "Common Errors") */
#define STS_XML_MAX_DEPTH 8

/* Decodes an element's raw text into dst[cap] as a C string. A NUL byte
 * cannot come out: the reader refuses it raw and as &#0; (XML 1.0, 2.2 has
 * no such character), and copied it would cut the C string short (an empty
 * key id, a shortened secret). */
static bool text_copy(char *dst, size_t cap, struct s3w_slice raw)
{
    long n = s3w_xml_decode(raw, dst, cap - 1);
    dst[n < 0 ? 0 : n] = '\0';
    return n >= 0;
}

/* For an error message: as much of the text as fits (a reference cut in
 * two is dropped). */
static void text_copy_cut(char *dst, size_t cap, struct s3w_slice raw)
{
    for (size_t k = raw.len < cap - 1 ? raw.len : cap - 1, tries = 0; tries < 12 && k > 0;
         tries++, k--)
        if (text_copy(dst, cap, s3w_slice(raw.ptr, k)))
            return;
    dst[0] = '\0';
}

enum { F_ID, F_SECRET, F_TOKEN, F_EXPIRATION, F__COUNT };

/* The children of <Credentials> (just read) as raw texts: fields the
 * answer may hold in any order, others skipped. */
static int sts_credentials(struct s3w_xml *x, struct s3w_slice f[F__COUNT])
{
    static const char *const names[F__COUNT] = { "AccessKeyId", "SecretAccessKey", "SessionToken",
                                                 "Expiration" };
    for (;;) {
        if (s3w_xml_next_tag(x))
            return S3W_E_INVAL;
        if (x->kind == S3W_XML_END)
            return 0;
        size_t i = 0;
        while (i < F__COUNT && !s3w_slice_eq_cstr(x->name, names[i]))
            i++;
        if (i == F__COUNT ? s3w_xml_skip(x) : (f[i].ptr || s3w_xml_leaf(x, &f[i])))
            return S3W_E_INVAL; /* malformed, or a field given twice */
    }
}

int creds_parse_sts_xml(const char *xml, size_t len, struct creds *out, struct creds_error *err)
{
    memset(out, 0, sizeof *out);
    if (len > CREDS_MAX_INPUT)
        return fail(err, CREDS_E_INVALID, "STS response larger than %u bytes", CREDS_MAX_INPUT);
    struct s3w_xml x;
    s3w_xml_init(&x, s3w_slice(xml, len), STS_XML_MAX_DEPTH, 0);
    struct s3w_slice f[F__COUNT] = { S3W_SLICE_NULL }, code = S3W_SLICE_NULL,
                     msg = S3W_SLICE_NULL;
    bool error_doc = false, have_creds = false, ok = true;
    while (ok && (ok = s3w_xml_next(&x) == 0) && x.kind != S3W_XML_EOF) {
        if (x.kind != S3W_XML_START)
            continue;
        if (x.depth == 1)
            error_doc = s3w_slice_eq_cstr(x.name, "ErrorResponse");
        else if (error_doc && !code.ptr && s3w_slice_eq_cstr(x.name, "Code"))
            ok = s3w_xml_leaf(&x, &code) == 0;
        else if (error_doc && !msg.ptr && s3w_slice_eq_cstr(x.name, "Message"))
            ok = s3w_xml_leaf(&x, &msg) == 0;
        if (!error_doc && !have_creds && s3w_slice_eq_cstr(x.name, "Credentials")) {
            have_creds = true;
            if (sts_credentials(&x, f) != 0)
                return fail(err, CREDS_E_INVALID,
                            "a credential field is too long or badly escaped");
        }
    }
    if (error_doc) {
        /* what STS said, even if the rest of its answer does not parse */
        char c[64] = "", m[160] = "";
        if (code.ptr)
            text_copy_cut(c, sizeof c, code);
        if (msg.ptr)
            text_copy_cut(m, sizeof m, msg);
        return fail(err, CREDS_E_REMOTE, "%s: %s", c[0] ? c : "UnknownError", m);
    }
    if (!ok)
        return fail(err, CREDS_E_INVALID, "STS response is not well-formed XML");
    if (!have_creds)
        return fail(err, CREDS_E_INVALID, "STS response has no Credentials");
    if (!f[F_ID].len || !f[F_SECRET].len || !f[F_TOKEN].len || !f[F_EXPIRATION].len)
        return fail(err, CREDS_E_INVALID,
                    "STS Credentials lack AccessKeyId, SecretAccessKey, SessionToken or Expiration");
    if (!text_copy(out->access_key_id, sizeof out->access_key_id, f[F_ID]) ||
        !text_copy(out->secret_access_key, sizeof out->secret_access_key, f[F_SECRET]) ||
        !text_copy(out->session_token, sizeof out->session_token, f[F_TOKEN])) {
        creds_wipe(out);
        return fail(err, CREDS_E_INVALID, "a credential field is too long or badly escaped");
    }
    struct s3w_slice exp = f[F_EXPIRATION];
    out->expiration = creds_parse_time(exp.ptr, exp.len);
    if (out->expiration < 0) {
        creds_wipe(out);
        return fail(err, CREDS_E_INVALID, "invalid Expiration \"%.*s\"",
                    (int)(exp.len > 40 ? 40 : exp.len), exp.ptr);
    }
    return CREDS_OK;
}

/* ---- requests ------------------------------------------------------------------ */

int creds_ecs_endpoint(creds_getenv_fn get, void *ud, const char *override, char *url,
                       size_t url_cap, char *auth, size_t auth_cap, struct creds_error *err)
{
    const char *full = get(ud, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
    const char *rel = get(ud, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *tok = get(ud, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
    int n;
    if (override && *override)
        n = snprintf(url, url_cap, "%s", override);
    else if (full && *full)
        n = snprintf(url, url_cap, "%s", full);
    else if (rel && *rel)
        n = snprintf(url, url_cap, "%s%s%s", CREDS_ECS_DEFAULT_HOST, rel[0] == '/' ? "" : "/", rel);
    else
        return fail(err, CREDS_E_ABSENT, "AWS_CONTAINER_CREDENTIALS_FULL_URI and "
                                         "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI are not set");
    if (n < 0 || (size_t)n >= url_cap)
        return fail(err, CREDS_E_INVALID, "the container credentials URL is too long");
    n = snprintf(auth, auth_cap, "%s", tok ? tok : "");
    if (n < 0 || (size_t)n >= auth_cap) {
        s3w_wipe(auth, auth_cap);
        return fail(err, CREDS_E_INVALID, "AWS_CONTAINER_AUTHORIZATION_TOKEN is too long");
    }
    return CREDS_OK;
}

/* RFC 3986 percent-encoding (unreserved characters kept), as the SDKs send
 * Query API parameters. */
static int form_param(struct s3w_buf *b, const char *name, struct s3w_slice v)
{
    int rc = s3w_buf_printf(b, "&%s=", name);
    for (size_t i = 0; i < v.len && !rc; i++) {
        unsigned char c = (unsigned char)v.ptr[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            rc = s3w_buf_append_char(b, (char)c);
        } else {
            char e[3] = { '%', s3w_hex_upper[c >> 4], s3w_hex_upper[c & 15] };
            rc = s3w_buf_append(b, e, 3);
        }
    }
    return rc;
}

int creds_form_assume_role(const char *role_arn, const char *session_name,
                           const char *external_id, uint32_t duration, struct s3w_buf *out)
{
    s3w_buf_reset(out);
    int rc = s3w_buf_append_cstr(out, "Action=AssumeRole&Version=2011-06-15");
    rc = rc ? rc : form_param(out, "RoleArn", s3w_slice_cstr(role_arn));
    rc = rc ? rc : form_param(out, "RoleSessionName", s3w_slice_cstr(session_name));
    if (!rc && duration)
        rc = s3w_buf_printf(out, "&DurationSeconds=%u", duration);
    if (!rc && external_id && *external_id)
        rc = form_param(out, "ExternalId", s3w_slice_cstr(external_id));
    return rc;
}

int creds_form_web_identity(const char *role_arn, const char *session_name,
                            struct s3w_slice web_token, uint32_t duration, struct s3w_buf *out)
{
    /* the token file may end with a newline; it is not part of the token */
    while (web_token.len && (web_token.ptr[web_token.len - 1] == '\n' ||
                             web_token.ptr[web_token.len - 1] == '\r' ||
                             web_token.ptr[web_token.len - 1] == ' '))
        web_token.len--;
    s3w_buf_reset(out);
    int rc = s3w_buf_append_cstr(out, "Action=AssumeRoleWithWebIdentity&Version=2011-06-15");
    rc = rc ? rc : form_param(out, "RoleArn", s3w_slice_cstr(role_arn));
    rc = rc ? rc : form_param(out, "RoleSessionName", s3w_slice_cstr(session_name));
    rc = rc ? rc : form_param(out, "WebIdentityToken", web_token);
    if (!rc && duration)
        rc = s3w_buf_printf(out, "&DurationSeconds=%u", duration);
    return rc;
}
