/* bench_writebehind.c - system time of appending 1 GiB to a file in
 * 128 KiB writes, plainly and with base/writebehind.h's write-behind
 * (each 8 MiB sent to writeback, the 8 MiB before dropped from the page
 * cache): what the audit writer pays per byte of its log.
 *
 *   bench_writebehind [DIR]    (default /tmp; the file is removed after)
 *
 * Each run starts DELAY seconds after the last: a virtual machine may
 * take freed memory back from its guest meanwhile, and memory the guest
 * touches again is fresh to it (that first touch is most of the plain
 * run's cost on this project's test machines). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "writebehind.h"

#define TOTAL (1L << 30)
#define CHUNK (128 << 10)
#define DELAY 15

static double sys_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int run(const char *path, int behind)
{
    static char buf[CHUNK];
    memset(buf, 'x', sizeof buf);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
    if (fd < 0) {
        perror(path);
        return -1;
    }
    struct s3w_wbehind w = { 0 };
    if (behind)
        s3w_wbehind_init(&w, fd);
    double s0 = sys_seconds(), t0 = now();
    for (long off = 0; off < TOTAL; off += CHUNK) {
        if (write(fd, buf, CHUNK) != CHUNK) {
            perror("write");
            close(fd);
            return -1;
        }
        if (behind)
            s3w_wbehind_wrote(&w, CHUNK);
    }
    double s = sys_seconds() - s0, t = now() - t0;
    close(fd);
    unlink(path);
    printf("%-13s 1 GiB: %.2f s system time (%.2f us per KiB), %.2f s elapsed\n",
           behind ? "write-behind" : "plain", s, s * 1e6 / (TOTAL / 1024.0), t);
    return 0;
}

int main(int argc, char **argv)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/s3w-bench-writebehind.%d", argc > 1 ? argv[1] : "/tmp", (int)getpid());
    for (int round = 0; round < 2; round++)
        for (int behind = 0; behind < 2; behind++) {
            if (round || behind)
                sleep(DELAY);
            if (run(path, behind) != 0)
                return 1;
        }
    return 0;
}
