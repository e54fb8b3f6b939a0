/* sockutil.h - tiny blocking-socket helpers for the proxy unit tests. */
#ifndef S3W_TEST_SOCKUTIL_H
#define S3W_TEST_SOCKUTIL_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static inline int su_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static inline void su_send(int fd, const void *p, size_t n)
{
    const char *s = p;
    while (n > 0) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static inline void su_send_str(int fd, const char *s)
{
    su_send(fd, s, strlen(s));
}

/* Reads until the peer closes, `cap - 1` bytes arrive, `until` appears
 * `count` times, or `ms` pass. NUL-terminates. *closed tells whether EOF
 * (or a reset) was seen. Returns the byte count. */
static inline size_t su_read(int fd, char *buf, size_t cap, const char *until,
                             int count, int ms, bool *closed)
{
    size_t n = 0;
    *closed = false;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        if (until) {
            int seen = 0;
            const char *p = buf;
            buf[n] = 0;
            while ((p = strstr(p, until)) != NULL) {
                seen++;
                p += strlen(until);
            }
            if (seen >= count)
                break;
        }
        struct timespec t1;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        long el = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
        if (el >= ms || n + 1 >= cap)
            break;
        struct pollfd pf = { fd, POLLIN, 0 };
        if (poll(&pf, 1, (int)(ms - el)) <= 0)
            break;
        ssize_t r = recv(fd, buf + n, cap - 1 - n, 0);
        if (r <= 0) {
            *closed = true;
            break;
        }
        n += (size_t)r;
    }
    buf[n] = 0;
    return n;
}

/* After a response: true when the peer closes within ms. */
static inline bool su_closed_within(int fd, int ms)
{
    char tmp[4096];
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        struct pollfd pf = { fd, POLLIN, 0 };
        struct timespec t1;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        long el = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
        if (el >= ms)
            return false;
        if (poll(&pf, 1, (int)(ms - el)) <= 0)
            return false;
        ssize_t r = recv(fd, tmp, sizeof(tmp), 0);
        if (r <= 0)
            return true;
    }
}

#endif
