/*
 * simulate-lines.c - `s3warden simulate` for many cases in one process, for
 * the differential tests (tests/diff/gen-diff.mjs): one simulate input per
 * stdin line, one compact answer per stdout line, in order. A refused input
 * answers {"result":"Refused","error":"..."}. Same pure function as the CLI
 * (policy_simulate_json); only the process start is saved.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

int main(void)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) > 0) {
        char *out = NULL, *err = NULL;
        int rc = policy_simulate_json(line, (size_t)n, &out, &err);
        cJSON *res = rc == POLICY_OK ? cJSON_Parse(out) : cJSON_CreateObject();
        if (rc != POLICY_OK) {
            cJSON_AddStringToObject(res, "result", "Refused");
            cJSON_AddStringToObject(res, "error", err ? err : policy_strerror(rc));
        }
        char *text = res ? cJSON_PrintUnformatted(res) : NULL;
        if (!text) {
            fprintf(stderr, "simulate-lines: out of memory\n");
            return 2;
        }
        puts(text);
        fflush(stdout);
        cJSON_free(text);
        cJSON_Delete(res);
        free(out);
        free(err);
    }
    free(line);
    return 0;
}
