/* audit_sink_s3.c - the S3 transport of a delivered audit sink
 * (audit_sink.h): each batch of spooled records becomes one gzip object
 * {"Records":[...]} under CloudTrail's key layout
 *   PREFIX/AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/
 *     ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ_UNIQUE.json.gz
 * (AWS CloudTrail User Guide, "Finding your CloudTrail log files"), PUT
 * through the configured upstream with the proxy's own credentials,
 * signed with SigV4. Runs on the sink's thread (blocking libcurl).
 *
 * UNIQUE is derived from the batch's first record, and the date and
 * minute from that record's eventTime (CloudTrail uses the delivery time;
 * a clock read at delivery would differ between tries), so a batch sent
 * again after a failure whose upload in fact succeeded (a lost answer, a
 * restart before the spool's offset moved) lands on the same key: the
 * retry overwrites the object with the same records or more, instead of
 * adding a second object that repeats them. */
#include "audit_sink.h"

#include <ctype.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "s3w_config.h"
#if S3W_HAVE_ISAL
#include <isa-l/igzip_lib.h>
#else
#include <zlib.h>
#endif

#include "bytes.h"
#include "creds_fetch.h"
#include "log.h"
#include "sigv4.h"

struct s3_t {
    char *endpoint;          /* scheme://host[:port], no trailing slash */
    char *host;              /* host[:port] of the endpoint */
    bool https, virtual_host, tls_verify;
    char *ca_file;
    char *bucket, *prefix, *account, *region;
    char *expected_owner;    /* x-amz-expected-bucket-owner, or NULL */
    uint32_t timeout_ms;
    _Atomic(struct creds_mgr *) creds;
    char name[400];
    struct sigv4_keycache keys;
    int last_status;         /* logged once per change of status or code */
    char last_code[64];
    /* gzip_records' buffers, kept from batch to batch and sized for the
     * largest batch at once: allocated anew, each batch's megabytes came
     * from mmap and were faulted in page by page (7% of the proxy's CPU in
     * the benchmark); grown by realloc as batches grew towards max_batch,
     * each growth copied and faulted in megabytes again (2%) */
    char *json, *gz;
    size_t json_cap, gz_cap;
    size_t max_batch; /* the transport's */
    uint8_t *level;
};

/* *p with room for n bytes; when short, replaced (its bytes are not kept)
 * by one of `want` bytes, or n when more. */
static bool room_for(char **p, size_t *cap, size_t n, size_t want)
{
    if (*cap >= n)
        return true;
    free(*p);
    *cap = 0;
    if (!(*p = malloc(n > want ? n : want)))
        return false;
    *cap = n > want ? n : want;
    return true;
}

/* The gzip output's room for jlen bytes of input: stored blocks at worst,
 * 5 bytes per 64 KiB, plus the gzip wrapper. */
static size_t gz_bound(size_t jlen)
{
    return jlen + jlen / 16384 * 5 + 1024;
}

/* The answer's first bytes, for the error code of a refused upload */
struct answer_head {
    char b[1024];
    size_t n;
};

static size_t keep_head(char *p, size_t sz, size_t n, void *ud)
{
    struct answer_head *h = ud;
    size_t len = sz * n, take = sizeof(h->b) - h->n;
    if (take > len)
        take = len;
    memcpy(h->b + h->n, p, take);
    h->n += take;
    return len;
}

/* S3's <Code> of an error document (AccessDenied, NoSuchBucket), letters
 * and digits only, so that a store's bytes cannot forge a log line; "" if
 * none. */
static void error_code(const struct answer_head *h, char out[64])
{
    out[0] = '\0';
    const char *c = memmem(h->b, h->n, "<Code>", 6);
    if (!c)
        return;
    c += 6;
    size_t i = 0;
    while (c + i < h->b + h->n && i < 63 && isalnum((unsigned char)c[i])) {
        out[i] = c[i];
        i++;
    }
    out[c + i < h->b + h->n && c[i] == '<' ? i : 0] = '\0';
}

/* {"Records":[line,line,...]} of buf's '\n'-terminated lines, gzip'd
 * (RFC 1952, as CloudTrail's .json.gz) in one pass over the joined text.
 * With ISA-L, its igzip at level 1: on 4 MiB of the benchmark's
 * CloudTrail records it took 0.23 us a record for 3.8% of their size,
 * where zlib's fastest level took 2.4 us for 4.0% (the sink runs beside
 * the workers, on the same cores, so its CPU is the proxy's). */
