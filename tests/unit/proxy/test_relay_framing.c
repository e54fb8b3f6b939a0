/* Unit tests of the head and framing s3warden writes when it relays an
 * upstream answer (relay.c, relay_out): the status line with S3's reason,
 * the upstream's headers, chunked framing when the upstream gave no
 * Content-Length (chunk sizes in lower-case hex, a zero chunk at the end),
 * and "Connection: close" when the client asked for it - against a fake
 * upstream through the whole pipeline (pipeline_rig.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pipeline_rig.h"
#include "sockutil.h"

#define AKID "AKIARELAYFRAMING0001"
#define SECRET "relayFramingSecret/0123456789abcdefghijkl"

/* sizes of the chunks the upstream sends for /bkt/chunked: one over a
 * power of 16, one of 16 exactly, a big one (several reads) */
static const size_t up_chunks[] = { 1, 0x10, 0xfff, 0x1000, 0x2a5b7 };

static char body_byte(size_t i)
{
    return (char)('a' + i % 23);
}

static void up_answer(int fd, const char *head)
{
    if (strstr(head, " /real-bkt/chunked ")) {
        su_send_str(fd, "HTTP/1.1 200 OK\r\nx-amz-request-id: UPCHUNKED\r\n"
                        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
        size_t at = 0;
        for (size_t k = 0; k < sizeof(up_chunks) / sizeof(up_chunks[0]); k++) {
            char line[32];
            int n = snprintf(line, sizeof(line), "%zX\r\n", up_chunks[k]);
            su_send(fd, line, (size_t)n);
            char *d = malloc(up_chunks[k]);
            assert_non_null(d);
            for (size_t i = 0; i < up_chunks[k]; i++)
                d[i] = body_byte(at + i);
            su_send(fd, d, up_chunks[k]);
            free(d);
            at += up_chunks[k];
            su_send_str(fd, "\r\n");
        }
        su_send_str(fd, "0\r\n\r\n");
        return;
    }
    if (strstr(head, " /real-bkt/partial ")) {
        su_send_str(fd, "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-4/10\r\n"
                        "Content-Length: 5\r\nConnection: close\r\n\r\nhello");
        return;
    }
    su_send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
}

static struct config *make_config(void)
{
    return rig_config(&(struct rig_cfg){ .akid = AKID, .secret = SECRET,
        .policy = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
                  "\"Action\":\"s3:GetObject\",\"Resource\":\"*\"}]}" });
}

static const struct rig_opts opts = { .make_config = make_config, .answer = up_answer };

static char req[8192];
static char resp[1 << 20];

static void get(const char *target, const char *unsigned_hdrs, const char *until)
{
    struct rig_req r = { .akid = AKID, .secret = SECRET, .method = "GET", .target = target,
                         .unsigned_hdrs = unsigned_hdrs };
    size_t n = rig_build(req, sizeof(req), &r);
    rig_exchange(req, n, until, resp, sizeof(resp));
}

/* The chunked body at p: each size line lower-case hex without leading
 * zeros, its data, CRLF; a zero chunk and CRLF at the end. Returns the
 * data joined (malloc'd, *len), asserting the framing. */
static char *dechunk(const char *p, size_t *len)
{
    size_t cap = 1 << 20, n = 0;
    char *out = malloc(cap);
    assert_non_null(out);
    for (;;) {
        const char *eol = strstr(p, "\r\n");
        assert_non_null(eol);
        assert_true(eol > p);
        assert_true(p[0] != '0' || eol == p + 1); /* no leading zeros */
        size_t sz = 0;
        for (const char *q = p; q < eol; q++) {
            const char *d = strchr("0123456789abcdef", *q);
            if (!d || !*q)
                fail_msg("chunk size line \"%.*s\" is not lower-case hex", (int)(eol - p), p);
            sz = sz * 16 + (size_t)(d - "0123456789abcdef");
        }
        p = eol + 2;
        if (sz == 0) {
            assert_memory_equal(p, "\r\n", 2);
            break;
        }
        assert_true(n + sz <= cap);
        memcpy(out + n, p, sz);
        n += sz;
        p += sz;
        assert_memory_equal(p, "\r\n", 2);
        p += 2;
    }
    *len = n;
    return out;
}

/* no Content-Length from the upstream: chunked to the client, the bytes
 * intact, the chunk sizes in lower-case hex */
static void test_chunked_answer(void **state)
{
    (void)state;
    get("/bkt/chunked", NULL, "\r\n0\r\n\r\n");
    rig_assert_status(resp, "HTTP/1.1 200 OK\r\n");
    const char *end = strstr(resp, "\r\n\r\n");
    assert_non_null(end);
    char head[4096];
    size_t hl = (size_t)(end - resp) + 4;
    assert_true(hl < sizeof(head));
    memcpy(head, resp, hl);
    head[hl] = '\0';
    /* the framing ends the head: Transfer-Encoding, no Connection: close */
    assert_non_null(strstr(head, "\r\nTransfer-Encoding: chunked\r\n\r\n"));
    assert_null(strstr(head, "Connection: close"));
    assert_null(strstr(head, "Content-Length"));
    size_t len, want = 0;
    char *body = dechunk(end + 4, &len);
    for (size_t k = 0; k < sizeof(up_chunks) / sizeof(up_chunks[0]); k++)
        want += up_chunks[k];
    assert_int_equal(len, want);
    for (size_t i = 0; i < len; i++)
        if (body[i] != body_byte(i))
            fail_msg("body byte %zu is %c, not %c", i, body[i], body_byte(i));
    free(body);
}

/* the client's Connection: close is announced after the framing */
static void test_chunked_answer_connection_close(void **state)
{
    (void)state;
    get("/bkt/chunked", "Connection: close\r\n", "\r\n0\r\n\r\n");
    rig_assert_status(resp, "HTTP/1.1 200 OK\r\n");
    assert_non_null(strstr(resp, "\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"));
    size_t len;
    free(dechunk(strstr(resp, "\r\n\r\n") + 4, &len));
    assert_true(len > 0);
}

/* a status other than 200 keeps its code and gets S3's reason; a
 * Content-Length answer is not re-framed */
static void test_status_line_and_length(void **state)
{
    (void)state;
    get("/bkt/partial", NULL, NULL);
    rig_assert_status(resp, "HTTP/1.1 206 Partial Content\r\n");
    assert_non_null(strstr(resp, "\r\nContent-Range: bytes 0-4/10\r\n"));
    assert_null(strstr(resp, "Transfer-Encoding"));
    assert_string_equal(rig_body_of(resp), "hello");

    get("/bkt/partial", "Connection: close\r\n", NULL);
    rig_assert_status(resp, "HTTP/1.1 206 Partial Content\r\n");
    const char *end = strstr(resp, "\r\n\r\n");
    assert_non_null(end);
    assert_memory_equal(end - strlen("\r\nConnection: close"), "\r\nConnection: close", 19);
    assert_string_equal(rig_body_of(resp), "hello");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chunked_answer),
        cmocka_unit_test(test_chunked_answer_connection_close),
        cmocka_unit_test(test_status_line_and_length),
    };
    return rig_run_group(tests, &opts);
}
