#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
