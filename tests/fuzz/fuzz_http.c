/* fuzz_http.c - the strict HTTP/1.1 request parser (proxy/http.c) on
 * arbitrary bytes: pipelined messages, every split point (the first input
 * byte picks the feed size), bodies chunked or not. It must never read out
 * of bounds, never loop, and every slice it hands out must lie inside the
 * request arena. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct http_request req;

static int on_body(void *ud, const char *p, size_t n)
{
    size_t *total = ud;
    if (n > 0 && p == NULL)
        __builtin_trap();
    *total += n;
    return 0;
}

static void check_slice(struct s3w_slice s)
{
    if (s.len == 0)
        return;
    if (s.ptr < req.arena || s.ptr + s.len > req.arena + HTTP_MAX_HEAD)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t step = (size_t)(data[0] % 64) + 1;
    const char *in = (const char *)data + 1;
    size_t len = size - 1;
    size_t total = 0;
    struct http_parser hp;
    http_parser_init(&hp, &req, on_body, &total);
    size_t off = 0;
    int guard = 0;
    while (off <= len && guard++ < 100000) {
        size_t n = len - off < step ? len - off : step;
        size_t used = 0;
        enum http_event ev = http_parser_feed(&hp, in + off, n, &used);
        if (used > n)
            __builtin_trap();
        off += used;
        if (ev == HTTP_EV_ERROR) {
            if (hp.err_status < 400 || hp.err_code == NULL || hp.err_message == NULL)
                __builtin_trap();
            break;
        }
        if (ev == HTTP_EV_HEAD_DONE) {
            check_slice(req.method);
            check_slice(req.target);
            check_slice(req.path);
            check_slice(req.query);
            for (size_t i = 0; i < req.nheaders; i++) {
                check_slice(req.headers[i].name);
                check_slice(req.headers[i].value);
            }
            http_parser_body(&hp);
            continue;
        }
        if (ev == HTTP_EV_MESSAGE_DONE) {
            http_parser_next(&hp);
            continue;
        }
        if (off == len)
            break;
    }
    return 0;
}
