/*
 * test_s3map_gen.c - the committed operation table is what
 * policy/gen_s3ops.py makes from its inputs today (policy/s3ops_table.c), so
 * nobody edits it by hand or updates an input without regenerating.
 *
 * Needs python3 with the botocore the table was made from; skipped (exit 77)
 * when that is not on this machine, since another botocore release is
 * another model, not a failure of the table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static int run(const char *cmd)
{
    int rc = system(cmd);
    return rc == -1 ? -1 : (rc >> 8) & 0xff;
}

int main(void)
{
    const char *src = getenv("S3W_SOURCE_ROOT");
    if (!src)
        return tu_skip_exit("S3W_SOURCE_ROOT not set (meson sets it)");
    /* the botocore version the table records */
    char path[4096], cmd[8192];
    snprintf(path, sizeof path, "%s/policy/s3ops_table.c", src);
    size_t len;
    char *table = tu_read_file(path, &len);
    if (!table)
        return 1;
    const char *v = strstr(table, "From botocore ");
    char want[64] = "";
    if (v)
        sscanf(v + strlen("From botocore "), "%63s", want);
    free(table);
    if (!want[0]) {
        printf("no botocore version in %s\n", path);
        return 1;
    }
    snprintf(cmd, sizeof cmd,
             "python3 -c 'import botocore,sys; sys.exit(0 if botocore.__version__ == \"%s\" else 3)' "
             ">/dev/null 2>&1",
             want);
    if (run(cmd) != 0) {
        /* another botocore is not a part deploy/test.sh failed to install
         * (it takes the machine's): a skip even under S3W_NO_SKIP, counted
         * in the summary line */
        printf("SKIP: python3 with botocore %s not available\n", want);
        return 77;
    }
    /* Only the table: the botocore request cases change only with botocore,
     * which the table's recorded version and model hash already pin (and
     * serialising 111 requests would double this test's time). */
    snprintf(cmd, sizeof cmd, "cd '%s' && python3 policy/gen_s3ops.py --check", src);
    int rc = run(cmd);
    if (rc != 0) {
        printf("policy/s3ops_table.c is stale: run python3 policy/gen_s3ops.py "
               "(and --requests) from the repository root (rc %d)\n", rc);
        return 1;
    }
    printf("policy/s3ops_table.c matches botocore %s and s3-operations.json\n", want);
    return 0;
}
