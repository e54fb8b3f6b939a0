/*
 * cmd_presign_post.c - `s3warden presign --post` (cmd_presign_post.h).
 *
 * The policy is the one S3's documentation builds (API Reference, "POST
 * Policy" and "Example: Browser-Based Upload using HTTP POST"): expiration,
 * the bucket, ["starts-with", "$key", PREFIX], the signature's own three
 * fields, and with --max-size a content-length-range; the form's key is
 * PREFIX${filename}. Its base64 is the string to sign, signed with the
 * key's secret from the config for the upstream region (the one serve
 * verifies against). Printed as JSON {"url": ..., "fields": {...}}, the
 * shape of boto3's generate_presigned_post: a backend hands it to the page,
 * which sends the fields and then the file.
 */
#include "cmd_presign_post.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "civil.h"
#include "codec.h"
#include "identity.h"
#include "sigv4.h"

struct post_args {
    const char *config_path, *akid, *endpoint, *uri;
    long long expires, max_size;
};

static int usage_err(const char *msg)
{
    fprintf(stderr, "s3warden: presign --post: %s\n", msg);
    return 2;
}

static int parse(int argc, char **argv, struct post_args *a)
{
    *a = (struct post_args){ .expires = 3600, .max_size = -1 };
    for (int i = 2; i < argc; i++) {
        const char *s = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(s, "--post") == 0)
            continue;
        if (s[0] == '-' && !v)
            return usage_err("an option needs a value");
        char *end;
        if (strcmp(s, "--config") == 0)
            a->config_path = argv[++i];
        else if (strcmp(s, "--access-key-id") == 0)
            a->akid = argv[++i];
        else if (strcmp(s, "--endpoint") == 0)
            a->endpoint = argv[++i];
        else if (strcmp(s, "--expires") == 0) {
            a->expires = strtoll(argv[++i], &end, 10);
            if (*end || a->expires < 1 || a->expires > 604800)
                return usage_err("--expires must be 1..604800 seconds");
        } else if (strcmp(s, "--max-size") == 0) {
            a->max_size = strtoll(argv[++i], &end, 10);
            if (*end || a->max_size < 0 || a->max_size > (5LL << 30))
                return usage_err("--max-size must be 0..5368709120 bytes (S3's largest PUT)");
        } else if (s[0] != '-' && !a->uri)
            a->uri = s;
        else {
            fprintf(stderr, "s3warden: presign --post: unexpected argument '%s'\n", s);
            return 2;
        }
    }
    if (!a->config_path || !a->akid || !a->uri)
        return usage_err("usage: s3warden presign --post --config FILE --access-key-id AKID "
                         "[--expires SECONDS] [--max-size BYTES] [--endpoint URL] s3://BUCKET/PREFIX");
    if (strncmp(a->uri, "s3://", 5) != 0 || a->uri[5] == 0 || a->uri[5] == '/')
        return usage_err("the prefix must be given as s3://BUCKET/PREFIX");
    return 0;
}

