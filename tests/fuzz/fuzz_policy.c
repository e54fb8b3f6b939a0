/*
 * fuzz_policy.c - libFuzzer target for the policy parser/compiler and the
 * evaluator on whatever compiles.
 *
 * Input: first byte selects the policy kind (and whether a bucket is
 * attached), the rest is the policy document; first byte 0x3f feeds the
 * rest to the simulate JSON parser instead. A policy that compiles is
 * evaluated for a few principals and context shapes, so pattern matching,
 * variables and conditions run on fuzzer-made compiled forms too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void eval_some(const struct policy *p, enum policy_kind kind)
{
    static const struct s3w_slice tags[] = { { "a", 1 }, { "b*", 2 } };
    struct policy_context ctx;
    policy_context_init(&ctx);
    policy_context_set(&ctx, S3W_SLICE_LIT("s3:prefix"), S3W_SLICE_LIT("home/alice/"));
    policy_context_set(&ctx, S3W_SLICE_LIT("aws:SourceIp"), S3W_SLICE_LIT("2001:db8::1"));
    policy_context_set(&ctx, S3W_SLICE_LIT("aws:CurrentTime"), S3W_SLICE_LIT("2020-01-01T00:00:00Z"));
    policy_context_set(&ctx, S3W_SLICE_LIT("s3:max-keys"), S3W_SLICE_LIT("10"));
    /* the readings that deny: wildcards and non-ASCII inside a variable's
     * value, a number with leading zeros */
    policy_context_set(&ctx, S3W_SLICE_LIT("aws:PrincipalTag/team"), S3W_SLICE_LIT("a*\xce\xa3?"));
    policy_context_set(&ctx, S3W_SLICE_LIT("s3:signatureAge"), S3W_SLICE_LIT("0500.10"));
    policy_context_set_multi(&ctx, S3W_SLICE_LIT("aws:TagKeys"), tags, 2);
    struct policy_principal pr[3] = {
        { .type = POLICY_PRINCIPAL_ANONYMOUS },
        { .type = POLICY_PRINCIPAL_USER, .arn = S3W_SLICE_LIT("arn:aws:iam::111111111111:user/alice"),
          .account = S3W_SLICE_LIT("111111111111"), .unique_id = S3W_SLICE_LIT("AIDAALICE000000000001"),
          .username = S3W_SLICE_LIT("alice") },
        { .type = POLICY_PRINCIPAL_ROLE_SESSION,
          .arn = S3W_SLICE_LIT("arn:aws:sts::222222222222:assumed-role/R/s"),
          .account = S3W_SLICE_LIT("222222222222"), .unique_id = S3W_SLICE_LIT("AROAR00000000000001"),
          .role_arn = S3W_SLICE_LIT("arn:aws:iam::222222222222:role/R"),
          .session_name = S3W_SLICE_LIT("s"), .has_boundary = true },
    };
    const struct policy *one[1] = { p };
    struct policy_set set = { 0 };
    if (kind == POLICY_KIND_RESOURCE)
        set.resource = p;
    else if (kind == POLICY_KIND_GUARDRAIL)
        set.guardrails = one, set.nguardrails = 1;
    else if (kind == POLICY_KIND_BOUNDARY)
        set.boundary = one, set.nboundary = 1, set.identity = one, set.nidentity = 1;
    else if (kind == POLICY_KIND_SESSION)
        set.session = p, set.identity = one, set.nidentity = 1;
    else
        set.identity = one, set.nidentity = 1;
    for (size_t i = 0; i < 3; i++) {
        char scratch[128];
        policy_context_set_principal(&ctx, &pr[i], scratch, sizeof(scratch));
        struct policy_request rq = {
            .principal = &pr[i], .action = S3W_SLICE_LIT("s3:GetObject"),
            .resource = S3W_SLICE_LIT("arn:aws:s3:::b/home/alice/x"),
            .resource_account = S3W_SLICE_LIT("111111111111"), .ctx = &ctx,
        };
        struct policy_result res;
        char msg[512];
        policy_evaluate(&set, &rq, &res);
        policy_access_denied_message(&rq, &res, msg, sizeof(msg));
        rq.action = S3W_SLICE_LIT("s3:ListBucket");
        rq.resource = S3W_SLICE_LIT("arn:aws:s3:::b");
        policy_evaluate(&set, &rq, &res);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] == 0x3f) {
        /* the simulate input parser (files given to `s3warden simulate`) */
        char *out = NULL, *err = NULL;
        policy_simulate_json((const char *)data + 1, size - 1, &out, &err);
        free(out);
        free(err);
        return 0;
    }
    enum policy_kind kind = (enum policy_kind)(data[0] % 5);
    struct policy_compile_opts o = {
        .kind = kind, .name = "fuzz",
        .bucket = (data[0] & 0x80) ? S3W_SLICE_LIT("b") : S3W_SLICE_NULL,
        .any_service = (data[0] & 0x40) != 0,
    };
    static struct policy_diags d;
    struct policy *p = NULL;
    policy_diags_init(&d);
    if (policy_compile((const char *)data + 1, size - 1, &o, &p, &d) == POLICY_OK) {
        eval_some(p, kind);
        policy_free(p);
    }
    return 0;
}
