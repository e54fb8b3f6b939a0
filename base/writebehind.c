/* writebehind.c - see writebehind.h. */
#include "writebehind.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

void s3w_wbehind_init(struct s3w_wbehind *w, int fd)
{
    uint64_t window = w->window ? w->window : S3W_WBEHIND_WINDOW;
    *w = (struct s3w_wbehind){ .fd = -1, .window = window };
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        return;
    w->fd = fd;
    w->sent = w->dropped = (uint64_t)st.st_size;
}

void s3w_wbehind_wrote(struct s3w_wbehind *w, uint64_t n)
{
    if (w->fd < 0)
        return;
    w->pending += n;
    if (w->pending < w->window)
        return;
    w->pending = 0;
    off_t end = lseek(w->fd, 0, SEEK_CUR);
    if (end < 0)
        return;
    if ((uint64_t)end < w->sent) { /* cut under us (copytruncate) */
        w->sent = w->dropped = (uint64_t)end;
        return;
    }
    (void)sync_file_range(w->fd, (off_t)w->sent, end - (off_t)w->sent, SYNC_FILE_RANGE_WRITE);
    if (w->sent > w->dropped)
        (void)posix_fadvise(w->fd, (off_t)w->dropped, (off_t)(w->sent - w->dropped),
                            POSIX_FADV_DONTNEED);
    w->dropped = w->sent;
    w->sent = (uint64_t)end;
}
