/* upstream.c - a worker's pools toward the upstream origins (upstream.h),
 * and the upstream's small error bodies. */
#include "upstream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "checksum.h"
#include "metrics.h"
#include "proxy.h"
#include "upstream_state.h"
#include "xml.h"

#define UP_ORIGIN_MAX 300 /* "https://" + authority */

struct up_origin {
    char key[UP_ORIGIN_MAX]; /* scheme://authority, as the url starts */
    size_t key_len;
    struct h1c_pool *pool;
};

/* The pools toward one upstream (by name), made with its settings. */
struct up_pools {
    char *name;
    size_t slot;           /* its slot in upstream_state.h's table (metrics); UPS_MAX: none */
    uv_loop_t *loop;
    struct up_origin *o;
    size_t n, cap;
    /* what the pools are made with, from the config's upstream section */
    SSL_CTX *ssl;          /* NULL until an https origin is used */
    bool ssl_failed;
    char *ca_file;
    bool tls_verify;
    unsigned max_conns;
    uint32_t connect_ms, first_byte_ms, idle_ms;
};

/* A worker's pools: one group per upstream it has sent to. */
struct up_set {
    uv_loop_t *loop;
    struct upstream_state *ups; /* the upstreams' slots; NULL: none counted */
    int nworkers;
    struct up_pools **g;
    size_t n, cap;
};

/* An upstream connection left idle this long is closed: under the 60 s of
 * common S3-compatible servers and load balancers, so that the proxy, not
 * the upstream, retires it (a request sent as the upstream closes is what
 * the client's retry rule is for). */
#define UP_KEEPALIVE_MS 30000

static unsigned pool_conns(const struct config_upstream *u, int nworkers)
{
    unsigned per_host = u->max_connections_per_host ? u->max_connections_per_host : 128;
    unsigned total = u->max_connections ? u->max_connections / (unsigned)(nworkers > 0 ? nworkers : 1) : 0;
    if (u->max_connections && total < 1)
        total = 1;
    return total && total < per_host ? total : per_host;
}

static void settings_from(struct up_pools *m, const struct config_upstream *u, int nworkers)
{
    free(m->ca_file);
    m->ca_file = u->ca_file ? strdup(u->ca_file) : NULL;
    m->tls_verify = u->tls_verify;
    m->max_conns = pool_conns(u, nworkers);
    m->connect_ms = u->connect_timeout_ms;
    m->first_byte_ms = u->first_byte_timeout_ms;
    m->idle_ms = u->idle_timeout_ms;
}

static bool settings_differ(const struct up_pools *m, const struct config_upstream *u, int nworkers)
{
    bool ca_differs = (m->ca_file == NULL) != (u->ca_file == NULL) ||
                      (m->ca_file && strcmp(m->ca_file, u->ca_file) != 0);
    return ca_differs || m->tls_verify != u->tls_verify || m->max_conns != pool_conns(u, nworkers) ||
           m->connect_ms != u->connect_timeout_ms || m->first_byte_ms != u->first_byte_timeout_ms ||
           m->idle_ms != u->idle_timeout_ms;
}

static void close_pools(struct up_pools *m)
{
    for (size_t i = 0; i < m->n; i++)
        h1c_pool_close(m->o[i].pool);
    m->n = 0;
    SSL_CTX_free(m->ssl);
    m->ssl = NULL;
    m->ssl_failed = false;
}

_Static_assert(METRICS_MAX_UPSTREAMS == UPS_MAX && METRICS_NUPCONN == H1C_NEVENTS &&
                   METRICS_NUPGAUGE == H1C_NGAUGES,
               "the shards hold every upstream's pool events and gauges");

int up_worker_init(struct proxy_worker *w, const struct config *cfg, int nworkers,
                   struct upstream_state *ups)
{
    (void)cfg; /* groups are made on first use, with the upstream's settings */
    struct up_set *set = calloc(1, sizeof(*set));
    if (!set)
        return -1;
    set->loop = &w->loop;
    set->ups = ups;
    set->nworkers = nworkers;
    w->up = set;
    return 0;
}

unsigned up_pool_size(const struct proxy_worker *w, const struct config_upstream *u)
{
    const struct up_set *set = w->up;
    return pool_conns(u, set ? set->nworkers : 1);
}

static void free_group(struct up_pools *m)
{
    close_pools(m);
    free(m->o);
    free(m->ca_file);
    free(m->name);
    free(m);
}

void up_worker_cleanup(struct proxy_worker *w)
{
    struct up_set *set = w->up;
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++)
        free_group(set->g[i]);
    free(set->g);
    free(set);
    w->up = NULL;
}

/* An upstream the new config no longer has: its pools close (requests on
 * their connections finish), the group stays empty. One whose settings
 * changed: its pools close and are made again on use. The others keep
 * their connections. */
