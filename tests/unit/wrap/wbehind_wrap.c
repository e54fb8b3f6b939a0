/* wbehind_wrap.c - see wbehind_wrap.h. */
#include "wbehind_wrap.h"

#include <fcntl.h>

struct wb_call wb_calls[WB_CALLS_MAX];
_Atomic size_t wb_ncalls;

int __real_sync_file_range(int fd, off_t off, off_t len, unsigned flags);
int __wrap_sync_file_range(int fd, off_t off, off_t len, unsigned flags);
int __real_posix_fadvise(int fd, off_t off, off_t len, int advice);
int __wrap_posix_fadvise(int fd, off_t off, off_t len, int advice);
int __real_posix_fadvise64(int fd, off_t off, off_t len, int advice);
int __wrap_posix_fadvise64(int fd, off_t off, off_t len, int advice);

static void record(char kind, int fd, off_t off, off_t len, unsigned how)
{
    size_t i = wb_ncalls;
    if (i < WB_CALLS_MAX)
        wb_calls[i] = (struct wb_call){ kind, fd, (uint64_t)off, (uint64_t)len, how };
    wb_ncalls = i + 1;
}

int __wrap_sync_file_range(int fd, off_t off, off_t len, unsigned flags)
{
    record('w', fd, off, len, flags);
    return __real_sync_file_range(fd, off, len, flags);
}

int __wrap_posix_fadvise(int fd, off_t off, off_t len, int advice)
{
    record('d', fd, off, len, (unsigned)advice);
    return __real_posix_fadvise(fd, off, len, advice);
}

int __wrap_posix_fadvise64(int fd, off_t off, off_t len, int advice)
{
    record('d', fd, off, len, (unsigned)advice);
    return __real_posix_fadvise64(fd, off, len, advice);
}
