/* upstream.c - curl multi-socket on a uv loop (see upstream.h). */
#include "upstream.h"

#include <stdlib.h>
#include <string.h>

#include "proxy.h"
#include "xml.h"

struct up_multi {
    CURLM *multi;
    uv_timer_t timer;
    struct proxy_worker *w;
    bool in_check;
};

struct up_sock {
    uv_poll_t poll;
    curl_socket_t fd;
    struct up_multi *m;
};

static void check_done(struct up_multi *m)
{
    if (m->in_check)
        return;
    m->in_check = true;
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(m->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        struct up_xfer *x = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        CURLcode rc = msg->data.result;
        curl_multi_remove_handle(m->multi, msg->easy_handle);
        if (x) {
            x->active = 0;
            x->done(x, rc);
        }
    }
    m->in_check = false;
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    struct up_sock *s = p->data;
    struct up_multi *m = s->m;
    int flags = 0;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    int running;
    curl_multi_socket_action(m->multi, s->fd, flags, &running);
    check_done(m);
}

static void on_timeout(uv_timer_t *t)
{
    struct up_multi *m = t->data;
    int running;
    curl_multi_socket_action(m->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(m);
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    struct up_multi *m = userp;
    if (timeout_ms < 0)
        uv_timer_stop(&m->timer);
    else
        uv_timer_start(&m->timer, on_timeout, (uint64_t)timeout_ms, 0);
    return 0;
}

static void free_sock(uv_handle_t *h)
{
    free(h->data);
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp,
                     void *socketp)
{
    (void)easy;
    struct up_multi *m = userp;
    struct up_sock *s = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (s) {
            uv_poll_stop(&s->poll);
            curl_multi_assign(m->multi, fd, NULL);
            uv_close((uv_handle_t *)&s->poll, free_sock);
        }
        return 0;
    }
    if (!s) {
        s = calloc(1, sizeof(*s));
        if (!s)
            return -1;
        s->fd = fd;
        s->m = m;
        if (uv_poll_init_socket(&m->w->loop, &s->poll, fd) != 0) {
            free(s);
            return -1;
        }
        s->poll.data = s;
        curl_multi_assign(m->multi, fd, s);
    }
    int ev = 0;
    if (what & CURL_POLL_IN)
        ev |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        ev |= UV_WRITABLE;
    uv_poll_start(&s->poll, ev, on_poll);
    return 0;
}

int up_worker_init(struct proxy_worker *w, long max_total_conns, long max_host_conns)
{
    struct up_multi *m = calloc(1, sizeof(*m));
    if (!m)
        return -1;
    m->multi = curl_multi_init();
    if (!m->multi) {
        free(m);
        return -1;
    }
    m->w = w;
    uv_timer_init(&w->loop, &m->timer);
    m->timer.data = m;
    curl_multi_setopt(m->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(m->multi, CURLMOPT_SOCKETDATA, m);
    curl_multi_setopt(m->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(m->multi, CURLMOPT_TIMERDATA, m);
    if (max_total_conns > 0) {
        curl_multi_setopt(m->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, max_total_conns);
        curl_multi_setopt(m->multi, CURLMOPT_MAXCONNECTS, max_total_conns);
    }
    if (max_host_conns > 0)
        curl_multi_setopt(m->multi, CURLMOPT_MAX_HOST_CONNECTIONS, max_host_conns);
    w->up = m;
    return 0;
}

static void free_multi(uv_handle_t *h)
{
    struct up_multi *m = h->data;
    free(m);
}

void up_worker_cleanup(struct proxy_worker *w)
{
    struct up_multi *m = w->up;
    if (!m)
        return;
    /* curl closes its cached connections here, calling socket_cb REMOVE */
    curl_multi_cleanup(m->multi);
    m->multi = NULL;
    uv_close((uv_handle_t *)&m->timer, free_multi);
    w->up = NULL;
}

int up_start(struct proxy_worker *w, struct up_xfer *x)
{
    struct up_multi *m = w->up;
    curl_easy_setopt(x->easy, CURLOPT_PRIVATE, (char *)x);
    if (curl_multi_add_handle(m->multi, x->easy) != CURLM_OK)
        return -1;
    x->active = 1;
    return 0;
}

void up_abort(struct proxy_worker *w, struct up_xfer *x)
{
    struct up_multi *m = w->up;
    if (!x->active || !m)
        return;
    curl_multi_remove_handle(m->multi, x->easy);
    x->active = 0;
}

void up_unpause(struct proxy_worker *w, struct up_xfer *x)
{
    struct up_multi *m = w->up;
    if (!x->active || !m)
        return;
    /* may run inside another transfer's curl callback: only unpause here;
     * completions are collected on the next socket or timer event, never
     * from inside a callback (curl refuses remove_handle there) */
    curl_easy_pause(x->easy, CURLPAUSE_CONT);
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
