/*
 * cmd_policy.c - file/CLI wrappers around the pure policy functions: reading
 * files is I/O, so it lives in proxy/ (policy/ is pure: no I/O).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_policy.h"
#include "policy.h"

/* Larger than any policy we accept; the compile step applies the real cap. */
#define CMD_FILE_MAX (4u * 1024u * 1024u)

static char *read_all(const char *path, size_t *len, const char **why)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0, cap = 0;
    *why = NULL;
    if (!f) {
        *why = "cannot open file";
        return NULL;
    }
    for (;;) {
        if (n == cap) {
            if (cap >= CMD_FILE_MAX) {
                *why = "file too large";
                goto fail;
            }
            cap = cap ? cap * 2 : 8192;
            char *nb = realloc(buf, cap + 1);
            if (!nb) {
                *why = "out of memory";
                goto fail;
            }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) {
            if (ferror(f)) {
                *why = "read error";
                goto fail;
            }
            break;
        }
    }
    if (f != stdin)
        fclose(f);
    if (!buf && !(buf = malloc(1))) {
        *why = "out of memory";
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
fail:
    if (f != stdin)
        fclose(f);
    free(buf);
    return NULL;
}

static bool names_principal(const char *s, size_t n)
{
    /* a cheap scan is enough to pick the default kind; compile does the
     * real validation either way */
    return memmem(s, n, "\"Principal\"", 11) || memmem(s, n, "\"NotPrincipal\"", 14);
}

static int parse_kind(const char *v, enum policy_kind *k)
{
    static const struct { const char *n; enum policy_kind k; } kinds[] = {
        { "resource", POLICY_KIND_RESOURCE }, { "bucket", POLICY_KIND_RESOURCE },
        { "identity", POLICY_KIND_IDENTITY }, { "boundary", POLICY_KIND_BOUNDARY },
        { "session", POLICY_KIND_SESSION }, { "guardrail", POLICY_KIND_GUARDRAIL },
    };
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (strcmp(v, kinds[i].n) == 0) {
            *k = kinds[i].k;
            return 0;
        }
    return -1;
}

int s3w_cmd_validate_policies(int argc, char **argv)
{
    bool have_kind = false;
    enum policy_kind kind = POLICY_KIND_IDENTITY;
    const char *bucket = NULL;
    int nfiles = 0, status = 0;
    struct policy_diags *d = malloc(sizeof(*d));
    if (!d) {
        fprintf(stderr, "validate: out of memory\n");
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--kind=", 7) == 0) {
            if (parse_kind(argv[i] + 7, &kind)) {
                fprintf(stderr, "validate: unknown kind \"%s\" (resource, identity, boundary, "
                        "session, guardrail)\n", argv[i] + 7);
                free(d);
                return 2;
            }
            have_kind = true;
        } else if (strncmp(argv[i], "--bucket=", 9) == 0) {
            bucket = argv[i] + 9;
        } else {
            nfiles++;
        }
    }
    if (nfiles == 0) {
        fprintf(stderr, "usage: s3warden validate [--kind=KIND] [--bucket=NAME] FILE...\n");
        free(d);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--", 2) == 0)
            continue;
        const char *file = argv[i], *why;
        size_t len;
        char *text = read_all(file, &len, &why);
        if (!text) {
            printf("%s: %s\n", file, why);
            status = 1;
            continue;
        }
        struct policy_compile_opts o = {
            .kind = have_kind ? kind : names_principal(text, len) ? POLICY_KIND_RESOURCE
                                                                  : POLICY_KIND_IDENTITY,
            .name = file,
            .bucket = bucket ? s3w_slice_cstr(bucket) : S3W_SLICE_NULL,
        };
        struct policy *p = NULL;
        policy_diags_init(d);
        int rc = policy_compile(text, len, &o, &p, d);
        for (size_t k = 0; k < d->n; k++)
            printf("%s: %s%s\n", file, d->items[k].text,
                   d->items[k].severity == POLICY_SEV_WARNING ? " (warning)" : "");
        if (d->errors + d->warnings > d->n)
            printf("%s: ... and %zu more problems\n", file, d->errors + d->warnings - d->n);
        if (rc != POLICY_OK) {
            if (d->errors == 0)
                printf("%s: %s\n", file, policy_strerror(rc));
            status = 1;
        } else if (o.kind == POLICY_KIND_RESOURCE) {
            /* what GetBucketPolicyStatus would answer for it */
            char pub[512];
            if (policy_is_public(p, pub, sizeof(pub)))
                printf("%s: public by S3's rule: %s (note)\n", file, pub);
        }
        policy_free(p);
        free(text);
    }
    free(d);
    return status;
}

int s3w_cmd_simulate(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: s3warden simulate FILE.json\n");
        return 2;
    }
    const char *why;
    size_t len;
    char *text = read_all(argv[1], &len, &why);
    if (!text) {
        fprintf(stderr, "%s: %s\n", argv[1], why);
        return 2;
    }
    char *out = NULL, *err = NULL;
    int rc = policy_simulate_json(text, len, &out, &err);
    free(text);
    if (rc != POLICY_OK) {
        fprintf(stderr, "%s: %s\n", argv[1], err ? err : policy_strerror(rc));
        free(err);
        free(out);
        return 2;
    }
    fputs(out, stdout);
    fputc('\n', stdout);
    free(out);
    free(err);
    return 0;
}
