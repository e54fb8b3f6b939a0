/* cmd_config.c - `s3warden validate --config FILE` (see cmd_config.h). */
#include "cmd_config.h"

#include <stdio.h>

#include "config.h"
#include "policy.h"

int s3w_cmd_validate_config(const char *path)
{
    struct config_errors errs;
    config_errors_init(&errs);
    struct config *cfg = NULL;
    int rc = config_load(path, &cfg, &errs);
    for (size_t i = 0; i < errs.n; i++)
        fprintf(stderr, "%s\n", errs.items[i].text);
    if (errs.dropped)
        fprintf(stderr, "%s: %zu more errors not shown\n", path, errs.dropped);
    int code;
    if (rc == CONFIG_OK && cfg->warnings)
        for (size_t i = 0; i < cfg->warnings->n; i++)
            fprintf(stderr, "warning: %s\n", cfg->warnings->items[i].text);
    if (rc == CONFIG_OK) {
        size_t nkeys = cfg->nrole_sessions;
        for (size_t i = 0; i < cfg->nusers; i++)
            nkeys += cfg->users[i].nkeys;
        for (size_t i = 0; i < cfg->naccounts; i++)
            nkeys += cfg->accounts[i].nkeys;
        printf("%s: OK (%zu accounts, %zu users, %zu roles, %zu role sessions, %zu access keys, "
               "%zu buckets, %zu guardrails, sts %s)\n",
               path, cfg->naccounts, cfg->nusers, cfg->nroles, cfg->nrole_sessions, nkeys,
               cfg->nbuckets, cfg->nguardrails, cfg->sts.enabled ? "enabled" : "disabled");
        /* what GetBucketPolicyStatus will answer: public policies named, as
         * an S3 console or a scanner would show them */
        for (size_t i = 0; i < cfg->nbuckets; i++) {
            char why[512];
            const struct config_bucket *b = &cfg->buckets[i];
            if (b->policy && policy_is_public(b->policy, why, sizeof(why)))
                printf("%s: buckets[%zu] (%s): public by S3's rule: %s\n", path, i, b->name, why);
        }
        config_unref(cfg);
        code = 0;
    } else if (rc == CONFIG_E_INVALID) {
        fprintf(stderr, "%s: invalid (%zu errors)\n", path, errs.n + errs.dropped);
        code = 1;
    } else {
        if (!errs.n)
            fprintf(stderr, "%s: %s\n", path, config_strerror(rc));
        code = 2;
    }
    config_errors_cleanup(&errs);
    return code;
}
