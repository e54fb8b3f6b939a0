#include "testutil.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

const char *tu_testdata_dir(void)
{
    const char *d = getenv("S3W_TESTDATA");
    return d && *d ? d : "tests/testdata";
}

char *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "testutil: cannot open %s\n", path);
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (n + 1 >= cap) {
            cap *= 2;
            char *p = realloc(buf, cap);
            if (!p) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = p;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        if (r == 0)
            break;
        n += r;
    }
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

char *tu_read_testdata(const char *rel, size_t *len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", tu_testdata_dir(), rel);
    return tu_read_file(path, len);
}

int tu_no_skip(void)
{
    const char *v = getenv("S3W_NO_SKIP");
    return v && *v;
}

int tu_skip_exit(const char *why)
{
    if (tu_no_skip()) {
        printf("cannot run here, and S3W_NO_SKIP is set: %s\n", why);
        return 1;
    }
    printf("SKIP: %s\n", why);
    return 77;
}

int tu_free_port(void)
{
    int lo = 20000, hi = 32000, eph = 32768;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (f) {
        if (fscanf(f, "%d", &eph) != 1)
            eph = 32768;
        fclose(f);
    }
    if (eph < hi)
        hi = eph;
    if (hi <= lo + 100)
        return -1;
    /* one sequence per process: two calls in a row (a test starting two
     * servers before either binds) must not get the same port */
    static unsigned seed;
    static int given[16];
    static size_t ngiven;
    if (!seed)
        seed = (unsigned)time(NULL) ^ ((unsigned)getpid() << 16) ^ 1u;
    for (int tries = 0; tries < 2000; tries++) {
        int port = lo + (int)(rand_r(&seed) % (unsigned)(hi - lo));
        bool dup = false;
        for (size_t i = 0; i < ngiven && i < 16; i++)
            dup |= given[i] == port;
        if (dup)
            continue;
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (s < 0)
            return -1;
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        int ok = bind(s, (struct sockaddr *)&a, sizeof a) == 0;
        close(s);
        if (ok) {
            given[ngiven++ % 16] = port;
            return port;
        }
    }
    return -1;
}