static int gzip_records(struct s3_t *s, const char *buf, size_t len, size_t *outlen)
{
    static const char head[] = "{\"Records\":[", tail[] = "]}\n";
    size_t wrap = sizeof(head) - 1 + sizeof(tail) - 1;
    size_t jlen = len + wrap, cap = gz_bound(jlen);
    if (!room_for(&s->json, &s->json_cap, jlen, s->max_batch + wrap) ||
        !room_for(&s->gz, &s->gz_cap, cap, gz_bound(s->max_batch + wrap)))
        return ENOMEM;
    char *json = s->json;
    size_t j = sizeof(head) - 1;
    memcpy(json, head, j);
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(buf + i, '\n', len - i);
        size_t ll = nl ? (size_t)(nl - (buf + i)) : len - i;
        if (i)
            json[j++] = ',';
        memcpy(json + j, buf + i, ll);
        j += ll;
        i += ll + 1;
    }
    memcpy(json + j, tail, sizeof(tail) - 1);
    j += sizeof(tail) - 1;

#if S3W_HAVE_ISAL
    if (!s->level && !(s->level = malloc(ISAL_DEF_LVL1_DEFAULT)))
        return ENOMEM;
    struct isal_zstream z;
    isal_deflate_stateless_init(&z);
    z.level = 1;
    z.level_buf = s->level;
    z.level_buf_size = ISAL_DEF_LVL1_DEFAULT;
    z.gzip_flag = IGZIP_GZIP;
    z.end_of_stream = 1;
    z.next_in = (uint8_t *)json;
    z.avail_in = (uint32_t)j;
    z.next_out = (uint8_t *)s->gz;
    z.avail_out = (uint32_t)cap;
    if (isal_deflate_stateless(&z) != COMP_OK)
        return EIO;
    *outlen = z.total_out;
#else
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return ENOMEM;
    z.next_in = (Bytef *)json;
    z.avail_in = (uInt)j;
    z.next_out = (Bytef *)s->gz;
    z.avail_out = (uInt)cap;
    int zr = deflate(&z, Z_FINISH);
    *outlen = cap - z.avail_out;
    deflateEnd(&z);
    if (zr != Z_STREAM_END)
        return EIO;
#endif
    return 0;
}

/* Two digits at p as a number, or -1. */
static int two_digits(const char *p)
{
    if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
        return -1;
    return (p[0] - '0') * 10 + (p[1] - '0');
}

/* The date and minute of a record's "eventTime":"YYYY-MM-DDTHH:MM..."
 * (both record formats carry it); false if the line has none. */
static bool record_time(const char *line, size_t len, struct tm *tm)
{
    static const char tag[] = "\"eventTime\":\"";
    const char *p = memmem(line, len, tag, sizeof(tag) - 1);
    if (!p || (size_t)(line + len - p) < sizeof(tag) - 1 + 16)
        return false;
    p += sizeof(tag) - 1;
    int c = two_digits(p), y = two_digits(p + 2), mo = two_digits(p + 5), d = two_digits(p + 8),
        h = two_digits(p + 11), mi = two_digits(p + 14);
    if (c < 0 || y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 ||
        mi > 59 || p[4] != '-' || p[7] != '-' || p[10] != 'T' || p[13] != ':')
        return false;
    memset(tm, 0, sizeof(*tm));
    tm->tm_year = c * 100 + y - 1900;
    tm->tm_mon = mo - 1;
    tm->tm_mday = d;
    tm->tm_hour = h;
    tm->tm_min = mi;
    return true;
}