int cmd_presign_post(int argc, char **argv)
{
    struct post_args a;
    if (parse(argc, argv, &a) != 0)
        return 2;
    const char *bucket = a.uri + 5, *slash = strchr(bucket, '/');
    char bname[64];
    size_t blen = slash ? (size_t)(slash - bucket) : strlen(bucket);
    if (blen >= sizeof bname)
        return usage_err("invalid bucket name");
    snprintf(bname, sizeof bname, "%.*s", (int)blen, bucket);
    const char *prefix = slash ? slash + 1 : "";

    struct config_errors errs;
    config_errors_init(&errs);
    struct config *cfg = NULL;
    int rc = config_load(a.config_path, &cfg, &errs);
    if (rc != CONFIG_OK) {
        for (size_t i = 0; i < errs.n; i++)
            fprintf(stderr, "s3warden: %s\n", errs.items[i].text);
        config_errors_cleanup(&errs);
        return rc == CONFIG_E_INVALID ? 1 : 2;
    }
    config_errors_cleanup(&errs);

    int ret = 1;
    struct config_identity id;
    memset(&id, 0, sizeof(id));
    uint8_t secret[SIGV4_MAX_SECRET];
    size_t slen = 0;
    cJSON *pol = NULL, *out = NULL;
    char *doc = NULL, *b64 = NULL, *text = NULL;
    int64_t now = (int64_t)time(NULL);
    int ar = config_resolve(cfg, s3w_slice_cstr(a.akid), S3W_SLICE_NULL, now, &id, secret,
                            sizeof(secret), &slen);
    if (ar != CONFIG_AUTH_OK) {
        fprintf(stderr, "s3warden: presign --post: access key id %s: %s\n", a.akid,
                ar == CONFIG_AUTH_MISSING_TOKEN
                    ? "a session key; presign takes the long-term keys of the config"
                    : "not an active access key of this config");
        goto cleanup;
    }
    char base[600];
    if (a.endpoint) {
        snprintf(base, sizeof(base), "%s", a.endpoint);
        size_t bl = strlen(base);
        while (bl && base[bl - 1] == '/')
            base[--bl] = 0;
    } else if (listener_url(cfg, base, sizeof(base)) != 0) {
        fprintf(stderr, "s3warden: presign --post: the config has no usable listener; give --endpoint\n");
        goto cleanup;
    }
    char date[9], amz[17], exp[S3W_ISO8601_LEN + 1], cred[256], key[2048];
    struct tm tm;
    time_t t = (time_t)now;
    gmtime_r(&t, &tm);
    strftime(date, sizeof date, "%Y%m%d", &tm);
    strftime(amz, sizeof amz, "%Y%m%dT%H%M%SZ", &tm);
    s3w_iso8601_format(now + a.expires, exp);
    snprintf(cred, sizeof cred, "%s/%s/%s/s3/aws4_request", a.akid, date, cfg->upstream->region);
    snprintf(key, sizeof key, "%s${filename}", prefix);

    pol = cJSON_CreateObject();
    cJSON *conds = cJSON_AddArrayToObject(pol, "conditions");
    cJSON_AddStringToObject(pol, "expiration", exp);
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "bucket", bname);
    cJSON_AddItemToArray(conds, c);
    const char *sw[] = { "starts-with", "$key", prefix };
    cJSON_AddItemToArray(conds, cJSON_CreateStringArray(sw, 3));
    if (a.max_size >= 0) {
        cJSON *r = cJSON_CreateArray();
        cJSON_AddItemToArray(r, cJSON_CreateString("content-length-range"));
        cJSON_AddItemToArray(r, cJSON_CreateNumber(0));
        cJSON_AddItemToArray(r, cJSON_CreateNumber((double)a.max_size));
        cJSON_AddItemToArray(conds, r);
    }
    const char *names[] = { "x-amz-algorithm", "x-amz-credential", "x-amz-date" };
    const char *vals[] = { "AWS4-HMAC-SHA256", cred, amz };
    for (size_t i = 0; i < 3; i++) {
        c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, names[i], vals[i]);
        cJSON_AddItemToArray(conds, c);
    }
    doc = cJSON_PrintUnformatted(pol);
    b64 = doc ? malloc(4 * (strlen(doc) / 3 + 1) + 1) : NULL;
    if (!b64)
        goto cleanup;
    s3w_b64_encode((const uint8_t *)doc, strlen(doc), b64);
    uint8_t sk[32], mac[32];
    char sig[65];
    sigv4_signing_key(s3w_slice((const char *)secret, slen), s3w_slice_cstr(date),
                      s3w_slice_cstr(cfg->upstream->region), S3W_SLICE_LIT("s3"), sk);
    sigv4_signature(sk, s3w_slice_cstr(b64), mac);
    s3w_wipe(sk, sizeof sk);
    s3w_hex_encode(mac, 32, sig);

    out = cJSON_CreateObject();
    char url[700];
    snprintf(url, sizeof url, "%s/%s", base, bname);
    cJSON_AddStringToObject(out, "url", url);
    cJSON *f = cJSON_AddObjectToObject(out, "fields");
    cJSON_AddStringToObject(f, "key", key);
    for (size_t i = 0; i < 3; i++)
        cJSON_AddStringToObject(f, names[i], vals[i]);
    cJSON_AddStringToObject(f, "policy", b64);
    cJSON_AddStringToObject(f, "x-amz-signature", sig);
    text = cJSON_Print(out);
    if (!text)
        goto cleanup;
    printf("%s\n", text);
    ret = 0;
cleanup:
    s3w_wipe(secret, sizeof(secret));
    config_identity_cleanup(&id);
    cJSON_Delete(pol);
    cJSON_Delete(out);
    free(doc);
    free(b64);
    free(text);
    config_unref(cfg);
    return ret;
}
