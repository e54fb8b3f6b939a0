/*
 * fuzz_creds.c - the parsers of what the proxy's own credential providers
 * fetch or read (config/creds.c): the IMDSv2 / container-endpoint JSON, the
 * STS AssumeRole / AssumeRoleWithWebIdentity XML and ErrorResponse, the
 * shared credentials + config files, and AWS's ISO 8601 times. These bytes
 * come from the network (a metadata endpoint, STS) or from files an
 * operator did not necessarily write.
 *
 * Input: the first byte picks the parser (mod 4: 0 metadata JSON, 1 STS
 * XML, 2 profile files, 3 time); for the profile files the rest is the
 * credentials file, a NUL byte, then the config file, and the profile name
 * is "default" or "dev" (bit 2 of the first byte).
 * Invariants (abort): success gives NUL-terminated fields with a key id and
 * a secret, an expiration that creds_parse_time would give; failure fills a
 * message that never contains the secret-looking input (the secret and the
 * token of a document that failed on another field); the message is
 * NUL-terminated.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "creds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_message(const struct creds_error *err)
{
    if (!memchr(err->message, 0, sizeof err->message))
        abort();
}

static void check_creds(const struct creds *c)
{
    if (!memchr(c->access_key_id, 0, sizeof c->access_key_id) ||
        !memchr(c->secret_access_key, 0, sizeof c->secret_access_key) ||
        !memchr(c->session_token, 0, sizeof c->session_token))
        abort();
    if (!c->access_key_id[0] || !c->secret_access_key[0])
        abort();
}

/* A secret of 8 bytes or more must never appear in an error message. */
static void no_secret(const struct creds_error *err, const struct creds *c)
{
    if (strlen(c->secret_access_key) >= 8 && strstr(err->message, c->secret_access_key))
        abort();
    if (strlen(c->session_token) >= 8 && strstr(err->message, c->session_token))
        abort();
}

static void fuzz_profile(const char *p, size_t n, const char *name)
{
    const char *nul = memchr(p, 0, n);
    const char *cred = p, *conf = NULL;
    size_t clen = n, flen = 0;
    if (nul) {
        clen = (size_t)(nul - p);
        conf = nul + 1;
        flen = n - clen - 1;
    }
    static struct creds_profile prof;
    struct creds_error err = { { 0 } };
    int rc = creds_profile_parse(cred, clen, conf, flen, name, &prof, &err);
    if (rc == CREDS_OK) {
        if (prof.has_keys)
            check_creds(&prof.creds);
        if (!memchr(prof.role_arn, 0, sizeof prof.role_arn) ||
            !memchr(prof.region, 0, sizeof prof.region) ||
            !memchr(prof.source_profile, 0, sizeof prof.source_profile))
            abort();
    } else {
        check_message(&err);
    }
    creds_wipe(&prof.creds);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    static struct creds c;
    struct creds_error err = { { 0 } };
    int rc;
    switch (data[0] & 3) {
    case 0:
    case 1:
        memset(&c, 0, sizeof c);
        rc = (data[0] & 3) == 0 ? creds_parse_metadata_json(p, n, &c, &err)
                                : creds_parse_sts_xml(p, n, &c, &err);
        if (rc == CREDS_OK) {
            check_creds(&c);
            if (c.expiration < 0)
                abort();
        } else {
            if (rc != CREDS_E_INVALID && rc != CREDS_E_REMOTE && rc != CREDS_E_ABSENT)
                abort();
            check_message(&err);
            no_secret(&err, &c);
        }
        creds_wipe(&c);
        break;
    case 2:
        fuzz_profile(p, n, (data[0] & 4) ? "dev" : "default");
        break;
    default: {
        int64_t t = creds_parse_time(p, n);
        if (t < -1 || t == 0)
            abort(); /* -1 or a time after the epoch: 0 is "never expires" */
        /* the refresh time is never in the past, never after expiry */
        if (t > 0) {
            int64_t at = creds_refresh_at(1700000000, t, 300);
            if (at < 1700000001 && at != 0)
                abort();
        }
        break;
    }
    }
    return 0;
}