static int s3_deliver(void *t, const char *buf, size_t len)
{
    struct s3_t *s = t;
    struct creds_mgr *cm = atomic_load(&s->creds);
    const struct creds_snapshot *cr = cm ? creds_mgr_acquire(cm) : NULL;
    if (!cr)
        return EAGAIN; /* no credentials (yet): stays spooled */
    int err = 0;
    size_t gzlen = 0;
    struct s3w_buf target, url;
    s3w_buf_init(&target, 4096);
    s3w_buf_init(&url, 8192);
    struct curl_slist *hl = NULL;
    CURL *easy = NULL;
    struct sigv4_signed sig;
    memset(&sig, 0, sizeof(sig));
    if ((err = gzip_records(s, buf, len, &gzlen)) != 0)
        goto done;
    const char *gz = s->gz;

    time_t now = time(NULL);
    const char *nl = memchr(buf, '\n', len);
    size_t first_len = nl ? (size_t)(nl - buf) : len;
    struct tm tm;
    if (!record_time(buf, first_len, &tm))
        gmtime_r(&now, &tm);
    uint8_t first[32];
    sigv4_sha256(buf, first_len, first);
    char unique[17];
    for (int i = 0; i < 8; i++)
        snprintf(unique + 2 * i, 3, "%02x", first[i]);
    char key[1024];
    snprintf(key, sizeof(key),
             "%s%sAWSLogs/%s/CloudTrail/%s/%04d/%02d/%02d/%s_CloudTrail_%s_%04d%02d%02dT%02d%02dZ_%s"
             ".json.gz",
             s->prefix, s->prefix[0] ? "/" : "", s->account, s->region, tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, s->account, s->region, tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, unique);
    char host[600];
    if (s->virtual_host)
        snprintf(host, sizeof(host), "%s.%s", s->bucket, s->host);
    else
        snprintf(host, sizeof(host), "%s", s->host);
    int rc = s3w_buf_append_char(&target, '/');
    if (!s->virtual_host) {
        rc = rc ? rc : sigv4_uri_encode(s3w_slice_cstr(s->bucket), false, &target);
        rc = rc ? rc : s3w_buf_append_char(&target, '/');
    }
    rc = rc ? rc : sigv4_uri_encode(s3w_slice_cstr(key), true, &target);
    rc = rc ? rc : s3w_buf_printf(&url, "%s://%s%.*s", s->https ? "https" : "http", host,
                                  (int)target.len, target.ptr);
    if (rc) {
        err = ENOMEM;
        goto done;
    }
    uint8_t h[32];
    sigv4_sha256(gz, gzlen, h);
    char hex[65];
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", h[i]);
    /* signed, so that no one on the way drops the owner check */
    struct s3w_header hdr[2] = {
        { .name = S3W_SLICE_LIT("host"), .value = s3w_slice_cstr(host) },
        { .name = S3W_SLICE_LIT("x-amz-expected-bucket-owner"),
          .value = s3w_slice_cstr(s->expected_owner ? s->expected_owner : "") },
    };
    struct sigv4_sign_params p = {
        .method = S3W_SLICE_LIT("PUT"),
        .target = s3w_slice(target.ptr, target.len),
        .headers = hdr,
        .n_headers = s->expected_owner ? 2 : 1,
        .region = s3w_slice_cstr(s->region),
        .service = S3W_SLICE_LIT("s3"),
        .uri_mode = SIGV4_URI_S3,
        .now = (int64_t)now,
        .payload = s3w_slice(hex, 64),
        .cache = &s->keys,
    };
    struct sigv4_error serr;
    if (sigv4_sign_headers(&p, &cr->sigv4, &sig, &serr) != 0) {
        err = EINVAL;
        goto done;
    }
    char line[4300];
    snprintf(line, sizeof(line), "Authorization: %.*s", (int)sig.authorization_len,
             sig.authorization);
    hl = curl_slist_append(hl, line);
    snprintf(line, sizeof(line), "x-amz-date: %s", sig.amz_date);
    hl = curl_slist_append(hl, line);
    snprintf(line, sizeof(line), "x-amz-content-sha256: %.*s", (int)sig.content_sha256_len,
             sig.content_sha256);
    hl = curl_slist_append(hl, line);
    if (s->expected_owner) {
        snprintf(line, sizeof(line), "x-amz-expected-bucket-owner: %s", s->expected_owner);
        hl = curl_slist_append(hl, line);
    }
    if (sig.security_token.len) {
        char tok[8192];
        int tn = snprintf(tok, sizeof(tok), "x-amz-security-token: %.*s",
                          (int)sig.security_token.len, sig.security_token.ptr);
        if (tn > 0 && (size_t)tn < sizeof(tok))
            hl = curl_slist_append(hl, tok);
        OPENSSL_cleanse(tok, sizeof(tok));
    }
    hl = curl_slist_append(hl, "Content-Type: application/x-gzip");
    hl = curl_slist_append(hl, "Expect:");
    easy = curl_easy_init();
    if (!easy || !hl) {
        err = ENOMEM;
        goto done;
    }
    curl_easy_setopt(easy, CURLOPT_URL, url.ptr);
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, "PUT");
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, gz);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)gzlen);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, hl);
    struct answer_head ans = { .n = 0 };
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, keep_head);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &ans);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)s->timeout_ms);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, s->tls_verify ? 1L : 0L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, s->tls_verify ? 2L : 0L);
    if (s->ca_file)
        curl_easy_setopt(easy, CURLOPT_CAINFO, s->ca_file);
    CURLcode cc = curl_easy_perform(easy);
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    if (cc != CURLE_OK)
        err = cc == CURLE_OPERATION_TIMEDOUT ? ETIMEDOUT : ECONNREFUSED;
    else if (status < 200 || status > 299)
        /* S3 answers 200; a store that answers a PUT 201 or 204 (RFC 9110
         * 9.3.4: WebDAV servers, nginx's dav module) holds the object too */
        err = status == 403 ? EACCES : EIO;
    char code[64];
    error_code(&ans, code);
    if (err && status && (status != s->last_status || strcmp(code, s->last_code) != 0))
        proxy_log("ERROR", "audit: %s answered %ld%s%s%s to a batch upload%s", s->name, status,
                  code[0] ? " (" : "", code, code[0] ? ")" : "",
                  status == 403 && s->expected_owner && strcmp(code, "AccessDenied") == 0
                      ? " (x-amz-expected-bucket-owner was sent: the bucket may be another "
                        "account's, or the credentials lack s3:PutObject)"
                      : "");
    s->last_status = (int)status;
    memcpy(s->last_code, code, sizeof(code));