void up_worker_reconfigure(struct proxy_worker *w, const struct config *cfg)
{
    struct up_set *set = w->up;
    for (size_t i = 0; set && i < set->n; i++) {
        struct up_pools *m = set->g[i];
        const struct config_upstream *u = config_find_upstream(cfg, s3w_slice_cstr(m->name));
        if (!u) {
            close_pools(m);
        } else if (settings_differ(m, u, set->nworkers)) {
            close_pools(m);
            settings_from(m, u, set->nworkers);
        }
    }
}

static struct up_pools *group(struct up_set *set, const struct config_upstream *u)
{
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->g[i]->name, u->name) == 0)
            return set->g[i];
    if (set->n == set->cap) {
        size_t nc = set->cap ? set->cap * 2 : 4;
        struct up_pools **ng = realloc(set->g, nc * sizeof(*ng));
        if (!ng)
            return NULL;
        set->g = ng;
        set->cap = nc;
    }
    struct up_pools *m = calloc(1, sizeof(*m));
    if (!m || !(m->name = strdup(u->name))) {
        free(m);
        return NULL;
    }
    m->loop = set->loop;
    m->slot = ups_slot(set->ups, u->name);
    settings_from(m, u, set->nworkers);
    set->g[set->n++] = m;
    return m;
}

/* The TLS context of the worker's https pools: TLS 1.2 or later, the
 * system's CAs or ca_file. Made once per settings; NULL when it cannot be
 * (a ca_file that does not load: every https request fails with 502 and
 * the reason in the log, rather than trusting less or more than asked). */
static SSL_CTX *client_ssl(struct up_pools *m, const char **why)
{
    if (m->ssl || m->ssl_failed) {
        *why = "the upstream TLS context could not be made (ca_file)";
        return m->ssl;
    }
    /* no SSL_MODE_RELEASE_BUFFERS: it would free, and so wipe (tls.h's
     * wiping free), OpenSSL's two record buffers (33 KiB) after every read
     * and write: 34,000 instructions, +30% per GET. A pooled connection
     * gives them back once idle for a second instead (h1c__tls_cool). */
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    bool ok = ctx && SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1;
    if (ok)
        ok = m->ca_file ? SSL_CTX_load_verify_locations(ctx, m->ca_file, NULL) == 1
                        : SSL_CTX_set_default_verify_paths(ctx) == 1;
    ERR_clear_error();
    if (!ok) {
        SSL_CTX_free(ctx);
        m->ssl_failed = true;
        *why = "the upstream TLS context could not be made (ca_file)";
        return NULL;
    }
    m->ssl = ctx;
    return ctx;
}

/* Splits "scheme://authority/..." into the origin key, TLS or not, host
 * (without IPv6 brackets) and port. false when it is not such a URL. */
static bool parse_origin(struct s3w_slice url, size_t *key_len, bool *tls, char *host, size_t hcap,
                         uint16_t *port)
{
    size_t at;
    if (s3w_slice_starts_with(url, S3W_SLICE_LIT("https://"))) {
        *tls = true;
        at = 8;
    } else if (s3w_slice_starts_with(url, S3W_SLICE_LIT("http://"))) {
        *tls = false;
        at = 7;
    } else {
        return false;
    }
    size_t end = at;
    while (end < url.len && url.ptr[end] != '/' && url.ptr[end] != '?')
        end++;
    struct s3w_slice auth = s3w_slice(url.ptr + at, end - at);
    if (auth.len == 0 || end >= UP_ORIGIN_MAX)
        return false;
    *key_len = end;
    struct s3w_slice h = auth, p = S3W_SLICE_NULL;
    if (auth.ptr[0] == '[') {
        const char *rb = memchr(auth.ptr, ']', auth.len);
        if (!rb)
            return false;
        h = s3w_slice(auth.ptr + 1, (size_t)(rb - auth.ptr) - 1);
        size_t rest = auth.len - (size_t)(rb + 1 - auth.ptr);
        if (rest) {
            if (rb[1] != ':')
                return false;
            p = s3w_slice(rb + 2, rest - 1);
        }
    } else {
        const char *colon = memchr(auth.ptr, ':', auth.len);
        if (colon) {
            h = s3w_slice(auth.ptr, (size_t)(colon - auth.ptr));
            p = s3w_slice(colon + 1, auth.len - h.len - 1);
        }
    }
    if (h.len == 0 || h.len >= hcap)
        return false;
    memcpy(host, h.ptr, h.len);
    host[h.len] = '\0';
    unsigned long v = *tls ? 443 : 80;
    if (p.ptr) {
        v = 0;
        if (p.len == 0 || p.len > 5)
            return false;
        for (size_t i = 0; i < p.len; i++) {
            if (p.ptr[i] < '0' || p.ptr[i] > '9')
                return false;
            v = v * 10 + (unsigned long)(p.ptr[i] - '0');
        }
        if (v == 0 || v > 65535)
            return false;
    }
    *port = (uint16_t)v;
    return true;
}

