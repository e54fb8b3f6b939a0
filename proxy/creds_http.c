/*
 * creds_http.c - the one HTTP request function of the credential manager
 * (IMDS, the container endpoint, STS), on libcurl's easy interface.
 *
 * Contract (creds_internal.h, cf_http_do): one blocking request on the
 * refresh thread, bounded by the chain's connect and transfer timeouts and
 * aborted within about a second when the manager stops (progress
 * callback). Only http and https; never a redirect (it could carry a token
 * to another host) and never a proxy from the environment (the endpoints
 * are link-local or configured). The response body is capped by the
 * caller's buffer. Messages name the method and the URL without its query,
 * never a header: request headers may hold a token or a signature, and
 * cf_slist_free_wiped wipes them.
 */
#include "creds_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int cf_err(struct creds_error *err, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return rc;
}

int cf_err_prefix(struct creds_error *err, int rc, const char *fmt, ...)
{
    char what[sizeof err->message], why[sizeof err->message];
    snprintf(why, sizeof why, "%s", err->message);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return cf_err(err, rc, "%s: %s", what, why);
}

struct sink {
    struct s3w_buf *b;
    bool overflow;
};

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    struct sink *s = ud;
    if (s3w_buf_append(s->b, p, size * n) != 0) {
        s->overflow = true;
        return 0; /* CURLE_WRITE_ERROR: bodies are capped (CREDS_MAX_INPUT) */
    }
    return size * n;
}

static int on_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)a;
    (void)b;
    (void)c;
    (void)d;
    const atomic_bool *stop = ud;
    return atomic_load(stop) ? 1 : 0; /* abort: the manager is being freed */
}

/* The headers may hold a token or a signature: wipe before freeing. */
void cf_slist_free_wiped(struct curl_slist *h)
{
    for (struct curl_slist *it = h; it; it = it->next)
        if (it->data)
            s3w_wipe(it->data, strlen(it->data));
    curl_slist_free_all(h);
}

int cf_header_add(struct curl_slist **h, struct creds_error *err, const char *fmt, ...)
{
    char line[CREDS_MAX_TOKEN + 128]; /* the longest: a session token */
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    struct curl_slist *t = NULL;
    if (n >= 0 && (size_t)n < sizeof line)
        t = curl_slist_append(*h, line);
    s3w_wipe(line, sizeof line);
    if (n < 0 || (size_t)n >= sizeof line)
        return cf_err(err, CREDS_E_INVALID, "a request header is longer than %zu bytes",
                      sizeof line - 1);
    if (!t)
        return cf_err(err, CREDS_E_REMOTE, "out of memory (headers)");
    *h = t;
    return CREDS_OK;
}

/* One request. `body` NULL = no body (GET); method "PUT"/"POST" send
 * `body` (may be ""). The response body (capped) goes to resp. The URL is
 * only used in messages with its query cut (never a credential there, but
 * keep messages short). */
int cf_http_do(struct fetch *f, const char *method, const char *url,
               const struct curl_slist *hdrs, const char *body, size_t blen, long *status,
               struct s3w_buf *resp, struct creds_error *err)
{
    CURL *e = curl_easy_init();
    if (!e)
        return cf_err(err, CREDS_E_REMOTE, "out of memory (curl)");
    char ebuf[CURL_ERROR_SIZE] = "";
    struct sink sk = { resp, false };
    s3w_buf_reset(resp);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)f->ch->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)f->ch->connect_timeout_ms);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85 replaced the bitmask option */
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L); /* a redirect could carry a token away */
    curl_easy_setopt(e, CURLOPT_NOPROXY, "*");       /* link-local / configured endpoints */
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, ebuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &sk);
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(e, CURLOPT_XFERINFODATA, (void *)(uintptr_t)f->stop);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
    if (body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)blen);
        if (strcmp(method, "POST") != 0)
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    }
    CURLcode rc = curl_easy_perform(e);
    int out = CREDS_OK;
    size_t ul = strcspn(url, "?");
    if (ul > 200)
        ul = 200;
    if (rc != CURLE_OK) {
        if (sk.overflow)
            out = cf_err(err, CREDS_E_REMOTE, "%s %.*s: response larger than %u bytes", method,
                         (int)ul, url, CREDS_MAX_INPUT);
        else
            out = cf_err(err, CREDS_E_REMOTE, "%s %.*s: %s", method, (int)ul, url,
                         ebuf[0] ? ebuf : curl_easy_strerror(rc));
    } else {
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
    }
    curl_easy_cleanup(e);
    return out;
}
