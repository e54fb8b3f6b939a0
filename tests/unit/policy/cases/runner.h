/*
 * runner.h - table-driven simulate cases for the policy unit tests.
 *
 * A case file is {"groups": [{"base": {simulate input without "request"},
 * "cases": [{"name", "request", <overrides of base fields>, "expect",
 * "message"?, "statements"?, "note"?}]}]}. Each case runs through
 * policy_simulate_json(); the result must equal "expect", the message (when
 * given) must be equal byte for byte, and every listed Sid must be among the
 * deciding statements. Expected answers are written by hand from AWS's
 * documentation, never produced by the code under test.
 */
#ifndef S3W_POLICY_CASES_RUNNER_H
#define S3W_POLICY_CASES_RUNNER_H

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "testutil.h"

static inline char *runner_read_case_file(const char *name)
{
    char path[1024];
    const char *root = getenv("S3W_SOURCE_ROOT");
    snprintf(path, sizeof(path), "%s/tests/unit/policy/cases/%s", root ? root : ".", name);
    size_t len;
    return tu_read_file(path, &len);
}

/* Returns the number of failed cases; *ncases gets the number run. */
static inline int runner_run_file(const char *name, size_t *ncases)
{
    char *text = runner_read_case_file(name);
    int failed = 0;
    *ncases = 0;
    if (!text)
        return 1;
    cJSON *root = cJSON_Parse(text);
    free(text);
    if (!root) {
        fprintf(stderr, "%s: not JSON\n", name);
        return 1;
    }
    const cJSON *groups = cJSON_GetObjectItemCaseSensitive(root, "groups");
    const cJSON *g, *c;
    cJSON_ArrayForEach(g, groups) {
        const cJSON *base = cJSON_GetObjectItemCaseSensitive(g, "base");
        cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(g, "cases")) {
            const char *cname = cJSON_GetObjectItemCaseSensitive(c, "name")->valuestring;
            cJSON *in = cJSON_Duplicate(base, 1);
            const cJSON *f;
            cJSON_ArrayForEach(f, c) {
                if (!strcmp(f->string, "name") || !strcmp(f->string, "expect") ||
                    !strcmp(f->string, "message") || !strcmp(f->string, "statements") ||
                    !strcmp(f->string, "note"))
                    continue;
                cJSON_DeleteItemFromObjectCaseSensitive(in, f->string);
                cJSON_AddItemToObject(in, f->string, cJSON_Duplicate(f, 1));
            }
            char *js = cJSON_PrintUnformatted(in);
            cJSON_Delete(in);
            char *out = NULL, *err = NULL;
            int rc = policy_simulate_json(js, strlen(js), &out, &err);
            free(js);
            (*ncases)++;
            if (rc != POLICY_OK) {
                fprintf(stderr, "FAIL %s: simulate error: %s\n", cname, err ? err : "?");
                failed++;
                free(err);
                free(out);
                continue;
            }
            cJSON *res = cJSON_Parse(out);
            const char *want = cJSON_GetObjectItemCaseSensitive(c, "expect")->valuestring;
            const char *got = cJSON_GetObjectItemCaseSensitive(res, "result")->valuestring;
            bool ok = strcmp(want, got) == 0;
            const cJSON *wm = cJSON_GetObjectItemCaseSensitive(c, "message");
            const char *gm = cJSON_GetObjectItemCaseSensitive(res, "message")->valuestring;
            if (wm && strcmp(wm->valuestring, gm) != 0)
                ok = false;
            const cJSON *ws, *gs;
            cJSON_ArrayForEach(ws, cJSON_GetObjectItemCaseSensitive(c, "statements")) {
                bool found = false;
                cJSON_ArrayForEach(gs, cJSON_GetObjectItemCaseSensitive(res, "statements"))
                    found = found || !strcmp(cJSON_GetObjectItemCaseSensitive(gs, "sid")->valuestring,
                                             ws->valuestring);
                ok = ok && found;
            }
            if (!ok) {
                fprintf(stderr, "FAIL %s\n  want %s%s%s\n  got  %s\n", cname, want,
                        wm ? " / " : "", wm ? wm->valuestring : "", out);
                failed++;
            }
            cJSON_Delete(res);
            free(out);
            free(err);
        }
    }
    cJSON_Delete(root);
    return failed;
}

#endif