struct h1c_pool *up_pool(struct proxy_worker *w, const struct config_upstream *u,
                         struct s3w_slice url, const char **why)
{
    size_t key_len;
    bool tls;
    char host[UP_ORIGIN_MAX];
    uint16_t port;
    *why = "the upstream endpoint is not an http:// or https:// URL";
    if (!w->up || !parse_origin(url, &key_len, &tls, host, sizeof(host), &port))
        return NULL;
    *why = "out of memory";
    struct up_pools *m = group(w->up, u);
    if (!m)
        return NULL;
    for (size_t i = 0; i < m->n; i++)
        if (m->o[i].key_len == key_len && memcmp(m->o[i].key, url.ptr, key_len) == 0)
            return m->o[i].pool;
    SSL_CTX *ssl = NULL;
    if (tls && !(ssl = client_ssl(m, why)))
        return NULL;
    *why = "out of memory";
    if (m->n == m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 4;
        struct up_origin *no = realloc(m->o, nc * sizeof(*no));
        if (!no)
            return NULL;
        m->o = no;
        m->cap = nc;
    }
    struct h1c_pool_opts o = {
        .host = host,
        .port = port,
        .ssl_ctx = ssl,
        .tls_verify = m->tls_verify,
        .max_conns = m->max_conns,
        .connect_timeout_ms = m->connect_ms,
        .first_byte_timeout_ms = m->first_byte_ms,
        .idle_timeout_ms = m->idle_ms,
        .keepalive_ms = UP_KEEPALIVE_MS,
    };
    if (w->metrics && m->slot < UPS_MAX) {
        o.events = w->metrics->upstream_conns[m->slot];
        o.gauges = w->metrics->upstream_gauges[m->slot];
    }
    struct h1c_pool *p = h1c_pool_new(m->loop, &o);
    if (!p)
        return NULL;
    struct up_origin *e = &m->o[m->n++];
    memcpy(e->key, url.ptr, key_len);
    e->key_len = key_len;
    e->pool = p;
    return p;
}

void up_worker_stats(struct proxy_worker *w, struct h1c_stats *sum)
{
    memset(sum, 0, sizeof(*sum));
    struct up_set *set = w->up;
    for (size_t g = 0; set && g < set->n; g++) {
        const struct up_pools *m = set->g[g];
        for (size_t i = 0; i < m->n; i++) {
            struct h1c_stats s;
            h1c_pool_stats(m->o[i].pool, &s);
            sum->connects += s.connects;
            sum->reuses += s.reuses;
            sum->retries += s.retries;
            sum->closed_protocol += s.closed_protocol;
            sum->tls_resumed += s.tls_resumed;
            sum->writes += s.writes;
            sum->open += s.open;
            sum->idle += s.idle;
            sum->waiting += s.waiting;
        }
    }
}

/* ---- small upstream error bodies ------------------------------------------ */
void up_errbody_add(struct up_errbody *e, const char *p, size_t n)
{
    size_t room = sizeof(e->buf) - e->len;
    if (n > room) {
        e->over = true;
        n = room;
    }
    memcpy(e->buf + e->len, p, n);
    e->len += n;
}

