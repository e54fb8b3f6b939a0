/* audit_out.c - the audit writer's output (audit_int.h): the file or
 * stdout it appends to, cutting what a failed write or a crash left of a
 * line, and the writes themselves. */
#include "audit_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "log.h"

/* The writer thread owns fd, seekable, torn and resume; the rest is
 * guarded by mu, but for the atomics. */
static void out_fd_init(struct audit *a, int fd)
{
    struct stat st;
    a->fd = fd;
    a->seekable = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    a->torn = 0;
    a->resume = 0;
    s3w_wbehind_init(&a->wb, fd);
}

/* A regular file that does not end in '\n' holds a partial line (a crash
 * or a full disk mid-write under an older build): cut it back to its last
 * complete line, so that every line of the file parses. Lines are at most
 * AUDIT_LINE_MAX, so the last newline is within that many bytes of the
 * end; a file without one there is not ours: left alone, and our first
 * line starts on a line of its own. */
static void cut_partial_tail(struct audit *a)
{
    struct stat st;
    if (!a->seekable || fstat(a->fd, &st) != 0 || st.st_size == 0)
        return;
    size_t win = st.st_size < AUDIT_LINE_MAX + 1 ? (size_t)st.st_size : AUDIT_LINE_MAX + 1;
    char *tail = malloc(win);
    if (!tail)
        return;
    off_t from = st.st_size - (off_t)win;
    if (pread(a->fd, tail, win, from) == (ssize_t)win && tail[win - 1] != '\n') {
        size_t nl = win;
        while (nl > 0 && tail[nl - 1] != '\n')
            nl--;
        if (nl > 0 || from == 0) {
            off_t keep = from + (off_t)nl;
            if (ftruncate(a->fd, keep) == 0)
                proxy_log("WARN", "audit: %s ended in a partial line; cut %lld bytes",
                          a->path, (long long)(st.st_size - keep));
            else
                proxy_log("ERROR", "audit: %s ends in a partial line that cannot be cut: %s",
                          a->path, strerror(errno));
        } else {
            static const char nlc = '\n';
            if (write(a->fd, &nlc, 1) != 1)
                proxy_log("ERROR", "audit: cannot write to %s: %s", a->path, strerror(errno));
        }
    }
    free(tail);
}

int audit_out_open(struct audit *a)
{
    if (!a->path) {
        out_fd_init(a, STDOUT_FILENO);
        return 0;
    }
    /* read too: cut_partial_tail looks at the last line */
    int fd = open(a->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) {
        proxy_log("ERROR", "audit: cannot open %s: %s", a->path, strerror(errno));
        return -1;
    }
    out_fd_init(a, fd);
    cut_partial_tail(a);
    return 0;
}

/* Cuts the partial line a failed write left at the end of the file.
 * O_APPEND writes go to the end, so nothing is written before this
 * succeeds. Sizes come from fstat, not from a remembered offset: a
 * logrotate copytruncate may have emptied the file meanwhile. */
int audit_out_cut_torn(struct audit *a)
{
    struct stat st;
    if (fstat(a->fd, &st) != 0)
        return errno;
    if ((uint64_t)st.st_size < a->torn) {
        a->torn = 0; /* the file was cut under us: nothing of ours left */
        return 0;
    }
    if (ftruncate(a->fd, st.st_size - (off_t)a->torn) != 0)
        return errno;
    a->torn = 0;
    return 0;
}

/* Writes blocks lines[0..n) as whole lines. Returns 0, or the errno of the
 * failure with *done set to the number of blocks complete in the output.
 * What a failure leaves of a line is cut from a file (now, or before the
 * next write) and finished later on a pipe or terminal, which cannot be
 * cut. Writer thread only. */
int audit_out_write(struct audit *a, struct audit_line **lines, size_t n, size_t *done)
{
    *done = 0;
    if (a->null_out) {
        *done = n;
        return 0;
    }
    if (a->torn) {
        int e = audit_out_cut_torn(a);
        if (e)
            return e;
    }
    struct iovec iov[BATCH_LINES];
    size_t left = 0;
    for (size_t i = 0; i < n; i++) {
        size_t skip = i == 0 ? a->resume : 0;
        iov[i].iov_base = lines[i]->data + skip;
        iov[i].iov_len = lines[i]->len - skip;
        left += iov[i].iov_len;
    }
    struct iovec *v = iov;
    int vn = (int)n;
    int err = 0;
    while (left > 0) {
        ssize_t w = atomic_load(&a->writev)(a->fd, v, vn);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            /* stdout may be a non-blocking pipe (a container runtime's);
             * a reader that takes nothing for AUDIT_RETRY_MS is a failing
             * output like a full disk (and audit_close cannot hang on it) */
            struct pollfd pfd = { .fd = a->fd, .events = POLLOUT };
            if (poll(&pfd, 1, AUDIT_RETRY_MS) > 0)
                continue;
            err = EAGAIN;
            break;
        }
        if (w <= 0) {
            err = w < 0 ? errno : EIO;
            break;
        }
        left -= (size_t)w;
        s3w_wbehind_wrote(&a->wb, (uint64_t)w);
        /* step over what was written: whole lines first */
        size_t k = (size_t)w;
        while (vn > 0 && k >= v->iov_len) {
            k -= v->iov_len;
            v++;
            vn--;
            (*done)++;
            a->resume = 0;
        }
        if (vn > 0 && k > 0) {
            v->iov_base = (char *)v->iov_base + k;
            v->iov_len -= k;
            a->resume += k; /* of the line at v */
        }
    }
    if (!err)
        return 0;
    if (a->seekable && a->resume) {
        /* cut back to the start of the partial line: its block resumes
         * there, the block's whole lines before it stay written */
        const struct audit_line *b = lines[*done];
        size_t start = a->resume;
        while (start > 0 && b->data[start - 1] != '\n')
            start--;
        a->torn = a->resume - start;
        a->resume = start;
        audit_out_cut_torn(a); /* if it fails, write_lines tries again first */
    }
    return err;
}
