/* s3warden - authorizing reverse proxy for Amazon S3. Entry point. */
#include "s3w_config.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: s3warden <command> [options]\n"
            "\n"
            "commands:\n"
            "  --version        print the version and exit\n"
            "  --help           print this help and exit\n"
            "\n"
            "exit codes: 0 success, 1 invalid input found, 2 usage or I/O error\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("s3warden %s\n", S3W_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "s3warden: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