bool up_errbody_code(const struct up_errbody *e, char *out, size_t cap)
{
    if (cap == 0)
        return false;
    out[0] = 0;
    if (e->over || cap < 2)
        return false;
    /* the first <Code> element, wherever it is (S3 puts it under <Error>),
     * read as XML: not found in a comment or CDATA, nor after anything
     * malformed */
    struct s3w_xml x;
    s3w_xml_init(&x, s3w_slice(e->buf, e->len), S3W_XML_MAX_DEPTH, 0);
    do {
        if (s3w_xml_next(&x) != 0)
            return false;
    } while (x.kind != S3W_XML_EOF &&
             !(x.kind == S3W_XML_START && x.attrs.len == 0 && s3w_slice_eq_cstr(x.name, "Code")));
    struct s3w_slice v;
    if (x.kind == S3W_XML_EOF || s3w_xml_leaf(&x, &v) != 0)
        return false;
    if (v.len == 0 || v.len >= cap)
        return false;
    /* raw text: with no '&' allowed, it is its own decoding */
    for (size_t i = 0; i < v.len; i++) {
        char ch = v.ptr[i];
        bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                  (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
        if (!ok)
            return false;
    }
    memcpy(out, v.ptr, v.len);
    out[v.len] = 0;
    return true;
}

bool up_code_is_credential_error(const char *code)
{
    static const char *const codes[] = {
        "ExpiredToken", "InvalidToken", "InvalidAccessKeyId", "SignatureDoesNotMatch",
    };
    for (size_t i = 0; code && i < sizeof(codes) / sizeof(codes[0]); i++)
        if (strcmp(code, codes[i]) == 0)
            return true;
    return false;
}

/* ---- is a 2xx answer its operation's? ------------------------------------------------ */
static bool xml_name_char(unsigned char c)
{
    return c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' || c == ':';
}

/* The end of what starts at p[i] and ends with the 2- or 3-byte `close`
 * ("?>", "-->"), or n when the bytes end first. */
static size_t skip_past(const char *p, size_t n, size_t i, const char *close)
{
    size_t cl = strlen(close);
    for (; i + cl <= n; i++)
        if (memcmp(p + i, close, cl) == 0)
            return i + cl;
    return n;
}

enum up_answer_verdict up_answer_xml(const char *p, size_t n, bool complete,
                                     const char *const *roots, struct s3w_slice *seen)
{
    enum up_answer_verdict more = complete ? UP_ANSWER_WRONG : UP_ANSWER_MORE;
    *seen = S3W_SLICE_NULL;
    size_t i = 0;
    if (n >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
        i = 3;
    else if (n && n < 3 && memcmp(p, "\xef\xbb\xbf", n) == 0)
        return more;
    for (;;) {
        while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
            i++;
        if (i == n)
            return more;
        if (p[i] != '<')
            return UP_ANSWER_WRONG;
        if (i + 1 == n)
            return more;
        if (p[i + 1] == '?') { /* the declaration, a processing instruction */
            size_t end = skip_past(p, n, i + 2, "?>");
            if (end == n && (n < 2 || memcmp(p + n - 2, "?>", 2) != 0))
                return more;
            i = end;
            continue;
        }
        if (p[i + 1] == '!') { /* only a comment; no DOCTYPE, no CDATA */
            if (n - i < 4)
                return memcmp(p + i, "<!--", n - i) == 0 ? more : UP_ANSWER_WRONG;
            if (memcmp(p + i, "<!--", 4) != 0)
                return UP_ANSWER_WRONG;
            size_t end = skip_past(p, n, i + 4, "-->");
            if (end == n && (n - i < 7 || memcmp(p + n - 3, "-->", 3) != 0))
                return more;
            i = end;
            continue;
        }
        break;
    }
    size_t start = ++i;
    while (i < n && xml_name_char((unsigned char)p[i]))
        i++;
    *seen = s3w_slice(p + start, i - start);
    if (i == n)
        return more;
    if (i == start || !(p[i] == '>' || p[i] == '/' || p[i] == ' ' || p[i] == '\t' ||
                        p[i] == '\r' || p[i] == '\n'))
        return UP_ANSWER_WRONG;
    struct s3w_slice local = *seen;
    const char *colon = memchr(local.ptr, ':', local.len);
    if (colon)
        local = s3w_slice(colon + 1, local.len - (size_t)(colon + 1 - local.ptr));
    for (size_t k = 0; roots && roots[k]; k++)
        if (s3w_slice_eq_cstr(local, roots[k]))
            return UP_ANSWER_OK;
    return UP_ANSWER_WRONG;
}

enum up_answer_verdict up_answer_events(const char *p, size_t n, bool complete)
{
    if (n < 12)
        return complete ? UP_ANSWER_WRONG : UP_ANSWER_MORE;
    const unsigned char *u = (const unsigned char *)p;
    uint32_t total = (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
    uint32_t hlen = (uint32_t)u[4] << 24 | (uint32_t)u[5] << 16 | (uint32_t)u[6] << 8 | u[7];
    uint32_t crc = (uint32_t)u[8] << 24 | (uint32_t)u[9] << 16 | (uint32_t)u[10] << 8 | u[11];
    /* prelude (12), headers, payload, message CRC (4) */
    if (total < 16 || hlen > total - 16 || sigv4_crc32(0, p, 8) != crc)
        return UP_ANSWER_WRONG;
    return UP_ANSWER_OK;
}

enum up_answer_verdict up_answer_torrent(const char *p, size_t n, bool complete)
{
    if (!n)
        return complete ? UP_ANSWER_WRONG : UP_ANSWER_MORE;
    return p[0] == 'd' ? UP_ANSWER_OK : UP_ANSWER_WRONG;
}

bool up_answer_torrent_type(struct s3w_slice content_type)
{
    if (!content_type.len)
        return false;
    const char *semi = memchr(content_type.ptr, ';', content_type.len);
    struct s3w_slice t = s3w_slice_trim(
        semi ? s3w_slice(content_type.ptr, (size_t)(semi - content_type.ptr)) : content_type);
    return s3w_slice_eq_nocase(t, S3W_SLICE_LIT("application/x-bittorrent"));
}