done:
    if (easy)
        curl_easy_cleanup(easy);
    for (struct curl_slist *l = hl; l; l = l->next)
        OPENSSL_cleanse(l->data, strlen(l->data)); /* the security token is a secret */
    curl_slist_free_all(hl);
    sigv4_signed_cleanup(&sig);
    creds_snapshot_release(cr);
    s3w_buf_cleanup(&target);
    s3w_buf_cleanup(&url);
    return err;
}

static void s3_free(void *t)
{
    struct s3_t *s = t;
    if (!s)
        return;
    sigv4_keycache_cleanup(&s->keys);
    free(s->endpoint);
    free(s->host);
    free(s->ca_file);
    free(s->bucket);
    free(s->prefix);
    free(s->account);
    free(s->expected_owner);
    free(s->region);
    free(s->json);
    free(s->gz);
    free(s->level);
    free(s);
}

static char *dup_or_empty(const char *v)
{
    return strdup(v ? v : "");
}

int audit_s3_transport(const struct audit_s3_opts *o, struct audit_transport *out)
{
    if (!o->endpoint || !o->bucket || !o->account || !o->region)
        return EINVAL;
    struct s3_t *s = calloc(1, sizeof(*s));
    if (!s)
        return ENOMEM;
    sigv4_keycache_init(&s->keys);
    const char *e = o->endpoint;
    s->https = strncmp(e, "https://", 8) == 0;
    const char *hp = strstr(e, "://");
    hp = hp ? hp + 3 : e;
    size_t hl = strcspn(hp, "/");
    s->endpoint = strdup(e);
    s->host = strndup(hp, hl);
    s->virtual_host = o->virtual_host;
    s->tls_verify = o->tls_verify;
    s->ca_file = o->ca_file ? strdup(o->ca_file) : NULL;
    s->bucket = strdup(o->bucket);
    /* the prefix without slashes at its ends: the layout adds its own */
    const char *pf = o->prefix ? o->prefix : "";
    while (*pf == '/')
        pf++;
    s->prefix = dup_or_empty(pf);
    if (s->prefix)
        for (size_t n = strlen(s->prefix); n > 0 && s->prefix[n - 1] == '/'; n--)
            s->prefix[n - 1] = '\0';
    s->account = strdup(o->account);
    s->expected_owner = o->expected_owner ? strdup(o->expected_owner) : NULL;
    s->region = strdup(o->region);
    s->timeout_ms = o->timeout_ms ? o->timeout_ms : 30000;
    atomic_init(&s->creds, NULL);
    snprintf(s->name, sizeof(s->name), "s3 %s/%s%s", o->bucket, s->prefix ? s->prefix : "",
             s->prefix && s->prefix[0] ? "/" : "");
    if (!s->endpoint || !s->host || (o->ca_file && !s->ca_file) || !s->bucket || !s->prefix ||
        !s->account || (o->expected_owner && !s->expected_owner) || !s->region) {
        s3_free(s);
        return ENOMEM;
    }
    s->max_batch = o->batch_bytes ? o->batch_bytes : 4u << 20;
    *out = (struct audit_transport){
        .deliver = s3_deliver,
        .free = s3_free,
        .name = s->name,
        .t = s,
        .max_batch = s->max_batch,
        .linger_ms = o->batch_ms,
    };
    return 0;
}

void audit_s3_transport_set_creds(void *t, struct creds_mgr *m)
{
    atomic_store(&((struct s3_t *)t)->creds, m);
}
